/* SushiSched: selection, fallback, reload charging, statistics, the built-in
 * caching policies and query traces.
 *
 * Besides the built-in "null" backend (latency = MACs x 1 ns, independent of
 * what is resident) the tests register "lin", a backend whose latency model
 * depends on the resident SubGraph: latency = MACs x 0.05 ns + off-chip
 * weight bytes x 1 ns, reload = resident bytes x 1 ns. Its cost() and run()
 * agree, so it is "a correct latency model" for the SLO guarantee. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "internal.h"
#include "sushi/input.h"
#include "sushi/sched.h"
#include "sushi/trace.h"

/* ------------------------------------------------------------ lin backend */

typedef struct lin_state {
    const sushi_supernet *sn;
    sushi_subgraph *res;
    double pb_bytes;
} lin_state;

static int lin_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    lin_state *st = calloc(1, sizeof *st);
    st->sn = sn;
    st->pb_bytes = 2e6;
    int rc = sushi_subgraph_create(sn, &st->res);
    *out = st;
    return rc;
}

static void lin_destroy(void *p)
{
    lin_state *st = p;
    sushi_subgraph_destroy(st->res);
    free(st);
}

static int lin_set_param(void *p, const char *key, double v)
{
    lin_state *st = p;
    if (strcmp(key, "pb_bytes") != 0)
        return SUSHI_ERR_NOT_FOUND;
    st->pb_bytes = v;
    return SUSHI_OK;
}

static int lin_get_param(void *p, const char *key, double *v)
{
    lin_state *st = p;
    if (strcmp(key, "pb_bytes") != 0)
        return SUSHI_ERR_NOT_FOUND;
    *v = st->pb_bytes;
    return SUSHI_OK;
}

static int lin_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    (void)p;
    uint64_t hit = g ? sushi_subgraph_hit_bytes(g, s) : 0;
    out->macs = s->macs;
    out->hit_bytes = hit;
    out->weight_bytes = s->weight_bytes - hit;
    out->offchip_bytes = out->weight_bytes;
    out->latency_s = (double)s->macs * 0.05e-9 + (double)out->weight_bytes * 1e-9;
    out->energy_offchip_j = (double)out->offchip_bytes * 8 * 15e-12;
    out->energy_j = out->energy_offchip_j + (double)s->macs * 0.5e-12;
    return SUSHI_OK;
}

static int lin_set_resident(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    lin_state *st = p;
    if (!g)
        return sushi_subgraph_clear(st->res);
    if ((double)sushi_subgraph_bytes(g) > st->pb_bytes)
        return SUSHI_ERR_RANGE;
    reload->offchip_bytes = reload->weight_bytes = sushi_subgraph_bytes(g);
    reload->latency_s = (double)reload->offchip_bytes * 1e-9;
    reload->energy_offchip_j = reload->energy_j = (double)reload->offchip_bytes * 8 * 15e-12;
    return sushi_subgraph_copy(st->res, g);
}

static size_t g_in_len;
static double g_in_first, g_in_last; /* input[0], input[len-1] of the last run */
static float g_in_copy[3 * 224 * 224]; /* the whole input of the last run (when it fits) */

static int lin_run(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    lin_state *st = p;
    size_t need = 3u * s->cfg.resolution * s->cfg.resolution;
    if (!a->input || a->input_len != need)
        return SUSHI_ERR_INVALID;
    g_in_len = a->input_len;
    g_in_first = a->input[0];
    g_in_last = a->input[a->input_len - 1];
    if (a->input_len <= sizeof g_in_copy / sizeof g_in_copy[0])
        memcpy(g_in_copy, a->input, a->input_len * sizeof *a->input);
    return cost ? lin_cost(p, s, st->res, cost) : SUSHI_OK;
}

static const sushi_backend_ops lin_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST,
    .description = "test: latency linear in MACs and off-chip weight bytes",
    .create = lin_create,
    .destroy = lin_destroy,
    .set_param = lin_set_param,
    .get_param = lin_get_param,
    .cost = lin_cost,
    .set_resident = lin_set_resident,
    .run = lin_run,
};

/* ---------------------------------------------------------------- fixture */

static char g_log[4096];

static void capture_log(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
}

typedef struct fx {
    sushi_context *ctx;
    sushi_supernet *sn;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
} fx;

static sushi_context *make_ctx(void)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_backend_register(ctx, "lin", &lin_ops, NULL), SUSHI_OK);
    g_log[0] = '\0';
    cr_assert_eq(sushi_context_set_log(ctx, capture_log, NULL, SUSHI_LOG_WARN), SUSHI_OK);
    return ctx;
}

static void fx_open(fx *f, const char *net, const char *backend, const char *policy,
                    const sushi_sched_options *o)
{
    memset(f, 0, sizeof *f);
    f->ctx = make_ctx();
    cr_assert_eq(sushi_supernet_builtin(f->ctx, net, 0, &f->sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(f->sn, backend, &f->b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(f->sn, policy, &f->p), SUSHI_OK);
    int rc = sushi_sched_create(f->sn, f->b, f->p, o, &f->s);
    cr_assert_eq(rc, SUSHI_OK, "sched_create: %s", sushi_status_name(rc));
}

static void fx_close(fx *f)
{
    sushi_sched_destroy(f->s);
    sushi_policy_destroy(f->p);
    sushi_backend_destroy(f->b);
    sushi_supernet_destroy(f->sn);
    sushi_context_destroy(f->ctx);
}

static uint64_t rng_s = 12345;
static double urand(void)
{
    rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_s >> 11) * 0x1.0p-53;
}

/* --------------------------------------------------------------- creation */

Test(sched, create_candidates_sorted_and_pareto)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.pb_bytes = 1 << 20;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "none", &o);
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    cr_assert_eq(sushi_sched_get_info(f.s, &info), SUSHI_OK);
    cr_assert_eq(info.n_with_accuracy, 96);
    cr_assert(info.n_candidates >= 2 && info.n_candidates <= 96);
    cr_assert_eq(info.pb_bytes, 1u << 20);
    cr_assert_str_eq(info.policy, "none");
    cr_assert(info.latency_min_s > 0 && info.latency_min_s < info.latency_max_s);
    double prev = INFINITY;
    for (size_t i = 0; i < info.n_candidates; i++) {
        sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
        cr_assert_eq(sushi_sched_candidate_get(f.s, i, &c), SUSHI_OK);
        cr_assert(c.accuracy <= prev);
        prev = c.accuracy;
        /* not dominated by any table row in (accuracy, MACs, bytes) */
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        sushi_supernet_candidate(f.sn, (size_t)c.table_index, &ci);
        for (uint32_t j = 0; j < f.sn->n_cand; j++) {
            const sushi_candidate *d = &f.sn->cands[j];
            bool dom = d->accuracy >= ci.accuracy && d->macs <= ci.macs && d->weight_bytes <= ci.weight_bytes &&
                       (d->accuracy > ci.accuracy || d->macs < ci.macs || d->weight_bytes < ci.weight_bytes);
            cr_assert(!dom, "candidate %d dominated by %u", c.table_index, j);
        }
    }
    sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
    cr_assert_eq(sushi_sched_candidate_get(f.s, info.n_candidates, &c), SUSHI_ERR_RANGE);
    fx_close(&f);
}

