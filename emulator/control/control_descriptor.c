/*
 * control_descriptor: the control plane as a service (see em_descriptor.h): bin/emulator
 * on port base + 0, answering Resource Manager, Organization Policy and Logging, with their
 * predefined roles.
 * The basic roles (owner, editor, viewer) span every service and live in em_iam.c.
 */
#include "em_descriptor.h"

static const struct em_role control_roles[] = {
    {"roles/resourcemanager.projectIamAdmin",
     EM_WORDS("resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
     NULL},
    {"roles/orgpolicy.policyAdmin",
     EM_WORDS("orgpolicy.policy.get", "orgpolicy.policy.set", "orgpolicy.policies.list",
              "orgpolicy.constraints.list"),
     NULL},
    {"roles/orgpolicy.policyViewer",
     EM_WORDS("orgpolicy.policy.get", "orgpolicy.policies.list", "orgpolicy.constraints.list"),
     NULL},
    {"roles/resourcemanager.projectCreator", EM_WORDS("resourcemanager.projects.create"), NULL},
    {"roles/resourcemanager.projectDeleter", EM_WORDS("resourcemanager.projects.delete"), NULL},
    {"roles/resourcemanager.lienModifier",
     EM_WORDS("resourcemanager.projects.get", "resourcemanager.projects.updateLiens"), NULL},
    {"roles/resourcemanager.folderAdmin", EM_WORDS("resourcemanager.folders.*"), NULL},
    {"roles/resourcemanager.folderViewer",
     EM_WORDS("resourcemanager.folders.get", "resourcemanager.folders.list"), NULL},
    {"roles/serviceusage.serviceUsageAdmin", EM_WORDS("serviceusage.services.*"), NULL},
    {"roles/serviceusage.serviceUsageViewer",
     EM_WORDS("serviceusage.services.get", "serviceusage.services.list"), NULL},
    {"roles/logging.viewer", EM_WORDS("logging.logEntries.list"), NULL},
    {"roles/logging.privateLogViewer", EM_WORDS("logging.logEntries.list"), NULL},
    {NULL},
};

const struct em_service_desc control_descriptor = {
    .name = "emulator",
    .product = "Control plane",
    .port = 0,
    .google_service = "cloudresourcemanager.googleapis.com",
    .api_title = "Cloud Resource Manager API",
    .serves_deleted_projects = true,
    .roles = control_roles,
};
