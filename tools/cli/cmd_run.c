/* `sushi run`: run one SubNet on one input with a backend and print its top-5
 * classes and the time of the run (docs/cli.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef SUSHI_CLI_HAVE_PNG
#include <png.h>
#endif

#include "cli.h"

#ifdef SUSHI_CLI_HAVE_CPU
#include "sushi/cpu.h"
#endif

static const char run_help[] =
    "usage: sushi run FILE --config CFG [--backend cpu|hls|null] [--int8]\n"
    "                 [--input FILE] [--warmup N] [--repeat N] [--threads N] [--json]\n"
    "\n"
    "Run one SubNet of the SuperNet in FILE (a .sushi file or builtin:NAME) on\n"
    "one input (batch 1) and print its top-5 classes and the time of the runs:\n"
    "N untimed warm-up runs, then M timed runs; the median and p99 (nearest rank)\n"
    "of the M wall-clock times are reported, not one cold sample.\n"
    "\n"
    "options:\n"
    "  -c, --config CFG       the SubNet (as for 'sushi subnet')\n"
    "  -b, --backend NAME     backend that runs it: cpu (default), hls or null\n"
    "      --int8             int8 path (cpu backend): activation ranges stored in\n"
    "                         FILE for this SubNet (sushi calibrate), else\n"
    "                         calibrated first on the 8 pattern inputs k = 0..7\n"
    "  -i, --input FILE       input: a binary PGM (P5, 8-bit), a PNG (when built\n"
    "                         with libpng), or raw little-endian float32 C*R*R\n"
    "                         values already normalised (NCHW). 8-bit images are\n"
    "                         converted to C channels, then sushi_input_from_u8()\n"
    "                         normalises them with the file's mean/std and, when\n"
    "                         they are not R x R (R: the config's resolution),\n"
    "                         resizes them bilinearly as in training.\n"
    "                         Default: pattern input k = 0:\n"
    "                         x[i] = ((37*i + 11 + 53*k) mod 256) / 255 * 2 - 1\n"
    "      --warmup N         untimed warm-up runs first (default 3 on cpu, whose latency\n"
    "                         is measured; 0 on hls and null, whose runs are simulations)\n"
    "      --repeat M         timed runs, 1..100000 (default 20 on cpu, 1 on hls and null)\n"
    "      --threads N        threads of the backend (its 'threads' param: cpu)\n"
    "      --json             print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help             show this help\n";

enum { OPT_CONFIG = 1, OPT_BACKEND, OPT_INT8, OPT_INPUT, OPT_JSON, OPT_WARMUP, OPT_REPEAT, OPT_THREADS };

static const cli_option run_opts[] = {
    { "config", 'c', true, OPT_CONFIG },
    { "backend", 'b', true, OPT_BACKEND },
    { "int8", 0, false, OPT_INT8 },
    { "input", 'i', true, OPT_INPUT },
    { "json", 0, false, OPT_JSON },
    { "warmup", 0, true, OPT_WARMUP },
    { "repeat", 0, true, OPT_REPEAT },
    { "threads", 0, true, OPT_THREADS },
    { NULL, 0, false, 0 }
};

/* Calibration inputs for --int8: pattern inputs k = 0 .. RUN_CALIB_N-1. */
#define RUN_CALIB_N 8

/* The documented deterministic pattern input k (flat NCHW index i). */
static void pattern_input(float *x, size_t n, unsigned k)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)((37u * (uint64_t)i + 11u + 53u * k) % 256u) / 255.0 * 2.0 - 1.0);
}

/* ---------- input files ---------- */

/* A decoded 8-bit image: w x h pixels of `ch` (1 or 3) interleaved channels. */
typedef struct image {
    uint32_t w, h, ch;
    uint8_t *px;
} image;