Test(sched, create_all_nan_accuracies_returns_infeasible)
{
    sushi_context *ctx = make_ctx();
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    for (uint32_t i = 0; i < sn->n_cand; i++)
        sn->cands[i].accuracy = NAN;
    sushi_backend *b;
    sushi_policy *p;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
    sushi_sched *s = (sushi_sched *)1;
    cr_assert_eq(sushi_sched_create(sn, b, p, NULL, &s), SUSHI_ERR_INFEASIBLE);
    cr_assert_null(s);
    cr_assert(strstr(g_log, "has an accuracy") != NULL, "log: %s", g_log);
    /* half NaN: only the others count */
    for (uint32_t i = 0; i < sn->n_cand; i++)
        sn->cands[i].accuracy = (i % 2) ? NAN : 0.5 + i * 1e-3;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.pareto = SUSHI_SCHED_PARETO_NONE;
    cr_assert_eq(sushi_sched_create(sn, b, p, &o, &s), SUSHI_OK);
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(s, &info);
    cr_assert_eq(info.n_with_accuracy, sn->n_cand / 2);
    cr_assert_eq(info.n_candidates, sn->n_cand / 2);
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(sched, create_bad_arguments)
{
    fx f;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "none", NULL);
    sushi_sched *s;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 0;
    cr_assert_eq(sushi_sched_create(f.sn, f.b, f.p, &o, &s), SUSHI_ERR_INVALID);
    o = (sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT;
    o.mode = 7;
    cr_assert_eq(sushi_sched_create(f.sn, f.b, f.p, &o, &s), SUSHI_ERR_INVALID);
    o = (sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT;
    o.size = 8;
    cr_assert_eq(sushi_sched_create(f.sn, f.b, f.p, &o, &s), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_sched_create(f.sn, NULL, f.p, NULL, &s), SUSHI_ERR_INVALID);
    /* the null backend has no pb param: AUTO gives 0 and a warning */
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(f.s, &info);
    cr_assert_eq(info.pb_bytes, 0);
    cr_assert(strstr(g_log, "pb_bytes") != NULL);
    sushi_sched_destroy(NULL);
    fx_close(&f);
}

Test(sched, create_reads_and_writes_backend_pb)
{
    sushi_context *ctx = make_ctx();
    sushi_supernet *sn;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn, "lin", &b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn, b, p, NULL, &s), SUSHI_OK);
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(s, &info);
    cr_assert_eq(info.pb_bytes, 2000000); /* lin's default */
    sushi_sched_destroy(s);
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.pb_bytes = 777777;
    cr_assert_eq(sushi_sched_create(sn, b, p, &o, &s), SUSHI_OK);
    double v;
    cr_assert_eq(sushi_backend_get_param(b, "pb_bytes", &v), SUSHI_OK);
    cr_assert_eq(v, 777777.0);
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ---------------------------------------------------------------- selection */

/* First position (most accurate) meeting slo (0: any) and floor; -1 none. */
static long ref_first(const sushi_sched_candidate *c, size_t n, double slo, double floor)
{
    for (size_t i = 0; i < n; i++)
        if ((slo <= 0 || c[i].predicted_s <= slo) && c[i].accuracy >= floor)
            return (long)i;
    return -1;
}

/* Fastest position meeting floor (earliest on ties); -1 none. */
static long ref_fastest(const sushi_sched_candidate *c, size_t n, double floor)
{
    long r = -1;
    for (size_t i = 0; i < n; i++)
        if (c[i].accuracy >= floor && (r < 0 || c[i].predicted_s < c[r].predicted_s))
            r = (long)i;
    return r;
}

/* Brute-force reference of the documented selection rules, over the
 * scheduler's own candidate list and predictions. Returns a table index. */
static int32_t reference_pick(const sushi_sched *s, int mode, int fallback, double floor, double slo,
                              bool *fb)
{
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(s, &info);
    size_t n = info.n_candidates;
    static sushi_sched_candidate c[1024];
    cr_assert(n <= 1024);
    for (size_t i = 0; i < n; i++) {
        c[i] = (sushi_sched_candidate)SUSHI_SCHED_CANDIDATE_INIT;
        sushi_sched_candidate_get(s, i, &c[i]);
    }
    bool a = floor > 0, l = slo > 0;
    long pick;
    *fb = false;
    if (mode == SUSHI_SCHED_MOST_ACCURATE) {
        pick = l ? ref_first(c, n, slo, 0) : 0;
        if (pick < 0) {
            *fb = true;
            pick = ref_fastest(c, n, 0);
        }
    } else if (mode == SUSHI_SCHED_FASTEST) {
        pick = ref_fastest(c, n, floor);
        if (pick < 0) {
            *fb = true;
            pick = 0;
        }
    } else if (!a && !l) {
        pick = 0;
    } else if (!l) {
        pick = ref_fastest(c, n, floor);
        if (pick < 0) {
            *fb = true;
            pick = 0;
        }
    } else if (!a) {
        pick = ref_first(c, n, slo, 0);
        if (pick < 0) {
            *fb = true;
            pick = ref_fastest(c, n, 0);
        }
    } else {
        pick = ref_first(c, n, slo, floor);
        if (pick < 0) {
            *fb = true;
            long fa = ref_fastest(c, n, floor), ml = ref_first(c, n, slo, 0);
            if (fallback == SUSHI_SCHED_FALLBACK_LATENCY_FIRST)
                pick = ml >= 0 ? ml : ref_fastest(c, n, 0);
            else
                pick = fa >= 0 ? fa : (ml >= 0 ? ml : ref_fastest(c, n, 0));
        }
    }
    return c[pick].table_index;
}

/* Hand-built table: accuracies unrelated to cost, so the Pareto filter is
 * off and the prefix-minimum search is really exercised. */
static void scramble_accuracies(sushi_supernet *sn, uint64_t seed)
{
    rng_s = seed;
    for (uint32_t i = 0; i < sn->n_cand; i++)
        sn->cands[i].accuracy = 0.60 + 0.2 * urand();
}

Test(sched, select_matches_reference_on_hand_built_tables)
{
    static const int modes[3] = { SUSHI_SCHED_MOST_ACCURATE, SUSHI_SCHED_FASTEST, SUSHI_SCHED_BOTH };
    for (int m = 0; m < 3; m++)
        for (int fbk = 0; fbk < 2; fbk++) {
            sushi_context *ctx = make_ctx();
            sushi_supernet *sn;
            sushi_backend *b;
            sushi_policy *p;
            sushi_sched *s;
            cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
            scramble_accuracies(sn, 99 + (uint64_t)m);
            cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
            cr_assert_eq(sushi_policy_create(sn, "none", &p), SUSHI_OK);
            sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
            o.mode = modes[m];
            o.fallback = fbk;
            o.pareto = SUSHI_SCHED_PARETO_NONE;
            o.pb_bytes = 0;
            cr_assert_eq(sushi_sched_create(sn, b, p, &o, &s), SUSHI_OK);
            sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
            sushi_sched_get_info(s, &info);
            cr_assert_eq(info.n_candidates, 96);
            for (int k = 0; k < 3000; k++) {
                sushi_query q = SUSHI_QUERY_INIT;
                q.arrival_s = (double)k; /* 1 s apart: no waiting, the budget is the SLO */
                double u = urand();
                q.min_accuracy = u < 0.25 ? 0.0 : 0.58 + 0.25 * urand();
                double v = urand();
                q.slo_s = v < 0.25 ? 0.0 : info.latency_min_s * 0.8 + (info.latency_max_s - info.latency_min_s) * urand();
                if (k % 97 == 0) { /* exactly a candidate's latency: <= counts */
                    sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
                    sushi_sched_candidate_get(s, (size_t)k % info.n_candidates, &c);
                    q.slo_s = c.predicted_s;
                }
                bool fb;
                int32_t want = reference_pick(s, modes[m], fbk, q.min_accuracy, q.slo_s, &fb);
                sushi_result r = SUSHI_RESULT_INIT;
                cr_assert_eq(sushi_sched_submit(s, &q, &r), SUSHI_OK);
                cr_assert_eq(r.candidate, want, "mode %d fallback %d query %d (acc %g slo %g): got %d want %d",
                             modes[m], fbk, k, q.min_accuracy, q.slo_s, r.candidate, want);
                cr_assert_eq(r.fallback, fb);
                cr_assert_eq(r.slo_met, q.slo_s == 0 || r.latency_s <= q.slo_s);
                cr_assert_eq(r.accuracy_met, q.min_accuracy == 0 || r.accuracy >= q.min_accuracy);
                cr_assert(sushi_config_equal(&r.config, &sn->cands[r.candidate].config));
            }
            sushi_sched_destroy(s);
            sushi_policy_destroy(p);
            sushi_backend_destroy(b);
            sushi_supernet_destroy(sn);
            sushi_context_destroy(ctx);
        }
}

Test(sched, select_specific_cases)
{
    /* Four-row table: (accuracy, latency) = A (0.80, slow), B (0.75, mid),
     * C (0.70, fast), D (0.65, fastest) via MACs of the first four rows. */
    sushi_context *ctx = make_ctx();
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    /* rows 0..3 are min@128..min@224 (MACs ascending); keep only them */
    for (uint32_t i = 0; i < sn->n_cand; i++)
        sn->cands[i].accuracy = NAN;
    sn->cands[3].accuracy = 0.80, sn->cands[2].accuracy = 0.75;
    sn->cands[1].accuracy = 0.70, sn->cands[0].accuracy = 0.65;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "none", &p), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn, b, p, NULL, &s), SUSHI_OK);
    double lat[4];
    for (int i = 0; i < 4; i++)
        lat[i] = (double)sn->cands[i].macs * 1e-9;
    struct {
        double acc, slo;
        int want;
        bool fb, slo_met, acc_met;
    } cases[] = {
        { 0, 0, 3, false, true, true },                  /* no constraint: most accurate */
        { 0, lat[2], 2, false, true, true },             /* SLO exactly B's latency */
        { 0, lat[2] * 0.999, 1, false, true, true },     /* just below: C */
        { 0, lat[0] * 0.5, 0, true, false, true },       /* nothing meets: fastest */
        { 0.72, 0, 2, false, true, true },               /* floor: fastest meeting it = B */
        { 0.90, 0, 3, true, true, false },               /* unreachable floor: most accurate */
        { 0.72, lat[3], 3, false, true, true },          /* both: most accurate meeting both */
        { 0.78, lat[2], 3, true, false, true },          /* none both: fastest meeting floor (A) */
        { 0.90, lat[1], 1, true, true, false },          /* floor unreachable: most accurate meeting SLO */
        { 0.90, lat[0] * 0.5, 0, true, false, false },   /* neither: fastest */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = cases[k].acc;
        q.slo_s = cases[k].slo;
        q.arrival_s = (double)k; /* 1 s apart: no query waits, the budget is the SLO */
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(s, &q, &r), SUSHI_OK);
        cr_assert_eq(r.queue_s, 0.0);
        cr_assert_eq(r.candidate, cases[k].want, "case %zu: got %d", k, r.candidate);
        cr_assert_eq(r.fallback, cases[k].fb, "case %zu", k);
        cr_assert_eq(r.slo_met, cases[k].slo_met, "case %zu", k);
        cr_assert_eq(r.accuracy_met, cases[k].acc_met, "case %zu", k);
        cr_assert_float_eq(r.latency_s, lat[r.candidate], 1e-15);
    }
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(sched, submit_rejects_bad_queries)
{
    fx f;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "none", NULL);
    sushi_result r = SUSHI_RESULT_INIT;
    sushi_query q = SUSHI_QUERY_INIT;
    q.min_accuracy = NAN;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.min_accuracy = -0.1;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.min_accuracy = 1.5;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_RANGE);
    q.min_accuracy = 0;
    q.slo_s = -1;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.slo_s = INFINITY;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.slo_s = 0;
    q.arrival_s = NAN;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.arrival_s = 0;
    q.size = 4;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_ABI);
    q.size = sizeof q;
    r.size = 4;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_ABI);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.queries, 0);
    fx_close(&f);
}

