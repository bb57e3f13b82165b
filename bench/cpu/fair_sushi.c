/* fair_sushi: the libsushi side of bench/cpu/bench_fair.py (docs/performance.md).
 *
 *   fair_sushi SUPERNET CONFIG INPUT.f32 THREADS WARMUP REPS OUTPUT.f32
 *
 * SUPERNET: a built-in name or a .sushi file. Runs the SubNet CONFIG on the
 * cpu backend (float32, batch 1, THREADS threads: the instance's "threads"
 * param) on the raw float32 input, WARMUP untimed runs then REPS timed ones
 * (wall clock around sushi_backend_run), writes the logits of the last run
 * to OUTPUT.f32 and prints one JSON line: {"engine", "median_ms", "ms": [...]}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sushi/sushi.h"

#include "bench_util.h"

static int fail(const char *what)
{
    fprintf(stderr, "fair_sushi: %s\n", what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s SUPERNET CONFIG INPUT.f32 THREADS WARMUP REPS OUTPUT.f32\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[4]), warmup = atoi(argv[5]), reps = atoi(argv[6]);
    if (threads < 1 || warmup < 0 || reps < 1)
        return fail("bad THREADS, WARMUP or REPS");
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_subnet *s = NULL;
    sushi_backend *b = NULL;
    sushi_config cfg = SUSHI_CONFIG_INIT;
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    char err[256] = "";
    if (sushi_context_create(NULL, &ctx))
        return fail("no context");
    int rc = strstr(argv[1], ".sushi") ? sushi_supernet_load_file(ctx, argv[1], NULL, &sn)
                                       : sushi_supernet_builtin(ctx, argv[1], 0, &sn);
    if (rc || sushi_supernet_get_info(sn, &info) || sushi_config_parse(sn, argv[2], 0, &cfg, err, sizeof err) ||
        sushi_subnet_create(sn, &cfg, &s) || sushi_backend_create(sn, "cpu", &b) ||
        sushi_backend_set_param(b, "threads", threads))
        return fail(err[0] ? err : "cannot make the SubNet or the cpu backend");
    size_t n_in = (size_t)info.in_channels * cfg.resolution * cfg.resolution, n_out = info.num_classes;
    float *x = malloc(n_in * sizeof *x), *y = calloc(n_out, sizeof *y);
    double *t = malloc((size_t)reps * sizeof *t);
    FILE *f = fopen(argv[3], "rb");
    if (!x || !y || !t || !f || fread(x, sizeof *x, n_in, f) != n_in)
        return fail("cannot read the input (wrong size?)");
    fclose(f);
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = n_in, a.output = y, a.output_len = n_out;
    for (int i = 0; i < warmup; i++)
        if (sushi_backend_run(b, s, &a, NULL))
            return fail("run failed");
    for (int i = 0; i < reps; i++) {
        double t0 = now_s();
        if (sushi_backend_run(b, s, &a, NULL))
            return fail("run failed");
        t[i] = (now_s() - t0) * 1e3;
    }
    f = fopen(argv[7], "wb");
    if (!f || fwrite(y, sizeof *y, n_out, f) != n_out || fclose(f))
        return fail("cannot write the output");
    printf("{\"engine\": \"libsushi\", \"threads\": %d, \"ms\": [", threads);
    for (int i = 0; i < reps; i++)
        printf("%s%.4f", i ? ", " : "", t[i]);
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    printf("], \"median_ms\": %.4f}\n", med);
    free(x), free(y), free(t);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return 0;
}
