/*
 * Internal data model of libsushi. Not installed; reachable by tests through
 * the uninstalled static library (libsushi_internal).
 */
#ifndef SUSHI_INTERNAL_H
#define SUSHI_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sushi/sushi.h"

#define SUSHI_NAME_MAX 96
#define SUSHI_MAX_CHOICES 8

/* ---------- reference counting ---------- */
typedef struct sushi_ref {
    atomic_int count;
} sushi_ref;

static inline void sushi_ref_init(sushi_ref *r) { atomic_init(&r->count, 1); }
static inline void sushi_ref_get(sushi_ref *r) { atomic_fetch_add(&r->count, 1); }
/* true when this was the last reference */
static inline bool sushi_ref_put(sushi_ref *r) { return atomic_fetch_sub(&r->count, 1) == 1; }

/* ---------- context ---------- */
typedef struct sushi_backend_entry {
    char name[32];
    sushi_backend_ops ops;
    char *description;
    void *user;
} sushi_backend_entry;

typedef struct sushi_policy_entry {
    char name[32];
    sushi_policy_ops ops;
    char *description;
    void *user;
} sushi_policy_entry;

struct sushi_context {
    sushi_ref ref;
    sushi_allocator alloc;
    sushi_log_fn log_fn;
    void *log_user;
    int log_level;
    atomic_bool in_use; /* set once a SuperNet was made: configuration closes */
    size_t n_backends, cap_backends;
    sushi_backend_entry *backends;
    size_t n_policies, cap_policies;
    sushi_policy_entry *policies;
};

void *sushi_malloc(const sushi_context *ctx, size_t n);
void *sushi_calloc(const sushi_context *ctx, size_t count, size_t n); /* overflow-checked */
void *sushi_realloc(const sushi_context *ctx, void *p, size_t n);
void sushi_free(const sushi_context *ctx, void *p);
char *sushi_strdup(const sushi_context *ctx, const char *s);
void sushi_log(const sushi_context *ctx, int level, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void sushi_context_retain(sushi_context *ctx);
void sushi_context_mark_in_use(sushi_context *ctx);
const sushi_backend_entry *sushi_find_backend(const sushi_context *ctx, const char *name);
const sushi_policy_entry *sushi_find_policy(const sushi_context *ctx, const char *name);
/* registers the built-in backends/policies; called by sushi_context_create */
int sushi_register_builtins(sushi_context *ctx);
bool sushi_valid_registry_name(const char *name);
/* tiles of s as sushi_backend_tile_savings() counts them (registry.c) */
size_t sushi_subnet_tile_count(const sushi_subnet *s);

/* error buffer helper: snprintf into buf if non-NULL */
void sushi_errf(char *buf, size_t size, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* overflow-checked arithmetic */
static inline bool sushi_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_mul_overflow(a, b, r);
}
static inline bool sushi_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_add_overflow(a, b, r);
}

/* Reallocations of the optimising policies' workspaces (lib/policy_sushi.c)
 * so far in this process, for tests: after a policy's first update with a
 * candidate set, updates whose windows are drawn from it grow nothing. */
size_t sushi_policy_ws_grows(void);

/* The server's blocking-aware cap (lib/server.c, docs/server.md): the longest
 * service whose expected number of SLO misses among later arrivals stays at
 * most eps, from k SLOs seen over span seconds (slo is overwritten); 0 = no
 * cap below limit. */
double sushi_block_cap(double *slo, uint32_t k, double span, double fast, double eps, double limit);

/* qsort comparator of doubles, ascending (the sort before sushi_nearest_rank) */
static inline int sushi_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of v[0..n) sorted ascending by the nearest-rank rule
 * (v[ceil(p n) - 1], clamped to [0, n)); NaN when n = 0. The one
 * definition of "p50 / p90 / p99" in profiles, scheduler and server
 * statistics, and of the scheduler's tail factor. */
