/*
 * spanner_backup: backups and restores with Google's rules (see spanner_backup.h).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.backups
 * and .../projects.instances.databases/restore.
 */
#include "spanner_backup.h"

#include "em_cmek.h"
#include "em_crypto.h"
#include "em_datastore.h"
#include "em_iam.h"
#include "em_index.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"
#include "spanner_data.h"
#include "spanner_errors.h"
#include "spanner_store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NS(seconds) ((int64_t)(seconds)*EM_NS_PER_SEC)

/* A backup's data file: its datastore, under the backup's own (pinned) keys. Opened only
 * while a copy reads or writes it. */
struct backup_file {
    char *name; /* first member: em_index */
    struct em_datastore *ds;
};

struct sp_backups {
    struct em_store *store;
    struct em_cmek *cmek; /* NULL: no engine (unit tests) */
    struct sp_admin *admin;
    struct sp_data *data;  /* the databases' rows; NULL: no data files (unit tests) */
    char dir[PATH_MAX];    /* <data dir>/spanner/backups */
    struct em_index files; /* struct backup_file, by backup name (lock) */
    pthread_mutex_t lock;
};

enum em_code sp_backups_open(struct em_store *store, struct em_cmek *cmek, struct sp_admin *admin,
                             struct sp_data *data, const char *data_dir, struct sp_backups **out,
                             struct em_status *st)
{
    *out = NULL;
    if (sp_store_migrate(store, st) || em_iam_open(store, st)) /* deletes drop policies */
        return st->code;
    struct sp_backups *b = calloc(1, sizeof(*b));
    if (!b)
        return EM_FAIL_OOM(st);
    b->store = store;
    b->cmek = cmek;
    b->admin = admin;
    b->data = data;
    pthread_mutex_init(&b->lock, NULL);
    if (data && data_dir) {
        snprintf(b->dir, sizeof(b->dir), "%s/spanner/backups", data_dir);
        if (mkdir(b->dir, 0700) != 0 && errno != EEXIST) {
            sp_backups_close(b);
            return EM_FAIL(st, EM_INTERNAL, "cannot create the Spanner backup directory %.300s",
                           b->dir);
        }
    }
    *out = b;
    return EM_OK;
}

static void file_free(struct backup_file *f)
{
    if (!f)
        return;
    em_datastore_free(f->ds);
    free(f->name);
    free(f);
}

void sp_backups_close(struct sp_backups *backups)
{
    if (!backups)
        return;
    for (size_t i = 0; i < backups->files.count; i++)
        file_free(backups->files.items[i]);
    em_index_release(&backups->files);
    pthread_mutex_destroy(&backups->lock);
    free(backups);
}

/* <dir>/<project>+<instance>+<backup>.db ('+' is in no ID). */
static void backup_path(const struct sp_backups *b, const char *name, char out[PATH_MAX])
{
    char project[64] = "", instance[128] = "", id[128] = "";
    em_name_id(name, "projects", project, sizeof(project));
    em_name_id(name, "instances", instance, sizeof(instance));
    em_name_id(name, "backups", id, sizeof(id));
    snprintf(out, PATH_MAX, "%.1000s/%s+%s+%s.db", b->dir, project, instance, id);
}

/* The backup's data file (lock held); NULL without data files, or with st set. */
static struct em_datastore *backup_datastore(struct sp_backups *b, const char *name,
                                             struct em_status *st)
{
    struct backup_file *f = em_index_find(&b->files, name);
    if (f || !b->data || !b->cmek)
        return f ? f->ds : NULL;
    char path[PATH_MAX];
    backup_path(b, name, path);
    f = calloc(1, sizeof(*f));
    if (!f || !(f->name = strdup(name)) ||
        em_datastore_new(b->cmek, name, path, NULL, NULL, &f->ds, st) ||
        !em_index_insert(&b->files, f)) {
        if (!st->code)
            EM_FAIL_OOM(st);
        file_free(f);
        return NULL;
    }
    return f->ds;
}

/* Crypto-shredding of a deleted backup (lock held): its keys are forgotten and its data
 * file removed. */
static void forget_keys(struct sp_backups *b, const char *name)
{
    struct em_status ignored = {0}; /* a backup whose protection failed has none */
    if (b->cmek)
        em_cmek_forget(b->cmek, name, &ignored);
    struct em_datastore *ds = backup_datastore(b, name, &ignored);
    if (ds)
        em_datastore_shred(ds, false, &ignored);
    file_free(em_index_remove(&b->files, name));
}

enum em_code sp_backups_reset(struct sp_backups *backups, struct em_status *st)
{
    *st = (struct em_status){0};
    cJSON *list = NULL;
    pthread_mutex_lock(&backups->lock);
    if (!sp_store_list_all_backups(backups->store, &list, st)) {
        const cJSON *backup;
        cJSON_ArrayForEach(backup, list)
        {
            forget_keys(backups, em_json_string(backup, "name"));
        }
    }
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(list);
    return st->code;
}

/* --- names, IDs, times --- */

