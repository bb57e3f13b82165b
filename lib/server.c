/*
 * sushi_server: bounded queue + worker threads over per-worker schedulers
 * (include/sushi/server.h, docs/server.md).
 *
 * Locking: one server mutex guards the queue, the state flags and the
 * statistics; `work` wakes workers, nothing else waits on it. Each ticket
 * (also the queue node of its query) has its own mutex/condition for the
 * answer, so waiters never contend with the queue. Tickets hold a reference
 * on the context (their allocator) so they outlive the server.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syscall() */
#endif
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sushi/server.h"

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define MAX_WORKERS 256u
#define MAX_QUEUE (1u << 20)
#define E2E_SAMPLES (1u << 20)
/* waiting queries the queue-aware budget looks at (bounds the work under the
 * lock; docs/server.md) */
#define CAP_SCAN 64u
/* SLO arrivals the blocking-aware cap estimates from (docs/server.md
 * "Blocking-aware cap"), and the fewest it needs before it caps anything */
#define BLOCK_WIN 256u
#define BLOCK_MIN 16u

struct sushi_ticket {
    sushi_ref ref;              /* the server's (until answered) + the caller's */
    sushi_context *ctx;         /* retained: the allocator */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;                  /* guarded by mu */
    int status;                 /* valid once done */
    sushi_query q;              /* the query (arrival on the server clock) */
    sushi_result r;             /* valid once done */
    void *user;
    double key;                 /* queue order: deadline (EDF) or 0 (FIFO); ties by seq */
    uint64_t seq;               /* submission number */
};

typedef struct worker {
    sushi_server *srv;
    uint32_t id;
    pthread_t th;
    bool started;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched *s;
    double blk[BLOCK_WIN];      /* block_cap's copy of the SLO arrivals */
} worker;

struct sushi_server {
    sushi_supernet *sn;        /* referenced */
    const sushi_context *ctx;
    struct timespec t0;
    sushi_server_callback cb;
    void *cb_user;
    uint32_t n_workers;
    worker *w;

    pthread_mutex_t mu;
    pthread_cond_t work;
    /* queued tickets, sorted by (key, seq), in pend[head .. head + count) */
    sushi_ticket **pend;
    uint32_t cap, head, count;
    uint32_t order;            /* sushi_server_order */
    double best_effort_s;
    double worker_slice_s;     /* 0 = the OS default */
    int32_t worker_nice;       /* 0 = inherit */
    double block_miss;         /* blocking-aware cap's miss budget; 0 = off */
    uint32_t busy;             /* workers serving a query (under mu) */
    /* the last BLOCK_WIN arrivals with an SLO, a ring (under mu) */
    double arr_t[BLOCK_WIN], arr_slo[BLOCK_WIN];
    uint32_t arr_n, arr_pos;
    bool stopping;             /* no more submits; workers exit once the queue is empty */
    bool cancelling;           /* shutdown(CANCEL): workers take nothing more */
    bool stopped;              /* shutdown finished (workers joined) */
    /* statistics (under mu) */
    uint32_t max_depth;
    uint64_t submitted, rejected, answered, served, dropped, cancelled, failed;
    uint64_t slo_q, slo_met, waited_n;
    double e2e_sum, e2e_max, wait_sum, acc_sum;
    double *e2e;               /* kept samples */
    uint32_t e2e_n, e2e_cap;
    uint64_t e2e_seen, rng;
};

/* ------------------------------------------------------------------ clock */

static double since(const struct timespec *t0)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0->tv_sec) + (double)(ts.tv_nsec - t0->tv_nsec) * 1e-9;
}

double sushi_server_now(const sushi_server *srv)
{
    return srv ? since(&srv->t0) : NAN;
}

/* ----------------------------------------------------------------- tickets */

static void ticket_put(sushi_ticket *t)
{
    if (!t || !sushi_ref_put(&t->ref))
        return;
    sushi_context *ctx = t->ctx;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    sushi_free(ctx, t);
    sushi_context_destroy(ctx);
}

