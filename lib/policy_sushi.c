/* Built-in caching policies built on one SubGraph optimiser:
 *
 *   none    nothing resident (the baseline without SubGraph Stationary)
 *   sushi   from the last Q served SubNets: the SubGraph within capacity that
 *           maximises the window's expected saving under the view's
 *           objective (bytes, time or energy)
 *   static  chosen once, at the first update, from the candidate set and the
 *           first window's demand; never changed
 *   oracle  from the SubNets the next Q queries will be served
 *           (view->future): the exact optimum of the same objective over
 *           SubGraphs made of resident units (exact_mckp), an upper bound
 *
 * Objective (docs/scheduler.md, "Objective"): bytes = hit bytes (below);
 * time/energy = the backend's tile savings, which the view hands out as
 * cumulative savings per tile; hit(s, G) is then replaced by
 * sum_t S_{s,t}(hit bytes of tensor t), S read on s's tile grid and
 * interpolated inside a tile (pair_saving). Everything below holds with
 * V_t(o, i) = sum_s w_s S_{s,t}(min(o_s, o) min(i_s, i) k_t^2).
 *
 * The optimiser (docs/scheduler.md, "The sushi policy"). Demand = a weighted
 * multiset of SubNets D. For a SubGraph G, savings(G) = sum_{s in D} w_s
 * hit(s, G). hit() is separable over weight tensors, and a SubGraph holds one
 * prefix box (o x i channels) per tensor, so
 *     savings(G) = sum_t V_t(o_t, i_t),
 *     V_t(o, i)  = k_t^2 sum_s w_s min(o_s, o) min(i_s, i),  cost o i k_t^2,
 * a multiple-choice knapsack over tensors. Options per tensor: o in the
 * output-tile grid (multiples of SUSHI_SUBGRAPH_TILE_OUT) plus the exact
 * extents demanded, i in the in-channel extents demanded. Per tensor the
 * options' upper concave hull (cost, value) is taken from a start box,
 * keeping collinear points (so a run of equally demanded tiles stays a run of
 * tile-sized steps); the hull steps of all tensors are taken greedily by
 * value per byte (= per-tile demand frequency) while they fit (a step that
 * does not fit ends its tensor); a residual pass then spends what is left on
 * the single best-value option change that fits, up to 4 times. This runs from the empty SubGraph and from the intersections of the
 * 1..4 most frequent SubNets of D (cut to capacity in network order when
 * they do not fit); the best savings wins.
 * Bytes the demand leaves free are filled for the candidate set (each
 * candidate weight 1), starting from the optimum: a tie-break among optima
 * that keeps the PB useful when demand moves, never a lower saving.
 * Ties in value per byte go to the tensor with the least weight reuse (output
 * positions per weight: the most weight-bound layer), which leaves the
 * savings unchanged but turns hit bytes into more saved time. */
#include <math.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

const sushi_policy_ops *sushi_policy_none_ops(void);
const sushi_policy_ops *sushi_policy_sushi_ops(void);
const sushi_policy_ops *sushi_policy_static_ops(void);
const sushi_policy_ops *sushi_policy_oracle_ops(void);

#define MAX_SEEDS 4
#define RESIDUAL_ROUNDS 4
#define MAX_MERGE 16

/* One demand pair of a tensor: the (o, i) box a SubNet reads, its weight,
 * and (objective time/energy) that SubNet's cumulative tile savings of this
 * tensor: cum[j] = saving of tiles 0..j. cum NULL: the bytes objective. */
typedef struct dpair {
    uint32_t o, i;
    double w;
    const double *cum;
} dpair;

typedef struct topt {
    uint32_t o, i;
    uint64_t cost;
    double val;
} topt;

typedef struct tinfo {
    uint32_t kk;
    uint64_t reuse;    /* output positions per weight (min over the demand): ties go to the lowest */
    uint32_t p0, np;   /* demand pairs */
    uint32_t q0, nq;   /* options */
} tinfo;

typedef struct hseg {
    double ratio, dv;
    uint64_t dc;
    uint32_t t, step;
    uint32_t o, i; /* the box this segment ends at */
} hseg;

typedef struct ditem {
    const sushi_subnet *s;
    double w;
    const double *cum; /* cumulative tile savings of s (NULL: bytes) */
    bool unit;         /* made of weight-1 items only (optimise's merged demand) */
} ditem;

/* Reusable scratch of one policy instance. */
typedef struct opt_ws {
    const sushi_context *ctx;
    uint32_t n_t;
    tinfo *ti;
    dpair *pairs;
    size_t cap_pairs;
    topt *opts;
    size_t cap_opts;
    topt *hull;
    size_t cap_hull;
    hseg *segs;
    size_t cap_segs;
    ditem *items;
    size_t cap_items;
    ditem *demand; /* the demand with repeated unit-weight items merged */
    size_t cap_demand;
    uint32_t *cur_o, *cur_i, *best_o, *best_i, *seed_o, *seed_i;
    uint64_t *cur_c;
    double *cur_v;
    uint32_t *steps;
    uint32_t *seg0, *segn, *heap;
    double *hkey; /* per tensor: the ratio of its next hull segment (the heap's key) */
    uint32_t *vals; /* scratch for distinct values */
    size_t cap_vals;
    double *gv, *gs;  /* per grid box of the current tensor: bytes and saving parts of value_of */
    size_t cap_grid;
    uint32_t *pmax;   /* per option: arg-max of val over its tensor's options up to it (cost order) */
    size_t cap_pmax;
    size_t *item_off; /* per demand item: offset of the current tensor's tiles in its cum */
    size_t cap_item_off;
    /* exact optimiser (oracle): per tensor the staircase of its options, the
     * DP rows and the choice table */
    topt *stair;
    size_t cap_stair;
    uint32_t *st0, *stn;
    double *dp0, *dp1;
    size_t cap_dp;
    uint16_t *choice;
    size_t cap_choice;
    hseg *lp;
    size_t cap_lp, n_lp;
    bool last_exact;   /* the last exact call reached the optimum */
    double last_bound; /* and its upper bound (NaN: none) */
} opt_ws;

/* workspace reallocations since the process started (sushi_policy_ws_grows) */
static atomic_size_t ws_grows;

size_t sushi_policy_ws_grows(void) { return atomic_load_explicit(&ws_grows, memory_order_relaxed); }

static int grow(const sushi_context *ctx, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return SUSHI_OK;
    atomic_fetch_add_explicit(&ws_grows, 1, memory_order_relaxed);
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = sushi_realloc(ctx, *p, n * elem);
    if (!q)
        return SUSHI_ERR_NOMEM;
    *p = q;
    *cap = n;
    return SUSHI_OK;
}

static void ws_free(opt_ws *w)
{
    if (!w)
        return;
    const sushi_context *ctx = w->ctx;
    sushi_free(ctx, w->ti);
    sushi_free(ctx, w->pairs);
    sushi_free(ctx, w->opts);
    sushi_free(ctx, w->hull);
    sushi_free(ctx, w->segs);
    sushi_free(ctx, w->items);
    sushi_free(ctx, w->cur_o);
    sushi_free(ctx, w->cur_i);
    sushi_free(ctx, w->best_o);
    sushi_free(ctx, w->best_i);
    sushi_free(ctx, w->seed_o);
    sushi_free(ctx, w->seed_i);
    sushi_free(ctx, w->cur_c);
    sushi_free(ctx, w->cur_v);
    sushi_free(ctx, w->steps);
    sushi_free(ctx, w->seg0);
    sushi_free(ctx, w->segn);
    sushi_free(ctx, w->heap);
    sushi_free(ctx, w->hkey);
    sushi_free(ctx, w->demand);
    sushi_free(ctx, w->vals);
    sushi_free(ctx, w->item_off);
    sushi_free(ctx, w->pmax);
    sushi_free(ctx, w->gv);
    sushi_free(ctx, w->gs);
    sushi_free(ctx, w->stair);
    sushi_free(ctx, w->st0);
    sushi_free(ctx, w->stn);
    sushi_free(ctx, w->dp0);
    sushi_free(ctx, w->dp1);
    sushi_free(ctx, w->choice);
    sushi_free(ctx, w->lp);
    sushi_free(ctx, w);
}

