/*
 * spanner_exec: queries, DML, reads and commits as writer-thread jobs (see
 * spanner_exec.h).
 * Reference:
 * https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.databases.sessions
 */
#include "spanner_exec.h"

#include "spanner_change_records.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_http.h"
#include "em_json.h"
#include "em_log.h"
#include "spanner_data.h"
#include "spanner_keyset.h"
#include "spanner_plan.h"
#include "spanner_roles.h"
#include "spanner_schema.h"
#include "spanner_stream.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_keys.h"
#include "spanner_sql_translate.h"
#include "spanner_txn.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SP_KEY_MAX             64
#define COMMIT_TIMESTAMP_VALUE "spanner.commit_timestamp()"

void sp_result_clear(struct sp_result *r)
{
    cJSON_Delete(r->fields);
    cJSON_Delete(r->undeclared);
    cJSON_Delete(r->rows);
    cJSON_Delete(r->query_plan);
    cJSON_Delete(r->query_stats);
    *r = (struct sp_result){0};
}

/* --- the tables a job touched --- */

struct tables {
    char **names;
    int count;
};

static void tables_add(struct tables *t, char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int k = 0; k < t->count && !known; k++)
            known = strcmp(t->names[k], names[i]) == 0;
        char **grown = known ? NULL : realloc(t->names, (size_t)(t->count + 1) * sizeof(*grown));
        char *copy = grown ? strdup(names[i]) : NULL;
        if (grown)
            t->names = grown;
        if (copy)
            t->names[t->count++] = copy;
    }
}

static void tables_free(struct tables *t)
{
    for (int i = 0; i < t->count; i++)
        free(t->names[i]);
    free(t->names);
    *t = (struct tables){0};
}

/* The key spans statements read of a table (spanner_sql_keys.h), one entry per run. */
struct key_reads {
    char **tables;
    struct sp_key_spans *spans;
    int count;
};

/* What a statement touched: reads (DML targets included: DML reads before it writes),
 * whole or by key, and writes; and the columns its DML wrote PENDING_COMMIT_TIMESTAMP()
 * to, each as "Table.Column" (Spanner's identifiers have no dot). Key reads are collected
 * only when wanted: for a read-write transaction's statements, not while its earlier DML
 * is replayed (they were when it first ran). */
struct touched {
    struct tables reads, writes, pending;
    struct key_reads keys;
    bool want_keys;
    bool write_failed; /* a DML statement failed at a write check (a constraint) */
};

/* Adds names to list, but for those in except[0..nexcept) (any case). */
static void tables_add_but(struct tables *list, char *const *names, int n,
                           const char *const *except, int nexcept)
{
    for (int i = 0; i < n; i++) {
        bool excepted = false;
        for (int k = 0; k < nexcept && !excepted; k++)
            excepted = strcasecmp(names[i], except[k]) == 0;
        if (!excepted)
            tables_add(list, &names[i], 1);
    }
}

/* A statement's tables; those in narrowed[0..n) are not read whole (their reads are key
 * spans, or none), and its writes are read unless `blind`. */
static void touched_add(struct touched *t, const struct sp_stmt *s, const char *const *narrowed,
                        int n, bool blind)
{
    tables_add_but(&t->reads, s->reads, s->nreads, narrowed, n);
    if (!blind)
        tables_add_but(&t->reads, s->writes, s->nwrites, narrowed, n);
    tables_add(&t->writes, s->writes, s->nwrites);
}

/* Keeps spans (taken: *spans is emptied) as read of table; false when out of memory. */
static bool key_reads_add(struct key_reads *k, const char *table, struct sp_key_spans *spans)
{
    char **tables = realloc(k->tables, (size_t)(k->count + 1) * sizeof(*tables));
    if (tables)
        k->tables = tables;
    struct sp_key_spans *grown =
        tables ? realloc(k->spans, (size_t)(k->count + 1) * sizeof(*grown)) : NULL;
    if (grown)
        k->spans = grown;
    char *name = grown ? strdup(table) : NULL;
    if (!name)
        return false;
    k->tables[k->count] = name;
    k->spans[k->count++] = *spans;
    *spans = (struct sp_key_spans){0};
    return true;
}

static void touched_free(struct touched *t)
{
    tables_free(&t->reads);
    tables_free(&t->writes);
    tables_free(&t->pending);
    for (int i = 0; i < t->keys.count; i++) {
        free(t->keys.tables[i]);
        sp_key_spans_clear(&t->keys.spans[i]);
    }
    free(t->keys.tables);
    free(t->keys.spans);
    t->keys = (struct key_reads){0};
}

/* --- translated statements --- */

/* What the cache keeps with a translated statement. */
struct translated_sql {
    struct sp_translation *tr;
    struct sp_sql_keys *keys; /* what it reads of its table by key; NULL: its tables whole */
};

static void translation_free(void *extra)
{
    struct translated_sql *t = extra;
    sp_translation_free(t->tr);
    sp_sql_keys_free(t->keys);
    free(t);
}

/* The request's paramTypes; their STRUCT fields live in arena (the translation copies
 * what it keeps). */
static enum em_code param_decls(const cJSON *types, struct sp_arena *arena,
                                struct sp_param_decl **out, int *n, struct em_status *st)
{
    *out = NULL;
    *n = 0;
    if (!types)
        return EM_OK;
    if (!cJSON_IsObject(types))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "paramTypes must be a map of parameter types.");
    int count = cJSON_GetArraySize(types);
    struct sp_param_decl *decls = calloc((size_t)count + 1, sizeof(*decls));
    if (!decls)
        return EM_FAIL_OOM(st);
    const cJSON *item;
    cJSON_ArrayForEach(item, types)
    {
        decls[*n].name = item->string;
        if (sp_type_from_json(item, item->string, arena, &decls[*n].type, st)) {
            free(decls);
            *n = 0;
            return st->code;
        }
        (*n)++;
    }
    *out = decls;
    return EM_OK;
}

/* How a statement may run: a query only (single-use, read-only), DML too (read-write), or
 * as Partitioned DML (sp_translate_partitioned's rules). */
enum run_mode { RUN_QUERY, RUN_DML, RUN_PARTITIONED };

/* sql translated for mode, with what it reads by key; NULL with st set. role: the
 * database role whose view of INFORMATION_SCHEMA it reads (NULL: all of it). */
static struct translated_sql *translate(struct sp_job_ctx *ctx, const char *sql,
                                        const struct sp_param_decl *decls, int n,
                                        enum run_mode mode, int64_t read_ns, const char *role,
                                        struct em_status *st)
{
    struct translated_sql *t = calloc(1, sizeof(*t));
    if (!t) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    if (sp_translate_as(ctx->schema, sql, decls, n, mode == RUN_PARTITIONED, read_ns, role, &t->tr,
                        st) ||
        sp_sql_keys_plan(ctx->schema, sql, t->tr, &t->keys, st)) {
        translation_free(t);
        return NULL;
    }
    return t;
}

/* The cached statement of a GoogleSQL text with its parameter types, translated for mode
 * and to read as of read_ns (0: the current rows); a partitioned translation, or one at a
 * timestamp, is cached apart, and so is one for a database role that sees part of
 * INFORMATION_SCHEMA (role NULL otherwise). */
static struct sp_stmt *translated(struct sp_job_ctx *ctx, const char *sql, const cJSON *types,
                                  enum run_mode mode, int64_t read_ns, const char *role,
                                  struct em_status *st)
{
    if (role && sp_role_reads_info_schema(ctx->schema, role))
        role = NULL;
    char *types_text = types ? cJSON_PrintUnformatted(types) : NULL;
    size_t len =
        strlen(sql) + (types_text ? strlen(types_text) : 0) + (role ? strlen(role) : 0) + 40;
    char *key = malloc(len);
    if (!key) {
        free(types_text);
        EM_FAIL_OOM(st);
        return NULL;
    }
    snprintf(key, len, "%c%lld\x1f%s\x1f%s\x1f%s", mode == RUN_PARTITIONED ? 'P' : 'G',
             (long long)read_ns, sql, types_text ? types_text : "", role ? role : "");
    free(types_text);
    struct sp_stmt *s = sp_job_cached(ctx, key);
    struct sp_param_decl *decls = NULL;
    int n = 0;
    struct translated_sql *extra = NULL;
    struct sp_arena decl_arena = {0};
    if (!s && !param_decls(types, &decl_arena, &decls, &n, st) &&
        (extra = translate(ctx, sql, decls, n, mode, read_ns, role, st)) != NULL) {
        s = sp_job_prepare(ctx, extra->tr->sql, st);
        if (s) {
            s->extra = extra;
            s->extra_free = translation_free;
            extra = NULL;
            if (sp_job_cache(ctx, key, s, st))
                s = NULL;
        }
    }
    if (extra)
        translation_free(extra);
    free(decls);
    sp_arena_free(&decl_arena);
    free(key);
    return s;
}

