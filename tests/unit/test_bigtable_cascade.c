/*
 * test_bigtable_cascade: the cascade's rules (bt_cascade_advance): one cluster more
 * DISABLED per key check once a key is refused, refused clusters first, a clock advanced
 * by several intervals counting several checks, keyChecks:run between scheduled checks
 * counting one, re-enabling restoring every cluster, a KMS outage not counting, and the
 * 30-day deletion (refused for 30 consecutive days; the deleted cluster stops holding
 * the others down).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_cascade.h"

#include <string.h>

#define SEC      1000000000LL
#define INTERVAL (300 * SEC)
#define DAY      (86400 * SEC)

/* A cluster whose key is refused since `since`, its latest key check at `check`. */
static void refuse(struct bt_cascade_cluster *c, int64_t since, int64_t check)
{
    c->refused = true;
    c->refused_since = since;
    c->latest_check = check;
}

static int disabled_count(const struct bt_cascade_cluster *c, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += c[i].disabled;
    return count;
}

static void test_one_cluster_per_check(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[3] = {{0}};
    struct bt_cascade cascade = {0};
    int64_t t = 1000 * SEC;
    assert_false(bt_cascade_advance(&cascade, cl, 3, t, INTERVAL)); /* all fine */
    refuse(&cl[1], t, t);
    assert_true(bt_cascade_advance(&cascade, cl, 3, t, INTERVAL));
    assert_int_equal(cascade.checks, 1);
    /* the refused cluster goes first, the others stay READY */
    assert_true(cl[1].disabled);
    assert_false(cl[0].disabled);
    assert_false(cl[2].disabled);
    /* a round that did not check b again changes nothing */
    assert_false(bt_cascade_advance(&cascade, cl, 3, t + SEC, INTERVAL));
    /* next check: a (first by name among the healthy) */
    cl[1].latest_check = t + INTERVAL;
    assert_true(bt_cascade_advance(&cascade, cl, 3, t + INTERVAL, INTERVAL));
    assert_true(cl[0].disabled);
    assert_false(cl[2].disabled);
    /* keyChecks:run 10 s later counts as one check: c goes too */
    cl[1].latest_check = t + INTERVAL + 10 * SEC;
    assert_true(bt_cascade_advance(&cascade, cl, 3, t + INTERVAL + 10 * SEC, INTERVAL));
    assert_int_equal(disabled_count(cl, 3), 3);
    assert_int_equal(cascade.checks, 3);
}

static void test_clock_jump_counts_every_interval(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[4] = {{0}};
    struct bt_cascade cascade = {0};
    refuse(&cl[3], 0, 0);
    bt_cascade_advance(&cascade, cl, 4, 0, INTERVAL);
    assert_int_equal(disabled_count(cl, 4), 1);
    /* the clock advanced by 2 intervals at once: 2 more checks */
    cl[3].latest_check = 2 * INTERVAL;
    bt_cascade_advance(&cascade, cl, 4, 2 * INTERVAL, INTERVAL);
    assert_int_equal(disabled_count(cl, 4), 3);
    assert_true(cl[0].disabled && cl[1].disabled && !cl[2].disabled);
}

static void test_reenable_restores(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[2] = {{0}};
    struct bt_cascade cascade = {0};
    refuse(&cl[0], 0, 0);
    bt_cascade_advance(&cascade, cl, 2, 0, INTERVAL);
    cl[0].latest_check = INTERVAL;
    bt_cascade_advance(&cascade, cl, 2, INTERVAL, INTERVAL);
    assert_int_equal(disabled_count(cl, 2), 2);
    cl[0].refused = false; /* the key is enabled again, the next check saw it */
    assert_true(bt_cascade_advance(&cascade, cl, 2, 2 * INTERVAL, INTERVAL));
    assert_int_equal(disabled_count(cl, 2), 0);
    assert_int_equal(cascade.checks, 0);
    /* refused again later: the count starts over */
    refuse(&cl[0], 10 * INTERVAL, 10 * INTERVAL);
    bt_cascade_advance(&cascade, cl, 2, 10 * INTERVAL, INTERVAL);
    assert_int_equal(cascade.checks, 1);
    assert_int_equal(disabled_count(cl, 2), 1);
}

/* Two clusters under one refused key: both cannot serve, both are DISABLED at once. */
static void test_refused_clusters_always_disabled(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[3] = {{0}};
    struct bt_cascade cascade = {0};
    refuse(&cl[0], 0, 0);
    refuse(&cl[2], 0, 0);
    bt_cascade_advance(&cascade, cl, 3, 0, INTERVAL);
    assert_true(cl[0].disabled && cl[2].disabled && !cl[1].disabled);
}

static void test_thirty_days(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[2] = {{0}};
    struct bt_cascade cascade = {0};
    refuse(&cl[0], 0, 0);
    bt_cascade_advance(&cascade, cl, 2, 0, INTERVAL);
    cl[0].latest_check = INTERVAL;
    bt_cascade_advance(&cascade, cl, 2, INTERVAL, INTERVAL);
    assert_int_equal(disabled_count(cl, 2), 2);
    /* one second short of 30 days: nothing is deleted */
    cl[0].latest_check = 30 * DAY - SEC;
    bt_cascade_advance(&cascade, cl, 2, 30 * DAY - SEC, INTERVAL);
    assert_false(cl[0].data_deleted || cl[0].delete_now);
    /* 30 days: a's data goes; b, whose key is fine, is READY again */
    cl[0].latest_check = 30 * DAY;
    assert_true(bt_cascade_advance(&cascade, cl, 2, 30 * DAY, INTERVAL));
    assert_true(cl[0].delete_now && cl[0].data_deleted && cl[0].disabled);
    assert_false(cl[1].disabled);
    assert_int_equal(cascade.checks, 0);
    /* deleted once: later runs neither delete again nor enable it */
    cl[0].refused = false;
    bt_cascade_advance(&cascade, cl, 2, 31 * DAY, INTERVAL);
    assert_false(cl[0].delete_now);
    assert_true(cl[0].data_deleted && cl[0].disabled);
}

/* Re-enabled on day 29 and refused again: the 30 days count from the new refusal. */
static void test_thirty_days_are_consecutive(void **state)
{
    (void)state;
    struct bt_cascade_cluster cl[1] = {{0}};
    struct bt_cascade cascade = {0};
    refuse(&cl[0], 0, 0);
    bt_cascade_advance(&cascade, cl, 1, 0, INTERVAL);
    cl[0].refused = false;
    bt_cascade_advance(&cascade, cl, 1, 29 * DAY, INTERVAL);
    refuse(&cl[0], 29 * DAY + INTERVAL, 29 * DAY + INTERVAL);
    bt_cascade_advance(&cascade, cl, 1, 35 * DAY, INTERVAL);
    assert_false(cl[0].data_deleted);
    bt_cascade_advance(&cascade, cl, 1, 59 * DAY + INTERVAL, INTERVAL);
    assert_true(cl[0].data_deleted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_cluster_per_check),
        cmocka_unit_test(test_clock_jump_counts_every_interval),
        cmocka_unit_test(test_reenable_restores),
        cmocka_unit_test(test_refused_clusters_always_disabled),
        cmocka_unit_test(test_thirty_days),
        cmocka_unit_test(test_thirty_days_are_consecutive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
