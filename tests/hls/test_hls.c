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
#include "backends/cpu/int8_layers.h"
#include "backends/cpu/int8_ops.h"
#include "backends/hls/hls_internal.h"
#include "backends/hls/kernel/sushi_accel.h"
#include "internal.h"
#include "sushi/cpu.h"
#include "sushi/cycle.h"
#include "sushi/hls.h"

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
    int dw, k, c, r, x, pad, stride, lut, res, res_first, halo;
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
    sushi_accel(in, res, w, qp, out, acc, lut, alut, cr, NULL);
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
    /* activations: once when the (tile-padded) input fits the 512 KiB input
     * buffer, else once per K tile (row bands + halo); the cycle model's rule */
    const uint64_t cpt = t->dw ? ACCEL_PE_K : r == 1 ? ACCEL_FOLD_C : ACCEL_PE_C;
    const bool fits = (c + cpt - 1) / cpt * cpt * x * x <= ACCEL_IBUF_BYTES;
    cr_assert_eq(n.rd_act, (uint64_t)c * x * x * (fits || t->dw ? 1 : (k + ACCEL_PE_K - 1) / ACCEL_PE_K),
                 "case dw%d k%d c%d r%d x%d s%d: act bytes %lu", t->dw, t->k, t->c, t->r, t->x, t->stride, n.rd_act);
    if (t->halo)
        cr_assert_gt(n.halo, 0, "case k%d c%d r%d x%d: the row-band halo was not exercised", t->k, t->c, t->r, t->x);
    cr_assert_eq(n.rd_wgt, (uint64_t)k * row);
    cr_assert_eq(n.rd_par, (uint64_t)k * 16);
    cr_assert_eq(n.wr_act, (uint64_t)k * P);
    cr_assert_eq(n.rd_res, t->res ? (uint64_t)k * P : 0);
    free(in), free(res), free(out), free(w), free(qp);
}

