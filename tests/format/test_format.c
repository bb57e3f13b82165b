/* SuperNet file format v1: reader, writer and the public load/save API.
 *
 * Fixtures are made in the test: a tiny custom SuperNet built through the
 * internal IR (tiny_supernet) and written with the writer, or the built-in
 * families. Hostile variants are made by editing the file with libcbor's
 * item API (an independent CBOR implementation) or by hand-written bytes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cbor.h>
#include <criterion/criterion.h>

#include "format.h"
#include "format_helpers.h"
#include "internal.h"

/* ---------- counting, failing allocator ---------- */

typedef struct counting {
    long live;    /* blocks currently allocated */
    long calls;   /* malloc + realloc calls */
    long fail_at; /* 0: never; else fail this call and every later one */
} counting;

static counting g_count;

static bool should_fail(counting *c)
{
    c->calls++;
    return c->fail_at && c->calls >= c->fail_at;
}

static void *c_malloc(void *u, size_t n)
{
    counting *c = u;
    if (should_fail(c))
        return NULL;
    void *p = malloc(n);
    if (p)
        c->live++;
    return p;
}

static void *c_realloc(void *u, void *p, size_t n)
{
    counting *c = u;
    if (should_fail(c))
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        c->live++;
    return q;
}

static void c_free(void *u, void *p)
{
    counting *c = u;
    if (p) {
        c->live--;
        free(p);
    }
}

static sushi_context *counting_ctx(void)
{
    memset(&g_count, 0, sizeof g_count);
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    a.malloc_fn = c_malloc;
    a.realloc_fn = c_realloc;
    a.free_fn = c_free;
    a.user = &g_count;
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_OK);
    return ctx;
}

static sushi_context *plain_ctx(void)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    return ctx;
}

/* ---------- a tiny custom SuperNet, built by hand through the IR ---------- */

static sushi_unit *add_unit(sushi_supernet *sn, uint32_t kind, const char *name)
{
    sushi_unit *u = &sn->units[sn->n_units++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->out_wgroup = -1;
    u->ks_slot = u->e_slot = u->dgroup = -1;
    u->e_fixed = 1.0f;
    u->stride = 1;
    u->kernel = 1;
    return u;
}

static void set_candidate(sushi_supernet *sn, sushi_candidate *c, bool max, uint32_t res, double acc,
                          bool with_stats)
{
    cr_assert_eq(sushi_config_extreme(sn, max, res, &c->config), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &c->config, &s), SUSHI_OK);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_OK);
    c->macs = st.macs;
    c->params = st.params;
    c->weight_bytes = st.weight_bytes;
    c->accuracy = acc;
    snprintf(c->accuracy_source, sizeof c->accuracy_source, "%s", isnan(acc) ? "none" : "measured");
    c->dataset = sushi_strdup(sn->ctx, "fashion-mnist/test");
    c->metric = sushi_strdup(sn->ctx, "top1");
    if (with_stats) {
        uint64_t n = 0;
        for (uint32_t i = 0; i < s->n_layers; i++)
            if (s->layers[i].bn >= 0)
                n += 2ull * s->layers[i].out_c;
        c->bn_owned = sushi_calloc(sn->ctx, n, sizeof(float));
        uint64_t o = 0;
        for (uint32_t i = 0; i < s->n_layers; i++) {
            if (s->layers[i].bn < 0)
                continue;
            uint32_t ch = s->layers[i].out_c;
            for (uint32_t j = 0; j < ch; j++) {
                c->bn_owned[o + j] = 0.01f * (float)j - 0.02f;  /* mean */
                c->bn_owned[o + ch + j] = 1.0f + 0.001f * (float)j; /* variance */
            }
            o += 2ull * ch;
        }
        c->bn_stats = c->bn_owned;
        c->n_bn_stats = n;
        c->n_act_ranges = 2ull * s->n_values;
        c->act_ranges = sushi_calloc(sn->ctx, c->n_act_ranges, sizeof(float));
        for (uint64_t i = 0; i < c->n_act_ranges; i += 2) {
            c->act_ranges[i] = -1.0f - (float)i;
            c->act_ranges[i + 1] = 2.0f + (float)i;
        }
        c->n_int8_ranges = sushi_int8_ranges_len(s);
        c->int8_ranges = sushi_calloc(sn->ctx, c->n_int8_ranges, sizeof(float));
        for (uint64_t i = 0; i < c->n_int8_ranges; i += 2) {
            c->int8_ranges[i] = -0.5f - (float)i;
            c->int8_ranges[i + 1] = 3.0f + (float)i;
        }
    }
    sushi_subnet_destroy(s);
}

/* 1x28x28 input, conv 3x3 -> two elastic MBConv blocks (ks {3,5}, e {2,3},
 * depth {1,2}, the first with SE) -> GAP -> linear(10). */
