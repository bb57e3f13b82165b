/* backend.h: registration of an ABI-versioned table, instances, the "null" backend. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

TestSuite(backend, .fini = fx_release);

/* ---- a test backend that records what the library asks of it ---- */
typedef struct rec {
    int n_create, n_destroy, n_set, n_get, n_cost, n_resident, n_run;
    void *user_seen;
    const sushi_supernet *sn_seen;
    int create_status;
    double param;
} rec;

static rec g_rec;

static int rec_create(void *user, const sushi_supernet *sn, void **state)
{
    rec *r = user;
    r->n_create++;
    r->user_seen = user;
    r->sn_seen = sn;
    if (r->create_status != SUSHI_OK)
        return r->create_status;
    *state = r;
    return SUSHI_OK;
}
static void rec_destroy(void *state) { ((rec *)state)->n_destroy++; }
static int rec_set(void *state, const char *key, double v)
{
    rec *r = state;
    r->n_set++;
    if (strcmp(key, "p") != 0)
        return SUSHI_ERR_NOT_FOUND;
    r->param = v;
    return SUSHI_OK;
}
static int rec_get(void *state, const char *key, double *v)
{
    rec *r = state;
    r->n_get++;
    if (strcmp(key, "p") != 0)
        return SUSHI_ERR_NOT_FOUND;
    *v = r->param;
    return SUSHI_OK;
}
static int rec_cost(void *state, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    (void)g;
    rec *r = state;
    r->n_cost++;
    out->macs = stats_of(s).macs;
    out->latency_s = 1.5;
    return SUSHI_OK;
}
static int rec_resident(void *state, const sushi_subgraph *g, sushi_cost *reload)
{
    rec *r = state;
    r->n_resident++;
    reload->weight_bytes = sushi_subgraph_bytes(g);
    return SUSHI_OK;
}
static int rec_run(void *state, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    (void)s, (void)a;
    rec *r = state;
    r->n_run++;
    if (cost)
        cost->cycles = 42;
    return SUSHI_OK;
}