Test(hls, kernel_layer_kinds_bit_exact)
{
    static const ref_case cases[] = {
        { 0, 16, 9, 3, 8, 1, 1, 0, 0, 0, 0 },  /* 3x3, one tile */
        { 0, 21, 13, 3, 9, 1, 2, 1, 0, 0, 0 }, /* 3x3 s2, partial tiles, LUT */
        { 0, 40, 100, 1, 6, 0, 1, 0, 0, 0, 0 },/* 1x1 folded, 2 C tiles */
        { 0, 17, 30, 1, 7, 0, 2, 0, 1, 0, 0 }, /* 1x1 s2 + fused add */
        { 0, 5, 4, 5, 9, 2, 1, 0, 0, 0, 0 },   /* 5x5 dense: 4 pieces */
        { 0, 3, 3, 7, 11, 3, 2, 1, 1, 1, 0 },  /* 7x7 dense s2: 9 pieces, add (res first) */
        { 1, 20, 20, 3, 8, 1, 1, 0, 0, 0, 0 }, /* depthwise 3x3 */
        { 1, 33, 33, 5, 9, 2, 2, 1, 0, 0, 0 }, /* depthwise 5x5 s2 */
        { 1, 16, 16, 7, 10, 3, 1, 0, 1, 0, 0 },/* depthwise 7x7 + add */
        { 0, 10, 300, 1, 1, 0, 1, 0, 0, 0, 0 },/* linear as 1x1 of a 1x1 map */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
}

/* Inputs larger than the 512 KiB input buffer with several pixel blocks:
 * row bands whose overlap (k - stride rows) stays on chip in the halo, so
 * every input row crosses the port once per K tile, as the cycle model
 * counts (docs/hls.md). */
Test(hls, kernel_row_bands_read_each_row_once_per_k_tile)
{
    static const ref_case cases[] = {
        { 0, 20, 64, 3, 96, 1, 1, 0, 0, 0, 1 },   /* 3x3: 3 blocks, 2-row halo, 2 K tiles */
        { 0, 7, 30, 5, 160, 2, 2, 1, 1, 0, 1 },   /* 5x5 s2: 2 blocks, 3-row halo, fused add */
        { 0, 17, 100, 1, 80, 0, 2, 0, 0, 0, 0 },  /* 1x1 s2, one block: the unused last row is read too */
        { 0, 18, 90, 1, 100, 0, 1, 0, 0, 0, 0 },  /* 1x1: 3 blocks, no halo */
        { 1, 24, 24, 3, 150, 1, 1, 0, 0, 0, 0 },  /* depthwise: planes per channel group */
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
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_KEEP;
    c.pb_slot = 5;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
    cr_assert_eq(sushi_accel_counters_get().status, ACCEL_ERR_PB, "keep of an invalid slot is an error");
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_LOAD, c.pb_rows = 2, c.pb_cols = 3, c.pb_kk = 9, c.pb_base = 1000;
    sushi_accel(NULL, NULL, box, NULL, NULL, NULL, NULL, NULL, c, NULL);
    c.op = ACCEL_OP_PB_KEEP;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
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
    sushi_accel(in, NULL, w, qp, out, acc, lut, lut, v, NULL);
    n = sushi_accel_counters_get();
    cr_assert_eq(n.pb_hit, 54);
    cr_assert_eq(n.rd_wgt, 180 - 54);
    uint8_t out2[4 * 16];
    v.pb_slot = ACCEL_PB_SLOTS;
    sushi_accel(in, NULL, w, qp, out2, acc, lut, lut, v, NULL);
    cr_assert_arr_eq(out, out2, sizeof out);
    c.op = ACCEL_OP_PB_INVALIDATE;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
    sushi_accel_counters_reset();
    c.op = ACCEL_OP_PB_KEEP;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
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
    uint64_t engine_layers, fused, host, mixed, unfused_adds, bytes_hls, bytes_model, halo_layers;
    uint64_t extra_bytes; /* the documented differences: SE vectors, int32 logits */
    uint64_t calls_hls, calls_model;
    double worst_cyc;
} totals;

/* Per-layer comparison of the last hls run of s with the model under g. */
static int g_preset = SUSHI_CYCLE_PRESET_ZCU104; /* the preset the hls instances of a test run */

static void compare_layers(sushi_backend *hb, const sushi_subnet *s, const sushi_subgraph *g, totals *t)
{
    sushi_cycle_model m;
    cr_assert_eq(sushi_cycle_model_init(&m, g_preset), SUSHI_OK);
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
        t->calls_hls += h->calls;
        t->calls_model += c->calls;
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
        t->extra_bytes += extra_in + extra_out;
        if (h->where == SUSHI_CYCLE_ENGINE || h->where == SUSHI_CYCLE_MIXED) {
            double d = fabs((double)h->cycles - (double)c->cycles_compute) / (double)c->cycles_compute;
            cr_assert(d <= 0.05, "%s: cycles %lu vs model %lu", nm, h->cycles, c->cycles_compute);
            if (d > t->worst_cyc)
                t->worst_cyc = d;
        }
        t->halo_layers += h->halo > 0;
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
    cr_assert_eq(sushi_backend_set_param(hb, "preset", g_preset), SUSHI_OK);
    cr_assert_eq(sushi_cpu_set_int8_ranges(cb, s, ranges, nr), SUSHI_OK);
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, ranges, nr), SUSHI_OK);
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
        sushi_cycle_model_init(&m, g_preset);
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
        if (pass == 2 && s->weight_bytes <= sushi_cycle_pb_bytes(&m)) /* own SubGraph, all of it in the PB */
            cr_assert_eq(hc.weight_bytes, 0);
        if (pass == 2)
            cr_assert_eq(hc.weight_bytes + hc.hit_bytes, s->weight_bytes);
        cr_log_info("%s %s resident=%d: offchip %lu B (weights %lu, act %lu), hits %lu B, %lu kernel cycles", fam,
                    cfg, pass, hc.offchip_bytes, hc.weight_bytes, hc.act_bytes, hc.hit_bytes, hc.cycles);
    }
    cr_log_info("%s %s: %lu engine, %lu fused-add, %lu mixed, %lu host layer checks; %lu adds the model fuses "
                "but the kernel cannot; %lu with row-band halos; worst cycle deviation %.4f%%; off-chip bytes "
                "over 3 passes: measured %lu = model %lu + %lu (SE vectors, int32 logits)",
                fam, cfg, t.engine_layers, t.fused, t.mixed, t.host, t.unfused_adds, t.halo_layers, t.worst_cyc * 100,
                t.bytes_hls, t.bytes_model, t.extra_bytes);
    /* kernel calls: the model's count (one per engine layer, or one per query with descriptor lists) */
    cr_assert_eq(t.calls_hls, t.calls_model, "%s %s: %lu kernel calls, model %lu", fam, cfg, t.calls_hls,
                 t.calls_model);
    if (g_preset == SUSHI_CYCLE_PRESET_ZCU104_SGS)
        cr_assert_eq(t.calls_hls, 3, "one call per query (3 runs)");
    if (!t.unfused_adds) /* whole SubNet, every pass: measured = model + the documented differences */
        cr_assert_eq(t.bytes_hls, t.bytes_model + t.extra_bytes, "%s %s: off-chip bytes %lu, model %lu + %lu documented",
                 fam, cfg, t.bytes_hls, t.bytes_model, t.extra_bytes);
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
/* the SGS engine (zcu104-sgs): one descriptor list per query, resident
 * activations, stride-aware windows, host ops on the vector path */
static void check_family_sgs(const char *fam, const char *cfg, const char *resident_cfg)
{
    g_preset = SUSHI_CYCLE_PRESET_ZCU104_SGS;
    check_family(fam, cfg, resident_cfg);
    g_preset = SUSHI_CYCLE_PRESET_ZCU104;
}
Test(hls, sgs_mbv3_min_32, .init = setup, .fini = teardown) { check_family_sgs("ofa-mbv3-w1.0", "min@32", "max@32"); }
Test(hls, sgs_mbv3_max_48, .init = setup, .fini = teardown) { check_family_sgs("ofa-mbv3-w1.0", "max@48", "min@48"); }
Test(hls, sgs_resnet50_min_32, .init = setup, .fini = teardown)
{
    check_family_sgs("ofa-resnet50", "min@32", "max@32");
}
Test(hls, sgs_mbv3_min_224, .init = setup, .fini = teardown, .timeout = 1800)
{
    check_family_sgs("ofa-mbv3-w1.0", "min@224", "max@224");
}

/* full resolution: inputs beyond the 512 KiB input buffer (row bands, K-tile re-reads) and pixel blocks */
Test(hls, mbv3_min_224, .init = setup, .fini = teardown) { check_family("ofa-mbv3-w1.0", "min@224", "max@224"); }
/* the largest practical ResNet-50 (0.96 GMACs per run in C simulation): stem at 112 x 112 in pixel blocks,
 * stage-1 inputs (256 x 56 x 56) beyond the input buffer, re-read per K tile */