static sushi_supernet *tiny_supernet(sushi_context *ctx)
{
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_alloc(ctx, &sn), SUSHI_OK);
    sn->name = sushi_strdup(ctx, "tiny-test");
    sn->family = sushi_strdup(ctx, "custom");
    sn->provenance = sushi_strdup(ctx, "unit-test fixture: synthetic weights, made-up accuracies");
    sn->synthetic = true;
    sn->seed = 42;
    sn->in_channels = 1;
    sn->num_classes = 10;
    sn->in_mean[0] = 0.2860f;
    sn->in_std[0] = 0.3530f;
    sn->n_res = 2;
    sn->res = sushi_calloc(ctx, 2, sizeof *sn->res);
    sn->res[0] = 24, sn->res[1] = 28;
    sn->default_resolution = 28;
    sn->n_ks_choices = 2, sn->ks_choices[0] = 3, sn->ks_choices[1] = 5;
    sn->n_e_choices = 2, sn->e_choices[0] = 2.0f, sn->e_choices[1] = 3.0f;
    sn->n_ks_slots = sn->n_e_slots = 2;
    sn->n_dgroups = 1;
    sn->dgroups[0] = (sushi_dgroup){ 2, { 1, 2 }, 0, SUSHI_DEPTH_PREFIX, 2 };
    sn->units = sushi_calloc(ctx, 8, sizeof *sn->units);
    sushi_unit *u = add_unit(sn, SUSHI_UNIT_CONV, "first_conv");
    u->in_max = 1, u->out_max = 8, u->kernel = 3, u->stride = 2, u->bn = true, u->act = SUSHI_ACT_RELU;
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "blocks.%d", i);
        u = add_unit(sn, SUSHI_UNIT_MBCONV, name);
        u->in_max = 8, u->out_max = 8, u->kernel = 5, u->act = SUSHI_ACT_HSWISH;
        u->ks_slot = u->e_slot = i;
        u->n_dw = 2, u->dw_kernel[0] = 3, u->dw_kernel[1] = 5;
        u->mid_max = 24;
        u->se = i == 0;
        u->se_mid_max = u->se ? 8 : 0;
        u->residual = true;
        u->dgroup = 0, u->dindex = (uint32_t)i;
    }
    add_unit(sn, SUSHI_UNIT_GAP, "global_avg_pool");
    u = add_unit(sn, SUSHI_UNIT_LINEAR, "classifier");
    u->in_max = 8, u->out_max = 10, u->bias = true;
    char err[256] = "";
    cr_assert_eq(sushi_supernet_validate_arch(sn, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(sushi_supernet_build_tensors(sn, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(sushi_supernet_generate_weights(sn), SUSHI_OK);
    sn->cands = sushi_calloc(ctx, 3, sizeof *sn->cands);
    sn->n_cand = 3;
    set_candidate(sn, &sn->cands[0], true, 28, 0.875, true);
    set_candidate(sn, &sn->cands[1], false, 24, NAN, false);
    set_candidate(sn, &sn->cands[2], false, 28, 0.5, true);
    return sn;
}

/* The tiny SuperNet as a file (malloc'd copy). */
static uint8_t *tiny_file(int mode, size_t *n)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    uint8_t *d = NULL;
    cr_assert_eq(sushi_format_write(sn, mode, &d, n), SUSHI_OK);
    uint8_t *copy = malloc(*n);
    memcpy(copy, d, *n);
    sushi_free(ctx, d);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return copy;
}

/* ---------- helpers ---------- */

/* Load, expect `want`, and check the message contains `needle`. */
static void expect_load_error(const void *d, size_t n, int want, const char *needle)
{
    sushi_context *ctx = counting_ctx();
    long base = g_count.live;
    sushi_supernet *sn = (sushi_supernet *)(uintptr_t)1;
    char err[512] = "";
    int rc = load_mem(ctx, d, n, 0, &sn, err, sizeof err);
    cr_expect_eq(rc, want, "status %s (%d), expected %s; message: %s", sushi_status_name(rc), rc,
                 sushi_status_name(want), err);
    cr_expect_null(sn);
    if (needle)
        cr_expect(strstr(err, needle) != NULL, "message \"%s\" lacks \"%s\"", err, needle);
    cr_expect_eq(g_count.live, base, "leaked %ld blocks", g_count.live - base);
    sushi_context_destroy(ctx);
}

static void expect_equal_supernets(const sushi_supernet *a, const sushi_supernet *b)
{
    cr_assert_str_eq(a->name, b->name);
    cr_assert_str_eq(a->family, b->family);
    cr_assert_str_eq(a->provenance, b->provenance);
    cr_assert_eq(a->synthetic, b->synthetic);
    cr_assert_eq(a->seed, b->seed);
    cr_assert_eq(a->in_channels, b->in_channels);
    cr_assert_eq(a->num_classes, b->num_classes);
    cr_assert_eq(a->n_res, b->n_res);
    cr_assert_eq(memcmp(a->res, b->res, a->n_res * sizeof *a->res), 0);
    cr_assert_eq(memcmp(a->in_mean, b->in_mean, sizeof a->in_mean), 0);
    cr_assert_eq(a->n_ks_choices, b->n_ks_choices);
    cr_assert_eq(a->n_e_choices, b->n_e_choices);
    cr_assert_eq(memcmp(a->e_choices, b->e_choices, sizeof(float) * a->n_e_choices), 0);
    cr_assert_eq(a->n_dgroups, b->n_dgroups);
    cr_assert_eq(a->n_wgroups, b->n_wgroups);
    for (uint32_t g = 0; g < a->n_dgroups; g++) {
        cr_assert_eq(a->dgroups[g].base, b->dgroups[g].base);
        cr_assert_eq(a->dgroups[g].mode, b->dgroups[g].mode);
        cr_assert_eq(a->dgroups[g].n_members, b->dgroups[g].n_members);
    }
    for (uint32_t g = 0; g < a->n_wgroups; g++)
        cr_assert_eq(memcmp(&a->wgroups[g], &b->wgroups[g], sizeof a->wgroups[g]), 0);
    cr_assert_eq(a->n_units, b->n_units);
    for (uint32_t i = 0; i < a->n_units; i++) {
        const sushi_unit *u = &a->units[i], *v = &b->units[i];
        cr_assert_str_eq(u->name, v->name);
        cr_assert(u->kind == v->kind && u->in_max == v->in_max && u->out_max == v->out_max &&
                      u->out_wgroup == v->out_wgroup && u->kernel == v->kernel && u->stride == v->stride &&
                      u->pad == v->pad && u->act == v->act && u->bias == v->bias && u->bn == v->bn &&
                      u->se == v->se && u->residual == v->residual && u->ks_slot == v->ks_slot &&
                      u->e_slot == v->e_slot && u->e_fixed == v->e_fixed && u->mid_max == v->mid_max &&
                      u->se_mid_max == v->se_mid_max && u->dgroup == v->dgroup && u->dindex == v->dindex &&
                      u->n_dw == v->n_dw,
                  "unit %u differs", i);
        for (int s = 0; s < SUSHI_SUB_MAX; s++)
            cr_assert_eq(u->sub[s].bn.eps, v->sub[s].bn.eps);
    }
    cr_assert_eq(a->n_tensors, b->n_tensors);
    cr_assert_eq(a->n_wt, b->n_wt);
    for (uint32_t i = 0; i < a->n_tensors; i++) {
        const sushi_tensor *s = &a->tensors[i], *t = &b->tensors[i];
        cr_assert_str_eq(s->name, t->name);
        cr_assert(s->ndim == t->ndim && s->nelem == t->nelem && s->role == t->role);
        cr_assert_eq(memcmp(s->shape, t->shape, sizeof s->shape), 0);
        cr_assert_eq(memcmp(s->data, t->data, s->nelem * sizeof(float)), 0, "tensor %s data differs", s->name);
    }
    cr_assert_eq(a->n_cand, b->n_cand);
    for (uint32_t i = 0; i < a->n_cand; i++) {
        const sushi_candidate *c = &a->cands[i], *d = &b->cands[i];
        cr_assert(sushi_config_equal(&c->config, &d->config), "candidate %u config", i);
        cr_assert(c->config.resolution == d->config.resolution);
        cr_assert((isnan(c->accuracy) && isnan(d->accuracy)) || c->accuracy == d->accuracy);
        cr_assert_str_eq(c->accuracy_source, d->accuracy_source);
        cr_assert_str_eq(c->dataset, d->dataset);
        cr_assert_str_eq(c->metric, d->metric);
        cr_assert(c->macs == d->macs && c->params == d->params && c->weight_bytes == d->weight_bytes);
        cr_assert_eq(c->n_bn_stats, d->n_bn_stats);
        if (c->n_bn_stats)
            cr_assert_eq(memcmp(c->bn_stats, d->bn_stats, c->n_bn_stats * 4), 0);
        cr_assert_eq(c->n_act_ranges, d->n_act_ranges);
        if (c->n_act_ranges)
            cr_assert_eq(memcmp(c->act_ranges, d->act_ranges, c->n_act_ranges * 4), 0);
        cr_assert_eq(c->n_int8_ranges, d->n_int8_ranges);
        if (c->n_int8_ranges)
            cr_assert_eq(memcmp(c->int8_ranges, d->int8_ranges, c->n_int8_ranges * 4), 0);
    }
}

/* write -> read -> write: identical bytes, equal contents */
static void roundtrip(sushi_supernet *sn, int mode, bool borrow)
{
    sushi_context *ctx = sn->ctx;
    uint8_t *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;
    cr_assert_eq(sushi_format_write(sn, mode, &d1, &n1), SUSHI_OK);
    sushi_supernet *back = NULL;
    char err[512] = "";
    int rc = load_mem(ctx, d1, n1, borrow ? SUSHI_LOAD_BORROW : 0, &back, err, sizeof err);
    cr_assert_eq(rc, SUSHI_OK, "%s: %s", sushi_status_name(rc), err);
    expect_equal_supernets(sn, back);
    cr_assert_eq(sushi_format_write(back, mode, &d2, &n2), SUSHI_OK);
    cr_assert_eq(n1, n2, "sizes %zu vs %zu", n1, n2);
    cr_assert_eq(memcmp(d1, d2, n1), 0, "second write differs");
    sushi_supernet_destroy(back);
    sushi_free(ctx, d1);
    sushi_free(ctx, d2);
}

/* ---------- libcbor editing helpers ---------- */

static cbor_item_t *parse(const uint8_t *d, size_t n)
{
    struct cbor_load_result res;
    cbor_item_t *it = cbor_load(d, n, &res);
    cr_assert(it && res.error.code == CBOR_ERR_NONE, "libcbor cannot parse the file (error %d at %zu)",
              (int)res.error.code, res.error.position);
    cr_assert_eq(res.read, n);
    return it;
}

/* the top-level map inside the magic tag (borrowed) */
static cbor_item_t *top_map(cbor_item_t *root)
{
    cr_assert(cbor_isa_tag(root));
    cr_assert_eq(cbor_tag_value(root), 55799);
    cbor_item_t *m = cbor_tag_item(root);
    cbor_intermediate_decref(m); /* still owned by root */
    return m;
}

static struct cbor_pair *find_pair(cbor_item_t *map, const char *key)
{
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (cbor_isa_string(p[i].key) && cbor_string_length(p[i].key) == strlen(key) &&
            memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0)
            return &p[i];
    return NULL;
}

static cbor_item_t *get(cbor_item_t *map, const char *key)
{
    struct cbor_pair *p = find_pair(map, key);
    cr_assert(p, "no key %s", key);
    return p->value;
}

/* replace the value (takes ownership of val) */
static void set(cbor_item_t *map, const char *key, cbor_item_t *val)
{
    struct cbor_pair *p = find_pair(map, key);
    cr_assert(p, "no key %s", key);
    cbor_intermediate_decref(p->value);
    p->value = val;
}

static cbor_item_t *at(cbor_item_t *arr, size_t i)
{
    cr_assert(i < cbor_array_size(arr));
    return cbor_array_handle(arr)[i];
}

/* new map = map + (key, val) or map - key (val NULL); refcount 1 */
static cbor_item_t *map_edit(cbor_item_t *map, const char *key, cbor_item_t *val)
{
    cbor_item_t *m = cbor_new_definite_map(cbor_map_size(map) + 1);
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        if (!val && cbor_string_length(p[i].key) == strlen(key) &&
            memcmp(cbor_string_handle(p[i].key), key, strlen(key)) == 0)
            continue;
        cr_assert(cbor_map_add(m, p[i]));
    }
    if (val)
        cr_assert(cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string(key)), cbor_move(val) }));
    return m;
}

