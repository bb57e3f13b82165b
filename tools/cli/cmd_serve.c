/* `sushi serve`: serve a query stream with SushiSched and compare caching
 * policies (docs/scheduler.md; JSON keys there too).
 *
 * Uses only the public libsushi API and libcjson. Exit codes: 0 success,
 * 1 runtime error, 2 usage error; errors are one line on stderr. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "atomic_file.h"
#include "cli.h"
#include "dataset.h"
#include "serve_realtime.h"

/* " (SYNTHETIC weights; proxy accuracies)" and the like: what the file says
 * about its weights and where its candidates' accuracies come from (issue 15
 * item 8: a synthetic file whose accuracies were measured is not "proxy"). */
static const char *provenance_note(const sushi_supernet *sn, const sushi_supernet_info *sni)
{
    uint32_t measured = 0, proxy = 0, other = 0;
    for (uint32_t i = 0; i < sni->n_candidates; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        if (sushi_supernet_candidate(sn, i, &ci) != SUSHI_OK || !ci.accuracy_source)
            other++;
        else if (strcmp(ci.accuracy_source, "measured") == 0)
            measured++;
        else if (strcmp(ci.accuracy_source, "proxy") == 0)
            proxy++;
        else
            other++;
    }
    const char *acc = measured && !proxy && !other ? "measured accuracies"
                      : proxy && !measured && !other ? "proxy accuracies"
                      : !measured && !proxy ? "no accuracies"
                      : "accuracies partly measured";
    static char note[96];
    if (sni->synthetic)
        snprintf(note, sizeof note, " (SYNTHETIC weights; %s)", acc);
    else
        note[0] = '\0';
    return note;
}

#define MAX_POLICIES 16
#define MAX_PARAMS 32

static const char serve_help[] =
    "usage: sushi serve FILE --backend NAME [options]\n"
    "\n"
    "Serve a query stream on SuperNet FILE (a .sushi file, or builtin:NAME /\n"
    "NAME for a built-in such as ofa-resnet50) with the scheduler, once per\n"
    "policy, and compare the policies.\n"
    "\n"
    "  --backend NAME        cycle, cpu, hls or null (required)\n"
    "  --accel PRESET        accelerator preset of the cycle backend: zcu104, u50,\n"
    "                        zcu104-sgs, u50-sgs (or its id)\n"
    "  --param K=V[,K=V..]   backend parameters (e.g. pb_kib=512,dram_gbs=12)\n"
    "  --policy A[,B..]      policies to compare (default none,sushi); e.g. none,static,sushi,lru,oracle\n"
    "  --window Q            queries between cache updates (default 100)\n"
    "  --pb-kib N            persistent-buffer capacity (default: the backend's pb_kib/pb_bytes)\n"
    "  --mode M              both (default) | accuracy (most accurate within SLO) | latency (fastest meeting the floor)\n"
    "  --fallback F          accuracy (default) | latency: what 'both' serves when nothing meets both\n"
    "  --reload R            next (default: reload charged to the next query) | separate\n"
    "  --pareto P            macs-bytes (default) | macs | bytes | none\n"
    "  --objective O         what static/sushi/oracle maximise: time (default) | energy | bytes\n"
    "                        (time and energy need a backend with tile savings: cycle, hls;\n"
    "                        others fall back to bytes)\n"
    "  --trace CSV           replay a trace file (t_s,min_accuracy,slo_s[,label])\n"
    "  --gen K=V[,K=V..]     generate a trace: seed, queries, regimes, dwell, mix, both, jitter, rate,\n"
    "                        acc_lo, acc_hi, slo_lo, slo_hi (SLOs in s; suffix ms/us allowed).\n"
    "                        Ranges default to the candidates' accuracy and predicted latency range.\n"
    "  --queries N           serve only the first N queries (generated: N queries, default 1000)\n"
    "  --run                 run every query on the backend with a synthetic input (backends that run)\n"
    "  --dataset NAME        fashion-mnist: query i carries test image i mod 10000 and is really\n"
    "                        classified by the SubNet the scheduler chose (backends that run: cpu,\n"
    "                        hls); the measured accuracy is printed beside the expected one\n"
    "  --data-dir DIR        where the IDX files are (default " CLI_FMNIST_DIR ")\n"
    "  --timeline FILE       write one CSV row per query and policy\n";

/* (two strings: one would pass the 4095 characters C11 compilers must accept) */
static const char serve_help_rt[] =
    "  --realtime            real-time replay: issue each query at its trace arrival time (monotonic\n"
    "                        clock) to a threaded server that runs it on the backend; latency is\n"
    "                        measured end to end, queueing included (needs --dataset or --run and a\n"
    "                        backend that runs; not with policy oracle). See docs/server.md\n"
    "  --workers N           --realtime: worker threads, each with its own backend (default 1)\n"
    "  --order O             --realtime: which waiting query a free worker takes: edf (default,\n"
    "                        earliest deadline first) | fifo (arrival order)\n"
    "  --worker-nice N       --realtime: each worker's nice value, -20..19 (default 0 = inherited);\n"
    "                        below the inherited one needs CAP_SYS_NICE (docs/server.md)\n"
    "  --block-miss E        --realtime: the blocking-aware cap's budget, 0..1 (default 0.001; 0 = off):\n"
    "                        while every worker is busy, a service may make at most E later\n"
    "                        queries miss their SLO by waiting for it (docs/server.md)\n"
    "  --profile PROFILE     predict service time from a measured latency profile ('sushi profile')\n"
    "                        of this SuperNet and backend (refused otherwise)\n"
    "  --quantile Q          the profile's latency quantile used as the prediction: 0.5, 0.9,\n"
    "                        0.99 (default) or 1 (max)\n"
    "  --adapt A             auto (default: on for measured backends, cpu) | on | off (open loop):\n"
    "                        adapt predictions to measured run latency (docs/scheduler.md)\n"
    "  --late L              fastest (default: serve anyway) | drop: a query no candidate can\n"
    "                        answer within its SLO minus the time it waited is dropped, counted\n"
    "  --json                print one JSON object (keys in docs/scheduler.md)\n"
    "  -h, --help            this help\n"
    "\n"
    "A progress line is drawn on stderr when stderr is a terminal.\n";

/* ------------------------------------------------------------------ errors */

static int usage(const char *fmt, ...)
{
    va_list ap;
    fputs("sushi: serve: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see 'sushi serve --help')\n", stderr);
    return 2;
}

/* The library's last error message (its log callback, below): fail() adds it
 * to its own line when that line does not already say it, so a failure is one
 * line on stderr (docs/cli.md, "Errors"). */
static char last_log[512];

static int fail(const char *fmt, ...)
{
    va_list ap;
    char line[2048];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sushi: serve: %s", line);
    const char *tail = strstr(last_log, ": "); /* "load x.sushi: <why>": <why> may be in line already */
    if (last_log[0] && !strstr(line, last_log) && !(tail && strstr(line, tail + 2)))
        fprintf(stderr, ": %s", last_log);
    fputc('\n', stderr);
    last_log[0] = '\0';
    return 1;
}

/* Errors are not printed: kept for the one error line fail() prints. With
 * --worker-nice the level includes warnings, and the server's own (a nice
 * value a worker cannot set) are printed as they come, from any thread
 * (stdio locks the stream); the scheduler's (e.g. no persistent buffer on
 * cpu) are not, as without the option. */
