/*
 * runner_json: request schemas of Dataflow v1b3 (see runner_json.h). Enum values are those
 * of google/dataflow/v1beta3/jobs.proto.
 */
#include "runner_json.h"

static const struct em_enum_value job_state_values[] = {{"JOB_STATE_UNKNOWN", 0},
                                                        {"JOB_STATE_STOPPED", 1},
                                                        {"JOB_STATE_RUNNING", 2},
                                                        {"JOB_STATE_DONE", 3},
                                                        {"JOB_STATE_FAILED", 4},
                                                        {"JOB_STATE_CANCELLED", 5},
                                                        {"JOB_STATE_UPDATED", 6},
                                                        {"JOB_STATE_DRAINING", 7},
                                                        {"JOB_STATE_DRAINED", 8},
                                                        {"JOB_STATE_PENDING", 9},
                                                        {"JOB_STATE_CANCELLING", 10},
                                                        {"JOB_STATE_QUEUED", 11},
                                                        {"JOB_STATE_RESOURCE_CLEANING_UP", 12},
                                                        {NULL}};
static const struct em_enum job_state_enum = {"google.dataflow.v1beta3.JobState", job_state_values};

static const struct em_enum_value job_type_values[] = {
    {"JOB_TYPE_UNKNOWN", 0}, {"JOB_TYPE_BATCH", 1}, {"JOB_TYPE_STREAMING", 2}, {NULL}};
static const struct em_enum job_type_enum = {"google.dataflow.v1beta3.JobType", job_type_values};

static const struct em_field create_from_template_fields[] = {
    {"jobName", EM_F_STRING},  {"gcsPath", EM_F_STRING},  {"parameters", EM_F_MAP},
    {"environment", EM_F_ANY}, {"location", EM_F_STRING}, {NULL}};
const struct em_message rn_create_from_template_schema = {
    "google.dataflow.v1beta3.CreateJobFromTemplateRequest", create_from_template_fields};

static const struct em_field launch_template_fields[] = {
    {"jobName", EM_F_STRING}, {"parameters", EM_F_MAP},           {"environment", EM_F_ANY},
    {"update", EM_F_BOOL},    {"transformNameMapping", EM_F_MAP}, {NULL}};
const struct em_message rn_launch_template_schema = {
    "google.dataflow.v1beta3.LaunchTemplateParameters", launch_template_fields};

static const struct em_field flex_parameter_fields[] = {
    {"jobName", EM_F_STRING}, {"containerSpecGcsPath", EM_F_STRING}, {"containerSpec", EM_F_ANY},
    {"parameters", EM_F_MAP}, {"launchOptions", EM_F_MAP},           {"environment", EM_F_ANY},
    {"update", EM_F_BOOL},    {"transformNameMappings", EM_F_MAP},   {NULL}};
static const struct em_message flex_parameter_schema = {
    "google.dataflow.v1beta3.LaunchFlexTemplateParameter", flex_parameter_fields};

static const struct em_field launch_flex_fields[] = {
    {"launchParameter", EM_F_MESSAGE, false, &flex_parameter_schema},
    {"validateOnly", EM_F_BOOL},
    {NULL}};
const struct em_message rn_launch_flex_schema = {
    "google.dataflow.v1beta3.LaunchFlexTemplateRequest", launch_flex_fields};

static const struct em_field job_fields[] = {
    {"id", EM_F_STRING},
    {"projectId", EM_F_STRING},
    {"name", EM_F_STRING},
    {"type", EM_F_ENUM, false, NULL, &job_type_enum},
    {"environment", EM_F_ANY},
    {"steps", EM_F_ANY, true},
    {"stepsLocation", EM_F_STRING},
    {"currentState", EM_F_ENUM, false, NULL, &job_state_enum},
    {"currentStateTime", EM_F_TIMESTAMP},
    {"requestedState", EM_F_ENUM, false, NULL, &job_state_enum},
    {"executionInfo", EM_F_ANY},
    {"createTime", EM_F_TIMESTAMP},
    {"replaceJobId", EM_F_STRING},
    {"transformNameMapping", EM_F_MAP},
    {"clientRequestId", EM_F_STRING},
    {"replacedByJobId", EM_F_STRING},
    {"tempFiles", EM_F_STRING, true},
    {"labels", EM_F_MAP},
    {"location", EM_F_STRING},
    {"pipelineDescription", EM_F_ANY},
    {"stageStates", EM_F_ANY, true},
    {"jobMetadata", EM_F_ANY},
    {"startTime", EM_F_TIMESTAMP},
    {"createdFromSnapshotId", EM_F_STRING},
    {"satisfiesPzs", EM_F_BOOL},
    {"satisfiesPzi", EM_F_BOOL},
    {"runtimeUpdatableParams", EM_F_ANY},
    {"serviceResources", EM_F_ANY},
    {NULL}};
const struct em_message rn_job_schema = {"google.dataflow.v1beta3.Job", job_fields};
