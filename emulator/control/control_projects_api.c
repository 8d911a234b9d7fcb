/*
 * control_projects_api: Resource Manager v1 projects on the control plane: get, list,
 * update (gcloud projects update, move), getAncestry, create (gcloud projects create: a
 * done Operation "operations/cp.<n>", which GET v1/operations/{id} answers again as
 * gcloud polls it), delete and undelete (which make every service reload its set of
 * deleted projects). The rules and the table are control_projects.c's.
 */
#include "control.h"

#include "control_folders.h"
#include "control_liens.h"
#include "control_projects.h"
#include "em_api_state.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_filter.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_log.h"
#include "em_names.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- Resource Manager v1 projects --- */

/* The project ID a call names: its first variable is "projects/<id>". */
static const char *call_project_id(struct em_call *call)
{
    const char *name = em_call_resource(call);
    return strncmp(name, "projects/", 9) == 0 ? name + 9 : name;
}

/* The project a call names (cleared by the caller with control_project_clear). */
static enum em_code call_project(struct em_call *call, struct control_project *project)
{
    return control_project_get(call->svc->store, call_project_id(call), project, &call->status);
}

/* Replies with the project and clears it. */
static enum em_code reply_project(struct em_call *call, struct control_project *project)
{
    cJSON *reply = control_project_json(project);
    control_project_clear(project);
    return em_call_reply(call, reply);
}

enum em_code control_get_project(struct em_call *call)
{
    struct control_project project;
    if (call_project(call, &project))
        return call->status.code;
    if (control_project_gone(&project, em_clock_now())) {
        control_project_clear(&project);
        return EM_CALL_FAIL(call, EM_PERMISSION_DENIED, "The caller does not have permission");
    }
    return reply_project(call, &project);
}

/* Google's refusal, naming the project as the caller did. */
static enum em_code deny(struct em_call *call, const char *named, const char *permission)
{
    return EM_CALL_FAIL(call, EM_PERMISSION_DENIED,
                        "Permission '%s' denied on resource 'projects/%.40s' (or it may not "
                        "exist).",
                        permission, named);
}

enum em_code control_project_authorize(struct em_call *call, const char *id_or_number,
                                       const char *permission, char id[32])
{
    struct em_store *store = call->svc->store;
    bool enforce = call->svc->config.iam_enforce;
    enum em_code code = control_project_resolve(store, id_or_number, id, &call->status);
    if (code == EM_NOT_FOUND && enforce && permission)
        return deny(call, id_or_number, permission); /* no oracle of which numbers exist */
    if (code || !permission)
        return code;
    char resource[48];
    snprintf(resource, sizeof(resource), "projects/%s", id);
    if (em_iam_check(store, &call->svc->config, call->principal, resource, permission,
                     &call->status))
        return strcmp(id, id_or_number) != 0 ? deny(call, id_or_number, permission)
                                             : call->status.code;
    return EM_OK;
}

/* The services reload their sets of deleted projects (em_api_state.h); one that does not
 * answer reloads at its next tick, within a second. */
static void tell_services(struct em_call *call)
{
    struct control *ctl = call->svc->ctx;
    struct em_status st = {0};
    if (control_services_call(ctl->supervisor, EM_API_STATE_RELOAD_PATH, NULL, &st))
        em_warn("control: the services reload deleted projects at their next tick: %s", st.message);
}

enum em_code control_project_shut_down(struct em_call *call, const char *id)
{
    /* the liens checked in the deletion's transaction: none comes between */
    if (control_project_delete(call->svc->store, id, em_clock_now(), control_liens_allow_delete,
                               &call->status))
        return call->status.code;
    tell_services(call);
    return EM_OK;
}

enum em_code control_project_bring_back(struct em_call *call, const char *id)
{
    if (control_project_undelete(call->svc->store, id, em_clock_now(), &call->status))
        return call->status.code;
    tell_services(call);
    return EM_OK;
}

