// Bahdanau attention's score layer fused, on the wasm heap (src/ml/kernels/native-attention.ts):
// one pass over [B, L, U] instead of an Add, a Tanh and a matrix–vector product forward and
// ~6 kernels backward. Same checks as gemm: every region inside the heap, outputs overlapping no
// input nor each other, nothing written outside the outputs.
//
// attnScores(heap, [keysOff, qOff, vOff, scoresOff, hiddenOff, B, L, U])
//   hidden[b, l, u] = tanh(keys[b, l, u] + q[b, u]); scores[b, l] = Σ_u hidden[b, l, u]·v[u]
//   (hiddenOff < 0: hidden is not stored, for decoding)
// attnScoresGrad(heap, [hiddenOff, vOff, dsOff, dkeysOff, dqOff, dvOff, B, L, U])
//   dkeys[b, l, u] = ds[b, l]·v[u]·(1 − hidden²); dq[b, u] = Σ_l dkeys[b, l, u];
//   dv[u] = Σ_{b, l} hidden[b, l, u]·ds[b, l]
#include <string.h>

#include "fastmath.h"
#include "heap.h"

#define LANES 16

// one row: Σ_u tanh(k[u] + q[u])·v[u], storing the tanh values in h when `store`
static inline float score_row(const float* restrict k, const float* restrict q, const float* restrict v,
                              float* restrict h, int64_t U, const int store) {
  float acc[LANES] = {0};
  int64_t u = 0;
  for (; u + LANES <= U; u += LANES) {
    for (int j = 0; j < LANES; j++) {
      const float t = tanh_one(k[u + j] + q[u + j]);
      if (store) h[u + j] = t;
      acc[j] += t * v[u + j];
    }
  }
  float s = 0;
  for (int j = 0; j < LANES; j++) s += acc[j];
  for (; u < U; u++) {
    const float t = tanh_one(k[u] + q[u]);
    if (store) h[u] = t;
    s += t * v[u];
  }
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

static int dims(const double* p, int64_t* B, int64_t* L, int64_t* U) {
  int64_t bl, blu;
  return as_count(p[0], B) && as_count(p[1], L) && as_count(p[2], U) && *B >= 1 && *L >= 1 && *U >= 1 &&
         !__builtin_mul_overflow(*B, *L, &bl) && !__builtin_mul_overflow(bl, *U, &blu) && blu <= 2147483647;
}

napi_value AttnScores(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 8, &base, &len, &p)) return NULL;
  int64_t B, L, U;
  if (!dims(p + 5, &B, &L, &U)) return fail(env, "attnScores: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  const int store = p[4] >= 0;
  Region rk, rq, rv, rs, rh = {0, 0};
  if (!region(p[0], B * L * U, len, &rk)) return fail(env, "attnScores: keys lie outside the heap (or are misaligned)");
  if (!region(p[1], B * U, len, &rq)) return fail(env, "attnScores: q lies outside the heap (or is misaligned)");
  if (!region(p[2], U, len, &rv)) return fail(env, "attnScores: v lies outside the heap (or is misaligned)");
  if (!region(p[3], B * L, len, &rs)) return fail(env, "attnScores: scores lie outside the heap (or are misaligned)");
  if (store && !region(p[4], B * L * U, len, &rh))
    return fail(env, "attnScores: hidden lies outside the heap (or is misaligned)");
  const Region ins[3] = {rk, rq, rv};
  for (int i = 0; i < 3; i++)
    if (overlaps(ins[i], rs) || overlaps(ins[i], rh)) return fail(env, "attnScores: an output overlaps an input");
  if (overlaps(rs, rh)) return fail(env, "attnScores: the outputs overlap");
  const float *k = (const float*)(base + rk.off), *q = (const float*)(base + rq.off), *v = (const float*)(base + rv.off);
  if (store) scores_store(k, q, v, (float*)(base + rs.off), (float*)(base + rh.off), B, L, U);
  else scores_only(k, q, v, (float*)(base + rs.off), B, L, U);
  return NULL;
}

napi_value AttnScoresGrad(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 9, &base, &len, &p)) return NULL;
  int64_t B, L, U;
  if (!dims(p + 6, &B, &L, &U)) return fail(env, "attnScoresGrad: B, L, U must be integers ≥ 1 (B·L·U < 2^31)");
  Region r[6];
  const int64_t sizes[6] = {B * L * U, U, B * L, B * L * U, B * U, U};
  for (int i = 0; i < 6; i++)
    if (!region(p[i], sizes[i], len, &r[i])) return fail(env, "attnScoresGrad: a region lies outside the heap (or is misaligned)");
  for (int o = 3; o < 6; o++) {
    for (int i = 0; i < o; i++)
      if (overlaps(r[i], r[o])) return fail(env, "attnScoresGrad: an output overlaps an input or another output");
  }
  scores_grad_f32((const float*)(base + r[0].off), (const float*)(base + r[1].off), (const float*)(base + r[2].off),
                  (float*)(base + r[3].off), (float*)(base + r[4].off), (float*)(base + r[5].off), B, L, U);
  return NULL;
}
