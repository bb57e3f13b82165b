/* Datasets beyond Fashion-MNIST (`sushi eval/calibrate/recalibrate --images`),
 * `sushi candidates`, `sushi recalibrate`, and serve's refusal of unmeasured
 * candidates. The same Fashion-MNIST test images are written as IDX, .npy
 * (uint8 and float32) and a PNG folder (libpng) and must give the same top-1
 * per candidate as `--dataset fashion-mnist`. Runs the built binary ($SUSHI_CLI)
 * on a 2-candidate copy of models/fmnist-mbv3.sushi to stay fast under ASan.
 * Helpers in cli_harness.h. */
#include "cli_harness.h"

#include <png.h>
#include <zlib.h>

#include "sushi/cpu.h"

TestSuite(cli_dataset, .timeout = 900);

#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define N_IMAGES 500u

static const char *model_path(void)
{
    static char path[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src, "SUSHI_SRCDIR must point at the source tree");
    snprintf(path, sizeof path, "%s/models/fmnist-mbv3.sushi", src);
    return path;
}

static void need_data(void)
{
    struct stat st;
    if (stat(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &st) != 0)
        cr_skip_test("Fashion-MNIST not installed in " FMNIST_DIR);
    if (!have_backend("cpu"))
        cr_skip_test("cpu backend not built");
}

