/* Float32 depthwise convolution on AVX-512 or AVX2 (docs/cpu.md, "Depthwise").
 *
 * Channels run in groups of V (16 on AVX-512, 8 on AVX2), one channel per
 * vector lane: the group's V input planes are transposed into a pixel-major
 * buffer T (one vector per pixel, zero padding around the plane), the
 * weights into one vector per tap. An output pixel is then a chain of k x k
 * FMAs of a weight vector and an aligned input vector; blocks of up to 14
 * output pixels of a row run as independent chains, which hides the FMA
 * latency, and stride 2 only changes which pixel vectors are read. BN
 * scale/shift (a vector of the V channels' values) and the activation are
 * applied in registers; the results go to a pixel-major buffer that is
 * transposed back into the V output planes. Lanes of channels past the last
 * are zero and never stored. The kernel is written once
 * (depthwise_isa.h) and instantiated per ISA.
 *
 * Each output is one FMA chain over the taps in row-major order, whichever
 * group and thread computes it, so results do not depend on the thread
 * count. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

/* pixels of the padded input plane */
static size_t dw_tpix(const sushi_layer *l)
{
    return ((size_t)l->in_h + 2 * (size_t)l->pad) * ((size_t)l->in_w + 2 * (size_t)l->pad);
}

/* Output rows per block: computed into the pixel-major buffer O, then
 * transposed back while O is still in L1 (at least 256 pixels per block, so
 * that small planes still transpose whole runs of 16). */
static uint32_t dw_orows(const sushi_layer *l)
{
    uint32_t r = (256 + l->out_w - 1) / l->out_w;
    return r < l->out_h ? r : l->out_h;
}

/* pixels of O */
static size_t dw_opix(const sushi_layer *l) { return (size_t)dw_orows(l) * l->out_w; }

bool cpu_dw_fits(const sushi_layer *l)
{
    /* the pixel-major input plane of a group is 16 x its size: planes whose
     * copy would exceed CPU_DW_MAX_T_BYTES per thread (past ~360 x 360)
     * take the portable kernel, which needs one padded plane */
    return (l->stride == 1 || l->stride == 2) && (l->kernel == 3 || l->kernel == 5 || l->kernel == 7) &&
           l->out_w > 0 && l->out_h > 0 && l->in_c == l->out_c &&
           dw_tpix(l) <= CPU_DW_MAX_T_BYTES / (16 * sizeof(float));
}

size_t cpu_dw_own_floats(const sushi_layer *l)
{
    if (!cpu_dw_fits(l))
        return 0;
    /* sized for 16 lanes (AVX2 uses half); + 16: room to align to 64 bytes */
    return 16 * (dw_tpix(l) + dw_opix(l) + (size_t)l->kernel * l->kernel) + 16;
}

