/**
 * @file supernet.h
 * @brief sushi_supernet: an architecture space plus its largest weights.
 *
 * A SuperNet is loaded from a `.sushi` file (docs/format.md), from memory, or
 * built from one of the built-in families. It is immutable after load and
 * may be shared by any number of threads; every function here is thread-safe
 * unless it says otherwise. It keeps its context alive.
 */
#ifndef SUSHI_SUPERNET_H
#define SUSHI_SUPERNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/context.h"
#include "sushi/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque SuperNet. @since 0.1 */
typedef struct sushi_supernet sushi_supernet;

/** Load flags. @since 0.1 */
enum sushi_load_flags {
    /** load_memory only: borrow the caller's buffer instead of copying it.
     * The buffer must stay valid and unchanged until the SuperNet and every
     * object made from it are destroyed. */
    SUSHI_LOAD_BORROW = 1u << 0,
    /** Skip the weights checksum (default: verified when present). */
    SUSHI_LOAD_NO_VERIFY = 1u << 1,
    /** Refuse float32 weights (including the BN vectors of the weights table)
     * that are NaN or infinite: SUSHI_ERR_FORMAT, with the tensor's name and
     * the first bad element in errbuf. One pass over the weights after the
     * checksum; seed-mode weights are generated finite and not scanned.
     * Default off (see docs/decisions.md): without it such values load and
     * may propagate to the outputs. Per-SubNet `bn_stats` and `act_ranges`
     * are always checked. A library older than 0.2 refuses this flag
     * (SUSHI_ERR_INVALID, unknown flag) rather than ignoring it.
     * @since 0.2 */
    SUSHI_LOAD_CHECK_FINITE = 1u << 2
};

/** Options for loading. Fill from SUSHI_LOAD_OPTIONS_INIT. @since 0.1 */
typedef struct sushi_load_options {
    size_t size;        /**< sizeof(sushi_load_options) */
    uint32_t flags;     /**< sushi_load_flags */
    char *errbuf;       /**< optional: receives a NUL-terminated message naming the field path or byte offset on failure */
    size_t errbuf_size; /**< bytes available at errbuf */
} sushi_load_options;

/** Initialiser of sushi_load_options: no flags, no error buffer. @since 0.1 */
#define SUSHI_LOAD_OPTIONS_INIT { sizeof(sushi_load_options), 0u, NULL, 0 }

/**
 * Load a SuperNet file. The file is mapped read-only; weights are used in place
 * where their encoding allows and decoded once otherwise.
 * @param ctx the context (kept alive by the SuperNet).
 * @param path file to load (the mapping lives as long as the SuperNet).
 * @param opts NULL for defaults.
 * @param out receives the SuperNet, NULL on failure (nothing is leaked).
 * @return SUSHI_OK; SUSHI_ERR_IO (cannot open/map), SUSHI_ERR_FORMAT,
 *         SUSHI_ERR_VERSION, SUSHI_ERR_OVERFLOW, SUSHI_ERR_INTEGRITY,
 *         SUSHI_ERR_NOMEM, SUSHI_ERR_INVALID, SUSHI_ERR_ABI.
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_load_file(sushi_context *ctx, const char *path,
                                       const sushi_load_options *opts, sushi_supernet **out);

/**
 * Load a SuperNet from memory. Without SUSHI_LOAD_BORROW the buffer is copied
 * once and may be freed when this returns. Same statuses as load_file.
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_load_memory(sushi_context *ctx, const void *data, size_t size,
                                         const sushi_load_options *opts, sushi_supernet **out);

/**
 * Build a built-in SuperNet: "ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-resnet50".
 * Their weights are deterministic synthetic values from `seed` (0 = the
 * family's default seed), labelled synthetic. Their candidate tables carry
 * proxy accuracies (docs/format.md). @return SUSHI_OK, SUSHI_ERR_NOT_FOUND,
 * SUSHI_ERR_NOMEM, SUSHI_ERR_INVALID. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_builtin(sushi_context *ctx, const char *name, uint64_t seed,
                                     sushi_supernet **out);

/** Name of the i-th built-in family, NULL past the end. Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_supernet_builtin_name(size_t i);

/** How weights are written by the savers. @since 0.1 */
typedef enum sushi_weights_mode {
    SUSHI_WEIGHTS_AUTO = 0, /**< seed when every weight was generated from the seed (built-ins, seed-mode files), float32 otherwise (since 0.3 also for synthetic SuperNets with stored float32 weights) */
    SUSHI_WEIGHTS_SEED = 1, /**< store only the generator seed (synthetic SuperNets whose weights the seed generates; else SUSHI_ERR_INVALID) */
    SUSHI_WEIGHTS_F32 = 2   /**< store every tensor as float32 */
} sushi_weights_mode;

