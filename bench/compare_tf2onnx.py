"""The same Keras model to ONNX through tf2onnx and through densenet-io, side by side (docs/onnx.md).

Run from the repository root with /work/venv (tensorflow-cpu, tf-keras, tf2onnx, onnx, onnxruntime)
after `swift build -c release` and `python Fixtures/keras/generate_densenet_fixtures.py --large`:
    python bench/compare_tf2onnx.py [SOURCE.h5 IO.h5]
(default: Fixtures/keras/generated/densenet121_tfkeras.h5 and its _io.h5). Conversion times are
medians of 5 runs each, wall clock: densenet-io's is the whole `convert` process (reading the .h5,
writing, reading back and checking); tf2onnx's is `tf2onnx.convert.from_keras` on the model already
loaded in the Python process (TensorFlow's import and the .h5 load come on top, reported apart).
Prints a Markdown table.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
start = time.perf_counter()
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

import_seconds = time.perf_counter() - start
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tf2onnx  # noqa: E402

RUNS = 5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build/release/densenet-io")


def median_seconds(action):
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def describe(path, inputs, expected):
    model = onnx.load(path)
    ops = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
    return len(model.graph.node), os.path.getsize(path), model.opset_import[0].version, ops, difference


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "Fixtures/keras/generated/densenet121_tfkeras.h5")
    io_file = sys.argv[2] if len(sys.argv) > 2 else source.replace(".h5", "_io.h5")
    with h5py.File(io_file, "r") as h5:
        inputs, expected = h5["inputs"][()], h5["outputs"][()].astype(np.float64)
    began = time.perf_counter()
    model = tf_keras.models.load_model(source)
    load_seconds = time.perf_counter() - began
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = os.path.join(folder, "densenet-io.onnx"), os.path.join(folder, "tf2onnx.onnx")
        ours_seconds = median_seconds(lambda: subprocess.run([BINARY, "convert", source, ours], check=True, stdout=subprocess.DEVNULL))
        signature = (tf.TensorSpec((None, *inputs.shape[1:]), tf.float32, name=model.inputs[0].name.split(":")[0]),)
        theirs_seconds = median_seconds(lambda: tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=theirs))
        rows = [("densenet-io", ours_seconds, describe(ours, inputs, expected)), ("tf2onnx " + tf2onnx.__version__, theirs_seconds, describe(theirs, inputs, expected))]
    print(f"Model {os.path.relpath(source, ROOT)}; TensorFlow {tf.__version__} import {import_seconds:.1f} s, tf-keras .h5 load {load_seconds:.1f} s\n")
    print("| converter | conversion (median of 5) | nodes | file size | opset | max abs difference from Keras | ops |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, seconds, (nodes, size, opset, ops, difference) in rows:
        op_text = ", ".join(f"{op} {count}" for op, count in sorted(ops.items(), key=lambda item: -item[1]))
        print(f"| {name} | {seconds:.3f} s | {nodes} | {size / 1e6:.2f} MB | {opset} | {difference:.2e} | {op_text} |")


if __name__ == "__main__":
    main()
