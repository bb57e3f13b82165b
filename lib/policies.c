/* Table of the built-in caching policies (lib/policy_*.c). */
#include "internal.h"
#include "builtins.h"

const sushi_builtin_policy sushi_builtin_policies[] = {
    { NULL, NULL },
};
