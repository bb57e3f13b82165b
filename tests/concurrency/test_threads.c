/*
 * Concurrency: one shared context and SuperNet; N threads, each with its own
 * cpu backend instance (forward runs) and its own cycle backend + policy +
 * scheduler (served queries). Every thread also parses configs and makes
 * SubNets and SubGraphs from the shared SuperNet. Each cpu instance runs its
 * kernels on a pool of 2 threads of its own. Each thread's outputs must
 * be bit-identical to a single-thread run of the same work. Built twice: with
 * the project's sanitizers (test 'concurrency-threads') and with
 * ThreadSanitizer on the whole library (test 'concurrency-tsan').
 * Plain C (no Criterion) so that the TSan binary holds only instrumented code
 * plus libc/OpenBLAS. meson sets OPENBLAS_NUM_THREADS=1 for the ASan build only:
 * the TSan build runs with OpenBLAS's default threads (docs/reliability.md).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sushi/sushi.h>

#define NTHREADS 4
#define NQUERIES 40
#define MAX_OUT 1000

static sushi_context *ctx;
static sushi_supernet *sn;
static bool have_cpu;
static float *img;
static size_t img_n, n_classes;

typedef struct work {
    int id;
    int rc;
    const char *where;
    float logits[2][MAX_OUT];
    int32_t cand[NQUERIES];
    double predicted[NQUERIES], latency[NQUERIES], energy[NQUERIES];
    uint64_t offchip[NQUERIES], hit[NQUERIES];
    uint64_t params[2], sg_bytes;
    sushi_sched_stats stats;
} work;

#define TRY(call)                          \
    do {                                   \
        int rc_ = (call);                  \
        if (rc_ != SUSHI_OK) {             \
            w->rc = rc_;                   \
            w->where = #call;              \
            goto out;                      \
        }                                  \
    } while (0)

static const char *const cfg_text[2] = { "max@192", "min@160" };

static void *job(void *arg)
{
    work *w = arg;
    sushi_subnet *s[2] = { NULL, NULL };
    sushi_subgraph *g = NULL;
    sushi_backend *cpu = NULL, *cyc = NULL;
    sushi_policy *pol = NULL;
    sushi_sched *sch = NULL;
    char err[128];
    /* shared SuperNet: config parse, SubNets, SubGraph */
    for (int k = 0; k < 2; k++) {
        sushi_config c = SUSHI_CONFIG_INIT;
        TRY(sushi_config_parse(sn, cfg_text[k], 0, &c, err, sizeof err));
        TRY(sushi_subnet_create(sn, &c, &s[k]));
        sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
        TRY(sushi_subnet_get_stats(s[k], &st));
        w->params[k] = st.params;
    }
    TRY(sushi_subgraph_create(sn, &g));
    TRY(sushi_subgraph_set_subnet(g, s[0]));
    TRY(sushi_subgraph_intersect_subnet(g, s[1]));
    w->sg_bytes = sushi_subgraph_bytes(g);
    /* own cpu backend: forward runs */
    if (have_cpu) {
        TRY(sushi_backend_create(sn, "cpu", &cpu));
        /* each instance splits its kernels over its own pool of 2 threads
         * (docs/cpu.md "Threads"): NTHREADS instances x 2 threads at once */
        TRY(sushi_backend_set_param(cpu, "threads", 2));
        for (int k = 0; k < 2; k++) {
            sushi_run_args a = { .size = sizeof a, .input = img, .input_len = img_n,
                                 .output = w->logits[k], .output_len = n_classes };
            /* the run args take the SubNet's own resolution */
            const sushi_config *c = sushi_subnet_config(s[k]);
            sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
            TRY(sushi_supernet_get_info(sn, &info));
            a.input_len = (size_t)info.in_channels * c->resolution * c->resolution;
            TRY(sushi_backend_run(cpu, s[k], &a, NULL));
        }
    }
    /* own cycle backend + policy + scheduler: served queries */
    TRY(sushi_backend_create(sn, "cycle", &cyc));
    TRY(sushi_policy_create(sn, "sushi", &pol));
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 5;
    o.pb_bytes = 1u << 20;
    TRY(sushi_sched_create(sn, cyc, pol, &o, &sch));
    for (int i = 0; i < NQUERIES; i++) {
        sushi_query q = { .size = sizeof q, .min_accuracy = (i / 10) % 2 ? 0.0 : 0.70 + 0.02 * (i % 5),
                          .slo_s = (i / 10) % 2 ? 0.004 + 0.001 * (i % 7) : 0.0, .arrival_s = 0.01 * i };
        sushi_result r = { .size = sizeof r };
        TRY(sushi_sched_submit(sch, &q, &r));
        w->cand[i] = r.candidate;
        w->predicted[i] = r.predicted_s;
        w->latency[i] = r.latency_s; /* cost-only: the model's latency, deterministic */
        w->energy[i] = r.energy_j;
        w->offchip[i] = r.offchip_bytes;
        w->hit[i] = r.hit_bytes;
    }
    w->stats = (sushi_sched_stats){ .size = sizeof w->stats };
    TRY(sushi_sched_get_stats(sch, &w->stats));
