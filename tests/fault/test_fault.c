/*
 * Fault injection: a context allocator that fails the N-th allocation (malloc
 * or realloc), for N = 1, 2, ... until the step succeeds without reaching N.
 * Every step must return SUSHI_OK or SUSHI_ERR_NOMEM, never crash, and leak
 * nothing: the allocator counts live blocks, which must be back to zero once
 * everything is destroyed. Only allocations that go through the context
 * allocator are counted: OpenBLAS, libcbor internals (cbor_load), cJSON and
 * libc (getline, fopen) allocate on their own; LeakSanitizer (the ASan build)
 * covers those.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sushi/sushi.h>

/* ---------------------------------------------------------- the allocator */
typedef struct fa {
    long calls;    /* allocations attempted (malloc + realloc) */
    long fail_at;  /* fail the allocation with this 1-based number; 0 = never */
    long live;     /* live blocks */
    long failed;   /* allocations refused */
} fa;

#define HDR 16
static void *fa_malloc(void *u, size_t n)
{
    fa *a = u;
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failed++;
        return NULL;
    }
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    a->live++;
    return p + HDR;
}

static void *fa_realloc(void *u, void *p, size_t n)
{
    if (!p)
        return fa_malloc(u, n);
    fa *a = u;
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failed++;
        return NULL;
    }
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *q = realloc((unsigned char *)p - HDR, n + HDR);
    return q ? q + HDR : NULL;
}

static void fa_free(void *u, void *p)
{
    if (!p)
        return;
    fa *a = u;
    a->live--;
    free((unsigned char *)p - HDR);
}

static fa A;
static sushi_allocator fa_alloc(void)
{
    sushi_allocator al = SUSHI_ALLOCATOR_INIT;
    al.malloc_fn = fa_malloc;
    al.realloc_fn = fa_realloc;
    al.free_fn = fa_free;
    al.user = &A;
    return al;
}

/* Arm: the next allocation counted is number 1. */
static void arm(long n)
{
    A.calls = 0;
    A.fail_at = n;
}
static void disarm(void) { A.fail_at = 0; }

/* A step: setup (not injected), step (injected; returns a status), teardown. */
typedef struct step {
    const char *name;
    void (*setup)(void);
    int (*run)(void);      /* injected part */
    void (*check)(void);   /* after a successful run (not injected) */
    void (*undo)(void);    /* destroy what run made (not injected) */
    void (*teardown)(void);
    const char *backend;   /* skip when this backend is not registered */
    bool shared;           /* setup/teardown once; each run must free what it made (undo) */
} step;

static sushi_context *ctx;
static sushi_supernet *sn;
static sushi_subnet *sub, *sub2;
static sushi_subgraph *g1, *g2, *g3;
static sushi_backend *be;
static sushi_policy *pol;
static sushi_sched *sch;
static sushi_config cfg;
static void *saved;
static size_t saved_n;
static sushi_supernet *loaded;
static int run_rc2; /* status of a second call after a failure */

static int new_ctx(void)
{
    sushi_allocator al = fa_alloc();
    return sushi_context_create(&al, &ctx);
}

static void base_setup(void)
{
    disarm();
    cr_assert_eq(new_ctx(), SUSHI_OK);
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
}

static void base_teardown(void)
{
    disarm();
    sushi_sched_destroy(sch);
    sch = NULL;
    sushi_policy_destroy(pol);
    pol = NULL;
    sushi_backend_destroy(be);
    be = NULL;
    sushi_subgraph_destroy(g1);
    sushi_subgraph_destroy(g2);
    sushi_subgraph_destroy(g3);
    g1 = g2 = g3 = NULL;
    sushi_subnet_destroy(sub);
    sushi_subnet_destroy(sub2);
    sub = sub2 = NULL;
    sushi_supernet_destroy(loaded);
    loaded = NULL;
    if (saved)
        sushi_supernet_free_buffer(sn, saved);
    saved = NULL;
    sushi_supernet_destroy(sn);
    sn = NULL;
    sushi_context_destroy(ctx);
    ctx = NULL;
}

/* 1. context + built-in SuperNet */
static void s1_setup(void) { disarm(); }
static int s1_run(void)
{
    int rc = new_ctx();
    if (rc)
        return rc;
    return sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn);
}

/* 2. load_memory of a saved file (seed mode and float32 of the tiny fixture) */
static void s2_setup(void)
{
    base_setup();
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    cr_assert_eq(sushi_supernet_save_memory(sn, &so, &saved, &saved_n), SUSHI_OK);
}
static int s2_run(void) { return sushi_supernet_load_memory(ctx, saved, saved_n, NULL, &loaded); }
static void s2_undo(void) { sushi_supernet_destroy(loaded); loaded = NULL; }

