/* supernet.h (built-in families and introspection; load/save are tested in tests/format)
 * and the candidate-table functions of subnet.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(supernet, .fini = fx_release);

static const char *const families[] = { "ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-resnet50" };

Test(supernet, builtin_name_lists_three_families_then_null)
{
    for (size_t i = 0; i < 3; i++) {
        cr_assert_not_null(sushi_supernet_builtin_name(i));
        cr_assert_str_eq(sushi_supernet_builtin_name(i), families[i]);
    }
    cr_assert_null(sushi_supernet_builtin_name(3));
    cr_assert_null(sushi_supernet_builtin_name((size_t)-1));
}

Test(supernet, builtin_unknown_name_returns_not_found)
{
    sushi_supernet *sn = (sushi_supernet *)fx_ctx();
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w2.0", 0, &sn), SUSHI_ERR_NOT_FOUND);
    cr_assert_null(sn);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "", 0, &sn), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "OFA-RESNET50", 0, &sn), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-resnet50 ", 0, &sn), SUSHI_ERR_NOT_FOUND);
}

Test(supernet, builtin_null_arguments_return_invalid)
{
    sushi_supernet *sn = (sushi_supernet *)fx_ctx();
    cr_assert_eq(sushi_supernet_builtin(NULL, "ofa-mbv3-w1.0", 0, &sn), SUSHI_ERR_INVALID);
    cr_assert_null(sn);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), NULL, 0, &sn), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 0, NULL), SUSHI_ERR_INVALID);
}

Test(supernet, destroy_null_is_noop)
{
    sushi_supernet_destroy(NULL);
}

/* Expected summary of each family (OFA's spaces). */
typedef struct fam {
    const char *name, *family;
    uint32_t n_units, n_tensors, n_ks, n_e, n_d, n_w;
} fam;

static void check_info(const sushi_supernet *sn, const fam *f, uint64_t weight_elems)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    cr_assert_eq(info.size, sizeof info);
    cr_assert_str_eq(info.name, f->name);
    cr_assert_str_eq(info.family, f->family);
    cr_assert(info.synthetic, "built-in weights are labelled synthetic");
    cr_assert_not_null(info.provenance);
    cr_assert_not_null(strstr(info.provenance, "SYNTHETIC"), "%s", info.provenance);
    cr_assert_eq(info.in_channels, 3);
    cr_assert_eq(info.num_classes, 1000);
    cr_assert_eq(info.default_resolution, 224);
    cr_assert_eq(info.n_units, f->n_units);
    cr_assert_eq(info.n_tensors, f->n_tensors);
    cr_assert_eq(info.n_ks, f->n_ks);
    cr_assert_eq(info.n_e, f->n_e);
    cr_assert_eq(info.n_d, f->n_d);
    cr_assert_eq(info.n_w, f->n_w);
    cr_assert_gt(info.n_candidates, 8);
    cr_assert_eq(info.weight_elems, weight_elems, "%llu vs independent %llu",
                 (unsigned long long)info.weight_elems, (unsigned long long)weight_elems);

    /* resolutions: ascending, multiples of 4 up to 224, OFA's four training sizes present */
    cr_assert_gt(info.n_resolutions, 4);
    bool seen128 = false, seen160 = false, seen192 = false, seen224 = false, seen_def = false;
    for (uint32_t i = 0; i < info.n_resolutions; i++) {
        uint32_t r = sushi_supernet_resolution(sn, i);
        cr_assert_gt(r, 0);
        if (i)
            cr_assert_gt(r, sushi_supernet_resolution(sn, i - 1));
        seen128 |= r == 128, seen160 |= r == 160, seen192 |= r == 192, seen224 |= r == 224;
        seen_def |= r == info.default_resolution;
    }
    cr_assert(seen128 && seen160 && seen192 && seen224 && seen_def);
    cr_assert_eq(sushi_supernet_resolution(sn, info.n_resolutions - 1), 224);
    cr_assert_eq(sushi_supernet_resolution(sn, info.n_resolutions), 0);
    cr_assert_eq(sushi_supernet_resolution(NULL, 0), 0);

    /* tensor names: one per SubGraph slot, NULL past the end */
    for (uint32_t t = 0; t < info.n_tensors; t++) {
        const char *n = sushi_supernet_tensor_name(sn, t);
        cr_assert_not_null(n);
        cr_assert_gt(strlen(n), 0);
    }
    cr_assert_null(sushi_supernet_tensor_name(sn, info.n_tensors));
    cr_assert_null(sushi_supernet_tensor_name(NULL, 0));
}

