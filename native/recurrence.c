// The whole teacher-forced decoder recurrence (src/ml/model/decoder.ts, teacherForcedStates) in one
// native call forward and one for its gradient, on the wasm heap (src/ml/kernels/native-recurrence.ts):
// per time step the state projection h·[W2 | Wh] + b, the attention (scores, softmax, context), the
// context share of the GRU input projection and the GRU cell; T steps per call instead of ~25 tfjs
// kernels per step forward and ~35 backward. The weights' gradients are summed once over all steps
// (three OpenBLAS products over the B·T rows); the per-step products of B rows run in registers
// (rows_times); the sequences split over the addon's threads (below, "the sequences in parts").
// Checks: kernels.h (every region inside the heap, outputs overlap nothing).
//
// recurrence(heap, RECUR_PARAMS [keysOff, featuresOff, xEmbOff, wQueryOff, bQueryOff, wRecOff, bRecOff,
//            wContextOff, vOff, keepOff, outOff, savedOff, B, T, L, U, E])
//   keys [B, L, U] (W1·features + b1), features [B, L, E], xEmb [B, T, 3U] (the tokens' share of the GRU
//   input projection, its bias included), wQuery [U, U] and bQuery [U] (attention's W2), wRec [U, 3U]
//   and bRec [3U] (the GRU's recurrent kernel and bias),
//   wContext [E, 3U] (the context rows of the GRU input kernel), v [U], keep [T, B] (context dropout's
//   scale into the GRU; keepOff < 0: none). From h_0 = 0, for t = 0..T-1 (h = h_t, W = U + L + E):
//     q = h·wQuery + bQuery [B, U], r = h·wRec + bRec [B, 3U] (P = (q | r) [B, 4U])
//     α = softmax_l(Σ_u tanh(keys[b, l, u] + q[b, u])·v[u]); ctx = Σ_l α[b, l]·features[b, l, :]
//     x = (ctx·keep[t, b])·wContext + xEmb[:, t]; h_{t+1} = GRU(x, r, h) (gru.c's cell)
//   out [B, T, W]: row (b, t) = (h_{t+1} | α | ctx). saved [T, 5·B·U] (savedOff < 0: not stored, no
//   gradient to come): per step q [B, U], the gates (z, s, c) [B, 3U] and r_n [B, U]. The attention's
//   tanh values ([B, L, U] per step: 98 MB for the reference model's b64 step) are recomputed by the gradient from keys and q,
//   bit for bit the forward's.
// recurrenceGrad(heap, RECUR_GRAD_PARAMS [keysOff, featuresOff, wQueryOff, wRecOff, wContextOff, vOff, keepOff,
//            outOff, savedOff, dyOff, dkeysOff, dfeaturesOff, dxEmbOff, dwQueryOff, dbQueryOff, dwRecOff,
//            dbRecOff, dwContextOff, dvOff, B, T, L, U, E])
//   dy [B, T, W]: the gradient of out. Writes the gradients of keys, features, xEmb, wQuery, bQuery,
//   wRec, bRec, wContext and v.
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "kernels.h"

typedef struct {
  int64_t B, T, L, U, E;
  int64_t W; // U + L + E: one row of out
  int64_t S; // 5·B·U: one step of saved
} Dims;

// B, T, L, U, E ≥ 1 from params[first..first+5), every region < 2^31 elements
static int dims(const double* p, int first, Dims* d) {
  int64_t v[5];
  if (!counts(p, first, 5, 1, v)) return 0;
  const int64_t B = v[0], T = v[1], L = v[2], U = v[3], E = v[4];
  const int64_t W = U + L + E; // each term < 2^31: no overflow in int64
  const int64_t sizes[][3] = {{B, T, W}, {B, L, U}, {B, L, E}, {B, T, 3 * U}, {U, 4 * U, 1}, {E, 3 * U, 1},
                              {T, B, 5 * U}, {B, T, 4 * U}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int64_t n;
    if (!product_of(3, sizes[i], &n) || n > (int64_t)MAX_DIM) return 0;
  }
  *d = (Dims){B, T, L, U, E, W, 5 * B * U};
  return 1;
}

static inline float sigmoid_one(float v) { return 1.0f / (1.0f + exp_one(-v)); }