static inline double sushi_nearest_rank(const double *v, uint32_t n, double p)
{
    if (n == 0)
        return NAN;
    double r = ceil(p * n);
    uint32_t k = r < 1.0 ? 0 : (uint32_t)r - 1;
    return v[k < n ? k : n - 1];
}

/* ---------- architecture IR ---------- */
typedef enum sushi_unit_kind {
    SUSHI_UNIT_CONV = 0,       /* conv k x k (+bias) (+BN) (+act) (+identity residual) */
    SUSHI_UNIT_MBCONV = 1,     /* OFA inverted residual block (MBConvLayer) */
    SUSHI_UNIT_BOTTLENECK = 2, /* OFA ResNet bottleneck block */
    SUSHI_UNIT_MAXPOOL = 3,
    SUSHI_UNIT_GAP = 4,
    SUSHI_UNIT_LINEAR = 5,
    SUSHI_UNIT_KIND_COUNT
} sushi_unit_kind;

extern const char *const sushi_unit_kind_names[SUSHI_UNIT_KIND_COUNT];

typedef enum sushi_dgroup_mode {
    SUSHI_DEPTH_PREFIX = 0,     /* first (base + d) member units are active */
    SUSHI_DEPTH_ALL_IF_MAX = 1  /* all members active iff d == max choice (OFA ResNet stem skipping) */
} sushi_dgroup_mode;

typedef struct sushi_dgroup {
    uint32_t n_choices;
    uint8_t choices[SUSHI_MAX_CHOICES]; /* ascending */
    uint32_t base;
    uint32_t mode;
    uint32_t n_members;
} sushi_dgroup;

typedef struct sushi_wgroup {
    uint32_t n_choices;
    uint32_t channels[SUSHI_MAX_CHOICES]; /* out channels per width index, ascending */
} sushi_wgroup;

/* BN layer: tensor indices of its four vectors, -1 when absent */
typedef struct sushi_bn_ref {
    int32_t gamma, beta, mean, var;
    float eps;
} sushi_bn_ref;

/* One convolution-like sub-layer inside a unit. */
typedef struct sushi_conv_ref {
    int32_t w;          /* weight tensor, -1 when absent */
    int32_t b;          /* bias tensor, -1 when absent */
    bool has_bn;
    sushi_bn_ref bn;
} sushi_conv_ref;

/* Sub-layer slots of each unit kind */
enum {
    /* CONV: */ SUSHI_SUB_CONV = 0,
    /* MBCONV: */ SUSHI_SUB_EXPAND = 0, SUSHI_SUB_DW = 1, SUSHI_SUB_SE_REDUCE = 2, SUSHI_SUB_SE_EXPAND = 3,
    SUSHI_SUB_PROJECT = 4,
    /* BOTTLENECK: */ SUSHI_SUB_CONV1 = 0, SUSHI_SUB_CONV2 = 1, SUSHI_SUB_CONV3 = 2, SUSHI_SUB_DOWN = 3,
    /* LINEAR: */ SUSHI_SUB_LINEAR = 0,
    SUSHI_SUB_MAX = 5
};

typedef struct sushi_unit {
    uint32_t kind;
    char name[SUSHI_NAME_MAX]; /* tensor-name prefix */
    uint32_t in_max;           /* max input channels */
    uint32_t out_max;          /* max output channels */
    int32_t out_wgroup;        /* -1: out = out_max; else width group giving out channels */
    uint32_t kernel;           /* CONV / pool kernel; MBCONV: fixed dw kernel when ks_slot < 0 */
    uint32_t stride;
    uint32_t pad;              /* pools: explicit; convs use kernel/2 */
    uint32_t act;              /* sushi_act of the unit's main activation */
    bool bias, bn, se, residual;
    int32_t ks_slot;           /* MBCONV: config slot for the kernel, -1 fixed */
    int32_t e_slot;            /* MBCONV/BOTTLENECK: config slot for the expand ratio, -1 fixed */
    float e_fixed;             /* expand ratio when e_slot < 0 */
    uint32_t mid_max;          /* max hidden channels (MBCONV, BOTTLENECK) */
    uint32_t mid_round;        /* hidden-width rule (format §4.3): SUSHI_MID_OFA, _FLOOR, _CEIL */
    uint32_t mid_divisor;      /* its divisor; 0 means 8 (OFA's) */
    uint32_t se_mid_max;       /* max SE hidden channels */
    int32_t dgroup;            /* depth group, -1 none */
    uint32_t dindex;           /* position within the depth group */
    /* tensors; for MBCONV the DW slot holds the largest kernel, dw_k[] every kernel */
    sushi_conv_ref sub[SUSHI_SUB_MAX];
    uint32_t n_dw;
    uint32_t dw_kernel[SUSHI_MAX_CHOICES];
    int32_t dw_tensor[SUSHI_MAX_CHOICES];
} sushi_unit;

