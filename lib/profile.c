/* sushi_profile: measured per-candidate latency, its CBOR file (docs/profile.md)
 * and the SuperNet content hash that ties a profile to its SuperNet.
 *
 * The reader is a small bounded CBOR cursor (no allocation driven by a
 * declared length before the bytes are known to exist), so a hostile file
 * cannot make it allocate more than its own size; the writer uses libcbor's
 * encoders into a growing buffer. */
#include <cbor.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "internal.h"
#include "sushi/profile.h"
#include "sushi/version.h"

#define PROFILE_MAGIC "sushi-profile"
#define PROFILE_VERSION 1u
#define MAX_REPS 1000000u
#define MAX_ENTRIES 1000000u
#define MAX_PARAMS 64u
#define MAX_TEXT 256u

struct sushi_profile {
    sushi_context *ctx;
    char *backend, *supernet, *cpu_model, *libver;
    char hash[SUSHI_PROFILE_HASH_HEX];
    uint32_t threads, warmup, reps, n, n_params;
    bool int8;
    double created;
    char **pkey;
    double *pval;
    sushi_profile_entry *e;
};

/* Backend params recorded as provenance when the backend has them. */
static const char *const known_params[] = { "threads", "gflops", "pb_kib", "pb_bytes", "preset",
                                            "mem_type", "ns_per_mac" };

/* ================================================================ SHA-256
 * FIPS 180-4, written from the specification. */

typedef struct sha256 {
    uint32_t h[8];
    uint8_t buf[64];
    size_t nbuf;
    uint64_t bytes;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(sha256 *c, const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6],
             h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    c->h[5] += f;
    c->h[6] += g;
    c->h[7] += h;
}

static void sha_init(sha256 *c)
{
    static const uint32_t h0[8] = { 0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u };
    memcpy(c->h, h0, sizeof h0);
    c->nbuf = 0;
    c->bytes = 0;
}

static void sha_update(sha256 *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    c->bytes += n;
    while (n) {
        size_t k = 64 - c->nbuf < n ? 64 - c->nbuf : n;
        memcpy(c->buf + c->nbuf, p, k);
        c->nbuf += k;
        p += k;
        n -= k;
        if (c->nbuf == 64) {
            sha_block(c, c->buf);
            c->nbuf = 0;
        }
    }
}

