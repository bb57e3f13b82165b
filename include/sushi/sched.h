/**
 * @file sched.h
 * @brief sushi_sched (SushiSched): per-query SubNet selection over a SuperNet's
 * Pareto candidates, with a SubGraph kept resident by a caching policy.
 *
 * A scheduler is made over a SuperNet, a backend instance (that predicts the
 * cost of a SubNet given the resident SubGraph, and runs it when it can) and
 * a policy instance (that picks the next resident SubGraph every Q queries).
 * For every query it predicts each candidate's latency given what is resident
 * now (a table refreshed only when the resident SubGraph changes, so a
 * decision is two binary searches), serves one candidate, and reports what
 * that cost. docs/scheduler.md defines the algorithms, the fallback and every
 * statistic.
 *
 * Ownership: the scheduler keeps its SuperNet, backend and policy alive
 * (each holds a reference), so handles may be destroyed in any order. The
 * scheduler drives the backend instance: do not use that backend from
 * another thread while the scheduler lives. Thread-safety: a scheduler is NOT thread-safe (it drives one
 * backend instance and one policy instance); use one per thread.
 */
#ifndef SUSHI_SCHED_H
#define SUSHI_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/export.h"
#include "sushi/policy.h"
#include "sushi/profile.h"
#include "sushi/subgraph.h"
#include "sushi/subnet.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque scheduler. @since 0.1 */
typedef struct sushi_sched sushi_sched;

/** What a query's constraints mean to the selection. Values pinned. @since 0.1 */
typedef enum sushi_sched_mode {
    /** The most accurate candidate whose predicted latency meets the SLO
     * (the accuracy floor is only reported). No SLO: the most accurate.
     * None meets the SLO: the fastest (a reported miss). */
    SUSHI_SCHED_MOST_ACCURATE = 0,
    /** The fastest candidate that meets the accuracy floor (the SLO is only
     * reported). No floor: the fastest. None meets it: the most accurate. */
    SUSHI_SCHED_FASTEST = 1,
    /** Both constraints (default): with an SLO, the most accurate candidate
     * that meets the SLO and the floor; with only a floor, the fastest that
     * meets it; with neither, the most accurate. When no candidate satisfies
     * the query, the fallback (sushi_sched_fallback) decides. */
    SUSHI_SCHED_BOTH = 2
} sushi_sched_mode;

/** Fallback of SUSHI_SCHED_BOTH when no candidate meets both constraints.
 * The miss is reported (sushi_result::fallback, slo_met, accuracy_met).
 * Values pinned. @since 0.1 */
typedef enum sushi_sched_fallback {
    /** Default: the fastest candidate that meets the accuracy floor if any,
     * else the most accurate that meets the SLO if any, else the fastest. */
    SUSHI_SCHED_FALLBACK_ACCURACY_FIRST = 0,
    /** The most accurate candidate that meets the SLO if any, else the fastest. */
    SUSHI_SCHED_FALLBACK_LATENCY_FIRST = 1
} sushi_sched_fallback;

/** Where the cost of loading a new resident SubGraph goes. Values pinned. @since 0.1 */
typedef enum sushi_sched_reload {
    /** Default: the reload's time, bytes and energy are added to the next
     * query (its prediction includes the reload time, so the selection
     * accounts for it). */
    SUSHI_SCHED_RELOAD_NEXT_QUERY = 0,
    /** The reload overlaps idle time: it is counted in the stream's totals
     * (reload bytes and time, off-chip bytes, energy) but in no query's latency. */
    SUSHI_SCHED_RELOAD_SEPARATE = 1
} sushi_sched_reload;

/** Which candidates the scheduler serves from. Values pinned. @since 0.1 */
typedef enum sushi_sched_pareto {
    /** Default: non-dominated in (accuracy up, MACs down, weight bytes down). */
    SUSHI_SCHED_PARETO_MACS_BYTES = 0,
    SUSHI_SCHED_PARETO_MACS = 1,  /**< non-dominated in (accuracy, MACs) */
    SUSHI_SCHED_PARETO_BYTES = 2, /**< non-dominated in (accuracy, weight bytes) */
    SUSHI_SCHED_PARETO_NONE = 3   /**< every candidate with an accuracy */
} sushi_sched_pareto;

/** What to do with a query that no candidate can answer within its remaining
 * end-to-end budget (sushi_query::slo_s minus the time it already waited).
 * Values pinned. @since 0.3 */
