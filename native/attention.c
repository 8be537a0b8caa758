// Bahdanau attention's score layer fused, and with the softmax (attnSoftmax, at the end), on the wasm
// heap (src/ml/kernels/native-attention.ts, native-attention-softmax.ts):
// one pass over [B, L, U] instead of an Add, a Tanh and a matrix–vector product forward and
// ~6 kernels backward. Checks: kernels.h (outputs overlap no input nor each other).
//
// attnScores(heap, ATTN_PARAMS [keysOff, qOff, vOff, scoresOff, hiddenOff, B, L, U])
//   hidden[b, l, u] = tanh(keys[b, l, u] + q[b, u]); scores[b, l] = Σ_u hidden[b, l, u]·v[u]
//   (hiddenOff < 0: hidden is not stored, for decoding)
// attnScoresGrad(heap, ATTN_GRAD_PARAMS [hiddenOff, vOff, dsOff, dkeysOff, dqOff, dvOff, B, L, U])
//   dkeys[b, l, u] = ds[b, l]·v[u]·(1 − hidden²); dq[b, u] = Σ_l dkeys[b, l, u];
//   dv[u] = Σ_{b, l} hidden[b, l, u]·ds[b, l]
#include <string.h>

#include "fastmath.h"
#include "kernels.h"

// tanh(k[u] + q[u])·v[u], storing the tanh value in h[u] when `store`
static inline float score_term(const float* restrict k, const float* restrict q, const float* restrict v,
                               float* restrict h, int64_t u, const int store) {
  const float t = tanh_one(k[u] + q[u]);
  if (store) h[u] = t;
  return t * v[u];
}

// one row: Σ_u tanh(k[u] + q[u])·v[u] in LANE_SUM's order
static inline float score_row(const float* restrict k, const float* restrict q, const float* restrict v,
                              float* restrict h, int64_t U, const int store) {
  float s;
  LANE_SUM(s, U, u, score_term(k, q, v, h, u, store));
  return s;
}

VECTORISED static void scores_store(const float* restrict keys, const float* restrict q, const float* restrict v,
                                    float* restrict scores, float* restrict hidden, int64_t B, int64_t L, int64_t U) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++)
      scores[b * L + l] = score_row(keys + (b * L + l) * U, q + b * U, v, hidden + (b * L + l) * U, U, 1);
}

VECTORISED static void scores_only(const float* restrict keys, const float* restrict q, const float* restrict v,
                                   float* restrict scores, int64_t B, int64_t L, int64_t U) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++) scores[b * L + l] = score_row(keys + (b * L + l) * U, q + b * U, v, NULL, U, 0);
}

VECTORISED static void scores_grad_f32(const float* restrict hidden, const float* restrict v, const float* restrict ds,
                                       float* restrict dkeys, float* restrict dq, float* restrict dv, int64_t B,
                                       int64_t L, int64_t U) {
  memset(dv, 0, (size_t)U * sizeof(float));
  for (int64_t b = 0; b < B; b++) {
    float* dqb = dq + b * U;
    memset(dqb, 0, (size_t)U * sizeof(float));
    for (int64_t l = 0; l < L; l++) {
      const float d = ds[b * L + l];
      const float* h = hidden + (b * L + l) * U;
      float* dk = dkeys + (b * L + l) * U;
      for (int64_t u = 0; u < U; u++) {
        const float t = h[u];
        const float g = d * v[u] * (1.0f - t * t);
        dk[u] = g;
        dqb[u] += g;
        dv[u] += t * d;
      }
    }
  }
}

// B, L, U ≥ 1 from params[first..first+3), with B·L·U < 2^31
static int dims(const double* p, int first, int64_t* B, int64_t* L, int64_t* U) {
  int64_t d[3], blu;
  if (!counts(p, first, 3, 1, d) || !product_of(3, d, &blu) || blu > (int64_t)MAX_DIM) return 0;
  *B = d[0], *L = d[1], *U = d[2];
  return 1;
}

