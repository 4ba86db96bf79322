// AVX2 versions of DenseNetEngine's direct stride-1 convolution kernels (DirectConv.swift describes
// the padded-row-space layout; its Swift SIMD versions are the portable fallback). Compiled for
// baseline x86-64 like the rest of the package: only these functions carry the target attribute,
// and DirectConv calls them only after ckernels_has_avx2_fma() said yes.
//
// Output channels are processed in chunks of 16 (two ymm vectors), 8 (one) and 1-7 (one ymm with
// masked loads and stores: its unused lanes are zero and never stored), so any channel counts work.
// In the forward kernel, given scratch, the last 8 or fewer channels run with vectors over output
// pixels instead (narrow_pixels), on a channel-planar copy of the padded image.
// Every output sums its taps in the fixed order (ky, kx, ci). Unfused, each product is rounded and
// then added: the Swift kernels' arithmetic exactly, so the tests compare both bit for bit. The engine
// runs the `fused` variants, which add each product unrounded with FMA (one rounding instead of two,
// as TensorFlow's oneDNN kernels do): that halves the instructions of the inner loops, which the
// separate multiply and add make front-end bound (training 1 301 → 1 460 samples/s).
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

int ckernels_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/// acc + x·w: rounded product then rounded sum, or one rounding (FMA) when `fused`.
AVX2 __m256 multiply_add(__m256 acc, __m256 x, __m256 w, const int fused) {
    return fused ? _mm256_fmadd_ps(x, w, acc) : _mm256_add_ps(acc, _mm256_mul_ps(x, w));
}

/// Lanes 0..<n of a mask vector set.
AVX2 __m256i lane_mask(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// `masked`: only the lanes of `mask` are read (the others are 0) or written.
AVX2 __m256 load_lanes(const float *p, int masked, __m256i mask) {
    return masked ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p);
}

AVX2 void store_lanes(float *p, __m256 v, int masked, __m256i mask, int accumulate) {
    if (accumulate) v = _mm256_add_ps(load_lanes(p, masked, mask), v);
    if (masked) _mm256_maskstore_ps(p, mask, v); else _mm256_storeu_ps(p, v);
}

/// max(v, 0) as Swift.max(v, 0): v when 0 >= v is false, so NaN stays NaN and -0 becomes +0.
AVX2 __m256 relu_like_swift(__m256 v) {
    const __m256 zero = _mm256_setzero_ps();
    return _mm256_blendv_ps(v, zero, _mm256_cmp_ps(zero, v, _CMP_GE_OQ));
}

/// max(v, 0) as Swift.max(v, 0), 4 lanes.
AVX2 __m128 relu_like_swift4(__m128 v) {
    const __m128 zero = _mm_setzero_ps();
    return _mm_blendv_ps(v, zero, _mm_cmp_ps(zero, v, _CMP_GE_OQ));
}

/// The same, one float.
AVX2 float relu_like_swift1(float v) { return 0 >= v ? 0 : v; }

/// y[i, c] = y[i, c] + bias[c] (if bias), then relu_like_swift (if relu), rows ldy floats apart.
/// Conv.swift's biasActivate, vectorised; a pass of its own, as keeping bias vectors live beside
/// the accumulators spills them. 8, 4, then 1 lanes at a time: masked stores are slow on AMD.
AVX2 void bias_activate(float *y, long ldy, long pixels, long cout, const float *bias, int relu) {
    for (long i = 0; i < pixels; i++) {
        float *yi = y + i * ldy;
        long c = 0;
        for (; c + 8 <= cout; c += 8) {
            __m256 v = _mm256_loadu_ps(yi + c);
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + c));
            if (relu) v = relu_like_swift(v);
            _mm256_storeu_ps(yi + c, v);
        }
        for (; c + 4 <= cout; c += 4) {
            __m128 v = _mm_loadu_ps(yi + c);
            if (bias) v = _mm_add_ps(v, _mm_loadu_ps(bias + c));
            if (relu) v = relu_like_swift4(v);
            _mm_storeu_ps(yi + c, v);
        }
        for (; c < cout; c++) {
            float v = yi[c];
            if (bias) v = v + bias[c];
            if (relu) v = relu_like_swift1(v);
            yi[c] = v;
        }
    }
}

