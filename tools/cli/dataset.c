/* Dataset readers of the `sushi` CLI (dataset.h): IDX (gzip or plain), NumPy
 * .npy, and a folder of PNG images with a labels CSV. */
#include "dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#ifdef SUSHI_CLI_HAVE_PNG
#include <png.h>
#endif

#include <sushi/sushi.h>

#include "atomic_file.h"

#define DS_MAX_ITEMS 10000000u
#define DS_MAX_SIDE 4096u
#define DS_MAX_CHANNELS 4u
#define DS_MAX_BYTES ((size_t)8 << 30)

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void *fail_null(char *err, size_t errsz, const char *path, const char *msg)
{
    snprintf(err, errsz, "%s: %s", path, msg);
    return NULL;
}

/* ---------- IDX files (gzip or plain: gzread reads both) ---------- */

typedef struct idx_data {
    uint8_t *data;
    uint32_t dims;
    uint32_t d[4]; /* sizes; d[0] = items */
} idx_data;

/* Read an IDX file of unsigned bytes whose dimension count is in [min_dims,
 * max_dims]. On failure writes a message to err and returns false. */
static bool idx_read(const char *path, uint32_t min_dims, uint32_t max_dims, idx_data *out, char *err, size_t errsz)
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
    unsigned char hdr[4 + 4 * 4];
    int got = gzread(f, hdr, 4);
    if (got < 0) {
        int ze;
        snprintf(err, errsz, "%s: %s", path, gzerror(f, &ze));
        gzclose(f);
        return false;
    }
    if (got < 4 || hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] < min_dims || hdr[3] > max_dims) {
        if (got < 4)
            snprintf(err, errsz, "%s: truncated IDX header (%d of 4 bytes)", path, got);
        else if (min_dims == max_dims)
            snprintf(err, errsz, "%s: not an IDX file of unsigned bytes with %u dimension(s) (magic %02x %02x %02x %02x, "
                     "expected 00 00 08 %02x)", path, min_dims, hdr[0], hdr[1], hdr[2], hdr[3], min_dims);
        else
            snprintf(err, errsz, "%s: not an IDX file of unsigned bytes with %u to %u dimensions (magic %02x %02x %02x "
                     "%02x, expected 00 00 08 %02x..%02x)", path, min_dims, max_dims, hdr[0], hdr[1], hdr[2], hdr[3],
                     min_dims, max_dims);
        gzclose(f);
        return false;
    }
    out->dims = hdr[3];
    size_t hlen = 4 * (size_t)out->dims;
    got = gzread(f, hdr + 4, (unsigned)hlen);
    if (got < 0 || (size_t)got < hlen) {
        snprintf(err, errsz, "%s: truncated IDX header (%d of %zu size bytes)", path, got < 0 ? 0 : got, hlen);
        gzclose(f);
        return false;
    }
    size_t total = 1;
    for (uint32_t i = 0; i < out->dims; i++) {
        out->d[i] = be32(hdr + 4 + 4 * i);
        uint32_t lim = i == 0 ? DS_MAX_ITEMS : i == 3 ? DS_MAX_CHANNELS : DS_MAX_SIDE;
        if (out->d[i] == 0 || out->d[i] > lim) {
            snprintf(err, errsz, "%s: implausible IDX dimension %u of size %u (1..%u)", path, i, out->d[i], lim);
            gzclose(f);
            return false;
        }
        total *= out->d[i];
    }
    if (total > DS_MAX_BYTES) {
        snprintf(err, errsz, "%s: %zu data bytes is too large", path, total);
        gzclose(f);
        return false;
    }
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

static bool idx_images(const char *path, uint32_t channels, cli_dataset *d, char *err, size_t errsz)
{
    idx_data im;
    if (!idx_read(path, 3, 4, &im, err, errsz))
        return false;
    uint32_t c = im.dims == 4 ? im.d[3] : 1;
    if (channels && c != channels) {
        snprintf(err, errsz, "%s: images have %u channel(s), the SuperNet takes %u", path, c, channels);
        free(im.data);
        return false;
    }
    d->px = im.data;
    d->n = im.d[0], d->h = im.d[1], d->w = im.d[2], d->c = c;
    return true;
}

/* ---------- NumPy .npy ---------- */

