/* `sushi serve --dataset` (real Fashion-MNIST images classified by the SubNet
 * the scheduler chose), `sushi run --input` on an 8-bit image of another size,
 * and the progress line (only on a terminal). Runs the built binary (path in
 * $SUSHI_CLI); the model is $SUSHI_SRCDIR/models/fmnist-mbv3.sushi (or
 * $SUSHI_FMNIST_MODEL); tests that serve it are skipped while it has no
 * measured accuracies.
 * Helpers in cli_harness.h. */
#include "cli_harness.h"

#include <pty.h>

TestSuite(cli_serve, .timeout = 600);

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"

static const char *model_path(void)
{
    static char path[1024];
    const char *over = getenv("SUSHI_FMNIST_MODEL"); /* another Fashion-MNIST .sushi (e.g. freshly evaluated) */
    if (over && *over)
        return over;
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src, "SUSHI_SRCDIR must point at the source tree");
    snprintf(path, sizeof path, "%s/models/fmnist-mbv3.sushi", src);
    return path;
}

/* The scheduler serves only candidates with an accuracy: a freshly exported
 * model has none until `sushi eval` has measured them. */
static void need_accuracies(void)
{
    sushi_context *ctx;
    sushi_supernet *sn;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, model_path(), NULL, &sn), SUSHI_OK);
    bool any = false;
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    for (uint32_t i = 0; i < in.n_candidates && !any; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &ci), SUSHI_OK);
        any = !isnan(ci.accuracy);
    }
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    if (!any)
        cr_skip_test("the shipped model has no measured accuracies yet (run sushi eval on it)");
}

static void need_dataset_and_cpu(void)
{
    need_accuracies();
    struct stat st;
    if (stat(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &st) != 0)
        cr_skip_test("Fashion-MNIST not installed in " FMNIST_DIR);
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
}

/* ---------- timeline CSV ---------- */

typedef struct csv {
    char *text;
    char **rows; /* rows[0] = header; fields separated by ',' */
    size_t n;
} csv;

static csv csv_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    csv c = { malloc((size_t)len + 1), NULL, 0 };
    cr_assert_eq(fread(c.text, 1, (size_t)len, f), (size_t)len);
    c.text[len] = '\0';
    fclose(f);
    c.rows = calloc(count_lines(c.text) + 1, sizeof *c.rows);
    for (char *line = strtok(c.text, "\n"); line; line = strtok(NULL, "\n"))
        c.rows[c.n++] = line;
    return c;
}

/* Field `col` (0-based) of a row, copied into buf. */
static const char *field(const char *row, int col, char *buf, size_t cap)
{
    for (int k = 0; k < col; k++) {
        row = strchr(row, ',');
        cr_assert_not_null(row, "row has fewer than %d fields", col + 1);
        row++;
    }
    size_t n = strcspn(row, ",");
    cr_assert_lt(n, cap);
    memcpy(buf, row, n);
    buf[n] = '\0';
    return buf;
}

static int column(const csv *c, const char *name)
{
    char buf[64];
    for (int k = 0;; k++) {
        const char *h = c->rows[0];
        int commas = 0;
        for (const char *p = h; *p; p++)
            commas += *p == ',';
        cr_assert_leq(k, commas, "no column '%s' in %s", name, h);
        if (strcmp(field(h, k, buf, sizeof buf), name) == 0)
            return k;
    }
}

static long ifield(const csv *c, size_t row, int col)
{
    char buf[64];
    return strtol(field(c->rows[row], col, buf, sizeof buf), NULL, 10);
}

static void csv_free(csv *c)
{
    free(c->text);
    free(c->rows);
}

/* ---------- serve --dataset ---------- */

