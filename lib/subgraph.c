/* sushi_subgraph: per-weight-tensor prefix boxes; intersection and hit bytes. */
#include <string.h>

#include "internal.h"

int sushi_subgraph_create(const sushi_supernet *sn, sushi_subgraph **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn)
        return SUSHI_ERR_INVALID;
    sushi_subgraph *g = sushi_calloc(sn->ctx, 1, sizeof *g);
    if (!g)
        return SUSHI_ERR_NOMEM;
    g->n = sn->n_wt;
    g->out_ch = sushi_calloc(sn->ctx, g->n + 1, sizeof *g->out_ch);
    g->in_ch = sushi_calloc(sn->ctx, g->n + 1, sizeof *g->in_ch);
    if (!g->out_ch || !g->in_ch) {
        sushi_free(sn->ctx, g->out_ch);
        sushi_free(sn->ctx, g->in_ch);
        sushi_free(sn->ctx, g);
        return SUSHI_ERR_NOMEM;
    }
    g->sn = (sushi_supernet *)sn;
    sushi_ref_get(&g->sn->ref);
    *out = g;
    return SUSHI_OK;
}

void sushi_subgraph_destroy(sushi_subgraph *g)
{
    if (!g)
        return;
    sushi_supernet *sn = g->sn;
    sushi_free(sn->ctx, g->out_ch);
    sushi_free(sn->ctx, g->in_ch);
    sushi_free(sn->ctx, g);
    sushi_supernet_destroy(sn);
}

int sushi_subgraph_clear(sushi_subgraph *g)
{
    if (!g)
        return SUSHI_ERR_INVALID;
    memset(g->out_ch, 0, g->n * sizeof *g->out_ch);
    memset(g->in_ch, 0, g->n * sizeof *g->in_ch);
    return SUSHI_OK;
}

int sushi_subgraph_copy(sushi_subgraph *dst, const sushi_subgraph *src)
{
    if (!dst || !src || dst->sn != src->sn)
        return SUSHI_ERR_INVALID;
    if (dst != src) {
        memcpy(dst->out_ch, src->out_ch, src->n * sizeof *src->out_ch);
        memcpy(dst->in_ch, src->in_ch, src->n * sizeof *src->in_ch);
    }
    return SUSHI_OK;
}

