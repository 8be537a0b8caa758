// Vectorisable float32 exp and tanh (no libm calls), shared by the element-wise kernels and the
// fused attention (see elementwise.c for their accuracy).
#ifndef GLIMPSE_FASTMATH_H
#define GLIMPSE_FASTMATH_H
#include <math.h>
#include <stdint.h>

// Cephes' expf polynomial: e^r for the remainder |r| ≤ ln2/2 (both exps below)
static inline float exp_poly(float r) {
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * r * r + r + 1.0f;
}

// Cephes' expf (see the top); inlined into the vectorised loops below
static inline float exp_one(float v0) {
  const float log2e = 1.44269504088896341f, c1 = 0.693359375f, c2 = -2.12194440e-4f;
  const float round_magic = 12582912.0f; // 1.5·2^23: adding it rounds to an integer
  float v = v0 > 88.8f ? 88.8f : v0;
  v = v < -104.0f ? -104.0f : v;
  const float k = (v * log2e + round_magic) - round_magic;
  const float r = (v - k * c1) - k * c2;
  const float p = exp_poly(r);
  const int32_t ki = (int32_t)k;
  const int32_t k1 = ki / 2, k2 = ki - k1;
  union {
    int32_t i;
    float f;
  } s1 = {.i = (k1 + 127) << 23}, s2 = {.i = (k2 + 127) << 23};
  const float out = v0 > 88.8f ? INFINITY : p * s1.f * s2.f;
  return v0 != v0 ? v0 : out;
}

// tanh (see the top of elementwise.c); inlined into vectorised loops
static inline float tanh_one(float v) {
  const float a1 = 4.89352455891786e-03f, a3 = 6.37261928875436e-04f, a5 = 1.48572235717979e-05f,
              a7 = 5.12229709037114e-08f, a9 = -8.60467152213735e-11f, a11 = 2.00018790482477e-13f,
              a13 = -2.76076847742355e-16f;
  const float b0 = 4.89352518554385e-03f, b2 = 2.26843463243900e-03f, b4 = 1.18534705686654e-04f,
              b6 = 1.19825839466702e-06f;
  // |x| < 0.625: the rational form (no clamp needed in that range)
  const float v2 = v * v;
  float p = v2 * a13 + a11;
  p = p * v2 + a9;
  p = p * v2 + a7;
  p = p * v2 + a5;
  p = p * v2 + a3;
  p = p * v2 + a1;
  p = p * v;
  float q = v2 * b6 + b4;
  q = q * v2 + b2;
  q = q * v2 + b0;
  // |x| ≥ 0.625: 1 − 2/(e^{2|x|} + 1), more accurate near ±1 (the rational form is 4e-7 off there);
  // NaN fails every comparison and comes out of exp_one as NaN
  float ax = v < 0.0f ? -v : v;
  ax = ax > 20.0f ? 20.0f : ax;
  float t = 1.0f - 2.0f / (exp_one(2.0f * ax) + 1.0f);
  t = v < 0.0f ? -t : t;
  return ax < 0.625f ? p / q : t;
}

// e^v for v in [−18, 0] (exp_one above, without its clamps, overflow and NaN handling: 2^k is
// a normal float here and applied in one step); a NaN stays NaN (p is NaN)
static inline float exp_nonpositive(float v) {
  const float log2e = 1.44269504088896341f, c1 = 0.693359375f, c2 = -2.12194440e-4f;
  const float round_magic = 12582912.0f; // 1.5·2^23: adding it rounds to an integer
  const float k = (v * log2e + round_magic) - round_magic;
  const float r = (v - k * c1) - k * c2;
  const float p = exp_poly(r);
  union {
    int32_t i;
    float f;
  } s = {.i = ((int32_t)k + 127) << 23};
  return p * s.f;
}

// tanh as (1 − e)/(1 + e), e = exp(−2|x|): one exp and one division where tanh_one (above)
// computes its rational form as well and picks one; its absolute error (≤ 2e-7, near 0 from the
// cancellation in 1 − e) is what a score Σ_u tanh·v sees. |x| is clamped at 9: past ~8.7, e is under
// half an ulp of 1 and the quotient is exactly 1 already, so the values are those without the clamp,
// and the exp needs none of exp_one's range handling (half its time here). The attention's tanh is
// most of the step's element-wise work (N·L·U values).
static inline float tanh_abs(float x) {
  float a = fabsf(x);
  a = a > 9.0f ? 9.0f : a;
  const float e = exp_nonpositive(-2.0f * a);
  return copysignf((1.0f - e) / (1.0f + e), x);
}

#endif
