"""tutorial_tfkeras_functional.h5: the functional twin of the subclassed tutorial model, same weights.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_tutorial_functional_twin.py
tf-keras 2.21 builds the subclassed tutorial DenseNet (tutorial_model.py), loads
tutorial_tfkeras.h5 into it; a second instance's sub-layers are wired into a functional model
(`keras.Model(inputs, dense2(dense1(flatten(dl3(tr2(dl2(tr1(dl1(conv1(inputs))))))))))`, its
variables created in the functional scope), given the first's values with `set_weights`, and
saved with `save_weights`. Both files hold identical values under other names
(`dense_net/dense_layer/...` vs `dense_layer_3/...`), and tf-keras loads the functional file into
the subclassed model by position (checked here).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tf_keras as keras

import tutorial_model

HERE = os.path.dirname(os.path.abspath(__file__))

subclassed = tutorial_model.build(keras)
subclassed(np.zeros((1, 28, 28, 1), np.float32))
subclassed.load_weights(os.path.join(HERE, "tutorial_tfkeras.h5"))
m = tutorial_model.build(keras)
inputs = keras.Input((28, 28, 1))
outputs = m.dense2(m.dense1(m.flatten(m.dl3(m.tr2(m.dl2(m.tr1(m.dl1(m.conv1(inputs)))))))))
functional = keras.Model(inputs, outputs)
functional.set_weights(subclassed.get_weights())
out = os.path.join(HERE, "tutorial_tfkeras_functional.h5")
functional.save_weights(out)

# tf-keras loads the functional file into a fresh subclassed model by position: same values.
fresh = tutorial_model.build(keras)
fresh(np.zeros((1, 28, 28, 1), np.float32))
fresh.load_weights(out)
assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), subclassed.get_weights()))
print(f"{out}: {len(functional.weights)} weights, names {functional.weights[2].name} vs {subclassed.weights[2].name}")
