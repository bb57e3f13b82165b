/* The latency-aware cache objective (issue 16, items 1 and 2):
 *   - the backend's tile savings (ABI v2 slot) against the cycle model's own
 *     cost differences, and version-1 tables that must keep working;
 *   - the scheduler's objective option and its bytes fallback;
 *   - the exact oracle: >= every other policy on random instances, == a
 *     brute-force enumeration on tiny ones.
 * The objective value of a SubGraph is computed here independently of the
 * policies (value_model), from the backend's tile savings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "internal.h"
#include "sushi/sched.h"

#define T_OUT SUSHI_SUBGRAPH_TILE_OUT

/* The oracle's last report (DEBUG log): exact, or its LP bound. */
static char last_oracle[256];

static void capture_log(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    if (strncmp(msg, "oracle:", 7) == 0) {
        size_t l = strlen(last_oracle);
        if (strncmp(msg, "oracle: branch", 14) == 0 || l > 200)
            l = 0; /* a new report */
        snprintf(last_oracle + l, sizeof last_oracle - l, "%s%s", l ? "; " : "", msg);
    }
}

static sushi_context *mkctx(void)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_context_set_log(ctx, NULL, NULL, SUSHI_LOG_ERROR);
    return ctx;
}

static uint32_t kk_of(const sushi_supernet *sn, uint32_t t) { return sn->tensors[sn->wt[t]].kk; }

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------ tile savings, test side */

typedef struct sav_cache {
    sushi_backend *b;
    int objective;
    const sushi_subnet *key[4096];
    double *cum[4096];
    size_t n;
} sav_cache;

/* Cumulative savings per tile, as the scheduler hands them to policies. */
static const double *cache_get(void *user, const sushi_subnet *s)
{
    sav_cache *c = user;
    for (size_t k = 0; k < c->n; k++)
        if (c->key[k] == s)
            return c->cum[k];
    size_t n = 0;
    cr_assert_eq(sushi_backend_tile_savings(c->b, s, NULL, 0, &n), SUSHI_OK);
    sushi_tile_saving *ts = calloc(n + 1, sizeof *ts);
    double *cum = calloc(n + 1, sizeof *cum);
    size_t n2 = 0;
    cr_assert_eq(sushi_backend_tile_savings(c->b, s, ts, n, &n2), SUSHI_OK);
    cr_assert_eq(n2, n);
    size_t k = 0;
    for (uint32_t t = 0; t < s->sn->n_wt; t++) {
        if (!s->box_out[t] || !s->box_in[t])
            continue;
        double run = 0;
        for (uint32_t j = 0; j < (s->box_out[t] + T_OUT - 1) / T_OUT; j++, k++) {
            run += c->objective == SUSHI_OBJECTIVE_TIME     ? ts[k].latency_s
                   : c->objective == SUSHI_OBJECTIVE_ENERGY ? ts[k].energy_j
                                                            : (double)ts[k].offchip_bytes;
            cum[k] = run;
        }
    }
    cr_assert_eq(k, n);
    free(ts);
    cr_assert(c->n < 4096);
    c->key[c->n] = s;
    c->cum[c->n++] = cum;
    return cum;
}

static void cache_clear(sav_cache *c)
{
    for (size_t k = 0; k < c->n; k++)
        free(c->cum[k]);
    c->n = 0;
}

/* Saving of tensor t of s when the resident box is (o, i): objective bytes =
 * hit bytes; else the cumulative tile savings read at the hit bytes on s's
 * own tile grid, linear inside a tile (docs/scheduler.md, "Objective"). */
