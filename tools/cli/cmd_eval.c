/* `sushi eval`: measure the top-1 accuracy of every candidate of a SuperNet on
 * a labelled dataset (Fashion-MNIST, or any IDX / .npy / PNG-folder set:
 * dataset.h) with the C library, and write the accuracies into the candidate
 * table (sushi_supernet_with_accuracies).
 * `sushi calibrate`: the same candidate loop, calibrating each candidate's
 * int8 activation ranges on images and storing them in the table
 * (sushi_supernet_with_int8_ranges). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"

static const char eval_help[] =
    "usage: sushi eval FILE --dataset fashion-mnist [--backend cpu] [--int8] [--calib N]\n"
    "                  [--limit N] [-j N] [--data-dir DIR] [-o OUT] [--dry-run] [--json]\n"
    "       sushi eval FILE --images PATH --labels PATH [--layout nchw|nhwc]\n"
    "                  [--name NAME] [--int8 --calib-images PATH] [...]\n"
    "\n"
    "Run every candidate SubNet of FILE on labelled test images with the C\n"
    "library and write the measured top-1 accuracies into the candidate table\n"
    "(accuracy_source \"measured\", the dataset's name, metric \"top1\"; the\n"
    "provenance text gets the date, backend, images and number of images).\n"
    "Each candidate runs with its own BN statistics from the file. Inputs are\n"
    "built as include/sushi/input.h says: pixels scaled to [0, 1], normalised\n"
    "with the file's mean/std and bilinearly resized to the candidate's\n"
    "resolution.\n"
    "\n"
    "Datasets (docs/cli.md, Datasets):\n"
    "  --dataset fashion-mnist   the Debian package dataset-fashion-mnist\n"
    "                            (test split; --int8 calibrates on train)\n"
    "  --images FILE.npy         uint8 (0..255) or float32 ([0, 1]) images,\n"
    "                            (n,h,w), (n,c,h,w) or (n,h,w,c); labels .npy (n,)\n"
    "  --images FILE[.gz]        IDX images (n,h,w) or (n,h,w,c); labels IDX\n"
    "  --images DIR              a folder of PNG images; --labels a CSV of\n"
    "                            `file,label` rows (a header line is allowed)\n"
    "\n"
    "options:\n"
    "      --dataset NAME     fashion-mnist\n"
    "      --images PATH      images in another form (above)\n"
    "      --labels PATH      their labels (.npy, IDX or CSV)\n"
    "      --layout L         nchw or nhwc for a 4-D .npy whose shape is ambiguous\n"
    "      --name NAME        dataset name recorded in the file (default: the\n"
    "                         images' base name)\n"
    "      --calib-images P   calibration images for --int8 with --images\n"
    "  -b, --backend NAME     cpu (default; the only backend that runs inference)\n"
    "      --int8             int8 path: each candidate is first calibrated\n"
    "                         (sushi_cpu_calibrate_int8) on --calib training images\n"
    "      --calib N          calibration images for --int8, >= 1 (default 2000)\n"
    "  -n, --limit N          use only the first N test images, >= 1 (default all 10000);\n"
    "                         the provenance says how many were used\n"
    "  -j, --jobs N           threads, one backend instance each, candidates\n"
    "                         spread over them (default 1; OpenBLAS uses 1 thread)\n"
    "      --data-dir DIR     default /usr/share/datasets/fashion-mnist\n"
    "  -o, --output OUT       write here (default: replace FILE, via a temporary\n"
    "                         file and rename)\n"
    "      --dry-run          measure and print, write nothing\n"
    "      --json             print one JSON object on stdout instead of the table\n"
    "  -h, --help             show this help\n";

static const char calibrate_help[] =
    "usage: sushi calibrate FILE --dataset fashion-mnist [--calib N] [-j N]\n"
    "                       [--data-dir DIR] [-o OUT] [--dry-run] [--json]\n"
    "       sushi calibrate FILE --images PATH [--layout L] [--name NAME] [...]\n"
    "\n"
    "Calibrate the int8 path of every candidate SubNet of FILE on the first N\n"
    "images (Fashion-MNIST: training split; or --images in any form of\n"
    "`sushi eval --help`) (sushi_cpu_calibrate_int8: float32 passes,\n"
    "least-squares activation ranges, docs/int8.md section 7) and store the ranges\n"
    "in the candidate table (key int8_ranges), so that the cpu backend's int8 path\n"
    "and the hls backend run the file's candidates without calibration data.\n"
    "Accuracies are not touched; the provenance text gets the date and settings.\n"
    "\n"
    "options:\n"
    "      --dataset NAME     fashion-mnist\n"
    "      --images PATH      images in another form (labels not needed)\n"
    "      --layout L         nchw or nhwc for a 4-D .npy whose shape is ambiguous\n"
    "      --name NAME        dataset name recorded in the file\n"
    "      --calib N          calibration images (default 2000)\n"
    "  -j, --jobs N           threads, candidates spread over them (default 1)\n"
    "      --data-dir DIR     default /usr/share/datasets/fashion-mnist\n"
    "  -o, --output OUT       write here (default: replace FILE, via a temporary\n"
    "                         file and rename)\n"
    "      --dry-run          calibrate and print, write nothing\n"
    "      --json             print one JSON object on stdout instead of the table\n"
    "  -h, --help             show this help\n";

enum { OPT_DATASET = 1, OPT_BACKEND, OPT_INT8, OPT_CALIB, OPT_LIMIT, OPT_JOBS, OPT_DATADIR,
       OPT_OUTPUT, OPT_DRY, OPT_JSON, OPT_IMAGES, OPT_LABELS, OPT_LAYOUT, OPT_NAME, OPT_CALIB_IMAGES };

static const cli_option eval_opts[] = {
    { "dataset", 0, true, OPT_DATASET },
    { "backend", 'b', true, OPT_BACKEND },
    { "int8", 0, false, OPT_INT8 },
    { "calib", 0, true, OPT_CALIB },
    { "limit", 'n', true, OPT_LIMIT },
    { "jobs", 'j', true, OPT_JOBS },
    { "data-dir", 0, true, OPT_DATADIR },
    { "output", 'o', true, OPT_OUTPUT },
    { "dry-run", 0, false, OPT_DRY },
    { "json", 0, false, OPT_JSON },
    { "images", 0, true, OPT_IMAGES },
    { "labels", 0, true, OPT_LABELS },
    { "layout", 0, true, OPT_LAYOUT },
    { "name", 0, true, OPT_NAME },
    { "calib-images", 0, true, OPT_CALIB_IMAGES },
    { NULL, 0, false, 0 }
};

static const cli_option calibrate_opts[] = {
    { "dataset", 0, true, OPT_DATASET },
    { "calib", 0, true, OPT_CALIB },
    { "jobs", 'j', true, OPT_JOBS },
    { "data-dir", 0, true, OPT_DATADIR },
    { "output", 'o', true, OPT_OUTPUT },
    { "dry-run", 0, false, OPT_DRY },
    { "json", 0, false, OPT_JSON },
    { "images", 0, true, OPT_IMAGES },
    { "layout", 0, true, OPT_LAYOUT },
    { "name", 0, true, OPT_NAME },
    { NULL, 0, false, 0 }
};

/* ---------- evaluation ---------- */

