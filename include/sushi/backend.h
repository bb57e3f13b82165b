/**
 * @file backend.h
 * @brief Pluggable backends: the registration table and backend instances.
 *
 * A backend is registered in a context under a name by an ABI-versioned
 * table of functions (copied at registration). The built-in backends (cpu,
 * hls, cycle and the "null" test backend) register through this same path.
 * A slot is called only when the table's abi_version is new enough for it and
 * the slot is non-NULL; otherwise the call returns SUSHI_ERR_UNSUPPORTED.
 *
 * A sushi_backend is an instance bound to one SuperNet. It holds device
 * state (the resident SubGraph, scratch memory): it is NOT thread-safe; use
 * one instance per thread. It keeps its SuperNet and context alive.
 */
#ifndef SUSHI_BACKEND_H
#define SUSHI_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/context.h"
#include "sushi/export.h"
#include "sushi/subgraph.h"
#include "sushi/subnet.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Current backend table version: 2 since 0.3 (adds tile_savings); tables
 * of version 1 keep working. @since 0.1 */
#define SUSHI_BACKEND_ABI_VERSION 2u

/** Capabilities a backend declares. @since 0.1 */
enum sushi_backend_caps {
    SUSHI_BACKEND_CAP_RUN = 1u << 0,  /**< computes outputs from inputs */
    SUSHI_BACKEND_CAP_COST = 1u << 1, /**< predicts/measures latency, bytes and energy */
    SUSHI_BACKEND_CAP_INT8 = 1u << 2, /**< runs the int8 path */
    /** Its run latency is measured (wall clock on a real device, e.g. cpu),
     * not modelled: it varies with load, so the scheduler adapts its
     * prediction to it by default (sched.h, sushi_sched_adapt). @since 0.3 */
    SUSHI_BACKEND_CAP_MEASURED = 1u << 3
};

/** Cost of one SubNet execution (modelled or measured). All fields are totals
 * for one query (batch 1). Fill from SUSHI_COST_INIT. @since 0.1 */
typedef struct sushi_cost {
    size_t size;               /**< sizeof(sushi_cost): set by SUSHI_COST_INIT */
    double latency_s;          /**< end-to-end latency */
    uint64_t cycles;           /**< accelerator cycles (0 when not modelled) */
    uint64_t macs;             /**< multiply-accumulates executed */
    uint64_t offchip_bytes;    /**< all bytes crossing the off-chip interface */
    uint64_t weight_bytes;     /**< weight bytes fetched off-chip */
    uint64_t act_bytes;        /**< activation bytes read + written off-chip */
    uint64_t hit_bytes;        /**< weight bytes served from the resident SubGraph */
    uint64_t onchip_bytes;     /**< on-chip buffer bytes accessed */
    double energy_j;           /**< total energy */
    double energy_offchip_j;   /**< off-chip access part of energy_j */
    double energy_onchip_j;    /**< on-chip buffer access part of energy_j */
    double energy_compute_j;   /**< arithmetic part of energy_j */
} sushi_cost;

/** Initialiser of a sushi_cost: sets size, zeroes the rest. @since 0.1 */
#define SUSHI_COST_INIT { .size = sizeof(sushi_cost) }

/** Run request: input tensor (NCHW float32, batch 1) and output buffer. @since 0.1 */
typedef struct sushi_run_args {
    size_t size;          /**< sizeof(sushi_run_args): set by SUSHI_RUN_ARGS_INIT */
    const float *input;   /**< in_c * r * r floats, normalised as the SuperNet expects */
    size_t input_len;     /**< number of floats at input */
    float *output;        /**< num_classes floats (logits) */
    size_t output_len;    /**< number of floats available at output */
    bool int8;            /**< use the int8 path (backends with SUSHI_BACKEND_CAP_INT8) */
} sushi_run_args;

/** Initialiser of a sushi_run_args: sets size, no buffers, float32 path. @since 0.1 */
#define SUSHI_RUN_ARGS_INIT { sizeof(sushi_run_args), NULL, 0, NULL, 0, false }

/** What one resident unit saves, per query of one SubNet: an element of
 * the array sushi_backend_tile_savings() fills. A unit ("tile") is
 * SUSHI_SUBGRAPH_TILE_OUT output channels of one weight tensor over the
 * SubNet's in-channel extent of it. Array element, so it carries no size
 * field: its layout is frozen (a future version adds a new slot instead).
 * @since 0.3 */
