/* int8 path: the golden model of the HLS kernel. Every integer operation
 * below is specified in docs/int8.md; the primitives live in int8_ops.h.
 *
 * Build (host side, once per SubNet and set of activation ranges): per-value
 * uint8 scale/zero point, int8 weights with per-output-channel scales over
 * the whole SuperNet row, requantisation multipliers with BN folded in,
 * activation lookup tables. Run: integer only, except the quantisation of
 * the float input and the dequantisation of the output. */
#include <math.h>
#include <string.h>

#include "cpu_internal.h"
#include "int8_layers.h"
#include "int8_ops.h"

static const float *tdata(const sushi_subnet *s, int32_t t) { return t >= 0 ? s->sn->tensors[t].data : NULL; }

static uint32_t trow(const sushi_subnet *s, int32_t t)
{
    const sushi_tensor *x = &s->sn->tensors[t];
    return (uint32_t)(x->nelem / x->shape[0]);
}

static double hswish_inv(double y)
{
    if (y >= 3.0)
        return y;
    if (y <= 0.0)
        return 0.0;
    return (-3.0 + sqrt(9.0 + 24.0 * y)) / 2.0;
}

static void free_rq(const sushi_context *ctx, cpu_q8_rq *r)
{
    sushi_free(ctx, r->m);
    sushi_free(ctx, r->s);
    sushi_free(ctx, r->B);
}

static int alloc_rq(const sushi_context *ctx, cpu_q8_rq *r, uint32_t n)
{
    r->m = sushi_calloc(ctx, n, sizeof *r->m);
    r->s = sushi_calloc(ctx, n, sizeof *r->s);
    r->B = sushi_calloc(ctx, n, sizeof *r->B);
    return (r->m && r->s && r->B) ? SUSHI_OK : SUSHI_ERR_NOMEM;
}

void cpu_q8_model_destroy(cpu_q8_model *m)
{
    if (!m)
        return;
    const sushi_subnet *s = m->s;
    const sushi_context *ctx = s->sn->ctx;
    if (m->layers) {
        for (uint32_t i = 0; i < s->n_layers; i++) {
            cpu_q8_layer *q = &m->layers[i];
            sushi_free(ctx, q->w);
            sushi_free(ctx, q->w_scale);
            sushi_free(ctx, q->w2);
            sushi_free(ctx, q->w2_scale);
            free_rq(ctx, &q->rq);
            free_rq(ctx, &q->rq2);
            sushi_free(ctx, q->pool_m);
            sushi_free(ctx, q->pool_s);
            sushi_free(ctx, q->bias_acc);
            sushi_free(ctx, q->deq);
        }
    }
    sushi_free(ctx, m->layers);
    sushi_free(ctx, m->scale);
    sushi_free(ctx, m->zp);
    cpu_plan_free(ctx, &m->plan);
    sushi_free(ctx, m);
    sushi_subnet_destroy((sushi_subnet *)s);
}

/* int8 weights of rows [0, n_out) of tensor t, first K of each stored row */
static int quant_weights(const sushi_subnet *s, int32_t t, uint32_t n_out, uint32_t K, int8_t **w, float **sc)
{
    const sushi_context *ctx = s->sn->ctx;
    const float *d = tdata(s, t);
    uint32_t row = trow(s, t);
    *w = sushi_calloc(ctx, (size_t)n_out * K, 1);
    *sc = sushi_calloc(ctx, n_out, sizeof **sc);
    if (!*w || !*sc)
        return SUSHI_ERR_NOMEM;
    for (uint32_t o = 0; o < n_out; o++)
        (*sc)[o] = sushi_q8_quant_weight(d + (size_t)o * row, row, K, *w + (size_t)o * K);
    return SUSHI_OK;
}

/* Output stage of a layer writing value v with activation act: either
 * requantise to v's parameters (clamp low at zp for ReLU), or to the LUT's
 * input parameters and map through the LUT. Returns the target scale. */
static float output_stage(const cpu_q8_model *m, const float *ranges, cpu_q8_layer *q, uint32_t v, uint32_t act)
{
    float sy = m->scale[v];
    int32_t zy = m->zp[v];
    if (act == SUSHI_ACT_HSWISH || act == SUSHI_ACT_HSIGMOID) {
        double hi = act == SUSHI_ACT_HSWISH ? hswish_inv(ranges[2 * (size_t)v + 1]) : 3.0;
        float sp;
        int32_t zp;
        sushi_q8_choose_qparams(-3.0, hi, &sp, &zp);
        q->use_lut = true;
        sushi_q8_build_lut(q->lut, (int32_t)act, sp, zp, sy, zy);
        q->zp_rq = zp;
        q->lo = 0;
        return sp;
    }
    q->use_lut = false;
    q->zp_rq = zy;
    q->lo = act == SUSHI_ACT_RELU ? zy : 0;
    return sy;
}