typedef struct eval_job {
    const sushi_supernet *sn;
    const char *backend;
    const cli_dataset *test;
    const cli_dataset *calib; /* int8 only */
    uint32_t n_images, n_calib;
    uint32_t test_c;       /* input channels */
    bool int8;
    bool calibrate_only;   /* sushi calibrate: keep the ranges, measure nothing */
    float **ranges;        /* per candidate (calibrate_only) */
    size_t *n_ranges;
    uint32_t n_cand;
    atomic_uint next_cand;
    atomic_ullong images_done;
    atomic_int failed;
    uint64_t *correct;     /* per candidate */
    double *seconds;       /* per candidate */
    int status;            /* first failure */
    char what[256];
    pthread_mutex_t lock;
} eval_job;

static double now_s(void) { return cli_now_s(); }

static void job_fail(eval_job *J, int rc, const char *what)
{
    pthread_mutex_lock(&J->lock);
    if (!atomic_load(&J->failed)) {
        J->status = rc;
        snprintf(J->what, sizeof J->what, "%s", what);
        atomic_store(&J->failed, 1);
    }
    pthread_mutex_unlock(&J->lock);
}

static int eval_fail(eval_job *J, sushi_subnet *s, float *x, int rc, const char *what)
{
    free(x);
    sushi_subnet_destroy(s);
    job_fail(J, rc, what);
    return rc;
}

