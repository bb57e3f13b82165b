/* Real-time scheduling: end-to-end deadlines with waiting queries, the late
 * policy (serve the fastest / drop), online adaptation of the prediction to
 * measured latency, and latency profiles (measure, CBOR round trip, every
 * malformed-file error, identity checks, use by the scheduler).
 *
 * The "knob" backend, registered here through the public backend interface,
 * models latency as MACs x 1 ns (cost) and reports a *measured* latency of
 * MACs x 1 ns x g_factor on every run (without sleeping), so a test controls
 * the "machine load" exactly: a synthetic step is g_factor going 1 -> 3 -> 1.
 * No test asserts on wall-clock time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sushi/sushi.h"

/* ------------------------------------------------------------ knob backend */

static double g_factor = 1.0;  /* measured / modelled latency of every run */
static double g_spike = 1.0;   /* extra factor of the next run only (outliers) */
static uint64_t g_runs;

static int knob_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    *out = (void *)sn;
    return SUSHI_OK;
}

static void knob_destroy(void *p) { (void)p; }

static int knob_param(void *p, const char *key, double *v)
{
    (void)p;
    if (strcmp(key, "pb_bytes") != 0)
        return SUSHI_ERR_NOT_FOUND;
    *v = 0.0;
    return SUSHI_OK;
}

static int knob_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    (void)p, (void)g;
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    int rc = sushi_subnet_get_stats(s, &st);
    out->macs = st.macs;
    out->latency_s = (double)st.macs * 1e-9;
    return rc;
}

static int knob_run(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    (void)a;
    int rc = knob_cost(p, s, NULL, cost);
    cost->latency_s *= g_factor * g_spike;
    g_spike = 1.0;
    g_runs++;
    return rc;
}

static const sushi_backend_ops knob_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_MEASURED,
    .description = "test: modelled MACs x 1 ns, measured x a factor the test sets",
    .create = knob_create,
    .destroy = knob_destroy,
    .get_param = knob_param,
    .cost = knob_cost,
    .run = knob_run,
};

/* a second backend with the same model but another name (profile identity) */
static const sushi_backend_ops knob2_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_MEASURED,
    .description = "test: same as knob",
    .create = knob_create,
    .destroy = knob_destroy,
    .get_param = knob_param,
    .cost = knob_cost,
    .run = knob_run,
};

static char g_log[4096];

static void capture_log(void *user, int level, const char *msg)
{
    (void)user;
    if (level <= SUSHI_LOG_WARN) {
        size_t n = strlen(g_log);
        snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
    }
}

typedef struct fx {
    sushi_context *ctx;
    sushi_supernet *sn;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
    float in[3 * 224 * 224];
    float out[1000];
} fx;

static void fx_open(fx *f, const char *backend, const sushi_sched_options *o)
{
    memset(f, 0, sizeof *f);
    g_factor = 1.0;
    g_spike = 1.0;
    g_log[0] = '\0';
    cr_assert_eq(sushi_context_create(NULL, &f->ctx), SUSHI_OK);
    sushi_context_set_log(f->ctx, capture_log, NULL, SUSHI_LOG_WARN);
    cr_assert_eq(sushi_backend_register(f->ctx, "knob", &knob_ops, NULL), SUSHI_OK);
    cr_assert_eq(sushi_backend_register(f->ctx, "knob2", &knob2_ops, NULL), SUSHI_OK);
    cr_assert_eq(sushi_supernet_builtin(f->ctx, "ofa-mbv3-w1.0", 0, &f->sn), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(f->sn, backend, &f->b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(f->sn, "none", &f->p), SUSHI_OK);
    if (o)
        cr_assert_eq(sushi_sched_create(f->sn, f->b, f->p, o, &f->s), SUSHI_OK);
}

static void fx_close(fx *f)
{
    sushi_sched_destroy(f->s);
    sushi_policy_destroy(f->p);
    sushi_backend_destroy(f->b);
    sushi_supernet_destroy(f->sn);
    sushi_context_destroy(f->ctx);
}

static sushi_sched_candidate cand(const sushi_sched *s, size_t i)
{
    sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
    cr_assert_eq(sushi_sched_candidate_get(s, i, &c), SUSHI_OK);
    return c;
}

static size_t n_cand(const sushi_sched *s)
{
    sushi_sched_info in = SUSHI_SCHED_INFO_INIT;
    cr_assert_eq(sushi_sched_get_info(s, &in), SUSHI_OK);
    return in.n_candidates;
}

/* the most accurate candidate whose current prediction is <= budget; -1 if none */
static int32_t ref_fit(const sushi_sched *s, double budget)
{
    size_t n = n_cand(s);
    for (size_t i = 0; i < n; i++) {
        sushi_sched_candidate c = cand(s, i);
        if (c.predicted_s <= budget)
            return c.table_index;
    }
    return -1;
}

static int32_t ref_fastest(const sushi_sched *s)
{
    size_t n = n_cand(s), best = 0;
    for (size_t i = 1; i < n; i++)
        if (cand(s, i).predicted_s < cand(s, best).predicted_s)
            best = i;
    return cand(s, best).table_index;
}

/* ------------------------------------------------------- deadlines, e2e */

Test(realtime, slo_counts_from_arrival_with_simulated_waiting)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.adapt = SUSHI_SCHED_ADAPT_OFF;
    fx_open(&f, "null", &o);
    const double lmax = cand(f.s, 0).predicted_s; /* the most accurate: the slowest on null */
    const double lmin = cand(f.s, n_cand(f.s) - 1).predicted_s;
    cr_assert_gt(lmax, 3 * lmin);

    /* A: no SLO at t=0, serves the most accurate and keeps the server busy until lmax */
    sushi_query q = SUSHI_QUERY_INIT;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(q.start_s, -1.0);
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert_eq(r.candidate, cand(f.s, 0).table_index);
    cr_assert_float_eq(r.e2e_s, lmax, 1e-15);
    cr_assert(r.e2e_slo_met && !r.dropped);

    /* B arrives at t = 0.25 lmax with SLO = 1.5 lmax: it waits 0.75 lmax, so its
     * budget is 0.75 lmax; on service time alone lmax (the best) would fit */
    q.arrival_s = 0.25 * lmax;
    q.slo_s = 1.5 * lmax;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert_float_eq(r.queue_s, 0.75 * lmax, 1e-15);
    cr_assert_float_eq(r.budget_s, 0.75 * lmax, 1e-15);
    int32_t want = ref_fit(f.s, 0.75 * lmax);
    cr_assert_geq(want, 0);
    cr_assert_neq(want, cand(f.s, 0).table_index, "the budget must exclude the most accurate");
    cr_assert_eq(r.candidate, want);
    cr_assert_float_eq(r.e2e_s, r.queue_s + r.latency_s, 1e-15);
    cr_assert(r.e2e_slo_met && r.slo_met && !r.fallback);

    /* C: explicit start (a real-time server's clock): waited 1.4 lmax of an SLO of
     * 1.5 lmax leaves 0.1 lmax */
    double t = 10.0;
    q.arrival_s = t;
    q.start_s = t + 1.4 * lmax;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert_float_eq(r.queue_s, 1.4 * lmax, 1e-12);
    cr_assert_float_eq(r.budget_s, 0.1 * lmax, 1e-12);
    cr_assert_eq(r.candidate, ref_fit(f.s, 0.1 * lmax) >= 0 ? ref_fit(f.s, 0.1 * lmax) : ref_fastest(f.s));

    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_eq(st.queries, 3);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.e2e_slo_queries, 2);
    cr_assert(!st.adaptive);
    cr_assert_eq(st.load_factor, 1.0);
    fx_close(&f);
}

