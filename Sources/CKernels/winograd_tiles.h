// What the AVX2 and AVX-512 Winograd kernels share: tiles are transformed, multiplied and transformed back
// in blocks of WINOGRAD_TILE_BLOCK, and ckernels_winograd_scratch sizes one block's buffers for both.
#ifndef WINOGRAD_TILES_H
#define WINOGRAD_TILES_H

enum { WINOGRAD_TILE_BLOCK = 12 };

#endif
