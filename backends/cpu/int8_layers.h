/* Host-side int8 layers of the cpu backend's int8 path (docs/int8.md §4.3-4.7),
 * shared with the hls backend's host driver, which runs the same layers on
 * the host (pools, GAP, unfused ADD, the squeeze and excite of SE) and must
 * stay bit-exact with the cpu path. Defined in int8.c; internal. */
#ifndef SUSHI_CPU_INT8_LAYERS_H
#define SUSHI_CPU_INT8_LAYERS_H

#include <stdint.h>

#include "cpu_internal.h"

/* §4.4: out = max over the valid taps (padding skipped). */
void cpu_q8_maxpool(const sushi_layer *l, const uint8_t *in, uint8_t *out);
/* §4.5: ceil mode, no padding, divided by the valid count. */
void cpu_q8_avgpool(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out);
/* §4.6 (and step 1 of §4.7 for an SE layer): out[c] = mean of channel c of in. */
void cpu_q8_gap(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out);
/* §4.3: out = act(a + b) with the layer's two multipliers. */
void cpu_q8_add(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *a, const uint8_t *b, uint8_t *out);
/* §4.7 step 4: out[c][p] = (in[c][p] - zx) * gate[c], requantised. */
void cpu_q8_se_excite(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, const uint8_t *gate,
                      uint8_t *out);

#endif
