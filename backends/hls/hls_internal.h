/* Internals of the hls backend (not installed): per-layer AXI statistics of
 * the last run, for tests and tools. docs/hls.md. */
#ifndef SUSHI_HLS_INTERNAL_H
#define SUSHI_HLS_INTERNAL_H

#include <stdint.h>

#include "internal.h"

/* Where a layer ran (same values as sushi_cycle_where). */
typedef struct hls_layer_stat {
    uint32_t where;        /* 0 engine, 1 host, 2 fused into the previous engine call, 3 engine + host (SE) */
    uint32_t calls;        /* kernel calls */
    uint64_t rd_wgt;       /* weight bytes over the wgt port (compute calls) */
    uint64_t pb_hit;       /* weight bytes served by the PB */
    uint64_t rd_par;       /* requant bytes over the qparam port */
    uint64_t act_in;       /* activation bytes read off-chip (engine act_in + res_in ports, host reads) */
    uint64_t act_out;      /* activation bytes written off-chip (engine act_out/acc_out, host writes) */
    uint64_t trips;        /* engine pixel-loop trips */
    uint64_t passes;       /* engine passes */
    uint64_t cycles;       /* trips + passes * ACCEL_FILL_CYCLES */
    uint64_t halo;         /* input bytes kept on chip between pixel blocks (row bands) */
} hls_layer_stat;

/* Per-layer statistics of the last run of backend b (an "hls" instance);
 * NULL otherwise. *n receives the number of layers. */
const hls_layer_stat *hls_backend_stats(sushi_backend *b, uint32_t *n);
/* Bytes the PB loaded / kept at the last set_resident. */
void hls_backend_last_reload(sushi_backend *b, uint64_t *loaded, uint64_t *kept);

const sushi_backend_ops *sushi_backend_hls_ops(void);

#endif
