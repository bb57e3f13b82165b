/* Built-in SuperNets: the Once-for-All spaces with deterministic synthetic
 * weights (their real checkpoints are not reachable here; labelled synthetic).
 *
 *   ofa-mbv3-w1.0, ofa-mbv3-w1.2 : OFAMobileNetV3(ks {3,5,7}, e {3,4,6}, d {2,3,4})
 *   ofa-resnet50                 : OFAResNets(d {0,1,2}, e {0.2,0.25,0.35}, w {0.65,0.8,1.0})
 *
 * Structure follows OFA's ofa/imagenet_classification/elastic_nn/networks
 * (read, not copied): stage widths rounded by make_divisible(., 8), strides,
 * activations, SE placement, ResNet-D avgpool_conv downsampling and the input
 * stem skipping rule. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define ZOO_DEFAULT_SEED 0x5054534855534849ull /* "PTSHUSHI" */

static const char *const zoo_names[] = { "ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-resnet50", NULL };

const char *sushi_supernet_builtin_name(size_t i)
{
    return i < sizeof zoo_names / sizeof zoo_names[0] - 1 ? zoo_names[i] : NULL;
}

typedef struct ub {
    sushi_supernet *sn;
    uint32_t cap;
} ub;

static sushi_unit *new_unit(ub *b, uint32_t kind, const char *name)
{
    sushi_supernet *sn = b->sn;
    if (sn->n_units == b->cap) {
        uint32_t ncap = b->cap ? b->cap * 2 : 32;
        sushi_unit *u = sushi_realloc(sn->ctx, sn->units, (size_t)ncap * sizeof *u);
        if (!u)
            return NULL;
        sn->units = u;
        b->cap = ncap;
    }
    sushi_unit *u = &sn->units[sn->n_units++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->out_wgroup = -1;
    u->ks_slot = -1;
    u->e_slot = -1;
    u->e_fixed = 1.0f;
    u->dgroup = -1;
    u->stride = 1;
    return u;
}

static int set_resolutions(sushi_supernet *sn, uint32_t lo, uint32_t hi, uint32_t step, uint32_t def)
{
    sn->n_res = (hi - lo) / step + 1;
    sn->res = sushi_calloc(sn->ctx, sn->n_res, sizeof *sn->res);
    if (!sn->res)
        return SUSHI_ERR_NOMEM;
    for (uint32_t i = 0; i < sn->n_res; i++)
        sn->res[i] = lo + i * step;
    sn->default_resolution = def;
    return SUSHI_OK;
}

static int set_strings(sushi_supernet *sn, const char *name, const char *family, const char *prov)
{
    sn->name = sushi_strdup(sn->ctx, name);
    sn->family = sushi_strdup(sn->ctx, family);
    sn->provenance = sushi_strdup(sn->ctx, prov);
    return (sn->name && sn->family && sn->provenance) ? SUSHI_OK : SUSHI_ERR_NOMEM;
}

static void imagenet_input(sushi_supernet *sn)
{
    sn->in_channels = 3;
    sn->num_classes = 1000;
    const float mean[3] = { 0.485f, 0.456f, 0.406f }, std[3] = { 0.229f, 0.224f, 0.225f };
    memcpy(sn->in_mean, mean, sizeof mean);
    memcpy(sn->in_std, std, sizeof std);
}

#define NEW(kind, name)                  \
    do {                                 \
        u = new_unit(&b, (kind), (name)); \
        if (!u)                          \
            return SUSHI_ERR_NOMEM;      \
    } while (0)

static int build_mbv3(sushi_supernet *sn, double wm)
{
    ub b = { sn, 0 };
    sushi_unit *u;
    static const double base[9] = { 16, 16, 24, 40, 80, 112, 160, 960, 1280 };
    static const uint32_t strides[5] = { 2, 2, 2, 1, 2 };
    static const uint32_t acts[5] = { SUSHI_ACT_RELU, SUSHI_ACT_RELU, SUSHI_ACT_HSWISH, SUSHI_ACT_HSWISH,
                                      SUSHI_ACT_HSWISH };
    static const bool ses[5] = { false, true, false, true, true };
    uint32_t width[7];
    for (int i = 0; i < 7; i++)
        width[i] = sushi_make_divisible(base[i] * wm, 8);
    uint32_t final_expand = sushi_make_divisible(base[7] * wm, 8);
    uint32_t last = sushi_make_divisible(base[8] * wm, 8);

    imagenet_input(sn);
    sn->n_ks_choices = 3;
    sn->ks_choices[0] = 3, sn->ks_choices[1] = 5, sn->ks_choices[2] = 7;
    sn->n_e_choices = 3;
    sn->e_choices[0] = 3, sn->e_choices[1] = 4, sn->e_choices[2] = 6;
    sn->n_ks_slots = sn->n_e_slots = 20;
    sn->n_dgroups = 5;
    for (int g = 0; g < 5; g++) {
        sn->dgroups[g] = (sushi_dgroup){ 3, { 2, 3, 4 }, 0, SUSHI_DEPTH_PREFIX, 4 };
    }

    NEW(SUSHI_UNIT_CONV, "first_conv");
    u->in_max = 3, u->out_max = width[0], u->kernel = 3, u->stride = 2, u->bn = true;
    u->act = SUSHI_ACT_HSWISH;

    NEW(SUSHI_UNIT_MBCONV, "blocks.0");
    u->in_max = width[0], u->out_max = width[1], u->kernel = 3, u->stride = 1, u->act = SUSHI_ACT_RELU;
    u->e_fixed = 1.0f, u->mid_max = width[0], u->n_dw = 1, u->dw_kernel[0] = 3;
    u->residual = width[0] == width[1];

    uint32_t in = width[1];
    int blk = 1;
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < 4; i++, blk++) {
            char name[32];
            snprintf(name, sizeof name, "blocks.%d", blk);
            NEW(SUSHI_UNIT_MBCONV, name);
            u->in_max = in, u->out_max = width[2 + s];
            u->stride = i == 0 ? strides[s] : 1;
            u->act = acts[s], u->se = ses[s];
            u->ks_slot = u->e_slot = blk - 1;
            u->n_dw = 3;
            u->dw_kernel[0] = 3, u->dw_kernel[1] = 5, u->dw_kernel[2] = 7;
            u->kernel = 7;
            u->mid_max = sushi_make_divisible(round(in * 6.0), 8);
            u->se_mid_max = u->se ? sushi_make_divisible(u->mid_max / 4, 8) : 0;
            u->residual = u->stride == 1 && in == u->out_max;
            u->dgroup = s, u->dindex = (uint32_t)i;
            in = u->out_max;
        }
    }
    NEW(SUSHI_UNIT_CONV, "final_expand_layer");
    u->in_max = in, u->out_max = final_expand, u->kernel = 1, u->bn = true, u->act = SUSHI_ACT_HSWISH;
    NEW(SUSHI_UNIT_GAP, "global_avg_pool");
    NEW(SUSHI_UNIT_CONV, "feature_mix_layer");
    u->in_max = final_expand, u->out_max = last, u->kernel = 1, u->act = SUSHI_ACT_HSWISH;
    NEW(SUSHI_UNIT_LINEAR, "classifier");
    u->in_max = last, u->out_max = 1000, u->bias = true;
    return set_resolutions(sn, 32, 224, 4, 224);
}

