/* cpu backend: the Winograd F(4x4, 3x3) convolution against a direct float64
 * convolution on many shapes, and whole SubNets with Winograd against the
 * im2col path (docs/cpu.md, "Winograd convolution"). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"
#include "sushi/cpu.h"

/* docs/cpu.md: max |wino - direct| <= WINO_TOL * max |direct| per layer
 * (worst measured over these shapes: 8.2e-6; F(4x4, 3x3)'s transforms scale
 * values by up to 8 and 1/24, which costs a few bits of float32 against
 * im2col's ~1e-7) */
#define WINO_TOL 2e-5

/* out[k][y][x] = sum_c,ky,kx w[k*ldw + (c*3+ky)*3+kx] * in[c][y+ky-1][x+kx-1], in float64 */
static void direct_conv(uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt, size_t ldw, const float *in,
                        double *out)
{
    for (uint32_t ko = 0; ko < k; ko++)
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                double acc = 0.0;
                for (uint32_t ci = 0; ci < c; ci++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int64_t iy = (int64_t)y + ky - 1, ix = (int64_t)x + kx - 1;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                continue;
                            acc += (double)wt[ko * ldw + ((size_t)ci * 3 + ky) * 3 + kx] *
                                   in[((size_t)ci * h + iy) * w + ix];
                        }
                out[((size_t)ko * h + y) * w + x] = acc;
            }
}

/* Relative error max |wino - direct| / max |direct| of one shape; the weight
 * slice sits in a wider stored tensor (ldw > 9 c) whose other values are NaN,
 * so reading outside the slice shows. positive: inputs in [0, 1) (post-ReLU). */
static double wino_rel_error(uint32_t c, uint32_t k, uint32_t h, uint32_t w, bool positive, uint64_t seed)
{
    size_t ldw = (size_t)(c + 2) * 9;
    float *wt = malloc((size_t)(k + 1) * ldw * sizeof *wt);
    float *in = malloc((size_t)c * h * w * sizeof *in);
    float *out = malloc((size_t)k * h * w * sizeof *out);
    double *ref = malloc((size_t)k * h * w * sizeof *ref);
    size_t sb = cpu_wino_scratch_bytes(c, k, h, w);
    float *scratch = aligned_alloc(CPU_ALIGN, cpu_align_up(sb));
    cr_assert(wt && in && out && ref && scratch);
    for (size_t i = 0; i < (size_t)(k + 1) * ldw; i++)
        wt[i] = NAN;
    float *row = malloc((size_t)c * 9 * sizeof *row);
    const float he = 1.0f / sqrtf(9.0f * (float)c);
    for (uint32_t ko = 0; ko < k; ko++) {
        cpu_test_input(seed * 1000 + ko, row, (size_t)c * 9);
        for (size_t i = 0; i < (size_t)c * 9; i++)
            wt[ko * ldw + i] = row[i] * he;
    }
    cpu_test_input(seed, in, (size_t)c * h * w);
    if (positive)
        for (size_t i = 0; i < (size_t)c * h * w; i++)
            in[i] = 0.5f * (in[i] + 1.0f);
    for (size_t i = 0; i < (size_t)k * h * w; i++)
        out[i] = NAN;
    cpu_wino_conv3x3(c, k, h, w, wt, ldw, in, out, scratch);
    direct_conv(c, k, h, w, wt, ldw, in, ref);
    double err = 0.0, mx = 0.0;
    for (size_t i = 0; i < (size_t)k * h * w; i++) {
        cr_assert(isfinite(out[i]), "c %u k %u %ux%u: output %zu not finite", c, k, h, w, i);
        err = fmax(err, fabs(out[i] - ref[i]));
        mx = fmax(mx, fabs(ref[i]));
    }
    free(wt), free(in), free(out), free(ref), free(scratch), free(row);
    return err / mx;
}

