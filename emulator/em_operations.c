/*
 * em_operations: long-running operations (see em_operations.h for the state machine).
 *
 * Memory: every operation of the service lives in an em_index by name, under one mutex
 * that also guards each operation's state (metadata, done, result). An operation is
 * referenced by the index and, while its work is queued or running, by its job; it is
 * freed when both let go (a deleted running operation lives until its work returns).
 * Readers get JSON copies, never the struct.
 *
 * Locking: SQL and work functions run outside the mutex. Each change is stored first and
 * published under the mutex after, so a failed write leaves memory as it was.
 */
#include "em_operations.h"

#include "em_call.h"
#include "em_clock.h"
#include "em_crypto.h"
#include "em_index.h"
#include "em_json.h"
#include "em_list.h"
#include "em_log.h"
#include "em_service.h"
#include "em_store.h"
#include "em_workers.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_THREADS   4
#define DEFAULT_ID_PREFIX "_auto_op_"
#define OPS_SEGMENT       "/operations/"
#define ID_CHARS          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
#define PARENT_CHARS      ID_CHARS "~/"

struct em_op {
    char *name; /* first member: em_index */
    struct em_operations *ops;
    const struct em_op_type *type; /* NULL: a kind the service no longer declares */
    int64_t seq;                   /* creation order */
    cJSON *metadata;               /* "@type" first */
    cJSON *request;                /* the work's input; immutable once started */
    bool done;
    cJSON *response; /* done without error: "@type" first */
    enum em_code error_code;
    char error_message[EM_STATUS_MESSAGE_MAX];
    atomic_bool cancel_asked;
    int refs;          /* the index, and the job while queued or running */
    bool stored_clear; /* loaded from a row an earlier release wrote in clear */
};

struct em_operations {
    struct em_store *store;
    unsigned char key[EM_AES_KEY_BYTES]; /* the data directory's default key: seals rows */
    char service[32];
    const struct em_op_type *types;
    size_t type_count;
    void *ctx;
    int64_t (*clock)(void);
    char id_prefix[32];
    struct em_workers *workers;
    pthread_mutex_t lock;   /* guards index, next_seq, jobs and every operation's state */
    pthread_cond_t changed; /* an operation ended or was forgotten, or a job ended */
    struct em_index index;
    int64_t next_seq;
    int jobs; /* queued or running */
    atomic_bool stopping;
};

/* --- rows at rest ---
 *
 * An operation's metadata, request and response may carry customer data (an authorized
 * view's row prefixes in its originalRequest and response): they are stored sealed
 * (em_seal under the data directory's default key, bound to the operation's name) as
 * "sealed:" + base64. A row stored in clear by a release before session 26 is read as it
 * is and sealed at the next start (reseal_clear_rows). */

#define SEALED_PREFIX "sealed:"

/* The sealed text of json text (malloc'd), or NULL when memory ran out. */
static char *seal_text(const struct em_operations *ops, const char *name, const char *text)
{
    struct em_status st = {0};
    size_t len = strlen(text);
    unsigned char *sealed = malloc(len + EM_SEAL_OVERHEAD);
    char *b64 = NULL, *out = NULL;
    if (sealed && !em_seal(ops->key, name, strlen(name), text, len, sealed, &st))
        b64 = em_b64_encode(sealed, len + EM_SEAL_OVERHEAD);
    if (b64 && (out = malloc(strlen(SEALED_PREFIX) + strlen(b64) + 1)) != NULL)
        sprintf(out, "%s%s", SEALED_PREFIX, b64);
    free(sealed);
    free(b64);
    return out;
}

/* The JSON text a stored field holds (malloc'd): opened when sealed, else as stored;
 * NULL when it does not open. */
static char *open_text(const struct em_operations *ops, const char *name, const char *stored)
{
    size_t prefix = strlen(SEALED_PREFIX);
    if (strncmp(stored, SEALED_PREFIX, prefix) != 0)
        return strdup(stored);
    unsigned char *sealed = NULL;
    size_t len = 0;
    char *text = NULL;
    if (em_b64_decode(stored + prefix, strlen(stored + prefix), &sealed, &len) &&
        len >= EM_SEAL_OVERHEAD && (text = malloc(len - EM_SEAL_OVERHEAD + 1)) != NULL) {
        if (em_open(ops->key, name, strlen(name), sealed, len, (unsigned char *)text)) {
            text[len - EM_SEAL_OVERHEAD] = '\0';
        } else {
            free(text);
            text = NULL;
        }
    }
    free(sealed);
    return text;
}

/* --- storage: the only SQL of this module --- */

