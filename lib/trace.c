/* sushi_trace: query streams — generator with tunable temporal locality,
 * CSV reader/writer (format: docs/scheduler.md, "Trace CSV"). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic_file.h"
#include "internal.h"
#include "sushi/trace.h"

struct sushi_trace {
    sushi_context *ctx; /* retained; NULL = C library allocator */
    size_t n;
    sushi_trace_entry *e;
};

static void *t_alloc(sushi_context *ctx, size_t count, size_t size)
{
    if (count == 0)
        count = 1;
    return ctx ? sushi_calloc(ctx, count, size) : calloc(count, size);
}

static void *t_realloc(sushi_context *ctx, void *p, size_t n)
{
    return ctx ? sushi_realloc(ctx, p, n) : realloc(p, n ? n : 1);
}

static void t_free(sushi_context *ctx, void *p)
{
    if (ctx)
        sushi_free(ctx, p);
    else
        free(p);
}

static int trace_new(sushi_context *ctx, sushi_trace **out)
{
    sushi_trace *t = t_alloc(ctx, 1, sizeof *t);
    if (!t)
        return SUSHI_ERR_NOMEM;
    t->ctx = ctx;
    if (ctx)
        sushi_context_retain(ctx);
    *out = t;
    return SUSHI_OK;
}

void sushi_trace_destroy(sushi_trace *t)
{
    if (!t)
        return;
    sushi_context *ctx = t->ctx;
    t_free(ctx, t->e);
    t_free(ctx, t);
    sushi_context_destroy(ctx);
}

size_t sushi_trace_length(const sushi_trace *t) { return t ? t->n : 0; }

int sushi_trace_get(const sushi_trace *t, size_t i, sushi_trace_entry *out)
{
    if (!t || !out)
        return SUSHI_ERR_INVALID;
    if (out->size < sizeof *out)
        return SUSHI_ERR_ABI;
    if (i >= t->n)
        return SUSHI_ERR_RANGE;
    *out = t->e[i];
    return SUSHI_OK;
}

/* One entry's values (prev_t: the previous entry's time, or -1). */
static int check_entry(double ts, double acc, double slo, double prev_t, char *err, size_t errsz,
                       const char *where)
{
    if (!isfinite(ts) || !isfinite(acc) || !isfinite(slo)) {
        sushi_errf(err, errsz, "%s: values must be finite numbers (no NaN or infinity)", where);
        return SUSHI_ERR_INVALID;
    }
    if (ts < 0.0 || acc < 0.0 || slo < 0.0) {
        sushi_errf(err, errsz, "%s: negative value (t_s %g, min_accuracy %g, slo_s %g)", where, ts, acc, slo);
        return SUSHI_ERR_INVALID;
    }
    if (acc > 1.0) {
        sushi_errf(err, errsz, "%s: min_accuracy %g is above 1 (accuracies are fractions in [0, 1])",
                   where, acc);
        return SUSHI_ERR_INVALID;
    }
    if (ts < prev_t) {
        sushi_errf(err, errsz, "%s: t_s %.17g is earlier than the previous query's %.17g (traces must be "
                   "sorted by arrival time; equal times are allowed)", where, ts, prev_t);
        return SUSHI_ERR_INVALID;
    }
    return SUSHI_OK;
}

int sushi_trace_create(sushi_context *ctx, const sushi_trace_entry *entries, size_t n, sushi_trace **out,
                       char *errbuf, size_t errbuf_size)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!entries && n)
        return SUSHI_ERR_INVALID;
    double prev = -1.0;
    for (size_t i = 0; i < n; i++) {
        if (entries[i].size < sizeof *entries)
            return SUSHI_ERR_ABI;
        char where[48];
        snprintf(where, sizeof where, "entry %zu", i);
        int rc = check_entry(entries[i].t_s, entries[i].min_accuracy, entries[i].slo_s, prev, errbuf,
                             errbuf_size, where);
        if (rc)
            return rc;
        if (entries[i].label < -1) {
            sushi_errf(errbuf, errbuf_size, "entry %zu: label %lld (must be >= 0, or -1 for none)", i,
                       (long long)entries[i].label);
            return SUSHI_ERR_INVALID;
        }
        prev = entries[i].t_s;
    }
    sushi_trace *t;
    int rc = trace_new(ctx, &t);
    if (rc)
        return rc;
    t->e = t_alloc(ctx, n, sizeof *t->e);
    if (!t->e) {
        sushi_trace_destroy(t);
        return SUSHI_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        t->e[i] = entries[i];
        t->e[i].size = sizeof *t->e;
    }
    t->n = n;
    *out = t;
    return SUSHI_OK;
}

