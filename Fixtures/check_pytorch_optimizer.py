"""Continues in PyTorch a training run densenet-io exported for it (weights + torch.optim.Adam state).

`PyTorchOptimizerTests/exportForPyTorchCheck` writes DIR/tutorial.safetensors (the tutorial run's weights),
DIR/tutorial.optimizer.safetensors (its Adam state, `--to torch-optimizer`) and DIR/tutorial.losses.json
(densenet-io's own losses on the 5 batches of Fixtures/keras/tutorial_steps.h5). This script loads both
files into the PyTorch port of the tutorial model (check_pytorch_safetensors.py), continues 5 steps with
torch.optim.Adam on the same batches, twice:
  keras-eps  epsilon set before each step to Keras' ε / √(1 − β₂ᵗ), which is Keras' Adam exactly
  torch-eps  epsilon left at Keras' ε (PyTorch adds it after the bias correction, Keras before)
and prints the largest relative difference of each from densenet-io's losses. Exit 1 unless keras-eps
stays within 1e-5.

    mkdir -p /tmp/torch-check
    DENSENET_IO_TORCH_EXPORT=/tmp/torch-check swift test -c release -Xswiftc -enable-testing \
        --filter PyTorchOptimizerTests/exportForPyTorchCheck
    venv/bin/python Fixtures/check_pytorch_optimizer.py /tmp/torch-check
"""
import json
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_pytorch_safetensors import DenseNet  # noqa: E402


def load_adam_state(optimizer, model, path):
    """Feeds a densenet-io torch-optimizer file to `optimizer.load_state_dict` (the snippet of docs/pytorch.md)."""
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        parameters = dict(model.named_parameters())
        index = {id(p): i for i, p in enumerate(optimizer.param_groups[0]["params"])}
        state = {
            index[id(parameters[name])]: {
                "step": f.get_tensor(f"state.{name}.step"),
                "exp_avg": f.get_tensor(f"state.{name}.exp_avg"),
                "exp_avg_sq": f.get_tensor(f"state.{name}.exp_avg_sq"),
            }
            for name in meta["params"].split(",")
        }
    saved = optimizer.state_dict()
    saved["state"] = state
    optimizer.load_state_dict(saved)
    return meta


def continue_run(folder, keras_epsilon):
    model = DenseNet()
    model.load_state_dict(load_file(os.path.join(folder, "tutorial.safetensors")), strict=True)
    model.train()
    path = os.path.join(folder, "tutorial.optimizer.safetensors")
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    beta1, beta2, eps = float(meta["beta1"]), float(meta["beta2"]), float(meta["eps"])
    optimizer = torch.optim.Adam(model.parameters(), lr=float(meta["lr"]), betas=(beta1, beta2), eps=eps)
    load_adam_state(optimizer, model, path)
    step = int(meta["iterations"])
    with h5py.File(os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras", "tutorial_steps.h5"), "r") as h5:
        images = np.asarray(h5["batches/images"], dtype=np.float32)
        labels = np.asarray(h5["batches/labels"], dtype=np.int64)
    losses = []
    for batch_images, batch_labels in zip(images, labels):
        if keras_epsilon:  # Keras' ε sits before the bias correction of √v
            optimizer.param_groups[0]["eps"] = eps / math.sqrt(1 - beta2 ** (step + 1))
        optimizer.zero_grad()
        probabilities = model(torch.from_numpy(batch_images.reshape(-1, 28, 28, 1)).permute(0, 3, 1, 2).contiguous())
        loss = F.nll_loss(torch.log(probabilities), torch.from_numpy(batch_labels.reshape(-1)))
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        step += 1
    return losses


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "tutorial.losses.json")) as f:
        expected = json.load(f)["losses"]
    torch.manual_seed(0)
    worst = {}
    for name, keras_epsilon in [("keras-eps", True), ("torch-eps", False)]:
        losses = continue_run(folder, keras_epsilon)
        worst[name] = max(abs(a - b) / abs(b) for a, b in zip(losses, expected))
        print(f"{name}: torch {torch.__version__} losses {losses}; max relative difference from densenet-io {worst[name]:.2e}")
    print(f"densenet-io: {expected}")
    ok = worst["keras-eps"] <= 1e-5
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
