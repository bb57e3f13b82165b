/* The CLI's error paths (issue #15, item 9): every failure names its cause
 * in exactly one stderr line with the exit status docs/cli.md gives, and no
 * command exits 0 when its output was lost. Runs the built binary ($SUSHI_CLI). */
#include "cli_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

TestSuite(cli_errors, .timeout = 300);

#define MBV3 "builtin:ofa-mbv3-w1.0"

static void expect_error_with(run_result *r, int code, const char *needle)
{
    expect_error(r, code);
    cr_assert_not_null(strstr(r->err, needle), "stderr lacks '%s': %s", needle, r->err);
}

/* Run with stdout on `out_path` and, when fsize > 0, RLIMIT_FSIZE = fsize
 * bytes (SIGXFSZ ignored, so a write past it fails with EFBIG as on a full
 * disk). stdout is not captured; stderr is. */
static run_result run_special(const char *out_path, rlim_t fsize, const char *const *args)
{
    const char *exe = getenv("SUSHI_CLI");
    cr_assert_not_null(exe);
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)exe;
    for (; args[n - 1]; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    int err = tmpfd();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY);
        if (o < 0)
            _exit(126);
        dup2(o, 1);
        dup2(err, 2);
        if (fsize) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = { fsize, fsize };
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        execv(exe, argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    run_result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = calloc(1, 1);
    r.err = slurp_fd(err);
    close(err);
    return r;
}

#define RUN_SPECIAL(path, fsize, ...) run_special(path, fsize, (const char *const[]){ __VA_ARGS__, NULL })

/* ---------- serve --gen: the key is named, exit 2 (usage) ---------- */

Test(cli_errors, serve_gen_bad_values_name_the_key_and_exit_2)
{
    struct {
        const char *gen, *needle;
    } c[] = {
        { "acc_lo=0.9,acc_hi=0.1", "acc_lo 0.9 > acc_hi 0.1" },
        { "slo_lo=0", "slo_lo=0" },
        { "acc_lo=-1", "acc_lo=-1" },
        { "acc_hi=1.5", "acc_hi=1.5" },
        { "slo=5ms:1ms", "slo_lo 0.005s > slo_hi 0.001s" },
        { "queries=0", "queries=0" },
        { "nosuch=1", "nosuch" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        run_result r = RUN("serve", MBV3, "--backend", "cycle", "--gen", c[i].gen, "--queries", "3");
        expect_error_with(&r, 2, c[i].needle);
        run_free(&r);
    }
}

Test(cli_errors, trace_gen_bad_values_say_what_is_expected)
{
    run_result r = RUN("trace", "gen", "--queries", "0", "-o", "/tmp/never-written.csv");
    expect_error_with(&r, 2, "expected an integer 1..100000000");
    run_free(&r);
    r = RUN("trace", "gen", "--acc", "0.9:0.1", "-o", "/tmp/never-written.csv");
    expect_error_with(&r, 2, "--acc");
    run_free(&r);
}

/* ---------- unknown names are usage errors (2) everywhere ---------- */

Test(cli_errors, unknown_accel_and_policy_both_exit_2)
{
    run_result r = RUN("serve", MBV3, "--backend", "cycle", "--accel", "zcu106", "--queries", "3");
    expect_error_with(&r, 2, "zcu106");
    run_free(&r);
    r = RUN("serve", MBV3, "--backend", "cycle", "--policy", "sushii", "--queries", "3");
    expect_error_with(&r, 2, "sushii");
    run_free(&r);
    r = RUN("trace", "gen", "--model", MBV3, "--accel", "zcu106", "-o", "/tmp/never-written.csv");
    expect_error_with(&r, 2, "zcu106");
    run_free(&r);
    if (have_backend("cycle")) {
        r = RUN("cost", MBV3, "--config", "min", "--accel", "zcu106");
        expect_error_with(&r, 2, "zcu106");
        run_free(&r);
    }
}

Test(cli_errors, empty_policy_name_is_refused)
{
    static const char *const lists[] = { "none,,sushi", ",none", "none," };
    for (size_t i = 0; i < 3; i++) {
        run_result r = RUN("serve", MBV3, "--backend", "cycle", "--policy", lists[i], "--queries", "3");
        expect_error_with(&r, 2, "empty policy name");
        run_free(&r);
    }
}

/* ---------- lost output is an error ---------- */

Test(cli_errors, stdout_write_error_exits_1_with_one_line)
{
    if (access("/dev/full", W_OK) != 0)
        cr_skip_test("no /dev/full");
    const char *const cmds[][6] = {
        { "subnets", MBV3, NULL },
        { "subnets", MBV3, "--json", NULL },
        { "info", MBV3, NULL },
        { "--help", NULL },
        { "--version", NULL },
        { "zoo", "--list", NULL },
        { "subnet", MBV3, "--config", "max", "--layers", NULL },
        { "trace", "--help", NULL },
        { "serve", "--help", NULL },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        run_result r = run_special("/dev/full", 0, cmds[i]);
        cr_assert_eq(r.status, 1, "%s: exit %d, stderr: %s", cmds[i][0], r.status, r.err);
        cr_assert_eq(count_lines(r.err), 1, "%s: %s", cmds[i][0], r.err);
        cr_assert_str_eq(r.err, "sushi: write stdout: No space left on device\n", "%s", cmds[i][0]);
        run_free(&r);
    }
}

/* ---------- a full disk names its cause ---------- */

Test(cli_errors, trace_gen_write_failure_names_the_cause, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char out[128];
    snprintf(out, sizeof out, "%s/t.csv", tmpdir);
    /* 20,000 queries are ~1 MB of CSV: far past a 4 KiB file size limit */
    run_result r = RUN_SPECIAL("/dev/null", 4096, "trace", "gen", "--queries", "20000", "-o", out);
    cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
    cr_assert_not_null(strstr(r.err, out), "names the file: %s", r.err);
    cr_assert_not_null(strstr(r.err, "File too large"), "names the cause: %s", r.err);
    run_free(&r);
}

static bool have_fmnist(void)
{
    return access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) == 0;
}

