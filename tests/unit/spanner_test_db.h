/*
 * spanner_test_db: what the Spanner SQL unit tests share. An in-memory SQLite database
 * with the sp_* functions registered, a schema built by applying DDL statements through
 * sp_ddl_apply (running the SQLite script each returns), and sp_test_run(), which
 * translates one GoogleSQL statement, binds its parameters from JSON, executes it and
 * renders the outcome as one string a table of cases can compare:
 *
 *   rows:   [["1","Marc"],["2",null]]      (each value in Spanner's JSON encoding)
 *   DML:    "modified 2" or, with THEN RETURN, "modified 2 [[...]]"
 *   error:  "INVALID_ARGUMENT: Unrecognized name: x [at 1:8]"
 */
#ifndef SPANNER_TEST_DB_H
#define SPANNER_TEST_DB_H

#include "spanner/spanner_ddl.h"
#include "spanner/spanner_sql_functions.h"
#include "spanner/spanner_sql_translate.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sp_test_db {
    sqlite3 *db;
    struct sp_schema *schema;
    struct sp_sql_clock clock; /* 2026-01-02T03:04:05.5Z unless a test changes it */
};

static inline char *sp_test_error(const struct em_status *st)
{
    size_t size = strlen(st->message) + 32;
    char *out = malloc(size);
    if (out)
        snprintf(out, size, "%s: %s", em_code_name(st->code), st->message);
    return out;
}

/* Applies one DDL statement the way the service must: to a clone of the schema, with its
 * SQLite script in a savepoint; the clone replaces the schema only when both succeed.
 * NULL on success, else the error as "CODE: message" (malloc'd). */
static inline char *sp_test_ddl(struct sp_test_db *t, const char *statement)
{
    struct em_status st = {0};
    struct sp_buf script = {0};
    struct sp_schema *next = sp_schema_clone(t->schema);
    char *error = NULL;
    if (!next)
        return strdup("clone failed");
    if (sp_ddl_apply(next, statement, &script, &st) == EM_OK) {
        sqlite3_exec(t->db, "SAVEPOINT ddl", NULL, NULL, NULL);
        int rc = sqlite3_exec(t->db, script.data ? script.data : "", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            sp_sql_error(t->db, rc, &st);
            error = sp_test_error(&st);
            sqlite3_exec(t->db, "ROLLBACK TO ddl", NULL, NULL, NULL);
        }
        sqlite3_exec(t->db, "RELEASE ddl", NULL, NULL, NULL);
    } else {
        error = sp_test_error(&st);
    }
    if (error) {
        sp_schema_free(next);
    } else {
        sp_schema_free(t->schema);
        t->schema = next;
    }
    sp_buf_free(&script);
    return error;
}

static inline int sp_test_open(struct sp_test_db *t, const char *const *ddl)
{
    memset(t, 0, sizeof(*t));
    t->clock.now = (struct sp_timestamp){1767323045, 500000000};
    t->schema = sp_schema_new();
    if (!t->schema || sqlite3_open(":memory:", &t->db) != SQLITE_OK ||
        sp_sql_functions_register(t->db, &t->clock) != SQLITE_OK)
        return -1;
    for (int i = 0; ddl && ddl[i]; i++) {
        char *error = sp_test_ddl(t, ddl[i]);
        if (error) {
            fprintf(stderr, "DDL failed: %s\n  %s\n", ddl[i], error);
            free(error);
            return -1;
        }
    }
    return 0;
}

static inline void sp_test_close(struct sp_test_db *t)
{
    sqlite3_close(t->db);
    sp_schema_free(t->schema);
}

static inline char *sp_test_fail(sqlite3 *db, int rc)
{
    struct em_status st = {0};
    sp_sql_error(db, rc, &st);
    return sp_test_error(&st);
}

