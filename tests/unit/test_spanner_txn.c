/*
 * test_spanner_txn: Spanner's read-write transactions through the service in process
 * (em_dispatch, no sockets): conflicts per key and idle expiry (spanner_txn.h).
 *
 * - Two transactions that read and write different rows of one table both commit.
 * - One that read a row another committed after it began is ABORTED; so is one whose
 *   range read a later insert falls into (a phantom), and one whose SQL scanned the table
 *   (no key to narrow it), while an insert outside a range read does not abort it.
 * - Blind writes (mutations without reads) never conflict, even on one key.
 * - On a FLOAT64 key, NaN sorts before every number in range reads' conflicts too.
 * - SQL pinned by primary key (spanner_sql_keys.h) reads only those keys: queries and DML
 *   on different rows both commit, on the same row one aborts; a composite key's prefix,
 *   IN lists and IN UNNEST(@array) too; blind INSERTs of different rows both commit. What
 *   is not pinned (OR, ranges, joins, functions of the key, subqueries, a parameter of
 *   another type) reads the table whole.
 * - Rows deleted by an interleaved parent's cascade count as written. SQL on interleaved
 *   tables reads by key too: an INSERT into a child reads its rows' parents only (their
 *   existence), a DELETE of parents by key their children's key prefixes only. INSERT ...
 *   SELECT is blind on its table and reads its source by key when its WHERE pins it.
 * - When the write log was pruned past a transaction's start, its table decides.
 * - GENERATE_UUID() and CURRENT_TIMESTAMP() in DML give at the commit, and at the
 *   transaction's later statements, what they returned when the DML ran; so do
 *   GET_NEXT_SEQUENCE_VALUE() and a column DEFAULT drawing from a sequence, whose values
 *   are never drawn twice (not by a concurrent transaction, nor after a rollback).
 * - A read-write transaction idle for 10 s of emulator time is aborted (any later use
 *   answers ABORTED, rollback succeeds); a read-only one is not.
 */
#include "em_call.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_json.h"
#include "em_log.h"
#include "em_service.h"
#include "spanner/spanner_data.h"
#include "spanner/spanner_handlers.h"
#include "spanner/spanner_service.h"
#include "spanner/spanner_txn.h"
#include "unit_spanner.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_NAME "projects/unit-project/instances/inst/databases/db"

struct fixture {
    struct em_config cfg;
    struct em_service *svc;
    char a[512], b[512]; /* two sessions */
};

static int data_call(struct fixture *f, const char *session, const char *method, const char *body,
                     cJSON **reply)
{
    return unit_spanner_data_call(f->svc, session, method, body, reply);
}

static void new_session(struct fixture *f, char out[512])
{
    unit_spanner_new_session(f->svc, "/v1/" DB_NAME, out);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_spanner_start(
                  &f->cfg, &f->svc,
                  "[\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\","
                  "\"CREATE TABLE C (K INT64 NOT NULL, C INT64 NOT NULL) PRIMARY KEY (K, C), "
                  "INTERLEAVE IN PARENT T ON DELETE CASCADE\","
                  "\"CREATE TABLE P (A STRING(MAX) NOT NULL, B INT64 NOT NULL, V STRING(MAX)) "
                  "PRIMARY KEY (A, B)\","
                  "\"CREATE TABLE F (K FLOAT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\","
                  "\"CREATE SEQUENCE Q OPTIONS (sequence_kind = 'bit_reversed_positive')\","
                  "\"CREATE TABLE S (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE "
                  "Q)), V STRING(MAX)) PRIMARY KEY (Id)\"]"))
        return -1;
    new_session(f, f->a);
    new_session(f, f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_spanner_stop(&f->cfg, f->svc);
    free(f);
    return 0;
}

/* A single-use commit of mutations (a JSON list's items) in session a. */
static void commit_now(struct fixture *f, const char *mutations)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[%s]}",
             mutations);
    assert_int_equal(data_call(f, f->a, "commit", body, NULL), 200);
}

/* A new read-write transaction of session; its id (caller frees). */
static char *begin(struct fixture *f, const char *session, const char *mode)
{
    char body[128];
    snprintf(body, sizeof(body), "{\"options\":{\"%s\":{}}}", mode);
    cJSON *reply;
    assert_int_equal(data_call(f, session, "beginTransaction", body, &reply), 200);
    char *id = strdup(cJSON_GetObjectItem(reply, "id")->valuestring);
    cJSON_Delete(reply);
    return id;
}

/* read of T in transaction id with the KeySet key_set (JSON): its HTTP status. */
static int read_t(struct fixture *f, const char *session, const char *id, const char *key_set)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"table\":\"T\",\"columns\":[\"K\",\"V\"],"
             "\"keySet\":%s}",
             id, key_set);
    return data_call(f, session, "read", body, NULL);
}

