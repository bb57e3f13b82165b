/* "null" backend: the smallest complete backend, for tests and as a template.
 * It reports a SubNet's MACs and weight bytes (all fetched off-chip, minus
 * what the resident SubGraph holds) and writes zeros as outputs. It registers
 * through the public path like every other backend. */
#include <string.h>

#include "internal.h"

typedef struct null_state {
    const sushi_supernet *sn;
    sushi_subgraph *resident;
    double ns_per_mac;
} null_state;

static int null_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    null_state *st = sushi_calloc(sn->ctx, 1, sizeof *st);
    if (!st)
        return SUSHI_ERR_NOMEM;
    st->sn = sn;
    st->ns_per_mac = 1.0;
    int rc = sushi_subgraph_create(sn, &st->resident);
    if (rc) {
        sushi_free(sn->ctx, st);
        return rc;
    }
    *out = st;
    return SUSHI_OK;
}

static void null_destroy(void *p)
{
    null_state *st = p;
    const sushi_context *ctx = st->sn->ctx;
    sushi_subgraph_destroy(st->resident);
    sushi_free(ctx, st);
}

static int null_set_param(void *p, const char *key, double v)
{
    null_state *st = p;
    if (strcmp(key, "ns_per_mac") != 0)
        return SUSHI_ERR_NOT_FOUND;
    if (!(v >= 0.0 && v <= 1e6))
        return SUSHI_ERR_RANGE;
    st->ns_per_mac = v;
    return SUSHI_OK;
}

static int null_get_param(void *p, const char *key, double *v)
{
    null_state *st = p;
    if (strcmp(key, "ns_per_mac") != 0)
        return SUSHI_ERR_NOT_FOUND;
    *v = st->ns_per_mac;
    return SUSHI_OK;
}

static int null_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    null_state *st = p;
    uint64_t hit = g ? sushi_subgraph_hit_bytes(g, s) : 0;
    out->macs = s->macs;
    out->hit_bytes = hit;
    out->weight_bytes = s->weight_bytes - hit;
    out->offchip_bytes = out->weight_bytes;
    out->latency_s = (double)s->macs * st->ns_per_mac * 1e-9;
    return SUSHI_OK;
}

static int null_set_resident(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    null_state *st = p;
    if (!g)
        return sushi_subgraph_clear(st->resident);
    reload->offchip_bytes = reload->weight_bytes = sushi_subgraph_bytes(g);
    return sushi_subgraph_copy(st->resident, g);
}

static int null_run(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    null_state *st = p;
    const sushi_supernet *sn = st->sn;
    uint64_t need_in = (uint64_t)sn->in_channels * s->cfg.resolution * s->cfg.resolution;
    if (!a->input || a->input_len != need_in || !a->output || a->output_len < sn->num_classes)
        return SUSHI_ERR_INVALID;
    memset(a->output, 0, sn->num_classes * sizeof *a->output);
    return cost ? null_cost(p, s, st->resident, cost) : SUSHI_OK;
}

static const sushi_backend_ops null_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST,
    .description = "test backend: counts MACs and weight bytes, outputs zeros",
    .create = null_create,
    .destroy = null_destroy,
    .set_param = null_set_param,
    .get_param = null_get_param,
    .cost = null_cost,
    .set_resident = null_set_resident,
    .run = null_run,
};

const sushi_backend_ops *sushi_backend_null_ops(void) { return &null_ops; }