static void sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc) {
  blas_threads_for((double)M * N * K);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K,
              1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

// C[b, :] += A[b, :]·W for the few rows b < B of one step (B ≤ 64 in practice): W [K, N] (row stride
// ldw) streams once per 4 rows, 64 columns at a time, with the 4 × 64 sums in registers. OpenBLAS
// packs all of W (4 MB for the state projection) at every call, which cost more than the products
// of 16 rows themselves.
#define NB 64
#define RB 4
VECTORISED static void rows_times(int64_t B, int64_t N, int64_t K, const float* restrict A, int64_t lda,
                                  const float* restrict W, int64_t ldw, float* restrict C, int64_t ldc) {
  int64_t n0 = 0;
  for (; n0 + NB <= N; n0 += NB) {
    int64_t b = 0;
    for (; b + RB <= B; b += RB) {
      float acc[RB][NB];
      for (int r = 0; r < RB; r++)
        for (int j = 0; j < NB; j++) acc[r][j] = C[(b + r) * ldc + n0 + j];
      for (int64_t k = 0; k < K; k++) {
        const float* w = W + k * ldw + n0;
        for (int r = 0; r < RB; r++) {
          const float s = A[(b + r) * lda + k];
          for (int j = 0; j < NB; j++) acc[r][j] += s * w[j];
        }
      }
      for (int r = 0; r < RB; r++)
        for (int j = 0; j < NB; j++) C[(b + r) * ldc + n0 + j] = acc[r][j];
    }
    for (; b < B; b++) {
      float acc[NB];
      for (int j = 0; j < NB; j++) acc[j] = C[b * ldc + n0 + j];
      for (int64_t k = 0; k < K; k++) {
        const float s = A[b * lda + k];
        const float* w = W + k * ldw + n0;
        for (int j = 0; j < NB; j++) acc[j] += s * w[j];
      }
      for (int j = 0; j < NB; j++) C[b * ldc + n0 + j] = acc[j];
    }
  }
  if (n0 < N)
    for (int64_t b = 0; b < B; b++)
      for (int64_t k = 0; k < K; k++) {
        const float s = A[b * lda + k];
        const float* w = W + k * ldw;
        for (int64_t j = n0; j < N; j++) C[b * ldc + j] += s * w[j];
      }
}

// out [cols, rows] = inᵀ for in [rows, cols], in 16 × 16 tiles (element by element, the strided stores
// missed the cache at every one: 85 % of the gradient's own time)
#define TILE 16
static void transpose(const float* restrict in, int64_t rows, int64_t cols, float* restrict out) {
  for (int64_t i0 = 0; i0 < rows; i0 += TILE)
    for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
      const int64_t i1 = i0 + TILE < rows ? i0 + TILE : rows, j1 = j0 + TILE < cols ? j0 + TILE : cols;
      for (int64_t j = j0; j < j1; j++)
        for (int64_t i = i0; i < i1; i++) out[j * rows + i] = in[i * cols + j];
    }
}

// one sequence's attention at one step: α [L] and ctx [E] into its row of out
VECTORISED static void attend_row(const float* restrict keys, const float* restrict q, const float* restrict v,
                                  const float* restrict features, float* restrict alpha, float* restrict ctx, int64_t L,
                                  int64_t U, int64_t E) {
  float top = -INFINITY;
  for (int64_t l = 0; l < L; l++) {
    const float* k = keys + l * U;
    float s;
    LANE_SUM(s, U, u, tanh_abs(k[u] + q[u]) * v[u]);
    alpha[l] = s;
    top = s > top ? s : top;
  }
  float sum = 0;
  for (int64_t l = 0; l < L; l++) {
    alpha[l] = exp_one(alpha[l] - top);
    sum += alpha[l];
  }
  for (int64_t l = 0; l < L; l++) alpha[l] /= sum;
  memset(ctx, 0, (size_t)E * sizeof(float));
  for (int64_t l = 0; l < L; l++) {
    const float a = alpha[l];
    const float* f = features + l * E;
    for (int64_t e = 0; e < E; e++) ctx[e] += a * f[e];
  }
}

// the GRU cell of one sequence (gru.c's): x [3U], r [3U], h [U] (NULL: zeros) → hn [U]; gates (z, s, c)
// [3U] and r_n [U] kept unless NULL
VECTORISED static void gru_row(const float* restrict x, const float* restrict r, const float* restrict h,
                               float* restrict hn, float* restrict gates, float* restrict rn, int64_t U) {
  for (int64_t u = 0; u < U; u++) {
    const float z = sigmoid_one(x[u] + r[u]);
    const float s = sigmoid_one(x[U + u] + r[U + u]);
    const float c = tanh_one(x[2 * U + u] + s * r[2 * U + u]);
    const float hp = h != NULL ? h[u] : 0.0f;
    hn[u] = c + z * (hp - c);
    if (gates != NULL) gates[u] = z, gates[U + u] = s, gates[2 * U + u] = c, rn[u] = r[2 * U + u];
  }
}

