/**
 * @file cycle.h
 * @brief The cycle backend: a cycle, traffic and energy model of SushiAccel
 *        (16 x 9 PEs of 3x3 int8 windows + a persistent SubGraph buffer).
 *
 * The model is a pure function of (parameters, layer shape, PB-resident
 * bytes): nothing here allocates except the topology file reader, nothing
 * keeps hidden state, and every function is thread-safe on distinct or
 * read-only arguments. docs/accelerator.md writes out every equation and the
 * source of every preset value; the `hls` backend moves exactly the off-chip
 * bytes this model predicts.
 *
 * The backend instance registered as "cycle" wraps one sushi_cycle_model
 * (reachable with sushi_cycle_backend_model()) and a resident SubGraph; its
 * keyed parameters are the names listed by sushi_cycle_param_name().
 *
 * Exported from libsushi.so when the cycle backend is built (meson option
 * `cycle`); every function carries SUSHI_API.
 */
#ifndef SUSHI_CYCLE_H
#define SUSHI_CYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/export.h"
#include "sushi/subgraph.h"
#include "sushi/subnet.h"


#ifdef __cplusplus
extern "C" {
#endif

/** Preset ids (the "preset" parameter). Values pinned. @since 0.1 */
typedef enum sushi_cycle_preset {
    SUSHI_CYCLE_PRESET_ZCU104 = 0, /**< ZCU104 (XCZU7EV), 100 MHz, PS DDR4; calibrated */
    SUSHI_CYCLE_PRESET_U50 = 1,    /**< Alveo U50, HBM2, ~28 MB on chip */
    /** zcu104 with the SGS co-design engine (@since 0.3): one call per SubNet
     * (subnet_call), on-chip activation residency (act_buf_kib, res_buf_kib),
     * stride-aware window steps (stride_input_bound = 0); PB 2,304 KiB so that
     * everything fits the XCZU7EV (docs/accelerator.md, section 11) */
    SUSHI_CYCLE_PRESET_ZCU104_SGS = 2,
    /** u50 with the same engine features (@since 0.3); not calibrated */
    SUSHI_CYCLE_PRESET_U50_SGS = 3,
    SUSHI_CYCLE_PRESET_COUNT
} sushi_cycle_preset;

/** Off-chip memory types (the "mem_type" parameter sets dram_pj_bit). @since 0.1 */
typedef enum sushi_cycle_mem {
    SUSHI_CYCLE_MEM_DDR4 = 0,
    SUSHI_CYCLE_MEM_LPDDR4 = 1,
    SUSHI_CYCLE_MEM_HBM2 = 2,
    SUSHI_CYCLE_MEM_COUNT
} sushi_cycle_mem;

/**
 * Model parameters. Plain data: copy freely. Every field is a keyed
 * parameter of the same name (see sushi_cycle_param_info() for ranges and
 * units); set fields through sushi_cycle_model_set() to get range checks.
 * @since 0.1
 */
typedef struct sushi_cycle_model {
    /* engine */
    double preset;             /**< preset last loaded (sushi_cycle_preset) */
    double freq_mhz;           /**< engine clock */
    double pe_k;               /**< PE columns = output channels per K tile (16) */
    double pe_c;               /**< PE rows = input channels per C tile (9) */
    double pixel_ii;           /**< effective cycles per window step of the pixel loop (>= 1) */
    double pass_fill_cycles;   /**< pipeline fill + drain per (K,C[,piece]) pass */
    double stride_input_bound; /**< 1: the window slides one input position per cycle, strided outputs are dropped; 0: stride-aware window generation, one step per kept output */
    double dw_mode;            /**< depthwise mapping: 0 block-diagonal, 1 one PE per column, 2 pieces on the column's rows */
    double call_overhead_us;   /**< host-side cost of one kernel call (start + completion) */
    /* memory system */
    double axi_read_ports;     /**< AXI read ports (6) */
    double axi_write_ports;    /**< AXI write ports (1) */
    double axi_port_bits;      /**< AXI data width per port (128) */
    double dram_gbs;           /**< peak off-chip bandwidth, GB/s */
    double axi_eff;            /**< achieved fraction of min(port rate, DRAM peak) for long bursts (activations, PB reloads) */
    double weight_eff;         /**< the same for the per-pass weight fetches (short bursts) */
    double weight_double_buffer; /**< 1: the next weight chunk (K tile) loads while the current one computes */
    double pb_bytes_per_cycle; /**< persistent-buffer read width into the weight registers */
    double pb_kib;             /**< persistent buffer (SubGraph) capacity, KiB */
    double wbuf_entries;       /**< dynamic weight buffer entries per half (2 halves) */
    double wbuf_entry_bytes;   /**< bytes per weight-buffer entry (one 3x3 filter = 9) */
    double ibuf_kib;           /**< input activation buffer, KiB */
    double obuf_kib;           /**< partial-sum buffer, KiB (int32 accumulators) */
    double quant_bytes;        /**< per-output-channel requantisation bytes (multiplier + bias), per SubNet */
    /* host (non-conv layers) */
    double host_gops;          /**< host effective int8 element operations, Gop/s */
    double host_gbs;           /**< host effective memory bandwidth for its operands, GB/s */
    double host_call_us;       /**< host overhead per host-side layer */
    /* energy */
    double mem_type;           /**< sushi_cycle_mem; setting it sets dram_pj_bit */
    double dram_pj_bit;        /**< off-chip access energy, pJ/bit */
    double sram_pj_byte;       /**< on-chip buffer access energy, pJ/byte */
    double mac_pj;             /**< int8 multiply + accumulate, pJ */
    double host_pj_op;         /**< host energy per element operation, pJ */
    /* engine co-design for SubGraph Stationary (@since 0.3; 0 in the zcu104 and u50 presets).
     * Appended in 0.3: the struct grew, so callers built against 0.1/0.2 headers must be rebuilt. */
    double subnet_call;        /**< 1: one kernel call per SubNet from a descriptor list (call_overhead_us once per query); pools, GAP, unfused ADD and SE squeeze/excite run on the engine's vector path */
    double act_buf_kib;        /**< each of the two ping-pong on-chip activation buffers, KiB (0: every activation goes through DRAM); needs subnet_call */
    double res_buf_kib;        /**< on-chip residual buffer, KiB: holds a value for one later consumer (a residual ADD) */
} sushi_cycle_model;

/** Description of one keyed parameter. Strings are static. @since 0.1 */
typedef struct sushi_cycle_param_desc {
    const char *name;      /**< parameter name (the key of sushi_cycle_model_set()) */
    const char *unit;      /**< unit, e.g. "MHz", "KiB" */
    const char *doc;       /**< one-line description */
    double min;            /**< smallest accepted value */
    double max;            /**< largest accepted value */
    bool integer;          /**< only whole values accepted */
} sushi_cycle_param_desc;

/** Name of parameter i (static string), NULL past the end. Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_cycle_param_name(size_t i);
/** Describe parameter `name`. @return SUSHI_OK, SUSHI_ERR_NOT_FOUND, SUSHI_ERR_INVALID. Strings in desc are static. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cycle_param_info(const char *name, sushi_cycle_param_desc *desc);
/** Name of preset id ("zcu104", "u50", "zcu104-sgs", "u50-sgs"), NULL when out of range. Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_cycle_preset_name(int id);
/** Preset id of `name`, or -1. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cycle_preset_find(const char *name);

/** Fill m with preset `preset`. @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID. Thread-safe on distinct m. @since 0.1 */
SUSHI_API int sushi_cycle_model_init(sushi_cycle_model *m, int preset);
/**
 * Set a parameter. "preset" reloads every parameter from that preset;
 * "mem_type" also sets dram_pj_bit from the energy table.
 * @return SUSHI_OK, SUSHI_ERR_NOT_FOUND (unknown key), SUSHI_ERR_RANGE (out of
 * range, NaN, or a fraction for an integer parameter), SUSHI_ERR_INVALID. Thread-safe on distinct m. @since 0.1
 */
SUSHI_API int sushi_cycle_model_set(sushi_cycle_model *m, const char *key, double value);
/** Get a parameter. @return SUSHI_OK, SUSHI_ERR_NOT_FOUND, SUSHI_ERR_INVALID. Thread-safe while nothing changes m. @since 0.1 */
SUSHI_API int sushi_cycle_model_get(const sushi_cycle_model *m, const char *key, double *value);
/** Off-chip energy per bit of a memory type (pJ), NaN when out of range. Thread-safe. @since 0.1 */
SUSHI_API double sushi_cycle_mem_pj_bit(int mem_type);
/** Persistent-buffer capacity in bytes. Thread-safe while nothing changes m. @since 0.1 */
SUSHI_API uint64_t sushi_cycle_pb_bytes(const sushi_cycle_model *m);

/** A bare layer for the engine. X pairs with R, pad_x, stride_x (FEATHER's
 * convention: X is the input height); Y with S, pad_y, stride_y. @since 0.1 */
typedef struct sushi_conv_shape {
    uint32_t op;         /**< SUSHI_OP_CONV, SUSHI_OP_DWCONV (K == C) or SUSHI_OP_LINEAR (R=S=X=Y=1) */
    uint32_t k;          /**< output channels */
    uint32_t c;          /**< input channels */
    uint32_t r;          /**< kernel extent along X */
    uint32_t s;          /**< kernel extent along Y */
    uint32_t x;          /**< input extent along X (height) */
    uint32_t y;          /**< input extent along Y (width) */
    uint32_t pad_x;      /**< zero padding on each side along X */
    uint32_t pad_y;      /**< zero padding on each side along Y */
    uint32_t stride_x;   /**< stride along X */
    uint32_t stride_y;   /**< stride along Y */
    uint64_t hit_bytes;  /**< bytes of this layer's weights resident in the PB (clamped to its weights) */
} sushi_conv_shape;

/** Where a layer runs. Values pinned. @since 0.1 */
typedef enum sushi_cycle_where {
    SUSHI_CYCLE_ENGINE = 0, /**< kernel call(s) on the accelerator */
    SUSHI_CYCLE_HOST = 1,   /**< on the host CPU */
    SUSHI_CYCLE_FUSED = 2,  /**< folded into the previous engine layer (residual add) */
    SUSHI_CYCLE_MIXED = 3   /**< engine + host parts (squeeze-excite) */
} sushi_cycle_where;

/** Cost of one layer. All byte counts are exact int8 bytes (docs/accelerator.md). @since 0.1 */
typedef struct sushi_layer_cost {
    uint32_t where;               /**< sushi_cycle_where */
    uint32_t calls;               /**< engine kernel calls */
    uint32_t out_x;               /**< output extent along X */
    uint32_t out_y;               /**< output extent along Y */
    uint64_t passes;              /**< engine passes (K tile x C tile x kernel piece [x pixel block]) */
    uint64_t pixel_steps;         /**< sum over passes of window steps (before pixel_ii) */
    uint64_t weight_chunks;       /**< weight-buffer loads (K tiles / depthwise channel groups) */
    uint64_t cycles_compute;      /**< ceil(pixel_ii x pixel_steps) + fill */
    uint64_t cycles_stream;       /**< activation streaming cycles (overlapped with compute) */
    uint64_t cycles_weights;      /**< weight (+ requant data) load cycles, DRAM and PB */
    uint64_t cycles;              /**< engine cycles of the layer */
    double latency_s;             /**< cycles / f + call overheads + host time */
    double host_s;                /**< host part of latency_s */
    uint64_t macs;                /**< useful MACs */
    double utilisation;           /**< macs / (issue slots of the array during cycles_compute) */
    uint64_t weight_bytes;        /**< all weights the layer uses */
    uint64_t hit_bytes;           /**< of which served from the PB */
    uint64_t weight_offchip_bytes;/**< weight_bytes - hit_bytes */
    uint64_t act_in_bytes;        /**< activations read off-chip (incl. re-reads, residual operand) */
    uint64_t act_out_bytes;       /**< activations written off-chip */
    uint64_t param_bytes;         /**< per-SubNet requantisation data read off-chip */
    uint64_t offchip_bytes;       /**< weight_offchip + act_in + act_out + param */
    uint64_t onchip_bytes;        /**< on-chip buffer bytes read + written */
    double energy_offchip_j;      /**< off-chip access energy, J */
    double energy_onchip_j;       /**< on-chip buffer access energy, J */
    double energy_compute_j;      /**< MAC / host operation energy, J */
    double energy_j;              /**< sum of the three */
} sushi_layer_cost;

/**
 * Cost of one conv / depthwise / linear layer on the engine (one kernel call).
 * Pure function; no allocation.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL, zero extents, kernel larger than
 * the padded input, depthwise with K != C, unknown op), SUSHI_ERR_OVERFLOW
 * (counts beyond 64 bits). Thread-safe on distinct or read-only arguments. @since 0.1
 */
SUSHI_API int sushi_cycle_cost_conv(const sushi_cycle_model *m, const sushi_conv_shape *l,
                                    sushi_layer_cost *out);

/** Cost of a host-side layer: `ops` element operations reading `in_bytes`
 * and writing `out_bytes` off-chip. Pure function; no allocation. Thread-safe on distinct or read-only arguments. @since 0.1 */
SUSHI_API int sushi_cycle_cost_host(const sushi_cycle_model *m, uint64_t ops, uint64_t in_bytes,
                                    uint64_t out_bytes, sushi_layer_cost *out);

/**
 * Cost of SubNet s with SubGraph g (NULL: none) offered to the PB; g is
 * truncated to the PB capacity the way sushi_subgraph_truncate() does (whole
 * tensors in network order, then whole 16-channel tiles). `layers` may be NULL
 * or hold one entry per plan layer (sushi_subnet_stats.n_layers). `total`
 * (may be NULL) receives the sums; total->size must be set (SUSHI_COST_INIT).
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_ABI. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_cycle_cost_subnet(const sushi_cycle_model *m, const sushi_subnet *s,
                                      const sushi_subgraph *g, sushi_layer_cost *layers,
                                      sushi_cost *total);

/** Describe plan layer i of s as an engine shape (pools/add/SE: their
 * in/out channels, kernel, stride, pad). @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID. Thread-safe (s is immutable). @since 0.1 */
SUSHI_API int sushi_cycle_layer_shape(const sushi_subnet *s, size_t i, sushi_conv_shape *shape);

/**
 * Bytes the PB would have to load to go from `old` (NULL: empty) to `next`,
 * both truncated to the PB capacity: the bytes of next not in old.
 * `kept` (may be NULL) receives the bytes of next already resident. Allocates nothing; old and next are only read. Thread-safe while nothing modifies them. @since 0.1
 */
SUSHI_API uint64_t sushi_cycle_reload_bytes(const sushi_cycle_model *m, const sushi_subgraph *old,
                                            const sushi_subgraph *next, uint64_t *kept);

/** Cost (time, bytes, energy) of loading `bytes` into the PB. Thread-safe on distinct or read-only arguments. @since 0.1 */
SUSHI_API int sushi_cycle_cost_reload(const sushi_cycle_model *m, uint64_t bytes, uint64_t kept,
                                      sushi_cost *out);

/* ---- SCALE-Sim-like per-layer CSV ---- */

/** Write the CSV header line (with '\n') into buf; snprintf rules: returns
 * the length the full line needs. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cycle_csv_header(char *buf, size_t size);
/** Write one CSV row (with '\n'). `name` may be NULL; commas and quotes in it
 * are quoted. @return the length the full line needs, or a negative status. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cycle_csv_row(char *buf, size_t size, size_t index, const char *name,
                                  const sushi_conv_shape *shape, const sushi_layer_cost *c);

/** Byte sink for sushi_cycle_subnet_csv(); return 0 to continue. @since 0.1 */
typedef int (*sushi_cycle_write_fn)(void *user, const char *data, size_t len);
/** Header + one row per plan layer of s (SubGraph g as for cost_subnet).
 * @return SUSHI_OK, the sink's non-zero value, or a negative status. `write` is called on the calling thread. Thread-safe while nothing modifies m or g. @since 0.1 */
SUSHI_API int sushi_cycle_subnet_csv(const sushi_cycle_model *m, const sushi_subnet *s,
                                     const sushi_subgraph *g, sushi_cycle_write_fn write, void *user);

/* ---- topology files (`sushi cost --topology LAYERS.csv`) ---- */

/** Called once per data row, in file order. `row` counts data rows from 0,
 * `line` is the 1-based line number, `name` is the row's name column or NULL.
 * Return 0 to continue; a non-zero value stops parsing and is returned. @since 0.1 */
typedef int (*sushi_cycle_topology_fn)(void *user, size_t row, unsigned line, const char *name,
                                       const sushi_conv_shape *shape);

/**
 * Parse a topology CSV: '#' comment lines and blank lines skipped; the first
 * other line is the header. Required columns (any order, case-insensitive):
 * K, C, R, S, X, Y, pad_x, pad_y, stride_x, stride_y. Optional: name (or
 * layer, "layer name"), op (conv | dwconv | depthwise | linear), groups (== C
 * means depthwise). Other columns are ignored. Fields may be double-quoted.
 * @param text the CSV text (need not be NUL-terminated).
 * @param len bytes of text.
 * @param fn called once per data row.
 * @param user passed to fn.
 * @param errsz bytes available at err.
 * @param err receives e.g. "line 7: column 'K': expected an integer in [1, 1000000], got 'abc'".
 * @return SUSHI_OK, SUSHI_ERR_FORMAT (message in err), SUSHI_ERR_INVALID, or the callback's value.
 * fn is called on the calling thread; `name` and `shape` are valid only during the call. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_cycle_topology_parse(const char *text, size_t len, sushi_cycle_topology_fn fn,
                                         void *user, char *err, size_t errsz);
/** Read and parse a file. @return as parse, plus SUSHI_ERR_IO, SUSHI_ERR_NOMEM. The file text is freed before returning. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cycle_topology_read(const char *path, sushi_cycle_topology_fn fn, void *user,
                                        char *err, size_t errsz);

/* ---- the backend ---- */

/** The model inside a "cycle" backend instance (lives as long as b; changes
 * with set_param), or NULL when b is not a cycle backend. Not thread-safe with concurrent calls that change b. @since 0.1 */
SUSHI_API const sushi_cycle_model *sushi_cycle_backend_model(const sushi_backend *b);
/** The resident SubGraph of a "cycle" backend instance (lives as long as b),
 * or NULL. Not thread-safe with concurrent calls that change b. @since 0.1 */
SUSHI_API const sushi_subgraph *sushi_cycle_backend_resident(const sushi_backend *b);

/** Backend table (registered as "cycle" by the library). @since 0.1 */
const sushi_backend_ops *sushi_backend_cycle_ops(void);

#ifdef __cplusplus
}
#endif
#endif