/// P output pixels at padded-row positions q..q+P-1, NV vectors of output channels.
AVX2 void forward_pixels(const float *xp, long q, long wp, long cin, long wo, long kh, long kw,
                         const float *w, long ldw, float *y, long ldy, int accumulate,
                         const int NV, const int masked, __m256i mask, const int P, const int fused) {
    __m256 acc[8][2];
    for (int p = 0; p < P; p++)
        for (int v = 0; v < NV; v++) acc[p][v] = _mm256_setzero_ps();
    const long taps = kw * cin;
    for (long ky = 0; ky < kh; ky++) {
        const float *xr = xp + (q + ky * wp) * cin, *wr = w + ky * taps * ldw;
        for (long t = 0; t < taps; t++) {
            __m256 wv[2];
            for (int v = 0; v < NV; v++) wv[v] = load_lanes(wr + t * ldw + 8 * v, masked && v == NV - 1, mask);
            for (int p = 0; p < P; p++) {
                const __m256 xb = _mm256_broadcast_ss(xr + t + p * cin);
                for (int v = 0; v < NV; v++) acc[p][v] = multiply_add(acc[p][v], xb, wv[v], fused);
            }
        }
    }
    long oy = q / wp, ox = q - oy * wp;  // one division per block, not per pixel
    for (int p = 0; p < P; p++, ox++) {
        if (ox == wp) { ox = 0; oy++; }
        if (ox >= wo) continue;  // the kw - 1 padded columns past each output row
        float *yo = y + (oy * wo + ox) * ldy;
        for (int v = 0; v < NV; v++) store_lanes(yo + 8 * v, acc[p][v], masked && v == NV - 1, mask, accumulate);
    }
}

AVX2 void forward_chunk(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                        const float *w, long ldw, float *y, long ldy, int accumulate,
                        const int NV, const int masked, __m256i mask, const int P, const int fused) {
    const long qEnd = (ho - 1) * wp + wo;
    long q = 0;
    for (; q + P <= qEnd; q += P) forward_pixels(xp, q, wp, cin, wo, kh, kw, w, ldw, y, ldy, accumulate, NV, masked, mask, P, fused);
    for (; q < qEnd; q++) forward_pixels(xp, q, wp, cin, wo, kh, kw, w, ldw, y, ldy, accumulate, NV, masked, mask, 1, fused);
}

/// NC (1-4) output channels of the 16 output pixels at padded-row positions q..q+15 (those before
/// qEnd are stored), vectors over the pixels: xt is the padded image channel-planar, channel ci's
/// plane at xt + ci * ps. Same products and the same tap order (ky, kx, ci) as forward_pixels.
AVX2 void narrow_pixels(const float *xt, long ps, long q, long qEnd, long wp, long cin, long wo, long kh, long kw,
                        const float *w, long ldw, float *y, long ldy, int accumulate, const float *bias, int relu,
                        const int NC, const int fused) {
    __m256 acc[4][2];
    for (int c = 0; c < NC; c++) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
    for (long ky = 0; ky < kh; ky++)
        for (long kx = 0; kx < kw; kx++) {
            const float *xr = xt + q + ky * wp + kx, *wr = w + (ky * kw + kx) * cin * ldw;
            for (long ci = 0; ci < cin; ci++) {
                const __m256 x0 = _mm256_loadu_ps(xr + ci * ps), x1 = _mm256_loadu_ps(xr + ci * ps + 8);
                for (int c = 0; c < NC; c++) {
                    const __m256 wb = _mm256_broadcast_ss(wr + ci * ldw + c);
                    acc[c][0] = multiply_add(acc[c][0], x0, wb, fused);
                    acc[c][1] = multiply_add(acc[c][1], x1, wb, fused);
                }
            }
        }
    float out[4][16];
    __m128 pixel[16];
    if (NC == 4) {
        // transposed in registers: pixel[p] = its 4 channels, one 16-byte store each
        for (int h = 0; h < 2; h++) {
            const __m256 t0 = _mm256_unpacklo_ps(acc[0][h], acc[1][h]), t1 = _mm256_unpacklo_ps(acc[2][h], acc[3][h]);
            const __m256 t2 = _mm256_unpackhi_ps(acc[0][h], acc[1][h]), t3 = _mm256_unpackhi_ps(acc[2][h], acc[3][h]);
            const __m256 u[4] = {_mm256_shuffle_ps(t0, t1, 0x44), _mm256_shuffle_ps(t0, t1, 0xEE),
                                 _mm256_shuffle_ps(t2, t3, 0x44), _mm256_shuffle_ps(t2, t3, 0xEE)};
            for (int k = 0; k < 4; k++) {
                pixel[8 * h + k] = _mm256_castps256_ps128(u[k]);
                pixel[8 * h + k + 4] = _mm256_extractf128_ps(u[k], 1);
            }
        }
    } else {
        for (int c = 0; c < NC; c++) { _mm256_storeu_ps(out[c], acc[c][0]); _mm256_storeu_ps(out[c] + 8, acc[c][1]); }
    }
    long oy = q / wp, ox = q - oy * wp;
    for (int p = 0; p < 16 && q + p < qEnd; p++, ox++) {
        if (ox == wp) { ox = 0; oy++; }
        if (ox >= wo) continue;  // the kw - 1 padded columns past each output row
        float *yo = y + (oy * wo + ox) * ldy;
        // then bias_activate's arithmetic, here while the results are in registers
        if (NC == 4) {
            __m128 v = accumulate ? _mm_add_ps(_mm_loadu_ps(yo), pixel[p]) : pixel[p];
            if (bias) v = _mm_add_ps(v, _mm_loadu_ps(bias));
            if (relu) v = relu_like_swift4(v);
            _mm_storeu_ps(yo, v);
            continue;
        }
        for (int c = 0; c < NC; c++) {
            float v = accumulate ? yo[c] + out[c][p] : out[c][p];
            if (bias) v = v + bias[c];
            yo[c] = relu ? relu_like_swift1(v) : v;
        }
    }
}

