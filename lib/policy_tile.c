/* Textbook caching policies at tile granularity: "lru" and "lfu".
 *
 * A tile is SUSHI_SUBGRAPH_TILE_OUT (16) output channels of one weight
 * tensor, over the tensor's in-channel extent (below). observe() stamps every
 * tile a served SubNet uses with the query's tick (LRU) and counts it (LFU,
 * counts over the whole stream, no ageing). At an update the tiles are ranked
 * (LRU: most recent first; LFU: most used first, then most recent) and taken
 * in rank order while they fit; a tile that does not fit blocks the rest of
 * its tensor. Because OFA SubNets use prefixes, a SubNet that uses tile k of
 * a tensor uses tiles 0..k-1 too, so ranks never favour tile k over tile k-1
 * (ties go to the lower k) and what is taken is a prefix of tiles: one box
 * per tensor, as a SubGraph stores it.
 *
 * In-channel extent of a tensor's tiles: the largest extent any SubNet served
 * since the last update used (the previous one when none used the tensor).
 * Requests for fewer input channels still hit those tiles; the extra columns
 * are the price of a box-shaped cache line. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const sushi_policy_ops *sushi_policy_lru_ops(void);
const sushi_policy_ops *sushi_policy_lfu_ops(void);

typedef struct tile_rank {
    uint64_t key1, key2; /* larger first */
    uint32_t t, k;
} tile_rank;

typedef struct tile_policy {
    const sushi_supernet *sn;
    bool lfu;
    uint32_t n_t;
    uint32_t *tile0;    /* first tile index of each tensor (n_t + 1 entries) */
    uint32_t *o_max;    /* output channels of each tensor */
    uint32_t *kk;
    uint32_t *i_win;    /* largest in-extent seen since the last update */
    uint32_t *i_last;   /* extent used at the last update */
    uint32_t *taken;
    bool *blocked;
    uint64_t *last;     /* per tile: tick of the last use (0 = never) */
    uint64_t *count;    /* per tile: uses */
    tile_rank *rank;
    uint64_t tick;
} tile_policy;

static void tp_destroy(void *state)
{
    tile_policy *p = state;
    if (!p)
        return;
    const sushi_context *ctx = p->sn->ctx;
    sushi_free(ctx, p->tile0);
    sushi_free(ctx, p->o_max);
    sushi_free(ctx, p->kk);
    sushi_free(ctx, p->i_win);
    sushi_free(ctx, p->i_last);
    sushi_free(ctx, p->taken);
    sushi_free(ctx, p->blocked);
    sushi_free(ctx, p->last);
    sushi_free(ctx, p->count);
    sushi_free(ctx, p->rank);
    sushi_free(ctx, p);
}

static int tp_create(const sushi_supernet *sn, bool lfu, void **out)
{
    const sushi_context *ctx = sn->ctx;
    tile_policy *p = sushi_calloc(ctx, 1, sizeof *p);
    if (!p)
        return SUSHI_ERR_NOMEM;
    p->sn = sn;
    p->lfu = lfu;
    uint32_t n = p->n_t = sn->n_wt;
    p->tile0 = sushi_calloc(ctx, n + 1, sizeof *p->tile0);
    p->o_max = sushi_calloc(ctx, n + 1, sizeof *p->o_max);
    p->kk = sushi_calloc(ctx, n + 1, sizeof *p->kk);
    p->i_win = sushi_calloc(ctx, n + 1, sizeof *p->i_win);
    p->i_last = sushi_calloc(ctx, n + 1, sizeof *p->i_last);
    p->taken = sushi_calloc(ctx, n + 1, sizeof *p->taken);
    p->blocked = sushi_calloc(ctx, n + 1, sizeof *p->blocked);
    if (!p->tile0 || !p->o_max || !p->kk || !p->i_win || !p->i_last || !p->taken || !p->blocked) {
        tp_destroy(p);
        return SUSHI_ERR_NOMEM;
    }
    uint32_t tiles = 0;
    for (uint32_t t = 0; t < n; t++) {
        const sushi_tensor *ts = &sn->tensors[sn->wt[t]];
        p->tile0[t] = tiles;
        p->o_max[t] = ts->shape[0];
        p->kk[t] = ts->kk;
        tiles += (ts->shape[0] + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT;
    }
    p->tile0[n] = tiles;
    p->last = sushi_calloc(ctx, tiles + 1, sizeof *p->last);
    p->count = sushi_calloc(ctx, tiles + 1, sizeof *p->count);
    p->rank = sushi_calloc(ctx, tiles + 1, sizeof *p->rank);
    if (!p->last || !p->count || !p->rank) {
        tp_destroy(p);
        return SUSHI_ERR_NOMEM;
    }
    *out = p;
    return SUSHI_OK;
}

static int lru_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    return tp_create(sn, false, out);
}