Test(cli_serve, dataset_measured_accuracy_equals_timeline_recount, .init = make_tmpdir, .fini = remove_tmpdir)
{
    need_dataset_and_cpu();
    char tl[128];
    snprintf(tl, sizeof tl, "%s/timeline.csv", tmpdir);
    const int nq = 200;
    run_result r = RUN("serve", model_path(), "--backend", "cpu", "--policy", "sushi", "--dataset", "fashion-mnist",
                       "--gen", "seed=5", "--queries", "200", "--timeline", tl, "--json");
    cJSON *j = json_ok(&r); /* also: nothing on stderr, so no progress bytes off a terminal */
    cr_assert(!boolean(j, "synthetic"), "the shipped model has trained weights");
    const cJSON *ds = item(j, "dataset");
    cr_assert_str_eq(str(ds, "name"), "fashion-mnist");
    cr_assert_eq(num(ds, "images"), 10000);
    const cJSON *p = cJSON_GetArrayItem(item(j, "policies"), 0);
    cr_assert_not_null(p);
    double measured = num(p, "accuracy_measured"), expected = num(p, "accuracy_mean");
    double correct = num(p, "correct");
    cr_assert(measured >= 0 && measured <= 1, "accuracy_measured %g", measured);
    cr_assert(expected > 0 && expected <= 1);
    cr_assert_float_eq(measured, correct / nq, 1e-12);
    /* a trained model: far above chance, and near the table's figure on 200 images */
    cr_assert_gt(measured, 0.5, "measured %g", measured);
    cr_assert_lt(fabs(measured - expected), 0.15, "measured %g expected %g", measured, expected);

    csv c = csv_read(tl);
    cr_assert_eq(c.n, (size_t)nq + 1);
    int cq = column(&c, "query"), ci = column(&c, "image"), cl = column(&c, "label"), cp = column(&c, "predicted"),
        cc = column(&c, "correct"), cres = column(&c, "resolution"), ccand = column(&c, "candidate");
    sushi_supernet *sn = NULL;
    {
        sushi_context *ctx;
        cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
        cr_assert_eq(sushi_supernet_load_file(ctx, model_path(), NULL, &sn), SUSHI_OK);
        sushi_context_destroy(ctx);
    }
    long recount = 0;
    for (size_t i = 1; i < c.n; i++) {
        long q = ifield(&c, i, cq), img = ifield(&c, i, ci), lab = ifield(&c, i, cl), pred = ifield(&c, i, cp),
             ok = ifield(&c, i, cc);
        cr_assert_eq(q, (long)i - 1);
        cr_assert_eq(img, q % 10000, "query %ld: image %ld", q, img);
        cr_assert(lab >= 0 && lab <= 9 && pred >= 0 && pred <= 9);
        cr_assert_eq(ok, lab == pred);
        recount += ok;
        /* the resolution column is the served candidate's */
        sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, (uint32_t)ifield(&c, i, ccand), &info), SUSHI_OK);
        cr_assert_eq(ifield(&c, i, cres), (long)info.config.resolution);
    }
    cr_assert_eq(recount, (long)correct, "timeline recount %ld, JSON correct %g", recount, correct);
    csv_free(&c);
    sushi_supernet_destroy(sn);
    cJSON_Delete(j);
    run_free(&r);
}

/* hls + --dataset: the accelerator runs int8 with ranges calibrated on real
 * training images, so its measured accuracy is close to the table's float32
 * figure (with the backend's synthetic default calibration set it was ~8
 * points lower: 82.5 % vs 90.9 % on 200 queries). */
Test(cli_serve, dataset_hls_int8_is_calibrated_on_real_images)
{
    need_dataset_and_cpu();
    if (!have_backend("hls"))
        cr_skip_test("hls backend not built");
    const int nq = 150;
    run_result r = RUN("serve", model_path(), "--backend", "hls", "--policy", "sushi", "--dataset", "fashion-mnist",
                       "--gen", "seed=1", "--queries", "150", "--json");
    cJSON *j = json_ok(&r);
    const cJSON *p = cJSON_GetArrayItem(item(j, "policies"), 0);
    cr_assert_not_null(p);
    double measured = num(p, "accuracy_measured"), expected = num(p, "accuracy_mean");
    cr_assert_float_eq(measured, num(p, "correct") / nq, 1e-12);
    cr_assert_gt(measured, expected - 0.05, "hls int8 measured %g vs expected %g on %d queries", measured, expected,
                 nq);
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli_serve, dataset_text_prints_measured_beside_expected)
{
    need_dataset_and_cpu();
    run_result r = RUN("serve", model_path(), "--backend", "cpu", "--policy", "none,sushi", "--dataset",
                       "fashion-mnist", "--queries", "20");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_str_empty(r.err);
    cr_assert_not_null(strstr(r.out, "dataset: fashion-mnist test"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "acc mean"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "measured"), "%s", r.out);
    run_free(&r);
}

