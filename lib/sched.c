/* sushi_sched (SushiSched): per-query SubNet selection over the Pareto
 * candidates, cache updates through a policy, reload charging and running
 * statistics. docs/scheduler.md describes the algorithms.
 *
 * Selection is O(log n): candidates are kept sorted by accuracy (descending);
 * for the current resident SubGraph the scheduler keeps each candidate's
 * predicted latency and the prefix minimum of those latencies (pmin). Then
 *   - the most accurate candidate meeting an SLO is the first position whose
 *     prefix-minimum latency meets it (pmin_lat is non-increasing, and drops
 *     exactly at the first candidate that is faster than all before it);
 *   - the fastest candidate meeting an accuracy floor is pmin at the last
 *     position whose accuracy meets the floor.
 * Both are binary searches. The tables are recomputed (one backend cost call
 * per candidate) only when the resident SubGraph changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sushi/input.h"
#include "sushi/sched.h"

#define DEFAULT_SAMPLES (1u << 20)
#define MAX_WINDOW 1000000u
#define MAX_ADAPT_WINDOW 1024u

/* Cost table of every candidate under one resident SubGraph. */
typedef struct ctab {
    double *model;      /* the backend's cost latency under this resident SubGraph */
    double *none;       /* the same with nothing resident (same moment: same model state) */
    double *lat;        /* predicted latency (model, or profile, times the load factor) */
    uint64_t *off;      /* off-chip bytes */
    uint64_t *hit;      /* hit bytes */
    double *en, *en_off;
    uint32_t *pmin;     /* argmin of lat[0..j] (earliest on ties) */
    double *pmin_lat;   /* lat[pmin[j]] */
} ctab;

typedef struct sched_acc {
    uint64_t queries, slo_q, slo_met, acc_q, acc_met, fallbacks;
    uint64_t dropped, e2e_q, e2e_met;
    double e2e_sum, e2e_max;
    uint64_t off, wb, hit, updates, reloads, reload_bytes, dec_max;
    double lat_sum, lat_max, queue_sum, acc_sum, reload_s, energy, energy_off, dec_sum, upd_sum;
    /* latency reservoir: service latency and end-to-end latency, same slots */
    double *smp, *smp_e2e;
    uint32_t n_smp, alloc_smp;
    uint64_t seen;
} sched_acc;

struct sushi_sched {
    sushi_supernet *sn;
    const sushi_context *ctx;
    sushi_backend *b;
    sushi_policy *p;
    sushi_sched_options o;
    uint64_t capacity;
    uint32_t n_with_acc;
    /* candidates, sorted by accuracy descending */
    uint32_t n;
    int32_t *table;
    double *acc;
    uint64_t *wbytes;
    sushi_subnet **sub;
    const sushi_subnet **sub_c; /* the same pointers, const (view->candidates) */
    ctab cur, tmp;
    double lat_min0, lat_max0;  /* predicted range with nothing resident */
    sushi_subgraph *resident, *next, *spare;
    bool owns_refs;             /* holds a reference on b and p (set on success) */
    bool self_pb;               /* backend has no set_resident: the scheduler counts hits itself */
    /* window of served candidates (positions) since the last update */
    uint32_t *win;
    uint32_t n_win;
    const sushi_subnet **view_win;
    /* lookahead (offline oracle) */
    const sushi_query *la;
    size_t n_la;
    uint64_t la_base;
    const sushi_subnet **view_fut, **view_fut2;
    /* reload waiting to be charged */
    double pend_s, pend_en, pend_en_off;
    uint64_t pend_bytes;
    bool pend_updated;
    /* input resized to the served SubNet's resolution */
    float *rs_buf;
    size_t rs_cap;
    /* prediction (docs/scheduler.md "Prediction and online adaptation") */
    double *prof_q;             /* per position: the profile's chosen quantile; NULL = no profile */
    double *prof_med;           /* per position: the profile's p50 */
    double *model0;             /* per position: model latency with nothing resident */
    bool adaptive;              /* resolved sushi_sched_adapt */
    double load;                /* load factor L (1 = as profiled / as modelled) */
    double tail;                /* tail factor T: the quantile of the same ratios */
    double *ring, *ring_sort;   /* the last adapt_window ratios measured / reference */
    uint32_t n_ring, ring_pos;
    uint32_t drops_in_row;      /* late = drop: queries dropped since the last run */
    /* stream */
    uint64_t served;            /* queries submitted since creation, dropped ones too (never reset) */
    double prev_finish;
    uint64_t rng;
    sched_acc st;
    /* objective and the cumulative tile savings of each candidate position
     * (NULL until a policy asks; in the objective's unit) */
    int objective;
    bool sav_unsupported;
    bool sav_nomem;             /* a savings table could not be allocated during this choose */
    double **sav;
    sushi_tile_saving *ts_buf;
    size_t ts_cap;
    struct sub_pos { const sushi_subnet *p; uint32_t pos; } *by_ptr; /* sorted by p */
};

static void sav_free(sushi_sched *s);
static int cmp_sub_pos(const void *a, const void *b);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- tables */

static void ctab_free(const sushi_context *ctx, ctab *t)
{
    sushi_free(ctx, t->model);
    sushi_free(ctx, t->none);
    sushi_free(ctx, t->lat);
    sushi_free(ctx, t->off);
    sushi_free(ctx, t->hit);
    sushi_free(ctx, t->en);
    sushi_free(ctx, t->en_off);
    sushi_free(ctx, t->pmin);
    sushi_free(ctx, t->pmin_lat);
    memset(t, 0, sizeof *t);
}

static int ctab_alloc(const sushi_context *ctx, ctab *t, uint32_t n)
{
    t->model = sushi_calloc(ctx, n, sizeof *t->model);
    t->none = sushi_calloc(ctx, n, sizeof *t->none);
    t->lat = sushi_calloc(ctx, n, sizeof *t->lat);
    t->off = sushi_calloc(ctx, n, sizeof *t->off);
    t->hit = sushi_calloc(ctx, n, sizeof *t->hit);
    t->en = sushi_calloc(ctx, n, sizeof *t->en);
    t->en_off = sushi_calloc(ctx, n, sizeof *t->en_off);
    t->pmin = sushi_calloc(ctx, n, sizeof *t->pmin);
    t->pmin_lat = sushi_calloc(ctx, n, sizeof *t->pmin_lat);
    if (!t->model || !t->none || !t->lat || !t->off || !t->hit || !t->en || !t->en_off || !t->pmin || !t->pmin_lat)
        return SUSHI_ERR_NOMEM;
    return SUSHI_OK;
}

static void adapt_restart(sushi_sched *s);

/* late = drop with adaptation: drops in a row before a probe run (submit) */
#define PROBE_AFTER 4u

/* Residency factor of position i under table t: how much the backend's model
 * says the resident SubGraph changes its latency, both costs taken at the
 * same moment (1 on backends whose latency ignores residency, e.g. cpu). A
 * profile is measured with nothing resident, so its latencies are scaled by
 * this factor. */
static double residency_scale(const ctab *t, uint32_t i)
{
    return t->none[i] > 0.0 ? t->model[i] / t->none[i] : 1.0;
}

/* Base prediction of position i (before the load factor) and the latency
 * the load factor is relative to:
 *   profile:             quantile q and p50 of the profile (x residency)
 *   no profile, adapt:   the model at creation, nothing resident (x residency);
 *                        frozen, because a model that itself follows the
 *                        last runs (cpu's measured GFLOP/s) would move the
 *                        reference under the load factor
 *   no profile, no adapt: the model now (the open-loop behaviour of 0.2). */