/* replace the top-level map of root with map_edit(top, key, val) */
static cbor_item_t *root_edit(cbor_item_t *root, const char *key, cbor_item_t *val)
{
    cbor_item_t *m = map_edit(top_map(root), key, val);
    cbor_item_t *r = cbor_build_tag(55799, m);
    cbor_intermediate_decref(m);
    cbor_intermediate_decref(root);
    return r;
}

static uint8_t *serialize(cbor_item_t *root, size_t *n)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    *n = cbor_serialize_alloc(root, &buf, &cap);
    cr_assert(*n > 0);
    return buf;
}

static void expect_edit_error(cbor_item_t *root, int want, const char *needle)
{
    size_t n;
    uint8_t *d = serialize(root, &n);
    expect_load_error(d, n, want, needle);
    free(d);
    cbor_intermediate_decref(root);
}

static cbor_item_t *tiny_root(int mode)
{
    size_t n;
    uint8_t *d = tiny_file(mode, &n);
    cbor_item_t *root = parse(d, n);
    free(d);
    return root;
}

static cbor_item_t *tensors_of(cbor_item_t *root) { return get(get(top_map(root), "weights"), "tensors"); }

/* ---------- tests: CRC ---------- */

Test(format, crc32c_matches_known_vectors)
{
    cr_expect_eq(sushi_crc32c(0, "123456789", 9), 0xE3069283u);
    cr_expect_eq(sushi_crc32c(0, "", 0), 0u);
    uint8_t zeros[32] = { 0 };
    cr_expect_eq(sushi_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    cr_expect_eq(sushi_crc32c(0, ones, 32), 0x62A8AB43u);
    /* chunked == whole, at every split and alignment */
    uint8_t buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    uint32_t whole = sushi_crc32c(0, buf, sizeof buf);
    for (size_t k = 0; k <= sizeof buf; k++)
        cr_expect_eq(sushi_crc32c(sushi_crc32c(0, buf, k), buf + k, sizeof buf - k), whole);
}

/* ---------- tests: round trips ---------- */

Test(format, roundtrip_tiny_f32_is_byte_identical)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    roundtrip(sn, SUSHI_WEIGHTS_F32, false);
    roundtrip(sn, SUSHI_WEIGHTS_F32, true);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, roundtrip_tiny_seed_is_byte_identical)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    roundtrip(sn, SUSHI_WEIGHTS_SEED, false);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, roundtrip_builtin_mbv3_seed_and_f32_are_byte_identical)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    roundtrip(sn, SUSHI_WEIGHTS_SEED, false);
    roundtrip(sn, SUSHI_WEIGHTS_AUTO, false); /* synthetic: seed */
    roundtrip(sn, SUSHI_WEIGHTS_F32, true);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, roundtrip_builtin_resnet50_seed_is_byte_identical)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-resnet50", 0, &sn), SUSHI_OK);
    roundtrip(sn, SUSHI_WEIGHTS_SEED, false);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, write_is_deterministic_and_valid_cbor)
{
    size_t n1, n2;
    uint8_t *a = tiny_file(SUSHI_WEIGHTS_F32, &n1);
    uint8_t *b = tiny_file(SUSHI_WEIGHTS_F32, &n2);
    cr_assert_eq(n1, n2);
    cr_assert_eq(memcmp(a, b, n1), 0);
    cr_assert_eq(memcmp(a, "\xd9\xd9\xf7", 3), 0, "magic");
    cbor_item_t *root = parse(a, n1); /* an independent decoder accepts it */
    cbor_item_t *top = top_map(root);
    cr_expect_eq(cbor_string_length(get(top, "format")), strlen("sushi-supernet"));
    cr_expect_eq(cbor_get_int(get(top, "version")), 1);
    cbor_item_t *w = get(top, "weights");
    cr_expect_eq(cbor_get_int(get(w, "checksum")) > 0, true);
    cbor_intermediate_decref(root);
    free(a);
    free(b);
}

