/**
 * @file context.h
 * @brief sushi_context: allocator, logger and the backend/policy registries.
 *
 * A context is configured first (allocator at creation, log callback and
 * registrations next) and then used read-only: once a SuperNet has been
 * loaded through it, further configuration returns SUSHI_ERR_STATE. Objects
 * created from a context keep it alive internally, so the context may be
 * destroyed before them.
 *
 * Thread-safety: configuration calls are not thread-safe. After configuration,
 * a context may be shared by any number of threads.
 */
#ifndef SUSHI_CONTEXT_H
#define SUSHI_CONTEXT_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/export.h"
#include "sushi/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque library context. @since 0.1 */
typedef struct sushi_context sushi_context;

/**
 * Allocator hooks. All three must be set, or the struct pointer passed as NULL
 * to use malloc/realloc/free. The functions must be thread-safe when library
 * objects are used from several threads. @since 0.1
 */
typedef struct sushi_allocator {
    size_t size; /**< sizeof(sushi_allocator): set by SUSHI_ALLOCATOR_INIT */
    void *(*malloc_fn)(void *user, size_t n);           /**< like malloc(n); NULL on failure */
    void *(*realloc_fn)(void *user, void *p, size_t n); /**< like realloc(p, n); NULL on failure (p kept) */
    void (*free_fn)(void *user, void *p);               /**< like free(p); p may be NULL */
    void *user;                                         /**< passed as first argument to the three hooks */
} sushi_allocator;

/** Initialiser of a sushi_allocator: sets size, no hooks. @since 0.1 */
#define SUSHI_ALLOCATOR_INIT { sizeof(sushi_allocator), NULL, NULL, NULL, NULL }

/** Log levels. @since 0.1 */
typedef enum sushi_log_level {
    SUSHI_LOG_ERROR = 0,
    SUSHI_LOG_WARN = 1,
    SUSHI_LOG_INFO = 2,
    SUSHI_LOG_DEBUG = 3
} sushi_log_level;

/** Log callback. `msg` is valid only during the call and carries no newline.
 * It may be called from any thread that uses an object of the context. @since 0.1 */
typedef void (*sushi_log_fn)(void *user, int level, const char *msg);

/**
 * Create a context.
 * @param alloc allocator hooks (copied), or NULL for the C library's.
 * @param out receives the new context; set to NULL on failure.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (out NULL or allocator incomplete),
 *         SUSHI_ERR_ABI (alloc->size too small), SUSHI_ERR_NOMEM.
 * The built-in backends and policies are registered. Thread-safe. @since 0.1
 */
SUSHI_API int sushi_context_create(const sushi_allocator *alloc, sushi_context **out);

/** Release the caller's reference. NULL is a no-op. Objects created from the
 * context stay valid; the memory goes when the last of them goes. Not thread-safe with concurrent configuration calls on ctx. @since 0.1 */
SUSHI_API void sushi_context_destroy(sushi_context *ctx);

/**
 * Set the log callback and the most verbose level delivered (default: no
 * callback, SUSHI_LOG_WARN). fn NULL disables logging.
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_STATE (context in use).
 * Not thread-safe. @since 0.1
 */
SUSHI_API int sushi_context_set_log(sushi_context *ctx, sushi_log_fn fn, void *user, int max_level);

#ifdef __cplusplus
}
#endif
#endif