static sushi_ticket *ticket_new(sushi_server *srv, bool caller_ref)
{
    sushi_ticket *t = sushi_calloc(srv->ctx, 1, sizeof *t);
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        sushi_free(srv->ctx, t);
        return NULL;
    }
    pthread_condattr_t ca;
    bool ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 && pthread_cond_init(&t->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        pthread_mutex_destroy(&t->mu);
        sushi_free(srv->ctx, t);
        return NULL;
    }
    sushi_ref_init(&t->ref);
    if (caller_ref)
        sushi_ref_get(&t->ref);
    t->ctx = (sushi_context *)srv->ctx;
    sushi_context_retain(t->ctx);
    return t;
}

void sushi_ticket_destroy(sushi_ticket *t)
{
    ticket_put(t);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Count one answer in the statistics (srv->mu held). */
static void account(sushi_server *srv, const sushi_ticket *t, double answered_at)
{
    srv->answered++;
    const double wait = t->q.start_s - t->q.arrival_s; /* used only for served / dropped */
    switch (t->status) {
    case SUSHI_OK: {
        srv->served++;
        double e2e = answered_at - t->q.arrival_s;
        if (e2e < 0.0)
            e2e = 0.0;
        srv->e2e_sum += e2e;
        if (e2e > srv->e2e_max)
            srv->e2e_max = e2e;
        srv->acc_sum += t->r.accuracy;
        srv->wait_sum += wait, srv->waited_n++;
        if (t->q.slo_s > 0.0) {
            srv->slo_q++;
            srv->slo_met += e2e <= t->q.slo_s;
        }
        /* reservoir of e2e samples (storage grown by the worker beforehand) */
        srv->e2e_seen++;
        if (srv->e2e_n < srv->e2e_cap)
            srv->e2e[srv->e2e_n++] = e2e;
        else if (srv->e2e_cap) {
            uint64_t k = splitmix(&srv->rng) % srv->e2e_seen;
            if (k < srv->e2e_cap)
                srv->e2e[k] = e2e;
        }
        break;
    }
    case SUSHI_ERR_DROPPED:
        srv->dropped++;
        srv->wait_sum += wait, srv->waited_n++;
        if (t->q.slo_s > 0.0)
            srv->slo_q++;
        break;
    case SUSHI_ERR_CANCELLED:
        srv->cancelled++;
        break;
    default:
        srv->failed++;
        break;
    }
}

/* Answer t: statistics, callback, then the ticket becomes ready; the
 * server's reference is dropped. Called without srv->mu. */
static void answer(sushi_server *srv, sushi_ticket *t, int status, bool served_by_worker)
{
    t->status = status;
    if (status != SUSHI_OK && status != SUSHI_ERR_DROPPED) {
        /* nothing was served: only the size is meaningful */
        memset(&t->r, 0, sizeof t->r);
        t->r.size = sizeof t->r;
    }
    double at = since(&srv->t0);
    pthread_mutex_lock(&srv->mu);
    account(srv, t, at);
    if (served_by_worker)
        srv->busy--;
    pthread_mutex_unlock(&srv->mu);
    if (srv->cb)
        srv->cb(srv->cb_user, t->user, status, &t->r);
    pthread_mutex_lock(&t->mu);
    t->done = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    ticket_put(t);
}

/* ----------------------------------------------------------------- workers */

/* Grow the e2e sample storage so that account() never allocates under the
 * lock. Returns false on NOMEM (the sample is then only counted). */
static void reserve_e2e(sushi_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    uint32_t need = srv->e2e_n + srv->n_workers;
    if (need > srv->e2e_cap && srv->e2e_cap < E2E_SAMPLES) {
        uint32_t cap = srv->e2e_cap ? srv->e2e_cap * 2 : 1024;
        if (cap > E2E_SAMPLES)
            cap = E2E_SAMPLES;
        double *p = sushi_realloc(srv->ctx, srv->e2e, (size_t)cap * sizeof *p);
        if (p)
            srv->e2e = p, srv->e2e_cap = cap;
    }
    pthread_mutex_unlock(&srv->mu);
}

/* ------------------------------------------------------------------ queue */

/* a is taken before b */
static bool queue_before(const sushi_ticket *a, const sushi_ticket *b)
{
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

/* Insert t in order (under mu; the queue is not full). O(depth) moves. */
static void queue_insert(sushi_server *srv, sushi_ticket *t)
{
    if (srv->head + srv->count == srv->cap) { /* slide to the front */
        memmove(srv->pend, srv->pend + srv->head, srv->count * sizeof *srv->pend);
        srv->head = 0;
    }
    sushi_ticket **a = srv->pend + srv->head;
    uint32_t lo = 0, hi = srv->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (queue_before(a[mid], t))
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(a + lo + 1, a + lo, (srv->count - lo) * sizeof *a);
    a[lo] = t;
    srv->count++;
}

/* Take the first waiting query (under mu; the queue is not empty). */
static sushi_ticket *queue_pop(sushi_server *srv)
{
    sushi_ticket *t = srv->pend[srv->head];
    srv->pend[srv->head] = NULL;
    srv->count--;
    srv->head = srv->count ? srv->head + 1 : 0;
    return t;
}

/* The queue-aware budget of the query a worker just took (under mu): the
 * longest service it may have so that every query waiting behind it (the
 * first CAP_SCAN, in queue order) whose deadline is still within reach keeps
 * room for the fastest candidate, `fast` seconds each. With N workers the
 * waiting queries spread over them: a service of s delays the rest by about
 * s / N. 0 = no cap (nothing waiting with a reachable deadline). */
static double queue_cap(const sushi_server *srv, double now, double fast)
{
    const double nw = (double)srv->n_workers;
    double cap = 0.0, ahead = 0.0;
    uint32_t m = srv->count < CAP_SCAN ? srv->count : CAP_SCAN;
    for (uint32_t k = 0; k < m; k++) {
        const sushi_ticket *u = srv->pend[srv->head + k];
        ahead += fast;
        if (!(u->q.slo_s > 0.0))
            continue;
        double slack = u->q.arrival_s + u->q.slo_s - now - ahead / nw;
        if (slack > 0.0 && (cap == 0.0 || slack * nw < cap))
            cap = slack * nw;
    }
    return cap;
}

/* The blocking-aware cap (docs/server.md "Blocking-aware cap"): a service
 * cannot be interrupted, so a query that arrives during it waits for the rest
 * of it. Of the SLO arrivals seen (k of them over `span` seconds, so a rate
 * of k / span), one with SLO L that arrives when u seconds of service are
 * left misses if u + fast > L. Over a service of length S the expected
 * number of such misses is (k / span) * mean_i max(0, S - m_i), with
 * m_i = L_i - fast; arrivals with m_i <= 0 cannot be met after any wait
 * and are not protected. The cap is the largest S whose expectation is at
 * most eps: sum over m_i < S of (S - m_i) <= eps * span. `slo` holds the
 * k SLOs and is overwritten. Returns 0 (no cap) when the cap is not below
 * `limit` (the budget of the query being decided) or nothing can be
 * protected. O(k log k), k <= BLOCK_WIN, outside the lock. Internal
 * (internal.h) for its unit test. */
double sushi_block_cap(double *slo, uint32_t k, double span, double fast, double eps, double limit)
{
    if (!(span > 0.0) || !(limit > 0.0))
        return 0.0;
    uint32_t c = 0;
    for (uint32_t i = 0; i < k; i++) {
        double m = slo[i] - fast;
        if (m > 0.0 && m < limit) /* a cap at or above limit changes nothing */
            slo[c++] = m;
    }
    qsort(slo, c, sizeof *slo, sushi_cmp_double);
    const double room = eps * span;
    double sum = 0.0;
    for (uint32_t j = 0; j < c; j++) {
        sum += slo[j];
        /* on [m_j, m_j+1) the expectation is (j + 1) S - sum(m_0..m_j) */
        double cap = (room + sum) / (double)(j + 1);
        if (j + 1 == c || cap <= slo[j + 1])
            return cap < limit ? cap : 0.0;
    }
    return 0.0;
}

/* Set the calling worker thread's nice value (worker_nice), then ask the OS
 * for a short time slice on it (Linux >= 6.12:
 * sched_setattr() with SCHED_OTHER and sched_runtime = the slice, the EEVDF
 * latency hint; older kernels accept and ignore the runtime of SCHED_OTHER).
 * The nice value read by sched_getattr() is written back unchanged.
 * Failure changes nothing but latency: it is logged, never an error. */
static void tune_worker_thread(const sushi_server *srv, uint32_t id)
{
#if defined(__linux__)
    /* the nice value first: sched_setattr() below writes back what it reads */
    if (srv->worker_nice != 0 && setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), srv->worker_nice) != 0)
        sushi_log(srv->ctx, SUSHI_LOG_WARN, "server: worker %u: cannot set nice %d (%s): running at the inherited value",
                  id, (int)srv->worker_nice, strerror(errno));
#else
    if (srv->worker_nice != 0)
        sushi_log(srv->ctx, SUSHI_LOG_WARN, "server: worker %u: worker_nice needs Linux", id);
#endif
    if (!(srv->worker_slice_s > 0.0))
        return;
#if defined(__linux__) && defined(SYS_sched_setattr)
    struct { /* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } a;
    memset(&a, 0, sizeof a);
    /* read first: keep the thread's nice value and policy (a real-time
     * policy the application chose is left alone) */
    if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0 || a.policy != 0 /* SCHED_OTHER */) {
        sushi_log(srv->ctx, SUSHI_LOG_INFO, "server: worker %u: time slice left to the OS", id);
        return;
    }
    a.size = sizeof a;
    a.flags = 0;
    a.runtime = (uint64_t)(srv->worker_slice_s * 1e9);
    if (syscall(SYS_sched_setattr, 0, &a, 0) != 0)
        sushi_log(srv->ctx, SUSHI_LOG_INFO, "server: worker %u: no custom time slice (%s)", id, strerror(errno));
#else
    sushi_log(srv->ctx, SUSHI_LOG_DEBUG, "server: worker %u: custom time slices need Linux", id);
#endif
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sushi_server *srv = w->srv;
    tune_worker_thread(srv, w->id);
    for (;;) {
        pthread_mutex_lock(&srv->mu);
        while (srv->count == 0 && !srv->stopping)
            pthread_cond_wait(&srv->work, &srv->mu);
        if (srv->count == 0 || srv->cancelling) { /* stopping: nothing left, or the rest is cancelled */
            pthread_mutex_unlock(&srv->mu);
            break;
        }
        sushi_ticket *t = queue_pop(srv);
        /* service starts now: the scheduler judges the remaining budget */
        t->q.start_s = since(&srv->t0);
        const double fast = sushi_sched_fastest_predicted(w->s);
        double cap = queue_cap(srv, t->q.start_s, fast);
        /* the blocking-aware cap matters only when no other worker is free
         * to take what arrives during this service */
        uint32_t k = 0;
        double span = 0.0;
        if (srv->block_miss > 0.0 && t->q.slo_s > 0.0 && srv->busy + 1 >= srv->n_workers &&
            srv->arr_n >= BLOCK_MIN) {
            k = srv->arr_n;
            memcpy(w->blk, srv->arr_slo, k * sizeof *w->blk);
            span = t->q.start_s - srv->arr_t[(srv->arr_pos + BLOCK_WIN - k) % BLOCK_WIN];
        }
        srv->busy++;
        pthread_mutex_unlock(&srv->mu);
        if (k) {
            double limit = t->q.slo_s - (t->q.start_s - t->q.arrival_s);
            double bc = sushi_block_cap(w->blk, k, span, fast, srv->block_miss, limit);
            if (bc > 0.0 && (cap == 0.0 || bc < cap))
                cap = bc;
        }

        reserve_e2e(srv);
        if (t->q.start_s < t->q.arrival_s) /* a given arrival can be a hair ahead of the float clock */
            t->q.start_s = t->q.arrival_s;
        if (t->q.start_s <= 0.0) /* <= 0 would mean "simulated FIFO" to the scheduler */
            t->q.start_s = 1e-9;
        t->r = (sushi_result)SUSHI_RESULT_INIT;
        int rc = sushi_sched_submit_capped(w->s, &t->q, cap, &t->r);
        if (rc == SUSHI_OK && t->r.dropped) /* late = drop: nothing fitted the budget */
            rc = SUSHI_ERR_DROPPED;
        answer(srv, t, rc, true);
    }
    return NULL;
}

