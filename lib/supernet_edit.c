/* sushi_supernet_with_accuracies(), sushi_supernet_with_int8_ranges() and
 * sushi_supernet_with_bn_stats():
 * copies of a SuperNet whose candidate table carries measured accuracies (used
 * by `sushi eval`), int8 calibration ranges (`sushi calibrate`) or BN
 * statistics (`sushi recalibrate`). The copy
 * goes through the format writer and reader (save_memory + load_memory), so it
 * is exactly what a file written from it would load as; then the candidates'
 * fields are replaced and one sentence is appended to the provenance text. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define EDIT_MAX_CANDIDATES 1000000u

bool sushi_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf)
            k = 1, cp = c & 0x1fu;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, cp = c & 0x0fu;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, cp = c & 0x07u;
        else
            return false; /* continuation byte, overlong 0xc0/0xc1, or > U+10FFFF */
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0u) != 0x80u)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3fu);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false; /* overlong, surrogate, or beyond Unicode */
        i += k + 1;
    }
    return true;
}

/* A string stored in the file: non-empty, < 1024 bytes, valid UTF-8 (the
 * reader refuses anything else, so the API does too: issue 15 item 6). */
static bool text_ok(const char *s)
{
    return s && s[0] && strlen(s) < 1024 && sushi_utf8_valid(s, strlen(s));
}

/* A copy of sn in sn's context through the writer and the reader. */
static int copy_supernet(const sushi_supernet *sn, sushi_supernet **out)
{
    void *buf = NULL;
    size_t size = 0;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    int rc = sushi_supernet_save_memory(sn, &so, &buf, &size);
    if (rc)
        return rc;
    rc = sushi_supernet_load_memory(sn->ctx, buf, size, NULL, out);
    sushi_supernet_free_buffer(sn, buf);
    return rc;
}

static void utc_now(char *date, size_t n)
{
    snprintf(date, n, "%s", "unknown date");
    time_t now = time(NULL);
    struct tm tm;
    if (now != (time_t)-1 && gmtime_r(&now, &tm))
        strftime(date, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Append one sentence to cp's provenance text (separated by a space). */
static int append_provenance(sushi_supernet *cp, const char *sentence)
{
    const char *old = cp->provenance ? cp->provenance : "";
    size_t need = strlen(old) + strlen(sentence) + 2;
    char *prov = sushi_malloc(cp->ctx, need);
    if (!prov)
        return SUSHI_ERR_NOMEM;
    snprintf(prov, need, "%s%s%s", old, old[0] ? " " : "", sentence);
    sushi_free(cp->ctx, cp->provenance);
    cp->provenance = prov;
    return SUSHI_OK;
}

int sushi_supernet_with_accuracies(const sushi_supernet *sn, const double *acc, size_t n,
                                   const char *dataset, const char *metric, const char *source,
                                   sushi_supernet **out)
{
    if (out)
        *out = NULL;
    if (!sn || !out || (n && !acc) || !text_ok(dataset) || !text_ok(metric) || !text_ok(source))
        return SUSHI_ERR_INVALID;
    if (n != sn->n_cand)
        return SUSHI_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!isnan(acc[i]) && !(acc[i] >= 0.0 && acc[i] <= 1.0))
            return SUSHI_ERR_RANGE;

    sushi_context *ctx = sn->ctx;
    sushi_supernet *cp = NULL;
    int rc = copy_supernet(sn, &cp);
    if (rc)
        return rc;

    size_t measured = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(acc[i]))
            continue; /* not measured: keep the entry as it was */
        sushi_candidate *c = &cp->cands[i];
        char *ds = sushi_strdup(ctx, dataset), *me = sushi_strdup(ctx, metric);
        if (!ds || !me) {
            sushi_free(ctx, ds);
            sushi_free(ctx, me);
            sushi_supernet_destroy(cp);
            return SUSHI_ERR_NOMEM;
        }
        sushi_free(ctx, c->dataset);
        sushi_free(ctx, c->metric);
        c->dataset = ds;
        c->metric = me;
        c->accuracy = acc[i];
        snprintf(c->accuracy_source, sizeof c->accuracy_source, "%s", "measured");
        measured++;
    }

    char date[32];
    utc_now(date, sizeof date);
    size_t need = strlen(dataset) + strlen(metric) + strlen(source) + 256;
    char *sentence = sushi_malloc(ctx, need);
    if (!sentence) {
        sushi_supernet_destroy(cp);
        return SUSHI_ERR_NOMEM;
    }
    snprintf(sentence, need, "Accuracies of %zu of %zu candidates measured %s: dataset %s, metric %s, by %s.",
             measured, n, date, dataset, metric, source);
    rc = append_provenance(cp, sentence);
    sushi_free(ctx, sentence);
    if (rc) {
        sushi_supernet_destroy(cp);
        return rc;
    }
    *out = cp;
    return SUSHI_OK;
}

