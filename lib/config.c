/* SubNet configs: OFA arch-dict JSON in and out, min/max shorthands, validation. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void config_blank(const sushi_supernet *sn, sushi_config *c)
{
    memset(c, 0, sizeof *c);
    c->size = sizeof *c;
    c->n_ks = sn->n_ks_slots;
    c->n_e = sn->n_e_slots;
    c->n_d = sn->n_dgroups;
    c->n_w = sn->n_wgroups;
    c->resolution = sn->default_resolution;
}

bool sushi_resolution_allowed(const sushi_supernet *sn, uint32_t r)
{
    for (uint32_t i = 0; i < sn->n_res; i++)
        if (sn->res[i] == r)
            return true;
    return false;
}

int sushi_config_extreme(const sushi_supernet *sn, bool max, uint32_t resolution, sushi_config *c)
{
    if (!sn || !c)
        return SUSHI_ERR_INVALID;
    if (resolution && !sushi_resolution_allowed(sn, resolution))
        return SUSHI_ERR_CONFIG;
    config_blank(sn, c);
    if (resolution)
        c->resolution = resolution;
    for (uint32_t i = 0; i < c->n_ks; i++)
        c->ks[i] = max ? sn->ks_choices[sn->n_ks_choices - 1] : sn->ks_choices[0];
    for (uint32_t i = 0; i < c->n_e; i++)
        c->e[i] = max ? sn->e_choices[sn->n_e_choices - 1] : sn->e_choices[0];
    for (uint32_t i = 0; i < c->n_d; i++)
        c->d[i] = max ? sn->dgroups[i].choices[sn->dgroups[i].n_choices - 1] : sn->dgroups[i].choices[0];
    for (uint32_t i = 0; i < c->n_w; i++)
        c->w[i] = max ? (uint8_t)(sn->wgroups[i].n_choices - 1) : 0;
    return SUSHI_OK;
}

static int list_choices(char *buf, size_t n, const double *v, uint32_t k)
{
    size_t off = 0;
    for (uint32_t i = 0; i < k && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%g", i ? ", " : "", v[i]);
    return 0;
}

int sushi_config_validate(const sushi_supernet *sn, const sushi_config *c, char *err, size_t errsz)
{
    if (!sn || !c)
        return SUSHI_ERR_INVALID;
    if (c->size < sizeof *c) {
        sushi_errf(err, errsz, "config: struct size %zu too small", c->size);
        return SUSHI_ERR_ABI;
    }
    if (c->n_ks != sn->n_ks_slots || c->n_e != sn->n_e_slots || c->n_d != sn->n_dgroups ||
        c->n_w != sn->n_wgroups) {
        sushi_errf(err, errsz, "config: expects ks[%u] e[%u] d[%u] w[%u], got ks[%u] e[%u] d[%u] w[%u]",
                   sn->n_ks_slots, sn->n_e_slots, sn->n_dgroups, sn->n_wgroups, c->n_ks, c->n_e, c->n_d,
                   c->n_w);
        return SUSHI_ERR_CONFIG;
    }
    if (!sushi_resolution_allowed(sn, c->resolution)) {
        sushi_errf(err, errsz, "r: %u is not an allowed resolution (%u..%u)", c->resolution, sn->res[0],
                   sn->res[sn->n_res - 1]);
        return SUSHI_ERR_CONFIG;
    }
    char lst[96];
    double v[SUSHI_MAX_CHOICES];
    for (uint32_t i = 0; i < c->n_ks; i++) {
        bool ok = false;
        for (uint32_t j = 0; j < sn->n_ks_choices; j++)
            ok |= c->ks[i] == sn->ks_choices[j], v[j] = sn->ks_choices[j];
        if (!ok) {
            list_choices(lst, sizeof lst, v, sn->n_ks_choices);
            sushi_errf(err, errsz, "ks[%u]: %u is not a choice (%s)", i, c->ks[i], lst);
            return SUSHI_ERR_CONFIG;
        }
    }
    for (uint32_t i = 0; i < c->n_e; i++) {
        bool ok = false;
        for (uint32_t j = 0; j < sn->n_e_choices; j++)
            ok |= fabsf(c->e[i] - sn->e_choices[j]) < 1e-6f, v[j] = sn->e_choices[j];
        if (!ok) {
            list_choices(lst, sizeof lst, v, sn->n_e_choices);
            sushi_errf(err, errsz, "e[%u]: %g is not a choice (%s)", i, (double)c->e[i], lst);
            return SUSHI_ERR_CONFIG;
        }
    }
    for (uint32_t i = 0; i < c->n_d; i++) {
        bool ok = false;
        const sushi_dgroup *g = &sn->dgroups[i];
        for (uint32_t j = 0; j < g->n_choices; j++)
            ok |= c->d[i] == g->choices[j], v[j] = g->choices[j];
        if (!ok) {
            list_choices(lst, sizeof lst, v, g->n_choices);
            sushi_errf(err, errsz, "d[%u]: %u is not a choice (%s)", i, c->d[i], lst);
            return SUSHI_ERR_CONFIG;
        }
    }
    for (uint32_t i = 0; i < c->n_w; i++) {
        if (c->w[i] >= sn->wgroups[i].n_choices) {
            sushi_errf(err, errsz, "w[%u]: %u is not a width index (0..%u)", i, c->w[i],
                       sn->wgroups[i].n_choices - 1);
            return SUSHI_ERR_CONFIG;
        }
    }
    return SUSHI_OK;
}

bool sushi_config_equal(const sushi_config *a, const sushi_config *b)
{
    if (!a || !b)
        return false;
    if (a->resolution != b->resolution || a->n_ks != b->n_ks || a->n_e != b->n_e || a->n_d != b->n_d ||
        a->n_w != b->n_w)
        return false;
    if (a->n_ks > SUSHI_CONFIG_MAX_SLOTS || a->n_e > SUSHI_CONFIG_MAX_SLOTS ||
        a->n_d > SUSHI_CONFIG_MAX_GROUPS || a->n_w > SUSHI_CONFIG_MAX_GROUPS)
        return false;
    if (memcmp(a->ks, b->ks, a->n_ks) || memcmp(a->d, b->d, a->n_d) || memcmp(a->w, b->w, a->n_w))
        return false;
    for (uint32_t i = 0; i < a->n_e; i++)
        if (a->e[i] != b->e[i])
            return false;
    return true;
}

/* Append formatted text, tracking the full length like snprintf. */
typedef struct sb {
    char *buf;
    size_t cap, len;
} sb;

