/* Float32 GEMM of the cpu backend's convolutions (docs/cpu.md, "GEMM").
 *
 * C (m x n, row stride ldc) = A (m x k, row stride lda) * B (k x n, row
 * stride ldb), all row-major: A is a weight slice (one output channel per
 * row), B the input activations or im2col / Winograd columns (pixels
 * contiguous), C the output planes.
 *
 * On CPUs with AVX-512F this is our own kernel: OpenBLAS picks its kernels by
 * OPENBLAS_CORETYPE, which deployments set to Haswell (AVX2) where its
 * AVX-512 kernels misbehaved, and AVX-512 doubles the multiply-adds per cycle
 * on CPUs with 512-bit FMA units. Elsewhere, or with SUSHI_CPU_GEMM=openblas
 * in the environment (read once), cblas_sgemm runs.
 *
 * The kernel: blocks of NC columns, KC of the inner dimension; in a block,
 * every 8 rows of A (kept in L1 by the loop order) meet the block of B (kept
 * in L2) in tiles of 8 x 48 outputs (24 zmm accumulators; B read as three
 * vectors per step, A broadcast from its rows). A and B are read in place:
 * no packing, so no buffer and no allocation. Columns past n are masked;
 * rows past m read row 0 again and are not stored. Each output is the sum
 * over k in increasing order (KC blocks, each accumulated in a register),
 * so results do not depend on how callers split rows or columns among
 * threads. */
#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

static void gemm_blas(uint32_t m, size_t n, uint32_t k, const float *a, size_t lda, const float *b, size_t ldb,
                      float *c, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb,
                0.0f, c, (int)ldc);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define GEMM_AVX512 1
#include <immintrin.h>

#define G_MR 8    /* rows of a tile */
#define G_NV 3    /* vectors of 16 columns per tile */
#define G_KC 256  /* inner-dimension block */
#define G_NC 384  /* column block: KC x NC of B is 384 KiB, within L2 */

/* One tile: rows r[0..7] of A (k values from column p), nv vectors of B from
 * column j (the last with mask `last`), into C rows c[0..7] (stored only for
 * the first mr rows). acc: add to what C holds (a later KC block). */
#define TILE_BODY(NV)                                                                                              \
    do {                                                                                                           \
        __m512 acc_[G_MR][NV];                                                                                     \
        __mmask16 mk_[NV];                                                                                         \
        for (int v = 0; v < NV; v++)                                                                               \
            mk_[v] = v == NV - 1 ? last : (__mmask16)0xFFFF;                                                       \
        for (int r = 0; r < G_MR; r++)                                                                             \
            for (int v = 0; v < NV; v++)                                                                           \
                acc_[r][v] = acc && r < (int)mr ? _mm512_maskz_loadu_ps(mk_[v], cr[r] + 16 * v)                    \
                                                : _mm512_setzero_ps();                                             \
        const float *bp = b;                                                                                       \
        for (size_t p = 0; p < kc; p++, bp += ldb) {                                                               \
            __m512 b_[NV];                                                                                         \
            for (int v = 0; v < NV; v++)                                                                           \
                b_[v] = _mm512_maskz_loadu_ps(mk_[v], bp + 16 * v);                                                \
            for (int r = 0; r < G_MR; r++) {                                                                       \
                __m512 a_ = _mm512_set1_ps(ar[r][p]);                                                              \
                for (int v = 0; v < NV; v++)                                                                       \
                    acc_[r][v] = _mm512_fmadd_ps(a_, b_[v], acc_[r][v]);                                           \
            }                                                                                                      \
        }                                                                                                          \
        for (int r = 0; r < G_MR; r++)                                                                             \
            if (r < (int)mr)                                                                                       \
                for (int v = 0; v < NV; v++)                                                                       \
                    _mm512_mask_storeu_ps(cr[r] + 16 * v, mk_[v], acc_[r][v]);                                     \
    } while (0)

#if !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("unroll-loops")
#endif
__attribute__((target("avx512f,fma"))) static void tile3(size_t kc, const float *const ar[G_MR], const float *b,
                                                         size_t ldb, float *const cr[G_MR], uint32_t mr,
                                                         __mmask16 last, bool acc)
{
    TILE_BODY(3);
}