Test(realtime, late_fastest_serves_the_fastest_and_reports_the_miss)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    fx_open(&f, "null", &o);
    const double lmin = cand(f.s, n_cand(f.s) - 1).predicted_s;
    sushi_query q = SUSHI_QUERY_INIT;
    sushi_result r = SUSHI_RESULT_INIT;
    q.arrival_s = 1.0;
    q.start_s = 1.0 + 2 * lmin; /* waited past the SLO */
    q.slo_s = 1.5 * lmin;       /* service alone would fit the fastest */
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.budget_s < 0);
    cr_assert(r.fallback && !r.dropped);
    cr_assert_eq(r.candidate, ref_fastest(f.s));
    cr_assert(r.slo_met, "service time met the SLO");
    cr_assert(!r.e2e_slo_met, "end to end it did not");
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.service_slo_attainment, 1.0, 1e-12);
    cr_assert_float_eq(st.e2e_slo_attainment, 0.0, 1e-12);
    fx_close(&f);
}

Test(realtime, late_drop_drops_counts_and_does_not_occupy_the_server)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.late = SUSHI_SCHED_LATE_DROP;
    fx_open(&f, "null", &o);
    const double lmax = cand(f.s, 0).predicted_s;
    const double lmin = cand(f.s, n_cand(f.s) - 1).predicted_s;
    sushi_query q = SUSHI_QUERY_INIT;
    sushi_result r = SUSHI_RESULT_INIT;
    /* busy until lmax */
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    /* arrives at 0 with SLO 0.5 lmin: waits lmax > SLO, nothing can fit: dropped */
    q.slo_s = 0.5 * lmin;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.dropped);
    cr_assert_eq(r.candidate, -1);
    cr_assert(!r.ran && !r.e2e_slo_met && !r.slo_met);
    cr_assert(isnan(r.accuracy));
    cr_assert_eq(r.latency_s, 0.0);
    cr_assert_float_eq(r.e2e_s, lmax, 1e-15);
    cr_assert_eq(r.index, 1);
    /* the drop took no service time: the next query starts at lmax */
    q.slo_s = 0.0;
    q.arrival_s = 0.0;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(!r.dropped);
    cr_assert_eq(r.index, 2);
    cr_assert_float_eq(r.queue_s, lmax, 1e-15);
    /* a query with no waiting and a feasible SLO is served even in drop mode */
    q.arrival_s = 100.0;
    q.slo_s = 2 * lmax;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(!r.dropped && r.e2e_slo_met);
    /* an accuracy floor no candidate meets is not lateness: served (fallback) */
    q.arrival_s = 200.0;
    q.slo_s = 2 * lmax;
    q.min_accuracy = 1.0;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(!r.dropped && r.fallback && !r.accuracy_met);
    /* floor met only by slow candidates, budget only fits fast ones: dropped */
    q.arrival_s = 300.0;
    q.min_accuracy = cand(f.s, 0).accuracy;
    q.slo_s = 1.01 * lmin;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert(r.dropped);

    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_eq(st.dropped, 2);
    cr_assert_eq(st.queries, 4, "dropped queries are not served queries");
    cr_assert_eq(st.e2e_slo_queries, 4);
    cr_assert_float_eq(st.e2e_slo_attainment, 2.0 / 4.0, 1e-12);
    cr_assert_eq(st.slo_queries, 2);
    cr_assert_float_eq(st.service_slo_attainment, 1.0, 1e-12);
    cr_assert_eq(sushi_sched_reset_stats(f.s), SUSHI_OK);
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_eq(st.dropped, 0);
    fx_close(&f);
}

