/* `sushi candidates`: choose the candidate table of a SuperNet (uniform
 * configs, seeded random configs, explicit configs) and write it, unmeasured,
 * through sushi_supernet_with_candidates(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char candidates_help[] =
    "usage: sushi candidates FILE [--uniform] [--random N [--seed S]] [--config TEXT]...\n"
    "                        [--keep] [--resolutions R,R,...] -o OUT [--json]\n"
    "\n"
    "Write a copy of FILE whose candidate table (the SubNets the scheduler may\n"
    "serve) is the SubNets chosen here, in this order, without duplicates:\n"
    "  --keep             FILE's current candidates first (with their measurements)\n"
    "  --uniform          every uniform SubNet: the i-th choice of kernel size,\n"
    "                     the j-th expand ratio, the k-th depth (and width) in\n"
    "                     every slot (OFA's uniform sampling), at each resolution\n"
    "  --random N         N SubNets with every slot drawn uniformly among its\n"
    "                     choices and a resolution drawn from --resolutions\n"
    "  --seed S           seed of --random (default 1): same seed, same table\n"
    "  --config TEXT      one SubNet (OFA JSON arch dict, \"min\", \"max@24\", ...);\n"
    "                     repeatable\n"
    "  --resolutions LIST resolutions to use (default: all the file allows)\n"
    "A SubNet that already was a candidate keeps its accuracy, BN statistics and\n"
    "int8 ranges; a new one has none: run `sushi recalibrate` (optional), then\n"
    "`sushi eval` on OUT before serving it.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT   the file to write (required; FILE itself is allowed)\n"
    "      --json         print the table as one JSON object\n"
    "  -h, --help         show this help\n";

enum { OPT_UNIFORM = 1, OPT_RANDOM, OPT_SEED, OPT_CONFIG, OPT_KEEP, OPT_RES, OPT_OUTPUT, OPT_JSON };

static const cli_option cand_opts[] = {
    { "uniform", 0, false, OPT_UNIFORM },
    { "random", 0, true, OPT_RANDOM },
    { "seed", 0, true, OPT_SEED },
    { "config", 0, true, OPT_CONFIG },
    { "keep", 0, false, OPT_KEEP },
    { "resolutions", 0, true, OPT_RES },
    { "output", 'o', true, OPT_OUTPUT },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

#define MAX_CONFIG_ARGS 256
#define MAX_RES 64
#define MAX_CANDS 100000u

typedef struct cand_list {
    sushi_config *c;
    size_t n, cap;
} cand_list;

/* Append cfg unless already present. false on out of memory / too many. */
static bool add_config(cand_list *l, const sushi_config *cfg)
{
    for (size_t i = 0; i < l->n; i++)
        if (sushi_config_equal(&l->c[i], cfg))
            return true;
    if (l->n >= MAX_CANDS)
        return false;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        sushi_config *nc = realloc(l->c, cap * sizeof *nc);
        if (!nc)
            return false;
        l->c = nc, l->cap = cap;
    }
    l->c[l->n++] = *cfg;
    return true;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Slot counts of each kind: from the largest config's used entries. */
static void slot_counts(const sushi_config *shape, uint32_t n[4])
{
    n[SUSHI_ELASTIC_KS] = shape->n_ks;
    n[SUSHI_ELASTIC_E] = shape->n_e;
    n[SUSHI_ELASTIC_D] = shape->n_d;
    n[SUSHI_ELASTIC_W] = shape->n_w;
}

static void set_slot(sushi_config *cfg, int kind, uint32_t slot, double v)
{
    switch (kind) {
    case SUSHI_ELASTIC_KS: cfg->ks[slot] = (uint8_t)v; break;
    case SUSHI_ELASTIC_E: cfg->e[slot] = (float)v; break;
    case SUSHI_ELASTIC_D: cfg->d[slot] = (uint8_t)v; break;
    default: cfg->w[slot] = (uint8_t)v; break;
    }
}

/* Set every slot of `kind` to its choice number pick(slot) (clamped). */
static int fill_kind(const sushi_supernet *sn, sushi_config *cfg, int kind, uint32_t slots, uint32_t idx,
                     uint64_t *rng)
{
    for (uint32_t s = 0; s < slots; s++) {
        double v[64];
        int n = sushi_supernet_choices(sn, kind, s, v, 64);
        if (n < 0)
            return n;
        if (n == 0)
            continue;
        uint32_t k = rng ? (uint32_t)(splitmix64(rng) % (uint64_t)n) : (idx < (uint32_t)n ? idx : (uint32_t)n - 1);
        set_slot(cfg, kind, s, v[k]);
    }
    return SUSHI_OK;
}

static uint32_t max_choices(const sushi_supernet *sn, int kind, uint32_t slots)
{
    uint32_t m = 1;
    for (uint32_t s = 0; s < slots; s++) {
        int n = sushi_supernet_choices(sn, kind, s, NULL, 0);
        if (n > (int)m)
            m = (uint32_t)n;
    }
    return m;
}