static char *read_all(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        if (cap > ((size_t)1 << 30)) {
            free(buf);
            fclose(f);
            snprintf(err, errsz, "file too large");
            return NULL;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (bad) {
        free(buf);
        snprintf(err, errsz, "read error");
        return NULL;
    }
    *len = n;
    return buf;
}

/* Next PGM header token (skips whitespace and '#' comments); false at end. */
static bool pgm_token(const char *d, size_t len, size_t *pos, unsigned long *val)
{
    size_t p = *pos;
    for (;;) {
        while (p < len && (d[p] == ' ' || d[p] == '\t' || d[p] == '\n' || d[p] == '\r'))
            p++;
        if (p < len && d[p] == '#') {
            while (p < len && d[p] != '\n')
                p++;
            continue;
        }
        break;
    }
    if (p >= len || d[p] < '0' || d[p] > '9')
        return false;
    unsigned long v = 0;
    while (p < len && d[p] >= '0' && d[p] <= '9') {
        v = v * 10 + (unsigned long)(d[p] - '0');
        if (v > 100000000ul)
            return false;
        p++;
    }
    *val = v;
    *pos = p;
    return true;
}

static bool decode_pgm(const char *d, size_t len, image *im, char *err, size_t errsz)
{
    size_t p = 2;
    unsigned long w, h, maxv;
    if (!pgm_token(d, len, &p, &w) || !pgm_token(d, len, &p, &h) || !pgm_token(d, len, &p, &maxv)) {
        snprintf(err, errsz, "PGM: malformed header");
        return false;
    }
    if (w == 0 || h == 0 || w > 65536 || h > 65536) {
        snprintf(err, errsz, "PGM: bad size %lux%lu", w, h);
        return false;
    }
    if (maxv == 0 || maxv > 255) {
        snprintf(err, errsz, "PGM: maxval %lu not supported (8-bit only)", maxv);
        return false;
    }
    if (p >= len || !(d[p] == ' ' || d[p] == '\t' || d[p] == '\n' || d[p] == '\r')) {
        snprintf(err, errsz, "PGM: malformed header");
        return false;
    }
    p++;
    size_t n = (size_t)w * h;
    if (len - p < n) {
        snprintf(err, errsz, "PGM: truncated pixel data (%zu of %zu bytes)", len - p, n);
        return false;
    }
    im->px = malloc(n);
    if (!im->px) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        im->px[i] = (uint8_t)((unsigned)(unsigned char)d[p + i] * 255u / maxv);
    im->w = (uint32_t)w;
    im->h = (uint32_t)h;
    im->ch = 1;
    return true;
}

#ifdef SUSHI_CLI_HAVE_PNG
static bool decode_png(const char *d, size_t len, image *im, char *err, size_t errsz)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, d, len)) {
        snprintf(err, errsz, "PNG: %s", pi.message);
        return false;
    }
    bool color = (pi.format & PNG_FORMAT_FLAG_COLOR) != 0;
    pi.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (pi.width == 0 || pi.height == 0 || pi.width > 65536 || pi.height > 65536) {
        png_image_free(&pi);
        snprintf(err, errsz, "PNG: bad size");
        return false;
    }
    im->px = malloc(PNG_IMAGE_SIZE(pi));
    if (!im->px) {
        png_image_free(&pi);
        snprintf(err, errsz, "out of memory");
        return false;
    }
    if (!png_image_finish_read(&pi, NULL, im->px, 0, NULL)) {
        snprintf(err, errsz, "PNG: %s", pi.message);
        png_image_free(&pi);
        free(im->px);
        im->px = NULL;
        return false;
    }
    im->w = pi.width;
    im->h = pi.height;
    im->ch = color ? 3 : 1;
    return true;
}
#endif

/* The image's pixels as C interleaved channels (HWC): grey to C copies, colour
 * to one channel by luma (ITU-R BT.601, rounded), colour to C != 3 likewise.
 * Returns im->px itself when nothing changes, else a malloc'ed buffer. */