napi_value AttnScores(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, ATTN_NPARAMS, &h)) return NULL;
  int64_t B, L, U;
  if (!dims(h.params, ATTN_B, &B, &L, &U)) return fail(env, "attnScores: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  const RegionSpec specs[] = {
      {ATTN_keysOff, B * L * U, "keys", IN},          {ATTN_qOff, B * U, "q", IN},
      {ATTN_vOff, U, "v", IN},                        {ATTN_scoresOff, B * L, "scores", OUT},
      {ATTN_hiddenOff, B * L * U, "hidden", OUT | OPTIONAL},
  };
  Region r[5];
  if (!check_regions(env, "attnScores", &h, specs, 5, r)) return NULL;
  const float *k = (const float*)(h.base + r[0].off), *q = (const float*)(h.base + r[1].off),
              *v = (const float*)(h.base + r[2].off);
  float* scores = (float*)(h.base + r[3].off);
  if (h.params[ATTN_hiddenOff] >= 0) scores_store(k, q, v, scores, (float*)(h.base + r[4].off), B, L, U);
  else scores_only(k, q, v, scores, B, L, U);
  return NULL;
}

napi_value AttnScoresGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, ATTN_GRAD_NPARAMS, &h)) return NULL;
  int64_t B, L, U;
  if (!dims(h.params, ATTN_GRAD_B, &B, &L, &U))
    return fail(env, "attnScoresGrad: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  const RegionSpec specs[] = {
      {ATTN_GRAD_hiddenOff, B * L * U, "hidden", IN}, {ATTN_GRAD_vOff, U, "v", IN},
      {ATTN_GRAD_dsOff, B * L, "ds", IN},             {ATTN_GRAD_dkeysOff, B * L * U, "dkeys", OUT},
      {ATTN_GRAD_dqOff, B * U, "dq", OUT},            {ATTN_GRAD_dvOff, U, "dv", OUT},
  };
  Region r[6];
  if (!check_regions(env, "attnScoresGrad", &h, specs, 6, r)) return NULL;
  scores_grad_f32((const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), (const float*)(h.base + r[2].off),
                  (float*)(h.base + r[3].off), (float*)(h.base + r[4].off), (float*)(h.base + r[5].off), B, L, U);
  return NULL;
}

// ---- the attention weights fused: scores and softmax ----------------------------------------
// attnSoftmax(heap, ATTN_SOFTMAX_PARAMS [keysOff, qOff, vOff, alphaOff, hiddenOff, B, L, U])
//   scores as attnScores (hidden stored unless hiddenOff < 0); α[b] = softmax(scores[b]) over L
// attnSoftmaxGrad(heap, ATTN_SOFTMAX_GRAD_PARAMS [hiddenOff, vOff, alphaOff, dalphaOff, dkeysOff, dqOff, dvOff, B, L, U])
//   ds[b, l] = α[b, l]·(dα[b, l] − Σ_l' α[b, l']·dα[b, l']), then dkeys, dq, dv from ds as attnScoresGrad
// (The context Σ_l α·features stays a matrix product on OpenBLAS: a kernel with a second output would
// make tfjs fill a zero gradient of the stored tanh values at every step.)
VECTORISED static void softmax_f32(const float* restrict keys, const float* restrict q, const float* restrict v,
                                   float* restrict alpha, float* restrict hidden, int64_t B, int64_t L, int64_t U) {
  for (int64_t b = 0; b < B; b++) {
    float* a = alpha + b * L;
    float top = -INFINITY;
    for (int64_t l = 0; l < L; l++) {
      const float* k = keys + (b * L + l) * U;
      a[l] = hidden != NULL ? score_row(k, q + b * U, v, hidden + (b * L + l) * U, U, 1)
                            : score_row(k, q + b * U, v, NULL, U, 0);
      top = a[l] > top ? a[l] : top;
    }
    float sum = 0;
    for (int64_t l = 0; l < L; l++) {
      a[l] = exp_one(a[l] - top);
      sum += a[l];
    }
    for (int64_t l = 0; l < L; l++) a[l] /= sum;
  }
}

