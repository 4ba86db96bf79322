"""Fixtures for the tutorial DenseNet written by real tf-keras 2.21.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_tutorial_tfkeras.py
Writes into Fixtures/keras/:
  tutorial_steps.h5          initial weights, 5 batches, outputs, losses, and weights + Adam slots
                             after step 1 (the engine's equality test)
  tutorial_step5.h5          weights, Adam slots and outputs after step 5 (a file of its own so that
                             no fixture passes 8 MiB)
  tutorial_tfkeras.h5        model.save_weights after 5 steps (tf-keras legacy HDF5 weights)
  tutorial_tfkeras_io.h5     reference: `inputs` and the model's `outputs` for tutorial_tfkeras.h5
  tutorial_tfkeras_opt.h5    the optimizer state as save_optimizer_weights_to_hdf5_group writes it
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py
import numpy as np
import tensorflow as tf
import tf_keras

sys.path.insert(0, os.path.dirname(__file__))
import idx  # noqa: E402
import tutorial_model  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))
BATCH, STEPS = 8, 5


def write_arrays(group, arrays, names=None):
    for i, array in enumerate(arrays):
        ds = group.create_dataset(f"{i:03d}", data=np.asarray(array))
        if names is not None:
            ds.attrs["name"] = names[i]


def snapshot(g, model, optimizer):
    write_arrays(g.create_group("weights"), [w.numpy() for w in model.weights], [w.name for w in model.weights])
    write_arrays(g.create_group("adam_m"), [m.numpy() for m in optimizer._momentums])
    write_arrays(g.create_group("adam_v"), [v.numpy() for v in optimizer._velocities])
    g["iterations"] = np.int64(optimizer.iterations.numpy())
    return g


def main():
    tf_keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    images, labels = idx.load("train", limit=BATCH * STEPS)
    batches = images.reshape(STEPS, BATCH, 28, 28, 1), labels.reshape(STEPS, BATCH)

    model = tutorial_model.build(tf_keras)
    model(batches[0][0])  # build: creates the variables under Keras' names
    loss_object = tf_keras.losses.SparseCategoricalCrossentropy()
    optimizer = tf_keras.optimizers.Adam()

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_object(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    with h5py.File(os.path.join(OUT, "tutorial_steps.h5"), "w") as h5:
        h5["batches/images"], h5["batches/labels"] = batches
        initial = h5.create_group("initial")
        write_arrays(initial.create_group("weights"), [w.numpy() for w in model.weights], [w.name for w in model.weights])
        initial["outputs"] = model(batches[0][0], training=False).numpy()
        initial["train_outputs"] = model(batches[0][0], training=True).numpy()
        # The training-mode call above moved the BatchNorm statistics: restore them.
        for w, saved in zip(model.weights, initial["weights"].values()):
            w.assign(saved[()])
        losses = []
        for step in range(STEPS):
            losses.append(train_step(tf.constant(batches[0][step]), tf.constant(batches[1][step])).numpy())
            if step == 0:
                snapshot(h5.create_group("step1"), model, optimizer)
        h5["losses"] = np.array(losses, dtype=np.float32)
    with h5py.File(os.path.join(OUT, f"tutorial_step{STEPS}.h5"), "w") as h5:
        snapshot(h5, model, optimizer)
        h5["outputs"] = model(batches[0][0], training=False).numpy()

    model.save_weights(os.path.join(OUT, "tutorial_tfkeras.h5"))
    with h5py.File(os.path.join(OUT, "tutorial_tfkeras_io.h5"), "w") as h5:
        h5["inputs"] = batches[0][0]
        h5["outputs"] = model(batches[0][0], training=False).numpy()
    from tf_keras.src.saving.legacy import hdf5_format
    with h5py.File(os.path.join(OUT, "tutorial_tfkeras_opt.h5"), "w") as h5:
        hdf5_format.save_optimizer_weights_to_hdf5_group(h5, optimizer)


if __name__ == "__main__":
    main()
