// A dense unit's 1×1 convolution backward in training, one pass (AVX-512), fused with the head's
// BatchNormalization gradient sums.
//
// Op by op, each unit's backward pass wrote relu(BN(x)) over the block input again (the head), OpenBLAS
// read it into its panels for the weight gradient and wrote the head's gradient g = dy·wᵀ, and the
// normalization's backward pass read x and g once for its three sums before its second pass. Here a
// worker takes a range of the head's channels over every row: for each chunk of 28 rows and strip of 32
// channels it computes g in a 14-row × 32-column microkernel (dy's rows broadcast against wᵀ packed in
// 16-column half-strips) and, in the epilogue, stores g, reads x, makes the head's values and its
// ReLU's signs as ckernels_normalize_rows rounds them, adds the sums to the chains (each channel's
// sums one chain over the rows in order: TensorFlowOrder.outerColumnSums' order, as
// ckernels_bn_gradient_sums_avx512 takes it), then adds the chunk's head × dy products to the weight
// gradient. The head is never stored; dy is read once per worker. Where the convolution's output feeds
// a BatchNormalization (the dense unit's bottleneck), dy is that normalization's input gradient: each
// worker makes a chunk's rows of it from the normalization's input and output gradient as it needs them
// (`through`) instead of reading them stored — the separate pass read both, wrote dy, and every worker
// read dy again. Every result of a channel is computed by one worker in an order fixed by the shape, so
// the split does not change a bit.
#include "CKernels.h"

#if defined(__x86_64__)
#include <string.h>

#include "batch_norm_terms_avx512.h"
#include "microkernel_avx512.h"

#define AVX512 __attribute__((target("avx512f,prfchw"), always_inline)) static inline

#pragma STDC FP_CONTRACT OFF

// BLOCK rows per microkernel call; CHUNK rows per strip at a time (the strip's packed weights stay in L1
// across its blocks, and the weight gradient adds CHUNK rows per pass over its sums); HALF: the columns of
// one packed half-strip (one zmm); CHANNELS: the weight gradient's channels per tile (× 32 columns, 16
// accumulators).
enum { BLOCK = MICRO_ROWS, CHUNK = 2 * BLOCK, HALF = 16, CHANNELS = 8 };

void ckernels_pointwise_backward_pack(const float *w, long j0, long j1, long n, float *packed) {
    for (long h = j0 / HALF; h < j1 / HALF; h++)
        for (long o = 0; o < n; o++)
            for (long c = 0; c < HALF; c++) packed[(h * n + o) * HALF + c] = w[(h * HALF + c) * n + o];
}

long ckernels_pointwise_backward_scratch(long k, long n) { return 6 * k + CHUNK * 2 * HALF + CHUNK * n; }

/// The head's coefficients for one vector of channels.
typedef struct {
    __m512 mean, inv_std, scaling, beta;
} head_coefficients;

AVX512 head_coefficients coefficients_at(const float *mean, const float *inv_std, const float *scaling,
                                         const float *beta, long j) {
    return (head_coefficients){_mm512_loadu_ps(mean + j), _mm512_loadu_ps(inv_std + j), _mm512_loadu_ps(scaling + j),
                               _mm512_loadu_ps(beta + j)};
}

/// Lines a later block will read (x) and write (dx): `rows` rows from x and dx (xs, dxs floats apart), V
/// lines each, fetched one per iteration of strip_products' loop instead of all at once (a burst of them
/// waited for the fill buffers: measured in the profile).
typedef struct {
    const float *x;
    float *dx;
    long xs, dxs, rows;
} later_lines;

