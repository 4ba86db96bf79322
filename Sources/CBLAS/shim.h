// Private shim: exposes OpenBLAS' CBLAS interface (Debian's libopenblas-dev) to DenseNetEngine only.
#include <cblas.h>
