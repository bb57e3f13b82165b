/* `sushi subgraph`: the SubGraph common to several SubNets (their per-tensor
 * intersection), its bytes and each SubNet's hit bytes, optionally truncated
 * to a byte budget (what a persistent buffer of that size would hold). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char subgraph_help[] =
    "usage: sushi subgraph FILE --config A --config B [--config C ...]\n"
    "                      [--budget BYTES] [--resolution R] [--json]\n"
    "\n"
    "Compute the SubGraph common to the SubNets A, B, ... of the SuperNet in FILE\n"
    "(a .sushi file or builtin:NAME): the per-tensor intersection of their weight\n"
    "slices. Print its bytes (int8, one byte per weight) and, for each SubNet, its\n"
    "weight bytes, the bytes it finds in the SubGraph (hit bytes) and that fraction.\n"
    "\n"
    "options:\n"
    "  -c, --config CFG      a SubNet (repeat; at least one): OFA JSON arch dict,\n"
    "                        min, max, min@R, max@R, or @PATH to read it from a file\n"
    "  -b, --budget BYTES    also truncate the SubGraph to at most BYTES (whole tensors\n"
    "                        in network order, then 16-output-channel tiles) and\n"
    "                        report the truncated SubGraph's bytes and hits\n"
    "  -r, --resolution R    override the resolution of every config\n"
    "      --json            print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help            show this help\n";

enum { OPT_CONFIG = 1, OPT_BUDGET, OPT_RESOLUTION, OPT_JSON };

static const cli_option subgraph_opts[] = {
    { "config", 'c', true, OPT_CONFIG },
    { "budget", 'b', true, OPT_BUDGET },
    { "resolution", 'r', true, OPT_RESOLUTION },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

#define MAX_CONFIGS 256

typedef struct entry {
    sushi_subnet *s;
    sushi_subnet_stats st;
    uint64_t hit, hit_trunc;
} entry;

static double fraction(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static int report(const char *file, const sushi_supernet *sn, const entry *e, size_t n, uint64_t bytes,
                  bool budgeted, uint64_t budget, uint64_t trunc_bytes, bool json)
{
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    int rc = sushi_supernet_get_info(sn, &in);
    if (rc)
        return cli_fail("info", rc, NULL);
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "file", file);
        cli_json_str(root, "supernet", in.name);
        cli_json_bool(root, "synthetic", in.synthetic);
        cli_json_num(root, "bytes", (double)bytes);
        cJSON *arr = cli_json_add_array(root, "subnets");
        for (size_t i = 0; i < n; i++) {
            cJSON *o = cli_json_append_object(arr);
            cli_json_config(o, "config", sushi_subnet_config(e[i].s));
            cli_json_num(o, "params", (double)e[i].st.params);
            cli_json_num(o, "macs", (double)e[i].st.macs);
            cli_json_num(o, "weight_bytes", (double)e[i].st.weight_bytes);
            cli_json_num(o, "hit_bytes", (double)e[i].hit);
            cli_json_num(o, "fraction", fraction(e[i].hit, e[i].st.weight_bytes));
        }
        if (budgeted) {
            cli_json_num(root, "budget", (double)budget);
            cJSON *t = cli_json_add_object(root, "truncated");
            cli_json_num(t, "bytes", (double)trunc_bytes);
            cJSON *ta = cli_json_add_array(t, "subnets");
            for (size_t i = 0; i < n; i++) {
                cJSON *o = cli_json_append_object(ta);
                cli_json_num(o, "hit_bytes", (double)e[i].hit_trunc);
                cli_json_num(o, "fraction", fraction(e[i].hit_trunc, e[i].st.weight_bytes));
            }
        } else {
            cli_json_null(root, "budget");
            cli_json_null(root, "truncated");
        }
        return cli_json_print(root);
    }
    printf("supernet          %s%s\n", in.name, in.synthetic ? " (synthetic weights)" : "");
    printf("common SubGraph   %s (%s B) of %zu SubNet%s\n", cli_fmt_mb(bytes).s, cli_fmt_u64(bytes).s, n,
           n == 1 ? "" : "s");
    if (budgeted)
        printf("budget            %s (%s B): truncated SubGraph %s (%s B)\n", cli_fmt_mb(budget).s,
               cli_fmt_u64(budget).s, cli_fmt_mb(trunc_bytes).s, cli_fmt_u64(trunc_bytes).s);
    printf("\n%3s %12s %10s %12s %10s", "#", "weight MB", "MMACs", "hit MB", "hit %");
    if (budgeted)
        printf(" %14s %10s", "budget hit MB", "hit %");
    printf("  config\n");
    for (size_t i = 0; i < n; i++) {
        char *text = cli_config_text(sushi_subnet_config(e[i].s));
        printf("%3zu %12s %10s %12s %10.2f", i, cli_fmt_mcol(e[i].st.weight_bytes).s,
               cli_fmt_mcol(e[i].st.macs).s, cli_fmt_mcol(e[i].hit).s,
               100.0 * fraction(e[i].hit, e[i].st.weight_bytes));
        if (budgeted)
            printf(" %14s %10.2f", cli_fmt_mcol(e[i].hit_trunc).s,
                   100.0 * fraction(e[i].hit_trunc, e[i].st.weight_bytes));
        printf("  %s\n", text ? text : "?");
        free(text);
    }
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}

static int compute(const char *file, const sushi_supernet *sn, entry *e, size_t n, bool budgeted,
                   uint64_t budget, bool json)
{
    sushi_subgraph *g = NULL, *t = NULL;
    int rc = sushi_subgraph_create(sn, &g);
    if (!rc)
        rc = sushi_subgraph_set_subnet(g, e[0].s);
    for (size_t i = 1; !rc && i < n; i++)
        rc = sushi_subgraph_intersect_subnet(g, e[i].s);
    if (rc) {
        sushi_subgraph_destroy(g);
        return cli_fail("common SubGraph", rc, NULL);
    }
    uint64_t bytes = sushi_subgraph_bytes(g), trunc_bytes = 0;
    for (size_t i = 0; i < n; i++)
        e[i].hit = sushi_subgraph_hit_bytes(g, e[i].s);
    if (budgeted) {
        rc = sushi_subgraph_create(sn, &t);
        if (!rc)
            rc = sushi_subgraph_copy(t, g);
        if (!rc)
            rc = sushi_subgraph_truncate(t, budget);
        if (rc) {
            sushi_subgraph_destroy(t);
            sushi_subgraph_destroy(g);
            return cli_fail("truncate SubGraph", rc, NULL);
        }
        trunc_bytes = sushi_subgraph_bytes(t);
        for (size_t i = 0; i < n; i++)
            e[i].hit_trunc = sushi_subgraph_hit_bytes(t, e[i].s);
    }
    sushi_subgraph_destroy(t);
    sushi_subgraph_destroy(g);
    return report(file, sn, e, n, bytes, budgeted, budget, trunc_bytes, json);
}

int cli_cmd_subgraph(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, subgraph_opts);
    const char *file = NULL, *arg;
    const char *configs[MAX_CONFIGS];
    size_t n = 0;
    uint32_t resolution = 0;
    uint64_t budget = 0;
    bool budgeted = false, json = false;
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(subgraph_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_CONFIG:
            if (n == MAX_CONFIGS)
                return cli_usage_error(p.cmd, "more than %d --config options", MAX_CONFIGS);
            configs[n++] = arg;
            break;
        case OPT_BUDGET:
            if (!cli_parse_u64(p.cmd, "--budget", arg, &budget))
                return CLI_EXIT_USAGE;
            budgeted = true;
            break;
        case OPT_RESOLUTION:
            if (!cli_parse_u32(p.cmd, "--resolution", arg, &resolution))
                return CLI_EXIT_USAGE;
            if (resolution == 0)
                return cli_usage_error(p.cmd, "--resolution: must be positive");
            break;
        case OPT_JSON: json = true; break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (!file)
        return cli_usage_error(p.cmd, "missing FILE");
    if (n == 0)
        return cli_usage_error(p.cmd, "missing --config (give one per SubNet)");
    sushi_supernet *sn;
    int ec = cli_load_supernet(file, &sn);
    if (ec)
        return ec;
    entry *e = calloc(n, sizeof *e);
    if (!e) {
        sushi_supernet_destroy(sn);
        return cli_fail("subgraph", SUSHI_ERR_NOMEM, NULL);
    }
    for (size_t i = 0; !ec && i < n; i++) {
        sushi_config cfg;
        ec = cli_parse_config(sn, configs[i], resolution, &cfg);
        if (!ec)
            ec = cli_create_subnet(sn, &cfg, &e[i].s);
        if (!ec) {
            e[i].st.size = sizeof e[i].st;
            int rc = sushi_subnet_get_stats(e[i].s, &e[i].st);
            if (rc)
                ec = cli_fail("SubNet stats", rc, NULL);
        }
    }
    if (!ec)
        ec = compute(file, sn, e, n, budgeted, budget, json);
    for (size_t i = 0; i < n; i++)
        sushi_subnet_destroy(e[i].s);
    free(e);
    sushi_supernet_destroy(sn);
    return ec;
}
