/* Issue 15 item 1: a failed write never destroys the existing file, and leaves
 * no temporary. Failures are made deterministic with RLIMIT_FSIZE (a write past
 * the limit fails with EFBIG; unprivileged) and, when root, with a tiny tmpfs
 * that fills up (ENOSPC). Library writers (sushi_supernet_save_file,
 * sushi_trace_save_csv), the internal helper itself and the CLI writers (zoo -o,
 * trace gen -o, serve --timeline, calibrate -o). */
#include "rel_harness.h"

#include <sys/mount.h>

#include "atomic_file.h"
#include "sushi/sushi.h"

static const char *cli(void)
{
    const char *p = getenv("SUSHI_CLI");
    cr_assert_not_null(p, "SUSHI_CLI must point at the sushi binary");
    return p;
}

/* The fixture's bytes as the "old file" users keep. */
static char *old_bytes(size_t *n)
{
    char *d = rel_slurp(SUSHI_FORMAT_FIXTURE, n);
    cr_assert_not_null(d);
    return d;
}

static void assert_same_file(const char *path, const char *want, size_t n)
{
    size_t got_n = 0;
    char *got = rel_slurp(path, &got_n);
    cr_assert_not_null(got, "%s vanished", path);
    cr_assert_eq(got_n, n, "%s: %zu bytes, the old file had %zu", path, got_n, n);
    cr_assert(memcmp(got, want, n) == 0, "%s: contents changed", path);
    free(got);
}

static void assert_loads(const char *path)
{
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_load_file(ctx, path, NULL, &sn), SUSHI_OK, "%s no longer loads", path);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* A big trace: n entries (about 60 bytes each as CSV). */
static sushi_trace *big_trace(size_t n)
{
    sushi_trace_entry *e = calloc(n, sizeof *e);
    cr_assert_not_null(e);
    for (size_t i = 0; i < n; i++) {
        e[i] = (sushi_trace_entry)SUSHI_TRACE_ENTRY_INIT;
        e[i].t_s = 0.001234567891 * (double)i;
        e[i].min_accuracy = 0.7123456789;
        e[i].slo_s = 0.0123456789;
        e[i].label = (int64_t)(i % 7);
    }
    sushi_trace *t = NULL;
    cr_assert_eq(sushi_trace_create(NULL, e, n, &t, NULL, 0), SUSHI_OK);
    free(e);
    return t;
}

/* ---------- the helper ---------- */

Test(atomic_file, commit_replaces_and_leaves_no_temporary)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "af");
    snprintf(path, sizeof path, "%s/f", dir);
    rel_write(path, "old", 3);
    cr_assert_eq(chmod(path, 0600), 0);
    sushi_atomic_file af;
    cr_assert_eq(sushi_atomic_open(&af, path), 0);
    cr_assert_eq(rel_count_entries(dir), 2, "the temporary sits next to the target");
    FILE *fp = sushi_atomic_stream(&af);
    cr_assert_not_null(fp);
    fprintf(fp, "new contents\n");
    cr_assert_eq(sushi_atomic_write(&af, "raw\n", 4), 0);
    cr_assert_eq(sushi_atomic_commit(&af), 0);
    assert_same_file(path, "new contents\nraw\n", 17);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "an existing file's mode is kept (got %o)", st.st_mode & 0777);
    cr_assert_eq(rel_count_entries(dir), 1);
    rel_rmdir(dir);
}

Test(atomic_file, new_file_gets_umask_mode_and_abort_removes_temporary)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "af");
    snprintf(path, sizeof path, "%s/new", dir);
    mode_t old = umask(027);
    cr_assert_eq(sushi_atomic_write_file(path, "x", 1), 0);
    umask(old);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0640, "got %o", st.st_mode & 0777);

    sushi_atomic_file af;
    cr_assert_eq(sushi_atomic_open(&af, path), 0);
    cr_assert_eq(sushi_atomic_write(&af, "yyyy", 4), 0);
    sushi_atomic_abort(&af);
    sushi_atomic_abort(&af); /* twice is harmless */
    assert_same_file(path, "x", 1);
    cr_assert_eq(rel_count_entries(dir), 1);

    /* missing directory: nothing created, the cause returned */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/file", dir);
    cr_assert_eq(sushi_atomic_write_file(bad, "x", 1), ENOENT);
    /* a directory is refused */
    cr_assert_eq(sushi_atomic_write_file(dir, "x", 1), EISDIR);
    cr_assert_eq(rel_count_entries(dir), 1);
    rel_rmdir(dir);
}

