/*
 * control_projects_v3: Resource Manager v3 projects, the API of Google's Node.js
 * ProjectsClient (@google-cloud/resource-manager): get, list (by parent), search, create,
 * update (displayName, labels), move, delete and undelete, each change a done Operation
 * that GET v3/operations/{id} answers again. The projects are v1's (control_projects.c):
 * answered as `projects/<number>`, named in a request by number or ID. Permissions are
 * checked here, once the project's ID is known.
 */
#include "control.h"

#include "control_projects.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_filter.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V3_TYPE "type.googleapis.com/google.cloud.resourcemanager.v3."

/* google.cloud.resourcemanager.v3.Project: the output-only fields are accepted and ignored,
 * so what GetProject answers can be sent back. */
static const struct em_enum_value project_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"DELETE_REQUESTED", 2}, {NULL}};
static const struct em_enum project_states = {"google.cloud.resourcemanager.v3.Project.State",
                                              project_state_values};
static const struct em_field project_v3_fields[] = {
    {"name", EM_F_STRING},
    {"parent", EM_F_STRING},
    {"projectId", EM_F_STRING},
    {"state", EM_F_ENUM, false, NULL, &project_states},
    {"displayName", EM_F_STRING},
    {"createTime", EM_F_TIMESTAMP},
    {"updateTime", EM_F_TIMESTAMP},
    {"deleteTime", EM_F_TIMESTAMP},
    {"etag", EM_F_STRING},
    {"labels", EM_F_MAP},
    {"configuredCapabilities", EM_F_STRING, true},
    {NULL},
};
const struct em_message control_project_v3_message = {"google.cloud.resourcemanager.v3.Project",
                                                      project_v3_fields};
static const struct em_field move_fields[] = {{"destinationParent", EM_F_STRING}, {NULL}};
const struct em_message control_move_project_request = {
    "google.cloud.resourcemanager.v3.MoveProjectRequest", move_fields};

/* --- JSON --- */

static cJSON *project_v3_json(const struct control_project *p)
{
    cJSON *json = cJSON_CreateObject();
    char text[64];
    snprintf(text, sizeof(text), "projects/%lld", (long long)p->number);
    cJSON_AddStringToObject(json, "name", text);
    if (p->parent_type[0]) {
        snprintf(text, sizeof(text), "%ss/%s", p->parent_type, p->parent_id);
        cJSON_AddStringToObject(json, "parent", text);
    }
    cJSON_AddStringToObject(json, "projectId", p->id);
    cJSON_AddStringToObject(json, "state", p->delete_time_ns ? "DELETE_REQUESTED" : "ACTIVE");
    cJSON_AddStringToObject(json, "displayName", p->display_name[0] ? p->display_name : p->id);
    em_json_add_time(json, "createTime", p->create_time_ns);
    if (p->delete_time_ns)
        em_json_add_time(json, "deleteTime", p->delete_time_ns);
    cJSON *labels = p->labels_json ? cJSON_Parse(p->labels_json) : NULL;
    if (cJSON_IsObject(labels) && cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(json, "labels", labels);
    else
        cJSON_Delete(labels);
    return json;
}

/* A done Operation "operations/<kind>.<n>" with metadata of type metadata_type and the
 * project as its response, saved for GET v3/operations/{id}. */
static enum em_code reply_done(struct em_call *call, const char *kind, const char *metadata_type,
                               struct control_project *project)
{
    char type[128];
    snprintf(type, sizeof(type), V3_TYPE "%s", metadata_type);
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "@type", type);
    cJSON *response = project_v3_json(project);
    control_project_clear(project);
    cJSON_AddStringToObject(response, "@type", V3_TYPE "Project");
    return control_done_operation(call, kind, metadata, response);
}

/* --- names and permissions --- */

/* The project the call's name ("projects/<number or ID>") names, on which the caller holds
 * permission; a project deleted more than 30 days ago is not found. */
