/*
 * control_folders_v3: Resource Manager v3 folders, the API of Google's Node.js
 * FoldersClient (@google-cloud/resource-manager) and `gcloud alpha resource-manager folders
 * search` (https://cloud.google.com/resource-manager/reference/rest/v3/folders): get,
 * list (by parent), search, create, update (the display name), move, delete and
 * undelete, each change a done Operation that GET v3/operations/{id} answers again. The
 * folders are v2's (control_folders.c): one table, one set of rules (display names,
 * depth, fanout, only an empty folder deleted), the parent recorded for IAM; their IAM
 * policies are v2's too (em_iam on "folders/<id>", routes in control_routes.c).
 *
 * Permissions are v2's, checked here: resourcemanager.folders.create and .list on the
 * parent, .get, .update, .delete and .undelete on the folder, .move on the folder and
 * .create on the destination; a search shows only the folders the caller may get.
 *
 * What v3 shows that v2 does not: `state` (v2's lifecycleState), updateTime, deleteTime
 * (the time of the last change of a DELETE_REQUESTED folder, which is its deletion:
 * nothing else changes a deleted folder) and an etag, a checksum of what the folder shows
 * (answered, not checked). As Google documents for v3, deleting a DELETE_REQUESTED folder
 * and undeleting an ACTIVE one succeed and change nothing (v2 refuses both).
 */
#include "control.h"

#include "control_folders.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_crypto.h"
#include "em_filter.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_mask.h"
#include "em_schema.h"
#include "em_service.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define V3_TYPE "type.googleapis.com/google.cloud.resourcemanager.v3."

/* --- schemas: google.cloud.resourcemanager.v3.Folder (the output-only fields accepted and
 * ignored, so what GetFolder answers can be sent back) --- */

static const struct em_enum_value folder_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"DELETE_REQUESTED", 2}, {NULL}};
static const struct em_enum folder_states = {"google.cloud.resourcemanager.v3.Folder.State",
                                             folder_state_values};
static const struct em_field folder_v3_fields[] = {
    {"name", EM_F_STRING},
    {"parent", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"state", EM_F_ENUM, false, NULL, &folder_states},
    {"createTime", EM_F_TIMESTAMP},
    {"updateTime", EM_F_TIMESTAMP},
    {"deleteTime", EM_F_TIMESTAMP},
    {"etag", EM_F_STRING},
    {"tags", EM_F_MAP},
    {"configuredCapabilities", EM_F_STRING, true},
    {"managementProject", EM_F_STRING},
    {NULL},
};
const struct em_message control_folder_v3_message = {"google.cloud.resourcemanager.v3.Folder",
                                                     folder_v3_fields};
/* ListFoldersResponse and SearchFoldersResponse alike */
static const struct em_field page_fields[] = {
    {"folders", EM_F_MESSAGE, true, &control_folder_v3_message},
    {"nextPageToken", EM_F_STRING},
    {NULL},
};
const struct em_message control_folders_v3_page = {
    "google.cloud.resourcemanager.v3.ListFoldersResponse", page_fields};
static const struct em_field move_fields[] = {{"destinationParent", EM_F_STRING}, {NULL}};
const struct em_message control_move_folder_v3_request = {
    "google.cloud.resourcemanager.v3.MoveFolderRequest", move_fields};

/* --- JSON --- */

cJSON *control_folder_v3_json(const struct control_folder *f)
{
    char text[160];
    snprintf(text, sizeof(text), "%s\n%s\n%s\n%d\n%" PRId64, f->name, f->parent, f->display_name,
             f->deleted, f->update_ns);
    char etag[16];
    snprintf(etag, sizeof(etag), "%08" PRIx32, em_crc32c(text, strlen(text)));
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", f->name);
    cJSON_AddStringToObject(json, "parent", f->parent);
    cJSON_AddStringToObject(json, "displayName", f->display_name);
    cJSON_AddStringToObject(json, "state", f->deleted ? "DELETE_REQUESTED" : "ACTIVE");
    em_json_add_time(json, "createTime", f->create_ns);
    em_json_add_time(json, "updateTime", f->update_ns);
    if (f->deleted)
        em_json_add_time(json, "deleteTime", f->update_ns);
    cJSON_AddStringToObject(json, "etag", etag);
    return json;
}

/* A done Operation "operations/<kind>.<n>" with metadata (taken: the fields of
 * metadata_type) and the folder as its response, saved for GET v3/operations/{id}. */
static enum em_code reply_done(struct em_call *call, const char *kind, const char *metadata_type,
                               cJSON *metadata, const struct control_folder *f)
{
    char type[128];
    snprintf(type, sizeof(type), V3_TYPE "%s", metadata_type);
    cJSON *typed = cJSON_CreateObject(); /* "@type" first, then the metadata's fields */
    cJSON_AddStringToObject(typed, "@type", type);
    cJSON *field;
    while ((field = metadata ? metadata->child : NULL) != NULL)
        cJSON_AddItemToObject(typed, field->string, cJSON_DetachItemViaPointer(metadata, field));
    cJSON_Delete(metadata);
    cJSON *response = control_folder_v3_json(f);
    cJSON_AddStringToObject(response, "@type", V3_TYPE "Folder");
    return control_done_operation(call, kind, typed, response);
}

