/* bench_cpu: float32 latency of the cpu backend (batch 1) and the GFLOP/s of
 * its 1x1-convolution GEMMs against OpenBLAS's own large sgemm, in one run;
 * each SubNet is also timed with every 3x3 conv on im2col (the conv mode is
 * switched in-process), and the Winograd layers are reported apart.
 *
 *   bench_cpu [--threads N] [--reps R] [--layers] [SUPERNET CONFIG]...
 *
 * --layers: one line per Winograd-eligible conv (current mode, im2col and
 * forced-Winograd times). Default SubNets: ofa-mbv3-w1.0 max@224 and
 * min@224, ofa-resnet50 max@224 and min@224. Prints one JSON object per line
 * (docs/performance.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"
#include "sushi/cpu.h"

#include "bench_util.h"

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

static const char *mode_name(int mode)
{
    return mode == CPU_CONV_IM2COL ? "im2col" : mode == CPU_CONV_WINOGRAD ? "winograd" : "auto";
}

/* median over reps passes of each layer's time, under the current conv mode */
static double *layer_times(const sushi_subnet *s, float **vp, float *scratch, int reps)
{
    double *lt = calloc(s->n_layers, sizeof *lt), *lr = calloc((size_t)reps * s->n_layers, sizeof *lr);
    for (int r = 0; r < reps; r++)
        for (uint32_t li = 0; li < s->n_layers; li++) {
            double t0 = now_s();
            cpu_f32_layer(s, li, vp, scratch, false);
            lr[(size_t)li * reps + r] = now_s() - t0;
        }
    for (uint32_t li = 0; li < s->n_layers; li++)
        lt[li] = median(lr + (size_t)li * reps, reps);
    free(lr);
    return lt;
}

/* median time of layer li forced to Winograd (for choosing the threshold) */
static double wino_layer_time(const sushi_subnet *s, uint32_t li, float **vp, float *scratch, int reps)
{
    int mode = cpu_conv_mode();
    cpu_conv_set_mode(CPU_CONV_WINOGRAD);
    double *t = malloc(sizeof(double) * reps);
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        cpu_f32_layer(s, li, vp, scratch, false);
        t[r] = now_s() - t0;
    }
    double m = median(t, reps);
    free(t);
    cpu_conv_set_mode(mode);
    return m;
}

