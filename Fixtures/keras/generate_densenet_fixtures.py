"""Fixtures for Keras Applications DenseNets, written by real tf-keras 2.21 and Keras 3.15.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_densenet_fixtures.py            # small models (committed)
    python Fixtures/keras/generate_densenet_fixtures.py --large    # DenseNet-121 too (not committed)
Each (Keras version, model) pair runs in a fresh process, so automatic names start from zero
(`zero_padding2d`, `zero_padding2d_1`), as in a user's session.

Models, both built by Keras Applications' own `DenseNet(blocks=...)` code path:
  small     DenseNet(blocks=[2, 2, 2, 2], weights=None, input_shape=(64, 64, 3), classes=10)
            -> Fixtures/keras/densenet_small_<flavor>*   (committed, about 1.7 MB a file)
  121       DenseNet121(weights=None, input_shape=(64, 64, 3), classes=10)
            -> Fixtures/keras/generated/densenet121_<flavor>*   (28 MB a file: not committed;
            the tests that need them are skipped when absent)

Per model and flavor (tfkeras | keras3):
  tfkeras: <prefix>.h5 (model.save, full model with model_config, no optimizer),
           <prefix>_weights.h5 (model.save_weights, legacy HDF5 layout)
  keras3:  <prefix>.keras (model.save archive, no optimizer), <prefix>.weights.h5 (save_weights)
  both:    <prefix>_io.h5: `inputs` (4x64x64x3), `labels`, `outputs` (inference) and, after ONE
           step of a fresh Adam (lr 1e-3) with SparseCategoricalCrossentropy on (inputs, labels)
           in a GradientTape loop (training=True, BatchNorm statistics updated): `loss` and
           `after/<layer name>/<variable>` for every weight (layer names may contain "/").
The saved weights are the state after BatchNorm statistics were moved by 30 training-mode
forward passes and 3 Adam steps on random data (so moving statistics and gamma/beta are not the
initial 0/1).
"""
import argparse
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, SIZE, CLASSES = 4, 64, 10


def short_name(weight):
    return weight.name.split("/")[-1].split(":")[0]


def run(flavor, which, out):
    import h5py
    import numpy as np
    import tensorflow as tf

    if flavor == "tfkeras":
        import tf_keras as keras
        from tf_keras.src.applications import densenet
        tf.config.experimental.enable_op_determinism()
    else:
        import keras
        from keras.src.applications import densenet
    keras.utils.set_random_seed(0)

    if which == "small":
        model = densenet.DenseNet([2, 2, 2, 2], weights=None, input_shape=(SIZE, SIZE, 3), classes=CLASSES)
        prefix = os.path.join(out, f"densenet_small_{flavor}")
    else:
        model = densenet.DenseNet121(weights=None, input_shape=(SIZE, SIZE, 3), classes=CLASSES)
        prefix = os.path.join(out, f"densenet121_{flavor}")

    rng = np.random.default_rng(1234)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def train_step(optimizer, x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    # Move BatchNorm statistics and weights away from their initial values.
    for _ in range(30):
        model(rng.random((BATCH, SIZE, SIZE, 3), dtype=np.float32), training=True)
    warm = keras.optimizers.Adam(learning_rate=1e-3)
    for _ in range(3):
        train_step(warm, rng.random((BATCH, SIZE, SIZE, 3), dtype=np.float32),
                   rng.integers(0, CLASSES, BATCH).astype(np.int64))

    if flavor == "tfkeras":
        model.save(prefix + ".h5", include_optimizer=False)
        model.save_weights(prefix + "_weights.h5")
    else:
        model.save(prefix + ".keras", include_optimizer=False)
        model.save_weights(prefix + ".weights.h5")

    inputs = rng.random((BATCH, SIZE, SIZE, 3), dtype=np.float32)
    labels = rng.integers(0, CLASSES, BATCH).astype(np.int64)
    outputs = model(inputs, training=False).numpy()
    loss = train_step(keras.optimizers.Adam(learning_rate=1e-3), inputs, labels)
    with h5py.File(prefix + "_io.h5", "w") as h5:
        h5["inputs"], h5["labels"], h5["outputs"] = inputs, labels, outputs
        h5["loss"] = np.float32(loss.numpy())
        h5.attrs["layer_names"] = [layer.name for layer in model.layers]
        for layer in model.layers:
            for w in layer.weights:
                h5[f"after/{layer.name}/{short_name(w)}"] = w.numpy()
    print(f"{flavor} {which}: {len(model.layers)} layers, {model.count_params()} parameters -> {prefix}*")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="also DenseNet-121 (not committed)")
    parser.add_argument("--one", nargs=2, metavar=("FLAVOR", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        flavor, which = args.one
        out = HERE if which == "small" else os.path.join(HERE, "generated")
        os.makedirs(out, exist_ok=True)
        run(flavor, which, out)
        return
    models = ["small"] + (["121"] if args.large else [])
    for which in models:
        for flavor in ["tfkeras", "keras3"]:
            subprocess.run([sys.executable, __file__, "--one", flavor, which], check=True)


if __name__ == "__main__":
    main()