/* ---------------------------------------------------------------- generator */

/* splitmix64: a fixed, portable stream (same seed -> same trace everywhere) */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) with 53 random bits */
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * 0x1.0p-53; }

static double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

int sushi_trace_generate(sushi_context *ctx, const sushi_trace_gen_options *o, sushi_trace **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!o)
        return SUSHI_ERR_INVALID;
    if (o->size < sizeof *o)
        return SUSHI_ERR_ABI;
    bool ok = o->n_queries >= 1 && o->n_queries <= 100000000u && o->n_regimes >= 1 &&
              o->n_regimes <= 1000000u && o->dwell >= 1.0 && isfinite(o->dwell) && o->mix >= 0.0 &&
              o->mix <= 1.0 && o->both >= 0.0 && o->both <= 1.0 && o->jitter >= 0.0 && o->jitter <= 1.0 &&
              o->rate_hz > 0.0 && isfinite(o->rate_hz) && o->acc_lo >= 0.0 && o->acc_lo <= o->acc_hi &&
              o->acc_hi <= 1.0 && o->slo_lo_s > 0.0 && o->slo_lo_s <= o->slo_hi_s && isfinite(o->slo_hi_s);
    if (!ok)
        return SUSHI_ERR_INVALID;
    sushi_trace *t;
    int rc = trace_new(ctx, &t);
    if (rc)
        return rc;
    double *level = t_alloc(ctx, o->n_regimes, sizeof *level);
    t->e = t_alloc(ctx, o->n_queries, sizeof *t->e);
    if (!level || !t->e) {
        t_free(ctx, level);
        sushi_trace_destroy(t);
        return SUSHI_ERR_NOMEM;
    }
    uint64_t s = o->seed ^ 0x7472616365ull; /* "trace" */
    const uint32_t K = o->n_regimes;
    /* stratified levels, then a Fisher-Yates shuffle of their order */
    for (uint32_t r = 0; r < K; r++)
        level[r] = (r + rng_unit(&s)) / K;
    for (uint32_t r = K; r > 1; r--) {
        uint32_t j = (uint32_t)(rng_next(&s) % r);
        double tmp = level[r - 1];
        level[r - 1] = level[j];
        level[j] = tmp;
    }
    const double acc_span = o->acc_hi - o->acc_lo, slo_span = o->slo_hi_s - o->slo_lo_s;
    const double p_leave = 1.0 / o->dwell;
    uint32_t reg = (uint32_t)(rng_next(&s) % K);
    double now = 0.0;
    for (uint32_t i = 0; i < o->n_queries; i++) {
        if (i > 0) {
            now += -log1p(-rng_unit(&s)) / o->rate_hz; /* exponential gap */
            if (K > 1 && rng_unit(&s) < p_leave) {
                uint32_t nr = (uint32_t)(rng_next(&s) % (K - 1));
                reg = nr >= reg ? nr + 1 : nr;
            }
        }
        double u = level[reg];
        double acc = clampd(o->acc_lo + u * acc_span + o->jitter * acc_span * (2.0 * rng_unit(&s) - 1.0),
                            o->acc_lo, o->acc_hi);
        double slo = clampd(o->slo_lo_s + u * slo_span + o->jitter * slo_span * (2.0 * rng_unit(&s) - 1.0),
                            o->slo_lo_s, o->slo_hi_s);
        double kind = rng_unit(&s);
        sushi_trace_entry *e = &t->e[i];
        e->size = sizeof *e;
        e->t_s = now;
        e->label = reg;
        if (kind < o->both) {
            e->min_accuracy = acc;
            e->slo_s = slo;
        } else if (rng_unit(&s) < o->mix) {
            e->min_accuracy = 0.0;
            e->slo_s = slo;
        } else {
            e->min_accuracy = acc;
            e->slo_s = 0.0;
        }
    }
    t->n = o->n_queries;
    t_free(ctx, level);
    *out = t;
    return SUSHI_OK;
}

