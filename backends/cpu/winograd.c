/* Winograd F(4x4, 3x3) convolution for the float32 path (docs/cpu.md,
 * "Winograd convolution").
 *
 * A 3x3 stride-1 pad-1 convolution is computed on 4x4 output tiles from 6x6
 * input tiles: Y = A^T [ (G g G^T) .* (B^T d B) ] A, with the interpolation
 * points 0, 1, -1, 2, -2 and infinity. The 36 element-wise products summed
 * over input channels are 36 independent GEMMs, one per point p of the 6x6
 * transformed tile:
 *
 *     M[p] (K x T) = U[p] (K x C) * V[p] (C x T)
 *
 * with U the transformed weights, V the transformed input tiles and T the
 * number of tiles. Tiles are processed in blocks of whole tile rows so that
 * V and M of a block stay small; U is computed once per call from the
 * SubNet's weight slice (read in place, leading dimension ldw), so switching
 * SubNet copies nothing and no transformed weight outlives the call. All
 * memory is the caller's scratch (cpu_wino_scratch_bytes). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

/* same dispatch as kernels_f32.c: baseline and x86-64-v3 clones */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CPU_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_HOT
#endif

#define WINO_A 6  /* transformed tile side: m + r - 1 */
#define WINO_P 36 /* points per tile */

/* ---------------- algorithm switch ---------------- */

static atomic_int conv_mode = -1; /* -1: not read from the environment yet */

static int mode_from_env(void)
{
    const char *e = getenv("SUSHI_CPU_CONV");
    if (e && strcmp(e, "im2col") == 0)
        return CPU_CONV_IM2COL;
    if (e && strcmp(e, "winograd") == 0)
        return CPU_CONV_WINOGRAD;
    return CPU_CONV_AUTO;
}

int cpu_conv_mode(void)
{
    int m = atomic_load_explicit(&conv_mode, memory_order_relaxed);
    if (m < 0) {
        int expected = -1;
        m = mode_from_env();
        /* first reader wins; a racing reader computes the same value */
        atomic_compare_exchange_strong(&conv_mode, &expected, m);
        m = atomic_load_explicit(&conv_mode, memory_order_relaxed);
    }
    return m;
}

void cpu_conv_set_mode(int mode)
{
    atomic_store_explicit(&conv_mode, mode, memory_order_relaxed);
}

static size_t tiles_of(uint32_t n) { return ((size_t)n + 3) / 4; }

bool cpu_wino_eligible(const sushi_layer *l)
{
    return l->op == SUSHI_OP_CONV && l->kernel == 3 && l->stride == 1 && l->pad == 1 && l->out_h == l->in_h &&
           l->out_w == l->in_w && l->in_c > 0 && l->out_c > 0;
}

bool cpu_wino_selected(const sushi_layer *l)
{
    int mode = cpu_conv_mode();
    if (mode == CPU_CONV_IM2COL || !cpu_wino_eligible(l))
        return false;
    if (mode == CPU_CONV_WINOGRAD)
        return true;
    return tiles_of(l->out_h) * tiles_of(l->out_w) >= CPU_WINO_MIN_TILES;
}

/* ---------------- scratch geometry ---------------- */

static size_t up16(size_t n) { return (n + 15) & ~(size_t)15; } /* floats -> 64-byte multiple */

typedef struct wino_geom {
    size_t th, tw;      /* tile rows, tiles per row */
    size_t rows_blk;    /* tile rows per block */
    size_t t_blk;       /* tiles per (full) block */
    size_t pw;          /* padded row width 4 * tw + 2 */
    size_t u, v, m, zero, z, y, o; /* region sizes in floats (64-byte multiples) */
} wino_geom;

static wino_geom geometry(uint32_t c, uint32_t k, uint32_t h, uint32_t w)
{
    wino_geom g;
    g.th = tiles_of(h);
    g.tw = tiles_of(w);
    g.rows_blk = CPU_WINO_BLOCK_TILES / g.tw;
    if (g.rows_blk < 1)
        g.rows_blk = 1;
    if (g.rows_blk > g.th)
        g.rows_blk = g.th;
    g.t_blk = g.rows_blk * g.tw;
    g.pw = 4 * g.tw + 2;
    g.u = up16((size_t)WINO_P * k * c);
    g.v = up16((size_t)WINO_P * c * g.t_blk);
    g.m = up16((size_t)WINO_P * k * g.t_blk);
    g.zero = up16(w);
    g.z = up16(WINO_A * g.pw);
    g.y = up16(4 * WINO_A * g.tw);
    g.o = up16(4 * 4 * g.tw);
    return g;
}

size_t cpu_wino_scratch_bytes(uint32_t c, uint32_t k, uint32_t h, uint32_t w)
{
    wino_geom g = geometry(c, k, h, w);
    return (g.u + g.v + g.m + g.zero + g.z + g.y + g.o) * sizeof(float);
}

/* ---------------- transforms ---------------- */