typedef struct npy_data {
    unsigned char *data; /* the whole file */
    size_t off;          /* first data byte */
    char kind;           /* 'u', 'i', 'f' */
    uint32_t itemsize;
    bool big_endian;
    uint32_t ndim;
    uint64_t shape[4];
} npy_data;

static bool read_file(const char *path, unsigned char **buf, size_t *len, char *err, size_t errsz)
{
    int oe = 0;
    FILE *f = sushi_fopen_regular(path, &oe); /* a FIFO is refused, not waited on */
    if (!f) {
        snprintf(err, errsz, "%s: %s", path, sushi_open_strerror(oe));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > DS_MAX_BYTES * 4) {
        snprintf(err, errsz, "%s: not a regular file of a plausible size", path);
        fclose(f);
        return false;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len + 1);
    if (!*buf) {
        snprintf(err, errsz, "%s: out of memory", path);
        fclose(f);
        return false;
    }
    if (fread(*buf, 1, *len, f) != *len) {
        snprintf(err, errsz, "%s: read error", path);
        free(*buf);
        *buf = NULL;
        fclose(f);
        return false;
    }
    (*buf)[*len] = 0;
    fclose(f);
    return true;
}

/* Value text of key `key` in the header dict (points after the colon). */
static const char *npy_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static bool npy_read(const char *path, npy_data *o, char *err, size_t errsz)
{
    memset(o, 0, sizeof *o);
    size_t len;
    if (!read_file(path, &o->data, &len, err, errsz))
        return false;
    const unsigned char *b = o->data;
    size_t hl, ho;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        snprintf(err, errsz, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
        goto bad;
    }
    if (b[6] == 1) {
        hl = (size_t)b[8] | (size_t)b[9] << 8;
        ho = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (len < 12) {
            snprintf(err, errsz, "%s: truncated .npy header", path);
            goto bad;
        }
        hl = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        ho = 12;
    } else {
        snprintf(err, errsz, "%s: .npy format version %u.%u is not supported (1, 2 or 3)", path, b[6], b[7]);
        goto bad;
    }
    if (hl > 65536 || ho + hl > len) {
        snprintf(err, errsz, "%s: truncated .npy header (%zu bytes announced)", path, hl);
        goto bad;
    }
    char h[65537];
    memcpy(h, b + ho, hl);
    h[hl] = 0;
    o->off = ho + hl;
    const char *descr = npy_key(h, "descr"), *fo = npy_key(h, "fortran_order"), *sh = npy_key(h, "shape");
    if (!descr || !fo || !sh) {
        snprintf(err, errsz, "%s: .npy header lacks descr, fortran_order or shape", path);
        goto bad;
    }
    if (strncmp(fo, "False", 5) != 0) {
        snprintf(err, errsz, "%s: Fortran-ordered array; save it C-contiguous (np.ascontiguousarray)", path);
        goto bad;
    }
    /* descr: '<f4', '|u1', ... */
    if (descr[0] != '\'' || !descr[1] || !descr[2] || !isdigit((unsigned char)descr[3])) {
        snprintf(err, errsz, "%s: structured or unusual dtype %.20s: only plain numbers are read", path, descr);
        goto bad;
    }
    char endian = descr[1];
    o->kind = descr[2];
    o->itemsize = (uint32_t)strtoul(descr + 3, NULL, 10);
    o->big_endian = endian == '>' && o->itemsize > 1;
    if ((o->kind != 'u' && o->kind != 'i' && o->kind != 'f' && o->kind != 'b') ||
        (o->itemsize != 1 && o->itemsize != 2 && o->itemsize != 4 && o->itemsize != 8)) {
        snprintf(err, errsz, "%s: dtype %.8s is not a plain integer or float type", path, descr);
        goto bad;
    }
    if (*sh != '(') {
        snprintf(err, errsz, "%s: bad shape in .npy header", path);
        goto bad;
    }
    const char *p = sh + 1;
    uint64_t count = 1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == ')')
            break;
        if (!isdigit((unsigned char)*p) || o->ndim == 4) {
            snprintf(err, errsz, "%s: .npy shape %.40s: expected 1 to 4 dimensions", path, sh);
            goto bad;
        }
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (v > DS_MAX_BYTES) {
            snprintf(err, errsz, "%s: .npy dimension %llu is too large", path, v);
            goto bad;
        }
        o->shape[o->ndim++] = v;
        count *= v;
        if (count > DS_MAX_BYTES) {
            snprintf(err, errsz, "%s: .npy array too large", path);
            goto bad;
        }
        p = end;
    }
    if (o->ndim == 0) {
        snprintf(err, errsz, "%s: .npy holds a scalar, expected an array", path);
        goto bad;
    }
    if (len - o->off != count * o->itemsize) {
        snprintf(err, errsz, "%s: %zu data bytes, shape and dtype need %llu", path, len - o->off,
                 (unsigned long long)(count * o->itemsize));
        goto bad;
    }
    return true;