Test(winograd, conv3x3_matches_direct_on_many_shapes)
{
    /* c, k, h, w: 1x1 and 2x2 planes, sizes that 4 does not divide, single
     * rows/columns, C = 1, K = 1, large C, several tile blocks (70x70 has 324
     * tiles: blocks of 14 and 4 tile rows), output-channel blocks with a
     * remainder (360 -> 100: 32 + 32 + 32 + 4; 1024 -> 40: 16 + 16 + 8),
     * ResNet-like shapes */
    static const uint32_t shapes[][4] = {
        { 1, 1, 1, 1 },    { 1, 1, 2, 2 },    { 3, 2, 1, 1 },     { 2, 3, 2, 2 },    { 1, 4, 3, 5 },
        { 3, 1, 7, 7 },    { 2, 3, 4, 4 },    { 5, 7, 8, 8 },     { 16, 8, 9, 13 },  { 8, 16, 13, 9 },
        { 1, 1, 17, 1 },   { 1, 1, 1, 17 },   { 4, 4, 5, 6 },     { 1, 1, 70, 70 },  { 6, 5, 70, 70 },
        { 512, 8, 7, 7 },  { 1024, 4, 6, 5 }, { 40, 24, 64, 3 },  { 24, 40, 3, 64 }, { 64, 64, 28, 28 },
        { 88, 88, 56, 56 }, { 256, 32, 14, 14 }, { 360, 100, 14, 14 }, { 1024, 40, 6, 5 },
    };
    double worst = 0.0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const uint32_t *sh = shapes[i];
        for (int pos = 0; pos < 2; pos++) {
            double e = wino_rel_error(sh[0], sh[1], sh[2], sh[3], pos, 17 + i);
            cr_expect(e <= WINO_TOL, "c %u k %u %ux%u (%s inputs): rel error %.3g > %g", sh[0], sh[1], sh[2], sh[3],
                      pos ? "positive" : "signed", e, WINO_TOL);
            cr_log_info("c %u k %u %ux%u %s: %.3g", sh[0], sh[1], sh[2], sh[3], pos ? "pos" : "signed", e);
            worst = fmax(worst, e);
        }
    }
    cr_log_info("winograd vs direct float64: worst rel error %.3g", worst);
}

Test(winograd, selection_follows_mode_and_rule)
{
    sushi_layer l = { .op = SUSHI_OP_CONV, .kernel = 3, .stride = 1, .pad = 1, .in_c = 8, .out_c = 8 };
    l.in_h = l.out_h = l.in_w = l.out_w = 56;
    int saved = cpu_conv_mode();
    cpu_conv_set_mode(CPU_CONV_AUTO);
    cr_expect(cpu_wino_selected(&l));
    l.in_h = l.out_h = l.in_w = l.out_w = 4; /* one tile */
    cr_expect(!cpu_wino_selected(&l));
    l.in_h = l.out_h = l.in_w = l.out_w = 14; /* 16 tiles */
    cr_expect(cpu_wino_selected(&l));
    l.in_h = l.out_h = l.in_w = l.out_w = 12; /* 9 tiles */
    cr_expect(!cpu_wino_selected(&l));
    l.out_h = l.in_h = 13; /* 4 x 3 tiles */
    cr_expect(!cpu_wino_selected(&l));
    l.out_w = l.in_w = 13; /* 4 x 4 */
    cr_expect(cpu_wino_selected(&l));
    cpu_conv_set_mode(CPU_CONV_WINOGRAD);
    cr_expect(cpu_wino_selected(&l));
    cpu_conv_set_mode(CPU_CONV_IM2COL);
    cr_expect(!cpu_wino_selected(&l));
    cpu_conv_set_mode(CPU_CONV_WINOGRAD);
    l.stride = 2, l.out_h = l.out_w = 2;
    cr_expect(!cpu_wino_selected(&l), "stride 2 is never Winograd");
    l.stride = 1, l.out_h = l.out_w = 4, l.kernel = 5, l.pad = 2;
    cr_expect(!cpu_wino_selected(&l), "5x5 is never Winograd");
    cpu_conv_set_mode(saved);
}

/* ---------------- whole SubNets: Winograd vs im2col ---------------- */

static sushi_context *ctx;

static void setup(void) { cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK); }
static void teardown(void) { sushi_context_destroy(ctx); }

/* Float forward keeping every value, under conv mode `mode`. */
static float **forward_all(const sushi_subnet *s, const float *x, int mode)
{
    int saved = cpu_conv_mode();
    cpu_conv_set_mode(mode);
    float **vp = calloc(s->n_values, sizeof *vp);
    vp[0] = (float *)x;
    for (uint32_t v = 1; v < s->n_values; v++)
        vp[v] = malloc((size_t)s->values[v].c * s->values[v].h * s->values[v].w * sizeof(float));
    float *scratch = aligned_alloc(CPU_ALIGN, cpu_f32_scratch_bytes(s));
    cr_assert_not_null(scratch);
    cpu_f32_forward(s, vp, scratch);
    free(scratch);
    cpu_conv_set_mode(saved);
    return vp;
}

static void free_all(const sushi_subnet *s, float **vp)
{
    for (uint32_t v = 1; v < s->n_values; v++)
        free(vp[v]);
    free(vp);
}

