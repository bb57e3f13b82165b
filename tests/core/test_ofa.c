/* Params / MACs / weight bytes of the built-in families against an
 * independent implementation of OFA's counting rules (ofa_ref.c) and
 * against absolute numbers worked out by hand from the same rules. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "helpers.h"

TestSuite(ofa, .fini = fx_release);

static void expect_cost(const sushi_supernet *sn, const sushi_config *c, ofa_cost want, const char *what)
{
    sushi_subnet *s = subnet_of(sn, c);
    sushi_subnet_stats st = stats_of(s);
    cr_assert_eq(st.params, want.params, "%s params: lib %llu, OFA %llu", what, (unsigned long long)st.params,
                 (unsigned long long)want.params);
    cr_assert_eq(st.macs, want.macs, "%s MACs: lib %llu, OFA %llu", what, (unsigned long long)st.macs,
                 (unsigned long long)want.macs);
    cr_assert_eq(st.weight_bytes, want.weight_bytes, "%s weight bytes: lib %llu, OFA %llu", what,
                 (unsigned long long)st.weight_bytes, (unsigned long long)want.weight_bytes);
    sushi_subnet_destroy(s);
}

Test(ofa, make_divisible_reference_matches_ofa_examples)
{
    /* sanity of the reference itself: OFA's make_divisible(v, 8) */
    cr_assert_eq(ofa_make_divisible(19.2), 24); /* 16 is < 0.9 * 19.2 */
    cr_assert_eq(ofa_make_divisible(28.8), 32);
    cr_assert_eq(ofa_make_divisible(134.4), 136);
    cr_assert_eq(ofa_make_divisible(166.4), 168);
    cr_assert_eq(ofa_make_divisible(1331.2), 1328);
    cr_assert_eq(ofa_make_divisible(3.0), 8); /* min_val */
    cr_assert_eq(ofa_make_divisible(52.0), 56); /* int(56) // 8 * 8 */
    cr_assert_eq(ofa_make_divisible(41.6), 40);
}

/* Absolute pins, computed by hand from OFA's rules (and by ofa_ref.c). */
Test(ofa, mbv3_w10_max_224_matches_ofa_numbers)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config c = cfg_extreme(sn, true, 224);
    ofa_cost ref = ofa_mbv3_cost(1.0, &c);
    /* ~7.7 M params: the MobileNetV3-Large-like maximum of OFA w1.0 */
    cr_assert_eq(ref.params, 7664760);
    cr_assert_eq(ref.macs, 566170656);
    cr_assert_eq(ref.weight_bytes, 7613280);
    expect_cost(sn, &c, ref, "mbv3 w1.0 max@224");
}

Test(ofa, mbv3_w10_min_224_matches_ofa_numbers)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_config c = cfg_extreme(sn, false, 224);
    ofa_cost ref = ofa_mbv3_cost(1.0, &c);
    cr_assert_eq(ref.params, 3410792);
    cr_assert_eq(ref.macs, 121278672);
    cr_assert_eq(ref.weight_bytes, 3395856);
    expect_cost(sn, &c, ref, "mbv3 w1.0 min@224");
}

Test(ofa, mbv3_w12_max_224_matches_ofa_numbers)
{
    const sushi_supernet *sn = fx_mbv3_12();
    sushi_config c = cfg_extreme(sn, true, 224);
    ofa_cost ref = ofa_mbv3_cost(1.2, &c);
    cr_assert_eq(ref.params, 10701632);
    cr_assert_eq(ref.macs, 843101040);
    cr_assert_eq(ref.weight_bytes, 10639344);
    expect_cost(sn, &c, ref, "mbv3 w1.2 max@224");
}

Test(ofa, mbv3_w10_random_configs_match_reference_at_many_resolutions)
{
    const sushi_supernet *sn = fx_mbv3();
    uint64_t rng = 0xC0FFEE;
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    for (int i = 0; i < 60; i++) {
        uint32_t r = sushi_supernet_resolution(sn, trng(&rng) % info.n_resolutions);
        sushi_config c = cfg_random(sn, &rng, r);
        char what[64];
        snprintf(what, sizeof what, "mbv3 w1.0 random #%d @%u", i, r);
        expect_cost(sn, &c, ofa_mbv3_cost(1.0, &c), what);
    }
    /* the extremes at every allowed resolution (odd sizes exercise ceil rounding) */
    for (uint32_t k = 0; k < info.n_resolutions; k++) {
        uint32_t r = sushi_supernet_resolution(sn, k);
        sushi_config mn = cfg_extreme(sn, false, r), mx = cfg_extreme(sn, true, r);
        expect_cost(sn, &mn, ofa_mbv3_cost(1.0, &mn), "mbv3 min");
        expect_cost(sn, &mx, ofa_mbv3_cost(1.0, &mx), "mbv3 max");
    }
}

Test(ofa, mbv3_w12_random_configs_match_reference)
{
    const sushi_supernet *sn = fx_mbv3_12();
    uint64_t rng = 12;
    const uint32_t rs[] = { 128, 160, 192, 224, 132, 212 };
    for (int i = 0; i < 24; i++) {
        sushi_config c = cfg_random(sn, &rng, rs[i % 6]);
        expect_cost(sn, &c, ofa_mbv3_cost(1.2, &c), "mbv3 w1.2 random");
    }
}

/* ResNet tests share one process per test: group the checks (generation of
 * the ~50 M synthetic weights dominates). */
Test(ofa, resnet50_extremes_and_random_configs_match_reference, .timeout = 60)
{
    const sushi_supernet *sn = fx_resnet();
    sushi_config mn = cfg_extreme(sn, false, 224), mx = cfg_extreme(sn, true, 224);
    ofa_cost rmin = ofa_resnet50_cost(&mn), rmax = ofa_resnet50_cost(&mx);
    /* the smallest OFA-ResNet50 SubNet has ~6.5 M int8 weights (DESIGN.md) */
    cr_assert_eq(rmin.weight_bytes, 6515464);
    cr_assert_eq(rmin.params, 6539280);
    cr_assert_eq(rmin.macs, 962192128);
    cr_assert_eq(rmax.params, 48105992);
    cr_assert_eq(rmax.macs, 7491643904ull);
    cr_assert_eq(rmax.weight_bytes, 48037856);
    expect_cost(sn, &mn, rmin, "resnet50 min@224");
    expect_cost(sn, &mx, rmax, "resnet50 max@224");

    uint64_t rng = 50;
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    for (int i = 0; i < 60; i++) {
        uint32_t r = sushi_supernet_resolution(sn, trng(&rng) % info.n_resolutions);
        sushi_config c = cfg_random(sn, &rng, r);
        char what[64];
        snprintf(what, sizeof what, "resnet50 random #%d @%u", i, r);
        expect_cost(sn, &c, ofa_resnet50_cost(&c), what);
    }
    /* every stem / width combination once */
    for (int d0 = 0; d0 < 3; d0++)
        for (int w0 = 0; w0 < 3; w0++)
            for (int w1 = 0; w1 < 3; w1++) {
                sushi_config c = cfg_extreme(sn, false, 160);
                c.d[0] = (uint8_t)d0, c.w[0] = (uint8_t)w0, c.w[1] = (uint8_t)w1;
                expect_cost(sn, &c, ofa_resnet50_cost(&c), "resnet50 stem");
            }
}
