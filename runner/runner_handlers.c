/*
 * runner_handlers: thin glue between Dataflow v1b3 REST calls and runner_jobs. Each
 * handler reads the call (path variables, query, the schema-checked body), turns a
 * template or pipeline reference into pipeline text (runner_templates), calls the domain
 * and replies. Dataflow has no long-running operations: launches answer the Job at once.
 * Reference: https://cloud.google.com/dataflow/docs/reference/rest
 */
#include "runner_handlers.h"

#include "runner_jobs.h"
#include "runner_templates.h"

#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_LOCATION "us-central1" /* for the methods without a location in the path */

static struct rn_jobs *jobs_of(struct em_call *call)
{
    return call->svc->ctx;
}

/* "projects/p" -> "p" */
static const char *project_id(struct em_call *call)
{
    const char *project = em_call_var(call, "project");
    return project ? project + strlen("projects/") : "";
}

/* The job's region: the path's, else the `location` query parameter of the methods without
 * one in the path (projects.jobs.*, as Google reads it), else us-central1. */
static const char *location_of(struct em_call *call)
{
    const char *location = em_call_var(call, "location");
    if (!location)
        location = em_call_query(call, "location");
    return location && *location ? location : DEFAULT_LOCATION;
}

/* INVALID_ARGUMENT when location_of(call) is no region (a query's value reaches a name). */
static enum em_code check_region(struct em_call *call)
{
    const struct em_location *loc = em_location_find(location_of(call));
    if (!loc || loc->kind != EM_LOC_REGION)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The location '%.64s' is not a Dataflow region (such as us-central1).",
                            location_of(call));
    return EM_OK;
}

/* The job's resource name from the path; INVALID_ARGUMENT for an id that cannot be one. */
static enum em_code job_name(struct em_call *call, char *out, size_t len)
{
    const char *id = em_call_var(call, "job");
    size_t n = id ? strlen(id) : 0;
    bool ok = n > 0 && n < 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_';
    if (!ok)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "The job id '%s' is not valid.",
                            id ? id : "");
    if (check_region(call))
        return call->status.code;
    snprintf(out, len, "projects/%s/locations/%s/jobs/%s", project_id(call), location_of(call), id);
    return EM_OK;
}

static enum em_code reply_or_fail(struct em_call *call, cJSON *reply)
{
    if (call->status.code) {
        cJSON_Delete(reply);
        return call->status.code;
    }
    return em_call_reply(call, reply ? reply : cJSON_CreateObject());
}

/* --- query parameters that bind enums (by name or proto number, in Google's words) --- */

/* google.dataflow.v1beta3.JobView: the `view` of GetJob, ListJobs and CreateJob. */
static const struct em_enum_value job_view_values[] = {{"JOB_VIEW_UNKNOWN", 0},
                                                       {"JOB_VIEW_SUMMARY", 1},
                                                       {"JOB_VIEW_ALL", 2},
                                                       {"JOB_VIEW_DESCRIPTION", 3},
                                                       {NULL}};
static const struct em_enum job_view_enum = {"google.dataflow.v1beta3.JobView", job_view_values};

/* google.dataflow.v1beta3.ListJobsRequest.Filter: ListJobs' `filter`. */
static const struct em_enum_value filter_values[] = {
    {"UNKNOWN", 0}, {"ALL", 1}, {"TERMINATED", 2}, {"ACTIVE", 3}, {NULL}};
static const struct em_enum filter_enum = {"google.dataflow.v1beta3.ListJobsRequest.Filter",
                                           filter_values};

/* google.dataflow.v1beta3.JobMessageImportance: ListJobMessages' `minimumImportance`.
 * Declared, as in messages.proto, from the least important up, so a value's index is the
 * rank the store keeps (1 DEBUG .. 5 ERROR); the numbers are the proto's (BASIC, added
 * last, is 5). */
