"""Loads DenseNet weight files written by densenet-io into real tf-keras 2.21 and Keras 3.15, and
compares Keras' predictions with densenet-io's. Not a test: run by hand (see docs/densenet.md).

    DENSENET_IO_EXPORT_DIR=/tmp/densenet-export swift test --filter ConfigExportTests
    python Fixtures/check_keras_densenet.py /tmp/densenet-export

For each exported <name> (densenet_small_<flavor>, densenet121_<flavor>) the Keras Applications model
is built the way the fixtures were (DenseNet(blocks=[2, 2, 2, 2]) or DenseNet121, 64x64x3, 10 classes):
  - tf-keras loads <name>.h5 (tf-keras layout, topological loading, as `model.load_weights` does);
  - Keras 3 loads <name>.weights.h5 (Keras 3 layout) and <name>.h5 (Keras 3's legacy-h5 loader);
each model predicts <name>_io.h5's inputs, compared with densenet-io's outputs (max |diff| <= 1e-4).

    python Fixtures/check_keras_densenet.py --float64 /tmp/densenet-export
judges the one Adam step of each export (densenet-io's weights after one step from the fixture's
weights, on the fixture's inputs) against Keras' own float32 step and against the float64 gradient of
the same Keras model: Adam's first update is +-lr whatever |g|, so it counts the elements whose step
direction disagrees with the float64 gradient, for Keras float32 and for densenet-io.

    python Fixtures/check_keras_densenet.py --onednn
repeats each fixture's one Adam step in Keras itself with TensorFlow's oneDNN kernels
(TF_ENABLE_ONEDNN_OPTS=1; the fixtures were written with its default Eigen kernels) and counts the
elements beyond 1e-4 from the fixture's step: how far Keras' float32 step is from itself.

    python Fixtures/check_keras_densenet.py --time [--batch 8]
times DenseNet-121 inference at 224x224x3, 1000 classes, in TensorFlow on this machine.
"""
import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"


def build(flavor, name):
    if flavor == "tfkeras":
        from tf_keras.src.applications import densenet
    else:
        from keras.src.applications import densenet
    if name.startswith("densenet121"):
        return densenet.DenseNet121(weights=None, input_shape=(64, 64, 3), classes=10)
    return densenet.DenseNet([2, 2, 2, 2], weights=None, input_shape=(64, 64, 3), classes=10)


def check_one(flavor, folder, name):
    import h5py
    import numpy as np
    with h5py.File(os.path.join(folder, name + "_io.h5"), "r") as io:
        inputs, ours = io["inputs"][()], io["outputs"][()]
    files = [name + ".h5"] if flavor == "tfkeras" else [name + ".weights.h5", name + ".h5"]
    worst = 0.0
    for file in files:
        model = build(flavor, name)
        model.load_weights(os.path.join(folder, file))
        theirs = model(inputs, training=False).numpy()
        diff = float(np.abs(theirs - ours).max())
        worst = max(worst, diff)
        print(f"{'tf-keras 2.21' if flavor == 'tfkeras' else 'Keras 3.15':13s} loads {file:40s} "
              f"max |Keras - densenet-io| = {diff:.2e}  {'OK' if diff <= 1e-4 else 'FAIL'}")
    return worst <= 1e-4


def fixture_prefix(name):
    flavor = "tfkeras" if "tfkeras" in name.lower() else "keras3"
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras")
    if name.startswith("densenet121"):
        return flavor, os.path.join(here, "generated", f"densenet121_{flavor}")
    return flavor, os.path.join(here, f"densenet_small_{flavor}")


def float64_check(folder, name):
    import h5py
    import numpy as np
    import tensorflow as tf
    flavor, prefix = fixture_prefix(name)
    if flavor == "tfkeras":
        import tf_keras as keras
        weights, ours_file = prefix + "_weights.h5", name + ".h5"
    else:
        import keras
        weights, ours_file = prefix + ".weights.h5", name + ".weights.h5"

    def short(w):
        return w.name.split("/")[-1].split(":")[0]

    def load(path, floatx):
        keras.backend.clear_session()
        keras.backend.set_floatx(floatx)
        model = build(flavor, name)
        model.load_weights(path)
        return model

    with h5py.File(prefix + "_io.h5", "r") as io:
        x, y = io["inputs"][()], io["labels"][()]
        keras_after = {k: io["after/" + k][()] for k in
                       [f"{l.name}/{short(w)}" for l in load(weights, "float32").layers for w in l.trainable_weights]}
    before = {f"{l.name}/{short(w)}": w.numpy() for l in load(weights, "float32").layers for w in l.weights}
    ours = {f"{l.name}/{short(w)}": w.numpy() for l in load(os.path.join(folder, ours_file), "float32").layers for w in l.weights}
    m64 = load(weights, "float64")
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, m64(tf.cast(x, "float64"), training=True))
    names = [f"{l.name}/{short(w)}" for l in m64.layers for w in l.trainable_weights]
    g64 = dict(zip(names, [g.numpy() for g in tape.gradient(loss, m64.trainable_variables)]))
    keras.backend.set_floatx("float32")
    counted = wrong_keras = wrong_ours = beyond = 0
    for k, g in g64.items():
        decided = np.abs(g) > 1e-5
        counted += int(decided.sum())
        wrong_keras += int((decided & (np.sign(keras_after[k] - before[k]) != -np.sign(g))).sum())
        wrong_ours += int((decided & (np.sign(ours[k] - before[k]) != -np.sign(g))).sum())
        beyond += int((np.abs(ours[k] - keras_after[k]) > 1e-4).sum())
    print(f"{name}: {counted} weights with |float64 gradient| > 1e-5; first Adam step against the float64 gradient's "
          f"direction: Keras float32 {wrong_keras}, densenet-io {wrong_ours}; densenet-io vs Keras float32 beyond 1e-4: {beyond}")