static unsigned char *tiny;
static size_t tiny_n;
static void s2b_setup(void)
{
    disarm();
    cr_assert_eq(new_ctx(), SUSHI_OK);
    if (!tiny) {
        FILE *f = fopen(SUSHI_FORMAT_FIXTURE, "rb");
        cr_assert(f, "fixture %s", SUSHI_FORMAT_FIXTURE);
        tiny = malloc(1 << 20);
        tiny_n = fread(tiny, 1, 1 << 20, f);
        fclose(f);
    }
}
static int s2b_run(void) { return sushi_supernet_load_memory(ctx, tiny, tiny_n, NULL, &loaded); }
static int s2c_run(void) { return sushi_supernet_load_file(ctx, SUSHI_FORMAT_FIXTURE, NULL, &loaded); }
static int s2d_run(void)
{
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.flags = SUSHI_LOAD_CHECK_FINITE;
    return sushi_supernet_load_memory(ctx, tiny, tiny_n, &o, &loaded);
}
static void s2b_check(void)
{
    sushi_config c = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(loaded, true, 0, &c), SUSHI_OK);
    sushi_subnet *s;
    cr_assert_eq(sushi_subnet_create(loaded, &c, &s), SUSHI_OK);
    sushi_subnet_destroy(s);
}

/* 3. config parse + SubNet create */
static int s3_run(void)
{
    cfg = (sushi_config)SUSHI_CONFIG_INIT;
    char err[128];
    int rc = sushi_config_parse(sn, "{\"ks\":[3,5,7,3,5,7,3,5,7,3,5,7,3,5,7,3,5,7,3,5],\"e\":4,\"d\":3,\"r\":192}",
                                0, &cfg, err, sizeof err);
    if (rc)
        return rc;
    return sushi_subnet_create(sn, &cfg, &sub);
}
static void s3_undo(void) { sushi_subnet_destroy(sub); sub = NULL; }

/* 4. subgraph ops */
static void s4_setup(void)
{
    base_setup();
    sushi_config c = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(sn, true, 0, &c), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(sn, &c, &sub), SUSHI_OK);
    cr_assert_eq(sushi_config_extreme(sn, false, 0, &c), SUSHI_OK);
    cr_assert_eq(sushi_subnet_create(sn, &c, &sub2), SUSHI_OK);
}
static int s4_run(void)
{
    int rc;
    if ((rc = sushi_subgraph_create(sn, &g1)) || (rc = sushi_subgraph_create(sn, &g2)) ||
        (rc = sushi_subgraph_create(sn, &g3)))
        return rc;
    if ((rc = sushi_subgraph_set_subnet(g1, sub)) || (rc = sushi_subgraph_set_subnet(g2, sub2)) ||
        (rc = sushi_subgraph_intersect_subnet(g1, sub2)) || (rc = sushi_subgraph_copy(g3, g1)) ||
        (rc = sushi_subgraph_intersect(g3, g1, g2)) || (rc = sushi_subgraph_truncate(g3, 1000)) ||
        (rc = sushi_subgraph_clear(g2)))
        return rc;
    return SUSHI_OK;
}
static void s4_undo(void)
{
    sushi_subgraph_destroy(g1);
    sushi_subgraph_destroy(g2);
    sushi_subgraph_destroy(g3);
    g1 = g2 = g3 = NULL;
}

/* 5. backend create */
static int s5_cycle(void) { return sushi_backend_create(sn, "cycle", &be); }
static int s5_cpu(void) { return sushi_backend_create(sn, "cpu", &be); }
static void s5_undo(void) { sushi_backend_destroy(be); be = NULL; }

/* 6. scheduler creation (backend + policy + scheduler) */
static int s6_run(void)
{
    int rc = sushi_backend_create(sn, "cycle", &be);
    if (rc)
        return rc;
    if ((rc = sushi_policy_create(sn, "sushi", &pol)))
        return rc;
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 2;
    return sushi_sched_create(sn, be, pol, &o, &sch);
}
static void s6_undo(void)
{
    sushi_sched_destroy(sch);
    sch = NULL;
    sushi_policy_destroy(pol);
    pol = NULL;
    sushi_backend_destroy(be);
    be = NULL;
}