/* The error of a parameter's value its type refuses, converted again (only on failure, off
 * the path of every statement) to name it as Spanner does: "Invalid value for bind
 * parameter p: Expected INT64.", or for a mutation's value FAILED_PRECONDITION "Invalid
 * value for column C in table T: Expected INT64.". */
static enum em_code bad_param(const struct sp_sql_request *s, const struct sp_param *p,
                              const cJSON *value, struct em_status *st)
{
    char what[300];
    long column = s->written ? strtol(p->name + 1, NULL, 10) : -1; /* "v3" */
    if (column >= s->nwritten)
        column = -1;
    if (column >= 0)
        snprintf(what, sizeof(what), "column %s in table %s", s->written[column]->name,
                 s->written_table);
    else
        snprintf(what, sizeof(what), "bind parameter %s", p->name);
    struct sp_stored stored;
    em_status_clear(st);
    if (!sp_value_from_json(&p->type, value, what, &stored, st))
        sp_stored_clear(&stored); /* not reached: the same value fails the same way */
    if (column >= 0 && st->code == EM_INVALID_ARGUMENT)
        st->code = EM_FAILED_PRECONDITION;
    return st->code;
}

static enum em_code bind_params(sqlite3_stmt *stmt, const struct sp_translation *tr,
                                const struct sp_sql_request *s, struct em_status *st)
{
    const cJSON *params = s->params;
    if (params && !cJSON_IsObject(params))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "params must be a map of parameter values.");
    for (int i = 0; i < tr->nparams; i++) {
        const struct sp_param *p = &tr->params[i];
        const cJSON *value = cJSON_GetObjectItem(params, p->name);
        if (!value)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "No parameter found for binding: %s", p->name);
        struct sp_stored stored = {0};
        if (sp_value_from_json(&p->type, value, p->name, &stored, st))
            return bad_param(s, p, value, st);
        int rc = sp_stored_bind(stmt, i + 1, &stored);
        sp_stored_clear(&stored);
        if (rc != SQLITE_OK)
            return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

static cJSON *field_json(const char *name, const struct sp_type *type)
{
    cJSON *field = cJSON_CreateObject();
    if (name && name[0])
        cJSON_AddStringToObject(field, "name", name);
    cJSON_AddItemToObject(field, "type", sp_type_to_json(type));
    return field;
}

static _Atomic int64_t time_limit_ms; /* 0: SP_STATEMENT_TIME_LIMIT_S */

void sp_exec_set_time_limit_ms(int64_t ms)
{
    time_limit_ms = ms;
}

/* When a running statement stops: its deadline, or before, when its client goes (NULL:
 * never) or the process stops (a runaway statement would hold the stop until its
 * deadline). */
struct statement_limits {
    int64_t deadline;
    const atomic_bool *client_gone;
};

/* SQLite's progress handler: non-zero stops the statement. */
static int past_limits(void *arg)
{
    const struct statement_limits *limits = arg;
    return em_clock_monotonic() > limits->deadline || em_http_stopping() ||
           (limits->client_gone && atomic_load(limits->client_gone));
}

/* The bytes of a row's values as stored (what its JSON is about the size of). */
static int64_t row_bytes(sqlite3_stmt *stmt, int ncols)
{
    int64_t bytes = 0;
    for (int i = 0; i < ncols; i++)
        bytes += 8 + sqlite3_column_bytes(stmt, i);
    return bytes;
}

static enum em_code too_large(bool streaming, struct em_status *st)
{
    if (!streaming)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Result set too large. Result sets larger than 10.00M can only be yielded "
                       "through the streaming API.");
    return EM_FAIL(st, EM_RESOURCE_EXHAUSTED,
                   "Result set too large for the emulator: it collects the rows a DML "
                   "statement returns before it sends them, at most %ld MiB.",
                   SP_STREAM_RESULT_MAX_BYTES / (1024 * 1024));
}

/* The chunk of rows a streaming statement is filling (see spanner_stream.h). */
struct pending_chunk {
    cJSON *values;
    int64_t rows;
    size_t bytes;
};

/* Hands the chunk to the stream (the row type with the first); an empty one stays. */
static enum em_code flush_chunk(struct sp_result *out, struct pending_chunk *c,
                                struct em_status *st)
{
    if (!c->rows)
        return EM_OK;
    bool first = out->nrows == c->rows;
    struct sp_row_chunk rows = {
        .fields = first ? cJSON_Duplicate(out->fields, true) : NULL,
        .undeclared = first && out->undeclared ? cJSON_Duplicate(out->undeclared, true) : NULL,
        .values = c->values,
        .rows = c->rows,
    };
    enum em_code code = sp_stream_push(out->stream, &rows, c->bytes, st);
    *c = (struct pending_chunk){0};
    return code;
}

/* One row's values, appended to into (a row, or a chunk's flattened values). */
static enum em_code row_values(sqlite3_stmt *stmt, const struct sp_type *const *types, int ncols,
                               cJSON *into, struct em_status *st)
{
    for (int i = 0; i < ncols; i++) {
        cJSON *value = sp_value_to_json(types[i], sqlite3_column_value(stmt, i));
        if (!value)
            return EM_FAIL(st, EM_INTERNAL, "A stored value cannot be read back.");
        cJSON_AddItemToArray(into, value);
    }
    return EM_OK;
}

/* Appends the current row to out: to the chunk being filled when the rows stream (sent
 * once full), else to out->rows within max_bytes. */
static enum em_code take_row(sqlite3_stmt *stmt, const struct sp_type *const *types, int ncols,
                             bool stream, bool streaming, int64_t *bytes, struct sp_result *out,
                             struct pending_chunk *chunk, struct em_status *st)
{
    int64_t size = row_bytes(stmt, ncols);
    int64_t max_bytes = streaming ? SP_STREAM_RESULT_MAX_BYTES : SP_RESULT_MAX_BYTES;
    if (!stream && (*bytes += size) > max_bytes)
        return too_large(streaming, st);
    out->nrows++;
    if (!stream) {
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(out->rows, row);
        return row_values(stmt, types, ncols, row, st);
    }
    if (!chunk->values)
        chunk->values = cJSON_CreateArray();
    chunk->rows++;
    chunk->bytes += (size_t)size;
    if (row_values(stmt, types, ncols, chunk->values, st))
        return st->code;
    if (chunk->rows >= SP_STREAM_CHUNK_ROWS || chunk->bytes >= SP_STREAM_CHUNK_BYTES)
        return flush_chunk(out, chunk, st);
    return EM_OK;
}

/* Steps stmt to its end, with each row (when out) appended to out->rows, or handed to
 * out->stream in chunks when stream is set; within SP_STATEMENT_TIME_LIMIT_S and, rows
 * collected, the result size of a streaming call or not. */
static enum em_code collect_rows(struct sp_job_ctx *ctx, sqlite3_stmt *stmt,
                                 const struct sp_type *const *types, int ncols, bool streaming,
                                 bool stream, const atomic_bool *client_gone, struct sp_result *out,
                                 struct em_status *st)
{
    int rc;
    int64_t limit_ms = time_limit_ms ? time_limit_ms : SP_STATEMENT_TIME_LIMIT_S * 1000LL;
    struct statement_limits limits = {em_clock_monotonic() + limit_ms * 1000000, client_gone};
    int64_t bytes = 0;
    struct pending_chunk chunk = {0};
    sqlite3_progress_handler(ctx->sqlite, 10000, past_limits, &limits);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (out && take_row(stmt, types, ncols, stream, streaming, &bytes, out, &chunk, st)) {
            cJSON_Delete(chunk.values);
            sqlite3_progress_handler(ctx->sqlite, 0, NULL, NULL);
            sqlite3_reset(stmt);
            return st->code;
        }
    }
    sqlite3_progress_handler(ctx->sqlite, 0, NULL, NULL);
    if (rc == SQLITE_DONE && out && flush_chunk(out, &chunk, st)) {
        sqlite3_reset(stmt);
        return st->code;
    }
    cJSON_Delete(chunk.values); /* rows before a failure */
    if (rc == SQLITE_INTERRUPT && em_http_stopping()) {
        sqlite3_reset(stmt);
        return EM_FAIL(st, EM_UNAVAILABLE, "The emulator is stopping.");
    }
    if (rc == SQLITE_INTERRUPT && client_gone && atomic_load(client_gone)) {
        sqlite3_reset(stmt);
        return EM_FAIL(st, EM_CANCELLED, "The client went away: the statement was cancelled.");
    }
    if (rc == SQLITE_INTERRUPT) {
        sqlite3_reset(stmt);
        return EM_FAIL(st, EM_DEADLINE_EXCEEDED,
                       "The statement ran for more than %lld ms, the most the emulator lets one "
                       "statement hold its database, and was stopped.",
                       (long long)limit_ms);
    }
    if (rc != SQLITE_DONE) {
        sp_sql_error(ctx->sqlite, rc, st);
        sqlite3_reset(stmt);
        return st->code;
    }
    return EM_OK;
}

/* --- PENDING_COMMIT_TIMESTAMP() --- */

