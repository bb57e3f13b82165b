/* sushi_supernet_with_accuracies() (supernet.h): a copy of a SuperNet with
 * measured accuracies in its candidate table (used by `sushi eval`). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(edit, .fini = fx_release);

static double *accs(uint32_t n)
{
    double *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (uint32_t i = 0; i < n; i++)
        a[i] = (double)(i % 100) / 100.0;
    return a;
}

Test(edit, sets_accuracies_and_provenance_keeps_everything_else)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT, io = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_gt(in.n_candidates, 2);
    double *a = accs(in.n_candidates);
    a[1] = NAN; /* unchanged */
    sushi_supernet *out = NULL;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, in.n_candidates, "fashion-mnist/test", "top1",
                                                "unit test, backend cpu", &out), SUSHI_OK);
    cr_assert_not_null(out);
    cr_assert_eq(sushi_supernet_get_info(out, &io), SUSHI_OK);
    cr_assert_eq(io.n_candidates, in.n_candidates);
    cr_assert_eq(io.n_tensors, in.n_tensors);
    cr_assert_str_eq(io.name, in.name);
    cr_assert_eq(strncmp(io.provenance, in.provenance, strlen(in.provenance)), 0);
    cr_assert_not_null(strstr(io.provenance, "fashion-mnist/test"));
    cr_assert_not_null(strstr(io.provenance, "unit test, backend cpu"));
    cr_assert_not_null(strstr(io.provenance, "measured 20"));
    for (uint32_t i = 0; i < in.n_candidates; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT, co = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &ci), SUSHI_OK);
        cr_assert_eq(sushi_supernet_candidate(out, i, &co), SUSHI_OK);
        cr_assert(sushi_config_equal(&ci.config, &co.config));
        cr_assert_eq(ci.macs, co.macs);
        cr_assert_eq(ci.params, co.params);
        if (i == 1) {
            cr_assert_str_eq(co.accuracy_source, ci.accuracy_source);
            cr_assert_str_eq(co.dataset, ci.dataset);
            continue;
        }
        cr_assert_float_eq(co.accuracy, a[i], 0.0);
        cr_assert_str_eq(co.accuracy_source, "measured");
        cr_assert_str_eq(co.dataset, "fashion-mnist/test");
        cr_assert_str_eq(co.metric, "top1");
    }
    /* the original is untouched */
    sushi_candidate_info c0 = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &c0), SUSHI_OK);
    cr_assert_str_neq(c0.accuracy_source, "measured");
    /* and the copy survives a save/load round trip */
    void *buf = NULL;
    size_t size = 0;
    cr_assert_eq(sushi_supernet_save_memory(out, NULL, &buf, &size), SUSHI_OK);
    sushi_supernet *back = NULL;
    cr_assert_eq(sushi_supernet_load_memory(fx_ctx(), buf, size, NULL, &back), SUSHI_OK);
    sushi_candidate_info cb = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(back, 2, &cb), SUSHI_OK);
    cr_assert_float_eq(cb.accuracy, a[2], 0.0);
    cr_assert_str_eq(cb.accuracy_source, "measured");
    sushi_supernet_free_buffer(out, buf);
    sushi_supernet_destroy(back);
    sushi_supernet_destroy(out);
    free(a);
}

Test(edit, rejects_bad_arguments)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    uint32_t n = in.n_candidates;
    double *a = accs(n);
    sushi_supernet *out = (sushi_supernet *)fx_ctx();
    cr_assert_eq(sushi_supernet_with_accuracies(NULL, a, n, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_null(out);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, NULL, n, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n - 1, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", NULL, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", NULL, &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", NULL), SUSHI_ERR_INVALID);
    a[0] = 1.5;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    cr_assert_null(out);
    a[0] = -0.1;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    a[0] = INFINITY;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    cr_assert_null(out);
    free(a);
}

/* ---------- sushi_supernet_with_int8_ranges (format §7.4) ---------- */

/* Floats of candidate i's int8 ranges array: 2 * (values + layers). */
static size_t ranges_len(const sushi_supernet *sn, uint32_t i)
{
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, i, &ci), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &ci.config, &s), SUSHI_OK);
    size_t n = 2 * ((size_t)s->n_values + s->n_layers);
    sushi_subnet_destroy(s);
    return n;
}

static float *some_ranges(size_t n, float k)
{
    float *r = malloc(n * sizeof *r);
    cr_assert_not_null(r);
    for (size_t i = 0; i < n; i += 2)
        r[i] = -k * (float)(i % 7), r[i + 1] = k * (float)(i % 11) + 0.5f;
    return r;
}

static void expect_ranges(const sushi_supernet *sn, uint32_t i, const float *want, size_t n)
{
    const float *got = (const float *)sn;
    size_t ng = 1;
    cr_assert_eq(sushi_supernet_candidate_int8_ranges(sn, i, &got, &ng), SUSHI_OK);
    cr_assert_eq(ng, want ? n : 0, "candidate %u: %zu floats", i, ng);
    if (!want) {
        cr_assert_null(got);
        return;
    }
    cr_assert_eq(memcmp(got, want, n * sizeof *want), 0, "candidate %u: ranges differ", i);
}

