/* sushi_subnet: resolution of a config into a per-layer plan. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(subnet, .fini = fx_release);

Test(subnet, create_valid_config_returns_plan_with_config_and_supernet)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config c = cfg_parse(sn, "min@160");
    sushi_subnet *s = subnet_of(sn, &c);
    cr_assert_eq(sushi_subnet_supernet(s), sn);
    const sushi_config *pc = sushi_subnet_config(s);
    cr_assert_not_null(pc);
    cr_assert(sushi_config_equal(pc, &c));
    cr_assert_eq(pc->size, sizeof *pc);
    sushi_subnet_destroy(s);
    sushi_subnet_destroy(NULL);
    cr_assert_null(sushi_subnet_config(NULL));
    cr_assert_null(sushi_subnet_supernet(NULL));
}

Test(subnet, create_null_arguments_return_invalid)
{
    sushi_config c = cfg_extreme(fx_mbv3(), true, 224);
    sushi_subnet *s = (sushi_subnet *)&c;
    cr_assert_eq(sushi_subnet_create(NULL, &c, &s), SUSHI_ERR_INVALID);
    cr_assert_null(s);
    s = (sushi_subnet *)&c;
    cr_assert_eq(sushi_subnet_create(fx_mbv3(), NULL, &s), SUSHI_ERR_INVALID);
    cr_assert_null(s);
    cr_assert_eq(sushi_subnet_create(fx_mbv3(), &c, NULL), SUSHI_ERR_INVALID);
}

Test(subnet, create_unvalidated_config_returns_config_error)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config good = cfg_extreme(sn, true, 224);
    sushi_config bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = good;
    bad[0].ks[0] = 4;
    bad[1].e[7] = 5.0f;
    bad[2].d[1] = 9;
    bad[3].resolution = 223;
    bad[4].n_ks = 3;
    bad[5].n_w = 1;
    for (int i = 0; i < 6; i++) {
        sushi_subnet *s = (sushi_subnet *)&good;
        cr_assert_eq(sushi_subnet_create(sn, &bad[i], &s), SUSHI_ERR_CONFIG, "bad[%d]", i);
        cr_assert_null(s);
    }
    /* a resnet config on an mbv3 SuperNet */
    sushi_config rc = good;
    rc.n_ks = 0, rc.n_e = 18, rc.n_w = 6;
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &rc, &s), SUSHI_ERR_CONFIG);
}

Test(subnet, create_resolution_not_allowed_returns_error_not_crash)
{
    const sushi_supernet *sn = fx_mbv3();
    const uint32_t rs[] = { 0, 1, 2, 7, 16, 31, 225, 100000, UINT32_MAX };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        sushi_config c = cfg_extreme(sn, false, 0);
        c.resolution = rs[i];
        sushi_subnet *s = NULL;
        cr_assert_eq(sushi_subnet_create(sn, &c, &s), SUSHI_ERR_CONFIG, "r = %u", rs[i]);
        cr_assert_null(s);
    }
}

/* Smallest allowed resolution: every layer keeps a positive size. */
static void smallest_resolution_keeps_positive_shapes(const sushi_supernet *const *nets, int n_nets)
{
    for (int k = 0; k < n_nets; k++) {
        uint32_t r0 = sushi_supernet_resolution(nets[k], 0);
        for (int mx = 0; mx < 2; mx++) {
            sushi_config c = cfg_extreme(nets[k], mx, r0);
            sushi_subnet *s = subnet_of(nets[k], &c);
            sushi_subnet_stats st = stats_of(s);
            for (uint32_t i = 0; i < st.n_layers; i++) {
                sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
                cr_assert_eq(sushi_subnet_layer(s, i, &l), SUSHI_OK);
                cr_assert(l.out_h >= 1 && l.out_w >= 1 && l.out_c >= 1, "%s", l.name);
            }
            sushi_subnet_destroy(s);
        }
    }
}

Test(subnet, create_smallest_resolution_keeps_positive_shapes)
{
    const sushi_supernet *nets[2] = { fx_mbv3(), fx_mbv3_12() };
    smallest_resolution_keeps_positive_shapes(nets, 2);
}

/* Tiny inputs reach the shape code through a SuperNet whose resolution list
 * is widened in place (a test-owned instance): no crash, a clean status or a
 * plan with positive shapes. */