bad:
    free(o->data);
    o->data = NULL;
    return false;
}

static void shape_text(const npy_data *o, char *t, size_t n)
{
    size_t k = (size_t)snprintf(t, n, "(");
    for (uint32_t i = 0; i < o->ndim && k < n; i++)
        k += (size_t)snprintf(t + k, n - k, "%s%llu", i ? ", " : "", (unsigned long long)o->shape[i]);
    if (k < n)
        snprintf(t + k, n - k, ")");
}

static uint64_t npy_uint(const npy_data *o, size_t i, bool *neg)
{
    const unsigned char *p = o->data + o->off + i * o->itemsize;
    unsigned char le[8];
    for (uint32_t k = 0; k < o->itemsize; k++)
        le[k] = o->big_endian ? p[o->itemsize - 1 - k] : p[k];
    uint64_t v = 0;
    for (uint32_t k = 0; k < o->itemsize; k++)
        v |= (uint64_t)le[k] << (8 * k);
    *neg = false;
    if (o->kind == 'i' && (le[o->itemsize - 1] & 0x80))
        *neg = true;
    return v;
}

static bool npy_images(const char *path, const char *layout, uint32_t channels, cli_dataset *d, char *err,
                       size_t errsz)
{
    npy_data o;
    if (!npy_read(path, &o, err, errsz))
        return false;
    char shp[96];
    shape_text(&o, shp, sizeof shp);
    bool u8 = o.kind == 'u' && o.itemsize == 1, f32 = o.kind == 'f' && o.itemsize == 4;
    if (!u8 && !f32) {
        snprintf(err, errsz, "%s: dtype %c%u: images must be uint8 (pixels 0..255) or float32 (pixels in [0, 1])",
                 path, o.kind, o.itemsize * 8);
        free(o.data);
        return false;
    }
    uint64_t n = o.shape[0], c = 1, h, w;
    bool nhwc = false;
    if (o.ndim == 3) {
        h = o.shape[1], w = o.shape[2];
        if (layout) {
            snprintf(err, errsz, "%s: shape %s has no channel axis; --layout is for 4-D arrays", path, shp);
            free(o.data);
            return false;
        }
    } else if (o.ndim == 4) {
        bool c1 = o.shape[1] == channels, c3 = o.shape[3] == channels;
        if (layout && strcmp(layout, "nhwc") == 0)
            nhwc = true;
        else if (layout && strcmp(layout, "nchw") == 0)
            nhwc = false;
        else if (c1 != c3)
            nhwc = c3;
        if (layout ? !(nhwc ? c3 : c1) : !c1 && !c3) {
            if (layout)
                snprintf(err, errsz, "%s: shape %s as %s has %llu channel(s), the SuperNet takes %u", path, shp,
                         layout, (unsigned long long)o.shape[nhwc ? 3 : 1], channels);
            else
                snprintf(err, errsz, "%s: shape %s has no axis of %u channel(s) (axis 1 for NCHW, axis 3 for NHWC) "
                         "as the SuperNet takes", path, shp, channels);
            free(o.data);
            return false;
        }
        c = channels;
        h = nhwc ? o.shape[1] : o.shape[2];
        w = nhwc ? o.shape[2] : o.shape[3];
    } else {
        snprintf(err, errsz, "%s: shape %s: images must be (n, h, w), (n, c, h, w) or (n, h, w, c)", path, shp);
        free(o.data);
        return false;
    }
    if (o.ndim == 3 && channels != 1) {
        snprintf(err, errsz, "%s: shape %s is one-channel images, the SuperNet takes %u channels", path, shp, channels);
        free(o.data);
        return false;
    }
    if (n == 0 || n > DS_MAX_ITEMS || h == 0 || h > DS_MAX_SIDE || w == 0 || w > DS_MAX_SIDE) {
        snprintf(err, errsz, "%s: implausible image array shape %s", path, shp);
        free(o.data);
        return false;
    }
    size_t per = (size_t)c * h * w, total = (size_t)n * per;
    d->n = (uint32_t)n, d->c = (uint32_t)c, d->h = (uint32_t)h, d->w = (uint32_t)w;
    const unsigned char *src = o.data + o.off;
    if (u8) {
        d->px = malloc(total);
        if (!d->px) {
            free(o.data);
            return fail_null(err, errsz, path, "out of memory"), false;
        }
        /* stored HWC: NCHW is transposed */
        for (size_t i = 0; i < n; i++)
            for (size_t y = 0; y < h * w; y++)
                for (size_t k = 0; k < c; k++)
                    d->px[i * per + y * c + k] = nhwc || c == 1 ? src[i * per + y * c + k] : src[i * per + k * h * w + y];
    } else {
        d->fx = malloc(total * sizeof(float));
        if (!d->fx) {
            free(o.data);
            return fail_null(err, errsz, path, "out of memory"), false;
        }
        for (size_t i = 0; i < n; i++)
            for (size_t y = 0; y < h * w; y++)
                for (size_t k = 0; k < c; k++) {
                    size_t from = nhwc ? i * per + y * c + k : i * per + k * h * w + y;
                    unsigned char b4[4];
                    for (int q = 0; q < 4; q++)
                        b4[q] = o.big_endian ? src[from * 4 + 3 - q] : src[from * 4 + q];
                    uint32_t bits = (uint32_t)b4[0] | (uint32_t)b4[1] << 8 | (uint32_t)b4[2] << 16 |
                                    (uint32_t)b4[3] << 24;
                    float v;
                    memcpy(&v, &bits, 4);
                    if (!(v >= 0.0f && v <= 1.0f)) {
                        snprintf(err, errsz, "%s: image %zu has value %g: float32 images hold pixels scaled to "
                                 "[0, 1] (the file's mean/std are applied by sushi)", path, i, (double)v);
                        free(o.data);
                        cli_dataset_free(d);
                        return false;
                    }
                    d->fx[i * per + k * h * w + y] = v;
                }
    }
    free(o.data);
    return true;
}

