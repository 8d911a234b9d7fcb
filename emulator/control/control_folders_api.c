/*
 * control_folders_api: Resource Manager v2 folders over REST (`gcloud resource-manager
 * folders create | describe | list | update | move | delete | undelete`), and the v1
 * operations gcloud polls after a create or a move. The rules and the tables are
 * control_folders.c's.
 *
 * A create or a move is done when its request returns: the answer is an Operation with
 * done true, its metadata a FolderOperation and its response the Folder, kept for GET
 * v1/operations/{id}. Permissions are checked here, as Google names them:
 * resourcemanager.folders.create and .list on the parent, .get, .update, .delete and
 * .undelete on the folder, .move on the folder and .create on the destination.
 */
#include "control.h"

#include "control_folders.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- schemas --- */

static const struct em_enum_value lifecycle_values[] = {
    {"LIFECYCLE_STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"DELETE_REQUESTED", 2}, {NULL}};
static const struct em_enum lifecycle = {"google.cloud.resourcemanager.v2.Folder.LifecycleState",
                                         lifecycle_values};
static const struct em_field folder_fields[] = {
    {"name", EM_F_STRING},
    {"parent", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"lifecycleState", EM_F_ENUM, false, NULL, &lifecycle},
    {"createTime", EM_F_TIMESTAMP},
    {"tags", EM_F_MAP},
    {NULL},
};
const struct em_message control_folder_message = {"google.cloud.resourcemanager.v2.Folder",
                                                  folder_fields};
static const struct em_field move_fields[] = {{"destinationParent", EM_F_STRING}, {NULL}};
const struct em_message control_folder_move_request = {
    "google.cloud.resourcemanager.v2.MoveFolderRequest", move_fields};

/* --- JSON --- */

static cJSON *folder_json(const struct control_folder *f)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", f->name);
    cJSON_AddStringToObject(json, "parent", f->parent);
    cJSON_AddStringToObject(json, "displayName", f->display_name);
    cJSON_AddStringToObject(json, "lifecycleState", f->deleted ? "DELETE_REQUESTED" : "ACTIVE");
    em_json_add_time(json, "createTime", f->create_ns);
    return json;
}

/* The done Operation of a create or move, saved for GET v1/operations/{id}. */
static enum em_code reply_operation(struct em_call *call, const struct control_folder *f,
                                    const char *type, const char *source_parent)
{
    cJSON *op = cJSON_CreateObject();
    char name[96];
    snprintf(name, sizeof(name), "operations/fc.%s.%llx", f->name + 8,
             (unsigned long long)f->update_ns);
    cJSON_AddStringToObject(op, "name", name);
    cJSON *metadata = cJSON_AddObjectToObject(op, "metadata");
    cJSON_AddStringToObject(metadata, "@type",
                            "type.googleapis.com/google.cloud.resourcemanager.v2.FolderOperation");
    cJSON_AddStringToObject(metadata, "displayName", f->display_name);
    cJSON_AddStringToObject(metadata, "operationType", type);
    if (source_parent)
        cJSON_AddStringToObject(metadata, "sourceParent", source_parent);
    cJSON_AddStringToObject(metadata, "destinationParent", f->parent);
    cJSON_AddTrueToObject(op, "done");
    cJSON *response = folder_json(f);
    cJSON_AddStringToObject(response, "@type",
                            "type.googleapis.com/google.cloud.resourcemanager.v2.Folder");
    cJSON_AddItemToObject(op, "response", response);
    return control_operation_reply(call, op);
}

static enum em_code reply_folder(struct em_call *call, const struct control_folder *f)
{
    return em_call_reply(call, folder_json(f));
}

/* --- permissions --- */

static enum em_code require(struct em_call *call, const char *resource, const char *permission)
{
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

enum em_code control_folder_named(struct em_call *call, const char *permission,
                                  struct control_folder *out)
{
    const char *name = em_call_var(call, "name");
    if (require(call, name, permission) ||
        control_folder_get(call->svc->store, name, out, &call->status))
        return call->status.code;
    return EM_OK;
}

/* --- handlers --- */

enum em_code control_create_folder(struct em_call *call)
{
    const char *parent = em_call_query(call, "parent");
    const char *display_name = em_json_string(call->body, "displayName");
    if (!parent || !*parent)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "parent is required: organizations/{id} or folders/{id}.");
    if (!display_name)
        display_name = "";
    if (!control_folder_parent_valid(parent))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid parent \"%.60s\": organizations/{id} or folders/{id}.",
                            parent);
    struct control_folder f;
    if (require(call, parent, "resourcemanager.folders.create") ||
        control_folder_create(call->svc->store, parent, display_name, em_clock_now(), &f,
                              &call->status))
        return call->status.code;
    return reply_operation(call, &f, "CREATE", NULL);
}

