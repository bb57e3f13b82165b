/* `sushi serve` and `sushi trace` through the driver in $SCHED_CLI: exit
 * codes, one-line errors, --json objects, timelines and determinism. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

typedef struct out {
    int code;
    char *out; /* stdout (malloc'd) */
    char err[4096];
} out;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static out run(const char *args)
{
    const char *exe = getenv("SCHED_CLI");
    cr_assert_not_null(exe, "SCHED_CLI not set");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >/tmp/sched_cli_out.%d 2>/tmp/sched_cli_err.%d", exe, args, (int)getpid(),
             (int)getpid());
    int st = system(cmd);
    out o = { WIFEXITED(st) ? WEXITSTATUS(st) : -1, NULL, "" };
    char p[64];
    snprintf(p, sizeof p, "/tmp/sched_cli_out.%d", (int)getpid());
    o.out = slurp(p);
    unlink(p);
    snprintf(p, sizeof p, "/tmp/sched_cli_err.%d", (int)getpid());
    char *e = slurp(p);
    unlink(p);
    snprintf(o.err, sizeof o.err, "%s", e ? e : "");
    free(e);
    return o;
}

static cJSON *run_json(const char *args)
{
    out o = run(args);
    cr_assert_eq(o.code, 0, "%s -> %d: %s", args, o.code, o.err);
    cJSON *j = cJSON_Parse(o.out);
    cr_assert_not_null(j, "not JSON: %s", o.out);
    free(o.out);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    cr_assert(cJSON_IsNumber(v), "key %s missing", k);
    return v->valuedouble;
}

static const cJSON *policy(const cJSON *root, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(root, "policies"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(p, "policy")->valuestring, name) == 0)
            return p;
    }
    cr_assert_fail("policy %s not in output", name);
    return NULL;
}

Test(sched_cli, serve_json_compares_policies)
{
    cJSON *j = run_json("serve builtin:ofa-mbv3-w1.0 --backend null --pb-kib 2048 "
                        "--policy none,static,sushi,lru,lfu,oracle --window 50 "
                        "--gen seed=3,queries=600,dwell=80,both=0.2 --json");
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "supernet")->valuestring, "ofa-mbv3-w1.0");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "synthetic")));
    cr_assert_eq(num(j, "pb_bytes"), 2048 * 1024);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "policies")), 6);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "comparison")), 5);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "baseline")->valuestring, "none");
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(j, "trace");
    cr_assert_eq(num(tr, "queries"), 600);
    cr_assert_eq(num(tr, "seed"), 3);
    const cJSON *none = policy(j, "none"), *sushi = policy(j, "sushi");
    cr_assert_eq(num(none, "hit_bytes"), 0);
    cr_assert(num(sushi, "pb_hit_ratio") > 0.1, "%g", num(sushi, "pb_hit_ratio"));
    cr_assert(num(sushi, "offchip_bytes") < num(none, "offchip_bytes"));
    cr_assert_eq(num(sushi, "queries"), 600);
    cr_assert_eq(num(sushi, "updates"), 11);
    cJSON_Delete(j);
}

Test(sched_cli, serve_is_deterministic)
{
    const char *args = "serve ofa-resnet50 --backend null --pb-kib 4096 --policy sushi,oracle "
                       "--gen seed=9,queries=300 --json";
    cJSON *a = run_json(args), *b = run_json(args);
    const char *keys[] = { "latency_mean_s", "latency_p99_s", "accuracy_mean", "hit_bytes", "offchip_bytes",
                           "energy_j", "reload_bytes", "slo_attainment" };
    for (int p = 0; p < 2; p++) {
        const char *name = p ? "oracle" : "sushi";
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(policy(a, name), keys[k]);
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(policy(b, name), keys[k]);
            cr_assert(cJSON_Compare(x, y, true), "%s.%s differs", name, keys[k]);
        }
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

Test(sched_cli, trace_gen_info_and_replay_with_timeline)
{
    char csv[64], tl[64];
    snprintf(csv, sizeof csv, "/tmp/sched_cli_trace.%d.csv", (int)getpid());
    snprintf(tl, sizeof tl, "/tmp/sched_cli_tl.%d.csv", (int)getpid());
    char args[512];
    snprintf(args, sizeof args, "trace gen --queries 250 --seed 4 --dwell 20 --mix 0.7 --slo 0.1ms:2ms -o %s",
             csv);
    out o = run(args);
    cr_assert_eq(o.code, 0, "%s", o.err);
    free(o.out);
    snprintf(args, sizeof args, "trace info %s --json", csv);
    cJSON *j = run_json(args);
    cr_assert_eq(num(j, "queries"), 250);
    cr_assert_eq(num(j, "both"), 0);
    cr_assert(num(j, "latency_bound") > 140 && num(j, "latency_bound") < 210);
    cJSON_Delete(j);
    snprintf(args, sizeof args,
             "serve builtin:ofa-mbv3-w1.0 --backend null --pb-kib 1024 --policy none,sushi --trace %s "
             "--timeline %s --json", csv, tl);
    j = run_json(args);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "trace"), "source")
                         ->valuestring, "file");
    cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(j, "trace"), "queries"), 250);
    cJSON_Delete(j);
    char *text = slurp(tl);
    cr_assert_not_null(text);
    int lines = 0;
    for (char *c = text; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 1 + 2 * 250);
    cr_assert(strncmp(text, "policy,query,t_s,", 17) == 0);
    free(text);
    /* --queries truncates a replayed trace; the text output has the table */
    snprintf(args, sizeof args, "serve builtin:ofa-mbv3-w1.0 --backend null --trace %s --queries 10", csv);
    o = run(args);
    cr_assert_eq(o.code, 0, "%s", o.err);
    cr_assert(strstr(o.out, "10 queries") != NULL, "%s", o.out);
    cr_assert(strstr(o.out, "vs none:") != NULL, "%s", o.out);
    free(o.out);
    unlink(csv);
    unlink(tl);
}

