/* SushiAccel in Vitis HLS C: 16 x 9 PEs of 3x3 int8 windows, 1x1 folding,
 * depthwise mode, double-buffered dynamic weight buffer and a persistent
 * buffer (PB) holding SubGraph weight boxes across calls.
 *
 * Synthesizable subset: stdint only, static on-chip arrays, no allocation,
 * no recursion, no function pointers, no variable-length arrays, every loop
 * bounded and annotated with LOOP_TRIPCOUNT. Counters are compiled in only
 * for C simulation (__SYNTHESIS__ undefined). Integer semantics follow
 * docs/int8.md exactly (backends/cpu/int8_ops.h kernel-side primitives).
 *
 * Loop order per call (matches the cycle model's pass structure):
 *   dense: K tile -> pixel block -> C tile -> 3x3 piece -> window steps
 *   depthwise: channel group -> pixel block -> row-group of pieces -> steps
 * The window generator visits stride^2 input positions per output pixel
 * (stride_input_bound = 1): one trip per position, strided ones dropped. */
#if defined(__GNUC__) && !defined(__SYNTHESIS__)
/* C simulation with gcc/clang: HLS pragmas and loop labels are for Vitis */
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#pragma GCC diagnostic ignored "-Wunused-label"
#endif
#include "sushi_accel.h"

#include "../../cpu/int8_ops.h"

#ifndef __SYNTHESIS__
static accel_counters cnt;
#define CNT(f, n) (cnt.f += (uint64_t)(n))
#define CNT_ERR(b) (cnt.status |= (b))
void sushi_accel_counters_reset(void)
{
    accel_counters z = { 0 };
    cnt = z;
}
accel_counters sushi_accel_counters_get(void) { return cnt; }
#else
#define CNT(f, n) ((void)0)
#define CNT_ERR(b) ((void)0)
#endif

/* on-chip memories */
static uint8_t ibuf[ACCEL_IBUF_BYTES];
static int32_t obuf[ACCEL_PE_K][ACCEL_OBUF_PIX];
static int8_t wbuf[2][ACCEL_WBUF_HALF];
static int32_t qbuf[ACCEL_PE_K][ACCEL_QPARAM_WORDS];
static int8_t pb[ACCEL_PB_BYTES];
/* PB directory: one box per SubGraph slot */
static uint8_t pb_valid[ACCEL_PB_SLOTS];
static uint32_t pb_rows[ACCEL_PB_SLOTS], pb_cols[ACCEL_PB_SLOTS], pb_kk[ACCEL_PB_SLOTS], pb_base[ACCEL_PB_SLOTS];
/* SGS engine: on-chip activation memory [PP0 | PP1 | RES | VEC0 | VEC1] */
#define AMEM_RES (2u * ACCEL_ACT_BYTES)
#define AMEM_VEC0 (AMEM_RES + ACCEL_RES_BYTES)
#define AMEM_BYTES (AMEM_VEC0 + 2u * ACCEL_VEC_BYTES)
static uint8_t amem[AMEM_BYTES];
#ifndef __SYNTHESIS__
static accel_counters list_cnt[ACCEL_LIST_MAX];
accel_counters sushi_accel_list_counters(uint32_t i)
{
    accel_counters z = { 0 };
    return i < ACCEL_LIST_MAX ? list_cnt[i] : z;
}
#endif