enum em_code control_delete_project(struct em_call *call)
{
    char id[32];
    if (control_project_authorize(call, call_project_id(call), "resourcemanager.projects.delete",
                                  id) ||
        control_project_shut_down(call, id))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code control_undelete_project(struct em_call *call)
{
    char id[32];
    if (control_project_authorize(call, call_project_id(call), "resourcemanager.projects.undelete",
                                  id) ||
        control_project_bring_back(call, id))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* The caller may create projects in the parent update names (a well-formed one: others
 * are refused by control_project_update or control_project_create, naming the field). */
enum em_code control_may_create_project_in(struct em_call *call,
                                           const struct control_project_update *update)
{
    bool valid =
        update->parent_type && update->parent_id && em_numeric_id(update->parent_id) &&
        (!strcmp(update->parent_type, "folder") || !strcmp(update->parent_type, "organization"));
    if (!valid)
        return EM_OK;
    char parent[64];
    snprintf(parent, sizeof(parent), "%ss/%.40s", update->parent_type, update->parent_id);
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, parent,
                        "resourcemanager.projects.create", &call->status);
}

/* A project may move only where the caller may create projects, as in Google: else a
 * project's editor could take it out of the organization, its policies and its IAM. */
enum em_code control_check_project_move(struct em_call *call, const char *id,
                                        const struct control_project_update *update)
{
    if (!update->parent_type || !update->parent_id)
        return EM_OK;
    struct control_project current;
    if (control_project_get(call->svc->store, id, &current, &call->status))
        return call->status.code;
    bool moves = strcmp(current.parent_type, update->parent_type) != 0 ||
                 strcmp(current.parent_id, update->parent_id) != 0;
    control_project_clear(&current);
    return moves ? control_may_create_project_in(call, update) : EM_OK;
}

enum em_code control_update_project(struct em_call *call)
{
    const char *id = call_project_id(call);
    struct control_project_update update;
    if (control_project_update_read(call->body, id, &update, &call->status))
        return call->status.code;
    if (control_check_project_move(call, id, &update)) {
        free(update.labels_json);
        return call->status.code;
    }
    struct control_project project;
    enum em_code code = control_project_update(call->svc->store, id, &update, em_clock_now(),
                                               &project, &call->status);
    free(update.labels_json);
    if (code)
        return code;
    return reply_project(call, &project);
}

bool control_may_get_project(struct em_call *call, const char *id)
{
    char resource[48];
    struct em_status denied = {0};
    snprintf(resource, sizeof(resource), "projects/%s", id);
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource,
                        "resourcemanager.projects.get", &denied) == EM_OK;
}

enum em_code control_project_query(struct em_call *call, const char *param, struct em_filter **out)
{
    if (em_filter_parse(em_call_query(call, param), out, &call->status))
        return call->status.code;
    em_filter_ignore_case(*out);
    return EM_OK;
}

struct v1_listing {
    struct em_call *call;
    const struct em_filter *filter;
    cJSON *items;
};

/* v1's filter names the project's ID `id` as well as `projectId` */
static bool matches_v1_filter(const struct em_filter *filter, const cJSON *json)
{
    cJSON *aliases = cJSON_Duplicate(json, true);
    cJSON_AddStringToObject(aliases, "id", em_json_string(json, "projectId"));
    bool match = em_filter_match(filter, aliases);
    cJSON_Delete(aliases);
    return match;
}

/* What the caller may get and the filter selects; a project deleted more than 30 days
 * ago is gone: left out. */
static bool add_project_json(const struct control_project *project, void *arg)
{
    struct v1_listing *l = arg;
    if (control_project_gone(project, em_clock_now()) ||
        !control_may_get_project(l->call, project->id))
        return true;
    cJSON *json = control_project_json(project);
    if (l->filter && !matches_v1_filter(l->filter, json))
        cJSON_Delete(json);
    else
        cJSON_AddItemToArray(l->items, json);
    return true;
}

enum em_code control_list_projects(struct em_call *call)
{
    static const struct em_list_options options = {.items_field = "projects",
                                                   .default_page_size = 500,
                                                   .max_page_size = 1000,
                                                   .filtered = true};
    struct em_filter *filter = NULL;
    if (control_project_query(call, "filter", &filter))
        return call->status.code;
    struct v1_listing l = {.call = call, .filter = filter, .items = cJSON_CreateArray()};
    enum em_code code =
        control_projects_scan(call->svc->store, add_project_json, &l, &call->status);
    em_filter_free(filter);
    if (code) {
        cJSON_Delete(l.items);
        return code;
    }
    return em_list_reply(call, l.items, &options);
}

