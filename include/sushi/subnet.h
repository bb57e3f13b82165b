/**
 * @file subnet.h
 * @brief SubNet configs and sushi_subnet, a resolved, immutable per-layer plan.
 *
 * A config makes one choice per elastic slot (OFA's arch dicts: the built-in
 * mbv3 SuperNets use ks[20], e[20], d[5], r; ofa-resnet50 uses d[5], e[18],
 * w[6], r). The sizes are the SuperNet's, not fixed: a custom SuperNet (another
 * file, docs/format.md) has its own numbers of slots and groups, read them from
 * sushi_config_extreme() (n_ks, n_e, n_d, n_w), up to SUSHI_CONFIG_MAX_SLOTS and
 * SUSHI_CONFIG_MAX_GROUPS. Its text form is
 * OFA's JSON arch dict, e.g. {"ks":[3,5,...],"e":[3,4,...],"d":[2,3,4,4,2],"r":224};
 * the shorthands "min", "max", "min@160", "max@224" name the smallest and
 * largest SubNets at a resolution.
 *
 * A sushi_subnet is immutable and may be shared by threads; it keeps its
 * SuperNet alive.
 */
#ifndef SUSHI_SUBNET_H
#define SUSHI_SUBNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/export.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Capacity of the per-slot arrays of a config. @since 0.1 */
#define SUSHI_CONFIG_MAX_SLOTS 64
/** Capacity of the per-group arrays (d, w) of a config. @since 0.1 */
#define SUSHI_CONFIG_MAX_GROUPS 16

/** A SubNet config: plain data, copyable. Fill from SUSHI_CONFIG_INIT. @since 0.1 */
typedef struct sushi_config {
    size_t size;          /**< sizeof(sushi_config) */
    uint32_t resolution;  /**< input height = width */
    uint32_t n_ks;        /**< used entries of ks */
    uint32_t n_e;         /**< used entries of e */
    uint32_t n_d;         /**< used entries of d */
    uint32_t n_w;         /**< used entries of w */
    uint8_t ks[SUSHI_CONFIG_MAX_SLOTS];  /**< depthwise kernel size per block slot */
    float e[SUSHI_CONFIG_MAX_SLOTS];     /**< expand ratio per block slot */
    uint8_t d[SUSHI_CONFIG_MAX_GROUPS];  /**< depth per depth group */
    uint8_t w[SUSHI_CONFIG_MAX_GROUPS];  /**< width-multiplier index per width group */
} sushi_config;

/** Initialiser of a sushi_config: sets size, empty arrays. @since 0.1 */
#define SUSHI_CONFIG_INIT { .size = sizeof(sushi_config) }

/**
 * Parse a config: OFA JSON arch dict ("r" may be a number or a one-element
 * list; "ks"/"e" may be a single number meaning every slot), or a shorthand
 * "min"/"max" optionally followed by "@RES". `resolution` (0 = keep) overrides
 * the resolution. Leading and trailing white space (space, tab, CR, LF, VT,
 * FF) is ignored in every form. A JSON key among "ks", "e", "d", "w", "r"
 * given twice is refused (SUSHI_ERR_CONFIG, "r: key given twice"); other keys
 * are ignored. The result is validated against the SuperNet.
 * @param sn the SuperNet the config is checked against.
 * @param text the config text (NUL-terminated).
 * @param resolution resolution override, 0 = keep.
 * @param cfg receives the config.
 * @param errbuf_size bytes available at errbuf.
 * @param errbuf optional message naming the offending key, e.g. "ks[3]: 4 is not a choice (3, 5, 7)".
 * @return SUSHI_OK, SUSHI_ERR_CONFIG, SUSHI_ERR_INVALID, SUSHI_ERR_NOMEM.
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_config_parse(const sushi_supernet *sn, const char *text, uint32_t resolution,
                                 sushi_config *cfg, char *errbuf, size_t errbuf_size);

/** The smallest (max = false) or largest config at `resolution` (0 = default).
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_CONFIG (resolution not allowed). Thread-safe. @since 0.1 */
SUSHI_API int sushi_config_extreme(const sushi_supernet *sn, bool max, uint32_t resolution,
                                   sushi_config *cfg);

