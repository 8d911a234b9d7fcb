/*
 * kms_store: the only SQL of the KMS service, and key material sealing.
 *
 * Tables (module "kms" in schema_migrations):
 *   kms_key_rings     name, create time
 *   kms_crypto_keys   name, purpose, primary, template, rotation, destroy duration, labels,
 *                     EKM backend, Key Access Justifications policy (kms_kaj.h's bits)
 *   kms_key_versions  (key, version): state and times, and the key material sealed with
 *                     AES-256-GCM under the root key, bound to the version's name as
 *                     additional data; NULL once the version is DESTROYED, and then in
 *                     no file at all (secure_delete, kms_store_purge truncates the WAL).
 *
 * The root key is <data dir>/kms-root.key: 32 random bytes created on first start with
 * mode 0600 (a key file readable by others is refused). Enums are stored by name so
 * the database reads plainly with the sqlite3 shell.
 *
 * Rows go in and come out as the plain structs of kms_store.h; this file knows nothing
 * of the registry and its locks.
 */
#include "kms_store.h"

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
    /* 2: import jobs (their wrapping private key sealed under the root key) and what a
     * version keeps of its import */
    "CREATE TABLE kms_import_jobs ("
    " name TEXT PRIMARY KEY,"
    " import_method TEXT NOT NULL,"
    " protection TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL,"
    " expire_time_ns INTEGER NOT NULL,"
    " sealed_private_key BLOB NOT NULL);"
    "ALTER TABLE kms_key_versions ADD COLUMN import_job TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE kms_key_versions ADD COLUMN import_time_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE kms_key_versions ADD COLUMN material_digest BLOB;"
    "ALTER TABLE kms_key_versions ADD COLUMN import_failure TEXT NOT NULL DEFAULT '';",
    /* 3: Cloud EKM: a version's external key, a key's EKM connection */
    ("ALTER TABLE kms_key_versions ADD COLUMN external_key TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE kms_crypto_keys ADD COLUMN crypto_key_backend TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE kms_crypto_keys ADD COLUMN coordinated INTEGER NOT NULL DEFAULT 0;"),
    /* 4: Key Access Justifications */
    "ALTER TABLE kms_crypto_keys ADD COLUMN kaj_policy INTEGER NOT NULL DEFAULT 0;",
};

enum em_code kms_store_migrate(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "kms", kms_migrations,
                            (int)(sizeof(kms_migrations) / sizeof(kms_migrations[0])), st);
}

/* --- root key --- */

enum em_code kms_store_root_key(const char *data_dir, unsigned char key[KMS_ROOT_KEY_BYTES],
                                struct em_status *st)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/kms-root.key", data_dir);
    return em_key_file(path, key, st);
}

/* --- writes --- */

enum em_code kms_store_insert_key_ring(struct em_store *store, const struct kms_key_ring_row *row,
                                       struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "INSERT INTO kms_key_rings(name, create_time_ns) VALUES (?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, row->name);
    sqlite3_bind_int64(stmt, 2, row->create_ns);
    return em_stmt_run(stmt, st);
}

enum em_code kms_store_save_key(struct em_store *store, const struct kms_key_row *row,
                                struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "INSERT OR REPLACE INTO kms_crypto_keys(name, purpose, create_time_ns, primary_version,"
        " template_algorithm, template_protection, rotation_period_ns, next_rotation_ns,"
        " destroy_scheduled_ns, import_only, labels, crypto_key_backend, coordinated, kaj_policy)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, row->name);
    em_bind_text(stmt, 2, kms_purpose_name(row->purpose));
    sqlite3_bind_int64(stmt, 3, row->create_ns);
    sqlite3_bind_int64(stmt, 4, row->primary);
    em_bind_text(stmt, 5, row->template_alg->name);
    em_bind_text(stmt, 6, kms_protection_name(row->template_protection));
    sqlite3_bind_int64(stmt, 7, row->rotation_period_ns);
    sqlite3_bind_int64(stmt, 8, row->next_rotation_ns);
    sqlite3_bind_int64(stmt, 9, row->destroy_scheduled_ns);
    sqlite3_bind_int(stmt, 10, row->import_only);
    em_bind_text(stmt, 11, row->labels_json);
    em_bind_text(stmt, 12, row->backend ? row->backend : "");
    sqlite3_bind_int(stmt, 13, row->coordinated);
    sqlite3_bind_int64(stmt, 14, row->kaj_policy);
    return em_stmt_run(stmt, st);
}

