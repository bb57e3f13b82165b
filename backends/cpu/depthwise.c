/* Float32 depthwise convolution on AVX-512 (docs/cpu.md, "Depthwise").
 *
 * Channels run in groups of 16, one channel per vector lane: the group's 16
 * input planes are transposed into a pixel-major buffer T (one 64-byte
 * vector per pixel, zero padding around the plane), the weights into one
 * vector per tap. An output pixel is then a chain of k x k FMAs of a weight
 * vector and an aligned input vector; blocks of up to 14 output pixels of a
 * row run as independent chains, which hides the FMA latency, and stride 2
 * only changes which pixel vectors are read. BN scale/shift (a vector of the
 * 16 channels' values) and the activation are applied in registers; the
 * results go to a pixel-major buffer that is transposed back into the 16
 * output planes. Lanes of channels past the last are zero and never stored.
 *
 * Each output is one FMA chain over the taps in row-major order, whichever
 * group and thread computes it, so results do not depend on the thread
 * count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

/* pixels of the padded input plane, and of the output plane */
static size_t dw_tpix(const sushi_layer *l)
{
    return ((size_t)l->in_h + 2 * (size_t)l->pad) * ((size_t)l->in_w + 2 * (size_t)l->pad);
}

static size_t dw_opix(const sushi_layer *l) { return (size_t)l->out_h * l->out_w; }

bool cpu_dw_fits(const sushi_layer *l)
{
    return (l->stride == 1 || l->stride == 2) && (l->kernel == 3 || l->kernel == 5 || l->kernel == 7) &&
           l->out_w > 0 && l->out_h > 0 && l->in_c == l->out_c;
}

size_t cpu_dw_own_floats(const sushi_layer *l)
{
    if (!cpu_dw_fits(l))
        return 0;
    /* + 16: room to align the buffers to 64 bytes */
    return 16 * (dw_tpix(l) + dw_opix(l) + (size_t)l->kernel * l->kernel) + 16;
}

/* the buffers start at the first 64-byte boundary of the scratch */
static float *dw_align(float *scratch)
{
    uintptr_t a = ((uintptr_t)scratch + 63) & ~(uintptr_t)63;
    return scratch + (a - (uintptr_t)scratch) / sizeof *scratch;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define DW_AVX512 1
#include <immintrin.h>

#define DW_T __attribute__((target("avx512f,fma")))
#define DW_UNROLL _Pragma("GCC unroll 64")

/* r[0..15] (16 rows of 16) := its transpose */
DW_T static inline __attribute__((always_inline)) void dw_transpose16(__m512 r[16])
{
    __m512 a[16], b[16];
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* b[4i + j], 128-bit lane L: rows 4i .. 4i + 3 of column 4L + j */
    for (int i = 0; i < 4; i++) {
        __m512d a0 = _mm512_castps_pd(a[4 * i]), a1 = _mm512_castps_pd(a[4 * i + 1]);
        __m512d a2 = _mm512_castps_pd(a[4 * i + 2]), a3 = _mm512_castps_pd(a[4 * i + 3]);
        b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for (int j = 0; j < 4; j++) {
        __m512 c0 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0x44), c1 = _mm512_shuffle_f32x4(b[j], b[4 + j], 0xEE);
        __m512 d0 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0x44);
        __m512 d1 = _mm512_shuffle_f32x4(b[8 + j], b[12 + j], 0xEE);
        r[j] = _mm512_shuffle_f32x4(c0, d0, 0x88);
        r[4 + j] = _mm512_shuffle_f32x4(c0, d0, 0xDD);
        r[8 + j] = _mm512_shuffle_f32x4(c1, d1, 0x88);
        r[12 + j] = _mm512_shuffle_f32x4(c1, d1, 0xDD);
    }
}

/* T[(iy + pad) * tw + ix + pad] = the cn (<= 16) channels of pixel (iy, ix)
 * of the planes x (plane stride h * w), for rows iy0 <= iy < iy1; the
 * border of T stays as it is (zero). */
DW_T static void dw_to_pixels(const float *x, uint32_t cn, uint32_t h, uint32_t w, uint32_t pad, uint32_t iy0,
                              uint32_t iy1, float *T)
{
    const size_t hw = (size_t)h * w, tw = (size_t)w + 2 * pad, end = (size_t)iy1 * w;
    size_t iy = iy0, ix = 0;
    for (size_t i0 = (size_t)iy0 * w; i0 < end; i0 += 16) {
        size_t n = end - i0 < 16 ? end - i0 : 16;
        __mmask16 m = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1);
        __m512 r[16];
        for (uint32_t c = 0; c < 16; c++)
            r[c] = c < cn ? _mm512_maskz_loadu_ps(m, x + c * hw + i0) : _mm512_setzero_ps();
        dw_transpose16(r);
        for (size_t j = 0; j < n; j++) {
            _mm512_store_ps(T + 16 * ((iy + pad) * tw + ix + pad), r[j]);
            if (++ix == w) {
                ix = 0;
                iy++;
            }
        }
    }
}