/* ------------------------------------------------------------------ create */

static void workers_free(sushi_server *srv)
{
    for (uint32_t i = 0; srv->w && i < srv->n_workers; i++) {
        sushi_sched_destroy(srv->w[i].s);
        sushi_policy_destroy(srv->w[i].p);
        sushi_backend_destroy(srv->w[i].b);
    }
    sushi_free(srv->ctx, srv->w);
    srv->w = NULL;
}

static void server_free(sushi_server *srv)
{
    const sushi_context *ctx = srv->ctx;
    workers_free(srv);
    sushi_free(ctx, srv->pend);
    sushi_free(ctx, srv->e2e);
    pthread_cond_destroy(&srv->work);
    pthread_mutex_destroy(&srv->mu);
    sushi_supernet *sn = srv->sn;
    sushi_free(ctx, srv);
    sushi_supernet_destroy(sn);
}

static void stop_and_join(sushi_server *srv, int mode);

int sushi_server_create(const sushi_supernet *sn, const sushi_server_options *opts, sushi_server **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn || !opts)
        return SUSHI_ERR_INVALID;
    /* the struct ended at worker_nice before block_miss was appended: a
     * caller built with that header passes its size and gets the default */
    if (opts->size < sizeof *opts && opts->size != offsetof(sushi_server_options, block_miss))
        return SUSHI_ERR_ABI;
    const double block_miss = opts->size >= sizeof *opts ? opts->block_miss : SUSHI_SERVER_BLOCK_MISS_DEFAULT;
    const char *policy = opts->policy ? opts->policy : "sushi";
    if (!opts->backend || opts->workers < 1 || opts->workers > MAX_WORKERS || opts->queue_capacity < 1 ||
        opts->queue_capacity > MAX_QUEUE || strcmp(policy, "oracle") == 0 ||
        (opts->order != SUSHI_SERVER_ORDER_EDF && opts->order != SUSHI_SERVER_ORDER_FIFO) ||
        !isfinite(opts->best_effort_s) || opts->best_effort_s < 0.0 ||
        !(opts->worker_slice_s == 0.0 || (opts->worker_slice_s >= 0.0001 && opts->worker_slice_s <= 0.1)) ||
        opts->worker_nice < -20 || opts->worker_nice > 19 || !(block_miss >= 0.0 && block_miss <= 1.0))
        return SUSHI_ERR_INVALID;
    if (opts->sched && opts->sched->size < sizeof(sushi_sched_options))
        return SUSHI_ERR_ABI;
    const sushi_context *ctx = sn->ctx;
    if (!sushi_find_backend(ctx, opts->backend) || !sushi_find_policy(ctx, policy)) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "server: no %s named '%s'",
                  sushi_find_backend(ctx, opts->backend) ? "policy" : "backend",
                  sushi_find_backend(ctx, opts->backend) ? policy : opts->backend);
        return SUSHI_ERR_NOT_FOUND;
    }
    sushi_server *srv = sushi_calloc(ctx, 1, sizeof *srv);
    if (!srv)
        return SUSHI_ERR_NOMEM;
    if (pthread_mutex_init(&srv->mu, NULL) != 0) {
        sushi_free(ctx, srv);
        return SUSHI_ERR_NOMEM;
    }
    if (pthread_cond_init(&srv->work, NULL) != 0) {
        pthread_mutex_destroy(&srv->mu);
        sushi_free(ctx, srv);
        return SUSHI_ERR_NOMEM;
    }
    srv->sn = (sushi_supernet *)sn;
    sushi_ref_get(&srv->sn->ref);
    srv->ctx = ctx;
    clock_gettime(CLOCK_MONOTONIC, &srv->t0);
    srv->cb = opts->callback;
    srv->cb_user = opts->callback_user;
    srv->cap = opts->queue_capacity;
    srv->rng = 0x5E12E1ull;
    srv->stopped = true; /* until the workers run: destroy joins nothing */
    srv->order = opts->order;
    srv->best_effort_s = opts->best_effort_s;
    srv->worker_slice_s = opts->worker_slice_s;
    srv->worker_nice = opts->worker_nice;
    srv->block_miss = block_miss;
    srv->pend = sushi_calloc(ctx, srv->cap, sizeof *srv->pend);
    srv->w = sushi_calloc(ctx, opts->workers, sizeof *srv->w);
    if (!srv->pend || !srv->w) {
        server_free(srv);
        return SUSHI_ERR_NOMEM;
    }
    srv->n_workers = opts->workers;
    int rc = SUSHI_OK;
    for (uint32_t i = 0; rc == SUSHI_OK && i < srv->n_workers; i++) {
        worker *w = &srv->w[i];
        w->srv = srv, w->id = i;
        rc = sushi_backend_create(sn, opts->backend, &w->b);
        if (rc == SUSHI_OK && opts->setup)
            rc = opts->setup(opts->setup_user, i, w->b, NULL);
        if (rc == SUSHI_OK)
            rc = sushi_policy_create(sn, policy, &w->p);
        if (rc == SUSHI_OK)
            rc = sushi_sched_create(sn, w->b, w->p, opts->sched, &w->s);
        if (rc == SUSHI_OK && opts->setup)
            rc = opts->setup(opts->setup_user, i, w->b, w->s);
        if (rc != SUSHI_OK)
            sushi_log(ctx, SUSHI_LOG_ERROR, "server: worker %u: %s", i, sushi_status_name(rc));
    }
    if (rc != SUSHI_OK) {
        server_free(srv);
        return rc;
    }
    srv->stopped = false;
    for (uint32_t i = 0; i < srv->n_workers; i++) {
        if (pthread_create(&srv->w[i].th, NULL, worker_main, &srv->w[i]) != 0) {
            sushi_log(ctx, SUSHI_LOG_ERROR, "server: cannot start worker thread %u", i);
            stop_and_join(srv, SUSHI_SERVER_SHUTDOWN_CANCEL);
            server_free(srv);
            return SUSHI_ERR_STATE;
        }
        srv->w[i].started = true;
    }
    *out = srv;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ submit */

