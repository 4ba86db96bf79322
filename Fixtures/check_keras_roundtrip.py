"""Files densenet-io writes load in real Keras and reproduce densenet-io's predictions.

Not part of the tests (it needs TensorFlow). Run from the repository root with the venv of
Fixtures/README.md and a built binary:
    venv/bin/python Fixtures/check_keras_roundtrip.py --binary .build/release/densenet-io

1. densenet-io trains the tutorial model briefly (so BatchNorm statistics move) and saves tf-keras
   `.h5` weights, then converts them to Keras 3 `.weights.h5` and a `.keras` archive.
2. tf-keras 2.21 and Keras 3.15 each build the tutorial model, `load_weights` densenet-io's file
   and predict 16 Fashion-MNIST test images; the predictions go to a reference file.
3. `densenet-io verify FILE --reference KERAS_IO.h5` loads the same file into densenet-io, predicts
   the same images and fails unless every output is within 1e-5 of Keras'.
"""
import argparse
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras"))
import h5py  # noqa: E402
import idx  # noqa: E402
import tutorial_model  # noqa: E402


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"densenet-io {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def keras_predictions(keras, weights, inputs, reference):
    model = tutorial_model.build(keras)
    model(inputs[:1])
    model.load_weights(weights)
    with h5py.File(reference, "w") as h5:
        h5["inputs"] = inputs
        h5["outputs"] = model(inputs, training=False).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    binary = os.path.abspath(parser.parse_args().binary)
    inputs, _ = idx.load("test", limit=16)
    work = tempfile.mkdtemp(prefix="densenet-io-keras-check-")
    h5, weights_h5 = os.path.join(work, "trained.h5"), os.path.join(work, "trained.weights.h5")
    print(run(binary, "train", "--epochs", "1", "--limit", "512", "--test-limit", "64", "--save", h5).strip())
    print(run(binary, "convert", h5, weights_h5).strip())

    import tf_keras
    keras_predictions(tf_keras, h5, inputs, os.path.join(work, "tfkeras_io.h5"))
    import keras
    keras_predictions(keras, weights_h5, inputs, os.path.join(work, "keras3_io.h5"))

    for weights, reference, who in [(h5, "tfkeras_io.h5", "tf-keras 2.21"), (weights_h5, "keras3_io.h5", "Keras 3.15")]:
        report = run(binary, "verify", weights, "--reference", os.path.join(work, reference))
        lines = [line for line in report.splitlines() if "max abs" in line or line.startswith("verify:")]
        print(f"PASS {who} load_weights({os.path.basename(weights)}) reproduces densenet-io's predictions: " + " | ".join(lines))
    print("ALL PASS")


if __name__ == "__main__":
    main()
