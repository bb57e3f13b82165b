/* Topology CSV files (`sushi cost --topology`) and the SCALE-Sim-like
 * per-layer CSV writer of the cycle model. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atomic_file.h"
#include "internal.h"
#include "sushi/cycle.h"

/* ------------------------------------------------------------------ */
/* reader                                                              */
/* ------------------------------------------------------------------ */

enum {
    COL_K, COL_C, COL_R, COL_S, COL_X, COL_Y, COL_PAD_X, COL_PAD_Y, COL_STRIDE_X, COL_STRIDE_Y,
    COL_REQUIRED, /* columns before this one are required */
    COL_NAME = COL_REQUIRED, COL_OP, COL_GROUPS,
    COL_COUNT
};

static const char *const col_names[COL_COUNT] = {
    "K", "C", "R", "S", "X", "Y", "pad_x", "pad_y", "stride_x", "stride_y", "name", "op", "groups",
};

#define MAX_FIELDS 256
#define MAX_FIELD 256
#define MAX_DIM 1000000u

typedef struct csv_line {
    size_t n;
    char f[MAX_FIELDS][MAX_FIELD];
} csv_line;

static const char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Split one line [p, end) into fields. Returns 0 or a message. */
static const char *split(const char *p, const char *end, csv_line *out)
{
    out->n = 0;
    for (;;) {
        if (out->n == MAX_FIELDS)
            return "too many fields (at most 256)";
        char *dst = out->f[out->n];
        size_t len = 0;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end)
                    return "unterminated quoted field";
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        p++;
                    } else {
                        p++;
                        break;
                    }
                }
                if (len + 1 >= MAX_FIELD)
                    return "field longer than 255 characters";
                dst[len++] = *p++;
            }
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p < end && *p != ',')
                return "characters after a closing quote";
        } else {
            while (p < end && *p != ',') {
                if (len + 1 >= MAX_FIELD)
                    return "field longer than 255 characters";
                dst[len++] = *p++;
            }
        }
        dst[len] = '\0';
        const char *t = trim(dst);
        memmove(dst, t, strlen(t) + 1);
        out->n++;
        if (p >= end)
            return NULL;
        p++; /* comma */
    }
}

static bool blank_or_comment(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p == end || *p == '#';
}

