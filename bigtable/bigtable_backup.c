/*
 * bigtable_backup: backups (create, get, list, update, delete, copy, expiry) and table
 * restores with Google's rules (see bigtable_backup.h). Backups are stored as resources of
 * kind BT_KIND_BACKUP of their instance; their cells are datastores of the replicas'
 * registry, protected pinned to a key version.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.clusters.backups and projects.instances.tables/restore.
 */
#include "bigtable_backup.h"

#include "bigtable_admin_parts.h"
#include "bigtable_errors.h"
#include "bigtable_store.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS(seconds) ((int64_t)(seconds)*EM_NS_PER_SEC)

static const struct em_id_rule backup_id_rule = {
    "backup ID",
    1,
    50,
    "_-.",
    false,
    false,
    "a backup ID is 1 to 50 letters, digits, underscores, hyphens or periods."};

/* --- names --- */

/* "projects/p/instances/i/clusters/c/backups/b": the cluster part checked and copied. */
static enum em_code check_backup_name(const char *name, char cluster[BT_NAME_MAX],
                                      struct em_status *st)
{
    const char *backups = name ? strstr(name, "/backups/") : NULL;
    if (!backups || backups - name >= BT_NAME_MAX)
        return BT_ERR_INVALID_NAME(st, "backup", name ? name : "");
    snprintf(cluster, BT_NAME_MAX, "%.*s", (int)(backups - name), name);
    if (bt_check_name(cluster, "clusters", "backup", st))
        return st->code;
    const char *id = backups + strlen("/backups/");
    if (strchr(id, '/'))
        return BT_ERR_INVALID_NAME(st, "backup", name);
    return em_id_check(id, &backup_id_rule, st);
}

/* --- expire times --- */

/* expireTime of obj, parsed; INVALID_ARGUMENT when absent or not a time. */
static enum em_code read_expire_time(const cJSON *obj, int64_t *out, struct em_status *st)
{
    const char *text = em_json_string(obj, "expireTime");
    if (!text || !*text)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The expire_time must be specified.");
    if (!em_time_parse(text, out))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid expire_time %.64s.", text);
    return EM_OK;
}

/* expire at least 6 hours and at most max_s seconds after from (named in the error). */
static enum em_code check_expire_window(int64_t expire, int64_t from, int64_t max_s,
                                        const char *from_what, struct em_status *st)
{
    if (expire < from + NS(BT_BACKUP_MIN_RETENTION_S) || expire > from + NS(max_s)) {
        char text[EM_TIME_TEXT_MAX];
        em_time_format(expire, text);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid expire_time %s: it must be at least 6 hours and at most %lld "
                       "days after %s.",
                       text, (long long)(max_s / 86400), from_what);
    }
    return EM_OK;
}

/* --- stored backups --- */

static enum em_code load_backup(struct bt_admin *admin, const char *name, cJSON **out,
                                struct em_status *st)
{
    return bt_load(admin, name, BT_KIND_BACKUP, "Backup", out, st);
}

static enum em_code save_backup(struct bt_admin *admin, const cJSON *backup, bool replace,
                                struct em_status *st)
{
    char instance[BT_NAME_MAX];
    bt_instance_of(em_json_string(backup, "name"), instance);
    return bt_save(admin, backup, BT_KIND_BACKUP, instance, replace, st);
}

static bool is_ready(const cJSON *backup)
{
    const char *state = em_json_string(backup, "state");
    return state && strcmp(state, "READY") == 0;
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

/* The backup's encryptionInfo: the pinned version, recorded once (it never changes). */
static void set_encryption_info(struct bt_admin *admin, cJSON *backup, const char *key)
{
    struct em_cmek_info info;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "encryptionType",
                            key ? "CUSTOMER_MANAGED_ENCRYPTION" : "GOOGLE_DEFAULT_ENCRYPTION");
    cJSON_AddObjectToObject(entry, "encryptionStatus");
    if (key && bt_replicas_info(admin->replicas, em_json_string(backup, "name"), &info) &&
        info.key_version[0])
        cJSON_AddStringToObject(entry, "kmsKeyVersion", info.key_version);
    cJSON_DeleteItemFromObject(backup, "encryptionInfo");
    cJSON_AddItemToObject(backup, "encryptionInfo", entry);
}