static int build_layer(cpu_q8_model *m, const float *ranges, uint32_t li)
{
    const sushi_subnet *s = m->s;
    const sushi_context *ctx = s->sn->ctx;
    const sushi_layer *l = &s->layers[li];
    cpu_q8_layer *q = &m->layers[li];
    float sx = m->scale[l->input];
    q->zp_in = m->zp[l->input];
    int rc;
    switch (l->op) {
    case SUSHI_OP_CONV:
    case SUSHI_OP_DWCONV:
    case SUSHI_OP_LINEAR: {
        q->K = l->op == SUSHI_OP_CONV     ? l->in_c * l->kernel * l->kernel
               : l->op == SUSHI_OP_DWCONV ? l->kernel * l->kernel
                                          : l->in_c * l->in_h * l->in_w;
        rc = quant_weights(s, l->w, l->out_c, q->K, &q->w, &q->w_scale);
        if (rc)
            return rc;
        const float *bias = tdata(s, l->b);
        if (l->op == SUSHI_OP_LINEAR && l->output == s->output_value && l->bn < 0 && l->act == SUSHI_ACT_NONE) {
            q->out_i32 = true;
            q->bias_acc = sushi_calloc(ctx, l->out_c, sizeof *q->bias_acc);
            q->deq = sushi_calloc(ctx, l->out_c, sizeof *q->deq);
            if (!q->bias_acc || !q->deq)
                return SUSHI_ERR_NOMEM;
            for (uint32_t o = 0; o < l->out_c; o++) {
                double a = (double)sx * q->w_scale[o];
                q->deq[o] = (float)a;
                double b = bias ? bias[o] / a : 0.0;
                b = b > 2147483647.0 ? 2147483647.0 : b < -2147483647.0 ? -2147483647.0 : b;
                q->bias_acc[o] = (int32_t)sushi_q8_round_d(b);
            }
            return SUSHI_OK;
        }
        float st = output_stage(m, ranges, q, l->output, l->act);
        if ((rc = alloc_rq(ctx, &q->rq, l->out_c)))
            return rc;
        for (uint32_t o = 0; o < l->out_c; o++) {
            double bsc = l->bn >= 0 ? l->bn_scale[o] : 1.0, bsh = l->bn >= 0 ? l->bn_shift[o] : 0.0;
            double b = bias ? bias[o] : 0.0;
            double M = (double)sx * q->w_scale[o] * bsc / st;
            double B = (b * bsc + bsh) / st;
            sushi_q8_quant_mult(M, &q->rq.m[o], &q->rq.s[o]);
            q->rq.B[o] = sushi_q8_quant_bias(B, q->rq.s[o]);
        }
        return SUSHI_OK;
    }
    case SUSHI_OP_ADD: {
        float sb = m->scale[l->input2];
        q->zp_in2 = m->zp[l->input2];
        float st = output_stage(m, ranges, q, l->output, l->act);
        double ma = (double)sx / st, mb = (double)sb / st;
        int32_t mm, sh;
        sushi_q8_quant_mult(fabs(ma) > fabs(mb) ? ma : mb, &mm, &sh);
        q->add_s = sh;
        double va = ldexp(ma, sh), vb = ldexp(mb, sh);
        va = va > 2147483647.0 ? 2147483647.0 : va;
        vb = vb > 2147483647.0 ? 2147483647.0 : vb;
        q->add_ma = (int32_t)sushi_q8_round_d(va);
        q->add_mb = (int32_t)sushi_q8_round_d(vb);
        return SUSHI_OK;
    }
    case SUSHI_OP_MAXPOOL:
        return SUSHI_OK;
    case SUSHI_OP_AVGPOOL: {
        q->n_pool = l->kernel * l->kernel + 1;
        q->pool_m = sushi_calloc(ctx, q->n_pool, sizeof *q->pool_m);
        q->pool_s = sushi_calloc(ctx, q->n_pool, sizeof *q->pool_s);
        if (!q->pool_m || !q->pool_s)
            return SUSHI_ERR_NOMEM;
        for (uint32_t c = 1; c < q->n_pool; c++)
            sushi_q8_quant_mult(1.0 / c, &q->pool_m[c], &q->pool_s[c]);
        return SUSHI_OK;
    }
    case SUSHI_OP_GAP:
        sushi_q8_quant_mult(1.0 / ((double)l->in_h * l->in_w), &q->gap_m, &q->gap_s);
        return SUSHI_OK;
    case SUSHI_OP_SE: {
        uint32_t c = l->in_c, mid = l->se_mid;
        sushi_q8_quant_mult(1.0 / ((double)l->in_h * l->in_w), &q->gap_m, &q->gap_s);
        rc = quant_weights(s, l->w, mid, c, &q->w, &q->w_scale);
        if (!rc)
            rc = quant_weights(s, l->w2, c, mid, &q->w2, &q->w2_scale);
        if (!rc)
            rc = alloc_rq(ctx, &q->rq, mid);
        if (!rc)
            rc = alloc_rq(ctx, &q->rq2, c);
        if (rc)
            return rc;
        const float *aux = ranges + 2 * ((size_t)s->n_values + li);
        float sh, sp, sg = (float)(1.0 / 255.0);
        int32_t zh, zp;
        sushi_q8_choose_qparams(aux[0], aux[1], &sh, &zh);
        q->se_hid_zp = zh;
        const float *br = tdata(s, l->b), *be = tdata(s, l->b2);
        for (uint32_t j = 0; j < mid; j++) {
            sushi_q8_quant_mult((double)sx * q->w_scale[j] / sh, &q->rq.m[j], &q->rq.s[j]);
            q->rq.B[j] = sushi_q8_quant_bias((br ? br[j] : 0.0) / sh, q->rq.s[j]);
        }
        sushi_q8_choose_qparams(-3.0, 3.0, &sp, &zp);
        q->se_gate_zp = zp;
        sushi_q8_build_lut(q->se_lut, SUSHI_Q8_ACT_HSIGMOID, sp, zp, sg, 0);
        for (uint32_t i = 0; i < c; i++) {
            sushi_q8_quant_mult((double)sh * q->w2_scale[i] / sp, &q->rq2.m[i], &q->rq2.s[i]);
            q->rq2.B[i] = sushi_q8_quant_bias((be ? be[i] : 0.0) / sp, q->rq2.s[i]);
        }
        sushi_q8_quant_mult((double)sx * sg / m->scale[l->output], &q->se_m, &q->se_s);
        q->zp_rq = m->zp[l->output];
        q->lo = 0;
        return SUSHI_OK;
    }
    default:
        return SUSHI_ERR_UNSUPPORTED;
    }
}