static void sha_final(sha256 *c, uint8_t out[32])
{
    uint64_t bits = c->bytes * 8;
    uint8_t pad = 0x80;
    sha_update(c, &pad, 1);
    pad = 0;
    while (c->nbuf != 56)
        sha_update(c, &pad, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_update(c, len, 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

/* Canonical stream: every integer as 8 bytes little endian, every float as
 * its IEEE-754 bits in 4 bytes little endian, every string as its length (8
 * bytes) then its bytes. */
static void h_u64(sha256 *c, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sha_update(c, b, 8);
}

static void h_i64(sha256 *c, int64_t v) { h_u64(c, (uint64_t)v); }

static void h_f32(sha256 *c, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint8_t b[4] = { (uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24) };
    sha_update(c, b, 4);
}

static void h_str(sha256 *c, const char *s)
{
    size_t n = strlen(s);
    h_u64(c, n);
    sha_update(c, s, n);
}

int sushi_profile_supernet_hash(const sushi_supernet *sn, char hex_out[SUSHI_PROFILE_HASH_HEX])
{
    if (!sn || !hex_out)
        return SUSHI_ERR_INVALID;
    sha256 c;
    sha_init(&c);
    h_str(&c, "sushi-supernet-identity-1");
    h_u64(&c, sn->in_channels);
    h_u64(&c, sn->num_classes);
    for (int i = 0; i < 4; i++) {
        h_f32(&c, sn->in_mean[i]);
        h_f32(&c, sn->in_std[i]);
    }
    h_u64(&c, sn->default_resolution);
    h_u64(&c, sn->n_res);
    for (uint32_t i = 0; i < sn->n_res; i++)
        h_u64(&c, sn->res[i]);
    h_u64(&c, sn->n_ks_choices);
    for (uint32_t i = 0; i < sn->n_ks_choices && i < SUSHI_MAX_CHOICES; i++)
        h_u64(&c, sn->ks_choices[i]);
    h_u64(&c, sn->n_e_choices);
    for (uint32_t i = 0; i < sn->n_e_choices && i < SUSHI_MAX_CHOICES; i++)
        h_f32(&c, sn->e_choices[i]);
    h_u64(&c, sn->n_ks_slots);
    h_u64(&c, sn->n_e_slots);
    h_u64(&c, sn->n_dgroups);
    for (uint32_t g = 0; g < sn->n_dgroups && g < SUSHI_CONFIG_MAX_GROUPS; g++) {
        const sushi_dgroup *d = &sn->dgroups[g];
        h_u64(&c, d->n_choices);
        for (uint32_t i = 0; i < d->n_choices && i < SUSHI_MAX_CHOICES; i++)
            h_u64(&c, d->choices[i]);
        h_u64(&c, d->base);
        h_u64(&c, d->mode);
        h_u64(&c, d->n_members);
    }
    h_u64(&c, sn->n_wgroups);
    for (uint32_t g = 0; g < sn->n_wgroups && g < SUSHI_CONFIG_MAX_GROUPS; g++) {
        const sushi_wgroup *w = &sn->wgroups[g];
        h_u64(&c, w->n_choices);
        for (uint32_t i = 0; i < w->n_choices && i < SUSHI_MAX_CHOICES; i++)
            h_u64(&c, w->channels[i]);
    }
    h_u64(&c, sn->n_units);
    for (uint32_t i = 0; i < sn->n_units; i++) {
        const sushi_unit *u = &sn->units[i];
        h_u64(&c, u->kind);
        h_u64(&c, u->in_max);
        h_u64(&c, u->out_max);
        h_i64(&c, u->out_wgroup);
        h_u64(&c, u->kernel);
        h_u64(&c, u->stride);
        h_u64(&c, u->pad);
        h_u64(&c, u->act);
        h_u64(&c, (uint64_t)u->bias | (uint64_t)u->bn << 1 | (uint64_t)u->se << 2 | (uint64_t)u->residual << 3);
        h_i64(&c, u->ks_slot);
        h_i64(&c, u->e_slot);
        h_f32(&c, u->e_fixed);
        h_u64(&c, u->mid_max);
        h_u64(&c, u->se_mid_max);
        h_i64(&c, u->dgroup);
        h_u64(&c, u->dindex);
    }
    h_u64(&c, sn->n_tensors);
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        const sushi_tensor *t = &sn->tensors[i];
        h_str(&c, t->name);
        h_u64(&c, t->role);
        h_u64(&c, t->ndim);
        for (uint32_t k = 0; k < t->ndim && k < 4; k++)
            h_u64(&c, t->shape[k]);
        h_u64(&c, t->nelem);
        if (t->data) {
            for (uint64_t k = 0; k < t->nelem; k++)
                h_f32(&c, t->data[k]);
        } else {
            h_u64(&c, UINT64_MAX); /* no data (not expected once loaded) */
        }
    }
    h_u64(&c, sn->n_cand);
    for (uint32_t i = 0; i < sn->n_cand; i++) {
        const sushi_config *k = &sn->cands[i].config;
        h_u64(&c, k->resolution);
        h_u64(&c, k->n_ks);
        for (uint32_t j = 0; j < k->n_ks && j < SUSHI_CONFIG_MAX_SLOTS; j++)
            h_u64(&c, k->ks[j]);
        h_u64(&c, k->n_e);
        for (uint32_t j = 0; j < k->n_e && j < SUSHI_CONFIG_MAX_SLOTS; j++)
            h_f32(&c, k->e[j]);
        h_u64(&c, k->n_d);
        for (uint32_t j = 0; j < k->n_d && j < SUSHI_CONFIG_MAX_GROUPS; j++)
            h_u64(&c, k->d[j]);
        h_u64(&c, k->n_w);
        for (uint32_t j = 0; j < k->n_w && j < SUSHI_CONFIG_MAX_GROUPS; j++)
            h_u64(&c, k->w[j]);
    }
    uint8_t dig[32];
    sha_final(&c, dig);
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex_out[2 * i] = hx[dig[i] >> 4];
        hex_out[2 * i + 1] = hx[dig[i] & 15];
    }
    hex_out[64] = '\0';
    return SUSHI_OK;
}

/* ================================================================ object */

void sushi_profile_destroy(sushi_profile *p)
{
    if (!p)
        return;
    sushi_context *ctx = p->ctx;
    sushi_free(ctx, p->backend);
    sushi_free(ctx, p->supernet);
    sushi_free(ctx, p->cpu_model);
    sushi_free(ctx, p->libver);
    for (uint32_t i = 0; p->pkey && i < p->n_params; i++)
        sushi_free(ctx, p->pkey[i]);
    sushi_free(ctx, p->pkey);
    sushi_free(ctx, p->pval);
    sushi_free(ctx, p->e);
    sushi_free(ctx, p);
    sushi_context_destroy(ctx);
}

static sushi_profile *profile_new(sushi_context *ctx)
{
    sushi_profile *p = sushi_calloc(ctx, 1, sizeof *p);
    if (!p)
        return NULL;
    sushi_context_retain(ctx);
    p->ctx = ctx;
    return p;
}

/* "model name" (x86) or "Hardware"/"CPU part" (arm) of /proc/cpuinfo. */
static char *cpu_model(const sushi_context *ctx)
{
    char line[512], found[MAX_TEXT] = "";
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            const char *keys[] = { "model name", "Hardware", "Model" };
            for (size_t k = 0; k < 3 && !found[0]; k++) {
                size_t kl = strlen(keys[k]);
                if (strncmp(line, keys[k], kl) == 0) {
                    const char *c = strchr(line, ':');
                    if (!c)
                        continue;
                    c++;
                    while (*c == ' ' || *c == '\t')
                        c++;
                    snprintf(found, sizeof found, "%s", c);
                    size_t n = strlen(found);
                    while (n && (found[n - 1] == '\n' || found[n - 1] == ' '))
                        found[--n] = '\0';
                }
            }
            if (found[0])
                break;
        }
        fclose(f);
    }
    return sushi_strdup(ctx, found[0] ? found : "unknown");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int sushi_profile_measure(sushi_backend *b, const sushi_profile_options *opts, sushi_profile **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!b)
        return SUSHI_ERR_INVALID;
    sushi_profile_options o = SUSHI_PROFILE_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof o)
            return SUSHI_ERR_ABI;
        o = *opts;
        o.size = sizeof o;
    }
    const sushi_supernet *sn = b->sn;
    sushi_context *ctx = sn->ctx;
    if (o.reps < 1 || o.reps > MAX_REPS || o.warmup > MAX_REPS) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile: reps must be 1..%u and warmup 0..%u (got %u, %u)", MAX_REPS,
                  MAX_REPS, o.reps, o.warmup);
        return SUSHI_ERR_INVALID;
    }
    uint32_t caps = sushi_backend_caps(b);
    if (!(caps & SUSHI_BACKEND_CAP_RUN) || (o.int8 && !(caps & SUSHI_BACKEND_CAP_INT8))) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile: backend %s cannot run%s", sushi_backend_get_name(b),
                  o.int8 ? " the int8 path" : "");
        return SUSHI_ERR_UNSUPPORTED;
    }
    if (sn->n_cand == 0) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile: SuperNet %s has no candidate table", sn->name ? sn->name : "?");
        return SUSHI_ERR_INFEASIBLE;
    }
    sushi_profile *p = profile_new(ctx);
    if (!p)
        return SUSHI_ERR_NOMEM;
    int rc = SUSHI_OK;
    double v;
    p->backend = sushi_strdup(ctx, sushi_backend_get_name(b));
    p->supernet = sushi_strdup(ctx, sn->name ? sn->name : "");
    p->cpu_model = cpu_model(ctx);
    p->libver = sushi_strdup(ctx, sushi_version_string());
    p->e = sushi_calloc(ctx, sn->n_cand, sizeof *p->e);
    p->pkey = sushi_calloc(ctx, MAX_PARAMS, sizeof *p->pkey);
    p->pval = sushi_calloc(ctx, MAX_PARAMS, sizeof *p->pval);
    double *t = sushi_calloc(ctx, o.reps, sizeof *t);
    if (!p->backend || !p->supernet || !p->cpu_model || !p->libver || !p->e || !p->pkey || !p->pval || !t)
        rc = SUSHI_ERR_NOMEM;
    if (!rc)
        rc = sushi_profile_supernet_hash(sn, p->hash);
    for (size_t k = 0; !rc && k < sizeof known_params / sizeof *known_params; k++) {
        if (sushi_backend_get_param(b, known_params[k], &v) != SUSHI_OK || !isfinite(v))
            continue;
        p->pkey[p->n_params] = sushi_strdup(ctx, known_params[k]);
        if (!p->pkey[p->n_params]) {
            rc = SUSHI_ERR_NOMEM;
            break;
        }
        p->pval[p->n_params++] = v;
        if (strcmp(known_params[k], "threads") == 0 && v >= 0.0 && v < 1e6)
            p->threads = (uint32_t)v;
    }
    p->warmup = o.warmup;
    p->reps = o.reps;
    p->int8 = o.int8;
    p->created = (double)time(NULL);

    /* nothing resident, as the scheduler starts */
    if (!rc) {
        int r2 = sushi_backend_set_resident(b, NULL, NULL);
        if (r2 != SUSHI_OK && r2 != SUSHI_ERR_UNSUPPORTED)
            rc = r2;
    }
    float *in = NULL, *outbuf = NULL;
    size_t in_cap = 0;
    uint64_t seed = o.seed ^ 0x5u;
    if (!rc) {
        outbuf = sushi_calloc(ctx, sn->num_classes ? sn->num_classes : 1, sizeof *outbuf);
        if (!outbuf)
            rc = SUSHI_ERR_NOMEM;
    }
    for (uint32_t i = 0; !rc && i < sn->n_cand; i++) {
        sushi_subnet *sub = NULL;
        rc = sushi_subnet_create(sn, &sn->cands[i].config, &sub);
        if (rc) {
            sushi_log(ctx, SUSHI_LOG_ERROR, "profile: candidate %u does not resolve: %s", i, sushi_status_str(rc));
            break;
        }
        uint32_t r = sub->cfg.resolution;
        size_t need = (size_t)sn->in_channels * r * r;
        if (need > in_cap) {
            float *nb = sushi_realloc(ctx, in, need * sizeof *nb);
            if (!nb) {
                sushi_subnet_destroy(sub);
                rc = SUSHI_ERR_NOMEM;
                break;
            }
            in = nb;
            for (size_t k = in_cap; k < need; k++)
                in[k] = (float)((double)(mix64(&seed) >> 11) * 0x1.0p-53 * 2.0 - 1.0);
            in_cap = need;
        }
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = in;
        a.input_len = need;
        a.output = outbuf;
        a.output_len = sn->num_classes;
        a.int8 = o.int8;
        for (uint32_t k = 0; !rc && k < o.warmup + o.reps; k++) {
            sushi_cost c = SUSHI_COST_INIT;
            uint64_t t0 = mono_ns();
            rc = sushi_backend_run(b, sub, &a, &c);
            uint64_t wall = mono_ns() - t0;
            if (rc) {
                sushi_log(ctx, SUSHI_LOG_ERROR, "profile: backend %s: run of candidate %u: %s", p->backend, i,
                          sushi_status_str(rc));
                break;
            }
            if (k >= o.warmup)
                t[k - o.warmup] = c.latency_s > 0.0 && isfinite(c.latency_s) ? c.latency_s : (double)wall * 1e-9;
        }
        sushi_subnet_destroy(sub);
        if (rc)
            break;
        double sum = 0.0;
        for (uint32_t k = 0; k < o.reps; k++)
            sum += t[k];
        qsort(t, o.reps, sizeof *t, sushi_cmp_double);
        sushi_profile_entry *e = &p->e[i];
        e->size = sizeof *e;
        e->candidate = (int32_t)i;
        e->n = o.reps;
        e->mean_s = sum / o.reps;
        e->p50_s = sushi_nearest_rank(t, o.reps, 0.50);
        e->p90_s = sushi_nearest_rank(t, o.reps, 0.90);
        e->p99_s = sushi_nearest_rank(t, o.reps, 0.99);
        e->max_s = t[o.reps - 1];
        p->n = i + 1;
    }
    sushi_free(ctx, in);
    sushi_free(ctx, outbuf);
    sushi_free(ctx, t);
    if (rc) {
        sushi_profile_destroy(p);
        return rc;
    }
    sushi_log(ctx, SUSHI_LOG_INFO, "profile: %u candidates on %s, %u warm-up + %u timed runs each", p->n,
              p->backend, o.warmup, o.reps);
    *out = p;
    return SUSHI_OK;
}

