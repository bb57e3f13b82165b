/* layer_threads: per-layer float32 time of the cpu backend on 1 thread and on
 * N threads, passes alternating in one process (docs/performance.md,
 * "Per-layer 1- vs 2-thread timing"), to find what does not split well.
 *
 *   layer_threads [--threads N] [--reps R] [--all] SUPERNET CONFIG
 *
 * Each pass runs every layer on a pool of 1 thread, then on a pool of N
 * (alternating which goes first); per-layer medians over R passes of the
 * wall time ("ms_1", "ms_N") and of the CPU-time estimate ("cpu_1",
 * "cpu_N": the caller's thread CPU time outside the pool's loops plus, per
 * loop, the longest part's thread CPU time: the layer's time on otherwise
 * idle cores, which other jobs on a shared machine hardly change). Prints a
 * JSON line per layer (--all; otherwise only layers of >= 1 % of the 1-thread
 * time), one per kind of layer and a total; each also
 * "work_N" (CPU time of all threads: the caller outside the loops plus every
 * part, spinning excluded) and "work_growth" (work_N / work_1: the same work
 * run slower when split). "alone_1": the layer's median
 * over R runs in a row on its input at 1 thread (warm caches, as a layer
 * benchmark of another engine times it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"
#include "sushi/cpu.h"

#include "bench_util.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* kind of a layer for the summary */
static const char *kind(const sushi_layer *l)
{
    switch (l->op) {
    case SUSHI_OP_CONV:
        if (cpu_wino_selected(l))
            return "conv3x3-winograd";
        if (l->kernel == 1)
            return l->stride == 1 ? "conv1x1" : "conv1x1-s2";
        return l->in_c <= 4 ? "conv-first" : "conv-kxk-im2col";
    case SUSHI_OP_DWCONV: return "dwconv";
    case SUSHI_OP_LINEAR: return "linear";
    case SUSHI_OP_MAXPOOL: return "maxpool";
    case SUSHI_OP_AVGPOOL: return "avgpool";
    case SUSHI_OP_GAP: return "gap";
    case SUSHI_OP_ADD: return "add";
    case SUSHI_OP_SE: return "se";
    default: return "other";
    }
}