static int ws_create(const sushi_supernet *sn, opt_ws **out)
{
    const sushi_context *ctx = sn->ctx;
    opt_ws *w = sushi_calloc(ctx, 1, sizeof *w);
    if (!w)
        return SUSHI_ERR_NOMEM;
    w->ctx = ctx;
    uint32_t n = w->n_t = sn->n_wt;
    w->ti = sushi_calloc(ctx, n + 1, sizeof *w->ti);
    w->cur_o = sushi_calloc(ctx, n + 1, sizeof *w->cur_o);
    w->cur_i = sushi_calloc(ctx, n + 1, sizeof *w->cur_i);
    w->best_o = sushi_calloc(ctx, n + 1, sizeof *w->best_o);
    w->best_i = sushi_calloc(ctx, n + 1, sizeof *w->best_i);
    w->seed_o = sushi_calloc(ctx, n + 1, sizeof *w->seed_o);
    w->seed_i = sushi_calloc(ctx, n + 1, sizeof *w->seed_i);
    w->cur_c = sushi_calloc(ctx, n + 1, sizeof *w->cur_c);
    w->cur_v = sushi_calloc(ctx, n + 1, sizeof *w->cur_v);
    w->steps = sushi_calloc(ctx, n + 1, sizeof *w->steps);
    w->seg0 = sushi_calloc(ctx, n + 1, sizeof *w->seg0);
    w->segn = sushi_calloc(ctx, n + 1, sizeof *w->segn);
    w->heap = sushi_calloc(ctx, n + 1, sizeof *w->heap);
    w->hkey = sushi_calloc(ctx, n + 1, sizeof *w->hkey);
    w->st0 = sushi_calloc(ctx, n + 1, sizeof *w->st0);
    w->stn = sushi_calloc(ctx, n + 1, sizeof *w->stn);
    if (!w->st0 || !w->stn || !w->seg0 || !w->segn || !w->heap || !w->hkey || !w->steps || !w->ti || !w->cur_o || !w->cur_i || !w->best_o ||
        !w->best_i || !w->seed_o || !w->seed_i || !w->cur_c || !w->cur_v) {
        ws_free(w);
        return SUSHI_ERR_NOMEM;
    }
    for (uint32_t t = 0; t < n; t++)
        w->ti[t].kk = sn->tensors[sn->wt[t]].kk;
    *out = w;
    return SUSHI_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Saving of a SubNet's tensor (box d->o x d->i, cumulative tile savings
 * d->cum) when the resident box gives it mo x mi of its channels: the hit
 * bytes mo mi kk, read on the SubNet's own tile grid (tiles of 16 x d->i
 * channels), with linear interpolation inside a tile (a partial tile saves
 * its share of the tile's saving; docs/scheduler.md, "Objective"). */
static double pair_saving(const dpair *d, uint32_t mo, uint32_t mi)
{
    if (mo == 0 || mi == 0)
        return 0.0;
    const uint32_t T = SUSHI_SUBGRAPH_TILE_OUT;
    uint32_t nt = (d->o + T - 1) / T;
    double a = mi == d->i ? (double)mo : (double)mo * (double)mi / (double)d->i; /* out-channels equivalent */
    uint32_t j = (uint32_t)(a / T);
    if (j >= nt)
        return d->cum[nt - 1];
    double base = j ? d->cum[j - 1] : 0.0;
    uint32_t wj = d->o - j * T < T ? d->o - j * T : T;
    return base + (a - (double)j * T) / (double)wj * (d->cum[j] - base);
}

static double value_of(const opt_ws *w, uint32_t t, uint32_t o, uint32_t i)
{
    const tinfo *ti = &w->ti[t];
    double v = 0.0, vs = 0.0;
    for (uint32_t p = 0; p < ti->np; p++) {
        const dpair *d = &w->pairs[ti->p0 + p];
        uint32_t mo = d->o < o ? d->o : o, mi = d->i < i ? d->i : i;
        if (d->cum)
            vs += d->w * pair_saving(d, mo, mi);
        else
            v += d->w * (double)mo * (double)mi;
    }
    return v * ti->kk + vs;
}

static int cmp_opt_cost(const void *a, const void *b)
{
    const topt *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    return (x->val < y->val) - (x->val > y->val); /* higher value first */
}

/* Weight reuse of each tensor: the output positions its layer computes per
 * weight (out_h x out_w; 1 for linear and squeeze-excite layers), the
 * minimum over the demand. A hit byte of a low-reuse tensor is a byte a
 * weight-bound layer does not wait for, so among equally demanded tiles the
 * optimiser takes those first. It never changes the savings. */
static void compute_reuse(opt_ws *w, const ditem *items, size_t n_items)
{
    for (uint32_t t = 0; t < w->n_t; t++)
        w->ti[t].reuse = UINT64_MAX;
    const sushi_subnet *prev = NULL;
    for (size_t k = 0; k < n_items; k++) {
        const sushi_subnet *s = items[k].s;
        if (s == prev)
            continue;
        prev = s;
        const sushi_supernet *sn = s->sn;
        for (uint32_t l = 0; l < s->n_layers; l++) {
            const sushi_layer *ly = &s->layers[l];
            uint64_t pos = ly->op == SUSHI_OP_SE || ly->op == SUSHI_OP_LINEAR ? 1u : (uint64_t)ly->out_h * ly->out_w;
            int32_t ts[2] = { ly->w, ly->w2 };
            for (int j = 0; j < 2; j++) {
                if (ts[j] < 0 || (uint32_t)ts[j] >= sn->n_tensors)
                    continue;
                int32_t slot = sn->tensors[ts[j]].wslot;
                if (slot >= 0 && (uint32_t)slot < w->n_t && pos < w->ti[slot].reuse)
                    w->ti[slot].reuse = pos;
            }
        }
    }
}

/* value_of for every box of tensor t's grid ov[0..no) x iv[0..ni) at once,
 * into w->gv (weighted hit bytes, without kk) and w->gs (savings); the value
 * of box (a, b) is gv[a ni + b] kk + gs[a ni + b]. The terms are added in
 * pair order as value_of adds them, so the values are bit-identical; a
 * pair's term is computed once per in-extent beyond its own out-extent
 * (where it no longer depends on the box's out-extent) instead of once per
 * box. */
static int grid_values(opt_ws *w, uint32_t t, const uint32_t *ov, size_t no, const uint32_t *iv, size_t ni)
{
    size_t n = no * ni;
    size_t cap = w->cap_grid;
    if (grow(w->ctx, (void **)&w->gv, &cap, n, sizeof *w->gv))
        return SUSHI_ERR_NOMEM;
    cap = w->cap_grid;
    if (grow(w->ctx, (void **)&w->gs, &cap, n, sizeof *w->gs))
        return SUSHI_ERR_NOMEM;
    w->cap_grid = cap;
    double *gv = w->gv, *gs = w->gs;
    for (size_t k = 0; k < n; k++)
        gv[k] = gs[k] = 0.0;
    const tinfo *ti = &w->ti[t];
    for (uint32_t p = 0; p < ti->np; p++) {
        const dpair *d = &w->pairs[ti->p0 + p];
        for (size_t b = 0; b < ni; b++) {
            uint32_t mi = d->i < iv[b] ? d->i : iv[b];
            double sat = 0.0;
            bool have_sat = false;
            for (size_t a = 0; a < no; a++) {
                uint32_t mo = d->o < ov[a] ? d->o : ov[a];
                if (d->cum) {
                    double x;
                    if (mo == d->o) {
                        if (!have_sat)
                            sat = d->w * pair_saving(d, mo, mi), have_sat = true;
                        x = sat;
                    } else {
                        x = d->w * pair_saving(d, mo, mi);
                    }
                    gs[a * ni + b] += x;
                } else {
                    gv[a * ni + b] += d->w * (double)mo * (double)mi;
                }
            }
        }
    }
    return SUSHI_OK;
}

/* Demand pairs and options of every tensor (options sorted by cost). */
/* `extra` (may be NULL): SubNets whose extents join the option grids
 * without adding demand (the oracle passes the candidate set, so that its
 * exact optimum covers every box a built-in policy can choose). */
static int build_options(opt_ws *w, const ditem *items, size_t n_items, const sushi_subnet *const *extra,
                         size_t n_extra)
{
    const sushi_context *ctx = w->ctx;
    size_t np = 0, nq = 0;
    compute_reuse(w, items, n_items);
    if (grow(ctx, (void **)&w->item_off, &w->cap_item_off, n_items + 1, sizeof *w->item_off))
        return SUSHI_ERR_NOMEM;
    memset(w->item_off, 0, n_items * sizeof *w->item_off);
    for (uint32_t t = 0; t < w->n_t; t++) {
        tinfo *ti = &w->ti[t];
        ti->p0 = (uint32_t)np;
        ti->np = 0;
        for (size_t k = 0; k < n_items; k++) {
            const sushi_subnet *s = items[k].s;
            uint32_t o = s->box_out[t], i = s->box_in[t];
            if (o == 0 || i == 0)
                continue;
            const double *cum = items[k].cum ? items[k].cum + w->item_off[k] : NULL;
            w->item_off[k] += (o + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT;
            if (!(items[k].w > 0.0))
                continue;
            uint32_t p = 0;
            for (; p < ti->np; p++)
                if (w->pairs[ti->p0 + p].o == o && w->pairs[ti->p0 + p].i == i && w->pairs[ti->p0 + p].cum == cum)
                    break;
            if (p == ti->np) {
                if (grow(ctx, (void **)&w->pairs, &w->cap_pairs, np + 1, sizeof *w->pairs))
                    return SUSHI_ERR_NOMEM;
                w->pairs[np++] = (dpair){ o, i, 0.0, cum };
                ti->np++;
            }
            w->pairs[ti->p0 + p].w += items[k].w;
        }
        /* options: o in tile grid + demanded extents, i in demanded extents */
        ti->q0 = (uint32_t)nq;
        ti->nq = 0;
        if (ti->np == 0)
            continue;
        uint32_t omax = 0;
        for (uint32_t p = 0; p < ti->np; p++)
            if (w->pairs[ti->p0 + p].o > omax)
                omax = w->pairs[ti->p0 + p].o;
        uint32_t imax = 0;
        for (uint32_t p = 0; p < ti->np; p++)
            if (w->pairs[ti->p0 + p].i > imax)
                imax = w->pairs[ti->p0 + p].i;
        size_t nv = 0;
        size_t need = omax / SUSHI_SUBGRAPH_TILE_OUT + 2 * ti->np + 2 * n_extra + 2;
        if (grow(ctx, (void **)&w->vals, &w->cap_vals, need, sizeof *w->vals))
            return SUSHI_ERR_NOMEM;
        for (uint32_t o = SUSHI_SUBGRAPH_TILE_OUT; o < omax; o += SUSHI_SUBGRAPH_TILE_OUT)
            w->vals[nv++] = o;
        for (uint32_t p = 0; p < ti->np; p++)
            w->vals[nv++] = w->pairs[ti->p0 + p].o;
        for (size_t k = 0; k < n_extra; k++) /* beyond omax a box only costs more */
            if (extra[k] && extra[k]->box_out[t] && extra[k]->box_out[t] < omax && extra[k]->box_in[t])
                w->vals[nv++] = extra[k]->box_out[t];
        qsort(w->vals, nv, sizeof *w->vals, cmp_u32);
        size_t no = 0;
        for (size_t k = 0; k < nv; k++)
            if (no == 0 || w->vals[no - 1] != w->vals[k])
                w->vals[no++] = w->vals[k];
        uint32_t *ov = w->vals, *iv = w->vals + no;
        size_t ni = 0;
        for (uint32_t p = 0; p < ti->np; p++)
            iv[ni++] = w->pairs[ti->p0 + p].i;
        for (size_t k = 0; k < n_extra; k++) /* beyond imax likewise */
            if (extra[k] && extra[k]->box_in[t] && extra[k]->box_in[t] < imax && extra[k]->box_out[t])
                iv[ni++] = extra[k]->box_in[t];
        qsort(iv, ni, sizeof *iv, cmp_u32);
        size_t nid = 0;
        for (size_t k = 0; k < ni; k++)
            if (nid == 0 || iv[nid - 1] != iv[k])
                iv[nid++] = iv[k];
        if (grow(ctx, (void **)&w->opts, &w->cap_opts, nq + no * nid, sizeof *w->opts))
            return SUSHI_ERR_NOMEM;
        if (grid_values(w, t, ov, no, iv, nid))
            return SUSHI_ERR_NOMEM;
        /* options in cost order: merge the nid runs (one per in-extent,
         * each ascending in o) -- no sort, no allocation */
        uint32_t pos[MAX_MERGE];
        if (nid > MAX_MERGE) { /* many distinct in-extents: plain sort */
            for (size_t a = 0; a < no; a++)
                for (size_t b = 0; b < nid; b++) {
                    topt *q = &w->opts[nq++];
                    q->o = ov[a], q->i = iv[b];
                    q->cost = (uint64_t)ov[a] * iv[b] * ti->kk;
                    q->val = w->gv[a * nid + b] * ti->kk + w->gs[a * nid + b];
                }
            ti->nq = (uint32_t)(nq - ti->q0);
            qsort(w->opts + ti->q0, ti->nq, sizeof *w->opts, cmp_opt_cost);
            continue;
        }
        for (size_t b = 0; b < nid; b++)
            pos[b] = 0;
        for (size_t left = no * nid; left > 0; left--) {
            size_t bb = SIZE_MAX;
            uint64_t bc = 0;
            for (size_t b = 0; b < nid; b++) {
                if (pos[b] >= no)
                    continue;
                uint64_t c = (uint64_t)ov[pos[b]] * iv[b];
                if (bb == SIZE_MAX || c < bc || (c == bc && b > bb)) /* equal cost: larger i first */
                    bb = b, bc = c;
            }
            topt *q = &w->opts[nq++];
            q->o = ov[pos[bb]], q->i = iv[bb];
            q->cost = bc * ti->kk;
            q->val = w->gv[pos[bb] * nid + bb] * ti->kk + w->gs[pos[bb] * nid + bb];
            pos[bb]++;
        }
        ti->nq = (uint32_t)(nq - ti->q0);
    }
    if (grow(ctx, (void **)&w->pmax, &w->cap_pmax, nq + 1, sizeof *w->pmax))
        return SUSHI_ERR_NOMEM;
    for (uint32_t t = 0; t < w->n_t; t++) {
        const tinfo *ti = &w->ti[t];
        uint32_t m = 0;
        for (uint32_t q = 0; q < ti->nq; q++) {
            if (w->opts[ti->q0 + q].val > w->opts[ti->q0 + m].val)
                m = q;
            w->pmax[ti->q0 + q] = m;
        }
    }
    return SUSHI_OK;
}

/* heap order: larger next-segment ratio first; on ties the tensor with the
 * lower weight reuse (more weight-bound), then the lower index */
static bool heap_before(const opt_ws *w, uint32_t a, uint32_t b)
{
    double ra = w->hkey[a], rb = w->hkey[b];
    if (ra != rb)
        return ra > rb;
    if (w->ti[a].reuse != w->ti[b].reuse)
        return w->ti[a].reuse < w->ti[b].reuse;
    return a < b;
}

static void sift_down(opt_ws *w, size_t n, size_t k)
{
    for (;;) {
        size_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < n && heap_before(w, w->heap[l], w->heap[m]))
            m = l;
        if (r < n && heap_before(w, w->heap[r], w->heap[m]))
            m = r;
        if (m == k)
            return;
        uint32_t x = w->heap[k];
        w->heap[k] = w->heap[m];
        w->heap[m] = x;
        k = m;
    }
}

/* Greedy from the start boxes seed_o/seed_i (all 0: the empty SubGraph).
 * Leaves the result in cur_o/cur_i and its savings in *savings (-1 when the
 * start does not fit). */
static int greedy(opt_ws *w, uint64_t capacity, double *savings)
{
    const sushi_context *ctx = w->ctx;
    uint64_t used = 0;
    size_t ns = 0;
    *savings = -1.0;
    for (uint32_t t = 0; t < w->n_t; t++) {
        const tinfo *ti = &w->ti[t];
        uint32_t o0 = w->seed_o[t], i0 = w->seed_i[t];
        if (o0 == 0 || i0 == 0 || ti->np == 0)
            o0 = i0 = 0;
        w->cur_o[t] = o0;
        w->cur_i[t] = i0;
        w->cur_c[t] = (uint64_t)o0 * i0 * ti->kk;
        w->cur_v[t] = o0 ? value_of(w, t, o0, i0) : 0.0;
        w->steps[t] = 0;
        w->seg0[t] = (uint32_t)ns;
        w->segn[t] = 0;
        used += w->cur_c[t];
        if (ti->nq == 0)
            continue;
        if (grow(ctx, (void **)&w->hull, &w->cap_hull, ti->nq, sizeof *w->hull))
            return SUSHI_ERR_NOMEM;
        topt start = { o0, i0, w->cur_c[t], w->cur_v[t] };
        topt *H = w->hull;
        size_t m = 0;
        /* options are in cost order: start after the last one no dearer than the start box */
        uint32_t lo = 0, hi = ti->nq;
        const topt *op0 = &w->opts[ti->q0];
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (op0[mid].cost <= start.cost)
                lo = mid + 1;
            else
                hi = mid;
        }
        double vmax = start.val;
        for (uint32_t q = lo; q < ti->nq; q++) {
            const topt *op = &op0[q];
            /* an option worth no more than a cheaper one is under the hull */
            if (op->val > vmax && op->o >= o0 && op->i >= i0) {
                H[m++] = *op;
                vmax = op->val;
            }
        }
        /* upper concave hull from `start`, built in place in H[0..h) */
        size_t h = 0;
        for (size_t k = 0; k < m; k++) {
            topt p = H[k];
            if (p.val <= (h ? H[h - 1].val : start.val))
                continue;
            while (h > 0) {
                const topt *a = h >= 2 ? &H[h - 2] : &start, *b = &H[h - 1];
                /* slope(a, b) >= slope(b, p), costs increasing: no divisions */
                if ((b->val - a->val) * (double)(p.cost - b->cost) >= (p.val - b->val) * (double)(b->cost - a->cost))
                    break; /* keep collinear tile steps: the greedy stops at a tile */
                h--;
            }
            H[h++] = p;
        }
        if (grow(ctx, (void **)&w->segs, &w->cap_segs, ns + h, sizeof *w->segs))
            return SUSHI_ERR_NOMEM;
        w->segn[t] = (uint32_t)h;
        topt a = start;
        for (size_t k = 0; k < h; k++) {
            hseg *sg = &w->segs[ns++];
            sg->dc = H[k].cost - a.cost;
            sg->dv = H[k].val - a.val;
            sg->ratio = sg->dv / (double)sg->dc;
            if (k > 0 && sg->ratio > sg[-1].ratio) /* rounding: keep ratios non-increasing */
                sg->ratio = sg[-1].ratio;
            sg->t = t;
            sg->step = (uint32_t)k;
            sg->o = H[k].o;
            sg->i = H[k].i;
            a = H[k];
        }
    }
    if (used > capacity)
        return SUSHI_OK;
    /* merge the tensors' hull chains (each non-increasing in value per
     * byte) through a max-heap on their next segment's ratio */
    size_t nh = 0;
    for (uint32_t t = 0; t < w->n_t; t++)
        if (w->segn[t]) {
            w->heap[nh++] = t;
            w->hkey[t] = w->segs[w->seg0[t]].ratio;
        }
    for (size_t k = nh / 2; k-- > 0;)
        sift_down(w, nh, k);
    while (nh > 0) {
        uint32_t t = w->heap[0];
        const hseg *sg = &w->segs[w->seg0[t] + w->steps[t]];
        if (used + sg->dc <= capacity) {
            w->cur_o[t] = sg->o;
            w->cur_i[t] = sg->i;
            w->cur_c[t] += sg->dc;
            w->cur_v[t] += sg->dv;
            used += sg->dc;
            if (++w->steps[t] < w->segn[t]) {
                w->hkey[t] = sg[1].ratio;
                sift_down(w, nh, 0);
                continue;
            }
        }
        w->heap[0] = w->heap[--nh]; /* done, or blocked: the rest of its chain is out */
        sift_down(w, nh, 0);
    }
    /* residual: the best single option change that fits, a few times */
    for (int round = 0; round < RESIDUAL_ROUNDS; round++) {
        uint64_t rem = capacity - used;
        double best = 0.0;
        uint32_t bt = UINT32_MAX;
        const topt *bq = NULL;
        for (uint32_t t = 0; t < w->n_t; t++) {
            /* the most valuable affordable option: options are in cost
             * order, pmax holds the running arg-max (first on ties), so a
             * binary search replaces the scan */
            const tinfo *ti = &w->ti[t];
            const topt *op0 = &w->opts[ti->q0];
            uint64_t lim = w->cur_c[t] + rem;
            uint32_t lo = 0, hi = ti->nq;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (op0[mid].cost <= lim)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == 0)
                continue;
            const topt *op = &op0[w->pmax[ti->q0 + lo - 1]];
            double dv = op->val - w->cur_v[t];
            if (dv > best) {
                best = dv;
                bt = t;
                bq = op;
            }
        }
        if (!bq)
            break;
        used = used - w->cur_c[bt] + bq->cost;
        w->cur_o[bt] = bq->o;
        w->cur_i[bt] = bq->i;
        w->cur_c[bt] = bq->cost;
        w->cur_v[bt] = bq->val;
    }
    double sv = 0.0;
    for (uint32_t t = 0; t < w->n_t; t++)
        sv += w->cur_v[t];
    *savings = sv;
    return SUSHI_OK;
}