/* 7. served queries (cycle backend), crossing cache updates */
static void s7_setup_with(const char *backend)
{
    base_setup();
    cr_assert_eq(sushi_backend_create(sn, backend, &be), SUSHI_OK);
    cr_assert_eq(sushi_policy_create(sn, "sushi", &pol), SUSHI_OK);
    sushi_sched_options o = SUSHI_SCHED_OPTIONS_INIT;
    o.window = 2;
    o.pb_bytes = 1u << 20;
    cr_assert_eq(sushi_sched_create(sn, be, pol, &o, &sch), SUSHI_OK);
}
static void s7_setup(void) { s7_setup_with("cycle"); }
static int submit_some(int n, const float *in, size_t in_len, float *out, size_t out_len)
{
    for (int i = 0; i < n; i++) {
        sushi_query q = { .size = sizeof q, .min_accuracy = i % 2 ? 0.0 : 0.5 + 0.1 * (i % 4),
                          .slo_s = i % 3 ? 0.02 : 0.0, .arrival_s = 0.01 * i,
                          .input = in, .input_len = in_len, .output = out, .output_len = out_len };
        sushi_result r = { .size = sizeof r };
        int rc = sushi_sched_submit(sch, &q, &r);
        if (rc)
            return rc;
    }
    return SUSHI_OK;
}
static int s7_run(void)
{
    int rc = submit_some(6, NULL, 0, NULL, 0);
    if (rc == SUSHI_OK)
        return rc;
    /* the scheduler stays usable after a failure */
    long keep = A.fail_at;
    disarm();
    run_rc2 = submit_some(3, NULL, 0, NULL, 0);
    A.fail_at = keep;
    return rc;
}

/* 7b. served query with the cpu backend and an input */
static float *img, *logits;
static size_t img_n, logits_n;
static void s7b_setup(void)
{
    s7_setup_with("cpu");
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    uint32_t r = 128; /* resized bilinearly to the served resolution */
    img_n = (size_t)info.in_channels * r * r;
    logits_n = info.num_classes;
    img = malloc(img_n * sizeof *img);
    logits = malloc(logits_n * sizeof *logits);
    for (size_t i = 0; i < img_n; i++)
        img[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
}
static int s7b_run(void)
{
    int rc = submit_some(2, img, img_n, logits, logits_n);
    if (rc == SUSHI_OK)
        return rc;
    long keep = A.fail_at;
    disarm();
    run_rc2 = submit_some(1, img, img_n, logits, logits_n);
    A.fail_at = keep;
    return rc;
}
static void s7b_teardown(void)
{
    base_teardown();
    free(img);
    free(logits);
    img = logits = NULL;
}

static bool has_backend(const char *name)
{
    sushi_context *c;
    cr_assert_eq(sushi_context_create(NULL, &c), SUSHI_OK);
    bool found = false;
    for (size_t i = 0; sushi_backend_name(c, i); i++)
        if (strcmp(sushi_backend_name(c, i), name) == 0)
            found = true;
    sushi_context_destroy(c);
    return found;
}

/* Run the injection loop over one step; returns the allocations it made. */
static long inject(const step *st)
{
    if (st->backend && !has_backend(st->backend)) {
        cr_log_warn("%s: backend %s not built: skipped", st->name, st->backend);
        return 0;
    }
    A = (fa){ 0 };
    if (st->shared && st->setup)
        st->setup();
    long result = -1;
    for (long n = 1; result < 0; n++) {
        cr_assert_lt(n, 100000, "%s: no success after %ld injected failures", st->name, n);
        run_rc2 = SUSHI_OK;
        if (!st->shared) {
            A = (fa){ 0 };
            if (st->setup)
                st->setup();
        }
        long live0 = A.live;
        long failed0 = A.failed;
        arm(n);
        int rc = st->run();
        long calls = A.calls;
        disarm();
        cr_assert(rc == SUSHI_OK || rc == SUSHI_ERR_NOMEM,
                  "%s: allocation %ld failed -> %s (want OK or ERR_NOMEM)", st->name, n, sushi_status_name(rc));
        if (rc == SUSHI_ERR_NOMEM)
            cr_assert_eq(A.failed - failed0, 1, "%s: NOMEM without an injected failure (n=%ld)", st->name, n);
        cr_assert_eq(run_rc2, SUSHI_OK, "%s: not usable after a failure at allocation %ld: %s", st->name, n,
                     sushi_status_name(run_rc2));
        if (rc == SUSHI_OK && st->check)
            st->check();
        if (st->undo)
            st->undo();
        if (st->shared) {
            cr_assert_eq(A.live, live0, "%s: %ld blocks leaked after a failure at allocation %ld (rc %s)",
                         st->name, A.live - live0, n, sushi_status_name(rc));
        } else {
            if (st->teardown)
                st->teardown();
            else
                base_teardown();
            cr_assert_eq(A.live, 0, "%s: %ld blocks leaked after a failure at allocation %ld (rc %s)",
                         st->name, A.live, n, sushi_status_name(rc));
        }
        if (rc == SUSHI_OK) {
            cr_assert_lt(calls, n, "%s: allocation %ld failed but the step reported success", st->name, n);
            result = calls;
        }
    }
    if (st->shared) {
        if (st->teardown)
            st->teardown();
        else
            base_teardown();
        cr_assert_eq(A.live, 0, "%s: %ld blocks live after destroying everything", st->name, A.live);
    }
    return result;
}

/* 8. int8 ranges stored in a copy of the SuperNet (sushi calibrate's step) */
static float *rg;
static const float **rgp;
static size_t *rgn, rg_cands;
static void s8_setup(void)
{
    base_setup();
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_OK);
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &ci), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &ci.config, &s), SUSHI_OK);
    rg_cands = info.n_candidates;
    rgp = calloc(rg_cands, sizeof *rgp);
    rgn = calloc(rg_cands, sizeof *rgn);
    sushi_subnet_stats ss = SUSHI_SUBNET_STATS_INIT;
    cr_assert_eq(sushi_subnet_get_stats(s, &ss), SUSHI_OK);
    rgn[0] = 2 * (2 * (size_t)ss.n_layers + 1); /* values = the input + one per layer */
    sushi_subnet_destroy(s);
    rg = calloc(rgn[0], sizeof *rg);
    for (size_t i = 0; i < rgn[0]; i += 2)
        rg[i + 1] = 1.0f;
    rgp[0] = rg;
}
static int s8_run(void) { return sushi_supernet_with_int8_ranges(sn, rgp, rgn, rg_cands, "fault test", &loaded); }
static void s8_undo(void)
{
    sushi_supernet_destroy(loaded);
    loaded = NULL;
}
static void s8_teardown(void)
{
    base_teardown();
    free(rg), free(rgp), free(rgn);
    rg = NULL, rgp = NULL, rgn = NULL;
}

