/* Helpers shared by the format tests (test_format.c, test_finite.c). */
#ifndef SUSHI_TEST_FORMAT_HELPERS_H
#define SUSHI_TEST_FORMAT_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "sushi/sushi.h"

/* The whole file at path (malloc'ed; free()), its length in *n. */
static inline uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    cr_assert_gt(len, 0);
    rewind(f);
    uint8_t *d = malloc((size_t)len);
    cr_assert_eq(fread(d, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return d;
}

/* sushi_supernet_load_memory with these flags and an error buffer. */
static inline int load_mem(sushi_context *ctx, const void *d, size_t n, uint32_t flags, sushi_supernet **out,
                           char *err, size_t errsz)
{
    sushi_load_options o = SUSHI_LOAD_OPTIONS_INIT;
    o.flags = flags;
    o.errbuf = err;
    o.errbuf_size = errsz;
    return sushi_supernet_load_memory(ctx, d, n, &o, out);
}

#endif