/* pixels i0 .. i1 - 1 of the cn channels' planes y (plane stride npix) from
 * the pixel-major O (pixel i at O + 16 i) */
DW_T static void dw_from_pixels(const float *O, uint32_t cn, size_t npix, size_t i0, size_t i1, float *y)
{
    for (; i0 < i1; i0 += 16) {
        size_t n = i1 - i0 < 16 ? i1 - i0 : 16;
        __mmask16 m = (__mmask16)(n == 16 ? 0xFFFFu : (1u << n) - 1);
        __m512 r[16];
        for (size_t j = 0; j < 16; j++)
            r[j] = j < n ? _mm512_load_ps(O + 16 * (i0 + j)) : _mm512_setzero_ps();
        dw_transpose16(r);
        for (uint32_t c = 0; c < cn; c++)
            _mm512_mask_storeu_ps(y + c * npix + i0, m, r[c]);
    }
}

DW_T static inline __attribute__((always_inline)) __m512 dw_epi(__m512 a, __m512 sc, __m512 sh, int act)
{
    const __m512 zero = _mm512_setzero_ps(), three = _mm512_set1_ps(3.0f), six = _mm512_set1_ps(6.0f);
    __m512 v = _mm512_add_ps(_mm512_mul_ps(a, sc), sh);
    switch (act) {
    case SUSHI_ACT_RELU: return _mm512_max_ps(v, zero);
    case SUSHI_ACT_HSWISH: {
        __m512 r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, three), zero), six);
        return _mm512_div_ps(_mm512_mul_ps(v, r), six);
    }
    case SUSHI_ACT_HSIGMOID:
        return _mm512_div_ps(_mm512_min_ps(_mm512_max_ps(_mm512_add_ps(v, three), zero), six), six);
    default: return v;
    }
}

typedef struct dw_group {
    const float *T, *W; /* pixel-major padded input; weights, a vector per tap */
    float *O;           /* pixel-major output */
    size_t tw;          /* padded input row, pixels */
    uint32_t oh, ow;
    float sc[16], sh[16]; /* BN scale / shift (bias folded in) by lane */
    int act;
} dw_group;

/* Output pixels ox0 .. ox0 + NP - 1 of row oy: k x k taps, stride ST. */
#define DW_PIX(NP, K, ST)                                                                                          \
    DW_T static void dw_pix_##NP##_##K##_##ST(const dw_group *g, uint32_t oy, uint32_t ox0)                        \
    {                                                                                                              \
        __m512 acc[NP];                                                                                            \
        DW_UNROLL                                                                                                  \
        for (int p = 0; p < NP; p++)                                                                               \
            acc[p] = _mm512_setzero_ps();                                                                          \
        const float *t = g->T + 16 * ((size_t)oy * (ST) * g->tw + (size_t)ox0 * (ST));                             \
        const float *wk = g->W;                                                                                    \
        for (int ky = 0; ky < (K); ky++, t += 16 * g->tw, wk += 16 * (K)) {                                        \
            DW_UNROLL                                                                                              \
            for (int kx = 0; kx < (K); kx++) {                                                                     \
                __m512 wv = _mm512_load_ps(wk + 16 * kx);                                                          \
                DW_UNROLL                                                                                          \
                for (int p = 0; p < NP; p++)                                                                       \
                    acc[p] = _mm512_fmadd_ps(wv, _mm512_load_ps(t + 16 * (p * (ST) + kx)), acc[p]);                \
            }                                                                                                      \
        }                                                                                                          \
        float *o = g->O + 16 * ((size_t)oy * g->ow + ox0);                                                         \
        const __m512 sc = _mm512_loadu_ps(g->sc), sh = _mm512_loadu_ps(g->sh);                                     \
        DW_UNROLL                                                                                                  \
        for (int p = 0; p < NP; p++)                                                                               \
            _mm512_store_ps(o + 16 * p, dw_epi(acc[p], sc, sh, g->act));                                           \
    }
#define DW_PIX_NP(K, ST) DW_PIX(14, K, ST) DW_PIX(8, K, ST) DW_PIX(4, K, ST) DW_PIX(1, K, ST)
#define DW_PIX_K(ST) DW_PIX_NP(3, ST) DW_PIX_NP(5, ST) DW_PIX_NP(7, ST)
DW_PIX_K(1)
DW_PIX_K(2)

typedef void (*dw_pix_fn)(const dw_group *, uint32_t, uint32_t);
#define DW_PIX_FNS(K, ST) { dw_pix_14_##K##_##ST, dw_pix_8_##K##_##ST, dw_pix_4_##K##_##ST, dw_pix_1_##K##_##ST }
/* by stride - 1; kernel 3, 5, 7; block of 14, 8, 4, 1 pixels */
static const dw_pix_fn dw_pix[2][3][4] = {
    { DW_PIX_FNS(3, 1), DW_PIX_FNS(5, 1), DW_PIX_FNS(7, 1) },
    { DW_PIX_FNS(3, 2), DW_PIX_FNS(5, 2), DW_PIX_FNS(7, 2) },
};
static const uint32_t dw_pix_n[4] = { 14, 8, 4, 1 };

