/* Tests of `sushi run` and `sushi cost`: runs the built binary (path in
 * $SUSHI_CLI), parses its --json output and compares it with what the library
 * returns for the same question. Helpers in cli_harness.h. */
#include "cli_harness.h"
#include "sushi/cycle.h"
TestSuite(cli_run_cost, .timeout = 300);

/* ---------- run ---------- */

/* The documented default input: pattern k = 0. */
static void pattern(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)((37u * (uint64_t)i + 11u) % 256u) / 255.0 * 2.0 - 1.0);
}

Test(cli_run_cost, run_null_json_shape_and_subnet_stats)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "min@160");
    sushi_subnet_stats st = stats(s);
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    run_result r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@160", "--backend", "null", "--json");
    cJSON *j = json_ok(&r);
    cr_assert_str_eq(str(j, "backend"), "null");
    cr_assert_eq(cJSON_GetArraySize(item(j, "output")), (int)in.num_classes);
    const cJSON *t5 = item(j, "top5");
    cr_assert_eq(cJSON_GetArraySize(t5), 5);
    const cJSON *e;
    cJSON_ArrayForEach(e, t5) {
        double c = num(e, "class");
        cr_assert(c >= 0 && c < in.num_classes);
        (void)num(e, "score");
    }
    cr_assert_geq(num(j, "time_s"), 0.0);
    const cJSON *sub = item(j, "subnet");
    cr_assert_eq((uint64_t)num(sub, "params"), st.params);
    cr_assert_eq((uint64_t)num(sub, "macs"), st.macs);
    (void)str(sub, "config");
    cJSON_Delete(j);
    run_free(&r);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(cli_run_cost, run_cpu_default_input_matches_library)
{
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "min@160");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    size_t n = (size_t)in.in_channels * 160 * 160;
    float *x = malloc(n * sizeof *x), *y = calloc(in.num_classes, sizeof *y);
    cr_assert(x && y);
    pattern(x, n);
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x;
    a.input_len = n;
    a.output = y;
    a.output_len = in.num_classes;
    cr_assert_eq(sushi_backend_run(b, s, &a, NULL), SUSHI_OK);
    size_t best = 0;
    for (size_t k = 1; k < in.num_classes; k++)
        if (y[k] > y[best])
            best = k;
    run_result r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@160", "--backend", "cpu", "--json");
    cJSON *j = json_ok(&r);
    const cJSON *out = item(j, "output");
    for (size_t k = 0; k < in.num_classes; k++)
        cr_assert_float_eq(cJSON_GetArrayItem(out, (int)k)->valuedouble, y[k], 1e-6, "logit %zu", k);
    cr_assert_eq((size_t)num(cJSON_GetArrayItem(item(j, "top5"), 0), "class"), best);
    cJSON_Delete(j);
    run_free(&r);
    run_result q = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@160", "--backend", "cpu", "--int8", "--json");
    cJSON *jq = json_ok(&q);
    cr_assert(boolean(jq, "int8"));
    cr_assert_eq(cJSON_GetArraySize(item(jq, "output")), (int)in.num_classes);
    cJSON_Delete(jq);
    run_free(&q);
    sushi_backend_destroy(b);
    free(x);
    free(y);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(cli_run_cost, run_input_files_pgm_raw_and_bad, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char pgm[128], raw[128], bad[128], trunc[128];
    snprintf(pgm, sizeof pgm, "%s/in.pgm", tmpdir);
    snprintf(raw, sizeof raw, "%s/in.raw", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.bin", tmpdir);
    snprintf(trunc, sizeof trunc, "%s/trunc.pgm", tmpdir);
    unsigned char img[16 + 9 * 7];
    int h = snprintf((char *)img, sizeof img, "P5\n9 7\n255\n");
    for (int i = 0; i < 63; i++)
        img[h + i] = (unsigned char)(i * 4);
    write_file(pgm, img, (size_t)h + 63);
    write_file(trunc, img, (size_t)h + 10);
    size_t n = 3 * 160 * 160;
    float *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    pattern(x, n);
    write_file(raw, x, n * sizeof *x); /* little-endian hosts */
    free(x);
    write_file(bad, "hello", 5);
    const char *ok[] = { pgm, raw };
    for (size_t i = 0; i < 2; i++) {
        run_result r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@160", "--backend", "null", "--input",
                           ok[i], "--json");
        cJSON *j = json_ok(&r);
        cr_assert_str_eq(str(j, "input"), ok[i]);
        cJSON_Delete(j);
        run_free(&r);
    }
    const char *fail[] = { bad, trunc, "/nonexistent/input.pgm" };
    for (size_t i = 0; i < 3; i++) {
        run_result r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@160", "--backend", "null", "--input",
                           fail[i], "--json");
        expect_error(&r, 1);
        run_free(&r);
    }
}

