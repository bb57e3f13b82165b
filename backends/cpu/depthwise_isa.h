/* The channel-group depthwise kernel for one vector ISA (depthwise.c includes
 * this once per ISA). The includer defines:
 *   DW_V        vector lanes = channels per group (16 or 8)
 *   DW_VEC      the vector type; DW_T the target attribute
 *   DW_FN(x)    x with the ISA's suffix
 *   DW_ZERO(), DW_LOAD(p) (aligned), DW_STORE(p, v) (aligned), DW_LOADU(p),
 *   DW_FMA(a, b, c) (a * b + c), DW_ADD, DW_MUL, DW_MAX, DW_MIN, DW_DIV,
 *   DW_SET1(x)
 *   DW_MASK, DW_MASK_N(n) (the first n lanes), DW_MLOAD(m, p) (masked-out
 *   lanes zero, never read), DW_MSTORE(p, m, v)
 *   DW_TRANSPOSE(r) (r[0 .. DW_V - 1] := its transpose)
 * and this file undefines them at its end. See depthwise.c for what the
 * kernel does. */

/* T[(iy + pad) * tw + ix + pad] = the cn (<= DW_V) channels of pixel (iy, ix)
 * of the planes x (plane stride h * w), for rows iy0 <= iy < iy1; the
 * border of T stays as it is (zero). */
DW_T static void DW_FN(dw_to_pixels)(const float *x, uint32_t cn, uint32_t h, uint32_t w, uint32_t pad,
                                     uint32_t iy0, uint32_t iy1, float *T)
{
    const size_t hw = (size_t)h * w, tw = (size_t)w + 2 * pad, end = (size_t)iy1 * w;
    size_t iy = iy0, ix = 0;
    for (size_t i0 = (size_t)iy0 * w; i0 < end; i0 += DW_V) {
        size_t n = end - i0 < DW_V ? end - i0 : DW_V;
        DW_MASK m = DW_MASK_N(n);
        DW_VEC r[DW_V];
        for (uint32_t c = 0; c < DW_V; c++)
            r[c] = c < cn ? DW_MLOAD(m, x + c * hw + i0) : DW_ZERO();
        DW_TRANSPOSE(r);
        for (size_t j = 0; j < n; j++) {
            DW_STORE(T + DW_V * ((iy + pad) * tw + ix + pad), r[j]);
            if (++ix == w) {
                ix = 0;
                iy++;
            }
        }
    }
}

/* pixels i0 .. i1 - 1 of the cn channels' planes y (plane stride npix) from
 * the pixel-major O (pixel i at O + DW_V (i - i0)) */
DW_T static void DW_FN(dw_from_pixels)(const float *O, uint32_t cn, size_t npix, size_t i0, size_t i1, float *y)
{
    for (; i0 < i1; i0 += DW_V, O += DW_V * DW_V) {
        size_t n = i1 - i0 < DW_V ? i1 - i0 : DW_V;
        DW_MASK m = DW_MASK_N(n);
        DW_VEC r[DW_V];
        for (size_t j = 0; j < DW_V; j++)
            r[j] = j < n ? DW_LOAD(O + DW_V * j) : DW_ZERO();
        DW_TRANSPOSE(r);
        for (uint32_t c = 0; c < cn; c++)
            DW_MSTORE(y + c * npix + i0, m, r[c]);
    }
}

DW_T static inline __attribute__((always_inline)) DW_VEC DW_FN(dw_epi)(DW_VEC a, DW_VEC sc, DW_VEC sh, int act)
{
    const DW_VEC zero = DW_ZERO(), three = DW_SET1(3.0f), six = DW_SET1(6.0f);
    DW_VEC v = DW_ADD(DW_MUL(a, sc), sh);
    switch (act) {
    case SUSHI_ACT_RELU: return DW_MAX(v, zero);
    case SUSHI_ACT_HSWISH: return DW_DIV(DW_MUL(v, DW_MIN(DW_MAX(DW_ADD(v, three), zero), six)), six);
    case SUSHI_ACT_HSIGMOID: return DW_DIV(DW_MIN(DW_MAX(DW_ADD(v, three), zero), six), six);
    default: return v;
    }
}

