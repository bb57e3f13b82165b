/* sushi_supernet: construction helpers shared by the zoo and the file reader,
 * tensor table, introspection and destruction. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

const char *const sushi_unit_kind_names[SUSHI_UNIT_KIND_COUNT] = {
    "conv", "mbconv", "bottleneck", "maxpool", "gap", "linear",
};

uint32_t sushi_make_divisible(double v, uint32_t divisor)
{
    /* OFA make_divisible(v, divisor, min_value=divisor) */
    double nv = floor((v + divisor / 2.0) / divisor) * divisor;
    if (nv < divisor)
        nv = divisor;
    if (nv < 0.9 * v)
        nv += divisor;
    return (uint32_t)nv;
}

const char *const sushi_mid_round_names[SUSHI_MID_RULE_COUNT] = { "ofa", "floor", "ceil" };

uint32_t sushi_unit_round_mid(const sushi_unit *u, double v)
{
    uint32_t d = u->mid_divisor ? u->mid_divisor : 8;
    double nv;
    switch (u->mid_round) {
    case SUSHI_MID_FLOOR: nv = floor(v / d) * d; break;
    case SUSHI_MID_CEIL: nv = ceil(v / d) * d; break;
    default: return sushi_make_divisible(v, d);
    }
    return (uint32_t)(nv < d ? d : nv);
}

void sushi_unit_mid_rule_text(const sushi_unit *u, char *buf, size_t n)
{
    uint32_t d = u->mid_divisor ? u->mid_divisor : 8;
    uint32_t r = u->mid_round < SUSHI_MID_RULE_COUNT ? u->mid_round : 0;
    snprintf(buf, n, "mid_round \"%s\", mid_divisor %u", sushi_mid_round_names[r], d);
}

int sushi_supernet_alloc(sushi_context *ctx, sushi_supernet **out)
{
    sushi_supernet *sn = sushi_calloc(ctx, 1, sizeof *sn);
    if (!sn)
        return SUSHI_ERR_NOMEM;
    sushi_ref_init(&sn->ref);
    sn->ctx = ctx;
    sushi_context_retain(ctx);
    *out = sn;
    return SUSHI_OK;
}

void sushi_supernet_free_storage(sushi_supernet *sn)
{
    sushi_context *ctx = sn->ctx;
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        sushi_free(ctx, sn->tensors[i].owned);
    for (uint32_t i = 0; i < sn->n_cand; i++) {
        sushi_free(ctx, sn->cands[i].dataset);
        sushi_free(ctx, sn->cands[i].metric);
        sushi_free(ctx, sn->cands[i].bn_owned);
        sushi_free(ctx, sn->cands[i].act_ranges);
        sushi_free(ctx, sn->cands[i].int8_ranges);
    }
    sushi_free(ctx, sn->cands);
    sushi_free(ctx, sn->tensors);
    sushi_free(ctx, sn->wt);
    sushi_free(ctx, sn->units);
    sushi_free(ctx, sn->res);
    sushi_free(ctx, sn->name);
    sushi_free(ctx, sn->family);
    sushi_free(ctx, sn->provenance);
    if (sn->map)
        munmap(sn->map, sn->map_size);
    sushi_free(ctx, sn->buf_owned);
}

void sushi_supernet_destroy(sushi_supernet *sn)
{
    if (!sn || !sushi_ref_put(&sn->ref))
        return;
    sushi_context *ctx = sn->ctx;
    sushi_supernet_free_storage(sn);
    sushi_free(ctx, sn);
    sushi_context_destroy(ctx);
}

/* ---------- tensor table ---------- */

typedef struct tb {
    sushi_supernet *sn;
    uint32_t cap;
    int rc;
    char *err;
    size_t errsz;
} tb;

