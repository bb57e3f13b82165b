/*
 * Integer primitives of libsushi's int8 path (docs/int8.md is the normative
 * text; this header is its executable form).
 *
 * Shared by the cpu backend (the golden model) and the HLS kernel, which must
 * match it bit for bit. Plain C99: <stdint.h> and <math.h> only, no malloc, no
 * recursion, bounded loops, every function static inline.
 *
 * Kernel-side primitives (integer only): sushi_q8_rshift_round,
 * sushi_q8_sat_i32, sushi_q8_clamp_u8, sushi_q8_requant, sushi_q8_requant2.
 * Host-side parameter builders (double arithmetic, run once per SubNet at plan
 * time; the kernel receives their integer results): sushi_q8_quant_mult,
 * sushi_q8_quant_bias, sushi_q8_choose_qparams, sushi_q8_quantize_input,
 * sushi_q8_build_lut, sushi_q8_quant_weight.
 */
#ifndef SUSHI_INT8_OPS_H
#define SUSHI_INT8_OPS_H

#include <math.h>
#include <stdint.h>

/* Bounds the parameter builders guarantee (and the kernel may assume). */
#define SUSHI_Q8_MULT_FRAC_BITS 24          /* |m| in [2^23, 2^24) unless clamped */
#define SUSHI_Q8_SHIFT_MIN 1
#define SUSHI_Q8_SHIFT_MAX 47
#define SUSHI_Q8_BIAS_MAX ((int64_t)1 << 56) /* |B| <= 2^56 */

/* Activation kinds (same values as sushi_act). */
#define SUSHI_Q8_ACT_NONE 0
#define SUSHI_Q8_ACT_RELU 1
#define SUSHI_Q8_ACT_HSWISH 2
#define SUSHI_Q8_ACT_HSIGMOID 3

/* ---------------- kernel side: integer only ---------------- */

/** round(x / 2^s), ties away from zero; s in [1, 62]; |x| < 2^62. */
static inline int64_t sushi_q8_rshift_round(int64_t x, int32_t s)
{
    int64_t half = (int64_t)1 << (s - 1);
    return x >= 0 ? (x + half) >> s : -((-x + half) >> s);
}