static const struct em_id_rule backup_id_rule = {
    "backup ID",
    2,
    60,
    "_-",
    true,
    true,
    "a backup ID is 2 to 60 lowercase letters, digits, underscores or hyphens, starts with a "
    "letter and does not end with an underscore or a hyphen."};

static const struct em_id_rule schedule_id_rule = {
    "backup schedule ID",
    2,
    60,
    "_-",
    true,
    true,
    "a backup schedule ID is 2 to 60 lowercase letters, digits, underscores or hyphens, starts "
    "with a letter and does not end with an underscore or a hyphen."};

/* An ID of the grammar [a-z][a-z0-9_-]*[a-z0-9], 2 to 60 characters; field names it when
 * it is missing. */
static enum em_code check_id(const char *id, const struct em_id_rule *rule, const char *field,
                             struct em_status *st)
{
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s must be specified.", field);
    if (em_id_check(id, rule, st))
        return st->code;
    char last = id[strlen(id) - 1];
    if (last == '-' || last == '_')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.100s\": %s", rule->what, id,
                       rule->description);
    return EM_OK;
}

static enum em_code check_backup_id(const char *id, struct em_status *st)
{
    return check_id(id, &backup_id_rule, "backup_id", st);
}

enum em_code sp_backup_schedule_id_check(const char *id, struct em_status *st)
{
    return check_id(id, &schedule_id_rule, "backup_schedule_id", st);
}

/* instance is "projects/<p>/instances/<i>" with a valid project. */
static enum em_code check_instance_name(const char *instance, struct em_status *st)
{
    char project[64], id[128];
    if (!em_name_id(instance, "projects", project, sizeof(project)) ||
        !em_name_id(instance, "instances", id, sizeof(id)) || strchr(id, '/'))
        return SP_ERR_INVALID_NAME(st, "instance", instance);
    return em_project_check(project, st);
}

/* The instance part of a database or backup name (false when it has none). */
static bool instance_of(const char *name, char out[SP_NAME_MAX])
{
    return em_name_prefix(name, "instances", out, SP_NAME_MAX);
}

static bool project_of(const char *name, char out[SP_NAME_MAX])
{
    return em_name_prefix(name, "projects", out, SP_NAME_MAX);
}

static enum em_code parse_time(const cJSON *obj, const char *key, const char *field, int64_t *ns,
                               bool *present, struct em_status *st)
{
    const cJSON *item = cJSON_GetObjectItem(obj, key);
    *present = item != NULL;
    if (!item)
        return EM_OK;
    if (!cJSON_IsString(item) || !em_time_parse(item->valuestring, ns))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s: expected an RFC 3339 timestamp such as "
                       "\"2026-01-02T15:04:05Z\".",
                       field);
    return EM_OK;
}

/* expire_time: at least 6 hours from now, at most max (366 days after the version time). */
static enum em_code check_expire_time(const cJSON *obj, int64_t now, int64_t max, int64_t *out,
                                      struct em_status *st)
{
    bool present;
    if (parse_time(obj, "expireTime", "expire_time", out, &present, st))
        return st->code;
    if (!present)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "expire_time must be specified.");
    char text[EM_TIME_TEXT_MAX];
    em_time_format(*out, text);
    if (*out < now + NS(SP_BACKUP_MIN_RETENTION_S))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid expire_time %s: the expiration time of a backup must be at least "
                       "6 hours from now.",
                       text);
    if (*out > max) {
        char limit[EM_TIME_TEXT_MAX];
        em_time_format(max, limit);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid expire_time %s: the expiration time of a backup must be at most "
                       "366 days after its version time (max_expire_time %s).",
                       text, limit);
    }
    return EM_OK;
}

/* version_time: not in the future, nor before the database's earliest version time (its
 * creation, or the start of the versions it keeps: its version_retention_period). */
static enum em_code check_version_time(struct sp_admin *admin, const cJSON *backup,
                                       const cJSON *database, int64_t now, int64_t *out,
                                       struct em_status *st)
{
    bool present;
    *out = now;
    if (parse_time(backup, "versionTime", "version_time", out, &present, st) || !present)
        return st->code;
    char text[EM_TIME_TEXT_MAX];
    em_time_format(*out, text);
    if (*out > now)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid version_time %s: it cannot be in the future.", text);
    int64_t earliest = sp_database_earliest_version(admin, database, now);
    if (*out < earliest) {
        char earliest_text[EM_TIME_TEXT_MAX];
        em_time_format(earliest, earliest_text);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid version_time %s: it is older than the database's earliest "
                       "version time %s (its version retention period is %s).",
                       text, earliest_text, em_json_string(database, "versionRetentionPeriod"));
    }
    return EM_OK;
}

/* --- encryption --- */

/* The key a resource's encryption config asks for ("" for Google default encryption):
 * type `inherit` (or none given) takes inherited_key, the key of what it comes from. */
