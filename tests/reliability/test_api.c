/* Issue 15 items 6 and 7: strings are validated at the API (a SuperNet the
 * library writes always loads), and one (min, max) check for the three int8
 * range setters. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sushi/sushi.h"

static sushi_context *ctx;
static sushi_supernet *sn;
static char last_log[512];

static void logger(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
}

static void setup(void)
{
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_context_set_log(ctx, logger, NULL, SUSHI_LOG_ERROR);
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_FORMAT_FIXTURE, NULL, &sn), SUSHI_OK);
}

static void teardown(void)
{
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

static uint32_t n_cand(void)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    return info.n_candidates;
}

/* ---------- item 6 ---------- */

Test(utf8, with_accuracies_refuses_invalid_utf8, .init = setup, .fini = teardown)
{
    uint32_t n = n_cand();
    cr_assert_gt(n, 0);
    double *acc = malloc(n * sizeof *acc);
    for (uint32_t i = 0; i < n; i++)
        acc[i] = 0.5;
    static const char *const bad[] = {
        "top1\xff",         /* the example */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* beyond U+10FFFF */
        "caf\xc3",          /* truncated sequence */
        "\x80x",            /* lone continuation byte */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sushi_supernet *cp = (sushi_supernet *)1;
        cr_assert_eq(sushi_supernet_with_accuracies(sn, acc, n, "fashion-mnist", bad[k], "test", &cp),
                     SUSHI_ERR_INVALID, "metric #%zu accepted", k);
        cr_assert_null(cp);
        cr_assert_eq(sushi_supernet_with_accuracies(sn, acc, n, bad[k], "top1", "test", &cp), SUSHI_ERR_INVALID,
                     "dataset #%zu accepted", k);
        cr_assert_eq(sushi_supernet_with_accuracies(sn, acc, n, "fashion-mnist", "top1", bad[k], &cp),
                     SUSHI_ERR_INVALID, "source #%zu accepted", k);
        const float *none[1] = { NULL };
        size_t zero[1] = { 0 };
        if (n == 1)
            cr_assert_eq(sushi_supernet_with_int8_ranges(sn, none, zero, 1, bad[k], &cp), SUSHI_ERR_INVALID);
    }
    /* valid multi-byte text is accepted, saved and loads back */
    sushi_supernet *cp = NULL;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, acc, n, "fashion-mnist", "top-1 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                                                "caf\xc3\xa9", &cp),
                 SUSHI_OK);
    void *buf = NULL;
    size_t size = 0;
    cr_assert_eq(sushi_supernet_save_memory(cp, NULL, &buf, &size), SUSHI_OK);
    sushi_supernet *back = NULL;
    cr_assert_eq(sushi_supernet_load_memory(ctx, buf, size, NULL, &back), SUSHI_OK);
    sushi_supernet_destroy(back);
    sushi_supernet_free_buffer(cp, buf);
    sushi_supernet_destroy(cp);
    free(acc);
}

static int dummy_create(void *user, const sushi_supernet *s, void **state)
{
    (void)user;
    (void)s;
    *state = NULL;
    return SUSHI_OK;
}

Test(utf8, backend_register_refuses_invalid_utf8_description)
{
    sushi_context *c = NULL;
    cr_assert_eq(sushi_context_create(NULL, &c), SUSHI_OK);
    sushi_backend_ops ops;
    memset(&ops, 0, sizeof ops);
    ops.abi_version = SUSHI_BACKEND_ABI_VERSION;
    ops.create = dummy_create;
    ops.description = "bad \xff description";
    cr_assert_eq(sushi_backend_register(c, "mine", &ops, NULL), SUSHI_ERR_INVALID);
    ops.description = "good \xc3\xa9 description";
    cr_assert_eq(sushi_backend_register(c, "mine", &ops, NULL), SUSHI_OK);
    sushi_context_destroy(c);
}

/* ---------- item 7 ---------- */

#ifdef SUSHI_TEST_HAVE_CPU
static void check_setter(const char *backend, int (*set)(sushi_backend *, const sushi_subnet *, const float *, size_t))
{
    sushi_config cfg;
    cr_assert_eq(sushi_config_extreme(sn, true, 0, &cfg), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, backend, &b), SUSHI_OK);
    size_t nr = sushi_cpu_int8_ranges_len(s);
    cr_assert_gt(nr, 2);
    float *r = malloc(nr * sizeof *r);
    for (size_t i = 0; i < nr; i += 2)
        r[i] = -1.0f, r[i + 1] = 2.0f;
    cr_assert_eq(set(b, s, r, nr), SUSHI_OK, "%s: valid ranges", backend);
    r[2] = 3.0f; /* pair 1: min 3 > max 2 */
    last_log[0] = '\0';
    cr_assert_eq(set(b, s, r, nr), SUSHI_ERR_RANGE, "%s: inverted pair accepted", backend);
    cr_assert_not_null(strstr(last_log, "pair 1 (min 3, max 2)"), "%s: log: %s", backend, last_log);
    r[2] = -1.0f;
    r[nr - 1] = INFINITY;
    cr_assert_eq(set(b, s, r, nr), SUSHI_ERR_RANGE, "%s: infinite max accepted", backend);
    r[nr - 1] = NAN;
    cr_assert_eq(set(b, s, r, nr), SUSHI_ERR_RANGE, "%s: NaN accepted", backend);
    r[nr - 1] = 2.0f;
    r[0] = r[1] = 0.5f; /* min == max is a valid (degenerate) range */
    cr_assert_eq(set(b, s, r, nr), SUSHI_OK, "%s: min == max", backend);

    /* with_int8_ranges applies the same check and the same status */
    uint32_t n = n_cand();
    int cand = sushi_supernet_find_candidate(sn, &cfg);
    if (cand >= 0) {
        const float **rs = calloc(n, sizeof *rs);
        size_t *ns = calloc(n, sizeof *ns);
        r[2] = 3.0f;
        rs[cand] = r;
        ns[cand] = nr;
        sushi_supernet *cp = NULL;
        cr_assert_eq(sushi_supernet_with_int8_ranges(sn, rs, ns, n, "test", &cp), SUSHI_ERR_RANGE);
        cr_assert_not_null(strstr(last_log, "pair 1 (min 3, max 2)"), "log: %s", last_log);
        free(rs);
        free(ns);
    }
    free(r);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
}

Test(int8_ranges, cpu_setter_refuses_inverted_and_non_finite_pairs, .init = setup, .fini = teardown)
{
    check_setter("cpu", sushi_cpu_set_int8_ranges);
}

#ifdef SUSHI_TEST_HAVE_HLS
Test(int8_ranges, hls_setter_refuses_inverted_and_non_finite_pairs, .init = setup, .fini = teardown)
{
    check_setter("hls", sushi_hls_set_int8_ranges);
}
#endif
#endif