VECTORISED static void softmax_grad_f32(const float* restrict hidden, const float* restrict v,
                                        const float* restrict alpha, const float* restrict dalpha,
                                        float* restrict dkeys, float* restrict dq, float* restrict dv, int64_t B,
                                        int64_t L, int64_t U) {
  memset(dv, 0, (size_t)U * sizeof(float));
  for (int64_t b = 0; b < B; b++) {
    const float *a = alpha + b * L, *da = dalpha + b * L;
    float dot = 0;
    for (int64_t l = 0; l < L; l++) dot += a[l] * da[l];
    float* dqb = dq + b * U;
    memset(dqb, 0, (size_t)U * sizeof(float));
    for (int64_t l = 0; l < L; l++) {
      const float d = a[l] * (da[l] - dot);
      const float* h = hidden + (b * L + l) * U;
      float* dk = dkeys + (b * L + l) * U;
      for (int64_t u = 0; u < U; u++) {
        const float t = h[u];
        const float g = d * v[u] * (1.0f - t * t);
        dk[u] = g;
        dqb[u] += g;
        dv[u] += t * d;
      }
    }
  }
}

napi_value AttnSoftmax(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, ATTN_SOFTMAX_NPARAMS, &h)) return NULL;
  int64_t B, L, U;
  if (!dims(h.params, ATTN_SOFTMAX_B, &B, &L, &U))
    return fail(env, "attnSoftmax: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  const RegionSpec specs[] = {
      {ATTN_SOFTMAX_keysOff, B * L * U, "keys", IN}, {ATTN_SOFTMAX_qOff, B * U, "q", IN},
      {ATTN_SOFTMAX_vOff, U, "v", IN},               {ATTN_SOFTMAX_alphaOff, B * L, "alpha", OUT},
      {ATTN_SOFTMAX_hiddenOff, B * L * U, "hidden", OUT | OPTIONAL},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "attnSoftmax", &h, specs, REGION_COUNT(specs), r)) return NULL;
  const int store = h.params[ATTN_SOFTMAX_hiddenOff] >= 0;
  softmax_f32((const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), (const float*)(h.base + r[2].off),
              (float*)(h.base + r[3].off), store ? (float*)(h.base + r[4].off) : NULL, B, L, U);
  return NULL;
}

napi_value AttnSoftmaxGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, ATTN_SOFTMAX_GRAD_NPARAMS, &h)) return NULL;
  int64_t B, L, U;
  if (!dims(h.params, ATTN_SOFTMAX_GRAD_B, &B, &L, &U))
    return fail(env, "attnSoftmaxGrad: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  const RegionSpec specs[] = {
      {ATTN_SOFTMAX_GRAD_hiddenOff, B * L * U, "hidden", IN}, {ATTN_SOFTMAX_GRAD_vOff, U, "v", IN},
      {ATTN_SOFTMAX_GRAD_alphaOff, B * L, "alpha", IN},       {ATTN_SOFTMAX_GRAD_dalphaOff, B * L, "dalpha", IN},
      {ATTN_SOFTMAX_GRAD_dkeysOff, B * L * U, "dkeys", OUT},  {ATTN_SOFTMAX_GRAD_dqOff, B * U, "dq", OUT},
      {ATTN_SOFTMAX_GRAD_dvOff, U, "dv", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "attnSoftmaxGrad", &h, specs, REGION_COUNT(specs), r)) return NULL;
  softmax_grad_f32((const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off),
                   (const float*)(h.base + r[2].off), (const float*)(h.base + r[3].off), (float*)(h.base + r[4].off),
                   (float*)(h.base + r[5].off), (float*)(h.base + r[6].off), B, L, U);
  return NULL;
}