Test(supernet, get_info_mbv3_w10_fields_match_ofa_space)
{
    /* units: first_conv, 21 blocks, final_expand_layer, GAP, feature_mix_layer, classifier.
     * weight tensors: 1 + (dw + project) + 20 x (expand + 3 dw kernels + project) +
     * 12 SE blocks x 2 + final_expand + feature_mix + classifier = 130 */
    const fam f = { "ofa-mbv3-w1.0", "mbv3", 26, 130, 20, 20, 5, 0 };
    check_info(fx_mbv3(), &f, ofa_mbv3_weight_elems(1.0));
}

Test(supernet, get_info_mbv3_w12_fields_match_ofa_space)
{
    const fam f = { "ofa-mbv3-w1.2", "mbv3", 26, 130, 20, 20, 5, 0 };
    check_info(fx_mbv3_12(), &f, ofa_mbv3_weight_elems(1.2));
}

static void resnet_info_fields_match_ofa_space(void)
{
    /* units: 3 stem convs, max-pool, 18 bottlenecks, GAP, classifier.
     * weight tensors: 3 + 18 x 3 + 4 downsample convs + classifier = 62 */
    const fam f = { "ofa-resnet50", "resnet", 24, 62, 0, 18, 5, 6 };
    check_info(fx_resnet(), &f, ofa_resnet50_weight_elems());
}

Test(supernet, get_info_bad_arguments_return_invalid_or_abi)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(NULL, &info), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_get_info(fx_mbv3(), NULL), SUSHI_ERR_INVALID);
    info.size = sizeof info - 1;
    cr_assert_eq(sushi_supernet_get_info(fx_mbv3(), &info), SUSHI_ERR_ABI);
    info.size = 0;
    cr_assert_eq(sushi_supernet_get_info(fx_mbv3(), &info), SUSHI_ERR_ABI);
}

static void expect_choices(const sushi_supernet *sn, int kind, size_t slot, const double *want, int n)
{
    double v[8] = { 0 };
    int got = sushi_supernet_choices(sn, kind, slot, v, 8);
    cr_assert_eq(got, n, "kind %d slot %zu: %d choices", kind, slot, got);
    for (int i = 0; i < n; i++)
        cr_assert_float_eq(v[i], want[i], 1e-6, "kind %d slot %zu [%d]", kind, slot, i);
}

Test(supernet, choices_mbv3_every_slot_returns_ofa_choices)
{
    const sushi_supernet *sn = fx_mbv3();
    const double ks[] = { 3, 5, 7 }, e[] = { 3, 4, 6 }, d[] = { 2, 3, 4 };
    for (size_t i = 0; i < 20; i++) {
        expect_choices(sn, SUSHI_ELASTIC_KS, i, ks, 3);
        expect_choices(sn, SUSHI_ELASTIC_E, i, e, 3);
    }
    for (size_t i = 0; i < 5; i++)
        expect_choices(sn, SUSHI_ELASTIC_D, i, d, 3);
    double v[4];
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_KS, 20, v, 4), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_E, 20, v, 4), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_D, 5, v, 4), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_W, 0, v, 4), SUSHI_ERR_RANGE, "mbv3 has no width");
}

static void resnet_choices_every_slot_return_ofa_choices(void)
{
    const sushi_supernet *sn = fx_resnet();
    const double e[] = { 0.2, 0.25, 0.35 }, d[] = { 0, 1, 2 }, w[] = { 0, 1, 2 };
    for (size_t i = 0; i < 18; i++)
        expect_choices(sn, SUSHI_ELASTIC_E, i, e, 3);
    for (size_t i = 0; i < 5; i++)
        expect_choices(sn, SUSHI_ELASTIC_D, i, d, 3);
    for (size_t i = 0; i < 6; i++)
        expect_choices(sn, SUSHI_ELASTIC_W, i, w, 3);
    double v[4];
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_KS, 0, v, 4), SUSHI_ERR_RANGE, "resnet has no ks");
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_E, 18, v, 4), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_choices(sn, SUSHI_ELASTIC_W, 6, v, 4), SUSHI_ERR_RANGE);
}

