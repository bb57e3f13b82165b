/* The cycle backend: hand-computed costs of small layers of every kind,
 * monotonicity, SubGraph/PB accounting, reload accounting, the calibration
 * error bound, keyed parameters and the topology CSV reader/writer.
 *
 * Hand computations use a "clean" model (clean_model()) whose parameters make
 * the arithmetic readable: 100 MHz, 6 x 128-bit read ports (96 B/cycle at
 * axi_eff 1), one write port (16 B/cycle), weight fetches at weight_eff 0.5
 * (48 B/cycle), PB reads 144 B/cycle, pixel_ii 1, 10 fill cycles per pass, no
 * double buffering, no call overhead, 8 requantisation bytes per output channel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "backends/cycle/cycle_internal.h"
#include "internal.h"
#include "sushi/cycle.h"

#ifndef SUSHI_CALIB_CSV
#error "SUSHI_CALIB_CSV must name tools/calibrate/zcu104_k16c9_calibration.csv"
#endif

static sushi_cycle_model clean_model(void)
{
    sushi_cycle_model m;
    cr_assert_eq(sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104), SUSHI_OK);
    const struct {
        const char *k;
        double v;
    } set[] = {
        { "pixel_ii", 1 }, { "pass_fill_cycles", 10 }, { "axi_eff", 1 }, { "weight_eff", 0.5 },
        { "weight_double_buffer", 0 }, { "call_overhead_us", 0 }, { "stride_input_bound", 1 }, { "dw_mode", 2 },
        { "ibuf_kib", 512 }, { "obuf_kib", 256 }, { "pb_bytes_per_cycle", 144 }, { "quant_bytes", 8 },
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        cr_assert_eq(sushi_cycle_model_set(&m, set[i].k, set[i].v), SUSHI_OK, "%s", set[i].k);
    return m;
}

static sushi_conv_shape conv(uint32_t op, uint32_t k, uint32_t c, uint32_t r, uint32_t x, uint32_t pad, uint32_t st)
{
    return (sushi_conv_shape){ .op = op, .k = k, .c = c, .r = r, .s = r, .x = x, .y = x, .pad_x = pad,
                               .pad_y = pad, .stride_x = st, .stride_y = st };
}

static sushi_layer_cost cost_of(const sushi_cycle_model *m, sushi_conv_shape sh)
{
    sushi_layer_cost c;
    cr_assert_eq(sushi_cycle_cost_conv(m, &sh, &c), SUSHI_OK);
    return c;
}

/* ------------------------------------------------------------------ */
/* hand-computed layers                                                */
/* ------------------------------------------------------------------ */

Test(cycle, conv3x3_small_layer_matches_hand_count)
{
    sushi_cycle_model m = clean_model();
    /* K32 C18, 8x8, pad 1, stride 1: out 8x8 = 64 pixels.
     * Kt = 32/16 = 2, Ct = 18/9 = 2: 4 passes of 64 steps = 256 steps;
     * compute = 256 + 4 x 10 = 296 cycles.
     * weights 32*18*9 = 5184 B, requant 8*32 = 256 B: ceil(5440/48) = 114 cycles.
     * in 18*64 = 1152 B (fits the input buffer: read once) / 96 = 12;
     * out 32*64 = 2048 B / 16 = 128: stream 128 < 296.
     * cycles = 296 + 114 = 410. */
    sushi_layer_cost c = cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1));
    cr_assert_eq(c.out_x, 8);
    cr_assert_eq(c.passes, 4);
    cr_assert_eq(c.pixel_steps, 256);
    cr_assert_eq(c.cycles_compute, 296);
    cr_assert_eq(c.cycles_weights, 114);
    cr_assert_eq(c.cycles_stream, 128);
    cr_assert_eq(c.cycles, 410);
    cr_assert_float_eq(c.latency_s, 410e-8, 1e-15);
    cr_assert_eq(c.macs, 32ull * 18 * 9 * 64);
    cr_assert_float_eq(c.utilisation, 331776.0 / (296.0 * 1296.0), 1e-9);
    cr_assert_eq(c.weight_bytes, 5184);
    cr_assert_eq(c.weight_offchip_bytes, 5184);
    cr_assert_eq(c.param_bytes, 256);
    cr_assert_eq(c.act_in_bytes, 1152);
    cr_assert_eq(c.act_out_bytes, 2048);
    cr_assert_eq(c.offchip_bytes, 5184 + 256 + 1152 + 2048);
    /* on chip: weight buffer write+read 2*5184, requant 256, input buffer
     * write 1152 + per-pass reads 4*9*64 = 2304, psum 4*64*16*4*2 = 32768,
     * output staging 2*2048 */
    cr_assert_eq(c.onchip_bytes, 10368 + 256 + 1152 + 2304 + 32768 + 4096);
    double e_off = (5184.0 + 256 + 1152 + 2048) * 8 * 15e-12;
    cr_assert_float_eq(c.energy_offchip_j, e_off, 1e-15);
    cr_assert_float_eq(c.energy_compute_j, 331776 * 0.5e-12, 1e-15);
    cr_assert_float_eq(c.energy_j, c.energy_offchip_j + c.energy_onchip_j + c.energy_compute_j, 1e-18);
}

Test(cycle, conv1x1_folds_81_input_channels_per_pass)
{
    sushi_cycle_model m = clean_model();
    /* K16 C100 4x4: 9 channels on each PE's 9 multipliers x 9 rows = 81 per
     * C tile: Ct = 2, Kt = 1: 2 passes x 16 steps; compute 32 + 20 = 52.
     * weights 1600 + 128 requant = 1728 / 48 = 36 cycles. */
    sushi_layer_cost c = cost_of(&m, conv(SUSHI_OP_CONV, 16, 100, 1, 4, 0, 1));
    cr_assert_eq(c.passes, 2);
    cr_assert_eq(c.cycles_compute, 52);
    cr_assert_eq(c.cycles_weights, 36);
    cr_assert_eq(c.cycles, 52 + 36);
    cr_assert_eq(c.macs, 16 * 100 * 16);
    /* 81 channels fit exactly one pass */
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_CONV, 16, 81, 1, 4, 0, 1)).passes, 1);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_CONV, 16, 82, 1, 4, 0, 1)).passes, 2);
}

Test(cycle, large_dense_kernels_run_as_3x3_pieces)
{
    sushi_cycle_model m = clean_model();
    /* 5x5: ceil(5/3)^2 = 4 pieces; K16 C9 6x6 pad 2: 36 pixels.
     * 4 passes x 36 = 144 steps + 40 fill = 184; weights 16*9*25 = 3600 + 128
     * = 3728 / 48 = 77.67 -> 78. */
    sushi_layer_cost c5 = cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 5, 6, 2, 1));
    cr_assert_eq(c5.out_x, 6);
    cr_assert_eq(c5.passes, 4);
    cr_assert_eq(c5.cycles_compute, 184);
    cr_assert_eq(c5.cycles_weights, 78);
    cr_assert_eq(c5.macs, 16ull * 9 * 25 * 36);
    /* 7x7: 9 pieces: 9 x 36 + 90 = 414 */
    sushi_layer_cost c7 = cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 7, 6, 3, 1));
    cr_assert_eq(c7.passes, 9);
    cr_assert_eq(c7.cycles_compute, 414);
    /* utilisation of the 7x7: 49 of 81 taps */
    cr_assert_float_eq(c7.utilisation, 16.0 * 9 * 49 * 36 / (414.0 * 1296), 1e-9);
}

