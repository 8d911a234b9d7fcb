/*
 * test_spanner_data: Spanner's data plane below REST and through it.
 *
 * - spanner_txn: the commit's validation (a read written by a later commit is a conflict;
 *   an older write or another table is not), the life of a transaction id (another
 *   session's, finished, URL-safe spelling). Conflicts per key: test_spanner_txn.c.
 * - spanner_keyset: KeySets over a two-part key with a DESC part, run on SQLite: keys and
 *   prefixes, closed and open bounds, all, and the errors; their key spans cover exactly
 *   the rows the condition selects.
 * - the service in process (em_dispatch, no sockets): mutations of every kind, delete by
 *   range, a read by index, DML seeing its own transaction's writes, ABORTED for the
 *   second of two conflicting read-write transactions, PENDING_COMMIT_TIMESTAMP() in DML
 *   (unreadable until the commit, then the commit's timestamp; Partitioned DML),
 *   queryMode PLAN and PROFILE (plan nodes, query statistics), and a restart keeping the
 *   rows.
 */
#include "em_call.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_json.h"
#include "em_log.h"
#include "em_service.h"
#include "spanner/spanner_exec.h"
#include "spanner/spanner_keyset.h"
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

/* --- transactions --- */

/* A fake log of commits: which table each wrote (any row), and its seq. */
struct fake_seqs {
    const char *table;
    uint64_t seq;
};

static bool fake_changed(void *arg, const char *table, const struct sp_key_span *span,
                         uint64_t since)
{
    (void)span;
    for (const struct fake_seqs *s = arg; s->table; s++)
        if (strcmp(s->table, table) == 0 && s->seq > since)
            return true;
    return false;
}

static void test_conflicts_only_for_reads_written_since_begin(void **state)
{
    (void)state;
    struct sp_txns *txns;
    struct sp_txn *t;
    struct em_status st = {0};
    assert_int_equal(sp_txns_open(&txns, &st), EM_OK);
    assert_int_equal(sp_txn_begin(txns, NULL, "s1", SP_TXN_READ_WRITE, 0, &t, &st), EM_OK);
    t->start_seq = 5;
    char *read[] = {"Singers"};
    assert_int_equal(sp_txn_add_reads(t, read, 1, &st), EM_OK);
    assert_int_equal(sp_txn_add_reads(t, read, 1, &st), EM_OK); /* once */
    assert_int_equal(t->nreads, 1);
    assert_string_equal(t->reads[0], "singers");

    struct fake_seqs older[] = {{"singers", 5}, {"albums", 9}, {NULL, 0}};
    assert_null(sp_txn_conflict(t, fake_changed, older)); /* before it began / not read */
    struct fake_seqs later[] = {{"singers", 6}, {NULL, 0}};
    assert_string_equal(sp_txn_conflict(t, fake_changed, later), "singers");

    struct sp_txn *blind;
    assert_int_equal(sp_txn_begin(txns, NULL, "s1", SP_TXN_READ_WRITE, 0, &blind, &st), EM_OK);
    assert_null(sp_txn_conflict(blind, fake_changed, later)); /* read nothing */
    sp_txn_release(txns, blind);
    sp_txn_release(txns, t);
    sp_txns_close(txns);
}

