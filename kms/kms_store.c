/*
 * kms_store: the only SQL of the KMS service, and key material sealing.
 *
 * Tables (module "kms" in schema_migrations):
 *   kms_key_rings     name, create time
 *   kms_crypto_keys   name, purpose, primary, template, rotation, destroy duration, labels
 *   kms_key_versions  (key, version): state and times, and the key material sealed with
 *                     AES-256-GCM under the root key, bound to the version's name as
 *                     additional data; NULL once the version is DESTROYED, and then in
 *                     no file at all (secure_delete, kms_store_purge truncates the WAL).
 *
 * The root key is <data dir>/kms-root.key: 32 random bytes created on first start with
 * mode 0600 (a key file readable by others is refused). Enums are stored by name so
 * the database reads plainly with the sqlite3 shell.
 */
#include "kms.h"

#include "em_crypto.h"
#include "em_log.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kms_migrations[] = {
    "CREATE TABLE kms_key_rings ("
    " name TEXT PRIMARY KEY,"
    " create_time_ns INTEGER NOT NULL);"
    "CREATE TABLE kms_crypto_keys ("
    " name TEXT PRIMARY KEY,"
    " purpose TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL,"
    " primary_version INTEGER NOT NULL DEFAULT 0,"
    " template_algorithm TEXT NOT NULL,"
    " template_protection TEXT NOT NULL,"
    " rotation_period_ns INTEGER NOT NULL DEFAULT 0,"
    " next_rotation_ns INTEGER NOT NULL DEFAULT 0,"
    " destroy_scheduled_ns INTEGER NOT NULL,"
    " import_only INTEGER NOT NULL DEFAULT 0,"
    " labels TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE kms_key_versions ("
    " key_name TEXT NOT NULL REFERENCES kms_crypto_keys(name),"
    " version INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " prior_state TEXT NOT NULL,"
    " state_changed_ns INTEGER NOT NULL,"
    " algorithm TEXT NOT NULL,"
    " protection TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL,"
    " generate_time_ns INTEGER NOT NULL DEFAULT 0,"
    " destroy_time_ns INTEGER NOT NULL DEFAULT 0,"
    " destroy_event_time_ns INTEGER NOT NULL DEFAULT 0,"
    " sealed_material BLOB,"
    " PRIMARY KEY (key_name, version));",
};

enum em_code kms_store_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "kms", kms_migrations,
                            (int)(sizeof(kms_migrations) / sizeof(kms_migrations[0])), st);
}

/* --- root key --- */

enum em_code kms_store_root_key(const char *data_dir, unsigned char key[32], struct em_status *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/kms-root.key", data_dir);
    return em_key_file(path, key, st);
}

/* --- writes --- */

enum em_code kms_store_insert_key_ring(struct em_store *store, const struct kms_key_ring *ring,
                                       struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "INSERT INTO kms_key_rings(name, create_time_ns) VALUES (?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, ring->name);
    sqlite3_bind_int64(stmt, 2, ring->create_ns);
    return em_stmt_run(stmt, st);
}

enum em_code kms_store_save_key(struct em_store *store, const struct kms_key *key,
                                struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "INSERT OR REPLACE INTO kms_crypto_keys(name, purpose, create_time_ns, primary_version,"
        " template_algorithm, template_protection, rotation_period_ns, next_rotation_ns,"
        " destroy_scheduled_ns, import_only, labels) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, key->name);
    em_bind_text(stmt, 2, kms_purpose_name(key->purpose));
    sqlite3_bind_int64(stmt, 3, key->create_ns);
    sqlite3_bind_int64(stmt, 4, key->primary);
    em_bind_text(stmt, 5, key->template_alg->name);
    em_bind_text(stmt, 6, kms_protection_name(key->template_protection));
    sqlite3_bind_int64(stmt, 7, key->rotation_period_ns);
    sqlite3_bind_int64(stmt, 8, key->next_rotation_ns);
    sqlite3_bind_int64(stmt, 9, key->destroy_scheduled_ns);
    sqlite3_bind_int(stmt, 10, key->import_only);
    em_bind_text(stmt, 11, key->labels_json);
    return em_stmt_run(stmt, st);
}

