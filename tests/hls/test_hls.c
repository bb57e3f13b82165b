/* hls backend: bit-exact with the cpu int8 path (single layers on the kernel
 * and whole SubNets), AXI bytes vs the cycle model per layer (with and
 * without a resident SubGraph), loop-trip cycles vs model compute cycles.
 * docs/hls.md lists the operands where the model and the kernel differ. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "backends/cpu/int8_ops.h"
#include "backends/hls/hls_internal.h"
#include "backends/hls/kernel/sushi_accel.h"
#include "internal.h"
#include "sushi/cpu.h"
#include "sushi/cycle.h"

static sushi_context *ctx;
static void setup(void) { cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK); }
static void teardown(void) { sushi_context_destroy(ctx); }

/* ---------------- single layers on the kernel vs a direct reference ---------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

typedef struct ref_case {
    int dw, k, c, r, x, pad, stride, lut, res, res_first;
} ref_case;

static void check_case(const ref_case *t)
{
    const uint32_t k = (uint32_t)t->k, c = (uint32_t)t->c, r = (uint32_t)t->r, x = (uint32_t)t->x;
    const uint32_t st = (uint32_t)t->stride, pad = (uint32_t)t->pad;
    const uint32_t o = (x + 2 * pad - r) / st + 1, P = o * o, rr = r * r, row = t->dw ? rr : c * rr;
    uint8_t *in = malloc((size_t)c * x * x), *res = malloc((size_t)k * P), *out = malloc((size_t)k * P);
    int8_t *w = malloc((size_t)k * row);
    int32_t *qp = calloc((size_t)k * 4, sizeof *qp), acc[4];
    uint8_t lut[256], alut[256];
    for (size_t i = 0; i < (size_t)c * x * x; i++)
        in[i] = (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)k * P; i++)
        res[i] = (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)k * row; i++)
        w[i] = (int8_t)((int32_t)(rnd() % 255) - 127);
    for (int i = 0; i < 256; i++)
        lut[i] = (uint8_t)(255 - i), alut[i] = (uint8_t)(i / 2 + 17);
    for (uint32_t j = 0; j < k; j++) {
        int32_t m, s;
        sushi_q8_quant_mult(1.0 / (200.0 * sqrt((double)row)) * (1 + j % 3), &m, &s);
        int64_t B = sushi_q8_quant_bias(((int)(rnd() % 200) - 100) / 10.0, s);
        qp[4 * j] = m, qp[4 * j + 1] = s;
        qp[4 * j + 2] = (int32_t)(uint32_t)((uint64_t)B & 0xffffffffu);
        qp[4 * j + 3] = (int32_t)(uint32_t)((uint64_t)B >> 32);
    }
    accel_ctrl cr;
    memset(&cr, 0, sizeof cr);
    cr.op = t->dw ? ACCEL_OP_DWCONV : ACCEL_OP_CONV;
    cr.k = k, cr.c = c, cr.r = r, cr.x = cr.y = x, cr.pad = pad, cr.stride = st;
    cr.zp_in = 37, cr.zp_out = 101, cr.lo = t->lut ? 0 : 101, cr.use_lut = (uint32_t)t->lut;
    cr.pb_slot = ACCEL_PB_SLOTS;
    cr.res_en = (uint32_t)t->res, cr.res_first = (uint32_t)t->res_first;
    cr.add_zp_a = 90, cr.add_zp_b = 20, cr.add_zp = 128, cr.add_lo = 5, cr.add_use_lut = 1;
    sushi_q8_quant_mult(0.7, &cr.add_ma, &cr.add_s);
    cr.add_mb = cr.add_ma / 3;
    sushi_accel_counters_reset();
    sushi_accel(in, res, w, qp, out, acc, lut, alut, cr);
    accel_counters n = sushi_accel_counters_get();
    cr_assert_eq(n.status, 0);
    for (uint32_t j = 0; j < k; j++)
        for (uint32_t oy = 0; oy < o; oy++)
            for (uint32_t ox = 0; ox < o; ox++) {
                int32_t a = 0;
                for (uint32_t ci = 0; ci < (t->dw ? 1u : c); ci++)
                    for (uint32_t ky = 0; ky < r; ky++)
                        for (uint32_t kx = 0; kx < r; kx++) {
                            int64_t iy = (int64_t)oy * st + ky - pad, ix = (int64_t)ox * st + kx - pad;
                            if (iy < 0 || ix < 0 || iy >= x || ix >= x)
                                continue;
                            uint32_t ch = t->dw ? j : ci;
                            a += (int32_t)w[(size_t)j * row + ci * rr + ky * r + kx] *
                                 ((int32_t)in[((size_t)ch * x + iy) * x + ix] - cr.zp_in);
                        }
                int64_t B = (int64_t)(((uint64_t)(uint32_t)qp[4 * j + 3] << 32) | (uint32_t)qp[4 * j + 2]);
                uint8_t y = sushi_q8_output(sushi_q8_requant(a, qp[4 * j], B, qp[4 * j + 1]), cr.zp_out, cr.lo);
                if (t->lut)
                    y = lut[y];
                size_t at = (size_t)j * P + oy * o + ox;
                if (t->res) {
                    int32_t va = t->res_first ? res[at] : y, vb = t->res_first ? y : res[at];
                    y = alut[sushi_q8_output(sushi_q8_requant2(va - cr.add_zp_a, cr.add_ma, vb - cr.add_zp_b,
                                                               cr.add_mb, cr.add_s),
                                             cr.add_zp, cr.add_lo)];
                }
                cr_assert_eq(out[at], y, "case dw%d k%d c%d r%d x%d s%d: out[%u][%u][%u] %u != %u", t->dw, t->k,
                             t->c, t->r, t->x, t->stride, j, oy, ox, out[at], y);
            }
    /* bytes on each port */
    cr_assert_eq(n.rd_act, (uint64_t)c * x * x);
    cr_assert_eq(n.rd_wgt, (uint64_t)k * row);
    cr_assert_eq(n.rd_par, (uint64_t)k * 16);
    cr_assert_eq(n.wr_act, (uint64_t)k * P);
    cr_assert_eq(n.rd_res, t->res ? (uint64_t)k * P : 0);
    free(in), free(res), free(out), free(w), free(qp);
}

