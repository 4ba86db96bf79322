"""Writes what Keras 3.15's CSVLogger and TensorBoard callbacks write for a small fit with
validation data: `keras_csvlogger.csv` (2 epochs, then 1 more with append=True) and
`keras_tensorboard/{train,validation}/events.out.tfevents.*` (renamed to fixed names).

    venv/bin/python Fixtures/records/generate_keras_records.py   # needs tensorboard from PyPI
"""
import glob
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
csv_path = os.path.join(here, "keras_csvlogger.csv")
board = os.path.join(here, "keras_tensorboard")
for stale in [csv_path]:
    if os.path.exists(stale):
        os.remove(stale)
shutil.rmtree(board, ignore_errors=True)

keras.utils.set_random_seed(0)
x = np.random.RandomState(0).rand(64, 8, 8, 1).astype("float32")
y = np.arange(64) % 10
model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
validation = (x[:16], y[:16])
model.fit(x, y, epochs=2, batch_size=16, validation_data=validation, verbose=0,
          callbacks=[keras.callbacks.CSVLogger(csv_path), keras.callbacks.TensorBoard(board, write_graph=False)])
model.fit(x, y, initial_epoch=2, epochs=3, batch_size=16, validation_data=validation, verbose=0,
          callbacks=[keras.callbacks.CSVLogger(csv_path, append=True)])
for folder in ["train", "validation"]:
    (path,) = glob.glob(os.path.join(board, folder, "events.out.tfevents.*"))
    os.rename(path, os.path.join(board, folder, "events.out.tfevents.keras"))
print(open(csv_path).read())