static enum em_code resolve_key(struct sp_backups *b, const char *instance, const cJSON *encryption,
                                const char *inherit, const char *inherited_key,
                                char key[SP_NAME_MAX], struct em_status *st)
{
    const char *type = em_json_string(encryption, "encryptionType");
    bool named = em_json_string(encryption, "kmsKeyName") ||
                 cJSON_GetArraySize(cJSON_GetObjectItem(encryption, "kmsKeyNames")) > 0;
    bool cmek = type && strcmp(type, "CUSTOMER_MANAGED_ENCRYPTION") == 0;
    if (type && strcmp(type, "ENCRYPTION_TYPE_UNSPECIFIED") == 0)
        type = NULL;
    if (named && !cmek)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "encryption_config.kms_key_name must not be set when encryption_type is "
                       "not CUSTOMER_MANAGED_ENCRYPTION.");
    if (cmek && !named)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "encryption_config.kms_key_name must be set when encryption_type is "
                       "CUSTOMER_MANAGED_ENCRYPTION.");
    if (cmek)
        return sp_admin_encryption_key(b->admin, instance, encryption, key, st);
    if (!type || strcmp(type, inherit) == 0) {
        snprintf(key, SP_NAME_MAX, "%s", inherited_key);
        return EM_OK;
    }
    if (strcmp(type, "GOOGLE_DEFAULT_ENCRYPTION") == 0) {
        key[0] = '\0';
        return EM_OK;
    }
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid encryption_config.encryption_type %.100s: expected %s, "
                   "GOOGLE_DEFAULT_ENCRYPTION or CUSTOMER_MANAGED_ENCRYPTION.",
                   type, inherit);
}

/* resolve_key, then the organization policies on CMEK for `what` created under that key
 * (under each of the config's kmsKeyNames when it names them). */
static enum em_code resolve_allowed_key(struct sp_backups *b, const char *instance,
                                        const cJSON *encryption, const char *inherit,
                                        const char *inherited_key, const char *what,
                                        char key[SP_NAME_MAX], struct em_status *st)
{
    if (resolve_key(b, instance, encryption, inherit, inherited_key, key, st))
        return st->code;
    const char *type = em_json_string(encryption, "encryptionType");
    bool cmek = type && strcmp(type, "CUSTOMER_MANAGED_ENCRYPTION") == 0;
    const cJSON *keys = cmek ? cJSON_GetObjectItem(encryption, "kmsKeyNames") : NULL;
    return sp_admin_check_org_policy(b->admin, instance, key, keys, what, st);
}

/* The key protecting a database or a backup now ("" for Google default encryption). */
static void key_of(struct sp_backups *b, const char *name, const cJSON *resource,
                   char key[SP_NAME_MAX])
{
    struct em_cmek_info info;
    key[0] = '\0';
    if (b->cmek && em_cmek_info(b->cmek, name, &info)) {
        snprintf(key, SP_NAME_MAX, "%s", info.kms_key);
        return;
    }
    /* no engine: what the resource says */
    const char *configured =
        em_json_string(cJSON_GetObjectItem(resource, "encryptionConfig"), "kmsKeyName");
    const char *version =
        em_json_string(cJSON_GetObjectItem(resource, "encryptionInfo"), "kmsKeyVersion");
    if (configured)
        snprintf(key, SP_NAME_MAX, "%s", configured);
    else if (version && strstr(version, "/cryptoKeyVersions/"))
        snprintf(key, SP_NAME_MAX, "%.*s", (int)(strstr(version, "/cryptoKeyVersions/") - version),
                 version);
}

/* Backup.encryptionInfo (and encryptionInformation): the pinned version, which never
 * changes, so it is recorded once; encryptionStatus is added on reads while KMS refuses. */
static void set_encryption_info(struct sp_backups *b, cJSON *backup, const char *key)
{
    struct em_cmek_info info = {0};
    bool known = b->cmek && em_cmek_info(b->cmek, em_json_string(backup, "name"), &info);
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "encryptionType",
                            *key ? "CUSTOMER_MANAGED_ENCRYPTION" : "GOOGLE_DEFAULT_ENCRYPTION");
    if (*key && known && info.key_version[0])
        cJSON_AddStringToObject(entry, "kmsKeyVersion", info.key_version);
    cJSON_DeleteItemFromObject(backup, "encryptionInfo");
    cJSON_DeleteItemFromObject(backup, "encryptionInformation");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(backup, "encryptionInformation"),
                         cJSON_Duplicate(entry, true));
    cJSON_AddItemToObject(backup, "encryptionInfo", entry);
}

/* A read's view: encryptionStatus while the pinned version is not usable. */
static void add_encryption_status(struct sp_backups *b, cJSON *backup)
{
    struct em_cmek_info info;
    if (!b->cmek || !em_cmek_info(b->cmek, em_json_string(backup, "name"), &info) ||
        (info.state != EM_CMEK_INACCESSIBLE && info.state != EM_CMEK_OFFLINE))
        return;
    cJSON *status = cJSON_CreateObject();
    bool refused = info.state == EM_CMEK_INACCESSIBLE;
    cJSON_AddNumberToObject(status, "code", refused ? EM_FAILED_PRECONDITION : EM_UNAVAILABLE);
    char message[EM_STATUS_MESSAGE_MAX + EM_RESOURCE_MAX + 64];
    snprintf(message, sizeof(message), "KMS key version %s is not accessible: %s", info.key_version,
             info.reason);
    cJSON_AddStringToObject(status, "message", message);
    cJSON *entry;
    cJSON_AddItemToObject(cJSON_GetObjectItem(backup, "encryptionInfo"), "encryptionStatus",
                          cJSON_Duplicate(status, true));
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(backup, "encryptionInformation"))
    {
        cJSON_AddItemToObject(entry, "encryptionStatus", cJSON_Duplicate(status, true));
    }
    cJSON_Delete(status);
}

