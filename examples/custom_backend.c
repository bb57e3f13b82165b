/*
 * custom_backend: plug your own backend into libsushi.
 *
 *   custom_backend [SUPERNET]      (default ofa-mbv3-w1.0)
 *
 * A backend is a table of functions (sushi_backend_ops) registered in a
 * context under a name, exactly as the built-in "cpu", "cycle" and "null"
 * backends are. This one is a *roofline* cost model: a query takes
 *
 *     latency = max(MACs / peak_MAC_rate, off-chip bytes / bandwidth)
 *
 * where the off-chip bytes are the weights that are NOT in the resident
 * SubGraph plus every activation read and written once. It has no `run`
 * slot, so sushi_backend_run() on it returns SUSHI_ERR_UNSUPPORTED: a slot
 * left NULL is simply not called.
 *
 * Tunables (sushi_backend_set_param): "peak_gmacs" (GMAC/s, default 129.6 =
 * 1296 MACs/cycle at 100 MHz, the SushiAccel datapath) and "bw_gbs" (GB/s,
 * default 19.2, one DDR4-2400 64-bit channel), "pj_per_byte" (off-chip
 * energy, default 20 pJ/byte).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sushi/sushi.h>

/* ------------------------------------------------------------ the backend */

typedef struct roofline {
    const sushi_supernet *sn; /* borrowed: the library keeps it alive for us */
    sushi_subgraph *resident; /* what is on chip now */
    double peak_macs_per_s;
    double bytes_per_s;
    double j_per_byte;
} roofline;

static int rl_create(void *user, const sushi_supernet *sn, void **state_out)
{
    (void)user; /* the pointer given at registration; unused here */
    roofline *r = calloc(1, sizeof *r);
    if (!r)
        return SUSHI_ERR_NOMEM;
    r->sn = sn;
    r->peak_macs_per_s = 129.6e9;
    r->bytes_per_s = 19.2e9;
    r->j_per_byte = 20e-12;
    int rc = sushi_subgraph_create(sn, &r->resident); /* starts empty */
    if (rc) {
        free(r);
        return rc;
    }
    *state_out = r;
    return SUSHI_OK;
}

static void rl_destroy(void *state)
{
    roofline *r = state;
    sushi_subgraph_destroy(r->resident);
    free(r);
}

/* Keyed tunables with range checks: unknown key -> NOT_FOUND, bad value -> RANGE. */
static double *rl_param(roofline *r, const char *key, double *scale)
{
    if (strcmp(key, "peak_gmacs") == 0) {
        *scale = 1e9;
        return &r->peak_macs_per_s;
    }
    if (strcmp(key, "bw_gbs") == 0) {
        *scale = 1e9;
        return &r->bytes_per_s;
    }
    if (strcmp(key, "pj_per_byte") == 0) {
        *scale = 1e-12;
        return &r->j_per_byte;
    }
    return NULL;
}

static int rl_set_param(void *state, const char *key, double value)
{
    double scale;
    double *p = rl_param(state, key, &scale);
    if (!p)
        return SUSHI_ERR_NOT_FOUND;
    if (!(value > 0.0 && value < 1e9))
        return SUSHI_ERR_RANGE;
    *p = value * scale;
    return SUSHI_OK;
}

static int rl_get_param(void *state, const char *key, double *value)
{
    double scale;
    double *p = rl_param(state, key, &scale);
    if (!p)
        return SUSHI_ERR_NOT_FOUND;
    *value = *p / scale;
    return SUSHI_OK;
}

/* Activation bytes (int8): every layer reads its inputs and writes its output once. */
static uint64_t activation_bytes(const sushi_subnet *s, uint32_t n_layers)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n_layers; i++) {
        sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
        if (sushi_subnet_layer(s, i, &li) != SUSHI_OK)
            continue;
        uint64_t in = (uint64_t)li.in_c * li.in_h * li.in_w;
        total += in * (li.input2 != UINT32_MAX ? 2 : 1) + (uint64_t)li.out_c * li.out_h * li.out_w;
    }
    return total;
}

static int rl_cost(void *state, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    roofline *r = state;
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    int rc = sushi_subnet_get_stats(s, &st);
    if (rc)
        return rc;
    /* The library hands us `out` already zeroed with its size set: fill what we model. */
    out->macs = st.macs;
    out->hit_bytes = g ? sushi_subgraph_hit_bytes(g, s) : 0;
    out->weight_bytes = st.weight_bytes - out->hit_bytes;
    out->act_bytes = activation_bytes(s, st.n_layers);
    out->offchip_bytes = out->weight_bytes + out->act_bytes;
    double t_compute = st.macs / r->peak_macs_per_s;
    double t_memory = out->offchip_bytes / r->bytes_per_s;
    out->latency_s = t_compute > t_memory ? t_compute : t_memory;
    out->energy_offchip_j = out->offchip_bytes * r->j_per_byte;
    out->energy_j = out->energy_offchip_j;
    return SUSHI_OK;
}

static int rl_set_resident(void *state, const sushi_subgraph *g, sushi_cost *reload)
{
    roofline *r = state;
    if (!g)
        return sushi_subgraph_clear(r->resident);
    /* Loading the SubGraph streams its bytes in once. */
    reload->weight_bytes = reload->offchip_bytes = sushi_subgraph_bytes(g);
    reload->latency_s = reload->offchip_bytes / r->bytes_per_s;
    reload->energy_j = reload->energy_offchip_j = reload->offchip_bytes * r->j_per_byte;
    return sushi_subgraph_copy(r->resident, g);
}

