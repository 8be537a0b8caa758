// Shared by every kernel of the glimpse_kernels addon (native/*.c): its ABI version, the parameter
// layout of each entry point, the vectorisation macros, the one 16-lane sum, and the argument and
// region checks.
//
// Every entry point is fn(heap: Uint8Array, params: Float64Array): the heap is tfjs-backend-wasm's
// memory (a fresh view per call: it may have grown and been replaced since the last one) and the
// params are the numbers named by the entry point's list below, in that order. Every float32
// region (a byte offset into the heap and an element count) is checked against the heap before
// anything is read or written; an output overlaps no other region; nothing outside the outputs is
// written. A bad argument throws a RangeError and writes nothing.
#ifndef GLIMPSE_KERNELS_H
#define GLIMPSE_KERNELS_H
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

// Bump with any change of an entry point's name, parameters or meaning. The TypeScript side
// (src/ml/kernels/native-addon.ts, NATIVE_ABI_VERSION) refuses an addon of another version:
// "addon out of date: npm run build:native".
#define KERNELS_ABI_VERSION 11

// ---- parameter layouts ----------------------------------------------------------------------
// One X-macro list per layout: X(PREFIX, name) gives the enum constant PREFIX_name (its index in
// params) and, in addon.c, the name the addon reports through layout(). The TypeScript mirror is
// NATIVE_PARAMS in src/ml/kernels/native-params.ts; test/ml/backend/native-addon.test.ts checks
// that both this file and the built addon agree with it.

// gemm: C[b] = act(op(A[b]) · op(B[b]) + bias), see gemm.c
#define GEMM_PARAMS(X)                                                                                    \
  X(GEMM, batch) X(GEMM, m) X(GEMM, n) X(GEMM, k) X(GEMM, transA) X(GEMM, transB) X(GEMM, aOff)           \
      X(GEMM, aBatch) X(GEMM, bOff) X(GEMM, bBatch) X(GEMM, cOff) X(GEMM, biasOff) X(GEMM, biasLen)       \
          X(GEMM, activation) X(GEMM, leakyAlpha)
// tanh, exp: y = f(x), see elementwise.c
#define UNARY_PARAMS(X) X(UNARY, xOff) X(UNARY, yOff) X(UNARY, n)
// sumAxes: out[a, b] = Σ_r x[a, r, b]
#define SUM_AXES_PARAMS(X) X(SUM_AXES, xOff) X(SUM_AXES, outOff) X(SUM_AXES, outer) X(SUM_AXES, reduce) X(SUM_AXES, inner)
// sumSquares: Σ x², see optim.c
#define SUM_SQUARES_PARAMS(X) X(SUM_SQUARES, xOff) X(SUM_SQUARES, n)
// adam: one Adam step in place, see optim.c
#define ADAM_PARAMS(X)                                                                                    \
  X(ADAM, wOff) X(ADAM, gOff) X(ADAM, mOff) X(ADAM, vOff) X(ADAM, n) X(ADAM, scale) X(ADAM, beta1)        \
      X(ADAM, oneMinusBeta1) X(ADAM, beta2) X(ADAM, oneMinusBeta2) X(ADAM, oneMinusAccBeta1)             \
          X(ADAM, oneMinusAccBeta2) X(ADAM, negLr) X(ADAM, epsilon)
// attnScores: scores = tanh(keys + q)·v, see attention.c
#define ATTN_PARAMS(X)                                                                                    \
  X(ATTN, keysOff) X(ATTN, qOff) X(ATTN, vOff) X(ATTN, scoresOff) X(ATTN, hiddenOff) X(ATTN, B) X(ATTN, L) \
      X(ATTN, U)
// attnScoresGrad: the gradients of keys, q and v
#define ATTN_GRAD_PARAMS(X)                                                                               \
  X(ATTN_GRAD, hiddenOff) X(ATTN_GRAD, vOff) X(ATTN_GRAD, dsOff) X(ATTN_GRAD, dkeysOff) X(ATTN_GRAD, dqOff) \
      X(ATTN_GRAD, dvOff) X(ATTN_GRAD, B) X(ATTN_GRAD, L) X(ATTN_GRAD, U)