Test(format, write_seed_for_trained_supernet_returns_invalid)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    sn->synthetic = false;
    uint8_t *d = NULL;
    size_t n = 0;
    cr_expect_eq(sushi_format_write(sn, SUSHI_WEIGHTS_SEED, &d, &n), SUSHI_ERR_INVALID);
    cr_expect_null(d);
    cr_expect_eq(sushi_format_write(sn, 7, &d, &n), SUSHI_ERR_INVALID);
    /* AUTO picks f32 for a non-synthetic SuperNet */
    cr_assert_eq(sushi_format_write(sn, SUSHI_WEIGHTS_AUTO, &d, &n), SUSHI_OK);
    uint8_t *e = NULL;
    size_t m = 0;
    cr_assert_eq(sushi_format_write(sn, SUSHI_WEIGHTS_F32, &e, &m), SUSHI_OK);
    cr_expect(n == m && memcmp(d, e, n) == 0);
    sushi_free(ctx, d);
    sushi_free(ctx, e);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ---------- tests: alignment, borrow and copy ---------- */

/* Little-endian hosts borrow aligned payloads in place; a big-endian host
 * must byte-swap, so it copies every one (lib/format_read.c, can_borrow). */
Test(format, f32_payloads_are_64_byte_aligned_and_borrowed)
{
    size_t n;
    uint8_t *file = tiny_file(SUSHI_WEIGHTS_F32, &n);
    void *buf = aligned_alloc(64, (n + 63) / 64 * 64);
    memcpy(buf, file, n);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    char err[256] = "";
    cr_assert_eq(load_mem(ctx, buf, n, SUSHI_LOAD_BORROW, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    const uint8_t *lo = buf, *hi = lo + n;
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        const uint8_t *p = (const uint8_t *)sn->tensors[i].data;
#if SUSHI_HOST_LE
        cr_expect(p >= lo && p < hi, "tensor %s not borrowed", sn->tensors[i].name);
        cr_expect_eq((size_t)(p - lo) % 64, 0, "tensor %s payload at %zu", sn->tensors[i].name, (size_t)(p - lo));
#else
        cr_expect(p < lo || p >= hi, "tensor %s borrowed on a big-endian host", sn->tensors[i].name);
#endif
        cr_expect_null(sn->tensors[i].owned);
    }
    const uint8_t *bn = (const uint8_t *)sn->cands[0].bn_stats;
#if SUSHI_HOST_LE
    cr_expect(bn >= lo && bn < hi && (size_t)(bn - lo) % 64 == 0, "bn_stats borrowed and aligned");
    cr_expect_null(sn->buf_owned);
#else
    cr_expect(bn < lo || bn >= hi, "bn_stats borrowed on a big-endian host");
    cr_expect_not_null(sn->buf_owned);
#endif
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(buf);
    free(file);
}

Test(format, load_memory_without_borrow_copies_once)
{
    size_t n;
    uint8_t *file = tiny_file(SUSHI_WEIGHTS_F32, &n);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    char err[256] = "";
    cr_assert_eq(load_mem(ctx, file, n, 0, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    const uint8_t *lo = file, *hi = lo + n;
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        const uint8_t *p = (const uint8_t *)sn->tensors[i].data;
        cr_expect(p < lo || p >= hi, "tensor %s points into the caller's buffer", sn->tensors[i].name);
    }
    cr_expect_not_null(sn->buf_owned);
    /* the caller's buffer may go away */
    memset(file, 0xAB, n);
    free(file);
    sushi_context *ctx2 = plain_ctx();
    sushi_supernet *ref = tiny_supernet(ctx2);
    expect_equal_supernets(ref, sn);
    sushi_supernet_destroy(ref);
    sushi_context_destroy(ctx2);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, load_misaligned_borrowed_buffer_copies)
{
    size_t n;
    uint8_t *file = tiny_file(SUSHI_WEIGHTS_F32, &n);
    uint8_t *raw = malloc(n + 8);
    uint8_t *buf = raw + 1; /* payloads now at 1 mod 4 */
    if (((uintptr_t)buf & 3u) == 0)
        buf++;
    memcpy(buf, file, n);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    char err[256] = "";
    cr_assert_eq(load_mem(ctx, buf, n, SUSHI_LOAD_BORROW, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        const uint8_t *p = (const uint8_t *)sn->tensors[i].data;
        cr_expect(p < buf || p >= buf + n, "misaligned tensor %s was borrowed", sn->tensors[i].name);
        cr_expect_eq((uintptr_t)p % 4, 0);
    }
    sushi_context *ctx2 = plain_ctx();
    sushi_supernet *ref = tiny_supernet(ctx2);
    expect_equal_supernets(ref, sn);
    sushi_supernet_destroy(ref);
    sushi_context_destroy(ctx2);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(raw);
    free(file);
}

Test(format, save_file_then_load_file_roundtrips)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    char path[] = "/tmp/sushi-format-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    so.weights = SUSHI_WEIGHTS_F32;
    cr_assert_eq(sushi_supernet_save_file(sn, path, &so), SUSHI_OK);
    sushi_supernet *back = NULL;
    char err[256] = "";
    sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
    lo.errbuf = err;
    lo.errbuf_size = sizeof err;
    cr_assert_eq(sushi_supernet_load_file(ctx, path, &lo, &back), SUSHI_OK, "%s", err);
    cr_expect_eq(back->map != NULL, SUSHI_HOST_LE, "f32 tensors are used from the mapping (little-endian hosts)");
    expect_equal_supernets(sn, back);
    sushi_supernet_destroy(back);
    /* seed mode, BN statistics are borrowed from the mapping: kept */
    so.weights = SUSHI_WEIGHTS_SEED;
    cr_assert_eq(sushi_supernet_save_file(sn, path, &so), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, path, NULL, &back), SUSHI_OK);
    cr_expect_eq(back->map != NULL, SUSHI_HOST_LE);
    cr_expect(back->cands[0].bn_stats != NULL && (back->cands[0].bn_owned == NULL) == SUSHI_HOST_LE);
    expect_equal_supernets(sn, back);
    sushi_supernet_destroy(back);
    /* seed mode without per-SubNet data: nothing points into the file, the mapping is released */
    for (uint32_t i = 0; i < sn->n_cand; i++) {
        sn->cands[i].bn_stats = NULL;
        sn->cands[i].n_bn_stats = 0;
    }
    cr_assert_eq(sushi_supernet_save_file(sn, path, &so), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, path, NULL, &back), SUSHI_OK);
    cr_expect_null(back->map);
    expect_equal_supernets(sn, back);
    sushi_supernet_destroy(back);
    unlink(path);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, save_memory_matches_format_write_and_frees)
{
    sushi_context *ctx = counting_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    long base = g_count.live;
    void *d = NULL;
    size_t n = 0;
    cr_assert_eq(sushi_supernet_save_memory(sn, NULL, &d, &n), SUSHI_OK); /* AUTO: seed */
    uint8_t *e = NULL;
    size_t m = 0;
    cr_assert_eq(sushi_format_write(sn, SUSHI_WEIGHTS_SEED, &e, &m), SUSHI_OK);
    cr_expect(n == m && memcmp(d, e, n) == 0);
    sushi_supernet_free_buffer(sn, d);
    sushi_free(ctx, e);
    sushi_supernet_free_buffer(sn, NULL);
    cr_expect_eq(g_count.live, base);
    sushi_save_options so = { sizeof(size_t), SUSHI_WEIGHTS_F32 }; /* too small */
    cr_expect_eq(sushi_supernet_save_memory(sn, &so, &d, &n), SUSHI_ERR_ABI);
    cr_expect_null(d);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, load_file_missing_returns_io_error_with_message)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = (sushi_supernet *)(uintptr_t)1;
    char err[256] = "";
    sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
    lo.errbuf = err;
    lo.errbuf_size = sizeof err;
    cr_expect_eq(sushi_supernet_load_file(ctx, "/nonexistent/dir/x.sushi", &lo, &sn), SUSHI_ERR_IO);
    cr_expect_null(sn);
    cr_expect(strstr(err, "No such file") != NULL, "%s", err);
    cr_expect_eq(sushi_supernet_load_file(ctx, "/tmp", &lo, &sn), SUSHI_ERR_IO);
    cr_expect(strstr(err, "not a regular file") != NULL, "%s", err);
    sushi_context_destroy(ctx);
}

