/* endian_probe IN [OUT]: load the SuperNet file IN, print one line per
 * float32 payload kind with a host-independent digest of the values as the
 * library holds them in memory, and (with OUT) save it again as float32.
 *
 * The digest is FNV-1a 64 over each value's IEEE-754 bits taken as a number
 * (fed least significant byte first), so the same values give the same digest
 * on a little- and a big-endian host. scripts/cross-test runs it natively and
 * under qemu (aarch64, s390x) on the same files and compares digests and the
 * bytes of OUT (docs/install.md, "Cross builds"). Uses the internal tensor
 * table (links the internal static library). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sushi/sushi.h"

static uint64_t fnv(uint64_t h, const float *v, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int b = 0; b < 4; b++) {
            h ^= (u >> (8 * b)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    }
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: endian_probe IN [OUT]\n");
        return 2;
    }
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    int rc = sushi_context_create(NULL, &ctx);
    if (rc == SUSHI_OK)
        rc = sushi_supernet_load_file(ctx, argv[1], NULL, &sn);
    if (rc != SUSHI_OK) {
        fprintf(stderr, "endian_probe: %s: %s\n", argv[1], sushi_status_str(rc));
        sushi_context_destroy(ctx);
        return 1;
    }
    uint64_t h = 0xcbf29ce484222325ull, n = 0;
    for (uint32_t i = 0; i < sn->n_tensors; i++) {
        h = fnv(h, sn->tensors[i].data, sn->tensors[i].nelem);
        n += sn->tensors[i].nelem;
    }
    printf("tensors %" PRIu32 " values %" PRIu64 " fnv1a64 %016" PRIx64 "\n", sn->n_tensors, n, h);
    uint64_t hb = 0xcbf29ce484222325ull, hr = hb, nb = 0, nr = 0;
    for (uint32_t c = 0; c < sn->n_cand; c++) {
        const sushi_candidate *k = &sn->cands[c];
        if (k->bn_stats) {
            hb = fnv(hb, k->bn_stats, k->n_bn_stats);
            nb += k->n_bn_stats;
        }
        if (k->int8_ranges) {
            hr = fnv(hr, k->int8_ranges, k->n_int8_ranges);
            nr += k->n_int8_ranges;
        }
        if (k->act_ranges) {
            hr = fnv(hr, k->act_ranges, k->n_act_ranges);
            nr += k->n_act_ranges;
        }
    }
    printf("bn_stats values %" PRIu64 " fnv1a64 %016" PRIx64 "\n", nb, hb);
    printf("ranges values %" PRIu64 " fnv1a64 %016" PRIx64 "\n", nr, hr);
    if (argc == 3) {
        sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
        so.weights = SUSHI_WEIGHTS_F32;
        rc = sushi_supernet_save_file(sn, argv[2], &so);
        if (rc != SUSHI_OK)
            fprintf(stderr, "endian_probe: save %s: %s\n", argv[2], sushi_status_str(rc));
    }
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return rc == SUSHI_OK ? 0 : 1;
}
