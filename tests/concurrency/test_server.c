/*
 * sushi_server under threads: every accepted query answered exactly once
 * (served, dropped, cancelled), a full queue answered SUSHI_ERR_BUSY,
 * shutdown with queries in service and queued (cancel and drain), callbacks
 * and tickets, many producer threads, shutdown racing submits, and handles
 * destroyed in every order. Uses the "gate" test backend (server_gate.h),
 * whose runs finish only when the test opens the gate: no timing assumption.
 *
 * Plain C (no Criterion: it cannot start under TSan) so that it is built
 * twice: with the project's sanitizers (test 'concurrency-server') and with
 * ThreadSanitizer over the whole library ('concurrency-server-tsan').
 * Argument checks and single-thread behaviour: test_server_api.c (Criterion).
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sushi/sushi.h>

#include "server_gate.h"

static int failures;
#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            failures++;                                                     \
        }                                                                   \
    } while (0)
#define CHECK_RC(call) CHECK((call) == SUSHI_OK, "%s", sushi_status_name(call))

static sushi_context *ctx;
static sushi_supernet *sn;
static size_t n_classes;

/* per-query answer bookkeeping, indexed by the query's user pointer */
#define MAXQ 4096
static atomic_int answers[MAXQ];
static atomic_int status_of[MAXQ];
static atomic_int n_ok, n_cancel, n_other;
static float outbuf[MAXQ][GATE_OUT_N];

static void reset_counts(void)
{
    for (int i = 0; i < MAXQ; i++) {
        atomic_store(&answers[i], 0);
        atomic_store(&status_of[i], 1);
    }
    atomic_store(&n_ok, 0);
    atomic_store(&n_cancel, 0);
    atomic_store(&n_other, 0);
}

static void on_done(void *user, void *query_user, int status, const sushi_result *r)
{
    (void)user;
    intptr_t id = (intptr_t)query_user;
    if (id >= 0 && id < MAXQ) {
        atomic_fetch_add(&answers[id], 1);
        atomic_store(&status_of[id], status);
    }
    if (status == SUSHI_OK) {
        atomic_fetch_add(&n_ok, 1);
        if (r->candidate < 0 || !r->ran)
            atomic_fetch_add(&n_other, 1000); /* a served result must say what ran */
    } else if (status == SUSHI_ERR_CANCELLED)
        atomic_fetch_add(&n_cancel, 1);
    else
        atomic_fetch_add(&n_other, 1);
}

static sushi_server *make(uint32_t workers, uint32_t cap, bool with_cb)
{
    sushi_server_options o = SUSHI_SERVER_OPTIONS_INIT;
    o.backend = "gate";
    o.workers = workers;
    o.queue_capacity = cap;
    o.callback = with_cb ? on_done : NULL;
    sushi_server *srv = NULL;
    int rc = sushi_server_create(sn, &o, &srv);
    CHECK(rc == SUSHI_OK, "create: %s", sushi_status_name(rc));
    return srv;
}

/* Every query carries the same loose SLO (never dropped: late = fastest,
 * the default; one SLO for all keeps EDF in submission order, which the
 * cases rely on), so the blocking-aware cap's bookkeeping (the arrival ring,
 * the busy count, its estimate outside the lock) runs in every case here,
 * under TSan too. */
static int submit(sushi_server *srv, intptr_t id, sushi_ticket **t)
{
    sushi_query q = gate_query(outbuf[id], GATE_OUT_N, 5.0);
    return sushi_server_submit(srv, &q, 0, (void *)id, t);
}

/* ------------------------------------------------------------ the cases */