Test(supernet, choices_small_cap_returns_full_count_and_writes_cap)
{
    double v[3] = { -1, -1, -1 };
    cr_assert_eq(sushi_supernet_choices(fx_mbv3(), SUSHI_ELASTIC_KS, 0, v, 1), 3);
    cr_assert_float_eq(v[0], 3.0, 1e-9);
    cr_assert_float_eq(v[1], -1.0, 1e-9, "nothing written past cap");
    cr_assert_eq(sushi_supernet_choices(fx_mbv3(), SUSHI_ELASTIC_KS, 0, NULL, 0), 3, "count query");
}

Test(supernet, choices_bad_arguments_return_invalid)
{
    double v[3];
    cr_assert_eq(sushi_supernet_choices(NULL, SUSHI_ELASTIC_KS, 0, v, 3), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_choices(fx_mbv3(), SUSHI_ELASTIC_KS, 0, NULL, 3), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_choices(fx_mbv3(), 4, 0, v, 3), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_choices(fx_mbv3(), -1, 0, v, 3), SUSHI_ERR_INVALID);
}

typedef struct unit_want {
    size_t i;
    const char *name, *kind;
    uint32_t in_max, out_max, stride;
} unit_want;

static void expect_units(const sushi_supernet *sn, const unit_want *w, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
        cr_assert_eq(sushi_supernet_unit(sn, w[k].i, &u), SUSHI_OK);
        cr_assert_eq(u.size, sizeof u);
        cr_assert_str_eq(u.name, w[k].name, "unit %zu", w[k].i);
        cr_assert_str_eq(u.kind, w[k].kind, "unit %zu", w[k].i);
        cr_assert_eq(u.in_max, w[k].in_max, "unit %zu in_max %u", w[k].i, u.in_max);
        cr_assert_eq(u.out_max, w[k].out_max, "unit %zu out_max %u", w[k].i, u.out_max);
        cr_assert_eq(u.stride, w[k].stride, "unit %zu stride %u", w[k].i, u.stride);
    }
}

Test(supernet, unit_mbv3_w10_describes_ofa_stages)
{
    /* widths make_divisible(base * 1.0, 8): 16 16 24 40 80 112 160, 960, 1280;
     * stage strides 2 2 2 1 2 on the first block of each stage */
    const unit_want w[] = {
        { 0, "first_conv", "conv", 3, 16, 2 },
        { 1, "blocks.0", "mbconv", 16, 16, 1 },
        { 2, "blocks.1", "mbconv", 16, 24, 2 },
        { 3, "blocks.2", "mbconv", 24, 24, 1 },
        { 6, "blocks.5", "mbconv", 24, 40, 2 },
        { 10, "blocks.9", "mbconv", 40, 80, 2 },
        { 14, "blocks.13", "mbconv", 80, 112, 1 },
        { 18, "blocks.17", "mbconv", 112, 160, 2 },
        { 21, "blocks.20", "mbconv", 160, 160, 1 },
        { 22, "final_expand_layer", "conv", 160, 960, 1 },
        { 23, "global_avg_pool", "gap", 0, 0, 1 },
        { 24, "feature_mix_layer", "conv", 960, 1280, 1 },
        { 25, "classifier", "linear", 1280, 1000, 1 },
    };
    const sushi_supernet *sn = fx_mbv3();
    for (size_t k = 0; k < sizeof w / sizeof w[0]; k++) {
        if (strcmp(w[k].kind, "gap") == 0) {
            sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
            cr_assert_eq(sushi_supernet_unit(sn, w[k].i, &u), SUSHI_OK);
            cr_assert_str_eq(u.name, w[k].name);
            cr_assert_str_eq(u.kind, "gap");
            continue;
        }
        expect_units(sn, &w[k], 1);
    }
}