/* ---------- tensors ---------- */
typedef enum sushi_tensor_role {
    SUSHI_ROLE_WEIGHT = 0, /* conv / linear weight: [out][in][k][k] (linear: [out][in]) */
    SUSHI_ROLE_BIAS = 1,
    SUSHI_ROLE_BN_GAMMA = 2,
    SUSHI_ROLE_BN_BETA = 3,
    SUSHI_ROLE_BN_MEAN = 4,
    SUSHI_ROLE_BN_VAR = 5
} sushi_tensor_role;

typedef struct sushi_tensor {
    char name[SUSHI_NAME_MAX + 48];
    uint32_t role;
    uint32_t ndim;
    uint32_t shape[4];
    uint64_t nelem;
    const float *data;     /* float32 values (borrowed from the file or owned) */
    float *owned;          /* non-NULL when the supernet owns `data` */
    int32_t wslot;         /* index among weight tensors (SubGraph slot), -1 otherwise */
    uint32_t kk;           /* kernel area (1 for linear), weight tensors only */
    bool depthwise;        /* weight of a depthwise conv ([C][1][k][k]) */
} sushi_tensor;

/* ---------- candidate table ---------- */
typedef struct sushi_candidate {
    sushi_config config;
    double accuracy;          /* NaN when unmeasured */
    char accuracy_source[16]; /* "measured" | "proxy" | "none" */
    char *dataset;            /* owned */
    char *metric;             /* owned */
    uint64_t macs, params, weight_bytes;
    /* per-SubNet BN statistics: for each BN layer active in the plan, in plan
     * order, `c` means followed by `c` variances. NULL = use SuperNet default. */
    const float *bn_stats;
    float *bn_owned;
    uint64_t n_bn_stats;
    /* optional per-SubNet activation ranges for int8 (min,max per plan value) */
    float *act_ranges;
    uint64_t n_act_ranges;
    /* optional int8 calibration: the ranges array of docs/int8.md §7,
     * 2 * (n_values + n_layers) floats (format §7.4) */
    float *int8_ranges;
    uint64_t n_int8_ranges;
} sushi_candidate;

/* ---------- SuperNet ---------- */
struct sushi_supernet {
    sushi_ref ref;
    sushi_context *ctx;
    char *name;
    char *family;
    char *provenance;
    bool synthetic;
    bool seed_weights;          /* every tensor was made by sushi_supernet_generate_weights(seed):
                                   only then can a "seed" file reproduce the weights */
    uint64_t seed;              /* synthetic weights generator seed */
    uint32_t in_channels;
    uint32_t num_classes;
    float in_mean[4], in_std[4];
    uint32_t default_resolution;
    uint32_t n_res;
    uint32_t *res;              /* allowed resolutions, ascending */
    /* elastic space */
    uint32_t n_ks_choices;
    uint8_t ks_choices[SUSHI_MAX_CHOICES];
    uint32_t n_e_choices;
    float e_choices[SUSHI_MAX_CHOICES];
    uint32_t n_ks_slots, n_e_slots;
    uint32_t n_dgroups;
    sushi_dgroup dgroups[SUSHI_CONFIG_MAX_GROUPS];
    uint32_t n_wgroups;
    sushi_wgroup wgroups[SUSHI_CONFIG_MAX_GROUPS];
    /* architecture */
    uint32_t n_units;
    sushi_unit *units;
    /* tensors, in network order */
    uint32_t n_tensors;
    sushi_tensor *tensors;
    uint32_t n_wt;              /* weight tensors = SubGraph slots */
    uint32_t *wt;               /* tensor index of each weight slot */
    uint64_t weight_elems;
    /* candidates */
    uint32_t n_cand;
    sushi_candidate *cands;
    /* backing storage of borrowed tensor data */
    void *map;                  /* mmap'd file, or NULL */
    size_t map_size;
    void *buf_owned;            /* copied memory buffer, or NULL */
};