Test(cycle, depthwise_uses_one_of_nine_rows)
{
    sushi_cycle_model m = clean_model();
    cr_assert_eq(sushi_cycle_model_set(&m, "pass_fill_cycles", 0), SUSHI_OK);
    /* dw 3x3, C32, 8x8 pad 1: one channel per PE column, 16 channels per
     * pass: 2 passes x 64 steps = 128 cycles; useful MACs 32*9*64; the 9
     * input-channel rows have one useful row: utilisation exactly 1/9. */
    sushi_layer_cost c3 = cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 3, 8, 1, 1));
    cr_assert_eq(c3.passes, 2);
    cr_assert_eq(c3.cycles_compute, 128);
    cr_assert_eq(c3.macs, 32 * 9 * 64);
    cr_assert_eq(c3.weight_bytes, 32 * 9);
    cr_assert_float_eq(c3.utilisation, 1.0 / 9.0, 1e-12);
    /* dw_mode 2: a 5x5's 4 pieces and a 7x7's 9 pieces sit on the column's
     * rows at once: same 2 passes, utilisation 25/81 and 49/81 */
    sushi_layer_cost c5 = cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 5, 8, 2, 1));
    sushi_layer_cost c7 = cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 7, 8, 3, 1));
    cr_assert_eq(c5.passes, 2);
    cr_assert_eq(c7.passes, 2);
    cr_assert_float_eq(c5.utilisation, 25.0 / 81.0, 1e-12);
    cr_assert_float_eq(c7.utilisation, 49.0 / 81.0, 1e-12);
    /* dw_mode 1: pieces one after another: 5x5 = 8 passes, 7x7 = 18 */
    cr_assert_eq(sushi_cycle_model_set(&m, "dw_mode", 1), SUSHI_OK);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 3, 8, 1, 1)).passes, 2);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 5, 8, 2, 1)).passes, 8);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 7, 8, 3, 1)).passes, 18);
    /* dw_mode 0: block-diagonal dense, 9 channels per pass: ceil(32/9) = 4
     * passes, 9 of 16 columns x 1 of 9 rows busy */
    cr_assert_eq(sushi_cycle_model_set(&m, "dw_mode", 0), SUSHI_OK);
    sushi_layer_cost c0 = cost_of(&m, conv(SUSHI_OP_DWCONV, 32, 32, 3, 8, 1, 1));
    cr_assert_eq(c0.passes, 4);
    cr_assert_float_eq(c0.utilisation, 32.0 * 9 * 64 / (4.0 * 64 * 1296), 1e-12);
    /* K != C is not a depthwise layer */
    sushi_conv_shape bad = conv(SUSHI_OP_DWCONV, 16, 32, 3, 8, 1, 1);
    sushi_layer_cost c;
    cr_assert_eq(sushi_cycle_cost_conv(&m, &bad, &c), SUSHI_ERR_INVALID);
}

Test(cycle, stride_two_steps_through_every_input_position)
{
    sushi_cycle_model m = clean_model();
    /* K16 C9 3x3 8x8 pad 1 stride 2: out 4x4 = 16; the window generator
     * visits 16 x 2 x 2 = 64 positions: 64 + 10 = 74 */
    sushi_layer_cost c = cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 2));
    cr_assert_eq(c.out_x, 4);
    cr_assert_eq(c.pixel_steps, 64);
    cr_assert_eq(c.cycles_compute, 74);
    cr_assert_eq(c.macs, 16 * 9 * 9 * 16);
    cr_assert_eq(c.act_out_bytes, 16 * 16);
    cr_assert_eq(sushi_cycle_model_set(&m, "stride_input_bound", 0), SUSHI_OK);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 2)).cycles_compute, 16 + 10);
    /* non-square strides */
    sushi_conv_shape sh = conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 1);
    sh.stride_y = 2;
    cr_assert_eq(sushi_cycle_model_set(&m, "stride_input_bound", 1), SUSHI_OK);
    sushi_layer_cost cy = cost_of(&m, sh);
    cr_assert_eq(cy.out_x, 8);
    cr_assert_eq(cy.out_y, 4);
    cr_assert_eq(cy.pixel_steps, 64);
}

Test(cycle, padding_changes_output_extent_not_cost_per_pixel)
{
    sushi_cycle_model m = clean_model();
    /* zero points are injected by the window generator: no extra cycles
     * beyond the extra output pixels. pad 0: 6x6 = 36 -> 46; pad 1: 64 -> 74 */
    sushi_layer_cost p0 = cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 0, 1));
    sushi_layer_cost p1 = cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 1));
    cr_assert_eq(p0.out_x, 6);
    cr_assert_eq(p0.cycles_compute, 46);
    cr_assert_eq(p1.cycles_compute, 74);
    cr_assert_eq(p0.act_in_bytes, p1.act_in_bytes);
    sushi_conv_shape sh = conv(SUSHI_OP_CONV, 16, 9, 5, 3, 0, 1);
    sushi_layer_cost c;
    cr_assert_eq(sushi_cycle_cost_conv(&m, &sh, &c), SUSHI_ERR_INVALID, "5x5 kernel on a 3x3 input");
    sh.pad_x = sh.pad_y = 1;
    cr_assert_eq(sushi_cycle_cost_conv(&m, &sh, &c), SUSHI_OK);
    sh.k = 0;
    cr_assert_eq(sushi_cycle_cost_conv(&m, &sh, &c), SUSHI_ERR_INVALID);
    sushi_conv_shape huge = conv(SUSHI_OP_CONV, 1000000, 1000000, 999, 1000000, 0, 1);
    cr_assert_eq(sushi_cycle_cost_conv(&m, &huge, &c), SUSHI_ERR_OVERFLOW);
}

Test(cycle, linear_runs_as_1x1_on_one_pixel)
{
    sushi_cycle_model m = clean_model();
    /* K10 C200: Ct = ceil(200/81) = 3, Kt = 1: 3 passes x 1 step + 30 fill;
     * weights 2000 + 80 = 2080 / 48 = 43.3 -> 44: weight-bound */
    sushi_conv_shape sh = { .op = SUSHI_OP_LINEAR, .k = 10, .c = 200, .r = 1, .s = 1, .x = 1, .y = 1,
                            .stride_x = 1, .stride_y = 1 };
    sushi_layer_cost c = cost_of(&m, sh);
    cr_assert_eq(c.passes, 3);
    cr_assert_eq(c.cycles_compute, 33);
    cr_assert_eq(c.cycles_weights, 44);
    cr_assert_eq(c.macs, 2000);
}

