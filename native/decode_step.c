// One decoding step of the decoder (src/ml/model/decoder.ts, decoderStep, no gradient) as ONE native
// call on the wasm heap (src/ml/kernels/native-decode-step.ts): the embedding lookup, the fused state
// product [W2 | GRU recurrent], the attention weights (scores and softmax as attnSoftmax, with the
// tanh below), the context, the GRU input product, the GRU cell (as gruCell), fc1 (with the deep
// output's context rows), fc2 and the log-softmax: ~37 tfjs kernels per step become one. The
// products' weights come packed once per served model (few_rows.h: [ceil(N/16), K, 16]) and every
// product, one row included, runs few_rows.h on this thread. Checks: kernels.h (every region inside
// the heap, outputs overlap nothing), and every token and row index is checked before anything is
// written. The intermediate values live in a scratch buffer of this thread, grown when a larger step
// needs it (not per step).
//
// decodeStep(heap, DECODE_STEP_PARAMS [tokensOff, embeddingOff, stateKernelOff, stateBiasOff, keysOff,
//   featuresOff, imageRowsOff, stateRowsOff, vOff, gruKernelOff, inputBiasOff, fc1Off, fc1BiasOff,
//   outContextOff, fc2Off, fc2BiasOff, hOff, logProbsOff, alphaOff, hNewOff, N, images, states, L, U, E,
//   D, F, V])
//   N rows; row n reads image imageRows[n] of keys [images, L, U] and features [images, L, E]
//   (imageRowsOff < 0: images = N, row n reads image n) and state row stateRows[n] of h [states, U]
//   (stateRowsOff < 0: states = N, row n reads row n); tokens [N] int32 in 0..V-1; embedding [V, D];
//   stateBias [4U]; v [U]; inputBias [3U]; fc1Bias [F]; fc2Bias [V]; packed (P(K, N) = few_rows.h's
//   PANELS_OF, [ceil(N/16), K, 16]): stateKernel P(U, 4U), gruKernel P(E + D, 3U) (context rows,
//   then embedding rows), fc1 P(U, F), outContext P(E, F) (outContextOff < 0: none), fc2 P(F, V).
//   p = h·stateKernel + stateBias; q = p[:, :U]; r = p[:, U:]
//   α = softmax_l(tanh(keys + q)·v) → alpha [N, L]; context = Σ_l α·features [N, E]
//   x = [context | embedding[token]]·gruKernel + inputBias; h' = gru(x, r, h) → hNew [N, U]
//   logits = (h'·fc1 + context·outContext + fc1Bias)·fc2 + fc2Bias; logProbs [N, V] = log-softmax
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "kernels.h"
// after kernels.h: its VECTORISED
#include "few_rows.h"

// c (holding the bias) += a [M, K] (row stride lda) · w, w packed (few_rows.h)
static void accumulate(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* w, float* c) {
  few_rows(M, N, K, a, lda, w, c);
}

static void fill_rows(float* c, const float* bias, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) memcpy(c + i * n, bias, (size_t)n * sizeof(float));
}

static inline float sigmoid_one(float v) { return 1.0f / (1.0f + exp_one(-v)); }


// Σ_u tanh(k[u] + q[u])·v[u] in LANE_SUM's order
static inline float score_row(const float* restrict k, const float* restrict q, const float* restrict v, int64_t U) {
  float s;
  LANE_SUM(s, U, u, tanh_abs(k[u] + q[u]) * v[u]);
  return s;
}

// α and the context of each row: context written at ctx + n·ldc
VECTORISED static void attend_rows(const float* restrict keys, const float* restrict features,
                                   const int32_t* restrict image_rows, const float* restrict proj,
                                   const float* restrict v, float* restrict alpha, float* restrict ctx, int64_t ldc,
                                   int64_t N, int64_t L, int64_t U, int64_t E) {
  for (int64_t n = 0; n < N; n++) {
    const int64_t img = image_rows != NULL ? image_rows[n] : n;
    const float* q = proj + n * 4 * U;
    const float* k = keys + img * L * U;
    float* a = alpha + n * L;
    float top = -INFINITY;
    for (int64_t l = 0; l < L; l++) {
      a[l] = score_row(k + l * U, q, v, U);
      top = a[l] > top ? a[l] : top;
    }
    float sum = 0;
    for (int64_t l = 0; l < L; l++) {
      a[l] = exp_one(a[l] - top);
      sum += a[l];
    }
    for (int64_t l = 0; l < L; l++) a[l] /= sum;
    const float* f = features + img * L * E;
    float* c = ctx + n * ldc;
    memset(c, 0, (size_t)E * sizeof(float));
    for (int64_t l = 0; l < L; l++)
      for (int64_t e = 0; e < E; e++) c[e] += a[l] * f[l * E + e];
  }
}