typedef enum sushi_sched_late {
    /** Default: serve anyway, chosen by the fallback (sushi_sched_fallback);
     * the end-to-end miss is reported (sushi_result::e2e_slo_met). */
    SUSHI_SCHED_LATE_FASTEST = 0,
    /** Serve nothing: sushi_sched_submit() returns SUSHI_OK with
     * sushi_result::dropped set and candidate -1; the drop is counted
     * (sushi_sched_stats::dropped) and is an end-to-end SLO miss. A query
     * is dropped only if its budget cannot hold even the median service of
     * what LATE_FASTEST would serve; when adapting, after 4 drops in a row
     * the next late query is served so that a run corrects the estimator
     * (docs/scheduler.md). */
    SUSHI_SCHED_LATE_DROP = 1
} sushi_sched_late;

/** Online adaptation of the latency prediction to measured runs
 * (docs/scheduler.md, "Online adaptation"). Values pinned. @since 0.3 */
typedef enum sushi_sched_adapt {
    /** Default: on when the backend declares SUSHI_BACKEND_CAP_MEASURED
     * (its latency is measured, e.g. cpu), off for modelled latencies
     * (cycle, hls), which are exact. */
    SUSHI_SCHED_ADAPT_AUTO = 0,
    SUSHI_SCHED_ADAPT_OFF = 1, /**< open loop: predictions never change */
    SUSHI_SCHED_ADAPT_ON = 2   /**< adapt on every run, whatever the backend */
} sushi_sched_adapt;

/** Default sushi_sched_options::quantile: the profile's p99. @since 0.3 */
#define SUSHI_SCHED_QUANTILE_DEFAULT 0.99
/** Default sushi_sched_options::adapt_window (runs in the load-factor median). @since 0.3 */
#define SUSHI_SCHED_ADAPT_WINDOW_DEFAULT 15u

/** pb_bytes value meaning: ask the backend (param "pb_bytes", else "pb_kib" x 1024). @since 0.1 */
#define SUSHI_SCHED_PB_AUTO UINT64_MAX

/** Scheduler options. Fill from SUSHI_SCHED_OPTIONS_INIT. @since 0.1 */
typedef struct sushi_sched_options {
    size_t size;            /**< sizeof(sushi_sched_options) */
    int mode;               /**< sushi_sched_mode (default SUSHI_SCHED_BOTH) */
    int fallback;           /**< sushi_sched_fallback */
    int reload;             /**< sushi_sched_reload */
    int pareto;             /**< sushi_sched_pareto */
    uint32_t window;        /**< Q: queries between cache updates, 1..1,000,000 (default 100) */
    /** Persistent-buffer capacity in bytes. SUSHI_SCHED_PB_AUTO (default):
     * read the backend's "pb_bytes" or "pb_kib" param; a backend with
     * neither gets 0 (nothing can be resident; logged as a warning). An
     * explicit value is also written to the backend's "pb_bytes"/"pb_kib"
     * param when it has one, so both agree. */
    uint64_t pb_bytes;
    /** Latencies kept for the percentiles: all of them up to this many, then a
     * uniform reservoir sample of this size (0 = default 1,048,576). */
    uint32_t latency_samples;
    uint64_t seed;          /**< seed of the reservoir sampling */
    /** sushi_sched_late: a query that fits no candidate's prediction within
     * its remaining budget is served anyway (default) or dropped. @since 0.3 */
    int late;
    /** sushi_sched_adapt (default SUSHI_SCHED_ADAPT_AUTO). @since 0.3 */
    int adapt;
    /** Which latency quantile of an attached profile (sushi_sched_set_profile())
     * is the predicted service time: 0.5, 0.9, 0.99 (default) or 1.0 (the
     * max); also 0 = default. When adapting it is also the quantile of the
     * recent measured ratios that forms the tail factor (docs/scheduler.md
     * "Online adaptation"), with or without a profile. @since 0.3 */
    double quantile;
    /** Measured runs whose median ratio is the load factor (and whose
     * `quantile` ratio is the tail factor), 1..1024 (default 15, 0 =
     * default): a step change in load is followed after adapt_window / 2 + 1
     * runs. @since 0.3 */
    uint32_t adapt_window;
} sushi_sched_options;

