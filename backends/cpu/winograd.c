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
 * V and M of a block stay small. U is computed at every call from the
 * SubNet's weight slice (read in place, leading dimension ldw), whole, or per
 * block of output channels when all tiles fit one block (so each block's U
 * is still in cache when its GEMMs read it); switching SubNet copies nothing
 * and no transformed weight outlives the call. All memory is the caller's
 * scratch (cpu_wino_scratch_bytes). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"


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

int cpu_conv_mode(void) { return cpu_choice(&conv_mode, mode_from_env); }

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
    size_t k_blk;       /* output channels per weight block */
    size_t pw;          /* padded row width 4 * tw + 4 (2 for the 6x6 windows, 2 for the phase split) */
    size_t us, vs, ms;  /* point strides of U, V and M (per block) */
    size_t u, v, m, zero, z, q, tap, t, y, o; /* region sizes in floats (64-byte multiples) */
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
    g.pw = 4 * g.tw + 4;
    /* When all tiles are one block, the output channels go in blocks whose
     * transformed weights stay within CPU_WINO_U_BLOCK_BYTES: each block's U
     * is transformed and used by its 36 GEMMs while still in cache, instead
     * of writing all of U (up to tens of MB) first. With several tile blocks
     * U is transformed once for all of them. */
    g.k_blk = k;
    if (g.rows_blk == g.th) {
        size_t per_k = (size_t)WINO_P * c * sizeof(float);
        size_t kb = CPU_WINO_U_BLOCK_BYTES / per_k;
        kb = kb < 16 ? 16 : kb & ~(size_t)15;
        if (kb < g.k_blk)
            g.k_blk = kb;
    }
    /* point strides one cache line more than a 64-byte multiple, so the
     * transforms' 36 (6) streams do not map to the same cache sets when the
     * matrices are a power-of-two size */
    g.us = up16(g.k_blk * c) + 16;
    g.vs = up16((size_t)c * g.t_blk) + 16;
    g.ms = up16(g.k_blk * g.t_blk) + 16;
    g.u = WINO_P * g.us;
    g.v = WINO_P * g.vs;
    g.m = WINO_P * g.ms;
    g.zero = up16(w);
    g.z = up16(WINO_A * g.pw);
    g.q = up16(4 * (g.tw + 1));
    g.tap = 18 * up16(c); /* 9 tap runs + the 3 intermediate runs of 3 C */
    g.t = 18 * up16(c);
    g.y = up16(4 * WINO_A * g.tw);
    g.o = up16(4 * 4 * g.tw);
    return g;
}

/* per-thread buffers: Z, Q (input transform), tap, T (weights), Y, O (output) */
static size_t priv_floats(const wino_geom *g) { return g->z + g->q + g->tap + g->t + g->y + g->o; }

size_t cpu_wino_scratch_bytes(uint32_t c, uint32_t k, uint32_t h, uint32_t w)
{
    return cpu_wino_scratch_bytes_nt(c, k, h, w, 1);
}

/* One tile block (every plane up to 64 x 64): V and the zero row shared,
 * then per thread its buffers, U and M (each thread runs whole blocks of
 * output channels). Otherwise U and the zero row shared, then per thread its
 * buffers, V and M (each thread runs whole tile blocks). */
static bool one_block(const wino_geom *g) { return g->rows_blk == g->th; }

/* floats of one thread's region: its buffers, then U and M (one block) or
 * V and M (several) */
static size_t thread_floats(const wino_geom *g) { return priv_floats(g) + (one_block(g) ? g->u : g->v) + g->m; }

size_t cpu_wino_scratch_bytes_nt(uint32_t c, uint32_t k, uint32_t h, uint32_t w, unsigned nt)
{
    wino_geom g = geometry(c, k, h, w);
    size_t n = nt ? nt : 1;
    return ((one_block(&g) ? g.v : g.u) + g.zero + n * thread_floats(&g)) * sizeof(float);
}

/* ---------------- transforms ---------------- */

/* 1-D transforms, one lane per element of the arrays. */

