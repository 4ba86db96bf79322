"""Writes h5py_written.h5, the fixture HDF5Tests read to check compatibility with h5py.

Run: /work/venv/bin/python Fixtures/hdf5/make_h5py_fixture.py
Each string attribute uses one of the forms h5py/NumPy produce; see docs/hdf5.md.
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h5py_written.h5")

with h5py.File(OUT, "w") as f:
    f.attrs["title"] = "fixture"  # str scalar: vlen UTF-8
    f.attrs["names_fixed"] = np.array([b"a", b"bc"])  # S2: fixed length 2, null-padded ASCII
    f.attrs["names_vlen_ascii"] = np.array(["x", "yz"], dtype=h5py.string_dtype("ascii"))
    f.attrs["names_vlen_utf8"] = ["αβ", "c"]  # list of str: vlen UTF-8 1-D
    f.attrs["empty_f64"] = np.array([], dtype="float64")  # Keras' weight_names of weightless layers
    f.attrs["version"] = np.int64(3)
    f.attrs["scale"] = np.array([0.5, 2.0], dtype="float32")

    dense = f.create_group("model/dense")
    dense.create_dataset("kernel:0", data=np.arange(6, dtype="float32").reshape(2, 3))
    dense.create_dataset("bias:0", data=np.array([0.25, -1.5, 3.0], dtype="float32"))
    dense.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])

    data = f.create_group("data")
    data.create_dataset("f64_scalar", data=np.float64(2.5))
    data.create_dataset("i32_rank3", data=np.arange(24, dtype="int32").reshape(2, 3, 4) - 5)
    data.create_dataset("i64", data=np.array([-(2**40), 7], dtype="int64"))
    data.create_dataset("u8", data=np.array([0, 1, 2, 255], dtype="uint8"))
    data.create_dataset("bool", data=np.array([[True, False], [False, True]]))
    data.create_dataset("f16", data=np.array([1.0, -0.5], dtype="float16"))

    ordered = f.create_group("ordered", track_order=True)
    for name in ["zeta", "alpha", "mid"]:
        ordered.create_group(name)