/* ------------------------------------------------------- exact (oracle) */

/* Limits of the exact dynamic programme: capacity units and unit-option
 * updates per call. Beyond them the option costs are rounded up to a coarser
 * unit (the result stays feasible; see exact_choose). */
#define DP_UNITS_MAX (1u << 16)
#define DP_WORK_MAX 40000000.0

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int cmp_seg_ratio(const void *a, const void *b)
{
    const hseg *x = a, *y = b;
    return (x->ratio < y->ratio) - (x->ratio > y->ratio);
}

/* Upper bound of the multiple-choice knapsack on the staircases: its LP
 * relaxation (per tensor the upper concave hull from the empty box, all hull
 * steps taken in value-per-byte order, the last one fractionally). */
static int lp_bound(opt_ws *w, uint64_t capacity, double *bound)
{
    size_t ns = 0;
    *bound = 0.0;
    for (uint32_t t = 0; t < w->n_t; t++) {
        if (!w->stn[t])
            continue;
        if (grow(w->ctx, (void **)&w->hull, &w->cap_hull, w->stn[t] + 1, sizeof *w->hull))
            return SUSHI_ERR_NOMEM;
        topt *H = w->hull;
        size_t h = 0;
        H[h++] = (topt){ 0, 0, 0, 0.0 };
        for (uint32_t k = 0; k < w->stn[t]; k++) {
            topt q = w->stair[w->st0[t] + k];
            while (h >= 2) {
                double s1 = (H[h - 1].val - H[h - 2].val) / (double)(H[h - 1].cost - H[h - 2].cost);
                double s2 = (q.val - H[h - 1].val) / (double)(q.cost - H[h - 1].cost);
                if (s2 < s1)
                    break;
                h--;
            }
            H[h++] = q;
        }
        if (grow(w->ctx, (void **)&w->lp, &w->cap_lp, ns + h, sizeof *w->lp))
            return SUSHI_ERR_NOMEM;
        for (size_t k = 1; k < h; k++) {
            hseg *sg = &w->lp[ns++];
            sg->dc = H[k].cost - H[k - 1].cost;
            sg->dv = H[k].val - H[k - 1].val;
            sg->ratio = sg->dv / (double)sg->dc;
            sg->t = t;
        }
    }
    qsort(w->lp, ns, sizeof *w->lp, cmp_seg_ratio);
    w->n_lp = ns;
    uint64_t left = capacity;
    double b = 0.0;
    for (size_t k = 0; k < ns && left > 0; k++) {
        if (w->lp[k].dc <= left) {
            b += w->lp[k].dv;
            left -= w->lp[k].dc;
        } else {
            b += w->lp[k].dv * (double)left / (double)w->lp[k].dc;
            left = 0;
        }
    }
    *bound = b;
    return SUSHI_OK;
}