// attnSoftmax: α = softmax(tanh(keys + q)·v) over the cells, see attention.c
#define ATTN_SOFTMAX_PARAMS(X)                                                                            \
  X(ATTN_SOFTMAX, keysOff) X(ATTN_SOFTMAX, qOff) X(ATTN_SOFTMAX, vOff) X(ATTN_SOFTMAX, alphaOff)          \
      X(ATTN_SOFTMAX, hiddenOff) X(ATTN_SOFTMAX, B) X(ATTN_SOFTMAX, L) X(ATTN_SOFTMAX, U)
// attnSoftmaxGrad: the gradients of keys, q and v given dα
#define ATTN_SOFTMAX_GRAD_PARAMS(X)                                                                       \
  X(ATTN_SOFTMAX_GRAD, hiddenOff) X(ATTN_SOFTMAX_GRAD, vOff) X(ATTN_SOFTMAX_GRAD, alphaOff)               \
      X(ATTN_SOFTMAX_GRAD, dalphaOff) X(ATTN_SOFTMAX_GRAD, dkeysOff) X(ATTN_SOFTMAX_GRAD, dqOff)          \
          X(ATTN_SOFTMAX_GRAD, dvOff) X(ATTN_SOFTMAX_GRAD, B) X(ATTN_SOFTMAX_GRAD, L) X(ATTN_SOFTMAX_GRAD, U)
// gruCell: the GRU cell fused, see gru.c
#define GRU_PARAMS(X) X(GRU, xOff) X(GRU, rOff) X(GRU, hOff) X(GRU, hNewOff) X(GRU, gatesOff) X(GRU, B) X(GRU, U)
// gruCellGrad: the gradients of x, r and h
#define GRU_GRAD_PARAMS(X)                                                                                \
  X(GRU_GRAD, gatesOff) X(GRU_GRAD, rOff) X(GRU_GRAD, hOff) X(GRU_GRAD, dyOff) X(GRU_GRAD, dxOff)         \
      X(GRU_GRAD, drOff) X(GRU_GRAD, dhOff) X(GRU_GRAD, B) X(GRU_GRAD, U)
// convFilterGrad: dK of a 2-D convolution, see conv.c
#define CONV_FILTER_PARAMS(X)                                                                             \
  X(CONV_FILTER, xOff) X(CONV_FILTER, dyOff) X(CONV_FILTER, dkOff) X(CONV_FILTER, B) X(CONV_FILTER, H)    \
      X(CONV_FILTER, W) X(CONV_FILTER, Cin) X(CONV_FILTER, OH) X(CONV_FILTER, OW) X(CONV_FILTER, Cout)    \
          X(CONV_FILTER, FH) X(CONV_FILTER, FW) X(CONV_FILTER, sh) X(CONV_FILTER, sw) X(CONV_FILTER, dh)  \
              X(CONV_FILTER, dw) X(CONV_FILTER, padTop) X(CONV_FILTER, padLeft)
// maxPoolGrad: dx of a 2-D max pool, see conv.c
#define MAX_POOL_PARAMS(X)                                                                                \
  X(MAX_POOL, xOff) X(MAX_POOL, dyOff) X(MAX_POOL, dxOff) X(MAX_POOL, B) X(MAX_POOL, H) X(MAX_POOL, W)    \
      X(MAX_POOL, C) X(MAX_POOL, OH) X(MAX_POOL, OW) X(MAX_POOL, FH) X(MAX_POOL, FW) X(MAX_POOL, sh)      \
          X(MAX_POOL, sw) X(MAX_POOL, padTop) X(MAX_POOL, padLeft)
// conv2d: a 2-D convolution with bias and relu, see conv.c
#define CONV2D_PARAMS(X)                                                                                  \
  X(CONV2D, xOff) X(CONV2D, fOff) X(CONV2D, biasOff) X(CONV2D, yOff) X(CONV2D, B) X(CONV2D, H) X(CONV2D, W) \
      X(CONV2D, Cin) X(CONV2D, OH) X(CONV2D, OW) X(CONV2D, Cout) X(CONV2D, FH) X(CONV2D, FW) X(CONV2D, sh)  \
          X(CONV2D, sw) X(CONV2D, padTop) X(CONV2D, padLeft) X(CONV2D, activation)
