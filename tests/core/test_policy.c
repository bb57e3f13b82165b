/* policy.h: registration, instances, capacity enforcement, the "test-first" policy. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

TestSuite(policy, .fini = fx_release);

typedef struct prec {
    int n_create, n_destroy, n_observe, n_choose;
    void *user_seen;
    const sushi_subnet *last_observed;
    int choose_status;
    bool overfill; /* choose ignores the capacity */
} prec;

static prec g_p;

static int p_create(void *user, const sushi_supernet *sn, void **state)
{
    (void)sn;
    prec *p = user;
    p->n_create++;
    p->user_seen = user;
    *state = p;
    return SUSHI_OK;
}
static void p_destroy(void *state) { ((prec *)state)->n_destroy++; }
static int p_observe(void *state, const sushi_subnet *s)
{
    prec *p = state;
    p->n_observe++;
    p->last_observed = s;
    return SUSHI_OK;
}
static int p_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    prec *p = state;
    p->n_choose++;
    if (v->n_window) {
        int rc = sushi_subgraph_set_subnet(next, v->window[v->n_window - 1]);
        if (rc)
            return rc;
        if (!p->overfill)
            sushi_subgraph_truncate(next, v->capacity_bytes);
    }
    return p->choose_status;
}

static sushi_policy_ops p_ops(void)
{
    sushi_policy_ops o = {
        .abi_version = SUSHI_POLICY_ABI_VERSION,
        .description = "recording test policy",
        .create = p_create,
        .destroy = p_destroy,
        .observe = p_observe,
        .choose = p_choose,
    };
    return o;
}

static sushi_context *new_ctx(void)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    return ctx;
}

static sushi_supernet *new_mbv3(sushi_context *ctx)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    return sn;
}

static sushi_policy_view view_of(const sushi_supernet *sn, uint64_t cap, const sushi_subgraph *cur,
                                 const sushi_subnet *const *win, size_t n)
{
    sushi_policy_view v = { sizeof v, sn, cap, cur, win, n, NULL, 0, NULL, 0, SUSHI_OBJECTIVE_BYTES, NULL, NULL };
    return v;
}

Test(policy, name_lists_builtin_test_first)
{
    sushi_context *ctx = new_ctx();
    bool found = false;
    size_t n = 0;
    for (; sushi_policy_name(ctx, n); n++)
        found |= strcmp(sushi_policy_name(ctx, n), "test-first") == 0;
    cr_assert(found);
    cr_assert_null(sushi_policy_name(ctx, n));
    cr_assert_null(sushi_policy_name(NULL, 0));
    sushi_context_destroy(ctx);
}

