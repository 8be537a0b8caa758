// The optimiser step on the wasm heap: tf.train.adam's update and the global-norm clip's sums of
// squares, one pass per variable instead of ~14 tfjs kernels. Every operation is the float32
// operation tfjs performs, in its order (no FMA contraction, no reciprocals), so the results are
// bit for bit those of the tfjs ops (test/ml/backend/native-optim.test.ts). Same checks as gemm.
//
// sumSquares(heap, [xOff, n]) → Σ x[i]² as a number (a float32 value): the order of native Sum
//   over Square (elementwise.c's sum_rows: 16 running lanes, then the lanes, then the tail).
// adam(heap, p): p = [wOff, gOff, mOff, vOff, n, scale, beta1, oneMinusBeta1, beta2,
//   oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, negLr, epsilon], in place on w, m and v:
//   g = gIn·scale; m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2);
//   w' = (m'/(1−β1ᵗ)) / (sqrt(v'/(1−β2ᵗ)) + ε) · (−lr) + w
//   w, g, m and v must not overlap; the scalars must be float32 values (they are used as float32).
//   (The caller gives it memory no other tensor shares: see src/ml/kernels/native-optim.ts.)
#pragma GCC optimize("fp-contract=off")
#include <string.h>

#include "heap.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

#define LANES 16

VECTORISED static float sum_squares(const float* restrict x, int64_t n) {
  float acc[LANES] = {0};
  int64_t r = 0;
  for (; r + LANES <= n; r += LANES)
    for (int l = 0; l < LANES; l++) {
      const float sq = x[r + l] * x[r + l];
      acc[l] += sq;
    }
  float s = 0;
  for (int l = 0; l < LANES; l++) s += acc[l];
  for (; r < n; r++) {
    const float sq = x[r] * x[r];
    s += sq;
  }
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
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 2, &base, &len, &p)) return NULL;
  int64_t n;
  Region rx;
  if (!as_count(p[1], &n)) return fail(env, "sumSquares: n must be an integer in 0..2^31-1");
  if (!region(p[0], n, len, &rx)) return fail(env, "sumSquares: x lies outside the heap (or is misaligned)");
  napi_value out;
  CHECK(env, napi_create_double(env, (double)sum_squares((const float*)(base + rx.off), n), &out));
  return out;
}

static int as_float(double d, float* out) {
  const float f = (float)d;
  if ((double)f != d) return 0; // NaN fails too
  *out = f;
  return 1;
}

napi_value Adam(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 14, &base, &len, &p)) return NULL;
  int64_t n;
  if (!as_count(p[4], &n)) return fail(env, "adam: n must be an integer in 0..2^31-1");
  Region r[4];
  const char* names[4] = {"adam: w lies outside the heap (or is misaligned)", "adam: g lies outside the heap (or is misaligned)",
                          "adam: m lies outside the heap (or is misaligned)", "adam: v lies outside the heap (or is misaligned)"};
  for (int i = 0; i < 4; i++)
    if (!region(p[i], n, len, &r[i])) return fail(env, names[i]);
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      if (overlaps(r[i], r[j])) return fail(env, "adam: w, g, m and v must not overlap");
  AdamScalars s;
  float* dst[9] = {&s.scale, &s.b1, &s.omb1, &s.b2, &s.omb2, &s.oma1, &s.oma2, &s.neg_lr, &s.eps};
  for (int i = 0; i < 9; i++)
    if (!as_float(p[5 + i], dst[i])) return fail(env, "adam: scalars must be float32 values");
  adam_f32((float*)(base + r[0].off), (const float*)(base + r[1].off), (float*)(base + r[2].off),
           (float*)(base + r[3].off), n, s);
  return NULL;
}
