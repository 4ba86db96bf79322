// Winograd F(2×2, 3×3) for the forward passes of 3×3 stride-1 convolutions (Lavin & Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2015). Each 2×2 block of output pixels ("tile") comes from the
// 4×4 input pixels around it: transformed (V = Bᵀ d B), multiplied element-wise with the transformed
// kernel (U = G g Gᵀ) and summed over input channels — 16 small GEMMs of tiles × cin × cout — and
// transformed back (Y = Aᵀ M A). That is 16 multiplications per tile and channel pair instead of 36.
// The transforms' constants (0, ±1, ½) are exact in binary, so the result is the direct convolution's
// sum regrouped: it differs from it by rounding only (the tests bound the difference).
//
// Layout as in direct_conv_avx2.c: a zero-padded image xp[ho + 2, wp, cin] (NHWC), the kernel
// w[3, 3, cin, cout]. Tiles are taken in blocks of TILE_BLOCK, so one block's transformed input and
// products stay in L1/L2 between the three steps.
#include "CKernels.h"
#include "winograd_tiles.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

enum { TILE_BLOCK = WINOGRAD_TILE_BLOCK, GEMM_ROWS = 6 };

long ckernels_winograd_scratch(long cin, long cout) { return 16 * TILE_BLOCK * (cin + cout); }

/// Eight output channels at a time (cout is a multiple of 8): this runs before every inference batch,
/// batch-1 latency included.
__attribute__((target("avx2,fma")))
void ckernels_winograd_kernel(const float *w, long cin, long cout, long first, long count, float *u) {
    const long step = cin * cout;
    const __m256 half = _mm256_set1_ps(0.5f);
    for (long at = first; at < first + count; at += 8) {  // at = ci * cout + co
        __m256 gg[4][3];
        for (int kx = 0; kx < 3; kx++) {  // G g: rows g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2
            __m256 g0 = _mm256_loadu_ps(w + kx * step + at), g1 = _mm256_loadu_ps(w + (3 + kx) * step + at);
            __m256 g2 = _mm256_loadu_ps(w + (6 + kx) * step + at);
            gg[0][kx] = g0;
            gg[1][kx] = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(g0, g1), g2), half);
            gg[2][kx] = _mm256_mul_ps(_mm256_add_ps(_mm256_sub_ps(g0, g1), g2), half);
            gg[3][kx] = g2;
        }
        for (int r = 0; r < 4; r++) {  // (G g) Gᵀ: the same on each row
            __m256 a = gg[r][0], b = gg[r][1], c = gg[r][2];
            _mm256_storeu_ps(u + (r * 4 + 0) * step + at, a);
            _mm256_storeu_ps(u + (r * 4 + 1) * step + at, _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(a, b), c), half));
            _mm256_storeu_ps(u + (r * 4 + 2) * step + at, _mm256_mul_ps(_mm256_add_ps(_mm256_sub_ps(a, b), c), half));
            _mm256_storeu_ps(u + (r * 4 + 3) * step + at, c);
        }
    }
}

/// V = Bᵀ d B for `tiles` tiles from `first` (row-major over the tw tiles of a row), 8 channels at a time:
/// v[16, TILE_BLOCK, cin].
__attribute__((target("avx2,fma")))
static void transform_input(const float *xp, long wp, long cin, long tw, long first, long tiles, float *v) {
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        const float *d = xp + ((2 * ty) * wp + 2 * tx) * cin;
        for (long c = 0; c < cin; c += 8) {
            __m256 x[4][4], s[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) x[i][j] = _mm256_loadu_ps(d + (i * wp + j) * cin + c);
            for (int j = 0; j < 4; j++) {  // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
                s[0][j] = _mm256_sub_ps(x[0][j], x[2][j]);
                s[1][j] = _mm256_add_ps(x[1][j], x[2][j]);
                s[2][j] = _mm256_sub_ps(x[2][j], x[1][j]);
                s[3][j] = _mm256_sub_ps(x[1][j], x[3][j]);
            }
            float *out = v + t * cin + c;
            long step = TILE_BLOCK * cin;
            for (int i = 0; i < 4; i++) {  // (Bᵀ d) B: the same on each row
                _mm256_storeu_ps(out + (i * 4 + 0) * step, _mm256_sub_ps(s[i][0], s[i][2]));
                _mm256_storeu_ps(out + (i * 4 + 1) * step, _mm256_add_ps(s[i][1], s[i][2]));
                _mm256_storeu_ps(out + (i * 4 + 2) * step, _mm256_sub_ps(s[i][2], s[i][1]));
                _mm256_storeu_ps(out + (i * 4 + 3) * step, _mm256_sub_ps(s[i][1], s[i][3]));
            }
        }
    }
}