static double slot_value(sav_cache *c, const sushi_subnet *s, uint32_t t, uint32_t o, uint32_t i)
{
    const sushi_supernet *sn = s->sn;
    uint32_t os = s->box_out[t], is = s->box_in[t];
    if (!os || !is || !o || !i)
        return 0.0;
    uint32_t mo = o < os ? o : os, mi = i < is ? i : is;
    if (c->objective == SUSHI_OBJECTIVE_BYTES)
        return (double)mo * mi * kk_of(sn, t);
    const double *cum = cache_get(c, s);
    size_t off = 0;
    for (uint32_t u = 0; u < t; u++)
        if (s->box_out[u] && s->box_in[u])
            off += (s->box_out[u] + T_OUT - 1) / T_OUT;
    uint32_t nt = (os + T_OUT - 1) / T_OUT;
    double a = (double)mo * mi / is;
    uint32_t j = (uint32_t)(a / T_OUT);
    if (j >= nt)
        return cum[off + nt - 1];
    double base = j ? cum[off + j - 1] : 0.0;
    uint32_t wj = os - j * T_OUT < T_OUT ? os - j * T_OUT : T_OUT;
    return base + (a - (double)j * T_OUT) / wj * (cum[off + j] - base);
}

static double value_model(sav_cache *c, const sushi_subgraph *g, const sushi_subnet *const *demand, size_t n)
{
    double v = 0.0;
    for (size_t k = 0; k < n; k++)
        for (uint32_t t = 0; t < g->n; t++) {
            uint32_t o, i;
            sushi_subgraph_get(g, t, &o, &i, NULL);
            v += slot_value(c, demand[k], t, o, i);
        }
    return v;
}

/* ------------------------------------------------------ backend savings */

/* Sum of a tensor's first m tile savings == cost(nothing) - cost(m tiles of
 * that tensor resident), and the sum over all tiles == cost(nothing) -
 * cost(the whole SubNet resident): the cycle model's own figures. */
static void check_savings_match_costs(const char *net, int preset)
{
    sushi_context *ctx = mkctx();
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_subgraph *g = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, net, 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "cycle", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(b, "preset", preset), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(b, "pb_kib", 1e8), SUSHI_OK); /* no truncation */
    cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
    for (uint32_t ci = 0; ci < sn->n_cand; ci += sn->n_cand / 3 + 1) {
        sushi_subnet *s = NULL;
        cr_assert_eq(sushi_subnet_create(sn, &sn->cands[ci].config, &s), SUSHI_OK);
        size_t n = 0;
        cr_assert_eq(sushi_backend_tile_savings(b, s, NULL, 0, &n), SUSHI_OK);
        cr_assert_gt(n, 0);
        sushi_tile_saving *ts = calloc(n, sizeof *ts);
        size_t n2 = 0;
        cr_assert_eq(sushi_backend_tile_savings(b, s, ts, n - 1, &n2), SUSHI_ERR_RANGE);
        cr_assert_eq(n2, n);
        cr_assert_eq(sushi_backend_tile_savings(b, s, ts, n, &n2), SUSHI_OK);
        sushi_cost c0 = SUSHI_COST_INIT, c1 = SUSHI_COST_INIT;
        cr_assert_eq(sushi_backend_cost(b, s, NULL, &c0), SUSHI_OK);
        size_t k = 0;
        double all_lat = 0, all_en = 0;
        uint64_t all_off = 0;
        for (uint32_t t = 0; t < sn->n_wt; t++) {
            if (!s->box_out[t] || !s->box_in[t])
                continue;
            uint32_t nt = (s->box_out[t] + T_OUT - 1) / T_OUT;
            double lat = 0, en = 0;
            uint64_t off = 0, bytes = 0;
            for (uint32_t j = 0; j < nt; j++, k++) {
                cr_assert_geq(ts[k].latency_s, -1e-15, "%s tensor %u tile %u saves %g s", net, t, j, ts[k].latency_s);
                lat += ts[k].latency_s;
                en += ts[k].energy_j;
                off += ts[k].offchip_bytes;
                bytes += ts[k].bytes;
                /* check a prefix: the first tile, the middle one and the last */
                if (j != 0 && j != nt / 2 && j != nt - 1)
                    continue;
                uint32_t o = (j + 1) * T_OUT < s->box_out[t] ? (j + 1) * T_OUT : s->box_out[t];
                cr_assert_eq(sushi_subgraph_clear(g), SUSHI_OK);
                cr_assert_eq(sushi_subgraph_set(g, t, o, s->box_in[t]), SUSHI_OK);
                cr_assert_eq(sushi_backend_cost(b, s, g, &c1), SUSHI_OK);
                cr_assert_float_eq(c0.latency_s - c1.latency_s, lat, 1e-12 + 1e-9 * c0.latency_s,
                                   "%s cand %u tensor %u tiles %u: %g vs %g", net, ci, t, j + 1,
                                   c0.latency_s - c1.latency_s, lat);
                cr_assert_float_eq(c0.energy_j - c1.energy_j, en, 1e-15 + 1e-9 * c0.energy_j);
                cr_assert_eq(c0.offchip_bytes - c1.offchip_bytes, off);
                cr_assert_eq(c1.hit_bytes, bytes);
            }
            all_lat += lat;
            all_en += en;
            all_off += off;
        }
        cr_assert_eq(k, n);
        cr_assert_eq(sushi_subgraph_set_subnet(g, s), SUSHI_OK);
        cr_assert_eq(sushi_backend_cost(b, s, g, &c1), SUSHI_OK);
        cr_assert_float_eq(c0.latency_s - c1.latency_s, all_lat, 1e-12 + 1e-9 * c0.latency_s);
        cr_assert_float_eq(c0.energy_j - c1.energy_j, all_en, 1e-15 + 1e-9 * c0.energy_j);
        cr_assert_eq(c0.offchip_bytes - c1.offchip_bytes, all_off);
        cr_assert_eq(all_off, s->weight_bytes, "every weight byte resident saves its fetch");
        free(ts);
        sushi_subnet_destroy(s);
    }
    sushi_subgraph_destroy(g);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(objective, cycle_tile_savings_equal_model_cost_differences_mbv3)
{
    check_savings_match_costs("ofa-mbv3-w1.0", 0);
}

