/* Shared helpers of the core tests (tests/core).
 *
 * Criterion runs every test in a fresh process (fork + exec), so nothing
 * built in one test survives into the next. The built-in SuperNets are made
 * lazily, at most once per test process, by fx_*(); fx_release() (the .fini
 * of every suite) frees them. ofa-resnet50 (~50 M floats) is only built by the
 * tests that need it. */
#ifndef SUSHI_TEST_HELPERS_H
#define SUSHI_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* ---- lazily built fixtures (one per test process) ---- */
sushi_context *fx_ctx(void);          /* default allocator, in use once a SuperNet exists */
const sushi_supernet *fx_mbv3(void);  /* ofa-mbv3-w1.0, default seed */
const sushi_supernet *fx_mbv3_12(void); /* ofa-mbv3-w1.2 */
const sushi_supernet *fx_resnet(void); /* ofa-resnet50 */
const sushi_supernet *fx_mbv3_other(void); /* a second, distinct ofa-mbv3-w1.0 object */
void fx_release(void);

/* ---- small conveniences (assert on failure) ---- */
sushi_config cfg_extreme(const sushi_supernet *sn, bool max, uint32_t r);
sushi_config cfg_parse(const sushi_supernet *sn, const char *text);
sushi_subnet *subnet_of(const sushi_supernet *sn, const sushi_config *cfg);
sushi_subnet *subnet_text(const sushi_supernet *sn, const char *text);
sushi_subgraph *subgraph_of(const sushi_subnet *s);
sushi_subgraph *subgraph_empty(const sushi_supernet *sn);
sushi_subnet_stats stats_of(const sushi_subnet *s);
bool subgraph_same(const sushi_subgraph *a, const sushi_subgraph *b);

/* deterministic test PRNG (splitmix64) */
uint64_t trng(uint64_t *s);
/* a random valid config drawn from the public choices API */
sushi_config cfg_random(const sushi_supernet *sn, uint64_t *rng, uint32_t resolution);

/* ---- counting allocator ---- */
typedef struct count_alloc {
    size_t n_malloc, n_realloc, n_free;
    size_t live;          /* live blocks */
    size_t live_bytes;
    size_t fail_at;       /* fail the N-th allocation (malloc or realloc) counting from 1; 0 = never */
    size_t n_alloc_calls; /* malloc + realloc calls seen */
} count_alloc;
sushi_allocator count_alloc_hooks(count_alloc *ca);

/* ---- log capture ---- */
typedef struct log_capture {
    int n;
    int last_level;
    char last[600];
    char all[4096];
    bool saw_newline;
} log_capture;
void log_capture_fn(void *user, int level, const char *msg);

/* ---- independent OFA cost model (ofa_ref.c) ----
 * Written from OFA's published rules, not from lib/: make_divisible(v, 8),
 * MBConv mid = make_divisible(round(in * e), 8), SE mid =
 * make_divisible(mid // 4, 8), ResNet bottleneck mid =
 * make_divisible(round(out * e), 8), conv MACs = oh*ow*cout*cin/groups*k*k,
 * linear in*out, params = weights + BN gamma/beta + biases. */
typedef struct ofa_cost {
    uint64_t params, macs, weight_bytes;
} ofa_cost;
uint32_t ofa_make_divisible(double v);
ofa_cost ofa_mbv3_cost(double width_mult, const sushi_config *c);
ofa_cost ofa_resnet50_cost(const sushi_config *c);
/* elements of every stored conv/linear weight of the SuperNet (incl. the
 * pre-materialised k5/k3 depthwise filters) */
uint64_t ofa_mbv3_weight_elems(double width_mult);
uint64_t ofa_resnet50_weight_elems(void);

#endif
