// AVX-512 version of winograd_avx2.c (same algorithm, layout, tile blocks and scratch: winograd_tiles.h):
// 16 channels per vector, and 12 tiles × 32 output channels per GEMM block (24 of the 32 zmm registers accumulate,
// each kernel row loaded once per 12 tiles instead of 6). Every lane runs the AVX2 kernel's operations
// in the same order — the transforms term by term, then one FMA chain per output over ci — so the
// outputs are bit-identical to it (the tests compare both). Channel tails of 8 take masked lanes.
// Below it, F(4×4, 3×3) on the same tile blocks and GEMM (AVX-512 only).
#include "CKernels.h"
#include "winograd_tiles.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f"), always_inline)) static inline

enum { TILE_BLOCK = WINOGRAD_TILE_BLOCK, GEMM_ROWS = 12 };

int ckernels_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

int ckernels_has_avx512_skylake(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/// The lanes of channels c..<c+16 that exist when there are `count` (a multiple of 8).
AVX512 __mmask16 channel_mask(long c, long count) { return count - c >= 16 ? 0xFFFF : 0x00FF; }

/// V = Bᵀ d B for `tiles` tiles from `first` (row-major over the tw tiles of a row): v[16, TILE_BLOCK, cin].
__attribute__((target("avx512f")))
static void transform_input(const float *xp, long wp, long cin, long tw, long first, long tiles, float *v) {
    const long step = TILE_BLOCK * cin;
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        const float *d = xp + ((2 * ty) * wp + 2 * tx) * cin;
        for (long c = 0; c < cin; c += 16) {
            __mmask16 lanes = channel_mask(c, cin);
            __m512 x[4][4], s[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) x[i][j] = _mm512_maskz_loadu_ps(lanes, d + (i * wp + j) * cin + c);
            for (int j = 0; j < 4; j++) {  // Bᵀ d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3
                s[0][j] = _mm512_sub_ps(x[0][j], x[2][j]);
                s[1][j] = _mm512_add_ps(x[1][j], x[2][j]);
                s[2][j] = _mm512_sub_ps(x[2][j], x[1][j]);
                s[3][j] = _mm512_sub_ps(x[1][j], x[3][j]);
            }
            float *out = v + t * cin + c;
            for (int i = 0; i < 4; i++) {  // (Bᵀ d) B: the same on each row
                _mm512_mask_storeu_ps(out + (i * 4 + 0) * step, lanes, _mm512_sub_ps(s[i][0], s[i][2]));
                _mm512_mask_storeu_ps(out + (i * 4 + 1) * step, lanes, _mm512_add_ps(s[i][1], s[i][2]));
                _mm512_mask_storeu_ps(out + (i * 4 + 2) * step, lanes, _mm512_sub_ps(s[i][2], s[i][1]));
                _mm512_mask_storeu_ps(out + (i * 4 + 3) * step, lanes, _mm512_sub_ps(s[i][1], s[i][3]));
            }
        }
    }
}

/// m[rows, 16·n] = v[rows, cin] · u[cin, 16·n] for `rows` ≤ GEMM_ROWS rows and n ≤ 2 vectors (constants
/// after inlining); the last vector's lanes are `last`.
AVX512 void gemm_rows(const float *v, long cin, const float *u, long cout, float *m, const int rows, const int n,
                      __mmask16 last) {
    __m512 acc[GEMM_ROWS][2];
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < n; k++) acc[r][k] = _mm512_setzero_ps();
    for (long ci = 0; ci < cin; ci++) {
        const float *uc = u + ci * cout;
        __m512 u0 = n == 2 ? _mm512_loadu_ps(uc) : _mm512_maskz_loadu_ps(last, uc);
        __m512 u1 = n == 2 ? _mm512_maskz_loadu_ps(last, uc + 16) : u0;
        for (int r = 0; r < rows; r++) {
            __m512 x = _mm512_set1_ps(v[r * cin + ci]);
            acc[r][0] = _mm512_fmadd_ps(x, u0, acc[r][0]);
            if (n == 2) acc[r][1] = _mm512_fmadd_ps(x, u1, acc[r][1]);
        }
    }
    for (int r = 0; r < rows; r++) {
        if (n == 2) {
            _mm512_storeu_ps(m + r * cout, acc[r][0]);
            _mm512_mask_storeu_ps(m + r * cout + 16, last, acc[r][1]);
        } else {
            _mm512_mask_storeu_ps(m + r * cout, last, acc[r][0]);
        }
    }
}