/* ================================================================ queries */

int sushi_profile_get_info(const sushi_profile *p, sushi_profile_info *info)
{
    if (!p || !info)
        return SUSHI_ERR_INVALID;
    if (info->size < sizeof *info)
        return SUSHI_ERR_ABI;
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->backend = p->backend;
    info->supernet = p->supernet;
    info->supernet_hash = p->hash;
    info->cpu_model = p->cpu_model;
    info->library_version = p->libver;
    info->threads = p->threads;
    info->int8 = p->int8;
    info->warmup = p->warmup;
    info->reps = p->reps;
    info->n_entries = p->n;
    info->n_params = p->n_params;
    info->created_unix_s = p->created;
    return SUSHI_OK;
}

int sushi_profile_param(const sushi_profile *p, size_t i, const char **key_out, double *value_out)
{
    if (!p || !key_out || !value_out)
        return SUSHI_ERR_INVALID;
    if (i >= p->n_params)
        return SUSHI_ERR_RANGE;
    *key_out = p->pkey[i];
    *value_out = p->pval[i];
    return SUSHI_OK;
}

int sushi_profile_entry_get(const sushi_profile *p, size_t i, sushi_profile_entry *out)
{
    if (!p || !out)
        return SUSHI_ERR_INVALID;
    if (out->size < sizeof *out)
        return SUSHI_ERR_ABI;
    if (i >= p->n)
        return SUSHI_ERR_RANGE;
    *out = p->e[i];
    out->size = sizeof *out;
    return SUSHI_OK;
}