static int eval_one(eval_job *J, sushi_backend *b, uint32_t ci)
{
    char what[160];
    sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
    int rc = sushi_supernet_candidate(J->sn, ci, &info);
    snprintf(what, sizeof what, "candidate %u", ci);
    if (rc)
        return job_fail(J, rc, what), rc;
    sushi_subnet *s = NULL;
    if ((rc = sushi_subnet_create(J->sn, &info.config, &s)))
        return job_fail(J, rc, what), rc;
    uint32_t r = info.config.resolution;
    size_t per = (size_t)J->test_c * r * r;
    float *x = NULL;
    double t0 = now_s();
    if (J->int8) {
#ifdef SUSHI_CLI_HAVE_CPU
        size_t nr = sushi_cpu_int8_ranges_len(s);
        float *ranges = malloc((nr ? nr : 1) * sizeof(float));
        x = cli_dataset_inputs(J->sn, J->calib, 0, J->n_calib, r, &rc);
        if (!ranges && !rc)
            rc = SUSHI_ERR_NOMEM;
        else if (!rc && !(rc = sushi_cpu_calibrate_int8(s, x, J->n_calib, ranges, nr)) && !J->calibrate_only)
            rc = sushi_cpu_set_int8_ranges(b, s, ranges, nr);
        free(x);
        x = NULL;
        if (rc) {
            free(ranges);
            snprintf(what, sizeof what, "candidate %u: int8 calibration", ci);
            return eval_fail(J, s, NULL, rc, what);
        }
        if (J->calibrate_only) {
            J->ranges[ci] = ranges;
            J->n_ranges[ci] = nr;
            J->seconds[ci] = now_s() - t0;
            atomic_fetch_add(&J->images_done, J->n_calib);
            sushi_subnet_destroy(s);
            return SUSHI_OK;
        }
        free(ranges);
#else
        return eval_fail(J, s, NULL, SUSHI_ERR_UNSUPPORTED, "--int8 (libsushi was built without the cpu backend)");
#endif
    }
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(J->sn, &si);
    float logits[4096];
    if (!(x = malloc(per * sizeof(float)))) {
        snprintf(what, sizeof what, "candidate %u: input buffer", ci);
        return eval_fail(J, s, NULL, SUSHI_ERR_NOMEM, what);
    }
    uint64_t correct = 0;
    for (uint32_t i = 0; i < J->n_images && !atomic_load(&J->failed); i++) {
        rc = cli_dataset_input(J->sn, J->test, i, r, x, per);
        if (rc) {
            snprintf(what, sizeof what, "candidate %u: input at resolution %u", ci, (unsigned)r);
            return eval_fail(J, s, x, rc, what);
        }
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = x;
        a.input_len = per;
        a.output = logits;
        a.output_len = si.num_classes;
        a.int8 = J->int8;
        if ((rc = sushi_backend_run(b, s, &a, NULL))) {
            snprintf(what, sizeof what, "candidate %u: run image %u", ci, i);
            return eval_fail(J, s, x, rc, what);
        }
        uint32_t best = 0;
        for (uint32_t k = 1; k < si.num_classes; k++)
            if (logits[k] > logits[best])
                best = k;
        correct += best == J->test->y[i];
        atomic_fetch_add(&J->images_done, 1);
    }
    J->correct[ci] = correct;
    J->seconds[ci] = now_s() - t0;
    free(x);
    sushi_subnet_destroy(s);
    return SUSHI_OK;
}