static int parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *v)
{
    if (!*s)
        return -1;
    errno = 0;
    char *e;
    unsigned long long x = strtoull(s, &e, 10);
    if (*s == '-' || *s == '+' || errno || *e || x < lo || x > hi)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

int sushi_cycle_topology_parse(const char *text, size_t len, sushi_cycle_topology_fn fn, void *user, char *err,
                               size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!text || !fn)
        return SUSHI_ERR_INVALID;
    csv_line *ln = malloc(sizeof *ln);
    if (!ln)
        return SUSHI_ERR_NOMEM;
    int col[COL_COUNT];
    for (int i = 0; i < COL_COUNT; i++)
        col[i] = -1;
    size_t n_header = 0, row = 0;
    bool have_header = false;
    unsigned line = 0;
    int rc = SUSHI_OK;
    const char *p = text, *end = text + len;
    while (p < end && rc == SUSHI_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        line++;
        if (le > p && le[-1] == '\r')
            le--;
        const char *next = eol ? eol + 1 : end;
        if (line == 1 && le - p >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3; /* UTF-8 BOM */
        if (blank_or_comment(p, le)) {
            p = next;
            continue;
        }
        const char *msg = split(p, le, ln);
        if (msg) {
            sushi_errf(err, errsz, "line %u: %s", line, msg);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        if (!have_header) {
            have_header = true;
            n_header = ln->n;
            for (size_t f = 0; f < ln->n; f++) {
                const char *h = ln->f[f];
                int c = -1;
                for (int k = 0; k < COL_COUNT; k++)
                    if (strcasecmp(h, col_names[k]) == 0)
                        c = k;
                if (c < 0 && (strcasecmp(h, "layer") == 0 || strcasecmp(h, "layer name") == 0 ||
                              strcasecmp(h, "layer_name") == 0))
                    c = COL_NAME;
                if (c < 0)
                    continue; /* extra columns are ignored */
                if (col[c] >= 0) {
                    sushi_errf(err, errsz, "line %u: column '%s' appears twice", line, col_names[c]);
                    rc = SUSHI_ERR_FORMAT;
                    break;
                }
                col[c] = (int)f;
            }
            for (int c = 0; c < COL_REQUIRED && rc == SUSHI_OK; c++)
                if (col[c] < 0) {
                    sushi_errf(err, errsz,
                               "line %u: header lacks column '%s' (required: K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y)",
                               line, col_names[c]);
                    rc = SUSHI_ERR_FORMAT;
                }
            p = next;
            continue;
        }
        /* a data row: fields past the header must be empty */
        for (size_t f = n_header; f < ln->n && rc == SUSHI_OK; f++)
            if (ln->f[f][0]) {
                sushi_errf(err, errsz, "line %u: %zu fields, the header has %zu", line, ln->n, n_header);
                rc = SUSHI_ERR_FORMAT;
            }
        if (rc)
            break;
        uint32_t v[COL_REQUIRED];
        for (int c = 0; c < COL_REQUIRED; c++) {
            const char *s = (size_t)col[c] < ln->n ? ln->f[col[c]] : "";
            uint32_t lo = (c >= COL_PAD_X && c <= COL_PAD_Y) ? 0 : 1;
            if (parse_uint(s, lo, MAX_DIM, &v[c])) {
                sushi_errf(err, errsz, "line %u: column '%s': expected an integer in [%u, %u], got '%s'", line,
                           col_names[c], lo, MAX_DIM, s);
                rc = SUSHI_ERR_FORMAT;
                break;
            }
        }
        if (rc)
            break;
        sushi_conv_shape sh = { .op = SUSHI_OP_CONV, .k = v[COL_K], .c = v[COL_C], .r = v[COL_R], .s = v[COL_S],
                                .x = v[COL_X], .y = v[COL_Y], .pad_x = v[COL_PAD_X], .pad_y = v[COL_PAD_Y],
                                .stride_x = v[COL_STRIDE_X], .stride_y = v[COL_STRIDE_Y] };
        const char *op = col[COL_OP] >= 0 && (size_t)col[COL_OP] < ln->n ? ln->f[col[COL_OP]] : "";
        if (!*op || strcasecmp(op, "conv") == 0) {
            sh.op = SUSHI_OP_CONV;
        } else if (strcasecmp(op, "dwconv") == 0 || strcasecmp(op, "depthwise") == 0) {
            sh.op = SUSHI_OP_DWCONV;
        } else if (strcasecmp(op, "linear") == 0 || strcasecmp(op, "fc") == 0) {
            sh.op = SUSHI_OP_LINEAR;
        } else {
            sushi_errf(err, errsz, "line %u: column 'op': expected conv, dwconv or linear, got '%s'", line, op);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        const char *gs = col[COL_GROUPS] >= 0 && (size_t)col[COL_GROUPS] < ln->n ? ln->f[col[COL_GROUPS]] : "";
        if (*gs) {
            uint32_t groups;
            if (parse_uint(gs, 1, MAX_DIM, &groups) || (groups != 1 && groups != sh.c)) {
                sushi_errf(err, errsz, "line %u: column 'groups': expected 1 or C (%u), got '%s'", line, sh.c, gs);
                rc = SUSHI_ERR_FORMAT;
                break;
            }
            if (groups > 1)
                sh.op = SUSHI_OP_DWCONV;
        }
        if (sh.op == SUSHI_OP_DWCONV && sh.k != sh.c) {
            sushi_errf(err, errsz, "line %u: depthwise layer needs K == C, got K=%u C=%u", line, sh.k, sh.c);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        if ((uint64_t)sh.x + 2ull * sh.pad_x < sh.r || (uint64_t)sh.y + 2ull * sh.pad_y < sh.s) {
            sushi_errf(err, errsz, "line %u: kernel %ux%u larger than the padded input %ux%u", line, sh.r, sh.s,
                       sh.x + 2 * sh.pad_x, sh.y + 2 * sh.pad_y);
            rc = SUSHI_ERR_FORMAT;
            break;
        }
        const char *name = col[COL_NAME] >= 0 && (size_t)col[COL_NAME] < ln->n && ln->f[col[COL_NAME]][0]
                               ? ln->f[col[COL_NAME]]
                               : NULL;
        rc = fn(user, row++, line, name, &sh);
        p = next;
    }
    if (rc == SUSHI_OK && !have_header) {
        sushi_errf(err, errsz, "line %u: no header line (expected K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y)",
                   line ? line : 1);
        rc = SUSHI_ERR_FORMAT;
    }
    free(ln);
    return rc;
}

int sushi_cycle_topology_read(const char *path, sushi_cycle_topology_fn fn, void *user, char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!path || !fn)
        return SUSHI_ERR_INVALID;
    int oe;
    FILE *f = sushi_fopen_regular(path, &oe); /* a FIFO is refused, not waited on */
    if (!f) {
        sushi_errf(err, errsz, "%s: %s", path, sushi_open_strerror(oe));
        return SUSHI_ERR_IO;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? SUSHI_OK : SUSHI_ERR_NOMEM;
    while (rc == SUSHI_OK) {
        if (n == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                rc = SUSHI_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                sushi_errf(err, errsz, "%s: read error", path);
                rc = SUSHI_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == SUSHI_OK) {
        char inner[200];
        rc = sushi_cycle_topology_parse(buf, n, fn, user, inner, sizeof inner);
        if (rc == SUSHI_ERR_FORMAT)
            sushi_errf(err, errsz, "%s: %s", path, inner);
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* writer                                                              */
/* ------------------------------------------------------------------ */

static const char *op_name(uint32_t op)
{
    static const char *const names[] = { "conv", "dwconv", "linear", "maxpool", "avgpool", "gap", "add", "se" };
    return op < sizeof names / sizeof names[0] ? names[op] : "?";
}

static const char *where_name(uint32_t w)
{
    static const char *const names[] = { "engine", "host", "fused", "mixed" };
    return w < sizeof names / sizeof names[0] ? names[w] : "?";
}

int sushi_cycle_csv_header(char *buf, size_t size)
{
    return snprintf(buf, size,
                    "layer,name,op,where,K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y,out_x,out_y,calls,passes,"
                    "pixel_steps,weight_chunks,macs,utilisation,cycles,cycles_compute,cycles_stream,cycles_weights,latency_us,"
                    "weight_bytes,hit_bytes,weight_offchip_bytes,act_in_bytes,act_out_bytes,param_bytes,"
                    "offchip_bytes,onchip_bytes,energy_offchip_uj,energy_onchip_uj,energy_compute_uj,energy_uj\n");
}

int sushi_cycle_csv_row(char *buf, size_t size, size_t index, const char *name, const sushi_conv_shape *sh,
                        const sushi_layer_cost *c)
{
    if (!sh || !c || (!buf && size))
        return SUSHI_ERR_INVALID;
    char qname[2 * 128 + 3];
    size_t q = 0;
    if (name) {
        bool quote = strpbrk(name, ",\"\n\r") != NULL;
        if (quote)
            qname[q++] = '"';
        for (const char *p = name; *p && q < sizeof qname - 3; p++) {
            if (*p == '"')
                qname[q++] = '"';
            qname[q++] = *p;
        }
        if (quote)
            qname[q++] = '"';
    }
    qname[q] = '\0';
    return snprintf(buf, size,
                    "%zu,%s,%s,%s,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%" PRIu64 ",%.4f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.4f,%.4f,%.4f,%.4f\n",
                    index, qname, op_name(sh->op), where_name(c->where), sh->k, sh->c, sh->r, sh->s, sh->x, sh->y,
                    sh->pad_x, sh->pad_y, sh->stride_x, sh->stride_y, c->out_x, c->out_y, c->calls, c->passes,
                    c->pixel_steps, c->weight_chunks, c->macs, c->utilisation, c->cycles, c->cycles_compute, c->cycles_stream,
                    c->cycles_weights, c->latency_s * 1e6, c->weight_bytes, c->hit_bytes, c->weight_offchip_bytes,
                    c->act_in_bytes, c->act_out_bytes, c->param_bytes, c->offchip_bytes, c->onchip_bytes,
                    c->energy_offchip_j * 1e6, c->energy_onchip_j * 1e6, c->energy_compute_j * 1e6,
                    c->energy_j * 1e6);
}

int sushi_cycle_subnet_csv(const sushi_cycle_model *m, const sushi_subnet *s, const sushi_subgraph *g,
                           sushi_cycle_write_fn write, void *user)
{
    if (!m || !s || !write)
        return SUSHI_ERR_INVALID;
    const sushi_context *ctx = s->sn->ctx;
    sushi_layer_cost *lc = sushi_calloc(ctx, s->n_layers + 1, sizeof *lc);
    if (!lc)
        return SUSHI_ERR_NOMEM;
    int rc = sushi_cycle_cost_subnet(m, s, g, lc, NULL);
    char line[1024];
    if (!rc) {
        int n = sushi_cycle_csv_header(line, sizeof line);
        rc = write(user, line, (size_t)n);
    }
    for (uint32_t i = 0; i < s->n_layers && !rc; i++) {
        sushi_conv_shape sh;
        sushi_cycle_layer_shape(s, i, &sh);
        sh.hit_bytes = lc[i].hit_bytes;
        int n = sushi_cycle_csv_row(line, sizeof line, i, s->layers[i].name, &sh, &lc[i]);
        if (n < 0)
            rc = n;
        else
            rc = write(user, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    sushi_free(ctx, lc);
    return rc;
}