Test(cycle, pb_hits_are_read_at_pb_width_and_leave_dram_traffic)
{
    sushi_cycle_model m = clean_model();
    sushi_conv_shape sh = conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1);
    sh.hit_bytes = 2592; /* half of 5184 */
    sushi_layer_cost c = cost_of(&m, sh);
    cr_assert_eq(c.hit_bytes, 2592);
    cr_assert_eq(c.weight_offchip_bytes, 2592);
    /* (2592 + 256)/48 = 59.33 plus 2592/144 = 18: ceil(77.33) = 78 */
    cr_assert_eq(c.cycles_weights, 78);
    sh.hit_bytes = 1u << 30; /* clamped to the layer's weights */
    c = cost_of(&m, sh);
    cr_assert_eq(c.hit_bytes, 5184);
    cr_assert_eq(c.weight_offchip_bytes, 0);
    cr_assert_eq(c.offchip_bytes, 256 + 1152 + 2048);
}

Test(cycle, double_buffer_loads_the_next_k_tile_during_compute)
{
    sushi_cycle_model m = clean_model();
    cr_assert_eq(sushi_cycle_model_set(&m, "weight_double_buffer", 1), SUSHI_OK);
    /* the K32 C18 layer: 2 K tiles (chunks). compute 296 -> 148 per tile,
     * weights 5440/48 = 113.3 -> 114 cycles -> 57 per tile:
     * 57 (first load, exposed) + max(148, 57) + 148 = 353 */
    sushi_layer_cost c = cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1));
    cr_assert_eq(c.weight_chunks, 2);
    cr_assert_eq(c.cycles, 353);
    /* weight-bound: K64 C256 3x3 on a 2x2 map: 4 K tiles, weights
     * (147456 + 512)/48 = 3082.7 -> 3083, per tile 770.75; compute 4 x 29
     * passes x (4 + 10) = 1624, per tile 406: 770.75 + 3 x 770.75 + 406 = 3489 */
    c = cost_of(&m, conv(SUSHI_OP_CONV, 64, 256, 3, 2, 1, 1));
    cr_assert_eq(c.weight_chunks, 4);
    cr_assert_eq(c.cycles_compute, 1624);
    cr_assert_eq(c.cycles_weights, 3083);
    cr_assert_eq(c.cycles, 3489);
    /* one K tile: nothing to overlap */
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 1)).cycles,
                 cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 1)).cycles_compute +
                     cost_of(&m, conv(SUSHI_OP_CONV, 16, 9, 3, 8, 1, 1)).cycles_weights);
}

Test(cycle, buffers_too_small_cost_rereads_and_pixel_blocks)
{
    sushi_cycle_model m = clean_model();
    /* no input buffer: the input is read once per K tile (Kt = 2) */
    cr_assert_eq(sushi_cycle_model_set(&m, "ibuf_kib", 0), SUSHI_OK);
    cr_assert_eq(cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1)).act_in_bytes, 2 * 1152);
    /* psum buffer of 1 KiB: 16 ch x 64 px x 4 B = 4 KiB -> 4 pixel blocks,
     * each pass pays the fill per block: 256 + 16 x 10 */
    cr_assert_eq(sushi_cycle_model_set(&m, "obuf_kib", 1), SUSHI_OK);
    sushi_layer_cost c = cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1));
    cr_assert_eq(c.passes, 16);
    cr_assert_eq(c.cycles_compute, 256 + 160);
}

Test(cycle, host_layers_cost_time_bytes_and_energy)
{
    sushi_cycle_model m = clean_model();
    sushi_layer_cost c;
    /* zcu104 host: 2 Gop/s, 4 GB/s, 5 us per call: 1e6 ops, 1e6 + 1e6 bytes:
     * max(0.5 ms, 0.5 ms) + 5 us */
    cr_assert_eq(sushi_cycle_cost_host(&m, 1000000, 1000000, 1000000, &c), SUSHI_OK);
    cr_assert_eq(c.where, SUSHI_CYCLE_HOST);
    cr_assert_float_eq(c.latency_s, 505e-6, 1e-12);
    cr_assert_eq(c.offchip_bytes, 2000000);
    cr_assert_float_eq(c.energy_compute_j, 1e6 * 25e-12, 1e-15);
}

/* ------------------------------------------------------------------ */
/* SubNets, SubGraphs, monotonicity                                    */
/* ------------------------------------------------------------------ */

static sushi_context *g_ctx;

static sushi_supernet *builtin(const char *name)
{
    cr_assert_eq(sushi_context_create(NULL, &g_ctx), SUSHI_OK);
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(g_ctx, name, 0, &sn), SUSHI_OK);
    return sn;
}

static sushi_subnet *subnet_of(const sushi_supernet *sn, const sushi_config *c)
{
    sushi_subnet *s;
    cr_assert_eq(sushi_subnet_create(sn, c, &s), SUSHI_OK);
    return s;
}

static sushi_subnet *extreme(const sushi_supernet *sn, bool max)
{
    sushi_config c = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(sn, max, 0, &c), SUSHI_OK);
    return subnet_of(sn, &c);
}

static void check_subnet_totals(const sushi_cycle_model *m, const sushi_subnet *s, const sushi_subgraph *g)
{
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_OK);
    sushi_layer_cost *lc = calloc(st.n_layers, sizeof *lc);
    sushi_cost t = SUSHI_COST_INIT;
    cr_assert_eq(sushi_cycle_cost_subnet(m, s, g, lc, &t), SUSHI_OK);
    /* MACs and weights add up to the SubNet's own counts */
    cr_assert_eq(t.macs, st.macs);
    cr_assert_eq(t.weight_bytes + t.hit_bytes, st.weight_bytes);
    uint64_t lat_sum_ns = 0, hit = 0;
    for (uint32_t i = 0; i < st.n_layers; i++) {
        lat_sum_ns += (uint64_t)llround(lc[i].latency_s * 1e9);
        hit += lc[i].hit_bytes;
        cr_assert(lc[i].energy_j >= 0);
    }
    cr_assert_eq(hit, t.hit_bytes);
    cr_assert(fabs((double)lat_sum_ns - t.latency_s * 1e9) < st.n_layers);
    cr_assert_float_eq(t.energy_j, t.energy_offchip_j + t.energy_onchip_j + t.energy_compute_j, 1e-12);
    free(lc);
}

