"""Reads MNIST-format IDX files (raw or gzip) with the standard library and NumPy."""
import gzip
import os
import struct

import numpy as np

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(split="train", folder=FASHION_MNIST, limit=None):
    """Images as the tutorial prepares them (float32 N×28×28×1, x/255) and int64 labels."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"))[:limit]
    labels = read_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"))[:limit]
    return (images / 255.0)[..., np.newaxis].astype(np.float32), labels.astype(np.int64)