Test(objective, cycle_tile_savings_equal_model_cost_differences_resnet50)
{
    check_savings_match_costs("ofa-resnet50", 0);
    check_savings_match_costs("ofa-resnet50", 1);
}

Test(objective, tile_savings_bad_arguments)
{
    sushi_context *ctx = mkctx();
    sushi_supernet *sn = NULL, *other = NULL;
    sushi_backend *b = NULL, *nb = NULL;
    sushi_subnet *s = NULL, *so = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.2", 0, &other), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "cycle", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "null", &nb), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(sn, &sn->cands[0].config, &s), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(other, &other->cands[0].config, &so), SUSHI_OK);
    size_t n = 0;
    sushi_tile_saving ts[4];
    cr_assert_eq(sushi_backend_tile_savings(NULL, s, NULL, 0, &n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_tile_savings(b, NULL, NULL, 0, &n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_tile_savings(b, s, NULL, 0, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_tile_savings(b, so, NULL, 0, &n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_backend_tile_savings(b, s, ts, 4, &n), SUSHI_ERR_RANGE);
    cr_assert_gt(n, 4);
    /* the null backend has no tile savings: callers fall back to bytes */
    cr_assert_eq(sushi_backend_tile_savings(nb, s, NULL, 0, &n), SUSHI_ERR_UNSUPPORTED);
    cr_assert_gt(n, 0, "the count is reported even when unsupported");
    sushi_subnet_destroy(s);
    sushi_subnet_destroy(so);
    sushi_backend_destroy(b);
    sushi_backend_destroy(nb);
    sushi_supernet_destroy(sn);
    sushi_supernet_destroy(other);
    sushi_context_destroy(ctx);
}

/* ------------------------------------------- version-1 backend tables */

static int v1_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    (void)sn;
    *out = NULL;
    return SUSHI_OK;
}

static int v1_get_param(void *p, const char *key, double *v)
{
    (void)p;
    if (strcmp(key, "pb_bytes") != 0)
        return SUSHI_ERR_NOT_FOUND;
    *v = 1e6;
    return SUSHI_OK;
}

static int v1_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    (void)p;
    uint64_t hit = g ? sushi_subgraph_hit_bytes(g, s) : 0;
    out->latency_s = (double)(s->weight_bytes - hit) * 1e-9 + (double)s->macs * 1e-11;
    out->offchip_bytes = out->weight_bytes = s->weight_bytes - hit;
    out->hit_bytes = hit;
    return SUSHI_OK;
}

Test(objective, version1_backend_table_registers_and_falls_back_to_bytes)
{
    /* a table exactly as a 0.1 caller built it: the bytes end at `run`, so
     * reading the v2 slot would overflow the allocation (ASan reports it) */
    size_t v1_size = offsetof(sushi_backend_ops, tile_savings);
    sushi_backend_ops *ops = malloc(v1_size);
    sushi_backend_ops full = { .abi_version = 1, .caps = SUSHI_BACKEND_CAP_COST, .description = "v1",
                               .create = v1_create, .get_param = v1_get_param, .cost = v1_cost };
    memcpy(ops, &full, v1_size);
    sushi_context *ctx = mkctx();
    cr_assert_eq(sushi_backend_register(ctx, "old-v1", ops, NULL), SUSHI_OK);
    free(ops); /* copied at registration */
    sushi_backend_ops bad = full;
    bad.abi_version = SUSHI_BACKEND_ABI_VERSION + 1;
    cr_assert_eq(sushi_backend_register(ctx, "too-new", &bad, NULL), SUSHI_ERR_ABI);
    bad.abi_version = 0;
    cr_assert_eq(sushi_backend_register(ctx, "too-old", &bad, NULL), SUSHI_ERR_ABI);

    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_policy *p = NULL;
    sushi_sched *s = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "old-v1", &b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn, b, p, NULL, &s), SUSHI_OK);
    cr_assert_eq(sushi_sched_objective(s), SUSHI_OBJECTIVE_BYTES, "a v1 backend has no tile savings");
    cr_assert_eq(sushi_sched_set_objective(s, SUSHI_OBJECTIVE_ENERGY), SUSHI_OK);
    cr_assert_eq(sushi_sched_objective(s), SUSHI_OBJECTIVE_BYTES);
    for (int q = 0; q < 250; q++) {
        sushi_query qq = SUSHI_QUERY_INIT;
        qq.min_accuracy = q % 2 ? 0.0 : 0.7;
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(s, &qq, &r), SUSHI_OK);
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(s, &st), SUSHI_OK);
    cr_assert_gt(st.hit_bytes, 0, "the bytes objective still caches");
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(objective, sched_default_is_time_and_setter_checks)
{
    sushi_context *ctx = mkctx();
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL, *nb = NULL;
    sushi_policy *p = NULL, *p2 = NULL;
    sushi_sched *s = NULL, *s2 = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "cycle", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "null", &nb), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p2), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn, b, p, NULL, &s), SUSHI_OK);
    cr_assert_eq(sushi_sched_objective(s), SUSHI_OBJECTIVE_TIME);
    cr_assert_eq(sushi_sched_set_objective(s, SUSHI_OBJECTIVE_ENERGY), SUSHI_OK);
    cr_assert_eq(sushi_sched_objective(s), SUSHI_OBJECTIVE_ENERGY);
    cr_assert_eq(sushi_sched_set_objective(s, 3), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_sched_set_objective(s, -1), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_sched_set_objective(NULL, 0), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_sched_objective(NULL), -1);
    cr_assert_eq(sushi_sched_objective(s), SUSHI_OBJECTIVE_ENERGY, "a rejected value changes nothing");
    for (int q = 0; q < 150; q++) {
        sushi_query qq = SUSHI_QUERY_INIT;
        qq.min_accuracy = q % 3 ? 0.0 : 0.75;
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(s, &qq, &r), SUSHI_OK);
    }
    cr_assert_eq(sushi_sched_create(sn, nb, p2, NULL, &s2), SUSHI_OK);
    cr_assert_eq(sushi_sched_objective(s2), SUSHI_OBJECTIVE_BYTES, "null backend: bytes fallback");
    sushi_sched_destroy(s);
    sushi_sched_destroy(s2);
    sushi_policy_destroy(p);
    sushi_policy_destroy(p2);
    sushi_backend_destroy(b);
    sushi_backend_destroy(nb);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(objective, policy_view_of_version1_size_is_accepted)
{
    sushi_context *ctx = mkctx();
    sushi_supernet *sn = NULL;
    sushi_policy *p = NULL;
    sushi_subgraph *g = NULL;
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(sn, &sn->cands[0].config, &s), SUSHI_OK);
    const sushi_subnet *win[1] = { s };
    /* a 0.1 caller's view ends at n_candidates; what follows is garbage the
     * library must not read */
    unsigned char buf[sizeof(sushi_policy_view)];
    memset(buf, 0xA5, sizeof buf);
    sushi_policy_view v = { .size = SUSHI_POLICY_VIEW_SIZE_V1, .supernet = sn, .capacity_bytes = 1u << 30,
                            .window = win, .n_window = 1 };
    memcpy(buf, &v, SUSHI_POLICY_VIEW_SIZE_V1);
    cr_assert_eq(sushi_policy_choose(p, (const sushi_policy_view *)buf, g), SUSHI_OK);
    cr_assert(sushi_subgraph_contains_subnet(g, s), "bytes objective: the only SubNet is cached");
    v.size = SUSHI_POLICY_VIEW_SIZE_V1 - 1;
    cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_ERR_ABI);
    v.size = sizeof v - 8; /* neither a 0.1 view nor a 0.3 one */
    cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_ERR_ABI);
    v.size = sizeof v;
    v.objective = 9;
    cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_ERR_INVALID);
    sushi_subnet_destroy(s);
    sushi_subgraph_destroy(g);
    sushi_policy_destroy(p);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ------------------------------------------------------------- oracle */