Test(hls, resnet50_min_224, .init = setup, .fini = teardown, .timeout = 1800)
{
    check_family("ofa-resnet50", "min@224", "max@224");
}
/* 7.5 GMACs per run: minutes of C simulation; opt in with SUSHI_HLS_LARGE=1 */
Test(hls, resnet50_max_224_opt_in, .init = setup, .fini = teardown, .timeout = 7200)
{
    if (!getenv("SUSHI_HLS_LARGE"))
        cr_skip_test("set SUSHI_HLS_LARGE=1 to run ofa-resnet50 max@224 in C simulation");
    check_family("ofa-resnet50", "max@224", "min@224");
}

/* ---------------- the shipped Fashion-MNIST model ---------------- */

/* Candidates of the file's table are picked at test time (the file may be
 * replaced by a retrained one): fewest and most MACs, one mixed (ks, e or d
 * not uniform; MACs nearest the median of those), and the largest at the
 * smallest resolution. Expected outputs come from the cpu int8 path. */

#ifdef SUSHI_HLS_HAVE_ZLIB
#include <zlib.h>

/* First `limit` items of a gzip IDX file of bytes (dims 1 or 3); NULL when missing. */
static uint8_t *idx_read(const char *dir, const char *name, int dims, uint32_t limit, uint32_t *n, uint32_t *rows,
                         uint32_t *cols)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char h[16];
    const int hl = 4 + 4 * dims;
    uint8_t *d = NULL;
    if (gzread(f, h, (unsigned)hl) == hl && h[2] == 8 && h[3] == dims) {
        uint32_t v[3] = { 1, 1, 1 };
        for (int i = 0; i < dims; i++)
            v[i] = (uint32_t)h[4 + 4 * i] << 24 | (uint32_t)h[5 + 4 * i] << 16 | (uint32_t)h[6 + 4 * i] << 8 |
                   h[7 + 4 * i];
        *n = v[0] < limit ? v[0] : limit;
        *rows = v[1], *cols = v[2];
        size_t bytes = (size_t)*n * *rows * *cols;
        d = malloc(bytes ? bytes : 1);
        if (d && gzread(f, d, (unsigned)bytes) != (int)bytes) {
            free(d);
            d = NULL;
        }
    }
    gzclose(f);
    return d;
}
#endif

typedef struct fm_images {
    uint8_t *px, *labels;
    uint32_t n, rows, cols;
} fm_images;

/* n images of a split ("train" / "t10k"); false when the data set is not installed */
static bool fm_load(const char *split, uint32_t n, fm_images *im)
{
    memset(im, 0, sizeof *im);
#ifdef SUSHI_HLS_HAVE_ZLIB
    const char *dir = getenv("SUSHI_FMNIST_DIR") ? getenv("SUSHI_FMNIST_DIR") : "/usr/share/datasets/fashion-mnist";
    char name[64];
    uint32_t ln, lr, lc;
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", split);
    im->px = idx_read(dir, name, 3, n, &im->n, &im->rows, &im->cols);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", split);
    im->labels = idx_read(dir, name, 1, n, &ln, &lr, &lc);
    if (im->px && im->labels && ln == im->n && im->n == n)
        return true;
    free(im->px), free(im->labels);
    memset(im, 0, sizeof *im);
#else
    (void)split, (void)n;
#endif
    return false;
}

/* Inputs of s from images (resized to its resolution by sushi_input_from_u8);
 * without images: the default calibration set, then cpu_test_input seeds. */
static float *fm_inputs(const sushi_supernet *sn, const sushi_subnet *s, const fm_images *im, uint32_t n,
                        uint64_t seed)
{
    const size_t len = in_len(s);
    float *x = malloc((size_t)(n > SUSHI_HLS_CALIB_INPUTS ? n : SUSHI_HLS_CALIB_INPUTS) * len * sizeof *x);
    cr_assert_not_null(x);
    for (uint32_t i = 0; i < n; i++) {
        if (im->px)
            cr_assert_eq(sushi_input_from_u8(sn, im->px + (size_t)i * im->rows * im->cols, im->rows, im->cols, 1,
                                             s->cfg.resolution, x + i * len, len),
                         SUSHI_OK);
        else
            cpu_test_input(seed + i, x + i * len, len);
    }
    if (!im->px && seed == 0)
        cr_assert_eq(sushi_hls_calibration_inputs(s, x, (size_t)SUSHI_HLS_CALIB_INPUTS * len), SUSHI_OK);
    return x;
}

static uint32_t argmax(const float *v, uint32_t n)
{
    uint32_t b = 0;
    for (uint32_t k = 1; k < n; k++)
        b = v[k] > v[b] ? k : b;
    return b;
}

static bool cfg_mixed(const sushi_config *c)
{
    for (uint32_t i = 1; i < c->n_ks; i++)
        if (c->ks[i] != c->ks[0])
            return true;
    for (uint32_t i = 1; i < c->n_e; i++)
        if (c->e[i] != c->e[0])
            return true;
    for (uint32_t i = 1; i < c->n_d; i++)
        if (c->d[i] != c->d[0])
            return true;
    return false;
}

