/* Tables of the built-in backends and policies. */
#ifndef SUSHI_BUILTINS_H
#define SUSHI_BUILTINS_H

#include "sushi/backend.h"
#include "sushi/policy.h"

const sushi_backend_ops *sushi_backend_cpu_ops(void);
const sushi_backend_ops *sushi_backend_cycle_ops(void);
const sushi_backend_ops *sushi_backend_hls_ops(void);

typedef struct sushi_builtin_policy {
    const char *name;
    const sushi_policy_ops *(*ops)(void);
} sushi_builtin_policy;

/* NULL-terminated list, defined in lib/policies.c */
extern const sushi_builtin_policy sushi_builtin_policies[];

#endif