static int check_query(const sushi_query *q)
{
    if (q->size < sizeof(sushi_query))
        return SUSHI_ERR_ABI;
    if (!isfinite(q->min_accuracy) || !isfinite(q->slo_s) || !isfinite(q->arrival_s) || q->min_accuracy < 0.0 ||
        q->slo_s < 0.0 || q->arrival_s < 0.0)
        return SUSHI_ERR_INVALID;
    if (q->min_accuracy > 1.0)
        return SUSHI_ERR_RANGE;
    return SUSHI_OK;
}

int sushi_server_submit(sushi_server *srv, const sushi_query *q, uint32_t flags, void *user,
                        sushi_ticket **ticket_out)
{
    if (ticket_out)
        *ticket_out = NULL;
    if (!srv || !q || (flags & ~SUSHI_SERVER_SUBMIT_ARRIVAL) != 0 || (!ticket_out && !srv->cb))
        return SUSHI_ERR_INVALID;
    int rc = check_query(q);
    if (rc != SUSHI_OK)
        return rc;
    double now = since(&srv->t0);
    if ((flags & SUSHI_SERVER_SUBMIT_ARRIVAL) && q->arrival_s > now)
        return SUSHI_ERR_INVALID;
    sushi_ticket *t = ticket_new(srv, ticket_out != NULL);
    if (!t)
        return SUSHI_ERR_NOMEM;
    t->q = *q;
    t->q.size = sizeof t->q;
    if (!(flags & SUSHI_SERVER_SUBMIT_ARRIVAL))
        t->q.arrival_s = now;
    t->user = user;
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping || srv->stopped)
        rc = SUSHI_ERR_STATE;
    else if (srv->count == srv->cap) {
        rc = SUSHI_ERR_BUSY;
        srv->rejected++;
    } else {
        t->seq = srv->submitted++;
        t->key = srv->order == SUSHI_SERVER_ORDER_FIFO ? 0.0
                 : t->q.arrival_s + (t->q.slo_s > 0.0 ? t->q.slo_s : srv->best_effort_s);
        queue_insert(srv, t);
        if (t->q.slo_s > 0.0) {
            srv->arr_t[srv->arr_pos] = t->q.arrival_s;
            srv->arr_slo[srv->arr_pos] = t->q.slo_s;
            srv->arr_pos = (srv->arr_pos + 1) % BLOCK_WIN;
            if (srv->arr_n < BLOCK_WIN)
                srv->arr_n++;
        }
        if (srv->count > srv->max_depth)
            srv->max_depth = srv->count;
        pthread_cond_signal(&srv->work);
    }
    pthread_mutex_unlock(&srv->mu);
    if (rc != SUSHI_OK) {
        /* not accepted: drop both references (nobody will answer it) */
        if (ticket_out)
            ticket_put(t);
        ticket_put(t);
        return rc;
    }
    if (ticket_out)
        *ticket_out = t;
    return SUSHI_OK;
}

