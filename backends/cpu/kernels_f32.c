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

/* Epilogue of a conv-like layer on output channels [c0, c1), n values each
 * at row stride ld: BN (scale/shift) or bias, then activation. raw: only the
 * bias. */
static void epilogue_block(const sushi_subnet *s, const sushi_layer *l, float *y, size_t ld, uint32_t c0,
                           uint32_t c1, size_t n, bool raw)
{
    const float *bias = tdata(s, l->b);
    for (uint32_t c = c0; c < c1; c++) {
        float sc = 1.0f, sh = bias ? bias[c] : 0.0f;
        int act = raw ? SUSHI_ACT_NONE : (int)l->act;
        if (!raw && l->bn >= 0) {
            /* conv bias (if any) goes through BN: (y + b) * sc + sh */
            sh = sh * l->bn_scale[c] + l->bn_shift[c];
            sc = l->bn_scale[c];
        }
        if (raw && !bias)
            continue;
        affine_act(y + (size_t)c * ld, n, sc, sh, act);
    }
}

/* A residual add fused into the convolution before it (cpu_f32_forward_x):
 * out = act(conv + other), done by the epilogue on each block of the conv's
 * output while it is in cache, instead of a pass of its own over memory.
 * Same operations, same order as the add layer (add_f32): same bits. The
 * conv's own output is still written (any later reader finds it). */
typedef struct residual {
    const sushi_layer *add; /* its act */
    const float *other;     /* the add's other input */
    float *out;             /* the add's output */
    bool on_input;          /* out is where the conv's input is (the memory
                             * plan reuses it): only where no block reads the
                             * input after an earlier block's epilogue */
} residual;

/* out = act(a + b) over n values: the one sum of the add layer (add_f32)
 * and of the residual fused into a conv (residual_block), so both give the
 * same bits */
static void add_act(float *out, const float *a, const float *b, size_t n, int act)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
    if (act != SUSHI_ACT_NONE)
        affine_act(out, n, 1.0f, 0.0f, act);
}

/* the residual on the block y (channels [c0, c1), n values each at stride
 * ld) of the conv output whose base is y0 */
static void residual_block(const residual *r, const float *y0, const float *y, size_t ld, uint32_t c0, uint32_t c1,
                           size_t n)
{
    size_t off = (size_t)(y - y0);
    for (uint32_t c = c0; c < c1; c++) {
        size_t i0 = (size_t)c * ld + off;
        add_act(r->out + i0, y0 + i0, r->other + i0, n, (int)r->add->act);
    }
}

typedef struct epi_job {
    const sushi_subnet *s;
    const sushi_layer *l;
    float *y;
    size_t hw;
    bool raw;
    const residual *res;
} epi_job;