Test(subnet, create_tiny_resolution_returns_error_or_positive_shapes)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 3, &sn), SUSHI_OK);
    const uint32_t tiny[] = { 1, 2, 3, 5 };
    for (size_t i = 0; i < 4; i++) {
        sn->res[0] = tiny[i]; /* still ascending */
        sushi_config c = cfg_extreme(sn, true, tiny[i]);
        sushi_subnet *s = NULL;
        int rc = sushi_subnet_create(sn, &c, &s);
        cr_assert(rc == SUSHI_OK || rc == SUSHI_ERR_CONFIG, "r = %u: %s", tiny[i], sushi_status_name(rc));
        if (rc == SUSHI_OK) {
            sushi_subnet_stats st = stats_of(s);
            for (uint32_t j = 0; j < st.n_layers; j++) {
                sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
                cr_assert_eq(sushi_subnet_layer(s, j, &l), SUSHI_OK);
                cr_assert(l.out_h >= 1 && l.out_w >= 1, "r = %u %s", tiny[i], l.name);
            }
            sushi_subnet_destroy(s);
        } else {
            cr_assert_null(s);
        }
    }
    sushi_supernet_destroy(sn);
}

Test(subnet, get_stats_equal_sums_of_layers)
{
    const sushi_supernet *sn = fx_mbv3();
    uint64_t rng = 5;
    for (int k = 0; k < 10; k++) {
        sushi_config c = cfg_random(sn, &rng, 192);
        sushi_subnet *s = subnet_of(sn, &c);
        sushi_subnet_stats st = stats_of(s);
        cr_assert_eq(st.size, sizeof st);
        uint64_t p = 0, m = 0, w = 0;
        for (uint32_t i = 0; i < st.n_layers; i++) {
            sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
            cr_assert_eq(sushi_subnet_layer(s, i, &l), SUSHI_OK);
            p += l.params, m += l.macs, w += l.weight_bytes;
        }
        cr_assert_eq(st.params, p);
        cr_assert_eq(st.macs, m);
        cr_assert_eq(st.weight_bytes, w);
        sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
        cr_assert_eq(sushi_subnet_layer(s, st.n_layers, &l), SUSHI_ERR_RANGE);
        sushi_subnet_destroy(s);
    }
}

Test(subnet, get_stats_bad_arguments_return_error)
{
    sushi_subnet *s = subnet_text(fx_mbv3(), "min");
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(NULL, &st), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subnet_get_stats(s, NULL), SUSHI_ERR_INVALID);
    st.size = sizeof st - 1;
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_ERR_ABI);
    sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
    cr_assert_eq(sushi_subnet_layer(NULL, 0, &l), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subnet_layer(s, 0, NULL), SUSHI_ERR_INVALID);
    l.size = 8;
    cr_assert_eq(sushi_subnet_layer(s, 0, &l), SUSHI_ERR_ABI);
    sushi_subnet_destroy(s);
}

/* Value-graph invariants of a plan: value 0 is the input; every layer reads
 * values already produced, with exactly their shapes, and writes a fresh
 * value; ADD reads two values of its own shape; the last layer is the
 * classifier. Returns a bit set of the ops seen. */
