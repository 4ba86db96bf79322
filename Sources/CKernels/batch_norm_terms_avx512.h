// BatchNormalization's per-element arithmetic in training that more than one AVX-512 kernel takes: the
// output made again from x (as ckernels_normalize_rows rounds it), what a following ReLU passes back, and
// one row's terms of the three gradient sums (batch_norm_avx512.c, pointwise_backward_avx512.c). One
// definition, so that the sums both kernels take are the same bits by construction.
#ifndef BATCH_NORM_TERMS_AVX512_H
#define BATCH_NORM_TERMS_AVX512_H

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

#define BN_TERMS __attribute__((target("avx512f"), always_inline)) static inline

/// The normalization's output (x - mean)·scaling + beta from centered = x - mean, rounded as normalize_rows.
BN_TERMS __m512 normalized(__m512 centered, __m512 scaling, __m512 beta) {
    return _mm512_add_ps(_mm512_mul_ps(centered, scaling), beta);
}

/// g where the ReLU after the normalization passes it back (its output > 0: max(v, 0) > 0 iff v > 0), else 0.
BN_TERMS __m512 passed_back(__m512 g, __m512 output) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(output, _mm512_setzero_ps(), _CMP_GT_OQ), g);
}

/// One row's terms added to the chains of Σ g, Σ g·(centered·inv_std) and Σ g·centered.
BN_TERMS void add_gradient_terms(__m512 *sum, __m512 *scaled, __m512 *centered_sum, __m512 g, __m512 centered,
                                 __m512 inv_std) {
    *sum = _mm512_add_ps(*sum, g);
    *scaled = _mm512_add_ps(*scaled, _mm512_mul_ps(g, _mm512_mul_ps(centered, inv_std)));
    *centered_sum = _mm512_add_ps(*centered_sum, _mm512_mul_ps(g, centered));
}

#endif