static uint8_t *pixels_as_channels(const image *im, uint32_t C)
{
    if (im->ch == C)
        return im->px;
    size_t n = (size_t)im->w * im->h;
    uint8_t *out = malloc(n * C);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = im->px + i * im->ch;
        uint8_t v = im->ch == 1 ? p[0] : (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
        for (uint32_t c = 0; c < C; c++)
            out[i * C + c] = im->ch == 3 && C == 3 ? p[c] : v;
    }
    return out;
}

/* An 8-bit image into the SubNet's input (C x R x R floats) exactly as the
 * shipped models were trained: sushi_input_from_u8() normalises with the
 * file's mean/std and, when the image is not R x R, resizes bilinearly
 * (PyTorch's align_corners=False). */
static bool image_to_input(const sushi_supernet *sn, const image *im, uint32_t C, uint32_t R, float *x, char *err,
                           size_t errsz)
{
    uint8_t *px = pixels_as_channels(im, C);
    if (!px) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    int rc = sushi_input_from_u8(sn, px, im->h, im->w, C, R, x, (size_t)C * R * R);
    if (px != im->px)
        free(px);
    if (rc) {
        snprintf(err, errsz, "%u x %u image to the %u x %u input: %s", im->w, im->h, R, R, sushi_status_str(rc));
        return false;
    }
    return true;
}

/* Fill x (C*R*R floats) from the file at path. */
static bool load_input(const char *path, const sushi_supernet *sn, uint32_t C, uint32_t R, float *x, char *err,
                       size_t errsz)
{
    size_t len = 0, n = (size_t)C * R * R;
    char *d = read_all(path, &len, err, errsz);
    if (!d)
        return false;
    bool ok = false;
    image im = { 0 };
    if (len >= 2 && d[0] == 'P' && d[1] == '5') {
        ok = decode_pgm(d, len, &im, err, errsz);
    } else if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) {
#ifdef SUSHI_CLI_HAVE_PNG
        ok = decode_png(d, len, &im, err, errsz);
#else
        snprintf(err, errsz, "PNG input not supported (built without libpng)");
#endif
    } else if (len == n * 4) {
        for (size_t i = 0; i < n; i++) {
            const unsigned char *b = (const unsigned char *)d + 4 * i;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            float f;
            memcpy(&f, &u, sizeof f);
            if (!isfinite(f)) {
                snprintf(err, errsz, "raw float32: value %zu is not finite", i);
                free(d);
                return false;
            }
            x[i] = f;
        }
        free(d);
        return true;
    } else {
        snprintf(err, errsz, "not a PGM (P5) or PNG image, and %zu bytes is not %u*%u*%u float32 values (%zu bytes)",
                 len, (unsigned)C, (unsigned)R, (unsigned)R, n * 4);
    }
    free(d);
    if (ok)
        ok = image_to_input(sn, &im, C, R, x, err, errsz);
    free(im.px);
    return ok;
}

/* ---------- the command ---------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct run_timing {
    uint32_t warmup, repeat, threads; /* threads 0 = leave the backend's default */
    bool warmup_set, repeat_set;      /* else: defaults by backend (below) */
} run_timing;

/* Defaults: a backend whose latency is measured (SUSHI_BACKEND_CAP_MEASURED:
 * cpu) gets 3 warm-up and 20 timed runs; a modelled one (hls, null), whose
 * run is a simulation, one timed run. */
#define RUN_WARMUP_MEASURED 3u
#define RUN_REPEAT_MEASURED 20u

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rank_q(const double *v, uint32_t n, double q)
{
    double r = ceil(q * n);
    uint32_t k = r < 1.0 ? 0 : (uint32_t)r - 1;
    return v[k < n ? k : n - 1];
}