static void test_transaction_ids(void **state)
{
    (void)state;
    struct sp_txns *txns;
    struct sp_txn *t, *found;
    struct em_status st = {0};
    assert_int_equal(sp_txns_open(&txns, &st), EM_OK);
    assert_int_equal(sp_txn_begin(txns, NULL, "s1", SP_TXN_READ_WRITE, 0, &t, &st), EM_OK);
    char id[SP_TXN_ID_MAX], urlsafe[SP_TXN_ID_MAX];
    snprintf(id, sizeof(id), "%s", t->id);
    sp_txn_release(txns, t);

    /* gcloud writes bytes URL-safe and without padding */
    snprintf(urlsafe, sizeof(urlsafe), "%s", id);
    for (char *p = urlsafe; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p == '=' ? '\0' : *p;
    assert_int_equal(sp_txn_find(txns, urlsafe, "s1", 1, SP_TXN_USE, &found, NULL, &st), EM_OK);
    assert_string_equal(found->id, id);
    sp_txn_release(txns, found);

    assert_int_equal(sp_txn_find(txns, id, "s2", 1, SP_TXN_USE, &found, NULL, &st), EM_NOT_FOUND);
    assert_null(found);
    em_status_clear(&st);
    assert_int_equal(sp_txn_find(txns, id, "s1", 1, SP_TXN_USE, &found, NULL, &st), EM_OK);
    sp_txn_finish(txns, found);
    sp_txn_release(txns, found);
    assert_int_equal(sp_txn_find(txns, id, "s1", 1, SP_TXN_USE, &found, NULL, &st), EM_NOT_FOUND);
    assert_non_null(strstr(st.message, "Transaction not found"));

    /* a session's transactions go with it; idle ones expire */
    em_status_clear(&st);
    assert_int_equal(sp_txn_begin(txns, NULL, "s3", SP_TXN_READ_ONLY, 0, &t, &st), EM_OK);
    snprintf(id, sizeof(id), "%s", t->id);
    sp_txn_release(txns, t);
    sp_txns_forget(txns, "s3");
    assert_int_equal(sp_txn_find(txns, id, "s3", 1, SP_TXN_USE, &found, NULL, &st), EM_NOT_FOUND);
    em_status_clear(&st);
    assert_int_equal(sp_txn_begin(txns, NULL, "s4", SP_TXN_READ_ONLY, 0, &t, &st), EM_OK);
    snprintf(id, sizeof(id), "%s", t->id);
    sp_txn_release(txns, t);
    sp_txns_expire(txns, SP_TXN_IDLE_NS - 1);
    assert_int_equal(sp_txn_find(txns, id, "s4", 1, SP_TXN_USE, &found, NULL, &st), EM_OK);
    sp_txn_release(txns, found);
    sp_txns_expire(txns, 1 + SP_TXN_IDLE_NS);
    assert_int_equal(sp_txn_find(txns, id, "s4", 1, SP_TXN_USE, &found, NULL, &st), EM_NOT_FOUND);
    sp_txns_close(txns);
}

/* A new read-write transaction of session s1; its id in id. */
static void begin_rw(struct sp_txns *txns, char id[SP_TXN_ID_MAX])
{
    struct sp_txn *t;
    struct em_status st = {0};
    assert_int_equal(sp_txn_begin(txns, NULL, "s1", SP_TXN_READ_WRITE, 0, &t, &st), EM_OK);
    snprintf(id, SP_TXN_ID_MAX, "%s", t->id);
    sp_txn_release(txns, t);
}

/* What a call that uses so the transaction id answers: its code (*ended when OK). */
static enum em_code use_ended(struct sp_txns *txns, const char *id, enum sp_txn_use use,
                              struct sp_txn_ending *ended, char *message)
{
    struct sp_txn *found;
    struct em_status st = {0};
    enum em_code code = sp_txn_find(txns, id, "s1", 1, use, &found, ended, &st);
    assert_null(found);
    snprintf(message, EM_STATUS_MESSAGE_MAX, "%s", st.message);
    return code;
}

/* Ended transactions answer as Spanner does; a write error invalidates a live one. */
static void test_ended_transactions(void **state)
{
    (void)state;
    struct sp_txns *txns;
    struct sp_txn *t;
    struct em_status st = {0};
    struct sp_txn_ending ended = {0};
    char message[EM_STATUS_MESSAGE_MAX], committed[SP_TXN_ID_MAX], failed[SP_TXN_ID_MAX];
    assert_int_equal(sp_txns_open(&txns, &st), EM_OK);

    begin_rw(txns, committed);
    assert_int_equal(sp_txn_find(txns, committed, "s1", 1, SP_TXN_USE_COMMIT, &t, &ended, &st),
                     EM_OK);
    sp_txn_end(txns, t, &(struct sp_txn_ending){SP_TXN_COMMITTED, 42, 3}, NULL);
    sp_txn_release(txns, t);
    /* a commit again: the same commit */
    assert_int_equal(use_ended(txns, committed, SP_TXN_USE_COMMIT, &ended, message), EM_OK);
    assert_int_equal(ended.end, SP_TXN_COMMITTED);
    assert_int_equal(ended.commit_ns, 42);
    assert_int_equal(ended.mutation_count, 3);
    assert_int_equal(use_ended(txns, committed, SP_TXN_USE_ROLLBACK, &ended, message),
                     EM_FAILED_PRECONDITION);
    assert_string_equal(message, "Cannot rollback a transaction after it has been committed.");
    assert_int_equal(use_ended(txns, committed, SP_TXN_USE, NULL, message), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(message, "after it has been committed or rolledback"));

    /* invalidated by a write error: every use but a rollback answers it */
    begin_rw(txns, failed);
    assert_int_equal(sp_txn_find(txns, failed, "s1", 1, SP_TXN_USE, &t, NULL, &st), EM_OK);
    struct em_status why = {0};
    EM_FAIL(&why, EM_ALREADY_EXISTS, "Row [1] in table T already exists");
    sp_txn_invalidate(t, &why);
    sp_txn_release(txns, t);
    assert_int_equal(sp_txn_find(txns, failed, "s1", 1, SP_TXN_USE, &t, NULL, &st),
                     EM_ALREADY_EXISTS);
    assert_string_equal(st.message, "Row [1] in table T already exists");
    sp_txn_release(txns, t);
    em_status_clear(&st);
    /* its commit fails so, and ends it: a commit again fails again, a rollback succeeds */
    assert_int_equal(sp_txn_find(txns, failed, "s1", 1, SP_TXN_USE_COMMIT, &t, &ended, &st),
                     EM_ALREADY_EXISTS);
    sp_txn_end(txns, t, &(struct sp_txn_ending){SP_TXN_FAILED, 0, 0}, &st);
    sp_txn_release(txns, t);
    em_status_clear(&st);
    assert_int_equal(use_ended(txns, failed, SP_TXN_USE_COMMIT, &ended, message),
                     EM_ALREADY_EXISTS);
    assert_int_equal(use_ended(txns, failed, SP_TXN_USE_ROLLBACK, &ended, message), EM_OK);
    assert_int_equal(use_ended(txns, failed, SP_TXN_USE, NULL, message), EM_FAILED_PRECONDITION);

    /* rolled back: a rollback again succeeds, a commit is refused */
    char rolled[SP_TXN_ID_MAX];
    begin_rw(txns, rolled);
    assert_int_equal(sp_txn_find(txns, rolled, "s1", 1, SP_TXN_USE_ROLLBACK, &t, &ended, &st),
                     EM_OK);
    sp_txn_end(txns, t, &(struct sp_txn_ending){SP_TXN_ROLLED_BACK, 0, 0}, NULL);
    sp_txn_release(txns, t);
    assert_int_equal(use_ended(txns, rolled, SP_TXN_USE_ROLLBACK, &ended, message), EM_OK);
    assert_int_equal(use_ended(txns, rolled, SP_TXN_USE_COMMIT, &ended, message),
                     EM_FAILED_PRECONDITION);
    assert_string_equal(message, "Cannot commit a transaction after it has been rolled back.");

    /* the last SP_TXN_ENDED_MAX are remembered; older ones are not found */
    for (int i = 0; i < SP_TXN_ENDED_MAX; i++) {
        char id[SP_TXN_ID_MAX];
        begin_rw(txns, id);
        assert_int_equal(sp_txn_find(txns, id, "s1", 1, SP_TXN_USE, &t, NULL, &st), EM_OK);
        sp_txn_end(txns, t, &(struct sp_txn_ending){SP_TXN_ROLLED_BACK, 0, 0}, NULL);
        sp_txn_release(txns, t);
    }
    assert_int_equal(use_ended(txns, committed, SP_TXN_USE_COMMIT, &ended, message), EM_NOT_FOUND);
    sp_txns_close(txns);
}

/* A transaction keeps the last SP_TXN_DML_KEPT DML outcomes by seqno: a retry of one of
 * them is answered from it, an older one is out of order. */
static void test_dml_outcomes_kept_are_bounded(void **state)
{
    (void)state;
    struct sp_txns *txns;
    struct sp_txn *t;
    struct em_status st = {0};
    const struct sp_dml_request *seen;
    assert_int_equal(sp_txns_open(&txns, &st), EM_OK);
    assert_int_equal(sp_txn_begin(txns, NULL, "s1", SP_TXN_READ_WRITE, 0, &t, &st), EM_OK);
    for (int64_t seqno = 1; seqno <= SP_TXN_DML_KEPT + 6; seqno++) {
        assert_int_equal(sp_txn_dml_check(t, seqno, 7, "sql", &seen, &st), EM_OK);
        assert_null(seen);
        sp_txn_dml_record(t, seqno, 7, cJSON_CreateNumber((double)seqno), &st);
    }
    assert_int_equal(t->nrequests, SP_TXN_DML_KEPT);
    assert_int_equal(sp_txn_dml_check(t, SP_TXN_DML_KEPT + 6, 7, "sql", &seen, &st), EM_OK);
    assert_non_null(seen);
    assert_int_equal((int)seen->reply->valuedouble, SP_TXN_DML_KEPT + 6);
    assert_int_equal(sp_txn_dml_check(t, 7, 7, "sql", &seen, &st), EM_OK); /* the oldest kept */
    assert_non_null(seen);
    assert_int_equal(sp_txn_dml_check(t, 1, 7, "sql", &seen, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "out-of-order seqno"));
    sp_txn_release(txns, t);
    sp_txns_close(txns);
}

/* --- key sets --- */

static const struct sp_key_column two_part_key[] = {
    {"A", {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0}, false},
    {"B", {SP_TYPE_STRING, SP_TYPE_UNKNOWN, SP_LEN_MAX}, true},
};

/* The rows of the fixed table below (in key order) whose key the KeySet's spans cover,
 * as keyset_rows() prints them; "error N" when the spans cannot be made. */
static void span_rows(sqlite3 *db, const cJSON *ks, char *out, size_t size)
{
    static const bool desc[] = {false, true};
    struct sp_key_spans spans;
    struct em_status st = {0};
    out[0] = '\0';
    if (sp_keyset_spans(ks, two_part_key, 2, &spans, &st)) {
        snprintf(out, size, "error %d", st.code);
        return;
    }
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT A, B FROM t ORDER BY A, B DESC", -1, &stmt, NULL),
        SQLITE_OK);
    size_t n = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *b = (const char *)sqlite3_column_text(stmt, 1);
        struct sp_stored key[2] = {{.kind = SQLITE_INTEGER, .i = sqlite3_column_int64(stmt, 0)},
                                   {.kind = SQLITE_TEXT, .data = (char *)b, .len = strlen(b)}};
        bool covered = spans.all;
        for (int i = 0; i < spans.count && !covered; i++)
            covered = sp_key_span_covers(&spans.spans[i], desc, key, 2);
        if (covered)
            n += (size_t)snprintf(out + n, size - n, "%s%lld%s", n ? "," : "", (long long)key[0].i,
                                  b);
    }
    sqlite3_finalize(stmt);
    sp_key_spans_clear(&spans);
}