static unsigned check_plan(const sushi_subnet *s)
{
    enum { MAXV = 1024 };
    static uint32_t vc[MAXV], vh[MAXV], vw[MAXV];
    static bool defined[MAXV];
    memset(defined, 0, sizeof defined);
    const sushi_config *c = sushi_subnet_config(s);
    vc[0] = 3, vh[0] = vw[0] = c->resolution, defined[0] = true;
    sushi_subnet_stats st = stats_of(s);
    cr_assert_gt(st.n_layers, 0);
    unsigned ops = 0;
    sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
    for (uint32_t i = 0; i < st.n_layers; i++) {
        cr_assert_eq(sushi_subnet_layer(s, i, &l), SUSHI_OK);
        cr_assert_eq(l.size, sizeof l);
        cr_assert_not_null(l.name);
        cr_assert(l.op >= SUSHI_OP_CONV && l.op <= SUSHI_OP_SE, "%s op %d", l.name, l.op);
        cr_assert(l.act >= SUSHI_ACT_NONE && l.act <= SUSHI_ACT_HSIGMOID, "%s act %d", l.name, l.act);
        ops |= 1u << l.op;
        cr_assert_lt(l.input, MAXV);
        cr_assert(defined[l.input], "%s reads undefined value %u", l.name, l.input);
        cr_assert_eq(l.in_c, vc[l.input], "%s in_c %u vs producer %u", l.name, l.in_c, vc[l.input]);
        cr_assert_eq(l.in_h, vh[l.input], "%s in_h", l.name);
        cr_assert_eq(l.in_w, vw[l.input], "%s in_w", l.name);
        if (l.op == SUSHI_OP_ADD) {
            cr_assert_lt(l.input2, MAXV);
            cr_assert(defined[l.input2], "%s second input undefined", l.name);
            cr_assert_neq(l.input2, l.input);
            cr_assert_eq(vc[l.input2], l.in_c, "%s residual channels", l.name);
            cr_assert_eq(vh[l.input2], l.in_h, "%s residual height", l.name);
            cr_assert_eq(vw[l.input2], l.in_w, "%s residual width", l.name);
            cr_assert(l.out_c == l.in_c && l.out_h == l.in_h && l.out_w == l.in_w, "%s", l.name);
            cr_assert_eq(l.macs, 0);
            cr_assert_eq(l.weight_bytes, 0);
        } else {
            cr_assert_eq(l.input2, UINT32_MAX, "%s", l.name);
        }
        switch (l.op) {
        case SUSHI_OP_CONV:
        case SUSHI_OP_DWCONV: {
            uint32_t oh = (l.in_h + 2 * l.pad - l.kernel) / l.stride + 1;
            cr_assert_eq(l.pad, l.kernel / 2, "%s", l.name);
            cr_assert_eq(l.out_h, oh, "%s out_h", l.name);
            uint64_t cin = l.op == SUSHI_OP_DWCONV ? 1 : l.in_c;
            if (l.op == SUSHI_OP_DWCONV)
                cr_assert_eq(l.out_c, l.in_c, "%s", l.name);
            cr_assert_eq(l.weight_bytes, (uint64_t)l.out_c * cin * l.kernel * l.kernel, "%s", l.name);
            cr_assert_eq(l.macs, l.weight_bytes * l.out_h * l.out_w, "%s", l.name);
            cr_assert_geq(l.params, l.weight_bytes);
            break;
        }
        case SUSHI_OP_SE:
        case SUSHI_OP_MAXPOOL:
        case SUSHI_OP_AVGPOOL:
            cr_assert_eq(l.out_c, l.in_c, "%s", l.name);
            break;
        case SUSHI_OP_GAP:
            cr_assert(l.out_c == l.in_c && l.out_h == 1 && l.out_w == 1, "%s", l.name);
            cr_assert_eq(l.macs, 0);
            break;
        case SUSHI_OP_LINEAR:
            cr_assert(l.in_h == 1 && l.in_w == 1, "%s after GAP", l.name);
            cr_assert_eq(l.macs, (uint64_t)l.in_c * l.out_c);
            cr_assert_eq(l.params, (uint64_t)l.in_c * l.out_c + l.out_c, "linear has a bias");
            break;
        default:
            break;
        }
        if (l.op == SUSHI_OP_SE)
            cr_assert(l.out_h == l.in_h && l.out_w == l.in_w);
        if (l.op == SUSHI_OP_MAXPOOL || l.op == SUSHI_OP_AVGPOOL)
            cr_assert_eq(l.macs, 0);
        cr_assert_lt(l.output, MAXV);
        cr_assert_not(defined[l.output], "%s writes value %u twice", l.name, l.output);
        defined[l.output] = true;
        vc[l.output] = l.out_c, vh[l.output] = l.out_h, vw[l.output] = l.out_w;
    }
    cr_assert_eq(l.op, SUSHI_OP_LINEAR, "last layer is the classifier");
    cr_assert_eq(l.out_c, 1000);
    return ops;
}

Test(subnet, layer_mbv3_shapes_chain_and_residual_shapes_match)
{
    const sushi_supernet *sn = fx_mbv3();
    uint64_t rng = 77;
    sushi_subnet *mx = subnet_text(sn, "max"), *mn = subnet_text(sn, "min@128");
    unsigned ops = check_plan(mx);
    ops |= check_plan(mn);
    sushi_subnet_destroy(mx);
    sushi_subnet_destroy(mn);
    for (int i = 0; i < 12; i++) {
        sushi_config c = cfg_random(sn, &rng, 128 + 4 * (uint32_t)(trng(&rng) % 25));
        sushi_subnet *s = subnet_of(sn, &c);
        ops |= check_plan(s);
        sushi_subnet_destroy(s);
    }
    const unsigned want = 1u << SUSHI_OP_CONV | 1u << SUSHI_OP_DWCONV | 1u << SUSHI_OP_SE | 1u << SUSHI_OP_ADD |
                          1u << SUSHI_OP_GAP | 1u << SUSHI_OP_LINEAR;
    cr_assert_eq(ops & want, want, "mbv3 ops seen 0x%x", ops);
    cr_assert_eq(ops & (1u << SUSHI_OP_MAXPOOL | 1u << SUSHI_OP_AVGPOOL), 0, "no pooling in mbv3");
}

