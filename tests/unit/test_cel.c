/*
 * test_cel: em_cel, the CEL of IAM conditions: literals and escapes, the operators with
 * CEL's error-absorbing logic, timestamps, durations and their accessors (in UTC, in tz
 * database zones and at fixed offsets), string methods (extract's templates included),
 * lists, and everything outside the subset or malformed answering an error (-1), never a
 * grant: unknown names, functions and time zones, type mismatches, overflows,
 * unterminated strings, deep nesting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_cel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-12-04T15:30:45Z, a Friday, day 337 (0-based) of the year */
#define NOW_NS (1796398245LL * 1000000000LL)

static const struct em_cel_context ctx = {
    .resource_name = "projects/p/topics/orders",
    .resource_type = "pubsub.googleapis.com/Topic",
    .resource_service = "pubsub.googleapis.com",
    .request_time_ns = NOW_NS,
};

static const struct {
    const char *expression;
    int want;
} cases[] = {
    {"true", 1},
    {"false", 0},
    {"!false && !!true", 1},
    {"resource.name == \"projects/p/topics/orders\"", 1},
    {"resource.name == 'projects/p/topics/other'", 0},
    {"'a\\'b' == \"a'b\" && 'x\\ny'.size() == 3", 1},
    {"resource.name.startsWith('projects/p/') && resource.name.endsWith('/orders')", 1},
    {"resource.name.contains('topics') && resource.name.contains('')", 1},
    {"resource.name.matches('^projects/[a-z]+/topics/o') && !resource.name.matches('x{2}')", 1},
    {"resource.type == 'pubsub.googleapis.com/Topic' && resource.service in ['a', "
     "'pubsub.googleapis.com']",
     1},
    {"resource.service in []", 0},
    {"size(resource.name) == 24 && size(['a', 'b']) == 2 && ['a'].size() == 1", 1},
    {"1 + 2 == 3 && 10 - 20 < 0 && -5 < 0 && 3 >= 3 && 2 <= 1 == false", 1},
    {"request.time == timestamp('2026-12-04T15:30:45Z')", 1},
    {"request.time > timestamp('2026-12-04T15:30:44.999999999Z')", 1},
    {"request.time < timestamp('2026-12-04T16:30:45+01:00')", 0},
    {"request.time + duration('1h') == timestamp('2026-12-04T16:30:45Z')", 1},
    {"request.time - duration('1.5h') == timestamp('2026-12-04T14:00:45Z')", 1},
    {"request.time - timestamp('2026-12-04T00:00:00Z') == duration('15h30m45s')", 1},
    {"duration('90m') == duration('5400s') && duration('-1s') < duration('1ms')", 1},
    {"request.time.getFullYear() == 2026 && request.time.getMonth() == 11 && "
     "request.time.getDate() == 4 && request.time.getDayOfMonth() == 3",
     1},
    {"request.time.getDayOfWeek() == 5 && request.time.getDayOfYear() == 337", 1},
    {"request.time.getHours() == 15 && request.time.getMinutes('UTC') == 30 && "
     "request.time.getSeconds() == 45",
     1},
    {"timestamp('1970-01-01T00:00:00Z').getDayOfWeek() == 4", 1},
    /* time zones: tz database names (daylight saving included) and fixed offsets */
    {"request.time.getHours('Europe/Paris') == 16 && request.time.getHours('America/New_York') "
     "== 10",
     1},
    {"timestamp('2026-07-04T15:30:45Z').getHours('Europe/Paris') == 17", 1},
    {"request.time.getHours('+05:30') == 21 && request.time.getMinutes('+05:30') == 0", 1},
    {"request.time.getDayOfWeek('Pacific/Kiritimati') == 6 && "
     "request.time.getDate('Pacific/Kiritimati') == 5",
     1},
    /* extract: the part of a name between a template's texts */
    {"resource.name.extract('topics/{t}') == 'orders'", 1},
    {"resource.name.extract('projects/{project}/') == 'p'", 1},
    {"resource.name.extract('/buckets/{b}/') == '' && resource.name.extract('p/{x}/n') == ''", 1},
    {"resource.name.extract('{all}') == resource.name", 1},
    {"resource.name.extract('projects/{p}/').size() == 1", 1},
    {"true || nosuch", 1},
    {"nosuch || true", 1},
    {"false && nosuch", 0},
    {"nosuch && false", 0},
    {"1 == 'a'", 0},
    {"1 != 'a'", 1},
    /* errors */
    {"nosuch", -1},
    {"true && nosuch", -1},
    {"resource.labels.env == 'prod'", -1},
    {"request.auth.principal == 'x'", -1},
    {"has(resource.name)", -1},
    {"resource.name.extract('topics/')", -1},
    {"resource.name.extract('{a}/{b}')", -1},
    {"request.time.getHours('Mars/Olympus_Mons') == 1", -1},
    {"request.time.getHours('../../etc/passwd') == 1", -1},
    {"request.time.getHours(1) == 1", -1},
    {"timestamp('2026-12-04') < request.time", -1},
    {"duration('1d') > duration('1h')", -1},
    {"duration('18333333333333333333s') > duration('1h')", -1},
    {"duration('3000000h') > duration('1h')", -1}, /* past what nanoseconds in 64 bits hold */
    {"1 < 'a'", -1},
    {"'a' + 'b' == 'ab'", -1},
    {"9223372036854775807 + 1 > 0", -1},
    {"99999999999999999999 > 0", -1},
    {"1.5 > 1", -1},
    {"true ? true : false", -1},
    {"resource.name", -1},
    {"resource.name.matches('(')", -1},
    {"(true", -1},
    {"true)", -1},
    {"'unterminated", -1},
    {"'ends in a backslash\\", -1},
    {"'\\q'", -1},
    {"", -1},
    {"!1", -1},
    {"@", -1},
};

static void test_expressions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[160];
        int got = em_cel_eval(cases[i].expression, &ctx, why, sizeof(why));
        if (got != cases[i].want)
            fail_msg("%s: %d, want %d (%s)", cases[i].expression, got, cases[i].want, why);
        if (got < 0 && !why[0])
            fail_msg("%s: an error without a reason", cases[i].expression);
    }
}

/* A resource whose type or service is not known: expressions that read them are errors. */
static void test_unknown_attributes(void **state)
{
    (void)state;
    struct em_cel_context bare = {.resource_name = "projects/p", .request_time_ns = NOW_NS};
    assert_int_equal(em_cel_eval("resource.type == 'x'", &bare, NULL, 0), -1);
    assert_int_equal(em_cel_eval("resource.name == 'projects/p'", &bare, NULL, 0), 1);
    assert_int_equal(em_cel_eval(NULL, &bare, NULL, 0), -1);
}

/* Nesting past the limit is an error, not a stack overflow. */
static void test_deep_nesting(void **state)
{
    (void)state;
    size_t n = 100000;
    char *deep = malloc(2 * n + 5);
    assert_non_null(deep);
    memset(deep, '(', n);
    memcpy(deep + n, "true", 4);
    memset(deep + n + 4, ')', n);
    deep[2 * n + 4] = '\0';
    assert_int_equal(em_cel_eval(deep, &ctx, NULL, 0), -1);
    memset(deep, '!', n);
    deep[n] = '\0';
    assert_int_equal(em_cel_eval(deep, &ctx, NULL, 0), -1);
    free(deep);
    assert_int_equal(em_cel_eval("((((((((((true))))))))))", &ctx, NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expressions),
        cmocka_unit_test(test_unknown_attributes),
        cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