/* Number of different configs at n_res resolutions (every slot of every kind
 * takes each of its choices), saturating at UINT64_MAX; 0 on a library error. */
static uint64_t space_size(const sushi_supernet *sn, const uint32_t slots[4], uint32_t n_res)
{
    uint64_t total = n_res;
    for (int k = 0; k < 4; k++)
        for (uint32_t s = 0; s < slots[k]; s++) {
            int n = sushi_supernet_choices(sn, k, s, NULL, 0);
            if (n < 0)
                return 0;
            if (n > 1)
                total = total > UINT64_MAX / (uint64_t)n ? UINT64_MAX : total * (uint64_t)n;
        }
    return total;
}

static bool parse_res_list(const sushi_supernet *sn, const char *text, uint32_t *res, uint32_t *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > 65535 || *n >= MAX_RES) {
            cli_usage_error("candidates", "--resolutions %s: expected a list of resolutions like 16,28", text);
            return false;
        }
        sushi_config c = SUSHI_CONFIG_INIT;
        if (sushi_config_extreme(sn, true, (uint32_t)v, &c) != SUSHI_OK) {
            cli_usage_error("candidates", "--resolutions: %lu is not a resolution of this SuperNet", v);
            return false;
        }
        res[(*n)++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') {
            cli_usage_error("candidates", "--resolutions %s: expected a list of resolutions like 16,28", text);
            return false;
        }
    }
    return *n > 0;
}

