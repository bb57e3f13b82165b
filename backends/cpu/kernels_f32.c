/* float32 kernels of the cpu backend. Weights are read in place as prefix
 * slices of the SuperNet tensors (leading dimension = the stored row length),
 * BN is a per-channel scale/shift applied after the convolution. Kernels never
 * allocate: the caller passes scratch of cpu_f32_scratch_bytes(). */
#include <float.h>
#include <math.h>
#include <string.h>

#include <cblas.h>

#include "cpu_internal.h"



static inline float act_f(float x, int act)
{
    switch (act) {
    case SUSHI_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case SUSHI_ACT_HSWISH: {
        float r = x + 3.0f;
        r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
        return x * r / 6.0f;
    }
    case SUSHI_ACT_HSIGMOID: {
        float r = x + 3.0f;
        r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
        return r / 6.0f;
    }
    default: return x;
    }
}

/* y = act(y * sc + sh) over n elements; loops specialised so they vectorise */
CPU_HOT
static void affine_act(float *restrict y, size_t n, float sc, float sh, int act)
{
    switch (act) {
    case SUSHI_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = y[i] * sc + sh;
            y[i] = v > 0.0f ? v : 0.0f;
        }
        break;
    case SUSHI_ACT_HSWISH:
        for (size_t i = 0; i < n; i++) {
            float v = y[i] * sc + sh;
            float r = v + 3.0f;
            r = r < 0.0f ? 0.0f : r;
            r = r > 6.0f ? 6.0f : r;
            y[i] = v * r / 6.0f;
        }
        break;
    case SUSHI_ACT_HSIGMOID:
        for (size_t i = 0; i < n; i++) {
            float r = y[i] * sc + sh + 3.0f;
            r = r < 0.0f ? 0.0f : r;
            r = r > 6.0f ? 6.0f : r;
            y[i] = r / 6.0f;
        }
        break;
    default:
        if (sc != 1.0f || sh != 0.0f)
            for (size_t i = 0; i < n; i++)
                y[i] = y[i] * sc + sh;
        break;
    }
}

void cpu_f32_bn_act(float *y, uint32_t c, size_t hw, const float *scale, const float *shift, int act)
{
    for (uint32_t i = 0; i < c; i++)
        affine_act(y + (size_t)i * hw, hw, scale ? scale[i] : 1.0f, shift ? shift[i] : 0.0f, act);
}

static const float *tdata(const sushi_subnet *s, int32_t t) { return t >= 0 ? s->sn->tensors[t].data : NULL; }

/* stored row length of a weight tensor (elements per output channel) */
static size_t trow(const sushi_subnet *s, int32_t t)
{
    const sushi_tensor *x = &s->sn->tensors[t];
    return (size_t)(x->nelem / x->shape[0]);
}

/* Epilogue of a conv-like layer: BN (scale/shift) or bias, then activation. */
static void epilogue(const sushi_subnet *s, const sushi_layer *l, float *y, size_t hw, bool raw)
{
    const float *bias = tdata(s, l->b);
    if (raw) {
        if (bias)
            for (uint32_t c = 0; c < l->out_c; c++)
                affine_act(y + c * hw, hw, 1.0f, bias[c], SUSHI_ACT_NONE);
        return;
    }
    for (uint32_t c = 0; c < l->out_c; c++) {
        float sc = 1.0f, sh = bias ? bias[c] : 0.0f;
        if (l->bn >= 0) {
            /* conv bias (if any) goes through BN: (y + b) * sc + sh */
            sh = sh * l->bn_scale[c] + l->bn_shift[c];
            sc = l->bn_scale[c];
        }
        affine_act(y + c * hw, hw, sc, sh, (int)l->act);
    }
}

void cpu_f32_gemm(uint32_t m, size_t n, uint32_t k, const float *w, size_t ldw, const float *x, float *y)
{
    /* One output pixel (a 1x1 conv after global pooling, e.g. MobileNetV3's
     * feature mix): a matrix-vector product. sgemm would first pack the whole
     * weight slice (OpenBLAS does not special-case n = 1), which made these
     * layers 4x slower than sgemv. */
    if (n == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, 1.0f, w, (int)ldw, x, 1, 0.0f, y, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, w, (int)ldw, x, (int)n,
                    0.0f, y, (int)n);
}

