/*
 * kms_autokey: Autokey configurations and key handles (see kms_autokey.h). The only file
 * with their SQL.
 */
#include "kms_autokey.h"

#include "em_crypto.h"
#include "em_names.h"
#include "em_store.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const autokey_migrations[] = {
    "CREATE TABLE autokey_configs ("
    " folder TEXT PRIMARY KEY,"
    " key_project TEXT NOT NULL,"
    " etag TEXT NOT NULL);"
    "CREATE TABLE key_handles ("
    " name TEXT PRIMARY KEY,"
    " kms_key TEXT NOT NULL,"
    " resource_type_selector TEXT NOT NULL,"
    " create_ns INTEGER NOT NULL);",
};

#define MAX_RESERVED 64 /* handles being created at once */

struct kms_autokey {
    struct em_store *store;
    pthread_mutex_t lock; /* reserved names; serialises config updates (etag checks) */
    char *reserved[MAX_RESERVED];
};

enum em_code kms_autokey_open(struct em_store *store, struct kms_autokey **out,
                              struct em_status *st)
{
    *out = NULL;
    if (em_store_migrate(store, "kms_autokey", autokey_migrations, 1, st))
        return st->code;
    struct kms_autokey *ak = calloc(1, sizeof(*ak));
    if (!ak)
        return EM_FAIL_OOM(st);
    ak->store = store;
    pthread_mutex_init(&ak->lock, NULL);
    *out = ak;
    return EM_OK;
}

void kms_autokey_close(struct kms_autokey *ak)
{
    if (!ak)
        return;
    for (int i = 0; i < MAX_RESERVED; i++)
        free(ak->reserved[i]);
    pthread_mutex_destroy(&ak->lock);
    free(ak);
}

enum em_code kms_autokey_reset(struct kms_autokey *ak, struct em_status *st)
{
    return em_store_exec(ak->store, "DELETE FROM autokey_configs; DELETE FROM key_handles", st);
}

/* --- rules --- */

enum em_code kms_autokey_check_folder(const char *folder, struct em_status *st)
{
    if (!em_numeric_id(folder))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid folder ID \"%.40s\": a folder ID is a decimal number "
                       "(folders/123456789012/autokeyConfig).",
                       folder);
    return EM_OK;
}

enum em_code kms_autokey_check_key_project(const char *key_project, struct em_status *st)
{
    if (!*key_project)
        return EM_OK;
    const char *id = strncmp(key_project, "projects/", 9) == 0 ? key_project + 9 : NULL;
    if (id && *id && strspn(id, "0123456789") == strlen(id))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "key_project %.40s: name the key project by its project ID "
                       "(projects/my-key-project); this emulator does not resolve project "
                       "numbers.",
                       key_project);
    struct em_status id_st = {0};
    if (!id || em_project_check(id, &id_st))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid key_project \"%.80s\": expected projects/{PROJECT_ID}%s%s.",
                       key_project, id_st.code ? ": " : "", id_st.code ? id_st.message : "");
    return EM_OK;
}

static size_t span_of(const char *s, bool (*ok)(char c))
{
    size_t n = 0;
    while (s[n] && ok(s[n]))
        n++;
    return n;
}

static bool service_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool type_char(char c)
{
    return isalnum((unsigned char)c) != 0;
}

enum em_code kms_autokey_check_selector(const char *selector, struct em_status *st)
{
    static const char domain[] = ".googleapis.com/";
    size_t service = span_of(selector, service_char);
    const char *type = selector + service + strlen(domain);
    bool ok = service > 0 && selector[0] >= 'a' && selector[0] <= 'z' &&
              strncmp(selector + service, domain, strlen(domain)) == 0 && *type >= 'A' &&
              *type <= 'Z' && type[span_of(type, type_char)] == '\0' &&
              strlen(selector) < KMS_SELECTOR_MAX;
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid resource_type_selector \"%.80s\": expected "
                       "{SERVICE}.googleapis.com/{TYPE}, e.g. pubsub.googleapis.com/Topic.",
                       selector);
    return EM_OK;
}