static const sushi_backend_ops roofline_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION, /* the table layout we were compiled for */
    .caps = SUSHI_BACKEND_CAP_COST,           /* cost only: no run */
    .description = "roofline: max(compute, off-chip traffic) latency model",
    .create = rl_create,
    .destroy = rl_destroy,
    .set_param = rl_set_param,
    .get_param = rl_get_param,
    .cost = rl_cost,
    .set_resident = rl_set_resident,
    .run = NULL, /* not provided: sushi_backend_run() returns SUSHI_ERR_UNSUPPORTED */
};

/* -------------------------------------------------------------- using it */

static int check(const char *what, int rc)
{
    if (rc)
        fprintf(stderr, "custom_backend: %s: %s (%s)\n", what, sushi_status_name(rc),
                sushi_status_str(rc));
    return rc;
}

static void show(const char *label, const sushi_cost *c, double peak)
{
    double t_compute = c->macs / peak;
    printf("  %-28s %8.3f ms  off-chip %7.3f MB (weights %7.3f MB, hit %7.3f MB)  %s-bound\n",
           label, c->latency_s * 1e3, c->offchip_bytes / 1e6, c->weight_bytes / 1e6,
           c->hit_bytes / 1e6, c->latency_s > t_compute ? "memory" : "compute");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "ofa-mbv3-w1.0";
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_backend *b = NULL;
    sushi_subnet *small = NULL, *big = NULL;
    sushi_subgraph *g = NULL;
    int status = 1; /* exit status: set to 0 once everything ran */
    int rc;         /* statuses the demo prints on purpose */

    /* 1. Register while the context is still being configured (before any load). */
    if (check("context", sushi_context_create(NULL, &ctx)))
        return 1;
    if (check("register", sushi_backend_register(ctx, "roofline", &roofline_ops, NULL)))
        goto out;
    printf("registered backends:");
    for (size_t i = 0; sushi_backend_name(ctx, i); i++)
        printf(" %s", sushi_backend_name(ctx, i));
    printf("\n");

    if (check("load", sushi_supernet_builtin(ctx, what, 0, &sn)))
        goto out;
    /* The context is now in use: registering more is refused. */
    rc = sushi_backend_register(ctx, "late", &roofline_ops, NULL);
    printf("registering after a load: %s\n", sushi_status_name(rc));

    /* 2. Instantiate it like any built-in backend, and tune it. */
    if (check("backend", sushi_backend_create(sn, "roofline", &b)))
        goto out;
    if (check("set_param", sushi_backend_set_param(b, "bw_gbs", 4.0)))
        goto out;
    double bw = 0, peak = 0;
    sushi_backend_get_param(b, "bw_gbs", &bw);
    sushi_backend_get_param(b, "peak_gmacs", &peak);
    printf("backend %s: peak %.1f GMAC/s, bandwidth %.1f GB/s\n", sushi_backend_get_name(b), peak, bw);
    rc = sushi_backend_set_param(b, "bw_gbs", -1.0);
    printf("bw_gbs = -1: %s\n", sushi_status_name(rc));

    /* 3. Cost two SubNets, then make the small one's weights resident. */
    sushi_config cfg = SUSHI_CONFIG_INIT;
    if (check("config", sushi_config_parse(sn, "min@160", 0, &cfg, NULL, 0)) ||
        check("subnet", sushi_subnet_create(sn, &cfg, &small)) ||
        check("config", sushi_config_parse(sn, "max@224", 0, &cfg, NULL, 0)) ||
        check("subnet", sushi_subnet_create(sn, &cfg, &big)) ||
        check("subgraph", sushi_subgraph_create(sn, &g)) ||
        check("subgraph", sushi_subgraph_set_subnet(g, small)))
        goto out;

    sushi_cost c = SUSHI_COST_INIT;
    printf("nothing resident:\n");
    if (check("cost", sushi_backend_cost(b, small, NULL, &c)))
        goto out;
    show("min@160", &c, peak * 1e9);
    double cold_small = c.latency_s;
    if (check("cost", sushi_backend_cost(b, big, NULL, &c)))
        goto out;
    show("max@224", &c, peak * 1e9);
    double cold_big = c.latency_s;

    sushi_cost reload = SUSHI_COST_INIT;
    if (check("set_resident", sushi_backend_set_resident(b, g, &reload)))
        goto out;
    printf("SubGraph of min@160 resident (reload %.3f MB, %.3f ms):\n", reload.offchip_bytes / 1e6,
           reload.latency_s * 1e3);
    if (check("cost", sushi_backend_cost(b, small, g, &c)))
        goto out;
    show("min@160", &c, peak * 1e9);
    printf("  -> %.1f %% faster\n", 100.0 * (1.0 - c.latency_s / cold_small));
    if (check("cost", sushi_backend_cost(b, big, g, &c)))
        goto out;
    show("max@224 (shares a prefix)", &c, peak * 1e9);
    printf("  -> %.1f %% faster\n", 100.0 * (1.0 - c.latency_s / cold_big));

    /* 4. A slot the table leaves NULL is not called. */
    float in[1], out_logits[1];
    sushi_run_args args = SUSHI_RUN_ARGS_INIT;
    args.input = in;
    args.input_len = 1;
    args.output = out_logits;
    args.output_len = 1;
    rc = sushi_backend_run(b, small, &args, NULL);
    printf("run on a cost-only backend: %s\n", sushi_status_name(rc));
    status = 0;
out:
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(small);
    sushi_subnet_destroy(big);
    sushi_backend_destroy(b);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return status;
}