static sushi_backend_ops rec_ops(void)
{
    sushi_backend_ops o = {
        .abi_version = SUSHI_BACKEND_ABI_VERSION,
        .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_INT8,
        .description = "recording test backend",
        .create = rec_create,
        .destroy = rec_destroy,
        .set_param = rec_set,
        .get_param = rec_get,
        .cost = rec_cost,
        .set_resident = rec_resident,
        .run = rec_run,
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

Test(backend, name_lists_builtin_null_backend)
{
    sushi_context *ctx = new_ctx();
    bool found = false;
    size_t n = 0;
    for (; sushi_backend_name(ctx, n); n++)
        found |= strcmp(sushi_backend_name(ctx, n), "null") == 0;
    cr_assert(found);
    cr_assert_null(sushi_backend_name(ctx, n));
    cr_assert_null(sushi_backend_name(NULL, 0));
    sushi_context_destroy(ctx);
}

Test(backend, register_custom_table_creates_instances_through_it)
{
    sushi_context *ctx = new_ctx();
    memset(&g_rec, 0, sizeof g_rec);
    sushi_backend_ops ops = rec_ops();
    char name[32] = "my-backend_2";
    char desc[64] = "recording test backend";
    ops.description = desc;
    cr_assert_eq(sushi_backend_register(ctx, name, &ops, &g_rec), SUSHI_OK);
    /* the table, the name and the description are copied */
    memset(&ops, 0, sizeof ops);
    strcpy(name, "clobbered");
    strcpy(desc, "clobbered");
    size_t n = 0;
    while (sushi_backend_name(ctx, n))
        n++;
    cr_assert_str_eq(sushi_backend_name(ctx, n - 1), "my-backend_2");
    const sushi_backend_entry *e = sushi_find_backend(ctx, "my-backend_2");
    cr_assert_not_null(e);
    cr_assert_str_eq(e->ops.description, "recording test backend");

    sushi_supernet *sn = new_mbv3(ctx);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "my-backend_2", &b), SUSHI_OK);
    cr_assert_not_null(b);
    cr_assert_eq(g_rec.n_create, 1);
    cr_assert_eq(g_rec.user_seen, &g_rec, "create gets the registration's user pointer");
    cr_assert_eq(g_rec.sn_seen, sn);
    cr_assert_str_eq(sushi_backend_get_name(b), "my-backend_2");
    cr_assert_eq(sushi_backend_caps(b), SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_INT8);

    /* every slot is reached */
    cr_assert_eq(sushi_backend_set_param(b, "p", 3.25), SUSHI_OK);
    double v = 0;
    cr_assert_eq(sushi_backend_get_param(b, "p", &v), SUSHI_OK);
    cr_assert_float_eq(v, 3.25, 0.0);
    cr_assert_eq(sushi_backend_set_param(b, "q", 1.0), SUSHI_ERR_NOT_FOUND);
    sushi_subnet *s = subnet_text(sn, "min");
    sushi_cost cost = SUSHI_COST_INIT;
    cost.hit_bytes = 777; /* stale values are cleared before the call */
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &cost), SUSHI_OK);
    cr_assert_eq(cost.macs, stats_of(s).macs);
    cr_assert_eq(cost.hit_bytes, 0);
    cr_assert_eq(cost.size, sizeof cost);
    sushi_subgraph *g = subgraph_of(s);
    sushi_cost reload = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_set_resident(b, g, &reload), SUSHI_OK);
    cr_assert_eq(reload.weight_bytes, sushi_subgraph_bytes(g));
    cr_assert_eq(sushi_backend_set_resident(b, g, NULL), SUSHI_OK, "reload may be NULL");
    float in[3 * 224 * 224], out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 224 * 224, a.output = out, a.output_len = 1000;
    a.int8 = true; /* declared CAP_INT8: allowed */
    cr_assert_eq(sushi_backend_run(b, s, &a, &cost), SUSHI_OK);
    cr_assert_eq(cost.cycles, 42);
    cr_assert_eq(sushi_backend_run(b, s, &a, NULL), SUSHI_OK);
    cr_assert_eq(g_rec.n_set, 2);
    cr_assert_eq(g_rec.n_get, 1);
    cr_assert_eq(g_rec.n_cost, 1);
    cr_assert_eq(g_rec.n_resident, 2);
    cr_assert_eq(g_rec.n_run, 2);
    sushi_backend_destroy(b);
    cr_assert_eq(g_rec.n_destroy, 1);
    sushi_backend_destroy(NULL);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(backend, register_duplicate_name_returns_exists)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    cr_assert_eq(sushi_backend_register(ctx, "dup", &ops, NULL), SUSHI_OK);
    cr_assert_eq(sushi_backend_register(ctx, "dup", &ops, NULL), SUSHI_ERR_EXISTS);
    cr_assert_eq(sushi_backend_register(ctx, "null", &ops, NULL), SUSHI_ERR_EXISTS, "built-ins are taken too");
    sushi_context_destroy(ctx);
}

Test(backend, register_bad_names_return_invalid)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    const char *bad[] = { "", "Null", "has space", "a/b", "a.b", "caf\xc3\xa9", "tab\t",
                          "abcdefghijklmnopqrstuvwxyz012345" /* 32 chars */ };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(sushi_backend_register(ctx, bad[i], &ops, NULL), SUSHI_ERR_INVALID, "\"%s\"", bad[i]);
    cr_assert_eq(sushi_backend_register(ctx, NULL, &ops, NULL), SUSHI_ERR_INVALID);
    /* 31 characters of the allowed set is fine */
    cr_assert_eq(sushi_backend_register(ctx, "abcdefghijklmnopqrstuvwxyz-_019", &ops, NULL), SUSHI_OK);
    cr_assert_eq(sushi_backend_register(ctx, "0", &ops, NULL), SUSHI_OK);
    sushi_context_destroy(ctx);
}

