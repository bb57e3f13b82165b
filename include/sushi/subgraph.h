/**
 * @file subgraph.h
 * @brief sushi_subgraph: a set of per-tensor weight slices of a SuperNet.
 *
 * OFA shares weights by prefixes, so every SubNet uses, of each stored
 * weight tensor, a prefix box: the first `out` output channels and the first
 * `in` input channels (full kernel). A SubGraph stores one such box per
 * tensor (0 x 0 when the tensor is absent). Bytes are counted at one byte per
 * weight (int8, as the accelerator stores them).
 *
 *   common(a, b)  = per-tensor element-wise minimum of the boxes
 *   hit(s, g)     = bytes of SubNet s's weights inside g
 *                 = sum over tensors of min(out_s, out_g) * min(in_s, in_g) * k*k
 *
 * A SubGraph is a small mutable value object: functions that write one are
 * not thread-safe on that object; readers may share it.
 */
#ifndef SUSHI_SUBGRAPH_H
#define SUSHI_SUBGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sushi/export.h"
#include "sushi/subnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque SubGraph. @since 0.1 */
typedef struct sushi_subgraph sushi_subgraph;

/** Output-channel granularity of partial SubGraphs (the engine's K tile). @since 0.1 */
#define SUSHI_SUBGRAPH_TILE_OUT 16

/** Create an empty SubGraph of SuperNet sn (keeps it alive).
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_NOMEM. Release with sushi_subgraph_destroy(). Thread-safe (sn is only read); a SubGraph is not: calls that modify it need exclusive access. @since 0.1 */
SUSHI_API int sushi_subgraph_create(const sushi_supernet *sn, sushi_subgraph **out);

/** Release. NULL is a no-op. Not thread-safe with other calls on g. @since 0.1 */
SUSHI_API void sushi_subgraph_destroy(sushi_subgraph *g);

/** Make g empty. Not thread-safe on the same g. @since 0.1 */
SUSHI_API int sushi_subgraph_clear(sushi_subgraph *g);

/** Copy src into dst (same SuperNet). @return SUSHI_OK, SUSHI_ERR_INVALID. Not thread-safe on the same dst; src is only read. @since 0.1 */
SUSHI_API int sushi_subgraph_copy(sushi_subgraph *dst, const sushi_subgraph *src);

/** Set g to exactly the weights of SubNet s. Not thread-safe on the same g; s is only read. @since 0.1 */
SUSHI_API int sushi_subgraph_set_subnet(sushi_subgraph *g, const sushi_subnet *s);

/** g = g ∩ s (per-tensor minimum). Not thread-safe on the same g; s is only read. @since 0.1 */
SUSHI_API int sushi_subgraph_intersect_subnet(sushi_subgraph *g, const sushi_subnet *s);

/** dst = a ∩ b. dst may alias a or b. Not thread-safe on the same dst; a and b are only read. @since 0.1 */
SUSHI_API int sushi_subgraph_intersect(sushi_subgraph *dst, const sushi_subgraph *a,
                                       const sushi_subgraph *b);

/** Bytes held by g (one byte per weight). 0 for NULL. Thread-safe. @since 0.1 */
SUSHI_API uint64_t sushi_subgraph_bytes(const sushi_subgraph *g);

/** Bytes of SubNet s's weights inside g: hit(s, g). 0 when either is NULL or
 * they belong to different SuperNets. Thread-safe. @since 0.1 */
SUSHI_API uint64_t sushi_subgraph_hit_bytes(const sushi_subgraph *g, const sushi_subnet *s);

/** true when every weight of `inner` lies in `outer`. Thread-safe while nothing modifies outer or inner. @since 0.1 */
SUSHI_API bool sushi_subgraph_contains(const sushi_subgraph *outer, const sushi_subgraph *inner);

/** true when g holds every weight of SubNet s. Thread-safe while nothing modifies g. @since 0.1 */
SUSHI_API bool sushi_subgraph_contains_subnet(const sushi_subgraph *g, const sushi_subnet *s);

/**
 * Shrink g to at most `budget` bytes, keeping whole tensors in network order
 * (earliest first) and, for the first tensor that does not fit, a prefix of
 * whole output-channel tiles (SUSHI_SUBGRAPH_TILE_OUT channels). Tensors after
 * it are dropped. Deterministic. Not thread-safe on the same g. @since 0.1
 */
SUSHI_API int sushi_subgraph_truncate(sushi_subgraph *g, uint64_t budget);

/** Number of tensor slots (== the SuperNet's n_tensors). Thread-safe. @since 0.1 */
SUSHI_API size_t sushi_subgraph_n_tensors(const sushi_subgraph *g);

/** Box of tensor t: output and input channel extents and kernel area.
 * @return SUSHI_OK, SUSHI_ERR_RANGE, SUSHI_ERR_INVALID. Thread-safe while nothing modifies g. @since 0.1 */
SUSHI_API int sushi_subgraph_get(const sushi_subgraph *g, size_t t, uint32_t *out_ch,
                                 uint32_t *in_ch, uint32_t *kernel_area);

/** Set the box of tensor t, clamped to the tensor's shape. Not thread-safe on the same g. @since 0.1 */
SUSHI_API int sushi_subgraph_set(sushi_subgraph *g, size_t t, uint32_t out_ch, uint32_t in_ch);

/** Name of tensor t of a SuperNet (lives as long as the SuperNet); NULL past the end. Thread-safe. @since 0.1 */
SUSHI_API const char *sushi_supernet_tensor_name(const sushi_supernet *sn, size_t t);

#ifdef __cplusplus
}
#endif
#endif
