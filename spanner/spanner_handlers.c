/*
 * spanner_handlers: thin glue between REST calls and spanner_admin. Each handler reads
 * the call (path variables, query, the schema-checked body), calls the domain and replies;
 * the long-running methods start an operation (em_operations.h) named under the resource,
 * whose work (below) finishes the resource and answers it.
 * Reference: https://cloud.google.com/spanner/docs/reference/rest
 */
#include "spanner_handlers.h"

#include "em_api_state.h"
#include "em_clock.h"
#include "em_descriptor.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_log.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_service.h"
#include "spanner_admin.h"
#include "spanner_backup.h"
#include "spanner_backup_schedules.h"
#include "spanner_errors.h"
#include "spanner_instance_configs.h"
#include "spanner_instance_partitions.h"
#include "spanner_json.h"
#include "spanner_session.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SP_INSTANCE_TYPE EM_TYPE_URL "google.spanner.admin.instance.v1."
#define SP_DATABASE_TYPE EM_TYPE_URL "google.spanner.admin.database.v1."

static struct sp_admin *admin(struct em_call *call)
{
    return ((struct sp_ctx *)call->svc->ctx)->admin;
}

static struct sp_backups *backups(struct em_call *call)
{
    return ((struct sp_ctx *)call->svc->ctx)->backups;
}

static struct sp_backup_schedules *schedules(struct em_call *call)
{
    return ((struct sp_ctx *)call->svc->ctx)->schedules;
}

/* Starts an operation of kind under parent and replies with it. */
static enum em_code start_operation(struct em_call *call, const char *parent, const char *id,
                                    const char *kind, cJSON *metadata, cJSON *request)
{
    cJSON *op = NULL;
    if (em_op_start(call->svc->operations, parent, id, kind, metadata, request, em_clock_now(), &op,
                    &call->status))
        return call->status.code;
    return em_call_reply(call, op);
}

/* The request the work of an operation on one resource reads: {"name": name}. */
static cJSON *work_request(const char *name)
{
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "name", name);
    return request;
}

/* --- operation work --- */

static enum em_code instance_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                        int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    struct sp_ctx *sp = ctx;
    return sp_instance_ready(sp->admin, em_json_string(request, "name"), now, response, st);
}

/* The move's response is MoveInstanceResponse, an empty message (the operation_info of
 * the proto, which the client libraries decode; its comment says Instance). */
static enum em_code move_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                              cJSON **response, struct em_status *st)
{
    (void)op;
    struct sp_ctx *sp = ctx;
    cJSON *instance = NULL;
    if (sp_instance_move(sp->admin, em_json_string(request, "name"),
                         cJSON_GetObjectItem(request, "move"), now, &instance, st))
        return st->code;
    cJSON_Delete(instance);
    *response = cJSON_CreateObject();
    return EM_OK;
}

static enum em_code partition_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                         int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct sp_ctx *sp = ctx;
    return sp_partition_ready(sp->admin, em_json_string(request, "name"), response, st);
}

static enum em_code quorum_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                cJSON **response, struct em_status *st)
{
    (void)op;
    struct sp_ctx *sp = ctx;
    const cJSON *change = cJSON_GetObjectItem(request, "change");
    if (sp_database_change_quorum(sp->admin, em_json_string(request, "name"), change, now, response,
                                  st))
        return st->code;
    sp_database_show_earliest_version(sp->admin, *response, now);
    return EM_OK;
}

static enum em_code config_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                      int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct sp_ctx *sp = ctx;
    return sp_instance_config_ready(sp->admin, em_json_string(request, "name"), response, st);
}

static enum em_code database_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                        int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct sp_ctx *sp = ctx;
    return sp_database_ready(sp->admin, em_json_string(request, "name"), response, st);
}

static enum em_code backup_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                      int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct sp_ctx *sp = ctx;
    return sp_backup_ready(sp->backups, em_json_string(request, "name"), response, st);
}

static enum em_code restore_ready_work(struct em_op *op, void *ctx, const cJSON *request,
                                       int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct sp_ctx *sp = ctx;
    return sp_backup_restore_ready(sp->backups, em_json_string(request, "name"), response, st);
}

/* The statements were applied when the call was accepted (all or nothing, before the
 * reply): the operation only reports them. */
static enum em_code ddl_done_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                  cJSON **response, struct em_status *st)
{
    (void)op;
    (void)ctx;
    (void)request;
    (void)now;
    (void)st;
    *response = NULL;
    return EM_OK;
}

