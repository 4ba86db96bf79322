// AVX-512 version of direct_conv_avx2.c's fused forward kernel for output channel counts that are
// multiples of 32 (DenseNet's growth-rate convolutions forward, and their backward-data pass with
// the kernel flipped: 128 → 32 and 32 → 128): 32 channels (two zmm) × 12 pixels per block, 24 of the
// 32 zmm registers accumulating, each weight vector loaded once per 12 pixels instead of 6. Every
// output sums its taps in the AVX2 kernel's order (ky, kx, ci) with one FMA each, and the stores add
// to y, then the bias, then max(v, 0) as bias_activate does: bit-identical to the AVX2 kernel, which
// every other case (other channel counts, unfused arithmetic) still runs.
//
// The weight-gradient kernel: 32 output channels (two zmm, the last masked) × 12 input channels per
// pass over the pixels (16 × 24 when 16 or fewer remain), three times the AVX2 kernel's 16 × 4, so the
// image and output gradient stream from L2 a third as often; an image larger than half a megabyte
// (56×56×128) is walked in bands of rows that stay in L2 (1.5× on one core). Each weight's sum still
// runs over the pixels in order from zero, then adds to dw: the AVX2 kernel's bits, fused or not.
// Below 16 output channels the AVX2 kernel runs. Thread CPU time, DenseNet-121's 3×3 layers (cin 128,
// cout 32): 56×56 3.0× and 28×28 1.9× faster (docs/performance.md).
//
// ckernels_normalize_rows_avx512: BatchNorm's normalize and ReLU 16 channels at a time, the rest
// masked, each lane as the AVX2 kernel rounds it; bound by memory: 1.0-1.2× alone, no effect measurable
// in the whole model (docs/performance.md).
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f"), always_inline)) static inline

#pragma STDC FP_CONTRACT OFF

// PIXELS: the forward kernel's block; WGRAD_ACCUMULATORS: the weight gradient's accumulator vectors
// (12 input channels × 32 output channels, or 24 × 16), 24 of the 32 zmm registers.
// WGRAD_BAND_BYTES: the weight gradient's row band, within each core's 2 MB L2 with room to spare.
enum { PIXELS = 12, WGRAD_ACCUMULATORS = 24, WGRAD_BAND_BYTES = 512 * 1024 };

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
        // the rest in blocks of 4, then 1-3 (each pixel's chains are its own: no bits change); one pixel at
        // a time ran a quarter of the FMA pipes, and a 7×7 image's bands leave up to 11 positions
        for (; q + 4 <= qEnd; q += 4)
            forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 4);
        switch (qEnd - q) {
        case 3: forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 3); break;
        case 2: forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 2); break;
        case 1: forward_pixels(xp, q, wp, cin, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 1); break;
        }
    }
}

void ckernels_conv_forward_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                  const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                  int relu, float *scratch, int fused) {
    if (fused && cout % 32 == 0) forward_chunks(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu);
    else ckernels_conv_forward_avx2(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu, scratch, fused);
}

/// a + x·g: the rounded product then the rounded sum, or one rounding (FMA) when `fused`.
AVX512 __m512 multiply_add(__m512 a, __m512 x, __m512 g, const int fused) {
    return fused ? _mm512_fmadd_ps(x, g, a) : _mm512_add_ps(a, _mm512_mul_ps(x, g));
}

/// The sums over output rows [oy0, oy1) of x[pixel + tap, ci..ci+CB-1] · dy[pixel, NV vectors of channels],
/// each resumed from `from` (from zero when null) and stored to `to` (added to it when `add`); rows of both ldd
/// apart. The last vector's lanes outside `last` are 0, never stored.
AVX512 void weight_grad_block(const float *x0, long wp, long cin, long oy0, long oy1, long wo, const float *dy,
                              long ldy, const float *from, float *to, int add, long ldd, const int NV,
                              __mmask16 last, const int CB, const int fused) {
    __m512 acc[WGRAD_ACCUMULATORS][2];
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++)
            acc[c][v] = from ? _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, from + c * ldd + 16 * v)
                             : _mm512_setzero_ps();
    for (long oy = oy0; oy < oy1; oy++) {
        const float *xr = x0 + oy * wp * cin, *dr = dy + oy * wo * ldy;
        for (long ox = 0; ox < wo; ox++) {
            __m512 g[2];
            for (int v = 0; v < NV; v++)
                g[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, dr + ox * ldy + 16 * v) : _mm512_loadu_ps(dr + ox * ldy + 16 * v);
            const float *x = xr + ox * cin;
#pragma clang loop unroll(full)
            for (int c = 0; c < CB; c++) {
                const __m512 xb = _mm512_set1_ps(x[c]);
#pragma clang loop unroll(full)
                for (int v = 0; v < NV; v++) acc[c][v] = multiply_add(acc[c][v], xb, g[v], fused);
            }
        }
    }
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++) {
            const __mmask16 lanes = v == NV - 1 ? last : 0xFFFF;
            float *p = to + c * ldd + 16 * v;
            __m512 out = acc[c][v];
            if (add) out = _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, p), out);
            _mm512_mask_storeu_ps(p, lanes, out);
        }
}