/* ---------------------------------------------------------------- shutdown */

static void stop_and_join(sushi_server *srv, int mode)
{
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    if (mode == SUSHI_SERVER_SHUTDOWN_CANCEL)
        srv->cancelling = true; /* workers take nothing more from the queue */
    pthread_cond_broadcast(&srv->work);
    /* cancel: answer the queued queries in order, one at a time, outside the
     * lock (the callback may call into the server) */
    while (srv->cancelling && srv->count) {
        sushi_ticket *t = queue_pop(srv);
        pthread_mutex_unlock(&srv->mu);
        answer(srv, t, SUSHI_ERR_CANCELLED, false);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    for (uint32_t i = 0; i < srv->n_workers; i++)
        if (srv->w[i].started) {
            pthread_join(srv->w[i].th, NULL);
            srv->w[i].started = false;
        }
    pthread_mutex_lock(&srv->mu);
    srv->stopped = true;
    pthread_mutex_unlock(&srv->mu);
}

int sushi_server_shutdown(sushi_server *srv, int mode)
{
    if (!srv || (mode != SUSHI_SERVER_SHUTDOWN_DRAIN && mode != SUSHI_SERVER_SHUTDOWN_CANCEL))
        return SUSHI_ERR_INVALID;
    pthread_mutex_lock(&srv->mu);
    bool done = srv->stopped;
    pthread_mutex_unlock(&srv->mu);
    if (!done)
        stop_and_join(srv, mode);
    return SUSHI_OK;
}

void sushi_server_destroy(sushi_server *srv)
{
    if (!srv)
        return;
    sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_CANCEL);
    server_free(srv);
}

