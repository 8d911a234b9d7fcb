/*
 * test_audit: em_audit: entries recorded, flushed and read back in order (ascending,
 * descending, paged after an id), every field kept (NULLs included), strings copied at
 * record time, nothing lost on close or from concurrent recorders, the table pruned to its
 * maximum keeping the newest entries, and clear.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_audit.h"
#include "em_log.h"
#include "unit_util.h"

#include <pthread.h>
#include <string.h>

struct fixture {
    struct unit_dir dir;
    struct em_audit *audit;
};

static int open_with_max(void **state, int64_t max_entries)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || em_audit_open(f->dir.store, max_entries, &f->audit, &st))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return open_with_max(state, 1000);
}

static int setup_small(void **state)
{
    return open_with_max(state, 50);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_audit_close(f->audit);
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* Records an Encrypt call on key k<i> at time i. */
static void record(struct fixture *f, int i)
{
    char resource[64];
    snprintf(resource, sizeof(resource), "projects/p/locations/global/keyRings/r/cryptoKeys/k%d",
             i);
    struct em_audit_entry e = {
        .time_ns = i,
        .service = "kms",
        .kind = EM_AUDIT_DATA_ACCESS,
        .principal = "user:alice@example.com",
        .method = "Encrypt",
        .resource = resource,
    };
    em_audit_record(f->audit, &e);
}

static void flush(struct fixture *f)
{
    struct em_status st = {0};
    assert_int_equal(em_audit_flush(f->audit, &st), EM_OK);
}

/* What a scan saw: the ids and times, in visiting order. */
struct seen {
    int64_t ids[64];
    int64_t times[64];
    int count, stop_after;
    int64_t total;
};

static bool collect(const struct em_audit_row *row, void *arg)
{
    struct seen *s = arg;
    if (s->count < 64) {
        s->ids[s->count] = row->id;
        s->times[s->count] = row->entry.time_ns;
    }
    s->count++;
    return s->count != s->stop_after;
}

static struct seen scan(struct fixture *f, bool descending, int64_t after_id, int stop_after)
{
    struct seen s = {.stop_after = stop_after};
    struct em_status st = {0};
    assert_int_equal(em_audit_scan(f->dir.store, descending, after_id, collect, &s, &st), EM_OK);
    return s;
}

static void test_entries_read_back_in_order(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 5; i++)
        record(f, i);
    flush(f);
    struct seen asc = scan(f, false, 0, -1);
    assert_int_equal(asc.count, 5);
    for (int i = 0; i < 5; i++)
        assert_true(asc.times[i] == i + 1);
    for (int i = 1; i < 5; i++)
        assert_true(asc.ids[i] > asc.ids[i - 1]);
    struct seen desc = scan(f, true, 0, -1);
    assert_int_equal(desc.count, 5);
    for (int i = 0; i < 5; i++)
        assert_true(desc.times[i] == 5 - i);
}

static void test_paging_after_an_id(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 6; i++)
        record(f, i);
    flush(f);
    struct seen first = scan(f, false, 0, 2);
    assert_int_equal(first.count, 2);
    struct seen rest = scan(f, false, first.ids[1], -1);
    assert_int_equal(rest.count, 4);
    assert_true(rest.times[0] == 3 && rest.times[3] == 6);
    struct seen newest = scan(f, true, 0, 2);
    assert_true(newest.times[0] == 6 && newest.times[1] == 5);
    struct seen older = scan(f, true, newest.ids[1], -1);
    assert_int_equal(older.count, 4);
    assert_true(older.times[0] == 4 && older.times[3] == 1);
    struct seen none = scan(f, false, rest.ids[3], -1);
    assert_int_equal(none.count, 0);
}

struct one_row {
    struct em_audit_entry e;
    char text[7][128];
    bool nulls[3];
    int count;
};