out:
    sushi_sched_destroy(sch);
    sushi_policy_destroy(pol);
    sushi_backend_destroy(cyc);
    sushi_backend_destroy(cpu);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(s[0]);
    sushi_subnet_destroy(s[1]);
    return NULL;
}

static int same(const work *a, const work *b)
{
    if (a->rc || b->rc)
        return 0;
    if (memcmp(a->logits, b->logits, sizeof a->logits) || memcmp(a->cand, b->cand, sizeof a->cand) ||
        memcmp(a->predicted, b->predicted, sizeof a->predicted) ||
        memcmp(a->latency, b->latency, sizeof a->latency) || memcmp(a->energy, b->energy, sizeof a->energy) ||
        memcmp(a->offchip, b->offchip, sizeof a->offchip) || memcmp(a->hit, b->hit, sizeof a->hit) ||
        memcmp(a->params, b->params, sizeof a->params) || a->sg_bytes != b->sg_bytes)
        return 0;
    return a->stats.queries == b->stats.queries && a->stats.reloads == b->stats.reloads &&
           a->stats.offchip_bytes == b->stats.offchip_bytes && a->stats.hit_bytes == b->stats.hit_bytes &&
           a->stats.energy_j == b->stats.energy_j;
}

int main(void)
{
    if (sushi_context_create(NULL, &ctx) != SUSHI_OK ||
        sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn) != SUSHI_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (size_t i = 0; sushi_backend_name(ctx, i); i++)
        if (strcmp(sushi_backend_name(ctx, i), "cpu") == 0)
            have_cpu = true;
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);
    n_classes = info.num_classes;
    if (n_classes > MAX_OUT)
        return 1;
    img_n = (size_t)info.in_channels * 192 * 192; /* large enough for both resolutions */
    img = malloc(img_n * sizeof *img);
    for (size_t i = 0; i < img_n; i++)
        img[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;

    static work ref, w[NTHREADS];
    job(&ref);
    if (ref.rc) {
        fprintf(stderr, "single-thread run: %s -> %s\n", ref.where, sushi_status_name(ref.rc));
        return 1;
    }
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i].id = i;
        if (pthread_create(&th[i], NULL, job, &w[i]) != 0)
            return 1;
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    int fail = 0;
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc) {
            fprintf(stderr, "thread %d: %s -> %s\n", i, w[i].where, sushi_status_name(w[i].rc));
            fail = 1;
        } else if (!same(&w[i], &ref)) {
            fprintf(stderr, "thread %d: results differ from the single-thread run\n", i);
            fail = 1;
        }
    }
    printf("%d threads x (%s%d queries): %s; reloads %" PRIu64 ", off-chip %" PRIu64 " B\n", NTHREADS,
           have_cpu ? "2 cpu forwards + " : "", NQUERIES, fail ? "MISMATCH" : "bit-identical",
           ref.stats.reloads, ref.stats.offchip_bytes);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(img);
    return fail;
}
