/* `sushi serve --realtime` (serve_realtime.h): each query is submitted to a
 * sushi_server at its trace arrival time on the monotonic clock (the server
 * clock, offset by a short lead), with that time as its arrival, so queueing
 * behind slower queries counts against its SLO (end to end). Results come
 * back through the server's callback, one slot per query. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_realtime.h"

#define LEAD_S 0.02 /* the replay's t = 0 is this long after the server started */

typedef struct rt_ctx {
    const cli_rt_args *a;
    cli_rt_out *out;
    float *outputs; /* nq * n_classes */
} rt_ctx;

static uint32_t argmax(const float *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* worker thread: one slot per query, nothing shared */
static void on_done(void *user, void *query_user, int status, const sushi_result *r)
{
    rt_ctx *c = user;
    size_t i = (size_t)(uintptr_t)query_user;
    c->out->status[i] = status;
    c->out->r[i] = *r;
    if (status == SUSHI_OK && r->ran && c->a->inputs && c->a->n_classes)
        c->out->pred[i] = argmax(c->outputs + i * c->a->n_classes, c->a->n_classes);
}

static void sleep_until(const sushi_server *srv, double t)
{
    for (;;) {
        double left = t - sushi_server_now(srv);
        if (left <= 0)
            return;
        struct timespec ts = { (time_t)left, (long)((left - floor(left)) * 1e9) };
        if (nanosleep(&ts, NULL) == 0)
            return;
        if (errno != EINTR)
            return;
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double rank(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    double k = ceil(p * (double)n);
    size_t i = k < 1.0 ? 0 : (size_t)k - 1;
    return v[i < n ? i : n - 1];
}

static double ratio(double num, double den) { return den > 0 ? num / den : NAN; }

/* Merge the workers' scheduler statistics: sums, weighted means, and exact
 * percentiles recomputed from the per-query results. */
static int merge(const sushi_server *srv, uint32_t workers, const cli_rt_out *o, size_t nq, sushi_sched_stats *m)
{
    double lat_w = 0, queue_w = 0, acc_w = 0, dec_w = 0, upd_w = 0, e2e_w = 0, slo_ok = 0, e2e_ok = 0,
           acc_ok = 0, lf_w = 0;
    memset(m, 0, sizeof *m);
    m->size = sizeof *m;
    m->latency_exact = true;
    for (uint32_t w = 0; w < workers; w++) {
        sushi_sched_stats s = SUSHI_SCHED_STATS_INIT;
        int rc = sushi_server_get_worker_stats(srv, w, &s);
        if (rc)
            return rc;
        double q = (double)s.queries;
        m->queries += s.queries;
        m->slo_queries += s.slo_queries;
        m->accuracy_queries += s.accuracy_queries;
        m->fallbacks += s.fallbacks;
        m->offchip_bytes += s.offchip_bytes;
        m->weight_bytes += s.weight_bytes;
        m->hit_bytes += s.hit_bytes;
        m->updates += s.updates;
        m->reloads += s.reloads;
        m->reload_bytes += s.reload_bytes;
        m->reload_s += s.reload_s;
        m->energy_j += s.energy_j;
        m->energy_offchip_j += s.energy_offchip_j;
        m->dropped += s.dropped;
        m->e2e_slo_queries += s.e2e_slo_queries;
        if (s.decision_max_ns > m->decision_max_ns)
            m->decision_max_ns = s.decision_max_ns;
        m->adaptive = m->adaptive || s.adaptive;
        if (q > 0) {
            lat_w += s.latency_mean_s * q, queue_w += s.queue_mean_s * q, acc_w += s.accuracy_mean * q;
            dec_w += s.decision_mean_ns * q, e2e_w += s.e2e_latency_mean_s * q, lf_w += s.load_factor * q;
        }
        upd_w += s.update_mean_ns * (double)s.updates;
        if (s.slo_queries)
            slo_ok += s.slo_attainment * (double)s.slo_queries;
        if (s.accuracy_queries)
            acc_ok += s.accuracy_attainment * (double)s.accuracy_queries;
        if (s.e2e_slo_queries)
            e2e_ok += s.e2e_slo_attainment * (double)s.e2e_slo_queries;
    }
    double nqd = (double)m->queries;
    m->latency_mean_s = ratio(lat_w, nqd);
    m->queue_mean_s = ratio(queue_w, nqd);
    m->accuracy_mean = ratio(acc_w, nqd);
    m->decision_mean_ns = ratio(dec_w, nqd);
    m->e2e_latency_mean_s = ratio(e2e_w, nqd);
    m->load_factor = m->queries ? lf_w / nqd : 1.0;
    m->update_mean_ns = ratio(upd_w, (double)m->updates);
    m->slo_attainment = ratio(slo_ok, (double)m->slo_queries);
    m->service_slo_attainment = m->slo_attainment;
    m->accuracy_attainment = ratio(acc_ok, (double)m->accuracy_queries);
    m->e2e_slo_attainment = ratio(e2e_ok, (double)m->e2e_slo_queries);
    m->pb_hit_ratio = m->weight_bytes ? (double)m->hit_bytes / (double)m->weight_bytes : 0.0;
    /* exact percentiles over the served queries */
    double *lat = malloc((nq ? nq : 1) * sizeof *lat), *e2e = malloc((nq ? nq : 1) * sizeof *e2e);
    if (!lat || !e2e) {
        free(lat), free(e2e);
        return SUSHI_ERR_NOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < nq; i++)
        if (o->status[i] == SUSHI_OK)
            lat[n] = o->r[i].latency_s, e2e[n] = o->r[i].e2e_s, n++;
    qsort(lat, n, sizeof *lat, cmp_double);
    qsort(e2e, n, sizeof *e2e, cmp_double);
    m->latency_p50_s = rank(lat, n, 0.5), m->latency_p99_s = rank(lat, n, 0.99);
    m->latency_max_s = n ? lat[n - 1] : NAN;
    m->e2e_latency_p50_s = rank(e2e, n, 0.5), m->e2e_latency_p99_s = rank(e2e, n, 0.99);
    m->e2e_latency_max_s = n ? e2e[n - 1] : NAN;
    free(lat), free(e2e);
    return SUSHI_OK;
}

void cli_rt_out_free(cli_rt_out *out)
{
    free(out->r), free(out->status), free(out->pred);
    out->r = NULL, out->status = NULL, out->pred = NULL;
}

int cli_serve_realtime(const cli_rt_args *a, cli_rt_out *out)
{
    memset(out, 0, sizeof *out);
    size_t nq = a->nq;
    rt_ctx c = { a, out, NULL };
    out->r = calloc(nq ? nq : 1, sizeof *out->r);
    out->status = calloc(nq ? nq : 1, sizeof *out->status);
    out->pred = calloc(nq ? nq : 1, sizeof *out->pred);
    if (a->inputs && a->n_classes)
        c.outputs = calloc(nq ? nq * a->n_classes : 1, sizeof *c.outputs);
    if (!out->r || !out->status || !out->pred || (a->inputs && a->n_classes && !c.outputs)) {
        free(c.outputs);
        cli_rt_out_free(out);
        return SUSHI_ERR_NOMEM;
    }
    /* the queue holds the whole trace: an open-loop replay never refuses a
     * query; one that waits long misses its SLO, which is what we measure */
    sushi_server_options so = SUSHI_SERVER_OPTIONS_INIT;
    so.backend = a->backend;
    so.policy = a->policy;
    so.workers = a->workers;
    so.order = a->order;
    so.block_miss = a->block_miss;
    so.worker_nice = a->worker_nice;
    so.queue_capacity = nq < 1u << 20 ? (uint32_t)(nq ? nq : 1) : 1u << 20;
    so.sched = a->o;
    so.callback = on_done;
    so.callback_user = &c;
    so.setup = a->setup;
    so.setup_user = a->setup_user;
    sushi_server *srv = NULL;
    int rc = sushi_server_create(a->sn, &so, &srv);
    if (rc) {
        free(c.outputs);
        cli_rt_out_free(out);
        return rc;
    }
    const double t0 = sushi_server_now(srv) + LEAD_S;
    for (size_t i = 0; i < nq && rc == SUSHI_OK; i++) {
        sushi_query q = a->qs[i];
        q.size = sizeof q;
        q.start_s = -1.0;
        q.arrival_s = t0 + a->qs[i].arrival_s;
        if (a->inputs) {
            q.input = a->inputs + (i % a->n_inputs) * a->input_len;
            q.input_len = a->input_len;
            q.output = c.outputs + i * a->n_classes;
            q.output_len = a->n_classes;
        } else {
            q.input = NULL, q.input_len = 0, q.output = NULL, q.output_len = 0;
        }
        out->status[i] = 1; /* not answered (never seen after a drained shutdown) */
        sleep_until(srv, q.arrival_s);
        double late = sushi_server_now(srv) - q.arrival_s;
        if (late > out->lateness_max_s)
            out->lateness_max_s = late;
        rc = sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, (void *)(uintptr_t)i, NULL);
        if (rc == SUSHI_ERR_BUSY) /* cannot happen: the queue holds every query */
            out->status[i] = SUSHI_ERR_BUSY, rc = SUSHI_OK;
    }
    /* every accepted query is answered before this returns */
    int rc2 = sushi_server_shutdown(srv, rc ? SUSHI_SERVER_SHUTDOWN_CANCEL : SUSHI_SERVER_SHUTDOWN_DRAIN);
    if (!rc)
        rc = rc2;
    for (size_t i = 0; i < nq && !rc; i++) {
        int s = out->status[i];
        if (s != SUSHI_OK && s != SUSHI_ERR_DROPPED)
            rc = s; /* a query failed: the run is not valid */
        else if (s == SUSHI_OK && a->labels && out->r[i].ran)
            out->correct += out->pred[i] == a->labels[i % a->n_inputs];
    }
    out->srv = (sushi_server_stats)SUSHI_SERVER_STATS_INIT;
    if (!rc)
        rc = sushi_server_get_stats(srv, &out->srv);
    if (!rc)
        rc = merge(srv, a->workers, out, nq, &out->st);
    sushi_server_destroy(srv);
    free(c.outputs);
    if (rc)
        cli_rt_out_free(out);
    return rc;
}
