// Small C kernels for DenseNetEngine: what Swift cannot express (CPU approximation instructions).
#ifndef CKERNELS_H
#define CKERNELS_H

/// 1/sqrt(x) exactly as TensorFlow's CPU kernels compute it (Eigen's packet rsqrt): the CPU's
/// rsqrt estimate refined by one Newton-Raphson step, every operation rounded separately.
/// Without an estimate instruction (not x86-64), the correctly rounded 1/sqrt(x).
float ckernels_tensorflow_rsqrt(float x);

#endif
