/* bench_sched: SushiSched costs (docs/performance.md, "Scheduler").
 *
 *   bench_sched [--quick | --update]   (--update: part 2 only)
 *
 *   1. decision time per query with 1,000 candidates (median of the
 *      scheduler's own per-query measurement, and mean of submit() calls);
 *   2. one cache update with Q = 100 (sushi policy's choose() with the 96
 *      candidates in the view, median and p99) under each objective (bytes;
 *      time and energy from the cycle backend's tile savings, computed once
 *      per candidate beforehand as the scheduler caches them), on
 *      ofa-resnet50 and ofa-mbv3-w1.0,
 *      and the scheduler's full update (policy + reload + cost-table refresh
 *      for every candidate) on the null and cycle backends;
 *   3. serving throughput (queries/s, cost-only) on the null and cycle backends.
 *
 * The 1,000-candidate table is ofa-mbv3-w1.0's built-in table extended with
 * deterministic random SubNets (accuracies from the same proxy as the built-in
 * rows), served with the Pareto filter off so all 1,000 stay candidates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sushi/sched.h"
#include "sushi/trace.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: what an update costs without the time the
 * scheduler of a loaded machine gives to other processes */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s) { return (double)(rng(s) >> 11) * 0x1.0p-53; }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_sched: %s: %s\n", what, sushi_status_str(rc));
    exit(1);
}

/* Extend sn's candidate table to n rows with random SubNets. */
static void extend_candidates(sushi_supernet *sn, uint32_t n)
{
    static const uint32_t rs[4] = { 128, 160, 192, 224 };
    sushi_candidate *c = sushi_realloc(sn->ctx, sn->cands, (size_t)n * sizeof *c);
    if (!c)
        die("extend", SUSHI_ERR_NOMEM);
    sn->cands = c;
    uint64_t s = 1000;
    for (uint32_t i = sn->n_cand; i < n; i++) {
        sushi_candidate *k = &c[i];
        memset(k, 0, sizeof *k);
        for (;;) {
            sushi_config_extreme(sn, true, rs[rng(&s) % 4], &k->config);
            for (uint32_t j = 0; j < k->config.n_ks; j++)
                k->config.ks[j] = sn->ks_choices[rng(&s) % sn->n_ks_choices];
            for (uint32_t j = 0; j < k->config.n_e; j++)
                k->config.e[j] = sn->e_choices[rng(&s) % sn->n_e_choices];
            for (uint32_t j = 0; j < k->config.n_d; j++)
                k->config.d[j] = sn->dgroups[j].choices[rng(&s) % sn->dgroups[j].n_choices];
            for (uint32_t j = 0; j < k->config.n_w; j++)
                k->config.w[j] = (uint8_t)(rng(&s) % sn->wgroups[j].n_choices);
            bool dup = false;
            for (uint32_t j = 0; j < i && !dup; j++)
                dup = sushi_config_equal(&c[j].config, &k->config);
            if (!dup)
                break;
        }
        sushi_subnet *sub;
        int rc = sushi_subnet_create(sn, &k->config, &sub);
        if (rc)
            die("subnet", rc);
        k->macs = sub->macs;
        k->params = sub->params;
        k->weight_bytes = sub->weight_bytes;
        sushi_subnet_destroy(sub);
        k->accuracy = sushi_zoo_proxy_accuracy(sn->family, k->macs);
        snprintf(k->accuracy_source, sizeof k->accuracy_source, "proxy");
        sn->n_cand = i + 1;
    }
}

typedef struct rig {
    sushi_supernet *sn;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
} rig;

static bool rig_open(rig *r, sushi_supernet *sn, const char *backend, const char *policy,
                     const sushi_sched_options *o)
{
    memset(r, 0, sizeof *r);
    r->sn = sn;
    int rc = sushi_backend_create(sn, backend, &r->b);
    if (rc == SUSHI_ERR_NOT_FOUND)
        return false;
    if (rc)
        die("backend", rc);
    if ((rc = sushi_policy_create(sn, policy, &r->p)))
        die("policy", rc);
    if ((rc = sushi_sched_create(sn, r->b, r->p, o, &r->s)))
        die("sched", rc);
    return true;
}