/* Commits transaction id with mutations; its HTTP status, and the error's message (if
 * any) in message. */
static int commit_txn(struct fixture *f, const char *session, const char *id, const char *mutations,
                      char *message, size_t size)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\",\"mutations\":[%s]}", id, mutations);
    cJSON *reply;
    int status = data_call(f, session, "commit", body, &reply);
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"), "message");
    if (message)
        snprintf(message, size, "%s", cJSON_IsString(m) ? m->valuestring : "");
    cJSON_Delete(reply);
    return status;
}

/* An update of T's row k to v, as a mutation. */
static const char *set_v(char *out, size_t size, int k, const char *v)
{
    snprintf(out, size,
             "{\"insertOrUpdate\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],\"values\":"
             "[[\"%d\",\"%s\"]]}}",
             k, v);
    return out;
}

/* The V of T's row k, or "none". */
static void value_of(struct fixture *f, int k, char *out, size_t size)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"sql\":\"SELECT V FROM T WHERE K = %d\"}", k);
    cJSON *reply;
    assert_int_equal(data_call(f, f->a, "executeSql", body, &reply), 200);
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "rows"), 0);
    const cJSON *v = cJSON_GetArrayItem(row, 0);
    snprintf(out, size, "%s", cJSON_IsString(v) ? v->valuestring : "none");
    cJSON_Delete(reply);
}

static void seed_rows(struct fixture *f)
{
    commit_now(f, "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],\"values\":"
                  "[[\"1\",\"a\"],[\"2\",\"b\"],[\"5\",\"e\"]]}}");
}

static void test_disjoint_keys_both_commit(void **state)
{
    struct fixture *f = *state;
    char m[256], v[64], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    assert_int_equal(read_t(f, f->b, t2, "{\"keys\":[[\"2\"]]}"), 200);
    assert_int_equal(commit_txn(f, f->b, t2, set_v(m, sizeof(m), 2, "t2"), message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 1, "t1"), message, 512), 200);
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "t1");
    value_of(f, 2, v, sizeof(v));
    assert_string_equal(v, "t2");
    free(t1);
    free(t2);
}

static void test_same_key_read_then_written_aborts(void **state)
{
    struct fixture *f = *state;
    char m[256], v[64], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    assert_int_equal(read_t(f, f->b, t2, "{\"keys\":[[\"1\"]]}"), 200);
    assert_int_equal(commit_txn(f, f->b, t2, set_v(m, sizeof(m), 1, "t2"), message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 1, "t1"), message, 512), 409);
    assert_string_equal(message, "Transaction was aborted. It read rows of table T that a "
                                 "concurrent transaction changed.");
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "t2");
    /* the aborted transaction is over */
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 404);
    free(t1);
    free(t2);
}

static void test_range_read_and_a_later_insert(void **state)
{
    struct fixture *f = *state;
    char m[256], message[512];
    seed_rows(f);
    /* an insert outside the range read [2, 5) does not conflict */
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(
        read_t(f, f->a, t1, "{\"ranges\":[{\"startClosed\":[\"2\"],\"endOpen\":[\"5\"]}]}"), 200);
    commit_now(f, set_v(m, sizeof(m), 5, "outside"));
    commit_now(f, set_v(m, sizeof(m), 7, "outside"));
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 9, "t1"), message, 512), 200);
    free(t1);
    /* an insert into it is a phantom: the range read would now answer another row */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(
        read_t(f, f->a, t1, "{\"ranges\":[{\"startClosed\":[\"2\"],\"endOpen\":[\"5\"]}]}"), 200);
    commit_now(f, set_v(m, sizeof(m), 3, "phantom"));
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 9, "t1"), message, 512), 409);
    free(t1);
}

/* A FLOAT64 key: NaN sorts before every number (as reads order it), so a NaN inserted
 * into a range read from NaN is a phantom, and one outside a range from -Infinity is
 * not. */
static void test_nan_keys_in_ranges(void **state)
{
    struct fixture *f = *state;
    char body[512], message[512];
    const char *nan_row = "{\"insertOrUpdate\":{\"table\":\"F\",\"columns\":[\"K\",\"V\"],"
                          "\"values\":[[\"NaN\",\"nan\"]]}}";
    const char *t1_write = "{\"insertOrUpdate\":{\"table\":\"F\",\"columns\":[\"K\",\"V\"],"
                           "\"values\":[[10.5,\"t1\"]]}}";
    const char *ranges[] = {"{\"startClosed\":[\"NaN\"],\"endClosed\":[0]}",
                            "{\"startClosed\":[\"-Infinity\"],\"endClosed\":[0]}"};
    const int expected[] = {409, 200};
    for (int i = 0; i < 2; i++) {
        commit_now(f, "{\"delete\":{\"table\":\"F\",\"keySet\":{\"all\":true}}}");
        char *t1 = begin(f, f->a, "readWrite");
        snprintf(body, sizeof(body),
                 "{\"transaction\":{\"id\":\"%s\"},\"table\":\"F\",\"columns\":[\"K\"],"
                 "\"keySet\":{\"ranges\":[%s]}}",
                 t1, ranges[i]);
        assert_int_equal(data_call(f, f->a, "read", body, NULL), 200);
        commit_now(f, nan_row);
        assert_int_equal(commit_txn(f, f->a, t1, t1_write, message, sizeof(message)), expected[i]);
        free(t1);
    }
}

