// The machine's floating-point peak as `densenet-io bench` measures it: independent chains of fused
// multiply-adds, enough to cover the FMA units' latency, on the widest vectors the CPU has. The
// measured figure, not a datasheet's, is what "share of peak" divides by.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// CHAINS: independent accumulators, latency 4 × 2 FMA units + margin.
enum { CHAINS = 12 };

__attribute__((target("avx512f"))) static long fma_chains_avx512(long rounds, float *sink) {
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < CHAINS; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    *sink = _mm512_reduce_add_ps(acc[0]);
    return rounds * CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma"))) static long fma_chains_avx2(long rounds, float *sink) {
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < CHAINS; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, acc[0]);
    *sink = lanes[0];
    return rounds * CHAINS * 8 * 2;
}

long ckernels_fma_chains(long rounds, float *sink) {
    if (ckernels_has_avx512f() && ckernels_has_avx2_fma()) return fma_chains_avx512(rounds, sink);
    if (ckernels_has_avx2_fma()) return fma_chains_avx2(rounds, sink);
    return 0;
}
#else
long ckernels_fma_chains(long rounds, float *sink) { return 0; }
#endif
