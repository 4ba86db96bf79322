"""Checkpoint fixtures: a tiny functional model saved whole by real tf-keras 2.21 and Keras 3.15.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_checkpoint_fixtures.py
Writes into Fixtures/keras/:
  tiny_functional_ckpt.h5           tf-keras `model.save("x.h5")` after 3 `fit` steps with Adam:
                                    model_config, training_config, model_weights, optimizer_weights
                                    (slots named `Adam/m/…`, `Adam/v/…`, created during training)
  tiny_functional_ckpt_reloaded.h5  that file `load_model`ed, trained 1 more step and saved again
                                    (tf-keras then names the slots `m/…`, `v/…`)
  tiny_functional_keras3.keras      Keras 3 `model.save("x.keras")` of the same architecture after
                                    3 `fit` steps (optimizer/vars: iteration, learning rate, m, v…)
  tiny_functional_io.h5             `inputs`, `labels`, and the outputs (`outputs_tfkeras`,
                                    `outputs_reloaded`, `outputs_keras3`) of the three models

The model (8×8×1 input, 10 classes), as the Swift tests rebuild it with `FunctionalModel`:
    input_1 → conv (Conv2D 4, 3×3, same) → bn (BatchNormalization) → relu (Activation relu)
    → concat (Concatenate [input_1, relu]) → pool (MaxPooling2D 2×2) → flatten → dense (Dense 10, softmax)
"""
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))
SAMPLES, BATCH = 24, 8


def data():
    rng = np.random.default_rng(0)
    images = rng.random((SAMPLES, 8, 8, 1), dtype=np.float32)
    labels = (np.arange(SAMPLES) % 10).astype(np.int64)
    return images, labels


def build(keras):
    layers = keras.layers
    x = keras.Input(shape=(8, 8, 1), name="input_1")
    h = layers.Conv2D(4, (3, 3), padding="same", name="conv")(x)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.Activation("relu", name="relu")(h)
    h = layers.Concatenate(name="concat")([x, h])
    h = layers.MaxPooling2D(name="pool")(h)
    h = layers.Flatten(name="flatten")(h)
    y = layers.Dense(10, activation="softmax", name="dense")(h)
    return keras.Model(x, y, name="tiny")


def tf_keras_part():
    import tensorflow as tf
    import tf_keras
    tf_keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    images, labels = data()
    model = build(tf_keras)
    model.compile(optimizer=tf_keras.optimizers.Adam(), loss=tf_keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(OUT, "tiny_functional_ckpt.h5")
    model.save(path)
    outputs = model(images, training=False).numpy()
    reloaded = tf_keras.models.load_model(path)
    reloaded.fit(images[:BATCH], labels[:BATCH], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    reloaded.save(os.path.join(OUT, "tiny_functional_ckpt_reloaded.h5"))
    with h5py.File(os.path.join(OUT, "tiny_functional_io.h5"), "a") as h5:
        for name in ("inputs", "labels", "outputs_tfkeras", "outputs_reloaded"):
            if name in h5:
                del h5[name]
        h5["inputs"], h5["labels"] = images, labels
        h5["outputs_tfkeras"] = outputs
        h5["outputs_reloaded"] = reloaded(images, training=False).numpy()


def keras3_part():
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    keras.utils.set_random_seed(0)
    images, labels = data()
    model = build(keras)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(OUT, "tiny_functional_keras3.keras"))
    with h5py.File(os.path.join(OUT, "tiny_functional_io.h5"), "a") as h5:
        if "outputs_keras3" in h5:
            del h5["outputs_keras3"]
        h5["outputs_keras3"] = model(images, training=False).numpy()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        {"tf_keras": tf_keras_part, "keras3": keras3_part}[sys.argv[1]]()
    else:
        # tf-keras and Keras 3 each in a process of their own (fresh automatic names, no clashes).
        for part in ("tf_keras", "keras3"):
            subprocess.run([sys.executable, __file__, part], check=True)
