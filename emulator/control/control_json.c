/*
 * control_json: the control plane's request schemas (checked by em_dispatch before a
 * handler runs) and the JSON of Resource Manager projects
 * (https://cloud.google.com/resource-manager/reference/rest/v1/projects#Project).
 */
#include "control.h"

#include "control_projects.h"
#include "em_json.h"
#include "em_schema.h"

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

/* Methods whose request has no fields (reset, service stop/start, getAncestry). */
static const struct em_field no_fields[] = {{NULL}};
const struct em_message control_empty_request = {"google.protobuf.Empty", no_fields};

cJSON *control_project_json(const struct control_project *project)
{
    cJSON *json = cJSON_CreateObject();
    em_json_add_int64(json, "projectNumber", project->number);
    cJSON_AddStringToObject(json, "projectId", project->id);
    cJSON_AddStringToObject(json, "lifecycleState", "ACTIVE");
    cJSON_AddStringToObject(json, "name", project->id);
    em_json_add_time(json, "createTime", project->create_time_ns);
    return json;
}