typedef struct {
  const float *keys, *features, *xEmb, *wQuery, *bQuery, *wRec, *bRec, *wContext, *v, *keep;
  float *out, *saved;
} Forward;

// ---- the sequences in parts ------------------------------------------------------------------
// Every sequence's recurrence is its own: the B sequences split into parts that run on threads of
// their own with no synchronisation until the end (the per-step products of each part on its own
// rows). As many parts as the addon's threads allow now (threads.c threads_for_parts: the worker's
// thread budget for the native kernels, whose calls never overlap, or one while another process holds
// a core), at least RB rows each, and only for a recurrence of ≥ 2^22 multiply-adds. Each part's
// share of a core while the call ran goes back to threads.c. Each row's arithmetic is the same
// whatever the split (and the gradient of v is summed per sequence, then over them in order): results
// do not depend on it.
#include <pthread.h>
#include <time.h>

#define MAX_PARTS 16

static int part_count(const Dims* d) {
  const double work = (double)d->B * d->T * d->U * (4.0 * d->U + 3.0 * d->E);
  int64_t most = d->B / RB;
  if (most > MAX_PARTS) most = MAX_PARTS;
  if (most < 2 || work < 4194304.0 || blas_policy_threads() < 2) return 1;
  int64_t n = threads_for_parts();
  if (n > most) n = most;
  return n < 1 ? 1 : (int)n;
}

// sequences [b0, b1) of part i of n: multiples of RB rows
static void part_rows(int64_t B, int n, int i, int64_t* b0, int64_t* b1) {
  const int64_t chunk = ((B + n - 1) / n + RB - 1) / RB * RB;
  *b0 = i * chunk < B ? i * chunk : B;
  *b1 = *b0 + chunk < B ? *b0 + chunk : B;
}

static double seconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
  void* (*fn)(void*);
  void* arg;
  double start, cpu, end; // the call's start (shared), this part's thread CPU time and its end
} Timed;

static void* timed_part(void* arg) {
  Timed* t = arg;
  const double cpu0 = seconds(CLOCK_THREAD_CPUTIME_ID);
  t->fn(t->arg);
  t->cpu = seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0;
  t->end = seconds(CLOCK_MONOTONIC);
  return NULL;
}

// runs fn on parts[0..n) (each `size` bytes): part 0 on this thread, the others on threads of their
// own (one that cannot start runs here after part 0); reports the lowest share of a core a part got
// from the start of the call to its end (threads.c)
static void run_parts(void* (*fn)(void*), void* parts, size_t size, int n) {
  pthread_t threads[MAX_PARTS];
  int started[MAX_PARTS] = {0};
  Timed timed[MAX_PARTS];
  const double start = seconds(CLOCK_MONOTONIC);
  for (int i = 0; i < n; i++) timed[i] = (Timed){fn, (char*)parts + i * size, start, 0, start};
  for (int i = 1; i < n; i++) started[i] = pthread_create(&threads[i], NULL, timed_part, &timed[i]) == 0;
  timed_part(&timed[0]);
  int all = 1;
  for (int i = 1; i < n; i++) {
    if (started[i]) pthread_join(threads[i], NULL);
    else fn((char*)parts + i * size), all = 0;
  }
  double lowest = 1;
  for (int i = 0; i < n; i++) {
    const double wall = timed[i].end - start, share = wall > 0 ? timed[i].cpu / wall : 1;
    if (share < lowest) lowest = share;
  }
  if (all) threads_observe(n, lowest);
}

static void* alloc_floats(int64_t n) { return malloc((size_t)(n > 0 ? n : 1) * sizeof(float)); }

typedef struct {
  const Forward* f;
  const Dims* d;
  int64_t b0, b1;
  int ok;
} ForwardPart;

