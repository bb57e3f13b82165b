/* `sushi`: command-line front end of libsushi. Dispatches to the subcommand
 * table (commands.c); see docs/cli.md. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_usage(FILE *f)
{
    fputs("usage: sushi [--check-finite] <command> [options] [args]\n"
          "       sushi --help | --version\n"
          "\n"
          "commands:\n",
          f);
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fputs("\n"
          "FILE arguments are .sushi files or builtin:NAME (a built-in SuperNet,\n"
          "e.g. builtin:ofa-resnet50). --check-finite (before the command) makes every\n"
          "file load refuse NaN/Inf weights (SUSHI_LOAD_CHECK_FINITE), naming the tensor.\n"
          "Run 'sushi <command> --help' for a command's\n"
          "options. Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

#ifdef SUSHI_CLI_HAVE_CPU
/* OpenBLAS starts its worker threads when the library loads, before main, and
 * each worker maps a 128 MiB work buffer; under an address-space limit
 * (ulimit -v) that mapping fails and OpenBLAS retries it forever, so the
 * process hangs (at 100 % CPU, or at exit joining the worker). When the limit
 * leaves less than 512 MiB per OpenBLAS thread, restart this program once
 * with OPENBLAS_NUM_THREADS lowered to what fits (at least 1): exec ends the
 * spinning workers, and the cpu backend then checks the calling thread's
 * buffer before its first GEMM and reports "out of memory" if it does not fit
 * (docs/reliability.md, "Memory limits"). */
/* Threads OpenBLAS started at load: OPENBLAS_NUM_THREADS (or GOTO_ /
 * OMP_NUM_THREADS), else one per online core (libsushi sets OpenBLAS to one
 * thread only later, when a cpu backend is created: docs/cpu.md "Threads"). */
static int blas_threads_at_load(void)
{
    const char *names[] = { "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS" };
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        if (v && atoi(v) > 0)
            return atoi(v);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void fit_blas_threads_to_limit(char **argv)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || getenv("SUSHI_CLI_BLAS_REEXEC"))
        return;
    int threads = blas_threads_at_load();
    unsigned long long fit = (unsigned long long)rl.rlim_cur / (512ull << 20);
    if (fit < 1)
        fit = 1;
    if (threads <= 1 || fit >= (unsigned long long)threads)
        return;
    char v[24];
    snprintf(v, sizeof v, "%llu", fit);
    if (setenv("OPENBLAS_NUM_THREADS", v, 1) != 0 || setenv("SUSHI_CLI_BLAS_REEXEC", v, 1) != 0)
        return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the threads we have */
}
#endif

/* Output is buffered: a write error (a full disk, /dev/full, a closed pipe
 * reader) may only show when stdout is flushed or closed. Check that for
 * every command, so a run whose output was lost never exits 0; one error
 * line, and none when the command already reported a failure. */
static int finish(int ex)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int why = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = true;
        why = errno;
    }
    if (bad && ex == CLI_EXIT_OK)
        return cli_fail_msg("write stdout", why ? strerror(why) : "write error");
    return ex;
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
#ifdef SUSHI_CLI_HAVE_CPU
    fit_blas_threads_to_limit(argv);
#endif
    /* Past a file-size limit (ulimit -f) a write then fails with EFBIG instead
     * of killing the process: the atomic writers remove their temporary, keep
     * the old file and name the cause (docs/reliability.md, "Writing files"). */
    signal(SIGXFSZ, SIG_IGN);
    return finish(dispatch(argc, argv));
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        return cli_usage_error("sushi", "missing command");
    }
    /* global options, before the command */
    while (argc > 1 && strcmp(argv[1], "--check-finite") == 0) {
        cli_load_flags |= SUSHI_LOAD_CHECK_FINITE;
        argc--, argv++;
    }
    if (argc < 2)
        return cli_usage_error("sushi", "missing command");
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            /* `sushi help CMD` == `sushi CMD --help` */
            for (const cli_command *c = cli_commands; c->name; c++) {
                if (strcmp(c->name, argv[2]) == 0) {
                    char *sub[] = { argv[2], (char *)"--help", NULL };
                    return c->run(2, sub);
                }
            }
            return cli_usage_error("sushi", "unknown command '%s'", argv[2]);
        }
        print_usage(stdout);
        return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("sushi %s (libsushi %s)\n", SUSHI_VERSION_STRING, sushi_version_string());
        return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
    }
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_usage_error("sushi", "unknown option '%s'", name);
    return cli_usage_error("sushi", "unknown command '%s'", name);
}