/* The rows (A,B) of a fixed table the KeySet selects, in key order, as "1a,1b,..."; or
 * the error's code as "error N". The KeySet's spans (what a transaction records of a read)
 * must cover the same rows. */
static void keyset_rows(const char *key_set_json, char *out, size_t size)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t (A INTEGER, B TEXT, PRIMARY KEY (A, B DESC));"
                                  "INSERT INTO t VALUES (1,'a'),(1,'b'),(1,'c'),(2,'a'),(2,'b'),"
                                  "(3,'z')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    cJSON *ks = cJSON_Parse(key_set_json);
    struct sp_buf sql = {0};
    struct sp_binds binds = {0};
    struct em_status st = {0};
    sp_buf_puts(&sql, "SELECT A, B FROM t WHERE ");
    out[0] = '\0';
    if (sp_keyset_where(ks, two_part_key, 2, 2, &sql, &binds, &st)) {
        snprintf(out, size, "error %d", st.code);
    } else {
        sp_buf_puts(&sql, " ORDER BY ");
        sp_keyset_order(two_part_key, 2, &sql);
        sqlite3_stmt *stmt;
        assert_int_equal(sqlite3_prepare_v2(db, sql.data, -1, &stmt, NULL), SQLITE_OK);
        assert_int_equal(sp_binds_apply(&binds, stmt), SQLITE_OK);
        size_t n = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW)
            n += (size_t)snprintf(out + n, size - n, "%s%lld%s", n ? "," : "",
                                  (long long)sqlite3_column_int64(stmt, 0),
                                  (const char *)sqlite3_column_text(stmt, 1));
        sqlite3_finalize(stmt);
    }
    char by_spans[256];
    span_rows(db, ks, by_spans, sizeof(by_spans));
    if (strcmp(out, by_spans) != 0)
        fail_msg("%s: the condition selects '%s', the spans cover '%s'", key_set_json, out,
                 by_spans);
    sp_buf_free(&sql);
    sp_binds_clear(&binds);
    cJSON_Delete(ks);
    sqlite3_close(db);
}