Test(sched_cli, errors_are_one_line_with_exit_codes)
{
    struct {
        const char *args;
        int code;
        const char *msg;
    } cases[] = {
        { "serve builtin:ofa-mbv3-w1.0", 2, "missing --backend" },
        { "serve --backend null", 2, "missing SuperNet FILE" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --policy none,bogus", 2, "unknown policy 'bogus'" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --window 0", 2, "--window" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --gen nope=1", 2, "unknown key 'nope'" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --gen dwell=0.5", 2, "--gen dwell=0.5: expected a number >= 1" },
        { "trace gen --dwell 0.5 -o /tmp/x.csv", 2, "--dwell 0.5: expected a number >= 1" },
        { "serve builtin:ofa-mbv3-w1.0 --backend warp", 1, "backend 'warp' is not built" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --accel zcu104", 1, "no 'preset' parameter" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --param volts=3", 1, "--param volts=3" },
        { "serve nosuchnet --backend null", 1, "not a built-in" },
        { "serve builtin:ofa-mbv3-w1.0 --backend null --trace /nonexistent.csv", 1, "cannot open" },
        { "trace gen --queries 5", 2, "missing -o" },
        { "trace gen --acc 0.9:0.8 -o /tmp/x.csv", 2, "--acc" },
        { "trace frobnicate", 2, "unknown action" },
        { "trace info /nonexistent.csv", 1, "cannot open" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        out o = run(cases[k].args);
        cr_assert_eq(o.code, cases[k].code, "%s -> %d (%s)", cases[k].args, o.code, o.err);
        cr_assert(strstr(o.err, cases[k].msg) != NULL, "%s: stderr '%s' lacks '%s'", cases[k].args, o.err,
                  cases[k].msg);
        cr_assert(strncmp(o.err, "sushi: ", 7) == 0);
        cr_assert_eq(strchr(o.err, '\n'), o.err + strlen(o.err) - 1, "%s: more than one line: %s", cases[k].args,
                     o.err);
        cr_assert(!o.out || o.out[0] == '\0', "%s: stdout not empty", cases[k].args);
        free(o.out);
    }
    /* a bad trace line is reported with its number */
    char csv[64], args[256];
    snprintf(csv, sizeof csv, "/tmp/sched_cli_bad.%d.csv", (int)getpid());
    FILE *f = fopen(csv, "w");
    fputs("t_s,min_accuracy,slo_s\n0,0.7,0\n1,oops,0\n", f);
    fclose(f);
    snprintf(args, sizeof args, "serve builtin:ofa-mbv3-w1.0 --backend null --trace %s", csv);
    out o = run(args);
    cr_assert_eq(o.code, 1);
    cr_assert(strstr(o.err, ":3: min_accuracy") != NULL, "%s", o.err);
    free(o.out);
    unlink(csv);
}

Test(sched_cli, help)
{
    out o = run("serve --help");
    cr_assert_eq(o.code, 0);
    cr_assert(strstr(o.out, "usage: sushi serve") != NULL);
    free(o.out);
    o = run("trace --help");
    cr_assert_eq(o.code, 0);
    cr_assert(strstr(o.out, "usage: sushi trace gen") != NULL);
    free(o.out);
}

/* With the cycle backend (when built): presets change the PB and the times. */
Test(sched_cli, serve_on_cycle_presets)
{
    out probe = run("serve builtin:ofa-resnet50 --backend cycle --queries 5");
    free(probe.out);
    if (probe.code == 1 && strstr(probe.err, "not built"))
        cr_skip_test("cycle backend not built");
    cJSON *z = run_json("serve builtin:ofa-resnet50 --backend cycle --accel zcu104 --policy none,sushi "
                        "--gen seed=1,queries=300 --json");
    cJSON *u = run_json("serve builtin:ofa-resnet50 --backend cycle --accel u50 --policy none,sushi "
                        "--gen seed=1,queries=300 --json");
    cr_assert(num(z, "pb_bytes") > 0 && num(u, "pb_bytes") > num(z, "pb_bytes"));
    cr_assert(num(u, "latency_min_s") < num(z, "latency_min_s"));
    cr_assert(num(policy(z, "sushi"), "hit_bytes") > 0);
    cJSON_Delete(z);
    cJSON_Delete(u);
}

/* Issue 16's command, verbatim, on the SGS engine preset and the calibrated
 * one: it runs, and its JSON keeps the keys it had when the preset came
 * (scripts and docs read them). */
static void has_keys(const cJSON *o, const char *what, const char *const *keys, size_t n)
{
    for (size_t k = 0; k < n; k++)
        cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(o, keys[k]), "%s: key %s missing", what, keys[k]);
}