static void test_blind_writes_both_commit(void **state)
{
    struct fixture *f = *state;
    char m[256], v[64], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    assert_int_equal(commit_txn(f, f->b, t2, set_v(m, sizeof(m), 1, "t2"), message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 1, "t1"), message, 512), 200);
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "t1"); /* the last commit wins */
    free(t1);
    free(t2);
}

/* A query of T in transaction id that scans it: its HTTP status. */
static int count_a(struct fixture *f, const char *id)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"SELECT COUNT(*) FROM T WHERE V = 'a'\"}",
             id);
    return data_call(f, f->a, "executeSql", body, NULL);
}

static void test_sql_scan_reads_the_whole_table(void **state)
{
    struct fixture *f = *state;
    char m[256], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(count_a(f, t1), 200);
    commit_now(f, set_v(m, sizeof(m), 5, "a")); /* another row, which the scan counts now */
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 9, "t1"), message, 512), 409);
    free(t1);
    /* a write to another table does not touch it */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(count_a(f, t1), 200);
    commit_now(f, "{\"insert\":{\"table\":\"C\",\"columns\":[\"K\",\"C\"],\"values\":"
                  "[[\"1\",\"1\"]]}}");
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 9, "t1"), message, 512), 200);
    free(t1);
}

/* A read of C's row (1, 1) in transaction id: its HTTP status. */
static int read_child_1_1(struct fixture *f, const char *id)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"table\":\"C\",\"columns\":[\"C\"],"
             "\"keySet\":{\"keys\":[[\"1\",\"1\"]]}}",
             id);
    return data_call(f, f->a, "read", body, NULL);
}

static void test_cascaded_deletes_are_writes(void **state)
{
    struct fixture *f = *state;
    char message[512];
    seed_rows(f);
    commit_now(f, "{\"insert\":{\"table\":\"C\",\"columns\":[\"K\",\"C\"],\"values\":"
                  "[[\"1\",\"1\"],[\"2\",\"1\"]]}}");
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(read_child_1_1(f, t1), 200);
    /* deleting parent 2 removes child (2,1), which t1 did not read */
    commit_now(f, "{\"delete\":{\"table\":\"T\",\"keySet\":{\"keys\":[[\"2\"]]}}}");
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    free(t1);
    /* deleting parent 1 removes child (1,1), which it did */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(read_child_1_1(f, t1), 200);
    commit_now(f, "{\"delete\":{\"table\":\"T\",\"keySet\":{\"keys\":[[\"1\"]]}}}");
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    free(t1);
}

static void test_pruned_log_falls_back_to_tables(void **state)
{
    struct fixture *f = *state;
    struct sp_ctx *ctx = f->svc->ctx;
    struct em_status st = {0};
    char m[256], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    commit_now(f, set_v(m, sizeof(m), 2, "other row"));
    struct sp_db *db = sp_data_find(ctx->data, DB_NAME, &st);
    assert_non_null(db);
    sp_db_prune_writes(db, sp_db_commit_seq(db)); /* the rows of that commit are forgotten */
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    free(t1);

    /* the tick prunes only below the oldest live transaction */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    commit_now(f, set_v(m, sizeof(m), 2, "again"));
    assert_int_equal(em_service_tick(f->svc, &st), EM_OK);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    free(t1);
}

/* Moves the emulator's clock by seconds. */
static void advance(struct fixture *f, int seconds)
{
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->svc->store, seconds * 1000000000LL, &offset, &st), EM_OK);
}

/* A read-only transaction reads at its timestamp from the row versions; past the versions
 * a table keeps (here 3), the tick forgets the oldest and a read that needs them is
 * FAILED_PRECONDITION, while a newer read-only transaction reads. */