static uint32_t cdiv(uint32_t a, uint32_t b) { return (a + b - 1) / b; }
static uint32_t umin(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* base and size of an on-chip accel_mem region (DRAM: 0, 0) */
static uint32_t mem_base(uint32_t m)
{
    return m == ACCEL_MEM_PP1 ? ACCEL_ACT_BYTES
           : m == ACCEL_MEM_RES ? AMEM_RES
           : m == ACCEL_MEM_VEC0 ? AMEM_VEC0
           : m == ACCEL_MEM_VEC1 ? AMEM_VEC0 + ACCEL_VEC_BYTES
                                 : 0;
}
static uint32_t mem_size(uint32_t m)
{
    return m == ACCEL_MEM_PP0 || m == ACCEL_MEM_PP1 ? ACCEL_ACT_BYTES
           : m == ACCEL_MEM_RES ? ACCEL_RES_BYTES
           : m == ACCEL_MEM_VEC0 || m == ACCEL_MEM_VEC1 ? ACCEL_VEC_BYTES
                                                        : 0;
}
/* operand of n bytes can live in m */
static uint32_t mem_ok(uint32_t m, uint64_t n) { return m == ACCEL_MEM_DRAM || (m < ACCEL_MEM_COUNT && n <= mem_size(m)); }

/* one activation byte written to DRAM or an on-chip region, and to the
 * residual buffer when `res` */
static void put_act(uint8_t *act_out, uint32_t dst, uint32_t res, uint64_t at, uint8_t y)
{
#pragma HLS INLINE
    if (dst == ACCEL_MEM_DRAM) {
        act_out[at] = y;
        CNT(wr_act, 1);
    } else {
        amem[mem_base(dst) + (uint32_t)at] = y;
    }
    if (res)
        amem[AMEM_RES + (uint32_t)at] = y;
}

/* (x - zp) at input position (iy, ix) of a channel stored from row `row0`
 * at `base` (plane or row band), 0 outside the input (padding) */
static int32_t win(uint32_t base, int32_t iy, int32_t ix, uint32_t h, uint32_t w, uint32_t row0, int32_t zp)
{
#pragma HLS INLINE
    if (iy < 0 || ix < 0 || iy >= (int32_t)h || ix >= (int32_t)w)
        return 0;
    return (int32_t)ibuf[base + ((uint32_t)iy - row0) * w + (uint32_t)ix] - zp;
}

/* rows [row0, row0 + rows) of channels [c0, c0 + cn) from DRAM into ibuf:
 * channel c at dst + c * cstride */
static void load_band(const uint8_t *act_in, uint32_t src, uint32_t c0, uint32_t cn, uint32_t h, uint32_t w,
                      uint32_t row0, uint32_t rows, uint32_t dst, uint32_t cstride)
{
    const uint32_t sb = mem_base(src);
    const uint32_t band = rows * w;
load_in_c:
    for (uint32_t c = 0; c < cn; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
    load_in:
        for (uint32_t i = 0; i < band; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 50176
#pragma HLS PIPELINE II = 1
            const uint64_t at = ((uint64_t)(c0 + c) * h + row0) * w + i;
            ibuf[dst + c * cstride + i] = src == ACCEL_MEM_DRAM ? act_in[at] : amem[sb + (uint32_t)at];
        }
    }
    if (src == ACCEL_MEM_DRAM)
        CNT(rd_act, (uint64_t)cn * band);
}

/* on-chip copy of n bytes per channel for cn channels: ibuf[src + c * ss + i]
 * -> ibuf[dst + c * ds + i] (row-band halo; the regions never overlap) */
static void ibuf_copy(uint32_t cn, uint32_t n, uint32_t src, uint32_t ss, uint32_t dst, uint32_t ds)
{
halo_c:
    for (uint32_t c = 0; c < cn; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 81
    halo_i:
        for (uint32_t i = 0; i < n; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1792
#pragma HLS PIPELINE II = 1
            ibuf[dst + c * ds + i] = ibuf[src + c * ss + i];
        }
    }
    CNT(halo, (uint64_t)cn * n);
}

/* pixel blocks: whole output rows, at most ACCEL_OBUF_PIX pixels each */
static uint32_t block_rows(uint32_t oh, uint32_t ow)
{
    uint32_t rb = ACCEL_OBUF_PIX / ow;
    return rb > oh ? oh : rb;
}

/* Input rows [lo, hi) that pixel block b of a dense conv streams when the
 * input does not fit: the rows its windows touch, clamped to the input; the
 * last block streams down to the bottom row, so that with the halo (rows
 * kept on chip for the next block) every input row crosses the act_in port
 * exactly once per K tile. */
static void band_rows(const accel_ctrl *cr, uint32_t b, uint32_t blocks, uint32_t rb, uint32_t oh, uint32_t *lo,
                      uint32_t *hi)
{
    const uint32_t oy0 = b * rb, n = umin(rb, oh - oy0);
    const int32_t l = (int32_t)(oy0 * cr->stride) - (int32_t)cr->pad;
    const int32_t e = (int32_t)((oy0 + n - 1) * cr->stride + cr->r) - (int32_t)cr->pad;
    *lo = l < 0 ? 0 : (uint32_t)l;
    *hi = b + 1 == blocks || e > (int32_t)cr->x ? cr->x : (uint32_t)e;
}

/* weights of output channels [k0, k0 + kn), each row `row` bytes = cols x kk
 * (cols input channels of kk taps), from the PB where the slot's box covers
 * them, else from DRAM (layout [k][row]) */
static void load_weights(const int8_t *wgt, uint32_t slot, uint32_t k0, uint32_t kn, uint32_t cols, uint32_t kk,
                         uint32_t half)
{
    const uint32_t row = cols * kk;
    uint32_t hr = 0, hc = 0, stride = 0, base = 0;
    if (slot < ACCEL_PB_SLOTS && pb_valid[slot] && pb_kk[slot] == kk) {
        hr = pb_rows[slot];
        hc = pb_cols[slot];
        stride = pb_cols[slot] * kk;
        base = pb_base[slot];
    }
load_w_rows:
    for (uint32_t o = 0; o < kn; o++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
    load_w_cols:
        for (uint32_t i = 0; i < row; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 18432
#pragma HLS PIPELINE II = 1
            uint32_t ko = k0 + o, ci = i / kk;
            int8_t v;
            if (ko < hr && ci < hc) {
                v = pb[base + ko * stride + i];
                CNT(pb_hit, 1);
            } else {
                v = wgt[(uint64_t)ko * row + i];
                CNT(rd_wgt, 1);
            }
            wbuf[half][o * row + i] = v;
        }
    }
    CNT(chunks, 1);
}

static void load_qparams(const int32_t *qparam, uint32_t k0, uint32_t kn)
{
load_q:
    for (uint32_t o = 0; o < kn; o++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
#pragma HLS PIPELINE II = 1
        for (uint32_t j = 0; j < ACCEL_QPARAM_WORDS; j++)
            qbuf[o][j] = qparam[(uint64_t)(k0 + o) * ACCEL_QPARAM_WORDS + j];
    }
    CNT(rd_par, kn * ACCEL_QPARAM_WORDS * 4);
}

/* requantise the psums of K tile [k0, k0 + kn) for pixels [p0, p0 + pn) and
 * write them (with the fused residual add when enabled) */
static void drain(const uint8_t *res_in, uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256],
                  const uint8_t add_lut[256], const accel_ctrl *cr, uint32_t k0, uint32_t kn, uint32_t p0,
                  uint32_t pn, uint32_t P)
{
drain_k:
    for (uint32_t o = 0; o < kn; o++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16
    drain_p:
        for (uint32_t p = 0; p < pn; p++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
#pragma HLS PIPELINE II = 1
            const uint64_t at = (uint64_t)(k0 + o) * P + p0 + p;
            const int32_t acc = obuf[o][p];
            if (cr->out_i32) {
                acc_out[at] = sushi_q8_sat_i32((int64_t)acc + qbuf[o][0]);
                CNT(wr_act, 4);
                continue;
            }
            const int64_t B = (int64_t)(((uint64_t)(uint32_t)qbuf[o][3] << 32) | (uint32_t)qbuf[o][2]);
            uint8_t y = sushi_q8_output(sushi_q8_requant(acc, qbuf[o][0], B, qbuf[o][1]), cr->zp_out, cr->lo);
            if (cr->use_lut)
                y = lut[y];
            if (cr->res_en) {
                const int32_t r = cr->res_src == ACCEL_MEM_RES ? amem[AMEM_RES + (uint32_t)at] : res_in[at];
                const int32_t va = cr->res_first ? r : (int32_t)y, vb = cr->res_first ? (int32_t)y : r;
                if (cr->res_src != ACCEL_MEM_RES)
                    CNT(rd_res, 1);
                y = sushi_q8_output(sushi_q8_requant2(va - cr->add_zp_a, cr->add_ma, vb - cr->add_zp_b, cr->add_mb,
                                                      cr->add_s),
                                    cr->add_zp, cr->add_lo);
                if (cr->add_use_lut)
                    y = add_lut[y];
            }
            put_act(act_out, cr->out_dst, cr->out_res, at, y);
        }
    }
}

