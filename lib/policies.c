/* Table of the built-in caching policies (lib/policy_*.c). They register
 * through the public sushi_policy_register path, in this order. */
#include "internal.h"
#include "builtins.h"

/* lib/policy_sushi.c */
const sushi_policy_ops *sushi_policy_none_ops(void);
const sushi_policy_ops *sushi_policy_static_ops(void);
const sushi_policy_ops *sushi_policy_sushi_ops(void);
const sushi_policy_ops *sushi_policy_oracle_ops(void);
/* lib/policy_tile.c */
const sushi_policy_ops *sushi_policy_lru_ops(void);
const sushi_policy_ops *sushi_policy_lfu_ops(void);

const sushi_builtin_policy sushi_builtin_policies[] = {
    { "none", sushi_policy_none_ops },
    { "static", sushi_policy_static_ops },
    { "sushi", sushi_policy_sushi_ops },
    { "lru", sushi_policy_lru_ops },
    { "lfu", sushi_policy_lfu_ops },
    { "oracle", sushi_policy_oracle_ops },
    { NULL, NULL },
};