Test(hls, kernel_layer_kinds_bit_exact)
{
    static const ref_case cases[] = {
        { 0, 16, 9, 3, 8, 1, 1, 0, 0, 0 },  /* 3x3, one tile */
        { 0, 21, 13, 3, 9, 1, 2, 1, 0, 0 }, /* 3x3 s2, partial tiles, LUT */
        { 0, 40, 100, 1, 6, 0, 1, 0, 0, 0 },/* 1x1 folded, 2 C tiles */
        { 0, 17, 30, 1, 7, 0, 2, 0, 1, 0 }, /* 1x1 s2 + fused add */
        { 0, 5, 4, 5, 9, 2, 1, 0, 0, 0 },   /* 5x5 dense: 4 pieces */
        { 0, 3, 3, 7, 11, 3, 2, 1, 1, 1 },  /* 7x7 dense s2: 9 pieces, add (res first) */
        { 1, 20, 20, 3, 8, 1, 1, 0, 0, 0 }, /* depthwise 3x3 */
        { 1, 33, 33, 5, 9, 2, 2, 1, 0, 0 }, /* depthwise 5x5 s2 */
        { 1, 16, 16, 7, 10, 3, 1, 0, 1, 0 },/* depthwise 7x7 + add */
        { 0, 10, 300, 1, 1, 0, 1, 0, 0, 0 },/* linear as 1x1 of a 1x1 map */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

Test(hls, persistent_buffer_commands)
{
    int8_t box[2 * 3 * 9];
    for (int i = 0; i < 54; i++)
        box[i] = (int8_t)(i - 20);
    accel_ctrl c;
    memset(&c, 0, sizeof c);
    c.op = ACCEL_OP_PB_INVALIDATE;
    c.pb_slot = ACCEL_PB_SLOTS;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c);
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_KEEP;
    c.pb_slot = 5;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c);
    cr_assert_eq(sushi_accel_counters_get().status, ACCEL_ERR_PB, "keep of an invalid slot is an error");
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_LOAD, c.pb_rows = 2, c.pb_cols = 3, c.pb_kk = 9, c.pb_base = 1000;
    sushi_accel(NULL, NULL, box, NULL, NULL, NULL, NULL, NULL, c);
    c.op = ACCEL_OP_PB_KEEP;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c);
    accel_counters n = sushi_accel_counters_get();
    cr_assert_eq(n.status, 0);
    cr_assert_eq(n.rd_pb_load, 54);
    /* a 3x3 conv with k = 4, c = 5 on slot 5: rows 0-1 x channels 0-2 come from the PB */
    uint8_t in[5 * 16], out[4 * 16];
    int8_t w[4 * 45];
    int32_t qp[16] = { 0 }, acc[4];
    uint8_t lut[256] = { 0 };
    for (int i = 0; i < 80; i++)
        in[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 180; i++)
        w[i] = (int8_t)(i % 50 - 25);
    for (int o = 0; o < 2; o++)
        memcpy(w + o * 45, box + o * 27, 27); /* same values as the PB holds */
    for (int j = 0; j < 4; j++)
        sushi_q8_quant_mult(0.01, &qp[4 * j], &qp[4 * j + 1]);
    accel_ctrl v;
    memset(&v, 0, sizeof v);
    v.op = ACCEL_OP_CONV, v.k = 4, v.c = 5, v.r = 3, v.x = v.y = 4, v.pad = 1, v.stride = 1, v.pb_slot = 5;
    sushi_accel_counters_reset();
    sushi_accel(in, NULL, w, qp, out, acc, lut, lut, v);
    n = sushi_accel_counters_get();
    cr_assert_eq(n.pb_hit, 54);
    cr_assert_eq(n.rd_wgt, 180 - 54);
    uint8_t out2[4 * 16];
    v.pb_slot = ACCEL_PB_SLOTS;
    sushi_accel(in, NULL, w, qp, out2, acc, lut, lut, v);
    cr_assert_arr_eq(out, out2, sizeof out);
    c.op = ACCEL_OP_PB_INVALIDATE;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c);
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_KEEP;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c);
    cr_assert_eq(sushi_accel_counters_get().status, ACCEL_ERR_PB);
}