static char *tmp(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* First n images (28 x 28) and labels of the Fashion-MNIST test split. */
static void read_fmnist(uint32_t n, uint8_t *px, uint8_t *y)
{
    gzFile f = gzopen(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", "rb");
    cr_assert_not_null(f);
    uint8_t hdr[16];
    cr_assert_eq(gzread(f, hdr, 16), 16);
    cr_assert_eq(gzread(f, px, n * 784), (int)(n * 784));
    gzclose(f);
    f = gzopen(FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", "rb");
    cr_assert_not_null(f);
    cr_assert_eq(gzread(f, hdr, 8), 8);
    cr_assert_eq(gzread(f, y, n), (int)n);
    gzclose(f);
}

/* A .npy file: descr e.g. "|u1", shape text e.g. "(500, 28, 28)". */
static void write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t bytes,
                      bool fortran)
{
    char h[256];
    int len = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr,
                       fortran ? "True" : "False", shape);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    uint16_t hl = (uint16_t)(len + pad + 1);
    uint8_t le[2] = { (uint8_t)hl, (uint8_t)(hl >> 8) };
    fwrite(le, 1, 2, f);
    fwrite(h, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    cr_assert_eq(fwrite(data, 1, bytes, f), bytes);
    fclose(f);
}

static void write_idx(const char *path, uint32_t dims, const uint32_t *sizes, const uint8_t *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    uint8_t m[4] = { 0, 0, 8, (uint8_t)dims };
    fwrite(m, 1, 4, f);
    for (uint32_t i = 0; i < dims; i++) {
        uint8_t b[4] = { (uint8_t)(sizes[i] >> 24), (uint8_t)(sizes[i] >> 16), (uint8_t)(sizes[i] >> 8),
                         (uint8_t)sizes[i] };
        fwrite(b, 1, 4, f);
    }
    cr_assert_eq(fwrite(data, 1, bytes, f), bytes);
    fclose(f);
}

static void write_png(const char *path, const uint8_t *px, uint32_t w, uint32_t h, bool color)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = w;
    pi.height = h;
    pi.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    cr_assert(png_image_write_to_file(&pi, path, 0, px, 0, NULL), "png write %s: %s", path, pi.message);
}

/* 2 candidates of the shipped model (min at 16: the resize path; min at 28). */
static const char *small_model(void)
{
    static char out[512];
    snprintf(out, sizeof out, "%s", tmp("small.sushi"));
    run_result r = RUN("candidates", model_path(), "--config", "min@16", "--config", "min@28", "-o", out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    return out;
}

/* Correct counts per candidate of `sushi eval --json` with these arguments. */
static void eval_correct(const char *const *args, double *correct, size_t n)
{
    run_result r = run_argv(args);
    cJSON *j = json_ok(&r);
    cJSON *arr = cJSON_GetObjectItem(j, "candidates");
    cr_assert_eq((size_t)cJSON_GetArraySize(arr), n);
    for (size_t i = 0; i < n; i++)
        correct[i] = cJSON_GetObjectItem(cJSON_GetArrayItem(arr, (int)i), "correct")->valuedouble;
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli_dataset, eval_idx_npy_png_give_the_same_top1, .init = make_tmpdir, .fini = remove_tmpdir)
{
    need_data();
    const char *model = small_model();
    uint8_t *px = malloc(N_IMAGES * 784), *y = malloc(N_IMAGES);
    read_fmnist(N_IMAGES, px, y);
    uint32_t isz[3] = { N_IMAGES, 28, 28 }, lsz[1] = { N_IMAGES };
    write_idx(tmp("x.idx"), 3, isz, px, N_IMAGES * 784);
    write_idx(tmp("y.idx"), 1, lsz, y, N_IMAGES);
    write_npy(tmp("x.npy"), "|u1", "(500, 28, 28)", px, N_IMAGES * 784, false);
    float *fx = malloc(N_IMAGES * 784 * sizeof *fx);
    for (size_t i = 0; i < N_IMAGES * 784; i++)
        fx[i] = (float)px[i] / 255.0f;
    write_npy(tmp("xf.npy"), "<f4", "(500, 1, 28, 28)", fx, N_IMAGES * 784 * 4, false);
    int64_t y64[N_IMAGES];
    for (size_t i = 0; i < N_IMAGES; i++)
        y64[i] = y[i];
    write_npy(tmp("y.npy"), "<i8", "(500,)", y64, sizeof y64, false);
    cr_assert_eq(mkdir(tmp("png"), 0755), 0);
    FILE *csv = fopen(tmp("png/labels.csv"), "w");
    fprintf(csv, "file,label\n");
    for (uint32_t i = 0; i < N_IMAGES; i++) {
        char name[64];
        snprintf(name, sizeof name, "png/%04u.png", i);
        write_png(tmp(name), px + (size_t)i * 784, 28, 28, false);
        fprintf(csv, "%04u.png,%u\n", i, y[i]);
    }
    fclose(csv);
    free(px), free(fx), free(y);

    double ref[2], got[2];
    eval_correct((const char *const[]){ "eval", model, "--dataset", "fashion-mnist", "--limit", "500", "--dry-run",
                                        "--json", NULL }, ref, 2);
    cr_assert(ref[0] > 100 && ref[1] > 100, "better than chance (%g, %g of 500)", ref[0], ref[1]);
    const char *forms[][2] = { { "x.idx", "y.idx" }, { "x.npy", "y.npy" }, { "xf.npy", "y.npy" },
                               { "png", "png/labels.csv" } };
    for (size_t k = 0; k < 4; k++) {
        char im[512], lb[512];
        snprintf(im, sizeof im, "%s", tmp(forms[k][0]));
        snprintf(lb, sizeof lb, "%s", tmp(forms[k][1]));
        eval_correct((const char *const[]){ "eval", model, "--images", im, "--labels", lb, "--dry-run", "--json",
                                            NULL }, got, 2);
        for (size_t i = 0; i < 2; i++)
            cr_assert_eq(got[i], ref[i], "%s: candidate %zu: %g correct, IDX gives %g", forms[k][0], i, got[i],
                         ref[i]);
    }

    /* the measurement is written with the dataset's name */
    run_result r = RUN("eval", model, "--images", tmp("x.npy"), "--labels", tmp("y.npy"), "--name", "fm500/test",
                       "-o", tmp("measured.sushi"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    sushi_context *ctx;
    sushi_supernet *sn;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, tmp("measured.sushi"), NULL, &sn), SUSHI_OK);
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 1, &ci), SUSHI_OK);
    cr_assert_str_eq(ci.dataset, "fm500/test");
    cr_assert_str_eq(ci.accuracy_source, "measured");
    cr_assert_float_eq(ci.accuracy, ref[1] / 500.0, 1e-12);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

/* One clear line, exit 1, naming the file and what is wrong. */
static void bad(const char *needle, const char *const *args)
{
    run_result r = run_argv(args);
    expect_error(&r, 1);
    cr_assert_not_null(strstr(r.err, needle), "want '%s' in: %s", needle, r.err);
    run_free(&r);
}

Test(cli_dataset, bad_inputs_get_one_clear_line, .init = make_tmpdir, .fini = remove_tmpdir)
{
    need_data();
    const char *model = model_path();
    uint8_t px[4 * 784] = { 0 }, y[4] = { 1, 2, 3, 4 };
    int64_t y3[3] = { 1, 2, 3 }, y99[4] = { 1, 2, 99, 4 };
    write_npy(tmp("x.npy"), "|u1", "(4, 28, 28)", px, sizeof px, false);
    write_npy(tmp("y3.npy"), "<i8", "(3,)", y3, sizeof y3, false);
    write_npy(tmp("y99.npy"), "<i8", "(4,)", y99, sizeof y99, false);
    write_npy(tmp("yf.npy"), "<f4", "(4,)", px, 16, false);
    write_npy(tmp("x16.npy"), "<i2", "(2, 28, 28)", px, sizeof px, false);   /* wrong dtype */
    write_npy(tmp("x3.npy"), "|u1", "(1, 3, 28, 28)", px, 3 * 784, false); /* 3 channels */
    write_npy(tmp("xF.npy"), "|u1", "(4, 28, 28)", px, sizeof px, true);
    write_npy(tmp("xshort.npy"), "|u1", "(4, 28, 28)", px, 100, false);
    float f2[784] = { 0 };
    f2[5] = 2.0f;
    write_npy(tmp("xf2.npy"), "<f4", "(1, 28, 28)", f2, sizeof f2, false);
    uint32_t isz[3] = { 4, 28, 28 }, lsz[1] = { 4 };
    write_idx(tmp("x.idx"), 3, isz, px, sizeof px);
    write_idx(tmp("y.idx"), 1, lsz, y, 3); /* truncated */
    cr_assert_eq(mkdir(tmp("png"), 0755), 0);
    write_png(tmp("png/a.png"), px, 28, 28, false);
    write_file(tmp("png/b.png"), "not a png at all", 16);
    uint8_t rgb[28 * 28 * 3] = { 0 };
    write_png(tmp("png/c.png"), rgb, 28, 28, true);
    write_file(tmp("png/bad.csv"), "a.png,1\nb.png,2\n", 16);
    write_file(tmp("png/rgb.csv"), "a.png,1\nc.png,2\n", 16);
    write_file(tmp("png/lbl.csv"), "a.png,1\na.png,x\n", 16);
    write_file(tmp("png/missing.csv"), "a.png,1\nzz.png,2\n", 17);

#define EVAL(im, lb) (const char *const[]){ "eval", model, "--images", tmp(im), "--labels", tmp(lb), "--dry-run", NULL }
    bad("has 3 labels but", EVAL("x.npy", "y3.npy"));
    bad("label 99 of item 2 is not a class 0..9", EVAL("x.npy", "y99.npy"));
    bad("labels must be integers", EVAL("x.npy", "yf.npy"));
    bad("images must be uint8", EVAL("x16.npy", "y3.npy"));
    bad("no axis of 1 channel", EVAL("x3.npy", "y3.npy"));
    bad("Fortran-ordered", EVAL("xF.npy", "y3.npy"));
    bad("data bytes, shape and dtype need", EVAL("xshort.npy", "y3.npy"));
    bad("pixels scaled to [0, 1]", EVAL("xf2.npy", "y3.npy"));
    bad("truncated", EVAL("x.idx", "y.idx"));
    bad("unreadable PNG", EVAL("png", "png/bad.csv"));
    bad("colour image, the SuperNet takes 1 channel", EVAL("png", "png/rgb.csv"));
    bad("is not a class index", EVAL("png", "png/lbl.csv"));
    bad("zz.png", EVAL("png", "png/missing.csv"));
    bad("No such file", EVAL("nothere.npy", "y3.npy"));
#undef EVAL
    /* usage errors: exit 2 */
    run_result r = RUN("eval", model, "--images", tmp("x.npy"), "--dry-run");
    cr_assert_eq(r.status, 2, "%s", r.err);
    run_free(&r);
    r = RUN("eval", model, "--dataset", "fashion-mnist", "--images", tmp("x.npy"), "--dry-run");
    cr_assert_eq(r.status, 2, "%s", r.err);
    run_free(&r);
    r = RUN("eval", model, "--images", tmp("x.npy"), "--labels", tmp("y3.npy"), "--int8", "--dry-run");
    cr_assert_eq(r.status, 2, "%s", r.err);
    run_free(&r);
}

Test(cli_dataset, candidates_are_seeded_and_serve_refuses_unmeasured, .init = make_tmpdir, .fini = remove_tmpdir)
{
    const char *model = model_path();
    run_result a = RUN("candidates", model, "--random", "3", "--seed", "5", "--json", "-o", tmp("a.sushi"));
    run_result b = RUN("candidates", model, "--random", "3", "--seed", "5", "--json", "-o", tmp("b.sushi"));
    cr_assert_eq(a.status, 0, "%s", a.err);
    cr_assert_eq(b.status, 0, "%s", b.err);
    cr_assert_str_eq(a.out, b.out, "same seed, same table");
    run_free(&a), run_free(&b);
    a = RUN("candidates", model, "--uniform", "--resolutions", "16,28", "--json", "-o", tmp("u.sushi"));
    cJSON *j = json_ok(&a);
    /* ks {3,5,7} x e {3,4,6} x d {2,3,4} x 2 resolutions */
    cr_assert_eq(cJSON_GetObjectItem(j, "candidates")->valuedouble, 54.0);
    cJSON_Delete(j);
    run_free(&a);
    a = RUN("serve", tmp("u.sushi"), "--backend", "cycle", "--queries", "10");
    expect_error(&a, 1);
    cr_assert_not_null(strstr(a.err, "run `sushi eval"), "%s", a.err);
    run_free(&a);
    /* --keep keeps measured entries: served as before */
    a = RUN("candidates", model, "--keep", "--config", "max@16", "--json", "-o", tmp("k.sushi"));
    j = json_ok(&a);
    cJSON *t = cJSON_GetObjectItem(j, "table");
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "accuracy")));
    cJSON_Delete(j);
    run_free(&a);
    a = RUN("candidates", model, "--resolutions", "17", "--uniform", "-o", tmp("x.sushi"));
    cr_assert_eq(a.status, 2, "%s", a.err);
    run_free(&a);
    a = RUN("candidates", model, "--config", "{\"ks\":9}", "-o", tmp("x.sushi"));
    expect_error(&a, 1);
    run_free(&a);
}