static enum em_code named_project(struct em_call *call, const char *permission,
                                  struct control_project *out)
{
    const char *name = em_call_var(call, "name");
    char id[32];
    memset(out, 0, sizeof(*out));
    if (control_project_authorize(call, name + strlen("projects/"), permission, id) ||
        control_project_get(call->svc->store, id, out, &call->status))
        return call->status.code;
    if (control_project_gone(out, em_clock_now())) {
        control_project_clear(out);
        return EM_CALL_FAIL(call, EM_PERMISSION_DENIED, "The caller does not have permission");
    }
    return EM_OK;
}

/* A parent, "folders/<n>" or "organizations/<n>", into update's parent fields (type is
 * "folder" or "organization"); INVALID_ARGUMENT naming field otherwise. */
static enum em_code read_parent(const char *parent, const char *field, char type[16],
                                const char **id, struct em_status *st)
{
    const char *slash = parent ? strchr(parent, '/') : NULL;
    bool folder = parent && strncmp(parent, "folders/", 8) == 0;
    bool organization = parent && strncmp(parent, "organizations/", 14) == 0;
    if (!slash || !(folder || organization) || !em_numeric_id(slash + 1))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at '%s': \"%.60s\" is not \"folders/<id>\" or "
                       "\"organizations/<id>\".",
                       field, parent ? parent : "");
    snprintf(type, 16, "%s", folder ? "folder" : "organization");
    *id = slash + 1;
    return EM_OK;
}

/* --- reading --- */

enum em_code control_v3_get_project(struct em_call *call)
{
    struct control_project project;
    if (named_project(call, "resourcemanager.projects.get", &project))
        return call->status.code;
    cJSON *reply = project_v3_json(&project);
    control_project_clear(&project);
    return em_call_reply(call, reply);
}

struct listing {
    const char *parent_type, *parent_id; /* list: the parent; search: NULL */
    bool show_deleted;
    const struct em_filter *query; /* search */
    struct em_call *call;
    cJSON *items;
};

/* Search's fields: the Project's, and Google's query names for them (id, name,
 * lifecycleState, parent.type, parent.id). parent becomes {"type", "id", "<the name>": true}:
 * `parent.type:folder` and `parent.id:123` read its members, and `parent:folders/123`, the
 * filter language's "has" on an object, finds its name as a key. Names and values compare
 * in any case (control_project_query). */
static bool matches_query(const struct listing *l, const struct control_project *p,
                          const cJSON *json)
{
    cJSON *aliases = cJSON_Duplicate(json, true);
    cJSON_AddStringToObject(aliases, "id", p->id);
    cJSON_ReplaceItemInObject(aliases, "name",
                              cJSON_CreateString(em_json_string(json, "displayName")));
    cJSON_AddStringToObject(aliases, "lifecycleState", em_json_string(json, "state"));
    if (p->parent_type[0]) {
        cJSON *parent = cJSON_CreateObject();
        cJSON_AddStringToObject(parent, "type", p->parent_type);
        cJSON_AddStringToObject(parent, "id", p->parent_id);
        cJSON_AddTrueToObject(parent, em_json_string(json, "parent"));
        cJSON_ReplaceItemInObject(aliases, "parent", parent);
    }
    bool match = em_filter_match(l->query, aliases);
    cJSON_Delete(aliases);
    return match;
}

static bool add_listed(const struct control_project *p, void *arg)
{
    struct listing *l = arg;
    if (control_project_gone(p, em_clock_now()) || (p->delete_time_ns && !l->show_deleted))
        return true;
    if (l->parent_type &&
        (strcmp(p->parent_type, l->parent_type) != 0 || strcmp(p->parent_id, l->parent_id) != 0))
        return true;
    if (!l->parent_type && !control_may_get_project(l->call, p->id)) /* search */
        return true;
    cJSON *json = project_v3_json(p);
    if (l->query && !matches_query(l, p, json))
        cJSON_Delete(json);
    else
        cJSON_AddItemToArray(l->items, json);
    return true;
}