/* callback and ticket both report every query once, with the same status */
static void callback_and_ticket(void)
{
    reset_counts();
    gate_reset();
    sushi_server *srv = make(2, 64, true);
    sushi_ticket *t[50];
    for (intptr_t i = 0; i < 50; i++)
        CHECK_RC(submit(srv, i, i % 2 ? &t[i] : NULL));
    for (int i = 1; i < 50; i += 2) {
        int st = 1;
        sushi_result r = SUSHI_RESULT_INIT;
        CHECK_RC(sushi_ticket_wait(t[i], -1.0, &st, &r));
        CHECK(st == SUSHI_OK, "ticket %d: %s", i, sushi_status_name(st));
        CHECK(r.ran && r.candidate >= 0, "ticket %d: not served", i);
        /* the callback ran before the ticket became ready */
        CHECK(atomic_load(&answers[i]) == 1, "ticket %d: callback count %d", i, atomic_load(&answers[i]));
        sushi_ticket_destroy(t[i]);
    }
    CHECK_RC(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN));
    for (int i = 0; i < 50; i++)
        CHECK(atomic_load(&answers[i]) == 1 && atomic_load(&status_of[i]) == SUSHI_OK, "query %d: %d answers, %s", i,
              atomic_load(&answers[i]), sushi_status_name(atomic_load(&status_of[i])));
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    CHECK_RC(sushi_server_get_stats(srv, &st));
    CHECK(st.submitted == 50 && st.answered == 50 && st.served == 50 && st.rejected == 0, "stats %" PRIu64,
          st.answered);
    CHECK(st.e2e_p50_s >= 0 && st.e2e_p99_s >= st.e2e_p50_s && st.e2e_max_s >= st.e2e_p99_s, "percentiles");
    sushi_sched_stats w0 = SUSHI_SCHED_STATS_INIT, w1 = SUSHI_SCHED_STATS_INIT;
    CHECK_RC(sushi_server_get_worker_stats(srv, 0, &w0));
    CHECK_RC(sushi_server_get_worker_stats(srv, 1, &w1));
    CHECK(w0.queries + w1.queries == 50, "worker queries %" PRIu64 " + %" PRIu64, w0.queries, w1.queries);
    CHECK(atomic_load(&n_other) == 0, "other statuses");
    sushi_server_destroy(srv);
}

/* a full queue answers SUSHI_ERR_BUSY at once; the queued ones are served */
static void full_queue(void)
{
    reset_counts();
    gate_reset();
    gate_set(false);
    sushi_server *srv = make(1, 4, true);
    CHECK_RC(submit(srv, 0, NULL));
    gate_wait_entered(1); /* the worker holds query 0: the queue is empty */
    for (intptr_t i = 1; i <= 4; i++)
        CHECK_RC(submit(srv, i, NULL));
    sushi_ticket *t = (sushi_ticket *)1;
    int rc = submit(srv, 5, &t);
    CHECK(rc == SUSHI_ERR_BUSY, "5th queued: %s", sushi_status_name(rc));
    CHECK(t == NULL, "no ticket for a rejected query");
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    CHECK_RC(sushi_server_get_stats(srv, &st));
    CHECK(st.rejected == 1 && st.queue_depth == 4 && st.queue_max_depth == 4 && st.submitted == 5,
          "rejected %" PRIu64 " depth %u", st.rejected, st.queue_depth);
    gate_set(true);
    CHECK_RC(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN));
    CHECK(atomic_load(&n_ok) == 5 && atomic_load(&answers[5]) == 0, "served %d", atomic_load(&n_ok));
    sushi_server_destroy(srv);
}

typedef struct shut_arg {
    sushi_server *srv;
    int mode;
} shut_arg;

static void *shut_thread(void *p)
{
    shut_arg *a = p;
    CHECK_RC(sushi_server_shutdown(a->srv, a->mode));
    return NULL;
}

/* shutdown(cancel) with 2 queries in service and 10 queued: the 10 are
 * cancelled (in order, before the workers are joined), the 2 served */
static void shutdown_cancel_pending(void)
{
    reset_counts();
    gate_reset();
    gate_set(false);
    sushi_server *srv = make(2, 16, true);
    sushi_ticket *t[12];
    for (intptr_t i = 0; i < 2; i++)
        CHECK_RC(submit(srv, i, &t[i]));
    gate_wait_entered(2);
    for (intptr_t i = 2; i < 12; i++)
        CHECK_RC(submit(srv, i, &t[i]));
    pthread_t th;
    shut_arg a = { srv, SUSHI_SERVER_SHUTDOWN_CANCEL };
    pthread_create(&th, NULL, shut_thread, &a);
    while (atomic_load(&n_cancel) < 10)
        sched_yield();
    /* shutting down: nothing more is accepted */
    int rc = submit(srv, 20, NULL);
    CHECK(rc == SUSHI_ERR_STATE, "submit while shutting down: %s", sushi_status_name(rc));
    int st = 1;
    CHECK(sushi_ticket_poll(t[0], &st, NULL) == SUSHI_ERR_STATE, "query 0 still in service");
    gate_set(true);
    pthread_join(th, NULL);
    for (int i = 0; i < 12; i++) {
        CHECK_RC(sushi_ticket_wait(t[i], -1.0, &st, NULL));
        CHECK(st == (i < 2 ? SUSHI_OK : SUSHI_ERR_CANCELLED), "query %d: %s", i, sushi_status_name(st));
        CHECK(atomic_load(&answers[i]) == 1, "query %d answered %d times", i, atomic_load(&answers[i]));
        sushi_ticket_destroy(t[i]);
    }
    sushi_server_stats s = SUSHI_SERVER_STATS_INIT;
    CHECK_RC(sushi_server_get_stats(srv, &s));
    CHECK(s.served == 2 && s.cancelled == 10 && s.answered == 12 && s.queue_depth == 0, "stats");
    CHECK(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN) == SUSHI_OK, "second shutdown");
    sushi_server_destroy(srv);
}