/* --random N draws N distinct SubNets, and refuses at once an N the space cannot hold.
 * tests/format/tiny-v1.sushi: ks {3,5} x2, e {2,3} x2, d {1,2}, resolutions 24 and 28:
 * 2^5 = 32 configs per resolution. */
Test(cli_dataset, candidates_random_are_distinct_and_bounded, .init = make_tmpdir, .fini = remove_tmpdir)
{
    static char tiny[1024];
    const char *src = getenv("SUSHI_SRCDIR");
    cr_assert_not_null(src);
    snprintf(tiny, sizeof tiny, "%s/tests/format/tiny-v1.sushi", src);
    /* the whole space: 64 draws without repeats (a repeat is drawn again) */
    run_result a = RUN("candidates", tiny, "--random", "64", "--seed", "3", "--json", "-o", tmp("all.sushi"));
    cJSON *j = json_ok(&a);
    cr_assert_eq(cJSON_GetObjectItem(j, "candidates")->valuedouble, 64.0);
    cJSON *t = cJSON_GetObjectItem(j, "table");
    int n = cJSON_GetArraySize(t);
    cr_assert_eq(n, 64);
    char *cfg[64];
    for (int x = 0; x < n; x++) {
        cfg[x] = cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetArrayItem(t, x), "config"));
        cr_assert_not_null(cfg[x]);
        for (int y = 0; y < x; y++)
            cr_assert(strcmp(cfg[x], cfg[y]) != 0, "rows %d and %d are both %s", y, x, cfg[x]);
    }
    for (int x = 0; x < n; x++)
        free(cfg[x]);
    cJSON_Delete(j);
    run_free(&a);
    a = RUN("candidates", tiny, "--random", "33", "--resolutions", "28", "-o", tmp("x.sushi"));
    expect_error(&a, 2);
    cr_assert_not_null(strstr(a.err, "only 32 different SubNets at the 1 resolution(s) asked, 0 of them already "
                                     "chosen: at most 32 more"), "%s", a.err);
    run_free(&a);
    /* the uniform ones count: 2 x 2 x 2 uniform at 28, so at most 24 random ones more */
    a = RUN("candidates", tiny, "--uniform", "--random", "25", "--resolutions", "28", "-o", tmp("x.sushi"));
    expect_error(&a, 2);
    cr_assert_not_null(strstr(a.err, "8 of them already chosen: at most 24 more"), "%s", a.err);
    run_free(&a);
    struct stat st;
    cr_assert_neq(stat(tmp("x.sushi"), &st), 0, "nothing written on the error");
}

