/* Independent cost model of the Once-for-All spaces, written from OFA's
 * rules (ofa/imagenet_classification/elastic_nn/networks/ofa_mbv3.py,
 * ofa_resnets.py and ofa/utils/flops_counter.py) for the tests. It shares no
 * code with lib/: only the public sushi_config layout.
 *
 * Counting rules (OFA's count_parameters / count_net_flops):
 *   conv MACs = out_h * out_w * cout * cin / groups * k * k; linear = in * out;
 *   pooling, BN, activations, adds: 0 MACs;
 *   params = conv/linear weights + biases + BN gamma and beta;
 *   weight bytes = conv/linear weights (one byte each).
 * Spatial size of a k x k conv with pad k/2 and stride s: ceil(in / s);
 * ResNet max-pool (3, 2, pad 1) and the ResNet-D avg-pool (k = s, ceil mode):
 * ceil(in / s) too. */
#include "helpers.h"

#include <math.h>

uint32_t ofa_make_divisible(double v)
{
    /* def make_divisible(v, divisor=8, min_val=8):
     *     new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
     *     if new_v < 0.9 * v: new_v += divisor */
    long long t = (long long)(v + 4.0);
    long long nv = t / 8 * 8;
    if (nv < 8)
        nv = 8;
    if ((double)nv < 0.9 * v)
        nv += 8;
    return (uint32_t)nv;
}

/* Python's round(): half to even (nearbyint in the default rounding mode) */
static double py_round(double v) { return nearbyint(v); }

static uint32_t cdiv(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

/* the decimal value OFA's Python uses for an expand ratio stored as float */
static double ofa_e(float e)
{
    static const double known[] = { 0.2, 0.25, 0.35, 3, 4, 6 };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (fabs((double)e - known[i]) < 1e-6)
            return known[i];
    return (double)e;
}

static void conv(ofa_cost *c, uint32_t cin, uint32_t cout, uint32_t k, uint32_t groups, uint32_t out_hw,
                 bool bn, bool bias)
{
    uint64_t w = (uint64_t)cout * (cin / groups) * k * k;
    c->weight_bytes += w;
    c->params += w + (bn ? 2ull * cout : 0) + (bias ? cout : 0);
    c->macs += (uint64_t)out_hw * out_hw * w;
}

/* ---------------- OFA MobileNetV3 ---------------- */
static const double mbv3_base[9] = { 16, 16, 24, 40, 80, 112, 160, 960, 1280 };
/* stride_stages = [1, 2, 2, 2, 1, 2]; se_stages = [F, F, T, F, T, T] (stage 0 = first block) */
static const uint32_t mbv3_stride[5] = { 2, 2, 2, 1, 2 };
static const bool mbv3_se[5] = { false, true, false, true, true };

ofa_cost ofa_mbv3_cost(double wm, const sushi_config *cfg)
{
    ofa_cost c = { 0, 0, 0 };
    uint32_t width[7];
    for (int i = 0; i < 7; i++)
        width[i] = ofa_make_divisible(mbv3_base[i] * wm);
    uint32_t final_expand = ofa_make_divisible(mbv3_base[7] * wm);
    uint32_t last = ofa_make_divisible(mbv3_base[8] * wm);

    uint32_t hw = cdiv(cfg->resolution, 2);
    conv(&c, 3, width[0], 3, 1, hw, true, false); /* first_conv, BN, h_swish */
    /* first block: MBConv expand 1 (no inverted bottleneck), k3, s1 */
    conv(&c, width[0], width[0], 3, width[0], hw, true, false);
    conv(&c, width[0], width[1], 1, 1, hw, true, false);
    uint32_t in = width[1];
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < cfg->d[s]; i++) {
            int b = s * 4 + i; /* config slot = block index - 1 */
            uint32_t stride = i == 0 ? mbv3_stride[s] : 1;
            uint32_t out = width[2 + s];
            uint32_t mid = ofa_make_divisible(py_round(in * ofa_e(cfg->e[b])));
            uint32_t k = cfg->ks[b];
            conv(&c, in, mid, 1, 1, hw, true, false); /* inverted_bottleneck */
            hw = cdiv(hw, stride);
            conv(&c, mid, mid, k, mid, hw, true, false); /* depth_conv */
            if (mbv3_se[s]) {
                uint32_t se_mid = ofa_make_divisible((double)(mid / 4));
                conv(&c, mid, se_mid, 1, 1, 1, false, true); /* se.fc.reduce on 1x1 */
                conv(&c, se_mid, mid, 1, 1, 1, false, true); /* se.fc.expand */
            }
            conv(&c, mid, out, 1, 1, hw, true, false); /* point_linear */
            in = out;
        }
    }
    conv(&c, in, final_expand, 1, 1, hw, true, false);  /* final_expand_layer */
    conv(&c, final_expand, last, 1, 1, 1, false, false); /* feature_mix_layer after GAP: no BN, no bias */
    conv(&c, last, 1000, 1, 1, 1, false, true);          /* classifier (linear + bias) */
    return c;
}

