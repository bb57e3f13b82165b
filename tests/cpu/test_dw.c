/* The channel-group depthwise kernel (backends/cpu/depthwise.c), on AVX-512
 * (16 lanes) and on AVX2 (8 lanes), against a float64 direct convolution on
 * geometries that hit every edge: kernels 3, 5, 7;
 * strides 1 and 2; planes from 1 x 1 to wider than three blocks of 14
 * pixels, square or not; padding 0 to k - 1; channel counts that leave a
 * partial group of 16; every activation. Also the properties the thread split
 * relies on: cutting a group into bands of rows gives the same bits, and
 * nothing is written outside the group's output planes. An ISA the CPU
 * lacks is skipped (the golden tests cover the portable kernel there, and
 * here under SUSHI_CPU_DW=portable). */
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

static double act_d(double v, int act)
{
    double r = v + 3.0;
    r = r < 0.0 ? 0.0 : r > 6.0 ? 6.0 : r;
    switch (act) {
    case SUSHI_ACT_RELU: return v > 0.0 ? v : 0.0;
    case SUSHI_ACT_HSWISH: return v * r / 6.0;
    case SUSHI_ACT_HSIGMOID: return r / 6.0;
    default: return v;
    }
}

typedef struct dw_case {
    sushi_layer l;
    float *x, *w, *y, *sc, *sh, *scratch;
    void *raw;
    size_t ny;
} dw_case;

#define SENTINEL 1234.5f
#define SLACK 37 /* floats after the output, which must stay SENTINEL */

static dw_case make(uint32_t c, uint32_t h, uint32_t w, uint32_t k, uint32_t st, uint32_t pad, unsigned seed)
{
    dw_case d;
    memset(&d, 0, sizeof d);
    d.l.op = SUSHI_OP_DWCONV;
    d.l.in_c = d.l.out_c = c;
    d.l.in_h = h;
    d.l.in_w = w;
    d.l.kernel = k;
    d.l.stride = st;
    d.l.pad = pad;
    d.l.out_h = (h + 2 * pad - k) / st + 1;
    d.l.out_w = (w + 2 * pad - k) / st + 1;
    cr_assert(cpu_dw_fits(&d.l));
    size_t nx = (size_t)c * h * w;
    d.ny = (size_t)c * d.l.out_h * d.l.out_w;
    d.x = malloc(nx * sizeof *d.x);
    d.w = malloc((size_t)c * k * k * sizeof *d.w);
    d.y = malloc((d.ny + SLACK) * sizeof *d.y);
    d.sc = malloc(c * sizeof *d.sc);
    d.sh = malloc(c * sizeof *d.sh);
    /* misaligned on purpose: the kernel aligns its buffers itself */
    d.raw = malloc((cpu_dw_own_floats(&d.l) + 1) * sizeof(float));
    cr_assert(d.x && d.w && d.y && d.sc && d.sh && d.raw);
    d.scratch = (float *)d.raw + 1;
    for (size_t i = 0; i < nx; i++)
        d.x[i] = rnd(&seed);
    for (size_t i = 0; i < (size_t)c * k * k; i++)
        d.w[i] = rnd(&seed);
    for (uint32_t i = 0; i < c; i++) {
        d.sc[i] = 0.5f + 0.5f * rnd(&seed);
        d.sh[i] = rnd(&seed);
    }
    return d;
}

static void drop(dw_case *d)
{
    free(d->x);
    free(d->w);
    free(d->y);
    free(d->sc);
    free(d->sh);
    free(d->raw);
}

/* the whole layer in groups of the running kernel's lanes, each group cut
 * into `bands` bands of rows, run last band
 * first (so a band cannot lean on rows an earlier band laid out, as it cannot
 * on another thread) */
static void run(dw_case *d, int act, uint32_t bands)
{
    const sushi_layer *l = &d->l;
    size_t hw = (size_t)l->in_h * l->in_w, ohw = (size_t)l->out_h * l->out_w, kk = (size_t)l->kernel * l->kernel;
    const uint32_t V = cpu_dw_own_lanes();
    cr_assert(V == 16 || V == 8);
    for (size_t i = 0; i < d->ny + SLACK; i++)
        d->y[i] = SENTINEL;
    cpu_dw_own_prepare(l, d->scratch);
    for (uint32_t c0 = 0; c0 < l->out_c; c0 += V) {
        uint32_t cn = l->out_c - c0 < V ? l->out_c - c0 : V;
        for (uint32_t b = bands; b-- > 0;) {
            uint32_t oy0 = b * l->out_h / bands, oy1 = (b + 1) * l->out_h / bands;
            if (oy0 < oy1)
                cpu_dw_own_group(l, cn, oy0, oy1, d->x + c0 * hw, d->w + c0 * kk, d->y + c0 * ohw, d->sc + c0,
                                 d->sh + c0, act, d->scratch);
        }
    }
}