Test(format, load_options_checks_size_and_flags)
{
    size_t n;
    uint8_t *file = tiny_file(SUSHI_WEIGHTS_SEED, &n);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = (sushi_supernet *)(uintptr_t)1;
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.size = sizeof(size_t);
    cr_expect_eq(sushi_supernet_load_memory(ctx, file, n, &o, &sn), SUSHI_ERR_ABI);
    cr_expect_null(sn);
    o = (sushi_load_options)SUSHI_LOAD_OPTIONS_INIT;
    o.flags = 1u << 20;
    cr_expect_eq(sushi_supernet_load_memory(ctx, file, n, &o, &sn), SUSHI_ERR_INVALID);
    cr_expect_eq(sushi_supernet_load_memory(NULL, file, n, NULL, &sn), SUSHI_ERR_INVALID);
    cr_expect_eq(sushi_supernet_load_memory(ctx, file, n, NULL, NULL), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_load_memory(ctx, file, n, NULL, &sn), SUSHI_OK);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(file);
}

/* ---------- tests: hostile input ---------- */

Test(format, load_truncated_file_returns_format_error)
{
    for (int mode = SUSHI_WEIGHTS_SEED; mode <= SUSHI_WEIGHTS_F32; mode++) {
        size_t n;
        uint8_t *file = tiny_file(mode, &n);
        sushi_context *ctx = counting_ctx();
        long base = g_count.live;
        for (size_t k = 0; k < n; k++) {
            uint8_t *cut = malloc(k ? k : 1); /* exact size: ASan sees any overread */
            memcpy(cut, file, k);
            sushi_supernet *sn = (sushi_supernet *)(uintptr_t)1;
            char err[256] = "";
            int rc = load_mem(ctx, cut, k, k & 1 ? SUSHI_LOAD_BORROW : 0, &sn, err, sizeof err);
            free(cut);
            cr_assert_eq(rc, SUSHI_ERR_FORMAT, "prefix %zu/%zu: %s (%s)", k, n, sushi_status_name(rc), err);
            cr_assert_null(sn);
            cr_assert(strncmp(err, "byte ", 5) == 0 || strstr(err, "truncated") || strstr(err, "missing"),
                      "prefix %zu: %s", k, err);
            cr_assert_eq(g_count.live, base, "prefix %zu leaked", k);
        }
        sushi_context_destroy(ctx);
        free(file);
    }
}

Test(format, load_fails_cleanly_on_every_allocation_failure)
{
    for (int mode = SUSHI_WEIGHTS_SEED; mode <= SUSHI_WEIGHTS_F32; mode++) {
        size_t n;
        uint8_t *file = tiny_file(mode, &n);
        sushi_context *ctx = counting_ctx();
        long base = g_count.live, start = g_count.calls;
        int rc = SUSHI_ERR_NOMEM;
        long k;
        for (k = 1; rc != SUSHI_OK && k < 10000; k++) {
            g_count.fail_at = start + k;
            sushi_supernet *sn = (sushi_supernet *)(uintptr_t)1;
            char err[256] = "";
            rc = load_mem(ctx, file, n, 0, &sn, err, sizeof err);
            g_count.fail_at = 0;
            if (rc == SUSHI_OK) {
                sushi_supernet_destroy(sn);
            } else {
                cr_assert_eq(rc, SUSHI_ERR_NOMEM, "allocation %ld: %s (%s)", k, sushi_status_name(rc), err);
                cr_assert_null(sn);
            }
            cr_assert_eq(g_count.live, base, "allocation %ld: leaked %ld", k, g_count.live - base);
            start = g_count.calls;
        }
        cr_expect_gt(k, 3, "the loader allocates");
        sushi_context_destroy(ctx);
        free(file);
    }
}