Test(realtime, e2e_statistics_over_a_backlog)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    fx_open(&f, "null", &o);
    const double lmax = cand(f.s, 0).predicted_s;
    /* 10 queries all arriving at 0 without SLO: query k waits k lmax */
    double e2e_sum = 0.0;
    for (int k = 0; k < 10; k++) {
        sushi_query q = SUSHI_QUERY_INIT;
        sushi_result r = SUSHI_RESULT_INIT;
        cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
        cr_assert_float_eq(r.queue_s, k * lmax, 1e-12);
        cr_assert_float_eq(r.e2e_s, (k + 1) * lmax, 1e-12);
        e2e_sum += r.e2e_s;
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.e2e_latency_mean_s, e2e_sum / 10, 1e-12);
    cr_assert_float_eq(st.e2e_latency_max_s, 10 * lmax, 1e-12);
    cr_assert_float_eq(st.e2e_latency_p99_s, 10 * lmax, 1e-12);
    cr_assert_float_eq(st.e2e_latency_p50_s, 5 * lmax, 1e-12);
    cr_assert_float_eq(st.latency_p99_s, lmax, 1e-15);
    cr_assert(isnan(st.e2e_slo_attainment));
    fx_close(&f);
}

Test(realtime, bad_start_times_and_options)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    fx_open(&f, "null", &o);
    sushi_query q = SUSHI_QUERY_INIT;
    sushi_result r = SUSHI_RESULT_INIT;
    q.arrival_s = 5.0;
    q.start_s = 4.0;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.start_s = NAN;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.start_s = INFINITY;
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_ERR_INVALID);
    q.start_s = 0.0; /* designated-initialiser zero: simulated */
    cr_assert_eq(sushi_sched_submit(f.s, &q, &r), SUSHI_OK);
    cr_assert_eq(r.queue_s, 0.0);

    sushi_sched *s2 = NULL;
    sushi_sched_options bad[6];
    for (int i = 0; i < 6; i++)
        bad[i] = (sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT;
    bad[0].late = 2;
    bad[1].late = -1;
    bad[2].adapt = 3;
    bad[3].quantile = 0.3;
    bad[4].quantile = NAN;
    bad[5].adapt_window = 100000;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(sushi_sched_create(f.sn, f.b, f.p, &bad[i], &s2), SUSHI_ERR_INVALID, "option set %d", i);
        cr_assert_null(s2);
    }
    fx_close(&f);
}

/* ------------------------------------------------------------- adaptation */

/* Submit one query that runs (input given) with SLO slo; returns its result. */
static sushi_result run_one(fx *f, double t, double slo)
{
    sushi_query q = SUSHI_QUERY_INIT;
    q.arrival_s = t;
    q.start_s = t; /* no queueing: isolate the prediction */
    q.slo_s = slo;
    q.input = f->in;
    q.input_len = 3 * 224 * 224;
    q.output = f->out;
    q.output_len = 1000;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_sched_submit(f->s, &q, &r), SUSHI_OK);
    cr_assert(r.ran);
    return r;
}

/* Queries after a step until the load factor is within 5 % of `target`. */
static int follow(fx *f, double *t, double slo, double target, int limit)
{
    for (int k = 1; k <= limit; k++) {
        run_one(f, *t += 1.0, slo);
        sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
        cr_assert_eq(sushi_sched_get_stats(f->s, &st), SUSHI_OK);
        if (fabs(st.load_factor / target - 1.0) <= 0.05)
            return k;
    }
    return limit + 1;
}

Test(realtime, adaptation_follows_a_step_within_20_queries_and_recovers)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT; /* adapt auto: knob is MEASURED */
    fx_open(&f, "knob", &o);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert(st.adaptive);
    const double lmax = cand(f.s, 0).predicted_s;
    const double slo = 1.2 * lmax; /* the most accurate fits at load 1, not at load 3 */
    double t = 0.0;
    for (int k = 0; k < 40; k++)
        cr_assert_eq(run_one(&f, t += 1.0, slo).candidate, cand(f.s, 0).table_index);

    g_factor = 3.0; /* step: the machine gets 3x slower */
    int up = follow(&f, &t, slo, 3.0, 20);
    cr_assert_leq(up, 20, "load factor reached 3 after %d queries", up);
    cr_assert_leq(up, (int)SUSHI_SCHED_ADAPT_WINDOW_DEFAULT / 2 + 1, "median of 15: after 8 runs (got %d)", up);
    /* now the prediction of the most accurate is 3 lmax > SLO: a faster one is served, and meets it */
    sushi_result r = run_one(&f, t += 1.0, slo);
    cr_assert_neq(r.candidate, cand(f.s, 0).table_index);
    cr_assert_float_eq(r.load_factor, 3.0, 1e-9);
    cr_assert(r.slo_met, "measured %g vs SLO %g", r.latency_s, slo);
    cr_assert(r.adapted);

    g_factor = 1.0; /* load goes away */
    int down = follow(&f, &t, slo, 1.0, 20);
    cr_assert_leq(down, 20, "recovered after %d queries", down);
    /* the tail factor (the p99 of the same 15 ratios: their maximum) lets
     * the slow runs go only once the whole window is new */
    int back = down;
    while (run_one(&f, t += 1.0, slo).candidate != cand(f.s, 0).table_index && back <= 20)
        back++;
    cr_assert_leq(back, (int)SUSHI_SCHED_ADAPT_WINDOW_DEFAULT, "the most accurate is served again after %d", back);
    fx_close(&f);
}

Test(realtime, adaptation_ignores_isolated_outliers)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    fx_open(&f, "knob", &o);
    double t = 0.0;
    for (int k = 0; k < 200; k++) {
        if (k % 10 == 5)
            g_spike = 50.0; /* 10 % of the runs are 50x outliers */
        run_one(&f, t += 1.0, 0.0);
        sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
        cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
        cr_assert_float_eq(st.load_factor, 1.0, 1e-12, "query %d: load %g", k, st.load_factor);
    }
    fx_close(&f);
}