static void *worker(void *arg)
{
    eval_job *J = arg;
    sushi_backend *b = NULL;
    int rc = sushi_backend_create(J->sn, J->backend, &b);
    if (rc) {
        char what[96];
        snprintf(what, sizeof what, "backend '%s'", J->backend);
        job_fail(J, rc, what);
        return NULL;
    }
    for (;;) {
        uint32_t ci = atomic_fetch_add(&J->next_cand, 1);
        if (ci >= J->n_cand || atomic_load(&J->failed))
            break;
        if (eval_one(J, b, ci))
            break;
    }
    sushi_backend_destroy(b);
    return NULL;
}

int cli_write_supernet(const sushi_supernet *out, const char *file, const char *dest)
{
    const char *target = dest ? dest : file;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    char what[4200];
    snprintf(what, sizeof what, "write '%.4096s'", target);
    errno = 0;
    /* sushi_supernet_save_file replaces the file atomically (temporary in the
     * same directory, fsync, rename): a failure leaves the input intact. The
     * message names the file the user asked for and the system's reason. */
    int rc = sushi_supernet_save_file(out, target, &so);
    if (rc) {
        int why = errno;
        return cli_fail(what, rc, rc == SUSHI_ERR_IO && why ? strerror(why) : NULL);
    }
    return CLI_EXIT_OK;
}

/* Table and JSON of `sushi calibrate`. */
static int print_calibration(const eval_job *J, const sushi_supernet *sn, const char *dsname, uint32_t jobs,
                             double wall, bool json)
{
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "dataset", dsname);
        cli_json_num(root, "calib", J->n_calib);
        cli_json_num(root, "jobs", jobs);
        cli_json_num(root, "seconds", wall);
        cJSON *arr = cli_json_add_array(root, "candidates");
        for (uint32_t i = 0; i < J->n_cand; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
            cJSON *o2 = cli_json_append_object(arr);
            cli_json_num(o2, "index", i);
            cli_json_config(o2, "config", &ci.config);
            cli_json_num(o2, "int8_ranges", (double)J->n_ranges[i]);
            cli_json_num(o2, "seconds", J->seconds[i]);
        }
        return cli_json_print(root);
    }
    printf("%4s  %4s  %10s  %11s  %7s\n", "#", "r", "MACs", "int8 ranges", "s");
    for (uint32_t i = 0; i < J->n_cand; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
        sushi_supernet_candidate(sn, i, &ci);
        printf("%4u  %4u  %10llu  %11zu  %7.1f\n", i, (unsigned)ci.config.resolution, (unsigned long long)ci.macs,
               J->n_ranges[i], J->seconds[i]);
    }
    printf("%u candidates calibrated on %u images of %s, %u thread(s): %.1f s\n", J->n_cand, J->n_calib, dsname,
           jobs, wall);
    return CLI_EXIT_OK;
}