static void rig_close(rig *r)
{
    sushi_sched_destroy(r->s);
    sushi_policy_destroy(r->p);
    sushi_backend_destroy(r->b);
}

static sushi_trace *make_trace(const sushi_sched *s, uint32_t n, double dwell)
{
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(s, &info);
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    g.seed = 1, g.n_queries = n, g.dwell = dwell, g.n_regimes = 8, g.both = 0.25;
    g.acc_lo = info.accuracy_min, g.acc_hi = info.accuracy_max;
    g.slo_lo_s = info.latency_min_s, g.slo_hi_s = info.latency_max_s;
    sushi_trace *t;
    int rc = sushi_trace_generate(NULL, &g, &t);
    if (rc)
        die("trace", rc);
    return t;
}

static void to_query(const sushi_trace *t, size_t i, sushi_query *q)
{
    sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
    sushi_trace_get(t, i, &e);
    *q = (sushi_query)SUSHI_QUERY_INIT;
    q->min_accuracy = e.min_accuracy, q->slo_s = e.slo_s, q->arrival_s = e.t_s;
}

static void bench_decision(sushi_context *ctx, uint32_t n_queries)
{
    sushi_supernet *sn;
    int rc = sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn);
    if (rc)
        die("builtin", rc);
    double t0 = now_s();
    extend_candidates(sn, 1000);
    double t_ext = now_s() - t0;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.pareto = SUSHI_SCHED_PARETO_NONE;
    o.pb_bytes = 0;
    o.window = 100;
    rig r;
    t0 = now_s();
    rig_open(&r, sn, "null", "none", &o);
    double t_create = now_s() - t0;
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(r.s, &info);
    sushi_trace *t = make_trace(r.s, n_queries, 50);
    uint64_t *dec = malloc(n_queries * sizeof *dec);
    sushi_query *qs = malloc(n_queries * sizeof *qs);
    for (uint32_t i = 0; i < n_queries; i++)
        to_query(t, i, &qs[i]);
    t0 = now_s();
    for (uint32_t i = 0; i < n_queries; i++) {
        sushi_result res = SUSHI_RESULT_INIT;
        if ((rc = sushi_sched_submit(r.s, &qs[i], &res)))
            die("submit", rc);
        dec[i] = res.decision_ns;
    }
    double t_all = now_s() - t0;
    qsort(dec, n_queries, sizeof *dec, cmp_u64);
    printf("decision, %u candidates (Pareto off), %u queries:\n", info.n_candidates, n_queries);
    printf("  median %llu ns, p99 %llu ns, max %llu ns (per-query clock, includes ~2 clock reads)\n",
           (unsigned long long)dec[n_queries / 2], (unsigned long long)dec[(size_t)(n_queries * 0.99)],
           (unsigned long long)dec[n_queries - 1]);
    printf("  submit() mean %.0f ns per query (validation + decision + accounting + policy observe)\n",
           t_all / n_queries * 1e9);
    printf("  table build (900 extra SubNets) %.2f s, scheduler create %.2f s\n", t_ext, t_create);
    free(dec);
    free(qs);
    sushi_trace_destroy(t);
    rig_close(&r);
    sushi_supernet_destroy(sn);
}

/* Cumulative tile savings of every candidate, as the scheduler hands them to
 * policies (sched.c computes them once per candidate, on first use). */
typedef struct sav_table {
    const sushi_subnet *const *subs;
    uint32_t n;
    int objective;
    double *cum[96];
} sav_table;

static const double *sav_get(void *user, const sushi_subnet *s)
{
    sav_table *t = user;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->subs[i] == s)
            return t->cum[i];
    return NULL;
}