/* The exact optimum of the multiple-choice knapsack built by build_options:
 * per tensor at most one option (o, i) (cost o i kk, value V_t(o, i)), total
 * cost <= capacity, sum of values maximal. Dynamic programme over the
 * capacity in units of the gcd of the option costs, per tensor only its
 * staircase (options that are worth more than every cheaper one).
 * *exact_out is false when the limits forced a coarser unit (costs rounded
 * up: still feasible, value >= the optimum for capacity - n_tensors x unit);
 * *bound_out is then the LP upper bound, else the value itself. On return
 * cur_o/cur_i hold the choice and *value_out its value. */
static int exact_mckp(opt_ws *w, uint64_t capacity, double *value_out, bool *exact_out, double *bound_out)
{
    const sushi_context *ctx = w->ctx;
    size_t nst = 0;
    uint64_t g = 0;
    double len_sum = 0.0;
    uint32_t classes = 0;
    *value_out = 0.0;
    *exact_out = true;
    *bound_out = 0.0;
    for (uint32_t t = 0; t < w->n_t; t++) {
        const tinfo *ti = &w->ti[t];
        w->cur_o[t] = w->cur_i[t] = 0;
        w->st0[t] = (uint32_t)nst;
        w->stn[t] = 0;
        if (grow(ctx, (void **)&w->stair, &w->cap_stair, nst + ti->nq + 1, sizeof *w->stair))
            return SUSHI_ERR_NOMEM;
        double last = 0.0;
        for (uint32_t q = 0; q < ti->nq; q++) {
            const topt *op = &w->opts[ti->q0 + q];
            if (op->cost == 0 || op->cost > capacity || !(op->val > last))
                continue;
            w->stair[nst++] = *op;
            last = op->val;
            g = gcd_u64(g, op->cost);
        }
        w->stn[t] = (uint32_t)(nst - w->st0[t]);
        if (w->stn[t] >= UINT16_MAX)
            return SUSHI_ERR_RANGE; /* caller keeps the heuristic */
        if (w->stn[t]) {
            classes++;
            len_sum += w->stn[t];
        }
    }
    if (classes == 0)
        return SUSHI_OK;
    uint64_t unit = g, units = capacity / unit;
    if ((double)units > DP_UNITS_MAX || (double)units * len_sum > DP_WORK_MAX) {
        double f1 = (double)units / DP_UNITS_MAX, f2 = (double)units * len_sum / DP_WORK_MAX;
        double f = f1 > f2 ? f1 : f2;
        uint64_t scale = (uint64_t)ceil(f);
        unit = g * (scale < 1 ? 1 : scale);
        units = capacity / unit;
        *exact_out = false;
    }
    size_t row = (size_t)units + 1;
    if (grow(ctx, (void **)&w->dp0, &w->cap_dp, row, sizeof *w->dp0))
        return SUSHI_ERR_NOMEM;
    {
        size_t cap = w->cap_dp;
        void *q = sushi_realloc(ctx, w->dp1, cap * sizeof *w->dp1);
        if (!q)
            return SUSHI_ERR_NOMEM;
        w->dp1 = q;
    }
    if (grow(ctx, (void **)&w->choice, &w->cap_choice, (size_t)classes * row, sizeof *w->choice))
        return SUSHI_ERR_NOMEM;
    double *dp = w->dp0, *nx = w->dp1;
    for (size_t c = 0; c < row; c++)
        dp[c] = 0.0;
    uint32_t cls = 0;
    for (uint32_t t = 0; t < w->n_t; t++) {
        if (!w->stn[t])
            continue;
        uint16_t *ch = w->choice + (size_t)cls * row;
        memcpy(nx, dp, row * sizeof *nx);
        memset(ch, 0, row * sizeof *ch);
        for (uint32_t k = 0; k < w->stn[t]; k++) {
            const topt *op = &w->stair[w->st0[t] + k];
            uint64_t cu = (op->cost + unit - 1) / unit;
            if (cu > units)
                break; /* staircase is in cost order */
            for (size_t c = (size_t)cu; c < row; c++) {
                double v = dp[c - cu] + op->val;
                if (v > nx[c]) {
                    nx[c] = v;
                    ch[c] = (uint16_t)(k + 1);
                }
            }
        }
        double *x = dp;
        dp = nx;
        nx = x;
        cls++;
    }
    /* walk back */
    size_t c = (size_t)units;
    double val = 0.0;
    for (uint32_t t = w->n_t; t-- > 0;) {
        if (!w->stn[t])
            continue;
        cls--;
        uint16_t k = w->choice[(size_t)cls * row + c];
        if (!k)
            continue;
        const topt *op = &w->stair[w->st0[t] + k - 1];
        w->cur_o[t] = op->o;
        w->cur_i[t] = op->i;
        val += op->val;
        c -= (size_t)((op->cost + unit - 1) / unit);
    }
    *value_out = val;
    if (*exact_out) {
        *bound_out = val;
        return SUSHI_OK;
    }
    return lp_bound(w, capacity, bound_out);
}