static enum em_code reply_listed(struct em_call *call, struct listing *l)
{
    static const struct em_list_options options = {
        .items_field = "projects", .default_page_size = 500, .max_page_size = 1000};
    l->call = call;
    l->items = cJSON_CreateArray();
    if (control_projects_scan(call->svc->store, add_listed, l, &call->status)) {
        cJSON_Delete(l->items);
        return call->status.code;
    }
    return em_list_reply(call, l->items, &options);
}

enum em_code control_v3_list_projects(struct em_call *call)
{
    const char *parent = em_call_query(call, "parent");
    char type[16];
    struct listing l = {.parent_type = type};
    if (read_parent(parent, "parent", type, &l.parent_id, &call->status) ||
        em_iam_check(call->svc->store, &call->svc->config, call->principal, parent,
                     "resourcemanager.projects.list", &call->status))
        return call->status.code;
    const char *show_deleted = em_call_query(call, "showDeleted");
    l.show_deleted = show_deleted && strcmp(show_deleted, "true") == 0;
    return reply_listed(call, &l);
}

enum em_code control_v3_search_projects(struct em_call *call)
{
    struct em_filter *query = NULL;
    if (control_project_query(call, "query", &query))
        return call->status.code;
    struct listing l = {.show_deleted = true, .query = query};
    enum em_code code = reply_listed(call, &l);
    em_filter_free(query);
    return code;
}

/* --- changes --- */

enum em_code control_v3_create_project(struct em_call *call)
{
    const char *id = em_json_string(call->body, "projectId");
    if (!id || !*id)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at 'project.project_id': a project ID is required.");
    const char *parent = em_json_string(call->body, "parent");
    const char *display = em_json_string(call->body, "displayName");
    char type[16];
    struct control_project_update create = {.display_name = display && *display ? display : NULL};
    if (parent && *parent) {
        if (read_parent(parent, "project.parent", type, &create.parent_id, &call->status))
            return call->status.code;
        create.parent_type = type;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(call->body, "labels")) > 0 &&
        em_labels_read(call->body, &create.labels_json, &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "projects/%.60s", id);
    struct control_project project;
    enum em_code code = control_may_create_project_in(call, &create);
    if (!code)
        code = control_project_create(call->svc->store, id, &create, em_clock_now(), &project,
                                      &call->status);
    free(create.labels_json);
    if (code)
        return code;
    return reply_done(call, "cp", "CreateProjectMetadata", &project);
}

/* Saves update (every field: a v1 update replaces them all) on the project and answers
 * the done Operation of kind. */
static enum em_code save(struct em_call *call, const char *id,
                         const struct control_project_update *update, const char *kind,
                         const char *metadata_type)
{
    struct control_project project;
    if (control_project_update(call->svc->store, id, update, em_clock_now(), &project,
                               &call->status))
        return call->status.code;
    return reply_done(call, kind, metadata_type, &project);
}

/* The project's fields as an update that changes nothing (labels_json the caller's). */
static enum em_code unchanged(const struct control_project *p, struct control_project_update *out,
                              struct em_status *st)
{
    *out = (struct control_project_update){
        .display_name = p->display_name[0] ? p->display_name : NULL,
        .parent_type = p->parent_type[0] ? p->parent_type : NULL,
        .parent_id = p->parent_type[0] ? p->parent_id : NULL,
    };
    if (p->labels_json && !(out->labels_json = strdup(p->labels_json)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

struct v3_mask {
    bool display_name, labels;
};

static enum em_code read_mask_path(const char *path, void *arg, struct em_status *st)
{
    struct v3_mask *m = arg;
    if (em_mask_path_is(path, "displayName"))
        m->display_name = true;
    else if (em_mask_path_is(path, "labels"))
        m->labels = true;
    else
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path \"%.100s\": a project's display_name and "
                       "labels can be updated.",
                       path);
    return EM_OK;
}

/* The body's displayName and labels, as the mask says (no mask: both). */
static enum em_code apply_update(struct em_call *call, struct control_project_update *u)
{
    struct v3_mask mask = {0};
    size_t paths = 0;
    if (em_mask_each(em_call_query(call, "updateMask"), read_mask_path, &mask, &paths,
                     &call->status))
        return call->status.code;
    if (paths == 0)
        mask = (struct v3_mask){true, true};
    if (mask.display_name) {
        const char *display = em_json_string(call->body, "displayName");
        u->display_name = display && *display ? display : NULL;
    }
    if (mask.labels) {
        free(u->labels_json);
        u->labels_json = NULL;
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(call->body, "labels")) > 0)
            return em_labels_read(call->body, &u->labels_json, &call->status);
    }
    return EM_OK;
}