/* --- SearchFolders' query --- */

/* The field or operator a query may not use, for the error. */
struct query_check {
    char path[64], op[16];
};

static bool searchable(const char *path, const char *op, const char *value, void *arg)
{
    (void)value;
    static const char *const fields[] = {"displayName", "state", "lifecycleState", "parent"};
    static const char *const ops[] = {"=", ":", "!="};
    struct query_check *check = arg;
    bool field = false, known_op = false;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        field = field || strcasecmp(path, fields[i]) == 0;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        known_op = known_op || strcmp(op, ops[i]) == 0;
    if (field && known_op)
        return true;
    snprintf(check->path, sizeof(check->path), "%s", path);
    snprintf(check->op, sizeof(check->op), "%s", known_op ? "" : op);
    return false;
}

enum em_code control_folder_query_parse(const char *text, struct em_filter **out,
                                        struct em_status *st)
{
    if (em_filter_parse(text, out, st))
        return st->code;
    em_filter_ignore_case(*out);
    struct query_check check = {{0}};
    if (em_filter_visit(*out, searchable, &check))
        return EM_OK;
    em_filter_free(*out);
    *out = NULL;
    if (check.op[0])
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid query: a folder search compares with = (or :) and NOT, AND, OR; "
                       "\"%s\" is not one of them.",
                       check.op);
    if (!check.path[0])
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid query: every term of a folder search names its field "
                       "(displayName, state or parent), as in displayName=\"Test String\".");
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid query: unknown field \"%s\": a folder search reads displayName, "
                   "state (or lifecycleState) and parent.",
                   check.path);
}

bool control_folder_query_match(const struct em_filter *query, const struct control_folder *f)
{
    const char *state = f->deleted ? "DELETE_REQUESTED" : "ACTIVE";
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "displayName", f->display_name);
    cJSON_AddStringToObject(fields, "state", state);
    cJSON_AddStringToObject(fields, "lifecycleState", state);
    cJSON_AddStringToObject(fields, "parent", f->parent);
    bool match = em_filter_match(query, fields);
    cJSON_Delete(fields);
    return match;
}

/* --- reading --- */

enum em_code control_v3_get_folder(struct em_call *call)
{
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.get", &f))
        return call->status.code;
    return em_call_reply(call, control_folder_v3_json(&f));
}

/* A page of items (taken) under "folders"; page tokens are bound to `request`, the text
 * of what selected the items (a token of another parent or query is refused). */
static enum em_code reply_page(struct em_call *call, cJSON *items, const char *request)
{
    static const struct em_list_options options = {.items_field = "folders",
                                                   .default_page_size = 500,
                                                   .max_page_size = 1000,
                                                   .filtered = true};
    int64_t page_size;
    if (em_call_query_int(call, "pageSize", 0, 0, 1000000, &page_size)) {
        cJSON_Delete(items);
        return call->status.code;
    }
    cJSON *reply = NULL;
    if (em_list_page(items, request, NULL, (int)page_size, em_call_query(call, "pageToken"),
                     &options, &reply, &call->status))
        return call->status.code;
    return em_call_reply(call, reply);
}

struct listing {
    struct em_call *call;
    const struct em_filter *query; /* search: what it selects (the caller's folders) */
    cJSON *items;
};

static bool add_listed(const struct control_folder *f, void *arg)
{
    struct listing *l = arg;
    if (l->query) {
        struct em_status denied = {0};
        if (em_iam_check(l->call->svc->store, &l->call->svc->config, l->call->principal, f->name,
                         "resourcemanager.folders.get", &denied) ||
            !control_folder_query_match(l->query, f))
            return true;
    }
    cJSON_AddItemToArray(l->items, control_folder_v3_json(f));
    return true;
}

enum em_code control_v3_list_folders(struct em_call *call)
{
    const char *parent = em_call_query(call, "parent");
    bool show_deleted = false;
    if (!parent || !*parent)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at 'parent': ListFolders needs the parent whose "
                            "folders it lists, organizations/{id} or folders/{id}.");
    if (!control_folder_parent_valid(parent))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at 'parent': \"%.60s\" is not organizations/{id} or "
                            "folders/{id}.",
                            parent);
    if (em_call_query_bool(call, "showDeleted", &show_deleted) ||
        em_iam_check(call->svc->store, &call->svc->config, call->principal, parent,
                     "resourcemanager.folders.list", &call->status))
        return call->status.code;
    struct listing l = {.call = call, .items = cJSON_CreateArray()};
    if (control_folders_list(call->svc->store, parent, show_deleted, add_listed, &l,
                             &call->status)) {
        cJSON_Delete(l.items);
        return call->status.code;
    }
    char request[96];
    snprintf(request, sizeof(request), "%s showDeleted=%d", parent, show_deleted);
    return reply_page(call, l.items, request);
}

