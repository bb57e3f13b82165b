/* Registration of the built-in backends and policies: they go through the
 * same public registration path a user's would. */
#include "internal.h"
#include "builtins.h"

int sushi_register_builtins(sushi_context *ctx)
{
    int rc;
    rc = sushi_backend_register(ctx, "null", sushi_backend_null_ops(), NULL);
    if (rc)
        return rc;
#ifdef SUSHI_HAVE_CPU
    rc = sushi_backend_register(ctx, "cpu", sushi_backend_cpu_ops(), NULL);
    if (rc)
        return rc;
#endif
#ifdef SUSHI_HAVE_CYCLE
    rc = sushi_backend_register(ctx, "cycle", sushi_backend_cycle_ops(), NULL);
    if (rc)
        return rc;
#endif
#ifdef SUSHI_HAVE_HLS
    rc = sushi_backend_register(ctx, "hls", sushi_backend_hls_ops(), NULL);
    if (rc)
        return rc;
#endif
    rc = sushi_policy_register(ctx, "test-first", sushi_policy_test_first_ops(), NULL);
    if (rc)
        return rc;
    for (size_t i = 0; sushi_builtin_policies[i].name; i++) {
        rc = sushi_policy_register(ctx, sushi_builtin_policies[i].name,
                                   sushi_builtin_policies[i].ops(), NULL);
        if (rc)
            return rc;
    }
    return SUSHI_OK;
}