static void wino_epi(void *a, uint32_t k0, uint32_t k1)
{
    const epi_job *j = a;
    epilogue_block(j->s, j->l, j->y, j->hw, k0, k1, j->hw, j->raw);
    if (j->res)
        residual_block(j->res, j->y, j->y, j->hw, k0, k1, j->hw);
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
        cpu_sgemm(m, n, k, w, ldw, x, n, y, n);
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

/* pool of an exec (NULL: serial) */
static cpu_pool *xpool(const cpu_exec *ex) { return ex ? ex->pool : NULL; }

static unsigned xparts(const cpu_exec *ex, size_t total, size_t work)
{
    return cpu_parts(xpool(ex), total, work, CPU_PAR_MIN_WORK);
}

/* A convolution's GEMM + epilogue, split over output pixels (columns, in
 * blocks of CONV_COL_BLK) or over output channels (rows, in blocks of
 * CONV_ROW_BLK): each part is one single-threaded sgemm on its block of the
 * output, then the epilogue on that block. */
#define CONV_COL_BLK 16
#define CONV_ROW_BLK 16
typedef struct conv_job {
    const sushi_subnet *s;
    const sushi_layer *l;
    const float *w, *b;
    size_t ldw, n;
    uint32_t K;
    float *y;
    bool raw, by_cols;
    /* im2col */
    const float *in;
    float *col;
    const residual *res;
} conv_job;

/* Output block of one sgemm call: small enough that the epilogue, which runs
 * on it right after, finds it in the core's L2 (instead of a second pass over
 * megabytes of output from memory, which is what kept the 1x1 convolutions
 * of 56 x 56 planes from scaling past 1.5x on two cores). */
#define CONV_EPI_BLOCK_BYTES ((size_t)256 << 10)

/* units (columns or rows, a multiple of blk, at least 4 blk) per sgemm call
 * when one unit of output is `unit_bytes` */
static size_t epi_step(size_t unit_bytes, size_t blk)
{
    size_t step = CONV_EPI_BLOCK_BYTES / unit_bytes / blk * blk;
    return step < 4 * blk ? 4 * blk : step;
}

static void conv_gemm_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const conv_job *j = a;
    const uint32_t m = j->l->out_c;
    (void)id;
    if (j->by_cols) {
        size_t c_end = hi * CONV_COL_BLK < j->n ? hi * CONV_COL_BLK : j->n;
        const size_t step = epi_step((size_t)m * sizeof(float), CONV_COL_BLK);
        for (size_t c0 = lo * CONV_COL_BLK; c0 < c_end; c0 += step) {
            size_t c1 = c_end - c0 < step ? c_end : c0 + step;
            cpu_sgemm(m, c1 - c0, j->K, j->w, j->ldw, j->b + c0, j->n, j->y + c0, j->n);
            epilogue_block(j->s, j->l, j->y + c0, j->n, 0, m, c1 - c0, j->raw);
            if (j->res)
                residual_block(j->res, j->y, j->y + c0, j->n, 0, m, c1 - c0);
        }
    } else {
        uint32_t r_end = (uint32_t)(hi * CONV_ROW_BLK < m ? hi * CONV_ROW_BLK : m);
        const size_t step = epi_step(j->n * sizeof(float), CONV_ROW_BLK);
        for (uint32_t r0 = (uint32_t)(lo * CONV_ROW_BLK); r0 < r_end; r0 += (uint32_t)step) {
            uint32_t r1 = r_end - r0 < step ? r_end : r0 + (uint32_t)step;
            cpu_f32_gemm(r1 - r0, j->n, j->K, j->w + (size_t)r0 * j->ldw, j->ldw, j->b, j->y + (size_t)r0 * j->n);
            epilogue_block(j->s, j->l, j->y, j->n, r0, r1, j->n, j->raw);
            if (j->res)
                residual_block(j->res, j->y, j->y, j->n, r0, r1, j->n);
        }
    }
}

static void im2col_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const conv_job *j = a;
    const sushi_layer *l = j->l;
    (void)id;
    im2col(j->in + lo * l->in_h * l->in_w, (uint32_t)(hi - lo), l->in_h, l->in_w, l->kernel, l->stride, l->pad,
           l->out_h, l->out_w, j->col + lo * l->kernel * l->kernel * j->n);
}