/// gemm_rows over `tiles` rows: blocks of GEMM_ROWS, then of 4, then the last 1-3 rows as one block. A row's
/// chains are its own whatever the block, so this changes no bits; one row at a time ran 2 dependent chains
/// (a quarter of the FMA pipes), and a batch-1 band of 7 tiles (a 14×14 tile row) was nothing else.
AVX512 void gemm_tiles(const float *v, long cin, const float *u, long cout, float *m, long tiles, const int n,
                       __mmask16 last) {
    long t = 0;
    for (; t + GEMM_ROWS <= tiles; t += GEMM_ROWS) gemm_rows(v + t * cin, cin, u, cout, m + t * cout, GEMM_ROWS, n, last);
    for (; t + 4 <= tiles; t += 4) gemm_rows(v + t * cin, cin, u, cout, m + t * cout, 4, n, last);
    switch (tiles - t) {
    case 3: gemm_rows(v + t * cin, cin, u, cout, m + t * cout, 3, n, last); break;
    case 2: gemm_rows(v + t * cin, cin, u, cout, m + t * cout, 2, n, last); break;
    case 1: gemm_rows(v + t * cin, cin, u, cout, m + t * cout, 1, n, last); break;
    }
}

/// The `elements` products m[elements, TILE_BLOCK, cout] = v[elements, TILE_BLOCK, cin] · u[elements, cin, cout]
/// for `tiles` rows (16 elements for F(2×2, 3×3), 36 for F(4×4, 3×3)).
__attribute__((target("avx512f")))
static void multiply(const float *v, long cin, const float *u, long cout, long tiles, float *m, int elements) {
    for (int e = 0; e < elements; e++) {
        const float *ve = v + e * TILE_BLOCK * cin, *ue = u + e * cin * cout;
        float *me = m + e * TILE_BLOCK * cout;
        for (long co = 0; co < cout; co += 32) {
            long left = cout - co;  // a multiple of 8
            if (left > 16) gemm_tiles(ve, cin, ue + co, cout, me + co, tiles, 2, left >= 32 ? 0xFFFF : 0x00FF);
            else gemm_tiles(ve, cin, ue + co, cout, me + co, tiles, 1, left == 16 ? 0xFFFF : 0x00FF);
        }
    }
}

/// Y = Aᵀ m A (+ bias, relu) for `tiles` tiles from `first`, into y[ho, wo, cout] (pixels ldy apart).
__attribute__((target("avx512f")))
static void transform_output(const float *m, long cout, long tw, long wo, long first, long tiles, float *y, long ldy,
                             const float *bias, int relu) {
    const long step = TILE_BLOCK * cout;
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        float *out = y + ((2 * ty) * wo + 2 * tx) * ldy;
        for (long c = 0; c < cout; c += 16) {
            __mmask16 lanes = channel_mask(c, cout);
            const float *p = m + t * cout + c;
            __m512 s[2][4];
            for (int j = 0; j < 4; j++) {  // Aᵀ m: rows m0 + m1 + m2, m1 - m2 - m3
                __m512 m0 = _mm512_maskz_loadu_ps(lanes, p + (0 * 4 + j) * step);
                __m512 m1 = _mm512_maskz_loadu_ps(lanes, p + (1 * 4 + j) * step);
                __m512 m2 = _mm512_maskz_loadu_ps(lanes, p + (2 * 4 + j) * step);
                __m512 m3 = _mm512_maskz_loadu_ps(lanes, p + (3 * 4 + j) * step);
                s[0][j] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                s[1][j] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
            }
            __m512 b = bias ? _mm512_maskz_loadu_ps(lanes, bias + c) : _mm512_setzero_ps(), zero = _mm512_setzero_ps();
            for (int a = 0; a < 2; a++) {  // (Aᵀ m) A: the same on each row
                __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[a][0], s[a][1]), s[a][2]), b);
                __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[a][1], s[a][2]), s[a][3]), b);
                if (relu) y0 = _mm512_max_ps(y0, zero), y1 = _mm512_max_ps(y1, zero);
                _mm512_mask_storeu_ps(out + (a * wo + 0) * ldy + c, lanes, y0);
                _mm512_mask_storeu_ps(out + (a * wo + 1) * ldy + c, lanes, y1);
            }
        }
    }
}


