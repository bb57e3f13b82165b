/* sushi_server: arguments, options, misuse and single-thread behaviour
 * (Criterion). The threaded cases are in test_server.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <criterion/criterion.h>
#include <pthread.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <math.h>
#include <stdint.h>
#include <time.h>
#include <sushi/sushi.h>

#include "internal.h" /* sushi_block_cap */
#include "server_gate.h"

static sushi_context *ctx;
static sushi_supernet *sn;
static float out[GATE_OUT_N];

static void setup(void)
{
    gate_reset();
    cr_assert_eq(gate_setup(&ctx, &sn), SUSHI_OK);
}

static void teardown(void)
{
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

TestSuite(server, .init = setup, .fini = teardown);

static sushi_server_options opts(void)
{
    sushi_server_options o = SUSHI_SERVER_OPTIONS_INIT;
    o.backend = "gate";
    return o;
}

Test(server, create_bad_arguments_return_invalid_and_null)
{
    sushi_server *srv = (sushi_server *)1;
    sushi_server_options o = opts();
    cr_assert_eq(sushi_server_create(NULL, &o, &srv), SUSHI_ERR_INVALID);
    cr_assert_null(srv);
    cr_assert_eq(sushi_server_create(sn, NULL, &srv), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_server_create(sn, &o, NULL), SUSHI_ERR_INVALID);
    o.backend = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.workers = 0;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.workers = 257;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.queue_capacity = 0;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.policy = "oracle"; /* needs the future: not in a server */
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.size = sizeof o - 1;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_ABI);
    o = opts(), o.size = offsetof(sushi_server_options, block_miss) - 1;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_ABI);
    const double bad_block[] = { -0.01, 1.01, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad_block / sizeof *bad_block; i++) {
        o = opts(), o.block_miss = bad_block[i];
        cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID, "block_miss %g", bad_block[i]);
        cr_assert_null(srv);
    }
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    so.size = 4;
    o = opts(), o.sched = &so;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_ABI);
    so = (sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT;
    so.window = 0; /* the scheduler's own check */
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    cr_assert_null(srv);
}

Test(server, create_unknown_backend_or_policy_returns_not_found)
{
    sushi_server *srv = NULL;
    sushi_server_options o = opts();
    o.backend = "no-such-backend";
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_NOT_FOUND);
    o = opts(), o.policy = "no-such-policy";
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_NOT_FOUND);
    cr_assert_null(srv);
}

typedef struct setup_log {
    int calls_backend, calls_sched, fail_at;
} setup_log;

static int setup_hook(void *user, uint32_t worker, sushi_backend *b, sushi_sched *s)
{
    setup_log *l = user;
    cr_assert_not_null(b);
    if (s)
        l->calls_sched++;
    else
        l->calls_backend++;
    int call = l->calls_backend + l->calls_sched;
    (void)worker;
    return call == l->fail_at ? SUSHI_ERR_RANGE : SUSHI_OK;
}

Test(server, setup_hook_runs_per_worker_and_its_failure_fails_create)
{
    setup_log l = { 0, 0, 0 };
    sushi_server_options o = opts();
    o.workers = 3, o.setup = setup_hook, o.setup_user = &l;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    cr_assert_eq(l.calls_backend, 3);
    cr_assert_eq(l.calls_sched, 3);
    sushi_server_destroy(srv);
    for (int k = 1; k <= 6; k++) { /* every stage of every worker: no leak (ASan) */
        l = (setup_log){ 0, 0, k };
        srv = (sushi_server *)1;
        cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_RANGE, "fail at call %d", k);
        cr_assert_null(srv);
    }
}

