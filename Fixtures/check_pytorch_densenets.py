"""Loads densenet-io's conversions of PyTorch DenseNets into real tf-keras 2.21 and Keras 3.15 and
compares Keras' outputs with torchvision's stored ones. Not a test: run by hand (docs/pytorch.md).

    swift build
    /work/venv/bin/python Fixtures/check_pytorch_densenets.py --binary .build/debug/densenet-io

For each fixture of Fixtures/pytorch (and of Fixtures/pytorch/generated when --large wrote it), its
state dict (`<name>.safetensors`, as `safetensors.torch.save_file` wrote it, no densenet-io metadata)
is converted by densenet-io to a tf-keras `.h5`, a Keras 3 `.weights.h5` and a `.keras` archive; then
  - tf-keras' `DenseNet(blocks, weights=None, …)` loads the `.h5` (`load_weights`, by position),
  - Keras 3's `DenseNet(blocks, weights=None, …)` loads the `.weights.h5`,
  - Keras 3's `load_model` opens the `.keras` (its own config: no Python model needed),
and each predicts `<name>_io.h5`'s inputs. Printed: the largest absolute difference from
torchvision's softmax outputs (BatchNorm eps 1e-5, PyTorch's) and from the same model with eps
1.001e-5 (Keras'). The `.keras` files are converted back to safetensors into --work for
check_pytorch_strict.py. Exit status 1 when a difference exceeds --atol.
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"

import h5py
import numpy as np

HERE = Path(__file__).parent
SMALL = {"torchvision_densenet_small": [2, 2, 2, 2], "timm_densenet_small": [2, 2, 2, 2]}
LARGE = {"torchvision_densenet121": [6, 12, 24, 16], "torchvision_densenet169": [6, 12, 32, 32],
         "torchvision_densenet201": [6, 12, 48, 32], "timm_densenet121": [6, 12, 24, 16]}


def fixtures():
    for folder, table in [(HERE / "pytorch", SMALL), (HERE / "pytorch" / "generated", LARGE)]:
        for name, blocks in table.items():
            if (folder / f"{name}.safetensors").exists():
                yield folder, name, blocks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/densenet-io")
    parser.add_argument("--work", default="/tmp/densenet-io-pytorch-check")
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument("--only", nargs="*", help="fixture names to check (default: all present)")
    arguments = parser.parse_args()
    import keras
    import tf_keras
    from keras.src.applications.densenet import DenseNet as Keras3DenseNet
    from tf_keras.src.applications.densenet import DenseNet as TFKerasDenseNet

    work = Path(arguments.work)
    work.mkdir(parents=True, exist_ok=True)
    worst = 0.0
    print(f"tf-keras {tf_keras.__version__}, Keras {keras.__version__}")
    for folder, name, blocks in fixtures():
        if arguments.only and name not in arguments.only:
            continue
        with h5py.File(folder / f"{name}_io.h5", "r") as f:
            inputs, outputs, outputs_eps = f["inputs"][...], f["outputs"][...], f["outputs_eps1001"][...]
        shape, classes = inputs.shape[1:], outputs.shape[1]
        model_flags = ["--model", "densenet121", "--blocks", ",".join(map(str, blocks)),
                       "--input-shape", ",".join(map(str, shape)), "--classes", str(classes)]
        files = {}
        for ending in [".h5", ".weights.h5", ".keras"]:
            files[ending] = work / f"{name}{ending}"
            subprocess.run([arguments.binary, "convert", str(folder / f"{name}.safetensors"), str(files[ending])] + model_flags,
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run([arguments.binary, "convert", str(files[".keras"]), str(work / f"{name}.back.safetensors")],
                       check=True, stdout=subprocess.DEVNULL)
        tfkeras = TFKerasDenseNet(blocks, weights=None, input_shape=shape, classes=classes)
        tfkeras.load_weights(str(files[".h5"]))
        keras3 = Keras3DenseNet(blocks, weights=None, input_shape=shape, classes=classes)
        keras3.load_weights(str(files[".weights.h5"]))
        archive = keras.saving.load_model(str(files[".keras"]))
        for label, model in [("tf-keras .h5", tfkeras), ("Keras 3 .weights.h5", keras3), ("Keras 3 .keras", archive)]:
            predicted = np.asarray(model(inputs, training=False))
            torch_eps = float(np.abs(predicted - outputs).max())
            keras_eps = float(np.abs(predicted - outputs_eps).max())
            worst = max(worst, torch_eps)
            print(f"{name:26} {label:20} max |Keras − torchvision|: eps 1e-5 {torch_eps:.3g}, eps 1.001e-5 {keras_eps:.3g}")
        print(f"{name:26} {'(torchvision itself)':20} max |eps 1e-5 − eps 1.001e-5| {float(np.abs(outputs - outputs_eps).max()):.3g}")
    print(f"largest difference {worst:.3g} (atol {arguments.atol})")
    return 0 if worst <= arguments.atol else 1


if __name__ == "__main__":
    sys.exit(main())
