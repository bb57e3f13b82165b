/* Shared helpers of tests/reliability: files, directories, a child process
 * under resource limits with a deadline. */
#ifndef SUSHI_TEST_REL_HARNESS_H
#define SUSHI_TEST_REL_HARNESS_H

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline char *rel_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *d = malloc((size_t)len + 1);
    cr_assert_not_null(d);
    cr_assert_eq(fread(d, 1, (size_t)len, f), (size_t)len);
    d[len] = '\0';
    fclose(f);
    if (n)
        *n = (size_t)len;
    return d;
}

static inline void rel_write(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(d, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* Number of directory entries other than . and .. */
static inline int rel_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Remove the files of dir, then dir. */
static inline void rel_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static inline void rel_mkdtemp(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/sushi-rel-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(buf));
}

typedef struct rel_run {
    int status;   /* exit code, 128 + signal, or -1 when killed at the deadline */
    char out[16384];
    char err[16384];
} rel_run;

static inline void rel_read_fd(int fd, char *buf, size_t n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    size_t len = end > 0 ? (size_t)end : 0;
    if (len >= n)
        len = n - 1;
    ssize_t r = pread(fd, buf, len, 0);
    buf[r > 0 ? r : 0] = '\0';
}

/* Run argv (argv[0] a path) with stdin from /dev/null; before exec:
 * RLIMIT_FSIZE = fsize (0: unchanged; SIGXFSZ ignored so a write fails with
 * EFBIG), RLIMIT_AS = as_bytes (0: unchanged). Killed after `deadline_s`
 * seconds (status -1). env_extra: "NAME=VALUE" or NULL. */
static inline rel_run *rel_spawn(char *const argv[], rlim_t fsize, rlim_t as_bytes, int deadline_s,
                                 const char *env_extra)
{
    rel_run *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    char po[] = "/tmp/sushi-rel-out-XXXXXX", pe[] = "/tmp/sushi-rel-err-XXXXXX";
    int out = mkstemp(po), err = mkstemp(pe);
    cr_assert(out >= 0 && err >= 0);
    unlink(po);
    unlink(pe);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        if (env_extra)
            putenv((char *)env_extra);
        if (fsize) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = { fsize, fsize };
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        if (as_bytes) {
            struct rlimit rl = { as_bytes, as_bytes };
            setrlimit(RLIMIT_AS, &rl);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        cr_assert(w >= 0);
        if (w == pid) {
            r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= deadline_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            r->status = -1;
            break;
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    rel_read_fd(out, r->out, sizeof r->out);
    rel_read_fd(err, r->err, sizeof r->err);
    close(out);
    close(err);
    return r;
}

#endif