int sushi_subgraph_set_subnet(sushi_subgraph *g, const sushi_subnet *s)
{
    if (!g || !s || g->sn != s->sn)
        return SUSHI_ERR_INVALID;
    memcpy(g->out_ch, s->box_out, g->n * sizeof *g->out_ch);
    memcpy(g->in_ch, s->box_in, g->n * sizeof *g->in_ch);
    return SUSHI_OK;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

int sushi_subgraph_intersect_subnet(sushi_subgraph *g, const sushi_subnet *s)
{
    if (!g || !s || g->sn != s->sn)
        return SUSHI_ERR_INVALID;
    for (uint32_t t = 0; t < g->n; t++) {
        g->out_ch[t] = min_u32(g->out_ch[t], s->box_out[t]);
        g->in_ch[t] = min_u32(g->in_ch[t], s->box_in[t]);
    }
    return SUSHI_OK;
}

int sushi_subgraph_intersect(sushi_subgraph *dst, const sushi_subgraph *a, const sushi_subgraph *b)
{
    if (!dst || !a || !b || dst->sn != a->sn || a->sn != b->sn)
        return SUSHI_ERR_INVALID;
    for (uint32_t t = 0; t < dst->n; t++) {
        dst->out_ch[t] = min_u32(a->out_ch[t], b->out_ch[t]);
        dst->in_ch[t] = min_u32(a->in_ch[t], b->in_ch[t]);
    }
    return SUSHI_OK;
}

static inline uint32_t kk_of(const sushi_supernet *sn, uint32_t t) { return sn->tensors[sn->wt[t]].kk; }

uint64_t sushi_subgraph_bytes(const sushi_subgraph *g)
{
    if (!g)
        return 0;
    uint64_t total = 0;
    for (uint32_t t = 0; t < g->n; t++)
        total += (uint64_t)g->out_ch[t] * g->in_ch[t] * kk_of(g->sn, t);
    return total;
}

uint64_t sushi_subgraph_hit_bytes(const sushi_subgraph *g, const sushi_subnet *s)
{
    if (!g || !s || g->sn != s->sn)
        return 0;
    uint64_t total = 0;
    const sushi_supernet *sn = g->sn;
    for (uint32_t t = 0; t < g->n; t++) {
        uint32_t o = min_u32(g->out_ch[t], s->box_out[t]);
        uint32_t i = min_u32(g->in_ch[t], s->box_in[t]);
        total += (uint64_t)o * i * kk_of(sn, t);
    }
    return total;
}

static bool box_in(uint32_t oo, uint32_t oi, uint32_t io, uint32_t ii)
{
    /* an empty inner box is contained in anything */
    return (io == 0 || ii == 0) || (io <= oo && ii <= oi);
}

bool sushi_subgraph_contains(const sushi_subgraph *outer, const sushi_subgraph *inner)
{
    if (!outer || !inner || outer->sn != inner->sn)
        return false;
    for (uint32_t t = 0; t < outer->n; t++)
        if (!box_in(outer->out_ch[t], outer->in_ch[t], inner->out_ch[t], inner->in_ch[t]))
            return false;
    return true;
}

bool sushi_subgraph_contains_subnet(const sushi_subgraph *g, const sushi_subnet *s)
{
    if (!g || !s || g->sn != s->sn)
        return false;
    for (uint32_t t = 0; t < g->n; t++)
        if (!box_in(g->out_ch[t], g->in_ch[t], s->box_out[t], s->box_in[t]))
            return false;
    return true;
}

int sushi_subgraph_truncate(sushi_subgraph *g, uint64_t budget)
{
    if (!g)
        return SUSHI_ERR_INVALID;
    uint64_t used = 0;
    uint32_t t = 0;
    for (; t < g->n; t++) {
        uint64_t row = (uint64_t)g->in_ch[t] * kk_of(g->sn, t); /* bytes per output channel */
        uint64_t full = row * g->out_ch[t];
        if (used + full <= budget) {
            used += full;
            continue;
        }
        /* partial: whole tiles of output channels */
        uint64_t room = budget - used;
        uint64_t tiles = row ? room / (row * SUSHI_SUBGRAPH_TILE_OUT) : 0;
        uint64_t keep = tiles * SUSHI_SUBGRAPH_TILE_OUT;
        if (keep >= g->out_ch[t])
            keep = 0; /* cannot happen (full did not fit); defensive */
        g->out_ch[t] = (uint32_t)keep;
        if (keep == 0)
            g->in_ch[t] = 0;
        t++;
        break;
    }
    for (; t < g->n; t++)
        g->out_ch[t] = g->in_ch[t] = 0;
    return SUSHI_OK;
}

size_t sushi_subgraph_n_tensors(const sushi_subgraph *g) { return g ? g->n : 0; }

int sushi_subgraph_get(const sushi_subgraph *g, size_t t, uint32_t *out_ch, uint32_t *in_ch,
                       uint32_t *kernel_area)
{
    if (!g)
        return SUSHI_ERR_INVALID;
    if (t >= g->n)
        return SUSHI_ERR_RANGE;
    if (out_ch)
        *out_ch = g->out_ch[t];
    if (in_ch)
        *in_ch = g->in_ch[t];
    if (kernel_area)
        *kernel_area = kk_of(g->sn, (uint32_t)t);
    return SUSHI_OK;
}

int sushi_subgraph_set(sushi_subgraph *g, size_t t, uint32_t out_ch, uint32_t in_ch)
{
    if (!g)
        return SUSHI_ERR_INVALID;
    if (t >= g->n)
        return SUSHI_ERR_RANGE;
    const sushi_tensor *ts = &g->sn->tensors[g->sn->wt[t]];
    uint32_t maxo = ts->shape[0], maxi = ts->shape[1];
    g->out_ch[t] = out_ch < maxo ? out_ch : maxo;
    g->in_ch[t] = in_ch < maxi ? in_ch : maxi;
    if (g->out_ch[t] == 0 || g->in_ch[t] == 0)
        g->out_ch[t] = g->in_ch[t] = 0;
    return SUSHI_OK;
}
