/* `sushi cost`: modelled latency, traffic and energy of one SubNet (or of a
 * plain conv layer list) on SushiAccel, through the cycle backend
 * (include/sushi/cycle.h, docs/accelerator.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "cli.h"
#include "sushi/cycle.h"

static const char cost_help[] =
    "usage: sushi cost FILE --config CFG [--backend cycle] --accel PRESET\n"
    "                  [--set KEY=VAL ...] [--cached CFG | --cached-budget BYTES]\n"
    "                  [--layers] [--csv] [--json]\n"
    "       sushi cost --topology LAYERS.csv --accel PRESET [--set KEY=VAL ...]\n"
    "                  [--csv] [--json]\n"
    "\n"
    "Model the cost (cycles, latency, off-chip / on-chip bytes, energy) of one\n"
    "SubNet on the SushiAccel model (cycle backend), with a SubGraph resident in\n"
    "the persistent buffer (PB); or cost each row of a topology CSV as one engine\n"
    "kernel call, in file order.\n"
    "\n"
    "options:\n"
    "  -c, --config CFG       the SubNet (as for 'sushi subnet')\n"
    "  -b, --backend NAME     cost backend; only 'cycle' (default)\n"
    "  -a, --accel NAME       model preset: zcu104 (default), u50, zcu104-sgs, u50-sgs\n"
    "  -s, --set KEY=VAL      set a model parameter (repeatable, applied in order\n"
    "                         after the preset; names in docs/accelerator.md)\n"
    "      --cached CFG       resident SubGraph = the SubNet of CFG truncated to\n"
    "                         the PB capacity\n"
    "      --cached-budget B  resident SubGraph = the SubNet itself truncated to\n"
    "                         B bytes (and to the PB capacity)\n"
    "      --topology FILE    cost a conv layer list instead of a SubNet\n"
    "      --layers           add per-layer costs\n"
    "      --csv              print the per-layer CSV (SCALE-Sim-like) instead\n"
    "      --json             print one JSON object on stdout (keys in docs/cli.md)\n"
    "  -h, --help             show this help\n";

enum {
    OPT_CONFIG = 1, OPT_BACKEND, OPT_ACCEL, OPT_SET, OPT_CACHED, OPT_BUDGET,
    OPT_TOPOLOGY, OPT_LAYERS, OPT_CSV, OPT_JSON
};

static const cli_option cost_opts[] = {
    { "config", 'c', true, OPT_CONFIG },
    { "backend", 'b', true, OPT_BACKEND },
    { "accel", 'a', true, OPT_ACCEL },
    { "set", 's', true, OPT_SET },
    { "cached", 0, true, OPT_CACHED },
    { "cached-budget", 0, true, OPT_BUDGET },
    { "topology", 0, true, OPT_TOPOLOGY },
    { "layers", 0, false, OPT_LAYERS },
    { "csv", 0, false, OPT_CSV },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

#define COST_MAX_SETS 64

typedef struct cost_set {
    char key[64];
    double value;
} cost_set;

/* Parse and check "KEY=VAL" against the model's parameter table. */
static bool parse_set(const char *cmd, const char *text, cost_set *out)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof out->key) {
        cli_usage_error(cmd, "--set: expected KEY=VALUE, got '%s'", text);
        return false;
    }
    memcpy(out->key, text, (size_t)(eq - text));
    out->key[eq - text] = '\0';
    sushi_cycle_param_desc d;
    if (sushi_cycle_param_info(out->key, &d) != SUSHI_OK) {
        cli_usage_error(cmd, "--set: unknown parameter '%s'", out->key);
        return false;
    }
    char *end;
    errno = 0;
    out->value = strtod(eq + 1, &end);
    if (eq[1] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(out->value)) {
        cli_usage_error(cmd, "--set %s: expected a number, got '%s'", out->key, eq + 1);
        return false;
    }
    if (out->value < d.min || out->value > d.max || (d.integer && out->value != floor(out->value))) {
        cli_usage_error(cmd, "--set %s: %s out of range [%g, %g]%s", out->key, eq + 1, d.min, d.max,
                        d.integer ? " (integer)" : "");
        return false;
    }
    return true;
}