size_t sushi_first_bad_range(const float *r, size_t pairs)
{
    for (size_t i = 0; i < pairs; i++)
        if (!isfinite(r[2 * i]) || !isfinite(r[2 * i + 1]) || r[2 * i] > r[2 * i + 1])
            return i;
    return pairs;
}

int sushi_check_int8_ranges(const sushi_context *ctx, const char *what, const float *r, size_t n)
{
    if (n % 2) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "%s: %zu floats, not (min, max) pairs", what, n);
        return SUSHI_ERR_INVALID;
    }
    size_t bad = sushi_first_bad_range(r, n / 2);
    if (bad < n / 2) {
        sushi_log(ctx, SUSHI_LOG_ERROR, "%s: pair %zu (min %g, max %g) is not a finite range with min <= max", what,
                  bad, (double)r[2 * bad], (double)r[2 * bad + 1]);
        return SUSHI_ERR_RANGE;
    }
    return SUSHI_OK;
}

int sushi_supernet_with_int8_ranges(const sushi_supernet *sn, const float *const *ranges, const size_t *n_ranges,
                                    size_t n, const char *source, sushi_supernet **out)
{
    if (out)
        *out = NULL;
    if (!sn || !out || (n && (!ranges || !n_ranges)) || !text_ok(source) || n != sn->n_cand)
        return SUSHI_ERR_INVALID;
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ranges[i])
            continue;
        sushi_subnet *s = NULL;
        int rc = sushi_subnet_create(sn, &sn->cands[i].config, &s);
        if (rc)
            return rc;
        size_t need = sushi_int8_ranges_len(s);
        sushi_subnet_destroy(s);
        if (n_ranges[i] != need) {
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "int8 ranges of candidate %zu: %zu floats, its SubNet needs %zu", i,
                      n_ranges[i], need);
            return SUSHI_ERR_INVALID;
        }
        char what[64];
        snprintf(what, sizeof what, "int8 ranges of candidate %zu", i);
        rc = sushi_check_int8_ranges(sn->ctx, what, ranges[i], need);
        if (rc)
            return rc;
        stored++;
    }

    sushi_context *ctx = sn->ctx;
    sushi_supernet *cp = NULL;
    int rc = copy_supernet(sn, &cp);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!ranges[i])
            continue; /* not given: keep the entry as it was */
        float *r = sushi_malloc(ctx, n_ranges[i] * sizeof *r);
        if (!r) {
            sushi_supernet_destroy(cp);
            return SUSHI_ERR_NOMEM;
        }
        memcpy(r, ranges[i], n_ranges[i] * sizeof *r);
        sushi_free(ctx, cp->cands[i].int8_ranges);
        cp->cands[i].int8_ranges = r;
        cp->cands[i].n_int8_ranges = n_ranges[i];
    }
    char date[32], sentence[1400];
    utc_now(date, sizeof date);
    snprintf(sentence, sizeof sentence, "int8 activation ranges of %zu of %zu candidates calibrated %s by %s.", stored,
             n, date, source);
    if ((rc = append_provenance(cp, sentence))) {
        sushi_supernet_destroy(cp);
        return rc;
    }
    *out = cp;
    return SUSHI_OK;
}

