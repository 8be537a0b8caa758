// Element-wise kernels on the wasm heap, written so that the compiler vectorises them (plain
// arithmetic, no libm calls in the loops). Checks: kernels.h.
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
#include "kernels.h"

VECTORISED static void exp_f32(const float* restrict x, float* restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = exp_one(x[i]);
}

VECTORISED static void tanh_f32(const float* restrict x, float* restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = tanh_one(x[i]);
}

// y = f(x) over n values: the checks and the call shared by tanh and exp
static napi_value unary(napi_env env, napi_callback_info info, const char* kernel,
                        void (*f)(const float* restrict, float* restrict, int64_t)) {
  Heap h;
  if (!heap_args(env, info, UNARY_NPARAMS, &h)) return NULL;
  int64_t n;
  if (!as_count(h.params[UNARY_n], &n)) {
    char msg[80];
    snprintf(msg, sizeof msg, "%s: n must be an integer in 0..2^31-1", kernel);
    return fail(env, msg);
  }
  const RegionSpec specs[] = {{UNARY_xOff, n, "x", IN}, {UNARY_yOff, n, "y", OUT}};
  Region r[2];
  if (!check_regions(env, kernel, &h, specs, 2, r)) return NULL;
  f((const float*)(h.base + r[0].off), (float*)(h.base + r[1].off), n);
  return NULL;
}

napi_value Tanh(napi_env env, napi_callback_info info) { return unary(env, info, "tanh", tanh_f32); }

napi_value Exp(napi_env env, napi_callback_info info) { return unary(env, info, "exp", exp_f32); }

// inner = 1: each row's sum in LANE_SUM's order (sumSquares in optim.c must equal it over squares)
VECTORISED static void sum_rows(const float* restrict x, float* restrict out, int64_t outer, int64_t reduce) {
  for (int64_t a = 0; a < outer; a++) {
    const float* row = x + a * reduce;
    LANE_SUM(out[a], reduce, i, row[i]);
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
  Heap h;
  if (!heap_args(env, info, SUM_AXES_NPARAMS, &h)) return NULL;
  int64_t d[3], n, m;
  if (!counts(h.params, SUM_AXES_outer, 3, 1, d)) return fail(env, "sumAxes: dimensions must be integers in 1..2^31-1");
  const int64_t outer = d[0], reduce = d[1], inner = d[2];
  if (!product_of(2, (int64_t[]){outer, inner}, &m) || !product_of(2, (int64_t[]){m, reduce}, &n))
    return fail(env, "sumAxes: size overflows");
  const RegionSpec specs[] = {{SUM_AXES_xOff, n, "x", IN}, {SUM_AXES_outOff, m, "out", OUT}};
  Region r[2];
  if (!check_regions(env, "sumAxes", &h, specs, 2, r)) return NULL;
  const float* x = (const float*)(h.base + r[0].off);
  float* out = (float*)(h.base + r[1].off);
  if (inner == 1) sum_rows(x, out, outer, reduce);
  else sum_middle(x, out, outer, reduce, inner);
  return NULL;
}