/* ------------------------------------------------ SLO under a correct model */

static void run_slo_guarantee(int reload_mode, const char *policy)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 16;
    o.reload = reload_mode;
    o.pb_bytes = 1500000;
    fx_open(&f, "ofa-mbv3-w1.0", "lin", policy, &o);
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(f.s, &info);
    rng_s = 777;
    uint64_t feasible = 0, met = 0;
    for (int k = 0; k < 1500; k++) {
        sushi_query q = SUSHI_QUERY_INIT;
        q.slo_s = info.latency_min_s * 0.7 + (info.latency_max_s - info.latency_min_s * 0.7) * urand();
        q.min_accuracy = (k % 3 == 0) ? 0.70 + 0.1 * urand() : 0.0;
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        /* the table now is the one the decision used */
        bool any = false;
        for (size_t i = 0; i < info.n_candidates && !any; i++) {
            sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
            sushi_sched_candidate_get(f.s, i, &c);
            /* the model is exact: what cost() predicts is what run() charges */
            sushi_cost ct = SUSHI_COST_INIT;
            sushi_subgraph *g;
            sushi_subgraph_create(f.sn, &g);
            sushi_sched_get_resident(f.s, g);
            sushi_backend_cost(f.b, c.subnet, g, &ct);
            sushi_subgraph_destroy(g);
            cr_assert_float_eq(ct.latency_s, c.predicted_s, 1e-15);
            any = c.predicted_s + r.reload_s <= q.slo_s && c.accuracy >= q.min_accuracy;
        }
        if (any) {
            feasible++;
            cr_assert(r.slo_met, "query %d: SLO %g missed (%g) although a SubNet was feasible", k, q.slo_s,
                      r.latency_s);
        }
        met += r.slo_met;
        cr_assert_float_eq(r.latency_s, r.predicted_s, 1e-12);
        if (reload_mode == SUSHI_SCHED_RELOAD_SEPARATE)
            cr_assert_eq(r.reload_bytes, 0);
    }
    cr_assert(feasible > 500, "test must exercise feasible queries (%llu)", (unsigned long long)feasible);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.slo_queries, 1500);
    cr_assert_float_eq(st.slo_attainment, (double)met / 1500.0, 1e-12);
    fx_close(&f);
}