/** Initialiser of sushi_sched_options with every default. @since 0.1 */
#define SUSHI_SCHED_OPTIONS_INIT                                                               \
    { sizeof(sushi_sched_options), SUSHI_SCHED_BOTH, SUSHI_SCHED_FALLBACK_ACCURACY_FIRST,      \
      SUSHI_SCHED_RELOAD_NEXT_QUERY, SUSHI_SCHED_PARETO_MACS_BYTES, 100u, SUSHI_SCHED_PB_AUTO, \
      0u, 0u, SUSHI_SCHED_LATE_FASTEST, SUSHI_SCHED_ADAPT_AUTO, SUSHI_SCHED_QUANTILE_DEFAULT,   \
      SUSHI_SCHED_ADAPT_WINDOW_DEFAULT }

/**
 * Create a scheduler. Candidates: the Pareto set (opts->pareto) of the
 * SuperNet's candidate table, candidates with a NaN accuracy skipped. One
 * SubNet per candidate is resolved and its cost with nothing resident is
 * predicted through sushi_backend_cost(). Nothing is resident at first: the
 * first cache update happens before query Q (or on sushi_sched_update()).
 * @param sn the SuperNet (kept alive).
 * @param b the backend instance, made for sn; borrowed: it must outlive the
 *        scheduler, which uses it exclusively (no other calls on b meanwhile).
 * @param p the policy instance, made for sn; borrowed like b.
 * @param opts NULL for defaults.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL argument, SuperNet mismatch, bad
 * option), SUSHI_ERR_ABI (opts->size too small), SUSHI_ERR_INFEASIBLE (no
 * candidate has an accuracy; logged), SUSHI_ERR_UNSUPPORTED (backend without
 * a cost slot), SUSHI_ERR_BACKEND (the backend failed or returned a negative
 * or non-finite latency), SUSHI_ERR_NOMEM. *out is NULL on failure.
 * @param out receives the scheduler (release with sushi_sched_destroy()).
 * Thread-safe on distinct b and p; the scheduler itself is not thread-safe.
 * @since 0.1
 */
SUSHI_API int sushi_sched_create(const sushi_supernet *sn, sushi_backend *b, sushi_policy *p,
                                 const sushi_sched_options *opts, sushi_sched **out);

/** Release. NULL is a no-op. Does not destroy the backend or the policy. Not thread-safe with other calls on s. @since 0.1 */
SUSHI_API void sushi_sched_destroy(sushi_sched *s);

/** A query. Fill from SUSHI_QUERY_INIT. @since 0.1 */
typedef struct sushi_query {
    size_t size;          /**< sizeof(sushi_query) */
    double min_accuracy;  /**< accuracy floor in [0, 1]; 0 = none */
    double slo_s;         /**< latency SLO in seconds; 0 = none */
    /** Arrival time (>= 0), seconds on the caller's clock. Since 0.3 the SLO
     * counts from here: the decision uses the remaining budget
     * slo_s - (start - arrival_s), where start is start_s. */
    double arrival_s;
    /** Optional input image, NCHW float32 (see sushi_run_args); NULL = cost
     * only. A square in_c x R x R image whose R differs from the served
     * SubNet's resolution is resized first with sushi_input_resize()
     * (input.h: bilinear, align_corners = false), so an image that
     * sushi_input_from_u8() built at its own size R reaches the served SubNet
     * exactly as sushi_input_from_u8() would build it at that SubNet's
     * resolution (since 0.2; 0.1 resized with the same taps in double
     * precision). The caller need not know the chosen SubNet in advance. */
    const float *input;
    size_t input_len;     /**< number of floats at input */
    float *output;        /**< output buffer when input is given */
    size_t output_len;    /**< number of floats available at output */
    bool int8;            /**< run the int8 path */
    /** When service starts, same clock as arrival_s: a real-time server
     * passes the time it hands the query to the scheduler (> 0 and >=
     * arrival_s, else SUSHI_ERR_INVALID). <= 0 (SUSHI_QUERY_INIT: -1; also
     * the 0 of a designated initialiser) = simulated FIFO: start =
     * max(arrival_s, finish of the previous query), the finish being start +
     * service latency. @since 0.3 */
    double start_s;
} sushi_query;

/** Initialiser of a sushi_query: no constraint, arrival 0, cost only,
 * simulated start. @since 0.1 */
#define SUSHI_QUERY_INIT { sizeof(sushi_query), 0.0, 0.0, 0.0, NULL, 0, NULL, 0, false, -1.0 }