static const char *const operations_migrations[] = {
    "CREATE TABLE operations ("
    " name TEXT PRIMARY KEY,"
    " service TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " metadata TEXT NOT NULL,"
    " request TEXT NOT NULL,"
    " done INTEGER NOT NULL DEFAULT 0,"
    " response TEXT,"
    " error_code INTEGER NOT NULL DEFAULT 0,"
    " error_message TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX operations_by_service ON operations (service, seq)",
};

#define MIGRATION_COUNT ((int)(sizeof(operations_migrations) / sizeof(operations_migrations[0])))

static enum em_code row_insert(struct em_operations *ops, const struct em_op *op,
                               const char *metadata, const char *request, struct em_status *st)
{
    static const char sql[] = "INSERT INTO operations (name, service, kind, seq, metadata, request)"
                              " VALUES (?, ?, ?, ?, ?, ?)";
    char *sealed_metadata = seal_text(ops, op->name, metadata);
    char *sealed_request = seal_text(ops, op->name, request);
    sqlite3_stmt *stmt =
        sealed_metadata && sealed_request ? em_store_stmt(ops->store, sql, st) : NULL;
    if (!stmt) {
        free(sealed_metadata);
        free(sealed_request);
        return st->code ? st->code : EM_FAIL_OOM(st);
    }
    em_bind_text(stmt, 1, op->name);
    em_bind_text(stmt, 2, ops->service);
    em_bind_text(stmt, 3, op->type->kind);
    sqlite3_bind_int64(stmt, 4, op->seq);
    em_bind_text(stmt, 5, sealed_metadata);
    em_bind_text(stmt, 6, sealed_request);
    enum em_code code = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    free(sealed_metadata);
    free(sealed_request);
    if (code == EM_ALREADY_EXISTS)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Operation %s already exists.", op->name);
    return code;
}

/* Records the end; a row deleted meanwhile stays deleted. */
static enum em_code row_finish(struct em_operations *ops, const char *name, const char *metadata,
                               const char *response, enum em_code code, const char *message,
                               struct em_status *st)
{
    static const char sql[] = "UPDATE operations SET done = 1, metadata = ?, response = ?,"
                              " error_code = ?, error_message = ? WHERE name = ?";
    char *sealed_metadata = seal_text(ops, name, metadata);
    char *sealed_response = response ? seal_text(ops, name, response) : NULL;
    sqlite3_stmt *stmt = sealed_metadata && (!response || sealed_response)
                             ? em_store_stmt(ops->store, sql, st)
                             : NULL;
    enum em_code rc = stmt ? EM_OK : st->code ? st->code : EM_FAIL_OOM(st);
    if (stmt) {
        em_bind_text(stmt, 1, sealed_metadata);
        em_bind_text(stmt, 2, sealed_response);
        sqlite3_bind_int(stmt, 3, (int)code);
        em_bind_text(stmt, 4, message);
        em_bind_text(stmt, 5, name);
        rc = em_stmt_run(stmt, st);
        em_stmt_done(stmt);
    }
    free(sealed_metadata);
    free(sealed_response);
    return rc;
}

/* Writes a loaded operation's fields again, sealed (reseal_clear_rows). */
static enum em_code row_reseal(struct em_operations *ops, const struct em_op *op,
                               struct em_status *st)
{
    static const char sql[] = "UPDATE operations SET metadata = ?, request = ?, response = ?"
                              " WHERE name = ?";
    char *fields[3] = {cJSON_PrintUnformatted(op->metadata), cJSON_PrintUnformatted(op->request),
                       op->response ? cJSON_PrintUnformatted(op->response) : NULL};
    char *sealed[3] = {NULL, NULL, NULL};
    bool ok = fields[0] && fields[1] && (!op->response || fields[2]);
    for (int i = 0; i < 3 && ok; i++)
        ok = !fields[i] || (sealed[i] = seal_text(ops, op->name, fields[i])) != NULL;
    sqlite3_stmt *stmt = ok ? em_store_stmt(ops->store, sql, st) : NULL;
    enum em_code code = stmt ? EM_OK : st->code ? st->code : EM_FAIL_OOM(st);
    if (stmt) {
        for (int i = 0; i < 3; i++)
            em_bind_text(stmt, i + 1, sealed[i]);
        em_bind_text(stmt, 4, op->name);
        code = em_stmt_run(stmt, st);
        em_stmt_done(stmt);
    }
    for (int i = 0; i < 3; i++) {
        free(fields[i]);
        free(sealed[i]);
    }
    return code;
}