// convInputGrad: dx of a 2-D convolution, see conv.c
#define CONV_INPUT_PARAMS(X)                                                                              \
  X(CONV_INPUT, dyOff) X(CONV_INPUT, fOff) X(CONV_INPUT, dxOff) X(CONV_INPUT, B) X(CONV_INPUT, H)         \
      X(CONV_INPUT, W) X(CONV_INPUT, Cin) X(CONV_INPUT, OH) X(CONV_INPUT, OW) X(CONV_INPUT, Cout)         \
          X(CONV_INPUT, FH) X(CONV_INPUT, FW) X(CONV_INPUT, sh) X(CONV_INPUT, sw) X(CONV_INPUT, padTop)   \
              X(CONV_INPUT, padLeft)
// recurrence: the teacher-forced decoder recurrence over all steps, see recurrence.c
#define RECUR_PARAMS(X)                                                                                   \
  X(RECUR, keysOff) X(RECUR, featuresOff) X(RECUR, xEmbOff) X(RECUR, wQueryOff) X(RECUR, bQueryOff)       \
      X(RECUR, wRecOff) X(RECUR, bRecOff) X(RECUR, wContextOff) X(RECUR, vOff) X(RECUR, keepOff)          \
          X(RECUR, outOff) X(RECUR, savedOff) X(RECUR, B) X(RECUR, T) X(RECUR, L) X(RECUR, U) X(RECUR, E)
// recurrenceGrad: its gradients
#define RECUR_GRAD_PARAMS(X)                                                                              \
  X(RECUR_GRAD, keysOff) X(RECUR_GRAD, featuresOff) X(RECUR_GRAD, wQueryOff) X(RECUR_GRAD, wRecOff) X(RECUR_GRAD, wContextOff)   \
      X(RECUR_GRAD, vOff) X(RECUR_GRAD, keepOff) X(RECUR_GRAD, outOff) X(RECUR_GRAD, savedOff)            \
          X(RECUR_GRAD, dyOff) X(RECUR_GRAD, dkeysOff) X(RECUR_GRAD, dfeaturesOff) X(RECUR_GRAD, dxEmbOff) \
              X(RECUR_GRAD, dwQueryOff) X(RECUR_GRAD, dbQueryOff) X(RECUR_GRAD, dwRecOff)                 \
                  X(RECUR_GRAD, dbRecOff) X(RECUR_GRAD, dwContextOff) X(RECUR_GRAD, dvOff) X(RECUR_GRAD, B) \
                      X(RECUR_GRAD, T) X(RECUR_GRAD, L) X(RECUR_GRAD, U) X(RECUR_GRAD, E)
// decodeStep: one decoding step of the decoder, see decode_step.c
#define DECODE_STEP_PARAMS(X)                                                                             \
  X(DECODE_STEP, tokensOff) X(DECODE_STEP, embeddingOff) X(DECODE_STEP, stateKernelOff)                   \
      X(DECODE_STEP, stateBiasOff) X(DECODE_STEP, keysOff) X(DECODE_STEP, featuresOff)                    \
          X(DECODE_STEP, imageRowsOff) X(DECODE_STEP, stateRowsOff) X(DECODE_STEP, vOff)                  \
              X(DECODE_STEP, gruKernelOff) X(DECODE_STEP, inputBiasOff) X(DECODE_STEP, fc1Off)            \
                  X(DECODE_STEP, fc1BiasOff) X(DECODE_STEP, outContextOff) X(DECODE_STEP, fc2Off)         \
                      X(DECODE_STEP, fc2BiasOff) X(DECODE_STEP, hOff) X(DECODE_STEP, logProbsOff)         \
                          X(DECODE_STEP, alphaOff) X(DECODE_STEP, hNewOff) X(DECODE_STEP, N)              \
                              X(DECODE_STEP, images) X(DECODE_STEP, states) X(DECODE_STEP, L)             \
                                  X(DECODE_STEP, U) X(DECODE_STEP, E) X(DECODE_STEP, D) X(DECODE_STEP, F) \
                                      X(DECODE_STEP, V)

// crossEntropy: per-row −log softmax(logits)[target], see cross_entropy.c
#define XENT_PARAMS(X) X(XENT, logitsOff) X(XENT, targetsOff) X(XENT, lossOff) X(XENT, statsOff) X(XENT, N) X(XENT, V)
// crossEntropyGrad: its gradient with respect to the logits
#define XENT_GRAD_PARAMS(X)                                                                               \
  X(XENT_GRAD, logitsOff) X(XENT_GRAD, targetsOff) X(XENT_GRAD, statsOff) X(XENT_GRAD, dyOff) X(XENT_GRAD, dxOff) \
      X(XENT_GRAD, N) X(XENT_GRAD, V)

