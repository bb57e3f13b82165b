/* int8 vs float32 top-1 agreement of a SuperNet file's candidates on
 * Fashion-MNIST (Debian dataset-fashion-mnist). Shared by
 * tests/cpu/test_int8_fmnist.c and bench/cpu/int8_agree.c; header-only
 * (static functions) so both stay single-file programs.
 *
 * Inputs are built with sushi_input_from_u8() at each candidate's own
 * resolution; calibration (sushi_cpu_calibrate_int8) uses the first
 * n_calib *training* images, agreement is measured on the first n_test
 * *test* images. Only the public API is used. */
#ifndef SUSHI_TESTS_CPU_FMNIST_AGREE_H
#define SUSHI_TESTS_CPU_FMNIST_AGREE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "sushi/sushi.h"

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

/* How a candidate is calibrated; a includer may substitute its own. */
#ifndef FMNIST_CALIBRATE
#define FMNIST_CALIBRATE(s, x, n, r, nr) sushi_cpu_calibrate_int8((s), (x), (n), (r), (nr))
#endif

typedef struct fmnist_split {
    uint8_t *px; /* n * rows * cols */
    uint8_t *y;  /* n labels */
    uint32_t n, rows, cols;
} fmnist_split;

static uint32_t fmnist_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads items [first, first + limit) (limit 0 = to the end) of a gzip IDX
 * file of bytes with `dims` (1 or 3) dimensions. Returns a malloc'd buffer or
 * NULL. */
static uint8_t *fmnist_idx(const char *path, int dims, uint32_t first, uint32_t limit, uint32_t *n, uint32_t *rows,
                           uint32_t *cols)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char h[16];
    int hl = 4 + 4 * dims;
    uint8_t *d = NULL;
    if (gzread(f, h, (unsigned)hl) == hl && h[0] == 0 && h[1] == 0 && h[2] == 8 && h[3] == dims) {
        *n = fmnist_be32(h + 4);
        *rows = dims == 3 ? fmnist_be32(h + 8) : 1;
        *cols = dims == 3 ? fmnist_be32(h + 12) : 1;
        *n = first < *n ? *n - first : 0;
        if (limit && limit < *n)
            *n = limit;
        size_t bytes = (size_t)*n * *rows * *cols;
        if (*n && *rows <= 4096 && *cols <= 4096 && (d = malloc(bytes)) &&
            (gzseek(f, (z_off_t)(hl + (size_t)first * *rows * *cols), SEEK_SET) < 0 ||
             gzread(f, d, (unsigned)bytes) != (int)bytes)) {
            free(d);
            d = NULL;
        }
    }
    gzclose(f);
    return d;
}

/* Items [first, first + limit) of split "train" or "t10k" (limit 0 = all).
 * Returns false when the files are missing or short. */
static bool fmnist_load(const char *dir, const char *split, uint32_t first, uint32_t limit, fmnist_split *s)
{
    char ip[1024], lp[1024];
    uint32_t ln, lr, lc;
    memset(s, 0, sizeof *s);
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    s->px = fmnist_idx(ip, 3, first, limit, &s->n, &s->rows, &s->cols);
    s->y = fmnist_idx(lp, 1, first, limit, &ln, &lr, &lc);
    if (!s->px || !s->y || ln != s->n) {
        free(s->px), free(s->y);
        memset(s, 0, sizeof *s);
        return false;
    }
    return true;
}

static void fmnist_free(fmnist_split *s)
{
    free(s->px), free(s->y);
    memset(s, 0, sizeof *s);
}

/* Float inputs of images [0, n) of sp at resolution r (CHW each). */
static float *fmnist_inputs(const sushi_supernet *sn, const fmnist_split *sp, uint32_t n, uint32_t r, size_t *in_len)
{
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &si);
    size_t len = (size_t)si.in_channels * r * r, px = (size_t)sp->rows * sp->cols * si.in_channels;
    float *x = malloc((n ? n : 1) * len * sizeof *x);
    if (!x)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        if (sushi_input_from_u8(sn, sp->px + i * px, sp->rows, sp->cols, si.in_channels, r, x + i * len, len)) {
            free(x);
            return NULL;
        }
    *in_len = len;
    return x;
}

