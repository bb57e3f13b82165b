/* Resolution of a config into a per-layer plan (sushi_subnet). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct builder {
    sushi_subnet *s;
    const sushi_supernet *sn;
    uint32_t cap_layers, cap_values;
    /* BN bookkeeping: per layer with BN, which ref and channels */
    uint32_t cap_bn;
    const sushi_bn_ref **bn_refs;
    uint32_t *bn_c;
    int rc;
} builder;

static uint32_t new_value(builder *b, uint32_t c, uint32_t h, uint32_t w, uint32_t producer)
{
    sushi_subnet *s = b->s;
    if (b->rc)
        return 0;
    if (s->n_values == b->cap_values) {
        uint32_t n = b->cap_values ? b->cap_values * 2 : 64;
        sushi_value *v = sushi_realloc(b->sn->ctx, s->values, (size_t)n * sizeof *v);
        if (!v) {
            b->rc = SUSHI_ERR_NOMEM;
            return 0;
        }
        s->values = v;
        b->cap_values = n;
    }
    s->values[s->n_values] = (sushi_value){ c, h, w, producer, producer };
    return s->n_values++;
}

static sushi_layer *new_layer(builder *b, uint32_t op, uint32_t unit, const char *name, uint32_t input)
{
    sushi_subnet *s = b->s;
    if (b->rc)
        return NULL;
    if (s->n_layers == b->cap_layers) {
        uint32_t n = b->cap_layers ? b->cap_layers * 2 : 64;
        sushi_layer *l = sushi_realloc(b->sn->ctx, s->layers, (size_t)n * sizeof *l);
        if (!l) {
            b->rc = SUSHI_ERR_NOMEM;
            return NULL;
        }
        s->layers = l;
        b->cap_layers = n;
    }
    sushi_layer *l = &s->layers[s->n_layers];
    memset(l, 0, sizeof *l);
    l->op = op;
    l->unit = unit;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->input = input;
    l->input2 = SUSHI_VALUE_NONE;
    l->w = l->b = l->w2 = l->b2 = -1;
    l->bn = -1;
    const sushi_value *v = &s->values[input];
    l->in_c = v->c, l->in_h = v->h, l->in_w = v->w;
    s->n_layers++;
    return l;
}

/* Record the slice box of a weight tensor used by this SubNet. */
static void use_weight(builder *b, int32_t t, uint32_t out, uint32_t in)
{
    if (t < 0)
        return;
    int32_t slot = b->sn->tensors[t].wslot;
    if (slot < 0)
        return;
    if (out > b->s->box_out[slot])
        b->s->box_out[slot] = out;
    if (in > b->s->box_in[slot])
        b->s->box_in[slot] = in;
}

static void add_bn(builder *b, sushi_layer *l, const sushi_conv_ref *r)
{
    if (!r->has_bn || b->rc)
        return;
    if (b->s->n_bn == b->cap_bn) {
        uint32_t n = b->cap_bn ? b->cap_bn * 2 : 64;
        const sushi_bn_ref **refs = sushi_realloc(b->sn->ctx, b->bn_refs, (size_t)n * sizeof *refs);
        if (!refs) {
            b->rc = SUSHI_ERR_NOMEM;
            return;
        }
        b->bn_refs = refs;
        uint32_t *cs = sushi_realloc(b->sn->ctx, b->bn_c, (size_t)n * sizeof *cs);
        if (!cs) {
            b->rc = SUSHI_ERR_NOMEM;
            return;
        }
        b->bn_c = cs;
        b->cap_bn = n;
    }
    l->bn = (int32_t)b->s->n_bn;
    b->bn_refs[b->s->n_bn] = &r->bn;
    b->bn_c[b->s->n_bn] = l->out_c;
    b->s->n_bn++;
}

static uint32_t conv_out(uint32_t in, uint32_t k, uint32_t s, uint32_t p)
{
    if (in + 2 * p < k)
        return 0;
    return (in + 2 * p - k) / s + 1;
}