__attribute__((target("avx512f,fma"))) static void tile2(size_t kc, const float *const ar[G_MR], const float *b,
                                                         size_t ldb, float *const cr[G_MR], uint32_t mr,
                                                         __mmask16 last, bool acc)
{
    TILE_BODY(2);
}

__attribute__((target("avx512f,fma"))) static void tile1(size_t kc, const float *const ar[G_MR], const float *b,
                                                         size_t ldb, float *const cr[G_MR], uint32_t mr,
                                                         __mmask16 last, bool acc)
{
    TILE_BODY(1);
}
#if !defined(__clang__)
#pragma GCC pop_options
#endif

static void gemm_avx512(uint32_t m, size_t n, uint32_t k, const float *a, size_t lda, const float *b, size_t ldb,
                        float *c, size_t ldc)
{
    for (size_t j0 = 0; j0 < n; j0 += G_NC) {
        size_t nc = n - j0 < G_NC ? n - j0 : G_NC;
        for (size_t p0 = 0; p0 < k; p0 += G_KC) {
            size_t kc = k - p0 < G_KC ? k - p0 : G_KC;
            bool acc = p0 > 0;
            for (uint32_t i0 = 0; i0 < m; i0 += G_MR) {
                uint32_t mr = m - i0 < G_MR ? m - i0 : G_MR;
                const float *ar[G_MR];
                float *cr[G_MR];
                for (uint32_t r = 0; r < G_MR; r++) {
                    uint32_t i = r < mr ? i0 + r : i0;
                    ar[r] = a + (size_t)i * lda + p0;
                    cr[r] = c + (size_t)i * ldc + j0;
                }
                const float *bb = b + p0 * ldb + j0;
                for (size_t j = 0; j < nc; j += 16 * G_NV) {
                    /* whole tiles, then one of 1..3 vectors, the last masked */
                    size_t rest = nc - j < 16 * G_NV ? nc - j : 16 * G_NV;
                    size_t nv = (rest + 15) / 16, tail = rest - 16 * (nv - 1);
                    __mmask16 last = (__mmask16)((1u << tail) - 1u);
                    float *cj[G_MR];
                    for (int r = 0; r < G_MR; r++)
                        cj[r] = cr[r] + j;
                    if (nv == 3)
                        tile3(kc, ar, bb + j, ldb, cj, mr, last, acc);
                    else if (nv == 2)
                        tile2(kc, ar, bb + j, ldb, cj, mr, last, acc);
                    else
                        tile1(kc, ar, bb + j, ldb, cj, mr, last, acc);
                }
            }
        }
    }
}
#endif

/* -1: not decided yet; 0: OpenBLAS; 1: our AVX-512 kernel */
static atomic_int gemm_kind = -1;

bool cpu_has_avx512(void)
{
#ifdef GEMM_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

bool cpu_has_avx2_fma(void)
{
#ifdef GEMM_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static int kind_from_env(void)
{
    const char *e = getenv("SUSHI_CPU_GEMM");
    if (e && strcmp(e, "openblas") == 0)
        return 0;
    return cpu_has_avx512() ? 1 : 0;
}

bool cpu_gemm_own(void) { return cpu_choice(&gemm_kind, kind_from_env) == 1; }

bool cpu_gemm_set_own(int mode)
{
    int kind = mode < 0 ? -1 : mode > 0 && cpu_has_avx512() ? 1 : 0;
    atomic_store_explicit(&gemm_kind, kind, memory_order_relaxed);
    return mode <= 0 || kind == 1;
}

void cpu_sgemm(uint32_t m, size_t n, uint32_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
               size_t ldc)
{
    if (m == 0 || n == 0)
        return;
#ifdef GEMM_AVX512
    if (k > 0 && cpu_gemm_own()) {
        gemm_avx512(m, n, k, a, lda, b, ldb, c, ldc);
        return;
    }
#endif
    gemm_blas(m, n, k, a, lda, b, ldb, c, ldc);
}