Test(server, submit_bad_query_returns_error_and_no_ticket)
{
    sushi_server_options o = opts();
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_ticket *t = (sushi_ticket *)1;
    sushi_query q = gate_query(out, GATE_OUT_N, 0.0);
    cr_assert_eq(sushi_server_submit(NULL, &q, 0, NULL, &t), SUSHI_ERR_INVALID);
    cr_assert_null(t);
    cr_assert_eq(sushi_server_submit(srv, NULL, 0, NULL, &t), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, NULL), SUSHI_ERR_INVALID); /* answer would be lost */
    cr_assert_eq(sushi_server_submit(srv, &q, 2u, NULL, &t), SUSHI_ERR_INVALID);
    q.slo_s = NAN;
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_ERR_INVALID);
    q.slo_s = -1.0;
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_ERR_INVALID);
    q = gate_query(out, GATE_OUT_N, 0.0), q.min_accuracy = 1.5;
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_ERR_RANGE);
    q = gate_query(out, GATE_OUT_N, 0.0), q.size = 8;
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_ERR_ABI);
    /* an arrival later than the server clock */
    q = gate_query(out, GATE_OUT_N, 0.0), q.arrival_s = sushi_server_now(srv) + 3600.0;
    cr_assert_eq(sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, NULL, &t), SUSHI_ERR_INVALID);
    cr_assert_null(t);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(sushi_server_get_stats(srv, &st), SUSHI_OK);
    cr_assert_eq(st.submitted, 0);
    cr_assert(isnan(st.e2e_slo_attainment) && isnan(st.e2e_p99_s) && isnan(st.accuracy_mean));
    sushi_server_destroy(srv);
}

Test(server, given_arrival_is_kept_and_waiting_counts_end_to_end)
{
    sushi_server_options o = opts();
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    /* the query arrived 50 ms before it was submitted (e.g. a frame's capture time) */
    struct timespec ts = { 0, 60 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    double now = sushi_server_now(srv);
    cr_assert(now >= 0.06);
    sushi_query q = gate_query(out, GATE_OUT_N, 0.010); /* 10 ms SLO: already missed */
    q.arrival_s = now - 0.05;
    sushi_ticket *t = NULL;
    cr_assert_eq(sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, NULL, &t), SUSHI_OK);
    int status = 1;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_ticket_wait(t, -1.0, &status, &r), SUSHI_OK);
    cr_assert_eq(status, SUSHI_OK);
    sushi_ticket_destroy(t);
    cr_assert_eq(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN), SUSHI_OK);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(sushi_server_get_stats(srv, &st), SUSHI_OK);
    cr_assert_eq(st.served, 1);
    cr_assert_eq(st.slo_queries, 1);
    cr_assert_geq(st.e2e_max_s, 0.05, "e2e %g counts from the given arrival", st.e2e_max_s);
    cr_assert_eq(st.e2e_slo_attainment, 0.0);
    sushi_server_destroy(srv);
}

Test(server, stamped_arrival_serves_and_meets_a_loose_slo)
{
    sushi_server_options o = opts();
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_query q = gate_query(out, GATE_OUT_N, 1000.0);
    q.arrival_s = 12345.0; /* ignored without SUSHI_SERVER_SUBMIT_ARRIVAL */
    sushi_ticket *t = NULL;
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_OK);
    int status = 1;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_ticket_wait(t, -1.0, &status, &r), SUSHI_OK);
    cr_assert_eq(status, SUSHI_OK);
    cr_assert(r.ran);
    cr_assert_eq(out[0], 1.0f, "the output buffer was written by the backend");
    sushi_ticket_destroy(t);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(sushi_server_get_stats(srv, &st), SUSHI_OK);
    cr_assert_eq(st.e2e_slo_attainment, 1.0);
    cr_assert_lt(st.e2e_max_s, 1000.0);
    sushi_server_destroy(srv);
}

Test(server, worker_stats_need_shutdown_and_a_valid_worker)
{
    sushi_server_options o = opts();
    o.workers = 2;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_sched_stats st = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_server_get_worker_stats(srv, 0, &st), SUSHI_ERR_STATE);
    cr_assert_eq(sushi_server_shutdown(srv, 7), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_CANCEL), SUSHI_OK);
    cr_assert_eq(sushi_server_get_worker_stats(srv, 1, &st), SUSHI_OK);
    cr_assert_eq(st.queries, 0);
    cr_assert_eq(sushi_server_get_worker_stats(srv, 2, &st), SUSHI_ERR_RANGE);
    st.size = 8;
    cr_assert_eq(sushi_server_get_worker_stats(srv, 0, &st), SUSHI_ERR_ABI);
    sushi_server_stats ss = SUSHI_SERVER_STATS_INIT;
    ss.size = 8;
    cr_assert_eq(sushi_server_get_stats(srv, &ss), SUSHI_ERR_ABI);
    sushi_ticket *t = NULL;
    sushi_query q = gate_query(out, GATE_OUT_N, 0.0);
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_ERR_STATE);
    cr_assert_null(t);
    sushi_server_destroy(srv);
}

