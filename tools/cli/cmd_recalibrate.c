/* `sushi recalibrate`: per-candidate BN statistics from N images (OFA's
 * set_running_statistics, sushi_cpu_recalibrate_bn_stats), written into the
 * candidate table (sushi_supernet_with_bn_stats). Needs the cpu backend. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dataset.h"

static const char recalibrate_help[] =
    "usage: sushi recalibrate FILE (--dataset fashion-mnist | --images PATH)\n"
    "                         [--calib N] [--batch B] [-j N] [-o OUT] [--dry-run] [--json]\n"
    "\n"
    "Recompute the BN running statistics of every candidate SubNet of FILE on\n"
    "the first N images, as Once-for-All does after training (each SubNet runs\n"
    "in float32 with every BN layer normalising with its batch's mean and\n"
    "variance; the running statistics are the batch-size-weighted averages,\n"
    "sushi_cpu_recalibrate_bn_stats), and store them per candidate in the\n"
    "candidate table (key bn_stats, docs/format.md section 7.2). A SubNet made\n"
    "from a candidate's config then uses them. Accuracies already in the table\n"
    "were measured with the old statistics: run `sushi eval` again afterwards.\n"
    "Images: --dataset fashion-mnist (training split) or --images PATH in any\n"
    "form of `sushi eval --help` (labels not needed).\n"
    "\n"
    "options:\n"
    "      --dataset NAME     fashion-mnist\n"
    "      --data-dir DIR     default /usr/share/datasets/fashion-mnist\n"
    "      --images PATH      images in another form (IDX, .npy, PNG folder)\n"
    "      --layout L         nchw or nhwc for a 4-D .npy whose shape is ambiguous\n"
    "      --name NAME        dataset name recorded in the provenance\n"
    "      --calib N          images (default 2000, OFA's number)\n"
    "      --batch B          images per BN batch (default 200; the last may be smaller)\n"
    "  -j, --jobs N           threads, candidates spread over them (default 1)\n"
    "  -o, --output OUT       write here (default: replace FILE, via a temporary\n"
    "                         file and rename)\n"
    "      --dry-run          recalibrate and print, write nothing\n"
    "      --json             print one JSON object on stdout instead of the table\n"
    "  -h, --help             show this help\n";

enum { OPT_DATASET = 1, OPT_DATADIR, OPT_IMAGES, OPT_LAYOUT, OPT_NAME, OPT_CALIB, OPT_BATCH, OPT_JOBS, OPT_OUTPUT,
       OPT_DRY, OPT_JSON };

static const cli_option recal_opts[] = {
    { "dataset", 0, true, OPT_DATASET },
    { "data-dir", 0, true, OPT_DATADIR },
    { "images", 0, true, OPT_IMAGES },
    { "layout", 0, true, OPT_LAYOUT },
    { "name", 0, true, OPT_NAME },
    { "calib", 0, true, OPT_CALIB },
    { "batch", 0, true, OPT_BATCH },
    { "jobs", 'j', true, OPT_JOBS },
    { "output", 'o', true, OPT_OUTPUT },
    { "dry-run", 0, false, OPT_DRY },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

#ifdef SUSHI_CLI_HAVE_CPU
typedef struct recal_job {
    const sushi_supernet *sn;
    const cli_dataset *d;
    uint32_t n_images, batch, n_cand;
    float **stats;
    size_t *n_stats;
    double *seconds;
    atomic_uint next;
    atomic_int failed;
    int status;
    char what[160];
    pthread_mutex_t lock;
} recal_job;

static void recal_fail(recal_job *J, int rc, const char *what)
{
    pthread_mutex_lock(&J->lock);
    if (!atomic_load(&J->failed)) {
        J->status = rc;
        snprintf(J->what, sizeof J->what, "%s", what);
        atomic_store(&J->failed, 1);
    }
    pthread_mutex_unlock(&J->lock);
}

static void recal_one(recal_job *J, uint32_t ci)
{
    char what[96];
    snprintf(what, sizeof what, "candidate %u", ci);
    double t0 = cli_now_s();
    sushi_candidate_info info = SUSHI_CANDIDATE_INFO_INIT;
    sushi_subnet *s = NULL;
    int rc = sushi_supernet_candidate(J->sn, ci, &info);
    if (!rc)
        rc = sushi_subnet_create(J->sn, &info.config, &s);
    if (rc) {
        recal_fail(J, rc, what);
        return;
    }
    size_t ns = sushi_cpu_bn_stats_len(s);
    float *stats = malloc((ns ? ns : 1) * sizeof *stats);
    float *x = cli_dataset_inputs(J->sn, J->d, 0, J->n_images, info.config.resolution, &rc);
    if (!rc && !stats)
        rc = SUSHI_ERR_NOMEM;
    if (!rc)
        rc = sushi_cpu_recalibrate_bn_stats(s, x, J->n_images, J->batch, stats, ns);
    free(x);
    sushi_subnet_destroy(s);
    if (rc) {
        free(stats);
        snprintf(what, sizeof what, "candidate %u: BN recalibration", ci);
        recal_fail(J, rc, what);
        return;
    }
    J->stats[ci] = stats;
    J->n_stats[ci] = ns;
    J->seconds[ci] = cli_now_s() - t0;
}

static void *recal_worker(void *arg)
{
    recal_job *J = arg;
    for (;;) {
        uint32_t ci = atomic_fetch_add(&J->next, 1);
        if (ci >= J->n_cand || atomic_load(&J->failed))
            break;
        recal_one(J, ci);
    }
    return NULL;
}
#endif

int cli_cmd_recalibrate(int argc, char **argv)
{
    const char *cmd = "recalibrate";
    cli_parser p;
    cli_parser_init(&p, argc, argv, recal_opts);
    const char *file = NULL, *outp = NULL;
    cli_dataset_args da = { 0 };
    da.dir = CLI_FMNIST_DIR;
    bool dry = false, json = false;
    uint32_t n_images = 2000, batch = 200, jobs = 1;
    const char *arg;
    int o;
    while ((o = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (o) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(recalibrate_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_DATASET: da.dataset = arg; break;
        case OPT_DATADIR: da.dir = arg; break;
        case OPT_IMAGES: da.images = arg; break;
        case OPT_LAYOUT: da.layout = arg; break;
        case OPT_NAME: da.name = arg; break;
        case OPT_CALIB:
            if (!cli_parse_u32(cmd, "--calib", arg, &n_images))
                return CLI_EXIT_USAGE;
            break;
        case OPT_BATCH:
            if (!cli_parse_u32(cmd, "--batch", arg, &batch))
                return CLI_EXIT_USAGE;
            break;
        case OPT_JOBS:
            if (!cli_parse_u32(cmd, "--jobs", arg, &jobs))
                return CLI_EXIT_USAGE;
            break;
        case OPT_OUTPUT: outp = arg; break;
        case OPT_DRY: dry = true; break;
        case OPT_JSON: json = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (!file)
        return cli_usage_error(cmd, "missing FILE");
    if (!da.dataset && !da.images)
        return cli_usage_error(cmd, "missing --dataset fashion-mnist or --images PATH");
    if (da.dataset && da.images)
        return cli_usage_error(cmd, "--dataset and --images exclude each other");
    if (da.dataset && strcmp(da.dataset, "fashion-mnist") != 0)
        return cli_usage_error(cmd, "unknown dataset '%s' (known: fashion-mnist; others via --images)", da.dataset);
    if (da.dataset && (da.layout || da.name))
        return cli_usage_error(cmd, "--layout and --name go with --images");
    if (n_images < 1 || batch < 1)
        return cli_usage_error(cmd, "--calib and --batch must be at least 1");
    if (jobs < 1 || jobs > 256)
        return cli_usage_error(cmd, "--jobs must be 1..256");
#ifndef SUSHI_CLI_HAVE_CPU
    (void)dry, (void)json, (void)outp;
    return cli_usage_error(cmd, "needs the cpu backend (libsushi was built without it)");
#else
    sushi_supernet *sn = NULL;
    int rc = cli_load_supernet(file, &sn);
    if (rc)
        return rc;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &si);
    int ex = CLI_EXIT_RUNTIME;
    cli_dataset d = { 0 };
    sushi_supernet *out = NULL;
    recal_job J;
    memset(&J, 0, sizeof J);
    pthread_mutex_init(&J.lock, NULL);
    char err[2400], dsname[256];
    if (si.n_candidates == 0) {
        cli_fail_msg(file, "the candidate table is empty: nothing to recalibrate");
        goto done;
    }
    if (!cli_dataset_pick(&da, "train", false, si.in_channels, si.num_classes, &d, dsname, sizeof dsname, err,
                          sizeof err)) {
        cli_fail_msg(cmd, err);
        goto done;
    }
    J.sn = sn;
    J.d = &d;
    J.n_images = n_images < d.n ? n_images : d.n;
    J.batch = batch < J.n_images ? batch : J.n_images;
    J.n_cand = si.n_candidates;
    J.stats = calloc(J.n_cand, sizeof *J.stats);
    J.n_stats = calloc(J.n_cand, sizeof *J.n_stats);
    J.seconds = calloc(J.n_cand, sizeof *J.seconds);
    if (!J.stats || !J.n_stats || !J.seconds) {
        cli_fail_msg(cmd, "out of memory");
        goto done;
    }
    sushi_cpu_set_threads(1);
    if (jobs > J.n_cand)
        jobs = J.n_cand;
    pthread_t th[256];
    uint32_t started = 0;
    double t0 = cli_now_s();
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, recal_worker, &J) != 0)
            break;
    if (started == 0) {
        cli_fail_msg(cmd, "cannot start a thread");
        goto done;
    }
    for (uint32_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double wall = cli_now_s() - t0;
    if (atomic_load(&J.failed)) {
        cli_fail(J.what, J.status, NULL);
        goto done;
    }
    char source[1000];
    snprintf(source, sizeof source,
             "sushi recalibrate (libsushi %s), sushi_cpu_recalibrate_bn_stats on the first %u images of %s (%s, "
             "%.500s), batch %u",
             sushi_version_string(), J.n_images, dsname, d.form, da.images ? da.images : da.dir, J.batch);
    rc = sushi_supernet_with_bn_stats(sn, (const float *const *)J.stats, J.n_stats, J.n_cand, source, &out);
    if (rc) {
        cli_fail("store BN statistics", rc, NULL);
        goto done;
    }
    /* write first, as eval does: a failed write prints its one error line and
     * nothing on stdout */
    if (!dry && (ex = cli_write_supernet(out, file, outp)) != CLI_EXIT_OK)
        goto done;
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "dataset", dsname);
        cli_json_num(root, "images", J.n_images);
        cli_json_num(root, "batch", J.batch);
        cli_json_num(root, "jobs", started);
        cli_json_num(root, "seconds", wall);
        cJSON *arr = cli_json_add_array(root, "candidates");
        for (uint32_t i = 0; i < J.n_cand; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
            cJSON *o2 = cli_json_append_object(arr);
            cli_json_num(o2, "index", i);
            cli_json_config(o2, "config", &ci.config);
            cli_json_num(o2, "bn_stats", (double)J.n_stats[i]);
            cli_json_num(o2, "seconds", J.seconds[i]);
        }
        if ((ex = cli_json_print(root)) != CLI_EXIT_OK)
            goto done;
    } else {
        printf("%4s  %4s  %10s  %8s  %7s\n", "#", "r", "MACs", "BN stats", "s");
        for (uint32_t i = 0; i < J.n_cand; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
            printf("%4u  %4u  %10llu  %8zu  %7.1f\n", i, (unsigned)ci.config.resolution,
                   (unsigned long long)ci.macs, J.n_stats[i], J.seconds[i]);
        }
        printf("%u candidates recalibrated on %u images of %s (batch %u), %u thread(s): %.1f s\n", J.n_cand,
               J.n_images, dsname, J.batch, started, wall);
    }
    if (!dry && !json)
        printf("wrote %s\n", outp ? outp : file);
    ex = CLI_EXIT_OK;
done:
    sushi_supernet_destroy(out);
    sushi_supernet_destroy(sn);
    cli_dataset_free(&d);
    if (J.stats)
        for (uint32_t i = 0; i < J.n_cand; i++)
            free(J.stats[i]);
    free(J.stats), free(J.n_stats), free(J.seconds);
    pthread_mutex_destroy(&J.lock);
    return ex;
#endif
}