/* Branch and bound over the staircases (when the dynamic programme would
 * need too fine a capacity unit). With lambda the LP's critical value per
 * byte (the ratio of the hull step the LP takes fractionally) and an option's
 * reduced value r = value - lambda x cost, every solution is worth at most
 *     L = lambda C + sum_t max(0, max_k r_t,k)   (Lagrangian bound)
 * minus, for each tensor, how far its option's r falls below the tensor's
 * best. So an option whose shortfall exceeds L - incumbent can never be in a
 * better solution and is dropped before the search (reduced-cost fixing); the
 * incumbent comes within a few 1e-5 of L in practice, which leaves a handful
 * of options per tensor. The search is depth-first (tensors with the fewest
 * options left first, options by reduced value), a node cut when its value +
 * lambda x (bytes left) + the open tensors' best r cannot beat the incumbent,
 * or, failing that, when its value + the LP bound of the open tensors cannot.
 * Exact when it finishes within BNB_NODES nodes. */
#define BNB_NODES 200000u

typedef struct bnb_ctx {
    opt_ws *w;
    uint32_t *cls, ncls;   /* tensors with options, in search order */
    uint32_t *rank;        /* per tensor: its position in cls (UINT32_MAX: none) */
    uint32_t *k0, *kn;     /* per position: its kept options in kopt[k0 .. k0 + kn) */
    uint32_t *kopt;        /* staircase index + 1, 0 = nothing resident */
    double *suffix;        /* per position: sum of the best r of positions >= it */
    uint32_t *pick, *best_pick;
    double lambda, best;
    uint64_t nodes;
    bool aborted, improved;
} bnb_ctx;

static double bnb_lp(const bnb_ctx *b, uint32_t d, uint64_t left)
{
    const opt_ws *w = b->w;
    double v = 0.0;
    for (size_t k = 0; left > 0 && k < w->n_lp; k++) {
        const hseg *sg = &w->lp[k];
        if (b->rank[sg->t] == UINT32_MAX || b->rank[sg->t] < d)
            continue;
        if (sg->dc <= left) {
            v += sg->dv;
            left -= sg->dc;
        } else {
            v += sg->dv * (double)left / (double)sg->dc;
            left = 0;
        }
    }
    return v;
}