/* Build helpers used by the zoo and the file reader. */
int sushi_supernet_alloc(sushi_context *ctx, sushi_supernet **out);
/* Creates the tensor table from units (names, shapes, roles) without data. */
int sushi_supernet_build_tensors(sushi_supernet *sn, char *err, size_t errsz);
/* Validates the IR (shapes, slots, groups). */
int sushi_supernet_validate_arch(const sushi_supernet *sn, char *err, size_t errsz);
/* Fills every tensor without data with deterministic synthetic values from sn->seed. */
int sushi_supernet_generate_weights(sushi_supernet *sn);
/* Find tensor by name, -1 if absent. */
int32_t sushi_supernet_find_tensor(const sushi_supernet *sn, const char *name);
void sushi_supernet_free_storage(sushi_supernet *sn);
/* r is one of sn's allowed input resolutions (lib/config.c). */
bool sushi_resolution_allowed(const sushi_supernet *sn, uint32_t r);

bool sushi_unit_has_expand(const sushi_unit *u);

/* Hidden-width rules of a unit (docs/format.md §4.3 "Hidden width"). */
enum { SUSHI_MID_OFA = 0, SUSHI_MID_FLOOR = 1, SUSHI_MID_CEIL = 2, SUSHI_MID_RULE_COUNT = 3 };
extern const char *const sushi_mid_round_names[SUSHI_MID_RULE_COUNT];
/* The unit's rule applied to v (an integer-valued channel count, e.g.
 * round(in * e) or mid / 4): OFA make_divisible / floor / ceil to a multiple
 * of the divisor, never below the divisor. */
uint32_t sushi_unit_round_mid(const sushi_unit *u, double v);
/* Text of the rule for error messages, e.g. "make_divisible(v, 8)". */
void sushi_unit_mid_rule_text(const sushi_unit *u, char *buf, size_t n);

/* OFA's make_divisible(v, 8, min_value=8) */
uint32_t sushi_make_divisible(double v, uint32_t divisor);

/* Built-in families */
/* Proxy top-1 (in [0,1]) of a built-in family for a MAC count; NaN when none. */
double sushi_zoo_proxy_accuracy(const char *family, uint64_t macs);
int sushi_zoo_build(sushi_context *ctx, const char *name, uint64_t seed, sushi_supernet **out);

/* ---------- resolved SubNet ---------- */
#define SUSHI_VALUE_NONE UINT32_MAX

typedef struct sushi_layer {
    uint32_t op;           /* sushi_op */
    uint32_t act;          /* sushi_act */
    uint32_t unit;         /* source unit */
    char name[SUSHI_NAME_MAX + 32];
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, out_h, out_w;
    uint32_t kernel, stride, pad;
    uint32_t input, input2, output; /* value ids */
    int32_t w, b;          /* weight / bias tensors (-1 none) */
    int32_t w2, b2;        /* SE expand weight / bias */
    uint32_t se_mid;       /* SE hidden channels */
    int32_t bn;            /* index of this layer's BN in the SubNet (-1 none) */
    const float *bn_scale; /* out_c per-channel scale = gamma / sqrt(var + eps) */
    const float *bn_shift; /* out_c per-channel shift = beta - mean * scale */
    uint64_t params, macs, weight_bytes;
} sushi_layer;