/* Whether a column of table holds a pending commit timestamp. */
static bool is_pending(const struct tables *pending, const char *table)
{
    size_t n = strlen(table);
    for (int i = 0; i < pending->count; i++)
        if (strncasecmp(pending->names[i], table, n) == 0 && pending->names[i][n] == '.')
            return true;
    return false;
}

static enum em_code pending_error(struct sp_job_ctx *ctx, const char *table, struct em_status *st)
{
    const struct sp_table *known = sp_schema_table(ctx->schema, table);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Table %s cannot be accessed because it, or its associated index, has a "
                   "pending CommitTimestamp",
                   known ? known->name : table);
}

/* Spanner refuses to read a table after the transaction wrote PENDING_COMMIT_TIMESTAMP()
 * to it, until the commit: a query reading it, an UPDATE or DELETE of it (they read the
 * rows they change), THEN RETURN. An INSERT without THEN RETURN reads nothing. */
static enum em_code check_pending_reads(struct sp_job_ctx *ctx, const struct touched *touched,
                                        const struct sp_stmt *prepared,
                                        const struct sp_translation *tr, struct em_status *st)
{
    if (!touched->pending.count)
        return EM_OK;
    if (tr->kind == SP_STMT_QUERY) {
        for (int i = 0; i < prepared->nreads; i++)
            if (is_pending(&touched->pending, prepared->reads[i]))
                return pending_error(ctx, prepared->reads[i], st);
    } else if ((tr->kind != SP_STMT_INSERT || tr->ncolumns > 0) &&
               is_pending(&touched->pending, tr->table)) {
        return pending_error(ctx, tr->table, st);
    }
    return EM_OK;
}

static void pending_add(struct touched *touched, const struct sp_translation *tr)
{
    for (int i = 0; i < tr->npending_columns; i++) {
        char name[2 * SP_NAME_MAX];
        snprintf(name, sizeof(name), "%s.%s", tr->table, tr->pending_columns[i]);
        char *one = name;
        tables_add(&touched->pending, &one, 1);
    }
}

/* The commit: every pending column written gets the commit timestamp, in place of the
 * placeholder the DML wrote (SP_PENDING_COMMIT_TIMESTAMP). */
static enum em_code fill_pending(struct sp_job_ctx *ctx, const struct tables *pending,
                                 int64_t commit_ns, struct em_status *st)
{
    const struct sp_type timestamp = {.code = SP_TYPE_TIMESTAMP};
    struct sp_timestamp ts = {commit_ns / 1000000000, (int32_t)(commit_ns % 1000000000)};
    char text[SP_TIMESTAMP_TEXT_MAX];
    sp_timestamp_format(&ts, text);
    cJSON *json = cJSON_CreateString(text);
    struct sp_stored stored = {0};
    if (!json || sp_value_from_json(&timestamp, json, "commit timestamp", &stored, st)) {
        cJSON_Delete(json);
        return st->code ? st->code : EM_FAIL_OOM(st);
    }
    cJSON_Delete(json);
    for (int i = 0; i < pending->count && !st->code; i++) {
        char table[SP_NAME_MAX];
        const char *dot = strchr(pending->names[i], '.');
        snprintf(table, sizeof(table), "%.*s", (int)(dot - pending->names[i]), pending->names[i]);
        struct sp_buf sql = {0};
        sp_buf_puts(&sql, "UPDATE ");
        sp_buf_ident(&sql, table);
        sp_buf_puts(&sql, " SET ");
        sp_buf_ident(&sql, dot + 1);
        sp_buf_puts(&sql, " = ?1 WHERE ");
        sp_buf_ident(&sql, dot + 1);
        sp_buf_puts(&sql, " = '" SP_PENDING_COMMIT_TIMESTAMP "'");
        struct sp_stmt *s = sql.failed ? NULL : sp_job_stmt(ctx, sql.data, st);
        if (sql.failed)
            EM_FAIL_OOM(st);
        if (s) {
            int rc = sp_stored_bind(s->stmt, 1, &stored);
            if (rc == SQLITE_OK)
                rc = sqlite3_step(s->stmt);
            if (rc != SQLITE_DONE)
                sp_sql_error(ctx->sqlite, rc, st);
            sqlite3_reset(s->stmt);
        }
        sp_buf_free(&sql);
    }
    sp_stored_clear(&stored);
    return st->code;
}

/* --- running statements --- */

/* The spans of one narrowed table (i < 0: the plan's own, else its i-th other) kept as
 * read; false when they cannot be computed (the table is then read whole). */
static bool add_spans(struct touched *touched, const struct sp_sql_keys *keys, int i,
                      const cJSON *params)
{
    struct sp_key_spans spans;
    const char *table = i < 0 ? sp_sql_keys_table(keys) : sp_sql_keys_also_table(keys, i);
    bool computed = i < 0 ? sp_sql_keys_spans(keys, params, &spans)
                          : sp_sql_keys_also_spans(keys, i, params, &spans);
    if (computed && key_reads_add(&touched->keys, table, &spans))
        return true;
    sp_key_spans_clear(&spans);
    return false;
}

/* A statement's tables, those its text pins by key (spanner_sql_keys.h) read only in
 * those spans (computed when wanted: else the DML is replayed, its spans recorded when it
 * first ran, or no read-write transaction keeps them); a table whose spans cannot be
 * computed, whole. */
static void touched_add_statement(struct touched *touched, const struct sp_stmt *prepared,
                                  const struct sp_sql_keys *keys, const cJSON *params)
{
    const char *narrowed[1 + SP_SQL_KEYS_ALSO_MAX] = {0};
    int n = 0;
    enum sp_sql_keys_kind kind = sp_sql_keys_kind(keys);
    if (kind == SP_SQL_KEYS_BLIND ||
        (kind == SP_SQL_KEYS_SPANS &&
         (!touched->want_keys || add_spans(touched, keys, -1, params))))
        narrowed[n++] = sp_sql_keys_table(keys);
    for (int i = 0; n > 0 && i < sp_sql_keys_also_count(keys); i++)
        if (!touched->want_keys || add_spans(touched, keys, i, params))
            narrowed[n++] = sp_sql_keys_also_table(keys, i);
    touched_add(touched, prepared, narrowed, n, kind == SP_SQL_KEYS_BLIND);
}

static bool wants_plan(enum sp_query_mode mode)
{
    return mode == SP_QUERY_PLAN || mode == SP_QUERY_PROFILE ||
           mode == SP_QUERY_WITH_PLAN_AND_STATS;
}

static bool wants_stats(enum sp_query_mode mode)
{
    return mode == SP_QUERY_PROFILE || mode == SP_QUERY_WITH_STATS ||
           mode == SP_QUERY_WITH_PLAN_AND_STATS;
}

/* The result's row type, and the plan when queryMode asks for it. */
static enum em_code start_result(struct sp_job_ctx *ctx, const struct sp_translation *tr,
                                 enum sp_query_mode mode, struct sp_result *out,
                                 struct em_status *st)
{
    bool dml = tr->kind != SP_STMT_QUERY;
    struct sp_stream *stream = out->stream;
    *out = (struct sp_result){cJSON_CreateArray(), cJSON_CreateArray(), dml};
    out->stream = stream;
    for (int i = 0; i < tr->ncolumns; i++)
        cJSON_AddItemToArray(out->fields, field_json(tr->columns[i].name, &tr->columns[i].type));
    for (int i = 0; i < tr->nparams; i++) {
        if (tr->params[i].declared)
            continue;
        if (!out->undeclared)
            out->undeclared = cJSON_CreateArray();
        cJSON_AddItemToArray(out->undeclared, field_json(tr->params[i].name, &tr->params[i].type));
    }
    if (wants_plan(mode) && !(out->query_plan = sp_plan_build(ctx->sqlite, tr->sql, dml, st)))
        return st->code;
    out->planned = mode == SP_QUERY_PLAN;
    return EM_OK;
}