Test(realtime, the_tail_factor_plans_for_slow_runs_the_median_ignores)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT; /* quantile 0.99 */
    fx_open(&f, "knob", &o);
    const double p0 = cand(f.s, 0).predicted_s;
    double t = 0.0;
    for (int k = 0; k < 30; k++) { /* one run in 10 is 5x slower: time slicing */
        if (k % 10 == 5)
            g_spike = 5.0;
        run_one(&f, t += 1.0, 0.0);
    }
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.load_factor, 1.0, 1e-12); /* the median does not move */
    cr_assert_float_eq(cand(f.s, 0).predicted_s, 5.0 * p0, 1e-9 * p0, "p99 plans for the slow runs: %g vs %g",
                       cand(f.s, 0).predicted_s, p0);
    fx_close(&f);

    o.quantile = 0.5; /* the median: the slow runs are not planned for */
    fx_open(&f, "knob", &o);
    for (int k = 0; k < 30; k++) {
        if (k % 10 == 5)
            g_spike = 5.0;
        run_one(&f, t += 1.0, 0.0);
    }
    cr_assert_float_eq(cand(f.s, 0).predicted_s, p0, 1e-9 * p0);
    fx_close(&f);
}

Test(realtime, a_cold_first_run_does_not_set_the_load_factor)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    fx_open(&f, "knob", &o);
    g_spike = 100.0; /* the first run of a fresh backend: page faults, workspace */
    double t = 0.0;
    run_one(&f, t += 1.0, 0.0);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.load_factor, 1.0, 1e-12, "one cold run moved the factor to %g", st.load_factor);
    fx_close(&f);
}

/* Submit one query that may be dropped (late = drop). */
static sushi_result submit_one(fx *f, double t, double slo)
{
    sushi_query q = SUSHI_QUERY_INIT;
    q.arrival_s = t;
    q.start_s = t;
    q.slo_s = slo;
    q.input = f->in;
    q.input_len = 3 * 224 * 224;
    q.output = f->out;
    q.output_len = 1000;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_sched_submit(f->s, &q, &r), SUSHI_OK);
    return r;
}

Test(realtime, late_drop_probes_so_a_transient_load_cannot_drop_every_query)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.late = SUSHI_SCHED_LATE_DROP;
    fx_open(&f, "knob", &o);
    sushi_sched_info si = SUSHI_SCHED_INFO_INIT;
    cr_assert_eq(sushi_sched_get_info(f.s, &si), SUSHI_OK);
    double fast = INFINITY;
    for (uint32_t i = 0; i < si.n_candidates; i++)
        fast = fmin(fast, cand(f.s, i).predicted_s);
    const double slo = 2.0 * fast; /* the fastest fits at load 1, nothing at load 10 */
    double t = 0.0;
    g_factor = 10.0; /* a transient: the factor goes to 10 */
    for (int k = 0; k < 20; k++)
        run_one(&f, t += 1.0, 0.0);
    g_factor = 1.0; /* gone: but a dropped query measures nothing */
    int dropped = 0, served_late = 0;
    for (int k = 0; k < 200; k++) {
        sushi_result r = submit_one(&f, t += 1.0, slo);
        dropped += r.dropped;
        served_late += !r.dropped && r.load_factor > 2.0; /* a probe: run although predicted late */
    }
    cr_assert_gt(dropped, 0, "the transient must drop some queries first");
    cr_assert_gt(served_late, 0, "no probe ran");
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.load_factor, 1.0, 1e-12, "the factor did not recover: %g", st.load_factor);
    for (int k = 0; k < 20; k++) { /* and every query is served again */
        sushi_result r = submit_one(&f, t += 1.0, slo);
        cr_assert(!r.dropped && r.slo_met, "query %d after recovery", k);
    }
    fx_close(&f);
}

