/* Float32 passes that measure a SubNet: int8 activation ranges and BN
 * recalibration (OFA's set_running_statistics). */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

/* Float working memory for `n_arenas` images over one plan. */
typedef struct fwork {
    cpu_plan plan;
    void *raw;
    char *buf;
    size_t arena_stride;
    float *scratch;
    void **vp; /* n_arenas * n_values */
    uint32_t n_arenas;
} fwork;

static void fwork_free(const sushi_context *ctx, fwork *w)
{
    cpu_plan_free(ctx, &w->plan);
    sushi_free(ctx, w->raw);
    sushi_free(ctx, w->vp);
    memset(w, 0, sizeof *w);
}

static int fwork_init(const sushi_subnet *s, uint32_t n_arenas, fwork *w)
{
    const sushi_context *ctx = s->sn->ctx;
    memset(w, 0, sizeof *w);
    int rc = cpu_plan_build(ctx, s, sizeof(float), false, &w->plan);
    if (rc)
        return rc;
    w->n_arenas = n_arenas;
    w->arena_stride = cpu_align_up(w->plan.arena_bytes);
    uint64_t total;
    if (sushi_mul_overflow_u64(w->arena_stride, n_arenas, &total) || total > SIZE_MAX / 2) {
        fwork_free(ctx, w);
        return SUSHI_ERR_NOMEM;
    }
    w->buf = cpu_aligned_alloc(ctx, (size_t)total + w->plan.scratch_bytes, &w->raw);
    w->vp = sushi_calloc(ctx, (size_t)n_arenas * s->n_values, sizeof *w->vp);
    if (!w->buf || !w->vp) {
        fwork_free(ctx, w);
        return SUSHI_ERR_NOMEM;
    }
    w->scratch = (float *)(w->buf + (size_t)total);
    return SUSHI_OK;
}

static float *const *fwork_vp(const fwork *w, uint32_t a, const float *input)
{
    void **vp = w->vp + (size_t)a * w->plan.n_values;
    cpu_value_ptrs(&w->plan, w->buf + a * w->arena_stride, input, sizeof(float), vp);
    return (float *const *)vp;
}

