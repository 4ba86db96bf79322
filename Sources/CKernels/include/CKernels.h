// Small C kernels for DenseNetEngine: what Swift cannot express (CPU approximation instructions,
// AVX2 code in a package built for baseline x86-64).
#ifndef CKERNELS_H
#define CKERNELS_H

/// 1/sqrt(x) exactly as TensorFlow's CPU kernels compute it (Eigen's packet rsqrt): the CPU's
/// rsqrt estimate refined by one Newton-Raphson step, every operation rounded separately.
/// Without an estimate instruction (not x86-64), the correctly rounded 1/sqrt(x).
float ckernels_tensorflow_rsqrt(float x);

/// 1 when the CPU (and OS) run AVX2 and FMA instructions, else 0 (always 0 off x86-64).
int ckernels_has_avx2_fma(void);

/// DirectConv.forwardImage with AVX2, bit-identical to it unless `fused`: y[ho, wo, cout] (=, or += if accumulate)
/// conv of the padded image xp[ho+kh-1, wp, cin] with w[kh, kw, cin, cout], then + bias[cout] (if not NULL) and
/// max(y, 0) (if relu); any channel counts. `scratch`, when not NULL, holds ckernels_conv_forward_scratch floats:
/// it lets the last 1-8 output channels run with vectors over pixels. `fused`: each product added unrounded
/// (FMA). Only after ckernels_has_avx2_fma() returned 1.
void ckernels_conv_forward_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                const float *w, long cout, float *y, int accumulate, const float *bias, int relu,
                                float *scratch, int fused);

/// Floats of ckernels_conv_forward_avx2's scratch for a padded image of hp rows of wp pixels.
static inline long ckernels_conv_forward_scratch(long hp, long wp, long cin) { return cin * (hp * wp + 16); }

/// DirectConv.weightGradImage with AVX2, bit-identical to it: dw[kh, kw, cin, cout] (= if first, else +=) sum over
/// output pixels of xp[oy+ky, ox+kx, ci] * dy[oy, ox, co]; any channel counts.
/// Only after ckernels_has_avx2_fma() returned 1.
void ckernels_conv_weight_grad_avx2(const float *xp, long wp, long cin, long ho, long wo, long kh, long kw,
                                    const float *dy, long cout, float *dw, int first);

#endif
