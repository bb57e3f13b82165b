/* cpu_sgemm (backends/cpu/gemm.c): our AVX-512 kernel against a float64
 * reference and against OpenBLAS on shapes that hit every tail (rows not a
 * multiple of 8, columns not a multiple of 16 or 48, the inner dimension
 * across KC blocks, column blocks across NC), with leading dimensions larger
 * than the shapes; and the property the thread split relies on: computing a
 * column or row range alone gives the same bits as computing it inside the
 * whole product. On a CPU without AVX-512F both paths are OpenBLAS and the
 * tests still check it against the reference (the ranges test is skipped:
 * the property is our kernel's). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"

static float rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 9) & 0xFFFF) / 32768.0f - 1.0f;
}

typedef struct mats {
    uint32_t m, k;
    size_t n, lda, ldb, ldc;
    float *a, *b, *c;
} mats;

static mats make(uint32_t m, size_t n, uint32_t k, unsigned seed)
{
    mats x = { .m = m, .n = n, .k = k, .lda = k + 3, .ldb = n + 5, .ldc = n + 7 };
    x.a = malloc(sizeof(float) * (size_t)m * x.lda);
    x.b = malloc(sizeof(float) * (size_t)k * x.ldb + sizeof(float));
    x.c = malloc(sizeof(float) * (size_t)m * x.ldc);
    cr_assert(x.a && x.b && x.c);
    for (size_t i = 0; i < (size_t)m * x.lda; i++)
        x.a[i] = rnd(&seed);
    for (size_t i = 0; i < (size_t)k * x.ldb; i++)
        x.b[i] = rnd(&seed);
    /* sentinels in C's padding: the kernel must not write past n */
    for (size_t i = 0; i < (size_t)m * x.ldc; i++)
        x.c[i] = 1234.5f;
    return x;
}

static void drop(mats *x)
{
    free(x->a);
    free(x->b);
    free(x->c);
}

static void check_against_reference(const mats *x, const char *what)
{
    for (uint32_t i = 0; i < x->m; i++) {
        for (size_t j = 0; j < x->n; j++) {
            double ref = 0.0, mag = 0.0;
            for (uint32_t p = 0; p < x->k; p++) {
                double t = (double)x->a[i * x->lda + p] * x->b[p * x->ldb + j];
                ref += t;
                mag += fabs(t);
            }
            double got = x->c[i * x->ldc + j];
            cr_assert(fabs(got - ref) <= 1e-5 * mag + 1e-6, "%s m=%u n=%zu k=%u: C[%u][%zu] = %g, reference %g",
                      what, x->m, x->n, x->k, i, j, got, ref);
        }
        for (size_t j = x->n; j < x->ldc; j++)
            cr_assert(x->c[i * x->ldc + j] == 1234.5f, "%s m=%u n=%zu k=%u: wrote past column n at row %u", what,
                      x->m, x->n, x->k, i);
    }
}

static const uint32_t MS[] = { 1, 3, 8, 9, 17, 88 };
static const size_t NS[] = { 1, 2, 15, 16, 17, 47, 48, 49, 63, 97, 196, 400 };
static const uint32_t KS[] = { 1, 7, 255, 256, 257, 600 };

static void sweep(int mode, const char *what)
{
    cr_assert(cpu_gemm_set_own(mode) || mode == 1);
    unsigned seed = 7;
    for (size_t a = 0; a < sizeof MS / sizeof *MS; a++)
        for (size_t b = 0; b < sizeof NS / sizeof *NS; b++)
            for (size_t c = 0; c < sizeof KS / sizeof *KS; c++) {
                mats x = make(MS[a], NS[b], KS[c], seed++);
                cpu_sgemm(x.m, x.n, x.k, x.a, x.lda, x.b, x.ldb, x.c, x.ldc);
                check_against_reference(&x, what);
                drop(&x);
            }
    cpu_gemm_set_own(-1);
}

Test(gemm, own_kernel_matches_float64_on_every_tail) { sweep(1, "own"); }

Test(gemm, openblas_path_matches_float64) { sweep(0, "openblas"); }