Test(server, null_handles_are_safe)
{
    sushi_server_destroy(NULL);
    sushi_ticket_destroy(NULL);
    cr_assert(isnan(sushi_server_now(NULL)));
    cr_assert_eq(sushi_server_shutdown(NULL, 0), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_ticket_wait(NULL, 0, NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_ticket_poll(NULL, NULL, NULL), SUSHI_ERR_INVALID);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(sushi_server_get_stats(NULL, &st), SUSHI_ERR_INVALID);
}

Test(server, ticket_wait_checks_its_arguments)
{
    sushi_server_options o = opts();
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    gate_set(false);
    sushi_ticket *t = NULL;
    sushi_query q = gate_query(out, GATE_OUT_N, 0.0);
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_OK);
    cr_assert_eq(sushi_ticket_wait(t, NAN, NULL, NULL), SUSHI_ERR_INVALID);
    sushi_result r = SUSHI_RESULT_INIT;
    r.size = 8;
    cr_assert_eq(sushi_ticket_wait(t, 0, NULL, &r), SUSHI_ERR_ABI);
    cr_assert_eq(sushi_ticket_poll(t, NULL, NULL), SUSHI_ERR_STATE);
    gate_set(true);
    cr_assert_eq(sushi_ticket_wait(t, -1, NULL, NULL), SUSHI_OK);
    sushi_ticket_destroy(t);
    sushi_server_destroy(srv);
}

Test(server, late_drop_answers_dropped_and_counts_a_miss)
{
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    so.late = SUSHI_SCHED_LATE_DROP;
    sushi_server_options o = opts();
    o.sched = &so;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    /* arrived 20 ms ago with a 1 ms SLO: no budget left for any candidate */
    sushi_query q = gate_query(out, GATE_OUT_N, 0.001);
    q.arrival_s = 0.0;
    sushi_ticket *t = NULL;
    cr_assert_eq(sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, NULL, &t), SUSHI_OK);
    int status = 1;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_ticket_wait(t, -1.0, &status, &r), SUSHI_OK);
    cr_assert_eq(status, SUSHI_ERR_DROPPED, "status %s", sushi_status_name(status));
    cr_assert(r.dropped);
    cr_assert_eq(r.candidate, -1);
    cr_assert_geq(r.queue_s, 0.02, "the wait is counted from the given arrival: %g", r.queue_s);
    sushi_ticket_destroy(t);
    cr_assert_eq(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN), SUSHI_OK);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(sushi_server_get_stats(srv, &st), SUSHI_OK);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(st.served, 0);
    cr_assert_eq(st.slo_queries, 1);
    cr_assert_eq(st.e2e_slo_attainment, 0.0);
    sushi_sched_stats ws = SUSHI_SCHED_STATS_INIT;
    cr_assert_eq(sushi_server_get_worker_stats(srv, 0, &ws), SUSHI_OK);
    cr_assert_eq(ws.dropped, 1);
    sushi_server_destroy(srv);
}

Test(server, worker_sets_service_start_so_the_scheduler_sees_the_wait)
{
    sushi_server_options o = opts();
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    struct timespec ts = { 0, 30 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    sushi_query q = gate_query(out, GATE_OUT_N, 10.0);
    q.arrival_s = 0.0; /* arrived at creation, 30 ms ago */
    sushi_ticket *t = NULL;
    cr_assert_eq(sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, NULL, &t), SUSHI_OK);
    int status = 1;
    sushi_result r = SUSHI_RESULT_INIT;
    cr_assert_eq(sushi_ticket_wait(t, -1.0, &status, &r), SUSHI_OK);
    cr_assert_eq(status, SUSHI_OK);
    /* queue_s = start - arrival (not the simulated FIFO's 0), budget = SLO - wait */
    cr_assert_geq(r.queue_s, 0.03, "queue_s %g", r.queue_s);
    cr_assert_float_eq(r.budget_s, 10.0 - r.queue_s, 1e-9);
    cr_assert_geq(r.e2e_s, r.queue_s + r.latency_s - 1e-12);
    cr_assert(r.e2e_slo_met);
    sushi_ticket_destroy(t);
    sushi_server_destroy(srv);
}

