/*
 * runner_sink_spanner: WriteSpanner. An element (a JSON object) becomes one insertOrUpdate
 * mutation of the step's table, each mapped field converted to its column's type (the
 * columns are read from INFORMATION_SCHEMA.COLUMNS when the job starts). A bundle's
 * mutations are written in one commit of a single-use read-write transaction on a session
 * of its own (see runner_sinks.h).
 *
 * Conversions (JSON value -> Spanner's JSON encoding of the column's type):
 *   STRING    a string; a number or boolean as its text
 *   INT64     an integral number, or a string of one -> decimal string
 *   FLOAT64/32 a number, or a string of one -> number ("NaN", "Infinity" kept as text)
 *   NUMERIC   a number or a string of one -> decimal string
 *   BOOL      true/false, or the strings "true"/"false"
 *   TIMESTAMP RFC 3339 text -> the same instant in UTC ("Z");  DATE: "YYYY-MM-DD";  BYTES: a
 * string's bytes (base64) JSON      any value, as its compact JSON text ARRAY<T>  a list, each item
 * as T;  null: NULL for any type
 */
#include "runner_sinks.h"

#include "em_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- values --- */

/* Whether type (up to its "(length)") is name: "STRING(MAX)" is STRING. */
static bool type_is(const char *type, const char *name)
{
    size_t n = strlen(name);
    return strncmp(type, name, n) == 0 && (type[n] == '\0' || type[n] == '(');
}

static bool is_decimal_text(const char *text)
{
    char *end;
    if (!*text || isspace((unsigned char)*text))
        return false;
    errno = 0;
    double d = strtod(text, &end);
    return *end == '\0' && errno == 0 && isfinite(d);
}

static cJSON *to_int64(const cJSON *value)
{
    int64_t n;
    char text[24];
    if (!em_json_value_int64(value, &n))
        return NULL;
    snprintf(text, sizeof(text), "%lld", (long long)n);
    return cJSON_CreateString(text);
}

static cJSON *to_float(const cJSON *value)
{
    if (cJSON_IsNumber(value))
        return cJSON_CreateNumber(value->valuedouble);
    if (!cJSON_IsString(value))
        return NULL;
    const char *t = value->valuestring;
    if (!strcmp(t, "NaN") || !strcmp(t, "Infinity") || !strcmp(t, "-Infinity"))
        return cJSON_CreateString(t);
    return is_decimal_text(t) ? cJSON_CreateNumber(strtod(t, NULL)) : NULL;
}

static cJSON *to_numeric(const cJSON *value)
{
    if (cJSON_IsString(value))
        return is_decimal_text(value->valuestring) ? cJSON_CreateString(value->valuestring) : NULL;
    if (!cJSON_IsNumber(value))
        return NULL;
    char *text = cJSON_PrintUnformatted(value);
    cJSON *out = text ? cJSON_CreateString(text) : NULL;
    free(text);
    return out;
}

static cJSON *to_bool(const cJSON *value)
{
    if (cJSON_IsBool(value))
        return cJSON_CreateBool(cJSON_IsTrue(value));
    if (cJSON_IsString(value) && !strcmp(value->valuestring, "true"))
        return cJSON_CreateTrue();
    if (cJSON_IsString(value) && !strcmp(value->valuestring, "false"))
        return cJSON_CreateFalse();
    return NULL;
}

static cJSON *to_string(const cJSON *value)
{
    if (cJSON_IsString(value))
        return cJSON_CreateString(value->valuestring);
    if (!cJSON_IsNumber(value) && !cJSON_IsBool(value))
        return NULL;
    char *text = cJSON_PrintUnformatted(value);
    cJSON *out = text ? cJSON_CreateString(text) : NULL;
    free(text);
    return out;
}

static cJSON *to_timestamp(const cJSON *value)
{
    int64_t ns;
    char utc[EM_TIME_TEXT_MAX];
    if (!cJSON_IsString(value) || !em_time_parse(value->valuestring, &ns))
        return NULL;
    em_time_format(ns, utc); /* Spanner takes only UTC ("...Z") */
    return cJSON_CreateString(utc);
}

