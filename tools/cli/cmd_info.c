/* `sushi info` and `sushi subnets`: SuperNet introspection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---------- shared ---------- */

#define MAX_CHOICES 64

static const struct {
    int kind;
    const char *key;
} elastic_kinds[] = {
    { SUSHI_ELASTIC_KS, "ks" },
    { SUSHI_ELASTIC_E, "e" },
    { SUSHI_ELASTIC_D, "d" },
    { SUSHI_ELASTIC_W, "w" },
};

static uint32_t n_slots(const sushi_supernet_info *in, int kind)
{
    switch (kind) {
    case SUSHI_ELASTIC_KS: return in->n_ks;
    case SUSHI_ELASTIC_E: return in->n_e;
    case SUSHI_ELASTIC_D: return in->n_d;
    default: return in->n_w;
    }
}

/* Choices of one slot; returns the count or an exit code < 0 after reporting. */
static int slot_choices(const sushi_supernet *sn, int kind, const char *key, uint32_t slot, double *v)
{
    int n = sushi_supernet_choices(sn, kind, slot, v, MAX_CHOICES);
    if (n < 0) {
        char what[64];
        snprintf(what, sizeof what, "elastic %s[%u]", key, (unsigned)slot);
        cli_fail(what, n, NULL);
        return -1;
    }
    if (n > MAX_CHOICES)
        n = MAX_CHOICES;
    /* choices stored as float (e.g. expand ratio 0.2f): print the shortest
     * decimal that reads back as that float, as sushi_config_print does */
    for (int i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.7g", v[i]);
        v[i] = strtod(buf, NULL);
    }
    return n;
}

static void print_choice_set(const double *v, int n)
{
    putchar('{');
    for (int i = 0; i < n; i++)
        printf("%s%g", i ? ", " : "", v[i]);
    putchar('}');
}

/* ---------- info ---------- */

static const char info_help[] =
    "usage: sushi info FILE [--json] [--units]\n"
    "\n"
    "Summarise a SuperNet: name, family, whether its weights are synthetic,\n"
    "provenance, input, classes, allowed resolutions, elastic dimensions with\n"
    "their choices, unit/tensor/candidate counts and stored weight elements.\n"
    "FILE is a .sushi file or builtin:NAME.\n"
    "\n"
    "options:\n"
    "      --json    print one JSON object on stdout (keys in docs/cli.md)\n"
    "      --units   also list the architectural units\n"
    "  -h, --help    show this help\n";

enum { OPT_JSON = 1, OPT_UNITS };

static const cli_option info_opts[] = {
    { "json", 0, false, OPT_JSON },
    { "units", 0, false, OPT_UNITS },
    { NULL, 0, false, 0 }
};

/* Parse "FILE [--json] [--units]"-style arguments shared by info and subnets. */
static int parse_file_args(int argc, char **argv, const cli_option *opts, const char *help,
                           const char **file, bool *json, bool *units)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, opts);
    const char *arg;
    int id;
    *file = NULL;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: cli_help(help); return -1;
        case CLI_ARG_POSITIONAL:
            if (*file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            *file = arg;
            break;
        case OPT_JSON: *json = true; break;
        case OPT_UNITS: *units = true; break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (!*file)
        return cli_usage_error(p.cmd, "missing FILE");
    return CLI_EXIT_OK;
}