static void upd_range(float *r, const float *x, size_t n)
{
    float lo = r[0], hi = r[1];
    for (size_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    r[0] = lo, r[1] = hi;
}

size_t cpu_q8_ranges_len(const sushi_subnet *s) { return sushi_int8_ranges_len(s); }

#define CALIB_BINS CPU_CALIB_BINS

/* Histogram of x over [lo, hi] into CALIB_BINS bins. */
static void upd_hist(uint32_t *h, float lo, float hi, const float *x, size_t n)
{
    if (!(hi > lo))
        return;
    const float k = (float)CALIB_BINS / (hi - lo);
    for (size_t i = 0; i < n; i++) {
        int b = (int)((x[i] - lo) * k);
        b = b < 0 ? 0 : b >= CALIB_BINS ? CALIB_BINS - 1 : b;
        h[b]++;
    }
}

/* Shrink r = [lo, hi] to the central `keep` fraction of the histogram mass:
 * each tail may drop (1 - keep) / 2 of the values. */
static void clip_range(float *r, const uint32_t *h, double keep)
{
    uint64_t total = 0;
    for (int b = 0; b < CALIB_BINS; b++)
        total += h[b];
    if (!total || !(r[1] > r[0]))
        return;
    double drop = (1.0 - keep) * 0.5 * (double)total;
    double w = ((double)r[1] - r[0]) / CALIB_BINS;
    uint64_t c = 0;
    int lo = 0, hi = CALIB_BINS - 1;
    while (lo < hi && (double)(c + h[lo]) <= drop)
        c += h[lo++];
    c = 0;
    while (hi > lo && (double)(c + h[hi]) <= drop)
        c += h[hi--];
    float nlo = (float)(r[0] + w * lo), nhi = (float)(r[0] + w * (hi + 1));
    r[0] = nlo > r[0] ? nlo : r[0];
    r[1] = nhi < r[1] ? nhi : r[1];
}

/* Prefix sums of a histogram over [lo, lo + CALIB_BINS * w], each bin's
 * values at its centre: p0 counts, p1 sums, p2 sums of squares; [b] covers
 * bins [0, b). */
typedef struct hist_sums {
    double p0[CALIB_BINS + 1], p1[CALIB_BINS + 1], p2[CALIB_BINS + 1];
} hist_sums;
_Static_assert(sizeof(hist_sums) == CPU_CALIB_MSE_WORK, "CPU_CALIB_MSE_WORK");

/* Expected squared quantisation error, summed over the histogram, of the
 * range [a, c] where bins [0, i) lie below a and bins (j, CALIB_BINS) above
 * c: those saturate (squared distance to the end), the rest round
 * (S^2 / 12, S = (c - a) / 255). */
static double range_sse(const hist_sums *hs, int i, int j, double a, double c)
{
    const double *p0 = hs->p0, *p1 = hs->p1, *p2 = hs->p2;
    const int B = CALIB_BINS;
    double below = p2[i] - 2.0 * a * p1[i] + a * a * p0[i];
    double above = (p2[B] - p2[j + 1]) - 2.0 * c * (p1[B] - p1[j + 1]) + c * c * (p0[B] - p0[j + 1]);
    double S = (c - a) / 255.0;
    return below + above + (p0[j + 1] - p0[i]) * S * S / 12.0;
}

/* Best (i, j) of the grid i in [i0, i1], j in [j0, j1] (step `step`, both
 * ends always tried); a = lo + i * w (or 0 when fix_a), c = lo + (j + 1) * w
 * (or 0 when fix_c). Ties keep the first (smallest i, then j). */
static void mse_grid(const hist_sums *hs, double lo, double w, bool fix_a, bool fix_c, int i0, int i1, int j0,
                     int j1, int step, int *bi, int *bj, double *best)
{
    for (int i = i0;; i = i + step < i1 ? i + step : i1) {
        double a = fix_a ? 0.0 : lo + i * w;
        for (int j = j0;; j = j + step < j1 ? j + step : j1) {
            double c = fix_c ? 0.0 : lo + (j + 1) * w;
            double e = range_sse(hs, i, j, a, c);
            if (e < *best)
                *best = e, *bi = i, *bj = j;
            if (j == j1)
                break;
        }
        if (i == i1)
            break;
    }
}

void cpu_range_mse(float *r, const uint32_t *h, void *work)
{
    if (!(r[1] > r[0]))
        return;
    hist_sums *hs = work;
    const int B = CALIB_BINS;
    double lo = r[0], w = ((double)r[1] - r[0]) / B;
    hs->p0[0] = hs->p1[0] = hs->p2[0] = 0.0;
    for (int b = 0; b < B; b++) {
        double x = lo + (b + 0.5) * w;
        hs->p0[b + 1] = hs->p0[b] + h[b];
        hs->p1[b + 1] = hs->p1[b] + h[b] * x;
        hs->p2[b + 1] = hs->p2[b] + h[b] * x * x;
    }
    if (hs->p0[B] == 0.0)
        return;
    /* The quantised range always contains 0 (§2.1): an end on the far side
     * of 0 is fixed at 0; otherwise it moves over whole bins, never past the
     * bin holding 0. */
    bool fix_a = r[0] >= 0.0f, fix_c = r[1] <= 0.0f;
    int z = fix_a ? 0 : fix_c ? B - 1 : (int)(-lo / w);
    z = z < 0 ? 0 : z > B - 1 ? B - 1 : z;
    int i1 = fix_a ? 0 : z, j0 = fix_c ? B - 1 : fix_a ? 0 : z;
    int bi = 0, bj = B - 1;
    double best = INFINITY;
    /* coarse grid, then every bin around its best point */
    const int step = 8;
    mse_grid(hs, lo, w, fix_a, fix_c, 0, i1, j0, B - 1, step, &bi, &bj, &best);
    int ci = bi, cj = bj;
    mse_grid(hs, lo, w, fix_a, fix_c, ci - step > 0 ? ci - step : 0, ci + step < i1 ? ci + step : i1,
             cj - step > j0 ? cj - step : j0, cj + step < B - 1 ? cj + step : B - 1, 1, &bi, &bj, &best);
    if (!fix_a)
        r[0] = (float)(lo + bi * w);
    if (!fix_c)
        r[1] = (float)(lo + (bj + 1) * w);
}

/* One float pass over the calibration inputs; per plan value (and SE hidden
 * layer) either min/max (hist == NULL) or a histogram over the min/max. */
static void calib_pass(const sushi_subnet *s, const fwork *w, const float *inputs, size_t n, float *ranges,
                       uint32_t *hist)
{
    size_t in_len = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    float *aux = ranges + 2 * (size_t)s->n_values;
    for (size_t img = 0; img < n; img++) {
        const float *x = inputs + img * in_len;
        float *const *vp = fwork_vp(w, 0, x);
        if (hist)
            upd_hist(hist, ranges[0], ranges[1], x, in_len);
        else
            upd_range(ranges, x, in_len);
        for (uint32_t li = 0; li < s->n_layers; li++) {
            const sushi_layer *l = &s->layers[li];
            cpu_f32_layer(s, li, vp, w->scratch, false);
            size_t v = l->output, nv = (size_t)l->out_c * l->out_h * l->out_w;
            if (hist)
                upd_hist(hist + v * CALIB_BINS, ranges[2 * v], ranges[2 * v + 1], vp[v], nv);
            else
                upd_range(ranges + 2 * v, vp[v], nv);
            if (l->op == SUSHI_OP_SE) {
                const float *hid = w->scratch + cpu_f32_se_hidden_offset(l);
                size_t a = (size_t)s->n_values + li;
                if (hist)
                    upd_hist(hist + a * CALIB_BINS, ranges[2 * a], ranges[2 * a + 1], hid, l->se_mid);
                else
                    upd_range(aux + 2 * (size_t)li, hid, l->se_mid);
            }
        }
    }
}

int cpu_calibrate_ranges_keep(const sushi_subnet *s, const float *inputs, size_t n, double keep, float *ranges)
{
    cpu_blas_single_thread();
    const sushi_context *ctx = s->sn->ctx;
    size_t len = cpu_q8_ranges_len(s);
    fwork w;
    int rc = fwork_init(s, 1, &w);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i += 2)
        ranges[i] = INFINITY, ranges[i + 1] = -INFINITY;
    calib_pass(s, &w, inputs, n, ranges, NULL);
    for (size_t i = 0; i < len; i += 2)
        if (!(ranges[i] <= ranges[i + 1]))
            ranges[i] = ranges[i + 1] = 0.0f;
    if (keep < 1.0) {
        uint32_t *hist = sushi_calloc(ctx, len / 2 * CALIB_BINS, sizeof *hist);
        hist_sums *hs = keep <= 0.0 ? sushi_malloc(ctx, sizeof *hs) : NULL;
        if (!hist || (keep <= 0.0 && !hs)) {
            sushi_free(ctx, hist);
            fwork_free(ctx, &w);
            return SUSHI_ERR_NOMEM;
        }
        calib_pass(s, &w, inputs, n, ranges, hist);
        /* value 0 (the input) keeps its full range: it is quantised exactly */
        for (size_t i = 2; i < len; i += 2) {
            if (keep <= 0.0)
                cpu_range_mse(ranges + i, hist + i / 2 * CALIB_BINS, hs);
            else
                clip_range(ranges + i, hist + i / 2 * CALIB_BINS, keep);
        }
        sushi_free(ctx, hs);
        sushi_free(ctx, hist);
    }
    fwork_free(ctx, &w);
    return SUSHI_OK;
}