/* im2col: col[(ci*k + ky)*k + kx][oy*ow + ox] */
CPU_HOT
static void im2col(const float *restrict in, uint32_t c, uint32_t h, uint32_t w, uint32_t k, uint32_t st,
                   uint32_t pad, uint32_t oh, uint32_t ow, float *restrict col)
{
    for (uint32_t ci = 0; ci < c; ci++) {
        const float *x = in + (size_t)ci * h * w;
        for (uint32_t ky = 0; ky < k; ky++) {
            for (uint32_t kx = 0; kx < k; kx++) {
                float *row = col + (((size_t)ci * k + ky) * k + kx) * oh * ow;
                /* valid ox range: 0 <= ox*st + kx - pad < w */
                int64_t lo = (int64_t)pad - kx;
                uint32_t ox0 = lo <= 0 ? 0 : (uint32_t)((lo + st - 1) / st);
                int64_t hi = (int64_t)w - 1 + pad - kx;
                uint32_t ox1 = hi < 0 ? 0 : (uint32_t)(hi / st) + 1; /* exclusive */
                if (ox1 > ow)
                    ox1 = ow;
                if (ox0 > ox1)
                    ox0 = ox1;
                for (uint32_t oy = 0; oy < oh; oy++) {
                    float *r = row + (size_t)oy * ow;
                    int64_t iy = (int64_t)oy * st + ky - pad;
                    if (iy < 0 || iy >= h) {
                        memset(r, 0, ow * sizeof *r);
                        continue;
                    }
                    const float *xr = x + (size_t)iy * w;
                    for (uint32_t ox = 0; ox < ox0; ox++)
                        r[ox] = 0.0f;
                    if (st == 1) {
                        memcpy(r + ox0, xr + ox0 + kx - pad, (ox1 - ox0) * sizeof *r);
                    } else {
                        for (uint32_t ox = ox0; ox < ox1; ox++)
                            r[ox] = xr[ox * st + kx - pad];
                    }
                    for (uint32_t ox = ox1; ox < ow; ox++)
                        r[ox] = 0.0f;
                }
            }
        }
    }
}

static void conv_f32(const sushi_subnet *s, const sushi_layer *l, const float *in, float *out, float *scratch,
                     bool raw)
{
    const float *w = tdata(s, l->w);
    size_t ldw = trow(s, l->w);
    size_t ohw = (size_t)l->out_h * l->out_w;
    uint32_t K = l->in_c * l->kernel * l->kernel;
    if (cpu_wino_selected(l)) {
        cpu_wino_conv3x3(l->in_c, l->out_c, l->in_h, l->in_w, w, ldw, in, out, scratch);
        epilogue(s, l, out, ohw, raw);
        return;
    }
    const float *b = in;
    if (!(l->kernel == 1 && l->stride == 1 && l->pad == 0)) {
        im2col(in, l->in_c, l->in_h, l->in_w, l->kernel, l->stride, l->pad, l->out_h, l->out_w, scratch);
        b = scratch;
    }
    cpu_f32_gemm(l->out_c, ohw, K, w, ldw, b, out);
    epilogue(s, l, out, ohw, raw);
}

/* One output row of a depthwise conv, taps of one kernel row:
 * yr[ox] += sum_kx w[kx] * src[kx][ox] for ox in [0, n). */
/* always_inline: these run inside the target_clones callers, in their ISA */
static inline __attribute__((always_inline)) void dw_row_k(float *restrict yr, const float *const *src, const float *w,
                                                           uint32_t k, uint32_t n)
{
    for (uint32_t ox = 0; ox < n; ox++) {
        float acc = yr[ox];
        for (uint32_t kx = 0; kx < k; kx++)
            acc += w[kx] * src[kx][ox];
        yr[ox] = acc;
    }
}

/* Scale/shift/activation the epilogue applies to channel c. */
static void chan_affine(const sushi_subnet *s, const sushi_layer *l, uint32_t c, bool raw, float *sc, float *sh,
                        int *act)
{
    const float *bias = tdata(s, l->b);
    *sc = 1.0f;
    *sh = bias ? bias[c] : 0.0f;
    *act = SUSHI_ACT_NONE;
    if (raw)
        return;
    if (l->bn >= 0) {
        *sh = *sh * l->bn_scale[c] + l->bn_shift[c];
        *sc = l->bn_scale[c];
    }
    *act = (int)l->act;
}

