/* cpu backend: golden comparison with the PyTorch reference, memory plan,
 * BN recalibration, int8 path, threads. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"
#include "sushi/cpu.h"

#define REL_TOL 1e-4 /* docs/cpu.md: max |lib - ref| <= 1e-4 * max |ref| */

static sushi_context *ctx;

static void setup(void) { cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK); }
static void teardown(void) { sushi_context_destroy(ctx); }

static sushi_supernet *builtin(const char *name)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, name, 0, &sn), SUSHI_OK);
    return sn;
}

static sushi_subnet *subnet(const sushi_supernet *sn, const char *cfgtext)
{
    sushi_config cfg = SUSHI_CONFIG_INIT;
    char err[256] = "";
    cr_assert_eq(sushi_config_parse(sn, cfgtext, 0, &cfg, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    return s;
}

static size_t in_len(const sushi_subnet *s) { return (size_t)s->values[0].c * s->values[0].h * s->values[0].w; }

static float *make_inputs(const sushi_subnet *s, uint64_t seed, size_t n)
{
    float *x = malloc(n * in_len(s) * sizeof *x);
    cr_assert_not_null(x);
    for (size_t i = 0; i < n; i++)
        cpu_test_input(seed + i, x + i * in_len(s), in_len(s));
    return x;
}

static int run(sushi_backend *b, const sushi_subnet *s, const float *x, float *out, bool int8)
{
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = in_len(s), a.output = out, a.output_len = s->sn->num_classes, a.int8 = int8;
    return sushi_backend_run(b, s, &a, NULL);
}

/* ---------------- golden ---------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    cr_assert_eq(fread(d, 1, (size_t)n, f), (size_t)n);
    d[n] = 0;
    fclose(f);
    return d;
}

/* Float forward of s on x keeping every value (no arena reuse) so each
 * layer's output can be compared with the reference's summary. */
static float **forward_all(const sushi_subnet *s, const float *x)
{
    float **vp = calloc(s->n_values, sizeof *vp);
    vp[0] = (float *)x;
    for (uint32_t v = 1; v < s->n_values; v++)
        vp[v] = malloc((size_t)s->values[v].c * s->values[v].h * s->values[v].w * sizeof(float));
    float *scratch = malloc(cpu_f32_scratch_bytes(s));
    cpu_f32_forward(s, vp, scratch);
    free(scratch);
    return vp;
}

static void check_golden(const char *family)
{
    DIR *d = opendir(SUSHI_CPU_GOLDEN_DIR);
    cr_assert_not_null(d);
    struct dirent *e;
    int n_fixtures = 0;
    sushi_supernet *sn = builtin(family);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    /* the golden comparison at another thread count (meson: cpu-golden-t2, -t3) */
    const char *nt = getenv("SUSHI_TEST_CPU_THREADS");
    if (nt)
        cr_assert_eq(sushi_backend_set_param(b, "threads", atof(nt)), SUSHI_OK, "threads %s", nt);
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, family) || !strstr(e->d_name, ".json"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SUSHI_CPU_GOLDEN_DIR, e->d_name);
        char *text = slurp(path);
        cJSON *g = cJSON_Parse(text);
        cr_assert_not_null(g, "%s", path);
        const char *cfg = cJSON_GetObjectItem(g, "config")->valuestring;
        uint64_t seed = (uint64_t)cJSON_GetObjectItem(g, "input_seed")->valuedouble;
        sushi_subnet *s = subnet(sn, cfg);
        sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
        sushi_subnet_get_stats(s, &st);
        cr_expect_eq(st.macs, (uint64_t)cJSON_GetObjectItem(g, "macs")->valuedouble, "%s: macs", path);
        cr_expect_eq(st.params, (uint64_t)cJSON_GetObjectItem(g, "params")->valuedouble, "%s: params", path);
        float *x = make_inputs(s, seed, 1);
        float *out = calloc(sn->num_classes, sizeof *out);
        cr_assert_eq(run(b, s, x, out, false), SUSHI_OK);
        cJSON *ref = cJSON_GetObjectItem(g, "logits");
        cr_assert_eq((uint32_t)cJSON_GetArraySize(ref), sn->num_classes);
        double refmax = 0.0, err = 0.0;
        for (uint32_t i = 0; i < sn->num_classes; i++)
            refmax = fmax(refmax, fabs(cJSON_GetArrayItem(ref, (int)i)->valuedouble));
        for (uint32_t i = 0; i < sn->num_classes; i++)
            err = fmax(err, fabs(out[i] - cJSON_GetArrayItem(ref, (int)i)->valuedouble));
        cr_expect(err <= REL_TOL * refmax, "%s: logits max error %g > %g * %g", path, err, REL_TOL, refmax);
        cr_log_info("%s: logits max |err| / max |ref| = %.3g", e->d_name, err / refmax);
        /* per-layer summaries */
        float **vp = forward_all(s, x);
        cJSON *layers = cJSON_GetObjectItem(g, "layers");
        cr_assert_eq((uint32_t)cJSON_GetArraySize(layers), s->n_layers);
        for (uint32_t li = 0; li < s->n_layers; li++) {
            const sushi_layer *l = &s->layers[li];
            cJSON *rl = cJSON_GetArrayItem(layers, (int)li);
            cr_assert_str_eq(cJSON_GetObjectItem(rl, "name")->valuestring, l->name);
            size_t n = (size_t)l->out_c * l->out_h * l->out_w;
            double sum = 0.0, amax = 0.0;
            for (size_t j = 0; j < n; j++) {
                sum += vp[l->output][j];
                amax = fmax(amax, fabs(vp[l->output][j]));
            }
            double rmean = cJSON_GetObjectItem(rl, "mean")->valuedouble;
            double rmax = cJSON_GetObjectItem(rl, "absmax")->valuedouble;
            cr_expect(fabs(sum / n - rmean) <= REL_TOL * rmax + 1e-30 && fabs(amax - rmax) <= REL_TOL * rmax + 1e-30,
                      "%s: layer %s mean %g vs %g, absmax %g vs %g", path, l->name, sum / n, rmean, amax, rmax);
        }
        for (uint32_t v = 1; v < s->n_values; v++)
            free(vp[v]);
        free(vp);
        free(out);
        free(x);
        sushi_subnet_destroy(s);
        cJSON_Delete(g);
        free(text);
        n_fixtures++;
    }
    closedir(d);
    cr_expect_geq(n_fixtures, 3, "%s: expected >= 3 fixtures, found %d", family, n_fixtures);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
}

