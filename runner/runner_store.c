/*
 * runner_store: the runner's SQL (tables described in runner_store.h).
 */
#include "runner_store.h"

#include "em_store.h"

#include <stdlib.h>
#include <string.h>

static const char *const rn_migrations[] = {
    "CREATE TABLE runner_jobs ("
    " name TEXT PRIMARY KEY,"
    " project TEXT NOT NULL,"
    " location TEXT NOT NULL,"
    " create_ns INTEGER NOT NULL,"
    " json TEXT NOT NULL,"
    " pipeline TEXT NOT NULL);"
    "CREATE INDEX runner_jobs_by_project ON runner_jobs(project, create_ns);"
    "CREATE TABLE runner_messages ("
    " job TEXT NOT NULL,"
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ns INTEGER NOT NULL,"
    " importance INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE INDEX runner_messages_by_job ON runner_messages(job, seq);",
};

static const char *const state_migrations[] = {
    "CREATE TABLE state ("
    " step INTEGER NOT NULL,"
    " win_start INTEGER NOT NULL,"
    " win_end INTEGER NOT NULL,"
    " key TEXT NOT NULL,"
    " acc TEXT NOT NULL,"
    " PRIMARY KEY(step, win_start, win_end, key));",
};

enum em_code rn_store_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "runner", rn_migrations,
                            (int)(sizeof(rn_migrations) / sizeof(rn_migrations[0])), st);
}

enum em_code rn_state_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "runner_state", state_migrations,
                            (int)(sizeof(state_migrations) / sizeof(state_migrations[0])), st);
}

enum em_code rn_store_put_job(struct em_store *store, const char *name, const char *project,
                              const char *location, int64_t create_ns, const char *json,
                              const char *pipeline, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "INSERT OR REPLACE INTO runner_jobs(name, project, "
                                       "location, create_ns, json, pipeline) "
                                       "VALUES(?, ?, ?, ?, ?, ?)",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    em_bind_text(stmt, 2, project);
    em_bind_text(stmt, 3, location);
    sqlite3_bind_int64(stmt, 4, create_ns);
    em_bind_text(stmt, 5, json);
    em_bind_text(stmt, 6, pipeline);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

static char *dup_column(sqlite3_stmt *stmt, int col, struct em_status *st)
{
    char *copy = strdup(em_column_text(stmt, col));
    if (!copy)
        EM_FAIL_OOM(st);
    return copy;
}

enum em_code rn_store_get_job(struct em_store *store, const char *name, char **json,
                              char **pipeline, struct em_status *st)
{
    *json = NULL;
    if (pipeline)
        *pipeline = NULL;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT json, pipeline FROM runner_jobs WHERE name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *json = dup_column(stmt, 0, st);
        if (*json && pipeline && !(*pipeline = dup_column(stmt, 1, st))) {
            free(*json);
            *json = NULL;
        }
    } else if (rc != SQLITE_DONE) {
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    }
    em_stmt_done(stmt);
    return st->code;
}

static enum em_code add_json_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    cJSON *item = cJSON_Parse(em_column_text(row, 0));
    if (!item)
        return EM_FAIL(st, EM_INTERNAL, "A stored Dataflow record is not JSON.");
    cJSON_AddItemToArray(arg, item);
    return EM_OK;
}

static enum em_code add_text_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    cJSON *item = cJSON_CreateString(em_column_text(row, 0));
    if (!item)
        return EM_FAIL_OOM(st);
    cJSON_AddItemToArray(arg, item);
    return EM_OK;
}

/* Runs a prepared statement into a new array, one item per row. */
static enum em_code collect(sqlite3_stmt *stmt, em_row_fn row, cJSON **out, struct em_status *st)
{
    if (!(*out = cJSON_CreateArray())) {
        em_stmt_done(stmt);
        return EM_FAIL_OOM(st);
    }
    enum em_code rc = em_stmt_each_row(stmt, row, *out, st);
    em_stmt_done(stmt);
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

enum em_code rn_store_list_jobs(struct em_store *store, const char *project, const char *location,
                                cJSON **out, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT json FROM runner_jobs WHERE project = ?1 AND "
                                       "(?2 IS NULL OR location = ?2) "
                                       "ORDER BY create_ns DESC, name DESC",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project);
    em_bind_text(stmt, 2, location);
    return collect(stmt, add_json_row, out, st);
}

enum em_code rn_store_job_names(struct em_store *store, cJSON **out, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT name FROM runner_jobs ORDER BY create_ns", st);
    return stmt ? collect(stmt, add_text_row, out, st) : st->code;
}

enum em_code rn_store_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM runner_messages; DELETE FROM runner_jobs;", st);
}

enum em_code rn_store_add_message(struct em_store *store, const char *job, int64_t time_ns,
                                  int importance, const char *json, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT INTO runner_messages(job, time_ns, importance, json) VALUES(?, ?, ?, ?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, job);
    sqlite3_bind_int64(stmt, 2, time_ns);
    sqlite3_bind_int(stmt, 3, importance);
    em_bind_text(stmt, 4, json);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

/* A page of messages being read: one row more than the page says whether more follow. */
struct message_page {
    cJSON *list;
    int page_size, count;
    int64_t last_seq;
    bool more;
};

static enum em_code add_message_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct message_page *page = arg;
    if (page->page_size > 0 && page->count == page->page_size) {
        page->more = true;
        return EM_OK;
    }
    cJSON *item = cJSON_Parse(em_column_text(row, 1));
    if (!item)
        return EM_FAIL(st, EM_INTERNAL, "A stored Dataflow record is not JSON.");
    cJSON_AddItemToArray(page->list, item);
    page->count++;
    page->last_seq = sqlite3_column_int64(row, 0);
    return EM_OK;
}