/* Runs one GoogleSQL statement; its result in out (NULL: only its effects). */
static enum em_code run_statement(struct sp_job_ctx *ctx, const struct sp_sql_request *s,
                                  enum run_mode mode, struct sp_result *out,
                                  struct touched *touched, struct em_status *st)
{
    int64_t read_ns = 0;
    if (mode == RUN_QUERY && sp_job_read_time(ctx, s->read_ns, &read_ns, st))
        return st->code;
    sp_job_statement_clock(ctx, s->now_ns, s->uuid_seed, s->draws);
    struct sp_stmt *prepared = translated(ctx, s->sql, s->param_types, mode, read_ns, s->role, st);
    if (!prepared)
        return st->code;
    const struct translated_sql *cached = prepared->extra;
    const struct sp_translation *tr = cached->tr;
    if (s->role && sp_role_check(ctx->schema, s->role, tr->accesses, tr->naccesses, st))
        return st->code;
    bool dml = tr->kind != SP_STMT_QUERY;
    if (!dml && s->dml_only)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Statement %d: '%.200s' is not valid DML.",
                       s->index, s->sql);
    if (dml && mode == RUN_QUERY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "DML statements can only be performed in a read-write or "
                       "partitioned-dml transaction.");
    if (tr->draws_sequence && mode == RUN_QUERY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "GET_NEXT_SEQUENCE_VALUE can only be used in a read-write or "
                       "partitioned-dml transaction.");
    if (check_pending_reads(ctx, touched, prepared, tr, st) ||
        bind_params(prepared->stmt, tr, s, st))
        return st->code;
    if (out && (start_result(ctx, tr, s->mode, out, st) || out->planned))
        return st->code; /* PLAN: the statement does not run */
    /* a query's rows stream as they come; DML's (THEN RETURN) are sent once it succeeded */
    bool stream = out && out->stream && !dml;
    struct sp_plan_clock clock = {0};
    bool measured = out && wants_stats(s->mode); /* a thread's CPU clock is a system call */
    if (measured)
        sp_plan_clock_start(&clock);
    const struct sp_type **types = calloc((size_t)tr->ncolumns + 1, sizeof(*types));
    if (!types)
        return EM_FAIL_OOM(st);
    for (int i = 0; i < tr->ncolumns; i++)
        types[i] = &tr->columns[i].type;
    enum em_code code = collect_rows(ctx, prepared->stmt, types, tr->ncolumns, s->streaming, stream,
                                     s->client_gone, out, st);
    free(types);
    if (code) {
        if (out) /* rows begun before the failure */
            sp_result_clear(out);
        if (dml && (sqlite3_extended_errcode(ctx->sqlite) & 0xFF) == SQLITE_CONSTRAINT)
            touched->write_failed = true;
        return code;
    }
    if (measured)
        out->query_stats = sp_plan_stats(&clock, s->sql, (int)out->nrows);
    if (out && dml) {
        out->row_count = sqlite3_changes(ctx->sqlite);
        out->lower_bound = mode == RUN_PARTITIONED;
    }
    sqlite3_reset(prepared->stmt);
    touched_add_statement(touched, prepared, cached->keys, s->params);
    if (dml)
        pending_add(touched, tr);
    return EM_OK;
}

static enum em_code exec(struct sp_job_ctx *ctx, const char *sql, struct em_status *st)
{
    int rc = sqlite3_exec(ctx->sqlite, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? EM_OK : sp_sql_error(ctx->sqlite, rc, st);
}

/* A read-write transaction's statements so far, inside the savepoint the caller opened. */
static enum em_code replay(struct sp_job_ctx *ctx, const struct sp_txn *txn,
                           struct touched *touched, struct em_status *st)
{
    bool want_keys = touched->want_keys;
    touched->want_keys = false;
    for (int i = 0; i < txn->ndmls && !st->code; i++) {
        const struct sp_dml *d = &txn->dmls[i];
        struct sp_sql_request s = {.sql = d->sql,
                                   .params = d->params,
                                   .param_types = d->param_types,
                                   .now_ns = d->now_ns,
                                   .uuid_seed = d->uuid_seed,
                                   /* appended to if the replay draws more */
                                   .draws = (struct sp_sequence_draws *)&d->draws};
        run_statement(ctx, &s, RUN_DML, NULL, touched, st);
    }
    sp_job_statement_clock(ctx, 0, NULL, NULL); /* what follows runs at the job's own time */
    touched->want_keys = want_keys;
    return st->code;
}

/* --- running a statement's job: waiting for it, or streaming its rows --- */

/* Runs fn(arg) on db; with a sink, out's query rows go to it as they come (spanner_stream.h).
 * A failure of the sink is the call's: st then holds it, whatever the job answered. */
static enum em_code run_job(struct sp_db *db, sp_job_fn fn, void *arg,
                            const struct sp_row_sink *sink, struct sp_result *out,
                            struct em_status *st)
{
    if (!sink)
        return sp_db_run(db, fn, arg, st);
    struct sp_stream *stream = sp_stream_new(sink);
    if (!stream)
        return EM_FAIL_OOM(st);
    out->stream = stream;
    enum em_code sink_code;
    struct em_status job_st = {0};
    sp_stream_run(stream, db, fn, arg, &sink_code, &job_st);
    out->stream = NULL;
    sp_stream_free(stream);
    if (sink_code)
        return EM_FAIL(st, sink_code, "The result could not be sent.");
    *st = job_st;
    return st->code;
}

/* --- executeSql, executeBatchDml --- */

struct sql_job {
    struct sp_txn *txn;
    const struct sp_sql_request *stmts;
    int count;
    unsigned char (*uuid_seeds)[16]; /* read-write: one per statement (struct sp_dml) */
    struct sp_sequence_draws *draws; /* read-write: one per statement (struct sp_dml) */
    int64_t now;                     /* the time they ran at */
    struct sp_result *out;
    int ran;
    struct touched touched;
};

/* Rolls back what a read-write transaction's statement ran and replayed (txn_view_open):
 * its writes are applied only by the commit. */
static void txn_view_close(struct sp_job_ctx *ctx)
{
    struct em_status ignored = {0};
    exec(ctx, "ROLLBACK TO sp_txn", &ignored);
    exec(ctx, "RELEASE sp_txn", &ignored);
}

/* What a read-write transaction sees: its earlier DML replayed in a savepoint, so what runs
 * next (a statement, a read) sees its writes; ABORTED when that DML no longer applies
 * (others changed what it read). txn_view_close ends it. */
static enum em_code txn_view_open(struct sp_job_ctx *ctx, const struct sp_txn *txn,
                                  struct touched *touched, struct em_status *st)
{
    if (exec(ctx, "SAVEPOINT sp_txn", st))
        return st->code;
    if (replay(ctx, txn, touched, st)) {
        em_status_clear(st);
        EM_FAIL(st, EM_ABORTED, "Transaction was aborted.");
        txn_view_close(ctx);
    }
    return st->code;
}

static enum em_code job_sql(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct sql_job *j = arg;
    bool rw = j->txn && j->txn->mode == SP_TXN_READ_WRITE;
    bool pdml = j->txn && j->txn->mode == SP_TXN_PARTITIONED_DML;
    if (rw && txn_view_open(ctx, j->txn, &j->touched, st))
        return st->code;
    if (pdml)
        sp_job_track_writes(ctx); /* it commits at once */
    if (pdml)
        sp_job_mark_transaction(ctx, j->txn->exclude_from_change_streams, j->txn->tag);
    j->ran = 0;
    j->touched.want_keys = rw;
    j->touched.write_failed = false; /* the replay's statements wrote before */
    j->now = ctx->now;
    for (int i = 0; i < j->count; i++) {
        enum run_mode mode = rw ? RUN_DML : pdml ? RUN_PARTITIONED : RUN_QUERY;
        struct sp_sql_request s = j->stmts[i];
        if (rw) { /* as it will run again, at later statements and at the commit */
            s.now_ns = j->now;
            s.uuid_seed = j->uuid_seeds[i];
            s.draws = &j->draws[i];
        }
        if (run_statement(ctx, &s, mode, &j->out[i], &j->touched, st))
            break;
        j->ran++;
    }
    if (rw)
        txn_view_close(ctx);
    /* Partitioned DML commits at once */
    if (pdml && !st->code)
        fill_pending(ctx, &j->touched.pending, sp_job_commit_time(ctx), st);
    if (pdml && !st->code)
        sp_job_write_changes(ctx, st);
    if (pdml && !st->code && j->touched.writes.count)
        sp_job_mark_written(ctx, j->touched.writes.names, j->touched.writes.count);
    return st->code;
}

/* After a read-write transaction's statements ran: what they read, and the DML to replay. */
static enum em_code record(struct sp_txn *txn, const struct sql_job *j, struct em_status *st)
{
    if (!txn || txn->mode != SP_TXN_READ_WRITE)
        return EM_OK;
    struct em_status rst = {0};
    if (sp_txn_add_reads(txn, j->touched.reads.names, j->touched.reads.count, &rst))
        return st->code ? st->code : (*st = rst).code;
    const struct key_reads *keys = &j->touched.keys;
    for (int i = 0; i < keys->count; i++)
        if (sp_txn_add_key_reads(txn, keys->tables[i], &keys->spans[i], &rst))
            return st->code ? st->code : (*st = rst).code;
    for (int i = 0; i < j->touched.pending.count; i++) {
        char table[SP_NAME_MAX], *name = table;
        const char *column = j->touched.pending.names[i];
        snprintf(table, sizeof(table), "%.*s", (int)strcspn(column, "."), column);
        if (sp_txn_add_pending(txn, &name, 1, &rst))
            return st->code ? st->code : (*st = rst).code;
    }
    for (int i = 0; i < j->ran; i++)
        if (j->out[i].dml && !j->out[i].planned &&
            sp_txn_add_dml(txn, j->stmts[i].sql, j->stmts[i].params, j->stmts[i].param_types,
                           j->now, j->uuid_seeds[i], &j->draws[i], &rst))
            return st->code ? st->code : (*st = rst).code;
    return st->code;
}

enum em_code sp_exec_sql(struct sp_db *db, struct sp_txn *txn, const struct sp_sql_request *stmt,
                         struct sp_result *out, struct em_status *st)
{
    int ran;
    return sp_exec_batch_dml(db, txn, stmt, 1, out, &ran, st);
}

enum em_code sp_exec_batch_dml(struct sp_db *db, struct sp_txn *txn,
                               const struct sp_sql_request *stmts, int count, struct sp_result *out,
                               int *ran, struct em_status *st)
{
    struct sql_job j = {.txn = txn, .stmts = stmts, .count = count, .out = out};
    for (int i = 0; i < count; i++)
        out[i] = (struct sp_result){0};
    *ran = 0;
    bool pdml = txn && txn->mode == SP_TXN_PARTITIONED_DML;
    if (pdml && txn->used)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "PartitionedDml transaction may only be used to execute one statement");
    if (txn && txn->mode == SP_TXN_READ_WRITE &&
        (!(j.uuid_seeds = calloc((size_t)count, sizeof(*j.uuid_seeds))) ||
         !(j.draws = calloc((size_t)count, sizeof(*j.draws))) ||
         em_random_bytes(j.uuid_seeds, (size_t)count * sizeof(*j.uuid_seeds), st))) {
        free(j.uuid_seeds);
        free(j.draws);
        return st->code ? st->code : EM_FAIL_OOM(st);
    }
    run_job(db, job_sql, &j, count == 1 ? stmts[0].sink : NULL, out, st);
    *ran = j.ran;
    if (st->code != EM_OK || j.ran)
        record(txn, &j, st);
    if (st->code && j.touched.write_failed && txn && txn->mode == SP_TXN_READ_WRITE)
        sp_txn_invalidate(txn, st); /* Spanner's constraint error: the transaction fails */
    if (pdml && !st->code)
        txn->used = true; /* it committed: Spanner runs one statement in it */
    if (st->code)
        for (int i = j.ran; i < count; i++)
            sp_result_clear(&out[i]);
    touched_free(&j.touched);
    free(j.uuid_seeds);
    for (int i = 0; j.draws && i < count; i++)
        sp_sequence_draws_free(&j.draws[i]);
    free(j.draws);
    return st->code;
}