/* Up to 4 distinct candidate indices (see above); returns how many. */
static uint32_t pick_candidates(const sushi_supernet *sn, uint32_t *pick, const char **why)
{
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &si), SUSHI_OK);
    cr_assert_gt(si.n_candidates, 0, "the shipped model has a candidate table");
    uint64_t *macs = calloc(si.n_candidates, sizeof *macs);
    uint32_t *res = calloc(si.n_candidates, sizeof *res);
    bool *mixed = calloc(si.n_candidates, sizeof *mixed);
    uint32_t imin = 0, imax = 0, rmin = UINT32_MAX, n_mixed = 0;
    for (uint32_t i = 0; i < si.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &c), SUSHI_OK);
        macs[i] = c.macs, res[i] = c.config.resolution, mixed[i] = cfg_mixed(&c.config);
        imin = macs[i] < macs[imin] ? i : imin;
        imax = macs[i] > macs[imax] ? i : imax;
        rmin = res[i] < rmin ? res[i] : rmin;
        n_mixed += mixed[i];
    }
    uint32_t ires = UINT32_MAX, imix = UINT32_MAX;
    for (uint32_t i = 0; i < si.n_candidates; i++)
        if (res[i] == rmin && (ires == UINT32_MAX || macs[i] > macs[ires]))
            ires = i;
    if (n_mixed) { /* the mixed candidate whose MACs are nearest the median of the mixed ones */
        uint64_t *m = malloc(n_mixed * sizeof *m);
        uint32_t k = 0;
        for (uint32_t i = 0; i < si.n_candidates; i++)
            if (mixed[i])
                m[k++] = macs[i];
        for (uint32_t a = 0; a < k; a++) /* k is small: selection by counting */
            for (uint32_t b = a + 1; b < k; b++)
                if (m[b] < m[a]) {
                    uint64_t t = m[a];
                    m[a] = m[b], m[b] = t;
                }
        uint64_t med = m[k / 2];
        free(m);
        for (uint32_t i = 0; i < si.n_candidates; i++)
            if (mixed[i] && (imix == UINT32_MAX || llabs((long long)(macs[i] - med)) <
                                                          llabs((long long)(macs[imix] - med))))
                imix = i;
    }
    const uint32_t want[4] = { imin, imax, imix, ires };
    static const char *const whys[4] = { "fewest MACs", "most MACs", "mixed", "smallest resolution" };
    uint32_t n = 0;
    for (int w = 0; w < 4; w++) {
        bool dup = want[w] == UINT32_MAX;
        for (uint32_t j = 0; j < n && !dup; j++)
            dup = pick[j] == want[w];
        if (!dup) {
            why[n] = whys[w];
            pick[n++] = want[w];
        }
    }
    free(macs), free(res), free(mixed);
    return n;
}

static const char *fmnist_path(void)
{
    const char *p = getenv("SUSHI_FMNIST_MODEL");
    return p ? p : SUSHI_SRCDIR "/models/fmnist-mbv3.sushi";
}

/* Test images per SubNet (env SUSHI_HLS_FMNIST_IMAGES, default 96: 3-4 SubNets, a few hundred images in all). */
static uint32_t fm_n_images(void)
{
    const char *e = getenv("SUSHI_HLS_FMNIST_IMAGES");
    long v = e ? strtol(e, NULL, 10) : 96;
    return v > 0 && v <= 10000 ? (uint32_t)v : 96;
}