/* Floats of candidate config's BN statistics (format §7.2), via its plan. */
static int bn_stats_need(const sushi_supernet *sn, const sushi_config *cfg, size_t *need)
{
    sushi_subnet *s = NULL;
    int rc = sushi_subnet_create(sn, cfg, &s);
    if (rc)
        return rc;
    size_t total = 0;
    for (uint32_t i = 0; i < s->n_layers; i++)
        if (s->layers[i].bn >= 0)
            total += 2u * (size_t)s->layers[i].out_c;
    sushi_subnet_destroy(s);
    *need = total;
    return SUSHI_OK;
}

int sushi_supernet_with_bn_stats(const sushi_supernet *sn, const float *const *stats, const size_t *n_stats,
                                 size_t n, const char *source, sushi_supernet **out)
{
    if (out)
        *out = NULL;
    if (!sn || !out || (n && (!stats || !n_stats)) || !text_ok(source) || n != sn->n_cand)
        return SUSHI_ERR_INVALID;
    size_t stored = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stats[i])
            continue;
        size_t need = 0;
        int rc = bn_stats_need(sn, &sn->cands[i].config, &need);
        if (rc)
            return rc;
        if (n_stats[i] != need) {
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "BN statistics of candidate %zu: %zu floats, its SubNet needs %zu",
                      i, n_stats[i], need);
            return SUSHI_ERR_INVALID;
        }
        /* per layer: c means (finite) then c variances (finite, >= 0) */
        sushi_subnet *sub = NULL;
        if ((rc = sushi_subnet_create(sn, &sn->cands[i].config, &sub)))
            return rc;
        size_t off = 0;
        for (uint32_t li = 0; li < sub->n_layers && rc == SUSHI_OK; li++) {
            const sushi_layer *l = &sub->layers[li];
            if (l->bn < 0)
                continue;
            for (uint32_t c = 0; c < 2 * l->out_c; c++) {
                float v = stats[i][off + c];
                if (!isfinite(v) || (c >= l->out_c && v < 0.0f)) {
                    sushi_log(sn->ctx, SUSHI_LOG_ERROR, "BN statistics of candidate %zu, layer %u (%s): %s %u is %g",
                              i, li, l->name, c < l->out_c ? "mean" : "variance", c % l->out_c, (double)v);
                    rc = SUSHI_ERR_RANGE;
                    break;
                }
            }
            off += 2u * (size_t)l->out_c;
        }
        sushi_subnet_destroy(sub);
        if (rc)
            return rc;
        stored++;
    }

    sushi_context *ctx = sn->ctx;
    sushi_supernet *cp = NULL;
    int rc = copy_supernet(sn, &cp);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!stats[i])
            continue; /* not given: keep the entry as it was */
        float *v = sushi_malloc(ctx, (n_stats[i] ? n_stats[i] : 1) * sizeof *v);
        if (!v) {
            sushi_supernet_destroy(cp);
            return SUSHI_ERR_NOMEM;
        }
        memcpy(v, stats[i], n_stats[i] * sizeof *v);
        sushi_free(ctx, cp->cands[i].bn_owned);
        cp->cands[i].bn_owned = v;
        cp->cands[i].bn_stats = v;
        cp->cands[i].n_bn_stats = n_stats[i];
    }
    char date[32], sentence[1400];
    utc_now(date, sizeof date);
    snprintf(sentence, sizeof sentence, "BN statistics of %zu of %zu candidates recalibrated %s by %s.", stored, n,
             date, source);
    if ((rc = append_provenance(cp, sentence))) {
        sushi_supernet_destroy(cp);
        return rc;
    }
    *out = cp;
    return SUSHI_OK;
}

