"""Fixtures for the tutorial DenseNet written by real Keras 3.15 (TensorFlow backend).

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_tutorial_keras3.py
Writes into Fixtures/keras/:
  tutorial_keras3.keras        model.save after 5 compiled training steps (zip: metadata.json,
                               config.json, model.weights.h5 with optimizer/vars)
  tutorial_keras3.weights.h5   save_weights of an uncompiled twin holding the same weights (the
                               tutorial's custom-loop case: no optimizer group)
  tutorial_keras3_io.h5        reference: `inputs` and the model's `outputs` for both files
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
import h5py
import keras

sys.path.insert(0, os.path.dirname(__file__))
import idx  # noqa: E402
import tutorial_model  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))
BATCH, STEPS = 8, 5


def main():
    keras.utils.set_random_seed(0)
    images, labels = idx.load("train", limit=BATCH * STEPS)
    model = tutorial_model.build(keras)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy())
    model.fit(images, labels, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model.save(os.path.join(OUT, "tutorial_keras3.keras"))
    weights = model.get_weights()
    keras.backend.clear_session()  # fresh automatic names, as in a new process
    twin = tutorial_model.build(keras)
    twin(images[:1])
    twin.set_weights(weights)
    twin.save_weights(os.path.join(OUT, "tutorial_keras3.weights.h5"))
    with h5py.File(os.path.join(OUT, "tutorial_keras3_io.h5"), "w") as h5:
        h5["inputs"] = images[:BATCH]
        h5["outputs"] = model(images[:BATCH], training=False).numpy()


if __name__ == "__main__":
    main()