Test(cycle, subnet_totals_match_subnet_stats_and_subgraph_hits)
{
    const char *fams[] = { "ofa-resnet50", "ofa-mbv3-w1.0" };
    for (int f = 0; f < 2; f++) {
        sushi_supernet *sn = builtin(fams[f]);
        sushi_cycle_model m;
        sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_U50);
        sushi_subnet *lo = extreme(sn, false), *hi = extreme(sn, true);
        sushi_subgraph *g;
        cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
        check_subnet_totals(&m, hi, NULL);
        /* g = the small SubNet's weights, inside the 22 MiB PB: the model's
         * hit bytes are exactly the SubGraph algebra's */
        sushi_subgraph_set_subnet(g, lo);
        cr_assert_leq(sushi_subgraph_bytes(g), sushi_cycle_pb_bytes(&m));
        sushi_cost t = SUSHI_COST_INIT;
        cr_assert_eq(sushi_cycle_cost_subnet(&m, hi, g, NULL, &t), SUSHI_OK);
        cr_assert_eq(t.hit_bytes, sushi_subgraph_hit_bytes(g, hi));
        cr_assert_gt(t.hit_bytes, 0);
        check_subnet_totals(&m, hi, g);
        /* a SubGraph larger than the PB is truncated as sushi_subgraph_truncate does */
        sushi_subgraph_set_subnet(g, hi);
        cr_assert_eq(sushi_cycle_model_set(&m, "pb_kib", 1000), SUSHI_OK);
        cr_assert_eq(sushi_cycle_cost_subnet(&m, hi, g, NULL, &t), SUSHI_OK);
        sushi_subgraph_truncate(g, sushi_cycle_pb_bytes(&m));
        cr_assert_eq(t.hit_bytes, sushi_subgraph_hit_bytes(g, hi));
        cr_assert_leq(t.hit_bytes, 1000 * 1024);
        cr_assert_gt(t.hit_bytes, 1000 * 1024 - 16 * 2048 * 9);
        sushi_subgraph_destroy(g);
        sushi_subnet_destroy(lo);
        sushi_subnet_destroy(hi);
        sushi_supernet_destroy(sn);
        sushi_context_destroy(g_ctx);
    }
}

Test(cycle, more_pb_never_costs_more_offchip_bytes_or_time)
{
    const char *fams[] = { "ofa-resnet50", "ofa-mbv3-w1.0" };
    for (int f = 0; f < 2; f++) {
        sushi_supernet *sn = builtin(fams[f]);
        sushi_subnet *hi = extreme(sn, true);
        sushi_subgraph *g;
        cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
        sushi_subgraph_set_subnet(g, hi);
        for (int p = 0; p < SUSHI_CYCLE_PRESET_COUNT; p++) {
            sushi_cycle_model m;
            sushi_cycle_model_init(&m, p);
            sushi_cost prev = SUSHI_COST_INIT;
            for (int kib = 0; kib <= 48 * 1024; kib += 512) { /* max ofa-resnet50: 45.8 MiB */
                cr_assert_eq(sushi_cycle_model_set(&m, "pb_kib", kib), SUSHI_OK);
                sushi_cost t = SUSHI_COST_INIT;
                cr_assert_eq(sushi_cycle_cost_subnet(&m, hi, g, NULL, &t), SUSHI_OK);
                if (kib) {
                    cr_assert_leq(t.offchip_bytes, prev.offchip_bytes, "%s %d KiB", fams[f], kib);
                    cr_assert_geq(t.hit_bytes, prev.hit_bytes);
                    cr_assert_leq(t.latency_s, prev.latency_s * (1 + 1e-12));
                    cr_assert_leq(t.energy_offchip_j, prev.energy_offchip_j * (1 + 1e-12));
                } else {
                    cr_assert_eq(t.hit_bytes, 0);
                }
                prev = t;
            }
            /* a PB that holds the whole SubNet serves all its weights */
            cr_assert_eq(prev.weight_bytes, 0, "%s: %llu weight bytes still off chip", fams[f],
                         (unsigned long long)prev.weight_bytes);
        }
        sushi_subgraph_destroy(g);
        sushi_subnet_destroy(hi);
        sushi_supernet_destroy(sn);
        sushi_context_destroy(g_ctx);
    }
}

/* Raise one elastic dimension of c to its largest choice. */
static void raise_dim(const sushi_supernet *sn, sushi_config *c, int kind)
{
    double ch[SUSHI_MAX_CHOICES];
    uint32_t n = kind == SUSHI_ELASTIC_KS ? c->n_ks
                 : kind == SUSHI_ELASTIC_E ? c->n_e
                 : kind == SUSHI_ELASTIC_D ? c->n_d
                                           : c->n_w;
    for (uint32_t i = 0; i < n; i++) {
        int k = sushi_supernet_choices(sn, kind, i, ch, SUSHI_MAX_CHOICES);
        cr_assert_gt(k, 0);
        if (kind == SUSHI_ELASTIC_KS)
            c->ks[i] = (uint8_t)ch[k - 1];
        else if (kind == SUSHI_ELASTIC_E)
            c->e[i] = (float)ch[k - 1];
        else if (kind == SUSHI_ELASTIC_D)
            c->d[i] = (uint8_t)ch[k - 1];
        else
            c->w[i] = (uint8_t)(k - 1); /* width slots hold indices */
    }
}

Test(cycle, bigger_subnet_never_fewer_macs_or_cycles)
{
    const char *fams[] = { "ofa-resnet50", "ofa-mbv3-w1.0" };
    for (int f = 0; f < 2; f++) {
        sushi_supernet *sn = builtin(fams[f]);
        sushi_cycle_model m;
        sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
        sushi_config c = SUSHI_CONFIG_INIT;
        cr_assert_eq(sushi_config_extreme(sn, false, 0, &c), SUSHI_OK);
        int order[] = { SUSHI_ELASTIC_D, SUSHI_ELASTIC_KS, SUSHI_ELASTIC_E, SUSHI_ELASTIC_W };
        sushi_cost prev = SUSHI_COST_INIT;
        for (int step = 0; step <= 4; step++) {
            if (step > 0)
                raise_dim(sn, &c, order[step - 1]);
            char err[160];
            if (sushi_config_validate(sn, &c, err, sizeof err) != SUSHI_OK)
                continue; /* a dimension the family does not have */
            sushi_subnet *s = subnet_of(sn, &c);
            sushi_cost t = SUSHI_COST_INIT;
            cr_assert_eq(sushi_cycle_cost_subnet(&m, s, NULL, NULL, &t), SUSHI_OK);
            if (step > 0) {
                cr_assert_geq(t.macs, prev.macs, "%s step %d", fams[f], step);
                cr_assert_geq(t.cycles, prev.cycles, "%s step %d", fams[f], step);
                cr_assert_geq(t.weight_bytes, prev.weight_bytes);
            }
            prev = t;
            sushi_subnet_destroy(s);
        }
        sushi_supernet_destroy(sn);
        sushi_context_destroy(g_ctx);
    }
}

/* ------------------------------------------------------------------ */
/* the backend: reload accounting, parameters                          */
/* ------------------------------------------------------------------ */