static void zero_psums(uint32_t pn)
{
zero_p:
    for (uint32_t p = 0; p < pn; p++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096
#pragma HLS PIPELINE II = 1
        for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
            obuf[o][p] = 0;
        }
    }
}

/* Dense convolution (incl. folded 1x1 and LINEAR as 1x1 of a 1x1 map). */
static void conv_dense(const uint8_t *act_in, const uint8_t *res_in, const int8_t *wgt, const int32_t *qparam,
                       uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256], const uint8_t add_lut[256],
                       const accel_ctrl *cr)
{
    const uint32_t r = cr->r, st = cr->stride, h = cr->x, w = cr->y;
    /* window steps per output pixel: stride^2 positions visited, or only the kept one (stride_skip) */
    const uint32_t sk = cr->stride_skip ? 1 : st * st;
    const uint32_t oh = (h + 2 * cr->pad - r) / st + 1, ow = (w + 2 * cr->pad - r) / st + 1;
    const uint32_t P = oh * ow, plane = h * w, rr = r * r;
    const uint32_t fold = r == 1;
    const uint32_t cpt = fold ? ACCEL_FOLD_C : ACCEL_PE_C;
    const uint32_t kt = cdiv(cr->k, ACCEL_PE_K), ct = cdiv(cr->c, cpt);
    const uint32_t pr = fold ? 1 : cdiv(r, 3), pieces = pr * pr;
    const uint32_t rb = block_rows(oh, ow), blocks = cdiv(oh, rb);
    const uint32_t row = cr->c * rr;
    const uint32_t whole = (uint64_t)ct * cpt * plane <= ACCEL_IBUF_BYTES;
    (void)P;
    if ((uint64_t)ACCEL_PE_K * row > ACCEL_WBUF_HALF) {
        CNT_ERR(ACCEL_ERR_WBUF);
        return;
    }
    /* input too large: per (K tile, block, C tile) a row band at the bottom of
     * ibuf; the rows the next block shares with this one (k - stride of them)
     * stay on chip in a per-C-tile halo at the top of ibuf */
    uint32_t band_max = 0, halo_rows = 0;
    if (!whole) {
        uint32_t done = 0;
    band_plan:
        for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4
            uint32_t lo, hi, nlo, nhi;
            band_rows(cr, b, blocks, rb, oh, &lo, &hi);
            const uint32_t start = umin(lo, done);
            band_max = hi - start > band_max ? hi - start : band_max;
            if (b + 1 < blocks) {
                band_rows(cr, b + 1, blocks, rb, oh, &nlo, &nhi);
                const uint32_t keep0 = nlo > start ? nlo : start;
                halo_rows = hi > keep0 && hi - keep0 > halo_rows ? hi - keep0 : halo_rows;
            }
            done = hi;
        }
    }
    const uint32_t halo_tile = cpt * halo_rows * w, halo_base = ACCEL_IBUF_BYTES - ct * halo_tile;
    if (!whole && (uint64_t)cpt * band_max * w + (uint64_t)ct * halo_tile > ACCEL_IBUF_BYTES) {
        CNT_ERR(ACCEL_ERR_IBUF);
        return;
    }
    if (whole)
        load_band(act_in, cr->in_src, 0, cr->c, h, w, 0, h, 0, plane);
