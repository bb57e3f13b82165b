/* SUSHI_LOAD_CHECK_FINITE: NaN / infinite float32 weights (issue 9).
 *
 * Poisoned files are made from the golden fixture tiny-v1.sushi: load it,
 * overwrite chosen values of a tensor, save it again with float32 weights
 * (so its checksum is valid). The hostile file nan-f32.sushi of
 * tests/fuzz/hostile/ (NaN and +Inf in its first tensor, written by the
 * independent Python encoder) is checked as well. Default loads accept such
 * files; with the flag they are refused with SUSHI_ERR_FORMAT, the tensor's
 * name in the message, nothing leaked. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "format_helpers.h"
#include "internal.h"

/* ---------- counting allocator (leaks on refusal) ---------- */

static long g_live;

static void *c_malloc(void *u, size_t n)
{
    (void)u;
    void *p = malloc(n);
    if (p)
        g_live++;
    return p;
}

static void *c_realloc(void *u, void *p, size_t n)
{
    (void)u;
    void *q = realloc(p, n);
    if (q && !p)
        g_live++;
    return q;
}

static void c_free(void *u, void *p)
{
    (void)u;
    if (p) {
        g_live--;
        free(p);
    }
}

static sushi_context *counting_ctx(void)
{
    g_live = 0;
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    a.malloc_fn = c_malloc;
    a.realloc_fn = c_realloc;
    a.free_fn = c_free;
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
    return ctx;
}

/* ---------- helpers ---------- */

/* The fixture with values[i] written at index idx[i] of tensor `name`
 * (a negative idx counts from the end), saved with float32 weights. */
static uint8_t *poisoned(const char *name, const long *idx, const float *values, size_t k, size_t *n,
                         uint64_t *nelem)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    size_t fn;
    uint8_t *fixture = read_all(SUSHI_FORMAT_FIXTURE, &fn);
    sushi_supernet *sn = NULL;
    char err[256] = "";
    /* no BORROW: the tensors are copied into a block the SuperNet owns */
    cr_assert_eq(load_mem(ctx, fixture, fn, 0, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    free(fixture);
    int32_t t = sushi_supernet_find_tensor(sn, name);
    cr_assert_geq(t, 0, "no tensor %s in the fixture", name);
    float *data = (float *)(uintptr_t)sn->tensors[t].data;
    uint64_t ne = sn->tensors[t].nelem;
    if (nelem)
        *nelem = ne;
    for (size_t i = 0; i < k; i++) {
        uint64_t j = idx[i] < 0 ? ne - (uint64_t)(-idx[i]) : (uint64_t)idx[i];
        cr_assert_lt(j, ne);
        data[j] = values[i];
    }
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    so.weights = SUSHI_WEIGHTS_F32;
    void *out = NULL;
    cr_assert_eq(sushi_supernet_save_memory(sn, &so, &out, n), SUSHI_OK);
    uint8_t *copy = malloc(*n);
    memcpy(copy, out, *n);
    sushi_supernet_free_buffer(sn, out);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return copy;
}

/* Loads without the flag (every mode); refused with it, message containing
 * each needle, *out NULL and nothing leaked. */
static void expect_refused_only_with_flag(const uint8_t *d, size_t n, const char *const *needles, size_t k)
{
    sushi_context *ctx = counting_ctx();
    char err[512] = "";
    static const uint32_t modes[] = { 0, SUSHI_LOAD_BORROW, SUSHI_LOAD_NO_VERIFY,
                                      SUSHI_LOAD_BORROW | SUSHI_LOAD_NO_VERIFY };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        sushi_supernet *sn = NULL;
        int rc = load_mem(ctx, d, n, modes[m], &sn, err, sizeof err);
        cr_assert_eq(rc, SUSHI_OK, "flags %u: %s: %s", modes[m], sushi_status_name(rc), err);
        sushi_supernet_destroy(sn);
        long base = g_live;
        sn = (sushi_supernet *)(uintptr_t)1;
        err[0] = '\0';
        rc = load_mem(ctx, d, n, modes[m] | SUSHI_LOAD_CHECK_FINITE, &sn, err, sizeof err);
        cr_assert_eq(rc, SUSHI_ERR_FORMAT, "flags %u: status %s, message: %s", modes[m], sushi_status_name(rc),
                     err);
        cr_assert_null(sn);
        cr_assert_eq(g_live, base, "flags %u: %ld blocks leaked", modes[m], g_live - base);
        for (size_t i = 0; i < k; i++)
            cr_assert(strstr(err, needles[i]) != NULL, "message \"%s\" lacks \"%s\"", err, needles[i]);
    }
    sushi_context_destroy(ctx);
    cr_assert_eq(g_live, 0);
}

