/**
 * @file server.h
 * @brief sushi_server: a threaded query server over one SuperNet: a bounded
 * queue, N worker threads (each with its own backend instance, policy
 * instance and scheduler over the shared, immutable SuperNet), completion
 * callbacks and wait/poll tickets, and a shutdown that answers every query.
 *
 * Every query submitted and accepted is answered exactly once, with one of:
 * - SUSHI_OK: served (the result says which SubNet, its latencies, SLO met);
 * - SUSHI_ERR_DROPPED: not served because no candidate fit its remaining
 *   budget and the scheduler's late policy is "drop" (sched.h);
 * - SUSHI_ERR_CANCELLED: the server was shut down with
 *   SUSHI_SERVER_SHUTDOWN_CANCEL (or destroyed) before a worker took it;
 * - another negative status: the scheduler or backend failed on it.
 * A query that was not accepted (sushi_server_submit() returned an error,
 * e.g. SUSHI_ERR_BUSY for a full queue) is never answered: the caller still
 * owns it.
 *
 * Clock: the server's clock is CLOCK_MONOTONIC in seconds since the server
 * was created (sushi_server_now()). A query's arrival time is on that clock:
 * stamped at submit, or given by the caller (SUSHI_SERVER_SUBMIT_ARRIVAL).
 * The worker that takes a query sets its service start (sushi_query.start_s)
 * to the clock then, so the scheduler judges the remaining budget (SLO minus
 * the time already waited) and the SLO counts end to end.
 *
 * Order and the queue-aware budget: workers take waiting queries earliest
 * deadline first (or first in, first out: sushi_server_options.order). The
 * worker that takes a query also caps the service time its scheduler may
 * plan for it, so that every query still waiting behind it with a deadline it
 * can meet keeps room for at least the fastest candidate; the cap never
 * drops a query nor breaks its accuracy floor (docs/server.md).
 *
 * Thread-safety: submit, now, get_stats and the ticket functions may be
 * called from any thread concurrently. shutdown and destroy may be called
 * from any thread that is not a worker of the server (not from a callback).
 * docs/server.md has the design and the guarantees.
 */
#ifndef SUSHI_SERVER_H
#define SUSHI_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/export.h"
#include "sushi/sched.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque server. @since 0.3 */
typedef struct sushi_server sushi_server;

/** Opaque handle on one submitted query: wait for it or poll it, then
 * release it with sushi_ticket_destroy(). @since 0.3 */
typedef struct sushi_ticket sushi_ticket;

/**
 * Completion callback: called exactly once per accepted query, on the thread
 * that answers it (a worker; for queries cancelled at shutdown, the thread
 * calling sushi_server_shutdown() or sushi_server_destroy()), before the
 * query's ticket (if any) becomes ready.
 * @param user the server's callback_user (sushi_server_options).
 * @param query_user the `user` pointer given to sushi_server_submit().
 * @param status SUSHI_OK, SUSHI_ERR_DROPPED, SUSHI_ERR_CANCELLED or the
 *        failing status (see the file comment).
 * @param r the result (borrowed for the call). Meaningful fields: with
 *        SUSHI_OK every field; with SUSHI_ERR_DROPPED the decision fields the
 *        scheduler filled; otherwise only `size`, zeroes elsewhere.
 * The callback may call sushi_server_submit() (on the same or another
 * server) and the ticket functions of other queries, but must not call
 * sushi_server_shutdown() or sushi_server_destroy() of its own server, nor
 * wait on a ticket of its own server (a worker waiting on itself). Callbacks
 * of different workers run concurrently.
 * @since 0.3
 */
typedef void (*sushi_server_callback)(void *user, void *query_user, int status, const sushi_result *r);

/**
 * Per-worker setup hook, called on the thread calling sushi_server_create(),
 * once per worker, in worker order, before any worker starts. `b` is the
 * worker's new backend instance (e.g. to set params) and `s` its scheduler
 * (e.g. to attach a latency profile); at the first call for a worker, s is
 * NULL (backend stage, before the scheduler is made, so params such as
 * pb_kib are seen by it); at the second, s is the scheduler. Return SUSHI_OK,
 * or a status that makes sushi_server_create() fail with it.
 * @since 0.3
 */
typedef int (*sushi_server_setup_fn)(void *user, uint32_t worker, sushi_backend *b, sushi_sched *s);