Test(cli_run_cost, run_usage_errors_exit_2)
{
    run_result a = RUN("run", "builtin:ofa-mbv3-w1.0");
    expect_error(&a, 2);
    run_result b = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min", "--backend", "gpu");
    expect_error(&b, 2);
    run_free(&a);
    run_free(&b);
}

/* ---------- cost ---------- */

static int count_row(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *shape)
{
    (void)line, (void)name, (void)shape;
    size_t *n = user;
    cr_assert_eq(row, *n);
    (*n)++;
    return 0;
}

Test(cli_run_cost, cost_topology_calibration_csv_one_row_per_layer)
{
    char path[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src);
    snprintf(path, sizeof path, "%s/tools/calibrate/zcu104_k16c9_calibration.csv", src);
    size_t rows = 0;
    char err[256];
    cr_assert_eq(sushi_cycle_topology_read(path, count_row, &rows, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_gt(rows, 100);
    run_result r = RUN("cost", "--topology", path, "--accel", "zcu104", "--json");
    cJSON *j = json_ok(&r);
    const cJSON *layers = item(j, "layers");
    cr_assert_eq((size_t)cJSON_GetArraySize(layers), rows);
    double prev_line = 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, layers) {
        cr_assert_eq((size_t)num(e, "row"), i++);
        cr_assert_gt(num(e, "line"), prev_line);
        prev_line = num(e, "line");
        cr_assert_gt(num(e, "cycles"), 0);
    }
    cr_assert_eq((size_t)num(item(j, "total"), "rows"), rows);
    cJSON_Delete(j);
    run_free(&r);
    run_result c = RUN("cost", "--topology", path, "--csv");
    cr_assert_eq(c.status, 0, "%s", c.err);
    cr_assert_eq(count_lines(c.out), rows + 1);
    run_free(&c);
}

Test(cli_run_cost, cost_subnet_matches_model_and_caching_lowers_offchip)
{
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = subnet(sn, "max@224");
    sushi_cycle_model m;
    cr_assert_eq(sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104), SUSHI_OK);
    sushi_cost want = SUSHI_COST_INIT;
    cr_assert_eq(sushi_cycle_cost_subnet(&m, s, NULL, NULL, &want), SUSHI_OK);
    run_result a = RUN("cost", "builtin:ofa-resnet50", "--config", "max@224", "--backend", "cycle", "--accel",
                       "zcu104", "--json");
    cJSON *ja = json_ok(&a);
    const cJSON *ca = item(ja, "cost");
    cr_assert_eq((uint64_t)num(ca, "offchip_bytes"), want.offchip_bytes);
    cr_assert_eq((uint64_t)num(ca, "cycles"), want.cycles);
    run_result b = RUN("cost", "builtin:ofa-resnet50", "--config", "max@224", "--accel", "zcu104", "--cached",
                       "max@224", "--json");
    cJSON *jb = json_ok(&b);
    const cJSON *cb = item(jb, "cost");
    cr_assert_lt(num(cb, "offchip_bytes"), num(ca, "offchip_bytes"));
    cr_assert_gt(num(cb, "hit_bytes"), 0);
    cr_assert_leq(num(item(jb, "cached"), "resident_bytes"), num(jb, "pb_bytes"));
    run_result c = RUN("cost", "builtin:ofa-resnet50", "--config", "max@224", "--accel", "zcu104",
                       "--cached-budget", "100000", "--layers", "--json");
    cJSON *jc = json_ok(&c);
    cr_assert_leq(num(item(jc, "cached"), "resident_bytes"), 100000);
    cr_assert_lt(num(item(jc, "cost"), "offchip_bytes"), num(ca, "offchip_bytes"));
    cr_assert_eq(cJSON_GetArraySize(item(jc, "layers")), (int)stats(s).n_layers);
    run_result d = RUN("cost", "builtin:ofa-resnet50", "--config", "max@224", "--accel", "zcu104", "--set",
                       "pb_kib=64", "--cached", "max@224", "--json");
    cJSON *jd = json_ok(&d);
    cr_assert_eq(num(item(jd, "params"), "pb_kib"), 64);
    cr_assert_leq(num(item(jd, "cached"), "resident_bytes"), 64 * 1024);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    cJSON_Delete(jc);
    cJSON_Delete(jd);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    run_free(&d);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
}

