// Small C kernels for DenseNetEngine: what Swift cannot express (CPU approximation instructions,
// AVX2 code in a package built for baseline x86-64).
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// 1/sqrt(x) exactly as TensorFlow's CPU kernels compute it (Eigen's packet rsqrt): the CPU's
/// rsqrt estimate refined by one Newton-Raphson step, every operation rounded separately.
/// Without an estimate instruction (not x86-64), the correctly rounded 1/sqrt(x).
float ckernels_tensorflow_rsqrt(float x);

/// A spin-wait hint (x86 `pause`): a polling thread leaves the core's other hyperthread its share.
static inline void ckernels_spin_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

/// 1 when the CPU (and OS) run AVX2 and FMA instructions, else 0 (always 0 off x86-64).
int ckernels_has_avx2_fma(void);

/// 1 when the CPU (and OS) run AVX-512 Foundation instructions, else 0 (always 0 off x86-64).
int ckernels_has_avx512f(void);

/// 1 when the CPU (and OS) run Skylake-SP's AVX-512 subsets (F, CD, BW, DQ, VL), which OpenBLAS'
/// SkylakeX kernels use, else 0.
int ckernels_has_avx512_skylake(void);

/// DirectConv.forwardImage with AVX2, bit-identical to it unless `fused`: y[ho, wo, cout] (=, or += if accumulate;
/// pixels ldy floats apart) conv of the padded image xp[ho+kh-1, wp, cin] with w[kh, kw, cin, cout], then
/// + bias[cout] (if not NULL) and max(y, 0) (if relu); any channel counts. `scratch`, when not NULL, holds
/// ckernels_conv_forward_scratch floats: it lets the last 1-8 output channels run with vectors over pixels.
/// `fused`: each product added unrounded (FMA). Only after ckernels_has_avx2_fma() returned 1.
void ckernels_conv_forward_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                int relu, float *scratch, int fused);

/// ckernels_conv_forward_avx2 with AVX-512 where cout is a multiple of 32 and `fused` (direct_conv_avx512.c),
/// bit-identical to it; every other case runs ckernels_conv_forward_avx2. Only after ckernels_has_avx512f() and
/// ckernels_has_avx2_fma() returned 1.
void ckernels_conv_forward_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                  const float *w, long cout, float *y, long ldy, int accumulate, const float *bias,
                                  int relu, float *scratch, int fused);

/// BatchNormArithmetic.normalizeRows with AVX2, bit-identical to it: y[r, j] = (x[r, j] - mean[j]) * scaling[j]
/// + beta[j], each operation rounded, then max(y, 0) as Swift.max (if relu); rows xs and ys floats apart.
/// Only after ckernels_has_avx2_fma() returned 1.
void ckernels_normalize_rows(const float *x, long xs, float *y, long ys, long rows, long c,
                             const float *mean, const float *scaling, const float *beta, int relu);

/// ckernels_normalize_rows with AVX-512 (direct_conv_avx512.c), bit-identical to it. Only after
/// ckernels_has_avx512f() returned 1.
void ckernels_normalize_rows_avx512(const float *x, long xs, float *y, long ys, long rows, long c,
                                    const float *mean, const float *scaling, const float *beta, int relu);

/// Floats of ckernels_conv_forward_avx2's scratch for a padded image of hp rows of wp pixels.
static inline long ckernels_conv_forward_scratch(long hp, long wp, long cin) { return cin * (hp * wp + 16); }

/// DirectConv.weightGradImage with AVX2, bit-identical to it unless `fused`: dw[kh, kw, cin, cout] (= if first,
/// else +=) sum over output pixels of xp[oy+ky, ox+kx, ci] * dy[oy, ox, co]; any channel counts. `fused`: each
/// product added unrounded (FMA). Only after ckernels_has_avx2_fma() returned 1.
void ckernels_conv_weight_grad_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                    const float *dy, long cout, float *dw, int first, int fused);

/// ckernels_conv_weight_grad_avx2 with AVX-512 (direct_conv_avx512.c), bit-identical to it: 32 output channels
/// at a time, masked lanes for the rest; any channel counts. `partials`: kh·kw·cin·cout floats where the sums
/// wait between row bands unless first (dw holds them then). Only after ckernels_has_avx512f() and
/// ckernels_has_avx2_fma() returned 1.
void ckernels_conv_weight_grad_avx512(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                      const float *dy, long cout, float *dw, float *partials, int first, int fused);

/// PoolKernel's max pooling for 2x2 windows at stride 2 inside one image x[h, w, c] (c a multiple of 8):
/// y[ho, wo, c] the first maximum in scan order (strict >, so NaN never replaces), argmax its pixel index.
/// Only after ckernels_has_avx2_fma() returned 1.
void ckernels_max_pool_2x2(const float *x, long w, long c, long ho, long wo, float *y, int32_t *argmax);

/// Floats of ckernels_conv_winograd_avx2's scratch.
long ckernels_winograd_scratch(long cin, long cout);