/* Seals v's material under the root key; *out is malloc'd (NULL when erased). */
static enum em_code seal_material(const struct kms_registry *reg, const struct kms_key *key,
                                  const struct kms_version *v, unsigned char **out, size_t *out_len,
                                  struct em_status *st)
{
    *out = NULL;
    *out_len = 0;
    if (!v->material.raw)
        return EM_OK;
    char name[600];
    kms_version_name(key, v, name, sizeof(name));
    *out_len = v->material.raw_len + EM_SEAL_OVERHEAD;
    *out = malloc(*out_len);
    if (!*out)
        return EM_FAIL_OOM(st);
    if (em_seal(reg->root_key, name, strlen(name), v->material.raw, v->material.raw_len, *out,
                st)) {
        free(*out);
        *out = NULL;
        return st->code;
    }
    return EM_OK;
}

static void bind_version(sqlite3_stmt *stmt, const struct kms_key *key, const struct kms_version *v)
{
    em_bind_text(stmt, 1, key->name);
    sqlite3_bind_int64(stmt, 2, v->id);
    em_bind_text(stmt, 3, kms_state_name(v->state));
    em_bind_text(stmt, 4, kms_state_name(v->prior_state));
    sqlite3_bind_int64(stmt, 5, v->state_changed_ns);
    em_bind_text(stmt, 6, v->alg->name);
    em_bind_text(stmt, 7, kms_protection_name(v->protection));
    sqlite3_bind_int64(stmt, 8, v->create_ns);
    sqlite3_bind_int64(stmt, 9, v->generate_ns);
    sqlite3_bind_int64(stmt, 10, v->destroy_ns);
    sqlite3_bind_int64(stmt, 11, v->destroy_event_ns);
}

enum em_code kms_store_save_version(struct kms_registry *reg, const struct kms_key *key,
                                    const struct kms_version *v, struct em_status *st)
{
    unsigned char *sealed;
    size_t sealed_len;
    if (seal_material(reg, key, v, &sealed, &sealed_len, st))
        return st->code;
    sqlite3_stmt *stmt = em_store_stmt(
        reg->store,
        "INSERT OR REPLACE INTO kms_key_versions(key_name, version, state, prior_state,"
        " state_changed_ns, algorithm, protection, create_time_ns, generate_time_ns,"
        " destroy_time_ns, destroy_event_time_ns, sealed_material)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt) {
        free(sealed);
        return st->code;
    }
    bind_version(stmt, key, v);
    if (sealed)
        sqlite3_bind_blob(stmt, 12, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, 12);
    free(sealed);
    return em_stmt_run(stmt, st);
}

enum em_code kms_store_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store,
                         "BEGIN IMMEDIATE;"
                         "DELETE FROM kms_key_versions;"
                         "DELETE FROM kms_crypto_keys;"
                         "DELETE FROM kms_key_rings;"
                         "COMMIT;",
                         st);
}

void kms_store_purge(struct em_store *store)
{
    struct em_status st = {0};
    if (em_store_purge(store, &st))
        em_warn("kms: erased key material may remain in the WAL until the next tick: %s",
                st.message);
}

/* --- loading --- */

static enum em_code adopt_ring(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_key_ring *ring = calloc(1, sizeof(*ring));
    if (!ring || !(ring->name = strdup(em_column_text(row, 0)))) {
        free(ring);
        return EM_FAIL_OOM(st);
    }
    ring->create_ns = sqlite3_column_int64(row, 1);
    return kms_registry_adopt_ring(arg, ring, st);
}

static enum em_code load_rings(struct kms_registry *reg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(reg->store, "SELECT name, create_time_ns FROM kms_key_rings", st);
    return stmt ? em_stmt_each_row(stmt, adopt_ring, reg, st) : st->code;
}

static struct kms_key *read_key(sqlite3_stmt *stmt, struct em_status *st)
{
    struct kms_key *key = calloc(1, sizeof(*key));
    if (!key)
        return NULL;
    key->name = strdup(em_column_text(stmt, 0));
    key->purpose = kms_purpose_parse(em_column_text(stmt, 1));
    key->create_ns = sqlite3_column_int64(stmt, 2);
    key->primary = (uint32_t)sqlite3_column_int64(stmt, 3);
    key->template_alg = kms_algorithm_find(em_column_text(stmt, 4));
    key->template_protection = kms_protection_parse(em_column_text(stmt, 5));
    key->rotation_period_ns = sqlite3_column_int64(stmt, 6);
    key->next_rotation_ns = sqlite3_column_int64(stmt, 7);
    key->destroy_scheduled_ns = sqlite3_column_int64(stmt, 8);
    key->import_only = sqlite3_column_int(stmt, 9) != 0;
    key->labels_json = strdup(em_column_text(stmt, 10));
    if (!key->name || !key->labels_json || !key->template_alg) {
        EM_FAIL(st, EM_DATA_LOSS, "crypto key row %s is unreadable", em_column_text(stmt, 0));
        kms_key_free(key);
        return NULL;
    }
    return key;
}

