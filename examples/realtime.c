/*
 * realtime: a camera-like producer feeds a sushi_server at a fixed frame rate
 * while the application's latency SLO changes over time; per phase it prints
 * the end-to-end SLO attainment, the p99 end-to-end latency and the accuracy
 * served (the candidate table's accuracy of the SubNets chosen).
 *
 *   realtime [MODEL] [BACKEND] [FPS] [SECONDS_PER_PHASE]
 *   (defaults: models/fmnist-mbv3.sushi cpu 100 2)
 *
 * Each frame is stamped with its capture time (the server clock), so the SLO
 * counts from the capture: time in the queue eats into the budget. A frame
 * that no SubNet can answer in time is dropped (late = drop), as a video
 * pipeline would rather skip a frame than show a stale one.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sushi/sushi.h>

#define PHASES 4
static const double phase_slo_ms[PHASES] = { 50.0, 2.0, 0.5, 50.0 };

typedef struct frame {
    double arrival, e2e; /* server clock, seconds */
    int status;
    double accuracy;
    float logits[16];
} frame;

static sushi_server *srv;
static frame *frames;

/* called on the worker thread once per frame */
static void on_done(void *user, void *query_user, int status, const sushi_result *r)
{
    (void)user;
    frame *f = &frames[(size_t)query_user];
    f->e2e = sushi_server_now(srv) - f->arrival;
    f->status = status;
    f->accuracy = status == SUSHI_OK ? r->accuracy : NAN;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "models/fmnist-mbv3.sushi";
    const char *backend = argc > 2 ? argv[2] : "cpu";
    double fps = argc > 3 ? atof(argv[3]) : 100.0, phase_s = argc > 4 ? atof(argv[4]) : 2.0;
    if (!(fps > 0 && fps <= 10000) || !(phase_s > 0 && phase_s <= 3600)) {
        fprintf(stderr, "realtime: FPS in (0, 10000], SECONDS_PER_PHASE in (0, 3600]\n");
        return 2;
    }
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    int rc = sushi_context_create(NULL, &ctx);
    if (!rc)
        rc = sushi_supernet_load_file(ctx, path, NULL, &sn);
    if (rc) {
        fprintf(stderr, "realtime: %s: %s\n", path, sushi_status_name(rc));
        sushi_context_destroy(ctx);
        return 1;
    }
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);

    /* one worker (a single core), late frames dropped */
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    so.late = SUSHI_SCHED_LATE_DROP;
    sushi_server_options o = SUSHI_SERVER_OPTIONS_INIT;
    o.backend = backend;
    o.sched = &so;
    o.callback = on_done;
    o.queue_capacity = 16;
    rc = sushi_server_create(sn, &o, &srv);
    if (rc) {
        fprintf(stderr, "realtime: server on backend %s: %s\n", backend, sushi_status_name(rc));
        sushi_supernet_destroy(sn);
        sushi_context_destroy(ctx);
        return 1;
    }

    /* a synthetic frame (a smooth gradient) at the model's own resolution */
    uint32_t r = info.default_resolution, c = info.in_channels;
    size_t n_in = (size_t)c * r * r;
    float *image = malloc(n_in * sizeof *image);
    size_t per_phase = (size_t)(fps * phase_s), n = per_phase * PHASES;
    frames = calloc(n, sizeof *frames);
    if (!image || !frames || info.num_classes > 16) {
        fprintf(stderr, "realtime: out of memory (or more than 16 classes)\n");
        return 1;
    }
    for (size_t i = 0; i < n_in; i++)
        image[i] = (float)(i % r) / (float)r - 0.5f;

    printf("%s on %s: %.0f frames/s, %.1f s per phase, late frames dropped\n", info.name, backend, fps,
           phase_s);
    size_t busy = 0;
    for (size_t k = 0; k < n; k++) {
        /* wait for the frame's capture time on the server clock */
        double due = (double)k / fps, wait = due - sushi_server_now(srv);
        if (wait > 0) {
            struct timespec ts = { (time_t)wait, (long)((wait - floor(wait)) * 1e9) };
            nanosleep(&ts, NULL);
        }
        sushi_query q = SUSHI_QUERY_INIT;
        q.slo_s = phase_slo_ms[k / per_phase] * 1e-3;
        q.arrival_s = frames[k].arrival = sushi_server_now(srv);
        q.input = image, q.input_len = n_in; /* read only: shared by every frame */
        q.output = frames[k].logits, q.output_len = info.num_classes;
        frames[k].status = 1; /* not answered */
        rc = sushi_server_submit(srv, &q, SUSHI_SERVER_SUBMIT_ARRIVAL, (void *)k, NULL);
        if (rc == SUSHI_ERR_BUSY)
            busy++, frames[k].status = SUSHI_ERR_BUSY; /* the queue is full: this frame is skipped */
        else if (rc) {
            fprintf(stderr, "realtime: submit: %s\n", sushi_status_name(rc));
            break;
        }
    }
    sushi_server_shutdown(srv, SUSHI_SERVER_SHUTDOWN_DRAIN); /* every frame answered */

    printf("%-6s %8s %7s %7s %7s %9s %11s %9s\n", "phase", "SLO ms", "frames", "served", "dropped",
           "SLO met", "p99 e2e ms", "accuracy");
    double *e2e = malloc(per_phase * sizeof *e2e);
    for (int p = 0; p < PHASES && e2e; p++) {
        size_t served = 0, dropped = 0, met = 0, m = 0;
        double acc = 0;
        for (size_t k = p * per_phase; k < (p + 1) * per_phase; k++) {
            const frame *f = &frames[k];
            if (f->status == SUSHI_OK) {
                served++, acc += f->accuracy, e2e[m++] = f->e2e;
                met += f->e2e <= phase_slo_ms[p] * 1e-3;
            } else
                dropped++; /* dropped by the scheduler, or skipped at a full queue */
        }
        qsort(e2e, m, sizeof *e2e, cmp);
        printf("%-6d %8.1f %7zu %7zu %7zu %8.1f%% %11.3f %8.2f%%\n", p + 1, phase_slo_ms[p], per_phase, served,
               dropped, 100.0 * (double)met / (double)per_phase,
               m ? 1e3 * e2e[(size_t)ceil(0.99 * (double)m) - 1] : NAN, served ? 100.0 * acc / (double)served : NAN);
    }
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    sushi_server_get_stats(srv, &st);
    printf("total: %llu answered, %llu served, %llu dropped, %zu skipped (queue full)\n",
           (unsigned long long)st.answered, (unsigned long long)st.served, (unsigned long long)st.dropped, busy);
    free(e2e);
    free(frames);
    free(image);
    sushi_server_destroy(srv);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return 0;
}