k_tiles:
    for (uint32_t t = 0; t < kt; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
        const uint32_t k0 = t * ACCEL_PE_K, kn = umin(ACCEL_PE_K, cr->k - k0), half = t & 1;
        load_weights(wgt, cr->pb_slot, k0, kn, cr->c, rr, half);
        load_qparams(qparam, k0, kn);
        uint32_t done = 0; /* input rows [0, done) have crossed the port in this K tile */
    p_blocks:
        for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4
            const uint32_t oy0 = b * rb, p0 = oy0 * ow, pn = umin(rb, oh - oy0) * ow;
            /* the band: rows [row0, hi); [row0, done) come from the halo, [done, hi) from DRAM;
             * [keep0, hi) go to the halo for block b + 1 */
            uint32_t lo, hi, nlo, nhi;
            band_rows(cr, b, blocks, rb, oh, &lo, &hi);
            const uint32_t row0 = whole ? 0 : umin(lo, done), rows = hi - row0, carried = done - row0;
            uint32_t keep0 = hi;
            if (b + 1 < blocks) {
                band_rows(cr, b + 1, blocks, rb, oh, &nlo, &nhi);
                keep0 = nlo > row0 ? (nlo < hi ? nlo : hi) : row0;
            }
            zero_psums(pn);
        c_tiles:
            for (uint32_t ctile = 0; ctile < ct; ctile++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 256
                const uint32_t c0 = ctile * cpt, cn = umin(cpt, cr->c - c0);
                const uint32_t halo = halo_base + ctile * halo_tile;
                if (!whole) {
                    ibuf_copy(cn, carried * w, halo, halo_rows * w, 0, rows * w);
                    load_band(act_in, cr->in_src, c0, cn, h, w, done, hi - done, carried * w, rows * w);
                }
                const uint32_t cstride = whole ? plane : rows * w, ibase = whole ? c0 * plane : 0;
            pieces_l:
                for (uint32_t pc = 0; pc < pieces; pc++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 9
                    const uint32_t py = (pc / pr) * 3, px = (pc % pr) * 3;
                    const uint32_t nsteps = pn * sk;
                    CNT(passes, 1);
                steps:
                    for (uint32_t s = 0; s < nsteps; s++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16384
#pragma HLS PIPELINE II = 1
                        CNT(trips, 1);
                        if (s % sk != 0)
                            continue; /* window position between strided outputs: dropped */
                        const uint32_t pix = p0 + s / sk, oy = pix / ow, ox = pix % ow;
                        const int32_t iy0 = (int32_t)(oy * st) - (int32_t)cr->pad;
                        const int32_t ix0 = (int32_t)(ox * st) - (int32_t)cr->pad;
                    pe_k:
                        for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
                            if (o >= kn)
                                continue;
                            int32_t acc = 0;
                        pe_c:
                            for (uint32_t q = 0; q < ACCEL_PE_C; q++) {
#pragma HLS UNROLL
                            pe_tap:
                                for (uint32_t e = 0; e < 9; e++) {
#pragma HLS UNROLL
                                    uint32_t ci, wy, wx;
                                    if (fold) {
                                        ci = q * 9 + e;
                                        wy = wx = 0;
                                    } else {
                                        ci = q;
                                        wy = py + e / 3;
                                        wx = px + e % 3;
                                    }
                                    if (ci >= cn || wy >= r || wx >= r)
                                        continue;
                                    const int32_t wv = wbuf[half][o * row + (c0 + ci) * rr + wy * r + wx];
                                    acc += wv * win(ibase + ci * cstride, iy0 + (int32_t)wy, ix0 + (int32_t)wx, h,
                                                    w, row0, cr->zp_in);
                                }
                            }
                            obuf[o][pix - p0] += acc;
                        }
                    }
                }
                if (!whole && hi > keep0)
                    ibuf_copy(cn, (hi - keep0) * w, (keep0 - row0) * w, rows * w, halo, halo_rows * w);
            }
            done = hi;
            drain(res_in, act_out, acc_out, lut, add_lut, cr, k0, kn, p0, pn, P);
        }
    }
}

/* Depthwise convolution: one channel per PE column, the kernel's 3x3 pieces
 * on the column's 9 rows (cycle model dw_mode 2). */
