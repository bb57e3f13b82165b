/* Cycle-model benchmark (docs/accelerator.md, "Performance", "PB sweep").
 *
 *   bench_cycle [--no-perf] [--no-sweep] [--step-mib X]
 *
 * stderr: layer evaluations per second (sushi_cycle_cost_conv over a mix of
 * conv / 1x1 / depthwise / strided shapes) and the time of one ofa-resnet50
 * SubNet estimate with a resident SubGraph through the public backend path
 * (sushi_backend_cost), in thread CPU time. Targets: >= 1e6 layers/s,
 * <= 20 us per estimate.
 *
 * stdout: the PB sweep as CSV: for ofa-resnet50 and ofa-mbv3-w1.0, presets
 * zcu104 and u50, the smallest and largest SubNet at 224, PB from 0 to 28 MiB:
 * latency and energy when the SubGraph resident in the PB is the served
 * SubNet's own weights truncated to the PB (the best case for that SubNet).
 * tools/plot_pb_sweep.py draws docs/img/pb_sweep.png from it. Asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sushi/sushi.h>
#include "sushi/cycle.h"

/* Thread CPU time: the machines this runs on are shared, and wall time
 * under contention measures the neighbours, not the model. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "bench_cycle: %s: %s\n", what, sushi_status_str(rc));
    return 1;
}

static volatile uint64_t g_sink;

static void bench_layers(void)
{
    enum { N = 64 };
    sushi_conv_shape sh[N];
    for (int i = 0; i < N; i++) {
        uint32_t c = 8u + 24u * (uint32_t)(i % 20), x = 7u << (i % 5);
        int kind = i % 4;
        sh[i] = (sushi_conv_shape){ .op = kind == 3 ? SUSHI_OP_DWCONV : SUSHI_OP_CONV,
                                    .k = kind == 3 ? c : c + 16u * (uint32_t)(i % 7), .c = c,
                                    .r = kind == 1 ? 1 : (kind == 3 ? 3u + 2u * (uint32_t)(i % 3) : 3),
                                    .x = x, .y = x, .stride_x = 1u + (uint32_t)(i % 2), .hit_bytes = 100u * (uint32_t)i };
        sh[i].s = sh[i].r;
        sh[i].stride_y = sh[i].stride_x;
        sh[i].pad_x = sh[i].pad_y = sh[i].r / 2;
    }
    sushi_cycle_model m;
    sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
    sushi_layer_cost c;
    uint64_t n = 0;
    double t0 = now(), t;
    do {
        for (int r = 0; r < 1000; r++)
            for (int i = 0; i < N; i++) {
                sushi_cycle_cost_conv(&m, &sh[i], &c);
                g_sink += c.cycles;
            }
        n += 1000ull * N;
        t = now() - t0;
    } while (t < 0.5);
    fprintf(stderr, "layer evaluations: %.2f M/s (%.1f ns each, %llu in %.2f s)\n", (double)n / t / 1e6,
            t / (double)n * 1e9, (unsigned long long)n, t);
}

static int bench_subnet(sushi_context *ctx)
{
    sushi_supernet *sn;
    int rc = sushi_supernet_builtin(ctx, "ofa-resnet50", 0, &sn);
    if (rc)
        return die("ofa-resnet50", rc);
    sushi_config cmax = SUSHI_CONFIG_INIT, cmin = SUSHI_CONFIG_INIT;
    sushi_config_extreme(sn, true, 0, &cmax);
    sushi_config_extreme(sn, false, 0, &cmin);
    sushi_subnet *smax, *smin;
    sushi_backend *b;
    sushi_subgraph *g;
    if ((rc = sushi_subnet_create(sn, &cmax, &smax)) || (rc = sushi_subnet_create(sn, &cmin, &smin)) ||
        (rc = sushi_backend_create(sn, "cycle", &b)) || (rc = sushi_subgraph_create(sn, &g)))
        return die("setup", rc);
    sushi_subgraph_set_subnet(g, smin); /* the common SubGraph of min and max: min's weights */
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_subnet_get_stats(smax, &st);
    sushi_cost c = SUSHI_COST_INIT;
    const int iters = 20000;
    double t0 = now();
    for (int i = 0; i < iters; i++) {
        sushi_backend_cost(b, smax, g, &c);
        g_sink += c.cycles;
    }
    double t = (now() - t0) / iters;
    fprintf(stderr,
            "ofa-resnet50 max SubNet (%u layers) with the min SubNet's SubGraph resident: %.2f us per estimate "
            "(zcu104: %.3f ms, %.2f MB off chip, %.2f MB hits)\n",
            st.n_layers, t * 1e6, c.latency_s * 1e3, (double)c.offchip_bytes / 1e6, (double)c.hit_bytes / 1e6);
    sushi_subgraph_destroy(g);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(smax);
    sushi_subnet_destroy(smin);
    sushi_supernet_destroy(sn);
    return 0;
}

