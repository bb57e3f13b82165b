/* sushi_subgraph: per-tensor prefix boxes, intersection, hit bytes, containment, truncation.
 * (Performance is benchmarked in bench/; no timing here.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

TestSuite(subgraph, .fini = fx_release);

static uint64_t wbytes(const sushi_subnet *s) { return stats_of(s).weight_bytes; }

Test(subgraph, create_returns_empty_graph_with_one_slot_per_weight_tensor)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subgraph *g = subgraph_empty(sn);
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_n_tensors(g), info.n_tensors);
    cr_assert_eq(sushi_subgraph_bytes(g), 0);
    for (size_t t = 0; t < info.n_tensors; t++) {
        uint32_t o = 1, i = 1, k = 0;
        cr_assert_eq(sushi_subgraph_get(g, t, &o, &i, &k), SUSHI_OK);
        cr_assert_eq((uint64_t)o * i, 0);
        cr_assert_geq(k, 1);
    }
    sushi_subgraph_destroy(g);
    sushi_subgraph_destroy(NULL);
}

Test(subgraph, create_null_arguments_return_invalid)
{
    sushi_subgraph *g = (sushi_subgraph *)fx_ctx();
    cr_assert_eq(sushi_subgraph_create(NULL, &g), SUSHI_ERR_INVALID);
    cr_assert_null(g);
    cr_assert_eq(sushi_subgraph_create(fx_mbv3(), NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_bytes(NULL), 0);
    cr_assert_eq(sushi_subgraph_n_tensors(NULL), 0);
    cr_assert_eq(sushi_subgraph_clear(NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_truncate(NULL, 10), SUSHI_ERR_INVALID);
}

Test(subgraph, set_subnet_bytes_equal_subnet_weight_bytes)
{
    const sushi_supernet *nets[2] = { fx_mbv3(), fx_mbv3_12() };
    for (int k = 0; k < 2; k++) {
        uint64_t rng = 31 + (uint64_t)k;
        for (int i = 0; i < 30; i++) {
            sushi_config c = i == 0 ? cfg_extreme(nets[k], false, 224)
                           : i == 1 ? cfg_extreme(nets[k], true, 224)
                                    : cfg_random(nets[k], &rng, 160);
            sushi_subnet *s = subnet_of(nets[k], &c);
            sushi_subgraph *g = subgraph_of(s);
            cr_assert_eq(sushi_subgraph_bytes(g), wbytes(s), "config %d", i);
            cr_assert_eq(sushi_subgraph_hit_bytes(g, s), wbytes(s), "hit(s, g_s) == bytes(s)");
            cr_assert(sushi_subgraph_contains_subnet(g, s));
            sushi_subgraph_destroy(g);
            sushi_subnet_destroy(s);
        }
    }
}

Test(subgraph, set_subnet_boxes_are_prefixes_of_the_stored_tensors)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subnet *s = subnet_text(sn, "min");
    sushi_subgraph *g = subgraph_of(s);
    sushi_subgraph *full = subgraph_empty(sn);
    size_t n = sushi_subgraph_n_tensors(g);
    for (size_t t = 0; t < n; t++)
        cr_assert_eq(sushi_subgraph_set(full, t, UINT32_MAX, UINT32_MAX), SUSHI_OK);
    cr_assert(sushi_subgraph_contains(full, g));
    /* first_conv of min: 16 x 3 x 3 x 3 */
    uint32_t o, i, k;
    cr_assert_eq(sushi_subgraph_get(g, 0, &o, &i, &k), SUSHI_OK);
    cr_assert_str_eq(sushi_supernet_tensor_name(sn, 0), "first_conv.conv.weight");
    cr_assert(o == 16 && i == 3 && k == 9, "%u %u %u", o, i, k);
    sushi_subgraph_destroy(full);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
}