static void bnb_dfs(bnb_ctx *b, uint32_t d, uint64_t left, double val)
{
    if (b->aborted)
        return;
    if (++b->nodes > BNB_NODES) {
        b->aborted = true;
        return;
    }
    const double eps = 1e-12 * fabs(b->best);
    if (val > b->best + eps) {
        b->best = val;
        b->improved = true;
        memcpy(b->best_pick, b->pick, b->ncls * sizeof *b->pick);
    }
    if (d == b->ncls)
        return;
    if (val + b->lambda * (double)left + b->suffix[d] <= b->best + eps)
        return;
    if (val + bnb_lp(b, d, left) <= b->best + eps)
        return;
    const opt_ws *w = b->w;
    uint32_t t = b->cls[d];
    for (uint32_t j = 0; j < b->kn[d] && !b->aborted; j++) {
        uint32_t k = b->kopt[b->k0[d] + j];
        const topt *op = k ? &w->stair[w->st0[t] + k - 1] : NULL;
        if (op && op->cost > left)
            continue;
        b->pick[d] = k;
        bnb_dfs(b, d + 1, op ? left - op->cost : left, op ? val + op->val : val);
    }
    b->pick[d] = 0;
}

/* Improve on `incumbent` exactly; on success with a better value, cur_o/cur_i
 * hold it. Needs the staircases (exact_mckp) and the LP steps (lp_bound). */
static int bnb_search(opt_ws *w, uint64_t capacity, double incumbent, double *value_out, bool *improved,
                      bool *exact)
{
    const sushi_context *ctx = w->ctx;
    bnb_ctx b = { .w = w, .best = incumbent };
    size_t n_st = 0;
    for (uint32_t t = 0; t < w->n_t; t++)
        n_st += w->stn[t] + 1u;
    b.cls = sushi_calloc(ctx, w->n_t + 1, sizeof *b.cls);
    b.rank = sushi_calloc(ctx, w->n_t + 1, sizeof *b.rank);
    b.k0 = sushi_calloc(ctx, w->n_t + 1, sizeof *b.k0);
    b.kn = sushi_calloc(ctx, w->n_t + 1, sizeof *b.kn);
    b.kopt = sushi_calloc(ctx, n_st + 1, sizeof *b.kopt);
    b.suffix = sushi_calloc(ctx, w->n_t + 2, sizeof *b.suffix);
    b.pick = sushi_calloc(ctx, w->n_t + 1, sizeof *b.pick);
    b.best_pick = sushi_calloc(ctx, w->n_t + 1, sizeof *b.best_pick);
    double *rmax = sushi_calloc(ctx, w->n_t + 1, sizeof *rmax);
    int rc = (b.cls && b.rank && b.k0 && b.kn && b.kopt && b.suffix && b.pick && b.best_pick && rmax)
                 ? SUSHI_OK : SUSHI_ERR_NOMEM;
    if (!rc) {
        /* lambda: the ratio of the step the LP takes fractionally (0 when all fit) */
        uint64_t left = capacity;
        for (size_t k = 0; k < w->n_lp; k++) {
            if (w->lp[k].dc > left) {
                b.lambda = w->lp[k].ratio > 0.0 ? w->lp[k].ratio : 0.0;
                break;
            }
            left -= w->lp[k].dc;
        }
        double L = b.lambda * (double)capacity;
        for (uint32_t t = 0; t < w->n_t; t++) {
            double m = 0.0;
            for (uint32_t k = 0; k < w->stn[t]; k++) {
                const topt *op = &w->stair[w->st0[t] + k];
                double r = op->val - b.lambda * (double)op->cost;
                m = r > m ? r : m;
            }
            rmax[t] = m;
            L += m;
        }
        double gap = L - incumbent, tol = 1e-9 * fabs(L);
        /* kept options per tensor, by reduced value (insertion sort: short lists) */
        size_t nk = 0;
        for (uint32_t t = 0; t < w->n_t; t++) {
            b.rank[t] = UINT32_MAX;
            if (!w->stn[t])
                continue;
            uint32_t d = b.ncls++;
            b.cls[d] = t;
            b.k0[d] = (uint32_t)nk;
            for (uint32_t k = 0; k <= w->stn[t]; k++) {
                const topt *op = k ? &w->stair[w->st0[t] + k - 1] : NULL;
                double r = op ? op->val - b.lambda * (double)op->cost : 0.0;
                if (rmax[t] - r > gap + tol)
                    continue;
                size_t j = nk++;
                while (j > b.k0[d]) {
                    uint32_t q = b.kopt[j - 1];
                    const topt *oq = q ? &w->stair[w->st0[t] + q - 1] : NULL;
                    double rq = oq ? oq->val - b.lambda * (double)oq->cost : 0.0;
                    if (rq >= r)
                        break;
                    b.kopt[j] = q;
                    j--;
                }
                b.kopt[j] = k;
            }
            b.kn[d] = (uint32_t)(nk - b.k0[d]);
        }
        /* search order: the tensors with the fewest options left first */
        for (uint32_t i = 1; i < b.ncls; i++)
            for (uint32_t j = i; j > 0 && b.kn[j - 1] > b.kn[j]; j--) {
                uint32_t x;
                x = b.cls[j], b.cls[j] = b.cls[j - 1], b.cls[j - 1] = x;
                x = b.k0[j], b.k0[j] = b.k0[j - 1], b.k0[j - 1] = x;
                x = b.kn[j], b.kn[j] = b.kn[j - 1], b.kn[j - 1] = x;
            }
        for (uint32_t d = 0; d < b.ncls; d++)
            b.rank[b.cls[d]] = d;
        b.suffix[b.ncls] = 0.0;
        for (uint32_t d = b.ncls; d-- > 0;)
            b.suffix[d] = b.suffix[d + 1] + rmax[b.cls[d]];
        bool empty = false;
        for (uint32_t d = 0; d < b.ncls; d++)
            empty = empty || b.kn[d] == 0;
        if (!empty)
            bnb_dfs(&b, 0, capacity, 0.0);
        *improved = b.improved;
        *exact = !b.aborted;
        *value_out = b.best;
        sushi_log(ctx, SUSHI_LOG_DEBUG, "oracle: branch and bound: %u tensors, %zu options kept, %llu nodes%s",
                  b.ncls, nk, (unsigned long long)b.nodes, b.aborted ? " (node limit)" : "");
        if (b.improved)
            for (uint32_t d = 0; d < b.ncls; d++) {
                uint32_t t = b.cls[d], k = b.best_pick[d];
                w->cur_o[t] = k ? w->stair[w->st0[t] + k - 1].o : 0;
                w->cur_i[t] = k ? w->stair[w->st0[t] + k - 1].i : 0;
            }
    }
    sushi_free(ctx, b.cls);
    sushi_free(ctx, b.rank);
    sushi_free(ctx, b.k0);
    sushi_free(ctx, b.kn);
    sushi_free(ctx, b.kopt);
    sushi_free(ctx, b.suffix);
    sushi_free(ctx, b.pick);
    sushi_free(ctx, b.best_pick);
    sushi_free(ctx, rmax);
    return rc;
}

/* Cut the seed boxes to `capacity` as sushi_subgraph_truncate() does: whole
 * tensors in network order, then whole output tiles of the first tensor
 * that does not fit. */
static void truncate_seed(opt_ws *w, uint64_t capacity)
{
    uint64_t used = 0;
    uint32_t t = 0;
    for (; t < w->n_t; t++) {
        uint64_t row = (uint64_t)w->seed_i[t] * w->ti[t].kk;
        uint64_t full = row * w->seed_o[t];
        if (used + full <= capacity) {
            used += full;
            continue;
        }
        uint64_t tiles = row ? (capacity - used) / (row * SUSHI_SUBGRAPH_TILE_OUT) : 0;
        w->seed_o[t] = (uint32_t)(tiles * SUSHI_SUBGRAPH_TILE_OUT);
        if (w->seed_o[t] == 0)
            w->seed_i[t] = 0;
        t++;
        break;
    }
    for (; t < w->n_t; t++)
        w->seed_o[t] = w->seed_i[t] = 0;
}