Test(cycle, reload_charges_bytes_not_already_resident)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0"); /* max SubNet 7.3 MiB: fits the u50 PB */
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cycle", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(b, "preset", SUSHI_CYCLE_PRESET_U50), SUSHI_OK);
    const sushi_cycle_model *m = sushi_cycle_backend_model(b);
    cr_assert_not_null(m);
    sushi_subnet *lo = extreme(sn, false), *hi = extreme(sn, true);
    sushi_subgraph *glo, *ghi;
    sushi_subgraph_create(sn, &glo);
    sushi_subgraph_create(sn, &ghi);
    sushi_subgraph_set_subnet(glo, lo);
    sushi_subgraph_set_subnet(ghi, hi);
    uint64_t blo = sushi_subgraph_bytes(glo);

    sushi_cost r = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_set_resident(b, glo, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, blo);
    cr_assert_eq(r.weight_bytes, blo);
    cr_assert_eq(r.hit_bytes, 0);
    /* time at the long-burst DRAM rate: 0.9 x 6 x 16 B at 200 MHz + one call */
    double want = 20e-6 + ceil(blo / (0.9 * 96.0)) / 200e6;
    cr_assert_float_eq(r.latency_s, want, 1e-9);
    cr_assert_float_eq(r.energy_offchip_j, blo * 8 * 3.9e-12, 1e-12);
    /* the same SubGraph again: nothing to load */
    cr_assert_eq(sushi_backend_set_resident(b, glo, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, 0);
    cr_assert_eq(r.hit_bytes, blo);
    cr_assert_float_eq(r.latency_s, 0, 1e-15);
    /* going to the big SubNet loads only what is not resident (the small
     * SubNet's k3 depthwise tensors are not part of it: overlap < blo) */
    uint64_t overlap = sushi_subgraph_hit_bytes(glo, hi);
    cr_assert_gt(overlap, 0);
    cr_assert_lt(overlap, blo);
    cr_assert_eq(sushi_backend_set_resident(b, ghi, &r), SUSHI_OK);
    uint64_t bhi = sushi_subgraph_bytes(ghi);
    cr_assert_leq(bhi, sushi_cycle_pb_bytes(m));
    cr_assert_eq(r.offchip_bytes, bhi - overlap);
    cr_assert_eq(r.hit_bytes, overlap);
    /* back to the small one: only its k3 depthwise filters are missing */
    cr_assert_eq(sushi_backend_set_resident(b, glo, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, blo - overlap);
    /* a SubGraph inside the resident one loads nothing */
    sushi_subgraph *gmin;
    sushi_subgraph_create(sn, &gmin);
    sushi_subgraph_intersect(gmin, glo, ghi);
    cr_assert_eq(sushi_backend_set_resident(b, gmin, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, 0);
    cr_assert_eq(r.hit_bytes, overlap);
    cr_assert_eq(sushi_backend_set_resident(b, glo, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, blo - overlap);
    sushi_subgraph_destroy(gmin);
    /* the resident SubGraph serves the run; cost() uses the one it is given */
    sushi_cost run = SUSHI_COST_INIT, c = SUSHI_COST_INIT;
    sushi_run_args args = SUSHI_RUN_ARGS_INIT;
    cr_assert_eq(sushi_backend_run(b, hi, &args, &run), SUSHI_OK);
    cr_assert_eq(run.hit_bytes, sushi_subgraph_hit_bytes(glo, hi));
    cr_assert_eq(sushi_backend_cost(b, hi, NULL, &c), SUSHI_OK);
    cr_assert_eq(c.hit_bytes, 0);
    cr_assert_gt(c.latency_s, run.latency_s);
    /* evict: nothing charged, nothing resident */
    cr_assert_eq(sushi_backend_set_resident(b, NULL, &r), SUSHI_OK);
    cr_assert_eq(r.offchip_bytes, 0);
    cr_assert_eq(sushi_subgraph_bytes(sushi_cycle_backend_resident(b)), 0);
    /* more than the PB holds: truncated at tile granularity, only that is charged */
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", 2048), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_resident(b, ghi, &r), SUSHI_OK);
    cr_assert_leq(r.offchip_bytes, 2048 * 1024);
    cr_assert_eq(r.offchip_bytes, sushi_subgraph_bytes(sushi_cycle_backend_resident(b)));
    /* a smaller PB drops what no longer fits */
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", 512), SUSHI_OK);
    cr_assert_leq(sushi_subgraph_bytes(sushi_cycle_backend_resident(b)), 512 * 1024);
    sushi_subgraph_destroy(glo);
    sushi_subgraph_destroy(ghi);
    sushi_subnet_destroy(lo);
    sushi_subnet_destroy(hi);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(g_ctx);
}

Test(cycle, param_setters_check_keys_and_ranges)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cycle", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_caps(b) & SUSHI_BACKEND_CAP_COST, SUSHI_BACKEND_CAP_COST);
    double v;
    cr_assert_eq(sushi_backend_set_param(b, "no_such_knob", 1), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_backend_get_param(b, "no_such_knob", &v), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", -1), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(b, "axi_eff", 1.5), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(b, "pe_k", 16.5), SUSHI_ERR_RANGE, "integer parameter");
    cr_assert_eq(sushi_backend_set_param(b, "preset", 7), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(b, "dw_mode", 3), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", NAN), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", 1024), SUSHI_OK);
    cr_assert_eq(sushi_backend_get_param(b, "pb_kib", &v), SUSHI_OK);
    cr_assert_float_eq(v, 1024, 0);
    /* a preset reloads everything */
    cr_assert_eq(sushi_backend_set_param(b, "preset", SUSHI_CYCLE_PRESET_U50), SUSHI_OK);
    cr_assert_eq(sushi_backend_get_param(b, "freq_mhz", &v), SUSHI_OK);
    cr_assert_float_eq(v, 200, 0);
    cr_assert_eq(sushi_backend_get_param(b, "pb_kib", &v), SUSHI_OK);
    cr_assert_float_eq(v, 22528, 0);
    cr_assert_eq(sushi_backend_get_param(b, "dram_pj_bit", &v), SUSHI_OK);
    cr_assert_float_eq(v, 3.9, 1e-12);
    /* the memory type sets the energy per bit */
    cr_assert_eq(sushi_backend_set_param(b, "mem_type", SUSHI_CYCLE_MEM_LPDDR4), SUSHI_OK);
    cr_assert_eq(sushi_backend_get_param(b, "dram_pj_bit", &v), SUSHI_OK);
    cr_assert_float_eq(v, 8.0, 1e-12);
    /* every listed name is gettable, settable to its current value, described */
    for (size_t i = 0; sushi_cycle_param_name(i); i++) {
        const char *k = sushi_cycle_param_name(i);
        sushi_cycle_param_desc d;
        cr_assert_eq(sushi_cycle_param_info(k, &d), SUSHI_OK);
        cr_assert_eq(sushi_backend_get_param(b, k, &v), SUSHI_OK, "%s", k);
        cr_assert(v >= d.min && v <= d.max, "%s = %g outside [%g, %g]", k, v, d.min, d.max);
        if (strcmp(k, "preset") != 0 && strcmp(k, "mem_type") != 0)
            cr_assert_eq(sushi_backend_set_param(b, k, v), SUSHI_OK, "%s", k);
    }
    cr_assert_eq(sushi_cycle_param_info("nope", &(sushi_cycle_param_desc){ 0 }), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_cycle_preset_find("ZCU104"), SUSHI_CYCLE_PRESET_ZCU104);
    cr_assert_eq(sushi_cycle_preset_find("u50"), SUSHI_CYCLE_PRESET_U50);
    cr_assert_eq(sushi_cycle_preset_find("vck190"), -1);
    cr_assert_str_eq(sushi_cycle_preset_name(1), "u50");
    cr_assert_str_eq(sushi_cycle_preset_name(2), "zcu104-sgs");
    cr_assert_str_eq(sushi_cycle_preset_name(3), "u50-sgs");
    cr_assert_eq(sushi_cycle_preset_find("zcu104-sgs"), SUSHI_CYCLE_PRESET_ZCU104_SGS);
    cr_assert_null(sushi_cycle_preset_name(SUSHI_CYCLE_PRESET_COUNT));
    /* cost() does not change state */
    sushi_subnet *s = extreme(sn, true);
    sushi_cost c1 = SUSHI_COST_INIT, c2 = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &c1), SUSHI_OK);
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &c2), SUSHI_OK);
    cr_assert_eq(memcmp(&c1, &c2, sizeof c1), 0);
    sushi_subnet_destroy(s);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(g_ctx);
}

