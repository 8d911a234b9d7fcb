/*
 * bigtable_routes: the Cloud Bigtable route table, the only place a request's path is
 * tied to a handler. Paths and methods are those of the real APIs: bigtableadmin v2 (as in
 * gcloud's generated client) and bigtable v2 (the googleapis protos' HTTP bindings; each
 * data call also through an authorized view, checked with bigtable.authorizedViews.*). A
 * route without a handler answers UNIMPLEMENTED naming the method: hot tablets, logical
 * and materialized views, schema bundles, locations.
 */
#include "bigtable_routes.h"

#include "bigtable_handlers.h"
#include "bigtable_json.h"
#include "em_iam.h"
#include "em_operations.h"

#define PROJECT "projects/*"
#define INST    PROJECT "/instances/*"
#define CLUSTER INST "/clusters/*"
#define TABLE   INST "/tables/*"
#define PROFILE INST "/appProfiles/*"
#define BACKUP  CLUSTER "/backups/*"
#define VIEW    TABLE "/authorizedViews/*"
#define DATA    EM_AUDIT_DATA_ACCESS
#define ADMIN   EM_AUDIT_ADMIN
#define P(perm) "bigtable." perm

#define IAM(resource, perm)                                                                        \
    {"POST",                                                                                       \
     "v2/{resource=" resource "}:getIamPolicy",                                                    \
     em_iam_handle_get,                                                                            \
     "GetIamPolicy",                                                                               \
     &em_iam_get_request,                                                                          \
     NULL,                                                                                         \
     P(perm ".getIamPolicy"),                                                                      \
     DATA,                                                                                         \
     .reply = &em_iam_policy},                                                                     \
        {"POST",                                                                                   \
         "v2/{resource=" resource "}:setIamPolicy",                                                \
         em_iam_handle_set,                                                                        \
         "SetIamPolicy",                                                                           \
         &em_iam_set_request,                                                                      \
         NULL,                                                                                     \
         P(perm ".setIamPolicy"),                                                                  \
         ADMIN,                                                                                    \
         .reply = &em_iam_policy},                                                                 \
    {                                                                                              \
        "POST", "v2/{resource=" resource "}:testIamPermissions", em_iam_handle_test,               \
            "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA                           \
    }

const struct em_route bigtable_routes[] = {
    /* operations (named operations/projects/p/instances/i/locations/z/operations/id) */
    {"GET", "v2/{name=operations/projects/*}/operations", em_op_handle_list_subtree,
     "ListOperations", NULL, NULL, NULL, DATA, .query = "filter pageSize pageToken"},
    {"POST", "v2/{name=operations/**}:cancel", em_op_handle_cancel, "CancelOperation",
     &em_empty_message, NULL, NULL, ADMIN},
    {"GET", "v2/{name=operations/**}", em_op_handle_get, "GetOperation", NULL, NULL, NULL, DATA},
    {"DELETE", "v2/{name=operations/**}", em_op_handle_delete, "DeleteOperation", NULL, NULL, NULL,
     ADMIN},

    /* instances */
    {"POST", "v2/{parent=" PROJECT "}/instances", bt_create_instance, "CreateInstance",
     &bt_create_instance_schema, NULL, P("instances.create"), ADMIN},
    {"GET", "v2/{parent=" PROJECT "}/instances", bt_list_instances, "ListInstances", NULL, NULL,
     P("instances.list"), DATA, .query = "pageToken"},
    {"GET", "v2/{name=" INST "}", bt_get_instance, "GetInstance", NULL, NULL, P("instances.get"),
     DATA},
    {"PUT", "v2/{name=" INST "}", bt_update_instance, "UpdateInstance", &bt_instance_schema, NULL,
     P("instances.update"), ADMIN},
    {"PATCH", "v2/{name=" INST "}", bt_partial_update_instance, "PartialUpdateInstance",
     &bt_instance_schema, "instance", P("instances.update"), ADMIN, .query = "updateMask"},
    {"DELETE", "v2/{name=" INST "}", bt_delete_instance, "DeleteInstance", NULL, NULL,
     P("instances.delete"), ADMIN},
    IAM(INST, "instances"),

    /* clusters */
    {"POST", "v2/{parent=" INST "}/clusters", bt_create_cluster, "CreateCluster",
     &bt_cluster_schema, "cluster", P("clusters.create"), ADMIN, .query = "clusterId"},
    {"GET", "v2/{parent=" INST "}/clusters", bt_list_clusters, "ListClusters", NULL, NULL,
     P("clusters.list"), DATA, .query = "pageToken"},
    {"GET", "v2/{name=" CLUSTER "}", bt_get_cluster, "GetCluster", NULL, NULL, P("clusters.get"),
     DATA},
    {"PUT", "v2/{name=" CLUSTER "}", bt_update_cluster, "UpdateCluster", &bt_cluster_schema, NULL,
     P("clusters.update"), ADMIN},
    {"PATCH", "v2/{name=" CLUSTER "}", bt_partial_update_cluster, "PartialUpdateCluster",
     &bt_cluster_schema, "cluster", P("clusters.update"), ADMIN, .query = "updateMask"},
    {"DELETE", "v2/{name=" CLUSTER "}", bt_delete_cluster, "DeleteCluster", NULL, NULL,
     P("clusters.delete"), ADMIN},

    /* app profiles */
    {"POST", "v2/{parent=" INST "}/appProfiles", bt_create_app_profile, "CreateAppProfile",
     &bt_app_profile_schema, "app_profile", P("appProfiles.create"), ADMIN,
     .query = "appProfileId ignoreWarnings"},
    {"GET", "v2/{parent=" INST "}/appProfiles", bt_list_app_profiles, "ListAppProfiles", NULL, NULL,
     P("appProfiles.list"), DATA, .query = "pageSize pageToken"},
    {"GET", "v2/{name=" PROFILE "}", bt_get_app_profile, "GetAppProfile", NULL, NULL,
     P("appProfiles.get"), DATA},
    {"PATCH", "v2/{name=" PROFILE "}", bt_update_app_profile, "UpdateAppProfile",
     &bt_app_profile_schema, "app_profile", P("appProfiles.update"), ADMIN,
     .query = "ignoreWarnings updateMask"},
    {"DELETE", "v2/{name=" PROFILE "}", bt_delete_app_profile, "DeleteAppProfile", NULL, NULL,
     P("appProfiles.delete"), ADMIN, .query = "ignoreWarnings"},

    /* tables */
    {"POST", "v2/{parent=" INST "}/tables", bt_create_table, "CreateTable", &bt_create_table_schema,
     NULL, P("tables.create"), ADMIN},
    {"GET", "v2/{parent=" INST "}/tables", bt_list_tables, "ListTables", NULL, NULL,
     P("tables.list"), DATA, .query = "pageSize pageToken view"},
    {"GET", "v2/{name=" TABLE "}", bt_get_table, "GetTable", NULL, NULL, P("tables.get"), DATA,
     .query = "view"},
    {"PATCH", "v2/{name=" TABLE "}", bt_update_table, "UpdateTable", &bt_table_schema, "table",
     P("tables.update"), ADMIN, .query = "ignoreWarnings updateMask"},
    {"DELETE", "v2/{name=" TABLE "}", bt_delete_table, "DeleteTable", NULL, NULL,
     P("tables.delete"), ADMIN},
    {"POST", "v2/{name=" TABLE "}:modifyColumnFamilies", bt_modify_column_families,
     "ModifyColumnFamilies", &bt_modify_families_schema, NULL, P("tables.update"), ADMIN},
    {"POST", "v2/{name=" TABLE "}:undelete", bt_undelete_table, "UndeleteTable",
     &bt_undelete_table_schema, NULL, P("tables.undelete"), ADMIN},
    {"POST", "v2/{name=" TABLE "}:generateConsistencyToken", bt_generate_consistency_token,
     "GenerateConsistencyToken", &bt_generate_token_schema, NULL,
     P("tables.generateConsistencyToken"), DATA},
    {"POST", "v2/{name=" TABLE "}:checkConsistency", bt_check_consistency, "CheckConsistency",
     &bt_check_consistency_schema, NULL, P("tables.checkConsistency"), DATA},
    {"POST", "v2/{name=" TABLE "}:dropRowRange", bt_drop_row_range, "DropRowRange",
     &bt_drop_row_range_schema, NULL, P("tables.mutateRows"), ADMIN},
    IAM(TABLE, "tables"),

    /* authorized views (bigtable_view_handlers.c) */
    {"POST", "v2/{parent=" TABLE "}/authorizedViews", bt_create_authorized_view,
     "CreateAuthorizedView", &bt_authorized_view_schema, NULL, P("authorizedViews.create"), ADMIN,
     .query = "authorizedViewId"},
    {"GET", "v2/{parent=" TABLE "}/authorizedViews", bt_list_authorized_views,
     "ListAuthorizedViews", NULL, NULL, P("authorizedViews.list"), DATA,
     .query = "pageSize pageToken view"},
    {"GET", "v2/{name=" VIEW "}", bt_get_authorized_view, "GetAuthorizedView", NULL, NULL,
     P("authorizedViews.get"), DATA, .query = "view"},
    {"PATCH", "v2/{name=" VIEW "}", bt_update_authorized_view, "UpdateAuthorizedView",
     &bt_authorized_view_schema, NULL, P("authorizedViews.update"), ADMIN,
     .query = "ignoreWarnings updateMask"},
    {"DELETE", "v2/{name=" VIEW "}", bt_delete_authorized_view, "DeleteAuthorizedView", NULL, NULL,
     P("authorizedViews.delete"), ADMIN, .query = "etag"},
    IAM(VIEW, "authorizedViews"),

    /* backups and restores (bigtable_backup_handlers.c) */
    {"POST", "v2/{parent=" CLUSTER "}/backups:copy", bt_copy_backup, "CopyBackup",
     &bt_copy_backup_schema, NULL, P("backups.create"), ADMIN},
    {"POST", "v2/{parent=" CLUSTER "}/backups", bt_create_backup, "CreateBackup", &bt_backup_schema,
     "backup", P("backups.create"), ADMIN, .query = "backupId"},
    {"GET", "v2/{parent=" CLUSTER "}/backups", bt_list_backups, "ListBackups", NULL, NULL,
     P("backups.list"), DATA, .query = "filter orderBy pageSize pageToken"},
    {"GET", "v2/{name=" BACKUP "}", bt_get_backup, "GetBackup", NULL, NULL, P("backups.get"), DATA},
    {"PATCH", "v2/{name=" BACKUP "}", bt_update_backup, "UpdateBackup", &bt_backup_schema, "backup",
     P("backups.update"), ADMIN, .query = "updateMask"},
    {"DELETE", "v2/{name=" BACKUP "}", bt_delete_backup, "DeleteBackup", NULL, NULL,
     P("backups.delete"), ADMIN},
    IAM(BACKUP, "backups"),
    {"POST", "v2/{parent=" INST "}/tables:restore", bt_restore_table, "RestoreTable",
     &bt_restore_table_schema, NULL, P("tables.create"), ADMIN},

    /* data plane (bigtable v2) */
    {"POST", "v2/{tableName=" TABLE "}:readRows", bt_read_rows, "ReadRows", &bt_read_rows_schema,
     NULL, P("tables.readRows"), DATA, .streaming = true, .never_blocks = true},
    {"GET", "v2/{tableName=" TABLE "}:sampleRowKeys", bt_sample_row_keys, "SampleRowKeys", NULL,
     NULL, P("tables.sampleRowKeys"), DATA, .streaming = true,
     .query = "appProfileId authorizedViewName materializedViewName"},
    {"POST", "v2/{tableName=" TABLE "}:mutateRow", bt_mutate_row, "MutateRow",
     &bt_mutate_row_schema, NULL, P("tables.mutateRows"), DATA, .never_blocks = true},
    {"POST", "v2/{tableName=" TABLE "}:mutateRows", bt_mutate_rows, "MutateRows",
     &bt_mutate_rows_schema, NULL, P("tables.mutateRows"), DATA, .streaming = true},
    {"POST", "v2/{tableName=" TABLE "}:checkAndMutateRow", bt_check_and_mutate_row,
     "CheckAndMutateRow", &bt_check_and_mutate_schema, NULL, P("tables.mutateRows"), DATA},
    {"POST", "v2/{tableName=" TABLE "}:readModifyWriteRow", bt_read_modify_write_row,
     "ReadModifyWriteRow", &bt_read_modify_write_schema, NULL, P("tables.mutateRows"), DATA},
    {"POST", "v2/{authorizedViewName=" VIEW "}:readRows", bt_read_rows, "ReadRows",
     &bt_read_rows_schema, NULL, P("authorizedViews.readRows"), DATA, .streaming = true,
     .never_blocks = true},
    {"GET", "v2/{authorizedViewName=" VIEW "}:sampleRowKeys", bt_sample_row_keys, "SampleRowKeys",
     NULL, NULL, P("authorizedViews.sampleRowKeys"), DATA, .streaming = true,
     .query = "appProfileId materializedViewName tableName"},
    {"POST", "v2/{authorizedViewName=" VIEW "}:mutateRow", bt_mutate_row, "MutateRow",
     &bt_mutate_row_schema, NULL, P("authorizedViews.mutateRows"), DATA, .never_blocks = true},
    {"POST", "v2/{authorizedViewName=" VIEW "}:mutateRows", bt_mutate_rows, "MutateRows",
     &bt_mutate_rows_schema, NULL, P("authorizedViews.mutateRows"), DATA, .streaming = true},
    {"POST", "v2/{authorizedViewName=" VIEW "}:checkAndMutateRow", bt_check_and_mutate_row,
     "CheckAndMutateRow", &bt_check_and_mutate_schema, NULL, P("authorizedViews.mutateRows"), DATA},
    {"POST", "v2/{authorizedViewName=" VIEW "}:readModifyWriteRow", bt_read_modify_write_row,
     "ReadModifyWriteRow", &bt_read_modify_write_schema, NULL, P("authorizedViews.mutateRows"),
     DATA},
    {"POST", "v2/{name=" INST "}:ping", bt_ping_and_warm, "PingAndWarm", &bt_ping_schema, NULL,
     P("tables.readRows"), DATA},

    /* not built yet: answered UNIMPLEMENTED */
    {"GET", "v2/{parent=" CLUSTER "}/hotTablets", NULL, "ListHotTablets"},
    /* the rest of the data API (google/bigtable/v2/bigtable.proto): change streams, SQL
     * queries and materialized views */
    {"POST", "v2/{tableName=" TABLE "}:generateInitialChangeStreamPartitions", NULL,
     "GenerateInitialChangeStreamPartitions"},
    {"POST", "v2/{tableName=" TABLE "}:readChangeStream", NULL, "ReadChangeStream"},
    {"POST", "v2/{instanceName=" INST "}:executeQuery", NULL, "ExecuteQuery"},
    {"POST", "v2/{instanceName=" INST "}:prepareQuery", NULL, "PrepareQuery"},
    {"POST", "v2/{materializedViewName=" INST "/materializedViews/*}:readRows", NULL, "ReadRows"},
    {"GET", "v2/{materializedViewName=" INST "/materializedViews/*}:sampleRowKeys", NULL,
     "SampleRowKeys"},
    /* the rest of the API (gcloud's generated client): answered UNIMPLEMENTED naming the
     * method, not NOT_FOUND as an unknown URL is (em_router.h) */
    EM_UNBUILT_COLLECTION("v2", INST, "logicalViews", "LogicalView", "LogicalViews"),
    EM_UNBUILT_IAM("v2", INST "/logicalViews/*", "POST"),
    EM_UNBUILT_COLLECTION("v2", INST, "materializedViews", "MaterializedView", "MaterializedViews"),
    EM_UNBUILT_IAM("v2", INST "/materializedViews/*", "POST"),
    EM_UNBUILT_COLLECTION("v2", TABLE, "schemaBundles", "SchemaBundle", "SchemaBundles"),
    EM_UNBUILT_IAM("v2", TABLE "/schemaBundles/*", "POST"),
    {"GET", "v2/{name=" PROJECT "}/locations", NULL, "ListLocations"},
    {"GET", "v2/{name=" PROJECT "/locations/*}", NULL, "GetLocation"},
    {NULL},
};