/** What serving one query did. @since 0.1 */
typedef struct sushi_result {
    size_t size;              /**< sizeof(sushi_result): set by the caller */
    uint64_t index;           /**< 0-based number of the query in this scheduler */
    int32_t candidate;        /**< index of the served SubNet in the SuperNet's candidate table */
    sushi_config config;      /**< its config */
    double accuracy;          /**< its candidate-table accuracy */
    /** Predicted service latency the decision used (with the charged reload). */
    double predicted_s;
    /** Service latency: measured when the backend ran the query (its own
     * reported latency, else wall-clock time), else the backend's model; plus
     * the charged reload time. */
    double latency_s;
    double queue_s;           /**< FIFO wait before service: max(0, previous finish - arrival) */
    uint64_t offchip_bytes;   /**< off-chip bytes of this query (+ charged reload) */
    uint64_t weight_bytes;    /**< weight bytes the SubNet needs (demand) */
    uint64_t hit_bytes;       /**< of which served from the resident SubGraph */
    double energy_j;          /**< energy (+ charged reload) */
    double energy_offchip_j;  /**< off-chip part of energy_j */
    bool slo_met;             /**< latency_s <= SLO (true when no SLO) */
    bool accuracy_met;        /**< accuracy >= floor (true when no floor) */
    bool fallback;            /**< no candidate was predicted to satisfy the query */
    bool ran;                 /**< the backend ran the query (input given and CAP_RUN) */
    bool updated;             /**< the resident SubGraph was re-chosen just before this query */
    uint64_t reload_bytes;    /**< reload bytes charged to this query */
    double reload_s;          /**< reload time charged to this query */
    double reload_energy_j;   /**< reload energy charged to this query */
    uint64_t decision_ns;     /**< time the selection took */
    /** End-to-end latency: queue_s (the wait, start - arrival) + latency_s;
     * for a dropped query, the wait alone. @since 0.3 */
    double e2e_s;
    /** Remaining budget the decision used: slo_s - queue_s (may be <= 0);
     * 0 when the query has no SLO. @since 0.3 */
    double budget_s;
    /** e2e_s <= SLO (true when no SLO; false when dropped). Since 0.3
     * slo_met keeps its 0.1 meaning: service latency_s <= SLO. @since 0.3 */
    bool e2e_slo_met;
    /** Dropped (SUSHI_SCHED_LATE_DROP, nothing fitted the budget): nothing
     * ran, candidate is -1, accuracy NaN, latency_s 0. @since 0.3 */
    bool dropped;
    /** The prediction was adapted to measured runs (load factor != 1 may
     * apply). @since 0.3 */
    bool adapted;
    /** Load factor the prediction used (1 when not adapting). @since 0.3 */
    double load_factor;
} sushi_result;

/** Initialiser of a sushi_result: sets size. @since 0.1 */
#define SUSHI_RESULT_INIT { .size = sizeof(sushi_result) }

/**
 * Serve one query: (every Q queries, first re-choose the resident SubGraph),
 * select a candidate, run it when q->input is given and the backend has
 * SUSHI_BACKEND_CAP_RUN (else only its cost is modelled), and account for it.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL, NaN, infinite or negative
 * field), SUSHI_ERR_RANGE (min_accuracy > 1), SUSHI_ERR_ABI (q->size or
 * r->size too small), or the status of the policy / backend that failed
 * (nothing is served or counted then).
 * Not thread-safe. @since 0.1
 */
SUSHI_API int sushi_sched_submit(sushi_sched *s, const sushi_query *q, sushi_result *r);

/**
 * Predict service time from a measured latency profile (profile.h) instead
 * of the backend's cost model: candidate i's prediction becomes the
 * profile's opts->quantile latency of i, scaled by the backend model's
 * residency factor (cost with the resident SubGraph / cost with nothing
 * resident: 1 on cpu) and, when adapting, by the load and tail factors
 * (docs/scheduler.md). The profile is checked first (sushi_profile_check():
 * same SuperNet content hash, same backend) and must have an entry for every
 * candidate of the scheduler; on any failure nothing changes. The values are
 * copied: p may be destroyed afterwards. NULL p detaches (back to the
 * model). Attaching or detaching restarts the load factor at 1.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL s, or p is of another SuperNet or
 * backend; logged with both identities), SUSHI_ERR_NOT_FOUND (a candidate
 * has no entry; logged), SUSHI_ERR_NOMEM. Not thread-safe. @since 0.3
 */
