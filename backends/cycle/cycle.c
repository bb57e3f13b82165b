/* "cycle" backend: the SushiAccel model (model.c) behind the backend table.
 * State: the parameters and the SubGraph resident in the persistent buffer. */
#include <string.h>

#include "internal.h"
#include "savings.h"
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

/* ------------------------------------------------------------ tile savings */

/* Slot a layer reads as its weight (r = 0) or as the SE expand weight
 * (r = 1). The two roles are measured in separate passes so that every
 * layer's cost change has exactly one slot to blame. */
static int32_t layer_slot(const sushi_subnet *s, uint32_t l, int r)
{
    const sushi_supernet *sn = s->sn;
    int32_t w = r ? s->layers[l].w2 : s->layers[l].w;
    if (w < 0 || (uint32_t)w >= sn->n_tensors)
        return -1;
    return sn->tensors[w].wslot;
}

int sushi_cycle_tile_savings(const sushi_cycle_model *m, const sushi_subnet *s, sushi_tile_saving *out, size_t n)
{
    const sushi_supernet *sn = s->sn;
    const sushi_context *ctx = sn->ctx;
    const uint32_t nl = s->n_layers, ns = sn->n_wt, T = SUSHI_SUBGRAPH_TILE_OUT;
    sushi_cycle_model mm = *m;
    mm.pb_kib = 1e8; /* the parameter's maximum: no truncation of the measured boxes */
    size_t *first = sushi_calloc(ctx, ns + 1, sizeof *first);
    int8_t *role = sushi_calloc(ctx, ns + 1, sizeof *role);
    sushi_layer_cost *prev = sushi_calloc(ctx, nl + 1, sizeof *prev);
    sushi_layer_cost *cur = sushi_calloc(ctx, nl + 1, sizeof *cur);
    sushi_subgraph *g = NULL;
    int rc = (first && role && prev && cur) ? sushi_subgraph_create(sn, &g) : SUSHI_ERR_NOMEM;
    size_t k = 0;
    uint32_t max_tiles = 0;
    bool two = false;
    for (uint32_t t = 0; !rc && t < ns; t++) {
        role[t] = -1;
        first[t] = k;
        if (!s->box_out[t] || !s->box_in[t])
            continue;
        uint32_t nt = (s->box_out[t] + T - 1) / T;
        const uint64_t row = (uint64_t)s->box_in[t] * sn->tensors[sn->wt[t]].kk;
        for (uint32_t j = 0; j < nt && k < n; j++) {
            uint32_t hi = (j + 1) * T < s->box_out[t] ? (j + 1) * T : s->box_out[t];
            out[k++].bytes = (uint64_t)(hi - j * T) * row;
        }
        max_tiles = nt > max_tiles ? nt : max_tiles;
    }
    if (!rc && k != n)
        rc = SUSHI_ERR_INVALID;
    for (uint32_t l = 0; !rc && l < nl; l++)
        for (int r = 0; r < 2; r++) {
            int32_t t = layer_slot(s, l, r);
            if (t >= 0 && (uint32_t)t < ns && s->box_out[t] && s->box_in[t] && role[t] < 0) {
                role[t] = (int8_t)r;
                two = two || r == 1;
            }
        }
    for (int r = 0; !rc && r < (two ? 2 : 1); r++) {
        sushi_subgraph_clear(g);
        rc = sushi_cycle_cost_subnet(&mm, s, NULL, prev, NULL);
        for (uint32_t j = 0; !rc && j < max_tiles; j++) {
            for (uint32_t t = 0; !rc && t < ns; t++)
                if (role[t] == r && j * T < s->box_out[t]) {
                    uint32_t o = (j + 1) * T < s->box_out[t] ? (j + 1) * T : s->box_out[t];
                    rc = sushi_subgraph_set(g, t, o, s->box_in[t]);
                }
            if (!rc)
                rc = sushi_cycle_cost_subnet(&mm, s, g, cur, NULL);
            for (uint32_t l = 0; !rc && l < nl; l++) {
                int32_t t = layer_slot(s, l, r);
                if (t < 0 || (uint32_t)t >= ns || role[t] != r || j * T >= s->box_out[t])
                    continue;
                sushi_tile_saving *e = &out[first[t] + j];
                e->latency_s += prev[l].latency_s - cur[l].latency_s;
                e->energy_j += prev[l].energy_j - cur[l].energy_j;
                e->offchip_bytes += prev[l].offchip_bytes - cur[l].offchip_bytes;
            }
            sushi_layer_cost *x = prev;
            prev = cur;
            cur = x;
        }
    }
    sushi_subgraph_destroy(g);
    sushi_free(ctx, first);
    sushi_free(ctx, role);
    sushi_free(ctx, prev);
    sushi_free(ctx, cur);
    return rc;
}

static int cycle_tile_savings(void *p, const sushi_subnet *s, sushi_tile_saving *out, size_t n)
{
    cycle_state *st = p;
    return sushi_cycle_tile_savings(&st->m, s, out, n);
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
    .tile_savings = cycle_tile_savings,
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
