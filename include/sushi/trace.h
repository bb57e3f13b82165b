/**
 * @file trace.h
 * @brief sushi_trace: query streams for the scheduler — a generator with
 * tunable temporal locality and a CSV format for replay (docs/scheduler.md).
 *
 * A trace is an immutable array of entries (arrival time, accuracy floor,
 * latency SLO, optional integer label), sorted by arrival time. It may be
 * shared by threads. It keeps its context alive (when it has one).
 */
#ifndef SUSHI_TRACE_H
#define SUSHI_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/context.h"
#include "sushi/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque trace. @since 0.1 */
typedef struct sushi_trace sushi_trace;

/** One query of a trace. @since 0.1 */
typedef struct sushi_trace_entry {
    size_t size;          /**< sizeof(sushi_trace_entry) */
    double t_s;           /**< arrival time, seconds (>= 0, non-decreasing along a trace) */
    double min_accuracy;  /**< accuracy floor in [0, 1]; 0 = none */
    double slo_s;         /**< latency SLO in seconds (>= 0); 0 = none */
    int64_t label;        /**< free tag >= 0 (generated traces: the regime index); -1 = none */
} sushi_trace_entry;

/** Initialiser of a sushi_trace_entry: no constraint, no label. @since 0.1 */
#define SUSHI_TRACE_ENTRY_INIT { sizeof(sushi_trace_entry), 0.0, 0.0, 0.0, -1 }

/**
 * Generator options. Demand moves between `n_regimes` regimes; regime r sits
 * at a demand level u_r in [0, 1] (stratified: u_r in [r/K, (r+1)/K), order
 * shuffled) and asks for accuracy acc_lo + u_r (acc_hi - acc_lo) and SLO
 * slo_lo_s + u_r (slo_hi_s - slo_lo_s), each query jittered uniformly by
 * +-jitter x the range (clamped into it). After each query the stream leaves
 * its regime with probability 1/dwell (geometric dwell, mean `dwell`
 * queries) for another one drawn uniformly. Each query is latency-bound
 * (SLO only) with probability `mix`, else accuracy-bound (floor only); with
 * probability `both` it carries both constraints instead. Arrivals are
 * Poisson with rate `rate_hz`. Same options (seed included) -> same trace,
 * on every platform. Fill from SUSHI_TRACE_GEN_OPTIONS_INIT. @since 0.1
 */
typedef struct sushi_trace_gen_options {
    size_t size;          /**< sizeof(sushi_trace_gen_options) */
    uint64_t seed;        /**< generator seed (default 0) */
    uint32_t n_queries;   /**< 1..100,000,000 (default 1000) */
    uint32_t n_regimes;   /**< 1..1,000,000 (default 4) */
    double dwell;         /**< mean queries per regime visit, >= 1 (default 100); 1 = no locality */
    double mix;           /**< probability of a latency-bound query, [0, 1] (default 0.5) */
    double both;          /**< probability of a query with both constraints, [0, 1] (default 0) */
    double jitter;        /**< half-width of the jitter, fraction of the range, [0, 1] (default 0.02) */
    double rate_hz;       /**< Poisson arrival rate, > 0 (default 100) */
    double acc_lo;        /**< lowest accuracy floor, 0 <= acc_lo <= acc_hi (default 0.70) */
    double acc_hi;        /**< highest accuracy floor, <= 1 (default 0.80) */
    double slo_lo_s;      /**< tightest SLO, 0 < slo_lo_s <= slo_hi_s (default 1e-3) */
    double slo_hi_s;      /**< loosest SLO (default 1e-2) */
} sushi_trace_gen_options;

/** Initialiser of sushi_trace_gen_options with every default. @since 0.1 */
#define SUSHI_TRACE_GEN_OPTIONS_INIT                                                       \
    { sizeof(sushi_trace_gen_options), 0u, 1000u, 4u, 100.0, 0.5, 0.0, 0.02, 100.0, 0.70, \
      0.80, 1e-3, 1e-2 }

