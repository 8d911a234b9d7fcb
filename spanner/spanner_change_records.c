/*
 * spanner_change_records: change streams' records, captured at commit, stored in the
 * database's file and read by READ_<stream>(...) queries (the design is in
 * spanner_change_records.h). The shapes and messages follow Google's Spanner emulator.
 */
/* sqlite3.h declares the pre-update functions only when asked (Debian's library has them) */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "spanner_change_records.h"

#include "em_json.h"
#include "spanner_sql_ast.h"
#include "spanner_sql_functions.h"
#include "spanner_value.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- capture ---- */

static const struct sp_change_stream_table *tracking(const struct sp_change_stream *cs,
                                                     const char *table)
{
    for (int i = 0; i < cs->ntables; i++)
        if (strcasecmp(cs->tables[i].table, table) == 0)
            return &cs->tables[i];
    return NULL;
}

static bool tracked_by_any(const struct sp_schema *schema, const char *table)
{
    for (int i = 0; i < schema->nchange_streams; i++)
        if (schema->change_streams[i]->for_all || tracking(schema->change_streams[i], table))
            return true;
    return false;
}

/* The row's stored columns (generated ones are computed, not stored) by name, from the
 * hook's old or new values; NULL when SQLite's columns are not the table's. */
static cJSON *row_json(const struct sp_table *t, sqlite3 *sqlite, bool new_values)
{
    int stored = 0;
    for (int i = 0; i < t->ncolumns; i++)
        stored += t->columns[i].generated_sql == NULL;
    if (sqlite3_preupdate_count(sqlite) != stored)
        return NULL;
    cJSON *row = cJSON_CreateObject();
    for (int i = 0, k = 0; row && i < t->ncolumns; i++) {
        const struct sp_column *c = &t->columns[i];
        if (c->generated_sql)
            continue;
        sqlite3_value *v = NULL;
        int rc = new_values ? sqlite3_preupdate_new(sqlite, k, &v)
                            : sqlite3_preupdate_old(sqlite, k, &v);
        k++;
        cJSON *value = rc == SQLITE_OK && v ? sp_value_to_json(&c->type, v) : NULL;
        if (!value) {
            cJSON_Delete(row);
            return NULL;
        }
        cJSON_AddItemToObject(row, c->name, value);
    }
    return row;
}

void sp_change_capture(struct sp_change_log *log, const struct sp_schema *schema, sqlite3 *sqlite,
                       int op, const char *table)
{
    const struct sp_table *t = schema ? sp_schema_table(schema, table) : NULL;
    if (!t || log->failed || !tracked_by_any(schema, t->name))
        return;
    if (!log->changes && !(log->changes = cJSON_CreateArray())) {
        log->failed = true;
        return;
    }
    cJSON *change = cJSON_CreateObject();
    cJSON_AddStringToObject(change, "table", t->name);
    cJSON_AddStringToObject(change, "op",
                            op == SQLITE_INSERT   ? "INSERT"
                            : op == SQLITE_DELETE ? "DELETE"
                                                  : "UPDATE");
    cJSON *old_row = op != SQLITE_INSERT ? row_json(t, sqlite, false) : cJSON_CreateObject();
    cJSON *new_row = op != SQLITE_DELETE ? row_json(t, sqlite, true) : cJSON_CreateObject();
    cJSON_AddItemToObject(change, "old", old_row);
    cJSON_AddItemToObject(change, "new", new_row);
    if (!old_row || !new_row || !cJSON_GetObjectItem(change, "op"))
        log->failed = true;
    cJSON_AddItemToArray(log->changes, change);
}

void sp_change_log_clear(struct sp_change_log *log)
{
    cJSON_Delete(log->changes);
    log->changes = NULL;
    log->failed = false;
}

/* ---- the records of one change stream ---- */

static const char *capture_type(const struct sp_change_stream *cs)
{
    const char *type = cs->options[SP_CS_VALUE_CAPTURE_TYPE];
    return type ? type : "OLD_AND_NEW_VALUES";
}

static bool option_true(const struct sp_change_stream *cs, enum sp_change_stream_option o)
{
    return cs->options[o] && strcmp(cs->options[o], "true") == 0;
}