/* ------------------------------------------------------------------ */
/* calibration                                                         */
/* ------------------------------------------------------------------ */

typedef struct calib {
    char **lines; /* the file's lines, 1-based */
    size_t n_lines;
    const sushi_cycle_model *m;
    double meas[3], model[3];
    double worst_layer;
    int n;
} calib;

static int calib_row(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *sh)
{
    calib *k = user;
    cr_assert_lt(line, k->n_lines);
    /* column 0 is the SubNet, column 18 the measured latency (may be empty) */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", k->lines[line]);
    char *f[32];
    int nf = 0;
    for (char *p = buf, *q; nf < 32; p = q + 1) {
        f[nf++] = p;
        if (!(q = strchr(p, ',')))
            break;
        *q = '\0';
    }
    cr_assert_geq(nf, 19);
    if (!*f[18] || *f[18] == '\n' || *f[18] == '\r')
        return 0;
    int subnet = atoi(f[0]);
    cr_assert(subnet >= 0 && subnet < 3);
    double t = atof(f[18]);
    sushi_layer_cost c;
    cr_assert_eq(sushi_cycle_cost_conv(k->m, sh, &c), SUSHI_OK);
    k->meas[subnet] += t;
    k->model[subnet] += c.latency_s;
    double e = fabs(c.latency_s / t - 1);
    if (e > k->worst_layer)
        k->worst_layer = e;
    k->n++;
    (void)row;
    (void)name;
    return 0;
}

Test(cycle, zcu104_preset_reproduces_calibration_latencies)
{
    FILE *fp = fopen(SUSHI_CALIB_CSV, "r");
    cr_assert_not_null(fp, "%s", SUSHI_CALIB_CSV);
    calib k = { 0 };
    k.lines = calloc(1000, sizeof *k.lines);
    k.lines[0] = NULL;
    char buf[1024];
    k.n_lines = 1;
    while (k.n_lines < 1000 && fgets(buf, sizeof buf, fp))
        k.lines[k.n_lines++] = strdup(buf);
    fclose(fp);
    sushi_cycle_model m;
    sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
    k.m = &m;
    char err[256];
    cr_assert_eq(sushi_cycle_topology_read(SUSHI_CALIB_CSV, calib_row, &k, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(k.n, 46, "46 measured 3x3 layers");
    for (int s = 0; s < 3; s++) {
        double e = k.model[s] / k.meas[s] - 1;
        /* the bound is 15 %; the fit achieves < 1 % */
        cr_assert(fabs(e) <= 0.15, "SubNet %d: %+.2f %%", s, 100 * e);
        cr_assert(fabs(e) <= 0.02, "SubNet %d: %+.2f %% (fit drifted)", s, 100 * e);
    }
    cr_assert(k.worst_layer <= 0.10, "worst layer %.1f %%", 100 * k.worst_layer);
    for (size_t i = 1; i < k.n_lines; i++)
        free(k.lines[i]);
    free(k.lines);
}

/* ------------------------------------------------------------------ */
/* topology CSV and the per-layer CSV                                   */
/* ------------------------------------------------------------------ */

typedef struct rows {
    int n;
    sushi_conv_shape sh[8];
    char name[8][32];
    unsigned line[8];
} rows;

static int collect(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *sh)
{
    rows *r = user;
    cr_assert_eq(row, (size_t)r->n);
    r->sh[r->n] = *sh;
    snprintf(r->name[r->n], sizeof r->name[0], "%s", name ? name : "");
    r->line[r->n] = line;
    r->n++;
    return 0;
}

static int parse(const char *text, rows *r, char *err)
{
    memset(r, 0, sizeof *r);
    return sushi_cycle_topology_parse(text, strlen(text), collect, r, err, 256);
}

Test(cycle, topology_parser_reads_columns_by_name)
{
    rows r;
    char err[256];
    const char *ok = "# comment\n"
                     "\n"
                     "name,extra,stride_y,stride_x,pad_y,pad_x,Y,X,S,R,C,K,op\r\n"
                     "\"conv, first\",zz,2,2,1,1,32,32,3,3,3,16,\n"
                     "dw,,1,1,1,1,16,16,3,3,32,32,dwconv\n"
                     "  # indented comment\n"
                     "fc,,1,1,0,0,1,1,1,1,1280,1000,linear\n";
    cr_assert_eq(parse(ok, &r, err), SUSHI_OK, "%s", err);
    cr_assert_eq(r.n, 3);
    cr_assert_str_eq(r.name[0], "conv, first");
    cr_assert_eq(r.sh[0].k, 16);
    cr_assert_eq(r.sh[0].c, 3);
    cr_assert_eq(r.sh[0].stride_x, 2);
    cr_assert_eq(r.sh[0].op, SUSHI_OP_CONV);
    cr_assert_eq(r.line[0], 4);
    cr_assert_eq(r.sh[1].op, SUSHI_OP_DWCONV);
    cr_assert_eq(r.sh[2].op, SUSHI_OP_LINEAR);
    cr_assert_eq(r.line[2], 7);
    /* the groups column marks depthwise layers */
    cr_assert_eq(parse("K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y,groups\n8,8,3,3,4,4,1,1,1,1,8\n", &r, err),
                 SUSHI_OK);
    cr_assert_eq(r.sh[0].op, SUSHI_OP_DWCONV);
}

Test(cycle, topology_parser_errors_name_line_and_column)
{
    rows r;
    char err[256];
    const char *hdr = "K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y\n";
    cr_assert_eq(parse("K,C,R,S,X,Y,pad_x,pad_y,stride_x\n1,1,1,1,1,1,0,0,1\n", &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "line 1") && strstr(err, "stride_y"), "%s", err);
    char buf[512];
    snprintf(buf, sizeof buf, "%s16,9,3,3,8,8,1,1,1,1\n# c\n16,abc,3,3,8,8,1,1,1,1\n", hdr);
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "line 4") && strstr(err, "'C'") && strstr(err, "abc"), "%s", err);
    cr_assert_eq(r.n, 1, "rows before the error were delivered");
    snprintf(buf, sizeof buf, "%s16,9,3,3,8,8,1,1,0,1\n", hdr);
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "stride_x"), "%s", err);
    snprintf(buf, sizeof buf, "%s16,9,3,3,8,8,1,1,1,1,7\n", hdr);
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "line 2") && strstr(err, "fields"), "%s", err);
    snprintf(buf, sizeof buf, "%s16,9,7,7,2,2,1,1,1,1\n", hdr);
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "larger than the padded input"), "%s", err);
    snprintf(buf, sizeof buf, "%s16,9,3,3,8,8,-1,1,1,1\n", hdr);
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    snprintf(buf, sizeof buf, "K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y,op\n16,9,3,3,8,8,1,1,1,1,dwconv\n");
    cr_assert_eq(parse(buf, &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "K == C"), "%s", err);
    cr_assert_eq(parse("# only comments\n\n", &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "no header"), "%s", err);
    cr_assert_eq(parse("name,K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y\n\"open,1\n", &r, err), SUSHI_ERR_FORMAT);
    cr_assert(strstr(err, "line 2") && strstr(err, "quoted"), "%s", err);
    cr_assert_eq(sushi_cycle_topology_read("/nonexistent/layers.csv", collect, &r, err, sizeof err), SUSHI_ERR_IO);
    cr_assert(strstr(err, "/nonexistent/layers.csv"), "%s", err);
}