/// m[rows, 8·N] = v[rows, cin] · u[cin, 8·N] for `rows` ≤ GEMM_ROWS rows (constant after inlining).
AVX2 void gemm_rows(const float *v, long cin, const float *u, long cout, float *m, const int rows, const int n) {
    __m256 acc[GEMM_ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < n; k++) acc[r][k] = _mm256_setzero_ps();
    for (long ci = 0; ci < cin; ci++) {
        __m256 u0 = _mm256_loadu_ps(u + ci * cout), u1 = n == 2 ? _mm256_loadu_ps(u + ci * cout + 8) : u0;
        for (int r = 0; r < rows; r++) {
            __m256 x = _mm256_broadcast_ss(v + r * cin + ci);
            acc[r][0] = _mm256_fmadd_ps(x, u0, acc[r][0]);
            if (n == 2) acc[r][1] = _mm256_fmadd_ps(x, u1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < n; k++) _mm256_storeu_ps(m + r * cout + 8 * k, acc[r][k]);
}

/// The 16 products m[16, TILE_BLOCK, cout] = v[16, TILE_BLOCK, cin] · u[16, cin, cout] for `tiles` rows.
__attribute__((target("avx2,fma")))
static void multiply(const float *v, long cin, const float *u, long cout, long tiles, float *m) {
    for (int e = 0; e < 16; e++) {
        const float *ve = v + e * TILE_BLOCK * cin, *ue = u + e * cin * cout;
        float *me = m + e * TILE_BLOCK * cout;
        for (long co = 0; co < cout; co += 16) {
            int n = cout - co >= 16 ? 2 : 1;
            long t = 0;
            for (; t + GEMM_ROWS <= tiles; t += GEMM_ROWS) {
                if (n == 2) gemm_rows(ve + t * cin, cin, ue + co, cout, me + t * cout + co, GEMM_ROWS, 2);
                else gemm_rows(ve + t * cin, cin, ue + co, cout, me + t * cout + co, GEMM_ROWS, 1);
            }
            for (; t < tiles; t++) {
                if (n == 2) gemm_rows(ve + t * cin, cin, ue + co, cout, me + t * cout + co, 1, 2);
                else gemm_rows(ve + t * cin, cin, ue + co, cout, me + t * cout + co, 1, 1);
            }
        }
    }
}

/// Y = Aᵀ m A (+ bias, relu) for `tiles` tiles from `first`, into y[ho, wo, cout] (pixels ldy apart).
__attribute__((target("avx2,fma")))
static void transform_output(const float *m, long cout, long tw, long wo, long first, long tiles, float *y, long ldy,
                             const float *bias, int relu) {
    long step = TILE_BLOCK * cout;
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        float *out = y + ((2 * ty) * wo + 2 * tx) * ldy;
        for (long c = 0; c < cout; c += 8) {
            const float *p = m + t * cout + c;
            __m256 s[2][4];
            for (int j = 0; j < 4; j++) {  // Aᵀ m: rows m0 + m1 + m2, m1 - m2 - m3
                __m256 m0 = _mm256_loadu_ps(p + (0 * 4 + j) * step), m1 = _mm256_loadu_ps(p + (1 * 4 + j) * step);
                __m256 m2 = _mm256_loadu_ps(p + (2 * 4 + j) * step), m3 = _mm256_loadu_ps(p + (3 * 4 + j) * step);
                s[0][j] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                s[1][j] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            __m256 b = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps(), zero = _mm256_setzero_ps();
            for (int a = 0; a < 2; a++) {  // (Aᵀ m) A: the same on each row
                __m256 y0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s[a][0], s[a][1]), s[a][2]), b);
                __m256 y1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s[a][1], s[a][2]), s[a][3]), b);
                if (relu) y0 = _mm256_max_ps(y0, zero), y1 = _mm256_max_ps(y1, zero);
                _mm256_storeu_ps(out + (a * wo + 0) * ldy + c, y0);
                _mm256_storeu_ps(out + (a * wo + 1) * ldy + c, y1);
            }
        }
    }
}

__attribute__((target("avx2,fma")))
void ckernels_conv_winograd_avx2(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                 float *y, long ldy, const float *bias, int relu, float *scratch) {
    long tw = wo / 2, tiles = (ho / 2) * tw;
    float *v = scratch, *m = scratch + 16 * TILE_BLOCK * cin;
    for (long first = 0; first < tiles; first += TILE_BLOCK) {
        long count = tiles - first < TILE_BLOCK ? tiles - first : TILE_BLOCK;
        transform_input(xp, wp, cin, tw, first, count, v);
        multiply(v, cin, u, cout, count, m);
        transform_output(m, cout, tw, wo, first, count, y, ldy, bias, relu);
    }
}

#else

long ckernels_winograd_scratch(long cin, long cout) { return 0; }
void ckernels_winograd_kernel(const float *w, long cin, long cout, long first, long count, float *u) {
    __builtin_trap();
}
void ckernels_conv_winograd_avx2(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                 float *y, long ldy, const float *bias, int relu, float *scratch) { __builtin_trap(); }

#endif
