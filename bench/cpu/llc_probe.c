/* llc_probe: do two CPUs share a last-level cache right now?
 *
 *   llc_probe [KIB]
 *
 * Reads a buffer of KIB KiB (default 4096: larger than a core's L2, smaller
 * than an L3) on the first CPU this process may run on, once after that CPU
 * wrote it ("local") and once after the second CPU wrote it ("remote"), each
 * the best of 30 tries, and prints one JSON line:
 *
 *   {"cpus": [0, 1], "kib": 4096, "local_gbs": 71.2, "remote_gbs": 69.8, "ratio": 0.98,
 *    "alone_gops": 2.41, "pair_gops": 4.80, "compute_scaling": 1.99}
 *
 * On cores that share their last-level cache the remote read comes from that
 * cache and the ratio is near 1; on cores that do not (two CCDs of an EPYC, or
 * vCPUs a VM host has put there) every line crosses to the other cache and
 * the ratio drops to about a half. The 2-thread speed-up of a forward pass
 * follows it (docs/performance.md, "Which memory limit"), and a VM host may
 * move its vCPUs between the two cases while a benchmark runs, so
 * bench_fair.py --speedup runs this before and after every round.
 * The two CPUs are the first two this process may use: `taskset -c A,B
 * llc_probe` probes a given pair (on a machine with SMT, pick two cores, not
 * two threads of one core, which share even their L2).
 *
 * It also measures whether the second CPU gives a whole core's arithmetic:
 * the same loop of vector multiply-adds (12 independent chains, enough to
 * keep the FMA units busy, no memory, about 20 ms) on the first CPU alone,
 * then on both at once, the median of 7 tries each, alternating;
 * "compute_scaling" is what both did together over what the first did
 * alone (2.0: two whole cores; "alone_gops", "pair_gops": billions of
 * multiply-adds per second, one per vector lane). A VM host that runs another guest on the
 * sibling hardware thread of one of our vCPUs, or on the vCPU itself, takes
 * it below 2, and no code of ours can scale past it (docs/performance.md,
 * "What the two vCPUs give").
 * Linux only (thread affinity). Exit status 2 when fewer than two CPUs are
 * usable, 1 on any other failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define TRIES 30

typedef struct probe {
    uint64_t *buf;
    size_t words;
    int cpu;
    uint64_t seed;
} probe;

static int pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *writer(void *arg)
{
    probe *p = arg;
    if (pin(p->cpu) != 0)
        return arg; /* non-NULL: failed */
    for (size_t i = 0; i < p->words; i++)
        p->buf[i] = p->seed + i;
    return NULL;
}

/* the sums go here, so that the compiler keeps the reads */
static volatile uint64_t sink;

/* one cache line per step, eight independent sums: the loads, not the adds,
 * set the pace (words is a multiple of 8) */
