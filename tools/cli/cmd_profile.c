/* `sushi profile`: measure the latency of every candidate SubNet on a backend
 * and write a latency profile (docs/profile.md) that `sushi serve --profile`
 * predicts service time from; `--show` prints one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char profile_help[] =
    "usage: sushi profile FILE -o PROFILE [--backend cpu|hls] [--int8] [--threads N]\n"
    "                      [--warmup N] [--reps N] [--json]\n"
    "       sushi profile --show PROFILE [--json]\n"
    "\n"
    "Run every candidate of the SuperNet in FILE (a .sushi file or builtin:NAME)\n"
    "on a backend, N warm-up runs then M timed runs each (batch 1, nothing\n"
    "resident, a fixed synthetic input), and write a latency profile: per\n"
    "candidate the number of runs, mean, p50, p90, p99 and max, and what it was\n"
    "measured on (backend and its params, threads, CPU model, library version,\n"
    "the SuperNet's content hash). Format: docs/profile.md.\n"
    "\n"
    "options:\n"
    "  -o, --output PROFILE   file to write (atomically replaced)\n"
    "  -b, --backend NAME     cpu (default) or hls\n"
    "      --int8             profile the int8 path (cpu: needs the int8 ranges that\n"
    "                         'sushi calibrate' stores; hls always runs int8)\n"
    "      --threads N        the backend's threads (cpu default 1, as 'serve --dataset'\n"
    "                         and 'eval' run)\n"
    "      --warmup N         untimed runs per candidate first (default 10)\n"
    "      --reps M           timed runs per candidate, 1..1000000 (default 200)\n"
    "      --show PROFILE     print a profile instead of measuring one\n"
    "      --json             print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help             show this help\n";

enum { OPT_OUTPUT = 1, OPT_BACKEND, OPT_INT8, OPT_THREADS, OPT_WARMUP, OPT_REPS, OPT_SHOW, OPT_JSON };

static const cli_option profile_opts[] = {
    { "output", 'o', true, OPT_OUTPUT },
    { "backend", 'b', true, OPT_BACKEND },
    { "int8", 0, false, OPT_INT8 },
    { "threads", 0, true, OPT_THREADS },
    { "warmup", 0, true, OPT_WARMUP },
    { "reps", 0, true, OPT_REPS },
    { "show", 0, true, OPT_SHOW },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

/* The library's last error message, for the one error line. */
static char last_error[512];

static void keep_error(void *user, int level, const char *msg)
{
    (void)user;
    if (level == SUSHI_LOG_ERROR)
        snprintf(last_error, sizeof last_error, "%s", msg);
}

static int load_sn(sushi_context *ctx, const char *spec, sushi_supernet **sn)
{
    char err[512] = "";
    int rc;
    size_t plen = strlen(CLI_BUILTIN_PREFIX);
    if (strncmp(spec, CLI_BUILTIN_PREFIX, plen) == 0) {
        rc = sushi_supernet_builtin(ctx, spec + plen, 0, sn);
    } else {
        sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
        lo.errbuf = err;
        lo.errbuf_size = sizeof err;
        lo.flags |= cli_load_flags;
        rc = sushi_supernet_load_file(ctx, spec, &lo, sn);
    }
    if (rc) {
        char what[320];
        snprintf(what, sizeof what, "load '%s'", spec);
        return cli_fail(what, rc, err[0] ? err : NULL);
    }
    return CLI_EXIT_OK;
}

static int print_profile(const sushi_profile *p, const char *path, const sushi_supernet *sn, bool json)
{
    sushi_profile_info in = SUSHI_PROFILE_INFO_INIT;
    int rc = sushi_profile_get_info(p, &in);
    if (rc)
        return cli_fail("profile", rc, NULL);
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "profile", path);
        cli_json_str(root, "backend", in.backend);
        cli_json_str(root, "supernet", in.supernet);
        cli_json_str(root, "supernet_hash", in.supernet_hash);
        cli_json_str(root, "cpu_model", in.cpu_model);
        cli_json_str(root, "library_version", in.library_version);
        cli_json_num(root, "threads", in.threads);
        cli_json_bool(root, "int8", in.int8);
        cli_json_num(root, "warmup", in.warmup);
        cli_json_num(root, "reps", in.reps);
        cli_json_num(root, "created_unix_s", in.created_unix_s);
        cJSON *params = cli_json_add_object(root, "params");
        for (uint32_t i = 0; i < in.n_params; i++) {
            const char *k;
            double v;
            if (!sushi_profile_param(p, i, &k, &v))
                cli_json_num(params, k, v);
        }
        cJSON *arr = cli_json_add_array(root, "entries");
        for (uint32_t i = 0; i < in.n_entries; i++) {
            sushi_profile_entry e = SUSHI_PROFILE_ENTRY_INIT;
            if (sushi_profile_entry_get(p, i, &e))
                continue;
            cJSON *o = cli_json_append_object(arr);
            cli_json_num(o, "candidate", e.candidate);
            cli_json_num(o, "n", e.n);
            cli_json_num(o, "mean_s", e.mean_s);
            cli_json_num(o, "p50_s", e.p50_s);
            cli_json_num(o, "p90_s", e.p90_s);
            cli_json_num(o, "p99_s", e.p99_s);
            cli_json_num(o, "max_s", e.max_s);
        }
        return cli_json_print(root);
    }
    printf("profile   %s\n", path);
    printf("supernet  %s (content hash %s)\n", in.supernet, in.supernet_hash);
    printf("backend   %s%s, %u thread%s", in.backend, in.int8 ? " (int8)" : "", in.threads,
           in.threads == 1 ? "" : "s");
    for (uint32_t i = 0; i < in.n_params; i++) {
        const char *k;
        double v;
        if (!sushi_profile_param(p, i, &k, &v))
            printf("%s%s=%g", i ? "," : ", params ", k, v);
    }
    printf("\nmachine   %s, libsushi %s\n", in.cpu_model, in.library_version);
    printf("runs      %u warm-up + %u timed per candidate\n\n", in.warmup, in.reps);
    printf("%9s %10s %9s %9s %9s %9s %9s %9s\n", "candidate", "MMACs", "acc %", "mean ms", "p50 ms", "p90 ms",
           "p99 ms", "max ms");
    for (uint32_t i = 0; i < in.n_entries; i++) {
        sushi_profile_entry e = SUSHI_PROFILE_ENTRY_INIT;
        if (sushi_profile_entry_get(p, i, &e))
            continue;
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        bool have = sn && sushi_supernet_candidate(sn, (size_t)e.candidate, &ci) == SUSHI_OK;
        char acc[16] = "-";
        if (have && !isnan(ci.accuracy))
            snprintf(acc, sizeof acc, "%.2f", ci.accuracy * 100);
        printf("%9d %10s %9s %9.4f %9.4f %9.4f %9.4f %9.4f\n", (int)e.candidate,
               have ? cli_fmt_mcol(ci.macs).s : "-", acc, e.mean_s * 1e3, e.p50_s * 1e3, e.p90_s * 1e3,
               e.p99_s * 1e3, e.max_s * 1e3);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
}

