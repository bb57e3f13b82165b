/* `sushi serve --realtime` (docs/cli.md, docs/server.md): the trace replayed
 * at its arrival times through the threaded server on the shipped model with
 * real Fashion-MNIST images. Checks the accounting (every query answered once,
 * the timeline recount equals the JSON), the keys, and the usage errors. No
 * timing assertion: latencies depend on the machine's load. */
/* the shared harness has helpers this file does not need */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "cli_harness.h"
#pragma GCC diagnostic pop

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

TestSuite(cli_realtime, .timeout = 600);

static const char *model(void)
{
    static char path[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src, "SUSHI_SRCDIR must point at the source tree");
    snprintf(path, sizeof path, "%s/models/fmnist-mbv3.sushi", src);
    return path;
}

static void need_data(void)
{
    struct stat st;
    if (stat(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &st) != 0)
        cr_skip_test("Fashion-MNIST not installed in " FMNIST_DIR);
    if (stat(model(), &st) != 0)
        cr_skip_test("shipped model missing");
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
}

/* the value of column `name` in CSV line `line` (header `head`) */
static long csv_field(const char *head, const char *line, const char *name)
{
    int col = -1, k = 0;
    for (const char *p = head; *p; k++) {
        size_t n = strcspn(p, ",\n");
        if (strlen(name) == n && !strncmp(p, name, n))
            col = k;
        p += n;
        if (*p == ',')
            p++;
        else
            break;
    }
    cr_assert(col >= 0, "no column %s", name);
    const char *p = line;
    for (int i = 0; i < col; i++) {
        p = strchr(p, ',');
        cr_assert_not_null(p);
        p++;
    }
    return strtol(p, NULL, 10);
}

Test(cli_realtime, dataset_every_query_answered_and_timeline_matches_json, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    need_data();
    char tl[128];
    snprintf(tl, sizeof tl, "%s/timeline.csv", tmpdir);
    run_result r = RUN("serve", model(), "--backend", "cpu", "--policy", "none,sushi", "--dataset",
                       "fashion-mnist", "--gen", "seed=5,rate=400", "--queries", "60", "--realtime",
                       "--timeline", tl, "--json");
    cJSON *j = json_ok(&r);
    cr_assert(boolean(j, "realtime"));
    cr_assert_eq(num(j, "workers"), 1);
    cr_assert_float_eq(num(j, "block_miss"), SUSHI_SERVER_BLOCK_MISS_DEFAULT, 1e-12); /* the server's default */
    cr_assert_eq(num(j, "worker_nice"), 0); /* inherited */
    const cJSON *pols = item(j, "policies");
    cr_assert_eq(cJSON_GetArraySize(pols), 2);
    double correct[2];
    for (int k = 0; k < 2; k++) {
        const cJSON *p = cJSON_GetArrayItem(pols, k);
        /* the default late policy serves every query */
        cr_assert_eq(num(p, "queries"), 60, "policy %d served %g", k, num(p, "queries"));
        correct[k] = num(p, "correct");
        cr_assert_float_eq(num(p, "accuracy_measured"), correct[k] / 60, 1e-12);
        cr_assert_gt(num(p, "accuracy_measured"), 0.5); /* a trained model on real images */
        cr_assert_geq(num(p, "latency_p99_s"), num(p, "latency_p50_s"));
    }
    /* the timeline: one row per query and policy, in query order, recount == JSON */
    FILE *f = fopen(tl, "r");
    cr_assert_not_null(f);
    char head[1024], line[2048];
    cr_assert_not_null(fgets(head, sizeof head, f));
    long rows = 0, recount[2] = { 0, 0 };
    while (fgets(line, sizeof line, f)) {
        int k = !strncmp(line, "sushi,", 6);
        cr_assert_eq(csv_field(head, line, "query"), rows % 60);
        cr_assert_eq(csv_field(head, line, "image"), rows % 60);
        recount[k] += csv_field(head, line, "correct");
        rows++;
    }
    fclose(f);
    cr_assert_eq(rows, 120);
    cr_assert_eq(recount[0], (long)correct[0]);
    cr_assert_eq(recount[1], (long)correct[1]);
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli_realtime, two_workers_with_synthetic_inputs)
{
    need_data();
    run_result r = RUN("serve", model(), "--backend", "cpu", "--policy", "sushi", "--run", "--gen",
                       "seed=2,rate=500", "--queries", "40", "--realtime", "--workers", "2", "--json");
    cJSON *j = json_ok(&r);
    cr_assert(boolean(j, "realtime"));
    cr_assert_eq(num(j, "workers"), 2);
    const cJSON *p = cJSON_GetArrayItem(item(j, "policies"), 0);
    cr_assert_eq(num(p, "queries"), 40);
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli_realtime, without_realtime_the_key_is_false)
{
    run_result r = RUN("serve", "ofa-mbv3-w1.0", "--backend", "cycle", "--queries", "50", "--json");
    cJSON *j = json_ok(&r);
    cr_assert(!boolean(j, "realtime"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "workers"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "block_miss"));
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "worker_nice"));
    cr_assert_not_null(cJSON_GetObjectItemCaseSensitive(j, "policies"));
    cJSON_Delete(j);
    run_free(&r);
}