static int sweep(sushi_context *ctx, double step_mib)
{
    const char *fams[] = { "ofa-resnet50", "ofa-mbv3-w1.0" };
    printf("supernet,preset,subnet,subnet_weight_bytes,pb_mib,pb_bytes,latency_ms,cycles,offchip_bytes,"
           "weight_offchip_bytes,hit_bytes,energy_offchip_mj,energy_onchip_mj,energy_compute_mj,energy_mj\n");
    for (int f = 0; f < 2; f++) {
        sushi_supernet *sn;
        int rc = sushi_supernet_builtin(ctx, fams[f], 0, &sn);
        if (rc)
            return die(fams[f], rc);
        for (int big = 0; big < 2; big++) {
            sushi_config cfg = SUSHI_CONFIG_INIT;
            sushi_config_extreme(sn, big, 0, &cfg);
            sushi_subnet *s;
            sushi_subgraph *g;
            if ((rc = sushi_subnet_create(sn, &cfg, &s)) || (rc = sushi_subgraph_create(sn, &g)))
                return die("subnet", rc);
            sushi_subgraph_set_subnet(g, s);
            sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
            sushi_subnet_get_stats(s, &st);
            for (int p = 0; p < SUSHI_CYCLE_PRESET_COUNT; p++) {
                sushi_cycle_model m;
                sushi_cycle_model_init(&m, p);
                for (double mib = 0; mib <= 28.0 + 1e-9; mib += step_mib) {
                    sushi_cycle_model_set(&m, "pb_kib", mib * 1024);
                    sushi_cost c = SUSHI_COST_INIT;
                    if ((rc = sushi_cycle_cost_subnet(&m, s, g, NULL, &c)))
                        return die("cost", rc);
                    printf("%s,%s,%s,%llu,%.2f,%llu,%.4f,%llu,%llu,%llu,%llu,%.4f,%.4f,%.4f,%.4f\n", fams[f],
                           sushi_cycle_preset_name(p), big ? "max" : "min", (unsigned long long)st.weight_bytes, mib,
                           (unsigned long long)sushi_cycle_pb_bytes(&m), c.latency_s * 1e3,
                           (unsigned long long)c.cycles, (unsigned long long)c.offchip_bytes,
                           (unsigned long long)c.weight_bytes, (unsigned long long)c.hit_bytes,
                           c.energy_offchip_j * 1e3, c.energy_onchip_j * 1e3, c.energy_compute_j * 1e3,
                           c.energy_j * 1e3);
                }
            }
            sushi_subgraph_destroy(g);
            sushi_subnet_destroy(s);
        }
        sushi_supernet_destroy(sn);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int perf = 1, sw = 1;
    double step = 0.5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-perf") == 0)
            perf = 0;
        else if (strcmp(argv[i], "--no-sweep") == 0)
            sw = 0;
        else if (strcmp(argv[i], "--step-mib") == 0 && i + 1 < argc && atof(argv[i + 1]) > 0)
            step = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cycle [--no-perf] [--no-sweep] [--step-mib X]\n");
            return 1;
        }
    }
    sushi_context *ctx;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return die("context", rc);
    if (perf) {
        bench_layers();
        if (bench_subnet(ctx))
            return 1;
    }
    if (sw && sweep(ctx, step))
        return 1;
    sushi_context_destroy(ctx);
    return 0;
}
