/*
 * Unit tests of pubsub_delivery: a subscription's backlog on explicit emulator times.
 * Messages read ahead are due for every later call; ack deadlines and redelivery, nacks,
 * the retry backoff, ordering keys (one outstanding batch per key), dead-letter counting,
 * retention, the floor, and what a restart or a seek carries over (marks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_log.h"
#include "pubsub/pubsub_model.h"

#include <stdlib.h>
#include <string.h>

#define SEC (EM_NS_PER_SEC)
#define T0  (1800000000LL * SEC)

static const struct ps_delivery_policy plain = {.ack_deadline_s = 10,
                                                .retention_ns = PS_DEFAULT_RETENTION_NS};

/* Admits seqs [from, to] published at T0 with no key, all matching. */
static void admit_range(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t from,
                        int64_t to, const char *key)
{
    struct em_status st = {0};
    for (int64_t s = from; s <= to; s++) {
        struct ps_entry *e;
        assert_int_equal(ps_backlog_admit(b, p, s, T0, key, true, T0, &e, &st), EM_OK);
        assert_non_null(e);
    }
}

/* Selects and delivers up to max entries at now; returns how many, seqs in out. */
static size_t take(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t now,
                   size_t max, int64_t *out)
{
    size_t idx[64];
    size_t n = ps_backlog_select(b, p, now, max, idx);
    for (size_t i = 0; i < n; i++) {
        struct ps_entry *e = ps_backlog_at(b, idx[i]);
        ps_backlog_deliver(e, p, now);
        out[i] = e->seq;
    }
    return n;
}

static void test_lease_expiry_redelivers(void **state)
{
    (void)state;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &plain, 1, 3, NULL);
    int64_t got[8];
    assert_int_equal(take(&b, &plain, T0, 10, got), 3);
    /* outstanding until T0 + 10 s: nothing to hand out before */
    assert_int_equal(take(&b, &plain, T0 + 9 * SEC, 10, got), 0);
    assert_true(ps_backlog_ack(&b, 2));
    assert_false(ps_backlog_ack(&b, 2)); /* acked once */
    ps_backlog_expire(&b, &plain, T0 + 10 * SEC);
    assert_int_equal(take(&b, &plain, T0 + 10 * SEC, 10, got), 2);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 3);
    struct ps_entry *e = ps_backlog_find(&b, 1);
    assert_int_equal(e->attempts, 2);
    assert_int_equal(e->gen, 2);
    ps_backlog_free(&b);
}

/* Calls take their time before the subscription's lock: the next call may carry an
 * earlier time than the one that read messages ahead. Those are due for it all the same. */
static void test_read_ahead_due_for_earlier_calls(void **state)
{
    (void)state;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    struct em_status st = {0};
    struct ps_entry *e;
    for (int64_t s = 1; s <= 3; s++) /* read at T0 + 1 s, published at T0 */
        assert_int_equal(ps_backlog_admit(&b, &plain, s, T0, NULL, true, T0 + SEC, &e, &st), EM_OK);
    int64_t got[4];
    assert_int_equal(take(&b, &plain, T0 + SEC, 1, got), 1);
    assert_int_equal(take(&b, &plain, T0 + SEC - 1000, 4, got), 2);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 3);
    ps_backlog_free(&b);
}

static void test_modack_extends_and_nacks(void **state)
{
    (void)state;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &plain, 1, 1, NULL);
    int64_t got[4];
    assert_int_equal(take(&b, &plain, T0, 1, got), 1);
    /* extend to 60 s: the 10 s deadline passes without a redelivery */
    assert_true(ps_backlog_modack(&b, 1, 1, 60, &plain, T0 + 5 * SEC));
    ps_backlog_expire(&b, &plain, T0 + 30 * SEC);
    assert_int_equal(take(&b, &plain, T0 + 30 * SEC, 1, got), 0);
    /* a stale delivery (gen 0) changes nothing; a nack makes it deliverable now */
    assert_false(ps_backlog_modack(&b, 1, 0, 0, &plain, T0 + 31 * SEC));
    assert_true(ps_backlog_modack(&b, 1, 1, 0, &plain, T0 + 31 * SEC));
    assert_int_equal(take(&b, &plain, T0 + 31 * SEC, 1, got), 1);
    /* an ack ID of the first delivery no longer extends the second one */
    assert_false(ps_backlog_modack(&b, 1, 1, 600, &plain, T0 + 32 * SEC));
    ps_backlog_free(&b);
}

