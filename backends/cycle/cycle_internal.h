/* Internals of the cycle model shared with the hls driver (not installed). */
#ifndef SUSHI_CYCLE_INTERNAL_H
#define SUSHI_CYCLE_INTERNAL_H

#include <stdint.h>

#include "internal.h"
#include "sushi/cycle.h"

/* Where a plan value lives on the SGS engine (docs/accelerator.md, section 11). */
enum {
    CYCLE_ACT_DRAM = 0,   /* written to and read from DRAM */
    CYCLE_ACT_PP = 1,     /* in a ping-pong activation buffer, read by the next plan layer only */
    CYCLE_ACT_PP_RES = 3  /* also copied to the residual buffer for its one later consumer */
};

/* Largest plan (values) sushi_cycle_cost_subnet() plans residency for. */
#define CYCLE_PLAN_MAX 1024u

/* The residency plan of s under m: place[v] for every plan value
 * (s->n_values entries). All DRAM unless subnet_call and act_buf_kib > 0. */
void cycle_act_plan(const sushi_cycle_model *m, const sushi_subnet *s, uint8_t *place);

#endif