/// One strip of V half-strips (channels c.. of 16·V): for rows a[0..BLOCK) (n floats apart), g = a · wᵀ
/// into acc, each output one chain of fused multiply-adds over the n products in order; `later`'s lines
/// fetched on the way (x's to L2, dx's owned in L1).
AVX512 void strip_products(const float *a, long n, const float *b, int V, __m512 acc[BLOCK][2], later_lines later) {
    for (int r = 0; r < BLOCK; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const long fetches = 2 * V * later.rows;
    for (long i = 0; i < n; i++) {
        if (i < fetches) {
            const long line = i >> 1, row = line / V, v = line % V;
            if (i & 1)
                _mm_prefetch((const char *)(later.dx + row * later.dxs + HALF * v), _MM_HINT_ET0);
            else
                _mm_prefetch((const char *)(later.x + row * later.xs + HALF * v), _MM_HINT_T1);
        }
        const __m512 b0 = _mm512_loadu_ps(b + i * HALF), b1 = V == 2 ? _mm512_loadu_ps(b + (n + i) * HALF) : b0;
#pragma unroll
        for (int r = 0; r < BLOCK; r++) {
            const __m512 ab = _mm512_set1_ps(a[r * n + i]);
            acc[r][0] = _mm512_fmadd_ps(ab, b0, acc[r][0]);
            if (V == 2) acc[r][1] = _mm512_fmadd_ps(ab, b1, acc[r][1]);
        }
    }
}

/// The weight gradient of channels c.. (16·V): dw[c + i][o] += Σ_r head[r][i] · a[r][o] over a chunk's
/// `valid` rows, the chunk's sum added to dw (a sum from zero per chunk, then one add). Not inlined: inlined
/// into chunk_strip it ran at half the speed (measured on a C harness, 1 568 rows × 512 channels).
__attribute__((target("avx512f"), noinline)) static void weight_gradient(const float *head, const float *a, long n,
                                                                        long valid, int V, float *dw) {
    for (long i0 = 0; i0 < HALF * V; i0 += CHANNELS)
        for (long o = 0; o < n; o += 32) {
            __m512 acc[CHANNELS][2];
            for (int i = 0; i < CHANNELS; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
            for (long r = 0; r < valid; r++) {
                const __m512 d0 = _mm512_loadu_ps(a + r * n + o), d1 = _mm512_loadu_ps(a + r * n + o + 16);
#pragma unroll
                for (int i = 0; i < CHANNELS; i++) {
                    const __m512 h = _mm512_set1_ps(head[r * 2 * HALF + i0 + i]);
                    acc[i][0] = _mm512_fmadd_ps(h, d0, acc[i][0]);
                    acc[i][1] = _mm512_fmadd_ps(h, d1, acc[i][1]);
                }
            }
            for (int i = 0; i < CHANNELS; i++) {
                float *row = dw + (i0 + i) * n + o;
                _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), acc[i][0]));
                _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), acc[i][1]));
            }
        }
}

/// What a worker's pass reads and writes besides the rows of one chunk.
typedef struct {
    const float *packed, *x;
    long n, xs, rows, first_end, j0, range;
    const float *mean, *inv_std, *scaling, *beta;
    float *dx;
    long dxs;
    float *chains, *head, *dw;
} pass;

/// Rows [r0, r0 + valid) of one chunk (dy's rows from a, n floats apart) × channels c.. (16·V): g into dx,
/// the chains (chains[half·3 + s][j - j0] for the sums s of g, g·(centered·inv_std), g·centered over rows
/// before / from first_end), the head's values into `head` (CHUNK × 32), then the weight gradient. The
/// next chunk's lines of x and dx for these channels are fetched meanwhile (rows kilobytes apart: the
/// hardware prefetcher does not follow them).
AVX512 void chunk_strip(const pass *p, const float *a, long r0, long valid, long c, int V) {
    const long n = p->n;
    const float *b = p->packed + c / HALF * n * HALF;
    for (long b0 = 0; b0 < valid; b0 += BLOCK) {
        __m512 acc[BLOCK][2];
        // the same block of the next chunk
        const long next = r0 + CHUNK + b0, ahead = p->rows - next < BLOCK ? p->rows - next : BLOCK;
        const later_lines later = {p->x + next * p->xs + c, p->dx + next * p->dxs + c, p->xs, p->dxs,
                                   ahead > 0 ? ahead : 0};
        // n (dy's row stride) a constant where it is 128 (4 × growth 32: every Keras Applications DenseNet), so
        // that the rows' broadcasts address from one register: with n in a register the 14 row pointers and
        // the accumulators spilled to the stack (measured: half the speed)
        if (n == 128)
            strip_products(a + b0 * n, 128, b, V, acc, later);
        else
            strip_products(a + b0 * n, n, b, V, acc, later);
        const long rows = valid - b0 < BLOCK ? valid - b0 : BLOCK;
        for (int v = 0; v < V; v++) {
            const long j = c + HALF * v;
            const head_coefficients k = coefficients_at(p->mean, p->inv_std, p->scaling, p->beta, j);
            float *chain = p->chains + j - p->j0;
            __m512 s[6];
            for (int q = 0; q < 6; q++) s[q] = _mm512_loadu_ps(chain + q * p->range);
            for (long r = 0; r < rows; r++) {
                const long row = r0 + b0 + r;
                const __m512 g = acc[r][v];
                _mm512_storeu_ps(p->dx + row * p->dxs + j, g);
                const __m512 centered = _mm512_sub_ps(_mm512_loadu_ps(p->x + row * p->xs + j), k.mean);
                const __m512 output = normalized(centered, k.scaling, k.beta);
                const int h = row < p->first_end ? 0 : 3;
                add_gradient_terms(&s[h], &s[h + 1], &s[h + 2], passed_back(g, output), centered, k.inv_std);
                _mm512_storeu_ps(p->head + (b0 + r) * 2 * HALF + HALF * v, relu_like_swift(output));
            }
            for (int q = 0; q < 6; q++) _mm512_storeu_ps(chain + q * p->range, s[q]);
        }
    }
    weight_gradient(p->head, a, n, valid, V, p->dw + (c - p->j0) * n);
}

