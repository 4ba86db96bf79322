"""Writes the tiny IDX fixtures of Tests/DatasetsTests with Python's standard library only.

Run from the repository root:  python3 Fixtures/idx/make_fixtures.py
The output is deterministic (gzip mtime 0), so re-running it changes nothing.

tiny/ is an MNIST-style folder exercising every accepted spelling and encoding:
  train-images-idx3-ubyte.gz   5 images 4×3, gzip with a file name in the header (FNAME flag)
  train-labels-idx1-ubyte      5 labels, raw
  t10k-images.idx3-ubyte       3 images 4×3, raw, the dotted spelling of some mirrors
  t10k-labels.idx1-ubyte.gz    3 labels, two concatenated gzip members
  pixel of image n at (row r, column c) = (n * 37 + r * 11 + c * 5 + 3) % 256   (train)
                                         = (n * 53 + r * 7 + c * 13 + 250) % 256 (test)
  label of image n = (n * 3 + 1) % 10 (train), (9 - n) (test)
dtypes/ holds one small array per IDX element type: VALUES reshaped to 2×3, big-endian.
"""
import gzip
import io
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VALUES = [-2, -1, 0, 1, 2, 100]


def idx(code, dims, payload):
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(">" + "I" * len(dims), *dims) + payload


def gz(data, name):
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=buffer, mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main():
    h, w = 4, 3
    train = bytes((n * 37 + r * 11 + c * 5 + 3) % 256 for n in range(5) for r in range(h) for c in range(w))
    test = bytes((n * 53 + r * 7 + c * 13 + 250) % 256 for n in range(3) for r in range(h) for c in range(w))
    train_labels = bytes((n * 3 + 1) % 10 for n in range(5))
    test_labels = bytes(9 - n for n in range(3))
    tiny = os.path.join(HERE, "tiny")
    write(os.path.join(tiny, "train-images-idx3-ubyte.gz"), gz(idx(0x08, [5, h, w], train), "train-images-idx3-ubyte"))
    write(os.path.join(tiny, "train-labels-idx1-ubyte"), idx(0x08, [5], train_labels))
    write(os.path.join(tiny, "t10k-images.idx3-ubyte"), idx(0x08, [3, h, w], test))
    labels = idx(0x08, [3], test_labels)
    write(os.path.join(tiny, "t10k-labels.idx1-ubyte.gz"), gz(labels[:6], "a") + gz(labels[6:], "b"))

    dtypes = os.path.join(HERE, "dtypes")
    for code, fmt, name in [(0x08, "B", "ubyte"), (0x09, "b", "byte"), (0x0B, "h", "short"),
                            (0x0C, "i", "int"), (0x0D, "f", "float"), (0x0E, "d", "double")]:
        values = [v % 256 for v in VALUES] if fmt == "B" else VALUES
        write(os.path.join(dtypes, name + ".idx"), idx(code, [2, 3], struct.pack(">" + fmt * 6, *values)))


if __name__ == "__main__":
    main()