/* ---------------------------------------- order and the queue-aware budget */

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static int seen[8], n_seen;

static void record(void *user, void *query_user, int status, const sushi_result *r)
{
    (void)user, (void)status, (void)r;
    pthread_mutex_lock(&seen_mu);
    if (n_seen < 8)
        seen[n_seen++] = (int)(intptr_t)query_user;
    pthread_mutex_unlock(&seen_mu);
}

/* One worker held in run() by the closed gate while B, C, D queue up; the
 * order they are answered in is the order they were taken. */
static void answered_order(uint32_t order, int got[4])
{
    static float outs[4][GATE_OUT_N];
    n_seen = 0;
    sushi_server_options o = opts();
    o.order = order;
    o.best_effort_s = 30.0; /* D (no SLO) is ordered at arrival + 30 s */
    o.callback = record;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    gate_set(false);
    const double slo[4] = { 100.0, 50.0, 20.0, 0.0 }; /* A (in service), B, C, D */
    for (int i = 0; i < 4; i++) {
        sushi_query q = gate_query(outs[i], GATE_OUT_N, slo[i]);
        cr_assert_eq(sushi_server_submit(srv, &q, 0, (void *)(intptr_t)i, NULL), SUSHI_OK);
        if (i == 0)
            gate_wait_entered(1); /* A is in service: B, C, D wait */
    }
    gate_set(true);
    cr_assert_eq(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN), SUSHI_OK);
    sushi_server_destroy(srv);
    cr_assert_eq(n_seen, 4);
    memcpy(got, seen, 4 * sizeof *got);
}

Test(server, edf_takes_the_earliest_deadline_first_and_fifo_the_first_submitted)
{
    int got[4];
    answered_order(SUSHI_SERVER_ORDER_EDF, got);
    /* deadlines: B +50 s, C +20 s, D +30 s (best effort) */
    cr_assert(got[0] == 0 && got[1] == 2 && got[2] == 3 && got[3] == 1, "EDF order %d %d %d %d", got[0], got[1],
              got[2], got[3]);
    answered_order(SUSHI_SERVER_ORDER_FIFO, got);
    cr_assert(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 3, "FIFO order %d %d %d %d", got[0], got[1],
              got[2], got[3]);
}

Test(server, order_and_best_effort_options_are_checked)
{
    sushi_server *srv = (sushi_server *)1;
    sushi_server_options o = opts();
    o.order = 2;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    cr_assert_null(srv);
    o = opts(), o.best_effort_s = -1.0;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.best_effort_s = NAN;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.best_effort_s = INFINITY;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    const double bad_slice[] = { -1e-4, 5e-5, 0.2, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad_slice / sizeof *bad_slice; i++) {
        o = opts(), o.worker_slice_s = bad_slice[i];
        cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID, "slice %g", bad_slice[i]);
        cr_assert_null(srv);
    }
    o = opts(), o.worker_nice = -21;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.worker_nice = 20;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_ERR_INVALID);
    o = opts(), o.worker_nice = 5; /* raising it needs no privilege */
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_server_destroy(srv);
    o = opts(), o.worker_slice_s = 0.0; /* the OS default */
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_server_destroy(srv);
}

#if defined(__linux__) && defined(SYS_sched_getattr)
typedef struct sched_attr0 {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
} sched_attr0;

static uint64_t my_slice_ns(void)
{
    sched_attr0 a;
    memset(&a, 0, sizeof a);
    return syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0 ? a.runtime : 0;
}

static uint64_t worker_slice_seen;

static int worker_nice_seen;

static void note_slice(void *user, void *query_user, int status, const sushi_result *r)
{
    (void)user, (void)query_user, (void)status, (void)r;
    worker_slice_seen = my_slice_ns(); /* the callback runs on the worker */
    errno = 0;
    worker_nice_seen = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
}

static void *probe_thread(void *arg)
{
    sched_attr0 a;
    memset(&a, 0, sizeof a);
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0) {
        a.size = sizeof a, a.flags = 0, a.runtime = 200000;
        if (syscall(SYS_sched_setattr, 0, &a, 0) == 0)
            *(uint64_t *)arg = my_slice_ns();
    }
    return NULL;
}