static cJSON *to_date(const cJSON *value)
{
    int y, m, d;
    char end;
    if (!cJSON_IsString(value) || strlen(value->valuestring) != 10 ||
        sscanf(value->valuestring, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 || m > 12 ||
        d < 1 || d > 31)
        return NULL;
    return cJSON_CreateString(value->valuestring);
}

static cJSON *to_bytes(const cJSON *value)
{
    if (!cJSON_IsString(value))
        return NULL;
    char *b64 =
        em_b64_encode((const unsigned char *)value->valuestring, strlen(value->valuestring));
    cJSON *out = b64 ? cJSON_CreateString(b64) : NULL;
    free(b64);
    return out;
}

static cJSON *to_json(const cJSON *value)
{
    char *text = cJSON_PrintUnformatted(value);
    cJSON *out = text ? cJSON_CreateString(text) : NULL;
    free(text);
    return out;
}

static cJSON *convert(const char *type, const cJSON *value);

/* "ARRAY<T>": a list, each item converted to T. */
static cJSON *to_array(const char *type, const cJSON *value)
{
    char item_type[128];
    size_t len = strlen(type);
    if (!cJSON_IsArray(value) || len < 8 || type[len - 1] != '>' || len - 7 >= sizeof(item_type))
        return NULL;
    snprintf(item_type, sizeof(item_type), "%.*s", (int)(len - 7), type + 6);
    cJSON *out = cJSON_CreateArray();
    const cJSON *item;
    cJSON_ArrayForEach(item, value)
    {
        cJSON *converted = convert(item_type, item);
        if (!converted) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddItemToArray(out, converted);
    }
    return out;
}

static cJSON *convert(const char *type, const cJSON *value)
{
    if (cJSON_IsNull(value))
        return cJSON_CreateNull();
    if (strncmp(type, "ARRAY<", 6) == 0)
        return to_array(type, value);
    static const struct {
        const char *name;
        cJSON *(*to)(const cJSON *);
    } conversions[] = {
        {"STRING", to_string},       {"INT64", to_int64},     {"FLOAT64", to_float},
        {"FLOAT32", to_float},       {"NUMERIC", to_numeric}, {"BOOL", to_bool},
        {"TIMESTAMP", to_timestamp}, {"DATE", to_date},       {"BYTES", to_bytes},
        {"JSON", to_json},
    };
    for (size_t i = 0; i < sizeof(conversions) / sizeof(conversions[0]); i++)
        if (type_is(type, conversions[i].name))
            return conversions[i].to(value);
    return NULL;
}

cJSON *rn_spanner_value(const char *type, const cJSON *value, char *why, size_t len)
{
    cJSON *out = convert(type, value);
    if (!out) {
        char *text = cJSON_PrintUnformatted(value);
        snprintf(why, len, "%.80s is not a valid %s", text ? text : "the value", type);
        free(text);
    }
    return out;
}

/* --- mutations --- */

/* The table's spelling of a column (Spanner's names are case-insensitive), or NULL. */
static const cJSON *find_column(const cJSON *columns, const char *name)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, columns)
    {
        if (strcasecmp(c->string, name) == 0)
            return c;
    }
    return NULL;
}

struct row {
    const struct rn_step *step;
    const cJSON *columns;
    cJSON *names, *values;
    char *reason;
};

static bool add_value(const char *column, const char *field, const cJSON *value, void *arg)
{
    struct row *r = arg;
    const char *table = em_json_string(r->step->spec, "table");
    const cJSON *col = find_column(r->columns, column);
    const char *type = em_json_string(col, "type");
    bool key = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(col, "key"));
    bool nullable = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(col, "nullable"));
    char why[256];
    if (!type) {
        snprintf(r->reason, RN_SINK_REASON_MAX, "Step '%s': table %s has no column '%s'.",
                 r->step->name, table, column);
        return false;
    }
    if (!value && !key)
        return true; /* the column keeps its value (NULL in a new row) */
    if (!value || (cJSON_IsNull(value) && !nullable)) {
        snprintf(r->reason, RN_SINK_REASON_MAX, "Step '%s': field '%s' (%s column %s.%s) is %s.",
                 r->step->name, field, key ? "key" : "NOT NULL", table, col->string,
                 value ? "null" : "missing");
        return false;
    }
    cJSON *converted = rn_spanner_value(type, value, why, sizeof(why));
    if (!converted) {
        snprintf(r->reason, RN_SINK_REASON_MAX, "Step '%s': field '%s' (column %s.%s): %s.",
                 r->step->name, field, table, col->string, why);
        return false;
    }
    cJSON_AddItemToArray(r->names, cJSON_CreateString(col->string));
    cJSON_AddItemToArray(r->values, converted);
    return true;
}