Test(realtime, open_loop_and_modelled_backends_do_not_adapt)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.adapt = SUSHI_SCHED_ADAPT_OFF;
    fx_open(&f, "knob", &o);
    g_factor = 3.0;
    double p0 = cand(f.s, 0).predicted_s, t = 0.0;
    for (int k = 0; k < 50; k++)
        cr_assert(!run_one(&f, t += 1.0, 0.0).adapted);
    cr_assert_eq(cand(f.s, 0).predicted_s, p0);
    fx_close(&f);

    /* null declares no CAP_MEASURED: auto = off, even when its runs are measured */
    fx_open(&f, "null", &(sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert(!st.adaptive);
    fx_close(&f);

    /* forced on: a modelled backend adapts too (its runs match the model: load 1) */
    o.adapt = SUSHI_SCHED_ADAPT_ON;
    fx_open(&f, "null", &o);
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert(st.adaptive);
    fx_close(&f);
}

/* ---------------------------------------------------------------- profiles */

static sushi_profile *measure(fx *f, uint32_t reps)
{
    sushi_profile_options po = SUSHI_PROFILE_OPTIONS_INIT;
    po.warmup = 1;
    po.reps = reps;
    sushi_profile *p = NULL;
    cr_assert_eq(sushi_profile_measure(f->b, &po, &p), SUSHI_OK);
    cr_assert_not_null(p);
    return p;
}

Test(profile, measure_round_trip_and_quantiles)
{
    fx f;
    fx_open(&f, "knob", NULL);
    g_factor = 2.0; /* every run measures 2 x the model, exactly */
    uint64_t runs0 = g_runs;
    sushi_profile *p = measure(&f, 5);
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(f.sn, &si), SUSHI_OK);
    cr_assert_eq(g_runs - runs0, (uint64_t)si.n_candidates * 6);

    sushi_profile_info in = SUSHI_PROFILE_INFO_INIT;
    cr_assert_eq(sushi_profile_get_info(p, &in), SUSHI_OK);
    cr_assert_str_eq(in.backend, "knob");
    cr_assert_str_eq(in.supernet, "ofa-mbv3-w1.0");
    cr_assert_eq(strlen(in.supernet_hash), 64);
    cr_assert_eq(in.n_entries, si.n_candidates);
    cr_assert_eq(in.reps, 5);
    cr_assert_eq(in.warmup, 1);
    cr_assert_str_eq(in.library_version, sushi_version_string());
    cr_assert_gt(strlen(in.cpu_model), 0);
    for (uint32_t i = 0; i < in.n_entries; i++) {
        sushi_profile_entry e = SUSHI_PROFILE_ENTRY_INIT;
        cr_assert_eq(sushi_profile_entry_get(p, i, &e), SUSHI_OK);
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(f.sn, i, &ci), SUSHI_OK);
        double want = 2.0 * (double)ci.macs * 1e-9;
        cr_assert_eq(e.candidate, (int32_t)i);
        cr_assert_eq(e.n, 5);
        cr_assert_float_eq(e.p50_s, want, 1e-15);
        cr_assert_float_eq(e.p99_s, want, 1e-15);
        cr_assert_float_eq(e.max_s, want, 1e-15);
        cr_assert_float_eq(e.mean_s, want, 1e-15);
        double v;
        cr_assert_eq(sushi_profile_quantile(p, (int32_t)i, 0.95, &v), SUSHI_OK);
        cr_assert_float_eq(v, want, 1e-15);
    }
    double v;
    cr_assert_eq(sushi_profile_quantile(p, 100000, 0.5, &v), SUSHI_ERR_NOT_FOUND);
    cr_assert_eq(sushi_profile_quantile(p, 0, 0.4, &v), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_profile_quantile(p, 0, NAN, &v), SUSHI_ERR_INVALID);
    sushi_profile_entry e = SUSHI_PROFILE_ENTRY_INIT;
    cr_assert_eq(sushi_profile_entry_get(p, in.n_entries, &e), SUSHI_ERR_RANGE);

    /* memory round trip: identical bytes after save -> load -> save */
    void *buf = NULL, *buf2 = NULL;
    size_t n = 0, n2 = 0;
    cr_assert_eq(sushi_profile_save_memory(p, &buf, &n), SUSHI_OK);
    sushi_profile *q = NULL;
    cr_assert_eq(sushi_profile_load_memory(f.ctx, buf, n, &q), SUSHI_OK);
    cr_assert_eq(sushi_profile_save_memory(q, &buf2, &n2), SUSHI_OK);
    cr_assert_eq(n, n2);
    cr_assert_eq(memcmp(buf, buf2, n), 0);
    sushi_profile_free_buffer(q, buf2);

    /* file round trip, atomic: no temporary left */
    char dir[] = "/tmp/sushi-prof-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/p.cbor", dir);
    cr_assert_eq(sushi_profile_save_file(p, path), SUSHI_OK);
    cr_assert_eq(sushi_profile_save_file(p, path), SUSHI_OK); /* replace */
    sushi_profile *r = NULL;
    cr_assert_eq(sushi_profile_load_file(f.ctx, path, &r), SUSHI_OK);
    cr_assert_eq(sushi_profile_save_memory(r, &buf2, &n2), SUSHI_OK);
    cr_assert_eq(n, n2);
    cr_assert_eq(memcmp(buf, buf2, n), 0);
    sushi_profile_free_buffer(r, buf2);
    sushi_profile_destroy(r);
    r = NULL;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0, "only p.cbor in %s", dir);
    /* a directory that does not exist: SUSHI_ERR_IO, the old file untouched */
    snprintf(path, sizeof path, "%s/no/such/p.cbor", dir);
    cr_assert_eq(sushi_profile_save_file(p, path), SUSHI_ERR_IO);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(sushi_profile_load_file(f.ctx, "/nonexistent/p.cbor", &r), SUSHI_ERR_IO);
    cr_assert_null(r);

    sushi_profile_free_buffer(p, buf);
    sushi_profile_destroy(q);
    sushi_profile_destroy(p);
    sushi_profile_destroy(NULL);
    fx_close(&f);
}

Test(profile, bad_measure_arguments)
{
    fx f;
    fx_open(&f, "knob", NULL);
    sushi_profile *p = (sushi_profile *)&f;
    sushi_profile_options po = SUSHI_PROFILE_OPTIONS_INIT;
    po.reps = 0;
    cr_assert_eq(sushi_profile_measure(f.b, &po, &p), SUSHI_ERR_INVALID);
    cr_assert_null(p);
    po = (sushi_profile_options)SUSHI_PROFILE_OPTIONS_INIT;
    po.int8 = true; /* knob has no int8 path */
    cr_assert_eq(sushi_profile_measure(f.b, &po, &p), SUSHI_ERR_UNSUPPORTED);
    po = (sushi_profile_options)SUSHI_PROFILE_OPTIONS_INIT;
    po.size = 8;
    cr_assert_eq(sushi_profile_measure(f.b, &po, &p), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_profile_measure(NULL, NULL, &p), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_profile_measure(f.b, NULL, NULL), SUSHI_ERR_INVALID);
    fx_close(&f);
}