static void check(const dw_case *d, int act)
{
    const sushi_layer *l = &d->l;
    const uint32_t k = l->kernel;
    for (uint32_t c = 0; c < l->out_c; c++)
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++) {
                double acc = 0.0, mag = 0.0;
                for (uint32_t ky = 0; ky < k; ky++)
                    for (uint32_t kx = 0; kx < k; kx++) {
                        long iy = (long)oy * l->stride + ky - l->pad, ix = (long)ox * l->stride + kx - l->pad;
                        if (iy < 0 || ix < 0 || iy >= (long)l->in_h || ix >= (long)l->in_w)
                            continue;
                        double t = (double)d->w[(size_t)c * k * k + ky * k + kx] *
                                   d->x[((size_t)c * l->in_h + (size_t)iy) * l->in_w + (size_t)ix];
                        acc += t;
                        mag += fabs(t);
                    }
                double ref = act_d(acc * d->sc[c] + d->sh[c], act);
                float got = d->y[((size_t)c * l->out_h + oy) * l->out_w + ox];
                double tol = 1e-5 * (mag * fabs((double)d->sc[c]) + fabs((double)d->sh[c]) + 1.0);
                cr_assert(fabs((double)got - ref) <= tol,
                          "c %u k %u s %u pad %u %ux%u: (%u, %u) = %.8g, float64 %.8g", c, k, l->stride, l->pad,
                          l->in_h, l->in_w, oy, ox, (double)got, ref);
            }
    for (size_t i = d->ny; i < d->ny + SLACK; i++)
        cr_assert(d->y[i] == SENTINEL, "wrote past the last output plane (float %zu)", i - d->ny);
}

/* the ISA of the parameterised tests: 1 AVX-512, 2 AVX2 */
static void use_isa(int isa)
{
    if (!cpu_dw_set_own(isa))
        cr_skip_test("the CPU lacks %s: that kernel does not run here", isa == 1 ? "AVX-512F" : "AVX2 + FMA");
    cr_assert_eq(cpu_dw_own_lanes(), isa == 1 ? 16u : 8u);
}

static void matches_float64(int isa)
{
    use_isa(isa);
    static const uint32_t sizes[][2] = { { 1, 1 }, { 2, 3 }, { 5, 5 }, { 7, 7 }, { 8, 13 },
                                         { 14, 14 }, { 17, 30 }, { 29, 45 }, { 23, 61 } };
    static const uint32_t chans[] = { 1, 7, 9, 15, 16, 17, 40 };
    unsigned seed = 11, n = 0;
    for (uint32_t k = 3; k <= 7; k += 2)
        for (uint32_t st = 1; st <= 2; st++)
            for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
                for (uint32_t pad = 0; pad < k; pad += (k - 1) / 2 > 0 ? (k - 1) / 2 : 1) {
                    uint32_t h = sizes[si][0], w = sizes[si][1];
                    if (h + 2 * pad < k || w + 2 * pad < k)
                        continue;
                    uint32_t c = chans[(n++) % (sizeof chans / sizeof *chans)];
                    int act = (int)(n % 4);
                    dw_case d = make(c, h, w, k, st, pad, seed++);
                    run(&d, act, 1);
                    check(&d, act);
                    drop(&d);
                }
    cr_assert(n > 100, "only %u cases", n);
}

Test(dw, avx512_matches_float64_on_every_edge) { matches_float64(1); }
Test(dw, avx2_matches_float64_on_every_edge) { matches_float64(2); }

static void bands_same_bits(int isa)
{
    use_isa(isa);
    static const uint32_t geo[][4] = { { 33, 56, 7, 1 }, { 16, 112, 3, 1 }, { 20, 29, 5, 2 }, { 17, 14, 7, 2 } };
    for (size_t g = 0; g < sizeof geo / sizeof *geo; g++) {
        dw_case d = make(geo[g][0], geo[g][1], geo[g][1], geo[g][2], geo[g][3], geo[g][2] / 2, 5 + (unsigned)g);
        run(&d, SUSHI_ACT_HSWISH, 1);
        float *whole = malloc(d.ny * sizeof *whole);
        cr_assert(whole);
        memcpy(whole, d.y, d.ny * sizeof *whole);
        for (uint32_t bands = 2; bands <= 5; bands++) {
            run(&d, SUSHI_ACT_HSWISH, bands);
            cr_assert(memcmp(whole, d.y, d.ny * sizeof *whole) == 0, "geometry %zu: %u bands change the result", g,
                      bands);
            check(&d, SUSHI_ACT_HSWISH);
        }
        free(whole);
        drop(&d);
    }
}

Test(dw, avx512_bands_give_the_same_bits) { bands_same_bits(1); }
Test(dw, avx2_bands_give_the_same_bits) { bands_same_bits(2); }