static bool excluded(const struct sp_change_stream *cs, const char *op, bool system)
{
    return (strcmp(op, "INSERT") == 0 && option_true(cs, SP_CS_EXCLUDE_INSERT)) ||
           (strcmp(op, "UPDATE") == 0 && option_true(cs, SP_CS_EXCLUDE_UPDATE)) ||
           (strcmp(op, "DELETE") == 0 && (option_true(cs, SP_CS_EXCLUDE_DELETE) ||
                                          (system && option_true(cs, SP_CS_EXCLUDE_TTL_DELETES))));
}

static bool column_tracked(const struct sp_change_stream *cs,
                           const struct sp_change_stream_table *entry, const struct sp_table *t,
                           const char *column)
{
    if (sp_table_is_key(t, column))
        return false;
    if (cs->for_all || !entry || entry->all_columns)
        return true;
    for (int k = 0; k < entry->ncolumns; k++)
        if (strcasecmp(entry->columns[k], column) == 0)
            return true;
    return false;
}

static void copy_value(cJSON *to, const cJSON *row, const char *column)
{
    const cJSON *value = cJSON_GetObjectItem(row, column);
    cJSON_AddItemToObject(to, column, value ? cJSON_Duplicate(value, true) : cJSON_CreateNull());
}

/* One mod of a change as the stream records it: {"keys", "new", "old"}; NULL when the
 * change touches none of the columns it tracks (an update of other columns). */
static cJSON *build_mod(const struct sp_change_stream *cs,
                        const struct sp_change_stream_table *entry, const struct sp_table *t,
                        const cJSON *change)
{
    const char *op = cJSON_GetObjectItem(change, "op")->valuestring;
    const cJSON *old_row = cJSON_GetObjectItem(change, "old");
    const cJSON *new_row = cJSON_GetObjectItem(change, "new");
    const char *type = capture_type(cs);
    bool whole_new = strncmp(type, "NEW_ROW", 7) == 0;
    bool old_kept =
        strcmp(type, "OLD_AND_NEW_VALUES") == 0 || strcmp(type, "NEW_ROW_AND_OLD_VALUES") == 0;
    cJSON *mod = cJSON_CreateObject();
    cJSON *keys = cJSON_AddObjectToObject(mod, "keys");
    cJSON *new_values = cJSON_AddObjectToObject(mod, "new");
    cJSON *old_values = cJSON_AddObjectToObject(mod, "old");
    bool any = strcmp(op, "UPDATE") != 0;
    for (int k = 0; k < t->nkey; k++)
        copy_value(keys, strcmp(op, "DELETE") == 0 ? old_row : new_row, t->key[k].column);
    for (int i = 0; i < t->ncolumns; i++) {
        const char *c = t->columns[i].name;
        if (t->columns[i].generated_sql || !column_tracked(cs, entry, t, c))
            continue;
        if (strcmp(op, "INSERT") == 0) {
            copy_value(new_values, new_row, c);
        } else if (strcmp(op, "DELETE") == 0) {
            if (old_kept)
                copy_value(old_values, old_row, c);
        } else {
            bool changed = !cJSON_Compare(cJSON_GetObjectItem(old_row, c),
                                          cJSON_GetObjectItem(new_row, c), true);
            any |= changed;
            if (changed || whole_new)
                copy_value(new_values, new_row, c);
            if (changed && old_kept)
                copy_value(old_values, old_row, c);
        }
    }
    if (!any) {
        cJSON_Delete(mod);
        return NULL;
    }
    return mod;
}

static char *print_object(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}

/* column_types: the key columns and those the mods carry, in the table's order. */
static cJSON *column_types(const struct sp_table *t, const cJSON *mods)
{
    cJSON *types = cJSON_CreateArray();
    for (int i = 0; types && i < t->ncolumns; i++) {
        const struct sp_column *c = &t->columns[i];
        bool key = sp_table_is_key(t, c->name), present = key;
        const cJSON *mod;
        cJSON_ArrayForEach(mod, mods)
        {
            present |= cJSON_GetObjectItem(cJSON_GetObjectItem(mod, "new"), c->name) != NULL ||
                       cJSON_GetObjectItem(cJSON_GetObjectItem(mod, "old"), c->name) != NULL;
        }
        if (!present)
            continue;
        cJSON *type = sp_type_to_json(&c->type);
        char *type_text = type ? print_object(type) : NULL;
        cJSON_Delete(type);
        char ordinal[16];
        snprintf(ordinal, sizeof(ordinal), "%d", i + 1);
        cJSON *entry = cJSON_CreateArray();
        cJSON_AddItemToArray(entry, cJSON_CreateString(c->name));
        cJSON_AddItemToArray(entry, cJSON_CreateString(type_text ? type_text : "{}"));
        cJSON_AddItemToArray(entry, cJSON_CreateBool(key));
        cJSON_AddItemToArray(entry, cJSON_CreateString(ordinal));
        cJSON_AddItemToArray(types, entry);
        free(type_text);
    }
    return types;
}