static void version_name(const char *key_name, uint32_t id, char out[KMS_VERSION_NAME_MAX])
{
    snprintf(out, KMS_VERSION_NAME_MAX, "%s/cryptoKeyVersions/%u", key_name, id);
}

/* Seals material under the root key, bound to the name of what holds it; *out is
 * malloc'd (NULL when there is no material: erased). */
static enum em_code seal(const unsigned char root_key[KMS_ROOT_KEY_BYTES], const char *name,
                         const unsigned char *material, size_t len, unsigned char **out,
                         size_t *out_len, struct em_status *st)
{
    *out = NULL;
    *out_len = 0;
    if (!material)
        return EM_OK;
    *out_len = len + EM_SEAL_OVERHEAD;
    *out = malloc(*out_len);
    if (!*out)
        return EM_FAIL_OOM(st);
    if (em_seal(root_key, name, strlen(name), material, len, *out, st)) {
        free(*out);
        *out = NULL;
        return st->code;
    }
    return EM_OK;
}

static enum em_code seal_material(const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                                  const struct kms_version_row *row, unsigned char **out,
                                  size_t *out_len, struct em_status *st)
{
    char name[KMS_VERSION_NAME_MAX];
    version_name(row->key_name, row->id, name);
    return seal(root_key, name, row->material, row->material_len, out, out_len, st);
}

static void bind_version(sqlite3_stmt *stmt, const struct kms_version_row *row)
{
    em_bind_text(stmt, 1, row->key_name);
    sqlite3_bind_int64(stmt, 2, row->id);
    em_bind_text(stmt, 3, kms_state_name(row->state));
    em_bind_text(stmt, 4, kms_state_name(row->prior_state));
    sqlite3_bind_int64(stmt, 5, row->state_changed_ns);
    em_bind_text(stmt, 6, row->alg->name);
    em_bind_text(stmt, 7, kms_protection_name(row->protection));
    sqlite3_bind_int64(stmt, 8, row->create_ns);
    sqlite3_bind_int64(stmt, 9, row->generate_ns);
    sqlite3_bind_int64(stmt, 10, row->destroy_ns);
    sqlite3_bind_int64(stmt, 11, row->destroy_event_ns);
    em_bind_text(stmt, 13, row->import_job ? row->import_job : "");
    sqlite3_bind_int64(stmt, 14, row->import_ns);
    if (row->import_job && row->import_job[0])
        sqlite3_bind_blob(stmt, 15, row->material_digest, KMS_MATERIAL_DIGEST, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 15);
    em_bind_text(stmt, 16, row->failure_reason ? row->failure_reason : "");
    em_bind_text(stmt, 17, row->external_key ? row->external_key : "");
}

enum em_code kms_store_save_version(struct em_store *store,
                                    const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                                    const struct kms_version_row *row, struct em_status *st)
{
    unsigned char *sealed;
    size_t sealed_len;
    if (seal_material(root_key, row, &sealed, &sealed_len, st))
        return st->code;
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "INSERT OR REPLACE INTO kms_key_versions(key_name, version, state, prior_state,"
        " state_changed_ns, algorithm, protection, create_time_ns, generate_time_ns,"
        " destroy_time_ns, destroy_event_time_ns, sealed_material, import_job, import_time_ns,"
        " material_digest, import_failure, external_key)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        st);
    if (!stmt) {
        free(sealed);
        return st->code;
    }
    bind_version(stmt, row);
    if (sealed)
        sqlite3_bind_blob(stmt, 12, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, 12);
    free(sealed);
    return em_stmt_run(stmt, st);
}