__attribute__((target("avx512f,prfchw"))) void ckernels_pointwise_backward_avx512(
    const float *dy, const ckernels_normalization_input_grad *through, long n, const float *packed, const float *x,
    long xs, long rows, long first_end, long j0, long j1,
    const float *mean, const float *inv_std, const float *scaling, const float *beta, float *dx, long dxs, float *sums,
    float *dw, float *scratch) {
    const long range = j1 - j0;
    float *chains = scratch, *head = chains + 6 * range, *tail = head + CHUNK * 2 * HALF;
    const pass p = {packed, x, n, xs, rows, first_end, j0, range, mean, inv_std, scaling, beta, dx, dxs,
                    chains, head, dw};
    memset(chains, 0, sizeof(float) * 6 * range);
    memset(dw, 0, sizeof(float) * range * n);
    for (long r0 = 0; r0 < rows; r0 += CHUNK) {
        const long valid = rows - r0 < CHUNK ? rows - r0 : CHUNK;
        const float *a = tail;
        if (through) {  // dy's rows made here: each worker reads x and dy of the normalization instead
            ckernels_following_relu relu = through->relu;
            if (relu.output) relu.output += r0 * relu.stride;
            ckernels_bn_input_grad_avx512(through->x + r0 * n, n, through->dy + r0 * n, n, relu, valid, n,
                                          through->mean, through->coefficients, tail, n, 0);
        } else if (valid % BLOCK) {
            memcpy(tail, dy + r0 * n, sizeof(float) * valid * n);
        } else {
            a = dy + r0 * n;
        }
        if (valid % BLOCK)  // the last rows, padded with zero rows to whole blocks for the microkernel
            memset(tail + valid * n, 0, sizeof(float) * (CHUNK - valid) * n);
        for (long c = j0; c < j1; c += 2 * HALF) {
            if (j1 - c >= 2 * HALF)  // V a constant in each call, so that no test of it stays in the loops
                chunk_strip(&p, a, r0, valid, c, 2);
            else
                chunk_strip(&p, a, r0, valid, c, 1);
        }
    }
    for (long j = j0; j < j1; j++)  // the second half's sums added to the first's, as outerColumnSums
        for (int q = 0; q < 3; q++)
            sums[4 * j + q] = first_end < rows ? chains[q * range + j - j0] + chains[(3 + q) * range + j - j0]
                                               : chains[q * range + j - j0];
}

#else

void ckernels_pointwise_backward_pack(const float *w, long j0, long j1, long n, float *packed) { __builtin_trap(); }

long ckernels_pointwise_backward_scratch(long k, long n) { return 0; }

void ckernels_pointwise_backward_avx512(const float *dy, const ckernels_normalization_input_grad *through, long n,
                                        const float *packed, const float *x, long xs, long rows, long first_end,
                                        long j0, long j1, const float *mean,
                                        const float *inv_std, const float *scaling, const float *beta, float *dx,
                                        long dxs, float *sums, float *dw, float *scratch) {
    __builtin_trap();
}

#endif
