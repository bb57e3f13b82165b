/* Issue 15 items 3, 4 and 5: bounded trace files, FIFOs refused without
 * blocking (library and CLI), trace numbers that read back exactly. */
#include "rel_harness.h"

#include <float.h>
#include <math.h>

#include "sushi/sushi.h"

static const char *cli(void)
{
    const char *p = getenv("SUSHI_CLI");
    cr_assert_not_null(p, "SUSHI_CLI must point at the sushi binary");
    return p;
}

/* ---------- item 3: bounded trace lines and files ---------- */

static int load_trace(const char *path, char *err, size_t errsz)
{
    sushi_trace *t = NULL;
    int rc = sushi_trace_load_csv(NULL, path, &t, err, errsz);
    sushi_trace_destroy(t);
    return rc;
}

Test(trace_limits, line_longer_than_limit_is_refused_naming_the_limit)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "line");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    size_t n = SUSHI_TRACE_LINE_MAX + 10;
    char *d = malloc(n + 64);
    cr_assert_not_null(d);
    int h = sprintf(d, "t_s,min_accuracy,slo_s\n");
    memset(d + h, '1', n);
    d[h + n] = '\n';
    rel_write(path, d, (size_t)h + n + 1);
    char err[512];
    cr_assert_eq(load_trace(path, err, sizeof err), SUSHI_ERR_FORMAT);
    cr_assert_not_null(strstr(err, ":2: line longer than 4096 bytes"), "%s", err);

    /* a line of exactly the limit is read (and refused for its content, not its length) */
    h = sprintf(d, "t_s,min_accuracy,slo_s\n0,0,");
    memset(d + h, '0', SUSHI_TRACE_LINE_MAX - 4);
    d[h + SUSHI_TRACE_LINE_MAX - 4] = '\n';
    rel_write(path, d, (size_t)h + SUSHI_TRACE_LINE_MAX - 3);
    cr_assert_eq(load_trace(path, err, sizeof err), SUSHI_OK, "%s", err);
    free(d);
    rel_rmdir(dir);
}

Test(trace_limits, file_larger_than_limit_is_refused_before_reading)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "big");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    const char *hdr = "t_s,min_accuracy,slo_s\n";
    cr_assert_eq(write(fd, hdr, strlen(hdr)), (ssize_t)strlen(hdr));
    cr_assert_eq(ftruncate(fd, (off_t)SUSHI_TRACE_FILE_MAX + 1), 0); /* sparse: no disk used */
    close(fd);
    char err[512];
    cr_assert_eq(load_trace(path, err, sizeof err), SUSHI_ERR_FORMAT);
    cr_assert_not_null(strstr(err, "limit of a trace file (256 MiB)"), "%s", err);
    rel_rmdir(dir);
}

Test(trace_limits, character_device_is_refused_not_read)
{
    char err[512];
    cr_assert_eq(load_trace("/dev/zero", err, sizeof err), SUSHI_ERR_IO);
    cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
}

/* ---------- item 4: FIFOs ---------- */

static char fifo_dir[64], fifo_path[128];

static void make_fifo(void)
{
    rel_mkdtemp(fifo_dir, sizeof fifo_dir, "fifo");
    snprintf(fifo_path, sizeof fifo_path, "%s/p", fifo_dir);
    cr_assert_eq(mkfifo(fifo_path, 0600), 0);
}

static void drop_fifo(void)
{
    rel_rmdir(fifo_dir);
}

/* Run fn in a child with a 20 s alarm: a FIFO without a writer must not block.
 * Returns fn's status (>= 0), or fails the test when the child was killed. */