Test(edit, int8_ranges_are_stored_and_survive_a_file)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    uint32_t n = in.n_candidates;
    cr_assert_gt(n, 3);
    const float **r = calloc(n, sizeof *r);
    size_t *nr = calloc(n, sizeof *nr);
    nr[0] = ranges_len(sn, 0), nr[2] = ranges_len(sn, 2);
    float *r0 = some_ranges(nr[0], 1.0f), *r2 = some_ranges(nr[2], 2.5f);
    r[0] = r0, r[2] = r2;
    nr[1] = 3; /* ignored: r[1] is NULL */
    sushi_supernet *out = NULL;
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "unit test ranges", &out), SUSHI_OK);
    expect_ranges(out, 0, r0, nr[0]);
    expect_ranges(out, 1, NULL, 0);
    expect_ranges(out, 2, r2, nr[2]);
    expect_ranges(sn, 0, NULL, 0); /* the original is untouched */
    sushi_supernet_info io = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(out, &io), SUSHI_OK);
    cr_assert_not_null(strstr(io.provenance, "int8 activation ranges of 2 of"), "%s", io.provenance);
    cr_assert_not_null(strstr(io.provenance, "unit test ranges"));

    /* through the writer and the reader; then replace one entry, keep another */
    void *buf = NULL;
    size_t size = 0;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    cr_assert_eq(sushi_supernet_save_memory(out, &so, &buf, &size), SUSHI_OK);
    sushi_supernet *back = NULL;
    cr_assert_eq(sushi_supernet_load_memory(fx_ctx(), buf, size, NULL, &back), SUSHI_OK);
    sushi_supernet_free_buffer(out, buf);
    expect_ranges(back, 0, r0, nr[0]);
    expect_ranges(back, 1, NULL, 0);
    expect_ranges(back, 2, r2, nr[2]);
    float *r0b = some_ranges(nr[0], 4.0f);
    r[0] = r0b, r[2] = NULL;
    sushi_supernet *again = NULL;
    cr_assert_eq(sushi_supernet_with_int8_ranges(back, r, nr, n, "second pass", &again), SUSHI_OK);
    expect_ranges(again, 0, r0b, nr[0]);
    expect_ranges(again, 2, r2, nr[2]);
    sushi_supernet_destroy(again);
    sushi_supernet_destroy(back);
    sushi_supernet_destroy(out);
    free(r0), free(r0b), free(r2), free(r), free(nr);
}

Test(edit, int8_ranges_reject_bad_arguments)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    uint32_t n = in.n_candidates;
    const float **r = calloc(n, sizeof *r);
    size_t *nr = calloc(n, sizeof *nr);
    nr[1] = ranges_len(sn, 1);
    float *r1 = some_ranges(nr[1], 1.0f);
    r[1] = r1;
    sushi_supernet *out = (sushi_supernet *)fx_ctx();
    cr_assert_eq(sushi_supernet_with_int8_ranges(NULL, r, nr, n, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_null(out);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, NULL, nr, n, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, NULL, n, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n - 1, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, NULL, &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "s", NULL), SUSHI_ERR_INVALID);
    nr[1]--; /* wrong length for that SubNet */
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "s", &out), SUSHI_ERR_INVALID);
    nr[1]++;
    r1[4] = NAN;
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "s", &out), SUSHI_ERR_RANGE);
    r1[4] = 9.0f; /* min > max */
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "s", &out), SUSHI_ERR_RANGE);
    r1[4] = -INFINITY;
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, n, "s", &out), SUSHI_ERR_RANGE);
    cr_assert_null(out);
    const float *g = NULL;
    size_t ng = 0;
    cr_assert_eq(sushi_supernet_candidate_int8_ranges(NULL, 0, &g, &ng), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_candidate_int8_ranges(sn, 0, NULL, &ng), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_candidate_int8_ranges(sn, 0, &g, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_candidate_int8_ranges(sn, n, &g, &ng), SUSHI_ERR_RANGE);
    free(r1), free(r), free(nr);
}

/* A file whose stored ranges are not finite is refused by the reader. */
Test(edit, int8_ranges_not_finite_in_a_file_are_refused)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    const float **r = calloc(in.n_candidates, sizeof *r);
    size_t *nr = calloc(in.n_candidates, sizeof *nr);
    nr[0] = ranges_len(sn, 0);
    float *r0 = some_ranges(nr[0], 1.0f);
    r[0] = r0;
    sushi_supernet *out = NULL;
    cr_assert_eq(sushi_supernet_with_int8_ranges(sn, r, nr, in.n_candidates, "s", &out), SUSHI_OK);
    unsigned char *buf = NULL;
    size_t size = 0;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    cr_assert_eq(sushi_supernet_save_memory(out, &so, (void **)&buf, &size), SUSHI_OK);
    /* the key, then a byte-string head (0x58 + 1, 0x59 + 2 or 0x5a + 4 length bytes), then the floats */
    const char key[] = "\x6bint8_ranges";
    unsigned char *k = memmem(buf, size, key, sizeof key - 1);
    cr_assert_not_null(k);
    unsigned char *h = k + sizeof key - 1;
    size_t head = *h == 0x58 ? 2 : *h == 0x59 ? 3 : *h == 0x5a ? 5 : 0;
    cr_assert_gt(head, 0, "byte-string head 0x%02x", *h);
    const unsigned char nan_le[4] = { 0x00, 0x00, 0xc0, 0x7f };
    memcpy(h + head + 4, nan_le, 4); /* the max of the first pair */
    sushi_supernet *bad = NULL;
    int rc = sushi_supernet_load_memory(fx_ctx(), buf, size, NULL, &bad);
    cr_expect_eq(rc, SUSHI_ERR_FORMAT, "%s", sushi_status_name(rc));
    cr_assert_null(bad);
    sushi_supernet_free_buffer(out, buf);
    sushi_supernet_destroy(out);
    free(r0), free(r), free(nr);
}