/* A data change record's STRUCT value (its fields in the rowType's order), from one group
 * of mods; its sequence number and the transaction's count are filled in by the caller. */
static cJSON *record(const struct sp_change_stream *cs, const struct sp_table *t, const char *op,
                     cJSON *mods, const char *commit_text, const char *txn_text, bool system)
{
    cJSON *mods_json = cJSON_CreateArray();
    const cJSON *mod;
    cJSON_ArrayForEach(mod, mods)
    {
        cJSON *m = cJSON_CreateArray();
        const char *parts[] = {"keys", "new", "old"};
        for (int i = 0; i < 3; i++) {
            char *text = print_object(cJSON_GetObjectItem(mod, parts[i]));
            cJSON_AddItemToArray(m, cJSON_CreateString(text ? text : "{}"));
            free(text);
        }
        cJSON_AddItemToArray(mods_json, m);
    }
    cJSON *r = cJSON_CreateArray();
    cJSON_AddItemToArray(r, cJSON_CreateString(commit_text));
    cJSON_AddItemToArray(r, cJSON_CreateString("")); /* record_sequence, later */
    cJSON_AddItemToArray(r, cJSON_CreateString(txn_text));
    cJSON_AddItemToArray(r, cJSON_CreateFalse()); /* is_last_record_in_transaction_in_partition */
    cJSON_AddItemToArray(r, cJSON_CreateString(t->name));
    cJSON_AddItemToArray(r, column_types(t, mods));
    cJSON_AddItemToArray(r, mods_json);
    cJSON_AddItemToArray(r, cJSON_CreateString(op));
    cJSON_AddItemToArray(r, cJSON_CreateString(capture_type(cs)));
    cJSON_AddItemToArray(r, cJSON_CreateString(""));  /* number_of_records_in_transaction */
    cJSON_AddItemToArray(r, cJSON_CreateString("1")); /* number_of_partitions_in_transaction */
    cJSON_AddItemToArray(r, cJSON_CreateString(""));  /* transaction_tag, later */
    cJSON_AddItemToArray(r, cJSON_CreateBool(system));
    cJSON_Delete(mods);
    return r;
}

/* The records of one stream for the captured changes: consecutive changes of one table and
 * kind make one record. */
static cJSON *stream_records(const struct sp_change_stream *cs, const struct sp_schema *schema,
                             const cJSON *changes, const char *commit_text, const char *txn_text,
                             const char *tag, bool system)
{
    cJSON *records = cJSON_CreateArray();
    const struct sp_table *group_table = NULL;
    const char *group_op = NULL;
    cJSON *mods = NULL;
    const cJSON *change;
    cJSON_ArrayForEach(change, changes)
    {
        const struct sp_table *t =
            sp_schema_table(schema, cJSON_GetObjectItem(change, "table")->valuestring);
        const char *op = cJSON_GetObjectItem(change, "op")->valuestring;
        const struct sp_change_stream_table *entry = t ? tracking(cs, t->name) : NULL;
        if (!t || (!cs->for_all && !entry) || excluded(cs, op, system))
            continue;
        cJSON *mod = build_mod(cs, entry, t, change);
        if (!mod)
            continue;
        if (mods && (group_table != t || strcmp(group_op, op) != 0)) {
            cJSON_AddItemToArray(
                records, record(cs, group_table, group_op, mods, commit_text, txn_text, system));
            mods = NULL;
        }
        if (!mods)
            mods = cJSON_CreateArray();
        group_table = t;
        group_op = op;
        cJSON_AddItemToArray(mods, mod);
    }
    if (mods)
        cJSON_AddItemToArray(
            records, record(cs, group_table, group_op, mods, commit_text, txn_text, system));
    /* the transaction's count, each record's place, the last one, its tag */
    int count = cJSON_GetArraySize(records), seq = 0;
    char text[16];
    cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        snprintf(text, sizeof(text), "%08d", seq++);
        cJSON_ReplaceItemInArray(r, 1, cJSON_CreateString(text));
        cJSON_ReplaceItemInArray(r, 3, cJSON_CreateBool(seq == count));
        snprintf(text, sizeof(text), "%d", count);
        cJSON_ReplaceItemInArray(r, 9, cJSON_CreateString(text));
        cJSON_ReplaceItemInArray(r, 11, cJSON_CreateString(tag ? tag : ""));
    }
    return records;
}