static void log_to_stderr(void *user, int level, const char *msg)
{
    (void)user;
    if (level >= SUSHI_LOG_WARN) {
        if (strncmp(msg, "server: ", 8) == 0)
            fprintf(stderr, "sushi serve: warning: %s\n", msg);
        return;
    }
    snprintf(last_log, sizeof last_log, "%s", msg);
    for (char *c = last_log; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

/* ----------------------------------------------------------------- parsing */

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return false;
    unsigned long long x = strtoull(s, &end, 10);
    *v = x;
    return *end == '\0' && errno == 0;
}

typedef struct kv {
    char key[48];
    char val[64];
} kv;

/* "a=1,b=2" -> pairs; false on a malformed item */
static bool parse_kv_list(const char *s, kv *out, int cap, int *n)
{
    *n = 0;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (!eq || eq == s || *n >= cap)
            return false;
        size_t kl = (size_t)(eq - s), vl = len - kl - 1;
        if (kl >= sizeof out->key || vl >= sizeof out->val || vl == 0)
            return false;
        memcpy(out[*n].key, s, kl);
        out[*n].key[kl] = '\0';
        memcpy(out[*n].val, eq + 1, vl);
        out[*n].val[vl] = '\0';
        (*n)++;
        s += len;
        if (*s == ',')
            s++;
    }
    return true;
}

/* -------------------------------------------------------------- the model */

static int load_supernet(sushi_context *ctx, const char *spec, sushi_supernet **sn)
{
    const char *name = spec;
    struct stat stt;
    if (strncmp(spec, "builtin:", 8) == 0)
        name = spec + 8;
    else if (stat(spec, &stt) == 0) {
        char err[512] = "";
        sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
        lo.errbuf = err;
        lo.errbuf_size = sizeof err;
        int rc = sushi_supernet_load_file(ctx, spec, &lo, sn);
        if (rc)
            return fail("%s: %s%s%s", spec, sushi_status_str(rc), err[0] ? ": " : "", err);
        return 0;
    }
    int rc = sushi_supernet_builtin(ctx, name, 0, sn);
    if (rc == SUSHI_ERR_NOT_FOUND)
        return fail("%s: no such file, and not a built-in SuperNet (see 'sushi zoo --list')", spec);
    if (rc)
        return fail("%s: %s", spec, sushi_status_str(rc));
    return 0;
}

typedef struct setup {
    const char *backend;
    const char *accel;
    kv params[MAX_PARAMS];
    int n_params;
    sushi_sched_options o;
    int objective;     /* --objective (sushi_objective) */
    int objective_eff; /* what the scheduler used (bytes when the backend has no tile savings) */
    uint32_t order;    /* --order (sushi_server_order; --realtime) */
    double block_miss; /* --block-miss (--realtime) */
    int32_t worker_nice; /* --worker-nice (--realtime; 0 = inherited) */
} setup;

static int configure_backend(sushi_backend *b, const setup *su)
{
    int rc;
    if (su->accel) {
        double id;
        if (!cli_accel_preset(su->accel, &id))
            return usage("--accel %s: unknown preset (zcu104, u50, zcu104-sgs, u50-sgs)", su->accel);
        rc = sushi_backend_set_param(b, "preset", id);
        if (rc == SUSHI_ERR_NOT_FOUND || rc == SUSHI_ERR_UNSUPPORTED)
            return fail("--accel: backend %s has no 'preset' parameter (presets belong to the cycle backend)",
                        su->backend);
        if (rc == SUSHI_ERR_RANGE)
            return usage("--accel %s: unknown preset (zcu104, u50)", su->accel);
        if (rc)
            return fail("--accel %s: %s", su->accel, sushi_status_str(rc));
    }
    for (int i = 0; i < su->n_params; i++) {
        double v;
        if (!cli_parse_double(su->params[i].val, &v))
            return fail("--param %s=%s: not a number", su->params[i].key, su->params[i].val);
        rc = sushi_backend_set_param(b, su->params[i].key, v);
        if (rc)
            return fail("--param %s=%s: %s", su->params[i].key, su->params[i].val, sushi_status_str(rc));
    }
    return 0;
}

/* A configured backend instance, or an exit code (nothing left allocated). */
static int make_backend(const sushi_supernet *sn, const setup *su, sushi_backend **b)
{
    int rc = sushi_backend_create(sn, su->backend, b);
    if (rc == SUSHI_ERR_NOT_FOUND)
        return fail("backend '%s' is not built into this libsushi", su->backend);
    if (rc)
        return fail("backend %s: %s", su->backend, sushi_status_str(rc));
    int ex = configure_backend(*b, su);
    if (ex) {
        sushi_backend_destroy(*b);
        *b = NULL;
    }
    return ex;
}

/* ------------------------------------------------------------------ output */

static const char *objective_name(int o)
{
    return o == SUSHI_OBJECTIVE_TIME ? "time" : o == SUSHI_OBJECTIVE_ENERGY ? "energy" : "bytes";
}

typedef struct run {
    const char *policy;
    sushi_sched_stats st;
    uint64_t correct; /* --dataset: queries classified correctly */
} run;

static double change(double v, double base) { return base != 0.0 ? v / base - 1.0 : NAN; }

static void json_num(cJSON *o, const char *k, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, v);
}

static cJSON *stats_json(const run *r, bool measured)
{
    const sushi_sched_stats *s = &r->st;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "policy", r->policy);
    json_num(o, "queries", (double)s->queries);
    json_num(o, "latency_mean_s", s->latency_mean_s);
    json_num(o, "latency_p50_s", s->latency_p50_s);
    json_num(o, "latency_p99_s", s->latency_p99_s);
    json_num(o, "latency_max_s", s->latency_max_s);
    json_num(o, "slo_queries", (double)s->slo_queries);
    json_num(o, "slo_attainment", s->slo_attainment);
    json_num(o, "accuracy_queries", (double)s->accuracy_queries);
    json_num(o, "accuracy_attainment", s->accuracy_attainment);
    json_num(o, "accuracy_mean", s->accuracy_mean);
    if (measured) {
        json_num(o, "correct", (double)r->correct);
        json_num(o, "accuracy_measured", s->queries ? (double)r->correct / (double)s->queries : NAN);
    }
    json_num(o, "fallbacks", (double)s->fallbacks);
    json_num(o, "offchip_bytes", (double)s->offchip_bytes);
    json_num(o, "weight_bytes", (double)s->weight_bytes);
    json_num(o, "hit_bytes", (double)s->hit_bytes);
    json_num(o, "pb_hit_ratio", s->pb_hit_ratio);
    json_num(o, "energy_j", s->energy_j);
    json_num(o, "energy_offchip_j", s->energy_offchip_j);
    json_num(o, "updates", (double)s->updates);
    json_num(o, "reloads", (double)s->reloads);
    json_num(o, "reload_bytes", (double)s->reload_bytes);
    json_num(o, "reload_s", s->reload_s);
    json_num(o, "decision_mean_ns", s->decision_mean_ns);
    json_num(o, "update_mean_ns", s->update_mean_ns);
    json_num(o, "e2e_latency_mean_s", s->e2e_latency_mean_s);
    json_num(o, "e2e_latency_p50_s", s->e2e_latency_p50_s);
    json_num(o, "e2e_latency_p99_s", s->e2e_latency_p99_s);
    json_num(o, "e2e_latency_max_s", s->e2e_latency_max_s);
    json_num(o, "e2e_slo_queries", (double)s->e2e_slo_queries);
    json_num(o, "e2e_slo_attainment", s->e2e_slo_attainment);
    json_num(o, "service_slo_attainment", s->service_slo_attainment);
    json_num(o, "dropped", (double)s->dropped);
    json_num(o, "queue_mean_s", s->queue_mean_s);
    json_num(o, "load_factor", s->load_factor);
    return o;
}

