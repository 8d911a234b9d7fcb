/*
 * spanner_store: the SQL of the Spanner admin plane (see spanner_store.h for the tables).
 */
#include "spanner_store.h"

#include "em_store.h"

#include <stdlib.h>
#include <string.h>

static const char *const sp_migrations[] = {
    "CREATE TABLE spanner_instances ("
    " name TEXT PRIMARY KEY,"
    " json TEXT NOT NULL);"
    "CREATE TABLE spanner_databases ("
    " name TEXT PRIMARY KEY,"
    " instance TEXT NOT NULL,"
    " json TEXT NOT NULL,"
    " ddl TEXT NOT NULL DEFAULT '[]');"
    "CREATE INDEX spanner_databases_by_instance ON spanner_databases(instance);",
    "CREATE TABLE spanner_backups ("
    " name TEXT PRIMARY KEY,"
    " instance TEXT NOT NULL,"
    " json TEXT NOT NULL,"
    " ddl TEXT NOT NULL DEFAULT '[]');"
    "CREATE INDEX spanner_backups_by_instance ON spanner_backups(instance);",
    "CREATE TABLE spanner_backup_schedules ("
    " name TEXT PRIMARY KEY,"
    " database TEXT NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE INDEX spanner_backup_schedules_by_database ON spanner_backup_schedules(database);"
    "CREATE TRIGGER spanner_backup_schedules_go_with_database AFTER DELETE ON spanner_databases"
    " BEGIN DELETE FROM spanner_backup_schedules WHERE database = old.name; END;",
    "CREATE TABLE spanner_instance_configs ("
    " name TEXT PRIMARY KEY,"
    " json TEXT NOT NULL);",
    "CREATE TABLE spanner_instance_partitions ("
    " name TEXT PRIMARY KEY,"
    " instance TEXT NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE INDEX spanner_instance_partitions_by_instance ON spanner_instance_partitions(instance);"
    "CREATE TRIGGER spanner_instance_partitions_go_with_instance AFTER DELETE ON spanner_instances"
    " BEGIN DELETE FROM spanner_instance_partitions WHERE instance = old.name; END;",
};

enum em_code sp_store_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "spanner", sp_migrations,
                            (int)(sizeof(sp_migrations) / sizeof(sp_migrations[0])), st);
}

static char *dup_or_fail(const char *text, struct em_status *st)
{
    char *copy = strdup(text);
    if (!copy)
        EM_FAIL_OOM(st);
    return copy;
}