TestSuite(cpu, .init = setup, .fini = teardown, .timeout = 120);

Test(cpu, run_mbv3_w10_matches_torch_golden) { check_golden("ofa-mbv3-w1.0"); }
Test(cpu, run_mbv3_w12_matches_torch_golden) { check_golden("ofa-mbv3-w1.2"); }
Test(cpu, run_resnet50_matches_torch_golden) { check_golden("ofa-resnet50"); }

/* ---------------- memory plan ---------------- */

Test(cpu, plan_live_values_never_overlap)
{
    sushi_supernet *sn = builtin("ofa-resnet50");
    const char *cfgs[] = { "min@64", "max@96" };
    for (int c = 0; c < 2; c++) {
        sushi_subnet *s = subnet(sn, cfgs[c]);
        for (int q = 0; q < 2; q++) {
            size_t es = q ? 1 : sizeof(float);
            cpu_plan p;
            cr_assert_eq(cpu_plan_build(ctx, s, es, q == 1, &p), SUSHI_OK);
            cr_expect_lt(p.arena_bytes, p.unplanned_bytes / 2, "planning should reuse memory");
            for (uint32_t a = 0; a < s->n_values; a++) {
                if (p.offset[a] == CPU_OFFSET_EXTERNAL)
                    continue;
                const sushi_value *va = &s->values[a];
                size_t sa = (size_t)va->c * va->h * va->w * es;
                cr_assert_leq(p.offset[a] + sa, p.arena_bytes);
                cr_assert_eq(p.offset[a] % CPU_ALIGN, 0);
                for (uint32_t b = a + 1; b < s->n_values; b++) {
                    if (p.offset[b] == CPU_OFFSET_EXTERNAL)
                        continue;
                    const sushi_value *vb = &s->values[b];
                    size_t sb = (size_t)vb->c * vb->h * vb->w * es;
                    uint32_t fa = va->producer == UINT32_MAX ? 0 : va->producer + 1, la = va->last_use + 1;
                    uint32_t fb = vb->producer == UINT32_MAX ? 0 : vb->producer + 1, lb = vb->last_use + 1;
                    bool live_together = fa <= lb && fb <= la;
                    bool overlap = p.offset[a] < p.offset[b] + sb && p.offset[b] < p.offset[a] + sa;
                    cr_assert(!(live_together && overlap), "values %u and %u share memory while both live", a, b);
                }
            }
            cpu_plan_free(ctx, &p);
        }
        sushi_subnet_destroy(s);
    }
    sushi_supernet_destroy(sn);
}

Test(cpu, memory_plan_reports_bytes_before_running)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "max@224");
    sushi_cpu_memory m = SUSHI_CPU_MEMORY_INIT;
    cr_assert_eq(sushi_cpu_memory_plan(s, &m), SUSHI_OK);
    cr_expect_gt(m.arena_bytes, 0);
    cr_expect_lt(m.arena_bytes, m.unplanned_bytes);
    cr_expect_gt(m.int8_arena_bytes, 0);
    size_t bytes = 0;
    cr_assert_eq(sushi_cpu_arena_bytes(s, &bytes), SUSHI_OK);
    cr_expect_geq(bytes, m.arena_bytes + m.scratch_bytes);
    sushi_cpu_memory small = { .size = 8 };
    cr_expect_eq(sushi_cpu_memory_plan(s, &small), SUSHI_ERR_ABI);
    cr_expect_eq(sushi_cpu_memory_plan(NULL, &m), SUSHI_ERR_INVALID);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(cpu, run_switching_subnets_gives_identical_outputs)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.2");
    sushi_subnet *a = subnet(sn, "max@64"), *b = subnet(sn, "min@96");
    sushi_backend *be;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &be), SUSHI_OK);
    float *xa = make_inputs(a, 11, 1), *xb = make_inputs(b, 12, 1);
    float o1[1000], o2[1000], o3[1000];
    cr_assert_eq(run(be, a, xa, o1, false), SUSHI_OK);
    cr_assert_eq(run(be, b, xb, o2, false), SUSHI_OK);
    cr_assert_eq(run(be, a, xa, o3, false), SUSHI_OK);
    cr_expect_eq(memcmp(o1, o3, sizeof o1), 0);
    sushi_run_args bad = SUSHI_RUN_ARGS_INIT;
    bad.input = xa, bad.input_len = in_len(a) - 1, bad.output = o1, bad.output_len = 1000;
    cr_expect_eq(sushi_backend_run(be, a, &bad, NULL), SUSHI_ERR_INVALID);
    free(xa);
    free(xb);
    sushi_backend_destroy(be);
    sushi_subnet_destroy(a);
    sushi_subnet_destroy(b);
    sushi_supernet_destroy(sn);
}

Test(cpu, cost_is_macs_over_configured_gflops)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "min@128");
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(b, "gflops", 50.0), SUSHI_OK);
    cr_expect_eq(sushi_backend_set_param(b, "gflops", -1.0), SUSHI_ERR_RANGE);
    cr_expect_eq(sushi_backend_set_param(b, "nope", 1.0), SUSHI_ERR_NOT_FOUND);
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &c), SUSHI_OK);
    cr_expect_eq(c.macs, s->macs);
    cr_expect(fabs(c.latency_s - 2.0 * s->macs / 50e9) < 1e-12);
    float *x = make_inputs(s, 1, 1), out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = in_len(s), a.output = out, a.output_len = 1000;
    sushi_cost m = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_run(b, s, &a, &m), SUSHI_OK);
    cr_expect_gt(m.latency_s, 0.0);
    cr_expect_eq(m.macs, s->macs);
    double mg = 0;
    cr_expect_eq(sushi_backend_get_param(b, "measured_gflops", &mg), SUSHI_OK);
    cr_expect_gt(mg, 0.0);
    free(x);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

/* ---------------- BN recalibration ---------------- */

/* With one batch holding every calibration image, the recalibrated SubNet in
 * eval mode sees exactly what train-mode BN saw, so each BN layer's output
 * over those images has per-channel mean beta and variance
 * gamma^2 * var / (var + eps). Checked on layers without an activation. */
