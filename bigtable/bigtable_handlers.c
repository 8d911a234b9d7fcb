/*
 * bigtable_handlers: thin glue between the admin plane's REST calls and bigtable_admin.
 * Each handler reads the call (path variables, query, the schema-checked body), calls the
 * domain and replies; the long-running methods start an operation (em_operations.h) named
 *     operations/projects/{p}/instances/{i}/locations/{zone}/operations/{id}
 * (the zone of the cluster concerned, else of the instance's first cluster), whose work
 * (below) finishes the resource and answers it: gcloud GETs the response's name.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest
 */
#include "bigtable_handlers.h"

#include "bigtable_admin.h"
#include "bigtable_backup.h"
#include "bigtable_consistency.h"
#include "bigtable_data.h"
#include "bigtable_json.h"
#include "bigtable_views.h"
#include "em_clock.h"
#include "em_json.h"
#include "em_list.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_ADMIN_TYPE EM_TYPE_URL "google.bigtable.admin.v2."

static struct bt_admin *admin(struct em_call *call)
{
    return ((struct bt_context *)call->svc->ctx)->admin;
}

/* "operations/projects/p/instances/i/locations/<zone>" of a resource of the instance. */
static void operation_parent(const char *resource, const char *zone, char *out, size_t len)
{
    const char *p = strstr(resource, "/instances/");
    const char *end = p ? strchr(p + 11, '/') : NULL;
    int n = end ? (int)(end - resource) : (int)strlen(resource);
    snprintf(out, len, "operations/%.*s/locations/%s", n, resource, zone);
}

/* Starts an operation of kind on resource (in zone) and replies with it. */
static enum em_code start_operation(struct em_call *call, const char *resource, const char *zone,
                                    const char *kind, cJSON *metadata)
{
    char parent[EM_OP_NAME_MAX];
    operation_parent(resource, zone, parent, sizeof(parent));
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "name", resource);
    cJSON *op = NULL;
    if (em_op_start(call->svc->operations, parent, NULL, kind, metadata, request, em_clock_now(),
                    &op, &call->status))
        return call->status.code;
    return em_call_reply(call, op);
}

/* The zone of the instance's first cluster, for its operations. */
static enum em_code instance_zone(struct em_call *call, const char *resource, char zone[64])
{
    char instance[512];
    const char *p = strstr(resource, "/instances/");
    const char *end = p ? strchr(p + 11, '/') : NULL;
    snprintf(instance, sizeof(instance), "%.*s",
             end ? (int)(end - resource) : (int)strlen(resource), resource);
    return bt_instance_zone(admin(call), instance, zone, &call->status);
}

/* The zone of a cluster (its location's last segment). */
static void cluster_zone(const cJSON *cluster, char zone[64])
{
    const char *location = em_json_string(cluster, "location");
    const char *slash = location ? strrchr(location, '/') : NULL;
    snprintf(zone, 64, "%s", slash ? slash + 1 : "-");
}

/* --- operation work --- */

static const char *work_name(const cJSON *request)
{
    return em_json_string(request, "name");
}

static enum em_code instance_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                        int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_instance_ready(bt->admin, work_name(request), response, st);
}

static enum em_code instance_get_work(struct em_op *op, void *ctx, const cJSON *request,
                                      int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_instance_get(bt->admin, work_name(request), response, st);
}

static enum em_code cluster_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                       int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_cluster_ready(bt->admin, work_name(request), response, st);
}

static enum em_code cluster_get_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                     cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_cluster_get(bt->admin, work_name(request), response, st);
}

static enum em_code table_get_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                   cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_table_get(bt->admin, work_name(request), BT_VIEW_SCHEMA, response, st);
}

static enum em_code app_profile_get_work(struct em_op *op, void *ctx, const cJSON *request,
                                         int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_app_profile_get(bt->admin, work_name(request), response, st);
}