/** Options for saving. @since 0.1 */
typedef struct sushi_save_options {
    size_t size;       /**< sizeof(sushi_save_options) */
    int weights;       /**< sushi_weights_mode */
} sushi_save_options;

/** Initialiser of sushi_save_options: SUSHI_WEIGHTS_AUTO. @since 0.1 */
#define SUSHI_SAVE_OPTIONS_INIT { sizeof(sushi_save_options), SUSHI_WEIGHTS_AUTO }

/**
 * Write the SuperNet to a file (format v1; candidates, BN statistics and
 * provenance included). The file is replaced atomically (since 0.3): the bytes
 * go to a temporary `PATH.tmp.PID.N` in the same directory, which is fsynced
 * and renamed over PATH, then the directory is fsynced; on any failure the
 * temporary is removed and an existing PATH is left untouched. An existing
 * file's permission bits are kept (a new file gets 0666 minus the umask); a
 * symlink is followed (its target is replaced); a device or FIFO is written
 * in place. Details: docs/reliability.md, "Writing files".
 * @return SUSHI_OK, SUSHI_ERR_IO (errno then holds the cause, e.g. ENOSPC; the
 * message goes to the context log), SUSHI_ERR_NOMEM,
 * SUSHI_ERR_INVALID (SEED asked for a non-synthetic SuperNet). Thread-safe.
 * @since 0.1
 */
SUSHI_API int sushi_supernet_save_file(const sushi_supernet *sn, const char *path,
                                       const sushi_save_options *opts);

/**
 * Write the SuperNet to a new buffer allocated with the context's allocator;
 * release it with sushi_supernet_free_buffer(). Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_save_memory(const sushi_supernet *sn, const sushi_save_options *opts,
                                         void **data_out, size_t *size_out);

/** Free a buffer returned by sushi_supernet_save_memory(). NULL is a no-op. Thread-safe. @since 0.1 */
SUSHI_API void sushi_supernet_free_buffer(const sushi_supernet *sn, void *data);

/** Release a SuperNet. NULL is a no-op. SubNets made from it keep it alive. Not thread-safe with other calls on sn. @since 0.1 */
SUSHI_API void sushi_supernet_destroy(sushi_supernet *sn);

/** Summary of a SuperNet. Strings live as long as the SuperNet. @since 0.1 */
typedef struct sushi_supernet_info {
    size_t size;              /**< sizeof(sushi_supernet_info) */
    const char *name;         /**< e.g. "ofa-resnet50" */
    const char *family;       /**< "mbv3", "resnet" or "custom" */
    bool synthetic;           /**< weights are synthetic (not trained) */
    const char *provenance;   /**< free text: where weights and accuracies come from */
    uint32_t in_channels;     /**< input image channels */
    uint32_t num_classes;     /**< classifier outputs (logits) */
    uint32_t default_resolution; /**< input resolution of the "min"/"max" shorthands without a resolution */
    uint32_t n_resolutions;   /**< see sushi_supernet_resolution() */
    uint32_t n_units;         /**< architectural units (see sushi_supernet_unit()) */
    uint32_t n_tensors;       /**< stored weight tensors */
    uint32_t n_candidates;    /**< candidate table rows */
    uint32_t n_ks;            /**< kernel-size slots in a config */
    uint32_t n_e;             /**< expand-ratio slots in a config */
    uint32_t n_d;             /**< depth groups in a config */
    uint32_t n_w;             /**< width groups in a config */
    uint64_t weight_elems;    /**< elements of all stored conv/linear weights */
} sushi_supernet_info;

/** Initialiser of a sushi_supernet_info: sets size. @since 0.1 */
#define SUSHI_SUPERNET_INFO_INIT { .size = sizeof(sushi_supernet_info) }

/** Fill `info`. @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.1 */
SUSHI_API int sushi_supernet_get_info(const sushi_supernet *sn, sushi_supernet_info *info);

