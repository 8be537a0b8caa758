// The decoding step's products alone: native/few_rows.h (the weights packed once, as the decoding step
// gets them; the packing is not timed) against OpenBLAS's
// sgemm (sgemv for one row), one thread, at the reference model's shapes (bench/shapes.ts: U 512,
// E + D 512, V 5000) and 1..96 rows (greedy b1/b16 run 1/16 rows per step; beam 3 b1/b16: 3/48).
//   cc -O3 -fno-trapping-math -fno-math-errno bench/few-rows.c -o /tmp/few-rows -lopenblas
//   OPENBLAS_CORETYPE=SkylakeX [BLAS_THREADS=2] /tmp/few-rows [reps]   (the core the worker picks: native-addon.ts)
// Prints the fastest of `reps` (default 25) alternations of the two (ms, GFLOP/s) and the load average.
// BLAS_THREADS: OpenBLAS's threads (default 1); few_rows.h always runs on the calling thread.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../native/few_rows.h"

// w [K, N] → [ceil(N/16), K, 16], zeros past N (what src/ml/kernels/native-decode-step.ts, packPanels, builds)
static float* pack_panels(int K, int N, const float* w) {
  const long chunks = (N + PANEL_COLS - 1) / PANEL_COLS;
  float* wp = malloc(sizeof(float) * PANELS_OF((long)K, N));
  for (long q = 0; q < chunks; q++)
    for (long k = 0; k < K; k++)
      for (long i = 0; i < PANEL_COLS; i++) {
        const long j = q * PANEL_COLS + i;
        wp[(q * K + k) * PANEL_COLS + i] = j < N ? w[k * N + j] : 0.0f;
      }
  return wp;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 25;
  openblas_set_num_threads(getenv("BLAS_THREADS") != NULL ? atoi(getenv("BLAS_THREADS")) : 1); // OpenBLAS side only
  const struct {
    const char* name;
    int K, N;
  } products[] = {{"state [U, 4U]", 512, 2048}, {"GRU input [E + D, 3U]", 512, 1536}, {"fc2 [U, V]", 512, 5000}};
  const int rows[] = {1, 2, 3, 4, 8, 16, 32, 48, 64, 96};
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  printf("load average %.1f %.1f %.1f; fastest of %d; OpenBLAS on %d thread(s)\n", load[0], load[1], load[2], reps,
         openblas_get_num_threads());
  printf("| product | rows | few_rows ms | GFLOP/s | OpenBLAS ms | GFLOP/s |\n|---|---:|---:|---:|---:|---:|\n");
  for (size_t p = 0; p < sizeof products / sizeof products[0]; p++) {
    const int K = products[p].K, N = products[p].N;
    float* w = malloc(sizeof(float) * K * N);
    float* a = malloc(sizeof(float) * 96 * K);
    float* c = malloc(sizeof(float) * 96 * N);
    for (long i = 0; i < (long)K * N; i++) w[i] = (float)(i % 97) / 97.0f - 0.5f;
    for (long i = 0; i < 96L * K; i++) a[i] = (float)(i % 13) / 13.0f - 0.5f;
    float* wp = pack_panels(K, N, w);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
      const int M = rows[r];
      double best[2] = {1e30, 1e30};
      for (int rep = 0; rep < reps; rep++) {
        memset(c, 0, sizeof(float) * M * N);
        double t0 = now_ms();
        few_rows(M, N, K, a, K, wp, c);
        const double t1 = now_ms();
        memset(c, 0, sizeof(float) * M * N);
        const double t2 = now_ms();
        if (M == 1) cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.0f, w, N, a, 1, 1.0f, c, 1);
        else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, w, N, 1.0f, c, N);
        const double t3 = now_ms();
        best[0] = t1 - t0 < best[0] ? t1 - t0 : best[0];
        best[1] = t3 - t2 < best[1] ? t3 - t2 : best[1];
      }
      const double mflop = 2.0 * M * N * K / 1e6;
      printf("| %s | %d | %.3f | %.0f | %.3f | %.0f |\n", products[p].name, M, best[0], mflop / best[0], best[1],
             mflop / best[1]);
    }
    free(w);
    free(wp);
    free(a);
    free(c);
  }
  return 0;
}