Test(gemm, own_kernel_is_used_when_the_cpu_has_avx512)
{
    bool own = cpu_gemm_set_own(1);
    cpu_gemm_set_own(-1);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    cr_expect_eq(own, (bool)__builtin_cpu_supports("avx512f"));
#else
    cr_expect(!own, "the kernel exists only on x86-64");
#endif
}

/* SUSHI_CPU_GEMM=openblas forces OpenBLAS; any other value, like unset,
 * leaves the choice to the CPU (decided again after cpu_gemm_set_own(-1)). */
Test(gemm, environment_forces_openblas_and_other_values_leave_the_cpu_choice)
{
    bool avx512 = cpu_gemm_set_own(1);
    const char *saved = getenv("SUSHI_CPU_GEMM");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("SUSHI_CPU_GEMM", "openblas", 1);
    cpu_gemm_set_own(-1);
    cr_expect(!cpu_gemm_own(), "SUSHI_CPU_GEMM=openblas did not force OpenBLAS");
    setenv("SUSHI_CPU_GEMM", "OpenBLAS-typo", 1);
    cpu_gemm_set_own(-1);
    cr_expect_eq(cpu_gemm_own(), avx512, "an unknown value must leave the choice to the CPU");
    unsetenv("SUSHI_CPU_GEMM");
    cpu_gemm_set_own(-1);
    cr_expect_eq(cpu_gemm_own(), avx512, "unset: the CPU decides");
    if (keep)
        setenv("SUSHI_CPU_GEMM", keep, 1);
    free(keep);
    cpu_gemm_set_own(-1);
}

/* Columns [j0, j1) and rows [i0, i1) computed alone are the bits of the
 * whole product: the thread split of the convolutions changes no result. */
Test(gemm, ranges_alone_give_the_same_bits)
{
    /* a property of our kernel; OpenBLAS's edge kernels need not have it */
    if (!cpu_gemm_set_own(1)) {
        cpu_gemm_set_own(-1);
        cr_skip_test("no AVX-512F: OpenBLAS runs, whose edge kernels may round a range differently");
    }
    const uint32_t m = 40, k = 700;
    const size_t n = 500;
    mats x = make(m, n, k, 99);
    float *whole = malloc(sizeof(float) * m * x.ldc);
    cr_assert(whole);
    cpu_sgemm(m, n, k, x.a, x.lda, x.b, x.ldb, whole, x.ldc);
    const size_t cuts[][2] = { { 0, 16 }, { 16, 400 }, { 400, 500 }, { 33, 97 }, { 384, 385 } };
    for (size_t t = 0; t < sizeof cuts / sizeof *cuts; t++) {
        size_t j0 = cuts[t][0], j1 = cuts[t][1];
        cpu_sgemm(m, j1 - j0, k, x.a, x.lda, x.b + j0, x.ldb, x.c + j0, x.ldc);
        for (uint32_t i = 0; i < m; i++)
            cr_assert(memcmp(x.c + i * x.ldc + j0, whole + i * x.ldc + j0, (j1 - j0) * sizeof(float)) == 0,
                      "columns [%zu, %zu), row %u differ from the whole product", j0, j1, i);
    }
    const uint32_t rows[][2] = { { 0, 8 }, { 8, 13 }, { 13, 40 }, { 5, 6 } };
    for (size_t t = 0; t < sizeof rows / sizeof *rows; t++) {
        uint32_t i0 = rows[t][0], i1 = rows[t][1];
        cpu_sgemm(i1 - i0, n, k, x.a + i0 * x.lda, x.lda, x.b, x.ldb, x.c + i0 * x.ldc, x.ldc);
        for (uint32_t i = i0; i < i1; i++)
            cr_assert(memcmp(x.c + i * x.ldc, whole + i * x.ldc, n * sizeof(float)) == 0,
                      "rows [%u, %u) computed alone differ from the whole product at row %u", i0, i1, i);
    }
    free(whole);
    drop(&x);
    cpu_gemm_set_own(-1);
}

Test(gemm, empty_shapes_write_nothing)
{
    float c = 5.0f, a = 1.0f, b = 2.0f;
    cpu_sgemm(0, 4, 3, &a, 3, &b, 4, &c, 4);
    cpu_sgemm(4, 0, 3, &a, 3, &b, 4, &c, 4);
    cr_expect_eq(c, 5.0f);
}