AVX2 void narrow_chunk(const float *xt, long ps, long wp, long cin, long ho, long wo, long kh, long kw,
                       const float *w, long ldw, float *y, long ldy, int accumulate, const float *bias, int relu,
                       const int NC, const int fused) {
    const long qEnd = (ho - 1) * wp + wo;
    for (long q = 0; q < qEnd; q += 16)
        narrow_pixels(xt, ps, q, qEnd, wp, cin, wo, kh, kw, w, ldw, y, ldy, accumulate, bias, relu, NC, fused);
}

/// planes[ci * ps + i] = xp[i * cin + ci] for the n pixels of the padded image, then 16 zeros per
/// plane: the last 16-pixel block reads up to 15 floats past the image.
AVX2 void to_planes(const float *xp, long n, long cin, float *planes, long ps) {
    long i = 0;
    if (cin % 4 == 0)
        // 8 pixels x 4 channels at a time, transposed in registers: lane h of row k holds pixel
        // 4h + k, and the in-lane 4x4 transposes leave channel c's 8 pixels in one vector
        for (; i + 8 <= n; i += 8)
            for (long c0 = 0; c0 < cin; c0 += 4) {
                const float *x = xp + i * cin + c0;
                __m256 r[4];
                for (int k = 0; k < 4; k++)
                    r[k] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(x + k * cin)), _mm_loadu_ps(x + (k + 4) * cin), 1);
                const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
                const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
                float *d = planes + c0 * ps + i;
                _mm256_storeu_ps(d, _mm256_shuffle_ps(t0, t2, 0x44));
                _mm256_storeu_ps(d + ps, _mm256_shuffle_ps(t0, t2, 0xEE));
                _mm256_storeu_ps(d + 2 * ps, _mm256_shuffle_ps(t1, t3, 0x44));
                _mm256_storeu_ps(d + 3 * ps, _mm256_shuffle_ps(t1, t3, 0xEE));
            }
    for (; i < n; i++)
        for (long ci = 0; ci < cin; ci++) planes[ci * ps + i] = xp[i * cin + ci];
    for (long ci = 0; ci < cin; ci++) {
        _mm256_storeu_ps(planes + ci * ps + n, _mm256_setzero_ps());
        _mm256_storeu_ps(planes + ci * ps + n + 8, _mm256_setzero_ps());
    }
}

