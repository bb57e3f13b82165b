/* Helpers shared by the format tests (test_format.c, test_finite.c). */
#ifndef SUSHI_TEST_FORMAT_HELPERS_H
#define SUSHI_TEST_FORMAT_HELPERS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "internal.h"
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

/* Offset in `file` of tensor t's float32 payload, t loaded from it with
 * SUSHI_LOAD_BORROW. Little-endian hosts borrow the payload in place; a
 * big-endian host holds a byte-swapped copy, so the payload is found by its
 * little-endian bytes (the first match; payloads follow their CBOR header). */
static inline size_t payload_offset(const uint8_t *file, size_t n, const sushi_tensor *t)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    size_t bytes = (size_t)t->nelem * 4;
    uint8_t *le = malloc(bytes);
    cr_assert_not_null(le);
    for (size_t i = 0; i < t->nelem; i++) {
        uint32_t u;
        memcpy(&u, &t->data[i], 4);
        for (int b = 0; b < 4; b++)
            le[4 * i + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    const uint8_t *at = memmem(file, n, le, bytes);
    free(le);
    cr_assert_not_null(at, "payload of %s not found in the file", t->name);
    return (size_t)(at - file);
#else
    const uint8_t *p = (const uint8_t *)t->data;
    cr_assert(p >= file && p < file + n, "tensor %s is not borrowed", t->name);
    return (size_t)(p - file);
#endif
}

#endif