Test(backend, register_abi_version_zero_or_too_new_returns_abi)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    ops.abi_version = 0;
    cr_assert_eq(sushi_backend_register(ctx, "zero", &ops, NULL), SUSHI_ERR_ABI);
    ops.abi_version = SUSHI_BACKEND_ABI_VERSION + 1;
    cr_assert_eq(sushi_backend_register(ctx, "future", &ops, NULL), SUSHI_ERR_ABI);
    ops.abi_version = UINT32_MAX;
    cr_assert_eq(sushi_backend_register(ctx, "future", &ops, NULL), SUSHI_ERR_ABI);
    cr_assert_null(sushi_find_backend(ctx, "future"));
    sushi_context_destroy(ctx);
}

Test(backend, register_null_create_or_arguments_return_invalid)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    ops.create = NULL;
    cr_assert_eq(sushi_backend_register(ctx, "nocreate", &ops, NULL), SUSHI_ERR_INVALID);
    ops = rec_ops();
    cr_assert_eq(sushi_backend_register(ctx, "x", NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_register(NULL, "x", &ops, NULL), SUSHI_ERR_INVALID);
    /* a NULL description is allowed */
    ops.description = NULL;
    cr_assert_eq(sushi_backend_register(ctx, "nodesc", &ops, NULL), SUSHI_OK);
    sushi_context_destroy(ctx);
}

Test(backend, register_after_context_in_use_returns_state)
{
    sushi_context *ctx = new_ctx();
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_backend_ops ops = rec_ops();
    cr_assert_eq(sushi_backend_register(ctx, "late", &ops, NULL), SUSHI_ERR_STATE);
    cr_assert_null(sushi_find_backend(ctx, "late"));
    sushi_supernet_destroy(sn);
    cr_assert_eq(sushi_backend_register(ctx, "late", &ops, NULL), SUSHI_ERR_STATE, "stays closed");
    sushi_context_destroy(ctx);
}

Test(backend, register_many_backends_grows_registry)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "b%d", i);
        cr_assert_eq(sushi_backend_register(ctx, name, &ops, NULL), SUSHI_OK);
    }
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof name, "b%d", i);
        cr_assert_not_null(sushi_find_backend(ctx, name));
    }
    sushi_context_destroy(ctx);
}

static int fail_create(void *user, const sushi_supernet *sn, void **state)
{
    (void)sn, (void)state;
    return *(int *)user;
}

Test(backend, create_failing_backend_returns_its_status_and_null)
{
    sushi_context *ctx = new_ctx();
    sushi_backend_ops ops = rec_ops();
    ops.create = fail_create;
    static int neg = SUSHI_ERR_NOMEM, pos = 5;
    cr_assert_eq(sushi_backend_register(ctx, "neg", &ops, &neg), SUSHI_OK);
    cr_assert_eq(sushi_backend_register(ctx, "pos", &ops, &pos), SUSHI_OK);
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_backend *b = (sushi_backend *)ctx;
    cr_assert_eq(sushi_backend_create(sn, "neg", &b), SUSHI_ERR_NOMEM);
    cr_assert_null(b);
    b = (sushi_backend *)ctx;
    cr_assert_eq(sushi_backend_create(sn, "pos", &b), SUSHI_ERR_BACKEND, "a positive status becomes BACKEND");
    cr_assert_null(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(backend, create_unknown_or_bad_arguments_return_error)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_backend *b = (sushi_backend *)fx_ctx();
    cr_assert_eq(sushi_backend_create(sn, "nope", &b), SUSHI_ERR_NOT_FOUND);
    cr_assert_null(b);
    cr_assert_eq(sushi_backend_create(NULL, "null", &b), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_create(sn, NULL, &b), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_create(sn, "null", NULL), SUSHI_ERR_INVALID);
    cr_assert_null(sushi_backend_get_name(NULL));
    cr_assert_eq(sushi_backend_caps(NULL), 0);
}

Test(backend, call_null_slot_returns_unsupported)
{
    sushi_context *ctx = new_ctx();
    memset(&g_rec, 0, sizeof g_rec);
    sushi_backend_ops ops = { .abi_version = SUSHI_BACKEND_ABI_VERSION, .create = rec_create };
    cr_assert_eq(sushi_backend_register(ctx, "bare", &ops, &g_rec), SUSHI_OK);
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "bare", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_caps(b), 0);
    sushi_subnet *s = subnet_text(sn, "min");
    sushi_subgraph *g = subgraph_of(s);
    double v;
    cr_assert_eq(sushi_backend_set_param(b, "p", 1.0), SUSHI_ERR_UNSUPPORTED);
    cr_assert_eq(sushi_backend_get_param(b, "p", &v), SUSHI_ERR_UNSUPPORTED);
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(b, s, g, &c), SUSHI_ERR_UNSUPPORTED);
    cr_assert_eq(sushi_backend_set_resident(b, g, &c), SUSHI_ERR_UNSUPPORTED);
    float in[3 * 224 * 224], out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 224 * 224, a.output = out, a.output_len = 1000;
    cr_assert_eq(sushi_backend_run(b, s, &a, &c), SUSHI_ERR_UNSUPPORTED);
    sushi_backend_destroy(b); /* destroy slot NULL: fine */
    cr_assert_eq(g_rec.n_destroy, 0);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ---------------- the built-in "null" backend ---------------- */