uint64_t ofa_mbv3_weight_elems(double wm)
{
    uint32_t width[7];
    for (int i = 0; i < 7; i++)
        width[i] = ofa_make_divisible(mbv3_base[i] * wm);
    uint32_t final_expand = ofa_make_divisible(mbv3_base[7] * wm);
    uint32_t last = ofa_make_divisible(mbv3_base[8] * wm);
    uint64_t n = 3ull * width[0] * 9;                          /* first_conv */
    n += (uint64_t)width[0] * 9 + (uint64_t)width[0] * width[1]; /* first block */
    uint32_t in = width[1];
    for (int s = 0; s < 5; s++) {
        for (int i = 0; i < 4; i++) {
            uint32_t out = width[2 + s];
            uint32_t mid = ofa_make_divisible(py_round(in * 6.0));
            n += (uint64_t)in * mid;                 /* expand */
            n += (uint64_t)mid * (49 + 25 + 9);      /* k7 + materialised k5, k3 */
            if (mbv3_se[s])
                n += 2ull * mid * ofa_make_divisible((double)(mid / 4));
            n += (uint64_t)mid * out;
            in = out;
        }
    }
    n += (uint64_t)in * final_expand + (uint64_t)final_expand * last + (uint64_t)last * 1000;
    return n;
}

/* ---------------- OFA ResNet50 (ResNet-D) ---------------- */
static const double rn_wm[3] = { 0.65, 0.8, 1.0 };
static const uint32_t rn_stage[4] = { 256, 512, 1024, 2048 };
static const uint32_t rn_base_depth[4] = { 2, 2, 4, 2 };
static const uint32_t rn_stride[4] = { 1, 2, 2, 2 };

ofa_cost ofa_resnet50_cost(const sushi_config *cfg)
{
    ofa_cost c = { 0, 0, 0 };
    /* input_channel = make_divisible(64 * w); mid_input_channel = make_divisible(input_channel // 2) */
    uint32_t in_ch = ofa_make_divisible(64 * rn_wm[cfg->w[1]]);
    uint32_t mid_in = ofa_make_divisible((double)(ofa_make_divisible(64 * rn_wm[cfg->w[0]]) / 2));
    uint32_t hw = cdiv(cfg->resolution, 2);
    conv(&c, 3, mid_in, 3, 1, hw, true, false); /* input_stem.0 */
    if (cfg->d[0] == 2)                         /* input_stem_skipping = d[0] != max(depth_list) */
        conv(&c, mid_in, mid_in, 3, 1, hw, true, false); /* input_stem.1 (residual) */
    conv(&c, mid_in, in_ch, 3, 1, hw, true, false);     /* input_stem.2 */
    hw = cdiv(hw, 2);                                   /* max_pooling 3, 2, pad 1 */
    uint32_t in = in_ch;
    int blk = 0;
    for (int s = 0; s < 4; s++) {
        uint32_t out = ofa_make_divisible(rn_stage[s] * rn_wm[cfg->w[2 + s]]);
        uint32_t n = rn_base_depth[s] + 2;
        uint32_t active = rn_base_depth[s] + cfg->d[1 + s]; /* runtime_depth = max - d */
        for (uint32_t i = 0; i < n; i++, blk++) {
            if (i >= active)
                continue;
            uint32_t stride = i == 0 ? rn_stride[s] : 1;
            uint32_t mid = ofa_make_divisible(py_round(out * ofa_e(cfg->e[blk])));
            uint32_t hw2 = cdiv(hw, stride);
            conv(&c, in, mid, 1, 1, hw, true, false);   /* conv1 */
            conv(&c, mid, mid, 3, 1, hw2, true, false); /* conv2 (stride) */
            conv(&c, mid, out, 1, 1, hw2, true, false); /* conv3 */
            if (i == 0)                                 /* avgpool_conv downsample */
                conv(&c, in, out, 1, 1, hw2, true, false);
            hw = hw2;
            in = out;
        }
    }
    conv(&c, in, 1000, 1, 1, 1, false, true); /* classifier */
    return c;
}

uint64_t ofa_resnet50_weight_elems(void)
{
    uint64_t n = 3ull * 32 * 9 + 32ull * 32 * 9 + 32ull * 64 * 9;
    uint32_t in = 64;
    for (int s = 0; s < 4; s++) {
        uint32_t out = rn_stage[s];
        uint32_t mid = ofa_make_divisible(py_round(out * 0.35));
        for (uint32_t i = 0; i < rn_base_depth[s] + 2; i++) {
            n += (uint64_t)in * mid + (uint64_t)mid * mid * 9 + (uint64_t)mid * out;
            if (i == 0)
                n += (uint64_t)in * out;
            in = out;
        }
    }
    return n + 2048ull * 1000;
}
