// A strided convolution over few input channels in inference (AVX-512): DenseNet's stem, 7×7 at stride 2
// over 3 channels, ran as im2col (147 floats per output pixel, written and read again) + OpenBLAS at about a
// quarter of the machine's peak. Here the padded image is read in place: for an output row and a block of
// 14 output pixels, each kernel row's taps (kx, ci) are one contiguous run of the padded input row, pixel
// p's tap i at run[p * stride * cin + i]. The 14 × 32 microkernel (microkernel_avx512.h) broadcasts those and
// multiplies them by the weights, packed in strips of 32 output channels [cout / 32][tap][32] by
// ckernels_pointwise_pack; each output sums its taps in order (ky, kx, ci) from zero, one FMA each. The stem's shape (stride·cin = 6) is
// compiled with that step as a constant, so the 14 broadcasts are fixed displacements from one pointer.
#include "CKernels.h"

#if defined(__x86_64__)
#include "microkernel_avx512.h"

#define AVX512 __attribute__((target("avx512f"), always_inline)) static inline

#pragma STDC FP_CONTRACT OFF

/// Pixels [0, valid) of one block × one strip: `row0` is the block's first input pixel in the first kernel
/// row; kernel rows are `xrow` floats apart, a pixel's run `step` floats after the previous one's.
AVX512 void micro_block(const float *row0, long xrow, long step, long kh, long run, const float *strip, long valid,
                        float *y, long cout) {
    __m512 acc[MICRO_ROWS][2];
#pragma unroll
    for (int p = 0; p < MICRO_ROWS; p++) acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    for (long ky = 0; ky < kh; ky++) {
        const float *a = row0 + ky * xrow;
        const float *b = strip + ky * run * STRIP;
        for (long i = 0; i < run; i++) microkernel_step(acc, a + i, step, b + i * STRIP);
    }
#pragma unroll
    for (int p = 0; p < MICRO_ROWS; p++) {
        if (p >= valid) break;
        _mm512_storeu_ps(y + p * cout, acc[p][0]);
        _mm512_storeu_ps(y + p * cout + 16, acc[p][1]);
    }
}

AVX512 void output_rows(const float *xp, long wp, long cin, long kh, long kw, long stride, const float *packed,
                        long cout, long rows, long wo, float *y, long step) {
    const long run = kw * cin, taps = kh * run, xrow = wp * cin;
    for (long oy = 0; oy < rows; oy++)
        for (long ox = 0; ox < wo; ox += MICRO_ROWS)
            for (long s = 0; s < cout / STRIP; s++)
                micro_block(xp + (oy * stride * wp + ox * stride) * cin, xrow, step, kh, run, packed + s * taps * STRIP,
                            wo - ox, y + (oy * wo + ox) * cout + s * STRIP, cout);
}

__attribute__((target("avx512f")))
void ckernels_strided_conv_avx512(const float *xp, long wp, long cin, long kh, long kw, long stride,
                                  const float *packed, long cout, long rows, long wo, float *y) {
    if (stride * cin == 6) output_rows(xp, wp, cin, kh, kw, stride, packed, cout, rows, wo, y, 6);
    else output_rows(xp, wp, cin, kh, kw, stride, packed, cout, rows, wo, y, stride * cin);
}

__attribute__((target("avx512f")))
void ckernels_max_pool_avx512(const float *x, long h, long w, long c, long pool, long stride, long pad,
                              long first_row, long end_row, long wo, float *y) {
    for (long oy = first_row; oy < end_row; oy++)
        for (long ox = 0; ox < wo; ox++) {
            const long y0 = oy * stride - pad, x0 = ox * stride - pad;
            float *out = y + (oy * wo + ox) * c;
            for (long j = 0; j < c; j += 16) {
                __m512 m = _mm512_setzero_ps();
                for (long iy = y0 < 0 ? 0 : y0; iy < y0 + pool && iy < h; iy++)
                    for (long ix = x0 < 0 ? 0 : x0; ix < x0 + pool && ix < w; ix++)
                        m = _mm512_max_ps(m, _mm512_loadu_ps(x + (iy * w + ix) * c + j));
                _mm512_storeu_ps(out + j, m);
            }
        }
}

#else

void ckernels_strided_conv_avx512(const float *xp, long wp, long cin, long kh, long kw, long stride,
                                  const float *packed, long cout, long rows, long wo, float *y) { __builtin_trap(); }

void ckernels_max_pool_avx512(const float *x, long h, long w, long c, long pool, long stride, long pad,
                              long first_row, long end_row, long wo, float *y) { __builtin_trap(); }

#endif