static double base_latency(const sushi_sched *s, const ctab *t, uint32_t i)
{
    if (s->prof_q)
        return s->prof_q[i] * residency_scale(t, i);
    return s->adaptive ? s->model0[i] * residency_scale(t, i) : t->model[i];
}

static double reference_latency(const sushi_sched *s, const ctab *t, uint32_t i)
{
    if (s->prof_q)
        return s->prof_med[i] * residency_scale(t, i);
    return base_latency(s, t, i);
}

/* Predicted latencies and their prefix minimum from t->model, the profile,
 * the load factor and the tail factor (docs/scheduler.md "Online
 * adaptation"): max(base x L, reference x T). O(n). */
static void ctab_predict(const sushi_sched *s, ctab *t)
{
    for (uint32_t i = 0; i < s->n; i++) {
        double a = base_latency(s, t, i) * s->load, b = reference_latency(s, t, i) * s->tail;
        t->lat[i] = a > b ? a : b;
    }
    uint32_t best = 0;
    for (uint32_t j = 0; j < s->n; j++) {
        if (t->lat[j] < t->lat[best])
            best = j;
        t->pmin[j] = best;
        t->pmin_lat[j] = t->lat[best];
    }
}

/* Predict every candidate's cost with `g` resident (NULL or empty: nothing). */
static int ctab_compute(sushi_sched *s, const sushi_subgraph *g, ctab *t)
{
    const sushi_subgraph *res = (g && sushi_subgraph_bytes(g) > 0) ? g : NULL;
    for (uint32_t i = 0; i < s->n; i++) {
        sushi_cost c = SUSHI_COST_INIT;
        int rc = sushi_backend_cost(s->b, s->sub[i], res, &c);
        if (rc != SUSHI_OK) {
            sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: backend %s: cost of candidate %d: %s",
                      sushi_backend_get_name(s->b), (int)s->table[i], sushi_status_str(rc));
            return rc;
        }
        if (!(c.latency_s >= 0.0) || !isfinite(c.latency_s)) {
            sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: backend %s predicted latency %g for candidate %d",
                      sushi_backend_get_name(s->b), c.latency_s, (int)s->table[i]);
            return SUSHI_ERR_BACKEND;
        }
        t->model[i] = c.latency_s;
        t->none[i] = c.latency_s;
        if (res) {
            sushi_cost c0 = SUSHI_COST_INIT;
            rc = sushi_backend_cost(s->b, s->sub[i], NULL, &c0);
            if (rc != SUSHI_OK)
                return rc;
            t->none[i] = c0.latency_s >= 0.0 && isfinite(c0.latency_s) ? c0.latency_s : 0.0;
        }
        t->off[i] = c.offchip_bytes;
        t->hit[i] = s->self_pb ? sushi_subgraph_hit_bytes(res, s->sub[i]) : c.hit_bytes;
        t->en[i] = c.energy_j;
        t->en_off[i] = c.energy_offchip_j;
    }
    ctab_predict(s, t);
    return SUSHI_OK;
}

/* --------------------------------------------------------------- selection */

/* Number of candidates with accuracy >= floor (accuracy sorted descending). */
static uint32_t count_meeting_floor(const sushi_sched *s, double floor)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->acc[mid] >= floor)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First position whose predicted latency (+ pend) meets slo; n when none. */
static uint32_t first_meeting_slo(const sushi_sched *s, const ctab *t, double slo, double pend)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->pmin_lat[mid] + pend <= slo)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The decision. Returns a position in the sorted candidates. `slo` is the
 * remaining budget (may be <= 0 when the query has waited past its SLO) and
 * has_slo says whether the query has one. *late is set when the query has an
 * SLO that is judged (not SUSHI_SCHED_FASTEST) and no candidate that meets
 * the floor fits the budget (when no candidate meets the floor at all: no
 * candidate fits the budget). */
static uint32_t select_pos(const sushi_sched *s, const ctab *t, double floor, bool has_slo, double slo,
                           double pend, bool *fallback, bool *late)
{
    const uint32_t n = s->n;
    bool has_a = floor > 0.0, has_l = has_slo;
    *fallback = false;
    *late = false;
    if (s->o.mode == SUSHI_SCHED_MOST_ACCURATE)
        has_a = false;
    else if (s->o.mode == SUSHI_SCHED_FASTEST)
        has_l = false;

    if (s->o.mode == SUSHI_SCHED_FASTEST) {
        uint32_t ca = has_a ? count_meeting_floor(s, floor) : n;
        if (ca > 0)
            return t->pmin[ca - 1];
        *fallback = true;
        return 0;
    }
    if (!has_a && !has_l)
        return 0;
    if (!has_l) { /* floor only: fastest meeting it */
        uint32_t ca = count_meeting_floor(s, floor);
        if (ca > 0)
            return t->pmin[ca - 1];
        *fallback = true;
        return 0;
    }
    uint32_t jl = slo > 0.0 ? first_meeting_slo(s, t, slo, pend) : n;
    if (!has_a) { /* SLO only: most accurate meeting it */
        if (jl < n)
            return jl;
        *fallback = true;
        *late = true;
        return t->pmin[n - 1];
    }
    uint32_t ca = count_meeting_floor(s, floor);
    if (jl < ca) /* the most accurate meeting the SLO also meets the floor */
        return jl;
    *fallback = true;
    *late = ca > 0 || jl >= n;
    if (s->o.fallback == SUSHI_SCHED_FALLBACK_LATENCY_FIRST)
        return jl < n ? jl : t->pmin[n - 1];
    if (ca > 0)
        return t->pmin[ca - 1];
    return jl < n ? jl : t->pmin[n - 1];
}