/* Returns whether it also did res (NULL: none asked). */
static bool conv_f32(const cpu_exec *ex, const sushi_subnet *s, const sushi_layer *l, const float *in, float *out,
                     float *scratch, bool raw, const residual *res)
{
    const float *w = tdata(s, l->w);
    size_t ldw = trow(s, l->w);
    size_t ohw = (size_t)l->out_h * l->out_w;
    uint32_t K = l->in_c * l->kernel * l->kernel;
    if (cpu_wino_selected(l)) {
        /* the epilogue runs on each block of output channels as soon as the
         * Winograd code has written it (still in the thread's cache) */
        epi_job e = { s, l, out, ohw, raw, res };
        cpu_wino_conv3x3_x(ex, l->in_c, l->out_c, l->in_h, l->in_w, w, ldw, in, out, scratch, wino_epi, &e);
        return res != NULL; /* the input is all transformed before any epilogue */
    }
    conv_job j = { .s = s, .l = l, .w = w, .b = in, .ldw = ldw, .n = ohw, .K = K, .y = out, .raw = raw, .in = in,
                   .col = scratch, .res = res };
    if (!(l->kernel == 1 && l->stride == 1 && l->pad == 0)) {
        cpu_pool_for(xpool(ex), l->in_c, xparts(ex, l->in_c, (size_t)K * ohw), im2col_part, &j);
        j.b = scratch;
    }
    /* Split over pixels (every part reads all the weights) or over output
     * channels (every part reads all the input): whichever the parts read
     * less of twice, as long as there are blocks enough for every thread. */
    size_t work = (size_t)l->out_c * ohw * K;
    size_t col_blocks = (ohw + CONV_COL_BLK - 1) / CONV_COL_BLK;
    size_t row_blocks = ((size_t)l->out_c + CONV_ROW_BLK - 1) / CONV_ROW_BLK;
    unsigned nt = cpu_pool_threads(xpool(ex));
    bool cols_ok = ohw > 1 && col_blocks >= 4 * (size_t)nt;
    bool rows_ok = row_blocks >= 2 * (size_t)nt;
    j.by_cols = cols_ok && (!rows_ok || ohw >= l->out_c);
    /* Reading the input in place (1x1, stride 1), each block of columns
     * reads only its own columns of it, and the residual may overwrite them
     * after; each block of rows reads all of it, and may not. (im2col has
     * read it all before.) */
    if (res && res->on_input && j.b == in && !j.by_cols)
        j.res = res = NULL;
    size_t blocks = j.by_cols ? col_blocks : row_blocks;
    cpu_pool_for(xpool(ex), blocks, xparts(ex, blocks, work), conv_gemm_part, &j);
    return res != NULL;
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
static void dwconv_f32_range(const sushi_subnet *s, const sushi_layer *l, const float *in, float *out, float *scratch,
                             bool raw, uint32_t c0, uint32_t c1)
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
    for (uint32_t c = c0; c < c1; c++) {
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

/* floats of one thread's depthwise buffers */
static size_t dw_floats(const sushi_layer *l)
{
    dw_geom g = dw_geometry(l);
    size_t portable = g.p_sz + 2 * g.eo_sz + g.y_sz, own = cpu_dw_own_floats(l);
    return cpu_align_up((portable > own ? portable : own) * sizeof(float)) / sizeof(float);
}

typedef struct dw_job {
    const sushi_subnet *s;
    const sushi_layer *l;
    const float *in;
    float *out, *scratch;
    bool raw;
    size_t bands; /* channel-group kernel: row bands per group */
} dw_job;

static void dw_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const dw_job *j = a;
    dwconv_f32_range(j->s, j->l, j->in, j->out, j->scratch + id * dw_floats(j->l), j->raw, (uint32_t)lo,
                     (uint32_t)hi);
}

/* units [lo, hi) on the channel-group kernel (AVX-512 or AVX2): unit u is
 * band u % bands of the output rows of the group u / bands of V channels */
static void dw_own_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const dw_job *j = a;
    const sushi_layer *l = j->l;
    const float *wt = tdata(j->s, l->w);
    const size_t kk = (size_t)l->kernel * l->kernel, hw = (size_t)l->in_h * l->in_w;
    const size_t ohw = (size_t)l->out_h * l->out_w;
    float *scratch = j->scratch + id * dw_floats(l);
    cpu_dw_own_prepare(l, scratch);
    const uint32_t V = cpu_dw_own_lanes();
    for (size_t u = lo; u < hi; u++) {
        size_t g = u / j->bands, b = u % j->bands;
        uint32_t c0 = (uint32_t)(V * g), cn = l->out_c - c0 < V ? l->out_c - c0 : V;
        uint32_t oy0 = (uint32_t)(b * l->out_h / j->bands), oy1 = (uint32_t)((b + 1) * l->out_h / j->bands);
        float sc[16], sh[16];
        int act = SUSHI_ACT_NONE;
        for (uint32_t c = 0; c < cn; c++)
            chan_affine(j->s, l, c0 + c, j->raw, &sc[c], &sh[c], &act);
        cpu_dw_own_group(l, cn, oy0, oy1, j->in + c0 * hw, wt + c0 * kk, j->out + c0 * ohw, sc, sh, act, scratch);
    }
}

/* The channel-group kernel where it runs (units of a group and a band of
 * rows split over the threads), else the portable one (channels split over
 * the threads, each with its own padded planes). */