static bool copy_row(const struct em_audit_row *row, void *arg)
{
    struct one_row *r = arg;
    r->count++;
    r->e = row->entry;
    const char *fields[] = {row->entry.service,  row->entry.principal,   row->entry.method,
                            row->entry.resource, row->entry.key_version, row->entry.caller,
                            row->entry.message};
    for (int i = 0; i < 7; i++)
        snprintf(r->text[i], sizeof(r->text[i]), "%s", fields[i] ? fields[i] : "(null)");
    r->nulls[0] = row->entry.key_version == NULL;
    r->nulls[1] = row->entry.caller == NULL;
    r->nulls[2] = row->entry.message == NULL;
    r->e.service = r->e.principal = r->e.method = r->e.resource = NULL;
    r->e.key_version = r->e.caller = r->e.message = NULL;
    return true;
}

static void test_every_field_is_kept(void **state)
{
    struct fixture *f = *state;
    struct em_audit_entry e = {
        .time_ns = 1767225600123456789LL,
        .service = "kms",
        .kind = EM_AUDIT_ADMIN,
        .principal = "serviceAccount:robot@p.iam.gserviceaccount.com",
        .method = "DestroyCryptoKeyVersion",
        .resource = "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        .key_version = "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        .caller = "projects/p/topics/t",
        .code = EM_FAILED_PRECONDITION,
        .message = "The version is not enabled.",
    };
    em_audit_record(f->audit, &e);
    flush(f);
    struct one_row r = {0};
    struct em_status st = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, copy_row, &r, &st), EM_OK);
    assert_int_equal(r.count, 1);
    assert_true(r.e.time_ns == e.time_ns);
    assert_int_equal(r.e.kind, EM_AUDIT_ADMIN);
    assert_int_equal(r.e.code, EM_FAILED_PRECONDITION);
    assert_string_equal(r.text[0], e.service);
    assert_string_equal(r.text[1], e.principal);
    assert_string_equal(r.text[2], e.method);
    assert_string_equal(r.text[3], e.resource);
    assert_string_equal(r.text[4], e.key_version);
    assert_string_equal(r.text[5], e.caller);
    assert_string_equal(r.text[6], e.message);
    assert_false(r.nulls[0] || r.nulls[1] || r.nulls[2]);
    assert_null(r.e.justification);
    assert_false(r.e.justification_enforced);
}

static bool copy_justification(const struct em_audit_row *row, void *arg)
{
    char *out = arg;
    snprintf(out, 64, "%s|%d", row->entry.justification ? row->entry.justification : "(null)",
             row->entry.justification_enforced);
    return true;
}

static void test_a_key_use_keeps_its_access_reason(void **state)
{
    struct fixture *f = *state;
    struct em_audit_entry e = {
        .time_ns = 1,
        .service = "kms",
        .kind = EM_AUDIT_DATA_ACCESS,
        .principal = "serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com",
        .method = "Decrypt",
        .resource = "projects/p/locations/global/keyRings/r/cryptoKeys/k",
        .justification = "GOOGLE_INITIATED_SYSTEM_OPERATION",
        .justification_enforced = true,
    };
    em_audit_record(f->audit, &e);
    e.justification = "CUSTOMER_INITIATED_ACCESS";
    e.justification_enforced = false;
    em_audit_record(f->audit, &e);
    flush(f);
    char text[64] = "";
    struct em_status st = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, copy_justification, text, &st), EM_OK);
    assert_string_equal(text, "CUSTOMER_INITIATED_ACCESS|0"); /* the last row visited */
    assert_int_equal(em_audit_scan(f->dir.store, true, 0, copy_justification, text, &st), EM_OK);
    assert_string_equal(text, "GOOGLE_INITIATED_SYSTEM_OPERATION|1");
}

static void test_absent_fields_stay_null(void **state)
{
    struct fixture *f = *state;
    record(f, 1);
    flush(f);
    struct one_row r = {0};
    struct em_status st = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, copy_row, &r, &st), EM_OK);
    assert_true(r.nulls[0] && r.nulls[1] && r.nulls[2]);
    assert_int_equal(r.e.code, EM_OK);
    assert_int_equal(r.e.kind, EM_AUDIT_DATA_ACCESS);
}