static void fmnist_check(int preset)
{
    g_preset = preset;
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_load_file(ctx, fmnist_path(), 0, &sn), SUSHI_OK, "%s", fmnist_path());
    uint32_t pick[4];
    const char *why[4];
    const uint32_t np = pick_candidates(sn, pick, why);
    const uint32_t n_img = fm_n_images(), n_cal = 64;
    fm_images test, train;
    const bool have_data = fm_load("t10k", n_img, &test) && fm_load("train", n_cal, &train);
    if (!have_data)
        cr_log_warn("Fashion-MNIST not installed: deterministic inputs instead of images");
    const uint32_t nt = have_data ? n_img : 16, nc = sn->num_classes;
    sushi_backend *cb = NULL, *hb = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &cb), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "hls", &hb), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(hb, "preset", preset), SUSHI_OK);
    sushi_candidate_info big = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, pick[1 < np ? 1 : 0], &big), SUSHI_OK);
    sushi_subnet *other = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &big.config, &other), SUSHI_OK);
    for (uint32_t p = 0; p < np; p++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, pick[p], &ci), SUSHI_OK);
        sushi_subnet *s = NULL;
        cr_assert_eq(sushi_subnet_create(sn, &ci.config, &s), SUSHI_OK);
        const size_t len = in_len(s), nr = sushi_cpu_int8_ranges_len(s);
        float *cal = fm_inputs(sn, s, have_data ? &train : &test, have_data ? n_cal : 0, 0);
        float *x = fm_inputs(sn, s, &test, nt, 1000);
        float *ranges = malloc(nr * sizeof *ranges), *oc = malloc(nc * sizeof *oc), *oh = malloc(nc * sizeof *oh);
        cr_assert_eq(sushi_cpu_calibrate_int8(s, cal, have_data ? n_cal : SUSHI_HLS_CALIB_INPUTS, ranges, nr),
                     SUSHI_OK);
        cr_assert_eq(sushi_cpu_set_int8_ranges(cb, s, ranges, nr), SUSHI_OK);
        cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, ranges, nr), SUSHI_OK);
        sushi_subgraph *own = NULL, *og = NULL;
        cr_assert_eq(sushi_subgraph_create(sn, &own), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_set_subnet(own, s), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_create(sn, &og), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_set_subnet(og, other), SUSHI_OK);
        totals t = { 0 };
        uint32_t correct = 0;
        for (uint32_t i = 0; i < nt; i++) {
            /* PB states: nothing resident (first third), another candidate's SubGraph, its own */
            const int state = (int)(3 * i / nt);
            if (i == 0 || (int)(3 * (i - 1) / nt) != state)
                cr_assert_eq(sushi_backend_set_resident(hb, state == 0 ? NULL : state == 1 ? og : own, NULL),
                             SUSHI_OK);
            sushi_run_args a = SUSHI_RUN_ARGS_INIT;
            a.input = x + (size_t)i * len, a.input_len = len, a.output = oc, a.output_len = nc, a.int8 = true;
            cr_assert_eq(sushi_backend_run(cb, s, &a, NULL), SUSHI_OK);
            a.output = oh;
            cr_assert_eq(sushi_backend_run(hb, s, &a, NULL), SUSHI_OK);
            cr_assert(memcmp(oc, oh, nc * sizeof *oc) == 0, "candidate %u (%s) image %u: hls and cpu int8 differ",
                      pick[p], why[p], i);
            correct += have_data && argmax(oh, nc) == test.labels[i];
            if (i == 0 || (int)(3 * (i + 1) / nt) != state) /* last image of a state: bytes per layer */
                compare_layers(hb, s, state == 0 ? NULL : state == 1 ? og : own, &t);
        }
        char text[1024] = "";
        sushi_config_print(&ci.config, text, sizeof text);
        cr_log_info("fmnist candidate %u (%s) r=%u %.2f MMACs: %u images bit-exact (hls = cpu int8)%s, top-1 %u/%u; "
                    "%lu engine, %lu fused, %lu mixed, %lu host layer checks, worst cycle deviation %.4f%%; "
                    "off-chip bytes of the 4 checked runs measured %lu = model %lu + %lu (SE vectors, int32 logits); %s",
                    pick[p], why[p], ci.config.resolution, ci.macs / 1e6, nt, have_data ? "" : " [synthetic]",
                    correct, have_data ? nt : 0, t.engine_layers, t.fused, t.mixed, t.host, t.worst_cyc * 100,
                    t.bytes_hls, t.bytes_model, t.extra_bytes, text);
        if (!t.unfused_adds)
            cr_assert_eq(t.bytes_hls, t.bytes_model + t.extra_bytes);
        free(cal), free(x), free(ranges), free(oc), free(oh);
        sushi_subgraph_destroy(own);
        sushi_subgraph_destroy(og);
        sushi_subnet_destroy(s);
    }
    if (have_data) {
        free(test.px), free(test.labels), free(train.px), free(train.labels);
    }
    sushi_subnet_destroy(other);
    sushi_backend_destroy(cb);
    sushi_backend_destroy(hb);
    sushi_supernet_destroy(sn);
    g_preset = SUSHI_CYCLE_PRESET_ZCU104;
}

Test(hls, fmnist_candidates_bit_exact_with_cpu_int8, .init = setup, .fini = teardown, .timeout = 1800)
{
    fmnist_check(SUSHI_CYCLE_PRESET_ZCU104);
}

/* the same on the SGS engine (zcu104-sgs): one descriptor list per image */
Test(hls, sgs_fmnist_candidates_bit_exact_with_cpu_int8, .init = setup, .fini = teardown, .timeout = 1800)
{
    fmnist_check(SUSHI_CYCLE_PRESET_ZCU104_SGS);
}

/* ---------------- int8 ranges: public API and the default calibration ---------------- */

static void run_int8(sushi_backend *b, const sushi_subnet *s, const float *x, float *y)
{
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = in_len(s), a.output = y, a.output_len = s->sn->num_classes, a.int8 = true;
    cr_assert_eq(sushi_backend_run(b, s, &a, NULL), SUSHI_OK);
}

/* A SubNet that is no candidate runs without ranges (calibrated on the
 * default calibration set), bit-identical to the cpu int8 path calibrated on
 * the same set; ranges given later take precedence and are kept per SubNet. */