static void conv_dw(const uint8_t *act_in, const uint8_t *res_in, const int8_t *wgt, const int32_t *qparam,
                    uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256], const uint8_t add_lut[256],
                    const accel_ctrl *cr)
{
    const uint32_t r = cr->r, st = cr->stride, h = cr->x, w = cr->y;
    /* window steps per output pixel: stride^2 positions visited, or only the kept one (stride_skip) */
    const uint32_t sk = cr->stride_skip ? 1 : st * st;
    const uint32_t oh = (h + 2 * cr->pad - r) / st + 1, ow = (w + 2 * cr->pad - r) / st + 1;
    const uint32_t P = oh * ow, plane = h * w, rr = r * r;
    const uint32_t groups = cdiv(cr->c, ACCEL_PE_K);
    const uint32_t pr = cdiv(r, 3), pieces = pr * pr, ppass = cdiv(pieces, ACCEL_PE_C);
    const uint32_t rb = block_rows(oh, ow), blocks = cdiv(oh, rb);
    const uint32_t whole = (uint64_t)groups * ACCEL_PE_K * plane <= ACCEL_IBUF_BYTES;
    (void)P;
    if (!whole && (uint64_t)ACCEL_PE_K * plane > ACCEL_IBUF_BYTES) {
        CNT_ERR(ACCEL_ERR_IBUF);
        return;
    }
    if (whole)
        load_band(act_in, cr->in_src, 0, cr->c, h, w, 0, h, 0, plane);
groups_l:
    for (uint32_t g = 0; g < groups; g++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
        const uint32_t k0 = g * ACCEL_PE_K, kn = umin(ACCEL_PE_K, cr->c - k0), half = g & 1;
        load_weights(wgt, cr->pb_slot, k0, kn, 1, rr, half);
        load_qparams(qparam, k0, kn);
        if (!whole) /* the group's planes, once for all its blocks and passes */
            load_band(act_in, cr->in_src, k0, kn, h, w, 0, h, 0, plane);
        const uint32_t gbase = whole ? k0 * plane : 0;
    dw_blocks:
        for (uint32_t b = 0; b < blocks; b++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4
            const uint32_t p0 = b * rb * ow, pn = umin(rb, oh - b * rb) * ow;
            zero_psums(pn);
        dw_pass:
            for (uint32_t pp = 0; pp < ppass; pp++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1
                const uint32_t nsteps = pn * sk;
                CNT(passes, 1);
            dw_steps:
                for (uint32_t s = 0; s < nsteps; s++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 16384
#pragma HLS PIPELINE II = 1
                    CNT(trips, 1);
                    if (s % sk != 0)
                        continue;
                    const uint32_t pix = p0 + s / sk, oy = pix / ow, ox = pix % ow;
                    const int32_t iy0 = (int32_t)(oy * st) - (int32_t)cr->pad;
                    const int32_t ix0 = (int32_t)(ox * st) - (int32_t)cr->pad;
                dw_k:
                    for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
                        if (o >= kn)
                            continue;
                        int32_t acc = 0;
                    dw_rows:
                        for (uint32_t q = 0; q < ACCEL_PE_C; q++) {
#pragma HLS UNROLL
                            const uint32_t pc = pp * ACCEL_PE_C + q;
                            if (pc >= pieces)
                                continue;
                            const uint32_t py = (pc / pr) * 3, px = (pc % pr) * 3;
                        dw_tap:
                            for (uint32_t e = 0; e < 9; e++) {
#pragma HLS UNROLL
                                const uint32_t wy = py + e / 3, wx = px + e % 3;
                                if (wy >= r || wx >= r)
                                    continue;
                                const int32_t wv = wbuf[half][o * rr + wy * r + wx];
                                acc += wv * win(gbase + o * plane, iy0 + (int32_t)wy, ix0 + (int32_t)wx, h, w, 0,
                                                cr->zp_in);
                            }
                        }
                        obuf[o][pix - p0] += acc;
                    }
                }
            }
            drain(res_in, act_out, acc_out, lut, add_lut, cr, k0, kn, p0, pn, P);
        }
    }
}