Test(sched_cli, serve_resnet50_none_sushi_oracle_on_zcu104_and_sgs, .timeout = 600)
{
    out probe = run("serve builtin:ofa-resnet50 --backend cycle --queries 5");
    free(probe.out);
    if (probe.code == 1 && strstr(probe.err, "not built"))
        cr_skip_test("cycle backend not built");
    static const char *const top[] = { "supernet", "synthetic", "backend", "accel", "pb_bytes", "window",
                                       "objective", "objective_requested", "baseline", "candidates", "trace",
                                       "latency_min_s", "latency_max_s", "accuracy_min", "accuracy_max",
                                       "policies", "comparison" };
    static const char *const per_policy[] = { "policy", "queries", "latency_mean_s", "latency_p50_s",
                                              "latency_p99_s", "latency_max_s", "accuracy_mean", "hit_bytes",
                                              "offchip_bytes", "weight_bytes", "pb_hit_ratio", "energy_j",
                                              "energy_offchip_j", "reload_bytes", "reloads", "updates",
                                              "update_mean_ns", "decision_mean_ns", "slo_attainment" };
    static const char *const per_cmp[] = { "policy", "latency_mean_change", "latency_p99_change",
                                           "offchip_bytes_change", "energy_change", "energy_offchip_change",
                                           "accuracy_mean_delta", "slo_attainment_delta" };
    const char *presets[] = { "zcu104-sgs", "zcu104" };
    double mean_none[2];
    for (int a = 0; a < 2; a++) {
        char args[256];
        snprintf(args, sizeof args, "serve builtin:ofa-resnet50 --backend cycle --accel %s --policy none,sushi,oracle --json",
                 presets[a]);
        cJSON *j = run_json(args);
        has_keys(j, presets[a], top, sizeof top / sizeof top[0]);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "accel")->valuestring, presets[a]);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "objective")->valuestring, "time");
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "baseline")->valuestring, "none");
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "policies")), 3);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "comparison")), 2);
        const char *names[] = { "none", "sushi", "oracle" };
        for (int p = 0; p < 3; p++)
            has_keys(policy(j, names[p]), names[p], per_policy, sizeof per_policy / sizeof per_policy[0]);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "comparison"))
            has_keys(c, "comparison", per_cmp, sizeof per_cmp / sizeof per_cmp[0]);
        const cJSON *none = policy(j, "none"), *sushi = policy(j, "sushi");
        cr_assert_eq(num(none, "hit_bytes"), 0);
        cr_assert(num(sushi, "hit_bytes") > 0);
        cr_assert(num(sushi, "offchip_bytes") < num(none, "offchip_bytes"));
        mean_none[a] = num(none, "latency_mean_s");
        cJSON_Delete(j);
    }
    /* the SGS engine (one call per query, resident activations) is the faster machine */
    cr_assert(mean_none[0] < mean_none[1], "zcu104-sgs %g s vs zcu104 %g s", mean_none[0], mean_none[1]);
}