static void test_keysets(void **state)
{
    (void)state;
    static const struct {
        const char *key_set, *rows;
    } cases[] = {
        {"{\"all\":true}", "1c,1b,1a,2b,2a,3z"}, /* B descending within A */
        {"{}", ""},
        {"{\"keys\":[[\"2\",\"a\"],[\"1\",\"b\"],[\"9\",\"x\"]]}", "1b,2a"},
        {"{\"keys\":[[\"1\"]]}", "error 9"}, /* a prefix is no key: a range is */
        {"{\"ranges\":[{\"startClosed\":[\"1\",\"b\"],\"endClosed\":[\"2\",\"b\"]}]}", "1b,1a,2b"},
        {"{\"ranges\":[{\"startOpen\":[\"1\",\"b\"],\"endOpen\":[\"2\",\"b\"]}]}", "1a"},
        {"{\"ranges\":[{\"startOpen\":[\"1\"],\"endClosed\":[\"3\"]}]}", "2b,2a,3z"},
        {"{\"ranges\":[{\"startClosed\":[],\"endOpen\":[\"2\"]}]}", "1c,1b,1a"},
        {"{\"keys\":[[\"3\",\"z\"]],\"ranges\":[{\"startClosed\":[\"1\",\"a\"],"
         "\"endClosed\":[\"1\",\"a\"]}]}",
         "1a,3z"},
        {"{\"keys\":[[\"1\",\"a\",\"extra\"]]}", "error 9"},
        {"{\"keys\":[[\"one\"]]}", "error 9"},
        {"{\"keys\":[\"1\"]}", "error 3"},
        {"{\"ranges\":[{\"startClosed\":[\"1\"]}]}", "error 3"},
        {"{\"ranges\":[{\"startClosed\":[\"1\"],\"startOpen\":[\"1\"],\"endOpen\":[\"2\"]}]}",
         "error 3"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char rows[256];
        keyset_rows(cases[i].key_set, rows, sizeof(rows));
        if (strcmp(rows, cases[i].rows) != 0)
            fail_msg("%s: expected '%s', got '%s'", cases[i].key_set, cases[i].rows, rows);
    }
}

/* --- the service in process --- */

#define DB_PATH "/v1/projects/unit-project/instances/inst/databases/db"

struct fixture {
    struct em_config cfg;
    struct em_service *svc;
    char session[512], other[512];
};

static int data_call(struct fixture *f, const char *session, const char *method, const char *body,
                     cJSON **reply)
{
    return unit_spanner_data_call(f->svc, session, method, body, reply);
}

static void new_session(struct fixture *f, char out[512])
{
    unit_spanner_new_session(f->svc, DB_PATH, out);
}

static void open_service(struct fixture *f)
{
    struct em_status st = {0};
    assert_int_equal(em_service_open(&spanner_service, &f->cfg, &f->svc, &st), EM_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_spanner_start(
                  &f->cfg, &f->svc,
                  "[\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX), N INT64) PRIMARY KEY (K)\","
                  "\"CREATE INDEX TByV ON T(V)\","
                  "\"CREATE TABLE E (K INT64 NOT NULL, Stamp TIMESTAMP OPTIONS "
                  "(allow_commit_timestamp = true)) PRIMARY KEY (K)\"]"))
        return -1;
    new_session(f, f->session);
    new_session(f, f->other);
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

/* The rows of "SELECT K, V, N FROM T ORDER BY K" as "1:a:null,2:b:5". */
static void table_rows(struct fixture *f, char *out, size_t size)
{
    cJSON *reply;
    assert_int_equal(data_call(f, f->session, "executeSql",
                               "{\"sql\":\"SELECT K, V, N FROM T ORDER BY K\"}", &reply),
                     200);
    size_t n = 0;
    out[0] = '\0';
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(reply, "rows"))
    {
        for (int i = 0; i < 3; i++) {
            const cJSON *v = cJSON_GetArrayItem(row, i);
            n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ":" : (n ? "," : ""),
                                  cJSON_IsString(v) ? v->valuestring : "null");
        }
    }
    cJSON_Delete(reply);
}