// F(4×4, 3×3) (Lavin and Gray 2016): a 6×6 input tile gives 4×4 outputs from 36 products per channel
// pair, 2.25 per output against F(2×2, 3×3)'s 4, and 36 transformed inputs per 16 outputs against 16
// per 4. The transforms' larger constants cost accuracy: the kernel transform is rounded once from
// double precision, and the input and output transforms group terms so that no constant exceeds 8.

long ckernels_winograd4_scratch(long cin, long cout) { return 36 * TILE_BLOCK * (cin + cout); }

__attribute__((target("avx512f")))
void ckernels_winograd4_kernel(const float *w, long cin, long cout, long first, long count, float *u) {
    static const double g[6][3] = {
        {1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
        {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
    const long step = cin * cout;
    for (long at = first; at < first + count; at += 8) {  // at = ci * cout + co, 8 in double lanes
        __m512d x[9];
        for (int k = 0; k < 9; k++) x[k] = _mm512_cvtps_pd(_mm256_loadu_ps(w + k * step + at));
        __m512d gw[6][3];  // G w: each product rounded, then summed left to right
        for (int r = 0; r < 6; r++)
            for (int kx = 0; kx < 3; kx++)
                gw[r][kx] = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(g[r][0]), x[kx]),
                                                        _mm512_mul_pd(_mm512_set1_pd(g[r][1]), x[3 + kx])),
                                          _mm512_mul_pd(_mm512_set1_pd(g[r][2]), x[6 + kx]));
        for (int r = 0; r < 6; r++)  // (G w) Gᵀ, rounded once to float
            for (int c = 0; c < 6; c++) {
                const __m512d v = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(gw[r][0], _mm512_set1_pd(g[c][0])),
                                                              _mm512_mul_pd(gw[r][1], _mm512_set1_pd(g[c][1]))),
                                                _mm512_mul_pd(gw[r][2], _mm512_set1_pd(g[c][2])));
                _mm256_storeu_ps(u + (r * 6 + c) * step + at, _mm512_cvtpd_ps(v));
            }
    }
}

/// Bᵀ x for one column of six inputs.
AVX512 void input_column(const __m512 x[6], __m512 r[6]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), five = _mm512_set1_ps(5);
    __m512 d12 = _mm512_add_ps(x[1], x[2]), d1m2 = _mm512_sub_ps(x[1], x[2]);
    __m512 d4m2 = _mm512_sub_ps(x[4], x[2]), d3m1 = _mm512_sub_ps(x[3], x[1]);
    r[0] = _mm512_fmadd_ps(four, x[0], _mm512_fnmadd_ps(five, x[2], x[4]));
    r[1] = _mm512_fnmadd_ps(four, d12, _mm512_add_ps(x[3], x[4]));
    r[2] = _mm512_fmadd_ps(four, d1m2, _mm512_sub_ps(x[4], x[3]));
    r[3] = _mm512_fmadd_ps(two, d3m1, d4m2);
    r[4] = _mm512_fnmadd_ps(two, d3m1, d4m2);
    r[5] = _mm512_fmadd_ps(four, x[1], _mm512_fnmadd_ps(five, x[3], x[5]));
}

/// V = Bᵀ d B for `tiles` 6×6 tiles from `first` (row-major over the tw tiles of a row, 4 pixels apart):
/// v[36, TILE_BLOCK, cin].
__attribute__((target("avx512f")))
static void transform_input4(const float *xp, long wp, long cin, long tw, long first, long tiles, float *v) {
    const long step = TILE_BLOCK * cin;
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        const float *d = xp + ((4 * ty) * wp + 4 * tx) * cin;
        for (long c = 0; c < cin; c += 16) {
            __mmask16 lanes = channel_mask(c, cin);
            __m512 s[6][6];  // s[i][j] = (Bᵀ d)[i][j]
            for (int j = 0; j < 6; j++) {
                __m512 x[6], r[6];
                for (int i = 0; i < 6; i++) x[i] = _mm512_maskz_loadu_ps(lanes, d + (i * wp + j) * cin + c);
                input_column(x, r);
                for (int i = 0; i < 6; i++) s[i][j] = r[i];
            }
            float *out = v + t * cin + c;
            for (int i = 0; i < 6; i++) {  // (Bᵀ d) B: the same on each row
                __m512 r[6];
                input_column(s[i], r);
                for (int j = 0; j < 6; j++) _mm512_mask_storeu_ps(out + (i * 6 + j) * step, lanes, r[j]);
            }
        }
    }
}