static int info_json(const char *file, const sushi_supernet *sn, const sushi_supernet_info *in, bool units)
{
    cJSON *root = cli_json_object();
    cli_json_str(root, "file", file);
    cli_json_str(root, "name", in->name);
    cli_json_str(root, "family", in->family);
    cli_json_bool(root, "synthetic", in->synthetic);
    cli_json_str(root, "provenance", in->provenance);
    cli_json_num(root, "in_channels", in->in_channels);
    cli_json_num(root, "num_classes", in->num_classes);
    cli_json_num(root, "default_resolution", in->default_resolution);
    cJSON *res = cli_json_add_array(root, "resolutions");
    for (uint32_t i = 0; i < in->n_resolutions; i++)
        cli_json_append_num(res, sushi_supernet_resolution(sn, i));
    cJSON *el = cli_json_add_object(root, "elastic");
    for (size_t k = 0; k < sizeof elastic_kinds / sizeof elastic_kinds[0]; k++) {
        cJSON *slots = cli_json_add_array(el, elastic_kinds[k].key);
        for (uint32_t s = 0; s < n_slots(in, elastic_kinds[k].kind); s++) {
            double v[MAX_CHOICES];
            int n = slot_choices(sn, elastic_kinds[k].kind, elastic_kinds[k].key, s, v);
            if (n < 0) {
                cJSON_Delete(root);
                return CLI_EXIT_RUNTIME;
            }
            cJSON *arr = cJSON_CreateArray();
            cli_json_append(slots, arr);
            for (int i = 0; arr && i < n; i++)
                cli_json_append_num(arr, v[i]);
        }
    }
    cli_json_num(root, "units", in->n_units);
    cJSON *kinds = cli_json_add_object(root, "unit_kinds");
    cJSON *list = units ? cli_json_add_array(root, "unit_list") : NULL;
    for (uint32_t i = 0; i < in->n_units; i++) {
        sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
        int rc = sushi_supernet_unit(sn, i, &u);
        if (rc) {
            cJSON_Delete(root);
            return cli_fail("unit", rc, NULL);
        }
        cJSON *c = kinds ? cJSON_GetObjectItemCaseSensitive(kinds, u.kind) : NULL;
        if (c)
            cJSON_SetNumberValue(c, c->valuedouble + 1);
        else
            cli_json_num(kinds, u.kind, 1);
        if (list) {
            cJSON *o = cli_json_append_object(list);
            cli_json_str(o, "name", u.name);
            cli_json_str(o, "kind", u.kind);
            cli_json_num(o, "in_max", u.in_max);
            cli_json_num(o, "out_max", u.out_max);
            cli_json_num(o, "stride", u.stride);
        }
    }
    cli_json_num(root, "tensors", in->n_tensors);
    cli_json_num(root, "candidates", in->n_candidates);
    cli_json_num(root, "weight_elems", (double)in->weight_elems);
    return cli_json_print(root);
}