static void dw_group_run(const dw_group *g, uint32_t k, uint32_t st, uint32_t oy0, uint32_t oy1)
{
    const dw_pix_fn *fn = dw_pix[st - 1][(k - 3) / 2];
    for (uint32_t oy = oy0; oy < oy1; oy++)
        for (uint32_t ox = 0, b = 0; ox < g->ow;) {
            while (g->ow - ox < dw_pix_n[b])
                b++;
            fn[b](g, oy, ox);
            ox += dw_pix_n[b];
        }
}
#endif

static atomic_int dw_kind = -1; /* -1 not decided, 0 portable, 1 AVX-512 */

static int dw_kind_from_env(void)
{
    const char *e = getenv("SUSHI_CPU_DW");
    if (e && strcmp(e, "portable") == 0)
        return 0;
    return cpu_has_avx512() ? 1 : 0;
}

bool cpu_dw_own(void)
{
    int kind = atomic_load_explicit(&dw_kind, memory_order_relaxed);
    if (kind < 0) {
        int expected = -1;
        /* first reader wins; a racing reader computes the same value */
        atomic_compare_exchange_strong(&dw_kind, &expected, dw_kind_from_env());
        kind = atomic_load_explicit(&dw_kind, memory_order_relaxed);
    }
    return kind == 1;
}

bool cpu_dw_set_own(int mode)
{
    int kind = mode < 0 ? -1 : mode > 0 && cpu_has_avx512() ? 1 : 0;
    atomic_store_explicit(&dw_kind, kind, memory_order_relaxed);
    return mode <= 0 || kind == 1;
}

void cpu_dw_own_prepare(const sushi_layer *l, float *scratch)
{
    /* zero the padding border of T: the groups write inside it only */
    const size_t pad = l->pad, tw = (size_t)l->in_w + 2 * pad, th = (size_t)l->in_h + 2 * pad;
    float *T = dw_align(scratch);
    for (size_t r = 0; r < th; r++) {
        float *row = T + 16 * r * tw;
        if (r < pad || r >= th - pad) {
            for (size_t i = 0; i < 16 * tw; i++)
                row[i] = 0.0f;
            continue;
        }
        for (size_t i = 0; i < 16 * pad; i++)
            row[i] = row[16 * (tw - pad) + i] = 0.0f;
    }
}

uint32_t cpu_dw_own_bands(const sushi_layer *l, unsigned threads)
{
    size_t groups = ((size_t)l->out_c + 15) / 16;
    uint32_t most = l->out_h / 4 > 1 ? l->out_h / 4 : 1;
    if (threads <= 1)
        return 1;
    for (uint32_t b = 1; b <= most && b <= threads; b++)
        if (groups * b % threads == 0)
            return b;
    size_t want = (8 * (size_t)threads + groups - 1) / groups;
    return want < most ? (uint32_t)want : most;
}

void cpu_dw_own_group(const sushi_layer *l, uint32_t cn, uint32_t oy0, uint32_t oy1, const float *x, const float *w,
                      float *y, const float *sc, const float *sh, int act, float *scratch)
{
#ifdef DW_AVX512
    const uint32_t k = l->kernel, kk = k * k, st = l->stride, pad = l->pad;
    float *T = dw_align(scratch), *O = T + 16 * dw_tpix(l), *W = O + 16 * dw_opix(l);
    for (uint32_t t = 0; t < kk; t++)
        for (uint32_t c = 0; c < 16; c++)
            W[16 * t + c] = c < cn ? w[(size_t)c * kk + t] : 0.0f;
    /* input rows the output rows oy0 .. oy1 - 1 read */
    long lo = (long)oy0 * st - (long)pad, hi = (long)(oy1 - 1) * st - (long)pad + (long)k;
    uint32_t iy0 = lo < 0 ? 0 : (uint32_t)lo, iy1 = hi > (long)l->in_h ? l->in_h : (uint32_t)hi;
    dw_to_pixels(x, cn, l->in_h, l->in_w, pad, iy0, iy1, T);
    dw_group g = { .T = T, .W = W, .O = O, .tw = (size_t)l->in_w + 2 * (size_t)pad, .oh = l->out_h,
                   .ow = l->out_w, .act = act };
    for (uint32_t c = 0; c < 16; c++) {
        g.sc[c] = c < cn ? sc[c] : 0.0f;
        g.sh[c] = c < cn ? sh[c] : 0.0f;
    }
    dw_group_run(&g, k, st, oy0, oy1);
    dw_from_pixels(O, cn, dw_opix(l), (size_t)oy0 * l->out_w, (size_t)oy1 * l->out_w, y);
#else
    (void)l, (void)cn, (void)oy0, (void)oy1, (void)x, (void)w, (void)y, (void)sc, (void)sh, (void)act,
        (void)scratch;
#endif
}
