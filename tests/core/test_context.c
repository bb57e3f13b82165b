/* context.h: creation, allocator hooks, logging, configuration closing, lifetimes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(context, .fini = fx_release);

Test(context, create_default_allocator_returns_ok_and_handle)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_not_null(ctx);
    sushi_context_destroy(ctx);
}

Test(context, create_null_out_returns_invalid)
{
    cr_assert_eq(sushi_context_create(NULL, NULL), SUSHI_ERR_INVALID);
}

Test(context, destroy_null_is_noop)
{
    sushi_context_destroy(NULL);
}

Test(context, create_incomplete_allocator_returns_invalid_and_null)
{
    count_alloc ca = { 0 };
    for (int missing = 0; missing < 3; missing++) {
        sushi_allocator a = count_alloc_hooks(&ca);
        if (missing == 0)
            a.malloc_fn = NULL;
        else if (missing == 1)
            a.realloc_fn = NULL;
        else
            a.free_fn = NULL;
        sushi_context *ctx = (sushi_context *)&ca; /* must be overwritten */
        cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_ERR_INVALID, "missing %d", missing);
        cr_assert_null(ctx);
    }
    cr_assert_eq(ca.n_malloc + ca.n_realloc, 0);
}

Test(context, create_allocator_size_too_small_returns_abi)
{
    count_alloc ca = { 0 };
    sushi_allocator a = count_alloc_hooks(&ca);
    a.size = sizeof(size_t);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_ERR_ABI);
    cr_assert_null(ctx);
    a.size = 0;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_ERR_ABI);
}

Test(context, create_allocator_failing_returns_nomem_without_leak)
{
    /* fail the N-th allocation for N = 1, 2, ... until creation succeeds */
    bool succeeded = false;
    for (size_t n = 1; n < 64 && !succeeded; n++) {
        count_alloc ca = { 0 };
        ca.fail_at = n;
        sushi_allocator a = count_alloc_hooks(&ca);
        sushi_context *ctx = (sushi_context *)&ca;
        int rc = sushi_context_create(&a, &ctx);
        if (rc == SUSHI_OK) {
            succeeded = true;
            sushi_context_destroy(ctx);
        } else {
            cr_assert_eq(rc, SUSHI_ERR_NOMEM, "fail at %zu: %s", n, sushi_status_name(rc));
            cr_assert_null(ctx);
        }
        cr_assert_eq(ca.live, 0, "fail at %zu: %zu blocks leaked", n, ca.live);
    }
    cr_assert(succeeded);
}

/* Everything a user makes through a context goes through its allocator and
 * is given back: after destroying all objects no block is live. */
Test(context, custom_allocator_used_for_all_objects_and_balanced)
{
    count_alloc ca = { 0 };
    sushi_allocator a = count_alloc_hooks(&ca);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
    size_t after_ctx = ca.n_malloc + ca.n_realloc;
    cr_assert_gt(after_ctx, 0, "context itself allocated through the hooks");

    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    size_t after_sn = ca.n_malloc + ca.n_realloc;
    cr_assert_gt(after_sn, after_ctx);
    cr_assert_gt(ca.live_bytes, 4u * 1000000u, "weights live in hook memory (%zu bytes)", ca.live_bytes);

    sushi_config c = cfg_extreme(sn, true, 224);
    sushi_subnet *s = subnet_of(sn, &c);
    sushi_subgraph *g = subgraph_of(s);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    char err[128];
    sushi_config parsed = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_parse(sn, "{\"ks\":7,\"e\":6,\"d\":[4,4,4,4,4],\"r\":224}", 0, &parsed, err,
                                    sizeof err),
                 SUSHI_OK);
    cr_assert_gt(ca.n_malloc + ca.n_realloc, after_sn);

    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    cr_assert_gt(ca.live, 0, "context still alive");
    sushi_context_destroy(ctx);
    cr_assert_eq(ca.live, 0, "%zu blocks (%zu bytes) not given back", ca.live, ca.live_bytes);
    cr_assert_eq(ca.live_bytes, 0);
    cr_assert_gt(ca.n_free, 0);
}

