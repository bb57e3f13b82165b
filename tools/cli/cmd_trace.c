/* `sushi trace`: make and inspect query traces (docs/scheduler.md, "Traces").
 *
 *   sushi trace gen [options] -o FILE.csv
 *   sushi trace info FILE.csv [--json]
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

#include "cli.h"

static const char trace_help[] =
    "usage: sushi trace gen [options] -o FILE.csv\n"
    "       sushi trace info FILE.csv [--json]\n"
    "\n"
    "gen: write a generated query trace (CSV: t_s,min_accuracy,slo_s,label; the\n"
    "label is the regime). Demand moves between regimes of (accuracy floor, SLO)\n"
    "with a geometric dwell; see docs/scheduler.md.\n"
    "  -o, --output FILE     where to write (required)\n"
    "  --queries N           number of queries (default 1000)\n"
    "  --seed S              generator seed (default 0); same seed, same trace\n"
    "  --regimes K           number of demand regimes (default 4)\n"
    "  --dwell D             mean queries per regime visit, >= 1 (default 100; 1 = no locality)\n"
    "  --mix M               fraction of latency-bound queries (default 0.5; the rest accuracy-bound)\n"
    "  --both B              fraction of queries with both constraints (default 0)\n"
    "  --jitter J            jitter around a regime's centre, fraction of the range (default 0.02)\n"
    "  --rate R              Poisson arrival rate, queries/s (default 100)\n"
    "  --acc LO:HI           accuracy floors range, fractions (default 0.70:0.80)\n"
    "  --slo LO:HI           SLO range in seconds, suffix ms/us allowed (default 1ms:10ms)\n"
    "  --model FILE          take the ranges from SuperNet FILE's candidates (builtin:NAME or a .sushi\n"
    "                        file) as predicted by --backend (default cycle) [--accel PRESET]\n"
    "                        [--pb-kib N]; --acc/--slo still override\n"
    "info: summarise a trace: queries, duration, kinds of queries, regimes, dwell.\n";

static int usage(const char *fmt, ...)
{
    va_list ap;
    fputs("sushi: trace: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see 'sushi trace --help')\n", stderr);
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
    fprintf(stderr, "sushi: trace: %s", line);
    const char *tail = strstr(last_log, ": "); /* "load x.sushi: <why>": <why> may be in line already */
    if (last_log[0] && !strstr(line, last_log) && !(tail && strstr(line, tail + 2)))
        fprintf(stderr, ": %s", last_log);
    fputc('\n', stderr);
    last_log[0] = '\0';
    return 1;
}

