/* The `sushi` command-line tool: shared declarations.
 *
 * Layout: main.c dispatches through the subcommand table (commands.c); each
 * subcommand group lives in its own file (cmd_*.c) and uses only the public
 * libsushi API plus this small common module (common.c): argument parsing,
 * error reporting, SuperNet/config loading, JSON output through libcjson and
 * human number formatting.
 *
 * Conventions every subcommand follows (docs/cli.md):
 *   - exit 0 on success, 1 on a runtime error, 2 on a usage error;
 *   - an error prints exactly one line on stderr: "sushi: <what>: <message>";
 *   - --json prints exactly one JSON object on stdout and nothing else;
 *   - -h/--help prints the subcommand's help on stdout and exits 0. */
#ifndef SUSHI_CLI_H
#define SUSHI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sushi/sushi.h"

/* Exit codes. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_RUNTIME = 1, CLI_EXIT_USAGE = 2 };

/* ---------- subcommand table (commands.c) ---------- */

/* A subcommand. `run` receives argv with argv[0] = the subcommand's name and
 * returns the process exit code. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line for `sushi --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* NULL-terminated (name == NULL) table of subcommands. */
extern const cli_command cli_commands[];

/* Subcommands. To add one (e.g. `run`, `cost`, `eval`, `serve`, `trace`):
 * write tools/cli/cmd_<group>.c defining `int cli_cmd_<name>(int, char **)`,
 * declare it here, add a row to cli_commands[] in commands.c and the file to
 * tools/cli/meson.build. */
int cli_cmd_zoo(int argc, char **argv);      /* cmd_zoo.c */
int sushi_cli_serve(int argc, char **argv);  /* cmd_serve.c */
int sushi_cli_trace(int argc, char **argv);  /* cmd_trace.c */
int cli_cmd_info(int argc, char **argv);     /* cmd_info.c */
int cli_cmd_subnets(int argc, char **argv);  /* cmd_info.c */
int cli_cmd_subnet(int argc, char **argv);   /* cmd_subnet.c */
int cli_cmd_subgraph(int argc, char **argv); /* cmd_subgraph.c */
int cli_cmd_eval(int argc, char **argv);     /* cmd_eval.c */
int cli_cmd_calibrate(int argc, char **argv); /* cmd_eval.c (needs the cpu backend) */
int cli_cmd_run(int argc, char **argv);      /* cmd_run.c */
int cli_cmd_cost(int argc, char **argv);     /* cmd_cost.c (needs the cycle backend) */
int cli_cmd_profile(int argc, char **argv);  /* cmd_profile.c */
int cli_cmd_recalibrate(int argc, char **argv); /* cmd_recalibrate.c (needs the cpu backend) */
int cli_cmd_candidates(int argc, char **argv);  /* cmd_candidates.c */
/* Write sn to dest (or replace file) via a temporary file and rename (cmd_eval.c). */
int cli_write_supernet(const sushi_supernet *sn, const char *file, const char *dest);

/* ---------- argument parsing ---------- */

/* Option of a subcommand: "--long_name", optional "-s", with or without an
 * argument ("--opt VALUE", "--opt=VALUE", "-s VALUE"). ids must be > 0. */
typedef struct cli_option {
    const char *long_name;
    char short_name; /* 0 = none */
    bool has_arg;
    int id;
} cli_option;

/* Returned by cli_next(): */
#define CLI_ARG_END (-1)        /* no more arguments */
#define CLI_ARG_ERROR (-2)      /* usage error, already reported: exit CLI_EXIT_USAGE */
#define CLI_ARG_POSITIONAL 0    /* a positional argument, in *arg */
#define CLI_OPT_HELP 10000      /* -h / --help (recognised for every subcommand) */

typedef struct cli_parser {
    int argc;
    char **argv;
    int i;
    const cli_option *opts; /* terminated by long_name == NULL */
    const char *cmd;        /* subcommand name, for messages */
    bool positional_only;   /* after "--" */
} cli_parser;

void cli_parser_init(cli_parser *p, int argc, char **argv, const cli_option *opts);

/* Next option id (> 0), CLI_ARG_POSITIONAL, CLI_ARG_END or CLI_ARG_ERROR.
 * *arg receives the option's argument or the positional argument. */
int cli_next(cli_parser *p, const char **arg);

/* Parse numbers of options; on failure report a usage error and return false. */
bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out);
bool cli_parse_u32(const char *cmd, const char *opt, const char *text, uint32_t *out);

/* ---------- errors ---------- */

/* "sushi: <cmd>: <message> (see 'sushi <cmd> --help')" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "sushi: <what>: <status message>[: <detail>]" on stderr; returns CLI_EXIT_RUNTIME.
 * detail may be NULL or empty. Newlines in any part are replaced by spaces. */
int cli_fail(const char *what, int status, const char *detail);

/* "sushi: <what>: <message>" for errors that do not come from libsushi; returns CLI_EXIT_RUNTIME. */
int cli_fail_msg(const char *what, const char *message);

/* Print a subcommand's help text to stdout; returns CLI_EXIT_OK. */
int cli_help(const char *text);

/* ---------- SuperNets and configs ---------- */

/* Prefix of FILE arguments that name a built-in SuperNet: "builtin:ofa-resnet50". */
#define CLI_BUILTIN_PREFIX "builtin:"

/* Load FILE or builtin:NAME. Reports the error; returns an exit code. */
int cli_load_supernet(const char *spec, sushi_supernet **out);
/* Extra sushi_load_flags for every file cli_load_supernet() loads (global --check-finite). */
extern uint32_t cli_load_flags;