Test(cli_serve, dataset_errors_are_one_line)
{
    need_accuracies(); /* the scheduler is made before the images are read */
    run_result a = RUN("serve", model_path(), "--backend", "cpu", "--dataset", "fashion-mnist", "--data-dir",
                       "/nonexistent/fmnist", "--queries", "5");
    if (have_backend("cpu")) {
        expect_error(&a, 1);
        cr_assert_not_null(strstr(a.err, "/nonexistent/fmnist/t10k-images-idx3-ubyte.gz"), "%s", a.err);
    }
    run_free(&a);
    if (have_backend("cycle")) {
        run_result b = RUN("serve", model_path(), "--backend", "cycle", "--dataset", "fashion-mnist", "--queries", "5");
        expect_error(&b, 2);
        cr_assert_not_null(strstr(b.err, "--dataset needs a backend that runs inference"), "%s", b.err);
        run_free(&b);
    }
    run_result c = RUN("serve", model_path(), "--backend", "null", "--dataset", "mnist");
    expect_error(&c, 2);
    cr_assert_not_null(strstr(c.err, "unknown dataset"), "%s", c.err);
    run_free(&c);
    /* a SuperNet that is not a Fashion-MNIST classifier */
    sushi_supernet *mbv3 = builtin("ofa-mbv3-w1.0");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(mbv3, &in), SUSHI_OK);
    cr_assert_neq(in.in_channels, 1);
    sushi_supernet_destroy(mbv3);
    run_result d = RUN("serve", "builtin:ofa-mbv3-w1.0", "--backend", "null", "--dataset", "fashion-mnist",
                       "--queries", "5");
    expect_error(&d, 1);
    cr_assert_not_null(strstr(d.err, "needs 1 and 10"), "%s", d.err);
    run_free(&d);
}

/* ---------- run --input: an 8-bit image of another size ---------- */

/* A 23 x 23 PGM (no model resolution) run at the model's smallest resolution:
 * the CLI's input equals sushi_input_from_u8() at that resolution. */
Test(cli_serve, run_pgm_of_other_size_is_built_by_input_from_u8, .init = make_tmpdir, .fini = remove_tmpdir)
{
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
    enum { W = 23, H = 23 };
    unsigned char img[32 + W * H];
    int h = snprintf((char *)img, sizeof img, "P5\n%d %d\n255\n", W, H);
    for (int i = 0; i < W * H; i++)
        img[h + i] = (unsigned char)((i * 37 + (i / W) * 11) & 0xff);
    char pgm[128];
    snprintf(pgm, sizeof pgm, "%s/in.pgm", tmpdir);
    write_file(pgm, img, (size_t)h + W * H);

    sushi_context *ctx;
    sushi_supernet *sn;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, model_path(), NULL, &sn), SUSHI_OK);
    uint32_t R = UINT32_MAX;
    for (size_t i = 0; sushi_supernet_resolution(sn, i); i++)
        if (sushi_supernet_resolution(sn, i) < R)
            R = sushi_supernet_resolution(sn, i);
    cr_assert_neq(R, (uint32_t)W);
    char cfg[32];
    snprintf(cfg, sizeof cfg, "min@%u", R);
    sushi_subnet *s = subnet(sn, cfg);
    float *x = malloc((size_t)R * R * sizeof *x), y[10];
    cr_assert_eq(sushi_input_from_u8(sn, img + h, H, W, 1, R, x, (size_t)R * R), SUSHI_OK);
    sushi_backend *b;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    sushi_run_args a = SUSHI_RUN_ARGS_INIT;
    a.input = x, a.input_len = (size_t)R * R, a.output = y, a.output_len = 10;
    cr_assert_eq(sushi_backend_run(b, s, &a, NULL), SUSHI_OK);

    run_result r = RUN("run", model_path(), "--config", cfg, "--backend", "cpu", "--input", pgm, "--json");
    cJSON *j = json_ok(&r);
    cr_assert_eq((uint64_t)num(item(j, "subnet"), "macs"), stats(s).macs);
    const cJSON *out = item(j, "output");
    cr_assert_eq(cJSON_GetArraySize(out), 10);
    for (int k = 0; k < 10; k++)
        cr_assert_float_eq(cJSON_GetArrayItem(out, k)->valuedouble, y[k], 1e-5, "logit %d", k);
    cJSON_Delete(j);
    run_free(&r);
    sushi_backend_destroy(b);
    free(x);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* ---------- progress: only on a terminal ---------- */