static const char *where_name(uint32_t w)
{
    switch (w) {
    case SUSHI_CYCLE_ENGINE: return "engine";
    case SUSHI_CYCLE_HOST: return "host";
    case SUSHI_CYCLE_FUSED: return "fused";
    case SUSHI_CYCLE_MIXED: return "mixed";
    default: return "unknown";
    }
}

static void layer_json(cJSON *o, const sushi_layer_cost *c)
{
    cli_json_str(o, "where", where_name(c->where));
    cli_json_num(o, "calls", c->calls);
    cli_json_num(o, "cycles", (double)c->cycles);
    cli_json_num(o, "latency_s", c->latency_s);
    cli_json_num(o, "macs", (double)c->macs);
    cli_json_num(o, "utilisation", c->utilisation);
    cli_json_num(o, "weight_bytes", (double)c->weight_bytes);
    cli_json_num(o, "hit_bytes", (double)c->hit_bytes);
    cli_json_num(o, "offchip_bytes", (double)c->offchip_bytes);
    cli_json_num(o, "onchip_bytes", (double)c->onchip_bytes);
    cli_json_num(o, "energy_j", c->energy_j);
}

static void cost_json(cJSON *o, const sushi_cost *c)
{
    cli_json_num(o, "latency_s", c->latency_s);
    cli_json_num(o, "cycles", (double)c->cycles);
    cli_json_num(o, "macs", (double)c->macs);
    cli_json_num(o, "offchip_bytes", (double)c->offchip_bytes);
    cli_json_num(o, "weight_bytes", (double)c->weight_bytes);
    cli_json_num(o, "act_bytes", (double)c->act_bytes);
    cli_json_num(o, "hit_bytes", (double)c->hit_bytes);
    cli_json_num(o, "onchip_bytes", (double)c->onchip_bytes);
    cli_json_num(o, "energy_j", c->energy_j);
    cli_json_num(o, "energy_offchip_j", c->energy_offchip_j);
    cli_json_num(o, "energy_onchip_j", c->energy_onchip_j);
    cli_json_num(o, "energy_compute_j", c->energy_compute_j);
}

static int csv_sink(void *user, const char *data, size_t len)
{
    (void)user;
    return fwrite(data, 1, len, stdout) == len ? 0 : 1;
}

/* ---------- --topology ---------- */

typedef struct topo_job {
    const sushi_cycle_model *m;
    bool csv;
    cJSON *arr;     /* JSON rows, or NULL */
    sushi_layer_cost total;
    size_t rows;
    char err[256];
} topo_job;

/* The detail after cli_fail's status text: the line and, where it helps, why
 * (the status itself is printed once, by cli_fail). */
static void topo_err(topo_job *J, unsigned line, int rc)
{
    if (rc == SUSHI_ERR_OVERFLOW)
        snprintf(J->err, sizeof J->err, "line %u: K*C*R*S*(X+2*pad_x)*(Y+2*pad_y) does not fit 64 bits", line);
    else
        snprintf(J->err, sizeof J->err, "line %u", line);
}

