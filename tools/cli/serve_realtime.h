/* `sushi serve --realtime`: replay a query stream at its trace arrival times
 * through a sushi_server (include/sushi/server.h) and measure end-to-end
 * latency. Kept apart from cmd_serve.c, which calls it once per policy. */
#ifndef SUSHI_CLI_SERVE_REALTIME_H
#define SUSHI_CLI_SERVE_REALTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sushi/sushi.h>

typedef struct cli_rt_args {
    const sushi_supernet *sn;
    const char *backend, *policy;
    const sushi_sched_options *o;
    uint32_t workers;
    uint32_t order;              /* sushi_server_order */
    double block_miss;           /* sushi_server_options.block_miss */
    int32_t worker_nice;         /* sushi_server_options.worker_nice (0 = inherited) */
    sushi_server_setup_fn setup; /* configures each worker's backend / scheduler (may be NULL) */
    void *setup_user;
    const sushi_query *qs;       /* constraints and arrival_s (trace time, s); buffers ignored */
    size_t nq;
    /* query i runs input (i mod n_inputs), input_len floats each; NULL = cost only */
    const float *inputs;
    size_t n_inputs, input_len;
    const uint32_t *labels;      /* label of each input (NULL: no measured accuracy) */
    uint32_t n_classes;
} cli_rt_args;

typedef struct cli_rt_out {
    sushi_sched_stats st;   /* the workers' statistics merged (percentiles exact) */
    sushi_server_stats srv; /* the server's own */
    uint64_t correct;       /* served queries whose top-1 matched the label */
    double lateness_max_s;  /* how far behind its trace time the replay issued a query */
    /* per query (malloc'ed, NULL when nq == 0; cli_rt_out_free) */
    sushi_result *r;
    int *status;
    uint32_t *pred;
} cli_rt_out;

/* Replay; returns SUSHI_OK or the first failing status (server creation, a
 * query's failure). *out is filled on SUSHI_OK (free it with cli_rt_out_free). */
int cli_serve_realtime(const cli_rt_args *a, cli_rt_out *out);

void cli_rt_out_free(cli_rt_out *out);

#endif
