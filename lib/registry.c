/* Backend and policy registries, and the instance objects that dispatch to them. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Grow a registry array by one slot. */
static int grow(sushi_context *ctx, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return SUSHI_OK;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = sushi_realloc(ctx, *arr, ncap * elem);
    if (!p)
        return SUSHI_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return SUSHI_OK;
}

int sushi_backend_register(sushi_context *ctx, const char *name, const sushi_backend_ops *ops,
                           void *user)
{
    if (!ctx || !ops || !sushi_valid_registry_name(name) || !ops->create ||
        (ops->description && !sushi_utf8_valid(ops->description, strlen(ops->description))))
        return SUSHI_ERR_INVALID;
    if (ops->abi_version == 0 || ops->abi_version > SUSHI_BACKEND_ABI_VERSION)
        return SUSHI_ERR_ABI;
    if (atomic_load(&ctx->in_use))
        return SUSHI_ERR_STATE;
    if (sushi_find_backend(ctx, name))
        return SUSHI_ERR_EXISTS;
    int rc = grow(ctx, (void **)&ctx->backends, &ctx->cap_backends, ctx->n_backends,
                  sizeof *ctx->backends);
    if (rc)
        return rc;
    sushi_backend_entry *e = &ctx->backends[ctx->n_backends];
    memset(e, 0, sizeof *e);
    e->description = sushi_strdup(ctx, ops->description ? ops->description : "");
    if (!e->description)
        return SUSHI_ERR_NOMEM;
    strcpy(e->name, name);
    /* copy only the slots the table's version has: a version-1 table ends at
     * run (docs/abi.md, rule 6); later slots stay NULL */
    memcpy(&e->ops, ops, ops->abi_version >= 2 ? sizeof e->ops : offsetof(sushi_backend_ops, tile_savings));
    e->ops.description = e->description;
    e->user = user;
    ctx->n_backends++;
    return SUSHI_OK;
}

const sushi_backend_entry *sushi_find_backend(const sushi_context *ctx, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ctx->n_backends; i++)
        if (strcmp(ctx->backends[i].name, name) == 0)
            return &ctx->backends[i];
    return NULL;
}

const char *sushi_backend_name(const sushi_context *ctx, size_t i)
{
    return (ctx && i < ctx->n_backends) ? ctx->backends[i].name : NULL;
}

int sushi_backend_create(const sushi_supernet *sn, const char *name, sushi_backend **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn || !name)
        return SUSHI_ERR_INVALID;
    const sushi_context *ctx = sn->ctx;
    const sushi_backend_entry *e = sushi_find_backend(ctx, name);
    if (!e)
        return SUSHI_ERR_NOT_FOUND;
    sushi_backend *b = sushi_calloc(ctx, 1, sizeof *b);
    if (!b)
        return SUSHI_ERR_NOMEM;
    int rc = e->ops.create(e->user, sn, &b->state);
    if (rc != SUSHI_OK) {
        sushi_free(ctx, b);
        return rc < 0 ? rc : SUSHI_ERR_BACKEND;
    }
    sushi_ref_init(&b->ref);
    b->sn = (sushi_supernet *)sn;
    sushi_ref_get(&b->sn->ref);
    b->entry = e;
    *out = b;
    return SUSHI_OK;
}

void sushi_backend_destroy(sushi_backend *b)
{
    if (!b || !sushi_ref_put(&b->ref))
        return;
    if (b->entry->ops.destroy)
        b->entry->ops.destroy(b->state);
    sushi_supernet *sn = b->sn;
    sushi_free(sn->ctx, b);
    sushi_supernet_destroy(sn);
}

const char *sushi_backend_get_name(const sushi_backend *b) { return b ? b->entry->name : NULL; }

uint32_t sushi_backend_caps(const sushi_backend *b) { return b ? b->entry->ops.caps : 0; }

int sushi_backend_set_param(sushi_backend *b, const char *key, double value)
{
    if (!b || !key || isnan(value))
        return SUSHI_ERR_INVALID;
    if (!b->entry->ops.set_param)
        return SUSHI_ERR_UNSUPPORTED;
    return b->entry->ops.set_param(b->state, key, value);
}

int sushi_backend_get_param(const sushi_backend *b, const char *key, double *value)
{
    if (!b || !key || !value)
        return SUSHI_ERR_INVALID;
    if (!b->entry->ops.get_param)
        return SUSHI_ERR_UNSUPPORTED;
    return b->entry->ops.get_param(b->state, key, value);
}

static bool cost_ok(const sushi_cost *c) { return !c || c->size >= sizeof(sushi_cost); }

int sushi_backend_cost(sushi_backend *b, const sushi_subnet *s, const sushi_subgraph *g,
                       sushi_cost *out)
{
    if (!b || !s || !out)
        return SUSHI_ERR_INVALID;
    if (!cost_ok(out))
        return SUSHI_ERR_ABI;
    if (s->sn != b->sn || (g && g->sn != b->sn))
        return SUSHI_ERR_INVALID;
    if (!b->entry->ops.cost)
        return SUSHI_ERR_UNSUPPORTED;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    return b->entry->ops.cost(b->state, s, g, out);
}