Test(format, write_fails_cleanly_on_allocation_failure)
{
    sushi_context *ctx = counting_ctx();
    sushi_supernet *sn = tiny_supernet(ctx);
    long base = g_count.live;
    g_count.fail_at = g_count.calls + 1;
    uint8_t *d = (uint8_t *)1;
    size_t n = 1;
    cr_expect_eq(sushi_format_write(sn, SUSHI_WEIGHTS_F32, &d, &n), SUSHI_ERR_NOMEM);
    cr_expect_null(d);
    g_count.fail_at = 0;
    cr_expect_eq(g_count.live, base);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(format, load_wrong_type_names_field_path)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 3), "kernel", cbor_build_string("three"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[3].kernel: expected unsigned integer, found text string");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "input"), "mean", cbor_build_uint8(1));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "input.mean: expected array");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "units", cbor_new_definite_map(0));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units: expected array, found map");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 1), "se", cbor_build_uint8(1));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[1].se: expected boolean");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 1), "act", cbor_build_string("gelu"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[1].act: unknown value \"gelu\"");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 0), "kind", cbor_build_string("transformer"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[0].kind: unknown value");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *u0 = at(get(top_map(root), "units"), 0);
    cbor_array_replace(get(top_map(root), "units"), 0, cbor_move(map_edit(u0, "name", NULL)));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[0].name: missing");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 1), "accuracy", cbor_build_float8(0.5));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[1].accuracy: must be null when accuracy_source is \"none\"");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 0), "accuracy", cbor_build_float8(87.5));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].accuracy: 87.5 is not a fraction");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 0), "accuracy_source", cbor_build_string("guessed"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].accuracy_source: unknown value \"guessed\"");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *cfg = get(at(get(top_map(root), "candidates"), 0), "config");
    cbor_array_replace(get(cfg, "ks"), 1, cbor_move(cbor_build_uint8(7)));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].config: ks[1]: 7 is not a choice");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "name", cbor_build_bytestring((const unsigned char *)"x", 1));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "name: expected text string, found byte string");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "name", cbor_build_stringn("a\xff", 2));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "name: invalid UTF-8");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "format", cbor_build_string("onnx"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "format: expected \"sushi-supernet\"");
}

Test(format, load_architecture_errors_come_from_validation)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 1), "mid_max", cbor_build_uint16(1000));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[1].mid_max");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "input"), "channels", cbor_build_uint8(9));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "input.channels: 9 out of range 1..4");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 1), "ks_slot", cbor_build_negint8(4)); /* -5 */
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[1].ks_slot: -5 out of range -1..63");
}

Test(format, load_slots_without_choices_returns_format_error)
{
    /* found by fuzzing: e slots with an empty choice list */
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "elastic"), "e", cbor_new_definite_array(0));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "elastic.e: no choices, but n_e_slots is 2");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "elastic"), "ks", cbor_new_definite_array(0));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "elastic.ks: no choices, but n_ks_slots is 2");
}

Test(format, load_nan_where_not_allowed_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_array_replace(get(get(top_map(root), "input"), "std"), 0, cbor_move(cbor_build_float4(NAN)));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "input.std[0]: must be a finite number");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "bn_eps", cbor_build_float2(INFINITY));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "bn_eps: must be a finite number");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 0), "accuracy", cbor_build_float8(NAN));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].accuracy: must be a finite number");

    /* non-finite BN statistics */
    root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *c0 = at(get(top_map(root), "candidates"), 0);
    cbor_item_t *bs = get(c0, "bn_stats");
    size_t len = cbor_bytestring_length(bs);
    unsigned char *copy = malloc(len);
    memcpy(copy, cbor_bytestring_handle(bs), len);
    memcpy(copy + 8, "\x00\x00\xc0\x7f", 4); /* float32 NaN, little-endian as in the file */
    set(c0, "bn_stats", cbor_build_bytestring(copy, len));
    free(copy);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].bn_stats: value 2 is not finite");
}

Test(format, load_overflowing_shape_returns_overflow)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_F32);
    cbor_item_t *shape = cbor_new_definite_array(4);
    cbor_array_push(shape, cbor_move(cbor_build_uint64(1ull << 40)));
    cbor_array_push(shape, cbor_move(cbor_build_uint64(1ull << 40)));
    cbor_array_push(shape, cbor_move(cbor_build_uint8(3)));
    cbor_array_push(shape, cbor_move(cbor_build_uint8(3)));
    set(at(tensors_of(root), 0), "shape", shape);
    expect_edit_error(root, SUSHI_ERR_OVERFLOW, "weights.tensors[0].shape: element count overflows");
}

Test(format, load_wrong_shape_or_length_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_F32);
    cbor_item_t *shape = cbor_new_definite_array(2);
    cbor_array_push(shape, cbor_move(cbor_build_uint8(8)));
    cbor_array_push(shape, cbor_move(cbor_build_uint8(9)));
    set(at(tensors_of(root), 0), "shape", shape);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.tensors[0].shape: [8, 9] does not match the architecture's [8, 1, 3, 3]");

    root = tiny_root(SUSHI_WEIGHTS_F32);
    set(at(tensors_of(root), 0), "data", cbor_build_bytestring((const unsigned char *)"abcd", 4));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.tensors[0].data: 4 bytes, expected 288");
}

Test(format, load_duplicate_tensor_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_F32);
    cbor_item_t *t = tensors_of(root);
    size_t n = cbor_array_size(t);
    cbor_item_t *nt = cbor_new_definite_array(n + 1);
    for (size_t i = 0; i < n; i++)
        cbor_array_push(nt, at(t, i));
    cbor_array_push(nt, at(t, 2));
    set(get(top_map(root), "weights"), "tensors", nt);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "].name: duplicate tensor \"first_conv.bn.bias\"");
}