Test(profile, supernet_hash_is_content_not_metadata)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &a), SUSHI_OK);
    char ha[SUSHI_PROFILE_HASH_HEX], hb[SUSHI_PROFILE_HASH_HEX], hc[SUSHI_PROFILE_HASH_HEX],
        hd[SUSHI_PROFILE_HASH_HEX];
    cr_assert_eq(sushi_profile_supernet_hash(a, ha), SUSHI_OK);
    /* the builtin saved to a file and loaded back: same identity */
    char path[] = "/tmp/sushi-hash-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    so.weights = SUSHI_WEIGHTS_F32;
    cr_assert_eq(sushi_supernet_save_file(a, path, &so), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, path, NULL, &b), SUSHI_OK);
    unlink(path);
    cr_assert_eq(sushi_profile_supernet_hash(b, hb), SUSHI_OK);
    cr_assert_str_eq(ha, hb);
    /* new accuracies (sushi eval) keep it */
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(a, &si), SUSHI_OK);
    double *acc = calloc(si.n_candidates, sizeof *acc);
    for (uint32_t i = 0; i < si.n_candidates; i++)
        acc[i] = 0.5 + 0.001 * i;
    cr_assert_eq(sushi_supernet_with_accuracies(a, acc, si.n_candidates, "test", "top1", "unit test", &c),
                 SUSHI_OK);
    free(acc);
    cr_assert_eq(sushi_profile_supernet_hash(c, hc), SUSHI_OK);
    cr_assert_str_eq(ha, hc);
    /* other weights (another seed): another SuperNet */
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 7, &d), SUSHI_OK);
    cr_assert_eq(sushi_profile_supernet_hash(d, hd), SUSHI_OK);
    cr_assert_str_neq(ha, hd);
    cr_assert_eq(sushi_profile_supernet_hash(NULL, hd), SUSHI_ERR_INVALID);
    sushi_supernet_destroy(a);
    sushi_supernet_destroy(b);
    sushi_supernet_destroy(c);
    sushi_supernet_destroy(d);
    sushi_context_destroy(ctx);
}

Test(profile, scheduler_predicts_from_the_profile_and_refuses_foreign_ones)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.adapt = SUSHI_SCHED_ADAPT_OFF;
    fx_open(&f, "knob", &o);
    g_factor = 4.0;
    sushi_profile *p = measure(&f, 3);
    g_factor = 1.0;
    size_t n = n_cand(f.s);
    double before = cand(f.s, 0).predicted_s;
    cr_assert_eq(sushi_sched_set_profile(f.s, p), SUSHI_OK);
    for (size_t i = 0; i < n; i++) {
        sushi_sched_candidate c = cand(f.s, i);
        double q;
        cr_assert_eq(sushi_profile_quantile(p, c.table_index, 0.99, &q), SUSHI_OK);
        cr_assert_float_eq(c.predicted_s, q, 1e-15);
    }
    cr_assert_float_eq(cand(f.s, 0).predicted_s, 4.0 * before, 1e-12);
    sushi_sched_info si = SUSHI_SCHED_INFO_INIT;
    cr_assert_eq(sushi_sched_get_info(f.s, &si), SUSHI_OK);
    cr_assert_float_eq(si.latency_max_s, 4.0 * before, 1e-12);
    /* detach: back to the model */
    cr_assert_eq(sushi_sched_set_profile(f.s, NULL), SUSHI_OK);
    cr_assert_float_eq(cand(f.s, 0).predicted_s, before, 1e-15);

    /* another backend (same SuperNet): refused, nothing changes */
    sushi_backend *b2 = NULL;
    sushi_policy *p2 = NULL;
    sushi_sched *s2 = NULL;
    cr_assert_eq(sushi_backend_create(f.sn, "knob2", &b2), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(f.sn, "none", &p2), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(f.sn, b2, p2, &o, &s2), SUSHI_OK);
    g_log[0] = '\0';
    cr_assert_eq(sushi_sched_set_profile(s2, p), SUSHI_ERR_INVALID);
    cr_assert_not_null(strstr(g_log, "measured on backend knob, not knob2"), "log: %s", g_log);
    cr_assert_float_eq(cand(s2, 0).predicted_s, before, 1e-15);
    sushi_sched_destroy(s2);
    sushi_policy_destroy(p2);
    sushi_backend_destroy(b2);

    /* another SuperNet (other weights), same backend: refused */
    sushi_supernet *sn2 = NULL;
    cr_assert_eq(sushi_supernet_builtin(f.ctx, "ofa-mbv3-w1.0", 9, &sn2), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(sn2, "knob", &b2), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn2, "none", &p2), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn2, b2, p2, &o, &s2), SUSHI_OK);
    g_log[0] = '\0';
    cr_assert_eq(sushi_sched_set_profile(s2, p), SUSHI_ERR_INVALID);
    cr_assert_not_null(strstr(g_log, "another SuperNet"), "log: %s", g_log);
    cr_assert_eq(sushi_profile_check(p, b2), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_profile_check(p, f.b), SUSHI_OK);
    sushi_sched_destroy(s2);
    sushi_policy_destroy(p2);
    sushi_backend_destroy(b2);
    sushi_supernet_destroy(sn2);
    cr_assert_eq(sushi_sched_set_profile(NULL, p), SUSHI_ERR_INVALID);
    sushi_profile_destroy(p);
    fx_close(&f);
}