/* Emit a conv / dwconv layer. Returns the output value. */
static uint32_t emit_conv(builder *b, uint32_t unit, const char *name, uint32_t x, const sushi_conv_ref *r,
                          int32_t wt, bool depthwise, uint32_t out_c, uint32_t k, uint32_t stride,
                          uint32_t act)
{
    sushi_layer *l = new_layer(b, depthwise ? SUSHI_OP_DWCONV : SUSHI_OP_CONV, unit, name, x);
    if (!l)
        return 0;
    l->kernel = k;
    l->stride = stride;
    l->pad = k / 2;
    l->out_c = depthwise ? l->in_c : out_c;
    l->out_h = conv_out(l->in_h, k, stride, l->pad);
    l->out_w = conv_out(l->in_w, k, stride, l->pad);
    if (l->out_h == 0 || l->out_w == 0) {
        b->rc = SUSHI_ERR_CONFIG;
        return 0;
    }
    l->act = act;
    l->w = wt;
    l->b = r->b;
    uint64_t cin = depthwise ? 1 : l->in_c;
    uint64_t welems = (uint64_t)l->out_c * cin * k * k;
    l->weight_bytes = welems;
    l->params = welems + (r->b >= 0 ? l->out_c : 0) + (r->has_bn ? 2ull * l->out_c : 0);
    l->macs = (uint64_t)l->out_c * l->out_h * l->out_w * cin * k * k;
    use_weight(b, wt, l->out_c, depthwise ? 1 : l->in_c);
    add_bn(b, l, r);
    uint32_t li = b->s->n_layers - 1;
    uint32_t v = new_value(b, l->out_c, l->out_h, l->out_w, li);
    if (!b->rc)
        b->s->layers[li].output = v;
    return v;
}

static uint32_t emit_add(builder *b, uint32_t unit, const char *name, uint32_t x, uint32_t y, uint32_t act)
{
    sushi_layer *l = new_layer(b, SUSHI_OP_ADD, unit, name, x);
    if (!l)
        return 0;
    l->input2 = y;
    l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->in_w;
    l->act = act;
    const sushi_value *vy = &b->s->values[y];
    if (vy->c != l->in_c || vy->h != l->in_h || vy->w != l->in_w) {
        b->rc = SUSHI_ERR_CONFIG;
        return 0;
    }
    uint32_t li = b->s->n_layers - 1;
    uint32_t v = new_value(b, l->out_c, l->out_h, l->out_w, li);
    if (!b->rc)
        b->s->layers[li].output = v;
    return v;
}

static uint32_t ceil_pool_out(uint32_t in, uint32_t k, uint32_t s)
{
    int64_t num = (int64_t)in - (int64_t)k + (int64_t)s - 1;
    int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
    int64_t out = q + 1;
    if (out > 0 && (out - 1) * (int64_t)s >= (int64_t)in)
        out--;
    return out > 0 ? (uint32_t)out : 0;
}

static uint32_t emit_simple(builder *b, uint32_t op, uint32_t unit, const char *name, uint32_t x, uint32_t k,
                            uint32_t stride, uint32_t pad)
{
    sushi_layer *l = new_layer(b, op, unit, name, x);
    if (!l)
        return 0;
    l->kernel = k, l->stride = stride, l->pad = pad;
    l->out_c = l->in_c;
    if (op == SUSHI_OP_GAP) {
        l->out_h = l->out_w = 1;
    } else if (op == SUSHI_OP_MAXPOOL) {
        l->out_h = conv_out(l->in_h, k, stride, pad);
        l->out_w = conv_out(l->in_w, k, stride, pad);
    } else { /* AVGPOOL, ceil mode, no padding (PyTorch's pooling_output_shape) */
        l->out_h = ceil_pool_out(l->in_h, k, stride);
        l->out_w = ceil_pool_out(l->in_w, k, stride);
    }
    if (l->out_h == 0 || l->out_w == 0) {
        b->rc = SUSHI_ERR_CONFIG;
        return 0;
    }
    uint32_t li = b->s->n_layers - 1;
    uint32_t v = new_value(b, l->out_c, l->out_h, l->out_w, li);
    if (!b->rc)
        b->s->layers[li].output = v;
    return v;
}

static bool unit_active(const sushi_supernet *sn, const sushi_unit *u, const sushi_config *c)
{
    if (u->dgroup < 0)
        return true;
    const sushi_dgroup *g = &sn->dgroups[u->dgroup];
    uint8_t d = c->d[u->dgroup];
    if (g->mode == SUSHI_DEPTH_ALL_IF_MAX)
        return d == g->choices[g->n_choices - 1];
    return u->dindex < g->base + d;
}

static uint32_t unit_out(const sushi_supernet *sn, const sushi_unit *u, const sushi_config *c)
{
    return u->out_wgroup >= 0 ? sn->wgroups[u->out_wgroup].channels[c->w[u->out_wgroup]] : u->out_max;
}

