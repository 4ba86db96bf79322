// Private shim over libhdf5 (Debian's libhdf5-dev, serial 1.10). Not API: imported by HDF5 only.
// Swift cannot import HDF5's function-like macros (H5T_NATIVE_*, H5P_DEFAULT), so each is one
// static inline function here.
#include <hdf5.h>