static void check_recal(const char *family, const char *cfg, size_t n, size_t batch, bool exact)
{
    sushi_supernet *sn = builtin(family);
    sushi_subnet *s = subnet(sn, cfg);
    float *x = make_inputs(s, 100, n);
    sushi_subnet *r = NULL;
    cr_assert_eq(sushi_cpu_recalibrate_bn(s, x, n, batch, &r), SUSHI_OK);
    cr_assert_not_null(r);
    cr_expect_eq(memcmp(&r->cfg, &s->cfg, sizeof r->cfg), 0);
    float ***vps = calloc(n, sizeof *vps);
    for (size_t i = 0; i < n; i++)
        vps[i] = forward_all(r, x + i * in_len(s));
    int checked = 0;
    for (uint32_t li = 0; li < r->n_layers; li++) {
        const sushi_layer *l = &r->layers[li];
        if (l->bn < 0 || l->act != SUSHI_ACT_NONE)
            continue;
        const sushi_unit *u = &sn->units[l->unit];
        const sushi_conv_ref *ref = NULL;
        for (int k = 0; k < SUSHI_SUB_MAX; k++)
            if (u->sub[k].w == l->w && u->sub[k].has_bn)
                ref = &u->sub[k];
        cr_assert_not_null(ref);
        const float *beta = sn->tensors[ref->bn.beta].data, *gamma = sn->tensors[ref->bn.gamma].data;
        size_t hw = (size_t)l->out_h * l->out_w;
        for (uint32_t c = 0; c < l->out_c; c += 7) {
            double sum = 0, sq = 0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < hw; j++)
                    sum += vps[i][l->output][c * hw + j];
            double mean = sum / (n * hw);
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < hw; j++)
                    sq += pow(vps[i][l->output][c * hw + j] - mean, 2);
            double var = sq / (n * hw);
            if (exact) {
                cr_expect(fabs(mean - beta[c]) < 1e-3 * (1 + fabs(gamma[c])), "%s c%u mean %g beta %g", l->name, c,
                          mean, beta[c]);
                cr_expect(var < gamma[c] * gamma[c] * 1.001 + 1e-6, "%s c%u var %g gamma^2 %g", l->name, c, var,
                          gamma[c] * gamma[c]);
                cr_expect(var > gamma[c] * gamma[c] * 0.9 || hw * n < 4, "%s c%u var %g gamma^2 %g", l->name, c, var,
                          gamma[c] * gamma[c]);
            }
            checked++;
        }
    }
    cr_expect_gt(checked, 10);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t v = 1; v < r->n_values; v++)
            free(vps[i][v]);
        free(vps[i]);
    }
    free(vps);
    /* the recalibrated SubNet runs through the backend like any other */
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    float out[1000];
    cr_expect_eq(run(b, r, x, out, false), SUSHI_OK);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(r);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    free(x);
}

Test(cpu, recalibrate_bn_single_batch_normalises_calibration_set)
{
    check_recal("ofa-mbv3-w1.0", "{\"ks\":5,\"e\":4,\"d\":[2,3,2,3,2],\"r\":48}", 4, 0, true);
}

Test(cpu, recalibrate_bn_resnet_in_batches_runs)
{
    check_recal("ofa-resnet50", "min@32", 3, 2, false);
    sushi_subnet *out = (sushi_subnet *)1;
    cr_expect_eq(sushi_cpu_recalibrate_bn(NULL, NULL, 0, 0, &out), SUSHI_ERR_INVALID);
    cr_expect_null(out);
}

/* ---------------- int8 ---------------- */

TestSuite(int8, .init = setup, .fini = teardown, .timeout = 120);

#include "backends/cpu/int8_ops.h"

Test(int8, rshift_round_ties_away_from_zero)
{
    cr_expect_eq(sushi_q8_rshift_round(5, 1), 3);   /* 2.5 */
    cr_expect_eq(sushi_q8_rshift_round(-5, 1), -3); /* -2.5 */
    cr_expect_eq(sushi_q8_rshift_round(3, 1), 2);   /* 1.5 */
    cr_expect_eq(sushi_q8_rshift_round(-3, 1), -2);
    cr_expect_eq(sushi_q8_rshift_round(1, 2), 0);   /* 0.25 */
    cr_expect_eq(sushi_q8_rshift_round(-1, 2), 0);
    cr_expect_eq(sushi_q8_rshift_round(2, 2), 1);   /* 0.5 */
    cr_expect_eq(sushi_q8_rshift_round(-2, 2), -1);
    cr_expect_eq(sushi_q8_rshift_round(-6, 2), -2); /* -1.5 */
    cr_expect_eq(sushi_q8_rshift_round(-7, 2), -2); /* -1.75 */
    cr_expect_eq(sushi_q8_rshift_round(-5, 2), -1); /* -1.25 */
}

Test(int8, requant_saturates_and_adds_zero_points)
{
    int32_t m, s;
    sushi_q8_quant_mult(0.1, &m, &s);
    cr_expect_eq(sushi_q8_requant(1000, m, 0, s), 100);
    cr_expect_eq(sushi_q8_requant(-1000, m, 0, s), -100);
    cr_expect_eq(sushi_q8_requant(15, m, 0, s), 2);   /* 1.5 -> 2 */
    cr_expect_eq(sushi_q8_requant(-15, m, 0, s), -2); /* -1.5 -> -2 */
    /* bias in units of 2^-s: +0.5 output */
    cr_expect_eq(sushi_q8_requant(10, m, sushi_q8_quant_bias(0.5, s), s), 2); /* 1.0 + 0.5 -> 2 (tie away) */
    /* int32 saturation of a huge product */
    sushi_q8_quant_mult(1000.0, &m, &s);
    cr_expect_eq(sushi_q8_requant(INT32_MAX, m, 0, s), INT32_MAX);
    cr_expect_eq(sushi_q8_requant(INT32_MIN, m, 0, s), INT32_MIN);
    /* output stage: zero point then clamp to [lo, 255] */
    cr_expect_eq(sushi_q8_output(-300, 10, 0), 0);
    cr_expect_eq(sushi_q8_output(300, 0, 0), 255);
    cr_expect_eq(sushi_q8_output(-5, 10, 0), 5);
    cr_expect_eq(sushi_q8_output(-5, 10, 10), 10); /* ReLU = clamp at the zero point */
    cr_expect_eq(sushi_q8_output(INT32_MAX, 255, 0), 255);
    cr_expect_eq(sushi_q8_output(INT32_MIN, 0, 0), 0);
    /* two-input form */
    sushi_q8_quant_mult(0.5, &m, &s);
    cr_expect_eq(sushi_q8_requant2(3, m, 0, m, s), 2);   /* 1.5 */
    cr_expect_eq(sushi_q8_requant2(-3, m, 0, m, s), -2); /* -1.5 */
    cr_expect_eq(sushi_q8_requant2(-255, m, -255, m, s), -255);
}

