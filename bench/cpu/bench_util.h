/* What the benchmark programs of bench/cpu share: a monotonic clock and the
 * median of a sample. Header-only (static inline), so each program stays one
 * source file and needs nothing more from the build. */
#ifndef SUSHI_BENCH_CPU_UTIL_H
#define SUSHI_BENCH_CPU_UTIL_H

#include <stdlib.h>
#include <time.h>

/* seconds on the monotonic clock */
static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort order of doubles, ascending */
static inline int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median of v[0 .. n) (n >= 1); sorts v */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
