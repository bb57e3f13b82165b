#include "helpers.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sushi_context *g_ctx;
static sushi_supernet *g_mbv3, *g_mbv3_12, *g_resnet, *g_mbv3_other;

sushi_context *fx_ctx(void)
{
    if (!g_ctx)
        cr_assert_eq(sushi_context_create(NULL, &g_ctx), SUSHI_OK);
    return g_ctx;
}

static const sushi_supernet *fx_get(sushi_supernet **slot, const char *name)
{
    if (!*slot)
        cr_assert_eq(sushi_supernet_builtin(fx_ctx(), name, 0, slot), SUSHI_OK, "builtin %s", name);
    return *slot;
}

const sushi_supernet *fx_mbv3(void) { return fx_get(&g_mbv3, "ofa-mbv3-w1.0"); }
const sushi_supernet *fx_mbv3_12(void) { return fx_get(&g_mbv3_12, "ofa-mbv3-w1.2"); }
const sushi_supernet *fx_resnet(void) { return fx_get(&g_resnet, "ofa-resnet50"); }
const sushi_supernet *fx_mbv3_other(void) { return fx_get(&g_mbv3_other, "ofa-mbv3-w1.0"); }

void fx_release(void)
{
    sushi_supernet_destroy(g_mbv3);
    sushi_supernet_destroy(g_mbv3_12);
    sushi_supernet_destroy(g_resnet);
    sushi_supernet_destroy(g_mbv3_other);
    sushi_context_destroy(g_ctx);
    g_mbv3 = g_mbv3_12 = g_resnet = g_mbv3_other = NULL;
    g_ctx = NULL;
}

sushi_config cfg_extreme(const sushi_supernet *sn, bool max, uint32_t r)
{
    sushi_config c = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(sn, max, r, &c), SUSHI_OK);
    return c;
}

sushi_config cfg_parse(const sushi_supernet *sn, const char *text)
{
    sushi_config c = SUSHI_CONFIG_INIT;
    char err[256] = "";
    int rc = sushi_config_parse(sn, text, 0, &c, err, sizeof err);
    cr_assert_eq(rc, SUSHI_OK, "parse %s: %s (%s)", text, sushi_status_name(rc), err);
    return c;
}

sushi_subnet *subnet_of(const sushi_supernet *sn, const sushi_config *cfg)
{
    sushi_subnet *s = NULL;
    int rc = sushi_subnet_create(sn, cfg, &s);
    cr_assert_eq(rc, SUSHI_OK, "subnet_create: %s", sushi_status_name(rc));
    cr_assert_not_null(s);
    return s;
}

sushi_subnet *subnet_text(const sushi_supernet *sn, const char *text)
{
    sushi_config c = cfg_parse(sn, text);
    return subnet_of(sn, &c);
}

sushi_subgraph *subgraph_empty(const sushi_supernet *sn)
{
    sushi_subgraph *g = NULL;
    cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
    return g;
}

sushi_subgraph *subgraph_of(const sushi_subnet *s)
{
    sushi_subgraph *g = subgraph_empty(sushi_subnet_supernet(s));
    cr_assert_eq(sushi_subgraph_set_subnet(g, s), SUSHI_OK);
    return g;
}

sushi_subnet_stats stats_of(const sushi_subnet *s)
{
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_OK);
    return st;
}

bool subgraph_same(const sushi_subgraph *a, const sushi_subgraph *b)
{
    size_t n = sushi_subgraph_n_tensors(a);
    if (n != sushi_subgraph_n_tensors(b))
        return false;
    for (size_t t = 0; t < n; t++) {
        uint32_t ao, ai, bo, bi;
        cr_assert_eq(sushi_subgraph_get(a, t, &ao, &ai, NULL), SUSHI_OK);
        cr_assert_eq(sushi_subgraph_get(b, t, &bo, &bi, NULL), SUSHI_OK);
        /* an empty box is empty whatever its other extent says */
        if ((uint64_t)ao * ai == 0 && (uint64_t)bo * bi == 0)
            continue;
        if (ao != bo || ai != bi)
            return false;
    }
    return true;
}

uint64_t trng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

sushi_config cfg_random(const sushi_supernet *sn, uint64_t *rng, uint32_t resolution)
{
    sushi_config c = cfg_extreme(sn, true, resolution);
    double v[16];
    for (uint32_t i = 0; i < c.n_ks; i++) {
        int n = sushi_supernet_choices(sn, SUSHI_ELASTIC_KS, i, v, 16);
        cr_assert_gt(n, 0);
        c.ks[i] = (uint8_t)v[trng(rng) % (uint64_t)n];
    }
    for (uint32_t i = 0; i < c.n_e; i++) {
        int n = sushi_supernet_choices(sn, SUSHI_ELASTIC_E, i, v, 16);
        cr_assert_gt(n, 0);
        c.e[i] = (float)v[trng(rng) % (uint64_t)n];
    }
    for (uint32_t i = 0; i < c.n_d; i++) {
        int n = sushi_supernet_choices(sn, SUSHI_ELASTIC_D, i, v, 16);
        cr_assert_gt(n, 0);
        c.d[i] = (uint8_t)v[trng(rng) % (uint64_t)n];
    }
    for (uint32_t i = 0; i < c.n_w; i++) {
        int n = sushi_supernet_choices(sn, SUSHI_ELASTIC_W, i, v, 16);
        cr_assert_gt(n, 0);
        c.w[i] = (uint8_t)v[trng(rng) % (uint64_t)n];
    }
    return c;
}

/* ---- counting allocator: a header before each block records its size ---- */
typedef union hdr {
    size_t n;
    max_align_t align;
} hdr;

static bool ca_fail(count_alloc *ca)
{
    ca->n_alloc_calls++;
    return ca->fail_at && ca->n_alloc_calls == ca->fail_at;
}

static void *ca_raw(count_alloc *ca, size_t n)
{
    hdr *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->n = n;
    ca->live++;
    ca->live_bytes += n;
    return h + 1;
}

static void *ca_malloc(void *user, size_t n)
{
    count_alloc *ca = user;
    ca->n_malloc++;
    if (ca_fail(ca))
        return NULL;
    return ca_raw(ca, n);
}

static void *ca_realloc(void *user, void *p, size_t n)
{
    count_alloc *ca = user;
    ca->n_realloc++;
    if (ca_fail(ca))
        return NULL;
    if (!p)
        return ca_raw(ca, n);
    hdr *h = (hdr *)p - 1;
    size_t old = h->n;
    hdr *nh = realloc(h, sizeof *nh + n);
    if (!nh)
        return NULL;
    nh->n = n;
    ca->live_bytes = ca->live_bytes - old + n;
    return nh + 1;
}

static void ca_free(void *user, void *p)
{
    count_alloc *ca = user;
    if (!p)
        return;
    ca->n_free++;
    hdr *h = (hdr *)p - 1;
    ca->live--;
    ca->live_bytes -= h->n;
    free(h);
}

sushi_allocator count_alloc_hooks(count_alloc *ca)
{
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    a.malloc_fn = ca_malloc;
    a.realloc_fn = ca_realloc;
    a.free_fn = ca_free;
    a.user = ca;
    return a;
}

void log_capture_fn(void *user, int level, const char *msg)
{
    log_capture *lc = user;
    lc->n++;
    lc->last_level = level;
    snprintf(lc->last, sizeof lc->last, "%s", msg);
    size_t len = strlen(lc->all);
    snprintf(lc->all + len, sizeof lc->all - len, "%s\n", msg);
    if (strchr(msg, '\n'))
        lc->saw_newline = true;
}