Test(supernet, unit_mbv3_w12_widths_rounded_to_multiples_of_8)
{
    /* make_divisible(base * 1.2, 8): 16->24 (19.2 rounds to 16 < 0.9*19.2, +8),
     * 24->32 (28.8), 40->48, 80->96, 112->136 (134.4), 160->192, 960->1152, 1280->1536 */
    const unit_want w[] = {
        { 0, "first_conv", "conv", 3, 24, 2 },
        { 1, "blocks.0", "mbconv", 24, 24, 1 },
        { 2, "blocks.1", "mbconv", 24, 32, 2 },
        { 6, "blocks.5", "mbconv", 32, 48, 2 },
        { 10, "blocks.9", "mbconv", 48, 96, 2 },
        { 14, "blocks.13", "mbconv", 96, 136, 1 },
        { 18, "blocks.17", "mbconv", 136, 192, 2 },
        { 22, "final_expand_layer", "conv", 192, 1152, 1 },
        { 24, "feature_mix_layer", "conv", 1152, 1536, 1 },
        { 25, "classifier", "linear", 1536, 1000, 1 },
    };
    expect_units(fx_mbv3_12(), w, sizeof w / sizeof w[0]);
}

static void resnet_units_describe_ofa_resnet_d(void)
{
    const unit_want w[] = {
        { 0, "input_stem.0", "conv", 3, 32, 2 },
        { 1, "input_stem.1.conv", "conv", 32, 32, 1 },
        { 2, "input_stem.2", "conv", 32, 64, 1 },
        { 4, "blocks.0", "bottleneck", 64, 256, 1 },
        { 5, "blocks.1", "bottleneck", 256, 256, 1 },
        { 8, "blocks.4", "bottleneck", 256, 512, 2 },
        { 12, "blocks.8", "bottleneck", 512, 1024, 2 },
        { 17, "blocks.13", "bottleneck", 1024, 1024, 1 },
        { 18, "blocks.14", "bottleneck", 1024, 2048, 2 },
        { 21, "blocks.17", "bottleneck", 2048, 2048, 1 },
        { 23, "classifier", "linear", 2048, 1000, 1 },
    };
    const sushi_supernet *sn = fx_resnet();
    expect_units(sn, w, sizeof w / sizeof w[0]);
    sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
    cr_assert_eq(sushi_supernet_unit(sn, 3, &u), SUSHI_OK);
    cr_assert_str_eq(u.kind, "maxpool");
    cr_assert_eq(u.stride, 2);
    cr_assert_eq(sushi_supernet_unit(sn, 22, &u), SUSHI_OK);
    cr_assert_str_eq(u.kind, "gap");
}

Test(supernet, unit_out_of_range_or_bad_arguments_returns_error)
{
    sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
    cr_assert_eq(sushi_supernet_unit(fx_mbv3(), 26, &u), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_unit(fx_mbv3(), (size_t)-1, &u), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_unit(NULL, 0, &u), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_unit(fx_mbv3(), 0, NULL), SUSHI_ERR_INVALID);
    u.size = sizeof u - 1;
    cr_assert_eq(sushi_supernet_unit(fx_mbv3(), 0, &u), SUSHI_ERR_ABI);
}

/* ---------------- candidate table ---------------- */