enum em_code control_v3_search_folders(struct em_call *call)
{
    const char *text = em_call_query(call, "query");
    struct em_filter *query = NULL;
    if (control_folder_query_parse(text, &query, &call->status))
        return call->status.code;
    struct listing l = {.call = call, .query = query, .items = cJSON_CreateArray()};
    enum em_code code = control_folders_scan(call->svc->store, add_listed, &l, &call->status);
    em_filter_free(query);
    if (code) {
        cJSON_Delete(l.items);
        return code;
    }
    return reply_page(call, l.items, text);
}

/* --- changes --- */

static enum em_code require(struct em_call *call, const char *resource, const char *permission)
{
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

/* A parent a request names in field: organizations/{id} or folders/{id}. */
static enum em_code check_parent(struct em_call *call, const char *parent, const char *field)
{
    if (!parent || !*parent)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at '%s': it is required, organizations/{id} or "
                            "folders/{id}.",
                            field);
    if (!control_folder_parent_valid(parent))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at '%s': \"%.60s\" is not organizations/{id} or "
                            "folders/{id}.",
                            field, parent);
    return EM_OK;
}

enum em_code control_v3_create_folder(struct em_call *call)
{
    const char *parent = em_json_string(call->body, "parent");
    const char *display_name = em_json_string(call->body, "displayName");
    struct control_folder f;
    if (check_parent(call, parent, "folder.parent") ||
        require(call, parent, "resourcemanager.folders.create") ||
        control_folder_create(call->svc->store, parent, display_name ? display_name : "",
                              em_clock_now(), &f, &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", f.name);
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "displayName", f.display_name);
    cJSON_AddStringToObject(metadata, "parent", f.parent);
    return reply_done(call, "fc", "CreateFolderMetadata", metadata, &f);
}

static enum em_code read_mask_path(const char *path, void *arg, struct em_status *st)
{
    (void)arg;
    if (!em_mask_path_is(path, "displayName"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path \"%.100s\": display_name is the only field of "
                       "a folder an update changes.",
                       path);
    return EM_OK;
}

enum em_code control_v3_update_folder(struct em_call *call)
{
    size_t paths = 0;
    if (em_mask_each(em_call_query(call, "updateMask"), read_mask_path, NULL, &paths,
                     &call->status))
        return call->status.code;
    if (paths == 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at 'update_mask': it is required, and display_name "
                            "is the only field of a folder an update changes.");
    const char *display_name = em_json_string(call->body, "displayName");
    struct control_folder f;
    if (control_folder_named(call, "resourcemanager.folders.update", &f) ||
        control_folder_rename(call->svc->store, f.name, display_name ? display_name : "",
                              em_clock_now(), &f, &call->status))
        return call->status.code;
    return reply_done(call, "fu", "UpdateFolderMetadata", NULL, &f);
}

enum em_code control_v3_move_folder(struct em_call *call)
{
    const char *destination = em_json_string(call->body, "destinationParent");
    struct control_folder f;
    if (check_parent(call, destination, "destination_parent") ||
        control_folder_named(call, "resourcemanager.folders.move", &f) ||
        require(call, destination, "resourcemanager.folders.create"))
        return call->status.code;
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "sourceParent", f.parent);
    if (control_folder_move(call->svc->store, f.name, destination, em_clock_now(), &f,
                            &call->status)) {
        cJSON_Delete(metadata);
        return call->status.code;
    }
    cJSON_AddStringToObject(metadata, "displayName", f.display_name);
    cJSON_AddStringToObject(metadata, "destinationParent", f.parent);
    return reply_done(call, "fm", "MoveFolderMetadata", metadata, &f);
}

/* Delete (deleted true) or undelete: a folder already in that state is answered as it is. */
static enum em_code change_lifecycle(struct em_call *call, const char *permission, bool deleted,
                                     const char *kind, const char *metadata_type)
{
    struct control_folder f;
    if (control_folder_named(call, permission, &f))
        return call->status.code;
    if (f.deleted != deleted && control_folder_set_deleted(call->svc->store, f.name, deleted,
                                                           em_clock_now(), &f, &call->status))
        return call->status.code;
    return reply_done(call, kind, metadata_type, NULL, &f);
}

enum em_code control_v3_delete_folder(struct em_call *call)
{
    return change_lifecycle(call, "resourcemanager.folders.delete", true, "fd",
                            "DeleteFolderMetadata");
}

enum em_code control_v3_undelete_folder(struct em_call *call)
{
    return change_lifecycle(call, "resourcemanager.folders.undelete", false, "fud",
                            "UndeleteFolderMetadata");
}
