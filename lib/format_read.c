/* SuperNet file reader (format v1, docs/format.md).
 *
 * A minimal CBOR walker over the caller's buffer: no item tree is built and
 * tensor byte strings are never copied into intermediate objects. Each map
 * is scanned once (every value is skipped, which checks that it is
 * well-formed and fits in the buffer, and the offset of every known key is
 * recorded; duplicate keys are refused, unknown keys ignored), then its
 * fields are decoded in a fixed order by seeking back to their offsets.
 * Nothing is allocated from a declared length before that length has been
 * checked against the bytes that remain.
 *
 * Errors name the field path ("units[3].kernel: expected unsigned integer")
 * or, for broken CBOR, the byte offset ("byte 1234: truncated (in units[3])").
 * On any error everything allocated is released and *out stays NULL. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define MAXKEYS 24
#define DUPCHECK_KEYS 64
#define ABSENT SIZE_MAX

typedef struct rd {
    const uint8_t *p;
    size_t n;
    size_t pos;
    char *err;
    size_t errsz;
    char path[224];
    size_t plen;
} rd;

/* ---------- paths and errors ---------- */

static size_t path_push(rd *r, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static size_t path_push(rd *r, const char *fmt, ...)
{
    size_t save = r->plen;
    if (r->plen < sizeof r->path - 1) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(r->path + r->plen, sizeof r->path - r->plen, fmt, ap);
        va_end(ap);
        if (k > 0)
            r->plen += (size_t)k < sizeof r->path - r->plen ? (size_t)k : sizeof r->path - 1 - r->plen;
    }
    return save;
}

static size_t path_key(rd *r, const char *key) { return path_push(r, r->plen ? ".%s" : "%s", key); }
static size_t path_idx(rd *r, uint64_t i) { return path_push(r, "[%" PRIu64 "]", i); }

static void path_pop(rd *r, size_t save)
{
    r->plen = save;
    r->path[save] = '\0';
}

static int fail(rd *r, int rc, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "<path>: <message>" */
static int fail(rd *r, int rc, const char *fmt, ...)
{
    if (r->err && r->errsz) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (r->plen)
            sushi_errf(r->err, r->errsz, "%s: %s", r->path, msg);
        else
            sushi_errf(r->err, r->errsz, "%s", msg);
    }
    return rc;
}

static int fail_at(rd *r, size_t off, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "byte <off>: <message> (in <path>)" — broken CBOR */
static int fail_at(rd *r, size_t off, const char *fmt, ...)
{
    if (r->err && r->errsz) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (r->plen)
            sushi_errf(r->err, r->errsz, "byte %zu: %s (in %s)", off, msg, r->path);
        else
            sushi_errf(r->err, r->errsz, "byte %zu: %s", off, msg);
    }
    return SUSHI_ERR_FORMAT;
}

/* printable excerpt of untrusted text for messages */
static const char *excerpt(const uint8_t *s, size_t len, char *buf, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 4 < cap; i++)
        buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? (char)s[i] : '?';
    if (j + 4 >= cap && len > j) {
        buf[j++] = '.';
        buf[j++] = '.';
        buf[j++] = '.';
    }
    buf[j] = '\0';
    return buf;
}

/* ---------- CBOR primitives ---------- */

typedef struct hd {
    uint8_t major, ai;
    uint64_t arg;
    size_t off;
} hd;

static size_t left(const rd *r) { return r->n - r->pos; }

static int rd_head(rd *r, hd *h)
{
    h->off = r->pos;
    h->major = h->ai = 0;
    h->arg = 0;
    if (r->pos >= r->n)
        return fail_at(r, r->pos, "truncated");
    uint8_t b = r->p[r->pos++];
    h->major = (uint8_t)(b >> 5);
    h->ai = (uint8_t)(b & 31u);
    if (h->ai < 24) {
        h->arg = h->ai;
    } else if (h->ai <= 27) {
        size_t len = (size_t)1 << (h->ai - 24);
        if (left(r) < len)
            return fail_at(r, h->off, "truncated");
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++)
            v = v << 8 | r->p[r->pos + i];
        r->pos += len;
        h->arg = v;
    } else if (h->ai <= 30) {
        return fail_at(r, h->off, "malformed initial byte 0x%02x", b);
    } else if (h->major >= 2 && h->major <= 5) {
        return fail_at(r, h->off, "indefinite-length items are not supported");
    } else if (h->major == 7) {
        return fail_at(r, h->off, "unexpected break");
    } else {
        return fail_at(r, h->off, "malformed initial byte 0x%02x", b);
    }
    return SUSHI_OK;
}

/* Skip one item, checking that it is well-formed and complete. */
static int rd_skip(rd *r, int depth)
{
    hd h;
    int rc = rd_head(r, &h);
    if (rc)
        return rc;
    switch (h.major) {
    case 2:
    case 3:
        if (h.arg > left(r))
            return fail_at(r, h.off, "string of %" PRIu64 " bytes, only %zu left", h.arg, left(r));
        r->pos += (size_t)h.arg;
        return SUSHI_OK;
    case 4:
    case 5: {
        if (depth >= SUSHI_FORMAT_MAX_DEPTH)
            return fail_at(r, h.off, "nested deeper than %d levels", SUSHI_FORMAT_MAX_DEPTH);
        uint64_t cnt = h.arg;
        if (cnt > left(r) || (h.major == 5 && cnt > left(r) / 2))
            return fail_at(r, h.off, "%s of %" PRIu64 " entries cannot fit in the %zu bytes left",
                           h.major == 4 ? "array" : "map", cnt, left(r));
        if (h.major == 5)
            cnt *= 2;
        for (uint64_t i = 0; i < cnt; i++)
            if ((rc = rd_skip(r, depth + 1)))
                return rc;
        return SUSHI_OK;
    }
    case 6:
        if (depth >= SUSHI_FORMAT_MAX_DEPTH)
            return fail_at(r, h.off, "nested deeper than %d levels", SUSHI_FORMAT_MAX_DEPTH);
        return rd_skip(r, depth + 1);
    default: /* 0, 1, 7: the head was the whole item */
        return SUSHI_OK;
    }
}

static const char *major_name(uint8_t m)
{
    static const char *const names[8] = { "unsigned integer", "negative integer", "byte string",
                                           "text string", "array", "map", "tag", "simple value or float" };
    return names[m & 7];
}

static const char *item_name(const hd *h)
{
    if (h->major == 7) {
        switch (h->ai) {
        case 20:
        case 21: return "boolean";
        case 22: return "null";
        case 25:
        case 26:
        case 27: return "float";
        default: return "simple value";
        }
    }
    return major_name(h->major);
}

static int rd_want(rd *r, hd *h, uint8_t major, const char *what)
{
    int rc = rd_head(r, h);
    if (rc)
        return rc;
    if (h->major != major)
        return fail(r, SUSHI_ERR_FORMAT, "expected %s, found %s", what, item_name(h));
    return SUSHI_OK;
}

static int rd_u64(rd *r, uint64_t *v)
{
    *v = 0;
    hd h;
    int rc = rd_want(r, &h, 0, "unsigned integer");
    if (!rc)
        *v = h.arg;
    return rc;
}

static int rd_u32(rd *r, uint32_t *v, uint32_t lo, uint32_t hi)
{
    uint64_t x;
    int rc = rd_u64(r, &x);
    if (rc)
        return rc;
    if (x < lo || x > hi)
        return fail(r, SUSHI_ERR_FORMAT, "%" PRIu64 " out of range %u..%u", x, lo, hi);
    *v = (uint32_t)x;
    return SUSHI_OK;
}

static int rd_i32(rd *r, int32_t *v, int32_t lo, int32_t hi)
{
    hd h;
    int rc = rd_head(r, &h);
    if (rc)
        return rc;
    int64_t x;
    if (h.major == 0 && h.arg <= INT32_MAX)
        x = (int64_t)h.arg;
    else if (h.major == 1 && h.arg <= INT32_MAX)
        x = -1 - (int64_t)h.arg;
    else if (h.major == 0 || h.major == 1)
        return fail(r, SUSHI_ERR_FORMAT, "integer out of range %d..%d", lo, hi);
    else
        return fail(r, SUSHI_ERR_FORMAT, "expected integer, found %s", item_name(&h));
    if (x < lo || x > hi)
        return fail(r, SUSHI_ERR_FORMAT, "%" PRId64 " out of range %d..%d", x, lo, hi);
    *v = (int32_t)x;
    return SUSHI_OK;
}

