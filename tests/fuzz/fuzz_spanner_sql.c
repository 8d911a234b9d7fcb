/*
 * fuzz_spanner_sql: arbitrary text through the whole GoogleSQL layer. Each input is tried
 * as a query or DML statement against a fixed schema (parse, resolve, type-check,
 * translate; the SQLite text must then prepare and run, inside a savepoint rolled back
 * after, with every runtime error one of ours, never INTERNAL: the regular expressions,
 * FORMAT, JSONPath and date parsing run on the input's literals; the key spans it reads
 * are planned and computed with a value for each parameter; sequences draw from counters
 * saved after each input), as Partitioned DML, and
 * as a DDL statement applied to a copy of that schema (parse, validate, generate the SQLite
 * script). Nothing may crash, leak or overflow the stack, and every failure must carry a
 * status with a message.
 */
#include "spanner/spanner_ddl.h"
#include "spanner/spanner_sequences.h"
#include "spanner/spanner_sql_functions.h"
#include "spanner/spanner_sql_keys.h"
#include "spanner/spanner_sql_translate.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const schema_ddl[] = {
    "CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(10), Score FLOAT64, "
    "Balance NUMERIC, Birth DATE, Active BOOL, Photo BYTES(MAX), Ts TIMESTAMP, Info JSON, "
    "Tags ARRAY<STRING(MAX)>, Stamp TIMESTAMP OPTIONS (allow_commit_timestamp = true), "
    "CONSTRAINT Positive CHECK (Score >= 0)) PRIMARY KEY (SingerId)",
    "CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, Title STRING(MAX) "
    "DEFAULT ('x')) PRIMARY KEY (SingerId, AlbumId), INTERLEAVE IN PARENT Singers ON DELETE "
    "CASCADE",
    "CREATE INDEX ByName ON Singers(Name DESC) STORING (Score)",
    "CREATE VIEW Names SQL SECURITY INVOKER AS SELECT Name FROM Singers",
    "CREATE SEQUENCE Seq OPTIONS (sequence_kind = 'bit_reversed_positive', skip_range_min = 1, "
    "skip_range_max = 100)",
    "CREATE TABLE Tickets (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE Seq)), "
    "Note STRING(MAX)) PRIMARY KEY (Id)",
    NULL,
};

static struct sp_schema *build_schema(struct sp_buf *script)
{
    struct sp_schema *schema = sp_schema_new();
    struct em_status st = {0};
    for (int i = 0; schema && schema_ddl[i]; i++)
        if (sp_ddl_apply(schema, schema_ddl[i], script, &st))
            abort();
    return schema;
}

static sqlite3 *db;
static struct sp_sql_clock fuzz_clock;
static struct sp_schema *schema;
static struct sp_counters counters; /* GET_NEXT_SEQUENCE_VALUE draws from the file's */

static void check_failure(enum em_code code, const struct em_status *st)
{
    if (code != EM_OK && (st->code != code || st->message[0] == '\0'))
        abort();
}

/* A SQLite error must be one of ours (or a SQLite limit the statement exceeds, named),
 * never a SQLite message answered INTERNAL. */
static void check_sqlite_error(int rc)
{
    struct em_status st = {0};
    if (sp_sql_error(db, rc, &st) == EM_INTERNAL)
        abort();
}

/* What translates must be SQL SQLite accepts (unless it exceeds one of SQLite's limits,
 * which sp_sql_error names), and run (a few rows, then rolled back) without an error that
 * is not ours. Parameters stay unbound (NULL). */
static void run_translation(const struct sp_translation *tr)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, tr->sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        check_sqlite_error(rc);
        return;
    }
    sqlite3_exec(db, "SAVEPOINT fuzz", NULL, NULL, NULL);
    int rows = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && ++rows < 100)
        ;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        check_sqlite_error(rc);
    sqlite3_finalize(stmt);
    sqlite3_exec(db, "ROLLBACK TO fuzz; RELEASE fuzz", NULL, NULL, NULL);
}

/* A value for each of the statement's parameters: two elements for an ARRAY, one of them
 * NULL; "1" (an INT64, a STRING, a NUMERIC...) otherwise. */
static cJSON *params_for(const struct sp_translation *tr)
{
    cJSON *params = cJSON_CreateObject();
    for (int i = 0; params && i < tr->nparams; i++) {
        const struct sp_param *p = &tr->params[i];
        cJSON *value = p->type.code == SP_TYPE_BOOL ? cJSON_CreateTrue() : cJSON_CreateString("1");
        if (p->type.code == SP_TYPE_ARRAY) {
            cJSON_Delete(value);
            value = cJSON_CreateArray();
            cJSON_AddItemToArray(value, cJSON_CreateString("2"));
            cJSON_AddItemToArray(value, cJSON_CreateNull());
        }
        cJSON_AddItemToObject(params, p->name, value);
    }
    return params;
}

/* The key spans the statement reads (spanner_sql_keys.h): planned, then computed. */
static void plan_keys(const char *text, const struct sp_translation *tr)
{
    struct em_status st = {0};
    struct sp_sql_keys *keys = NULL;
    if (sp_sql_keys_plan(schema, text, tr, &keys, &st))
        abort(); /* fails only when out of memory */
    if (sp_sql_keys_kind(keys) != SP_SQL_KEYS_WHOLE && !sp_sql_keys_table(keys))
        abort();
    cJSON *params = params_for(tr);
    struct sp_key_spans spans;
    sp_sql_keys_spans(keys, params, &spans);
    sp_key_spans_clear(&spans);
    cJSON_Delete(params);
    sp_sql_keys_free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) {
        struct sp_buf script = {0};
        schema = build_schema(&script);
        if (!schema || sqlite3_open(":memory:", &db) != SQLITE_OK ||
            sp_sql_functions_register(db, &fuzz_clock) != SQLITE_OK ||
            sqlite3_exec(db, script.data, NULL, NULL, NULL) != SQLITE_OK)
            abort();
        struct em_status st = {0};
        if (sp_counters_open(&counters, db, &schema, &st))
            abort();
        fuzz_clock.sequences = &counters.source;
        sp_buf_free(&script);
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct em_status st = {0};
    struct sp_translation *tr = NULL;
    enum em_code code = sp_translate(schema, text, NULL, 0, &tr, &st);
    check_failure(code, &st);
    if (code == EM_OK) {
        run_translation(tr);
        plan_keys(text, tr);
        sp_translation_free(tr);
        if (sp_counters_save(&counters, &st))
            abort();
    }
    em_status_clear(&st);
    code = sp_translate_partitioned(schema, text, NULL, 0, &tr, &st);
    check_failure(code, &st);
    sp_translation_free(tr);

    struct sp_buf script = {0};
    struct sp_schema *copy = build_schema(&script);
    sp_buf_free(&script);
    em_status_clear(&st);
    code = sp_ddl_apply(copy, text, &script, &st);
    check_failure(code, &st);
    int count = 0;
    char **statements = sp_schema_statements(copy, &count); /* sets count: call it first */
    sp_strings_free(statements, count);
    sp_buf_free(&script);
    sp_schema_free(copy);
    free(text);
    return 0;
}