Test(int8, quant_mult_normalises_and_clamps)
{
    int32_t m, s;
    sushi_q8_quant_mult(0.5, &m, &s);
    cr_expect(m == (1 << 23) && s == 24);
    sushi_q8_quant_mult(1.0, &m, &s);
    cr_expect(m == (1 << 23) && s == 23);
    sushi_q8_quant_mult(-0.75, &m, &s);
    cr_expect(m == -(3 << 22) && s == 24);
    sushi_q8_quant_mult(0.0, &m, &s);
    cr_expect(m == 0 && s == 24);
    sushi_q8_quant_mult(ldexp(1.0, -30), &m, &s); /* needs s = 54 > 47: clamped */
    cr_expect(s == SUSHI_Q8_SHIFT_MAX && m == (1 << 17));
    sushi_q8_quant_mult(1.0 - ldexp(1.0, -26), &m, &s); /* rounds up to 2^24: renormalised */
    cr_expect(m == (1 << 23) && s == 23);
    sushi_q8_quant_mult(0.3, &m, &s);
    cr_expect(m >= (1 << 23) && m < (1 << 24));
    cr_expect(fabs(ldexp((double)m, -s) - 0.3) < 0.3 * ldexp(1.0, -23));
    cr_expect_eq(sushi_q8_quant_bias(1e30, 10), SUSHI_Q8_BIAS_MAX);
    cr_expect_eq(sushi_q8_quant_bias(-1e30, 10), -SUSHI_Q8_BIAS_MAX);
    cr_expect_eq(sushi_q8_quant_bias(-0.75, 1), -2); /* -1.5 -> -2 */
}

Test(int8, qparams_weights_and_luts)
{
    float sc;
    int32_t zp;
    sushi_q8_choose_qparams(-1.0, 1.0, &sc, &zp);
    cr_expect(fabsf(sc - 2.0f / 255.0f) < 1e-9f && zp == 128); /* 127.5 -> 128 */
    sushi_q8_choose_qparams(0.5, 2.0, &sc, &zp);               /* range extended to include 0 */
    cr_expect(zp == 0 && fabsf(sc - 2.0f / 255.0f) < 1e-9f);
    sushi_q8_choose_qparams(-4.0, -1.0, &sc, &zp);
    cr_expect_eq(zp, 255);
    sushi_q8_choose_qparams(0.0, 0.0, &sc, &zp);
    cr_expect(zp == 0 && sc > 0.0f);
    cr_expect_eq(sushi_q8_quantize_input(1.0f, 2.0f / 255.0f, 128), 255);
    cr_expect_eq(sushi_q8_quantize_input(-10.0f, 2.0f / 255.0f, 128), 0);
    cr_expect_eq(sushi_q8_quantize_input(0.0f, 2.0f / 255.0f, 128), 128);
    const float row[4] = { 0.5f, -1.0f, 0.25f, -0.5f };
    int8_t q[4];
    float ws = sushi_q8_quant_weight(row, 4, 4, q);
    cr_expect(fabsf(ws - 1.0f / 127.0f) < 1e-9f);
    cr_expect(q[0] == 64 && q[1] == -127 && q[2] == 32 && q[3] == -64); /* +-63.5 -> +-64 */
    /* scale over the whole SuperNet row, only the prefix quantised */
    int8_t q2[2] = { 0, 0 };
    float ws2 = sushi_q8_quant_weight(row, 4, 2, q2);
    cr_expect(ws2 == ws && q2[0] == 64 && q2[1] == -127);
    const float zero[2] = { 0.0f, 0.0f };
    cr_expect_eq(sushi_q8_quant_weight(zero, 2, 2, q2), 1.0f);
    /* h-swish LUT: inputs <= -3 give the output zero point; identity above 3 */
    uint8_t lut[256];
    float si, so;
    int32_t zi, zo;
    sushi_q8_choose_qparams(-3.0, 6.0, &si, &zi);
    sushi_q8_choose_qparams(-0.375, 6.0, &so, &zo);
    sushi_q8_build_lut(lut, SUSHI_Q8_ACT_HSWISH, si, zi, so, zo);
    cr_expect_eq(lut[0], zo);
    cr_expect_eq(lut[255], 255);
    for (int p = 1; p < 256; p++)
        if ((p - zi) * si >= -1.5)
            cr_expect_geq(lut[p], lut[p - 1]);
    sushi_q8_build_lut(lut, SUSHI_Q8_ACT_HSIGMOID, 6.0f / 255.0f, 128, 1.0f / 255.0f, 0);
    cr_expect(lut[0] == 0 && lut[255] >= 254);
    cr_expect(lut[128] == 127 || lut[128] == 128); /* h-sigmoid(0) = 0.5 -> 127.5 (float scale decides the tie) */
}