const float *cpu_q8_stored_ranges(const sushi_subnet *s)
{
    if (s->candidate < 0 || (size_t)s->candidate >= s->sn->n_cand)
        return NULL;
    const sushi_candidate *c = &s->sn->cands[s->candidate];
    if (c->bn_stats && !s->bn_from_candidate)
        return NULL;
    if (c->int8_ranges && c->n_int8_ranges == cpu_q8_ranges_len(s))
        return c->int8_ranges;
    bool aux = false;
    for (uint32_t li = 0; li < s->n_layers; li++)
        aux |= s->layers[li].op == SUSHI_OP_SE;
    if (!aux && c->act_ranges && c->n_act_ranges == 2 * (size_t)s->n_values)
        return c->act_ranges;
    return NULL;
}

int cpu_q8_model_build(const sushi_subnet *s, const float *ranges, cpu_q8_model **out)
{
    const sushi_context *ctx = s->sn->ctx;
    *out = NULL;
    cpu_q8_model *m = sushi_calloc(ctx, 1, sizeof *m);
    if (!m)
        return SUSHI_ERR_NOMEM;
    m->s = s;
    sushi_ref_get(&((sushi_subnet *)s)->ref);
    m->n_values = s->n_values;
    m->scale = sushi_calloc(ctx, s->n_values, sizeof *m->scale);
    m->zp = sushi_calloc(ctx, s->n_values, sizeof *m->zp);
    m->layers = sushi_calloc(ctx, s->n_layers ? s->n_layers : 1, sizeof *m->layers);
    if (!m->scale || !m->zp || !m->layers) {
        cpu_q8_model_destroy(m);
        return SUSHI_ERR_NOMEM;
    }
    /* activation parameters; pools keep their input's (exact for max, and
     * an average stays inside its input's range) */
    sushi_q8_choose_qparams(ranges[0], ranges[1], &m->scale[0], &m->zp[0]);
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        uint32_t v = l->output;
        if (l->op == SUSHI_OP_MAXPOOL || l->op == SUSHI_OP_AVGPOOL || l->op == SUSHI_OP_GAP) {
            m->scale[v] = m->scale[l->input];
            m->zp[v] = m->zp[l->input];
        } else {
            sushi_q8_choose_qparams(ranges[2 * (size_t)v], ranges[2 * (size_t)v + 1], &m->scale[v], &m->zp[v]);
        }
    }
    int rc = SUSHI_OK;
    for (uint32_t li = 0; li < s->n_layers && !rc; li++)
        rc = build_layer(m, ranges, li);
    if (!rc)
        rc = cpu_plan_build(ctx, s, 1, true, &m->plan);
    if (rc) {
        cpu_q8_model_destroy(m);
        return rc;
    }
    m->scratch_bytes = m->plan.scratch_bytes;
    *out = m;
    return SUSHI_OK;
}