static const sushi_profile_entry *find_entry(const sushi_profile *p, int32_t cand)
{
    size_t lo = 0, hi = p->n; /* entries sorted by candidate */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->e[mid].candidate < cand)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && p->e[lo].candidate == cand ? &p->e[lo] : NULL;
}

int sushi_profile_quantile(const sushi_profile *p, int32_t candidate, double q, double *seconds_out)
{
    if (!p || !seconds_out || isnan(q))
        return SUSHI_ERR_INVALID;
    if (q < 0.5 || q > 1.0)
        return SUSHI_ERR_RANGE;
    const sushi_profile_entry *e = find_entry(p, candidate);
    if (!e)
        return SUSHI_ERR_NOT_FOUND;
    const double qs[4] = { 0.5, 0.9, 0.99, 1.0 };
    const double vs[4] = { e->p50_s, e->p90_s, e->p99_s, e->max_s };
    for (int k = 0; k < 3; k++) {
        if (q <= qs[k + 1]) {
            double f = (q - qs[k]) / (qs[k + 1] - qs[k]);
            *seconds_out = f <= 0.0 ? vs[k] : f >= 1.0 ? vs[k + 1] : vs[k] + f * (vs[k + 1] - vs[k]);
            return SUSHI_OK;
        }
    }
    *seconds_out = e->max_s;
    return SUSHI_OK;
}

int sushi_profile_check(const sushi_profile *p, const sushi_backend *b)
{
    if (!p || !b)
        return SUSHI_ERR_INVALID;
    const sushi_supernet *sn = b->sn;
    char h[SUSHI_PROFILE_HASH_HEX];
    int rc = sushi_profile_supernet_hash(sn, h);
    if (rc)
        return rc;
    const char *bn = sushi_backend_get_name(b);
    if (strcmp(h, p->hash) != 0) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR,
                  "profile: measured on another SuperNet (profile: %s, hash %.16s...; this one: %s, hash %.16s...)",
                  p->supernet, p->hash, sn->name ? sn->name : "?", h);
        return SUSHI_ERR_INVALID;
    }
    if (strcmp(bn, p->backend) != 0) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR, "profile: measured on backend %s, not %s", p->backend, bn);
        return SUSHI_ERR_INVALID;
    }
    if (p->int8 && !(sushi_backend_caps(b) & SUSHI_BACKEND_CAP_INT8)) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR, "profile: an int8 profile, but backend %s has no int8 path", bn);
        return SUSHI_ERR_INVALID;
    }
    double v;
    if (p->threads && sushi_backend_get_param(b, "threads", &v) == SUSHI_OK && v != (double)p->threads)
        sushi_log(sn->ctx, SUSHI_LOG_WARN,
                  "profile: measured with %u threads, backend now uses %g: predictions may be off until "
                  "adaptation corrects them",
                  p->threads, v);
    return SUSHI_OK;
}

/* ================================================================ writer */

typedef struct wbuf {
    const sushi_context *ctx;
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void w_put(wbuf *w, const uint8_t *b, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        while (cap < w->n + n)
            cap *= 2;
        uint8_t *q = sushi_realloc(w->ctx, w->p, cap);
        if (!q) {
            w->oom = true;
            return;
        }
        w->p = q;
        w->cap = cap;
    }
    memcpy(w->p + w->n, b, n);
    w->n += n;
}

#define W_EMIT(call)                        \
    do {                                    \
        unsigned char t_[16];               \
        size_t k_ = (call);                 \
        w_put(w, t_, k_);                   \
    } while (0)

