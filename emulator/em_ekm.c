/*
 * em_ekm: the simulated external key manager: its table, its root key and its keys'
 * states (see em_ekm.h for the model and the state machine).
 */
#include "em_ekm.h"

#include "em_crypto.h"
#include "em_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEALED_BYTES (EM_EKM_KEY_BYTES + EM_SEAL_OVERHEAD)

/* The EKM's root key, loaded by em_ekm_open in every process that uses the EKM. */
static unsigned char ekm_root[EM_AES_KEY_BYTES];

static const char *const ekm_migrations[] = {
    "CREATE TABLE ekm_keys ("
    " uri TEXT PRIMARY KEY,"
    " state TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL,"
    " update_time_ns INTEGER NOT NULL,"
    " sealed_material BLOB);",
};

static const char *const state_names[] = {"ENABLED", "DISABLED", "DESTROYED"};

const char *em_ekm_state_name(enum em_ekm_state state)
{
    return (unsigned)state < 3 ? state_names[state] : "ENABLED";
}

bool em_ekm_state_parse(const char *name, enum em_ekm_state *out)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(state_names[i], name) == 0) {
            *out = (enum em_ekm_state)i;
            return true;
        }
    return false;
}

void em_ekm_close(void)
{
    em_wipe(ekm_root, sizeof(ekm_root));
}

enum em_code em_ekm_open(struct em_store *store, const char *data_dir, struct em_status *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/ekm-root.key", data_dir);
    if (em_key_file(path, ekm_root, st))
        return st->code;
    return em_store_migrate(store, "ekm", ekm_migrations, 1, st);
}

/* --- reading a key --- */

struct key_row {
    struct em_ekm_key key;
    bool found;
    unsigned char sealed[SEALED_BYTES];
    size_t sealed_len;
};

static enum em_code read_key_row(sqlite3_stmt *stmt, struct key_row *row, struct em_status *st)
{
    (void)st;
    snprintf(row->key.uri, sizeof(row->key.uri), "%s", em_column_text(stmt, 0));
    if (!em_ekm_state_parse(em_column_text(stmt, 1), &row->key.state))
        row->key.state = EM_EKM_DESTROYED; /* an unknown state gives no key */
    row->key.create_ns = sqlite3_column_int64(stmt, 2);
    row->key.update_ns = sqlite3_column_int64(stmt, 3);
    int len = sqlite3_column_bytes(stmt, 4);
    row->sealed_len = len == SEALED_BYTES ? SEALED_BYTES : 0;
    if (row->sealed_len)
        memcpy(row->sealed, sqlite3_column_blob(stmt, 4), SEALED_BYTES);
    row->found = true;
    return EM_OK;
}

static enum em_code one_key_row(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    return read_key_row(stmt, arg, st);
}

static enum em_code find_key(struct em_store *store, const char *uri, struct key_row *row,
                             struct em_status *st)
{
    memset(row, 0, sizeof(*row));
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT uri, state, create_time_ns, update_time_ns,"
                                       " sealed_material FROM ekm_keys WHERE uri = ?",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, uri);
    return em_stmt_each_row(stmt, one_key_row, row, st);
}

/* --- making a key --- */

static enum em_code insert_key(struct em_store *store, const char *uri, int64_t now,
                               struct em_status *st)
{
    unsigned char material[EM_EKM_KEY_BYTES], sealed[SEALED_BYTES];
    enum em_code code = em_random_bytes(material, sizeof(material), st);
    if (!code)
        code = em_seal(ekm_root, uri, strlen(uri), material, sizeof(material), sealed, st);
    em_wipe(material, sizeof(material));
    if (code)
        return code;
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "INSERT OR IGNORE INTO ekm_keys(uri, state,"
                                       " create_time_ns, update_time_ns, sealed_material)"
                                       " VALUES (?, 'ENABLED', ?, ?, ?)",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, uri);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int64(stmt, 3, now);
    sqlite3_bind_blob(stmt, 4, sealed, sizeof(sealed), SQLITE_TRANSIENT);
    return em_stmt_run(stmt, st);
}

/* The row at uri, inserted first when there is none (another process making the same
 * key at the same time keeps its own: INSERT OR IGNORE, then the row read back). */
