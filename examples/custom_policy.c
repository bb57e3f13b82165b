/*
 * custom_policy: plug your own SubGraph caching policy into libsushi.
 *
 *   custom_policy [SUPERNET [CAPACITY_KIB]]   (default ofa-mbv3-w1.0, 2048 KiB)
 *
 * A caching policy decides which weights stay resident in the accelerator's
 * persistent buffer (the SubGraph) across queries. It is a table of
 * functions (sushi_policy_ops) registered under a name, exactly like the
 * built-in policies. This one, "most-recent", keeps the weights of the most
 * recently served SubNet, cut to the buffer's capacity.
 *
 * The scheduler normally drives a policy: after every query it calls
 * observe(), and every Q queries it calls choose() with a view of the recent
 * window. Here we drive it by hand over a small query stream with temporal
 * locality (three regimes of demand) and measure the share of weight bytes
 * served from the resident SubGraph (hit ratio), against the built-in
 * "test-first" policy (keep the window's first SubNet) and against an empty
 * buffer.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sushi/sushi.h>

/* ------------------------------------------------------------- the policy */

typedef struct most_recent {
    unsigned long observed; /* queries seen through observe() */
} most_recent;

static int mr_create(void *user, const sushi_supernet *sn, void **state_out)
{
    (void)user;
    (void)sn;
    most_recent *m = calloc(1, sizeof *m);
    if (!m)
        return SUSHI_ERR_NOMEM;
    *state_out = m;
    return SUSHI_OK;
}

static void mr_destroy(void *state) { free(state); }

/* `served` is borrowed for the duration of the call only: don't keep it. */
static int mr_observe(void *state, const sushi_subnet *served)
{
    (void)served;
    ((most_recent *)state)->observed++;
    return SUSHI_OK;
}

/* `next` arrives empty and sized for the SuperNet; the library rejects a
 * choice larger than view->capacity_bytes, so truncate to it. */
static int mr_choose(void *state, const sushi_policy_view *view, sushi_subgraph *next)
{
    (void)state;
    if (view->n_window == 0) /* nothing served yet: keep what is resident */
        return view->current ? sushi_subgraph_copy(next, view->current) : SUSHI_OK;
    int rc = sushi_subgraph_set_subnet(next, view->window[view->n_window - 1]);
    if (rc)
        return rc;
    return sushi_subgraph_truncate(next, view->capacity_bytes);
}

static const sushi_policy_ops most_recent_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "keep the most recently served SubNet, truncated to capacity",
    .create = mr_create,
    .destroy = mr_destroy,
    .observe = mr_observe,
    .choose = mr_choose,
};

/* ---------------------------------------------------- driving it by hand */

enum { N_QUERIES = 48, WINDOW = 4, N_REGIMES = 3 };

/* A query stream with temporal locality: three regimes of demand, each
 * asking for candidates near one point of the table, with a little jitter
 * from a fixed LCG so the output is reproducible. */
static void make_stream(size_t n_candidates, size_t *stream)
{
    uint32_t x = 12345u;
    for (size_t t = 0; t < N_QUERIES; t++) {
        size_t regime = t * N_REGIMES / N_QUERIES;
        size_t centre = (2 * regime + 1) * n_candidates / (2 * N_REGIMES);
        x = x * 1103515245u + 12345u;
        long j = (long)((x >> 16) % 5) - 2; /* -2..2 */
        long i = (long)centre + j;
        if (i < 0)
            i = 0;
        if (i >= (long)n_candidates)
            i = (long)n_candidates - 1;
        stream[t] = (size_t)i;
    }
}

typedef struct result {
    double hit_ratio;     /* weight bytes served on chip / weight bytes needed */
    uint64_t reload_bytes; /* bytes loaded into the buffer by policy updates */
} result;

