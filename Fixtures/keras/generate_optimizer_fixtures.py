"""Optimizer fixtures: SGD, RMSprop, Adam and AdamW run by real tf-keras 2.21 and Keras 3.15.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_optimizer_fixtures.py
Writes into Fixtures/keras/ one file per library, optimizers_tfkeras.h5 and optimizers_keras3.h5:
  /<config>                        one group per optimizer configuration of CONFIGS, attributes
                                   `class`, `config` (get_config() as JSON) and `variables` (the
                                   names of optimizer.variables in their order, after training)
  /<config>/rule                   the update rule alone: one float32 variable of 64 values,
                                   `initial`, `gradients` (5×64), and after each of the 5
                                   apply_gradients calls `values` (5×64) and `slots/<name>` (5×64)
  /<config>/train                  the tiny functional model (as generate_checkpoint_fixtures.py)
                                   trained 5 steps from /initial on /batches: `losses` (5),
                                   `gradients/<step>/NNN` (Keras' gradients of steps 1-5), and
                                   `step1`, `step5` with `trainable/NNN`, `non_trainable/NNN`,
                                   `slots/<name>/NNN` (one per trainable variable) and `iterations`
  /initial/trainable, /initial/non_trainable   the weights both libraries start from
  /batches/images (5×8×8×8×1), /batches/labels (5×8)
Slot names are Keras 3's (`momentum`, `velocity`, `average_gradient`) in both files; tf-keras calls
Adam's `m` and `v`, SGD's `m` (and creates it even with momentum 0: see `sgd/rule/slots/momentum`).
"""
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # TensorFlow's Eigen kernels, as the other fixtures
import h5py
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))
STEPS, BATCH = 5, 8

# name -> (Keras class, arguments, slots as (Keras 3 name, attribute holding one slot per variable))
CONFIGS = {
    "sgd": ("SGD", {}, [("momentum", "momentums")]),
    "sgd_nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, [("momentum", "momentums")]),
    "rmsprop": ("RMSprop", {}, [("velocity", "_velocities")]),
    "rmsprop_centered": ("RMSprop", {"momentum": 0.9, "centered": True},
                         [("velocity", "_velocities"), ("momentum", "_momentums"),
                          ("average_gradient", "_average_gradients")]),
    "adam": ("Adam", {}, [("momentum", "_momentums"), ("velocity", "_velocities")]),
    "adamw": ("AdamW", {}, [("momentum", "_momentums"), ("velocity", "_velocities")]),
}


def shared_inputs():
    rng = np.random.default_rng(16)
    images = rng.random((STEPS, BATCH, 8, 8, 1), dtype=np.float32)
    labels = rng.integers(0, 10, (STEPS, BATCH)).astype(np.int64)
    trainable = [rng.normal(0, 0.3, (3, 3, 1, 4)), rng.normal(0, 0.1, 4),  # conv kernel, bias
                 1 + rng.normal(0, 0.1, 4), rng.normal(0, 0.1, 4),        # bn gamma, beta
                 rng.normal(0, 0.15, (80, 10)), rng.normal(0, 0.1, 10)]   # dense kernel, bias
    non_trainable = [np.zeros(4), np.ones(4)]                             # bn moving mean, variance
    rule_initial = rng.normal(0, 1, 64)
    # gradients of every size, zeros and near-zero ones among them
    rule_gradients = rng.normal(0, 1, (STEPS, 64)) * 10.0 ** rng.integers(-7, 2, (STEPS, 64))
    rule_gradients[:, :4] = 0
    f32 = lambda arrays: [np.asarray(a, np.float32) for a in arrays]  # noqa: E731
    return images, labels, f32(trainable), f32(non_trainable), f32([rule_initial])[0], np.float32(rule_gradients)


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


def write_arrays(group, arrays):
    for i, array in enumerate(arrays):
        group.create_dataset(f"{i:03d}", data=np.asarray(array))


