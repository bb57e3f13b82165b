/*
 * classify: classify one Fashion-MNIST image on the cpu backend, serving the
 * most accurate SubNet that meets a latency SLO.
 *
 *   classify MODEL.sushi [INDEX [SLO_MS [DATASET_DIR]]]
 *
 * MODEL is a Fashion-MNIST SuperNet file (1 x 28 x 28 input, 10 classes),
 * such as the one shipped in models/. INDEX picks an image of the test set
 * (default 0), SLO_MS is the latency objective in milliseconds (default 5),
 * DATASET_DIR holds the IDX files (default /usr/share/datasets/fashion-mnist,
 * Debian's dataset-fashion-mnist; gzip-compressed files are read through
 * `gzip -dc`).
 *
 * Steps: load the SuperNet; create a cpu backend; run the smallest candidate
 * once so the backend measures this machine's speed; ask the backend for
 * each candidate's predicted latency and pick the most accurate one within
 * the SLO (if none fits: the fastest, and the miss is reported); normalise
 * the image; run; print the top classes and the measured latency.
 */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sushi/sushi.h>

static const char *const CLASSES[10] = { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };

/* Input normalisation the shipped model was trained with: x = (pixel/255 - mean) / std.
 * (The file stores it too, but sushi_supernet_info does not expose it yet.) */

/* ------------------------------------------------- reading the IDX files */

/* Open `dir/name`, or `dir/name.gz` through gzip. *piped tells how to close it. */
static FILE *open_idx(const char *dir, const char *name, int *piped)
{
    char path[1024], cmd[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    *piped = 0;
    if (f)
        return f;
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    if (strchr(path, '\'') || !(f = fopen(path, "rb")))
        return NULL;
    fclose(f);
    snprintf(cmd, sizeof cmd, "gzip -dc '%s'", path);
    *piped = 1;
    return popen(cmd, "r");
}

static void close_idx(FILE *f, int piped)
{
    if (piped)
        pclose(f);
    else
        fclose(f);
}

static int read_u32be(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4)
        return -1;
    *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 0;
}

/* Skip n bytes of a (possibly piped, so unseekable) stream. */
static int skip(FILE *f, uint64_t n)
{
    char buf[4096];
    while (n > 0) {
        size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
        if (fread(buf, 1, k, f) != k)
            return -1;
        n -= k;
    }
    return 0;
}

/* Read test image `index` (28 x 28 bytes) and its label. */
static int read_image(const char *dir, uint32_t index, unsigned char img[28 * 28], int *label)
{
    int piped, rc = -1;
    uint32_t magic, n, rows, cols;
    FILE *f = open_idx(dir, "t10k-images-idx3-ubyte", &piped);
    if (!f)
        return -1;
    if (!read_u32be(f, &magic) && magic == 0x803 && !read_u32be(f, &n) && !read_u32be(f, &rows) &&
        !read_u32be(f, &cols) && rows == 28 && cols == 28 && index < n &&
        !skip(f, (uint64_t)index * 28 * 28) && fread(img, 1, 28 * 28, f) == 28 * 28)
        rc = 0;
    close_idx(f, piped);
    if (rc)
        return rc;
    unsigned char l;
    f = open_idx(dir, "t10k-labels-idx1-ubyte", &piped);
    if (!f)
        return -1;
    rc = -1;
    if (!read_u32be(f, &magic) && magic == 0x801 && !read_u32be(f, &n) && index < n &&
        !skip(f, index) && fread(&l, 1, 1, f) == 1 && l < 10) {
        *label = l;
        rc = 0;
    }
    close_idx(f, piped);
    return rc;
}

/* ----------------------------------------------- choosing under the SLO */

static int fail(const char *what, int rc)
{
    fprintf(stderr, "classify: %s: %s (%s)\n", what, sushi_status_name(rc), sushi_status_str(rc));
    return 1;
}

/* Resolve candidate i. */
static int candidate_subnet(const sushi_supernet *sn, size_t i, sushi_subnet **out)
{
    sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
    int rc = sushi_supernet_candidate(sn, i, &c);
    return rc ? rc : sushi_subnet_create(sn, &c.config, out);
}

