/* What each resident tile saves under the cycle model: the tile_savings slot
 * of the cycle and hls backends (include/sushi/backend.h). Internal. */
#ifndef SUSHI_CYCLE_SAVINGS_H
#define SUSHI_CYCLE_SAVINGS_H

#include "sushi/backend.h"
#include "sushi/cycle.h"

/* Fill out[0..n) (n = the SubNet's tile count, checked by the library) with
 * the marginal saving of each tile of s under model m: for tile j of slot t,
 * cost(tiles 0..j-1 of t resident) - cost(tiles 0..j of t resident), nothing
 * else resident, both from sushi_cycle_cost_subnet() on a copy of m whose PB
 * holds everything. Exact recomputation: double buffering and rounding are
 * whatever the model does. Allocates scratch from s's context. */
int sushi_cycle_tile_savings(const sushi_cycle_model *m, const sushi_subnet *s, sushi_tile_saving *out, size_t n);

#endif