/// Aᵀ m for one column of six products: four outputs.
AVX512 void output_column(const __m512 m[6], __m512 y[4]) {
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
    __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    y[1] = _mm512_fmadd_ps(two, d, b);
    y[2] = _mm512_fmadd_ps(four, c, a);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(eight, d, b), m[5]);
}

/// Y = Aᵀ m A (+ bias, relu) for `tiles` tiles from `first`, into y[ho, wo, cout] (pixels ldy apart).
__attribute__((target("avx512f")))
static void transform_output4(const float *m, long cout, long tw, long wo, long first, long tiles, float *y, long ldy,
                              const float *bias, int relu) {
    const long step = TILE_BLOCK * cout;
    for (long t = 0; t < tiles; t++) {
        long ty = (first + t) / tw, tx = (first + t) % tw;
        float *out = y + ((4 * ty) * wo + 4 * tx) * ldy;
        for (long c = 0; c < cout; c += 16) {
            __mmask16 lanes = channel_mask(c, cout);
            const float *p = m + t * cout + c;
            __m512 s[4][6];  // s[a][j] = (Aᵀ m)[a][j]
            for (int j = 0; j < 6; j++) {
                __m512 column[6], r[4];
                for (int i = 0; i < 6; i++) column[i] = _mm512_maskz_loadu_ps(lanes, p + (i * 6 + j) * step);
                output_column(column, r);
                for (int a = 0; a < 4; a++) s[a][j] = r[a];
            }
            __m512 b = bias ? _mm512_maskz_loadu_ps(lanes, bias + c) : _mm512_setzero_ps(), zero = _mm512_setzero_ps();
            for (int a = 0; a < 4; a++) {  // (Aᵀ m) A: the same on each row
                __m512 r[4];
                output_column(s[a], r);
                for (int x = 0; x < 4; x++) {
                    __m512 o = _mm512_add_ps(r[x], b);
                    if (relu) o = _mm512_max_ps(o, zero);
                    _mm512_mask_storeu_ps(out + (a * wo + x) * ldy + c, lanes, o);
                }
            }
        }
    }
}

/// F(tile×tile, 3×3), tile 2 or 4, in blocks of TILE_BLOCK tiles: transform, multiply, transform back.
__attribute__((target("avx512f")))
static void convolve_tiles(int tile, const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                           float *y, long ldy, const float *bias, int relu, float *scratch) {
    const int elements = (tile + 2) * (tile + 2);
    long tw = wo / tile, tiles = (ho / tile) * tw;
    float *v = scratch, *m = scratch + elements * TILE_BLOCK * cin;
    for (long first = 0; first < tiles; first += TILE_BLOCK) {
        long count = tiles - first < TILE_BLOCK ? tiles - first : TILE_BLOCK;
        if (tile == 4) transform_input4(xp, wp, cin, tw, first, count, v);
        else transform_input(xp, wp, cin, tw, first, count, v);
        multiply(v, cin, u, cout, count, m, elements);
        if (tile == 4) transform_output4(m, cout, tw, wo, first, count, y, ldy, bias, relu);
        else transform_output(m, cout, tw, wo, first, count, y, ldy, bias, relu);
    }
}

void ckernels_conv_winograd_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                   float *y, long ldy, const float *bias, int relu, float *scratch) {
    convolve_tiles(2, xp, wp, cin, ho, wo, u, cout, y, ldy, bias, relu, scratch);
}

void ckernels_conv_winograd4_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                    float *y, long ldy, const float *bias, int relu, float *scratch) {
    convolve_tiles(4, xp, wp, cin, ho, wo, u, cout, y, ldy, bias, relu, scratch);
}

#else

int ckernels_has_avx512f(void) { return 0; }
int ckernels_has_avx512_skylake(void) { return 0; }
void ckernels_conv_winograd_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                   float *y, long ldy, const float *bias, int relu, float *scratch) { __builtin_trap(); }
long ckernels_winograd4_scratch(long cin, long cout) { return 0; }
void ckernels_winograd4_kernel(const float *w, long cin, long cout, long first, long count, float *u) {
    __builtin_trap();
}
void ckernels_conv_winograd4_avx512(const float *xp, long wp, long cin, long ho, long wo, const float *u, long cout,
                                    float *y, long ldy, const float *bias, int relu, float *scratch) { __builtin_trap(); }

#endif