static int32_t add_tensor(tb *b, const char *prefix, const char *suffix, uint32_t role,
                          uint32_t ndim, const uint32_t *shape)
{
    if (b->rc)
        return -1;
    sushi_supernet *sn = b->sn;
    if (sn->n_tensors == b->cap) {
        uint32_t ncap = b->cap ? b->cap * 2 : 64;
        sushi_tensor *t = sushi_realloc(sn->ctx, sn->tensors, (size_t)ncap * sizeof *t);
        if (!t) {
            b->rc = SUSHI_ERR_NOMEM;
            return -1;
        }
        sn->tensors = t;
        b->cap = ncap;
    }
    sushi_tensor *t = &sn->tensors[sn->n_tensors];
    memset(t, 0, sizeof *t);
    int n = snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
    if (n < 0 || (size_t)n >= sizeof t->name) {
        sushi_errf(b->err, b->errsz, "tensor name too long: %s.%s", prefix, suffix);
        b->rc = SUSHI_ERR_FORMAT;
        return -1;
    }
    t->role = role;
    t->ndim = ndim;
    uint64_t ne = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] == 0 || sushi_mul_overflow_u64(ne, shape[i], &ne) || ne > (1ull << 40)) {
            sushi_errf(b->err, b->errsz, "%s: impossible shape", t->name);
            b->rc = SUSHI_ERR_OVERFLOW;
            return -1;
        }
        t->shape[i] = shape[i];
    }
    t->nelem = ne;
    t->wslot = -1;
    if (role == SUSHI_ROLE_WEIGHT) {
        t->kk = ndim == 4 ? shape[2] * shape[3] : 1;
        t->depthwise = ndim == 4 && shape[1] == 1;
    }
    return (int32_t)sn->n_tensors++;
}

static void add_conv(tb *b, sushi_conv_ref *r, const char *prefix, const char *wname,
                     uint32_t out, uint32_t in, uint32_t k, bool bias, bool bn, const char *bnname,
                     float eps)
{
    char p[SUSHI_NAME_MAX + 40];
    snprintf(p, sizeof p, "%s", prefix);
    uint32_t shape[4] = { out, in, k, k };
    char wn[64];
    snprintf(wn, sizeof wn, "%s.weight", wname);
    r->w = add_tensor(b, p, wn, SUSHI_ROLE_WEIGHT, 4, shape);
    r->b = -1;
    if (bias) {
        snprintf(wn, sizeof wn, "%s.bias", wname);
        r->b = add_tensor(b, p, wn, SUSHI_ROLE_BIAS, 1, &out);
    }
    r->has_bn = bn;
    r->bn.gamma = r->bn.beta = r->bn.mean = r->bn.var = -1;
    r->bn.eps = eps;
    if (bn) {
        char bnn[64];
        snprintf(bnn, sizeof bnn, "%s.weight", bnname);
        r->bn.gamma = add_tensor(b, p, bnn, SUSHI_ROLE_BN_GAMMA, 1, &out);
        snprintf(bnn, sizeof bnn, "%s.bias", bnname);
        r->bn.beta = add_tensor(b, p, bnn, SUSHI_ROLE_BN_BETA, 1, &out);
        snprintf(bnn, sizeof bnn, "%s.running_mean", bnname);
        r->bn.mean = add_tensor(b, p, bnn, SUSHI_ROLE_BN_MEAN, 1, &out);
        snprintf(bnn, sizeof bnn, "%s.running_var", bnname);
        r->bn.var = add_tensor(b, p, bnn, SUSHI_ROLE_BN_VAR, 1, &out);
    }
}

static void empty_ref(sushi_conv_ref *r)
{
    r->w = r->b = -1;
    r->has_bn = false;
    r->bn.gamma = r->bn.beta = r->bn.mean = r->bn.var = -1;
}

bool sushi_unit_has_expand(const sushi_unit *u)
{
    return u->e_slot >= 0 || u->e_fixed != 1.0f;
}

