"""Resume fixtures: training runs saved by real tf-keras 2.21 and Keras 3.15 after 3 steps, reloaded, continued.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_resume_fixtures.py
Writes into Fixtures/keras/resume/:
  batches.h5                   `images` (8×8×8×8×1 float32: 8 batches of 8), `labels` (8×8 int64, 0..9),
                               `initial/trainable/NNN` (conv kernel, conv bias, bn gamma, bn beta,
                               dense kernel, dense bias), `initial/non_trainable/NNN` (bn moving mean,
                               moving variance) — the weights both libraries start from
  tfkeras_C.h5                 tf-keras `model.save(path)` after `train_on_batch` on batches 0, 1, 2:
                               legacy full-model HDF5 with `optimizer_weights`
  tfkeras_C_weights.h5,        the pair a user of a subclassed model keeps: `model.save_weights(path)`
  tfkeras_C_optimizer.h5       and tf-keras' own `hdf5_format.save_optimizer_weights_to_hdf5_group`
                               at the file's root (only for C in PAIRS)
  keras3_C.keras               Keras 3 `model.save(path)` after the same 3 steps
  keras3_C.weights.h5          Keras 3 `model.save_weights(path)` of the compiled model: `layers/…/vars`
                               and `optimizer/vars/0…` (iteration, learning_rate, then the slots)
  continued.h5                 one group per saved file (named by it; the pair by its `_weights.h5`):
                               `losses` (5 float32): the file loaded the way users load it, then
                               `train_on_batch` on batches 3..7; `in_process_losses`: the same 5 steps
                               in the process that saved, without a save; attributes `library`,
                               `optimizer_class`, `config` (get_config() JSON), `iterations_at_save` (3),
                               `variables` (optimizer.variables names in order at save time)
for C in CONFIGS (adagrad is an optimizer densenet-io does not know). The model is the tiny functional
one of generate_checkpoint_fixtures.py, compiled with `sparse_categorical_crossentropy` and no metrics;
each `train_on_batch` returns that batch's loss (both libraries reset the loss tracker per call).

How each file is loaded (`load_and_continue`, also used by Fixtures/check_resume_in_keras.py):
  tf-keras .h5        tf_keras.models.load_model(path) (compiles from training_config, builds the optimizer
                      and `set_weights` the file's optimizer_weights)
  tf-keras pair       build, compile, `optimizer.build(trainable_variables)`, `load_weights(weights)`, then
                      `optimizer.set_weights(hdf5_format.load_optimizer_weights_from_hdf5_group(f))`
  Keras 3 .keras      keras.saving.load_model(path)
  Keras 3 .weights.h5 build, compile, `optimizer.build(trainable_variables)`, `load_weights(path)`

Measured with these versions:
  - tf-keras SGD keeps an `m` slot per variable even with momentum 0 (its `build` always creates
    them); Keras 3 SGD with momentum 0 keeps only `iteration` and `learning_rate`.
  - Loading changes nothing: in every group `losses` equals `in_process_losses` bit for bit, and a
    fresh process loading the same file (check_resume_in_keras.py) reproduces them bit for bit, but
    only with `enable_op_determinism()`: without it the continued losses move by up to 7e-7 relative.
  - The two libraries agree to within 7e-7 relative, not bit for bit (e.g. adam, batch 4).
  - Cross-generation (`cross_generation`, printed by the Keras 3 part): Keras 3.15 cannot resume
    tfkeras_adam.h5. `keras.saving.load_model` (= `keras.models.load_model`, which go to
    `legacy_h5_format.load_model_from_hdf5`) loads the model but builds the optimizer on the
    functional model's own `_trainable_variables` (none), so it holds only `iteration` and
    `learning_rate`; `set_weights` assigns `iteration:0` (iterations reads 3), then fails on the
    shape of `learning_rate` against `Adam/m/conv/kernel:0` and logs "Error in loading the saved
    optimizer state. As a result, your model is starting with a freshly initialized optimizer.";
    no slot is restored, and the first `train_on_batch` raises `ValueError: Unknown variable:
    <Variable path=conv/kernel, …>. This optimizer can only be called for the variables it was
    originally built with.` So there are no Keras 3 losses for a tf-keras file to compare with.
  - Every HDF5 file here, and the model.weights.h5 inside each `.keras`, is byte-identical between
    runs; the `.keras` archives are not: metadata.json holds `date_saved`, config.json the
    `shared_object_id` (a Python object id) of the shared DTypePolicy, and the zip entry of
    model.weights.h5 its modification time.
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # TensorFlow's Eigen kernels, as the other fixtures
import h5py
import numpy as np

from generate_checkpoint_fixtures import build  # the tiny functional model of the checkpoint fixtures

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resume")
BATCHES, BATCH, SAVED_AFTER = 8, 8, 3
LOSS = "sparse_categorical_crossentropy"

# name -> (Keras class, arguments); the same in both libraries
CONFIGS = {
    "sgd": ("SGD", {"learning_rate": 0.01}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    "rmsprop_centered": ("RMSprop", {"momentum": 0.9, "centered": True}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
    "adagrad": ("Adagrad", {}),
}
PAIRS = ("sgd_nesterov", "rmsprop_centered", "adam")  # tf-keras weights + optimizer file pairs
LIBRARY_LABELS = {"tf_keras": "tf-keras", "keras": "keras"}


def shared_inputs():
    rng = np.random.default_rng(38)
    images = rng.random((BATCHES, BATCH, 8, 8, 1), dtype=np.float32)
    labels = rng.integers(0, 10, (BATCHES, BATCH)).astype(np.int64)
    trainable = [rng.normal(0, 0.3, (3, 3, 1, 4)), rng.normal(0, 0.1, 4),  # conv kernel, bias
                 1 + rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4),        # bn gamma, beta
                 rng.normal(0, 0.15, (80, 10)), rng.normal(0, 0.1, 10)]   # dense kernel, bias
    non_trainable = [np.zeros(4), np.ones(4)]                             # bn moving mean, variance
    f32 = lambda arrays: [np.asarray(a, np.float32) for a in arrays]  # noqa: E731
    return images, labels, f32(trainable), f32(non_trainable)


def write_batches(path):
    images, labels, trainable, non_trainable = shared_inputs()
    with h5py.File(path, "w") as h5:
        h5["images"], h5["labels"] = images, labels
        for group_name, arrays in (("initial/trainable", trainable), ("initial/non_trainable", non_trainable)):
            group = h5.create_group(group_name)
            for i, array in enumerate(arrays):
                group.create_dataset(f"{i:03d}", data=array)


def read_batches(path):
    with h5py.File(path, "r") as h5:
        return h5["images"][()], h5["labels"][()]


def compiled_model(keras, config_name):
    class_name, arguments = CONFIGS[config_name]
    model = build(keras)
    model.compile(optimizer=getattr(keras.optimizers, class_name)(**arguments), loss=LOSS)
    return model


def train(model, images, labels, batches):
    # With no metrics both libraries return the batch's loss alone.
    return [float(np.asarray(model.train_on_batch(images[b], labels[b])).reshape(-1)[0]) for b in batches]


def continue_training(model, images, labels):
    return np.array(train(model, images, labels, range(SAVED_AFTER, BATCHES)), dtype=np.float32)


def load_tf_keras_pair(tf_keras, config_name, weights_path, optimizer_path):
    """What a tf-keras user of a subclassed model does: model weights and optimizer state from two files."""
    from tf_keras.src.saving.legacy import hdf5_format
    model = compiled_model(tf_keras, config_name)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(weights_path)
    with h5py.File(optimizer_path, "r") as f:
        model.optimizer.set_weights([np.asarray(d) for d in hdf5_format.load_optimizer_weights_from_hdf5_group(f)])
    return model


def load_keras3_weights(keras, config_name, path):
    model = compiled_model(keras, config_name)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    return model


def load_model(library, keras, config_name, path):
    """Loads a saved file the way the library's users do; the tf-keras pair is named by its weights file."""
    if library == "tf_keras":
        if path.endswith("_weights.h5"):
            return load_tf_keras_pair(keras, config_name, path, path[: -len("_weights.h5")] + "_optimizer.h5")
        return keras.models.load_model(path)
    if path.endswith(".weights.h5"):
        return load_keras3_weights(keras, config_name, path)
    return keras.saving.load_model(path)