static void int8_vs_float(const char *family, const char *cfg, int n_inputs, double max_rel, int min_top1)
{
    sushi_supernet *sn = builtin(family);
    sushi_subnet *s = subnet(sn, cfg);
    float *cal = make_inputs(s, 1000, 4);
    size_t nr = sushi_cpu_int8_ranges_len(s);
    float *r = malloc(nr * sizeof *r);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cal, 4, r, nr), SUSHI_OK);
    cr_expect_eq(sushi_cpu_calibrate_int8(s, cal, 4, r, nr - 1), SUSHI_ERR_TRUNCATED);
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    float *x = make_inputs(s, 2000, (size_t)n_inputs);
    float f[1000], q[1000];
    cr_expect_eq(run(b, s, x, q, true), SUSHI_ERR_STATE, "int8 without ranges");
    cr_assert_eq(sushi_cpu_set_int8_ranges(b, s, r, nr), SUSHI_OK);
    int agree = 0;
    for (int i = 0; i < n_inputs; i++) {
        const float *xi = x + (size_t)i * in_len(s);
        cr_assert_eq(run(b, s, xi, f, false), SUSHI_OK);
        cr_assert_eq(run(b, s, xi, q, true), SUSHI_OK);
        double mx = 0, err = 0;
        int af = 0, aq = 0;
        for (int j = 0; j < 1000; j++) {
            mx = fmax(mx, fabs(f[j]));
            err = fmax(err, fabs(f[j] - q[j]));
            af = f[j] > f[af] ? j : af;
            aq = q[j] > q[aq] ? j : aq;
        }
        agree += af == aq;
        cr_log_info("%s %s input %d: int8 max |err| / max |float| = %.3g, top1 %d/%d", family, cfg, i, err / mx, af,
                    aq);
        cr_expect_leq(err, max_rel * mx, "%s: int8 error %g vs max %g", family, err, mx);
    }
    cr_expect_geq(agree, min_top1, "%s: top-1 agreement %d/%d", family, agree, n_inputs);
    free(cal);
    free(x);
    free(r);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(int8, mbv3_close_to_float) { int8_vs_float("ofa-mbv3-w1.0", "min@64", 3, 0.08, 3); }
Test(int8, resnet_close_to_float) { int8_vs_float("ofa-resnet50", "min@48", 3, 0.08, 3); }

/* The int32 logits of the int8 path are a pure function of (SubNet, ranges,
 * input): two instances give the same bits. */
/* ---------------- calibration range rule (docs/int8.md §7) ---------------- */

/* Expected squared quantisation error of [a, c] over histogram h of [lo, hi]:
 * every bin's values at its centre, written directly from the definition
 * (saturate outside, S^2/12 inside), independent of the library's sums. */
static double brute_sse(const uint32_t *h, double lo, double w, double a, double c)
{
    double S = (c - a) / 255.0, e = 0.0;
    for (int b = 0; b < CPU_CALIB_BINS; b++) {
        double x = lo + (b + 0.5) * w;
        e += h[b] * (x < a ? (x - a) * (x - a) : x > c ? (x - c) * (x - c) : S * S / 12.0);
    }
    return e;
}

/* Minimum of brute_sse over ends on bin edges that keep 0 inside (every
 * 16th edge, then every edge within 16 of the best: exhaustive enough that a
 * grid search in the library missing the optimum by > 0.1 % shows). */
static double brute_best(const uint32_t *h, double lo, double hi)
{
    double w = (hi - lo) / CPU_CALIB_BINS, best = INFINITY;
    int bi = 0, bj = CPU_CALIB_BINS;
    for (int pass = 0; pass < 2; pass++) {
        int step = pass ? 1 : 16, i0 = pass ? bi - 16 : 0, i1 = pass ? bi + 16 : CPU_CALIB_BINS;
        int j0 = pass ? bj - 16 : 0, j1 = pass ? bj + 16 : CPU_CALIB_BINS;
        for (int i = i0 < 0 ? 0 : i0; i <= i1 && i <= CPU_CALIB_BINS; i += step)
            for (int j = j0 < 0 ? 0 : j0; j <= j1 && j <= CPU_CALIB_BINS; j += step) {
                double a = lo >= 0 ? 0.0 : lo + i * w, c = hi <= 0 ? 0.0 : lo + j * w;
                if (a > 0 || c < 0 || c <= a)
                    continue;
                double e = brute_sse(h, lo, w, a, c);
                if (e < best)
                    best = e, bi = i, bj = j;
            }
    }
    return best;
}

static void check_mse_range(const uint32_t *h, float lo, float hi)
{
    static double work[3 * (CPU_CALIB_BINS + 1)];
    cr_assert_eq(sizeof work, CPU_CALIB_MSE_WORK);
    float r[2] = { lo, hi };
    cpu_range_mse(r, h, work);
    double w = ((double)hi - lo) / CPU_CALIB_BINS;
    cr_assert(r[0] >= lo && r[1] <= hi && r[0] <= r[1], "range [%g, %g] outside [%g, %g]", r[0], r[1], lo, hi);
    cr_assert(r[0] <= 0.0f || lo >= 0.0f, "low end %g above 0", r[0]);
    cr_assert(r[1] >= 0.0f || hi <= 0.0f, "high end %g below 0", r[1]);
    double a = lo >= 0 ? 0.0 : r[0], c = hi <= 0 ? 0.0 : r[1];
    double got = brute_sse(h, lo, w, a, c), best = brute_best(h, lo, hi);
    cr_expect(got <= best * 1.001, "range [%g, %g]: error %.6g, best on the grid %.6g", r[0], r[1], got, best);
}

Test(int8, mse_range_is_least_squares_optimal)
{
    static uint32_t h[CPU_CALIB_BINS];
    uint64_t st = 12345;
    /* ReLU-like: exponential decay from 0 with a long tail */
    for (int b = 0; b < CPU_CALIB_BINS; b++)
        h[b] = (uint32_t)(1e6 * exp(-b / 40.0)) + (b % 97 == 0);
    check_mse_range(h, 0.0f, 20.0f);
    /* two-sided, heavy tailed, off-centre (a linear projection or ADD output) */
    for (int b = 0; b < CPU_CALIB_BINS; b++) {
        double x = (b - 900) / 60.0;
        h[b] = (uint32_t)(5e5 * exp(-fabs(x)));
    }
    check_mse_range(h, -15.0f, 19.1f);
    /* all values negative: the high end stays at 0 */
    for (int b = 0; b < CPU_CALIB_BINS; b++)
        h[b] = (uint32_t)(1e5 * exp(-(CPU_CALIB_BINS - 1 - b) / 100.0));
    check_mse_range(h, -8.0f, -1.0f);
    /* random histograms */
    for (int t = 0; t < 4; t++) {
        for (int b = 0; b < CPU_CALIB_BINS; b++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            h[b] = (uint32_t)(st >> 52) * (b < 1200) + (b == 2000 + t) * 3;
        }
        check_mse_range(h, -1.0f - t, 3.0f + t);
    }
}