static void dwconv_f32(const cpu_exec *ex, const sushi_subnet *s, const sushi_layer *l, const float *in, float *out,
                       float *scratch, bool raw)
{
    dw_job j = { s, l, in, out, scratch, raw, 1 };
    size_t work = (size_t)l->out_c * l->out_h * l->out_w * l->kernel * l->kernel;
    if (cpu_dw_own() && cpu_dw_fits(l)) {
        size_t V = cpu_dw_own_lanes(), groups = ((size_t)l->out_c + V - 1) / V;
        unsigned parts = xparts(ex, groups * l->out_h, work);
        j.bands = cpu_dw_own_bands(l, parts);
        cpu_pool_for(xpool(ex), groups * j.bands, parts, dw_own_part, &j);
        return;
    }
    cpu_pool_for(xpool(ex), l->out_c, xparts(ex, l->out_c, work), dw_part, &j);
}

/* The kernels below work on a range of channels [c0, c1) so that a layer
 * splits over the threads by channels. */
static void maxpool_f32(const sushi_layer *l, const float *in, float *out, uint32_t c0, uint32_t c1)
{
    const uint32_t k = l->kernel, st = l->stride, pad = l->pad;
    for (uint32_t c = c0; c < c1; c++) {
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
static void avgpool_f32(const sushi_layer *l, const float *in, float *out, uint32_t c0, uint32_t c1)
{
    const uint32_t k = l->kernel, st = l->stride;
    for (uint32_t c = c0; c < c1; c++) {
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

static void gap_f32(uint32_t c0, uint32_t c1, size_t hw, const float *in, float *out)
{
    for (uint32_t i = c0; i < c1; i++) {
        const float *x = in + i * hw;
        float sum = 0.0f;
        for (size_t j = 0; j < hw; j++)
            sum += x[j];
        out[i] = sum / (float)hw;
    }
}

/* y[c] = x[c] * gate[c] over channels [c0, c1) */
static void se_scale(const float *in, const float *gate, float *out, size_t hw, uint32_t c0, uint32_t c1)
{
    for (uint32_t i = c0; i < c1; i++) {
        const float g = gate[i];
        const float *restrict x = in + i * hw;
        float *restrict y = out + i * hw;
        for (size_t j = 0; j < hw; j++)
            y[j] = x[j] * g;
    }
}

static void add_f32(const sushi_layer *l, const float *a, const float *b, float *out, bool raw, uint32_t c0,
                    uint32_t c1)
{
    size_t hw = (size_t)l->out_h * l->out_w, lo = c0 * hw, n = (c1 - c0) * hw;
    add_act(out + lo, a + lo, b + lo, n, raw ? SUSHI_ACT_NONE : (int)l->act);
}

/* A channel-split layer: which kernel, its operands. */
typedef struct chan_job {
    const sushi_layer *l;
    const float *in, *in2, *gate;
    float *out;
    bool raw;
    int what; /* a sushi_op, or CHAN_SE_SCALE / CHAN_SE_GAP */
} chan_job;

enum { CHAN_SE_SCALE = -1, CHAN_SE_GAP = -2 };

static void chan_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const chan_job *j = a;
    const sushi_layer *l = j->l;
    uint32_t c0 = (uint32_t)lo, c1 = (uint32_t)hi;
    size_t ihw = (size_t)l->in_h * l->in_w;
    (void)id;
    switch (j->what) {
    case SUSHI_OP_MAXPOOL: maxpool_f32(l, j->in, j->out, c0, c1); break;
    case SUSHI_OP_AVGPOOL: avgpool_f32(l, j->in, j->out, c0, c1); break;
    case SUSHI_OP_GAP:
    case CHAN_SE_GAP: gap_f32(c0, c1, ihw, j->in, j->out); break;
    case SUSHI_OP_ADD: add_f32(l, j->in, j->in2, j->out, j->raw, c0, c1); break;
    case CHAN_SE_SCALE: se_scale(j->in, j->gate, j->out, ihw, c0, c1); break;
    default: break;
    }
}

static void chan_run(const cpu_exec *ex, const chan_job *j, uint32_t channels, size_t work)
{
    cpu_pool_for(xpool(ex), channels, xparts(ex, channels, work), chan_part, (void *)j);
}

size_t cpu_f32_se_hidden_offset(const sushi_layer *l) { return cpu_align_up((size_t)l->in_c * sizeof(float)) / sizeof(float); }

static void se_f32(const cpu_exec *ex, const sushi_subnet *s, const sushi_layer *l, const float *in, float *out,
                   float *scratch)
{
    size_t hw = (size_t)l->in_h * l->in_w;
    uint32_t c = l->in_c, mid = l->se_mid;
    float *pooled = scratch;
    float *hid = scratch + cpu_f32_se_hidden_offset(l);
    float *gate = hid + cpu_align_up((size_t)mid * sizeof(float)) / sizeof(float);
    chan_job j = { .l = l, .in = in, .out = pooled, .what = CHAN_SE_GAP };
    chan_run(ex, &j, c, (size_t)c * hw);
    const float *wr = tdata(s, l->w), *br = tdata(s, l->b), *we = tdata(s, l->w2), *be = tdata(s, l->b2);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)mid, (int)c, 1.0f, wr, (int)trow(s, l->w), pooled, 1, 0.0f, hid, 1);
    for (uint32_t i = 0; i < mid; i++) {
        float v = hid[i] + (br ? br[i] : 0.0f);
        hid[i] = v > 0.0f ? v : 0.0f;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)c, (int)mid, 1.0f, we, (int)trow(s, l->w2), hid, 1, 0.0f, gate, 1);
    for (uint32_t i = 0; i < c; i++)
        gate[i] = act_f(gate[i] + (be ? be[i] : 0.0f), SUSHI_ACT_HSIGMOID);
    j = (chan_job){ .l = l, .in = in, .gate = gate, .out = out, .what = CHAN_SE_SCALE };
    chan_run(ex, &j, c, (size_t)c * hw);
}

