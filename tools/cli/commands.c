/* The subcommand table of the `sushi` CLI: the one place a subcommand is
 * registered. Later groups (`run`, `cost`, `eval`, `serve`, `trace`) add a
 * row here, a cmd_<group>.c file and its line in meson.build; a row may be
 * guarded by a macro that tools/cli/meson.build defines when the backend the
 * subcommand needs was built (e.g. SUSHI_CLI_HAVE_CPU). */
#include "cli.h"

const cli_command cli_commands[] = {
    { "zoo", "write a built-in SuperNet to a file (--list: list them)", cli_cmd_zoo },
    { "info", "summarise a SuperNet: family, input, elastic dimensions, sizes", cli_cmd_info },
    { "subnets", "print the candidate table of a SuperNet", cli_cmd_subnets },
    { "subnet", "cost of one SubNet: params, MACs, weight bytes (--layers: per-layer plan)", cli_cmd_subnet },
    { "subgraph", "common SubGraph of SubNets, its bytes and each SubNet's hit bytes", cli_cmd_subgraph },
    { "eval", "measure top-1 of every candidate on a labelled dataset and store it in the file", cli_cmd_eval },
#ifdef SUSHI_CLI_HAVE_CPU
    { "calibrate", "calibrate int8 ranges of every candidate on images and store them in the file",
      cli_cmd_calibrate },
#endif
    { "run", "run one SubNet on one input with a backend: top-5 classes and time", cli_cmd_run },
#ifdef SUSHI_CLI_HAVE_CYCLE
    { "cost", "modelled cycles, latency, bytes and energy of a SubNet or layer list (cycle backend)", cli_cmd_cost },
#endif
    { "serve", "serve a query stream with the scheduler; compare caching policies", sushi_cli_serve },
    { "trace", "generate a query trace CSV (trace gen)", sushi_cli_trace },
    { "profile", "measure every candidate's latency on a backend into a profile for serve --profile",
      cli_cmd_profile },
    { "candidates", "choose a SuperNet's candidate table (uniform, random, explicit) to be measured",
      cli_cmd_candidates },
#ifdef SUSHI_CLI_HAVE_CPU
    { "recalibrate", "recompute every candidate's BN statistics on images and store them in the file",
      cli_cmd_recalibrate },
#endif
    { NULL, NULL, NULL }
};