void kms_autokey_key_id(int64_t number, const char *selector, uint64_t suffix, char *out,
                        size_t len)
{
    enum { KEY_ID_MAX = 63 };
    char middle[KMS_SELECTOR_MAX] = "";
    size_t service = strcspn(selector, ".");
    const char *slash = strchr(selector, '/');
    snprintf(middle, sizeof(middle), "%.*s-%s", (int)service, selector, slash ? slash + 1 : "");
    for (char *p = middle; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    char prefix[24];
    int prefix_len = snprintf(prefix, sizeof(prefix), "%" PRId64 "-", number);
    int room = KEY_ID_MAX - prefix_len - 17; /* "-" and 16 hex digits */
    snprintf(out, len, "%s%.*s-%016" PRIx64, prefix, room, middle, suffix);
}

/* --- configurations --- */

static void new_etag(char out[KMS_AUTOKEY_ETAG_SIZE])
{
    unsigned char raw[8] = {0};
    struct em_status ignored = {0};
    em_random_bytes(raw, sizeof(raw), &ignored);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

enum em_code kms_autokey_config_get(struct kms_autokey *ak, const char *folder,
                                    struct kms_autokey_config *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->folder, sizeof(out->folder), "%s", folder);
    sqlite3_stmt *stmt = em_store_stmt(
        ak->store, "SELECT key_project, etag FROM autokey_configs WHERE folder = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, folder);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        snprintf(out->key_project, sizeof(out->key_project), "%s", em_column_text(stmt, 0));
        snprintf(out->etag, sizeof(out->etag), "%s", em_column_text(stmt, 1));
    }
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(ak->store, NULL), rc, st);
    return EM_OK;
}

static enum em_code config_write(struct kms_autokey *ak, const struct kms_autokey_config *c,
                                 struct em_status *st)
{
    if (!*c->key_project)
        return em_store_run_text(ak->store, "DELETE FROM autokey_configs WHERE folder = ?",
                                 c->folder, NULL, NULL, NULL, st);
    return em_store_run_text(ak->store,
                             "INSERT OR REPLACE INTO autokey_configs(folder, key_project, etag) "
                             "VALUES (?, ?, ?)",
                             c->folder, c->key_project, c->etag, NULL, st);
}

enum em_code kms_autokey_config_set(struct kms_autokey *ak, const char *folder,
                                    const char *key_project, const char *etag,
                                    struct kms_autokey_config *out, struct em_status *st)
{
    if (kms_autokey_check_folder(folder, st) || kms_autokey_check_key_project(key_project, st))
        return st->code;
    pthread_mutex_lock(&ak->lock);
    struct kms_autokey_config current;
    if (!kms_autokey_config_get(ak, folder, &current, st) && etag && *etag &&
        strcmp(etag, current.etag) != 0)
        EM_FAIL(st, EM_ABORTED,
                "The etag of folders/%s/autokeyConfig does not match: the configuration "
                "changed since it was read; read it again and retry.",
                folder);
    if (!st->code) {
        *out = current;
        snprintf(out->key_project, sizeof(out->key_project), "%s", key_project);
        out->etag[0] = '\0';
        if (*key_project)
            new_etag(out->etag);
        config_write(ak, out, st);
    }
    pthread_mutex_unlock(&ak->lock);
    return st->code;
}

/* --- key handles --- */

static int reserved_slot(const struct kms_autokey *ak, const char *name)
{
    for (int i = 0; i < MAX_RESERVED; i++)
        if (ak->reserved[i] && (!name || strcmp(ak->reserved[i], name) == 0))
            return i;
    return -1;
}

static bool handle_exists(struct kms_autokey *ak, const char *name, struct em_status *st)
{
    struct kms_key_handle ignored = {0};
    return kms_autokey_handle_get(ak, name, &ignored, st) == EM_OK;
}

