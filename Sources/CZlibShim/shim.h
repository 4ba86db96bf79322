// Private shim: zlib (Debian's zlib1g-dev) for gzip-compressed IDX files; imported by Datasets only.
#include <zlib.h>