/* Every key column must be written. */
static bool has_keys(const struct row *r)
{
    const cJSON *col, *name;
    cJSON_ArrayForEach(col, r->columns)
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(col, "key")))
            continue;
        bool found = false;
        cJSON_ArrayForEach(name, r->names)
        {
            found = found || strcmp(name->valuestring, col->string) == 0;
        }
        if (!found) {
            snprintf(r->reason, RN_SINK_REASON_MAX,
                     "Step '%s': the element has no value for key column %s.%s.", r->step->name,
                     em_json_string(r->step->spec, "table"), col->string);
            return false;
        }
    }
    return true;
}

bool rn_spanner_mutation(const struct rn_step *step, const cJSON *columns, const struct rn_elem *e,
                         cJSON **mutation, char reason[RN_SINK_REASON_MAX])
{
    *mutation = NULL;
    reason[0] = '\0';
    if (!cJSON_IsObject(e->value)) {
        snprintf(reason, RN_SINK_REASON_MAX,
                 "Step '%s': the element is not a JSON object (ParseJson it first).", step->name);
        return false;
    }
    struct row r = {step, columns, cJSON_CreateArray(), cJSON_CreateArray(), reason};
    bool ok =
        r.names && r.values && rn_sink_each_field(step, e->value, add_value, &r) && has_keys(&r);
    cJSON *write = ok ? cJSON_CreateObject() : NULL;
    cJSON *rows = ok ? cJSON_CreateArray() : NULL;
    if (write && rows && (*mutation = cJSON_CreateObject())) {
        cJSON_AddStringToObject(write, "table", em_json_string(step->spec, "table"));
        cJSON_AddItemToObject(write, "columns", r.names);
        cJSON_AddItemToArray(rows, r.values);
        cJSON_AddItemToObject(write, "values", rows);
        cJSON_AddItemToObject(*mutation, "insertOrUpdate", write);
        return true;
    }
    cJSON_Delete(write);
    cJSON_Delete(rows);
    cJSON_Delete(r.names);
    cJSON_Delete(r.values);
    return false;
}

/* --- sessions, schema, commit --- */

static enum em_code open_session(const struct rn_peer *peer, const struct rn_step *step,
                                 char *session, size_t len, struct em_status *st)
{
    char sessions[512];
    snprintf(sessions, sizeof(sessions), "%s/sessions", em_json_string(step->spec, "database"));
    cJSON *body = cJSON_CreateObject(), *reply = NULL;
    rn_peer_call(peer, "v1", "POST", sessions, NULL, body, &reply, st);
    cJSON_Delete(body);
    const char *name = em_json_string(reply, "name");
    if (!st->code && !name)
        EM_FAIL(st, EM_INTERNAL, "Spanner gave no session.");
    if (!st->code)
        snprintf(session, len, "%s", name);
    cJSON_Delete(reply);
    return st->code;
}

static void close_session(const struct rn_peer *peer, const char *session)
{
    struct em_status ignored = {0};
    rn_peer_call(peer, "v1", "DELETE", session, NULL, NULL, NULL, &ignored);
}

/* The rows of a query on a session (owned by the caller). */
static enum em_code query(const struct rn_peer *peer, const char *session, const char *sql,
                          cJSON **rows, struct em_status *st)
{
    cJSON *body = cJSON_CreateObject(), *reply = NULL;
    cJSON_AddStringToObject(body, "sql", sql);
    rn_peer_call(peer, "v1", "POST", session, "executeSql", body, &reply, st);
    cJSON_Delete(body);
    *rows = cJSON_DetachItemFromObjectCaseSensitive(reply, "rows");
    cJSON_Delete(reply);
    return st->code;
}