static const char *model_path(void)
{
    static char path[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    snprintf(path, sizeof path, "%s/models/fmnist-mbv3.sushi", src ? src : ".");
    return path;
}

Test(cli_errors, eval_write_failure_names_the_target_not_a_temporary)
{
    if (!have_fmnist() || !have_backend("cpu"))
        cr_skip_test("needs dataset-fashion-mnist and the cpu backend");
    run_result r = RUN("eval", model_path(), "--dataset", "fashion-mnist", "--limit", "1", "-o",
                       "/nonexistent-dir/out.sushi");
    expect_error_with(&r, 1, "write '/nonexistent-dir/out.sushi'");
    cr_assert_null(strstr(r.err, ".tmp"), "names a temporary: %s", r.err);
    cr_assert_not_null(strstr(r.err, "No such file or directory"), "names the cause: %s", r.err);
    run_free(&r);
}

Test(cli_errors, eval_table_has_a_config_column)
{
    if (!have_fmnist() || !have_backend("cpu"))
        cr_skip_test("needs dataset-fashion-mnist and the cpu backend");
    run_result r = RUN("eval", model_path(), "--dataset", "fashion-mnist", "--limit", "1", "--dry-run");
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *nl = strchr(r.out, '\n');
    cr_assert_not_null(nl);
    cr_assert_not_null(strstr(r.out, "config"), "header: %.*s", (int)(nl - r.out), r.out);
    /* row 0 carries candidate 0's config, as sushi subnets prints it */
    cr_assert_not_null(strstr(nl, "  {\"ks\":["), "%.300s", nl);
    run_free(&r);
}

Test(cli_errors, eval_limit_0_and_calib_0_are_both_refused)
{
    run_result r = RUN("eval", model_path(), "--dataset", "fashion-mnist", "--limit", "0");
    expect_error_with(&r, 2, "--limit must be at least 1");
    run_free(&r);
    r = RUN("eval", model_path(), "--dataset", "fashion-mnist", "--int8", "--calib", "0");
    expect_error_with(&r, 2, "--calib must be at least 1");
    run_free(&r);
}

Test(cli_errors, eval_help_lists_calib_and_json_in_its_usage)
{
    run_result r = RUN("eval", "--help");
    cr_assert_eq(r.status, 0);
    const char *nl = strstr(r.out, "\n\n"); /* the usage lines end at the first blank line */
    cr_assert_not_null(nl);
    char usage[512];
    snprintf(usage, sizeof usage, "%.*s", (int)(nl - r.out), r.out);
    cr_assert_not_null(strstr(usage, "--calib N"), "%s", usage);
    cr_assert_not_null(strstr(usage, "--json"), "%s", usage);
    run_free(&r);
}

/* ---------- loading ---------- */

Test(cli_errors, bare_builtin_name_hints_builtin_prefix)
{
    run_result r = RUN("info", "ofa-resnet50");
    expect_error_with(&r, 1, "use 'builtin:ofa-resnet50'");
    run_free(&r);
    /* a name that is no built-in gets no hint */
    r = RUN("info", "ofa-nosuch");
    expect_error(&r, 1);
    cr_assert_null(strstr(r.err, "builtin:"), "%s", r.err);
    run_free(&r);
}

Test(cli_errors, proc_file_is_not_called_empty)
{
    if (access("/proc/self/status", R_OK) != 0)
        cr_skip_test("no /proc");
    run_result r = RUN("info", "/proc/self/status");
    expect_error_with(&r, 1, "not a regular file with a size");
    cr_assert_null(strstr(r.err, "empty"), "%s", r.err);
    run_free(&r);
}

Test(cli_errors, empty_regular_file_is_still_empty, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/empty.sushi", tmpdir);
    write_file(path, "", 0);
    run_result r = RUN("info", path);
    expect_error_with(&r, 1, "empty file");
    run_free(&r);
}

Test(cli_errors, serve_and_trace_report_a_bad_file_in_one_line, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bad.sushi", tmpdir);
    write_file(path, "\x84\x01\x02\x03\x04", 5); /* CBOR array, not a map */
    run_result r = RUN("serve", path, "--backend", "cycle");
    expect_error_with(&r, 1, "malformed SuperNet file");
    run_free(&r);
    r = RUN("trace", "gen", "--model", path, "-o", "/tmp/never-written.csv");
    expect_error_with(&r, 1, "malformed SuperNet file");
    run_free(&r);
}

/* ---------- configs ---------- */

Test(cli_errors, config_white_space_accepted_on_both_sides_duplicate_keys_refused)
{
    run_result a = RUN("subnet", MBV3, "--config", "min@64", "--json");
    run_result b = RUN("subnet", MBV3, "--config", "min@64 ", "--json");
    run_result c = RUN("subnet", MBV3, "--config", " min@64", "--json");
    cJSON *ja = json_ok(&a), *jb = json_ok(&b), *jc = json_ok(&c);
    cr_assert_eq(num(ja, "macs"), num(jb, "macs"));
    cr_assert_eq(num(ja, "macs"), num(jc, "macs"));
    cJSON_Delete(ja), cJSON_Delete(jb), cJSON_Delete(jc);
    run_free(&a), run_free(&b), run_free(&c);
    run_result d = RUN("subnet", MBV3, "--config", "{\"ks\":3,\"e\":3,\"d\":[2,2,2,2,2],\"d\":[4,4,4,4,4]}");
    expect_error_with(&d, 1, "d: key given twice");
    run_free(&d);
}

/* ---------- cost --topology ---------- */

Test(cli_errors, topology_overflow_says_size_overflow_once, .init = make_tmpdir, .fini = remove_tmpdir)
{
    if (!have_backend("cycle"))
        cr_skip_test("no cycle backend");
    char path[128];
    snprintf(path, sizeof path, "%s/big.csv", tmpdir);
    const char csv[] = "K,C,R,S,X,Y,pad_x,pad_y,stride_x,stride_y\n"
                       "100000,100000,3,3,100000,100000,1,1,1,1\n";
    write_file(path, csv, sizeof csv - 1);
    run_result r = RUN("cost", "--topology", path, "--accel", "zcu104");
    expect_error_with(&r, 1, "line 2");
    const char *first = strstr(r.err, "size overflow");
    cr_assert_not_null(first, "%s", r.err);
    cr_assert_null(strstr(first + 1, "size overflow"), "repeated: %s", r.err);
    run_free(&r);
}

/* ---------- run --input PNG: a documented pixel limit ---------- */

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static size_t put_chunk(unsigned char *buf, const char *type, const unsigned char *data, uint32_t len)
{
    buf[0] = (unsigned char)(len >> 24), buf[1] = (unsigned char)(len >> 16);
    buf[2] = (unsigned char)(len >> 8), buf[3] = (unsigned char)len;
    memcpy(buf + 4, type, 4);
    if (len)
        memcpy(buf + 8, data, len);
    uint32_t crc = crc32_png(buf + 4, 4 + len);
    unsigned char *t = buf + 8 + len;
    t[0] = (unsigned char)(crc >> 24), t[1] = (unsigned char)(crc >> 16);
    t[2] = (unsigned char)(crc >> 8), t[3] = (unsigned char)crc;
    return 12 + len;
}

/* A PNG header claiming w x h grey pixels (its IDAT is a stub: the size check
 * must come before any pixel is decoded). */
static size_t fake_png(unsigned char *buf, uint32_t w, uint32_t h)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    memcpy(buf, sig, 8);
    size_t n = 8;
    unsigned char ihdr[13] = { (unsigned char)(w >> 24), (unsigned char)(w >> 16), (unsigned char)(w >> 8),
                               (unsigned char)w, (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                               (unsigned char)(h >> 8), (unsigned char)h, 8, 0, 0, 0, 0 };
    n += put_chunk(buf + n, "IHDR", ihdr, 13);
    static const unsigned char idat[] = { 0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01 };
    n += put_chunk(buf + n, "IDAT", idat, sizeof idat);
    n += put_chunk(buf + n, "IEND", NULL, 0);
    return n;
}

Test(cli_errors, png_input_above_the_pixel_limit_is_refused, .init = make_tmpdir, .fini = remove_tmpdir)
{
    unsigned char png[128];
    char path[128];
    snprintf(path, sizeof path, "%s/big.png", tmpdir);
    write_file(path, png, fake_png(png, 65536, 65536));
    run_result r = RUN("run", MBV3, "--config", "min", "--backend", "null", "--input", path);
    if (strstr(r.err, "without libpng"))
        cr_skip_test("CLI built without libpng");
    expect_error_with(&r, 1, "65536x65536 is more than the 16777216 pixels");
    run_free(&r);
    /* just above 4096 x 4096 */
    write_file(path, png, fake_png(png, 4097, 4096));
    r = RUN("run", MBV3, "--config", "min", "--backend", "null", "--input", path);
    expect_error_with(&r, 1, "4097x4096 is more than the 16777216 pixels");
    run_free(&r);
}