enum em_code kms_store_save_import_job(struct em_store *store,
                                       const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                                       const struct kms_import_job_row *row, struct em_status *st)
{
    unsigned char *sealed;
    size_t sealed_len;
    if (seal(root_key, row->name, row->private_key, row->private_key_len, &sealed, &sealed_len, st))
        return st->code;
    sqlite3_stmt *stmt =
        em_store_stmt(store,
                      "INSERT INTO kms_import_jobs(name, import_method, protection, create_time_ns,"
                      " expire_time_ns, sealed_private_key) VALUES (?,?,?,?,?,?)",
                      st);
    if (!stmt) {
        free(sealed);
        return st->code;
    }
    em_bind_text(stmt, 1, row->name);
    em_bind_text(stmt, 2, row->method->name);
    em_bind_text(stmt, 3, kms_protection_name(row->protection));
    sqlite3_bind_int64(stmt, 4, row->create_ns);
    sqlite3_bind_int64(stmt, 5, row->expire_ns);
    sqlite3_bind_blob(stmt, 6, sealed, (int)sealed_len, SQLITE_TRANSIENT);
    free(sealed);
    return em_stmt_run(stmt, st);
}

enum em_code kms_store_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store,
                         "BEGIN IMMEDIATE;"
                         "DELETE FROM kms_import_jobs;"
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

struct load {
    const unsigned char *root_key;
    const struct kms_store_visitor *visitor;
};

static enum em_code read_ring(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    const struct load *load = arg;
    struct kms_key_ring_row row = {em_column_text(stmt, 0), sqlite3_column_int64(stmt, 1)};
    return load->visitor->ring(&row, load->visitor->arg, st);
}

static enum em_code read_key(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    const struct load *load = arg;
    struct kms_key_row row = {
        .name = em_column_text(stmt, 0),
        .purpose = kms_purpose_parse(em_column_text(stmt, 1)),
        .create_ns = sqlite3_column_int64(stmt, 2),
        .primary = (uint32_t)sqlite3_column_int64(stmt, 3),
        .template_alg = kms_algorithm_find(em_column_text(stmt, 4)),
        .template_protection = kms_protection_parse(em_column_text(stmt, 5)),
        .rotation_period_ns = sqlite3_column_int64(stmt, 6),
        .next_rotation_ns = sqlite3_column_int64(stmt, 7),
        .destroy_scheduled_ns = sqlite3_column_int64(stmt, 8),
        .import_only = sqlite3_column_int(stmt, 9) != 0,
        .labels_json = em_column_text(stmt, 10),
        .backend = em_column_text(stmt, 11),
        .coordinated = sqlite3_column_int(stmt, 12) != 0,
        .kaj_policy = (uint32_t)sqlite3_column_int64(stmt, 13),
    };
    if (!row.template_alg)
        return EM_FAIL(st, EM_DATA_LOSS, "crypto key row %s is unreadable", row.name);
    return load->visitor->key(&row, load->visitor->arg, st);
}

/* The raw material of a sealed blob (NULL for none); malloc'd into *out. */
static enum em_code unseal_material(const unsigned char *root_key, const char *name,
                                    const void *blob, size_t blob_len, unsigned char **out,
                                    size_t *out_len, struct em_status *st)
{
    *out = NULL;
    *out_len = 0;
    if (!blob)
        return EM_OK;
    if (blob_len < EM_SEAL_OVERHEAD)
        return EM_FAIL(st, EM_DATA_LOSS, "key material of %s is truncated", name);
    size_t len = blob_len - EM_SEAL_OVERHEAD;
    unsigned char *raw = malloc(len ? len : 1);
    if (!raw)
        return EM_FAIL_OOM(st);
    if (!em_open(root_key, name, strlen(name), blob, blob_len, raw)) {
        free(raw);
        return EM_FAIL(st, EM_DATA_LOSS,
                       "key material of %s does not open with this data directory's root key",
                       name);
    }
    *out = raw;
    *out_len = len;
    return EM_OK;
}