/* The backup's pinned version must be usable now (KMS asked at once): a restore or a
 * copy reads it. FAILED_PRECONDITION names the version otherwise. */
static enum em_code check_backup_usable(struct sp_backups *b, const char *name,
                                        struct em_status *st)
{
    unsigned char dek[EM_DEK_BYTES];
    struct em_cmek_info info;
    if (!b->cmek)
        return EM_OK;
    if (em_cmek_check(b->cmek, name, st))
        return st->code;
    enum em_code rc = em_cmek_use(b->cmek, name, dek, st);
    em_wipe(dek, sizeof(dek));
    if (rc == EM_FAILED_PRECONDITION && em_cmek_info(b->cmek, name, &info))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "KMS key version %s required by the Spanner backup %s is not accessible: "
                       "%s",
                       info.key_version, name, info.reason);
    return rc;
}

/* --- stored backups --- */

static enum em_code load_backup(struct sp_backups *b, const char *name, cJSON **out, cJSON **ddl,
                                struct em_status *st)
{
    char *text = NULL, *ddl_text = NULL;
    *out = NULL;
    if (ddl)
        *ddl = NULL;
    if (sp_store_get_backup(b->store, name, &text, &ddl_text, st))
        return st->code;
    if (!text)
        return EM_FAIL(st, EM_NOT_FOUND, "Backup not found: %.400s", name);
    *out = cJSON_Parse(text);
    if (ddl)
        *ddl = cJSON_Parse(ddl_text);
    free(text);
    free(ddl_text);
    if (!*out || (ddl && !*ddl)) {
        cJSON_Delete(*out);
        *out = NULL;
        if (ddl) {
            cJSON_Delete(*ddl);
            *ddl = NULL;
        }
        return EM_FAIL(st, EM_INTERNAL, "A stored Spanner backup is not JSON.");
    }
    return EM_OK;
}

static enum em_code save_backup(struct sp_backups *b, const cJSON *backup, const cJSON *ddl,
                                bool replace, struct em_status *st)
{
    const char *name = em_json_string(backup, "name");
    char instance[SP_NAME_MAX];
    instance_of(name, instance);
    char *text = cJSON_PrintUnformatted(backup);
    char *ddl_text = cJSON_PrintUnformatted(ddl);
    enum em_code rc = text && ddl_text ? sp_store_put_backup(b->store, name, instance, text,
                                                             ddl_text, replace, st)
                                       : EM_FAIL_OOM(st);
    free(text);
    free(ddl_text);
    return rc;
}

static bool is_ready(const cJSON *resource)
{
    const char *state = em_json_string(resource, "state");
    return state && strcmp(state, "READY") == 0;
}

/* A new backup's JSON (state CREATING). */
static cJSON *new_backup(const char *name, const char *database, int64_t version_time,
                         int64_t expire_time, int64_t now)
{
    cJSON *backup = cJSON_CreateObject();
    cJSON_AddStringToObject(backup, "name", name);
    cJSON_AddStringToObject(backup, "database", database);
    em_json_add_time(backup, "versionTime", version_time);
    em_json_add_time(backup, "expireTime", expire_time);
    em_json_add_time(backup, "createTime", now);
    em_json_add_time(backup, "maxExpireTime", version_time + NS(SP_BACKUP_MAX_RETENTION_S));
    cJSON_AddStringToObject(backup, "sizeBytes", "0");
    cJSON_AddStringToObject(backup, "state", "CREATING");
    cJSON_AddStringToObject(backup, "databaseDialect", "GOOGLE_STANDARD_SQL");
    return backup;
}

/* The backup's rows (lock held): a copy of the database's data file (source is a
 * database) or of another backup's (source is a backup) into the backup's file, under the
 * backup's key. Nothing without data files. */
static enum em_code copy_data(struct sp_backups *b, const char *name, const char *source,
                              struct em_status *st)
{
    struct em_datastore *to = backup_datastore(b, name, st);
    if (!to)
        return st->code;
    if (strstr(source, "/backups/")) {
        struct em_datastore *from = backup_datastore(b, source, st);
        if (from) {
            em_datastore_copy(from, to, st);
            em_datastore_close(from);
        }
        return st->code;
    }
    return sp_database_copy_data(b->admin, source, to, st);
}

/* Under the lock: the name is free; protects the backup, pinned to the primary version of
 * key ("" : Google default encryption), copies the rows of source (a database or a
 * backup) and records it with ddl. */