static void pb_command(const int8_t *wgt, const accel_ctrl *cr)
{
    const uint32_t slot = cr->pb_slot;
    if (cr->op == ACCEL_OP_PB_INVALIDATE) {
    pb_inv:
        for (uint32_t i = 0; i < ACCEL_PB_SLOTS; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
            if (slot == ACCEL_PB_SLOTS || slot == i)
                pb_valid[i] = 0;
        }
        return;
    }
    if (slot >= ACCEL_PB_SLOTS) {
        CNT_ERR(ACCEL_ERR_PB);
        return;
    }
    if (cr->op == ACCEL_OP_PB_MOVE) {
        const uint32_t rb = cr->pb_keep_cols * cr->pb_kk, n = cr->pb_keep_rows * rb, ds = cr->pb_cols * cr->pb_kk;
        if (n == 0)
            return;
        if ((uint64_t)cr->pb_src + (uint64_t)(cr->pb_keep_rows - 1) * cr->pb_src_stride + rb > ACCEL_PB_BYTES ||
            (uint64_t)cr->pb_base + (uint64_t)(cr->pb_keep_rows - 1) * ds + rb > ACCEL_PB_BYTES) {
            CNT_ERR(ACCEL_ERR_PB);
            return;
        }
    pb_move:
        for (uint32_t e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 3145728
#pragma HLS PIPELINE II = 1
            const uint32_t q = cr->pb_backward ? n - 1 - e : e, r = q / rb, j = q % rb;
            pb[cr->pb_base + r * ds + j] = pb[cr->pb_src + r * cr->pb_src_stride + j];
        }
        CNT(pb_moved, n);
        return;
    }
    if (cr->op == ACCEL_OP_PB_FILL) {
        const uint32_t rb = cr->pb_cols * cr->pb_kk, n = cr->pb_rows * rb, kb = cr->pb_keep_cols * cr->pb_kk;
        if ((uint64_t)cr->pb_base + n > ACCEL_PB_BYTES) {
            CNT_ERR(ACCEL_ERR_PB);
            return;
        }
        uint32_t rd = 0;
    pb_fill:
        for (uint32_t e = 0; e < n; e++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 3145728
#pragma HLS PIPELINE II = 1
            const uint32_t r = e / rb, j = e % rb;
            if (r < cr->pb_keep_rows && j < kb)
                continue;
            pb[cr->pb_base + e] = wgt[rd++];
        }
        CNT(rd_pb_load, rd);
        pb_rows[slot] = cr->pb_rows;
        pb_cols[slot] = cr->pb_cols;
        pb_kk[slot] = cr->pb_kk;
        pb_base[slot] = cr->pb_base;
        pb_valid[slot] = n != 0;
        return;
    }
    if (cr->op == ACCEL_OP_PB_KEEP) {
        if (!pb_valid[slot])
            CNT_ERR(ACCEL_ERR_PB);
        return;
    }
    const uint64_t n = (uint64_t)cr->pb_rows * cr->pb_cols * cr->pb_kk;
    if ((uint64_t)cr->pb_base + n > ACCEL_PB_BYTES) {
        CNT_ERR(ACCEL_ERR_PB);
        return;
    }
pb_load:
    for (uint32_t i = 0; i < (uint32_t)n; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 3145728
#pragma HLS PIPELINE II = 1
        pb[cr->pb_base + i] = wgt[i];
    }
    CNT(rd_pb_load, n);
    pb_rows[slot] = cr->pb_rows;
    pb_cols[slot] = cr->pb_cols;
    pb_kk[slot] = cr->pb_kk;
    pb_base[slot] = cr->pb_base;
    pb_valid[slot] = 1;
}

/* output extent of a window op: floor mode, or PyTorch's ceil mode (AVGPOOL,
 * no padding: a last window starting inside the input is kept, clipped) */
static uint32_t win_out(uint32_t in, uint32_t k, uint32_t st, uint32_t pad, uint32_t ceil_mode)
{
    uint32_t o = (in + 2 * pad - k + (ceil_mode ? st - 1 : 0)) / st + 1;
    if (ceil_mode && (o - 1) * st >= in)
        o--;
    return o;
}

/* The vector path of the SGS engine: pools, GAP, element-wise ADD and SE
 * excite, pe_k channels in parallel. Per channel group (one pass, one fill)
 * the group's input planes stream into ibuf once (and the ADD's second
 * operand after them), then one trip per window step: per output pixel for
 * the pools, per input element for GAP / ADD / EXCITE. */