int cpu_calibrate_ranges(const sushi_subnet *s, const float *inputs, size_t n, float *ranges)
{
    return cpu_calibrate_ranges_keep(s, inputs, n, CPU_CALIB_KEEP, ranges);
}

/* The BN parameters of a plan layer (NULL when it has none). */
static const sushi_bn_ref *layer_bn(const sushi_subnet *s, const sushi_layer *l)
{
    if (l->bn < 0)
        return NULL;
    const sushi_unit *u = &s->sn->units[l->unit];
    if (l->op == SUSHI_OP_DWCONV)
        return u->sub[SUSHI_SUB_DW].has_bn ? &u->sub[SUSHI_SUB_DW].bn : NULL;
    for (int i = 0; i < SUSHI_SUB_MAX; i++)
        if (u->sub[i].has_bn && u->sub[i].w == l->w && u->sub[i].w >= 0)
            return &u->sub[i].bn;
    return NULL;
}

/* New SubNet sharing s's config with fresh BN scale/shift storage. */
static int clone_subnet(const sushi_subnet *s, sushi_subnet **out)
{
    const sushi_context *ctx = s->sn->ctx;
    sushi_subnet *n = sushi_calloc(ctx, 1, sizeof *n);
    if (!n)
        return SUSHI_ERR_NOMEM;
    *n = *s;
    sushi_ref_init(&n->ref);
    n->layers = NULL, n->values = NULL, n->bn_data = NULL, n->box_out = n->box_in = NULL;
    sushi_ref_get(&n->sn->ref);
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_layers; i++)
        if (s->layers[i].bn >= 0)
            total += 2ull * s->layers[i].out_c;
    n->layers = sushi_calloc(ctx, s->n_layers ? s->n_layers : 1, sizeof *n->layers);
    n->values = sushi_calloc(ctx, s->n_values ? s->n_values : 1, sizeof *n->values);
    n->bn_data = sushi_calloc(ctx, total + 1, sizeof *n->bn_data);
    n->box_out = sushi_calloc(ctx, s->sn->n_wt + 1, sizeof *n->box_out);
    n->box_in = sushi_calloc(ctx, s->sn->n_wt + 1, sizeof *n->box_in);
    if (!n->layers || !n->values || !n->bn_data || !n->box_out || !n->box_in) {
        sushi_subnet_destroy(n);
        return SUSHI_ERR_NOMEM;
    }
    memcpy(n->layers, s->layers, s->n_layers * sizeof *n->layers);
    memcpy(n->values, s->values, s->n_values * sizeof *n->values);
    memcpy(n->box_out, s->box_out, s->sn->n_wt * sizeof *n->box_out);
    memcpy(n->box_in, s->box_in, s->sn->n_wt * sizeof *n->box_in);
    uint64_t off = 0;
    for (uint32_t i = 0; i < n->n_layers; i++) {
        sushi_layer *l = &n->layers[i];
        if (l->bn < 0)
            continue;
        memcpy(n->bn_data + off, l->bn_scale, l->out_c * sizeof(float));
        memcpy(n->bn_data + off + l->out_c, l->bn_shift, l->out_c * sizeof(float));
        l->bn_scale = n->bn_data + off;
        l->bn_shift = n->bn_data + off + l->out_c;
        off += 2ull * l->out_c;
    }
    n->bn_from_candidate = false;
    *out = n;
    return SUSHI_OK;
}

