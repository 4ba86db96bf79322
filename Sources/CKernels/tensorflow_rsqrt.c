#include "CKernels.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Eigen writes the step as y + (-y/2) * (x*y*y - 1) without fused multiply-adds; contracting it
// would change the rounding.
#pragma STDC FP_CONTRACT OFF

float ckernels_tensorflow_rsqrt(float x) {
#if defined(__x86_64__)
    float y = _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x)));
    float ax = x * y;
    float minusHalfY = y * -0.5f;
    float residual = ax * y + -1.0f;
    float refined = minusHalfY * residual + y;
    return isnan(refined) ? y : refined;  // x = 0 or inf: Eigen keeps the estimate
#else
    return 1.0f / sqrtf(x);
#endif
}