/* The columns of the step's table: name -> {"type": SPANNER_TYPE, "nullable": bool,
 * "key": bool}, from INFORMATION_SCHEMA. */
static enum em_code query_columns(const struct rn_peer *peer, const struct rn_step *step,
                                  const char *session, cJSON *columns, struct em_status *st)
{
    char where[256], sql[512];
    cJSON *rows = NULL, *keys = NULL;
    const cJSON *row;
    snprintf(where, sizeof(where), "TABLE_SCHEMA = '' AND LOWER(TABLE_NAME) = LOWER('%s')",
             em_json_string(step->spec, "table")); /* a checked identifier: no quote */
    snprintf(sql, sizeof(sql),
             "SELECT COLUMN_NAME, SPANNER_TYPE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
             "WHERE %s",
             where);
    if (query(peer, session, sql, &rows, st))
        return st->code;
    cJSON_ArrayForEach(row, rows)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(row, 0));
        const char *type = cJSON_GetStringValue(cJSON_GetArrayItem(row, 1));
        const char *nullable = cJSON_GetStringValue(cJSON_GetArrayItem(row, 2));
        cJSON *col = name && type ? cJSON_AddObjectToObject(columns, name) : NULL;
        cJSON_AddStringToObject(col, "type", type);
        cJSON_AddBoolToObject(col, "nullable", !nullable || strcmp(nullable, "NO") != 0);
        cJSON_AddBoolToObject(col, "key", false);
    }
    cJSON_Delete(rows);
    snprintf(sql, sizeof(sql),
             "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.INDEX_COLUMNS WHERE %s AND "
             "INDEX_TYPE = 'PRIMARY_KEY'",
             where);
    if (query(peer, session, sql, &keys, st))
        return st->code;
    cJSON_ArrayForEach(row, keys)
    {
        cJSON *col = cJSON_GetObjectItemCaseSensitive(
            columns, cJSON_GetStringValue(cJSON_GetArrayItem(row, 0)));
        if (col)
            cJSON_ReplaceItemInObjectCaseSensitive(col, "key", cJSON_CreateTrue());
    }
    cJSON_Delete(keys);
    return st->code;
}

/* Every column the step's "columns" names must be one of the table's. */
static enum em_code check_mapped(const struct rn_step *step, const cJSON *columns,
                                 struct em_status *st)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(step->spec, "columns"))
    {
        if (!find_column(columns, c->string))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "table %s has no column '%s'",
                           em_json_string(step->spec, "table"), c->string);
    }
    return EM_OK;
}

enum em_code rn_spanner_columns(const struct rn_peer *peer, const struct rn_step *step,
                                cJSON **columns, struct em_status *st)
{
    char session[512];
    const char *table = em_json_string(step->spec, "table");
    *columns = cJSON_CreateObject();
    if (!*columns)
        return EM_FAIL_OOM(st);
    if (!open_session(peer, step, session, sizeof(session), st)) {
        query_columns(peer, step, session, *columns, st);
        close_session(peer, session);
    }
    if (!st->code && cJSON_GetArraySize(*columns) == 0)
        EM_FAIL(st, EM_NOT_FOUND, "table %s not found", table);
    if (!st->code)
        check_mapped(step, *columns, st);
    if (st->code) {
        char why[EM_STATUS_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%s", st->message);
        EM_FAIL(st, st->code, "Step '%s': cannot write to %s: %s: %s", step->name,
                em_json_string(step->spec, "database"), em_code_name(st->code), why);
    }
    return st->code;
}

enum em_code rn_spanner_write(const struct rn_peer *peer, const struct rn_step *step,
                              const cJSON *mutations, struct em_status *st)
{
    char session[512];
    if (open_session(peer, step, session, sizeof(session), st))
        return st->code;
    cJSON *body = cJSON_CreateObject();
    cJSON *single = cJSON_AddObjectToObject(body, "singleUseTransaction");
    cJSON_AddObjectToObject(single, "readWrite");
    cJSON_AddItemReferenceToObject(body, "mutations", (cJSON *)mutations);
    rn_peer_call(peer, "v1", "POST", session, "commit", body, NULL, st);
    cJSON_Delete(body);
    close_session(peer, session);
    return st->code;
}