static enum em_code row_delete(struct em_operations *ops, const char *name, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(ops->store, "DELETE FROM operations WHERE name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    enum em_code code = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return code;
}

static enum em_code rows_delete_all(struct em_operations *ops, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(ops->store, "DELETE FROM operations WHERE service = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, ops->service);
    enum em_code code = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return code;
}

/* --- operations in memory --- */

static const struct em_op_type *find_type(const struct em_operations *ops, const char *kind)
{
    for (size_t i = 0; i < ops->type_count; i++)
        if (strcmp(ops->types[i].kind, kind) == 0)
            return &ops->types[i];
    return NULL;
}

static void op_free(struct em_op *op)
{
    if (!op)
        return;
    free(op->name);
    cJSON_Delete(op->metadata);
    cJSON_Delete(op->request);
    cJSON_Delete(op->response);
    free(op);
}

/* With ops->lock held. */
static void op_put_locked(struct em_op *op)
{
    if (--op->refs == 0)
        op_free(op);
}

/* obj (taken; NULL: {}) as an object whose first member is "@type": type_url, unless it
 * has an @type already. NULL when out of memory or obj is not an object. */
static cJSON *typed(cJSON *obj, const char *type_url)
{
    if (!obj)
        obj = cJSON_CreateObject();
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return NULL;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, "@type"))
        return obj;
    cJSON *out = cJSON_CreateObject();
    if (!out || !cJSON_AddStringToObject(out, "@type", type_url)) {
        cJSON_Delete(out);
        cJSON_Delete(obj);
        return NULL;
    }
    while (obj->child) {
        cJSON *item = cJSON_DetachItemViaPointer(obj, obj->child);
        cJSON_AddItemToObject(out, item->string, item);
    }
    cJSON_Delete(obj);
    return out;
}

/* A parsed stored JSON object (sealed or, written by an earlier release, in clear); {}
 * (logged) when it does not open or parse. */
static cJSON *stored_object(const struct em_operations *ops, const char *name, const char *stored)
{
    char *text = open_text(ops, name, stored);
    cJSON *json = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!cJSON_IsObject(json)) {
        em_error("operations: %s: a stored JSON field does not open or parse; read as {}", name);
        cJSON_Delete(json);
        json = cJSON_CreateObject();
    }
    return json;
}

/* The Operation's JSON; with ops->lock held. */
static cJSON *op_json_locked(const struct em_op *op)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", op->name);
    cJSON_AddItemToObject(json, "metadata", cJSON_Duplicate(op->metadata, true));
    if (!op->done)
        return json;
    cJSON_AddBoolToObject(json, "done", true);
    if (op->error_code != EM_OK) {
        cJSON *error = cJSON_AddObjectToObject(json, "error");
        cJSON_AddNumberToObject(error, "code", op->error_code);
        cJSON_AddStringToObject(error, "message", op->error_message);
    } else {
        cJSON_AddItemToObject(json, "response", cJSON_Duplicate(op->response, true));
    }
    return json;
}

static bool json_complete(const cJSON *json)
{
    /* cJSON returns NULL from every creation that runs out of memory; a member missing
     * means one of them did */
    return json && cJSON_GetObjectItemCaseSensitive(json, "name") &&
           cJSON_GetObjectItemCaseSensitive(json, "metadata");
}

/* Sets a time field of metadata (field NULL: nothing; keep: not when already set). */
static void stamp_time(cJSON *metadata, const char *field, int64_t ns, bool keep)
{
    if (!field || !metadata || (keep && cJSON_GetObjectItemCaseSensitive(metadata, field)))
        return;
    char text[EM_TIME_TEXT_MAX];
    em_time_format(ns, text);
    cJSON *value = cJSON_CreateString(text);
    if (!value)
        return;
    if (cJSON_GetObjectItemCaseSensitive(metadata, field))
        cJSON_ReplaceItemInObjectCaseSensitive(metadata, field, value);
    else
        cJSON_AddItemToObject(metadata, field, value);
}

/* The metadata's progress object (em_op_type.progress_field), made when absent; NULL
 * when the type has none. */
static cJSON *progress_of(cJSON *metadata, const struct em_op_type *type)
{
    if (!type || !type->progress_field || !cJSON_IsObject(metadata))
        return NULL;
    cJSON *progress = cJSON_GetObjectItemCaseSensitive(metadata, type->progress_field);
    if (cJSON_IsObject(progress))
        return progress;
    cJSON_DeleteItemFromObjectCaseSensitive(metadata, type->progress_field);
    return cJSON_AddObjectToObject(metadata, type->progress_field);
}

