// Convolution and pooling gradients on the wasm heap (NHWC, float32), for the kernels that
// tfjs-backend-wasm lacks (Conv2DBackpropFilter) or runs slowly (MaxPoolGrad). Checks: kernels.h;
// scratch memory is allocated here, bounded, and freed before returning.
//
// convFilterGrad(heap, p): dK[fh, fw, ci, co] = Σ_{b, oh, ow} x[b, ih, iw, ci] · dy[b, oh, ow, co]
//   with ih = oh·sh − padTop + fh·dh, iw = ow·sw − padLeft + fw·dw (taps outside x count as 0).
//   p = CONV_FILTER_PARAMS [xOff, dyOff, dkOff, B, H, W, Cin, OH, OW, Cout, FH, FW, sh, sw, dh, dw, padTop, padLeft]
//   Blocked im2col: at most SCRATCH_FLOATS floats of [rows, FH·FW·Cin] columns at a time, each
//   block one cblas_sgemm (colᵀ · dy-rows) accumulated into dK.
// maxPoolGrad(heap, p): dx[b, ih, iw, c] = Σ over windows whose first maximum (row-major window
//   order, strict '>' from −∞: tfjs' rule) is (ih, iw) of dy[b, oh, ow, c]; a window of only NaN
//   or −∞ passes no gradient (as tfjs' cpu backend).
//   p = MAX_POOL_PARAMS [xOff, dyOff, dxOff, B, H, W, C, OH, OW, FH, FW, sh, sw, padTop, padLeft]
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define SCRATCH_FLOATS (1 << 18) // 1 MiB of im2col columns per block

// n floats from src to dst. Runs of up to 16 floats (the first layer's 3- and 9-float taps) as two
// overlapping fixed-size copies, which the compiler inlines as a few vector moves: a libc call per
// run costs more than such a copy.
static inline void copy_run(float* dst, const float* src, int64_t n) {
  if (n >= 8 && n <= 16) {
    memcpy(dst, src, 8 * sizeof(float));
    memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
  } else if (n >= 4 && n < 8) {
    memcpy(dst, src, 4 * sizeof(float));
    memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
  } else if (n < 4) {
    for (int64_t i = 0; i < n; i++) dst[i] = src[i];
  } else {
    memcpy(dst, src, (size_t)n * sizeof(float));
  }
}

// output position (b, oh, ow) of row r = (b·OH + oh)·OW + ow, stepped row by row without divisions
typedef struct {
  int64_t b, oh, ow, OH, OW;
} Pos;

static inline Pos pos_at(int64_t r, int64_t OH, int64_t OW) {
  return (Pos){r / (OW * OH), (r / OW) % OH, r % OW, OH, OW};
}

static inline void pos_next(Pos* p) {
  if (++p->ow < p->OW) return;
  p->ow = 0;
  if (++p->oh < p->OH) return;
  p->oh = 0;
  p->b++;
}

// the im2col row of output position (b, oh, ow): [FH, FW, Cin] taps, zeros outside x
static void col_row(const float* x, float* col, int64_t b, int64_t oh, int64_t ow, int64_t H, int64_t W, int64_t C,
                    int64_t FH, int64_t FW, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl) {
  for (int64_t fh = 0; fh < FH; fh++) {
    const int64_t ih = oh * sh - pt + fh * dh;
    float* dst = col + fh * FW * C;
    if (ih < 0 || ih >= H) {
      memset(dst, 0, (size_t)(FW * C) * sizeof(float));
      continue;
    }
    const float* src = x + ((b * H + ih) * W) * C;
    const int64_t iw0 = ow * sw - pl;
    if (dw == 1 && iw0 >= 0 && iw0 + FW <= W) {
      copy_run(dst, src + iw0 * C, FW * C); // the row's FW taps are adjacent in x
      continue;
    }
    for (int64_t fw = 0; fw < FW; fw++) {
      const int64_t iw = ow * sw - pl + fw * dw;
      if (iw < 0 || iw >= W) memset(dst + fw * C, 0, (size_t)C * sizeof(float));
      else copy_run(dst + fw * C, src + iw * C, C);
    }
  }
}

