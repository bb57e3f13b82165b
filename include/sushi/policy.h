/**
 * @file policy.h
 * @brief Pluggable SubGraph caching policies (what to keep resident, and when).
 *
 * A policy is registered in a context under a name by an ABI-versioned table
 * (copied at registration); built-in policies ("none", "static", "sushi",
 * "lru", "lfu", "oracle" as they land, and the "test-first" test policy)
 * register through the same path. A slot is called only if the table's
 * abi_version covers it and it is non-NULL.
 *
 * A sushi_policy instance is NOT thread-safe (one per scheduler). It keeps
 * its SuperNet alive.
 */
#ifndef SUSHI_POLICY_H
#define SUSHI_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/context.h"
#include "sushi/export.h"
#include "sushi/subgraph.h"
#include "sushi/subnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Current policy table version. @since 0.1 */
#define SUSHI_POLICY_ABI_VERSION 1u

/** What a caching policy maximises: the expected saving of the resident
 * SubGraph over the queries it plans for, in one of these units
 * (docs/scheduler.md, "Objective"). @since 0.3 */
typedef enum sushi_objective {
    SUSHI_OBJECTIVE_BYTES = 0,  /**< off-chip weight bytes not fetched (hit bytes): the 0.1/0.2 behaviour */
    SUSHI_OBJECTIVE_TIME = 1,   /**< latency saved (seconds), from the backend's tile savings */
    SUSHI_OBJECTIVE_ENERGY = 2  /**< energy saved (joules), from the backend's tile savings */
} sushi_objective;

/** Cumulative tile savings of SubNet s in the view's objective unit: entry
 * k, in sushi_backend_tile_savings() order, is the saving of tiles 0..j of
 * that entry's tensor (j = the entry's tile index), i.e. the running sum of
 * the backend's marginal savings within each tensor. Returns NULL when the
 * savings are not available (the caller then falls back to bytes). The array
 * lives until the policy's choose() returns. @since 0.3 */
typedef const double *(*sushi_view_tile_savings_fn)(void *user, const sushi_subnet *s);

/** What a policy sees when asked for the next resident SubGraph. All
 * pointers are borrowed for the duration of the call. Fields after
 * n_candidates were appended in 0.3: the library accepts a view whose size
 * is SUSHI_POLICY_VIEW_SIZE_V1 (a 0.1/0.2 caller; the policy sees the
 * appended fields zeroed: objective bytes, no savings) or at least
 * sizeof(sushi_policy_view); any other size is SUSHI_ERR_ABI. @since 0.1 */
typedef struct sushi_policy_view {
    size_t size;                        /**< sizeof(sushi_policy_view) */
    const sushi_supernet *supernet;     /**< the SuperNet */
    uint64_t capacity_bytes;            /**< persistent buffer capacity (bytes) */
    const sushi_subgraph *current;      /**< resident now (may be empty) */
    const sushi_subnet *const *window;  /**< SubNets served since the last update, oldest first */
    size_t n_window;                    /**< entries in window */
    const sushi_subnet *const *future;  /**< SubNets the next queries will want (offline oracle only; else NULL) */
    size_t n_future;                    /**< entries in future */
    const sushi_subnet *const *candidates; /**< the scheduler's candidate set */
    size_t n_candidates;                /**< entries in candidates */
    /** sushi_objective the savings below are in (0.3). BYTES: no savings
     * needed (hit bytes are computed from the boxes). */
    int objective;
    /** Savings per tile of a SubNet in the objective's unit (0.3); NULL when
     * the objective is BYTES or the backend cannot report savings. */
    sushi_view_tile_savings_fn tile_savings;
    void *tile_savings_user;            /**< first argument of tile_savings */
} sushi_policy_view;

/** Size of a sushi_policy_view as 0.1 and 0.2 callers built it. @since 0.3 */
#define SUSHI_POLICY_VIEW_SIZE_V1 (offsetof(sushi_policy_view, n_candidates) + sizeof(size_t))

/** Policy function table. @since 0.1 */
typedef struct sushi_policy_ops {
    uint32_t abi_version;      /**< SUSHI_POLICY_ABI_VERSION */
    const char *description;   /**< one line; copied at registration */
    /** Make instance state for SuperNet sn. `user` is the registration's user pointer. */
    int (*create)(void *user, const sushi_supernet *sn, void **state_out);
    /** Free instance state made by create(). */
    void (*destroy)(void *state);
    /** Called after every served query. */
    int (*observe)(void *state, const sushi_subnet *served);
    /** Write into `next` (already sized for the SuperNet) the SubGraph to make
     * resident; it must fit view->capacity_bytes. */
    int (*choose)(void *state, const sushi_policy_view *view, sushi_subgraph *next);
} sushi_policy_ops;

/** Register a policy (name rules and statuses as sushi_backend_register). Not thread-safe (configuration call). @since 0.1 */
SUSHI_API int sushi_policy_register(sushi_context *ctx, const char *name,
                                    const sushi_policy_ops *ops, void *user);

/** Name of the i-th registered policy, NULL past the end. Thread-safe once the context is configured. @since 0.1 */
SUSHI_API const char *sushi_policy_name(const sushi_context *ctx, size_t i);

/** Opaque policy instance. @since 0.1 */
typedef struct sushi_policy sushi_policy;

/** Create an instance of policy `name` for sn. @return SUSHI_OK, SUSHI_ERR_NOT_FOUND,
 * SUSHI_ERR_NOMEM or the policy's status. Thread-safe (sn is only read); the instance is not. Release with sushi_policy_destroy(). @since 0.1 */
SUSHI_API int sushi_policy_create(const sushi_supernet *sn, const char *name, sushi_policy **out);

/** Release. NULL is a no-op. Not thread-safe with other calls on p. @since 0.1 */
SUSHI_API void sushi_policy_destroy(sushi_policy *p);

/** Policy name (lives as long as p). Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_policy_get_name(const sushi_policy *p);

/** Forward a served SubNet to the policy. served is only read during the call. Not thread-safe (p is per scheduler). @since 0.1 */
SUSHI_API int sushi_policy_observe(sushi_policy *p, const sushi_subnet *served);

/** Ask for the next resident SubGraph. The library checks the capacity: a
 * result over view->capacity_bytes returns SUSHI_ERR_BACKEND and leaves
 * `next` empty. view is borrowed for the call; next is owned by the caller. Not thread-safe (p is per scheduler). @since 0.1 */
SUSHI_API int sushi_policy_choose(sushi_policy *p, const sushi_policy_view *view, sushi_subgraph *next);

#ifdef __cplusplus
}
#endif
#endif
