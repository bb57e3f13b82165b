/* libFuzzer target: the SubNet config parser (sushi_config_parse) on every
 * built-in SuperNet family (built once). A config that parses must validate,
 * print, re-parse to the same config and resolve to a SubNet. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sushi/sushi.h>

#define MAX_SN 8
static sushi_context *ctx;
static sushi_supernet *sns[MAX_SN];
static size_t n_sn;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sushi_context_create(NULL, &ctx) != SUSHI_OK)
        abort();
    for (size_t i = 0; n_sn < MAX_SN; i++) {
        const char *name = sushi_supernet_builtin_name(i);
        if (!name)
            break;
        if (sushi_supernet_builtin(ctx, name, 0, &sns[n_sn]) != SUSHI_OK)
            abort();
        n_sn++;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* first byte: family and resolution argument; rest: the config text */
    sushi_supernet *sn = sns[data[0] % n_sn];
    static const uint32_t res[] = { 0, 0, 160, 224, 1, 100000 };
    uint32_t r = res[(data[0] >> 4) % 6];
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char err[256];
    sushi_config cfg = SUSHI_CONFIG_INIT;
    int rc = sushi_config_parse(sn, text, r, &cfg, err, sizeof err);
    if (rc == SUSHI_OK) {
        if (sushi_config_validate(sn, &cfg, err, sizeof err) != SUSHI_OK)
            abort();
        char buf[2048];
        int pn = sushi_config_print(&cfg, buf, sizeof buf);
        if (pn >= 0 && (size_t)pn < sizeof buf) {
            sushi_config c2 = SUSHI_CONFIG_INIT;
            if (sushi_config_parse(sn, buf, 0, &c2, err, sizeof err) != SUSHI_OK)
                abort(); /* printed form must parse back */
            if (!sushi_config_equal(&cfg, &c2))
                abort();
        }
        sushi_subnet *s = NULL;
        if (sushi_subnet_create(sn, &cfg, &s) != SUSHI_OK)
            abort(); /* a valid config must resolve */
        sushi_subnet_destroy(s);
    } else {
        /* error text must be NUL-terminated within the buffer */
        if (!memchr(err, '\0', sizeof err))
            abort();
    }
    free(text);
    return 0;
}