/* Sets the metadata's start-time field and its progress' startTime, unless given. */
static void stamp_start(struct em_op *op, int64_t now)
{
    stamp_time(op->metadata, op->type->start_time_field, now, true);
    stamp_time(progress_of(op->metadata, op->type), "startTime", now, true);
}

/* Sets the metadata's end-time field and its progress (100 % when the work succeeded);
 * with ops->lock held. */
static void stamp_end_locked(struct em_op *op, int64_t end_ns, enum em_code code)
{
    if (!op->type)
        return;
    stamp_time(op->metadata, op->type->end_time_field, end_ns, false);
    cJSON *progress = progress_of(op->metadata, op->type);
    stamp_time(progress, "endTime", end_ns, false);
    if (progress && code == EM_OK) {
        cJSON_DeleteItemFromObjectCaseSensitive(progress, "progressPercent");
        cJSON_AddNumberToObject(progress, "progressPercent", 100);
    }
}

/*
 * Ends an operation: stores the outcome, then publishes it. response (taken) is the
 * work's, typed already; code/message its failure. Not for what the stop interrupted.
 */
static void op_end(struct em_op *op, enum em_code code, const char *message, cJSON *response,
                   int64_t end_ns)
{
    struct em_operations *ops = op->ops;
    struct em_status st = {0};
    pthread_mutex_lock(&ops->lock);
    stamp_end_locked(op, end_ns, code);
    char *metadata = cJSON_PrintUnformatted(op->metadata);
    pthread_mutex_unlock(&ops->lock);
    char *response_text = response ? cJSON_PrintUnformatted(response) : NULL;
    if (!metadata || (response && !response_text))
        em_error("operations: %s: out of memory storing its end", op->name);
    else if (row_finish(ops, op->name, metadata, response_text, code, code ? message : "", &st))
        em_error("operations: %s: its end was not stored: %s", op->name, st.message);
    free(metadata);
    free(response_text);
    pthread_mutex_lock(&ops->lock);
    op->done = true;
    op->error_code = code;
    snprintf(op->error_message, sizeof(op->error_message), "%s", code ? message : "");
    cJSON_Delete(op->response);
    op->response = code ? NULL : response;
    if (code)
        cJSON_Delete(response);
    pthread_cond_broadcast(&ops->changed);
    pthread_mutex_unlock(&ops->lock);
}

/* The job lets go of its operation; with ops->lock held. */
static void job_done_locked(struct em_op *op)
{
    struct em_operations *ops = op->ops;
    ops->jobs--;
    op_put_locked(op);
    pthread_cond_broadcast(&ops->changed);
}

/* On a worker: runs the work (unless cancelled before it started) and ends the
 * operation, or leaves it RUNNING in the store when the stop interrupted it. */
static void run_job(void *arg)
{
    struct em_op *op = arg;
    struct em_operations *ops = op->ops;
    struct em_status st = {0};
    cJSON *response = NULL;
    enum em_code code;
    if (em_op_cancelled(op))
        code = EM_FAIL(&st, EM_CANCELLED, "Operation was cancelled.");
    else
        code = op->type->work(op, ops->ctx, op->request, ops->clock(), &response, &st);
    bool user_cancel = atomic_load(&op->cancel_asked);
    if (code != EM_OK && !user_cancel && atomic_load(&ops->stopping)) {
        em_info("operations: %s interrupted by the stop; finished at the next start-up", op->name);
        cJSON_Delete(response);
    } else {
        if (code != EM_OK && user_cancel)
            code = EM_FAIL(&st, EM_CANCELLED, "Operation was cancelled.");
        else if (code != EM_OK && st.code == EM_OK)
            EM_FAIL(&st, code, "Operation %s failed.", op->type->kind);
        if (code == EM_OK) {
            const char *type_url = op->type->response_type;
            response = typed(response, type_url ? type_url : EM_OP_EMPTY_TYPE);
            if (!response)
                code = EM_FAIL(&st, EM_INTERNAL, "The operation's response is not an object.");
        } else {
            cJSON_Delete(response);
            response = NULL;
        }
        op_end(op, code, st.message, response, ops->clock());
    }
    pthread_mutex_lock(&ops->lock);
    job_done_locked(op);
    pthread_mutex_unlock(&ops->lock);
}

/* Queues the work of op, which the caller has counted as a job (refs and jobs). */
static void queue_job(struct em_operations *ops, struct em_op *op)
{
    struct em_status st = {0};
    if (em_workers_submit(ops->workers, run_job, op, &st) == EM_OK)
        return;
    op_end(op, st.code, st.message, NULL, ops->clock());
    pthread_mutex_lock(&ops->lock);
    job_done_locked(op);
    pthread_mutex_unlock(&ops->lock);
}