static int topo_row(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *shape)
{
    topo_job *J = user;
    sushi_layer_cost c;
    int rc = sushi_cycle_cost_conv(J->m, shape, &c);
    if (rc) {
        topo_err(J, line, rc);
        return rc;
    }
    J->rows++;
    J->total.cycles += c.cycles;
    J->total.latency_s += c.latency_s;
    J->total.macs += c.macs;
    J->total.offchip_bytes += c.offchip_bytes;
    J->total.onchip_bytes += c.onchip_bytes;
    J->total.weight_bytes += c.weight_bytes;
    J->total.energy_j += c.energy_j;
    if (J->csv) {
        char buf[2048];
        int n = sushi_cycle_csv_row(buf, sizeof buf, row, name, shape, &c);
        if (n < 0 || (size_t)n >= sizeof buf) {
            snprintf(J->err, sizeof J->err, "line %u: CSV row too long", line);
            return SUSHI_ERR_TRUNCATED;
        }
        fputs(buf, stdout);
    } else if (J->arr) {
        cJSON *o = cli_json_append_object(J->arr);
        cli_json_num(o, "row", (double)row);
        cli_json_num(o, "line", line);
        cli_json_str(o, "name", name);
        cli_json_num(o, "k", shape->k);
        cli_json_num(o, "c", shape->c);
        cli_json_num(o, "r", shape->r);
        cli_json_num(o, "s", shape->s);
        cli_json_num(o, "x", shape->x);
        cli_json_num(o, "y", shape->y);
        cli_json_num(o, "stride_x", shape->stride_x);
        cli_json_num(o, "stride_y", shape->stride_y);
        layer_json(o, &c);
    } else {
        printf("%5zu  %-24.24s %5u %5u %3ux%-3u %4ux%-4u %12llu %12.6f %14llu %7.3f\n", row, name ? name : "-",
               (unsigned)shape->k, (unsigned)shape->c, (unsigned)shape->r, (unsigned)shape->s,
               (unsigned)shape->x, (unsigned)shape->y, (unsigned long long)c.cycles, c.latency_s * 1e3,
               (unsigned long long)c.offchip_bytes, c.utilisation * 100.0);
    }
    return 0;
}

/* Validation pass: cost every row, print nothing. */
static int topo_check(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *shape)
{
    (void)row, (void)name;
    topo_job *J = user;
    sushi_layer_cost c;
    int rc = sushi_cycle_cost_conv(J->m, shape, &c);
    if (rc)
        topo_err(J, line, rc);
    return rc;
}

static int cost_topology(const char *path, const sushi_cycle_model *m, const char *accel, bool csv, bool json)
{
    topo_job J = { .m = m, .csv = csv };
    cJSON *root = NULL;
    /* Read and check the whole file first so that an error prints nothing on stdout. */
    int oe;
    FILE *f = sushi_fopen_regular(path, &oe); /* a FIFO is refused, not waited on */
    if (!f)
        return cli_fail_msg(path, sushi_open_strerror(oe));
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap) {
            char *nt = cap < ((size_t)1 << 30) ? realloc(text, cap *= 2) : NULL;
            if (!nt) {
                free(text);
                text = NULL;
            } else {
                text = nt;
            }
        }
    }
    bool rd_err = ferror(f);
    fclose(f);
    if (!text || rd_err) {
        free(text);
        return cli_fail_msg(path, text ? "read error" : "out of memory or file too large");
    }
    char err[256] = "";
    int rc = sushi_cycle_topology_parse(text, len, topo_check, &J, err, sizeof err);
    if (rc) {
        free(text);
        if (rc == SUSHI_ERR_FORMAT && err[0])
            return cli_fail_msg(path, err);
        return cli_fail(path, rc, J.err[0] ? J.err : err);
    }
    if (csv) {
        char buf[2048];
        int n = sushi_cycle_csv_header(buf, sizeof buf);
        if (n < 0 || (size_t)n >= sizeof buf)
            return cli_fail_msg("csv", "header too long");
        fputs(buf, stdout);
    } else if (json) {
        root = cli_json_object();
        cli_json_str(root, "topology", path);
        cli_json_str(root, "accel", accel);
        J.arr = cli_json_add_array(root, "layers");
    } else {
        printf("%5s  %-24s %5s %5s %7s %9s %12s %12s %14s %7s\n", "row", "name", "K", "C", "RxS", "XxY", "cycles",
               "latency ms", "off-chip B", "util %");
    }
    rc = sushi_cycle_topology_parse(text, len, topo_row, &J, err, sizeof err);
    free(text);
    if (rc) {
        cJSON_Delete(root);
        return cli_fail(path, rc, J.err[0] ? J.err : err);
    }
    if (json) {
        cJSON *t = cli_json_add_object(root, "total");
        cli_json_num(t, "rows", (double)J.rows);
        cli_json_num(t, "cycles", (double)J.total.cycles);
        cli_json_num(t, "latency_s", J.total.latency_s);
        cli_json_num(t, "macs", (double)J.total.macs);
        cli_json_num(t, "offchip_bytes", (double)J.total.offchip_bytes);
        cli_json_num(t, "onchip_bytes", (double)J.total.onchip_bytes);
        cli_json_num(t, "energy_j", J.total.energy_j);
        return cli_json_print(root);
    }
    if (!csv)
        printf("total  %zu rows, %llu cycles, %.6f ms, %s off-chip, %.6g J\n", J.rows,
               (unsigned long long)J.total.cycles, J.total.latency_s * 1e3, cli_fmt_mb(J.total.offchip_bytes).s,
               J.total.energy_j);
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}

