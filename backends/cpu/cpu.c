/* The "cpu" backend: float32 reference kernels on OpenBLAS and the int8
 * golden model of the HLS kernel (docs/cpu.md, docs/int8.md).
 *
 * An instance caches the memory plan of the last SubNet it ran (retaining
 * it, so the pointer identifies the SubNet) and one arena that only grows.
 * Weights are never copied on the float path; the int8 path quantises the
 * SubNet's slices once and caches them with the plan. */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "cpu_internal.h"

/* ---------------- OpenBLAS work buffer (issue 15 item 2) ----------------
 * OpenBLAS 0.3.21 takes a fixed-size work buffer per calling thread from
 * blas_memory_alloc on the first GEMM/GEMV of that thread (and one per worker
 * thread when its pool starts). When the mmap/malloc of that buffer fails,
 * blas_memory_alloc retries forever at 100 % CPU instead of failing: under
 * `ulimit -v` the process hung. Before the first float run of a thread with
 * n threads (the caller and the n - 1 workers of its pool, which call
 * OpenBLAS too: docs/cpu.md "Threads") we map n buffers of the same size with
 * the same flags and unmap them at once; if that fails, the run returns
 * SUSHI_ERR_NOMEM instead of entering OpenBLAS.
 * Size measured with `strace -e mmap` on Debian 12's libopenblas0-pthread
 * 0.3.21 (x86-64): mmap(NULL, 134217728, PROT_READ|PROT_WRITE,
 * MAP_PRIVATE|MAP_ANONYMOUS) once per thread (BUFFER_SIZE is a build
 * constant). A check, not a reservation: another thread may take the space
 * between the check and OpenBLAS's own mmap (docs/reliability.md). */
#define CPU_BLAS_BUFFER_BYTES ((size_t)128 << 20)

/* buffers known to map for this calling thread's runs: one per thread that
 * calls OpenBLAS (the caller and its pool's workers) */
static _Thread_local unsigned blas_buffers_ok;

static int blas_buffer_check(const sushi_context *ctx, unsigned n)
{
    if (n <= blas_buffers_ok)
        return SUSHI_OK;
    void *p[CPU_MAX_THREADS];
    unsigned got = 0;
    int e = 0;
    for (; got < n; got++) {
        p[got] = mmap(NULL, CPU_BLAS_BUFFER_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p[got] == MAP_FAILED) {
            e = errno;
            break;
        }
    }
    for (unsigned i = 0; i < got; i++)
        munmap(p[i], CPU_BLAS_BUFFER_BYTES);
    if (got < n) {
        struct rlimit rl;
        char lim[64] = "none";
        if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            snprintf(lim, sizeof lim, "%llu MiB", (unsigned long long)(rl.rlim_cur >> 20));
        sushi_log(ctx, SUSHI_LOG_ERROR,
                  "cpu: out of memory: OpenBLAS needs a %zu MiB work buffer for each of %u threads and they cannot "
                  "be mapped (%s; address-space limit: %s)", CPU_BLAS_BUFFER_BYTES >> 20, n, strerror(e), lim);
        return SUSHI_ERR_NOMEM;
    }
    blas_buffers_ok = n;
    return SUSHI_OK;
}

typedef struct cpu_ranges {
    sushi_subnet *s; /* retained */
    float *r;
    size_t n;
} cpu_ranges;

typedef struct cpu_state {
    const sushi_supernet *sn;
    const sushi_context *ctx;
    /* float path */
    sushi_subnet *plan_s;
    int plan_conv_mode; /* cpu_conv_mode() the plan's scratch was sized for */
    unsigned plan_threads; /* threads the plan's scratch was sized for */
    cpu_plan plan;
    void *buf_raw;
    char *buf;
    size_t buf_cap;
    void **vp;
    size_t vp_cap;
    /* int8 path */
    cpu_q8_model *q8;
    const float *q8_src;
    size_t n_ranges, cap_ranges;
    cpu_ranges *ranges;
    /* threads: the instance's "threads" param (0 = the process default,
     * sushi_cpu_set_threads) and the pool of the count in use */
    unsigned threads;
    cpu_pool *pool;
    /* cost */
    double gflops;          /* > 0: fixed throughput for cost(); 0: measured */
    double measured_gflops; /* from the last float run, 0 before */
} cpu_state;

static int cpu_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    cpu_state *st = sushi_calloc(sn->ctx, 1, sizeof *st);
    if (!st)
        return SUSHI_ERR_NOMEM;
    st->sn = sn;
    st->ctx = sn->ctx;
    st->plan_conv_mode = cpu_conv_mode(); /* reads SUSHI_CPU_CONV on first use */
    cpu_blas_single_thread();
    *out = st;
    return SUSHI_OK;
}