/* --- names --- */

static bool only_chars(const char *s, size_t len, const char *allowed)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(allowed, s[i]))
            return false;
    return true;
}

static enum em_code bad_name(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid operation name \"%.200s\": expected <parent>/operations/<id>, the id "
                   "1 to %d letters, digits, '_', '.' or '-'.",
                   name, EM_OP_ID_MAX);
}

static bool copy_part(char *out, size_t out_len, const char *text, size_t len)
{
    if (!out)
        return true;
    if (len >= out_len)
        return false;
    memcpy(out, text, len);
    out[len] = '\0';
    return true;
}

enum em_code em_op_name_parse(const char *name, char *parent, size_t parent_len, char *id,
                              size_t id_len, struct em_status *st)
{
    size_t len = name ? strnlen(name, EM_OP_NAME_MAX + 1) : 0;
    if (len == 0 || len > EM_OP_NAME_MAX)
        return bad_name(name ? name : "", st);
    const char *marker = NULL;
    for (const char *p = strstr(name, OPS_SEGMENT); p; p = strstr(p + 1, OPS_SEGMENT))
        marker = p;
    if (!marker || marker == name)
        return bad_name(name, st);
    size_t plen = (size_t)(marker - name);
    const char *id_text = marker + strlen(OPS_SEGMENT);
    size_t ilen = strlen(id_text);
    if (ilen == 0 || ilen > EM_OP_ID_MAX || !only_chars(id_text, ilen, ID_CHARS) ||
        !only_chars(name, plen, PARENT_CHARS) || name[0] == '/' || strstr(name, "//"))
        return bad_name(name, st);
    if (!copy_part(parent, parent_len, name, plen) || !copy_part(id, id_len, id_text, ilen))
        return bad_name(name, st);
    return EM_OK;
}

static enum em_code generate_id(struct em_operations *ops, char *out, size_t len,
                                struct em_status *st)
{
    unsigned char raw[8];
    if (em_random_bytes(raw, sizeof(raw), st))
        return st->code;
    int n = snprintf(out, len, "%s", ops->id_prefix);
    for (size_t i = 0; i < sizeof(raw) && n > 0 && (size_t)n + 2 < len; i++)
        n += snprintf(out + n, len - (size_t)n, "%02x", raw[i]);
    return EM_OK;
}

/* --- open, close, reset --- */

