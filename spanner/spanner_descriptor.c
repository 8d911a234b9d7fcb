/*
 * spanner_descriptor: Cloud Spanner as the emulator knows it (see em_descriptor.h): port
 * base + 4, its service agent and its predefined roles. Data only. Until
 * spanner/spanner_main.c exists there is no bin/spanner and the control plane answers
 * the port with UNIMPLEMENTED (control_unbuilt.c); Logging resource types come with the
 * service (until then an entry about Spanner is an audited_resource).
 * Roles: https://cloud.google.com/iam/docs/roles-permissions/spanner
 */
#include "em_descriptor.h"

#define SPANNER_DATABASE_READ                                                                      \
    "spanner.databases.beginReadOnlyTransaction", "spanner.databases.getDdl",                      \
        "spanner.databases.partitionQuery", "spanner.databases.partitionRead",                     \
        "spanner.databases.read", "spanner.databases.select", "spanner.sessions.*",                \
        "spanner.databaseRoles.list", "spanner.instances.get"

static const struct em_role spanner_roles[] = {
    {"roles/spanner.admin",
     EM_WORDS("spanner.*", "resourcemanager.projects.get", "resourcemanager.projects.list"), NULL},
    {"roles/spanner.databaseAdmin",
     EM_WORDS("spanner.databases.*", "spanner.databaseOperations.*", "spanner.databaseRoles.*",
              "spanner.backups.*", "spanner.backupOperations.*", "spanner.backupSchedules.*",
              "spanner.sessions.*", "spanner.instances.get", "spanner.instances.list",
              "spanner.instanceConfigs.get", "spanner.instanceConfigs.list",
              "resourcemanager.projects.get", "resourcemanager.projects.list"),
     EM_WORDS("spanner.databases.setIamPolicy")},
    {"roles/spanner.backupAdmin",
     EM_WORDS("spanner.backups.*", "spanner.backupOperations.*", "spanner.backupSchedules.*",
              "spanner.databases.createBackup", "spanner.databases.list",
              "spanner.databaseOperations.get", "spanner.databaseOperations.list",
              "spanner.instances.get", "spanner.instances.list", "resourcemanager.projects.get",
              "resourcemanager.projects.list"),
     NULL},
    {"roles/spanner.backupWriter",
     EM_WORDS("spanner.backups.create", "spanner.backups.copy", "spanner.backupSchedules.create",
              "spanner.backupSchedules.get", "spanner.backupSchedules.list",
              "spanner.backupOperations.get", "spanner.backupOperations.list",
              "spanner.backupOperations.cancel", "spanner.databases.createBackup",
              "spanner.databases.list", "spanner.databaseOperations.get",
              "spanner.databaseOperations.list", "spanner.instances.get", "spanner.instances.list"),
     NULL},
    {"roles/spanner.restoreAdmin",
     EM_WORDS("spanner.backups.get", "spanner.backups.list", "spanner.backups.restoreDatabase",
              "spanner.backupOperations.get", "spanner.backupOperations.list",
              "spanner.databases.create", "spanner.databases.get", "spanner.databases.list",
              "spanner.databaseOperations.get", "spanner.databaseOperations.list",
              "spanner.instances.get", "spanner.instances.list"),
     NULL},
    {"roles/spanner.databaseReader", EM_WORDS(SPANNER_DATABASE_READ), NULL},
    {"roles/spanner.databaseUser",
     EM_WORDS(SPANNER_DATABASE_READ, "spanner.databases.beginOrRollbackReadWriteTransaction",
              "spanner.databases.beginPartitionedDmlTransaction", "spanner.databases.write",
              "spanner.databases.updateDdl", "spanner.databaseOperations.get",
              "spanner.databaseOperations.list"),
     NULL},
    /* fine-grained access control: a session with a database role (creatorRole), whose
     * privileges then decide what its statements may do */
    {"roles/spanner.fineGrainedAccessUser",
     EM_WORDS("spanner.databases.useRoleBasedAccess", "spanner.databaseRoles.list",
              "spanner.sessions.create", "spanner.sessions.delete"),
     NULL},
    /* granted on a database role (or on its database with a condition on resource.name) */
    {"roles/spanner.databaseRoleUser", EM_WORDS("spanner.databaseRoles.use"), NULL},
    {"roles/spanner.viewer",
     EM_WORDS("spanner.databases.list", "spanner.instanceConfigs.get",
              "spanner.instanceConfigs.list", "spanner.instances.get", "spanner.instances.list",
              "resourcemanager.projects.get", "resourcemanager.projects.list"),
     NULL},
    {NULL},
};

const struct em_service_desc spanner_descriptor = {
    .name = "spanner",
    .product = "Spanner",
    .port = 4,
    .google_service = "spanner.googleapis.com",
    .api_title = "Cloud Spanner API",
    .agent_domain = "gcp-sa-spanner",
    .roles = spanner_roles,
};