static bool per_layer;

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
    /* the same SubNet with every 3x3 conv on im2col, in the same process
     * (the backend rebuilds its plan for the mode) */
    int mode = cpu_conv_mode();
    double med_im2col = 0.0;
    if (mode != CPU_CONV_IM2COL) {
        cpu_conv_set_mode(CPU_CONV_IM2COL);
        for (int w = 0; w < 3; w++)
            sushi_backend_run(b, s, &a, NULL);
        double *t2 = malloc(sizeof(double) * reps);
        for (int r = 0; r < reps; r++) {
            sushi_cost c = SUSHI_COST_INIT;
            sushi_backend_run(b, s, &a, &c);
            t2[r] = c.latency_s;
        }
        med_im2col = median(t2, reps);
        free(t2);
        cpu_conv_set_mode(mode);
    }
    /* per-layer time of the 1x1 convolutions (GEMM + BN/act epilogue) and of
     * everything else, from a plan with every value kept */
    float **vp = calloc(s->n_values, sizeof *vp);
    vp[0] = x;
    for (uint32_t v = 1; v < s->n_values; v++)
        vp[v] = malloc((size_t)s->values[v].c * s->values[v].h * s->values[v].w * sizeof(float));
    size_t sb = 0; /* enough for every mode: layers are timed under each */
    for (int m = CPU_CONV_AUTO; m <= CPU_CONV_WINOGRAD; m++) {
        cpu_conv_set_mode(m);
        size_t need = cpu_f32_scratch_bytes(s);
        sb = need > sb ? need : sb;
    }
    cpu_conv_set_mode(mode);
    float *scratch = malloc(sb);
    /* medians over lreps passes (each layer, and the GEMM sum of a pass), so
     * that a pass slowed down by another job on the machine does not count */
    int lreps = reps < 9 ? reps : 9;
    double *lt = layer_times(s, vp, scratch, lreps);
    /* the layers the current mode runs as Winograd, timed on im2col too */
    cpu_conv_set_mode(CPU_CONV_IM2COL);
    double *lt_im2col = layer_times(s, vp, scratch, lreps);
    cpu_conv_set_mode(mode);
    double *gr = calloc((size_t)lreps, sizeof *gr);
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
    free(gr);
    double t1x1 = 0, tkxk = 0, tdw = 0, tother = 0, twino = 0, twino_im2col = 0;
    uint64_t m1x1 = 0, mkxk = 0, mdw = 0, mwino = 0;
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        if (cpu_wino_eligible(l) && per_layer)
            printf("{\"layer\": \"%s\", \"c\": %u, \"k\": %u, \"h\": %u, \"w\": %u, \"tiles\": %zu, "
                   "\"winograd\": %s, \"ms\": %.4f, \"im2col_ms\": %.4f, \"wino_forced_ms\": %.4f}\n",
                   l->name, l->in_c, l->out_c, l->out_h, l->out_w,
                   (size_t)((l->out_h + 3) / 4) * ((l->out_w + 3) / 4), cpu_wino_selected(l) ? "true" : "false",
                   lt[li] * 1e3, lt_im2col[li] * 1e3, wino_layer_time(s, li, vp, scratch, lreps) * 1e3);
        if (l->op == SUSHI_OP_CONV && cpu_wino_selected(l))
            twino += lt[li], twino_im2col += lt_im2col[li], mwino += l->macs;
        else if (l->op == SUSHI_OP_CONV && l->kernel == 1 && l->stride == 1)
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
           "\"other_ms\": %.3f, \"arena_bytes\": %llu, \"scratch_bytes\": %llu, \"unplanned_bytes\": %llu, "
           "\"conv_mode\": \"%s\", \"wino_ms\": %.3f, \"wino_gflops\": %.2f, \"wino_as_im2col_ms\": %.3f, "
           "\"im2col_median_ms\": %.3f}\n",
           name, cfgtext, threads, reps, med * 1e3, t[0] * 1e3, (unsigned long long)s->macs,
           2.0 * s->macs / med * 1e-9, t1x1 * 1e3, 2.0 * m1x1 / t1x1 * 1e-9, 2.0 * m1x1 / tg * 1e-9, tkxk * 1e3,
           tkxk > 0 ? 2.0 * mkxk / tkxk * 1e-9 : 0.0, tdw * 1e3, tdw > 0 ? 2.0 * mdw / tdw * 1e-9 : 0.0, tother * 1e3,
           (unsigned long long)mem.arena_bytes, (unsigned long long)mem.scratch_bytes,
           (unsigned long long)mem.unplanned_bytes, mode_name(mode), twino * 1e3,
           twino > 0 ? 2.0 * mwino / twino * 1e-9 : 0.0, twino_im2col * 1e3, med_im2col * 1e3);
    fflush(stdout);
    for (uint32_t v = 1; v < s->n_values; v++)
        free(vp[v]);
    free(vp), free(scratch), free(lt), free(lt_im2col), free(t), free(x), free(out);
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
        else if (strcmp(argv[i], "--layers") == 0)
            per_layer = true;
        else
            break;
    }
    if (sushi_cpu_set_threads(threads) || reps < 1) {
        fprintf(stderr, "usage: bench_cpu [--threads N] [--reps R] [--layers] [SUPERNET CONFIG]...\n");
        return 2;
    }
    sushi_context *ctx;
    if (sushi_context_create(NULL, &ctx))
        return 1;
    printf("{\"openblas\": \"%s\", \"core\": \"%s\", \"conv_gemm\": \"%s\", \"threads\": %d, "
           "\"sgemm2048_gflops\": %.2f}\n",
           openblas_get_config(), openblas_get_corename(), cpu_gemm_own() ? "libsushi-avx512" : "openblas", threads,
           big_sgemm_gflops(2048, 5));
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
