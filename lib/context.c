/* sushi_context: allocator, logger, backend and policy registries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_malloc(void *u, size_t n) { (void)u; return malloc(n); }
static void *default_realloc(void *u, void *p, size_t n) { (void)u; return realloc(p, n); }
static void default_free(void *u, void *p) { (void)u; free(p); }

void *sushi_malloc(const sushi_context *ctx, size_t n)
{
    if (n == 0)
        n = 1;
    return ctx->alloc.malloc_fn(ctx->alloc.user, n);
}

void *sushi_calloc(const sushi_context *ctx, size_t count, size_t n)
{
    size_t total;
    if (__builtin_mul_overflow(count, n, &total))
        return NULL;
    void *p = sushi_malloc(ctx, total);
    if (p)
        memset(p, 0, total ? total : 1);
    return p;
}

void *sushi_realloc(const sushi_context *ctx, void *p, size_t n)
{
    if (n == 0)
        n = 1;
    return ctx->alloc.realloc_fn(ctx->alloc.user, p, n);
}

void sushi_free(const sushi_context *ctx, void *p)
{
    if (p)
        ctx->alloc.free_fn(ctx->alloc.user, p);
}

char *sushi_strdup(const sushi_context *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sushi_malloc(ctx, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void sushi_log(const sushi_context *ctx, int level, const char *fmt, ...)
{
    if (!ctx || !ctx->log_fn || level > ctx->log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, buf);
}

void sushi_errf(char *buf, size_t size, const char *fmt, ...)
{
    if (!buf || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

int sushi_context_create(const sushi_allocator *alloc, sushi_context **out)
{
    if (!out)
        return SUSHI_ERR_INVALID;
    *out = NULL;
    sushi_allocator a = { sizeof a, default_malloc, default_realloc, default_free, NULL };
    if (alloc) {
        if (alloc->size < sizeof(sushi_allocator))
            return SUSHI_ERR_ABI;
        if (!alloc->malloc_fn || !alloc->realloc_fn || !alloc->free_fn)
            return SUSHI_ERR_INVALID;
        a = *alloc;
    }
    sushi_context *ctx = a.malloc_fn(a.user, sizeof *ctx);
    if (!ctx)
        return SUSHI_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    sushi_ref_init(&ctx->ref);
    ctx->alloc = a;
    ctx->log_level = SUSHI_LOG_WARN;
    atomic_init(&ctx->in_use, false);
    int rc = sushi_register_builtins(ctx);
    if (rc != SUSHI_OK) {
        sushi_context_destroy(ctx);
        return rc;
    }
    *out = ctx;
    return SUSHI_OK;
}

void sushi_context_retain(sushi_context *ctx) { sushi_ref_get(&ctx->ref); }

void sushi_context_mark_in_use(sushi_context *ctx) { atomic_store(&ctx->in_use, true); }

void sushi_context_destroy(sushi_context *ctx)
{
    if (!ctx || !sushi_ref_put(&ctx->ref))
        return;
    for (size_t i = 0; i < ctx->n_backends; i++)
        sushi_free(ctx, ctx->backends[i].description);
    for (size_t i = 0; i < ctx->n_policies; i++)
        sushi_free(ctx, ctx->policies[i].description);
    sushi_free(ctx, ctx->backends);
    sushi_free(ctx, ctx->policies);
    sushi_allocator a = ctx->alloc;
    a.free_fn(a.user, ctx);
}

int sushi_context_set_log(sushi_context *ctx, sushi_log_fn fn, void *user, int max_level)
{
    if (!ctx || max_level < SUSHI_LOG_ERROR || max_level > SUSHI_LOG_DEBUG)
        return SUSHI_ERR_INVALID;
    if (atomic_load(&ctx->in_use))
        return SUSHI_ERR_STATE;
    ctx->log_fn = fn;
    ctx->log_user = user;
    ctx->log_level = max_level;
    return SUSHI_OK;
}

bool sushi_valid_registry_name(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > 31)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}