static void check_candidates(const sushi_supernet *sn, bool fast)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    const uint32_t rs[] = { 128, 160, 192, 224 };
    bool have_min[4] = { 0 }, have_max[4] = { 0 };
    sushi_config mins[4], maxs[4];
    for (int k = 0; k < 4; k++) {
        mins[k] = cfg_extreme(sn, false, rs[k]);
        maxs[k] = cfg_extreme(sn, true, rs[k]);
    }
    for (uint32_t i = 0; i < info.n_candidates; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &ci), SUSHI_OK);
        cr_assert_eq(ci.size, sizeof ci);
        cr_assert_eq(sushi_config_validate(sn, &ci.config, NULL, 0), SUSHI_OK, "candidate %u valid", i);
        cr_assert_eq(sushi_supernet_find_candidate(sn, &ci.config), (int)i, "candidate %u unique and found", i);
        for (int k = 0; k < 4; k++) {
            have_min[k] |= sushi_config_equal(&ci.config, &mins[k]);
            have_max[k] |= sushi_config_equal(&ci.config, &maxs[k]);
        }
        /* accuracy: a documented proxy in [0, 1] */
        cr_assert_not_null(ci.accuracy_source);
        cr_assert_str_eq(ci.accuracy_source, "proxy");
        cr_assert(!isnan(ci.accuracy));
        cr_assert(ci.accuracy > 0.0 && ci.accuracy <= 1.0, "accuracy %g", ci.accuracy);
        cr_assert_not_null(ci.dataset);
        cr_assert_not_null(strstr(ci.dataset, "proxy"), "dataset says proxy: %s", ci.dataset);
        cr_assert_str_eq(ci.metric, "top1");
        cr_assert_gt(ci.macs, 0);
        cr_assert_gt(ci.params, ci.weight_bytes, "params include BN and biases");
        if (fast && i % 8 != 0)
            continue;
        /* costs equal what the SubNet of the candidate's config reports */
        sushi_subnet *s = subnet_of(sn, &ci.config);
        sushi_subnet_stats st = stats_of(s);
        cr_assert_eq(ci.macs, st.macs, "candidate %u", i);
        cr_assert_eq(ci.params, st.params, "candidate %u", i);
        cr_assert_eq(ci.weight_bytes, st.weight_bytes, "candidate %u", i);
        cr_assert_eq(st.candidate, (int32_t)i);
        cr_assert_float_eq(st.accuracy, ci.accuracy, 1e-12);
        sushi_subnet_destroy(s);
    }
    for (int k = 0; k < 4; k++) {
        cr_assert(have_min[k], "min@%u is a candidate", rs[k]);
        cr_assert(have_max[k], "max@%u is a candidate", rs[k]);
    }
}

Test(supernet, candidate_mbv3_table_has_extremes_and_consistent_costs)
{
    check_candidates(fx_mbv3(), false);
}

Test(supernet, candidate_mbv3_w12_table_has_extremes_and_consistent_costs)
{
    check_candidates(fx_mbv3_12(), false);
}


Test(supernet, candidate_proxy_accuracy_monotone_in_macs)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    for (uint32_t i = 0; i < info.n_candidates; i++) {
        for (uint32_t j = 0; j < info.n_candidates; j++) {
            sushi_candidate_info a = SUSHI_CANDIDATE_INFO_INIT, b = SUSHI_CANDIDATE_INFO_INIT;
            cr_assert_eq(sushi_supernet_candidate(sn, i, &a), SUSHI_OK);
            cr_assert_eq(sushi_supernet_candidate(sn, j, &b), SUSHI_OK);
            if (a.macs < b.macs)
                cr_assert_leq(a.accuracy, b.accuracy, "%u vs %u", i, j);
        }
    }
}

Test(supernet, candidate_out_of_range_or_bad_arguments_returns_error)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, info.n_candidates, &ci), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_supernet_candidate(NULL, 0, &ci), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_candidate(sn, 0, NULL), SUSHI_ERR_INVALID);
    ci.size = 8;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &ci), SUSHI_ERR_ABI);
}

Test(supernet, find_candidate_non_candidate_returns_minus_one)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config c = cfg_extreme(sn, true, 224);
    c.resolution = 220; /* OFA's candidates use 128/160/192/224 */
    cr_assert_eq(sushi_supernet_find_candidate(sn, &c), -1);
    cr_assert_eq(sushi_supernet_find_candidate(NULL, &c), -1);
    cr_assert_eq(sushi_supernet_find_candidate(sn, NULL), -1);
    sushi_subnet *s = subnet_of(sn, &c);
    sushi_subnet_stats st = stats_of(s);
    cr_assert_eq(st.candidate, -1);
    cr_assert(isnan(st.accuracy), "no accuracy for a non-candidate");
    sushi_subnet_destroy(s);
}

/* ---------------- synthetic weights ---------------- */