static const struct em_enum_value importance_values[] = {{"JOB_MESSAGE_IMPORTANCE_UNKNOWN", 0},
                                                         {"JOB_MESSAGE_DEBUG", 1},
                                                         {"JOB_MESSAGE_DETAILED", 2},
                                                         {"JOB_MESSAGE_BASIC", 5},
                                                         {"JOB_MESSAGE_WARNING", 3},
                                                         {"JOB_MESSAGE_ERROR", 4},
                                                         {NULL}};
static const struct em_enum importance_enum = {"google.dataflow.v1beta3.JobMessageImportance",
                                               importance_values};

/* `view`: ALL and DESCRIPTION include the steps; UNKNOWN (or none) is SUMMARY. */
static enum em_code view_of(struct em_call *call, enum rn_view *out)
{
    int number;
    if (em_schema_query_enum("view", em_call_query(call, "view"), &job_view_enum, &number,
                             &call->status))
        return call->status.code;
    *out = number >= 2 ? RN_VIEW_ALL : RN_VIEW_SUMMARY;
    return EM_OK;
}

/* `filter`: UNKNOWN (or none) is ALL. */
static enum em_code filter_of(struct em_call *call, enum rn_filter *out)
{
    int number;
    if (em_schema_query_enum("filter", em_call_query(call, "filter"), &filter_enum, &number,
                             &call->status))
        return call->status.code;
    *out = number == 3 ? RN_FILTER_ACTIVE : number == 2 ? RN_FILTER_TERMINATED : RN_FILTER_ALL;
    return EM_OK;
}

/* `minimumImportance` as the store's rank; UNKNOWN (or none) is the lowest, DEBUG. */
static enum em_code importance_of(struct em_call *call, int *out)
{
    int number;
    if (em_schema_query_enum("minimumImportance", em_call_query(call, "minimumImportance"),
                             &importance_enum, &number, &call->status))
        return call->status.code;
    int rank = (int)(em_enum_by_number(&importance_enum, number) - importance_values);
    *out = rank > 0 ? rank : 1;
    return EM_OK;
}

/* The fields the runner refuses rather than drop, all in Google's UNIMPLEMENTED: what the
 * real service would do with them (replace a running job, restore a snapshot, change a
 * running job's autoscaling, launch a dynamic template) has no counterpart here. */
static enum em_code unimplemented(struct em_call *call, const char *what, const char *instead)
{
    return EM_CALL_FAIL(call, EM_UNIMPLEMENTED, "%s is not implemented by this emulator%s%s.", what,
                        instead ? "; " : "", instead ? instead : "");
}

static bool nonempty_object(const cJSON *body, const char *key)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(body, key);
    return cJSON_IsObject(value) && value->child;
}

static bool nonempty_string(const cJSON *body, const char *key)
{
    const char *value = em_json_string(body, key);
    return value && *value;
}

#define NEW_JOB_INSTEAD    "launch a new job, or cancel or drain the running one"
#define UPDATE_JOB_INSTEAD "UpdateJob changes only requested_state (cancel, drain)"

/* A launch's update of a running job (LaunchTemplateParameters.update and
 * transform_name_mapping; LaunchFlexTemplateParameter.update and transform_name_mappings):
 * refused, not answered by a second job running beside the first. prefix names the
 * message holding them ("" or "launch_parameter."). */
static enum em_code refuse_job_update(struct em_call *call, const cJSON *params, const char *prefix,
                                      const char *mapping_json, const char *mapping_proto)
{
    bool update = false;
    char what[128];
    if (em_json_bool(params, "update", &update) && update) {
        snprintf(what, sizeof(what), "Updating a running job (%supdate)", prefix);
        return unimplemented(call, what, NEW_JOB_INSTEAD);
    }
    if (nonempty_object(params, mapping_json)) {
        snprintf(what, sizeof(what), "Updating a running job (%s%s)", prefix, mapping_proto);
        return unimplemented(call, what, NEW_JOB_INSTEAD);
    }
    return EM_OK;
}

/* {"job": job} as LaunchTemplateResponse and LaunchFlexTemplateResponse answer. */
static cJSON *wrap_job(cJSON *job)
{
    cJSON *reply = cJSON_CreateObject();
    if (job)
        cJSON_AddItemToObject(reply, "job", job);
    return reply;
}