/* Every value of the SubNet with all eligible 3x3 convs on Winograd against
 * the im2col path: each value within SUBNET_TOL * its max |.|, the logits
 * within the golden rule's 1e-4. */
#define SUBNET_TOL 1e-4
static void subnet_agrees(const char *family, const char *cfgtext)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, family, 0, &sn), SUSHI_OK);
    sushi_config cfg = SUSHI_CONFIG_INIT;
    char err[256] = "";
    cr_assert_eq(sushi_config_parse(sn, cfgtext, 0, &cfg, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    size_t n_in = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    float *x = malloc(n_in * sizeof *x);
    cpu_test_input(5, x, n_in);
    int n_wino = 0;
    cpu_conv_set_mode(CPU_CONV_WINOGRAD);
    for (uint32_t li = 0; li < s->n_layers; li++)
        n_wino += cpu_wino_selected(&s->layers[li]);
    cpu_conv_set_mode(CPU_CONV_AUTO);
    cr_assert_gt(n_wino, 0, "%s %s has no Winograd layer", family, cfgtext);
    float **a = forward_all(s, x, CPU_CONV_WINOGRAD), **b = forward_all(s, x, CPU_CONV_IM2COL);
    double worst = 0.0;
    for (uint32_t v = 1; v < s->n_values; v++) {
        size_t n = (size_t)s->values[v].c * s->values[v].h * s->values[v].w;
        double e = 0.0, mx = 0.0;
        for (size_t i = 0; i < n; i++) {
            e = fmax(e, fabs((double)a[v][i] - b[v][i]));
            mx = fmax(mx, fabs(b[v][i]));
        }
        cr_expect(e <= SUBNET_TOL * mx + 1e-30, "%s %s value %u: max |wino - im2col| %g > %g * %g", family, cfgtext, v,
                  e, SUBNET_TOL, mx);
        if (mx > 0.0)
            worst = fmax(worst, e / mx);
    }
    cr_log_info("%s %s: %d Winograd layers, worst value rel diff to im2col %.3g", family, cfgtext, n_wino, worst);
    free_all(s, a);
    free_all(s, b);
    free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

TestSuite(winograd_subnet, .init = setup, .fini = teardown, .timeout = 240);

Test(winograd_subnet, resnet50_max_agrees_with_im2col) { subnet_agrees("ofa-resnet50", "max@128"); }
Test(winograd_subnet, resnet50_min_agrees_with_im2col) { subnet_agrees("ofa-resnet50", "min@96"); }

/* The plan's scratch follows the mode: Winograd needs its own, im2col its own,
 * and a backend that ran under one mode runs correctly after a switch. */
Test(winograd_subnet, backend_replans_when_the_mode_changes)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-resnet50", 0, &sn), SUSHI_OK);
    sushi_config cfg = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_parse(sn, "max@160", 0, &cfg, NULL, 0), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    sushi_backend *be = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &be), SUSHI_OK);
    size_t n_in = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    float *x = malloc(n_in * sizeof *x);
    cpu_test_input(9, x, n_in);
    float o[3][1000];
    size_t scratch[3];
    int modes[3] = { CPU_CONV_IM2COL, CPU_CONV_WINOGRAD, CPU_CONV_AUTO };
    for (int m = 0; m < 3; m++) {
        cpu_conv_set_mode(modes[m]);
        sushi_cpu_memory mem = SUSHI_CPU_MEMORY_INIT;
        cr_assert_eq(sushi_cpu_memory_plan(s, &mem), SUSHI_OK);
        scratch[m] = mem.scratch_bytes;
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = x, a.input_len = n_in, a.output = o[m], a.output_len = 1000;
        cr_assert_eq(sushi_backend_run(be, s, &a, NULL), SUSHI_OK);
    }
    cpu_conv_set_mode(CPU_CONV_AUTO);
    cr_expect_neq(scratch[0], scratch[1], "im2col and Winograd scratch should differ");
    double mx = 0.0, e = 0.0;
    /* comparisons, not fmax reductions: GCC 12.2 for aarch64 hits an internal
     * compiler error (vect_transform_reduction) vectorising those at -O2 */
    for (int i = 0; i < 1000; i++) {
        double a = fabs(o[0][i]), d = fmax(fabs(o[1][i] - o[0][i]), fabs(o[2][i] - o[0][i]));
        mx = a > mx ? a : mx;
        e = d > e || isnan(d) ? d : e;
    }
    cr_expect(e <= 1e-4 * mx, "logits differ by %g (max %g)", e, mx);
    free(x);
    sushi_backend_destroy(be);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}