static const char *const all_policies[] = { "none", "static", "sushi", "lru", "lfu", "oracle" };
#define N_POL (sizeof all_policies / sizeof all_policies[0])

typedef struct instance {
    sushi_context *ctx;
    sushi_supernet *sn;
    sushi_backend *b;
    sushi_subnet **subs; /* every candidate */
    uint32_t n_subs;
} instance;

/* a SuperNet, its cycle backend and up to `most` of its candidates, evenly spread */
static void inst_open_n(instance *in, const char *net, uint32_t most)
{
    in->ctx = mkctx();
    sushi_context_set_log(in->ctx, capture_log, NULL, SUSHI_LOG_DEBUG);
    cr_assert_eq(sushi_supernet_builtin(in->ctx, net, 0, &in->sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(in->sn, "cycle", &in->b), SUSHI_OK);
    cr_assert_eq(sushi_backend_set_param(in->b, "pb_kib", 1e8), SUSHI_OK);
    in->n_subs = in->sn->n_cand < most ? in->sn->n_cand : most;
    in->subs = calloc(in->n_subs, sizeof *in->subs);
    for (uint32_t i = 0; i < in->n_subs; i++)
        cr_assert_eq(sushi_subnet_create(in->sn, &in->sn->cands[i * (in->sn->n_cand / in->n_subs)].config,
                                         &in->subs[i]), SUSHI_OK);
}

static void inst_open(instance *in, const char *net) { inst_open_n(in, net, 40); }

static void inst_close(instance *in)
{
    for (uint32_t i = 0; i < in->n_subs; i++)
        sushi_subnet_destroy(in->subs[i]);
    free(in->subs);
    sushi_backend_destroy(in->b);
    sushi_supernet_destroy(in->sn);
    sushi_context_destroy(in->ctx);
}

/* Every policy's choice for the same demand (window == the future the oracle
 * sees), valued by value_model. */
static void run_policies(instance *in, sav_cache *c, const sushi_subnet *const *dem, size_t nd,
                         const sushi_subnet *const *cands, size_t nc, uint64_t cap, double *val)
{
    for (size_t k = 0; k < N_POL; k++) {
        sushi_policy *p = NULL;
        sushi_subgraph *g = NULL;
        cr_assert_eq(sushi_policy_create(in->sn, all_policies[k], &p), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_create(in->sn, &g), SUSHI_OK);
        for (size_t j = 0; j < nd; j++)
            cr_assert_eq(sushi_policy_observe(p, dem[j]), SUSHI_OK);
        sushi_policy_view v = { .size = sizeof v, .supernet = in->sn, .capacity_bytes = cap, .window = dem,
                                .n_window = nd, .candidates = cands, .n_candidates = nc,
                                .objective = c->objective, .tile_savings = cache_get, .tile_savings_user = c };
        if (strcmp(all_policies[k], "oracle") == 0) {
            v.future = dem;
            v.n_future = nd;
        }
        cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_OK, "%s", all_policies[k]);
        cr_assert_leq(sushi_subgraph_bytes(g), cap);
        val[k] = value_model(c, g, dem, nd);
        sushi_subgraph_destroy(g);
        sushi_policy_destroy(p);
    }
}