typedef struct sushi_tile_saving {
    double latency_s;        /**< latency saved when this tile is resident too */
    double energy_j;         /**< energy saved (all parts of sushi_cost.energy_j) */
    uint64_t offchip_bytes;  /**< off-chip bytes saved */
    uint64_t bytes;          /**< PB bytes the tile takes at this SubNet's in-extent */
} sushi_tile_saving;

/**
 * Backend function table. `state` is the instance state made by create().
 * Every function returns a sushi_status. Version 1 slots: create .. run;
 * version 2 (0.3) appends tile_savings. A table of version 1 is read only up
 * to run (the library never reads past the slots its version has).
 * @since 0.1
 */
typedef struct sushi_backend_ops {
    uint32_t abi_version;       /**< SUSHI_BACKEND_ABI_VERSION the table was built for */
    uint32_t caps;              /**< sushi_backend_caps */
    const char *description;    /**< one line; copied at registration */
    /** Make instance state for SuperNet sn. `user` is the registration's user pointer. */
    int (*create)(void *user, const sushi_supernet *sn, void **state_out);
    /** Free instance state made by create(). */
    void (*destroy)(void *state);
    /** Keyed tunables (e.g. the cycle model's "pb_kib"). */
    int (*set_param)(void *state, const char *key, double value);
    /** Read a keyed tunable into *value. */
    int (*get_param)(void *state, const char *key, double *value);
    /** Cost of running s with SubGraph `resident` (NULL = nothing resident) on chip. Must not change state. */
    int (*cost)(void *state, const sushi_subnet *s, const sushi_subgraph *resident, sushi_cost *out);
    /** Make `g` resident (NULL = evict all); `reload` receives the cost of loading it. */
    int (*set_resident)(void *state, const sushi_subgraph *g, sushi_cost *reload);
    /** Execute s. `cost` (may be NULL) receives what was measured or modelled. */
    int (*run)(void *state, const sushi_subnet *s, const sushi_run_args *args, sushi_cost *cost);
    /** Version 2 (optional, NULL = unsupported): what each tile of SubNet s
     * saves. Fill out[0..n) in the order sushi_backend_tile_savings()
     * documents; n is exactly the SubNet's tile count (the library checked
     * it). Entry j of a tensor is the saving of its tile j given tiles
     * 0..j-1 of the same tensor resident and nothing else (the marginal
     * saving: a backend whose load overlaps compute reports a smaller
     * saving once the load hides). Savings of different tensors must add up.
     * Must not change state. @since 0.3 */
    int (*tile_savings)(void *state, const sushi_subnet *s, sushi_tile_saving *out, size_t n);
} sushi_backend_ops;

/**
 * Register a backend under `name` (copied; [a-z0-9_-]{1,31}).
 * @return SUSHI_OK, SUSHI_ERR_EXISTS, SUSHI_ERR_ABI (abi_version 0 or newer than
 * this library), SUSHI_ERR_INVALID (bad name, NULL create, a description
 * that is not valid UTF-8: since 0.3), SUSHI_ERR_STATE
 * (context already in use), SUSHI_ERR_NOMEM. Not thread-safe. @since 0.1
 */
SUSHI_API int sushi_backend_register(sushi_context *ctx, const char *name,
                                     const sushi_backend_ops *ops, void *user);

/** Name of the i-th registered backend (lives as long as ctx), NULL past the end. Thread-safe once the context is configured. @since 0.1 */
SUSHI_API const char *sushi_backend_name(const sushi_context *ctx, size_t i);

/** Opaque backend instance. @since 0.1 */
typedef struct sushi_backend sushi_backend;

/** Create an instance of backend `name` for SuperNet sn.
 * @return SUSHI_OK, SUSHI_ERR_NOT_FOUND, SUSHI_ERR_NOMEM, or the backend's status. Thread-safe (sn is only read); the new instance is not: use it from one thread at a time. Release with sushi_backend_destroy(). @since 0.1 */
SUSHI_API int sushi_backend_create(const sushi_supernet *sn, const char *name, sushi_backend **out);