/** Server options. Fill from SUSHI_SERVER_OPTIONS_INIT. @since 0.3 */
typedef struct sushi_server_options {
    size_t size;              /**< sizeof(sushi_server_options) */
    const char *backend;      /**< backend name (required; e.g. "cpu"); copied */
    const char *policy;       /**< caching policy name (NULL = "sushi"); copied. Not "oracle". */
    uint32_t workers;         /**< worker threads, 1..256 (default 1) */
    /** Queries waiting for a worker (not counting those in service),
     * 1..1,048,576 (default 64). A submit to a full queue returns
     * SUSHI_ERR_BUSY at once. */
    uint32_t queue_capacity;
    /** Scheduler options of every worker (copied at create; NULL = defaults). */
    const sushi_sched_options *sched;
    sushi_server_callback callback; /**< NULL = none (then every submit needs a ticket) */
    void *callback_user;            /**< first argument of callback */
    sushi_server_setup_fn setup;    /**< NULL = none */
    void *setup_user;               /**< first argument of setup */
    /** Which waiting query a free worker takes: a sushi_server_order
     * (default SUSHI_SERVER_ORDER_EDF). */
    uint32_t order;
    /** Under SUSHI_SERVER_ORDER_EDF, a query without an SLO is ordered as if
     * its deadline were its arrival plus this many seconds (it is not judged
     * against it): best-effort work waits for queries with deadlines but is
     * not starved by them. Finite, >= 0 (default 1.0). */
    double best_effort_s;
    /** The scheduling time slice each worker thread asks the OS for, in
     * seconds: 0 (the OS default) or 0.0001..0.1 (default 0.0001). On Linux
     * 6.12 or later (EEVDF custom slices, sched_setattr() with
     * SCHED_OTHER, no privilege needed) a short slice gives a worker woken by
     * a query an early virtual deadline, so it preempts batch work on a busy
     * core at once instead of after the running task's slice; its share of
     * the CPU is unchanged (still fair). Older kernels and other systems
     * ignore it (docs/server.md "Worker threads on a busy core"). */
    double worker_slice_s;
    /** Nice value each worker thread sets for itself: 0 (default) keeps the
     * inherited one; -20..19 sets it (Linux: per thread). A lower value
     * gives the workers a larger CPU share against other programs, which is
     * what keeps deadlines on a core shared with CPU-bound work; going below
     * the inherited value needs CAP_SYS_NICE or RLIMIT_NICE. A worker that
     * cannot set it logs a warning and runs at the inherited value. */
    int32_t worker_nice;
    /** The blocking-aware cap's miss budget (docs/server.md "Blocking-aware
     * cap"), 0..1: a worker that takes a query while every other worker is
     * busy caps its service so that the queries with an SLO expected to
     * arrive during it, and to miss their SLO only because they wait for
     * it, number at most this many (estimated from the last 256 arrivals
     * with an SLO: their rate and SLOs). 0 turns the cap off. It never caps
     * below the fastest candidate, never overrides an accuracy floor the
     * capped choice would miss, and does not apply to queries without an
     * SLO. Default SUSHI_SERVER_BLOCK_MISS_DEFAULT. @since 0.4 (callers
     * built against 0.3 headers pass the smaller size and get the default) */
    double block_miss;
} sushi_server_options;

/** Default of sushi_server_options.block_miss: a tenth of a 1 % miss
 * allowance (docs/decisions.md). @since 0.4 */
#define SUSHI_SERVER_BLOCK_MISS_DEFAULT 0.001

/** The order in which workers take waiting queries. @since 0.3 */
typedef enum sushi_server_order {
    /** Earliest deadline first (arrival + SLO; ties in submission order).
     * With the queue-aware budget (docs/server.md) this is what meets the
     * most deadlines when queries with tight and loose SLOs share a queue. */
    SUSHI_SERVER_ORDER_EDF = 0,
    /** Submission order (first in, first out). */
    SUSHI_SERVER_ORDER_FIFO = 1
} sushi_server_order;

/** Initialiser of sushi_server_options with every default (backend unset). @since 0.3 */
#define SUSHI_SERVER_OPTIONS_INIT \
    { sizeof(sushi_server_options), NULL, NULL, 1u, 64u, NULL, NULL, NULL, NULL, NULL, \
      SUSHI_SERVER_ORDER_EDF, 1.0, 0.0001, 0, SUSHI_SERVER_BLOCK_MISS_DEFAULT }