/* --- read --- */

/* The key a read addresses: the table's primary key, or the index's key followed by the
 * primary key parts it lacks. */
static int read_key(const struct sp_table *table, const struct sp_index *index,
                    struct sp_key_column *key)
{
    int n = 0;
    if (index)
        for (int i = 0; i < index->nkey; i++) {
            const struct sp_column *c = sp_table_column(table, index->key[i].column);
            key[n++] = (struct sp_key_column){c->name, c->type, index->key[i].desc};
        }
    for (int i = 0; i < table->nkey; i++) {
        const struct sp_column *c = sp_table_column(table, table->key[i].column);
        bool present = false;
        for (int k = 0; k < n && !present; k++)
            present = strcasecmp(key[k].name, c->name) == 0;
        if (!present)
            key[n++] = (struct sp_key_column){c->name, c->type, table->key[i].desc};
    }
    return n;
}

struct read_job {
    const struct sp_read *read;
    const struct sp_txn *txn;  /* a read-write transaction whose DML the read must see */
    bool by_key;               /* a read-write transaction's read: keep its KeySet's spans */
    struct sp_key_spans spans; /* the read by primary key covered them */
    bool spans_known;
    struct sp_result *out;
    struct touched touched;
};

/* Whether an index holds column c: one of its key, its STORING or the table's key. */
static bool index_holds(const struct sp_index *index, const struct sp_table *table,
                        const struct sp_column *c)
{
    for (int i = 0; i < index->nkey; i++)
        if (strcasecmp(index->key[i].column, c->name) == 0)
            return true;
    for (int i = 0; i < index->nstoring; i++)
        if (strcasecmp(index->storing[i], c->name) == 0)
            return true;
    return sp_table_is_key(table, c->name);
}

/* The columns a read names, each checked (and, for a database role, SELECT on it); a read
 * by index names only columns the index holds, as in Spanner. */
static enum em_code read_columns(struct sp_job_ctx *ctx, const struct sp_read *r,
                                 const struct sp_table *table, const struct sp_index *index,
                                 const struct sp_column **cols, struct sp_buf *sql,
                                 struct em_status *st)
{
    const cJSON *columns = r->columns;
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, columns)
    {
        const struct sp_column *c =
            cJSON_IsString(item) ? sp_table_column(table, item->valuestring) : NULL;
        if (!c)
            return EM_FAIL(st, EM_NOT_FOUND, "Column not found in table %s: %.200s", table->name,
                           cJSON_IsString(item) ? item->valuestring : "(not a string)");
        if (index && !index_holds(index, table, c))
            return EM_FAIL(st, EM_NOT_FOUND,
                           "Index '%s' which indexes '%s' does not have a column named %s. Reads "
                           "with an index can only query columns present in the index.",
                           index->name, table->name, c->name);
        struct sp_access a = {SP_ON_TABLE, table->name, c->name, SP_PRIV_SELECT};
        if (r->role && sp_role_check(ctx->schema, r->role, &a, 1, st))
            return st->code;
        sp_buf_puts(sql, n ? ", " : "SELECT ");
        sp_buf_ident(sql, c->name);
        cols[n++] = c;
    }
    if (!n)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A read needs at least one column.");
    return EM_OK;
}

static enum em_code read_rows(struct sp_job_ctx *ctx, struct read_job *j, struct sp_stmt *s,
                              const struct sp_column **cols, const struct sp_type **types,
                              int ncols, struct em_status *st);

/* A database role reading by keys or ranges (not all rows) tells key values apart: it needs
 * SELECT on the key's columns too (the primary key's, or the index's). */
static enum em_code check_read_keys(struct sp_job_ctx *ctx, const struct sp_read *r,
                                    const struct sp_table *table, const struct sp_key_column *key,
                                    int nkey, struct em_status *st)
{
    if (!cJSON_GetObjectItem(r->key_set, "keys") && !cJSON_GetObjectItem(r->key_set, "ranges"))
        return EM_OK;
    for (int i = 0; i < nkey; i++) {
        struct sp_access a = {SP_ON_TABLE, table->name, key[i].name, SP_PRIV_SELECT};
        if (sp_role_check(ctx->schema, r->role, &a, 1, st))
            return st->code;
    }
    return EM_OK;
}