static enum em_code provision(struct em_store *store, const char *uri, int64_t now,
                              struct key_row *row, struct em_status *st)
{
    if (!uri || !*uri || strlen(uri) >= EM_EKM_URI_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "An external key URI of 1 to %d characters "
                       "is required.",
                       EM_EKM_URI_MAX - 1);
    if (find_key(store, uri, row, st))
        return st->code;
    if (row->found)
        return EM_OK;
    if (insert_key(store, uri, now, st) || find_key(store, uri, row, st))
        return st->code;
    return row->found ? EM_OK : EM_FAIL(st, EM_INTERNAL, "The EKM lost the key it just made.");
}

enum em_code em_ekm_key_create(struct em_store *store, const char *uri, int64_t now,
                               struct em_status *st)
{
    struct key_row row;
    if (find_key(store, uri, &row, st))
        return st->code;
    if (row.found)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "The EKM already holds a key at %.300s.", uri);
    return provision(store, uri, now, &row, st);
}

enum em_code em_ekm_key_provision(struct em_store *store, const char *uri, int64_t now,
                                  struct em_ekm_key *out, struct em_status *st)
{
    struct key_row row;
    if (provision(store, uri, now, &row, st))
        return st->code;
    *out = row.key;
    return EM_OK;
}

enum em_code em_ekm_key_material(struct em_store *store, const char *uri,
                                 unsigned char out[EM_EKM_KEY_BYTES], enum em_ekm_outcome *outcome,
                                 struct em_status *st)
{
    struct key_row row;
    if (find_key(store, uri, &row, st))
        return st->code;
    if (!row.found) {
        *outcome = EM_EKM_KEY_MISSING;
        return EM_OK;
    }
    if (row.key.state == EM_EKM_DISABLED) {
        *outcome = EM_EKM_KEY_DISABLED;
        return EM_OK;
    }
    if (row.key.state == EM_EKM_DESTROYED || !row.sealed_len) {
        *outcome = EM_EKM_KEY_DESTROYED;
        return EM_OK;
    }
    if (!em_open(ekm_root, uri, strlen(uri), row.sealed, row.sealed_len, out))
        return EM_FAIL(st, EM_INTERNAL,
                       "The EKM's key at %.200s does not open with <data dir>/ekm-root.key.", uri);
    *outcome = EM_EKM_OK;
    return EM_OK;
}

/* --- the customer's changes --- */