/* a fully connected layer: sgemv split by output rows */
typedef struct lin_job {
    const float *w, *x;
    size_t ldw;
    uint32_t n_in;
    float *y;
} lin_job;

static void lin_part(void *a, unsigned id, size_t lo, size_t hi)
{
    const lin_job *j = a;
    (void)id;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(hi - lo), (int)j->n_in, 1.0f, j->w + lo * j->ldw, (int)j->ldw,
                j->x, 1, 0.0f, j->y + lo, 1);
}

static void linear_f32(const cpu_exec *ex, const sushi_subnet *s, const sushi_layer *l, const float *in, float *out,
                       bool raw)
{
    uint32_t n_in = l->in_c * l->in_h * l->in_w;
    lin_job j = { tdata(s, l->w), in, trow(s, l->w), n_in, out };
    cpu_pool_for(xpool(ex), l->out_c, xparts(ex, l->out_c, (size_t)l->out_c * n_in), lin_part, &j);
    epilogue_block(s, l, out, 1, 0, l->out_c, 1, raw);
}

void cpu_f32_layer_x(const cpu_exec *ex, const sushi_subnet *s, uint32_t li, float *const *vp, float *scratch,
                     bool raw)
{
    const sushi_layer *l = &s->layers[li];
    const float *in = vp[l->input];
    float *out = vp[l->output];
    size_t ihw = (size_t)l->in_h * l->in_w;
    chan_job j = { .l = l, .in = in, .out = out, .raw = raw, .what = (int)l->op };
    switch (l->op) {
    case SUSHI_OP_CONV: (void)conv_f32(ex, s, l, in, out, scratch, raw, NULL); break;
    case SUSHI_OP_DWCONV: dwconv_f32(ex, s, l, in, out, scratch, raw); break;
    case SUSHI_OP_LINEAR: linear_f32(ex, s, l, in, out, raw); break;
    case SUSHI_OP_MAXPOOL:
    case SUSHI_OP_AVGPOOL:
        chan_run(ex, &j, l->in_c, (size_t)l->in_c * l->out_h * l->out_w * l->kernel * l->kernel);
        break;
    case SUSHI_OP_GAP: chan_run(ex, &j, l->in_c, (size_t)l->in_c * ihw); break;
    case SUSHI_OP_ADD:
        j.in2 = vp[l->input2];
        chan_run(ex, &j, l->out_c, (size_t)l->out_c * l->out_h * l->out_w);
        break;
    case SUSHI_OP_SE: se_f32(ex, s, l, in, out, scratch); break;
    default: break;
    }
}

void cpu_f32_layer(const sushi_subnet *s, uint32_t li, float *const *vp, float *scratch, bool raw)
{
    cpu_f32_layer_x(NULL, s, li, vp, scratch, raw);
}

