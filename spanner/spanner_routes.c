/*
 * spanner_routes: the Cloud Spanner v1 route table, the only place a request's path is
 * tied to a handler. Paths and methods are those of the real API (spanner v1 discovery
 * document, as in gcloud's generated client). A route without a handler answers
 * UNIMPLEMENTED naming the method: the parts of Spanner not built yet (split points, the
 * adapter, ...; test_api_coverage.sh checks every method of gcloud's client has a route).
 */
#include "spanner_routes.h"

#include "em_iam.h"
#include "em_operations.h"
#include "spanner_data_handlers.h"
#include "spanner_handlers.h"
#include "spanner_json.h"

#define PROJECT   "projects/*"
#define CONFIG    PROJECT "/instanceConfigs/*"
#define INST      PROJECT "/instances/*"
#define DB        INST "/databases/*"
#define PARTITION INST "/instancePartitions/*"
#define BACKUP    INST "/backups/*"
#define SCHEDULE  DB "/backupSchedules/*"
#define SESSION   DB "/sessions/*"
#define DATA      EM_AUDIT_DATA_ACCESS
#define ADMIN     EM_AUDIT_ADMIN
#define P(perm)   "spanner." perm

/* The four operation methods under one collection of operations. */
#define OPERATIONS(parent, perm)                                                                   \
    {"GET",                                                                                        \
     "v1/{name=" parent "/operations/*}",                                                          \
     em_op_handle_get,                                                                             \
     "GetOperation",                                                                               \
     NULL,                                                                                         \
     NULL,                                                                                         \
     P(perm ".get"),                                                                               \
     DATA},                                                                                        \
        {"GET",                                                                                    \
         "v1/{name=" parent "}/operations",                                                        \
         em_op_handle_list,                                                                        \
         "ListOperations",                                                                         \
         NULL,                                                                                     \
         NULL,                                                                                     \
         P(perm ".list"),                                                                          \
         DATA,                                                                                     \
         .query = "filter pageSize pageToken"},                                                    \
        {"POST",                                                                                   \
         "v1/{name=" parent "/operations/*}:cancel",                                               \
         em_op_handle_cancel,                                                                      \
         "CancelOperation",                                                                        \
         &em_empty_message,                                                                        \
         NULL,                                                                                     \
         P(perm ".cancel"),                                                                        \
         ADMIN},                                                                                   \
    {                                                                                              \
        "DELETE", "v1/{name=" parent "/operations/*}", em_op_handle_delete, "DeleteOperation",     \
            NULL, NULL, P(perm ".delete"), ADMIN                                                   \
    }

