/* `sushi zoo`: write a built-in SuperNet to a file, or list the built-ins. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char zoo_help[] =
    "usage: sushi zoo NAME -o FILE [--weights seed|f32] [--seed N] [--json]\n"
    "       sushi zoo --list [--json]\n"
    "\n"
    "Write the built-in SuperNet NAME (synthetic, seeded weights) to FILE.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE    file to write (required unless --list)\n"
    "      --weights MODE   seed: store only the generator seed (small file, default)\n"
    "                       f32:  store every tensor as float32\n"
    "      --seed N         weight generator seed (default 0 = the family's default seed)\n"
    "  -l, --list           list the built-in SuperNets\n"
    "      --json           print one JSON object on stdout\n"
    "  -h, --help           show this help\n";

enum { OPT_OUTPUT = 1, OPT_WEIGHTS, OPT_SEED, OPT_LIST, OPT_JSON };

static const cli_option zoo_opts[] = {
    { "output", 'o', true, OPT_OUTPUT },
    { "weights", 0, true, OPT_WEIGHTS },
    { "seed", 0, true, OPT_SEED },
    { "list", 'l', false, OPT_LIST },
    { "json", 0, false, OPT_JSON },
    { NULL, 0, false, 0 }
};

static int zoo_list(bool json)
{
    if (json) {
        cJSON *root = cli_json_object();
        cJSON *arr = cli_json_add_array(root, "builtins");
        for (size_t i = 0; sushi_supernet_builtin_name(i); i++)
            cli_json_append(arr, cJSON_CreateString(sushi_supernet_builtin_name(i)));
        return cli_json_print(root);
    }
    for (size_t i = 0; sushi_supernet_builtin_name(i); i++)
        printf("%s\n", sushi_supernet_builtin_name(i));
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}

int cli_cmd_zoo(int argc, char **argv)
{
    cli_parser p;
    cli_parser_init(&p, argc, argv, zoo_opts);
    const char *name = NULL, *output = NULL, *arg;
    int weights = SUSHI_WEIGHTS_SEED;
    const char *weights_name = "seed";
    uint64_t seed = 0;
    bool list = false, json = false;
    int id;
    while ((id = cli_next(&p, &arg)) != CLI_ARG_END) {
        switch (id) {
        case CLI_ARG_ERROR: return CLI_EXIT_USAGE;
        case CLI_OPT_HELP: return cli_help(zoo_help);
        case CLI_ARG_POSITIONAL:
            if (name)
                return cli_usage_error(p.cmd, "unexpected argument '%s'", arg);
            name = arg;
            break;
        case OPT_OUTPUT: output = arg; break;
        case OPT_WEIGHTS:
            if (strcmp(arg, "seed") == 0) {
                weights = SUSHI_WEIGHTS_SEED;
            } else if (strcmp(arg, "f32") == 0) {
                weights = SUSHI_WEIGHTS_F32;
            } else {
                return cli_usage_error(p.cmd, "--weights: expected 'seed' or 'f32', got '%s'", arg);
            }
            weights_name = weights == SUSHI_WEIGHTS_SEED ? "seed" : "f32";
            break;
        case OPT_SEED:
            if (!cli_parse_u64(p.cmd, "--seed", arg, &seed))
                return CLI_EXIT_USAGE;
            break;
        case OPT_LIST: list = true; break;
        case OPT_JSON: json = true; break;
        default: return cli_usage_error(p.cmd, "internal: unhandled option");
        }
    }
    if (list) {
        if (name || output)
            return cli_usage_error(p.cmd, "--list takes no NAME or --output");
        return zoo_list(json);
    }
    if (!name)
        return cli_usage_error(p.cmd, "missing NAME (try 'sushi zoo --list')");
    if (!output)
        return cli_usage_error(p.cmd, "missing -o FILE");

    sushi_context *ctx = NULL;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc)
        return cli_fail("create context", rc, NULL);
    sushi_supernet *sn = NULL;
    rc = sushi_supernet_builtin(ctx, name, seed, &sn);
    sushi_context_destroy(ctx);
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "zoo '%.64s'", name);
        return cli_fail(what, rc,
                        rc == SUSHI_ERR_NOT_FOUND ? "no such built-in SuperNet (see 'sushi zoo --list')" : NULL);
    }
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    so.weights = weights;
    errno = 0;
    rc = sushi_supernet_save_file(sn, output, &so);
    int save_errno = errno;
    sushi_supernet_destroy(sn);
    if (rc) {
        char what[320];
        snprintf(what, sizeof what, "write '%.256s'", output);
        return cli_fail(what, rc, rc == SUSHI_ERR_IO && save_errno ? strerror(save_errno) : NULL);
    }
    struct stat st;
    long long size = stat(output, &st) == 0 ? (long long)st.st_size : -1;
    if (json) {
        cJSON *root = cli_json_object();
        cli_json_str(root, "name", name);
        cli_json_str(root, "file", output);
        cli_json_str(root, "weights", weights_name);
        if (seed <= (UINT64_C(1) << 53)) {
            cli_json_num(root, "seed", (double)seed);
        } else { /* not exact as a JSON number: a decimal string */
            char buf[32];
            snprintf(buf, sizeof buf, "%" PRIu64, seed);
            cli_json_str(root, "seed", buf);
        }
        if (size >= 0)
            cli_json_num(root, "file_bytes", (double)size);
        else
            cli_json_null(root, "file_bytes");
        return cli_json_print(root);
    }
    printf("wrote %s to %s (%s weights, %s)\n", name, output, weights_name,
           size >= 0 ? cli_fmt_mb((uint64_t)size).s : "size unknown");
    return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
}
