// BatchNormalization's training passes with AVX-512: the batch statistics and the gradient's column
// sums in TensorFlow's order (TensorFlowOrder.packetColumnSums / outerColumnSums), and the input
// gradient. Lanes run over channels, so every channel's sum is still one chain over the rows in the
// Swift loops' order, with the same roundings: bit-identical to them. The sums take a range of
// columns, so the caller can split a layer's channels between the cores without changing a bit
// (the Swift loops ran on one core). The optional `relu` fuses the backward pass of a ReLU that
// follows the normalization: dy counts where its output > 0, else 0, as ReLUKernel writes it.
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "batch_norm_terms_avx512.h"

#define AVX512 __attribute__((target("avx512f"), always_inline)) static inline

#pragma STDC FP_CONTRACT OFF

// GROUP: vectors of 16 channels summed per pass over the rows (4 chains × 4 = 16 accumulators for
// the statistics, 3 sums × 4 = 12 for the gradient).
enum { GROUP = 4 };

AVX512 __mmask16 lanes_left(long n) { return n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1); }

/// Row r's element of the statistics' sums: x, or (x - mean)² when mean is not NULL.
AVX512 __m512 statistic(const float *x, long xs, long r, long j, __mmask16 m, const float *mean) {
    const __m512 v = _mm512_maskz_loadu_ps(m, x + r * xs + j);
    if (!mean) return v;
    const __m512 d = _mm512_sub_ps(v, _mm512_maskz_loadu_ps(m, mean + j));
    return _mm512_mul_ps(d, d);
}

// COLUMNS: the channels whose chains wait in memory while ROWS rows at a time stream by, so each row's
// channels are read as one run (a pass of GROUP vectors down all the rows read 256 bytes of every row,
// rows kilobytes apart, at about half the bandwidth). ROWS is a multiple of the statistics' 4 packets.
enum { COLUMNS = 256, ROWS = 64 };

/// The group of up to GROUP vectors from column j, below j1: how many, and their lanes in m.
AVX512 long group_lanes(long j, long j1, __mmask16 m[GROUP]) {
    const long n = (j1 - j + 15) / 16 < GROUP ? (j1 - j + 15) / 16 : GROUP;
    for (long v = 0; v < n; v++) m[v] = lanes_left(j1 - j - 16 * v);
    return n;
}

/// Chains k < K of a group of n vectors into s[k], from chains + k·COLUMNS + at.
AVX512 void load_chains(const float *chains, int K, long at, long n, const __mmask16 *m, __m512 s[][GROUP]) {
    for (long v = 0; v < n; v++)
        for (int k = 0; k < K; k++) s[k][v] = _mm512_maskz_loadu_ps(m[v], chains + k * COLUMNS + at + 16 * v);
}

/// load_chains' way back.
AVX512 void store_chains(float *chains, int K, long at, long n, const __mmask16 *m, __m512 s[][GROUP]) {
    for (long v = 0; v < n; v++)
        for (int k = 0; k < K; k++) _mm512_mask_storeu_ps(chains + k * COLUMNS + at + 16 * v, m[v], s[k][v]);
}

/// Columns [j0, j1) (at most COLUMNS), ROWS rows at a time, in P chains over the rows ≡ 0, …, P − 1
/// (mod P) added in that order, then the rows left over: packetColumnSums' packet order with P = 4, one
/// chain row by row with P = 1.
AVX512 void chained_sums(const float *x, long xs, long rows, long j0, long j1, const float *mean, float *sum,
                         const int P) {
    const long whole = rows / P * P;
    float chains[4][COLUMNS];
    memset(chains, 0, sizeof(float) * P * COLUMNS);
    for (long rb = 0; rb < whole; rb += ROWS) {  // ROWS is a multiple of P
        const long re = rb + ROWS < whole ? rb + ROWS : whole;
        for (long j = j0; j < j1; j += 16 * GROUP) {
            __mmask16 m[GROUP];
            __m512 a[4][GROUP];
            const long n = group_lanes(j, j1, m);
            load_chains(chains[0], P, j - j0, n, m, a);
            for (long r = rb; r < re; r += P)
                for (long v = 0; v < n; v++)
                    for (int k = 0; k < P; k++)
                        a[k][v] = _mm512_add_ps(a[k][v], statistic(x, xs, r + k, j + 16 * v, m[v], mean));
            store_chains(chains[0], P, j - j0, n, m, a);
        }
    }
    for (long j = j0; j < j1; j += 16) {
        const __mmask16 m = lanes_left(j1 - j);
        __m512 s = _mm512_maskz_loadu_ps(m, chains[0] + j - j0);
        for (int k = 1; k < P; k++) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, chains[k] + j - j0));
        for (long r = whole; r < rows; r++) s = _mm512_add_ps(s, statistic(x, xs, r, j, m, mean));
        _mm512_mask_storeu_ps(sum + j, m, s);
    }
}

__attribute__((target("avx512f"))) void ckernels_bn_statistic_sums_avx512(const float *x, long xs, long rows, long j0,
                                                                          long j1, long packed, const float *mean,
                                                                          float *sum) {
    const long split = packed < j0 ? j0 : packed > j1 ? j1 : packed;
    for (long j = j0; j < split; j += COLUMNS)
        chained_sums(x, xs, rows, j, j + COLUMNS < split ? j + COLUMNS : split, mean, sum, 4);
    for (long j = split; j < j1; j += COLUMNS)
        chained_sums(x, xs, rows, j, j + COLUMNS < j1 ? j + COLUMNS : j1, mean, sum, 1);
}