#define IAM(resource, perm)                                                                        \
    {"POST",                                                                                       \
     "v1/{resource=" resource "}:getIamPolicy",                                                    \
     em_iam_handle_get,                                                                            \
     "GetIamPolicy",                                                                               \
     &em_iam_get_request,                                                                          \
     NULL,                                                                                         \
     P(perm ".getIamPolicy"),                                                                      \
     DATA,                                                                                         \
     .reply = &em_iam_policy},                                                                     \
        {"POST",                                                                                   \
         "v1/{resource=" resource "}:setIamPolicy",                                                \
         em_iam_handle_set,                                                                        \
         "SetIamPolicy",                                                                           \
         &em_iam_set_request,                                                                      \
         NULL,                                                                                     \
         P(perm ".setIamPolicy"),                                                                  \
         ADMIN,                                                                                    \
         .reply = &em_iam_policy},                                                                 \
    {                                                                                              \
        "POST", "v1/{resource=" resource "}:testIamPermissions", em_iam_handle_test,               \
            "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA                           \
    }

const struct em_route spanner_routes[] = {
    /* instance configs */
    {"GET", "v1/{parent=" PROJECT "}/instanceConfigs", sp_list_instance_configs,
     "ListInstanceConfigs", NULL, NULL, P("instanceConfigs.list"), DATA,
     .query = "pageSize pageToken"},
    {"GET", "v1/{name=" CONFIG "}", sp_get_instance_config, "GetInstanceConfig", NULL, NULL,
     P("instanceConfigs.get"), DATA},
    {"POST", "v1/{parent=" PROJECT "}/instanceConfigs", sp_create_instance_config,
     "CreateInstanceConfig", &sp_create_instance_config_schema, NULL, P("instanceConfigs.create"),
     ADMIN},
    {"PATCH", "v1/{name=" CONFIG "}", sp_update_instance_config, "UpdateInstanceConfig",
     &sp_update_instance_config_schema, NULL, P("instanceConfigs.update"), ADMIN},
    {"DELETE", "v1/{name=" CONFIG "}", sp_delete_instance_config, "DeleteInstanceConfig", NULL,
     NULL, P("instanceConfigs.delete"), ADMIN, .query = "etag validateOnly"},
    OPERATIONS(CONFIG, "instanceConfigOperations"),
    {"GET", "v1/{parent=" PROJECT "}/instanceConfigOperations", sp_list_instance_config_operations,
     "ListInstanceConfigOperations", NULL, NULL, P("instanceConfigOperations.list"), DATA,
     .query = "filter pageSize pageToken"},

    /* instances */
    {"POST", "v1/{parent=" PROJECT "}/instances", sp_create_instance, "CreateInstance",
     &sp_create_instance_schema, NULL, P("instances.create"), ADMIN},
    {"GET", "v1/{parent=" PROJECT "}/instances", sp_list_instances, "ListInstances", NULL, NULL,
     P("instances.list"), DATA, .reply = &sp_list_instances_reply,
     .query = "filter instanceDeadline pageSize pageToken"},
    {"GET", "v1/{name=" INST "}", sp_get_instance, "GetInstance", NULL, NULL, P("instances.get"),
     DATA, .reply = &sp_instance_schema, .query = "fieldMask"},
    {"PATCH", "v1/{name=" INST "}", sp_update_instance, "UpdateInstance",
     &sp_update_instance_schema, NULL, P("instances.update"), ADMIN},
    {"DELETE", "v1/{name=" INST "}", sp_delete_instance, "DeleteInstance", NULL, NULL,
     P("instances.delete"), ADMIN},
    {"POST", "v1/{name=" INST "}:move", sp_move_instance, "MoveInstance", &sp_move_instance_schema,
     NULL, P("instances.update"), ADMIN},

    /* instance partitions */
    {"POST", "v1/{parent=" INST "}/instancePartitions", sp_create_instance_partition,
     "CreateInstancePartition", &sp_create_instance_partition_schema, NULL,
     P("instancePartitions.create"), ADMIN},
    {"GET", "v1/{parent=" INST "}/instancePartitions", sp_list_instance_partitions,
     "ListInstancePartitions", NULL, NULL, P("instancePartitions.list"), DATA,
     .query = "instancePartitionDeadline pageSize pageToken"},
    {"GET", "v1/{name=" PARTITION "}", sp_get_instance_partition, "GetInstancePartition", NULL,
     NULL, P("instancePartitions.get"), DATA},
    {"PATCH", "v1/{name=" PARTITION "}", sp_update_instance_partition, "UpdateInstancePartition",
     &sp_update_instance_partition_schema, NULL, P("instancePartitions.update"), ADMIN},
    {"DELETE", "v1/{name=" PARTITION "}", sp_delete_instance_partition, "DeleteInstancePartition",
     NULL, NULL, P("instancePartitions.delete"), ADMIN, .query = "etag"},
    OPERATIONS(PARTITION, "instancePartitionOperations"),
    {"GET", "v1/{parent=" INST "}/instancePartitionOperations",
     sp_list_instance_partition_operations, "ListInstancePartitionOperations", NULL, NULL,
     P("instancePartitionOperations.list"), DATA,
     .query = "filter instancePartitionDeadline pageSize pageToken"},
    IAM(INST, "instances"),
    OPERATIONS(INST, "instanceOperations"),

    /* databases */
    {"POST", "v1/{parent=" INST "}/databases", sp_create_database, "CreateDatabase",
     &sp_create_database_schema, NULL, P("databases.create"), ADMIN},
    {"GET", "v1/{parent=" INST "}/databases", sp_list_databases, "ListDatabases", NULL, NULL,
     P("databases.list"), DATA, .reply = &sp_list_databases_reply, .query = "pageSize pageToken"},
    {"GET", "v1/{name=" DB "}", sp_get_database, "GetDatabase", NULL, NULL, P("databases.get"),
     DATA, .reply = &sp_database_schema},
    {"GET", "v1/{database=" DB "}/ddl", sp_get_database_ddl, "GetDatabaseDdl", NULL, NULL,
     P("databases.getDdl"), DATA},
    {"PATCH", "v1/{database=" DB "}/ddl", sp_update_database_ddl, "UpdateDatabaseDdl",
     &sp_update_ddl_schema, NULL, P("databases.updateDdl"), ADMIN},
    {"PATCH", "v1/{name=" DB "}", sp_update_database, "UpdateDatabase", &sp_database_schema,
     "database", P("databases.update"), ADMIN, .query = "updateMask"},
    {"DELETE", "v1/{database=" DB "}", sp_drop_database, "DropDatabase", NULL, NULL,
     P("databases.drop"), ADMIN},
    {"POST", "v1/{name=" DB "}:changequorum", sp_change_quorum, "ChangeQuorum",
     &sp_change_quorum_schema, NULL, P("databases.changequorum"), ADMIN},
    {"GET", "v1/{parent=" DB "}/databaseRoles", sp_list_database_roles, "ListDatabaseRoles", NULL,
     NULL, P("databaseRoles.list"), DATA, .query = "pageSize pageToken"},
    {"POST", "v1/{resource=" DB "/databaseRoles/*}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA},
    IAM(DB, "databases"),
    OPERATIONS(DB, "databaseOperations"),
    {"POST", "v1/{parent=" INST "}/databases:restore", sp_restore_database, "RestoreDatabase",
     &sp_restore_database_schema, NULL, P("databases.create"), ADMIN},
    {"GET", "v1/{parent=" INST "}/databaseOperations", sp_list_database_operations,
     "ListDatabaseOperations", NULL, NULL, P("databaseOperations.list"), DATA,
     .query = "filter pageSize pageToken"},

    /* backups (CreateBackup's encryptionConfig arrives in the query string) */
    {"POST", "v1/{parent=" INST "}/backups", sp_create_backup, "CreateBackup", &sp_backup_schema,
     "backup", P("backups.create"), ADMIN,
     .query = "backupId encryptionConfig.encryptionType encryptionConfig.kmsKeyName "
              "encryptionConfig.kmsKeyNames"},
    {"POST", "v1/{parent=" INST "}/backups:copy", sp_copy_backup, "CopyBackup",
     &sp_copy_backup_schema, NULL, P("backups.create"), ADMIN},
    {"GET", "v1/{parent=" INST "}/backups", sp_list_backups, "ListBackups", NULL, NULL,
     P("backups.list"), DATA, .reply = &sp_list_backups_reply,
     .query = "filter pageSize pageToken"},
    {"GET", "v1/{name=" BACKUP "}", sp_get_backup, "GetBackup", NULL, NULL, P("backups.get"), DATA,
     .reply = &sp_backup_schema},
    {"PATCH", "v1/{name=" BACKUP "}", sp_update_backup, "UpdateBackup", &sp_backup_schema, "backup",
     P("backups.update"), ADMIN, .reply = &sp_backup_schema, .query = "updateMask"},
    {"DELETE", "v1/{name=" BACKUP "}", sp_delete_backup, "DeleteBackup", NULL, NULL,
     P("backups.delete"), ADMIN},
    IAM(BACKUP, "backups"),

    /* backup schedules */
    {"POST", "v1/{parent=" DB "}/backupSchedules", sp_create_backup_schedule,
     "CreateBackupSchedule", &sp_backup_schedule_schema, "backup_schedule",
     P("backupSchedules.create"), ADMIN, .reply = &sp_backup_schedule_schema,
     .query = "backupScheduleId"},
    {"GET", "v1/{parent=" DB "}/backupSchedules", sp_list_backup_schedules, "ListBackupSchedules",
     NULL, NULL, P("backupSchedules.list"), DATA, .reply = &sp_list_backup_schedules_reply,
     .query = "pageSize pageToken"},
    {"GET", "v1/{name=" SCHEDULE "}", sp_get_backup_schedule, "GetBackupSchedule", NULL, NULL,
     P("backupSchedules.get"), DATA, .reply = &sp_backup_schedule_schema},
    {"PATCH", "v1/{name=" SCHEDULE "}", sp_update_backup_schedule, "UpdateBackupSchedule",
     &sp_backup_schedule_schema, "backup_schedule", P("backupSchedules.update"), ADMIN,
     .reply = &sp_backup_schedule_schema, .query = "updateMask"},
    {"DELETE", "v1/{name=" SCHEDULE "}", sp_delete_backup_schedule, "DeleteBackupSchedule", NULL,
     NULL, P("backupSchedules.delete"), ADMIN},
    IAM(SCHEDULE, "backupSchedules"),

    OPERATIONS(BACKUP, "backupOperations"),
    {"GET", "v1/{parent=" INST "}/backupOperations", sp_list_backup_operations,
     "ListBackupOperations", NULL, NULL, P("backupOperations.list"), DATA,
     .query = "filter pageSize pageToken"},

    {"POST", "v1/{database=" DB "}/sessions", sp_create_session, "CreateSession",
     &sp_create_session_schema, NULL, P("sessions.create"), DATA},
    {"POST", "v1/{database=" DB "}/sessions:batchCreate", sp_batch_create_sessions,
     "BatchCreateSessions", &sp_batch_create_sessions_schema, NULL, P("sessions.create"), DATA},
    {"GET", "v1/{database=" DB "}/sessions", sp_list_sessions, "ListSessions", NULL, NULL,
     P("sessions.list"), DATA, .query = "filter pageSize pageToken"},
    {"GET", "v1/{name=" SESSION "}", sp_get_session, "GetSession", NULL, NULL, P("sessions.get"),
     DATA},
    {"DELETE", "v1/{name=" SESSION "}", sp_delete_session, "DeleteSession", NULL, NULL,
     P("sessions.delete"), DATA},
    {"POST", "v1/{session=" SESSION "}:executeSql", sp_execute_sql, "ExecuteSql",
     &sp_execute_sql_schema, NULL, P("databases.select"), DATA},
    {"POST", "v1/{session=" SESSION "}:executeStreamingSql", sp_execute_streaming_sql,
     "ExecuteStreamingSql", &sp_execute_sql_schema, NULL, P("databases.select"), DATA,
     .streaming = true},
    {"POST", "v1/{session=" SESSION "}:executeBatchDml", sp_execute_batch_dml, "ExecuteBatchDml",
     &sp_execute_batch_dml_schema, NULL, P("databases.write"), DATA},
    {"POST", "v1/{session=" SESSION "}:read", sp_read, "Read", &sp_read_schema, NULL,
     P("databases.read"), DATA},
    {"POST", "v1/{session=" SESSION "}:streamingRead", sp_streaming_read, "StreamingRead",
     &sp_read_schema, NULL, P("databases.read"), DATA, .streaming = true},
    /* beginTransaction: the permission of the transaction's mode, checked by the handler */
    {"POST", "v1/{session=" SESSION "}:beginTransaction", sp_begin_transaction, "BeginTransaction",
     &sp_begin_transaction_schema, NULL, P("databases.beginReadOnlyTransaction"), DATA},
    {"POST", "v1/{session=" SESSION "}:commit", sp_commit, "Commit", &sp_commit_schema, NULL,
     P("databases.write"), DATA, .never_blocks = true},
    {"POST", "v1/{session=" SESSION "}:rollback", sp_rollback, "Rollback", &sp_rollback_schema,
     NULL, P("databases.beginOrRollbackReadWriteTransaction"), DATA},
    {"POST", "v1/{session=" SESSION "}:partitionQuery", sp_partition_query, "PartitionQuery",
     &sp_partition_query_schema, NULL, P("databases.partitionQuery"), DATA},
    {"POST", "v1/{session=" SESSION "}:partitionRead", sp_partition_read, "PartitionRead",
     &sp_partition_read_schema, NULL, P("databases.partitionRead"), DATA},
    {"POST", "v1/{session=" SESSION "}:batchWrite", sp_batch_write, "BatchWrite",
     &sp_batch_write_schema, NULL, P("databases.write"), DATA, .streaming = true},
    /* the rest of the API (gcloud's generated client): answered UNIMPLEMENTED naming the
     * method, not NOT_FOUND as an unknown URL is (em_router.h) */
    EM_UNBUILT_OPERATIONS("v1", CONFIG "/ssdCaches/*"),
    {"GET", "v1/{parent=" CONFIG "}/ssdCaches", NULL, "ListSsdCaches"},
    {"GET", "v1/{name=" CONFIG "/ssdCaches/*}", NULL, "GetSsdCache"},
    {"PATCH", "v1/{name=" CONFIG "/ssdCaches/*}", NULL, "UpdateSsdCache"},
    {"POST", "v1/{name=" SESSION "}:adaptMessage", NULL, "Adapter.AdaptMessage"},
    {"POST", "v1/{parent=" DB "}/sessions:adapter", NULL, "Adapter.CreateSession"},
    {"POST", "v1/{database=" DB "}:addSplitPoints", NULL, "AddSplitPoints"},
    {"GET", "v1/{name=" DB "}/scans", NULL, "GetScans"},
    {"GET", "v1/{parent=scans}", NULL, "ListScans"},
    {NULL},
};