static int rd_bool(rd *r, bool *v)
{
    hd h;
    int rc = rd_head(r, &h);
    if (rc)
        return rc;
    if (h.major != 7 || (h.ai != 20 && h.ai != 21))
        return fail(r, SUSHI_ERR_FORMAT, "expected boolean, found %s", item_name(&h));
    *v = h.ai == 21;
    return SUSHI_OK;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e != 31)
        v = ldexp(m + 1024, e - 25);
    else
        v = m ? NAN : INFINITY;
    return (h & 0x8000) ? -v : v;
}

/* Number (integer or float of any width), finite. `is_null` non-NULL: null allowed. */
static int rd_number(rd *r, double *v, bool *is_null)
{
    *v = 0.0;
    hd h;
    int rc = rd_head(r, &h);
    if (rc)
        return rc;
    if (is_null)
        *is_null = false;
    if (h.major == 0) {
        *v = (double)h.arg;
        return SUSHI_OK;
    }
    if (h.major == 1) {
        *v = -1.0 - (double)h.arg;
        return SUSHI_OK;
    }
    if (h.major == 7 && h.ai == 22 && is_null) {
        *is_null = true;
        *v = NAN;
        return SUSHI_OK;
    }
    if (h.major != 7 || h.ai < 25 || h.ai > 27)
        return fail(r, SUSHI_ERR_FORMAT, "expected number%s, found %s", is_null ? " or null" : "",
                    item_name(&h));
    double d;
    if (h.ai == 25) {
        d = half_to_double((uint16_t)h.arg);
    } else if (h.ai == 26) {
        uint32_t u = (uint32_t)h.arg;
        float f;
        memcpy(&f, &u, sizeof f);
        d = f;
    } else {
        memcpy(&d, &h.arg, sizeof d);
    }
    if (!isfinite(d))
        return fail(r, SUSHI_ERR_FORMAT, "must be a finite number");
    *v = d;
    return SUSHI_OK;
}

static int rd_f32(rd *r, float *v, double lo, double hi)
{
    double d;
    int rc = rd_number(r, &d, NULL);
    if (rc)
        return rc;
    if (!(d >= lo && d <= hi))
        return fail(r, SUSHI_ERR_FORMAT, "%g out of range [%g, %g]", d, lo, hi);
    *v = (float)d;
    return SUSHI_OK;
}

static int rd_text(rd *r, const uint8_t **s, size_t *len)
{
    *s = NULL;
    *len = 0;
    hd h;
    int rc = rd_want(r, &h, 3, "text string");
    if (rc)
        return rc;
    if (h.arg > left(r))
        return fail_at(r, h.off, "truncated");
    *s = r->p + r->pos;
    *len = (size_t)h.arg;
    r->pos += (size_t)h.arg;
    if (!sushi_utf8_valid((const char *)*s, *len))
        return fail(r, SUSHI_ERR_FORMAT, "invalid UTF-8 (or NUL) in text string");
    return SUSHI_OK;
}

static int rd_text_buf(rd *r, char *dst, size_t cap, bool nonempty)
{
    const uint8_t *s;
    size_t len;
    int rc = rd_text(r, &s, &len);
    if (rc)
        return rc;
    if (len >= cap)
        return fail(r, SUSHI_ERR_FORMAT, "longer than %zu bytes", cap - 1);
    if (nonempty && len == 0)
        return fail(r, SUSHI_ERR_FORMAT, "empty");
    if (len)
        memcpy(dst, s, len);
    dst[len] = '\0';
    return SUSHI_OK;
}

static int rd_text_dup(rd *r, const sushi_context *ctx, char **out, bool nonempty)
{
    const uint8_t *s;
    size_t len;
    int rc = rd_text(r, &s, &len);
    if (rc)
        return rc;
    if (nonempty && len == 0)
        return fail(r, SUSHI_ERR_FORMAT, "empty");
    char *d = sushi_malloc(ctx, len + 1);
    if (!d)
        return fail(r, SUSHI_ERR_NOMEM, "out of memory");
    memcpy(d, s, len);
    d[len] = '\0';
    *out = d;
    return SUSHI_OK;
}

