/*
 * spanner_sql_run: runs a SQL plan through our GoogleSQL layer in process (parser,
 * translator, SQLite with the sp_* functions), the "ours" side of the differential SQL test
 * (tests/spanner/sql_diff.sh) until it drives the data plane's executeSql over HTTP.
 *
 *   spanner_sql_run < plan.json
 *
 * The plan, built by sql_diff.sh from a corpus file: {"ddl": ["CREATE TABLE ...", ...],
 * "steps": [{"kind": "dml"|"query", "sql": "..."}, ...]}. The DDL builds the schema (a
 * failure is fatal: exit 1); then each step prints one line, the same shape sql_diff.sh
 * makes of an executeSql answer:
 *
 *   {"fields":[["SingerId","INT64"],...],"rows":[["1"],...]}   a query (Spanner's JSON values)
 *   {"modified":2}                                             a DML statement
 *   {"error":"INVALID_ARGUMENT","message":"..."}               either, failed
 */
#include "../unit/spanner_test_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "INT64", "ARRAY<STRING>", "ARRAY<STRUCT<a INT64, STRING>>": the type as sql_diff.sh
 * writes Spanner's rowType. */
static cJSON *type_name(const struct sp_type *type)
{
    char text[1024];
    sp_type_format(type, false, text, sizeof(text));
    return cJSON_CreateString(text);
}

static void print_json(cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    puts(text ? text : "{\"error\":\"INTERNAL\",\"message\":\"out of memory\"}");
    free(text);
    cJSON_Delete(json);
}

static void print_error(const struct em_status *st)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "error", em_code_name(st->code));
    cJSON_AddStringToObject(json, "message", st->message);
    print_json(json);
}

/* Runs one statement and prints its line. */
static void run_step(struct sp_test_db *t, const char *sql)
{
    struct em_status st = {0};
    struct sp_translation *tr;
    if (sp_translate(t->schema, sql, NULL, 0, &tr, &st)) {
        print_error(&st);
        return;
    }
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(t->db, tr->sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sp_sql_error(t->db, rc, &st);
        print_error(&st);
        sp_translation_free(tr);
        return;
    }
    cJSON *rows = cJSON_CreateArray();
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cJSON *row = cJSON_CreateArray();
        for (int c = 0; c < tr->ncolumns; c++)
            cJSON_AddItemToArray(
                row, sp_value_to_json(&tr->columns[c].type, sqlite3_column_value(stmt, c)));
        cJSON_AddItemToArray(rows, row);
    }
    cJSON *out = cJSON_CreateObject();
    if (rc != SQLITE_DONE) {
        sp_sql_error(t->db, rc, &st);
        cJSON_AddStringToObject(out, "error", em_code_name(st.code));
        cJSON_AddStringToObject(out, "message", st.message);
        cJSON_Delete(rows);
    } else if (tr->kind != SP_STMT_QUERY) {
        cJSON_AddNumberToObject(out, "modified", sqlite3_changes(t->db));
        cJSON_Delete(rows);
    } else {
        cJSON *fields = cJSON_AddArrayToObject(out, "fields");
        for (int c = 0; c < tr->ncolumns; c++) {
            cJSON *field = cJSON_CreateArray();
            cJSON_AddItemToArray(field, cJSON_CreateString(tr->columns[c].name));
            cJSON_AddItemToArray(field, type_name(&tr->columns[c].type));
            cJSON_AddItemToArray(fields, field);
        }
        cJSON_AddItemToObject(out, "rows", rows);
    }
    sqlite3_finalize(stmt);
    sp_translation_free(tr);
    print_json(out);
}

static char *read_all(FILE *in)
{
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len - 1, in)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger)
                free(text);
            text = bigger;
        }
    }
    if (text)
        text[len] = '\0';
    return text;
}

int main(void)
{
    char *text = read_all(stdin);
    cJSON *plan = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *ddl = cJSON_GetObjectItemCaseSensitive(plan, "ddl");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(plan, "steps");
    if (!cJSON_IsArray(ddl) || !cJSON_IsArray(steps)) {
        fprintf(stderr, "spanner_sql_run: the plan on stdin is not {\"ddl\": [...], "
                        "\"steps\": [...]}\n");
        cJSON_Delete(plan);
        return 2;
    }
    struct sp_test_db t;
    if (sp_test_open(&t, NULL)) {
        fprintf(stderr, "spanner_sql_run: cannot open the in-memory database\n");
        cJSON_Delete(plan);
        return 1;
    }
    int status = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, ddl)
    {
        char *error = cJSON_IsString(item) ? sp_test_ddl(&t, item->valuestring) : NULL;
        if (error) {
            fprintf(stderr, "spanner_sql_run: DDL failed: %s\n  %s\n", item->valuestring, error);
            free(error);
            status = 1;
        }
    }
    cJSON_ArrayForEach(item, steps)
    {
        if (status)
            break;
        const char *sql = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "sql"));
        run_step(&t, sql ? sql : "");
    }
    sp_test_close(&t);
    cJSON_Delete(plan);
    return status;
}
