/* Atomic replacement of a file: temporary in the same directory, fsync,
 * rename, fsync of the directory. Contract and limits: atomic_file.h. */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

static int copy_path(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= SUSHI_ATOMIC_PATH_MAX)
        return ENAMETOOLONG;
    memcpy(dst, src, n + 1);
    return 0;
}

static void reset(sushi_atomic_file *af)
{
    af->fd = -1;
    af->fp = NULL;
    af->direct = false;
    af->failed = false;
    af->err = 0;
    af->target[0] = '\0';
    af->tmp[0] = '\0';
}

int sushi_atomic_open(sushi_atomic_file *af, const char *path)
{
    if (!af)
        return EINVAL;
    reset(af);
    if (!path || !*path)
        return ENOENT;
    int rc = copy_path(af->target, path);
    if (rc)
        return rc;
    struct stat st;
    bool exists = false;
    mode_t keep_mode = 0;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            /* replace the file the link points to, keep the link */
            char *real = realpath(path, NULL);
            if (!real)
                return errno;
            rc = copy_path(af->target, real);
            free(real);
            if (rc)
                return rc;
            if (stat(af->target, &st) != 0)
                return errno;
        }
        exists = true;
        if (S_ISDIR(st.st_mode))
            return EISDIR;
        if (!S_ISREG(st.st_mode)) {
            /* a device or a FIFO: nothing to protect, nothing to rename over */
            int fd = open(af->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
            if (fd < 0)
                return errno;
            af->fd = fd;
            af->direct = true;
            return 0;
        }
        keep_mode = st.st_mode & 0777;
    } else if (errno != ENOENT) {
        return errno;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add(&tmp_counter, 1u);
        int len = snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld.%u", af->target, (long)getpid(), n);
        if (len < 0 || (size_t)len >= sizeof af->tmp) {
            af->tmp[0] = '\0';
            return ENAMETOOLONG;
        }
        int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (fd < 0) {
            int e = errno;
            if (e == EEXIST)
                continue;
            af->tmp[0] = '\0';
            return e;
        }
        af->fd = fd;
        if (exists && fchmod(fd, keep_mode) != 0) {
            int e = errno;
            sushi_atomic_abort(af);
            return e;
        }
        return 0;
    }
    af->tmp[0] = '\0';
    return EEXIST;
}

static void fail(sushi_atomic_file *af, int e)
{
    if (!af->failed) {
        af->failed = true;
        af->err = e ? e : EIO;
    }
}

static int raw_write(sushi_atomic_file *af, const void *buf, size_t n)
{
    if (af->failed)
        return af->err;
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(af->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fail(af, w < 0 ? errno : EIO);
            return af->err;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int sushi_atomic_write(sushi_atomic_file *af, const void *buf, size_t n)
{
    if (!af || af->fd < 0)
        return EBADF;
    if (af->fp && fflush(af->fp) != 0) /* keep the byte order of mixed use */
        return af->err ? af->err : EIO;
    return raw_write(af, buf, n);
}

/* The stream writes through raw_write, so the errno of a failed write (ENOSPC,
 * EFBIG, ...) is kept in af->err instead of being lost in stdio's buffer. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    sushi_atomic_file *af = cookie;
    int e = raw_write(af, buf, n);
    if (e) {
        errno = e;
        return -1;
    }
    return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
    (void)cookie; /* the descriptor is closed by close_file */
    return 0;
}

FILE *sushi_atomic_stream(sushi_atomic_file *af)
{
    if (!af || af->fd < 0) {
        errno = EBADF;
        return NULL;
    }
    if (!af->fp) {
        cookie_io_functions_t io = {.read = NULL, .write = cookie_write, .seek = NULL, .close = cookie_close};
        af->fp = fopencookie(af, "w", io);
        if (!af->fp)
            fail(af, errno);
    }
    return af->fp;
}

/* Close af's descriptor (and its stream if any); 0 or the first errno. */
static int close_file(sushi_atomic_file *af)
{
    int e = 0;
    if (af->fp) {
        if (fflush(af->fp) != 0 || ferror(af->fp))
            e = af->err ? af->err : EIO;
        fclose(af->fp); /* cookie_close: the descriptor stays open */
        af->fp = NULL;
    }
    if (!e && af->failed)
        e = af->err;
    if (!e && fsync(af->fd) != 0) {
        /* devices and FIFOs cannot be synced: that is not an error */
        if (!(af->direct && (errno == EINVAL || errno == EROFS || errno == ENOTSUP)))
            e = errno;
    }
    if (close(af->fd) != 0 && !e)
        e = errno;
    af->fd = -1;
    return e;
}

static int sync_dir(const char *target)
{
    char dir[SUSHI_ATOMIC_PATH_MAX];
    const char *slash = strrchr(target, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == target) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - target);
        memcpy(dir, target, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
        e = errno;
    close(fd);
    return e;
}

int sushi_atomic_commit(sushi_atomic_file *af)
{
    if (!af || af->fd < 0)
        return EBADF;
    int e = close_file(af);
    if (!e && af->failed)
        e = af->err;
    if (af->direct) {
        af->direct = false;
        return e;
    }
    if (e) {
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return e;
    }
    if (rename(af->tmp, af->target) != 0) {
        e = errno;
        unlink(af->tmp);
        af->tmp[0] = '\0';
        return e;
    }
    af->tmp[0] = '\0';
    return sync_dir(af->target);
}

void sushi_atomic_abort(sushi_atomic_file *af)
{
    if (!af)
        return;
    if (af->fp)
        fclose(af->fp);
    if (af->fd >= 0)
        close(af->fd);
    af->fp = NULL;
    af->fd = -1;
    if (af->tmp[0])
        unlink(af->tmp);
    af->tmp[0] = '\0';
    af->direct = false;
}

int sushi_atomic_write_file(const char *path, const void *buf, size_t n)
{
    sushi_atomic_file af;
    int e = sushi_atomic_open(&af, path);
    if (e)
        return e;
    e = sushi_atomic_write(&af, buf, n);
    if (e) {
        sushi_atomic_abort(&af);
        return e;
    }
    return sushi_atomic_commit(&af);
}

int sushi_open_regular(const char *path, int *fd_out, unsigned long long *size_out)
{
    *fd_out = -1;
    if (!path || !*path)
        return ENOENT;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return SUSHI_OPEN_NOT_REGULAR;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (size_out)
        *size_out = (unsigned long long)st.st_size;
    *fd_out = fd;
    return 0;
}

const char *sushi_open_strerror(int e)
{
    return e == SUSHI_OPEN_NOT_REGULAR ? "not a regular file" : strerror(e);
}

FILE *sushi_fopen_regular(const char *path, int *e_out)
{
    int fd;
    int e = sushi_open_regular(path, &fd, NULL);
    if (!e) {
        FILE *f = fdopen(fd, "rb");
        if (f) {
            *e_out = 0;
            return f;
        }
        e = errno;
        close(fd);
    }
    *e_out = e;
    return NULL;
}