/* ---------- tests ---------- */

Test(finite, check_flag_value_is_pinned_and_unknown_bits_still_refused)
{
    cr_assert_eq(SUSHI_LOAD_CHECK_FINITE, 4u);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    size_t n;
    uint8_t *d = read_all(SUSHI_FORMAT_FIXTURE, &n);
    sushi_supernet *sn = NULL;
    cr_assert_eq(load_mem(ctx, d, n, 1u << 3, &sn, NULL, 0), SUSHI_ERR_INVALID);
    cr_assert_null(sn);
    free(d);
    sushi_context_destroy(ctx);
}

Test(finite, load_clean_files_with_check_succeeds_unchanged)
{
    sushi_context *ctx = counting_ctx();
    char err[256] = "";
    /* the golden f32 fixture, from memory (copy and borrow) and from a file */
    size_t n;
    uint8_t *d = read_all(SUSHI_FORMAT_FIXTURE, &n);
    sushi_supernet *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(load_mem(ctx, d, n, 0, &a, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_CHECK_FINITE, &b, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_CHECK_FINITE | SUSHI_LOAD_BORROW, &c, err, sizeof err), SUSHI_OK,
                 "%s", err);
    cr_assert_eq(a->n_tensors, b->n_tensors);
    for (uint32_t i = 0; i < a->n_tensors; i++) {
        cr_assert_eq(memcmp(a->tensors[i].data, b->tensors[i].data, a->tensors[i].nelem * 4), 0);
        cr_assert_eq(memcmp(a->tensors[i].data, c->tensors[i].data, a->tensors[i].nelem * 4), 0);
    }
    sushi_supernet_destroy(c);
    sushi_supernet_destroy(b);
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.flags = SUSHI_LOAD_CHECK_FINITE;
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_FORMAT_FIXTURE, &o, &b), SUSHI_OK, "%s", err);
    sushi_supernet_destroy(b);

    /* a seed-mode file (generated weights, not scanned) and extreme finite values */
    void *buf = NULL;
    size_t bn = 0;
    cr_assert_eq(sushi_supernet_save_memory(a, NULL, &buf, &bn), SUSHI_OK);
    cr_assert_eq(load_mem(ctx, buf, bn, SUSHI_LOAD_CHECK_FINITE, &b, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_supernet_destroy(b);
    sushi_supernet_free_buffer(a, buf);
    sushi_supernet_destroy(a);
    free(d);
    static const long idx[] = { 0, 1, 2, 3, -1 };
    const float vals[] = { FLT_MAX, -FLT_MAX, FLT_TRUE_MIN, -0.0f, -FLT_MIN };
    d = poisoned("first_conv.conv.weight", idx, vals, 5, &n, NULL);
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_CHECK_FINITE, &a, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_supernet_destroy(a);
    free(d);
    sushi_context_destroy(ctx);
    cr_assert_eq(g_live, 0);
}

Test(finite, load_nan_weight_refused_with_check_loaded_without)
{
    static const long idx[] = { 7 };
    const float vals[] = { NAN };
    size_t n;
    uint8_t *d = poisoned("blocks.1.conv.point_linear.conv.weight", idx, vals, 1, &n, NULL);
    const char *needles[] = { "weights: tensor \"blocks.1.conv.point_linear.conv.weight\": value 7 is NaN",
                              "(1 of its ", "SUSHI_LOAD_CHECK_FINITE" };
    expect_refused_only_with_flag(d, n, needles, 3);
    free(d);
}

Test(finite, load_inf_in_bn_running_var_refused_with_check)
{
    /* the last value of a BN variance vector: +Inf gives a zero scale, -Inf a NaN one */
    static const long idx[] = { -1 };
    const float pinf[] = { INFINITY }, ninf[] = { -INFINITY };
    size_t n;
    uint64_t ne;
    char want[160];
    uint8_t *d = poisoned("blocks.0.conv.depth_conv.bn.running_var", idx, pinf, 1, &n, &ne);
    snprintf(want, sizeof want, "tensor \"blocks.0.conv.depth_conv.bn.running_var\": value %" PRIu64 " is +Inf",
             ne - 1);
    const char *needles[] = { want };
    expect_refused_only_with_flag(d, n, needles, 1);
    free(d);
    d = poisoned("first_conv.bn.running_var", idx, ninf, 1, &n, &ne);
    snprintf(want, sizeof want, "tensor \"first_conv.bn.running_var\": value %" PRIu64 " is -Inf", ne - 1);
    expect_refused_only_with_flag(d, n, needles, 1);
    free(d);
}

Test(finite, load_reports_first_bad_value_and_count)
{
    /* negative NaN with a payload, then an infinity: the first is named */
    static const long idx[] = { 3, 5, 6 };
    float vals[3];
    uint32_t negnan = 0xffc00123u;
    memcpy(&vals[0], &negnan, 4);
    vals[1] = INFINITY;
    vals[2] = NAN;
    size_t n;
    uint8_t *d = poisoned("classifier.linear.bias", idx, vals, 3, &n, NULL);
    const char *needles[] = { "tensor \"classifier.linear.bias\": value 3 is NaN (3 of its 10 values are not finite" };
    expect_refused_only_with_flag(d, n, needles, 1);
    free(d);
}

Test(finite, load_checksum_error_comes_before_the_finite_check)
{
    static const long idx[] = { 0 };
    const float vals[] = { NAN };
    size_t n;
    uint8_t *d = poisoned("classifier.linear.weight", idx, vals, 1, &n, NULL);
    sushi_context *ctx = counting_ctx();
    sushi_supernet *sn = NULL;
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_BORROW, &sn, NULL, 0), SUSHI_OK);
    /* flip a bit of another tensor's payload: the file is corrupted, not just poisoned */
    const sushi_tensor *t = &sn->tensors[0];
    size_t off = payload_offset(d, n, t);
    sushi_supernet_destroy(sn);
    d[off + 1] ^= 0x01;
    char err[512] = "";
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_CHECK_FINITE, &sn, err, sizeof err), SUSHI_ERR_INTEGRITY, "%s", err);
    cr_assert_eq(load_mem(ctx, d, n, SUSHI_LOAD_CHECK_FINITE | SUSHI_LOAD_NO_VERIFY, &sn, err, sizeof err),
                 SUSHI_ERR_FORMAT, "%s", err);
    cr_assert(strstr(err, "\"classifier.linear.weight\": value 0 is NaN"), "%s", err);
    sushi_context_destroy(ctx);
    cr_assert_eq(g_live, 0);
    free(d);
}

Test(finite, load_file_hostile_nan_f32_refused_with_check)
{
    sushi_context *ctx = counting_ctx();
    char err[512] = "";
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_HOSTILE_NAN, &o, &sn), SUSHI_OK, "%s", err);
    const char *first = sn->tensors[0].name;
    char want[320];
    snprintf(want, sizeof want, "tensor \"%s\": value 0 is NaN (2 of its ", first);
    sushi_supernet_destroy(sn);
    o.flags = SUSHI_LOAD_CHECK_FINITE;
    sn = (sushi_supernet *)(uintptr_t)1;
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_HOSTILE_NAN, &o, &sn), SUSHI_ERR_FORMAT, "%s", err);
    cr_assert_null(sn);
    cr_assert(strstr(err, want), "message \"%s\" lacks \"%s\"", err, want);
    sushi_context_destroy(ctx);
    cr_assert_eq(g_live, 0);
}
