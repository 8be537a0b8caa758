// Element-wise kernels on the wasm heap, written so that the compiler vectorises them (plain
// arithmetic, no libm calls in the loops). Same checks as gemm: every region inside the heap,
// the output overlapping no input, nothing written outside the output.
//
// tanh(heap, [xOff, yOff, n]):  y[i] = tanh(x[i])
//   |x| < 0.625: a [13/6] rational approximation (Eigen's float tanh); beyond, 1 − 2/(e^{2|x|} + 1)
//   with the expf below: ≤ 1.0e-7 absolute, ≤ 3e-7 relative error against double-precision tanh.
// exp(heap, [xOff, yOff, n]):  y[i] = exp(x[i])
//   Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, a degree-6 polynomial for e^r, 2^n applied in two halves
//   (so results in the subnormal range come out right); ≤ 2 ulp, exp(±∞) = ∞/0, NaN stays NaN.
// sumAxes(heap, [xOff, outOff, outer, reduce, inner]):  out[a, b] = Σ_r x[a, r, b]
//   (a sum over one contiguous block of axes of a row-major tensor viewed as [outer, reduce, inner])
#include <string.h>

#include "heap.h"

// one build for every x86-64 CPU, the widest vectors picked at load time
#if defined(__x86_64__) && defined(__GNUC__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

// Cephes' expf (see the top); inlined into the vectorised loops below
static inline float exp_one(float v0) {
  const float log2e = 1.44269504088896341f, c1 = 0.693359375f, c2 = -2.12194440e-4f;
  const float round_magic = 12582912.0f; // 1.5·2^23: adding it rounds to an integer
  float v = v0 > 88.8f ? 88.8f : v0;
  v = v < -104.0f ? -104.0f : v;
  const float k = (v * log2e + round_magic) - round_magic;
  const float r = (v - k * c1) - k * c2;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t ki = (int32_t)k;
  const int32_t k1 = ki / 2, k2 = ki - k1;
  union {
    int32_t i;
    float f;
  } s1 = {.i = (k1 + 127) << 23}, s2 = {.i = (k2 + 127) << 23};
  const float out = v0 > 88.8f ? INFINITY : p * s1.f * s2.f;
  return v0 != v0 ? v0 : out;
}

VECTORISED static void exp_f32(const float* restrict x, float* restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp_one(x[i]);
}

VECTORISED static void tanh_f32(const float* restrict x, float* restrict y, int64_t n) {
  const float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f, a5 = 1.48572235717979e-05f,
              a7 = 5.12229709037114e-08f, a9 = -8.60467152213735e-11f, a11 = 2.00018790482477e-13f,
              a13 = -2.76076847742355e-16f;
  const float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f, b4 = 1.18534705686654e-04f,
              b6 = 1.19825839466702e-06f;
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    // |x| < 0.625: the rational form (no clamp needed in that range)
    const float v2 = v * v;
    float p = v2 * a13 + a11;
    p = p * v2 + a9;
    p = p * v2 + a7;
    p = p * v2 + a5;
    p = p * v2 + a3;
    p = p * v2 + a1;
    p = p * v;
    float q = v2 * b6 + b4;
    q = q * v2 + b2;
    q = q * v2 + b0;
    // |x| ≥ 0.625: 1 − 2/(e^{2|x|} + 1), more accurate near ±1 (the rational form is 4e-7 off there);
    // NaN fails every comparison and comes out of exp_one as NaN
    float ax = v < 0.0f ? -v : v;
    ax = ax > 20.0f ? 20.0f : ax;
    float t = 1.0f - 2.0f / (exp_one(2.0f * ax) + 1.0f);
    t = v < 0.0f ? -t : t;
    y[i] = ax < 0.625f ? p / q : t;
  }
}

napi_value Tanh(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 3, &base, &len, &p)) return NULL;
  int64_t n;
  Region rx, ry;
  if (!as_count(p[2], &n)) return fail(env, "tanh: n must be an integer in 0..2^31-1");
  if (!region(p[0], n, len, &rx)) return fail(env, "tanh: x lies outside the heap (or is misaligned)");
  if (!region(p[1], n, len, &ry)) return fail(env, "tanh: y lies outside the heap (or is misaligned)");
  if (overlaps(rx, ry)) return fail(env, "tanh: y overlaps x");
  tanh_f32((const float*)(base + rx.off), (float*)(base + ry.off), n);
  return NULL;
}

napi_value Exp(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 3, &base, &len, &p)) return NULL;
  int64_t n;
  Region rx, ry;
  if (!as_count(p[2], &n)) return fail(env, "exp: n must be an integer in 0..2^31-1");
  if (!region(p[0], n, len, &rx)) return fail(env, "exp: x lies outside the heap (or is misaligned)");
  if (!region(p[1], n, len, &ry)) return fail(env, "exp: y lies outside the heap (or is misaligned)");
  if (overlaps(rx, ry)) return fail(env, "exp: y overlaps x");
  exp_f32((const float*)(base + rx.off), (float*)(base + ry.off), n);
  return NULL;
}

#define LANES 16

VECTORISED static void sum_rows(const float* restrict x, float* restrict out, int64_t outer, int64_t reduce) {
  // inner = 1: each row's sum, over LANES partial sums (vectorisable without reassociating)
  for (int64_t a = 0; a < outer; a++) {
    const float* row = x + a * reduce;
    float acc[LANES] = {0};
    int64_t r = 0;
    for (; r + LANES <= reduce; r += LANES)
      for (int l = 0; l < LANES; l++) acc[l] += row[r + l];
    float s = 0;
    for (int l = 0; l < LANES; l++) s += acc[l];
    for (; r < reduce; r++) s += row[r];
    out[a] = s;
  }
}

VECTORISED static void sum_middle(const float* restrict x, float* restrict out, int64_t outer, int64_t reduce, int64_t inner) {
  for (int64_t a = 0; a < outer; a++) {
    float* o = out + a * inner;
    memset(o, 0, (size_t)inner * sizeof(float));
    for (int64_t r = 0; r < reduce; r++) {
      const float* row = x + (a * reduce + r) * inner;
      for (int64_t b = 0; b < inner; b++) o[b] += row[b];
    }
  }
}

napi_value SumAxes(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t len;
  const double* p;
  if (!heap_args(env, info, 5, &base, &len, &p)) return NULL;
  int64_t outer, reduce, inner, n, m;
  if (!as_count(p[2], &outer) || !as_count(p[3], &reduce) || !as_count(p[4], &inner) || outer < 1 || reduce < 1 ||
      inner < 1)
    return fail(env, "sumAxes: dimensions must be integers in 1..2^31-1");
  if (__builtin_mul_overflow(outer, inner, &m) || __builtin_mul_overflow(m, reduce, &n))
    return fail(env, "sumAxes: size overflows");
  Region rx, ro;
  if (!region(p[0], n, len, &rx)) return fail(env, "sumAxes: x lies outside the heap (or is misaligned)");
  if (!region(p[1], m, len, &ro)) return fail(env, "sumAxes: out lies outside the heap (or is misaligned)");
  if (overlaps(rx, ro)) return fail(env, "sumAxes: out overlaps x");
  const float* x = (const float*)(base + rx.off);
  float* out = (float*)(base + ro.off);
  if (inner == 1) sum_rows(x, out, outer, reduce);
  else sum_middle(x, out, outer, reduce, inner);
  return NULL;
}