static int eval_or_calibrate(int argc, char **argv, bool calibrate_only)
{
    const char *cmd = calibrate_only ? "calibrate" : "eval";
    cli_parser p;
    cli_parser_init(&p, argc, argv, calibrate_only ? calibrate_opts : eval_opts);
    const char *file = NULL, *dataset_name = NULL, *backend = "cpu", *dir = CLI_FMNIST_DIR, *outp = NULL;
    cli_dataset_args da = { 0 };
    const char *calib_images = NULL;
    bool int8 = false, dry = false, json = false;
    uint32_t limit = 0, jobs = 1, n_calib = 2000;
    const char *arg;
    int o;
    while ((o = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (o) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(calibrate_only ? calibrate_help : eval_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_DATASET: dataset_name = arg; break;
        case OPT_BACKEND: backend = arg; break;
        case OPT_INT8: int8 = true; break;
        case OPT_CALIB:
            if (!cli_parse_u32(cmd, "--calib", arg, &n_calib))
                return CLI_EXIT_USAGE;
            if (n_calib < 1) /* as --limit: 0 images is never meant, omit the option for the default */
                return cli_usage_error(cmd, "--calib must be at least 1 (omit it for the default 2000)");
            break;
        case OPT_LIMIT:
            if (!cli_parse_u32(cmd, "--limit", arg, &limit))
                return CLI_EXIT_USAGE;
            if (limit < 1)
                return cli_usage_error(cmd, "--limit must be at least 1 (omit it for all test images)");
            break;
        case OPT_JOBS:
            if (!cli_parse_u32(cmd, "--jobs", arg, &jobs))
                return CLI_EXIT_USAGE;
            break;
        case OPT_DATADIR: dir = arg; break;
        case OPT_OUTPUT: outp = arg; break;
        case OPT_DRY: dry = true; break;
        case OPT_JSON: json = true; break;
        case OPT_IMAGES: da.images = arg; break;
        case OPT_LABELS: da.labels = arg; break;
        case OPT_LAYOUT: da.layout = arg; break;
        case OPT_NAME: da.name = arg; break;
        case OPT_CALIB_IMAGES: calib_images = arg; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (!file)
        return cli_usage_error(cmd, "missing FILE");
    if (!dataset_name && !da.images)
        return cli_usage_error(cmd, "missing --dataset fashion-mnist or --images PATH");
    if (dataset_name && da.images)
        return cli_usage_error(cmd, "--dataset and --images exclude each other");
    if (dataset_name && strcmp(dataset_name, "fashion-mnist") != 0)
        return cli_usage_error(cmd, "unknown dataset '%s' (known: fashion-mnist; others via --images)", dataset_name);
    if (dataset_name && (da.labels || da.layout || da.name || calib_images))
        return cli_usage_error(cmd, "--labels, --layout, --name and --calib-images go with --images");
    if (da.images && !calibrate_only && !da.labels)
        return cli_usage_error(cmd, "--images needs --labels to measure accuracy");
    if (da.images && int8 && !calibrate_only && !calib_images)
        return cli_usage_error(cmd, "--int8 with --images needs --calib-images PATH (images to calibrate on)");
    if (!int8 && calib_images)
        return cli_usage_error(cmd, "--calib-images goes with --int8");
    da.dataset = dataset_name;
    da.dir = dir;
    if (jobs < 1 || jobs > 256)
        return cli_usage_error(cmd, "--jobs must be 1..256");
    if (calibrate_only)
        int8 = true;
#ifndef SUSHI_CLI_HAVE_CPU
    if (int8)
        return cli_usage_error(cmd, "%s needs the cpu backend (libsushi was built without it)",
                               calibrate_only ? "calibrate" : "--int8");
#endif
    if (int8 && n_calib < 1)
        return cli_usage_error(cmd, "--calib must be at least 1");

    sushi_supernet *sn = NULL;
    int rc = cli_load_supernet(file, &sn);
    if (rc)
        return rc;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &si);
    int ex = CLI_EXIT_RUNTIME;
    cli_dataset test = { 0 }, calib = { 0 };
    sushi_supernet *out = NULL;
    eval_job J;
    memset(&J, 0, sizeof J);
    pthread_mutex_init(&J.lock, NULL);
    char err[2400];
    char test_name[256] = "", calib_name[256] = "";
    if (si.num_classes > 4096) {
        snprintf(err, sizeof err, "the SuperNet has %u classes; sushi eval handles up to 4096", si.num_classes);
        cli_fail_msg(file, err);
        goto done;
    }
    if (si.n_candidates == 0) {
        cli_fail_msg(file, calibrate_only ? "the candidate table is empty: nothing to calibrate"
                                          : "the candidate table is empty: nothing to evaluate");
        goto done;
    }
    if (!calibrate_only && !cli_dataset_pick(&da, "t10k", true, si.in_channels, si.num_classes, &test, test_name,
                                             sizeof test_name, err, sizeof err)) {
        cli_fail_msg(cmd, err);
        goto done;
    }
    if (int8) {
        cli_dataset_args ca = da;
        if (calib_images && !calibrate_only)
            ca.images = calib_images, ca.name = NULL;
        if (!cli_dataset_pick(&ca, "train", false, si.in_channels, si.num_classes, &calib, calib_name,
                              sizeof calib_name, err, sizeof err)) {
            cli_fail_msg(cmd, err);
            goto done;
        }
        if (n_calib > calib.n)
            n_calib = calib.n;
    }
    J.sn = sn;
    J.backend = backend;
    J.test = &test;
    J.calib = &calib;
    J.n_images = limit && limit < test.n ? limit : test.n;
    J.test_c = si.in_channels;
    J.n_calib = n_calib;
    J.int8 = int8;
    J.calibrate_only = calibrate_only;
    J.n_cand = si.n_candidates;
    J.correct = calloc(J.n_cand, sizeof *J.correct);
    J.seconds = calloc(J.n_cand, sizeof *J.seconds);
    J.ranges = calloc(J.n_cand, sizeof *J.ranges);
    J.n_ranges = calloc(J.n_cand, sizeof *J.n_ranges);
    if (!J.correct || !J.seconds || !J.ranges || !J.n_ranges) {
        cli_fail_msg(cmd, "out of memory");
        goto done;
    }
    if (jobs > J.n_cand)
        jobs = J.n_cand;
#ifdef SUSHI_CLI_HAVE_CPU
    /* batch-1 GEMMs of small SubNets: OpenBLAS threads only add overhead;
     * the parallelism is across candidates (-j), one backend per thread */
    if (strcmp(backend, "cpu") == 0)
        sushi_cpu_set_threads(1);
#endif
    pthread_t th[256];
    uint32_t started = 0;
    double t0 = now_s();
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, worker, &J) != 0)
            break;
    if (started == 0) {
        cli_fail_msg(cmd, "cannot start a thread");
        goto done;
    }
    uint64_t total = (uint64_t)(calibrate_only ? J.n_calib : J.n_images) * J.n_cand;
    cli_progress prog;
    cli_progress_start(&prog, total, calibrate_only ? "calibration images" : "images");
    if (prog.on) {
        /* workers may all stop early (failure): checked by the loop condition */
        while (atomic_load(&J.images_done) < total && !atomic_load(&J.failed)) {
            cli_progress_update(&prog, atomic_load(&J.images_done));
            struct timespec ts = { 0, 250 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    for (uint32_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double wall = now_s() - t0;
    cli_progress_end(&prog, atomic_load(&J.images_done));
    if (atomic_load(&J.failed)) {
        cli_fail(J.what, J.status, NULL);
        goto done;
    }

    if (calibrate_only) {
        char source[900];
        snprintf(source, sizeof source,
                 "sushi calibrate (libsushi %s), sushi_cpu_calibrate_int8 on the first %u images of %s (%.500s)",
                 sushi_version_string(), J.n_calib, calib_name, da.images ? da.images : dir);
        rc = sushi_supernet_with_int8_ranges(sn, (const float *const *)J.ranges, J.n_ranges, J.n_cand, source, &out);
        if (rc) {
            cli_fail("store int8 ranges", rc, NULL);
            goto done;
        }
        /* write first: a failed write prints its one error line and nothing on stdout */
        if (!dry && (ex = cli_write_supernet(out, file, outp)) != CLI_EXIT_OK)
            goto done;
        if ((ex = print_calibration(&J, sn, calib_name, started, wall, json)) != CLI_EXIT_OK)
            goto done;
        goto wrote;
    }
    double *acc = malloc(J.n_cand * sizeof *acc);
    if (!acc) {
        cli_fail_msg(cmd, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < J.n_cand; i++)
        acc[i] = (double)J.correct[i] / J.n_images;
    char source[1000];
    snprintf(source, sizeof source, "sushi eval (libsushi %s), backend %s, %s, %u of %u images (%s, %.500s)%s",
             sushi_version_string(), backend, int8 ? "int8" : "float32", J.n_images, test.n, test.form,
             da.images ? da.images : dir, J.n_images < test.n ? " (--limit)" : "");
    if (int8) {
        char extra[400];
        snprintf(extra, sizeof extra, ", calibrated on the first %u images of %s", n_calib, calib_name);
        strncat(source, extra, sizeof source - strlen(source) - 1);
    }
    rc = sushi_supernet_with_accuracies(sn, acc, J.n_cand, test_name, "top1", source, &out);
    if (rc) {
        free(acc);
        cli_fail("set accuracies", rc, NULL);
        goto done;
    }
    if (!dry && (ex = cli_write_supernet(out, file, outp)) != CLI_EXIT_OK) {
        free(acc);
        goto done;
    }
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "dataset", test_name);
        cli_json_str(root, "backend", backend);
        cli_json_bool(root, "int8", int8);
        cli_json_num(root, "images", J.n_images);
        cli_json_num(root, "jobs", started);
        cli_json_num(root, "seconds", wall);
        cJSON *arr = cli_json_add_array(root, "candidates");
        for (uint32_t i = 0; i < J.n_cand; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
            cJSON *o2 = cli_json_append_object(arr);
            cli_json_num(o2, "index", i);
            cli_json_config(o2, "config", &ci.config);
            cli_json_num(o2, "macs", (double)ci.macs);
            cli_json_num(o2, "params", (double)ci.params);
            cli_json_num(o2, "accuracy", acc[i]);
            cli_json_num(o2, "correct", (double)J.correct[i]);
            cli_json_num(o2, "seconds", J.seconds[i]);
        }
        free(acc);
        if ((ex = cli_json_print(root)) != CLI_EXIT_OK)
            goto done;
    } else {
        printf("%4s  %10s  %8s  %8s  %7s  %s\n", "#", "MACs", "params", "top1 %", "s", "config");
        for (uint32_t i = 0; i < J.n_cand; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
            char *ct = cli_config_text(&ci.config);
            printf("%4u  %10llu  %8llu  %8.2f  %7.1f  %s\n", i, (unsigned long long)ci.macs,
                   (unsigned long long)ci.params, 100.0 * acc[i], J.seconds[i], ct ? ct : "?");
            free(ct);
        }
        printf("%u candidates x %u images, %s, %u thread(s): %.1f s\n", J.n_cand, J.n_images,
               int8 ? "int8" : "float32", started, wall);
        free(acc);
    }
wrote:
    if (!dry && !json)
        printf("wrote %s\n", outp ? outp : file);
    ex = CLI_EXIT_OK;
done:
    sushi_supernet_destroy(out);
    sushi_supernet_destroy(sn);
    cli_dataset_free(&test), cli_dataset_free(&calib);
    if (J.ranges)
        for (uint32_t i = 0; i < J.n_cand; i++)
            free(J.ranges[i]);
    free(J.correct), free(J.seconds), free(J.ranges), free(J.n_ranges);
    pthread_mutex_destroy(&J.lock);
    return ex;
}

int cli_cmd_eval(int argc, char **argv) { return eval_or_calibrate(argc, argv, false); }

int cli_cmd_calibrate(int argc, char **argv) { return eval_or_calibrate(argc, argv, true); }
