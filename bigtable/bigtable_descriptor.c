/*
 * bigtable_descriptor: Cloud Bigtable as the emulator knows it (see em_descriptor.h):
 * port base + 3, its service agent and its predefined roles. Data only. Until
 * bigtable/bigtable_main.c exists there is no bin/bigtable and the control plane answers
 * the port with UNIMPLEMENTED (control_unbuilt.c); Logging resource types come with the
 * service (until then an entry about Bigtable is an audited_resource).
 * Roles: https://cloud.google.com/iam/docs/roles-permissions/bigtable
 * Backups: bigtable.backups.{create,delete,get,getIamPolicy,list,read,restore,
 * setIamPolicy,update} come with bigtable.* (admin); get and list with bigtable.*.get and
 * bigtable.*.list (user, reader), as Google's roles list them. Authorized views:
 * bigtable.authorizedViews.{readRows,sampleRowKeys} (reader, user), .mutateRows (user).
 */
#include "em_descriptor.h"

#define BIGTABLE_METADATA "bigtable.*.get", "bigtable.*.list", "resourcemanager.projects.get"

static const struct em_role bigtable_roles[] = {
    {"roles/bigtable.admin",
     EM_WORDS("bigtable.*", "resourcemanager.projects.get", "resourcemanager.projects.list"), NULL},
    {"roles/bigtable.user",
     EM_WORDS(BIGTABLE_METADATA, "bigtable.tables.readRows", "bigtable.tables.mutateRows",
              "bigtable.tables.sampleRowKeys", "bigtable.tables.checkConsistency",
              "bigtable.tables.generateConsistencyToken", "bigtable.authorizedViews.readRows",
              "bigtable.authorizedViews.mutateRows", "bigtable.authorizedViews.sampleRowKeys"),
     NULL},
    {"roles/bigtable.reader",
     EM_WORDS(BIGTABLE_METADATA, "bigtable.tables.readRows", "bigtable.tables.sampleRowKeys",
              "bigtable.tables.checkConsistency", "bigtable.authorizedViews.readRows",
              "bigtable.authorizedViews.sampleRowKeys"),
     NULL},
    {"roles/bigtable.viewer",
     EM_WORDS("bigtable.instances.get", "bigtable.instances.list", "bigtable.clusters.get",
              "bigtable.clusters.list", "bigtable.appProfiles.get", "bigtable.appProfiles.list",
              "bigtable.locations.list", "resourcemanager.projects.get"),
     NULL},
    {NULL},
};

const struct em_service_desc bigtable_descriptor = {
    .name = "bigtable",
    .product = "Bigtable",
    .port = 3,
    .google_service = "bigtableadmin.googleapis.com",
    .api_title = "Cloud Bigtable Admin API",
    .agent_domain = "gcp-sa-bigtable",
    .roles = bigtable_roles,
};
