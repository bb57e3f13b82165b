/* "cycle" backend: the SushiAccel model (model.c) behind the backend table.
 * State: the parameters and the SubGraph resident in the persistent buffer. */
#include <string.h>

#include "internal.h"
#include "sushi/cycle.h"

typedef struct cycle_state {
    sushi_cycle_model m;
    const sushi_supernet *sn;
    sushi_subgraph *resident; /* always within the PB capacity */
} cycle_state;

static int cycle_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    cycle_state *st = sushi_calloc(sn->ctx, 1, sizeof *st);
    if (!st)
        return SUSHI_ERR_NOMEM;
    st->sn = sn;
    sushi_cycle_model_init(&st->m, SUSHI_CYCLE_PRESET_ZCU104);
    int rc = sushi_subgraph_create(sn, &st->resident);
    if (rc) {
        sushi_free(sn->ctx, st);
        return rc;
    }
    *out = st;
    return SUSHI_OK;
}

static void cycle_destroy(void *p)
{
    cycle_state *st = p;
    const sushi_context *ctx = st->sn->ctx;
    sushi_subgraph_destroy(st->resident);
    sushi_free(ctx, st);
}

static int cycle_set_param(void *p, const char *key, double v)
{
    cycle_state *st = p;
    int rc = sushi_cycle_model_set(&st->m, key, v);
    if (rc == SUSHI_OK) /* a smaller PB drops what no longer fits (no reload cost) */
        rc = sushi_subgraph_truncate(st->resident, sushi_cycle_pb_bytes(&st->m));
    return rc;
}

static int cycle_get_param(void *p, const char *key, double *v)
{
    cycle_state *st = p;
    return sushi_cycle_model_get(&st->m, key, v);
}

static int cycle_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    cycle_state *st = p;
    return sushi_cycle_cost_subnet(&st->m, s, g, NULL, out);
}

static int cycle_set_resident(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    cycle_state *st = p;
    if (!g) {
        uint64_t kept = 0;
        int rc = sushi_cycle_cost_reload(&st->m, 0, kept, reload);
        return rc ? rc : sushi_subgraph_clear(st->resident);
    }
    uint64_t kept = 0;
    uint64_t bytes = sushi_cycle_reload_bytes(&st->m, st->resident, g, &kept);
    int rc = sushi_cycle_cost_reload(&st->m, bytes, kept, reload);
    if (!rc)
        rc = sushi_subgraph_copy(st->resident, g);
    if (!rc)
        rc = sushi_subgraph_truncate(st->resident, sushi_cycle_pb_bytes(&st->m));
    if (!rc && sushi_subgraph_bytes(g) > sushi_cycle_pb_bytes(&st->m))
        sushi_log(st->sn->ctx, SUSHI_LOG_INFO, "cycle: SubGraph of %llu bytes truncated to the %llu-byte PB",
                  (unsigned long long)sushi_subgraph_bytes(g),
                  (unsigned long long)sushi_cycle_pb_bytes(&st->m));
    return rc;
}

/* The model computes no outputs: run() reports the modelled cost of s with
 * the resident SubGraph and leaves args->output untouched. */
static int cycle_run(void *p, const sushi_subnet *s, const sushi_run_args *args, sushi_cost *cost)
{
    cycle_state *st = p;
    (void)args;
    return cost ? sushi_cycle_cost_subnet(&st->m, s, st->resident, NULL, cost) : SUSHI_OK;
}

static const sushi_backend_ops cycle_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_COST,
    .description = "cycle/traffic/energy model of SushiAccel (16x9 PEs of 3x3, persistent SubGraph buffer)",
    .create = cycle_create,
    .destroy = cycle_destroy,
    .set_param = cycle_set_param,
    .get_param = cycle_get_param,
    .cost = cycle_cost,
    .set_resident = cycle_set_resident,
    .run = cycle_run,
};

const sushi_backend_ops *sushi_backend_cycle_ops(void) { return &cycle_ops; }

const sushi_cycle_model *sushi_cycle_backend_model(const sushi_backend *b)
{
    if (!b || b->entry->ops.cost != cycle_cost)
        return NULL;
    return &((const cycle_state *)b->state)->m;
}

const sushi_subgraph *sushi_cycle_backend_resident(const sushi_backend *b)
{
    if (!b || b->entry->ops.cost != cycle_cost)
        return NULL;
    return ((const cycle_state *)b->state)->resident;
}