static inline __attribute__((always_inline)) void dw_taps(float *restrict yr, const float *const *src, const float *wr,
                                                          uint32_t k, uint32_t n)
{
    switch (k) {
    case 1: dw_row_k(yr, src, wr, 1, n); break;
    case 3: dw_row_k(yr, src, wr, 3, n); break;
    case 5: dw_row_k(yr, src, wr, 5, n); break;
    case 7: dw_row_k(yr, src, wr, 7, n); break;
    default: dw_row_k(yr, src, wr, k, n); break;
    }
}

/* Geometry of the depthwise scratch: padded plane P (+ slack), even/odd
 * planes E, O (stride 2, + slack), flat output Y (small planes). */
typedef struct dw_geom {
    size_t ph, pw, pw2, R, slack, p_sz, eo_sz, y_sz;
    bool flat;
} dw_geom;

static dw_geom dw_geometry(const sushi_layer *l)
{
    dw_geom g;
    g.ph = l->in_h + 2 * (size_t)l->pad;
    g.pw = l->in_w + 2 * (size_t)l->pad;
    g.pw2 = (g.pw + 1) / 2;
    g.flat = l->out_w < 32 && l->stride <= 2;
    g.R = l->stride == 2 ? 2 * g.pw2 : g.pw;
    g.slack = 2 * g.pw + 2 * (size_t)l->kernel + 16;
    g.p_sz = g.ph * g.pw + g.slack;
    g.eo_sz = l->stride == 2 ? g.ph * g.pw2 + g.slack : 0;
    g.y_sz = g.flat ? (size_t)l->out_h * g.R : 0;
    return g;
}

/* Depthwise conv, direct. Each channel plane is first copied into scratch with
 * its zero padding (and, for stride 2, split into even / odd columns) so that
 * every tap reads a contiguous run and the inner loops need no bounds checks.
 * Wide outputs are computed row by row; narrow ones (< 32 columns) as one
 * flat run over rows of the padded width (the extra columns are computed and
 * dropped), which keeps the loops long enough to vectorise. */
CPU_HOT
static void dwconv_f32(const sushi_subnet *s, const sushi_layer *l, const float *in, float *out, float *scratch,
                       bool raw)
{
    const float *wt = tdata(s, l->w);
    const uint32_t k = l->kernel, st = l->stride, pad = l->pad;
    const uint32_t h = l->in_h, w = l->in_w, oh = l->out_h, ow = l->out_w;
    const dw_geom g = dw_geometry(l);
    const size_t ph = g.ph, pw = g.pw, pw2 = g.pw2;
    float *P = scratch;
    float *E = P + g.p_sz, *O = E + g.eo_sz, *Y = O + g.eo_sz;
    memset(P + ph * pw, 0, g.slack * sizeof *P);
    if (st == 2) {
        memset(E + ph * pw2, 0, g.slack * sizeof *E);
        memset(O + ph * pw2, 0, g.slack * sizeof *O);
    }
    for (uint32_t c = 0; c < l->out_c; c++) {
        const float *wc = wt + (size_t)c * k * k;
        const float *x = in + (size_t)c * h * w;
        float *y = out + (size_t)c * oh * ow;
        memset(P, 0, (size_t)pad * pw * sizeof *P);
        for (uint32_t iy = 0; iy < h; iy++) {
            float *r = P + (size_t)(iy + pad) * pw;
            for (uint32_t j = 0; j < pad; j++)
                r[j] = r[pad + w + j] = 0.0f;
            memcpy(r + pad, x + (size_t)iy * w, w * sizeof *r);
        }
        memset(P + (size_t)(h + pad) * pw, 0, (size_t)pad * pw * sizeof *P);
        if (st == 2) {
            for (size_t iy = 0; iy < ph; iy++) {
                const float *r = P + iy * pw;
                float *e = E + iy * pw2, *o = O + iy * pw2;
                for (size_t j = 0; j < pw / 2; j++) {
                    e[j] = r[2 * j];
                    o[j] = r[2 * j + 1];
                }
                if (pw % 2) {
                    e[pw / 2] = r[pw - 1];
                    o[pw / 2] = 0.0f;
                }
            }
        }
        const float *src[16];
        if (g.flat) {
            size_t n = (size_t)oh * g.R;
            for (size_t i = 0; i < n; i++)
                Y[i] = 0.0f;
            for (uint32_t ky = 0; ky < k; ky++) {
                for (uint32_t kx = 0; kx < k; kx++)
                    src[kx] = st == 1 ? P + (size_t)ky * pw + kx : ((kx & 1) ? O : E) + (size_t)ky * pw2 + kx / 2;
                dw_taps(Y, src, wc + ky * k, k, (uint32_t)n);
            }
            float sc, sh;
            int act;
            chan_affine(s, l, c, raw, &sc, &sh, &act);
            for (uint32_t oy = 0; oy < oh; oy++)
                memcpy(y + (size_t)oy * ow, Y + (size_t)oy * g.R, ow * sizeof *y);
            affine_act(y, (size_t)oh * ow, sc, sh, act);
            continue;
        }
        for (uint32_t oy = 0; oy < oh; oy++) {
            float *restrict yr = y + (size_t)oy * ow;
            for (uint32_t ox = 0; ox < ow; ox++)
                yr[ox] = 0.0f;
            for (uint32_t ky = 0; ky < k; ky++) {
                const size_t iy = (size_t)oy * st + ky;
                const float *wr = wc + ky * k;
                if (st > 2) {
                    const float *r = P + iy * pw;
                    for (uint32_t kx = 0; kx < k; kx++)
                        for (uint32_t ox = 0; ox < ow; ox++)
                            yr[ox] += wr[kx] * r[(size_t)ox * st + kx];
                    continue;
                }
                for (uint32_t kx = 0; kx < k; kx++)
                    src[kx] = st == 1 ? P + iy * pw + kx : ((kx & 1) ? O : E) + iy * pw2 + kx / 2;
                dw_taps(yr, src, wr, k, ow);
            }
        }
        float sc, sh;
        int act;
        chan_affine(s, l, c, raw, &sc, &sh, &act);
        affine_act(y, (size_t)oh * ow, sc, sh, act);
    }
}