static enum em_code insert_backup(struct sp_backups *b, cJSON *backup, const char *source,
                                  const cJSON *ddl, const char *key, struct em_status *st)
{
    const char *name = em_json_string(backup, "name");
    char *existing = NULL, project[SP_NAME_MAX];
    if (sp_store_get_backup(b->store, name, &existing, NULL, st))
        return st->code;
    free(existing);
    if (existing)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Backup already exists: %.400s", name);
    project_of(name, project);
    if (b->cmek &&
        em_cmek_protect_pinned(b->cmek, name, project + strlen("projects/"), *key ? key : NULL, st))
        return st->code;
    set_encryption_info(b, backup, key);
    if (copy_data(b, name, source, st) || save_backup(b, backup, ddl, false, st))
        forget_keys(b, name);
    return st->code;
}

/* --- create, copy --- */

/* The database a backup is taken of: in the backup's instance, READY, its key usable. */
static enum em_code load_source_database(struct sp_backups *b, const char *instance,
                                         const char *database, cJSON **db, cJSON **ddl,
                                         struct em_status *st)
{
    char db_instance[SP_NAME_MAX];
    *db = *ddl = NULL;
    if (!database || !*database)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "backup.database must be specified.");
    if (!instance_of(database, db_instance) || strcmp(db_instance, instance) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The database %.300s must be in the backup's instance %.200s.", database,
                       instance);
    if (sp_database_get(b->admin, database, db, st))
        return st->code;
    if (!is_ready(*db))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Database %.400s is not ready: a backup needs a READY database.", database);
    unsigned char dek[EM_DEK_BYTES];
    if (b->cmek && em_cmek_use(b->cmek, database, dek, st))
        return st->code;
    em_wipe(dek, sizeof(dek));
    return sp_database_ddl(b->admin, database, ddl, st);
}

/* Records backup `name` of database (db: its resource, ddl: its schema) under the key its
 * encryption config asks for (NULL: the database's); schedule, when not NULL, is named in
 * its backupSchedules. */
static enum em_code create_of_database(struct sp_backups *b, const char *instance, const char *name,
                                       const char *database, const cJSON *db, const cJSON *ddl,
                                       const cJSON *encryption, int64_t version_time,
                                       int64_t expire_time, const char *schedule, int64_t now,
                                       struct em_status *st)
{
    char key[SP_NAME_MAX], db_key[SP_NAME_MAX];
    key_of(b, database, db, db_key);
    if (resolve_allowed_key(b, instance, encryption, "USE_DATABASE_ENCRYPTION", db_key, "a backup",
                            key, st))
        return st->code;
    cJSON *created = new_backup(name, database, version_time, expire_time, now);
    if (schedule)
        cJSON_AddItemToArray(cJSON_AddArrayToObject(created, "backupSchedules"),
                             cJSON_CreateString(schedule));
    pthread_mutex_lock(&b->lock);
    insert_backup(b, created, database, ddl, key, st);
    pthread_mutex_unlock(&b->lock);
    cJSON_Delete(created);
    return st->code;
}

enum em_code sp_backup_create(struct sp_backups *backups, const char *instance, const char *id,
                              const cJSON *backup, const cJSON *encryption, int64_t now,
                              char name[SP_NAME_MAX], struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *db = NULL, *ddl = NULL;
    int64_t version_time, expire_time;
    if (check_instance_name(instance, st) || check_backup_id(id, st))
        return st->code;
    snprintf(name, SP_NAME_MAX, "%s/backups/%s", instance, id);
    const char *database = em_json_string(backup, "database");
    if (!load_source_database(backups, instance, database, &db, &ddl, st) &&
        !check_version_time(backups->admin, backup, db, now, &version_time, st) &&
        !check_expire_time(backup, now, version_time + NS(SP_BACKUP_MAX_RETENTION_S), &expire_time,
                           st))
        create_of_database(backups, instance, name, database, db, ddl, encryption, version_time,
                           expire_time, NULL, now, st);
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    return st->code;
}

enum em_code sp_backup_encryption_check(struct sp_backups *backups, const char *instance,
                                        const cJSON *encryption, struct em_status *st)
{
    *st = (struct em_status){0};
    char key[SP_NAME_MAX];
    return resolve_key(backups, instance, encryption, "USE_DATABASE_ENCRYPTION", "", key, st);
}

/* A scheduled backup's ID: the schedule's ID (cut to 36 characters), the version time to
 * the minute and 6 hex digits of the schedule's full name, so schedules of the same ID on
 * two databases of an instance never take each other's names:
 * "nightly-20261204-0200-3fa91c" (at most 57 characters, a valid backup ID). */