/* ---------------- kernels ---------------- */

#define Q8_TILE 256


static inline uint8_t q8_store(const cpu_q8_layer *q, const cpu_q8_rq *rq, uint32_t o, int32_t acc)
{
    uint8_t p = sushi_q8_output(sushi_q8_requant(acc, rq->m[o], rq->B[o], rq->s[o]), q->zp_rq, q->lo);
    return q->use_lut ? q->lut[p] : p;
}

/* int16 im2col of (x - zx); padding contributes 0. A 1x1 stride-1 conv
 * without padding only centres its input. */
static void im2col_q8(const uint8_t *in, int32_t zx, uint32_t c, uint32_t h, uint32_t w, uint32_t k, uint32_t st,
                      uint32_t pad, uint32_t oh, uint32_t ow, int16_t *col)
{
    if (k == 1 && st == 1 && pad == 0) {
        size_t n = (size_t)c * h * w;
        for (size_t i = 0; i < n; i++)
            col[i] = (int16_t)((int32_t)in[i] - zx);
        return;
    }
    for (uint32_t ci = 0; ci < c; ci++)
        for (uint32_t ky = 0; ky < k; ky++)
            for (uint32_t kx = 0; kx < k; kx++) {
                int16_t *row = col + (((size_t)ci * k + ky) * k + kx) * oh * ow;
                for (uint32_t oy = 0; oy < oh; oy++) {
                    int64_t iy = (int64_t)oy * st + ky - pad;
                    int16_t *r = row + (size_t)oy * ow;
                    if (iy < 0 || iy >= h) {
                        memset(r, 0, ow * sizeof *r);
                        continue;
                    }
                    const uint8_t *xr = in + ((size_t)ci * h + (size_t)iy) * w;
                    for (uint32_t ox = 0; ox < ow; ox++) {
                        int64_t ix = (int64_t)ox * st + kx - pad;
                        r[ox] = (ix < 0 || ix >= w) ? 0 : (int16_t)((int32_t)xr[ix] - zx);
                    }
                }
            }
}

/* Output channels are processed four at a time so that each im2col row is
 * loaded once per four channels; the sums are the same int32 sums (§4.1).
 * This part: channel groups [g0, g1) (4 channels a group). */
CPU_HOT
static void conv_q8_range(const cpu_q8_layer *q, const sushi_layer *l, const int16_t *col, uint8_t *out, size_t g0,
                          size_t g1)
{
    size_t ohw = (size_t)l->out_h * l->out_w;
    int32_t acc[4][Q8_TILE];
    const uint32_t K = q->K;
    const uint32_t o_end = 4 * g1 < l->out_c ? (uint32_t)(4 * g1) : l->out_c;
    for (size_t h0 = 0; h0 < ohw; h0 += Q8_TILE) {
        size_t hn = ohw - h0 < Q8_TILE ? ohw - h0 : Q8_TILE;
        for (uint32_t o0 = (uint32_t)(4 * g0); o0 < o_end; o0 += 4) {
            uint32_t on = l->out_c - o0 < 4 ? l->out_c - o0 : 4;
            const int8_t *w0 = q->w + (size_t)o0 * K;
            const int8_t *w1 = on > 1 ? w0 + K : w0, *w2 = on > 2 ? w0 + 2 * (size_t)K : w0,
                         *w3 = on > 3 ? w0 + 3 * (size_t)K : w0;
            int32_t *restrict a0 = acc[0], *restrict a1 = acc[1], *restrict a2 = acc[2], *restrict a3 = acc[3];
            for (size_t j = 0; j < hn; j++)
                a0[j] = a1[j] = a2[j] = a3[j] = 0;
            for (uint32_t k = 0; k < K; k++) {
                const int32_t v0 = w0[k], v1 = w1[k], v2 = w2[k], v3 = w3[k];
                const int16_t *restrict cr = col + (size_t)k * ohw + h0;
                for (size_t j = 0; j < hn; j++) {
                    const int32_t x = cr[j];
                    a0[j] += v0 * x;
                    a1[j] += v1 * x;
                    a2[j] += v2 * x;
                    a3[j] += v3 * x;
                }
            }
            for (uint32_t d = 0; d < on; d++) {
                uint8_t *y = out + (size_t)(o0 + d) * ohw + h0;
                for (size_t j = 0; j < hn; j++)
                    y[j] = q8_store(q, &q->rq, o0 + d, acc[d][j]);
            }
        }
    }
}