/* Random demands (1..4 distinct SubNets, 4..43 queries) and capacities of
 * cap_lo..cap_hi per mille of the largest SubNet. Where the oracle reports
 * its optimum exact it must be >= every policy; where it reports a bound
 * instead (the search hit its limit), every policy must stay within that
 * bound and the bound within 0.05 % of the oracle's value. Returns the
 * number of exact instances. */
static int oracle_random(const char *net, int n_inst, uint64_t seed, unsigned cap_lo, unsigned cap_hi)
{
    instance in;
    inst_open(&in, net);
    static const int objs[] = { SUSHI_OBJECTIVE_BYTES, SUSHI_OBJECTIVE_TIME, SUSHI_OBJECTIVE_ENERGY };
    uint64_t max_bytes = 0;
    for (uint32_t i = 0; i < in.n_subs; i++)
        max_bytes = in.subs[i]->weight_bytes > max_bytes ? in.subs[i]->weight_bytes : max_bytes;
    const sushi_subnet **dem = calloc(64, sizeof *dem);
    int exact = 0;
    for (int inst = 0; inst < n_inst; inst++) {
        sav_cache *c = calloc(1, sizeof *c);
        c->b = in.b;
        c->objective = objs[inst % 3];
        size_t nd = 4 + rng_next(&seed) % 40, distinct = 1 + rng_next(&seed) % 4;
        uint32_t pick[4];
        for (size_t j = 0; j < distinct; j++)
            pick[j] = (uint32_t)(rng_next(&seed) % in.n_subs);
        for (size_t j = 0; j < nd; j++)
            dem[j] = in.subs[pick[rng_next(&seed) % distinct]];
        uint64_t cap = max_bytes * (cap_lo + rng_next(&seed) % (cap_hi - cap_lo + 1)) / 1000;
        double val[N_POL];
        last_oracle[0] = '\0';
        run_policies(&in, c, dem, nd, (const sushi_subnet *const *)in.subs, in.n_subs, cap, val);
        double orc = val[N_POL - 1];
        cr_assert_gt(orc, 0.0);
        const char *lp = strstr(last_oracle, "LP upper bound ");
        if (strstr(last_oracle, "exact optimum")) {
            exact++;
            for (size_t k = 0; k + 1 < N_POL; k++)
                cr_assert_geq(orc, val[k] - 1e-9 * fabs(orc),
                              "%s instance %d objective %d: oracle %.12g < %s %.12g (%s)", net, inst, c->objective,
                              orc, all_policies[k], val[k], last_oracle);
        } else {
            cr_assert_not_null(lp, "the oracle reports exactness or a bound: '%s'", last_oracle);
            double bound = strtod(lp + strlen("LP upper bound "), NULL);
            cr_assert_leq(bound - orc, 5e-4 * orc, "%s", last_oracle);
            for (size_t k = 0; k + 1 < N_POL; k++)
                cr_assert_leq(val[k], bound * (1 + 1e-5), "%s instance %d: %s %.12g above the bound (%s)", net, inst,
                              all_policies[k], val[k], last_oracle);
        }
        cache_clear(c);
        free(c);
    }
    free(dem);
    inst_close(&in);
    return exact;
}

