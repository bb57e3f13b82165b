/* Fashion-MNIST IDX (gzip) reader of the `sushi` CLI (dataset.h). */
#include "dataset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <sushi/sushi.h>

#include "atomic_file.h"

#define IDX_MAX_ITEMS 1000000u

/* ---------- IDX files (gzip) ---------- */

typedef struct idx_data {
    uint8_t *data;
    uint32_t n, rows, cols; /* rows = cols = 1 for labels */
} idx_data;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read a gzip-compressed IDX file of unsigned bytes with 1 (labels) or 3
 * (images) dimensions. On failure writes a message to err and returns false. */
static bool idx_read(const char *path, int want_dims, idx_data *out, char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    int fd;
    int oe = sushi_open_regular(path, &fd, NULL); /* a FIFO is refused, not waited on */
    if (oe) {
        snprintf(err, errsz, "%s: %s", path, sushi_open_strerror(oe));
        return false;
    }
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        snprintf(err, errsz, "%s: %s", path, errno ? strerror(errno) : "cannot open");
        return false;
    }
    unsigned char hdr[16];
    size_t hlen = 4 + 4 * (size_t)want_dims;
    int got = gzread(f, hdr, (unsigned)hlen);
    if (got < 0) {
        int ze;
        snprintf(err, errsz, "%s: %s", path, gzerror(f, &ze));
        gzclose(f);
        return false;
    }
    if ((size_t)got < hlen) {
        snprintf(err, errsz, "%s: truncated IDX header (%d of %zu bytes)", path, got, hlen);
        gzclose(f);
        return false;
    }
    if (hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] != want_dims) {
        snprintf(err, errsz, "%s: not an IDX file of unsigned bytes with %d dimensions "
                 "(magic %02x %02x %02x %02x, expected 00 00 08 %02x)",
                 path, want_dims, hdr[0], hdr[1], hdr[2], hdr[3], want_dims);
        gzclose(f);
        return false;
    }
    out->n = be32(hdr + 4);
    out->rows = want_dims == 3 ? be32(hdr + 8) : 1;
    out->cols = want_dims == 3 ? be32(hdr + 12) : 1;
    if (out->n == 0 || out->n > IDX_MAX_ITEMS || out->rows == 0 || out->rows > 4096 ||
        out->cols == 0 || out->cols > 4096) {
        snprintf(err, errsz, "%s: implausible IDX dimensions %u x %u x %u", path, out->n, out->rows,
                 out->cols);
        gzclose(f);
        return false;
    }
    size_t total = (size_t)out->n * out->rows * out->cols;
    out->data = malloc(total);
    if (!out->data) {
        snprintf(err, errsz, "%s: out of memory", path);
        gzclose(f);
        return false;
    }
    size_t done = 0;
    while (done < total) {
        size_t chunk = total - done > (1u << 30) ? (1u << 30) : total - done;
        int r = gzread(f, out->data + done, (unsigned)chunk);
        if (r < 0) {
            int ze;
            snprintf(err, errsz, "%s: %s", path, gzerror(f, &ze));
            break;
        }
        if (r == 0) {
            snprintf(err, errsz, "%s: truncated: %zu of %zu data bytes", path, done, total);
            break;
        }
        done += (size_t)r;
    }
    if (done == total) {
        unsigned char extra;
        if (gzread(f, &extra, 1) > 0) {
            snprintf(err, errsz, "%s: trailing bytes after %zu data bytes", path, total);
            done = 0;
        }
    }
    gzclose(f);
    if (done != total) {
        free(out->data);
        out->data = NULL;
        return false;
    }
    return true;
}

bool cli_dataset_load(const char *dir, const char *prefix, bool labels, cli_dataset *d, char *err, size_t errsz)
{
    char ip[1024], lp[1024];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    idx_data im, lb = { 0 };
    memset(d, 0, sizeof *d);
    if (!idx_read(ip, 3, &im, err, errsz))
        return false;
    if (im.rows != im.cols) {
        snprintf(err, errsz, "%s: images are %u x %u, expected square", ip, im.rows, im.cols);
        free(im.data);
        return false;
    }
    if (labels) {
        if (!idx_read(lp, 1, &lb, err, errsz)) {
            free(im.data);
            return false;
        }
        if (lb.n != im.n) {
            snprintf(err, errsz, "%s has %u labels but %s has %u images", lp, lb.n, ip, im.n);
            free(im.data), free(lb.data);
            return false;
        }
        for (uint32_t i = 0; i < lb.n; i++)
            if (lb.data[i] > 9) {
                snprintf(err, errsz, "%s: label %u of item %u is not a class 0..9", lp, lb.data[i], i);
                free(im.data), free(lb.data);
                return false;
            }
    }
    d->px = im.data;
    d->y = lb.data;
    d->n = im.n;
    d->r = im.rows;
    return true;
}

void cli_dataset_free(cli_dataset *d)
{
    free(d->px);
    free(d->y);
    memset(d, 0, sizeof *d);
}

float *cli_dataset_inputs(const sushi_supernet *sn, const cli_dataset *d, uint32_t first, uint32_t n, uint32_t r,
                          int *rc)
{
    size_t per = (size_t)r * r;
    float *x = malloc((n ? n : 1) * per * sizeof(float));
    if (!x) {
        *rc = SUSHI_ERR_NOMEM;
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        *rc = sushi_input_from_u8(sn, d->px + (size_t)(first + i) * d->r * d->r, d->r, d->r, 1, r,
                                  x + (size_t)i * per, per);
        if (*rc) {
            free(x);
            return NULL;
        }
    }
    *rc = SUSHI_OK;
    return x;
}