static void print_table(const run *runs, int n, const run *base, bool measured)
{
    printf("\n%-8s %10s %10s %10s %7s %8s %7s %10s %10s %7s %9s %8s%s\n", "policy", "lat mean", "p50", "p99",
           "SLO ok", "acc mean", "acc ok", "offchip", "energy", "PB hit", "reload", "decide",
           measured ? "  measured" : "");
    printf("%-8s %10s %10s %10s %7s %8s %7s %10s %10s %7s %9s %8s%s\n", "", "ms", "ms", "ms", "%", "%", "%", "MB",
           "mJ", "%", "MB", "ns", measured ? "     acc %" : "");
    for (int i = 0; i < n; i++) {
        const sushi_sched_stats *s = &runs[i].st;
        printf("%-8s %10.4f %10.4f %10.4f %7.2f %8.3f %7.2f %10.2f %10.4f %7.2f %9.2f %8.0f", runs[i].policy,
               s->latency_mean_s * 1e3, s->latency_p50_s * 1e3, s->latency_p99_s * 1e3, s->slo_attainment * 100,
               s->accuracy_mean * 100, s->accuracy_attainment * 100, s->offchip_bytes / 1e6, s->energy_j * 1e3,
               s->pb_hit_ratio * 100, s->reload_bytes / 1e6, s->decision_mean_ns);
        if (measured)
            printf(" %9.3f", s->queries ? 100.0 * (double)runs[i].correct / (double)s->queries : NAN);
        putchar('\n');
    }
    if (!base || n < 2)
        return;
    printf("\nvs %s: %-8s %9s %9s %9s %9s %9s %9s\n", base->policy, "policy", "lat mean", "p99", "offchip",
           "offch. E", "energy", "acc");
    for (int i = 0; i < n; i++) {
        if (&runs[i] == base)
            continue;
        const sushi_sched_stats *s = &runs[i].st, *b = &base->st;
        double ch[5] = { change(s->latency_mean_s, b->latency_mean_s), change(s->latency_p99_s, b->latency_p99_s),
                         change((double)s->offchip_bytes, (double)b->offchip_bytes),
                         change(s->energy_offchip_j, b->energy_offchip_j), change(s->energy_j, b->energy_j) };
        printf("%*s %-8s", (int)strlen(base->policy) + 3, "", runs[i].policy);
        for (int k = 0; k < 5; k++) {
            if (isfinite(ch[k]))
                printf(" %+8.2f%%", ch[k] * 100);
            else
                printf(" %9s", "n/a"); /* the baseline is 0: this backend does not model it */
        }
        printf(" %+7.3fpp\n", (s->accuracy_mean - b->accuracy_mean) * 100);
    }
}

/* ------------------------------------------------------------------ serve */

static const char *mode_name(int m)
{
    return m == SUSHI_SCHED_MOST_ACCURATE ? "accuracy" : m == SUSHI_SCHED_FASTEST ? "latency" : "both";
}

/* --dataset: the input of query i is test image i mod n, as 8-bit pixels
 * turned into floats by sushi_input_from_u8() at the image's own size (28);
 * the scheduler resizes it to the chosen SubNet's resolution r with
 * sushi_input_resize(), which gives exactly sushi_input_from_u8() at r
 * (normalisation is per pixel, so it commutes with the resize; same taps,
 * same float order). When the image size is not one of the SuperNet's
 * resolutions, the same normalisation is applied with the file's mean/std. */
typedef struct served_images {
    const cli_dataset *d;
    bool direct;     /* d->r is an allowed resolution: sushi_input_from_u8 */
    float mean, std; /* else: the file's normalisation */
    float *x;        /* d->r * d->r floats */
} served_images;

static int image_input(const sushi_supernet *sn, served_images *im, uint32_t k)
{
    const uint32_t r = im->d->r;
    const uint8_t *px = im->d->px + (size_t)k * r * r;
    if (im->direct)
        return sushi_input_from_u8(sn, px, r, r, 1, r, im->x, (size_t)r * r);
    for (size_t i = 0; i < (size_t)r * r; i++)
        im->x[i] = ((float)px[i] / 255.0f - im->mean) / im->std;
    return SUSHI_OK;
}

/* --dataset with the hls backend: int8 activation ranges of every candidate the scheduler serves:
 * the ones the file stores for it (`sushi calibrate`), else calibrated in float32 on the first
 * SERVE_HLS_CALIB training images at the candidate's resolution (sushi_cpu_calibrate_int8), so
 * the accelerator runs with ranges from real data instead of its synthetic default set. */
#define SERVE_HLS_CALIB 128u

typedef struct hls_calib {
    size_t n;
    sushi_subnet **s;
    float **ranges;
    size_t *len;
} hls_calib;

static void hls_calib_free(hls_calib *h)
{
    for (size_t i = 0; i < h->n; i++) {
        sushi_subnet_destroy(h->s ? h->s[i] : NULL);
        free(h->ranges ? h->ranges[i] : NULL);
    }
    free(h->s), free(h->ranges), free(h->len);
    memset(h, 0, sizeof *h);
}

#if defined(SUSHI_CLI_HAVE_CPU) && defined(SUSHI_CLI_HAVE_HLS)
/* Calibrate the n candidates of table indices idx[] (those the scheduler serves). */
static int hls_calibrate(const sushi_supernet *sn, const cli_dataset *train, const int32_t *idx, size_t n,
                         hls_calib *h)
{
    uint32_t k = train->n < SERVE_HLS_CALIB ? train->n : SERVE_HLS_CALIB;
    h->s = calloc(n ? n : 1, sizeof *h->s);
    h->ranges = calloc(n ? n : 1, sizeof *h->ranges);
    h->len = calloc(n ? n : 1, sizeof *h->len);
    if (!h->s || !h->ranges || !h->len)
        return SUSHI_ERR_NOMEM;
    h->n = n;
    for (size_t c = 0; c < n; c++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        int rc = sushi_supernet_candidate(sn, (size_t)idx[c], &ci);
        if (!rc)
            rc = sushi_subnet_create(sn, &ci.config, &h->s[c]);
        if (rc)
            return rc;
        h->len[c] = sushi_cpu_int8_ranges_len(h->s[c]);
        h->ranges[c] = malloc((h->len[c] ? h->len[c] : 1) * sizeof **h->ranges);
        if (!h->ranges[c])
            return SUSHI_ERR_NOMEM;
        const float *stored = NULL;
        size_t n_stored = 0;
        if (!sushi_supernet_candidate_int8_ranges(sn, (size_t)idx[c], &stored, &n_stored) && stored &&
            n_stored == h->len[c]) {
            memcpy(h->ranges[c], stored, n_stored * sizeof *stored); /* `sushi calibrate`, more images */
            continue;
        }
        float *x = cli_dataset_inputs(sn, train, 0, k, ci.config.resolution, &rc);
        if (!rc)
            rc = sushi_cpu_calibrate_int8(h->s[c], x, k, h->ranges[c], h->len[c]);
        free(x);
        if (rc)
            return rc;
    }
    return SUSHI_OK;
}
#endif

static int hls_give_ranges(sushi_backend *b, const hls_calib *h)
{
#ifdef SUSHI_CLI_HAVE_HLS
    for (size_t c = 0; c < h->n; c++) {
        int rc = sushi_hls_set_int8_ranges(b, h->s[c], h->ranges[c], h->len[c]);
        if (rc)
            return rc;
    }
#else
    (void)b, (void)h;
#endif
    return SUSHI_OK;
}

