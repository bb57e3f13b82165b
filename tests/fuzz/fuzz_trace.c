/* libFuzzer target: the trace CSV reader (sushi_trace_load_csv). It takes a
 * path, so each input is written to one memfd and read via /proc/self/fd/N.
 * An accepted trace must satisfy the documented invariants and round-trip. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sushi/sushi.h>

static sushi_context *ctx;
static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sushi_context_create(NULL, &ctx) != SUSHI_OK)
        abort();
    fd = memfd_create("sushi-fuzz-trace", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    char err[512];
    sushi_trace *t = NULL;
    int rc = sushi_trace_load_csv(ctx, path, &t, err, sizeof err);
    if (rc != SUSHI_OK) {
        if (t)
            abort();
        return 0;
    }
    size_t n = sushi_trace_length(t);
    double prev = 0.0;
    for (size_t i = 0; i < n; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        if (sushi_trace_get(t, i, &e) != SUSHI_OK)
            abort();
        if (!isfinite(e.t_s) || e.t_s < prev || !(e.min_accuracy >= 0 && e.min_accuracy <= 1) ||
            !(e.slo_s >= 0) || !isfinite(e.slo_s) || e.label < -1)
            abort(); /* documented invariants */
        prev = e.t_s;
    }
    sushi_trace_destroy(t);
    return 0;
}