/* Weights: U[p][k][c] = (G g G^T)[i][j], p = 6 i + j, for the 3x3 filter g of
 * (k, c). G's rows: (1/4, 0, 0), -(1, 1, 1)/6, -(1, -1, 1)/6,
 * (1/24, 1/12, 1/6), (1/24, -1/12, 1/6), (0, 0, 1). */
CPU_HOT
static void transform_weights(uint32_t c, uint32_t k, const float *restrict wt, size_t ldw, float *restrict U)
{
    const size_t kc = (size_t)k * c;
    for (uint32_t ko = 0; ko < k; ko++) {
        const float *restrict wk = wt + (size_t)ko * ldw;
        float *restrict uk = U + (size_t)ko * c;
        for (uint32_t ci = 0; ci < c; ci++) {
            const float *g = wk + (size_t)ci * 9;
            float t[WINO_A][3];
            for (int j = 0; j < 3; j++) {
                const float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[0][j] = 0.25f * g0;
                t[1][j] = -(g0 + g1 + g2) * (1.0f / 6.0f);
                t[2][j] = -(g0 - g1 + g2) * (1.0f / 6.0f);
                t[3][j] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                t[4][j] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                t[5][j] = g2;
            }
            for (int i = 0; i < WINO_A; i++) {
                const float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
                float *u = uk + (size_t)(WINO_A * i) * kc + ci;
                u[0 * kc] = 0.25f * g0;
                u[1 * kc] = -(g0 + g1 + g2) * (1.0f / 6.0f);
                u[2 * kc] = -(g0 - g1 + g2) * (1.0f / 6.0f);
                u[3 * kc] = g0 * (1.0f / 24.0f) + g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                u[4 * kc] = g0 * (1.0f / 24.0f) - g1 * (1.0f / 12.0f) + g2 * (1.0f / 6.0f);
                u[5 * kc] = g2;
            }
        }
    }
}

/* Input tiles of one channel, tile rows [ty0, ty1): V[p][t] (point stride ps,
 * t counted from the block's first tile) = (B^T d B)[i][j] where d is the 6x6
 * window at (4 ty - 1, 4 tx - 1) of the zero-padded plane. B^T's rows:
 * (4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
 * (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1).
 * First the column transform over whole padded rows (contiguous), then the
 * row transform with one lane per tile. */
CPU_HOT
static void transform_input(const float *restrict x, uint32_t h, uint32_t w, const wino_geom *g, size_t ty0,
                            size_t ty1, float *restrict V, size_t ps, const float *restrict zero, float *restrict Z)
{
    const size_t pw = g->pw, tw = g->tw;
    for (size_t ty = ty0; ty < ty1; ty++) {
        const float *r[WINO_A];
        for (int k = 0; k < WINO_A; k++) {
            int64_t y = (int64_t)(4 * ty) + k - 1;
            r[k] = y >= 0 && y < (int64_t)h ? x + (size_t)y * w : zero;
        }
        float *restrict z0 = Z, *restrict z1 = Z + pw, *restrict z2 = Z + 2 * pw, *restrict z3 = Z + 3 * pw,
                        *restrict z4 = Z + 4 * pw, *restrict z5 = Z + 5 * pw;
        const float *restrict r0 = r[0], *restrict r1 = r[1], *restrict r2 = r[2], *restrict r3 = r[3],
                              *restrict r4 = r[4], *restrict r5 = r[5];
        for (uint32_t i = 0; i < w; i++) {
            const float a0 = r0[i], a1 = r1[i], a2 = r2[i], a3 = r3[i], a4 = r4[i], a5 = r5[i];
            z0[i + 1] = 4.0f * a0 - 5.0f * a2 + a4;
            z1[i + 1] = -4.0f * (a1 + a2) + a3 + a4;
            z2[i + 1] = 4.0f * (a1 - a2) - a3 + a4;
            z3[i + 1] = 2.0f * (a3 - a1) - a2 + a4;
            z4[i + 1] = 2.0f * (a1 - a3) - a2 + a4;
            z5[i + 1] = 4.0f * a1 - 5.0f * a3 + a5;
        }
        for (int k = 0; k < WINO_A; k++) {
            float *zk = Z + k * pw;
            zk[0] = 0.0f;
            for (size_t i = (size_t)w + 1; i < pw; i++)
                zk[i] = 0.0f;
        }
        const size_t t0 = (ty - ty0) * tw;
        for (int i = 0; i < WINO_A; i++) {
            const float *restrict zi = Z + i * pw;
            float *restrict v = V + (size_t)(WINO_A * i) * ps + t0;
            for (size_t tx = 0; tx < tw; tx++) {
                const float *d = zi + 4 * tx;
                const float d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3], d4 = d[4], d5 = d[5];
                v[0 * ps + tx] = 4.0f * d0 - 5.0f * d2 + d4;
                v[1 * ps + tx] = -4.0f * (d1 + d2) + d3 + d4;
                v[2 * ps + tx] = 4.0f * (d1 - d2) - d3 + d4;
                v[3 * ps + tx] = 2.0f * (d3 - d1) - d2 + d4;
                v[4 * ps + tx] = 2.0f * (d1 - d3) - d2 + d4;
                v[5 * ps + tx] = 4.0f * d1 - 5.0f * d3 + d5;
            }
        }
    }
}