typedef struct nullfx {
    const sushi_supernet *sn;
    sushi_backend *b;
    sushi_subnet *s;
    sushi_subnet_stats st;
} nullfx;

static nullfx null_setup(const char *cfg)
{
    nullfx f;
    f.sn = fx_mbv3();
    f.b = NULL;
    cr_assert_eq(sushi_backend_create(f.sn, "null", &f.b), SUSHI_OK);
    f.s = subnet_text(f.sn, cfg);
    f.st = stats_of(f.s);
    return f;
}

static void null_teardown(nullfx *f)
{
    sushi_backend_destroy(f->b);
    sushi_subnet_destroy(f->s);
}

Test(backend, null_caps_and_params)
{
    nullfx f = null_setup("min");
    cr_assert_str_eq(sushi_backend_get_name(f.b), "null");
    cr_assert_eq(sushi_backend_caps(f.b), SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST);
    double v = 0;
    cr_assert_eq(sushi_backend_get_param(f.b, "ns_per_mac", &v), SUSHI_OK);
    cr_assert_float_eq(v, 1.0, 0.0);
    cr_assert_eq(sushi_backend_set_param(f.b, "ns_per_mac", 2.5), SUSHI_OK);
    cr_assert_eq(sushi_backend_get_param(f.b, "ns_per_mac", &v), SUSHI_OK);
    cr_assert_float_eq(v, 2.5, 0.0);
    cr_assert_eq(sushi_backend_set_param(f.b, "ns_per_mac", -1.0), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(f.b, "ns_per_mac", INFINITY), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_backend_set_param(f.b, "ns_per_mac", NAN), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_set_param(f.b, "nope", 1.0), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_backend_get_param(f.b, "nope", &v), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_backend_get_param(f.b, "ns_per_mac", NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_get_param(f.b, NULL, &v), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_set_param(f.b, NULL, 1.0), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_set_param(NULL, "ns_per_mac", 1.0), SUSHI_ERR_INVALID);
    cr_assert_float_eq(v, 2.5, 0.0, "failed calls leave the value");
    null_teardown(&f);
}

Test(backend, null_cost_reports_macs_and_offchip_weight_bytes)
{
    nullfx f = null_setup("max@192");
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(f.b, f.s, NULL, &c), SUSHI_OK);
    cr_assert_eq(c.size, sizeof c);
    cr_assert_eq(c.macs, f.st.macs);
    cr_assert_eq(c.weight_bytes, f.st.weight_bytes);
    cr_assert_eq(c.offchip_bytes, f.st.weight_bytes);
    cr_assert_eq(c.hit_bytes, 0);
    cr_assert_float_eq(c.latency_s, (double)f.st.macs * 1e-9, 1e-12);
    cr_assert_eq(sushi_backend_set_param(f.b, "ns_per_mac", 0.5), SUSHI_OK);
    cr_assert_eq(sushi_backend_cost(f.b, f.s, NULL, &c), SUSHI_OK);
    cr_assert_float_eq(c.latency_s, (double)f.st.macs * 0.5e-9, 1e-12);
    /* with the SubNet's own SubGraph resident: everything hits */
    sushi_subgraph *g = subgraph_of(f.s);
    cr_assert_eq(sushi_backend_cost(f.b, f.s, g, &c), SUSHI_OK);
    cr_assert_eq(c.hit_bytes, f.st.weight_bytes);
    cr_assert_eq(c.weight_bytes, 0);
    /* a partial SubGraph: hit == hit_bytes(g, s), the rest is fetched */
    cr_assert_eq(sushi_subgraph_truncate(g, f.st.weight_bytes / 2), SUSHI_OK);
    cr_assert_eq(sushi_backend_cost(f.b, f.s, g, &c), SUSHI_OK);
    cr_assert_eq(c.hit_bytes, sushi_subgraph_hit_bytes(g, f.s));
    cr_assert_eq(c.hit_bytes + c.weight_bytes, f.st.weight_bytes);
    sushi_subgraph_destroy(g);
    null_teardown(&f);
}