static int build_resnet50(sushi_supernet *sn)
{
    ub b = { sn, 0 };
    sushi_unit *u;
    static const double wm[3] = { 0.65, 0.8, 1.0 };
    static const uint32_t stage_width[4] = { 256, 512, 1024, 2048 };
    static const uint32_t base_depth[4] = { 2, 2, 4, 2 };
    static const uint32_t strides[4] = { 1, 2, 2, 2 };

    imagenet_input(sn);
    sn->n_ks_choices = 0;
    sn->n_e_choices = 3;
    sn->e_choices[0] = 0.2f, sn->e_choices[1] = 0.25f, sn->e_choices[2] = 0.35f;
    sn->n_ks_slots = 0;
    sn->n_e_slots = 18;
    sn->n_wgroups = 6;
    for (int i = 0; i < 3; i++) {
        uint32_t inch = sushi_make_divisible(64 * wm[i], 8);
        sn->wgroups[0].channels[i] = sushi_make_divisible(inch / 2, 8);
        sn->wgroups[1].channels[i] = inch;
        for (int s = 0; s < 4; s++)
            sn->wgroups[2 + s].channels[i] = sushi_make_divisible(stage_width[s] * wm[i], 8);
    }
    for (int g = 0; g < 6; g++)
        sn->wgroups[g].n_choices = 3;
    sn->n_dgroups = 5;
    sn->dgroups[0] = (sushi_dgroup){ 3, { 0, 1, 2 }, 0, SUSHI_DEPTH_ALL_IF_MAX, 1 };
    for (int s = 0; s < 4; s++)
        sn->dgroups[1 + s] = (sushi_dgroup){ 3, { 0, 1, 2 }, base_depth[s], SUSHI_DEPTH_PREFIX, base_depth[s] + 2 };

    uint32_t mid_in = sn->wgroups[0].channels[2], stem = sn->wgroups[1].channels[2];
    NEW(SUSHI_UNIT_CONV, "input_stem.0");
    u->in_max = 3, u->out_max = mid_in, u->out_wgroup = 0, u->kernel = 3, u->stride = 2, u->bn = true;
    u->act = SUSHI_ACT_RELU;
    NEW(SUSHI_UNIT_CONV, "input_stem.1.conv");
    u->in_max = mid_in, u->out_max = mid_in, u->out_wgroup = 0, u->kernel = 3, u->bn = true;
    u->act = SUSHI_ACT_RELU, u->residual = true, u->dgroup = 0, u->dindex = 0;
    NEW(SUSHI_UNIT_CONV, "input_stem.2");
    u->in_max = mid_in, u->out_max = stem, u->out_wgroup = 1, u->kernel = 3, u->bn = true;
    u->act = SUSHI_ACT_RELU;
    NEW(SUSHI_UNIT_MAXPOOL, "max_pooling");
    u->kernel = 3, u->stride = 2, u->pad = 1;

    uint32_t in = stem;
    int blk = 0;
    for (int s = 0; s < 4; s++) {
        uint32_t out = sn->wgroups[2 + s].channels[2];
        for (uint32_t i = 0; i < base_depth[s] + 2; i++, blk++) {
            char name[32];
            snprintf(name, sizeof name, "blocks.%d", blk);
            NEW(SUSHI_UNIT_BOTTLENECK, name);
            u->in_max = in, u->out_max = out, u->out_wgroup = 2 + s;
            u->kernel = 3, u->stride = i == 0 ? strides[s] : 1, u->act = SUSHI_ACT_RELU;
            u->e_slot = blk;
            u->mid_max = sushi_make_divisible(round(out * 0.35), 8);
            u->residual = i != 0; /* first block of a stage: avgpool_conv downsample */
            u->dgroup = 1 + s, u->dindex = i;
            in = out;
        }
    }
    NEW(SUSHI_UNIT_GAP, "global_avg_pool");
    NEW(SUSHI_UNIT_LINEAR, "classifier");
    u->in_max = in, u->out_max = 1000, u->bias = true;
    return set_resolutions(sn, 32, 224, 4, 224);
}