/** Check a config against the SuperNet. @return SUSHI_OK or SUSHI_ERR_CONFIG
 * (message in errbuf). Thread-safe. @since 0.1 */
SUSHI_API int sushi_config_validate(const sushi_supernet *sn, const sushi_config *cfg,
                                    char *errbuf, size_t errbuf_size);

/**
 * Print a config as compact OFA JSON into buf (always NUL-terminated when
 * buf_size > 0). @return the length the full text needs (excluding NUL), or a
 * negative status. Output longer than buf_size-1 is truncated (snprintf rule).
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_config_print(const sushi_config *cfg, char *buf, size_t buf_size);

/** true when both configs make the same choices. Thread-safe. @since 0.1 */
SUSHI_API bool sushi_config_equal(const sushi_config *a, const sushi_config *b);

/** Opaque resolved SubNet. @since 0.1 */
typedef struct sushi_subnet sushi_subnet;

/**
 * Resolve a config into a per-layer plan. BN statistics come from the
 * candidate table when the config is a candidate, else from the SuperNet's
 * default statistics (the candidate's `bn_stats`, docs/format.md section 7.2;
 * there is no call that reports which: compare with sushi_supernet_find_candidate()).
 * @return SUSHI_OK, SUSHI_ERR_CONFIG, SUSHI_ERR_NOMEM, SUSHI_ERR_INVALID.
 * Thread-safe (the SuperNet is only read). @since 0.1
 */
SUSHI_API int sushi_subnet_create(const sushi_supernet *sn, const sushi_config *cfg,
                                  sushi_subnet **out);

/** Release a SubNet. NULL is a no-op. Not thread-safe with other calls on s. @since 0.1 */
SUSHI_API void sushi_subnet_destroy(sushi_subnet *s);

/** The SubNet's config (pointer lives as long as the SubNet). Thread-safe. @since 0.1 */
SUSHI_API const sushi_config *sushi_subnet_config(const sushi_subnet *s);

/** The SubNet's SuperNet (borrowed; lives as long as the SubNet). Thread-safe. @since 0.1 */
SUSHI_API const sushi_supernet *sushi_subnet_supernet(const sushi_subnet *s);

/** Cost summary of a SubNet. Counting rules follow OFA (docs/format.md):
 * params include BN affine parameters and biases; MACs count conv and linear
 * layers; weight_bytes counts conv/linear weights at one byte each (int8). @since 0.1 */
typedef struct sushi_subnet_stats {
    size_t size;          /**< sizeof(sushi_subnet_stats): set by SUSHI_SUBNET_STATS_INIT */
    uint64_t params;      /**< parameters (incl. BN affine and biases) */
    uint64_t macs;        /**< multiply-accumulates of conv and linear layers */
    uint64_t weight_bytes; /**< conv/linear weights at one byte each (int8) */
    uint32_t n_layers;    /**< layers in the plan (sushi_subnet_layer()) */
    int32_t candidate;    /**< index in the candidate table, -1 if none */
    double accuracy;      /**< candidate accuracy in [0, 1]; NaN when not a candidate or unmeasured */
} sushi_subnet_stats;

/** Initialiser of a sushi_subnet_stats: sets size. @since 0.1 */
#define SUSHI_SUBNET_STATS_INIT { .size = sizeof(sushi_subnet_stats) }

/** Fill `st`. @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.1 */
SUSHI_API int sushi_subnet_get_stats(const sushi_subnet *s, sushi_subnet_stats *st);

/** Layer operator kinds of a plan. Values pinned. @since 0.1 */
typedef enum sushi_op {
    SUSHI_OP_CONV = 0,    /**< dense k x k convolution (+ per-channel BN scale/shift) (+ act) */
    SUSHI_OP_DWCONV = 1,  /**< depthwise convolution (+ BN) (+ act) */
    SUSHI_OP_LINEAR = 2,  /**< fully connected (+ bias) */
    SUSHI_OP_MAXPOOL = 3,
    SUSHI_OP_AVGPOOL = 4, /**< k x k average pool, ceil mode, count only valid inputs */
    SUSHI_OP_GAP = 5,     /**< global average pool */
    SUSHI_OP_ADD = 6,     /**< residual add of two values (+ act) */
    SUSHI_OP_SE = 7       /**< squeeze-excite: gap, 1x1 reduce+bias, ReLU, 1x1 expand+bias, h-sigmoid, scale */
} sushi_op;

