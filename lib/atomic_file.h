/*
 * Atomic replacement of a file (internal; not installed).
 *
 * Every file the library or the `sushi` tool writes for a user (SuperNet files,
 * traces, timelines, eval/calibrate outputs) goes through this helper, so that a
 * failed write (full disk, quota, file-size limit, I/O error, crash) never
 * destroys the file that was there before (issue 15 item 1, docs/reliability.md
 * "Writing files"):
 *
 *   1. a temporary file `<target>.tmp.<pid>.<n>` is created in the target's
 *      directory with O_CREAT|O_EXCL and mode 0666 (the process umask applies,
 *      exactly as for a new file); when the target already exists as a regular
 *      file its permission bits (0777) are copied onto the temporary, so
 *      replacing a private 0600 file keeps it private;
 *   2. the caller writes (sushi_atomic_write, or stdio through sushi_atomic_stream);
 *   3. sushi_atomic_commit flushes, fsyncs and closes the temporary, renames it
 *      over the target and fsyncs the directory.
 *
 * On any failure before the rename the temporary is unlinked and the target is
 * untouched. A symlink target is resolved first (the file it points to is
 * replaced, the link stays). A target that exists but is not a regular file
 * or a directory (a character device such as /dev/null or /dev/stdout, a
 * FIFO) is written in place: there is no file to protect and no directory
 * entry to rename over. A directory is refused (EISDIR).
 *
 * Limits: a hard link to the old file keeps the old contents (rename makes a
 * new inode); the owner of a replaced file becomes the writing user; a process
 * killed between steps 1 and 3 leaves its `<target>.tmp.<pid>.<n>` behind
 * (the target is still intact).
 *
 * Self-contained (libc only): compiled into the library and, as its own copy,
 * into the `sushi` tool, which links only the public API. Functions return 0
 * or an errno value. Thread-safe on distinct sushi_atomic_file objects.
 */
#ifndef SUSHI_ATOMIC_FILE_H
#define SUSHI_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SUSHI_ATOMIC_PATH_MAX 4096

typedef struct sushi_atomic_file {
    int fd;      /* open temporary (or the target itself when direct); -1 when closed */
    FILE *fp;    /* stdio stream over fd, when sushi_atomic_stream was called */
    bool direct; /* target is a device or FIFO: written in place, no rename */
    bool failed; /* a write failed: commit refuses and discards */
    int err;     /* first errno seen by a write */
    char target[SUSHI_ATOMIC_PATH_MAX]; /* path being replaced (symlinks resolved) */
    char tmp[SUSHI_ATOMIC_PATH_MAX];    /* temporary path ("" when direct) */
} sushi_atomic_file;

/* Create the temporary next to `path`. Returns 0, or an errno value (nothing is
 * created; af->fd is -1). ENAMETOOLONG when a path exceeds SUSHI_ATOMIC_PATH_MAX. */
int sushi_atomic_open(sushi_atomic_file *af, const char *path);

/* Write all n bytes (retries EINTR and short writes). Returns 0 or an errno
 * value; after an error the file is marked failed and commit discards it. */
int sushi_atomic_write(sushi_atomic_file *af, const void *buf, size_t n);

/* A stdio stream ("w") over the temporary, owned by af (do not fclose it; af
 * must not move while it is open). Its writes go through sushi_atomic_write's
 * path, so the errno of a failed write (ENOSPC, EFBIG...) is what commit
 * returns. NULL with errno set on failure (af is then marked failed). */
FILE *sushi_atomic_stream(sushi_atomic_file *af);

/* Flush, fsync and close the temporary, rename it over the target, fsync the
 * directory. Returns 0, or an errno value: before the rename the temporary is
 * unlinked and the target untouched. The one error after the rename (the
 * directory fsync failed, other than EINVAL "not supported") is returned with
 * the new file already in place. af is closed in every case. */
int sushi_atomic_commit(sushi_atomic_file *af);

/* Discard: close and unlink the temporary. Safe after a failed open or a
 * commit (then does nothing). */
void sushi_atomic_abort(sushi_atomic_file *af);

/* Open, write `n` bytes, commit; on failure abort. Returns 0 or an errno value. */
int sushi_atomic_write_file(const char *path, const void *buf, size_t n);

/* ---------- reading ---------- */

/* sushi_open_regular's result for a path that exists but is not a regular file. */
#define SUSHI_OPEN_NOT_REGULAR (-1)

/* Open `path` read-only for reading a whole user file (issue 15 item 4): the
 * open is O_NONBLOCK, so a FIFO cannot block it, then fstat refuses anything
 * but a regular file (FIFO, device, directory, socket) before a byte is read;
 * O_NONBLOCK is then cleared. Returns 0 with the descriptor (O_CLOEXEC) in
 * *fd_out and, when size_out is not NULL, the size from fstat; an errno value;
 * or SUSHI_OPEN_NOT_REGULAR. *fd_out is -1 on failure. */
int sushi_open_regular(const char *path, int *fd_out, unsigned long long *size_out);

/* Message for a result of sushi_open_regular (strerror, or "not a regular file"). */
const char *sushi_open_strerror(int e);

/* fopen(path, "rb") through sushi_open_regular. NULL on failure with *e_out
 * set to its result (errno value or SUSHI_OPEN_NOT_REGULAR). */
FILE *sushi_fopen_regular(const char *path, int *e_out);

#endif