static void vec_op(const uint8_t *act_in, const uint8_t *in2, const int32_t *qparam, uint8_t *act_out,
                   const uint8_t lut[256], const accel_ctrl *cr)
{
    const uint32_t op = cr->op, h = cr->x, w = cr->y, plane = h * w, c = cr->c;
    const uint32_t pool = op == ACCEL_OP_MAXPOOL || op == ACCEL_OP_AVGPOOL;
    const uint32_t k = pool ? cr->r : 1, st = pool ? cr->stride : 1, pad = op == ACCEL_OP_MAXPOOL ? cr->pad : 0;
    const uint32_t avg = op == ACCEL_OP_AVGPOOL;
    const uint32_t oh = pool ? win_out(h, k, st, pad, avg) : h, ow = pool ? win_out(w, k, st, pad, avg) : w;
    const uint32_t steps = op == ACCEL_OP_GAP ? plane : oh * ow;
    const uint32_t two = op == ACCEL_OP_ADD;
    if ((uint64_t)ACCEL_PE_K * plane * (two + 1) > ACCEL_IBUF_BYTES) {
        CNT_ERR(ACCEL_ERR_IBUF);
        return;
    }
    const uint32_t gb = mem_base(cr->in2_src);
vec_groups:
    for (uint32_t g = 0; g < cdiv(c, ACCEL_PE_K); g++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128
        const uint32_t k0 = g * ACCEL_PE_K, kn = umin(ACCEL_PE_K, c - k0);
        load_band(act_in, cr->in_src, k0, kn, h, w, 0, h, 0, plane);
        if (two)
            load_band(in2, cr->in2_src, k0, kn, h, w, 0, h, ACCEL_PE_K * plane, plane);
        int32_t gate[ACCEL_PE_K];
    vec_gate:
        for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
            gate[o] = 0;
            obuf[o][0] = 0;
            if (op == ACCEL_OP_EXCITE && o < kn) {
                if (cr->in2_src == ACCEL_MEM_DRAM) {
                    gate[o] = in2[k0 + o];
                    CNT(rd_act, 1);
                } else {
                    gate[o] = amem[gb + k0 + o];
                }
            }
        }
        CNT(passes, 1);
    vec_steps:
        for (uint32_t sp = 0; sp < steps; sp++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 50176
#pragma HLS PIPELINE II = 1
            CNT(trips, 1);
            const uint32_t oy = sp / ow, ox = sp % ow;
        vec_lanes:
            for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
                if (o >= kn)
                    continue;
                const uint32_t cb = o * plane;
                const uint64_t at = (uint64_t)(k0 + o) * steps + sp;
                if (op == ACCEL_OP_GAP) {
                    obuf[o][0] += (int32_t)ibuf[cb + sp] - cr->zp_in;
                    continue;
                }
                uint8_t y;
                if (op == ACCEL_OP_MAXPOOL) {
                    uint8_t mx = 0;
                vec_max:
                    for (uint32_t t = 0; t < ACCEL_KMAX * ACCEL_KMAX; t++) {
#pragma HLS UNROLL
                        const int32_t iy = (int32_t)(oy * st + t / ACCEL_KMAX) - (int32_t)pad;
                        const int32_t ix = (int32_t)(ox * st + t % ACCEL_KMAX) - (int32_t)pad;
                        if (t / ACCEL_KMAX >= k || t % ACCEL_KMAX >= k || iy < 0 || ix < 0 || iy >= (int32_t)h ||
                            ix >= (int32_t)w)
                            continue;
                        const uint8_t v = ibuf[cb + (uint32_t)iy * w + (uint32_t)ix];
                        mx = v > mx ? v : mx;
                    }
                    y = mx;
                } else if (op == ACCEL_OP_AVGPOOL) {
                    int32_t sum = 0;
                    uint32_t n = 0;
                vec_avg:
                    for (uint32_t t = 0; t < ACCEL_KMAX * ACCEL_KMAX; t++) {
#pragma HLS UNROLL
                        const uint32_t iy = oy * st + t / ACCEL_KMAX, ix = ox * st + t % ACCEL_KMAX;
                        if (t / ACCEL_KMAX >= k || t % ACCEL_KMAX >= k || iy >= h || ix >= w)
                            continue;
                        sum += (int32_t)ibuf[cb + iy * w + ix] - cr->zp_in;
                        n++;
                    }
                    const uint32_t ni = n < cr->n_pool ? n : 0;
                    y = sushi_q8_output(sushi_q8_requant(sum, qparam[ni], 0, qparam[cr->n_pool + ni]), cr->zp_in, 0);
                } else if (op == ACCEL_OP_ADD) {
                    y = sushi_q8_output(sushi_q8_requant2((int32_t)ibuf[cb + sp] - cr->add_zp_a, cr->add_ma,
                                                          (int32_t)ibuf[ACCEL_PE_K * plane + cb + sp] - cr->add_zp_b,
                                                          cr->add_mb, cr->add_s),
                                        cr->add_zp, cr->add_lo);
                    if (cr->use_lut)
                        y = lut[y];
                } else { /* EXCITE */
                    y = sushi_q8_output(
                        sushi_q8_requant(((int32_t)ibuf[cb + sp] - cr->zp_in) * gate[o], cr->vq_m, 0, cr->vq_s),
                        cr->zp_out, 0);
                }
                put_act(act_out, cr->out_dst, cr->out_res, at, y);
            }
        }
        if (op == ACCEL_OP_GAP) {
        vec_gap_out:
            for (uint32_t o = 0; o < ACCEL_PE_K; o++) {
#pragma HLS UNROLL
                if (o < kn)
                    put_act(act_out, cr->out_dst, cr->out_res, k0 + o,
                            sushi_q8_output(sushi_q8_requant(obuf[o][0], cr->vq_m, 0, cr->vq_s), cr->zp_in, 0));
            }
        }
    }
}