napi_value ConvFilterGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, CONV_FILTER_NPARAMS, &h)) return NULL;
  int64_t d[13], pt, pl;
  if (!counts(h.params, CONV_FILTER_B, 13, 1, d))
    return fail(env, "convFilterGrad: dimensions must be integers in 1..2^31-1");
  if (!as_int(h.params[CONV_FILTER_padTop], &pt) || !as_int(h.params[CONV_FILTER_padLeft], &pl))
    return fail(env, "convFilterGrad: pads must be integers");
  const int64_t B = d[0], H = d[1], W = d[2], C = d[3], OH = d[4], OW = d[5], CO = d[6], FH = d[7], FW = d[8],
                sh = d[9], sw = d[10], dh = d[11], dw = d[12];
  int64_t xElems, dyElems, rows, taps, kElems;
  if (!product_of(4, (int64_t[]){B, H, W, C}, &xElems) || !product_of(3, (int64_t[]){B, OH, OW}, &rows) ||
      !product_of(2, (int64_t[]){rows, CO}, &dyElems) || !product_of(3, (int64_t[]){FH, FW, C}, &taps) ||
      !product_of(2, (int64_t[]){taps, CO}, &kElems) || taps > MAX_DIM || kElems > MAX_DIM)
    return fail(env, "convFilterGrad: size overflows");
  const RegionSpec specs[] = {
      {CONV_FILTER_xOff, xElems, "x", IN}, {CONV_FILTER_dyOff, dyElems, "dy", IN}, {CONV_FILTER_dkOff, kElems, "dK", OUT}};
  Region r[3];
  if (!check_regions(env, "convFilterGrad", &h, specs, 3, r)) return NULL;

  int64_t block = SCRATCH_FLOATS / taps;
  if (block < 1) block = 1;
  if (block > rows) block = rows;
  float* col = malloc((size_t)(block * taps) * sizeof(float));
  if (col == NULL) return fail(env, "convFilterGrad: out of memory for the im2col block");
  const float* x = (const float*)(h.base + r[0].off);
  const float* dy = (const float*)(h.base + r[1].off);
  float* dk = (float*)(h.base + r[2].off);

  // output positions in order (b, oh, ow) = dy's rows
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t n = rows - r0 < block ? rows - r0 : block;
    Pos q = pos_at(r0, OH, OW);
    for (int64_t i = 0; i < n; i++, pos_next(&q))
      col_row(x, col + i * taps, q.b, q.oh, q.ow, H, W, C, FH, FW, sh, sw, dh, dw, pt, pl);
    // dK[taps, CO] (+)= colᵀ [taps, n] · dy[n, CO]
    blas_threads_for((double)taps * CO * n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)taps, (int)CO, (int)n, 1.0f, col, (int)taps,
                dy + r0 * CO, (int)CO, r0 == 0 ? 0.0f : 1.0f, dk, (int)CO);
  }
  free(col);
  return NULL;
}

// 2×2 windows at stride 2 inside x (the encoder's pooling): branch-free over the channels, each
// covered dx value written once (the caller zeroes rows and columns no window covers)
VECTORISED static void max_pool_grad_2x2(const float* restrict x, const float* restrict dy, float* restrict dx,
                                         int64_t B, int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW) {
  for (int64_t b = 0; b < B; b++) {
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        const float* x0 = x + ((b * H + 2 * oh) * W + 2 * ow) * C;
        const float* x1 = x0 + W * C;
        float* d0 = dx + ((b * H + 2 * oh) * W + 2 * ow) * C;
        float* d1 = d0 + W * C;
        const float* g = dy + ((b * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; c++) {
          // first maximum in the order x0[c], x0[C+c], x1[c], x1[C+c] with strict '>' from −∞
          const float a = x0[c], e = x0[C + c], f = x1[c], h = x1[C + c];
          const int ga = a > -INFINITY;
          const float m0 = ga ? a : -INFINITY;
          const int ge = e > m0;
          const float m1 = ge ? e : m0;
          const int gf = f > m1;
          const float m2 = gf ? f : m1;
          const int gh = h > m2;
          const float v = g[c];
          d1[C + c] = gh ? v : 0.0f;
          d1[c] = gf && !gh ? v : 0.0f;
          d0[C + c] = ge && !gf && !gh ? v : 0.0f;
          d0[c] = ga && !ge && !gf && !gh ? v : 0.0f;
        }
      }
    }
  }
}