/* ---------------- whole SubNets vs the cpu int8 path and the cycle model ---------------- */

static size_t in_len(const sushi_subnet *s) { return (size_t)s->values[0].c * s->values[0].h * s->values[0].w; }

static sushi_subnet *make_subnet(sushi_supernet *sn, const char *text)
{
    sushi_config cfg = SUSHI_CONFIG_INIT;
    char err[256] = "";
    cr_assert_eq(sushi_config_parse(sn, text, 0, &cfg, err, sizeof err), SUSHI_OK, "%s: %s", text, err);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    return s;
}

typedef struct totals {
    uint64_t engine_layers, fused, host, mixed, unfused_adds, bytes_hls, bytes_model;
    double worst_cyc;
} totals;

/* Per-layer comparison of the last hls run of s with the model under g. */
static void compare_layers(sushi_backend *hb, const sushi_subnet *s, const sushi_subgraph *g, totals *t)
{
    sushi_cycle_model m;
    cr_assert_eq(sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104), SUSHI_OK);
    /* the kernel: 16 requant bytes per channel, II = 1 trips + 32 fill cycles per pass */
    cr_assert_eq(sushi_cycle_model_set(&m, "quant_bytes", 16), SUSHI_OK);
    cr_assert_eq(sushi_cycle_model_set(&m, "pixel_ii", 1), SUSHI_OK);
    cr_assert_eq(sushi_cycle_model_set(&m, "pass_fill_cycles", ACCEL_FILL_CYCLES), SUSHI_OK);
    sushi_layer_cost *lc = calloc(s->n_layers, sizeof *lc);
    sushi_cost tot = SUSHI_COST_INIT;
    cr_assert_eq(sushi_cycle_cost_subnet(&m, s, g, lc, &tot), SUSHI_OK);
    uint32_t n = 0;
    const hls_layer_stat *hs = hls_backend_stats(hb, &n);
    cr_assert_eq(n, s->n_layers);
    for (uint32_t i = 0; i < n; i++) {
        const sushi_layer *l = &s->layers[i];
        const hls_layer_stat *h = &hs[i];
        const sushi_layer_cost *c = &lc[i];
        const char *nm = l->name;
        t->bytes_hls += h->rd_wgt + h->rd_par + h->act_in + h->act_out;
        t->bytes_model += c->offchip_bytes;
        if (c->where != h->where) {
            /* the model fuses an ADD whose conv operand is also read elsewhere; the kernel cannot */
            cr_assert(l->op == SUSHI_OP_ADD || (i + 1 < n && s->layers[i + 1].op == SUSHI_OP_ADD), "%s", nm);
            t->unfused_adds++;
            continue;
        }
        /* weights and PB hits: exact everywhere */
        cr_assert_eq(h->rd_wgt, c->weight_offchip_bytes, "%s: weights %lu vs %lu", nm, h->rd_wgt,
                     c->weight_offchip_bytes);
        cr_assert_eq(h->pb_hit, c->hit_bytes, "%s: hits %lu vs %lu", nm, h->pb_hit, c->hit_bytes);
        cr_assert_eq(h->rd_par, c->param_bytes, "%s: params", nm);
        uint64_t extra_in = 0, extra_out = 0;
        if (h->where == SUSHI_CYCLE_MIXED) /* SE: pooled vector written by the host, gate read by the host */
            extra_in = extra_out = l->in_c;
        if (h->where == SUSHI_CYCLE_ENGINE && l->op == SUSHI_OP_LINEAR && l->output == s->output_value &&
            h->act_out == 4 * c->act_out_bytes)
            extra_out = 3 * c->act_out_bytes; /* int32 logits */
        cr_assert_eq(h->act_in, c->act_in_bytes + extra_in, "%s: act in %lu vs %lu", nm, h->act_in,
                     c->act_in_bytes);
        cr_assert_eq(h->act_out, c->act_out_bytes + extra_out, "%s: act out %lu vs %lu", nm, h->act_out,
                     c->act_out_bytes);
        if (h->where == SUSHI_CYCLE_ENGINE || h->where == SUSHI_CYCLE_MIXED) {
            double d = fabs((double)h->cycles - (double)c->cycles_compute) / (double)c->cycles_compute;
            cr_assert(d <= 0.05, "%s: cycles %lu vs model %lu", nm, h->cycles, c->cycles_compute);
            if (d > t->worst_cyc)
                t->worst_cyc = d;
        }
        t->engine_layers += h->where == SUSHI_CYCLE_ENGINE;
        t->fused += h->where == SUSHI_CYCLE_FUSED;
        t->host += h->where == SUSHI_CYCLE_HOST;
        t->mixed += h->where == SUSHI_CYCLE_MIXED;
    }
    free(lc);
}