static enum em_code insert_records(sqlite3 *sqlite, const char *stream, int64_t commit_ns,
                                   const cJSON *records, struct em_status *st)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(sqlite,
                                "INSERT INTO \"$changes\" (stream, commit_ns, seq, record) "
                                "VALUES (lower(?1), ?2, ?3, ?4)",
                                -1, &stmt, NULL);
    int seq = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, records)
    {
        if (rc != SQLITE_OK && rc != SQLITE_DONE)
            break;
        char *text = cJSON_PrintUnformatted(r);
        if (!text) {
            sqlite3_finalize(stmt);
            return EM_FAIL_OOM(st);
        }
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, stream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, commit_ns);
        sqlite3_bind_int(stmt, 3, seq++);
        sqlite3_bind_text(stmt, 4, text, -1, free);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK || rc == SQLITE_DONE ? EM_OK : sp_sql_error(sqlite, rc, st);
}

enum em_code sp_change_log_write(struct sp_change_log *log, const struct sp_schema *schema,
                                 sqlite3 *sqlite, int64_t commit_ns, uint64_t txn, bool system,
                                 bool excluded, const char *tag, struct em_status *st)
{
    if (log->failed) {
        sp_change_log_clear(log);
        return EM_FAIL(st, EM_INTERNAL,
                       "The change streams' records of this commit could not be kept; the "
                       "commit was not applied.");
    }
    if (!log->changes || !schema) {
        sp_change_log_clear(log);
        return EM_OK;
    }
    char commit_text[EM_TIME_TEXT_MAX], txn_text[32];
    em_time_format(commit_ns, commit_text);
    snprintf(txn_text, sizeof(txn_text), "%llu", (unsigned long long)txn);
    char *error = NULL;
    if (sqlite3_exec(sqlite, SP_CHANGES_TABLE_SQL, NULL, NULL, &error) != SQLITE_OK) {
        EM_FAIL(st, EM_INTERNAL, "Cannot keep change records: %s", error ? error : "");
        sqlite3_free(error);
    }
    for (int i = 0; !st->code && i < schema->nchange_streams; i++) {
        const struct sp_change_stream *cs = schema->change_streams[i];
        if (excluded && option_true(cs, SP_CS_ALLOW_TXN_EXCLUSION))
            continue;
        cJSON *records =
            stream_records(cs, schema, log->changes, commit_text, txn_text, tag, system);
        if (!records)
            EM_FAIL_OOM(st);
        else
            insert_records(sqlite, cs->name, commit_ns, records, st);
        cJSON_Delete(records);
    }
    sp_change_log_clear(log);
    return st->code;
}

/* ---- retention ---- */

int64_t sp_change_stream_retention(const struct sp_change_stream *cs)
{
    int64_t ns;
    const char *text = cs->options[SP_CS_RETENTION_PERIOD];
    return text && sp_duration_parse(text, &ns) ? ns : SP_CHANGE_RETENTION_DEFAULT_NS;
}

void sp_change_prune_sql(const struct sp_schema *schema, int64_t now, struct sp_buf *out)
{
    if (!schema)
        return;
    sp_buf_puts(out, SP_CHANGES_TABLE_SQL "\nDELETE FROM \"$changes\" WHERE stream NOT IN (''");
    for (int i = 0; i < schema->nchange_streams; i++)
        sp_buf_printf(out, ", lower('%s')", schema->change_streams[i]->name); /* no quote */
    sp_buf_puts(out, ");\n");
    for (int i = 0; i < schema->nchange_streams; i++) {
        const struct sp_change_stream *cs = schema->change_streams[i];
        sp_buf_printf(out,
                      "DELETE FROM \"$changes\" WHERE stream = lower('%s') AND commit_ns < %lld;\n",
                      cs->name, (long long)(now - sp_change_stream_retention(cs)));
    }
}

/* ---- queries ---- */