static const char *error_status(cJSON *reply)
{
    const cJSON *error = cJSON_GetObjectItem(reply, "error");
    const cJSON *status = cJSON_GetObjectItem(error, "status");
    return cJSON_IsString(status) ? status->valuestring : "";
}

static int commit(struct fixture *f, const char *mutations, cJSON **reply)
{
    char body[2048];
    snprintf(body, sizeof(body), "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[%s]}",
             mutations);
    return data_call(f, f->session, "commit", body, reply);
}

static void test_mutations(void **state)
{
    struct fixture *f = *state;
    char rows[512];
    cJSON *reply;
    assert_int_equal(
        commit(f,
               "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],\"values\":[[\"1\",\"a\"],"
               "[\"2\",\"b\"],[\"3\",\"c\"],[\"4\",\"d\"]]}}",
               NULL),
        200);
    assert_int_equal(commit(f,
                            "{\"update\":{\"table\":\"T\",\"columns\":[\"K\",\"N\"],\"values\":[["
                            "\"1\",\"10\"]]}},"
                            "{\"insertOrUpdate\":{\"table\":\"T\",\"columns\":[\"K\",\"N\"],"
                            "\"values\":[[\"2\",\"20\"],[\"5\",\"50\"]]}},"
                            "{\"replace\":{\"table\":\"T\",\"columns\":[\"K\",\"N\"],\"values\":[["
                            "\"3\",\"30\"]]}}",
                            NULL),
                     200);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:a:10,2:b:20,3:null:30,4:d:null,5:null:50");

    /* all or nothing: the second mutation fails, the first is not applied */
    assert_int_equal(commit(f,
                            "{\"delete\":{\"table\":\"T\",\"keySet\":{\"all\":true}}},"
                            "{\"update\":{\"table\":\"T\",\"columns\":[\"K\",\"N\"],\"values\":[["
                            "\"99\",\"1\"]]}}",
                            &reply),
                     404);
    cJSON_Delete(reply);
    assert_int_equal(
        commit(f, "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\"],\"values\":[[\"1\"]]}}",
               &reply),
        409);
    assert_string_equal(error_status(reply), "ALREADY_EXISTS");
    cJSON_Delete(reply);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:a:10,2:b:20,3:null:30,4:d:null,5:null:50");

    /* more than 80,000 mutations (40,001 rows of two columns): refused, nothing applied */
    size_t size = 64 + 40001 * 24, n;
    char *big = malloc(size);
    assert_non_null(big);
    n = (size_t)snprintf(big, size,
                         "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":[{"
                         "\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],\"values\":[");
    for (int i = 0; i < 40001; i++)
        n += (size_t)snprintf(big + n, size - n, "%s[\"%d\",\"x\"]", i ? "," : "", 1000 + i);
    snprintf(big + n, size - n, "]}}]}");
    assert_int_equal(data_call(f, f->session, "commit", big, &reply), 400);
    free(big);
    const char *message =
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"), "message")->valuestring;
    assert_non_null(strstr(message, "(Maximum number: 80000)"));
    cJSON_Delete(reply);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:a:10,2:b:20,3:null:30,4:d:null,5:null:50");

    assert_int_equal(commit(f,
                            "{\"delete\":{\"table\":\"T\",\"keySet\":{\"keys\":[[\"1\"]],"
                            "\"ranges\":[{\"startOpen\":[\"2\"],\"endClosed\":[\"4\"]}]}}}",
                            NULL),
                     200);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "2:b:20,5:null:50");

    assert_int_equal(data_call(f, f->session, "read",
                               "{\"table\":\"T\",\"index\":\"TByV\",\"columns\":[\"K\",\"V\"],"
                               "\"keySet\":{\"keys\":[[\"b\"]]}}",
                               &reply),
                     200);
    const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "rows"), 0);
    assert_string_equal(cJSON_GetArrayItem(row, 0)->valuestring, "2");
    cJSON_Delete(reply);
}

static char *begin(struct fixture *f, const char *session)
{
    cJSON *reply;
    assert_int_equal(
        data_call(f, session, "beginTransaction", "{\"options\":{\"readWrite\":{}}}", &reply), 200);
    char *id = strdup(cJSON_GetObjectItem(reply, "id")->valuestring);
    cJSON_Delete(reply);
    return id;
}