#define PARAM_INDEX(prefix, name) prefix##_##name,
enum GemmParam { GEMM_PARAMS(PARAM_INDEX) GEMM_NPARAMS };
enum UnaryParam { UNARY_PARAMS(PARAM_INDEX) UNARY_NPARAMS };
enum SumAxesParam { SUM_AXES_PARAMS(PARAM_INDEX) SUM_AXES_NPARAMS };
enum SumSquaresParam { SUM_SQUARES_PARAMS(PARAM_INDEX) SUM_SQUARES_NPARAMS };
enum AdamParam { ADAM_PARAMS(PARAM_INDEX) ADAM_NPARAMS };
enum AttnParam { ATTN_PARAMS(PARAM_INDEX) ATTN_NPARAMS };
enum AttnGradParam { ATTN_GRAD_PARAMS(PARAM_INDEX) ATTN_GRAD_NPARAMS };
enum AttnSoftmaxParam { ATTN_SOFTMAX_PARAMS(PARAM_INDEX) ATTN_SOFTMAX_NPARAMS };
enum AttnSoftmaxGradParam { ATTN_SOFTMAX_GRAD_PARAMS(PARAM_INDEX) ATTN_SOFTMAX_GRAD_NPARAMS };
enum GruParam { GRU_PARAMS(PARAM_INDEX) GRU_NPARAMS };
enum GruGradParam { GRU_GRAD_PARAMS(PARAM_INDEX) GRU_GRAD_NPARAMS };
enum ConvFilterParam { CONV_FILTER_PARAMS(PARAM_INDEX) CONV_FILTER_NPARAMS };
enum MaxPoolParam { MAX_POOL_PARAMS(PARAM_INDEX) MAX_POOL_NPARAMS };
enum Conv2dParam { CONV2D_PARAMS(PARAM_INDEX) CONV2D_NPARAMS };
enum ConvInputParam { CONV_INPUT_PARAMS(PARAM_INDEX) CONV_INPUT_NPARAMS };
enum RecurParam { RECUR_PARAMS(PARAM_INDEX) RECUR_NPARAMS };
enum RecurGradParam { RECUR_GRAD_PARAMS(PARAM_INDEX) RECUR_GRAD_NPARAMS };
enum DecodeStepParam { DECODE_STEP_PARAMS(PARAM_INDEX) DECODE_STEP_NPARAMS };
enum XentParam { XENT_PARAMS(PARAM_INDEX) XENT_NPARAMS };
enum XentGradParam { XENT_GRAD_PARAMS(PARAM_INDEX) XENT_GRAD_NPARAMS };

// The entry points: X(name in JavaScript, C function, layout list)
#define ENTRY_POINTS(X)                                                                                   \
  X(gemm, Gemm, GEMM_PARAMS)                                                                              \
  X(tanh, Tanh, UNARY_PARAMS)                                                                             \
  X(exp, Exp, UNARY_PARAMS)                                                                               \
  X(sumAxes, SumAxes, SUM_AXES_PARAMS)                                                                    \
  X(sumSquares, SumSquares, SUM_SQUARES_PARAMS)                                                           \
  X(adam, Adam, ADAM_PARAMS)                                                                              \
  X(attnScores, AttnScores, ATTN_PARAMS)                                                                  \
  X(attnScoresGrad, AttnScoresGrad, ATTN_GRAD_PARAMS)                                                     \
  X(attnSoftmax, AttnSoftmax, ATTN_SOFTMAX_PARAMS)                                                        \
  X(attnSoftmaxGrad, AttnSoftmaxGrad, ATTN_SOFTMAX_GRAD_PARAMS)                                           \
  X(gruCell, GruCell, GRU_PARAMS)                                                                         \
  X(gruCellGrad, GruCellGrad, GRU_GRAD_PARAMS)                                                            \
  X(convFilterGrad, ConvFilterGrad, CONV_FILTER_PARAMS)                                                   \
  X(maxPoolGrad, MaxPoolGrad, MAX_POOL_PARAMS)                                                            \
  X(recurrence, Recurrence, RECUR_PARAMS)                                                                 \
  X(recurrenceGrad, RecurrenceGrad, RECUR_GRAD_PARAMS)                                                    \
  X(decodeStep, DecodeStep, DECODE_STEP_PARAMS)                                                          \
  X(crossEntropy, CrossEntropy, XENT_PARAMS)                                                              \
  X(crossEntropyGrad, CrossEntropyGrad, XENT_GRAD_PARAMS)                                                 \
  X(conv2d, Conv2d, CONV2D_PARAMS)                                                                        \
  X(convInputGrad, ConvInputGrad, CONV_INPUT_PARAMS)