static enum em_code adopt_key(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_key *key = read_key(row, st);
    if (!key)
        return st->code ? st->code : EM_FAIL_OOM(st);
    enum em_code code = kms_registry_adopt_key(arg, key, st);
    if (code)
        kms_key_free(key);
    return code;
}

static enum em_code load_keys(struct kms_registry *reg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        reg->store,
        "SELECT name, purpose, create_time_ns, primary_version, template_algorithm,"
        " template_protection, rotation_period_ns, next_rotation_ns, destroy_scheduled_ns,"
        " import_only, labels FROM kms_crypto_keys",
        st);
    return stmt ? em_stmt_each_row(stmt, adopt_key, reg, st) : st->code;
}

static enum em_code unseal_material(const struct kms_registry *reg, const char *name,
                                    const struct kms_algorithm *alg, const void *blob,
                                    size_t blob_len, struct kms_material *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!blob)
        return EM_OK;
    if (blob_len < EM_SEAL_OVERHEAD)
        return EM_FAIL(st, EM_DATA_LOSS, "key material of %s is truncated", name);
    size_t len = blob_len - EM_SEAL_OVERHEAD;
    unsigned char *raw = malloc(len ? len : 1);
    if (!raw)
        return EM_FAIL_OOM(st);
    if (!em_open(reg->root_key, name, strlen(name), blob, blob_len, raw)) {
        free(raw);
        return EM_FAIL(st, EM_DATA_LOSS,
                       "key material of %s does not open with this data directory's root key",
                       name);
    }
    return kms_material_load(alg, raw, len, out, st);
}

static enum em_code read_version(struct kms_registry *reg, sqlite3_stmt *stmt, struct kms_key *key,
                                 struct em_status *st)
{
    struct kms_version *v = calloc(1, sizeof(*v));
    if (!v)
        return EM_FAIL_OOM(st);
    v->id = (uint32_t)sqlite3_column_int64(stmt, 1);
    v->state = kms_state_parse(em_column_text(stmt, 2));
    v->prior_state = kms_state_parse(em_column_text(stmt, 3));
    v->state_changed_ns = sqlite3_column_int64(stmt, 4);
    v->alg = kms_algorithm_find(em_column_text(stmt, 5));
    v->protection = kms_protection_parse(em_column_text(stmt, 6));
    v->create_ns = sqlite3_column_int64(stmt, 7);
    v->generate_ns = sqlite3_column_int64(stmt, 8);
    v->destroy_ns = sqlite3_column_int64(stmt, 9);
    v->destroy_event_ns = sqlite3_column_int64(stmt, 10);
    char name[600];
    kms_version_name(key, v, name, sizeof(name));
    enum em_code code = v->alg ? EM_OK : EM_FAIL(st, EM_DATA_LOSS, "%s has no algorithm", name);
    if (!code)
        code = unseal_material(reg, name, v->alg, sqlite3_column_blob(stmt, 11),
                               (size_t)sqlite3_column_bytes(stmt, 11), &v->material, st);
    if (!code)
        code = kms_key_adopt_version(key, v, st);
    if (code) {
        kms_material_erase(&v->material);
        free(v);
    }
    return code;
}

static enum em_code adopt_version(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_registry *reg = arg;
    struct kms_key *key = kms_key_find(reg, em_column_text(row, 0));
    if (!key)
        return EM_FAIL(st, EM_DATA_LOSS, "version of unknown key %s", em_column_text(row, 0));
    return read_version(reg, row, key, st);
}

static enum em_code load_versions(struct kms_registry *reg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        reg->store,
        "SELECT key_name, version, state, prior_state, state_changed_ns, algorithm, protection,"
        " create_time_ns, generate_time_ns, destroy_time_ns, destroy_event_time_ns,"
        " sealed_material FROM kms_key_versions ORDER BY key_name, version",
        st);
    return stmt ? em_stmt_each_row(stmt, adopt_version, reg, st) : st->code;
}

enum em_code kms_store_load(struct kms_registry *reg, struct em_status *st)
{
    if (load_rings(reg, st) || load_keys(reg, st) || load_versions(reg, st))
        return st->code;
    return EM_OK;
}