static void test_transactions(void **state)
{
    struct fixture *f = *state;
    char body[1024], rows[512];
    cJSON *reply;
    assert_int_equal(
        commit(
            f,
            "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"N\"],\"values\":[[\"1\",\"0\"]]}}",
            NULL),
        200);

    /* DML sees its transaction's own writes; nobody else does until the commit */
    char *t1 = begin(f, f->session);
    for (int seqno = 1; seqno <= 2; seqno++) {
        snprintf(body, sizeof(body),
                 "{\"transaction\":{\"id\":\"%s\"},\"seqno\":\"%d\",\"sql\":\"UPDATE T SET N = N "
                 "+ 1 WHERE K = 1\"}",
                 t1, seqno);
        assert_int_equal(data_call(f, f->session, "executeSql", body, NULL), 200);
    }
    snprintf(body, sizeof(body), "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"SELECT N FROM T\"}",
             t1);
    assert_int_equal(data_call(f, f->session, "executeSql", body, &reply), 200);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(reply, "rows"), 0), 0)
            ->valuestring,
        "2");
    cJSON_Delete(reply);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:null:0");

    /* a second transaction read the row too, and commits first: the first is ABORTED */
    char *t2 = begin(f, f->other);
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"table\":\"T\",\"columns\":[\"N\"],"
             "\"keySet\":{\"keys\":[[\"1\"]]}}",
             t2);
    assert_int_equal(data_call(f, f->other, "read", body, NULL), 200);
    snprintf(body, sizeof(body),
             "{\"transactionId\":\"%s\",\"mutations\":[{\"update\":{\"table\":\"T\",\"columns\":"
             "[\"K\",\"V\"],\"values\":[[\"1\",\"t2\"]]}}]}",
             t2);
    assert_int_equal(data_call(f, f->other, "commit", body, NULL), 200);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", t1);
    assert_int_equal(data_call(f, f->session, "commit", body, &reply), 409);
    assert_string_equal(error_status(reply), "ABORTED");
    cJSON_Delete(reply);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:t2:0");

    /* retried, it commits */
    free(t1);
    t1 = begin(f, f->session);
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"UPDATE T SET N = N + 1 WHERE K = 1\"}",
             t1);
    assert_int_equal(data_call(f, f->session, "executeSql", body, NULL), 200);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", t1);
    assert_int_equal(data_call(f, f->session, "commit", body, NULL), 200);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:t2:1");
    free(t1);
    free(t2);
}

/* The keys of E's rows where condition holds (@t: the timestamp at), as "1,2". */
static void e_keys(struct fixture *f, const char *condition, const char *at, char *out, size_t size)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"sql\":\"SELECT K FROM E WHERE %s ORDER BY K\",\"params\":{\"t\":\"%s\"},"
             "\"paramTypes\":{\"t\":{\"code\":\"TIMESTAMP\"}}}",
             condition, at);
    cJSON *reply;
    assert_int_equal(data_call(f, f->session, "executeSql", body, &reply), 200);
    size_t n = 0;
    out[0] = '\0';
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(reply, "rows")) n += (size_t)snprintf(
        out + n, size - n, "%s%s", n ? "," : "", cJSON_GetArrayItem(row, 0)->valuestring);
    cJSON_Delete(reply);
}

/* A call in transaction tx: 400 INVALID_ARGUMENT naming the pending commit timestamp. */
static void expect_pending_refused(struct fixture *f, const char *method, const char *body)
{
    cJSON *reply;
    assert_int_equal(data_call(f, f->session, method, body, &reply), 400);
    const cJSON *message = cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "error"), "message");
    assert_string_equal(message->valuestring, "Table E cannot be accessed because it, or its "
                                              "associated index, has a pending CommitTimestamp");
    cJSON_Delete(reply);
}

static void test_pending_commit_timestamp(void **state)
{
    struct fixture *f = *state;
    char body[1024], rows[512], at[64];
    cJSON *reply;
    char *tx = begin(f, f->session);
    int seqno = 0; /* each DML request takes the next */
#define IN_TX(json)                                                                                \
    (snprintf(body, sizeof(body), "{\"transaction\":{\"id\":\"%s\"},\"seqno\":\"%d\"," json "}",   \
              tx, ++seqno),                                                                        \
     body)
#define READ_IN_TX(json)                                                                           \
    (snprintf(body, sizeof(body), "{\"transaction\":{\"id\":\"%s\"}," json "}", tx), body)
    assert_int_equal(data_call(f, f->session, "executeSql",
                               IN_TX("\"sql\":\"INSERT INTO E (K, Stamp) VALUES (1, "
                                     "PENDING_COMMIT_TIMESTAMP())\""),
                               NULL),
                     200);
    /* the table cannot be read until the commit: query, UPDATE, THEN RETURN, read */
    expect_pending_refused(f, "executeSql", IN_TX("\"sql\":\"SELECT Stamp FROM E\""));
    expect_pending_refused(f, "executeSql",
                           IN_TX("\"sql\":\"UPDATE E SET Stamp = NULL WHERE K = 1\""));
    expect_pending_refused(f, "executeSql",
                           IN_TX("\"sql\":\"INSERT INTO E (K) VALUES (3) THEN RETURN K\""));
    expect_pending_refused(
        f, "read", READ_IN_TX("\"table\":\"E\",\"columns\":[\"Stamp\"],\"keySet\":{\"all\":true}"));
    /* another INSERT with it, and other tables, are fine */
    assert_int_equal(data_call(f, f->session, "executeSql",
                               IN_TX("\"sql\":\"INSERT INTO E (K, Stamp) VALUES (2, "
                                     "PENDING_COMMIT_TIMESTAMP())\""),
                               NULL),
                     200);
    assert_int_equal(
        data_call(f, f->session, "executeSql", IN_TX("\"sql\":\"SELECT COUNT(*) FROM T\""), NULL),
        200);
    e_keys(f, "TRUE", "2026-01-01T00:00:00Z", rows, sizeof(rows));
    assert_string_equal(rows, ""); /* nothing committed yet */

    /* the commit writes its own timestamp into both rows */
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", tx);
    assert_int_equal(data_call(f, f->session, "commit", body, &reply), 200);
    snprintf(at, sizeof(at), "%s", cJSON_GetObjectItem(reply, "commitTimestamp")->valuestring);
    cJSON_Delete(reply);
    e_keys(f, "Stamp = @t", at, rows, sizeof(rows));
    assert_string_equal(rows, "1,2");
    free(tx);

    /* Partitioned DML: applied at once, the timestamp filled, rowCountLowerBound */
    assert_int_equal(data_call(f, f->session, "beginTransaction",
                               "{\"options\":{\"partitionedDml\":{}}}", &reply),
                     200);
    tx = strdup(cJSON_GetObjectItem(reply, "id")->valuestring);
    cJSON_Delete(reply);
    assert_int_equal(data_call(f, f->session, "executeSql",
                               IN_TX("\"sql\":\"UPDATE E SET Stamp = PENDING_COMMIT_TIMESTAMP() "
                                     "WHERE K = 2\""),
                               &reply),
                     200);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "stats"), "rowCountLowerBound")->valuestring,
        "1");
    cJSON_Delete(reply);
    e_keys(f, "Stamp = @t", at, rows, sizeof(rows));
    assert_string_equal(rows, "1"); /* row 1 unchanged */
    e_keys(f, "Stamp > @t", at, rows, sizeof(rows));
    assert_string_equal(rows, "2"); /* row 2: a later commit's timestamp */
    /* Partitioned DML's rules: no INSERT */
    assert_int_equal(data_call(f, f->session, "executeSql",
                               IN_TX("\"sql\":\"INSERT INTO E (K) VALUES (9)\""), &reply),
                     400);
    cJSON_Delete(reply);
