/*
 * inspect: load a SuperNet and look inside it.
 *
 *   inspect [SUPERNET [CONFIG]]
 *
 * SUPERNET is a built-in family ("ofa-mbv3-w1.0", "ofa-mbv3-w1.2",
 * "ofa-resnet50"; default ofa-mbv3-w1.0) or a path to a .sushi file (anything
 * with a '/' or ending in ".sushi"). CONFIG is a SubNet config: OFA's JSON arch
 * dict or a shorthand such as "min", "max@224" (default "min@160").
 *
 * It prints the SuperNet's summary, its candidate table (the profiled SubNets
 * the scheduler serves from), and the stats and modelled cost of one SubNet
 * with and without its weights resident on chip.
 *
 * Build against an installed libsushi:
 *   cc inspect.c $(pkg-config --cflags --libs sushi) -o inspect
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sushi/sushi.h>

/* Print "what: SUSHI_ERR_...: description" and return 1 (the exit status). */
static int fail(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "inspect: %s: %s: %s\n", what, sushi_status_name(rc),
            detail && *detail ? detail : sushi_status_str(rc));
    return 1;
}

static int is_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 6 && strcmp(s + n - 6, ".sushi") == 0);
}

/* Load a file or build a built-in family. */
static int open_supernet(sushi_context *ctx, const char *what, sushi_supernet **out)
{
    if (!is_path(what)) {
        int rc = sushi_supernet_builtin(ctx, what, 0, out);
        return rc ? fail(what, rc, NULL) : 0;
    }
    /* Option structs start with their size: fill them from the *_INIT macro. */
    char err[256] = "";
    sushi_load_options opts = SUSHI_LOAD_OPTIONS_INIT;
    opts.errbuf = err; /* receives the field path or byte offset of a format error */
    opts.errbuf_size = sizeof err;
    int rc = sushi_supernet_load_file(ctx, what, &opts, out);
    return rc ? fail(what, rc, err) : 0;
}

static void print_choices(const sushi_supernet *sn, const char *label, int kind, uint32_t n_slots)
{
    if (n_slots == 0)
        return;
    double v[16];
    int n = sushi_supernet_choices(sn, kind, 0, v, 16);
    printf("  %-3s %2u slots, choices {", label, (unsigned)n_slots);
    for (int i = 0; i < n && i < 16; i++)
        printf("%s%g", i ? "," : "", v[i]);
    printf("}\n");
}

static void print_info(const sushi_supernet *sn)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info); /* strings live as long as sn */
    printf("SuperNet %s (family %s%s)\n", info.name, info.family,
           info.synthetic ? ", SYNTHETIC weights" : "");
    printf("  provenance: %s\n", info.provenance);
    printf("  input %u channels, %u classes; resolutions %u..%u (%u), default %u\n",
           info.in_channels, info.num_classes, sushi_supernet_resolution(sn, 0),
           sushi_supernet_resolution(sn, info.n_resolutions - 1), info.n_resolutions,
           info.default_resolution);
    printf("  %u units, %u weight tensors, %.2f M weight elements\n", info.n_units,
           info.n_tensors, info.weight_elems / 1e6);
    print_choices(sn, "ks", SUSHI_ELASTIC_KS, info.n_ks);
    print_choices(sn, "e", SUSHI_ELASTIC_E, info.n_e);
    print_choices(sn, "d", SUSHI_ELASTIC_D, info.n_d);
    print_choices(sn, "w", SUSHI_ELASTIC_W, info.n_w);
}

static void print_candidate_row(const sushi_supernet *sn, size_t i)
{
    sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
    if (sushi_supernet_candidate(sn, i, &c) != SUSHI_OK)
        return;
    printf("  %4zu %4u %9.1f %9.2f %11.2f  ", i, c.config.resolution, c.macs / 1e6,
           c.params / 1e6, c.weight_bytes / 1e6);
    if (isnan(c.accuracy))
        printf("   -\n");
    else
        printf("%5.2f%%\n", 100.0 * c.accuracy);
}

static void print_candidates(const sushi_supernet *sn)
{
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    sushi_supernet_get_info(sn, &info);
    size_t n = info.n_candidates;
    sushi_candidate_info c0 = SUSHI_CANDIDATE_INFO_INIT;
    if (n == 0 || sushi_supernet_candidate(sn, 0, &c0) != SUSHI_OK) {
        printf("candidates: 0\n");
        return;
    }
    printf("candidates: %zu (accuracy: %s, %s %s)\n", n, c0.accuracy_source, c0.dataset, c0.metric);
    printf("  %4s %4s %9s %9s %11s  %s\n", "#", "res", "MACs(M)", "params(M)", "weights(MB)", "acc");
    /* the first three and the last three rows are enough to get the idea */
    for (size_t i = 0; i < n; i++) {
        if (i == 3 && n > 6) {
            printf("  %4s\n", "...");
            i = n - 3;
        }
        print_candidate_row(sn, i);
    }
}

