"""Checks that a safetensors file written by `densenet-io convert` runs in PyTorch and reproduces
the outputs real Keras computed.

The tutorial DenseNet (Fixtures/keras/tutorial_model.py) written as a straight PyTorch port: the same
attribute names (conv1, dl1.sequence.0.bn, …, tr1.conv, dense1), BatchNorm eps 1e-3 (Keras' default),
"same" 3×3 convolutions as padding=1, MaxPool2D() as max_pool2d(2), and concatenation on the channel
axis. Loading is strict: every tensor of the file must be a parameter or buffer of the model and
vice versa.

Usage (CPU torch from PyPI, e.g. in the venv of Fixtures/README.md):
    venv/bin/pip install torch safetensors h5py
    densenet-io convert Fixtures/keras/tutorial_tfkeras.h5 /tmp/tutorial.safetensors
    venv/bin/python Fixtures/check_pytorch_safetensors.py /tmp/tutorial.safetensors \
        Fixtures/keras/tutorial_tfkeras_io.h5
Exit status 0 when the largest absolute difference is within --atol (default 1e-5), 1 otherwise.
"""
import argparse
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn


class DenseUnit(nn.Module):
    def __init__(self, channels_in, filters):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels_in, eps=1e-3)
        self.conv = nn.Conv2d(channels_in, filters, 3, padding=1)

    def forward(self, x):
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], dim=1)


class DenseLayer(nn.Module):
    def __init__(self, channels_in, units, growth_rate):
        super().__init__()
        self.sequence = nn.ModuleList(DenseUnit(channels_in + i * growth_rate, growth_rate) for i in range(units))

    def forward(self, x):
        for unit in self.sequence:
            x = unit(x)
        return x


class TransitionLayer(nn.Module):
    def __init__(self, channels_in, filters):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, filters, 3, padding=1)

    def forward(self, x):
        return F.max_pool2d(self.conv(x), 2)


class DenseNet(nn.Module):
    """densenet-mini: 28×28×1 images, 10 classes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.dl1 = DenseLayer(8, 2, 4)
        self.tr1 = TransitionLayer(16, 16)
        self.dl2 = DenseLayer(16, 2, 8)
        self.tr2 = TransitionLayer(32, 32)
        self.dl3 = DenseLayer(32, 2, 16)
        self.dense1 = nn.Linear(7 * 7 * 64, 128)
        self.dense2 = nn.Linear(128, 10)

    def forward(self, x):  # x: N×C×H×W
        x = F.relu(self.conv1(x))
        x = self.tr1(self.dl1(x))
        x = self.tr2(self.dl2(x))
        x = self.dl3(x)
        x = torch.flatten(x, 1)  # channel-first; densenet-io reordered dense1's columns to match
        return F.softmax(self.dense2(F.relu(self.dense1(x))), dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", help="safetensors file written by densenet-io")
    parser.add_argument("reference", help="HDF5 with `inputs` (N×28×28×1) and `outputs` (N×10) from real Keras")
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()

    model = DenseNet()
    state = load_file(args.weights)
    model.load_state_dict(state, strict=True)
    model.eval()
    with h5py.File(args.reference, "r") as h5:
        inputs = np.asarray(h5["inputs"], dtype=np.float32)
        expected = np.asarray(h5["outputs"], dtype=np.float32)
    with torch.no_grad():
        outputs = model(torch.from_numpy(inputs).permute(0, 3, 1, 2).contiguous()).numpy()
    error = float(np.max(np.abs(outputs - expected)))
    same_class = bool(np.all(outputs.argmax(1) == expected.argmax(1)))
    print(f"torch {torch.__version__}: {len(state)} tensors loaded strictly from {args.weights}")
    print(f"{inputs.shape[0]} samples: max abs difference from Keras {error:.3g} (atol {args.atol}); "
          f"same predicted classes: {same_class}")
    ok = error <= args.atol and same_class
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