int sushi_supernet_build_tensors(sushi_supernet *sn, char *err, size_t errsz)
{
    tb b = { sn, 0, 0, err, errsz };
    float eps = 1e-5f;
    sushi_free(sn->ctx, sn->tensors);
    sn->tensors = NULL;
    sn->n_tensors = 0;
    for (uint32_t i = 0; i < sn->n_units; i++) {
        sushi_unit *u = &sn->units[i];
        for (int s = 0; s < SUSHI_SUB_MAX; s++)
            empty_ref(&u->sub[s]);
        char p[SUSHI_NAME_MAX + 40];
        switch (u->kind) {
        case SUSHI_UNIT_CONV:
            add_conv(&b, &u->sub[SUSHI_SUB_CONV], u->name, "conv", u->out_max, u->in_max, u->kernel,
                     u->bias, u->bn, "bn", eps);
            break;
        case SUSHI_UNIT_MBCONV: {
            if (sushi_unit_has_expand(u)) {
                snprintf(p, sizeof p, "%s.conv.inverted_bottleneck", u->name);
                add_conv(&b, &u->sub[SUSHI_SUB_EXPAND], p, "conv", u->mid_max, u->in_max, 1, false,
                         true, "bn", eps);
            }
            snprintf(p, sizeof p, "%s.conv.depth_conv", u->name);
            /* largest kernel first under the base name, then smaller ones */
            for (int j = (int)u->n_dw - 1; j >= 0; j--) {
                uint32_t k = u->dw_kernel[j];
                uint32_t shape[4] = { u->mid_max, 1, k, k };
                char wn[48];
                if (j == (int)u->n_dw - 1)
                    snprintf(wn, sizeof wn, "conv.weight");
                else
                    snprintf(wn, sizeof wn, "conv.weight_k%u", k);
                u->dw_tensor[j] = add_tensor(&b, p, wn, SUSHI_ROLE_WEIGHT, 4, shape);
            }
            /* BN of the depthwise conv (shared by all kernel sizes) */
            {
                sushi_conv_ref *r = &u->sub[SUSHI_SUB_DW];
                uint32_t c = u->mid_max;
                r->w = u->n_dw ? u->dw_tensor[u->n_dw - 1] : -1;
                r->has_bn = true;
                r->bn.eps = eps;
                r->bn.gamma = add_tensor(&b, p, "bn.weight", SUSHI_ROLE_BN_GAMMA, 1, &c);
                r->bn.beta = add_tensor(&b, p, "bn.bias", SUSHI_ROLE_BN_BETA, 1, &c);
                r->bn.mean = add_tensor(&b, p, "bn.running_mean", SUSHI_ROLE_BN_MEAN, 1, &c);
                r->bn.var = add_tensor(&b, p, "bn.running_var", SUSHI_ROLE_BN_VAR, 1, &c);
            }
            if (u->se) {
                snprintf(p, sizeof p, "%s.conv.depth_conv.se.fc", u->name);
                add_conv(&b, &u->sub[SUSHI_SUB_SE_REDUCE], p, "reduce", u->se_mid_max, u->mid_max, 1,
                         true, false, NULL, eps);
                add_conv(&b, &u->sub[SUSHI_SUB_SE_EXPAND], p, "expand", u->mid_max, u->se_mid_max, 1,
                         true, false, NULL, eps);
            }
            snprintf(p, sizeof p, "%s.conv.point_linear", u->name);
            add_conv(&b, &u->sub[SUSHI_SUB_PROJECT], p, "conv", u->out_max, u->mid_max, 1, false, true,
                     "bn", eps);
            break;
        }
        case SUSHI_UNIT_BOTTLENECK:
            snprintf(p, sizeof p, "%s.conv1", u->name);
            add_conv(&b, &u->sub[SUSHI_SUB_CONV1], p, "conv", u->mid_max, u->in_max, 1, false, true, "bn", eps);
            snprintf(p, sizeof p, "%s.conv2", u->name);
            add_conv(&b, &u->sub[SUSHI_SUB_CONV2], p, "conv", u->mid_max, u->mid_max, u->kernel, false, true,
                     "bn", eps);
            snprintf(p, sizeof p, "%s.conv3", u->name);
            add_conv(&b, &u->sub[SUSHI_SUB_CONV3], p, "conv", u->out_max, u->mid_max, 1, false, true, "bn", eps);
            if (!u->residual) {
                snprintf(p, sizeof p, "%s.downsample", u->name);
                add_conv(&b, &u->sub[SUSHI_SUB_DOWN], p, "conv", u->out_max, u->in_max, 1, false, true, "bn",
                         eps);
            }
            break;
        case SUSHI_UNIT_LINEAR: {
            sushi_conv_ref *r = &u->sub[SUSHI_SUB_LINEAR];
            uint32_t shape[2] = { u->out_max, u->in_max };
            r->w = add_tensor(&b, u->name, "linear.weight", SUSHI_ROLE_WEIGHT, 2, shape);
            if (u->bias)
                r->b = add_tensor(&b, u->name, "linear.bias", SUSHI_ROLE_BIAS, 1, &u->out_max);
            break;
        }
        default:
            break;
        }
        if (b.rc)
            return b.rc;
    }
    /* weight slots in network order */
    sushi_free(sn->ctx, sn->wt);
    sn->wt = NULL;
    sn->n_wt = 0;
    sn->weight_elems = 0;
    uint32_t nw = 0;
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        nw += sn->tensors[i].role == SUSHI_ROLE_WEIGHT;
    sn->wt = sushi_calloc(sn->ctx, nw ? nw : 1, sizeof *sn->wt);
    if (!sn->wt)
        return SUSHI_ERR_NOMEM;
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        if (sn->tensors[i].role == SUSHI_ROLE_WEIGHT) {
            sn->tensors[i].wslot = (int32_t)sn->n_wt;
            sn->wt[sn->n_wt++] = i;
            sn->weight_elems += sn->tensors[i].nelem;
        }
    }
    return SUSHI_OK;
}