Test(cli_run_cost, cost_bad_set_key_and_usage_errors)
{
    run_result a = RUN("cost", "builtin:ofa-resnet50", "--config", "min", "--set", "no_such_key=1");
    expect_error(&a, 2);
    cr_assert_not_null(strstr(a.err, "no_such_key"));
    run_result b = RUN("cost", "builtin:ofa-resnet50", "--config", "min", "--set", "pb_kib=abc");
    expect_error(&b, 2);
    run_result c = RUN("cost", "builtin:ofa-resnet50", "--config", "min", "--accel", "tpu");
    expect_error(&c, 2);
    run_result d = RUN("cost", "builtin:ofa-resnet50", "--config", "min", "--cached", "min", "--cached-budget", "1");
    expect_error(&d, 2);
    run_result e = RUN("cost", "--topology", "/nonexistent/layers.csv");
    expect_error(&e, 1);
    run_result f = RUN("cost", "builtin:ofa-resnet50", "--config", "min", "--backend", "cpu");
    expect_error(&f, 2);
    run_result *all[] = { &a, &b, &c, &d, &e, &f };
    for (size_t i = 0; i < 6; i++)
        run_free(all[i]);
}

Test(cli_run_cost, help_of_run_and_cost)
{
    const char *cmds[] = { "run", "cost" };
    for (size_t i = 0; i < 2; i++) {
        run_result r = RUN(cmds[i], "--help");
        cr_assert_eq(r.status, 0);
        char want[64];
        snprintf(want, sizeof want, "usage: sushi %s", cmds[i]);
        cr_assert_not_null(strstr(r.out, want));
        run_free(&r);
    }
}

/* ---------- global --check-finite ---------- */

Test(cli, check_finite_refuses_nan_weights_naming_the_tensor)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/hostile/nan-f32.sushi", getenv("SUSHI_SRCDIR"));
    run_result r = RUN("info", path);
    cr_assert_eq(r.status, 0, "without the flag the file loads: %s", r.err);
    run_free(&r);
    r = RUN("--check-finite", "info", path);
    expect_error(&r, 1);
    cr_assert(strstr(r.err, "is NaN") && strstr(r.err, "tensor \""), "stderr: %s", r.err);
    run_free(&r);
    r = RUN("--check-finite", "info", "builtin:ofa-mbv3-w1.0");
    cr_assert_eq(r.status, 0, "built-ins are finite: %s", r.err);
    run_free(&r);
    r = RUN("--check-finite");
    expect_error(&r, 2);
    run_free(&r);
}

/* ---------- run timing and profiles (0.3) ---------- */

Test(cli_run_cost, run_reports_median_and_p99_of_repeated_runs)
{
    run_result r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@128", "--backend", "null", "--warmup",
                       "1", "--repeat", "5", "--json");
    cJSON *j = json_ok(&r);
    cr_assert_eq(num(j, "warmup"), 1);
    cr_assert_eq(num(j, "repeat"), 5);
    double med = num(j, "time_median_s"), p99 = num(j, "time_p99_s");
    cr_assert_eq(num(j, "time_s"), med);
    cr_assert(num(j, "time_min_s") <= med && med <= p99 && p99 <= num(j, "time_max_s"));
    cr_assert_eq(num(j, "threads"), 0, "null has no threads param");
    cJSON_Delete(j);
    run_free(&r);
    r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@128", "--backend", "null", "--repeat", "0");
    expect_error(&r, 2);
    run_free(&r);
    r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@128", "--backend", "null", "--threads", "2");
    expect_error(&r, 1);
    cr_assert_not_null(strstr(r.err, "threads"), "%s", r.err);
    run_free(&r);
}