static void print_cost(const char *label, const sushi_cost *c)
{
    printf("  %-22s latency %8.3f ms  off-chip %9.3f MB  hit %9.3f MB  energy %8.3f mJ\n", label,
           c->latency_s * 1e3, c->offchip_bytes / 1e6, c->hit_bytes / 1e6, c->energy_j * 1e3);
}

/* Model the SubNet's cost on the most detailed backend that is registered. */
static int cost_subnet(const sushi_supernet *sn, const sushi_subnet *s)
{
    const char *prefer[] = { "cycle", "null" };
    sushi_backend *b = NULL;
    int rc = SUSHI_ERR_NOT_FOUND;
    for (size_t i = 0; i < 2 && rc != SUSHI_OK; i++)
        rc = sushi_backend_create(sn, prefer[i], &b);
    if (rc)
        return fail("backend", rc, NULL);

    sushi_subgraph *g = NULL; /* a SubGraph holding this SubNet's weights ... */
    rc = sushi_subgraph_create(sn, &g);
    if (!rc)
        rc = sushi_subgraph_set_subnet(g, s);
    /* ... as many of them as the on-chip persistent buffer holds, when the
     * backend models one (the cycle model's "pb_kib" parameter). */
    double pb_kib = 0.0;
    int has_pb = sushi_backend_get_param(b, "pb_kib", &pb_kib) == SUSHI_OK;
    if (!rc && has_pb)
        rc = sushi_subgraph_truncate(g, (uint64_t)(pb_kib * 1024.0));
    sushi_cost cold = SUSHI_COST_INIT, warm = SUSHI_COST_INIT;
    if (!rc)
        rc = sushi_backend_cost(b, s, NULL, &cold); /* nothing resident on chip */
    if (!rc)
        rc = sushi_backend_cost(b, s, g, &warm);    /* every weight resident */
    if (!rc) {
        printf("cost on backend \"%s\"", sushi_backend_get_name(b));
        if (has_pb)
            printf(" (persistent buffer %.3f MB)", pb_kib * 1024.0 / 1e6);
        printf(":\n");
        print_cost("nothing resident:", &cold);
        print_cost("its SubGraph resident:", &warm);
    }
    sushi_subgraph_destroy(g);
    sushi_backend_destroy(b);
    return rc ? fail("cost", rc, NULL) : 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "ofa-mbv3-w1.0";
    const char *config = argc > 2 ? argv[2] : "min@160";
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_subnet *s = NULL;
    int status = 1;

    printf("libsushi %s\n", sushi_version_string());
    int rc = sushi_context_create(NULL, &ctx); /* NULL: malloc/realloc/free */
    if (rc)
        return fail("context", rc, NULL);
    if (open_supernet(ctx, what, &sn))
        goto out;
    /* The SuperNet keeps the context alive: we may drop our reference now. */
    sushi_context_destroy(ctx);
    ctx = NULL;

    print_info(sn);
    print_candidates(sn);

    char err[256] = "";
    sushi_config cfg = SUSHI_CONFIG_INIT;
    rc = sushi_config_parse(sn, config, 0, &cfg, err, sizeof err);
    if (rc) {
        fail(config, rc, err);
        goto out;
    }
    rc = sushi_subnet_create(sn, &cfg, &s);
    if (rc) {
        fail("subnet", rc, NULL);
        goto out;
    }
    char text[1024];
    sushi_config_print(sushi_subnet_config(s), text, sizeof text); /* truncates like snprintf */
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_subnet_get_stats(s, &st);
    printf("SubNet %s: %s\n", config, text);
    printf("  params %.3f M, MACs %.1f M, weights %.3f MB, %u layers", st.params / 1e6,
           st.macs / 1e6, st.weight_bytes / 1e6, st.n_layers);
    if (st.candidate >= 0)
        printf(", candidate #%d", st.candidate);
    printf("\n");
    status = cost_subnet(sn, s);
out:
    /* Destroy in any order: children keep their parents alive internally. */
    sushi_supernet_destroy(sn);
    sushi_subnet_destroy(s);
    sushi_context_destroy(ctx);
    return status;
}