static bool npy_labels(const char *path, uint32_t **y, uint32_t *n, char *err, size_t errsz)
{
    npy_data o;
    if (!npy_read(path, &o, err, errsz))
        return false;
    char shp[96];
    shape_text(&o, shp, sizeof shp);
    if (o.kind != 'u' && o.kind != 'i') {
        snprintf(err, errsz, "%s: dtype %c%u: labels must be integers", path, o.kind, o.itemsize * 8);
        free(o.data);
        return false;
    }
    if (o.ndim != 1 || o.shape[0] == 0 || o.shape[0] > DS_MAX_ITEMS) {
        snprintf(err, errsz, "%s: shape %s: labels must be one non-empty vector (n,)", path, shp);
        free(o.data);
        return false;
    }
    *n = (uint32_t)o.shape[0];
    *y = malloc(*n * sizeof **y);
    if (!*y) {
        free(o.data);
        return fail_null(err, errsz, path, "out of memory"), false;
    }
    for (uint32_t i = 0; i < *n; i++) {
        bool neg;
        uint64_t v = npy_uint(&o, i, &neg);
        if (neg || v > UINT32_MAX) {
            snprintf(err, errsz, "%s: label of item %u is not a class index", path, i);
            free(o.data), free(*y);
            *y = NULL;
            return false;
        }
        (*y)[i] = (uint32_t)v;
    }
    free(o.data);
    return true;
}

static bool idx_labels(const char *path, uint32_t **y, uint32_t *n, char *err, size_t errsz)
{
    idx_data lb;
    if (!idx_read(path, 1, 1, &lb, err, errsz))
        return false;
    *n = lb.d[0];
    *y = malloc(*n * sizeof **y);
    if (!*y) {
        free(lb.data);
        return fail_null(err, errsz, path, "out of memory"), false;
    }
    for (uint32_t i = 0; i < *n; i++)
        (*y)[i] = lb.data[i];
    free(lb.data);
    return true;
}

/* ---------- PNG folder + labels CSV ---------- */

typedef struct name_list {
    char **name;
    uint32_t *label;
    uint32_t n, cap;
} name_list;

static void names_free(name_list *l)
{
    for (uint32_t i = 0; i < l->n; i++)
        free(l->name[i]);
    free(l->name), free(l->label);
    memset(l, 0, sizeof *l);
}

