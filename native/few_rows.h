// A few rows against a large weight matrix, c [M, N] += a [M, K] · w [K, N] (row-major), for the
// decoding step's products (decode_step.c) and its benchmark (bench/few-rows.c). Header-only: every
// function is static.
//
// OpenBLAS's sgemm packs the whole weight matrix at every call: with a few rows that copy weighs as
// much as the arithmetic (the state product [16, 512]·[512, 2048]: 50 GFLOP/s on sgemm, 103 here;
// bench/few-rows.c, bench/README.md). Here the weights are read in place: a block of up to 4 rows ×
// 64 columns kept in vector registers over the whole K, the columns' panel of the weights staying in
// L2 across the row blocks.
#ifndef GLIMPSE_FEW_ROWS_H
#define GLIMPSE_FEW_ROWS_H
#include <stdint.h>
#include <string.h>

#ifndef VECTORISED // as kernels.h (the benchmark compiles this header alone)
#if defined(__x86_64__) && defined(__GNUC__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif
#endif

// the weights of one column panel, re-read from L2 by each block of rows
#ifndef FEW_ROWS_PANEL_BYTES
#define FEW_ROWS_PANEL_BYTES (256 * 1024)
#endif

typedef float v16 __attribute__((vector_size(64)));

// unaligned loads and stores (macros: a function passing vectors by value changes with the target)
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v16))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v16))

// c_r[q·16 .. q·16+16) += Σ_k a_r[k]·w[k, q·16 ..] for rows r < R ≤ 4 (row pointers: a row may repeat,
// its accumulators then load and store the same values), q < Q ≤ 4 (R, Q constants once inlined)
static inline __attribute__((always_inline)) void block(const int R, const int Q, const float* const* a,
                                                        const float* restrict w, int64_t ldw, float* const* c,
                                                        int64_t K) {
  v16 acc[4][4];
  for (int r = 0; r < R; r++)
    for (int q = 0; q < Q; q++) LOAD16(acc[r][q], c[r] + 16 * q);
  for (int64_t k = 0; k < K; k++) {
    const float* wk = w + k * ldw;
    v16 wv[4];
    for (int q = 0; q < Q; q++) LOAD16(wv[q], wk + 16 * q);
    for (int r = 0; r < R; r++) {
      const float s = a[r][k];
      for (int q = 0; q < Q; q++) acc[r][q] += s * wv[q];
    }
  }
  for (int r = 0; r < R; r++)
    for (int q = 0; q < Q; q++) STORE16(c[r] + 16 * q, acc[r][q]);
}

// rows a_r, c_r (r < R) against columns [j0, j0 + n) of w [K, N]: 64 columns at a time, then 16, then one by one
static inline __attribute__((always_inline)) void rows_block(const int R, const float* const* a, const float* restrict w,
                                                             int64_t N, int64_t j0, int64_t n, float* const* c,
                                                             int64_t K) {
  int64_t j = j0;
  float* cj[4];
  for (; j + 64 <= j0 + n; j += 64) {
    for (int r = 0; r < R; r++) cj[r] = c[r] + j;
    block(R, 4, a, w + j, N, cj, K);
  }
  for (; j + 16 <= j0 + n; j += 16) {
    for (int r = 0; r < R; r++) cj[r] = c[r] + j;
    block(R, 1, a, w + j, N, cj, K);
  }
  for (; j < j0 + n; j++) {
    float s[4];
    for (int r = 0; r < R; r++) {
      s[r] = 0;
      for (int64_t k = 0; k < K; k++) s[r] += a[r][k] * w[k * N + j];
    }
    for (int r = 0; r < R; r++) s[r] += c[r][j]; // every row read before any is written (rows may repeat)
    for (int r = 0; r < R; r++) c[r][j] = s[r];
  }
}

// c [M, N] += a [M, K] (row stride lda) · w [K, N], row-major, in column panels whose weights
// (≈ 256 KiB) stay in L2 across the row blocks: blocks of 4 rows (the last one repeating its last
// row where 2 or 3 are left: 4 rows cost what 3 do), a single row alone
VECTORISED static void few_rows(int64_t M, int64_t N, int64_t K, const float* restrict a, int64_t lda,
                                const float* restrict w, float* restrict c) {
  const int64_t fit = (FEW_ROWS_PANEL_BYTES / 4) / K / 64 * 64;
  const int64_t panel = fit > 64 ? fit : 64; // columns per pass over the rows
  for (int64_t j0 = 0; j0 < N; j0 += panel) {
    const int64_t n = N - j0 < panel ? N - j0 : panel;
    for (int64_t i = 0; i < M; i += 4) {
      const float* ar[4];
      float* cr[4];
      for (int r = 0; r < 4; r++) {
        const int64_t row = i + r < M ? i + r : M - 1;
        ar[r] = a + row * lda;
        cr[r] = c + row * N;
      }
      if (M - i == 1) rows_block(1, ar, w, N, j0, n, cr, K);
      else rows_block(4, ar, w, N, j0, n, cr, K);
    }
  }
}

#endif