int32_t sushi_supernet_find_tensor(const sushi_supernet *sn, const char *name)
{
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        if (strcmp(sn->tensors[i].name, name) == 0)
            return (int32_t)i;
    return -1;
}

/* ---------- validation of the IR ---------- */

#define VFAIL(...)                          \
    do {                                    \
        sushi_errf(err, errsz, __VA_ARGS__); \
        return SUSHI_ERR_FORMAT;            \
    } while (0)

static bool is_ascending_u8(const uint8_t *v, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (v[i] <= v[i - 1])
            return false;
    return true;
}

int sushi_supernet_validate_arch(const sushi_supernet *sn, char *err, size_t errsz)
{
    char rule[64];
    if (sn->in_channels == 0 || sn->in_channels > 4)
        VFAIL("input.channels: must be 1..4");
    if (sn->num_classes == 0 || sn->num_classes > 1000000)
        VFAIL("num_classes: must be 1..1000000");
    if (sn->n_res == 0)
        VFAIL("input.resolutions: empty");
    for (uint32_t i = 0; i < sn->n_res; i++) {
        if (sn->res[i] == 0 || sn->res[i] > 4096)
            VFAIL("input.resolutions[%u]: must be 1..4096", i);
        if (i && sn->res[i] <= sn->res[i - 1])
            VFAIL("input.resolutions[%u]: not ascending", i);
    }
    bool def_ok = false;
    for (uint32_t i = 0; i < sn->n_res; i++)
        def_ok |= sn->res[i] == sn->default_resolution;
    if (!def_ok)
        VFAIL("input.default_resolution: %u is not in resolutions", sn->default_resolution);
    if (sn->n_ks_choices > SUSHI_MAX_CHOICES || sn->n_e_choices > SUSHI_MAX_CHOICES)
        VFAIL("elastic: too many choices");
    if (!is_ascending_u8(sn->ks_choices, sn->n_ks_choices))
        VFAIL("elastic.ks: not ascending");
    for (uint32_t i = 0; i < sn->n_ks_choices; i++)
        if (sn->ks_choices[i] == 0 || sn->ks_choices[i] % 2 == 0 || sn->ks_choices[i] > 15)
            VFAIL("elastic.ks[%u]: kernel must be odd and 1..15", i);
    for (uint32_t i = 0; i < sn->n_e_choices; i++) {
        float e = sn->e_choices[i];
        if (!(e > 0.0f && e <= 64.0f))
            VFAIL("elastic.e[%u]: must be in (0, 64]", i);
        if (i && !(e > sn->e_choices[i - 1]))
            VFAIL("elastic.e[%u]: not ascending", i);
    }
    if (sn->n_ks_slots > SUSHI_CONFIG_MAX_SLOTS || sn->n_e_slots > SUSHI_CONFIG_MAX_SLOTS)
        VFAIL("elastic: too many slots (max %d)", SUSHI_CONFIG_MAX_SLOTS);
    if (sn->n_dgroups > SUSHI_CONFIG_MAX_GROUPS || sn->n_wgroups > SUSHI_CONFIG_MAX_GROUPS)
        VFAIL("elastic: too many groups (max %d)", SUSHI_CONFIG_MAX_GROUPS);
    for (uint32_t g = 0; g < sn->n_dgroups; g++) {
        const sushi_dgroup *d = &sn->dgroups[g];
        if (d->n_choices == 0 || d->n_choices > SUSHI_MAX_CHOICES || !is_ascending_u8(d->choices, d->n_choices))
            VFAIL("elastic.depth_groups[%u].choices: 1..%d ascending values", g, SUSHI_MAX_CHOICES);
        if (d->mode > SUSHI_DEPTH_ALL_IF_MAX)
            VFAIL("elastic.depth_groups[%u].mode: unknown", g);
        if (d->mode == SUSHI_DEPTH_PREFIX && d->base + d->choices[d->n_choices - 1] > d->n_members)
            VFAIL("elastic.depth_groups[%u]: base + max depth exceeds its %u units", g, d->n_members);
        if (d->mode == SUSHI_DEPTH_PREFIX && d->base + d->choices[0] == 0)
            VFAIL("elastic.depth_groups[%u]: a stage may not become empty", g);
    }
    for (uint32_t g = 0; g < sn->n_wgroups; g++) {
        const sushi_wgroup *w = &sn->wgroups[g];
        if (w->n_choices == 0 || w->n_choices > SUSHI_MAX_CHOICES)
            VFAIL("elastic.width_groups[%u]: 1..%d choices", g, SUSHI_MAX_CHOICES);
        for (uint32_t i = 0; i < w->n_choices; i++)
            if (w->channels[i] == 0 || (i && w->channels[i] < w->channels[i - 1]))
                VFAIL("elastic.width_groups[%u].channels[%u]: positive, non-decreasing", g, i);
    }
    if (sn->n_units == 0)
        VFAIL("units: empty");
    bool ks_seen[SUSHI_CONFIG_MAX_SLOTS] = { 0 }, e_seen[SUSHI_CONFIG_MAX_SLOTS] = { 0 };
    uint32_t members[SUSHI_CONFIG_MAX_GROUPS] = { 0 };
    uint32_t c = sn->in_channels; /* max channels flowing */
    bool flat = false;
    for (uint32_t i = 0; i < sn->n_units; i++) {
        const sushi_unit *u = &sn->units[i];
        if (u->kind >= SUSHI_UNIT_KIND_COUNT)
            VFAIL("units[%u].kind: unknown", i);
        if (u->name[0] == '\0')
            VFAIL("units[%u].name: empty", i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(sn->units[j].name, u->name) == 0 && u->kind != SUSHI_UNIT_MAXPOOL &&
                u->kind != SUSHI_UNIT_GAP)
                VFAIL("units[%u].name: duplicate \"%s\"", i, u->name);
        if (u->act > SUSHI_ACT_HSIGMOID)
            VFAIL("units[%u].act: unknown", i);
        if (u->dgroup >= 0) {
            if ((uint32_t)u->dgroup >= sn->n_dgroups)
                VFAIL("units[%u].dgroup: %d out of range", i, u->dgroup);
            if (u->dindex != members[u->dgroup])
                VFAIL("units[%u].dindex: expected %u", i, members[u->dgroup]);
            members[u->dgroup]++;
        } else if (u->dgroup != -1) {
            VFAIL("units[%u].dgroup: invalid", i);
        }
        if (u->out_wgroup >= 0) {
            if ((uint32_t)u->out_wgroup >= sn->n_wgroups)
                VFAIL("units[%u].out_wgroup: out of range", i);
            const sushi_wgroup *w = &sn->wgroups[u->out_wgroup];
            if (w->channels[w->n_choices - 1] != u->out_max)
                VFAIL("units[%u].out_max: must equal the width group's largest choice", i);
        } else if (u->out_wgroup != -1) {
            VFAIL("units[%u].out_wgroup: invalid", i);
        }
        bool conv_like = u->kind == SUSHI_UNIT_CONV || u->kind == SUSHI_UNIT_MBCONV ||
                         u->kind == SUSHI_UNIT_BOTTLENECK;
        if (conv_like || u->kind == SUSHI_UNIT_LINEAR) {
            if (u->in_max == 0 || u->out_max == 0 || u->in_max > 65536 || u->out_max > 65536)
                VFAIL("units[%u]: channels must be 1..65536", i);
            if (u->in_max != c)
                VFAIL("units[%u].in_max: %u, but the previous unit produces up to %u channels", i,
                      u->in_max, c);
        }
        if (conv_like && flat && u->kernel > 1)
            VFAIL("units[%u]: spatial conv after global pooling", i);
        if (conv_like || u->kind == SUSHI_UNIT_MAXPOOL) {
            if (u->stride == 0 || u->stride > 8)
                VFAIL("units[%u].stride: must be 1..8", i);
        }
        switch (u->kind) {
        case SUSHI_UNIT_CONV:
            if (u->kernel == 0 || u->kernel > 15 || u->kernel % 2 == 0)
                VFAIL("units[%u].kernel: must be odd and 1..15", i);
            if (u->residual && (u->stride != 1 || u->in_max != u->out_max))
                VFAIL("units[%u].residual: needs stride 1 and in == out", i);
            c = u->out_max;
            break;
        case SUSHI_UNIT_MBCONV:
            if (u->ks_slot >= 0) {
                if ((uint32_t)u->ks_slot >= sn->n_ks_slots || ks_seen[u->ks_slot])
                    VFAIL("units[%u].ks_slot: out of range or reused", i);
                ks_seen[u->ks_slot] = true;
                if (u->n_dw != sn->n_ks_choices)
                    VFAIL("units[%u]: depthwise kernels must be the elastic ks choices", i);
                for (uint32_t j = 0; j < u->n_dw; j++)
                    if (u->dw_kernel[j] != sn->ks_choices[j])
                        VFAIL("units[%u]: depthwise kernels must be the elastic ks choices", i);
            } else {
                if (u->n_dw != 1 || u->dw_kernel[0] != u->kernel || u->kernel % 2 == 0 || u->kernel > 15)
                    VFAIL("units[%u]: fixed-kernel block needs exactly its kernel", i);
            }
            if (u->ks_slot >= 0 && sn->n_ks_choices == 0)
                VFAIL("units[%u].ks_slot: the SuperNet has no kernel choices", i);
            if (u->e_slot >= 0) {
                if (sn->n_e_choices == 0)
                    VFAIL("units[%u].e_slot: the SuperNet has no expand choices", i);
                if ((uint32_t)u->e_slot >= sn->n_e_slots || e_seen[u->e_slot])
                    VFAIL("units[%u].e_slot: out of range or reused", i);
                e_seen[u->e_slot] = true;
                double emax = sn->e_choices[sn->n_e_choices - 1];
                uint32_t need = sushi_unit_round_mid(u, round((double)u->in_max * emax));
                if (u->mid_max != need) {
                    sushi_unit_mid_rule_text(u, rule, sizeof rule);
                    VFAIL("units[%u].mid_max: %u, but the hidden-width rule (%s) gives %u for in_max %u x "
                          "largest e %g", i, u->mid_max, rule, need, u->in_max, emax);
                }
            } else {
                if (!(u->e_fixed > 0.0f && u->e_fixed <= 64.0f))
                    VFAIL("units[%u].e_fixed: must be in (0, 64]", i);
                uint32_t need = u->e_fixed == 1.0f ? u->in_max
                                                   : sushi_unit_round_mid(u, round((double)u->in_max * u->e_fixed));
                if (u->mid_max != need) {
                    sushi_unit_mid_rule_text(u, rule, sizeof rule);
                    VFAIL("units[%u].mid_max: %u, but the hidden-width rule (%s) gives %u for in_max %u x "
                          "e_fixed %g", i, u->mid_max, rule, need, u->in_max, (double)u->e_fixed);
                }
            }
            if (u->se && u->se_mid_max != sushi_unit_round_mid(u, u->mid_max / 4)) {
                sushi_unit_mid_rule_text(u, rule, sizeof rule);
                VFAIL("units[%u].se_mid_max: %u, but the hidden-width rule (%s) gives %u for mid_max %u / 4", i,
                      u->se_mid_max, rule, sushi_unit_round_mid(u, u->mid_max / 4), u->mid_max);
            }
            if (u->residual && (u->stride != 1 || u->in_max != u->out_max))
                VFAIL("units[%u].residual: needs stride 1 and in == out", i);
            c = u->out_max;
            break;
        case SUSHI_UNIT_BOTTLENECK: {
            if (u->kernel == 0 || u->kernel % 2 == 0 || u->kernel > 15)
                VFAIL("units[%u].kernel: must be odd and 1..15", i);
            if (u->e_slot < 0 || (uint32_t)u->e_slot >= sn->n_e_slots || e_seen[u->e_slot])
                VFAIL("units[%u].e_slot: out of range or reused", i);
            if (sn->n_e_choices == 0)
                VFAIL("units[%u].e_slot: the SuperNet has no expand choices", i);
            e_seen[u->e_slot] = true;
            double emax = sn->e_choices[sn->n_e_choices - 1];
            uint32_t need = sushi_unit_round_mid(u, round((double)u->out_max * emax));
            if (u->mid_max != need) {
                sushi_unit_mid_rule_text(u, rule, sizeof rule);
                VFAIL("units[%u].mid_max: %u, but the hidden-width rule (%s) gives %u for out_max %u x "
                      "largest e %g", i, u->mid_max, rule, need, u->out_max, emax);
            }
            if (u->residual && (u->stride != 1 || u->in_max != u->out_max))
                VFAIL("units[%u].residual: identity shortcut needs stride 1 and in == out", i);
            c = u->out_max;
            break;
        }
        case SUSHI_UNIT_MAXPOOL:
            if (u->kernel == 0 || u->kernel > 15 || u->pad >= u->kernel)
                VFAIL("units[%u]: pool kernel 1..15 and pad < kernel", i);
            break;
        case SUSHI_UNIT_GAP:
            flat = true;
            break;
        case SUSHI_UNIT_LINEAR:
            if (!flat)
                VFAIL("units[%u]: linear before global pooling", i);
            c = u->out_max;
            break;
        }
        if (u->dgroup >= 0 && !(u->kind == SUSHI_UNIT_CONV || u->kind == SUSHI_UNIT_MBCONV ||
                                u->kind == SUSHI_UNIT_BOTTLENECK))
            VFAIL("units[%u]: only conv-like units can be elastic in depth", i);
        if (u->dgroup >= 0) {
            const sushi_dgroup *d = &sn->dgroups[u->dgroup];
            bool always = d->mode == SUSHI_DEPTH_PREFIX && u->dindex < d->base + d->choices[0];
            /* a unit that may be skipped must preserve the shape */
            if (!always && (u->stride != 1 || u->in_max != u->out_max))
                VFAIL("units[%u]: a skippable unit must keep its input shape", i);
        }
    }
    if (c != sn->num_classes)
        VFAIL("units: the network ends with %u outputs, num_classes is %u", c, sn->num_classes);
    for (uint32_t s = 0; s < sn->n_ks_slots; s++)
        if (!ks_seen[s])
            VFAIL("elastic.ks slots: slot %u unused", s);
    for (uint32_t s = 0; s < sn->n_e_slots; s++)
        if (!e_seen[s])
            VFAIL("elastic.e slots: slot %u unused", s);
    for (uint32_t g = 0; g < sn->n_dgroups; g++)
        if (members[g] != sn->dgroups[g].n_members)
            VFAIL("elastic.depth_groups[%u]: declares %u units, %u found", g, sn->dgroups[g].n_members, members[g]);
    return SUSHI_OK;
}

