"""Loads safetensors files densenet-io wrote from Keras files back into torchvision's and timm's
DenseNets with `load_state_dict(strict=True)` and compares their outputs with the stored ones. Not a
test: run by hand after check_pytorch_densenets.py (docs/pytorch.md), in the torch venv:

    /work/venv-torch/bin/python Fixtures/check_pytorch_strict.py --work /tmp/densenet-io-pytorch-check

`<name>.back.safetensors` is the `.keras` archive densenet-io converted from torchvision's state dict,
converted back by densenet-io (Keras → safetensors). Also prints, in float64, how far BatchNorm's
epsilon alone (1e-5 vs 1.001e-5) moves each model's softmax outputs, as stored and with every running
variance scaled by 1e-4 (and γ by 1e-2, so the activations stay the same). Exit status 1 when strict
loading fails or a difference exceeds --atol.
"""
import argparse
import sys
from pathlib import Path

import h5py
import numpy as np
import timm
import torch
import torchvision
from safetensors.torch import load_file

HERE = Path(__file__).parent
BLOCKS = {"small": (2, 2, 2, 2), "121": (6, 12, 24, 16), "169": (6, 12, 32, 32), "201": (6, 12, 48, 32)}


def build(name, classes):
    blocks = BLOCKS[name.rsplit("densenet", 1)[1].lstrip("_")]
    if name.startswith("timm"):
        return timm.models.densenet.DenseNet(growth_rate=32, block_config=blocks, num_classes=classes)
    return torchvision.models.DenseNet(growth_rate=32, block_config=blocks, num_init_features=64, num_classes=classes)


def outputs(model, inputs, epsilon=None, dtype=torch.float32):
    model = model.to(dtype)
    if epsilon is not None:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eps = epsilon
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(inputs).permute(0, 3, 1, 2).to(dtype)), dim=1).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/densenet-io-pytorch-check")
    parser.add_argument("--atol", type=float, default=1e-6)
    arguments = parser.parse_args()
    worst, failures = 0.0, 0
    for back in sorted(Path(arguments.work).glob("*.back.safetensors")):
        name = back.name.removesuffix(".back.safetensors")
        folder = HERE / "pytorch" if name.endswith("small") else HERE / "pytorch" / "generated"
        with h5py.File(folder / f"{name}_io.h5", "r") as f:
            inputs, stored = f["inputs"][...], f["outputs"][...]
        model = build(name, stored.shape[1]).eval()
        try:
            model.load_state_dict(load_file(str(back)), strict=True)
        except RuntimeError as error:
            print(f"{name}: load_state_dict(strict=True) FAILED: {error}")
            failures += 1
            continue
        difference = float(np.abs(outputs(model, inputs) - stored).max())
        worst = max(worst, difference)
        original = build(name, stored.shape[1]).eval()
        original.load_state_dict(load_file(str(folder / f"{name}.safetensors")), strict=True)
        same = all(torch.equal(a, b) for (k, a), b in zip(original.state_dict().items(), model.state_dict().values())
                   if not k.endswith("num_batches_tracked"))
        eps_effect = float(np.abs(outputs(original, inputs, 1e-5, torch.float64)
                                  - outputs(original, inputs, 1.001e-5, torch.float64)).max())
        # The same function with running variances 10⁴ times smaller (γ 100 times smaller keeps every
        # activation as it was): there eps is a 10⁴ times larger share of var + eps.
        with torch.no_grad():
            for module in original.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_var.mul_(1e-4)
                    module.weight.mul_(1e-2)
        tiny_var_effect = float(np.abs(outputs(original, inputs, 1e-5, torch.float64)
                                       - outputs(original, inputs, 1.001e-5, torch.float64)).max())
        print(f"{name:26} strict load ok, tensors bit-identical to torchvision's: {same}; "
              f"max |outputs − stored| {difference:.3g}; eps 1e-5 → 1.001e-5 moves float64 outputs by {eps_effect:.3g} "
              f"({tiny_var_effect:.3g} with running variances × 1e-4, γ × 1e-2)")
        failures += 0 if same else 1
    print(f"largest difference {worst:.3g} (atol {arguments.atol}), {failures} failure(s)")
    return 0 if failures == 0 and worst <= arguments.atol else 1


if __name__ == "__main__":
    sys.exit(main())