static void test_retry_backoff(void **state)
{
    (void)state;
    struct ps_retry retry = {true, 10 * SEC, 600 * SEC};
    assert_int_equal(ps_retry_backoff(&retry, 1), 10 * SEC);
    assert_int_equal(ps_retry_backoff(&retry, 2), 20 * SEC);
    assert_int_equal(ps_retry_backoff(&retry, 3), 40 * SEC);
    assert_int_equal(ps_retry_backoff(&retry, 6), 320 * SEC);
    assert_int_equal(ps_retry_backoff(&retry, 7), 600 * SEC); /* capped */
    assert_int_equal(ps_retry_backoff(&retry, 1000), 600 * SEC);
    struct ps_retry none = {0};
    assert_int_equal(ps_retry_backoff(&none, 5), 0);
    assert_int_equal(ps_push_backoff(1), SEC / 10);
    assert_int_equal(ps_push_backoff(2), SEC / 5);
    assert_int_equal(ps_push_backoff(100), 60 * SEC);

    /* the backlog applies it from the end of the lease, on nacks from now */
    struct ps_delivery_policy p = plain;
    p.retry = retry;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &p, 1, 1, NULL);
    int64_t got[2];
    assert_int_equal(take(&b, &p, T0, 1, got), 1);
    ps_backlog_expire(&b, &p, T0 + 100 * SEC); /* lease ended at T0 + 10 s */
    assert_int_equal(take(&b, &p, T0 + 19 * SEC, 1, got), 0);
    assert_int_equal(take(&b, &p, T0 + 20 * SEC, 1, got), 1); /* 10 s + 10 s backoff */
    assert_true(ps_backlog_modack(&b, 1, 2, 0, &p, T0 + 21 * SEC));
    assert_int_equal(take(&b, &p, T0 + 40 * SEC, 1, got), 0); /* 2nd failure: 20 s */
    assert_int_equal(take(&b, &p, T0 + 41 * SEC, 1, got), 1);
    ps_backlog_free(&b);
}

static void test_ordering_one_batch_per_key(void **state)
{
    (void)state;
    struct ps_delivery_policy p = plain;
    p.ordering = true;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &p, 1, 2, "k");  /* k: 1 2 */
    admit_range(&b, &p, 3, 3, "j");  /* j: 3 */
    admit_range(&b, &p, 4, 4, "k");  /* k: 4 */
    admit_range(&b, &p, 5, 5, NULL); /* no key */
    int64_t got[8];
    /* a batch of 2: messages 1 and 2 of k, in order */
    assert_int_equal(take(&b, &p, T0, 2, got), 2);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 2);
    /* k is blocked while 1 and 2 are outstanding; j and the unkeyed message flow */
    assert_int_equal(take(&b, &p, T0, 10, got), 2);
    assert_int_equal(got[0], 3);
    assert_int_equal(got[1], 5);
    /* acking 1 alone does not free k: 2 is still outstanding */
    ps_backlog_ack(&b, 1);
    assert_int_equal(take(&b, &p, T0, 10, got), 0);
    /* a nack of 2 makes it the head of k again, before 4 */
    assert_true(ps_backlog_modack(&b, 2, 1, 0, &p, T0 + SEC));
    assert_int_equal(take(&b, &p, T0 + SEC, 10, got), 2);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 4);
    ps_backlog_free(&b);
}

static void test_ordering_waits_for_backoff(void **state)
{
    (void)state;
    struct ps_delivery_policy p = plain;
    p.ordering = true;
    p.retry = (struct ps_retry){true, 30 * SEC, 600 * SEC};
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &p, 1, 1, "k");
    int64_t got[4];
    assert_int_equal(take(&b, &p, T0, 1, got), 1);
    admit_range(&b, &p, 2, 2, "k");
    assert_true(ps_backlog_modack(&b, 1, 1, 0, &p, T0)); /* backs off until T0 + 30 s */
    /* 2 must not overtake 1 while 1 waits */
    assert_int_equal(take(&b, &p, T0 + 10 * SEC, 4, got), 0);
    assert_int_equal(take(&b, &p, T0 + 30 * SEC, 4, got), 2);
    assert_int_equal(got[0], 1);
    ps_backlog_free(&b);
}

static void test_dead_letter_counting(void **state)
{
    (void)state;
    struct ps_delivery_policy p = plain;
    p.max_attempts = 5;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &p, 1, 1, NULL);
    int64_t got[2];
    for (uint32_t attempt = 1; attempt <= 5; attempt++) {
        int64_t now = T0 + attempt * SEC;
        assert_int_equal(take(&b, &p, now, 1, got), 1);
        struct ps_entry *e = ps_backlog_find(&b, 1);
        assert_int_equal(e->attempts, attempt); /* deliveryAttempt seen by the subscriber */
        assert_false(ps_entry_dead(e, &p));
        assert_true(ps_backlog_modack(&b, 1, e->gen, 0, &p, now));
    }
    /* the fifth failure used up the attempts: never delivered again, to be forwarded */
    struct ps_entry *e = ps_backlog_find(&b, 1);
    assert_true(ps_entry_dead(e, &p));
    assert_int_equal(take(&b, &p, T0 + 60 * SEC, 1, got), 0);
    /* without a dead-letter policy attempts never end */
    assert_false(ps_entry_dead(e, &plain));
    ps_backlog_free(&b);
}