/* ---------- synthetic weights ---------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* uniform in [lo, hi) from the top 24 bits */
static float uni(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(splitmix64(s) >> 40) * (1.0f / 16777216.0f);
}

int sushi_supernet_generate_weights(sushi_supernet *sn)
{
    bool all = true;
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        all = all && !sn->tensors[i].data;
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        sushi_tensor *t = &sn->tensors[i];
        if (t->data)
            continue;
        float *d = sushi_calloc(sn->ctx, t->nelem, sizeof *d);
        if (!d)
            return SUSHI_ERR_NOMEM;
        uint64_t s = sn->seed ^ fnv1a(t->name);
        float lo = -0.1f, hi = 0.1f;
        switch (t->role) {
        case SUSHI_ROLE_WEIGHT: {
            /* He-uniform over the fan-in of the largest slice */
            double fan_in = (double)t->nelem / t->shape[0];
            float a = (float)sqrt(6.0 / fan_in);
            lo = -a;
            hi = a;
            break;
        }
        case SUSHI_ROLE_BN_GAMMA: lo = 0.5f; hi = 1.0f; break;
        case SUSHI_ROLE_BN_VAR: lo = 0.5f; hi = 1.5f; break;
        default: break;
        }
        for (uint64_t j = 0; j < t->nelem; j++)
            d[j] = uni(&s, lo, hi);
        t->owned = d;
        t->data = d;
    }
    sn->seed_weights = all;
    return SUSHI_OK;
}