static void* forward_part(void* arg) {
  ForwardPart* p = arg;
  const Forward* f = p->f;
  const int64_t B = p->d->B, T = p->d->T, L = p->d->L, U = p->d->U, E = p->d->E, W = p->d->W;
  const int64_t b0 = p->b0, n = p->b1 - p->b0;
  float* P = alloc_floats(n * 4 * U);
  float* G = alloc_floats(n * E);
  float* X = alloc_floats(n * 3 * U);
  p->ok = P != NULL && G != NULL && X != NULL;
  for (int64_t t = 0; p->ok && t < T; t++) {
    for (int64_t i = 0; i < n; i++) {
      memcpy(P + i * 4 * U, f->bQuery, (size_t)U * sizeof(float));
      memcpy(P + i * 4 * U + U, f->bRec, (size_t)(3 * U) * sizeof(float));
    }
    // h_t of sequence b is row (b, t − 1) of out: stride T·W
    if (t > 0) {
      rows_times(n, U, U, f->out + (b0 * T + t - 1) * W, T * W, f->wQuery, U, P, 4 * U);
      rows_times(n, 3 * U, U, f->out + (b0 * T + t - 1) * W, T * W, f->wRec, 3 * U, P + U, 4 * U);
    }
    float* saved = f->saved != NULL ? f->saved + t * p->d->S : NULL;
    for (int64_t i = 0; i < n; i++) {
      const int64_t b = b0 + i;
      float* row = f->out + (b * T + t) * W;
      attend_row(f->keys + b * L * U, P + i * 4 * U, f->v, f->features + b * L * E, row + U, row + U + L, L, U, E);
      if (saved != NULL) memcpy(saved + b * U, P + i * 4 * U, (size_t)U * sizeof(float));
      const float k = f->keep != NULL ? f->keep[t * B + b] : 1.0f;
      for (int64_t e = 0; e < E; e++) G[i * E + e] = row[U + L + e] * k;
      memcpy(X + i * 3 * U, f->xEmb + (b * T + t) * 3 * U, (size_t)(3 * U) * sizeof(float));
    }
    rows_times(n, 3 * U, E, G, E, f->wContext, 3 * U, X, 3 * U);
    for (int64_t i = 0; i < n; i++) {
      const int64_t b = b0 + i;
      float* row = f->out + (b * T + t) * W;
      float* gates = saved != NULL ? saved + B * U + b * 3 * U : NULL;
      float* rn = saved != NULL ? saved + 4 * B * U + b * U : NULL;
      gru_row(X + i * 3 * U, P + i * 4 * U + U, t > 0 ? row - W : NULL, row, gates, rn, U);
    }
  }
  free(P), free(G), free(X);
  return NULL;
}

static int forward(const Forward* f, const Dims* d) {
  const int n = part_count(d);
  ForwardPart parts[MAX_PARTS];
  for (int i = 0; i < n; i++) {
    parts[i] = (ForwardPart){f, d, 0, 0, 0};
    part_rows(d->B, n, i, &parts[i].b0, &parts[i].b1);
  }
  run_parts(forward_part, parts, sizeof parts[0], n);
  int ok = 1;
  for (int i = 0; i < n; i++) ok &= parts[i].ok;
  return ok;
}

typedef struct {
  const float *keys, *features, *wQuery, *wRec, *wContext, *v, *keep, *out, *saved, *dy;
  float *dkeys, *dfeatures, *dxEmb, *dwQuery, *dbQuery, *dwRec, *dbRec, *dwContext, *dv;
} Backward;

// the GRU cell's gradient for one sequence (gru.c's): g = dL/dh' [U] → dx [3U], the r part of dP [3U];
// dh = g·z
VECTORISED static void gru_grad_row(const float* restrict g, const float* restrict gates, const float* restrict rn,
                                    const float* restrict h, float* restrict dx, float* restrict dr,
                                    float* restrict dh, int64_t U) {
  for (int64_t u = 0; u < U; u++) {
    const float z = gates[u], s = gates[U + u], c = gates[2 * U + u];
    const float hp = h != NULL ? h[u] : 0.0f;
    const float dn = g[u] * (1.0f - z) * (1.0f - c * c);
    const float dz = g[u] * (hp - c) * (z * (1.0f - z));
    const float ds = dn * rn[u] * (s * (1.0f - s));
    dx[u] = dz, dx[U + u] = ds, dx[2 * U + u] = dn;
    dr[u] = dz, dr[U + u] = ds, dr[2 * U + u] = dn * s;
    dh[u] = g[u] * z;
  }
}