Test(sched, slo_never_violated_when_feasible_reload_on_next_query) { run_slo_guarantee(SUSHI_SCHED_RELOAD_NEXT_QUERY, "sushi"); }
Test(sched, slo_never_violated_when_feasible_reload_separate) { run_slo_guarantee(SUSHI_SCHED_RELOAD_SEPARATE, "lru"); }

Test(sched, reload_charged_to_next_query)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 5;
    o.pb_bytes = 1000000;
    fx_open(&f, "ofa-mbv3-w1.0", "lin", "sushi", &o);
    sushi_query q = SUSHI_QUERY_INIT;
    q.min_accuracy = 0.75;
    uint64_t reload_total = 0;
    for (int k = 0; k < 12; k++) {
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        cr_assert_eq(r.index, (uint64_t)k);
        cr_assert_eq(r.updated, k == 5 || k == 10, "query %d", k);
        if (k == 5) {
            /* the first update loads ~1 MB; charged here */
            cr_assert(r.reload_bytes > 900000 && r.reload_bytes <= 1000000, "%llu",
                      (unsigned long long)r.reload_bytes);
            cr_assert_float_eq(r.reload_s, r.reload_bytes * 1e-9, 1e-15);
            cr_assert_float_eq(r.latency_s, r.predicted_s, 1e-15);
            cr_assert(r.hit_bytes > 0);
        } else {
            cr_assert_eq(r.reload_bytes, 0, "query %d", k); /* k == 10: same SubGraph, no reload */
        }
        reload_total += r.reload_bytes;
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.updates, 2);
    cr_assert_eq(st.reloads, 1);
    cr_assert_eq(st.reload_bytes, reload_total);
    fx_close(&f);
}

Test(sched, stats_match_their_definitions)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 20;
    o.pb_bytes = 800000;
    o.reload = SUSHI_SCHED_RELOAD_SEPARATE;
    fx_open(&f, "ofa-resnet50", "lin", "sushi", &o);
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(f.s, &info);
    g.seed = 5, g.n_queries = 401, g.dwell = 30, g.both = 0.3;
    g.acc_lo = info.accuracy_min, g.acc_hi = info.accuracy_max;
    g.slo_lo_s = info.latency_min_s, g.slo_hi_s = info.latency_max_s;
    sushi_trace *t;
    cr_assert_eq(sushi_trace_generate(f.ctx, &g, &t), SUSHI_OK);
    size_t n = sushi_trace_length(t);
    double *lat = calloc(n, sizeof *lat);
    double sum = 0, acc = 0;
    uint64_t hit = 0, wb = 0, off = 0, sq = 0, sm = 0, aq = 0, am = 0;
    for (size_t i = 0; i < n; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(t, i, &e);
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = e.min_accuracy, q.slo_s = e.slo_s, q.arrival_s = e.t_s;
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        lat[i] = r.latency_s;
        sum += r.latency_s;
        acc += r.accuracy;
        hit += r.hit_bytes, wb += r.weight_bytes, off += r.offchip_bytes;
        if (q.slo_s > 0)
            sq++, sm += r.slo_met;
        if (q.min_accuracy > 0)
            aq++, am += r.accuracy_met;
    }
    /* sort by hand (insertion) to stay independent of the library's sort */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && lat[j - 1] > lat[j]; j--) {
            double x = lat[j];
            lat[j] = lat[j - 1];
            lat[j - 1] = x;
        }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_eq(st.queries, n);
    cr_assert(st.latency_exact);
    cr_assert_float_eq(st.latency_mean_s, sum / n, 1e-12);
    cr_assert_eq(st.latency_p50_s, lat[(size_t)ceil(0.5 * n) - 1]);
    cr_assert_eq(st.latency_p99_s, lat[(size_t)ceil(0.99 * n) - 1]);
    cr_assert_eq(st.latency_max_s, lat[n - 1]);
    cr_assert_float_eq(st.accuracy_mean, acc / n, 1e-12);
    cr_assert_eq(st.slo_queries, sq);
    cr_assert_float_eq(st.slo_attainment, (double)sm / sq, 1e-12);
    cr_assert_eq(st.accuracy_queries, aq);
    cr_assert_float_eq(st.accuracy_attainment, (double)am / aq, 1e-12);
    cr_assert_eq(st.hit_bytes, hit);
    cr_assert_eq(st.weight_bytes, wb);
    cr_assert_float_eq(st.pb_hit_ratio, (double)hit / wb, 1e-12);
    cr_assert(st.pb_hit_ratio > 0.0);
    /* separate reloads: not in any query, but in the totals */
    cr_assert(st.reload_bytes > 0);
    cr_assert_eq(st.offchip_bytes, off + st.reload_bytes);
    cr_assert_eq(st.updates, (n - 1) / 20);
    cr_assert(st.decision_mean_ns > 0);
    cr_assert_eq(sushi_sched_reset_stats(f.s), SUSHI_OK);
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.queries, 0);
    cr_assert(isnan(st.slo_attainment));
    free(lat);
    sushi_trace_destroy(t);
    fx_close(&f);
}

Test(sched, reservoir_bounds_latency_samples)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.latency_samples = 100;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "none", &o);
    for (int k = 0; k < 1000; k++) {
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = (k % 2) ? 0.79 : 0.72; /* two SubNets, half each */
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert(!st.latency_exact);
    cr_assert(st.latency_p50_s > 0 && st.latency_p99_s <= st.latency_max_s);
    fx_close(&f);
}

Test(sched, runs_backend_when_input_given)
{
    fx f;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "none", NULL);
    sushi_query q = SUSHI_QUERY_INIT;
    q.min_accuracy = 0.6;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    uint32_t res = r.config.resolution;
    size_t len = 3u * res * res;
    float *in = calloc(len, sizeof *in), out[1000];
    out[0] = 42.0f;
    q.input = in, q.input_len = len, q.output = out, q.output_len = 1000;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.ran);
    cr_assert_eq(out[0], 0.0f);
    /* an image at another resolution is resized to the served SubNet's */
    cr_assert(res < 224);
    size_t len2 = 3u * 224 * 224;
    float *in2 = calloc(len2, sizeof *in2);
    q.input = in2, q.input_len = len2;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.ran);
    cr_assert_eq(r.config.resolution, res);
    q.input_len = 5; /* not an image of the SuperNet's channels: the backend's error, nothing counted */
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.queries, 3);
    free(in);
    free(in2);
    fx_close(&f);
}