/* [p, p + n) and [q, q + m) (floats) overlap */
static bool overlaps(const float *p, size_t n, const float *q, size_t m) { return p < q + m && q < p + n; }

/* Whether layer i + 1 is a residual add of conv layer i's output that the
 * conv's epilogue can do (residual): the add's output may be the conv's
 * output or its other input (in place, element by element), or exactly
 * where the conv's input is (on_input: conv_f32 decides whether its split
 * allows it), and overlap nothing else. */
static bool fuse_add(const sushi_subnet *s, uint32_t i, float *const *vp, residual *r)
{
    if (i + 1 >= s->n_layers)
        return false;
    const sushi_layer *c = &s->layers[i], *a = &s->layers[i + 1];
    if (c->op != SUSHI_OP_CONV || a->op != SUSHI_OP_ADD || (a->input != c->output && a->input2 != c->output) ||
        a->input == a->input2)
        return false;
    size_t n = (size_t)c->out_c * c->out_h * c->out_w;
    if ((size_t)a->out_c * a->out_h * a->out_w != n)
        return false;
    uint32_t other = a->input == c->output ? a->input2 : a->input;
    const float *x = vp[c->input], *v = vp[c->output], *o = vp[other];
    float *w = vp[a->output];
    size_t nx = (size_t)c->in_c * c->in_h * c->in_w;
    bool on_input = overlaps(w, n, x, nx);
    if ((on_input && (w != x || (size_t)c->in_h * c->in_w != (size_t)c->out_h * c->out_w)) ||
        (w != v && overlaps(w, n, v, n)) || (w != o && overlaps(w, n, o, n)))
        return false;
    r->add = a;
    r->other = o;
    r->out = w;
    r->on_input = on_input;
    return true;
}

uint32_t cpu_f32_fusable_adds(const sushi_subnet *s, float *const *vp, uint32_t *on_input)
{
    uint32_t n = 0, in = 0;
    for (uint32_t i = 0; i < s->n_layers; i++) {
        residual r;
        if (fuse_add(s, i, vp, &r))
            n++, in += r.on_input;
    }
    if (on_input)
        *on_input = in;
    return n;
}

void cpu_f32_forward_x(const cpu_exec *ex, const sushi_subnet *s, float *const *vp, float *scratch)
{
    for (uint32_t i = 0; i < s->n_layers; i++) {
        residual r;
        if (fuse_add(s, i, vp, &r)) {
            const sushi_layer *l = &s->layers[i];
            if (conv_f32(ex, s, l, vp[l->input], vp[l->output], scratch, false, &r))
                i++; /* the add is done */
            continue;
        }
        cpu_f32_layer_x(ex, s, i, vp, scratch, false);
    }
}

void cpu_f32_forward(const sushi_subnet *s, float *const *vp, float *scratch)
{
    cpu_f32_forward_x(NULL, s, vp, scratch);
}

size_t cpu_f32_scratch_bytes(const sushi_subnet *s) { return cpu_f32_scratch_bytes_nt(s, 1); }

size_t cpu_f32_scratch_bytes_nt(const sushi_subnet *s, unsigned nt)
{
    size_t mx = CPU_ALIGN;
    if (nt < 1)
        nt = 1;
    for (uint32_t i = 0; i < s->n_layers; i++) {
        const sushi_layer *l = &s->layers[i];
        size_t b = 0;
        if (l->op == SUSHI_OP_CONV && cpu_wino_selected(l))
            b = cpu_wino_scratch_bytes_nt(l->in_c, l->out_c, l->in_h, l->in_w, nt);
        else if (l->op == SUSHI_OP_CONV && !(l->kernel == 1 && l->stride == 1 && l->pad == 0))
            b = (size_t)l->in_c * l->kernel * l->kernel * l->out_h * l->out_w * sizeof(float);
        else if (l->op == SUSHI_OP_DWCONV)
            b = nt * dw_floats(l) * sizeof(float);
        else if (l->op == SUSHI_OP_SE)
            b = 2 * cpu_align_up((size_t)l->in_c * sizeof(float)) + cpu_align_up((size_t)l->se_mid * sizeof(float));
        b = cpu_align_up(b);
        if (b > mx)
            mx = b;
    }
    return mx;
}