Test(policy, register_custom_table_creates_instances_through_it)
{
    sushi_context *ctx = new_ctx();
    memset(&g_p, 0, sizeof g_p);
    sushi_policy_ops ops = p_ops();
    char name[32] = "keep-last";
    cr_assert_eq(sushi_policy_register(ctx, name, &ops, &g_p), SUSHI_OK);
    memset(&ops, 0, sizeof ops);
    strcpy(name, "clobbered");
    const sushi_policy_entry *e = sushi_find_policy(ctx, "keep-last");
    cr_assert_not_null(e);
    cr_assert_str_eq(e->ops.description, "recording test policy");
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "keep-last", &p), SUSHI_OK);
    cr_assert_eq(g_p.n_create, 1);
    cr_assert_eq(g_p.user_seen, &g_p);
    cr_assert_str_eq(sushi_policy_get_name(p), "keep-last");
    sushi_subnet *a = subnet_text(sn, "min"), *b = subnet_text(sn, "max");
    cr_assert_eq(sushi_policy_observe(p, a), SUSHI_OK);
    cr_assert_eq(g_p.n_observe, 1);
    cr_assert_eq(g_p.last_observed, a);
    const sushi_subnet *win[2] = { a, b };
    sushi_subgraph *cur = subgraph_empty(sn), *next = subgraph_empty(sn);
    sushi_policy_view v = view_of(sn, UINT64_MAX, cur, win, 2);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
    cr_assert_eq(g_p.n_choose, 1);
    cr_assert(sushi_subgraph_contains_subnet(next, b));
    cr_assert_eq(sushi_subgraph_bytes(next), stats_of(b).weight_bytes);
    sushi_policy_destroy(p);
    cr_assert_eq(g_p.n_destroy, 1);
    sushi_policy_destroy(NULL);
    sushi_subgraph_destroy(cur);
    sushi_subgraph_destroy(next);
    sushi_subnet_destroy(a);
    sushi_subnet_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(policy, register_errors_follow_backend_rules)
{
    sushi_context *ctx = new_ctx();
    sushi_policy_ops ops = p_ops();
    cr_assert_eq(sushi_policy_register(ctx, "p1", &ops, NULL), SUSHI_OK);
    cr_assert_eq(sushi_policy_register(ctx, "p1", &ops, NULL), SUSHI_ERR_EXISTS);
    cr_assert_eq(sushi_policy_register(ctx, "test-first", &ops, NULL), SUSHI_ERR_EXISTS);
    const char *bad[] = { "", "Upper", "sp ace", "a/b", "abcdefghijklmnopqrstuvwxyz012345" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(sushi_policy_register(ctx, bad[i], &ops, NULL), SUSHI_ERR_INVALID, "\"%s\"", bad[i]);
    cr_assert_eq(sushi_policy_register(ctx, NULL, &ops, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_register(ctx, "x", NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_register(NULL, "x", &ops, NULL), SUSHI_ERR_INVALID);
    ops.abi_version = 0;
    cr_assert_eq(sushi_policy_register(ctx, "x", &ops, NULL), SUSHI_ERR_ABI);
    ops.abi_version = SUSHI_POLICY_ABI_VERSION + 1;
    cr_assert_eq(sushi_policy_register(ctx, "x", &ops, NULL), SUSHI_ERR_ABI);
    ops = p_ops();
    ops.create = NULL;
    cr_assert_eq(sushi_policy_register(ctx, "x", &ops, NULL), SUSHI_ERR_INVALID);
    ops = p_ops();
    ops.choose = NULL;
    cr_assert_eq(sushi_policy_register(ctx, "x", &ops, NULL), SUSHI_ERR_INVALID, "a policy must choose");
    cr_assert_null(sushi_find_policy(ctx, "x"));
    sushi_context_destroy(ctx);
}

Test(policy, register_after_context_in_use_returns_state)
{
    sushi_context *ctx = new_ctx();
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_policy_ops ops = p_ops();
    cr_assert_eq(sushi_policy_register(ctx, "late", &ops, NULL), SUSHI_ERR_STATE);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(policy, create_unknown_or_bad_arguments_return_error)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_policy *p = (sushi_policy *)fx_ctx();
    cr_assert_eq(sushi_policy_create(sn, "nope", &p), SUSHI_ERR_NOT_FOUND);
    cr_assert_null(p);
    cr_assert_eq(sushi_policy_create(NULL, "test-first", &p), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_create(sn, NULL, &p), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_create(sn, "test-first", NULL), SUSHI_ERR_INVALID);
    cr_assert_null(sushi_policy_get_name(NULL));
}

Test(policy, observe_without_slot_or_mismatched_subnet)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    sushi_subnet *s = subnet_text(sn, "min"), *o = subnet_text(fx_mbv3_other(), "min");
    cr_assert_eq(sushi_policy_observe(p, s), SUSHI_OK, "no observe slot: accepted");
    cr_assert_eq(sushi_policy_observe(p, o), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_observe(p, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_observe(NULL, s), SUSHI_ERR_INVALID);
    sushi_subnet_destroy(s);
    sushi_subnet_destroy(o);
    sushi_policy_destroy(p);
}

Test(policy, test_first_choose_respects_capacity)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    cr_assert_str_eq(sushi_policy_get_name(p), "test-first");
    sushi_subnet *a = subnet_text(sn, "max"), *b = subnet_text(sn, "min");
    uint64_t wa = stats_of(a).weight_bytes;
    const sushi_subnet *win[2] = { a, b };
    sushi_subgraph *cur = subgraph_empty(sn), *next = subgraph_empty(sn);
    /* ample capacity: the first SubNet of the window, whole */
    sushi_policy_view v = view_of(sn, wa * 2, cur, win, 2);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(next), wa);
    cr_assert(sushi_subgraph_contains_subnet(next, a));
    /* capacities below it: truncated, never above */
    const uint64_t caps[] = { 0, 1, 1000, 100000, wa / 3, wa - 1, wa };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        v.capacity_bytes = caps[i];
        cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
        cr_assert_leq(sushi_subgraph_bytes(next), caps[i], "capacity %llu", (unsigned long long)caps[i]);
        cr_assert_eq(sushi_subgraph_hit_bytes(next, a), sushi_subgraph_bytes(next));
    }
    /* an empty window: nothing resident */
    v = view_of(sn, wa, cur, NULL, 0);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(next), 0);
    sushi_subgraph_destroy(cur);
    sushi_subgraph_destroy(next);
    sushi_subnet_destroy(a);
    sushi_subnet_destroy(b);
    sushi_policy_destroy(p);
}

