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

#include "fastmath.h"
#include "heap.h"

VECTORISED static void exp_f32(const float* restrict x, float* restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp_one(x[i]);
}

VECTORISED static void tanh_f32(const float* restrict x, float* restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = tanh_one(x[i]);
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