/* ---------------------------------------------------------------------- CSV */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Split s at commas in place; returns the number of fields (max cap). */
static int split(char *s, char **f, int cap)
{
    int n = 0;
    for (;;) {
        char *c = strchr(s, ',');
        if (c)
            *c = '\0';
        if (n < cap)
            f[n] = trim(s);
        n++;
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

/* A number of the CSV. strtod reports ERANGE for overflow (refused: the value
 * would be infinite) and for underflow; an underflow whose result is a
 * non-zero subnormal is the correctly rounded value and is accepted, so that
 * every finite double the writer prints reads back exactly (issue 15 item 5).
 * A non-zero literal that rounds to zero (1e-400) is refused. */
static bool parse_num(const char *s, double *v)
{
    if (!*s)
        return false;
    errno = 0;
    char *end;
    *v = strtod(s, &end);
    if (*end != '\0')
        return false;
    if (errno == ERANGE)
        return fpclassify(*v) == FP_SUBNORMAL;
    return true;
}

/* One line of at most SUSHI_TRACE_LINE_MAX bytes (without its '\n') into buf
 * (size SUSHI_TRACE_LINE_MAX + 1), NUL-terminated; *len its length (NUL bytes
 * included, so that the caller can refuse them). Returns 1 for a line, 0 at
 * end of file, -1 for a line that is too long, -2 for a read error. *total
 * counts the bytes read so far. */
static int read_line(FILE *fp, char *buf, size_t *len, uint64_t *total)
{
    size_t n = 0;
    int c;
    bool any = false;
    while ((c = getc(fp)) != EOF) {
        any = true;
        (*total)++;
        if (c == '\n')
            break;
        if (n == SUSHI_TRACE_LINE_MAX)
            return -1;
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    *len = n;
    if (ferror(fp))
        return -2;
    return any ? 1 : 0;
}

static bool parse_label(const char *s, int64_t *v)
{
    if (!*s) {
        *v = -1;
        return true;
    }
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || x < 0)
        return false;
    *v = x;
    return true;
}

int sushi_trace_load_csv(sushi_context *ctx, const char *path, sushi_trace **out, char *err, size_t errsz)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    if (!path)
        return SUSHI_ERR_INVALID;
    /* a FIFO must not block the open; anything but a regular file is refused
     * before a byte is read (issue 15 item 4) */
    int fd;
    unsigned long long size;
    int oe = sushi_open_regular(path, &fd, &size);
    if (oe) {
        sushi_errf(err, errsz, "%s: %s%s", path, oe == SUSHI_OPEN_NOT_REGULAR ? "" : "cannot open: ",
                   sushi_open_strerror(oe));
        return SUSHI_ERR_IO;
    }
    if (size > SUSHI_TRACE_FILE_MAX) {
        sushi_errf(err, errsz, "%s: %llu bytes, more than the limit of a trace file (%u MiB)", path, size,
                   (unsigned)(SUSHI_TRACE_FILE_MAX >> 20));
        close(fd);
        return SUSHI_ERR_FORMAT;
    }
    FILE *fp = fdopen(fd, "r");
    if (!fp) {
        sushi_errf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        return SUSHI_ERR_IO;
    }
    sushi_trace *t;
    int rc = trace_new(ctx, &t);
    if (rc) {
        fclose(fp);
        return rc;
    }
    size_t cap = 0;
    char *line = t_alloc(ctx, 1, SUSHI_TRACE_LINE_MAX + 1);
    if (!line) {
        fclose(fp);
        sushi_trace_destroy(t);
        return SUSHI_ERR_NOMEM;
    }
    size_t len;
    uint64_t total = 0;
    unsigned long lineno = 0;
    int ncols = 0;
    double prev = -1.0;
    int got;
    while ((got = read_line(fp, line, &len, &total)) != 0) {
        lineno++;
        if (got == -2)
            break; /* ferror: reported below */
        if (got == -1) {
            sushi_errf(err, errsz, "%s:%lu: line longer than %u bytes (the limit of a trace line)", path, lineno,
                       (unsigned)SUSHI_TRACE_LINE_MAX);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        if (total > SUSHI_TRACE_FILE_MAX) {
            /* the file grew after fstat, or reports no size (/proc) */
            sushi_errf(err, errsz, "%s:%lu: more than the limit of a trace file (%u MiB)", path, lineno,
                       (unsigned)(SUSHI_TRACE_FILE_MAX >> 20));
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        if (len != strlen(line)) {
            sushi_errf(err, errsz, "%s:%lu: NUL byte in line", path, lineno);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *f[5];
        int nf = split(s, f, 5);
        if (ncols == 0) {
            bool hdr = (nf == 3 || nf == 4) && strcmp(f[0], "t_s") == 0 && strcmp(f[1], "min_accuracy") == 0 &&
                       strcmp(f[2], "slo_s") == 0 && (nf == 3 || strcmp(f[3], "label") == 0);
            if (!hdr) {
                sushi_errf(err, errsz, "%s:%lu: expected the header 't_s,min_accuracy,slo_s' "
                           "(optionally ',label')", path, lineno);
                rc = SUSHI_ERR_FORMAT;
                break;
            }
            ncols = nf;
            continue;
        }
        if (nf != ncols) {
            sushi_errf(err, errsz, "%s:%lu: %d fields, the header has %d", path, lineno, nf, ncols);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        double v[3];
        static const char *const names[3] = { "t_s", "min_accuracy", "slo_s" };
        int bad = -1;
        for (int k = 0; k < 3 && bad < 0; k++)
            if (!parse_num(f[k], &v[k]))
                bad = k;
        if (bad >= 0) {
            sushi_errf(err, errsz, "%s:%lu: %s: '%s' is not a number", path, lineno, names[bad], f[bad]);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        int64_t label = -1;
        if (ncols == 4 && !parse_label(f[3], &label)) {
            sushi_errf(err, errsz, "%s:%lu: label: '%s' is not a non-negative integer", path, lineno, f[3]);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        char where[64 + 256];
        snprintf(where, sizeof where, "%s:%lu", path, lineno);
        rc = check_entry(v[0], v[1], v[2], prev, err, errsz, where);
        if (rc)
            break;
        prev = v[0];
        if (t->n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            sushi_trace_entry *e = t_realloc(ctx, t->e, ncap * sizeof *e);
            if (!e) {
                rc = SUSHI_ERR_NOMEM;
                break;
            }
            t->e = e;
            cap = ncap;
        }
        t->e[t->n++] = (sushi_trace_entry){ sizeof(sushi_trace_entry), v[0], v[1], v[2], label };
    }
    if (!rc && ferror(fp)) {
        sushi_errf(err, errsz, "%s: read error", path);
        rc = SUSHI_ERR_IO;
    }
    if (!rc && ncols == 0) {
        sushi_errf(err, errsz, "%s: empty file (no 't_s,min_accuracy,slo_s' header)", path);
        rc = SUSHI_ERR_FORMAT;
    }
    t_free(ctx, line);
    fclose(fp);
    if (rc) {
        sushi_trace_destroy(t);
        return rc;
    }
    *out = t;
    return SUSHI_OK;
}

/* Shortest of %.15g / %.17g that reads back exactly. */
static void fmt_exact(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, n, "%.17g", v);
}

int sushi_trace_save_csv(const sushi_trace *t, const char *path)
{
    if (!t || !path)
        return SUSHI_ERR_INVALID;
    bool labels = false;
    for (size_t i = 0; i < t->n && !labels; i++)
        labels = t->e[i].label >= 0;
    /* temporary + fsync + rename: a failed save leaves the old file intact */
    sushi_atomic_file af;
    int e = sushi_atomic_open(&af, path);
    if (e) {
        errno = e; /* documented: the cause of SUSHI_ERR_IO */
        return SUSHI_ERR_IO;
    }
    FILE *fp = sushi_atomic_stream(&af);
    if (!fp) {
        e = errno;
        sushi_atomic_abort(&af);
        errno = e;
        return SUSHI_ERR_IO;
    }
    fprintf(fp, labels ? "t_s,min_accuracy,slo_s,label\n" : "t_s,min_accuracy,slo_s\n");
    for (size_t i = 0; i < t->n; i++) {
        char a[32], b[32], c[32];
        fmt_exact(a, sizeof a, t->e[i].t_s);
        fmt_exact(b, sizeof b, t->e[i].min_accuracy);
        fmt_exact(c, sizeof c, t->e[i].slo_s);
        if (labels) {
            if (t->e[i].label >= 0)
                fprintf(fp, "%s,%s,%s,%lld\n", a, b, c, (long long)t->e[i].label);
            else
                fprintf(fp, "%s,%s,%s,\n", a, b, c);
        } else {
            fprintf(fp, "%s,%s,%s\n", a, b, c);
        }
    }
    if ((e = sushi_atomic_commit(&af)) != 0) {
        errno = e;
        return SUSHI_ERR_IO;
    }
    return SUSHI_OK;
}