Test(policy, choose_over_capacity_returns_backend_and_empty_subgraph)
{
    sushi_context *ctx = new_ctx();
    memset(&g_p, 0, sizeof g_p);
    g_p.overfill = true;
    sushi_policy_ops ops = p_ops();
    cr_assert_eq(sushi_policy_register(ctx, "greedy", &ops, &g_p), SUSHI_OK);
    log_capture lc = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, log_capture_fn, &lc, SUSHI_LOG_ERROR), SUSHI_OK);
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "greedy", &p), SUSHI_OK);
    sushi_subnet *a = subnet_text(sn, "max");
    const sushi_subnet *win[1] = { a };
    sushi_subgraph *cur = subgraph_empty(sn), *next = subgraph_of(a);
    uint64_t wa = stats_of(a).weight_bytes;
    sushi_policy_view v = view_of(sn, wa - 1, cur, win, 1);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_ERR_BACKEND);
    cr_assert_eq(sushi_subgraph_bytes(next), 0, "next left empty");
    cr_assert_gt(lc.n, 0, "the violation is logged");
    cr_assert_not_null(strstr(lc.last, "greedy"), "%s", lc.last);
    /* exactly at capacity is fine */
    v.capacity_bytes = wa;
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(next), wa);
    sushi_subgraph_destroy(cur);
    sushi_subgraph_destroy(next);
    sushi_subnet_destroy(a);
    sushi_policy_destroy(p);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(policy, choose_policy_error_is_returned_and_next_empty)
{
    sushi_context *ctx = new_ctx();
    memset(&g_p, 0, sizeof g_p);
    g_p.choose_status = SUSHI_ERR_INFEASIBLE;
    sushi_policy_ops ops = p_ops();
    cr_assert_eq(sushi_policy_register(ctx, "failing", &ops, &g_p), SUSHI_OK);
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "failing", &p), SUSHI_OK);
    sushi_subnet *a = subnet_text(sn, "min");
    const sushi_subnet *win[1] = { a };
    sushi_subgraph *next = subgraph_of(a);
    sushi_policy_view v = view_of(sn, UINT64_MAX, NULL, win, 1);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_ERR_INFEASIBLE);
    cr_assert_eq(sushi_subgraph_bytes(next), 0);
    sushi_subgraph_destroy(next);
    sushi_subnet_destroy(a);
    sushi_policy_destroy(p);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(policy, choose_bad_view_or_subgraph_returns_error)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    sushi_subnet *a = subnet_text(sn, "min");
    const sushi_subnet *win[1] = { a };
    sushi_subgraph *next = subgraph_empty(sn), *other = subgraph_empty(fx_mbv3_other());
    sushi_policy_view v = view_of(sn, UINT64_MAX, NULL, win, 1);
    cr_assert_eq(sushi_policy_choose(p, &v, other), SUSHI_ERR_INVALID, "next of another SuperNet");
    sushi_policy_view bad = v;
    bad.supernet = fx_mbv3_other();
    cr_assert_eq(sushi_policy_choose(p, &bad, next), SUSHI_ERR_INVALID, "view of another SuperNet");
    bad = v;
    bad.size = sizeof bad - 8;
    cr_assert_eq(sushi_policy_choose(p, &bad, next), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_policy_choose(NULL, &v, next), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_choose(p, NULL, next), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_policy_choose(p, &v, NULL), SUSHI_ERR_INVALID);
    sushi_subgraph_destroy(next);
    sushi_subgraph_destroy(other);
    sushi_subnet_destroy(a);
    sushi_policy_destroy(p);
}

Test(policy, policy_keeps_supernet_alive)
{
    sushi_context *ctx = new_ctx();
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    cr_assert_str_eq(sushi_policy_get_name(p), "test-first");
    sushi_policy_destroy(p);
}

/* BUG (reported, lib/registry.c sushi_policy_choose): the view's arrays are
 * not checked, so n_window > 0 with window == NULL reaches the policy, which
 * dereferences it (crash). STYLE: misuse returns a status. Expected:
 * SUSHI_ERR_INVALID for a NULL array with a non-zero count. */
Test(policy, choose_view_null_array_with_count_returns_invalid)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_policy *p = NULL;
    cr_assert_eq(sushi_policy_create(sn, "test-first", &p), SUSHI_OK);
    sushi_subgraph *next = subgraph_empty(sn);
    sushi_policy_view v = view_of(sn, UINT64_MAX, NULL, NULL, 1);
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_ERR_INVALID);
    v = view_of(sn, UINT64_MAX, NULL, NULL, 0);
    v.n_future = 2;
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_ERR_INVALID);
    v = view_of(sn, UINT64_MAX, NULL, NULL, 0);
    v.n_candidates = 3;
    cr_assert_eq(sushi_policy_choose(p, &v, next), SUSHI_ERR_INVALID);
    sushi_subgraph_destroy(next);
    sushi_policy_destroy(p);
}