/* Parse CFG (what sushi_config_parse accepts, or "@path" to read it from a
 * file) with an optional resolution override (0 = none). Reports the error;
 * returns an exit code. */
int cli_parse_config(const sushi_supernet *sn, const char *text, uint32_t resolution, sushi_config *cfg);

/* Resolve a config into a SubNet (reports errors; returns an exit code). */
int cli_create_subnet(const sushi_supernet *sn, const sushi_config *cfg, sushi_subnet **out);

/* Compact OFA JSON text of a config, malloc'ed (NULL on allocation failure). */
char *cli_config_text(const sushi_config *cfg);

/* ---------- JSON output (libcjson) ---------- */

/* Helpers that add to an object; an allocation failure sets a sticky flag
 * that cli_json_print() reports. Numbers are JSON numbers (exact below 2^53). */
cJSON *cli_json_object(void);
cJSON *cli_json_add_object(cJSON *obj, const char *key);
cJSON *cli_json_add_array(cJSON *obj, const char *key);
void cli_json_num(cJSON *obj, const char *key, double v);
void cli_json_num_or_null(cJSON *obj, const char *key, double v); /* NaN -> null */
void cli_json_str(cJSON *obj, const char *key, const char *s);   /* NULL -> null */
void cli_json_bool(cJSON *obj, const char *key, bool b);
void cli_json_null(cJSON *obj, const char *key);
void cli_json_append(cJSON *arr, cJSON *item);                  /* takes item; NULL -> flag */
cJSON *cli_json_append_object(cJSON *arr);
void cli_json_append_num(cJSON *arr, double v);
/* The config as a JSON object (parsed from sushi_config_print's text). */
void cli_json_config(cJSON *obj, const char *key, const sushi_config *cfg);

/* Print `root` as one JSON object on stdout and free it. Returns an exit code. */
int cli_json_print(cJSON *root);

/* ---------- human number formatting (units: M = 1e6, MB = 1e6 bytes) ---------- */

typedef struct cli_num {
    char s[48];
} cli_num;

cli_num cli_fmt_mparams(uint64_t params); /* "25.55 M params" */
cli_num cli_fmt_mmacs(uint64_t macs);     /* "4093.4 MMACs" */
cli_num cli_fmt_mb(uint64_t bytes);       /* "6.52 MB" */
cli_num cli_fmt_millions(uint64_t v);     /* "25.55 M" */
cli_num cli_fmt_u64(uint64_t v);          /* "25,553,384" */
cli_num cli_fmt_mcol(uint64_t v);         /* v / 1e6 for table columns, no unit: "48.038", "0.002936" */

/* ---------- numbers, durations and trace generation (serve, trace) ---------- */

/* A finite double filling the whole string (no usage message). */
bool cli_parse_double(const char *s, double *v);

/* Seconds with an optional suffix s, ms or us ("2ms" = 0.002); finite. */
bool cli_parse_seconds(const char *s, double *v);

/* Accelerator preset of the cycle backend's "preset" param: "zcu104" = 0,
 * "u50" = 1 (pinned ids), or a number. False when neither. */
bool cli_accel_preset(const char *name, double *id);

/* Outcome of cli_trace_gen_set(). */
enum { CLI_GEN_OK = 0, CLI_GEN_UNKNOWN_KEY = 1, CLI_GEN_BAD_VALUE = 2 };

/* Bits of cli_trace_gen_set()'s *set: which ranges the user gave. */
#define CLI_GEN_SET_ACC 1u
#define CLI_GEN_SET_SLO 2u

/* Set one option of the trace generator from text, as `serve --gen KEY=VALUE`
 * and `trace gen --KEY VALUE` spell them: seed, queries (or n), regimes, dwell,
 * mix, both, jitter, rate, acc_lo, acc_hi, slo_lo, slo_hi, acc (LO:HI), slo
 * (LO:HI). SLOs are seconds (suffix ms/us allowed). Values are checked against
 * the generator's domain (queries 1..1e8, regimes 1..1e6, dwell >= 1, mix,
 * both, jitter, acc_lo, acc_hi in [0, 1], rate > 0, SLOs > 0); the ranges'
 * order is checked by cli_trace_gen_check() once every key is applied. set (may be NULL) accumulates CLI_GEN_SET_* bits.
 * Prints nothing; returns CLI_GEN_*. */
int cli_trace_gen_set(sushi_trace_gen_options *o, const char *key, const char *val, unsigned *set);

/* What a valid value of generator key `key` looks like, for messages
 * ("an integer 1..100000000"). */
const char *cli_trace_gen_expect(const char *key);

/* The order of the ranges once every key is applied: false with "acc_lo 0.9 >
 * acc_hi 0.1" (or the slo pair) in msg when a range is inverted. */
bool cli_trace_gen_check(const sushi_trace_gen_options *o, char *msg, size_t n);

/* ---------- progress on a terminal ---------- */

/* A one-line progress bar on stderr for long commands (eval, serve). It is
 * drawn only when stderr is a terminal (isatty(2)); otherwise every call does
 * nothing, so redirected stderr, logs and tests never see progress bytes.
 * Redraws at most every 0.25 s; cli_progress_end() draws the final state and
 * ends the line. Not thread-safe: call from one thread. */
typedef struct cli_progress {
    bool on;          /* stderr is a terminal */
    uint64_t total;   /* units of work */
    const char *unit; /* "images", "queries" */
    char label[64];   /* prefix, e.g. the policy being served (may be empty) */
    double t0, last;  /* start, last redraw (monotonic seconds) */
} cli_progress;

void cli_progress_start(cli_progress *p, uint64_t total, const char *unit);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_end(cli_progress *p, uint64_t done);

/* Monotonic clock in seconds. */
double cli_now_s(void);

#endif
