/* libFuzzer target: the SuperNet loader (sushi_supernet_load_memory).
 * Every input must be accepted or refused with a status; never crash, leak or
 * read out of bounds. Both copy and borrow modes, with and without checksum
 * verification (chosen by the first input byte). Build: scripts/fuzz. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sushi/sushi.h>

static sushi_context *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sushi_context_create(NULL, &ctx) != SUSHI_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.errbuf = err;
    o.errbuf_size = sizeof err;
    /* flags from a hash of the size so the file bytes stay intact */
    o.flags = (uint32_t)(size % 8u); /* BORROW, NO_VERIFY, CHECK_FINITE */
    /* copy into an exact-size heap buffer so ASan sees reads past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    sushi_supernet *sn = NULL;
    int rc = sushi_supernet_load_memory(ctx, buf, size, &o, &sn);
    if (rc == SUSHI_OK) {
        if (!sn)
            abort();
        /* touch what a user touches after loading */
        sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
        if (sushi_supernet_get_info(sn, &info) != SUSHI_OK)
            abort();
        sushi_config cfg = SUSHI_CONFIG_INIT;
        for (int mx = 0; mx < 2; mx++) {
            if (sushi_config_extreme(sn, mx, 0, &cfg) == SUSHI_OK) {
                sushi_subnet *s = NULL;
                if (sushi_subnet_create(sn, &cfg, &s) == SUSHI_OK) {
                    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
                    sushi_subnet_get_stats(s, &st);
                    sushi_subnet_destroy(s);
                }
            }
        }
        for (size_t i = 0; i < info.n_candidates && i < 4; i++) {
            sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
            sushi_supernet_candidate(sn, i, &ci);
        }
        /* save -> load round trip must succeed */
        void *out = NULL;
        size_t out_n = 0;
        if (sushi_supernet_save_memory(sn, NULL, &out, &out_n) == SUSHI_OK) {
            sushi_supernet *sn2 = NULL;
            if (sushi_supernet_load_memory(ctx, out, out_n, NULL, &sn2) != SUSHI_OK)
                abort(); /* a saved file must load back */
            sushi_supernet_destroy(sn2);
            sushi_supernet_free_buffer(sn, out);
        }
        sushi_supernet_destroy(sn);
    } else if (sn) {
        abort(); /* *out must be NULL on failure */
    }
    free(buf);
    return 0;
}