static enum em_code load_row(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    struct em_operations *ops = arg;
    struct em_op *op = calloc(1, sizeof(*op));
    if (!op || !(op->name = strdup(em_column_text(stmt, 0)))) {
        free(op);
        return EM_FAIL_OOM(st);
    }
    op->ops = ops;
    op->type = find_type(ops, em_column_text(stmt, 1));
    op->seq = sqlite3_column_int64(stmt, 2);
    op->stored_clear = strncmp(em_column_text(stmt, 3), SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0;
    op->metadata = stored_object(ops, op->name, em_column_text(stmt, 3));
    op->request = stored_object(ops, op->name, em_column_text(stmt, 4));
    op->done = sqlite3_column_int(stmt, 5) != 0;
    op->error_code = (enum em_code)sqlite3_column_int(stmt, 7);
    if (op->done && op->error_code == EM_OK)
        op->response = stored_object(ops, op->name, em_column_text(stmt, 6));
    snprintf(op->error_message, sizeof(op->error_message), "%s", em_column_text(stmt, 8));
    op->refs = 1;
    if (!op->metadata || !op->request || (op->done && !op->error_code && !op->response) ||
        !em_index_insert(&ops->index, op)) {
        op_free(op);
        return EM_FAIL_OOM(st);
    }
    if (op->seq >= ops->next_seq)
        ops->next_seq = op->seq + 1;
    return EM_OK;
}

static enum em_code load(struct em_operations *ops, struct em_status *st)
{
    static const char sql[] = "SELECT name, kind, seq, metadata, request, done, response,"
                              " error_code, error_message FROM operations WHERE service = ?"
                              " ORDER BY seq";
    sqlite3_stmt *stmt = em_store_stmt(ops->store, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, ops->service);
    return em_stmt_each_row(stmt, load_row, ops, st);
}

/* Seals the rows an earlier release wrote in clear (from the operations just loaded),
 * then purges their clear copies from metadata.db's files (at the next tick if readers
 * hold it up now). */
static enum em_code reseal_clear_rows(struct em_operations *ops, struct em_status *st)
{
    int resealed = 0;
    for (size_t i = 0; i < ops->index.count; i++) {
        struct em_op *op = ops->index.items[i];
        if (!op->stored_clear)
            continue;
        if (row_reseal(ops, op, st))
            return st->code;
        op->stored_clear = false;
        resealed++;
    }
    if (resealed == 0)
        return EM_OK;
    em_info("operations: %d operations of %s stored in clear are sealed now", resealed,
            ops->service);
    struct em_status later = {0};
    if (em_store_purge(ops->store, &later))
        em_store_purge_later(ops->store);
    return EM_OK;
}

/* Operations left RUNNING by the last process: resumed or aborted. */
static void finish_interrupted(struct em_operations *ops, int64_t now)
{
    for (size_t i = 0; i < ops->index.count; i++) {
        struct em_op *op = ops->index.items[i];
        if (op->done)
            continue;
        if (op->type && op->type->resumable) {
            em_info("operations: resuming %s", op->name);
            pthread_mutex_lock(&ops->lock);
            op->refs++;
            ops->jobs++;
            pthread_mutex_unlock(&ops->lock);
            queue_job(ops, op);
            continue;
        }
        char message[EM_STATUS_MESSAGE_MAX];
        snprintf(message, sizeof(message),
                 "The operation was interrupted: the %s emulator stopped while it ran, and it "
                 "cannot be resumed. Run it again.",
                 ops->service);
        em_info("operations: %s was interrupted; ended ABORTED", op->name);
        op_end(op, EM_ABORTED, message, NULL, now);
    }
}

void em_operations_close(struct em_operations *ops)
{
    if (!ops)
        return;
    atomic_store(&ops->stopping, true);
    em_workers_free(ops->workers); /* runs what is queued, waits for every job */
    for (size_t i = 0; i < ops->index.count; i++)
        op_free(ops->index.items[i]);
    em_index_release(&ops->index);
    pthread_cond_destroy(&ops->changed);
    pthread_mutex_destroy(&ops->lock);
    em_wipe(ops->key, sizeof(ops->key));
    free(ops);
}

enum em_code em_operations_open(struct em_store *store, const struct em_operations_options *opt,
                                int64_t now, struct em_operations **out, struct em_status *st)
{
    struct em_operations *ops = calloc(1, sizeof(*ops));
    if (!ops)
        return EM_FAIL_OOM(st);
    ops->store = store;
    snprintf(ops->service, sizeof(ops->service), "%s", opt->service);
    snprintf(ops->id_prefix, sizeof(ops->id_prefix), "%s",
             opt->id_prefix ? opt->id_prefix : DEFAULT_ID_PREFIX);
    ops->types = opt->types;
    ops->type_count = opt->type_count;
    ops->ctx = opt->ctx;
    ops->clock = opt->clock ? opt->clock : em_clock_now;
    pthread_mutex_init(&ops->lock, NULL);
    pthread_cond_init(&ops->changed, NULL);
    char key_path[PATH_MAX + 32];
    snprintf(key_path, sizeof(key_path), "%s/default-encryption.key", opt->data_dir);
    if (em_key_file(key_path, ops->key, st) ||
        em_store_migrate(store, "operations", operations_migrations, MIGRATION_COUNT, st) ||
        load(ops, st) || reseal_clear_rows(ops, st) ||
        em_workers_new(opt->max_threads > 0 ? opt->max_threads : DEFAULT_THREADS, &ops->workers,
                       st)) {
        em_operations_close(ops);
        return st->code;
    }
    finish_interrupted(ops, now);
    *out = ops;
    return EM_OK;
}

enum em_code em_operations_reset(struct em_operations *ops, struct em_status *st)
{
    pthread_mutex_lock(&ops->lock);
    for (size_t i = 0; i < ops->index.count; i++)
        atomic_store(&((struct em_op *)ops->index.items[i])->cancel_asked, true);
    while (ops->jobs > 0)
        pthread_cond_wait(&ops->changed, &ops->lock);
    pthread_mutex_unlock(&ops->lock);
    if (rows_delete_all(ops, st))
        return st->code;
    pthread_mutex_lock(&ops->lock);
    for (size_t i = 0; i < ops->index.count; i++)
        op_put_locked(ops->index.items[i]);
    em_index_release(&ops->index);
    memset(&ops->index, 0, sizeof(ops->index));
    pthread_cond_broadcast(&ops->changed);
    pthread_mutex_unlock(&ops->lock);
    return EM_OK;
}

/* --- the operations API --- */

static struct em_op *op_new(struct em_operations *ops, const char *name,
                            const struct em_op_type *type, cJSON *metadata, cJSON *request)
{
    struct em_op *op = calloc(1, sizeof(*op));
    if (!op) {
        cJSON_Delete(metadata);
        cJSON_Delete(request);
        return NULL;
    }
    op->ops = ops;
    op->type = type;
    op->name = strdup(name);
    op->metadata = typed(metadata, type->metadata_type);
    op->request = request ? request : cJSON_CreateObject();
    if (!op->name || !op->metadata || !op->request) {
        op_free(op);
        return NULL;
    }
    return op;
}

/* Stores a new operation; prints outside the lock. */
static enum em_code store_new(struct em_operations *ops, struct em_op *op, struct em_status *st)
{
    char *metadata = cJSON_PrintUnformatted(op->metadata);
    char *request = cJSON_PrintUnformatted(op->request);
    enum em_code code =
        metadata && request ? row_insert(ops, op, metadata, request, st) : EM_FAIL_OOM(st);
    free(metadata);
    free(request);
    return code;
}

enum em_code em_op_start(struct em_operations *ops, const char *parent, const char *id,
                         const char *kind, cJSON *metadata, cJSON *request, int64_t now,
                         cJSON **out, struct em_status *st)
{
    const struct em_op_type *type = find_type(ops, kind);
    char generated[EM_OP_ID_MAX + 1], name[EM_OP_NAME_MAX + 1];
    enum em_code code = EM_OK;
    if (!type)
        code = EM_FAIL(st, EM_INTERNAL, "Operation kind %s is not declared.", kind);
    else if (!id && generate_id(ops, generated, sizeof(generated), st))
        code = st->code;
    else if (snprintf(name, sizeof(name), "%s" OPS_SEGMENT "%s", parent, id ? id : generated) >=
             (int)sizeof(name))
        code = bad_name(parent, st);
    else
        code = em_op_name_parse(name, NULL, 0, NULL, 0, st);
    if (code) {
        cJSON_Delete(metadata);
        cJSON_Delete(request);
        return code;
    }
    struct em_op *op = op_new(ops, name, type, metadata, request);
    if (!op)
        return EM_FAIL_OOM(st);
    stamp_start(op, now);
    pthread_mutex_lock(&ops->lock);
    op->seq = ops->next_seq++;
    pthread_mutex_unlock(&ops->lock);
    if (store_new(ops, op, st)) { /* a taken name fails here: the name is the key */
        op_free(op);
        return st->code;
    }
    pthread_mutex_lock(&ops->lock);
    bool published = em_index_insert(&ops->index, op);
    if (published) {
        op->refs = 2; /* the index and the job */
        ops->jobs++;
        if (out)
            *out = op_json_locked(op);
    }
    pthread_mutex_unlock(&ops->lock);
    if (!published) {
        struct em_status ignored = {0};
        row_delete(ops, name, &ignored);
        op_free(op);
        return EM_FAIL_OOM(st);
    }
    queue_job(ops, op);
    return EM_OK;
}

static enum em_code not_found(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_NOT_FOUND, "Operation not found: %.300s.", name);
}