/// Every tap's weight gradient for NV vectors of output channels (at dy, dw and partials, rows cout apart),
/// `band` output rows at a time: each band's rows stream from L2 once per (tap, channel block) instead of the
/// whole image's. Between bands each sum waits in dw (when first) or partials, unrounded further: the same
/// chain over the pixels in order, so the same bits as one pass.
AVX512 void weight_grad_chunk(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                              const float *dy, long cout, float *dw, float *partials, int first, long band,
                              const int NV, __mmask16 last, const int fused) {
    const int CB = WGRAD_ACCUMULATORS / NV;
    float *running = first ? dw : partials;
    for (long oy0 = 0; oy0 < ho; oy0 += band) {
        const long oy1 = oy0 + band < ho ? oy0 + band : ho;
        const int resumes = oy0 > 0, ends = oy1 == ho;
        for (long tap = 0; tap < kh * kw; tap++) {
            const float *x0 = xp + ((tap / kw) * wp + tap % kw) * cin;
            long ci = 0;
#define WGRAD_BLOCK(cb)                                                                                              \
    do {                                                                                                             \
        const long at = (tap * cin + ci) * cout;                                                                      \
        weight_grad_block(x0 + ci, wp, cin, oy0, oy1, wo, dy, cout, resumes ? running + at : 0,                       \
                          ends ? dw + at : running + at, ends && !first, cout, NV, last, cb, fused);                  \
        ci += cb;                                                                                                    \
    } while (0)
            while (ci + CB <= cin) WGRAD_BLOCK(CB);
            if (ci + 8 <= cin && CB > 8) WGRAD_BLOCK(8);
            while (ci + 4 <= cin) WGRAD_BLOCK(4);
            while (ci < cin) WGRAD_BLOCK(1);
#undef WGRAD_BLOCK
        }
    }
}

/// Output rows per band: as many as keep a band's padded input rows and output gradient rows within
/// WGRAD_BAND_BYTES (at least one).
static long weight_grad_band(long wp, long cin, long kh, long wo, long cout) {
    const long row = (wp * cin + wo * cout) * (long)sizeof(float), rows = WGRAD_BAND_BYTES / row - (kh - 1);
    return rows > 1 ? rows : 1;
}

AVX512 void weight_grad_all(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                            const float *dy, long cout, float *dw, float *partials, int first, const int fused) {
    const long band = weight_grad_band(wp, cin, kh, wo, cout);
    long c0 = 0;
    for (; cout - c0 >= 32; c0 += 32)
        weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, partials + c0, first, band, 2, 0xFFFF, fused);
    const long rest = cout - c0;
    if (rest > 16)
        weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, partials + c0, first, band, 2,
                          (__mmask16)((1u << (rest - 16)) - 1), fused);
    else if (rest > 0)
        weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, partials + c0, first, band, 1,
                          (__mmask16)((1u << rest) - 1), fused);
}

__attribute__((target("avx512f")))
void ckernels_conv_weight_grad_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                      const float *dy, long cout, float *dw, float *partials, int first, int fused) {
    // two instances, each with its arithmetic fixed at compile time (a runtime `fused` left a branch
    // beside every FMA: 28×28 ran at 62 GFLOP/s instead of 79); below 16 channels a zmm vector is
    // half empty, and the AVX2 kernel's 8-lane vectors are as fast or faster
    if (cout < 16) ckernels_conv_weight_grad_avx2(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, first, fused);
    else if (fused) weight_grad_all(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, partials, first, 1);
    else weight_grad_all(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, partials, first, 0);
}

__attribute__((target("avx512f")))
void ckernels_normalize_rows_avx512(const float *x, long xs, float *y, long ys, long rows, long c,
                                    const float *mean, const float *scaling, const float *beta, int relu) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * xs;
        float *yr = y + r * ys;
        for (long j = 0; j < c; j += 16) {
            // every lane as ckernels_normalize_rows computes it; the last 1-15 channels masked
            const __mmask16 lanes = c - j >= 16 ? 0xFFFF : (__mmask16)((1u << (c - j)) - 1);
            const __m512 centered = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, xr + j), _mm512_maskz_loadu_ps(lanes, mean + j));
            __m512 v = _mm512_add_ps(_mm512_mul_ps(centered, _mm512_maskz_loadu_ps(lanes, scaling + j)),
                                     _mm512_maskz_loadu_ps(lanes, beta + j));
            if (relu) v = relu_like_swift(v);
            _mm512_mask_storeu_ps(yr + j, lanes, v);
        }
    }
}

#else

void ckernels_normalize_rows_avx512(const float *x, long xs, float *y, long ys, long rows, long c,
                                    const float *mean, const float *scaling, const float *beta, int relu) { __builtin_trap(); }

void ckernels_conv_weight_grad_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                      const float *dy, long cout, float *dw, float *partials, int first, int fused) { __builtin_trap(); }

void ckernels_conv_forward_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                  const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                  int relu, float *scratch, int fused) { __builtin_trap(); }

#endif
