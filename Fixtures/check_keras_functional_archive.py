"""densenet-io's `.keras` archives of functional models load with `keras.saving.load_model` in
Keras 3.15 and reproduce densenet-io's predictions.

Not part of the tests (it needs TensorFlow). Run from the repository root with the venv of
Fixtures/README.md and a built binary:
    venv/bin/python Fixtures/check_keras_functional_archive.py --binary .build/release/densenet-io

1. densenet-io writes `.keras` archives, with its own config.json:
   - `convert` of the fixture DenseNet(blocks=[2, 2, 2, 2]) (64x64x3, 10 classes, BatchNorm statistics
     moved by training), from the Keras 3 archive and from the tf-keras full model (whose `conv1/conv`
     names Keras 3 forbids); the model comes from each file's own config;
   - `convert` of the tiny functional fixture (Conv2D with bias, MaxPooling2D, Flatten, Dense);
   - `convert --model densenet121 --no-include-top --pooling avg` of the weights of a Keras
     DenseNet121(include_top=False, pooling="avg", input_shape=(64, 64, 3)) given random weights.
2. Keras 3: `keras.saving.load_model(archive)` (safe mode, no custom objects) predicts 8 random
   inputs into a reference file, and serializes the loaded model again: that config must equal
   densenet-io's config.json (Python object ids in `shared_object_id` aside).
3. `densenet-io verify ARCHIVE --reference KERAS_IO.h5` builds the model from the archive's
   config.json, predicts the same inputs and fails unless every output is within 1e-5 of Keras'.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
HERE = os.path.dirname(os.path.abspath(__file__))


def run(binary, *args):
    result = subprocess.run([binary, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"densenet-io {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def without_shared_ids(value):
    if isinstance(value, dict):
        return {k: without_shared_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [without_shared_ids(v) for v in value]
    return value


def headless_densenet121_weights(path):
    """Keras' own headless DenseNet-121 with random weights and BatchNorm statistics."""
    import keras
    import numpy as np
    model = keras.applications.DenseNet121(include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])
    model.save_weights(path)


def check(binary, archive, work, label):
    import h5py
    import keras
    import numpy as np
    model = keras.saving.load_model(archive)
    shape = model.input_shape[1:]
    inputs = np.random.default_rng(1).random((8, *shape), dtype=np.float32)
    reference = os.path.join(work, os.path.basename(archive) + "_io.h5")
    with h5py.File(reference, "w") as h5:
        h5["inputs"] = inputs
        h5["outputs"] = model(inputs, training=False).numpy()
    ours = json.loads(zipfile.ZipFile(archive).read("config.json"))
    theirs = without_shared_ids(json.loads(json.dumps(keras.saving.serialize_keras_object(model))))
    same_config = theirs == ours
    report = subprocess.run([binary, "verify", archive, "--reference", reference], capture_output=True, text=True)
    lines = [line for line in report.stdout.splitlines() if line.startswith(archive) or "max abs" in line]
    print(f"{label}: Keras {keras.__version__} load_model: {len(model.layers)} layers, output {model.output_shape}; "
          f"Keras re-serializes densenet-io's config.json identically: {same_config}")
    for line in lines:
        print("  densenet-io verify: " + line.replace(archive, os.path.basename(archive)).strip())
    return report.returncode == 0 and same_config


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    binary = os.path.abspath(parser.parse_args().binary)
    work = tempfile.mkdtemp(prefix="densenet-io-keras-archive-")
    archives = []
    for source, name, label in [
        ("keras/densenet_small_keras3.keras", "small_from_keras3.keras", "DenseNet([2,2,2,2]) from the Keras 3 archive"),
        ("keras/densenet_small_tfkeras.h5", "small_from_tfkeras.keras", "DenseNet([2,2,2,2]) from the tf-keras model"),
        ("keras/tiny_functional_keras3.keras", "tiny.keras", "tiny functional model"),
    ]:
        archive = os.path.join(work, name)
        print(run(binary, "convert", os.path.join(HERE, source), archive).strip().replace(HERE + "/", "Fixtures/").replace(work + "/", ""))
        archives.append((archive, label))
    weights = os.path.join(work, "headless121.weights.h5")
    headless_densenet121_weights(weights)
    archive = os.path.join(work, "headless121.keras")
    print(run(binary, "convert", weights, archive, "--model", "densenet121", "--input-shape", "64,64,3",
              "--no-include-top", "--pooling", "avg").strip().replace(work + "/", ""))
    archives.append((archive, "DenseNet-121 --no-include-top --pooling avg"))
    ok = all([check(binary, archive, work, label) for archive, label in archives])
    print("all archives load in Keras 3 and reproduce densenet-io's predictions" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