Test(format, load_missing_or_unknown_tensor_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_F32);
    cbor_item_t *t = tensors_of(root);
    size_t n = cbor_array_size(t);
    cbor_item_t *nt = cbor_new_definite_array(n - 1);
    for (size_t i = 0; i + 1 < n; i++)
        cbor_array_push(nt, at(t, i));
    set(get(top_map(root), "weights"), "tensors", nt);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.tensors: missing tensor \"classifier.linear.bias\"");

    root = tiny_root(SUSHI_WEIGHTS_F32);
    set(at(tensors_of(root), 1), "name", cbor_build_string("first_conv.conv.weight_k9"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.tensors[1].name: unknown tensor \"first_conv.conv.weight_k9\"");
}

Test(format, load_bad_checksum_returns_integrity_error)
{
    size_t n;
    uint8_t *file = tiny_file(SUSHI_WEIGHTS_F32, &n);
    /* flip one bit inside the last tensor's payload */
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    cr_assert_eq(load_mem(ctx, file, n, SUSHI_LOAD_BORROW, &sn, NULL, 0), SUSHI_OK);
    const sushi_tensor *last = &sn->tensors[sn->n_tensors - 1];
    size_t off = payload_offset(file, n, last) + 5;
    sushi_supernet_destroy(sn);
    file[off] ^= 0x10;
    expect_load_error(file, n, SUSHI_ERR_INTEGRITY, "weights.checksum: CRC-32C of the tensor data is 0x");
    /* NO_VERIFY skips the check */
    cr_assert_eq(load_mem(ctx, file, n, SUSHI_LOAD_NO_VERIFY, &sn, NULL, 0), SUSHI_OK);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(file);
}

Test(format, load_future_version_returns_version_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "version", cbor_build_uint8(2));
    /* a v2 file may change anything else too: the version check comes first */
    set(top_map(root), "units", cbor_build_string("v2 layout"));
    expect_edit_error(root, SUSHI_ERR_VERSION, "version: file format version 2 is newer than this reader");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "version", cbor_build_uint8(0));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "version: 0 is not a valid version");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    root = root_edit(root, "version", NULL);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "version: missing");
}

Test(format, load_ignores_unknown_keys)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_F32);
    root = root_edit(root, "x-future-field", cbor_build_string("from version 1.1"));
    cbor_item_t *units = get(top_map(root), "units");
    cbor_array_replace(units, 2, cbor_move(map_edit(at(units, 2), "x-note", cbor_new_definite_map(0))));
    size_t n;
    uint8_t *d = serialize(root, &n);
    cbor_intermediate_decref(root);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    char err[256] = "";
    cr_assert_eq(load_mem(ctx, d, n, 0, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    sushi_context *ctx2 = plain_ctx();
    sushi_supernet *ref = tiny_supernet(ctx2);
    expect_equal_supernets(ref, sn);
    sushi_supernet_destroy(ref);
    sushi_context_destroy(ctx2);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(d);
}

Test(format, load_duplicate_key_returns_format_error)
{
    /* {"name": .., "name": ..} written by hand */
    static const uint8_t twice[] = { 0xa2, 0x64, 'n', 'a', 'm', 'e', 0x61, 'x', 0x64, 'n', 'a', 'm', 'e', 0x61, 'y' };
    expect_load_error(twice, sizeof twice, SUSHI_ERR_FORMAT, "duplicate key \"name\"");
    static const uint8_t unknown_twice[] = { 0xa2, 0x61, 'q', 0x01, 0x61, 'q', 0x02 };
    expect_load_error(unknown_twice, sizeof unknown_twice, SUSHI_ERR_FORMAT, "duplicate key \"q\"");

    /* duplicate known key inside a unit */
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *units = get(top_map(root), "units");
    cbor_item_t *u = at(units, 0);
    cbor_item_t *m = cbor_new_definite_map(cbor_map_size(u) + 1);
    for (size_t i = 0; i < cbor_map_size(u); i++)
        cbor_map_add(m, cbor_map_handle(u)[i]);
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("stride")), cbor_move(cbor_build_uint8(1)) });
    cbor_array_replace(units, 0, cbor_move(m));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "units[0]: duplicate key \"stride\"");
}

Test(format, load_malformed_cbor_reports_byte_offset)
{
    /* huge declared lengths: nothing is allocated for them */
    static const uint8_t huge_map[] = { 0xd9, 0xd9, 0xf7, 0xbb, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    expect_load_error(huge_map, sizeof huge_map, SUSHI_ERR_FORMAT, "byte 3: map of 9223372036854775807 entries");
    static const uint8_t huge_str[] = { 0xa1, 0x66, 'f', 'o', 'r', 'm', 'a', 't', 0x7b, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xf0, 'a' };
    expect_load_error(huge_str, sizeof huge_str, SUSHI_ERR_FORMAT, "byte 8: truncated (in format)");
    static const uint8_t indef[] = { 0xbf, 0xff };
    expect_load_error(indef, sizeof indef, SUSHI_ERR_FORMAT, "byte 0: indefinite-length items are not supported");
    static const uint8_t reserved[] = { 0xa1, 0x61, 'a', 0x1c };
    expect_load_error(reserved, sizeof reserved, SUSHI_ERR_FORMAT, "byte 3: malformed initial byte 0x1c (in a)");
    static const uint8_t int_key[] = { 0xa1, 0x01, 0x02 };
    expect_load_error(int_key, sizeof int_key, SUSHI_ERR_FORMAT, "byte 1: map key is a unsigned integer");
    static const uint8_t bad_key[] = { 0xa1, 0x62, 'm', 0xff, 0x00 };
    expect_load_error(bad_key, sizeof bad_key, SUSHI_ERR_FORMAT, "byte 1: map key is not valid UTF-8 text");
    static const uint8_t not_map[] = { 0x80 };
    expect_load_error(not_map, sizeof not_map, SUSHI_ERR_FORMAT, "expected map, found array");
    static const uint8_t trailing[] = { 0xa0, 0x00 };
    expect_load_error(trailing, sizeof trailing, SUSHI_ERR_FORMAT, "byte 1: 1 trailing bytes");
    expect_load_error("", 0, SUSHI_ERR_FORMAT, "byte 0: truncated");
    static const uint8_t empty_map[] = { 0xa0 };
    expect_load_error(empty_map, sizeof empty_map, SUSHI_ERR_FORMAT, "format: missing");
    /* deep nesting in an ignored value */
    uint8_t deep[64];
    size_t k = 0;
    deep[k++] = 0xa1;
    deep[k++] = 0x61;
    deep[k++] = 'z';
    while (k < sizeof deep - 1)
        deep[k++] = 0x81;
    deep[k++] = 0x00;
    expect_load_error(deep, sizeof deep, SUSHI_ERR_FORMAT, "nested deeper than");
}

Test(format, load_seed_mode_requires_synthetic)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "provenance"), "synthetic", cbor_build_bool(false));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.mode: \"seed\" needs provenance.synthetic = true");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(get(top_map(root), "weights"), "mode", cbor_build_string("int4"));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.mode: unknown value \"int4\"");
}