Test(sched, input_resized_bilinearly_to_served_resolution)
{
    fx f;
    fx_open(&f, "ofa-mbv3-w1.0", "lin", "none", NULL);
    /* 3 x 8 x 8 ramp along x: value = x (channel c adds 100 c) */
    float img[3 * 8 * 8];
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                img[c * 64 + y * 8 + x] = (float)(x + 100 * c);
    sushi_query q = SUSHI_QUERY_INIT;
    q.min_accuracy = 0.6; /* the fastest: min@128 */
    q.input = img, q.input_len = sizeof img / sizeof img[0];
    float out[1000];
    q.output = out, q.output_len = 1000;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.ran);
    uint32_t res = r.config.resolution;
    cr_assert_eq(g_in_len, 3u * res * res);
    /* upsampling 8 -> res with half-pixel centres: the edges clamp to the
     * first and last source columns */
    cr_assert_float_eq(g_in_first, 0.0, 1e-6);
    cr_assert_float_eq(g_in_last, 7.0 + 200.0, 1e-4);
    fx_close(&f);
}

/* The CLI's `serve --dataset` relies on this: an 8-bit image turned into floats
 * by sushi_input_from_u8() at its own size reaches the chosen SubNet exactly
 * (bit for bit) as sushi_input_from_u8() would build it at that SubNet's
 * resolution, so the caller need not know the choice in advance. */
Test(sched, u8_input_at_source_size_equals_input_built_at_served_resolution)
{
    fx f;
    fx_open(&f, "ofa-mbv3-w1.0", "lin", "none", NULL);
    enum { R = 224 };
    static uint8_t px[R * R * 3];
    static float x[3 * R * R], want[3 * R * R];
    uint32_t v = 7;
    for (size_t i = 0; i < sizeof px; i++) {
        v = v * 1664525u + 1013904223u;
        px[i] = (uint8_t)(v >> 24);
    }
    cr_assert_eq(sushi_input_from_u8(f.sn, px, R, R, 3, R, x, 3 * R * R), SUSHI_OK);
    sushi_query q = SUSHI_QUERY_INIT;
    q.min_accuracy = 0.6; /* the fastest: a resolution below 224 */
    q.input = x, q.input_len = 3 * R * R;
    float out[1000];
    q.output = out, q.output_len = 1000;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.ran);
    uint32_t res = r.config.resolution;
    cr_assert(res < R);
    cr_assert_eq(g_in_len, 3u * res * res);
    cr_assert_eq(sushi_input_from_u8(f.sn, px, R, R, 3, res, want, 3 * R * R), SUSHI_OK);
    cr_assert_eq(memcmp(g_in_copy, want, g_in_len * sizeof(float)), 0,
                 "the resized input differs from sushi_input_from_u8 at %u", res);
    fx_close(&f);
}

/* ----------------------------------------------------------------- policies */

static const char *const all_policies[] = { "none", "static", "sushi", "lru", "lfu", "oracle", "test-first", NULL };

Test(policy, builtins_registered)
{
    sushi_context *ctx = make_ctx();
    for (int i = 0; all_policies[i]; i++) {
        bool found = false;
        for (size_t k = 0; sushi_policy_name(ctx, k); k++)
            found |= strcmp(sushi_policy_name(ctx, k), all_policies[i]) == 0;
        cr_assert(found, "policy %s not registered", all_policies[i]);
    }
    sushi_context_destroy(ctx);
}

Test(policy, all_obey_capacity)
{
    static const uint64_t caps[] = { 0, 20000, 300000, 2000000, 9000000 };
    for (int pi = 0; all_policies[pi]; pi++)
        for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
            fx f;
            sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
            o.window = 7;
            o.pb_bytes = caps[ci];
            fx_open(&f, ci % 2 ? "ofa-resnet50" : "ofa-mbv3-w1.0", "null", all_policies[pi], &o);
            sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
            sushi_sched_get_info(f.s, &info);
            sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
            g.seed = ci * 10 + (uint64_t)pi, g.n_queries = 150, g.dwell = 5, g.n_regimes = 6;
            g.acc_lo = info.accuracy_min, g.acc_hi = info.accuracy_max;
            g.slo_lo_s = info.latency_min_s, g.slo_hi_s = info.latency_max_s;
            sushi_trace *t;
            cr_assert_eq(sushi_trace_generate(NULL, &g, &t), SUSHI_OK);
            sushi_query *qs = calloc(150, sizeof *qs);
            for (size_t i = 0; i < 150; i++) {
                sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
                sushi_trace_get(t, i, &e);
                qs[i] = (sushi_query)SUSHI_QUERY_INIT;
                qs[i].min_accuracy = e.min_accuracy, qs[i].slo_s = e.slo_s;
            }
            sushi_sched_set_lookahead(f.s, qs, 150);
            uint64_t updates = 0;
            for (size_t i = 0; i < 150; i++) {
                sushi_result r = SUSHI_RESULT_INIT;
                int rc = sushi_sched_submit(f.s, &qs[i], &r);
                cr_assert_eq(rc, SUSHI_OK, "%s cap %llu: %s", all_policies[pi], (unsigned long long)caps[ci],
                             sushi_status_name(rc));
                sushi_sched_get_info(f.s, &info);
                cr_assert(info.resident_bytes <= caps[ci], "%s: %llu > %llu", all_policies[pi],
                          (unsigned long long)info.resident_bytes, (unsigned long long)caps[ci]);
                cr_assert(r.hit_bytes <= r.weight_bytes);
                updates += r.updated;
            }
            cr_assert_eq(updates, 149 / 7);
            sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
            sushi_sched_get_stats(f.s, &st);
            if (caps[ci] >= 300000 && strcmp(all_policies[pi], "none") != 0)
                cr_assert(st.hit_bytes > 0, "%s cap %llu: no hits", all_policies[pi],
                          (unsigned long long)caps[ci]);
            if (strcmp(all_policies[pi], "none") == 0 || caps[ci] == 0)
                cr_assert_eq(st.hit_bytes, 0);
            free(qs);
            sushi_trace_destroy(t);
            fx_close(&f);
        }
}

/* Windows of one repeated SubNet: a policy that has seen only s caches as
 * much of s as fits; with room for all of s, all of it. */
Test(policy, single_subnet_window_is_cached)
{
    const char *pols[] = { "sushi", "lru", "lfu", "oracle" };
    for (int pi = 0; pi < 4; pi++) {
        fx f;
        sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
        o.window = 10;
        o.pb_bytes = 8000000;
        fx_open(&f, "ofa-mbv3-w1.0", "null", pols[pi], &o);
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = 0.76;
        sushi_result r = SUSHI_RESULT_INIT;
        for (int k = 0; k < 11; k++)
            cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        cr_assert(r.updated);
        cr_assert_eq(r.hit_bytes, r.weight_bytes, "%s: hit %llu of %llu", pols[pi],
                     (unsigned long long)r.hit_bytes, (unsigned long long)r.weight_bytes);
        fx_close(&f);
    }
}

/* Demand alternates between two regimes every Q queries, aligned with the
 * updates: sushi always caches the previous window (the wrong regime), the
 * oracle the coming one; none caches nothing. */