static uint32_t argmax(const float *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t k = 1; k < n; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

/* --gen KEY=VALUE pairs into o (parsing shared with `trace gen`: common.c). */
static int apply_gen(const kv *g, int n, sushi_trace_gen_options *o)
{
    for (int i = 0; i < n; i++) {
        int r = cli_trace_gen_set(o, g[i].key, g[i].val, NULL);
        if (r == CLI_GEN_UNKNOWN_KEY)
            return usage("--gen: unknown key '%s'", g[i].key);
        if (r != CLI_GEN_OK)
            return usage("--gen %s=%s: expected %s", g[i].key, g[i].val, cli_trace_gen_expect(g[i].key));
    }
    return 0;
}

/* --realtime: each worker's backend gets the same parameters (and int8
 * ranges for hls) as the replay's backend. */
typedef struct rt_setup_ctx {
    const setup *su;
    const hls_calib *hcal;
    const sushi_profile *prof; /* --profile, or NULL */
} rt_setup_ctx;

static int rt_setup(void *user, uint32_t worker, sushi_backend *b, sushi_sched *s)
{
    const rt_setup_ctx *c = user;
    (void)worker;
    if (s) { /* scheduler stage: the latency profile, checked against this SuperNet and backend */
        int rc = c->prof ? sushi_sched_set_profile(s, c->prof) : SUSHI_OK;
        if (rc)
            fprintf(stderr, "sushi: serve: --profile: cannot be used with this SuperNet and backend (%s)\n",
                    sushi_status_str(rc));
        return rc;
    }
    if (configure_backend(b, c->su)) /* printed its message */
        return SUSHI_ERR_INVALID;
    return hls_give_ranges(b, c->hcal);
}

/* One policy replayed in real time (serve_realtime.c); the timeline rows are
 * written in query order afterwards. Returns an exit code. */
static int serve_realtime_policy(const sushi_supernet *sn, const setup *su, const hls_calib *hcal,
                                 const sushi_profile *prof, const char *policy, uint32_t workers, const sushi_query *qs, size_t nq, served_images *images,
                                 const float *synthetic, const sushi_supernet_info *sni, FILE *tl, run *out)
{
    rt_setup_ctx sc = { su, hcal, prof };
    cli_rt_args a = { .sn = sn, .backend = su->backend, .policy = policy, .o = &su->o, .workers = workers,
                      .order = su->order, .block_miss = su->block_miss, .worker_nice = su->worker_nice,
                      .setup = rt_setup, .setup_user = &sc, .qs = qs, .nq = nq, .n_classes = sni->num_classes };
    float *inputs = NULL;
    const uint32_t *labels = NULL;
    if (images) { /* every distinct image once, as floats */
        const uint32_t r = images->d->r;
        a.n_inputs = nq < images->d->n ? nq : images->d->n;
        a.input_len = (size_t)r * r;
        inputs = malloc(a.n_inputs * a.input_len * sizeof *inputs);
        if (!inputs)
            return fail("out of memory");
        for (size_t k = 0; k < a.n_inputs; k++) {
            int rc = image_input(sn, images, (uint32_t)k);
            if (rc) {
                free(inputs);
                return fail("--dataset: input of image %zu: %s", k, sushi_status_str(rc));
            }
            memcpy(inputs + k * a.input_len, images->x, a.input_len * sizeof *inputs);
        }
        a.inputs = inputs;
        a.labels = labels = images->d->y;
    } else {
        a.inputs = synthetic;
        a.n_inputs = 1;
        a.input_len = (size_t)sni->in_channels * sni->default_resolution * sni->default_resolution;
    }
    cli_rt_out o;
    int rc = cli_serve_realtime(&a, &o);
    free(inputs);
    if (rc)
        return fail("policy %s: real-time replay: %s", policy, sushi_status_str(rc));
    out->st = o.st;
    out->correct = o.correct;
    for (size_t i = 0; tl && i < nq; i++) {
        const sushi_result *r = &o.r[i];
        bool dropped = o.status[i] == SUSHI_ERR_DROPPED;
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        if (!dropped)
            sushi_supernet_candidate(sn, (uint32_t)r->candidate, &ci);
        /* resident_bytes is not sampled per query in real time: left empty */
        fprintf(tl, "%s,%zu,%.9g,%.6g,%.9g,%d,%.6g,%.9g,%.9g,%.9g,%d,%d,%d,%llu,%llu,%llu,%.9g,%d,%llu,%.9g,%llu,"
                    "%u,%llu,",
                policy, i, qs[i].arrival_s, qs[i].min_accuracy, qs[i].slo_s, r->candidate, r->accuracy,
                r->predicted_s, r->latency_s, r->queue_s, r->slo_met, r->accuracy_met, r->fallback,
                (unsigned long long)r->offchip_bytes, (unsigned long long)r->weight_bytes,
                (unsigned long long)r->hit_bytes, r->energy_j, r->updated, (unsigned long long)r->reload_bytes,
                r->reload_s, (unsigned long long)r->decision_ns, (unsigned)r->config.resolution,
                (unsigned long long)ci.macs);
        fprintf(tl, ",%.9g,%.9g,%d,%d,%.6g", r->e2e_s, r->budget_s, r->e2e_slo_met, r->dropped, r->load_factor);
        if (labels) {
            uint32_t img = (uint32_t)(i % a.n_inputs);
            fprintf(tl, ",%u,%u,%u,%d", img, labels[img], dropped ? 0u : o.pred[i],
                    !dropped && o.pred[i] == labels[img]);
        }
        fputc('\n', tl);
    }
    cli_rt_out_free(&o);
    return 0;
}

int sushi_cli_serve(int argc, char **argv)
{
    setup su;
    memset(&su, 0, sizeof su);
    su.o = (sushi_sched_options)SUSHI_SCHED_OPTIONS_INIT;
    su.objective = su.objective_eff = SUSHI_OBJECTIVE_TIME;
    su.block_miss = SUSHI_SERVER_BLOCK_MISS_DEFAULT;
    const char *file = NULL, *policies = "none,sushi", *trace_path = NULL, *gen = NULL, *timeline = NULL;
    const char *dataset_name = NULL, *data_dir = CLI_FMNIST_DIR, *profile_path = NULL;
    sushi_profile *prof = NULL;
    uint64_t queries = 0;
    bool json = false, run_inputs = false, realtime = false;
    uint64_t workers = 0;
    bool order_given = false, block_given = false, nice_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        char opt[48];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            int hrc = cli_help(serve_help);
            return hrc ? hrc : cli_help(serve_help_rt);
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (file)
                return usage("unexpected argument '%s'", a);
            file = a;
            continue;
        }
        snprintf(opt, sizeof opt, "%s", a);
        char *eq = strchr(opt, '=');
        if (eq) {
            *eq = '\0';
            val = strchr(a, '=') + 1;
        }
        bool flag = strcmp(opt, "--json") == 0 || strcmp(opt, "--run") == 0 || strcmp(opt, "--realtime") == 0;
        if (!flag && !val) {
            if (i + 1 >= argc)
                return usage("%s needs a value", opt);
            val = argv[++i];
        }
        uint64_t u;
        if (strcmp(opt, "--json") == 0)
            json = true;
        else if (strcmp(opt, "--realtime") == 0)
            realtime = true;
        else if (strcmp(opt, "--order") == 0) {
            if (strcmp(val, "edf") == 0)
                su.order = SUSHI_SERVER_ORDER_EDF;
            else if (strcmp(val, "fifo") == 0)
                su.order = SUSHI_SERVER_ORDER_FIFO;
            else
                return usage("--order %s: expected edf or fifo", val);
            order_given = true;
        }
        else if (strcmp(opt, "--block-miss") == 0) {
            char *end;
            errno = 0;
            su.block_miss = strtod(val, &end);
            if (errno || end == val || *end || !(su.block_miss >= 0.0 && su.block_miss <= 1.0))
                return usage("--block-miss %s: expected 0..1", val);
            block_given = true;
        }
        else if (strcmp(opt, "--worker-nice") == 0) {
            char *end;
            errno = 0;
            long v = strtol(val, &end, 10);
            if (errno || end == val || *end || v < -20 || v > 19)
                return usage("--worker-nice %s: expected -20..19", val);
            su.worker_nice = (int32_t)v;
            nice_given = true;
        }
        else if (strcmp(opt, "--workers") == 0) {
            if (!parse_u64(val, &workers) || workers < 1 || workers > 256)
                return usage("--workers %s: expected 1..256", val);
        }
        else if (strcmp(opt, "--run") == 0)
            run_inputs = true;
        else if (strcmp(opt, "--backend") == 0)
            su.backend = val;
        else if (strcmp(opt, "--accel") == 0)
            su.accel = val;
        else if (strcmp(opt, "--param") == 0) {
            int n;
            if (!parse_kv_list(val, su.params + su.n_params, MAX_PARAMS - su.n_params, &n))
                return usage("--param %s: expected KEY=VALUE[,KEY=VALUE...]", val);
            su.n_params += n;
        } else if (strcmp(opt, "--policy") == 0)
            policies = val;
        else if (strcmp(opt, "--window") == 0) {
            if (!parse_u64(val, &u) || u < 1 || u > 1000000)
                return usage("--window %s: expected 1..1000000", val);
            su.o.window = (uint32_t)u;
        } else if (strcmp(opt, "--pb-kib") == 0) {
            double d;
            if (!cli_parse_double(val, &d) || d < 0 || d > 1e12)
                return usage("--pb-kib %s: expected a size in KiB", val);
            su.o.pb_bytes = (uint64_t)(d * 1024.0);
        } else if (strcmp(opt, "--mode") == 0) {
            if (strcmp(val, "both") == 0)
                su.o.mode = SUSHI_SCHED_BOTH;
            else if (strcmp(val, "accuracy") == 0)
                su.o.mode = SUSHI_SCHED_MOST_ACCURATE;
            else if (strcmp(val, "latency") == 0)
                su.o.mode = SUSHI_SCHED_FASTEST;
            else
                return usage("--mode %s: expected both, accuracy or latency", val);
        } else if (strcmp(opt, "--fallback") == 0) {
            if (strcmp(val, "accuracy") == 0)
                su.o.fallback = SUSHI_SCHED_FALLBACK_ACCURACY_FIRST;
            else if (strcmp(val, "latency") == 0)
                su.o.fallback = SUSHI_SCHED_FALLBACK_LATENCY_FIRST;
            else
                return usage("--fallback %s: expected accuracy or latency", val);
        } else if (strcmp(opt, "--reload") == 0) {
            if (strcmp(val, "next") == 0)
                su.o.reload = SUSHI_SCHED_RELOAD_NEXT_QUERY;
            else if (strcmp(val, "separate") == 0)
                su.o.reload = SUSHI_SCHED_RELOAD_SEPARATE;
            else
                return usage("--reload %s: expected next or separate", val);
        } else if (strcmp(opt, "--pareto") == 0) {
            static const char *const names[] = { "macs-bytes", "macs", "bytes", "none" };
            int k = 0;
            while (k < 4 && strcmp(val, names[k]) != 0)
                k++;
            if (k == 4)
                return usage("--pareto %s: expected macs-bytes, macs, bytes or none", val);
            su.o.pareto = k;
        } else if (strcmp(opt, "--objective") == 0) {
            if (strcmp(val, "time") == 0)
                su.objective = SUSHI_OBJECTIVE_TIME;
            else if (strcmp(val, "energy") == 0)
                su.objective = SUSHI_OBJECTIVE_ENERGY;
            else if (strcmp(val, "bytes") == 0)
                su.objective = SUSHI_OBJECTIVE_BYTES;
            else
                return usage("--objective %s: expected time, energy or bytes", val);
        } else if (strcmp(opt, "--trace") == 0)
            trace_path = val;
        else if (strcmp(opt, "--gen") == 0)
            gen = val;
        else if (strcmp(opt, "--queries") == 0) {
            if (!parse_u64(val, &queries) || queries < 1 || queries > 100000000)
                return usage("--queries %s: expected 1..100000000", val);
        } else if (strcmp(opt, "--timeline") == 0)
            timeline = val;
        else if (strcmp(opt, "--dataset") == 0)
            dataset_name = val;
        else if (strcmp(opt, "--data-dir") == 0)
            data_dir = val;
        else if (strcmp(opt, "--profile") == 0)
            profile_path = val;
        else if (strcmp(opt, "--quantile") == 0) {
            double d;
            if (!cli_parse_double(val, &d) || !(d >= 0.5 && d <= 1.0))
                return usage("--quantile %s: expected a number in [0.5, 1] (0.5, 0.9, 0.99, 1 are measured)", val);
            su.o.quantile = d;
        } else if (strcmp(opt, "--adapt") == 0) {
            if (strcmp(val, "auto") == 0)
                su.o.adapt = SUSHI_SCHED_ADAPT_AUTO;
            else if (strcmp(val, "on") == 0)
                su.o.adapt = SUSHI_SCHED_ADAPT_ON;
            else if (strcmp(val, "off") == 0)
                su.o.adapt = SUSHI_SCHED_ADAPT_OFF;
            else
                return usage("--adapt %s: expected auto, on or off", val);
        } else if (strcmp(opt, "--late") == 0) {
            if (strcmp(val, "fastest") == 0)
                su.o.late = SUSHI_SCHED_LATE_FASTEST;
            else if (strcmp(val, "drop") == 0)
                su.o.late = SUSHI_SCHED_LATE_DROP;
            else
                return usage("--late %s: expected fastest or drop", val);
        } else
            return usage("unknown option '%s'", opt);
    }
    if (!file)
        return usage("missing SuperNet FILE");
    if (!su.backend)
        return usage("missing --backend");
    if (trace_path && gen)
        return usage("--trace and --gen are exclusive");
    if (workers && !realtime)
        return usage("--workers needs --realtime");
    if (order_given && !realtime)
        return usage("--order needs --realtime");
    if (block_given && !realtime)
        return usage("--block-miss needs --realtime");
    if (nice_given && !realtime)
        return usage("--worker-nice needs --realtime");
    if (realtime && !dataset_name && !run_inputs)
        return usage("--realtime runs every query: give --dataset NAME or --run");
    if (dataset_name && strcmp(dataset_name, CLI_FMNIST_NAME) != 0)
        return usage("--dataset %s: unknown dataset (known: " CLI_FMNIST_NAME ")", dataset_name);
    const char *pol[MAX_POLICIES];
    char polbuf[512];
    int n_pol = 0;
    snprintf(polbuf, sizeof polbuf, "%s", policies);
    /* split by hand: strtok would silently skip the empty name of "none,,sushi" */
    for (char *tok = polbuf, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        if (!*tok)
            return usage("--policy %s: empty policy name", policies);
        if (n_pol == MAX_POLICIES)
            return usage("too many policies (max %d)", MAX_POLICIES);
        pol[n_pol++] = tok;
    }
    if (n_pol == 0)
        return usage("--policy: empty list");
    for (int k = 0; realtime && k < n_pol; k++)
        if (strcmp(pol[k], "oracle") == 0)
            return usage("--realtime: policy oracle needs the future; a real-time server has none");
    kv genkv[16];
    int n_gen = 0;
    if (gen && !parse_kv_list(gen, genkv, 16, &n_gen))
        return usage("--gen %s: expected KEY=VALUE[,KEY=VALUE...]", gen);
    {
        sushi_trace_gen_options scratch = SUSHI_TRACE_GEN_OPTIONS_INIT;
        int uex = apply_gen(genkv, n_gen, &scratch);
        if (uex)
            return uex;
    }

    int ex = 0;
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_trace *trace = NULL;
    sushi_query *qs = NULL;
    float *input = NULL, *output = NULL;
    cli_dataset test = { 0 };
    hls_calib hcal = { 0 };
    int32_t *served = NULL; /* table indices of the scheduler's candidates */
    size_t n_served = 0;
    served_images images = { 0 };
    cli_progress prog = { 0 };
    run runs[MAX_POLICIES];
    FILE *tl = NULL; /* stream of tl_file (atomic: temporary + rename) */
    sushi_atomic_file tl_file;
    cJSON *root = NULL;
    sushi_trace_gen_options go = SUSHI_TRACE_GEN_OPTIONS_INIT;
    sushi_sched_info info0 = SUSHI_SCHED_INFO_INIT;
    sushi_supernet_info sni = SUSHI_SUPERNET_INFO_INIT;

    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return fail("context: %s", sushi_status_str(rc));
    /* warnings too when workers are asked for a nice value: one that cannot be
     * set (no CAP_SYS_NICE) says so instead of running at the inherited one
     * silently */
    sushi_context_set_log(ctx, log_to_stderr, NULL, su.worker_nice ? SUSHI_LOG_WARN : SUSHI_LOG_ERROR);
    for (int i = 0; i < n_pol; i++) {
        bool known = false;
        for (size_t k = 0; sushi_policy_name(ctx, k); k++)
            known |= strcmp(sushi_policy_name(ctx, k), pol[i]) == 0;
        if (!known) {
            ex = usage("--policy: unknown policy '%s'", pol[i]);
            goto out;
        }
    }
    if (trace_path) {
        char err[512] = "";
        rc = sushi_trace_load_csv(ctx, trace_path, &trace, err, sizeof err);
        if (rc) {
            ex = fail("%s", err[0] ? err : sushi_status_str(rc));
            goto out;
        }
    }
    if ((ex = load_supernet(ctx, file, &sn)))
        goto out;
    sushi_supernet_get_info(sn, &sni);
    {
        /* the scheduler chooses by accuracy: a candidate without one (e.g.
         * fresh from `sushi candidates`) must be measured first */
        uint32_t unmeasured = 0;
        for (uint32_t i = 0; i < sni.n_candidates; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            if (sushi_supernet_candidate(sn, i, &ci) == SUSHI_OK && isnan(ci.accuracy))
                unmeasured++;
        }
        if (unmeasured) {
            ex = fail("%s: %u of its %u candidates have no measured accuracy: run `sushi eval %s --dataset ...` "
                      "(or --images/--labels) first", file, unmeasured, sni.n_candidates, file);
            goto out;
        }
    }
    if (profile_path) {
        rc = sushi_profile_load_file(ctx, profile_path, &prof);
        if (rc) {
            ex = fail("--profile %s: %s", profile_path, sushi_status_str(rc));
            goto out;
        }
    }

    /* a probe scheduler (policy none) for the ranges the generator needs */
    {
        sushi_backend *b = NULL;
        sushi_policy *p = NULL;
        sushi_sched *s = NULL;
        if ((ex = make_backend(sn, &su, &b)))
            goto out;
        bool can_run = (sushi_backend_caps(b) & SUSHI_BACKEND_CAP_RUN) != 0;
        if (realtime && !can_run) {
            sushi_backend_destroy(b);
            ex = usage("--realtime needs a backend that runs inference (cpu, hls); backend %s only models cost",
                       su.backend);
            goto out;
        }
        if (dataset_name && !can_run) {
            sushi_backend_destroy(b);
            ex = usage("--dataset needs a backend that runs inference (cpu, hls); backend %s only models "
                       "cost", su.backend);
            goto out;
        }
        rc = sushi_policy_create(sn, "none", &p);
        if (!rc)
            rc = sushi_sched_create(sn, b, p, &su.o, &s);
        if (!rc)
            rc = sushi_sched_get_info(s, &info0);
        /* the table indices it serves from (the Pareto set) */
        if (!rc && !(served = calloc(info0.n_candidates ? info0.n_candidates : 1, sizeof *served)))
            rc = SUSHI_ERR_NOMEM;
        for (uint32_t i = 0; !rc && i < info0.n_candidates; i++) {
            sushi_sched_candidate sc = SUSHI_SCHED_CANDIDATE_INIT;
            if (!(rc = sushi_sched_candidate_get(s, i, &sc)))
                served[n_served++] = sc.table_index;
        }
        sushi_sched_destroy(s);
        sushi_policy_destroy(p);
        sushi_backend_destroy(b);
        if (rc) {
            ex = fail("scheduler on %s with backend %s: %s", sni.name, su.backend, sushi_status_str(rc));
            goto out;
        }
    }

    /* the images of --dataset */
    if (dataset_name) {
        char err[2400];
        if (sni.in_channels != 1 || sni.num_classes != 10) {
            ex = fail("--dataset %s: the SuperNet takes %u channel(s) and has %u classes; %s needs 1 and 10",
                      dataset_name, sni.in_channels, sni.num_classes, dataset_name);
            goto out;
        }
        if (!cli_dataset_load(data_dir, "t10k", true, &test, err, sizeof err)) {
            ex = fail("--dataset %s: %s", dataset_name, err);
            goto out;
        }
        images.d = &test;
        images.x = malloc((size_t)test.r * test.r * sizeof *images.x);
        output = calloc(sni.num_classes, sizeof *output);
        if (!images.x || !output) {
            ex = fail("out of memory");
            goto out;
        }
        if (strcmp(su.backend, "hls") == 0) {
#if defined(SUSHI_CLI_HAVE_CPU) && defined(SUSHI_CLI_HAVE_HLS)
            cli_dataset train = { 0 };
            if (!cli_dataset_load(data_dir, "train", false, &train, err, sizeof err)) {
                ex = fail("--dataset %s: int8 calibration images: %s", dataset_name, err);
                goto out;
            }
            rc = hls_calibrate(sn, &train, served, n_served, &hcal);
            cli_dataset_free(&train);
            if (rc) {
                ex = fail("--dataset %s: int8 calibration of the candidates: %s", dataset_name,
                          sushi_status_str(rc));
                goto out;
            }
#endif
        }
        rc = sushi_input_from_u8(sn, test.px, test.r, test.r, 1, test.r, images.x, (size_t)test.r * test.r);
        images.direct = rc == SUSHI_OK;
        if (rc == SUSHI_ERR_RANGE)
            rc = sushi_supernet_input_norm(sn, &images.mean, &images.std, 1) == 1 ? SUSHI_OK : SUSHI_ERR_INVALID;
        if (rc) {
            ex = fail("--dataset %s: input of a %u x %u image: %s", dataset_name, test.r, test.r,
                      sushi_status_str(rc));
            goto out;
        }
    }