/* {"resourceId": {"type": type, "id": id}}, appended to ancestors. */
static void add_ancestor(cJSON *ancestors, const char *type, const char *id)
{
    cJSON *ancestor = cJSON_CreateObject();
    cJSON *resource_id = cJSON_AddObjectToObject(ancestor, "resourceId");
    cJSON_AddStringToObject(resource_id, "type", type);
    cJSON_AddStringToObject(resource_id, "id", id);
    cJSON_AddItemToArray(ancestors, ancestor);
}

/* The ancestors recorded above `at` ("folders/1"): a created folder's parent, and so on
 * up to an organization (bounded: the hierarchy is at most 10 folders deep). */
static void add_ancestors_above(struct em_store *store, char *at, cJSON *ancestors)
{
    for (int level = 0; level < 12; level++) {
        char parent[64];
        struct em_status ignored = {0};
        if (!em_iam_parent(store, at, parent, sizeof(parent), &ignored))
            return;
        const char *id = strchr(parent, '/');
        if (!id)
            return;
        bool folder = strncmp(parent, "folders/", 8) == 0;
        add_ancestor(ancestors, folder ? "folder" : "organization", id + 1);
        snprintf(at, 64, "%s", parent);
    }
}

/* The project, then its parent (a folder or an organization) when it has one, and the
 * folders and organization above it that Resource Manager created (a folder a project
 * only named has no known parent, and the list ends there). */
enum em_code control_get_project_ancestry(struct em_call *call)
{
    struct control_project project;
    if (call_project(call, &project))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON *ancestors = cJSON_AddArrayToObject(reply, "ancestor");
    add_ancestor(ancestors, "project", project.id);
    if (project.parent_type[0]) {
        add_ancestor(ancestors, project.parent_type, project.parent_id);
        char at[64];
        snprintf(at, sizeof(at), "%ss/%s", project.parent_type, project.parent_id);
        add_ancestors_above(call->svc->store, at, ancestors);
    }
    control_project_clear(&project);
    return em_call_reply(call, reply);
}

/* The resource of an IAM call on a project, folder or organization is well formed (a
 * project is remembered). */
enum em_code control_iam_resource_check(struct em_call *call)
{
    const char *resource = em_call_resource(call);
    const char *slash = strchr(resource, '/');
    if (strncmp(resource, "folders/", 8) == 0 || strncmp(resource, "organizations/", 14) == 0)
        return em_numeric_id(slash + 1)
                   ? EM_OK
                   : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                  "Invalid %.*s ID \"%.40s\": it is a decimal "
                                  "number.",
                                  (int)(slash - resource - 1), resource, slash + 1);
    struct control_project project;
    enum em_code code = call_project(call, &project);
    control_project_clear(&project);
    return code;
}

/* The done Operation of a project create, saved for GET v1/operations/{id}. */
static enum em_code reply_create_operation(struct em_call *call, struct control_project *project)
{
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "@type",
                            "type.googleapis.com/google.cloudresourcemanager.v1."
                            "ProjectCreationStatus");
    em_json_add_time(metadata, "createTime", project->create_time_ns);
    cJSON_AddTrueToObject(metadata, "gettable");
    cJSON_AddTrueToObject(metadata, "ready");
    cJSON *response = control_project_json(project);
    control_project_clear(project);
    cJSON_AddStringToObject(response, "@type",
                            "type.googleapis.com/google.cloudresourcemanager.v1.Project");
    return control_done_operation(call, "cp", metadata, response);
}

enum em_code control_create_project(struct em_call *call)
{
    const char *id = em_json_string(call->body, "projectId");
    if (!id || !*id)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid value at 'project_id': a project ID is required.");
    struct control_project_update create;
    if (control_project_update_read(call->body, id, &create, &call->status))
        return call->status.code;
    /* the audit entry is the new project's */
    snprintf(call->audit_resource, sizeof(call->audit_resource), "projects/%.60s", id);
    enum em_code code = control_may_create_project_in(call, &create);
    struct control_project project;
    if (!code)
        code = control_project_create(call->svc->store, id, &create, em_clock_now(), &project,
                                      &call->status);
    free(create.labels_json);
    if (code)
        return code;
    return reply_create_operation(call, &project);
}