/* The query's shape, parsed: SELECT ChangeRecord|* FROM READ_<name> [AS alias] (args) */
struct change_args {
    const struct sp_token *stream_token;
    const struct sp_token *values[4];      /* start, end, token, heartbeat: NULL when absent */
    const struct sp_token *value_types[4]; /* TIMESTAMP before a literal, or NULL */
};

static const char *const arg_names[4] = {"start_timestamp", "end_timestamp", "partition_token",
                                         "heartbeat_milliseconds"};

/* One argument's value: a literal (a TIMESTAMP literal), NULL, a parameter, or
 * CURRENT_TIMESTAMP(); returns false when it is none of them. */
static bool read_value(struct sp_parser *p, struct change_args *a, int which)
{
    const struct sp_token *tok = sp_peek(p);
    if (sp_token_is_keyword(tok, "TIMESTAMP") && sp_peek_at(p, 1)->kind == SP_TOK_STRING) {
        a->value_types[which] = tok;
        sp_next(p);
        tok = sp_peek(p);
    }
    if (sp_token_is_keyword(tok, "CURRENT_TIMESTAMP") && sp_token_is_op(sp_peek_at(p, 1), "(") &&
        sp_token_is_op(sp_peek_at(p, 2), ")")) {
        a->values[which] = tok;
        p->pos += 3;
        return true;
    }
    if (tok->kind != SP_TOK_STRING && tok->kind != SP_TOK_INT && tok->kind != SP_TOK_PARAM &&
        !sp_token_is_keyword(tok, "NULL"))
        return false;
    a->values[which] = tok;
    sp_next(p);
    return true;
}

static enum em_code parse_args(struct sp_parser *p, struct change_args *a)
{
    if (sp_expect_op(p, "("))
        return p->st->code;
    for (int n = 0; !sp_token_is_op(sp_peek(p), ")"); n++) {
        if (n && sp_expect_op(p, ","))
            return p->st->code;
        int which = n;
        const struct sp_token *name = sp_peek(p);
        if (name->kind == SP_TOK_IDENT && sp_token_is_op(sp_peek_at(p, 1), "=>")) {
            which = -1;
            for (int i = 0; i < 4; i++)
                if (strcasecmp(name->value, arg_names[i]) == 0)
                    which = i;
            if (which < 0)
                return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                               "Unknown argument %.64s of the change stream function [at %d:%d]",
                               name->value, name->line, name->column);
            p->pos += 2;
        } else if (n >= 4) {
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "The change stream function takes at most 4 arguments [at %d:%d]",
                           name->line, name->column);
        }
        const struct sp_token *at = sp_peek(p);
        if (!read_value(p, a, which) ||
            (!sp_token_is_op(sp_peek(p), ",") && !sp_token_is_op(sp_peek(p), ")")))
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Argument %s of a change stream query must be a literal, NULL, a "
                           "query parameter or CURRENT_TIMESTAMP() [at %d:%d]",
                           arg_names[which], at->line, at->column);
    }
    sp_next(p);
    return EM_OK;
}

/* SELECT ChangeRecord FROM READ_x(...): EM_NOT_FOUND (no status) when sql is another
 * query. */
static enum em_code parse_shape(struct sp_parser *p, struct change_args *a)
{
    if (!sp_accept_keyword(p, "SELECT"))
        return EM_NOT_FOUND;
    const struct sp_token *what = sp_peek(p);
    if (!sp_token_is_op(what, "*") && !(what->kind != SP_TOK_STRING && what->value &&
                                        strcasecmp(what->value, "ChangeRecord") == 0))
        return EM_NOT_FOUND;
    sp_next(p);
    if (!sp_accept_keyword(p, "FROM"))
        return EM_NOT_FOUND;
    const struct sp_token *fn = sp_peek(p);
    if ((fn->kind != SP_TOK_IDENT && fn->kind != SP_TOK_QUOTED_IDENT) ||
        strncasecmp(fn->value, "READ_", 5) != 0 || !sp_token_is_op(sp_peek_at(p, 1), "("))
        return EM_NOT_FOUND;
    sp_next(p);
    a->stream_token = fn;
    if (parse_args(p, a))
        return p->st->code;
    if (sp_accept_keyword(p, "AS") || sp_peek(p)->kind == SP_TOK_IDENT)
        sp_next(p); /* an alias */
    sp_accept_op(p, ";");
    if (sp_peek(p)->kind != SP_TOK_EOF)
        return sp_syntax_error(p);
    return EM_OK;
}