/**
 * Create a server and start its workers. Each worker gets its own backend
 * instance (opts->backend), policy instance (opts->policy) and scheduler
 * (opts->sched) over sn; opts->setup is called for each (see
 * sushi_server_setup_fn). On failure nothing is left running or allocated.
 * @param sn the SuperNet (kept alive by the server; only read).
 * @param opts required (the backend name has no default).
 * @param out receives the server (release with sushi_server_destroy()); NULL on failure.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL argument, no backend, workers or
 * queue_capacity out of range, policy "oracle", which needs the future);
 * SUSHI_ERR_ABI (opts->size too small); SUSHI_ERR_NOT_FOUND (unknown backend
 * or policy); SUSHI_ERR_NOMEM; SUSHI_ERR_STATE (a thread could not be
 * started); or the status of the backend, policy, scheduler or setup hook
 * that failed.
 * Thread-safe (sn is only read).
 * @since 0.3
 */
SUSHI_API int sushi_server_create(const sushi_supernet *sn, const sushi_server_options *opts,
                                  sushi_server **out);

/** sushi_server_submit() flag: q->arrival_s is already on the server clock
 * (e.g. the capture time of a frame, read with sushi_server_now()) and is
 * kept; it must not be later than the clock at submit. Without it, the
 * arrival is stamped with the clock at submit. @since 0.3 */
#define SUSHI_SERVER_SUBMIT_ARRIVAL 1u

/**
 * Queue one query. The query struct is copied; its input and output buffers
 * are borrowed until the query is answered (callback returned / ticket
 * ready): the caller must keep them valid and not touch the output buffer
 * meanwhile. Never blocks on a full queue.
 * @param srv the server.
 * @param q the query (fill from SUSHI_QUERY_INIT); copied, its buffers borrowed as above.
 * @param flags 0 or SUSHI_SERVER_SUBMIT_ARRIVAL.
 * @param user passed to the callback as query_user.
 * @param ticket_out NULL (the callback reports the answer; the server then
 *        needs a callback), or receives a ticket the caller must release
 *        with sushi_ticket_destroy(); NULL is written on failure.
 * @return SUSHI_OK (accepted: it will be answered exactly once);
 * SUSHI_ERR_BUSY (queue full: not queued, nothing will be answered);
 * SUSHI_ERR_STATE (the server is shutting down); SUSHI_ERR_INVALID (NULL
 * server or query, neither ticket nor callback, a NaN, infinite or negative
 * field, an arrival later than now, unknown flag); SUSHI_ERR_RANGE
 * (min_accuracy > 1); SUSHI_ERR_ABI (q->size too small); SUSHI_ERR_NOMEM.
 * Thread-safe: any thread, concurrently, including from a callback.
 * @since 0.3
 */
SUSHI_API int sushi_server_submit(sushi_server *srv, const sushi_query *q, uint32_t flags, void *user,
                                  sushi_ticket **ticket_out);

/** The server clock: seconds of CLOCK_MONOTONIC since the server was
 * created. @return the time; NaN for a NULL server. Thread-safe. @since 0.3 */
SUSHI_API double sushi_server_now(const sushi_server *srv);

/** How sushi_server_shutdown() treats the queries still queued. Values pinned. @since 0.3 */
typedef enum sushi_server_shutdown_mode {
    /** Serve every queued query, then stop. */
    SUSHI_SERVER_SHUTDOWN_DRAIN = 0,
    /** Answer every queued query with SUSHI_ERR_CANCELLED (queries already in
     * service finish normally), then stop. */
    SUSHI_SERVER_SHUTDOWN_CANCEL = 1
} sushi_server_shutdown_mode;

/**
 * Stop accepting queries (submit returns SUSHI_ERR_STATE from now on),
 * answer every queued query as `mode` says, wait for the workers to finish
 * and join them. When it returns, every accepted query has been answered.
 * A second call does nothing and returns SUSHI_OK.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL server, unknown mode).
 * Thread-safe with submit, now, get_stats and tickets; call it from one
 * thread at a time and never from a callback of this server.
 * @since 0.3
 */
SUSHI_API int sushi_server_shutdown(sushi_server *srv, int mode);

/** Shut down with SUSHI_SERVER_SHUTDOWN_CANCEL if not yet done, then release
 * the server. Tickets stay valid (release each with sushi_ticket_destroy(),
 * before or after). NULL is a no-op. Not thread-safe with other calls on srv;
 * never from a callback of this server. @since 0.3 */
SUSHI_API void sushi_server_destroy(sushi_server *srv);