static uint64_t hits_on_alternating(const char *policy, uint64_t cap, bool lookahead)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 25;
    o.pb_bytes = cap;
    fx_open(&f, "ofa-resnet50", "null", policy, &o);
    enum { N = 400 };
    sushi_query *qs = calloc(N, sizeof *qs);
    for (int i = 0; i < N; i++) {
        qs[i] = (sushi_query)SUSHI_QUERY_INIT;
        qs[i].min_accuracy = ((i / 25) % 2) ? 0.79 : 0.745;
    }
    if (lookahead)
        sushi_sched_set_lookahead(f.s, qs, N);
    for (int i = 0; i < N; i++) {
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &qs[i], &r), SUSHI_OK);
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    free(qs);
    fx_close(&f);
    return st.hit_bytes;
}

Test(policy, oracle_beats_sushi_beats_none_on_alternating_demand)
{
    static const uint64_t caps[] = { 2000000, 6000000, 16000000 };
    for (size_t c = 0; c < 3; c++) {
        uint64_t h_none = hits_on_alternating("none", caps[c], false);
        uint64_t h_sushi = hits_on_alternating("sushi", caps[c], false);
        uint64_t h_oracle = hits_on_alternating("oracle", caps[c], true);
        uint64_t h_oracle_blind = hits_on_alternating("oracle", caps[c], false);
        cr_assert_eq(h_none, 0);
        cr_assert(h_sushi > h_none);
        cr_assert(h_oracle > h_sushi, "cap %llu: oracle %llu <= sushi %llu", (unsigned long long)caps[c],
                  (unsigned long long)h_oracle, (unsigned long long)h_sushi);
        cr_assert_eq(h_oracle_blind, h_sushi); /* without a lookahead the oracle is sushi */
    }
}

/* Stable demand (one regime): sushi is as good as the oracle after warm-up
 * (within 0.1 %: the oracle's knapsack is exact, sushi's greedy). */
Test(policy, sushi_matches_oracle_on_stable_demand)
{
    fx f[2];
    const char *pol[2] = { "sushi", "oracle" };
    uint64_t hits[2];
    for (int k = 0; k < 2; k++) {
        sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
        o.window = 20;
        o.pb_bytes = 3000000;
        fx_open(&f[k], "ofa-mbv3-w1.0", "null", pol[k], &o);
        sushi_query qs[200];
        for (int i = 0; i < 200; i++) {
            qs[i] = (sushi_query)SUSHI_QUERY_INIT;
            qs[i].min_accuracy = 0.74 + 0.01 * (i % 4); /* every window: 5 of each */
        }
        if (k == 1)
            sushi_sched_set_lookahead(f[k].s, qs, 200);
        for (int i = 0; i < 200; i++) {
            sushi_result r = SUSHI_RESULT_INIT;
            cr_assert_eq(sushi_sched_submit(f[k].s, &qs[i], &r), SUSHI_OK);
        }
        sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
        sushi_sched_get_stats(f[k].s, &st);
        hits[k] = st.hit_bytes;
        fx_close(&f[k]);
    }
    /* the oracle solves its knapsack exactly (0.3); sushi's greedy may
     * leave a few hundred bytes of the PB unused, nothing more */
    cr_assert_geq(hits[1], hits[0], "sushi %llu, oracle %llu", (unsigned long long)hits[0],
                  (unsigned long long)hits[1]);
    cr_assert_geq((double)hits[0], 0.999 * (double)hits[1], "sushi %llu, oracle %llu", (unsigned long long)hits[0],
                  (unsigned long long)hits[1]);
    cr_assert(hits[0] > 0);
}

/* The sushi optimiser against simple alternatives on random windows: the
 * window's most frequent SubNet and its first SubNet, each cut to capacity
 * in network order, and the common SubGraph of the whole window: never
 * worse, strictly better in most comparisons. */
Test(policy, sushi_beats_simple_subgraphs_on_random_windows)
{
    sushi_context *ctx = make_ctx();
    const char *nets[2] = { "ofa-mbv3-w1.0", "ofa-resnet50" };
    for (int ni = 0; ni < 2; ni++) {
        sushi_supernet *sn;
        cr_assert_eq(sushi_supernet_builtin(ctx, nets[ni], 0, &sn), SUSHI_OK);
        sushi_policy *p;
        cr_assert_eq(sushi_policy_create(sn, "sushi", &p), SUSHI_OK);
        sushi_subnet *subs[96];
        for (uint32_t i = 0; i < sn->n_cand; i++)
            cr_assert_eq(sushi_subnet_create(sn, &sn->cands[i].config, &subs[i]), SUSHI_OK);
        sushi_subgraph *g, *alt;
        sushi_subgraph_create(sn, &g);
        sushi_subgraph_create(sn, &alt);
        rng_s = 4242 + (uint64_t)ni;
        int wins = 0, comparisons = 0;
        for (int trial = 0; trial < 40; trial++) {
            const sushi_subnet *win[100];
            int k = 1 + (int)(urand() * 4); /* 1..4 distinct SubNets */
            int pick[4];
            for (int j = 0; j < k; j++)
                pick[j] = (int)(urand() * sn->n_cand);
            for (int j = 0; j < 100; j++)
                win[j] = subs[pick[(int)(urand() * urand() * k)]];
            uint64_t cap = (uint64_t)(urand() * (ni ? 30e6 : 6e6));
            sushi_policy_view v = { .size = sizeof v, .supernet = sn, .capacity_bytes = cap,
                                    .window = win, .n_window = 100 };
            uint64_t t0 = 0;
            cr_assert_eq(sushi_policy_choose(p, &v, g), SUSHI_OK);
            (void)t0;
            cr_assert(sushi_subgraph_bytes(g) <= cap);
            uint64_t h = 0;
            for (int j = 0; j < 100; j++)
                h += sushi_subgraph_hit_bytes(g, win[j]);
            /* alternatives */
            for (int a = 0; a < 3; a++) {
                if (a == 0)
                    sushi_subgraph_set_subnet(alt, win[0]);
                else if (a == 1) {
                    sushi_subgraph_set_subnet(alt, win[0]);
                    for (int j = 1; j < 100; j++)
                        sushi_subgraph_intersect_subnet(alt, win[j]);
                } else {
                    int cnt[96] = { 0 }, best = 0;
                    for (int j = 0; j < 100; j++)
                        cnt[win[j]->candidate]++;
                    for (int j = 0; j < 96; j++)
                        if (cnt[j] > cnt[best])
                            best = j;
                    sushi_subgraph_set_subnet(alt, subs[best]);
                }
                sushi_subgraph_truncate(alt, cap);
                uint64_t ha = 0;
                for (int j = 0; j < 100; j++)
                    ha += sushi_subgraph_hit_bytes(alt, win[j]);
                cr_assert(h >= ha, "%s trial %d alt %d cap %llu: sushi %llu < %llu", nets[ni], trial, a,
                          (unsigned long long)cap, (unsigned long long)h, (unsigned long long)ha);
                wins += h > ha;
                comparisons++;
            }
        }
        cr_assert(wins * 2 > comparisons, "%s: sushi strictly better in only %d of %d comparisons", nets[ni],
                  wins, comparisons);
        sushi_subgraph_destroy(g);
        sushi_subgraph_destroy(alt);
        for (uint32_t i = 0; i < sn->n_cand; i++)
            sushi_subnet_destroy(subs[i]);
        sushi_policy_destroy(p);
        sushi_supernet_destroy(sn);
    }
    sushi_context_destroy(ctx);
}