/* t = G g for the 3 taps g0, g1, g2 (one filter row or column): G's rows
 * (1/4, 0, 0), -(1, 1, 1)/6, -(1, -1, 1)/6, (1/24, 1/12, 1/6),
 * (1/24, -1/12, 1/6), (0, 0, 1); t_j has stride ts. */
CPU_HOT
static void g_lanes6(size_t n, const float *restrict g0, const float *restrict g1, const float *restrict g2,
                     float *restrict t0, float *restrict t1, float *restrict t2, float *restrict t3,
                     float *restrict t4, float *restrict t5)
{
    for (size_t i = 0; i < n; i++) {
        const float a = g0[i], b = g1[i], c = g2[i];
        const float e = a + c;
        t0[i] = 0.25f * a;
        t1[i] = -(e + b) * (1.0f / 6.0f);
        t2[i] = -(e - b) * (1.0f / 6.0f);
        t3[i] = a * (1.0f / 24.0f) + b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
        t4[i] = a * (1.0f / 24.0f) - b * (1.0f / 12.0f) + c * (1.0f / 6.0f);
        t5[i] = c;
    }
}

/* (outputs as one base and a stride; GCC 12 vectorises the loop only when
 * each stream is its own restrict parameter) */
static void g_lanes(size_t n, const float *g0, const float *g1, const float *g2, float *t, size_t ts)
{
    g_lanes6(n, g0, g1, g2, t, t + ts, t + 2 * ts, t + 3 * ts, t + 4 * ts, t + 5 * ts);
}

/* z = B^T d for the 6 values d0..d5 (d4, d5 given as separate pointers so
 * that the row pass can pass shifted phases): B^T's rows (4, 0, -5, 0, 1, 0),
 * (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0), (0, -2, -1, 2, 1, 0),
 * (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1); z_j has stride zs. */
CPU_HOT
static void bt_lanes6(size_t n, const float *restrict d0, const float *restrict d1, const float *restrict d2,
                      const float *restrict d3, const float *restrict d4, const float *restrict d5,
                      float *restrict z0, float *restrict z1, float *restrict z2, float *restrict z3,
                      float *restrict z4, float *restrict z5)
{
    for (size_t i = 0; i < n; i++) {
        const float a0 = d0[i], a1 = d1[i], a2 = d2[i], a3 = d3[i], a4 = d4[i], a5 = d5[i];
        z0[i] = 4.0f * a0 - 5.0f * a2 + a4;
        z1[i] = -4.0f * (a1 + a2) + a3 + a4;
        z2[i] = 4.0f * (a1 - a2) - a3 + a4;
        z3[i] = 2.0f * (a3 - a1) - a2 + a4;
        z4[i] = 2.0f * (a1 - a3) - a2 + a4;
        z5[i] = 4.0f * a1 - 5.0f * a3 + a5;
    }
}

static void bt_lanes(size_t n, const float *d0, const float *d1, const float *d2, const float *d3, const float *d4,
                     const float *d5, float *z, size_t zs)
{
    bt_lanes6(n, d0, d1, d2, d3, d4, d5, z, z + zs, z + 2 * zs, z + 3 * zs, z + 4 * zs, z + 5 * zs);
}

/* q_j[t] = z[4 t + j] for j < 4, t <= n (z has 4 n + 4 values) */
CPU_HOT
static void phases4(size_t n, const float *restrict z, float *restrict q0, float *restrict q1, float *restrict q2,
                    float *restrict q3)
{
    for (size_t t = 0; t <= n; t++) {
        q0[t] = z[4 * t];
        q1[t] = z[4 * t + 1];
        q2[t] = z[4 * t + 2];
        q3[t] = z[4 * t + 3];
    }
}

static void phases(size_t n, const float *z, float *q, size_t qs)
{
    phases4(n, z, q, q + qs, q + 2 * qs, q + 3 * qs);
}

/* d_b[i] = s[3 i + b] for b < 3, i < n (a stride-3 group, which GCC 12
 * vectorises with permutes; a stride-9 one it leaves scalar) */