static bool names_add(name_list *l, const char *name, size_t len, uint32_t label)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 256;
        char **nn = realloc(l->name, cap * sizeof *nn);
        if (!nn)
            return false;
        l->name = nn;
        uint32_t *nl = realloc(l->label, cap * sizeof *nl);
        if (!nl)
            return false;
        l->label = nl;
        l->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s)
        return false;
    memcpy(s, name, len);
    s[len] = 0;
    l->name[l->n] = s;
    l->label[l->n++] = label;
    return true;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = 0;
        s++;
    }
    return s;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcasecmp(s + n - k, suf) == 0;
}

/* CSV rows `file,label`; the first line may be a header (its label field is
 * not a number). */
static bool csv_labels(const char *path, name_list *l, char *err, size_t errsz)
{
    unsigned char *buf;
    size_t len;
    if (!read_file(path, &buf, &len, err, errsz))
        return false;
    char *save = NULL;
    uint32_t line = 0;
    for (char *row = strtok_r((char *)buf, "\n", &save); row; row = strtok_r(NULL, "\n", &save)) {
        line++;
        char *comma = strrchr(row, ',');
        char *t = trim(row);
        if (!*t)
            continue;
        if (!comma) {
            snprintf(err, errsz, "%s:%u: expected `file,label`", path, line);
            goto bad;
        }
        *comma = 0;
        char *file = trim(row), *lab = trim(comma + 1);
        char *end;
        errno = 0;
        unsigned long v = strtoul(lab, &end, 10);
        if (!isdigit((unsigned char)lab[0]) || *end || errno || v > UINT32_MAX) {
            if (line == 1 && l->n == 0)
                continue; /* header */
            snprintf(err, errsz, "%s:%u: label '%.40s' is not a class index", path, line, lab);
            goto bad;
        }
        if (!*file || file[0] == '/' || strcmp(file, "..") == 0 || strncmp(file, "../", 3) == 0 ||
            strstr(file, "/../") || ends_with(file, "/..")) {
            snprintf(err, errsz, "%s:%u: '%.80s' is not a relative path inside the image folder", path, line, file);
            goto bad;
        }
        if (l->n >= DS_MAX_ITEMS || !names_add(l, file, strlen(file), (uint32_t)v)) {
            snprintf(err, errsz, "%s: out of memory or too many rows", path);
            goto bad;
        }
    }
    free(buf);
    if (l->n == 0) {
        snprintf(err, errsz, "%s: no `file,label` rows", path);
        return false;
    }
    return true;
bad:
    free(buf);
    names_free(l);
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool dir_pngs(const char *dir, name_list *l, char *err, size_t errsz)
{
    DIR *D = opendir(dir);
    if (!D) {
        snprintf(err, errsz, "%s: %s", dir, strerror(errno));
        return false;
    }
    struct dirent *e;
    while ((e = readdir(D))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcasecmp(e->d_name + n - 4, ".png") == 0)
            if (!names_add(l, e->d_name, n, 0)) {
                closedir(D);
                names_free(l);
                snprintf(err, errsz, "%s: out of memory", dir);
                return false;
            }
    }
    closedir(D);
    if (l->n == 0) {
        snprintf(err, errsz, "%s: no *.png files", dir);
        return false;
    }
    qsort(l->name, l->n, sizeof *l->name, cmp_str);
    return true;
}