static void check_ranges(sushi_supernet *sn, const char *cfg_a, const char *cfg_b)
{
    sushi_subnet *s = make_subnet(sn, cfg_a), *s2 = make_subnet(sn, cfg_b);
    cr_assert_lt(s->candidate, 0, "%s must not be a candidate (it would carry no ranges anyway)", cfg_a);
    const size_t len = in_len(s), nr = sushi_cpu_int8_ranges_len(s), nc = sn->num_classes;
    float *x = malloc(len * sizeof *x), *cal = malloc(SUSHI_HLS_CALIB_INPUTS * len * sizeof *cal);
    float *r_def = malloc(nr * sizeof *r_def), *r_own = malloc(nr * sizeof *r_own);
    float *yh = malloc(nc * sizeof *yh), *yc = malloc(nc * sizeof *yc), *y2 = malloc(nc * sizeof *y2);
    cpu_test_input(77, x, len);
    sushi_backend *hb = NULL, *cb = NULL;
    cr_assert_eq(sushi_backend_create(sn, "hls", &hb), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "cpu", &cb), SUSHI_OK);
    /* 1. no ranges anywhere: the hls backend calibrates itself */
    run_int8(hb, s, x, yh);
    cr_assert_eq(sushi_hls_calibration_inputs(s, cal, SUSHI_HLS_CALIB_INPUTS * len - 1), SUSHI_ERR_TRUNCATED);
    cr_assert_eq(sushi_hls_calibration_inputs(s, cal, SUSHI_HLS_CALIB_INPUTS * len), SUSHI_OK);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cal, SUSHI_HLS_CALIB_INPUTS, r_def, nr), SUSHI_OK);
    cr_assert_eq(sushi_cpu_set_int8_ranges(cb, s, r_def, nr), SUSHI_OK);
    run_int8(cb, s, x, yc);
    cr_assert(memcmp(yh, yc, nc * sizeof *yh) == 0, "%s: self-calibrated hls != cpu on the default set", cfg_a);
    /* 2. given ranges win, and survive runs of other SubNets (which calibrate themselves) */
    float *cal2 = malloc(2 * len * sizeof *cal2);
    cpu_test_input(300, cal2, len);
    cpu_test_input(301, cal2 + len, len);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cal2, 2, r_own, nr), SUSHI_OK);
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, r_own, nr), SUSHI_OK);
    float *x2 = malloc(in_len(s2) * sizeof *x2);
    cpu_test_input(78, x2, in_len(s2));
    run_int8(hb, s2, x2, y2);
    run_int8(hb, s, x, yh);
    cr_assert_eq(sushi_cpu_set_int8_ranges(cb, s, r_own, nr), SUSHI_OK);
    run_int8(cb, s, x, yc);
    cr_assert(memcmp(yh, yc, nc * sizeof *yh) == 0, "%s: hls with given ranges != cpu with them", cfg_a);
    /* 3. misuse */
    cr_assert_eq(sushi_hls_set_int8_ranges(cb, s, r_own, nr), SUSHI_ERR_INVALID, "a cpu instance");
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, r_own, nr - 1), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, NULL, r_own, nr), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, NULL, nr), SUSHI_ERR_INVALID);
    r_own[1] = NAN;
    cr_assert_eq(sushi_hls_set_int8_ranges(hb, s, r_own, nr), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_hls_calibration_inputs(NULL, cal, SUSHI_HLS_CALIB_INPUTS * len), SUSHI_ERR_INVALID);
    /* the set spans the normalised pixel range of the input: pixels 0 and 255 occur in channel 0 */
    float lo = INFINITY, hi = -INFINITY;
    const size_t plane = (size_t)s->cfg.resolution * s->cfg.resolution;
    for (size_t k = 0; k < SUSHI_HLS_CALIB_INPUTS; k++)
        for (size_t i = 0; i < plane; i++) {
            const float v = cal[k * len + i];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    cr_assert_float_eq(lo, (0.0f - sn->in_mean[0]) / sn->in_std[0], 1e-6);
    cr_assert_float_eq(hi, (1.0f - sn->in_mean[0]) / sn->in_std[0], 1e-6);
    free(x), free(x2), free(cal), free(cal2), free(r_def), free(r_own), free(yh), free(yc), free(y2);
    sushi_backend_destroy(hb);
    sushi_backend_destroy(cb);
    sushi_subnet_destroy(s);
    sushi_subnet_destroy(s2);
}