/* The text of a parameter's value (a string, or a number), or NULL when it is NULL. */
static enum em_code param_value(const struct sp_token *tok, const cJSON *params, const char **out,
                                char *number, size_t size, struct em_status *st)
{
    const cJSON *value = cJSON_GetObjectItem(params, tok->value);
    if (!value)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No parameter found for binding: %.128s",
                       tok->value);
    *out = NULL;
    if (cJSON_IsString(value))
        *out = value->valuestring;
    else if (cJSON_IsNumber(value)) {
        snprintf(number, size, "%.0f", value->valuedouble);
        *out = number;
    } else if (!cJSON_IsNull(value))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value for parameter %.128s", tok->value);
    return EM_OK;
}

/* An argument's value as text (NULL: SQL NULL); *now_used when CURRENT_TIMESTAMP(). */
static enum em_code arg_text(const struct change_args *a, int which, const cJSON *params, char *buf,
                             size_t size, const char **out, bool *current, struct em_status *st)
{
    const struct sp_token *tok = a->values[which];
    *out = NULL;
    *current = false;
    if (!tok || sp_token_is_keyword(tok, "NULL"))
        return EM_OK;
    if (sp_token_is_keyword(tok, "CURRENT_TIMESTAMP")) {
        *current = true;
        return EM_OK;
    }
    if (tok->kind == SP_TOK_PARAM)
        return param_value(tok, params, out, buf, size, st);
    *out = tok->value;
    return EM_OK;
}

static enum em_code timestamp_arg(const struct change_args *a, int which, const cJSON *params,
                                  int64_t now, int64_t *ns, bool *is_null, struct em_status *st)
{
    char buf[64];
    const char *text;
    bool current;
    if (arg_text(a, which, params, buf, sizeof(buf), &text, &current, st))
        return st->code;
    *is_null = !text && !current;
    if (current) {
        *ns = now;
        return EM_OK;
    }
    struct sp_timestamp ts;
    if (text && !sp_timestamp_parse_text(text, "UTC", &ts))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s: %.64s is not a timestamp.",
                       arg_names[which], text);
    if (!text)
        return EM_OK;
    /* the emulator's clock counts nanoseconds in 64 bits (1678 to 2262): an end past that
     * (Beam's readers pass 9999-12-31) is no end; a start outside it cannot be served */
    int64_t max_seconds = INT64_MAX / 1000000000LL - 1;
    if (ts.seconds > max_seconds && which == 1) {
        *is_null = true;
        return EM_OK;
    }
    if (ts.seconds > max_seconds || ts.seconds < -max_seconds)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "%s %.64s is outside the range of timestamps this emulator serves "
                       "(1678 to 2262).",
                       arg_names[which], text);
    *ns = ts.seconds * 1000000000LL + ts.nanos;
    return EM_OK;
}

/* partition_token: NULL, or the token of this stream's one partition. */
static char *partition_token(const char *stream)
{
    char raw[200];
    int n = snprintf(raw, sizeof(raw), "spanner-emulator-change-stream-partition:");
    for (const char *c = stream; *c && n < (int)sizeof(raw) - 1; c++)
        raw[n++] = (char)tolower((unsigned char)*c);
    raw[n] = '\0';
    return em_b64_encode((const unsigned char *)raw, (size_t)n);
}

