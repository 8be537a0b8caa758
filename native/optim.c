// The optimiser step on the wasm heap: tf.train.adam's update and the global-norm clip's sums of
// squares, one pass per variable instead of ~14 tfjs kernels. Every operation is the float32
// operation tfjs performs, in its order (no FMA contraction, no reciprocals), so the results are
// bit for bit those of the tfjs ops (test/ml/backend/native-optim.test.ts). Checks: kernels.h.
//
// sumSquares(heap, [xOff, n]) → Σ x[i]² as a number (a float32 value): LANE_SUM's order, the order
//   of the native Sum (elementwise.c) over Square.
// adam(heap, p): p = ADAM_PARAMS [wOff, gOff, mOff, vOff, n, scale, beta1, oneMinusBeta1, beta2,
//   oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, negLr, epsilon], in place on w, m and v:
//   g = gIn·scale; m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2);
//   w' = (m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε) · (−lr) + w
//   w, g, m and v must not overlap; the scalars must be float32 values (they are used as float32).
//   (The caller gives it memory no other tensor shares: see src/ml/kernels/native-optim.ts.)
#pragma GCC optimize("fp-contract=off")
#include <string.h>

#include "kernels.h"

VECTORISED static float sum_squares(const float* restrict x, int64_t n) {
  float s;
  LANE_SUM(s, n, i, x[i] * x[i]);
  return s;
}

typedef struct {
  float scale, b1, omb1, b2, omb2, oma1, oma2, neg_lr, eps;
} AdamScalars;

VECTORISED static void adam_f32(float* restrict w, const float* restrict g, float* restrict m, float* restrict v,
                                int64_t n, AdamScalars s) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i] * s.scale;
    const float m1a = m[i] * s.b1, m1b = gi * s.omb1;
    const float m1 = m1a + m1b;
    const float gsq = gi * gi;
    const float v1a = v[i] * s.b2, v1b = gsq * s.omb2;
    const float v1 = v1a + v1b;
    const float mh = m1 / s.oma1, vh = v1 / s.oma2;
    const float den = sqrtf(vh) + s.eps;
    const float q = mh / den;
    const float step = q * s.neg_lr;
    m[i] = m1;
    v[i] = v1;
    w[i] = step + w[i];
  }
}

napi_value SumSquares(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, SUM_SQUARES_NPARAMS, &h)) return NULL;
  int64_t n;
  if (!as_count(h.params[SUM_SQUARES_n], &n)) return fail(env, "sumSquares: n must be an integer in 0..2^31-1");
  const RegionSpec specs[] = {{SUM_SQUARES_xOff, n, "x", IN}};
  Region r[1];
  if (!check_regions(env, "sumSquares", &h, specs, 1, r)) return NULL;
  napi_value out;
  CHECK(env, napi_create_double(env, (double)sum_squares((const float*)(h.base + r[0].off), n), &out));
  return out;
}

static int as_float(double d, float* out) {
  const float f = (float)d;
  if ((double)f != d) return 0; // NaN fails too
  *out = f;
  return 1;
}

napi_value Adam(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, ADAM_NPARAMS, &h)) return NULL;
  int64_t n;
  if (!as_count(h.params[ADAM_n], &n)) return fail(env, "adam: n must be an integer in 0..2^31-1");
  // w, m and v are written: none may overlap another region
  const RegionSpec specs[] = {{ADAM_wOff, n, "w", OUT}, {ADAM_gOff, n, "g", IN}, {ADAM_mOff, n, "m", OUT}, {ADAM_vOff, n, "v", OUT}};
  Region r[4];
  if (!check_regions(env, "adam", &h, specs, 4, r)) return NULL;
  AdamScalars s;
  _Static_assert(ADAM_epsilon - ADAM_scale == 8, "the nine scalars are consecutive in ADAM_PARAMS");
  float* dst[] = {&s.scale, &s.b1, &s.omb1, &s.b2, &s.omb2, &s.oma1, &s.oma2, &s.neg_lr, &s.eps};
  for (int i = 0; i < 9; i++)
    if (!as_float(h.params[ADAM_scale + i], dst[i])) return fail(env, "adam: scalars must be float32 values");
  adam_f32((float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), (float*)(h.base + r[2].off),
           (float*)(h.base + r[3].off), n, s);
  return NULL;
}