/* Run sushi with stderr on a pseudo-terminal (stdout to /dev/null); return what
 * the terminal received (malloc'ed) and the exit status. */
static char *run_on_pty(const char *const *args, int *status)
{
    const char *exe = getenv("SUSHI_CLI");
    cr_assert_not_null(exe);
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)exe;
    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    int master;
    fflush(NULL);
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        FILE *devnull = freopen("/dev/null", "w", stdout);
        (void)devnull;
        execv(exe, argv);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t got = read(master, buf + len, cap - len - 1);
        if (got <= 0)
            break; /* EIO once the child has gone */
        len += (size_t)got;
    }
    buf[len] = '\0';
    close(master);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return buf;
}

Test(cli_serve, progress_only_on_a_terminal)
{
    /* off a terminal: not one progress byte (stderr empty, no \r on stdout) */
    run_result r = RUN("serve", "builtin:ofa-mbv3-w1.0", "--backend", "null", "--policy", "none,sushi", "--queries",
                       "300");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.err, "stderr: %s", r.err);
    cr_assert_null(strchr(r.out, '\r'));
    cr_assert_null(strchr(r.out, '\033'));
    run_free(&r);
    /* on a terminal: a progress line that ends at the total */
    int status;
    char *tty = run_on_pty((const char *const[]){ "serve", "builtin:ofa-mbv3-w1.0", "--backend", "null", "--policy",
                                                  "none,sushi", "--queries", "300", "--json", NULL },
                           &status);
    cr_assert_eq(status, 0, "%s", tty);
    cr_assert_not_null(strchr(tty, '\r'), "no progress line on the terminal: %s", tty);
    cr_assert_not_null(strstr(tty, "600/600 queries"), "%s", tty);
    free(tty);
}

/* ---------- calibrate ---------- */