// the GRU cell (as gru.c's cell): x [N, 3U], recurrent projection at proj + U (row stride 4U)
VECTORISED static void gru_rows(const float* restrict x, const float* restrict proj, const float* restrict h,
                                float* restrict hn, int64_t N, int64_t U) {
  for (int64_t n = 0; n < N; n++) {
    const float *xb = x + n * 3 * U, *rb = proj + n * 4 * U + U;
    const float* hb = h + n * U;
    float* out = hn + n * U;
    for (int64_t u = 0; u < U; u++) {
      const float z = sigmoid_one(xb[u] + rb[u]);
      const float s = sigmoid_one(xb[U + u] + rb[U + u]);
      const float c = tanh_one(xb[2 * U + u] + s * rb[2 * U + u]);
      out[u] = c + z * (hb[u] - c);
    }
  }
}

// each row of logits [N, V] in place: x − max − log Σ exp(x − max)
VECTORISED static void log_softmax_rows(float* restrict x, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; n++) {
    float* row = x + n * V;
    float top = -INFINITY;
    for (int64_t i = 0; i < V; i++) top = row[i] > top ? row[i] : top;
    float sum;
    LANE_SUM(sum, V, i, exp_one(row[i] - top));
    const float lse = logf(sum);
    for (int64_t i = 0; i < V; i++) row[i] = (row[i] - top) - lse;
  }
}

// this thread's scratch, grown (never shrunk) to the largest step seen
static _Thread_local float* scratch = NULL;
static _Thread_local size_t scratch_len = 0;

static float* scratch_of(size_t floats) {
  if (floats > scratch_len) {
    float* grown = (float*)realloc(scratch, floats * sizeof(float));
    if (grown == NULL) return NULL;
    scratch = grown;
    scratch_len = floats;
  }
  return scratch;
}

// a product of counts, each factor ≥ 1, that stays < 2^31
static int size_of(int n, const int64_t* factors, int64_t* out) {
  return product_of(n, factors, out) && *out <= (int64_t)MAX_DIM;
}

#define P(name) DECODE_STEP_##name

napi_value DecodeStep(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, DECODE_STEP_NPARAMS, &h)) return NULL;
  const double* p = h.params;
  int64_t d[9];
  if (!counts(p, P(N), 9, 1, d))
    return fail(env, "decodeStep: N, images, states, L, U, E, D, F, V must be integers ≥ 1");
  const int64_t N = d[0], images = d[1], states = d[2], L = d[3], U = d[4], E = d[5], D = d[6], F = d[7], V = d[8];
  const int by_image = p[P(imageRowsOff)] >= 0, by_state = p[P(stateRowsOff)] >= 0;
  if ((!by_image && images != N) || (!by_state && states != N))
    return fail(env, "decodeStep: without row indices, images and states must equal N");
  // the packed weights' sizes: K · ceil(N/16) · 16
  int64_t n4U, nKeys, nFeatures, nEmbedding, nGru, nFc1, nCtx, nFc2, nLogits, nAlpha, nH, nHNew, ED, nRow;
#define PANELS(k, n) (int64_t[]){k, ((n) + PANEL_COLS - 1) / PANEL_COLS, PANEL_COLS}
  if (!size_of(3, PANELS(U, 4 * U), &n4U) || !size_of(3, (int64_t[]){images, L, U}, &nKeys) ||
      !size_of(3, (int64_t[]){images, L, E}, &nFeatures) || !size_of(2, (int64_t[]){V, D}, &nEmbedding) ||
      !size_of(1, (int64_t[]){E + D}, &ED) || !size_of(3, PANELS(ED, 3 * U), &nGru) ||
      !size_of(3, PANELS(U, F), &nFc1) || !size_of(3, PANELS(E, F), &nCtx) ||
      !size_of(3, PANELS(F, V), &nFc2) || !size_of(2, (int64_t[]){N, V}, &nLogits) ||
      !size_of(2, (int64_t[]){N, L}, &nAlpha) || !size_of(2, (int64_t[]){states, U}, &nH) ||
      !size_of(2, (int64_t[]){N, U}, &nHNew) || !size_of(2, (int64_t[]){N, 8 * U + ED + F}, &nRow))
    return fail(env, "decodeStep: an operand has 2^31 elements or more");
