/* The cpu backend's thread pool (docs/cpu.md, "Threads").
 *
 * One pool per backend instance: `n - 1` worker threads plus the calling
 * thread, which always runs part 0 itself. A parallel loop splits [0, total)
 * into `parts` contiguous ranges by a fixed rule (part i = [total i / parts,
 * total (i + 1) / parts)), so which element a thread computes depends only on
 * the thread count, never on timing: results are deterministic for a given
 * count. Workers wait for a job by spinning on the job generation for a short
 * while (a layer's next loop usually follows within microseconds) and then
 * sleep on a condition variable; the caller waits for the parts the same way.
 * OpenBLAS runs single-threaded inside the parts (cpu.c), so the pool's
 * threads are the only ones that compute. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_internal.h"

/* How long a waiting thread spins before it sleeps. Measured by the clock,
 * not by iterations: a pause is ~10 to ~150 cycles depending on the CPU.
 * 4000 pauses (a few to 50 us) let a worker fall asleep between loops in
 * about half of ResNet-50's 131 loops per run, and the wake-ups (futex round
 * trips, slow in a VM) made 2-thread runs 62-69 instead of 56-61 ms. */
#define POOL_SPIN_NS 250000

/* Threads of all live pools of more than one thread, callers included. Only
 * while they fit the CPUs this process may use does a waiting thread spin:
 * with more threads than CPUs a spinning thread holds a CPU that a thread
 * with work is waiting for, until the scheduler's next tick (3 threads on 2
 * CPUs made a 0.065 ms Fashion-MNIST run take 5.7 ms). */
static atomic_uint live_threads;

static unsigned usable_cpus(void)
{
    static atomic_uint cached; /* 0: not read yet */
    unsigned n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (n)
        return n;
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = (unsigned)CPU_COUNT(&set);
#endif
    if (!n) {
        long k = sysconf(_SC_NPROCESSORS_ONLN);
        n = k > 0 ? (unsigned)k : 1;
    }
    atomic_store_explicit(&cached, n, memory_order_relaxed);
    return n;
}

struct cpu_pool {
    const sushi_context *ctx;
    unsigned n;             /* threads, the caller included */
    unsigned started;       /* worker threads created */
    bool counted;           /* n is in live_threads */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint_fast64_t gen; /* job generation; bumped under mu */
    atomic_uint pending;      /* workers that have not finished the current job */
    atomic_bool quit;
    /* the current job: written by the caller before gen is bumped */
    cpu_task_fn fn;
    void *arg;
    size_t total;
    unsigned parts;
    /* accounting for bench/cpu/layer_threads (cpu_pool_stats_*): off in
     * the library's own use */
    bool stats_on;
    double *part_s;           /* thread CPU seconds of each part of the current loop */
    cpu_pool_stats stats;
};

bool cpu_pool_spins(const cpu_pool *p)
{
    return p && p->n > 1 && atomic_load_explicit(&live_threads, memory_order_relaxed) <= usable_cpus();
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct worker_arg {
    cpu_pool *p;
    unsigned id;
} worker_arg;

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins until done(p, arg) or POOL_SPIN_NS have passed; returns done's last
 * answer. The clock is read every 64 pauses. Without spinning (more pool
 * threads than CPUs) only looks once. */
static bool spin_until(cpu_pool *p, bool (*done)(cpu_pool *, uint_fast64_t), uint_fast64_t arg)
{
    if (!cpu_pool_spins(p))
        return done(p, arg);
    uint64_t t0 = 0;
    for (unsigned i = 0;; i++) {
        if (done(p, arg))
            return true;
        if (i % 64 == 0) {
            uint64_t t = mono_ns();
            if (i == 0)
                t0 = t;
            else if (t - t0 >= POOL_SPIN_NS)
                return false;
        }
        relax();
    }
}

/* a new job, or quit */
static bool job_posted(cpu_pool *p, uint_fast64_t seen)
{
    return atomic_load_explicit(&p->gen, memory_order_acquire) != seen ||
           atomic_load_explicit(&p->quit, memory_order_relaxed);
}

static bool parts_done(cpu_pool *p, uint_fast64_t unused)
{
    (void)unused;
    return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

static void run_part(cpu_pool *p, unsigned id)
{
    if (id >= p->parts)
        return;
    size_t lo = p->total * id / p->parts, hi = p->total * (id + 1) / p->parts;
    if (lo >= hi)
        return;
    if (!p->stats_on) {
        p->fn(p->arg, id, lo, hi);
        return;
    }
    double t0 = thread_cpu_s();
    p->fn(p->arg, id, lo, hi);
    p->part_s[id] = thread_cpu_s() - t0;
}

static void *worker(void *a)
{
    cpu_pool *p = ((worker_arg *)a)->p;
    unsigned id = ((worker_arg *)a)->id;
    uint_fast64_t seen = 0;
    for (;;) {
        spin_until(p, job_posted, seen);
        uint_fast64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                   !atomic_load_explicit(&p->quit, memory_order_relaxed))
                pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load_explicit(&p->quit, memory_order_acquire))
            return NULL;
        seen = g;
        run_part(p, id);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void stop_workers(cpu_pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->quit, true, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->started; i++)
        pthread_join(p->th[i], NULL);
    p->started = 0;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    if (p->counted)
        atomic_fetch_sub_explicit(&live_threads, p->n, memory_order_relaxed);
    sushi_free(p->ctx, p->part_s);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    sushi_free(p->ctx, p->th);
    sushi_free(p->ctx, p);
}

int cpu_pool_create(const sushi_context *ctx, unsigned n, cpu_pool **out)
{
    *out = NULL;
    if (n < 1 || n > CPU_MAX_THREADS)
        return SUSHI_ERR_RANGE;
    cpu_pool *p = sushi_calloc(ctx, 1, sizeof *p);
    if (!p)
        return SUSHI_ERR_NOMEM;
    p->ctx = ctx;
    p->n = n;
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->quit, false);
    if (pthread_mutex_init(&p->mu, NULL)) {
        sushi_free(ctx, p);
        return SUSHI_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->go, NULL)) {
        pthread_mutex_destroy(&p->mu);
        sushi_free(ctx, p);
        return SUSHI_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->done, NULL)) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        sushi_free(ctx, p);
        return SUSHI_ERR_NOMEM;
    }
    if (n > 1) {
        atomic_fetch_add_explicit(&live_threads, n, memory_order_relaxed);
        p->counted = true;
        /* thread handles followed by their arguments, one allocation */
        p->th = sushi_calloc(ctx, n - 1, sizeof(pthread_t) + sizeof(worker_arg));
        if (!p->th) {
            cpu_pool_destroy(p);
            return SUSHI_ERR_NOMEM;
        }
        worker_arg *wa = (worker_arg *)(void *)(p->th + (n - 1));
        for (unsigned i = 0; i + 1 < n; i++) {
            wa[i].p = p;
            wa[i].id = i + 1;
            if (pthread_create(&p->th[i], NULL, worker, &wa[i])) {
                sushi_log(ctx, SUSHI_LOG_ERROR, "cpu: cannot start thread %u of %u", i + 2, n);
                cpu_pool_destroy(p);
                return SUSHI_ERR_NOMEM;
            }
            p->started++;
        }
    }
    *out = p;
    return SUSHI_OK;
}