/* Tiles of s: per used slot, ceil(out / TILE_OUT). */
size_t sushi_subnet_tile_count(const sushi_subnet *s)
{
    size_t n = 0;
    for (uint32_t t = 0; t < s->sn->n_wt; t++)
        if (s->box_out[t] && s->box_in[t])
            n += (s->box_out[t] + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT;
    return n;
}

int sushi_backend_tile_savings(sushi_backend *b, const sushi_subnet *s, sushi_tile_saving *out, size_t n,
                               size_t *n_out)
{
    if (!b || !s || !n_out || s->sn != b->sn)
        return SUSHI_ERR_INVALID;
    size_t need = sushi_subnet_tile_count(s);
    *n_out = need;
    if (b->entry->ops.abi_version < 2 || !b->entry->ops.tile_savings)
        return SUSHI_ERR_UNSUPPORTED;
    if (!out)
        return SUSHI_OK;
    if (n < need)
        return SUSHI_ERR_RANGE;
    memset(out, 0, need * sizeof *out);
    int rc = b->entry->ops.tile_savings(b->state, s, out, need);
    if (rc != SUSHI_OK)
        memset(out, 0, need * sizeof *out);
    return rc;
}

int sushi_backend_set_resident(sushi_backend *b, const sushi_subgraph *g, sushi_cost *reload)
{
    if (!b)
        return SUSHI_ERR_INVALID;
    if (!cost_ok(reload))
        return SUSHI_ERR_ABI;
    if (g && g->sn != b->sn)
        return SUSHI_ERR_INVALID;
    if (!b->entry->ops.set_resident)
        return SUSHI_ERR_UNSUPPORTED;
    sushi_cost tmp = SUSHI_COST_INIT;
    sushi_cost *r = reload ? reload : &tmp;
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    return b->entry->ops.set_resident(b->state, g, r);
}

int sushi_backend_run(sushi_backend *b, const sushi_subnet *s, const sushi_run_args *args,
                      sushi_cost *cost)
{
    if (!b)
        return SUSHI_ERR_INVALID;
    const sushi_context *ctx = b->sn->ctx;
    /* Three different mistakes share SUSHI_ERR_INVALID (no new status codes):
     * each gets its own log line so the caller can tell them apart. */
    if (!s || !args) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "sushi_backend_run: %s is NULL", !s ? "the SubNet" : "args");
        return SUSHI_ERR_INVALID;
    }
    if (args->size < sizeof(sushi_run_args) || !cost_ok(cost))
        return SUSHI_ERR_ABI;
    if (s->sn != b->sn) {
        sushi_log(ctx, SUSHI_LOG_ERROR,
                  "sushi_backend_run: the SubNet comes from SuperNet '%s', the backend was created for '%s'",
                  s->sn->name ? s->sn->name : "?", b->sn->name ? b->sn->name : "?");
        return SUSHI_ERR_INVALID;
    }
    if (b->entry->ops.caps & SUSHI_BACKEND_CAP_RUN) {
        /* the buffers sushi_run_args documents: in_c * r * r inputs, the
         * output value's floats (num_classes) of room */
        uint64_t need_in = (uint64_t)b->sn->in_channels * s->cfg.resolution * s->cfg.resolution;
        const sushi_value *ov = &s->values[s->output_value];
        uint64_t need_out = (uint64_t)ov->c * ov->h * ov->w;
        if (!args->input || !args->output) {
            sushi_log(ctx, SUSHI_LOG_ERROR, "sushi_backend_run: args.%s is NULL", !args->input ? "input" : "output");
            return SUSHI_ERR_INVALID;
        }
        if (args->input_len != need_in || args->output_len < need_out) {
            if (args->input_len != need_in)
                sushi_log(ctx, SUSHI_LOG_ERROR,
                          "sushi_backend_run: args.input_len %zu, the SubNet takes %u x %u x %u = %llu floats",
                          args->input_len, b->sn->in_channels, s->cfg.resolution, s->cfg.resolution,
                          (unsigned long long)need_in);
            else
                sushi_log(ctx, SUSHI_LOG_ERROR, "sushi_backend_run: args.output_len %zu < the %llu outputs",
                          args->output_len, (unsigned long long)need_out);
            return SUSHI_ERR_INVALID;
        }
    }
    if (!b->entry->ops.run)
        return SUSHI_ERR_UNSUPPORTED;
    if (args->int8 && !(b->entry->ops.caps & SUSHI_BACKEND_CAP_INT8))
        return SUSHI_ERR_UNSUPPORTED;
    if (cost) {
        memset(cost, 0, sizeof *cost);
        cost->size = sizeof *cost;
    }
    return b->entry->ops.run(b->state, s, args, cost);
}

/* ---------------- policies ---------------- */