Test(policy, static_never_changes)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 10;
    o.pb_bytes = 2000000;
    fx_open(&f, "ofa-mbv3-w1.0", "null", "static", &o);
    sushi_subgraph *first, *now;
    sushi_subgraph_create(f.sn, &first);
    sushi_subgraph_create(f.sn, &now);
    for (int i = 0; i < 100; i++) {
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = i < 50 ? 0.72 : 0.795; /* demand moves after the first window */
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        if (i == 10) {
            sushi_sched_get_resident(f.s, first);
            cr_assert(sushi_subgraph_bytes(first) > 0);
        }
        if (i > 10) {
            sushi_sched_get_resident(f.s, now);
            cr_assert(sushi_subgraph_contains(first, now) && sushi_subgraph_contains(now, first));
        }
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, &st);
    cr_assert_eq(st.reloads, 1);
    sushi_subgraph_destroy(first);
    sushi_subgraph_destroy(now);
    fx_close(&f);
}

Test(policy, lru_follows_recent_lfu_follows_frequent)
{
    /* 30 queries of A then 10 of B, window 40, room for about one SubNet:
     * LRU keeps B (recent), LFU keeps A (frequent). */
    const char *pol[2] = { "lru", "lfu" };
    for (int k = 0; k < 2; k++) {
        fx f;
        sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
        o.window = 40;
        o.pb_bytes = 5000000;
        fx_open(&f, "ofa-mbv3-w1.0", "null", pol[k], &o);
        sushi_result ra = SUSHI_RESULT_INIT, rb = SUSHI_RESULT_INIT;
        sushi_query qa = SUSHI_QUERY_INIT, qb = SUSHI_QUERY_INIT;
        qa.slo_s = 0.15e-3; /* a small SubNet */
        qb.min_accuracy = 0.80; /* the largest */
        for (int i = 0; i < 30; i++)
            sushi_sched_submit(f.s, &qa, &ra);
        for (int i = 0; i < 10; i++)
            sushi_sched_submit(f.s, &qb, &rb);
        cr_assert_neq(ra.candidate, rb.candidate);
        cr_assert_eq(sushi_sched_update(f.s), SUSHI_OK);
        sushi_sched_submit(f.s, &qa, &ra);
        sushi_sched_submit(f.s, &qb, &rb);
        double fa = (double)ra.hit_bytes / ra.weight_bytes, fb = (double)rb.hit_bytes / rb.weight_bytes;
        if (k == 0)
            cr_assert(fb > fa, "lru: A %.3f B %.3f", fa, fb);
        else
            cr_assert(fa > fb, "lfu: A %.3f B %.3f", fa, fb);
        fx_close(&f);
    }
}

/* ------------------------------------------------------------------- traces */

static void serve_trace(const sushi_trace *t, const char *policy, sushi_sched_stats *st,
                        sushi_result *last)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 50;
    o.pb_bytes = 1500000;
    fx_open(&f, "ofa-mbv3-w1.0", "lin", policy, &o);
    for (size_t i = 0; i < sushi_trace_length(t); i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(t, i, &e);
        sushi_query q = SUSHI_QUERY_INIT;
        q.min_accuracy = e.min_accuracy, q.slo_s = e.slo_s, q.arrival_s = e.t_s;
        cr_assert_eq(sushi_sched_submit(f.s, &q, last), SUSHI_OK);
    }
    *st = (sushi_sched_stats)SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(f.s, st);
    fx_close(&f);
}

Test(trace, same_seed_same_trace_same_metrics)
{
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    g.seed = 2024, g.n_queries = 600, g.dwell = 40, g.both = 0.2, g.slo_lo_s = 0.4e-3, g.slo_hi_s = 2e-3;
    sushi_trace *a, *b, *c;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &a), SUSHI_OK);
    cr_assert_eq(sushi_trace_generate(NULL, &g, &b), SUSHI_OK);
    g.seed = 2025;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &c), SUSHI_OK);
    cr_assert_eq(sushi_trace_length(a), 600);
    bool differs = false;
    for (size_t i = 0; i < 600; i++) {
        sushi_trace_entry x = SUSHI_TRACE_ENTRY_INIT, y = SUSHI_TRACE_ENTRY_INIT, z = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(a, i, &x);
        sushi_trace_get(b, i, &y);
        sushi_trace_get(c, i, &z);
        cr_assert(x.t_s == y.t_s && x.min_accuracy == y.min_accuracy && x.slo_s == y.slo_s && x.label == y.label);
        differs |= x.min_accuracy != z.min_accuracy || x.slo_s != z.slo_s;
    }
    cr_assert(differs);
    sushi_sched_stats sa, sb;
    sushi_result ra = SUSHI_RESULT_INIT, rb = SUSHI_RESULT_INIT;
    serve_trace(a, "sushi", &sa, &ra);
    serve_trace(b, "sushi", &sb, &rb);
    cr_assert_eq(sa.queries, sb.queries);
    cr_assert_eq(sa.latency_mean_s, sb.latency_mean_s);
    cr_assert_eq(sa.latency_p99_s, sb.latency_p99_s);
    cr_assert_eq(sa.slo_attainment, sb.slo_attainment);
    cr_assert_eq(sa.accuracy_mean, sb.accuracy_mean);
    cr_assert_eq(sa.hit_bytes, sb.hit_bytes);
    cr_assert_eq(sa.offchip_bytes, sb.offchip_bytes);
    cr_assert_eq(sa.energy_j, sb.energy_j);
    cr_assert_eq(sa.reload_bytes, sb.reload_bytes);
    /* through a CSV file too */
    char path[] = "/tmp/sushi_trace_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(sushi_trace_save_csv(a, path), SUSHI_OK);
    sushi_trace *d;
    char err[256] = "";
    cr_assert_eq(sushi_trace_load_csv(NULL, path, &d, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_sched_stats sd;
    sushi_result rd = SUSHI_RESULT_INIT;
    serve_trace(d, "sushi", &sd, &rd);
    cr_assert_eq(sa.latency_mean_s, sd.latency_mean_s);
    cr_assert_eq(sa.hit_bytes, sd.hit_bytes);
    unlink(path);
    sushi_trace_destroy(a);
    sushi_trace_destroy(b);
    sushi_trace_destroy(c);
    sushi_trace_destroy(d);
}

Test(trace, generator_shape)
{
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    g.seed = 7, g.n_queries = 20000, g.dwell = 50, g.n_regimes = 5, g.mix = 0.3, g.rate_hz = 200;
    g.jitter = 0.0;
    sushi_trace *t;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &t), SUSHI_OK);
    size_t lat_bound = 0, switches = 0, both = 0;
    double prev_t = 0;
    int64_t prev_label = -1;
    for (size_t i = 0; i < 20000; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(t, i, &e);
        cr_assert(e.t_s >= prev_t);
        prev_t = e.t_s;
        cr_assert(e.label >= 0 && e.label < 5);
        switches += i > 0 && e.label != prev_label;
        prev_label = e.label;
        lat_bound += e.slo_s > 0 && e.min_accuracy == 0;
        both += e.slo_s > 0 && e.min_accuracy > 0;
        if (e.min_accuracy > 0)
            cr_assert(e.min_accuracy >= g.acc_lo && e.min_accuracy <= g.acc_hi);
        if (e.slo_s > 0)
            cr_assert(e.slo_s >= g.slo_lo_s && e.slo_s <= g.slo_hi_s);
    }
    cr_assert_eq(both, 0);
    /* mix 0.3 +- 3 sigma; mean dwell 50 -> ~400 switches; rate 200/s -> ~100 s */
    cr_assert(fabs(lat_bound / 20000.0 - 0.3) < 0.01, "%zu", lat_bound);
    cr_assert(switches > 300 && switches < 500, "%zu", switches);
    cr_assert(fabs(prev_t - 100.0) < 5.0, "%g", prev_t);
    sushi_trace_destroy(t);
    g.dwell = 0.5;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &t), SUSHI_ERR_INVALID);
    g.dwell = 10, g.acc_hi = NAN;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &t), SUSHI_ERR_INVALID);
    g.acc_hi = 0.8, g.slo_lo_s = 0;
    cr_assert_eq(sushi_trace_generate(NULL, &g, &t), SUSHI_ERR_INVALID);
}