static int check_query(const sushi_query *q)
{
    if (q->size < sizeof(sushi_query))
        return SUSHI_ERR_ABI;
    if (!isfinite(q->min_accuracy) || !isfinite(q->slo_s) || !isfinite(q->arrival_s) ||
        !isfinite(q->start_s))
        return SUSHI_ERR_INVALID;
    if (q->start_s > 0.0 && q->start_s < q->arrival_s)
        return SUSHI_ERR_INVALID; /* service cannot start before arrival */
    if (q->min_accuracy < 0.0 || q->slo_s < 0.0 || q->arrival_s < 0.0)
        return SUSHI_ERR_INVALID;
    if (q->min_accuracy > 1.0)
        return SUSHI_ERR_RANGE;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ create */

typedef struct cand_key {
    uint32_t idx;
    double acc;
    uint64_t macs, bytes;
} cand_key;

static int cmp_cand(const void *a, const void *b)
{
    const cand_key *x = a, *y = b;
    if (x->acc != y->acc)
        return x->acc > y->acc ? -1 : 1;
    if (x->macs != y->macs)
        return x->macs < y->macs ? -1 : 1;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* true when b dominates a under the chosen Pareto criterion */
static bool dominates(const cand_key *b, const cand_key *a, int pareto)
{
    bool use_m = pareto == SUSHI_SCHED_PARETO_MACS_BYTES || pareto == SUSHI_SCHED_PARETO_MACS;
    bool use_b = pareto == SUSHI_SCHED_PARETO_MACS_BYTES || pareto == SUSHI_SCHED_PARETO_BYTES;
    if (b->acc < a->acc || (use_m && b->macs > a->macs) || (use_b && b->bytes > a->bytes))
        return false;
    bool strict = b->acc > a->acc || (use_m && b->macs < a->macs) || (use_b && b->bytes < a->bytes);
    return strict || b->idx < a->idx; /* exact ties: keep the first */
}

static int read_capacity(sushi_sched *s, uint64_t want)
{
    double v = 0.0;
    if (want != SUSHI_SCHED_PB_AUTO) {
        s->capacity = want;
        int rc = sushi_backend_set_param(s->b, "pb_bytes", (double)want);
        if (rc == SUSHI_ERR_NOT_FOUND || rc == SUSHI_ERR_UNSUPPORTED)
            rc = sushi_backend_set_param(s->b, "pb_kib", (double)want / 1024.0);
        if (rc == SUSHI_ERR_NOT_FOUND || rc == SUSHI_ERR_UNSUPPORTED)
            rc = SUSHI_OK;
        if (rc != SUSHI_OK)
            sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: backend %s rejected a persistent buffer of %llu bytes: %s",
                      sushi_backend_get_name(s->b), (unsigned long long)want, sushi_status_str(rc));
        return rc;
    }
    if (sushi_backend_get_param(s->b, "pb_bytes", &v) == SUSHI_OK && v >= 0.0 && v < 1.8e19) {
        s->capacity = (uint64_t)v;
    } else if (sushi_backend_get_param(s->b, "pb_kib", &v) == SUSHI_OK && v >= 0.0 && v < 1.8e16) {
        s->capacity = (uint64_t)(v * 1024.0);
    } else {
        s->capacity = 0;
        sushi_log(s->ctx, SUSHI_LOG_WARN,
                  "sched: backend %s has no pb_bytes/pb_kib param and no capacity was given: "
                  "persistent buffer of 0 bytes (nothing can be resident)",
                  sushi_backend_get_name(s->b));
    }
    return SUSHI_OK;
}

static int build_candidates(sushi_sched *s)
{
    const sushi_supernet *sn = s->sn;
    cand_key *all = sushi_calloc(s->ctx, sn->n_cand + 1, sizeof *all);
    cand_key *k = sushi_calloc(s->ctx, sn->n_cand + 1, sizeof *k);
    if (!k || !all) {
        sushi_free(s->ctx, k);
        sushi_free(s->ctx, all);
        return SUSHI_ERR_NOMEM;
    }
    uint32_t m = 0;
    for (uint32_t i = 0; i < sn->n_cand; i++) {
        const sushi_candidate *c = &sn->cands[i];
        if (!isnan(c->accuracy))
            all[m++] = (cand_key){ i, c->accuracy, c->macs, c->weight_bytes };
    }
    s->n_with_acc = m;
    if (m == 0) {
        sushi_log(s->ctx, SUSHI_LOG_ERROR,
                  "sched: SuperNet %s: none of its %u candidates has an accuracy (all NaN): "
                  "the scheduler has nothing to choose from",
                  sn->name ? sn->name : "?", sn->n_cand);
        sushi_free(s->ctx, k);
        sushi_free(s->ctx, all);
        return SUSHI_ERR_INFEASIBLE;
    }
    /* Pareto filter: O(m^2), done once */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m; i++) {
        bool dom = false;
        if (s->o.pareto != SUSHI_SCHED_PARETO_NONE)
            for (uint32_t j = 0; j < m && !dom; j++)
                dom = j != i && dominates(&all[j], &all[i], s->o.pareto);
        if (!dom)
            k[kept++] = all[i];
    }
    sushi_free(s->ctx, all);
    qsort(k, kept, sizeof *k, cmp_cand);

    s->n = kept;
    s->table = sushi_calloc(s->ctx, kept, sizeof *s->table);
    s->acc = sushi_calloc(s->ctx, kept, sizeof *s->acc);
    s->wbytes = sushi_calloc(s->ctx, kept, sizeof *s->wbytes);
    s->sub = sushi_calloc(s->ctx, kept, sizeof *s->sub);
    s->sub_c = sushi_calloc(s->ctx, kept, sizeof *s->sub_c);
    int rc = (s->table && s->acc && s->wbytes && s->sub && s->sub_c) ? SUSHI_OK : SUSHI_ERR_NOMEM;
    for (uint32_t i = 0; i < kept && rc == SUSHI_OK; i++) {
        s->table[i] = (int32_t)k[i].idx;
        s->acc[i] = k[i].acc;
        rc = sushi_subnet_create(sn, &sn->cands[k[i].idx].config, &s->sub[i]);
        if (rc == SUSHI_OK) {
            s->wbytes[i] = s->sub[i]->weight_bytes;
            s->sub_c[i] = s->sub[i];
        } else {
            sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: candidate %u does not resolve: %s", k[i].idx,
                      sushi_status_str(rc));
        }
    }
    sushi_free(s->ctx, k);
    return rc;
}

void sushi_sched_destroy(sushi_sched *s)
{
    if (!s)
        return;
    const sushi_context *ctx = s->ctx;
    for (uint32_t i = 0; s->sub && i < s->n; i++)
        sushi_subnet_destroy(s->sub[i]);
    sushi_free(ctx, s->sub);
    sushi_free(ctx, s->sub_c);
    sushi_free(ctx, s->table);
    sushi_free(ctx, s->acc);
    sushi_free(ctx, s->wbytes);
    ctab_free(ctx, &s->cur);
    ctab_free(ctx, &s->tmp);
    sushi_subgraph_destroy(s->resident);
    sushi_subgraph_destroy(s->next);
    sushi_subgraph_destroy(s->spare);
    sushi_free(ctx, s->win);
    sushi_free(ctx, s->view_win);
    sushi_free(ctx, s->view_fut);
    sushi_free(ctx, s->view_fut2);
    sushi_free(ctx, s->st.smp);
    sushi_free(ctx, s->st.smp_e2e);
    sushi_free(ctx, s->rs_buf);
    sushi_free(ctx, s->prof_q);
    sushi_free(ctx, s->prof_med);
    sushi_free(ctx, s->model0);
    sushi_free(ctx, s->ring);
    sushi_free(ctx, s->ring_sort);
    sav_free(s);
    sushi_free(ctx, s->sav);
    sushi_free(ctx, s->ts_buf);
    sushi_free(ctx, s->by_ptr);
    sushi_supernet *sn = s->sn;
    sushi_backend *b = s->owns_refs ? s->b : NULL;
    sushi_policy *p = s->owns_refs ? s->p : NULL;
    sushi_free(ctx, s);
    sushi_backend_destroy(b);
    sushi_policy_destroy(p);
    sushi_supernet_destroy(sn);
}