#define DECLARE_ENTRY(js, fn, layout) napi_value fn(napi_env env, napi_callback_info info);
ENTRY_POINTS(DECLARE_ENTRY)

// ---- OpenBLAS threads per call (threads.c) ------------------------------------------------------
// setThreads(threads, parallelMin): a product of m·n·k ≥ parallelMin multiply-adds runs on `threads`
// OpenBLAS threads, a smaller one on one (threading a small product costs more than it gains; the
// threshold is measured by bench/blas-threads.ts). Call blas_threads_for(work) before each OpenBLAS call.
// A core taken (threads.c): a call that splits into parts asks threads_for_parts() how many (all of
// them, or one while another process holds a core, with a periodic try of all), then reports the lowest
// share of a core its parts' threads got (threads_observe); blas_threads_for follows the same count.
// threads_state: [policy threads, threads now, calls found with a core taken, tries, parallel calls,
// last lowest share] (getThreadState()).
void blas_set_policy(int threads, double parallel_min);
int blas_policy_threads(void);
void blas_threads_for(double work);
int threads_for_parts(void);
void threads_observe(int parts, double lowest_share);
void threads_state(double out[6]);

// ---- vectorisation --------------------------------------------------------------------------
// one build for every x86-64 CPU, the widest vectors picked at load time
#if defined(__x86_64__) && defined(__GNUC__)
#define VECTORISED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTORISED
#endif

#define LANES 16

// s = Σ_{I < n} TERM, TERM an expression of the index I (an int64_t), in one fixed order: LANES
// running sums over whole blocks of LANES values (independent lanes: the compiler vectorises them
// without reassociating), then the lanes in order, then the tail. The one definition of that order:
// sums that must agree bit for bit (the native Sum over Square and sumSquares, both giving the
// clip's norm) both expand it.
#define LANE_SUM(s, n, I, TERM)                                                                           \
  do {                                                                                                    \
    float lane_acc_[LANES] = {0};                                                                         \
    int64_t lane_r_ = 0;                                                                                  \
    for (; lane_r_ + LANES <= (n); lane_r_ += LANES)                                                      \
      for (int lane_ = 0; lane_ < LANES; lane_++) {                                                       \
        const int64_t I = lane_r_ + lane_;                                                                \
        lane_acc_[lane_] += (TERM);                                                                       \
      }                                                                                                   \
    float lane_s_ = 0;                                                                                    \
    for (int lane_ = 0; lane_ < LANES; lane_++) lane_s_ += lane_acc_[lane_];                              \
    for (; lane_r_ < (n); lane_r_++) {                                                                    \
      const int64_t I = lane_r_;                                                                          \
      lane_s_ += (TERM);                                                                                  \
    }                                                                                                     \
    (s) = lane_s_;                                                                                        \
  } while (0)

// ---- arguments ------------------------------------------------------------------------------
#define MAX_DIM 2147483647.0

#define CHECK(env, call)                                                   \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error((env), NULL, "glimpse_kernels: N-API call failed"); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static inline napi_value fail(napi_env env, const char* msg) {
  napi_throw_range_error(env, "ERR_GLIMPSE_KERNELS_RANGE", msg);
  return NULL;
}

// An integer in 0..2^31-1 (a count); NaN, fractions and anything out of range are refused.
static inline int as_count(double v, int64_t* out) {
  if (!(v >= 0 && v <= MAX_DIM) || v != floor(v)) return 0;
  *out = (int64_t)v;
  return 1;
}