/* Output tiles of one output channel, tile rows [ty0, ty1): y = A^T m A with
 * A^T's rows (1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0),
 * (0, 1, -1, 8, -8, 1); m[i][j] = M[6 i + j][t] (point stride ps). Tiles past
 * the plane's edge are computed and dropped. */
CPU_HOT
static void transform_output(const float *restrict M, size_t ps, const wino_geom *g, size_t ty0, size_t ty1,
                             uint32_t h, uint32_t w, float *restrict y, float *restrict Y, float *restrict O)
{
    const size_t tw = g->tw, ow = 4 * tw;
    for (size_t ty = ty0; ty < ty1; ty++) {
        const size_t t0 = (ty - ty0) * tw;
        /* columns: Y[r][j][tx] = sum_i A^T[r][i] m[i][j] */
        for (int j = 0; j < WINO_A; j++) {
            const float *restrict m0 = M + (size_t)(0 * WINO_A + j) * ps + t0;
            const float *restrict m1 = M + (size_t)(1 * WINO_A + j) * ps + t0;
            const float *restrict m2 = M + (size_t)(2 * WINO_A + j) * ps + t0;
            const float *restrict m3 = M + (size_t)(3 * WINO_A + j) * ps + t0;
            const float *restrict m4 = M + (size_t)(4 * WINO_A + j) * ps + t0;
            const float *restrict m5 = M + (size_t)(5 * WINO_A + j) * ps + t0;
            float *restrict y0 = Y + (size_t)(0 * WINO_A + j) * tw, *restrict y1 = Y + (size_t)(1 * WINO_A + j) * tw;
            float *restrict y2 = Y + (size_t)(2 * WINO_A + j) * tw, *restrict y3 = Y + (size_t)(3 * WINO_A + j) * tw;
            for (size_t tx = 0; tx < tw; tx++) {
                const float a1 = m1[tx] + m2[tx], s1 = m1[tx] - m2[tx];
                const float a3 = m3[tx] + m4[tx], s3 = m3[tx] - m4[tx];
                y0[tx] = m0[tx] + a1 + a3;
                y1[tx] = s1 + 2.0f * s3;
                y2[tx] = a1 + 4.0f * a3;
                y3[tx] = s1 + 8.0f * s3 + m5[tx];
            }
        }
        /* rows: O[r][4 tx + s] = sum_j Y[r][j][tx] A[j][s] */
        for (int r = 0; r < 4; r++) {
            const float *restrict q = Y + (size_t)(r * WINO_A) * tw;
            float *restrict o = O + (size_t)r * ow;
            for (size_t tx = 0; tx < tw; tx++) {
                const float q0 = q[tx], q1 = q[tw + tx], q2 = q[2 * tw + tx], q3 = q[3 * tw + tx];
                const float q4 = q[4 * tw + tx], q5 = q[5 * tw + tx];
                const float a1 = q1 + q2, s1 = q1 - q2, a3 = q3 + q4, s3 = q3 - q4;
                o[4 * tx + 0] = q0 + a1 + a3;
                o[4 * tx + 1] = s1 + 2.0f * s3;
                o[4 * tx + 2] = a1 + 4.0f * a3;
                o[4 * tx + 3] = s1 + 8.0f * s3 + q5;
            }
        }
        for (size_t r = 0; r < 4; r++) {
            size_t yy = 4 * ty + r;
            if (yy < h)
                memcpy(y + yy * w, O + r * ow, w * sizeof *y);
        }
    }
}

/* ---------------- convolution ---------------- */

void cpu_wino_conv3x3(uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt, size_t ldw, const float *in,
                      float *out, float *scratch)
{
    const wino_geom g = geometry(c, k, h, w);
    float *U = scratch, *V = U + g.u, *M = V + g.v, *zero = M + g.m, *Z = zero + g.zero, *Y = Z + g.z,
          *O = Y + g.y;
    memset(zero, 0, (size_t)w * sizeof *zero);
    transform_weights(c, k, wt, ldw, U);
    const size_t hw = (size_t)h * w, kc = (size_t)k * c;
    for (size_t ty0 = 0; ty0 < g.th; ty0 += g.rows_blk) {
        size_t ty1 = ty0 + g.rows_blk < g.th ? ty0 + g.rows_blk : g.th;
        size_t nt = (ty1 - ty0) * g.tw;
        size_t vps = (size_t)c * nt, mps = (size_t)k * nt; /* point strides of this block */
        for (uint32_t ci = 0; ci < c; ci++)
            transform_input(in + ci * hw, h, w, &g, ty0, ty1, V + ci * nt, vps, zero, Z);
        for (int p = 0; p < WINO_P; p++)
            cpu_f32_gemm(k, nt, c, U + p * kc, c, V + p * vps, M + p * mps);
        for (uint32_t ko = 0; ko < k; ko++)
            transform_output(M + ko * nt, mps, &g, ty0, ty1, h, w, out + ko * hw, Y, O);
    }
}