/* shutdown(drain) serves every queued query */
static void shutdown_drain_pending(void)
{
    reset_counts();
    gate_reset();
    gate_set(false);
    sushi_server *srv = make(1, 128, true);
    for (intptr_t i = 0; i < 100; i++)
        CHECK_RC(submit(srv, i, NULL));
    pthread_t th;
    shut_arg a = { srv, SUSHI_SERVER_SHUTDOWN_DRAIN };
    pthread_create(&th, NULL, shut_thread, &a);
    gate_wait_entered(1);
    gate_set(true);
    pthread_join(th, NULL);
    CHECK(atomic_load(&n_ok) == 100 && atomic_load(&n_cancel) == 0, "drain served %d", atomic_load(&n_ok));
    sushi_server_destroy(srv);
}

/* many producers, callbacks and tickets mixed, BUSY retried; then a shutdown
 * races the last submits: every accepted query is answered exactly once */
#define PRODUCERS 6
#define PER_PRODUCER 200
typedef struct prod {
    sushi_server *srv;
    int id;
    int busy, refused, accepted;
    bool race; /* stop at the first SUSHI_ERR_STATE instead of expecting none */
    sushi_ticket *t[PER_PRODUCER];
} prod;

static void *producer(void *p)
{
    prod *a = p;
    for (int k = 0; k < PER_PRODUCER; k++) {
        intptr_t id = (intptr_t)a->id * PER_PRODUCER + k;
        int rc;
        a->t[k] = NULL;
        while ((rc = submit(a->srv, id, k % 3 == 0 ? &a->t[k] : NULL)) == SUSHI_ERR_BUSY) {
            a->busy++;
            sched_yield();
        }
        if (rc == SUSHI_OK)
            a->accepted++;
        else if (rc == SUSHI_ERR_STATE && a->race)
            a->refused++;
        else
            CHECK(0, "producer %d: %s", a->id, sushi_status_name(rc));
    }
    return NULL;
}

static void many_producers(bool race)
{
    reset_counts();
    gate_reset();
    sushi_server *srv = make(3, 8, true);
    static prod a[PRODUCERS];
    pthread_t th[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].srv = srv, a[i].id = i, a[i].race = race;
        pthread_create(&th[i], NULL, producer, &a[i]);
    }
    if (race) {
        while (atomic_load(&n_ok) < 100)
            sched_yield();
        CHECK_RC(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_CANCEL));
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    CHECK_RC(sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN));
    int accepted = 0, busy = 0;
    for (int i = 0; i < PRODUCERS; i++) {
        accepted += a[i].accepted, busy += a[i].busy;
        for (int k = 0; k < PER_PRODUCER; k++) {
            int id = i * PER_PRODUCER + k, n = atomic_load(&answers[id]);
            if (a[i].t[k]) {
                int st = 1;
                CHECK_RC(sushi_ticket_poll(a[i].t[k], &st, NULL));
                CHECK(st == atomic_load(&status_of[id]), "query %d: ticket and callback differ", id);
                sushi_ticket_destroy(a[i].t[k]);
            }
            CHECK(n <= 1, "query %d answered %d times", id, n);
        }
    }
    int answered = 0;
    for (int i = 0; i < PRODUCERS * PER_PRODUCER; i++)
        answered += atomic_load(&answers[i]);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    CHECK_RC(sushi_server_get_stats(srv, &st));
    CHECK(answered == accepted && st.answered == (uint64_t)accepted && st.submitted == (uint64_t)accepted,
          "accepted %d, answered %d (stats %" PRIu64 ")", accepted, answered, st.answered);
    CHECK(st.rejected == (uint64_t)busy, "rejected %" PRIu64 " vs %d BUSY", st.rejected, busy);
    CHECK(st.served + st.cancelled == st.answered && st.failed == 0 && st.dropped == 0, "statuses");
    if (!race)
        CHECK(accepted == PRODUCERS * PER_PRODUCER && st.served == (uint64_t)accepted, "all served");
    printf("  %s: %d accepted, %d busy retries, %" PRIu64 " served, %" PRIu64 " cancelled, max depth %u\n",
           race ? "shutdown racing submits" : "many producers", accepted, busy, st.served, st.cancelled,
           st.queue_max_depth);
    sushi_server_destroy(srv);
}