Test(server, workers_ask_the_kernel_for_the_slice)
{
    /* does this kernel keep a SCHED_OTHER runtime (EEVDF custom slices,
     * Linux >= 6.12)? probed on a thread of our own */
    uint64_t kept = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, probe_thread, &kept), 0);
    pthread_join(th, NULL);
    if (kept != 200000)
        cr_skip_test("the kernel does not keep custom time slices (probe read %llu ns)", (unsigned long long)kept);
    static float o1[GATE_OUT_N];
    sushi_server_options o = opts();
    o.callback = note_slice;
    o.worker_slice_s = 0.0003;
    o.worker_nice = 7; /* above the inherited 0: no privilege needed */
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_query q = gate_query(o1, GATE_OUT_N, 1.0);
    cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, NULL), SUSHI_OK);
    cr_assert_eq(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN), SUSHI_OK);
    sushi_server_destroy(srv);
    cr_assert_eq(worker_slice_seen, 300000, "the worker runs with a %llu ns slice",
                 (unsigned long long)worker_slice_seen);
    cr_assert_eq(worker_nice_seen, 7, "and nice %d (the slice request kept it)", worker_nice_seen);
}
#endif

/* Sets the gate to 1e-8 s/MAC (seconds: the few ms of real time a test
 * takes are noise against them) and returns its predicted latencies of the
 * most accurate and the fastest candidate, asserting the spread the cap
 * tests need (most accurate > 3 x fastest). */
static void gate_extremes(double *p_best, double *p_fast, double *a_best)
{
    pthread_mutex_lock(&gate_mu);
    gate_scale = 1e-8;
    pthread_mutex_unlock(&gate_mu);
    sushi_backend *b = NULL;
    sushi_policy *p = NULL;
    sushi_sched *s = NULL;
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    cr_assert_eq(sushi_backend_create(sn, "gate", &b), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "none", &p), SUSHI_OK);
    cr_assert_eq(sushi_sched_create(sn, b, p, &so, &s), SUSHI_OK);
    sushi_sched_info si = SUSHI_SCHED_INFO_INIT;
    cr_assert_eq(sushi_sched_get_info(s, &si), SUSHI_OK);
    *p_fast = INFINITY;
    for (uint32_t i = 0; i < si.n_candidates; i++) {
        sushi_sched_candidate c = SUSHI_SCHED_CANDIDATE_INIT;
        cr_assert_eq(sushi_sched_candidate_get(s, i, &c), SUSHI_OK);
        if (i == 0)
            *p_best = c.predicted_s, *a_best = c.accuracy;
        if (c.predicted_s < *p_fast)
            *p_fast = c.predicted_s;
    }
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    cr_assert_gt(*p_best, 3.0 * *p_fast, "the test needs a spread: %g vs %g", *p_best, *p_fast);
}

/* FIFO, one worker: A in service, then B (loose SLO, maybe a floor), then C
 * with SLO c_slo. Returns B's and C's results. */
static void b_behind_c(double c_slo, double b_floor, int late, sushi_result *rb, int *sb, sushi_result *rc_,
                       int *sc)
{
    static float outs[3][GATE_OUT_N];
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    so.late = late;
    sushi_server_options o = opts();
    o.order = SUSHI_SERVER_ORDER_FIFO;
    o.sched = &so;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    gate_set(false);
    sushi_ticket *t[3] = { NULL, NULL, NULL };
    const double slo[3] = { 1000.0, 1000.0, c_slo };
    for (int i = 0; i < 3; i++) {
        sushi_query q = gate_query(outs[i], GATE_OUT_N, slo[i]);
        if (i == 1)
            q.min_accuracy = b_floor;
        cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t[i]), SUSHI_OK);
        if (i == 0)
            gate_wait_entered(1);
    }
    gate_set(true);
    cr_assert_eq(sushi_ticket_wait(t[1], -1.0, sb, rb), SUSHI_OK);
    cr_assert_eq(sushi_ticket_wait(t[2], -1.0, sc, rc_), SUSHI_OK);
    for (int i = 0; i < 3; i++)
        sushi_ticket_destroy(t[i]);
    sushi_server_destroy(srv);
}

