"""Keras Applications DenseNet weight files as users hold them: `save_weights` of tf-keras 2.21 and
Keras 3.15, with and without the top, and the layout Keras 2 published its ImageNet weights in.

Run from the repository root with the venv of Fixtures/README.md:
    python Fixtures/keras/generate_applications_weights.py            # small models (committed)
    python Fixtures/keras/generate_applications_weights.py --large    # DenseNet-121/169/201 (not committed)
Each file is written by a fresh process (automatic names start from zero, as in a user's session).
The weights are the models' random initialisation (`weights=None`): these files test matching and
recognition, not numerics (generate_densenet_fixtures.py has trained ones with reference outputs).

Small (Fixtures/keras/, about 1.8 MB a file), from Keras Applications' `DenseNet(blocks=...)`:
  apps_<blocks>_<flavor>_top    DenseNet([1, 2, 3, 2], input_shape=(32, 32, 3), classes=7)
  apps_<blocks>_<flavor>_notop  DenseNet([1, 2, 3, 2], include_top=False, input_shape=(32, 32, 1))
Large (Fixtures/keras/generated/, git-ignored): DenseNet121/169/201 at Keras' defaults
(224x224x3, 1000 classes) with the top, and include_top=False, as `densenet121_<flavor>_top` …

Flavors and their files:
  tfkeras  <name>.h5          tf_keras `model.save_weights` (legacy HDF5: layer_names, `conv1/conv/kernel:0`)
  keras3   <name>.weights.h5  keras 3 `model.save_weights` (`layers/<class>[_n]/vars`)
  keras2   <name>.h5          the tf-keras file above, then its root attributes rewritten with h5py the
           way Keras 2.1 wrote `densenet121_weights_tf_dim_ordering_tf_kernels[_notop].h5`:
           `keras_version` b"2.1.3" and `backend` b"tensorflow" as fixed-length byte strings, and
           every `layer_names`/`weight_names` as a fixed-length byte-string array (tf-keras 2.21
           writes variable-length strings). NOT written by Keras 2 itself: no Keras 2 runs on
           this Python; the published files have exactly this structure (h5ls of them).
"""
import argparse
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL_BLOCKS = [1, 2, 3, 2]
LARGE = {"121": [6, 12, 24, 16], "169": [6, 12, 32, 32], "201": [6, 12, 48, 32]}


def build(flavor, which, top):
    if flavor == "keras3":
        import keras
        from keras.src.applications import densenet
    else:
        import tf_keras as keras
        from tf_keras.src.applications import densenet
    keras.utils.set_random_seed(0)
    if which == "small":
        shape = (32, 32, 3) if top else (32, 32, 1)
        return densenet.DenseNet(SMALL_BLOCKS, include_top=top, weights=None, input_shape=shape, classes=7)
    maker = {"121": densenet.DenseNet121, "169": densenet.DenseNet169, "201": densenet.DenseNet201}[which]
    return maker(include_top=top, weights=None)


def as_keras2_layout(path):
    """Rewrites a tf-keras weights file's string attributes as Keras 2.1 stored them."""
    import h5py
    import numpy as np

    def fixed(strings):
        return np.array([s.encode("utf8") for s in strings], dtype=f"S{max(1, max(len(s) for s in strings) if strings else 1)}")

    with h5py.File(path, "r+") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.1.3")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        layer_names = [n if isinstance(n, str) else n.decode() for n in f.attrs["layer_names"]]
        f.attrs["layer_names"] = fixed(layer_names)
        for name in layer_names:
            group = f[name]
            weight_names = [n if isinstance(n, str) else n.decode() for n in group.attrs["weight_names"]]
            # Keras 2.1 wrote an empty list for layers without weights; h5py needs a typed empty array.
            group.attrs["weight_names"] = fixed(weight_names) if weight_names else np.array([], dtype="S1")


def run(flavor, which, top):
    out = HERE if which == "small" else os.path.join(HERE, "generated")
    os.makedirs(out, exist_ok=True)
    stem = "apps_" + "".join(map(str, SMALL_BLOCKS)) if which == "small" else f"densenet{which}"
    name = os.path.join(out, f"{stem}_{flavor}_{'top' if top else 'notop'}")
    model = build(flavor, which, top)
    path = name + (".weights.h5" if flavor == "keras3" else ".h5")
    model.save_weights(path)
    if flavor == "keras2":
        as_keras2_layout(path)
    print(f"{flavor} {which} top={top}: {len(model.layers)} layers, {model.count_params()} parameters -> {path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="also DenseNet-121/169/201 (not committed)")
    parser.add_argument("--one", nargs=3, metavar=("FLAVOR", "MODEL", "TOP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        flavor, which, top = args.one
        run(flavor, which, top == "top")
        return
    models = ["small"] + (list(LARGE) if args.large else [])
    for which in models:
        for flavor in ["tfkeras", "keras3", "keras2"]:
            for top in ["top", "notop"]:
                subprocess.run([sys.executable, __file__, "--one", flavor, which, top], check=True)


if __name__ == "__main__":
    main()