/* -------------------------------------------------------------- statistics */

int sushi_server_get_stats(const sushi_server *srv, sushi_server_stats *st)
{
    if (!srv || !st)
        return SUSHI_ERR_INVALID;
    if (st->size < sizeof *st)
        return SUSHI_ERR_ABI;
    sushi_server *m = (sushi_server *)srv; /* the lock only */
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
    pthread_mutex_lock(&m->mu);
    uint32_t n = srv->e2e_n;
    double *v = sushi_malloc(srv->ctx, (n ? n : 1) * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&m->mu);
        return SUSHI_ERR_NOMEM;
    }
    if (n)
        memcpy(v, srv->e2e, n * sizeof *v);
    st->workers = srv->n_workers;
    st->queue_capacity = srv->cap;
    st->queue_depth = srv->count;
    st->queue_max_depth = srv->max_depth;
    st->submitted = srv->submitted;
    st->rejected = srv->rejected;
    st->answered = srv->answered;
    st->served = srv->served;
    st->dropped = srv->dropped;
    st->cancelled = srv->cancelled;
    st->failed = srv->failed;
    st->slo_queries = srv->slo_q;
    st->e2e_slo_attainment = srv->slo_q ? (double)srv->slo_met / (double)srv->slo_q : NAN;
    st->e2e_mean_s = srv->served ? srv->e2e_sum / (double)srv->served : NAN;
    st->e2e_max_s = srv->served ? srv->e2e_max : NAN;
    st->wait_mean_s = srv->waited_n ? srv->wait_sum / (double)srv->waited_n : NAN;
    st->accuracy_mean = srv->served ? srv->acc_sum / (double)srv->served : NAN;
    pthread_mutex_unlock(&m->mu);
    qsort(v, n, sizeof *v, sushi_cmp_double);
    st->e2e_p50_s = sushi_nearest_rank(v, n, 0.50);
    st->e2e_p99_s = sushi_nearest_rank(v, n, 0.99);
    sushi_free(srv->ctx, v);
    return SUSHI_OK;
}