/* Run SubNet s on image img; logits has num_classes floats. */
static int run(sushi_backend *b, const sushi_subnet *s, const unsigned char *img, float *logits,
               size_t n_classes, sushi_cost *cost)
{
    /* The SubNet's input resolution may be below 28 (elastic resolution): the library
     * normalises with the file's mean/std and resizes exactly as the model was trained. */
    uint32_t r = sushi_subnet_config(s)->resolution;
    float *x = malloc((size_t)r * r * sizeof *x);
    if (!x)
        return SUSHI_ERR_NOMEM;
    int rc = sushi_input_from_u8(sushi_subnet_supernet(s), img, 28, 28, 1, r, x, (size_t)r * r);
    if (rc) {
        free(x);
        return rc;
    }
    sushi_run_args args = SUSHI_RUN_ARGS_INIT;
    args.input = x;
    args.input_len = (size_t)r * r; /* one channel */
    args.output = logits;
    args.output_len = n_classes;
    rc = sushi_backend_run(b, s, &args, cost);
    free(x);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: classify MODEL.sushi [INDEX [SLO_MS [DATASET_DIR]]]\n");
        return 2;
    }
    const char *model = argv[1];
    uint32_t index = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    double slo_s = (argc > 3 ? strtod(argv[3], NULL) : 5.0) * 1e-3;
    const char *dir = argc > 4 ? argv[4] : "/usr/share/datasets/fashion-mnist";

    unsigned char img[28 * 28];
    int label = -1;
    if (read_image(dir, index, img, &label)) {
        fprintf(stderr, "classify: cannot read test image %u from %s\n", (unsigned)index, dir);
        return 1;
    }
    printf("image %u: label %d (%s)\n", (unsigned)index, label, CLASSES[label]);

    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_subnet *s = NULL;
    int status = 1;
    char err[256] = "";
    sushi_load_options opts = SUSHI_LOAD_OPTIONS_INIT;
    opts.errbuf = err;
    opts.errbuf_size = sizeof err;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return fail("context", rc);
    rc = sushi_supernet_load_file(ctx, model, &opts, &sn);
    if (rc) {
        fprintf(stderr, "classify: %s: %s: %s\n", model, sushi_status_name(rc), err);
        goto out;
    }
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);
    if (info.in_channels != 1 || info.num_classes != 10 || info.n_candidates == 0) {
        fprintf(stderr, "classify: %s is not a Fashion-MNIST SuperNet with candidates\n", model);
        goto out;
    }
    printf("SuperNet %s: %u candidates%s\n", info.name, info.n_candidates,
           info.synthetic ? " (SYNTHETIC weights)" : "");
    rc = sushi_backend_create(sn, "cpu", &b);
    if (rc) {
        fail("cpu backend", rc);
        goto out;
    }

    float logits[10];
    sushi_cost cost = SUSHI_COST_INIT;
    /* Warm-up: one run lets the backend measure this machine's speed, which
     * its latency predictions then use. Use the cheapest candidate. */
    size_t cheapest = 0;
    uint64_t best_macs = UINT64_MAX;
    for (size_t i = 0; i < info.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        if (sushi_supernet_candidate(sn, i, &c) == SUSHI_OK && c.macs < best_macs) {
            best_macs = c.macs;
            cheapest = i;
        }
    }
    if ((rc = candidate_subnet(sn, cheapest, &s)) ||
        (rc = run(b, s, img, logits, 10, &cost))) {
        fail("warm-up", rc);
        goto out;
    }
    sushi_subnet_destroy(s);
    s = NULL;

    /* The most accurate candidate whose predicted latency meets the SLO;
     * fallback when none does: the fastest. */
    long pick = -1, fastest = -1;
    double pick_acc = -1.0, pick_lat = 0.0, fastest_lat = INFINITY;
    for (size_t i = 0; i < info.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        sushi_subnet *t = NULL;
        sushi_cost pc = SUSHI_COST_INIT;
        if ((rc = sushi_supernet_candidate(sn, i, &c)) || (rc = sushi_subnet_create(sn, &c.config, &t)) ||
            (rc = sushi_backend_cost(b, t, NULL, &pc))) {
            sushi_subnet_destroy(t);
            fail("cost", rc);
            goto out;
        }
        sushi_subnet_destroy(t);
        double acc = isnan(c.accuracy) ? 0.0 : c.accuracy;
        if (pc.latency_s < fastest_lat) {
            fastest_lat = pc.latency_s;
            fastest = (long)i;
        }
        if (pc.latency_s <= slo_s && acc > pick_acc) {
            pick_acc = acc;
            pick = (long)i;
            pick_lat = pc.latency_s;
        }
    }
    int met_prediction = pick >= 0;
    if (!met_prediction) {
        pick = fastest;
        pick_lat = fastest_lat;
    }
    if ((rc = candidate_subnet(sn, (size_t)pick, &s))) {
        fail("subnet", rc);
        goto out;
    }
    sushi_candidate_info chosen = SUSHI_CANDIDATE_INFO_INIT;
    sushi_supernet_candidate(sn, (size_t)pick, &chosen);
    char text[512];
    sushi_config_print(&chosen.config, text, sizeof text);
    char acc[32] = "-";
    if (!isnan(chosen.accuracy))
        snprintf(acc, sizeof acc, "%.2f%%", 100.0 * chosen.accuracy);
    printf("SLO %.3f ms: candidate #%ld %s, accuracy %s (%s), predicted %.3f ms%s\n", slo_s * 1e3,
           pick, text, acc, chosen.accuracy_source, pick_lat * 1e3,
           met_prediction ? "" : " -- no candidate meets the SLO: serving the fastest");

    if ((rc = run(b, s, img, logits, 10, &cost))) {
        fail("run", rc);
        goto out;
    }
    /* softmax and the top three classes */
    float mx = logits[0], sum = 0.0f, prob[10];
    for (int k = 1; k < 10; k++)
        mx = logits[k] > mx ? logits[k] : mx;
    for (int k = 0; k < 10; k++)
        sum += prob[k] = expf(logits[k] - mx);
    int order[10];
    for (int k = 0; k < 10; k++)
        order[k] = k;
    for (int a = 0; a < 3; a++)
        for (int k = a + 1; k < 10; k++)
            if (prob[order[k]] > prob[order[a]]) {
                int t = order[a];
                order[a] = order[k];
                order[k] = t;
            }
    printf("predicted: %d (%s)  %s\n", order[0], CLASSES[order[0]],
           order[0] == label ? "correct" : "wrong");
    for (int a = 0; a < 3; a++)
        printf("  %-12s %6.2f%%\n", CLASSES[order[a]], 100.0f * prob[order[a]] / sum);
    printf("measured latency %.3f ms: SLO %s\n", cost.latency_s * 1e3,
           cost.latency_s <= slo_s ? "met" : "missed");
    status = 0;
out:
    sushi_subnet_destroy(s);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return status;
}