/// The convolution, then bias_activate: over the channel-vector chunks afterwards, in the stores
/// of the pixel-vector ones.
AVX2 void forward_all(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                      const float *w, long cout, float *y, long ldy, int accumulate, const float *bias, int relu,
                      float *scratch, const int fused) {
    const __m256i all = lane_mask(8);
    // The last 8 or fewer channels: one channel vector takes a broadcast per product, so vectors
    // over pixels (4 channels at a time) are 1.5-3x faster -- except with one input channel, where
    // 9 taps do not pay for the planar copy and the blocks' stores (2x slower, measured).
    const int narrow = scratch && cin > 1;
    long c0 = 0;
    // 16 channels x 6 pixels: 12 accumulators (+ weights and a broadcast) of the 16 ymm registers;
    // 8 channels x 8 pixels (with 12 pixels the compiler spilled accumulators: 1.5x slower)
    for (; cout - c0 >= 16; c0 += 16) forward_chunk(xp, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, 2, 0, all, 6, fused);
    if (cout - c0 > 8 || (cout - c0 == 8 && !narrow)) {
        forward_chunk(xp, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, 1, 0, all, 8, fused);
        c0 += 8;
    }
    if (cout > c0 && !narrow) {
        forward_chunk(xp, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, 1, 1, lane_mask(cout - c0), 8, fused);
        c0 = cout;
    }
    if (bias || relu) bias_activate(y, ldy, ho * wo, c0, bias, relu);
    if (cout == c0) return;
    const long n = (ho + kh - 1) * wp, ps = n + 16;
    const float *b = bias ? bias + c0 : 0;
    to_planes(xp, n, cin, scratch, ps);
    for (; cout - c0 >= 4; c0 += 4, b = b ? b + 4 : 0)
        narrow_chunk(scratch, ps, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 4, fused);
    switch (cout - c0) {
    case 1: narrow_chunk(scratch, ps, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 1, fused); break;
    case 2: narrow_chunk(scratch, ps, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 2, fused); break;
    case 3: narrow_chunk(scratch, ps, wp, cin, ho, wo, kh, kw, w + c0, cout, y + c0, ldy, accumulate, b, relu, 3, fused); break;
    }
}

__attribute__((target("avx2,fma")))
void ckernels_conv_forward_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                int relu, float *scratch, int fused) {
    // two instances, each with its arithmetic fixed at compile time
    if (fused) forward_all(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu, scratch, 1);
    else forward_all(xp, wp, cin, ho, wo, kh, kw, w, cout, y, ldy, accumulate, bias, relu, scratch, 0);
}

__attribute__((target("avx2,fma")))
void ckernels_normalize_rows(const float *x, long xs, float *y, long ys, long rows, long c,
                             const float *mean, const float *scaling, const float *beta, int relu) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * xs;
        float *yr = y + r * ys;
        long j = 0;
        for (; j + 8 <= c; j += 8) {
            const __m256 centered = _mm256_sub_ps(_mm256_loadu_ps(xr + j), _mm256_loadu_ps(mean + j));
            __m256 v = _mm256_add_ps(_mm256_mul_ps(centered, _mm256_loadu_ps(scaling + j)), _mm256_loadu_ps(beta + j));
            if (relu) v = relu_like_swift(v);
            _mm256_storeu_ps(yr + j, v);
        }
        for (; j + 4 <= c; j += 4) {
            const __m128 centered = _mm_sub_ps(_mm_loadu_ps(xr + j), _mm_loadu_ps(mean + j));
            __m128 v = _mm_add_ps(_mm_mul_ps(centered, _mm_loadu_ps(scaling + j)), _mm_loadu_ps(beta + j));
            if (relu) v = relu_like_swift4(v);
            _mm_storeu_ps(yr + j, v);
        }
        for (; j < c; j++) {
            const float v = (xr[j] - mean[j]) * scaling[j] + beta[j];
            yr[j] = relu ? relu_like_swift1(v) : v;
        }
    }
}

__attribute__((target("avx2,fma")))
void ckernels_max_pool_2x2(const float *x, long w, long c, long ho, long wo, float *y, int32_t *argmax) {
    for (long oy = 0; oy < ho; oy++)
        for (long ox = 0; ox < wo; ox++) {
            const long first = 2 * oy * w + 2 * ox, o = (oy * wo + ox) * c;
            const long rest[3] = {first + 1, first + w, first + w + 1};
            for (long c0 = 0; c0 < c; c0 += 8) {
                __m256 m = _mm256_loadu_ps(x + first * c + c0);
                __m256i a = _mm256_set1_epi32((int)first);
                for (int t = 0; t < 3; t++) {
                    const __m256 v = _mm256_loadu_ps(x + rest[t] * c + c0);
                    const __m256 greater = _mm256_cmp_ps(v, m, _CMP_GT_OQ);
                    m = _mm256_blendv_ps(m, v, greater);
                    a = _mm256_blendv_epi8(a, _mm256_set1_epi32((int)rest[t]), _mm256_castps_si256(greater));
                }
                _mm256_storeu_ps(y + o + c0, m);
                _mm256_storeu_si256((__m256i *)(argmax + o + c0), a);
            }
        }
}