/* A parallel int8 layer: the layer, its input and output, its scratch. */
typedef struct q8_job {
    const cpu_q8_layer *q;
    const sushi_layer *l;
    const uint8_t *in;
    uint8_t *out;
    void *scratch;
    size_t per_thread; /* depthwise: scratch bytes of one thread */
} q8_job;

static void conv_q8_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const q8_job *j = a;
    (void)id;
    conv_q8_range(j->q, j->l, j->scratch, j->out, lo, hi);
}

/* Integer sums do not depend on the split: results are the same on any
 * number of threads. */
static void conv_q8(const cpu_exec *ex, const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out,
                    void *scratch)
{
    int16_t *col = scratch;
    im2col_q8(in, q->zp_in, l->in_c, l->in_h, l->in_w, l->kernel, l->stride, l->pad, l->out_h, l->out_w, col);
    size_t groups = ((size_t)l->out_c + 3) / 4;
    size_t work = (size_t)l->out_c * l->out_h * l->out_w * q->K;
    q8_job j = { q, l, in, out, scratch, 0 };
    cpu_pool *pool = ex ? ex->pool : NULL;
    cpu_pool_for(pool, groups, cpu_parts(pool, groups, work, CPU_PAR_MIN_WORK), conv_q8_part, &j);
}

/* Geometry of the depthwise int8 scratch: centred, zero-padded int16 plane P
 * (stride 2: split into even / odd columns E, O), each with slack, and the
 * int32 sums of all output rows at pitch R (the padded row step). */
typedef struct dwq_geom {
    size_t ph, pw, pw2, R, p_sz, eo_sz, acc_sz;
} dwq_geom;

static dwq_geom dwq_geometry(const sushi_layer *l)
{
    dwq_geom g;
    g.ph = l->in_h + 2 * (size_t)l->pad;
    g.pw = l->in_w + 2 * (size_t)l->pad;
    g.pw2 = (g.pw + 1) / 2;
    g.R = l->stride == 1 ? g.pw : l->stride == 2 ? 2 * g.pw2 : (size_t)l->out_w;
    size_t slack = 2 * g.pw + 2 * (size_t)l->kernel + 16;
    g.p_sz = cpu_align_up((g.ph * g.pw + slack) * sizeof(int16_t));
    g.eo_sz = l->stride == 2 ? cpu_align_up((g.ph * g.pw2 + slack) * sizeof(int16_t)) : 0;
    g.acc_sz = cpu_align_up((size_t)l->out_h * g.R * sizeof(int32_t));
    return g;
}

/* Depthwise: the sums of §4.1 (padding taps contribute 0), computed from a
 * padded copy of (x - zx). Strides 1 and 2 run every tap as one flat run over
 * all output rows at the padded pitch R (columns >= out_w are computed and
 * dropped), which keeps the loops long on small planes. */
