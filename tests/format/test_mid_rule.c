/* The per-unit hidden-width rule (docs/format.md §4.3, keys mid_round and
 * mid_divisor): written only when not OFA's default, read back, applied by the
 * validator and the SubNet plan, and named with its values in errors. Built on
 * the shipped model (units edited through the internal library). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "format_helpers.h"
#include "internal.h"

static sushi_supernet *load_path(sushi_context *ctx, const char *path)
{
    sushi_supernet *sn = NULL;
    char err[512] = "";
    size_t n;
    uint8_t *d = read_all(path, &n);
    cr_assert_eq(load_mem(ctx, d, n, 0, &sn, err, sizeof err), SUSHI_OK, "%s", err);
    free(d);
    return sn;
}

static int reload(sushi_context *ctx, const sushi_supernet *sn, sushi_supernet **out, char *err, size_t errsz,
                  void **buf, size_t *size)
{
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    cr_assert_eq(sushi_supernet_save_memory(sn, &so, buf, size), SUSHI_OK);
    return load_mem(ctx, *buf, *size, 0, out, err, errsz);
}

static bool contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp((const char *)hay + i, needle, k) == 0)
            return true;
    return false;
}

Test(mid_rule, default_rule_is_not_written_and_ceil_round_trips)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn = load_path(ctx, SUSHI_MODEL);
    void *buf;
    size_t size;
    char err[512] = "";
    sushi_supernet *back = NULL;
    cr_assert_eq(reload(ctx, sn, &back, err, sizeof err, &buf, &size), SUSHI_OK, "%s", err);
    cr_assert(!contains(buf, size, "mid_round"), "OFA's default rule is not written");
    sushi_supernet_free_buffer(sn, buf);
    sushi_supernet_destroy(back);
    /* every mbconv of the shipped model has in_max * e a multiple of 8: ceil
     * to 8 gives the same widths, so the file stays valid with the rule */
    uint32_t edited = 0;
    for (uint32_t i = 0; i < sn->n_units; i++)
        if (sn->units[i].kind == SUSHI_UNIT_MBCONV) {
            sn->units[i].mid_round = SUSHI_MID_CEIL;
            sn->units[i].mid_divisor = 8;
            edited++;
        }
    cr_assert_gt(edited, 0);
    cr_assert_eq(reload(ctx, sn, &back, err, sizeof err, &buf, &size), SUSHI_OK, "%s", err);
    cr_assert(contains(buf, size, "mid_round") && contains(buf, size, "ceil"));
    for (uint32_t i = 0; i < back->n_units; i++)
        if (back->units[i].kind == SUSHI_UNIT_MBCONV) {
            cr_assert_eq(back->units[i].mid_round, SUSHI_MID_CEIL);
            cr_assert_eq(back->units[i].mid_divisor, 8u);
        }
    sushi_supernet_free_buffer(sn, buf);
    sushi_supernet_destroy(back);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(mid_rule, a_width_the_rule_does_not_give_is_named_with_its_values)
{
    sushi_context *ctx;
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn = load_path(ctx, SUSHI_MODEL);
    /* a unit whose mid_max is not a multiple of 64: divisor 64 breaks it */
    uint32_t k = UINT32_MAX;
    for (uint32_t i = 0; i < sn->n_units && k == UINT32_MAX; i++)
        if (sn->units[i].kind == SUSHI_UNIT_MBCONV && sn->units[i].e_slot >= 0 && sn->units[i].mid_max % 64)
            k = i;
    cr_assert_neq(k, UINT32_MAX);
    sn->units[k].mid_divisor = 64;
    sn->units[k].mid_round = SUSHI_MID_FLOOR;
    void *buf;
    size_t size;
    char err[512] = "", want[64];
    sushi_supernet *back = NULL;
    cr_assert_eq(reload(ctx, sn, &back, err, sizeof err, &buf, &size), SUSHI_ERR_FORMAT);
    cr_assert_null(back);
    snprintf(want, sizeof want, "units[%u].mid_max: %u, but", k, sn->units[k].mid_max);
    cr_assert_not_null(strstr(err, want), "%s", err);
    cr_assert_not_null(strstr(err, "mid_round \"floor\", mid_divisor 64"), "%s", err);
    cr_assert_not_null(strstr(err, "largest e 6"), "%s", err);
    sushi_supernet_free_buffer(sn, buf);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}

Test(mid_rule, plan_widths_follow_the_rule)
{
    sushi_unit u;
    memset(&u, 0, sizeof u);
    cr_assert_eq(sushi_unit_round_mid(&u, 18), 24u);  /* nearest is 16 < 0.9 * 18: one more divisor */
    cr_assert_eq(sushi_unit_round_mid(&u, 20), 24u);  /* half rounds up */
    cr_assert_eq(sushi_unit_round_mid(&u, 3), 8u);    /* never below the divisor */
    cr_assert_eq(sushi_unit_round_mid(&u, 12), 16u);
    u.mid_round = SUSHI_MID_CEIL, u.mid_divisor = 4;
    cr_assert_eq(sushi_unit_round_mid(&u, 18), 20u);
    u.mid_round = SUSHI_MID_FLOOR;
    cr_assert_eq(sushi_unit_round_mid(&u, 18), 16u);
    u.mid_divisor = 1;
    cr_assert_eq(sushi_unit_round_mid(&u, 18), 18u);  /* divisor 1: the rounded product itself */
}