/** i-th allowed input resolution, 0 when out of range. Thread-safe. @since 0.1 */
SUSHI_API uint32_t sushi_supernet_resolution(const sushi_supernet *sn, size_t i);

/** Elastic dimension kinds. @since 0.1 */
typedef enum sushi_elastic_kind {
    SUSHI_ELASTIC_KS = 0, /**< depthwise kernel size per block slot */
    SUSHI_ELASTIC_E = 1,  /**< expand ratio per block slot */
    SUSHI_ELASTIC_D = 2,  /**< depth per depth group */
    SUSHI_ELASTIC_W = 3   /**< width index per width group */
} sushi_elastic_kind;

/**
 * Choices of one elastic slot, ascending. Writes up to `cap` values to `out`
 * and returns the number of choices (negative status on bad arguments).
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_choices(const sushi_supernet *sn, int kind, size_t slot,
                                     double *out, size_t cap);

/** Architectural unit summary. @since 0.1 */
typedef struct sushi_unit_info {
    size_t size;        /**< sizeof(sushi_unit_info): set by SUSHI_UNIT_INFO_INIT */
    const char *name;   /**< tensor-name prefix, e.g. "blocks.3" */
    const char *kind;   /**< "conv", "mbconv", "bottleneck", "maxpool", "gap", "linear" */
    uint32_t in_max;    /**< largest input channel count */
    uint32_t out_max;   /**< largest output channel count */
    uint32_t stride;    /**< spatial stride of the unit */
} sushi_unit_info;

/** Initialiser of a sushi_unit_info: sets size. @since 0.1 */
#define SUSHI_UNIT_INFO_INIT { .size = sizeof(sushi_unit_info) }

/** Describe unit i. @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID. Thread-safe. @since 0.1 */
SUSHI_API int sushi_supernet_unit(const sushi_supernet *sn, size_t i, sushi_unit_info *info);

/**
 * Copy `sn` with measured accuracies in its candidate table: candidate i gets
 * accuracy acc[i] (a fraction in [0, 1]; NaN = leave that entry unchanged),
 * accuracy_source "measured", and the given dataset (e.g. "fashion-mnist/test")
 * and metric (e.g. "top1"); `source` says how they were measured (e.g.
 * "sushi eval, backend cpu, float32"). One sentence with the date (UTC),
 * dataset, metric and source is appended to the provenance text. n must be
 * the number of candidates. The copy is made through save_memory +
 * load_memory in sn's context.
 * @param sn the SuperNet (not modified).
 * @param acc n accuracies, fractions in [0, 1] or NaN.
 * @param n number of candidates of sn.
 * @param dataset,metric,source non-empty valid UTF-8 text (< 1024 bytes each).
 * @param out receives the copy, NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL
 * arguments, wrong n, empty strings, a string that is not valid UTF-8: since
 * 0.3, before which the copy was made and its file then failed to load), SUSHI_ERR_RANGE (accuracy outside
 * [0, 1]), SUSHI_ERR_NOMEM, or a status of the save/load. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_supernet_with_accuracies(const sushi_supernet *sn, const double *acc, size_t n,
                                             const char *dataset, const char *metric,
                                             const char *source, sushi_supernet **out);

/**
 * A new SuperNet, a copy of sn whose candidate table carries int8
 * calibration ranges (file key `int8_ranges`, docs/format.md §7.4), so that a
 * deployed file needs no calibration data: the cpu backend's int8 path and
 * the hls backend use the stored ranges of a SubNet made from a candidate's
 * config when no ranges were set on the instance (docs/int8.md §7). Entry i
 * replaces candidate i's ranges; ranges[i] == NULL keeps what it had. One
 * sentence with the date (UTC), the number of candidates and `source` (how
 * the ranges were obtained, e.g. "sushi calibrate, 2000 fashion-mnist/train
 * images") is appended to the provenance text. The copy is made through
 * save_memory + load_memory in sn's context.
 * @param sn the SuperNet (not modified).
 * @param ranges n pointers: candidate i's ranges array (the layout of
 *        sushi_cpu_calibrate_int8(): per plan value then per layer, a (min,
 *        max) pair) or NULL. Read during the call only.
 * @param n_ranges n lengths: n_ranges[i] must be 2 * (values + layers) of
 *        candidate i's SubNet (sushi_cpu_int8_ranges_len()); ignored where
 *        ranges[i] is NULL.
 * @param n number of candidates of sn.
 * @param source non-empty valid UTF-8 text (< 1024 bytes).
 * @param out receives the copy, NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL arguments, wrong n or length,
 *         empty source or not valid UTF-8 (since 0.3); the log names the
 *         candidate), SUSHI_ERR_RANGE (a pair not finite or min > max: the
 *         check of sushi_cpu_set_int8_ranges and sushi_hls_set_int8_ranges;
 *         the log names the pair), SUSHI_ERR_NOMEM, or a status of the
 *         save/load. Thread-safe. @since 0.2
 */
