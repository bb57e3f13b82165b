/* Stand-alone driver of the scheduler's CLI subcommands (tools/cli/cmd_serve.c,
 * tools/cli/cmd_trace.c) for tests/sched/test_sched_cli.c, so they are tested
 * before and independently of their wiring into the `sushi` tool:
 *   sched_cli serve ARGS...  ==  sushi serve ARGS...
 *   sched_cli trace ARGS...  ==  sushi trace ARGS... */
#include <stdio.h>
#include <string.h>

int sushi_cli_serve(int argc, char **argv);
int sushi_cli_trace(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return sushi_cli_serve(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "trace") == 0)
        return sushi_cli_trace(argc - 1, argv + 1);
    fputs("usage: sched_cli serve|trace ARGS...\n", stderr);
    return 2;
}