/* the buffers start at the first 64-byte boundary of the scratch */
static float *dw_align(float *scratch)
{
    uintptr_t a = ((uintptr_t)scratch + 63) & ~(uintptr_t)63;
    return scratch + (a - (uintptr_t)scratch) / sizeof *scratch;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define DW_X86 1
#include <immintrin.h>

typedef struct dw_group {
    const float *T, *W; /* pixel-major padded input; weights, a vector per tap */
    float *O;           /* pixel-major output of the rows from oyb */
    uint32_t oyb;
    size_t tw;          /* padded input row, pixels */
    uint32_t oh, ow;
    float sc[16], sh[16]; /* BN scale / shift (bias folded in) by lane */
    int act;
} dw_group;

typedef void (*dw_pix_fn)(const dw_group *, uint32_t, uint32_t);
static const uint32_t dw_pix_n[4] = { 14, 8, 4, 1 };

#define DW_UNROLL _Pragma("GCC unroll 64")

/* ---- AVX-512: 16 lanes ---- */
/* r[0..15] (16 rows of 16) := its transpose */
__attribute__((target("avx512f"))) static inline __attribute__((always_inline)) void dw_transpose16(__m512 r[16])
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

#define DW_V 16
#define DW_VEC __m512
#define DW_T __attribute__((target("avx512f,fma")))
#define DW_FN(x) x##_avx512
#define DW_ZERO() _mm512_setzero_ps()
#define DW_LOAD(p) _mm512_load_ps(p)
#define DW_LOADU(p) _mm512_loadu_ps(p)
#define DW_STORE(p, v) _mm512_store_ps(p, v)
#define DW_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define DW_ADD _mm512_add_ps
#define DW_MUL _mm512_mul_ps
#define DW_MAX _mm512_max_ps
#define DW_MIN _mm512_min_ps
#define DW_DIV _mm512_div_ps
#define DW_SET1 _mm512_set1_ps
#define DW_MASK __mmask16
#define DW_MASK_N(n) ((__mmask16)((n) >= 16 ? 0xFFFFu : (1u << (n)) - 1))
#define DW_MLOAD(m, p) _mm512_maskz_loadu_ps(m, p)
#define DW_MSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define DW_TRANSPOSE(r) dw_transpose16(r)
#include "depthwise_isa.h"

/* ---- AVX2 + FMA: 8 lanes ---- */
/* r[0..7] (8 rows of 8) := its transpose */
__attribute__((target("avx2"))) static inline __attribute__((always_inline)) void dw_transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* u[4h + j], 128-bit half L: rows 4h .. 4h + 3 of column 4L + j */
    for (int h = 0; h < 2; h++) {
        u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xEE);
        u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline)) __m256i dw_mask8(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

#define DW_V 8
#define DW_VEC __m256
#define DW_T __attribute__((target("avx2,fma")))
#define DW_FN(x) x##_avx2
#define DW_ZERO() _mm256_setzero_ps()
#define DW_LOAD(p) _mm256_load_ps(p)
#define DW_LOADU(p) _mm256_loadu_ps(p)
#define DW_STORE(p, v) _mm256_store_ps(p, v)
#define DW_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define DW_ADD _mm256_add_ps
#define DW_MUL _mm256_mul_ps
#define DW_MAX _mm256_max_ps
#define DW_MIN _mm256_min_ps
#define DW_DIV _mm256_div_ps
#define DW_SET1 _mm256_set1_ps
#define DW_MASK __m256i
#define DW_MASK_N(n) dw_mask8(n)
#define DW_MLOAD(m, p) _mm256_maskload_ps(p, m)
#define DW_MSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define DW_TRANSPOSE(r) dw_transpose8(r)
#include "depthwise_isa.h"
#endif

/* -1 not decided, 0 portable, 1 AVX-512, 2 AVX2 */
static atomic_int dw_kind = -1;

static bool dw_kind_ok(int kind)
{
    return kind == 0 || (kind == 1 && cpu_has_avx512()) || (kind == 2 && cpu_has_avx2_fma());
}

static int dw_kind_from_env(void)
{
    const char *e = getenv("SUSHI_CPU_DW");
    if (e && strcmp(e, "portable") == 0)
        return 0;
    if (e && strcmp(e, "avx2") == 0 && dw_kind_ok(2))
        return 2;
    return dw_kind_ok(1) ? 1 : dw_kind_ok(2) ? 2 : 0;
}

static int dw_kind_get(void) { return cpu_choice(&dw_kind, dw_kind_from_env); }

bool cpu_dw_own(void) { return dw_kind_get() != 0; }

unsigned cpu_dw_own_lanes(void)
{
    int kind = dw_kind_get();
    return kind == 1 ? 16 : kind == 2 ? 8 : 0;
}

bool cpu_dw_set_own(int mode)
{
    int kind = mode < 0 || mode > 2 ? -1 : dw_kind_ok(mode) ? mode : 0;
    atomic_store_explicit(&dw_kind, kind, memory_order_relaxed);
    return mode < 0 || kind == mode;
}

void cpu_dw_own_prepare(const sushi_layer *l, float *scratch)
{
    /* zero the padding border of T: the groups write inside it only */
    const size_t V = cpu_dw_own_lanes(), pad = l->pad, tw = (size_t)l->in_w + 2 * pad;
    const size_t th = (size_t)l->in_h + 2 * pad;
    float *T = dw_align(scratch);
    for (size_t r = 0; r < th; r++) {
        float *row = T + V * r * tw;
        if (r < pad || r >= th - pad) {
            for (size_t i = 0; i < V * tw; i++)
                row[i] = 0.0f;
            continue;
        }
        for (size_t i = 0; i < V * pad; i++)
            row[i] = row[V * (tw - pad) + i] = 0.0f;
    }
}

uint32_t cpu_dw_own_bands(const sushi_layer *l, unsigned threads)
{
    size_t V = cpu_dw_own_lanes() ? cpu_dw_own_lanes() : 16;
    size_t groups = ((size_t)l->out_c + V - 1) / V;
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
#ifdef DW_X86
    int kind = dw_kind_get();
    if (kind == 1)
        dw_group_run_avx512(l, cn, oy0, oy1, x, w, y, sc, sh, act, dw_align(scratch));
    else if (kind == 2)
        dw_group_run_avx2(l, cn, oy0, oy1, x, w, y, sc, sh, act, dw_align(scratch));
#else
    (void)l, (void)cn, (void)oy0, (void)oy1, (void)x, (void)w, (void)y, (void)sc, (void)sh, (void)act,
        (void)scratch;
#endif
}