Test(backend, null_cost_mismatched_subnet_or_subgraph_returns_invalid)
{
    nullfx f = null_setup("min");
    sushi_subnet *o = subnet_text(fx_mbv3_other(), "min");
    sushi_subgraph *go = subgraph_of(o);
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(f.b, o, NULL, &c), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_cost(f.b, f.s, go, &c), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_set_resident(f.b, go, &c), SUSHI_ERR_INVALID);
    float in[3 * 224 * 224], out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 224 * 224, a.output = out, a.output_len = 1000;
    cr_assert_eq(sushi_backend_run(f.b, o, &a, &c), SUSHI_ERR_INVALID);
    sushi_subgraph_destroy(go);
    sushi_subnet_destroy(o);
    null_teardown(&f);
}

Test(backend, cost_bad_arguments_return_invalid_or_abi)
{
    nullfx f = null_setup("min");
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(NULL, f.s, NULL, &c), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_cost(f.b, NULL, NULL, &c), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_cost(f.b, f.s, NULL, NULL), SUSHI_ERR_INVALID);
    c.size = sizeof c - 8;
    cr_assert_eq(sushi_backend_cost(f.b, f.s, NULL, &c), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_backend_set_resident(f.b, NULL, &c), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_backend_set_resident(NULL, NULL, NULL), SUSHI_ERR_INVALID);
    null_teardown(&f);
}

Test(backend, null_set_resident_then_run_reports_hits)
{
    nullfx f = null_setup("max");
    sushi_subnet *small = subnet_text(f.sn, "{\"ks\":7,\"e\":3,\"d\":[2,2,2,2,2],\"r\":224}");
    sushi_subgraph *g = subgraph_of(small);
    sushi_cost reload = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_set_resident(f.b, g, &reload), SUSHI_OK);
    cr_assert_eq(reload.size, sizeof reload);
    cr_assert_eq(reload.weight_bytes, sushi_subgraph_bytes(g));
    cr_assert_eq(reload.offchip_bytes, sushi_subgraph_bytes(g));
    static float in[3 * 224 * 224], out[1000];
    for (int i = 0; i < 1000; i++)
        out[i] = 1.0f;
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 224 * 224, a.output = out, a.output_len = 1000;
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, &c), SUSHI_OK);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(out[i], 0.0f, "null writes zeros");
    cr_assert_eq(c.hit_bytes, sushi_subgraph_hit_bytes(g, f.s));
    cr_assert_gt(c.hit_bytes, 0);
    cr_assert_eq(c.hit_bytes + c.weight_bytes, f.st.weight_bytes);
    /* the resident SubGraph is a copy: changing g afterwards changes nothing */
    cr_assert_eq(sushi_subgraph_clear(g), SUSHI_OK);
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, &c), SUSHI_OK);
    cr_assert_gt(c.hit_bytes, 0);
    /* evict */
    cr_assert_eq(sushi_backend_set_resident(f.b, NULL, NULL), SUSHI_OK);
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, &c), SUSHI_OK);
    cr_assert_eq(c.hit_bytes, 0);
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, NULL), SUSHI_OK, "cost may be NULL");
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(small);
    null_teardown(&f);
}