static enum em_code check_args(const struct sp_schema *schema, const struct change_args *a,
                               const cJSON *params, int64_t now, struct sp_change_query *q,
                               struct em_status *st)
{
    const struct sp_change_stream *cs = sp_schema_change_stream(schema, a->stream_token->value + 5);
    if (!cs)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Table-valued function not found: %.140s [at %d:%d]", a->stream_token->value,
                       a->stream_token->line, a->stream_token->column);
    snprintf(q->stream, sizeof(q->stream), "%s", cs->name);
    bool start_null, end_null;
    char start_text[EM_TIME_TEXT_MAX], end_text[EM_TIME_TEXT_MAX];
    if (timestamp_arg(a, 0, params, now, &q->start_ns, &start_null, st) ||
        timestamp_arg(a, 1, params, now, &q->end_ns, &end_null, st))
        return st->code;
    if (start_null)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "start_timestamp must not be null.");
    if (end_null)
        q->end_ns = 0;
    em_time_format(q->start_ns, start_text);
    if (!end_null && q->end_ns < q->start_ns) {
        em_time_format(q->end_ns, end_text);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "If end_timestamp is specified, start_timestamp must be <= end_timestamp. "
                       "Received start_timestamp: %s, end_timestamp: %s.",
                       start_text, end_text);
    }
    int64_t earliest = now - sp_change_stream_retention(cs);
    if (q->start_ns < earliest) {
        em_time_format(earliest, end_text);
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "Specified start_timestamp is too far in the past. Please specify a "
                       "start_timestamp within the retention period of change stream %s: %s. "
                       "Received start_timestamp: %s.",
                       cs->name, end_text, start_text);
    }
    char buf[64];
    const char *text;
    bool current;
    if (arg_text(a, 3, params, buf, sizeof(buf), &text, &current, st))
        return st->code;
    char *end = NULL;
    long long heartbeat = text ? strtoll(text, &end, 10) : 0;
    if (!text || current || *end || heartbeat < 100 || heartbeat > 300000)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "heartbeat_milliseconds must be within min 100 and max 300000. Received "
                       "heartbeat_milliseconds: %.32s.",
                       text ? text : "NULL");
    q->heartbeat_ms = heartbeat;
    if (arg_text(a, 2, params, buf, sizeof(buf), &text, &current, st))
        return st->code;
    q->initial = !text && !current;
    char *expected = partition_token(cs->name);
    bool ours = expected && text && strcmp(text, expected) == 0;
    free(expected);
    if (!q->initial && !ours)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Specified partition_token is invalid, as it does not belong to the Change "
                       "Stream associated with the TVF. Received partition_token: %.100s.",
                       text ? text : "CURRENT_TIMESTAMP()");
    return EM_OK;
}

bool sp_change_query_shape(const char *sql)
{
    struct sp_arena arena = {0};
    struct sp_parser p;
    struct change_args a = {0};
    struct em_status quiet = {0};
    bool shape =
        sp_parser_init(&p, &arena, sql, &quiet) == EM_OK && parse_shape(&p, &a) != EM_NOT_FOUND;
    sp_arena_free(&arena);
    return shape;
}

enum em_code sp_change_query_parse(const struct sp_schema *schema, const char *sql,
                                   const cJSON *params, const cJSON *param_types, int64_t now,
                                   struct sp_change_query *q, struct em_status *st)
{
    (void)param_types; /* the arguments' types are known: their values are read as such */
    struct sp_arena arena = {0};
    struct sp_parser p;
    struct change_args a = {0};
    struct em_status quiet = {0};
    *q = (struct sp_change_query){0};
    /* a statement the lexer refuses is not ours to judge: the translator reports it */
    enum em_code code = sp_parser_init(&p, &arena, sql, &quiet);
    if (code == EM_OK) {
        p.st = st;
        code = parse_shape(&p, &a);
    } else {
        code = EM_NOT_FOUND;
    }
    if (code == EM_OK)
        code = schema ? check_args(schema, &a, params, now, q, st)
                      : EM_FAIL(st, EM_INVALID_ARGUMENT, "Table-valued function not found.");
    sp_arena_free(&arena);
    return code;
}

/* ---- the result ---- */