static void print_resolutions(const sushi_supernet *sn, const sushi_supernet_info *in)
{
    uint32_t n = in->n_resolutions;
    if (n >= 4) {
        uint32_t r0 = sushi_supernet_resolution(sn, 0), r1 = sushi_supernet_resolution(sn, 1);
        bool even = r1 > r0;
        for (uint32_t i = 2; even && i < n; i++)
            even = sushi_supernet_resolution(sn, i) - sushi_supernet_resolution(sn, i - 1) == r1 - r0;
        if (even) {
            printf("%u..%u step %u (%u)", (unsigned)r0, (unsigned)sushi_supernet_resolution(sn, n - 1),
                   (unsigned)(r1 - r0), (unsigned)n);
            return;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        printf("%s%u", i ? " " : "", (unsigned)sushi_supernet_resolution(sn, i));
}

static int info_human(const sushi_supernet *sn, const sushi_supernet_info *in, bool units)
{
    printf("name              %s\n", in->name);
    printf("family            %s\n", in->family);
    printf("synthetic         %s\n", in->synthetic ? "yes (weights are not trained)" : "no");
    printf("provenance        %s\n", in->provenance && *in->provenance ? in->provenance : "-");
    printf("input             %u channels, default resolution %u\n", (unsigned)in->in_channels,
           (unsigned)in->default_resolution);
    printf("classes           %u\n", (unsigned)in->num_classes);
    printf("resolutions       ");
    print_resolutions(sn, in);
    putchar('\n');
    bool first = true;
    for (size_t k = 0; k < sizeof elastic_kinds / sizeof elastic_kinds[0]; k++) {
        uint32_t ns = n_slots(in, elastic_kinds[k].kind);
        if (ns == 0)
            continue;
        printf("%s%-3s %2u slot%s  ", first ? "elastic           " : "                  ",
               elastic_kinds[k].key, (unsigned)ns, ns == 1 ? " " : "s");
        first = false;
        /* run-length groups of consecutive slots with the same choices */
        double prev[MAX_CHOICES], v[MAX_CHOICES];
        int pn = -1;
        uint32_t run = 0;
        for (uint32_t s = 0; s <= ns; s++) {
            int n = -1;
            if (s < ns) {
                n = slot_choices(sn, elastic_kinds[k].kind, elastic_kinds[k].key, s, v);
                if (n < 0)
                    return CLI_EXIT_RUNTIME;
            }
            bool same = n == pn && (n <= 0 || memcmp(v, prev, (size_t)n * sizeof v[0]) == 0);
            if (s > 0 && !same) {
                if (run != s)
                    printf(", ");
                print_choice_set(prev, pn);
                if (run > 1)
                    printf(" x%u", (unsigned)run);
                run = 0;
            }
            if (s < ns) {
                memcpy(prev, v, (size_t)n * sizeof v[0]);
                pn = n;
                run++;
            }
        }
        if (elastic_kinds[k].kind == SUSHI_ELASTIC_W)
            printf("  (width-multiplier indices)");
        putchar('\n');
    }
    if (first)
        printf("elastic           none\n");

    /* units by kind, in order of first appearance */
    const char *kname[32];
    unsigned kcount[32];
    size_t nk = 0;
    for (uint32_t i = 0; i < in->n_units; i++) {
        sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
        int rc = sushi_supernet_unit(sn, i, &u);
        if (rc)
            return cli_fail("unit", rc, NULL);
        size_t j = 0;
        while (j < nk && strcmp(kname[j], u.kind) != 0)
            j++;
        if (j == nk && nk < 32) {
            kname[nk] = u.kind;
            kcount[nk++] = 0;
        }
        if (j < nk)
            kcount[j]++;
    }
    printf("units             %u (", (unsigned)in->n_units);
    for (size_t j = 0; j < nk; j++)
        printf("%s%s %u", j ? ", " : "", kname[j], kcount[j]);
    printf(")\n");
    printf("tensors           %u\n", (unsigned)in->n_tensors);
    printf("candidates        %u\n", (unsigned)in->n_candidates);
    printf("weight elements   %s (%s)\n", cli_fmt_millions(in->weight_elems).s, cli_fmt_u64(in->weight_elems).s);
    if (units) {
        printf("\n  %4s  %-28s %-11s %7s %7s %6s\n", "#", "unit", "kind", "in_max", "out_max", "stride");
        for (uint32_t i = 0; i < in->n_units; i++) {
            sushi_unit_info u = SUSHI_UNIT_INFO_INIT;
            int rc = sushi_supernet_unit(sn, i, &u);
            if (rc)
                return cli_fail("unit", rc, NULL);
            printf("  %4u  %-28s %-11s %7u %7u %6u\n", (unsigned)i, u.name, u.kind, (unsigned)u.in_max,
                   (unsigned)u.out_max, (unsigned)u.stride);
        }
    }
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}

int cli_cmd_info(int argc, char **argv)
{
    const char *file;
    bool json = false, units = false;
    int ec = parse_file_args(argc, argv, info_opts, info_help, &file, &json, &units);
    if (ec)
        return ec < 0 ? CLI_EXIT_OK : ec;
    sushi_supernet *sn;
    ec = cli_load_supernet(file, &sn);
    if (ec)
        return ec;
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    int rc = sushi_supernet_get_info(sn, &in);
    if (rc)
        ec = cli_fail("info", rc, NULL);
    else
        ec = json ? info_json(file, sn, &in, units) : info_human(sn, &in, units);
    sushi_supernet_destroy(sn);
    return ec;
}

/* ---------- subnets ---------- */

static const char subnets_help[] =
    "usage: sushi subnets FILE [--json]\n"
    "\n"
    "Print the candidate table of a SuperNet: index, config, accuracy with its\n"
    "source (measured, proxy, none), dataset and metric, MACs, params and weight\n"
    "bytes of every profiled SubNet. FILE is a .sushi file or builtin:NAME.\n"
    "\n"
    "options:\n"
    "      --json    print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help    show this help\n";

static const cli_option subnets_opts[] = {
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

int cli_cmd_subnets(int argc, char **argv)
{
    const char *file;
    bool json = false, unused = false;
    int ec = parse_file_args(argc, argv, subnets_opts, subnets_help, &file, &json, &unused);
    if (ec)
        return ec < 0 ? CLI_EXIT_OK : ec;
    sushi_supernet *sn;
    ec = cli_load_supernet(file, &sn);
    if (ec)
        return ec;
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    int rc = sushi_supernet_get_info(sn, &in);
    if (rc) {
        sushi_supernet_destroy(sn);
        return cli_fail("info", rc, NULL);
    }
    cJSON *root = NULL, *arr = NULL;
    if (json) {
        root = cli_json_object();
        cli_json_str(root, "file", file);
        cli_json_str(root, "name", in.name);
        cli_json_bool(root, "synthetic", in.synthetic);
        cli_json_num(root, "count", in.n_candidates);
        arr = cli_json_add_array(root, "candidates");
    } else {
        printf("%s: %u candidate%s%s\n", in.name, (unsigned)in.n_candidates, in.n_candidates == 1 ? "" : "s",
               in.synthetic ? " (synthetic weights)" : "");
        if (in.n_candidates)
            printf("%5s %8s  %-8s %-22s %-6s %12s %14s %10s  %s\n", "index", "acc %", "source", "dataset",
                   "metric", "MMACs", "M params", "MB", "config");
    }
    for (uint32_t i = 0; i < in.n_candidates; i++) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        rc = sushi_supernet_candidate(sn, i, &c);
        if (rc) {
            cJSON_Delete(root);
            sushi_supernet_destroy(sn);
            char what[64];
            snprintf(what, sizeof what, "candidate %u", (unsigned)i);
            return cli_fail(what, rc, NULL);
        }
        if (json) {
            cJSON *o = cli_json_append_object(arr);
            cli_json_num(o, "index", i);
            cli_json_config(o, "config", &c.config);
            cli_json_num_or_null(o, "accuracy", c.accuracy);
            cli_json_str(o, "source", c.accuracy_source);
            cli_json_str(o, "dataset", c.dataset);
            cli_json_str(o, "metric", c.metric);
            cli_json_num(o, "macs", (double)c.macs);
            cli_json_num(o, "params", (double)c.params);
            cli_json_num(o, "weight_bytes", (double)c.weight_bytes);
        } else {
            char acc[32];
            if (isnan(c.accuracy))
                snprintf(acc, sizeof acc, "-");
            else
                snprintf(acc, sizeof acc, "%.2f", c.accuracy * 100.0);
            char *cfg = cli_config_text(&c.config);
            printf("%5u %8s  %-8s %-22s %-6s %12s %14s %10s  %s\n", (unsigned)i, acc,
                   c.accuracy_source ? c.accuracy_source : "-", c.dataset ? c.dataset : "-",
                   c.metric ? c.metric : "-", cli_fmt_mcol(c.macs).s, cli_fmt_mcol(c.params).s,
                   cli_fmt_mcol(c.weight_bytes).s, cfg ? cfg : "?");
            free(cfg);
        }
    }
    sushi_supernet_destroy(sn);
    if (json)
        return cli_json_print(root);
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}