Test(hls, ranges_default_calibration_and_given_ranges, .init = setup, .fini = teardown)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    check_ranges(sn, "min@40", "max@32");
    sushi_supernet_destroy(sn);
    cr_assert_eq(sushi_supernet_load_file(ctx, fmnist_path(), 0, &sn), SUSHI_OK);
    /* uniform ks 5 / e 4 / d 3 is no candidate of the shipped table (which has ks 3, 7 and mixed rows) */
    sushi_config c = SUSHI_CONFIG_INIT;
    char text[1024], err[256];
    cr_assert_eq(sushi_config_extreme(sn, false, 0, &c), SUSHI_OK);
    for (uint32_t i = 0; i < c.n_ks; i++)
        c.ks[i] = 5;
    for (uint32_t i = 0; i < c.n_e; i++)
        c.e[i] = 4;
    c.ks[0] = 3; /* not uniform either */
    for (uint32_t i = 0; i < c.n_d; i++)
        c.d[i] = 3;
    cr_assert_eq(sushi_config_validate(sn, &c, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_lt(sushi_supernet_find_candidate(sn, &c), 0);
    cr_assert(sushi_config_print(&c, text, sizeof text) > 0);
    check_ranges(sn, text, "max");
    sushi_supernet_destroy(sn);
}

/* ---------------- the SGS engine on the kernel alone (docs/hls.md, "The SGS engine") ---------------- */

/* copy n bytes between activation memories with the vector path: a 1x1 max
 * pool is the identity on uint8 */
static void amem_copy(const uint8_t *src_dram, uint32_t src, uint8_t *dst_dram, uint32_t dst, uint32_t out_res,
                      uint32_t c, uint32_t x)
{
    accel_ctrl cr;
    memset(&cr, 0, sizeof cr);
    cr.op = ACCEL_OP_MAXPOOL;
    cr.c = c, cr.r = 1, cr.stride = 1, cr.x = cr.y = x;
    cr.in_src = src, cr.out_dst = dst, cr.out_res = out_res;
    sushi_accel(src_dram, NULL, NULL, NULL, dst_dram, NULL, NULL, NULL, cr, NULL);
}

/* a conv whose input, residual and output stay on chip, and stride-aware
 * window steps: outputs identical to the DRAM run, no activation bytes on
 * any port, trips divided by stride^2 */
Test(hls, kernel_sgs_resident_activations_and_stride_skip)
{
    static const struct { int dw, k, c, r, x, pad, stride; } cases[] = {
        { 0, 21, 13, 3, 20, 1, 2 }, { 0, 17, 30, 1, 14, 0, 2 }, { 1, 33, 33, 5, 18, 2, 2 }, { 0, 24, 40, 3, 12, 1, 1 },
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const uint32_t k = (uint32_t)cases[ci].k, c = (uint32_t)cases[ci].c, r = (uint32_t)cases[ci].r;
        const uint32_t x = (uint32_t)cases[ci].x, st = (uint32_t)cases[ci].stride, pad = (uint32_t)cases[ci].pad;
        const uint32_t o = (x + 2 * pad - r) / st + 1, P = o * o, row = cases[ci].dw ? r * r : c * r * r;
        uint8_t *in = malloc((size_t)c * x * x), *res = malloc((size_t)k * P);
        uint8_t *out_a = malloc((size_t)k * P), *out_b = malloc((size_t)k * P), *junk = malloc((size_t)k * P);
        int8_t *w = malloc((size_t)k * row);
        int32_t *qp = calloc((size_t)k * 4, sizeof *qp), acc[4];
        uint8_t lut[256] = { 0 }, alut[256] = { 0 };
        for (size_t i = 0; i < (size_t)c * x * x; i++)
            in[i] = (uint8_t)rnd();
        for (size_t i = 0; i < (size_t)k * P; i++)
            res[i] = (uint8_t)rnd();
        for (size_t i = 0; i < (size_t)k * row; i++)
            w[i] = (int8_t)((int32_t)(rnd() % 255) - 127);
        for (uint32_t j = 0; j < k; j++) {
            sushi_q8_quant_mult(1.0 / (200.0 * sqrt((double)row)), &qp[4 * j], &qp[4 * j + 1]);
            int64_t B = sushi_q8_quant_bias(((int)(rnd() % 200) - 100) / 10.0, qp[4 * j + 1]);
            qp[4 * j + 2] = (int32_t)(uint32_t)((uint64_t)B & 0xffffffffu);
            qp[4 * j + 3] = (int32_t)(uint32_t)((uint64_t)B >> 32);
        }
        accel_ctrl cr;
        memset(&cr, 0, sizeof cr);
        cr.op = cases[ci].dw ? ACCEL_OP_DWCONV : ACCEL_OP_CONV;
        cr.k = k, cr.c = c, cr.r = r, cr.x = cr.y = x, cr.pad = pad, cr.stride = st;
        cr.zp_in = 37, cr.zp_out = 101, cr.lo = 101, cr.pb_slot = ACCEL_PB_SLOTS;
        cr.res_en = 1, cr.add_zp_a = 90, cr.add_zp_b = 20, cr.add_zp = 128, cr.add_lo = 5;
        sushi_q8_quant_mult(0.7, &cr.add_ma, &cr.add_s);
        cr.add_mb = cr.add_ma / 3;
        /* A: everything in DRAM, every window position stepped */
        sushi_accel_counters_reset();
        sushi_accel(in, res, w, qp, out_a, acc, lut, alut, cr, NULL);
        const accel_counters a = sushi_accel_counters_get();
        cr_assert_eq(a.status, 0);
        /* B: residual in RES, input in PP0, output in PP1, stride-aware steps */
        amem_copy(res, ACCEL_MEM_DRAM, junk, ACCEL_MEM_VEC0 * 0 + ACCEL_MEM_PP1, 1, k, o);
        amem_copy(in, ACCEL_MEM_DRAM, junk, ACCEL_MEM_PP0, 0, c, x);
        cr.in_src = ACCEL_MEM_PP0, cr.out_dst = ACCEL_MEM_PP1, cr.res_src = ACCEL_MEM_RES, cr.stride_skip = 1;
        sushi_accel_counters_reset();
        sushi_accel(NULL, NULL, w, qp, NULL, acc, lut, alut, cr, NULL);
        const accel_counters b = sushi_accel_counters_get();
        cr_assert_eq(b.status, 0);
        amem_copy(NULL, ACCEL_MEM_PP1, out_b, ACCEL_MEM_DRAM, 0, k, o);
        cr_assert_eq(memcmp(out_a, out_b, (size_t)k * P), 0, "case %zu: on-chip run differs", ci);
        cr_assert_eq(a.rd_act, (uint64_t)c * x * x);
        cr_assert_eq(a.wr_act, (uint64_t)k * P);
        cr_assert_eq(b.rd_act + b.rd_res + b.wr_act, 0, "case %zu: activation bytes crossed a port", ci);
        cr_assert_eq(b.rd_wgt, a.rd_wgt);
        cr_assert_eq(b.rd_par, a.rd_par);
        cr_assert_eq(b.passes, a.passes);
        cr_assert_eq(b.trips * st * st, a.trips, "case %zu: trips %lu vs %lu", ci, b.trips, a.trips);
        free(in), free(res), free(out_a), free(out_b), free(junk), free(w), free(qp);
    }
    /* operands larger than their on-chip buffer are refused */
    accel_ctrl cr;
    memset(&cr, 0, sizeof cr);
    cr.op = ACCEL_OP_MAXPOOL, cr.c = 64, cr.r = 1, cr.stride = 1, cr.x = cr.y = 128, cr.out_dst = ACCEL_MEM_PP0;
    sushi_accel_counters_reset();
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, cr, NULL);
    cr_assert_eq(sushi_accel_counters_get().status, ACCEL_ERR_ACT);
    cr.out_dst = ACCEL_MEM_COUNT, cr.c = 1, cr.x = cr.y = 4;
    sushi_accel_counters_reset();
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, cr, NULL);
    cr_assert_eq(sushi_accel_counters_get().status, ACCEL_ERR_ACT);
}