static int cmp_item_w(const void *a, const void *b)
{
    const ditem *x = a, *y = b;
    return (x->w < y->w) - (x->w > y->w);
}

/* The SubGraph within `capacity` that maximises the weighted hit bytes of
 * the demand `items` (see the top of this file); bytes left over are then
 * filled for the secondary demand whose options `fw` holds (built by
 * build_options; NULL: no fill), starting from that optimum, which cannot
 * lower the primary savings. Writes the result into `out`. */
static int optimise(opt_ws *w, const ditem *items, size_t n_items, opt_ws *fw, uint64_t capacity, bool exact,
                    const sushi_subnet *const *extra, size_t n_extra, sushi_subgraph *out, double *savings_out)
{
    sushi_subgraph_clear(out);
    if (savings_out)
        *savings_out = 0.0;
    if (n_items == 0 || capacity == 0)
        return SUSHI_OK;
    /* The demand for build_options, with the repeated queries of a SubNet
     * merged: a window of 100 queries holds a few distinct SubNets, and
     * build_options walks its demand once per tensor. Only items of weight
     * 1 (queries) are merged, into an entry made of such items: their sums
     * are exact integers, so every pair gets the weight it gets from the
     * full list, and the pairs come in the same order (first occurrence). */
    if (grow(w->ctx, (void **)&w->demand, &w->cap_demand, n_items, sizeof *w->demand))
        return SUSHI_ERR_NOMEM;
    size_t nm = 0;
    for (size_t k = 0; k < n_items; k++) {
        size_t j = nm;
        if (items[k].w == 1.0)
            for (j = 0; j < nm; j++)
                if (w->demand[j].s == items[k].s && w->demand[j].cum == items[k].cum && w->demand[j].unit)
                    break;
        if (j == nm)
            w->demand[nm++] = (ditem){ items[k].s, 0.0, items[k].cum, items[k].w == 1.0 };
        w->demand[j].w += items[k].w;
    }
    int rc = build_options(w, w->demand, nm, exact ? extra : NULL, exact ? n_extra : 0);
    if (rc)
        return rc;
    /* distinct SubNets by weight, for the intersection seeds */
    if (grow(w->ctx, (void **)&w->items, &w->cap_items, n_items, sizeof *w->items))
        return SUSHI_ERR_NOMEM;
    size_t nd = 0;
    for (size_t k = 0; k < n_items; k++) {
        size_t j = 0;
        for (; j < nd; j++)
            if (w->items[j].s == items[k].s)
                break;
        if (j == nd)
            w->items[nd++] = (ditem){ items[k].s, 0.0, items[k].cum, false };
        w->items[j].w += items[k].w;
    }
    qsort(w->items, nd, sizeof *w->items, cmp_item_w);

    double best = -1.0;
    for (int seed = 0; seed <= MAX_SEEDS && seed <= (int)nd; seed++) {
        bool same_as_prev = seed > 1;
        uint64_t bytes = 0;
        for (uint32_t t = 0; t < w->n_t; t++) {
            uint32_t o = 0, i = 0;
            if (seed > 0) {
                o = UINT32_MAX, i = UINT32_MAX;
                for (int k = 0; k < seed; k++) {
                    const sushi_subnet *s = w->items[k].s;
                    o = s->box_out[t] < o ? s->box_out[t] : o;
                    i = s->box_in[t] < i ? s->box_in[t] : i;
                }
            }
            if (o != w->seed_o[t] || i != w->seed_i[t])
                same_as_prev = false;
            w->seed_o[t] = o;
            w->seed_i[t] = i;
            bytes += (uint64_t)o * i * w->ti[t].kk;
        }
        if (seed > 0 && same_as_prev)
            continue;
        if (bytes > capacity)
            truncate_seed(w, capacity);
        double sv;
        rc = greedy(w, capacity, &sv);
        if (rc)
            return rc;
        if (sv > best) {
            best = sv;
            memcpy(w->best_o, w->cur_o, w->n_t * sizeof *w->cur_o);
            memcpy(w->best_i, w->cur_i, w->n_t * sizeof *w->cur_i);
        }
    }
    if (exact) {
        double ev, bound;
        bool is_exact;
        rc = exact_mckp(w, capacity, &ev, &is_exact, &bound);
        if (rc == SUSHI_ERR_RANGE) {
            sushi_log(w->ctx, SUSHI_LOG_DEBUG, "oracle: too many options for the exact programme: greedy result");
        } else if (rc) {
            return rc;
        } else {
            if (ev > best) {
                best = ev;
                memcpy(w->best_o, w->cur_o, w->n_t * sizeof *w->cur_o);
                memcpy(w->best_i, w->cur_i, w->n_t * sizeof *w->cur_i);
            }
            if (!is_exact && best < bound) {
                double bv;
                bool improved;
                rc = bnb_search(w, capacity, best, &bv, &improved, &is_exact);
                if (rc)
                    return rc;
                if (improved) {
                    best = bv;
                    memcpy(w->best_o, w->cur_o, w->n_t * sizeof *w->cur_o);
                    memcpy(w->best_i, w->cur_i, w->n_t * sizeof *w->cur_i);
                }
            } else if (!is_exact) {
                is_exact = true; /* the incumbent meets the LP bound */
            }
            if (is_exact)
                sushi_log(w->ctx, SUSHI_LOG_DEBUG, "oracle: exact optimum %g", best);
            else
                sushi_log(w->ctx, SUSHI_LOG_DEBUG, "oracle: %g, LP upper bound %g (gap <= %.3g %%)", best, bound,
                          bound > 0.0 ? 100.0 * (bound - best) / bound : 0.0);
        }
        w->last_exact = rc == SUSHI_OK && is_exact;
        w->last_bound = rc == SUSHI_OK ? (bound > best ? bound : best) : NAN;
    }
    if (best < 0.0)
        return SUSHI_OK;
    uint64_t used = 0;
    for (uint32_t t = 0; t < w->n_t; t++)
        used += (uint64_t)w->best_o[t] * w->best_i[t] * w->ti[t].kk;
    if (fw && used < capacity) {
        memcpy(fw->seed_o, w->best_o, w->n_t * sizeof *fw->seed_o);
        memcpy(fw->seed_i, w->best_i, w->n_t * sizeof *fw->seed_i);
        double sv;
        rc = greedy(fw, capacity, &sv);
        if (rc)
            return rc;
        /* the fill only grows boxes in its hull steps, but its residual
         * pass may swap one: keep the fill only when the primary saving did
         * not drop */
        double pv = 0.0;
        for (uint32_t t = 0; sv >= 0.0 && t < w->n_t; t++)
            pv += fw->cur_o[t] && fw->cur_i[t] ? value_of(w, t, fw->cur_o[t], fw->cur_i[t]) : 0.0;
        if (sv >= 0.0 && pv >= best - 1e-12 * fabs(best)) {
            memcpy(w->best_o, fw->cur_o, w->n_t * sizeof *w->cur_o);
            memcpy(w->best_i, fw->cur_i, w->n_t * sizeof *w->cur_i);
        }
    }
    for (uint32_t t = 0; t < w->n_t; t++)
        sushi_subgraph_set(out, t, w->best_o[t], w->best_i[t]);
    if (savings_out)
        *savings_out = best;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ policies */

typedef struct opt_policy {
    opt_ws *ws;
    opt_ws *fill;                       /* options of the candidate set (the fill demand) */
    const sushi_subnet **fill_key;      /* the candidate list they were built for */
    size_t n_fill_key;
    ditem *items;
    size_t cap_items;
    sushi_subgraph *fixed; /* static: the chosen SubGraph */
    bool chosen;
} opt_policy;

static int op_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    opt_policy *p = sushi_calloc(sn->ctx, 1, sizeof *p);
    if (!p)
        return SUSHI_ERR_NOMEM;
    int rc = ws_create(sn, &p->ws);
    if (!rc)
        rc = ws_create(sn, &p->fill);
    if (!rc)
        rc = sushi_subgraph_create(sn, &p->fixed);
    if (rc) {
        ws_free(p->ws);
        ws_free(p->fill);
        sushi_free(sn->ctx, p);
        return rc;
    }
    *out = p;
    return SUSHI_OK;
}