static void drop_plan(cpu_state *st)
{
    cpu_plan_free(st->ctx, &st->plan);
    sushi_subnet_destroy(st->plan_s);
    st->plan_s = NULL;
}

static void drop_q8(cpu_state *st)
{
    cpu_q8_model_destroy(st->q8);
    st->q8 = NULL;
    st->q8_src = NULL;
}

static void cpu_destroy(void *p)
{
    cpu_state *st = p;
    const sushi_context *ctx = st->ctx;
    drop_plan(st);
    drop_q8(st);
    cpu_pool_destroy(st->pool);
    for (size_t i = 0; i < st->n_ranges; i++) {
        sushi_subnet_destroy(st->ranges[i].s);
        sushi_free(ctx, st->ranges[i].r);
    }
    sushi_free(ctx, st->ranges);
    sushi_free(ctx, st->buf_raw);
    sushi_free(ctx, st->vp);
    sushi_free(ctx, st);
}

static int cpu_set_param(void *p, const char *key, double v)
{
    cpu_state *st = p;
    if (strcmp(key, "gflops") == 0) {
        if (!(v >= 0.0 && v <= 1e6))
            return SUSHI_ERR_RANGE;
        st->gflops = v;
        return SUSHI_OK;
    }
    if (strcmp(key, "threads") == 0) {
        if (!(v >= 1.0 && v <= 1024.0) || v != floor(v))
            return SUSHI_ERR_RANGE;
        st->threads = (unsigned)v;
        return SUSHI_OK;
    }
    return SUSHI_ERR_NOT_FOUND;
}

static int cpu_get_param(void *p, const char *key, double *v)
{
    cpu_state *st = p;
    if (strcmp(key, "gflops") == 0) {
        *v = st->gflops;
        return SUSHI_OK;
    }
    if (strcmp(key, "measured_gflops") == 0) {
        *v = st->measured_gflops;
        return SUSHI_OK;
    }
    if (strcmp(key, "threads") == 0) {
        *v = st->threads ? st->threads : (double)sushi_cpu_get_threads();
        return SUSHI_OK;
    }
    return SUSHI_ERR_NOT_FOUND;
}

#define CPU_DEFAULT_GFLOPS 10.0

/* A prediction, not a measurement: 2 * MACs / throughput, where the throughput
 * is the "gflops" param when set, else the one measured by this instance's
 * last float run, else CPU_DEFAULT_GFLOPS. */
static int cpu_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    cpu_state *st = p;
    (void)g;
    double gf = st->gflops > 0.0 ? st->gflops : st->measured_gflops > 0.0 ? st->measured_gflops : CPU_DEFAULT_GFLOPS;
    out->macs = s->macs;
    out->latency_s = 2.0 * (double)s->macs / (gf * 1e9);
    out->weight_bytes = s->weight_bytes * sizeof(float);
    out->offchip_bytes = out->weight_bytes;
    return SUSHI_OK;
}

static int cpu_set_resident(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    /* Every weight is in host memory already: nothing to load. */
    (void)p, (void)g, (void)reload;
    return SUSHI_OK;
}

static int grow_buf(cpu_state *st, size_t bytes)
{
    if (bytes <= st->buf_cap)
        return SUSHI_OK;
    void *raw;
    char *b = cpu_aligned_alloc(st->ctx, bytes, &raw);
    if (!b)
        return SUSHI_ERR_NOMEM;
    sushi_free(st->ctx, st->buf_raw);
    st->buf_raw = raw;
    st->buf = b;
    st->buf_cap = bytes;
    return SUSHI_OK;
}

static int grow_vp(cpu_state *st, size_t n)
{
    if (n <= st->vp_cap)
        return SUSHI_OK;
    void **v = sushi_realloc(st->ctx, st->vp, n * sizeof *v);
    if (!v)
        return SUSHI_ERR_NOMEM;
    st->vp = v;
    st->vp_cap = n;
    return SUSHI_OK;
}

/* The pool for the thread count in use: made (or remade) when the count
 * changed; NULL for one thread. */
static int ensure_pool(cpu_state *st, unsigned nt)
{
    if (cpu_pool_threads(st->pool) == nt)
        return SUSHI_OK;
    cpu_pool_destroy(st->pool);
    st->pool = NULL;
    return nt > 1 ? cpu_pool_create(st->ctx, nt, &st->pool) : SUSHI_OK;
}