Test(int8, mse_range_clips_outliers_and_keeps_degenerate_ranges)
{
    static uint32_t h[CPU_CALIB_BINS];
    static double work[3 * (CPU_CALIB_BINS + 1)];
    /* 10^8 values uniform in [0, 1) and one at 100: the outlier is dropped
     * (with 10^6 it is not: its squared error, ~10^4, would outweigh the
     * rounding of the rest, and the optimum lies near 44) */
    memset(h, 0, sizeof h);
    for (int b = 0; b < 21; b++)
        h[b] = 100000000 / 21;
    h[CPU_CALIB_BINS - 1] = 1;
    float r[2] = { 0.0f, 100.0f };
    cpu_range_mse(r, h, work);
    cr_expect(r[0] == 0.0f && r[1] > 0.9f && r[1] < 1.2f, "range [%g, %g]", r[0], r[1]);
    /* empty histogram and empty range: unchanged */
    memset(h, 0, sizeof h);
    float e[2] = { -1.0f, 2.0f }, z[2] = { 0.5f, 0.5f };
    cpu_range_mse(e, h, work);
    cr_expect(e[0] == -1.0f && e[1] == 2.0f);
    h[0] = 5;
    cpu_range_mse(z, h, work);
    cr_expect(z[0] == 0.5f && z[1] == 0.5f);
}

Test(int8, deterministic_across_instances)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.2");
    sushi_subnet *s = subnet(sn, "{\"ks\":3,\"e\":3,\"d\":2,\"r\":40}");
    float *x = make_inputs(s, 5, 2);
    size_t nr = sushi_cpu_int8_ranges_len(s);
    float *r = malloc(nr * sizeof *r);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, x, 2, r, nr), SUSHI_OK);
    cpu_q8_model *m1, *m2;
    cr_assert_eq(cpu_q8_model_build(s, r, &m1), SUSHI_OK);
    cr_assert_eq(cpu_q8_model_build(s, r, &m2), SUSHI_OK);
    void *raw1, *raw2;
    uint8_t *a1 = cpu_aligned_alloc(ctx, m1->plan.arena_bytes + m1->scratch_bytes + CPU_ALIGN, &raw1);
    uint8_t *a2 = cpu_aligned_alloc(ctx, m2->plan.arena_bytes + m2->scratch_bytes + CPU_ALIGN, &raw2);
    memset(a2, 0xAB, m2->plan.arena_bytes + m2->scratch_bytes); /* garbage must not matter */
    float f1[1000], f2[1000];
    int32_t i1[1000], i2[1000];
    cpu_q8_forward(m1, x, a1, a1 + cpu_align_up(m1->plan.arena_bytes), f1, i1);
    cpu_q8_forward(m2, x, a2, a2 + cpu_align_up(m2->plan.arena_bytes), f2, i2);
    cr_expect_eq(memcmp(i1, i2, sizeof i1), 0);
    cr_expect_eq(memcmp(f1, f2, sizeof f1), 0);
    sushi_free(ctx, raw1);
    sushi_free(ctx, raw2);
    cpu_q8_model_destroy(m1);
    cpu_q8_model_destroy(m2);
    free(r);
    free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

/* ---------------- threads ---------------- */

typedef struct tjob {
    const sushi_supernet *sn;
    const sushi_subnet *s;
    const float *x;
    float out[1000];
    int rc;
} tjob;

static void *worker(void *p)
{
    tjob *j = p;
    sushi_backend *b = NULL;
    j->rc = sushi_backend_create(j->sn, "cpu", &b);
    for (int i = 0; i < 3 && !j->rc; i++) {
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = j->x, a.input_len = in_len(j->s), a.output = j->out, a.output_len = 1000;
        j->rc = sushi_backend_run(b, j->s, &a, NULL);
    }
    sushi_backend_destroy(b);
    return NULL;
}

Test(cpu, threads_share_one_supernet_and_subnet)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "max@48");
    float *x = make_inputs(s, 3, 1);
    tjob ref = { sn, s, x, { 0 }, 0 };
    worker(&ref);
    cr_assert_eq(ref.rc, SUSHI_OK);
    tjob jobs[2] = { { sn, s, x, { 0 }, 0 }, { sn, s, x, { 0 }, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, worker, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(jobs[i].rc, SUSHI_OK);
        cr_expect_eq(memcmp(jobs[i].out, ref.out, sizeof ref.out), 0, "thread %d differs", i);
    }
    free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

/* logits of s on x by a fresh instance with `threads` threads */
static void run_threads(const sushi_supernet *sn, const sushi_subnet *s, const float *x, int threads, float *out)
{
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(b, "threads", threads), SUSHI_OK);
    double v = 0;
    cr_assert_eq(sushi_backend_get_param(b, "threads", &v), SUSHI_OK);
    cr_expect_eq(v, threads);
    /* twice: the second run reuses the plan and the pool */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(run(b, s, x, out, false), SUSHI_OK);
    sushi_backend_destroy(b);
}

/* Every kernel splits over the instance's threads by a fixed rule: the same
 * count gives the same bits, other counts agree within rounding. */