Test(format, load_bn_stats_of_wrong_size_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 0), "bn_stats", cbor_build_bytestring((const unsigned char *)"12345678", 8));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].bn_stats: 8 bytes, the SubNet's BN layers need");

    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 2), "act_ranges", cbor_build_bytestring((const unsigned char *)"12345678", 8));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[2].act_ranges: 8 bytes, the SubNet has");
    root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "candidates"), 2), "int8_ranges",
        cbor_build_bytestring((const unsigned char *)"12345678", 8));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[2].int8_ranges: 8 bytes, the SubNet has");

    /* negative variance: the second half of the first BN layer's values */
    root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *c0 = at(get(top_map(root), "candidates"), 0);
    cbor_item_t *bs = get(c0, "bn_stats");
    size_t len = cbor_bytestring_length(bs);
    unsigned char *copy = malloc(len);
    memcpy(copy, cbor_bytestring_handle(bs), len);
    memcpy(copy + 8 * 4 + 4 * 3, "\x00\x00\x80\xbf", 4); /* -1.0f little-endian; first_conv: 8 means, then variance 3 */
    set(c0, "bn_stats", cbor_build_bytestring(copy, len));
    free(copy);
    expect_edit_error(root, SUSHI_ERR_FORMAT, "candidates[0].bn_stats: variance 3 of layer first_conv");
}

Test(format, load_sets_bn_eps_from_file)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(top_map(root), "bn_eps", cbor_build_float4(1e-3f));
    size_t n;
    uint8_t *d = serialize(root, &n);
    cbor_intermediate_decref(root);
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    cr_assert_eq(load_mem(ctx, d, n, 0, &sn, NULL, 0), SUSHI_OK);
    int seen = 0;
    for (uint32_t i = 0; i < sn->n_units; i++)
        for (int s = 0; s < SUSHI_SUB_MAX; s++)
            if (sn->units[i].sub[s].has_bn) {
                cr_expect_eq(sn->units[i].sub[s].bn.eps, 1e-3f);
                seen++;
            }
    cr_expect_gt(seen, 0);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(d);
}

/* ---------- tests: golden fixture (tests/format/make_fixture.py) ---------- */

static uint8_t *read_fixture(size_t *n) { return read_all(SUSHI_FORMAT_FIXTURE, n); }

Test(format, golden_fixture_from_python_loads_and_rewrites_byte_identical)
{
    sushi_context *ctx = plain_ctx();
    sushi_supernet *sn = NULL;
    char err[512] = "";
    sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
    lo.errbuf = err;
    lo.errbuf_size = sizeof err;
    cr_assert_eq(sushi_supernet_load_file(ctx, SUSHI_FORMAT_FIXTURE, &lo, &sn), SUSHI_OK, "%s", err);
    cr_expect_str_eq(sn->name, "tiny-v1-fixture");
    cr_expect_eq(sn->n_units, 5);
    cr_expect_eq(sn->n_cand, 2);
    cr_expect(isnan(sn->cands[0].accuracy));
    cr_expect_str_eq(sn->cands[0].accuracy_source, "none");
    cr_expect_eq(sn->cands[0].n_bn_stats, 240);
    cr_expect_eq(sn->cands[0].bn_stats[0], 0.0f);
    cr_expect_eq(sn->cands[0].bn_stats[8], 1.0f); /* first_conv: 8 means, then variances */
    int32_t t = sushi_supernet_find_tensor(sn, "blocks.1.conv.depth_conv.conv.weight_k3");
    cr_assert_geq(t, 0);
    cr_expect_eq(sn->tensors[t].shape[2], 3);
    cr_expect_eq(sn->map != NULL, SUSHI_HOST_LE); /* borrowed payloads keep the mapping */
    /* the library's writer reproduces the independent writer's bytes */
    size_t n;
    uint8_t *file = read_fixture(&n);
    uint8_t *d = NULL;
    size_t m = 0;
    cr_assert_eq(sushi_format_write(sn, SUSHI_WEIGHTS_F32, &d, &m), SUSHI_OK);
    cr_expect_eq(m, n, "sizes %zu vs %zu", m, n);
    if (m == n)
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(d[i], file[i], "first difference at byte %zu", i);
    sushi_free(ctx, d);
    free(file);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ---------- tests: architecture-level hostility ---------- */

static cbor_item_t *mk_unit(const char *kind, const char *name, uint32_t in, uint32_t out, uint32_t k)
{
    cbor_item_t *m = cbor_new_definite_map(6);
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("kind")), cbor_move(cbor_build_string(kind)) });
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("name")), cbor_move(cbor_build_string(name)) });
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("in_max")), cbor_move(cbor_build_uint32(in)) });
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("out_max")), cbor_move(cbor_build_uint32(out)) });
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("kernel")), cbor_move(cbor_build_uint32(k)) });
    cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_string("bias")), cbor_move(cbor_build_bool(true)) });
    return m;
}

Test(format, load_colliding_tensor_names_returns_format_error)
{
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    set(at(get(top_map(root), "units"), 0), "name", cbor_build_string("blocks.0.conv.inverted_bottleneck"));
    expect_edit_error(root, SUSHI_ERR_FORMAT,
                      "units: two units produce the tensor name \"blocks.0.conv.inverted_bottleneck.bn.bias\"");
}

Test(format, load_seed_mode_refuses_giant_architectures)
{
    /* a few hundred bytes asking for 4.3 G synthetic weights */
    cbor_item_t *root = tiny_root(SUSHI_WEIGHTS_SEED);
    cbor_item_t *top = top_map(root);
    cbor_item_t *units = cbor_new_definite_array(4);
    cbor_array_push(units, cbor_move(mk_unit("conv", "a", 1, 65536, 3)));
    cbor_array_push(units, cbor_move(mk_unit("conv", "b", 65536, 65536, 1)));
    cbor_array_push(units, cbor_move(mk_unit("gap", "p", 0, 0, 1)));
    cbor_array_push(units, cbor_move(mk_unit("linear", "c", 65536, 10, 1)));
    set(top, "units", units);
    set(top, "elastic", cbor_new_definite_map(0));
    set(top, "candidates", cbor_new_definite_array(0));
    expect_edit_error(root, SUSHI_ERR_FORMAT, "weights.mode: \"seed\": the architecture needs 4296343562 weights");
}