static void scheduled_backup_id(const char *schedule, int64_t version_time, char out[64])
{
    char schedule_id[128], time_text[EM_TIME_TEXT_MAX];
    uint32_t hash = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)schedule; *p; p++)
        hash = (hash ^ *p) * 16777619u;
    if (!em_name_id(schedule, "backupSchedules", schedule_id, sizeof(schedule_id)))
        snprintf(schedule_id, sizeof(schedule_id), "schedule");
    em_time_format(version_time, time_text); /* 2026-12-04T02:00:00Z */
    snprintf(out, 64, "%.36s-%.4s%.2s%.2s-%.2s%.2s-%06x", schedule_id, time_text, time_text + 5,
             time_text + 8, time_text + 11, time_text + 14, (unsigned)(hash & 0xffffff));
}

enum em_code sp_backup_create_scheduled(struct sp_backups *backups, const char *schedule,
                                        const char *database, const cJSON *encryption,
                                        int64_t version_time, int64_t retention_ns, int64_t now,
                                        char name[SP_NAME_MAX], struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *db = NULL, *ddl = NULL;
    char instance[SP_NAME_MAX], id[64];
    if (!instance_of(database, instance))
        return SP_ERR_INVALID_NAME(st, "database", database);
    scheduled_backup_id(schedule, version_time, id);
    snprintf(name, SP_NAME_MAX, "%.400s/backups/%s", instance, id);
    if (!load_source_database(backups, instance, database, &db, &ddl, st)) {
        int64_t earliest = sp_database_earliest_version(backups->admin, db, now);
        if (version_time < earliest)
            version_time = earliest;
        if (version_time > now)
            version_time = now;
        create_of_database(backups, instance, name, database, db, ddl, encryption, version_time,
                           version_time + retention_ns, schedule, now, st);
    }
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    return st->code;
}

enum em_code sp_backup_copy(struct sp_backups *backups, const char *instance, const cJSON *request,
                            int64_t now, char name[SP_NAME_MAX], struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const char *id = em_json_string(request, "backupId");
    const char *source = em_json_string(request, "sourceBackup");
    if (check_instance_name(instance, st) || check_backup_id(id, st))
        return st->code;
    snprintf(name, SP_NAME_MAX, "%s/backups/%s", instance, id);
    if (!source || !*source)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "source_backup must be specified.");
    cJSON *src = NULL, *ddl = NULL, *copy = NULL;
    char key[SP_NAME_MAX], src_key[SP_NAME_MAX], project[SP_NAME_MAX], src_project[SP_NAME_MAX];
    int64_t version_time = 0, max_expire = 0, expire_time;
    pthread_mutex_lock(&backups->lock);
    if (!load_backup(backups, source, &src, &ddl, st)) {
        project_of(instance, project);
        project_of(source, src_project);
        em_time_parse(em_json_string(src, "versionTime"), &version_time);
        em_time_parse(em_json_string(src, "maxExpireTime"), &max_expire);
        key_of(backups, source, src, src_key);
        if (strcmp(project, src_project) != 0)
            EM_FAIL(st, EM_INVALID_ARGUMENT,
                    "A backup can only be copied within its project: %.300s is not in %.200s.",
                    source, project);
        else if (!is_ready(src))
            EM_FAIL(st, EM_FAILED_PRECONDITION, "Backup %.400s is not ready: it cannot be copied.",
                    source);
    }
    pthread_mutex_unlock(&backups->lock);
    if (!st->code && !check_expire_time(request, now, max_expire, &expire_time, st) &&
        !resolve_allowed_key(backups, instance, cJSON_GetObjectItem(request, "encryptionConfig"),
                             "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION", src_key, "a backup", key,
                             st) &&
        !check_backup_usable(backups, source, st)) {
        copy = new_backup(name, em_json_string(src, "database"), version_time, expire_time, now);
        pthread_mutex_lock(&backups->lock);
        insert_backup(backups, copy, source, ddl, key, st);
        pthread_mutex_unlock(&backups->lock);
    }
    cJSON_Delete(copy);
    cJSON_Delete(src);
    cJSON_Delete(ddl);
    return st->code;
}

/* What the backup stores, in bytes: its data file, or without one its schema. */
static int64_t stored_bytes(const struct sp_backups *b, const char *name, const cJSON *ddl)
{
    char path[PATH_MAX];
    struct stat sb;
    backup_path(b, name, path);
    if (b->data && stat(path, &sb) == 0)
        return (int64_t)sb.st_size;
    char *text = cJSON_PrintUnformatted(ddl);
    int64_t size = text ? (int64_t)strlen(text) : 0;
    free(text);
    return size;
}