static void sav_fill(sav_table *t, sushi_backend *b)
{
    for (uint32_t i = 0; i < t->n; i++) {
        const sushi_subnet *s = t->subs[i];
        size_t n = 0;
        int rc = sushi_backend_tile_savings(b, s, NULL, 0, &n);
        sushi_tile_saving *ts = calloc(n + 1, sizeof *ts);
        t->cum[i] = calloc(n + 1, sizeof *t->cum[i]);
        if (!rc)
            rc = sushi_backend_tile_savings(b, s, ts, n, &n);
        if (rc)
            die("tile savings", rc);
        size_t k = 0;
        for (uint32_t w = 0; w < s->sn->n_wt; w++) {
            if (!s->box_out[w] || !s->box_in[w])
                continue;
            double run = 0;
            for (uint32_t j = 0; j < (s->box_out[w] + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT; j++, k++)
                t->cum[i][k] = run += t->objective == SUSHI_OBJECTIVE_TIME ? ts[k].latency_s : ts[k].energy_j;
        }
        free(ts);
    }
}

static const char *obj_name(int o)
{
    return o == SUSHI_OBJECTIVE_TIME ? "time" : o == SUSHI_OBJECTIVE_ENERGY ? "energy" : "bytes";
}

static void bench_update(sushi_context *ctx, const char *net, uint64_t cap, int reps, int objective)
{
    sushi_supernet *sn;
    int rc = sushi_supernet_builtin(ctx, net, 0, &sn);
    if (rc)
        die("builtin", rc);
    sushi_policy *p;
    if ((rc = sushi_policy_create(sn, "sushi", &p)))
        die("policy", rc);
    sushi_subnet *subs[96];
    for (uint32_t i = 0; i < sn->n_cand; i++)
        if ((rc = sushi_subnet_create(sn, &sn->cands[i].config, &subs[i])))
            die("subnet", rc);
    sav_table sav = { .subs = (const sushi_subnet *const *)subs, .n = sn->n_cand, .objective = objective };
    double t_sav = 0;
    if (objective != SUSHI_OBJECTIVE_BYTES) {
        sushi_backend *b;
        if ((rc = sushi_backend_create(sn, "cycle", &b))) {
            printf("cache update (%s objective): cycle backend not built, skipped\n", obj_name(objective));
            return;
        }
        double t0 = now_s();
        sav_fill(&sav, b);
        t_sav = (now_s() - t0) / sn->n_cand;
        sushi_backend_destroy(b);
    }
    sushi_subgraph *g;
    sushi_subgraph_create(sn, &g);
    uint64_t s = 77;
    double *ns = malloc(reps * sizeof *ns), *cpu = malloc(reps * sizeof *cpu);
    const sushi_subnet *win[100];
    double first = 0;
    for (int k = 0; k < reps; k++) {
        /* a window with locality: 1..8 distinct SubNets, skewed */
        int d = 1 + (int)(rng(&s) % 8);
        int pick[8];
        for (int j = 0; j < d; j++)
            pick[j] = (int)(rng(&s) % sn->n_cand);
        for (int j = 0; j < 100; j++)
            win[j] = subs[pick[(int)(unit(&s) * unit(&s) * d)]];
        sushi_policy_view v = { .size = sizeof v, .supernet = sn, .capacity_bytes = cap, .window = win,
                                .n_window = 100, .candidates = (const sushi_subnet *const *)subs,
                                .n_candidates = sn->n_cand, .objective = objective,
                                .tile_savings = objective != SUSHI_OBJECTIVE_BYTES ? sav_get : NULL,
                                .tile_savings_user = &sav };
        double t0 = now_s(), c0 = cpu_s();
        if ((rc = sushi_policy_choose(p, &v, g)))
            die("choose", rc);
        cpu[k] = (cpu_s() - c0) * 1e9;
        ns[k] = (now_s() - t0) * 1e9;
        if (k == 0)
            first = ns[0];
    }
    qsort(ns, reps, sizeof *ns, cmp_d);
    qsort(cpu, reps, sizeof *cpu, cmp_d);
    printf("cache update (sushi choose, Q=100, %s, PB %.2f MB, objective %s): median %.0f us, p90 %.0f us, "
           "p99 %.0f us over %d windows (first call, which sizes the scratch: %.0f us)\n",
           net, cap / 1e6, obj_name(objective), ns[reps / 2] / 1e3, ns[(size_t)(reps * 0.9)] / 1e3,
           ns[(size_t)(reps * 0.99)] / 1e3, reps, first / 1e3);
    printf("  thread CPU time: median %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", cpu[reps / 2] / 1e3,
           cpu[(size_t)(reps * 0.9)] / 1e3, cpu[(size_t)(reps * 0.99)] / 1e3, cpu[reps - 1] / 1e3);
    if (objective != SUSHI_OBJECTIVE_BYTES)
        printf("  tile savings (cycle backend, once per candidate and objective): %.0f us per candidate\n",
               t_sav * 1e6);
    for (uint32_t i = 0; i < sn->n_cand; i++)
        free(sav.cum[i]);
    free(ns);
    free(cpu);
    sushi_subgraph_destroy(g);
    for (uint32_t i = 0; i < sn->n_cand; i++)
        sushi_subnet_destroy(subs[i]);
    sushi_policy_destroy(p);
    sushi_supernet_destroy(sn);
}

static void bench_serve(sushi_context *ctx, const char *net, const char *backend, const char *policy,
                        uint32_t n_queries)
{
    sushi_supernet *sn;
    int rc = sushi_supernet_builtin(ctx, net, 0, &sn);
    if (rc)
        die("builtin", rc);
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 100;
    if (strcmp(backend, "null") == 0)
        o.pb_bytes = 2u << 20;
    rig r;
    if (!rig_open(&r, sn, backend, policy, &o)) {
        printf("serve %s on %s: backend not built, skipped\n", net, backend);
        sushi_supernet_destroy(sn);
        return;
    }
    sushi_trace *t = make_trace(r.s, n_queries, 200);
    sushi_query *qs = malloc(n_queries * sizeof *qs);
    for (uint32_t i = 0; i < n_queries; i++)
        to_query(t, i, &qs[i]);
    double t0 = now_s();
    for (uint32_t i = 0; i < n_queries; i++) {
        sushi_result res = SUSHI_RESULT_INIT;
        if ((rc = sushi_sched_submit(r.s, &qs[i], &res)))
            die("submit", rc);
    }
    double dt = now_s() - t0;
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_get_stats(r.s, &st);
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    sushi_sched_get_info(r.s, &info);
    printf("serve %s on %s, policy %s, Q=100, PB %.2f MB, %u candidates: %.0f queries/s "
           "(%u queries, %llu updates, update mean %.0f us, decision mean %.0f ns)\n",
           net, backend, policy, info.pb_bytes / 1e6, info.n_candidates, n_queries / dt, n_queries,
           (unsigned long long)st.updates, st.update_mean_ns / 1e3, st.decision_mean_ns);
    free(qs);
    sushi_trace_destroy(t);
    rig_close(&r);
    sushi_supernet_destroy(sn);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    bool update_only = argc > 1 && strcmp(argv[1], "--update") == 0; /* part 2 only, full length */
    sushi_context *ctx;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        die("context", rc);
    if (!update_only)
        bench_decision(ctx, quick ? 20000 : 200000);
    for (int obj = SUSHI_OBJECTIVE_BYTES; obj <= SUSHI_OBJECTIVE_ENERGY; obj++) {
        bench_update(ctx, "ofa-resnet50", 4750000, quick ? 50 : 300, obj);
        bench_update(ctx, "ofa-resnet50", 28000000, quick ? 50 : 300, obj);
        bench_update(ctx, "ofa-mbv3-w1.0", 2000000, quick ? 50 : 300, obj);
    }
    const char *backends[2] = { "null", "cycle" };
    for (int b = 0; b < 2 && !update_only; b++) {
        bench_serve(ctx, "ofa-resnet50", backends[b], "sushi", quick ? 20000 : 200000);
        bench_serve(ctx, "ofa-mbv3-w1.0", backends[b], "sushi", quick ? 20000 : 200000);
    }
    sushi_context_destroy(ctx);
    return 0;
}
