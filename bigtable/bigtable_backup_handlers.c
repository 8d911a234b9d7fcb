/*
 * bigtable_backup_handlers: the REST handlers of Bigtable's backups and table restores
 * (thin glue over bigtable_backup.h), their request schemas, and the work of their
 * long-running operations (CreateBackup, CopyBackup: the backup READY; RestoreTable: the
 * restored table). Operations are named under the zone of the backup's cluster (a
 * restore: of the destination instance's first cluster). A copy and a restore name a
 * source backup, which may be in another instance or project: the route checks the
 * permission on the destination, the handler the second one on the source
 * (bigtable.backups.read to copy it, bigtable.backups.restore to restore it), as Google.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.clusters.backups
 */
#include "bigtable_admin.h"
#include "bigtable_backup.h"
#include "bigtable_handlers.h"
#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <string.h>

#define ADMIN "google.bigtable.admin.v2."

/* --- request schemas (google.bigtable.admin.v2, as gcloud's generated client) --- */

static const struct em_field backup_fields[] = {{"name", EM_F_STRING},
                                                {"sourceTable", EM_F_STRING},
                                                {"sourceBackup", EM_F_STRING},
                                                {"expireTime", EM_F_TIMESTAMP},
                                                {"startTime", EM_F_TIMESTAMP},
                                                {"endTime", EM_F_TIMESTAMP},
                                                {"sizeBytes", EM_F_INT64},
                                                {"state", EM_F_STRING},
                                                {"encryptionInfo", EM_F_ANY},
                                                {"backupType", EM_F_STRING},
                                                {"hotToStandardTime", EM_F_TIMESTAMP},
                                                {NULL}};
const struct em_message bt_backup_schema = {ADMIN "Backup", backup_fields};

static const struct em_field copy_backup_fields[] = {{"backupId", EM_F_STRING},
                                                     {"sourceBackup", EM_F_STRING},
                                                     {"expireTime", EM_F_TIMESTAMP},
                                                     {NULL}};
const struct em_message bt_copy_backup_schema = {ADMIN "CopyBackupRequest", copy_backup_fields};

static const struct em_field restore_table_fields[] = {
    {"tableId", EM_F_STRING}, {"backup", EM_F_STRING}, {NULL}};
const struct em_message bt_restore_table_schema = {ADMIN "RestoreTableRequest",
                                                   restore_table_fields};

/* --- helpers --- */

static struct bt_admin *admin(struct em_call *call)
{
    return ((struct bt_context *)call->svc->ctx)->admin;
}

/* The zone of a cluster ("projects/p/locations/us-east1-b" -> "us-east1-b"). */
static enum em_code cluster_zone(struct em_call *call, const char *cluster, char zone[64])
{
    cJSON *c = NULL;
    if (bt_cluster_get(admin(call), cluster, &c, &call->status))
        return call->status.code;
    const char *location = em_json_string(c, "location");
    const char *slash = location ? strrchr(location, '/') : NULL;
    snprintf(zone, 64, "%s", slash ? slash + 1 : "-");
    cJSON_Delete(c);
    return EM_OK;
}

/* The progress of an operation the call finishes at once. */
static void add_progress(cJSON *metadata, int64_t now)
{
    cJSON *progress = cJSON_AddObjectToObject(metadata, "progress");
    cJSON_AddNumberToObject(progress, "progressPercent", 100);
    em_json_add_time(progress, "startTime", now);
    em_json_add_time(progress, "endTime", now);
}

/* --- operation work --- */

enum em_code bt_backup_ready_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                  cJSON **response, struct em_status *st)
{
    (void)op;
    struct bt_context *bt = ctx;
    return bt_backup_ready(bt->admin, em_json_string(request, "name"), now, response, st);
}

enum em_code bt_restore_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                             cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_table_get(bt->admin, em_json_string(request, "name"), BT_VIEW_SCHEMA, response, st);
}

/* --- backups --- */