enum em_code sp_backup_ready(struct sp_backups *backups, const char *name, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *ddl = NULL;
    pthread_mutex_lock(&backups->lock);
    if (!load_backup(backups, name, out, &ddl, st) && !is_ready(*out)) {
        cJSON_DeleteItemFromObject(*out, "state");
        cJSON_AddStringToObject(*out, "state", "READY");
        cJSON_DeleteItemFromObject(*out, "sizeBytes");
        em_json_add_int64(*out, "sizeBytes", stored_bytes(backups, name, ddl));
        save_backup(backups, *out, ddl, true, st);
    }
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(ddl);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

/* --- get, list, update, delete, expiry --- */

static enum em_code check_backup_name(const char *name, struct em_status *st)
{
    char instance[SP_NAME_MAX], id[128];
    if (!instance_of(name, instance) || !em_name_id(name, "backups", id, sizeof(id)) ||
        strchr(id, '/'))
        return SP_ERR_INVALID_NAME(st, "backup", name);
    return check_instance_name(instance, st);
}

enum em_code sp_backup_get(struct sp_backups *backups, const char *name, cJSON **out,
                           struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (check_backup_name(name, st) || load_backup(backups, name, out, NULL, st))
        return st->code;
    add_encryption_status(backups, *out);
    return EM_OK;
}

enum em_code sp_backup_list(struct sp_backups *backups, const char *instance, cJSON **out,
                            struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL;
    *out = NULL;
    if (sp_instance_get(backups->admin, instance, &inst, st))
        return st->code;
    cJSON_Delete(inst);
    if (sp_store_list_backups(backups->store, instance, out, st))
        return st->code;
    for (cJSON *backup = (*out)->child; backup; backup = backup->next)
        add_encryption_status(backups, backup);
    return EM_OK;
}

static bool mask_is_expire_time(const char *mask)
{
    return mask && (strcmp(mask, "expire_time") == 0 || strcmp(mask, "expireTime") == 0);
}

enum em_code sp_backup_update(struct sp_backups *backups, const char *name, const cJSON *backup,
                              const char *update_mask, int64_t now, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (check_backup_name(name, st))
        return st->code;
    if (!update_mask || !*update_mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "update_mask must be specified.");
    if (!mask_is_expire_time(update_mask))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask %.200s: only expire_time can be updated.", update_mask);
    cJSON *ddl = NULL;
    int64_t max_expire = 0, expire_time;
    pthread_mutex_lock(&backups->lock);
    if (!load_backup(backups, name, out, &ddl, st)) {
        em_time_parse(em_json_string(*out, "maxExpireTime"), &max_expire);
        if (!check_expire_time(backup, now, max_expire, &expire_time, st)) {
            cJSON_DeleteItemFromObject(*out, "expireTime");
            em_json_add_time(*out, "expireTime", expire_time);
            save_backup(backups, *out, ddl, true, st);
        }
    }
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(ddl);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
        return st->code;
    }
    add_encryption_status(backups, *out);
    return EM_OK;
}

/* Under the lock: removes the backup and forgets its keys, unless a restore uses it. */
static enum em_code remove_backup(struct sp_backups *b, const cJSON *backup, struct em_status *st)
{
    const char *name = em_json_string(backup, "name");
    const cJSON *refs = cJSON_GetObjectItem(backup, "referencingDatabases");
    if (cJSON_GetArraySize(refs) > 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Backup %.300s cannot be deleted while database %.300s is being restored "
                       "from it.",
                       name, cJSON_GetArrayItem(refs, 0)->valuestring);
    if (sp_store_delete_backup(b->store, name, st))
        return st->code;
    forget_keys(b, name);
    /* its IAM policy goes with it: a later backup of the same name must not inherit it */
    return em_iam_delete_under(b->store, name, st);
}

enum em_code sp_backup_delete(struct sp_backups *backups, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    if (check_backup_name(name, st))
        return st->code;
    cJSON *backup = NULL;
    pthread_mutex_lock(&backups->lock);
    if (!load_backup(backups, name, &backup, NULL, st))
        remove_backup(backups, backup, st);
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(backup);
    return st->code;
}

enum em_code sp_backups_expire(struct sp_backups *backups, int64_t now, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *list = NULL;
    pthread_mutex_lock(&backups->lock);
    if (!sp_store_list_all_backups(backups->store, &list, st)) {
        const cJSON *backup;
        cJSON_ArrayForEach(backup, list)
        {
            int64_t expire_time;
            struct em_status busy = {0}; /* a backup a restore uses stays until it is done */
            if (em_time_parse(em_json_string(backup, "expireTime"), &expire_time) &&
                expire_time <= now && remove_backup(backups, backup, &busy) == EM_OK)
                em_info("spanner: backup %s expired", em_json_string(backup, "name"));
        }
    }
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(list);
    return st->code;
}

/* --- restore --- */

/* Adds (or removes) database from the backup's referencingDatabases (lock held). */
static enum em_code set_reference(struct sp_backups *b, const char *backup_name,
                                  const char *database, bool add, struct em_status *st)
{
    cJSON *backup = NULL, *ddl = NULL;
    if (load_backup(b, backup_name, &backup, &ddl, st))
        return st->code;
    cJSON *refs = cJSON_GetObjectItem(backup, "referencingDatabases");
    if (!refs)
        refs = cJSON_AddArrayToObject(backup, "referencingDatabases");
    for (int i = cJSON_GetArraySize(refs) - 1; i >= 0; i--)
        if (strcmp(cJSON_GetArrayItem(refs, i)->valuestring, database) == 0)
            cJSON_DeleteItemFromArray(refs, i);
    if (add)
        cJSON_AddItemToArray(refs, cJSON_CreateString(database));
    if (cJSON_GetArraySize(refs) == 0)
        cJSON_DeleteItemFromObject(backup, "referencingDatabases");
    save_backup(b, backup, ddl, true, st);
    cJSON_Delete(backup);
    cJSON_Delete(ddl);
    return st->code;
}