int sushi_sched_create(const sushi_supernet *sn, sushi_backend *b, sushi_policy *p,
                       const sushi_sched_options *opts, sushi_sched **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn || !b || !p || b->sn != sn || p->sn != sn)
        return SUSHI_ERR_INVALID;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof o)
            return SUSHI_ERR_ABI;
        o = *opts;
        o.size = sizeof o;
    }
    if (o.mode < SUSHI_SCHED_MOST_ACCURATE || o.mode > SUSHI_SCHED_BOTH ||
        o.fallback < SUSHI_SCHED_FALLBACK_ACCURACY_FIRST || o.fallback > SUSHI_SCHED_FALLBACK_LATENCY_FIRST ||
        o.reload < SUSHI_SCHED_RELOAD_NEXT_QUERY || o.reload > SUSHI_SCHED_RELOAD_SEPARATE ||
        o.pareto < SUSHI_SCHED_PARETO_MACS_BYTES || o.pareto > SUSHI_SCHED_PARETO_NONE ||
        o.window < 1 || o.window > MAX_WINDOW)
        return SUSHI_ERR_INVALID;
    if (o.late < SUSHI_SCHED_LATE_FASTEST || o.late > SUSHI_SCHED_LATE_DROP ||
        o.adapt < SUSHI_SCHED_ADAPT_AUTO || o.adapt > SUSHI_SCHED_ADAPT_ON ||
        !(o.quantile == 0.0 || (o.quantile >= 0.5 && o.quantile <= 1.0)) ||
        o.adapt_window > MAX_ADAPT_WINDOW)
        return SUSHI_ERR_INVALID;
    if (o.latency_samples == 0)
        o.latency_samples = DEFAULT_SAMPLES;
    if (o.quantile == 0.0)
        o.quantile = SUSHI_SCHED_QUANTILE_DEFAULT;
    if (o.adapt_window == 0)
        o.adapt_window = SUSHI_SCHED_ADAPT_WINDOW_DEFAULT;

    const sushi_context *ctx = sn->ctx;
    sushi_sched *s = sushi_calloc(ctx, 1, sizeof *s);
    if (!s)
        return SUSHI_ERR_NOMEM;
    s->sn = (sushi_supernet *)sn;
    sushi_ref_get(&s->sn->ref);
    s->ctx = ctx;
    s->b = b;
    s->p = p;
    s->o = o;
    s->rng = o.seed ^ 0x5C4EDu;
    s->adaptive = o.adapt == SUSHI_SCHED_ADAPT_ON ||
                  (o.adapt == SUSHI_SCHED_ADAPT_AUTO && (sushi_backend_caps(b) & SUSHI_BACKEND_CAP_MEASURED));

    int rc = read_capacity(s, o.pb_bytes);
    if (!rc)
        rc = build_candidates(s);
    if (!rc)
        rc = ctab_alloc(ctx, &s->cur, s->n);
    if (!rc)
        rc = ctab_alloc(ctx, &s->tmp, s->n);
    if (!rc)
        rc = sushi_subgraph_create(sn, &s->resident);
    if (!rc)
        rc = sushi_subgraph_create(sn, &s->next);
    if (!rc)
        rc = sushi_subgraph_create(sn, &s->spare);
    if (!rc) {
        s->win = sushi_calloc(ctx, o.window, sizeof *s->win);
        s->view_win = sushi_calloc(ctx, o.window, sizeof *s->view_win);
        s->view_fut = sushi_calloc(ctx, o.window, sizeof *s->view_fut);
        s->view_fut2 = sushi_calloc(ctx, o.window, sizeof *s->view_fut2);
        s->model0 = sushi_calloc(ctx, s->n, sizeof *s->model0);
        s->ring = sushi_calloc(ctx, o.adapt_window, sizeof *s->ring);
        s->ring_sort = sushi_calloc(ctx, o.adapt_window, sizeof *s->ring_sort);
        if (!s->win || !s->view_win || !s->view_fut || !s->view_fut2 || !s->model0 || !s->ring ||
            !s->ring_sort)
            rc = SUSHI_ERR_NOMEM;
        else
            adapt_restart(s);
    }
    if (!rc) {
        s->sav = sushi_calloc(ctx, s->n, sizeof *s->sav);
        s->by_ptr = sushi_calloc(ctx, s->n, sizeof *s->by_ptr);
        if (!s->sav || !s->by_ptr)
            rc = SUSHI_ERR_NOMEM;
        for (uint32_t i = 0; !rc && i < s->n; i++)
            s->by_ptr[i] = (struct sub_pos){ s->sub[i], i };
        if (!rc)
            qsort(s->by_ptr, s->n, sizeof *s->by_ptr, cmp_sub_pos);
    }
    if (!rc && !b->entry->ops.cost) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "sched: backend %s has no cost slot", sushi_backend_get_name(b));
        rc = SUSHI_ERR_UNSUPPORTED;
    }
    if (!rc)
        rc = ctab_compute(s, NULL, &s->cur);
    if (!rc) {
        memcpy(s->model0, s->cur.model, s->n * sizeof *s->model0);
        ctab_predict(s, &s->cur);
        s->lat_min0 = s->cur.pmin_lat[s->n - 1];
        s->lat_max0 = 0.0;
        for (uint32_t i = 0; i < s->n; i++)
            if (s->cur.lat[i] > s->lat_max0)
                s->lat_max0 = s->cur.lat[i];
        /* start from an empty persistent buffer on the device too */
        int r2 = sushi_backend_set_resident(b, NULL, NULL);
        if (r2 == SUSHI_ERR_UNSUPPORTED)
            s->self_pb = true;
        else if (r2 != SUSHI_OK)
            rc = r2;
    }
    if (!rc)
        rc = sushi_sched_set_objective(s, SUSHI_OBJECTIVE_TIME);
    if (rc) {
        sushi_sched_destroy(s);
        return rc;
    }
    sushi_log(ctx, SUSHI_LOG_INFO,
              "sched: %u candidates (Pareto of %u with accuracy), window %u, persistent buffer %llu bytes",
              s->n, s->n_with_acc, o.window, (unsigned long long)s->capacity);
    /* keep the backend and policy alive as long as the scheduler */
    sushi_ref_get(&b->ref);
    sushi_ref_get(&p->ref);
    s->owns_refs = true;
    *out = s;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ update */

static bool same_subgraph(const sushi_subgraph *a, const sushi_subgraph *b)
{
    return sushi_subgraph_bytes(a) == sushi_subgraph_bytes(b) && sushi_subgraph_contains(a, b) &&
           sushi_subgraph_contains(b, a);
}

/* The SubNets the next Q lookahead queries would be served under table t. */
static size_t simulate_future(const sushi_sched *s, const ctab *t, const sushi_subnet **out)
{
    size_t m = 0;
    for (uint32_t k = 0; k < s->o.window; k++) {
        uint64_t qi = s->served + k;
        if (qi < s->la_base || qi - s->la_base >= s->n_la)
            break;
        const sushi_query *q = &s->la[qi - s->la_base];
        if (check_query(q) != SUSHI_OK)
            continue;
        bool fb, late;
        out[m++] = s->sub[select_pos(s, t, q->min_accuracy, q->slo_s > 0.0, q->slo_s, 0.0, &fb, &late)];
    }
    return m;
}

/* ------------------------------------------------------------ tile savings */

static void sav_free(sushi_sched *s)
{
    for (uint32_t i = 0; s->sav && i < s->n; i++) {
        sushi_free(s->ctx, s->sav[i]);
        s->sav[i] = NULL;
    }
}

static int cmp_sub_pos(const void *a, const void *b)
{
    const struct sub_pos *x = a, *y = b;
    return (uintptr_t)x->p < (uintptr_t)y->p ? -1 : (uintptr_t)x->p > (uintptr_t)y->p;
}

/* sushi_view_tile_savings_fn: the cumulative savings of candidate `sub`
 * (computed once per candidate and objective, then reused). */