static void maxpool_f32(const sushi_layer *l, const float *in, float *out)
{
    const uint32_t k = l->kernel, st = l->stride, pad = l->pad;
    for (uint32_t c = 0; c < l->in_c; c++) {
        const float *x = in + (size_t)c * l->in_h * l->in_w;
        float *y = out + (size_t)c * l->out_h * l->out_w;
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++) {
                float m = -INFINITY;
                for (uint32_t ky = 0; ky < k; ky++) {
                    int64_t iy = (int64_t)oy * st + ky - pad;
                    if (iy < 0 || iy >= l->in_h)
                        continue;
                    for (uint32_t kx = 0; kx < k; kx++) {
                        int64_t ix = (int64_t)ox * st + kx - pad;
                        if (ix < 0 || ix >= l->in_w)
                            continue;
                        float v = x[iy * l->in_w + ix];
                        m = v > m ? v : m;
                    }
                }
                y[(size_t)oy * l->out_w + ox] = m;
            }
    }
}

/* average pool, ceil mode, no padding, divides by the number of valid inputs */
static void avgpool_f32(const sushi_layer *l, const float *in, float *out)
{
    const uint32_t k = l->kernel, st = l->stride;
    for (uint32_t c = 0; c < l->in_c; c++) {
        const float *x = in + (size_t)c * l->in_h * l->in_w;
        float *y = out + (size_t)c * l->out_h * l->out_w;
        for (uint32_t oy = 0; oy < l->out_h; oy++)
            for (uint32_t ox = 0; ox < l->out_w; ox++) {
                float sum = 0.0f;
                uint32_t n = 0;
                for (uint32_t ky = 0; ky < k; ky++) {
                    uint32_t iy = oy * st + ky;
                    if (iy >= l->in_h)
                        break;
                    for (uint32_t kx = 0; kx < k; kx++) {
                        uint32_t ix = ox * st + kx;
                        if (ix >= l->in_w)
                            break;
                        sum += x[(size_t)iy * l->in_w + ix];
                        n++;
                    }
                }
                y[(size_t)oy * l->out_w + ox] = sum / (float)n;
            }
    }
}

static void gap_f32(uint32_t c, size_t hw, const float *in, float *out)
{
    for (uint32_t i = 0; i < c; i++) {
        const float *x = in + i * hw;
        float sum = 0.0f;
        for (size_t j = 0; j < hw; j++)
            sum += x[j];
        out[i] = sum / (float)hw;
    }
}

size_t cpu_f32_se_hidden_offset(const sushi_layer *l) { return cpu_align_up((size_t)l->in_c * sizeof(float)) / sizeof(float); }