static void w_uint(wbuf *w, uint64_t v) { W_EMIT(cbor_encode_uint(v, t_, sizeof t_)); }
static void w_map(wbuf *w, size_t n) { W_EMIT(cbor_encode_map_start(n, t_, sizeof t_)); }
static void w_array(wbuf *w, size_t n) { W_EMIT(cbor_encode_array_start(n, t_, sizeof t_)); }
static void w_f64(wbuf *w, double d) { W_EMIT(cbor_encode_double(d, t_, sizeof t_)); }
static void w_bool(wbuf *w, bool b) { W_EMIT(cbor_encode_bool(b, t_, sizeof t_)); }
static void w_text(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    W_EMIT(cbor_encode_string_start(n, t_, sizeof t_));
    w_put(w, (const uint8_t *)s, n);
}

int sushi_profile_save_memory(const sushi_profile *p, void **data_out, size_t *size_out)
{
    if (!p || !data_out || !size_out)
        return SUSHI_ERR_INVALID;
    *data_out = NULL;
    *size_out = 0;
    wbuf wb = { .ctx = p->ctx };
    wbuf *w = &wb;
    w_map(w, 13);
    w_text(w, "format");
    w_text(w, PROFILE_MAGIC);
    w_text(w, "version");
    w_uint(w, PROFILE_VERSION);
    w_text(w, "backend");
    w_text(w, p->backend);
    w_text(w, "params");
    w_map(w, p->n_params);
    for (uint32_t i = 0; i < p->n_params; i++) {
        w_text(w, p->pkey[i]);
        w_f64(w, p->pval[i]);
    }
    w_text(w, "threads");
    w_uint(w, p->threads);
    w_text(w, "int8");
    w_bool(w, p->int8);
    w_text(w, "warmup");
    w_uint(w, p->warmup);
    w_text(w, "reps");
    w_uint(w, p->reps);
    w_text(w, "cpu_model");
    w_text(w, p->cpu_model);
    w_text(w, "library_version");
    w_text(w, p->libver);
    w_text(w, "created_unix_s");
    w_f64(w, p->created);
    w_text(w, "supernet");
    w_map(w, 2);
    w_text(w, "name");
    w_text(w, p->supernet);
    w_text(w, "hash");
    w_text(w, p->hash);
    w_text(w, "entries");
    w_array(w, p->n);
    for (uint32_t i = 0; i < p->n; i++) {
        const sushi_profile_entry *e = &p->e[i];
        w_map(w, 7);
        w_text(w, "candidate");
        w_uint(w, (uint64_t)e->candidate);
        w_text(w, "n");
        w_uint(w, e->n);
        w_text(w, "mean_s");
        w_f64(w, e->mean_s);
        w_text(w, "p50_s");
        w_f64(w, e->p50_s);
        w_text(w, "p90_s");
        w_f64(w, e->p90_s);
        w_text(w, "p99_s");
        w_f64(w, e->p99_s);
        w_text(w, "max_s");
        w_f64(w, e->max_s);
    }
    if (w->oom) {
        sushi_free(p->ctx, w->p);
        return SUSHI_ERR_NOMEM;
    }
    *data_out = w->p;
    *size_out = w->n;
    return SUSHI_OK;
}

void sushi_profile_free_buffer(const sushi_profile *p, void *data)
{
    if (p && data)
        sushi_free(p->ctx, data);
}

/* Atomic replace through the library's one writer (atomic_file.h): on
 * failure the old file is untouched and no temporary is left. */
static int write_atomic(const sushi_context *ctx, const char *path, const void *data, size_t n)
{
    int e = sushi_atomic_write_file(path, data, n);
    if (e) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile: save %s: %s", path, strerror(e));
        return e == ENOMEM ? SUSHI_ERR_NOMEM : SUSHI_ERR_IO;
    }
    return SUSHI_OK;
}

int sushi_profile_save_file(const sushi_profile *p, const char *path)
{
    if (!p || !path || !path[0])
        return SUSHI_ERR_INVALID;
    void *buf;
    size_t n;
    int rc = sushi_profile_save_memory(p, &buf, &n);
    if (rc)
        return rc;
    rc = write_atomic(p->ctx, path, buf, n);
    sushi_free(p->ctx, buf);
    return rc;
}

/* ================================================================ reader */

typedef struct rdr {
    const uint8_t *p;
    size_t n, pos;
    const sushi_context *ctx;
    const char *where;
} rdr;

