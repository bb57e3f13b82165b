/* Shared harness of the CLI tests: run the built `sushi` binary (path in
 * $SUSHI_CLI), capture its output, parse --json, ask the library the same
 * question. Included by test_cli.c, test_cli_run_cost.c and test_cli_serve.c. */
#ifndef SUSHI_TEST_CLI_HARNESS_H
#define SUSHI_TEST_CLI_HARNESS_H

#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sushi/sushi.h"

/* ---------- running the binary ---------- */

typedef struct run_result {
    int status; /* exit code, or 128 + signal */
    char *out;
    char *err;
} run_result;

static char *slurp_fd(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    cr_assert(end >= 0);
    char *buf = malloc((size_t)end + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(pread(fd, buf, (size_t)end, 0), end);
    buf[end] = '\0';
    return buf;
}

static int tmpfd(void)
{
    char path[] = "/tmp/sushi-cli-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    unlink(path);
    return fd;
}

/* Run sushi with the NULL-terminated argument list (without argv[0]). */
static run_result run_argv(const char *const *args)
{
    const char *exe = getenv("SUSHI_CLI");
    cr_assert_not_null(exe, "SUSHI_CLI must point at the sushi binary");
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)exe;
    for (; args[n - 1]; n++) {
        cr_assert(n < 63);
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    int out = tmpfd(), err = tmpfd();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        execv(exe, argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    run_result r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = slurp_fd(out);
    r.err = slurp_fd(err);
    close(out);
    close(err);
    return r;
}

#define RUN(...) run_argv((const char *const[]){ __VA_ARGS__, NULL })

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Successful run with --json: exactly one JSON object on stdout, nothing on stderr. */
static cJSON *json_ok(run_result *r)
{
    cr_assert_eq(r->status, 0, "exit %d, stderr: %s", r->status, r->err);
    cr_assert_str_empty(r->err, "stderr not empty: %s", r->err);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(r->out, &end, false);
    cr_assert_not_null(j, "stdout is not JSON: %.200s", r->out);
    cr_assert(cJSON_IsObject(j), "stdout is not a JSON object");
    while (end && (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r'))
        end++;
    cr_assert(end && *end == '\0', "trailing output after the JSON object: %.100s", end);
    return j;
}

/* Failed run: the exit code, nothing on stdout, one "sushi: " line on stderr. */
static void expect_error(run_result *r, int code)
{
    cr_assert_eq(r->status, code, "exit %d (want %d), stderr: %s", r->status, code, r->err);
    cr_assert_str_empty(r->out, "stdout not empty on error: %.200s", r->out);
    cr_assert_eq(count_lines(r->err), 1, "stderr must be one line: %s", r->err);
    cr_assert_eq(strncmp(r->err, "sushi: ", 7), 0, "stderr: %s", r->err);
    cr_assert_eq(r->err[strlen(r->err) - 1], '\n');
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "key '%s' missing or not a number", key);
    return v->valuedouble;
}

static inline const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "key '%s' missing or not a string", key);
    return v->valuestring;
}

static inline bool boolean(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsBool(v), "key '%s' missing or not a bool", key);
    return cJSON_IsTrue(v);
}

static inline const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert_not_null(v, "key '%s' missing", key);
    return v;
}

/* ---------- library side ---------- */

static inline sushi_supernet *builtin(const char *name)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn;
    cr_assert_eq(sushi_supernet_builtin(ctx, name, 0, &sn), SUSHI_OK);
    sushi_context_destroy(ctx);
    return sn;
}

static inline sushi_subnet *subnet(const sushi_supernet *sn, const char *cfg_text)
{
    sushi_config cfg = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_parse(sn, cfg_text, 0, &cfg, NULL, 0), SUSHI_OK);
    sushi_subnet *s;
    cr_assert_eq(sushi_subnet_create(sn, &cfg, &s), SUSHI_OK);
    return s;
}

static inline sushi_subnet_stats stats(const sushi_subnet *s)
{
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_OK);
    return st;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sushi-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Is backend `name` in this build? (static inline: not every test file uses it) */
static inline bool have_backend(const char *name)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    bool found = false;
    for (size_t i = 0; sushi_backend_name(ctx, i); i++)
        found |= strcmp(sushi_backend_name(ctx, i), name) == 0;
    sushi_context_destroy(ctx);
    return found;
}

static inline void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

#endif