/* Expands a template path and launches it. body is the message holding the launch's
 * fields (a Job also has labels and clientRequestId, which the template requests lack). */
static enum em_code launch(struct em_call *call, const char *gcs_path, const char *field,
                           const cJSON *body, const char *job_name, bool validate_only, cJSON **job)
{
    char *text;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(body, "parameters");
    const cJSON *params_used;
    *job = NULL;
    if (rn_template_pipeline(call->svc->config.data_dir, gcs_path, field, params, &text,
                             &params_used, &call->status))
        return call->status.code;
    struct rn_launch l = {
        .project = project_id(call),
        .location = location_of(call),
        .job_name = job_name,
        .pipeline_text = text,
        .parameters = params_used,
        .environment = cJSON_GetObjectItemCaseSensitive(body, "environment"),
        .labels = cJSON_GetObjectItemCaseSensitive(body, "labels"),
        .client_request_id = em_json_string(body, "clientRequestId"),
        .validate_only = validate_only,
    };
    rn_jobs_launch(jobs_of(call), &l, job, &call->status);
    free(text);
    if (*job)
        snprintf(call->audit_resource, sizeof(call->audit_resource),
                 "projects/%s/locations/%s/jobs/%s", l.project, l.location,
                 em_json_string(*job, "id"));
    return call->status.code;
}

/* POST .../templates: what `gcloud dataflow jobs run` calls. */
enum em_code rn_create_job_from_template(struct em_call *call)
{
    cJSON *job;
    const char *location = em_json_string(call->body, "location");
    if (location && *location && strcmp(location, location_of(call)) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The request's location '%s' differs from the path's '%s'.", location,
                            location_of(call));
    launch(call, em_json_string(call->body, "gcsPath"), "gcsPath", call->body,
           em_json_string(call->body, "jobName"), false, &job);
    return reply_or_fail(call, job);
}

/* LaunchTemplateRequest's oneof template: gcs_path (a classic template, which the runner
 * expands) or dynamic_template (its gcsPath and stagingLocation), which it does not have.
 * Both at once is Google's oneof error. */
