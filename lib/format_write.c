/* SuperNet file writer (format v1, docs/format.md) and CRC-32C.
 *
 * The writer runs twice over the same deterministic layout: a sizing pass
 * that only counts bytes, then a pass into one exactly-sized buffer. Heads
 * are encoded with libcbor's encoder functions (shortest integer forms);
 * payloads are copied directly. Same SuperNet -> same bytes. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include <cbor.h>

#include "format.h"

/* ---------- CRC-32C, slicing-by-8 ---------- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xffu] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
}

uint32_t sushi_crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7u)) {
        c = crc_table[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        /* bytes in file order, independent of host endianness */
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xffu] ^ crc_table[6][(lo >> 8) & 0xffu] ^
            crc_table[5][(lo >> 16) & 0xffu] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xffu] ^ crc_table[2][(hi >> 8) & 0xffu] ^
            crc_table[1][(hi >> 16) & 0xffu] ^ crc_table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xffu] ^ (c >> 8);
    return ~c;
}

void sushi_f32le_copy(float *dst, const uint8_t *src, size_t n)
{
#if SUSHI_HOST_LE
    memcpy(dst, src, n * sizeof(float));
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, sizeof u);
    }
#endif
}

/* ---------- emitter ---------- */

typedef struct wr {
    uint8_t *buf; /* NULL during the sizing pass */
    size_t pos;
    uint32_t crc;
    const char *bad_text; /* first text string that is not valid UTF-8 */
} wr;