#undef PANELS
  const RegionSpec specs[] = {
      {P(tokensOff), N, "tokens", IN},
      {P(embeddingOff), nEmbedding, "embedding", IN},
      {P(stateKernelOff), n4U, "stateKernel", IN},
      {P(stateBiasOff), 4 * U, "stateBias", IN},
      {P(keysOff), nKeys, "keys", IN},
      {P(featuresOff), nFeatures, "features", IN},
      {P(imageRowsOff), N, "imageRows", IN | OPTIONAL},
      {P(stateRowsOff), N, "stateRows", IN | OPTIONAL},
      {P(vOff), U, "v", IN},
      {P(gruKernelOff), nGru, "gruKernel", IN},
      {P(inputBiasOff), 3 * U, "inputBias", IN},
      {P(fc1Off), nFc1, "fc1", IN},
      {P(fc1BiasOff), F, "fc1Bias", IN},
      {P(outContextOff), nCtx, "outContext", IN | OPTIONAL},
      {P(fc2Off), nFc2, "fc2", IN},
      {P(fc2BiasOff), V, "fc2Bias", IN},
      {P(hOff), nH, "h", IN},
      {P(logProbsOff), nLogits, "logProbs", OUT},
      {P(alphaOff), nAlpha, "alpha", OUT},
      {P(hNewOff), nHNew, "hNew", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "decodeStep", &h, specs, REGION_COUNT(specs), r)) return NULL;
#define AT(i) ((const float*)(h.base + r[i].off))
  const int32_t* tokens = (const int32_t*)(h.base + r[0].off);
  const int32_t* image_rows = by_image ? (const int32_t*)(h.base + r[6].off) : NULL;
  const int32_t* state_rows = by_state ? (const int32_t*)(h.base + r[7].off) : NULL;
  for (int64_t n = 0; n < N; n++) {
    if (tokens[n] < 0 || tokens[n] >= V) return fail(env, "decodeStep: a token lies outside 0..V-1");
    if (image_rows != NULL && (image_rows[n] < 0 || image_rows[n] >= images))
      return fail(env, "decodeStep: an image row lies outside 0..images-1");
    if (state_rows != NULL && (state_rows[n] < 0 || state_rows[n] >= states))
      return fail(env, "decodeStep: a state row lies outside 0..states-1");
  }
  // scratch: p [N, 4U], state rows [N, U] (gathered when indexed), [context | embedding] [N, E + D],
  // x [N, 3U], fc1's output [N, F]
  float* proj = scratch_of((size_t)nRow);
  if (proj == NULL) return fail(env, "decodeStep: out of memory for the step's scratch");
  float* hrows = proj + N * 4 * U;
  float* cat = hrows + N * U;
  float* x = cat + N * ED;
  float* hidden = x + N * 3 * U;
  float* logprobs = (float*)(h.base + r[17].off);
  float* alpha = (float*)(h.base + r[18].off);
  float* hnew = (float*)(h.base + r[19].off);
  const float* hprev = AT(16);
  if (state_rows != NULL) {
    for (int64_t n = 0; n < N; n++) memcpy(hrows + n * U, hprev + (int64_t)state_rows[n] * U, (size_t)U * sizeof(float));
    hprev = hrows;
  }
  // p = h·[W2 | recurrent] + bias
  fill_rows(proj, AT(3), N, 4 * U);
  accumulate(N, 4 * U, U, hprev, U, AT(2), proj);
  // α and the context into cat[:, :E]; the embedding rows into cat[:, E:]
  attend_rows(AT(4), AT(5), image_rows, proj, AT(8), alpha, cat, ED, N, L, U, E);
  for (int64_t n = 0; n < N; n++) memcpy(cat + n * ED + E, AT(1) + (int64_t)tokens[n] * D, (size_t)D * sizeof(float));
  // x = [context | embedding]·gruKernel + inputBias; the cell
  fill_rows(x, AT(10), N, 3 * U);
  accumulate(N, 3 * U, ED, cat, ED, AT(9), x);
  gru_rows(x, proj, hprev, hnew, N, U);
  // fc1 (and the deep output's context rows), fc2, log-softmax
  fill_rows(hidden, AT(12), N, F);
  accumulate(N, F, U, hnew, U, AT(11), hidden);
  if (p[P(outContextOff)] >= 0) accumulate(N, F, E, cat, ED, AT(13), hidden);
  fill_rows(logprobs, AT(15), N, V);
  accumulate(N, V, F, hidden, F, AT(14), logprobs);
  log_softmax_rows(logprobs, N, V);
#undef AT
  return NULL;
}
