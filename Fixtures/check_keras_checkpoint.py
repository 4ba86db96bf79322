"""Loads checkpoints written by densenet-io into real Keras and compares (not part of the tests).

Run from the repository root with the venv of Fixtures/README.md, after building densenet-io:
    python Fixtures/check_keras_checkpoint.py [--binary .build-ckpt/debug/densenet-io] [--work /tmp/ckcheck]

1. Tutorial (subclassed) model: `densenet-io train --checkpoint tutorial.h5` (and `.keras`) on 64
   Fashion-MNIST images; tf-keras `load_weights("tutorial.h5")` must reproduce the toolkit's printed
   test loss and accuracy, and the file's optimizer_weights must `set_weights` into a tf-keras Adam
   built for the model (iteration count and every slot equal). The `.keras` archive loads into
   Keras 3 with `load_model` (weights, iteration count and slots equal).
2. Functional model: the test `CheckpointTests/exportForKerasCheck` (run with
   DENSENET_IO_CHECKPOINT_EXPORT=<work>) writes a densenet-io checkpoint of the tiny functional
   model; `tf_keras.models.load_model` must rebuild it, reproduce the toolkit's predictions, and
   restore the optimizer (iteration count and slots equal to the file's).
"""
import argparse
import os
import re
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "keras"))
import idx  # noqa: E402
import tutorial_model  # noqa: E402

LIMIT, TEST_LIMIT, BATCH = 64, 64, 32


def report(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    return ok


def optimizer_file_values(path):
    with h5py.File(path, "r") as f:
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        return names, [group[n][()] for n in names]


def tutorial_checks(binary, work):
    import tensorflow as tf
    import tf_keras
    ok = True
    ckpt = os.path.join(work, "tutorial.h5")
    out = subprocess.run([binary, "train", "--limit", str(LIMIT), "--test-limit", str(TEST_LIMIT), "--epochs", "1",
                          "--batch-size", "16", "--checkpoint", ckpt], check=True, capture_output=True, text=True).stdout
    print(out.strip())
    m = re.search(r"Test Loss: ([0-9.e-]+), Test Accuracy: ([0-9.e-]+)", out)
    toolkit_loss, toolkit_acc = float(m.group(1)), float(m.group(2))
    images, labels = idx.load("test", limit=TEST_LIMIT)
    model = tutorial_model.build(tf_keras)
    model(images[:1])
    model.load_weights(ckpt)
    losses, correct = [], 0
    for start in range(0, TEST_LIMIT, BATCH):
        probs = model(images[start:start + BATCH], training=False)
        losses.append(float(tf_keras.losses.SparseCategoricalCrossentropy()(labels[start:start + BATCH], probs)))
        correct += int(np.sum(np.argmax(probs.numpy(), axis=1) == labels[start:start + BATCH]))
    keras_loss, keras_acc = float(np.mean(losses)), 100.0 * correct / TEST_LIMIT
    ok &= report("tf-keras load_weights(tutorial.h5) reproduces the toolkit's test loss/accuracy",
                 abs(keras_loss - toolkit_loss) <= 1e-5 * max(1.0, toolkit_loss) and keras_acc == toolkit_acc,
                 f"toolkit {toolkit_loss:.7f}/{toolkit_acc}, tf-keras {keras_loss:.7f}/{keras_acc}")
    names, values = optimizer_file_values(ckpt)
    optimizer = tf_keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    optimizer.set_weights(values)  # tf-keras' own load path: by order
    same = all(np.array_equal(v.numpy(), x) for v, x in zip(optimizer.variables, values))
    ok &= report("tf-keras Adam.set_weights(optimizer_weights) for the subclassed model",
                 same and int(optimizer.iterations.numpy()) == int(values[0]),
                 f"{len(values)} variables, iterations {int(optimizer.iterations.numpy())}, first slot {names[1]}")
    expected = [v.name for v in optimizer.variables]
    ok &= report("slot names match tf-keras' own (after build: no Adam/ prefix, by order)",
                 [n.replace("Adam/", "", 1) for n in names] == expected, f"{names[1]} vs {expected[1]}")
    return ok, model


def keras3_archive_checks(binary, work):
    ok = True
    ckpt = os.path.join(work, "tutorial.keras")
    subprocess.run([binary, "train", "--limit", str(LIMIT), "--test-limit", str(TEST_LIMIT), "--epochs", "1",
                    "--batch-size", "16", "--stop-after", "3", "--checkpoint", ckpt], check=True, capture_output=True)
    code = f"""
import os, sys, zipfile, io, h5py, numpy as np
os.environ["KERAS_BACKEND"] = "tensorflow"
sys.path.insert(0, {os.path.join(HERE, 'keras')!r})
import keras, tutorial_model, idx
base = type(tutorial_model.build(keras))
class DenseNet(base):
    def __init__(self, **kwargs):
        super().__init__()
model = keras.saving.load_model({ckpt!r}, custom_objects={{"DenseNet": DenseNet}})
with zipfile.ZipFile({ckpt!r}) as z:
    w = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    stored = [w["optimizer/vars"][str(i)][()] for i in range(len(w["optimizer/vars"]))]
opt = model.optimizer
values = [v.numpy() for v in opt.variables]
same = len(values) == len(stored) and all(np.array_equal(a, b) for a, b in zip(values, stored))
print("OPT", int(opt.iterations.numpy()), len(values), same)
images, _ = idx.load("test", limit=8)
print("PRED", float(np.abs(model(images, training=False).numpy()).sum()))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [l for l in result.stdout.splitlines() if l.startswith("OPT")]
    if not line:
        return report("Keras 3 load_model(tutorial.keras)", False, result.stderr.strip().splitlines()[-1] if result.stderr else "no output")
    _, iterations, count, same = line[0].split()
    ok &= report("Keras 3 load_model(tutorial.keras) restores the optimizer (iterations and slots equal)",
                 same == "True" and iterations == "3", f"iterations {iterations}, {count} optimizer variables")
    return ok


def functional_checks(work):
    import tf_keras
    ok = True
    ckpt = os.path.join(work, "densenet_io_tiny_functional.h5")
    if not os.path.exists(ckpt):
        return report("functional checkpoint", False, f"{ckpt} missing: run the export test first (see the docstring)")
    model = tf_keras.models.load_model(ckpt)
    with h5py.File(os.path.join(work, "densenet_io_tiny_functional_io.h5"), "r") as f:
        inputs, outputs = f["inputs"][()], f["outputs"][()]
    diff = float(np.max(np.abs(model(inputs, training=False).numpy() - outputs)))
    ok &= report("tf_keras.models.load_model(functional checkpoint) reproduces the toolkit's predictions", diff <= 1e-5,
                 f"max |difference| {diff:.2e}")
    names, values = optimizer_file_values(ckpt)
    optimizer = model.optimizer
    restored = [v.numpy() for v in optimizer.variables]
    same = len(restored) == len(values) and all(np.array_equal(a, b) for a, b in zip(restored, values))
    ok &= report("load_model restores the optimizer state (iteration count and slots equal)",
                 same and int(optimizer.iterations.numpy()) == int(values[0]),
                 f"{type(optimizer).__name__}, iterations {int(optimizer.iterations.numpy())}, {len(restored)} variables")
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build-ckpt/debug/densenet-io")
    parser.add_argument("--work", default="/tmp/densenet-io-keras-check")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ok, _ = tutorial_checks(args.binary, args.work)
    ok &= keras3_archive_checks(args.binary, args.work)
    ok &= functional_checks(args.work)
    print("ALL PASS" if ok else "SOME CHECKS FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
