/* Private helpers shared by the SuperNet file reader and writer
 * (lib/format_read.c, lib/format_write.c, lib/supernet_io.c).
 * The format itself is specified in docs/format.md. */
#ifndef SUSHI_FORMAT_H
#define SUSHI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Major version of the file format written and understood here. */
#define SUSHI_FORMAT_VERSION 1
#define SUSHI_FORMAT_NAME "sushi-supernet"
/* CBOR self-describe tag (RFC 8949 section 3.4.6) written as the file magic:
 * the first three bytes of every file are D9 D9 F7. */
#define SUSHI_FORMAT_MAGIC_TAG 55799u
/* Payload alignment of every tensor (and BN statistics) byte string,
 * relative to the first byte of the file. */
#define SUSHI_FORMAT_ALIGN 64u
/* Default BN epsilon when a file omits "bn_eps" (OFA's default). */
#define SUSHI_FORMAT_DEFAULT_BN_EPS 1e-5f
/* Limits of format v1 (docs/format.md, "Limits"). */
#define SUSHI_FORMAT_MAX_UNITS 4096u
#define SUSHI_FORMAT_MAX_DEPTH 32
/* weights a "seed"-mode file may make the loader generate (4 GiB of float32) */
#define SUSHI_FORMAT_MAX_SEED_ELEMS (1ull << 30)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SUSHI_HOST_LE 1
#else
#define SUSHI_HOST_LE 0
#endif

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), zlib-style running
 * value: start with crc = 0, feed chunks, the result is the CRC of the
 * concatenation. crc32c("123456789") == 0xE3069283. Thread-safe. */
uint32_t sushi_crc32c(uint32_t crc, const void *data, size_t n);

/* sushi_format_read with one more output: *uses_buffer is set to true when
 * the loaded SuperNet points into `data` (borrowed tensors or BN statistics),
 * so the caller must keep the buffer (mapping) alive with the SuperNet. */
int sushi_format_read_ex(sushi_context *ctx, const uint8_t *data, size_t size, bool borrow,
                         uint32_t flags, sushi_supernet **out, bool *uses_buffer, char *err,
                         size_t errsz);

/* Copy n little-endian float32 values from src (any alignment) to dst. */
void sushi_f32le_copy(float *dst, const uint8_t *src, size_t n);

#endif