/**
 * Generate a trace. ctx supplies the allocator (NULL: the C library's).
 * Place the ranges within what the scheduler can serve: sushi_sched_get_info()
 * gives the candidates' accuracy range and predicted latency range.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (bad option; NaN included), SUSHI_ERR_ABI,
 * SUSHI_ERR_NOMEM. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_trace_generate(sushi_context *ctx, const sushi_trace_gen_options *opts,
                                   sushi_trace **out);

/** Make a trace from n entries (copied and checked as the CSV reader checks
 * them). @return SUSHI_OK, SUSHI_ERR_INVALID (message in errbuf), SUSHI_ERR_ABI,
 * SUSHI_ERR_NOMEM. entries are copied. Release with sushi_trace_destroy(). Thread-safe. @since 0.1 */
SUSHI_API int sushi_trace_create(sushi_context *ctx, const sushi_trace_entry *entries, size_t n,
                                 sushi_trace **out, char *errbuf, size_t errbuf_size);

/** Longest line sushi_trace_load_csv() reads, in bytes without the newline
 * (a trace line holds four numbers: 4096 is far more than any writer needs).
 * @since 0.3 */
#define SUSHI_TRACE_LINE_MAX 4096u

/** Largest trace file sushi_trace_load_csv() reads, in bytes (256 MiB: about
 * five million queries, 200 MB in memory). @since 0.3 */
#define SUSHI_TRACE_FILE_MAX (256u << 20)

/**
 * Read a CSV trace (format in docs/scheduler.md): header
 * `t_s,min_accuracy,slo_s` with an optional fourth column `label`; blank lines
 * and lines starting with '#' are skipped. Rejected, with the line number in
 * errbuf: a bad header, a wrong field count, a field that is not a number,
 * NaN, infinities, negative values, min_accuracy > 1, a non-integer label,
 * and a time earlier than the previous line's (equal times are accepted).
 * An empty file body is a valid empty trace. Numbers are read exactly,
 * subnormals included (a non-zero literal that rounds to zero, such as 1e-400,
 * is refused as not a number). Since 0.3: `path` must name a regular file
 * (FIFOs, devices and directories are refused with SUSHI_ERR_IO "not a regular
 * file", without blocking: the file is opened O_NONBLOCK and checked before
 * reading); a line longer than SUSHI_TRACE_LINE_MAX or a file larger than
 * SUSHI_TRACE_FILE_MAX is SUSHI_ERR_FORMAT with a message naming the limit.
 * @return SUSHI_OK, SUSHI_ERR_IO (cannot open/read, not a regular file), SUSHI_ERR_FORMAT,
 * SUSHI_ERR_INVALID, SUSHI_ERR_NOMEM. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_trace_load_csv(sushi_context *ctx, const char *path, sushi_trace **out,
                                   char *errbuf, size_t errbuf_size);

/** Write the trace as CSV (the label column only when some entry has a
 * label). Numbers are printed so that they read back exactly. The file is
 * replaced atomically (since 0.3; temporary in the same directory, fsync,
 * rename, as sushi_supernet_save_file): on failure an existing file is left
 * untouched and no temporary remains.
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_IO (errno then holds the
 * cause, e.g. ENOSPC). Thread-safe. @since 0.1 */
SUSHI_API int sushi_trace_save_csv(const sushi_trace *t, const char *path);

/** Number of entries (0 for NULL). Thread-safe. @since 0.1 */
SUSHI_API size_t sushi_trace_length(const sushi_trace *t);

/** Entry i. @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe (a trace is immutable). @since 0.1 */
SUSHI_API int sushi_trace_get(const sushi_trace *t, size_t i, sushi_trace_entry *out);

/** Release. NULL is a no-op. Not thread-safe with other calls on t. @since 0.1 */
SUSHI_API void sushi_trace_destroy(sushi_trace *t);

#ifdef __cplusplus
}
#endif
#endif