static bool png_folder(const char *dir, const char *labels, uint32_t channels, cli_dataset *d, char *err,
                       size_t errsz)
{
#ifndef SUSHI_CLI_HAVE_PNG
    (void)labels, (void)channels, (void)d;
    snprintf(err, errsz, "%s: PNG folders need libpng (this sushi was built without it)", dir);
    return false;
#else
    name_list l = { 0 };
    if (labels ? !csv_labels(labels, &l, err, errsz) : !dir_pngs(dir, &l, err, errsz))
        return false;
    size_t per = 0;
    char path[4096];
    for (uint32_t i = 0; i < l.n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, l.name[i]);
        png_image pi;
        memset(&pi, 0, sizeof pi);
        pi.version = PNG_IMAGE_VERSION;
        if (!png_image_begin_read_from_file(&pi, path)) {
            snprintf(err, errsz, "%s: unreadable PNG: %s", path, pi.message);
            goto bad;
        }
        uint32_t ch = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
        if (ch != channels) {
            snprintf(err, errsz, "%s: %s image, the SuperNet takes %u channel(s)", path, ch == 3 ? "colour" : "grey",
                     channels);
            png_image_free(&pi);
            goto bad;
        }
        if (i == 0) {
            if (pi.width == 0 || pi.height == 0 || pi.width > DS_MAX_SIDE || pi.height > DS_MAX_SIDE) {
                snprintf(err, errsz, "%s: implausible size %u x %u", path, pi.width, pi.height);
                png_image_free(&pi);
                goto bad;
            }
            d->h = pi.height, d->w = pi.width, d->c = ch, d->n = l.n;
            per = (size_t)d->h * d->w * ch;
            d->px = malloc(per * l.n);
            if (!d->px) {
                png_image_free(&pi);
                snprintf(err, errsz, "%s: out of memory", dir);
                goto bad;
            }
        } else if (pi.width != d->w || pi.height != d->h) {
            snprintf(err, errsz, "%s: %u x %u pixels, the first image is %u x %u: all images must have one size",
                     path, pi.width, pi.height, d->w, d->h);
            png_image_free(&pi);
            goto bad;
        }
        pi.format = ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
        if (!png_image_finish_read(&pi, NULL, d->px + per * i, 0, NULL)) {
            snprintf(err, errsz, "%s: unreadable PNG: %s", path, pi.message);
            png_image_free(&pi);
            goto bad;
        }
    }
    if (labels) {
        d->y = malloc(l.n * sizeof *d->y);
        if (!d->y) {
            snprintf(err, errsz, "%s: out of memory", labels);
            goto bad;
        }
        memcpy(d->y, l.label, l.n * sizeof *d->y);
    }
    names_free(&l);
    return true;
bad:
    names_free(&l);
    cli_dataset_free(d);
    return false;
#endif
}

/* ---------- entry points ---------- */

bool cli_dataset_open(const char *images, const char *labels, const char *layout, uint32_t channels,
                      uint32_t classes, cli_dataset *d, char *err, size_t errsz)
{
    memset(d, 0, sizeof *d);
    if (layout && strcmp(layout, "nchw") != 0 && strcmp(layout, "nhwc") != 0) {
        snprintf(err, errsz, "--layout %s: expected nchw or nhwc", layout);
        return false;
    }
    struct stat st;
    bool folder = stat(images, &st) == 0 && S_ISDIR(st.st_mode);
    bool ok;
    if (folder) {
        snprintf(d->form, sizeof d->form, "png");
        ok = png_folder(images, labels, channels, d, err, errsz);
        labels = NULL; /* read with the folder */
    } else if (ends_with(images, ".npy")) {
        snprintf(d->form, sizeof d->form, "npy");
        ok = npy_images(images, layout, channels, d, err, errsz);
    } else {
        snprintf(d->form, sizeof d->form, "idx");
        ok = idx_images(images, channels, d, err, errsz);
    }
    if (ok && layout && strcmp(d->form, "npy") != 0) {
        snprintf(err, errsz, "--layout is for .npy images; %s is %s", images, folder ? "a PNG folder" : "IDX");
        ok = false;
    }
    if (!ok) {
        cli_dataset_free(d);
        return false;
    }
    if (labels) {
        uint32_t n = 0;
        ok = ends_with(labels, ".npy") ? npy_labels(labels, &d->y, &n, err, errsz)
                                       : idx_labels(labels, &d->y, &n, err, errsz);
        if (ok && n != d->n) {
            snprintf(err, errsz, "%s has %u labels but %s has %u images", labels, n, images, d->n);
            ok = false;
        }
        if (!ok) {
            cli_dataset_free(d);
            return false;
        }
    }
    if (d->y && classes)
        for (uint32_t i = 0; i < d->n; i++)
            if (d->y[i] >= classes) {
                snprintf(err, errsz, "%s: label %u of item %u is not a class 0..%u of the SuperNet",
                         labels ? labels : images, d->y[i], i, classes - 1);
                cli_dataset_free(d);
                return false;
            }
    d->r = d->h == d->w && d->c == 1 ? d->h : 0;
    return true;
}

bool cli_dataset_load(const char *dir, const char *prefix, bool labels, cli_dataset *d, char *err, size_t errsz)
{
    char ip[1024], lp[1024];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (!cli_dataset_open(ip, labels ? lp : NULL, NULL, 1, 10, d, err, errsz))
        return false;
    if (d->h != d->w) {
        snprintf(err, errsz, "%s: images are %u x %u, expected square", ip, d->h, d->w);
        cli_dataset_free(d);
        return false;
    }
    return true;
}

