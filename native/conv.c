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
      memcpy(dst, src + iw0 * C, (size_t)(FW * C) * sizeof(float)); // the row's FW taps are adjacent in x
      continue;
    }
    for (int64_t fw = 0; fw < FW; fw++) {
      const int64_t iw = ow * sw - pl + fw * dw;
      if (iw < 0 || iw >= W) memset(dst + fw * C, 0, (size_t)C * sizeof(float));
      else memcpy(dst + fw * C, src + iw * C, (size_t)C * sizeof(float));
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
    for (int64_t i = 0; i < n; i++) {
      const int64_t r = r0 + i, ow = r % OW, oh = (r / OW) % OH, b = r / (OW * OH);
      col_row(x, col + i * taps, b, oh, ow, H, W, C, FH, FW, sh, sw, dh, dw, pt, pl);
    }
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