static uint64_t read_all(const uint64_t *buf, size_t words)
{
    uint64_t s[8] = { 0 };
    for (size_t i = 0; i < words; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += buf[i + k];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

/* best read bandwidth (GB/s) of buf on the calling thread after `cpu` wrote it */
static double best_read(probe *p, int cpu)
{
    double best = 0.0;
    for (int t = 0; t < TRIES; t++) {
        pthread_t th;
        p->cpu = cpu;
        p->seed = (uint64_t)t;
        if (pthread_create(&th, NULL, writer, p) != 0)
            return -1.0;
        void *failed = NULL;
        pthread_join(th, &failed);
        if (failed)
            return -1.0;
        double t0 = now_s();
        sink += read_all(p->buf, p->words);
        double dt = now_s() - t0;
        double gbs = (double)(p->words * sizeof(uint64_t)) / dt / 1e9;
        if (gbs > best)
            best = gbs;
    }
    return best;
}

/* ---- arithmetic throughput of one CPU, and of two at once ---- */

#define SPIN_ITERS 12000000L
#define SPIN_TRIES 7
#define SPIN_CHAINS 12 /* more than the FMA units' latency x ports: throughput-bound */

typedef float v16 __attribute__((vector_size(64)));

/* the widest vector unit this CPU has (x86-64: AVX-512, AVX2 + FMA or SSE,
 * picked at load time), as a forward pass's GEMM uses it: a sibling hardware
 * thread that also runs vector code slows this loop as it slows the GEMM */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SPIN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
#else
#define SPIN_CLONES
#endif

typedef struct spinner {
    int cpu;
    pthread_barrier_t *start; /* NULL: run alone */
    double gops;              /* multiply-adds (vector lanes) per ns */
    int failed;
} spinner;

static volatile float spin_sink;

SPIN_CLONES
static float spin_loop(long iters)
{
    v16 x[SPIN_CHAINS], m, a;
    for (int l = 0; l < 16; l++) {
        m[l] = 0.999999f;
        a[l] = 1e-7f;
    }
    for (int k = 0; k < SPIN_CHAINS; k++)
        for (int l = 0; l < 16; l++)
            x[k][l] = (float)(k + l);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < SPIN_CHAINS; k++)
            x[k] = x[k] * m + a;
    float sum = 0.0f;
    for (int k = 0; k < SPIN_CHAINS; k++)
        for (int l = 0; l < 16; l++)
            sum += x[k][l];
    return sum;
}

static void *spin(void *arg)
{
    spinner *s = arg;
    if (pin(s->cpu) != 0) {
        s->failed = 1;
        if (s->start)
            pthread_barrier_wait(s->start);
        return NULL;
    }
    if (s->start)
        pthread_barrier_wait(s->start);
    double t0 = now_s();
    spin_sink = spin_loop(SPIN_ITERS);
    double dt = now_s() - t0;
    s->gops = 16.0 * SPIN_CHAINS * (double)SPIN_ITERS / dt / 1e9;
    return NULL;
}

/* median rate of the first CPU alone (*alone) and of both at once (*pair,
 * the sum of the two threads' rates), tries alternating; 0 on success.
 * Medians, not the best: a neighbour that takes the core now and then is
 * what a forward pass meets too. */
static int compute_rates(const int cpus[2], double *alone, double *pair)
{
    double a[SPIN_TRIES], p[SPIN_TRIES];
    for (int t = 0; t < SPIN_TRIES; t++) {
        spinner one = { .cpu = cpus[0] };
        pthread_t th;
        if (pthread_create(&th, NULL, spin, &one) != 0)
            return -1;
        pthread_join(th, NULL);
        if (one.failed)
            return -1;
        a[t] = one.gops;
        pthread_barrier_t start;
        if (pthread_barrier_init(&start, NULL, 2) != 0)
            return -1;
        spinner two[2] = { { .cpu = cpus[0], .start = &start }, { .cpu = cpus[1], .start = &start } };
        pthread_t tw[2];
        if (pthread_create(&tw[0], NULL, spin, &two[0]) != 0) {
            pthread_barrier_destroy(&start);
            return -1;
        }
        if (pthread_create(&tw[1], NULL, spin, &two[1]) != 0) {
            /* the first waits at the barrier for a second that never comes */
            pthread_cancel(tw[0]);
            pthread_join(tw[0], NULL);
            pthread_barrier_destroy(&start);
            return -1;
        }
        pthread_join(tw[0], NULL);
        pthread_join(tw[1], NULL);
        pthread_barrier_destroy(&start);
        if (two[0].failed || two[1].failed)
            return -1;
        p[t] = two[0].gops + two[1].gops;
    }
    *alone = median(a, SPIN_TRIES);
    *pair = median(p, SPIN_TRIES);
    return 0;
}

int main(int argc, char **argv)
{
    long kib = 4096;
    char *end = NULL;
    if (argc > 1)
        kib = strtol(argv[1], &end, 10);
    if (argc > 2 || (end && (end == argv[1] || *end)) || kib < 64 || kib > (1L << 20)) {
        fprintf(stderr, "usage: llc_probe [KIB]  (64 .. 1048576, default 4096)\n");
        return 1;
    }
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        perror("llc_probe: sched_getaffinity");
        return 1;
    }
    int cpus[2], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &allowed))
            cpus[n++] = c;
    if (n < 2) {
        fprintf(stderr, "llc_probe: needs two usable CPUs\n");
        return 2;
    }
    probe p = { .words = (size_t)kib * 1024 / sizeof(uint64_t) };
    p.buf = aligned_alloc(64, p.words * sizeof(uint64_t));
    if (!p.buf) {
        fprintf(stderr, "llc_probe: out of memory\n");
        return 1;
    }
    double local = -1.0, remote = -1.0;
    if (pin(cpus[0]) == 0) {
        local = best_read(&p, cpus[0]);
        remote = best_read(&p, cpus[1]);
    }
    free(p.buf);
    double alone = 0.0, pair = 0.0;
    if (local <= 0.0 || remote <= 0.0 || compute_rates(cpus, &alone, &pair) != 0 || alone <= 0.0) {
        fprintf(stderr, "llc_probe: cannot run on CPUs %d and %d\n", cpus[0], cpus[1]);
        return 1;
    }
    printf("{\"cpus\": [%d, %d], \"kib\": %ld, \"local_gbs\": %.1f, \"remote_gbs\": %.1f, \"ratio\": %.2f, "
           "\"alone_gops\": %.2f, \"pair_gops\": %.2f, \"compute_scaling\": %.2f}\n",
           cpus[0], cpus[1], kib, local, remote, remote / local, alone, pair, pair / alone);
    return 0;
}
