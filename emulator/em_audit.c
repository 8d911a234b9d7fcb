/*
 * em_audit: buffered audit log writer and reader (see em_audit.h).
 *
 * Queue invariant: entries are appended under `lock`; the writer swaps the whole queue
 * out under the lock and writes it in one transaction outside it, so recording never
 * waits for SQLite. `written` counts entries committed, `queued` entries ever queued;
 * flush waits until written reaches the queued count it saw.
 */
#include "em_audit.h"

#include "em_log.h"
#include "em_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_INTERVAL_MS 50
#define BATCH_MAX         4096

struct queued {
    struct em_audit_entry e;
    /* the strings follow the struct in the same allocation */
};

struct em_audit {
    struct em_store *store;
    int64_t max_entries;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    struct queued **items;
    size_t count, cap;
    uint64_t queued, written;
    int flush_waiters;
    bool stopping;
};

static const char *const audit_migrations[] = {
    "CREATE TABLE audit_log ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ns INTEGER NOT NULL,"
    " service TEXT NOT NULL,"
    " kind INTEGER NOT NULL,"
    " principal TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " resource TEXT NOT NULL,"
    " key_version TEXT,"
    " caller TEXT,"
    " code INTEGER NOT NULL,"
    " message TEXT)",
    "ALTER TABLE audit_log ADD COLUMN justification TEXT;"
    "ALTER TABLE audit_log ADD COLUMN justification_enforced INTEGER NOT NULL DEFAULT 0",
};

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *str_copy(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*cursor, s, n);
    const char *out = *cursor;
    *cursor += n;
    return out;
}

static struct queued *entry_copy(const struct em_audit_entry *e)
{
    size_t size = sizeof(struct queued) + str_size(e->service) + str_size(e->principal) +
                  str_size(e->method) + str_size(e->resource) + str_size(e->key_version) +
                  str_size(e->caller) + str_size(e->justification) + str_size(e->message);
    struct queued *q = malloc(size);
    if (!q)
        return NULL;
    char *cursor = (char *)(q + 1);
    q->e = *e;
    q->e.service = str_copy(&cursor, e->service);
    q->e.principal = str_copy(&cursor, e->principal);
    q->e.method = str_copy(&cursor, e->method);
    q->e.resource = str_copy(&cursor, e->resource);
    q->e.key_version = str_copy(&cursor, e->key_version);
    q->e.caller = str_copy(&cursor, e->caller);
    q->e.justification = str_copy(&cursor, e->justification);
    q->e.message = str_copy(&cursor, e->message);
    return q;
}

void em_audit_record(struct em_audit *audit, const struct em_audit_entry *entry)
{
    if (!audit)
        return;
    struct queued *q = entry_copy(entry);
    if (!q)
        return;
    pthread_mutex_lock(&audit->lock);
    if (audit->count == audit->cap) {
        size_t cap = audit->cap ? audit->cap * 2 : 256;
        struct queued **items = realloc(audit->items, cap * sizeof(*items));
        if (!items) {
            pthread_mutex_unlock(&audit->lock);
            free(q);
            return;
        }
        audit->items = items;
        audit->cap = cap;
    }
    audit->items[audit->count++] = q;
    audit->queued++;
    if (audit->count == 1 || audit->count == BATCH_MAX)
        pthread_cond_signal(&audit->wake);
    pthread_mutex_unlock(&audit->lock);
}

static enum em_code insert_entry(struct em_store *store, const struct em_audit_entry *e,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store,
                      "INSERT INTO audit_log(time_ns, service, kind, principal, method, resource,"
                      " key_version, caller, code, message, justification, justification_enforced)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, e->time_ns);
    em_bind_text(stmt, 2, e->service);
    sqlite3_bind_int(stmt, 3, e->kind);
    em_bind_text(stmt, 4, e->principal);
    em_bind_text(stmt, 5, e->method);
    em_bind_text(stmt, 6, e->resource);
    em_bind_text(stmt, 7, e->key_version);
    em_bind_text(stmt, 8, e->caller);
    sqlite3_bind_int(stmt, 9, e->code);
    em_bind_text(stmt, 10, e->message);
    em_bind_text(stmt, 11, e->justification);
    sqlite3_bind_int(stmt, 12, e->justification_enforced);
    return em_stmt_run(stmt, st);
}

static void prune(struct em_audit *audit)
{
    struct em_status st = {0};
    sqlite3_stmt *stmt = em_store_stmt(
        audit->store, "DELETE FROM audit_log WHERE id <= (SELECT max(id) FROM audit_log) - ?", &st);
    if (!stmt)
        return;
    sqlite3_bind_int64(stmt, 1, audit->max_entries);
    em_stmt_run(stmt, &st);
}

static void write_batch(struct em_audit *audit, struct queued **batch, size_t n)
{
    struct em_status st = {0};
    if (em_store_begin(audit->store, &st) == EM_OK) {
        for (size_t i = 0; i < n && st.code == EM_OK; i++)
            insert_entry(audit->store, &batch[i]->e, &st);
        if (st.code == EM_OK)
            em_store_commit(audit->store, &st);
        else
            em_store_rollback(audit->store);
    }
    if (st.code)
        em_error("audit log: %zu entries not written: %s", n, st.message);
    prune(audit); /* a range delete on the rowid: nothing to do most of the time */
    for (size_t i = 0; i < n; i++)
        free(batch[i]);
}