/** Saturate to int32. */
static inline int32_t sushi_q8_sat_i32(int64_t v)
{
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

/** Clamp to [lo, 255]; lo in [0, 255]. */
static inline uint8_t sushi_q8_clamp_u8(int32_t v, int32_t lo)
{
    return (uint8_t)(v < lo ? lo : v > 255 ? 255 : v);
}

/**
 * The requantisation of one accumulator:
 *   sat_i32(round_half_away((acc * m + B) / 2^s))
 * with acc int32, m int32 (|m| < 2^24 as built), B int64 (|B| <= 2^56),
 * s in [SUSHI_Q8_SHIFT_MIN, SUSHI_Q8_SHIFT_MAX]. The 64-bit sum cannot overflow.
 */
static inline int32_t sushi_q8_requant(int32_t acc, int32_t m, int64_t B, int32_t s)
{
    return sushi_q8_sat_i32(sushi_q8_rshift_round((int64_t)acc * m + B, s));
}

/** Add a zero point to a requantised value and clamp to [lo, 255] (lo in [0, 255]). */
static inline uint8_t sushi_q8_output(int32_t r, int32_t zp, int32_t lo)
{
    int64_t v = (int64_t)r + zp;
    return (uint8_t)(v < lo ? lo : v > 255 ? 255 : v);
}

/** Two-input form (residual add): round_half_away((a*ma + b*mb) / 2^s), saturated to int32. */
static inline int32_t sushi_q8_requant2(int32_t a, int32_t ma, int32_t b, int32_t mb, int32_t s)
{
    return sushi_q8_sat_i32(sushi_q8_rshift_round((int64_t)a * ma + (int64_t)b * mb, s));
}

/* ---------------- host side: parameter builders ---------------- */

/** round half away from zero of a double, as int64, saturated to +-2^62; NaN -> 0
 * (so that non-finite weights, which load unless SUSHI_LOAD_CHECK_FINITE is set,
 * give defined if meaningless parameters instead of undefined behaviour). */
static inline int64_t sushi_q8_round_d(double x)
{
    const double lim = 4611686018427387904.0; /* 2^62 */
    if (x != x)
        return 0;
    if (x >= lim)
        return INT64_C(1) << 62;
    if (x <= -lim)
        return -(INT64_C(1) << 62);
    return x >= 0.0 ? (int64_t)floor(x + 0.5) : -(int64_t)floor(-x + 0.5);
}

/**
 * Real multiplier M -> (m, s) with M ~= m * 2^-s.
 * M == 0 (or not finite): m = 0, s = 24. Otherwise |m| in [2^23, 2^24) and
 * s = 24 - e where M = f * 2^e, f in [0.5, 1); s is clamped to [1, 47]:
 * when clamped high, m = round(M * 2^47) (may be small or 0); clamped low,
 * m = round(M * 2) saturated to +-(2^31 - 1).
 */
static inline void sushi_q8_quant_mult(double M, int32_t *m, int32_t *s)
{
    if (M == 0.0 || !isfinite(M)) {
        *m = 0;
        *s = SUSHI_Q8_MULT_FRAC_BITS;
        return;
    }
    int e;
    double f = frexp(M, &e); /* |f| in [0.5, 1) */
    int64_t q = sushi_q8_round_d(ldexp(f, SUSHI_Q8_MULT_FRAC_BITS));
    if (q == ((int64_t)1 << SUSHI_Q8_MULT_FRAC_BITS) || q == -((int64_t)1 << SUSHI_Q8_MULT_FRAC_BITS)) {
        q /= 2;
        e++;
    }
    int32_t sh = SUSHI_Q8_MULT_FRAC_BITS - e;
    if (sh > SUSHI_Q8_SHIFT_MAX || sh < SUSHI_Q8_SHIFT_MIN) {
        sh = sh > SUSHI_Q8_SHIFT_MAX ? SUSHI_Q8_SHIFT_MAX : SUSHI_Q8_SHIFT_MIN;
        double v = ldexp(M, sh);
        if (v > 2147483647.0)
            v = 2147483647.0;
        if (v < -2147483647.0)
            v = -2147483647.0;
        q = sushi_q8_round_d(v);
    }
    *m = (int32_t)q;
    *s = sh;
}

/** Real bias b (in output units) at shift s -> B = round_half_away(b * 2^s), clamped to +-2^56. */
static inline int64_t sushi_q8_quant_bias(double b, int32_t s)
{
    double v = ldexp(b, s);
    double lim = (double)SUSHI_Q8_BIAS_MAX;
    if (!(v == v))
        return 0;
    if (v > lim)
        return SUSHI_Q8_BIAS_MAX;
    if (v < -lim)
        return -SUSHI_Q8_BIAS_MAX;
    return sushi_q8_round_d(v);
}

/**
 * uint8 affine parameters for a real range: lo' = min(lo, 0), hi' = max(hi, 0),
 * span = max(hi' - lo', 1e-6), scale = (float)(span / 255), zp = clamp(round_half_away(-lo' * 255 / span), 0, 255)
 * (all in double; zp does not see the float rounding of scale).
 * real(q) = scale * (q - zp).
 */
static inline void sushi_q8_choose_qparams(double lo, double hi, float *scale, int32_t *zp)
{
    if (!(lo < 0.0))
        lo = 0.0;
    if (!(hi > 0.0))
        hi = 0.0;
    double span = hi - lo;
    if (!(span >= 1e-6))
        span = 1e-6;
    float sc = (float)(span / 255.0);
    int64_t z = sushi_q8_round_d(-lo * 255.0 / span);
    *scale = sc;
    *zp = (int32_t)(z < 0 ? 0 : z > 255 ? 255 : z);
}

/** Quantise one real input: clamp(zp + round_half_away((double)x / scale), 0, 255). */
static inline uint8_t sushi_q8_quantize_input(float x, float scale, int32_t zp)
{
    double v = (double)x / (double)scale;
    if (v > 1e6)
        v = 1e6;
    if (v < -1e6)
        v = -1e6;
    return sushi_q8_clamp_u8(zp + (int32_t)sushi_q8_round_d(v), 0);
}

/** Real activation functions (double), as the float path defines them. */
static inline double sushi_q8_act_real(int32_t act, double x)
{
    double r6 = x + 3.0 < 0.0 ? 0.0 : x + 3.0 > 6.0 ? 6.0 : x + 3.0;
    switch (act) {
    case SUSHI_Q8_ACT_RELU: return x > 0.0 ? x : 0.0;
    case SUSHI_Q8_ACT_HSWISH: return x * r6 / 6.0;
    case SUSHI_Q8_ACT_HSIGMOID: return r6 / 6.0;
    default: return x;
    }
}

/**
 * Lookup table of an activation over uint8 inputs:
 * lut[p] = clamp(zo + round_half_away(act(si * (p - zi)) / so), 0, 255).
 */
static inline void sushi_q8_build_lut(uint8_t lut[256], int32_t act, float si, int32_t zi, float so, int32_t zo)
{
    for (int32_t p = 0; p < 256; p++) {
        double y = sushi_q8_act_real(act, (double)si * (double)(p - zi)) / (double)so;
        if (y > 1e6)
            y = 1e6;
        if (y < -1e6)
            y = -1e6;
        lut[p] = sushi_q8_clamp_u8(zo + (int32_t)sushi_q8_round_d(y), 0);
    }
}

/**
 * Symmetric int8 quantisation of one output channel's weights.
 * scale = max|w| / 127 over the `nfull` values at `row` (the whole SuperNet
 * row, so a prefix slice of the int8 tensor is the int8 of the prefix slice);
 * scale = 1 when the row is all zeros. q[i] = clamp(round_half_away(w[i] / scale), -127, 127)
 * for the first n values. Returns the scale.
 */
static inline float sushi_q8_quant_weight(const float *row, uint32_t nfull, uint32_t n, int8_t *q)
{
    float mx = 0.0f;
    for (uint32_t i = 0; i < nfull; i++) {
        float a = fabsf(row[i]);
        if (a > mx)
            mx = a;
    }
    float scale = mx > 0.0f ? (float)((double)mx / 127.0) : 1.0f;
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = sushi_q8_round_d((double)row[i] / (double)scale);
        q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    return scale;
}

#endif