int sushi_server_get_worker_stats(const sushi_server *srv, uint32_t i, sushi_sched_stats *st)
{
    if (!srv || !st)
        return SUSHI_ERR_INVALID;
    if (st->size < sizeof *st)
        return SUSHI_ERR_ABI;
    sushi_server *m = (sushi_server *)srv;
    pthread_mutex_lock(&m->mu);
    bool stopped = srv->stopped;
    pthread_mutex_unlock(&m->mu);
    if (!stopped)
        return SUSHI_ERR_STATE;
    if (i >= srv->n_workers)
        return SUSHI_ERR_RANGE;
    return sushi_sched_get_stats(srv->w[i].s, st);
}

/* ----------------------------------------------------------------- tickets */

int sushi_ticket_wait(sushi_ticket *t, double timeout_s, int *status_out, sushi_result *r)
{
    if (!t || isnan(timeout_s))
        return SUSHI_ERR_INVALID;
    if (r && r->size < sizeof *r)
        return SUSHI_ERR_ABI;
    pthread_mutex_lock(&t->mu);
    if (!t->done && timeout_s != 0.0) {
        if (timeout_s < 0.0 || timeout_s > 1e9) {
            while (!t->done)
                pthread_cond_wait(&t->cv, &t->mu);
        } else {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl); /* the ticket's condition runs on it */
            double whole = floor(timeout_s);
            dl.tv_sec += (time_t)whole;
            dl.tv_nsec += (long)((timeout_s - whole) * 1e9);
            if (dl.tv_nsec >= 1000000000L)
                dl.tv_sec++, dl.tv_nsec -= 1000000000L;
            while (!t->done)
                if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) == ETIMEDOUT)
                    break;
        }
    }
    bool done = t->done;
    pthread_mutex_unlock(&t->mu);
    if (!done)
        return SUSHI_ERR_STATE;
    /* written once before done was set under t->mu: read without the lock after it */
    if (status_out)
        *status_out = t->status;
    if (r)
        *r = t->r;
    return SUSHI_OK;
}

int sushi_ticket_poll(sushi_ticket *t, int *status_out, sushi_result *r)
{
    return sushi_ticket_wait(t, 0.0, status_out, r);
}
