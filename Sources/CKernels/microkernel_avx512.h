// What the 14 × 32 AVX-512 microkernels share (pointwise_avx512.c, strided_conv_avx512.c): weights packed in
// strips of 32 output channels (ckernels_pointwise_pack), and one step of 14 rows × 32 columns, each row's value
// broadcast against one row of a strip: 28 zmm accumulators, two for the strip's row. And the relu their
// epilogues round as the engine does (also pointwise_backward_avx512.c's).
#ifndef MICROKERNEL_AVX512_H
#define MICROKERNEL_AVX512_H

#include <immintrin.h>

enum { MICRO_ROWS = 14, STRIP = 32 };

/// acc[r] += a[r · step] × b[0..32) for every r < MICRO_ROWS, one FMA each (so each sum keeps its order).
__attribute__((target("avx512f"), always_inline)) static inline void microkernel_step(__m512 acc[MICRO_ROWS][2],
                                                                                      const float *a, long step,
                                                                                      const float *b) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma unroll
    for (int r = 0; r < MICRO_ROWS; r++) {
        const __m512 ab = _mm512_set1_ps(a[r * step]);
        acc[r][0] = _mm512_fmadd_ps(ab, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(ab, b1, acc[r][1]);
    }
}

/// max(v, 0) as Swift.max(v, 0) (ckernels_normalize_rows' relu): v when 0 >= v is false (NaN stays NaN, -0
/// becomes +0).
__attribute__((target("avx512f"), always_inline)) static inline __m512 relu_like_swift(__m512 v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_setzero_ps(), v, _CMP_GE_OQ), v, _mm512_setzero_ps());
}

#endif