static int resolve(builder *b)
{
    const sushi_supernet *sn = b->sn;
    sushi_subnet *s = b->s;
    const sushi_config *c = &s->cfg;
    uint32_t x = new_value(b, sn->in_channels, c->resolution, c->resolution, UINT32_MAX);
    char name[SUSHI_NAME_MAX + 32];
    for (uint32_t ui = 0; ui < sn->n_units && !b->rc; ui++) {
        const sushi_unit *u = &sn->units[ui];
        if (!unit_active(sn, u, c))
            continue;
        uint32_t in_c = s->values[x].c;
        switch (u->kind) {
        case SUSHI_UNIT_CONV: {
            uint32_t out = unit_out(sn, u, c);
            const sushi_conv_ref *r = &u->sub[SUSHI_SUB_CONV];
            uint32_t y = emit_conv(b, ui, u->name, x, r, r->w, false, out, u->kernel, u->stride, u->act);
            if (u->residual && !b->rc) {
                snprintf(name, sizeof name, "%s.add", u->name);
                y = emit_add(b, ui, name, y, x, SUSHI_ACT_NONE);
            }
            x = y;
            break;
        }
        case SUSHI_UNIT_MBCONV: {
            uint32_t k = u->ks_slot >= 0 ? c->ks[u->ks_slot] : u->kernel;
            float e = u->e_slot >= 0 ? c->e[u->e_slot] : u->e_fixed;
            bool expand = sushi_unit_has_expand(u);
            uint32_t mid = expand ? sushi_unit_round_mid(u, round((double)in_c * e)) : in_c;
            uint32_t out = unit_out(sn, u, c);
            uint32_t y = x;
            if (expand) {
                snprintf(name, sizeof name, "%s.conv.inverted_bottleneck", u->name);
                const sushi_conv_ref *r = &u->sub[SUSHI_SUB_EXPAND];
                y = emit_conv(b, ui, name, y, r, r->w, false, mid, 1, 1, u->act);
            }
            int32_t dwt = -1;
            for (uint32_t j = 0; j < u->n_dw; j++)
                if (u->dw_kernel[j] == k)
                    dwt = u->dw_tensor[j];
            snprintf(name, sizeof name, "%s.conv.depth_conv", u->name);
            y = emit_conv(b, ui, name, y, &u->sub[SUSHI_SUB_DW], dwt, true, mid, k, u->stride, u->act);
            if (u->se && !b->rc) {
                snprintf(name, sizeof name, "%s.conv.depth_conv.se", u->name);
                sushi_layer *l = new_layer(b, SUSHI_OP_SE, ui, name, y);
                if (!l)
                    break;
                uint32_t se_mid = sushi_unit_round_mid(u, mid / 4);
                const sushi_conv_ref *rr = &u->sub[SUSHI_SUB_SE_REDUCE], *re = &u->sub[SUSHI_SUB_SE_EXPAND];
                l->out_c = l->in_c, l->out_h = l->in_h, l->out_w = l->in_w;
                l->kernel = 1, l->stride = 1;
                l->w = rr->w, l->b = rr->b, l->w2 = re->w, l->b2 = re->b;
                l->se_mid = se_mid;
                l->act = SUSHI_ACT_NONE;
                l->weight_bytes = 2ull * se_mid * mid;
                l->params = l->weight_bytes + se_mid + mid;
                l->macs = 2ull * se_mid * mid;
                use_weight(b, rr->w, se_mid, mid);
                use_weight(b, re->w, mid, se_mid);
                uint32_t li = s->n_layers - 1;
                y = new_value(b, l->out_c, l->out_h, l->out_w, li);
                if (!b->rc)
                    s->layers[li].output = y;
            }
            snprintf(name, sizeof name, "%s.conv.point_linear", u->name);
            const sushi_conv_ref *rp = &u->sub[SUSHI_SUB_PROJECT];
            y = emit_conv(b, ui, name, y, rp, rp->w, false, out, 1, 1, SUSHI_ACT_NONE);
            if (u->residual && !b->rc) {
                snprintf(name, sizeof name, "%s.add", u->name);
                y = emit_add(b, ui, name, y, x, SUSHI_ACT_NONE);
            }
            x = y;
            break;
        }
        case SUSHI_UNIT_BOTTLENECK: {
            uint32_t out = unit_out(sn, u, c);
            float e = c->e[u->e_slot];
            uint32_t mid = sushi_unit_round_mid(u, round((double)out * e));
            const sushi_conv_ref *r1 = &u->sub[SUSHI_SUB_CONV1], *r2 = &u->sub[SUSHI_SUB_CONV2],
                                 *r3 = &u->sub[SUSHI_SUB_CONV3], *rd = &u->sub[SUSHI_SUB_DOWN];
            uint32_t res = x;
            if (!u->residual) {
                if (u->stride > 1) {
                    snprintf(name, sizeof name, "%s.downsample.avg_pool", u->name);
                    res = emit_simple(b, SUSHI_OP_AVGPOOL, ui, name, res, u->stride, u->stride, 0);
                }
                snprintf(name, sizeof name, "%s.downsample", u->name);
                res = emit_conv(b, ui, name, res, rd, rd->w, false, out, 1, 1, SUSHI_ACT_NONE);
            }
            snprintf(name, sizeof name, "%s.conv1", u->name);
            uint32_t y = emit_conv(b, ui, name, x, r1, r1->w, false, mid, 1, 1, SUSHI_ACT_RELU);
            snprintf(name, sizeof name, "%s.conv2", u->name);
            y = emit_conv(b, ui, name, y, r2, r2->w, false, mid, u->kernel, u->stride, SUSHI_ACT_RELU);
            snprintf(name, sizeof name, "%s.conv3", u->name);
            y = emit_conv(b, ui, name, y, r3, r3->w, false, out, 1, 1, SUSHI_ACT_NONE);
            snprintf(name, sizeof name, "%s.add", u->name);
            x = emit_add(b, ui, name, y, res, SUSHI_ACT_RELU);
            break;
        }
        case SUSHI_UNIT_MAXPOOL:
            x = emit_simple(b, SUSHI_OP_MAXPOOL, ui, u->name, x, u->kernel, u->stride, u->pad);
            break;
        case SUSHI_UNIT_GAP:
            x = emit_simple(b, SUSHI_OP_GAP, ui, u->name, x, 0, 1, 0);
            break;
        case SUSHI_UNIT_LINEAR: {
            sushi_layer *l = new_layer(b, SUSHI_OP_LINEAR, ui, u->name, x);
            if (!l)
                break;
            const sushi_conv_ref *r = &u->sub[SUSHI_SUB_LINEAR];
            uint32_t in = l->in_c * l->in_h * l->in_w;
            l->out_c = u->out_max, l->out_h = l->out_w = 1;
            l->kernel = 1, l->stride = 1;
            l->w = r->w, l->b = r->b, l->act = u->act;
            l->weight_bytes = (uint64_t)l->out_c * in;
            l->params = l->weight_bytes + (r->b >= 0 ? l->out_c : 0);
            l->macs = l->weight_bytes;
            use_weight(b, r->w, l->out_c, in);
            uint32_t li = s->n_layers - 1;
            x = new_value(b, l->out_c, 1, 1, li);
            if (!b->rc)
                s->layers[li].output = x;
            break;
        }
        }
    }
    s->output_value = x;
    return b->rc;
}