// the attention's gradient for one sequence at one step, given dctx [E] and the direct dα [L], the
// tanh values recomputed from keys [L, U] and q [U]: accumulates dfeatures [L, E], dkeys [L, U], dv [U];
// writes dq [U] (the q part of dP)
VECTORISED static void attend_grad_row(const float* restrict features, const float* restrict alpha,
                                       const float* restrict dalpha_in, const float* restrict keys,
                                       const float* restrict q,
                                       const float* restrict v, const float* restrict dctx, float* restrict da,
                                       float* restrict dfeatures, float* restrict dkeys, float* restrict dq,
                                       float* restrict dv, int64_t L, int64_t U, int64_t E) {
  float dot = 0;
  for (int64_t l = 0; l < L; l++) {
    const float* f = features + l * E;
    float s;
    LANE_SUM(s, E, e, dctx[e] * f[e]);
    da[l] = s + dalpha_in[l];
    dot += alpha[l] * da[l];
    float* df = dfeatures + l * E;
    const float a = alpha[l];
    for (int64_t e = 0; e < E; e++) df[e] += a * dctx[e];
  }
  memset(dq, 0, (size_t)U * sizeof(float));
  for (int64_t l = 0; l < L; l++) {
    const float ds = alpha[l] * (da[l] - dot);
    const float* kl = keys + l * U;
    float* dk = dkeys + l * U;
    for (int64_t u = 0; u < U; u++) {
      const float t = tanh_abs(kl[u] + q[u]);
      const float g = ds * v[u] * (1.0f - t * t);
      dk[u] += g;
      dq[u] += g;
      dv[u] += t * ds;
    }
  }
}

typedef struct {
  const Backward* k;
  const Dims* d;
  const float *wsT, *wcT;
  float *dP, *dvB;
  int64_t b0, b1;
  int ok;
} BackwardPart;

static void* backward_part(void* arg) {
  BackwardPart* p = arg;
  const Backward* k = p->k;
  const int64_t B = p->d->B, T = p->d->T, L = p->d->L, U = p->d->U, E = p->d->E, W = p->d->W;
  const int64_t b0 = p->b0, n = p->b1 - p->b0;
  float* dP = p->dP;
  float* dh = alloc_floats(n * U);   // dL/dh_t from steps ≥ t
  float* g = alloc_floats(U);        // dL/dh_{t+1}, one sequence
  float* dctx = alloc_floats(n * E); // d(ctx·keep), then dctx
  float* da = alloc_floats(L);       // dα, one sequence
  p->ok = dh != NULL && g != NULL && dctx != NULL && da != NULL;
  if (p->ok) memset(dh, 0, (size_t)(n * U) * sizeof(float));
  for (int64_t t = T - 1; p->ok && t >= 0; t--) {
    const float* saved = k->saved + t * p->d->S;
    for (int64_t i = 0; i < n; i++) {
      const int64_t b = b0 + i;
      const float* dyrow = k->dy + (b * T + t) * W;
      float* dhb = dh + i * U;
      for (int64_t u = 0; u < U; u++) g[u] = dyrow[u] + dhb[u];
      gru_grad_row(g, saved + B * U + b * 3 * U, saved + 4 * B * U + b * U,
                   t > 0 ? k->out + (b * T + t - 1) * W : NULL, k->dxEmb + (b * T + t) * 3 * U,
                   dP + (b * T + t) * 4 * U + U, dhb, U);
    }
    // d(ctx·keep) = dx·wContextᵀ
    memset(dctx, 0, (size_t)(n * E) * sizeof(float));
    rows_times(n, E, 3 * U, k->dxEmb + (b0 * T + t) * 3 * U, T * 3 * U, p->wcT, E, dctx, E);
    for (int64_t i = 0; i < n; i++) {
      const int64_t b = b0 + i;
      const float* row = k->out + (b * T + t) * W;
      const float* dyrow = k->dy + (b * T + t) * W;
      const float keep = k->keep != NULL ? k->keep[t * B + b] : 1.0f;
      float* dc = dctx + i * E;
      for (int64_t e = 0; e < E; e++) dc[e] = dc[e] * keep + dyrow[U + L + e];
      attend_grad_row(k->features + b * L * E, row + U, dyrow + U, k->keys + b * L * U, saved + b * U, k->v, dc, da,
                      k->dfeatures + b * L * E, k->dkeys + b * L * U, dP + (b * T + t) * 4 * U, p->dvB + b * U, L, U,
                      E);
    }
    // h_t (t ≥ 1) also fed step t's projections: dh_t += dP_t·(wQuery | wRec)ᵀ (h_0 is the zero start)
    if (t > 0) rows_times(n, U, 4 * U, dP + (b0 * T + t) * 4 * U, T * 4 * U, p->wsT, U, dh, U);
  }
  free(dh), free(g), free(dctx), free(da);
  return NULL;
}