static void test_strings_are_copied_when_recorded(void **state)
{
    struct fixture *f = *state;
    char principal[64] = "user:alice@example.com";
    char resource[64] = "projects/p/topics/orders";
    char message[64] = "Topic not found.";
    struct em_audit_entry e = {.service = "pubsub",
                               .kind = EM_AUDIT_ADMIN,
                               .principal = principal,
                               .method = "DeleteTopic",
                               .resource = resource,
                               .code = EM_NOT_FOUND,
                               .message = message};
    em_audit_record(f->audit, &e);
    /* the caller's request memory is reused before the writer runs */
    memset(principal, 'X', sizeof(principal) - 1);
    snprintf(resource, sizeof(resource), "overwritten");
    message[0] = '\0';
    flush(f);
    struct one_row r = {0};
    struct em_status st = {0};
    assert_int_equal(em_audit_scan(f->dir.store, false, 0, copy_row, &r, &st), EM_OK);
    assert_string_equal(r.text[1], "user:alice@example.com");
    assert_string_equal(r.text[3], "projects/p/topics/orders");
    assert_string_equal(r.text[6], "Topic not found.");
}

static void test_close_writes_what_is_queued(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 20; i++)
        record(f, i);
    em_audit_close(f->audit);
    f->audit = NULL;
    struct seen s = scan(f, false, 0, -1);
    assert_int_equal(s.count, 20);
    struct em_status st = {0};
    assert_int_equal(em_audit_open(f->dir.store, 1000, &f->audit, &st), EM_OK);
    record(f, 21);
    flush(f);
    s = scan(f, true, 0, 1);
    assert_true(s.times[0] == 21);
}

struct recorder {
    struct fixture *f;
    int base;
};

static void *record_many(void *arg)
{
    struct recorder *r = arg;
    for (int i = 0; i < 250; i++)
        record(r->f, r->base + i);
    return NULL;
}

static void test_concurrent_recorders_lose_nothing(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[4];
    struct recorder r[4];
    for (int t = 0; t < 4; t++) {
        r[t] = (struct recorder){f, t * 1000};
        assert_int_equal(pthread_create(&threads[t], NULL, record_many, &r[t]), 0);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(threads[t], NULL);
    flush(f);
    struct seen s = scan(f, false, 0, -1);
    assert_int_equal(s.count, 1000);
}

static void test_the_oldest_entries_are_pruned(void **state)
{
    struct fixture *f = *state; /* keeps 50 */
    for (int i = 1; i <= 10000; i++)
        record(f, i);
    flush(f);
    struct seen s = scan(f, false, 0, -1);
    assert_int_equal(s.count, 50);
    assert_true(s.times[0] == 9951);
    assert_true(s.times[49] == 10000);
}

static void test_clear(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 3; i++)
        record(f, i);
    flush(f);
    int64_t last = scan(f, true, 0, 1).ids[0];
    struct em_status st = {0};
    assert_int_equal(em_audit_clear(f->dir.store, &st), EM_OK);
    assert_int_equal(scan(f, false, 0, -1).count, 0);
    record(f, 4);
    flush(f);
    struct seen s = scan(f, false, 0, -1);
    assert_int_equal(s.count, 1);
    assert_true(s.ids[0] > last); /* ids are never reused: old page tokens see nothing */
}

static void test_null_audit_is_a_no_op(void **state)
{
    (void)state;
    struct em_audit_entry e = {.service = "kms", .principal = "p", .method = "m", .resource = "r"};
    em_audit_record(NULL, &e);
    struct em_status st = {0};
    assert_int_equal(em_audit_flush(NULL, &st), EM_OK);
    em_audit_close(NULL);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entries_read_back_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_after_an_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_field_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_key_use_keeps_its_access_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_fields_stay_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_are_copied_when_recorded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_writes_what_is_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_recorders_lose_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_oldest_entries_are_pruned, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
        cmocka_unit_test(test_null_audit_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