Test(atomic_file, symlink_target_is_replaced_and_link_kept)
{
    char dir[64], path[128], link[128];
    rel_mkdtemp(dir, sizeof dir, "af");
    snprintf(path, sizeof path, "%s/real", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    rel_write(path, "old", 3);
    cr_assert_eq(symlink("real", link), 0);
    cr_assert_eq(sushi_atomic_write_file(link, "new", 3), 0);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link stays a link");
    assert_same_file(path, "new", 3);
    cr_assert_eq(rel_count_entries(dir), 2);
    rel_rmdir(dir);
}

Test(atomic_file, device_is_written_in_place)
{
    cr_assert_eq(sushi_atomic_write_file("/dev/null", "abc", 3), 0);
    cr_assert_eq(sushi_atomic_write_file("/dev/full", "abc", 3), ENOSPC);
}

/* ---------- library writers under RLIMIT_FSIZE (forked child) ---------- */

/* In a child: limit file size to `limit`, run fn(path), return its result. */
static int in_child_with_fsize(rlim_t limit, int (*fn)(const char *), const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { limit, limit };
        setrlimit(RLIMIT_FSIZE, &rl);
        _exit(fn(path));
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "child died (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

/* Save the built-in ofa-mbv3-w1.0 (seed mode, tens of KB) over path.
 * Exit code: 0 OK, 1 IO with errno EFBIG or ENOSPC, 2 anything else. */
static int save_builtin(const char *path)
{
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    if (sushi_context_create(NULL, &ctx) || sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn))
        return 3;
    errno = 0;
    int rc = sushi_supernet_save_file(sn, path, NULL);
    int e = errno;
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    if (rc == SUSHI_OK)
        return 0;
    return rc == SUSHI_ERR_IO && (e == EFBIG || e == ENOSPC) ? 1 : 2;
}

static int save_trace(const char *path)
{
    sushi_trace *t = big_trace(20000);
    errno = 0;
    int rc = sushi_trace_save_csv(t, path);
    int e = errno;
    sushi_trace_destroy(t);
    if (rc == SUSHI_OK)
        return 0;
    return rc == SUSHI_ERR_IO && (e == EFBIG || e == ENOSPC) ? 1 : 2;
}

Test(atomic_file, supernet_save_past_file_size_limit_keeps_old_file)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "save");
    snprintf(path, sizeof path, "%s/model.sushi", dir);
    size_t n;
    char *old = old_bytes(&n);
    rel_write(path, old, n);
    /* the limit lets the old file's size through but not the new file */
    cr_assert_eq(in_child_with_fsize((rlim_t)n, save_builtin, path), 1,
                 "save must fail with SUSHI_ERR_IO and errno EFBIG");
    assert_same_file(path, old, n);
    assert_loads(path);
    cr_assert_eq(rel_count_entries(dir), 1, "no temporary left");
    /* without a limit the same save replaces the file */
    cr_assert_eq(in_child_with_fsize(RLIM_INFINITY, save_builtin, path), 0);
    assert_loads(path);
    cr_assert_eq(rel_count_entries(dir), 1);
    free(old);
    rel_rmdir(dir);
}

Test(atomic_file, trace_save_past_file_size_limit_keeps_old_file)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "trace");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    const char *old = "t_s,min_accuracy,slo_s\n0,0.5,0.01\n1,0.6,0.02\n";
    rel_write(path, old, strlen(old));
    cr_assert_eq(in_child_with_fsize(4096, save_trace, path), 1, "save must fail with SUSHI_ERR_IO and errno EFBIG");
    assert_same_file(path, old, strlen(old));
    cr_assert_eq(rel_count_entries(dir), 1, "no temporary left");
    rel_rmdir(dir);
}

/* ---------- a real full filesystem (root only: mounts a 64 KiB tmpfs) ---------- */