Test(backend, null_run_bad_arguments_return_error)
{
    nullfx f = null_setup("min@160");
    static float in[3 * 224 * 224], out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 160 * 160, a.output = out, a.output_len = 1000;
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, &c), SUSHI_OK);
    sushi_run_args bad = a;
    bad.input_len = 3 * 224 * 224;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_INVALID, "input length for r = 160");
    bad = a, bad.input = NULL;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_INVALID);
    bad = a, bad.output_len = 999;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_INVALID);
    bad = a, bad.output = NULL;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_INVALID);
    bad = a, bad.int8 = true;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_UNSUPPORTED, "null has no int8 path");
    bad = a, bad.size = 8;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &bad, &c), SUSHI_ERR_ABI);
    c.size = 8;
    cr_assert_eq(sushi_backend_run(f.b, f.s, &a, &c), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_backend_run(NULL, f.s, &a, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_run(f.b, NULL, &a, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_run(f.b, f.s, NULL, NULL), SUSHI_ERR_INVALID);
    null_teardown(&f);
}

Test(backend, backend_keeps_supernet_alive)
{
    sushi_context *ctx = new_ctx();
    sushi_supernet *sn = new_mbv3(ctx);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    sushi_subnet *s = subnet_text(sn, "min");
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    sushi_cost c = SUSHI_COST_INIT;
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &c), SUSHI_OK);
    cr_assert_eq(c.macs, stats_of(s).macs);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
}

/* ---- sushi_backend_run: each mistake sharing SUSHI_ERR_INVALID logs its own line ---- */
typedef struct run_log {
    int n;
    char last[512];
} run_log;

static void run_log_fn(void *user, int level, const char *msg)
{
    run_log *l = user;
    if (level == SUSHI_LOG_ERROR) {
        l->n++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

Test(backend, run_invalid_arguments_each_log_what_was_wrong)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    run_log lg = { 0 };
    cr_assert_eq(sushi_context_set_log(ctx, run_log_fn, &lg, SUSHI_LOG_ERROR), SUSHI_OK);
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    sushi_subnet *s = subnet_text(sn, "min@160");
    static float in[3 * 224 * 224], out[1000];
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = in, a.input_len = 3 * 160 * 160, a.output = out, a.output_len = 1000;
    cr_assert_eq(sushi_backend_run(b, s, &a, NULL), SUSHI_OK);
    cr_assert_eq(lg.n, 0, "a good call logs nothing");

    /* 1: NULL argument */
    cr_assert_eq(sushi_backend_run(b, NULL, &a, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 1);
    cr_assert_not_null(strstr(lg.last, "SubNet is NULL"), "%s", lg.last);
    cr_assert_eq(sushi_backend_run(b, s, NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 2);
    cr_assert_not_null(strstr(lg.last, "args is NULL"), "%s", lg.last);
    /* 2: a SubNet of another SuperNet */
    sushi_subnet *o = subnet_text(fx_mbv3_other(), "min@160");
    cr_assert_eq(sushi_backend_run(b, o, &a, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 3);
    cr_assert_not_null(strstr(lg.last, "another") ? lg.last : strstr(lg.last, "backend was created for"), "%s",
                       lg.last);
    /* 3: buffers of the wrong size, or missing */
    sushi_run_args bad = a;
    bad.input_len = 3 * 224 * 224;
    cr_assert_eq(sushi_backend_run(b, s, &bad, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 4);
    cr_assert_not_null(strstr(lg.last, "input_len 150528"), "%s", lg.last);
    cr_assert_not_null(strstr(lg.last, "76800"), "names the expected length: %s", lg.last);
    bad = a, bad.output_len = 999;
    cr_assert_eq(sushi_backend_run(b, s, &bad, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 5);
    cr_assert_not_null(strstr(lg.last, "output_len 999"), "%s", lg.last);
    bad = a, bad.output = NULL;
    cr_assert_eq(sushi_backend_run(b, s, &bad, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(lg.n, 6);
    cr_assert_not_null(strstr(lg.last, "args.output is NULL"), "%s", lg.last);
    sushi_subnet_destroy(o);
    sushi_subnet_destroy(s);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}