static bool text_is(const uint8_t *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int rd_bytes(rd *r, size_t *off, size_t *len)
{
    *off = *len = 0;
    hd h;
    int rc = rd_want(r, &h, 2, "byte string");
    if (rc)
        return rc;
    if (h.arg > left(r))
        return fail_at(r, h.off, "truncated");
    *off = r->pos;
    *len = (size_t)h.arg;
    r->pos += (size_t)h.arg;
    return SUSHI_OK;
}

/* Array head with at most `cap` entries. */
static int rd_array(rd *r, uint64_t *count, uint64_t cap)
{
    *count = 0;
    hd h;
    int rc = rd_want(r, &h, 4, "array");
    if (rc)
        return rc;
    if (h.arg > cap)
        return fail(r, SUSHI_ERR_FORMAT, "%" PRIu64 " entries, at most %" PRIu64 " allowed", h.arg, cap);
    if (h.arg > left(r))
        return fail_at(r, h.off, "array of %" PRIu64 " entries cannot fit in the %zu bytes left", h.arg, left(r));
    *count = h.arg;
    return SUSHI_OK;
}

/* ---------- maps ---------- */

typedef struct fmap {
    const char *const *names;
    size_t nkeys;
    size_t off[MAXKEYS]; /* value offset of each known key, ABSENT when missing */
    size_t end;          /* offset just past the map */
} fmap;

typedef int (*key_hook)(rd *r, fmap *m, size_t k, void *user);

/* Scan the map at r->pos: record known keys, refuse duplicates, skip (and so
 * check) every value. Leaves r->pos at the end of the map. */
static int scan_map(rd *r, fmap *m, const char *const *names, size_t nkeys, key_hook hook, void *user)
{
    hd h;
    int rc = rd_want(r, &h, 5, "map");
    if (rc)
        return rc;
    if (h.arg > left(r) / 2)
        return fail_at(r, h.off, "map of %" PRIu64 " entries cannot fit in the %zu bytes left", h.arg, left(r));
    m->names = names;
    m->nkeys = nkeys;
    for (size_t k = 0; k < nkeys; k++)
        m->off[k] = ABSENT;
    struct {
        size_t off, len;
    } seen[DUPCHECK_KEYS];
    size_t nseen = 0;
    for (uint64_t i = 0; i < h.arg; i++) {
        hd kh;
        if ((rc = rd_head(r, &kh)))
            return rc;
        if (kh.major != 3)
            return fail_at(r, kh.off, "map key is a %s, expected text string", item_name(&kh));
        if (kh.arg > left(r))
            return fail_at(r, kh.off, "truncated");
        const uint8_t *ks = r->p + r->pos;
        size_t kl = (size_t)kh.arg;
        r->pos += kl;
        if (!sushi_utf8_valid((const char *)ks, kl))
            return fail_at(r, kh.off, "map key is not valid UTF-8 text");
        char ex[48];
        for (size_t j = 0; j < nseen; j++)
            if (seen[j].len == kl && memcmp(r->p + seen[j].off, ks, kl) == 0)
                return fail(r, SUSHI_ERR_FORMAT, "duplicate key \"%s\"", excerpt(ks, kl, ex, sizeof ex));
        if (nseen < DUPCHECK_KEYS)
            seen[nseen].off = (size_t)(ks - r->p), seen[nseen].len = kl, nseen++;
        size_t k = 0;
        while (k < nkeys && !text_is(ks, kl, names[k]))
            k++;
        size_t voff = r->pos;
        size_t save = path_key(r, k < nkeys ? names[k] : excerpt(ks, kl, ex, sizeof ex));
        if (k < nkeys) {
            if (m->off[k] != ABSENT) {
                path_pop(r, save);
                return fail(r, SUSHI_ERR_FORMAT, "duplicate key \"%s\"", names[k]);
            }
            m->off[k] = voff;
            if (hook) {
                if ((rc = hook(r, m, k, user)))
                    return rc;
                r->pos = voff;
            }
        }
        if ((rc = rd_skip(r, 8)))
            return rc;
        path_pop(r, save);
    }
    m->end = r->pos;
    return SUSHI_OK;
}

static bool has(const fmap *m, size_t k) { return m->off[k] != ABSENT; }

/* Position on field k; the path gets ".key". */
static size_t enter(rd *r, const fmap *m, size_t k)
{
    r->pos = m->off[k];
    return path_key(r, m->names[k]);
}

static int missing(rd *r, const fmap *m, size_t k)
{
    size_t save = path_key(r, m->names[k]);
    int rc = fail(r, SUSHI_ERR_FORMAT, "missing");
    path_pop(r, save);
    return rc;
}

static int get_u32(rd *r, const fmap *m, size_t k, uint32_t *v, uint32_t lo, uint32_t hi, bool req,
                   uint32_t def)
{
    if (!has(m, k)) {
        *v = def;
        return req ? missing(r, m, k) : SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    int rc = rd_u32(r, v, lo, hi);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_u64(rd *r, const fmap *m, size_t k, uint64_t *v, bool req, uint64_t def)
{
    if (!has(m, k)) {
        *v = def;
        return req ? missing(r, m, k) : SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    int rc = rd_u64(r, v);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_i32(rd *r, const fmap *m, size_t k, int32_t *v, int32_t lo, int32_t hi, int32_t def)
{
    if (!has(m, k)) {
        *v = def;
        return SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    int rc = rd_i32(r, v, lo, hi);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_bool(rd *r, const fmap *m, size_t k, bool *v, bool req, bool def)
{
    if (!has(m, k)) {
        *v = def;
        return req ? missing(r, m, k) : SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    int rc = rd_bool(r, v);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_f32(rd *r, const fmap *m, size_t k, float *v, double lo, double hi, bool req, float def)
{
    if (!has(m, k)) {
        *v = def;
        return req ? missing(r, m, k) : SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    int rc = rd_f32(r, v, lo, hi);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_text_buf(rd *r, const fmap *m, size_t k, char *dst, size_t cap, bool nonempty)
{
    if (!has(m, k))
        return missing(r, m, k);
    size_t save = enter(r, m, k);
    int rc = rd_text_buf(r, dst, cap, nonempty);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int get_text_dup(rd *r, const sushi_context *ctx, const fmap *m, size_t k, char **out, bool nonempty)
{
    if (!has(m, k))
        return missing(r, m, k);
    size_t save = enter(r, m, k);
    int rc = rd_text_dup(r, ctx, out, nonempty);
    if (!rc)
        path_pop(r, save);
    return rc;
}

/* Enumerated text: index into names[] or error listing the expected values. */
static int get_enum(rd *r, const fmap *m, size_t k, const char *const *names, size_t n, uint32_t *v, bool req,
                    uint32_t def)
{
    if (!has(m, k)) {
        *v = def;
        return req ? missing(r, m, k) : SUSHI_OK;
    }
    size_t save = enter(r, m, k);
    const uint8_t *s;
    size_t len;
    int rc = rd_text(r, &s, &len);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (text_is(s, len, names[i])) {
            *v = (uint32_t)i;
            path_pop(r, save);
            return SUSHI_OK;
        }
    }
    char ex[48], list[160] = "";
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof list; i++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", names[i]);
        if (w > 0)
            o += (size_t)w;
    }
    return fail(r, SUSHI_ERR_FORMAT, "unknown value \"%s\" (expected one of: %s)", excerpt(s, len, ex, sizeof ex),
                list);
}

/* Array of unsigned integers in [lo, hi] with at most cap entries into dst. */
static int get_u32_array(rd *r, const fmap *m, size_t k, uint32_t *dst, uint32_t cap, uint32_t *n,
                         uint32_t lo, uint32_t hi, bool req)
{
    *n = 0;
    if (!has(m, k))
        return req ? missing(r, m, k) : SUSHI_OK;
    size_t save = enter(r, m, k);
    uint64_t cnt;
    int rc = rd_array(r, &cnt, cap);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < cnt; i++) {
        size_t s2 = path_idx(r, i);
        if ((rc = rd_u32(r, &dst[i], lo, hi)))
            return rc;
        path_pop(r, s2);
    }
    *n = (uint32_t)cnt;
    path_pop(r, save);
    return SUSHI_OK;
}

static int get_u8_array(rd *r, const fmap *m, size_t k, uint8_t *dst, uint32_t cap, uint32_t *n, uint32_t lo,
                        uint32_t hi, bool req)
{
    uint32_t tmp[SUSHI_CONFIG_MAX_SLOTS];
    if (cap > SUSHI_CONFIG_MAX_SLOTS)
        cap = SUSHI_CONFIG_MAX_SLOTS;
    int rc = get_u32_array(r, m, k, tmp, cap, n, lo, hi > 255 ? 255 : hi, req);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < *n; i++)
        dst[i] = (uint8_t)tmp[i];
    return SUSHI_OK;
}

static int get_f32_array(rd *r, const fmap *m, size_t k, float *dst, uint32_t cap, uint32_t *n, double lo,
                         double hi, bool req)
{
    *n = 0;
    if (!has(m, k))
        return req ? missing(r, m, k) : SUSHI_OK;
    size_t save = enter(r, m, k);
    uint64_t cnt;
    int rc = rd_array(r, &cnt, cap);
    if (rc)
        return rc;
    for (uint64_t i = 0; i < cnt; i++) {
        size_t s2 = path_idx(r, i);
        if ((rc = rd_f32(r, &dst[i], lo, hi)))
            return rc;
        path_pop(r, s2);
    }
    *n = (uint32_t)cnt;
    path_pop(r, save);
    return SUSHI_OK;
}

/* Optional byte-string field: off/len, type-checked. */
static int get_bytes(rd *r, const fmap *m, size_t k, size_t *off, size_t *len, bool req)
{
    if (!has(m, k))
        return req ? missing(r, m, k) : SUSHI_OK;
    size_t save = enter(r, m, k);
    int rc = rd_bytes(r, off, len);
    if (!rc)
        path_pop(r, save);
    return rc;
}

/* Enter a sub-map field and scan it. The caller pops the path. */
static int enter_map(rd *r, const fmap *parent, size_t k, fmap *m, const char *const *names, size_t nkeys,
                     size_t *save)
{
    *save = enter(r, parent, k);
    return scan_map(r, m, names, nkeys, NULL, NULL);
}

/* ---------- the SuperNet ---------- */

enum {
    K_FORMAT, K_VERSION, K_NAME, K_FAMILY, K_PROVENANCE, K_SEED, K_INPUT, K_NUM_CLASSES, K_BN_EPS,
    K_ELASTIC, K_UNITS, K_WEIGHTS, K_CANDIDATES, K_TOP_COUNT
};
static const char *const top_keys[K_TOP_COUNT] = {
    "format", "version", "name", "family", "provenance", "seed", "input", "num_classes", "bn_eps",
    "elastic", "units", "weights", "candidates",
};

enum { P_SYNTHETIC, P_TEXT, P_COUNT };
static const char *const prov_keys[P_COUNT] = { "synthetic", "text" };

enum { I_CHANNELS, I_MEAN, I_STD, I_RES, I_DEFRES, I_COUNT };
static const char *const input_keys[I_COUNT] = { "channels", "mean", "std", "resolutions", "default_resolution" };

enum { E_KS, E_E, E_NKS, E_NE, E_DEPTH, E_WIDTH, E_COUNT };
static const char *const elastic_keys[E_COUNT] = { "ks", "e", "n_ks_slots", "n_e_slots", "depth_groups",
                                                   "width_groups" };

enum { DG_CHOICES, DG_BASE, DG_MODE, DG_COUNT };
static const char *const dgroup_keys[DG_COUNT] = { "choices", "base", "mode" };
enum { WG_CHANNELS, WG_COUNT };
static const char *const wgroup_keys[WG_COUNT] = { "channels" };

enum {
    U_KIND, U_NAME, U_IN, U_OUT, U_WGROUP, U_KERNEL, U_STRIDE, U_PAD, U_ACT, U_BIAS, U_BN, U_SE, U_RESIDUAL,
    U_KS_SLOT, U_E_SLOT, U_E_FIXED, U_MID, U_SE_MID, U_DGROUP, U_DINDEX, U_DW, U_MID_ROUND, U_MID_DIV, U_COUNT
};
static const char *const unit_keys[U_COUNT] = {
    "kind", "name", "in_max", "out_max", "out_wgroup", "kernel", "stride", "pad", "act", "bias", "bn",
    "se", "residual", "ks_slot", "e_slot", "e_fixed", "mid_max", "se_mid_max", "dgroup", "dindex", "dw",
    "mid_round", "mid_divisor",
};

enum { W_MODE, W_TENSORS, W_CHECKSUM, W_COUNT };
static const char *const weights_keys[W_COUNT] = { "mode", "tensors", "checksum" };

enum { T_NAME, T_SHAPE, T_FILLER, T_DATA, T_COUNT };
static const char *const tensor_keys[T_COUNT] = { "name", "shape", "filler", "data" };

enum {
    C_CONFIG, C_ACCURACY, C_SOURCE, C_DATASET, C_METRIC, C_MACS, C_PARAMS, C_WBYTES, C_FILLER, C_BN,
    C_ACT, C_I8R, C_COUNT
};
static const char *const cand_keys[C_COUNT] = {
    "config", "accuracy", "accuracy_source", "dataset", "metric", "macs", "params", "weight_bytes",
    "filler", "bn_stats", "act_ranges", "int8_ranges",
};

enum { CF_KS, CF_E, CF_D, CF_W, CF_R, CF_COUNT };
static const char *const config_keys[CF_COUNT] = { "ks", "e", "d", "w", "r" };

static const char *const act_names[] = { "none", "relu", "hswish", "hsigmoid" };
static const char *const dmode_names[] = { "prefix", "all-if-max" };
static const char *const source_names[] = { "measured", "proxy", "none" };

typedef struct loader {
    rd r;
    sushi_context *ctx;
    sushi_supernet *sn;
    bool borrow;
    uint32_t flags;
    bool uses_buffer;
    fmap top;
} loader;

/* format and version are checked as soon as they are met, so that a file of a
 * newer version is refused with SUSHI_ERR_VERSION before anything else. */
static int top_hook(rd *r, fmap *m, size_t k, void *user)
{
    (void)m;
    (void)user;
    if (k == K_FORMAT) {
        const uint8_t *s;
        size_t len;
        int rc = rd_text(r, &s, &len);
        if (rc)
            return rc;
        if (!text_is(s, len, SUSHI_FORMAT_NAME)) {
            char ex[48];
            return fail(r, SUSHI_ERR_FORMAT, "expected \"" SUSHI_FORMAT_NAME "\", found \"%s\"",
                        excerpt(s, len, ex, sizeof ex));
        }
    } else if (k == K_VERSION) {
        uint64_t v;
        int rc = rd_u64(r, &v);
        if (rc)
            return rc;
        if (v == 0)
            return fail(r, SUSHI_ERR_FORMAT, "0 is not a valid version");
        if (v > SUSHI_FORMAT_VERSION)
            return fail(r, SUSHI_ERR_VERSION,
                        "file format version %" PRIu64 " is newer than this reader (supports %d)", v,
                        SUSHI_FORMAT_VERSION);
    }
    return SUSHI_OK;
}

static int read_provenance(loader *L)
{
    rd *r = &L->r;
    fmap m;
    size_t save;
    if (!has(&L->top, K_PROVENANCE))
        return missing(r, &L->top, K_PROVENANCE);
    int rc = enter_map(r, &L->top, K_PROVENANCE, &m, prov_keys, P_COUNT, &save);
    if (!rc)
        rc = get_bool(r, &m, P_SYNTHETIC, &L->sn->synthetic, true, false);
    if (!rc)
        rc = get_text_dup(r, L->ctx, &m, P_TEXT, &L->sn->provenance, false);
    if (!rc)
        path_pop(r, save);
    return rc;
}

static int read_input(loader *L)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    fmap m;
    size_t save;
    if (!has(&L->top, K_INPUT))
        return missing(r, &L->top, K_INPUT);
    int rc = enter_map(r, &L->top, K_INPUT, &m, input_keys, I_COUNT, &save);
    if (rc)
        return rc;
    if ((rc = get_u32(r, &m, I_CHANNELS, &sn->in_channels, 1, 4, true, 0)))
        return rc;
    uint32_t n;
    if ((rc = get_f32_array(r, &m, I_MEAN, sn->in_mean, 4, &n, -FLT_MAX, FLT_MAX, true)))
        return rc;
    if (n != sn->in_channels) {
        path_key(r, "mean");
        return fail(r, SUSHI_ERR_FORMAT, "%u entries, input.channels is %u", n, sn->in_channels);
    }
    if ((rc = get_f32_array(r, &m, I_STD, sn->in_std, 4, &n, FLT_MIN, FLT_MAX, true)))
        return rc;
    if (n != sn->in_channels) {
        path_key(r, "std");
        return fail(r, SUSHI_ERR_FORMAT, "%u entries, input.channels is %u", n, sn->in_channels);
    }
    if (!has(&m, I_RES))
        return missing(r, &m, I_RES);
    size_t s2 = enter(r, &m, I_RES);
    uint64_t cnt;
    if ((rc = rd_array(r, &cnt, 65536)))
        return rc;
    if (cnt == 0)
        return fail(r, SUSHI_ERR_FORMAT, "empty");
    sn->res = sushi_calloc(L->ctx, (size_t)cnt, sizeof *sn->res);
    if (!sn->res)
        return fail(r, SUSHI_ERR_NOMEM, "out of memory");
    sn->n_res = (uint32_t)cnt;
    for (uint64_t i = 0; i < cnt; i++) {
        size_t s3 = path_idx(r, i);
        if ((rc = rd_u32(r, &sn->res[i], 1, 65535)))
            return rc;
        path_pop(r, s3);
    }
    path_pop(r, s2);
    if ((rc = get_u32(r, &m, I_DEFRES, &sn->default_resolution, 1, 65535, true, 0)))
        return rc;
    path_pop(r, save);
    return SUSHI_OK;
}

static int read_elastic(loader *L)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    fmap m;
    size_t save;
    if (!has(&L->top, K_ELASTIC))
        return missing(r, &L->top, K_ELASTIC);
    int rc = enter_map(r, &L->top, K_ELASTIC, &m, elastic_keys, E_COUNT, &save);
    if (rc)
        return rc;
    if ((rc = get_u8_array(r, &m, E_KS, sn->ks_choices, SUSHI_MAX_CHOICES, &sn->n_ks_choices, 1, 255, false)))
        return rc;
    if ((rc = get_f32_array(r, &m, E_E, sn->e_choices, SUSHI_MAX_CHOICES, &sn->n_e_choices, 0.0, 64.0, false)))
        return rc;
    if ((rc = get_u32(r, &m, E_NKS, &sn->n_ks_slots, 0, SUSHI_CONFIG_MAX_SLOTS, false, 0)))
        return rc;
    if ((rc = get_u32(r, &m, E_NE, &sn->n_e_slots, 0, SUSHI_CONFIG_MAX_SLOTS, false, 0)))
        return rc;
    if (sn->n_ks_slots && !sn->n_ks_choices) {
        path_key(r, "ks");
        return fail(r, SUSHI_ERR_FORMAT, "no choices, but n_ks_slots is %u", sn->n_ks_slots);
    }
    if (sn->n_e_slots && !sn->n_e_choices) {
        path_key(r, "e");
        return fail(r, SUSHI_ERR_FORMAT, "no choices, but n_e_slots is %u", sn->n_e_slots);
    }
    uint64_t cnt;
    if (has(&m, E_DEPTH)) {
        size_t s2 = enter(r, &m, E_DEPTH);
        if ((rc = rd_array(r, &cnt, SUSHI_CONFIG_MAX_GROUPS)))
            return rc;
        for (uint64_t g = 0; g < cnt; g++) {
            size_t s3 = path_idx(r, g);
            fmap dm;
            sushi_dgroup *d = &sn->dgroups[g];
            if ((rc = scan_map(r, &dm, dgroup_keys, DG_COUNT, NULL, NULL)))
                return rc;
            size_t next = dm.end;
            if ((rc = get_u8_array(r, &dm, DG_CHOICES, d->choices, SUSHI_MAX_CHOICES, &d->n_choices, 0, 255, true)))
                return rc;
            if ((rc = get_u32(r, &dm, DG_BASE, &d->base, 0, 65535, false, 0)))
                return rc;
            if ((rc = get_enum(r, &dm, DG_MODE, dmode_names, 2, &d->mode, false, SUSHI_DEPTH_PREFIX)))
                return rc;
            r->pos = next;
            path_pop(r, s3);
        }
        sn->n_dgroups = (uint32_t)cnt;
        path_pop(r, s2);
    }
    if (has(&m, E_WIDTH)) {
        size_t s2 = enter(r, &m, E_WIDTH);
        if ((rc = rd_array(r, &cnt, SUSHI_CONFIG_MAX_GROUPS)))
            return rc;
        for (uint64_t g = 0; g < cnt; g++) {
            size_t s3 = path_idx(r, g);
            fmap wm;
            sushi_wgroup *w = &sn->wgroups[g];
            if ((rc = scan_map(r, &wm, wgroup_keys, WG_COUNT, NULL, NULL)))
                return rc;
            size_t next = wm.end;
            if ((rc = get_u32_array(r, &wm, WG_CHANNELS, w->channels, SUSHI_MAX_CHOICES, &w->n_choices, 1,
                                    1u << 20, true)))
                return rc;
            r->pos = next;
            path_pop(r, s3);
        }
        sn->n_wgroups = (uint32_t)cnt;
        path_pop(r, s2);
    }
    path_pop(r, save);
    return SUSHI_OK;
}

static int read_unit(loader *L, sushi_unit *u)
{
    rd *r = &L->r;
    fmap m;
    int rc = scan_map(r, &m, unit_keys, U_COUNT, NULL, NULL);
    if (rc)
        return rc;
    uint32_t kind = 0;
    if ((rc = get_enum(r, &m, U_KIND, sushi_unit_kind_names, SUSHI_UNIT_KIND_COUNT, &kind, true, 0)))
        return rc;
    u->kind = kind;
    if ((rc = get_text_buf(r, &m, U_NAME, u->name, sizeof u->name, true)))
        return rc;
    const uint32_t big = UINT32_MAX;
    if ((rc = get_u32(r, &m, U_IN, &u->in_max, 0, big, true, 0)) ||
        (rc = get_u32(r, &m, U_OUT, &u->out_max, 0, big, true, 0)) ||
        (rc = get_i32(r, &m, U_WGROUP, &u->out_wgroup, -1, SUSHI_CONFIG_MAX_GROUPS - 1, -1)) ||
        (rc = get_u32(r, &m, U_KERNEL, &u->kernel, 0, 255, false, 1)) ||
        (rc = get_u32(r, &m, U_STRIDE, &u->stride, 0, 255, false, 1)) ||
        (rc = get_u32(r, &m, U_PAD, &u->pad, 0, 255, false, 0)) ||
        (rc = get_enum(r, &m, U_ACT, act_names, 4, &u->act, false, SUSHI_ACT_NONE)) ||
        (rc = get_bool(r, &m, U_BIAS, &u->bias, false, false)) ||
        (rc = get_bool(r, &m, U_BN, &u->bn, false, false)) ||
        (rc = get_bool(r, &m, U_SE, &u->se, false, false)) ||
        (rc = get_bool(r, &m, U_RESIDUAL, &u->residual, false, false)) ||
        (rc = get_i32(r, &m, U_KS_SLOT, &u->ks_slot, -1, SUSHI_CONFIG_MAX_SLOTS - 1, -1)) ||
        (rc = get_i32(r, &m, U_E_SLOT, &u->e_slot, -1, SUSHI_CONFIG_MAX_SLOTS - 1, -1)) ||
        (rc = get_f32(r, &m, U_E_FIXED, &u->e_fixed, 0.0, 64.0, false, 1.0f)) ||
        (rc = get_u32(r, &m, U_MID, &u->mid_max, 0, big, false, 0)) ||
        (rc = get_u32(r, &m, U_SE_MID, &u->se_mid_max, 0, big, false, 0)) ||
        (rc = get_i32(r, &m, U_DGROUP, &u->dgroup, -1, SUSHI_CONFIG_MAX_GROUPS - 1, -1)) ||
        (rc = get_u32(r, &m, U_DINDEX, &u->dindex, 0, big, false, 0)) ||
        (rc = get_u32_array(r, &m, U_DW, u->dw_kernel, SUSHI_MAX_CHOICES, &u->n_dw, 1, 255, false)) ||
        (rc = get_enum(r, &m, U_MID_ROUND, sushi_mid_round_names, SUSHI_MID_RULE_COUNT, &u->mid_round, false,
                       SUSHI_MID_OFA)) ||
        (rc = get_u32(r, &m, U_MID_DIV, &u->mid_divisor, 1, 1024, false, 8)))
        return rc;
    for (int s = 0; s < SUSHI_SUB_MAX; s++) {
        u->sub[s].w = u->sub[s].b = -1;
        u->sub[s].bn.gamma = u->sub[s].bn.beta = u->sub[s].bn.mean = u->sub[s].bn.var = -1;
    }
    for (int j = 0; j < SUSHI_MAX_CHOICES; j++)
        u->dw_tensor[j] = -1;
    r->pos = m.end;
    return SUSHI_OK;
}

static int read_units(loader *L)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    if (!has(&L->top, K_UNITS))
        return missing(r, &L->top, K_UNITS);
    size_t save = enter(r, &L->top, K_UNITS);
    uint64_t cnt;
    int rc = rd_array(r, &cnt, SUSHI_FORMAT_MAX_UNITS);
    if (rc)
        return rc;
    if (cnt == 0)
        return fail(r, SUSHI_ERR_FORMAT, "empty");
    sn->units = sushi_calloc(L->ctx, (size_t)cnt, sizeof *sn->units);
    if (!sn->units)
        return fail(r, SUSHI_ERR_NOMEM, "out of memory");
    sn->n_units = (uint32_t)cnt;
    for (uint64_t i = 0; i < cnt; i++) {
        size_t s2 = path_idx(r, i);
        if ((rc = read_unit(L, &sn->units[i])))
            return rc;
        path_pop(r, s2);
    }
    path_pop(r, save);
    /* members of each depth group: derived, then checked by validate_arch */
    for (uint32_t g = 0; g < sn->n_dgroups; g++)
        sn->dgroups[g].n_members = 0;
    for (uint32_t i = 0; i < sn->n_units; i++) {
        int32_t g = sn->units[i].dgroup;
        if (g >= 0 && (uint32_t)g < sn->n_dgroups)
            sn->dgroups[g].n_members++;
    }
    return SUSHI_OK;
}

/* ---------- weights ---------- */

static bool can_borrow(const loader *L, size_t off)
{
    return L->borrow && SUSHI_HOST_LE && ((uintptr_t)(L->r.p + off) & 3u) == 0;
}

static int read_tensor_entry(loader *L, size_t *loc, uint32_t *crc, bool verify)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    fmap m;
    int rc = scan_map(r, &m, tensor_keys, T_COUNT, NULL, NULL);
    if (rc)
        return rc;
    if (!has(&m, T_NAME))
        return missing(r, &m, T_NAME);
    size_t save = enter(r, &m, T_NAME);
    const uint8_t *s;
    size_t len;
    if ((rc = rd_text(r, &s, &len)))
        return rc;
    char name[sizeof sn->tensors[0].name];
    char ex[64];
    int32_t idx = -1;
    if (len < sizeof name) {
        memcpy(name, s, len);
        name[len] = '\0';
        idx = sushi_supernet_find_tensor(sn, name);
    }
    if (idx < 0)
        return fail(r, SUSHI_ERR_FORMAT, "unknown tensor \"%s\"", excerpt(s, len, ex, sizeof ex));
    if (loc[idx] != ABSENT)
        return fail(r, SUSHI_ERR_FORMAT, "duplicate tensor \"%s\"", name);
    path_pop(r, save);
    const sushi_tensor *t = &sn->tensors[idx];

    if (!has(&m, T_SHAPE))
        return missing(r, &m, T_SHAPE);
    save = enter(r, &m, T_SHAPE);
    uint64_t nd;
    if ((rc = rd_array(r, &nd, 4)))
        return rc;
    uint64_t dims[4], ne = 1;
    for (uint64_t i = 0; i < nd; i++) {
        size_t s2 = path_idx(r, i);
        if ((rc = rd_u64(r, &dims[i])))
            return rc;
        path_pop(r, s2);
        if (sushi_mul_overflow_u64(ne, dims[i], &ne))
            return fail(r, SUSHI_ERR_OVERFLOW, "element count overflows 64 bits");
    }
    uint64_t bytes;
    if (sushi_mul_overflow_u64(ne, 4, &bytes) || bytes > SIZE_MAX)
        return fail(r, SUSHI_ERR_OVERFLOW, "byte size overflows");
    bool same = nd == t->ndim;
    for (uint64_t i = 0; same && i < nd; i++)
        same = dims[i] == t->shape[i];
    if (!same) {
        char got[128] = "", want[64] = ""; /* 4 dims of <= 20 digits */
        size_t o = 0;
        for (uint64_t i = 0; i < nd; i++)
            o += (size_t)snprintf(got + o, sizeof got - o, "%s%" PRIu64, i ? ", " : "", dims[i]);
        o = 0;
        for (uint32_t i = 0; i < t->ndim; i++)
            o += (size_t)snprintf(want + o, sizeof want - o, "%s%u", i ? ", " : "", t->shape[i]);
        return fail(r, SUSHI_ERR_FORMAT, "[%s] does not match the architecture's [%s] for \"%s\"", got, want,
                    t->name);
    }
    path_pop(r, save);

    size_t off, dlen;
    if ((rc = get_bytes(r, &m, T_FILLER, &off, &dlen, false)))
        return rc;
    if ((rc = get_bytes(r, &m, T_DATA, &off, &dlen, true)))
        return rc;
    if (dlen != bytes) {
        path_key(r, "data");
        return fail(r, SUSHI_ERR_FORMAT, "%zu bytes, expected %" PRIu64 " (%" PRIu64 " float32 values)", dlen,
                    bytes, ne);
    }
    loc[idx] = off;
    if (verify)
        *crc = sushi_crc32c(*crc, r->p + off, dlen);
    r->pos = m.end;
    return SUSHI_OK;
}

/* Little-endian float32 bits at p (compiles to one load on little-endian hosts). */
static inline uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* NaN or infinity: exponent bits all ones. */
static inline bool f32_bits_nonfinite(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u; }

/* SUSHI_LOAD_CHECK_FINITE: refuse a tensor holding a NaN or an infinity,
 * naming the tensor and the first bad element. Reads the payload in the file,
 * before anything is attached. The counting pass has no branch (gcc -O3
 * vectorises it); the first bad element is looked for only when there is one. */
static int check_finite(rd *r, const sushi_tensor *t, const uint8_t *p)
{
    uint64_t bad = 0;
    for (uint64_t i = 0; i < t->nelem; i++)
        bad += f32_bits_nonfinite(le32_at(p + 4 * i));
    if (!bad)
        return SUSHI_OK;
    uint64_t first = 0;
    while (!f32_bits_nonfinite(le32_at(p + 4 * first)))
        first++;
    uint32_t u = le32_at(p + 4 * first);
    const char *what = (u & 0x007fffffu) ? "NaN" : (u >> 31) ? "-Inf" : "+Inf";
    return fail(r, SUSHI_ERR_FORMAT,
                "tensor \"%s\": value %" PRIu64 " is %s (%" PRIu64 " of its %" PRIu64
                " values are not finite; refused because of SUSHI_LOAD_CHECK_FINITE)",
                t->name, first, what, bad, t->nelem);
}

static int read_f32_weights(loader *L, fmap *wm)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    int rc;
    uint64_t checksum = 0;
    bool have_sum = has(wm, W_CHECKSUM);
    if (have_sum) {
        size_t s = enter(r, wm, W_CHECKSUM);
        if ((rc = rd_u64(r, &checksum)))
            return rc;
        if (checksum > UINT32_MAX)
            return fail(r, SUSHI_ERR_FORMAT, "not a 32-bit value");
        path_pop(r, s);
    }
    bool verify = have_sum && !(L->flags & SUSHI_LOAD_NO_VERIFY);
    if (!has(wm, W_TENSORS))
        return missing(r, wm, W_TENSORS);
    size_t save = enter(r, wm, W_TENSORS);
    uint64_t cnt;
    if ((rc = rd_array(r, &cnt, UINT32_MAX)))
        return rc;
    size_t *loc = sushi_calloc(L->ctx, sn->n_tensors ? sn->n_tensors : 1, sizeof *loc);
    if (!loc)
        return fail(r, SUSHI_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        loc[i] = ABSENT;
    uint32_t crc = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        size_t s2 = path_idx(r, i);
        if ((rc = read_tensor_entry(L, loc, &crc, verify)))
            goto out;
        path_pop(r, s2);
    }
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        if (loc[i] == ABSENT) {
            rc = fail(r, SUSHI_ERR_FORMAT, "missing tensor \"%s\"", sn->tensors[i].name);
            goto out;
        }
    }
    path_pop(r, save);
    if (verify && crc != (uint32_t)checksum) {
        path_key(r, "checksum");
        rc = fail(r, SUSHI_ERR_INTEGRITY,
                  "CRC-32C of the tensor data is 0x%08" PRIx32 ", the file says 0x%08" PRIx32
                  ": the file is corrupted",
                  crc, (uint32_t)checksum);
        goto out;
    }
    if (L->flags & SUSHI_LOAD_CHECK_FINITE)
        for (uint32_t i = 0; i < sn->n_tensors; i++)
            if ((rc = check_finite(r, &sn->tensors[i], r->p + loc[i])))
                goto out;
    /* attach: borrow aligned payloads, copy the others into one block */
    uint64_t copy_bytes = 0;
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        if (!can_borrow(L, loc[i]))
            copy_bytes += sn->tensors[i].nelem * 4u; /* each fits in the buffer: no overflow */
    float *block = NULL;
    if (copy_bytes) {
        block = sushi_malloc(L->ctx, (size_t)copy_bytes);
        if (!block) {
            rc = fail(r, SUSHI_ERR_NOMEM, "out of memory");
            goto out;
        }
        sn->buf_owned = block;
    }
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        sushi_tensor *t = &sn->tensors[i];
        if (can_borrow(L, loc[i])) {
            t->data = (const float *)(const void *)(r->p + loc[i]);
            L->uses_buffer = true;
        } else {
            sushi_f32le_copy(block, r->p + loc[i], (size_t)t->nelem);
            t->data = block;
            block += t->nelem;
        }
    }
    rc = SUSHI_OK;
out:
    sushi_free(L->ctx, loc);
    return rc;
}

static int read_weights(loader *L)
{
    rd *r = &L->r;
    fmap m;
    size_t save;
    if (!has(&L->top, K_WEIGHTS))
        return missing(r, &L->top, K_WEIGHTS);
    int rc = enter_map(r, &L->top, K_WEIGHTS, &m, weights_keys, W_COUNT, &save);
    if (rc)
        return rc;
    static const char *const modes[] = { "seed", "f32" };
    uint32_t mode = 0;
    if ((rc = get_enum(r, &m, W_MODE, modes, 2, &mode, true, 0)))
        return rc;
    if (mode == 0) {
        if (!L->sn->synthetic) {
            path_key(r, "mode");
            return fail(r, SUSHI_ERR_FORMAT, "\"seed\" needs provenance.synthetic = true");
        }
        if (!has(&L->top, K_SEED)) {
            path_pop(r, 0);
            return fail(r, SUSHI_ERR_FORMAT, "seed: missing (weights.mode is \"seed\")");
        }
        uint64_t total = 0;
        for (uint32_t i = 0; i < L->sn->n_tensors; i++)
            total += L->sn->tensors[i].nelem; /* each <= 2^40: no overflow */
        if (total > SUSHI_FORMAT_MAX_SEED_ELEMS) {
            path_key(r, "mode");
            return fail(r, SUSHI_ERR_FORMAT,
                        "\"seed\": the architecture needs %" PRIu64 " weights, more than the %llu a seed-mode "
                        "file may generate",
                        total, (unsigned long long)SUSHI_FORMAT_MAX_SEED_ELEMS);
        }
        if ((rc = sushi_supernet_generate_weights(L->sn)))
            return fail(r, rc, "cannot generate the synthetic weights");
    } else {
        if ((rc = read_f32_weights(L, &m)))
            return rc;
    }
    path_pop(r, save);
    return SUSHI_OK;
}

/* ---------- candidates ---------- */

static int read_config(loader *L, const fmap *cm, sushi_config *cfg)
{
    rd *r = &L->r;
    fmap m;
    size_t save;
    if (!has(cm, C_CONFIG))
        return missing(r, cm, C_CONFIG);
    int rc = enter_map(r, cm, C_CONFIG, &m, config_keys, CF_COUNT, &save);
    if (rc)
        return rc;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    if ((rc = get_u8_array(r, &m, CF_KS, cfg->ks, SUSHI_CONFIG_MAX_SLOTS, &cfg->n_ks, 1, 255, false)) ||
        (rc = get_f32_array(r, &m, CF_E, cfg->e, SUSHI_CONFIG_MAX_SLOTS, &cfg->n_e, 0.0, 64.0, false)) ||
        (rc = get_u8_array(r, &m, CF_D, cfg->d, SUSHI_CONFIG_MAX_GROUPS, &cfg->n_d, 0, 255, false)) ||
        (rc = get_u8_array(r, &m, CF_W, cfg->w, SUSHI_CONFIG_MAX_GROUPS, &cfg->n_w, 0, 255, false)))
        return rc;
    if (!has(&m, CF_R))
        return missing(r, &m, CF_R);
    size_t s2 = enter(r, &m, CF_R);
    if (r->pos < r->n && (r->p[r->pos] >> 5) == 4) { /* OFA also writes "r": [224] */
        uint64_t one;
        if ((rc = rd_array(r, &one, 1)))
            return rc;
        if (one != 1)
            return fail(r, SUSHI_ERR_FORMAT, "expected one resolution");
    }
    if ((rc = rd_u32(r, &cfg->resolution, 1, 65535)))
        return rc;
    path_pop(r, s2);
    char msg[200] = "";
    if (sushi_config_validate(L->sn, cfg, msg, sizeof msg) != SUSHI_OK)
        return fail(r, SUSHI_ERR_FORMAT, "%s", msg[0] ? msg : "not a valid config of this SuperNet");
    path_pop(r, save);
    return SUSHI_OK;
}

static int make_plan(loader *L, const sushi_config *cfg, sushi_subnet **plan);
/* A candidate's byte string of `pairs` float32 (min, max) pairs under key k:
 * the length must match (`need` says what the SubNet has), every pair must
 * be a finite range. */
static int read_range_pairs(loader *L, const fmap *mp, size_t k, size_t pairs, const char *need, float **out,
                            uint64_t *n_out)
{
    rd *r = &L->r;
    size_t off = 0, len = 0;
    int rc = get_bytes(r, mp, k, &off, &len, true);
    if (rc)
        return rc;
    size_t save = path_key(r, cand_keys[k]);
    if (len % 8 || len == 0 || len / 8 != pairs)
        return fail(r, SUSHI_ERR_FORMAT, "%zu bytes, %s", len, need);
    *out = sushi_malloc(L->ctx, len);
    if (!*out)
        return fail(r, SUSHI_ERR_NOMEM, "out of memory");
    sushi_f32le_copy(*out, r->p + off, len / 4);
    *n_out = len / 4;
    size_t bad = sushi_first_bad_range(*out, pairs);
    if (bad < pairs)
        return fail(r, SUSHI_ERR_FORMAT, "pair %zu is not a finite range (min <= max)", bad);
    path_pop(r, save);
    return SUSHI_OK;
}

static int read_candidate_stats(loader *L, const fmap *cm, sushi_candidate *c, const sushi_subnet *plan);

static int read_candidate(loader *L, sushi_candidate *c)
{
    rd *r = &L->r;
    fmap m;
    int rc = scan_map(r, &m, cand_keys, C_COUNT, NULL, NULL);
    if (rc)
        return rc;
    if ((rc = read_config(L, &m, &c->config)))
        return rc;
    uint32_t src;
    if ((rc = get_enum(r, &m, C_SOURCE, source_names, 3, &src, true, 0)))
        return rc;
    snprintf(c->accuracy_source, sizeof c->accuracy_source, "%s", source_names[src]);
    if (!has(&m, C_ACCURACY))
        return missing(r, &m, C_ACCURACY);
    size_t save = enter(r, &m, C_ACCURACY);
    bool is_null;
    if ((rc = rd_number(r, &c->accuracy, &is_null)))
        return rc;
    if (src == 2 && !is_null)
        return fail(r, SUSHI_ERR_FORMAT, "must be null when accuracy_source is \"none\"");
    if (src != 2 && is_null)
        return fail(r, SUSHI_ERR_FORMAT, "null, but accuracy_source is \"%s\"", source_names[src]);
    if (!is_null && !(c->accuracy >= 0.0 && c->accuracy <= 1.0))
        return fail(r, SUSHI_ERR_FORMAT, "%g is not a fraction in [0, 1]", c->accuracy);
    path_pop(r, save);
    if ((rc = get_text_dup(r, L->ctx, &m, C_DATASET, &c->dataset, false)) ||
        (rc = get_text_dup(r, L->ctx, &m, C_METRIC, &c->metric, false)) ||
        (rc = get_u64(r, &m, C_MACS, &c->macs, true, 0)) ||
        (rc = get_u64(r, &m, C_PARAMS, &c->params, true, 0)) ||
        (rc = get_u64(r, &m, C_WBYTES, &c->weight_bytes, true, 0)))
        return rc;
    size_t off, len;
    if ((rc = get_bytes(r, &m, C_FILLER, &off, &len, false)))
        return rc;
    if (!has(&m, C_BN) && !has(&m, C_ACT) && !has(&m, C_I8R)) {
        r->pos = m.end;
        return SUSHI_OK;
    }
    /* per-SubNet data: sized by the SubNet's plan */
    sushi_subnet *plan = NULL;
    if ((rc = make_plan(L, &c->config, &plan)))
        return rc;
    rc = read_candidate_stats(L, &m, c, plan);
    sushi_subnet_destroy(plan);
    if (rc)
        return rc;
    r->pos = m.end;
    return SUSHI_OK;
}

/* Resolve the candidate's plan, ignoring the candidate table (so this is
 * O(plan), and the statistics being checked are not used yet). */
static int make_plan(loader *L, const sushi_config *cfg, sushi_subnet **plan)
{
    sushi_supernet *sn = L->sn;
    uint32_t n_cand = sn->n_cand;
    sn->n_cand = 0;
    int rc = sushi_subnet_create(sn, cfg, plan);
    sn->n_cand = n_cand;
    if (rc == SUSHI_ERR_NOMEM)
        return fail(&L->r, rc, "out of memory");
    if (rc) {
        size_t save = path_key(&L->r, "config");
        fail(&L->r, SUSHI_ERR_FORMAT, "cannot be resolved into a SubNet (%s)", sushi_status_str(rc));
        path_pop(&L->r, save);
        return SUSHI_ERR_FORMAT;
    }
    return SUSHI_OK;
}

static int read_candidate_stats(loader *L, const fmap *cm, sushi_candidate *c, const sushi_subnet *plan)
{
    rd *r = &L->r;
    const fmap *mp = cm;
    size_t off, len, save;
    int rc;
    if (has(mp, C_BN)) {
        if ((rc = get_bytes(r, mp, C_BN, &off, &len, true)))
            return rc;
        save = path_key(r, "bn_stats");
        uint64_t need = 0;
        for (uint32_t li = 0; li < plan->n_layers; li++)
            if (plan->layers[li].bn >= 0)
                need += 2ull * plan->layers[li].out_c;
        if (len % 4 || len / 4 != need)
            return fail(r, SUSHI_ERR_FORMAT,
                        "%zu bytes, the SubNet's BN layers need %" PRIu64 " float32 values (%" PRIu64 " bytes)",
                        len, need, need * 4);
        for (size_t i = 0; i < len; i += 4) {
            uint32_t u = (uint32_t)r->p[off + i] | (uint32_t)r->p[off + i + 1] << 8 |
                         (uint32_t)r->p[off + i + 2] << 16 | (uint32_t)r->p[off + i + 3] << 24;
            if ((u & 0x7f800000u) == 0x7f800000u)
                return fail(r, SUSHI_ERR_FORMAT, "value %zu is not finite", i / 4);
        }
        /* variances: the second half of each layer's 2c values */
        size_t v = 0;
        for (uint32_t li = 0; li < plan->n_layers; li++) {
            uint32_t ch = plan->layers[li].out_c;
            if (plan->layers[li].bn < 0)
                continue;
            for (uint32_t j = 0; j < ch; j++) {
                const uint8_t *q = r->p + off + (v + ch + j) * 4;
                uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
                if ((u & 0x80000000u) && (u & 0x7fffffffu))
                    return fail(r, SUSHI_ERR_FORMAT, "variance %u of layer %s is negative", j,
                                plan->layers[li].name);
            }
            v += 2u * ch;
        }
        c->n_bn_stats = len / 4;
        if (can_borrow(L, off)) {
            c->bn_stats = (const float *)(const void *)(r->p + off);
            L->uses_buffer = true;
        } else {
            c->bn_owned = sushi_malloc(L->ctx, len);
            if (!c->bn_owned)
                return fail(r, SUSHI_ERR_NOMEM, "out of memory");
            sushi_f32le_copy(c->bn_owned, r->p + off, len / 4);
            c->bn_stats = c->bn_owned;
        }
        path_pop(r, save);
    }
    char need[160];
    if (has(mp, C_ACT)) {
        snprintf(need, sizeof need, "the SubNet has %u activations (min, max float32 each)", plan->n_values);
        if ((rc = read_range_pairs(L, mp, C_ACT, plan->n_values, need, &c->act_ranges, &c->n_act_ranges)))
            return rc;
    }
    if (has(mp, C_I8R)) {
        snprintf(need, sizeof need,
                 "the SubNet has %u activations and %u layers (one min, max float32 pair each)", plan->n_values,
                 plan->n_layers);
        if ((rc = read_range_pairs(L, mp, C_I8R, sushi_int8_ranges_len(plan) / 2, need, &c->int8_ranges,
                                   &c->n_int8_ranges)))
            return rc;
    }
    return SUSHI_OK;
}

static int read_candidates(loader *L)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    if (!has(&L->top, K_CANDIDATES))
        return missing(r, &L->top, K_CANDIDATES);
    size_t save = enter(r, &L->top, K_CANDIDATES);
    uint64_t cnt;
    int rc = rd_array(r, &cnt, UINT32_MAX);
    if (rc)
        return rc;
    /* grown as entries decode, so a short hostile file cannot make a large
     * table allocated up front */
    uint32_t cap = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        if (sn->n_cand == cap) {
            uint32_t ncap = cap ? (cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2) : 8;
            if (ncap > cnt)
                ncap = (uint32_t)cnt;
            sushi_candidate *nc = sushi_realloc(L->ctx, sn->cands, (size_t)ncap * sizeof *nc);
            if (!nc)
                return fail(r, SUSHI_ERR_NOMEM, "out of memory");
            sn->cands = nc;
            cap = ncap;
        }
        sushi_candidate *c = &sn->cands[sn->n_cand];
        memset(c, 0, sizeof *c);
        sn->n_cand++; /* owned fields are released by destroy from here on */
        size_t s2 = path_idx(r, i);
        if ((rc = read_candidate(L, c)))
            return rc;
        path_pop(r, s2);
    }
    path_pop(r, save);
    return SUSHI_OK;
}