/* Not printed: kept for the one error line fail() prints (the level is ERROR only). */
static void log_to_stderr(void *user, int level, const char *msg)
{
    (void)user, (void)level;
    snprintf(last_log, sizeof last_log, "%s", msg);
    for (char *c = last_log; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

/* Ranges of a SuperNet's candidates under a backend (policy none). */
static int model_ranges(const char *spec, const char *backend, const char *accel, double pb_kib,
                        sushi_sched_info *info)
{
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_policy *p = NULL;
    sushi_sched *s = NULL;
    int ex = 0;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return fail("context: %s", sushi_status_str(rc));
    sushi_context_set_log(ctx, log_to_stderr, NULL, SUSHI_LOG_ERROR);
    struct stat stt;
    const char *name = strncmp(spec, "builtin:", 8) == 0 ? spec + 8 : spec;
    if (name == spec && stat(spec, &stt) == 0) {
        char err[512] = "";
        sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
        lo.errbuf = err, lo.errbuf_size = sizeof err;
        rc = sushi_supernet_load_file(ctx, spec, &lo, &sn);
        if (rc) {
            ex = fail("%s: %s%s%s", spec, sushi_status_str(rc), err[0] ? ": " : "", err);
            goto out;
        }
    } else {
        rc = sushi_supernet_builtin(ctx, name, 0, &sn);
        if (rc) {
            ex = fail("%s: %s", spec, rc == SUSHI_ERR_NOT_FOUND ? "no such file or built-in SuperNet"
                                                                  : sushi_status_str(rc));
            goto out;
        }
    }
    rc = sushi_backend_create(sn, backend, &b);
    if (rc) {
        ex = fail("backend %s: %s", backend, sushi_status_str(rc));
        goto out;
    }
    if (accel) {
        double id;
        if (!cli_accel_preset(accel, &id)) {
            ex = usage("gen: --accel %s: unknown preset (zcu104, u50, zcu104-sgs, u50-sgs)", accel);
            goto out;
        }
        rc = sushi_backend_set_param(b, "preset", id);
        if (rc) {
            ex = fail("--accel %s: backend %s: %s", accel, backend, sushi_status_str(rc));
            goto out;
        }
    }
    rc = sushi_policy_create(sn, "none", &p);
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    if (pb_kib >= 0)
        o.pb_bytes = (uint64_t)(pb_kib * 1024.0);
    if (!rc)
        rc = sushi_sched_create(sn, b, p, &o, &s);
    if (!rc)
        rc = sushi_sched_get_info(s, info);
    if (rc)
        ex = fail("scheduler: %s", sushi_status_str(rc));
out:
    sushi_sched_destroy(s);
    sushi_policy_destroy(p);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return ex;
}

static int trace_gen(int argc, char **argv)
{
    sushi_trace_gen_options g = SUSHI_TRACE_GEN_OPTIONS_INIT;
    const char *outp = NULL, *model = NULL, *backend = "cycle", *accel = NULL;
    unsigned set = 0; /* CLI_GEN_SET_* */
    double pb_kib = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(trace_help, stdout);
            return 0;
        }
        char opt[48];
        const char *val = NULL;
        snprintf(opt, sizeof opt, "%s", a);
        char *eq = strchr(opt, '=');
        if (eq) {
            *eq = '\0';
            val = strchr(a, '=') + 1;
        }
        if (a[0] != '-')
            return usage("gen: unexpected argument '%s'", a);
        if (!val) {
            if (i + 1 >= argc)
                return usage("gen: %s needs a value", opt);
            val = argv[++i];
        }
        bool ok = true;
        if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0)
            outp = val;
        else if (strcmp(opt, "--model") == 0)
            model = val;
        else if (strcmp(opt, "--backend") == 0)
            backend = val;
        else if (strcmp(opt, "--accel") == 0)
            accel = val;
        else if (strcmp(opt, "--pb-kib") == 0)
            ok = cli_parse_double(val, &pb_kib) && pb_kib >= 0;
        else if (strncmp(opt, "--", 2) == 0) {
            /* generator options: parsed as serve --gen parses them (common.c) */
            const char *k = opt + 2; /* --acc/--slo LO:HI here, not acc_lo=... */
            int r = strchr(k, '_') || strcmp(k, "n") == 0 ? CLI_GEN_UNKNOWN_KEY : cli_trace_gen_set(&g, k, val, &set);
            if (r == CLI_GEN_UNKNOWN_KEY)
                return usage("gen: unknown option '%s'", opt);
            if (r != CLI_GEN_OK)
                return usage("gen: %s %s: expected %s", opt, val, cli_trace_gen_expect(k));
        } else
            return usage("gen: unknown option '%s'", opt);
        if (!ok)
            return usage("gen: %s %s: bad value", opt, val);
    }
    if (!outp)
        return usage("gen: missing -o FILE.csv");
    if (model) {
        sushi_sched_info info = SUSHI_SCHED_INFO_INIT;
        int ex = model_ranges(model, backend, accel, pb_kib, &info);
        if (ex)
            return ex;
        if (!(set & CLI_GEN_SET_ACC))
            g.acc_lo = info.accuracy_min, g.acc_hi = info.accuracy_max;
        if (!(set & CLI_GEN_SET_SLO))
            g.slo_lo_s = info.latency_min_s, g.slo_hi_s = info.latency_max_s;
    }
    if (!(g.acc_lo >= 0 && g.acc_lo <= g.acc_hi && g.acc_hi <= 1))
        return usage("gen: --acc %g:%g: need 0 <= LO <= HI <= 1", g.acc_lo, g.acc_hi);
    if (!(g.slo_lo_s > 0 && g.slo_lo_s <= g.slo_hi_s))
        return usage("gen: --slo %g:%g: need 0 < LO <= HI", g.slo_lo_s, g.slo_hi_s);
    sushi_trace *t;
    int rc = sushi_trace_generate(NULL, &g, &t);
    if (rc == SUSHI_ERR_NOMEM)
        return fail("gen: out of memory generating %u queries", g.n_queries);
    if (rc)
        return fail("gen: %s", sushi_status_str(rc));
    /* the library returns SUSHI_ERR_IO; the system's reason (ENOSPC, EFBIG,
     * EACCES...) is still in errno: name it */
    errno = 0;
    rc = sushi_trace_save_csv(t, outp);
    int why = errno;
    sushi_trace_destroy(t);
    if (rc && why)
        return fail("%s: cannot write (%s: %s)", outp, sushi_status_str(rc), strerror(why));
    if (rc)
        return fail("%s: cannot write (%s)", outp, sushi_status_str(rc));
    fprintf(stderr, "sushi: trace: wrote %u queries to %s (seed %llu, %u regimes, dwell %g, mix %g, both %g, "
            "accuracy %.4f..%.4f, SLO %.6g..%.6g s)\n", g.n_queries, outp, (unsigned long long)g.seed,
            g.n_regimes, g.dwell, g.mix, g.both, g.acc_lo, g.acc_hi, g.slo_lo_s, g.slo_hi_s);
    return 0;
}

