// glimpse_blas: float32 matrix products computed by OpenBLAS directly on tfjs-backend-wasm's heap.
//
// gemm(heap: Uint8Array, p: Float64Array) computes, for each of `batch` products,
//   C[b] = act(op(A[b]) · op(B[b]) + bias)        (row-major, op = transpose or not)
// where A, B, bias and C are float32 arrays at byte offsets into `heap` (the wasm memory: the
// caller passes a fresh view each call, since the memory may grow and be replaced between calls).
// Every offset and extent is checked against the heap before anything is read or written; C must
// not overlap an input; nothing outside C is written. A bad argument throws a RangeError/TypeError.
//
// p = [batch, M, N, K, transA, transB, aOff, aBatch, bOff, bBatch, cOff, biasOff, biasLen,
//      activation, leakyAlpha]
// The element-wise functions (tanh, exp, sumAxes) are in elementwise.c.
//   aBatch, bBatch ∈ {1, batch} (1: the operand is shared by every product)
//   biasOff < 0: no bias; biasLen ∈ {1, N} (a scalar or one value per column)
//   activation: 0 linear, 1 relu, 2 relu6, 3 sigmoid, 4 leakyrelu, 5 elu
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "heap.h"

#define NPARAMS 15

// y = op(A)·op(B) for one product, y already holding the bias (beta = 1) or zeros.
static void product(int ta, int tb, int M, int N, int K, const float* a, const float* b, float* c) {
  if (M == 1) {
    // c[N] = op(B)ᵀ·a; op(A) is a contiguous K-vector either way
    if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, b, K, a, 1, 1.0f, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.0f, b, N, a, 1, 1.0f, c, 1);
  } else if (N == 1) {
    // c[M] = op(A)·b; op(B) is a contiguous K-vector either way
    if (ta) cblas_sgemv(CblasRowMajor, CblasTrans, K, M, 1.0f, a, M, b, 1, 1.0f, c, 1);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, a, K, b, 1, 1.0f, c, 1);
  } else {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a,
                ta ? M : K, b, tb ? K : N, 1.0f, c, N);
  }
}

static void activate(float* c, size_t n, int act, float alpha) {
  switch (act) {
    case 1:
      for (size_t i = 0; i < n; i++) c[i] = c[i] < 0.0f ? 0.0f : c[i];
      break;
    case 2:
      for (size_t i = 0; i < n; i++) c[i] = c[i] < 0.0f ? 0.0f : (c[i] > 6.0f ? 6.0f : c[i]);
      break;
    case 3:
      for (size_t i = 0; i < n; i++) c[i] = 1.0f / (1.0f + expf(-c[i]));
      break;
    case 4:
      for (size_t i = 0; i < n; i++) c[i] = c[i] < 0.0f ? alpha * c[i] : c[i];
      break;
    case 5:
      for (size_t i = 0; i < n; i++) c[i] = c[i] < 0.0f ? expm1f(c[i]) : c[i];
      break;
    default:
      break;
  }
}

