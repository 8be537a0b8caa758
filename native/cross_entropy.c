// The training loss's cross-entropy over the vocabulary fused (src/ml/model/loss.ts crossEntropyOfRows
// through src/ml/kernels/native-cross-entropy.ts), on the wasm heap: one pass per row instead of
// logSoftmax's Max, Sub, Exp, Sum, Log and Sub, the one-hot, its Casts and the Multiply over
// [N, V] forward, and ~10 kernels over [N, V] backward. Each row of V logits is read once from
// memory (the max and the exponentials' sum then run on the row in cache). Checks: kernels.h.
//
// crossEntropy(heap, XENT_PARAMS [logitsOff, targetsOff, lossOff, statsOff, N, V])
//   logits x [N, V] float32, targets t [N] int32; per row n: m = max_v x, ls = log Σ_v exp(x − m),
//   loss[n] = ls − (x[t] − m) = −log softmax(x)[t] (tfjs' logSoftmax in its order); a target
//   outside [0, V) picks nothing (tf.oneHot's zero row): loss 0. stats [N, 2] = (m, ls) for the
//   gradient (statsOff < 0: not stored, outside a gradient tape).
// crossEntropyGrad(heap, XENT_GRAD_PARAMS [logitsOff, targetsOff, statsOff, dyOff, dxOff, N, V])
//   dx[n, v] = dy[n] · (exp((x − m) − ls) − [v = t]); a row whose target is outside [0, V): zeros.
#include "fastmath.h"
#include "kernels.h"

// max of a row of n ≥ 1 values: LANES running maxima (vectorised), then the lanes, then the tail;
// NaN is left to the sum of exponentials (exp of NaN is NaN)
static inline float row_max(const float* restrict x, int64_t n) {
  float acc[LANES];
  for (int l = 0; l < LANES; l++) acc[l] = x[0];
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) acc[l] = x[i + l] > acc[l] ? x[i + l] : acc[l];
  float m = acc[0];
  for (int l = 1; l < LANES; l++) m = acc[l] > m ? acc[l] : m;
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

VECTORISED static void forward(const float* restrict x, const int32_t* restrict t, float* restrict loss,
                               float* restrict stats, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; n++) {
    const float* row = x + n * V;
    const float m = row_max(row, V);
    float s;
    LANE_SUM(s, V, I, exp_one(row[I] - m));
    const float ls = logf(s);
    const int32_t target = t[n];
    loss[n] = target >= 0 && target < V ? ls - (row[target] - m) : 0.0f;
    if (stats != NULL) stats[2 * n] = m, stats[2 * n + 1] = ls;
  }
}

VECTORISED static void backward(const float* restrict x, const int32_t* restrict t, const float* restrict stats,
                                const float* restrict dy, float* restrict dx, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; n++) {
    const float* row = x + n * V;
    float* out = dx + n * V;
    const int32_t target = t[n];
    if (target < 0 || target >= V) {
      for (int64_t v = 0; v < V; v++) out[v] = 0.0f;
      continue;
    }
    const float m = stats[2 * n], ls = stats[2 * n + 1], g = dy[n];
    for (int64_t v = 0; v < V; v++) out[v] = g * exp_one((row[v] - m) - ls);
    out[target] -= g;
  }
}

// N, V ≥ 1 from params[first..first+2), with N·V < 2^31
static int dims(const double* p, int first, int64_t* N, int64_t* V) {
  int64_t d[2], n;
  if (!counts(p, first, 2, 1, d) || !product_of(2, d, &n) || n > (int64_t)MAX_DIM) return 0;
  *N = d[0], *V = d[1];
  return 1;
}

napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, XENT_NPARAMS, &h)) return NULL;
  int64_t N, V;
  if (!dims(h.params, XENT_N, &N, &V)) return fail(env, "crossEntropy: N, V must be integers ≥ 1 (N·V < 2^31)");
  const RegionSpec specs[] = {
      {XENT_logitsOff, N * V, "logits", IN},
      {XENT_targetsOff, N, "targets", IN}, // int32: 4 bytes each
      {XENT_lossOff, N, "loss", OUT},
      {XENT_statsOff, 2 * N, "stats", OUT | OPTIONAL},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "crossEntropy", &h, specs, REGION_COUNT(specs), r)) return NULL;
  const int store = h.params[XENT_statsOff] >= 0;
  forward((const float*)(h.base + r[0].off), (const int32_t*)(h.base + r[1].off), (float*)(h.base + r[2].off),
          store ? (float*)(h.base + r[3].off) : NULL, N, V);
  return NULL;
}

napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, XENT_GRAD_NPARAMS, &h)) return NULL;
  int64_t N, V;
  if (!dims(h.params, XENT_GRAD_N, &N, &V))
    return fail(env, "crossEntropyGrad: N, V must be integers ≥ 1 (N·V < 2^31)");
  const RegionSpec specs[] = {
      {XENT_GRAD_logitsOff, N * V, "logits", IN}, {XENT_GRAD_targetsOff, N, "targets", IN},
      {XENT_GRAD_statsOff, 2 * N, "stats", IN},   {XENT_GRAD_dyOff, N, "dy", IN},
      {XENT_GRAD_dxOff, N * V, "dx", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "crossEntropyGrad", &h, specs, REGION_COUNT(specs), r)) return NULL;
  backward((const float*)(h.base + r[0].off), (const int32_t*)(h.base + r[1].off), (const float*)(h.base + r[2].off),
           (const float*)(h.base + r[3].off), (float*)(h.base + r[4].off), N, V);
  return NULL;
}