enum em_code control_get_folder(struct em_call *call)
{
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.get", &f))
        return call->status.code;
    return reply_folder(call, &f);
}

struct list_ctx {
    cJSON *items;
};

static bool add_folder(const struct control_folder *f, void *arg)
{
    cJSON_AddItemToArray(((struct list_ctx *)arg)->items, folder_json(f));
    return true;
}

enum em_code control_list_folders(struct em_call *call)
{
    static const struct em_list_options options = {
        .items_field = "folders", .default_page_size = 500, .max_page_size = 500};
    const char *parent = em_call_query(call, "parent");
    bool show_deleted = false;
    if (!parent || !control_folder_parent_valid(parent))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "parent is required: organizations/{id} or folders/{id}.");
    if (em_call_query_bool(call, "showDeleted", &show_deleted) ||
        require(call, parent, "resourcemanager.folders.list"))
        return call->status.code;
    struct list_ctx ctx = {cJSON_CreateArray()};
    if (control_folders_list(call->svc->store, parent, show_deleted, add_folder, &ctx,
                             &call->status)) {
        cJSON_Delete(ctx.items);
        return call->status.code;
    }
    return em_list_reply(call, ctx.items, &options);
}

enum em_code control_update_folder(struct em_call *call)
{
    const char *mask = em_call_query(call, "updateMask");
    if (!mask || (strcmp(mask, "display_name") != 0 && strcmp(mask, "displayName") != 0))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "update_mask must be display_name: it is the only field of a folder "
                            "an update changes.");
    const char *display_name = em_json_string(call->body, "displayName");
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.update", &f) ||
        control_folder_rename(call->svc->store, f.name, display_name ? display_name : "",
                              em_clock_now(), &f, &call->status))
        return call->status.code;
    return reply_folder(call, &f);
}

enum em_code control_move_folder(struct em_call *call)
{
    const char *destination = em_json_string(call->body, "destinationParent");
    if (!destination || !control_folder_parent_valid(destination))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "destination_parent is required: organizations/{id} or folders/{id}.");
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.move", &f) ||
        require(call, destination, "resourcemanager.folders.create"))
        return call->status.code;
    char source[sizeof(f.parent)];
    snprintf(source, sizeof(source), "%s", f.parent);
    if (control_folder_move(call->svc->store, f.name, destination, em_clock_now(), &f,
                            &call->status))
        return call->status.code;
    return reply_operation(call, &f, "MOVE", source);
}

enum em_code control_delete_folder(struct em_call *call)
{
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.delete", &f) ||
        control_folder_set_deleted(call->svc->store, f.name, true, em_clock_now(), &f,
                                   &call->status))
        return call->status.code;
    return reply_folder(call, &f);
}

enum em_code control_undelete_folder(struct em_call *call)
{
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.undelete", &f) ||
        control_folder_set_deleted(call->svc->store, f.name, false, em_clock_now(), &f,
                                   &call->status))
        return call->status.code;
    return reply_folder(call, &f);
}

enum em_code control_operation_reply(struct em_call *call, cJSON *op)
{
    char *text = cJSON_PrintUnformatted(op);
    enum em_code code = text ? control_operation_save(call->svc->store, em_json_string(op, "name"),
                                                      text, &call->status)
                             : EM_FAIL_OOM(&call->status);
    free(text);
    if (code) {
        cJSON_Delete(op);
        return code;
    }
    return em_call_reply(call, op);
}

enum em_code control_done_operation(struct em_call *call, const char *kind, cJSON *metadata,
                                    cJSON *response)
{
    uint64_t serial = 0;
    if (em_random_bytes(&serial, sizeof(serial), &call->status)) {
        cJSON_Delete(metadata);
        cJSON_Delete(response);
        return call->status.code;
    }
    char name[64];
    snprintf(name, sizeof(name), "operations/%s.%llu", kind,
             (unsigned long long)(serial & 0x7fffffffffffffffULL));
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "name", name);
    cJSON_AddItemToObject(op, "metadata", metadata);
    cJSON_AddTrueToObject(op, "done");
    cJSON_AddItemToObject(op, "response", response);
    return control_operation_reply(call, op);
}

enum em_code control_get_operation(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    char *json;
    if (control_operation_get(call->svc->store, name, &json, &call->status))
        return call->status.code;
    cJSON *op = json ? cJSON_Parse(json) : NULL;
    free(json);
    if (!op)
        return EM_CALL_FAIL(call, EM_NOT_FOUND, "Operation %.100s not found.", name);
    return em_call_reply(call, op);
}