static void *destroy_thread(void *p)
{
    sushi_server_destroy(p);
    return NULL;
}

/* handles released in every order: a ticket released before its answer, the
 * server destroyed with queries queued (cancelled), tickets waited on and
 * released after the server, the SuperNet and the context are gone */
static void destroy_order(void)
{
    reset_counts();
    gate_reset();
    sushi_context *c2;
    sushi_supernet *s2;
    CHECK_RC(gate_setup(&c2, &s2));
    sushi_server_options o = SUSHI_SERVER_OPTIONS_INIT;
    o.backend = "gate";
    o.callback = on_done;
    o.queue_capacity = 8;
    sushi_server *srv = NULL;
    CHECK_RC(sushi_server_create(s2, &o, &srv));
    sushi_supernet_destroy(s2); /* the server keeps it alive */
    sushi_context_destroy(c2);
    gate_set(false);
    sushi_ticket *t[6];
    for (intptr_t i = 0; i < 6; i++)
        CHECK_RC(submit(srv, i, &t[i]));
    gate_wait_entered(1);
    sushi_ticket_destroy(t[5]); /* released unanswered: still answered, freed later */
    pthread_t th;
    /* destroy cancels the queued ones, then waits for the one in service */
    pthread_create(&th, NULL, destroy_thread, srv);
    while (atomic_load(&n_cancel) < 5)
        sched_yield();
    gate_set(true);
    pthread_join(th, NULL);
    for (int i = 0; i < 5; i++) {
        int st = 1;
        CHECK_RC(sushi_ticket_wait(t[i], 5.0, &st, NULL));
        CHECK(st == (i == 0 ? SUSHI_OK : SUSHI_ERR_CANCELLED), "query %d: %s", i, sushi_status_name(st));
        sushi_ticket_destroy(t[i]);
    }
    CHECK(atomic_load(&answers[5]) == 1, "released ticket's query answered %d times", atomic_load(&answers[5]));
}

/* tickets without a callback; wait with a timeout from several threads */
static sushi_ticket *shared_ticket;
static void *waiter(void *p)
{
    (void)p;
    int st = 1;
    CHECK_RC(sushi_ticket_wait(shared_ticket, -1.0, &st, NULL));
    CHECK(st == SUSHI_OK, "waiter: %s", sushi_status_name(st));
    return NULL;
}

static void tickets_many_waiters(void)
{
    reset_counts();
    gate_reset();
    gate_set(false);
    sushi_server *srv = make(1, 4, false);
    CHECK(submit(srv, 0, NULL) == SUSHI_ERR_INVALID, "no callback and no ticket is refused");
    CHECK_RC(submit(srv, 0, &shared_ticket));
    CHECK(sushi_ticket_wait(shared_ticket, 0.01, NULL, NULL) == SUSHI_ERR_STATE, "timeout while gated");
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, waiter, NULL);
    gate_set(true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    sushi_ticket_destroy(shared_ticket);
    sushi_server_destroy(srv);
}

int main(void)
{
    if (gate_setup(&ctx, &sn) != SUSHI_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);
    n_classes = info.num_classes;
    CHECK(n_classes <= GATE_OUT_N, "%zu classes > the %d-float logits buffers", n_classes, GATE_OUT_N);
    for (int i = 0; i < GATE_IMG_N; i++)
        gate_img[i] = (float)(i % 7) / 7.0f;
    struct {
        const char *name;
        void (*fn)(void);
    } cases[] = {
        { "callback_and_ticket", callback_and_ticket },
        { "full_queue", full_queue },
        { "shutdown_cancel_pending", shutdown_cancel_pending },
        { "shutdown_drain_pending", shutdown_drain_pending },
        { "destroy_order", destroy_order },
        { "tickets_many_waiters", tickets_many_waiters },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = failures;
        cases[i].fn();
        printf("%s: %s\n", cases[i].name, failures == before ? "ok" : "FAILED");
    }
    int before = failures;
    many_producers(false);
    printf("many_producers: %s\n", failures == before ? "ok" : "FAILED");
    before = failures;
    many_producers(true);
    printf("shutdown_racing_submits: %s\n", failures == before ? "ok" : "FAILED");
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    printf("%d failure(s)\n", failures);
    return failures != 0;
}