// An integer in -(2^31-1)..2^31-1 (a padding).
static inline int as_int(double v, int64_t* out) {
  if (!(v >= -MAX_DIM && v <= MAX_DIM) || v != floor(v)) return 0;
  *out = (int64_t)v;
  return 1;
}

// params[first .. first+n) as counts ≥ min, into out.
static inline int counts(const double* params, int first, int n, int64_t min, int64_t* out) {
  for (int i = 0; i < n; i++)
    if (!as_count(params[first + i], &out[i]) || out[i] < min) return 0;
  return 1;
}

// *out = Π factors[0..n), or 0 when it overflows int64.
static inline int product_of(int n, const int64_t* factors, int64_t* out) {
  int64_t p = 1;
  for (int i = 0; i < n; i++)
    if (__builtin_mul_overflow(p, factors[i], &p)) return 0;
  *out = p;
  return 1;
}

typedef struct {
  uint8_t* base;
  size_t len;
  const double* params;
} Heap;

// (heap: Uint8Array, params: Float64Array of `nparams`) → the heap and its params; throws and
// returns 0 on anything else.
static inline int heap_args(napi_env env, napi_callback_info info, size_t nparams, Heap* h) {
  size_t argc = 2, plen, byte_offset;
  napi_value argv[2], ab;
  bool is_ta;
  napi_typedarray_type type;
  void *hdata, *pdata;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    fail(env, "two arguments expected: heap, params");
    return 0;
  }
  if (napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &type, &h->len, &hdata, &ab, &byte_offset) != napi_ok ||
      type != napi_uint8_array || hdata == NULL) {
    fail(env, "heap must be a Uint8Array");
    return 0;
  }
  if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[1], &type, &plen, &pdata, &ab, &byte_offset) != napi_ok ||
      type != napi_float64_array || plen != nparams) {
    fail(env, "params must be a Float64Array of the documented length");
    return 0;
  }
  h->base = (uint8_t*)hdata;
  h->params = (const double*)pdata;
  return 1;
}

// ---- regions --------------------------------------------------------------------------------
typedef struct {
  uint64_t off, bytes;
} Region;

enum {
  IN = 0,
  OUT = 1,      // written: may overlap no other region
  OPTIONAL = 2, // a negative offset: absent (no bytes)
};

// One float32 region of an entry point: its offset's index in params, its element count, its name
// in messages and its role.
typedef struct {
  int param;
  int64_t elems;
  const char* name;
  int flags;
} RegionSpec;

static inline int overlaps(Region a, Region b) {
  return a.bytes > 0 && b.bytes > 0 && a.off < b.off + b.bytes && b.off < a.off + a.bytes;
}

// The regions of `specs` (in that order into r): each inside the heap and 4-byte aligned, each
// output overlapping no other region. Throws "<kernel>: <name> lies outside the heap (or is
// misaligned)" or "<kernel>: <a> overlaps <b>" and returns 0 otherwise.
static inline int check_regions(napi_env env, const char* kernel, const Heap* h, const RegionSpec* specs, int n,
                                Region* r) {
  char msg[160];
  for (int i = 0; i < n; i++) {
    const double off = h->params[specs[i].param];
    r[i] = (Region){0, 0};
    if ((specs[i].flags & OPTIONAL) && off < 0) continue;
    uint64_t bytes;
    const int ok = off >= 0 && off <= 9007199254740991.0 && off == floor(off) && specs[i].elems >= 0 &&
                   !__builtin_mul_overflow((uint64_t)specs[i].elems, (uint64_t)4, &bytes);
    const uint64_t o = ok ? (uint64_t)off : 0;
    if (!ok || o % 4 != 0 || o > h->len || bytes > h->len - o) {
      snprintf(msg, sizeof msg, "%s: %s lies outside the heap (or is misaligned)", kernel, specs[i].name);
      fail(env, msg);
      return 0;
    }
    r[i] = (Region){o, bytes};
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++)
      if (i != j && (specs[i].flags & OUT) && (j < i || !(specs[j].flags & OUT)) && overlaps(r[i], r[j])) {
        snprintf(msg, sizeof msg, "%s: %s overlaps %s", kernel, specs[i].name, specs[j].name);
        fail(env, msg);
        return 0;
      }
  return 1;
}

#define REGION_COUNT(specs) ((int)(sizeof(specs) / sizeof((specs)[0])))

#endif