static void test_retention_and_floor(void **state)
{
    (void)state;
    struct ps_delivery_policy p = plain;
    p.retention_ns = 600 * SEC;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    struct em_status st = {0};
    struct ps_entry *e;
    /* message 1 is older than the retention when read: passed over */
    assert_int_equal(ps_backlog_admit(&b, &p, 1, T0 - 700 * SEC, NULL, true, T0, &e, &st), EM_OK);
    assert_null(e);
    assert_int_equal(b.floor, 2);
    /* 2 and 3 tracked; a filtered-out 4 counts as acknowledged */
    admit_range(&b, &p, 2, 3, NULL);
    assert_int_equal(ps_backlog_admit(&b, &p, 4, T0, NULL, false, T0, &e, &st), EM_OK);
    assert_null(e);
    assert_int_equal(b.cursor, 5);
    assert_int_equal(b.floor, 2);
    int64_t got[4];
    assert_int_equal(take(&b, &p, T0, 4, got), 2);
    ps_backlog_ack(&b, 3);
    assert_false(ps_backlog_compact(&b)); /* 2 is still unacked */
    ps_backlog_ack(&b, 2);
    assert_true(ps_backlog_compact(&b));
    assert_int_equal(b.floor, 5); /* everything below the cursor is done */
    assert_true(b.floor_dirty);
    /* an outstanding message dropped once it is older than the retention */
    admit_range(&b, &p, 5, 5, NULL);
    assert_int_equal(take(&b, &p, T0, 1, got), 1);
    ps_backlog_expire(&b, &p, T0 + 600 * SEC);
    assert_int_equal(b.floor, 6);
    assert_int_equal(ps_backlog_oldest_unacked(&b), 0);
    ps_backlog_free(&b);
}

static void test_marks_after_restart(void **state)
{
    (void)state;
    struct ps_delivery_policy p = plain;
    p.max_attempts = 5;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    /* stored state: floor 10; 11 acked; 12 delivered 3 times */
    struct ps_mark marks[] = {{11, 0, true}, {12, 3, false}};
    struct em_status st = {0};
    assert_int_equal(ps_backlog_reset(&b, 10, marks, 2, &st), EM_OK);
    admit_range(&b, &p, 10, 10, NULL);
    struct ps_entry *e;
    assert_int_equal(ps_backlog_admit(&b, &p, 11, T0, NULL, true, T0, &e, &st), EM_OK);
    assert_null(e); /* acked before the restart: never redelivered */
    admit_range(&b, &p, 12, 12, NULL);
    assert_int_equal(ps_backlog_find(&b, 12)->attempts, 3);
    int64_t *acked;
    size_t n;
    ps_backlog_ack(&b, 10);
    ps_backlog_compact(&b);
    assert_int_equal(ps_backlog_acked(&b, b.floor, &acked, &n, &st), EM_OK);
    assert_int_equal(n, 0); /* 10 and 11 are below the floor now */
    assert_int_equal(b.floor, 12);
    free(acked);
    ps_backlog_free(&b);
}

static void test_acked_set_for_snapshots(void **state)
{
    (void)state;
    struct ps_backlog b;
    ps_backlog_init(&b, 1);
    admit_range(&b, &plain, 1, 4, NULL);
    int64_t got[4];
    take(&b, &plain, T0, 4, got);
    ps_backlog_ack(&b, 2);
    ps_backlog_ack(&b, 4);
    int64_t *acked;
    size_t n;
    struct em_status st = {0};
    assert_int_equal(ps_backlog_acked(&b, b.floor, &acked, &n, &st), EM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(acked[0], 2);
    assert_int_equal(acked[1], 4);
    free(acked);
    assert_int_equal(ps_backlog_oldest_unacked(&b), T0);
    ps_backlog_free(&b);
}

int main(void)
{
    em_log_init("test", EM_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lease_expiry_redelivers),
        cmocka_unit_test(test_read_ahead_due_for_earlier_calls),
        cmocka_unit_test(test_modack_extends_and_nacks),
        cmocka_unit_test(test_retry_backoff),
        cmocka_unit_test(test_ordering_one_batch_per_key),
        cmocka_unit_test(test_ordering_waits_for_backoff),
        cmocka_unit_test(test_dead_letter_counting),
        cmocka_unit_test(test_retention_and_floor),
        cmocka_unit_test(test_marks_after_restart),
        cmocka_unit_test(test_acked_set_for_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