static enum em_code job_read(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct read_job *j = arg;
    const struct sp_read *r = j->read;
    const struct sp_table *table =
        sp_schema_table_or_synonym(ctx->schema, r->table ? r->table : "");
    if (!table)
        return EM_FAIL(st, EM_NOT_FOUND, "Table not found: %.200s", r->table ? r->table : "");
    const struct sp_index *index = NULL;
    if (r->index && r->index[0]) {
        index = sp_schema_index(ctx->schema, r->index);
        if (!index || strcasecmp(index->table, table->name) != 0)
            return EM_FAIL(st, EM_NOT_FOUND, "Index not found on table %s: %.200s", table->name,
                           r->index);
    }
    int ncols = cJSON_GetArraySize(r->columns);
    if ((index ? index->nkey : 0) + table->nkey > SP_KEY_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The key of %s has too many parts.", table->name);
    struct sp_key_column key[SP_KEY_MAX];
    int nkey = read_key(table, index, key);
    if (r->role && check_read_keys(ctx, r, table, key, nkey, st))
        return st->code;
    const struct sp_column **cols = calloc((size_t)ncols + 1, sizeof(*cols));
    const struct sp_type **types = calloc((size_t)ncols + 1, sizeof(*types));
    if (!cols || !types) {
        free(cols);
        free(types);
        return EM_FAIL_OOM(st);
    }
    struct sp_buf sql = {0};
    struct sp_binds binds = {0};
    int64_t read_ns = 0;
    if (!sp_job_read_time(ctx, r->read_ns, &read_ns, st) &&
        !read_columns(ctx, r, table, index, cols, &sql, st)) {
        sp_buf_puts(&sql, " FROM ");
        if (read_ns) {
            sp_schema_sqlite_table_at(table, read_ns, &sql);
            sp_buf_puts(&sql, " AS ");
        }
        sp_buf_ident(&sql, table->name);
        sp_buf_puts(&sql, " WHERE ");
        if (!sp_keyset_where(r->key_set, key, nkey, index ? index->nkey : nkey, &sql, &binds, st)) {
            if (index) /* the rows a NULL_FILTERED or filtered index holds */
                sp_index_sqlite_filter(index, false, &sql);
            sp_buf_puts(&sql, " ORDER BY ");
            sp_keyset_order(key, nkey, &sql);
            if (r->limit > 0)
                sp_buf_printf(&sql, " LIMIT %lld", (long long)r->limit);
        }
    }
    struct sp_stmt *s = NULL;
    if (!st->code && sql.failed)
        EM_FAIL_OOM(st);
    if (!st->code && (s = sp_job_stmt(ctx, sql.data, st)) != NULL &&
        sp_binds_apply(&binds, s->stmt) != SQLITE_OK)
        EM_FAIL_OOM(st);
    sp_buf_free(&sql);
    sp_binds_clear(&binds);
    if (!st->code)
        read_rows(ctx, j, s, cols, types, ncols, st);
    /* by primary key, what it read is the KeySet's keys and ranges; by index, the table */
    if (!st->code && j->by_key && !index)
        j->spans_known = sp_keyset_spans(r->key_set, key, nkey, &j->spans, st) == EM_OK;
    free(cols);
    free(types);
    return st->code;
}

static enum em_code read_rows(struct sp_job_ctx *ctx, struct read_job *j, struct sp_stmt *s,
                              const struct sp_column **cols, const struct sp_type **types,
                              int ncols, struct em_status *st)
{
    struct sp_stream *stream = j->out->stream;
    *j->out = (struct sp_result){cJSON_CreateArray(), cJSON_CreateArray(), false, 0};
    j->out->stream = stream;
    for (int i = 0; i < ncols; i++) {
        types[i] = &cols[i]->type;
        cJSON_AddItemToArray(j->out->fields, field_json(cols[i]->name, types[i]));
    }
    if (collect_rows(ctx, s->stmt, types, ncols, j->read->streaming, stream != NULL,
                     j->read->client_gone, j->out, st))
        return st->code;
    sqlite3_reset(s->stmt);
    touched_add(&j->touched, s, NULL, 0, false);
    return EM_OK;
}

/* A read in a read-write transaction that ran DML sees its writes, as its statements do. */
static enum em_code job_read_after_dml(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct read_job *j = arg;
    if (txn_view_open(ctx, j->txn, &j->touched, st))
        return st->code;
    job_read(ctx, arg, st);
    txn_view_close(ctx);
    return st->code;
}

enum em_code sp_exec_read(struct sp_db *db, struct sp_txn *txn, const struct sp_read *read,
                          struct sp_result *out, struct em_status *st)
{
    bool rw = txn && txn->mode == SP_TXN_READ_WRITE;
    struct read_job j = {
        .read = read, .txn = rw && txn->ndmls ? txn : NULL, .by_key = rw, .out = out};
    *out = (struct sp_result){0};
    if (txn && read->table && sp_txn_is_pending(txn, read->table))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Table %.200s cannot be accessed because it, or its associated index, "
                       "has a pending CommitTimestamp",
                       read->table);
    if (!run_job(db, j.txn ? job_read_after_dml : job_read, &j, read->sink, out, st) && rw) {
        if (j.spans_known)
            sp_txn_add_key_reads(txn, read->table, &j.spans, st);
        else
            sp_txn_add_reads(txn, j.touched.reads.names, j.touched.reads.count, st);
    }
    if (st->code)
        sp_result_clear(out);
    sp_key_spans_clear(&j.spans);
    touched_free(&j.touched);
    return st->code;
}

/* --- commit: mutations --- */

struct mutation {
    const char *op; /* insert, update, insertOrUpdate, replace */
    const struct sp_table *table;
    const struct sp_column **cols;
    int ncols;
    cJSON *types; /* v0.. -> the columns' Type JSON */
};

/* A GoogleSQL statement over the mutation's columns, named @v0, @v1, ... */
static void gsql_insert(const struct mutation *m, struct sp_buf *out)
{
    sp_buf_puts(out, "INSERT INTO `");
    sp_buf_puts(out, m->table->name);
    sp_buf_puts(out, "` (");
    for (int i = 0; i < m->ncols; i++)
        sp_buf_printf(out, "%s`%s`", i ? ", " : "", m->cols[i]->name);
    sp_buf_puts(out, ") VALUES (");
    for (int i = 0; i < m->ncols; i++)
        sp_buf_printf(out, "%s@v%d", i ? ", " : "", i);
    sp_buf_puts(out, ")");
}

/* WHERE the row's key: a NULL part of a nullable key column matches NULL; a table whose
 * key is () has one row at most, which WHERE true addresses. */
static void key_condition(const struct mutation *m, struct sp_buf *out)
{
    int n = 0;
    for (int i = 0; i < m->ncols; i++) {
        const struct sp_column *c = m->cols[i];
        if (!sp_table_is_key(m->table, c->name))
            continue;
        sp_buf_puts(out, n++ ? " AND " : " WHERE ");
        if (c->not_null)
            sp_buf_printf(out, "`%s` = @v%d", c->name, i);
        else
            sp_buf_printf(out, "(`%s` = @v%d OR (`%s` IS NULL AND @v%d IS NULL))", c->name, i,
                          c->name, i);
    }
    if (n == 0)
        sp_buf_puts(out, " WHERE true");
}

/* UPDATE ... SET the non-key columns; false when there are none. */
static bool gsql_update(const struct mutation *m, struct sp_buf *out)
{
    int n = 0;
    sp_buf_printf(out, "UPDATE `%s`", m->table->name);
    for (int i = 0; i < m->ncols; i++)
        if (!sp_table_is_key(m->table, m->cols[i]->name))
            sp_buf_printf(out, "%s`%s` = @v%d", n++ ? ", " : " SET ", m->cols[i]->name, i);
    key_condition(m, out);
    return n > 0;
}

static void gsql_exists(const struct mutation *m, struct sp_buf *out)
{
    sp_buf_printf(out, "SELECT 1 FROM `%s`", m->table->name);
    key_condition(m, out);
}

static void gsql_delete(const struct mutation *m, struct sp_buf *out)
{
    sp_buf_printf(out, "DELETE FROM `%s`", m->table->name);
    key_condition(m, out);
}

/* The row's values as @v0.. parameters; the commit timestamp where the row asks for it. */
static enum em_code row_params(const struct mutation *m, const cJSON *row, int64_t commit_ns,
                               cJSON **out, struct em_status *st)
{
    *out = NULL;
    if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != m->ncols)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Mutation of table %s has %d columns but a row of %d values.",
                       m->table->name, m->ncols, cJSON_IsArray(row) ? cJSON_GetArraySize(row) : 0);
    cJSON *params = cJSON_CreateObject();
    int i = 0;
    const cJSON *value;
    cJSON_ArrayForEach(value, row)
    {
        char name[16];
        snprintf(name, sizeof(name), "v%d", i);
        const struct sp_column *c = m->cols[i++];
        if (cJSON_IsString(value) && strcmp(value->valuestring, COMMIT_TIMESTAMP_VALUE) == 0 &&
            c->type.code == SP_TYPE_TIMESTAMP) {
            if (!c->allow_commit_timestamp) {
                cJSON_Delete(params);
                return EM_FAIL(st, EM_FAILED_PRECONDITION,
                               "Cannot write commit timestamp because the allow_commit_timestamp "
                               "column option is not set to true for column %s.%s",
                               m->table->name, c->name);
            }
            struct sp_timestamp ts = {commit_ns / 1000000000, (int32_t)(commit_ns % 1000000000)};
            char text[SP_TIMESTAMP_TEXT_MAX];
            sp_timestamp_format(&ts, text);
            cJSON_AddStringToObject(params, name, text);
        } else {
            cJSON_AddItemToObject(params, name, cJSON_Duplicate(value, true));
        }
    }
    *out = params;
    return EM_OK;
}

/* "[1,a]": a row's key for messages. */
static void key_text(const struct mutation *m, const cJSON *row, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "[");
    for (int i = 0; i < m->ncols && n < size; i++) {
        if (!sp_table_is_key(m->table, m->cols[i]->name))
            continue;
        const cJSON *v = cJSON_GetArrayItem(row, i);
        char *text = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
        n += (size_t)snprintf(out + n, size - n, "%s%s", n > 1 ? "," : "",
                              text ? text : (v ? v->valuestring : ""));
        free(text);
    }
    if (n < size)
        snprintf(out + n, size - n, "]");
}

struct commit_job {
    struct sp_txn *txn;
    const char *role; /* the session's database role, or NULL */
    bool exclude;     /* a single-use commit's excludeTxnFromChangeStreams and tag */
    char tag[SP_TXN_TAG_MAX + 1];
    const cJSON *mutations;
    struct sp_commit *out;
    struct touched touched;
};

/* Runs a statement of a mutation; *changed receives its row count (or rows, for a query). */
static enum em_code run_write(struct sp_job_ctx *ctx, struct commit_job *j, struct sp_buf *gsql,
                              const struct mutation *m, const cJSON *params, int64_t *changed,
                              struct em_status *st)
{
    if (gsql->failed)
        return EM_FAIL_OOM(st);
    struct sp_sql_request s = {gsql->data, params, m->types};
    s.written = m->cols;
    s.nwritten = m->ncols;
    s.written_table = m->table->name;
    struct sp_result r = {0};
    enum em_code code = run_statement(ctx, &s, RUN_DML, &r, &j->touched, st);
    if (!code)
        *changed = r.dml ? r.row_count : cJSON_GetArraySize(r.rows);
    sp_result_clear(&r);
    return code;
}

