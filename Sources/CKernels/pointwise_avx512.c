// A dense unit's head in inference, one pass (AVX-512): relu(BN(x)) of a block of rows → 1×1
// convolution → the following BatchNormalization (moving statistics) and ReLU, stored once.
//
// Op by op the unit wrote relu(BN(x)) over the block input (`normalize_rows`), OpenBLAS copied it again
// into its panels, wrote the 1×1 output, and BatchNormalization and ReLU each read and wrote it once
// more. Here a micro-block of 14 rows is normalised (ckernels_normalize_rows' arithmetic, so the
// values are the head's) into a small row-major panel, which is multiplied by the weights packed once
// into strips of 32 output channels, [n / 32][k][32], in a 14-row × 32-column microkernel: 28 zmm
// accumulators, one FMA per product with A broadcast from the panel; the epilogue applies the
// following BatchNormalization's (x - mean) * scaling + beta and max(v, 0) as the engine's kernels
// round them, and stores each output once. With the data in cache the microkernel runs near the FMA
// peak; at batch 8 the block buffer streams from L3, so the next micro-block's rows are prefetched
// while this one computes, and its outputs' lines fetched for writing. Each output sums its k products
// in order from zero by itself, so the result does not depend on how the rows are split into pieces.
// Rounding differs from OpenBLAS (inference only). Measured in docs/performance.md ("One pass for the
// dense units' 1×1 convolutions").
#include "CKernels.h"

#if defined(__x86_64__)
#include "microkernel_avx512.h"

#define AVX512 __attribute__((target("avx512f,prfchw"), always_inline)) static inline

#pragma STDC FP_CONTRACT OFF

// MICRO_ROWS × 32 columns: 28 of the 32 zmm registers accumulate, two hold the weights' row. One
// micro-block of rows is normalised into the panel at a time; while its strips run, the next block's rows
// of x are prefetched, one line every PREFETCH_EVERY products.
enum { PREFETCH_EVERY = 4 };

/// The panel's row stride: k rounded up to 16 floats, plus 16 so that rows k = 1024 apart do not share L1 sets.
static long panel_stride(long k) { return (k + 15) / 16 * 16 + 16; }

long ckernels_pointwise_scratch(long k) { return MICRO_ROWS * panel_stride(k); }

void ckernels_pointwise_pack(const float *w, long k, long n, float *packed) {
    for (long s = 0; s < n / STRIP; s++)
        for (long i = 0; i < k; i++)
            for (long j = 0; j < STRIP; j++) packed[(s * k + i) * STRIP + j] = w[i * n + s * STRIP + j];
}

/// `rows` rows of relu((x - mean) * scaling + beta) into the panel (rows `lda` apart) by
/// ckernels_normalize_rows_avx512, so the head's values; the panel's rows up to MICRO_ROWS are zero.
AVX512 void normalize_into_panel(const float *x, long xs, long rows, long k, const float *mean, const float *scaling,
                                 const float *beta, float *panel, long lda) {
    ckernels_normalize_rows_avx512(x, xs, panel, lda, rows, k, mean, scaling, beta, 1);
    for (long r = rows; r < MICRO_ROWS; r++)
        for (long j = 0; j < k; j++) panel[r * lda + j] = 0;
}

/// The next micro-block's rows of x (`stride` floats apart), line by line (`lines` 64-byte lines from each
/// row's start: a row off a line boundary leaves its last line to the hardware). x streams from L3 or
/// memory (the block buffer outgrows L2 at batch 8), and rows a page or more apart defeat the hardware
/// prefetcher: fetched while this block computes, they are in L1 when the next one is normalised.
typedef struct {
    const float *row;
    long line, lines, rows, stride;
} next_rows;

/// Prefetches `next`'s next line, if any, and advances it.
AVX512 void prefetch_next_line(next_rows *next) {
    if (next->rows == 0) return;
    _mm_prefetch((const char *)(next->row + 16 * next->line), _MM_HINT_T0);
    if (++next->line < next->lines) return;
    next->line = 0;
    next->row += next->stride;
    next->rows--;
}

/// Rows [0, valid) of one micro-block × one strip: sum over k of panel[r][i] * strip[i][0..32), then the
/// epilogue; one of `next`'s lines prefetched every PREFETCH_EVERY products.
AVX512 void micro_block(const float *a, long lda, long k, const float *strip, long valid, const float *out_mean,
                        const float *out_scaling, const float *out_beta, int relu, float *y, long ys,
                        next_rows *next) {
    // the outputs' lines, fetched for writing while the sums run (their stores miss otherwise)
    for (long r = 0; r < valid; r++) {
        _mm_prefetch((const char *)(y + r * ys), _MM_HINT_ET0);
        _mm_prefetch((const char *)(y + r * ys + 16), _MM_HINT_ET0);
    }
    __m512 acc[MICRO_ROWS][2];
#pragma unroll
    for (int r = 0; r < MICRO_ROWS; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long i = 0; i < k; i++) {
        if (i % PREFETCH_EVERY == 0) prefetch_next_line(next);
        microkernel_step(acc, a + i, lda, strip + i * STRIP);
    }
    for (int v = 0; v < 2; v++) {
        const __m512 m = out_mean ? _mm512_loadu_ps(out_mean + 16 * v) : _mm512_setzero_ps();
        const __m512 s = out_mean ? _mm512_loadu_ps(out_scaling + 16 * v) : _mm512_setzero_ps();
        const __m512 b = out_mean ? _mm512_loadu_ps(out_beta + 16 * v) : _mm512_setzero_ps();
#pragma unroll
        for (int r = 0; r < MICRO_ROWS; r++) {
            if (r >= valid) break;
            __m512 out = acc[r][v];
            if (out_mean) out = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(out, m), s), b);
            if (relu) out = relu_like_swift(out);
            _mm512_storeu_ps(y + r * ys + 16 * v, out);
        }
    }
}

__attribute__((target("avx512f,prfchw")))
void ckernels_pointwise_avx512(const float *x, long xs, long rows, long k, const float *mean, const float *scaling,
                               const float *beta, const float *packed, long n, const float *out_mean,
                               const float *out_scaling, const float *out_beta, int relu, float *y, long ys,
                               float *panel) {
    const long lda = panel_stride(k);
    for (long r0 = 0; r0 < rows; r0 += MICRO_ROWS) {
        const long valid = rows - r0 < MICRO_ROWS ? rows - r0 : MICRO_ROWS, after = rows - r0 - valid;
        normalize_into_panel(x + r0 * xs, xs, valid, k, mean, scaling, beta, panel, lda);
        next_rows next = {x + (r0 + valid) * xs, 0, (k + 15) / 16, after < MICRO_ROWS ? after : MICRO_ROWS, xs};
        for (long s = 0; s < n / STRIP; s++) {
            const long c0 = s * STRIP;
            micro_block(panel, lda, k, packed + s * k * STRIP, valid, out_mean ? out_mean + c0 : 0,
                        out_mean ? out_scaling + c0 : 0, out_mean ? out_beta + c0 : 0, relu, y + r0 * ys + c0, ys,
                        &next);
        }
    }
}

#else

long ckernels_pointwise_scratch(long k) { return 0; }

void ckernels_pointwise_pack(const float *w, long k, long n, float *packed) { __builtin_trap(); }

void ckernels_pointwise_avx512(const float *x, long xs, long rows, long k, const float *mean, const float *scaling,
                               const float *beta, const float *packed, long n, const float *out_mean,
                               const float *out_scaling, const float *out_beta, int relu, float *y, long ys,
                               float *panel) { __builtin_trap(); }

#endif
