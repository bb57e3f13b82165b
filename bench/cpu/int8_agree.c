/* int8_agree: top-1 agreement of the int8 path with float32 on Fashion-MNIST,
 * for the candidates of a SuperNet file (docs/int8.md, "Accuracy").
 *
 *   int8_agree FILE [--images N] [--calib N] [--keep F] [--train-from I] [--dir DIR] [-j JOBS] [CANDIDATE...]
 *
 * Defaults: all 10,000 test images, calibration on the first 2,000 training
 * images with the library's default range rule, every candidate of the file,
 * 1 job. --keep F overrides the least-squares range rule through the
 * internal entry point: the central fraction F of each activation's values
 * (0 < F < 1), min/max (F = 1); F <= 0 is the default rule.
 * --train-from I measures on training images I, I+1, ... instead of the test
 * set (to choose calibration settings without looking at the test set).
 * Prints one JSON line per candidate and a summary line (min / mean agreement). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "backends/cpu/cpu_internal.h"

/* --keep: calibrate through the internal entry point with this keep fraction */
static double fmnist_calib_keep = -1.0;
#define FMNIST_CALIBRATE(s, x, n, r, nr)                                                                        \
    (fmnist_calib_keep > 0 ? cpu_calibrate_ranges_keep((s), (x), (n), fmnist_calib_keep, (r))                   \
                           : sushi_cpu_calibrate_int8((s), (x), (n), (r), (nr)))

#include "tests/cpu/fmnist_agree.h"

typedef struct job {
    const sushi_supernet *sn;
    const fmnist_split *calib, *test;
    uint32_t n_calib, n_test;
    uint32_t *cands, n_cands;
    atomic_uint next;
    fmnist_agree *res;
    int *rc;
} job;

static void *worker(void *arg)
{
    job *J = arg;
    for (;;) {
        uint32_t k = atomic_fetch_add(&J->next, 1);
        if (k >= J->n_cands)
            return NULL;
        J->rc[k] = fmnist_agreement(J->sn, J->cands[k], J->calib, J->n_calib, J->test, J->n_test, &J->res[k]);
    }
}

int main(int argc, char **argv)
{
    const char *file = NULL, *dir = FMNIST_DEFAULT_DIR;
    uint32_t n_test = 0, n_calib = 2000, jobs = 1, n_c = 0;
    int train_from = -1;
    uint32_t *cands = calloc((size_t)argc + 1, sizeof *cands);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--images") == 0 && i + 1 < argc)
            n_test = (uint32_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--calib") == 0 && i + 1 < argc)
            n_calib = (uint32_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--train-from") == 0 && i + 1 < argc)
            train_from = atoi(argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
            fmnist_calib_keep = atof(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = (uint32_t)atoi(argv[++i]);
        else if (!file)
            file = argv[i];
        else
            cands[n_c++] = (uint32_t)atoi(argv[i]);
    }
    if (!file || !n_calib || !jobs) {
        fprintf(stderr, "usage: int8_agree FILE [--images N] [--calib N] [--dir DIR] [-j JOBS] [CANDIDATE...]\n");
        return 2;
    }
    sushi_context *ctx;
    sushi_supernet *sn;
    if (sushi_context_create(NULL, &ctx) || sushi_supernet_load_file(ctx, file, NULL, &sn)) {
        fprintf(stderr, "int8_agree: cannot load %s\n", file);
        return 1;
    }
    sushi_cpu_set_threads(1);
    fmnist_split calib, test;
    if (!fmnist_load(dir, "train", 0, n_calib, &calib) ||
        !fmnist_load(dir, train_from >= 0 ? "train" : "t10k", train_from >= 0 ? (uint32_t)train_from : 0, n_test,
                     &test)) {
        fprintf(stderr, "int8_agree: cannot read Fashion-MNIST from %s\n", dir);
        return 1;
    }
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &si);
    if (!n_c) {
        free(cands);
        cands = calloc(si.n_candidates + 1u, sizeof *cands);
        for (; n_c < si.n_candidates; n_c++)
            cands[n_c] = n_c;
    }
    job J = { .sn = sn, .calib = &calib, .test = &test, .n_calib = calib.n, .n_test = test.n, .cands = cands,
              .n_cands = n_c, .res = calloc(n_c, sizeof(fmnist_agree)), .rc = calloc(n_c, sizeof(int)) };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t th[64];
    if (jobs > 64)
        jobs = 64;
    for (uint32_t t = 0; t < jobs; t++)
        pthread_create(&th[t], NULL, worker, &J);
    for (uint32_t t = 0; t < jobs; t++)
        pthread_join(th[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double mn = 1.0, sum = 0.0;
    uint32_t worst = 0;
    int rc = 0;
    for (uint32_t k = 0; k < n_c; k++) {
        const fmnist_agree *r = &J.res[k];
        sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
        sushi_supernet_candidate(sn, cands[k], &info);
        if (J.rc[k] || !r->n) {
            printf("{\"candidate\": %u, \"error\": \"%s\"}\n", cands[k], sushi_status_name(J.rc[k]));
            rc = 1;
            continue;
        }
        double ag = (double)r->agree / r->n;
        printf("{\"candidate\": %u, \"resolution\": %u, \"mmacs\": %.3f, \"images\": %u, \"agree\": %.4f, "
               "\"f32_top1\": %.4f, \"int8_top1\": %.4f, \"max_rel_dlogit\": %.4f}\n",
               cands[k], r->resolution, info.macs / 1e6, r->n, ag, (double)r->f32_ok / r->n,
               (double)r->q8_ok / r->n, r->max_dlogit);
        if (ag < mn)
            mn = ag, worst = cands[k];
        sum += ag;
    }
    printf("{\"file\": \"%s\", \"candidates\": %u, \"images\": %u, \"calib\": %u, \"min_agree\": %.4f, "
           "\"worst\": %u, \"mean_agree\": %.4f, \"keep\": %g, \"split\": \"%s\", \"seconds\": %.1f}\n",
           file, n_c, test.n, calib.n, mn, worst, n_c ? sum / n_c : 0.0, fmnist_calib_keep,
           train_from >= 0 ? "train" : "test",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    fmnist_free(&calib), fmnist_free(&test);
    free(J.res), free(J.rc), free(cands);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return rc;
}