/* ---------- SubNet ---------- */

typedef struct cost_req {
    const char *file, *accel, *cached, *cached_text;
    bool have_budget, layers, csv, json;
    uint64_t budget;
    const cost_set *sets;
    size_t n_sets;
} cost_req;

static int cost_subnet(const cost_req *q, const sushi_supernet *sn, const sushi_subnet *s)
{
    sushi_backend *b = NULL;
    sushi_subnet *cs = NULL;
    sushi_subgraph *g = NULL;
    sushi_layer_cost *lc = NULL;
    cJSON *root = NULL;
    int ec = CLI_EXIT_OK;
    int rc = sushi_backend_create(sn, "cycle", &b);
    if (rc)
        return cli_fail("cycle backend", rc, rc == SUSHI_ERR_NOT_FOUND ? "not in this build" : NULL);
    rc = sushi_backend_set_param(b, "preset", (double)sushi_cycle_preset_find(q->accel));
    for (size_t i = 0; !rc && i < q->n_sets; i++) {
        rc = sushi_backend_set_param(b, q->sets[i].key, q->sets[i].value);
        if (rc) {
            ec = cli_fail(q->sets[i].key, rc, NULL);
            goto out;
        }
    }
    if (rc) {
        ec = cli_fail("preset", rc, q->accel);
        goto out;
    }
    const sushi_cycle_model *m = sushi_cycle_backend_model(b);
    uint64_t pb = sushi_cycle_pb_bytes(m);
    sushi_cost reload = SUSHI_COST_INIT;
    if (q->cached || q->have_budget) {
        if ((rc = sushi_subgraph_create(sn, &g))) {
            ec = cli_fail("SubGraph", rc, NULL);
            goto out;
        }
        if (q->cached) {
            sushi_config ccfg;
            if ((ec = cli_parse_config(sn, q->cached_text, 0, &ccfg)) ||
                (ec = cli_create_subnet(sn, &ccfg, &cs)))
                goto out;
            rc = sushi_subgraph_set_subnet(g, cs);
            if (!rc)
                rc = sushi_subgraph_truncate(g, pb);
        } else {
            rc = sushi_subgraph_set_subnet(g, s);
            if (!rc)
                rc = sushi_subgraph_truncate(g, q->budget < pb ? q->budget : pb);
        }
        if (!rc)
            rc = sushi_backend_set_resident(b, g, &reload);
        if (rc) {
            ec = cli_fail("resident SubGraph", rc, NULL);
            goto out;
        }
    }
    const sushi_subgraph *res = sushi_cycle_backend_resident(b);
    sushi_cost tot = SUSHI_COST_INIT;
    if ((rc = sushi_backend_cost(b, s, res, &tot))) {
        ec = cli_fail("cost", rc, NULL);
        goto out;
    }
    if (q->csv) {
        rc = sushi_cycle_subnet_csv(m, s, res, csv_sink, NULL);
        if (rc) {
            ec = cli_fail("csv", rc < 0 ? rc : SUSHI_ERR_IO, NULL);
            goto out;
        }
        ec = CLI_EXIT_OK; /* a write error is reported by main.c finish() */
        goto out;
    }
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    if ((rc = sushi_subnet_get_stats(s, &st))) {
        ec = cli_fail("SubNet stats", rc, NULL);
        goto out;
    }
    if (q->layers) {
        lc = calloc(st.n_layers ? st.n_layers : 1, sizeof *lc);
        if (!lc) {
            ec = cli_fail_msg("cost", "out of memory");
            goto out;
        }
        if ((rc = sushi_cycle_cost_subnet(m, s, res, lc, NULL))) {
            ec = cli_fail("per-layer cost", rc, NULL);
            goto out;
        }
    }
    uint64_t res_bytes = sushi_subgraph_bytes(res);
    const char *cached_kind = q->cached ? "config" : q->have_budget ? "budget" : "none";
    if (q->json) {
        root = cli_json_object();
        cli_json_str(root, "file", q->file);
        cli_json_str(root, "backend", "cycle");
        cli_json_str(root, "accel", q->accel);
        cli_json_config(root, "config", sushi_subnet_config(s));
        cJSON *p = cli_json_add_object(root, "params");
        for (size_t i = 0; sushi_cycle_param_name(i); i++) {
            double v;
            if (sushi_cycle_model_get(m, sushi_cycle_param_name(i), &v) == SUSHI_OK)
                cli_json_num(p, sushi_cycle_param_name(i), v);
        }
        cli_json_num(root, "pb_bytes", (double)pb);
        cJSON *c = cli_json_add_object(root, "cached");
        cli_json_str(c, "kind", cached_kind);
        if (q->cached)
            cli_json_config(c, "config", sushi_subnet_config(cs));
        if (q->have_budget)
            cli_json_num(c, "budget", (double)q->budget);
        cli_json_num(c, "resident_bytes", (double)res_bytes);
        cli_json_num(c, "reload_bytes", (double)reload.offchip_bytes);
        cost_json(cli_json_add_object(root, "cost"), &tot);
        if (q->layers) {
            cJSON *arr = cli_json_add_array(root, "layers");
            for (uint32_t i = 0; i < st.n_layers; i++) {
                sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
                cJSON *o = cli_json_append_object(arr);
                cli_json_num(o, "index", i);
                cli_json_str(o, "name", sushi_subnet_layer(s, i, &li) == SUSHI_OK ? li.name : NULL);
                layer_json(o, &lc[i]);
            }
        }
        ec = cli_json_print(root);
        root = NULL;
        goto out;
    }
    char *text = cli_config_text(sushi_subnet_config(s));
    printf("subnet         %s\n", text ? text : "?");
    free(text);
    printf("accelerator    %s (cycle model), PB %s\n", q->accel, cli_fmt_mb(pb).s);
    printf("resident       %s (%s)\n", cli_fmt_mb(res_bytes).s, cached_kind);
    printf("latency        %.6f ms (%llu cycles)\n", tot.latency_s * 1e3, (unsigned long long)tot.cycles);
    printf("macs           %s\n", cli_fmt_mmacs(tot.macs).s);
    printf("off-chip       %s (weights %s, activations %s)\n", cli_fmt_mb(tot.offchip_bytes).s,
           cli_fmt_mb(tot.weight_bytes).s, cli_fmt_mb(tot.act_bytes).s);
    printf("PB hits        %s\n", cli_fmt_mb(tot.hit_bytes).s);
    printf("on-chip        %s\n", cli_fmt_mb(tot.onchip_bytes).s);
    printf("energy         %.6g J (off-chip %.3g, on-chip %.3g, compute %.3g)\n", tot.energy_j,
           tot.energy_offchip_j, tot.energy_onchip_j, tot.energy_compute_j);
    if (q->layers) {
        printf("\n%4s  %-34s %-6s %12s %12s %14s %12s %7s\n", "#", "layer", "where", "cycles", "latency ms",
               "off-chip B", "hit B", "util %");
        for (uint32_t i = 0; i < st.n_layers; i++) {
            sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
            const char *nm = sushi_subnet_layer(s, i, &li) == SUSHI_OK && li.name ? li.name : "-";
            printf("%4u  %-34.34s %-6s %12llu %12.6f %14llu %12llu %7.2f\n", (unsigned)i, nm, where_name(lc[i].where),
                   (unsigned long long)lc[i].cycles, lc[i].latency_s * 1e3,
                   (unsigned long long)lc[i].offchip_bytes, (unsigned long long)lc[i].hit_bytes,
                   lc[i].utilisation * 100.0);
        }
    }
    ec = CLI_EXIT_OK; /* a write error is reported by main.c finish() */
out:
    cJSON_Delete(root);
    free(lc);
    sushi_subgraph_destroy(g);
    sushi_subnet_destroy(cs);
    sushi_backend_destroy(b);
    return ec;
}