static int in_child_deadline(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        alarm(20);
        _exit(fn());
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "blocked on the FIFO (killed by signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

static int load_supernet_fifo(void)
{
    sushi_context *ctx = NULL;
    if (sushi_context_create(NULL, &ctx))
        return 99;
    char err[256] = "";
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    sushi_supernet *sn = NULL;
    int rc = sushi_supernet_load_file(ctx, fifo_path, &o, &sn);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return rc == SUSHI_ERR_IO && strstr(err, "not a regular file") ? 0 : 1;
}

static int load_trace_fifo(void)
{
    char err[256] = "";
    int rc = load_trace(fifo_path, err, sizeof err);
    return rc == SUSHI_ERR_IO && strstr(err, "not a regular file") ? 0 : 1;
}

Test(fifo, supernet_load_file_refuses_fifo_without_blocking, .init = make_fifo, .fini = drop_fifo)
{
    cr_assert_eq(in_child_deadline(load_supernet_fifo), 0);
}

Test(fifo, trace_load_csv_refuses_fifo_without_blocking, .init = make_fifo, .fini = drop_fifo)
{
    cr_assert_eq(in_child_deadline(load_trace_fifo), 0);
}

static void cli_refuses_fifo(const char *tag, char *const *args)
{
    rel_run *r = rel_spawn(args, 0, 0, 60, "OPENBLAS_NUM_THREADS=1");
    cr_assert_neq(r->status, -1, "%s: blocked on the FIFO", tag);
    cr_assert_eq(r->status, 1, "%s: exit %d, stderr: %s", tag, r->status, r->err);
    cr_assert_not_null(strstr(r->err, "not a regular file"), "%s: %s", tag, r->err);
    free(r);
}

Test(fifo, cli_readers_refuse_fifo_without_blocking, .init = make_fifo, .fini = drop_fifo, .timeout = 600)
{
    char cfg[160];
    snprintf(cfg, sizeof cfg, "@%s", fifo_path);
    char *info[] = { (char *)cli(), "info", fifo_path, NULL };
    cli_refuses_fifo("info FIFO", info);
    char *tinfo[] = { (char *)cli(), "trace", "info", fifo_path, NULL };
    cli_refuses_fifo("trace info FIFO", tinfo);
    char *serve[] = { (char *)cli(), "serve", "builtin:ofa-mbv3-w1.0", "--backend", "cycle", "--trace", fifo_path,
                      NULL };
    cli_refuses_fifo("serve --trace FIFO", serve);
    char *config[] = { (char *)cli(), "subnet", "builtin:ofa-mbv3-w1.0", "--config", cfg, NULL };
    cli_refuses_fifo("--config @FIFO", config);
    char *run[] = { (char *)cli(), "run", "builtin:ofa-mbv3-w1.0", "--config", "min@64", "--backend", "cpu",
                    "--input", fifo_path, NULL };
    cli_refuses_fifo("run --input FIFO", run);
}

/* ---------- item 5: trace numbers read back exactly ---------- */

Test(trace_roundtrip, every_finite_value_reads_back_bit_for_bit)
{
    const double vals[] = { 0.0,
                            DBL_TRUE_MIN, /* 4.94065645841247e-324: refused by the reader before */
                            2 * DBL_TRUE_MIN,
                            nextafter(DBL_MIN, 0.0), /* largest subnormal */
                            DBL_MIN,
                            nextafter(DBL_MIN, 1.0),
                            1e-300,
                            0.1,
                            1.0 / 3.0,
                            nextafter(1.0, 0.0),
                            1.0 };
    const size_t nv = sizeof vals / sizeof vals[0];
    sushi_trace_entry e[sizeof vals / sizeof vals[0] + 1];
    double t = 0.0;
    for (size_t i = 0; i < nv; i++) {
        e[i] = (sushi_trace_entry)SUSHI_TRACE_ENTRY_INIT;
        t = vals[i] > t ? vals[i] : t; /* non-decreasing times */
        e[i].t_s = t;
        e[i].min_accuracy = vals[i];
        e[i].slo_s = vals[nv - 1 - i] * 1e-3 + (i == 3 ? DBL_TRUE_MIN : 0.0);
        e[i].label = (int64_t)i;
    }
    e[nv] = (sushi_trace_entry)SUSHI_TRACE_ENTRY_INIT;
    e[nv].t_s = 1.7976931348623157e308; /* DBL_MAX */
    e[nv].slo_s = DBL_MAX;
    sushi_trace *tr = NULL;
    char err[256];
    cr_assert_eq(sushi_trace_create(NULL, e, nv + 1, &tr, err, sizeof err), SUSHI_OK, "%s", err);
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "rt");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    cr_assert_eq(sushi_trace_save_csv(tr, path), SUSHI_OK);
    sushi_trace *back = NULL;
    cr_assert_eq(sushi_trace_load_csv(NULL, path, &back, err, sizeof err), SUSHI_OK, "%s", err);
    cr_assert_eq(sushi_trace_length(back), nv + 1);
    for (size_t i = 0; i <= nv; i++) {
        sushi_trace_entry a = SUSHI_TRACE_ENTRY_INIT, b = SUSHI_TRACE_ENTRY_INIT;
        cr_assert_eq(sushi_trace_get(tr, i, &a), SUSHI_OK);
        cr_assert_eq(sushi_trace_get(back, i, &b), SUSHI_OK);
        cr_assert(memcmp(&a.t_s, &b.t_s, sizeof a.t_s) == 0, "entry %zu t_s %a read back as %a", i, a.t_s, b.t_s);
        cr_assert(memcmp(&a.min_accuracy, &b.min_accuracy, sizeof(double)) == 0, "entry %zu min_accuracy %a -> %a", i,
                  a.min_accuracy, b.min_accuracy);
        cr_assert(memcmp(&a.slo_s, &b.slo_s, sizeof(double)) == 0, "entry %zu slo_s %a -> %a", i, a.slo_s, b.slo_s);
        cr_assert_eq(a.label, b.label);
    }
    sushi_trace_destroy(tr);
    sushi_trace_destroy(back);

    /* a literal that underflows to zero is refused, not silently read as 0 */
    rel_write(path, "t_s,min_accuracy,slo_s\n0,0,1e-400\n", 34);
    cr_assert_eq(sushi_trace_load_csv(NULL, path, &back, err, sizeof err), SUSHI_ERR_FORMAT);
    cr_assert_not_null(strstr(err, "is not a number"), "%s", err);
    rel_rmdir(dir);
}
