/* Runner of the Criterion stand-in (see criterion/criterion.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>

#include <fnmatch.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct criterion_shim_test *tests;
static struct criterion_shim_suite *suites;
static jmp_buf test_exit;
static int expect_failed;

enum { RUN_PASS = 0, RUN_FAIL = 1, RUN_SKIP = 77 };

void criterion_shim_register(struct criterion_shim_test *t)
{
    t->next = tests;
    tests = t;
}

void criterion_shim_register_suite(struct criterion_shim_suite *s)
{
    s->next = suites;
    suites = s;
}

void criterion_shim_fail(int fatal, const char *file, int line, const char *what)
{
    fprintf(stderr, "[----] %s:%d: Assertion Failed: %s\n", file, line, what);
    expect_failed = 1;
    if (fatal)
        longjmp(test_exit, RUN_FAIL);
}

void criterion_shim_skip(const char *file, int line, const char *what)
{
    fprintf(stderr, "[----] %s:%d: %s\n", file, line, what);
    longjmp(test_exit, RUN_SKIP);
}

void criterion_shim_log(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const struct criterion_shim_suite *find_suite(const char *name)
{
    for (const struct criterion_shim_suite *s = suites; s; s = s->next)
        if (!strcmp(s->name, name))
            return s;
    return NULL;
}

/* In the child: suite init, test init, body, test fini, suite fini. */
static int run_child(const struct criterion_shim_test *t)
{
    const struct criterion_shim_suite *volatile s = find_suite(t->suite);
    volatile int rc = RUN_PASS;
    int j = setjmp(test_exit);
    if (j == 0) {
        if (s && s->extra.init)
            s->extra.init();
        if (t->extra.init)
            t->extra.init();
        t->fn();
    } else {
        rc = j;
    }
    if (setjmp(test_exit) == 0) {
        if (t->extra.fini)
            t->extra.fini();
        if (s && s->extra.fini)
            s->extra.fini();
    } else if (rc == RUN_PASS) {
        rc = RUN_FAIL;
    }
    fflush(NULL);
    if (rc == RUN_PASS && expect_failed)
        rc = RUN_FAIL;
    return rc;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strncmp(argv[i], "--filter=", 9))
            filter = argv[i] + 9;
        else if (!strcmp(argv[i], "--verbose") || !strncmp(argv[i], "-j", 2))
            continue;
        else {
            fprintf(stderr, "criterion shim: unknown option %s (supported: --filter GLOB)\n", argv[i]);
            return 2;
        }
    }
    /* registration order is reversed by the constructors: restore file order */
    struct criterion_shim_test *rev = NULL;
    while (tests) {
        struct criterion_shim_test *n = tests->next;
        tests->next = rev;
        rev = tests;
        tests = n;
    }
    tests = rev;
    unsigned tested = 0, passing = 0, failing = 0, crashing = 0, skipped = 0;
    for (const struct criterion_shim_test *t = tests; t; t = t->next) {
        char full[512];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, full, FNM_EXTMATCH) != 0)
            continue;
        const struct criterion_shim_suite *s = find_suite(t->suite);
        if (t->extra.disabled || (s && s->extra.disabled)) {
            skipped++;
            continue;
        }
        fflush(NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0)
            _exit(run_child(t));
        int st = 0;
        while (waitpid(pid, &st, 0) < 0)
            ;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* wall time per case: what to trim when a run outgrows the CI budget */
        fprintf(stderr, "[TIME] %s %.1f s\n", full,
                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        int want_sig = t->extra.signal, want_code = t->extra.exit_code;
        if (WIFEXITED(st) && WEXITSTATUS(st) == RUN_SKIP) {
            skipped++;
            fprintf(stderr, "[SKIP] %s\n", full);
            continue;
        }
        tested++;
        if (want_sig) {
            if (WIFSIGNALED(st) && WTERMSIG(st) == want_sig) {
                passing++;
            } else {
                failing++;
                fprintf(stderr, "[FAIL] %s: expected signal %d\n", full, want_sig);
            }
        } else if (WIFSIGNALED(st)) {
            crashing++;
            fprintf(stderr, "[----] %s: CRASH! (signal %d)\n[FAIL] %s\n", full, WTERMSIG(st), full);
        } else if (WEXITSTATUS(st) == (want_code ? want_code : RUN_PASS)) {
            passing++;
        } else {
            failing++;
            fprintf(stderr, "[FAIL] %s\n", full);
        }
    }
    fprintf(stderr, "[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: %u (shim; skipped %u)\n",
            tested, passing, failing, crashing, skipped);
    return failing || crashing ? 1 : 0;
}