Test(profile, quantile_option_and_adaptation_on_a_profile)
{
    fx f;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.quantile = 0.5;
    fx_open(&f, "knob", &o);
    g_factor = 2.0;
    sushi_profile *p = measure(&f, 3);
    cr_assert_eq(sushi_sched_set_profile(f.s, p), SUSHI_OK);
    double q50;
    sushi_sched_candidate c0 = cand(f.s, 0);
    cr_assert_eq(sushi_profile_quantile(p, c0.table_index, 0.5, &q50), SUSHI_OK);
    cr_assert_float_eq(c0.predicted_s, q50, 1e-15);
    /* runs at the profiled speed: the load factor stays 1 */
    double t = 0.0;
    for (int k = 0; k < 20; k++)
        cr_assert_float_eq(run_one(&f, t += 1.0, 0.0).load_factor, 1.0, 1e-12);
    /* twice as slow as profiled: the load factor goes to 2 */
    g_factor = 4.0;
    for (int k = 0; k < 20; k++)
        run_one(&f, t += 1.0, 0.0);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_sched_get_stats(f.s, &st), SUSHI_OK);
    cr_assert_float_eq(st.load_factor, 2.0, 1e-12);
    cr_assert_float_eq(cand(f.s, 0).predicted_s, 2.0 * q50, 1e-15);
    sushi_profile_destroy(p);
    fx_close(&f);
}

/* ------------------------------------------------------- malformed files */

/* A tiny CBOR writer for hand-made profiles. */
typedef struct cb {
    uint8_t b[8192];
    size_t n;
} cb;

static void c_head(cb *c, int major, uint64_t v)
{
    if (v < 24) {
        c->b[c->n++] = (uint8_t)(major << 5 | v);
    } else if (v < 256) {
        c->b[c->n++] = (uint8_t)(major << 5 | 24);
        c->b[c->n++] = (uint8_t)v;
    } else if (v < 65536) {
        c->b[c->n++] = (uint8_t)(major << 5 | 25);
        c->b[c->n++] = (uint8_t)(v >> 8);
        c->b[c->n++] = (uint8_t)v;
    } else {
        c->b[c->n++] = (uint8_t)(major << 5 | 27);
        for (int i = 7; i >= 0; i--)
            c->b[c->n++] = (uint8_t)(v >> (8 * i));
    }
}

static void c_text(cb *c, const char *s)
{
    c_head(c, 3, strlen(s));
    memcpy(c->b + c->n, s, strlen(s));
    c->n += strlen(s);
}

static void c_f64(cb *c, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    c->b[c->n++] = 0xfb;
    for (int i = 7; i >= 0; i--)
        c->b[c->n++] = (uint8_t)(u >> (8 * i));
}

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Mutations of a valid two-entry profile. */
enum {
    M_NONE, M_MAGIC, M_VERSION, M_NO_ENTRIES, M_NO_BACKEND, M_BACKEND_INT, M_NEG_LAT, M_NAN_LAT, M_ORDER,
    M_N_ZERO, M_DUP_CAND, M_HASH_SHORT, M_HASH_UPPER, M_TRAILING, M_UNKNOWN_KEY, M_DUP_KEY, M_INDEF,
    M_HUGE_ARRAY, M_MEAN_ABOVE_MAX, M_EMPTY_ENTRIES, M_NOT_MAP, M_ENTRY_MISSING_P99, M_FORMAT_NOT_FIRST,
    M_COUNT
};

static void make_profile(cb *c, int m)
{
    c->n = 0;
    if (m == M_NOT_MAP) {
        c_head(c, 4, 0);
        return;
    }
    if (m == M_INDEF) {
        c->b[c->n++] = 0xbf; /* indefinite map */
        c_text(c, "format");
        c_text(c, "sushi-profile");
        c->b[c->n++] = 0xff;
        return;
    }
    int keys = 13 - (m == M_NO_ENTRIES) - (m == M_NO_BACKEND) + (m == M_UNKNOWN_KEY) + (m == M_DUP_KEY);
    c_head(c, 5, (uint64_t)keys);
    if (m == M_FORMAT_NOT_FIRST) {
        c_text(c, "version");
        c_head(c, 0, 1);
    }
    c_text(c, "format");
    c_text(c, m == M_MAGIC ? "sushi-prof" : "sushi-profile");
    if (m != M_FORMAT_NOT_FIRST) {
        c_text(c, "version");
        c_head(c, 0, m == M_VERSION ? 2 : 1);
    }
    if (m == M_UNKNOWN_KEY) {
        c_text(c, "comment");
        c_head(c, 4, 2);
        c_text(c, "x");
        c_head(c, 5, 1);
        c_text(c, "y");
        c_f64(c, 1.0);
    }
    if (m != M_NO_BACKEND) {
        c_text(c, "backend");
        if (m == M_BACKEND_INT)
            c_head(c, 0, 3);
        else
            c_text(c, "knob");
    }
    if (m == M_DUP_KEY) {
        c_text(c, "backend");
        c_text(c, "knob");
    }
    c_text(c, "params");
    c_head(c, 5, 1);
    c_text(c, "threads");
    c_f64(c, 1.0);
    c_text(c, "threads");
    c_head(c, 0, 1);
    c_text(c, "int8");
    c->b[c->n++] = 0xf4;
    c_text(c, "warmup");
    c_head(c, 0, 10);
    c_text(c, "reps");
    c_head(c, 0, 200);
    c_text(c, "cpu_model");
    c_text(c, "test cpu");
    c_text(c, "library_version");
    c_text(c, "0.3.0");
    c_text(c, "created_unix_s");
    c_f64(c, 1.7e9);
    c_text(c, "supernet");
    c_head(c, 5, 2);
    c_text(c, "name");
    c_text(c, "net");
    c_text(c, "hash");
    if (m == M_HASH_SHORT)
        c_text(c, "0123");
    else if (m == M_HASH_UPPER)
        c_text(c, "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef");
    else
        c_text(c, HASH);
    if (m != M_NO_ENTRIES) {
        c_text(c, "entries");
        if (m == M_HUGE_ARRAY) {
            c_head(c, 4, UINT64_C(1) << 60);
            return;
        }
        int ne = m == M_EMPTY_ENTRIES ? 0 : 2;
        c_head(c, 4, (uint64_t)ne);
        for (int e = 0; e < ne; e++) {
            c_head(c, 5, m == M_ENTRY_MISSING_P99 ? 6 : 7);
            c_text(c, "candidate");
            c_head(c, 0, m == M_DUP_CAND ? 0 : (uint64_t)e);
            c_text(c, "n");
            c_head(c, 0, m == M_N_ZERO ? 0 : 200);
            c_text(c, "mean_s");
            c_f64(c, m == M_MEAN_ABOVE_MAX ? 1.0 : 0.0011);
            c_text(c, "p50_s");
            c_f64(c, m == M_NEG_LAT ? -0.001 : m == M_NAN_LAT ? NAN : 0.001);
            c_text(c, "p90_s");
            c_f64(c, m == M_ORDER ? 0.0005 : 0.0012);
            if (m != M_ENTRY_MISSING_P99) {
                c_text(c, "p99_s");
                c_f64(c, 0.0015);
            }
            c_text(c, "max_s");
            c_f64(c, 0.002);
        }
    }
    if (m == M_TRAILING)
        c->b[c->n++] = 0x00;
}

