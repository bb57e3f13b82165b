/* sushi_supernet_with_accuracies(): a copy of a SuperNet whose candidate table
 * carries measured accuracies (used by `sushi eval`). The copy goes through the
 * format writer and reader (save_memory + load_memory), so it is exactly what
 * a file written from it would load as; then the candidates' accuracy fields
 * and the provenance text are replaced. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static bool text_ok(const char *s)
{
    return s && s[0] && strlen(s) < 1024;
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
    void *buf = NULL;
    size_t size = 0;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    int rc = sushi_supernet_save_memory(sn, &so, &buf, &size);
    if (rc)
        return rc;
    sushi_supernet *cp = NULL;
    rc = sushi_supernet_load_memory(ctx, buf, size, NULL, &cp);
    sushi_supernet_free_buffer(sn, buf);
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

    /* provenance: append one sentence saying what was measured, when and how */
    char date[32] = "unknown date";
    time_t now = time(NULL);
    struct tm tm;
    if (now != (time_t)-1 && gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *old = cp->provenance ? cp->provenance : "";
    size_t need = strlen(old) + strlen(dataset) + strlen(metric) + strlen(source) + 256;
    char *prov = sushi_malloc(ctx, need);
    if (!prov) {
        sushi_supernet_destroy(cp);
        return SUSHI_ERR_NOMEM;
    }
    snprintf(prov, need, "%s%sAccuracies of %zu of %zu candidates measured %s: dataset %s, metric %s, by %s.",
             old, old[0] ? " " : "", measured, n, date, dataset, metric, source);
    sushi_free(ctx, cp->provenance);
    cp->provenance = prov;
    *out = cp;
    return SUSHI_OK;
}
