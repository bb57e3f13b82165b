/**
 * @file profile.h
 * @brief sushi_profile: measured latency of every candidate SubNet on one
 * backend, for the scheduler's predictions (docs/profile.md).
 *
 * A profile is measured by running every candidate of a SuperNet's
 * candidate table on a backend instance (after warm-up runs), or loaded from
 * a CBOR file (format and CDDL: docs/profile.md). It records, per candidate,
 * the number of timed runs and the mean, p50, p90, p99 and max of their
 * latency, and what it was measured on: the backend and its params, the
 * threads, the CPU model, the library version and the SuperNet's content
 * hash (sushi_profile_supernet_hash()). sushi_sched_set_profile() (sched.h)
 * makes a scheduler predict service time from it, after checking that the
 * profile belongs to the scheduler's SuperNet and backend.
 *
 * Ownership: a profile owns its data and keeps no reference on the SuperNet,
 * backend or context it was made with, except the context, which it keeps
 * alive (its allocator and log). Thread-safety: a profile is immutable once
 * made; its read functions are thread-safe.
 */
#ifndef SUSHI_PROFILE_H
#define SUSHI_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/context.h"
#include "sushi/export.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque latency profile. @since 0.3 */
typedef struct sushi_profile sushi_profile;

/** Length of the hex SuperNet content hash plus its terminating NUL. @since 0.3 */
#define SUSHI_PROFILE_HASH_HEX 65

/** Options of sushi_profile_measure(). Fill from SUSHI_PROFILE_OPTIONS_INIT. @since 0.3 */
typedef struct sushi_profile_options {
    size_t size;       /**< sizeof(sushi_profile_options) */
    uint32_t warmup;   /**< untimed runs of each candidate before its timed runs (default 10) */
    uint32_t reps;     /**< timed runs per candidate, 1..1,000,000 (default 200) */
    bool int8;         /**< profile the int8 path (backend needs SUSHI_BACKEND_CAP_INT8) */
    uint64_t seed;     /**< seed of the synthetic input image the runs use */
} sushi_profile_options;

/** Initialiser of sushi_profile_options with every default. @since 0.3 */
#define SUSHI_PROFILE_OPTIONS_INIT { sizeof(sushi_profile_options), 10u, 200u, false, 0u }

/**
 * Measure a profile: for each candidate of b's SuperNet candidate table (in
 * table order), resolve its SubNet, run it opts->warmup times untimed, then
 * opts->reps times timed, with nothing resident and a fixed synthetic input
 * (deterministic from opts->seed; latency does not depend on the values).
 * A run's latency is the backend's own reported latency
 * (sushi_cost::latency_s) when positive, else the wall-clock time of
 * sushi_backend_run() on CLOCK_MONOTONIC.
 * @param b backend instance with SUSHI_BACKEND_CAP_RUN; used exclusively
 *        during the call; its resident SubGraph is evicted.
 * @param opts NULL for defaults.
 * @param out receives the profile (release with sushi_profile_destroy()).
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL argument, bad option),
 * SUSHI_ERR_ABI (opts->size too small), SUSHI_ERR_UNSUPPORTED (backend
 * cannot run, or int8 without SUSHI_BACKEND_CAP_INT8), SUSHI_ERR_INFEASIBLE
 * (empty candidate table), SUSHI_ERR_NOMEM, or the backend's status.
 * *out is NULL on failure. Not thread-safe with other calls on b.
 * @since 0.3
 */
SUSHI_API int sushi_profile_measure(sushi_backend *b, const sushi_profile_options *opts,
                                    sushi_profile **out);

/** Release. NULL is a no-op. Not thread-safe with other calls on p. @since 0.3 */
SUSHI_API void sushi_profile_destroy(sushi_profile *p);

/**
 * Load a profile file (docs/profile.md). Every field is checked: unknown
 * format version, missing or mistyped key, negative or non-finite latency,
 * quantiles out of order (p50 <= p90 <= p99 <= max, mean within [min
 * quantile, max]), n == 0, a duplicate or negative candidate index, a bad
 * hash string, trailing bytes: each is SUSHI_ERR_FORMAT with the reason
 * logged to ctx. Nothing is half-built: *out is NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL argument), SUSHI_ERR_IO (cannot
 * open/read), SUSHI_ERR_FORMAT, SUSHI_ERR_VERSION (format version other than
 * 1), SUSHI_ERR_NOMEM. Thread-safe on distinct outputs. @since 0.3
 */
SUSHI_API int sushi_profile_load_file(sushi_context *ctx, const char *path, sushi_profile **out);

/** Load a profile from `size` bytes at `data` (read during the call only;
 * same checks and statuses as sushi_profile_load_file(), without
 * SUSHI_ERR_IO). Thread-safe on distinct outputs. @since 0.3 */
SUSHI_API int sushi_profile_load_memory(sushi_context *ctx, const void *data, size_t size,
                                        sushi_profile **out);

/**
 * Write p to `path` atomically (a temporary file in the same directory,
 * fsync, rename: on failure the old file is untouched and no temporary is
 * left). @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_IO, SUSHI_ERR_NOMEM.
 * Thread-safe on distinct paths. @since 0.3
 */
SUSHI_API int sushi_profile_save_file(const sushi_profile *p, const char *path);

/** Encode p as CBOR into a buffer the library allocates; release it with
 * sushi_profile_free_buffer(). @return SUSHI_OK, SUSHI_ERR_INVALID,
 * SUSHI_ERR_NOMEM. Thread-safe. @since 0.3 */