Test(dw, bands_split_evenly)
{
    /* groups of 16 channels (AVX-512; the portable kernel's default too) */
    cpu_dw_set_own(cpu_dw_set_own(1) ? 1 : 0);
    sushi_layer l;
    memset(&l, 0, sizeof l);
    l.kernel = 3;
    l.stride = 1;
    l.out_h = 112;
    l.out_w = 112;
    l.in_h = l.in_w = 112;
    l.pad = 1;
    static const uint32_t cases[][3] = {
        /* channels, threads, bands: groups x bands a multiple of the threads where possible */
        { 16, 1, 1 }, { 16, 2, 2 }, { 16, 3, 3 }, { 144, 2, 2 }, { 96, 2, 1 }, { 144, 3, 1 }, { 240, 4, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        l.in_c = l.out_c = cases[i][0];
        uint32_t b = cpu_dw_own_bands(&l, cases[i][1]);
        cr_assert_eq(b, cases[i][2], "%u channels on %u threads: %u bands", cases[i][0], cases[i][1], b);
    }
    /* a plane too short to cut stays whole */
    l.out_h = 3;
    l.in_c = l.out_c = 16;
    cr_assert_eq(cpu_dw_own_bands(&l, 2), 1);
}

Test(dw, large_planes_take_the_portable_kernel)
{
    sushi_layer l;
    memset(&l, 0, sizeof l);
    l.op = SUSHI_OP_DWCONV;
    l.in_c = l.out_c = 32;
    l.kernel = 3;
    l.stride = 1;
    l.pad = 1;
    /* 360 x 360 padded: 362^2 x 64 bytes = 8.0 MiB, just within the cap */
    l.in_h = l.in_w = l.out_h = l.out_w = 360;
    cr_assert(cpu_dw_fits(&l));
    cr_assert_leq(cpu_dw_own_floats(&l) * sizeof(float), CPU_DW_MAX_T_BYTES + ((size_t)2 << 20));
    l.in_h = l.in_w = l.out_h = l.out_w = 400;
    cr_assert_not(cpu_dw_fits(&l));
    cr_assert_eq(cpu_dw_own_floats(&l), 0);
    /* other kernels and strides, and channel multipliers, never fit */
    l.in_h = l.in_w = l.out_h = l.out_w = 32;
    l.kernel = 9;
    l.pad = 4;
    cr_assert_not(cpu_dw_fits(&l));
    l.kernel = 3;
    l.pad = 1;
    l.stride = 3;
    cr_assert_not(cpu_dw_fits(&l));
    l.stride = 1;
    l.out_c = 64;
    cr_assert_not(cpu_dw_fits(&l));
}

/* SUSHI_CPU_DW=portable forces the portable kernel, =avx2 the AVX2 one where
 * the CPU has it; any other value, like unset, leaves the choice to the CPU
 * (decided again after cpu_dw_set_own(-1)). */
Test(dw, environment_selects_the_kernel)
{
    const char *saved = getenv("SUSHI_CPU_DW");
    char *keep = saved ? strdup(saved) : NULL;
    unsetenv("SUSHI_CPU_DW");
    cpu_dw_set_own(-1);
    unsigned by_cpu = cpu_dw_own_lanes();
    setenv("SUSHI_CPU_DW", "portable", 1);
    cpu_dw_set_own(-1);
    cr_expect_not(cpu_dw_own(), "SUSHI_CPU_DW=portable did not force the portable kernel");
    cr_expect_eq(cpu_dw_own_lanes(), 0);
    setenv("SUSHI_CPU_DW", "avx2", 1);
    cpu_dw_set_own(-1);
    cr_expect_eq(cpu_dw_own_lanes(), cpu_has_avx2_fma() ? 8u : by_cpu,
                 "SUSHI_CPU_DW=avx2: the AVX2 kernel where the CPU has it, else the CPU's choice");
    setenv("SUSHI_CPU_DW", "Portable-typo", 1);
    cpu_dw_set_own(-1);
    cr_expect_eq(cpu_dw_own_lanes(), by_cpu, "an unknown value must leave the choice to the CPU");
    if (keep)
        setenv("SUSHI_CPU_DW", keep, 1);
    else
        unsetenv("SUSHI_CPU_DW");
    free(keep);
    cpu_dw_set_own(-1);
}

Test(dw, chooses_the_kernel_by_cpu)
{
    cr_assert(cpu_dw_set_own(0));
    cr_assert_not(cpu_dw_own());
    cr_assert_eq(cpu_dw_own_lanes(), 0);
    cr_assert_eq(cpu_dw_set_own(1), cpu_has_avx512());
    cr_assert_eq(cpu_dw_own(), cpu_has_avx512());
    /* by default: AVX-512 where the CPU has it, else AVX2, else portable */
    cr_assert(cpu_dw_set_own(-1));
    if (cpu_has_avx512())
        cr_assert_eq(cpu_dw_own_lanes(), 16);
    if (!cpu_dw_own())
        cr_assert_eq(cpu_dw_own_lanes(), 0);
}