/* The vector path (pools, GAP, ADD, SE excite) is bit-exact with the cpu int8
 * path's own functions; one trip per window step per 16-channel group. */
Test(hls, kernel_sgs_vector_path_matches_cpu_int8)
{
    const uint32_t c = 21, x = 9, groups = 2;
    uint8_t in[21 * 9 * 9], in2[21 * 9 * 9], gate[21], out_k[21 * 9 * 9], out_c[21 * 9 * 9];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)rnd(), in2[i] = (uint8_t)rnd();
    for (size_t i = 0; i < c; i++)
        gate[i] = (uint8_t)rnd();
    cpu_q8_layer q;
    memset(&q, 0, sizeof q);
    q.zp_in = 41, q.zp_in2 = 99, q.zp_rq = 120, q.lo = 3;
    sushi_q8_quant_mult(1.0 / 81, &q.gap_m, &q.gap_s);
    sushi_q8_quant_mult(1.0 / 300, &q.se_m, &q.se_s);
    sushi_q8_quant_mult(0.6, &q.add_ma, &q.add_s);
    q.add_mb = q.add_ma / 2;
    int32_t pm[10], ps[10], qtab[20];
    for (int n = 0; n < 10; n++) {
        if (n)
            sushi_q8_quant_mult(1.0 / n, &pm[n], &ps[n]);
        else
            pm[n] = ps[n] = 0;
        qtab[n] = pm[n], qtab[10 + n] = ps[n];
    }
    q.n_pool = 10, q.pool_m = pm, q.pool_s = ps;
    const uint32_t ops[] = { ACCEL_OP_MAXPOOL, ACCEL_OP_AVGPOOL, ACCEL_OP_GAP, ACCEL_OP_ADD, ACCEL_OP_EXCITE };
    for (size_t t = 0; t < 5; t++) {
        sushi_layer l;
        memset(&l, 0, sizeof l);
        l.in_c = l.out_c = c, l.in_h = l.in_w = x;
        l.kernel = ops[t] == ACCEL_OP_MAXPOOL ? 3 : 2, l.stride = 2, l.pad = ops[t] == ACCEL_OP_MAXPOOL ? 1 : 0;
        uint32_t o = x;
        if (ops[t] == ACCEL_OP_MAXPOOL)
            o = (x + 2 - 3) / 2 + 1;
        else if (ops[t] == ACCEL_OP_AVGPOOL)
            o = (x + 1) / 2; /* OFA's ceil-mode pool: the last window is clipped */
        else if (ops[t] == ACCEL_OP_GAP)
            o = 1;
        l.out_h = l.out_w = o;
        accel_ctrl cr;
        memset(&cr, 0, sizeof cr);
        cr.op = ops[t], cr.c = c, cr.x = cr.y = x, cr.r = l.kernel, cr.stride = l.stride, cr.pad = l.pad;
        cr.zp_in = q.zp_in, cr.zp_out = q.zp_rq, cr.vq_m = ops[t] == ACCEL_OP_GAP ? q.gap_m : q.se_m;
        cr.vq_s = ops[t] == ACCEL_OP_GAP ? q.gap_s : q.se_s, cr.n_pool = 10;
        cr.add_zp_a = q.zp_in, cr.add_zp_b = q.zp_in2, cr.add_ma = q.add_ma, cr.add_mb = q.add_mb;
        cr.add_s = q.add_s, cr.add_zp = q.zp_rq, cr.add_lo = q.lo;
        const uint8_t *second = ops[t] == ACCEL_OP_EXCITE ? gate : in2;
        sushi_accel_counters_reset();
        sushi_accel(in, second, NULL, qtab, out_k, NULL, NULL, NULL, cr, NULL);
        const accel_counters n = sushi_accel_counters_get();
        cr_assert_eq(n.status, 0, "op %u", ops[t]);
        switch (ops[t]) {
        case ACCEL_OP_MAXPOOL: cpu_q8_maxpool(&l, in, out_c); break;
        case ACCEL_OP_AVGPOOL: cpu_q8_avgpool(&q, &l, in, out_c); break;
        case ACCEL_OP_GAP: cpu_q8_gap(&q, &l, in, out_c); break;
        case ACCEL_OP_ADD: cpu_q8_add(&q, &l, in, in2, out_c); break;
        default: cpu_q8_se_excite(&q, &l, in, gate, out_c); break;
        }
        const size_t nout = (size_t)c * o * o;
        cr_assert_eq(memcmp(out_k, out_c, nout), 0, "op %u differs from the cpu int8 path", ops[t]);
        const uint64_t steps = ops[t] == ACCEL_OP_GAP ? x * x : o * o;
        cr_assert_eq(n.passes, groups);
        cr_assert_eq(n.trips, groups * steps, "op %u: trips %lu", ops[t], n.trips);
        cr_assert_eq(n.rd_act, (uint64_t)c * x * x * (ops[t] == ACCEL_OP_ADD ? 2 : 1) + (ops[t] == ACCEL_OP_EXCITE ? c : 0));
        cr_assert_eq(n.wr_act, nout);
    }
}