enum em_code kms_autokey_handle_reserve(struct kms_autokey *ak, const char *name,
                                        struct em_status *st)
{
    pthread_mutex_lock(&ak->lock);
    struct em_status lookup = {0};
    if (reserved_slot(ak, name) >= 0 || handle_exists(ak, name, &lookup)) {
        EM_FAIL(st, EM_ALREADY_EXISTS, "KeyHandle %s already exists.", name);
    } else if (lookup.code != EM_NOT_FOUND) {
        *st = lookup;
    } else {
        int free_slot = -1;
        for (int i = 0; i < MAX_RESERVED && free_slot < 0; i++)
            if (!ak->reserved[i])
                free_slot = i;
        if (free_slot < 0)
            EM_FAIL(st, EM_RESOURCE_EXHAUSTED,
                    "Too many key handles are being created at once (at most %d); retry.",
                    MAX_RESERVED);
        else if (!(ak->reserved[free_slot] = strdup(name)))
            EM_FAIL_OOM(st);
    }
    pthread_mutex_unlock(&ak->lock);
    return st->code;
}

void kms_autokey_handle_release(struct kms_autokey *ak, const char *name)
{
    pthread_mutex_lock(&ak->lock);
    int slot = reserved_slot(ak, name);
    if (slot >= 0) {
        free(ak->reserved[slot]);
        ak->reserved[slot] = NULL;
    }
    pthread_mutex_unlock(&ak->lock);
}

enum em_code kms_autokey_handle_save(struct kms_autokey *ak, const struct kms_key_handle *handle,
                                     int64_t now, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(ak->store,
                                       "INSERT INTO key_handles(name, kms_key, "
                                       "resource_type_selector, create_ns) VALUES (?, ?, ?, ?)",
                                       st);
    if (stmt) {
        em_bind_text(stmt, 1, handle->name);
        em_bind_text(stmt, 2, handle->kms_key);
        em_bind_text(stmt, 3, handle->resource_type_selector);
        sqlite3_bind_int64(stmt, 4, now);
        em_stmt_run(stmt, st);
        em_stmt_done(stmt);
    }
    kms_autokey_handle_release(ak, handle->name);
    return st->code;
}

static void read_handle(sqlite3_stmt *stmt, struct kms_key_handle *out)
{
    snprintf(out->name, sizeof(out->name), "%s", em_column_text(stmt, 0));
    snprintf(out->kms_key, sizeof(out->kms_key), "%s", em_column_text(stmt, 1));
    snprintf(out->resource_type_selector, sizeof(out->resource_type_selector), "%s",
             em_column_text(stmt, 2));
}

enum em_code kms_autokey_handle_get(struct kms_autokey *ak, const char *name,
                                    struct kms_key_handle *out, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        ak->store, "SELECT name, kms_key, resource_type_selector FROM key_handles WHERE name = ?",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read_handle(stmt, out);
    em_stmt_done(stmt);
    if (rc == SQLITE_DONE)
        return EM_FAIL(st, EM_NOT_FOUND, "KeyHandle %s not found.", name);
    if (rc != SQLITE_ROW)
        return em_store_error(em_store_db(ak->store, NULL), rc, st);
    return EM_OK;
}

static enum em_code add_handle(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_key_handle_list *list = arg;
    struct kms_key_handle *grown = realloc(list->items, (list->count + 1) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    list->items = grown;
    read_handle(row, &list->items[list->count++]);
    return EM_OK;
}

enum em_code kms_autokey_handle_list(struct kms_autokey *ak, const char *parent,
                                     struct kms_key_handle_list *out, struct em_status *st)
{
    *out = (struct kms_key_handle_list){0};
    char prefix[EM_RESOURCE_MAX];
    if (snprintf(prefix, sizeof(prefix), "%s/keyHandles/", parent) >= (int)sizeof(prefix))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The parent name is too long.");
    sqlite3_stmt *stmt = em_store_stmt(ak->store,
                                       "SELECT name, kms_key, resource_type_selector "
                                       "FROM key_handles WHERE substr(name, 1, ?1) = ?2 "
                                       "ORDER BY name",
                                       st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int(stmt, 1, (int)strlen(prefix));
    em_bind_text(stmt, 2, prefix);
    if (em_stmt_each_row(stmt, add_handle, out, st))
        kms_autokey_handle_list_free(out);
    return st->code;
}

void kms_autokey_handle_list_free(struct kms_key_handle_list *list)
{
    free(list->items);
    *list = (struct kms_key_handle_list){0};
}
