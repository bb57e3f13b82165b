/* sushi_supernet_with_accuracies() (supernet.h): a copy of a SuperNet with
 * measured accuracies in its candidate table (used by `sushi eval`). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

TestSuite(edit, .fini = fx_release);

static double *accs(uint32_t n)
{
    double *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (uint32_t i = 0; i < n; i++)
        a[i] = (double)(i % 100) / 100.0;
    return a;
}

Test(edit, sets_accuracies_and_provenance_keeps_everything_else)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT, io = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_gt(in.n_candidates, 2);
    double *a = accs(in.n_candidates);
    a[1] = NAN; /* unchanged */
    sushi_supernet *out = NULL;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, in.n_candidates, "fashion-mnist/test", "top1",
                                                "unit test, backend cpu", &out), SUSHI_OK);
    cr_assert_not_null(out);
    cr_assert_eq(sushi_supernet_get_info(out, &io), SUSHI_OK);
    cr_assert_eq(io.n_candidates, in.n_candidates);
    cr_assert_eq(io.n_tensors, in.n_tensors);
    cr_assert_str_eq(io.name, in.name);
    cr_assert_eq(strncmp(io.provenance, in.provenance, strlen(in.provenance)), 0);
    cr_assert_not_null(strstr(io.provenance, "fashion-mnist/test"));
    cr_assert_not_null(strstr(io.provenance, "unit test, backend cpu"));
    cr_assert_not_null(strstr(io.provenance, "measured 20"));
    for (uint32_t i = 0; i < in.n_candidates; i++) {
        sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT, co = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &ci), SUSHI_OK);
        cr_assert_eq(sushi_supernet_candidate(out, i, &co), SUSHI_OK);
        cr_assert(sushi_config_equal(&ci.config, &co.config));
        cr_assert_eq(ci.macs, co.macs);
        cr_assert_eq(ci.params, co.params);
        if (i == 1) {
            cr_assert_str_eq(co.accuracy_source, ci.accuracy_source);
            cr_assert_str_eq(co.dataset, ci.dataset);
            continue;
        }
        cr_assert_float_eq(co.accuracy, a[i], 0.0);
        cr_assert_str_eq(co.accuracy_source, "measured");
        cr_assert_str_eq(co.dataset, "fashion-mnist/test");
        cr_assert_str_eq(co.metric, "top1");
    }
    /* the original is untouched */
    sushi_candidate_info c0 = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &c0), SUSHI_OK);
    cr_assert_str_neq(c0.accuracy_source, "measured");
    /* and the copy survives a save/load round trip */
    void *buf = NULL;
    size_t size = 0;
    cr_assert_eq(sushi_supernet_save_memory(out, NULL, &buf, &size), SUSHI_OK);
    sushi_supernet *back = NULL;
    cr_assert_eq(sushi_supernet_load_memory(fx_ctx(), buf, size, NULL, &back), SUSHI_OK);
    sushi_candidate_info cb = SUSHI_CANDIDATE_INFO_INIT;
    cr_assert_eq(sushi_supernet_candidate(back, 2, &cb), SUSHI_OK);
    cr_assert_float_eq(cb.accuracy, a[2], 0.0);
    cr_assert_str_eq(cb.accuracy_source, "measured");
    sushi_supernet_free_buffer(out, buf);
    sushi_supernet_destroy(back);
    sushi_supernet_destroy(out);
    free(a);
}

Test(edit, rejects_bad_arguments)
{
    const sushi_supernet *sn = fx_mbv3();
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    uint32_t n = in.n_candidates;
    double *a = accs(n);
    sushi_supernet *out = (sushi_supernet *)fx_ctx();
    cr_assert_eq(sushi_supernet_with_accuracies(NULL, a, n, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_null(out);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, NULL, n, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n - 1, "d", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "", "m", "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", NULL, "s", &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", NULL, &out), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", NULL), SUSHI_ERR_INVALID);
    a[0] = 1.5;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    cr_assert_null(out);
    a[0] = -0.1;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    a[0] = INFINITY;
    cr_assert_eq(sushi_supernet_with_accuracies(sn, a, n, "d", "m", "s", &out), SUSHI_ERR_RANGE);
    cr_assert_null(out);
    free(a);
}