SUSHI_API int sushi_profile_save_memory(const sushi_profile *p, void **data_out, size_t *size_out);

/** Free a buffer of sushi_profile_save_memory() (p: the profile that made
 * it). NULL data is a no-op. Thread-safe. @since 0.3 */
SUSHI_API void sushi_profile_free_buffer(const sushi_profile *p, void *data);

/** What a profile was measured on. Strings live as long as the profile. @since 0.3 */
typedef struct sushi_profile_info {
    size_t size;                 /**< sizeof(sushi_profile_info) */
    const char *backend;         /**< backend name */
    const char *supernet;        /**< SuperNet name (informative; identity is the hash) */
    const char *supernet_hash;   /**< sushi_profile_supernet_hash() as 64 hex digits */
    const char *cpu_model;       /**< CPU model string of the machine ("unknown" if none) */
    const char *library_version; /**< libsushi version that measured it */
    uint32_t threads;            /**< backend "threads" param (0 when it has none) */
    bool int8;                   /**< the int8 path was profiled */
    uint32_t warmup;             /**< untimed runs per candidate */
    uint32_t reps;               /**< timed runs per candidate */
    uint32_t n_entries;          /**< candidates profiled */
    uint32_t n_params;           /**< backend params recorded (sushi_profile_param()) */
    double created_unix_s;       /**< wall-clock time it was measured (seconds since 1970) */
} sushi_profile_info;

/** Initialiser of a sushi_profile_info: sets size. @since 0.3 */
#define SUSHI_PROFILE_INFO_INIT { .size = sizeof(sushi_profile_info) }

/** Fill `info`. @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.3 */
SUSHI_API int sushi_profile_get_info(const sushi_profile *p, sushi_profile_info *info);

/** Backend param i as recorded (key lives as long as p). @return SUSHI_OK,
 * SUSHI_ERR_INVALID, SUSHI_ERR_RANGE (i >= n_params). Thread-safe. @since 0.3 */
SUSHI_API int sushi_profile_param(const sushi_profile *p, size_t i, const char **key_out,
                                  double *value_out);

/** Measured latency of one candidate, in seconds. @since 0.3 */
typedef struct sushi_profile_entry {
    size_t size;         /**< sizeof(sushi_profile_entry) */
    int32_t candidate;   /**< index in the SuperNet's candidate table */
    uint32_t n;          /**< timed runs */
    double mean_s;       /**< mean */
    double p50_s;        /**< nearest-rank percentiles of the n runs */
    double p90_s;        /**< 90th percentile (nearest rank) */
    double p99_s;        /**< 99th percentile (nearest rank) */
    double max_s;        /**< largest */
} sushi_profile_entry;

/** Initialiser of a sushi_profile_entry: sets size. @since 0.3 */
#define SUSHI_PROFILE_ENTRY_INIT { .size = sizeof(sushi_profile_entry) }

/** Entry i (entries are sorted by candidate index). @return SUSHI_OK,
 * SUSHI_ERR_INVALID, SUSHI_ERR_ABI, SUSHI_ERR_RANGE. Thread-safe. @since 0.3 */
SUSHI_API int sushi_profile_entry_get(const sushi_profile *p, size_t i, sushi_profile_entry *out);

/**
 * Latency quantile `q` of candidate `candidate` (candidate-table index):
 * q = 0.5, 0.9, 0.99 or 1.0 (max) are stored; other q in [0.5, 1] are
 * interpolated linearly in q between the stored ones (documented as an
 * estimate). @return SUSHI_OK, SUSHI_ERR_INVALID (NULL, NaN),
 * SUSHI_ERR_RANGE (q outside [0.5, 1]), SUSHI_ERR_NOT_FOUND (candidate not
 * profiled). Thread-safe. @since 0.3
 */
SUSHI_API int sushi_profile_quantile(const sushi_profile *p, int32_t candidate, double q,
                                     double *seconds_out);

/**
 * Check that p was measured on `b`'s SuperNet (content hash) and backend
 * (name, int8 capability when p->int8). A mismatch is logged to b's context
 * with both identities. @return SUSHI_OK, SUSHI_ERR_INVALID (NULL, or p
 * belongs to another SuperNet or backend). Thread-safe. @since 0.3
 */
SUSHI_API int sushi_profile_check(const sushi_profile *p, const sushi_backend *b);

/**
 * Content hash of a SuperNet, the identity a profile records: SHA-256 over
 * a canonical byte stream of what determines execution (input channels,
 * classes, allowed resolutions, elastic choices, every unit's shape, every
 * tensor's name, shape and float32 weights, and the candidate configs), not
 * of its file bytes: a builtin and the same SuperNet saved and reloaded hash
 * alike, and rewriting accuracies, int8 ranges, BN statistics or the name
 * (sushi eval, sushi calibrate) keeps the hash. docs/profile.md lists the
 * stream. @param sn the SuperNet; only read.
 * @param hex_out receives 64 lowercase hex digits and a NUL
 * (SUSHI_PROFILE_HASH_HEX bytes). @return SUSHI_OK, SUSHI_ERR_INVALID.
 * Thread-safe. @since 0.3
 */
SUSHI_API int sushi_profile_supernet_hash(const sushi_supernet *sn, char hex_out[SUSHI_PROFILE_HASH_HEX]);

#ifdef __cplusplus
}
#endif
#endif