bool cli_dataset_pick(const cli_dataset_args *a, const char *split, bool labels, uint32_t channels, uint32_t classes,
                      cli_dataset *d, char *name, size_t namesz, char *err, size_t errsz)
{
    memset(d, 0, sizeof *d);
    if (a->dataset) {
        if (channels != 1 || classes != 10) {
            snprintf(err, errsz, "the SuperNet takes %u channel(s) and has %u classes; fashion-mnist needs 1 and 10",
                     channels, classes);
            return false;
        }
        if (!cli_dataset_load(a->dir ? a->dir : CLI_FMNIST_DIR, split, labels, d, err, errsz)) {
            char *why = strdup(err);
            snprintf(err, errsz, "fashion-mnist: %s", why ? why : "cannot read");
            free(why);
            return false;
        }
        snprintf(name, namesz, "fashion-mnist/%s", strcmp(split, "t10k") == 0 ? "test" : split);
        return true;
    }
    if (labels && !a->labels) {
        snprintf(err, errsz, "%s: --labels is needed to measure accuracy", a->images);
        return false;
    }
    if (!cli_dataset_open(a->images, labels ? a->labels : NULL, a->layout, channels, classes, d, err, errsz))
        return false;
    if (a->name) {
        snprintf(name, namesz, "%s", a->name);
    } else {
        const char *b = a->images;
        size_t n = strlen(b);
        while (n > 1 && b[n - 1] == '/')
            n--;
        size_t k = n;
        while (k > 0 && b[k - 1] != '/')
            k--;
        snprintf(name, namesz, "%.*s", (int)(n - k), b + k);
    }
    return true;
}

void cli_dataset_free(cli_dataset *d)
{
    free(d->px);
    free(d->fx);
    free(d->y);
    memset(d, 0, sizeof *d);
}

int cli_dataset_input(const sushi_supernet *sn, const cli_dataset *d, uint32_t i, uint32_t r, float *out, size_t cap)
{
    size_t hw = (size_t)d->h * d->w, per = hw * d->c;
    if (i >= d->n)
        return SUSHI_ERR_RANGE;
    if (d->px)
        return sushi_input_from_u8(sn, d->px + (size_t)i * per, d->h, d->w, d->c, r, out, cap);
    /* float pixels in [0, 1]: normalise at source size, then resize (the
     * order of sushi_input_from_u8, so equal pixels give equal tensors) */
    float mean[DS_MAX_CHANNELS], sd[DS_MAX_CHANNELS];
    int nc = sushi_supernet_input_norm(sn, mean, sd, DS_MAX_CHANNELS);
    if (nc < 0)
        return nc;
    if ((uint32_t)nc != d->c || !d->fx)
        return SUSHI_ERR_INVALID;
    if (!r) {
        sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
        sushi_supernet_get_info(sn, &si);
        r = si.default_resolution;
    }
    if ((size_t)d->c * r * r > cap)
        return SUSHI_ERR_TRUNCATED;
    const float *src = d->fx + (size_t)i * per;
    bool same = d->h == r && d->w == r;
    float *t = same ? out : malloc(per * sizeof *t);
    if (!t)
        return SUSHI_ERR_NOMEM;
    for (uint32_t c = 0; c < d->c; c++)
        for (size_t j = 0; j < hw; j++)
            t[c * hw + j] = (src[c * hw + j] - mean[c]) / sd[c];
    int rc = SUSHI_OK;
    if (!same) {
        rc = sushi_input_resize(t, d->c, d->h, d->w, out, r, r);
        free(t);
    }
    return rc;
}

float *cli_dataset_inputs(const sushi_supernet *sn, const cli_dataset *d, uint32_t first, uint32_t n, uint32_t r,
                          int *rc)
{
    size_t per = (size_t)d->c * r * r;
    float *x = malloc((n ? n : 1) * per * sizeof(float));
    if (!x) {
        *rc = SUSHI_ERR_NOMEM;
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        *rc = cli_dataset_input(sn, d, first + i, r, x + (size_t)i * per, per);
        if (*rc) {
            free(x);
            return NULL;
        }
    }
    *rc = SUSHI_OK;
    return x;
}