/* A reply: the stored backup without private members, encryptionStatus saying so while
 * the pinned version is not usable. */
static cJSON *render(struct bt_admin *admin, const cJSON *stored)
{
    cJSON *out = cJSON_Duplicate(stored, true);
    bt_strip_private(out);
    struct em_cmek_info info;
    if (!bt_replicas_info(admin->replicas, em_json_string(stored, "name"), &info) ||
        (info.state != EM_CMEK_INACCESSIBLE && info.state != EM_CMEK_OFFLINE))
        return out;
    cJSON *entry = cJSON_GetObjectItem(out, "encryptionInfo");
    cJSON_DeleteItemFromObject(entry, "encryptionStatus");
    cJSON *status = cJSON_AddObjectToObject(entry, "encryptionStatus");
    bool refused = info.state == EM_CMEK_INACCESSIBLE;
    cJSON_AddNumberToObject(status, "code", refused ? EM_FAILED_PRECONDITION : EM_UNAVAILABLE);
    char message[EM_STATUS_MESSAGE_MAX + EM_RESOURCE_MAX + 64];
    snprintf(message, sizeof(message), "KMS key version %s is not accessible: %s", info.key_version,
             refused ? info.reason : "Cloud KMS cannot be reached.");
    cJSON_AddStringToObject(status, "message", message);
    return out;
}

/* Forgets a backup's keys and removes its file (crypto-shredding), its record and its IAM
 * policy (a later backup of the same name must not inherit its grants). */
static enum em_code remove_backup(struct bt_admin *admin, const char *name, struct em_status *st)
{
    if (admin->replicas) {
        struct em_status ignored = {0}; /* a backup whose protection failed has none */
        bt_replicas_shred(admin->replicas, name, &ignored);
    }
    if (bt_store_delete(admin->store, name, st))
        return st->code;
    return em_iam_delete_under(admin->store, name, st);
}

void bt_backups_remove_under(struct bt_admin *admin, const char *prefix)
{
    char instance[BT_NAME_MAX];
    cJSON *backups = NULL;
    struct em_status st = {0};
    if (!bt_instance_of(prefix, instance) ||
        bt_store_list(admin->store, BT_KIND_BACKUP, instance, false, &backups, &st))
        return;
    size_t n = strlen(prefix);
    const cJSON *b;
    cJSON_ArrayForEach(b, backups)
    {
        const char *name = em_json_string(b, "name");
        if (strncmp(name, prefix, n) == 0 && name[n] == '/')
            remove_backup(admin, name, &st);
    }
    cJSON_Delete(backups);
}

/* --- create --- */

/* A new backup's JSON (CREATING). */
static cJSON *new_backup(const char *name, const char *source_table, int64_t start, int64_t expire,
                         const cJSON *families)
{
    cJSON *backup = cJSON_CreateObject();
    cJSON_AddStringToObject(backup, "name", name);
    cJSON_AddStringToObject(backup, "sourceTable", source_table);
    em_json_add_time(backup, "startTime", start);
    em_json_add_time(backup, "expireTime", expire);
    cJSON_AddStringToObject(backup, "sizeBytes", "0");
    cJSON_AddStringToObject(backup, "state", "CREATING");
    cJSON_AddItemToObject(backup, "_columnFamilies",
                          families ? cJSON_Duplicate(families, true) : cJSON_CreateObject());
    return backup;
}

/* hot_to_standard_time: at least 24 hours after the backup's creation (start). */
static enum em_code check_hot_time(const char *text, int64_t start, int64_t *out,
                                   struct em_status *st)
{
    if (!em_time_parse(text, out) || *out < start + NS(BT_BACKUP_HOT_MIN_S))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid hot_to_standard_time %.64s: it must be at least 24 hours after "
                       "the backup's creation.",
                       text);
    return EM_OK;
}

static bool is_hot(const cJSON *backup)
{
    const char *type = em_json_string(backup, "backupType");
    return type && strcmp(type, "HOT") == 0;
}