static enum em_code write_row(struct sp_job_ctx *ctx, struct commit_job *j,
                              const struct mutation *m, const cJSON *row, struct em_status *st)
{
    cJSON *params;
    if (row_params(m, row, j->out->commit_ns, &params, st))
        return st->code;
    struct sp_buf update = {0}, other = {0};
    int64_t changed = 0;
    bool has_values = gsql_update(m, &update);
    bool is_insert = strcmp(m->op, "insert") == 0, is_update = strcmp(m->op, "update") == 0;
    if (is_insert) {
        gsql_insert(m, &other);
        run_write(ctx, j, &other, m, params, &changed, st);
    } else if (is_update || strcmp(m->op, "insertOrUpdate") == 0) {
        if (!has_values)
            gsql_exists(m, &other);
        if (!run_write(ctx, j, has_values ? &update : &other, m, params, &changed, st) &&
            changed == 0) {
            char key[256];
            key_text(m, row, key, sizeof(key));
            if (is_update)
                EM_FAIL(st, EM_NOT_FOUND, "Row %s in table %s is missing. Row cannot be updated.",
                        key, m->table->name);
            sp_buf_free(&other);
            gsql_insert(m, &other);
            if (!st->code)
                run_write(ctx, j, &other, m, params, &changed, st);
        }
    } else { /* replace */
        gsql_delete(m, &other);
        if (!run_write(ctx, j, &other, m, params, &changed, st)) {
            sp_buf_free(&other);
            gsql_insert(m, &other);
            run_write(ctx, j, &other, m, params, &changed, st);
        }
    }
    sp_buf_free(&update);
    sp_buf_free(&other);
    cJSON_Delete(params);
    return st->code;
}

/* What a database role needs for a write mutation: INSERT on its columns (insert,
 * insertOrUpdate, replace), UPDATE on its non-key columns (update, insertOrUpdate), and
 * DELETE on the table (replace deletes the row it replaces). */
static enum em_code check_write(struct sp_job_ctx *ctx, const char *role, const struct mutation *m,
                                struct em_status *st)
{
    bool insert = strcmp(m->op, "update") != 0;
    bool update = strcmp(m->op, "update") == 0 || strcmp(m->op, "insertOrUpdate") == 0;
    for (int i = 0; i < m->ncols; i++) {
        struct sp_access a = {SP_ON_TABLE, m->table->name, m->cols[i]->name, SP_PRIV_INSERT};
        if (insert && sp_role_check(ctx->schema, role, &a, 1, st))
            return st->code;
        a.privilege = SP_PRIV_UPDATE;
        if (update && !sp_table_is_key(m->table, a.column) &&
            sp_role_check(ctx->schema, role, &a, 1, st))
            return st->code;
    }
    for (int c = 0; insert && c < m->table->ncolumns; c++) { /* DEFAULTs that draw */
        bool listed = false;
        for (int i = 0; i < m->ncols && !listed; i++)
            listed = m->cols[i] == &m->table->columns[c];
        if (!listed && sp_role_check_default(ctx->schema, role, &m->table->columns[c], st))
            return st->code;
    }
    struct sp_access del = {SP_ON_TABLE, m->table->name, NULL, SP_PRIV_DELETE};
    if (strcmp(m->op, "replace") == 0 && sp_role_check(ctx->schema, role, &del, 1, st))
        return st->code;
    return EM_OK;
}

/* insertOrUpdate, like insert, must give every NOT NULL column (but those with a DEFAULT)
 * a value, even where the row exists and is only updated (Mutation.insert_or_update). */
static enum em_code unlisted_not_null(const struct mutation *m, struct em_status *st)
{
    for (int c = 0; c < m->table->ncolumns; c++) {
        const struct sp_column *column = &m->table->columns[c];
        bool listed = false;
        for (int i = 0; i < m->ncols && !listed; i++)
            listed = m->cols[i] == column;
        if (!listed && column->not_null && !column->default_text && !column->identity &&
            !column->generated_text)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "A new row in table %s does not specify a non-null value for these NOT "
                           "NULL columns: %s",
                           m->table->name, column->name);
    }
    return EM_OK;
}

/* The table and columns of a write mutation, checked. */
static enum em_code resolve_write(struct sp_job_ctx *ctx, struct commit_job *j, const char *op,
                                  const cJSON *write, struct mutation *m, struct em_status *st)
{
    const char *table = em_json_string(write, "table");
    m->op = op;
    m->table = sp_schema_table_or_synonym(ctx->schema, table ? table : "");
    if (!m->table)
        return EM_FAIL(st, EM_NOT_FOUND, "Table not found: %.200s", table ? table : "");
    const cJSON *columns = cJSON_GetObjectItem(write, "columns");
    m->ncols = cJSON_GetArraySize(columns);
    m->cols = calloc((size_t)m->ncols + 1, sizeof(*m->cols));
    m->types = cJSON_CreateObject();
    if (!m->cols || !m->types)
        return EM_FAIL_OOM(st);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, columns)
    {
        const struct sp_column *c =
            cJSON_IsString(item) ? sp_table_column(m->table, item->valuestring) : NULL;
        if (!c)
            return EM_FAIL(st, EM_NOT_FOUND, "Column not found in table %s: %.200s", m->table->name,
                           cJSON_IsString(item) ? item->valuestring : "");
        if (c->generated_text)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Cannot write into generated column `%s.%s`.", m->table->name, c->name);
        char name[16];
        snprintf(name, sizeof(name), "v%d", i);
        cJSON_AddItemToObject(m->types, name, sp_type_to_json(&c->type));
        m->cols[i++] = c;
    }
    if (strcmp(op, "insertOrUpdate") == 0 && unlisted_not_null(m, st))
        return st->code;
    if (j->role && check_write(ctx, j->role, m, st))
        return st->code;
    if (strcmp(op, "insert") != 0)
        for (int k = 0; k < m->table->nkey; k++) {
            bool present = false;
            for (int c = 0; c < m->ncols && !present; c++)
                present = strcasecmp(m->cols[c]->name, m->table->key[k].column) == 0;
            if (!present)
                return EM_FAIL(st, EM_INVALID_ARGUMENT,
                               "Key column %s of table %s is missing from the %s mutation.",
                               m->table->key[k].column, m->table->name, op);
        }
    return EM_OK;
}

static enum em_code apply_write(struct sp_job_ctx *ctx, struct commit_job *j, const char *op,
                                const cJSON *write, struct em_status *st)
{
    struct mutation m = {0};
    if (!resolve_write(ctx, j, op, write, &m, st)) {
        const cJSON *row;
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(write, "values"))
        {
            if (write_row(ctx, j, &m, row, st))
                break;
            j->out->mutation_count += m.ncols;
        }
    }
    free(m.cols);
    cJSON_Delete(m.types);
    return st->code;
}

static enum em_code apply_delete(struct sp_job_ctx *ctx, struct commit_job *j, const cJSON *del,
                                 struct em_status *st)
{
    const char *name = em_json_string(del, "table");
    const struct sp_table *table = sp_schema_table_or_synonym(ctx->schema, name ? name : "");
    if (!table)
        return EM_FAIL(st, EM_NOT_FOUND, "Table not found: %.200s", name ? name : "");
    struct sp_access a = {SP_ON_TABLE, table->name, NULL, SP_PRIV_DELETE};
    if (j->role && sp_role_check(ctx->schema, j->role, &a, 1, st))
        return st->code;
    if (table->nkey > SP_KEY_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The key of %s has too many parts.", table->name);
    struct sp_key_column key[SP_KEY_MAX];
    int nkey = read_key(table, NULL, key);
    struct sp_buf sql = {0};
    struct sp_binds binds = {0};
    sp_buf_puts(&sql, "DELETE FROM ");
    sp_buf_ident(&sql, table->name);
    sp_buf_puts(&sql, " WHERE ");
    struct sp_stmt *s = NULL;
    if (!sp_keyset_where(cJSON_GetObjectItem(del, "keySet"), key, nkey, nkey, &sql, &binds, st) &&
        (s = sp_job_stmt(ctx, sql.data, st)) != NULL) {
        int rc = sp_binds_apply(&binds, s->stmt);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(s->stmt);
        if (rc != SQLITE_DONE)
            sp_sql_error(ctx->sqlite, rc, st);
        sqlite3_reset(s->stmt);
        touched_add(&j->touched, s, NULL, 0, false);
        j->out->mutation_count++;
    }
    sp_buf_free(&sql);
    sp_binds_clear(&binds);
    return st->code;
}

static enum em_code apply_mutation(struct sp_job_ctx *ctx, struct commit_job *j,
                                   const cJSON *mutation, struct em_status *st)
{
    static const char *const writes[] = {"insert", "update", "insertOrUpdate", "replace"};
    const cJSON *op = cJSON_IsObject(mutation) ? mutation->child : NULL;
    if (!op || op->next)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A mutation must have exactly one of insert, update, insertOrUpdate, "
                       "replace and delete.");
    if (strcmp(op->string, "delete") == 0)
        return apply_delete(ctx, j, op, st);
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        if (strcmp(op->string, writes[i]) == 0)
            return apply_write(ctx, j, writes[i], op, st);
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Unknown mutation: %.100s", op->string);
}

