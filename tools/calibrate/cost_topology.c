/* cost_topology: cost every row of a topology CSV with the cycle model and
 * print one SCALE-Sim-like CSV row per input row, in input order. Used by
 * tools/calibrate/fit_zcu104.py; the same as `sushi cost --topology`.
 *
 *   cost_topology [--preset zcu104|u50] [--set KEY=VALUE]... LAYERS.csv
 *
 * Exit status: 0 ok, 1 bad usage or parameter, 2 unreadable/malformed file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sushi/sushi.h>
#include "sushi/cycle.h"

typedef struct sink {
    const sushi_cycle_model *m;
    double total_s;
} sink;

static int on_row(void *user, size_t row, unsigned line, const char *name, const sushi_conv_shape *sh)
{
    sink *k = user;
    sushi_layer_cost c;
    int rc = sushi_cycle_cost_conv(k->m, sh, &c);
    if (rc) {
        fprintf(stderr, "line %u: cannot cost this layer: %s\n", line, sushi_status_str(rc));
        return rc;
    }
    char buf[1024];
    sushi_cycle_csv_row(buf, sizeof buf, row, name, sh, &c);
    fputs(buf, stdout);
    k->total_s += c.latency_s;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: cost_topology [--preset zcu104|u50] [--set KEY=VALUE]... LAYERS.csv\n");
    return 1;
}

int main(int argc, char **argv)
{
    sushi_cycle_model m;
    sushi_cycle_model_init(&m, SUSHI_CYCLE_PRESET_ZCU104);
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) {
            int id = sushi_cycle_preset_find(argv[++i]);
            if (id < 0) {
                fprintf(stderr, "unknown preset '%s'\n", argv[i]);
                return 1;
            }
            /* a preset resets everything: apply it before any --set */
            sushi_cycle_model_init(&m, id);
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            char key[64];
            const char *eq = strchr(argv[++i], '=');
            if (!eq || (size_t)(eq - argv[i]) >= sizeof key)
                return usage();
            memcpy(key, argv[i], (size_t)(eq - argv[i]));
            key[eq - argv[i]] = '\0';
            char *end;
            double v = strtod(eq + 1, &end);
            int rc = *end || end == eq + 1 ? SUSHI_ERR_RANGE : sushi_cycle_model_set(&m, key, v);
            if (rc) {
                fprintf(stderr, "--set %s: %s\n", argv[i], sushi_status_str(rc));
                return 1;
            }
        } else if (argv[i][0] == '-' || path) {
            return usage();
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage();
    char hdr[1024], err[256];
    sushi_cycle_csv_header(hdr, sizeof hdr);
    fputs(hdr, stdout);
    sink k = { &m, 0 };
    int rc = sushi_cycle_topology_read(path, on_row, &k, err, sizeof err);
    if (rc) {
        fprintf(stderr, "%s\n", rc == SUSHI_ERR_FORMAT || rc == SUSHI_ERR_IO ? err : sushi_status_str(rc));
        return 2;
    }
    fprintf(stderr, "total latency %.6f s\n", k.total_s);
    return 0;
}