/// The Winograd F(2x2, 3x3) transform u[16, cin, cout] of a 3x3 kernel w[3, 3, cin, cout], at the count positions
/// ci·cout + co from first (both multiples of 8; each position's values depend on its weights only).
void ckernels_winograd_kernel(const float *w, long cin, long cout, long first, long count, float *u);

/// A 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (winograd_avx2.c): y[ho, wo, cout] (pixels ldy floats apart)
/// of the padded image xp[ho + 2, wp, cin] with the kernel transformed by ckernels_winograd_kernel, then + bias[cout]
/// (if not NULL) and max(y, 0) (if relu). ho and wo even; cin and cout multiples of 8. Inference only: it rounds
/// differently from the direct kernels. Only after ckernels_has_avx2_fma() returned 1.
void ckernels_conv_winograd_avx2(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                 float *y, long ldy, const float *bias, int relu, float *scratch);

/// ckernels_conv_winograd_avx2 with AVX-512 (winograd_avx512.c), bit-identical to it, the same scratch.
/// Only after ckernels_has_avx512f() and ckernels_has_avx2_fma() returned 1.
void ckernels_conv_winograd_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                   float *y, long ldy, const float *bias, int relu, float *scratch);

/// Floats of ckernels_conv_winograd4_avx512's scratch.
long ckernels_winograd4_scratch(long cin, long cout);

/// The Winograd F(4x4, 3x3) transform u[36, cin, cout] of a 3x3 kernel w[3, 3, cin, cout] (each rounded once
/// from double precision: products rounded, summed left to right), at positions as ckernels_winograd_kernel's.
/// Only after ckernels_has_avx512f() returned 1.
void ckernels_winograd4_kernel(const float *w, long cin, long cout, long first, long count, float *u);

/// ckernels_conv_winograd_avx512 by Winograd F(4x4, 3x3) (winograd_avx512.c), with the kernel transformed by
/// ckernels_winograd4_kernel: ho and wo multiples of 4; cin and cout multiples of 8. Inference only; it rounds
/// differently from F(2x2, 3x3). Only after ckernels_has_avx512f() and ckernels_has_avx2_fma() returned 1.
void ckernels_conv_winograd4_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                    float *y, long ldy, const float *bias, int relu, float *scratch);

/// memcpy with non-temporal stores for copies of 4 KiB and more: tens of MB copied once (weights
/// loaded from a file) are not read again soon, and skipping the cache saves reading each destination
/// line before writing it. The regions must not overlap.
void ckernels_copy_streaming(void *destination, const void *source, size_t bytes);


/// TensorFlowOrder.packetColumnSums of columns [j0, j1) of x[rows, xs] with AVX-512 (batch_norm_avx512.c),
/// bit-identical to it: sum[j] of x[r, j], or of (x[r, j] - mean[j])² when mean is not NULL; the columns below
/// `packed` (the caller's 8-float packets, 0 under 16 rows) in four chains, the others row by row. Only after
/// ckernels_has_avx512f() returned 1.
void ckernels_bn_statistic_sums_avx512(const float *x, long xs, long rows, long j0, long j1, long packed,
                                       const float *mean, float *sum);

/// The ReLU after a BatchNormalization, whose backward pass the normalization's takes in: the gradient counts
/// where the ReLU's output is > 0. That output is read (`output`, rows `stride` floats apart) or, with
/// `output` NULL and `beta` not, made again from x as ckernels_normalize_rows rounds it, (x - mean)·scaling +
/// beta, which saves reading it. Both NULL: no ReLU follows.
typedef struct {
    const float *output;
    long stride;
    const float *scaling;
    const float *beta;
} ckernels_following_relu;

/// BatchNormalization's gradient sums of columns [j0, j1), as TensorFlowOrder.outerColumnSums takes them
/// (bit-identical): with g = dy[r, j] (0 where `relu` passes nothing back) and centered = x[r, j] - mean[j],
/// sums[4j] = Σ g, sums[4j + 1] = Σ g·(centered·inv_std[j]), sums[4j + 2] = Σ g·centered, over rows
/// [0, first_end) and, when first_end < rows, plus the sums over [first_end, rows). Only after
/// ckernels_has_avx512f() returned 1.
void ckernels_bn_gradient_sums_avx512(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu,
                                      long rows, long first_end, long j0, long j1, const float *mean,
                                      const float *inv_std, float *sums);

/// BatchNormArithmetic.backward's input gradient with AVX-512, bit-identical to it: dx[r, j] (= or += when
/// accumulate) k[c + j]·((g - k[j]) - (x[r, j] - mean[j])·k[2c + j]), g as in ckernels_bn_gradient_sums_avx512,
/// k = coefficients. Only after ckernels_has_avx512f() returned 1.
void ckernels_bn_input_grad_avx512(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu,
                                   long rows, long c, const float *mean, const float *coefficients, float *dx,
                                   long dxs, int accumulate);

/// `rounds` rounds of independent fused multiply-add chains on the widest vectors the CPU has (AVX-512, else
/// AVX2), the result stored to `sink` so that nothing is optimised away: the floating-point operations done
/// (2 per multiply-add), 0 without FMA. `densenet-io bench` measures the machine's peak with it.
long ckernels_fma_chains(long rounds, float *sink);