const struct em_op_type sp_op_types[] = {
    {"CreateInstancePartition", SP_INSTANCE_TYPE "CreateInstancePartitionMetadata",
     SP_INSTANCE_TYPE "InstancePartition", partition_ready_work, true, "startTime", "endTime"},
    {"UpdateInstancePartition", SP_INSTANCE_TYPE "UpdateInstancePartitionMetadata",
     SP_INSTANCE_TYPE "InstancePartition", partition_ready_work, true, "startTime", "endTime"},
    {"CreateInstanceConfig", SP_INSTANCE_TYPE "CreateInstanceConfigMetadata",
     SP_INSTANCE_TYPE "InstanceConfig", config_ready_work, true, NULL, NULL, "progress"},
    {"UpdateInstanceConfig", SP_INSTANCE_TYPE "UpdateInstanceConfigMetadata",
     SP_INSTANCE_TYPE "InstanceConfig", config_ready_work, true, NULL, NULL, "progress"},
    {"CreateInstance", SP_INSTANCE_TYPE "CreateInstanceMetadata", SP_INSTANCE_TYPE "Instance",
     instance_ready_work, true, "startTime", "endTime"},
    {"UpdateInstance", SP_INSTANCE_TYPE "UpdateInstanceMetadata", SP_INSTANCE_TYPE "Instance",
     instance_ready_work, true, "startTime", "endTime"},
    {"MoveInstance", SP_INSTANCE_TYPE "MoveInstanceMetadata",
     SP_INSTANCE_TYPE "MoveInstanceResponse", move_work, true, NULL, NULL, "progress"},
    {"CreateDatabase", SP_DATABASE_TYPE "CreateDatabaseMetadata", SP_DATABASE_TYPE "Database",
     database_ready_work, true, NULL, NULL},
    {"UpdateDatabaseDdl", SP_DATABASE_TYPE "UpdateDatabaseDdlMetadata", NULL, ddl_done_work, true,
     NULL, NULL},
    {"ChangeQuorum", SP_DATABASE_TYPE "ChangeQuorumMetadata", SP_DATABASE_TYPE "Database",
     quorum_work, true, "startTime", "endTime"},
    {"UpdateDatabase", SP_DATABASE_TYPE "UpdateDatabaseMetadata", SP_DATABASE_TYPE "Database",
     database_ready_work, true, NULL, NULL},
    {"CreateBackup", SP_DATABASE_TYPE "CreateBackupMetadata", SP_DATABASE_TYPE "Backup",
     backup_ready_work, true, NULL, NULL, "progress"},
    {"CopyBackup", SP_DATABASE_TYPE "CopyBackupMetadata", SP_DATABASE_TYPE "Backup",
     backup_ready_work, true, NULL, NULL, "progress"},
    {"RestoreDatabase", SP_DATABASE_TYPE "RestoreDatabaseMetadata", SP_DATABASE_TYPE "Database",
     restore_ready_work, true, NULL, NULL, "progress"},
};
const size_t sp_op_type_count = sizeof(sp_op_types) / sizeof(sp_op_types[0]);

/* --- instance configs --- */

/* The project ID of the route's first variable ("projects/p..."). */
static enum em_code route_project(struct em_call *call, const char *var, char project[64])
{
    const char *name = em_call_var(call, var);
    if (!em_name_id(name, "projects", project, 64))
        return SP_ERR_INVALID_NAME(&call->status, "project", name);
    return em_project_check(project, &call->status);
}

enum em_code sp_list_instance_configs(struct em_call *call)
{
    char project[64];
    cJSON *items = NULL;
    if (route_project(call, "parent", project))
        return call->status.code;
    enum em_code rc =
        sp_instance_config_list(sp_admin_store(admin(call)), project, &items, &call->status);
    return em_list_reply_result(call, rc, items, "instanceConfigs");
}

enum em_code sp_get_instance_config(struct em_call *call)
{
    char project[64], id[128];
    const char *name = em_call_var(call, "name");
    cJSON *config = NULL;
    if (route_project(call, "name", project))
        return call->status.code;
    em_name_id(name, "instanceConfigs", id, sizeof(id));
    enum em_code rc =
        sp_instance_config_find(sp_admin_store(admin(call)), project, id, &config, &call->status);
    return em_call_reply_result(call, rc, config);
}

/* The metadata of a config's create or update operation: the config as it will be (type:
 * its "@type", or NULL for the operations module to set; the module adds the progress). */