/* Floats of a SubNet's BN statistics array (format §7.2): 2 * Σ out_c over BN layers. */
static size_t bn_stats_len(const sushi_subnet *s)
{
    size_t total = 0;
    for (uint32_t i = 0; i < s->n_layers; i++)
        if (s->layers[i].bn >= 0)
            total += 2u * (size_t)s->layers[i].out_c;
    return total;
}

size_t sushi_cpu_bn_stats_len(const sushi_subnet *s)
{
    return s ? bn_stats_len(s) : 0;
}

/* The recalibration pass. Writes a new SubNet to *out when out != NULL and the
 * statistics (format §7.2 order: per BN layer c means then c variances) to
 * stats when stats != NULL. */
static int recalibrate(const sushi_subnet *s, const float *inputs, size_t n_inputs, size_t batch,
                       sushi_subnet **out, float *stats)
{
    cpu_blas_single_thread();
    if (!s || !inputs || n_inputs == 0)
        return SUSHI_ERR_INVALID;
    if (batch == 0 || batch > n_inputs)
        batch = n_inputs;
    if (batch > UINT32_MAX)
        return SUSHI_ERR_INVALID;
    const sushi_context *ctx = s->sn->ctx;
    for (uint32_t i = 0; i < s->n_layers; i++)
        if (s->layers[i].bn >= 0 && !layer_bn(s, &s->layers[i]))
            return SUSHI_ERR_INVALID;
    sushi_subnet *ns = NULL;
    int rc = out ? clone_subnet(s, &ns) : SUSHI_OK;
    if (rc)
        return rc;
    uint32_t maxc = 1;
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_layers; i++)
        if (s->layers[i].bn >= 0) {
            total += s->layers[i].out_c;
            maxc = s->layers[i].out_c > maxc ? s->layers[i].out_c : maxc;
        }
    fwork w;
    rc = fwork_init(s, (uint32_t)batch, &w);
    double *acc = sushi_calloc(ctx, 2 * total + 1, sizeof *acc);      /* mean sums, then var sums */
    float *bsc = sushi_calloc(ctx, 2 * (size_t)maxc, sizeof *bsc);   /* batch scale/shift */
    if (rc || !acc || !bsc) {
        if (!rc)
            fwork_free(ctx, &w);
        sushi_free(ctx, acc);
        sushi_free(ctx, bsc);
        sushi_subnet_destroy(ns);
        return rc ? rc : SUSHI_ERR_NOMEM;
    }
    size_t in_len = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    for (size_t first = 0; first < n_inputs; first += batch) {
        uint32_t nb = (uint32_t)(n_inputs - first < batch ? n_inputs - first : batch);
        for (uint32_t b = 0; b < nb; b++)
            fwork_vp(&w, b, inputs + (first + b) * in_len);
        uint64_t off = 0;
        for (uint32_t li = 0; li < s->n_layers; li++) {
            const sushi_layer *l = &s->layers[li];
            bool has_bn = l->bn >= 0;
            for (uint32_t b = 0; b < nb; b++)
                cpu_f32_layer(s, li, (float *const *)(w.vp + (size_t)b * s->n_values), w.scratch, has_bn);
            if (!has_bn)
                continue;
            const sushi_bn_ref *r = layer_bn(s, l);
            const float *gamma = s->sn->tensors[r->gamma].data, *beta = s->sn->tensors[r->beta].data;
            size_t hw = (size_t)l->out_h * l->out_w;
            double cnt = (double)hw * nb;
            for (uint32_t c = 0; c < l->out_c; c++) {
                double sum = 0.0;
                for (uint32_t b = 0; b < nb; b++) {
                    const float *y = (const float *)w.vp[(size_t)b * s->n_values + l->output] + c * hw;
                    for (size_t j = 0; j < hw; j++)
                        sum += y[j];
                }
                double mean = sum / cnt, sq = 0.0;
                for (uint32_t b = 0; b < nb; b++) {
                    const float *y = (const float *)w.vp[(size_t)b * s->n_values + l->output] + c * hw;
                    for (size_t j = 0; j < hw; j++)
                        sq += ((double)y[j] - mean) * ((double)y[j] - mean);
                }
                double var = sq / cnt;
                float sc = (float)(gamma[c] / sqrt(var + r->eps));
                bsc[c] = sc;
                bsc[maxc + c] = (float)(beta[c] - mean * sc);
                acc[off + c] += mean * nb;
                acc[total + off + c] += var * nb;
            }
            for (uint32_t b = 0; b < nb; b++)
                cpu_f32_bn_act((float *)w.vp[(size_t)b * s->n_values + l->output], l->out_c, hw, bsc, bsc + maxc,
                               (int)l->act);
            off += l->out_c;
        }
    }
    uint64_t off = 0;
    if (stats) {
        uint64_t so = 0;
        for (uint32_t li = 0; li < s->n_layers; li++) {
            const sushi_layer *l = &s->layers[li];
            if (l->bn < 0)
                continue;
            for (uint32_t c = 0; c < l->out_c; c++) {
                stats[so + c] = (float)(acc[off + c] / (double)n_inputs);
                stats[so + l->out_c + c] = (float)(acc[total + off + c] / (double)n_inputs);
            }
            so += 2ull * l->out_c;
            off += l->out_c;
        }
        off = 0;
    }
    for (uint32_t li = 0; ns && li < ns->n_layers; li++) {
        sushi_layer *l = &ns->layers[li];
        if (l->bn < 0)
            continue;
        const sushi_bn_ref *r = layer_bn(s, &s->layers[li]);
        const float *gamma = s->sn->tensors[r->gamma].data, *beta = s->sn->tensors[r->beta].data;
        float *scale = (float *)l->bn_scale, *shift = (float *)l->bn_shift;
        for (uint32_t c = 0; c < l->out_c; c++) {
            float mean = (float)(acc[off + c] / (double)n_inputs);
            float var = (float)(acc[total + off + c] / (double)n_inputs);
            /* same float formula as lib/subnet.c fill_bn() */
            float sc = gamma[c] / sqrtf(var + r->eps);
            scale[c] = sc;
            shift[c] = beta[c] - mean * sc;
        }
        off += l->out_c;
    }
    fwork_free(ctx, &w);
    sushi_free(ctx, acc);
    sushi_free(ctx, bsc);
    if (out)
        *out = ns;
    return SUSHI_OK;
}

int sushi_cpu_recalibrate_bn(const sushi_subnet *s, const float *inputs, size_t n_inputs, size_t batch,
                             sushi_subnet **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    return recalibrate(s, inputs, n_inputs, batch, out, NULL);
}

int sushi_cpu_recalibrate_bn_stats(const sushi_subnet *s, const float *inputs, size_t n_inputs, size_t batch,
                                   float *stats, size_t n_stats)
{
    if (!s || !stats)
        return SUSHI_ERR_INVALID;
    if (n_stats < bn_stats_len(s))
        return SUSHI_ERR_TRUNCATED;
    return recalibrate(s, inputs, n_inputs, batch, NULL, stats);
}