enum em_code em_op_get(struct em_operations *ops, const char *name, cJSON **out,
                       struct em_status *st)
{
    pthread_mutex_lock(&ops->lock);
    struct em_op *op = em_index_find(&ops->index, name);
    cJSON *json = op ? op_json_locked(op) : NULL;
    pthread_mutex_unlock(&ops->lock);
    if (!op)
        return not_found(name, st);
    if (!json_complete(json)) {
        cJSON_Delete(json);
        return EM_FAIL_OOM(st);
    }
    *out = json;
    return EM_OK;
}

static bool in_collection(const char *name, const char *parent, size_t parent_len, bool subtree)
{
    if (strncmp(name, parent, parent_len) != 0 || name[parent_len] != '/')
        return false;
    if (subtree)
        return true;
    const char *rest = name + parent_len;
    return strncmp(rest, OPS_SEGMENT, strlen(OPS_SEGMENT)) == 0 &&
           !strchr(rest + strlen(OPS_SEGMENT), '/');
}

struct listed {
    int64_t seq;
    cJSON *json;
};

static int by_seq(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

enum em_code em_op_list(struct em_operations *ops, const char *parent, bool subtree, cJSON **out,
                        struct em_status *st)
{
    size_t parent_len = strlen(parent), count = 0;
    bool complete = true;
    pthread_mutex_lock(&ops->lock);
    struct listed *found = calloc(ops->index.count + 1, sizeof(*found));
    for (size_t i = 0; found && i < ops->index.count; i++) {
        const struct em_op *op = ops->index.items[i];
        if (!in_collection(op->name, parent, parent_len, subtree))
            continue;
        found[count] = (struct listed){op->seq, op_json_locked(op)};
        complete = complete && json_complete(found[count].json);
        count++;
    }
    pthread_mutex_unlock(&ops->lock);
    cJSON *array = found && complete ? cJSON_CreateArray() : NULL;
    if (array) {
        qsort(found, count, sizeof(*found), by_seq);
        for (size_t i = 0; i < count; i++) {
            cJSON_AddItemToArray(array, found[i].json);
            found[i].json = NULL;
        }
    }
    for (size_t i = 0; found && i < count; i++)
        cJSON_Delete(found[i].json);
    free(found);
    if (!array)
        return EM_FAIL_OOM(st);
    *out = array;
    return EM_OK;
}

enum em_code em_op_cancel(struct em_operations *ops, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ops->lock);
    struct em_op *op = em_index_find(&ops->index, name);
    if (op && !op->done)
        atomic_store(&op->cancel_asked, true);
    pthread_mutex_unlock(&ops->lock);
    return op ? EM_OK : not_found(name, st);
}