static int trace_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(trace_help, stdout);
            return 0;
        } else if (argv[i][0] == '-')
            return usage("info: unknown option '%s'", argv[i]);
        else if (path)
            return usage("info: unexpected argument '%s'", argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return usage("info: missing FILE.csv");
    sushi_trace *t;
    char err[512] = "";
    int rc = sushi_trace_load_csv(NULL, path, &t, err, sizeof err);
    if (rc)
        return fail("%s", err[0] ? err : sushi_status_str(rc));
    size_t n = sushi_trace_length(t), lat = 0, acc = 0, both = 0, none = 0, switches = 0, labelled = 0;
    double t_end = 0, acc_min = INFINITY, acc_max = -INFINITY, slo_min = INFINITY, slo_max = -INFINITY;
    int64_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        sushi_trace_entry e = SUSHI_TRACE_ENTRY_INIT;
        sushi_trace_get(t, i, &e);
        bool a = e.min_accuracy > 0, l = e.slo_s > 0;
        both += a && l, lat += l && !a, acc += a && !l, none += !a && !l;
        if (a)
            acc_min = fmin(acc_min, e.min_accuracy), acc_max = fmax(acc_max, e.min_accuracy);
        if (l)
            slo_min = fmin(slo_min, e.slo_s), slo_max = fmax(slo_max, e.slo_s);
        if (e.label >= 0) {
            labelled++;
            switches += prev >= 0 && e.label != prev;
            prev = e.label;
        }
        t_end = e.t_s;
    }
    sushi_trace_destroy(t);
    double dwell = labelled ? (double)labelled / (double)(switches + 1) : NAN;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", path);
        cJSON_AddNumberToObject(o, "queries", (double)n);
        cJSON_AddNumberToObject(o, "duration_s", t_end);
        cJSON_AddNumberToObject(o, "latency_bound", (double)lat);
        cJSON_AddNumberToObject(o, "accuracy_bound", (double)acc);
        cJSON_AddNumberToObject(o, "both", (double)both);
        cJSON_AddNumberToObject(o, "unconstrained", (double)none);
        if (labelled) {
            cJSON_AddNumberToObject(o, "label_changes", (double)switches);
            cJSON_AddNumberToObject(o, "mean_dwell", dwell);
        }
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!s)
            return fail("out of memory");
        puts(s);
        free(s);
        return 0;
    }
    printf("%s: %zu queries over %.3f s\n", path, n, t_end);
    printf("  latency-bound %zu, accuracy-bound %zu, both %zu, unconstrained %zu\n", lat, acc, both, none);
    if (acc + both)
        printf("  accuracy floors %.4f..%.4f\n", acc_min, acc_max);
    if (lat + both)
        printf("  SLOs %.6g..%.6g s\n", slo_min, slo_max);
    if (labelled)
        printf("  label (regime) changes %zu, mean dwell %.1f queries\n", switches, dwell);
    return 0;
}

int sushi_cli_trace(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(trace_help, stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "gen") == 0)
        return trace_gen(argc, argv);
    if (strcmp(argv[1], "info") == 0)
        return trace_info(argc, argv);
    return usage("unknown action '%s' (gen, info)", argv[1]);
}