int cli_cmd_candidates(int argc, char **argv)
{
    const char *cmd = "candidates";
    cli_parser p;
    cli_parser_init(&p, argc, argv, cand_opts);
    const char *file = NULL, *outp = NULL, *res_text = NULL, *configs[MAX_CONFIG_ARGS];
    size_t n_configs = 0;
    bool uniform = false, keep = false, json = false, have_random = false;
    uint32_t n_random = 0;
    uint64_t seed = 1;
    const char *arg;
    int o;
    while ((o = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (o) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(candidates_help);
        case CLI_ARG_POSITIONAL:
            if (file)
                return cli_usage_error(cmd, "unexpected argument '%s'", arg);
            file = arg;
            break;
        case OPT_UNIFORM: uniform = true; break;
        case OPT_RANDOM:
            if (!cli_parse_u32(cmd, "--random", arg, &n_random))
                return CLI_EXIT_USAGE;
            have_random = true;
            break;
        case OPT_SEED:
            if (!cli_parse_u64(cmd, "--seed", arg, &seed))
                return CLI_EXIT_USAGE;
            break;
        case OPT_CONFIG:
            if (n_configs == MAX_CONFIG_ARGS)
                return cli_usage_error(cmd, "at most %d --config", MAX_CONFIG_ARGS);
            configs[n_configs++] = arg;
            break;
        case OPT_KEEP: keep = true; break;
        case OPT_RES: res_text = arg; break;
        case OPT_OUTPUT: outp = arg; break;
        case OPT_JSON: json = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (!file)
        return cli_usage_error(cmd, "missing FILE");
    if (!outp)
        return cli_usage_error(cmd, "missing -o OUT");
    if (!uniform && !have_random && !n_configs && !keep)
        return cli_usage_error(cmd, "nothing to choose: give --uniform, --random N, --config TEXT or --keep");
    if (have_random && (n_random < 1 || n_random > MAX_CANDS))
        return cli_usage_error(cmd, "--random must be 1..%u", MAX_CANDS);

    sushi_supernet *sn = NULL;
    int rc = cli_load_supernet(file, &sn);
    if (rc)
        return rc;
    int ex = CLI_EXIT_RUNTIME;
    cand_list L = { 0 };
    sushi_supernet *out = NULL;
    uint32_t res[MAX_RES], n_res = 0;
    if (res_text) {
        if (!parse_res_list(sn, res_text, res, &n_res)) {
            ex = CLI_EXIT_USAGE;
            goto done;
        }
    } else {
        for (size_t i = 0; i < MAX_RES; i++) {
            uint32_t r = sushi_supernet_resolution(sn, i);
            if (!r)
                break;
            res[n_res++] = r;
        }
    }
    sushi_config shape = SUSHI_CONFIG_INIT;
    if ((rc = sushi_config_extreme(sn, true, res[0], &shape))) {
        cli_fail("largest config", rc, NULL);
        goto done;
    }
    uint32_t slots[4];
    slot_counts(&shape, slots);
    if (keep) {
        sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
        sushi_supernet_get_info(sn, &si);
        for (uint32_t i = 0; i < si.n_candidates; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            if ((rc = sushi_supernet_candidate(sn, i, &ci)) || !add_config(&L, &ci.config)) {
                cli_fail_msg(cmd, rc ? sushi_status_str(rc) : "out of memory or too many candidates");
                goto done;
            }
        }
    }
    for (size_t i = 0; i < n_configs; i++) {
        sushi_config c = SUSHI_CONFIG_INIT;
        char why[256] = "";
        if ((rc = sushi_config_parse(sn, configs[i], 0, &c, why, sizeof why))) {
            char what[64];
            snprintf(what, sizeof what, "--config %zu", i + 1);
            cli_fail_msg(what, why[0] ? why : sushi_status_str(rc));
            goto done;
        }
        if (!add_config(&L, &c)) {
            cli_fail_msg(cmd, "out of memory or too many candidates");
            goto done;
        }
    }
    if (uniform) {
        uint32_t m[4];
        for (int k = 0; k < 4; k++)
            m[k] = max_choices(sn, k, slots[k]);
        for (uint32_t ri = 0; ri < n_res; ri++)
            for (uint32_t a = 0; a < m[0]; a++)
                for (uint32_t b = 0; b < m[1]; b++)
                    for (uint32_t c = 0; c < m[2]; c++)
                        for (uint32_t w = 0; w < m[3]; w++) {
                            sushi_config cfg = shape;
                            cfg.resolution = res[ri];
                            uint32_t idx[4] = { a, b, c, w };
                            for (int k = 0; k < 4 && !rc; k++)
                                rc = fill_kind(sn, &cfg, k, slots[k], idx[k], NULL);
                            if (rc || !add_config(&L, &cfg)) {
                                cli_fail_msg(cmd, rc ? sushi_status_str(rc) : "out of memory or too many candidates");
                                goto done;
                            }
                        }
    }
    if (have_random) {
        /* --random draws distinct SubNets (add_config skips a repeat, and the loop draws
         * again): refuse at once a count the space cannot hold, rather than after the draws */
        uint64_t space = space_size(sn, slots, n_res), taken = 0;
        for (size_t i = 0; i < L.n; i++)
            for (uint32_t j = 0; j < n_res; j++)
                if (L.c[i].resolution == res[j]) {
                    taken++;
                    break;
                }
        if (space && taken + n_random > space) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "--random %u: the SuperNet has only %llu different SubNets at the %u resolution(s) "
                     "asked, %llu of them already chosen: at most %llu more",
                     n_random, (unsigned long long)space, n_res, (unsigned long long)taken,
                     (unsigned long long)(space - taken));
            cli_fail_msg(cmd, msg);
            ex = CLI_EXIT_USAGE;
            goto done;
        }
    }
    if (have_random) {
        uint64_t rng = seed;
        size_t want = L.n + n_random, tries = 0, max_tries = (size_t)n_random * 100 + 1000;
        while (L.n < want && tries++ < max_tries) {
            sushi_config cfg = shape;
            cfg.resolution = res[splitmix64(&rng) % n_res];
            for (int k = 0; k < 4 && !rc; k++)
                rc = fill_kind(sn, &cfg, k, slots[k], 0, &rng);
            if (rc || !add_config(&L, &cfg)) {
                cli_fail_msg(cmd, rc ? sushi_status_str(rc) : "out of memory or too many candidates");
                goto done;
            }
        }
        if (L.n < want) {
            char msg[160];
            snprintf(msg, sizeof msg, "--random %u: only %zu different SubNets found in %zu draws", n_random,
                     L.n + n_random - want, max_tries);
            cli_fail_msg(cmd, msg);
            goto done;
        }
    }
    char source[512];
    snprintf(source, sizeof source, "sushi candidates (libsushi %s)%s%s%s", sushi_version_string(),
             keep ? " --keep" : "", uniform ? " --uniform" : "", n_configs ? " --config ..." : "");
    if (have_random) {
        char extra[96];
        snprintf(extra, sizeof extra, " --random %u --seed %llu", n_random, (unsigned long long)seed);
        strncat(source, extra, sizeof source - strlen(source) - 1);
    }
    if (res_text) {
        strncat(source, " --resolutions ", sizeof source - strlen(source) - 1);
        strncat(source, res_text, sizeof source - strlen(source) - 1);
    }
    if ((rc = sushi_supernet_with_candidates(sn, L.c, L.n, source, &out))) {
        cli_fail("candidate table", rc, NULL);
        goto done;
    }
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_num(root, "candidates", (double)L.n);
        cJSON *arr = cli_json_add_array(root, "table");
        for (size_t i = 0; i < L.n; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(out, i, &ci);
            cJSON *o2 = cli_json_append_object(arr);
            cli_json_num(o2, "index", (double)i);
            cli_json_config(o2, "config", &ci.config);
            cli_json_num(o2, "macs", (double)ci.macs);
            cli_json_num_or_null(o2, "accuracy", ci.accuracy);
        }
        if ((ex = cli_json_print(root)) != CLI_EXIT_OK)
            goto done;
    }
    if ((ex = cli_write_supernet(out, file, outp)) != CLI_EXIT_OK)
        goto done;
    if (!json)
        printf("wrote %s: %zu candidates\n", outp, L.n);
    ex = CLI_EXIT_OK;
done:
    free(L.c);
    sushi_supernet_destroy(out);
    sushi_supernet_destroy(sn);
    return ex;
}