#undef IN_TX
#undef READ_IN_TX
    free(tx);
}

/* The display names of a QueryPlan's nodes, with scan targets: "Serialize Result,Scan:T". */
static void plan_names(const cJSON *stats, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    const cJSON *node;
    cJSON_ArrayForEach(node,
                       cJSON_GetObjectItem(cJSON_GetObjectItem(stats, "queryPlan"), "planNodes"))
    {
        const cJSON *target =
            cJSON_GetObjectItem(cJSON_GetObjectItem(node, "metadata"), "scan_target");
        n += (size_t)snprintf(out + n, size - n, "%s%s%s%s", n ? "," : "",
                              cJSON_GetObjectItem(node, "displayName")->valuestring,
                              target ? ":" : "", target ? target->valuestring : "");
    }
}

static void test_query_modes(void **state)
{
    struct fixture *f = *state;
    char names[512], rows[512], body[512];
    cJSON *reply;
    assert_int_equal(commit(f,
                            "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],"
                            "\"values\":[[\"1\",\"a\"],[\"2\",\"b\"]]}}",
                            NULL),
                     200);
    /* PLAN: the plan of the point read, no rows */
    assert_int_equal(data_call(f, f->session, "executeSql",
                               "{\"sql\":\"SELECT V FROM T WHERE K = 1\",\"queryMode\":\"PLAN\"}",
                               &reply),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(reply, "rows")), 0);
    const cJSON *stats = cJSON_GetObjectItem(reply, "stats");
    plan_names(stats, names, sizeof(names));
    assert_string_equal(names, "Serialize Result,Scan:T");
    assert_null(cJSON_GetObjectItem(stats, "queryStats"));
    cJSON_Delete(reply);
    /* PROFILE: rows, the plan (by the index), and the statistics */
    assert_int_equal(
        data_call(f, f->session, "executeSql",
                  "{\"sql\":\"SELECT K FROM T WHERE V = 'b'\",\"queryMode\":\"PROFILE\"}", &reply),
        200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(reply, "rows")), 1);
    stats = cJSON_GetObjectItem(reply, "stats");
    plan_names(stats, names, sizeof(names));
    assert_string_equal(names, "Serialize Result,Scan:TByV");
    const cJSON *query_stats = cJSON_GetObjectItem(stats, "queryStats");
    assert_string_equal(cJSON_GetObjectItem(query_stats, "rows_returned")->valuestring, "1");
    assert_non_null(
        strstr(cJSON_GetObjectItem(query_stats, "elapsed_time")->valuestring, " msecs"));
    cJSON_Delete(reply);
    /* DML in PLAN mode does not run, nor join its transaction */
    char *tx = begin(f, f->session);
    snprintf(body, sizeof(body),
             "{\"transaction\":{\"id\":\"%s\"},\"sql\":\"UPDATE T SET N = 5 WHERE K = 2\","
             "\"queryMode\":\"PLAN\"}",
             tx);
    assert_int_equal(data_call(f, f->session, "executeSql", body, &reply), 200);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(reply, "stats"), "rowCountExact"));
    plan_names(cJSON_GetObjectItem(reply, "stats"), names, sizeof(names));
    assert_string_equal(names, "Apply Mutations,Scan:T");
    cJSON_Delete(reply);
    snprintf(body, sizeof(body), "{\"transactionId\":\"%s\"}", tx);
    assert_int_equal(data_call(f, f->session, "commit", body, NULL), 200);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "1:a:null,2:b:null");
    free(tx);
    assert_int_equal(data_call(f, f->session, "executeSql",
                               "{\"sql\":\"SELECT 1\",\"queryMode\":\"FAST\"}", &reply),
                     400);
    cJSON_Delete(reply);
}