static void test_versions_are_capped(void **state)
{
    struct fixture *f = *state;
    struct sp_ctx *ctx = f->svc->ctx;
    struct em_status st = {0};
    char m[256], v[64];
    seed_rows(f);
    sp_data_set_versions_max(ctx->data, 3);
    char *old = begin(f, f->a, "readOnly");
    char then[EM_TIME_TEXT_MAX];
    em_time_format(em_clock_now(), then); /* just after the transaction's timestamp */
    for (int i = 0; i < 6; i++)
        commit_now(f, set_v(m, sizeof(m), 2, i % 2 ? "x" : "y"));
    value_of(f, 2, v, sizeof(v));
    assert_string_equal(v, "x");
    cJSON *reply;
    char body[256];
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"SELECT V FROM T WHERE K = 2\"}", old);
    assert_int_equal(data_call(f, f->a, "executeSql", body, &reply), 200);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "rows"), 0), 0)
            ->valuestring,
        "b"); /* the value when it began */
    cJSON_Delete(reply);
    advance(f, 61);
    assert_int_equal(em_service_tick(f->svc, &st), EM_OK);
    assert_int_equal(data_call(f, f->a, "executeSql", body, &reply), 400);
    char *text = cJSON_PrintUnformatted(reply);
    assert_non_null(strstr(text, "were forgotten"));
    free(text);
    cJSON_Delete(reply);
    assert_int_equal(read_t(f, f->a, old, "{\"all\":true}"), 400);
    char *young = begin(f, f->a, "readOnly");
    commit_now(f, set_v(m, sizeof(m), 2, "z"));
    assert_int_equal(read_t(f, f->a, young, "{\"all\":true}"), 200);
    free(old);
    free(young);

    /* the floor is kept in the file: after a restart, that time is still refused */
    em_service_close(f->svc);
    assert_int_equal(em_service_open(&spanner_service, &f->cfg, &f->svc, &st), EM_OK);
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"singleUse\":{\"readOnly\":{\"readTimestamp\":\"%s\"}}},"
             "\"sql\":\"SELECT V FROM T WHERE K = 2\"}",
             then);
    assert_int_equal(data_call(f, f->a, "executeSql", body, NULL), 400);
}

static void test_idle_read_write_transaction_aborts(void **state)
{
    struct fixture *f = *state;
    char m[256], message[512];
    seed_rows(f);
    /* used every 9 s, it lives */
    char *t1 = begin(f, f->a, "readWrite");
    advance(f, 9);
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    advance(f, 9);
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 1, "t1"), message, 512), 200);
    free(t1);

    /* idle for 10 s: aborted, found by its next use */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 200);
    advance(f, 10);
    assert_int_equal(read_t(f, f->a, t1, "{\"keys\":[[\"1\"]]}"), 409);
    assert_int_equal(commit_txn(f, f->a, t1, set_v(m, sizeof(m), 1, "late"), message, 512), 409);
    assert_string_equal(message, "Transaction was aborted. Idle for over 10 seconds.");
    free(t1);

    /* or by the tick; a rollback of it succeeds; a read-only transaction is not aborted */
    t1 = begin(f, f->a, "readWrite");
    char *ro = begin(f, f->b, "readOnly");
    advance(f, 11);
    struct em_status st = {0};
    assert_int_equal(em_service_tick(f->svc, &st), EM_OK);
    assert_int_equal(read_t(f, f->b, ro, "{\"keys\":[[\"1\"]]}"), 200);
    char body[256];
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", t1);
    assert_int_equal(data_call(f, f->a, "rollback", body, NULL), 200);
    assert_int_equal(data_call(f, f->a, "rollback", body, NULL), 404); /* over */
    free(t1);
    free(ro);
    value_of(f, 1, message, sizeof(message));
    assert_string_equal(message, "t1");
}

/* executeSql of sql in transaction id of session, with params and paramTypes (JSON objects,
 * or NULL): its HTTP status. */
static int sql_in(struct fixture *f, const char *session, const char *id, const char *sql,
                  const char *params, const char *types)
{
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"%s\",\"params\":%s,"
             "\"paramTypes\":%s,\"seqno\":\"1\"}",
             id, sql, params ? params : "{}", types ? types : "{}");
    return data_call(f, session, "executeSql", body, NULL);
}

#define SELECT_BY_K "SELECT V FROM T WHERE K = @k"
#define UPDATE_BY_K "UPDATE T SET V = @v WHERE K = @k"
#define K_TYPE      "{\"k\":{\"code\":\"INT64\"}}"

/* In transaction id: SELECT ... WHERE K = @k, then UPDATE ... WHERE K = @k (v untyped). */
static void select_and_update(struct fixture *f, const char *session, const char *id, int k,
                              const char *v)
{
    char params[128];
    snprintf(params, sizeof(params), "{\"k\":\"%d\"}", k);
    assert_int_equal(sql_in(f, session, id, SELECT_BY_K, params, K_TYPE), 200);
    snprintf(params, sizeof(params), "{\"k\":\"%d\",\"v\":\"%s\"}", k, v);
    assert_int_equal(sql_in(f, session, id, UPDATE_BY_K, params, K_TYPE), 200);
}