SUSHI_API int sushi_sched_set_profile(sushi_sched *s, const sushi_profile *p);

/** Re-choose the resident SubGraph now from the SubNets served since the last
 * update (on demand; the Q counter restarts). @return SUSHI_OK or the
 * policy's / backend's status. Not thread-safe. @since 0.1 */
SUSHI_API int sushi_sched_update(sushi_sched *s);

/**
 * Give the scheduler the queries to come (offline evaluation only: the
 * "oracle" policy reads them). future[i] is the query that will be the i-th
 * one submitted after this call. The array is borrowed: it must stay valid
 * until the scheduler is destroyed or this is called again (NULL, 0 clears).
 * At each cache update the policy's view->future holds the SubNets the next
 * Q of them would be served; see docs/scheduler.md for how that is computed.
 * Not thread-safe. @since 0.1
 */
SUSHI_API int sushi_sched_set_lookahead(sushi_sched *s, const sushi_query *future, size_t n);

/**
 * Choose what the caching policy maximises from the next cache update on
 * (sushi_objective, policy.h; docs/scheduler.md, "Objective"). The default is
 * SUSHI_OBJECTIVE_TIME: the scheduler serves latency, so its cache should
 * save latency. TIME and ENERGY need the backend's tile savings
 * (sushi_backend_tile_savings()); a backend without them gets BYTES, logged
 * once at INFO, and sushi_sched_objective() then reports BYTES.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL s, unknown objective). Not
 * thread-safe (s is per thread). @since 0.3
 */
SUSHI_API int sushi_sched_set_objective(sushi_sched *s, int objective);

/** The objective in effect (after the BYTES fallback for a backend without
 * tile savings, which is known after the first cache update or
 * sushi_sched_set_objective()); -1 for NULL s. Not thread-safe with calls
 * that change s. @since 0.3 */
SUSHI_API int sushi_sched_objective(const sushi_sched *s);

/** Running statistics of the stream (definitions: docs/scheduler.md). @since 0.1 */
typedef struct sushi_sched_stats {
    size_t size;                 /**< sizeof(sushi_sched_stats) */
    uint64_t queries;            /**< queries served */
    double latency_mean_s;       /**< mean service latency */
    double latency_p50_s;        /**< nearest-rank percentiles of the kept samples */
    double latency_p99_s;        /**< 99th percentile of the service latency */
    double latency_max_s;        /**< largest service latency */
    bool latency_exact;          /**< every latency was kept (percentiles exact) */
    double queue_mean_s;         /**< mean FIFO wait */
    uint64_t slo_queries;        /**< queries with an SLO */
    double slo_attainment;       /**< fraction of them that met it; NaN when none */
    uint64_t accuracy_queries;   /**< queries with an accuracy floor */
    double accuracy_attainment;  /**< fraction of them that met it; NaN when none */
    double accuracy_mean;        /**< mean candidate-table accuracy served */
    uint64_t fallbacks;          /**< queries no candidate was predicted to satisfy */
    uint64_t offchip_bytes;      /**< queries + reloads */
    uint64_t weight_bytes;       /**< weight bytes demanded by the served SubNets */
    uint64_t hit_bytes;          /**< of which served from the resident SubGraph */
    double pb_hit_ratio;         /**< hit_bytes / weight_bytes (0 when nothing demanded) */
    uint64_t updates;            /**< cache updates (policy calls) */
    uint64_t reloads;            /**< updates that changed the resident SubGraph */
    uint64_t reload_bytes;       /**< bytes loaded into the PB by reloads */
    double reload_s;             /**< time of the reloads */
    double energy_j;             /**< queries + reloads */
    double energy_offchip_j;     /**< off-chip part of energy_j */
    double decision_mean_ns;     /**< mean time of a selection */
    uint64_t decision_max_ns;    /**< longest selection */
    double update_mean_ns;       /**< mean wall time of a cache update (policy + reload + cost table) */
    /** Queries dropped (SUSHI_SCHED_LATE_DROP); not in `queries`. @since 0.3 */
    uint64_t dropped;
    double e2e_latency_mean_s;   /**< mean end-to-end latency of served queries @since 0.3 */
    double e2e_latency_p50_s;    /**< nearest-rank, kept samples @since 0.3 */
    double e2e_latency_p99_s;    /**< nearest-rank, kept samples @since 0.3 */
    double e2e_latency_max_s;    /**< @since 0.3 */
    /** Queries with an SLO, served or dropped. @since 0.3 */
    uint64_t e2e_slo_queries;
    /** Fraction of e2e_slo_queries whose end-to-end latency met the SLO (a
     * drop is a miss); NaN when none. @since 0.3 */
    double e2e_slo_attainment;
    /** Fraction of the served queries with an SLO whose service latency met
     * it (== slo_attainment); NaN when none. @since 0.3 */
    double service_slo_attainment;
    /** The prediction adapts to measured runs (resolved sushi_sched_adapt). @since 0.3 */
    bool adaptive;
    /** Current load factor (median of measured / profiled-median ratios;
     * 1 before any run or when not adapting). @since 0.3 */
    double load_factor;
} sushi_sched_stats;