static void threads_agree(const char *family, const char *cfg)
{
    sushi_supernet *sn = builtin(family);
    sushi_subnet *s = subnet(sn, cfg);
    float *x = make_inputs(s, 11, 1);
    uint32_t nc = sn->num_classes;
    float *ref = calloc(nc, sizeof *ref), *a = calloc(nc, sizeof *a), *b = calloc(nc, sizeof *b);
    run_threads(sn, s, x, 1, ref);
    double refmax = 0.0;
    for (uint32_t i = 0; i < nc; i++)
        refmax = fmax(refmax, fabs(ref[i]));
    for (int t = 2; t <= 3; t++) {
        run_threads(sn, s, x, t, a);
        run_threads(sn, s, x, t, b);
        cr_expect_eq(memcmp(a, b, nc * sizeof *a), 0, "%s %s: %d threads not deterministic", family, cfg, t);
        double err = 0.0;
        for (uint32_t i = 0; i < nc; i++)
            err = fmax(err, fabs(a[i] - ref[i]));
        cr_expect(err <= 1e-5 * refmax, "%s %s: %d threads differ from 1 by %g (max |logit| %g)", family, cfg, t, err,
                  refmax);
    }
    free(ref), free(a), free(b), free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

/* The int8 path splits too (convolutions by groups of output channels,
 * depthwise by channels); integer sums do not depend on the split, so every
 * thread count gives the 1-thread bits (the HLS kernel is compared with it). */
static void threads_int8_exact(const char *family, const char *cfg)
{
    sushi_supernet *sn = builtin(family);
    sushi_subnet *s = subnet(sn, cfg);
    float *cal = make_inputs(s, 1000, 2), *x = make_inputs(s, 12, 1);
    size_t nr = sushi_cpu_int8_ranges_len(s);
    float *r = malloc(nr * sizeof *r);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cal, 2, r, nr), SUSHI_OK);
    uint32_t nc = sn->num_classes;
    float *ref = calloc(nc, sizeof *ref), *a = calloc(nc, sizeof *a);
    for (int t = 1; t <= 3; t++) {
        sushi_backend *b = NULL;
        cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
        cr_assert_eq(sushi_backend_set_param(b, "threads", t), SUSHI_OK);
        cr_assert_eq(sushi_cpu_set_int8_ranges(b, s, r, nr), SUSHI_OK);
        for (int i = 0; i < 2; i++) /* the second run reuses the model, pool and buffers */
            cr_assert_eq(run(b, s, x, t == 1 ? ref : a, true), SUSHI_OK);
        if (t > 1)
            cr_expect_eq(memcmp(a, ref, nc * sizeof *a), 0, "%s %s: int8 on %d threads differs from 1", family, cfg,
                         t);
        sushi_backend_destroy(b);
    }
    free(ref), free(a), free(r), free(cal), free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(cpu, threads_mbv3_int8_bit_exact) { threads_int8_exact("ofa-mbv3-w1.0", "max@96"); }
Test(cpu, threads_resnet_int8_bit_exact) { threads_int8_exact("ofa-resnet50", "min@64"); }

Test(cpu, threads_mbv3_deterministic_and_close_to_one_thread) { threads_agree("ofa-mbv3-w1.0", "max@96"); }
Test(cpu, threads_resnet_deterministic_and_close_to_one_thread) { threads_agree("ofa-resnet50", "max@96"); }
/* planes over 64 x 64 (80 x 80 after the stem): Winograd's several-tile-block
 * path, whose threads split the tile blocks */
Test(cpu, threads_resnet_large_planes_deterministic_and_close_to_one_thread)
{
    threads_agree("ofa-resnet50", "max@160");
}

Test(cpu, threads_param_is_per_instance_and_bounded)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_backend *b1 = NULL, *b2 = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b1), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b2), SUSHI_OK);
    cr_expect_eq(sushi_backend_set_param(b1, "threads", 0), SUSHI_ERR_RANGE);
    cr_expect_eq(sushi_backend_set_param(b1, "threads", 2.5), SUSHI_ERR_RANGE);
    cr_expect_eq(sushi_backend_set_param(b1, "threads", 1025), SUSHI_ERR_RANGE);
    cr_expect_eq(sushi_backend_set_param(b1, "threads", 3), SUSHI_OK);
    double v1 = 0, v2 = 0;
    sushi_backend_get_param(b1, "threads", &v1);
    sushi_backend_get_param(b2, "threads", &v2);
    cr_expect_eq(v1, 3);
    cr_expect_eq(v2, sushi_cpu_get_threads(), "an instance without the param follows the process default");
    sushi_backend_destroy(b1);
    sushi_backend_destroy(b2);
    sushi_supernet_destroy(sn);
}

Test(cpu, threads_setting_is_bounded)
{
    int before = sushi_cpu_get_threads();
    cr_expect_eq(sushi_cpu_set_threads(0), SUSHI_ERR_RANGE);
    cr_expect_eq(sushi_cpu_set_threads(1), SUSHI_OK);
    cr_expect_eq(sushi_cpu_get_threads(), 1);
    sushi_cpu_set_threads(before);
}

/* parallel-loop body of the pool test: counts each element it is given */
static void count_parts(void *arg, unsigned id, size_t lo, size_t hi)
{
    size_t *seen = arg;
    (void)id;
    for (size_t i = lo; i < hi; i++)
        __atomic_fetch_add(&seen[i], 1, __ATOMIC_RELAXED);
}

/* The forward pass fuses residual adds into the convolution before them
 * (docs/cpu.md, "Fused residual adds"). With the backend's own memory plan,
 * where an add's output often takes the place of its convolution's input,
 * the pass must give the bits of running every layer on its own, on 1 and on
 * 2 threads. */
static void fused_adds_match_layers(const char *family, const char *cfg, bool expect_on_input)
{
    sushi_context *fctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &fctx), SUSHI_OK);
    sushi_supernet *sn = builtin(family);
    sushi_subnet *s = subnet(sn, cfg);
    cpu_plan plan;
    cr_assert_eq(cpu_plan_build(fctx, s, sizeof(float), false, &plan), SUSHI_OK);
    size_t ab = (plan.arena_bytes + 63) / 64 * 64, sb = (cpu_f32_scratch_bytes_nt(s, 2) + 63) / 64 * 64;
    char *arena = aligned_alloc(64, ab);
    float *scratch = aligned_alloc(64, sb);
    float *x = make_inputs(s, 13, 1);
    float **vp = calloc(s->n_values, sizeof *vp);
    cr_assert(arena && scratch && vp);
    cpu_value_ptrs(&plan, arena, x, sizeof(float), (void **)vp);
    uint32_t on_input = 0, fusable = cpu_f32_fusable_adds(s, vp, &on_input);
    cr_expect_gt(fusable, 0, "%s %s: no add to fuse", family, cfg);
    if (expect_on_input)
        cr_expect_gt(on_input, 0, "%s %s: no add writing over its convolution's input", family, cfg);
    const sushi_layer *last = &s->layers[s->n_layers - 1];
    size_t n_out = (size_t)last->out_c * last->out_h * last->out_w;
    float *fused = malloc(n_out * sizeof *fused), *alone = malloc(n_out * sizeof *alone);
    for (unsigned t = 1; t <= 2; t++) {
        cpu_pool *pool = NULL;
        if (t > 1)
            cr_assert_eq(cpu_pool_create(fctx, t, &pool), SUSHI_OK);
        cpu_exec ex = { pool, t };
        memset(arena, 0x7f, ab);
        cpu_f32_forward_x(&ex, s, vp, scratch);
        memcpy(fused, vp[last->output], n_out * sizeof *fused);
        memset(arena, 0x7f, ab);
        for (uint32_t i = 0; i < s->n_layers; i++)
            cpu_f32_layer_x(&ex, s, i, vp, scratch, false);
        memcpy(alone, vp[last->output], n_out * sizeof *alone);
        cr_expect_eq(memcmp(fused, alone, n_out * sizeof *fused), 0, "%s %s, %u threads: fused adds change the output",
                     family, cfg, t);
        cpu_pool_destroy(pool);
    }
    free(fused), free(alone), free(vp), free(x), free(scratch), free(arena);
    cpu_plan_free(fctx, &plan);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(fctx);
}