enum em_code em_op_delete(struct em_operations *ops, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ops->lock);
    bool known = em_index_find(&ops->index, name) != NULL;
    pthread_mutex_unlock(&ops->lock);
    if (!known)
        return not_found(name, st);
    if (row_delete(ops, name, st))
        return st->code;
    pthread_mutex_lock(&ops->lock);
    struct em_op *op = em_index_remove(&ops->index, name);
    if (op)
        op_put_locked(op);
    pthread_cond_broadcast(&ops->changed);
    pthread_mutex_unlock(&ops->lock);
    return EM_OK;
}

enum em_code em_op_wait(struct em_operations *ops, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ops->lock);
    struct em_op *op = em_index_find(&ops->index, name);
    bool known = op != NULL;
    while (op && !op->done) {
        pthread_cond_wait(&ops->changed, &ops->lock);
        op = em_index_find(&ops->index, name);
    }
    pthread_mutex_unlock(&ops->lock);
    return known ? EM_OK : not_found(name, st);
}

bool em_op_cancelled(const struct em_op *op)
{
    return atomic_load(&op->cancel_asked) || atomic_load(&op->ops->stopping);
}

const char *em_op_name(const struct em_op *op)
{
    return op->name;
}

void em_op_metadata_set(struct em_op *op, const char *key, cJSON *value)
{
    if (!value)
        return;
    pthread_mutex_lock(&op->ops->lock);
    if (cJSON_GetObjectItemCaseSensitive(op->metadata, key))
        cJSON_ReplaceItemInObjectCaseSensitive(op->metadata, key, value);
    else
        cJSON_AddItemToObject(op->metadata, key, value);
    pthread_mutex_unlock(&op->ops->lock);
}

/* --- route handlers --- */

static struct em_operations *module_of(struct em_call *call)
{
    return call->svc ? call->svc->operations : NULL;
}

/* The call's operation name, checked; NULL with the call failed. */
static const char *call_op_name(struct em_call *call)
{
    const char *name = em_call_resource(call);
    if (em_op_name_parse(name, NULL, 0, NULL, 0, &call->status))
        return NULL;
    if (!module_of(call)) {
        not_found(name, &call->status);
        return NULL;
    }
    return name;
}

enum em_code em_op_handle_get(struct em_call *call)
{
    const char *name = call_op_name(call);
    cJSON *json;
    if (!name || em_op_get(module_of(call), name, &json, &call->status))
        return call->status.code;
    return em_call_reply(call, json);
}

static enum em_code handle_list(struct em_call *call, bool subtree)
{
    static const struct em_list_options options = {"operations", 100, 1000, false};
    struct em_operations *ops = module_of(call);
    cJSON *items;
    if (!ops)
        items = cJSON_CreateArray();
    else if (em_op_list(ops, em_call_resource(call), subtree, &items, &call->status))
        return call->status.code;
    if (!items)
        return EM_FAIL_OOM(&call->status);
    return em_list_reply(call, items, &options);
}

enum em_code em_op_handle_list(struct em_call *call)
{
    return handle_list(call, false);
}

enum em_code em_op_handle_list_subtree(struct em_call *call)
{
    return handle_list(call, true);
}

enum em_code em_op_handle_cancel(struct em_call *call)
{
    const char *name = call_op_name(call);
    if (!name || em_op_cancel(module_of(call), name, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code em_op_handle_delete(struct em_call *call)
{
    const char *name = call_op_name(call);
    if (!name || em_op_delete(module_of(call), name, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}
