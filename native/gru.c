// The GRU cell fused (Keras semantics, reset_after: src/ml/model/gru.ts), on the wasm heap
// (src/ml/kernels/native-gru.ts): one pass over [B, U] instead of 5 Slices, 3 Adds, a Sigmoid, a
// Tanh, 2 Multiplies and a Sub forward and ~20 kernels backward. Checks: kernels.h (outputs overlap
// no input nor each other).
//
// gruCell(heap, GRU_PARAMS [xOff, rOff, hOff, hNewOff, gatesOff, B, U])
//   x = x·Wx + b_in [B, 3U], r = h·Wh + b_rec [B, 3U] (gate order z, r, n), h [B, U]:
//   z = σ(x_z + r_z); s = σ(x_r + r_r); c = tanh(x_n + s·r_n); h' = c + z·(h − c)
//   gates [B, 3U] = (z, s, c), kept for the gradient (gatesOff < 0: not stored, for decoding)
// gruCellGrad(heap, GRU_GRAD_PARAMS [gatesOff, rOff, hOff, dyOff, dxOff, drOff, dhOff, B, U])
//   g = dL/dh'; dn = g·(1 − z)·(1 − c²); dz = g·(h − c)·z·(1 − z); ds = dn·r_n·s·(1 − s)
//   dx = (dz, ds, dn); dr = (dz, ds, dn·s); dh = g·z
#include "fastmath.h"
#include "kernels.h"

static inline float sigmoid_one(float v) { return 1.0f / (1.0f + exp_one(-v)); }

VECTORISED static void cell(const float* restrict x, const float* restrict r, const float* restrict h,
                            float* restrict hn, float* restrict gates, int64_t B, int64_t U) {
  for (int64_t b = 0; b < B; b++) {
    const float *xb = x + b * 3 * U, *rb = r + b * 3 * U, *hb = h + b * U;
    float* out = hn + b * U;
    float* g = gates != NULL ? gates + b * 3 * U : NULL;
    for (int64_t u = 0; u < U; u++) {
      const float z = sigmoid_one(xb[u] + rb[u]);
      const float s = sigmoid_one(xb[U + u] + rb[U + u]);
      const float c = tanh_one(xb[2 * U + u] + s * rb[2 * U + u]);
      out[u] = c + z * (hb[u] - c);
      if (g != NULL) g[u] = z, g[U + u] = s, g[2 * U + u] = c;
    }
  }
}

VECTORISED static void cell_grad(const float* restrict gates, const float* restrict r, const float* restrict h,
                                 const float* restrict dy, float* restrict dx, float* restrict dr, float* restrict dh,
                                 int64_t B, int64_t U) {
  for (int64_t b = 0; b < B; b++) {
    const float *gb = gates + b * 3 * U, *rb = r + b * 3 * U, *hb = h + b * U, *g = dy + b * U;
    float *dxb = dx + b * 3 * U, *drb = dr + b * 3 * U, *dhb = dh + b * U;
    for (int64_t u = 0; u < U; u++) {
      const float z = gb[u], s = gb[U + u], c = gb[2 * U + u];
      const float dn = g[u] * (1.0f - z) * (1.0f - c * c);
      const float dz = g[u] * (hb[u] - c) * (z * (1.0f - z));
      const float ds = dn * rb[2 * U + u] * (s * (1.0f - s));
      dxb[u] = dz, dxb[U + u] = ds, dxb[2 * U + u] = dn;
      drb[u] = dz, drb[U + u] = ds, drb[2 * U + u] = dn * s;
      dhb[u] = g[u] * z;
    }
  }
}

// B, U ≥ 1 from params[first..first+2), with 3·B·U < 2^31
static int dims(const double* p, int first, int64_t* B, int64_t* U) {
  int64_t d[3] = {0, 0, 3}, n;
  if (!counts(p, first, 2, 1, d) || !product_of(3, d, &n) || n > (int64_t)MAX_DIM) return 0;
  *B = d[0], *U = d[1];
  return 1;
}

napi_value GruCell(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, GRU_NPARAMS, &h)) return NULL;
  int64_t B, U;
  if (!dims(h.params, GRU_B, &B, &U)) return fail(env, "gruCell: B, U must be integers ≥ 1 (3·B·U < 2^31)");
  const RegionSpec specs[] = {
      {GRU_xOff, 3 * B * U, "x", IN},        {GRU_rOff, 3 * B * U, "r", IN},
      {GRU_hOff, B * U, "h", IN},            {GRU_hNewOff, B * U, "hNew", OUT},
      {GRU_gatesOff, 3 * B * U, "gates", OUT | OPTIONAL},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "gruCell", &h, specs, REGION_COUNT(specs), r)) return NULL;
  const int store = h.params[GRU_gatesOff] >= 0;
  cell((const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), (const float*)(h.base + r[2].off),
       (float*)(h.base + r[3].off), store ? (float*)(h.base + r[4].off) : NULL, B, U);
  return NULL;
}

napi_value GruCellGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, GRU_GRAD_NPARAMS, &h)) return NULL;
  int64_t B, U;
  if (!dims(h.params, GRU_GRAD_B, &B, &U)) return fail(env, "gruCellGrad: B, U must be integers ≥ 1 (3·B·U < 2^31)");
  const RegionSpec specs[] = {
      {GRU_GRAD_gatesOff, 3 * B * U, "gates", IN}, {GRU_GRAD_rOff, 3 * B * U, "r", IN},
      {GRU_GRAD_hOff, B * U, "h", IN},             {GRU_GRAD_dyOff, B * U, "dy", IN},
      {GRU_GRAD_dxOff, 3 * B * U, "dx", OUT},      {GRU_GRAD_drOff, 3 * B * U, "dr", OUT},
      {GRU_GRAD_dhOff, B * U, "dh", OUT},
  };
  Region r[REGION_COUNT(specs)];
  if (!check_regions(env, "gruCellGrad", &h, specs, REGION_COUNT(specs), r)) return NULL;
  cell_grad((const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), (const float*)(h.base + r[2].off),
            (const float*)(h.base + r[3].off), (float*)(h.base + r[4].off), (float*)(h.base + r[5].off),
            (float*)(h.base + r[6].off), B, U);
  return NULL;
}