int cli_cmd_cost(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, cost_opts);
    cost_set sets[COST_MAX_SETS];
    cost_req q = { .accel = "zcu104", .sets = sets };
    const char *config = NULL, *backend = "cycle", *topology = NULL, *arg;
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(cost_help);
        case CLI_ARG_POSITIONAL:
            if (q.file)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            q.file = arg;
            break;
        case OPT_CONFIG:
            if (config)
                return cli_usage_error(p.cmd, "--config given twice");
            config = arg;
            break;
        case OPT_BACKEND: backend = arg; break;
        case OPT_ACCEL: q.accel = arg; break;
        case OPT_SET:
            if (q.n_sets == COST_MAX_SETS)
                return cli_usage_error(p.cmd, "--set given more than %d times", COST_MAX_SETS);
            if (!parse_set(p.cmd, arg, &sets[q.n_sets]))
                return CLI_EXIT_USAGE;
            q.n_sets++;
            break;
        case OPT_CACHED: q.cached = arg; q.cached_text = arg; break;
        case OPT_BUDGET:
            if (!cli_parse_u64(p.cmd, "--cached-budget", arg, &q.budget))
                return CLI_EXIT_USAGE;
            q.have_budget = true;
            break;
        case OPT_TOPOLOGY: topology = arg; break;
        case OPT_LAYERS: q.layers = true; break;
        case OPT_CSV: q.csv = true; break;
        case OPT_JSON: q.json = true; break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (strcmp(backend, "cycle") != 0)
        return cli_usage_error(p.cmd, "--backend: only 'cycle' models costs, got '%s'", backend);
    if (sushi_cycle_preset_find(q.accel) < 0)
        return cli_usage_error(p.cmd, "--accel: expected zcu104 or u50, got '%s'", q.accel);
    if (q.csv && q.json)
        return cli_usage_error(p.cmd, "--csv and --json are exclusive");
    if (topology) {
        if (q.file || config || q.cached || q.have_budget || q.layers)
            return cli_usage_error(p.cmd, "--topology takes no FILE, --config, --cached, --cached-budget or --layers");
        sushi_cycle_model m;
        int rc = sushi_cycle_model_init(&m, sushi_cycle_preset_find(q.accel));
        for (size_t i = 0; !rc && i < q.n_sets; i++)
            if ((rc = sushi_cycle_model_set(&m, sets[i].key, sets[i].value)))
                return cli_fail(sets[i].key, rc, NULL);
        if (rc)
            return cli_fail("preset", rc, q.accel);
        return cost_topology(topology, &m, q.accel, q.csv, q.json);
    }
    if (!q.file)
        return cli_usage_error(p.cmd, "missing FILE (or --topology LAYERS.csv)");
    if (!config)
        return cli_usage_error(p.cmd, "missing --config CFG");
    if (q.cached && q.have_budget)
        return cli_usage_error(p.cmd, "--cached and --cached-budget are exclusive");
    sushi_supernet *sn;
    int ec = cli_load_supernet(q.file, &sn);
    if (ec)
        return ec;
    sushi_config cfg;
    ec = cli_parse_config(sn, config, 0, &cfg);
    sushi_subnet *s = NULL;
    if (!ec)
        ec = cli_create_subnet(sn, &cfg, &s);
    if (!ec)
        ec = cost_subnet(&q, sn, s);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    return ec;
}