static int count_sink(void *user, const char *data, size_t len)
{
    size_t *lines = user;
    for (size_t i = 0; i < len; i++)
        *lines += data[i] == '\n';
    return 0;
}

static int commas(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

Test(cycle, csv_writer_rows_match_header)
{
    char hdr[1024], row[1024];
    int nh = sushi_cycle_csv_header(hdr, sizeof hdr);
    cr_assert_gt(nh, 0);
    cr_assert_lt((size_t)nh, sizeof hdr);
    sushi_cycle_model m = clean_model();
    sushi_conv_shape sh = conv(SUSHI_OP_CONV, 32, 18, 3, 8, 1, 1);
    sushi_layer_cost c = cost_of(&m, sh);
    int nr = sushi_cycle_csv_row(row, sizeof row, 3, "blocks.0.conv", &sh, &c);
    cr_assert_gt(nr, 0);
    cr_assert_eq(commas(hdr), commas(row));
    cr_assert(strncmp(row, "3,blocks.0.conv,conv,engine,32,18,3,3,8,8,1,1,1,1,8,8,1,4,256,", 62) == 0, "%s", row);
    /* snprintf rules: a short buffer gets a truncated line and the full length */
    char tiny[8];
    cr_assert_eq(sushi_cycle_csv_row(tiny, sizeof tiny, 3, "blocks.0.conv", &sh, &c), nr);
    cr_assert_eq(strlen(tiny), 7);
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = extreme(sn, true);
    size_t lines = 0;
    sushi_cycle_model z;
    sushi_cycle_model_init(&z, SUSHI_CYCLE_PRESET_ZCU104);
    cr_assert_eq(sushi_cycle_subnet_csv(&z, s, NULL, count_sink, &lines), SUSHI_OK);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_subnet_get_stats(s, &st);
    cr_assert_eq(lines, st.n_layers + 1);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(g_ctx);
}

/* ---------------- the SGS co-design engine (docs/accelerator.md section 11) ---------------- */

static sushi_cost subnet_cost(const sushi_cycle_model *m, const sushi_subnet *s, sushi_layer_cost *lc)
{
    sushi_cost t = SUSHI_COST_INIT;
    cr_assert_eq(sushi_cycle_cost_subnet(m, s, NULL, lc, &t), SUSHI_OK);
    return t;
}

Test(cycle, sgs_presets_fit_on_chip_and_leave_calibrated_presets_alone)
{
    const int base[] = { SUSHI_CYCLE_PRESET_ZCU104, SUSHI_CYCLE_PRESET_U50 };
    const int sgs[] = { SUSHI_CYCLE_PRESET_ZCU104_SGS, SUSHI_CYCLE_PRESET_U50_SGS };
    const double onchip_kib[] = { 4860, 29088 }; /* BRAM + URAM of the XCZU7EV / XCU50 */
    for (int i = 0; i < 2; i++) {
        sushi_cycle_model a, b;
        cr_assert_eq(sushi_cycle_model_init(&a, base[i]), SUSHI_OK);
        cr_assert_eq(sushi_cycle_model_init(&b, sgs[i]), SUSHI_OK);
        /* the calibrated presets have every SGS feature off */
        cr_assert_eq(a.subnet_call, 0);
        cr_assert_eq(a.act_buf_kib, 0);
        cr_assert_eq(a.res_buf_kib, 0);
        cr_assert_eq(a.stride_input_bound, 1);
        /* the SGS preset: the same datapath and fitted values, (a)-(c) on */
        cr_assert_eq(b.pixel_ii, a.pixel_ii);
        cr_assert_eq(b.weight_eff, a.weight_eff);
        cr_assert_eq(b.call_overhead_us, a.call_overhead_us);
        cr_assert_eq(b.subnet_call, 1);
        cr_assert_eq(b.stride_input_bound, 0);
        cr_assert_gt(b.act_buf_kib, 0);
        cr_assert_gt(b.res_buf_kib, 0);
        /* buffers: PB + 2 activation halves + residual take no more than the PB of the base preset */
        cr_assert_leq(b.pb_kib + 2 * b.act_buf_kib + b.res_buf_kib, a.pb_kib);
        const double engine = 2 * b.wbuf_entries * b.wbuf_entry_bytes / 1024 + b.ibuf_kib + b.obuf_kib;
        cr_assert_leq(engine + b.pb_kib + 2 * b.act_buf_kib + b.res_buf_kib, onchip_kib[i]);
        double v;
        sushi_cycle_model c = a;
        cr_assert_eq(sushi_cycle_model_set(&c, "preset", sgs[i]), SUSHI_OK);
        cr_assert_eq(memcmp(&c, &b, sizeof c), 0);
        cr_assert_eq(sushi_cycle_model_get(&b, "act_buf_kib", &v), SUSHI_OK);
        cr_assert_eq(v, b.act_buf_kib);
        cr_assert_eq(sushi_cycle_model_set(&c, "subnet_call", 0.5), SUSHI_ERR_RANGE);
        cr_assert_eq(sushi_cycle_model_set(&c, "act_buf_kib", -1), SUSHI_ERR_RANGE);
        cr_assert_eq(sushi_cycle_model_set(&c, "res_buf_kib", NAN), SUSHI_ERR_RANGE);
    }
}

Test(cycle, subnet_call_pays_one_call_per_query)
{
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = extreme(sn, false);
    sushi_cycle_model m;
    sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
    const uint32_t n = s->n_layers;
    sushi_layer_cost *la = calloc(n, sizeof *la), *lb = calloc(n, sizeof *lb);
    const sushi_cost a = subnet_cost(&m, s, la);
    cr_assert_eq(sushi_cycle_model_set(&m, "subnet_call", 1), SUSHI_OK);
    const sushi_cost b = subnet_cost(&m, s, lb);
    uint32_t calls_a = 0, calls_b = 0, host_a = 0;
    double dt = 0;
    for (uint32_t i = 0; i < n; i++) {
        calls_a += la[i].calls;
        calls_b += lb[i].calls;
        host_a += la[i].where == SUSHI_CYCLE_HOST;
        cr_assert_neq(lb[i].where, SUSHI_CYCLE_HOST, "layer %u on the host in a descriptor list", i);
        if (la[i].where == SUSHI_CYCLE_ENGINE) /* engine layers: the same cycles, one call overhead less */
            cr_assert_eq(lb[i].cycles, la[i].cycles);
        else
            dt += la[i].latency_s - lb[i].latency_s; /* host layers moved to the vector path */
    }
    cr_assert_gt(calls_a, 30);
    cr_assert_gt(host_a, 0);
    cr_assert_eq(calls_b, 1);
    cr_assert_eq(lb[0].calls, 1);
    /* latency: (calls - 1) overheads saved plus the host layers' difference */
    cr_assert_float_eq(a.latency_s - b.latency_s, (calls_a - 1) * m.call_overhead_us * 1e-6 + dt, 1e-12);
    /* without resident activations the bytes do not change (ResNet-50 has no SE) */
    cr_assert_eq(b.offchip_bytes, a.offchip_bytes);
    cr_assert_eq(b.act_bytes, a.act_bytes);
    free(la), free(lb);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(g_ctx);
}

Test(cycle, resident_activations_leave_dram_and_are_accounted_on_chip)
{
    const char *fams[] = { "ofa-resnet50", "ofa-mbv3-w1.0" };
    for (int f = 0; f < 2; f++) {
        sushi_supernet *sn = builtin(fams[f]);
        sushi_config cfg = SUSHI_CONFIG_INIT;
        cr_assert_eq(sushi_config_extreme(sn, false, 0, &cfg), SUSHI_OK);
        cfg.resolution = f ? 128 : 160;
        sushi_subnet *s = subnet_of(sn, &cfg);
        sushi_cycle_model m;
        sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104_SGS);
        cr_assert_eq(sushi_cycle_model_set(&m, "act_buf_kib", 0), SUSHI_OK);
        const sushi_cost off = subnet_cost(&m, s, NULL);
        cr_assert_eq(sushi_cycle_model_set(&m, "act_buf_kib", 256), SUSHI_OK);
        const sushi_cost mid = subnet_cost(&m, s, NULL);
        cr_assert_eq(sushi_cycle_model_set(&m, "act_buf_kib", 1e6), SUSHI_OK);
        cr_assert_eq(sushi_cycle_model_set(&m, "res_buf_kib", 1e6), SUSHI_OK);
        const sushi_cost all = subnet_cost(&m, s, NULL);
        /* weights and requantisation data do not move; activations only shrink */
        cr_assert_eq(mid.weight_bytes, off.weight_bytes);
        cr_assert_eq(all.weight_bytes, off.weight_bytes);
        cr_assert_lt(mid.act_bytes, off.act_bytes);
        cr_assert_leq(all.act_bytes, mid.act_bytes);
        cr_assert_eq(off.offchip_bytes - off.act_bytes, all.offchip_bytes - all.act_bytes);
        /* what leaves DRAM is read and written on chip instead */
        cr_assert_gt(all.onchip_bytes, off.onchip_bytes);
        cr_assert_float_eq(all.energy_offchip_j, (double)all.offchip_bytes * 8 * m.dram_pj_bit * 1e-12, 1e-15);
        cr_assert_leq(all.latency_s, off.latency_s);
        /* the input image and the logits always cross DRAM; with unbounded
         * buffers at least half the values stay on chip (the rest: outputs of
         * convs fused with their ADD, which never exist, and values whose
         * consumers the single residual buffer cannot serve) */
        uint8_t *place = calloc(s->n_values, 1);
        cycle_act_plan(&m, s, place);
        uint64_t dram_vals = 0;
        for (uint32_t v = 0; v < s->n_values; v++)
            dram_vals += place[v] == CYCLE_ACT_DRAM;
        cr_assert_lt(dram_vals, s->n_values / 2, "%s: %lu of %u values in DRAM", fams[f], dram_vals, s->n_values);
        cr_assert_eq(place[0], CYCLE_ACT_DRAM);
        cr_assert_eq(place[s->output_value], CYCLE_ACT_DRAM);
        /* without the descriptor list nothing is resident */
        cr_assert_eq(sushi_cycle_model_set(&m, "subnet_call", 0), SUSHI_OK);
        cycle_act_plan(&m, s, place);
        for (uint32_t v = 0; v < s->n_values; v++)
            cr_assert_eq(place[v], CYCLE_ACT_DRAM);
        free(place);
        sushi_subnet_destroy(s);
        sushi_supernet_destroy(sn);
        sushi_context_destroy(g_ctx);
    }
}

Test(cycle, stride_aware_windows_step_only_kept_outputs)
{
    sushi_cycle_model m = clean_model();
    sushi_layer_cost a = cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 16, 1, 2));
    cr_assert_eq(sushi_cycle_model_set(&m, "stride_input_bound", 0), SUSHI_OK);
    sushi_layer_cost b = cost_of(&m, conv(SUSHI_OP_CONV, 32, 18, 3, 16, 1, 2));
    /* 8 x 8 outputs, 2 K tiles x 2 C tiles = 4 passes: 4 x 64 x 4 steps vs 4 x 64 */
    cr_assert_eq(a.pixel_steps, 4 * 64 * 4);
    cr_assert_eq(b.pixel_steps, 4 * 64);
    cr_assert_eq(b.macs, a.macs);
    cr_assert_eq(b.offchip_bytes, a.offchip_bytes);
    cr_assert_lt(b.cycles_compute, a.cycles_compute);
}