Test(cpu, fused_adds_resnet_match_layer_by_layer) { fused_adds_match_layers("ofa-resnet50", "max@96", true); }
Test(cpu, fused_adds_mbv3_match_layer_by_layer) { fused_adds_match_layers("ofa-mbv3-w1.0", "max@96", false); }

/* CPUs this process may run on (what the pool compares with) */
static unsigned test_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return (unsigned)CPU_COUNT(&set);
    long k = sysconf(_SC_NPROCESSORS_ONLN);
    return k > 0 ? (unsigned)k : 1;
}

/* Waiting threads spin only while the threads of all live pools fit the
 * CPUs: with more, a spinning thread keeps a thread with work off its CPU
 * (docs/cpu.md, "Threads"). */
Test(cpu, threads_pools_spin_only_while_their_threads_fit_the_cpus)
{
    sushi_context *pctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &pctx), SUSHI_OK);
    unsigned ncpu = test_cpus();
    cpu_pool *one = NULL, *a = NULL, *b = NULL, *big = NULL;
    cr_assert_eq(cpu_pool_create(pctx, 1, &one), SUSHI_OK);
    cr_expect(!cpu_pool_spins(NULL));
    cr_expect(!cpu_pool_spins(one), "a 1-thread pool never waits");
    cr_assert_eq(cpu_pool_create(pctx, 2, &a), SUSHI_OK);
    cr_expect_eq(cpu_pool_spins(a), 2 <= ncpu, "2 threads on %u CPUs", ncpu);
    /* a second pool as large as the machine: together they do not fit */
    cr_assert_eq(cpu_pool_create(pctx, ncpu > 1 ? ncpu : 2, &b), SUSHI_OK);
    cr_expect(!cpu_pool_spins(a), "2 + %u threads on %u CPUs", ncpu, ncpu);
    cr_expect(!cpu_pool_spins(b));
    cpu_pool_destroy(b);
    cr_expect_eq(cpu_pool_spins(a), 2 <= ncpu, "destroying a pool gives its CPUs back");
    cpu_pool_destroy(a);
    cr_assert_eq(cpu_pool_create(pctx, ncpu + 1, &big), SUSHI_OK);
    cr_expect(!cpu_pool_spins(big), "%u threads on %u CPUs", ncpu + 1, ncpu);
    /* it still computes every part */
    size_t seen[4] = { 0 };
    cpu_pool_for(big, 4, 4 < ncpu + 1 ? 4 : ncpu + 1, count_parts, seen);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(seen[i], 1, "element %d done once", i);
    cpu_pool_destroy(big);
    cpu_pool_destroy(one);
    sushi_context_destroy(pctx);
}

/* ---------------- fault injection ---------------- */

static long fail_at = -1; /* fail the allocation with this index (-1: never) */
static long n_allocs;

static void *f_malloc(void *u, size_t n)
{
    (void)u;
    return n_allocs++ == fail_at ? NULL : malloc(n);
}
static void *f_realloc(void *u, void *p, size_t n)
{
    (void)u;
    return n_allocs++ == fail_at ? NULL : realloc(p, n);
}
static void f_free(void *u, void *p)
{
    (void)u;
    free(p);
}

/* Fail the N-th allocation for N = 0, 1, ...: every step returns
 * SUSHI_ERR_NOMEM and leaks nothing (LeakSanitizer checks at exit). */
Test(cpu_fault, nomem_at_every_allocation_is_reported)
{
    sushi_allocator al = SUSHI_ALLOCATOR_INIT;
    al.malloc_fn = f_malloc, al.realloc_fn = f_realloc, al.free_fn = f_free;
    sushi_context *fc;
    cr_assert_eq(sushi_context_create(&al, &fc), SUSHI_OK);
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(fc, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_config cfg = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_parse(sn, "{\"ks\":3,\"e\":3,\"d\":2,\"r\":32}", 0, &cfg, NULL, 0), SUSHI_OK);
    sushi_subnet *s;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    float *x = make_inputs(s, 1, 2), out[1000];
    size_t nr = sushi_cpu_int8_ranges_len(s);
    float *r = malloc(nr * sizeof *r);
    int steps = 0;
    for (long n = 0;; n++) {
        n_allocs = 0;
        fail_at = n;
        sushi_backend *b = NULL;
        sushi_subnet *rs = NULL;
        int rc = sushi_backend_create(sn, "cpu", &b);
        if (!rc)
            rc = run(b, s, x, out, false);
        if (!rc)
            rc = sushi_cpu_calibrate_int8(s, x, 2, r, nr);
        if (!rc)
            rc = sushi_cpu_set_int8_ranges(b, s, r, nr);
        if (!rc)
            rc = run(b, s, x, out, true);
        if (!rc)
            rc = sushi_cpu_recalibrate_bn(s, x, 2, 0, &rs);
        sushi_cpu_memory m = SUSHI_CPU_MEMORY_INIT;
        if (!rc)
            rc = sushi_cpu_memory_plan(s, &m);
        sushi_subnet_destroy(rs);
        sushi_backend_destroy(b);
        fail_at = -1;
        if (rc == SUSHI_OK)
            break;
        cr_assert_eq(rc, SUSHI_ERR_NOMEM, "allocation %ld: %s", n, sushi_status_name(rc));
        steps++;
    }
    cr_expect_gt(steps, 10);
    free(r);
    free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(fc);
}