int sushi_supernet_with_candidates(const sushi_supernet *sn, const sushi_config *configs, size_t n,
                                   const char *source, sushi_supernet **out)
{
    if (out)
        *out = NULL;
    if (!sn || !out || (n && !configs) || !text_ok(source) || n > EDIT_MAX_CANDIDATES)
        return SUSHI_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        char why[256] = "";
        if (configs[i].size != sizeof(sushi_config)) {
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "candidate config %zu: size %zu, expected %zu", i, configs[i].size,
                      sizeof(sushi_config));
            return SUSHI_ERR_INVALID;
        }
        int rc = sushi_config_validate(sn, &configs[i], why, sizeof why);
        if (rc) {
            sushi_log(sn->ctx, SUSHI_LOG_ERROR, "candidate config %zu: %s", i, why);
            return rc;
        }
        for (size_t j = 0; j < i; j++)
            if (sushi_config_equal(&configs[i], &configs[j])) {
                sushi_log(sn->ctx, SUSHI_LOG_ERROR, "candidate configs %zu and %zu are the same SubNet", j, i);
                return SUSHI_ERR_INVALID;
            }
    }
    sushi_context *ctx = sn->ctx;
    sushi_supernet *cp = NULL;
    int rc = copy_supernet(sn, &cp);
    if (rc)
        return rc;
    sushi_candidate *nc = sushi_calloc(ctx, n ? n : 1, sizeof *nc);
    bool *moved = sushi_calloc(ctx, cp->n_cand ? cp->n_cand : 1, sizeof *moved);
    if (!nc || !moved) {
        sushi_free(ctx, nc);
        sushi_free(ctx, moved);
        sushi_supernet_destroy(cp);
        return SUSHI_ERR_NOMEM;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int j = sushi_supernet_find_candidate(cp, &configs[i]);
        if (j >= 0 && !moved[j]) {
            nc[i] = cp->cands[j]; /* its measurements stay valid: same SubNet */
            moved[j] = true;
            kept++;
            continue;
        }
        sushi_subnet *s = NULL;
        if ((rc = sushi_subnet_create(cp, &configs[i], &s)))
            break;
        nc[i].config = configs[i];
        nc[i].accuracy = NAN;
        snprintf(nc[i].accuracy_source, sizeof nc[i].accuracy_source, "%s", "none");
        nc[i].macs = s->macs;
        nc[i].params = s->params;
        nc[i].weight_bytes = s->weight_bytes;
        sushi_subnet_destroy(s);
    }
    if (rc) {
        /* nc holds shallow copies only: cp->cands still owns everything */
        sushi_free(ctx, nc);
        sushi_free(ctx, moved);
        sushi_supernet_destroy(cp);
        return rc;
    }
    for (uint32_t j = 0; j < cp->n_cand; j++) {
        if (moved[j])
            continue;
        sushi_free(ctx, cp->cands[j].dataset);
        sushi_free(ctx, cp->cands[j].metric);
        sushi_free(ctx, cp->cands[j].bn_owned);
        sushi_free(ctx, cp->cands[j].act_ranges);
        sushi_free(ctx, cp->cands[j].int8_ranges);
    }
    sushi_free(ctx, moved);
    sushi_free(ctx, cp->cands);
    cp->cands = nc;
    cp->n_cand = (uint32_t)n;
    char date[32], sentence[1400];
    utc_now(date, sizeof date);
    snprintf(sentence, sizeof sentence,
             "Candidate table replaced %s by %s: %zu candidates, %zu kept with their measurements, %zu new and "
             "unmeasured.", date, source, n, kept, n - kept);
    if ((rc = append_provenance(cp, sentence))) {
        sushi_supernet_destroy(cp);
        return rc;
    }
    *out = cp;
    return SUSHI_OK;
}