static cJSON *config_metadata(const cJSON *config, const char *type)
{
    cJSON *md = cJSON_CreateObject();
    if (type)
        cJSON_AddStringToObject(md, "@type", type);
    cJSON_AddItemToObject(md, "instanceConfig", cJSON_Duplicate(config, true));
    return md;
}

/* A validateOnly request's answer: the operation it would start, done at once with the
 * config it would make, and not kept (no name: nothing can be read back). */
static enum em_code reply_validated(struct em_call *call, const char *kind, cJSON *config)
{
    char type[160];
    snprintf(type, sizeof(type), SP_INSTANCE_TYPE "%sMetadata", kind);
    cJSON *op = cJSON_CreateObject(), *metadata = config_metadata(config, type);
    em_json_add_time(cJSON_AddObjectToObject(metadata, "progress"), "startTime", em_clock_now());
    cJSON_AddItemToObject(op, "metadata", metadata);
    cJSON_AddBoolToObject(op, "done", true);
    cJSON_AddStringToObject(config, "@type", SP_INSTANCE_TYPE "InstanceConfig");
    cJSON_AddItemToObject(op, "response", config);
    return em_call_reply(call, op);
}

/* The create or update operation of a config (or, validateOnly, its answer). */
static enum em_code config_operation(struct em_call *call, const char *kind, cJSON *config)
{
    if (cJSON_IsTrue(cJSON_GetObjectItem(call->body, "validateOnly")))
        return reply_validated(call, kind, config);
    const char *name = em_json_string(config, "name");
    cJSON *metadata = config_metadata(config, NULL);
    enum em_code rc = start_operation(call, name, NULL, kind, metadata, work_request(name));
    cJSON_Delete(config);
    return rc;
}