static bool changed_since(void *arg, const char *table, const struct sp_key_span *span,
                          uint64_t since)
{
    return sp_job_changed_since(arg, table, span, since);
}

static enum em_code job_commit(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct commit_job *j = arg;
    const char *conflict = j->txn ? sp_txn_conflict(j->txn, changed_since, ctx) : NULL;
    if (conflict) {
        const struct sp_table *table = sp_schema_table(ctx->schema, conflict);
        return EM_FAIL(st, EM_ABORTED,
                       "Transaction was aborted. It read rows of table %.200s that a concurrent "
                       "transaction changed.",
                       table ? table->name : conflict);
    }
    sp_job_track_writes(ctx);
    sp_job_mark_transaction(ctx, j->txn ? j->txn->exclude_from_change_streams : j->exclude,
                            j->txn ? j->txn->tag : j->tag);
    j->out->commit_ns = sp_job_commit_time(ctx);
    j->out->mutation_count = 0;
    if (j->txn && replay(ctx, j->txn, &j->touched, st)) {
        /* what its DML did no longer applies (a row its blind INSERT wrote exists now, a
         * parent row is gone): as when a later statement replays it, the client retries */
        em_status_clear(st);
        return EM_FAIL(st, EM_ABORTED, "Transaction was aborted.");
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, j->mutations)
    {
        if (apply_mutation(ctx, j, m, st))
            return st->code;
        if (j->out->mutation_count > SP_MUTATIONS_MAX)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The transaction contains too many mutations. Insert and update "
                           "operations count with the multiplicity of the number of columns "
                           "they affect; delete operations count as one. (Maximum number: %d)",
                           SP_MUTATIONS_MAX);
    }
    if (fill_pending(ctx, &j->touched.pending, j->out->commit_ns, st) ||
        sp_job_write_changes(ctx, st))
        return st->code;
    if (j->touched.writes.count)
        sp_job_mark_written(ctx, j->touched.writes.names, j->touched.writes.count);
    return EM_OK;
}

enum em_code sp_exec_commit(struct sp_db *db, struct sp_txn *txn, const cJSON *mutations,
                            bool exclude, const char *role, struct sp_commit *out,
                            struct em_status *st)
{
    if (mutations && !cJSON_IsArray(mutations))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "mutations must be a list of Mutation.");
    struct commit_job j = {
        .txn = txn, .role = role, .exclude = exclude, .mutations = mutations, .out = out};
    *out = (struct sp_commit){0};
    sp_db_run(db, job_commit, &j, st);
    touched_free(&j.touched);
    return st->code;
}

struct sp_commit_op {
    struct commit_job j;
    struct sp_commit out;
    struct sp_db_job *job;
};

enum em_code sp_exec_commit_prepare(struct sp_db *db, const cJSON *mutations, bool exclude,
                                    const char *tag, const char *role, struct sp_commit_op **out,
                                    struct em_status *st)
{
    *out = NULL;
    if (mutations && !cJSON_IsArray(mutations))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "mutations must be a list of Mutation.");
    struct sp_commit_op *op = calloc(1, sizeof(*op));
    if (!op)
        return EM_FAIL_OOM(st);
    op->j = (struct commit_job){
        .mutations = mutations, .out = &op->out, .exclude = exclude, .role = role};
    snprintf(op->j.tag, sizeof(op->j.tag), "%s", tag ? tag : "");
    if (!(op->job = sp_db_job_new(db, job_commit, &op->j))) {
        free(op);
        return EM_FAIL_OOM(st);
    }
    *out = op;
    return EM_OK;
}

void sp_exec_commit_submit(struct sp_commit_op *op, void (*done)(void *done_arg), void *done_arg)
{
    sp_db_job_submit(op->job, done, done_arg);
}

enum em_code sp_exec_commit_end(struct sp_commit_op *op, struct sp_commit *out,
                                struct em_status *st)
{
    sp_db_job_end(op->job, st);
    *out = op->out;
    touched_free(&op->j.touched);
    free(op);
    return st->code;
}

/* --- row deletion policies --- */

struct ttl_job {
    int64_t now, deleted;
};

static enum em_code job_row_deletion(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct ttl_job *j = arg;
    struct touched touched = {0};
    /* the cut-off is a parameter: one cached statement per table, not one per minute */
    cJSON *types = cJSON_Parse("{\"cutoff\":{\"code\":\"TIMESTAMP\"}}");
    cJSON *params = cJSON_CreateObject();
    if (!types || !params) {
        cJSON_Delete(types);
        cJSON_Delete(params);
        return EM_FAIL_OOM(st);
    }
    sp_job_track_writes(ctx); /* it commits at once */
    sp_job_mark_system(ctx);
    for (int i = 0; ctx->schema && i < ctx->schema->ntables; i++) {
        const struct sp_table *t = ctx->schema->tables[i];
        if (!t->ttl_column)
            continue;
        char cutoff[EM_TIME_TEXT_MAX], sql[600];
        em_time_format(j->now - t->ttl_days * 86400 * 1000000000LL, cutoff);
        cJSON_DeleteItemFromObject(params, "cutoff");
        cJSON_AddStringToObject(params, "cutoff", cutoff);
        snprintf(sql, sizeof(sql), "DELETE FROM `%s` WHERE `%s` < @cutoff", t->name,
                 t->ttl_column); /* names hold no backquote */
        struct sp_sql_request s = {.sql = sql, .params = params, .param_types = types};
        struct em_status failed = {0};
        if (run_statement(ctx, &s, RUN_PARTITIONED, NULL, &touched, &failed))
            em_warn("spanner: %s: the row deletion policy of table %s deleted nothing: %s",
                    sp_db_name(ctx->db), t->name, failed.message);
        else
            j->deleted += sqlite3_changes(ctx->sqlite);
    }
    if (sp_job_write_changes(ctx, st)) {
        touched_free(&touched);
        cJSON_Delete(types);
        cJSON_Delete(params);
        return st->code;
    }
    if (touched.writes.count)
        sp_job_mark_written(ctx, touched.writes.names, touched.writes.count);
    touched_free(&touched);
    cJSON_Delete(types);
    cJSON_Delete(params);
    return st->code;
}

enum em_code sp_exec_row_deletion(struct sp_db *db, int64_t now, int64_t *deleted,
                                  struct em_status *st)
{
    struct ttl_job j = {.now = now};
    sp_db_run(db, job_row_deletion, &j, st);
    *deleted = j.deleted;
    return st->code;
}

/* --- change streams --- */

struct change_query_job {
    const struct sp_sql_request *request;
    struct sp_change_query *q;
    enum em_code found; /* EM_NOT_FOUND: not a change stream query */
};

static enum em_code job_change_query(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct change_query_job *j = arg;
    j->found = sp_change_query_parse(ctx->schema, j->request->sql, j->request->params,
                                     j->request->param_types, ctx->now, j->q, st);
    const char *role = j->request->role;
    if (j->found == EM_OK && role) { /* SELECT on the stream, EXECUTE on its function */
        char function[sizeof(j->q->stream) + 8];
        snprintf(function, sizeof(function), "READ_%s", j->q->stream);
        struct sp_access a[] = {{SP_ON_CHANGE_STREAM, j->q->stream, NULL, SP_PRIV_SELECT},
                                {SP_ON_TABLE_FUNCTION, function, NULL, SP_PRIV_EXECUTE}};
        j->found = sp_role_check(ctx->schema, role, a, 2, st);
    }
    return j->found == EM_NOT_FOUND ? EM_OK : j->found;
}

enum em_code sp_exec_change_query(struct sp_db *db, const struct sp_sql_request *request,
                                  struct sp_change_query *q, struct em_status *st)
{
    struct change_query_job j = {request, q, EM_OK};
    if (sp_db_run(db, job_change_query, &j, st))
        return st->code;
    return j.found;
}

struct change_fetch_job {
    const char *stream;
    int64_t after_ns, *upto_ns;
    cJSON *rows;
};

static enum em_code job_change_fetch(struct sp_job_ctx *ctx, void *arg, struct em_status *st)
{
    struct change_fetch_job *j = arg;
    if (*j->upto_ns > ctx->now)
        *j->upto_ns = ctx->now;
    int64_t at;
    struct em_status ignored = {0};
    sp_job_read_time(ctx, *j->upto_ns, &at, &ignored); /* later commits come after it */
    return sp_change_fetch(ctx->sqlite, j->stream, j->after_ns, *j->upto_ns, j->rows, st);
}

enum em_code sp_exec_change_fetch(struct sp_db *db, const char *stream, int64_t after_ns,
                                  int64_t *upto_ns, cJSON *rows, struct em_status *st)
{
    struct change_fetch_job j = {stream, after_ns, upto_ns, rows};
    return sp_db_run(db, job_change_fetch, &j, st);
}