/* ---------- public introspection ---------- */

int sushi_supernet_builtin(sushi_context *ctx, const char *name, uint64_t seed, sushi_supernet **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!ctx || !name)
        return SUSHI_ERR_INVALID;
    int rc = sushi_zoo_build(ctx, name, seed, out);
    if (rc == SUSHI_OK)
        sushi_context_mark_in_use(ctx);
    return rc;
}

int sushi_supernet_get_info(const sushi_supernet *sn, sushi_supernet_info *info)
{
    if (!sn || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->name = sn->name;
    info->family = sn->family;
    info->synthetic = sn->synthetic;
    info->provenance = sn->provenance;
    info->in_channels = sn->in_channels;
    info->num_classes = sn->num_classes;
    info->default_resolution = sn->default_resolution;
    info->n_resolutions = sn->n_res;
    info->n_units = sn->n_units;
    info->n_tensors = sn->n_wt;
    info->n_candidates = sn->n_cand;
    info->n_ks = sn->n_ks_slots;
    info->n_e = sn->n_e_slots;
    info->n_d = sn->n_dgroups;
    info->n_w = sn->n_wgroups;
    info->weight_elems = sn->weight_elems;
    return SUSHI_OK;
}

uint32_t sushi_supernet_resolution(const sushi_supernet *sn, size_t i)
{
    return (sn && i < sn->n_res) ? sn->res[i] : 0;
}

int sushi_supernet_choices(const sushi_supernet *sn, int kind, size_t slot, double *out, size_t cap)
{
    if (!sn || (!out && cap))
        return SUSHI_ERR_INVALID;
    double v[SUSHI_MAX_CHOICES];
    uint32_t n = 0;
    switch (kind) {
    case SUSHI_ELASTIC_KS:
        if (slot >= sn->n_ks_slots)
            return SUSHI_ERR_RANGE;
        for (n = 0; n < sn->n_ks_choices; n++)
            v[n] = sn->ks_choices[n];
        break;
    case SUSHI_ELASTIC_E:
        if (slot >= sn->n_e_slots)
            return SUSHI_ERR_RANGE;
        for (n = 0; n < sn->n_e_choices; n++)
            v[n] = sn->e_choices[n];
        break;
    case SUSHI_ELASTIC_D:
        if (slot >= sn->n_dgroups)
            return SUSHI_ERR_RANGE;
        for (n = 0; n < sn->dgroups[slot].n_choices; n++)
            v[n] = sn->dgroups[slot].choices[n];
        break;
    case SUSHI_ELASTIC_W:
        if (slot >= sn->n_wgroups)
            return SUSHI_ERR_RANGE;
        for (n = 0; n < sn->wgroups[slot].n_choices; n++)
            v[n] = n;
        break;
    default:
        return SUSHI_ERR_INVALID;
    }
    for (uint32_t i = 0; i < n && i < cap; i++)
        out[i] = v[i];
    return (int)n;
}

int sushi_supernet_unit(const sushi_supernet *sn, size_t i, sushi_unit_info *info)
{
    if (!sn || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    if (i >= sn->n_units)
        return SUSHI_ERR_RANGE;
    const sushi_unit *u = &sn->units[i];
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->name = u->name;
    info->kind = sushi_unit_kind_names[u->kind];
    info->in_max = u->in_max;
    info->out_max = u->out_max;
    info->stride = u->stride;
    return SUSHI_OK;
}

const char *sushi_supernet_tensor_name(const sushi_supernet *sn, size_t t)
{
    return (sn && t < sn->n_wt) ? sn->tensors[sn->wt[t]].name : NULL;
}

int sushi_supernet_candidate(const sushi_supernet *sn, size_t i, sushi_candidate_info *info)
{
    if (!sn || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    if (i >= sn->n_cand)
        return SUSHI_ERR_RANGE;
    const sushi_candidate *c = &sn->cands[i];
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->config = c->config;
    info->accuracy = c->accuracy;
    info->accuracy_source = c->accuracy_source;
    info->dataset = c->dataset ? c->dataset : "";
    info->metric = c->metric ? c->metric : "";
    info->macs = c->macs;
    info->params = c->params;
    info->weight_bytes = c->weight_bytes;
    return SUSHI_OK;
}

int sushi_supernet_candidate_int8_ranges(const sushi_supernet *sn, size_t i, const float **ranges, size_t *n)
{
    if (ranges)
        *ranges = NULL;
    if (n)
        *n = 0;
    if (!sn || !ranges || !n)
        return SUSHI_ERR_INVALID;
    if (i >= sn->n_cand)
        return SUSHI_ERR_RANGE;
    const sushi_candidate *c = &sn->cands[i];
    if (c->int8_ranges && c->n_int8_ranges) {
        *ranges = c->int8_ranges;
        *n = (size_t)c->n_int8_ranges;
    }
    return SUSHI_OK;
}

int sushi_supernet_find_candidate(const sushi_supernet *sn, const sushi_config *cfg)
{
    if (!sn || !cfg)
        return -1;
    for (uint32_t i = 0; i < sn->n_cand; i++)
        if (sushi_config_equal(&sn->cands[i].config, cfg))
            return (int)i;
    return -1;
}