/// dw[tap, ci..ci+CB-1, chunk] (= or +=) sum over output pixels of x[pixel + tap, ci] * dy[pixel, chunk].
AVX2 void weight_grad_block(const float *x0, long wp, long cin, long ho, long wo, const float *dy, long ldy,
                            float *d, long ldd, int first, const int NV, const int masked, __m256i mask, const int CB,
                            const int fused) {
    __m256 acc[8][2];
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++) acc[c][v] = _mm256_setzero_ps();
    for (long oy = 0; oy < ho; oy++) {
        const float *xr = x0 + oy * wp * cin, *dr = dy + oy * wo * ldy;
        for (long ox = 0; ox < wo; ox++) {
            __m256 g[2];
            for (int v = 0; v < NV; v++) g[v] = load_lanes(dr + ox * ldy + 8 * v, masked && v == NV - 1, mask);
            const float *x = xr + ox * cin;
            for (int c = 0; c < CB; c++) {
                const __m256 xb = _mm256_broadcast_ss(x + c);
                for (int v = 0; v < NV; v++) acc[c][v] = multiply_add(acc[c][v], xb, g[v], fused);
            }
        }
    }
    for (int c = 0; c < CB; c++)
        for (int v = 0; v < NV; v++) store_lanes(d + c * ldd + 8 * v, acc[c][v], masked && v == NV - 1, mask, !first);
}

AVX2 void weight_grad_chunk(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                            const float *dy, long cout, float *dw, int first, const int NV, const int masked, __m256i mask, const int CB,
                            const int fused) {
    for (long tap = 0; tap < kh * kw; tap++) {
        const float *x0 = xp + ((tap / kw) * wp + tap % kw) * cin;
        float *d = dw + tap * cin * cout;
        long ci = 0;
        // 8 independent accumulator chains cover the add latency; narrower tails for odd cin
        for (; ci + CB <= cin; ci += CB) weight_grad_block(x0 + ci, wp, cin, ho, wo, dy, cout, d + ci * cout, cout, first, NV, masked, mask, CB, fused);
        for (; ci + 4 <= cin; ci += 4) weight_grad_block(x0 + ci, wp, cin, ho, wo, dy, cout, d + ci * cout, cout, first, NV, masked, mask, 4, fused);
        for (; ci < cin; ci++) weight_grad_block(x0 + ci, wp, cin, ho, wo, dy, cout, d + ci * cout, cout, first, NV, masked, mask, 1, fused);
    }
}

AVX2 void weight_grad_all(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                          const float *dy, long cout, float *dw, int first, const int fused) {
    const __m256i all = lane_mask(8);
    long c0 = 0;
    for (; cout - c0 >= 16; c0 += 16) weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, first, 2, 0, all, 4, fused);
    if (cout - c0 >= 8) { weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, first, 1, 0, all, 8, fused); c0 += 8; }
    if (cout > c0) weight_grad_chunk(xp, wp, cin, ho, wo, kh, kw, dy + c0, cout, dw + c0, first, 1, 1, lane_mask(cout - c0), 8, fused);
}

__attribute__((target("avx2,fma")))
void ckernels_conv_weight_grad_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                    const float *dy, long cout, float *dw, int first, int fused) {
    if (fused) weight_grad_all(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, first, 1);
    else weight_grad_all(xp, wp, cin, ho, wo, kh, kw, dy, cout, dw, first, 0);
}

#else

int ckernels_has_avx2_fma(void) { return 0; }

void ckernels_conv_forward_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                int relu, float *scratch, int fused) { __builtin_trap(); }

void ckernels_normalize_rows(const float *x, long xs, float *y, long ys, long rows, long c,
                             const float *mean, const float *scaling, const float *beta, int relu) { __builtin_trap(); }

void ckernels_max_pool_2x2(const float *x, long w, long c, long ho, long wo, float *y, int32_t *argmax) { __builtin_trap(); }

void ckernels_conv_weight_grad_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                    const float *dy, long cout, float *dw, int first, int fused) { __builtin_trap(); }

#endif