CPU_HOT
static void dwconv_q8_range(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out,
                            void *scratch, uint32_t c0, uint32_t c1)
{
    const uint32_t k = l->kernel, st = l->stride, pad = l->pad;
    const uint32_t h = l->in_h, w = l->in_w, oh = l->out_h, ow = l->out_w;
    const dwq_geom g = dwq_geometry(l);
    int16_t *P = scratch;
    int16_t *E = (int16_t *)((char *)scratch + g.p_sz);
    int16_t *O = (int16_t *)((char *)scratch + g.p_sz + g.eo_sz);
    int32_t *acc = (int32_t *)((char *)scratch + g.p_sz + 2 * g.eo_sz);
    const int32_t zx = q->zp_in;
    const size_t n = (size_t)oh * g.R;
    memset(P, 0, g.p_sz);
    if (st == 2) {
        memset(E, 0, g.eo_sz);
        memset(O, 0, g.eo_sz);
    }
    for (uint32_t c = c0; c < c1; c++) {
        const int8_t *wc = q->w + (size_t)c * k * k;
        const uint8_t *x = in + (size_t)c * h * w;
        for (uint32_t iy = 0; iy < h; iy++) {
            int16_t *r = P + (size_t)(iy + pad) * g.pw + pad;
            const uint8_t *xr = x + (size_t)iy * w;
            for (uint32_t ix = 0; ix < w; ix++)
                r[ix] = (int16_t)((int32_t)xr[ix] - zx);
        }
        if (st == 2) {
            for (size_t iy = 0; iy < g.ph; iy++) {
                const int16_t *r = P + iy * g.pw;
                int16_t *e = E + iy * g.pw2, *o = O + iy * g.pw2;
                for (size_t j = 0; j < g.pw / 2; j++) {
                    e[j] = r[2 * j];
                    o[j] = r[2 * j + 1];
                }
                if (g.pw % 2)
                    e[g.pw / 2] = r[g.pw - 1];
            }
        }
        int32_t *restrict a = acc;
        for (size_t i = 0; i < n; i++)
            a[i] = 0;
        for (uint32_t ky = 0; ky < k; ky++)
            for (uint32_t kx = 0; kx < k; kx++) {
                const int32_t wv = wc[ky * k + kx];
                if (st <= 2) {
                    const int16_t *restrict src =
                        st == 1 ? P + (size_t)ky * g.pw + kx : ((kx & 1) ? O : E) + (size_t)ky * g.pw2 + kx / 2;
                    for (size_t i = 0; i < n; i++)
                        a[i] += wv * src[i];
                } else {
                    for (uint32_t oy = 0; oy < oh; oy++) {
                        const int16_t *src = P + ((size_t)oy * st + ky) * g.pw + kx;
                        for (uint32_t ox = 0; ox < ow; ox++)
                            a[(size_t)oy * g.R + ox] += wv * src[(size_t)ox * st];
                    }
                }
            }
        uint8_t *y = out + (size_t)c * oh * ow;
        for (uint32_t oy = 0; oy < oh; oy++)
            for (uint32_t ox = 0; ox < ow; ox++)
                y[(size_t)oy * ow + ox] = q8_store(q, &q->rq, c, a[(size_t)oy * g.R + ox]);
    }
}

static size_t dwq_bytes(const sushi_layer *l)
{
    dwq_geom g = dwq_geometry(l);
    return g.p_sz + 2 * g.eo_sz + g.acc_sz;
}

static void dw_q8_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const q8_job *j = a;
    dwconv_q8_range(j->q, j->l, j->in, j->out, (char *)j->scratch + id * j->per_thread, (uint32_t)lo, (uint32_t)hi);
}

/* channels split over the threads, each with its own padded planes and sums */
static void dwconv_q8(const cpu_exec *ex, const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in,
                      uint8_t *out, void *scratch)
{
    q8_job j = { q, l, in, out, scratch, dwq_bytes(l) };
    size_t work = (size_t)l->out_c * l->out_h * l->out_w * l->kernel * l->kernel;
    cpu_pool *pool = ex ? ex->pool : NULL;
    cpu_pool_for(pool, l->out_c, cpu_parts(pool, l->out_c, work, CPU_PAR_MIN_WORK), dw_q8_part, &j);
}

static void linear_q8(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out, void *scratch)
{
    int32_t *acc = scratch; /* out_c int32; the output LINEAR leaves them here */
    for (uint32_t o = 0; o < l->out_c; o++) {
        const int8_t *wr = q->w + (size_t)o * q->K;
        int32_t a = 0;
        for (uint32_t k = 0; k < q->K; k++)
            a += (int32_t)wr[k] * ((int32_t)in[k] - q->zp_in);
        if (q->out_i32)
            acc[o] = sushi_q8_sat_i32((int64_t)a + q->bias_acc[o]);
        else
            out[o] = q8_store(q, &q->rq, o, a);
    }
}

