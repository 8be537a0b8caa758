// A few rows against a large weight matrix packed once, c [M, N] += a [M, K] · w [K, N], for the
// decoding step's products (decode_step.c) and its benchmark (bench/few-rows.c). Header-only: every
// function is static.
//
// The weights come packed in column chunks of 16 (PANELS_OF: [ceil(N/16), K, 16], chunk q holding
// columns 16q..16q+15 of every row k, zeros past N; built once per served model by
// src/ml/kernels/native-decode-step.ts, packDecodeWeights). Read in place, a row-major [K, N] matrix
// made each k a new page and, where N·4 bytes is a power of two (the state kernel's 2048 columns),
// every k the same cache sets: the column panel fell out of L2 between row blocks and the product
// ran at ~40 GFLOP/s here; packed, each chunk is one sequential stream (~90 GFLOP/s, one row as
// well, faster than sgemv: bench/few-rows.c). A block of up to 6 rows × 4 chunks (64 columns) stays
// in vector registers over the whole K; the weights of a panel of chunks stay in L2 across the row
// blocks.
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

// columns per packed chunk, and the packed size of a [K, N] matrix in floats
#define PANEL_COLS 16
#define PANELS_OF(K, N) ((((N) + PANEL_COLS - 1) / PANEL_COLS) * (K) * PANEL_COLS)

// the weights of one column panel, re-read from L2 by each block of rows
#ifndef FEW_ROWS_PANEL_BYTES
#define FEW_ROWS_PANEL_BYTES (256 * 1024)
#endif

#define FEW_ROWS_R 6 // rows per block: 6 × 4 accumulators and 4 weight vectors in 32 registers
#define FEW_ROWS_Q 4 // chunks per block

typedef float v16 __attribute__((vector_size(64)));

// unaligned loads and stores (macros: a function passing vectors by value changes with the target)
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v16))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v16))

// c_r[j + 16q ..] += Σ_k a_r[k]·chunk q of w (at w + q·K·16) for rows r < R ≤ 6, chunks q < Q ≤ 4
// (R, Q constants once inlined); columns past N (the last chunk's zeros) are not written
static inline __attribute__((always_inline)) void block(const int R, const int Q, const float* const* a,
                                                        const float* restrict w, int64_t K, float* const* c,
                                                        int64_t j, int64_t N) {
  v16 acc[FEW_ROWS_R][FEW_ROWS_Q];
  for (int r = 0; r < R; r++)
    for (int q = 0; q < Q; q++) acc[r][q] = (v16){0};
  for (int64_t k = 0; k < K; k++) {
    v16 wv[FEW_ROWS_Q];
    for (int q = 0; q < Q; q++) LOAD16(wv[q], w + (q * K + k) * PANEL_COLS);
    for (int r = 0; r < R; r++) {
      const float s = a[r][k];
      for (int q = 0; q < Q; q++) acc[r][q] += s * wv[q];
    }
  }
  for (int r = 0; r < R; r++)
    for (int q = 0; q < Q; q++) {
      const int64_t col = j + PANEL_COLS * q;
      if (col + PANEL_COLS <= N) {
        v16 o;
        LOAD16(o, c[r] + col);
        o += acc[r][q];
        STORE16(c[r] + col, o);
      } else {
        float t[PANEL_COLS];
        STORE16(t, acc[r][q]);
        for (int64_t i = 0; col + i < N; i++) c[r][col + i] += t[i];
      }
    }
}

#define FEW_ROWS_CASE(RR, QQ)                          \
  case (RR) * 8 + (QQ):                                \
    block((RR), (QQ), a, w, K, c, j, N);               \
    break;
#define FEW_ROWS_CASES(RR) \
  FEW_ROWS_CASE(RR, 1) FEW_ROWS_CASE(RR, 2) FEW_ROWS_CASE(RR, 3) FEW_ROWS_CASE(RR, 4)

// one block, R and Q known at run time
static inline __attribute__((always_inline)) void any_block(int R, int Q, const float* const* a,
                                                            const float* restrict w, int64_t K, float* const* c,
                                                            int64_t j, int64_t N) {
  switch (R * 8 + Q) {
    FEW_ROWS_CASES(1)
    FEW_ROWS_CASES(2)
    FEW_ROWS_CASES(3)
    FEW_ROWS_CASES(4)
    FEW_ROWS_CASES(5)
    FEW_ROWS_CASES(6)
    default:
      break;
  }
}

// c [M, N] (row stride N) += a [M, K] (row stride lda) · w, w packed (PANELS_OF(K, N) floats), in
// column panels of ≈ FEW_ROWS_PANEL_BYTES, each swept by blocks of 6 rows (the rest in one block)
VECTORISED static void few_rows(int64_t M, int64_t N, int64_t K, const float* restrict a, int64_t lda,
                                const float* restrict wp, float* restrict c) {
  const int64_t chunks = (N + PANEL_COLS - 1) / PANEL_COLS;
  int64_t panel = (FEW_ROWS_PANEL_BYTES / 4) / (K * PANEL_COLS) / FEW_ROWS_Q * FEW_ROWS_Q;
  panel = panel > FEW_ROWS_Q ? panel : FEW_ROWS_Q; // chunks per pass over the rows
  for (int64_t p0 = 0; p0 < chunks; p0 += panel) {
    const int64_t p1 = p0 + panel < chunks ? p0 + panel : chunks;
    for (int64_t i = 0; i < M; i += FEW_ROWS_R) {
      const int R = (int)(M - i < FEW_ROWS_R ? M - i : FEW_ROWS_R);
      const float* a_rows[FEW_ROWS_R];
      float* c_rows[FEW_ROWS_R];
      for (int r = 0; r < R; r++) {
        a_rows[r] = a + (i + r) * lda;
        c_rows[r] = c + (i + r) * N;
      }
      for (int64_t q = p0; q < p1; q += FEW_ROWS_Q) {
        const int Q = (int)(p1 - q < FEW_ROWS_Q ? p1 - q : FEW_ROWS_Q);
        any_block(R, Q, a_rows, wp + q * K * PANEL_COLS, K, c_rows, q * PANEL_COLS, N);
      }
    }
  }
}

#endif