static void deadline_in_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void *writer_main(void *arg)
{
    struct em_audit *audit = arg;
    pthread_mutex_lock(&audit->lock);
    for (;;) {
        while (audit->count == 0 && !audit->stopping)
            pthread_cond_wait(&audit->wake, &audit->lock);
        if (audit->count == 0 && audit->stopping)
            break;
        /* let a burst gather for a moment, unless someone waits on a flush */
        struct timespec ts;
        deadline_in_ms(&ts, FLUSH_INTERVAL_MS);
        while (!audit->stopping && audit->flush_waiters == 0 && audit->count < BATCH_MAX)
            if (pthread_cond_timedwait(&audit->wake, &audit->lock, &ts) == ETIMEDOUT)
                break;
        struct queued **batch = audit->items;
        size_t n = audit->count;
        audit->items = NULL;
        audit->count = audit->cap = 0;
        pthread_mutex_unlock(&audit->lock);
        write_batch(audit, batch, n);
        free(batch);
        pthread_mutex_lock(&audit->lock);
        audit->written += n;
        pthread_cond_broadcast(&audit->done);
    }
    pthread_mutex_unlock(&audit->lock);
    return NULL;
}

enum em_code em_audit_open(struct em_store *store, int64_t max_entries, struct em_audit **out,
                           struct em_status *st)
{
    if (em_store_migrate(store, "audit", audit_migrations, 2, st))
        return st->code;
    struct em_audit *audit = calloc(1, sizeof(*audit));
    if (!audit)
        return EM_FAIL_OOM(st);
    audit->store = store;
    audit->max_entries = max_entries;
    pthread_mutex_init(&audit->lock, NULL);
    pthread_cond_init(&audit->wake, NULL);
    pthread_cond_init(&audit->done, NULL);
    if (pthread_create(&audit->thread, NULL, writer_main, audit) != 0) {
        free(audit);
        return EM_FAIL(st, EM_INTERNAL, "cannot start the audit writer thread");
    }
    *out = audit;
    return EM_OK;
}

enum em_code em_audit_flush(struct em_audit *audit, struct em_status *st)
{
    (void)st;
    if (!audit)
        return EM_OK;
    pthread_mutex_lock(&audit->lock);
    uint64_t target = audit->queued;
    audit->flush_waiters++;
    pthread_cond_signal(&audit->wake);
    while (audit->written < target)
        pthread_cond_wait(&audit->done, &audit->lock);
    audit->flush_waiters--;
    pthread_mutex_unlock(&audit->lock);
    return EM_OK;
}

void em_audit_close(struct em_audit *audit)
{
    if (!audit)
        return;
    pthread_mutex_lock(&audit->lock);
    audit->stopping = true;
    pthread_cond_signal(&audit->wake);
    pthread_mutex_unlock(&audit->lock);
    pthread_join(audit->thread, NULL);
    pthread_mutex_destroy(&audit->lock);
    pthread_cond_destroy(&audit->wake);
    pthread_cond_destroy(&audit->done);
    free(audit->items);
    free(audit);
}

static const char *nullable(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL
               ? NULL
               : (const char *)sqlite3_column_text(stmt, col);
}

static void read_row(sqlite3_stmt *stmt, struct em_audit_row *row)
{
    row->id = sqlite3_column_int64(stmt, 0);
    row->entry.time_ns = sqlite3_column_int64(stmt, 1);
    row->entry.service = em_column_text(stmt, 2);
    row->entry.kind = (enum em_audit_kind)sqlite3_column_int(stmt, 3);
    row->entry.principal = em_column_text(stmt, 4);
    row->entry.method = em_column_text(stmt, 5);
    row->entry.resource = em_column_text(stmt, 6);
    row->entry.key_version = nullable(stmt, 7);
    row->entry.caller = nullable(stmt, 8);
    row->entry.code = sqlite3_column_int(stmt, 9);
    row->entry.message = nullable(stmt, 10);
    row->entry.justification = nullable(stmt, 11);
    row->entry.justification_enforced = sqlite3_column_int(stmt, 12) != 0;
}

enum em_code em_audit_scan(struct em_store *store, bool descending, int64_t after_id,
                           em_audit_visit_fn visit, void *arg, struct em_status *st)
{
    static const char asc[] = "SELECT id, time_ns, service, kind, principal, method, resource,"
                              " key_version, caller, code, message, justification,"
                              " justification_enforced FROM audit_log WHERE id > ? ORDER BY id ASC";
    static const char desc[] =
        "SELECT id, time_ns, service, kind, principal, method, resource,"
        " key_version, caller, code, message, justification,"
        " justification_enforced FROM audit_log WHERE id < ? ORDER BY id DESC";
    sqlite3_stmt *stmt = em_store_stmt(store, descending ? desc : asc, st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, descending && after_id == 0 ? INT64_MAX : after_id);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct em_audit_row row;
        read_row(stmt, &row);
        if (!visit(&row, arg))
            break;
    }
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

enum em_code em_audit_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM audit_log", st);
}