Test(profile, every_malformed_file_is_a_clear_error)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_context_set_log(ctx, capture_log, NULL, SUSHI_LOG_ERROR);
    static cb c;
    sushi_profile *p = NULL;
    make_profile(&c, M_NONE);
    cr_assert_eq(sushi_profile_load_memory(ctx, c.b, c.n, &p), SUSHI_OK, "the valid one loads");
    double v;
    cr_assert_eq(sushi_profile_quantile(p, 1, 0.99, &v), SUSHI_OK);
    cr_assert_float_eq(v, 0.0015, 1e-15);
    sushi_profile_destroy(p);
    make_profile(&c, M_UNKNOWN_KEY);
    cr_assert_eq(sushi_profile_load_memory(ctx, c.b, c.n, &p), SUSHI_OK, "unknown keys are skipped");
    sushi_profile_destroy(p);

    struct { int m; int rc; const char *msg; } cases[] = {
        { M_MAGIC, SUSHI_ERR_FORMAT, "not a profile" },
        { M_VERSION, SUSHI_ERR_VERSION, "format version 2" },
        { M_NO_ENTRIES, SUSHI_ERR_FORMAT, "missing key \"entries\"" },
        { M_NO_BACKEND, SUSHI_ERR_FORMAT, "missing key \"backend\"" },
        { M_BACKEND_INT, SUSHI_ERR_FORMAT, "backend: expected a text string" },
        { M_NEG_LAT, SUSHI_ERR_FORMAT, "negative latency" },
        { M_NAN_LAT, SUSHI_ERR_FORMAT, "not finite" },
        { M_ORDER, SUSHI_ERR_FORMAT, "quantiles out of order" },
        { M_N_ZERO, SUSHI_ERR_FORMAT, "0 runs" },
        { M_DUP_CAND, SUSHI_ERR_FORMAT, "appears twice" },
        { M_HASH_SHORT, SUSHI_ERR_FORMAT, "expected 64 hex digits" },
        { M_HASH_UPPER, SUSHI_ERR_FORMAT, "not lowercase hex" },
        { M_TRAILING, SUSHI_ERR_FORMAT, "trailing bytes" },
        { M_DUP_KEY, SUSHI_ERR_FORMAT, "duplicate key" },
        { M_INDEF, SUSHI_ERR_FORMAT, "indefinite-length" },
        { M_HUGE_ARRAY, SUSHI_ERR_FORMAT, "cannot fit" },
        { M_MEAN_ABOVE_MAX, SUSHI_ERR_FORMAT, "above max" },
        { M_EMPTY_ENTRIES, SUSHI_ERR_FORMAT, "entries: 0" },
        { M_NOT_MAP, SUSHI_ERR_FORMAT, "expected a map" },
        { M_ENTRY_MISSING_P99, SUSHI_ERR_FORMAT, "missing key \"p99_s\"" },
        { M_FORMAT_NOT_FIRST, SUSHI_ERR_FORMAT, "first key must be \"format\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        make_profile(&c, cases[i].m);
        g_log[0] = '\0';
        p = (sushi_profile *)&c;
        cr_assert_eq(sushi_profile_load_memory(ctx, c.b, c.n, &p), cases[i].rc, "case %d", cases[i].m);
        cr_assert_null(p, "case %d leaves no profile", cases[i].m);
        cr_assert_not_null(strstr(g_log, cases[i].msg), "case %d: log '%s' lacks '%s'", cases[i].m, g_log,
                           cases[i].msg);
    }
    /* every truncation of the valid file is an error, never a crash or a profile */
    make_profile(&c, M_NONE);
    for (size_t n = 0; n < c.n; n++) {
        cr_assert_eq(sushi_profile_load_memory(ctx, c.b, n, &p), SUSHI_ERR_FORMAT, "prefix %zu", n);
        cr_assert_null(p);
    }
    /* every single-byte corruption: an error or a profile, never a crash or a leak */
    for (size_t n = 0; n < c.n; n++) {
        static cb d;
        d = c;
        d.b[n] ^= 0x5a;
        int rc = sushi_profile_load_memory(ctx, d.b, d.n, &p);
        cr_assert(rc == SUSHI_OK || rc == SUSHI_ERR_FORMAT || rc == SUSHI_ERR_VERSION, "byte %zu: %d", n, rc);
        sushi_profile_destroy(p);
    }
    cr_assert_eq(sushi_profile_load_memory(NULL, c.b, c.n, &p), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_profile_load_memory(ctx, NULL, 4, &p), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_profile_load_memory(ctx, c.b, c.n, NULL), SUSHI_ERR_INVALID);
    sushi_context_destroy(ctx);
}
