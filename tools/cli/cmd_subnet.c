/* `sushi subnet`: the cost of one SubNet and, with --layers, its per-layer plan. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static const char subnet_help[] =
    "usage: sushi subnet FILE --config CFG [--resolution R] [--layers] [--json]\n"
    "\n"
    "Resolve one SubNet of the SuperNet in FILE (a .sushi file or builtin:NAME)\n"
    "and print its params, MACs and weight bytes (int8, one byte per weight),\n"
    "whether its weights are synthetic, and its candidate-table row if any.\n"
    "\n"
    "options:\n"
    "  -c, --config CFG       the SubNet: an OFA JSON arch dict, min, max, min@R,\n"
    "                         max@R, or @PATH to read one of those from a file\n"
    "  -r, --resolution R     override the config's input resolution\n"
    "      --layers           add the per-layer plan (name, op, activation,\n"
    "                         shapes, kernel, stride, params, MACs, weight bytes)\n"
    "      --json             print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help             show this help\n";

enum { OPT_CONFIG = 1, OPT_RESOLUTION, OPT_LAYERS, OPT_JSON };

static const cli_option subnet_opts[] = {
    { "config", 'c', true, OPT_CONFIG },
    { "resolution", 'r', true, OPT_RESOLUTION },
    { "layers", 0, false, OPT_LAYERS },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

static const char *op_name(int op)
{
    switch (op) {
    case SUSHI_OP_CONV: return "conv";
    case SUSHI_OP_DWCONV: return "dwconv";
    case SUSHI_OP_LINEAR: return "linear";
    case SUSHI_OP_MAXPOOL: return "maxpool";
    case SUSHI_OP_AVGPOOL: return "avgpool";
    case SUSHI_OP_GAP: return "gap";
    case SUSHI_OP_ADD: return "add";
    case SUSHI_OP_SE: return "se";
    default: return "unknown";
    }
}

static const char *act_name(int act)
{
    switch (act) {
    case SUSHI_ACT_NONE: return "none";
    case SUSHI_ACT_RELU: return "relu";
    case SUSHI_ACT_HSWISH: return "hswish";
    case SUSHI_ACT_HSIGMOID: return "hsigmoid";
    default: return "unknown";
    }
}

static void shape_json(cJSON *o, const char *key, uint32_t c, uint32_t h, uint32_t w)
{
    cJSON *a = cli_json_add_array(o, key);
    cli_json_append_num(a, c);
    cli_json_append_num(a, h);
    cli_json_append_num(a, w);
}

static int layers_out(const sushi_subnet *s, uint32_t n, cJSON *arr)
{
    if (!arr)
        printf("\n%4s  %-34s %-7s %-8s %16s %16s %3s %3s %12s %14s %12s\n", "#", "layer", "op", "act",
               "in (CxHxW)", "out (CxHxW)", "k", "s", "params", "MACs", "weight B");
    for (uint32_t i = 0; i < n; i++) {
        sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
        int rc = sushi_subnet_layer(s, i, &l);
        if (rc) {
            char what[64];
            snprintf(what, sizeof what, "layer %u", (unsigned)i);
            return cli_fail(what, rc, NULL);
        }
        if (arr) {
            cJSON *o = cli_json_append_object(arr);
            cli_json_num(o, "index", i);
            cli_json_str(o, "name", l.name);
            cli_json_str(o, "op", op_name(l.op));
            cli_json_str(o, "act", act_name(l.act));
            shape_json(o, "in", l.in_c, l.in_h, l.in_w);
            shape_json(o, "out", l.out_c, l.out_h, l.out_w);
            cli_json_num(o, "kernel", l.kernel);
            cli_json_num(o, "stride", l.stride);
            cli_json_num(o, "pad", l.pad);
            cli_json_num(o, "params", (double)l.params);
            cli_json_num(o, "macs", (double)l.macs);
            cli_json_num(o, "weight_bytes", (double)l.weight_bytes);
        } else {
            char in[48], out[48];
            snprintf(in, sizeof in, "%ux%ux%u", (unsigned)l.in_c, (unsigned)l.in_h, (unsigned)l.in_w);
            snprintf(out, sizeof out, "%ux%ux%u", (unsigned)l.out_c, (unsigned)l.out_h, (unsigned)l.out_w);
            printf("%4u  %-34s %-7s %-8s %16s %16s %3u %3u %12s %14s %12s\n", (unsigned)i,
                   l.name ? l.name : "-", op_name(l.op), act_name(l.act), in, out, (unsigned)l.kernel,
                   (unsigned)l.stride, cli_fmt_u64(l.params).s, cli_fmt_u64(l.macs).s,
                   cli_fmt_u64(l.weight_bytes).s);
        }
    }
    return CLI_EXIT_OK;
}

static int report(const char *file, const sushi_supernet *sn, const sushi_subnet *s, bool json, bool layers)
{
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    int rc = sushi_supernet_get_info(sn, &in);
    if (rc)
        return cli_fail("info", rc, NULL);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    rc = sushi_subnet_get_stats(s, &st);
    if (rc)
        return cli_fail("SubNet stats", rc, NULL);
    const sushi_config *cfg = sushi_subnet_config(s);
    sushi_candidate_info cand = SUSHI_CANDIDATE_INFO_INIT;
    bool have_cand = st.candidate >= 0 && sushi_supernet_candidate(sn, (size_t)st.candidate, &cand) == SUSHI_OK;
    int ec;
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "file", file);
        cli_json_str(root, "supernet", in.name);
        cli_json_bool(root, "synthetic", in.synthetic);
        cli_json_config(root, "config", cfg);
        cli_json_num(root, "resolution", cfg->resolution);
        cli_json_num(root, "params", (double)st.params);
        cli_json_num(root, "macs", (double)st.macs);
        cli_json_num(root, "weight_bytes", (double)st.weight_bytes);
        cli_json_num(root, "n_layers", st.n_layers);
        if (st.candidate >= 0)
            cli_json_num(root, "candidate", st.candidate);
        else
            cli_json_null(root, "candidate");
        cli_json_num_or_null(root, "accuracy", st.accuracy);
        cli_json_str(root, "accuracy_source", have_cand ? cand.accuracy_source : NULL);
        ec = layers ? layers_out(s, st.n_layers, cli_json_add_array(root, "layers")) : CLI_EXIT_OK;
        if (ec) {
            cJSON_Delete(root);
            return ec;
        }
        return cli_json_print(root);
    }
    char *text = cli_config_text(cfg);
    printf("supernet      %s%s\n", in.name, in.synthetic ? " (synthetic weights)" : "");
    printf("config        %s\n", text ? text : "?");
    free(text);
    printf("resolution    %u\n", (unsigned)cfg->resolution);
    printf("params        %s (%s)\n", cli_fmt_mparams(st.params).s, cli_fmt_u64(st.params).s);
    printf("macs          %s (%s)\n", cli_fmt_mmacs(st.macs).s, cli_fmt_u64(st.macs).s);
    printf("weight bytes  %s (%s B, int8)\n", cli_fmt_mb(st.weight_bytes).s, cli_fmt_u64(st.weight_bytes).s);
    if (st.candidate >= 0) {
        printf("candidate     #%d", (int)st.candidate);
        if (!isnan(st.accuracy))
            printf(", accuracy %.2f %%", st.accuracy * 100.0);
        if (have_cand)
            printf(" (%s%s%s%s%s)", cand.accuracy_source ? cand.accuracy_source : "-",
                   cand.dataset ? ", " : "", cand.dataset ? cand.dataset : "", cand.metric ? ", " : "",
                   cand.metric ? cand.metric : "");
        putchar('\n');
    } else {
        printf("candidate     none (not in the candidate table)\n");
    }
    printf("layers        %u\n", (unsigned)st.n_layers);
    ec = layers ? layers_out(s, st.n_layers, NULL) : CLI_EXIT_OK;
    if (ec)
        return ec;
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}

int cli_cmd_subnet(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, subnet_opts);
    const char *file = NULL, *config = NULL, *arg;
    uint32_t resolution = 0;
    bool json = false, layers = false;
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(subnet_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_CONFIG:
            if (config)
                return cli_usage_error(p.cmd, "--config given twice (use 'sushi subgraph' for several)");
            config = arg;
            break;
        case OPT_RESOLUTION:
            if (!cli_parse_u32(p.cmd, "--resolution", arg, &resolution))
                return CLI_EXIT_USAGE;
            if (resolution == 0)
                return cli_usage_error(p.cmd, "--resolution: must be positive");
            break;
        case OPT_LAYERS: layers = true; break;
        case OPT_JSON: json = true; break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (!file)
        return cli_usage_error(p.cmd, "missing FILE");
    if (!config)
        return cli_usage_error(p.cmd, "missing --config CFG");
    sushi_supernet *sn;
    int ec = cli_load_supernet(file, &sn);
    if (ec)
        return ec;
    sushi_config cfg;
    ec = cli_parse_config(sn, config, resolution, &cfg);
    sushi_subnet *s = NULL;
    if (!ec)
        ec = cli_create_subnet(sn, &cfg, &s);
    if (!ec)
        ec = report(file, sn, s, json, layers);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    return ec;
}
