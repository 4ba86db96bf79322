"""Hostile inputs for the untrusted-file tests (issue #18): each file is small and breaks one rule a
reader must keep (sizes checked before allocating, inflation within the budget, JSON depth and UTF-8,
permutations in range). Written with h5py 3.14 / Python's zipfile and gzip; run from the repository root:

    /work/venv/bin/python Fixtures/hostile/generate_hostile.py
"""
import gzip
import io
import json
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import h5py

HERE = Path(__file__).parent
KERAS = HERE.parent / "keras"
INFLATED = 20_000_000  # bytes an inflation bomb expands to (far over 64 × its compressed size)


def tfkeras_weights(path, shape, chunks):
    """A tf-keras weights file whose one layer's one weight is a chunked float32 dataset of `shape`,
    declared but never written (the file stays a few KB)."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.21.0"
        group = f.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        group.create_dataset("dense/kernel:0", shape=shape, chunks=chunks, dtype="<f4")


def layer_names_bomb(path, references=3000, length=100_000):
    """`layer_names` as `references` variable-length strings all pointing at one `length`-byte heap
    object: h5py writes one object per string, then every heap ID is pointed at the first."""
    names = [b"L" * length] + [b"x%05d" % i for i in range(1, references)]
    with h5py.File(path, "w") as f:
        f.attrs.create("layer_names", names, dtype=h5py.string_dtype("ascii"))
    data = bytearray(Path(path).read_bytes())
    first = struct.pack("<I", length)
    at = data.find(first)
    while at >= 0 and struct.unpack_from("<I", data, at + 16)[0] != 6:  # the next element: 'x00001'
        at = data.find(first, at + 1)
    assert at >= 0, "heap ID of the long name not found"
    element = bytes(data[at:at + 16])
    for i in range(1, references):
        data[at + 16 * i:at + 16 * (i + 1)] = element
    Path(path).write_bytes(bytes(data))


def keras3_cycle(path):
    """Keras 3 weights whose `layers/dense` group holds two hard links back to `layers`: a walk that
    follows them never ends (and doubles at each level)."""
    with h5py.File(path, "w") as f:
        f.create_group("vars")
        f.create_group("layers/dense/vars")
        f["layers/dense/loop"] = f["layers"]
        f["layers/dense/loop2"] = f["layers"]


def safetensors(path, header, data=b""):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)


def keras_archive(path, replace, compress=zipfile.ZIP_STORED):
    """A copy of the tiny functional Keras 3 archive with entries replaced by `replace` (name → bytes)."""
    with zipfile.ZipFile(KERAS / "tiny_functional_keras3.keras") as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            content = replace.get(info.filename, source.read(info.filename))
            out.writestr(info.filename, content, compress_type=compress if info.filename in replace else info.compress_type)


def zip64_lying_sizes(path, name=b"config.json", content=b"{}", claimed=2**62):
    """A zip of one stored entry whose ZIP64 extra fields claim `claimed` bytes (the file holds 2):
    ZIPFoundation 0.9's stored-entry loop asks for chunk after empty chunk until it has read that many."""
    zip64 = struct.pack("<HHQQ", 1, 16, claimed, claimed)
    crc = zlib.crc32(content)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(zip64))
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(zip64), 0, 0, 0, 0, 0)
    body = local + name + zip64 + content
    directory = central + name + zip64
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), len(body), 0)
    Path(path).write_bytes(body + directory + end)


def tfkeras_model(path, training_config):
    shutil.copy(KERAS / "tiny_functional_ckpt.h5", path)
    with h5py.File(path, "r+") as f:
        f.attrs["training_config"] = training_config


def pth_empty_view_far_offset(path):
    """A torch.save checkpoint (its zip layout, the pickle written opcode by opcode) whose one tensor is
    empty, size (0,), at storage offset 10**6 of a 4-element storage: torch loads it (an empty view's
    offset is not checked); gathering its bytes once sliced the storage out of range."""
    def text(value):
        return b"X" + struct.pack("<I", len(value)) + value.encode()
    storage = b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text("0") + text("cpu") + b"K\x04tQ"
    pickle = (b"\x80\x02}" + text("w") + b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage
              + b"J" + struct.pack("<i", 10**6) + b"K\x00\x85K\x01\x85\x89}tRs.")
    name = path.stem
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for entry, data in [("data.pkl", pickle), ("byteorder", b"little"), ("data/0", bytes(16)), ("version", b"3\n")]:
            info = zipfile.ZipInfo(f"{name}/{entry}", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data)


def main():
    tfkeras_weights(HERE / "h5_dims_2p40.h5", (2**40, 2**40), (1, 1))
    tfkeras_weights(HERE / "h5_declared_4TB.h5", (10**6, 10**6), (1000, 1000))
    layer_names_bomb(HERE / "h5_layer_names_bomb.h5")
    keras3_cycle(HERE / "h5_keras3_group_cycle.h5")

    safetensors(HERE / "st_shape_2p32.safetensors", {"w": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}})
    safetensors(HERE / "st_f64_2p61.safetensors", {"w": {"dtype": "F64", "shape": [2**61], "data_offsets": [0, 8]}}, b"\0" * 8)
    provenance = {"w": {"layer": "dense", "weight": "kernel", "index": 0, "shape": [2, 2], "view": [2, 2, 1, 1], "axes": [0, 1, 2, 7]}}
    safetensors(
        HERE / "st_axes_out_of_range.safetensors",
        {"w": {"dtype": "F32", "shape": [2, 2, 1, 1], "data_offsets": [0, 16]},
         "__metadata__": {"format": "pt", "densenet_io.keras": json.dumps(provenance)}},
        struct.pack("<4f", 1, 2, 3, 4))

    surrogate = b'{"class_name": "\\ud800\\u0041"}'
    deep = b"[" * 200_000 + b"]" * 200_000
    keras_archive(HERE / "keras_config_surrogate.keras", {"config.json": surrogate})
    keras_archive(HERE / "keras_config_deep.keras", {"config.json": deep}, zipfile.ZIP_DEFLATED)
    tfkeras_model(HERE / "tfkeras_training_config_surrogate.h5", surrogate)
    tfkeras_model(HERE / "tfkeras_training_config_deep.h5", deep)

    zip64_lying_sizes(HERE / "keras_zip64_sizes.keras")
    zip64_lying_sizes(HERE / "keras_zip64_sizes_2p40.keras", claimed=2**40)  # below ArchiveReader's 2^62: the entry check
    pth_empty_view_far_offset(HERE / "pth_empty_view_far_offset.pth")

    spaces = b"{}" + b" " * INFLATED
    keras_archive(HERE / "keras_metadata_bomb.keras", {"metadata.json": spaces}, zipfile.ZIP_DEFLATED)
    keras_archive(HERE / "keras_config_bomb.keras", {"config.json": spaces}, zipfile.ZIP_DEFLATED)
    keras_archive(HERE / "keras_weights_bomb.keras", {"model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(INFLATED)}, zipfile.ZIP_DEFLATED)

    # An IDX image file declaring (and holding) INFLATED bytes of zeros, gzip-compressed to about 20 KB.
    count = INFLATED // 784
    Path(HERE / "idx_bomb-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">IIII", 0x803, count, 28, 28) + bytes(count * 784), mtime=0))


if __name__ == "__main__":
    main()
