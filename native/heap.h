// Shared checks of the addon's entry points: every function gets the wasm heap as a Uint8Array
// (a fresh view per call: the memory may have grown) and its numbers as a Float64Array, and
// checks each float32 region against the heap before touching it.
#ifndef GLIMPSE_HEAP_H
#define GLIMPSE_HEAP_H
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_DIM 2147483647.0

#define CHECK(env, call)                                                \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error((env), NULL, "glimpse_blas: N-API call failed"); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

typedef struct {
  uint64_t off, bytes;
} Region;

static inline int as_count(double v, int64_t* out) {
  if (!(v >= 0 && v <= MAX_DIM) || v != floor(v)) return 0;
  *out = (int64_t)v;
  return 1;
}

// A region of `elems` float32 values at byte offset `off` lies inside a heap of `len` bytes.
static inline int region(double off, int64_t elems, size_t len, Region* r) {
  if (!(off >= 0 && off <= 9007199254740991.0) || off != floor(off)) return 0;
  uint64_t o = (uint64_t)off, bytes;
  if (o % 4 != 0) return 0;
  if (__builtin_mul_overflow((uint64_t)elems, (uint64_t)4, &bytes)) return 0;
  if (o > len || bytes > len - o) return 0;
  r->off = o;
  r->bytes = bytes;
  return 1;
}

static inline int overlaps(Region a, Region b) {
  return a.bytes > 0 && b.bytes > 0 && a.off < b.off + b.bytes && b.off < a.off + a.bytes;
}

static inline napi_value fail(napi_env env, const char* msg) {
  napi_throw_range_error(env, "ERR_GLIMPSE_BLAS_RANGE", msg);
  return NULL;
}

// (heap: Uint8Array, params: Float64Array of `nparams`) → base pointer, heap length and params;
// throws and returns 0 on anything else.
static inline int heap_args(napi_env env, napi_callback_info info, size_t nparams, uint8_t** heap, size_t* len,
                            const double** params) {
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
      napi_get_typedarray_info(env, argv[0], &type, len, &hdata, &ab, &byte_offset) != napi_ok ||
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
  *heap = (uint8_t*)hdata;
  *params = (const double*)pdata;
  return 1;
}

napi_value Tanh(napi_env env, napi_callback_info info);
napi_value Exp(napi_env env, napi_callback_info info);
napi_value SumAxes(napi_env env, napi_callback_info info);
// optim.c
napi_value SumSquares(napi_env env, napi_callback_info info);
napi_value Adam(napi_env env, napi_callback_info info);
// attention.c
napi_value AttnScores(napi_env env, napi_callback_info info);
napi_value AttnScoresGrad(napi_env env, napi_callback_info info);
// conv.c
napi_value ConvFilterGrad(napi_env env, napi_callback_info info);
napi_value MaxPoolGrad(napi_env env, napi_callback_info info);

#endif
