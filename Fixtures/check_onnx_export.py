"""Checks densenet-io's ONNX export with the real onnx and onnxruntime packages against real Keras.

Run from the repository root with /work/venv (tensorflow-cpu, tf-keras, onnx, onnxruntime; see
Fixtures/README.md), after building densenet-io:
    python Fixtures/check_onnx_export.py [--binary .build/release/densenet-io]

For each model and input layout (nhwc, nchw) it runs `densenet-io convert SOURCE OUT.onnx`, then
  - `onnx.checker.check_model(OUT.onnx, full_check=True)` (shape inference included),
  - ONNX Runtime on batches of 1 and 8 seeded random images and on the committed `_io.h5` inputs,
    compared with tf-keras' own outputs of the same source file (`model(x, training=False)`; for the
    `_io.h5` inputs the outputs Keras stored there), max absolute difference at most 1e-5.
Models: densenet-mini (the tutorial model, tf-keras weights), the small Keras Applications
DenseNet (full-model .h5), and DenseNet-121 when `generate_densenet_fixtures.py --large` wrote
Fixtures/keras/generated/densenet121_tfkeras.h5 (skipped with a note when absent): with its top, and
without it (pooling avg, and none: the feature map), those two saved by tf-keras from its weights.
Exit status 0 when every check passes, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tf_keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "keras"))
import tutorial_model  # noqa: E402

TOLERANCE = 1e-5
BATCHES = (1, 8)


def tutorial_keras_model(weights):
    model = tutorial_model.build(tf_keras)
    model(np.zeros((1, 28, 28, 1), np.float32))
    model.load_weights(weights)
    return model


def headless(pooling):
    """DenseNet-121 without the top (Keras' pooling None or avg), the --large file's weights by name."""

    def load(weights):
        model = tf_keras.applications.DenseNet121(include_top=False, weights=None, input_shape=(64, 64, 3), pooling=pooling)
        model.load_weights(weights, by_name=True)
        return model

    return load


MODELS = [
    # name, source file, committed Keras io file (None: random batches only), loader of the Keras model;
    # a loader returning a model other than the file's own: it is saved (model.save) and that file converted
    ("densenet-mini", "keras/tutorial_tfkeras.h5", "keras/tutorial_tfkeras_io.h5", tutorial_keras_model),
    ("densenet-small", "keras/densenet_small_tfkeras.h5", "keras/densenet_small_tfkeras_io.h5", tf_keras.models.load_model),
    ("densenet121", "keras/generated/densenet121_tfkeras.h5", "keras/generated/densenet121_tfkeras_io.h5", tf_keras.models.load_model),
    ("densenet121-avg", "keras/generated/densenet121_tfkeras.h5", None, headless("avg")),
    ("densenet121-notop", "keras/generated/densenet121_tfkeras.h5", None, headless(None)),
]


def max_difference(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def check(binary, name, source, io_file, load, out_dir):
    keras_model = load(source)
    stored = None
    if io_file is None:
        source = os.path.join(out_dir, f"{name}.h5")
        keras_model.save(source)
    else:
        with h5py.File(io_file, "r") as h5:
            stored = h5["inputs"][()], h5["outputs"][()]
    shape = stored[0].shape[1:] if stored else tuple(keras_model.inputs[0].shape[1:])
    rng = np.random.default_rng(2026)
    cases = [(f"batch {n}", rng.random((n, *shape), dtype=np.float32)) for n in BATCHES]
    expected = {label: keras_model(x, training=False).numpy() for label, x in cases}
    if stored is not None:
        cases.append((f"{io_file.split('/')[-1]} ({len(stored[0])})", stored[0]))
        expected[cases[-1][0]] = stored[1]
    failures = 0
    for layout in ("nhwc", "nchw"):
        out = os.path.join(out_dir, f"{name}_{layout}.onnx")
        subprocess.run([binary, "convert", source, out, "--onnx-layout", layout], check=True, stdout=subprocess.DEVNULL)
        onnx.checker.check_model(out, full_check=True)
        session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        feed_name = session.get_inputs()[0].name
        for label, x in cases:
            feed = x if layout == "nhwc" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            got = session.run(None, {feed_name: feed})[0]
            if layout == "nchw" and got.ndim == 4:  # a feature map comes out in the input's layout
                got = got.transpose(0, 2, 3, 1)
            difference = max_difference(got, expected[label])
            ok = got.shape == expected[label].shape and difference <= TOLERANCE
            failures += not ok
            print(f"{name:17} {layout:4} checker ok  {label:28} max |ORT - Keras| {difference:.2e}  {'ok' if ok else 'FAILED'}")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/densenet-io")
    args = parser.parse_args()
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, tf-keras {tf_keras.__version__}; tolerance {TOLERANCE}")
    failures = 0
    with tempfile.TemporaryDirectory() as out_dir:
        for name, source, io_file, load in MODELS:
            source = os.path.join(HERE, source)
            io_file = io_file and os.path.join(HERE, io_file)
            if not os.path.exists(source):
                print(f"{name}: skipped, {source} absent (generate_densenet_fixtures.py --large writes it)")
                continue
            failures += check(args.binary, name, source, io_file, load, out_dir)
    print("all checks passed" if failures == 0 else f"{failures} check(s) FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