Test(subgraph, set_subnet_mismatched_supernet_returns_invalid)
{
    sushi_subnet *s = subnet_text(fx_mbv3(), "max");
    sushi_subnet *o = subnet_text(fx_mbv3_other(), "max"); /* same family, another object */
    sushi_subgraph *g = subgraph_empty(fx_mbv3());
    sushi_subgraph *go = subgraph_of(o);
    sushi_subgraph *gs = subgraph_of(s);
    cr_assert_eq(sushi_subgraph_set_subnet(g, o), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect_subnet(g, o), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect(g, gs, go), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect(go, gs, gs), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_copy(g, go), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_hit_bytes(go, s), 0);
    cr_assert_eq(sushi_subgraph_hit_bytes(gs, o), 0);
    cr_assert_not(sushi_subgraph_contains(go, gs));
    cr_assert_not(sushi_subgraph_contains(gs, go));
    cr_assert_not(sushi_subgraph_contains_subnet(go, s));
    /* and nothing was modified */
    cr_assert_eq(sushi_subgraph_bytes(g), 0);
    cr_assert_eq(sushi_subgraph_bytes(gs), wbytes(s));
    /* different families */
    sushi_subgraph *gm = subgraph_empty(fx_mbv3_12());
    cr_assert_eq(sushi_subgraph_set_subnet(gm, s), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_hit_bytes(gm, s), 0);
    sushi_subgraph_destroy(gm);
    sushi_subgraph_destroy(g);
    sushi_subgraph_destroy(go);
    sushi_subgraph_destroy(gs);
    sushi_subnet_destroy(s);
    sushi_subnet_destroy(o);
}