static void max_pool_grad_any(const float* x, const float* dy, float* dx, int64_t B, int64_t H, int64_t W, int64_t C,
                              int64_t OH, int64_t OW, int64_t FH, int64_t FW, int64_t sh, int64_t sw, int64_t pt,
                              int64_t pl) {
  for (int64_t b = 0; b < B; b++) {
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        const float* g = dy + ((b * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; c++) {
          float best = -INFINITY;
          int64_t at = -1;
          for (int64_t fh = 0; fh < FH; fh++) {
            const int64_t ih = oh * sh - pt + fh;
            if (ih < 0 || ih >= H) continue;
            for (int64_t fw = 0; fw < FW; fw++) {
              const int64_t iw = ow * sw - pl + fw;
              if (iw < 0 || iw >= W) continue;
              const int64_t i = ((b * H + ih) * W + iw) * C + c;
              if (x[i] > best) best = x[i], at = i;
            }
          }
          if (at >= 0) dx[at] += g[c];
        }
      }
    }
  }
}

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, MAX_POOL_NPARAMS, &h)) return NULL;
  int64_t d[10], pt, pl;
  if (!counts(h.params, MAX_POOL_B, 10, 1, d)) return fail(env, "maxPoolGrad: dimensions must be integers in 1..2^31-1");
  if (!as_int(h.params[MAX_POOL_padTop], &pt) || !as_int(h.params[MAX_POOL_padLeft], &pl))
    return fail(env, "maxPoolGrad: pads must be integers");
  const int64_t B = d[0], H = d[1], W = d[2], C = d[3], OH = d[4], OW = d[5], FH = d[6], FW = d[7], sh = d[8], sw = d[9];
  int64_t xElems, dyElems;
  if (!product_of(4, (int64_t[]){B, H, W, C}, &xElems) || !product_of(4, (int64_t[]){B, OH, OW, C}, &dyElems))
    return fail(env, "maxPoolGrad: size overflows");
  const RegionSpec specs[] = {
      {MAX_POOL_xOff, xElems, "x", IN}, {MAX_POOL_dyOff, dyElems, "dy", IN}, {MAX_POOL_dxOff, xElems, "dx", OUT}};
  Region r[3];
  if (!check_regions(env, "maxPoolGrad", &h, specs, 3, r)) return NULL;
  const float* x = (const float*)(h.base + r[0].off);
  const float* dy = (const float*)(h.base + r[1].off);
  float* dx = (float*)(h.base + r[2].off);
  // the 2×2 path reads whole windows (every window must lie inside x) and writes every value it
  // covers; the rest of dx (an odd last row or column, or everything on the general path) is zeroed
  if (FH == 2 && FW == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0 && 2 * OH <= H && 2 * OW <= W) {
    if (2 * OH != H || 2 * OW != W) memset(dx, 0, (size_t)r[2].bytes);
    max_pool_grad_2x2(x, dy, dx, B, H, W, C, OH, OW);
  } else {
    memset(dx, 0, (size_t)r[2].bytes);
    max_pool_grad_any(x, dy, dx, B, H, W, C, OH, OW, FH, FW, sh, sw, pt, pl);
  }
  return NULL;
}

// ---- forward convolution and its input gradient ----------------------------------------------
// conv2d(heap, p): y[b, oh, ow, co] = act(Σ_{fh, fw, ci} x[b, ih, iw, ci] · f[fh, fw, ci, co] + bias[co])
//   with ih = oh·sh − padTop + fh, iw = ow·sw − padLeft + fw (taps outside x count as 0).
//   p = CONV2D_PARAMS [xOff, fOff, biasOff, yOff, B, H, W, Cin, OH, OW, Cout, FH, FW, sh, sw, padTop,
//       padLeft, activation]; biasOff < 0: no bias; activation 0 linear, 1 relu.
//   The HWIO filter is already the [FH·FW·Cin, Cout] row-major matrix: blocked im2col (at most
//   CONV_BLOCK_FLOATS floats of columns), one cblas_sgemm per block straight into y's rows, then
//   bias and relu on those rows while they are in cache. A 1×1 stride-1 unpadded conv reads x's
//   rows as they are (no im2col).
// convInputGrad(heap, p): dx[b, ih, iw, ci] = Σ over (oh, ow, fh, fw) that read x[b, ih, iw] of
//   dy[b, oh, ow, co] · f[fh, fw, ci, co] (summed over co).
//   p = CONV_INPUT_PARAMS [dyOff, fOff, dxOff, B, H, W, Cin, OH, OW, Cout, FH, FW, sh, sw, padTop, padLeft]
//   Blocked: dcol[rows, FH·FW·Cin] = dy-rows · fᵀ (sgemm's transB), then col2im, each row's taps
//   added into dx. A 1×1 stride-1 unpadded conv writes dy · fᵀ into dx directly.

#define CONV_BLOCK_FLOATS (1 << 16) // 256 KiB of columns per block: they and the block's output stay in L2

// rows per block: `width` floats a row, at most CONV_BLOCK_FLOATS in all (one row at least)
static int64_t block_rows(int64_t width, int64_t rows) {
  int64_t block = CONV_BLOCK_FLOATS / width;
  if (block < 1) block = 1;
  return block > rows ? rows : block;
}

