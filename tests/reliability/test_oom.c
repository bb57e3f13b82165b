/* Issue 15 item 2: `ulimit -v 150000; sushi run builtin:ofa-mbv3-w1.0 --config
 * max@224 --backend cpu` spun forever inside OpenBLAS's blas_memory_alloc. Now
 * it must end within a bound and say "out of memory" (exit 1). The binary is
 * an unsanitized `sushi` (SUSHI_PLAIN_CLI): RLIMIT_AS and ASan do not mix. */
#include "rel_harness.h"

static const char *plain(void)
{
    const char *p = getenv("SUSHI_PLAIN_CLI");
    cr_assert_not_null(p, "SUSHI_PLAIN_CLI must point at an unsanitized sushi binary");
    return p;
}

/* Runs under `limit_kib` KiB of address space; at most 120 s (a hang was
 * forever: the bound only has to tell finishing from not finishing). */
static void expect_oom(char *const *args, unsigned long limit_kib, const char *env)
{
    rel_run *r = rel_spawn(args, 0, (rlim_t)limit_kib * 1024, 120, env);
    cr_assert_neq(r->status, -1, "still running after 120 s under a %lu KiB limit (the OpenBLAS hang); env %s",
                  limit_kib, env ? env : "-");
    cr_assert_eq(r->status, 1, "exit %d under %lu KiB (env %s), stderr: %s", r->status, limit_kib, env ? env : "-",
                 r->err);
    cr_assert_not_null(strstr(r->err, "out of memory"), "stderr: %s", r->err);
    free(r);
}

Test(oom, run_under_address_space_limit_reports_out_of_memory, .timeout = 600)
{
    char *args[] = { (char *)plain(), "run", "builtin:ofa-mbv3-w1.0", "--config", "max@224", "--backend", "cpu",
                     NULL };
    /* the command with OpenBLAS's default threads (2 or more on the CI
     * machines: the workers' buffers do not fit either) */
    expect_oom(args, 150000, NULL);
    /* one OpenBLAS thread: only the calling thread's buffer is missing */
    expect_oom(args, 150000, "OPENBLAS_NUM_THREADS=1");
    /* several threads asked for explicitly */
    expect_oom(args, 150000, "OPENBLAS_NUM_THREADS=4");
}

Test(oom, serve_dataset_under_address_space_limit_reports_out_of_memory, .timeout = 600)
{
    const char *model = getenv("SUSHI_FMNIST_MODEL");
    cr_assert_not_null(model);
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", &st) != 0) {
        cr_skip_test("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        return;
    }
    char *args[] = { (char *)plain(), "serve", (char *)model, "--backend", "cpu", "--dataset", "fashion-mnist",
                     "--gen", "queries=50", NULL };
    expect_oom(args, 120000, NULL);
}

Test(oom, run_with_enough_address_space_still_works, .timeout = 600)
{
    /* the check must not refuse what fits: 1.5 GB is plenty for one thread */
    char *args[] = { (char *)plain(), "run", "builtin:ofa-mbv3-w1.0", "--config", "min@64", "--backend", "cpu", NULL };
    rel_run *r = rel_spawn(args, 0, (rlim_t)1536 << 20, 120, "OPENBLAS_NUM_THREADS=1");
    cr_assert_eq(r->status, 0, "exit %d, stderr: %s", r->status, r->err);
    free(r);
}