/* Per-channel BN scale/shift for every BN layer of the plan, from the
 * candidate's statistics when present, else the SuperNet's running stats. */
static int fill_bn(builder *b)
{
    sushi_subnet *s = b->s;
    const sushi_supernet *sn = b->sn;
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->n_bn; i++)
        total += b->bn_c[i];
    s->bn_data = sushi_calloc(sn->ctx, total * 2 + 1, sizeof(float));
    if (!s->bn_data)
        return SUSHI_ERR_NOMEM;
    const sushi_candidate *cand = s->candidate >= 0 ? &sn->cands[s->candidate] : NULL;
    const float *stats = (cand && cand->bn_stats && cand->n_bn_stats == total * 2) ? cand->bn_stats : NULL;
    s->bn_from_candidate = stats != NULL;
    uint64_t off = 0, soff = 0;
    for (uint32_t i = 0; i < s->n_bn; i++) {
        const sushi_bn_ref *r = b->bn_refs[i];
        uint32_t c = b->bn_c[i];
        float *scale = s->bn_data + off, *shift = s->bn_data + off + c;
        const float *g = sn->tensors[r->gamma].data, *be = sn->tensors[r->beta].data;
        const float *mean = stats ? stats + soff : sn->tensors[r->mean].data;
        const float *var = stats ? stats + soff + c : sn->tensors[r->var].data;
        for (uint32_t j = 0; j < c; j++) {
            float sc = g[j] / sqrtf(var[j] + r->eps);
            scale[j] = sc;
            shift[j] = be[j] - mean[j] * sc;
        }
        off += 2ull * c;
        soff += 2ull * c;
    }
    /* attach to layers */
    off = 0;
    for (uint32_t li = 0; li < s->n_layers; li++) {
        sushi_layer *l = &s->layers[li];
        if (l->bn < 0)
            continue;
        l->bn_scale = s->bn_data + off;
        l->bn_shift = s->bn_data + off + l->out_c;
        off += 2ull * l->out_c;
    }
    return SUSHI_OK;
}

