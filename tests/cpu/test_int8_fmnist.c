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

/* Ranges stored in the file (sushi_supernet_with_int8_ranges, as `sushi
 * calibrate` writes them) drive the cpu int8 path and the hls backend exactly
 * as the same ranges given with sushi_cpu_set_int8_ranges() do; a SubNet
 * whose BN statistics are not its candidate's does not use them. */
Test(int8_fmnist, stored_ranges_drive_cpu_and_hls_like_given_ranges)
{
    uint32_t ci = pick(false, 0);
    sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, ci, &info), SUSHI_OK);
    cr_assert_eq(sushi_supernet_get_info(sn, &si), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &info.config, &s), SUSHI_OK);
    size_t len = 0, nr = sushi_cpu_int8_ranges_len(s);
    float *cx = fmnist_inputs(sn, &calib, 32, info.config.resolution, &len);
    float *tx = fmnist_inputs(sn, &test, 4, info.config.resolution, &len);
    float *ranges = malloc(nr * sizeof *ranges);
    cr_assert(cx && tx && ranges);
    cr_assert_eq(sushi_cpu_calibrate_int8(s, cx, 32, ranges, nr), SUSHI_OK);

    const float **rr = calloc(si.n_candidates, sizeof *rr);
    size_t *nn = calloc(si.n_candidates, sizeof *nn);
    cr_assert(rr && nn);
    rr[ci] = ranges, nn[ci] = nr;
    sushi_supernet *sn2 = NULL;
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, rr, nn, si.n_candidates, "test", &sn2), SUSHI_OK);
    sushi_subnet *s2 = NULL;
    cr_assert_eq(sushi_subnet_create(sn2, &info.config, &s2), SUSHI_OK);

    sushi_backend *given = NULL, *stored = NULL, *hls = NULL;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &given), SUSHI_OK);
    cr_assert_eq(sushi_cpu_set_int8_ranges(given, s, ranges, nr), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn2, "cpu", &stored), SUSHI_OK);
    int hrc = sushi_backend_create(sn2, "hls", &hls);
    cr_assert(hrc == SUSHI_OK || hrc == SUSHI_ERR_NOT_FOUND);
    float a[16], b[16], h[16];
    for (uint32_t i = 0; i < 4; i++) {
        sushi_run_args ra = SUSHI_RUN_ARGS_INIT;
        ra.input = tx + (size_t)i * len, ra.input_len = len, ra.output_len = si.num_classes, ra.int8 = true;
        ra.output = a;
        cr_assert_eq(sushi_backend_run(given, s, &ra, NULL), SUSHI_OK);
        ra.output = b;
        cr_assert_eq(sushi_backend_run(stored, s2, &ra, NULL), SUSHI_OK, "cpu int8 run with stored ranges");
        cr_assert_eq(memcmp(a, b, si.num_classes * sizeof *a), 0, "image %u: stored ranges differ from given", i);
        if (hls) {
            ra.output = h;
            cr_assert_eq(sushi_backend_run(hls, s2, &ra, NULL), SUSHI_OK);
            cr_assert_eq(memcmp(a, h, si.num_classes * sizeof *a), 0, "image %u: hls with stored ranges differs", i);
        }
    }
    /* BN recalibrated on other images: the stored ranges do not apply */
    sushi_subnet *rb = NULL;
    cr_assert_eq(sushi_cpu_recalibrate_bn(s2, cx, 32, 32, &rb), SUSHI_OK);
    sushi_run_args ra = SUSHI_RUN_ARGS_INIT;
    ra.input = tx, ra.input_len = len, ra.output = b, ra.output_len = si.num_classes, ra.int8 = true;
    cr_expect_eq(sushi_backend_run(stored, rb, &ra, NULL), SUSHI_ERR_STATE);

    sushi_subnet_destroy(rb);
    sushi_backend_destroy(hls);
    sushi_backend_destroy(stored);
    sushi_backend_destroy(given);
    sushi_subnet_destroy(s2);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn2);
    free(rr), free(nn), free(ranges), free(cx), free(tx);
}
