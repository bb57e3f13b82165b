/* Image datasets of the `sushi` CLI (eval, calibrate, recalibrate, serve), in
 * the forms docs/cli.md "Datasets" describes:
 *   - Fashion-MNIST as the Debian package dataset-fashion-mnist installs it
 *     (cli_dataset_load: DIR/PREFIX-images-idx3-ubyte.gz, ...);
 *   - any IDX pair (cli_dataset_open): images `00 00 08 03` (n, h, w) or
 *     `00 00 08 04` (n, h, w, c; interleaved channels), labels `00 00 08 01`,
 *     gzip'ed or not;
 *   - NumPy .npy: images uint8 (pixels 0..255) or float32 (pixels scaled to
 *     [0, 1], as torchvision's ToTensor gives them), shape (n, h, w),
 *     (n, c, h, w) or (n, h, w, c); labels any integer dtype, shape (n,);
 *   - a folder of PNG images (libpng) with a labels CSV `file,label` (a header
 *     line is allowed), or, without labels, every *.png of the folder in name
 *     order.
 * Images stay as stored (8-bit HWC, or float CHW in [0, 1]); inputs are built
 * per SubNet resolution with the SuperNet's mean/std and bilinear resize
 * (include/sushi/input.h), so every form gives the same tensors for the same
 * pixels. (examples/classify.c keeps its own small reader: examples are
 * standalone.) */
#ifndef SUSHI_CLI_DATASET_H
#define SUSHI_CLI_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default --data-dir. */
#define CLI_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The dataset name `--dataset` knows. */
#define CLI_FMNIST_NAME "fashion-mnist"

/* n images of h x w x c. Exactly one of px / fx is set. For Fashion-MNIST
 * (and any square one-channel set) r == h == w, else r == 0. */
typedef struct cli_dataset {
    uint8_t *px;  /* n * h * w * c bytes, HWC, or NULL */
    float *fx;    /* n * c * h * w floats in [0, 1], CHW, or NULL */
    uint32_t *y;  /* n labels, or NULL */
    uint32_t n, r;
    uint32_t c, h, w;
    char form[16]; /* "idx", "npy", "png" */
} cli_dataset;

/* Load Fashion-MNIST split `prefix` ("t10k" or "train") from dir:
 * DIR/PREFIX-images-idx3-ubyte.gz and, when `labels`, DIR/PREFIX-labels-idx1-ubyte.gz.
 * On failure writes one line to err (naming the file) and returns false with *d zeroed. */
bool cli_dataset_load(const char *dir, const char *prefix, bool labels, cli_dataset *d, char *err, size_t errsz);

/* Open a dataset in any form (see the file comment), told apart by what
 * `images` is: a directory (PNG folder), a name ending in .npy, else IDX.
 * `labels` may be NULL (calibration). `channels` is the SuperNet's input
 * channel count and `classes` its class count: images must have that many
 * channels and labels must be 0..classes-1. `layout` is NULL (infer from the
 * shape), "nchw" or "nhwc" (4-D .npy only). On failure writes one line to err
 * (naming the file and what is wrong) and returns false with *d zeroed. */
bool cli_dataset_open(const char *images, const char *labels, const char *layout, uint32_t channels,
                      uint32_t classes, cli_dataset *d, char *err, size_t errsz);

/* Input tensor of image i of d at resolution r (c * r * r floats into out,
 * capacity cap) with the SuperNet's mean/std and resize. Returns a status. */
struct sushi_supernet;
int cli_dataset_input(const struct sushi_supernet *sn, const cli_dataset *d, uint32_t i, uint32_t r, float *out,
                      size_t cap);

/* Input tensors of images [first, first + n) of d at resolution r,
 * n * c * r * r floats (malloc'ed; free()). NULL with *rc set on failure
 * (*rc = SUSHI_OK otherwise). */
float *cli_dataset_inputs(const struct sushi_supernet *sn, const cli_dataset *d, uint32_t first, uint32_t n,
                          uint32_t r, int *rc);

/* Where a command's images come from: `--dataset fashion-mnist [--data-dir
 * DIR]` or `--images PATH [--labels PATH] [--layout L] [--name NAME]`. */
typedef struct cli_dataset_args {
    const char *dataset, *dir;                  /* fashion-mnist */
    const char *images, *labels, *layout, *name; /* any other */
} cli_dataset_args;

/* Open what a names: for fashion-mnist the split `split` ("t10k" or
 * "train"), else a->images (labels from a->labels when `labels`). Writes the
 * name recorded in the file (e.g. "fashion-mnist/test", or a->name, or the
 * images' base name) to name. On failure writes one line to err and returns
 * false with *d zeroed. */
bool cli_dataset_pick(const cli_dataset_args *a, const char *split, bool labels, uint32_t channels, uint32_t classes,
                      cli_dataset *d, char *name, size_t namesz, char *err, size_t errsz);

/* Release (a zeroed dataset is fine). */
void cli_dataset_free(cli_dataset *d);

#endif