/* `serve M --backend cpu --realtime --run OPT V` for each bad V: exit 2 and
 * an error naming OPT and the range `expected` */
static void expect_bad_values(const char *m, const char *opt, const char *const *bad, size_t n, const char *expected)
{
    for (size_t i = 0; i < n; i++) {
        run_result r = RUN("serve", m, "--backend", "cpu", "--realtime", "--run", opt, bad[i]);
        expect_error(&r, 2);
        cr_assert(strstr(r.err, opt) && strstr(r.err, expected), "'%s': %s", bad[i], r.err);
        run_free(&r);
    }
}

Test(cli_realtime, usage_errors_exit_2_with_one_line)
{
    const char *m = "ofa-mbv3-w1.0";
    run_result r = RUN("serve", m, "--backend", "cycle", "--workers", "2");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--workers needs --realtime"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--realtime");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--dataset NAME or --run"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--realtime", "--run");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "needs a backend that runs"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--realtime", "--run", "--policy", "oracle");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "oracle"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--realtime", "--run", "--workers", "0");
    expect_error(&r, 2);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--order", "fifo");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--order needs --realtime"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cpu", "--realtime", "--run", "--order", "lifo");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--order lifo: expected edf or fifo"), "%s", r.err);
    run_free(&r);
    r = RUN("serve", m, "--backend", "cycle", "--block-miss", "0.01");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--block-miss needs --realtime"), "%s", r.err);
    run_free(&r);
    const char *bad_block[] = { "-0.1", "1.5", "nan", "0.1x", "" };
    expect_bad_values(m, "--block-miss", bad_block, sizeof bad_block / sizeof *bad_block, "expected 0..1");
    r = RUN("serve", m, "--backend", "cycle", "--worker-nice", "5");
    expect_error(&r, 2);
    cr_assert(strstr(r.err, "--worker-nice needs --realtime"), "%s", r.err);
    run_free(&r);
    const char *bad_nice[] = { "-21", "20", "1.5", "x", "" };
    expect_bad_values(m, "--worker-nice", bad_nice, sizeof bad_nice / sizeof *bad_nice, "expected -20..19");
}

Test(cli_realtime, fifo_order_serves_every_query)
{
    need_data();
    run_result r = RUN("serve", model(), "--backend", "cpu", "--policy", "sushi", "--run", "--gen",
                       "seed=2,rate=500", "--queries", "40", "--realtime", "--order", "fifo", "--block-miss", "0",
                       "--worker-nice", "1", "--json"); /* a higher nice value needs no privilege */
    cJSON *j = json_ok(&r);
    cr_assert(boolean(j, "realtime"));
    cr_assert_eq(num(j, "block_miss"), 0.0);
    cr_assert_eq(num(j, "worker_nice"), 1);
    const cJSON *p = cJSON_GetArrayItem(item(j, "policies"), 0);
    cr_assert_eq(num(p, "queries"), 40);
    cJSON_Delete(j);
    run_free(&r);
}