/** Server statistics (definitions: docs/server.md). @since 0.3 */
typedef struct sushi_server_stats {
    size_t size;              /**< sizeof(sushi_server_stats) */
    uint32_t workers;         /**< worker threads */
    uint32_t queue_capacity;  /**< queue bound */
    uint32_t queue_depth;     /**< queries waiting now */
    uint32_t queue_max_depth; /**< most queries ever waiting at once */
    uint64_t submitted;       /**< queries accepted */
    uint64_t rejected;        /**< submits answered SUSHI_ERR_BUSY (queue full) */
    uint64_t answered;        /**< accepted queries answered so far (all statuses) */
    uint64_t served;          /**< answered SUSHI_OK */
    uint64_t dropped;         /**< answered SUSHI_ERR_DROPPED */
    uint64_t cancelled;       /**< answered SUSHI_ERR_CANCELLED */
    uint64_t failed;          /**< answered with any other error */
    /** Served or dropped queries that had an SLO. */
    uint64_t slo_queries;
    /** Fraction of slo_queries served with end-to-end latency <= SLO (a
     * dropped query misses); NaN when none. */
    double e2e_slo_attainment;
    /** End-to-end latency of served queries: from arrival to the moment the
     * answer was ready, measured on the server clock. Nearest-rank
     * percentiles of all (up to 1,048,576, then a uniform reservoir sample). */
    double e2e_mean_s;
    double e2e_p50_s;         /**< median end-to-end latency */
    double e2e_p99_s;         /**< 99th percentile end-to-end latency */
    double e2e_max_s;         /**< largest end-to-end latency */
    double wait_mean_s;       /**< mean time from arrival to service start (served and dropped) */
    double accuracy_mean;     /**< mean candidate-table accuracy of served queries; NaN when none */
} sushi_server_stats;

/** Initialiser of a sushi_server_stats: sets size. @since 0.3 */
#define SUSHI_SERVER_STATS_INIT { .size = sizeof(sushi_server_stats) }

/** Fill `st` with a consistent snapshot. @return SUSHI_OK, SUSHI_ERR_INVALID,
 * SUSHI_ERR_ABI (st->size too small), SUSHI_ERR_NOMEM. Cost: sorts a copy of
 * the kept latencies. Thread-safe. @since 0.3 */
SUSHI_API int sushi_server_get_stats(const sushi_server *srv, sushi_server_stats *st);

/** Scheduler statistics of worker `worker` (sched.h), available once the
 * server is shut down (the schedulers are then idle).
 * @return SUSHI_OK; SUSHI_ERR_STATE (not shut down); SUSHI_ERR_RANGE (no such
 * worker); SUSHI_ERR_INVALID; SUSHI_ERR_ABI; SUSHI_ERR_NOMEM.
 * Thread-safe after sushi_server_shutdown() returned. @since 0.3 */
SUSHI_API int sushi_server_get_worker_stats(const sushi_server *srv, uint32_t worker, sushi_sched_stats *st);

/**
 * Wait until the ticket's query is answered, or `timeout_s` seconds pass
 * (< 0: forever; 0: poll).
 * @param t the ticket (from sushi_server_submit()).
 * @param timeout_s seconds to wait at most (< 0: forever; 0: poll).
 * @param status_out receives the query's status when answered (may be NULL).
 * @param r receives the result when answered (may be NULL; r->size set by
 *        the caller, at least sizeof(sushi_result)).
 * @return SUSHI_OK (answered: *status_out and *r written); SUSHI_ERR_STATE
 * (not answered yet: timeout); SUSHI_ERR_INVALID (NULL ticket, NaN timeout);
 * SUSHI_ERR_ABI (r->size too small).
 * Thread-safe; any number of threads may wait on one ticket. Never from a
 * callback of the ticket's own server with a negative timeout.
 * @since 0.3
 */
SUSHI_API int sushi_ticket_wait(sushi_ticket *t, double timeout_s, int *status_out, sushi_result *r);

/** sushi_ticket_wait(t, 0, status_out, r): SUSHI_OK when answered, else
 * SUSHI_ERR_STATE, without blocking. Thread-safe. @since 0.3 */
SUSHI_API int sushi_ticket_poll(sushi_ticket *t, int *status_out, sushi_result *r);

/** Release the caller's reference. The query is still answered (callback
 * included) if it was not yet; the memory goes when both are done. NULL is a
 * no-op. Call once per ticket, when no other thread uses it. @since 0.3 */
SUSHI_API void sushi_ticket_destroy(sushi_ticket *t);

#ifdef __cplusplus
}
#endif
#endif