// y[n, CO] += bias (may be NULL), then relu: one pass
VECTORISED static void bias_act(float* restrict y, const float* restrict bias, int64_t n, int64_t CO, int relu) {
  if (bias == NULL) {
    for (int64_t i = 0; i < n * CO; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i]; // relu alone
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    float* restrict row = y + i * CO;
    if (relu)
      for (int64_t c = 0; c < CO; c++) {
        const float v = row[c] + bias[c];
        row[c] = v < 0.0f ? 0.0f : v;
      }
    else
      for (int64_t c = 0; c < CO; c++) row[c] += bias[c];
  }
}

VECTORISED static void add_into(float* restrict dst, const float* restrict src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

// the inverse of col_row (dilation 1): each tap of one im2col row added into dx, taps outside skipped
static void col_row_add(float* dx, const float* col, int64_t b, int64_t oh, int64_t ow, int64_t H, int64_t W, int64_t C,
                        int64_t FH, int64_t FW, int64_t sh, int64_t sw, int64_t pt, int64_t pl) {
  for (int64_t fh = 0; fh < FH; fh++) {
    const int64_t ih = oh * sh - pt + fh;
    if (ih < 0 || ih >= H) continue;
    const float* src = col + fh * FW * C;
    float* dst = dx + ((b * H + ih) * W) * C;
    const int64_t iw0 = ow * sw - pl;
    if (iw0 >= 0 && iw0 + FW <= W) {
      add_into(dst + iw0 * C, src, FW * C); // the row's FW taps are adjacent in dx
      continue;
    }
    for (int64_t fw = 0; fw < FW; fw++) {
      const int64_t iw = iw0 + fw;
      if (iw >= 0 && iw < W) add_into(dst + iw * C, src + fw * C, C);
    }
  }
}

// The geometry both entry points share: params[first ..] = B, H, W, Cin, OH, OW, Cout, FH, FW, sh, sw,
// padTop, padLeft; the element counts of x, y and the filter. 0 (and a thrown error) on anything out of range.
typedef struct {
  int64_t B, H, W, C, OH, OW, CO, FH, FW, sh, sw, pt, pl;
  int64_t xElems, yElems, rows, taps, fElems;
} ConvGeometry;

static int conv_geometry(napi_env env, const char* kernel, const double* p, int first, ConvGeometry* g) {
  char msg[120];
  int64_t d[11];
  if (!counts(p, first, 11, 1, d)) {
    snprintf(msg, sizeof msg, "%s: dimensions must be integers in 1..2^31-1", kernel);
    fail(env, msg);
    return 0;
  }
  if (!as_int(p[first + 11], &g->pt) || !as_int(p[first + 12], &g->pl)) {
    snprintf(msg, sizeof msg, "%s: pads must be integers", kernel);
    fail(env, msg);
    return 0;
  }
  g->B = d[0], g->H = d[1], g->W = d[2], g->C = d[3], g->OH = d[4], g->OW = d[5], g->CO = d[6], g->FH = d[7];
  g->FW = d[8], g->sh = d[9], g->sw = d[10];
  if (!product_of(4, (int64_t[]){g->B, g->H, g->W, g->C}, &g->xElems) ||
      !product_of(3, (int64_t[]){g->B, g->OH, g->OW}, &g->rows) || !product_of(2, (int64_t[]){g->rows, g->CO}, &g->yElems) ||
      !product_of(3, (int64_t[]){g->FH, g->FW, g->C}, &g->taps) || !product_of(2, (int64_t[]){g->taps, g->CO}, &g->fElems) ||
      g->taps > MAX_DIM || g->fElems > MAX_DIM || g->rows > MAX_DIM) {
    snprintf(msg, sizeof msg, "%s: size overflows", kernel);
    fail(env, msg);
    return 0;
  }
  return 1;
}

// a 1×1 stride-1 unpadded conv: x's rows are the im2col rows
static int pointwise(const ConvGeometry* g) {
  return g->FH == 1 && g->FW == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->OH == g->H &&
         g->OW == g->W;
}

// y = act(x ⊛ f + bias) (bias may be NULL), the regions already checked
static int conv2d_compute(const ConvGeometry* g, const float* x, const float* f, const float* bias, float* y, int relu) {
  const int direct = pointwise(g);
  const int64_t block = block_rows(g->taps > g->CO ? g->taps : g->CO, g->rows);
  float* col = direct ? NULL : malloc((size_t)(block * g->taps) * sizeof(float));
  if (!direct && col == NULL) return 0;
  for (int64_t r0 = 0; r0 < g->rows; r0 += block) {
    const int64_t n = g->rows - r0 < block ? g->rows - r0 : block;
    const float* a = x + r0 * g->C;
    if (!direct) {
      Pos q = pos_at(r0, g->OH, g->OW);
      for (int64_t i = 0; i < n; i++, pos_next(&q))
        col_row(x, col + i * g->taps, q.b, q.oh, q.ow, g->H, g->W, g->C, g->FH, g->FW, g->sh, g->sw, 1, 1, g->pt, g->pl);
      a = col;
    }
    // y[n, CO] = col[n, taps] · f[taps, CO]
    blas_threads_for((double)n * g->CO * g->taps);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)g->CO, (int)g->taps, 1.0f, a, (int)g->taps, f,
                (int)g->CO, 0.0f, y + r0 * g->CO, (int)g->CO);
    if (bias != NULL || relu) bias_act(y + r0 * g->CO, bias, n, g->CO, relu);
  }
  free(col);
  return 1;
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, CONV2D_NPARAMS, &h)) return NULL;
  ConvGeometry g;
  if (!conv_geometry(env, "conv2d", h.params, CONV2D_B, &g)) return NULL;
  int64_t act;
  if (!as_count(h.params[CONV2D_activation], &act) || act > 1) return fail(env, "conv2d: unknown activation");
  const RegionSpec specs[] = {{CONV2D_xOff, g.xElems, "x", IN},
                              {CONV2D_fOff, g.fElems, "filter", IN},
                              {CONV2D_biasOff, g.CO, "bias", IN | OPTIONAL},
                              {CONV2D_yOff, g.yElems, "y", OUT}};
  Region r[4];
  if (!check_regions(env, "conv2d", &h, specs, 4, r)) return NULL;
  const float* bias = r[2].bytes > 0 ? (const float*)(h.base + r[2].off) : NULL;
  if (!conv2d_compute(&g, (const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off), bias,
                      (float*)(h.base + r[3].off), act == 1))
    return fail(env, "conv2d: out of memory for the im2col block");
  return NULL;
}

