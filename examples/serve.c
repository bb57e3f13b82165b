/*
 * serve: serve a query stream with the scheduler (SushiSched) and compare
 * caching policies.
 *
 *   serve [SUPERNET [BACKEND [N_QUERIES]]]
 *
 * Defaults: ofa-resnet50, the "cycle" backend when it is built (else
 * "null"), 2000 queries. For each caching policy ("none" = no SubGraph
 * Stationary, the baseline; "sushi" = the window of the last Q queries;
 * plus "static" when registered) it:
 *
 *   1. makes a backend instance and a policy instance for the SuperNet,
 *   2. makes a scheduler over them (window Q = 50),
 *   3. generates a query stream with temporal locality, its accuracy floors
 *      and SLOs placed inside what the scheduler can serve,
 *   4. submits every query (no input tensor: the backend's cost model
 *      decides latency, bytes and energy),
 *   5. prints the stream's statistics.
 *
 * The same seed gives the same stream for every policy, so the rows compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sushi/sched.h>
#include <sushi/sushi.h>
#include <sushi/trace.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "serve: %s: %s (%s)\n", what, sushi_status_name(rc), sushi_status_str(rc));
    return rc;
}

/* Persistent-buffer size: the backend's own ("pb_kib" / "pb_bytes") when it
 * models one, else 4 MiB so that something can be resident. */
static uint64_t pb_bytes_for(const sushi_backend *b)
{
    double v;
    if (sushi_backend_get_param(b, "pb_bytes", &v) == SUSHI_OK ||
        sushi_backend_get_param(b, "pb_kib", &v) == SUSHI_OK)
        return SUSHI_SCHED_PB_AUTO; /* the scheduler reads it from the backend */
    return 4u << 20;
}

/* Serve the stream `t` with one policy; print one row of statistics.
 * print_first: also print the first few decisions. */