enum em_code rn_store_list_messages(struct em_store *store, const char *job,
                                    const struct rn_message_query *q, cJSON **out,
                                    int64_t *next_after, struct em_status *st)
{
    *out = NULL;
    *next_after = 0;
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT seq, json FROM runner_messages WHERE job = ?1 AND "
                                       "importance >= ?2 AND time_ns >= ?3 AND time_ns < ?4 AND "
                                       "seq > ?5 ORDER BY seq LIMIT ?6",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, job);
    sqlite3_bind_int(stmt, 2, q->min_importance);
    sqlite3_bind_int64(stmt, 3, q->start_ns);
    sqlite3_bind_int64(stmt, 4, q->end_ns);
    sqlite3_bind_int64(stmt, 5, q->after_seq);
    sqlite3_bind_int64(stmt, 6, q->page_size > 0 ? (int64_t)q->page_size + 1 : -1);
    struct message_page page = {.list = cJSON_CreateArray(), .page_size = q->page_size};
    if (!page.list) {
        em_stmt_done(stmt);
        return EM_FAIL_OOM(st);
    }
    enum em_code rc = em_stmt_each_row(stmt, add_message_row, &page, st);
    em_stmt_done(stmt);
    if (rc) {
        cJSON_Delete(page.list);
        return rc;
    }
    *out = page.list;
    *next_after = page.more ? page.last_seq : 0;
    return EM_OK;
}

/* --- state --- */

static void bind_slot(sqlite3_stmt *stmt, int step, int64_t win_start, int64_t win_end,
                      const char *key)
{
    sqlite3_bind_int(stmt, 1, step);
    sqlite3_bind_int64(stmt, 2, win_start);
    sqlite3_bind_int64(stmt, 3, win_end);
    em_bind_text(stmt, 4, key);
}

enum em_code rn_state_get(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                          const char *key, char **acc, struct em_status *st)
{
    *acc = NULL;
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT acc FROM state WHERE step = ? AND win_start = ? "
                                       "AND win_end = ? AND key = ?",
                                       st);
    if (!stmt)
        return st->code;
    bind_slot(stmt, step, win_start, win_end, key);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *acc = dup_column(stmt, 0, st);
    else if (rc != SQLITE_DONE)
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return st->code;
}

enum em_code rn_state_set(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                          const char *key, const char *acc, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "INSERT OR REPLACE INTO state(step, win_start, win_end, "
                                       "key, acc) VALUES(?, ?, ?, ?, ?)",
                                       st);
    if (!stmt)
        return st->code;
    bind_slot(stmt, step, win_start, win_end, key);
    em_bind_text(stmt, 5, acc);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

struct ready_walk {
    rn_state_row_fn row;
    void *arg;
};

static enum em_code ready_row(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    struct ready_walk *walk = arg;
    return walk->row(sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
                     em_column_text(stmt, 2), em_column_text(stmt, 3), walk->arg, st);
}

enum em_code rn_state_each_ready(struct em_store *store, int step, int64_t watermark,
                                 rn_state_row_fn row, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT win_start, win_end, key, acc FROM state WHERE "
                                       "step = ? AND win_end <= ? ORDER BY win_start, win_end, key",
                                       st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, step);
    sqlite3_bind_int64(stmt, 2, watermark);
    struct ready_walk walk = {row, arg};
    enum em_code rc = em_stmt_each_row(stmt, ready_row, &walk, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code rn_state_delete_ready(struct em_store *store, int step, int64_t watermark,
                                   struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "DELETE FROM state WHERE step = ? AND win_end <= ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, step);
    sqlite3_bind_int64(stmt, 2, watermark);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code rn_state_each_overlapping(struct em_store *store, int step, const char *key,
                                       int64_t win_start, int64_t win_end, rn_state_row_fn row,
                                       void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT win_start, win_end, key, acc FROM state WHERE "
                                       "step = ? AND key = ? AND win_start < ? AND win_end > ? "
                                       "ORDER BY win_start",
                                       st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, step);
    em_bind_text(stmt, 2, key);
    sqlite3_bind_int64(stmt, 3, win_end);
    sqlite3_bind_int64(stmt, 4, win_start);
    struct ready_walk walk = {row, arg};
    enum em_code rc = em_stmt_each_row(stmt, ready_row, &walk, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code rn_state_delete(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                             const char *key, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "DELETE FROM state WHERE step = ? AND win_start = ? AND "
                                       "win_end = ? AND key = ?",
                                       st);
    if (!stmt)
        return st->code;
    bind_slot(stmt, step, win_start, win_end, key);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code rn_state_count(struct em_store *store, int64_t *count, struct em_status *st)
{
    *count = 0;
    sqlite3_stmt *stmt = em_store_stmt(store, "SELECT count(*) FROM state", st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *count = sqlite3_column_int64(stmt, 0);
    else
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return st->code;
}