Test(oracle, at_least_every_other_policy_on_small_random_instances_mbv3, .timeout = 600)
{
    int exact = oracle_random("ofa-mbv3-w1.0", 18, 1, 1, 10);
    cr_assert_geq(exact, 12, "only %d of 18 small instances solved exactly", exact);
}

Test(oracle, at_least_every_other_policy_on_small_random_instances_resnet50, .timeout = 600)
{
    int exact = oracle_random("ofa-resnet50", 12, 2, 1, 3);
    cr_assert_geq(exact, 8, "only %d of 12 small instances solved exactly", exact);
}

Test(oracle, within_its_bound_on_large_random_instances, .timeout = 600)
{
    oracle_random("ofa-mbv3-w1.0", 9, 3, 100, 600);
    oracle_random("ofa-resnet50", 6, 4, 100, 600);
}

/* ---------------------------------------------------------- brute force */

typedef struct bopt {
    uint64_t cost;
    double val;
} bopt;

typedef struct brute {
    bopt *opt;      /* per tensor: options */
    uint32_t *o0, *on;
    uint32_t n_t;
    uint64_t nodes, budget;
    double best;
} brute;

static void dfs(brute *br, uint32_t t, uint64_t left, double v)
{
    if (++br->nodes > br->budget)
        return;
    if (v > br->best)
        br->best = v;
    for (uint32_t u = t; u < br->n_t; u++)
        for (uint32_t k = 0; k < br->on[u]; k++) {
            const bopt *q = &br->opt[br->o0[u] + k];
            if (q->cost <= left)
                dfs(br, u + 1, left - q->cost, v + q->val);
        }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Options of the oracle's space, built here on their own: out-extents on the
 * 16-channel grid below the largest demanded one plus the demanded ones,
 * in-extents the demanded ones. */
static uint32_t tensor_options(sav_cache *c, const sushi_subnet *const *dem, size_t nd, uint32_t t, bopt *out,
                               const sushi_supernet *sn)
{
    uint32_t os[128], is[128], no = 0, ni = 0, omax = 0;
    for (size_t k = 0; k < nd; k++) {
        if (!dem[k]->box_out[t] || !dem[k]->box_in[t])
            continue;
        os[no++] = dem[k]->box_out[t];
        is[ni++] = dem[k]->box_in[t];
        omax = dem[k]->box_out[t] > omax ? dem[k]->box_out[t] : omax;
    }
    for (uint32_t o = T_OUT; o < omax && no < 128; o += T_OUT)
        os[no++] = o;
    qsort(os, no, sizeof *os, cmp_u32);
    qsort(is, ni, sizeof *is, cmp_u32);
    uint32_t n = 0;
    for (uint32_t a = 0; a < no; a++) {
        if (a && os[a] == os[a - 1])
            continue;
        for (uint32_t b = 0; b < ni; b++) {
            if (b && is[b] == is[b - 1])
                continue;
            double v = 0;
            for (size_t k = 0; k < nd; k++)
                v += slot_value(c, dem[k], t, os[a], is[b]);
            out[n++] = (bopt){ (uint64_t)os[a] * is[b] * kk_of(sn, t), v };
        }
    }
    return n;
}

static void oracle_brute(const char *net, int n_inst, uint64_t seed)
{
    instance in;
    inst_open(&in, net);
    static const int objs[] = { SUSHI_OBJECTIVE_TIME, SUSHI_OBJECTIVE_BYTES, SUSHI_OBJECTIVE_ENERGY };
    const uint32_t nt = in.sn->n_wt;
    brute br = { .n_t = nt };
    br.opt = calloc((size_t)nt * 128 * 64, sizeof *br.opt);
    br.o0 = calloc(nt, sizeof *br.o0);
    br.on = calloc(nt, sizeof *br.on);
    int done = 0;
    for (int inst = 0; inst < n_inst; inst++) {
        sav_cache *c = calloc(1, sizeof *c);
        c->b = in.b;
        c->objective = objs[inst % 3];
        const sushi_subnet *dem[3];
        size_t nd = 1 + rng_next(&seed) % 3;
        for (size_t j = 0; j < nd; j++)
            dem[j] = in.subs[rng_next(&seed) % in.n_subs];
        uint64_t min_cost = UINT64_MAX;
        uint32_t total = 0;
        for (uint32_t t = 0; t < nt; t++) {
            br.o0[t] = total;
            br.on[t] = tensor_options(c, dem, nd, t, br.opt + total, in.sn);
            for (uint32_t k = 0; k < br.on[t]; k++)
                min_cost = br.opt[total + k].cost < min_cost ? br.opt[total + k].cost : min_cost;
            total += br.on[t];
        }
        /* a capacity for 1..3 of the cheapest options: small enough to enumerate */
        uint64_t cap = min_cost * (1 + rng_next(&seed) % 3) + rng_next(&seed) % (min_cost + 1);
        br.budget = 3000000;
        br.nodes = 0;
        br.best = 0.0;
        dfs(&br, 0, cap, 0.0);
        if (br.nodes > br.budget) {
            cache_clear(c);
            free(c);
            continue; /* too many SubGraphs for a brute force: skip */
        }
        double val[N_POL];
        run_policies(&in, c, dem, nd, dem, nd, cap, val);
        cr_assert_float_eq(val[N_POL - 1], br.best, 1e-9 * fabs(br.best) + 1e-300,
                           "%s instance %d objective %d capacity %llu: oracle %.12g, brute force %.12g (%llu SubGraphs)",
                           net, inst, c->objective, (unsigned long long)cap, val[N_POL - 1], br.best,
                           (unsigned long long)br.nodes);
        for (size_t k = 0; k + 1 < N_POL; k++)
            cr_assert_leq(val[k], br.best * (1 + 1e-9) + 1e-300, "%s beats the brute force", all_policies[k]);
        done++;
        cache_clear(c);
        free(c);
    }
    cr_assert_geq(done, n_inst / 2, "only %d of %d instances were small enough", done, n_inst);
    free(br.opt);
    free(br.o0);
    free(br.on);
    inst_close(&in);
}

Test(oracle, equals_brute_force_on_tiny_instances_mbv3, .timeout = 600)
{
    oracle_brute("ofa-mbv3-w1.0", 12, 7);
}

Test(oracle, equals_brute_force_on_tiny_instances_resnet50, .timeout = 600)
{
    oracle_brute("ofa-resnet50", 9, 8);
}

/* The cache-update tail (docs/performance.md, "Scheduler"): the first update
 * with a candidate set sizes the policy's workspace for every window drawn
 * from the candidates, so no later update reallocates (a buffer grown inside
 * an update took its page faults there). */
static void no_growth_after_first_update(const char *net, int objective)
{
    instance in;
    inst_open_n(&in, net, UINT32_MAX);
    sushi_policy *p = NULL;
    sushi_subgraph *g = NULL;
    cr_assert_eq(sushi_policy_create(in.sn, "sushi", &p), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_create(in.sn, &g), SUSHI_OK);
    const uint32_t n = in.n_subs;
    cr_assert_eq(n, in.sn->n_cand);
    sav_cache sav;
    memset(&sav, 0, sizeof sav);
    sav.b = in.b;
    sav.objective = objective;
    bool time = objective != SUSHI_OBJECTIVE_BYTES;
    uint64_t seed = 99;
    const sushi_subnet *win[100];
    size_t after_first = 0;
    for (int k = 0; k < 120; k++) {
        /* the first window is small: later ones are larger and more varied */
        uint32_t d = k == 0 ? 1 : 1 + (uint32_t)(rng_next(&seed) % 12), pick[12];
        for (uint32_t j = 0; j < d; j++)
            pick[j] = (uint32_t)(rng_next(&seed) % n);
        for (int j = 0; j < 100; j++)
            win[j] = in.subs[pick[rng_next(&seed) % d]];
        sushi_policy_view v = { .size = sizeof v, .supernet = in.sn, .capacity_bytes = 4750000, .window = win,
                                .n_window = 100, .candidates = (const sushi_subnet *const *)in.subs,
                                .n_candidates = n, .objective = objective,
                                .tile_savings = time ? cache_get : NULL, .tile_savings_user = time ? &sav : NULL };
        cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_OK);
        if (k == 0)
            after_first = sushi_policy_ws_grows();
        else
            cr_assert_eq(sushi_policy_ws_grows(), after_first, "%s, objective %d: window %d (%u SubNets) grew the workspace",
                         net, objective, k, d);
    }
    cache_clear(&sav);
    sushi_subgraph_destroy(g);
    sushi_policy_destroy(p);
    inst_close(&in);
}

Test(objective, no_workspace_growth_after_the_first_update_bytes)
{
    no_growth_after_first_update("ofa-resnet50", SUSHI_OBJECTIVE_BYTES);
    no_growth_after_first_update("ofa-mbv3-w1.0", SUSHI_OBJECTIVE_BYTES);
}

Test(objective, no_workspace_growth_after_the_first_update_time)
{
    no_growth_after_first_update("ofa-resnet50", SUSHI_OBJECTIVE_TIME);
}