static void sb_printf(sb *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = s->len < s->cap ? s->cap - s->len : 0;
    int n = vsnprintf(room ? s->buf + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n;
}

int sushi_config_print(const sushi_config *c, char *buf, size_t n)
{
    if (!c || (!buf && n))
        return SUSHI_ERR_INVALID;
    if (c->size < sizeof *c)
        return SUSHI_ERR_ABI;
    if (c->n_ks > SUSHI_CONFIG_MAX_SLOTS || c->n_e > SUSHI_CONFIG_MAX_SLOTS ||
        c->n_d > SUSHI_CONFIG_MAX_GROUPS || c->n_w > SUSHI_CONFIG_MAX_GROUPS)
        return SUSHI_ERR_INVALID;
    if (buf && n)
        buf[0] = '\0';
    sb s = { buf, n, 0 };
    sb_printf(&s, "{");
    const char *sep = "";
    if (c->n_ks) {
        sb_printf(&s, "\"ks\":[");
        for (uint32_t i = 0; i < c->n_ks; i++)
            sb_printf(&s, "%s%u", i ? "," : "", c->ks[i]);
        sb_printf(&s, "]");
        sep = ",";
    }
    if (c->n_e) {
        sb_printf(&s, "%s\"e\":[", sep);
        for (uint32_t i = 0; i < c->n_e; i++)
        {
            /* shortest text that reads back as the same float */
            char t[32];
            for (int p = 6; p <= 9; p++) {
                snprintf(t, sizeof t, "%.*g", p, (double)c->e[i]);
                if (strtof(t, NULL) == c->e[i])
                    break;
            }
            sb_printf(&s, "%s%s", i ? "," : "", t);
        }
        sb_printf(&s, "]");
        sep = ",";
    }
    if (c->n_d) {
        sb_printf(&s, "%s\"d\":[", sep);
        for (uint32_t i = 0; i < c->n_d; i++)
            sb_printf(&s, "%s%u", i ? "," : "", c->d[i]);
        sb_printf(&s, "]");
        sep = ",";
    }
    if (c->n_w) {
        sb_printf(&s, "%s\"w\":[", sep);
        for (uint32_t i = 0; i < c->n_w; i++)
            sb_printf(&s, "%s%u", i ? "," : "", c->w[i]);
        sb_printf(&s, "]");
        sep = ",";
    }
    sb_printf(&s, "%s\"r\":%u}", sep, c->resolution);
    if (buf && n && s.len >= n)
        buf[n - 1] = '\0';
    if (s.len > (size_t)INT32_MAX)
        return SUSHI_ERR_OVERFLOW;
    return (int)s.len;
}

/* Read a JSON number that must be an integer in [lo, hi]. */
static bool json_uint(const cJSON *v, double lo, double hi, double *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi || floor(d) != d)
        return false;
    *out = d;
    return true;
}