#ifdef SUSHI_CLI_HAVE_CPU
    /* batch-1 GEMMs of small SubNets: OpenBLAS threads only add overhead (as in eval) */
    if (dataset_name && strcmp(su.backend, "cpu") == 0)
        sushi_cpu_set_threads(1);
#endif

    /* the query stream */
    if (!trace_path) {
        go.acc_lo = info0.accuracy_min, go.acc_hi = info0.accuracy_max;
        go.slo_lo_s = info0.latency_min_s, go.slo_hi_s = info0.latency_max_s;
        go.n_queries = queries ? (uint32_t)queries : 1000;
        if ((ex = apply_gen(genkv, n_gen, &go)))
            goto out;
        char why[128];
        if (!cli_trace_gen_check(&go, why, sizeof why)) {
            ex = usage("--gen: %s (a range key not given takes the SuperNet's range)", why);
            goto out;
        }
        rc = sushi_trace_generate(ctx, &go, &trace);
        if (rc == SUSHI_ERR_NOMEM) {
            ex = fail("--gen: out of memory generating %u queries", go.n_queries);
            goto out;
        }
        if (rc) {
            ex = fail("--gen: invalid generator options (%s)", sushi_status_str(rc));
            goto out;
        }
    }
    size_t nq = sushi_trace_length(trace);
    if (queries && queries < nq)
        nq = (size_t)queries;
    if (nq == 0) {
        ex = fail("the trace has no queries");
        goto out;
    }
    qs = calloc(nq, sizeof *qs);
    if (!qs) {
        ex = fail("out of memory");
        goto out;
    }
    if (run_inputs && !dataset_name) {
        size_t len = (size_t)sni.in_channels * sni.default_resolution * sni.default_resolution;
        input = malloc(len * sizeof *input);
        output = calloc(sni.num_classes ? sni.num_classes : 1, sizeof *output);
        if (!input || !output) {
            ex = fail("out of memory");
            goto out;
        }
        uint32_t x = 12345;
        for (size_t i = 0; i < len; i++) {
            x = x * 1664525u + 1013904223u;
            input[i] = (float)((x >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
        }
    }
    for (size_t i = 0; i < nq; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(trace, i, &e);
        qs[i] = (sushi_query)SUSHI_QUERY_INIT;
        qs[i].min_accuracy = e.min_accuracy, qs[i].slo_s = e.slo_s, qs[i].arrival_s = e.t_s;
        if (dataset_name) {
            qs[i].input = images.x; /* filled with image i mod n just before query i */
            qs[i].input_len = (size_t)test.r * test.r;
            qs[i].output = output, qs[i].output_len = sni.num_classes;
        } else if (input) {
            qs[i].input = input;
            qs[i].input_len = (size_t)sni.in_channels * sni.default_resolution * sni.default_resolution;
            qs[i].output = output, qs[i].output_len = sni.num_classes;
        }
    }
    if (timeline) {
        int e = sushi_atomic_open(&tl_file, timeline);
        if (!e && !(tl = sushi_atomic_stream(&tl_file))) {
            e = errno;
            sushi_atomic_abort(&tl_file);
        }
        if (e) {
            ex = fail("%s: cannot write: %s", timeline, strerror(e));
            goto out;
        }
        fprintf(tl, "policy,query,t_s,min_accuracy,slo_s,candidate,accuracy,predicted_s,latency_s,queue_s,"
                    "slo_met,accuracy_met,fallback,offchip_bytes,weight_bytes,hit_bytes,energy_j,updated,"
                    "reload_bytes,reload_s,decision_ns,resolution,macs,resident_bytes,e2e_s,budget_s,"
                    "e2e_slo_met,dropped,load_factor%s\n",
                dataset_name ? ",image,label,predicted,correct" : "");
    }

    /* serve once per policy */
    cli_progress_start(&prog, (uint64_t)n_pol * nq, "queries");
    for (int k = 0; realtime && k < n_pol; k++) {
        runs[k].policy = pol[k];
        if ((ex = serve_realtime_policy(sn, &su, &hcal, prof, pol[k], workers ? (uint32_t)workers : 1, qs, nq,
                                        dataset_name ? &images : NULL, input, &sni, tl, &runs[k])))
            goto out;
        cli_progress_update(&prog, (uint64_t)(k + 1) * nq);
    }
    for (int k = 0; !realtime && k < n_pol; k++) {
        sushi_backend *b = NULL;
        sushi_policy *p = NULL;
        sushi_sched *s = NULL;
        if ((ex = make_backend(sn, &su, &b)))
            goto out;
        rc = hls_give_ranges(b, &hcal);
        if (!rc)
            rc = sushi_policy_create(sn, pol[k], &p);
        if (!rc)
            rc = sushi_sched_create(sn, b, p, &su.o, &s);
        if (!rc)
            rc = sushi_sched_set_objective(s, su.objective);
        if (!rc)
            su.objective_eff = sushi_sched_objective(s);
        if (!rc && strcmp(pol[k], "oracle") == 0)
            rc = sushi_sched_set_lookahead(s, qs, nq);
        if (!rc && prof) {
            rc = sushi_sched_set_profile(s, prof);
            if (rc) {
                sushi_sched_destroy(s);
                sushi_policy_destroy(p);
                sushi_backend_destroy(b);
                ex = fail("--profile %s: cannot be used with this SuperNet and backend (%s)", profile_path,
                          sushi_status_str(rc));
                goto out;
            }
        }
        snprintf(prog.label, sizeof prog.label, "%s", pol[k]);
        uint64_t correct = 0;
        for (size_t i = 0; !rc && i < nq; i++) {
            sushi_result r = SUSHI_RESULT_INIT;
            uint32_t img = 0, label = 0, pred = 0;
            if (dataset_name) {
                img = (uint32_t)(i % test.n);
                label = test.y[img];
                if ((rc = image_input(sn, &images, img)))
                    break;
            }
            rc = sushi_sched_submit(s, &qs[i], &r);
            if (!rc && dataset_name && !r.dropped) {
                if (!r.ran) {
                    rc = SUSHI_ERR_BACKEND; /* cannot happen: the backend runs (checked) */
                    break;
                }
                pred = argmax(output, sni.num_classes);
                correct += pred == label;
            }
            if (!rc && tl) {
                sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
                sushi_sched_info si = SUSHI_SCHED_INFO_INIT;
                if (!r.dropped)
                    sushi_supernet_candidate(sn, (uint32_t)r.candidate, &ci);
                sushi_sched_get_info(s, &si);
                fprintf(tl, "%s,%zu,%.9g,%.6g,%.9g,%d,%.6g,%.9g,%.9g,%.9g,%d,%d,%d,%llu,%llu,%llu,%.9g,%d,%llu,%.9g,%llu,"
                            "%u,%llu,%llu",
                        pol[k], i, qs[i].arrival_s, qs[i].min_accuracy, qs[i].slo_s, r.candidate, r.accuracy,
                        r.predicted_s, r.latency_s, r.queue_s, r.slo_met, r.accuracy_met, r.fallback,
                        (unsigned long long)r.offchip_bytes, (unsigned long long)r.weight_bytes,
                        (unsigned long long)r.hit_bytes, r.energy_j, r.updated, (unsigned long long)r.reload_bytes,
                        r.reload_s, (unsigned long long)r.decision_ns, (unsigned)r.config.resolution,
                        (unsigned long long)ci.macs, (unsigned long long)si.resident_bytes);
                fprintf(tl, ",%.9g,%.9g,%d,%d,%.6g", r.e2e_s, r.budget_s, r.e2e_slo_met, r.dropped, r.load_factor);
                if (dataset_name)
                    fprintf(tl, ",%u,%u,%u,%d", img, label, r.dropped ? 0u : pred, !r.dropped && pred == label);
                fputc('\n', tl);
            }
            cli_progress_update(&prog, (uint64_t)k * nq + i + 1);
        }
        runs[k].correct = correct;
        runs[k].policy = pol[k];
        runs[k].st = (sushi_sched_stats)SUSHI_SCHED_STATS_INIT;
        if (!rc)
            rc = sushi_sched_get_stats(s, &runs[k].st);
        sushi_sched_destroy(s);
        sushi_policy_destroy(p);
        sushi_backend_destroy(b);
        if (rc) {
            cli_progress_end(&prog, (uint64_t)k * nq);
            ex = fail("policy %s: %s", pol[k], sushi_status_str(rc));
            goto out;
        }
    }
    cli_progress_end(&prog, (uint64_t)n_pol * nq);
    if (tl) {
        tl = NULL;
        int e = sushi_atomic_commit(&tl_file);
        if (e) {
            ex = fail("%s: cannot write: %s", timeline, strerror(e));
            goto out;
        }
    }

    const run *base = &runs[0];
    for (int k = 0; k < n_pol; k++)
        if (strcmp(runs[k].policy, "none") == 0)
            base = &runs[k];

    if (json) {
        root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "supernet", sni.name);
        cJSON_AddBoolToObject(root, "synthetic", sni.synthetic);
        cJSON_AddStringToObject(root, "backend", su.backend);
        if (su.accel)
            cJSON_AddStringToObject(root, "accel", su.accel);
        else
            cJSON_AddNullToObject(root, "accel");
        cJSON_AddBoolToObject(root, "realtime", realtime);
        if (realtime) {
            json_num(root, "workers", workers ? (double)workers : 1.0);
            json_num(root, "block_miss", su.block_miss);
            json_num(root, "worker_nice", su.worker_nice);
        }
        json_num(root, "window", su.o.window);
        json_num(root, "pb_bytes", (double)info0.pb_bytes);
        cJSON_AddStringToObject(root, "mode", mode_name(su.o.mode));
        cJSON_AddStringToObject(root, "fallback", su.o.fallback ? "latency" : "accuracy");
        cJSON_AddStringToObject(root, "reload", su.o.reload ? "separate" : "next");
        cJSON_AddStringToObject(root, "objective", objective_name(su.objective_eff));
        cJSON_AddStringToObject(root, "objective_requested", objective_name(su.objective));
        json_num(root, "candidates", info0.n_candidates);
        json_num(root, "accuracy_min", info0.accuracy_min);
        json_num(root, "accuracy_max", info0.accuracy_max);
        json_num(root, "latency_min_s", info0.latency_min_s);
        json_num(root, "latency_max_s", info0.latency_max_s);
        if (profile_path)
            cJSON_AddStringToObject(root, "profile", profile_path);
        else
            cJSON_AddNullToObject(root, "profile");
        cJSON_AddBoolToObject(root, "adaptation", runs[0].st.adaptive);
        json_num(root, "quantile", profile_path ? su.o.quantile : NAN);
        cJSON_AddStringToObject(root, "late", su.o.late == SUSHI_SCHED_LATE_DROP ? "drop" : "fastest");
        cJSON *tr = cJSON_AddObjectToObject(root, "trace");
        cJSON_AddStringToObject(tr, "source", trace_path ? "file" : "generated");
        if (trace_path)
            cJSON_AddStringToObject(tr, "path", trace_path);
        json_num(tr, "queries", (double)nq);
        if (!trace_path) {
            json_num(tr, "seed", (double)go.seed);
            json_num(tr, "regimes", go.n_regimes);
            json_num(tr, "dwell", go.dwell);
            json_num(tr, "mix", go.mix);
            json_num(tr, "both", go.both);
            json_num(tr, "jitter", go.jitter);
            json_num(tr, "rate_hz", go.rate_hz);
            json_num(tr, "acc_lo", go.acc_lo);
            json_num(tr, "acc_hi", go.acc_hi);
            json_num(tr, "slo_lo_s", go.slo_lo_s);
            json_num(tr, "slo_hi_s", go.slo_hi_s);
        }
        if (dataset_name) {
            cJSON *ds = cJSON_AddObjectToObject(root, "dataset");
            cJSON_AddStringToObject(ds, "name", dataset_name);
            cJSON_AddStringToObject(ds, "split", "test");
            json_num(ds, "images", test.n);
            cJSON_AddStringToObject(ds, "assignment", "query i gets test image i mod images");
        } else
            cJSON_AddNullToObject(root, "dataset");
        cJSON *arr = cJSON_AddArrayToObject(root, "policies");
        for (int k = 0; k < n_pol; k++)
            cJSON_AddItemToArray(arr, stats_json(&runs[k], dataset_name != NULL));
        cJSON_AddStringToObject(root, "baseline", base->policy);
        cJSON *cmp = cJSON_AddArrayToObject(root, "comparison");
        for (int k = 0; k < n_pol; k++) {
            if (&runs[k] == base)
                continue;
            const sushi_sched_stats *s = &runs[k].st, *bs = &base->st;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "policy", runs[k].policy);
            json_num(o, "latency_mean_change", change(s->latency_mean_s, bs->latency_mean_s));
            json_num(o, "latency_p99_change", change(s->latency_p99_s, bs->latency_p99_s));
            json_num(o, "offchip_bytes_change", change((double)s->offchip_bytes, (double)bs->offchip_bytes));
            json_num(o, "energy_offchip_change", change(s->energy_offchip_j, bs->energy_offchip_j));
            json_num(o, "energy_change", change(s->energy_j, bs->energy_j));
            json_num(o, "accuracy_mean_delta", s->accuracy_mean - bs->accuracy_mean);
            json_num(o, "slo_attainment_delta", s->slo_attainment - bs->slo_attainment);
            cJSON_AddItemToArray(cmp, o);
        }
        char *text = cJSON_PrintUnformatted(root);
        if (!text) {
            ex = fail("out of memory");
            goto out;
        }
        puts(text);
        free(text);
    } else {
        printf("SuperNet %s%s, backend %s%s%s, PB %.3f MB, Q=%u, mode %s, reload %s\n", sni.name,
               provenance_note(sn, &sni), su.backend,
               su.accel ? ", accel " : "", su.accel ? su.accel : "", info0.pb_bytes / 1e6, su.o.window,
               mode_name(su.o.mode), su.o.reload ? "separate" : "charged to the next query");
        printf("cache objective: %s%s\n", objective_name(su.objective_eff),
               su.objective_eff != su.objective ? " (the backend reports no tile savings)" : "");
        if (info0.pb_bytes == 0)
            printf("note: no persistent buffer (the backend has no pb_kib/pb_bytes; use --pb-kib): "
                   "every policy serves like none\n");
        printf("candidates: %u (Pareto of %u), accuracy %.2f..%.2f %%, predicted latency %.4f..%.4f ms "
               "(nothing resident)\n", info0.n_candidates, info0.n_with_accuracy, info0.accuracy_min * 100,
               info0.accuracy_max * 100, info0.latency_min_s * 1e3, info0.latency_max_s * 1e3);
        if (trace_path)
            printf("trace: %s, %zu queries\n", trace_path, nq);
        else
            printf("trace: generated, %zu queries, seed %llu, %u regimes, dwell %g, mix %g, both %g, "
                   "jitter %g, rate %g/s, accuracy %.4f..%.4f, SLO %.4f..%.4f ms\n", nq,
                   (unsigned long long)go.seed, go.n_regimes, go.dwell, go.mix, go.both, go.jitter, go.rate_hz,
                   go.acc_lo, go.acc_hi, go.slo_lo_s * 1e3, go.slo_hi_s * 1e3);
        if (realtime)
            printf("real time: each query issued at its trace arrival time to a server with %llu worker(s); "
                   "latencies measured, SLOs end to end (queueing included)\n",
                   (unsigned long long)(workers ? workers : 1));
        if (dataset_name)
            printf("dataset: %s test, %u images, query i classifies image i mod %u; measured top-1 beside "
                   "the candidate table's expected accuracy (acc mean)\n", dataset_name, test.n, test.n);
        print_table(runs, n_pol, base, dataset_name != NULL);
        printf("\nend to end (SLO from arrival; prediction: %s%s, late queries: %s)\n",
               profile_path ? "profile " : "backend model", profile_path ? profile_path : "",
               su.o.late == SUSHI_SCHED_LATE_DROP ? "dropped" : "served by the fallback");
        printf("%-8s %10s %10s %9s %9s %8s %7s %10s\n", "policy", "e2e mean", "e2e p99", "e2e ok", "serv ok",
               "dropped", "adapt", "load");
        printf("%-8s %10s %10s %9s %9s %8s %7s %10s\n", "", "ms", "ms", "%", "%", "", "", "factor");
        for (int k = 0; k < n_pol; k++) {
            const sushi_sched_stats *st = &runs[k].st;
            printf("%-8s %10.4f %10.4f %9.2f %9.2f %8llu %7s %10.4f\n", runs[k].policy,
                   st->e2e_latency_mean_s * 1e3, st->e2e_latency_p99_s * 1e3, st->e2e_slo_attainment * 100,
                   st->service_slo_attainment * 100, (unsigned long long)st->dropped, st->adaptive ? "on" : "off",
                   st->load_factor);
        }
    }
out:
    if (tl)
        sushi_atomic_abort(&tl_file); /* a failed run leaves the old timeline */
    cJSON_Delete(root);
    free(qs);
    cli_progress_end(&prog, 0);
    free(input);
    free(output);
    free(images.x);
    cli_dataset_free(&test);
    hls_calib_free(&hcal);
    free(served);
    sushi_trace_destroy(trace);
    sushi_profile_destroy(prof);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return ex;
}