void cpu_q8_add(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *a, const uint8_t *b, uint8_t *out)
{
    size_t n = (size_t)l->out_c * l->out_h * l->out_w;
    for (size_t i = 0; i < n; i++) {
        int32_t r = sushi_q8_requant2((int32_t)a[i] - q->zp_in, q->add_ma, (int32_t)b[i] - q->zp_in2, q->add_mb,
                                      q->add_s);
        uint8_t p = sushi_q8_output(r, q->zp_rq, q->lo);
        out[i] = q->use_lut ? q->lut[p] : p;
    }
}

void cpu_q8_maxpool(const sushi_layer *l, const uint8_t *in, uint8_t *out)
{
    const uint32_t k = l->kernel, st = l->stride, pad = l->pad;
    for (uint32_t c = 0; c < l->in_c; c++) {
        const uint8_t *x = in + (size_t)c * l->in_h * l->in_w;
        uint8_t *y = out + (size_t)c * l->out_h * l->out_w;
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++) {
                uint8_t m = 0;
                for (uint32_t ky = 0; ky < k; ky++) {
                    int64_t iy = (int64_t)oy * st + ky - pad;
                    if (iy < 0 || iy >= l->in_h)
                        continue;
                    for (uint32_t kx = 0; kx < k; kx++) {
                        int64_t ix = (int64_t)ox * st + kx - pad;
                        if (ix >= 0 && ix < l->in_w && x[iy * l->in_w + ix] > m)
                            m = x[iy * l->in_w + ix];
                    }
                }
                y[(size_t)oy * l->out_w + ox] = m;
            }
    }
}

void cpu_q8_avgpool(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out)
{
    const uint32_t k = l->kernel, st = l->stride;
    for (uint32_t c = 0; c < l->in_c; c++) {
        const uint8_t *x = in + (size_t)c * l->in_h * l->in_w;
        uint8_t *y = out + (size_t)c * l->out_h * l->out_w;
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++) {
                int32_t sum = 0;
                uint32_t n = 0;
                for (uint32_t ky = 0; ky < k && oy * st + ky < l->in_h; ky++)
                    for (uint32_t kx = 0; kx < k && ox * st + kx < l->in_w; kx++) {
                        sum += (int32_t)x[(size_t)(oy * st + ky) * l->in_w + ox * st + kx] - q->zp_in;
                        n++;
                    }
                y[(size_t)oy * l->out_w + ox] =
                    sushi_q8_output(sushi_q8_requant(sum, q->pool_m[n], 0, q->pool_s[n]), q->zp_in, 0);
            }
    }
}

void cpu_q8_gap(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out)
{
    size_t hw = (size_t)l->in_h * l->in_w;
    for (uint32_t c = 0; c < l->in_c; c++) {
        const uint8_t *x = in + c * hw;
        int32_t sum = 0;
        for (size_t j = 0; j < hw; j++)
            sum += (int32_t)x[j] - q->zp_in;
        out[c] = sushi_q8_output(sushi_q8_requant(sum, q->gap_m, 0, q->gap_s), q->zp_in, 0);
    }
}

void cpu_q8_se_excite(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, const uint8_t *gate,
                      uint8_t *out)
{
    size_t hw = (size_t)l->in_h * l->in_w;
    for (uint32_t i = 0; i < l->in_c; i++) {
        const uint8_t *x = in + i * hw;
        uint8_t *y = out + i * hw;
        const int32_t g = gate[i];
        for (size_t j = 0; j < hw; j++)
            y[j] = sushi_q8_output(sushi_q8_requant(((int32_t)x[j] - q->zp_in) * g, q->se_m, 0, q->se_s), q->zp_rq,
                                   0);
    }
}

static void se_q8(const cpu_q8_layer *q, const sushi_layer *l, const uint8_t *in, uint8_t *out, void *scratch)
{
    uint32_t c = l->in_c, mid = l->se_mid;
    uint8_t *pooled = scratch;
    uint8_t *hid = pooled + cpu_align_up(c);
    uint8_t *gate = hid + cpu_align_up(mid);
    cpu_q8_gap(q, l, in, pooled);
    for (uint32_t j = 0; j < mid; j++) {
        const int8_t *wr = q->w + (size_t)j * c;
        int32_t a = 0;
        for (uint32_t i = 0; i < c; i++)
            a += (int32_t)wr[i] * ((int32_t)pooled[i] - q->zp_in);
        hid[j] = sushi_q8_output(sushi_q8_requant(a, q->rq.m[j], q->rq.B[j], q->rq.s[j]), q->se_hid_zp,
                                 q->se_hid_zp);
    }
    for (uint32_t i = 0; i < c; i++) {
        const int8_t *wr = q->w2 + (size_t)i * mid;
        int32_t a = 0;
        for (uint32_t j = 0; j < mid; j++)
            a += (int32_t)wr[j] * ((int32_t)hid[j] - q->se_hid_zp);
        gate[i] = q->se_lut[sushi_q8_output(sushi_q8_requant(a, q->rq2.m[i], q->rq2.B[i], q->rq2.s[i]),
                                            q->se_gate_zp, 0)];
    }
    cpu_q8_se_excite(q, l, in, gate, out);
}