/** Initialiser of a sushi_sched_stats: sets size. @since 0.1 */
#define SUSHI_SCHED_STATS_INIT { .size = sizeof(sushi_sched_stats) }

/** Fill `st`. @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI, SUSHI_ERR_NOMEM.
 * Cost: sorts a copy of the kept latencies. Not thread-safe with concurrent calls that change s. @since 0.1 */
SUSHI_API int sushi_sched_get_stats(const sushi_sched *s, sushi_sched_stats *st);

/** Zero the statistics (the resident SubGraph and the window are kept). Not thread-safe. @since 0.1 */
SUSHI_API int sushi_sched_reset_stats(sushi_sched *s);

/** Scheduler summary. Strings live as long as the scheduler. @since 0.1 */
typedef struct sushi_sched_info {
    size_t size;                /**< sizeof(sushi_sched_info) */
    uint32_t n_candidates;      /**< candidates served from (the Pareto set) */
    uint32_t n_with_accuracy;   /**< candidate-table rows with an accuracy */
    uint32_t window;            /**< Q */
    uint64_t pb_bytes;          /**< persistent-buffer capacity used */
    uint64_t resident_bytes;    /**< bytes resident now */
    double accuracy_min;        /**< lowest accuracy over the candidates */
    double accuracy_max;        /**< highest accuracy over the candidates */
    double latency_min_s;       /**< lowest predicted latency, nothing resident */
    double latency_max_s;       /**< highest predicted latency, nothing resident */
    const char *backend;        /**< backend name */
    const char *policy;         /**< policy name */
} sushi_sched_info;

/** Initialiser of a sushi_sched_info: sets size. @since 0.1 */
#define SUSHI_SCHED_INFO_INIT { .size = sizeof(sushi_sched_info) }

/** Fill `info`. @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Not thread-safe with concurrent calls that change s. @since 0.1 */
SUSHI_API int sushi_sched_get_info(const sushi_sched *s, sushi_sched_info *info);

/** One candidate of the scheduler as it stands now. @since 0.1 */
typedef struct sushi_sched_candidate {
    size_t size;              /**< sizeof(sushi_sched_candidate) */
    int32_t table_index;      /**< index in the SuperNet's candidate table */
    double accuracy;          /**< its candidate-table accuracy */
    double predicted_s;       /**< predicted latency with the current resident SubGraph (no reload) */
    uint64_t weight_bytes;    /**< its weight bytes (int8) */
    uint64_t hit_bytes;       /**< with the current resident SubGraph */
    const sushi_subnet *subnet; /**< borrowed; lives as long as the scheduler */
} sushi_sched_candidate;

/** Initialiser of a sushi_sched_candidate: sets size. @since 0.1 */
#define SUSHI_SCHED_CANDIDATE_INIT { .size = sizeof(sushi_sched_candidate) }

/** Candidate i of the scheduler (0 = most accurate; by accuracy descending,
 * then MACs ascending). @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID,
 * SUSHI_ERR_ABI. Not thread-safe with concurrent calls that change s. @since 0.1 */
SUSHI_API int sushi_sched_candidate_get(const sushi_sched *s, size_t i, sushi_sched_candidate *out);

/** Copy the resident SubGraph into `out` (a SubGraph of the same SuperNet).
 * @return SUSHI_OK, SUSHI_ERR_INVALID. Not thread-safe with concurrent calls that change s. @since 0.1 */
SUSHI_API int sushi_sched_get_resident(const sushi_sched *s, sushi_subgraph *out);

#ifdef __cplusplus
}
#endif
#endif