static int simulate(const sushi_supernet *sn, const char *policy, uint64_t capacity,
                    sushi_subnet *const *subnets, size_t n_subnets, const size_t *stream,
                    result *res)
{
    sushi_policy *p = NULL;
    sushi_subgraph *resident = NULL, *next = NULL, *both = NULL;
    int rc = sushi_policy_create(sn, policy, &p);
    if (!rc)
        rc = sushi_subgraph_create(sn, &resident); /* the buffer starts empty */
    if (!rc)
        rc = sushi_subgraph_create(sn, &next);
    if (!rc)
        rc = sushi_subgraph_create(sn, &both);
    uint64_t hit = 0, need = 0, reload = 0;
    const sushi_subnet *window[WINDOW];
    size_t n_window = 0;
    for (size_t t = 0; !rc && t < N_QUERIES; t++) {
        const sushi_subnet *s = subnets[stream[t]];
        sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
        sushi_subnet_get_stats(s, &st);
        need += st.weight_bytes;
        hit += sushi_subgraph_hit_bytes(resident, s); /* served from on chip */
        rc = sushi_policy_observe(p, s);
        window[n_window++] = s;
        if (rc || n_window < WINDOW)
            continue;
        /* Every WINDOW queries: ask for the next SubGraph. sushi_policy_view has
         * no *_INIT macro (yet): set size by hand. */
        sushi_policy_view view = { .size = sizeof view };
        view.supernet = sn;
        view.capacity_bytes = capacity;
        view.current = resident;
        view.window = window;
        view.n_window = n_window;
        view.candidates = (const sushi_subnet *const *)subnets;
        view.n_candidates = n_subnets;
        rc = sushi_policy_choose(p, &view, next);
        if (rc)
            break;
        /* Only the bytes not already resident cross the off-chip interface. */
        rc = sushi_subgraph_intersect(both, next, resident);
        reload += sushi_subgraph_bytes(next) - sushi_subgraph_bytes(both);
        if (!rc)
            rc = sushi_subgraph_copy(resident, next);
        n_window = 0;
    }
    res->hit_ratio = need ? (double)hit / (double)need : 0.0;
    res->reload_bytes = reload;
    sushi_subgraph_destroy(both);
    sushi_subgraph_destroy(next);
    sushi_subgraph_destroy(resident);
    sushi_policy_destroy(p);
    return rc;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "ofa-mbv3-w1.0";
    uint64_t capacity = (argc > 2 ? strtoull(argv[2], NULL, 10) : 2048u) * 1024u;
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_subnet **subnets = NULL;
    size_t n = 0;
    int status = 1;

    int rc = sushi_context_create(NULL, &ctx);
    if (!rc) /* register before the first load, like backends */
        rc = sushi_policy_register(ctx, "most-recent", &most_recent_ops, NULL);
    if (!rc)
        rc = sushi_supernet_builtin(ctx, what, 0, &sn);
    if (rc) {
        fprintf(stderr, "custom_policy: %s\n", sushi_status_name(rc));
        goto out;
    }
    printf("registered policies:");
    for (size_t i = 0; sushi_policy_name(ctx, i); i++)
        printf(" %s", sushi_policy_name(ctx, i));
    printf("\n");

    /* The candidate table is what a scheduler serves from: resolve every row. */
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);
    subnets = calloc(info.n_candidates ? info.n_candidates : 1, sizeof *subnets);
    if (!subnets || info.n_candidates == 0)
        goto out;
    for (n = 0; n < info.n_candidates; n++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        rc = sushi_supernet_candidate(sn, n, &c);
        if (!rc)
            rc = sushi_subnet_create(sn, &c.config, &subnets[n]);
        if (rc) {
            fprintf(stderr, "custom_policy: candidate %zu: %s\n", n, sushi_status_name(rc));
            goto out;
        }
    }
    size_t stream[N_QUERIES];
    make_stream(n, stream);
    printf("%s: %zu candidates, %d queries in %d regimes, window %d, buffer %llu KiB\n",
           info.name, n, N_QUERIES, N_REGIMES, WINDOW, (unsigned long long)(capacity / 1024));

    const char *policies[] = { "most-recent", "test-first" };
    for (size_t i = 0; i < sizeof policies / sizeof *policies; i++) {
        result r;
        rc = simulate(sn, policies[i], capacity, subnets, n, stream, &r);
        if (rc) {
            fprintf(stderr, "custom_policy: %s: %s\n", policies[i], sushi_status_name(rc));
            goto out;
        }
        printf("  %-12s hit ratio %5.1f %%  reloaded %8.3f MB\n", policies[i], 100.0 * r.hit_ratio,
               r.reload_bytes / 1e6);
    }
    /* With no buffer at all nothing can hit: the SGS baseline. */
    result r0;
    rc = simulate(sn, "most-recent", 0, subnets, n, stream, &r0);
    if (rc)
        goto out;
    printf("  %-12s hit ratio %5.1f %%  reloaded %8.3f MB\n", "(no buffer)", 100.0 * r0.hit_ratio,
           r0.reload_bytes / 1e6);
    status = 0;
out:
    for (size_t i = 0; subnets && i < n; i++)
        sushi_subnet_destroy(subnets[i]);
    free(subnets);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return status;
}
