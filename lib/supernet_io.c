/* Public load/save entry points of sushi_supernet (include/sushi/supernet.h).
 * The format itself lives in format_read.c / format_write.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "format.h"

#define LOAD_FLAGS_KNOWN (SUSHI_LOAD_BORROW | SUSHI_LOAD_NO_VERIFY | SUSHI_LOAD_CHECK_FINITE)

/* Resolve options; *errbuf / *errsz point at the caller's buffer or a local one. */
static int load_opts(const sushi_load_options *opts, uint32_t *flags, char **errbuf, size_t *errsz)
{
    *flags = 0;
    if (!opts)
        return SUSHI_OK;
    if (opts->size < sizeof *opts)
        return SUSHI_ERR_ABI;
    if (opts->flags & ~(uint32_t)LOAD_FLAGS_KNOWN)
        return SUSHI_ERR_INVALID;
    *flags = opts->flags;
    if (opts->errbuf && opts->errbuf_size) {
        *errbuf = opts->errbuf;
        *errsz = opts->errbuf_size;
    }
    return SUSHI_OK;
}

static void report(sushi_context *ctx, const char *what, const char *msg)
{
    sushi_log(ctx, SUSHI_LOG_ERROR, "load %s: %s", what, msg);
}

int sushi_supernet_load_file(sushi_context *ctx, const char *path, const sushi_load_options *opts,
                             sushi_supernet **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    char local[256];
    char *err = local;
    size_t errsz = sizeof local;
    uint32_t flags;
    int rc = load_opts(opts, &flags, &err, &errsz);
    if (rc)
        return rc;
    err[0] = '\0';
    if (!ctx || !path) {
        sushi_errf(err, errsz, "invalid argument");
        return SUSHI_ERR_INVALID;
    }
    /* O_NONBLOCK + regular-file check before reading: a FIFO cannot block */
    int fd;
    unsigned long long fsize;
    int e = sushi_open_regular(path, &fd, &fsize);
    if (e) {
        sushi_errf(err, errsz, "%s: %s", path, sushi_open_strerror(e));
        report(ctx, path, err);
        return SUSHI_ERR_IO;
    }
    if (fsize == 0) {
        /* /proc and /sys files report size 0 but have content: not "empty" */
        char probe;
        bool has_bytes = read(fd, &probe, 1) == 1;
        close(fd);
        if (has_bytes) {
            sushi_errf(err, errsz, "%s: not a regular file with a size (it reports 0 bytes but has content, "
                                   "as files under /proc and /sys do)", path);
            report(ctx, path, err);
            return SUSHI_ERR_IO;
        }
        sushi_errf(err, errsz, "byte 0: truncated (empty file)");
        report(ctx, path, err);
        return SUSHI_ERR_FORMAT;
    }
    if (fsize > SIZE_MAX) {
        close(fd);
        sushi_errf(err, errsz, "%s: file too large to map", path);
        return SUSHI_ERR_OVERFLOW;
    }
    size_t size = (size_t)fsize;
    int mflags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    /* the checksum reads every byte anyway: prefault the whole file at once */
    if (!(flags & SUSHI_LOAD_NO_VERIFY))
        mflags |= MAP_POPULATE;
#endif
    void *map = mmap(NULL, size, PROT_READ, mflags, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) {
        sushi_errf(err, errsz, "%s: mmap: %s", path, strerror(map_errno));
        report(ctx, path, err);
        return SUSHI_ERR_IO;
    }
    sushi_supernet *sn = NULL;
    bool uses = false;
    rc = sushi_format_read_ex(ctx, map, size, true, flags, &sn, &uses, err, errsz);
    if (rc) {
        munmap(map, size);
        report(ctx, path, err);
        return rc;
    }
    if (uses) {
        sn->map = map;
        sn->map_size = size;
    } else {
        munmap(map, size); /* nothing points into the file (seed weights) */
    }
    sushi_context_mark_in_use(ctx);
    *out = sn;
    return SUSHI_OK;
}

int sushi_supernet_load_memory(sushi_context *ctx, const void *data, size_t size,
                               const sushi_load_options *opts, sushi_supernet **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    char local[256];
    char *err = local;
    size_t errsz = sizeof local;
    uint32_t flags;
    int rc = load_opts(opts, &flags, &err, &errsz);
    if (rc)
        return rc;
    err[0] = '\0';
    if (!ctx || (!data && size)) {
        sushi_errf(err, errsz, "invalid argument");
        return SUSHI_ERR_INVALID;
    }
    /* Without BORROW, tensors are copied out of the caller's buffer (one
     * block for all of them) and the buffer may go away after the call. */
    rc = sushi_format_read_ex(ctx, data, size, (flags & SUSHI_LOAD_BORROW) != 0, flags, out, NULL, err, errsz);
    if (rc) {
        report(ctx, "memory", err);
        return rc;
    }
    sushi_context_mark_in_use(ctx);
    return SUSHI_OK;
}

static int save_mode(const sushi_save_options *opts, int *mode)
{
    *mode = SUSHI_WEIGHTS_AUTO;
    if (!opts)
        return SUSHI_OK;
    if (opts->size < sizeof *opts)
        return SUSHI_ERR_ABI;
    *mode = opts->weights;
    return SUSHI_OK;
}

int sushi_supernet_save_memory(const sushi_supernet *sn, const sushi_save_options *opts, void **data_out,
                               size_t *size_out)
{
    if (data_out)
        *data_out = NULL;
    if (size_out)
        *size_out = 0;
    if (!sn || !data_out || !size_out)
        return SUSHI_ERR_INVALID;
    int mode;
    int rc = save_mode(opts, &mode);
    if (rc)
        return rc;
    uint8_t *buf;
    size_t size;
    rc = sushi_format_write(sn, mode, &buf, &size);
    if (rc)
        return rc;
    *data_out = buf;
    *size_out = size;
    return SUSHI_OK;
}

void sushi_supernet_free_buffer(const sushi_supernet *sn, void *data)
{
    if (sn && data)
        sushi_free(sn->ctx, data);
}

int sushi_supernet_save_file(const sushi_supernet *sn, const char *path, const sushi_save_options *opts)
{
    if (!sn || !path)
        return SUSHI_ERR_INVALID;
    int mode;
    int rc = save_mode(opts, &mode);
    if (rc)
        return rc;
    uint8_t *buf;
    size_t size;
    rc = sushi_format_write(sn, mode, &buf, &size);
    if (rc)
        return rc;
    /* temporary + fsync + rename: a failed save leaves the old file intact */
    int e = sushi_atomic_write_file(path, buf, size);
    sushi_free(sn->ctx, buf);
    if (e) {
        sushi_log(sn->ctx, SUSHI_LOG_ERROR, "save %s: %s", path, strerror(e));
        errno = e; /* documented: the cause of SUSHI_ERR_IO */
        return SUSHI_ERR_IO;
    }
    return SUSHI_OK;
}