static int do_run(const char *file, const sushi_supernet *sn, const sushi_subnet *s, const char *backend,
                  bool int8, const char *input, bool json, const run_timing *tm)
{
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    int rc = sushi_supernet_get_info(sn, &in);
    if (rc)
        return cli_fail("info", rc, NULL);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    rc = sushi_subnet_get_stats(s, &st);
    if (rc)
        return cli_fail("SubNet stats", rc, NULL);
    const sushi_config *cfg = sushi_subnet_config(s);
    uint32_t C = in.in_channels, R = cfg->resolution, K = in.num_classes;
    size_t n_in = (size_t)C * R * R;
    float *x = malloc(n_in * sizeof *x), *y = calloc(K ? K : 1, sizeof *y), *ranges = NULL, *calib = NULL;
    double *times = NULL;
    sushi_backend *b = NULL;
    cJSON *root = NULL;
    int ec = CLI_EXIT_OK;
    if (!x || !y) {
        ec = cli_fail_msg("run", "out of memory");
        goto out;
    }
    if (input) {
        char err[256];
        if (!load_input(input, sn, C, R, x, err, sizeof err)) {
            ec = cli_fail_msg(input, err);
            goto out;
        }
    } else {
        pattern_input(x, n_in, 0);
    }
    rc = sushi_backend_create(sn, backend, &b);
    if (rc) {
        ec = cli_fail(backend, rc, rc == SUSHI_ERR_NOT_FOUND ? "no such backend in this build" : NULL);
        goto out;
    }
    run_timing tmv = *tm;
    if (sushi_backend_caps(b) & SUSHI_BACKEND_CAP_MEASURED) {
        if (!tmv.warmup_set)
            tmv.warmup = RUN_WARMUP_MEASURED;
        if (!tmv.repeat_set)
            tmv.repeat = RUN_REPEAT_MEASURED;
    }
    tm = &tmv;
    times = calloc(tm->repeat, sizeof *times);
    if (!times) {
        ec = cli_fail_msg("run", "out of memory");
        goto out;
    }
    double threads_used = 0.0;
    if (tm->threads) {
        rc = sushi_backend_set_param(b, "threads", (double)tm->threads);
        if (rc) {
            ec = cli_fail("--threads", rc,
                          rc == SUSHI_ERR_NOT_FOUND || rc == SUSHI_ERR_UNSUPPORTED ? "this backend has no threads"
                                                                                     : NULL);
            goto out;
        }
    }
    if (sushi_backend_get_param(b, "threads", &threads_used) != SUSHI_OK)
        threads_used = 0.0;
    /* int8 ranges: stored in the file for this SubNet's candidate (`sushi
     * calibrate`), else calibrated here on the pattern inputs (cpu) or by the
     * hls backend on its default set */
    bool hls = strcmp(backend, "hls") == 0, stored = false;
    {
        const float *sr = NULL;
        size_t snr = 0;
        int ci = sushi_supernet_find_candidate(sn, cfg);
        stored = ci >= 0 && !sushi_supernet_candidate_int8_ranges(sn, (size_t)ci, &sr, &snr) && sr;
    }
    const char *ranges_key = NULL, *ranges_text = NULL; /* set when the int8 path runs */
    if (stored && (int8 || hls))
        ranges_key = "stored", ranges_text = "int8 ranges stored in the file";
    else if (hls)
        ranges_key = "hls-default", ranges_text = "hls default calibration set";
    else if (int8)
        ranges_key = "pattern", ranges_text = "calibrated on pattern inputs k = 0..7";
    if (int8 && !stored) {
#ifdef SUSHI_CLI_HAVE_CPU
        if (strcmp(backend, "cpu") == 0) {
            size_t nr = sushi_cpu_int8_ranges_len(s);
            ranges = malloc((nr ? nr : 1) * sizeof *ranges);
            calib = malloc(n_in * RUN_CALIB_N * sizeof *calib);
            if (!ranges || !calib) {
                ec = cli_fail_msg("int8 calibration", "out of memory");
                goto out;
            }
            for (unsigned k = 0; k < RUN_CALIB_N; k++)
                pattern_input(calib + k * n_in, n_in, k);
            rc = sushi_cpu_calibrate_int8(s, calib, RUN_CALIB_N, ranges, nr);
            if (!rc)
                rc = sushi_cpu_set_int8_ranges(b, s, ranges, nr);
            if (rc) {
                ec = cli_fail("int8 calibration", rc, NULL);
                goto out;
            }
        }
#endif
    }
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x;
    a.input_len = n_in;
    a.output = y;
    a.output_len = K;
    /* The hls backend always runs the int8 path (ranges: given, stored or self-calibrated). */
    if (hls)
        int8 = true;
    a.int8 = int8;
    rc = SUSHI_OK;
    for (uint32_t k = 0; !rc && k < tm->warmup + tm->repeat; k++) {
        double t0 = now_s();
        rc = sushi_backend_run(b, s, &a, NULL);
        double dt = now_s() - t0;
        if (k >= tm->warmup)
            times[k - tm->warmup] = dt;
    }
    double t_sum = 0.0;
    for (uint32_t k = 0; k < tm->repeat; k++)
        t_sum += times[k];
    qsort(times, tm->repeat, sizeof *times, cmp_dbl);
    const double t_med = rank_q(times, tm->repeat, 0.5), t_p99 = rank_q(times, tm->repeat, 0.99);
    if (rc) {
        const char *why = NULL;
        if (int8 && rc == SUSHI_ERR_UNSUPPORTED)
            why = "--int8 not supported by this backend";
        else if (rc == SUSHI_ERR_STATE && int8)
            why = "no int8 activation ranges for this SubNet";
        ec = cli_fail("run", rc, why);
        goto out;
    }
    /* top-5 by logit (ties: lower class first); score = softmax probability */
    uint32_t top[5];
    uint32_t nt = K < 5 ? K : 5;
    double mx = -INFINITY, sum = 0;
    for (uint32_t k = 0; k < K; k++)
        mx = y[k] > mx ? y[k] : mx;
    for (uint32_t k = 0; k < K; k++)
        sum += exp(y[k] - mx);
    for (uint32_t t = 0; t < nt; t++) {
        uint32_t best = UINT32_MAX;
        for (uint32_t k = 0; k < K; k++) {
            bool used = false;
            for (uint32_t u = 0; u < t; u++)
                used |= top[u] == k;
            if (!used && (best == UINT32_MAX || y[k] > y[best]))
                best = k;
        }
        top[t] = best;
    }
    if (json) {
        root = cli_json_object();
        cli_json_str(root, "file", file);
        cli_json_str(root, "supernet", in.name);
        cli_json_str(root, "backend", backend);
        cli_json_bool(root, "int8", int8);
        if (ranges_key)
            cli_json_str(root, "int8_ranges", ranges_key);
        cli_json_str(root, "input", input);
        cJSON *sub = cli_json_add_object(root, "subnet");
        char *text = cli_config_text(cfg);
        cli_json_str(sub, "config", text);
        free(text);
        cli_json_num(sub, "params", (double)st.params);
        cli_json_num(sub, "macs", (double)st.macs);
        cJSON *out = cli_json_add_array(root, "output");
        for (uint32_t k = 0; k < K; k++)
            cli_json_append_num(out, y[k]);
        cJSON *t5 = cli_json_add_array(root, "top5");
        for (uint32_t t = 0; t < nt; t++) {
            cJSON *o = cli_json_append_object(t5);
            cli_json_num(o, "class", top[t]);
            cli_json_num(o, "score", exp(y[top[t]] - mx) / sum);
            cli_json_num(o, "logit", y[top[t]]);
        }
        cli_json_num(root, "time_s", t_med);
        cli_json_num(root, "time_median_s", t_med);
        cli_json_num(root, "time_p99_s", t_p99);
        cli_json_num(root, "time_mean_s", t_sum / tm->repeat);
        cli_json_num(root, "time_min_s", times[0]);
        cli_json_num(root, "time_max_s", times[tm->repeat - 1]);
        cli_json_num(root, "warmup", tm->warmup);
        cli_json_num(root, "repeat", tm->repeat);
        cli_json_num(root, "threads", threads_used);
        ec = cli_json_print(root);
        root = NULL;
    } else {
        char *text = cli_config_text(cfg);
        printf("supernet  %s%s\n", in.name, in.synthetic ? " (synthetic weights)" : "");
        printf("subnet    %s (%s, %s)\n", text ? text : "?", cli_fmt_mparams(st.params).s,
               cli_fmt_mmacs(st.macs).s);
        free(text);
        printf("backend   %s%s\n", backend, int8 ? " (int8)" : "");
        if (ranges_key)
            printf("ranges    %s\n", ranges_text);
        printf("input     %s\n", input ? input : "pattern k=0 (docs/cli.md)");
        if (threads_used > 0)
            printf("threads   %g\n", threads_used);
        printf("time      median %.6f s, p99 %.6f s (%u timed runs after %u warm-up runs)\n", t_med, t_p99,
               tm->repeat, tm->warmup);
        printf("\n%4s  %6s  %12s  %9s\n", "rank", "class", "logit", "prob");
        for (uint32_t t = 0; t < nt; t++)
            printf("%4u  %6u  %12.6g  %9.6f\n", (unsigned)t + 1, (unsigned)top[t], (double)y[top[t]],
                   exp(y[top[t]] - mx) / sum);
        ec = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
out:
    cJSON_Delete(root);
    sushi_backend_destroy(b);
    free(x);
    free(y);
    free(ranges);
    free(calib);
    free(times);
    return ec;
}

int cli_cmd_run(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, run_opts);
    const char *file = NULL, *config = NULL, *backend = "cpu", *input = NULL, *arg;
    bool json = false, int8 = false;
    run_timing tm = { 0, 1, 0, false, false };
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(run_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_CONFIG:
            if (config)
                return cli_usage_error(p.cmd, "--config given twice");
            config = arg;
            break;
        case OPT_BACKEND: backend = arg; break;
        case OPT_INT8: int8 = true; break;
        case OPT_INPUT: input = arg; break;
        case OPT_JSON: json = true; break;
        case OPT_WARMUP:
            if (!cli_parse_u32(p.cmd, "--warmup", arg, &tm.warmup))
                return CLI_EXIT_USAGE;
            if (tm.warmup > 100000)
                return cli_usage_error(p.cmd, "--warmup %s: expected 0..100000", arg);
            tm.warmup_set = true;
            break;
        case OPT_REPEAT:
            if (!cli_parse_u32(p.cmd, "--repeat", arg, &tm.repeat))
                return CLI_EXIT_USAGE;
            if (tm.repeat < 1 || tm.repeat > 100000)
                return cli_usage_error(p.cmd, "--repeat %s: expected 1..100000", arg);
            tm.repeat_set = true;
            break;
        case OPT_THREADS:
            if (!cli_parse_u32(p.cmd, "--threads", arg, &tm.threads))
                return CLI_EXIT_USAGE;
            if (tm.threads < 1 || tm.threads > 1024)
                return cli_usage_error(p.cmd, "--threads %s: expected 1..1024", arg);
            break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (!file)
        return cli_usage_error(p.cmd, "missing FILE");
    if (!config)
        return cli_usage_error(p.cmd, "missing --config CFG");
    if (strcmp(backend, "cpu") != 0 && strcmp(backend, "hls") != 0 && strcmp(backend, "null") != 0)
        return cli_usage_error(p.cmd, "--backend: expected cpu, hls or null, got '%s'", backend);
    sushi_supernet *sn;
    int ec = cli_load_supernet(file, &sn);
    if (ec)
        return ec;
    sushi_config cfg;
    ec = cli_parse_config(sn, config, 0, &cfg);
    sushi_subnet *s = NULL;
    if (!ec)
        ec = cli_create_subnet(sn, &cfg, &s);
    if (!ec)
        ec = do_run(file, sn, s, backend, int8, input, json, &tm);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    return ec;
}