/** Activation functions. Values pinned. @since 0.1 */
typedef enum sushi_act {
    SUSHI_ACT_NONE = 0,
    SUSHI_ACT_RELU = 1,
    SUSHI_ACT_HSWISH = 2,
    SUSHI_ACT_HSIGMOID = 3
} sushi_act;

/** One layer of a plan. Strings live as long as the SubNet. @since 0.1 */
typedef struct sushi_layer_info {
    size_t size;          /**< sizeof(sushi_layer_info): set by SUSHI_LAYER_INFO_INIT */
    int op;               /**< sushi_op */
    int act;              /**< sushi_act applied after the op (and BN) */
    const char *name;     /**< e.g. "blocks.3.conv.depth_conv" */
    uint32_t in_c;        /**< input channels */
    uint32_t in_h;        /**< input height */
    uint32_t in_w;        /**< input width */
    uint32_t out_c;       /**< output channels */
    uint32_t out_h;       /**< output height */
    uint32_t out_w;       /**< output width */
    uint32_t kernel;      /**< window size (0 where it does not apply) */
    uint32_t stride;      /**< window stride (0 where it does not apply) */
    uint32_t pad;         /**< zero padding per side (0 where it does not apply) */
    uint32_t input;       /**< value id read */
    uint32_t input2;      /**< second value id read (ADD); else UINT32_MAX */
    uint32_t output;          /**< value id written (value 0 is the network input) */
    uint64_t params;      /**< this layer's parameters */
    uint64_t macs;        /**< this layer's multiply-accumulates */
    uint64_t weight_bytes; /**< this layer's int8 weight bytes */
} sushi_layer_info;

/** Initialiser of a sushi_layer_info: sets size. @since 0.1 */
#define SUSHI_LAYER_INFO_INIT { .size = sizeof(sushi_layer_info) }

/** Describe plan layer i. @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.1 */
SUSHI_API int sushi_subnet_layer(const sushi_subnet *s, size_t i, sushi_layer_info *info);

/** Candidate table row. Strings live as long as the SuperNet. @since 0.1 */
typedef struct sushi_candidate_info {
    size_t size;            /**< sizeof(sushi_candidate_info): set by SUSHI_CANDIDATE_INFO_INIT */
    sushi_config config;    /**< the candidate's config */
    double accuracy;        /**< in [0, 1]; NaN when unmeasured */
    const char *accuracy_source; /**< "measured", "proxy" or "none" */
    const char *dataset;    /**< e.g. "fashion-mnist/test" or "imagenet/val (proxy)" */
    const char *metric;     /**< e.g. "top1" */
    uint64_t macs;          /**< multiply-accumulates */
    uint64_t params;        /**< parameters */
    uint64_t weight_bytes;  /**< int8 weight bytes */
} sushi_candidate_info;

/** Initialiser of a sushi_candidate_info: sets size. @since 0.1 */
#define SUSHI_CANDIDATE_INFO_INIT { .size = sizeof(sushi_candidate_info) }

/** Candidate i. @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.1 */
SUSHI_API int sushi_supernet_candidate(const sushi_supernet *sn, size_t i, sushi_candidate_info *info);

/**
 * The int8 calibration ranges stored for candidate i (file key
 * `int8_ranges`; sushi_supernet_with_int8_ranges()), if any.
 * @param sn the SuperNet.
 * @param i candidate index.
 * @param ranges receives a pointer into sn (valid while sn lives; do not
 *        free), or NULL when candidate i stores none.
 * @param n receives the number of floats (0 when none).
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL argument), SUSHI_ERR_RANGE (i out
 *         of range). Thread-safe. @since 0.2
 */
SUSHI_API int sushi_supernet_candidate_int8_ranges(const sushi_supernet *sn, size_t i, const float **ranges,
                                                   size_t *n);

/** Index of the candidate with this config, or -1. Thread-safe. @since 0.1 */
SUSHI_API int sushi_supernet_find_candidate(const sushi_supernet *sn, const sushi_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