static void resnet_shapes_chain_and_every_op_kind_appears(void)
{
    const sushi_supernet *sn = fx_resnet();
    uint64_t rng = 78;
    sushi_subnet *mx = subnet_text(sn, "max");
    unsigned ops = check_plan(mx);
    sushi_subnet *mn = subnet_text(sn, "min@160");
    ops |= check_plan(mn);
    for (int i = 0; i < 8; i++) {
        sushi_config c = cfg_random(sn, &rng, 132 + 8 * (uint32_t)(trng(&rng) % 12)); /* odd sizes too */
        sushi_subnet *s = subnet_of(sn, &c);
        ops |= check_plan(s);
        sushi_subnet_destroy(s);
    }
    const unsigned want = 1u << SUSHI_OP_CONV | 1u << SUSHI_OP_ADD | 1u << SUSHI_OP_MAXPOOL |
                          1u << SUSHI_OP_AVGPOOL | 1u << SUSHI_OP_GAP | 1u << SUSHI_OP_LINEAR;
    cr_assert_eq(ops & want, want, "resnet ops seen 0x%x", ops);
    /* together the families use every op kind */
    sushi_subnet *m = subnet_text(fx_mbv3(), "max");
    ops |= check_plan(m);
    for (int op = SUSHI_OP_CONV; op <= SUSHI_OP_SE; op++)
        cr_assert(ops & (1u << op), "op %d never planned", op);
    sushi_subnet_destroy(m);
    sushi_subnet_destroy(mx);
    sushi_subnet_destroy(mn);
}

static bool has_layer(const sushi_subnet *s, const char *name)
{
    sushi_subnet_stats st = stats_of(s);
    for (uint32_t i = 0; i < st.n_layers; i++) {
        sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
        cr_assert_eq(sushi_subnet_layer(s, i, &l), SUSHI_OK);
        if (strcmp(l.name, name) == 0)
            return true;
    }
    return false;
}

static const sushi_layer_info *find_layer(const sushi_subnet *s, const char *name, sushi_layer_info *l)
{
    sushi_subnet_stats st = stats_of(s);
    for (uint32_t i = 0; i < st.n_layers; i++) {
        l->size = sizeof *l;
        cr_assert_eq(sushi_subnet_layer(s, i, l), SUSHI_OK);
        if (strcmp(l->name, name) == 0)
            return l;
    }
    return NULL;
}