void cpu_q8_forward(const cpu_q8_model *m, const float *input, uint8_t *arena, void *scratch, float *out,
                    int32_t *out_i32)
{
    cpu_q8_forward_x(NULL, m, input, arena, scratch, out, out_i32);
}

void cpu_q8_forward_x(const cpu_exec *ex, const cpu_q8_model *m, const float *input, uint8_t *arena, void *scratch,
                      float *out, int32_t *out_i32)
{
    const sushi_subnet *s = m->s;
    const cpu_plan *p = &m->plan;
    uint8_t *x0 = arena + p->offset[0];
    size_t in_len = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    for (size_t i = 0; i < in_len; i++)
        x0[i] = sushi_q8_quantize_input(input[i], m->scale[0], m->zp[0]);
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        const cpu_q8_layer *q = &m->layers[li];
        const uint8_t *in = arena + p->offset[l->input];
        uint8_t *o = arena + p->offset[l->output];
        switch (l->op) {
        case SUSHI_OP_CONV: conv_q8(ex, q, l, in, o, scratch); break;
        case SUSHI_OP_DWCONV: dwconv_q8(ex, q, l, in, o, scratch); break;
        case SUSHI_OP_LINEAR: linear_q8(q, l, in, o, scratch); break;
        case SUSHI_OP_MAXPOOL: cpu_q8_maxpool(l, in, o); break;
        case SUSHI_OP_AVGPOOL: cpu_q8_avgpool(q, l, in, o); break;
        case SUSHI_OP_GAP: cpu_q8_gap(q, l, in, o); break;
        case SUSHI_OP_ADD: cpu_q8_add(q, l, in, arena + p->offset[l->input2], o); break;
        case SUSHI_OP_SE: se_q8(q, l, in, o, scratch); break;
        default: break;
        }
    }
    const sushi_value *ov = &s->values[s->output_value];
    size_t n_out = (size_t)ov->c * ov->h * ov->w;
    const cpu_q8_layer *last = s->n_layers ? &m->layers[s->n_layers - 1] : NULL;
    if (last && last->out_i32 && s->layers[s->n_layers - 1].output == s->output_value) {
        const int32_t *acc = scratch;
        for (size_t i = 0; i < n_out; i++) {
            out[i] = (float)acc[i] * last->deq[i];
            if (out_i32)
                out_i32[i] = acc[i];
        }
    } else {
        const uint8_t *y = arena + p->offset[s->output_value];
        for (size_t i = 0; i < n_out; i++) {
            out[i] = m->scale[s->output_value] * (float)((int32_t)y[i] - m->zp[s->output_value]);
            if (out_i32)
                out_i32[i] = y[i];
        }
    }
}

size_t cpu_q8_scratch_bytes(const sushi_subnet *s) { return cpu_q8_scratch_bytes_nt(s, 1); }

size_t cpu_q8_scratch_bytes_nt(const sushi_subnet *s, unsigned nt)
{
    size_t mx = CPU_ALIGN;
    if (nt < 1)
        nt = 1;
    for (uint32_t i = 0; i < s->n_layers; i++) {
        const sushi_layer *l = &s->layers[i];
        size_t ohw = (size_t)l->out_h * l->out_w, b = 0;
        switch (l->op) {
        case SUSHI_OP_CONV: b = cpu_align_up((size_t)l->in_c * l->kernel * l->kernel * ohw * 2); break;
        case SUSHI_OP_DWCONV: b = nt * dwq_bytes(l); break;
        case SUSHI_OP_LINEAR: b = cpu_align_up((size_t)l->out_c * 4); break;
        case SUSHI_OP_SE: b = 2 * cpu_align_up(l->in_c) + cpu_align_up(l->se_mid); break;
        default: break;
        }
        if (b > mx)
            mx = b;
    }
    return mx;
}