def slot_arrays(optimizer, slots):
    return {name: [s.numpy() for s in getattr(optimizer, attribute)] for name, attribute in slots
            if getattr(optimizer, attribute, None)}


def run(library, out_name):
    import tensorflow as tf
    keras = __import__(library)
    tf.config.experimental.enable_op_determinism()
    images, labels, trainable, non_trainable, rule_initial, rule_gradients = shared_inputs()
    variable_name = (lambda v: v.path) if library == "keras" else (lambda v: v.name)
    with h5py.File(os.path.join(OUT, out_name), "w") as h5:
        h5.attrs["library"] = f"{library} {keras.__version__}"
        h5["batches/images"], h5["batches/labels"] = images, labels
        write_arrays(h5.create_group("initial/trainable"), trainable)
        write_arrays(h5.create_group("initial/non_trainable"), non_trainable)
        for config_name, (class_name, arguments, slots) in CONFIGS.items():
            group = h5.create_group(config_name)

            # The rule alone, on one variable.
            optimizer = getattr(keras.optimizers, class_name)(**arguments)
            variable = (keras.Variable if library == "keras" else tf.Variable)(rule_initial, name="w")
            apply = tf.function(lambda g: optimizer.apply_gradients([(g, variable)]))
            rule = group.create_group("rule")
            rule["initial"], rule["gradients"] = rule_initial, rule_gradients
            values, slot_values = [], {}
            for gradient in rule_gradients:
                apply(tf.constant(gradient))
                values.append(variable.numpy())
                for name, arrays in slot_arrays(optimizer, slots).items():
                    slot_values.setdefault(name, []).append(arrays[0])
            rule["values"] = np.array(values)
            for name, stacked in slot_values.items():
                rule[f"slots/{name}"] = np.array(stacked)

            # Training the tiny model.
            keras.utils.set_random_seed(0)
            model = build(keras)
            for w, value in zip(model.trainable_weights, trainable):
                w.assign(value)
            for w, value in zip(model.non_trainable_weights, non_trainable):
                w.assign(value)
            optimizer = getattr(keras.optimizers, class_name)(**arguments)
            loss_object = keras.losses.SparseCategoricalCrossentropy()

            @tf.function
            def train_step(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_object(y, model(x, training=True))
                gradients = tape.gradient(loss, model.trainable_weights)
                optimizer.apply_gradients(zip(gradients, model.trainable_weights))
                return loss, gradients

            train = group.create_group("train")
            losses = []
            for step in range(STEPS):
                loss, gradients = train_step(tf.constant(images[step]), tf.constant(labels[step]))
                losses.append(loss.numpy())
                write_arrays(train.create_group(f"gradients/{step + 1}"), [g.numpy() for g in gradients])
                if step in (0, STEPS - 1):
                    snapshot = train.create_group(f"step{step + 1}")
                    write_arrays(snapshot.create_group("trainable"), [w.numpy() for w in model.trainable_weights])
                    write_arrays(snapshot.create_group("non_trainable"), [w.numpy() for w in model.non_trainable_weights])
                    for name, arrays in slot_arrays(optimizer, slots).items():
                        write_arrays(snapshot.create_group(f"slots/{name}"), arrays)
                    snapshot["iterations"] = np.int64(optimizer.iterations.numpy())
            train["losses"] = np.array(losses, dtype=np.float32)
            group.attrs["class"] = class_name
            group.attrs["config"] = json.dumps(optimizer.get_config(), default=float)
            group.attrs["variables"] = [variable_name(v) for v in optimizer.variables]
            group.attrs["trainable_names"] = [variable_name(w) for w in model.trainable_weights]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        if sys.argv[1] == "keras":
            os.environ["KERAS_BACKEND"] = "tensorflow"
        run(sys.argv[1], sys.argv[2])
    else:
        # Each library in a process of its own (fresh automatic names, no clashes).
        for library, out_name in (("tf_keras", "optimizers_tfkeras.h5"), ("keras", "optimizers_keras3.h5")):
            subprocess.run([sys.executable, __file__, library, out_name], check=True)
