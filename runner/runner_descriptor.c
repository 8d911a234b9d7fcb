/*
 * runner_descriptor: the Dataflow runner as the emulator knows it (see em_descriptor.h):
 * the Dataflow API (v1b3) on port base + 5, its service agent and its predefined roles.
 * Data only. Until runner/runner_main.c exists there is no bin/runner and the control
 * plane answers the port with UNIMPLEMENTED (control_unbuilt.c); Logging resource types
 * come with the service (until then an entry about a job is an audited_resource).
 * Roles: https://cloud.google.com/dataflow/docs/concepts/access-control
 */
#include "em_descriptor.h"

static const struct em_role runner_roles[] = {
    {"roles/dataflow.admin",
     EM_WORDS("dataflow.*", "compute.machineTypes.get", "resourcemanager.projects.get",
              "resourcemanager.projects.list", "storage.buckets.get", "storage.objects.create",
              "storage.objects.get", "storage.objects.list"),
     NULL},
    {"roles/dataflow.developer",
     EM_WORDS("dataflow.*", "resourcemanager.projects.get", "resourcemanager.projects.list"), NULL},
    {"roles/dataflow.viewer",
     EM_WORDS("dataflow.jobs.get", "dataflow.jobs.list", "dataflow.messages.list",
              "dataflow.metrics.get", "dataflow.snapshots.get", "dataflow.snapshots.list",
              "resourcemanager.projects.get", "resourcemanager.projects.list"),
     NULL},
    {"roles/dataflow.worker",
     EM_WORDS("dataflow.jobs.get", "dataflow.shuffle.*", "dataflow.streamingWorkItems.*",
              "dataflow.workItems.*", "resourcemanager.projects.get"),
     NULL},
    {NULL},
};

/* Dataflow's agent is not a gcp-sa-* domain: service-<number>@dataflow-service-producer-
 * prod.iam.gserviceaccount.com. */
const struct em_service_desc runner_descriptor = {
    .name = "runner",
    .product = "Dataflow",
    .port = 5,
    .google_service = "dataflow.googleapis.com",
    .api_title = "Dataflow API",
    .agent_domain = "dataflow-service-producer-prod",
    .roles = runner_roles,
};