typedef struct sushi_value {
    uint32_t c, h, w;
    uint32_t producer;     /* layer index, UINT32_MAX for the input */
    uint32_t last_use;     /* last layer index reading it */
} sushi_value;

struct sushi_subnet {
    sushi_ref ref;
    sushi_supernet *sn;
    sushi_config cfg;
    int32_t candidate;
    uint32_t n_layers;
    sushi_layer *layers;
    uint32_t n_values;
    sushi_value *values;
    uint32_t output_value;
    uint32_t n_bn;
    float *bn_data;        /* owned scale/shift storage */
    /* per-weight-slot slice boxes (out, in): the SubNet's own SubGraph */
    uint32_t *box_out, *box_in;
    uint64_t params, macs, weight_bytes;
    bool bn_from_candidate;
};

/* Floats of a SubNet's int8 ranges array (docs/int8.md §7): a (min, max)
 * pair per plan value, then one per plan layer. */
static inline size_t sushi_int8_ranges_len(const sushi_subnet *s)
{
    return 2 * ((size_t)s->n_values + s->n_layers);
}

/* Index of the first (min, max) pair of r[0 .. 2 * pairs) that is not a
 * finite range with min <= max; `pairs` when every one is. */
size_t sushi_first_bad_range(const float *r, size_t pairs);
/* The one check of int8 (min, max) range arrays shared by
 * sushi_supernet_with_int8_ranges, sushi_cpu_set_int8_ranges and
 * sushi_hls_set_int8_ranges (issue 15 item 7): n even (else INVALID), every
 * pair finite with min <= max (else SUSHI_ERR_RANGE); logs "<what>: pair i
 * (min, max) ..." naming the first bad pair. */
int sushi_check_int8_ranges(const sushi_context *ctx, const char *what, const float *r, size_t n);
/* n bytes of s are UTF-8 as the format reader accepts it (RFC 3629: no
 * overlong forms, surrogates or code points > U+10FFFF) and hold no NUL. */
bool sushi_utf8_valid(const char *s, size_t n);

/* ---------- SubGraph ---------- */
struct sushi_subgraph {
    sushi_supernet *sn;
    uint32_t n;
    uint32_t *out_ch;
    uint32_t *in_ch;
};

/* ---------- backend / policy instances ---------- */
struct sushi_backend {
    sushi_ref ref;                    /* the creator's + one per scheduler using it */
    sushi_supernet *sn;
    const sushi_backend_entry *entry; /* lives in sn->ctx */
    void *state;
};

struct sushi_policy {
    sushi_ref ref;
    sushi_supernet *sn;
    const sushi_policy_entry *entry;
    void *state;
};

/* Built-in backend/policy tables (each backend dir provides one). */
const sushi_backend_ops *sushi_backend_null_ops(void);
const sushi_policy_ops *sushi_policy_test_first_ops(void);

/* ---------- scheduler entry points for sushi_server (lib/sched.c) ---------- */
/* sushi_sched_submit() with a cap on the service time the decision may plan
 * for (0 = none), set by the server so that the query does not starve the
 * ones waiting behind it (docs/server.md "Ordering and the queue-aware
 * budget"). The cap never drops a query or breaks its accuracy floor: it
 * never lowers the budget below the fastest candidate's prediction, and a
 * choice that meets the floor within the query's own budget but not within
 * the cap is taken uncapped. */
int sushi_sched_submit_capped(sushi_sched *s, const sushi_query *q, double cap_s, sushi_result *r);
/* The predicted service time of the fastest candidate now (load factor and
 * pending reload charge included). Same thread-safety as submit. */
double sushi_sched_fastest_predicted(const sushi_sched *s);

/* ---------- format (lib/format_*.c) ---------- */
int sushi_format_read(sushi_context *ctx, const uint8_t *data, size_t size, bool borrow,
                      uint32_t flags, sushi_supernet **out, char *err, size_t errsz);
/* Writes into a new buffer allocated with the context allocator. */
int sushi_format_write(const sushi_supernet *sn, int weights_mode, uint8_t **data, size_t *size);

#endif