static int backward(const Backward* k, const Dims* d) {
  const int64_t B = d->B, T = d->T, L = d->L, U = d->U, E = d->E, W = d->W;
  const int64_t rows = B * T, wide = (U > E ? U : E);
  float* dP = alloc_floats(rows * 4 * U); // [B, T, 4U]
  float* dvB = alloc_floats(B * U);       // dv of each sequence
  float* A = alloc_floats(rows * wide);   // h_t, then ctx·keep, per row
  float* wsT = alloc_floats(4 * U * U);   // (wQuery | wRec)ᵀ [4U, U]
  float* wcT = alloc_floats(3 * U * E);   // wContextᵀ [3U, E]
  if (dP == NULL || dvB == NULL || A == NULL || wsT == NULL || wcT == NULL) {
    free(dP), free(dvB), free(A), free(wsT), free(wcT);
    return 0;
  }
  transpose(k->wQuery, U, U, wsT);
  transpose(k->wRec, U, 3 * U, wsT + U * U);
  transpose(k->wContext, E, 3 * U, wcT);
  memset(k->dkeys, 0, (size_t)(B * L * U) * sizeof(float));
  memset(k->dfeatures, 0, (size_t)(B * L * E) * sizeof(float));
  memset(dvB, 0, (size_t)(B * U) * sizeof(float));
  const int n = part_count(d);
  BackwardPart parts[MAX_PARTS];
  for (int i = 0; i < n; i++) {
    parts[i] = (BackwardPart){k, d, wsT, wcT, dP, dvB, 0, 0, 0};
    part_rows(B, n, i, &parts[i].b0, &parts[i].b1);
  }
  run_parts(backward_part, parts, sizeof parts[0], n);
  int ok = 1;
  for (int i = 0; i < n; i++) ok &= parts[i].ok;
  if (!ok) {
    free(dP), free(dvB), free(A), free(wsT), free(wcT);
    return 0;
  }
  memset(k->dv, 0, (size_t)U * sizeof(float));
  for (int64_t b = 0; b < B; b++)
    for (int64_t u = 0; u < U; u++) k->dv[u] += dvB[b * U + u];
  // (dbQuery | dbRec) = Σ_rows dP; (dwQuery | dwRec) = Σ_rows h_tᵀ·dP (rows of t = 0: h_0 = 0)
  memset(k->dbQuery, 0, (size_t)U * sizeof(float));
  memset(k->dbRec, 0, (size_t)(3 * U) * sizeof(float));
  for (int64_t i = 0; i < rows; i++) {
    for (int64_t j = 0; j < U; j++) k->dbQuery[j] += dP[i * 4 * U + j];
    for (int64_t j = 0; j < 3 * U; j++) k->dbRec[j] += dP[i * 4 * U + U + j];
  }
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      float* a = A + (b * T + t) * U;
      if (t == 0) memset(a, 0, (size_t)U * sizeof(float));
      else memcpy(a, k->out + (b * T + t - 1) * W, (size_t)U * sizeof(float));
    }
  sgemm(1, 0, U, U, rows, A, U, dP, 4 * U, 0.0f, k->dwQuery, U);
  sgemm(1, 0, U, 3 * U, rows, A, U, dP + U, 4 * U, 0.0f, k->dwRec, 3 * U);
  // dwContext = Σ_rows (ctx·keep)ᵀ·dx
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      const float keep = k->keep != NULL ? k->keep[t * B + b] : 1.0f;
      const float* ctx = k->out + (b * T + t) * W + U + L;
      float* a = A + (b * T + t) * E;
      for (int64_t e = 0; e < E; e++) a[e] = ctx[e] * keep;
    }
  sgemm(1, 0, E, 3 * U, rows, A, E, k->dxEmb, 3 * U, 0.0f, k->dwContext, 3 * U);
  free(dP), free(dvB), free(A), free(wsT), free(wcT);
  return 1;
}

#define F(i) ((const float*)(h.base + r[i].off))
#define M(i) ((float*)(h.base + r[i].off))