enum em_code sp_create_instance_config(struct em_call *call)
{
    cJSON *config = NULL;
    if (sp_instance_config_create(admin(call), em_call_var(call, "parent"), call->body, &config,
                                  &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s",
             em_json_string(config, "name"));
    return config_operation(call, "CreateInstanceConfig", config);
}

enum em_code sp_update_instance_config(struct em_call *call)
{
    cJSON *config = NULL;
    if (sp_instance_config_update(admin(call), em_call_var(call, "name"), call->body, &config,
                                  &call->status))
        return call->status.code;
    return config_operation(call, "UpdateInstanceConfig", config);
}

enum em_code sp_delete_instance_config(struct em_call *call)
{
    bool validate_only;
    if (em_call_query_bool(call, "validateOnly", &validate_only) ||
        sp_instance_config_delete(admin(call), em_call_var(call, "name"),
                                  em_call_query(call, "etag"), validate_only, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* GET projects/<p>/instanceConfigOperations: the operations of every config of the
 * project, with the caller's filter. */
enum em_code sp_list_instance_config_operations(struct em_call *call)
{
    char project[64], parent[96];
    cJSON *items = NULL;
    if (route_project(call, "parent", project))
        return call->status.code;
    snprintf(parent, sizeof(parent), "projects/%s/instanceConfigs", project);
    enum em_code rc = em_op_list(call->svc->operations, parent, true, &items, &call->status);
    return em_list_reply_result(call, rc, items, "operations");
}

/* --- instances --- */

enum em_code sp_create_instance(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const cJSON *body = call->body;
    cJSON *instance = NULL;
    if (sp_instance_create(admin(call), parent, em_json_string(body, "instanceId"),
                           cJSON_GetObjectItem(body, "instance"), em_clock_now(), &instance,
                           &call->status))
        return call->status.code;
    const char *name = em_json_string(instance, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *request = work_request(name);
    return start_operation(call, name, NULL, "CreateInstance", sp_json_instance_metadata(instance),
                           request);
}

/* GET .../instances: instanceDeadline (how long to wait for slow regions' metadata) is
 * checked and needs no wait here: every instance is reachable, none is "unreachable". */
enum em_code sp_list_instances(struct em_call *call)
{
    cJSON *items = NULL;
    int64_t deadline;
    if (em_call_query_time(call, "instanceDeadline", 0, &deadline))
        return call->status.code;
    enum em_code rc =
        sp_instance_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "instances");
}

/* GET .../instances/{instance}[?fieldMask=]: the Instance fields the mask names, or all. */
enum em_code sp_get_instance(struct em_call *call)
{
    cJSON *instance = NULL, *shown = NULL;
    if (sp_instance_get(admin(call), em_call_var(call, "name"), &instance, &call->status))
        return call->status.code;
    em_mask_select(em_call_query(call, "fieldMask"), "field_mask", &sp_instance_schema, instance,
                   &shown, &call->status);
    cJSON_Delete(instance);
    return em_call_reply_result(call, call->status.code, shown);
}

enum em_code sp_update_instance(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *instance = NULL;
    if (sp_instance_update(admin(call), name, cJSON_GetObjectItem(call->body, "instance"),
                           em_json_string(call->body, "fieldMask"), em_clock_now(), &instance,
                           &call->status))
        return call->status.code;
    return start_operation(call, name, NULL, "UpdateInstance", sp_json_instance_metadata(instance),
                           work_request(name));
}

/* POST .../instances/{instance}:move: checked now, done by its operation. */
enum em_code sp_move_instance(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (sp_instance_move_check(admin(call), name, call->body, &call->status))
        return call->status.code;
    cJSON *metadata = cJSON_CreateObject(), *request = work_request(name);
    cJSON_AddStringToObject(metadata, "targetConfig", em_json_string(call->body, "targetConfig"));
    cJSON_AddItemToObject(request, "move", cJSON_Duplicate(call->body, true));
    return start_operation(call, name, NULL, "MoveInstance", metadata, request);
}

enum em_code sp_delete_instance(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (sp_instance_delete(admin(call), name, &call->status))
        return call->status.code;
    sp_sessions_forget(((struct sp_ctx *)call->svc->ctx)->sessions, name);
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- instance partitions --- */

static enum em_code list_instance_operations(struct em_call *call, const char *collection);

/* The metadata of a partition's create or update operation: the partition as it will be. */
static cJSON *partition_metadata(const cJSON *partition)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddItemToObject(md, "instancePartition", cJSON_Duplicate(partition, true));
    return md;
}

enum em_code sp_create_instance_partition(struct em_call *call)
{
    cJSON *partition = NULL;
    if (sp_partition_create(admin(call), em_call_var(call, "parent"), call->body, em_clock_now(),
                            &partition, &call->status))
        return call->status.code;
    const char *name = em_json_string(partition, "name");
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    enum em_code rc = start_operation(call, name, NULL, "CreateInstancePartition",
                                      partition_metadata(partition), work_request(name));
    cJSON_Delete(partition);
    return rc;
}

enum em_code sp_get_instance_partition(struct em_call *call)
{
    cJSON *partition = NULL;
    enum em_code rc =
        sp_partition_get(admin(call), em_call_var(call, "name"), &partition, &call->status);
    return em_call_reply_result(call, rc, partition);
}

/* instancePartitionDeadline is checked and needs no wait: every partition is reachable. */
enum em_code sp_list_instance_partitions(struct em_call *call)
{
    cJSON *items = NULL;
    int64_t deadline;
    if (em_call_query_time(call, "instancePartitionDeadline", 0, &deadline))
        return call->status.code;
    enum em_code rc =
        sp_partition_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "instancePartitions");
}

enum em_code sp_update_instance_partition(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    cJSON *partition = NULL;
    if (sp_partition_update(admin(call), name, call->body, em_clock_now(), &partition,
                            &call->status))
        return call->status.code;
    enum em_code rc = start_operation(call, name, NULL, "UpdateInstancePartition",
                                      partition_metadata(partition), work_request(name));
    cJSON_Delete(partition);
    return rc;
}

enum em_code sp_delete_instance_partition(struct em_call *call)
{
    if (sp_partition_delete(admin(call), em_call_var(call, "name"), em_call_query(call, "etag"),
                            &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* GET .../instances/{instance}/instancePartitionOperations: the operations of every
 * partition of the instance, with the caller's filter. */
enum em_code sp_list_instance_partition_operations(struct em_call *call)
{
    int64_t deadline;
    if (em_call_query_time(call, "instancePartitionDeadline", 0, &deadline))
        return call->status.code;
    return list_instance_operations(call, "instancePartitions");
}

/* --- databases --- */

enum em_code sp_create_database(struct em_call *call)
{
    char name[SP_NAME_MAX];
    cJSON *database = NULL;
    if (cJSON_GetObjectItem(call->body, "protoDescriptors"))
        return EM_CALL_FAIL(call, EM_UNIMPLEMENTED,
                            "protoDescriptors (PROTO columns) are not supported by this emulator.");
    if (sp_database_create(admin(call), em_call_var(call, "parent"), call->body, em_clock_now(),
                           name, &database, &call->status))
        return call->status.code;
    cJSON_Delete(database);
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    return start_operation(call, name, NULL, "CreateDatabase",
                           sp_json_create_database_metadata(name), work_request(name));
}

enum em_code sp_list_databases(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc =
        sp_database_list(admin(call), em_call_var(call, "parent"), &items, &call->status);
    for (cJSON *db = rc ? NULL : items->child; db; db = db->next)
        sp_database_show_earliest_version(admin(call), db, em_clock_now());
    return em_list_reply_result(call, rc, items, "databases");
}

enum em_code sp_get_database(struct em_call *call)
{
    cJSON *database = NULL;
    enum em_code rc =
        sp_database_get(admin(call), em_call_var(call, "name"), &database, &call->status);
    if (!rc)
        sp_database_show_earliest_version(admin(call), database, em_clock_now());
    return em_call_reply_result(call, rc, database);
}

enum em_code sp_get_database_ddl(struct em_call *call)
{
    cJSON *statements = NULL;
    if (sp_database_ddl(admin(call), em_call_var(call, "database"), &statements, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    if (cJSON_GetArraySize(statements) > 0) /* proto3 JSON leaves an empty list out */
        cJSON_AddItemToObject(reply, "statements", statements);
    else
        cJSON_Delete(statements);
    return em_call_reply(call, reply);
}

/* The database roles: the three system roles fine-grained access control gives every
 * database, then those CREATE ROLE made. */
enum em_code sp_list_database_roles(struct em_call *call)
{
    const char *database = em_call_var(call, "parent");
    cJSON *names = NULL;
    if (sp_database_roles(admin(call), database, &names, &call->status))
        return call->status.code;
    cJSON *roles = cJSON_CreateArray();
    const cJSON *item;
    cJSON_ArrayForEach(item, names)
    {
        char name[SP_NAME_MAX + 160];
        snprintf(name, sizeof(name), "%s/databaseRoles/%s", database, item->valuestring);
        cJSON *role = cJSON_CreateObject();
        cJSON_AddStringToObject(role, "name", name);
        cJSON_AddItemToArray(roles, role);
    }
    cJSON_Delete(names);
    return em_list_reply_result(call, EM_OK, roles, "databaseRoles");
}

/* UpdateDatabaseDdlRequest.operation_id: "a valid identifier: [a-z][a-z0-9_]*" (those
 * Spanner makes begin with '_', so a caller's never meets one). */
static bool operation_id_valid(const char *id)
{
    return islower((unsigned char)id[0]) &&
           strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(id);
}

/* ALREADY_EXISTS when the caller's operation id is taken, INVALID_ARGUMENT when it is not
 * an operation id: checked before the statements are applied, so a refused call changes
 * nothing. */
static enum em_code operation_id_taken(struct em_call *call, const char *parent, const char *id)
{
    char name[EM_OP_NAME_MAX];
    cJSON *existing = NULL;
    if (!id)
        return EM_OK;
    if (!operation_id_valid(id))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid operation_id \"%.100s\": it must be a lowercase letter, "
                            "then lowercase letters, digits or '_'.",
                            id);
    snprintf(name, sizeof(name), "%s/operations/%s", parent, id);
    if (em_op_name_parse(name, NULL, 0, NULL, 0, &call->status))
        return call->status.code; /* an id em_op_start would refuse */
    struct em_status ignored = {0};
    if (em_op_get(call->svc->operations, name, &existing, &ignored) == EM_OK) {
        cJSON_Delete(existing);
        return EM_CALL_FAIL(call, EM_ALREADY_EXISTS, "Operation already exists: %.400s", name);
    }
    return EM_OK;
}

enum em_code sp_update_database_ddl(struct em_call *call)
{
    const char *name = em_call_var(call, "database");
    const cJSON *statements = cJSON_GetObjectItem(call->body, "statements");
    if (cJSON_GetObjectItem(call->body, "protoDescriptors"))
        return EM_CALL_FAIL(call, EM_UNIMPLEMENTED,
                            "protoDescriptors (PROTO columns) are not supported by this emulator.");
    const char *op_id = em_json_string(call->body, "operationId");
    if (op_id && !*op_id)
        op_id = NULL; /* proto3: "" is no id, one is made */
    if (operation_id_taken(call, name, op_id) ||
        sp_database_update_ddl(admin(call), name, statements, &call->status))
        return call->status.code;
    cJSON *metadata = sp_json_update_ddl_metadata(name, statements, em_clock_now());
    return start_operation(call, name, op_id, "UpdateDatabaseDdl", metadata, NULL);
}

/* The change is made when the call is accepted: the operation only reports it. */
enum em_code sp_update_database(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *mask = em_call_query(call, "updateMask");
    if (sp_database_update(admin(call), name, call->body, mask, &call->status))
        return call->status.code;
    return start_operation(call, name, NULL, "UpdateDatabase",
                           sp_json_update_database_metadata(call->body, mask, em_clock_now()),
                           work_request(name));
}

/* POST .../databases/{database}:changequorum: checked now, done by its operation. */
enum em_code sp_change_quorum(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *given = em_json_string(call->body, "name");
    if (given && *given && strcmp(given, name) != 0)
        return SP_ERR_INVALID_NAME(&call->status, "database", given);
    if (sp_database_change_quorum_check(admin(call), name, call->body, &call->status))
        return call->status.code;
    cJSON *metadata = cJSON_CreateObject(), *request = work_request(name);
    cJSON *echoed = cJSON_Duplicate(call->body, true);
    cJSON_DeleteItemFromObject(echoed, "name");
    cJSON_AddStringToObject(echoed, "name", name);
    cJSON_AddItemToObject(metadata, "request", echoed);
    cJSON_AddItemToObject(request, "change", cJSON_Duplicate(call->body, true));
    return start_operation(call, name, NULL, "ChangeQuorum", metadata, request);
}

enum em_code sp_drop_database(struct em_call *call)
{
    const char *name = em_call_var(call, "database");
    if (sp_database_drop(admin(call), name, &call->status))
        return call->status.code;
    sp_sessions_forget(((struct sp_ctx *)call->svc->ctx)->sessions, name);
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- backups --- */

/* The second permission of a method on two resources (the route checks the first, on
 * its parent): spanner.databases.createBackup on the database a backup is taken of,
 * spanner.backups.copy on a copy's source, spanner.backups.restoreDatabase on the backup
 * a database is restored from. Nothing to check when the request names none. */
static enum em_code check_source(struct em_call *call, const char *resource, const char *permission)
{
    if (!resource || !*resource)
        return EM_OK;
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

/* The field of CreateBackup's encryption config a query argument names, by its JSON name
 * or its proto name (encryption_config.kms_key_name), or NULL. */
static const char *query_encryption_field(const char *key)
{
    static const char *const prefixes[] = {"encryptionConfig.", "encryption_config."};
    static const char *const fields[] = {"encryptionType", "kmsKeyName", "kmsKeyNames"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(key, prefixes[i], n) != 0)
            continue;
        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
            if (em_mask_path_is(key + n, fields[f]))
                return fields[f];
        return key + n; /* unknown: the schema check names it */
    }
    return NULL;
}

/* Adds one query argument of CreateBackup's encryption config to config. */
static void add_query_encryption(cJSON *config, const char *key, const char *value)
{
    const char *field = query_encryption_field(key);
    if (!field)
        return;
    if (strcmp(field, "kmsKeyNames") == 0) {
        cJSON *keys = cJSON_GetObjectItem(config, field);
        if (!keys)
            keys = cJSON_AddArrayToObject(config, field);
        cJSON_AddItemToArray(keys, cJSON_CreateString(value));
    } else {
        cJSON_DeleteItemFromObject(config, field);
        /* an enum may come as its proto number (Google's client libraries send "3") */
        size_t digits = strspn(value, "0123456789");
        if (strcmp(field, "encryptionType") == 0 && digits > 0 && digits <= 9 &&
            value[digits] == '\0')
            cJSON_AddNumberToObject(config, field, atoi(value));
        else
            cJSON_AddStringToObject(config, field, value);
    }
}

/* CreateBackup's encryptionConfig, which gcloud sends in the query string
 * (encryptionConfig.encryptionType=...&encryptionConfig.kmsKeyName=...), checked as the
 * message it is; NULL when the query has none. */
static enum em_code query_encryption(struct em_call *call, cJSON **out)
{
    cJSON *config = cJSON_CreateObject();
    *out = NULL;
    for (int i = 0; i < call->query_count; i++)
        add_query_encryption(config, call->query[i].key,
                             call->query[i].value ? call->query[i].value : "");
    if (cJSON_GetArraySize(config) == 0 ||
        em_schema_check(&sp_create_backup_encryption_schema, config, "encryption_config",
                        &call->status)) {
        cJSON_Delete(config);
        return call->status.code;
    }
    *out = config;
    return EM_OK;
}

enum em_code sp_create_backup(struct em_call *call)
{
    char name[SP_NAME_MAX];
    cJSON *encryption = NULL;
    int64_t now = em_clock_now();
    if (check_source(call, em_json_string(call->body, "database"),
                     "spanner.databases.createBackup") ||
        query_encryption(call, &encryption))
        return call->status.code;
    enum em_code rc = sp_backup_create(backups(call), em_call_var(call, "parent"),
                                       em_call_query(call, "backupId"), call->body, encryption, now,
                                       name, &call->status);
    cJSON_Delete(encryption);
    if (rc)
        return rc;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata =
        sp_json_backup_metadata(name, "database", em_json_string(call->body, "database"));
    return start_operation(call, name, NULL, "CreateBackup", metadata, work_request(name));
}

enum em_code sp_copy_backup(struct em_call *call)
{
    char name[SP_NAME_MAX];
    int64_t now = em_clock_now();
    if (check_source(call, em_json_string(call->body, "sourceBackup"), "spanner.backups.copy"))
        return call->status.code;
    if (sp_backup_copy(backups(call), em_call_var(call, "parent"), call->body, now, name,
                       &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata =
        sp_json_backup_metadata(name, "sourceBackup", em_json_string(call->body, "sourceBackup"));
    return start_operation(call, name, NULL, "CopyBackup", metadata, work_request(name));
}

enum em_code sp_list_backups(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc =
        sp_backup_list(backups(call), em_call_var(call, "parent"), &items, &call->status);
    return em_list_reply_result(call, rc, items, "backups");
}

enum em_code sp_get_backup(struct em_call *call)
{
    cJSON *backup = NULL;
    enum em_code rc =
        sp_backup_get(backups(call), em_call_var(call, "name"), &backup, &call->status);
    return em_call_reply_result(call, rc, backup);
}

enum em_code sp_update_backup(struct em_call *call)
{
    cJSON *backup = NULL;
    enum em_code rc =
        sp_backup_update(backups(call), em_call_var(call, "name"), call->body,
                         em_call_query(call, "updateMask"), em_clock_now(), &backup, &call->status);
    return em_call_reply_result(call, rc, backup);
}

enum em_code sp_delete_backup(struct em_call *call)
{
    if (sp_backup_delete(backups(call), em_call_var(call, "name"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code sp_restore_database(struct em_call *call)
{
    char name[SP_NAME_MAX];
    cJSON *metadata = NULL;
    if (check_source(call, em_json_string(call->body, "backup"), "spanner.backups.restoreDatabase"))
        return call->status.code;
    if (sp_backup_restore(backups(call), em_call_var(call, "parent"), call->body, em_clock_now(),
                          name, &metadata, &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    return start_operation(call, name, NULL, "RestoreDatabase", metadata, work_request(name));
}

/* --- backup schedules --- */

enum em_code sp_create_backup_schedule(struct em_call *call)
{
    cJSON *schedule = NULL;
    enum em_code rc = sp_backup_schedule_create(schedules(call), em_call_var(call, "parent"),
                                                em_call_query(call, "backupScheduleId"), call->body,
                                                em_clock_now(), &schedule, &call->status);
    if (rc == EM_OK)
        snprintf(call->audit_resource, sizeof(call->audit_resource), "%s",
                 em_json_string(schedule, "name"));
    return em_call_reply_result(call, rc, schedule);
}

enum em_code sp_list_backup_schedules(struct em_call *call)
{
    cJSON *items = NULL;
    enum em_code rc = sp_backup_schedule_list(schedules(call), em_call_var(call, "parent"), &items,
                                              &call->status);
    return em_list_reply_result(call, rc, items, "backupSchedules");
}

enum em_code sp_get_backup_schedule(struct em_call *call)
{
    cJSON *schedule = NULL;
    enum em_code rc = sp_backup_schedule_get(schedules(call), em_call_var(call, "name"), &schedule,
                                             &call->status);
    return em_call_reply_result(call, rc, schedule);
}

enum em_code sp_update_backup_schedule(struct em_call *call)
{
    cJSON *schedule = NULL;
    enum em_code rc = sp_backup_schedule_update(schedules(call), em_call_var(call, "name"),
                                                call->body, em_call_query(call, "updateMask"),
                                                em_clock_now(), &schedule, &call->status);
    return em_call_reply_result(call, rc, schedule);
}

enum em_code sp_delete_backup_schedule(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (sp_backup_schedule_delete(schedules(call), name, &call->status) ||
        em_iam_delete_under(call->svc->store, name, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* One due backup of a schedule: the backup and its CreateBackup operation. */
static void run_backup_schedule(struct em_service *svc, const cJSON *due, int64_t now)
{
    struct sp_ctx *ctx = svc->ctx;
    const char *schedule = em_json_string(due, "name");
    const char *database = em_json_string(due, "database");
    int64_t version_time = now, retention = 0;
    char name[SP_NAME_MAX];
    struct em_status st = {0};
    em_time_parse(em_json_string(due, "versionTime"), &version_time);
    em_duration_parse(em_json_string(due, "retentionDuration"), &retention);
    if (!em_api_usable_for(schedule, spanner_descriptor.google_service)) {
        /* a deleted project (or one that disabled Spanner) makes no backup: this run is
         * skipped, the schedule goes on from its next time once the project is back */
        em_info("spanner: backup schedule %s: no backup at %s, its project is deleted or has "
                "disabled the Spanner API",
                schedule, em_json_string(due, "versionTime"));
    } else if (!sp_backup_create_scheduled(ctx->backups, schedule, database,
                                           cJSON_GetObjectItem(due, "encryptionConfig"),
                                           version_time, retention, now, name, &st)) {
        cJSON *op = NULL;
        cJSON *metadata = sp_json_backup_metadata(name, "database", database);
        if (em_op_start(svc->operations, name, NULL, "CreateBackup", metadata, work_request(name),
                        now, &op, &st))
            em_warn("spanner: backup schedule %s: starting the operation of %s: %s", schedule, name,
                    st.message);
        else
            em_info("spanner: backup schedule %s: creating backup %s", schedule, name);
        cJSON_Delete(op);
    } else if (st.code != EM_ALREADY_EXISTS) { /* made before a restart: done */
        em_warn("spanner: backup schedule %s: no backup of %s at %s: %s", schedule, database,
                em_json_string(due, "versionTime"), st.message);
    }
    if (sp_backup_schedule_done(ctx->schedules, schedule, version_time, &st))
        em_warn("spanner: backup schedule %s: recording its time: %s", schedule, st.message);
}

void sp_run_backup_schedules(struct em_service *svc, int64_t now)
{
    struct sp_ctx *ctx = svc->ctx;
    struct em_status st = {0};
    cJSON *due = NULL;
    if (sp_backup_schedules_due(ctx->schedules, now, &due, &st)) {
        em_warn("spanner: reading the backup schedules: %s", st.message);
        return;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, due)
    {
        run_backup_schedule(svc, item, now);
    }
    cJSON_Delete(due);
}

/* The operations of every backup (or database) of an instance: instances/<i>/
 * backupOperations and databaseOperations, with the caller's filter. */
static enum em_code list_instance_operations(struct em_call *call, const char *collection)
{
    const char *instance = em_call_var(call, "parent");
    char parent[SP_NAME_MAX + 16];
    cJSON *inst = NULL, *items = NULL;
    if (sp_instance_get(admin(call), instance, &inst, &call->status))
        return call->status.code;
    cJSON_Delete(inst);
    snprintf(parent, sizeof(parent), "%s/%s", instance, collection);
    enum em_code rc = em_op_list(call->svc->operations, parent, true, &items, &call->status);
    return em_list_reply_result(call, rc, items, "operations");
}

enum em_code sp_list_backup_operations(struct em_call *call)
{
    return list_instance_operations(call, "backups");
}

enum em_code sp_list_database_operations(struct em_call *call)
{
    return list_instance_operations(call, "databases");
}

/* --- IAM --- */

/* NOT_FOUND unless the database role <database>/databaseRoles/<role> exists. */
static enum em_code database_role_check(struct em_call *call, const char *name)
{
    const char *at = strstr(name, "/databaseRoles/");
    char database[SP_NAME_MAX];
    snprintf(database, sizeof(database), "%.*s", (int)(at - name), name);
    cJSON *names = NULL;
    if (sp_database_roles(admin(call), database, &names, &call->status))
        return call->status.code;
    bool found = false;
    const cJSON *item;
    cJSON_ArrayForEach(item, names) found |= strcmp(item->valuestring, at + 15) == 0;
    cJSON_Delete(names);
    if (!found)
        return EM_CALL_FAIL(call, EM_NOT_FOUND, "Database role not found: %s", name);
    return EM_OK;
}

enum em_code sp_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    cJSON *resource = NULL;
    if (strstr(name, "/databaseRoles/"))
        return database_role_check(call, name);
    if (strstr(name, "/backups/"))
        sp_backup_get(backups(call), name, &resource, &call->status);
    else if (strstr(name, "/backupSchedules/"))
        sp_backup_schedule_get(schedules(call), name, &resource, &call->status);
    else if (strstr(name, "/databases/"))
        sp_database_get(admin(call), name, &resource, &call->status);
    else
        sp_instance_get(admin(call), name, &resource, &call->status);
    cJSON_Delete(resource);
    return call->status.code;
}
