// The glimpse_kernels addon: float32 kernels on tfjs-backend-wasm's heap (gemm.c, elementwise.c,
// optim.c, attention.c, gru.c, conv.c) over the system OpenBLAS, and the module's own functions:
//   abiVersion() → KERNELS_ABI_VERSION (kernels.h), checked by src/ml/kernels/native-addon.ts
//   layout() → { entry point: [parameter names in order] }, from kernels.h's lists
//   setThreads(n, parallelMin), getThreads(), config(): OpenBLAS's threads (per call by size, threads.c)
//   and build; getThreadState(): the threads now, as a core taken by another process leaves them
//   (threads.c: [policy, now, calls found with a core taken, tries, parallel calls, last lowest share])
#include <cblas.h>

#include "kernels.h"

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t n = 0;
  double min = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 64)
    return fail(env, "setThreads: an integer in 1..64 expected");
  if (argc >= 2 && (napi_get_value_double(env, argv[1], &min) != napi_ok || !(min >= 0)))
    return fail(env, "setThreads: parallelMin must be a number ≥ 0");
  blas_set_policy(n, min);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_int32(env, blas_policy_threads(), &out));
  return out;
}

static napi_value GetThreadState(napi_env env, napi_callback_info info) {
  double state[6];
  threads_state(state);
  napi_value out, v;
  CHECK(env, napi_create_array_with_length(env, 6, &out));
  for (uint32_t i = 0; i < 6; i++) {
    CHECK(env, napi_create_double(env, state[i], &v));
    CHECK(env, napi_set_element(env, out, i, v));
  }
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

static napi_value AbiVersion(napi_env env, napi_callback_info info) {
  napi_value out;
  CHECK(env, napi_create_int32(env, KERNELS_ABI_VERSION, &out));
  return out;
}

// every entry point with its parameter names, from the lists in kernels.h
#define PARAM_NAME(prefix, name) #name,
#define ENTRY_ROW(js, fn, layout) {#js, fn, (const char* const[]){layout(PARAM_NAME)}, 0 + layout(PARAM_ONE)},
#define PARAM_ONE(prefix, name) +1

typedef struct {
  const char* name;
  napi_callback fn;
  const char* const* params;
  int nparams;
} Entry;

static const Entry ENTRIES[] = {ENTRY_POINTS(ENTRY_ROW)};
#define ENTRY_COUNT (sizeof ENTRIES / sizeof ENTRIES[0])

static napi_value Layout(napi_env env, napi_callback_info info) {
  napi_value out, names, name;
  CHECK(env, napi_create_object(env, &out));
  for (size_t e = 0; e < ENTRY_COUNT; e++) {
    CHECK(env, napi_create_array_with_length(env, (size_t)ENTRIES[e].nparams, &names));
    for (int i = 0; i < ENTRIES[e].nparams; i++) {
      CHECK(env, napi_create_string_utf8(env, ENTRIES[e].params[i], NAPI_AUTO_LENGTH, &name));
      CHECK(env, napi_set_element(env, names, (uint32_t)i, name));
    }
    CHECK(env, napi_set_named_property(env, out, ENTRIES[e].name, names));
  }
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback fn;
  } own[] = {{"abiVersion", AbiVersion}, {"layout", Layout}, {"setThreads", SetThreads}, {"getThreads", GetThreads},
             {"getThreadState", GetThreadState}, {"config", Config}};
  const size_t nown = sizeof own / sizeof own[0];
  napi_property_descriptor props[sizeof own / sizeof own[0] + ENTRY_COUNT];
  for (size_t i = 0; i < nown + ENTRY_COUNT; i++) {
    const char* name = i < nown ? own[i].name : ENTRIES[i - nown].name;
    const napi_callback fn = i < nown ? own[i].fn : ENTRIES[i - nown].fn;
    props[i] = (napi_property_descriptor){name, NULL, fn, NULL, NULL, NULL, napi_default, NULL};
  }
  CHECK(env, napi_define_properties(env, exports, nown + ENTRY_COUNT, props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
