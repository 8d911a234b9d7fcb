/*
 * runner_routes: the Dataflow v1b3 route table, the only place a request's path is tied
 * to a handler. Paths and methods are those of the real API (gcloud's generated client
 * dataflow_v1b3_client.py). Permissions are Dataflow's, checked on the project. The
 * methods without a location in the path act in us-central1, as Google's do. A route
 * without a handler answers UNIMPLEMENTED naming the method: snapshots, debug, work items
 * and SQL are not provided by this emulator.
 */
#include "runner_routes.h"

#include "runner_handlers.h"
#include "runner_json.h"

#define PROJ     "{project=projects/*}"
#define LOC      PROJ "/locations/{location}"
#define JOB      LOC "/jobs/{job}"
#define PROJ_JOB PROJ "/jobs/{job}" /* the job methods without a location */
#define DATA     EM_AUDIT_DATA_ACCESS
#define ADMIN    EM_AUDIT_ADMIN
#define P(perm)  "dataflow." perm

const struct em_route runner_routes[] = {
    /* templates */
    {"POST", "v1b3/" LOC "/templates", rn_create_job_from_template, "CreateJobFromTemplate",
     &rn_create_from_template_schema, NULL, P("jobs.create"), ADMIN},
    {"POST", "v1b3/" LOC "/templates:launch", rn_launch_template, "LaunchTemplate",
     &rn_launch_template_schema, "launch_parameters", P("jobs.create"), ADMIN,
     .query = "dynamicTemplate.gcsPath dynamicTemplate.stagingLocation gcsPath validateOnly"},
    {"POST", "v1b3/" LOC "/flexTemplates:launch", rn_launch_flex_template, "LaunchFlexTemplate",
     &rn_launch_flex_schema, NULL, P("jobs.create"), ADMIN},
    {"POST", "v1b3/" PROJ "/templates", rn_create_job_from_template, "CreateJobFromTemplate",
     &rn_create_from_template_schema, NULL, P("jobs.create"), ADMIN},
    {"POST", "v1b3/" PROJ "/templates:launch", rn_launch_template, "LaunchTemplate",
     &rn_launch_template_schema, "launch_parameters", P("jobs.create"), ADMIN,
     .query =
         "dynamicTemplate.gcsPath dynamicTemplate.stagingLocation gcsPath location validateOnly"},
    {"GET", "v1b3/" LOC "/templates:get", NULL, "GetTemplate"},

    /* jobs */
    {"POST", "v1b3/" LOC "/jobs", rn_create_job, "CreateJob", &rn_job_schema, "job",
     P("jobs.create"), ADMIN, .query = "replaceJobId view"},
    {"GET", "v1b3/" LOC "/jobs", rn_list_jobs, "ListJobs", NULL, NULL, P("jobs.list"), DATA,
     .query = "filter name pageSize pageToken view"},
    {"GET", "v1b3/" JOB, rn_get_job, "GetJob", NULL, NULL, P("jobs.get"), DATA, .query = "view"},
    {"PUT", "v1b3/" JOB, rn_update_job, "UpdateJob", &rn_job_schema, "job", P("jobs.update"), ADMIN,
     .query = "updateMask"},
    {"GET", "v1b3/" JOB "/messages", rn_list_job_messages, "ListJobMessages", NULL, NULL,
     P("messages.list"), DATA, .query = "endTime minimumImportance pageSize pageToken startTime"},
    {"GET", "v1b3/" JOB "/metrics", rn_get_job_metrics, "GetJobMetrics", NULL, NULL,
     P("metrics.get"), DATA, .query = "startTime"},
    {"GET", "v1b3/" PROJ "/jobs:aggregated", rn_aggregated_jobs, "AggregatedListJobs", NULL, NULL,
     P("jobs.list"), DATA, .query = "filter location name pageSize pageToken view"},
    {"POST", "v1b3/" PROJ "/jobs", rn_create_job, "CreateJob", &rn_job_schema, "job",
     P("jobs.create"), ADMIN, .query = "location replaceJobId view"},
    {"GET", "v1b3/" PROJ "/jobs", rn_list_jobs, "ListJobs", NULL, NULL, P("jobs.list"), DATA,
     .query = "filter location name pageSize pageToken view"},
    {"GET", "v1b3/" PROJ "/jobs/{job}", rn_get_job, "GetJob", NULL, NULL, P("jobs.get"), DATA,
     .query = "location view"},
    {"PUT", "v1b3/" PROJ "/jobs/{job}", rn_update_job, "UpdateJob", &rn_job_schema, "job",
     P("jobs.update"), ADMIN, .query = "location updateMask"},
    {"GET", "v1b3/" PROJ "/jobs/{job}/messages", rn_list_job_messages, "ListJobMessages", NULL,
     NULL, P("messages.list"), DATA,
     .query = "endTime location minimumImportance pageSize pageToken startTime"},
    {"GET", "v1b3/" PROJ "/jobs/{job}/metrics", rn_get_job_metrics, "GetJobMetrics", NULL, NULL,
     P("metrics.get"), DATA, .query = "location startTime"},

    /* not provided: answered UNIMPLEMENTED */
    {"POST", "v1b3/" JOB ":snapshot", NULL, "SnapshotJob"},
    {"GET", "v1b3/" JOB "/executionDetails", NULL, "GetJobExecutionDetails"},
    {"GET", "v1b3/" LOC "/snapshots", NULL, "ListSnapshots"},
    {"GET", "v1b3/" LOC "/snapshots/{snapshot}", NULL, "GetSnapshot"},
    {"DELETE", "v1b3/" LOC "/snapshots/{snapshot}", NULL, "DeleteSnapshot"},
    {"POST", "v1b3/" JOB "/workItems:lease", NULL, "LeaseWorkItem"},
    {"POST", "v1b3/" JOB "/workItems:reportStatus", NULL, "ReportWorkItemStatus"},
    {"POST", "v1b3/" JOB "/debug/getConfig", NULL, "GetDebugConfig"},
    {"POST", "v1b3/" JOB "/debug/sendCapture", NULL, "SendDebugCapture"},
    /* the rest of the API (gcloud's generated client): answered UNIMPLEMENTED naming the
     * method, not NOT_FOUND as an unknown URL is (em_router.h) */
    {"GET", "v1b3/" PROJ "/templates:get", NULL, "GetTemplate"},
    {"GET", "v1b3/" PROJ "/snapshots", NULL, "ListSnapshots"},
    {"GET", "v1b3/" PROJ "/snapshots/{snapshot}", NULL, "GetSnapshot"},
    {"DELETE", "v1b3/" PROJ "/snapshots", NULL, "DeleteSnapshots"},
    {"GET", "v1b3/" JOB "/snapshots", NULL, "ListSnapshots"},
    {"GET", "v1b3/" JOB "/stages/{stage}/executionDetails", NULL, "GetStageExecutionDetails"},
    {"POST", "v1b3/" PROJ_JOB ":snapshot", NULL, "SnapshotJob"},
    {"POST", "v1b3/" PROJ_JOB "/debug/getConfig", NULL, "GetConfig"},
    {"POST", "v1b3/" PROJ_JOB "/debug/getWorkerStacktraces", NULL, "GetWorkerStacktraces"},
    {"POST", "v1b3/" PROJ_JOB "/debug/sendCapture", NULL, "SendCapture"},
    {"POST", "v1b3/" PROJ_JOB "/workItems:lease", NULL, "LeaseWorkItem"},
    {"POST", "v1b3/" PROJ_JOB "/workItems:reportStatus", NULL, "ReportWorkItemStatus"},
    {"POST", "v1b3/" PROJ "/WorkerMessages", NULL, "SendWorkerMessage"},
    {"POST", "v1b3/" LOC "/WorkerMessages", NULL, "SendWorkerMessage"},
    EM_UNBUILT_COLLECTION("v1b3", "projects/*/locations/*", "deployments", "Deployment",
                          "Deployments"),
    {"GET", "v1b3/{name=projects/*/locations/*/deployments/*}:listRevisions", NULL,
     "ListDeploymentRevisions"},
    {"POST", "v1b3/{name=projects/*/locations/*/deployments/*}:rollback", NULL,
     "RollbackDeployment"},
    {"GET", "v1b3/{parent=projects/*}/templateVersions", NULL, "ListTemplateVersions"},
    {"POST", "v1b3/{parent=projects/*/catalogTemplates/*}/templateVersions", NULL,
     "CreateTemplateVersion"},
    {"GET", "v1b3/{name=projects/*/catalogTemplates/*}", NULL, "GetCatalogTemplate"},
    {"DELETE", "v1b3/{name=projects/*/catalogTemplates/*}", NULL, "DeleteCatalogTemplate"},
    {"POST", "v1b3/{name=projects/*/catalogTemplates/*}:commit", NULL, "CommitTemplateVersion"},
    {"POST", "v1b3/{name=projects/*/catalogTemplates/*}:label", NULL, "ModifyTemplateVersionLabel"},
    {"POST", "v1b3/{name=projects/*/catalogTemplates/*}:tag", NULL, "ModifyTemplateVersionTag"},
    {NULL},
};