static void check_family(const char *fam, const char *cfg, const char *resident_cfg)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, fam, 0, &sn), SUSHI_OK);
    sushi_subnet *s = make_subnet(sn, cfg);
    const size_t nin = in_len(s), ncal = 2;
    float *cal = malloc(ncal * nin * sizeof *cal);
    for (size_t i = 0; i < ncal; i++)
        cpu_test_input(100 + i, cal + i * nin, nin);
    size_t nr = sushi_cpu_int8_ranges_len(s);
    float *ranges = malloc(nr * sizeof *ranges);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cal, ncal, ranges, nr), SUSHI_OK);
    sushi_backend *cb = NULL, *hb = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &cb), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "hls", &hb), SUSHI_OK);
    cr_assert_eq(sushi_cpu_set_int8_ranges(cb, s, ranges, nr), SUSHI_OK);
    cr_assert_eq(hls_backend_set_ranges(hb, s, ranges, nr), SUSHI_OK);
    uint32_t nc = sn->num_classes;
    float *oc = malloc(nc * sizeof *oc), *oh = malloc(nc * sizeof *oh), *x = malloc(nin * sizeof *x);
    sushi_subgraph *g = NULL;
    cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
    sushi_subnet *rs = make_subnet(sn, resident_cfg);
    cr_assert_eq(sushi_subgraph_set_subnet(g, rs), SUSHI_OK);
    totals t = { 0 };
    for (int pass = 0; pass < 3; pass++) {
        /* 0: nothing resident, 1: the resident_cfg SubNet's SubGraph, 2: this SubNet's own */
        sushi_cost rl = SUSHI_COST_INIT;
        sushi_subgraph *prev = NULL;
        cr_assert_eq(sushi_subgraph_create(sn, &prev), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_copy(prev, g), SUSHI_OK);
        if (pass == 2)
            cr_assert_eq(sushi_subgraph_set_subnet(g, s), SUSHI_OK);
        cr_assert_eq(sushi_backend_set_resident(hb, pass ? g : NULL, &rl), SUSHI_OK);
        sushi_cycle_model m;
        sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
        if (pass == 2) { /* switch SubGraphs: only what is not kept crosses the AXI port */
            uint64_t loaded, kept, mk;
            hls_backend_last_reload(hb, &loaded, &kept);
            cr_assert_eq(loaded, sushi_cycle_reload_bytes(&m, prev, g, &mk), "PB switch: %lu vs model", loaded);
            cr_assert_eq(kept, mk);
            cr_assert_eq(rl.offchip_bytes, loaded);
            cr_log_info("%s %s: PB switch loads %lu B, keeps %lu B", fam, cfg, loaded, kept);
        }
        sushi_subgraph_destroy(prev);
        if (pass == 1) {
            uint64_t loaded, kept;
            hls_backend_last_reload(hb, &loaded, &kept);
            cr_assert_eq(loaded, sushi_cycle_reload_bytes(&m, NULL, g, NULL), "PB load from empty");
            cr_assert_eq(rl.offchip_bytes, loaded);
            cr_assert_eq(sushi_backend_set_resident(hb, g, &rl), SUSHI_OK);
            hls_backend_last_reload(hb, &loaded, &kept);
            cr_assert_eq(loaded, 0, "unchanged SubGraph: nothing reloaded");
            cr_assert_eq(kept, sushi_cycle_reload_bytes(&m, NULL, g, NULL));
        }
        cpu_test_input(7 + (uint64_t)pass, x, nin);
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = x, a.input_len = nin, a.output = oc, a.output_len = nc, a.int8 = true;
        cr_assert_eq(sushi_backend_run(cb, s, &a, NULL), SUSHI_OK);
        a.output = oh;
        sushi_cost hc = SUSHI_COST_INIT;
        cr_assert_eq(sushi_backend_run(hb, s, &a, &hc), SUSHI_OK);
        for (uint32_t i = 0; i < nc; i++)
            cr_assert(memcmp(&oc[i], &oh[i], sizeof(float)) == 0, "%s %s: logit %u: cpu %.9g hls %.9g", fam, cfg,
                      i, oc[i], oh[i]);
        compare_layers(hb, s, pass ? g : NULL, &t);
        if (pass == 2) /* own SubGraph: everything but what the 3 MiB PB cannot hold is a hit */
            cr_assert_eq(hc.weight_bytes + hc.hit_bytes, s->weight_bytes);
        cr_log_info("%s %s resident=%d: offchip %lu B (weights %lu, act %lu), hits %lu B, %lu kernel cycles", fam,
                    cfg, pass, hc.offchip_bytes, hc.weight_bytes, hc.act_bytes, hc.hit_bytes, hc.cycles);
    }
    cr_log_info("%s %s: %lu engine, %lu fused-add, %lu mixed, %lu host layer checks; %lu adds the model fuses "
                "but the kernel cannot; worst cycle deviation %.4f%%",
                fam, cfg, t.engine_layers, t.fused, t.mixed, t.host, t.unfused_adds, t.worst_cyc * 100);
    free(oc), free(oh), free(x), free(cal), free(ranges);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(rs);
    sushi_subnet_destroy(s);
    sushi_backend_destroy(cb);
    sushi_backend_destroy(hb);
    sushi_supernet_destroy(sn);
}

Test(hls, mbv3_min_32, .init = setup, .fini = teardown) { check_family("ofa-mbv3-w1.0", "min@32", "max@32"); }
Test(hls, mbv3_max_48, .init = setup, .fini = teardown) { check_family("ofa-mbv3-w1.0", "max@48", "min@48"); }
Test(hls, resnet50_min_32, .init = setup, .fini = teardown) { check_family("ofa-resnet50", "min@32", "max@32"); }
/* full resolution: inputs beyond the 512 KiB input buffer (row bands, K-tile re-reads) and pixel blocks */
Test(hls, mbv3_min_224, .init = setup, .fini = teardown) { check_family("ofa-mbv3-w1.0", "min@224", "max@224"); }