/* Fill an array slot list from a JSON array or a single number (every slot). */
static int json_slots(const cJSON *root, const char *key, uint32_t n, bool integer, double *vals,
                      bool *present, char *err, size_t errsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    *present = v != NULL;
    if (!v)
        return SUSHI_OK;
    if (cJSON_IsNumber(v)) {
        for (uint32_t i = 0; i < n; i++)
            vals[i] = v->valuedouble;
    } else if (cJSON_IsArray(v)) {
        uint32_t k = (uint32_t)cJSON_GetArraySize(v);
        if (k != n) {
            sushi_errf(err, errsz, "%s: expected %u entries, got %u", key, n, k);
            return SUSHI_ERR_CONFIG;
        }
        uint32_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            if (!cJSON_IsNumber(it)) {
                sushi_errf(err, errsz, "%s[%u]: expected a number", key, i);
                return SUSHI_ERR_CONFIG;
            }
            vals[i++] = it->valuedouble;
        }
    } else {
        sushi_errf(err, errsz, "%s: expected a number or a list", key);
        return SUSHI_ERR_CONFIG;
    }
    for (uint32_t i = 0; i < n; i++) {
        bool ok = integer ? (isfinite(vals[i]) && floor(vals[i]) == vals[i] && vals[i] >= 0 && vals[i] <= 255)
                          : (isfinite(vals[i]) && vals[i] > 0 && vals[i] <= 64);
        if (!ok) {
            sushi_errf(err, errsz, "%s[%u]: %g is out of range", key, i, vals[i]);
            return SUSHI_ERR_CONFIG;
        }
    }
    return SUSHI_OK;
}

static int parse_json(const sushi_supernet *sn, const char *text, sushi_config *c, char *err, size_t errsz)
{
    const char *at = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &at, 1); /* 1: nothing but whitespace may follow */
    if (!root) {
        sushi_errf(err, errsz, "config: malformed JSON near byte %ld", at ? (long)(at - text) : 0L);
        return SUSHI_ERR_CONFIG;
    }
    int rc = SUSHI_OK;
    if (!cJSON_IsObject(root)) {
        sushi_errf(err, errsz, "config: expected a JSON object");
        rc = SUSHI_ERR_CONFIG;
        goto out;
    }
    /* cJSON keeps every member and GetObjectItem returns the first: a key
     * given twice would silently drop the second value, so refuse it. */
    static const char *const known[] = { "ks", "e", "d", "w", "r" };
    for (int k = 0; k < 5; k++) {
        int seen = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, root)
        {
            if (it->string && strcmp(it->string, known[k]) == 0 && ++seen > 1) {
                sushi_errf(err, errsz, "%s: key given twice", known[k]);
                rc = SUSHI_ERR_CONFIG;
                goto out;
            }
        }
    }
    sushi_config_extreme(sn, true, 0, c);
    double v[SUSHI_CONFIG_MAX_SLOTS];
    bool has;
    static const char *const keys[] = { "ks", "e", "d", "w" };
    uint32_t counts[4] = { c->n_ks, c->n_e, c->n_d, c->n_w };
    bool seen_any = false;
    for (int k = 0; k < 4; k++) {
        rc = json_slots(root, keys[k], counts[k], k != 1, v, &has, err, errsz);
        if (rc)
            goto out;
        /* "w": [] for a SuperNet without width groups is the empty list it
         * asks for (the file reader accepts it too, docs/format.md 7) */
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
        if (has && counts[k] == 0 && !(cJSON_IsArray(item) && cJSON_GetArraySize(item) == 0)) {
            sushi_errf(err, errsz, "%s: this SuperNet has no such elastic dimension", keys[k]);
            rc = SUSHI_ERR_CONFIG;
            goto out;
        }
        if (!has && counts[k]) {
            sushi_errf(err, errsz, "%s: missing", keys[k]);
            rc = SUSHI_ERR_CONFIG;
            goto out;
        }
        seen_any |= has;
        if (has) {
            /* one loop per array, each bounded by that array's own size */
            uint32_t m = counts[k];
            if (k == 0)
                for (uint32_t i = 0; i < m && i < SUSHI_CONFIG_MAX_SLOTS; i++)
                    c->ks[i] = (uint8_t)v[i];
            else if (k == 1)
                for (uint32_t i = 0; i < m && i < SUSHI_CONFIG_MAX_SLOTS; i++)
                    c->e[i] = (float)v[i];
            else if (k == 2)
                for (uint32_t i = 0; i < m && i < SUSHI_CONFIG_MAX_GROUPS; i++)
                    c->d[i] = (uint8_t)v[i];
            else
                for (uint32_t i = 0; i < m && i < SUSHI_CONFIG_MAX_GROUPS; i++)
                    c->w[i] = (uint8_t)v[i];
        }
    }
    (void)seen_any;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "r");
    if (r) {
        if (cJSON_IsArray(r) && cJSON_GetArraySize(r) == 1)
            r = cJSON_GetArrayItem(r, 0);
        double d;
        if (!json_uint(r, 1, 65535, &d)) {
            sushi_errf(err, errsz, "r: expected a positive integer or a one-element list");
            rc = SUSHI_ERR_CONFIG;
            goto out;
        }
        c->resolution = (uint32_t)d;
    }
