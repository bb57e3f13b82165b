/* Fashion-MNIST test/train images for the `sushi` CLI (eval, serve): gzip'ed
 * IDX files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, ...) as
 * the Debian package dataset-fashion-mnist installs them. Images stay raw
 * 8-bit pixels; callers build inputs with sushi_input_from_u8() at the
 * resolution of the SubNet that runs them. (examples/classify.c keeps its own
 * small reader: examples are standalone.) */
#ifndef SUSHI_CLI_DATASET_H
#define SUSHI_CLI_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default --data-dir. */
#define CLI_FMNIST_DIR "/usr/share/datasets/fashion-mnist"

/* The only dataset name the CLI knows. */
#define CLI_FMNIST_NAME "fashion-mnist"

/* One split: n square r x r 8-bit images (row-major, one channel) and, when
 * asked for, their labels 0..9. */
typedef struct cli_dataset {
    uint8_t *px; /* n * r * r */
    uint8_t *y;  /* n labels, or NULL */
    uint32_t n, r;
} cli_dataset;

/* Load split `prefix` ("t10k" or "train") from dir: DIR/PREFIX-images-idx3-ubyte.gz
 * and, when `labels`, DIR/PREFIX-labels-idx1-ubyte.gz. On failure writes one
 * line to err (naming the file) and returns false with *d zeroed. */
bool cli_dataset_load(const char *dir, const char *prefix, bool labels, cli_dataset *d, char *err, size_t errsz);

/* Input tensors of images [first, first + n) of d at resolution r, n * r * r
 * floats (malloc'ed; free()), built by sushi_input_from_u8() as the model was
 * trained. NULL with *rc set on failure (*rc = SUSHI_OK otherwise). */
struct sushi_supernet;
float *cli_dataset_inputs(const struct sushi_supernet *sn, const cli_dataset *d, uint32_t first, uint32_t n,
                          uint32_t r, int *rc);

/* Release (a zeroed dataset is fine). */
void cli_dataset_free(cli_dataset *d);

#endif