/* Deterministic random config from a PRNG state. */
static uint64_t zoo_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void random_config(const sushi_supernet *sn, uint64_t *s, uint32_t res, sushi_config *c)
{
    sushi_config_extreme(sn, true, res, c);
    for (uint32_t i = 0; i < c->n_ks; i++)
        c->ks[i] = sn->ks_choices[zoo_rng(s) % sn->n_ks_choices];
    for (uint32_t i = 0; i < c->n_e; i++)
        c->e[i] = sn->e_choices[zoo_rng(s) % sn->n_e_choices];
    for (uint32_t i = 0; i < c->n_d; i++)
        c->d[i] = sn->dgroups[i].choices[zoo_rng(s) % sn->dgroups[i].n_choices];
    for (uint32_t i = 0; i < c->n_w; i++)
        c->w[i] = (uint8_t)(zoo_rng(s) % sn->wgroups[i].n_choices);
}

/* Candidate table of a built-in: min and max at each of OFA's training
 * resolutions plus deterministic random SubNets. Accuracies: see
 * sushi_zoo_proxy_accuracy (documented proxy, never measured). */
#define ZOO_CANDIDATES 96

static int fill_candidates(sushi_supernet *sn)
{
    static const uint32_t rs[4] = { 128, 160, 192, 224 };
    sn->cands = sushi_calloc(sn->ctx, ZOO_CANDIDATES, sizeof *sn->cands);
    if (!sn->cands)
        return SUSHI_ERR_NOMEM;
    uint64_t s = 0x0FA0FA0FAull;
    for (uint32_t i = 0; i < ZOO_CANDIDATES; i++) {
        sushi_candidate *c = &sn->cands[i];
        uint32_t r = rs[i % 4];
        if (i < 4)
            sushi_config_extreme(sn, false, r, &c->config);
        else if (i < 8)
            sushi_config_extreme(sn, true, r, &c->config);
        else
            random_config(sn, &s, r, &c->config);
        /* skip duplicates by drawing again */
        bool dup = true;
        for (int tries = 0; dup && tries < 16; tries++) {
            dup = false;
            for (uint32_t j = 0; j < i; j++)
                if (sushi_config_equal(&sn->cands[j].config, &c->config))
                    dup = true;
            if (dup)
                random_config(sn, &s, r, &c->config);
        }
        sushi_subnet *sub = NULL;
        int rc = sushi_subnet_create(sn, &c->config, &sub);
        if (rc)
            return rc;
        sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
        sushi_subnet_get_stats(sub, &st);
        sushi_subnet_destroy(sub);
        c->macs = st.macs;
        c->params = st.params;
        c->weight_bytes = st.weight_bytes;
        c->accuracy = sushi_zoo_proxy_accuracy(sn->family, st.macs);
        snprintf(c->accuracy_source, sizeof c->accuracy_source, "%s", isnan(c->accuracy) ? "none" : "proxy");
        c->dataset = sushi_strdup(sn->ctx, "imagenet/val (proxy)");
        c->metric = sushi_strdup(sn->ctx, "top1");
        sn->n_cand = i + 1; /* from here on free_storage owns its strings */
        if (!c->dataset || !c->metric)
            return SUSHI_ERR_NOMEM;
    }
    return SUSHI_OK;
}

