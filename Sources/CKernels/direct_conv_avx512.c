// AVX-512 version of direct_conv_avx2.c's fused forward kernel for output channel counts that are
// multiples of 32 (DenseNet's growth-rate convolutions forward, and their backward-data pass with
// the kernel flipped: 128 → 32 and 32 → 128): 32 channels (two zmm) × 12 pixels per block, 24 of the
// 32 zmm registers accumulating, each weight vector loaded once per 12 pixels instead of 6. Every
// output sums its taps in the AVX2 kernel's order (ky, kx, ci) with one FMA each, and the stores add
// to y, then the bias, then max(v, 0) as bias_activate does: bit-identical to the AVX2 kernel, which
// every other case (other channel counts, unfused arithmetic) still runs.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f"), always_inline)) static inline

enum { PIXELS = 12 };

/// max(v, 0) as Swift.max(v, 0): v when 0 >= v is false (NaN stays NaN, -0 becomes +0).
AVX512 __m512 relu_like_swift(__m512 v) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_setzero_ps(), v, _CMP_GE_OQ), v, _mm512_setzero_ps());
}

/// The 32 channels from w (rows ldw apart) of `P` output pixels at padded-row positions q..q+P-1.
AVX512 void forward_pixels(const float *xp, long q, long wp, long cin, long wo, long kh, long kw, const float *w,
                           long ldw, float *y, long ldy, int accumulate, const float *bias, int relu, const int P) {
    __m512 acc[PIXELS][2];
    for (int p = 0; p < P; p++) acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    const long taps = kw * cin;
    for (long ky = 0; ky < kh; ky++) {
        const float *xr = xp + (q + ky * wp) * cin, *wr = w + ky * taps * ldw;
        for (long t = 0; t < taps; t++) {
            const __m512 w0 = _mm512_loadu_ps(wr + t * ldw), w1 = _mm512_loadu_ps(wr + t * ldw + 16);
            for (int p = 0; p < P; p++) {
                const __m512 xb = _mm512_set1_ps(xr[t + p * cin]);
                acc[p][0] = _mm512_fmadd_ps(xb, w0, acc[p][0]);
                acc[p][1] = _mm512_fmadd_ps(xb, w1, acc[p][1]);
            }
        }
    }
    long oy = q / wp, ox = q - oy * wp;
    for (int p = 0; p < P; p++, ox++) {
        if (ox == wp) { ox = 0; oy++; }
        if (ox >= wo) continue;  // the kw - 1 padded columns past each output row
        float *yo = y + (oy * wo + ox) * ldy;
        for (int v = 0; v < 2; v++) {
            __m512 out = acc[p][v];
            if (accumulate) out = _mm512_add_ps(_mm512_loadu_ps(yo + 16 * v), out);
            if (bias) out = _mm512_add_ps(out, _mm512_loadu_ps(bias + 16 * v));
            if (relu) out = relu_like_swift(out);
            _mm512_storeu_ps(yo + 16 * v, out);
        }
    }
}

__attribute__((target("avx512f")))
static void forward_chunks(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw, const float *w,
                           long cout, float *y, long ldy, int accumulate, const float *bias, int relu) {
    const long qEnd = (ho - 1) * wp + wo;
    for (long c0 = 0; c0 < cout; c0 += 32) {
        const float *b = bias ? bias + c0 : 0;
        long q = 0;
        for (; q + PIXELS <= qEnd; q += PIXELS)
            forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, PIXELS);
        for (; q < qEnd; q++) forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 1);
    }
}

void ckernels_conv_forward_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                  const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                  int relu, float *scratch, int fused) {
    if (fused && cout % 32 == 0) forward_chunks(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu);
    else ckernels_conv_forward_avx2(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu, scratch, fused);
}

#else

void ckernels_conv_forward_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                  const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                  int relu, float *scratch, int fused) { __builtin_trap(); }

#endif