/* Binds params ({"name": value}) with their translated types. */
static inline char *sp_test_bind(sqlite3_stmt *stmt, const struct sp_translation *tr,
                                 const cJSON *params)
{
    for (int i = 0; i < tr->nparams; i++) {
        struct em_status st = {0};
        struct sp_stored stored;
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(params, tr->params[i].name);
        char what[192];
        snprintf(what, sizeof(what), "bind parameter %s", tr->params[i].name);
        if (sp_value_from_json(&tr->params[i].type, value, what, &stored, &st))
            return sp_test_error(&st);
        sp_stored_bind(stmt, i + 1, &stored);
        sp_stored_clear(&stored);
    }
    return NULL;
}

static inline char *sp_test_rows(sqlite3 *db, sqlite3_stmt *stmt, const struct sp_translation *tr,
                                 int *count)
{
    cJSON *rows = cJSON_CreateArray();
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < tr->ncolumns; c++)
            cJSON_AddItemToArray(
                row, sp_value_to_json(&tr->columns[c].type, sqlite3_column_value(stmt, c)));
        cJSON_AddItemToArray(rows, row);
        (*count)++;
    }
    if (rc != SQLITE_DONE) {
        cJSON_Delete(rows);
        return sp_test_fail(db, rc);
    }
    char *text = cJSON_PrintUnformatted(rows);
    cJSON_Delete(rows);
    return text;
}

/* Translates and runs sql with params_json (NULL: none; typed through decls). */
static inline char *sp_test_run_typed(struct sp_test_db *t, const char *sql,
                                      const char *params_json, const struct sp_param_decl *decls,
                                      int ndecls)
{
    struct em_status st = {0};
    struct sp_translation *tr;
    if (sp_translate(t->schema, sql, decls, ndecls, &tr, &st))
        return sp_test_error(&st);
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(t->db, tr->sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) { /* the status the data plane answers: a limit, or INTERNAL */
        fprintf(stderr, "prepare failed for %s\n  %s\n", tr->sql, sqlite3_errmsg(t->db));
        sp_translation_free(tr);
        return sp_test_fail(t->db, rc);
    }
    cJSON *params = params_json ? cJSON_Parse(params_json) : cJSON_CreateObject();
    char *out = sp_test_bind(stmt, tr, params);
    if (!out) {
        int count;
        char *rows = sp_test_rows(t->db, stmt, tr, &count);
        if (tr->kind == SP_STMT_QUERY || !rows || strncmp(rows, "[", 1) != 0) {
            out = rows;
        } else {
            size_t size = strlen(rows) + 32;
            out = malloc(size);
            if (tr->ncolumns)
                snprintf(out, size, "modified %d %s", sqlite3_changes(t->db), rows);
            else
                snprintf(out, size, "modified %d", sqlite3_changes(t->db));
            free(rows);
        }
    }
    cJSON_Delete(params);
    sqlite3_finalize(stmt);
    sp_translation_free(tr);
    return out;
}

static inline char *sp_test_run(struct sp_test_db *t, const char *sql)
{
    return sp_test_run_typed(t, sql, NULL, NULL, 0);
}

/* A statement and what sp_test_run renders for it: rows, "modified N ...", or "CODE:
 * message", which only has to start the error. */
struct sp_test_case {
    const char *sql;
    const char *expect;
};

/* Runs the cases, printing each that fails; returns how many failed. */
static inline int sp_test_run_cases(struct sp_test_db *t, const struct sp_test_case *cases,
                                    size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char *out = sp_test_run(t, cases[i].sql);
        bool is_error = strchr(cases[i].expect, ':') && cases[i].expect[0] >= 'A' &&
                        cases[i].expect[0] <= 'Z' && cases[i].expect[1] != '"';
        bool ok = out && (is_error ? strncmp(out, cases[i].expect, strlen(cases[i].expect)) == 0
                                   : strcmp(out, cases[i].expect) == 0);
        if (!ok) {
            fprintf(stderr, "case %zu: %s\n  expected: %s\n  got:      %s\n", i, cases[i].sql,
                    cases[i].expect, out ? out : "(null)");
            failures++;
        }
        free(out);
    }
    return failures;
}

#endif