enum em_code bt_create_backup(struct em_call *call)
{
    const char *cluster = em_call_var(call, "parent");
    cJSON *backup = NULL;
    char zone[64];
    if (cluster_zone(call, cluster, zone) ||
        bt_backup_create(admin(call), cluster, em_call_query(call, "backupId"), call->body,
                         em_clock_now(), &backup, &call->status))
        return call->status.code;
    const char *name = em_json_string(backup, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "name", name);
    cJSON_AddStringToObject(metadata, "sourceTable", em_json_string(backup, "sourceTable"));
    enum em_code rc = bt_handlers_start_operation(call, name, zone, "CreateBackup", metadata);
    cJSON_Delete(backup);
    return rc;
}

enum em_code bt_get_backup(struct em_call *call)
{
    cJSON *backup = NULL;
    enum em_code rc = bt_backup_get(admin(call), em_call_var(call, "name"), &backup, &call->status);
    return em_call_reply_result(call, rc, backup);
}

enum em_code bt_list_backups(struct em_call *call)
{
    cJSON *items = NULL;
    if (bt_backup_list(admin(call), em_call_var(call, "parent"), &items, &call->status))
        return call->status.code;
    struct em_list_options opt = {"backups", 0, 1000, false};
    return em_list_reply(call, items, &opt);
}

enum em_code bt_update_backup(struct em_call *call)
{
    cJSON *backup = NULL;
    enum em_code rc =
        bt_backup_update(admin(call), em_call_var(call, "name"), call->body,
                         em_call_query(call, "updateMask"), em_clock_now(), &backup, &call->status);
    return em_call_reply_result(call, rc, backup);
}

enum em_code bt_delete_backup(struct em_call *call)
{
    if (bt_backup_delete(admin(call), em_call_var(call, "name"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* The caller's permission on the source backup a request names (none named: the domain
 * refuses the request). */
static enum em_code check_source(struct em_call *call, const char *field, const char *permission)
{
    const char *backup = em_json_string(call->body, field);
    if (!backup || !*backup)
        return EM_OK;
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, backup, permission,
                        &call->status);
}

enum em_code bt_copy_backup(struct em_call *call)
{
    const char *cluster = em_call_var(call, "parent");
    cJSON *backup = NULL;
    char zone[64];
    int64_t now = em_clock_now();
    if (check_source(call, "sourceBackup", "bigtable.backups.read") ||
        cluster_zone(call, cluster, zone) ||
        bt_backup_copy(admin(call), cluster, call->body, now, &backup, &call->status))
        return call->status.code;
    const char *name = em_json_string(backup, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "name", name);
    cJSON *source = cJSON_AddObjectToObject(metadata, "sourceBackupInfo");
    const char *keys[] = {"sourceBackup", "startTime", "endTime", "sourceTable"};
    const char *as[] = {"backup", "startTime", "endTime", "sourceTable"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (em_json_string(backup, keys[i]))
            cJSON_AddStringToObject(source, as[i], em_json_string(backup, keys[i]));
    add_progress(metadata, now);
    enum em_code rc = bt_handlers_start_operation(call, name, zone, "CopyBackup", metadata);
    cJSON_Delete(backup);
    return rc;
}

/* --- restore --- */

enum em_code bt_restore_table(struct em_call *call)
{
    const char *instance = em_call_var(call, "parent");
    cJSON *table = NULL, *info = NULL;
    char zone[64];
    int64_t now = em_clock_now();
    if (check_source(call, "backup", "bigtable.backups.restore") ||
        bt_instance_zone(admin(call), instance, zone, &call->status) ||
        bt_table_restore(admin(call), instance, call->body, now, &table, &info, &call->status))
        return call->status.code;
    const char *name = em_json_string(table, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "name", name);
    cJSON_AddStringToObject(metadata, "sourceType", "BACKUP");
    cJSON_AddItemToObject(metadata, "backupInfo", info);
    add_progress(metadata, now);
    enum em_code rc = bt_handlers_start_operation(call, name, zone, "RestoreTable", metadata);
    cJSON_Delete(table);
    return rc;
}