static napi_value Gemm(napi_env env, napi_callback_info info) {
  uint8_t* base;
  size_t heap_len;
  const double* p;
  if (!heap_args(env, info, NPARAMS, &base, &heap_len, &p)) return NULL;

  int64_t batch, M, N, K, aBatch, bBatch, biasLen = 0;
  if (!as_count(p[0], &batch) || !as_count(p[1], &M) || !as_count(p[2], &N) || !as_count(p[3], &K) ||
      !as_count(p[7], &aBatch) || !as_count(p[9], &bBatch) || batch < 1 || M < 1 || N < 1 || K < 1)
    return fail(env, "gemm: dimensions must be integers in 1..2^31-1");
  if ((aBatch != 1 && aBatch != batch) || (bBatch != 1 && bBatch != batch))
    return fail(env, "gemm: an operand's batch must be 1 or the product's batch");
  const int ta = p[4] != 0, tb = p[5] != 0;
  const int act = (int)p[13];
  if (p[13] != act || act < 0 || act > 5) return fail(env, "gemm: unknown activation");

  // element counts; each factor < 2^31, so a product of two fits in int64, of three is checked
  int64_t aElems, bElems, cElems;
  if (__builtin_mul_overflow(aBatch, M * K, &aElems) || __builtin_mul_overflow(bBatch, K * N, &bElems) ||
      __builtin_mul_overflow(batch, M * N, &cElems))
    return fail(env, "gemm: operand size overflows");
  Region ra, rb, rc, rbias = {0, 0};
  if (!region(p[6], aElems, heap_len, &ra)) return fail(env, "gemm: A lies outside the heap (or is misaligned)");
  if (!region(p[8], bElems, heap_len, &rb)) return fail(env, "gemm: B lies outside the heap (or is misaligned)");
  if (!region(p[10], cElems, heap_len, &rc)) return fail(env, "gemm: C lies outside the heap (or is misaligned)");
  const int has_bias = p[11] >= 0;
  if (has_bias) {
    if (!as_count(p[12], &biasLen) || (biasLen != 1 && biasLen != N)) return fail(env, "gemm: bias length must be 1 or N");
    if (!region(p[11], biasLen, heap_len, &rbias)) return fail(env, "gemm: bias lies outside the heap (or is misaligned)");
  }
  if (overlaps(rc, ra) || overlaps(rc, rb) || overlaps(rc, rbias)) return fail(env, "gemm: C overlaps an input");

  const float* A = (const float*)(base + ra.off);
  const float* B = (const float*)(base + rb.off);
  const float* bias = has_bias ? (const float*)(base + rbias.off) : NULL;
  float* C = (float*)(base + rc.off);

  // start from the bias (or zeros) and accumulate: beta = 1 everywhere
  const int64_t rows = batch * M;
  if (!has_bias) {
    memset(C, 0, (size_t)rc.bytes);
  } else if (biasLen == 1) {
    for (int64_t i = 0; i < cElems; i++) C[i] = bias[0];
  } else {
    for (int64_t r = 0; r < rows; r++) memcpy(C + r * N, bias, (size_t)N * sizeof(float));
  }

  if (batch > 1 && bBatch == 1 && aBatch == batch && !ta && rows <= (int64_t)MAX_DIM) {
    // B shared and A untransposed: the batch is more rows of one product
    product(0, tb, (int)rows, (int)N, (int)K, A, B, C);
  } else {
    for (int64_t b = 0; b < batch; b++) {
      product(ta, tb, (int)M, (int)N, (int)K, A + (aBatch > 1 ? b * M * K : 0), B + (bBatch > 1 ? b * K * N : 0),
              C + b * M * N);
    }
  }
  activate(C, (size_t)cElems, act, (float)p[14]);
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 64)
    return fail(env, "setThreads: an integer in 1..64 expected");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  napi_value out;
  const char* corename = openblas_get_corename();
  char buf[512];
  snprintf(buf, sizeof buf, "%s (core %s)", openblas_get_config(), corename ? corename : "?");
  CHECK(env, napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"gemm", NULL, Gemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_default, NULL},
      {"tanh", NULL, Tanh, NULL, NULL, NULL, napi_default, NULL},
      {"exp", NULL, Exp, NULL, NULL, NULL, napi_default, NULL},
      {"sumAxes", NULL, SumAxes, NULL, NULL, NULL, napi_default, NULL},
      {"sumSquares", NULL, SumSquares, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, Adam, NULL, NULL, NULL, napi_default, NULL},
      {"attnScores", NULL, AttnScores, NULL, NULL, NULL, napi_default, NULL},
      {"attnScoresGrad", NULL, AttnScoresGrad, NULL, NULL, NULL, napi_default, NULL},
      {"convFilterGrad", NULL, ConvFilterGrad, NULL, NULL, NULL, napi_default, NULL},
      {"maxPoolGrad", NULL, MaxPoolGrad, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