static int run_policy(const sushi_supernet *sn, const char *backend, const char *policy,
                      const sushi_trace *t, int print_first)
{
    sushi_backend *b = NULL;
    sushi_policy *p = NULL;
    sushi_sched *s = NULL;
    int rc = sushi_backend_create(sn, backend, &b);
    if (!rc)
        rc = sushi_policy_create(sn, policy, &p);
    if (rc) {
        fail(policy, rc);
        goto out;
    }
    sushi_sched_options opts = SUSHI_SCHED_OPTIONS_INIT;
    opts.window = 50;              /* Q: re-choose the SubGraph every 50 queries */
    opts.pb_bytes = pb_bytes_for(b);
    rc = sushi_sched_create(sn, b, p, &opts, &s); /* b and p are borrowed by s */
    if (rc) {
        fail("scheduler", rc);
        goto out;
    }

    size_t n = sushi_trace_length(t);
    for (size_t i = 0; i < n; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_query q = SUSHI_QUERY_INIT;
        sushi_result r = SUSHI_RESULT_INIT;
        if ((rc = sushi_trace_get(t, i, &e)))
            break;
        q.arrival_s = e.t_s;
        q.min_accuracy = e.min_accuracy; /* 0 = no floor */
        q.slo_s = e.slo_s;               /* 0 = no SLO */
        if ((rc = sushi_sched_submit(s, &q, &r))) {
            fail("submit", rc);
            break;
        }
        if (print_first && i < 4)
            printf("    query %zu: floor %.3f SLO %.3f ms -> candidate #%d (acc %.3f), "
                   "%.3f ms, hit %.2f MB%s%s\n",
                   i, e.min_accuracy, e.slo_s * 1e3, r.candidate, r.accuracy, r.latency_s * 1e3,
                   r.hit_bytes / 1e6, r.slo_met && r.accuracy_met ? "" : " (miss)",
                   r.fallback ? " (fallback)" : "");
    }
    if (rc)
        goto out;

    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    if ((rc = sushi_sched_get_stats(s, &st)) || (rc = sushi_sched_get_info(s, &info))) {
        fail("stats", rc);
        goto out;
    }
    printf("  %-7s SLO met %5.1f %%  floor met %5.1f %%  served acc %.4f  "
           "latency mean %7.3f p99 %7.3f ms  PB hit %5.1f %%  off-chip %9.1f MB  "
           "energy %8.3f J  reloads %3llu  decision %6.0f ns\n",
           policy, 100.0 * st.slo_attainment, 100.0 * st.accuracy_attainment, st.accuracy_mean,
           st.latency_mean_s * 1e3, st.latency_p99_s * 1e3, 100.0 * st.pb_hit_ratio,
           st.offchip_bytes / 1e6, st.energy_j, (unsigned long long)st.reloads,
           st.decision_mean_ns);
out:
    sushi_sched_destroy(s); /* the scheduler first: it borrows b and p */
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    return rc;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "ofa-resnet50";
    const char *backend = argc > 2 ? argv[2] : NULL;
    uint32_t n_queries = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 2000u;
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_trace *t = NULL;
    int status = 1;

    int rc = sushi_context_create(NULL, &ctx);
    if (!rc)
        rc = sushi_supernet_builtin(ctx, what, 0, &sn);
    if (rc) {
        fail(what, rc);
        goto out;
    }
    if (!backend) { /* the accelerator model when it is built */
        backend = "null";
        for (size_t i = 0; sushi_backend_name(ctx, i); i++)
            if (strcmp(sushi_backend_name(ctx, i), "cycle") == 0)
                backend = "cycle";
    }

    /* Ask a scheduler what it can serve, so the stream asks for reachable
     * accuracies and latencies (a throw-away scheduler, policy "none"). */
    sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
    {
        sushi_backend *b = NULL;
        sushi_policy *p = NULL;
        sushi_sched *s = NULL;
        sushi_sched_options opts = SUSHI_SCHED_OPTIONS_INIT;
        if (!(rc = sushi_backend_create(sn, backend, &b)) && !(rc = sushi_policy_create(sn, "none", &p))) {
            opts.pb_bytes = pb_bytes_for(b);
            if (!(rc = sushi_sched_create(sn, b, p, &opts, &s)))
                rc = sushi_sched_get_info(s, &info);
        }
        sushi_sched_destroy(s);
        sushi_policy_destroy(p);
        sushi_backend_destroy(b);
        if (rc) {
            fail("scheduler", rc);
            goto out;
        }
    }
    printf("%s on backend %s: %u Pareto candidates, accuracy %.3f..%.3f, latency %.3f..%.3f ms, "
           "persistent buffer %.2f MB\n", what, backend, info.n_candidates, info.accuracy_min,
           info.accuracy_max, info.latency_min_s * 1e3, info.latency_max_s * 1e3,
           info.pb_bytes / 1e6);

    /* A stream with temporal locality: 4 regimes of demand, ~200 queries per
     * visit, half latency-bound and half accuracy-bound queries. */
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    g.seed = 7;
    g.n_queries = n_queries;
    g.n_regimes = 4;
    g.dwell = 200.0;
    g.mix = 0.5;
    g.acc_lo = info.accuracy_min;
    g.acc_hi = info.accuracy_max;
    g.slo_lo_s = info.latency_min_s * 1.05;
    g.slo_hi_s = info.latency_max_s;
    g.rate_hz = 0.5 / info.latency_max_s; /* light load: little queueing */
    if ((rc = sushi_trace_generate(ctx, &g, &t))) {
        fail("trace", rc);
        goto out;
    }
    printf("stream: %zu queries, %u regimes, mean dwell %.0f queries, window Q = 50\n",
           sushi_trace_length(t), g.n_regimes, g.dwell);

    const char *policies[] = { "none", "static", "sushi" };
    for (size_t i = 0; i < sizeof policies / sizeof *policies; i++) {
        int registered = 0;
        for (size_t k = 0; sushi_policy_name(ctx, k); k++)
            registered |= strcmp(sushi_policy_name(ctx, k), policies[i]) == 0;
        if (!registered)
            continue;
        if ((rc = run_policy(sn, backend, policies[i], t, i == 0)))
            goto out;
    }
    status = 0;
out:
    sushi_trace_destroy(t);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return status;
}
