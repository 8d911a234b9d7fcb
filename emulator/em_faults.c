/*
 * em_faults: injected faults, in metadata.db and cached in memory (see em_faults.h).
 */
#include "em_faults.h"

#include "em_store.h"

#include <stdatomic.h>
#include <string.h>

static atomic_bool kms_unreachable, ekm_unreachable;

static const char *const faults_migrations[] = {
    "CREATE TABLE faults (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL);"
    "INSERT INTO faults(name, enabled) VALUES ('kmsUnreachable', 0);",
    "INSERT INTO faults(name, enabled) VALUES ('ekmUnreachable', 0);",
};

enum em_code em_faults_open(struct em_store *store, struct em_status *st)
{
    if (em_store_migrate(store, "faults", faults_migrations, 2, st))
        return st->code;
    return em_faults_reload(store, st);
}

static enum em_code load_fault(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    (void)arg;
    (void)st;
    const char *name = em_column_text(row, 0);
    bool on = sqlite3_column_int(row, 1) != 0;
    if (strcmp(name, "kmsUnreachable") == 0)
        atomic_store(&kms_unreachable, on);
    else if (strcmp(name, "ekmUnreachable") == 0)
        atomic_store(&ekm_unreachable, on);
    return EM_OK;
}

enum em_code em_faults_reload(struct em_store *store, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "SELECT name, enabled FROM faults", st);
    if (!stmt)
        return st->code;
    return em_stmt_each_row(stmt, load_fault, NULL, st);
}

static enum em_code set_fault(struct em_store *store, const char *name, bool on,
                              atomic_bool *cached, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "UPDATE faults SET enabled = ? WHERE name = ?", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, on);
    em_bind_text(stmt, 2, name);
    if (em_stmt_run(stmt, st))
        return st->code;
    atomic_store(cached, on);
    return EM_OK;
}

enum em_code em_faults_set_kms_unreachable(struct em_store *store, bool on, struct em_status *st)
{
    return set_fault(store, "kmsUnreachable", on, &kms_unreachable, st);
}

enum em_code em_faults_set_ekm_unreachable(struct em_store *store, bool on, struct em_status *st)
{
    return set_fault(store, "ekmUnreachable", on, &ekm_unreachable, st);
}

bool em_faults_kms_unreachable(void)
{
    return atomic_load(&kms_unreachable);
}

bool em_faults_ekm_unreachable(void)
{
    return atomic_load(&ekm_unreachable);
}