/* recalibrate writes per-candidate BN statistics that give exactly the
 * SubNet sushi_cpu_recalibrate_bn() builds from the same images. */
Test(cli_dataset, recalibrate_stores_what_recalibrate_bn_computes, .init = make_tmpdir, .fini = remove_tmpdir)
{
    need_data();
    const char *model = small_model();
    uint8_t *px = malloc(40 * 784), *y = malloc(40);
    read_fmnist(40, px, y);
    write_npy(tmp("c.npy"), "|u1", "(40, 28, 28)", px, 40 * 784, false);
    run_result r = RUN("recalibrate", model, "--images", tmp("c.npy"), "--calib", "40", "--batch", "20", "--json",
                       "-o", tmp("rc.sushi"));
    cJSON *j = json_ok(&r);
    cr_assert_eq(cJSON_GetObjectItem(j, "images")->valuedouble, 40.0);
    cJSON_Delete(j);
    run_free(&r);

    sushi_context *ctx;
    sushi_supernet *sn, *rc_sn;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, model, NULL, &sn), SUSHI_OK);
    cr_assert_eq(sushi_supernet_load_file(ctx, tmp("rc.sushi"), NULL, &rc_sn), SUSHI_OK);
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(rc_sn, &in), SUSHI_OK);
    cr_assert_not_null(strstr(in.provenance, "BN statistics of 2 of 2 candidates recalibrated"), "%s", in.provenance);
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &ci), SUSHI_OK);
    uint32_t r16 = ci.config.resolution;
    float *x = malloc(40 * r16 * r16 * sizeof *x);
    for (uint32_t i = 0; i < 40; i++)
        cr_assert_eq(sushi_input_from_u8(sn, px + i * 784, 28, 28, 1, r16, x + (size_t)i * r16 * r16, r16 * r16),
                     SUSHI_OK);
    sushi_subnet *s = NULL, *ref = NULL, *stored = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &ci.config, &s), SUSHI_OK);
    cr_assert_eq(sushi_cpu_recalibrate_bn(s, x, 40, 20, &ref), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(rc_sn, &ci.config, &stored), SUSHI_OK);
    sushi_backend *b, *b2;
    cr_assert_eq(sushi_backend_create(sn, "cpu", &b), SUSHI_OK);
    cr_assert_eq(sushi_backend_create(rc_sn, "cpu", &b2), SUSHI_OK);
    float l_ref[10], l_st[10], l_old[10];
    const sushi_subnet *nets[3] = { ref, stored, s };
    float *outs[3] = { l_ref, l_st, l_old };
    for (int k = 0; k < 3; k++) {
        sushi_run_args a = SUSHI_RUN_ARGS_INIT;
        a.input = x;
        a.input_len = (size_t)r16 * r16;
        a.output = outs[k];
        a.output_len = 10;
        cr_assert_eq(sushi_backend_run(k == 1 ? b2 : b, nets[k], &a, NULL), SUSHI_OK);
    }
    double diff_old = 0.0;
    for (int c = 0; c < 10; c++) {
        cr_assert_float_eq(l_st[c], l_ref[c], 1e-4 * (1.0 + fabsf(l_ref[c])), "logit %d: %g vs %g", c, l_st[c],
                           l_ref[c]);
        diff_old += fabs((double)l_old[c] - l_ref[c]);
    }
    cr_assert(diff_old > 1e-6, "recalibration on 40 images changed nothing: the test could not fail");
    /* the C API refuses a wrong length and a negative variance */
    size_t ns = sushi_cpu_bn_stats_len(s);
    float *st = calloc(ns, sizeof *st);
    const float *ptrs[2] = { st, NULL };
    size_t lens[2] = { ns - 1, 0 };
    sushi_supernet *bad_sn = NULL;
    cr_assert_eq(sushi_supernet_with_bn_stats(sn, ptrs, lens, 2, "test", &bad_sn), SUSHI_ERR_INVALID);
    cr_assert_null(bad_sn);
    lens[0] = ns;
    st[ns - 1] = -1.0f;
    cr_assert_eq(sushi_supernet_with_bn_stats(sn, ptrs, lens, 2, "test", &bad_sn), SUSHI_ERR_RANGE);
    st[ns - 1] = 1.0f;
    cr_assert_eq(sushi_supernet_with_bn_stats(sn, ptrs, lens, 2, "test", &bad_sn), SUSHI_OK);
    sushi_supernet_destroy(bad_sn);
    free(st);
    sushi_backend_destroy(b), sushi_backend_destroy(b2);
    sushi_subnet_destroy(s), sushi_subnet_destroy(ref), sushi_subnet_destroy(stored);
    sushi_supernet_destroy(sn), sushi_supernet_destroy(rc_sn);
    sushi_context_destroy(ctx);
    free(x), free(px), free(y);
}

/* the shared harness has helpers this file does not need */
__attribute__((unused)) static void harness_unused(void)
{
    (void)num, (void)str, (void)boolean, (void)item, (void)builtin, (void)subnet, (void)stats;
}