static const char row_type_json[] =
    "{\"fields\":[{\"name\":\"ChangeRecord\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":"
    "{\"code\":\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"data_change_record\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":"
    "\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"commit_timestamp\",\"type\":{\"code\":\"TIMESTAMP\"}},"
    "{\"name\":\"record_sequence\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"server_transaction_id\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"is_last_record_in_transaction_in_partition\",\"type\":{\"code\":\"BOOL\"}},"
    "{\"name\":\"table_name\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"column_types\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":"
    "\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"name\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"type\",\"type\":{\"code\":\"JSON\"}},"
    "{\"name\":\"is_primary_key\",\"type\":{\"code\":\"BOOL\"}},"
    "{\"name\":\"ordinal_position\",\"type\":{\"code\":\"INT64\"}}]}}}},"
    "{\"name\":\"mods\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":\"STRUCT\","
    "\"structType\":{\"fields\":["
    "{\"name\":\"keys\",\"type\":{\"code\":\"JSON\"}},"
    "{\"name\":\"new_values\",\"type\":{\"code\":\"JSON\"}},"
    "{\"name\":\"old_values\",\"type\":{\"code\":\"JSON\"}}]}}}},"
    "{\"name\":\"mod_type\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"value_capture_type\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"number_of_records_in_transaction\",\"type\":{\"code\":\"INT64\"}},"
    "{\"name\":\"number_of_partitions_in_transaction\",\"type\":{\"code\":\"INT64\"}},"
    "{\"name\":\"transaction_tag\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"is_system_transaction\",\"type\":{\"code\":\"BOOL\"}}]}}}},"
    "{\"name\":\"heartbeat_record\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":"
    "\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"timestamp\",\"type\":{\"code\":\"TIMESTAMP\"}}]}}}},"
    "{\"name\":\"child_partitions_record\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{"
    "\"code\":\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"start_timestamp\",\"type\":{\"code\":\"TIMESTAMP\"}},"
    "{\"name\":\"record_sequence\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"child_partitions\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{\"code\":"
    "\"STRUCT\",\"structType\":{\"fields\":["
    "{\"name\":\"token\",\"type\":{\"code\":\"STRING\"}},"
    "{\"name\":\"parent_partition_tokens\",\"type\":{\"code\":\"ARRAY\",\"arrayElementType\":{"
    "\"code\":\"STRING\"}}}]}}}}]}}}}]}}}}]}";

cJSON *sp_change_row_type(void)
{
    return cJSON_Parse(row_type_json);
}

/* A row: [ChangeRecord], ChangeRecord one STRUCT of the three arrays, one of them set. */
static cJSON *change_row(cJSON *data, cJSON *heartbeat, cJSON *partitions)
{
    cJSON *fields = cJSON_CreateArray();
    cJSON_AddItemToArray(fields, data ? data : cJSON_CreateArray());
    cJSON_AddItemToArray(fields, heartbeat ? heartbeat : cJSON_CreateArray());
    cJSON_AddItemToArray(fields, partitions ? partitions : cJSON_CreateArray());
    cJSON *change_record = cJSON_CreateArray();
    cJSON_AddItemToArray(change_record, fields);
    cJSON *row = cJSON_CreateArray();
    cJSON_AddItemToArray(row, change_record);
    return row;
}

cJSON *sp_change_partitions_row(const struct sp_change_query *q)
{
    char start[EM_TIME_TEXT_MAX];
    em_time_format(q->start_ns, start);
    char *token = partition_token(q->stream);
    cJSON *child = cJSON_CreateArray();
    cJSON_AddItemToArray(child, cJSON_CreateString(token ? token : ""));
    cJSON_AddItemToArray(child, cJSON_CreateArray());
    free(token);
    cJSON *children = cJSON_CreateArray();
    cJSON_AddItemToArray(children, child);
    cJSON *rec = cJSON_CreateArray();
    cJSON_AddItemToArray(rec, cJSON_CreateString(start));
    cJSON_AddItemToArray(rec, cJSON_CreateString("00000000"));
    cJSON_AddItemToArray(rec, children);
    cJSON *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, rec);
    return change_row(NULL, NULL, list);
}

cJSON *sp_change_heartbeat_row(int64_t ns)
{
    char text[EM_TIME_TEXT_MAX];
    em_time_format(ns, text);
    cJSON *rec = cJSON_CreateArray();
    cJSON_AddItemToArray(rec, cJSON_CreateString(text));
    cJSON *list = cJSON_CreateArray();
    cJSON_AddItemToArray(list, rec);
    return change_row(NULL, list, NULL);
}

enum em_code sp_change_fetch(sqlite3 *sqlite, const char *stream, int64_t after_ns, int64_t upto_ns,
                             cJSON *rows, struct em_status *st)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_exec(sqlite, SP_CHANGES_TABLE_SQL, NULL, NULL, NULL) != SQLITE_OK)
        return sp_sql_error(sqlite, sqlite3_errcode(sqlite), st);
    int rc = sqlite3_prepare_v2(sqlite,
                                "SELECT record FROM \"$changes\" WHERE stream = lower(?1) AND "
                                "commit_ns > ?2 AND commit_ns <= ?3 ORDER BY commit_ns, seq",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, stream, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, after_ns);
        sqlite3_bind_int64(stmt, 3, upto_ns);
    }
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cJSON *rec = cJSON_Parse((const char *)sqlite3_column_text(stmt, 0));
        if (!rec) {
            sqlite3_finalize(stmt);
            return EM_FAIL(st, EM_INTERNAL, "A change record of %s cannot be read.", stream);
        }
        cJSON *list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, rec);
        cJSON_AddItemToArray(rows, change_row(list, NULL, NULL));
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? EM_OK : sp_sql_error(sqlite, rc, st);
}