Test(subnet, layer_mbv3_names_kinds_and_activations_follow_ofa)
{
    sushi_subnet *s = subnet_text(fx_mbv3(), "max");
    sushi_layer_info l;
    cr_assert_not_null(find_layer(s, "first_conv", &l));
    cr_assert(l.op == SUSHI_OP_CONV && l.act == SUSHI_ACT_HSWISH && l.stride == 2 && l.kernel == 3);
    cr_assert_not_null(find_layer(s, "blocks.0.conv.depth_conv", &l));
    cr_assert(l.op == SUSHI_OP_DWCONV && l.act == SUSHI_ACT_RELU && l.kernel == 3);
    cr_assert_null(find_layer(s, "blocks.0.conv.inverted_bottleneck", &l), "expand ratio 1: no expansion");
    cr_assert_not_null(find_layer(s, "blocks.1.conv.inverted_bottleneck", &l));
    cr_assert(l.op == SUSHI_OP_CONV && l.act == SUSHI_ACT_RELU && l.out_c == 96); /* 16 * 6 */
    cr_assert_not_null(find_layer(s, "blocks.1.conv.depth_conv", &l));
    cr_assert(l.kernel == 7 && l.stride == 2 && l.out_h == 56);
    cr_assert_null(find_layer(s, "blocks.1.conv.depth_conv.se", &l), "no SE in stage 1");
    cr_assert_not_null(find_layer(s, "blocks.5.conv.depth_conv.se", &l), "SE in stage 2");
    cr_assert_eq(l.op, SUSHI_OP_SE);
    /* SE of mid 144 (24 * 6): reduce to make_divisible(144 // 4, 8) = 40 */
    cr_assert_eq(l.weight_bytes, 2ull * 144 * 40);
    cr_assert_eq(l.params, 2ull * 144 * 40 + 40 + 144);
    cr_assert_not_null(find_layer(s, "blocks.9.conv.depth_conv", &l));
    cr_assert_eq(l.act, SUSHI_ACT_HSWISH, "h_swish from stage 3");
    cr_assert_not_null(find_layer(s, "blocks.1.conv.point_linear", &l));
    cr_assert_eq(l.act, SUSHI_ACT_NONE, "linear bottleneck");
    cr_assert_not_null(find_layer(s, "blocks.2.add", &l));
    cr_assert_eq(l.op, SUSHI_OP_ADD);
    cr_assert_null(find_layer(s, "blocks.1.add", &l), "stride 2: no shortcut");
    cr_assert_not_null(find_layer(s, "feature_mix_layer", &l));
    cr_assert(l.op == SUSHI_OP_CONV && l.in_h == 1 && l.act == SUSHI_ACT_HSWISH);
    cr_assert_eq(l.params, 960ull * 1280, "feature_mix_layer: no BN, no bias");
    cr_assert_not_null(find_layer(s, "classifier", &l));
    cr_assert_eq(l.op, SUSHI_OP_LINEAR);
    sushi_subnet_destroy(s);
}

/* OFA ResNet: input_stem.1 (a residual conv) runs only when d[0] is the
 * largest depth choice (input_stem_skipping = d[0] != max(depth_list)). */
static void resnet_stem_skipping_rule_follows_d0(void)
{
    const sushi_supernet *sn = fx_resnet();
    for (uint8_t d0 = 0; d0 <= 2; d0++) {
        sushi_config c = cfg_extreme(sn, true, 224);
        c.d[0] = d0;
        sushi_subnet *s = subnet_of(sn, &c);
        bool has = has_layer(s, "input_stem.1.conv");
        if (d0 == 2) {
            cr_assert(has, "d[0] = 2 runs input_stem.1");
            cr_assert(has_layer(s, "input_stem.1.conv.add"), "with its identity shortcut");
        } else {
            cr_assert_not(has, "d[0] = %u skips input_stem.1", d0);
        }
        cr_assert(has_layer(s, "input_stem.0") && has_layer(s, "input_stem.2") && has_layer(s, "max_pooling"));
        sushi_subnet_destroy(s);
    }
    /* the cost difference is exactly one 3x3 conv 32 -> 32 at 112 x 112 plus its BN */
    sushi_config a = cfg_extreme(sn, true, 224), b = a;
    b.d[0] = 1;
    sushi_subnet *sa = subnet_of(sn, &a), *sb = subnet_of(sn, &b);
    sushi_subnet_stats ta = stats_of(sa), tb = stats_of(sb);
    cr_assert_eq(ta.params - tb.params, 32ull * 32 * 9 + 64);
    cr_assert_eq(ta.macs - tb.macs, 112ull * 112 * 32 * 32 * 9);
    sushi_subnet_destroy(sa);
    sushi_subnet_destroy(sb);
}

static int first_block_of_stage_mbv3(int s) { return 1 + 4 * s; }

/* OFA depth: the first d blocks of each stage run (a prefix). */
Test(subnet, layer_mbv3_depth_prefix_rule_keeps_first_d_blocks)
{
    const sushi_supernet *sn = fx_mbv3();
    const uint8_t ds[3][5] = { { 2, 3, 4, 3, 2 }, { 4, 2, 2, 4, 3 }, { 3, 4, 3, 2, 4 } };
    for (int k = 0; k < 3; k++) {
        sushi_config c = cfg_extreme(sn, true, 224);
        memcpy(c.d, ds[k], 5);
        sushi_subnet *s = subnet_of(sn, &c);
        for (int st = 0; st < 5; st++) {
            for (int i = 0; i < 4; i++) {
                char name[64];
                snprintf(name, sizeof name, "blocks.%d.conv.depth_conv", first_block_of_stage_mbv3(st) + i);
                cr_assert_eq(has_layer(s, name), i < ds[k][st], "%s with d = %u", name, ds[k][st]);
            }
        }
        sushi_subnet_destroy(s);
    }
}