CPU_HOT
static void split3(size_t n, const float *restrict s, float *restrict d0, float *restrict d1, float *restrict d2)
{
    for (size_t i = 0; i < n; i++) {
        d0[i] = s[3 * i];
        d1[i] = s[3 * i + 1];
        d2[i] = s[3 * i + 2];
    }
}

/* Weights: U[p][k][c] = (G g G^T)[i][j], p = 6 i + j, for the 3x3 filter g of
 * (k, c), one lane per input channel: the 9 taps of output channel k are
 * first split into 9 runs over c (tap, two stride-3 splits), then G is
 * applied to the columns
 * (into T: [6][3][c]) and to the rows (straight into U). us: point stride. */
static void transform_weights(uint32_t c, uint32_t k0, uint32_t k1, const float *wt, size_t ldw, float *U, size_t us,
                              float *tap, float *T)
{
    const size_t cs = up16(c);
    for (uint32_t ko = k0; ko < k1; ko++) {
        const float *wk = wt + (size_t)ko * ldw;
        /* tap j = 3 r + b of channel i is wk[9 i + 3 r + b]: first split by
         * b (E_b[3 i + r]), then each E_b by r */
        float *E = tap + 9 * cs;
        split3(3 * (size_t)c, wk, E, E + 3 * cs, E + 6 * cs);
        for (int b = 0; b < 3; b++)
            split3(c, E + (size_t)(3 * b) * cs, tap + (size_t)b * cs, tap + (size_t)(3 + b) * cs,
                   tap + (size_t)(6 + b) * cs);
        /* columns: T[i][j] = sum_r G[i][r] g[r][j] */
        for (int j = 0; j < 3; j++)
            g_lanes(c, tap + (size_t)j * cs, tap + (size_t)(3 + j) * cs, tap + (size_t)(6 + j) * cs, T + j * cs,
                    3 * cs);
        /* rows: U[6 i + j] = sum_r T[i][r] G[j][r] */
        for (int i = 0; i < WINO_A; i++) {
            const float *ti = T + (size_t)(3 * i) * cs;
            g_lanes(c, ti, ti + cs, ti + 2 * cs, U + (size_t)(WINO_A * i) * us + (size_t)ko * c, us);
        }
    }
}

/* Input tiles of one channel, tile rows [ty0, ty1): V[p][t] (point stride ps,
 * t counted from the block's first tile) = (B^T d B)[i][j] where d is the 6x6
 * window at (4 ty - 1, 4 tx - 1) of the zero-padded plane. First B^T on the
 * columns over whole padded rows (Z, contiguous), then each transformed row
 * is split into its 4 phases (Q) so that B^T on the rows has one lane per
 * tile and contiguous operands (d4, d5 are phases 0, 1 of the next tile). */