unsigned cpu_pool_threads(const cpu_pool *p) { return p ? p->n : 1; }

unsigned cpu_parts(const cpu_pool *p, size_t total, size_t work, size_t min_work)
{
    unsigned n = cpu_pool_threads(p);
    if (n <= 1 || total <= 1 || work < 2 * min_work)
        return 1;
    size_t by_work = work / min_work;
    size_t parts = n < by_work ? n : by_work;
    if (parts > total)
        parts = total;
    return parts < 1 ? 1 : (unsigned)parts;
}

static void pool_for(cpu_pool *p, size_t total, unsigned parts, cpu_task_fn fn, void *arg);

void cpu_pool_for(cpu_pool *p, size_t total, unsigned parts, cpu_task_fn fn, void *arg)
{
    if (total == 0)
        return;
    if (!p || !p->stats_on) {
        pool_for(p, total, parts, fn, arg);
        return;
    }
    unsigned used = parts < 1 ? 1 : parts > p->n ? p->n : parts;
    for (unsigned i = 0; i < used; i++)
        p->part_s[i] = 0.0;
    double t0 = thread_cpu_s();
    if (p->n <= 1 || parts <= 1) {
        fn(arg, 0, 0, total);
        p->part_s[0] = thread_cpu_s() - t0;
    } else {
        pool_for(p, total, parts, fn, arg);
    }
    double in_for = thread_cpu_s() - t0, span = 0.0, busy = 0.0;
    for (unsigned i = 0; i < used; i++) {
        busy += p->part_s[i];
        span = p->part_s[i] > span ? p->part_s[i] : span;
    }
    p->stats.loops++;
    p->stats.parts += used;
    if (used > 1 && p->n > 1)
        p->stats.split++;
    p->stats.busy_s += busy;
    p->stats.span_s += span;
    p->stats.in_for_s += in_for;
}

int cpu_pool_stats_enable(cpu_pool *p)
{
    if (!p->part_s) {
        p->part_s = sushi_calloc(p->ctx, p->n, sizeof *p->part_s);
        if (!p->part_s)
            return SUSHI_ERR_NOMEM;
    }
    memset(&p->stats, 0, sizeof p->stats);
    p->stats_on = true;
    return SUSHI_OK;
}

cpu_pool_stats cpu_pool_stats_get(const cpu_pool *p) { return p->stats; }

static void pool_for(cpu_pool *p, size_t total, unsigned parts, cpu_task_fn fn, void *arg)
{
    if (!p || p->n <= 1 || parts <= 1) {
        fn(arg, 0, 0, total);
        return;
    }
    if (parts > p->n)
        parts = p->n;
    p->fn = fn;
    p->arg = arg;
    p->total = total;
    p->parts = parts;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_part(p, 0);
    if (!spin_until(p, parts_done, 0)) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->pending, memory_order_acquire))
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