static void se_f32(const sushi_subnet *s, const sushi_layer *l, const float *in, float *out, float *scratch)
{
    size_t hw = (size_t)l->in_h * l->in_w;
    uint32_t c = l->in_c, mid = l->se_mid;
    float *pooled = scratch;
    float *hid = scratch + cpu_f32_se_hidden_offset(l);
    float *gate = hid + cpu_align_up((size_t)mid * sizeof(float)) / sizeof(float);
    gap_f32(c, hw, in, pooled);
    const float *wr = tdata(s, l->w), *br = tdata(s, l->b), *we = tdata(s, l->w2), *be = tdata(s, l->b2);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)mid, (int)c, 1.0f, wr, (int)trow(s, l->w), pooled, 1, 0.0f, hid, 1);
    for (uint32_t j = 0; j < mid; j++) {
        float v = hid[j] + (br ? br[j] : 0.0f);
        hid[j] = v > 0.0f ? v : 0.0f;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)c, (int)mid, 1.0f, we, (int)trow(s, l->w2), hid, 1, 0.0f, gate, 1);
    for (uint32_t i = 0; i < c; i++)
        gate[i] = act_f(gate[i] + (be ? be[i] : 0.0f), SUSHI_ACT_HSIGMOID);
    for (uint32_t i = 0; i < c; i++) {
        const float g = gate[i];
        const float *restrict x = in + i * hw;
        float *restrict y = out + i * hw;
        for (size_t j = 0; j < hw; j++)
            y[j] = x[j] * g;
    }
}

static void linear_f32(const sushi_subnet *s, const sushi_layer *l, const float *in, float *out, bool raw)
{
    uint32_t n_in = l->in_c * l->in_h * l->in_w;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)l->out_c, (int)n_in, 1.0f, tdata(s, l->w), (int)trow(s, l->w), in,
                1, 0.0f, out, 1);
    epilogue(s, l, out, 1, raw);
}

static void add_f32(const sushi_layer *l, const float *a, const float *b, float *out, bool raw)
{
    size_t n = (size_t)l->out_c * l->out_h * l->out_w;
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
    if (!raw && l->act != SUSHI_ACT_NONE)
        affine_act(out, n, 1.0f, 0.0f, (int)l->act);
}

void cpu_f32_layer(const sushi_subnet *s, uint32_t li, float *const *vp, float *scratch, bool raw)
{
    const sushi_layer *l = &s->layers[li];
    const float *in = vp[l->input];
    float *out = vp[l->output];
    switch (l->op) {
    case SUSHI_OP_CONV: conv_f32(s, l, in, out, scratch, raw); break;
    case SUSHI_OP_DWCONV: dwconv_f32(s, l, in, out, scratch, raw); break;
    case SUSHI_OP_LINEAR: linear_f32(s, l, in, out, raw); break;
    case SUSHI_OP_MAXPOOL: maxpool_f32(l, in, out); break;
    case SUSHI_OP_AVGPOOL: avgpool_f32(l, in, out); break;
    case SUSHI_OP_GAP: gap_f32(l->in_c, (size_t)l->in_h * l->in_w, in, out); break;
    case SUSHI_OP_ADD: add_f32(l, in, vp[l->input2], out, raw); break;
    case SUSHI_OP_SE: se_f32(s, l, in, out, scratch); break;
    default: break;
    }
}

void cpu_f32_forward(const sushi_subnet *s, float *const *vp, float *scratch)
{
    for (uint32_t i = 0; i < s->n_layers; i++)
        cpu_f32_layer(s, i, vp, scratch, false);
}

size_t cpu_f32_scratch_bytes(const sushi_subnet *s)
{
    size_t mx = CPU_ALIGN;
    for (uint32_t i = 0; i < s->n_layers; i++) {
        const sushi_layer *l = &s->layers[i];
        size_t b = 0;
        if (l->op == SUSHI_OP_CONV && cpu_wino_selected(l))
            b = cpu_wino_scratch_bytes(l->in_c, l->out_c, l->in_h, l->in_w);
        else if (l->op == SUSHI_OP_CONV && !(l->kernel == 1 && l->stride == 1 && l->pad == 0))
            b = (size_t)l->in_c * l->kernel * l->kernel * l->out_h * l->out_w * sizeof(float);
        else if (l->op == SUSHI_OP_DWCONV) {
            dw_geom g = dw_geometry(l);
            b = (g.p_sz + 2 * g.eo_sz + g.y_sz) * sizeof(float);
        }
        else if (l->op == SUSHI_OP_SE)
            b = 2 * cpu_align_up((size_t)l->in_c * sizeof(float)) + cpu_align_up((size_t)l->se_mid * sizeof(float));
        b = cpu_align_up(b);
        if (b > mx)
            mx = b;
    }
    return mx;
}