static const double *sched_tile_savings(void *user, const sushi_subnet *sub)
{
    sushi_sched *s = user;
    if (s->sav_unsupported || !s->by_ptr)
        return NULL;
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((uintptr_t)s->by_ptr[mid].p < (uintptr_t)sub)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= s->n || s->by_ptr[lo].p != sub)
        return NULL;
    uint32_t pos = s->by_ptr[lo].pos;
    if (s->sav[pos])
        return s->sav[pos];
    size_t n = 0;
    int rc = sushi_backend_tile_savings(s->b, sub, NULL, 0, &n);
    if (rc == SUSHI_OK && n > s->ts_cap) {
        sushi_tile_saving *nb = sushi_realloc(s->ctx, s->ts_buf, n * sizeof *nb);
        if (!nb) {
            s->sav_nomem = true;
            return NULL;
        }
        s->ts_buf = nb;
        s->ts_cap = n;
    }
    if (rc == SUSHI_OK)
        rc = sushi_backend_tile_savings(s->b, sub, s->ts_buf, s->ts_cap, &n);
    if (rc != SUSHI_OK) {
        if (rc == SUSHI_ERR_NOMEM)
            s->sav_nomem = true;
        if (rc == SUSHI_ERR_UNSUPPORTED) {
            s->sav_unsupported = true;
            sushi_log(s->ctx, SUSHI_LOG_INFO, "sched: backend %s reports no tile savings: objective bytes",
                      sushi_backend_get_name(s->b));
        } else {
            sushi_log(s->ctx, SUSHI_LOG_WARN, "sched: backend %s: tile savings of candidate %d: %s",
                      sushi_backend_get_name(s->b), (int)s->table[pos], sushi_status_str(rc));
        }
        return NULL;
    }
    double *c = sushi_calloc(s->ctx, n + 1, sizeof *c);
    if (!c) {
        s->sav_nomem = true;
        return NULL;
    }
    size_t k = 0;
    for (uint32_t t = 0; t < s->sn->n_wt && k < n; t++) {
        if (!sub->box_out[t] || !sub->box_in[t])
            continue;
        uint32_t nt = (sub->box_out[t] + SUSHI_SUBGRAPH_TILE_OUT - 1) / SUSHI_SUBGRAPH_TILE_OUT;
        double run = 0.0;
        for (uint32_t j = 0; j < nt && k < n; j++, k++) {
            const sushi_tile_saving *e = &s->ts_buf[k];
            run += s->objective == SUSHI_OBJECTIVE_TIME ? e->latency_s
                   : s->objective == SUSHI_OBJECTIVE_ENERGY ? e->energy_j
                                                             : (double)e->offchip_bytes;
            c[k] = run;
        }
    }
    s->sav[pos] = c;
    return c;
}

int sushi_sched_set_objective(sushi_sched *s, int objective)
{
    if (!s || objective < SUSHI_OBJECTIVE_BYTES || objective > SUSHI_OBJECTIVE_ENERGY)
        return SUSHI_ERR_INVALID;
    if (objective != s->objective)
        sav_free(s);
    s->objective = objective;
    if (objective != SUSHI_OBJECTIVE_BYTES && !s->sav_unsupported) {
        size_t n;
        if (sushi_backend_tile_savings(s->b, s->sub[0], NULL, 0, &n) == SUSHI_ERR_UNSUPPORTED) {
            s->sav_unsupported = true;
            sushi_log(s->ctx, SUSHI_LOG_INFO, "sched: backend %s reports no tile savings: objective bytes",
                      sushi_backend_get_name(s->b));
        }
    }
    return SUSHI_OK;
}

int sushi_sched_objective(const sushi_sched *s)
{
    if (!s)
        return -1;
    return s->sav_unsupported ? SUSHI_OBJECTIVE_BYTES : s->objective;
}

static int choose(sushi_sched *s, const sushi_subnet **future, size_t n_future, sushi_subgraph *into)
{
    for (uint32_t i = 0; i < s->n_win; i++)
        s->view_win[i] = s->sub[s->win[i]];
    sushi_policy_view v = {
        .size = sizeof v,
        .supernet = s->sn,
        .capacity_bytes = s->capacity,
        .current = s->resident,
        .window = s->view_win,
        .n_window = s->n_win,
        .future = n_future ? future : NULL,
        .n_future = n_future,
        .candidates = s->sub_c,
        .n_candidates = s->n,
        .objective = sushi_sched_objective(s),
        .tile_savings = sched_tile_savings,
        .tile_savings_user = s,
    };
    if (v.objective == SUSHI_OBJECTIVE_BYTES)
        v.tile_savings = NULL, v.tile_savings_user = NULL;
    s->sav_nomem = false;
    int rc = sushi_policy_choose(s->p, &v, into);
    /* a policy falls back to bytes when savings are missing; out of memory
     * is still out of memory */
    if (rc == SUSHI_OK && s->sav_nomem) {
        sushi_subgraph_clear(into);
        rc = SUSHI_ERR_NOMEM;
    }
    return rc;
}

int sushi_sched_update(sushi_sched *s)
{
    if (!s)
        return SUSHI_ERR_INVALID;
    uint64_t t0 = now_ns();
    int rc;
    if (s->la && s->n_la) {
        /* Offline lookahead: the SubNets the next Q queries get depend on the
         * SubGraph being chosen; iterate (at most twice) towards a fixed point. */
        size_t nf = simulate_future(s, &s->cur, s->view_fut);
        rc = choose(s, s->view_fut, nf, s->next);
        for (int iter = 0; rc == SUSHI_OK && iter < 2; iter++) {
            if (same_subgraph(s->next, s->resident))
                break;
            rc = ctab_compute(s, s->next, &s->tmp);
            if (rc)
                break;
            size_t nf2 = simulate_future(s, &s->tmp, s->view_fut2);
            bool same = nf2 == nf && memcmp(s->view_fut, s->view_fut2, nf * sizeof *s->view_fut) == 0;
            if (same)
                break;
            memcpy(s->view_fut, s->view_fut2, nf2 * sizeof *s->view_fut);
            nf = nf2;
            rc = choose(s, s->view_fut, nf, s->next);
        }
    } else {
        rc = choose(s, NULL, 0, s->next);
    }
    if (rc != SUSHI_OK)
        return rc;
    s->n_win = 0;
    s->st.updates++;
    s->pend_updated = true;
    if (!same_subgraph(s->next, s->resident)) {
        sushi_cost rl = SUSHI_COST_INIT;
        bool empty = sushi_subgraph_bytes(s->next) == 0;
        if (!s->self_pb) {
            rc = sushi_backend_set_resident(s->b, empty ? NULL : s->next, &rl);
            if (rc == SUSHI_ERR_UNSUPPORTED) {
                s->self_pb = true;
                rc = SUSHI_OK;
            }
            if (rc != SUSHI_OK) {
                sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: backend %s: set_resident: %s",
                          sushi_backend_get_name(s->b), sushi_status_str(rc));
                return rc;
            }
        }
        if (s->self_pb) {
            memset(&rl, 0, sizeof rl);
            rl.size = sizeof rl;
            rl.offchip_bytes = rl.weight_bytes = sushi_subgraph_bytes(s->next);
        }
        sushi_subgraph *t = s->resident;
        s->resident = s->next;
        s->next = t;
        rc = ctab_compute(s, s->resident, &s->cur);
        if (rc != SUSHI_OK)
            return rc;
        uint64_t bytes = rl.offchip_bytes ? rl.offchip_bytes : rl.weight_bytes;
        s->st.reloads++;
        s->st.reload_bytes += bytes;
        s->st.reload_s += rl.latency_s;
        s->st.off += bytes;
        s->st.energy += rl.energy_j;
        s->st.energy_off += rl.energy_offchip_j;
        if (s->o.reload == SUSHI_SCHED_RELOAD_NEXT_QUERY) {
            s->pend_s += rl.latency_s;
            s->pend_bytes += bytes;
            s->pend_en += rl.energy_j;
            s->pend_en_off += rl.energy_offchip_j;
        }
    }
    s->st.upd_sum += (double)(now_ns() - t0);
    return SUSHI_OK;
}