def load_and_continue(library, config_name, path, images, labels):
    """(iterations after the load, the 5 losses of train_on_batch on batches 3..7)."""
    import tensorflow as tf
    keras = __import__(library)
    tf.config.experimental.enable_op_determinism()
    model = load_model(library, keras, config_name, path)
    iterations = int(model.optimizer.iterations.numpy())
    return iterations, continue_training(model, images, labels)


def variable_names(library, optimizer):
    return [v.path if library == "keras" else v.name for v in optimizer.variables]


def saved_files(library, config_name):
    """(file name, how to write it) in the order continued.h5 lists them."""
    if library == "tf_keras":
        from tf_keras.src.saving.legacy import hdf5_format

        def save_pair(model, path):
            model.save_weights(path)
            with h5py.File(path[: -len("_weights.h5")] + "_optimizer.h5", "w") as f:
                hdf5_format.save_optimizer_weights_to_hdf5_group(f, model.optimizer)

        files = [(f"tfkeras_{config_name}.h5", lambda model, path: model.save(path))]
        if config_name in PAIRS:
            files.append((f"tfkeras_{config_name}_weights.h5", save_pair))
        return files
    return [(f"keras3_{config_name}.keras", lambda model, path: model.save(path)),
            (f"keras3_{config_name}.weights.h5", lambda model, path: model.save_weights(path))]