enum em_code control_v3_update_project(struct em_call *call)
{
    struct control_project project;
    struct control_project_update update;
    if (named_project(call, "resourcemanager.projects.update", &project))
        return call->status.code;
    enum em_code code = unchanged(&project, &update, &call->status);
    if (!code)
        code = apply_update(call, &update);
    if (!code)
        code = save(call, project.id, &update, "up", "UpdateProjectMetadata");
    free(update.labels_json);
    control_project_clear(&project);
    return code;
}

enum em_code control_v3_move_project(struct em_call *call)
{
    struct control_project project;
    struct control_project_update update;
    char type[16];
    if (named_project(call, "resourcemanager.projects.move", &project))
        return call->status.code;
    enum em_code code = unchanged(&project, &update, &call->status);
    if (!code)
        code = read_parent(em_json_string(call->body, "destinationParent"), "destination_parent",
                           type, &update.parent_id, &call->status);
    if (!code) {
        update.parent_type = type;
        code = control_check_project_move(call, project.id, &update);
    }
    if (!code)
        code = save(call, project.id, &update, "mv", "MoveProjectMetadata");
    free(update.labels_json);
    control_project_clear(&project);
    return code;
}

/* Delete and undelete: the project named, the change, the project as it now is. */
typedef enum em_code (*lifecycle_change)(struct em_call *call, const char *id);

static enum em_code change_lifecycle(struct em_call *call, const char *permission,
                                     lifecycle_change change, const char *kind,
                                     const char *metadata_type)
{
    const char *name = em_call_var(call, "name");
    char id[32];
    struct control_project project;
    if (control_project_authorize(call, name + strlen("projects/"), permission, id) ||
        change(call, id) || control_project_get(call->svc->store, id, &project, &call->status))
        return call->status.code;
    return reply_done(call, kind, metadata_type, &project);
}

enum em_code control_v3_delete_project(struct em_call *call)
{
    return change_lifecycle(call, "resourcemanager.projects.delete", control_project_shut_down,
                            "dp", "DeleteProjectMetadata");
}

enum em_code control_v3_undelete_project(struct em_call *call)
{
    return change_lifecycle(call, "resourcemanager.projects.undelete", control_project_bring_back,
                            "udp", "UndeleteProjectMetadata");
}

/* --- IAM: em_iam's handlers on "projects/<id>", where a project's bindings are, whether
 * the call names it by number or by ID --- */

static enum em_code on_project_id(struct em_call *call, const char *permission,
                                  enum em_code (*handler)(struct em_call *call))
{
    char id[32];
    if (control_project_authorize(call, em_call_resource(call) + strlen("projects/"), permission,
                                  id))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "projects/%s", id);
    call->match.vars[0].value = call->audit_resource;
    return handler(call);
}

enum em_code control_v3_get_iam_policy(struct em_call *call)
{
    return on_project_id(call, "resourcemanager.projects.getIamPolicy", em_iam_handle_get);
}

enum em_code control_v3_set_iam_policy(struct em_call *call)
{
    return on_project_id(call, "resourcemanager.projects.setIamPolicy", em_iam_handle_set);
}

enum em_code control_v3_test_iam_permissions(struct em_call *call)
{
    return on_project_id(call, NULL, em_iam_handle_test);
}