const struct em_op_type bt_op_types[] = {
    {"CreateInstance", BT_ADMIN_TYPE "CreateInstanceMetadata", BT_ADMIN_TYPE "Instance",
     instance_ready_work, true, NULL, "finishTime"},
    {"PartialUpdateInstance", BT_ADMIN_TYPE "UpdateInstanceMetadata", BT_ADMIN_TYPE "Instance",
     instance_get_work, true, NULL, "finishTime"},
    {"CreateCluster", BT_ADMIN_TYPE "CreateClusterMetadata", BT_ADMIN_TYPE "Cluster",
     cluster_ready_work, true, NULL, "finishTime"},
    {"PartialUpdateCluster", BT_ADMIN_TYPE "PartialUpdateClusterMetadata", BT_ADMIN_TYPE "Cluster",
     cluster_get_work, true, NULL, "finishTime"},
    {"UpdateCluster", BT_ADMIN_TYPE "UpdateClusterMetadata", BT_ADMIN_TYPE "Cluster",
     cluster_get_work, true, NULL, "finishTime"},
    {"UpdateTable", BT_ADMIN_TYPE "UpdateTableMetadata", BT_ADMIN_TYPE "Table", table_get_work,
     true, "startTime", "endTime"},
    {"UpdateAppProfile", BT_ADMIN_TYPE "UpdateAppProfileMetadata", BT_ADMIN_TYPE "AppProfile",
     app_profile_get_work, true, NULL, NULL},
    {"CreateBackup", BT_ADMIN_TYPE "CreateBackupMetadata", BT_ADMIN_TYPE "Backup",
     bt_backup_ready_work, true, "startTime", "endTime"},
    {"CopyBackup", BT_ADMIN_TYPE "CopyBackupMetadata", BT_ADMIN_TYPE "Backup", bt_backup_ready_work,
     true, NULL, NULL},
    {"RestoreTable", BT_ADMIN_TYPE "RestoreTableMetadata", BT_ADMIN_TYPE "Table", bt_restore_work,
     true, NULL, NULL},
    {"UndeleteTable", BT_ADMIN_TYPE "UndeleteTableMetadata", BT_ADMIN_TYPE "Table", table_get_work,
     true, "startTime", "endTime"},
    {"CreateAuthorizedView", BT_ADMIN_TYPE "CreateAuthorizedViewMetadata",
     BT_ADMIN_TYPE "AuthorizedView", bt_view_get_work, true, "requestTime", "finishTime"},
    {"UpdateAuthorizedView", BT_ADMIN_TYPE "UpdateAuthorizedViewMetadata",
     BT_ADMIN_TYPE "AuthorizedView", bt_view_get_work, true, "requestTime", "finishTime"},
};
const size_t bt_op_type_count = sizeof(bt_op_types) / sizeof(bt_op_types[0]);

/* --- instances --- */

enum em_code bt_create_instance(struct em_call *call)
{
    char zone[64];
    cJSON *instance = NULL;
    int64_t now = em_clock_now();
    if (bt_instance_create(admin(call), em_call_var(call, "parent"), call->body, now, &instance,
                           zone, &call->status))
        return call->status.code;
    const char *name = em_json_string(instance, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    enum em_code rc = start_operation(call, name, zone, "CreateInstance",
                                      bt_json_request_metadata(call->body, now));
    cJSON_Delete(instance);
    return rc;
}

enum em_code bt_get_instance(struct em_call *call)
{
    cJSON *instance = NULL;
    enum em_code rc =
        bt_instance_get(admin(call), em_call_var(call, "name"), &instance, &call->status);
    return em_call_reply_result(call, rc, instance);
}

enum em_code bt_list_instances(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc =
        bt_instance_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "instances");
}

enum em_code bt_update_instance(struct em_call *call)
{
    cJSON *instance = NULL;
    enum em_code rc = bt_instance_update(admin(call), em_call_var(call, "name"), call->body, NULL,
                                         &instance, &call->status);
    return em_call_reply_result(call, rc, instance);
}

enum em_code bt_partial_update_instance(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *mask = em_call_query(call, "updateMask");
    cJSON *instance = NULL;
    char zone[64];
    if (!mask)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
    if (bt_instance_update(admin(call), name, call->body, mask, &instance, &call->status))
        return call->status.code;
    cJSON_Delete(instance);
    if (instance_zone(call, name, zone))
        return call->status.code;
    cJSON *request = cJSON_CreateObject();
    cJSON_AddItemToObject(request, "instance", cJSON_Duplicate(call->body, true));
    cJSON_AddStringToObject(request, "updateMask", mask);
    cJSON *metadata = bt_json_request_metadata(request, em_clock_now());
    cJSON_Delete(request);
    return start_operation(call, name, zone, "PartialUpdateInstance", metadata);
}

