/*
 * control_projects: the projects table (see control_projects.h). The only file with the
 * control plane's SQL.
 */
#include "control_projects.h"

#include "em_clock.h"
#include "em_names.h"
#include "em_store.h"

#include <stdio.h>

static const char *const project_migrations[] = {
    "CREATE TABLE projects ("
    " project_id TEXT PRIMARY KEY,"
    " create_time_ns INTEGER NOT NULL)",
};

enum em_code control_projects_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "projects", project_migrations, 1, st);
}

static enum em_code remember(struct em_store *store, const char *project_id, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT OR IGNORE INTO projects(project_id, create_time_ns) VALUES (?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    sqlite3_bind_int64(stmt, 2, em_clock_now());
    return em_stmt_run(stmt, st);
}

static void read_project(sqlite3_stmt *stmt, struct control_project *out)
{
    snprintf(out->id, sizeof(out->id), "%s", em_column_text(stmt, 0));
    out->create_time_ns = sqlite3_column_int64(stmt, 1);
    out->number = em_project_number(out->id);
}

enum em_code control_project_get(struct em_store *store, const char *project_id,
                                 struct control_project *out, struct em_status *st)
{
    if (em_project_check(project_id, st) || remember(store, project_id, st))
        return st->code;
    sqlite3_stmt *stmt = em_store_stmt(
        store, "SELECT project_id, create_time_ns FROM projects WHERE project_id = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read_project(stmt, out);
    em_stmt_done(stmt);
    if (rc == SQLITE_ROW)
        return EM_OK;
    if (rc == SQLITE_DONE) /* a reset raced with us between the two statements */
        return EM_FAIL(st, EM_ABORTED, "Project %s changed concurrently; retry.", project_id);
    return em_store_error(em_store_db(store, NULL), rc, st);
}

enum em_code control_projects_scan(struct em_store *store, control_project_visit_fn visit,
                                   void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "SELECT project_id, create_time_ns FROM projects ORDER BY project_id", st);
    if (!stmt)
        return st->code;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct control_project project = {0};
        read_project(stmt, &project);
        if (!visit(&project, arg))
            break;
    }
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

enum em_code control_projects_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM projects", st);
}