/// Row r's output gradient, 0 where the following ReLU (if any) passes nothing back; `centered` is
/// x[r, j] - mean[j].
AVX512 __m512 masked_gradient(const float *dy, long dys, ckernels_following_relu relu, long r, long j, __mmask16 m,
                              __m512 centered) {
    const __m512 g = _mm512_maskz_loadu_ps(m, dy + r * dys + j);
    __m512 output;
    if (relu.output)
        output = _mm512_maskz_loadu_ps(m, relu.output + r * relu.stride + j);
    else if (relu.beta)  // the normalization's output, made again
        output =
            normalized(centered, _mm512_maskz_loadu_ps(m, relu.scaling + j), _mm512_maskz_loadu_ps(m, relu.beta + j));
    else
        return g;
    return passed_back(g, output);
}

/// Rows [r0, r1) of columns j.. (n vectors) added to the chains s (sums of g, g·(centered·inv_std), g·centered).
AVX512 void gradient_chain(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu, long r0,
                           long r1, long j, long n, const __mmask16 *m, const float *mean, const float *inv_std,
                           __m512 s[3][GROUP]) {
    __m512 mu[GROUP], is[GROUP];
    for (long v = 0; v < n; v++) {
        mu[v] = _mm512_maskz_loadu_ps(m[v], mean + j + 16 * v);
        is[v] = _mm512_maskz_loadu_ps(m[v], inv_std + j + 16 * v);
    }
    for (long r = r0; r < r1; r++)
        for (long v = 0; v < n; v++) {
            const __m512 centered = _mm512_sub_ps(_mm512_maskz_loadu_ps(m[v], x + r * xs + j + 16 * v), mu[v]);
            const __m512 g = masked_gradient(dy, dys, relu, r, j + 16 * v, m[v], centered);
            add_gradient_terms(&s[0][v], &s[1][v], &s[2][v], g, centered, is[v]);
        }
}

/// Chains over rows [r0, r1) of columns [j0, j1) (at most COLUMNS), ROWS rows at a time, each lane's
/// sums still one chain in row order: chains[k][j - j0] from zero.
AVX512 void gradient_chains(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu, long r0,
                            long r1, long j0, long j1, const float *mean, const float *inv_std,
                            float chains[3][COLUMNS]) {
    for (int k = 0; k < 3; k++) memset(chains[k], 0, sizeof(float) * COLUMNS);
    for (long rb = r0; rb < r1; rb += ROWS)
        for (long j = j0; j < j1; j += 16 * GROUP) {
            __mmask16 m[GROUP];
            __m512 s[3][GROUP];
            const long n = group_lanes(j, j1, m);
            load_chains(chains[0], 3, j - j0, n, m, s);
            gradient_chain(x, xs, dy, dys, relu, rb, rb + ROWS < r1 ? rb + ROWS : r1, j, n, m, mean, inv_std, s);
            store_chains(chains[0], 3, j - j0, n, m, s);
        }
}

__attribute__((target("avx512f"))) void ckernels_bn_gradient_sums_avx512(
    const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu, long rows, long first_end, long j0,
    long j1, const float *mean, const float *inv_std, float *sums) {
    for (long jc = j0; jc < j1; jc += COLUMNS) {
        const long jce = jc + COLUMNS < j1 ? jc + COLUMNS : j1;
        float first[3][COLUMNS], second[3][COLUMNS];
        gradient_chains(x, xs, dy, dys, relu, 0, first_end, jc, jce, mean, inv_std, first);
        // outerColumnSums' second half, added to the first
        gradient_chains(x, xs, dy, dys, relu, first_end, rows, jc, jce, mean, inv_std, second);
        for (long j = jc; j < jce; j++)  // channel by channel, the three sums side by side
            for (int k = 0; k < 3; k++)
                sums[4 * j + k] = first_end < rows ? first[k][j - jc] + second[k][j - jc] : first[k][j - jc];
    }
}

__attribute__((target("avx512f"))) void ckernels_bn_input_grad_avx512(const float *x, long xs, const float *dy,
                                                                      long dys, ckernels_following_relu relu, long rows,
                                                                      long c, const float *mean,
                                                                      const float *coefficients, float *dx, long dxs,
                                                                      int accumulate) {
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < c; j += 16) {
            const __mmask16 m = lanes_left(c - j);
            const __m512 centered =
                _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + r * xs + j), _mm512_maskz_loadu_ps(m, mean + j));
            const __m512 g = masked_gradient(dy, dys, relu, r, j, m, centered);
            const __m512 inner =
                _mm512_sub_ps(_mm512_sub_ps(g, _mm512_maskz_loadu_ps(m, coefficients + j)),
                              _mm512_mul_ps(centered, _mm512_maskz_loadu_ps(m, coefficients + 2 * c + j)));
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, coefficients + c + j), inner);
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dx + r * dxs + j), v);
            _mm512_mask_storeu_ps(dx + r * dxs + j, m, v);
        }
}

#else
void ckernels_bn_statistic_sums_avx512(const float *x, long xs, long rows, long j0, long j1, long packed,
                                       const float *mean, float *sum) { __builtin_trap(); }
void ckernels_bn_gradient_sums_avx512(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu,
                                      long rows, long first_end, long j0, long j1, const float *mean,
                                      const float *inv_std, float *sums) { __builtin_trap(); }
void ckernels_bn_input_grad_avx512(const float *x, long xs, const float *dy, long dys, ckernels_following_relu relu,
                                   long rows, long c, const float *mean, const float *coefficients, float *dx,
                                   long dxs, int accumulate) { __builtin_trap(); }
#endif