// dx of y = x ⊛ f given dy, the regions already checked
static int conv_input_grad_compute(const ConvGeometry* g, const float* dy, const float* f, float* dx) {
  if (pointwise(g)) {
    // dx[rows, Cin] = dy[rows, CO] · f[Cin, CO]ᵀ
    blas_threads_for((double)g->rows * g->CO * g->taps);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->rows, (int)g->taps, (int)g->CO, 1.0f, dy, (int)g->CO,
                f, (int)g->CO, 0.0f, dx, (int)g->taps);
    return 1;
  }
  const int64_t block = block_rows(g->taps, g->rows);
  float* dcol = malloc((size_t)(block * g->taps) * sizeof(float));
  if (dcol == NULL) return 0;
  memset(dx, 0, (size_t)g->xElems * sizeof(float));
  for (int64_t r0 = 0; r0 < g->rows; r0 += block) {
    const int64_t n = g->rows - r0 < block ? g->rows - r0 : block;
    // dcol[n, taps] = dy[n, CO] · f[taps, CO]ᵀ
    blas_threads_for((double)n * g->CO * g->taps);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)g->taps, (int)g->CO, 1.0f, dy + r0 * g->CO,
                (int)g->CO, f, (int)g->CO, 0.0f, dcol, (int)g->taps);
    Pos q = pos_at(r0, g->OH, g->OW);
    for (int64_t i = 0; i < n; i++, pos_next(&q))
      col_row_add(dx, dcol + i * g->taps, q.b, q.oh, q.ow, g->H, g->W, g->C, g->FH, g->FW, g->sh, g->sw, g->pt, g->pl);
  }
  free(dcol);
  return 1;
}

napi_value ConvInputGrad(napi_env env, napi_callback_info info) {
  Heap h;
  if (!heap_args(env, info, CONV_INPUT_NPARAMS, &h)) return NULL;
  ConvGeometry g;
  if (!conv_geometry(env, "convInputGrad", h.params, CONV_INPUT_B, &g)) return NULL;
  const RegionSpec specs[] = {{CONV_INPUT_dyOff, g.yElems, "dy", IN},
                              {CONV_INPUT_fOff, g.fElems, "filter", IN},
                              {CONV_INPUT_dxOff, g.xElems, "dx", OUT}};
  Region r[3];
  if (!check_regions(env, "convInputGrad", &h, specs, 3, r)) return NULL;
  if (!conv_input_grad_compute(&g, (const float*)(h.base + r[0].off), (const float*)(h.base + r[1].off),
                               (float*)(h.base + r[2].off)))
    return fail(env, "convInputGrad: out of memory for the column block");
  return NULL;
}