static bool same_weights(const sushi_supernet *a, const sushi_supernet *b, uint32_t *n_diff_tensors)
{
    cr_assert_eq(a->n_tensors, b->n_tensors);
    bool same = true;
    *n_diff_tensors = 0;
    for (uint32_t i = 0; i < a->n_tensors; i++) {
        const sushi_tensor *ta = &a->tensors[i], *tb = &b->tensors[i];
        cr_assert_str_eq(ta->name, tb->name);
        cr_assert_eq(ta->nelem, tb->nelem);
        cr_assert_not_null(ta->data);
        cr_assert_not_null(tb->data);
        if (memcmp(ta->data, tb->data, ta->nelem * sizeof(float)) != 0) {
            same = false;
            (*n_diff_tensors)++;
        }
    }
    return same;
}

Test(supernet, builtin_same_seed_gives_identical_weights)
{
    sushi_supernet *a = NULL, *b = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 1234, &a), SUSHI_OK);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 1234, &b), SUSHI_OK);
    cr_assert_neq(a, b);
    uint32_t nd;
    cr_assert(same_weights(a, b, &nd), "%u tensors differ", nd);
    sushi_supernet_destroy(a);
    sushi_supernet_destroy(b);
}

Test(supernet, builtin_default_seed_zero_is_deterministic)
{
    sushi_supernet *a = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 0, &a), SUSHI_OK);
    uint32_t nd;
    cr_assert(same_weights(a, fx_mbv3(), &nd), "%u tensors differ", nd);
    sushi_supernet_destroy(a);
}

Test(supernet, builtin_different_seed_gives_different_weights_same_architecture)
{
    sushi_supernet *a = NULL, *b = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 1, &a), SUSHI_OK);
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 2, &b), SUSHI_OK);
    uint32_t nd;
    cr_assert_not(same_weights(a, b, &nd));
    cr_assert_eq(nd, a->n_tensors, "every tensor differs (%u of %u)", nd, a->n_tensors);
    /* the architecture and the candidate table do not depend on the seed */
    sushi_candidate_info ca = SUSHI_CANDIDATE_INFO_INIT, cb = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(a, 17, &ca), SUSHI_OK);
    cr_assert_eq(sushi_supernet_candidate(b, 17, &cb), SUSHI_OK);
    cr_assert(sushi_config_equal(&ca.config, &cb.config));
    cr_assert_eq(ca.macs, cb.macs);
    sushi_supernet_destroy(a);
    sushi_supernet_destroy(b);
}

Test(supernet, builtin_weights_finite_and_bn_variance_positive)
{
    const sushi_supernet *sn = fx_mbv3();
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        const sushi_tensor *t = &sn->tensors[i];
        bool nonzero = false;
        for (uint64_t j = 0; j < t->nelem; j++) {
            cr_assert(isfinite(t->data[j]), "%s[%llu]", t->name, (unsigned long long)j);
            if (t->role == SUSHI_ROLE_BN_VAR)
                cr_assert_gt(t->data[j], 0.0f, "%s", t->name);
            nonzero |= t->data[j] != 0.0f;
        }
        cr_assert(nonzero, "%s is all zeros", t->name);
    }
}

Test(supernet, supernet_kept_alive_by_subnet_after_destroy)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 7, &sn), SUSHI_OK);
    sushi_config c = cfg_extreme(sn, false, 224);
    sushi_subnet *s = subnet_of(sn, &c);
    sushi_supernet_destroy(sn);
    cr_assert_eq(sushi_subnet_supernet(s), sn);
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sushi_subnet_supernet(s), &info), SUSHI_OK);
    cr_assert_str_eq(info.name, "ofa-mbv3-w1.0");
    sushi_subnet_destroy(s);
}

/* ofa-resnet50 is ~50 M synthetic floats and Criterion runs each test in a
 * fresh process: its checks share one test (one build) per file. */
Test(supernet, builtin_resnet50_info_choices_units_candidates_match_ofa, .timeout = 60)
{
    resnet_info_fields_match_ofa_space();
    resnet_choices_every_slot_return_ofa_choices();
    resnet_units_describe_ofa_resnet_d();
    check_candidates(fx_resnet(), true);
}
