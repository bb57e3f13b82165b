/*
 * A test backend for the server tests: "gate". Its cost is a model (latency
 * proportional to MACs, so candidates differ), and its run() blocks while the
 * gate is closed, so a test decides when queries finish: it can fill the
 * queue, or shut down with queries in service and queued, without relying on
 * timing. It counts the runs that entered and left, and writes 1 to output[0].
 * Plain C + pthreads (used by the TSan build too).
 */
#ifndef SERVER_GATE_H
#define SERVER_GATE_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sushi/sushi.h>

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open = true;
static int gate_entered, gate_left;
static double gate_sleep_s; /* extra measured latency reported by run (not slept) */
static double gate_scale = 1e-12; /* model latency per MAC (s) */

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = true;
    gate_entered = gate_left = 0;
    gate_sleep_s = 0.0;
    gate_scale = 1e-12;
    pthread_mutex_unlock(&gate_mu);
}

/* Block until `n` runs are inside run() (or have been). */
static inline void gate_wait_entered(int n)
{
    for (;;) {
        pthread_mutex_lock(&gate_mu);
        int e = gate_entered;
        pthread_mutex_unlock(&gate_mu);
        if (e >= n)
            return;
        sched_yield();
    }
}

static int gate_create(void *user, const sushi_supernet *sn, void **state)
{
    (void)user, (void)sn;
    static int dummy;
    *state = &dummy;
    return SUSHI_OK;
}

static void gate_destroy(void *state) { (void)state; }

static int gate_cost(void *state, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    (void)state, (void)g;
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    int rc = sushi_subnet_get_stats(s, &st);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->macs = st.macs;
    pthread_mutex_lock(&gate_mu);
    out->latency_s = (double)st.macs * gate_scale; /* default 1 TMAC/s: a 600 MMAC SubNet takes 0.6 ms */
    pthread_mutex_unlock(&gate_mu);
    return SUSHI_OK;
}

static int gate_set_resident(void *state, const sushi_subgraph *g, sushi_cost *reload)
{
    (void)state, (void)g;
    if (reload) {
        memset(reload, 0, sizeof *reload);
        reload->size = sizeof *reload;
    }
    return SUSHI_OK;
}

static int gate_run(void *state, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    pthread_mutex_lock(&gate_mu);
    gate_entered++;
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    gate_left++;
    double extra = gate_sleep_s;
    pthread_mutex_unlock(&gate_mu);
    if (a->output && a->output_len)
        a->output[0] = 1.0f;
    if (cost) {
        int rc = gate_cost(state, s, NULL, cost);
        if (rc)
            return rc;
        cost->latency_s += extra;
    }
    return SUSHI_OK;
}

static const sushi_backend_ops gate_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST,
    .description = "test backend: run() waits while a gate is closed",
    .create = gate_create,
    .destroy = gate_destroy,
    .cost = gate_cost,
    .set_resident = gate_set_resident,
    .run = gate_run,
};

/* A context with the gate backend and the built-in mbv3 SuperNet. */
static int gate_setup(sushi_context **ctx, sushi_supernet **sn)
{
    int rc = sushi_context_create(NULL, ctx);
    if (!rc)
        rc = sushi_backend_register(*ctx, "gate", &gate_ops, NULL);
    if (!rc)
        rc = sushi_supernet_builtin(*ctx, "ofa-mbv3-w1.0", 0, sn);
    return rc;
}

#define GATE_IMG_R 8
#define GATE_IMG_N (3 * GATE_IMG_R * GATE_IMG_R)
/* logits buffer: the SuperNet's 1000 classes (sushi_backend_run checks output_len) */
#define GATE_OUT_N 1000
static float gate_img[GATE_IMG_N]; /* read only: shared by every query */

/* A query that runs on the gate backend (input given), writing to `out`. */
static sushi_query gate_query(float *out, size_t out_len, double slo_s)
{
    sushi_query q = SUSHI_QUERY_INIT;
    q.slo_s = slo_s;
    q.input = gate_img;
    q.input_len = GATE_IMG_N;
    q.output = out;
    q.output_len = out_len;
    return q;
}

#endif
