/* bench_cpu: float32 latency of the cpu backend (batch 1) and the GFLOP/s of
 * its 1x1-convolution GEMMs against OpenBLAS's own large sgemm, in one run.
 *
 *   bench_cpu [--threads N] [--reps R] [SUPERNET CONFIG]...
 *
 * Default SubNets: ofa-mbv3-w1.0 max@224 and min@224, ofa-resnet50 max@224
 * and min@224. Prints one JSON object per line (docs/performance.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"
#include "sushi/cpu.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* OpenBLAS large sgemm GFLOP/s (n x n x n), median of reps */
static double big_sgemm_gflops(int n, int reps)
{
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    cpu_test_input(1, a, (size_t)n * n);
    cpu_test_input(2, b, (size_t)n * n);
    double *t = malloc(sizeof(double) * reps);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        t[r] = now_s() - t0;
    }
    double g = 2.0 * n * (double)n * n / median(t, reps) * 1e-9;
    free(a), free(b), free(c), free(t);
    return g;
}

static int bench_one(sushi_context *ctx, const char *name, const char *cfgtext, int reps, int threads)
{
    sushi_supernet *sn = NULL;
    sushi_subnet *s = NULL;
    sushi_backend *b = NULL;
    sushi_config cfg = SUSHI_CONFIG_INIT;
    char err[256] = "";
    if (sushi_supernet_builtin(ctx, name, 0, &sn) || sushi_config_parse(sn, cfgtext, 0, &cfg, err, sizeof err) ||
        sushi_subnet_create(sn, &cfg, &s) || sushi_backend_create(sn, "cpu", &b)) {
        fprintf(stderr, "bench_cpu: %s %s: %s\n", name, cfgtext, err);
        return 1;
    }
    size_t n_in = (size_t)sn->in_channels * cfg.resolution * cfg.resolution;
    float *x = malloc(n_in * sizeof *x), *out = malloc(sn->num_classes * sizeof *out);
    cpu_test_input(7, x, n_in);
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = n_in, a.output = out, a.output_len = sn->num_classes;
    double *t = malloc(sizeof(double) * reps);
    for (int w = 0; w < 3; w++)
        sushi_backend_run(b, s, &a, NULL);
    for (int r = 0; r < reps; r++) {
        sushi_cost c = SUSHI_COST_INIT;
        sushi_backend_run(b, s, &a, &c);
        t[r] = c.latency_s;
    }
    double med = median(t, reps);
    /* per-layer time of the 1x1 convolutions (GEMM + BN/act epilogue) and of
     * everything else, from a plan with every value kept */
    float **vp = calloc(s->n_values, sizeof *vp);
    vp[0] = x;
    for (uint32_t v = 1; v < s->n_values; v++)
        vp[v] = malloc((size_t)s->values[v].c * s->values[v].h * s->values[v].w * sizeof(float));
    float *scratch = malloc(cpu_f32_scratch_bytes(s));
    /* medians over lreps passes (each layer, and the GEMM sum of a pass), so
     * that a pass slowed down by another job on the machine does not count */
    int lreps = reps < 9 ? reps : 9;
    double *lt = calloc(s->n_layers, sizeof *lt), *lr = calloc((size_t)lreps * s->n_layers, sizeof *lr);
    double *gr = calloc((size_t)lreps, sizeof *gr);
    for (int r = 0; r < lreps; r++)
        for (uint32_t li = 0; li < s->n_layers; li++) {
            double t0 = now_s();
            cpu_f32_layer(s, li, vp, scratch, false);
            lr[(size_t)li * lreps + r] = now_s() - t0;
        }
    for (uint32_t li = 0; li < s->n_layers; li++)
        lt[li] = median(lr + (size_t)li * lreps, lreps);
    /* the 1x1 GEMMs alone (same shapes and routine as the backend, weights
     * read in place, no epilogue) */
    for (int r = 0; r < lreps; r++)
        for (uint32_t li = 0; li < s->n_layers; li++) {
            const sushi_layer *l = &s->layers[li];
            if (!(l->op == SUSHI_OP_CONV && l->kernel == 1 && l->stride == 1))
                continue;
            const sushi_tensor *wt = &sn->tensors[l->w];
            int n = (int)(l->out_h * l->out_w);
            double t0 = now_s();
            cpu_f32_gemm(l->out_c, (size_t)n, l->in_c, wt->data, (size_t)(wt->nelem / wt->shape[0]), vp[l->input],
                         vp[l->output]);
            gr[r] += now_s() - t0;
        }
    double tg = median(gr, lreps);
    free(lr), free(gr);
    double t1x1 = 0, tkxk = 0, tdw = 0, tother = 0;
    uint64_t m1x1 = 0, mkxk = 0, mdw = 0;
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        if (l->op == SUSHI_OP_CONV && l->kernel == 1 && l->stride == 1)
            t1x1 += lt[li], m1x1 += l->macs;
        else if (l->op == SUSHI_OP_CONV)
            tkxk += lt[li], mkxk += l->macs;
        else if (l->op == SUSHI_OP_DWCONV)
            tdw += lt[li], mdw += l->macs;
        else
            tother += lt[li];
    }
    sushi_cpu_memory mem = SUSHI_CPU_MEMORY_INIT;
    sushi_cpu_memory_plan(s, &mem);
    printf("{\"supernet\": \"%s\", \"config\": \"%s\", \"threads\": %d, \"reps\": %d, \"median_ms\": %.3f, "
           "\"min_ms\": %.3f, \"macs\": %llu, \"gflops\": %.2f, \"conv1x1_ms\": %.3f, \"conv1x1_gflops\": %.2f, \"gemm1x1_gflops\": %.2f, "
           "\"convkxk_ms\": %.3f, \"convkxk_gflops\": %.2f, \"dwconv_ms\": %.3f, \"dwconv_gflops\": %.2f, "
           "\"other_ms\": %.3f, \"arena_bytes\": %llu, \"scratch_bytes\": %llu, \"unplanned_bytes\": %llu}\n",
           name, cfgtext, threads, reps, med * 1e3, t[0] * 1e3, (unsigned long long)s->macs,
           2.0 * s->macs / med * 1e-9, t1x1 * 1e3, 2.0 * m1x1 / t1x1 * 1e-9, 2.0 * m1x1 / tg * 1e-9, tkxk * 1e3,
           tkxk > 0 ? 2.0 * mkxk / tkxk * 1e-9 : 0.0, tdw * 1e3, tdw > 0 ? 2.0 * mdw / tdw * 1e-9 : 0.0, tother * 1e3,
           (unsigned long long)mem.arena_bytes, (unsigned long long)mem.scratch_bytes,
           (unsigned long long)mem.unplanned_bytes);
    fflush(stdout);
    for (uint32_t v = 1; v < s->n_values; v++)
        free(vp[v]);
    free(vp), free(scratch), free(lt), free(t), free(x), free(out);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1, reps = 20, i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            break;
    }
    if (sushi_cpu_set_threads(threads) || reps < 1) {
        fprintf(stderr, "usage: bench_cpu [--threads N] [--reps R] [SUPERNET CONFIG]...\n");
        return 2;
    }
    sushi_context *ctx;
    if (sushi_context_create(NULL, &ctx))
        return 1;
    printf("{\"openblas\": \"%s\", \"core\": \"%s\", \"threads\": %d, \"sgemm2048_gflops\": %.2f}\n",
           openblas_get_config(), openblas_get_corename(), threads, big_sgemm_gflops(2048, 5));
    int rc = 0;
    if (i < argc) {
        for (; i + 1 < argc; i += 2)
            rc |= bench_one(ctx, argv[i], argv[i + 1], reps, threads);
    } else {
        static const char *def[][2] = { { "ofa-mbv3-w1.0", "max@224" },
                                        { "ofa-mbv3-w1.0", "min@224" },
                                        { "ofa-resnet50", "max@224" },
                                        { "ofa-resnet50", "min@224" } };
        for (size_t k = 0; k < sizeof def / sizeof def[0]; k++)
            rc |= bench_one(ctx, def[k][0], def[k][1], reps, threads);
    }
    sushi_context_destroy(ctx);
    return rc;
}