static int bad(rdr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(rdr *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sushi_log(r->ctx, SUSHI_LOG_ERROR, "profile %s: byte %zu: %s", r->where, r->pos, msg);
    return SUSHI_ERR_FORMAT;
}

/* One head: major type, argument. Indefinite lengths are refused. */
static int r_head(rdr *r, uint8_t *major, uint64_t *arg, uint8_t *ai_out)
{
    if (r->pos >= r->n)
        return bad(r, "truncated");
    uint8_t b = r->p[r->pos++];
    *major = (uint8_t)(b >> 5);
    uint8_t ai = (uint8_t)(b & 31u);
    if (ai_out)
        *ai_out = ai;
    if (ai < 24) {
        *arg = ai;
        return SUSHI_OK;
    }
    if (ai <= 27) {
        size_t len = (size_t)1 << (ai - 24);
        if (r->n - r->pos < len)
            return bad(r, "truncated");
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            v = v << 8 | r->p[r->pos + i];
        r->pos += len;
        *arg = v;
        return SUSHI_OK;
    }
    return bad(r, "indefinite-length or reserved item (initial byte 0x%02x)", b);
}

static int r_skip(rdr *r, int depth)
{
    uint8_t mj, ai;
    uint64_t arg;
    if (depth > 16)
        return bad(r, "nesting deeper than 16");
    int rc = r_head(r, &mj, &arg, &ai);
    if (rc)
        return rc;
    switch (mj) {
    case 0:
    case 1:
        return SUSHI_OK;
    case 2:
    case 3:
        if (arg > r->n - r->pos)
            return bad(r, "truncated string");
        r->pos += (size_t)arg;
        return SUSHI_OK;
    case 4:
    case 5: {
        uint64_t items = mj == 5 ? arg * 2 : arg;
        if (arg > r->n - r->pos || items > r->n - r->pos)
            return bad(r, "truncated container");
        for (uint64_t i = 0; i < items; i++)
            if ((rc = r_skip(r, depth + 1)) != SUSHI_OK)
                return rc;
        return SUSHI_OK;
    }
    case 6:
        return r_skip(r, depth + 1);
    default:
        return SUSHI_OK; /* simple values and floats: the head consumed them */
    }
}

static int r_text(rdr *r, const char *what, const uint8_t **s, size_t *len)
{
    uint8_t mj;
    uint64_t arg;
    int rc = r_head(r, &mj, &arg, NULL);
    if (rc)
        return rc;
    if (mj != 3)
        return bad(r, "%s: expected a text string", what);
    if (arg > r->n - r->pos)
        return bad(r, "%s: truncated string", what);
    *s = r->p + r->pos;
    *len = (size_t)arg;
    r->pos += (size_t)arg;
    return SUSHI_OK;
}

static int r_text_dup(rdr *r, const char *what, char **out)
{
    const uint8_t *s;
    size_t n;
    int rc = r_text(r, what, &s, &n);
    if (rc)
        return rc;
    if (n > MAX_TEXT)
        return bad(r, "%s: longer than %u bytes", what, MAX_TEXT);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7f)
            return bad(r, "%s: control character", what);
    char *d = sushi_malloc(r->ctx, n + 1);
    if (!d)
        return SUSHI_ERR_NOMEM;
    memcpy(d, s, n);
    d[n] = '\0';
    sushi_free(r->ctx, *out); /* a duplicate key was refused before; defensive */
    *out = d;
    return SUSHI_OK;
}