int cli_cmd_profile(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, profile_opts);
    const char *file = NULL, *output = NULL, *backend = "cpu", *show = NULL, *arg;
    bool json = false, int8 = false;
    uint32_t threads = 0, warmup = 10, reps = 200;
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(profile_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_OUTPUT: output = arg; break;
        case OPT_BACKEND: backend = arg; break;
        case OPT_INT8: int8 = true; break;
        case OPT_SHOW: show = arg; break;
        case OPT_JSON: json = true; break;
        case OPT_THREADS:
            if (!cli_parse_u32(p.cmd, "--threads", arg, &threads))
                return CLI_EXIT_USAGE;
            if (threads < 1 || threads > 1024)
                return cli_usage_error(p.cmd, "--threads %s: expected 1..1024", arg);
            break;
        case OPT_WARMUP:
            if (!cli_parse_u32(p.cmd, "--warmup", arg, &warmup))
                return CLI_EXIT_USAGE;
            if (warmup > 1000000)
                return cli_usage_error(p.cmd, "--warmup %s: expected 0..1000000", arg);
            break;
        case OPT_REPS:
            if (!cli_parse_u32(p.cmd, "--reps", arg, &reps))
                return CLI_EXIT_USAGE;
            if (reps < 1 || reps > 1000000)
                return cli_usage_error(p.cmd, "--reps %s: expected 1..1000000", arg);
            break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    sushi_context *ctx = NULL;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return cli_fail("context", rc, NULL);
    sushi_context_set_log(ctx, keep_error, NULL, SUSHI_LOG_ERROR);
    last_error[0] = '\0';
    int ec = CLI_EXIT_OK;
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_profile *prof = NULL;

    if (show) {
        if (output || int8 || threads)
            ec = cli_usage_error(p.cmd, "--show prints a profile: no --output, --int8 or --threads");
        else if (!(rc = sushi_profile_load_file(ctx, show, &prof)))
            ec = (!file || !(ec = load_sn(ctx, file, &sn))) ? print_profile(prof, show, sn, json) : ec;
        else
            ec = cli_fail(show, rc, last_error[0] ? last_error : NULL);
        goto out;
    }
    if (!file) {
        ec = cli_usage_error(p.cmd, "missing FILE");
        goto out;
    }
    if (!output) {
        ec = cli_usage_error(p.cmd, "missing -o PROFILE");
        goto out;
    }
    if (strcmp(backend, "cpu") != 0 && strcmp(backend, "hls") != 0) {
        ec = cli_usage_error(p.cmd, "--backend: expected cpu or hls, got '%s'", backend);
        goto out;
    }
    if ((ec = load_sn(ctx, file, &sn)))
        goto out;
    rc = sushi_backend_create(sn, backend, &b);
    if (rc) {
        ec = cli_fail(backend, rc, rc == SUSHI_ERR_NOT_FOUND ? "no such backend in this build" : NULL);
        goto out;
    }
    bool is_cpu = strcmp(backend, "cpu") == 0;
    if (is_cpu && !threads)
        threads = 1;
    if (threads) {
        rc = sushi_backend_set_param(b, "threads", threads);
        if (rc) {
            ec = cli_fail("--threads", rc, "this backend has no threads");
            goto out;
        }
    }
    sushi_profile_options po = SUSHI_PROFILE_OPTIONS_INIT;
    po.warmup = warmup;
    po.reps = reps;
    po.int8 = int8 || !is_cpu; /* hls runs the int8 path */
    if (!json)
        fprintf(stderr, "sushi: profile: measuring every candidate on %s (%u warm-up + %u timed runs each)...\n",
                backend, warmup, reps);
    rc = sushi_profile_measure(b, &po, &prof);
    if (rc) {
        const char *why = last_error[0] ? last_error : NULL;
        if (rc == SUSHI_ERR_STATE && po.int8 && is_cpu)
            why = "no int8 ranges stored for a candidate: run 'sushi calibrate' first";
        ec = cli_fail("profile", rc, why);
        goto out;
    }
    rc = sushi_profile_save_file(prof, output);
    if (rc) {
        ec = cli_fail(output, rc, last_error[0] ? last_error : NULL);
        goto out;
    }
    ec = print_profile(prof, output, sn, json);
out:
    sushi_profile_destroy(prof);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return ec;
}