static int ensure_plan(cpu_state *st, const sushi_subnet *s)
{
    int mode = cpu_conv_mode();
    unsigned nt = cpu_pool_threads(st->pool);
    if (st->plan_s == s && st->plan_conv_mode == mode && st->plan_threads == nt)
        return SUSHI_OK;
    drop_plan(st);
    st->plan_conv_mode = mode;
    st->plan_threads = nt;
    int rc = cpu_plan_build(st->ctx, s, sizeof(float), false, &st->plan);
    if (rc)
        return rc;
    if (nt > 1)
        st->plan.scratch_bytes = cpu_f32_scratch_bytes_nt(s, nt);
    st->plan_s = (sushi_subnet *)s;
    sushi_ref_get(&st->plan_s->ref);
    return SUSHI_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const float *find_ranges(const cpu_state *st, const sushi_subnet *s)
{
    for (size_t i = 0; i < st->n_ranges; i++)
        if (st->ranges[i].s == s)
            return st->ranges[i].r;
    return cpu_q8_stored_ranges(s);
}

static int run_q8(cpu_state *st, const sushi_subnet *s, const sushi_run_args *a)
{
    const float *r = find_ranges(st, s);
    if (!r) {
        sushi_log(st->ctx, SUSHI_LOG_ERROR,
                  "cpu: int8 run of a SubNet without activation ranges (see sushi_cpu_calibrate_int8)");
        return SUSHI_ERR_STATE;
    }
    if (!st->q8 || st->q8->s != s || st->q8_src != r) {
        drop_q8(st);
        int rc = cpu_q8_model_build(s, r, &st->q8);
        if (rc)
            return rc;
        st->q8_src = r;
    }
    unsigned nt = st->threads ? st->threads : (unsigned)sushi_cpu_get_threads();
    int rc = ensure_pool(st, nt);
    if (rc)
        return rc;
    nt = cpu_pool_threads(st->pool);
    size_t ab = cpu_align_up(st->q8->plan.arena_bytes);
    size_t sb = cpu_q8_scratch_bytes_nt(s, nt);
    rc = grow_buf(st, ab + (sb > st->q8->scratch_bytes ? sb : st->q8->scratch_bytes));
    if (rc)
        return rc;
    cpu_exec ex = { st->pool, nt };
    cpu_q8_forward_x(&ex, st->q8, a->input, (uint8_t *)st->buf, st->buf + ab, a->output, NULL);
    return SUSHI_OK;
}

static int cpu_run(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    cpu_state *st = p;
    const sushi_supernet *sn = st->sn;
    uint64_t need_in = (uint64_t)sn->in_channels * s->cfg.resolution * s->cfg.resolution;
    uint32_t n_out = s->values[s->output_value].c * s->values[s->output_value].h * s->values[s->output_value].w;
    if (!a->input || a->input_len != need_in || !a->output || a->output_len < n_out)
        return SUSHI_ERR_INVALID;
    double t0 = now_s();
    int rc;
    if (a->int8) {
        rc = run_q8(st, s, a);
        if (rc)
            return rc;
    } else {
        unsigned nt = st->threads ? st->threads : (unsigned)sushi_cpu_get_threads();
        rc = blas_buffer_check(st->ctx, nt);
        if (!rc)
            rc = ensure_pool(st, nt);
        if (!rc)
            rc = ensure_plan(st, s);
        if (!rc)
            rc = grow_buf(st, cpu_align_up(st->plan.arena_bytes) + st->plan.scratch_bytes);
        if (!rc)
            rc = grow_vp(st, s->n_values);
        if (rc)
            return rc;
        cpu_value_ptrs(&st->plan, st->buf, a->input, sizeof(float), st->vp);
        float *scratch = (float *)(st->buf + cpu_align_up(st->plan.arena_bytes));
        cpu_exec ex = { st->pool, cpu_pool_threads(st->pool) };
        cpu_f32_forward_x(&ex, s, (float *const *)st->vp, scratch);
        memcpy(a->output, st->vp[s->output_value], n_out * sizeof(float));
    }
    double dt = now_s() - t0;
    if (!a->int8 && dt > 0.0)
        st->measured_gflops = 2.0 * (double)s->macs / dt * 1e-9;
    if (cost) {
        cost->latency_s = dt;
        cost->macs = s->macs;
        cost->weight_bytes = s->weight_bytes * (a->int8 ? 1 : sizeof(float));
        cost->offchip_bytes = cost->weight_bytes;
    }
    return SUSHI_OK;
}

static const sushi_backend_ops cpu_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_INT8 | SUSHI_BACKEND_CAP_MEASURED,
    .description = "reference kernels: float32 on OpenBLAS, int8 golden model of the HLS kernel",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .set_param = cpu_set_param,
    .get_param = cpu_get_param,
    .cost = cpu_cost,
    .set_resident = cpu_set_resident,
    .run = cpu_run,
};

const sushi_backend_ops *sushi_backend_cpu_ops(void);
const sushi_backend_ops *sushi_backend_cpu_ops(void) { return &cpu_ops; }