/// Floats of ckernels_pointwise_avx512's panel (one per worker) for k input channels.
long ckernels_pointwise_scratch(long k);

/// A kernel w[k, n] (n a multiple of 32) packed for ckernels_pointwise_avx512 and ckernels_strided_conv_avx512:
/// strips of 32 output channels, packed[n / 32][k][32].
void ckernels_pointwise_pack(const float *w, long k, long n, float *packed);

/// A dense unit's head in inference (pointwise_avx512.c): for `rows` rows of x (xs floats apart), the 1x1
/// convolution, by the packed kernel, of relu((x - mean) * scaling + beta) over k channels (rounded as
/// ckernels_normalize_rows rounds it); then, when out_mean is not NULL, (v - out_mean) * out_scaling + out_beta
/// (each operation rounded) and max(v, 0) as Swift.max (if relu); stored in y[rows, n] (rows ys floats apart).
/// n a multiple of 32; `panel` holds ckernels_pointwise_scratch(k) floats. Each row is computed by itself, in
/// an order that does not depend on `rows`. Only after ckernels_has_avx512f() returned 1.
void ckernels_pointwise_avx512(const float *x, long xs, long rows, long k, const float *mean, const float *scaling,
                               const float *beta, const float *packed, long n, const float *out_mean,
                               const float *out_scaling, const float *out_beta, int relu, float *y, long ys,
                               float *panel);

/// A BatchNormalization's input gradient as ckernels_bn_input_grad_avx512 makes it (written, not added), for a
/// pass that makes it a few rows at a time as it reads them instead of reading it stored: the normalization's
/// input x and output gradient dy (rows of its c channels), its following ReLU, mean and coefficients.
typedef struct {
    const float *x;
    const float *dy;
    ckernels_following_relu relu;
    const float *mean;
    const float *coefficients;
} ckernels_normalization_input_grad;

/// Input channels [j0, j1) (multiples of 16) of a 1x1 kernel w[k, n] transposed and packed for
/// ckernels_pointwise_backward_avx512: half-strips of 16 input channels, packed[k / 16][n][16].
void ckernels_pointwise_backward_pack(const float *w, long j0, long j1, long n, float *packed);

/// Floats of ckernels_pointwise_backward_avx512's scratch (one per worker) for a range of k channels.
long ckernels_pointwise_backward_scratch(long k, long n);

/// A dense unit's 1x1 convolution backward in training, fused with its head's BatchNormalization gradient
/// sums (pointwise_backward_avx512.c), for the head's channels [j0, j1) (multiples of 16) over all `rows`:
/// the head's gradient dx[r, j] = Σ_o dy[r, o]·w[j, o] (n outputs, one chain of fused multiply-adds in o's
/// order); `sums` as ckernels_bn_gradient_sums_avx512 writes them for that gradient through the head's relu
/// (bit-identical); and dw[j - j0, o] = Σ_r head[r, j]·dy[r, o], head = relu((x - mean)·scaling + beta) as
/// ckernels_normalize_rows rounds it (summed per block of 14 rows, the blocks in order). `packed` from
/// ckernels_pointwise_backward_pack; n a multiple of 32. With `through` not NULL, dy (NULL) is the input gradient
/// of the normalization the convolution's output feeds (c = n), made a chunk of rows at a time in the scratch
/// (bit for bit what ckernels_bn_input_grad_avx512 would have stored). Only after ckernels_has_avx512f()
/// returned 1.
void ckernels_pointwise_backward_avx512(const float *dy, const ckernels_normalization_input_grad *through, long n,
                                        const float *packed, const float *x, long xs,
                                        long rows, long first_end, long j0, long j1, const float *mean,
                                        const float *inv_std, const float *scaling, const float *beta, float *dx,
                                        long dxs, float *sums, float *dw, float *scratch);

/// `rows` output rows of a kh×kw convolution at `stride` over a zero-padded image xp[…, wp, cin] whose first
/// row is the first output row's first input row, by the kernel w[taps, cout] (HWIO flattened) packed by
/// ckernels_pointwise_pack (strided_conv_avx512.c): y[rows, wo, cout], each output the sum of its taps in
/// order (ky, kx, ci) from zero. Reads up to 14·stride·cin floats
/// past the last input row a partial block of pixels uses. Only after ckernels_has_avx512f() returned 1.
void ckernels_strided_conv_avx512(const float *xp, long wp, long cin, long kh, long kw, long stride,
                                  const float *packed, long cout, long rows, long wo, float *y);

/// Max pooling of non-negative x[h, w, c] (a ReLU's output; c a multiple of 16) zero-padded by `pad`, pool×pool
/// windows at `stride`, into the output rows [first_row, end_row) of y[…, wo, c]: every window starts from 0,
/// the padding's value and the input's lower bound. Only after ckernels_has_avx512f() returned 1.
void ckernels_max_pool_avx512(const float *x, long h, long w, long c, long pool, long stride, long pad,
                              long first_row, long end_row, long wo, float *y);

#endif