int sushi_policy_register(sushi_context *ctx, const char *name, const sushi_policy_ops *ops,
                          void *user)
{
    if (!ctx || !ops || !sushi_valid_registry_name(name) || !ops->create || !ops->choose ||
        (ops->description && !sushi_utf8_valid(ops->description, strlen(ops->description))))
        return SUSHI_ERR_INVALID;
    if (ops->abi_version == 0 || ops->abi_version > SUSHI_POLICY_ABI_VERSION)
        return SUSHI_ERR_ABI;
    if (atomic_load(&ctx->in_use))
        return SUSHI_ERR_STATE;
    if (sushi_find_policy(ctx, name))
        return SUSHI_ERR_EXISTS;
    int rc = grow(ctx, (void **)&ctx->policies, &ctx->cap_policies, ctx->n_policies,
                  sizeof *ctx->policies);
    if (rc)
        return rc;
    sushi_policy_entry *e = &ctx->policies[ctx->n_policies];
    memset(e, 0, sizeof *e);
    e->description = sushi_strdup(ctx, ops->description ? ops->description : "");
    if (!e->description)
        return SUSHI_ERR_NOMEM;
    strcpy(e->name, name);
    e->ops = *ops;
    e->ops.description = e->description;
    e->user = user;
    ctx->n_policies++;
    return SUSHI_OK;
}

const sushi_policy_entry *sushi_find_policy(const sushi_context *ctx, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ctx->n_policies; i++)
        if (strcmp(ctx->policies[i].name, name) == 0)
            return &ctx->policies[i];
    return NULL;
}

const char *sushi_policy_name(const sushi_context *ctx, size_t i)
{
    return (ctx && i < ctx->n_policies) ? ctx->policies[i].name : NULL;
}

int sushi_policy_create(const sushi_supernet *sn, const char *name, sushi_policy **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn || !name)
        return SUSHI_ERR_INVALID;
    const sushi_policy_entry *e = sushi_find_policy(sn->ctx, name);
    if (!e)
        return SUSHI_ERR_NOT_FOUND;
    sushi_policy *p = sushi_calloc(sn->ctx, 1, sizeof *p);
    if (!p)
        return SUSHI_ERR_NOMEM;
    int rc = e->ops.create(e->user, sn, &p->state);
    if (rc != SUSHI_OK) {
        sushi_free(sn->ctx, p);
        return rc < 0 ? rc : SUSHI_ERR_BACKEND;
    }
    sushi_ref_init(&p->ref);
    p->sn = (sushi_supernet *)sn;
    sushi_ref_get(&p->sn->ref);
    p->entry = e;
    *out = p;
    return SUSHI_OK;
}

void sushi_policy_destroy(sushi_policy *p)
{
    if (!p || !sushi_ref_put(&p->ref))
        return;
    if (p->entry->ops.destroy)
        p->entry->ops.destroy(p->state);
    sushi_supernet *sn = p->sn;
    sushi_free(sn->ctx, p);
    sushi_supernet_destroy(sn);
}

const char *sushi_policy_get_name(const sushi_policy *p) { return p ? p->entry->name : NULL; }

int sushi_policy_observe(sushi_policy *p, const sushi_subnet *served)
{
    if (!p || !served || served->sn != p->sn)
        return SUSHI_ERR_INVALID;
    if (!p->entry->ops.observe)
        return SUSHI_OK;
    return p->entry->ops.observe(p->state, served);
}

int sushi_policy_choose(sushi_policy *p, const sushi_policy_view *view, sushi_subgraph *next)
{
    if (!p || !view || !next || next->sn != p->sn || view->supernet != p->sn)
        return SUSHI_ERR_INVALID;
    /* the sizes callers build: 0.1/0.2 (ends at n_candidates) or today's */
    if (view->size != SUSHI_POLICY_VIEW_SIZE_V1 && view->size < sizeof(sushi_policy_view))
        return SUSHI_ERR_ABI;
    /* a 0.1-sized view: show the policy the appended fields zeroed */
    sushi_policy_view full;
    memset(&full, 0, sizeof full);
    memcpy(&full, view, view->size < sizeof full ? view->size : sizeof full);
    full.size = sizeof full;
    if (full.objective < SUSHI_OBJECTIVE_BYTES || full.objective > SUSHI_OBJECTIVE_ENERGY)
        return SUSHI_ERR_INVALID;
    if (full.objective != SUSHI_OBJECTIVE_BYTES && !full.tile_savings)
        full.objective = SUSHI_OBJECTIVE_BYTES;
    view = &full;
    if ((view->n_window && !view->window) || (view->n_future && !view->future) ||
        (view->n_candidates && !view->candidates))
        return SUSHI_ERR_INVALID;
    sushi_subgraph_clear(next);
    int rc = p->entry->ops.choose(p->state, view, next);
    if (rc != SUSHI_OK) {
        sushi_subgraph_clear(next);
        return rc;
    }
    if (sushi_subgraph_bytes(next) > view->capacity_bytes) {
        sushi_log(p->sn->ctx, SUSHI_LOG_ERROR, "policy %s chose %llu bytes over capacity %llu",
                  p->entry->name, (unsigned long long)sushi_subgraph_bytes(next),
                  (unsigned long long)view->capacity_bytes);
        sushi_subgraph_clear(next);
        return SUSHI_ERR_BACKEND;
    }
    return SUSHI_OK;
}