void *cpu_backend_state(sushi_backend *b)
{
    return (b && b->entry && b->entry->ops.run == cpu_run) ? b->state : NULL;
}

/* ---------------- public API (sushi/cpu.h) ---------------- */

/* Threads of instances whose "threads" param is not set. OpenBLAS itself is
 * kept on one thread: the backend splits its GEMMs over its own pool. */
static atomic_int default_threads = 1;

void cpu_blas_single_thread(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

int sushi_cpu_set_threads(int n)
{
    if (n < 1 || n > CPU_MAX_THREADS)
        return SUSHI_ERR_RANGE;
    atomic_store(&default_threads, n);
    return SUSHI_OK;
}

int sushi_cpu_get_threads(void) { return atomic_load(&default_threads); }

int sushi_cpu_memory_plan(const sushi_subnet *s, sushi_cpu_memory *out)
{
    if (!s || !out)
        return SUSHI_ERR_INVALID;
    if (out->size < sizeof *out)
        return SUSHI_ERR_ABI;
    const sushi_context *ctx = s->sn->ctx;
    cpu_plan pf, pq;
    int rc = cpu_plan_build(ctx, s, sizeof(float), false, &pf);
    if (rc)
        return rc;
    rc = cpu_plan_build(ctx, s, 1, true, &pq);
    if (rc) {
        cpu_plan_free(ctx, &pf);
        return rc;
    }
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->arena_bytes = pf.arena_bytes;
    out->scratch_bytes = pf.scratch_bytes;
    out->unplanned_bytes = pf.unplanned_bytes;
    out->int8_arena_bytes = pq.arena_bytes;
    out->int8_scratch_bytes = pq.scratch_bytes;
    cpu_plan_free(ctx, &pf);
    cpu_plan_free(ctx, &pq);
    return SUSHI_OK;
}

int sushi_cpu_arena_bytes(const sushi_subnet *s, size_t *bytes)
{
    if (!bytes)
        return SUSHI_ERR_INVALID;
    sushi_cpu_memory m = SUSHI_CPU_MEMORY_INIT;
    int rc = sushi_cpu_memory_plan(s, &m);
    if (rc)
        return rc;
    *bytes = (size_t)(cpu_align_up(m.arena_bytes) + m.scratch_bytes);
    return SUSHI_OK;
}

size_t sushi_cpu_int8_ranges_len(const sushi_subnet *s) { return s ? cpu_q8_ranges_len(s) : 0; }

int sushi_cpu_calibrate_int8(const sushi_subnet *s, const float *inputs, size_t n_inputs, float *ranges,
                             size_t n_ranges)
{
    if (!s || !inputs || n_inputs == 0 || !ranges)
        return SUSHI_ERR_INVALID;
    if (n_ranges < cpu_q8_ranges_len(s))
        return SUSHI_ERR_TRUNCATED;
    return cpu_calibrate_ranges(s, inputs, n_inputs, ranges);
}

int sushi_cpu_set_int8_ranges(sushi_backend *b, const sushi_subnet *s, const float *ranges, size_t n_ranges)
{
    cpu_state *st = cpu_backend_state(b);
    if (!st || !s || !ranges || s->sn != st->sn || n_ranges != cpu_q8_ranges_len(s))
        return SUSHI_ERR_INVALID;
    int rc = sushi_check_int8_ranges(st->ctx, "cpu: int8 ranges", ranges, n_ranges);
    if (rc)
        return rc;
    float *copy = sushi_malloc(st->ctx, n_ranges * sizeof *copy);
    if (!copy)
        return SUSHI_ERR_NOMEM;
    memcpy(copy, ranges, n_ranges * sizeof *copy);
    for (size_t i = 0; i < st->n_ranges; i++) {
        if (st->ranges[i].s == s) {
            if (st->q8_src == st->ranges[i].r)
                drop_q8(st);
            sushi_free(st->ctx, st->ranges[i].r);
            st->ranges[i].r = copy;
            return SUSHI_OK;
        }
    }
    if (st->n_ranges == st->cap_ranges) {
        size_t n = st->cap_ranges ? 2 * st->cap_ranges : 8;
        cpu_ranges *r = sushi_realloc(st->ctx, st->ranges, n * sizeof *r);
        if (!r) {
            sushi_free(st->ctx, copy);
            return SUSHI_ERR_NOMEM;
        }
        st->ranges = r;
        st->cap_ranges = n;
    }
    sushi_subnet *ms = (sushi_subnet *)s;
    sushi_ref_get(&ms->ref);
    st->ranges[st->n_ranges++] = (cpu_ranges){ ms, copy, n_ranges };
    return SUSHI_OK;
}