static const char *fmnist_model(void)
{
    static char path[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src, "SUSHI_SRCDIR must point at the source tree");
    snprintf(path, sizeof path, "%s/models/fmnist-mbv3.sushi", src);
    return path;
}

Test(cli_run_cost, profile_measure_show_and_use_in_serve)
{
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
    make_tmpdir();
    char prof[1100], bad[1100];
    snprintf(prof, sizeof prof, "%s/fmnist.profile", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.profile", tmpdir);
    run_result r = RUN("profile", fmnist_model(), "--backend", "cpu", "--warmup", "0", "--reps", "2", "-o", prof,
                       "--json");
    cJSON *j = json_ok(&r);
    cr_assert_str_eq(str(j, "backend"), "cpu");
    cr_assert_eq(num(j, "threads"), 1, "cpu profiles default to one thread");
    cr_assert_eq(num(j, "reps"), 2);
    cr_assert_eq(strlen(str(j, "supernet_hash")), 64);
    const cJSON *entries = item(j, "entries");
    cr_assert_eq(cJSON_GetArraySize(entries), 64);
    const cJSON *e;
    cJSON_ArrayForEach(e, entries) {
        cr_assert_eq(num(e, "n"), 2);
        cr_assert(num(e, "p50_s") > 0 && num(e, "p50_s") <= num(e, "p99_s") && num(e, "p99_s") <= num(e, "max_s"));
    }
    char *first = cJSON_PrintUnformatted(entries);
    cJSON_Delete(j);
    run_free(&r);

    /* --show reads back the same entries */
    r = RUN("profile", "--show", prof, "--json");
    j = json_ok(&r);
    char *again = cJSON_PrintUnformatted(item(j, "entries"));
    cr_assert_str_eq(first, again);
    free(first);
    free(again);
    cJSON_Delete(j);
    run_free(&r);

    /* serve predicts from it, with the 0.3 keys */
    r = RUN("serve", fmnist_model(), "--backend", "cpu", "--run", "--profile", prof, "--late", "drop",
            "--policy", "none", "--gen", "seed=1,queries=40", "--json");
    j = json_ok(&r);
    cr_assert(!boolean(j, "realtime"));
    cr_assert_str_eq(str(j, "profile"), prof);
    cr_assert(boolean(j, "adaptation"), "auto: on for cpu");
    cr_assert_str_eq(str(j, "late"), "drop");
    const cJSON *p = cJSON_GetArrayItem(item(j, "policies"), 0);
    double served = num(p, "queries"), dropped = num(p, "dropped");
    cr_assert_eq(served + dropped, 40);
    (void)num(p, "e2e_latency_mean_s");
    (void)num(p, "e2e_latency_p99_s");
    const char *maybe_null[] = { "service_slo_attainment", "e2e_slo_attainment" }; /* NaN -> null */
    for (int k = 0; k < 2; k++) {
        const cJSON *att = item(p, maybe_null[k]);
        cr_assert(cJSON_IsNumber(att) || cJSON_IsNull(att), "%s", maybe_null[k]);
    }
    cJSON_Delete(j);
    run_free(&r);

    /* a profile of another SuperNet is refused */
    r = RUN("serve", "builtin:ofa-mbv3-w1.0", "--backend", "cpu", "--profile", prof, "--queries", "3");
    cr_assert_eq(r.status, 1, "stderr: %s", r.err);
    cr_assert_str_empty(r.out);
    cr_assert_not_null(strstr(r.err, "measured on another SuperNet"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "--profile"), "%s", r.err);
    run_free(&r);
    /* a corrupt one is a one-line error */
    write_file(bad, "\xa1\x66" "format" "\x01", 9);
    r = RUN("profile", "--show", bad);
    expect_error(&r, 1);
    run_free(&r);
    r = RUN("profile", fmnist_model(), "--backend", "cpu");
    expect_error(&r, 2);
    run_free(&r);
    remove_tmpdir();
}
