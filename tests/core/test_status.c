/* status.h and version.h */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* ABI pin: these numbers are released and may never change (docs/abi.md). */
static const struct {
    int value;
    const char *name;
} pinned[] = {
    { 0, "SUSHI_OK" },
    { -1, "SUSHI_ERR_INVALID" },
    { -2, "SUSHI_ERR_NOMEM" },
    { -3, "SUSHI_ERR_IO" },
    { -4, "SUSHI_ERR_FORMAT" },
    { -5, "SUSHI_ERR_VERSION" },
    { -6, "SUSHI_ERR_NOT_FOUND" },
    { -7, "SUSHI_ERR_RANGE" },
    { -8, "SUSHI_ERR_OVERFLOW" },
    { -9, "SUSHI_ERR_UNSUPPORTED" },
    { -10, "SUSHI_ERR_STATE" },
    { -11, "SUSHI_ERR_EXISTS" },
    { -12, "SUSHI_ERR_ABI" },
    { -13, "SUSHI_ERR_INFEASIBLE" },
    { -14, "SUSHI_ERR_CONFIG" },
    { -15, "SUSHI_ERR_INTEGRITY" },
    { -16, "SUSHI_ERR_BACKEND" },
    { -17, "SUSHI_ERR_TRUNCATED" },
    { -18, "SUSHI_ERR_BUSY" },      /* 0.3 */
    { -19, "SUSHI_ERR_CANCELLED" }, /* 0.3 */
    { -20, "SUSHI_ERR_DROPPED" },   /* 0.3 */
};
#define N_PINNED (sizeof pinned / sizeof pinned[0])

#define ROW(name, value, msg) { SUSHI_##name, "SUSHI_" #name, msg },
static const struct {
    int value;
    const char *name;
    const char *msg;
} table[] = { SUSHI_STATUS_MAP(ROW) };
#undef ROW
#define N_TABLE (sizeof table / sizeof table[0])

Test(status, enum_values_match_pinned_table)
{
    /* the enum constants themselves, one by one */
    cr_assert_eq(SUSHI_OK, 0);
    cr_assert_eq(SUSHI_ERR_INVALID, -1);
    cr_assert_eq(SUSHI_ERR_NOMEM, -2);
    cr_assert_eq(SUSHI_ERR_IO, -3);
    cr_assert_eq(SUSHI_ERR_FORMAT, -4);
    cr_assert_eq(SUSHI_ERR_VERSION, -5);
    cr_assert_eq(SUSHI_ERR_NOT_FOUND, -6);
    cr_assert_eq(SUSHI_ERR_RANGE, -7);
    cr_assert_eq(SUSHI_ERR_OVERFLOW, -8);
    cr_assert_eq(SUSHI_ERR_UNSUPPORTED, -9);
    cr_assert_eq(SUSHI_ERR_STATE, -10);
    cr_assert_eq(SUSHI_ERR_EXISTS, -11);
    cr_assert_eq(SUSHI_ERR_ABI, -12);
    cr_assert_eq(SUSHI_ERR_INFEASIBLE, -13);
    cr_assert_eq(SUSHI_ERR_CONFIG, -14);
    cr_assert_eq(SUSHI_ERR_INTEGRITY, -15);
    cr_assert_eq(SUSHI_ERR_BACKEND, -16);
    cr_assert_eq(SUSHI_ERR_TRUNCATED, -17);
    cr_assert_eq(SUSHI_ERR_BUSY, -18);
    cr_assert_eq(SUSHI_ERR_CANCELLED, -19);
    cr_assert_eq(SUSHI_ERR_DROPPED, -20);
}

Test(status, map_prefix_equals_pinned_table_append_only)
{
    /* Append-only: the released rows are a prefix of the map, in order. New
     * codes may follow them; none may be inserted, renumbered or renamed. */
    cr_assert_geq(N_TABLE, N_PINNED);
    for (size_t i = 0; i < N_PINNED; i++) {
        cr_assert_eq(table[i].value, pinned[i].value, "row %zu", i);
        cr_assert_str_eq(table[i].name, pinned[i].name, "row %zu", i);
    }
    /* codes appended later continue the sequence downwards */
    for (size_t i = N_PINNED; i < N_TABLE; i++)
        cr_assert_eq(table[i].value, table[i - 1].value - 1, "row %zu (%s)", i, table[i].name);
}

Test(status, name_every_value_returns_distinct_symbolic_name)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        const char *n = sushi_status_name(table[i].value);
        cr_assert_not_null(n);
        cr_assert_str_eq(n, table[i].name);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(n, sushi_status_name(table[j].value), "%zu vs %zu", i, j);
    }
}

Test(status, str_every_value_returns_distinct_nonempty_message)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        const char *s = sushi_status_str(table[i].value);
        cr_assert_not_null(s);
        cr_assert_str_eq(s, table[i].msg);
        cr_assert_gt(strlen(s), 0);
        cr_assert_null(strchr(s, '\n'));
        cr_assert_str_neq(s, "unknown status");
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, sushi_status_str(table[j].value), "%zu vs %zu", i, j);
    }
}

Test(status, values_zero_success_errors_negative_and_distinct)
{
    cr_assert_eq(table[0].value, SUSHI_OK);
    for (size_t i = 1; i < N_TABLE; i++) {
        cr_assert_lt(table[i].value, 0, "%s", table[i].name);
        for (size_t j = 0; j < i; j++)
            cr_assert_neq(table[i].value, table[j].value);
    }
}

Test(status, name_unknown_value_returns_unknown)
{
    const int unknown[] = { 1, 2, 100, -18, -1000, 2147483647, -2147483647 - 1 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        bool in_table = false;
        for (size_t j = 0; j < N_TABLE; j++)
            in_table |= table[j].value == unknown[i];
        if (in_table)
            continue; /* -18 once a code is appended */
        cr_assert_str_eq(sushi_status_name(unknown[i]), "SUSHI_UNKNOWN", "%d", unknown[i]);
        cr_assert_str_eq(sushi_status_str(unknown[i]), "unknown status", "%d", unknown[i]);
    }
}

Test(version, string_matches_header_macros)
{
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", SUSHI_VERSION_MAJOR, SUSHI_VERSION_MINOR, SUSHI_VERSION_PATCH);
    cr_assert_str_eq(sushi_version_string(), want);
    cr_assert_str_eq(sushi_version_string(), SUSHI_VERSION_STRING);
}

Test(version, number_packs_major_minor_patch)
{
    unsigned v = sushi_version_number();
    cr_assert_eq(v >> 16, (unsigned)SUSHI_VERSION_MAJOR);
    cr_assert_eq((v >> 8) & 0xffu, (unsigned)SUSHI_VERSION_MINOR);
    cr_assert_eq(v & 0xffu, (unsigned)SUSHI_VERSION_PATCH);
    cr_assert_eq(v, ((unsigned)SUSHI_VERSION_MAJOR << 16) | ((unsigned)SUSHI_VERSION_MINOR << 8) |
                        (unsigned)SUSHI_VERSION_PATCH);
}