static enum em_code check_template_oneof(struct em_call *call)
{
    bool dynamic = em_call_query(call, "dynamicTemplate.gcsPath") ||
                   em_call_query(call, "dynamicTemplate.stagingLocation");
    if (!dynamic)
        return EM_OK;
    if (em_call_query(call, "gcsPath"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid JSON payload received. Oneof field 'template' is already "
                            "set. Cannot set 'dynamicTemplate'");
    return unimplemented(call, "Launching a dynamic template (dynamic_template)",
                         "launch a classic template with gcsPath instead");
}

/* POST .../templates:launch?gcsPath=...&validateOnly=... */
enum em_code rn_launch_template(struct em_call *call)
{
    bool validate_only = false;
    cJSON *job;
    if (check_template_oneof(call) || em_call_query_bool(call, "validateOnly", &validate_only) ||
        refuse_job_update(call, call->body, "", "transformNameMapping", "transform_name_mapping"))
        return call->status.code;
    launch(call, em_call_query(call, "gcsPath"), "gcsPath", call->body,
           em_json_string(call->body, "jobName"), validate_only, &job);
    return reply_or_fail(call, call->status.code ? job : wrap_job(job));
}

/* POST .../flexTemplates:launch: what `gcloud dataflow flex-template run` calls. */
enum em_code rn_launch_flex_template(struct em_call *call)
{
    bool validate_only = false;
    cJSON *job;
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(call->body, "launchParameter");
    em_json_bool(call->body, "validateOnly", &validate_only);
    if (!param)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "launch_parameter is required.");
    if (cJSON_HasObjectItem(param, "containerSpec"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "launch_parameter.container_spec: inline container specs are not "
                            "supported; give container_spec_gcs_path.");
    if (refuse_job_update(call, param, "launch_parameter.", "transformNameMappings",
                          "transform_name_mappings"))
        return call->status.code;
    launch(call, em_json_string(param, "containerSpecGcsPath"),
           "launch_parameter.container_spec_gcs_path", param, em_json_string(param, "jobName"),
           validate_only, &job);
    return reply_or_fail(call, call->status.code ? job : wrap_job(job));
}

/* CreateJob's fields the runner cannot honour: replacing a running job (replace_job_id,
 * also the deprecated query argument, with its transform_name_mapping) and starting from
 * a snapshot (the runner takes none). */
static enum em_code refuse_create_fields(struct em_call *call)
{
    const char *replace = em_call_query(call, "replaceJobId");
    if (nonempty_string(call->body, "replaceJobId") || (replace && *replace))
        return unimplemented(call, "Updating a running job (job.replace_job_id)", NEW_JOB_INSTEAD);
    if (nonempty_object(call->body, "transformNameMapping"))
        return unimplemented(call, "Updating a running job (job.transform_name_mapping)",
                             NEW_JOB_INSTEAD);
    if (nonempty_string(call->body, "createdFromSnapshotId"))
        return unimplemented(call, "Creating a job from a snapshot (job.created_from_snapshot_id)",
                             "this emulator takes no snapshots");
    return EM_OK;
}

/* POST .../jobs (the Beam SDK's jobs.create): the runner executes JSON pipelines, so the
 * Job names one in environment.sdkPipelineOptions: "pipeline" (a pipeline object) or
 * "options": {"pipelineLocation": "gs://..."}. A clientRequestId makes the create
 * idempotent (runner_jobs.h). */
enum em_code rn_create_job(struct em_call *call)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(call->body, "environment");
    const cJSON *sdk = cJSON_GetObjectItemCaseSensitive(env, "sdkPipelineOptions");
    const cJSON *inline_pipeline = cJSON_GetObjectItemCaseSensitive(sdk, "pipeline");
    const char *location =
        em_json_string(cJSON_GetObjectItemCaseSensitive(sdk, "options"), "pipelineLocation");
    enum rn_view view; /* checked; the job is answered as launched */
    cJSON *job = NULL;
    if (view_of(call, &view) || refuse_create_fields(call))
        return call->status.code;
    if (cJSON_IsObject(inline_pipeline)) {
        char *text = cJSON_PrintUnformatted(inline_pipeline);
        struct rn_launch l = {.project = project_id(call),
                              .location = location_of(call),
                              .job_name = em_json_string(call->body, "name"),
                              .pipeline_text = text ? text : "",
                              .environment = env,
                              .labels = cJSON_GetObjectItemCaseSensitive(call->body, "labels"),
                              .client_request_id = em_json_string(call->body, "clientRequestId")};
        rn_jobs_launch(jobs_of(call), &l, &job, &call->status);
        free(text);
        return reply_or_fail(call, job);
    }
    if (!location)
        return EM_CALL_FAIL(
            call, EM_INVALID_ARGUMENT,
            "job.environment.sdk_pipeline_options must carry the JSON pipeline to "
            "run: \"pipeline\" or \"options\": {\"pipelineLocation\": \"gs://...\"} "
            "(this emulator runs JSON pipelines, not Beam job graphs).");
    launch(call, location, "job.environment.sdk_pipeline_options.options.pipelineLocation",
           call->body, em_json_string(call->body, "name"), false, &job);
    return reply_or_fail(call, job);
}

enum em_code rn_get_job(struct em_call *call)
{
    char name[512];
    enum rn_view view = RN_VIEW_SUMMARY;
    cJSON *job = NULL;
    if (job_name(call, name, sizeof(name)) || view_of(call, &view))
        return call->status.code;
    rn_jobs_get(jobs_of(call), name, view, &job, &call->status);
    return reply_or_fail(call, job);
}

/* ListJobs in location (NULL: aggregated), filtered by state and, when `name` is given, by
 * the jobs' name. The jobs are summaries whatever the (deprecated) `view`, as Google's are;
 * the view is checked all the same. */