Test(server, queue_aware_budget_leaves_room_for_the_query_behind)
{
    double p_best, p_fast, a_best;
    gate_extremes(&p_best, &p_fast, &a_best);
    sushi_result rb = SUSHI_RESULT_INIT, rc_ = SUSHI_RESULT_INIT;
    int sb = 1, sc = 1;

    /* C's deadline leaves B less than the most accurate's time: B is capped
     * to what keeps C's fastest on time, and C is served */
    const double c_slo = p_fast + 0.5 * (p_fast + p_best);
    b_behind_c(c_slo, 0.0, SUSHI_SCHED_LATE_DROP, &rb, &sb, &rc_, &sc);
    cr_assert_eq(sb, SUSHI_OK);
    cr_assert_eq(sc, SUSHI_OK, "C: %s", sushi_status_name(sc));
    cr_assert_lt(rb.predicted_s, p_best, "B planned %g s, the most accurate takes %g s", rb.predicted_s, p_best);
    cr_assert_leq(rb.predicted_s, c_slo - p_fast + 1e-9, "B planned %g s beyond C's slack", rb.predicted_s);
    cr_assert_lt(rb.budget_s, 1000.0 + 1e-9); /* its own budget is still the loose SLO */
    cr_assert_gt(rb.budget_s, 999.0);

    /* C out of reach (SLO below the fastest): it saves nobody to cap B */
    b_behind_c(0.5 * p_fast, 0.0, SUSHI_SCHED_LATE_DROP, &rb, &sb, &rc_, &sc);
    cr_assert_eq(sb, SUSHI_OK);
    cr_assert_float_eq(rb.predicted_s, p_best, 1e-12, "B: %g", rb.predicted_s);
    cr_assert_eq(sc, SUSHI_ERR_DROPPED);

    /* B's accuracy floor needs the most accurate: the cap does not break it */
    b_behind_c(c_slo, a_best, SUSHI_SCHED_LATE_DROP, &rb, &sb, &rc_, &sc);
    cr_assert_eq(sb, SUSHI_OK);
    cr_assert_float_eq(rb.predicted_s, p_best, 1e-12, "B with a floor: %g", rb.predicted_s);
}

/* ------------------------------------------------- the blocking-aware cap */

Test(server, block_cap_solves_the_expected_miss_budget)
{
    /* 100 arrivals over 1 s, all SLO 3 ms, fastest 1 ms: a service of S
     * makes 100 x max(0, S - 2 ms) misses expected; a budget of 0.01 gives
     * S = 2 ms + 0.01 / 100 s = 2.1 ms */
    double slo[100], c; /* sushi_block_cap overwrites slo: one call per fill */
    for (int i = 0; i < 100; i++)
        slo[i] = 3e-3;
    c = sushi_block_cap(slo, 100, 1.0, 1e-3, 0.01, 1.0);
    cr_assert_float_eq(c, 2.1e-3, 1e-12);
    /* two SLO levels, 50 each over 1 s (m = 1 ms and 4 ms), eps 0.05: on
     * [1, 4) ms the expectation is 50 (S - 1 ms), 0.05 at S = 2 ms */
    for (int i = 0; i < 100; i++)
        slo[i] = i % 2 ? 2e-3 : 5e-3;
    c = sushi_block_cap(slo, 100, 1.0, 1e-3, 0.05, 1.0);
    cr_assert_float_eq(c, 2e-3, 1e-12);
    /* eps 0.2: 50 (S - 1 ms) reaches 0.15 at 4 ms; then 100 S - 0.25 s = 0.2
     * gives S = 4.5 ms */
    for (int i = 0; i < 100; i++)
        slo[i] = i % 2 ? 2e-3 : 5e-3;
    c = sushi_block_cap(slo, 100, 1.0, 1e-3, 0.2, 1.0);
    cr_assert_float_eq(c, 4.5e-3, 1e-12);
    /* a cap at or above the query's own budget changes nothing: 0 */
    for (int i = 0; i < 100; i++)
        slo[i] = 3e-3;
    c = sushi_block_cap(slo, 100, 1.0, 1e-3, 0.01, 2.05e-3);
    cr_assert_eq(c, 0.0);
    /* SLOs the fastest cannot meet even unblocked are not protected */
    for (int i = 0; i < 100; i++)
        slo[i] = 0.5e-3;
    c = sushi_block_cap(slo, 100, 1.0, 1e-3, 0.01, 1.0);
    cr_assert_eq(c, 0.0);
    /* no time span: no rate, no cap */
    c = sushi_block_cap(slo, 100, 0.0, 1e-3, 0.01, 1.0);
    cr_assert_eq(c, 0.0);
    /* a tighter budget never gives a longer service; a sparser stream never
     * a shorter one */
    double prev = INFINITY;
    for (double eps = 0.1; eps > 1e-5; eps /= 3) {
        for (int i = 0; i < 100; i++)
            slo[i] = 1e-3 + 1e-4 * i;
        c = sushi_block_cap(slo, 100, 1.0, 0.5e-3, eps, 1.0);
        cr_assert_gt(c, 0.0);
        cr_assert_leq(c, prev, "eps %g: %g after %g", eps, c, prev);
        prev = c;
    }
    for (int i = 0; i < 100; i++)
        slo[i] = 1e-3 + 1e-4 * i;
    double dense = sushi_block_cap(slo, 100, 0.1, 0.5e-3, 0.01, 1.0);
    for (int i = 0; i < 100; i++)
        slo[i] = 1e-3 + 1e-4 * i;
    c = sushi_block_cap(slo, 100, 10.0, 0.5e-3, 0.01, 1.0);
    cr_assert_gt(c, dense);
}