/* Output pixels ox0 .. ox0 + NP - 1 of row oy: k x k taps, stride ST. */
#define DW_PIX(NP, K, ST)                                                                                          \
    DW_T static void DW_FN(dw_pix_##NP##_##K##_##ST)(const dw_group *g, uint32_t oy, uint32_t ox0)                 \
    {                                                                                                              \
        DW_VEC acc[NP];                                                                                            \
        DW_UNROLL                                                                                                  \
        for (int p = 0; p < NP; p++)                                                                               \
            acc[p] = DW_ZERO();                                                                                    \
        const float *t = g->T + DW_V * ((size_t)oy * (ST) * g->tw + (size_t)ox0 * (ST));                           \
        const float *wk = g->W;                                                                                    \
        for (int ky = 0; ky < (K); ky++, t += DW_V * g->tw, wk += DW_V * (K)) {                                    \
            DW_UNROLL                                                                                              \
            for (int kx = 0; kx < (K); kx++) {                                                                     \
                DW_VEC wv = DW_LOAD(wk + DW_V * kx);                                                               \
                DW_UNROLL                                                                                          \
                for (int p = 0; p < NP; p++)                                                                       \
                    acc[p] = DW_FMA(wv, DW_LOAD(t + DW_V * (p * (ST) + kx)), acc[p]);                              \
            }                                                                                                      \
        }                                                                                                          \
        float *o = g->O + DW_V * ((size_t)(oy - g->oyb) * g->ow + ox0);                                            \
        const DW_VEC sc = DW_LOADU(g->sc), sh = DW_LOADU(g->sh);                                                   \
        DW_UNROLL                                                                                                  \
        for (int p = 0; p < NP; p++)                                                                               \
            DW_STORE(o + DW_V * p, DW_FN(dw_epi)(acc[p], sc, sh, g->act));                                         \
    }
#define DW_PIX_NP(K, ST) DW_PIX(14, K, ST) DW_PIX(8, K, ST) DW_PIX(4, K, ST) DW_PIX(1, K, ST)
#define DW_PIX_K(ST) DW_PIX_NP(3, ST) DW_PIX_NP(5, ST) DW_PIX_NP(7, ST)
DW_PIX_K(1)
DW_PIX_K(2)

#define DW_PIX_FNS(K, ST)                                                                                          \
    { DW_FN(dw_pix_14_##K##_##ST), DW_FN(dw_pix_8_##K##_##ST), DW_FN(dw_pix_4_##K##_##ST),                          \
      DW_FN(dw_pix_1_##K##_##ST) }
/* by stride - 1; kernel 3, 5, 7; block of 14, 8, 4, 1 pixels (dw_pix_n) */
static const dw_pix_fn DW_FN(dw_pix)[2][3][4] = {
    { DW_PIX_FNS(3, 1), DW_PIX_FNS(5, 1), DW_PIX_FNS(7, 1) },
    { DW_PIX_FNS(3, 2), DW_PIX_FNS(5, 2), DW_PIX_FNS(7, 2) },
};
#undef DW_PIX
#undef DW_PIX_NP
#undef DW_PIX_K
#undef DW_PIX_FNS

/* cpu_dw_own_group on this ISA */
static void DW_FN(dw_group_run)(const sushi_layer *l, uint32_t cn, uint32_t oy0, uint32_t oy1, const float *x,
                                const float *w, float *y, const float *sc, const float *sh, int act, float *T)
{
    const uint32_t k = l->kernel, kk = k * k, st = l->stride, pad = l->pad;
    float *O = T + DW_V * dw_tpix(l), *W = O + DW_V * dw_opix(l);
    for (uint32_t t = 0; t < kk; t++)
        for (uint32_t c = 0; c < DW_V; c++)
            W[DW_V * t + c] = c < cn ? w[(size_t)c * kk + t] : 0.0f;
    /* input rows the output rows oy0 .. oy1 - 1 read */
    long lo = (long)oy0 * st - (long)pad, hi = (long)(oy1 - 1) * st - (long)pad + (long)k;
    uint32_t iy0 = lo < 0 ? 0 : (uint32_t)lo, iy1 = hi > (long)l->in_h ? l->in_h : (uint32_t)hi;
    DW_FN(dw_to_pixels)(x, cn, l->in_h, l->in_w, pad, iy0, iy1, T);
    dw_group g = { .T = T, .W = W, .O = O, .tw = (size_t)l->in_w + 2 * (size_t)pad, .oh = l->out_h,
                   .ow = l->out_w, .act = act };
    for (uint32_t c = 0; c < DW_V; c++) {
        g.sc[c] = c < cn ? sc[c] : 0.0f;
        g.sh[c] = c < cn ? sh[c] : 0.0f;
    }
    const dw_pix_fn *fn = DW_FN(dw_pix)[st - 1][(k - 3) / 2];
    const uint32_t rows = dw_orows(l);
    for (g.oyb = oy0; g.oyb < oy1; g.oyb += rows) {
        uint32_t end = oy1 - g.oyb < rows ? oy1 : g.oyb + rows;
        for (uint32_t oy = g.oyb; oy < end; oy++)
            for (uint32_t ox = 0, b = 0; ox < g.ow;) {
                while (g.ow - ox < dw_pix_n[b])
                    b++;
                fn[b](&g, oy, ox);
                ox += dw_pix_n[b];
            }
        DW_FN(dw_from_pixels)(O, cn, (size_t)l->out_h * l->out_w, (size_t)g.oyb * l->out_w, (size_t)end * l->out_w,
                              y);
    }
}

#undef DW_V
#undef DW_VEC
#undef DW_T
#undef DW_FN
#undef DW_ZERO
#undef DW_LOAD
#undef DW_LOADU
#undef DW_STORE
#undef DW_FMA
#undef DW_ADD
#undef DW_MUL
#undef DW_MAX
#undef DW_MIN
#undef DW_DIV
#undef DW_SET1
#undef DW_MASK
#undef DW_MASK_N
#undef DW_MLOAD
#undef DW_MSTORE
#undef DW_TRANSPOSE