/* The ring starts full of the prior ratio 1 (as profiled / as modelled):
 * the median then moves only once more than half the window agrees, so a
 * first cold run of a fresh backend instance (page faults, workspace
 * allocation) cannot set the load factor on its own. */
static void adapt_restart(sushi_sched *s)
{
    s->load = 1.0;
    s->tail = 1.0;
    s->n_ring = s->o.adapt_window;
    s->ring_pos = 0;
    s->drops_in_row = 0;
    for (uint32_t i = 0; s->ring && i < s->n_ring; i++)
        s->ring[i] = 1.0;
}

int sushi_sched_set_profile(sushi_sched *s, const sushi_profile *p)
{
    if (!s)
        return SUSHI_ERR_INVALID;
    if (!p) {
        sushi_free(s->ctx, s->prof_q);
        sushi_free(s->ctx, s->prof_med);
        s->prof_q = s->prof_med = NULL;
        adapt_restart(s);
        ctab_predict(s, &s->cur);
        s->lat_min0 = s->lat_max0 = s->model0[0];
        for (uint32_t i = 0; i < s->n; i++) {
            s->lat_min0 = s->model0[i] < s->lat_min0 ? s->model0[i] : s->lat_min0;
            s->lat_max0 = s->model0[i] > s->lat_max0 ? s->model0[i] : s->lat_max0;
        }
        return SUSHI_OK;
    }
    int rc = sushi_profile_check(p, s->b);
    if (rc != SUSHI_OK)
        return rc;
    double *q = sushi_calloc(s->ctx, s->n, sizeof *q);
    double *med = sushi_calloc(s->ctx, s->n, sizeof *med);
    if (!q || !med) {
        sushi_free(s->ctx, q);
        sushi_free(s->ctx, med);
        return SUSHI_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < s->n && rc == SUSHI_OK; i++) {
        rc = sushi_profile_quantile(p, s->table[i], s->o.quantile, &q[i]);
        if (rc == SUSHI_OK)
            rc = sushi_profile_quantile(p, s->table[i], 0.5, &med[i]);
        if (rc != SUSHI_OK)
            sushi_log(s->ctx, SUSHI_LOG_ERROR, "sched: the profile has no entry for candidate %d: %s",
                      (int)s->table[i], sushi_status_str(rc));
    }
    if (rc != SUSHI_OK) {
        sushi_free(s->ctx, q);
        sushi_free(s->ctx, med);
        return rc;
    }
    sushi_free(s->ctx, s->prof_q);
    sushi_free(s->ctx, s->prof_med);
    s->prof_q = q;
    s->prof_med = med;
    adapt_restart(s);
    ctab_predict(s, &s->cur);
    s->lat_min0 = s->lat_max0 = q[0];
    for (uint32_t i = 0; i < s->n; i++) {
        s->lat_min0 = q[i] < s->lat_min0 ? q[i] : s->lat_min0;
        s->lat_max0 = q[i] > s->lat_max0 ? q[i] : s->lat_max0;
    }
    sushi_log(s->ctx, SUSHI_LOG_INFO, "sched: predicting from a profile (quantile %g)%s", s->o.quantile,
              s->adaptive ? ", adapted to measured runs" : "");
    return SUSHI_OK;
}