static int lfu_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    return tp_create(sn, true, out);
}

static int tp_observe(void *state, const sushi_subnet *s)
{
    tile_policy *p = state;
    p->tick++;
    for (uint32_t t = 0; t < p->n_t; t++) {
        uint32_t o = s->box_out[t], i = s->box_in[t];
        if (o == 0 || i == 0)
            continue;
        uint32_t nt = (o + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT;
        uint64_t *last = p->last + p->tile0[t], *cnt = p->count + p->tile0[t];
        for (uint32_t k = 0; k < nt; k++) {
            last[k] = p->tick;
            cnt[k]++;
        }
        if (i > p->i_win[t])
            p->i_win[t] = i;
    }
    return SUSHI_OK;
}

static int cmp_rank(const void *a, const void *b)
{
    const tile_rank *x = a, *y = b;
    if (x->key1 != y->key1)
        return x->key1 > y->key1 ? -1 : 1;
    if (x->key2 != y->key2)
        return x->key2 > y->key2 ? -1 : 1;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static int tp_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    tile_policy *p = state;
    size_t n = 0;
    for (uint32_t t = 0; t < p->n_t; t++) {
        uint32_t in = p->i_win[t] ? p->i_win[t] : p->i_last[t];
        p->i_last[t] = in;
        p->i_win[t] = 0;
        p->taken[t] = 0;
        p->blocked[t] = in == 0;
        for (uint32_t k = 0; k < p->tile0[t + 1] - p->tile0[t]; k++) {
            uint32_t g = p->tile0[t] + k;
            if (p->last[g] == 0)
                continue;
            tile_rank *r = &p->rank[n++];
            r->key1 = p->lfu ? p->count[g] : p->last[g];
            r->key2 = p->lfu ? p->last[g] : 0;
            r->t = t;
            r->k = k;
        }
    }
    qsort(p->rank, n, sizeof *p->rank, cmp_rank);
    uint64_t used = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t t = p->rank[j].t, k = p->rank[j].k;
        if (p->blocked[t])
            continue;
        if (k != p->taken[t]) { /* cannot happen (prefix property); keep boxes anyway */
            p->blocked[t] = true;
            continue;
        }
        uint32_t lo = k * SUSHI_SUBGRAPH_TILE_OUT;
        uint32_t ch = p->o_max[t] - lo < SUSHI_SUBGRAPH_TILE_OUT ? p->o_max[t] - lo : SUSHI_SUBGRAPH_TILE_OUT;
        uint64_t bytes = (uint64_t)ch * p->i_last[t] * p->kk[t];
        if (used + bytes > v->capacity_bytes) {
            p->blocked[t] = true;
            continue;
        }
        used += bytes;
        p->taken[t]++;
    }
    for (uint32_t t = 0; t < p->n_t; t++) {
        uint32_t o = p->taken[t] * SUSHI_SUBGRAPH_TILE_OUT;
        if (o > p->o_max[t])
            o = p->o_max[t];
        int rc = sushi_subgraph_set(next, t, o, o ? p->i_last[t] : 0);
        if (rc)
            return rc;
    }
    return SUSHI_OK;
}

static const sushi_policy_ops lru_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "least recently used 16-channel tiles evicted first (textbook baseline)",
    .create = lru_create,
    .destroy = tp_destroy,
    .observe = tp_observe,
    .choose = tp_choose,
};

static const sushi_policy_ops lfu_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "least frequently used 16-channel tiles evicted first (textbook baseline)",
    .create = lfu_create,
    .destroy = tp_destroy,
    .observe = tp_observe,
    .choose = tp_choose,
};

const sushi_policy_ops *sushi_policy_lru_ops(void) { return &lru_ops; }
const sushi_policy_ops *sushi_policy_lfu_ops(void) { return &lfu_ops; }