static void test_sql_by_key_on_different_rows_both_commit(void **state)
{
    struct fixture *f = *state;
    char v[64], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    select_and_update(f, f->a, t1, 1, "t1");
    select_and_update(f, f->b, t2, 2, "t2");
    assert_int_equal(commit_txn(f, f->b, t2, "", message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "t1");
    value_of(f, 2, v, sizeof(v));
    assert_string_equal(v, "t2");
    free(t1);
    free(t2);

    /* INSERTs are blind: of different rows (and of rows the other read nothing of) */
    t1 = begin(f, f->a, "readWrite");
    t2 = begin(f, f->b, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, "INSERT INTO T (K, V) VALUES (10, 'x')", NULL, NULL), 200);
    assert_int_equal(
        sql_in(f, f->b, t2, "INSERT INTO T (K, V) VALUES (@k, 'y')", "{\"k\":\"11\"}", K_TYPE),
        200);
    assert_int_equal(commit_txn(f, f->b, t2, "", message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    value_of(f, 10, v, sizeof(v));
    assert_string_equal(v, "x");
    value_of(f, 11, v, sizeof(v));
    assert_string_equal(v, "y");
    free(t1);
    free(t2);

    /* of one row: the second commit's replay finds it there, and aborts (a retry would
     * see ALREADY_EXISTS from the INSERT itself) */
    t1 = begin(f, f->a, "readWrite");
    t2 = begin(f, f->b, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, "INSERT INTO T (K, V) VALUES (12, 'x')", NULL, NULL), 200);
    assert_int_equal(sql_in(f, f->b, t2, "INSERT INTO T (K, V) VALUES (12, 'y')", NULL, NULL), 200);
    assert_int_equal(commit_txn(f, f->b, t2, "", message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    assert_string_equal(message, "Transaction was aborted.");
    value_of(f, 12, v, sizeof(v));
    assert_string_equal(v, "y");
    free(t1);
    free(t2);
}

static void test_sql_by_key_on_one_row_aborts(void **state)
{
    struct fixture *f = *state;
    char m[256], v[64], message[512];
    seed_rows(f);
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    select_and_update(f, f->a, t1, 1, "t1");
    select_and_update(f, f->b, t2, 1, "t2");
    assert_int_equal(commit_txn(f, f->b, t2, "", message, 512), 200);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    assert_string_equal(message, "Transaction was aborted. It read rows of table T that a "
                                 "concurrent transaction changed.");
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "t2");
    free(t1);
    free(t2);

    /* the DML alone reads its row: a literal key, another's write to it */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, "DELETE FROM T WHERE K = 5", NULL, NULL), 200);
    commit_now(f, set_v(m, sizeof(m), 5, "again"));
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    free(t1);
}

/* Inserts P's rows (a, 1), (a, 2), (b, 1), or one more (a, 3) / (c, 1). */
static void p_row(struct fixture *f, const char *a, int b)
{
    char m[256];
    snprintf(m, sizeof(m),
             "{\"insertOrUpdate\":{\"table\":\"P\",\"columns\":[\"A\",\"B\",\"V\"],"
             "\"values\":[[\"%s\",\"%d\",\"v\"]]}}",
             a, b);
    commit_now(f, m);
}

static void test_sql_composite_key_and_prefix(void **state)
{
    struct fixture *f = *state;
    char message[512];
    p_row(f, "a", 1);
    p_row(f, "a", 2);
    p_row(f, "b", 1);
    const char *prefix = "SELECT B, V FROM P WHERE A = 'a' AND V IS NOT NULL";
    /* a prefix of the key: a row under another prefix does not conflict... */
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, prefix, NULL, NULL), 200);
    p_row(f, "b", 1);
    p_row(f, "c", 1);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    free(t1);
    /* ...a new row under it does (a phantom) */
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, prefix, NULL, NULL), 200);
    p_row(f, "a", 3);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    free(t1);
    /* the whole key, written in any order, qualified by the alias */
    const char *whole = "SELECT V FROM P AS p WHERE p.B = @b AND @a = A";
    const char *params = "{\"a\":\"a\",\"b\":\"2\"}";
    const char *types = "{\"a\":{\"code\":\"STRING\"},\"b\":{\"code\":\"INT64\"}}";
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, whole, params, types), 200);
    p_row(f, "a", 1);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 200);
    free(t1);
    t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, whole, params, types), 200);
    p_row(f, "a", 2);
    assert_int_equal(commit_txn(f, f->a, t1, "", message, 512), 409);
    free(t1);
}

/* A query of T's keys 1 and 5 (sql), then a write of row k by another: the commit's status. */
static int read_1_and_5_then_write(struct fixture *f, const char *sql, const char *params,
                                   const char *types, int k)
{
    char m[256], message[512];
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, sql, params, types), 200);
    commit_now(f, set_v(m, sizeof(m), k, "other"));
    int status = commit_txn(f, f->a, t1, "", message, 512);
    free(t1);
    return status;
}

