/* A small stand-in for the part of Criterion 2.4 that libsushi's unit tests
 * use, for cross targets where Debian 12 builds no libcriterion-dev (s390x).
 * Same source, same semantics where it matters: every Test() runs in its own
 * forked process (a crash fails only that test), cr_assert_* end the test
 * (the .fini hooks still run), cr_expect_* record the failure and go on,
 * --filter takes a "suite/name" glob, and the run ends with Criterion's
 * "Synthesis: Tested: T | Passing: P | Failing: F | Crashing: C" line that
 * scripts/count_tests.py reads. Failure messages quote the assertion's
 * source text (the optional printf-style message is not formatted).
 * Only used when dependency('criterion') is not found in a cross build. */
#ifndef SUSHI_CRITERION_SHIM_H
#define SUSHI_CRITERION_SHIM_H

#include <math.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_extra {
    int cr_shim_pad;
    void (*init)(void);
    void (*fini)(void);
    const char *description;
    int disabled;
    double timeout;
    int exit_code;
    int signal;
};

struct criterion_shim_test {
    const char *suite, *name;
    void (*fn)(void);
    struct criterion_test_extra extra;
    struct criterion_shim_test *next;
};

struct criterion_shim_suite {
    const char *name;
    struct criterion_test_extra extra;
    struct criterion_shim_suite *next;
};

void criterion_shim_register(struct criterion_shim_test *t);
void criterion_shim_register_suite(struct criterion_shim_suite *s);
void criterion_shim_fail(int fatal, const char *file, int line, const char *what);
void criterion_shim_skip(const char *file, int line, const char *what);
void criterion_shim_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Test(suite, name[, .init = f, .fini = g, ...]): the pad designator goes last
 * so the inner macro always gets a variadic argument (ISO C99). */
#define Test(...) CR_SHIM_TEST(__VA_ARGS__, .cr_shim_pad = 0)
#define CR_SHIM_TEST(s, n, ...)                                                                              \
    static void s##_##n##_cr_impl(void);                                                                     \
    static struct criterion_shim_test s##_##n##_cr_desc = {#s, #n, s##_##n##_cr_impl, {__VA_ARGS__}, NULL};  \
    __attribute__((constructor)) static void s##_##n##_cr_reg(void) { criterion_shim_register(&s##_##n##_cr_desc); } \
    static void s##_##n##_cr_impl(void)

#define TestSuite(...) CR_SHIM_SUITE(__VA_ARGS__, .cr_shim_pad = 0)
#define CR_SHIM_SUITE(s, ...)                                                                                \
    static struct criterion_shim_suite s##_cr_suite = {#s, {__VA_ARGS__}, NULL};                             \
    __attribute__((constructor)) static void s##_cr_suite_reg(void) { criterion_shim_register_suite(&s##_cr_suite); } \
    extern int criterion_shim_semicolon /* takes the caller's ';' */