/* A runaway statement is stopped at the time limit and the database serves the next one;
 * a result past 10 MiB is executeSql's FAILED_PRECONDITION but streams. */
static void test_statement_bounds(void **state)
{
    struct fixture *f = *state;
    cJSON *reply;
    sp_exec_set_time_limit_ms(300);
    int64_t start = em_clock_monotonic();
    assert_int_equal(data_call(f, f->session, "executeSql",
                               "{\"sql\":\"SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(1,16000)) a, "
                               "UNNEST(GENERATE_ARRAY(1,16000)) b, UNNEST(GENERATE_ARRAY(1,16000)) "
                               "c\"}",
                               &reply),
                     504);
    assert_string_equal(error_status(reply), "DEADLINE_EXCEEDED");
    cJSON_Delete(reply);
    assert_true(em_clock_monotonic() - start < 5 * EM_NS_PER_SEC);
    sp_exec_set_time_limit_ms(0);
    assert_int_equal(data_call(f, f->other, "executeSql", "{\"sql\":\"SELECT 1\"}", &reply), 200);
    cJSON_Delete(reply);

    const char *big =
        "{\"sql\":\"SELECT REPEAT('x', 1000000) FROM UNNEST(GENERATE_ARRAY(1, 11))\"}";
    assert_int_equal(data_call(f, f->session, "executeSql", big, &reply), 400);
    assert_string_equal(error_status(reply), "FAILED_PRECONDITION");
    cJSON_Delete(reply);
    assert_int_equal(data_call(f, f->session, "executeStreamingSql", big, &reply), 200);
    assert_true(cJSON_IsArray(reply));
    cJSON_Delete(reply);
    assert_int_equal(data_call(f, f->session, "executeSql",
                               "{\"sql\":\"SELECT REPEAT('x', 1000000) FROM "
                               "UNNEST(GENERATE_ARRAY(1, 10))\"}",
                               &reply),
                     200);
    cJSON_Delete(reply);
}

/* executeStreamingSql sends a query's rows as the statement produces them: the parts
 * hold what executeSql answers, in order, the metadata in the first, resume tokens
 * counting rows; a statement that fails part-way has sent the parts before the failure,
 * then the error (as Google's front end ends a stream). */
static void test_streaming_as_rows_come(void **state)
{
    struct fixture *f = *state;
    cJSON *whole, *parts;
    const char *sql = "{\"sql\":\"SELECT x, CONCAT('v', CAST(x AS STRING)) FROM "
                      "UNNEST(GENERATE_ARRAY(1, 1234)) AS x\"}";
    assert_int_equal(data_call(f, f->session, "executeSql", sql, &whole), 200);
    assert_int_equal(data_call(f, f->session, "executeStreamingSql", sql, &parts), 200);
    assert_int_equal(cJSON_GetArraySize(parts), 13); /* 12 of 100 rows, one of 34 */
    const cJSON *rows = cJSON_GetObjectItem(whole, "rows"), *row = rows->child, *part;
    int index = 0, seen = 0;
    cJSON_ArrayForEach(part, parts)
    {
        assert_true(cJSON_HasObjectItem(part, "metadata") == (index++ == 0));
        const cJSON *values = cJSON_GetObjectItem(part, "values"), *value = values->child;
        for (; value; value = value->next->next, row = row->next, seen++) {
            assert_string_equal(value->valuestring, row->child->valuestring);
            assert_string_equal(value->next->valuestring, row->child->next->valuestring);
        }
        char token[16];
        snprintf(token, sizeof(token), "%d", seen);
        unsigned char *raw = NULL;
        size_t len = 0;
        const char *b64 = cJSON_GetObjectItem(part, "resumeToken")->valuestring;
        assert_true(em_b64_decode(b64, strlen(b64), &raw, &len));
        assert_memory_equal(raw, token, len);
        free(raw);
    }
    assert_int_equal(seen, 1234);
    assert_null(row);
    cJSON_Delete(whole);
    cJSON_Delete(parts);

    assert_int_equal(data_call(f, f->session, "executeStreamingSql",
                               "{\"sql\":\"SELECT x, DIV(10, x - 950) FROM "
                               "UNNEST(GENERATE_ARRAY(1, 1000)) AS x\"}",
                               &parts),
                     200);
    assert_int_equal(cJSON_GetArraySize(parts), 10);
    const cJSON *last = cJSON_GetArrayItem(parts, 9);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(last, "error"), "status")->valuestring,
        "OUT_OF_RANGE");
    cJSON_Delete(parts);
}

static void test_restart_keeps_rows_and_sessions(void **state)
{
    struct fixture *f = *state;
    char rows[512];
    assert_int_equal(
        commit(
            f,
            "{\"insert\":{\"table\":\"T\",\"columns\":[\"K\",\"V\"],\"values\":[[\"7\",\"x\"]]}}",
            NULL),
        200);
    em_service_close(f->svc);
    open_service(f);
    table_rows(f, rows, sizeof(rows));
    assert_string_equal(rows, "7:x:null");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conflicts_only_for_reads_written_since_begin),
        cmocka_unit_test(test_transaction_ids),
        cmocka_unit_test(test_ended_transactions),
        cmocka_unit_test(test_dml_outcomes_kept_are_bounded),
        cmocka_unit_test(test_keysets),
        cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_commit_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_as_rows_come, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_rows_and_sessions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