static void test_sql_in_lists_and_unnest(void **state)
{
    struct fixture *f = *state;
    seed_rows(f);
    const char *unnest = "SELECT V FROM T WHERE K IN UNNEST(@ks)";
    const char *ks = "{\"ks\":[\"1\",\"5\"]}";
    const char *ks_type = "{\"ks\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":"
                          "\"INT64\"}}}";
    assert_int_equal(read_1_and_5_then_write(f, unnest, ks, ks_type, 2), 200);
    assert_int_equal(read_1_and_5_then_write(f, unnest, ks, ks_type, 5), 409);
    const char *list = "SELECT V FROM T WHERE K IN (1, @k)";
    const char *k5 = "{\"k\":\"5\"}";
    assert_int_equal(read_1_and_5_then_write(f, list, k5, K_TYPE, 2), 200);
    assert_int_equal(read_1_and_5_then_write(f, list, k5, K_TYPE, 1), 409);
    const char *array = "SELECT V FROM T WHERE K IN UNNEST([1, 5]) AND V != 'z'";
    assert_int_equal(read_1_and_5_then_write(f, array, NULL, NULL, 2), 200);
    assert_int_equal(read_1_and_5_then_write(f, array, NULL, NULL, 5), 409);
}

static void test_sql_not_pinned_by_key_reads_the_table(void **state)
{
    struct fixture *f = *state;
    seed_rows(f);
    static const char *const whole[] = {
        "SELECT V FROM T WHERE K = 1 OR K = 5",
        "SELECT V FROM T WHERE K >= 1 AND K <= 1",
        "SELECT T.V FROM T JOIN C ON C.K = T.K WHERE T.K = 1",
        "SELECT V FROM T WHERE ABS(K) = 1",
        "SELECT V FROM T WHERE K = (SELECT 1)",
        "SELECT V FROM T WHERE K = 1 AND EXISTS (SELECT 1 FROM T AS u WHERE u.K = 2)",
        "SELECT V FROM T WHERE K NOT IN (2, 3)",
        "SELECT V FROM T WHERE K = 1 UNION ALL SELECT V FROM T WHERE K = 5",
        "WITH w AS (SELECT * FROM T) SELECT V FROM w WHERE K = 1",
        "UPDATE T SET V = 'u' WHERE K = 1 OR K = 5",
    };
    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
        assert_int_equal(read_1_and_5_then_write(f, whole[i], NULL, NULL, 2), 409);
    /* a parameter of another type than the key's */
    assert_int_equal(read_1_and_5_then_write(f, "SELECT V FROM T WHERE K = @k", "{\"k\":1.0}",
                                             "{\"k\":{\"code\":\"FLOAT64\"}}", 2),
                     409);
}

/* A child row C (k, c), as a mutation. */
static const char *child(char *out, size_t size, int k, int c)
{
    snprintf(out, size,
             "{\"insert\":{\"table\":\"C\",\"columns\":[\"K\",\"C\"],\"values\":"
             "[[\"%d\",\"%d\"]]}}",
             k, c);
    return out;
}

/* In transaction t1: sql; then another commits mutation; then t1 commits: its status. */
static int sql_then_other_commit(struct fixture *f, const char *sql, const char *params,
                                 const char *mutation)
{
    char message[512];
    char *t1 = begin(f, f->a, "readWrite");
    assert_int_equal(sql_in(f, f->a, t1, sql, params, params ? K_TYPE : NULL), 200);
    commit_now(f, mutation);
    int status = commit_txn(f, f->a, t1, "", message, sizeof(message));
    free(t1);
    return status;
}

static void test_sql_interleaved_tables_by_key(void **state)
{
    struct fixture *f = *state;
    char m[256];
    seed_rows(f);
    /* an INSERT into the child reads its parent row only (it checks it exists) */
    assert_int_equal(sql_then_other_commit(f, "INSERT INTO C (K, C) VALUES (1, 7)", NULL,
                                           set_v(m, sizeof(m), 2, "x")),
                     200);
    assert_int_equal(sql_then_other_commit(f, "INSERT INTO C (C, K) VALUES (8, @k)",
                                           "{\"k\":\"1\"}", set_v(m, sizeof(m), 1, "x")),
                     409);
    assert_int_equal(sql_then_other_commit(f, "INSERT INTO C (K, C) VALUES (1, 9), (5, 9)", NULL,
                                           set_v(m, sizeof(m), 5, "y")),
                     409);
    /* a DELETE of parents by key reads their children's key prefixes only */
    assert_int_equal(
        sql_then_other_commit(f, "DELETE FROM T WHERE K = 5", NULL, child(m, sizeof(m), 2, 1)),
        200);
    assert_int_equal(sql_then_other_commit(f, "DELETE FROM T WHERE K = @k", "{\"k\":\"1\"}",
                                           child(m, sizeof(m), 1, 10)),
                     409);
    char v[64];
    value_of(f, 1, v, sizeof(v));
    assert_string_equal(v, "x"); /* the aborted delete changed nothing */
    /* not pinned: the children are read whole */
    assert_int_equal(sql_then_other_commit(f, "DELETE FROM T WHERE V = 'nothing'", NULL,
                                           child(m, sizeof(m), 2, 2)),
                     409);
}

