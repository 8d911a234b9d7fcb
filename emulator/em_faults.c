/*
 * em_faults: injected faults, in metadata.db and cached in memory (see em_faults.h).
 */
#include "em_faults.h"

#include "em_store.h"

#include <stdatomic.h>

static atomic_bool kms_unreachable;

static const char *const faults_migrations[] = {
    "CREATE TABLE faults (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL);"
    "INSERT INTO faults(name, enabled) VALUES ('kmsUnreachable', 0);",
};

enum em_code em_faults_open(struct em_store *store, struct em_status *st)
{
    if (em_store_migrate(store, "faults", faults_migrations, 1, st))
        return st->code;
    return em_faults_reload(store, st);
}

enum em_code em_faults_reload(struct em_store *store, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT enabled FROM faults WHERE name = 'kmsUnreachable'", st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        atomic_store(&kms_unreachable, sqlite3_column_int(stmt, 0) != 0);
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

enum em_code em_faults_set_kms_unreachable(struct em_store *store, bool on, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "UPDATE faults SET enabled = ? WHERE name = 'kmsUnreachable'", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, on);
    if (em_stmt_run(stmt, st))
        return st->code;
    atomic_store(&kms_unreachable, on);
    return EM_OK;
}

bool em_faults_kms_unreachable(void)
{
    return atomic_load(&kms_unreachable);
}