def run(library):
    import tensorflow as tf
    keras = __import__(library)
    tf.config.experimental.enable_op_determinism()
    images, labels = read_batches(os.path.join(OUT, "batches.h5"))
    _, _, trainable, non_trainable = shared_inputs()
    label = f"{LIBRARY_LABELS[library]} {keras.__version__}"
    for config_name in CONFIGS:
        keras.backend.clear_session()  # automatic names (`sgd`, not `sgd_2`) independent of the order
        keras.utils.set_random_seed(0)
        model = compiled_model(keras, config_name)
        for w, value in zip(model.trainable_weights, trainable):
            w.assign(value)
        for w, value in zip(model.non_trainable_weights, non_trainable):
            w.assign(value)
        train(model, images, labels, range(SAVED_AFTER))
        optimizer = model.optimizer
        attributes = {"library": label, "optimizer_class": CONFIGS[config_name][0],
                      "config": json.dumps(optimizer.get_config(), default=float),
                      "iterations_at_save": np.int64(optimizer.iterations.numpy()),
                      "variables": variable_names(library, optimizer)}
        files = saved_files(library, config_name)
        for file_name, save in files:
            save(model, os.path.join(OUT, file_name))
        in_process = continue_training(model, images, labels)
        for file_name, _ in files:
            iterations, losses = load_and_continue(library, config_name, os.path.join(OUT, file_name), images, labels)
            assert iterations == SAVED_AFTER, f"{file_name}: {iterations} iterations after the load"
            with h5py.File(os.path.join(OUT, "continued.h5"), "a") as h5:
                group = h5.create_group(file_name)
                group["losses"], group["in_process_losses"] = losses, in_process
                group.attrs.update(attributes)
            print(f"{file_name}: losses {losses.tolist()} in process {in_process.tolist()}")
    if library == "keras":
        cross_generation(keras, images, labels)


def cross_generation(keras, images, labels):
    """Prints what Keras 3 makes of tf-keras' full-model file (the answer in CROSS_GENERATION)."""
    model = keras.saving.load_model(os.path.join(OUT, "tfkeras_adam.h5"))
    optimizer = model.optimizer
    print(f"Keras 3 load_model(tfkeras_adam.h5): iterations {int(optimizer.iterations.numpy())}, "
          f"variables {variable_names('keras', optimizer)}")
    try:
        print(f"  continued losses {continue_training(model, images, labels).tolist()}")
    except ValueError as error:
        print(f"  train_on_batch: ValueError: {error}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        if sys.argv[1] == "keras":
            os.environ["KERAS_BACKEND"] = "tensorflow"
        {"tf_keras": lambda: run("tf_keras"), "keras": lambda: run("keras")}[sys.argv[1]]()
    else:
        os.makedirs(OUT, exist_ok=True)
        write_batches(os.path.join(OUT, "batches.h5"))
        with h5py.File(os.path.join(OUT, "continued.h5"), "w"):
            pass
        # Each library in a process of its own (fresh automatic names; tf-keras and Keras 3 can't share one).
        for library in ("tf_keras", "keras"):
            subprocess.run([sys.executable, __file__, library], check=True)