static void op_destroy(void *state)
{
    opt_policy *p = state;
    const sushi_context *ctx = p->ws->ctx;
    sushi_subgraph_destroy(p->fixed);
    sushi_free(ctx, p->items);
    sushi_free(ctx, p->fill_key);
    ws_free(p->fill);
    ws_free(p->ws);
    sushi_free(ctx, p);
}

/* items = a (weight wa each) followed by b (weight wb each). With a view
 * whose objective is time or energy, each item carries its SubNet's
 * cumulative tile savings; when any is missing, all fall back to bytes
 * (one unit for the whole demand). */
static int fill_items(opt_policy *p, const sushi_policy_view *v, const sushi_subnet *const *a, size_t na,
                      double wa, const sushi_subnet *const *b, size_t nb, double wb, size_t *n)
{
    if (grow(p->ws->ctx, (void **)&p->items, &p->cap_items, na + nb + 1, sizeof *p->items))
        return SUSHI_ERR_NOMEM;
    size_t k = 0;
    for (size_t j = 0; j < na; j++)
        if (a[j])
            p->items[k++] = (ditem){ a[j], wa, NULL, false };
    for (size_t j = 0; j < nb; j++)
        if (b[j])
            p->items[k++] = (ditem){ b[j], wb, NULL, false };
    *n = k;
    bool sav = v && v->objective != SUSHI_OBJECTIVE_BYTES && v->tile_savings;
    for (size_t j = 0; sav && j < k; j++) {
        /* consecutive repeats of a SubNet are common in a window */
        p->items[j].cum = j && p->items[j].s == p->items[j - 1].s
                              ? p->items[j - 1].cum
                              : v->tile_savings(v->tile_savings_user, p->items[j].s);
        if (!p->items[j].cum) {
            sushi_log(p->ws->ctx, SUSHI_LOG_WARN, "policy: no tile savings for a SubNet: objective bytes");
            sav = false;
            for (size_t q = 0; q < k; q++)
                p->items[q].cum = NULL;
        }
    }
    return SUSHI_OK;
}

/* Empty demand: keep what is resident (cut to capacity). */
static int keep_current(const sushi_policy_view *v, sushi_subgraph *next)
{
    if (!v->current)
        return SUSHI_OK;
    int rc = sushi_subgraph_copy(next, v->current);
    return rc ? rc : sushi_subgraph_truncate(next, v->capacity_bytes);
}

/* The fill workspace for the view's candidate set: its options depend only
 * on the candidates, so they are built once per candidate list. NULL when
 * the view has no candidates. */
static int fill_ws_for(opt_policy *p, const sushi_policy_view *v, opt_ws **out)
{
    *out = NULL;
    if (!v->candidates || v->n_candidates == 0)
        return SUSHI_OK;
    const sushi_context *ctx = p->ws->ctx;
    bool same = p->fill_key && p->n_fill_key == v->n_candidates &&
                memcmp(p->fill_key, v->candidates, v->n_candidates * sizeof *p->fill_key) == 0;
    if (!same) {
        size_t n;
        int rc = fill_items(p, NULL, v->candidates, v->n_candidates, 1.0, NULL, 0, 0.0, &n);
        if (!rc)
            rc = build_options(p->fill, p->items, n, NULL, 0);
        if (rc)
            return rc;
        /* Size the update workspace once, for a demand of every candidate
         * (bytes objective: no tile savings are asked for): a window draws
         * from the candidates, so a later update grows no option buffer. A
         * buffer grown inside an update took its page faults there: 50-100
         * faults, 0.5-1 ms on the development VM, in the first update that
         * saw a larger window (docs/performance.md, "Scheduler"). */
        if (v->supernet && v->capacity_bytes > 0) {
            sushi_subgraph *tmp = NULL;
            rc = sushi_subgraph_create(v->supernet, &tmp);
            if (!rc)
                rc = fill_items(p, NULL, v->candidates, v->n_candidates, 1.0, NULL, 0, 0.0, &n);
            if (!rc)
                rc = optimise(p->ws, p->items, n, p->fill, v->capacity_bytes, false, v->candidates, v->n_candidates,
                              tmp, NULL);
            sushi_subgraph_destroy(tmp);
            if (rc)
                return rc;
        }
        const sushi_subnet **k = sushi_realloc(ctx, p->fill_key, v->n_candidates * sizeof *k);
        if (!k)
            return SUSHI_ERR_NOMEM;
        memcpy(k, v->candidates, v->n_candidates * sizeof *k);
        p->fill_key = k;
        p->n_fill_key = v->n_candidates;
    }
    *out = p->fill;
    return SUSHI_OK;
}

/* demand = `subs` (weight 1 each); spare bytes filled for the candidate set */
static int choose_for(opt_policy *p, const sushi_policy_view *v, const sushi_subnet *const *subs, size_t n_subs,
                      bool exact, sushi_subgraph *next)
{
    opt_ws *fw;
    int rc = fill_ws_for(p, v, &fw);
    size_t n;
    if (!rc)
        rc = fill_items(p, v, subs, n_subs, 1.0, NULL, 0, 0.0, &n);
    return rc ? rc : optimise(p->ws, p->items, n, fw, v->capacity_bytes, exact, v->candidates, v->n_candidates, next, NULL);
}

static int sushi_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    opt_policy *p = state;
    if (v->n_window == 0)
        return keep_current(v, next);
    return choose_for(p, v, v->window, v->n_window, false, next);
}

static int oracle_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    opt_policy *p = state;
    if (v->n_future == 0 || !v->future)
        return sushi_choose(state, v, next); /* no future given: behaves as sushi */
    return choose_for(p, v, v->future, v->n_future, true, next);
}

static int static_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    opt_policy *p = state;
    if (!p->chosen) {
        /* the candidate set (total weight = the window's, or 1 without a
         * window) plus the first window's demand (weight 1 per query) */
        double total = v->n_window ? (double)v->n_window : 1.0;
        double wc = v->n_candidates ? total / (double)v->n_candidates : 0.0;
        size_t n;
        int rc = fill_items(p, v, v->window, v->n_window, 1.0, v->candidates, v->n_candidates, wc, &n);
        if (!rc)
            rc = optimise(p->ws, p->items, n, NULL, v->capacity_bytes, false, NULL, 0, p->fixed, NULL);
        if (rc)
            return rc;
        p->chosen = true;
    }
    int rc = sushi_subgraph_copy(next, p->fixed);
    return rc ? rc : sushi_subgraph_truncate(next, v->capacity_bytes);
}

static int none_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    (void)sn;
    *out = NULL;
    return SUSHI_OK;
}

static int none_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    (void)state;
    (void)v;
    return sushi_subgraph_clear(next);
}

static const sushi_policy_ops none_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "no SubGraph Stationary: nothing resident (the baseline)",
    .create = none_create,
    .choose = none_choose,
};

static const sushi_policy_ops sushi_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "SushiSched: the SubGraph within capacity maximising the last Q queries' hit bytes",
    .create = op_create,
    .destroy = op_destroy,
    .choose = sushi_choose,
};

static const sushi_policy_ops static_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "one SubGraph chosen at the first update from the candidates and the first window; never changed",
    .create = op_create,
    .destroy = op_destroy,
    .choose = static_choose,
};

static const sushi_policy_ops oracle_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "offline upper bound: maximises the hit bytes of the next Q queries (needs a lookahead)",
    .create = op_create,
    .destroy = op_destroy,
    .choose = oracle_choose,
};

const sushi_policy_ops *sushi_policy_none_ops(void) { return &none_ops; }
const sushi_policy_ops *sushi_policy_sushi_ops(void) { return &sushi_ops; }
const sushi_policy_ops *sushi_policy_static_ops(void) { return &static_ops; }
const sushi_policy_ops *sushi_policy_oracle_ops(void) { return &oracle_ops; }