/* 40 queries with a tight SLO, served one after another (each answered
 * before the next is submitted), then B with a loose SLO. The gate's model
 * latencies are far longer than the wall time between submits, so the
 * stream looks dense to the server: with the cap on and no other worker
 * free, B must be capped near the tight SLO; otherwise it gets the most
 * accurate. Returns B's planned service time. */
static double b_after_tight_stream(double block_miss, uint32_t workers, double tight_slo)
{
    static float outs[GATE_OUT_N];
    sushi_server_options o = opts();
    o.block_miss = block_miss;
    o.workers = workers;
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_result r = SUSHI_RESULT_INIT;
    int st = 1;
    for (int i = 0; i <= 40; i++) {
        sushi_query q = gate_query(outs, GATE_OUT_N, i < 40 ? tight_slo : 1000.0);
        sushi_ticket *t = NULL;
        cr_assert_eq(sushi_server_submit(srv, &q, 0, NULL, &t), SUSHI_OK);
        cr_assert_eq(sushi_ticket_wait(t, -1.0, &st, &r), SUSHI_OK);
        cr_assert_eq(st, SUSHI_OK, "query %d: %s", i, sushi_status_name(st));
        sushi_ticket_destroy(t);
    }
    sushi_server_destroy(srv);
    return r.predicted_s;
}

Test(server, blocking_aware_cap_shortens_a_service_only_when_it_blocks)
{
    double p_best, p_fast, a_best;
    gate_extremes(&p_best, &p_fast, &a_best);
    const double tight = 3.0 * p_fast; /* slack 2 x p_fast over the fastest */
    /* on: B planned within the tight SLO's slack over the fastest, plus the
     * budget's share (0.01 x a wall-clock span of milliseconds / 40) */
    double b = b_after_tight_stream(0.01, 1, tight);
    cr_assert_lt(b, p_best, "B planned %g s, the most accurate takes %g s", b, p_best);
    cr_assert_leq(b, tight - p_fast + 1e-3, "B planned %g s, beyond the tight queries' slack %g s", b, tight - p_fast);
    /* off */
    cr_assert_float_eq(b_after_tight_stream(0.0, 1, tight), p_best, 1e-12);
    /* two workers, one always free: nothing waits for B */
    cr_assert_float_eq(b_after_tight_stream(0.01, 2, tight), p_best, 1e-12);
    /* a caller built before block_miss existed (the 104-byte struct) gets the
     * default cap */
    sushi_server_options o = opts();
    o.size = offsetof(sushi_server_options, block_miss);
    o.block_miss = NAN; /* beyond its size: never read */
    sushi_server *srv = NULL;
    cr_assert_eq(sushi_server_create(sn, &o, &srv), SUSHI_OK);
    sushi_server_destroy(srv);
}