/* RestoreInfo.backupInfo of a backup. */
static cJSON *backup_info(const cJSON *backup)
{
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "backup", em_json_string(backup, "name"));
    cJSON_AddStringToObject(info, "versionTime", em_json_string(backup, "versionTime"));
    cJSON_AddStringToObject(info, "createTime", em_json_string(backup, "createTime"));
    cJSON_AddStringToObject(info, "sourceDatabase", em_json_string(backup, "database"));
    return info;
}

/* The new database's encryptionConfig ({"kmsKeyName": key}), NULL for Google default. */
static cJSON *database_encryption(const char *key)
{
    if (!*key)
        return NULL;
    cJSON *config = cJSON_CreateObject();
    cJSON_AddStringToObject(config, "kmsKeyName", key);
    return config;
}

/* RestoreDatabaseMetadata; the operation adds its progress (em_op_type.progress_field). */
static cJSON *restore_metadata(const char *database, const cJSON *info)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "name", database);
    cJSON_AddStringToObject(md, "sourceType", "BACKUP");
    cJSON_AddItemToObject(md, "backupInfo", cJSON_Duplicate(info, true));
    return md;
}

/* The backup a restore reads: READY, in the project of the new database. */
static enum em_code load_restore_source(struct sp_backups *b, const char *instance,
                                        const char *name, cJSON **backup, cJSON **ddl,
                                        struct em_status *st)
{
    char project[SP_NAME_MAX], backup_project[SP_NAME_MAX];
    if (!name || !*name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "backup must be specified.");
    if (check_backup_name(name, st))
        return st->code;
    project_of(instance, project);
    project_of(name, backup_project);
    if (strcmp(project, backup_project) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A backup can only be restored within its project: %.300s is not in "
                       "%.200s.",
                       name, project);
    pthread_mutex_lock(&b->lock);
    load_backup(b, name, backup, ddl, st);
    pthread_mutex_unlock(&b->lock);
    if (!st->code && !is_ready(*backup))
        EM_FAIL(st, EM_FAILED_PRECONDITION, "Backup %.400s is not ready: it cannot be restored.",
                name);
    return st->code;
}

enum em_code sp_backup_restore(struct sp_backups *backups, const char *instance,
                               const cJSON *request, int64_t now, char name[SP_NAME_MAX],
                               cJSON **metadata, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *metadata = NULL;
    const char *source = em_json_string(request, "backup");
    cJSON *backup = NULL, *ddl = NULL, *info = NULL, *encryption = NULL;
    char key[SP_NAME_MAX], backup_key[SP_NAME_MAX];
    if (check_instance_name(instance, st) ||
        load_restore_source(backups, instance, source, &backup, &ddl, st))
        goto out;
    key_of(backups, source, backup, backup_key);
    /* the organization policies are checked on the key the database gets, as for a created
     * database (sp_database_restore) */
    if (resolve_key(backups, instance, cJSON_GetObjectItem(request, "encryptionConfig"),
                    "USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION", backup_key, key, st) ||
        check_backup_usable(backups, source, st))
        goto out;
    info = backup_info(backup);
    cJSON *restore_info = cJSON_CreateObject();
    cJSON_AddStringToObject(restore_info, "sourceType", "BACKUP");
    cJSON_AddItemToObject(restore_info, "backupInfo", cJSON_Duplicate(info, true));
    encryption = database_encryption(key);
    pthread_mutex_lock(&backups->lock); /* the reference and the database appear together */
    struct em_datastore *from = backup_datastore(backups, source, st);
    if (!st->code &&
        !sp_database_restore(backups->admin, instance, em_json_string(request, "databaseId"),
                             encryption, ddl, restore_info, from, now, name, st) &&
        set_reference(backups, source, name, true, st)) {
        struct em_status ignored = {0};
        sp_database_drop(backups->admin, name, &ignored);
    }
    if (from)
        em_datastore_close(from);
    pthread_mutex_unlock(&backups->lock);
    cJSON_Delete(restore_info);
    if (!st->code)
        *metadata = restore_metadata(name, info);
out:
    cJSON_Delete(encryption);
    cJSON_Delete(info);
    cJSON_Delete(backup);
    cJSON_Delete(ddl);
    return st->code;
}

enum em_code sp_backup_restore_ready(struct sp_backups *backups, const char *database, cJSON **out,
                                     struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    if (sp_database_ready(backups->admin, database, out, st))
        return st->code;
    const char *source = em_json_string(
        cJSON_GetObjectItem(cJSON_GetObjectItem(*out, "restoreInfo"), "backupInfo"), "backup");
    struct em_status ignored = {0}; /* the backup may have expired since: nothing to undo */
    pthread_mutex_lock(&backups->lock);
    if (source)
        set_reference(backups, source, database, false, &ignored);
    pthread_mutex_unlock(&backups->lock);
    return EM_OK;
}