void sushi_subnet_destroy(sushi_subnet *s)
{
    if (!s || !sushi_ref_put(&s->ref))
        return;
    sushi_supernet *sn = s->sn;
    const sushi_context *ctx = sn->ctx;
    sushi_free(ctx, s->layers);
    sushi_free(ctx, s->values);
    sushi_free(ctx, s->bn_data);
    sushi_free(ctx, s->box_out);
    sushi_free(ctx, s->box_in);
    sushi_free(ctx, s);
    sushi_supernet_destroy(sn);
}

int sushi_subnet_create(const sushi_supernet *sn, const sushi_config *cfg, sushi_subnet **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!sn || !cfg)
        return SUSHI_ERR_INVALID;
    char err[160];
    int rc = sushi_config_validate(sn, cfg, err, sizeof err);
    if (rc) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR, "%s", err);
        return rc;
    }
    sushi_subnet *s = sushi_calloc(sn->ctx, 1, sizeof *s);
    if (!s)
        return SUSHI_ERR_NOMEM;
    sushi_ref_init(&s->ref);
    s->sn = (sushi_supernet *)sn;
    sushi_ref_get(&s->sn->ref);
    s->cfg = *cfg;
    s->cfg.size = sizeof s->cfg;
    s->candidate = sushi_supernet_find_candidate(sn, cfg);
    builder b = { .s = s, .sn = sn };
    s->box_out = sushi_calloc(sn->ctx, sn->n_wt + 1, sizeof *s->box_out);
    s->box_in = sushi_calloc(sn->ctx, sn->n_wt + 1, sizeof *s->box_in);
    if (!s->box_out || !s->box_in)
        rc = SUSHI_ERR_NOMEM;
    if (!rc)
        rc = resolve(&b);
    if (!rc)
        rc = fill_bn(&b);
    sushi_free(sn->ctx, b.bn_refs);
    sushi_free(sn->ctx, b.bn_c);
    if (rc) {
        if (rc == SUSHI_ERR_CONFIG)
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "config: resolution %u too small for this network",
                      cfg->resolution);
        sushi_subnet_destroy(s);
        return rc;
    }
    for (uint32_t i = 0; i < s->n_layers; i++) {
        sushi_layer *l = &s->layers[i];
        s->params += l->params;
        s->macs += l->macs;
        s->weight_bytes += l->weight_bytes;
        s->values[l->input].last_use = i;
        if (l->input2 != SUSHI_VALUE_NONE)
            s->values[l->input2].last_use = i;
    }
    s->values[s->output_value].last_use = s->n_layers;
    *out = s;
    return SUSHI_OK;
}

const sushi_config *sushi_subnet_config(const sushi_subnet *s) { return s ? &s->cfg : NULL; }

const sushi_supernet *sushi_subnet_supernet(const sushi_subnet *s) { return s ? s->sn : NULL; }

int sushi_subnet_get_stats(const sushi_subnet *s, sushi_subnet_stats *st)
{
    if (!s || !st)
        return SUSHI_ERR_INVALID;
    if (st->size < sizeof *st)
        return SUSHI_ERR_ABI;
    memset(st, 0, sizeof *st);
    st->size = sizeof *st;
    st->params = s->params;
    st->macs = s->macs;
    st->weight_bytes = s->weight_bytes;
    st->n_layers = s->n_layers;
    st->candidate = s->candidate;
    st->accuracy = s->candidate >= 0 ? s->sn->cands[s->candidate].accuracy : NAN;
    return SUSHI_OK;
}

int sushi_subnet_layer(const sushi_subnet *s, size_t i, sushi_layer_info *info)
{
    if (!s || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    if (i >= s->n_layers)
        return SUSHI_ERR_RANGE;
    const sushi_layer *l = &s->layers[i];
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->op = (int)l->op;
    info->act = (int)l->act;
    info->name = l->name;
    info->in_c = l->in_c, info->in_h = l->in_h, info->in_w = l->in_w;
    info->out_c = l->out_c, info->out_h = l->out_h, info->out_w = l->out_w;
    info->kernel = l->kernel, info->stride = l->stride, info->pad = l->pad;
    info->input = l->input, info->input2 = l->input2, info->output = l->output;
    info->params = l->params, info->macs = l->macs, info->weight_bytes = l->weight_bytes;
    return SUSHI_OK;
}