int sushi_zoo_build(sushi_context *ctx, const char *name, uint64_t seed, sushi_supernet **out)
{
    int which = -1;
    for (int i = 0; zoo_names[i]; i++)
        if (strcmp(zoo_names[i], name) == 0)
            which = i;
    if (which < 0)
        return SUSHI_ERR_NOT_FOUND;
    sushi_supernet *sn;
    int rc = sushi_supernet_alloc(ctx, &sn);
    if (rc)
        return rc;
    sn->synthetic = true;
    sn->seed = seed ? seed : ZOO_DEFAULT_SEED;
    if (which == 2) {
        rc = set_strings(sn, name, "resnet",
                         "SYNTHETIC weights (deterministic, seeded): OFA-ResNet50 architecture; "
                         "accuracies are a proxy fitted to OFA's published (MACs, top-1) points");
        if (!rc)
            rc = build_resnet50(sn);
    } else {
        rc = set_strings(sn, name, "mbv3",
                         "SYNTHETIC weights (deterministic, seeded): OFA-MobileNetV3 architecture; "
                         "accuracies are a proxy fitted to OFA's published (MACs, top-1) points");
        if (!rc)
            rc = build_mbv3(sn, which == 0 ? 1.0 : 1.2);
    }
    char err[256] = "";
    if (!rc)
        rc = sushi_supernet_build_tensors(sn, err, sizeof err);
    if (!rc)
        rc = sushi_supernet_validate_arch(sn, err, sizeof err);
    if (!rc)
        rc = sushi_supernet_generate_weights(sn);
    if (!rc)
        rc = fill_candidates(sn);
    if (rc) {
        if (err[0])
            sushi_log(ctx, SUSHI_LOG_ERROR, "zoo %s: %s", name, err);
        sushi_supernet_destroy(sn);
        return rc;
    }
    *out = sn;
    return SUSHI_OK;
}

/* Accuracy proxy of the built-in families: top-1 = a + b * ln(MACs in M),
 * least-squares fitted to OFA's published specialised SubNets (names of the
 * OFA model zoo, e.g. ResNet50D MAC@4.1B top1@79.8; MobileNetV3 flops@595M
 * top1@80.0). The points and the fit are in docs/accuracy-proxy.md. This is a
 * PROXY, labelled so in every candidate table: it is not a measurement. */
double sushi_zoo_proxy_accuracy(const char *family, uint64_t macs)
{
    if (!family || macs == 0)
        return NAN;
    double a, b, lo, hi;
    if (strcmp(family, "resnet") == 0) {
        a = 59.24, b = 2.504, lo = 60.0, hi = 80.2;
    } else if (strcmp(family, "mbv3") == 0) {
        a = 58.89, b = 3.34, lo = 60.0, hi = 80.5;
    } else {
        return NAN;
    }
    double top1 = a + b * log((double)macs / 1e6);
    if (top1 < lo)
        top1 = lo;
    if (top1 > hi)
        top1 = hi;
    return top1 / 100.0;
}