static enum em_code write_state(struct em_store *store, const char *uri, enum em_ekm_state state,
                                int64_t now, struct em_status *st)
{
    sqlite3_stmt *stmt =
        state == EM_EKM_DESTROYED
            ? em_store_stmt(store,
                            "UPDATE ekm_keys SET state = ?, update_time_ns = ?,"
                            " sealed_material = NULL WHERE uri = ?",
                            st)
            : em_store_stmt(store,
                            "UPDATE ekm_keys SET state = ?, update_time_ns = ? WHERE uri = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, em_ekm_state_name(state));
    sqlite3_bind_int64(stmt, 2, now);
    em_bind_text(stmt, 3, uri);
    return em_stmt_run(stmt, st);
}

enum em_code em_ekm_key_set_state(struct em_store *store, const char *uri, enum em_ekm_state state,
                                  int64_t now, struct em_ekm_key *out, struct em_status *st)
{
    struct key_row row;
    if (find_key(store, uri, &row, st))
        return st->code;
    if (!row.found)
        return EM_FAIL(st, EM_NOT_FOUND, "The EKM holds no key at %.300s.", uri);
    if (row.key.state == EM_EKM_DESTROYED && state != EM_EKM_DESTROYED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The EKM's key at %.300s is destroyed: it cannot be %s again.", uri,
                       state == EM_EKM_ENABLED ? "enabled" : "disabled");
    if (row.key.state != state) {
        if (write_state(store, uri, state, now, st))
            return st->code;
        row.key.state = state;
        row.key.update_ns = now;
    }
    if (out)
        *out = row.key;
    return EM_OK;
}

/* Writes row's key at new_uri with its material sealed to that URI, and deletes the old
 * row, in one transaction. */
static enum em_code write_moved(struct em_store *store, const struct key_row *row,
                                const char *new_uri, int64_t now, struct em_status *st)
{
    const char *uri = row->key.uri;
    unsigned char material[EM_EKM_KEY_BYTES], sealed[SEALED_BYTES];
    if (!em_open(ekm_root, uri, strlen(uri), row->sealed, row->sealed_len, material))
        return EM_FAIL(st, EM_DATA_LOSS,
                       "The EKM's key at %.200s does not open with <data dir>/ekm-root.key.", uri);
    enum em_code code =
        em_seal(ekm_root, new_uri, strlen(new_uri), material, sizeof(material), sealed, st);
    em_wipe(material, sizeof(material));
    if (code || em_store_begin(store, st))
        return st->code;
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "INSERT INTO ekm_keys(uri, state, create_time_ns,"
                                       " update_time_ns, sealed_material) VALUES (?, ?, ?, ?, ?)",
                                       st);
    if (stmt) {
        em_bind_text(stmt, 1, new_uri);
        em_bind_text(stmt, 2, em_ekm_state_name(row->key.state));
        sqlite3_bind_int64(stmt, 3, row->key.create_ns);
        sqlite3_bind_int64(stmt, 4, now);
        sqlite3_bind_blob(stmt, 5, sealed, sizeof(sealed), SQLITE_TRANSIENT);
        em_stmt_run(stmt, st);
    }
    if (!st->code)
        em_store_run_text(store, "DELETE FROM ekm_keys WHERE uri = ?", uri, NULL, NULL, NULL, st);
    if (st->code) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

enum em_code em_ekm_key_move(struct em_store *store, const char *uri, const char *new_uri,
                             int64_t now, struct em_ekm_key *out, struct em_status *st)
{
    if (!new_uri || !*new_uri || strlen(new_uri) >= EM_EKM_URI_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A key's URI has 1 to %d characters.",
                       EM_EKM_URI_MAX - 1);
    struct key_row row, target;
    if (find_key(store, uri, &row, st) || find_key(store, new_uri, &target, st))
        return st->code;
    if (!row.found)
        return EM_FAIL(st, EM_NOT_FOUND, "The EKM holds no key at %.300s.", uri);
    if (row.key.state == EM_EKM_DESTROYED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The EKM's key at %.300s is destroyed: it cannot be moved.", uri);
    if (target.found)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "The EKM already holds a key at %.300s.", new_uri);
    if (write_moved(store, &row, new_uri, now, st))
        return st->code;
    em_ekm_purge(store); /* the old row's sealed material leaves the files */
    if (out) {
        *out = row.key;
        snprintf(out->uri, sizeof(out->uri), "%s", new_uri);
        out->update_ns = now;
    }
    return EM_OK;
}

void em_ekm_purge(struct em_store *store)
{
    struct em_status st = {0};
    if (em_store_purge(store, &st))
        em_store_purge_later(store);
}

/* --- listing and reset --- */

struct key_list {
    struct em_ekm_key *items;
    size_t count, cap;
};

static enum em_code add_listed(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    struct key_list *list = arg;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct em_ekm_key *items = realloc(list->items, cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(st);
        list->items = items;
        list->cap = cap;
    }
    struct key_row row = {0};
    read_key_row(stmt, &row, st);
    em_wipe(row.sealed, sizeof(row.sealed));
    list->items[list->count++] = row.key;
    return EM_OK;
}

enum em_code em_ekm_key_list(struct em_store *store, struct em_ekm_key **out, size_t *count,
                             struct em_status *st)
{
    struct key_list list = {0};
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT uri, state, create_time_ns, update_time_ns,"
                                       " NULL FROM ekm_keys ORDER BY uri",
                                       st);
    if (!stmt || em_stmt_each_row(stmt, add_listed, &list, st)) {
        free(list.items);
        return st->code;
    }
    *out = list.items;
    *count = list.count;
    return EM_OK;
}

enum em_code em_ekm_reset(struct em_store *store, struct em_status *st)
{
    if (em_store_exec(store, "DELETE FROM ekm_keys", st))
        return st->code;
    em_ekm_purge(store);
    return EM_OK;
}
