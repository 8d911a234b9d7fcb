/*
 * control_json: the control plane's request schemas (checked by em_dispatch before a
 * handler runs) and the JSON of Resource Manager projects
 * (https://cloud.google.com/resource-manager/reference/rest/v1/projects#Project).
 *
 * A Project's output-only fields (projectNumber, lifecycleState, createTime) are accepted
 * in an UpdateProject body and ignored, so what GetProject returns can be sent back as
 * gcloud does (it reads the project, changes it, and PUTs the whole of it); projectId,
 * when present, must be the project of the URL.
 */
#include "control.h"

#include "control_projects.h"
#include "em_json.h"
#include "em_names.h"
#include "em_schema.h"

#include <string.h>

/* POST /emulator/v1/clock:advance: {"seconds": N} or {"duration": "300s"}. */
static const struct em_field advance_fields[] = {
    {"seconds", EM_F_INT64},
    {"duration", EM_F_DURATION},
    {NULL},
};
const struct em_message control_advance_request = {"emulator.v1.AdvanceClockRequest",
                                                   advance_fields};

/* google.logging.v2.ListLogEntriesRequest */
static const struct em_field list_entries_fields[] = {
    {"resourceNames", EM_F_STRING, true},
    {"projectIds", EM_F_STRING, true},
    {"filter", EM_F_STRING},
    {"orderBy", EM_F_STRING},
    {"pageSize", EM_F_INT32},
    {"pageToken", EM_F_STRING},
    {NULL},
};
const struct em_message control_list_entries_request = {"google.logging.v2.ListLogEntriesRequest",
                                                        list_entries_fields};

/* cloudresourcemanager v1 Project (the body of UpdateProject, the reply of Get and Update) */
static const struct em_enum_value lifecycle_state_values[] = {
    {"LIFECYCLE_STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"DELETE_REQUESTED", 2},
    {"DELETE_IN_PROGRESS", 3},          {NULL},
};
static const struct em_enum lifecycle_state = {
    "google.cloudresourcemanager.v1.Project.LifecycleState", lifecycle_state_values};
static const struct em_field resource_id_fields[] = {
    {"type", EM_F_STRING},
    {"id", EM_F_STRING},
    {NULL},
};
static const struct em_message resource_id = {"google.cloudresourcemanager.v1.ResourceId",
                                              resource_id_fields};
static const struct em_field project_fields[] = {
    {"projectNumber", EM_F_INT64},
    {"projectId", EM_F_STRING},
    {"lifecycleState", EM_F_ENUM, false, NULL, &lifecycle_state},
    {"name", EM_F_STRING},
    {"createTime", EM_F_TIMESTAMP},
    {"labels", EM_F_MAP},
    {"parent", EM_F_MESSAGE, false, &resource_id},
    {NULL},
};
const struct em_message control_project_message = {"google.cloudresourcemanager.v1.Project",
                                                   project_fields};

cJSON *control_project_json(const struct control_project *project)
{
    cJSON *json = cJSON_CreateObject();
    em_json_add_int64(json, "projectNumber", project->number);
    cJSON_AddStringToObject(json, "projectId", project->id);
    cJSON_AddStringToObject(json, "lifecycleState",
                            project->delete_time_ns ? "DELETE_REQUESTED" : "ACTIVE");
    /* the display name; the project ID when none is set */
    cJSON_AddStringToObject(json, "name",
                            project->display_name[0] ? project->display_name : project->id);
    em_json_add_time(json, "createTime", project->create_time_ns);
    cJSON *labels = project->labels_json ? cJSON_Parse(project->labels_json) : NULL;
    if (cJSON_IsObject(labels) && cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(json, "labels", labels);
    else
        cJSON_Delete(labels);
    if (project->parent_type[0]) {
        cJSON *parent = cJSON_AddObjectToObject(json, "parent");
        cJSON_AddStringToObject(parent, "type", project->parent_type);
        cJSON_AddStringToObject(parent, "id", project->parent_id);
    }
    return json;
}

enum em_code control_project_update_read(const cJSON *body, const char *project_id,
                                         struct control_project_update *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    const char *body_id = em_json_string(body, "projectId");
    if (body_id && body_id[0] && strcmp(body_id, project_id) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'project_id': the body names project \"%.40s\" but the "
                       "URL names project \"%.40s\"; a project's ID cannot change.",
                       body_id, project_id);
    const char *name = em_json_string(body, "name");
    out->display_name = name && name[0] ? name : NULL; /* "" is proto3's unset */
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(body, "parent");
    if (parent) {
        const char *type = em_json_string(parent, "type");
        const char *id = em_json_string(parent, "id");
        out->parent_type = type ? type : "";
        out->parent_id = id ? id : "";
    }
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(body, "labels");
    if (cJSON_GetArraySize(labels) == 0) /* absent or {}: no labels */
        return EM_OK;
    return em_labels_read(body, &out->labels_json, st);
}
