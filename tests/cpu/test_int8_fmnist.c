/* int8 vs float32 top-1 agreement on the shipped Fashion-MNIST SuperNet
 * (docs/int8.md, "Accuracy"). The target is 99 % on the 10,000 test images,
 * measured by bench/cpu/int8_agree over every candidate (docs/int8.md §10).
 * This CI test guards against regressions on a 1,000-image subset with a
 * 98 % floor: the subset's sampling error is ~0.3 points and the cheapest
 * resolution-24 SubNet gives 98.6 % on it (and >= 99 % on all 10,000), so a
 * 99 % bar on the subset would fail on sampling error alone.
 *
 * The SubNets are picked from the file's candidate table when the test runs:
 * the one with the most MACs and the one with the fewest MACs at each
 * resolution in the table. Calibration: the first
 * FMNIST_CALIB training images, library default rule
 * (sushi_cpu_calibrate_int8); measurement: the first FMNIST_IMAGES test images,
 * inputs from sushi_input_from_u8(). The full measurement over every
 * candidate and the 10,000 test images is bench/cpu/int8_agree. */
#include <criterion/criterion.h>

#include "fmnist_agree.h"

#define FMNIST_IMAGES 1000
#define FMNIST_CALIB 500
#define AGREE_MIN 0.98

static sushi_context *ctx;
static sushi_supernet *sn;
static fmnist_split calib, test;

static void setup(void)
{
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_FMNIST_MODEL, NULL, &sn), SUSHI_OK, "%s", SUSHI_FMNIST_MODEL);
    cr_assert(fmnist_load(FMNIST_DEFAULT_DIR, "train", 0, FMNIST_CALIB, &calib), "training images");
    cr_assert(fmnist_load(FMNIST_DEFAULT_DIR, "t10k", 0, FMNIST_IMAGES, &test), "test images");
    cr_assert_eq(calib.n, FMNIST_CALIB);
    cr_assert_eq(test.n, FMNIST_IMAGES);
    sushi_cpu_set_threads(1);
}

static void teardown(void)
{
    fmnist_free(&calib);
    fmnist_free(&test);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* Candidate with the most (most = true) or fewest MACs among those at
 * resolution r (0: any resolution). */
static uint32_t pick(bool most, uint32_t r)
{
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &si), SUSHI_OK);
    int64_t best = -1;
    uint64_t best_macs = 0;
    for (uint32_t i = 0; i < si.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &c), SUSHI_OK);
        if (r && c.config.resolution != r)
            continue;
        if (best < 0 || (most ? c.macs > best_macs : c.macs < best_macs))
            best = i, best_macs = c.macs;
    }
    cr_assert_geq(best, 0, "no candidate at resolution %u", r);
    return (uint32_t)best;
}

static void check(uint32_t ci, const char *what)
{
    fmnist_agree a;
    cr_assert_eq(fmnist_agreement(sn, ci, &calib, calib.n, &test, test.n, &a), SUSHI_OK, "%s: candidate %u", what,
                 ci);
    cr_assert_eq(a.n, FMNIST_IMAGES);
    double ag = (double)a.agree / a.n;
    cr_log_info("%s: candidate %u (r %u): agreement %.4f, top-1 float32 %.4f int8 %.4f", what, ci, a.resolution, ag,
                (double)a.f32_ok / a.n, (double)a.q8_ok / a.n);
    cr_expect_geq(ag, AGREE_MIN, "%s: candidate %u (resolution %u): int8/float32 top-1 agreement %.4f < %.2f on %u images",
                  what, ci, a.resolution, ag, AGREE_MIN, a.n);
    /* the int8 path is a classifier in its own right, not just close to float */
    cr_expect_geq((double)a.q8_ok / a.n, (double)a.f32_ok / a.n - 0.01, "%s: int8 top-1 %.4f vs float32 %.4f", what,
                  (double)a.q8_ok / a.n, (double)a.f32_ok / a.n);
}

/* ~150 s of CPU for the largest SubNet under ASan+UBSan (the float
 * calibration and reference passes dominate); generous for a loaded machine */
TestSuite(int8_fmnist, .init = setup, .fini = teardown, .timeout = 1200);

Test(int8_fmnist, largest_subnet_agrees_with_float32_on_98_percent_of_1000)
{
    check(pick(true, 0), "most MACs");
}

/* The small SubNets are the sensitive ones (docs/int8.md §10): the cheapest
 * candidate of every resolution in the table. */
Test(int8_fmnist, cheapest_subnet_of_each_resolution_agrees_with_float32_on_98_percent_of_1000)
{
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &si), SUSHI_OK);
    uint32_t done[64], n_done = 0;
    for (uint32_t i = 0; i < si.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &c), SUSHI_OK);
        bool seen = false;
        for (uint32_t k = 0; k < n_done; k++)
            seen |= done[k] == c.config.resolution;
        if (seen || n_done == 64)
            continue;
        done[n_done++] = c.config.resolution;
        char what[48];
        snprintf(what, sizeof what, "fewest MACs at resolution %u", c.config.resolution);
        check(pick(false, c.config.resolution), what);
    }
    cr_assert_gt(n_done, 0);
}