typedef struct fmnist_agree {
    uint32_t n;          /* test images */
    uint32_t agree;      /* int8 top-1 == float32 top-1 */
    uint32_t f32_ok;     /* float32 top-1 == label */
    uint32_t q8_ok;      /* int8 top-1 == label */
    uint32_t resolution;
    double max_dlogit;   /* max over images of max |int8 - f32| / max |f32| */
} fmnist_agree;

static uint32_t fmnist_argmax(const float *v, uint32_t n)
{
    uint32_t b = 0;
    for (uint32_t k = 1; k < n; k++)
        if (v[k] > v[b])
            b = k;
    return b;
}

/* Agreement of candidate ci. Returns a sushi_status (SUSHI_ERR_NOMEM when a
 * buffer cannot be allocated). */
static int fmnist_agreement(const sushi_supernet *sn, uint32_t ci, const fmnist_split *calib, uint32_t n_calib,
                            const fmnist_split *test, uint32_t n_test, fmnist_agree *out)
{
    sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_subnet *s = NULL;
    sushi_backend *b = NULL;
    float *cx = NULL, *tx = NULL, *ranges = NULL, *lf = NULL, *lq = NULL;
    size_t len = 0, nr;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = sushi_supernet_get_info(sn, &si)) || (rc = sushi_supernet_candidate(sn, ci, &info)) ||
        (rc = sushi_subnet_create(sn, &info.config, &s)) || (rc = sushi_backend_create(sn, "cpu", &b)))
        goto done;
    out->resolution = info.config.resolution;
    nr = sushi_cpu_int8_ranges_len(s);
    rc = SUSHI_ERR_NOMEM;
    cx = fmnist_inputs(sn, calib, n_calib, info.config.resolution, &len);
    tx = fmnist_inputs(sn, test, n_test, info.config.resolution, &len);
    ranges = malloc(nr * sizeof *ranges);
    lf = malloc(si.num_classes * sizeof *lf);
    lq = malloc(si.num_classes * sizeof *lq);
    if (!cx || !tx || !ranges || !lf || !lq)
        goto done;
    if ((rc = FMNIST_CALIBRATE(s, cx, n_calib, ranges, nr)) || (rc = sushi_cpu_set_int8_ranges(b, s, ranges, nr)))
        goto done;
    for (uint32_t i = 0; i < n_test; i++) {
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = tx + (size_t)i * len, a.input_len = len, a.output_len = si.num_classes;
        a.output = lf;
        if ((rc = sushi_backend_run(b, s, &a, NULL)))
            goto done;
        a.output = lq, a.int8 = true;
        if ((rc = sushi_backend_run(b, s, &a, NULL)))
            goto done;
        uint32_t pf = fmnist_argmax(lf, si.num_classes), pq = fmnist_argmax(lq, si.num_classes);
        double mx = 0, md = 0;
        for (uint32_t k = 0; k < si.num_classes; k++) {
            double d = lq[k] - lf[k];
            md = d < 0 ? (-d > md ? -d : md) : (d > md ? d : md);
            mx = lf[k] < 0 ? (-lf[k] > mx ? -lf[k] : mx) : (lf[k] > mx ? lf[k] : mx);
        }
        if (mx > 0 && md / mx > out->max_dlogit)
            out->max_dlogit = md / mx;
        out->agree += pf == pq;
        out->f32_ok += pf == test->y[i];
        out->q8_ok += pq == test->y[i];
        out->n++;
    }
    rc = SUSHI_OK;
done:
    free(cx), free(tx), free(ranges), free(lf), free(lq);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    return rc;
}

#endif