static void test_sql_insert_select_by_key(void **state)
{
    struct fixture *f = *state;
    char m[256];
    seed_rows(f);
    /* blind on its own table, its source read by key */
    assert_int_equal(
        sql_then_other_commit(f, "INSERT INTO F (K, V) SELECT K + 0.5, V FROM T WHERE K = 1", NULL,
                              set_v(m, sizeof(m), 2, "x")),
        200);
    assert_int_equal(sql_then_other_commit(
                         f,
                         "INSERT INTO F (K, V) SELECT t.K + 0.75, t.V FROM T AS t WHERE t.K = @k",
                         "{\"k\":\"1\"}", set_v(m, sizeof(m), 1, "x")),
                     409);
    /* the source not pinned by key, or the target itself: read whole */
    assert_int_equal(
        sql_then_other_commit(f, "INSERT INTO F (K, V) SELECT K + 0.25, V FROM T WHERE V = 'b'",
                              NULL, set_v(m, sizeof(m), 5, "y")),
        409);
    assert_int_equal(
        sql_then_other_commit(f, "INSERT INTO T (K, V) SELECT K + 100, V FROM T WHERE K = 1", NULL,
                              set_v(m, sizeof(m), 2, "z")),
        409);
}

/* executeSql of sql in transaction id (NULL: a single-use read): its rows as JSON text
 * (caller frees). */
static char *rows_of(struct fixture *f, const char *id, const char *sql)
{
    char body[1024];
    if (id)
        snprintf(body, sizeof(body),
                 "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"%s\",\"seqno\":\"1\"}", id, sql);
    else
        snprintf(body, sizeof(body), "{\"sql\":\"%s\"}", sql);
    cJSON *reply;
    assert_int_equal(data_call(f, f->a, "executeSql", body, &reply), 200);
    char *rows = cJSON_PrintUnformatted(cJSON_GetObjectItem(reply, "rows"));
    cJSON_Delete(reply);
    return rows;
}

/* A read-write transaction's DML runs again at its later statements and at the commit:
 * GENERATE_UUID() and CURRENT_TIMESTAMP() must give what its first run returned. */
static void test_dml_values_survive_its_replays(void **state)
{
    struct fixture *f = *state;
    char message[512];
    char *t1 = begin(f, f->a, "readWrite");
    char *returned =
        rows_of(f, t1,
                "INSERT INTO T (K, V) VALUES (1, GENERATE_UUID()), (2, GENERATE_UUID()) "
                "THEN RETURN V");
    char *stamped = rows_of(f, t1,
                            "UPDATE T SET V = CONCAT(V, '@', CAST(CURRENT_TIMESTAMP() AS STRING)) "
                            "WHERE K = 2 THEN RETURN V");
    char *seen = rows_of(f, t1, "SELECT V FROM T WHERE K = 1");
    assert_int_equal(commit_txn(f, f->a, t1, "", message, sizeof(message)), 200);
    free(t1);
    char *committed = rows_of(f, NULL, "SELECT V FROM T ORDER BY K");

    cJSON *r = cJSON_Parse(returned), *s = cJSON_Parse(stamped), *c = cJSON_Parse(committed);
    const char *uuid1 = cJSON_GetArrayItem(cJSON_GetArrayItem(r, 0), 0)->valuestring;
    const char *uuid2 = cJSON_GetArrayItem(cJSON_GetArrayItem(r, 1), 0)->valuestring;
    assert_int_equal(strlen(uuid1), 36);
    assert_string_not_equal(uuid1, uuid2);
    char want_seen[64];
    snprintf(want_seen, sizeof(want_seen), "[[\"%s\"]]", uuid1);
    assert_string_equal(seen, want_seen); /* the same UUID at the next statement */
    const char *row2 = cJSON_GetArrayItem(cJSON_GetArrayItem(s, 0), 0)->valuestring;
    assert_int_equal(strncmp(row2, uuid2, 36), 0);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(c, 0), 0)->valuestring, uuid1);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(c, 1), 0)->valuestring, row2);
    cJSON_Delete(r);
    cJSON_Delete(s);
    cJSON_Delete(c);
    free(returned);
    free(stamped);
    free(seen);
    free(committed);

    /* another transaction's UUIDs are others */
    char *t2 = begin(f, f->a, "readWrite");
    char *other = rows_of(f, t2, "INSERT INTO T (K, V) VALUES (3, GENERATE_UUID()) THEN RETURN V");
    assert_int_equal(commit_txn(f, f->a, t2, "", message, sizeof(message)), 200);
    free(t2);
    char *all = rows_of(f, NULL, "SELECT COUNT(DISTINCT V) FROM T");
    assert_string_equal(all, "[[\"3\"]]");
    free(other);
    free(all);
}