/* backupType STANDARD (the default) or HOT, with hotToStandardTime for HOT only. */
static enum em_code set_backup_type(cJSON *backup, const cJSON *request, int64_t now,
                                    struct em_status *st)
{
    const char *type = em_json_string(request, "backupType");
    if (!type || strcmp(type, "BACKUP_TYPE_UNSPECIFIED") == 0)
        type = "STANDARD";
    if (strcmp(type, "STANDARD") != 0 && strcmp(type, "HOT") != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid backup_type %.64s.", type);
    set_string(backup, "backupType", type);
    const char *hot = em_json_string(request, "hotToStandardTime");
    if (!hot || !*hot)
        return EM_OK;
    int64_t when;
    if (!is_hot(backup))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The hot_to_standard_time applies to HOT backups only.");
    if (check_hot_time(hot, now, &when, st))
        return st->code;
    cJSON_DeleteItemFromObject(backup, "hotToStandardTime");
    em_json_add_time(backup, "hotToStandardTime", when);
    return EM_OK;
}

/* Under the lock: the name is free; protects the backup pinned to key's primary version
 * (NULL: Google default encryption), copies source's cells into it (a table's replica or
 * a backup) and records it. Nothing is left on failure. */
static enum em_code insert_backup(struct bt_admin *admin, cJSON *backup, const char *source,
                                  const char *key, struct em_status *st)
{
    const char *name = em_json_string(backup, "name");
    char project[64];
    char *existing = NULL;
    if (bt_project_of(name, project, st) ||
        bt_store_get(admin->store, name, BT_KIND_BACKUP, &existing, st))
        return st->code;
    free(existing);
    if (existing)
        return BT_ERR_EXISTS(st, "Backup", name);
    if (admin->replicas && (bt_replicas_protect_pinned(admin->replicas, name, project, key, st) ||
                            bt_replicas_copy(admin->replicas, source, name, st))) {
        struct em_status ignored = {0};
        bt_replicas_shred(admin->replicas, name, &ignored);
        return st->code;
    }
    set_encryption_info(admin, backup, key);
    if (save_backup(admin, backup, false, st))
        remove_backup(admin, name, &(struct em_status){0});
    return st->code;
}

/* The backup's cluster and the table it is taken of, which must be in its instance. */
static enum em_code load_sources(struct bt_admin *admin, const char *cluster_name,
                                 const char *table_name, cJSON **cluster, cJSON **table,
                                 struct em_status *st)
{
    char instance[BT_NAME_MAX], table_instance[BT_NAME_MAX];
    *cluster = *table = NULL;
    if (!table_name || !*table_name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The backup's source_table must be specified.");
    bt_instance_of(cluster_name, instance);
    if (bt_check_name(table_name, "tables", "table", st))
        return st->code;
    if (!bt_instance_of(table_name, table_instance) || strcmp(instance, table_instance) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The source table %.300s must be in the backup's instance %.200s.",
                       table_name, instance);
    if (bt_load(admin, cluster_name, BT_KIND_CLUSTER, "Cluster", cluster, st) ||
        bt_load(admin, table_name, BT_KIND_TABLE, "Table", table, st)) {
        cJSON_Delete(*cluster);
        *cluster = NULL;
    }
    return st->code;
}

enum em_code bt_backup_create(struct bt_admin *admin, const char *cluster, const char *id,
                              const cJSON *backup, int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char name[BT_NAME_MAX], replica[BT_NAME_MAX];
    int64_t expire;
    *out = NULL;
    if (bt_check_name(cluster, "clusters", "cluster", st))
        return st->code;
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The backup ID must be specified.");
    if (em_id_check(id, &backup_id_rule, st) || read_expire_time(backup, &expire, st) ||
        check_expire_window(expire, now, BT_BACKUP_MAX_RETENTION_S, "the backup's creation", st))
        return st->code;
    snprintf(name, sizeof(name), "%.400s/backups/%.60s", cluster, id);
    const char *source = em_json_string(backup, "sourceTable");
    cJSON *c = NULL, *table = NULL, *created = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!load_sources(admin, cluster, source, &c, &table, st)) {
        created =
            new_backup(name, source, now, expire, cJSON_GetObjectItem(table, "columnFamilies"));
        bt_replica_name(source, bt_last_id(cluster), replica);
        if (!set_backup_type(created, backup, now, st))
            insert_backup(admin, created, replica, bt_cluster_key(c), st);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(c);
    cJSON_Delete(table);
    if (!st->code)
        *out = render(admin, created);
    cJSON_Delete(created);
    return st->code;
}

enum em_code bt_backup_ready(struct bt_admin *admin, const char *name, int64_t now, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL;
    *out = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!load_backup(admin, name, &stored, st) && !is_ready(stored)) {
        char size[32];
        snprintf(size, sizeof(size), "%lld",
                 (long long)(admin->replicas ? bt_replicas_file_size(admin->replicas, name) : 0));
        set_string(stored, "state", "READY");
        set_string(stored, "sizeBytes", size);
        cJSON_DeleteItemFromObject(stored, "endTime");
        em_json_add_time(stored, "endTime", now);
        save_backup(admin, stored, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(admin, stored);
    cJSON_Delete(stored);
    return st->code;
}

/* --- copy --- */

/* The backup's pinned version must be usable now (KMS asked at once): a restore or a copy
 * reads it. FAILED_PRECONDITION names the version otherwise. */
static enum em_code check_backup_usable(struct bt_admin *admin, const char *name,
                                        struct em_status *st)
{
    struct em_cmek_info info;
    if (!admin->replicas)
        return EM_OK;
    enum em_code rc = bt_replicas_check_now(admin->replicas, name, st);
    if (rc == EM_FAILED_PRECONDITION && bt_replicas_info(admin->replicas, name, &info))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "KMS key version %s required by the Bigtable backup %s is not accessible: "
                       "%s",
                       info.key_version, name, info.reason);
    return rc;
}

/* The source of a copy: READY, not itself a copy, its pinned version usable. */
static enum em_code load_copy_source(struct bt_admin *admin, const char *name, cJSON **out,
                                     struct em_status *st)
{
    char cluster[BT_NAME_MAX];
    *out = NULL;
    if (!name || !*name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The source_backup must be specified.");
    if (check_backup_name(name, cluster, st) || load_backup(admin, name, out, st))
        return st->code;
    if (!is_ready(*out))
        EM_FAIL(st, EM_FAILED_PRECONDITION, "Backup %.400s is not ready: it cannot be copied.",
                name);
    else if (em_json_string(*out, "sourceBackup"))
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "Backup %.400s is a copy of another backup: copying a copied backup is not "
                "allowed.",
                name);
    else
        check_backup_usable(admin, name, st);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

/* The copy's JSON: the source's table, times and schema, the request's expireTime. */
static cJSON *new_copy(const char *name, const cJSON *source, int64_t expire)
{
    int64_t start = 0;
    em_time_parse(em_json_string(source, "startTime"), &start);
    cJSON *copy = new_backup(name, em_json_string(source, "sourceTable"), start, expire,
                             cJSON_GetObjectItem(source, "_columnFamilies"));
    cJSON_AddStringToObject(copy, "sourceBackup", em_json_string(source, "name"));
    const char *type = em_json_string(source, "backupType");
    cJSON_AddStringToObject(copy, "backupType", type ? type : "STANDARD");
    return copy;
}

enum em_code bt_backup_copy(struct bt_admin *admin, const char *cluster, const cJSON *request,
                            int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char name[BT_NAME_MAX];
    int64_t expire;
    *out = NULL;
    const char *id = em_json_string(request, "backupId");
    if (bt_check_name(cluster, "clusters", "cluster", st))
        return st->code;
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The backup ID must be specified.");
    if (em_id_check(id, &backup_id_rule, st) || read_expire_time(request, &expire, st) ||
        check_expire_window(expire, now, BT_BACKUP_COPY_RETENTION_S, "the copy request", st))
        return st->code;
    snprintf(name, sizeof(name), "%.400s/backups/%.60s", cluster, id);
    cJSON *c = NULL, *source = NULL, *created = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, cluster, BT_KIND_CLUSTER, "Cluster", &c, st) &&
        !load_copy_source(admin, em_json_string(request, "sourceBackup"), &source, st)) {
        created = new_copy(name, source, expire);
        insert_backup(admin, created, em_json_string(source, "name"), bt_cluster_key(c), st);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(c);
    cJSON_Delete(source);
    if (!st->code)
        *out = render(admin, created);
    cJSON_Delete(created);
    return st->code;
}

/* --- get, list, update, delete, expiry --- */

enum em_code bt_backup_get(struct bt_admin *admin, const char *name, cJSON **out,
                           struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char cluster[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = NULL;
    if (check_backup_name(name, cluster, st) || load_backup(admin, name, &stored, st))
        return st->code;
    *out = render(admin, stored);
    cJSON_Delete(stored);
    return EM_OK;
}

/* The stored backups a list names: of one instance, or of the project ("instances/-"). */
static enum em_code list_stored(struct bt_admin *admin, const char *instance, cJSON **out,
                                struct em_status *st)
{
    if (strcmp(bt_last_id(instance), "-") != 0)
        return bt_store_list(admin->store, BT_KIND_BACKUP, instance, false, out, st);
    char prefix[BT_NAME_MAX];
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(strlen(instance) - 1), instance);
    return bt_store_list(admin->store, BT_KIND_BACKUP, prefix, true, out, st);
}

enum em_code bt_backup_list(struct bt_admin *admin, const char *cluster, cJSON **out,
                            struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX], prefix[BT_NAME_MAX];
    cJSON *stored = NULL, *c = NULL;
    *out = NULL;
    if (bt_check_name(cluster, "clusters", "cluster", st))
        return st->code;
    bt_instance_of(cluster, instance);
    bool every_cluster = strcmp(bt_last_id(cluster), "-") == 0;
    if (!every_cluster && bt_load(admin, cluster, BT_KIND_CLUSTER, "Cluster", &c, st))
        return st->code;
    cJSON_Delete(c);
    if (list_stored(admin, instance, &stored, st))
        return st->code;
    snprintf(prefix, sizeof(prefix), "%.400s/backups/", cluster);
    *out = cJSON_CreateArray();
    const cJSON *b;
    cJSON_ArrayForEach(b, stored)
    {
        if (every_cluster || strncmp(em_json_string(b, "name"), prefix, strlen(prefix)) == 0)
            cJSON_AddItemToArray(*out, render(admin, b));
    }
    cJSON_Delete(stored);
    return EM_OK;
}

static bool mask_is(const char *field, const char *snake, const char *camel)
{
    return strcmp(field, snake) == 0 || strcmp(field, camel) == 0;
}

/* The update's expireTime: within the retention window of the backup's start, in the
 * future. */
static enum em_code update_expire_time(cJSON *stored, const cJSON *backup, int64_t start,
                                       int64_t now, struct em_status *st)
{
    int64_t expire;
    if (read_expire_time(backup, &expire, st) ||
        check_expire_window(expire, start, BT_BACKUP_MAX_RETENTION_S, "the backup's creation", st))
        return st->code;
    if (expire <= now)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid expire_time: it must be in the future.");
    cJSON_DeleteItemFromObject(stored, "expireTime");
    em_json_add_time(stored, "expireTime", expire);
    return EM_OK;
}

/* The update's hotToStandardTime: absent or empty clears it; set, it must be 24 hours
 * after the start, in the future, and the backup HOT. */
static enum em_code update_hot_time(cJSON *stored, const cJSON *backup, int64_t start, int64_t now,
                                    struct em_status *st)
{
    const char *text = em_json_string(backup, "hotToStandardTime");
    int64_t when;
    if (!text || !*text) {
        cJSON_DeleteItemFromObject(stored, "hotToStandardTime");
        return EM_OK;
    }
    if (!is_hot(stored))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The hot_to_standard_time applies to HOT backups only.");
    if (check_hot_time(text, start, &when, st))
        return st->code;
    if (when <= now)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid hot_to_standard_time: it must be in the future.");
    cJSON_DeleteItemFromObject(stored, "hotToStandardTime");
    em_json_add_time(stored, "hotToStandardTime", when);
    return EM_OK;
}

/* Applies the mask's fields (expire_time, hot_to_standard_time) to stored. */
static enum em_code apply_update(cJSON *stored, const cJSON *backup, const char *mask, int64_t now,
                                 struct em_status *st)
{
    char fields[256];
    int64_t start = now;
    em_time_parse(em_json_string(stored, "startTime"), &start);
    snprintf(fields, sizeof(fields), "%s", mask);
    char *save = NULL;
    for (char *f = strtok_r(fields, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (mask_is(f, "expire_time", "expireTime")) {
            if (update_expire_time(stored, backup, start, now, st))
                return st->code;
        } else if (mask_is(f, "hot_to_standard_time", "hotToStandardTime")) {
            if (update_hot_time(stored, backup, start, now, st))
                return st->code;
        } else {
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid update_mask: the field %.100s of a backup cannot be "
                           "updated; only expire_time and hot_to_standard_time can.",
                           f);
        }
    }
    return EM_OK;
}

enum em_code bt_backup_update(struct bt_admin *admin, const char *name, const cJSON *backup,
                              const char *mask, int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char cluster[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = NULL;
    if (check_backup_name(name, cluster, st))
        return st->code;
    if (!mask || !*mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
    pthread_mutex_lock(&admin->lock);
    if (!load_backup(admin, name, &stored, st) && !apply_update(stored, backup, mask, now, st))
        save_backup(admin, stored, true, st);
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(admin, stored);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_backup_delete(struct bt_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char cluster[BT_NAME_MAX];
    cJSON *stored = NULL;
    if (check_backup_name(name, cluster, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!load_backup(admin, name, &stored, st))
        remove_backup(admin, name, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_backups_expire(struct bt_admin *admin, int64_t now, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *list = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_list(admin->store, BT_KIND_BACKUP, "projects/", true, &list, st)) {
        const cJSON *b;
        cJSON_ArrayForEach(b, list)
        {
            int64_t expire;
            const char *name = em_json_string(b, "name");
            if (em_time_parse(em_json_string(b, "expireTime"), &expire) && expire <= now &&
                remove_backup(admin, name, st) == EM_OK)
                em_info("bigtable: backup %s expired", name);
        }
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(list);
    return st->code;
}

/* Under the lock: backup, stored, becomes STANDARD when its hotToStandardTime is at or
 * before now; true when it did. */
static bool convert_if_due(struct bt_admin *admin, cJSON *backup, int64_t now, struct em_status *st)
{
    const char *text = em_json_string(backup, "hotToStandardTime");
    int64_t when;
    if (!is_hot(backup) || !text || !em_time_parse(text, &when) || when > now)
        return false;
    set_string(backup, "backupType", "STANDARD");
    cJSON_DeleteItemFromObject(backup, "hotToStandardTime");
    return save_backup(admin, backup, true, st) == EM_OK;
}

enum em_code bt_backups_convert_hot(struct bt_admin *admin, int64_t now, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *list = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_list(admin->store, BT_KIND_BACKUP, "projects/", true, &list, st)) {
        cJSON *b;
        cJSON_ArrayForEach(b, list)
        {
            if (convert_if_due(admin, b, now, st))
                em_info("bigtable: hot backup %s is now standard", em_json_string(b, "name"));
        }
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(list);
    return st->code;
}

/* --- restore --- */

/* RestoreInfo.backupInfo of a backup. */
static cJSON *backup_info(const cJSON *backup)
{
    cJSON *info = cJSON_CreateObject();
    const char *keys[] = {"name", "startTime", "endTime", "sourceTable", "sourceBackup"};
    const char *as[] = {"backup", "startTime", "endTime", "sourceTable", "sourceBackup"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *value = em_json_string(backup, keys[i]);
        if (value)
            cJSON_AddStringToObject(info, as[i], value);
    }
    return info;
}

/* Under the lock: the backup to restore (READY), the destination instance with no
 * disabled cluster. */
static enum em_code load_restore_source(struct bt_admin *admin, const char *instance,
                                        const char *backup_name, cJSON **backup,
                                        struct em_status *st)
{
    char cluster[BT_NAME_MAX];
    cJSON *inst = NULL;
    *backup = NULL;
    if (!backup_name || !*backup_name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The backup to restore must be specified.");
    if (check_backup_name(backup_name, cluster, st) ||
        bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st) ||
        load_backup(admin, backup_name, backup, st))
        goto out;
    if (!is_ready(*backup))
        EM_FAIL(st, EM_FAILED_PRECONDITION, "Backup %.400s is not ready: it cannot be restored.",
                backup_name);
    else
        bt_check_no_disabled_cluster(admin, instance, "restore a table", st);
out:
    cJSON_Delete(inst);
    if (st->code) {
        cJSON_Delete(*backup);
        *backup = NULL;
    }
    return st->code;
}

/* The backup's cells into the table's replica in every cluster of its instance. */
static enum em_code copy_into_replicas(struct bt_admin *admin, const char *backup,
                                       const char *table, struct em_status *st)
{
    char instance[BT_NAME_MAX];
    cJSON *clusters = NULL;
    if (!admin->replicas)
        return EM_OK;
    bt_instance_of(table, instance);
    if (bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st))
        return st->code;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        char replica[BT_NAME_MAX];
        bt_replica_name(table, bt_last_id(em_json_string(c, "name")), replica);
        if (bt_replicas_copy(admin->replicas, backup, replica, st))
            break;
    }
    cJSON_Delete(clusters);
    return st->code;
}

/* Records restoreInfo in the new table (under the lock). */
static enum em_code set_restore_info(struct bt_admin *admin, const char *table, const cJSON *info,
                                     struct em_status *st)
{
    char instance[BT_NAME_MAX];
    cJSON *stored = NULL;
    if (bt_load(admin, table, BT_KIND_TABLE, "Table", &stored, st))
        return st->code;
    cJSON *restore = cJSON_CreateObject();
    cJSON_AddStringToObject(restore, "sourceType", "BACKUP");
    cJSON_AddItemToObject(restore, "backupInfo", cJSON_Duplicate(info, true));
    cJSON_DeleteItemFromObject(stored, "restoreInfo");
    cJSON_AddItemToObject(stored, "restoreInfo", restore);
    bt_instance_of(table, instance);
    bt_save(admin, stored, BT_KIND_TABLE, instance, true, st);
    cJSON_Delete(stored);
    return st->code;
}

/* The CreateTableRequest of the restored table: the backup's schema. */
static cJSON *restore_create_request(const char *table_id, const cJSON *backup)
{
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "tableId", table_id ? table_id : "");
    cJSON_AddItemToObject(cJSON_AddObjectToObject(request, "table"), "columnFamilies",
                          cJSON_Duplicate(cJSON_GetObjectItem(backup, "_columnFamilies"), true));
    return request;
}

enum em_code bt_table_restore(struct bt_admin *admin, const char *instance, const cJSON *request,
                              int64_t now, cJSON **table, cJSON **info, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *backup = NULL, *created = NULL;
    *table = *info = NULL;
    const char *backup_name = em_json_string(request, "backup");
    if (bt_check_name(instance, NULL, "instance", st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    load_restore_source(admin, instance, backup_name, &backup, st);
    pthread_mutex_unlock(&admin->lock);
    if (st->code || check_backup_usable(admin, backup_name, st)) {
        cJSON_Delete(backup);
        return st->code;
    }
    cJSON *create = restore_create_request(em_json_string(request, "tableId"), backup);
    cJSON *restore_info = backup_info(backup);
    cJSON_Delete(backup);
    if (!bt_table_create(admin, instance, create, now, &created, st)) {
        const char *name = em_json_string(created, "name");
        pthread_mutex_lock(&admin->lock);
        if (copy_into_replicas(admin, backup_name, name, st) ||
            set_restore_info(admin, name, restore_info, st)) {
            struct em_status ignored;
            pthread_mutex_unlock(&admin->lock);
            bt_table_remove(admin, name, &ignored); /* nothing to recover */
        } else {
            pthread_mutex_unlock(&admin->lock);
        }
    }
    cJSON_Delete(create);
    if (st->code) {
        cJSON_Delete(created);
        cJSON_Delete(restore_info);
        return st->code;
    }
    cJSON_AddItemToObject(created, "restoreInfo", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItem(created, "restoreInfo"), "sourceType", "BACKUP");
    cJSON_AddItemToObject(cJSON_GetObjectItem(created, "restoreInfo"), "backupInfo",
                          cJSON_Duplicate(restore_info, true));
    *table = created;
    *info = restore_info;
    return EM_OK;
}