int sushi_sched_set_lookahead(sushi_sched *s, const sushi_query *future, size_t n)
{
    if (!s || (!future && n))
        return SUSHI_ERR_INVALID;
    if (n && future[0].size < sizeof(sushi_query))
        return SUSHI_ERR_ABI;
    s->la = n ? future : NULL;
    s->n_la = n;
    s->la_base = s->served;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ submit */

static int reserve_sample(sushi_sched *s)
{
    sched_acc *a = &s->st;
    if (a->n_smp < a->alloc_smp || a->alloc_smp >= s->o.latency_samples)
        return SUSHI_OK;
    uint32_t n = a->alloc_smp ? a->alloc_smp * 2 : 1024;
    if (n > s->o.latency_samples)
        n = s->o.latency_samples;
    double *p = sushi_realloc(s->ctx, a->smp, (size_t)n * sizeof *p);
    if (!p)
        return SUSHI_ERR_NOMEM;
    a->smp = p;
    double *e = sushi_realloc(s->ctx, a->smp_e2e, (size_t)n * sizeof *e);
    if (!e)
        return SUSHI_ERR_NOMEM; /* smp grew, alloc_smp not yet: retried next time */
    a->smp_e2e = e;
    a->alloc_smp = n;
    return SUSHI_OK;
}

/* The query's input at resolution r: itself, or resized into rs_buf. */
static int input_for(sushi_sched *s, const sushi_query *q, uint32_t r, const float **in, size_t *len)
{
    const uint32_t c = s->sn->in_channels;
    size_t need = (size_t)c * r * r;
    *in = q->input;
    *len = q->input_len;
    if (q->input_len == need || c == 0 || q->input_len % c)
        return SUSHI_OK; /* matches, or not an image: the backend judges */
    size_t area = q->input_len / c;
    uint32_t R = (uint32_t)llround(sqrt((double)area));
    if ((size_t)R * R != area || R == 0)
        return SUSHI_OK;
    if (s->rs_cap < need) {
        float *b = sushi_realloc(s->ctx, s->rs_buf, need * sizeof *b);
        if (!b)
            return SUSHI_ERR_NOMEM;
        s->rs_buf = b;
        s->rs_cap = need;
    }
    /* the resize of input.h: an image normalised by sushi_input_from_u8() at
     * R becomes exactly what sushi_input_from_u8() gives at r */
    int rc = sushi_input_resize(q->input, c, R, R, s->rs_buf, r, r);
    if (rc != SUSHI_OK)
        return rc;
    *in = s->rs_buf;
    *len = need;
    return SUSHI_OK;
}

static void add_sample(sushi_sched *s, double x, double e2e)
{
    sched_acc *a = &s->st;
    a->seen++;
    if (a->n_smp < s->o.latency_samples) {
        a->smp_e2e[a->n_smp] = e2e;
        a->smp[a->n_smp++] = x; /* reserve_sample made room */
        return;
    }
    uint64_t j = splitmix(&s->rng) % a->seen; /* Algorithm R */
    if (j < a->n_smp) {
        a->smp[j] = x;
        a->smp_e2e[j] = e2e;
    }
}

/* ------------------------------------------------------------- adaptation */

/* Feed one measured run of position j (its service latency without any
 * charged reload) to the estimator: the ratio measured / reference enters a
 * ring of the last adapt_window ratios, the load factor becomes their median
 * (the mean of the two middle ones for an even count), and the predictions
 * are rescaled. */
static void adapt_observe(sushi_sched *s, uint32_t j, double measured)
{
    double ref = reference_latency(s, &s->cur, j);
    if (!(ref > 0.0) || !(measured > 0.0) || !isfinite(measured) || !isfinite(ref))
        return;
    double r = measured / ref;
    s->ring[s->ring_pos] = r;
    s->ring_pos = (s->ring_pos + 1) % s->o.adapt_window;
    if (s->n_ring < s->o.adapt_window)
        s->n_ring++;
    memcpy(s->ring_sort, s->ring, s->n_ring * sizeof *s->ring_sort);
    qsort(s->ring_sort, s->n_ring, sizeof *s->ring_sort, sushi_cmp_double);
    uint32_t m = s->n_ring;
    s->load = m % 2 ? s->ring_sort[m / 2] : 0.5 * (s->ring_sort[m / 2 - 1] + s->ring_sort[m / 2]);
    /* the scheduler's quantile of the same ratios, nearest rank: the tail
     * of the service time now, which the median does not see (time slicing
     * on a contended core leaves most runs as fast as profiled and a few
     * several times slower) */
    s->tail = sushi_nearest_rank(s->ring_sort, m, s->o.quantile);
    ctab_predict(s, &s->cur);
}

/* ------------------------------------------------------------------ submit */

int sushi_sched_submit(sushi_sched *s, const sushi_query *q, sushi_result *r)
{
    return sushi_sched_submit_capped(s, q, 0.0, r);
}

double sushi_sched_fastest_predicted(const sushi_sched *s)
{
    if (!s || s->n == 0)
        return 0.0;
    return s->cur.pmin_lat[s->n - 1] + (s->o.reload == SUSHI_SCHED_RELOAD_NEXT_QUERY ? s->pend_s : 0.0);
}

int sushi_sched_submit_capped(sushi_sched *s, const sushi_query *q, double cap_s, sushi_result *r)
{
    if (!s || !q || !r)
        return SUSHI_ERR_INVALID;
    if (r->size < sizeof *r)
        return SUSHI_ERR_ABI;
    int rc = check_query(q);
    if (rc != SUSHI_OK)
        return rc;
    rc = reserve_sample(s);
    if (rc != SUSHI_OK)
        return rc;
    if (s->n_win >= s->o.window) {
        rc = sushi_sched_update(s);
        if (rc != SUSHI_OK)
            return rc;
    }
    const bool charge = s->o.reload == SUSHI_SCHED_RELOAD_NEXT_QUERY;
    const double pend = charge ? s->pend_s : 0.0;
    /* end to end: the SLO counts from arrival; the budget is what is left at
     * the start of service */
    const double start = q->start_s > 0.0 ? q->start_s
                         : (q->arrival_s > s->prev_finish ? q->arrival_s : s->prev_finish);
    const double waited = start - q->arrival_s;
    const bool has_slo = q->slo_s > 0.0;
    const double budget = has_slo ? q->slo_s - waited : 0.0;

    uint64_t t0 = now_ns();
    bool fallback, late;
    uint32_t j = select_pos(s, &s->cur, q->min_accuracy, has_slo, budget, pend, &fallback, &late);
    if (!late && has_slo && cap_s > 0.0 && cap_s < budget) {
        /* queue-aware: plan within the cap, never below the fastest, and
         * only if the capped choice still meets what the query asks */
        double fast = sushi_sched_fastest_predicted(s);
        double b2 = cap_s > fast ? cap_s : fast;
        bool fb2, late2;
        uint32_t j2 = select_pos(s, &s->cur, q->min_accuracy, true, b2 < budget ? b2 : budget, pend, &fb2, &late2);
        if (!late2 && (!fb2 || fallback))
            j = j2, fallback = fb2;
    }
    uint64_t dec = now_ns() - t0;
    sched_acc *a = &s->st;

    /* Drop only a query that would miss even at the median: the decision
     * plans with the quantile (a margin for the tail), but a query whose
     * remaining budget still holds the median service of what late =
     * fastest would serve has a fair chance, and dropping it is a sure miss. */
    if (late && s->o.late == SUSHI_SCHED_LATE_DROP && budget >= reference_latency(s, &s->cur, j) * s->load + pend)
        late = false;
    /* Probe: with adaptation, a drop teaches the estimator nothing, so a
     * load factor inflated by a transient would drop every later query for
     * ever. After PROBE_AFTER drops in a row the next late query is served
     * as under late = fastest (counted as a miss if it misses) and its
     * measured run corrects the factor. */
    if (late && s->o.late == SUSHI_SCHED_LATE_DROP && s->adaptive && q->input &&
        (sushi_backend_caps(s->b) & SUSHI_BACKEND_CAP_RUN) && s->drops_in_row >= PROBE_AFTER)
        late = false;
    if (late && s->o.late == SUSHI_SCHED_LATE_DROP) {
        /* nothing runs: the reload charge waits for the next served query,
         * the window and the policy see nothing */
        memset(r, 0, sizeof *r);
        r->size = sizeof *r;
        r->index = s->served++;
        r->candidate = -1;
        r->accuracy = NAN;
        r->queue_s = waited;
        r->e2e_s = waited;
        r->budget_s = budget;
        r->dropped = true;
        r->fallback = true;
        r->slo_met = false;
        r->e2e_slo_met = false;
        r->accuracy_met = q->min_accuracy <= 0.0;
        r->decision_ns = dec;
        r->adapted = s->adaptive;
        r->load_factor = s->load;
        if (start > s->prev_finish)
            s->prev_finish = start;
        a->dropped++;
        s->drops_in_row++;
        a->e2e_q++;
        a->dec_sum += (double)dec;
        if (dec > a->dec_max)
            a->dec_max = dec;
        return SUSHI_OK;
    }

    const sushi_subnet *sub = s->sub[j];
    double lat = s->cur.model[j], en = s->cur.en[j], en_off = s->cur.en_off[j];
    uint64_t off = s->cur.off[j], hit = s->cur.hit[j];
    bool ran = false;
    if (q->input && (sushi_backend_caps(s->b) & SUSHI_BACKEND_CAP_RUN)) {
        sushi_run_args ra = SUSHI_RUN_ARGS_INIT;
        rc = input_for(s, q, sub->cfg.resolution, &ra.input, &ra.input_len);
        if (rc != SUSHI_OK)
            return rc;
        ra.output = q->output;
        ra.output_len = q->output_len;
        ra.int8 = q->int8;
        sushi_cost c = SUSHI_COST_INIT;
        uint64_t r0 = now_ns();
        rc = sushi_backend_run(s->b, sub, &ra, &c);
        uint64_t wall = now_ns() - r0;
        if (rc != SUSHI_OK)
            return rc;
        ran = true;
        lat = c.latency_s > 0.0 && isfinite(c.latency_s) ? c.latency_s : (double)wall * 1e-9;
        off = c.offchip_bytes;
        hit = s->self_pb ? sushi_subgraph_hit_bytes(s->resident, sub) : c.hit_bytes;
        en = c.energy_j;
        en_off = c.energy_offchip_j;
    }

    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    r->index = s->served;
    r->candidate = s->table[j];
    r->config = s->sn->cands[s->table[j]].config;
    r->accuracy = s->acc[j];
    r->predicted_s = s->cur.lat[j] + pend;
    r->latency_s = lat;
    r->offchip_bytes = off;
    r->weight_bytes = s->wbytes[j];
    r->hit_bytes = hit;
    r->energy_j = en;
    r->energy_offchip_j = en_off;
    r->fallback = fallback;
    r->ran = ran;
    r->updated = s->pend_updated;
    r->decision_ns = dec;
    r->adapted = s->adaptive;
    r->load_factor = s->load;
    if (charge) {
        r->latency_s += s->pend_s;
        r->offchip_bytes += s->pend_bytes;
        r->energy_j += s->pend_en;
        r->energy_offchip_j += s->pend_en_off;
        r->reload_bytes = s->pend_bytes;
        r->reload_s = s->pend_s;
        r->reload_energy_j = s->pend_en;
    }
    const double charged_en_off = charge ? s->pend_en_off : 0.0;
    s->pend_s = s->pend_en = s->pend_en_off = 0.0;
    s->pend_bytes = 0;
    s->pend_updated = false;
    r->slo_met = !has_slo || r->latency_s <= q->slo_s;
    r->accuracy_met = q->min_accuracy <= 0.0 || r->accuracy >= q->min_accuracy;
    r->queue_s = waited;
    r->e2e_s = waited + r->latency_s;
    r->budget_s = budget;
    r->e2e_slo_met = !has_slo || r->e2e_s <= q->slo_s;
    s->prev_finish = start + r->latency_s;

    /* window and policy */
    s->win[s->n_win++] = j;
    s->served++;
    rc = sushi_policy_observe(s->p, sub);

    /* the estimator learns from measured runs only */
    if (ran && s->adaptive)
        adapt_observe(s, j, lat);
    if (ran)
        s->drops_in_row = 0;

    /* statistics (the reload bytes/energy are in the totals since the update) */
    a->queries++;
    a->lat_sum += r->latency_s;
    if (r->latency_s > a->lat_max)
        a->lat_max = r->latency_s;
    a->e2e_sum += r->e2e_s;
    if (r->e2e_s > a->e2e_max)
        a->e2e_max = r->e2e_s;
    a->queue_sum += r->queue_s;
    a->acc_sum += r->accuracy;
    if (has_slo) {
        a->slo_q++;
        a->slo_met += r->slo_met;
        a->e2e_q++;
        a->e2e_met += r->e2e_slo_met;
    }
    if (q->min_accuracy > 0.0) {
        a->acc_q++;
        a->acc_met += r->accuracy_met;
    }
    a->fallbacks += fallback;
    a->off += r->offchip_bytes - r->reload_bytes;
    a->wb += r->weight_bytes;
    a->hit += r->hit_bytes;
    a->energy += r->energy_j - r->reload_energy_j;
    a->energy_off += r->energy_offchip_j - charged_en_off;
    a->dec_sum += (double)dec;
    if (dec > a->dec_max)
        a->dec_max = dec;
    add_sample(s, r->latency_s, r->e2e_s);
    return rc;
}

/* ------------------------------------------------------------------- stats */

int sushi_sched_get_stats(const sushi_sched *s, sushi_sched_stats *st)
{
    if (!s || !st)
        return SUSHI_ERR_INVALID;
    if (st->size < sizeof *st)
        return SUSHI_ERR_ABI;
    const sched_acc *a = &s->st;
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
    st->queries = a->queries;
    double nq = a->queries ? (double)a->queries : 1.0;
    st->latency_mean_s = a->lat_sum / nq;
    st->latency_max_s = a->lat_max;
    st->latency_exact = a->seen == a->n_smp;
    if (a->n_smp) {
        double *v = sushi_malloc(s->ctx, (size_t)a->n_smp * sizeof *v);
        if (!v)
            return SUSHI_ERR_NOMEM;
        memcpy(v, a->smp, (size_t)a->n_smp * sizeof *v);
        qsort(v, a->n_smp, sizeof *v, sushi_cmp_double);
        st->latency_p50_s = sushi_nearest_rank(v, a->n_smp, 0.50);
        st->latency_p99_s = sushi_nearest_rank(v, a->n_smp, 0.99);
        memcpy(v, a->smp_e2e, (size_t)a->n_smp * sizeof *v);
        qsort(v, a->n_smp, sizeof *v, sushi_cmp_double);
        st->e2e_latency_p50_s = sushi_nearest_rank(v, a->n_smp, 0.50);
        st->e2e_latency_p99_s = sushi_nearest_rank(v, a->n_smp, 0.99);
        sushi_free(s->ctx, v);
    }
    st->e2e_latency_mean_s = a->e2e_sum / nq;
    st->e2e_latency_max_s = a->e2e_max;
    st->dropped = a->dropped;
    st->e2e_slo_queries = a->e2e_q;
    st->e2e_slo_attainment = a->e2e_q ? (double)a->e2e_met / (double)a->e2e_q : NAN;
    st->adaptive = s->adaptive;
    st->load_factor = s->load;
    st->queue_mean_s = a->queue_sum / nq;
    st->slo_queries = a->slo_q;
    st->slo_attainment = a->slo_q ? (double)a->slo_met / (double)a->slo_q : NAN;
    st->service_slo_attainment = st->slo_attainment;
    st->accuracy_queries = a->acc_q;
    st->accuracy_attainment = a->acc_q ? (double)a->acc_met / (double)a->acc_q : NAN;
    st->accuracy_mean = a->queries ? a->acc_sum / nq : NAN;
    st->fallbacks = a->fallbacks;
    st->offchip_bytes = a->off;
    st->weight_bytes = a->wb;
    st->hit_bytes = a->hit;
    st->pb_hit_ratio = a->wb ? (double)a->hit / (double)a->wb : 0.0;
    st->updates = a->updates;
    st->reloads = a->reloads;
    st->reload_bytes = a->reload_bytes;
    st->reload_s = a->reload_s;
    st->energy_j = a->energy;
    st->energy_offchip_j = a->energy_off;
    st->decision_mean_ns = a->dec_sum / nq;
    st->decision_max_ns = a->dec_max;
    st->update_mean_ns = a->updates ? a->upd_sum / (double)a->updates : 0.0;
    return SUSHI_OK;
}

int sushi_sched_reset_stats(sushi_sched *s)
{
    if (!s)
        return SUSHI_ERR_INVALID;
    double *smp = s->st.smp, *smp_e2e = s->st.smp_e2e;
    uint32_t alloc = s->st.alloc_smp;
    memset(&s->st, 0, sizeof s->st);
    s->st.smp = smp;
    s->st.smp_e2e = smp_e2e;
    s->st.alloc_smp = alloc;
    return SUSHI_OK;
}

int sushi_sched_get_info(const sushi_sched *s, sushi_sched_info *info)
{
    if (!s || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->n_candidates = s->n;
    info->n_with_accuracy = s->n_with_acc;
    info->window = s->o.window;
    info->pb_bytes = s->capacity;
    info->resident_bytes = sushi_subgraph_bytes(s->resident);
    info->accuracy_max = s->acc[0];
    info->accuracy_min = s->acc[s->n - 1];
    info->latency_min_s = s->lat_min0;
    info->latency_max_s = s->lat_max0;
    info->backend = sushi_backend_get_name(s->b);
    info->policy = sushi_policy_get_name(s->p);
    return SUSHI_OK;
}

int sushi_sched_candidate_get(const sushi_sched *s, size_t i, sushi_sched_candidate *out)
{
    if (!s || !out)
        return SUSHI_ERR_INVALID;
    if (out->size < sizeof *out)
        return SUSHI_ERR_ABI;
    if (i >= s->n)
        return SUSHI_ERR_RANGE;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->table_index = s->table[i];
    out->accuracy = s->acc[i];
    out->predicted_s = s->cur.lat[i];
    out->weight_bytes = s->wbytes[i];
    out->hit_bytes = s->cur.hit[i];
    out->subnet = s->sub[i];
    return SUSHI_OK;
}

int sushi_sched_get_resident(const sushi_sched *s, sushi_subgraph *out)
{
    if (!s || !out)
        return SUSHI_ERR_INVALID;
    return sushi_subgraph_copy(out, s->resident);
}