/** Release. NULL is a no-op. Not thread-safe with other calls on b. @since 0.1 */
SUSHI_API void sushi_backend_destroy(sushi_backend *b);

/** Backend name (lives as long as b). Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_backend_get_name(const sushi_backend *b);

/** Declared capabilities. Thread-safe. @since 0.1 */
SUSHI_API uint32_t sushi_backend_caps(const sushi_backend *b);

/** Set keyed tunable `key` (e.g. the cycle model's "pb_kib") to `value`.
 * @return SUSHI_OK, SUSHI_ERR_NOT_FOUND (unknown key), SUSHI_ERR_RANGE,
 * SUSHI_ERR_UNSUPPORTED. Not thread-safe (b is per thread). @since 0.1 */
SUSHI_API int sushi_backend_set_param(sushi_backend *b, const char *key, double value);
/** Read keyed tunable `key` into *value. @return SUSHI_OK, SUSHI_ERR_NOT_FOUND,
 * SUSHI_ERR_INVALID, SUSHI_ERR_UNSUPPORTED. Not thread-safe with concurrent
 * calls that change b. @since 0.1 */
SUSHI_API int sushi_backend_get_param(const sushi_backend *b, const char *key, double *value);

/** Cost of SubNet s given resident SubGraph g (NULL: none). Does not change state. g is only read during the call. Not thread-safe (b is per thread). @since 0.1 */
SUSHI_API int sushi_backend_cost(sushi_backend *b, const sushi_subnet *s, const sushi_subgraph *g,
                                 sushi_cost *out);

/**
 * What each resident unit saves when SubNet s runs: one entry per tile of s,
 * tensors in SubGraph-slot order (slot t = 0 .. sushi_subgraph_n_tensors()-1,
 * skipping slots s does not use), within a tensor tiles j = 0, 1, .. covering
 * output channels [16 j, min(16 (j + 1), out)) x in-channels [0, in) of s's
 * box (sushi_subgraph_set_subnet() + sushi_subgraph_get() give the boxes);
 * see sushi_tile_saving and the tile_savings slot for the meaning of an entry.
 * Summing a tensor's first m entries gives the saving of m resident tiles.
 * @param b the backend instance (its table must have the tile_savings slot).
 * @param s a SubNet of b's SuperNet; only read during the call.
 * @param out NULL to ask for the count only.
 * @param n entries available at out.
 * @param n_out receives the number of tiles of s (required; written on OK and RANGE).
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL b or s, s from another SuperNet,
 * or n_out NULL); SUSHI_ERR_RANGE (n
 * smaller than the tile count: nothing written); SUSHI_ERR_UNSUPPORTED (a
 * version-1 table or no tile_savings slot: callers fall back to bytes); or
 * the backend's status. Not thread-safe (b is per thread). @since 0.3
 */
SUSHI_API int sushi_backend_tile_savings(sushi_backend *b, const sushi_subnet *s, sushi_tile_saving *out,
                                         size_t n, size_t *n_out);

/** Make g resident; reload (may be NULL) gets the cost of the change. g is copied (the caller keeps ownership). Not thread-safe (b is per thread). @since 0.1 */
SUSHI_API int sushi_backend_set_resident(sushi_backend *b, const sushi_subgraph *g, sushi_cost *reload);

/** Run SubNet s (which must come from the backend's SuperNet). Buffers in args are borrowed for the call.
 * @return SUSHI_OK; SUSHI_ERR_INVALID for a NULL argument, a SubNet of another SuperNet, or (backends
 * with SUSHI_BACKEND_CAP_RUN) a NULL buffer, input_len != in_c * r * r or output_len < num_classes:
 * each of these logs one SUSHI_LOG_ERROR line on the SuperNet's context saying which (since 0.3);
 * SUSHI_ERR_ABI (args->size or cost->size too small), SUSHI_ERR_UNSUPPORTED (no run, or int8 without
 * SUSHI_BACKEND_CAP_INT8), or the backend's own status.
 * Not thread-safe (b is per thread). @since 0.1 */
SUSHI_API int sushi_backend_run(sushi_backend *b, const sushi_subnet *s, const sushi_run_args *args,
                                sushi_cost *cost);

#ifdef __cplusplus
}
#endif
#endif