enum em_code bt_delete_instance(struct em_call *call)
{
    if (bt_instance_delete(admin(call), em_call_var(call, "name"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- clusters --- */

enum em_code bt_create_cluster(struct em_call *call)
{
    const char *id = em_call_query(call, "clusterId");
    cJSON *cluster = NULL;
    int64_t now = em_clock_now();
    char zone[64];
    if (bt_cluster_create(admin(call), em_call_var(call, "parent"), id, call->body, &cluster,
                          &call->status))
        return call->status.code;
    const char *name = em_json_string(cluster, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cluster_zone(cluster, zone);
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "parent", em_call_var(call, "parent"));
    cJSON_AddStringToObject(request, "clusterId", id);
    cJSON_AddItemToObject(request, "cluster", cJSON_Duplicate(call->body, true));
    cJSON *metadata = bt_json_request_metadata(request, now);
    cJSON_Delete(request);
    enum em_code rc = start_operation(call, name, zone, "CreateCluster", metadata);
    cJSON_Delete(cluster);
    return rc;
}

enum em_code bt_get_cluster(struct em_call *call)
{
    cJSON *cluster = NULL;
    enum em_code rc =
        bt_cluster_get(admin(call), em_call_var(call, "name"), &cluster, &call->status);
    return em_call_reply_result(call, rc, cluster);
}

enum em_code bt_list_clusters(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc =
        bt_cluster_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "clusters");
}

static enum em_code update_cluster(struct em_call *call, const char *mask, const char *kind)
{
    const char *name = em_call_var(call, "name");
    cJSON *cluster = NULL;
    char zone[64];
    if (bt_cluster_update(admin(call), name, call->body, mask, &cluster, &call->status))
        return call->status.code;
    cluster_zone(cluster, zone);
    cJSON_Delete(cluster);
    cJSON *request = cJSON_Duplicate(call->body, true);
    if (mask) {
        cJSON *wrapped = cJSON_CreateObject();
        cJSON_AddItemToObject(wrapped, "cluster", request);
        cJSON_AddStringToObject(wrapped, "updateMask", mask);
        request = wrapped;
    }
    cJSON *metadata = bt_json_request_metadata(request, em_clock_now());
    cJSON_Delete(request);
    return start_operation(call, name, zone, kind, metadata);
}

enum em_code bt_update_cluster(struct em_call *call)
{
    return update_cluster(call, NULL, "UpdateCluster");
}

enum em_code bt_partial_update_cluster(struct em_call *call)
{
    const char *mask = em_call_query(call, "updateMask");
    if (!mask)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
    return update_cluster(call, mask, "PartialUpdateCluster");
}

enum em_code bt_delete_cluster(struct em_call *call)
{
    if (bt_cluster_delete(admin(call), em_call_var(call, "name"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- app profiles --- */

enum em_code bt_create_app_profile(struct em_call *call)
{
    cJSON *profile = NULL;
    bool ignore_warnings = false;
    if (em_call_query_bool(call, "ignoreWarnings", &ignore_warnings))
        return call->status.code;
    enum em_code rc = bt_app_profile_create(admin(call), em_call_var(call, "parent"),
                                            em_call_query(call, "appProfileId"), call->body,
                                            &profile, &call->status);
    if (!rc)
        snprintf(call->audit_resource, sizeof(call->audit_resource), "%s",
                 em_json_string(profile, "name"));
    return em_call_reply_result(call, rc, profile);
}

enum em_code bt_get_app_profile(struct em_call *call)
{
    cJSON *profile = NULL;
    enum em_code rc =
        bt_app_profile_get(admin(call), em_call_var(call, "name"), &profile, &call->status);
    return em_call_reply_result(call, rc, profile);
}

enum em_code bt_list_app_profiles(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc =
        bt_app_profile_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "appProfiles");
}

enum em_code bt_update_app_profile(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *profile = NULL;
    char zone[64];
    bool ignore_warnings = false;
    if (em_call_query_bool(call, "ignoreWarnings", &ignore_warnings) ||
        bt_app_profile_update(admin(call), name, call->body, em_call_query(call, "updateMask"),
                              &profile, &call->status))
        return call->status.code;
    cJSON_Delete(profile);
    if (instance_zone(call, name, zone))
        return call->status.code;
    return start_operation(call, name, zone, "UpdateAppProfile", cJSON_CreateObject());
}

enum em_code bt_delete_app_profile(struct em_call *call)
{
    bool ignore_warnings = false;
    if (em_call_query_bool(call, "ignoreWarnings", &ignore_warnings) ||
        bt_app_profile_delete(admin(call), em_call_var(call, "name"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- tables --- */

enum em_code bt_create_table(struct em_call *call)
{
    cJSON *table = NULL;
    enum em_code rc = bt_table_create(admin(call), em_call_var(call, "parent"), call->body,
                                      em_clock_now(), &table, &call->status);
    if (!rc)
        snprintf(call->audit_resource, sizeof(call->audit_resource), "%s",
                 em_json_string(table, "name"));
    return em_call_reply_result(call, rc, table);
}

enum em_code bt_get_table(struct em_call *call)
{
    enum bt_table_view view;
    cJSON *table = NULL;
    if (bt_table_view_parse(em_call_query(call, "view"), BT_VIEW_SCHEMA, &view, &call->status))
        return call->status.code;
    enum em_code rc =
        bt_table_get(admin(call), em_call_var(call, "name"), view, &table, &call->status);
    return em_call_reply_result(call, rc, table);
}

enum em_code bt_list_tables(struct em_call *call)
{
    enum bt_table_view view;
    cJSON *items = NULL;
    if (bt_table_view_parse(em_call_query(call, "view"), BT_VIEW_NAME_ONLY, &view, &call->status))
        return call->status.code;
    enum em_code rc =
        bt_table_list(admin(call), em_call_var(call, "parent"), view, &items, &call->status);
    return em_list_reply_result(call, rc, items, "tables");
}

enum em_code bt_update_table(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *table = NULL;
    char zone[64];
    if (bt_table_update(admin(call), name, call->body, em_call_query(call, "updateMask"), &table,
                        &call->status))
        return call->status.code;
    cJSON_Delete(table);
    if (instance_zone(call, name, zone))
        return call->status.code;
    return start_operation(call, name, zone, "UpdateTable", bt_json_table_metadata(name));
}

enum em_code bt_delete_table(struct em_call *call)
{
    if (bt_table_delete(admin(call), em_call_var(call, "name"), em_clock_now(), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* The table is back when the call returns; the operation answers it (as gcloud polls). */
enum em_code bt_undelete_table(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *table = NULL;
    char zone[64];
    if (instance_zone(call, name, zone) ||
        bt_table_undelete(admin(call), name, em_clock_now(), &table, &call->status))
        return call->status.code;
    cJSON_Delete(table);
    struct bt_context *bt = call->svc->ctx;
    bt_replication_wake(&bt->replication); /* its queued writes flow again */
    return start_operation(call, name, zone, "UndeleteTable", bt_json_table_metadata(name));
}

enum em_code bt_generate_consistency_token(struct em_call *call)
{
    char *token = NULL;
    if (bt_consistency_generate(call->svc->ctx, em_call_var(call, "name"), &token, &call->status))
        return call->status.code;
    cJSON *response = cJSON_CreateObject();
    cJSON_AddStringToObject(response, "consistencyToken", token);
    free(token);
    return em_call_reply(call, response);
}

enum em_code bt_check_consistency(struct em_call *call)
{
    bool consistent = false;
    if (bt_consistency_check(call->svc->ctx, em_call_var(call, "name"), call->body, &consistent,
                             &call->status))
        return call->status.code;
    cJSON *response = cJSON_CreateObject();
    cJSON_AddBoolToObject(response, "consistent", consistent);
    return em_call_reply(call, response);
}

enum em_code bt_modify_column_families(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *table = NULL, *dropped = NULL;
    if (bt_table_modify_families(admin(call), name,
                                 cJSON_GetObjectItem(call->body, "modifications"), &table, &dropped,
                                 &call->status))
        return call->status.code;
    enum em_code rc = bt_data_drop_families(call->svc->ctx, name, dropped, &call->status);
    cJSON_Delete(dropped);
    if (rc) {
        cJSON_Delete(table);
        return rc;
    }
    return em_call_reply(call, table);
}

/* The oneof target: row_key_prefix (not empty) or delete_all_data_from_table, whose false
 * is a no-op (bigtable_table_admin.proto) on a table that exists. */
enum em_code bt_drop_row_range(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *prefix = em_json_string(call->body, "rowKeyPrefix");
    const cJSON *all = cJSON_GetObjectItem(call->body, "deleteAllDataFromTable");
    if (cJSON_IsNull(all)) /* proto3 JSON: null is the field left unset */
        all = NULL;
    if (!!prefix == (all != NULL))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "A DropRowRange request needs exactly one of row_key_prefix or "
                            "delete_all_data_from_table.");
    if (prefix && !*prefix)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "The row_key_prefix must not be empty.");
    if (all && !cJSON_IsTrue(all)) {
        cJSON *table = NULL;
        if (bt_table_get(admin(call), name, BT_VIEW_NAME_ONLY, &table, &call->status))
            return call->status.code;
        cJSON_Delete(table);
    } else if (bt_data_drop_rows(call->svc->ctx, name, prefix, &call->status)) {
        return call->status.code;
    }
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- IAM --- */

enum em_code bt_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    cJSON *resource = NULL;
    if (strstr(name, "/backups/"))
        bt_backup_get(admin(call), name, &resource, &call->status);
    else if (strstr(name, "/authorizedViews/"))
        bt_view_get(admin(call), name, BT_AV_NAME_ONLY, &resource, &call->status);
    else if (strstr(name, "/tables/"))
        bt_table_get(admin(call), name, BT_VIEW_NAME_ONLY, &resource, &call->status);
    else
        bt_instance_get(admin(call), name, &resource, &call->status);
    cJSON_Delete(resource);
    return call->status.code;
}

/* --- for bigtable_backup_handlers.c --- */

enum em_code bt_handlers_start_operation(struct em_call *call, const char *resource,
                                         const char *zone, const char *kind, cJSON *metadata)
{
    return start_operation(call, resource, zone, kind, metadata);
}