static void resnet_depth_prefix_rule_keeps_base_plus_d_blocks(void)
{
    const sushi_supernet *sn = fx_resnet();
    const int base[4] = { 2, 2, 4, 2 };
    const uint8_t ds[2][5] = { { 2, 0, 1, 2, 0 }, { 0, 2, 0, 1, 1 } };
    for (int k = 0; k < 2; k++) {
        sushi_config c = cfg_extreme(sn, false, 128);
        memcpy(c.d, ds[k], 5);
        sushi_subnet *s = subnet_of(sn, &c);
        int blk = 0;
        for (int st = 0; st < 4; st++) {
            for (int i = 0; i < base[st] + 2; i++, blk++) {
                char name[64];
                snprintf(name, sizeof name, "blocks.%d.conv2", blk);
                cr_assert_eq(has_layer(s, name), i < base[st] + ds[k][1 + st], "%s with d = %u", name,
                             ds[k][1 + st]);
            }
        }
        /* ResNet-D: the first block of stages 2-4 downsamples by avgpool + 1x1 conv */
        cr_assert(has_layer(s, "blocks.4.downsample.avg_pool"));
        cr_assert(has_layer(s, "blocks.4.downsample"));
        cr_assert_not(has_layer(s, "blocks.0.downsample.avg_pool"), "stride 1: conv only");
        cr_assert(has_layer(s, "blocks.0.downsample"), "64 -> 256 needs a projection");
        cr_assert_not(has_layer(s, "blocks.1.downsample"));
        sushi_subnet_destroy(s);
    }
}

/* Slots of inactive blocks do not change the SubNet. */
Test(subnet, create_inactive_block_slots_do_not_change_plan)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config a = cfg_extreme(sn, false, 224); /* d = 2 everywhere: slots 2, 3 of stage 0 inactive */
    sushi_config b = a;
    b.ks[2] = 7, b.e[3] = 6, b.ks[19] = 5, b.e[18] = 4;
    sushi_subnet *sa = subnet_of(sn, &a), *sb = subnet_of(sn, &b);
    sushi_subnet_stats ta = stats_of(sa), tb = stats_of(sb);
    cr_assert_eq(ta.params, tb.params);
    cr_assert_eq(ta.macs, tb.macs);
    cr_assert_eq(ta.n_layers, tb.n_layers);
    sushi_subgraph *ga = subgraph_of(sa), *gb = subgraph_of(sb);
    cr_assert(subgraph_same(ga, gb));
    /* while changing an active slot does */
    b = a, b.ks[0] = 7;
    sushi_subnet *sc = subnet_of(sn, &b);
    cr_assert_neq(stats_of(sc).params, ta.params);
    sushi_subgraph_destroy(ga);
    sushi_subgraph_destroy(gb);
    sushi_subnet_destroy(sa);
    sushi_subnet_destroy(sb);
    sushi_subnet_destroy(sc);
}

Test(subnet, get_stats_monotone_in_resolution_macs_only)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subnet *a = subnet_text(sn, "max@160"), *b = subnet_text(sn, "max@224");
    sushi_subnet_stats ta = stats_of(a), tb = stats_of(b);
    cr_assert_eq(ta.params, tb.params);
    cr_assert_eq(ta.weight_bytes, tb.weight_bytes);
    cr_assert_lt(ta.macs, tb.macs);
    sushi_subnet_destroy(a);
    sushi_subnet_destroy(b);
}

Test(subnet, create_candidate_config_reports_candidate_index)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 11, &ci), SUSHI_OK);
    sushi_subnet *s = subnet_of(sn, &ci.config);
    sushi_subnet_stats st = stats_of(s);
    cr_assert_eq(st.candidate, 11);
    cr_assert_float_eq(st.accuracy, ci.accuracy, 1e-12);
    sushi_subnet_destroy(s);
}

/* ofa-resnet50 is ~50 M synthetic floats and Criterion runs each test in a
 * fresh process: the resnet checks of this file share one test (one build). */
Test(subnet, layer_resnet50_plans_follow_ofa_resnet_d_rules, .timeout = 60)
{
    resnet_shapes_chain_and_every_op_kind_appears();
    resnet_stem_skipping_rule_follows_d0();
    resnet_depth_prefix_rule_keeps_base_plus_d_blocks();
    const sushi_supernet *nets[1] = { fx_resnet() };
    smallest_resolution_keeps_positive_shapes(nets, 1);
}
