/*
 * em_api_state: projects' enabled and disabled APIs, the deleted projects, and this
 * process's set of both (see em_api_state.h). The only SQL of tables project_services and
 * deleted_projects.
 */
#include "em_api_state.h"

#include "em_names.h"
#include "em_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const migrations[] = {
    "CREATE TABLE project_services ("
    " project_id TEXT NOT NULL,"
    " service TEXT NOT NULL,"
    " enabled INTEGER NOT NULL,"
    " PRIMARY KEY (project_id, service))",
    /* 2: projects deleted (DELETE_REQUESTED), with their emulator time of deletion */
    "CREATE TABLE deleted_projects ("
    " project_id TEXT PRIMARY KEY,"
    " delete_time_ns INTEGER NOT NULL)",
};

enum em_code em_api_state_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "serviceusage", migrations,
                            (int)(sizeof(migrations) / sizeof(migrations[0])), st);
}

enum em_code em_api_state_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM project_services; DELETE FROM deleted_projects", st);
}

enum em_code em_api_state_set(struct em_store *store, const char *project_id, const char *api,
                              bool enabled, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store,
                      "INSERT OR REPLACE INTO project_services(project_id, service, enabled) "
                      "VALUES (?, ?, ?)",
                      st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    em_bind_text(stmt, 2, api);
    sqlite3_bind_int(stmt, 3, enabled);
    return em_stmt_run(stmt, st);
}

enum em_code em_api_state_get(struct em_store *store, const char *project_id, const char *api,
                              bool *enabled, bool *recorded, struct em_status *st)
{
    *enabled = *recorded = false;
    sqlite3_stmt *stmt = em_store_stmt(
        store, "SELECT enabled FROM project_services WHERE project_id = ? AND service = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    em_bind_text(stmt, 2, api);
    int rc = sqlite3_step(stmt);
    *recorded = rc == SQLITE_ROW;
    *enabled = *recorded && sqlite3_column_int(stmt, 0);
    return em_stmt_end(stmt, rc, st);
}

enum em_code em_api_state_each(struct em_store *store, const char *project_id,
                               em_api_visit_fn visit, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "SELECT service, enabled FROM project_services WHERE project_id = ? ORDER BY service", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        visit(em_column_text(stmt, 0), sqlite3_column_int(stmt, 1) != 0, arg);
    return em_stmt_end(stmt, rc, st);
}

enum em_code em_project_set_deleted(struct em_store *store, const char *project_id,
                                    int64_t delete_time_ns, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        delete_time_ns ? "INSERT OR REPLACE INTO deleted_projects(project_id, delete_time_ns) "
                         "VALUES (?, ?)"
                       : "DELETE FROM deleted_projects WHERE project_id = ?",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    if (delete_time_ns)
        sqlite3_bind_int64(stmt, 2, delete_time_ns);
    return em_stmt_run(stmt, st);
}

enum em_code em_project_delete_time(struct em_store *store, const char *project_id,
                                    int64_t *delete_time_ns, struct em_status *st)
{
    *delete_time_ns = 0;
    sqlite3_stmt *stmt = em_store_stmt(
        store, "SELECT delete_time_ns FROM deleted_projects WHERE project_id = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *delete_time_ns = sqlite3_column_int64(stmt, 0);
    return em_stmt_end(stmt, rc, st);
}

/* --- this process's set of disabled APIs and deleted projects --- */

struct disabled {
    char project[64];
    char api[EM_API_NAME_MAX]; /* "" for a deleted project: all of its APIs */
};

static pthread_rwlock_t set_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disabled *set_items;
static size_t set_count;
static atomic_size_t set_size; /* set_count, read without the lock by the fast path */

struct loading {
    struct disabled *items;
    size_t count, cap;
};

static enum em_code add_loaded(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    struct loading *l = arg;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct disabled *items = realloc(l->items, cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(st);
        l->items = items;
        l->cap = cap;
    }
    struct disabled *d = &l->items[l->count++];
    snprintf(d->project, sizeof(d->project), "%s", em_column_text(stmt, 0));
    snprintf(d->api, sizeof(d->api), "%s", em_column_text(stmt, 1));
    return EM_OK;
}

/* One load at a time, its read and its swap together: a tick's older read must not replace
 * the set a later DeleteProject or disable had the service load. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static enum em_code load_locked(struct em_store *store, struct em_status *st)
{
    struct loading l = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(store,
                      "SELECT project_id, service FROM project_services WHERE enabled = 0 "
                      "UNION ALL SELECT project_id, '' FROM deleted_projects",
                      st);
    if (!stmt || em_stmt_each_row(stmt, add_loaded, &l, st)) {
        free(l.items);
        return st->code;
    }
    pthread_rwlock_wrlock(&set_lock);
    free(set_items);
    set_items = l.items;
    set_count = l.count;
    atomic_store(&set_size, l.count);
    pthread_rwlock_unlock(&set_lock);
    return EM_OK;
}

enum em_code em_api_state_load(struct em_store *store, struct em_status *st)
{
    pthread_mutex_lock(&load_lock);
    enum em_code code = load_locked(store, st);
    pthread_mutex_unlock(&load_lock);
    return code;
}

bool em_api_state_any(void)
{
    return atomic_load_explicit(&set_size, memory_order_relaxed) != 0;
}

enum em_api_use em_api_use(const char *project_id, const char *api)
{
    if (!em_api_state_any())
        return EM_API_USABLE;
    enum em_api_use use = EM_API_USABLE;
    pthread_rwlock_rdlock(&set_lock);
    for (size_t i = 0; i < set_count && use != EM_API_PROJECT_DELETED; i++) {
        if (strcmp(set_items[i].project, project_id) != 0)
            continue;
        if (!set_items[i].api[0])
            use = EM_API_PROJECT_DELETED;
        else if (strcmp(set_items[i].api, api) == 0)
            use = EM_API_DISABLED;
    }
    pthread_rwlock_unlock(&set_lock);
    return use;
}

/* em_api_use of the project resource names; USABLE for a name without a project. */
static enum em_api_use use_for(const char *resource, const char *api)
{
    char project[64];
    if (!em_api_state_any() || strncmp(resource, "projects/", 9) != 0 ||
        !em_name_id(resource, "projects", project, sizeof(project)))
        return EM_API_USABLE;
    return em_api_use(project, api);
}

bool em_api_usable_for(const char *resource, const char *api)
{
    return use_for(resource, api) == EM_API_USABLE;
}

bool em_api_project_deleted_for(const char *resource)
{
    return use_for(resource, "") == EM_API_PROJECT_DELETED;
}