Test(context, subnet_create_allocator_failing_returns_nomem_without_leak)
{
    count_alloc ca = { 0 };
    sushi_allocator a = count_alloc_hooks(&ca);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_config c = cfg_extreme(sn, true, 224);
    size_t base_live = ca.live;
    bool succeeded = false;
    for (size_t n = 1; n < 256 && !succeeded; n++) {
        ca.n_alloc_calls = 0;
        ca.fail_at = n;
        sushi_subnet *s = (sushi_subnet *)&ca;
        int rc = sushi_subnet_create(sn, &c, &s);
        ca.fail_at = 0;
        if (rc == SUSHI_OK) {
            succeeded = true;
            sushi_subnet_destroy(s);
        } else {
            cr_assert_eq(rc, SUSHI_ERR_NOMEM, "fail at %zu: %s", n, sushi_status_name(rc));
            cr_assert_null(s);
        }
        cr_assert_eq(ca.live, base_live, "fail at %zu: leaked %zu blocks", n, ca.live - base_live);
    }
    cr_assert(succeeded);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    cr_assert_eq(ca.live, 0);
}

/* Fault injection through the built-in SuperNet constructor: every failing
 * allocation returns NOMEM and leaks nothing. Sampled (each build generates
 * ~5 M weights): the first 8 allocations, 12 spread over the rest, and the
 * last one (the metric string of the last candidate).
 * BUG (reported, lib/zoo.c fill_candidates): when strdup of `metric` fails,
 * the candidate's `dataset` leaks (n_cand is not yet counted): this test
 * fails with "1 blocks (21 bytes) leaked" at those steps. */
Test(context, builtin_allocator_failing_returns_nomem_without_leak, .timeout = 60)
{
    count_alloc probe = { 0 };
    sushi_allocator pa = count_alloc_hooks(&probe);
    sushi_context *pctx = NULL;
    cr_assert_eq(sushi_context_create(&pa, &pctx), SUSHI_OK);
    size_t before = probe.n_alloc_calls;
    sushi_supernet *psn = NULL;
    cr_assert_eq(sushi_supernet_builtin(pctx, "ofa-mbv3-w1.0", 0, &psn), SUSHI_OK);
    size_t total = probe.n_alloc_calls - before;
    sushi_supernet_destroy(psn);
    sushi_context_destroy(pctx);
    cr_assert_gt(total, 10);

    size_t steps[40];
    size_t ns = 0;
    for (size_t i = 1; i <= 8 && i <= total; i++)
        steps[ns++] = i;
    for (size_t k = 1; k <= 12; k++)
        steps[ns++] = 8 + (total - 8) * k / 13;
    steps[ns++] = total; /* the very last allocation */
    for (size_t i = 0; i < ns; i++) {
        count_alloc ca = { 0 };
        sushi_allocator a = count_alloc_hooks(&ca);
        sushi_context *ctx = NULL;
        cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
        ca.n_alloc_calls = 0;
        ca.fail_at = steps[i];
        sushi_supernet *sn = (sushi_supernet *)&ca;
        int rc = sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn);
        ca.fail_at = 0;
        cr_expect_eq(rc, SUSHI_ERR_NOMEM, "fail at %zu of %zu: %s", steps[i], total, sushi_status_name(rc));
        cr_expect_null(sn);
        if (rc == SUSHI_OK)
            sushi_supernet_destroy(sn);
        sushi_context_destroy(ctx);
        cr_expect_eq(ca.live, 0, "fail at %zu of %zu: %zu blocks (%zu bytes) leaked", steps[i], total, ca.live,
                     ca.live_bytes);
    }
}

Test(context, set_log_callback_receives_error_messages)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    log_capture lc = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_DEBUG), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_config c = cfg_extreme(sn, true, 224);
    c.ks[3] = 4;
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &c, &s), SUSHI_ERR_CONFIG);
    cr_assert_gt(lc.n, 0, "an invalid config is logged");
    cr_assert_eq(lc.last_level, SUSHI_LOG_ERROR);
    cr_assert_not_null(strstr(lc.last, "ks[3]"), "message names the key: %s", lc.last);
    cr_assert_not(lc.saw_newline, "messages carry no newline");
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(context, set_log_max_level_filters_more_verbose_messages)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    log_capture lc = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_WARN), SUSHI_OK);
    sushi_log(ctx, SUSHI_LOG_DEBUG, "debug %d", 1);
    sushi_log(ctx, SUSHI_LOG_INFO, "info %d", 2);
    cr_assert_eq(lc.n, 0);
    sushi_log(ctx, SUSHI_LOG_WARN, "warn %d", 3);
    sushi_log(ctx, SUSHI_LOG_ERROR, "error %d", 4);
    cr_assert_eq(lc.n, 2);
    cr_assert_str_eq(lc.last, "error 4");
    cr_assert_eq(lc.last_level, SUSHI_LOG_ERROR);
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_DEBUG), SUSHI_OK);
    sushi_log(ctx, SUSHI_LOG_DEBUG, "debug %d", 5);
    cr_assert_eq(lc.n, 3);
    cr_assert_eq(lc.last_level, SUSHI_LOG_DEBUG);
    /* fn NULL disables logging */
    cr_assert_eq(sushi_context_set_log(ctx, NULL, NULL, SUSHI_LOG_DEBUG), SUSHI_OK);
    sushi_log(ctx, SUSHI_LOG_ERROR, "dropped");
    cr_assert_eq(lc.n, 3);
    sushi_context_destroy(ctx);
}