Test(subgraph, null_arguments_return_invalid_zero_or_false)
{
    sushi_subnet *s = subnet_text(fx_mbv3(), "min");
    sushi_subgraph *g = subgraph_of(s);
    cr_assert_eq(sushi_subgraph_set_subnet(NULL, s), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_set_subnet(g, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect_subnet(NULL, s), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect_subnet(g, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect(NULL, g, g), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect(g, NULL, g), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_intersect(g, g, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_copy(NULL, g), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_copy(g, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_hit_bytes(NULL, s), 0);
    cr_assert_eq(sushi_subgraph_hit_bytes(g, NULL), 0);
    cr_assert_not(sushi_subgraph_contains(NULL, g));
    cr_assert_not(sushi_subgraph_contains(g, NULL));
    cr_assert_not(sushi_subgraph_contains_subnet(NULL, s));
    cr_assert_not(sushi_subgraph_contains_subnet(g, NULL));
    uint32_t o;
    cr_assert_eq(sushi_subgraph_get(NULL, 0, &o, NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_set(NULL, 0, 1, 1), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_subgraph_bytes(g), wbytes(s));
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
}

/* A pair of SubNets and their SubGraphs. */
typedef struct pair {
    sushi_subnet *a, *b;
    sushi_subgraph *ga, *gb;
} pair;

static pair make_pair(const sushi_supernet *sn, uint64_t *rng)
{
    pair p;
    sushi_config ca = cfg_random(sn, rng, 224), cb = cfg_random(sn, rng, 160);
    p.a = subnet_of(sn, &ca);
    p.b = subnet_of(sn, &cb);
    p.ga = subgraph_of(p.a);
    p.gb = subgraph_of(p.b);
    return p;
}

static void free_pair(pair *p)
{
    sushi_subgraph_destroy(p->ga);
    sushi_subgraph_destroy(p->gb);
    sushi_subnet_destroy(p->a);
    sushi_subnet_destroy(p->b);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void check_algebra(const sushi_supernet *sn, uint64_t seed, int rounds)
{
    uint64_t rng = seed;
    sushi_subgraph *ab = subgraph_empty(sn), *ba = subgraph_empty(sn), *aa = subgraph_empty(sn);
    for (int r = 0; r < rounds; r++) {
        pair p = make_pair(sn, &rng);
        uint64_t wa = wbytes(p.a), wb = wbytes(p.b);
        cr_assert_eq(sushi_subgraph_intersect(ab, p.ga, p.gb), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_intersect(ba, p.gb, p.ga), SUSHI_OK);
        /* commutative */
        cr_assert(subgraph_same(ab, ba), "round %d", r);
        cr_assert_eq(sushi_subgraph_bytes(ab), sushi_subgraph_bytes(ba));
        /* idempotent */
        cr_assert_eq(sushi_subgraph_intersect(aa, p.ga, p.ga), SUSHI_OK);
        cr_assert(subgraph_same(aa, p.ga));
        /* the common SubGraph lies in both and is no larger than either */
        uint64_t cb = sushi_subgraph_bytes(ab);
        cr_assert_leq(cb, min_u64(wa, wb));
        cr_assert(sushi_subgraph_contains(p.ga, ab));
        cr_assert(sushi_subgraph_contains(p.gb, ab));
        cr_assert(sushi_subgraph_contains(ab, ab));
        /* hit(s, common(a, b)) <= min(bytes(a), bytes(b)); for a itself it is all of common */
        uint64_t ha = sushi_subgraph_hit_bytes(ab, p.a), hb = sushi_subgraph_hit_bytes(ab, p.b);
        cr_assert_leq(ha, min_u64(wa, wb));
        cr_assert_leq(hb, min_u64(wa, wb));
        cr_assert_eq(ha, cb, "common is inside a: a hits all of it");
        cr_assert_eq(hb, cb);
        /* hit(a, g_b) == hit(b, g_a) == bytes(common) */
        cr_assert_eq(sushi_subgraph_hit_bytes(p.gb, p.a), cb);
        cr_assert_eq(sushi_subgraph_hit_bytes(p.ga, p.b), cb);
        /* intersect_subnet == intersect with the SubNet's SubGraph */
        sushi_subgraph *t = subgraph_empty(sn);
        cr_assert_eq(sushi_subgraph_copy(t, p.ga), SUSHI_OK);
        cr_assert(subgraph_same(t, p.ga));
        cr_assert_eq(sushi_subgraph_intersect_subnet(t, p.b), SUSHI_OK);
        cr_assert(subgraph_same(t, ab));
        /* aliasing: dst == a */
        cr_assert_eq(sushi_subgraph_copy(t, p.ga), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_intersect(t, t, p.gb), SUSHI_OK);
        cr_assert(subgraph_same(t, ab));
        cr_assert_eq(sushi_subgraph_copy(t, p.gb), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_intersect(t, p.ga, t), SUSHI_OK);
        cr_assert(subgraph_same(t, ab));
        /* associativity with a third SubNet */
        sushi_config cc = cfg_random(sn, &rng, 192);
        sushi_subnet *c = subnet_of(sn, &cc);
        sushi_subgraph *gc = subgraph_of(c), *l = subgraph_empty(sn), *rgt = subgraph_empty(sn);
        cr_assert_eq(sushi_subgraph_intersect(l, ab, gc), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_intersect(rgt, p.gb, gc), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_intersect(rgt, p.ga, rgt), SUSHI_OK);
        cr_assert(subgraph_same(l, rgt));
        cr_assert_leq(sushi_subgraph_hit_bytes(l, c), sushi_subgraph_hit_bytes(ab, c));
        sushi_subgraph_destroy(gc);
        sushi_subgraph_destroy(l);
        sushi_subgraph_destroy(rgt);
        sushi_subnet_destroy(c);
        sushi_subgraph_destroy(t);
        free_pair(&p);
    }
    sushi_subgraph_destroy(ab);
    sushi_subgraph_destroy(ba);
    sushi_subgraph_destroy(aa);
}

Test(subgraph, intersect_mbv3_commutative_idempotent_and_bounded)
{
    check_algebra(fx_mbv3(), 1, 40);
}


Test(subgraph, hit_bytes_bounded_by_both_sides)
{
    const sushi_supernet *sn = fx_mbv3();
    uint64_t rng = 404;
    for (int r = 0; r < 40; r++) {
        pair p = make_pair(sn, &rng);
        uint64_t h = sushi_subgraph_hit_bytes(p.gb, p.a);
        cr_assert_leq(h, wbytes(p.a));
        cr_assert_leq(h, sushi_subgraph_bytes(p.gb));
        sushi_subgraph *e = subgraph_empty(sn);
        cr_assert_eq(sushi_subgraph_hit_bytes(e, p.a), 0);
        sushi_subgraph_destroy(e);
        free_pair(&p);
    }
}

static void resnet_contains_follows_prefix_order(void)
{
    const sushi_supernet *sn = fx_resnet();
    /* in ResNet every choice is a prefix: max contains min, not the reverse */
    sushi_subnet *mx = subnet_text(sn, "max"), *mn = subnet_text(sn, "min");
    sushi_subgraph *gmx = subgraph_of(mx), *gmn = subgraph_of(mn), *e = subgraph_empty(sn);
    cr_assert(sushi_subgraph_contains(gmx, gmn));
    cr_assert_not(sushi_subgraph_contains(gmn, gmx));
    cr_assert(sushi_subgraph_contains_subnet(gmx, mn));
    cr_assert_not(sushi_subgraph_contains_subnet(gmn, mx));
    cr_assert(sushi_subgraph_contains(gmn, e), "the empty SubGraph is in everything");
    cr_assert(sushi_subgraph_contains(e, e));
    cr_assert_not(sushi_subgraph_contains(e, gmn));
    cr_assert_not(sushi_subgraph_contains_subnet(e, mn));
    cr_assert(sushi_subgraph_contains_subnet(gmx, mx));
    /* one channel short of s in one tensor: not contained */
    sushi_subgraph *t = subgraph_of(mx);
    uint32_t o, i;
    cr_assert_eq(sushi_subgraph_get(t, 5, &o, &i, NULL), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_set(t, 5, o - 1, i), SUSHI_OK);
    cr_assert_not(sushi_subgraph_contains_subnet(t, mx));
    cr_assert_not(sushi_subgraph_contains(t, gmx));
    cr_assert(sushi_subgraph_contains(gmx, t));
    cr_assert_eq(sushi_subgraph_hit_bytes(t, mx), sushi_subgraph_bytes(t));
    sushi_subgraph_destroy(t);
    sushi_subgraph_destroy(gmx);
    sushi_subgraph_destroy(gmn);
    sushi_subgraph_destroy(e);
    sushi_subnet_destroy(mx);
    sushi_subnet_destroy(mn);
}

Test(subgraph, contains_mbv3_different_kernels_are_disjoint_tensors)
{
    /* k7 and k3 depthwise filters are separate stored tensors: max does not contain min */
    const sushi_supernet *sn = fx_mbv3();
    sushi_subnet *mx = subnet_text(sn, "max"), *mn = subnet_text(sn, "min");
    sushi_subgraph *gmx = subgraph_of(mx);
    cr_assert_not(sushi_subgraph_contains_subnet(gmx, mn));
    /* same kernels, smaller expand ratios: contained */
    sushi_subnet *e3 = subnet_text(sn, "{\"ks\":7,\"e\":3,\"d\":[4,4,4,4,4],\"r\":224}");
    cr_assert(sushi_subgraph_contains_subnet(gmx, e3));
    cr_assert_eq(sushi_subgraph_hit_bytes(gmx, e3), wbytes(e3));
    sushi_subgraph_destroy(gmx);
    sushi_subnet_destroy(mx);
    sushi_subnet_destroy(mn);
    sushi_subnet_destroy(e3);
}

Test(subgraph, clear_and_copy_behave_as_values)
{
    sushi_subnet *s = subnet_text(fx_mbv3(), "max");
    sushi_subgraph *g = subgraph_of(s), *h = subgraph_empty(fx_mbv3());
    cr_assert_eq(sushi_subgraph_copy(h, g), SUSHI_OK);
    cr_assert(subgraph_same(g, h));
    cr_assert_eq(sushi_subgraph_copy(h, h), SUSHI_OK, "self copy");
    cr_assert(subgraph_same(g, h));
    cr_assert_eq(sushi_subgraph_clear(g), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(g), 0);
    cr_assert_eq(sushi_subgraph_bytes(h), wbytes(s), "copy is independent");
    sushi_subgraph_destroy(g);
    sushi_subgraph_destroy(h);
    sushi_subnet_destroy(s);
}

Test(subgraph, get_set_clamp_to_tensor_shape)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subgraph *g = subgraph_empty(sn);
    size_t n = sushi_subgraph_n_tensors(g);
    bool seen_dw7 = false, seen_linear = false;
    for (size_t t = 0; t < n; t++) {
        const sushi_tensor *ts = &sn->tensors[sn->wt[t]];
        cr_assert_str_eq(sushi_supernet_tensor_name(sn, t), ts->name);
        cr_assert_eq(sushi_subgraph_set(g, t, UINT32_MAX, UINT32_MAX), SUSHI_OK);
        uint32_t o, i, k;
        cr_assert_eq(sushi_subgraph_get(g, t, &o, &i, &k), SUSHI_OK);
        cr_assert_eq(o, ts->shape[0], "%s", ts->name);
        cr_assert_eq(i, ts->shape[1], "%s", ts->name);
        if (ts->ndim == 4) {
            cr_assert_eq(k, ts->shape[2] * ts->shape[3], "%s", ts->name);
            if (ts->shape[1] == 1 && ts->shape[2] == 7) {
                seen_dw7 = true;
                cr_assert_eq(i, 1, "depthwise: one input channel per filter");
                cr_assert_eq(k, 49);
            }
        } else {
            cr_assert_eq(k, 1, "%s", ts->name);
            seen_linear = true;
        }
        /* within bounds: taken as is */
        cr_assert_eq(sushi_subgraph_set(g, t, 1, 1), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_get(g, t, &o, &i, NULL), SUSHI_OK);
        cr_assert(o == 1 && i == 1);
        /* a zero extent empties the box */
        cr_assert_eq(sushi_subgraph_set(g, t, 0, 5), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_get(g, t, &o, &i, NULL), SUSHI_OK);
        cr_assert_eq((uint64_t)o * i, 0);
        cr_assert_eq(sushi_subgraph_set(g, t, UINT32_MAX, UINT32_MAX), SUSHI_OK);
    }
    cr_assert(seen_dw7 && seen_linear);
    /* all boxes full: bytes == the SuperNet's weight elements */
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_bytes(g), info.weight_elems);
    uint32_t o;
    cr_assert_eq(sushi_subgraph_get(g, n, &o, NULL, NULL), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_subgraph_set(g, n, 1, 1), SUSHI_ERR_RANGE);
    cr_assert_eq(sushi_subgraph_get(g, 0, NULL, NULL, NULL), SUSHI_OK, "NULL outputs allowed");
    sushi_subgraph_destroy(g);
}

/* ---------------- truncation ---------------- */

typedef struct box {
    uint32_t o, i, k;
} box;

static void boxes(const sushi_subgraph *g, box *b, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        cr_assert_eq(sushi_subgraph_get(g, t, &b[t].o, &b[t].i, &b[t].k), SUSHI_OK);
        if ((uint64_t)b[t].o * b[t].i == 0)
            b[t].o = b[t].i = 0;
    }
}

/* truncate(g, budget) keeps whole tensors in network order, then whole
 * 16-channel output tiles of the first tensor that does not fit, then nothing. */
static void check_truncate(const sushi_subgraph *orig, uint64_t budget)
{
    size_t n = sushi_subgraph_n_tensors(orig);
    sushi_subgraph *g = subgraph_empty(orig->sn);
    cr_assert_eq(sushi_subgraph_copy(g, orig), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_truncate(g, budget), SUSHI_OK);
    uint64_t bytes = sushi_subgraph_bytes(g);
    cr_assert_leq(bytes, budget, "budget %llu", (unsigned long long)budget);
    cr_assert(sushi_subgraph_contains(orig, g));
    box a[256], b[256];
    cr_assert_leq(n, 256);
    boxes(orig, a, n);
    boxes(g, b, n);
    size_t t = 0;
    while (t < n && a[t].o == b[t].o && a[t].i == b[t].i)
        t++;
    if (t == n) {
        cr_assert_eq(bytes, sushi_subgraph_bytes(orig), "nothing dropped");
        cr_assert_geq(budget, bytes);
    } else {
        /* tensor t is the cut: a prefix of whole tiles, same input extent */
        cr_assert_lt(b[t].o, a[t].o);
        cr_assert_eq(b[t].o % SUSHI_SUBGRAPH_TILE_OUT, 0, "tile granularity (%u)", b[t].o);
        if (b[t].o)
            cr_assert_eq(b[t].i, a[t].i);
        /* maximal: one more tile of t would not fit */
        uint64_t row = (uint64_t)a[t].i * a[t].k;
        uint64_t next_tile = (uint64_t)(a[t].o - b[t].o < SUSHI_SUBGRAPH_TILE_OUT ? a[t].o - b[t].o
                                                                                : SUSHI_SUBGRAPH_TILE_OUT) *
                             row;
        cr_assert_gt(bytes + next_tile, budget, "tensor %zu: a further tile would have fit", t);
        /* everything after the cut is dropped */
        for (size_t u = t + 1; u < n; u++)
            cr_assert_eq((uint64_t)b[u].o * b[u].i, 0, "tensor %zu after the cut %zu kept", u, t);
    }
    sushi_subgraph_destroy(g);
}

Test(subgraph, truncate_respects_budget_tiles_and_network_order)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subnet *s = subnet_text(sn, "max");
    sushi_subgraph *g = subgraph_of(s);
    uint64_t total = sushi_subgraph_bytes(g);
    check_truncate(g, 0);
    check_truncate(g, 1);
    check_truncate(g, 431);
    check_truncate(g, 432);
    check_truncate(g, total - 1);
    check_truncate(g, total);
    check_truncate(g, total + 1);
    check_truncate(g, UINT64_MAX);
    uint64_t rng = 8;
    for (int i = 0; i < 60; i++)
        check_truncate(g, trng(&rng) % (total + 1));
    /* a random SubNet and a partial intersection as inputs */
    sushi_config c = cfg_random(sn, &rng, 224);
    sushi_subnet *r = subnet_of(sn, &c);
    sushi_subgraph *gr = subgraph_of(r);
    cr_assert_eq(sushi_subgraph_intersect(gr, gr, g), SUSHI_OK);
    for (int i = 0; i < 30; i++)
        check_truncate(gr, trng(&rng) % (sushi_subgraph_bytes(gr) + 1));
    sushi_subgraph_destroy(gr);
    sushi_subnet_destroy(r);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
}

Test(subgraph, truncate_monotone_in_budget)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_subnet *s = subnet_text(sn, "max@192");
    sushi_subgraph *orig = subgraph_of(s);
    uint64_t total = sushi_subgraph_bytes(orig);
    sushi_subgraph *prev = subgraph_empty(sn), *cur = subgraph_empty(sn);
    uint64_t prev_bytes = 0;
    for (uint64_t budget = 0; budget <= total + 4096; budget += total / 97 + 1) {
        cr_assert_eq(sushi_subgraph_copy(cur, orig), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_truncate(cur, budget), SUSHI_OK);
        uint64_t b = sushi_subgraph_bytes(cur);
        cr_assert_geq(b, prev_bytes, "budget %llu", (unsigned long long)budget);
        cr_assert(sushi_subgraph_contains(cur, prev), "larger budget keeps what a smaller one kept");
        cr_assert_eq(sushi_subgraph_copy(prev, cur), SUSHI_OK);
        prev_bytes = b;
    }
    cr_assert_eq(prev_bytes, total);
    /* deterministic and idempotent */
    sushi_subgraph *x = subgraph_empty(sn), *y = subgraph_empty(sn);
    cr_assert_eq(sushi_subgraph_copy(x, orig), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_copy(y, orig), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_truncate(x, total / 3), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_truncate(y, total / 3), SUSHI_OK);
    cr_assert(subgraph_same(x, y));
    cr_assert_eq(sushi_subgraph_truncate(y, total / 3), SUSHI_OK);
    cr_assert(subgraph_same(x, y));
    sushi_subgraph_destroy(x);
    sushi_subgraph_destroy(y);
    sushi_subgraph_destroy(prev);
    sushi_subgraph_destroy(cur);
    sushi_subgraph_destroy(orig);
    sushi_subnet_destroy(s);
}

static void resnet_truncate_min_to_zcu104_capacity_keeps_leading_layers(void)
{
    /* ZCU104 has ~4.75 MB on chip; the smallest ResNet50 SubNet does not fit */
    const sushi_supernet *sn = fx_resnet();
    sushi_subnet *s = subnet_text(sn, "min");
    sushi_subgraph *g = subgraph_of(s);
    const uint64_t cap = 4750000;
    cr_assert_gt(sushi_subgraph_bytes(g), cap);
    check_truncate(g, cap);
    sushi_subgraph *t = subgraph_empty(sn);
    cr_assert_eq(sushi_subgraph_copy(t, g), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_truncate(t, cap), SUSHI_OK);
    cr_assert_gt(sushi_subgraph_bytes(t), cap - 2048ull * 16 * 9, "within a tile of the budget or a tensor boundary");
    uint32_t o0, i0;
    cr_assert_eq(sushi_subgraph_get(t, 0, &o0, &i0, NULL), SUSHI_OK);
    cr_assert_gt(o0, 0, "the stem is kept first");
    cr_assert_eq(sushi_subgraph_hit_bytes(t, s), sushi_subgraph_bytes(t));
    sushi_subgraph_destroy(t);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s);
}

/* ofa-resnet50 is ~50 M synthetic floats and Criterion runs each test in a
 * fresh process: the resnet checks of this file share one test (one build). */
Test(subgraph, algebra_resnet50_commutative_contained_and_truncated, .timeout = 60)
{
    check_algebra(fx_resnet(), 2, 20);
    resnet_contains_follows_prefix_order();
    resnet_truncate_min_to_zcu104_capacity_keeps_leading_layers();
}

Test(subgraph, subgraph_keeps_supernet_alive)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(fx_ctx(), "ofa-mbv3-w1.0", 5, &sn), SUSHI_OK);
    sushi_subnet *s = subnet_text(sn, "max");
    sushi_subgraph *g = subgraph_of(s);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    cr_assert_gt(sushi_subgraph_bytes(g), 0);
    cr_assert_not_null(sushi_supernet_tensor_name(sn, 0));
    sushi_subgraph_destroy(g);
}