SUSHI_API int sushi_supernet_with_int8_ranges(const sushi_supernet *sn, const float *const *ranges,
                                              const size_t *n_ranges, size_t n, const char *source,
                                              sushi_supernet **out);

/**
 * A new SuperNet, a copy of sn whose candidate table carries per-SubNet BN
 * statistics (file key `bn_stats`, docs/format.md §7.2), e.g. recalibrated
 * on a dataset (OFA's set_running_statistics; sushi_cpu_recalibrate_bn_stats()).
 * A SubNet made from a candidate's config then normalises with these
 * statistics instead of the SuperNet's own running mean/variance slices.
 * Entry i replaces candidate i's statistics; stats[i] == NULL keeps what it
 * had. One sentence with the date (UTC), the number of candidates and
 * `source` (how the statistics were obtained, e.g. "sushi recalibrate, 2000
 * my-data/train images, batch 200") is appended to the provenance text.
 * Accuracies already in the table are kept: they were measured with the old
 * statistics, so measure again (`sushi eval`) after recalibrating.
 * The copy is made through save_memory + load_memory in sn's context.
 * @param sn the SuperNet (not modified).
 * @param stats n pointers: candidate i's statistics (for each BN layer of its
 *        plan, in plan order, the active channels' means then variances) or
 *        NULL. Read during the call only.
 * @param n_stats n lengths: n_stats[i] must be the candidate SubNet's
 *        2 * Σ channels (sushi_cpu_bn_stats_len()); ignored where stats[i] is NULL.
 * @param n number of candidates of sn.
 * @param source non-empty text (< 1024 bytes).
 * @param out receives the copy, NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL arguments, wrong n or length,
 *         empty source; the log names the candidate), SUSHI_ERR_RANGE (a value
 *         not finite or a negative variance; the log names candidate, layer and
 *         channel), SUSHI_ERR_NOMEM, or a status of the save/load.
 *         Thread-safe. @since 0.3
 */
SUSHI_API int sushi_supernet_with_bn_stats(const sushi_supernet *sn, const float *const *stats,
                                           const size_t *n_stats, size_t n, const char *source,
                                           sushi_supernet **out);

struct sushi_config; /* sushi/subnet.h */

/**
 * A new SuperNet, a copy of sn with a new candidate table (docs/format.md §7):
 * the SubNets `configs` in that order. A config that is already a candidate of
 * sn keeps its entry (accuracy, BN statistics, int8 ranges: they belong to
 * that SubNet); a new one gets MACs, params and weight bytes from its plan,
 * no accuracy (`accuracy_source` "none") and the SuperNet's own BN
 * statistics, so measure it (`sushi recalibrate`, `sushi eval`) before
 * serving. One sentence with the date (UTC), `source` and the counts is
 * appended to the provenance text.
 * @param sn the SuperNet (not modified).
 * @param configs n configs (each from SUSHI_CONFIG_INIT), valid for sn and
 *        pairwise different. Read during the call only.
 * @param n number of candidates (0 gives an empty table; at most 1,000,000).
 * @param source non-empty text (< 1024 bytes), e.g. "sushi candidates --uniform".
 * @param out receives the copy, NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL arguments, a duplicate config;
 *         the log names the configs), SUSHI_ERR_CONFIG (a config not valid
 *         for sn; the log names it and why), SUSHI_ERR_NOMEM, or a status of
 *         the save/load. Thread-safe. @since 0.3
 */
SUSHI_API int sushi_supernet_with_candidates(const sushi_supernet *sn, const struct sushi_config *configs, size_t n,
                                             const char *source, sushi_supernet **out);

#ifdef __cplusplus
}
#endif
#endif