static void transform_input(const float *x, uint32_t h, uint32_t w, const wino_geom *g, size_t ty0, size_t ty1,
                            float *V, size_t ps, const float *zero, float *Z, float *Q)
{
    const size_t pw = g->pw, tw = g->tw, qs = tw + 1;
    for (size_t ty = ty0; ty < ty1; ty++) {
        const float *r[WINO_A];
        for (int k = 0; k < WINO_A; k++) {
            int64_t y = (int64_t)(4 * ty) + k - 1;
            r[k] = y >= 0 && y < (int64_t)h ? x + (size_t)y * w : zero;
        }
        bt_lanes(w, r[0], r[1], r[2], r[3], r[4], r[5], Z + 1, pw);
        for (int k = 0; k < WINO_A; k++) {
            float *zk = Z + k * pw;
            zk[0] = 0.0f;
            for (size_t i = (size_t)w + 1; i < pw; i++)
                zk[i] = 0.0f;
        }
        const size_t t0 = (ty - ty0) * tw;
        for (int i = 0; i < WINO_A; i++) {
            phases(tw, Z + i * pw, Q, qs);
            bt_lanes(tw, Q, Q + qs, Q + 2 * qs, Q + 3 * qs, Q + 1, Q + qs + 1,
                     V + (size_t)(WINO_A * i) * ps + t0, ps);
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

/* One convolution's shared state; each parallel step below splits one loop
 * (input channels, output channels or the 36 points) over the pool, every
 * part with its own Z, Q, tap, T, Y, O (priv floats from base). */
typedef struct wino_job {
    const wino_geom *g;
    uint32_t c, k, h, w;
    const float *wt, *in;
    size_t ldw, hw, ty0, ty1, nt, rb;
    float *U, *V, *zero, *out, *priv;
    cpu_wino_epi_fn epi;
    void *epi_arg;
} wino_job;

static float *priv_of(const wino_job *j, unsigned id) { return j->priv + (size_t)id * thread_floats(j->g); }

static void step_input(void *a, unsigned id, size_t lo, size_t hi)
{
    const wino_job *j = a;
    float *Z = priv_of(j, id), *Q = Z + j->g->z;
    for (size_t ci = lo; ci < hi; ci++)
        transform_input(j->in + ci * j->hw, j->h, j->w, j->g, j->ty0, j->ty1, j->V + ci * j->nt, j->g->vs, j->zero, Z,
                        Q);
}

static void step_weights(void *a, unsigned id, size_t lo, size_t hi)
{
    const wino_job *j = a;
    float *tap = priv_of(j, id) + j->g->z + j->g->q, *T = tap + j->g->tap;
    transform_weights(j->c, (uint32_t)lo, (uint32_t)hi, j->wt, j->ldw, j->U, j->g->us, tap, T);
}

/* Several tile blocks: part `id` runs tile blocks [lo, hi) of rb tile rows
 * whole: the input transform of the block into its own V, the 36 GEMMs with
 * the shared U into its own M, the output transform. U is read-only here and
 * nothing a thread writes is read by another before the epilogue's loop. */
static void step_tiles(void *a, unsigned id, size_t lo, size_t hi)
{
    const wino_job *j = a;
    const wino_geom *g = j->g;
    float *pv = priv_of(j, id);
    float *Z = pv, *Q = Z + g->z, *Y = Q + g->q + g->tap + g->t, *O = Y + g->y;
    float *V = pv + priv_floats(g), *M = V + g->v;
    for (size_t b = lo; b < hi; b++) {
        size_t ty0 = b * j->rb, ty1 = ty0 + j->rb < g->th ? ty0 + j->rb : g->th;
        if (ty0 >= ty1)
            break;
        size_t nt = (ty1 - ty0) * g->tw;
        for (size_t ci = 0; ci < j->c; ci++)
            transform_input(j->in + ci * j->hw, j->h, j->w, g, ty0, ty1, V + ci * nt, g->vs, j->zero, Z, Q);
        for (size_t p = 0; p < WINO_P; p++)
            cpu_f32_gemm(j->k, nt, j->c, j->U + p * g->us, j->c, V + p * g->vs, M + p * g->ms);
        for (uint32_t ko = 0; ko < j->k; ko++)
            transform_output(M + ko * nt, g->ms, g, ty0, ty1, j->h, j->w, j->out + ko * j->hw, Y, O);
    }
}

/* Output channels per unit of the split of step_channels: small enough that
 * two or three threads get equal shares of 88 or 360 channels (16-channel
 * units left one thread 9 % more work than the other), large enough for the
 * GEMMs' row blocks. */
#define WINO_K_UNIT 8

/* One tile block: part `id` runs output channels [8 lo, 8 hi) whole, in
 * blocks of at most k_blk: transformed weights into its own U, the 36 GEMMs
 * into its own M, the output transform and the epilogue. U and M never leave
 * the thread's cache and the only barrier of the layer is the one after the
 * input transform. Which thread computes a channel depends only on the
 * thread count (the rule of cpu_pool_for). */
static void step_channels(void *a, unsigned id, size_t lo, size_t hi)
{
    const wino_job *j = a;
    const wino_geom *g = j->g;
    float *pv = priv_of(j, id);
    float *tap = pv + g->z + g->q, *T = tap + g->tap, *Y = T + g->t, *O = Y + g->y;
    float *U = pv + priv_floats(g), *M = U + g->u;
    uint32_t k_end = (uint32_t)(WINO_K_UNIT * hi < j->k ? WINO_K_UNIT * hi : j->k);
    for (uint32_t k0 = (uint32_t)(WINO_K_UNIT * lo); k0 < k_end; k0 += (uint32_t)g->k_blk) {
        uint32_t kn = k_end - k0 < g->k_blk ? k_end - k0 : (uint32_t)g->k_blk;
        transform_weights(j->c, 0, kn, j->wt + (size_t)k0 * j->ldw, j->ldw, U, g->us, tap, T);
        for (size_t p = 0; p < WINO_P; p++)
            cpu_f32_gemm(kn, j->nt, j->c, U + p * g->us, j->c, j->V + p * g->vs, M + p * g->ms);
        for (uint32_t ko = 0; ko < kn; ko++)
            transform_output(M + ko * j->nt, g->ms, g, 0, g->th, j->h, j->w, j->out + (k0 + ko) * j->hw, Y, O);
        if (j->epi)
            j->epi(j->epi_arg, k0, k0 + kn);
    }
}

static void step_epi(void *a, unsigned id, size_t lo, size_t hi)
{
    const wino_job *j = a;
    (void)id;
    j->epi(j->epi_arg, (uint32_t)lo, (uint32_t)hi);
}

/* parts of a step of `n` items that each cost `per` */
static unsigned wparts(const cpu_exec *ex, size_t n, size_t per)
{
    return cpu_parts(ex ? ex->pool : NULL, n, n * per, CPU_PAR_MIN_WORK);
}

void cpu_wino_conv3x3_x(const cpu_exec *ex, uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt,
                        size_t ldw, const float *in, float *out, float *scratch, cpu_wino_epi_fn epi, void *epi_arg)
{
    const wino_geom g = geometry(c, k, h, w);
    cpu_pool *pool = ex ? ex->pool : NULL;
    wino_job j = { .g = &g, .c = c, .k = k, .h = h, .w = w, .wt = wt, .in = in, .ldw = ldw, .hw = (size_t)h * w,
                   .out = out, .epi = epi, .epi_arg = epi_arg };
    if (one_block(&g)) {
        j.V = scratch;
        j.zero = j.V + g.v;
        j.priv = j.zero + g.zero;
        memset(j.zero, 0, (size_t)w * sizeof *j.zero);
        j.ty0 = 0;
        j.ty1 = g.th;
        j.nt = g.th * g.tw;
        cpu_pool_for(pool, c, wparts(ex, c, WINO_P * j.nt * 2), step_input, &j);
        size_t units = ((size_t)k + WINO_K_UNIT - 1) / WINO_K_UNIT;
        cpu_pool_for(pool, units, wparts(ex, units, WINO_K_UNIT * (size_t)WINO_P * (j.nt * c + c + 2 * j.nt)), step_channels,
                     &j);
        return;
    }
    /* U once, whole, split by output channel; then the tile blocks, split
     * over the threads in blocks of rb <= rows_blk tile rows, as many blocks
     * as a multiple of the threads so that they get equal shares */
    j.U = scratch;
    j.zero = j.U + g.u;
    j.priv = j.zero + g.zero;
    memset(j.zero, 0, (size_t)w * sizeof *j.zero);
    cpu_pool_for(pool, k, wparts(ex, k, (size_t)WINO_P * c), step_weights, &j);
    size_t nthr = cpu_pool_threads(pool);
    size_t nb = (g.th + g.rows_blk - 1) / g.rows_blk;
    nb = (nb + nthr - 1) / nthr * nthr;
    j.rb = (g.th + nb - 1) / nb;
    nb = (g.th + j.rb - 1) / j.rb;
    cpu_pool_for(pool, nb, wparts(ex, nb, (size_t)WINO_P * j.rb * g.tw * ((size_t)c * k + 2 * (c + k))), step_tiles,
                 &j);
    if (epi)
        cpu_pool_for(pool, k, wparts(ex, k, (size_t)h * w), step_epi, &j);
}

void cpu_wino_conv3x3(uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt, size_t ldw, const float *in,
                      float *out, float *scratch)
{
    cpu_wino_conv3x3_x(NULL, c, k, h, w, wt, ldw, in, out, scratch, NULL, NULL);
}