int main(int argc, char **argv)
{
    int nt = 2, reps = 15, all = 0, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else
            break;
    }
    if (argc - i != 2 || nt < 1 || reps < 1) {
        fprintf(stderr, "usage: layer_threads [--threads N] [--reps R] [--all] SUPERNET CONFIG\n");
        return 2;
    }
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_subnet *s = NULL;
    sushi_config cfg = SUSHI_CONFIG_INIT;
    char err[256] = "";
    if (sushi_context_create(NULL, &ctx) ||
        (strstr(argv[i], ".sushi") ? sushi_supernet_load_file(ctx, argv[i], NULL, &sn)
                                   : sushi_supernet_builtin(ctx, argv[i], 0, &sn)) ||
        sushi_config_parse(sn, argv[i + 1], 0, &cfg, err, sizeof err) || sushi_subnet_create(sn, &cfg, &s)) {
        fprintf(stderr, "layer_threads: %s\n", err[0] ? err : "cannot make the SubNet");
        sushi_supernet_destroy(sn);
        sushi_context_destroy(ctx);
        return 1;
    }
    cpu_blas_single_thread();
    cpu_pool *p1 = NULL, *pn = NULL;
    if (cpu_pool_create(ctx, 1, &p1) || cpu_pool_create(ctx, (unsigned)nt, &pn) || cpu_pool_stats_enable(p1) ||
        cpu_pool_stats_enable(pn)) {
        fprintf(stderr, "layer_threads: no pool\n");
        cpu_pool_destroy(p1);
        cpu_pool_destroy(pn);
        sushi_subnet_destroy(s);
        sushi_supernet_destroy(sn);
        sushi_context_destroy(ctx);
        return 1;
    }
    cpu_exec e1 = { p1, 1 }, en = { pn, (unsigned)nt };
    size_t n_in = (size_t)sn->in_channels * cfg.resolution * cfg.resolution;
    float **vp = calloc(s->n_values, sizeof *vp);
    vp[0] = malloc(n_in * sizeof(float));
    cpu_test_input(7, vp[0], n_in);
    for (uint32_t v = 1; v < s->n_values; v++)
        vp[v] = calloc((size_t)s->values[v].c * s->values[v].h * s->values[v].w, sizeof(float));
    size_t sb = cpu_f32_scratch_bytes_nt(s, (unsigned)nt);
    void *raw = NULL;
    float *scratch = cpu_aligned_alloc(ctx, sb, &raw);
    double *t1 = calloc((size_t)reps * s->n_layers, sizeof *t1), *tn = calloc((size_t)reps * s->n_layers, sizeof *tn);
    double *c1 = calloc((size_t)reps * s->n_layers, sizeof *c1), *cn = calloc((size_t)reps * s->n_layers, sizeof *cn);
    double *w1 = calloc((size_t)reps * s->n_layers, sizeof *w1), *wn = calloc((size_t)reps * s->n_layers, sizeof *wn);
    double *pass1 = calloc((size_t)reps, sizeof *pass1), *passn = calloc((size_t)reps, sizeof *passn);
    for (int r = -2; r < reps; r++) {
        for (int o = 0; o < 2; o++) {
            int use_n = (o + (r & 1)) & 1;
            const cpu_exec *ex = use_n ? &en : &e1;
            double sum = 0.0;
            for (uint32_t li = 0; li < s->n_layers; li++) {
                cpu_pool_stats s0 = cpu_pool_stats_get(ex->pool);
                double u0 = cpu_s(), t0 = now_s();
                cpu_f32_layer_x(ex, s, li, vp, scratch, false);
                double dt = now_s() - t0, du = cpu_s() - u0;
                cpu_pool_stats s1 = cpu_pool_stats_get(ex->pool);
                sum += dt;
                if (r >= 0) {
                    (use_n ? tn : t1)[(size_t)li * reps + r] = dt;
                    (use_n ? cn : c1)[(size_t)li * reps + r] = du - (s1.in_for_s - s0.in_for_s) + (s1.span_s - s0.span_s);
                    (use_n ? wn : w1)[(size_t)li * reps + r] = du - (s1.in_for_s - s0.in_for_s) + (s1.busy_s - s0.busy_s);
                }
            }
            if (r >= 0)
                (use_n ? passn : pass1)[r] = sum;
        }
    }
    /* each layer alone: REPS runs in a row on its input (warm caches), 1 thread */
    double *alone = calloc(s->n_layers, sizeof *alone), *ta = calloc((size_t)reps, sizeof *ta);
    for (uint32_t li = 0; li < s->n_layers; li++) {
        for (int r = -2; r < reps; r++) {
            double t0 = now_s();
            cpu_f32_layer_x(&e1, s, li, vp, scratch, false);
            if (r >= 0)
                ta[r] = now_s() - t0;
        }
        alone[li] = median(ta, reps);
    }
    double tot1 = 0.0, totn = 0.0, ctot1 = 0.0, ctotn = 0.0;
    double *m1 = calloc(s->n_layers, sizeof *m1), *mn = calloc(s->n_layers, sizeof *mn);
    double *u1 = calloc(s->n_layers, sizeof *u1), *un = calloc(s->n_layers, sizeof *un);
    double *k1 = calloc(s->n_layers, sizeof *k1), *kn = calloc(s->n_layers, sizeof *kn);
    double wtot1 = 0.0, wtotn = 0.0;
    for (uint32_t li = 0; li < s->n_layers; li++) {
        m1[li] = median(t1 + (size_t)li * reps, reps);
        mn[li] = median(tn + (size_t)li * reps, reps);
        u1[li] = median(c1 + (size_t)li * reps, reps);
        un[li] = median(cn + (size_t)li * reps, reps);
        k1[li] = median(w1 + (size_t)li * reps, reps);
        kn[li] = median(wn + (size_t)li * reps, reps);
        wtot1 += k1[li], wtotn += kn[li];
        tot1 += m1[li], totn += mn[li], ctot1 += u1[li], ctotn += un[li];
    }
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        if (!all && u1[li] < 0.01 * ctot1)
            continue;
        printf("{\"layer\": %u, \"kind\": \"%s\", \"k\": %u, \"stride\": %u, \"in\": [%u, %u, %u], \"out\": [%u, %u, %u], "
               "\"ms_1\": %.3f, \"ms_%d\": %.3f, \"speedup\": %.2f, \"cpu_1\": %.3f, \"cpu_%d\": %.3f, \"cpu_speedup\": %.2f, "
               "\"alone_1\": %.3f, \"work_%d\": %.3f, \"work_growth\": %.2f}\n",
               li, kind(l), l->kernel, l->stride, l->in_c, l->in_h, l->in_w, l->out_c, l->out_h, l->out_w,
               m1[li] * 1e3, nt, mn[li] * 1e3, m1[li] / mn[li], u1[li] * 1e3, nt, un[li] * 1e3, u1[li] / un[li],
               alone[li] * 1e3, nt, kn[li] * 1e3, kn[li] / k1[li]);
    }
    const char *kinds[] = { "conv-first", "conv1x1", "conv1x1-s2", "conv-kxk-im2col", "conv3x3-winograd", "dwconv",
                            "linear", "maxpool", "avgpool", "gap", "add", "se", "other" };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        double a = 0.0, b = 0.0, ca = 0.0, cb = 0.0, al = 0.0, wa = 0.0, wb = 0.0;
        int n = 0;
        for (uint32_t li = 0; li < s->n_layers; li++)
            if (strcmp(kind(&s->layers[li]), kinds[k]) == 0)
                a += m1[li], b += mn[li], ca += u1[li], cb += un[li], al += alone[li], wa += k1[li], wb += kn[li], n++;
        if (n)
            printf("{\"kind\": \"%s\", \"layers\": %d, \"ms_1\": %.3f, \"ms_%d\": %.3f, \"speedup\": %.2f, "
                   "\"cpu_1\": %.3f, \"cpu_%d\": %.3f, \"cpu_speedup\": %.2f, \"alone_1\": %.3f, "
                   "\"work_%d\": %.3f, \"work_growth\": %.2f}\n",
                   kinds[k], n, a * 1e3, nt, b * 1e3, a / b, ca * 1e3, nt, cb * 1e3, ca / cb, al * 1e3, nt, wb * 1e3,
                   wb / wa);
    }
    double mp1 = median(pass1, reps), mpn = median(passn, reps);
    printf("{\"total\": true, \"ms_1\": %.3f, \"ms_%d\": %.3f, \"speedup\": %.2f, \"pass_median_1\": %.3f, "
           "\"pass_median_%d\": %.3f, \"pass_speedup\": %.2f, \"cpu_1\": %.3f, \"cpu_%d\": %.3f, \"cpu_speedup\": %.2f, \"work_%d\": %.3f, \"work_growth\": %.2f}\n",
           tot1 * 1e3, nt, totn * 1e3, tot1 / totn, mp1 * 1e3, nt, mpn * 1e3, mp1 / mpn, ctot1 * 1e3, nt, ctotn * 1e3,
           ctot1 / ctotn, nt, wtotn * 1e3, wtotn / wtot1);
    cpu_pool_stats st = cpu_pool_stats_get(pn);
    printf("{\"loops_per_pass\": %.1f, \"split_loops_per_pass\": %.1f}\n", (double)st.loops / (reps + 2),
           (double)st.split / (reps + 2));
    cpu_pool_destroy(p1);
    cpu_pool_destroy(pn);
    sushi_free(ctx, raw);
    double *arrays[] = { t1, tn, c1, cn, w1, wn, pass1, passn, alone, ta, m1, mn, u1, un, k1, kn };
    for (size_t a = 0; a < sizeof arrays / sizeof *arrays; a++)
        free(arrays[a]);
    for (uint32_t v = 0; v < s->n_values; v++)
        free(vp[v]);
    free(vp);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return 0;
}