static enum em_code list(struct em_call *call, const char *location)
{
    struct rn_job_query q = {.location = location, .name = em_call_query(call, "name")};
    enum rn_view view;
    int64_t page_size;
    cJSON *reply = NULL;
    if (view_of(call, &view) || filter_of(call, &q.filter) ||
        em_call_query_int(call, "pageSize", 0, 0, 1000000, &page_size))
        return call->status.code;
    q.page_size = (int)page_size;
    rn_jobs_list(jobs_of(call), project_id(call), &q, em_call_query(call, "pageToken"), &reply,
                 &call->status);
    return reply_or_fail(call, reply);
}

enum em_code rn_list_jobs(struct em_call *call)
{
    if (check_region(call))
        return call->status.code;
    return list(call, location_of(call));
}

/* Google's jobs:aggregated does not filter by name: a name is refused, not ignored. */
enum em_code rn_aggregated_jobs(struct em_call *call)
{
    const char *name = em_call_query(call, "name");
    if (name && *name)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Filtering by name is not supported by projects.jobs.aggregated; use "
                            "projects.locations.jobs.list.");
    return list(call, NULL);
}

/* UpdateJob's update_mask: only requested_state, the one field the runner changes. */
static enum em_code update_mask_path(const char *path, void *arg, struct em_status *st)
{
    (void)arg;
    if (em_mask_path_is(path, "requestedState"))
        return EM_OK;
    return EM_FAIL(
        st, EM_UNIMPLEMENTED,
        "Updating %.100s (update_mask) is not implemented by this emulator; " UPDATE_JOB_INSTEAD
        ".",
        path);
}

/* PUT .../jobs/{job}: cancel and drain (requestedState). What `gcloud dataflow jobs
 * update-options` sends (runtime_updatable_params: the autoscaling bounds and utilization
 * hint of a running job) is refused: a job runs on one machine here. */
enum em_code rn_update_job(struct em_call *call)
{
    char name[512];
    cJSON *job = NULL;
    if (job_name(call, name, sizeof(name)))
        return call->status.code;
    const char *mask = em_call_query(call, "updateMask");
    if (mask && em_mask_each(mask, update_mask_path, NULL, NULL, &call->status))
        return call->status.code;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(call->body, "runtimeUpdatableParams");
    if (params && !cJSON_IsNull(params) && !(cJSON_IsObject(params) && !params->child))
        return unimplemented(call, "Updating a job's runtime_updatable_params", UPDATE_JOB_INSTEAD);
    rn_jobs_update(jobs_of(call), name, em_json_string(call->body, "requestedState"), &job,
                   &call->status);
    return reply_or_fail(call, job);
}

enum em_code rn_list_job_messages(struct em_call *call)
{
    char name[512];
    struct rn_message_query q = {0};
    int64_t page_size;
    cJSON *reply = NULL;
    if (job_name(call, name, sizeof(name)) || importance_of(call, &q.min_importance) ||
        em_call_query_time(call, "startTime", INT64_MIN, &q.start_ns) || /* inclusive */
        em_call_query_time(call, "endTime", INT64_MAX, &q.end_ns) ||     /* exclusive */
        em_call_query_int(call, "pageSize", 0, 0, 1000000, &page_size))
        return call->status.code;
    q.page_size = (int)page_size;
    rn_jobs_messages(jobs_of(call), name, q, em_call_query(call, "pageToken"), &reply,
                     &call->status);
    return reply_or_fail(call, reply);
}

/* GET .../metrics?startTime=: the metrics changed since then (all without it). */
enum em_code rn_get_job_metrics(struct em_call *call)
{
    char name[512];
    int64_t start_ns;
    cJSON *reply = NULL;
    if (job_name(call, name, sizeof(name)) ||
        em_call_query_time(call, "startTime", INT64_MIN, &start_ns))
        return call->status.code;
    rn_jobs_metrics(jobs_of(call), name, start_ns, &reply, &call->status);
    return reply_or_fail(call, reply);
}