def onednn_check(name):
    import h5py
    import numpy as np
    import tensorflow as tf
    flavor, prefix = fixture_prefix(name)
    if flavor == "tfkeras":
        import tf_keras as keras
        weights = prefix + "_weights.h5"
    else:
        import keras
        weights = prefix + ".weights.h5"
    model = build(flavor, name)
    model.load_weights(weights)
    with h5py.File(prefix + "_io.h5", "r") as io:
        x, y = io["inputs"][()], io["labels"][()]
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        keras.optimizers.Adam(learning_rate=1e-3).apply_gradients(zip(grads, model.trainable_variables))
        beyond = total = 0
        worst = 0.0
        for layer in model.layers:
            for w in layer.trainable_weights:
                d = np.abs(w.numpy() - io[f"after/{layer.name}/{w.name.split('/')[-1].split(':')[0]}"][()])
                beyond += int((d > 1e-4).sum())
                total += d.size
                worst = max(worst, float(d.max()))
    print(f"{name} ({flavor}): Keras' step with oneDNN kernels vs the fixture's (Eigen kernels): "
          f"{beyond} of {total} weights beyond 1e-4, max |diff| {worst:.2e}")


def timing(flavor, batch, repeats):
    import numpy as np
    import tensorflow as tf
    if flavor == "tfkeras":
        import tf_keras as keras
    else:
        import keras
    model = keras.applications.DenseNet121(weights=None)
    x = np.random.default_rng(0).random((batch, 224, 224, 3), dtype=np.float32)
    predict = tf.function(lambda t: model(t, training=False))
    predict(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(x).numpy()
        times.append(time.perf_counter() - start)
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"{flavor}: DenseNet-121 224x224x3 inference, batch {batch}, TensorFlow {tf.__version__} "
          f"({tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()} threads): "
          f"best {best * 1000:.0f} ms, median {median * 1000:.0f} ms = {batch / median:.1f} images/s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?")
    parser.add_argument("--time", action="store_true")
    parser.add_argument("--float64", action="store_true")
    parser.add_argument("--onednn", action="store_true")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        flavor, name = args.one
        if args.time:
            timing(flavor, args.batch, args.repeats)
            return
        if args.float64:
            float64_check(args.folder, name)
            return
        if args.onednn:
            onednn_check(name)
            return
        sys.exit(0 if check_one(flavor, args.folder, name) else 1)
    if args.time:
        for flavor in ["tfkeras", "keras3"]:
            subprocess.run([sys.executable, __file__, "--time", "--batch", str(args.batch), "--repeats", str(args.repeats),
                            "--one", flavor, "densenet121"], check=True)
        return
    if args.onednn:
        for name in ["densenet_small_tfkeras", "densenet_small_keras3", "densenet121_tfkeras", "densenet121_keras3"]:
            if os.path.exists(fixture_prefix(name)[1] + "_io.h5"):
                subprocess.run([sys.executable, __file__, "--onednn", "--one", "-", name], check=True,
                               env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"})
        return
    names = sorted({f[:-len("_io.h5")] for f in os.listdir(args.folder) if f.endswith("_io.h5")})
    if not names:
        sys.exit(f"no <name>_io.h5 in {args.folder}: run the ConfigExportTests export first")
    if args.float64:
        for name in names:
            subprocess.run([sys.executable, __file__, args.folder, "--float64", "--one", "-", name], check=True)
        return
    ok = True
    for name in names:
        # Whichever Keras wrote the original weights, both load densenet-io's files (tf-keras the
        # tf-keras layout only: it cannot read Keras 3 files).
        for loader in ["tfkeras", "keras3"]:
            ok &= subprocess.run([sys.executable, __file__, args.folder, "--one", loader, name]).returncode == 0
    print("all files reproduce densenet-io's outputs in Keras" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
