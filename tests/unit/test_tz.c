/*
 * test_tz: time zones (em_tz) from the system's tz database (Debian's tzdata): offsets
 * across daylight-saving changes, before the first transition and after the zone file's
 * last one (its POSIX footer rule), civil times skipped and repeated, fixed offsets, and
 * names that must not reach the file system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_tz.h"

#include <string.h>

#define HOUR 3600

/* Seconds since the epoch of a UTC civil time (days from 1970-01-01 given directly). */
static int64_t at(int64_t days, int hour, int minute)
{
    return days * 86400 + hour * HOUR + minute * 60;
}

/* days since 1970-01-01 */
#define D_2026_03_08 20520
#define D_2026_11_01 20758
#define D_2100_07_04 47666
#define D_2100_01_01 47482

static void test_default_zone_across_changes(void **state)
{
    (void)state;
    struct em_zone la;
    assert_true(em_zone_find("America/Los_Angeles", &la));
    assert_non_null(la.rules);
    assert_int_equal(em_zone_offset_at(&la, at(D_2026_03_08, 9, 59) + 59), -8 * HOUR);
    assert_int_equal(em_zone_offset_at(&la, at(D_2026_03_08, 10, 0)), -7 * HOUR);
    assert_int_equal(em_zone_offset_at(&la, at(D_2026_11_01, 8, 59)), -7 * HOUR);
    assert_int_equal(em_zone_offset_at(&la, at(D_2026_11_01, 9, 0)), -8 * HOUR);
    assert_string_equal(em_zone_abbreviation(&la, at(D_2026_11_01, 8, 0)), "PDT");
    assert_string_equal(em_zone_abbreviation(&la, at(D_2026_11_01, 10, 0)), "PST");
    /* after the file's last transition (2037): the footer's rule */
    assert_int_equal(em_zone_offset_at(&la, at(D_2100_07_04, 12, 0)), -7 * HOUR);
    assert_int_equal(em_zone_offset_at(&la, at(D_2100_01_01, 12, 0)), -8 * HOUR);
    /* before standard time (1883): local mean time, -7:52:58 */
    assert_int_equal(em_zone_offset_at(&la, -3000000000LL), -(7 * HOUR + 52 * 60 + 58));
}

static void test_civil_times_skipped_and_repeated(void **state)
{
    (void)state;
    struct em_zone la;
    assert_true(em_zone_find("America/Los_Angeles", &la));
    /* 02:30 on 2026-03-08 does not exist: read with PST, it is 10:30Z (03:30 PDT) */
    assert_int_equal(em_zone_to_utc(&la, at(D_2026_03_08, 2, 30)), at(D_2026_03_08, 10, 30));
    /* 01:30 on 2026-11-01 happens twice: the first, PDT */
    assert_int_equal(em_zone_to_utc(&la, at(D_2026_11_01, 1, 30)), at(D_2026_11_01, 8, 30));
    /* ordinary times either side */
    assert_int_equal(em_zone_to_utc(&la, at(D_2026_03_08, 1, 0)), at(D_2026_03_08, 9, 0));
    assert_int_equal(em_zone_to_utc(&la, at(D_2026_03_08, 4, 0)), at(D_2026_03_08, 11, 0));
    assert_int_equal(em_zone_to_utc(&la, at(D_2100_07_04, 5, 0)), at(D_2100_07_04, 12, 0));
}

static void test_southern_and_partial_hour_zones(void **state)
{
    (void)state;
    struct em_zone sydney, kolkata, kathmandu;
    assert_true(em_zone_find("Australia/Sydney", &sydney));
    assert_true(em_zone_find("Asia/Kolkata", &kolkata));
    assert_true(em_zone_find("Asia/Kathmandu", &kathmandu));
    assert_int_equal(em_zone_offset_at(&sydney, at(D_2026_11_01, 0, 0)), 11 * HOUR); /* summer */
    assert_int_equal(em_zone_offset_at(&sydney, at(D_2100_07_04, 0, 0)), 10 * HOUR); /* winter */
    assert_int_equal(em_zone_offset_at(&sydney, at(D_2100_01_01, 0, 0)), 11 * HOUR);
    assert_int_equal(em_zone_offset_at(&kolkata, at(D_2026_11_01, 0, 0)), 5 * HOUR + 30 * 60);
    assert_int_equal(em_zone_offset_at(&kathmandu, at(D_2026_11_01, 0, 0)), 5 * HOUR + 45 * 60);
}

static void test_fixed_offsets(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int offset;
    } cases[] = {{"UTC", 0},
                 {"Etc/UTC", 0},
                 {"Z", 0},
                 {"+05:30", 19800},
                 {"-0800", -8 * HOUR},
                 {"UTC-8", -8 * HOUR},
                 {"UTC+14", 14 * HOUR},
                 {"-14:00", -14 * HOUR}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct em_zone z;
        assert_true(em_zone_find(cases[i].name, &z));
        assert_null(z.rules);
        assert_int_equal(em_zone_offset_at(&z, 0), cases[i].offset);
        assert_int_equal(em_zone_to_utc(&z, 1000), 1000 - cases[i].offset);
    }
    struct em_zone z;
    assert_false(em_zone_find("+15:00", &z));
    assert_false(em_zone_find("+05:75", &z));
    assert_false(em_zone_find("UTC+5x", &z));
}

static void test_names_that_are_not_zones(void **state)
{
    (void)state;
    static const char *const names[] = {
        "Mars/Olympus",
        "",
        "/etc/passwd",
        "../../etc/passwd",
        "America/../../../etc/passwd",
        "America//Los_Angeles",
        "America/",
        ".hidden",
        "America/.Los",
        "zone.tab",
        "tzdata.zi",
        "America/Los Angeles",
        "-America",
        "posixrules/../UTC",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct em_zone z;
        assert_false(em_zone_find(names[i], &z));
    }
    /* a directory of the database is not a zone either */
    struct em_zone z;
    assert_false(em_zone_find("America", &z));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_zone_across_changes),
        cmocka_unit_test(test_civil_times_skipped_and_repeated),
        cmocka_unit_test(test_southern_and_partial_hour_zones),
        cmocka_unit_test(test_fixed_offsets),
        cmocka_unit_test(test_names_that_are_not_zones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