#define CR_SHIM_A(a, ...) a
#define CR_SHIM_B(a, b, ...) b
#define CR_SHIM_C(a, b, c, ...) c
#define CR_SHIM_CHECK(fatal, name, ok, ...)                                                                  \
    do {                                                                                                     \
        if (!(ok))                                                                                           \
            criterion_shim_fail(fatal, __FILE__, __LINE__, name "(" #__VA_ARGS__ ")");                      \
    } while (0)

#define CR_SHIM_OP(fatal, name, op, ...)                                                                     \
    CR_SHIM_CHECK(fatal, name, (CR_SHIM_A(__VA_ARGS__, ~))op(CR_SHIM_B(__VA_ARGS__, ~, ~)), __VA_ARGS__)
#define CR_SHIM_FEQ(fatal, name, ...)                                                                        \
    CR_SHIM_CHECK(fatal, name,                                                                               \
                  (CR_SHIM_A(__VA_ARGS__, ~)) - (CR_SHIM_B(__VA_ARGS__, ~, ~)) <= (CR_SHIM_C(__VA_ARGS__, ~, ~, ~)) && \
                      (CR_SHIM_B(__VA_ARGS__, ~, ~)) - (CR_SHIM_A(__VA_ARGS__, ~)) <= (CR_SHIM_C(__VA_ARGS__, ~, ~, ~)), \
                  __VA_ARGS__)
#define CR_SHIM_STR(fatal, name, cmp, ...)                                                                   \
    CR_SHIM_CHECK(fatal, name, strcmp((CR_SHIM_A(__VA_ARGS__, ~)), (CR_SHIM_B(__VA_ARGS__, ~, ~))) cmp 0, __VA_ARGS__)

#define cr_assert(...) CR_SHIM_CHECK(1, "cr_assert", CR_SHIM_A(__VA_ARGS__, ~), __VA_ARGS__)
#define cr_expect(...) CR_SHIM_CHECK(0, "cr_expect", CR_SHIM_A(__VA_ARGS__, ~), __VA_ARGS__)
#define cr_assert_not(...) CR_SHIM_CHECK(1, "cr_assert_not", !(CR_SHIM_A(__VA_ARGS__, ~)), __VA_ARGS__)
#define cr_expect_not(...) CR_SHIM_CHECK(0, "cr_expect_not", !(CR_SHIM_A(__VA_ARGS__, ~)), __VA_ARGS__)
#define cr_assert_null(...) CR_SHIM_CHECK(1, "cr_assert_null", (CR_SHIM_A(__VA_ARGS__, ~)) == NULL, __VA_ARGS__)
#define cr_expect_null(...) CR_SHIM_CHECK(0, "cr_expect_null", (CR_SHIM_A(__VA_ARGS__, ~)) == NULL, __VA_ARGS__)
#define cr_assert_not_null(...) CR_SHIM_CHECK(1, "cr_assert_not_null", (CR_SHIM_A(__VA_ARGS__, ~)) != NULL, __VA_ARGS__)
#define cr_expect_not_null(...) CR_SHIM_CHECK(0, "cr_expect_not_null", (CR_SHIM_A(__VA_ARGS__, ~)) != NULL, __VA_ARGS__)
#define cr_assert_eq(...) CR_SHIM_OP(1, "cr_assert_eq", ==, __VA_ARGS__)
#define cr_expect_eq(...) CR_SHIM_OP(0, "cr_expect_eq", ==, __VA_ARGS__)
#define cr_assert_neq(...) CR_SHIM_OP(1, "cr_assert_neq", !=, __VA_ARGS__)
#define cr_expect_neq(...) CR_SHIM_OP(0, "cr_expect_neq", !=, __VA_ARGS__)
#define cr_assert_lt(...) CR_SHIM_OP(1, "cr_assert_lt", <, __VA_ARGS__)
#define cr_expect_lt(...) CR_SHIM_OP(0, "cr_expect_lt", <, __VA_ARGS__)
#define cr_assert_leq(...) CR_SHIM_OP(1, "cr_assert_leq", <=, __VA_ARGS__)
#define cr_expect_leq(...) CR_SHIM_OP(0, "cr_expect_leq", <=, __VA_ARGS__)
#define cr_assert_gt(...) CR_SHIM_OP(1, "cr_assert_gt", >, __VA_ARGS__)
#define cr_expect_gt(...) CR_SHIM_OP(0, "cr_expect_gt", >, __VA_ARGS__)
#define cr_assert_geq(...) CR_SHIM_OP(1, "cr_assert_geq", >=, __VA_ARGS__)
#define cr_expect_geq(...) CR_SHIM_OP(0, "cr_expect_geq", >=, __VA_ARGS__)
#define cr_assert_float_eq(...) CR_SHIM_FEQ(1, "cr_assert_float_eq", __VA_ARGS__)
#define cr_expect_float_eq(...) CR_SHIM_FEQ(0, "cr_expect_float_eq", __VA_ARGS__)
#define cr_assert_str_eq(...) CR_SHIM_STR(1, "cr_assert_str_eq", ==, __VA_ARGS__)
#define cr_expect_str_eq(...) CR_SHIM_STR(0, "cr_expect_str_eq", ==, __VA_ARGS__)
#define cr_assert_str_neq(...) CR_SHIM_STR(1, "cr_assert_str_neq", !=, __VA_ARGS__)
#define cr_expect_str_neq(...) CR_SHIM_STR(0, "cr_expect_str_neq", !=, __VA_ARGS__)
#define cr_assert_str_empty(...) CR_SHIM_CHECK(1, "cr_assert_str_empty", *(CR_SHIM_A(__VA_ARGS__, ~)) == '\0', __VA_ARGS__)
#define cr_assert_str_not_empty(...) CR_SHIM_CHECK(1, "cr_assert_str_not_empty", *(CR_SHIM_A(__VA_ARGS__, ~)) != '\0', __VA_ARGS__)
/* Criterion compares arrays byte-wise (memcmp over `size` bytes). */
#define cr_assert_arr_eq(...)                                                                                \
    CR_SHIM_CHECK(1, "cr_assert_arr_eq",                                                                     \
                  memcmp((CR_SHIM_A(__VA_ARGS__, ~)), (CR_SHIM_B(__VA_ARGS__, ~, ~)), (CR_SHIM_C(__VA_ARGS__, ~, ~, ~))) == 0, \
                  __VA_ARGS__)
#define cr_assert_fail(...) criterion_shim_fail(1, __FILE__, __LINE__, "cr_assert_fail(" #__VA_ARGS__ ")")
#define cr_expect_fail(...) criterion_shim_fail(0, __FILE__, __LINE__, "cr_expect_fail(" #__VA_ARGS__ ")")
#define cr_skip_test(...) criterion_shim_skip(__FILE__, __LINE__, "cr_skip_test(" #__VA_ARGS__ ")")
#define cr_log_info(...) criterion_shim_log("info", __VA_ARGS__)
#define cr_log_warn(...) criterion_shim_log("warn", __VA_ARGS__)
#define cr_log_error(...) criterion_shim_log("error", __VA_ARGS__)

#endif