/* One command (everything but LIST). */
static void run_one(const uint8_t *act_in, const uint8_t *res_in, const int8_t *wgt, const int32_t *qparam,
                    uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256], const uint8_t add_lut[256],
                    const accel_ctrl *cr)
{
    const uint32_t conv = cr->op == ACCEL_OP_CONV || cr->op == ACCEL_OP_DWCONV;
    const uint32_t vec = cr->op >= ACCEL_OP_MAXPOOL && cr->op <= ACCEL_OP_EXCITE;
    if (conv || vec) {
        const uint32_t pool = cr->op == ACCEL_OP_MAXPOOL || cr->op == ACCEL_OP_AVGPOOL;
        const uint32_t r = conv || pool ? cr->r : 1, st = conv || pool ? cr->stride : 1;
        const uint32_t pad = conv || cr->op == ACCEL_OP_MAXPOOL ? cr->pad : 0;
        if (cr->c == 0 || r == 0 || r > ACCEL_KMAX || st == 0 || cr->x + 2 * pad < r || cr->y + 2 * pad < r ||
            (cr->y + 2 * pad - r) / st + 1 > ACCEL_OBUF_PIX || (conv && cr->k == 0) ||
            (cr->op == ACCEL_OP_DWCONV && cr->k != cr->c)) {
            CNT_ERR(ACCEL_ERR_SHAPE);
            return;
        }
        const uint32_t avg = cr->op == ACCEL_OP_AVGPOOL;
        const uint64_t oh = win_out(cr->x, r, st, pad, avg), ow = win_out(cr->y, r, st, pad, avg);
        const uint64_t out = (uint64_t)(conv ? cr->k : cr->c) * (cr->op == ACCEL_OP_GAP ? 1 : oh * ow);
        const uint64_t in = (uint64_t)cr->c * cr->x * cr->y;
        const uint64_t in2 = cr->op == ACCEL_OP_EXCITE ? cr->c : in;
        if (!mem_ok(cr->in_src, in) || !mem_ok(cr->out_dst, out) || (cr->out_res && out > ACCEL_RES_BYTES) ||
            ((cr->op == ACCEL_OP_ADD || cr->op == ACCEL_OP_EXCITE) && !mem_ok(cr->in2_src, in2)) ||
            (cr->res_en && cr->res_src != ACCEL_MEM_DRAM && (cr->res_src != ACCEL_MEM_RES || out > ACCEL_RES_BYTES))) {
            CNT_ERR(ACCEL_ERR_ACT);
            return;
        }
        if (cr->op == ACCEL_OP_CONV)
            conv_dense(act_in, res_in, wgt, qparam, act_out, acc_out, lut, add_lut, cr);
        else if (cr->op == ACCEL_OP_DWCONV)
            conv_dw(act_in, res_in, wgt, qparam, act_out, acc_out, lut, add_lut, cr);
        else
            vec_op(act_in, res_in, qparam, act_out, lut, cr);
        return;
    }
    pb_command(wgt, cr);
}

void sushi_accel(const uint8_t *act_in, const uint8_t *res_in, const int8_t *wgt, const int32_t *qparam,
                 uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256], const uint8_t add_lut[256],
                 accel_ctrl ctrl, const accel_desc *desc)
{
#pragma HLS INTERFACE m_axi port = act_in offset = slave bundle = gmem_act depth = 524288
#pragma HLS INTERFACE m_axi port = res_in offset = slave bundle = gmem_res depth = 524288
#pragma HLS INTERFACE m_axi port = wgt offset = slave bundle = gmem_wgt depth = 3145728
#pragma HLS INTERFACE m_axi port = qparam offset = slave bundle = gmem_par depth = 8192
#pragma HLS INTERFACE m_axi port = act_out offset = slave bundle = gmem_out depth = 524288
#pragma HLS INTERFACE m_axi port = acc_out offset = slave bundle = gmem_out depth = 2048
#pragma HLS INTERFACE m_axi port = desc offset = slave bundle = gmem_par depth = 1024
#pragma HLS INTERFACE s_axilite port = lut bundle = control
#pragma HLS INTERFACE s_axilite port = add_lut bundle = control
#pragma HLS INTERFACE s_axilite port = ctrl bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
#pragma HLS ARRAY_PARTITION variable = obuf dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = qbuf dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = wbuf dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = wbuf dim = 2 cyclic factor = 144
#pragma HLS ARRAY_PARTITION variable = ibuf cyclic factor = 81
#pragma HLS BIND_STORAGE variable = pb type = ram_2p impl = uram
#pragma HLS BIND_STORAGE variable = amem type = ram_2p impl = uram
    if (ctrl.op != ACCEL_OP_LIST) {
        run_one(act_in, res_in, wgt, qparam, act_out, acc_out, lut, add_lut, &ctrl);
        return;
    }
    if (ctrl.n_desc > ACCEL_LIST_MAX) {
        CNT_ERR(ACCEL_ERR_SHAPE);
        return;
    }
    /* one call: the descriptors run back to back; act_in, res_in and act_out
     * are the same activation arena, addressed by the descriptors' offsets */
list_l:
    for (uint32_t i = 0; i < ctrl.n_desc; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024
        const accel_desc d = desc[i];
        CNT(rd_desc, sizeof(accel_desc));
        if (d.c.op == ACCEL_OP_LIST) {
            CNT_ERR(ACCEL_ERR_SHAPE);
            return;
        }
        run_one(act_in + d.in_off, res_in + d.in2_off, wgt + d.wgt_off, qparam + d.qp_off, act_out + d.out_off,
                acc_out, d.lut, d.add_lut, &d.c);
#ifndef __SYNTHESIS__
        list_cnt[i] = cnt;
#endif
    }
}