static void put(wr *w, const void *p, size_t n)
{
    if (w->buf && n)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

static void put_zeros(wr *w, size_t n)
{
    if (w->buf && n)
        memset(w->buf + w->pos, 0, n);
    w->pos += n;
}

#define EMIT(call)                          \
    do {                                    \
        unsigned char t_[16];               \
        size_t n_ = (call);                 \
        put(w, t_, n_);                     \
    } while (0)

static void e_uint(wr *w, uint64_t v) { EMIT(cbor_encode_uint(v, t_, sizeof t_)); }

static void e_int(wr *w, int64_t v)
{
    if (v >= 0)
        e_uint(w, (uint64_t)v);
    else
        EMIT(cbor_encode_negint((uint64_t)(-(v + 1)), t_, sizeof t_));
}

static void e_text(wr *w, const char *s)
{
    size_t len = strlen(s);
    if (!w->bad_text && !sushi_utf8_valid(s, len))
        w->bad_text = s; /* the reader would refuse the file: refuse to write it */
    EMIT(cbor_encode_string_start(len, t_, sizeof t_));
    put(w, s, len);
}

static void e_array(wr *w, size_t n) { EMIT(cbor_encode_array_start(n, t_, sizeof t_)); }
static void e_map(wr *w, size_t n) { EMIT(cbor_encode_map_start(n, t_, sizeof t_)); }
static void e_bytes_head(wr *w, size_t n) { EMIT(cbor_encode_bytestring_start(n, t_, sizeof t_)); }
static void e_bool(wr *w, bool b) { EMIT(cbor_encode_bool(b, t_, sizeof t_)); }
static void e_null(wr *w) { EMIT(cbor_encode_null(t_, sizeof t_)); }
static void e_f32(wr *w, float f) { EMIT(cbor_encode_single(f, t_, sizeof t_)); }
static void e_f64(wr *w, double d) { EMIT(cbor_encode_double(d, t_, sizeof t_)); }
static void e_tag(wr *w, uint64_t tag) { EMIT(cbor_encode_tag(tag, t_, sizeof t_)); }

/* A number that is usually integral (expand ratios): an unsigned integer
 * when exact, else float32 (OFA arch dicts write e as 3, 4, 6 or 0.25). */
static void e_num(wr *w, float f)
{
    if (f >= 0.0f && f < 4294967296.0f && f == floorf(f))
        e_uint(w, (uint64_t)f);
    else
        e_f32(w, f);
}

static size_t head_len(uint64_t v)
{
    return v < 24 ? 1 : v <= 0xffu ? 2 : v <= 0xffffu ? 3 : v <= 0xffffffffu ? 5 : 9;
}

/* Emit "filler": bstr of k zero bytes, k chosen (smallest) so that the payload of
 * the byte string of `len` bytes under key `next_key` that follows starts at a
 * multiple of SUSHI_FORMAT_ALIGN from the start of the file. */
static void e_filler_then_key(wr *w, const char *next_key, size_t len)
{
    e_text(w, "filler");
    size_t klen = strlen(next_key);
    size_t after = head_len(klen) + klen + head_len(len);
    size_t k = 0;
    while ((w->pos + head_len(k) + k + after) % SUSHI_FORMAT_ALIGN != 0)
        k++;
    e_bytes_head(w, k);
    put_zeros(w, k);
    e_text(w, next_key);
}

/* little-endian float32 payload; the CRC (when asked) covers these bytes */
static void e_f32_payload(wr *w, const float *v, uint64_t n, bool crc)
{
    size_t bytes = (size_t)n * 4u;
    if (w->buf) {
        uint8_t *dst = w->buf + w->pos;
#if SUSHI_HOST_LE
        memcpy(dst, v, bytes);
#else
        for (uint64_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            dst[4 * i] = (uint8_t)u;
            dst[4 * i + 1] = (uint8_t)(u >> 8);
            dst[4 * i + 2] = (uint8_t)(u >> 16);
            dst[4 * i + 3] = (uint8_t)(u >> 24);
        }
#endif
        if (crc)
            w->crc = sushi_crc32c(w->crc, dst, bytes);
    }
    w->pos += bytes;
}

/* ---------- sections ---------- */

static const char *const act_names[] = { "none", "relu", "hswish", "hsigmoid" };
static const char *const dmode_names[] = { "prefix", "all-if-max" };

static float bn_eps_of(const sushi_supernet *sn)
{
    for (uint32_t i = 0; i < sn->n_units; i++)
        for (int s = 0; s < SUSHI_SUB_MAX; s++)
            if (sn->units[i].sub[s].has_bn)
                return sn->units[i].sub[s].bn.eps;
    return SUSHI_FORMAT_DEFAULT_BN_EPS;
}

static void w_input(wr *w, const sushi_supernet *sn)
{
    e_map(w, 5);
    e_text(w, "channels");
    e_uint(w, sn->in_channels);
    e_text(w, "mean");
    e_array(w, sn->in_channels);
    for (uint32_t i = 0; i < sn->in_channels; i++)
        e_f32(w, sn->in_mean[i]);
    e_text(w, "std");
    e_array(w, sn->in_channels);
    for (uint32_t i = 0; i < sn->in_channels; i++)
        e_f32(w, sn->in_std[i]);
    e_text(w, "resolutions");
    e_array(w, sn->n_res);
    for (uint32_t i = 0; i < sn->n_res; i++)
        e_uint(w, sn->res[i]);
    e_text(w, "default_resolution");
    e_uint(w, sn->default_resolution);
}

static void w_elastic(wr *w, const sushi_supernet *sn)
{
    e_map(w, 6);
    e_text(w, "ks");
    e_array(w, sn->n_ks_choices);
    for (uint32_t i = 0; i < sn->n_ks_choices; i++)
        e_uint(w, sn->ks_choices[i]);
    e_text(w, "e");
    e_array(w, sn->n_e_choices);
    for (uint32_t i = 0; i < sn->n_e_choices; i++)
        e_num(w, sn->e_choices[i]);
    e_text(w, "n_ks_slots");
    e_uint(w, sn->n_ks_slots);
    e_text(w, "n_e_slots");
    e_uint(w, sn->n_e_slots);
    e_text(w, "depth_groups");
    e_array(w, sn->n_dgroups);
    for (uint32_t g = 0; g < sn->n_dgroups; g++) {
        const sushi_dgroup *d = &sn->dgroups[g];
        e_map(w, 3);
        e_text(w, "choices");
        e_array(w, d->n_choices);
        for (uint32_t i = 0; i < d->n_choices; i++)
            e_uint(w, d->choices[i]);
        e_text(w, "base");
        e_uint(w, d->base);
        e_text(w, "mode");
        e_text(w, dmode_names[d->mode]);
    }
    e_text(w, "width_groups");
    e_array(w, sn->n_wgroups);
    for (uint32_t g = 0; g < sn->n_wgroups; g++) {
        const sushi_wgroup *wg = &sn->wgroups[g];
        e_map(w, 1);
        e_text(w, "channels");
        e_array(w, wg->n_choices);
        for (uint32_t i = 0; i < wg->n_choices; i++)
            e_uint(w, wg->channels[i]);
    }
}

static void w_unit(wr *w, const sushi_unit *u)
{
    /* the hidden-width rule only when it is not OFA's default (files that
     * use the default stay byte-identical to earlier writers) */
    uint32_t div = u->mid_divisor ? u->mid_divisor : 8;
    bool rule = u->mid_round != SUSHI_MID_OFA || div != 8;
    e_map(w, 21 + (rule ? 2 : 0));
    e_text(w, "kind");
    e_text(w, sushi_unit_kind_names[u->kind]);
    e_text(w, "name");
    e_text(w, u->name);
    e_text(w, "in_max");
    e_uint(w, u->in_max);
    e_text(w, "out_max");
    e_uint(w, u->out_max);
    e_text(w, "out_wgroup");
    e_int(w, u->out_wgroup);
    e_text(w, "kernel");
    e_uint(w, u->kernel);
    e_text(w, "stride");
    e_uint(w, u->stride);
    e_text(w, "pad");
    e_uint(w, u->pad);
    e_text(w, "act");
    e_text(w, act_names[u->act]);
    e_text(w, "bias");
    e_bool(w, u->bias);
    e_text(w, "bn");
    e_bool(w, u->bn);
    e_text(w, "se");
    e_bool(w, u->se);
    e_text(w, "residual");
    e_bool(w, u->residual);
    e_text(w, "ks_slot");
    e_int(w, u->ks_slot);
    e_text(w, "e_slot");
    e_int(w, u->e_slot);
    e_text(w, "e_fixed");
    e_num(w, u->e_fixed);
    e_text(w, "mid_max");
    e_uint(w, u->mid_max);
    e_text(w, "se_mid_max");
    e_uint(w, u->se_mid_max);
    e_text(w, "dgroup");
    e_int(w, u->dgroup);
    e_text(w, "dindex");
    e_uint(w, u->dindex);
    e_text(w, "dw");
    e_array(w, u->n_dw);
    for (uint32_t i = 0; i < u->n_dw; i++)
        e_uint(w, u->dw_kernel[i]);
    if (rule) {
        e_text(w, "mid_round");
        e_text(w, sushi_mid_round_names[u->mid_round < SUSHI_MID_RULE_COUNT ? u->mid_round : 0]);
        e_text(w, "mid_divisor");
        e_uint(w, div);
    }
}

static void w_config(wr *w, const sushi_config *c)
{
    size_t n = 1 + (c->n_ks > 0) + (c->n_e > 0) + (c->n_d > 0) + (c->n_w > 0);
    e_map(w, n);
    if (c->n_ks) {
        e_text(w, "ks");
        e_array(w, c->n_ks);
        for (uint32_t i = 0; i < c->n_ks; i++)
            e_uint(w, c->ks[i]);
    }
    if (c->n_e) {
        e_text(w, "e");
        e_array(w, c->n_e);
        for (uint32_t i = 0; i < c->n_e; i++)
            e_num(w, c->e[i]);
    }
    if (c->n_d) {
        e_text(w, "d");
        e_array(w, c->n_d);
        for (uint32_t i = 0; i < c->n_d; i++)
            e_uint(w, c->d[i]);
    }
    if (c->n_w) {
        e_text(w, "w");
        e_array(w, c->n_w);
        for (uint32_t i = 0; i < c->n_w; i++)
            e_uint(w, c->w[i]);
    }
    e_text(w, "r");
    e_uint(w, c->resolution);
}

static bool accuracy_is_null(const sushi_candidate *c)
{
    return strcmp(c->accuracy_source, "none") == 0;
}

static void w_candidate(wr *w, const sushi_candidate *c)
{
    bool bn = c->bn_stats && c->n_bn_stats;
    bool ar = c->act_ranges && c->n_act_ranges;
    bool i8 = c->int8_ranges && c->n_int8_ranges;
    e_map(w, 8 + (bn ? 2 : 0) + (ar ? 1 : 0) + (i8 ? 1 : 0));
    e_text(w, "config");
    w_config(w, &c->config);
    e_text(w, "accuracy");
    if (accuracy_is_null(c))
        e_null(w);
    else
        e_f64(w, c->accuracy);
    e_text(w, "accuracy_source");
    e_text(w, c->accuracy_source);
    e_text(w, "dataset");
    e_text(w, c->dataset ? c->dataset : "");
    e_text(w, "metric");
    e_text(w, c->metric ? c->metric : "");
    e_text(w, "macs");
    e_uint(w, c->macs);
    e_text(w, "params");
    e_uint(w, c->params);
    e_text(w, "weight_bytes");
    e_uint(w, c->weight_bytes);
    if (bn) {
        e_filler_then_key(w, "bn_stats", (size_t)c->n_bn_stats * 4u);
        e_bytes_head(w, (size_t)c->n_bn_stats * 4u);
        e_f32_payload(w, c->bn_stats, c->n_bn_stats, false);
    }
    if (ar) {
        e_text(w, "act_ranges");
        e_bytes_head(w, (size_t)c->n_act_ranges * 4u);
        e_f32_payload(w, c->act_ranges, c->n_act_ranges, false);
    }
    if (i8) {
        e_text(w, "int8_ranges");
        e_bytes_head(w, (size_t)c->n_int8_ranges * 4u);
        e_f32_payload(w, c->int8_ranges, c->n_int8_ranges, false);
    }
}

static void w_tensor(wr *w, const sushi_tensor *t)
{
    e_map(w, 4);
    e_text(w, "name");
    e_text(w, t->name);
    e_text(w, "shape");
    e_array(w, t->ndim);
    for (uint32_t i = 0; i < t->ndim; i++)
        e_uint(w, t->shape[i]);
    size_t bytes = (size_t)t->nelem * 4u;
    e_filler_then_key(w, "data", bytes);
    e_bytes_head(w, bytes);
    e_f32_payload(w, t->data, t->nelem, true);
}

static void w_all(wr *w, const sushi_supernet *sn, bool f32)
{
    e_tag(w, SUSHI_FORMAT_MAGIC_TAG);
    e_map(w, 13);
    e_text(w, "format");
    e_text(w, SUSHI_FORMAT_NAME);
    e_text(w, "version");
    e_uint(w, SUSHI_FORMAT_VERSION);
    e_text(w, "name");
    e_text(w, sn->name ? sn->name : "");
    e_text(w, "family");
    e_text(w, sn->family ? sn->family : "custom");
    e_text(w, "provenance");
    e_map(w, 2);
    e_text(w, "synthetic");
    e_bool(w, sn->synthetic);
    e_text(w, "text");
    e_text(w, sn->provenance ? sn->provenance : "");
    e_text(w, "seed");
    e_uint(w, sn->seed);
    e_text(w, "input");
    w_input(w, sn);
    e_text(w, "num_classes");
    e_uint(w, sn->num_classes);
    e_text(w, "bn_eps");
    e_f32(w, bn_eps_of(sn));
    e_text(w, "elastic");
    w_elastic(w, sn);
    e_text(w, "units");
    e_array(w, sn->n_units);
    for (uint32_t i = 0; i < sn->n_units; i++)
        w_unit(w, &sn->units[i]);
    e_text(w, "candidates");
    e_array(w, sn->n_cand);
    for (uint32_t i = 0; i < sn->n_cand; i++)
        w_candidate(w, &sn->cands[i]);
    e_text(w, "weights");
    if (f32) {
        e_map(w, 3);
        e_text(w, "mode");
        e_text(w, "f32");
        e_text(w, "tensors");
        e_array(w, sn->n_tensors);
        w->crc = 0;
        for (uint32_t i = 0; i < sn->n_tensors; i++)
            w_tensor(w, &sn->tensors[i]);
        e_text(w, "checksum");
        /* always the 4-byte form: the sizing pass does not know the value */
        EMIT(cbor_encode_uint32(w->crc, t_, sizeof t_));
    } else {
        e_map(w, 1);
        e_text(w, "mode");
        e_text(w, "seed");
    }
}

/* What the writer relies on; a SuperNet built by the library always passes. */
static int check_writable(const sushi_supernet *sn, bool f32)
{
    if (sn->n_units == 0 || !sn->units || sn->in_channels > 4 || (sn->n_res && !sn->res) || !sn->name ||
        !sn->name[0] || (sn->family && !sn->family[0]))
        return SUSHI_ERR_INVALID;
    if (sn->n_dgroups > SUSHI_CONFIG_MAX_GROUPS || sn->n_wgroups > SUSHI_CONFIG_MAX_GROUPS ||
        sn->n_ks_choices > SUSHI_MAX_CHOICES || sn->n_e_choices > SUSHI_MAX_CHOICES)
        return SUSHI_ERR_INVALID;
    for (uint32_t g = 0; g < sn->n_dgroups; g++)
        if (sn->dgroups[g].mode > SUSHI_DEPTH_ALL_IF_MAX || sn->dgroups[g].n_choices > SUSHI_MAX_CHOICES)
            return SUSHI_ERR_INVALID;
    for (uint32_t g = 0; g < sn->n_wgroups; g++)
        if (sn->wgroups[g].n_choices > SUSHI_MAX_CHOICES)
            return SUSHI_ERR_INVALID;
    for (uint32_t i = 0; i < sn->n_units; i++) {
        const sushi_unit *u = &sn->units[i];
        if (u->kind >= SUSHI_UNIT_KIND_COUNT || u->act > SUSHI_ACT_HSIGMOID || u->n_dw > SUSHI_MAX_CHOICES ||
            memchr(u->name, '\0', sizeof u->name) == NULL)
            return SUSHI_ERR_INVALID;
    }
    for (uint32_t i = 0; i < sn->n_cand; i++) {
        const sushi_candidate *c = &sn->cands[i];
        const char *src = c->accuracy_source;
        if (memchr(src, '\0', sizeof c->accuracy_source) == NULL)
            return SUSHI_ERR_INVALID;
        if (strcmp(src, "none") != 0) {
            if (strcmp(src, "measured") != 0 && strcmp(src, "proxy") != 0)
                return SUSHI_ERR_INVALID;
            if (!(c->accuracy >= 0.0 && c->accuracy <= 1.0))
                return SUSHI_ERR_INVALID;
        }
        if (c->config.n_ks > SUSHI_CONFIG_MAX_SLOTS || c->config.n_e > SUSHI_CONFIG_MAX_SLOTS ||
            c->config.n_d > SUSHI_CONFIG_MAX_GROUPS || c->config.n_w > SUSHI_CONFIG_MAX_GROUPS)
            return SUSHI_ERR_INVALID;
        if ((c->n_bn_stats && !c->bn_stats) || (c->n_act_ranges && !c->act_ranges) ||
            (c->n_int8_ranges && !c->int8_ranges))
            return SUSHI_ERR_INVALID;
        if (c->n_bn_stats > SIZE_MAX / 4 || c->n_act_ranges > SIZE_MAX / 4 || c->n_int8_ranges > SIZE_MAX / 4)
            return SUSHI_ERR_OVERFLOW;
    }
    if (f32) {
        for (uint32_t i = 0; i < sn->n_tensors; i++) {
            const sushi_tensor *t = &sn->tensors[i];
            if (!t->data || t->ndim > 4 || t->nelem > SIZE_MAX / 4)
                return SUSHI_ERR_INVALID;
        }
    }
    return SUSHI_OK;
}

int sushi_format_write(const sushi_supernet *sn, int weights_mode, uint8_t **data, size_t *size)
{
    if (!data || !size)
        return SUSHI_ERR_INVALID;
    *data = NULL;
    *size = 0;
    if (!sn)
        return SUSHI_ERR_INVALID;
    bool f32;
    switch (weights_mode) {
    /* seed mode only when the seed reproduces the weights: a synthetic
     * SuperNet with stored float32 weights (an untrained export) keeps them */
    case SUSHI_WEIGHTS_AUTO: f32 = !(sn->synthetic && sn->seed_weights); break;
    case SUSHI_WEIGHTS_SEED:
        if (!sn->synthetic || !sn->seed_weights) {
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "save: seed mode needs synthetic weights made from the seed; "
                      "these are stored float32 (use SUSHI_WEIGHTS_F32)");
            return SUSHI_ERR_INVALID;
        }
        f32 = false;
        break;
    case SUSHI_WEIGHTS_F32: f32 = true; break;
    default: return SUSHI_ERR_INVALID;
    }
    int rc = check_writable(sn, f32);
    if (rc)
        return rc;
    wr w = { NULL, 0, 0, NULL };
    w_all(&w, sn, f32); /* sizing pass */
    if (w.bad_text) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR, "save: a text string is not valid UTF-8 (the file would not load): "
                  "\"%.64s\"", w.bad_text);
        return SUSHI_ERR_INVALID;
    }
    size_t total = w.pos;
    uint8_t *buf = sushi_malloc(sn->ctx, total);
    if (!buf)
        return SUSHI_ERR_NOMEM;
    w = (wr){ buf, 0, 0, NULL };
    w_all(&w, sn, f32);
    if (w.pos != total) { /* cannot happen: both passes run the same code */
        sushi_free(sn->ctx, buf);
        return SUSHI_ERR_INVALID;
    }
    *data = buf;
    *size = total;
    return SUSHI_OK;
}