/* ---------- entry points ---------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Unit names such as "a" (mbconv) and "a.conv.inverted_bottleneck" (conv)
 * could produce the same tensor name twice; refuse such files. */
static int check_unique_tensor_names(loader *L)
{
    sushi_supernet *sn = L->sn;
    if (sn->n_tensors < 2)
        return SUSHI_OK;
    const char **names = sushi_calloc(L->ctx, sn->n_tensors, sizeof *names);
    if (!names)
        return fail(&L->r, SUSHI_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < sn->n_tensors; i++)
        names[i] = sn->tensors[i].name;
    qsort(names, sn->n_tensors, sizeof *names, cmp_name);
    int rc = SUSHI_OK;
    for (uint32_t i = 1; i < sn->n_tensors && !rc; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = fail(&L->r, SUSHI_ERR_FORMAT, "units: two units produce the tensor name \"%s\"", names[i]);
    sushi_free(L->ctx, names);
    return rc;
}

static int read_all(loader *L)
{
    rd *r = &L->r;
    sushi_supernet *sn = L->sn;
    int rc;
    if (r->n >= 3 && r->p[0] == 0xd9 && r->p[1] == 0xd9 && r->p[2] == 0xf7)
        r->pos = 3; /* self-describe tag 55799: the file magic */
    if ((rc = scan_map(r, &L->top, top_keys, K_TOP_COUNT, top_hook, NULL)))
        return rc;
    if (L->top.end != r->n)
        return fail_at(r, L->top.end, "%zu trailing bytes after the top-level map", r->n - L->top.end);
    if (!has(&L->top, K_FORMAT))
        return fail(r, SUSHI_ERR_FORMAT, "format: missing (not a SuperNet file)");
    if (!has(&L->top, K_VERSION))
        return missing(r, &L->top, K_VERSION);
    if ((rc = get_text_dup(r, L->ctx, &L->top, K_NAME, &sn->name, true)) ||
        (rc = get_text_dup(r, L->ctx, &L->top, K_FAMILY, &sn->family, true)) ||
        (rc = read_provenance(L)) ||
        (rc = get_u64(r, &L->top, K_SEED, &sn->seed, false, 0)) ||
        (rc = read_input(L)) ||
        (rc = get_u32(r, &L->top, K_NUM_CLASSES, &sn->num_classes, 0, UINT32_MAX, true, 0)))
        return rc;
    float eps = SUSHI_FORMAT_DEFAULT_BN_EPS; /* set by get_f32; initialised for -O3 -Wmaybe-uninitialized */
    if ((rc = get_f32(r, &L->top, K_BN_EPS, &eps, 1e-12, 1.0, false, SUSHI_FORMAT_DEFAULT_BN_EPS)) ||
        (rc = read_elastic(L)) || (rc = read_units(L)))
        return rc;
    /* architecture first (clear messages), then the tensor table from it */
    if ((rc = sushi_supernet_validate_arch(sn, r->err, r->errsz)))
        return rc;
    if ((rc = sushi_supernet_build_tensors(sn, r->err, r->errsz))) {
        if (rc == SUSHI_ERR_NOMEM)
            fail(r, rc, "out of memory");
        return rc;
    }
    if ((rc = check_unique_tensor_names(L)))
        return rc;
    for (uint32_t i = 0; i < sn->n_units; i++)
        for (int s = 0; s < SUSHI_SUB_MAX; s++)
            if (sn->units[i].sub[s].has_bn)
                sn->units[i].sub[s].bn.eps = eps;
    if ((rc = read_weights(L)) || (rc = read_candidates(L)))
        return rc;
    return SUSHI_OK;
}

int sushi_format_read_ex(sushi_context *ctx, const uint8_t *data, size_t size, bool borrow, uint32_t flags,
                         sushi_supernet **out, bool *uses_buffer, char *err, size_t errsz)
{
    if (out)
        *out = NULL;
    if (uses_buffer)
        *uses_buffer = false;
    if (err && errsz)
        err[0] = '\0';
    if (!ctx || !out || (!data && size))
        return SUSHI_ERR_INVALID;
    loader L;
    memset(&L, 0, sizeof L);
    L.r.p = data;
    L.r.n = size;
    L.r.err = err;
    L.r.errsz = errsz;
    L.ctx = ctx;
    L.borrow = borrow;
    L.flags = flags;
    int rc = sushi_supernet_alloc(ctx, &L.sn);
    if (rc) {
        sushi_errf(err, errsz, "out of memory");
        return rc;
    }
    rc = read_all(&L);
    if (rc) {
        if (err && errsz && !err[0])
            sushi_errf(err, errsz, "%s", sushi_status_str(rc));
        sushi_supernet_destroy(L.sn);
        return rc;
    }
    *out = L.sn;
    if (uses_buffer)
        *uses_buffer = L.uses_buffer;
    return SUSHI_OK;
}

int sushi_format_read(sushi_context *ctx, const uint8_t *data, size_t size, bool borrow, uint32_t flags,
                      sushi_supernet **out, char *err, size_t errsz)
{
    return sushi_format_read_ex(ctx, data, size, borrow, flags, out, NULL, err, errsz);
}