/* 9. a new candidate table (sushi candidates' step): one kept row, one new SubNet */
static sushi_config wc_cfg[2];
static void s9_setup(void)
{
    base_setup();
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &ci), SUSHI_OK);
    wc_cfg[0] = ci.config;
    wc_cfg[1] = (sushi_config)SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(sn, false, 0, &wc_cfg[1]), SUSHI_OK);
    cr_assert(!sushi_config_equal(&wc_cfg[0], &wc_cfg[1]));
}
static int s9_run(void) { return sushi_supernet_with_candidates(sn, wc_cfg, 2, "fault test", &loaded); }

#define STEP_TEST(id, ...)                                                   \
    Test(fault, id, .timeout = 600)                                          \
    {                                                                        \
        step st = { #id, __VA_ARGS__ };                                      \
        long n = inject(&st);                                                \
        cr_log_info("%s: %ld allocations, each failed once: clean", #id, n); \
    }

STEP_TEST(builtin_supernet, .setup = s1_setup, .run = s1_run)
STEP_TEST(load_memory_seed, .setup = s2_setup, .run = s2_run, .check = s2b_check, .undo = s2_undo, .shared = true)
STEP_TEST(load_memory_f32_fixture, .setup = s2b_setup, .run = s2b_run, .check = s2b_check, .undo = s2_undo)
STEP_TEST(load_file_f32_fixture, .setup = s2b_setup, .run = s2c_run, .check = s2b_check, .undo = s2_undo)
STEP_TEST(load_memory_f32_fixture_check_finite, .setup = s2b_setup, .run = s2d_run, .check = s2b_check, .undo = s2_undo)
STEP_TEST(config_parse_subnet_create, .setup = base_setup, .run = s3_run, .undo = s3_undo, .shared = true)
STEP_TEST(subgraph_ops, .setup = s4_setup, .run = s4_run, .undo = s4_undo, .shared = true)
STEP_TEST(backend_create_cycle, .setup = base_setup, .run = s5_cycle, .undo = s5_undo, .backend = "cycle", .shared = true)
STEP_TEST(backend_create_cpu, .setup = base_setup, .run = s5_cpu, .undo = s5_undo, .backend = "cpu", .shared = true)
STEP_TEST(sched_create, .setup = base_setup, .run = s6_run, .undo = s6_undo, .backend = "cycle", .shared = true)
STEP_TEST(sched_submit_cycle, .setup = s7_setup, .run = s7_run, .backend = "cycle")
STEP_TEST(with_int8_ranges, .setup = s8_setup, .run = s8_run, .undo = s8_undo, .teardown = s8_teardown, .shared = true)
STEP_TEST(with_candidates, .setup = s9_setup, .run = s9_run, .undo = s8_undo, .shared = true)
STEP_TEST(sched_submit_cpu_input, .setup = s7b_setup, .run = s7b_run, .teardown = s7b_teardown, .backend = "cpu")
