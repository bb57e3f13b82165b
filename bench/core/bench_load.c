/* Load throughput and peak RSS of a SuperNet file with stored float32
 * weights, against `cat FILE > /dev/null` and a memcpy of the same bytes in
 * the same run; and SubGraph intersection + hit bytes of two ofa-resnet50
 * SubNets. Prints figures; asserts nothing (docs/performance.md).
 *
 *   bench_load [FILE]   (default: writes builtin ofa-resnet50 as f32 to /tmp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sushi/sushi.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

/* Peak RSS of a child that loads the file once (ru_maxrss of the child only). */
static long child_peak_rss_kib(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        sushi_context *ctx;
        sushi_supernet *sn;
        if (sushi_context_create(NULL, &ctx) || sushi_supernet_load_file(ctx, path, NULL, &sn))
            _exit(1);
        sushi_supernet_destroy(sn);
        sushi_context_destroy(ctx);
        _exit(0);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/sushi-bench-resnet50-f32.sushi";
    /* Write the file (if needed) and measure the load's peak RSS in children
     * forked while this process is still small: ru_maxrss is inherited. */
    if (argc <= 1) {
        pid_t pid = fork();
        if (pid == 0) {
            sushi_context *c0;
            sushi_supernet *s0;
            if (sushi_context_create(NULL, &c0) || sushi_supernet_builtin(c0, "ofa-resnet50", 0, &s0))
                _exit(1);
            sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
            so.weights = SUSHI_WEIGHTS_F32;
            int rc = sushi_supernet_save_file(s0, path, &so);
            if (rc)
                fprintf(stderr, "save: %s\n", sushi_status_str(rc));
            _exit(rc ? 1 : 0);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 1;
    }
    long rss = child_peak_rss_kib(path);
    sushi_context *ctx;
    if (sushi_context_create(NULL, &ctx))
        return 1;
    sushi_supernet *sn = NULL;
    struct stat stt;
    if (stat(path, &stt))
        return 1;
    double mb = stt.st_size / 1e6;
    enum { N = 7 };
    double t_load[N], t_cat[N], t_cpy[N];
    char *buf = malloc((size_t)stt.st_size), *dst = malloc((size_t)stt.st_size);
    FILE *f = fopen(path, "rb");
    if (!buf || !dst || !f || fread(buf, 1, (size_t)stt.st_size, f) != (size_t)stt.st_size)
        return 1;
    fclose(f);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "cat '%s' > /dev/null", path);
    for (int i = 0; i < N; i++) {
        double t0 = now();
        sushi_supernet *l;
        int rc = sushi_supernet_load_file(ctx, path, NULL, &l);
        if (rc) {
            fprintf(stderr, "load: %s\n", sushi_status_str(rc));
            return 1;
        }
        sushi_supernet_destroy(l);
        t_load[i] = now() - t0;
        t0 = now();
        if (system(cmd) != 0)
            return 1;
        t_cat[i] = now() - t0;
        t0 = now();
        memcpy(dst, buf, (size_t)stt.st_size);
        t_cpy[i] = now() - t0;
    }
    double ml = median(t_load, N), mc = median(t_cat, N), mm = median(t_cpy, N);
    printf("file                 %s (%.1f MB)\n", path, mb);
    printf("load_file  median    %.3f s  %.2f GB/s\n", ml, mb / 1e3 / ml);
    printf("cat>/dev/null median %.3f s  %.2f GB/s  (load/cat time ratio %.2f)\n", mc, mb / 1e3 / mc, ml / mc);
    printf("memcpy     median    %.3f s  %.2f GB/s  (load/memcpy time ratio %.2f)\n", mm, mb / 1e3 / mm, ml / mm);
    printf("peak RSS of a load   %.1f MB  (%.2f x file size; fresh process, whole run)\n", rss * 1024.0 / 1e6, rss * 1024.0 / stt.st_size);

    /* SubGraph intersection + hit bytes */
    if (!sn && sushi_supernet_builtin(ctx, "ofa-resnet50", 0, &sn))
        return 1;
    sushi_config a = SUSHI_CONFIG_INIT, b = SUSHI_CONFIG_INIT;
    char err[128];
    sushi_config_parse(sn, "max@224", 0, &a, err, sizeof err);
    sushi_config_parse(sn, "{\"d\":[1,1,2,0,1],\"e\":0.25,\"w\":[1,2,1,0,2,1],\"r\":192}", 0, &b, err, sizeof err);
    sushi_subnet *sa, *sb;
    sushi_subgraph *g;
    if (sushi_subnet_create(sn, &a, &sa) || sushi_subnet_create(sn, &b, &sb) || sushi_subgraph_create(sn, &g))
        return 1;
    enum { R = 200000 };
    volatile uint64_t sink = 0;
    double t0 = now();
    for (int i = 0; i < R; i++) {
        sushi_subgraph_set_subnet(g, sa);
        sushi_subgraph_intersect_subnet(g, sb);
        sink += sushi_subgraph_hit_bytes(g, sa);
    }
    double per = (now() - t0) / R;
    printf("subgraph set+intersect+hit (ofa-resnet50, %zu tensors)  %.3f us per op  (hit %llu bytes)\n",
           sushi_subgraph_n_tensors(g), per * 1e6, (unsigned long long)sink / R);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(sa);
    sushi_subnet_destroy(sb);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    free(buf);
    free(dst);
    return 0;
}