napi_value Recurrence(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, RECUR_NPARAMS, &h)) return NULL;
  Dims d;
  if (!dims(h.params, RECUR_B, &d))
    return fail(env, "recurrence: B, T, L, U, E must be integers ≥ 1 (every region < 2^31 elements)");
  const RegionSpec specs[] = {
      {RECUR_keysOff, d.B * d.L * d.U, "keys", IN},
      {RECUR_featuresOff, d.B * d.L * d.E, "features", IN},
      {RECUR_xEmbOff, d.B * d.T * 3 * d.U, "xEmb", IN},
      {RECUR_wQueryOff, d.U * d.U, "wQuery", IN},
      {RECUR_bQueryOff, d.U, "bQuery", IN},
      {RECUR_wRecOff, 3 * d.U * d.U, "wRec", IN},
      {RECUR_bRecOff, 3 * d.U, "bRec", IN},
      {RECUR_wContextOff, 3 * d.U * d.E, "wContext", IN},
      {RECUR_vOff, d.U, "v", IN},
      {RECUR_keepOff, d.T * d.B, "keep", IN | OPTIONAL},
      {RECUR_outOff, d.B * d.T * d.W, "out", OUT},
      {RECUR_savedOff, d.T * d.S, "saved", OUT | OPTIONAL},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "recurrence", &h, specs, REGION_COUNT(specs), r)) return NULL;
  const Forward f = {F(0), F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8),
                     h.params[RECUR_keepOff] >= 0 ? F(9) : NULL, M(10),
                     h.params[RECUR_savedOff] >= 0 ? M(11) : NULL};
  if (!forward(&f, &d)) return fail(env, "recurrence: out of memory for the scratch buffers");
  return NULL;
}

napi_value RecurrenceGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, RECUR_GRAD_NPARAMS, &h)) return NULL;
  Dims d;
  if (!dims(h.params, RECUR_GRAD_B, &d))
    return fail(env, "recurrenceGrad: B, T, L, U, E must be integers ≥ 1 (every region < 2^31 elements)");
  const RegionSpec specs[] = {
      {RECUR_GRAD_keysOff, d.B * d.L * d.U, "keys", IN},
      {RECUR_GRAD_featuresOff, d.B * d.L * d.E, "features", IN},
      {RECUR_GRAD_wQueryOff, d.U * d.U, "wQuery", IN},
      {RECUR_GRAD_wRecOff, 3 * d.U * d.U, "wRec", IN},
      {RECUR_GRAD_wContextOff, 3 * d.U * d.E, "wContext", IN},
      {RECUR_GRAD_vOff, d.U, "v", IN},
      {RECUR_GRAD_keepOff, d.T * d.B, "keep", IN | OPTIONAL},
      {RECUR_GRAD_outOff, d.B * d.T * d.W, "out", IN},
      {RECUR_GRAD_savedOff, d.T * d.S, "saved", IN},
      {RECUR_GRAD_dyOff, d.B * d.T * d.W, "dy", IN},
      {RECUR_GRAD_dkeysOff, d.B * d.L * d.U, "dkeys", OUT},
      {RECUR_GRAD_dfeaturesOff, d.B * d.L * d.E, "dfeatures", OUT},
      {RECUR_GRAD_dxEmbOff, d.B * d.T * 3 * d.U, "dxEmb", OUT},
      {RECUR_GRAD_dwQueryOff, d.U * d.U, "dwQuery", OUT},
      {RECUR_GRAD_dbQueryOff, d.U, "dbQuery", OUT},
      {RECUR_GRAD_dwRecOff, 3 * d.U * d.U, "dwRec", OUT},
      {RECUR_GRAD_dbRecOff, 3 * d.U, "dbRec", OUT},
      {RECUR_GRAD_dwContextOff, 3 * d.U * d.E, "dwContext", OUT},
      {RECUR_GRAD_dvOff, d.U, "dv", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "recurrenceGrad", &h, specs, REGION_COUNT(specs), r)) return NULL;
  const Backward k = {F(0),  F(1),  F(2),  F(3),  F(4),  F(5),  h.params[RECUR_GRAD_keepOff] >= 0 ? F(6) : NULL,
                      F(7),  F(8),  F(9),  M(10), M(11), M(12), M(13),
                      M(14), M(15), M(16), M(17), M(18)};
  if (!backward(&k, &d)) return fail(env, "recurrenceGrad: out of memory for the scratch buffers");
  return NULL;
}