/* executeSql in session's transaction id: its HTTP status, and its rows (caller frees). */
static int rows_in(struct fixture *f, const char *session, const char *id, const char *sql,
                   char **rows)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"%s\",\"seqno\":\"1\"}",
             id, sql);
    cJSON *reply;
    int status = data_call(f, session, "executeSql", body, &reply);
    *rows = cJSON_PrintUnformatted(cJSON_GetObjectItem(reply, "rows"));
    cJSON_Delete(reply);
    return status;
}

/* A sequence's values, drawn by DML or by a column DEFAULT in a read-write transaction,
 * are what its later statements and its commit see, and no other draw returns them. */
static void test_sequence_values_survive_replays_and_are_unique(void **state)
{
    struct fixture *f = *state;
    char message[512], *r1, *r2, *seen, *rolled, *all;
    char *t1 = begin(f, f->a, "readWrite"), *t2 = begin(f, f->b, "readWrite");
    assert_int_equal(
        rows_in(f, f->a, t1, "INSERT INTO S (V) VALUES ('a'), ('b') THEN RETURN Id", &r1), 200);
    /* counters 1 and 2, bit-reversed */
    assert_string_equal(r1, "[[\"4611686018427387904\"],[\"2305843009213693952\"]]");
    assert_int_equal(rows_in(f, f->b, t2,
                             "INSERT INTO S (Id, V) VALUES (GET_NEXT_SEQUENCE_VALUE(SEQUENCE Q), "
                             "'c') THEN RETURN Id",
                             &r2),
                     200);
    assert_string_equal(r2, "[[\"6917529027641081856\"]]"); /* counter 3 */
    assert_int_equal(commit_txn(f, f->b, t2, "", message, sizeof(message)), 200);
    assert_int_equal(rows_in(f, f->a, t1, "SELECT Id FROM S WHERE Id = 4611686018427387904", &seen),
                     200);
    assert_string_equal(seen, "[[\"4611686018427387904\"]]"); /* replayed, not drawn again */
    assert_int_equal(commit_txn(f, f->a, t1, "", message, sizeof(message)), 200);

    /* a rolled-back draw is not given again */
    char *t3 = begin(f, f->a, "readWrite");
    assert_int_equal(rows_in(f, f->a, t3, "INSERT INTO S (V) VALUES ('x') THEN RETURN Id", &rolled),
                     200);
    assert_string_equal(rolled, "[[\"1152921504606846976\"]]"); /* counter 4 */
    char body[256];
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", t3);
    assert_int_equal(data_call(f, f->a, "rollback", body, NULL), 200);
    commit_now(f, "{\"insert\":{\"table\":\"S\",\"columns\":[\"V\"],\"values\":[[\"m\"]]}}");
    all = rows_of(f, NULL, "SELECT Id, V FROM S ORDER BY V");
    assert_string_equal(all, "[[\"4611686018427387904\",\"a\"],[\"2305843009213693952\",\"b\"],"
                             "[\"6917529027641081856\",\"c\"],[\"5764607523034234880\",\"m\"]]");
    free(all);
    all = rows_of(f, NULL, "SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE Q)");
    assert_string_equal(all, "[[\"6\"]]");

    /* only read-write and partitioned DML transactions draw */
    cJSON *reply;
    assert_int_equal(data_call(f, f->a, "executeSql",
                               "{\"sql\":\"SELECT GET_NEXT_SEQUENCE_VALUE(SEQUENCE Q)\"}", &reply),
                     400);
    cJSON_Delete(reply);
    free(all);
    free(t1);
    free(t2);
    free(t3);
    free(r1);
    free(r2);
    free(seen);
    free(rolled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_disjoint_keys_both_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_key_read_then_written_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_read_and_a_later_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_keys_in_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blind_writes_both_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_scan_reads_the_whole_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cascaded_deletes_are_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pruned_log_falls_back_to_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_read_write_transaction_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_by_key_on_different_rows_both_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sql_by_key_on_one_row_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_composite_key_and_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_in_lists_and_unnest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_not_pinned_by_key_reads_the_table, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sql_interleaved_tables_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_insert_select_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dml_values_survive_its_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_values_survive_replays_and_are_unique, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
