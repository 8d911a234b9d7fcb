/*
 * bigtable_store: the SQL of the Bigtable admin plane (see bigtable_store.h for the table).
 */
#include "bigtable_store.h"

#include "em_store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const bt_migrations[] = {
    "CREATE TABLE bigtable_resources ("
    " name TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " instance TEXT NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE INDEX bigtable_resources_by_instance ON bigtable_resources(instance, kind);",
};

static atomic_uint_fast64_t generation;

/* After a write (done or failed: either way a cache may no longer hold). */
static enum em_code changed(enum em_code rc)
{
    atomic_fetch_add(&generation, 1);
    return rc;
}

uint64_t bt_store_generation(void)
{
    return atomic_load(&generation);
}

enum em_code bt_store_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "bigtable", bt_migrations,
                            (int)(sizeof(bt_migrations) / sizeof(bt_migrations[0])), st);
}

enum em_code bt_store_put(struct em_store *store, const char *name, const char *kind,
                          const char *instance, const char *json, bool replace,
                          struct em_status *st)
{
    const char *sql = replace ? "INSERT OR REPLACE INTO bigtable_resources(name, kind, instance, "
                                "json) VALUES(?, ?, ?, ?)"
                              : "INSERT INTO bigtable_resources(name, kind, instance, json) "
                                "VALUES(?, ?, ?, ?)";
    return changed(em_store_run_text(store, sql, name, kind, instance, json, st));
}

enum em_code bt_store_get(struct em_store *store, const char *name, const char *kind, char **json,
                          struct em_status *st)
{
    *json = NULL;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT json FROM bigtable_resources WHERE name = ? AND kind = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    em_bind_text(stmt, 2, kind);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        if (!(*json = strdup(em_column_text(stmt, 0))))
            EM_FAIL_OOM(st);
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
        return EM_FAIL(st, EM_INTERNAL, "A stored Bigtable resource is not JSON.");
    cJSON_AddItemToArray(arg, item);
    return EM_OK;
}

enum em_code bt_store_list(struct em_store *store, const char *kind, const char *instance,
                           bool project_wide, cJSON **out, struct em_status *st)
{
    const char *sql = project_wide
                          ? "SELECT json FROM bigtable_resources WHERE kind = ?1 AND "
                            "substr(instance, 1, length(?2)) = ?2 ORDER BY name"
                          : "SELECT json FROM bigtable_resources WHERE kind = ?1 AND instance = ?2 "
                            "ORDER BY name";
    *out = cJSON_CreateArray();
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!*out || !stmt) {
        cJSON_Delete(*out);
        *out = NULL;
        return stmt ? EM_FAIL_OOM(st) : st->code;
    }
    em_bind_text(stmt, 1, kind);
    em_bind_text(stmt, 2, instance);
    enum em_code rc = em_stmt_each_row(stmt, add_json_row, *out, st);
    em_stmt_done(stmt);
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

enum em_code bt_store_delete(struct em_store *store, const char *name, struct em_status *st)
{
    return changed(em_store_run_text(store, "DELETE FROM bigtable_resources WHERE name = ?", name,
                                     NULL, NULL, NULL, st));
}

enum em_code bt_store_delete_instance(struct em_store *store, const char *instance,
                                      struct em_status *st)
{
    return changed(em_store_run_text(store, "DELETE FROM bigtable_resources WHERE instance = ?",
                                     instance, NULL, NULL, NULL, st));
}

enum em_code bt_store_clear(struct em_store *store, struct em_status *st)
{
    return changed(em_store_exec(store, "DELETE FROM bigtable_resources;", st));
}