Test(cli_serve, calibrate_stores_ranges_that_run_uses, .init = make_tmpdir, .fini = remove_tmpdir)
{
    need_dataset_and_cpu();
    char out[128];
    snprintf(out, sizeof out, "%s/cal.sushi", tmpdir);
    run_result r = RUN("calibrate", model_path(), "--dataset", "fashion-mnist", "--calib", "4", "-j", "2", "-o", out,
                       "--json");
    cJSON *j = json_ok(&r);
    cr_assert_float_eq(num(j, "calib"), 4.0, 0.0);
    const cJSON *cands = item(j, "candidates");
    sushi_context *ctx;
    sushi_supernet *sn;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, out, NULL, &sn), SUSHI_OK);
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_eq((uint32_t)cJSON_GetArraySize(cands), in.n_candidates);
    for (uint32_t i = 0; i < in.n_candidates; i++) {
        const float *g = NULL;
        size_t ng = 0;
        cr_assert_eq(sushi_supernet_candidate_int8_ranges(sn, i, &g, &ng), SUSHI_OK);
        cr_assert(g && ng > 0, "candidate %u stores no ranges", i);
        cr_assert_float_eq(num(cJSON_GetArrayItem(cands, (int)i), "int8_ranges"), (double)ng, 0.0);
    }
    cr_assert_not_null(strstr(in.provenance, "sushi calibrate"), "%s", in.provenance);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    cJSON_Delete(j);
    run_free(&r);

    /* run --int8 takes them from the file; a file without them (the built-in
     * families store none) calibrates on the pattern inputs */
    r = RUN("run", out, "--config", "max@28", "--backend", "cpu", "--int8", "--json");
    j = json_ok(&r);
    cr_assert_str_eq(str(j, "int8_ranges"), "stored");
    cJSON_Delete(j);
    run_free(&r);
    r = RUN("run", "builtin:ofa-mbv3-w1.0", "--config", "min@128", "--backend", "cpu", "--int8", "--json");
    j = json_ok(&r);
    cr_assert_str_eq(str(j, "int8_ranges"), "pattern");
    cJSON_Delete(j);
    run_free(&r);

    /* usage errors */
    r = RUN("calibrate", model_path(), "--calib", "4", "-o", out);
    cr_assert_eq(r.status, 2, "missing --dataset: %s", r.err);
    run_free(&r);
    r = RUN("calibrate", model_path(), "--dataset", "fashion-mnist", "--calib", "0", "-o", out);
    cr_assert_eq(r.status, 2, "--calib 0: %s", r.err);
    run_free(&r);
    r = RUN("calibrate", model_path(), "--dataset", "fashion-mnist", "--limit", "3");
    cr_assert_eq(r.status, 2, "eval-only option: %s", r.err);
    run_free(&r);
    r = RUN("calibrate", model_path(), "--dataset", "mnist", "-o", out);
    cr_assert_eq(r.status, 2, "unknown dataset: %s", r.err);
    run_free(&r);
    /* runtime errors: one line, nothing written */
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.sushi", tmpdir);
    r = RUN("calibrate", model_path(), "--dataset", "fashion-mnist", "--data-dir", tmpdir, "-o", missing);
    cr_assert_eq(r.status, 1, "no dataset in --data-dir: %s", r.err);
    cr_assert_not_null(strstr(r.err, "fashion-mnist"), "%s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    struct stat st;
    cr_assert_neq(stat(missing, &st), 0, "%s was written", missing);
    run_free(&r);
}

/* Issue 15 item 8: the provenance note says what the file says. A synthetic
 * SuperNet whose accuracies were measured (stored with
 * sushi_supernet_with_accuracies, accuracy_source "measured") is not labelled
 * "proxy accuracies"; the built-in it came from (proxy accuracies) is. */
Test(cli_serve, synthetic_file_with_measured_accuracies_is_not_called_proxy, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    cr_assert(info.synthetic);
    double *acc = calloc(info.n_candidates, sizeof *acc);
    for (uint32_t i = 0; i < info.n_candidates; i++)
        acc[i] = 0.5 + 0.4 * i / info.n_candidates;
    sushi_supernet *m = NULL;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, acc, info.n_candidates, "test-images", "top1",
                                                "measured by this test", &m), SUSHI_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/measured.sushi", tmpdir);
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    cr_assert_eq(sushi_supernet_save_file(m, path, &so), SUSHI_OK);
    run_result r = RUN("serve", path, "--backend", "cycle", "--policy", "none", "--queries", "20");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "SYNTHETIC weights; measured accuracies"), "%s", r.out);
    cr_expect_null(strstr(r.out, "proxy accuracies"), "%s", r.out);
    run_free(&r);
    r = RUN("serve", "builtin:ofa-mbv3-w1.0", "--backend", "cycle", "--policy", "none", "--queries", "20");
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_not_null(strstr(r.out, "SYNTHETIC weights; proxy accuracies"), "%s", r.out);
    run_free(&r);
    sushi_supernet_destroy(m);
    sushi_supernet_destroy(sn);
    free(acc);
}