static int load_text(const char *text, sushi_trace **t, char *err, size_t errsz)
{
    char path[] = "/tmp/sushi_csv_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(text, fp);
    fclose(fp);
    int rc = sushi_trace_load_csv(NULL, path, t, err, errsz);
    unlink(path);
    return rc;
}

Test(trace, csv_reader_accepts_valid_files)
{
    sushi_trace *t;
    char err[256] = "";
    cr_assert_eq(load_text("# comment\nt_s,min_accuracy,slo_s\n0,0.7,0\n\n0,0,0.002\n1.5, 0.75 ,0.001\r\n", &t,
                           err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(sushi_trace_length(t), 3); /* duplicate times accepted */
    sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
    sushi_trace_get(t, 2, &e);
    cr_assert(e.t_s == 1.5 && e.min_accuracy == 0.75 && e.slo_s == 0.001 && e.label == -1);
    cr_assert_eq(sushi_trace_get(t, 3, &e), SUSHI_ERR_RANGE);
    sushi_trace_destroy(t);
    cr_assert_eq(load_text("t_s,min_accuracy,slo_s,label\n0,0.7,0,3\n1,0.7,0,\n", &t, err, sizeof err), SUSHI_OK,
                 "%s", err);
    sushi_trace_get(t, 0, &e);
    cr_assert_eq(e.label, 3);
    sushi_trace_get(t, 1, &e);
    cr_assert_eq(e.label, -1);
    sushi_trace_destroy(t);
    cr_assert_eq(load_text("t_s,min_accuracy,slo_s\n", &t, err, sizeof err), SUSHI_OK);
    cr_assert_eq(sushi_trace_length(t), 0);
    sushi_trace_destroy(t);
}

Test(trace, csv_reader_rejects_bad_lines_with_line_numbers)
{
    struct {
        const char *text;
        int rc;
        const char *msg;
    } cases[] = {
        { "", SUSHI_ERR_FORMAT, "empty" },
        { "time,acc,slo\n0,0,0\n", SUSHI_ERR_FORMAT, ":1: expected the header" },
        { "t_s,min_accuracy,slo_s\n0,0.7\n", SUSHI_ERR_FORMAT, ":2: 2 fields" },
        { "t_s,min_accuracy,slo_s\n0,0.7,0\n1,0.7,0,9\n", SUSHI_ERR_FORMAT, ":3: 4 fields" },
        { "t_s,min_accuracy,slo_s\n0,abc,0\n", SUSHI_ERR_FORMAT, ":2: min_accuracy: 'abc' is not a number" },
        { "t_s,min_accuracy,slo_s\n0,0.7,\n", SUSHI_ERR_FORMAT, ":2: slo_s" },
        { "t_s,min_accuracy,slo_s\n0,nan,0\n", SUSHI_ERR_INVALID, ":2: values must be finite" },
        { "t_s,min_accuracy,slo_s\n0,0.7,inf\n", SUSHI_ERR_INVALID, ":2: values must be finite" },
        { "t_s,min_accuracy,slo_s\n0,0.7,-0.001\n", SUSHI_ERR_INVALID, ":2: negative" },
        { "t_s,min_accuracy,slo_s\n-1,0.7,0\n", SUSHI_ERR_INVALID, ":2: negative" },
        { "t_s,min_accuracy,slo_s\n0,70,0\n", SUSHI_ERR_INVALID, ":2: min_accuracy 70 is above 1" },
        { "t_s,min_accuracy,slo_s\n0,0.7,0\n2,0.7,0\n# c\n1,0.7,0\n", SUSHI_ERR_INVALID, ":5: t_s 1 is earlier" },
        { "t_s,min_accuracy,slo_s,label\n0,0.7,0,x\n", SUSHI_ERR_FORMAT, ":2: label" },
        { "t_s,min_accuracy,slo_s,label\n0,0.7,0,-2\n", SUSHI_ERR_FORMAT, ":2: label" },
        { "t_s,min_accuracy,slo_s\n0x,0.7,0\n", SUSHI_ERR_FORMAT, ":2: t_s" },
        { "t_s,min_accuracy,slo_s\n1e999,0.7,0\n", SUSHI_ERR_FORMAT, ":2: t_s" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sushi_trace *t = (sushi_trace *)1;
        char err[512] = "";
        int rc = load_text(cases[k].text, &t, err, sizeof err);
        cr_assert_eq(rc, cases[k].rc, "case %zu: %s (%s)", k, sushi_status_name(rc), err);
        cr_assert_null(t);
        cr_assert(strstr(err, cases[k].msg) != NULL, "case %zu: '%s' lacks '%s'", k, err, cases[k].msg);
    }
    sushi_trace *t;
    char err[256] = "";
    cr_assert_eq(sushi_trace_load_csv(NULL, "/nonexistent/trace.csv", &t, err, sizeof err), SUSHI_ERR_IO);
    cr_assert(strstr(err, "cannot open") != NULL);
}

Test(trace, create_checks_entries)
{
    sushi_trace_entry e[3] = { SUSHI_TRACE_ENTRY_INIT, SUSHI_TRACE_ENTRY_INIT, SUSHI_TRACE_ENTRY_INIT };
    e[1].t_s = 1, e[2].t_s = 0.5;
    sushi_trace *t;
    char err[128];
    cr_assert_eq(sushi_trace_create(NULL, e, 3, &t, err, sizeof err), SUSHI_ERR_INVALID);
    cr_assert(strstr(err, "entry 2") != NULL, "%s", err);
    e[2].t_s = 1;
    cr_assert_eq(sushi_trace_create(NULL, e, 3, &t, err, sizeof err), SUSHI_OK);
    cr_assert_eq(sushi_trace_length(t), 3);
    sushi_trace_destroy(t);
    sushi_trace_destroy(NULL);
}