out:
    cJSON_Delete(root);
    return rc;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

int sushi_config_parse(const sushi_supernet *sn, const char *text, uint32_t resolution, sushi_config *c,
                       char *err, size_t errsz)
{
    if (err && errsz)
        err[0] = '\0';
    if (!sn || !text || !c)
        return SUSHI_ERR_INVALID;
    sushi_config tmp;
    int rc;
    /* Leading and trailing white space (space, tab, CR, LF, VT, FF) is
     * ignored in every form (docs/cli.md, "Conventions"). */
    while (is_space(*text))
        text++;
    size_t len = strlen(text);
    while (len > 0 && is_space(text[len - 1]))
        len--;
    if (len >= 3 && (strncmp(text, "min", 3) == 0 || strncmp(text, "max", 3) == 0)) {
        bool max = text[1] == 'a';
        uint32_t r = 0;
        const char *rest = text + 3;
        const char *stop = text + len;
        if (rest < stop && *rest == '@') {
            char *end;
            unsigned long v = (rest + 1 < stop && rest[1] >= '0' && rest[1] <= '9') ? strtoul(rest + 1, &end, 10) : 0;
            if (v == 0 || end != stop || v > 65535) {
                sushi_errf(err, errsz, "config: expected min@RES or max@RES");
                return SUSHI_ERR_CONFIG;
            }
            r = (uint32_t)v;
        } else if (rest != stop) {
            sushi_errf(err, errsz, "config: expected \"min\", \"max\", \"min@RES\", \"max@RES\" or a JSON arch dict");
            return SUSHI_ERR_CONFIG;
        }
        config_blank(sn, &tmp);
        rc = sushi_config_extreme(sn, max, 0, &tmp);
        if (rc)
            return rc;
        if (r)
            tmp.resolution = r;
    } else if (*text == '{') {
        rc = parse_json(sn, text, &tmp, err, errsz);
        if (rc)
            return rc;
    } else {
        sushi_errf(err, errsz, "config: expected \"min\", \"max\", \"min@RES\", \"max@RES\" or a JSON arch dict");
        return SUSHI_ERR_CONFIG;
    }
    if (resolution)
        tmp.resolution = resolution;
    /* store the exact choice for expand ratios within validate's tolerance */
    for (uint32_t i = 0; i < tmp.n_e && i < SUSHI_CONFIG_MAX_SLOTS; i++)
        for (uint32_t j = 0; j < sn->n_e_choices; j++)
            if (fabsf(tmp.e[i] - sn->e_choices[j]) < 1e-6f)
                tmp.e[i] = sn->e_choices[j];
    rc = sushi_config_validate(sn, &tmp, err, errsz);
    if (rc)
        return rc;
    *c = tmp;
    return SUSHI_OK;
}