/* Reads the text columns of the one row a name selects; each *out NULL when absent. */
static enum em_code get_row(struct em_store *store, const char *sql, const char *name, char **a,
                            char **b, struct em_status *st)
{
    *a = NULL;
    if (b)
        *b = NULL;
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *a = dup_or_fail(em_column_text(stmt, 0), st);
        if (*a && b && !(*b = dup_or_fail(em_column_text(stmt, 1), st))) {
            free(*a);
            *a = NULL;
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
        return EM_FAIL(st, EM_INTERNAL, "A stored Spanner resource is not JSON.");
    cJSON_AddItemToArray(arg, item);
    return EM_OK;
}

/* The JSON column of every row whose key column starts with prefix, as an array. */
static enum em_code list_rows(struct em_store *store, const char *sql, const char *key, cJSON **out,
                              struct em_status *st)
{
    *out = cJSON_CreateArray();
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!*out || !stmt) {
        cJSON_Delete(*out);
        *out = NULL;
        return stmt ? EM_FAIL_OOM(st) : st->code;
    }
    em_bind_text(stmt, 1, key);
    enum em_code rc = em_stmt_each_row(stmt, add_json_row, *out, st);
    em_stmt_done(stmt);
    if (rc) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

enum em_code sp_store_put_instance(struct em_store *store, const char *name, const char *json,
                                   bool replace, struct em_status *st)
{
    const char *sql = replace ? "INSERT OR REPLACE INTO spanner_instances(name, json) VALUES(?, ?)"
                              : "INSERT INTO spanner_instances(name, json) VALUES(?, ?)";
    return em_store_run_text(store, sql, name, json, NULL, NULL, st);
}

enum em_code sp_store_get_instance(struct em_store *store, const char *name, char **json,
                                   struct em_status *st)
{
    return get_row(store, "SELECT json FROM spanner_instances WHERE name = ?", name, json, NULL,
                   st);
}

enum em_code sp_store_list_instances(struct em_store *store, const char *project_name, cJSON **out,
                                     struct em_status *st)
{
    return list_rows(store,
                     "SELECT json FROM spanner_instances WHERE substr(name, 1, length(?1) + 11) = "
                     "?1 || '/instances/' ORDER BY name",
                     project_name, out, st);
}

enum em_code sp_store_delete_instance(struct em_store *store, const char *name,
                                      struct em_status *st)
{
    if (em_store_begin(store, st))
        return st->code;
    if (em_store_run_text(store, "DELETE FROM spanner_databases WHERE instance = ?", name, NULL,
                          NULL, NULL, st) ||
        em_store_run_text(store, "DELETE FROM spanner_instances WHERE name = ?", name, NULL, NULL,
                          NULL, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

enum em_code sp_store_put_instance_config(struct em_store *store, const char *name,
                                          const char *json, bool replace, struct em_status *st)
{
    const char *sql =
        replace ? "INSERT OR REPLACE INTO spanner_instance_configs(name, json) VALUES(?, ?)"
                : "INSERT INTO spanner_instance_configs(name, json) VALUES(?, ?)";
    return em_store_run_text(store, sql, name, json, NULL, NULL, st);
}

enum em_code sp_store_get_instance_config(struct em_store *store, const char *name, char **json,
                                          struct em_status *st)
{
    return get_row(store, "SELECT json FROM spanner_instance_configs WHERE name = ?", name, json,
                   NULL, st);
}

enum em_code sp_store_list_instance_configs(struct em_store *store, const char *project_name,
                                            cJSON **out, struct em_status *st)
{
    return list_rows(store,
                     "SELECT json FROM spanner_instance_configs WHERE substr(name, 1, length(?1) + "
                     "17) = ?1 || '/instanceConfigs/' ORDER BY name",
                     project_name, out, st);
}

enum em_code sp_store_delete_instance_config(struct em_store *store, const char *name,
                                             struct em_status *st)
{
    return em_store_run_text(store, "DELETE FROM spanner_instance_configs WHERE name = ?", name,
                             NULL, NULL, NULL, st);
}

enum em_code sp_store_put_instance_partition(struct em_store *store, const char *name,
                                             const char *instance, const char *json, bool replace,
                                             struct em_status *st)
{
    const char *sql = replace ? "INSERT OR REPLACE INTO spanner_instance_partitions(name, "
                                "instance, json) VALUES(?, ?, ?)"
                              : "INSERT INTO spanner_instance_partitions(name, instance, json) "
                                "VALUES(?, ?, ?)";
    return em_store_run_text(store, sql, name, instance, json, NULL, st);
}

enum em_code sp_store_get_instance_partition(struct em_store *store, const char *name, char **json,
                                             struct em_status *st)
{
    return get_row(store, "SELECT json FROM spanner_instance_partitions WHERE name = ?", name, json,
                   NULL, st);
}

enum em_code sp_store_list_instance_partitions(struct em_store *store, const char *instance,
                                               cJSON **out, struct em_status *st)
{
    return list_rows(
        store, "SELECT json FROM spanner_instance_partitions WHERE instance = ? ORDER BY name",
        instance, out, st);
}

enum em_code sp_store_list_project_partitions(struct em_store *store, const char *project_name,
                                              cJSON **out, struct em_status *st)
{
    return list_rows(store,
                     "SELECT json FROM spanner_instance_partitions WHERE substr(name, 1, "
                     "length(?1) + 11) = ?1 || '/instances/' ORDER BY name",
                     project_name, out, st);
}

enum em_code sp_store_delete_instance_partition(struct em_store *store, const char *name,
                                                struct em_status *st)
{
    return em_store_run_text(store, "DELETE FROM spanner_instance_partitions WHERE name = ?", name,
                             NULL, NULL, NULL, st);
}

enum em_code sp_store_put_database(struct em_store *store, const char *name, const char *instance,
                                   const char *json, const char *ddl, bool replace,
                                   struct em_status *st)
{
    const char *sql =
        replace ? "INSERT OR REPLACE INTO spanner_databases(name, instance, json, ddl) "
                  "VALUES(?, ?, ?, ?)"
                : "INSERT INTO spanner_databases(name, instance, json, ddl) VALUES(?, ?, ?, ?)";
    return em_store_run_text(store, sql, name, instance, json, ddl, st);
}

enum em_code sp_store_get_database(struct em_store *store, const char *name, char **json,
                                   char **ddl, struct em_status *st)
{
    return get_row(store, "SELECT json, ddl FROM spanner_databases WHERE name = ?", name, json, ddl,
                   st);
}

enum em_code sp_store_list_databases(struct em_store *store, const char *instance, cJSON **out,
                                     struct em_status *st)
{
    return list_rows(store, "SELECT json FROM spanner_databases WHERE instance = ? ORDER BY name",
                     instance, out, st);
}

enum em_code sp_store_list_all_databases(struct em_store *store, cJSON **out, struct em_status *st)
{
    return list_rows(store, "SELECT json FROM spanner_databases WHERE ?1 IS NULL ORDER BY name",
                     NULL, out, st);
}

enum em_code sp_store_delete_database(struct em_store *store, const char *name,
                                      struct em_status *st)
{
    return em_store_run_text(store, "DELETE FROM spanner_databases WHERE name = ?", name, NULL,
                             NULL, NULL, st);
}

enum em_code sp_store_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store,
                         "DELETE FROM spanner_backup_schedules; DELETE FROM spanner_backups;"
                         " DELETE FROM spanner_databases;"
                         " DELETE FROM spanner_instances; DELETE FROM spanner_instance_configs;"
                         " DELETE FROM spanner_instance_partitions;",
                         st);
}

enum em_code sp_store_put_backup(struct em_store *store, const char *name, const char *instance,
                                 const char *json, const char *ddl, bool replace,
                                 struct em_status *st)
{
    const char *sql =
        replace ? "INSERT OR REPLACE INTO spanner_backups(name, instance, json, ddl) "
                  "VALUES(?, ?, ?, ?)"
                : "INSERT INTO spanner_backups(name, instance, json, ddl) VALUES(?, ?, ?, ?)";
    return em_store_run_text(store, sql, name, instance, json, ddl, st);
}

enum em_code sp_store_get_backup(struct em_store *store, const char *name, char **json, char **ddl,
                                 struct em_status *st)
{
    return get_row(store, "SELECT json, ddl FROM spanner_backups WHERE name = ?", name, json, ddl,
                   st);
}

enum em_code sp_store_list_backups(struct em_store *store, const char *instance, cJSON **out,
                                   struct em_status *st)
{
    return list_rows(store, "SELECT json FROM spanner_backups WHERE instance = ? ORDER BY name",
                     instance, out, st);
}

enum em_code sp_store_list_all_backups(struct em_store *store, cJSON **out, struct em_status *st)
{
    return list_rows(store, "SELECT json FROM spanner_backups WHERE ?1 IS NULL ORDER BY name", NULL,
                     out, st);
}

enum em_code sp_store_delete_backup(struct em_store *store, const char *name, struct em_status *st)
{
    return em_store_run_text(store, "DELETE FROM spanner_backups WHERE name = ?", name, NULL, NULL,
                             NULL, st);
}

enum em_code sp_store_put_backup_schedule(struct em_store *store, const char *name,
                                          const char *database, const char *json, bool replace,
                                          struct em_status *st)
{
    const char *sql = replace ? "INSERT OR REPLACE INTO spanner_backup_schedules(name, database, "
                                "json) VALUES(?, ?, ?)"
                              : "INSERT INTO spanner_backup_schedules(name, database, json) "
                                "VALUES(?, ?, ?)";
    return em_store_run_text(store, sql, name, database, json, NULL, st);
}

enum em_code sp_store_get_backup_schedule(struct em_store *store, const char *name, char **json,
                                          struct em_status *st)
{
    return get_row(store, "SELECT json FROM spanner_backup_schedules WHERE name = ?", name, json,
                   NULL, st);
}

enum em_code sp_store_list_backup_schedules(struct em_store *store, const char *database,
                                            cJSON **out, struct em_status *st)
{
    return list_rows(store,
                     "SELECT json FROM spanner_backup_schedules WHERE database = ? ORDER BY name",
                     database, out, st);
}

enum em_code sp_store_list_all_backup_schedules(struct em_store *store, cJSON **out,
                                                struct em_status *st)
{
    return list_rows(store,
                     "SELECT json FROM spanner_backup_schedules WHERE ?1 IS NULL ORDER BY name",
                     NULL, out, st);
}

enum em_code sp_store_delete_backup_schedule(struct em_store *store, const char *name,
                                             struct em_status *st)
{
    return em_store_run_text(store, "DELETE FROM spanner_backup_schedules WHERE name = ?", name,
                             NULL, NULL, NULL, st);
}
