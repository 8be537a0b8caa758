// Float32 matrix products computed by OpenBLAS directly on tfjs-backend-wasm's heap.
//
// gemm(heap, p) computes, for each of `batch` products,
//   C[b] = act(op(A[b]) · op(B[b]) + bias)        (row-major, op = transpose or not)
// where A, B, bias and C are float32 arrays at byte offsets into the heap; C must not overlap an
// input (kernels.h: the checks every entry point makes).
//
// p = GEMM_PARAMS in kernels.h: [batch, m, n, k, transA, transB, aOff, aBatch, bOff, bBatch, cOff,
//      biasOff, biasLen, activation, leakyAlpha]
//   aBatch, bBatch ∈ {1, batch} (1: the operand is shared by every product)
//   biasOff < 0: no bias; biasLen ∈ {1, n} (a scalar or one value per column)
//   activation: 0 linear, 1 relu, 2 relu6, 3 sigmoid, 4 leakyrelu, 5 elu
#include <cblas.h>
#include <string.h>

#include "kernels.h"

#define LAST_ACTIVATION 5

// y = op(A)·op(B) for one product, y already holding the bias (beta = 1) or zeros.
static void product(int ta, int tb, int M, int N, int K, const float* a, const float* b, float* c) {
  blas_threads_for((double)M * N * K);
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

napi_value Gemm(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, GEMM_NPARAMS, &h)) return NULL;
  const double* p = h.params;

  int64_t d[4], aBatch, bBatch, biasLen = 0, act;
  if (!counts(p, GEMM_batch, 4, 1, d) || !as_count(p[GEMM_aBatch], &aBatch) || !as_count(p[GEMM_bBatch], &bBatch))
    return fail(env, "gemm: dimensions must be integers in 1..2^31-1");
  const int64_t batch = d[0], M = d[1], N = d[2], K = d[3];
  if ((aBatch != 1 && aBatch != batch) || (bBatch != 1 && bBatch != batch))
    return fail(env, "gemm: an operand's batch must be 1 or the product's batch");
  // range first: a double outside int's range converted to int is undefined behaviour
  if (!as_count(p[GEMM_activation], &act) || act > LAST_ACTIVATION) return fail(env, "gemm: unknown activation");
  const int ta = p[GEMM_transA] != 0, tb = p[GEMM_transB] != 0;

  int64_t aElems, bElems, cElems;
  if (!product_of(3, (int64_t[]){aBatch, M, K}, &aElems) || !product_of(3, (int64_t[]){bBatch, K, N}, &bElems) ||
      !product_of(3, (int64_t[]){batch, M, N}, &cElems))
    return fail(env, "gemm: operand size overflows");
  const int has_bias = p[GEMM_biasOff] >= 0;
  if (has_bias && (!as_count(p[GEMM_biasLen], &biasLen) || (biasLen != 1 && biasLen != N)))
    return fail(env, "gemm: bias length must be 1 or N");
  const RegionSpec specs[] = {
      {GEMM_aOff, aElems, "A", IN},
      {GEMM_bOff, bElems, "B", IN},
      {GEMM_biasOff, biasLen, "bias", IN | OPTIONAL},
      {GEMM_cOff, cElems, "C", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "gemm", &h, specs, REGION_COUNT(specs), r)) return NULL;

  const float* A = (const float*)(h.base + r[0].off);
  const float* B = (const float*)(h.base + r[1].off);
  const float* bias = has_bias ? (const float*)(h.base + r[2].off) : NULL;
  float* C = (float*)(h.base + r[3].off);

  // start from the bias (or zeros) and accumulate: beta = 1 everywhere
  const int64_t rows = batch * M;
  if (!has_bias) {
    memset(C, 0, (size_t)r[3].bytes);
  } else if (biasLen == 1) {
    for (int64_t i = 0; i < cElems; i++) C[i] = bias[0];
  } else {
    for (int64_t row = 0; row < rows; row++) memcpy(C + row * N, bias, (size_t)N * sizeof(float));
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
  activate(C, (size_t)cElems, (int)act, (float)p[GEMM_leakyAlpha]);
  return NULL;
}
