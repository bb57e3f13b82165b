/* "test-first" policy: keeps the first served SubNet of each window, truncated
 * to capacity. Exists to exercise the policy interface in tests. */
#include "internal.h"

static int tf_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    (void)sn;
    *out = NULL;
    return SUSHI_OK;
}

static int tf_choose(void *state, const sushi_policy_view *v, sushi_subgraph *next)
{
    (void)state;
    if (v->n_window == 0)
        return SUSHI_OK;
    int rc = sushi_subgraph_set_subnet(next, v->window[0]);
    if (rc)
        return rc;
    return sushi_subgraph_truncate(next, v->capacity_bytes);
}

static const sushi_policy_ops tf_ops = {
    .abi_version = SUSHI_POLICY_ABI_VERSION,
    .description = "test policy: the window's first SubNet, truncated to capacity",
    .create = tf_create,
    .choose = tf_choose,
};

const sushi_policy_ops *sushi_policy_test_first_ops(void) { return &tf_ops; }