Test(context, log_long_message_truncated_not_overflowing)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    log_capture lc = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_ERROR), SUSHI_OK);
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sushi_log(ctx, SUSHI_LOG_ERROR, "%s", big);
    cr_assert_eq(lc.n, 1);
    cr_assert_gt(strlen(lc.last), 100);
    sushi_context_destroy(ctx);
}

Test(context, set_log_bad_arguments_returns_invalid)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_context_set_log(NULL, log_capture_fn, NULL, SUSHI_LOG_ERROR), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, NULL, -1), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, NULL, SUSHI_LOG_DEBUG + 1), SUSHI_ERR_INVALID);
    sushi_context_destroy(ctx);
}

Test(context, set_log_after_in_use_returns_state)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    log_capture lc = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_ERROR), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_context_set_log(ctx, NULL, NULL, SUSHI_LOG_DEBUG), SUSHI_ERR_STATE);
    /* the configuration stays closed when the SuperNet is gone */
    sushi_supernet_destroy(sn);
    cr_assert_eq(sushi_context_set_log(ctx, NULL, NULL, SUSHI_LOG_DEBUG), SUSHI_ERR_STATE);
    /* and the old callback is still in place */
    sushi_log(ctx, SUSHI_LOG_ERROR, "still here");
    cr_assert_eq(lc.n, 1);
    sushi_context_destroy(ctx);
}

Test(context, builtin_unknown_name_leaves_context_configurable)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "no-such-net", 0, &sn), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_context_set_log(ctx, NULL, NULL, SUSHI_LOG_WARN), SUSHI_OK);
    sushi_context_destroy(ctx);
}

/* Objects keep their parents alive: destroying the context (and the
 * SuperNet) first leaves every object usable; ASan checks the memory. */
Test(context, destroy_before_children_children_stay_valid)
{
    count_alloc ca = { 0 };
    sushi_allocator a = count_alloc_hooks(&ca);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_config c = cfg_extreme(sn, false, 160);
    sushi_subnet *s = subnet_of(sn, &c);
    sushi_subgraph *g = subgraph_of(s);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);

    sushi_context_destroy(ctx);
    sushi_supernet_destroy(sn);

    /* all still usable */
    const sushi_supernet *psn = sushi_subnet_supernet(s);
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(psn, &info), SUSHI_OK);
    cr_assert_str_eq(info.name, "ofa-mbv3-w1.0");
    sushi_subnet_stats st = stats_of(s);
    cr_assert_eq(sushi_subgraph_bytes(g), st.weight_bytes);
    sushi_cost cost = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(b, s, g, &cost), SUSHI_OK);
    cr_assert_eq(cost.hit_bytes, st.weight_bytes);
    cr_assert_str_eq(sushi_backend_get_name(b), "null");
    cr_assert_str_eq(sushi_policy_get_name(p), "test-first");
    const sushi_subnet *win[1] = { s };
    sushi_policy_view v = { sizeof v, psn, UINT64_MAX, g, win, 1, NULL, 0, NULL, 0, SUSHI_OBJECTIVE_BYTES, NULL, NULL };
    sushi_subgraph *next = subgraph_empty(psn);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(next), st.weight_bytes);

    /* destroy in yet another order */
    sushi_subnet_destroy(s);
    sushi_backend_destroy(b);
    cr_assert_gt(ca.live, 0);
    sushi_subgraph_destroy(g);
    sushi_policy_destroy(p);
    cr_assert_gt(ca.live, 0, "next still holds the SuperNet");
    sushi_subgraph_destroy(next);
    cr_assert_eq(ca.live, 0, "last object gone: everything freed (%zu blocks left)", ca.live);
}