Test(atomic_file, full_tmpfs_keeps_old_files)
{
    if (geteuid() != 0) {
        cr_skip_test("mounting a tmpfs needs root; the RLIMIT_FSIZE tests cover the same path unprivileged");
        return;
    }
    char dir[64];
    rel_mkdtemp(dir, sizeof dir, "tmpfs");
    if (mount("tmpfs", dir, "tmpfs", 0, "size=64k") != 0) {
        int e = errno;
        rmdir(dir);
        cr_skip_test("cannot mount a tmpfs here: %s", strerror(e));
        return;
    }
    char model[128], trace[128];
    snprintf(model, sizeof model, "%s/model.sushi", dir);
    snprintf(trace, sizeof trace, "%s/t.csv", dir);
    size_t n;
    char *old = old_bytes(&n); /* 21 KB: fits */
    rel_write(model, old, n);
    const char *old_csv = "t_s,min_accuracy,slo_s\n0,0.5,0.01\n";
    rel_write(trace, old_csv, strlen(old_csv));

    /* 20000 entries (~1 MB of CSV) cannot fit in 64 KiB */
    cr_assert_eq(in_child_with_fsize(RLIM_INFINITY, save_trace, trace), 1, "ENOSPC expected");
    assert_same_file(trace, old_csv, strlen(old_csv));
    cr_assert_eq(rel_count_entries(dir), 2, "no temporary left");

    /* the CLI: trace gen -o onto the full disk */
    char *args[] = { (char *)cli(), "trace", "gen", "-o", trace, "--queries", "20000", NULL };
    rel_run *r = rel_spawn(args, 0, 0, 120, NULL);
    cr_assert_eq(r->status, 1, "exit %d, stderr: %s", r->status, r->err);
    free(r);
    assert_same_file(trace, old_csv, strlen(old_csv));
    assert_same_file(model, old, n);
    assert_loads(model);
    cr_assert_eq(rel_count_entries(dir), 2, "no temporary left");
    free(old);
    cr_assert_eq(umount(dir), 0);
    rmdir(dir);
}

/* ---------- the CLI writers under RLIMIT_FSIZE ---------- */

/* Run the CLI with a file-size limit: exit 1 (not killed by SIGXFSZ); when
 * `cause` is given, stderr names it. */
static void cli_fails_cleanly(const char *tag, char *const *args, rlim_t limit, const char *cause)
{
    rel_run *r = rel_spawn(args, limit, 0, 300, "OPENBLAS_NUM_THREADS=1");
    cr_assert_eq(r->status, 1, "%s: exit %d, stderr: %s", tag, r->status, r->err);
    if (cause)
        cr_assert_not_null(strstr(r->err, cause), "%s: the cause is named: %s", tag, r->err);
    free(r);
}

Test(atomic_file, cli_zoo_output_past_limit_keeps_old_file)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "zoo");
    snprintf(path, sizeof path, "%s/m.sushi", dir);
    size_t n;
    char *old = old_bytes(&n);
    rel_write(path, old, n);
    char *args[] = { (char *)cli(), "zoo", "ofa-mbv3-w1.0", "-o", path, NULL };
    cli_fails_cleanly("zoo -o", args, (rlim_t)n, "File too large");
    assert_same_file(path, old, n);
    assert_loads(path);
    cr_assert_eq(rel_count_entries(dir), 1, "no temporary left");
    free(old);
    rel_rmdir(dir);
}

Test(atomic_file, cli_trace_gen_past_limit_keeps_old_file)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "tgen");
    snprintf(path, sizeof path, "%s/t.csv", dir);
    const char *old = "t_s,min_accuracy,slo_s\n0,0.5,0.01\n";
    rel_write(path, old, strlen(old));
    char *args[] = { (char *)cli(), "trace", "gen", "-o", path, "--queries", "5000", NULL };
    cli_fails_cleanly("trace gen -o", args, 4096, NULL);
    assert_same_file(path, old, strlen(old));
    cr_assert_eq(rel_count_entries(dir), 1, "no temporary left");
    rel_rmdir(dir);
}

Test(atomic_file, cli_serve_timeline_past_limit_keeps_old_file)
{
    char dir[64], path[128];
    rel_mkdtemp(dir, sizeof dir, "tl");
    snprintf(path, sizeof path, "%s/tl.csv", dir);
    const char *old = "policy,query\nnone,0\n";
    rel_write(path, old, strlen(old));
    char *args[] = { (char *)cli(), "serve", "builtin:ofa-mbv3-w1.0", "--backend", "cycle", "--gen",
                     "seed=1,queries=2000", "--timeline", path, NULL };
    cli_fails_cleanly("serve --timeline", args, 8192, "File too large");
    assert_same_file(path, old, strlen(old));
    cr_assert_eq(rel_count_entries(dir), 1, "no temporary left");
    rel_rmdir(dir);
}