static enum em_code read_version(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    const struct load *load = arg;
    struct kms_version_row row = {
        .key_name = em_column_text(stmt, 0),
        .id = (uint32_t)sqlite3_column_int64(stmt, 1),
        .state = kms_state_parse(em_column_text(stmt, 2)),
        .prior_state = kms_state_parse(em_column_text(stmt, 3)),
        .state_changed_ns = sqlite3_column_int64(stmt, 4),
        .alg = kms_algorithm_find(em_column_text(stmt, 5)),
        .protection = kms_protection_parse(em_column_text(stmt, 6)),
        .create_ns = sqlite3_column_int64(stmt, 7),
        .generate_ns = sqlite3_column_int64(stmt, 8),
        .destroy_ns = sqlite3_column_int64(stmt, 9),
        .destroy_event_ns = sqlite3_column_int64(stmt, 10),
        .import_job = em_column_text(stmt, 12),
        .import_ns = sqlite3_column_int64(stmt, 13),
        .failure_reason = em_column_text(stmt, 15),
        .external_key = em_column_text(stmt, 16),
    };
    if (sqlite3_column_bytes(stmt, 14) == KMS_MATERIAL_DIGEST)
        memcpy(row.material_digest, sqlite3_column_blob(stmt, 14), KMS_MATERIAL_DIGEST);
    char name[KMS_VERSION_NAME_MAX];
    version_name(row.key_name, row.id, name);
    if (!row.alg)
        return EM_FAIL(st, EM_DATA_LOSS, "%s has no algorithm", name);
    if (unseal_material(load->root_key, name, sqlite3_column_blob(stmt, 11),
                        (size_t)sqlite3_column_bytes(stmt, 11), &row.material, &row.material_len,
                        st))
        return st->code;
    enum em_code code = load->visitor->version(&row, load->visitor->arg, st);
    if (row.material) {
        em_wipe(row.material, row.material_len);
        free(row.material);
    }
    return code;
}

static enum em_code read_import_job(sqlite3_stmt *stmt, void *arg, struct em_status *st)
{
    const struct load *load = arg;
    struct kms_import_job_row row = {
        .name = em_column_text(stmt, 0),
        .method = kms_import_method_find(em_column_text(stmt, 1)),
        .protection = kms_protection_parse(em_column_text(stmt, 2)),
        .create_ns = sqlite3_column_int64(stmt, 3),
        .expire_ns = sqlite3_column_int64(stmt, 4),
    };
    if (!row.method)
        return EM_FAIL(st, EM_DATA_LOSS, "import job %s has no import method", row.name);
    if (unseal_material(load->root_key, row.name, sqlite3_column_blob(stmt, 5),
                        (size_t)sqlite3_column_bytes(stmt, 5), &row.private_key,
                        &row.private_key_len, st))
        return st->code;
    enum em_code code = load->visitor->import_job(&row, load->visitor->arg, st);
    if (row.private_key) {
        em_wipe(row.private_key, row.private_key_len);
        free(row.private_key);
    }
    return code;
}

static enum em_code load_table(struct em_store *store, const char *sql, em_row_fn fn,
                               struct load *load, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    return stmt ? em_stmt_each_row(stmt, fn, load, st) : st->code;
}

enum em_code kms_store_load(struct em_store *store,
                            const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                            const struct kms_store_visitor *visitor, struct em_status *st)
{
    struct load load = {root_key, visitor};
    if (load_table(store, "SELECT name, create_time_ns FROM kms_key_rings ORDER BY name", read_ring,
                   &load, st) ||
        load_table(store,
                   "SELECT name, purpose, create_time_ns, primary_version, template_algorithm,"
                   " template_protection, rotation_period_ns, next_rotation_ns,"
                   " destroy_scheduled_ns, import_only, labels, crypto_key_backend, coordinated,"
                   " kaj_policy FROM kms_crypto_keys ORDER BY name",
                   read_key, &load, st) ||
        load_table(store,
                   "SELECT key_name, version, state, prior_state, state_changed_ns, algorithm,"
                   " protection, create_time_ns, generate_time_ns, destroy_time_ns,"
                   " destroy_event_time_ns, sealed_material, import_job, import_time_ns,"
                   " material_digest, import_failure, external_key FROM kms_key_versions"
                   " ORDER BY key_name, version",
                   read_version, &load, st) ||
        load_table(store,
                   "SELECT name, import_method, protection, create_time_ns, expire_time_ns,"
                   " sealed_private_key FROM kms_import_jobs ORDER BY name",
                   read_import_job, &load, st))
        return st->code;
    return EM_OK;
}