static int r_uint(rdr *r, const char *what, uint64_t max, uint64_t *v)
{
    uint8_t mj;
    int rc = r_head(r, &mj, v, NULL);
    if (rc)
        return rc;
    if (mj != 0)
        return bad(r, "%s: expected an unsigned integer", what);
    if (*v > max)
        return bad(r, "%s: %llu is larger than %llu", what, (unsigned long long)*v, (unsigned long long)max);
    return SUSHI_OK;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* A number: an integer or a half/single/double float. */
static int r_number(rdr *r, const char *what, double *v)
{
    uint8_t mj, ai;
    uint64_t arg;
    int rc = r_head(r, &mj, &arg, &ai);
    if (rc)
        return rc;
    if (mj == 0) {
        *v = (double)arg;
    } else if (mj == 1) {
        *v = -1.0 - (double)arg;
    } else if (mj == 7 && ai == 25) {
        *v = half_to_double((uint16_t)arg);
    } else if (mj == 7 && ai == 26) {
        uint32_t u = (uint32_t)arg;
        float f;
        memcpy(&f, &u, 4);
        *v = f;
    } else if (mj == 7 && ai == 27) {
        memcpy(v, &arg, 8);
    } else {
        return bad(r, "%s: expected a number", what);
    }
    if (!isfinite(*v))
        return bad(r, "%s: not finite", what);
    return SUSHI_OK;
}

static int r_bool(rdr *r, const char *what, bool *v)
{
    uint8_t mj;
    uint64_t arg;
    int rc = r_head(r, &mj, &arg, NULL);
    if (rc)
        return rc;
    if (mj != 7 || (arg != 20 && arg != 21))
        return bad(r, "%s: expected true or false", what);
    *v = arg == 21;
    return SUSHI_OK;
}

static int r_container(rdr *r, uint8_t want, const char *what, uint64_t *count)
{
    uint8_t mj;
    int rc = r_head(r, &mj, count, NULL);
    if (rc)
        return rc;
    if (mj != want)
        return bad(r, "%s: expected %s", what, want == 5 ? "a map" : "an array");
    if (*count > r->n - r->pos) /* every item takes at least one byte */
        return bad(r, "%s: %llu items cannot fit in the rest of the file", what, (unsigned long long)*count);
    return SUSHI_OK;
}

static bool key_is(const uint8_t *k, size_t n, const char *name) { return strlen(name) == n && memcmp(k, name, n) == 0; }

static int read_entry(rdr *r, sushi_profile_entry *e)
{
    uint64_t nk;
    int rc = r_container(r, 5, "entry", &nk);
    if (rc)
        return rc;
    enum { F_CAND, F_N, F_MEAN, F_P50, F_P90, F_P99, F_MAX, F_COUNT };
    static const char *const names[F_COUNT] = { "candidate", "n", "mean_s", "p50_s", "p90_s", "p99_s", "max_s" };
    bool seen[F_COUNT] = { false };
    double *dst[F_COUNT] = { NULL, NULL, &e->mean_s, &e->p50_s, &e->p90_s, &e->p99_s, &e->max_s };
    memset(e, 0, sizeof *e);
    e->size = sizeof *e;
    for (uint64_t i = 0; i < nk; i++) {
        const uint8_t *k;
        size_t kl;
        if ((rc = r_text(r, "entry key", &k, &kl)) != SUSHI_OK)
            return rc;
        int f = -1;
        for (int j = 0; j < F_COUNT; j++)
            if (key_is(k, kl, names[j]))
                f = j;
        if (f < 0) {
            if ((rc = r_skip(r, 0)) != SUSHI_OK)
                return rc;
            continue;
        }
        if (seen[f])
            return bad(r, "entry: duplicate key \"%s\"", names[f]);
        seen[f] = true;
        uint64_t u;
        if (f == F_CAND) {
            if ((rc = r_uint(r, "entry candidate", INT32_MAX, &u)) != SUSHI_OK)
                return rc;
            e->candidate = (int32_t)u;
        } else if (f == F_N) {
            if ((rc = r_uint(r, "entry n", MAX_REPS, &u)) != SUSHI_OK)
                return rc;
            if (u == 0)
                return bad(r, "entry n: 0 runs");
            e->n = (uint32_t)u;
        } else {
            if ((rc = r_number(r, names[f], dst[f])) != SUSHI_OK)
                return rc;
            if (*dst[f] < 0.0)
                return bad(r, "entry %s: negative latency %g", names[f], *dst[f]);
        }
    }
    for (int j = 0; j < F_COUNT; j++)
        if (!seen[j])
            return bad(r, "entry: missing key \"%s\"", names[j]);
    if (!(e->p50_s <= e->p90_s && e->p90_s <= e->p99_s && e->p99_s <= e->max_s))
        return bad(r, "entry of candidate %d: quantiles out of order (p50 %g, p90 %g, p99 %g, max %g)",
                   (int)e->candidate, e->p50_s, e->p90_s, e->p99_s, e->max_s);
    if (e->mean_s > e->max_s * (1.0 + 1e-12))
        return bad(r, "entry of candidate %d: mean %g above max %g", (int)e->candidate, e->mean_s, e->max_s);
    return SUSHI_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const sushi_profile_entry *x = a, *y = b;
    return (x->candidate > y->candidate) - (x->candidate < y->candidate);
}

static int parse(rdr *r, sushi_profile *p)
{
    uint64_t nk;
    int rc = r_container(r, 5, "profile", &nk);
    if (rc)
        return rc;
    enum { K_FORMAT, K_VERSION, K_BACKEND, K_PARAMS, K_THREADS, K_INT8, K_WARMUP, K_REPS, K_CPU, K_LIB,
           K_CREATED, K_SUPERNET, K_ENTRIES, K_COUNT };
    static const char *const names[K_COUNT] = { "format", "version", "backend", "params", "threads", "int8",
                                                "warmup", "reps", "cpu_model", "library_version",
                                                "created_unix_s", "supernet", "entries" };
    bool seen[K_COUNT] = { false };
    for (uint64_t i = 0; i < nk; i++) {
        const uint8_t *k;
        size_t kl;
        if ((rc = r_text(r, "key", &k, &kl)) != SUSHI_OK)
            return rc;
        int f = -1;
        for (int j = 0; j < K_COUNT; j++)
            if (key_is(k, kl, names[j]))
                f = j;
        if (f < 0) { /* unknown keys are skipped: later minor additions stay readable */
            if ((rc = r_skip(r, 0)) != SUSHI_OK)
                return rc;
            continue;
        }
        if (seen[f])
            return bad(r, "duplicate key \"%s\"", names[f]);
        seen[f] = true;
        if (f != K_FORMAT && !seen[K_FORMAT])
            return bad(r, "not a profile: the first key must be \"format\"");
        uint64_t u;
        const uint8_t *s;
        size_t sl;
        switch (f) {
        case K_FORMAT:
            if ((rc = r_text(r, "format", &s, &sl)) != SUSHI_OK)
                return rc;
            if (!key_is(s, sl, PROFILE_MAGIC))
                return bad(r, "not a profile: format is not \"%s\"", PROFILE_MAGIC);
            break;
        case K_VERSION:
            if ((rc = r_uint(r, "version", UINT32_MAX, &u)) != SUSHI_OK)
                return rc;
            if (u != PROFILE_VERSION) {
                sushi_log(r->ctx, SUSHI_LOG_ERROR, "profile %s: format version %llu, this library reads %u",
                          r->where, (unsigned long long)u, PROFILE_VERSION);
                return SUSHI_ERR_VERSION;
            }
            break;
        case K_BACKEND:
            if ((rc = r_text_dup(r, "backend", &p->backend)) != SUSHI_OK)
                return rc;
            if (!p->backend[0])
                return bad(r, "backend: empty");
            break;
        case K_PARAMS: {
            uint64_t np;
            if ((rc = r_container(r, 5, "params", &np)) != SUSHI_OK)
                return rc;
            if (np > MAX_PARAMS)
                return bad(r, "params: more than %u", MAX_PARAMS);
            p->pkey = sushi_calloc(r->ctx, np ? np : 1, sizeof *p->pkey);
            p->pval = sushi_calloc(r->ctx, np ? np : 1, sizeof *p->pval);
            if (!p->pkey || !p->pval)
                return SUSHI_ERR_NOMEM;
            for (uint64_t j = 0; j < np; j++) {
                if ((rc = r_text_dup(r, "param key", &p->pkey[j])) != SUSHI_OK)
                    return rc;
                p->n_params = (uint32_t)j + 1;
                if ((rc = r_number(r, "param value", &p->pval[j])) != SUSHI_OK)
                    return rc;
            }
            break;
        }
        case K_THREADS:
            if ((rc = r_uint(r, "threads", 1024, &u)) != SUSHI_OK)
                return rc;
            p->threads = (uint32_t)u;
            break;
        case K_INT8:
            if ((rc = r_bool(r, "int8", &p->int8)) != SUSHI_OK)
                return rc;
            break;
        case K_WARMUP:
            if ((rc = r_uint(r, "warmup", MAX_REPS, &u)) != SUSHI_OK)
                return rc;
            p->warmup = (uint32_t)u;
            break;
        case K_REPS:
            if ((rc = r_uint(r, "reps", MAX_REPS, &u)) != SUSHI_OK)
                return rc;
            if (u == 0)
                return bad(r, "reps: 0");
            p->reps = (uint32_t)u;
            break;
        case K_CPU:
            if ((rc = r_text_dup(r, "cpu_model", &p->cpu_model)) != SUSHI_OK)
                return rc;
            break;
        case K_LIB:
            if ((rc = r_text_dup(r, "library_version", &p->libver)) != SUSHI_OK)
                return rc;
            break;
        case K_CREATED:
            if ((rc = r_number(r, "created_unix_s", &p->created)) != SUSHI_OK)
                return rc;
            break;
        case K_SUPERNET: {
            uint64_t m;
            bool sn_name = false, sn_hash = false;
            if ((rc = r_container(r, 5, "supernet", &m)) != SUSHI_OK)
                return rc;
            for (uint64_t j = 0; j < m; j++) {
                if ((rc = r_text(r, "supernet key", &s, &sl)) != SUSHI_OK)
                    return rc;
                if (key_is(s, sl, "name") && !sn_name) {
                    sn_name = true;
                    if ((rc = r_text_dup(r, "supernet name", &p->supernet)) != SUSHI_OK)
                        return rc;
                } else if (key_is(s, sl, "hash") && !sn_hash) {
                    sn_hash = true;
                    if ((rc = r_text(r, "supernet hash", &s, &sl)) != SUSHI_OK)
                        return rc;
                    if (sl != 64)
                        return bad(r, "supernet hash: %zu characters, expected 64 hex digits", sl);
                    for (size_t c = 0; c < 64; c++) {
                        if (!((s[c] >= '0' && s[c] <= '9') || (s[c] >= 'a' && s[c] <= 'f')))
                            return bad(r, "supernet hash: not lowercase hex");
                        p->hash[c] = (char)s[c];
                    }
                    p->hash[64] = '\0';
                } else if (key_is(s, sl, "name") || key_is(s, sl, "hash")) {
                    return bad(r, "supernet: duplicate key");
                } else if ((rc = r_skip(r, 0)) != SUSHI_OK) {
                    return rc;
                }
            }
            if (!sn_name || !sn_hash)
                return bad(r, "supernet: missing \"%s\"", sn_name ? "hash" : "name");
            break;
        }
        case K_ENTRIES: {
            uint64_t ne;
            if ((rc = r_container(r, 4, "entries", &ne)) != SUSHI_OK)
                return rc;
            if (ne == 0 || ne > MAX_ENTRIES)
                return bad(r, "entries: %llu (must be 1..%u)", (unsigned long long)ne, MAX_ENTRIES);
            p->e = sushi_calloc(r->ctx, ne, sizeof *p->e);
            if (!p->e)
                return SUSHI_ERR_NOMEM;
            for (uint64_t j = 0; j < ne; j++) {
                if ((rc = read_entry(r, &p->e[j])) != SUSHI_OK)
                    return rc;
                p->n = (uint32_t)j + 1;
            }
            qsort(p->e, p->n, sizeof *p->e, cmp_entry);
            for (uint32_t j = 1; j < p->n; j++)
                if (p->e[j].candidate == p->e[j - 1].candidate)
                    return bad(r, "entries: candidate %d appears twice", (int)p->e[j].candidate);
            break;
        }
        default:
            break;
        }
    }
    for (int j = 0; j < K_COUNT; j++)
        if (!seen[j])
            return bad(r, "missing key \"%s\"", names[j]);
    if (r->pos != r->n)
        return bad(r, "%zu trailing bytes after the profile", r->n - r->pos);
    return SUSHI_OK;
}

static int load(sushi_context *ctx, const uint8_t *data, size_t size, const char *where, sushi_profile **out)
{
    sushi_profile *p = profile_new(ctx);
    if (!p)
        return SUSHI_ERR_NOMEM;
    rdr r = { .p = data, .n = size, .ctx = ctx, .where = where };
    int rc = parse(&r, p);
    if (rc) {
        sushi_profile_destroy(p);
        return rc;
    }
    *out = p;
    return SUSHI_OK;
}

int sushi_profile_load_memory(sushi_context *ctx, const void *data, size_t size, sushi_profile **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!ctx || (!data && size))
        return SUSHI_ERR_INVALID;
    return load(ctx, data, size, "(memory)", out);
}

int sushi_profile_load_file(sushi_context *ctx, const char *path, sushi_profile **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!ctx || !path)
        return SUSHI_ERR_INVALID;
    /* a FIFO or device is refused before it can block (atomic_file.h) */
    int fd;
    unsigned long long fsize;
    int e = sushi_open_regular(path, &fd, &fsize);
    if (e) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile %s: %s", path, sushi_open_strerror(e));
        return SUSHI_ERR_IO;
    }
    if (fsize > (64u << 20)) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile %s: larger than the 64 MiB limit of a profile", path);
        close(fd);
        return SUSHI_ERR_IO;
    }
    size_t n = (size_t)fsize;
    uint8_t *buf = sushi_malloc(ctx, n ? n : 1);
    if (!buf) {
        close(fd);
        return SUSHI_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    int rc;
    if (got != n) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "profile %s: short read", path);
        rc = SUSHI_ERR_IO;
    } else {
        rc = load(ctx, buf, n, path, out);
    }
    sushi_free(ctx, buf);
    return rc;
}
