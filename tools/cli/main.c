/* `sushi`: command-line front end of libsushi. Dispatches to the subcommand
 * table (commands.c); see docs/cli.md. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void print_usage(FILE *f)
{
    fputs("usage: sushi [--check-finite] <command> [options] [args]\n"
          "       sushi --help | --version\n"
          "\n"
          "commands:\n",
          f);
    for (const cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fputs("\n"
          "FILE arguments are .sushi files or builtin:NAME (a built-in SuperNet,\n"
          "e.g. builtin:ofa-resnet50). --check-finite (before the command) makes every\n"
          "file load refuse NaN/Inf weights (SUSHI_LOAD_CHECK_FINITE), naming the tensor.\n"
          "Run 'sushi <command> --help' for a command's\n"
          "options. Exit status: 0 success, 1 runtime error, 2 usage error.\n",
          f);
}

/* Output is buffered: a write error (a full disk, /dev/full, a closed pipe
 * reader) may only show when stdout is flushed or closed. Check that for
 * every command, so a run whose output was lost never exits 0; one error
 * line, and none when the command already reported a failure. */
static int finish(int ex)
{
    errno = 0;
    bool bad = fflush(stdout) != 0 || ferror(stdout);
    int why = errno;
    if (fclose(stdout) != 0 && !bad) {
        bad = true;
        why = errno;
    }
    if (bad && ex == CLI_EXIT_OK)
        return cli_fail_msg("write stdout", why ? strerror(why) : "write error");
    return ex;
}

static int dispatch(int argc, char **argv);

int main(int argc, char **argv)
{
    return finish(dispatch(argc, argv));
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        return cli_usage_error("sushi", "missing command");
    }
    /* global options, before the command */
    while (argc > 1 && strcmp(argv[1], "--check-finite") == 0) {
        cli_load_flags |= SUSHI_LOAD_CHECK_FINITE;
        argc--, argv++;
    }
    if (argc < 2)
        return cli_usage_error("sushi", "missing command");
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            /* `sushi help CMD` == `sushi CMD --help` */
            for (const cli_command *c = cli_commands; c->name; c++) {
                if (strcmp(c->name, argv[2]) == 0) {
                    char *sub[] = { argv[2], (char *)"--help", NULL };
                    return c->run(2, sub);
                }
            }
            return cli_usage_error("sushi", "unknown command '%s'", argv[2]);
        }
        print_usage(stdout);
        return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("sushi %s (libsushi %s)\n", SUSHI_VERSION_STRING, sushi_version_string());
        return CLI_EXIT_OK; /* a write error is reported by main.c finish() */
    }
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_usage_error("sushi", "unknown option '%s'", name);
    return cli_usage_error("sushi", "unknown command '%s'", name);
}
