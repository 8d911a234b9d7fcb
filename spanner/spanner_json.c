/*
 * spanner_json: request schemas and operation metadata of Spanner's admin API (see
 * spanner_json.h). Enum numbers are those of google/spanner/admin/{instance,database}/v1 protos.
 */
#include "spanner_json.h"

#include "em_json.h"

#include <string.h>

static const struct em_enum_value state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"CREATING", 1}, {"READY", 2}, {NULL}};
static const struct em_enum instance_state_enum = {
    "google.spanner.admin.instance.v1.Instance.State", state_values};

static const struct em_enum_value instance_type_values[] = {
    {"INSTANCE_TYPE_UNSPECIFIED", 0}, {"PROVISIONED", 1}, {"FREE_INSTANCE", 2}, {NULL}};
static const struct em_enum instance_type_enum = {
    "google.spanner.admin.instance.v1.Instance.InstanceType", instance_type_values};

static const struct em_enum_value edition_values[] = {
    {"EDITION_UNSPECIFIED", 0}, {"STANDARD", 1}, {"ENTERPRISE", 2}, {"ENTERPRISE_PLUS", 3}, {NULL}};
static const struct em_enum edition_enum = {"google.spanner.admin.instance.v1.Instance.Edition",
                                            edition_values};

static const struct em_enum_value backup_schedule_values[] = {
    {"DEFAULT_BACKUP_SCHEDULE_TYPE_UNSPECIFIED", 0}, {"NONE", 1}, {"AUTOMATIC", 2}, {NULL}};
static const struct em_enum backup_schedule_enum = {
    "google.spanner.admin.instance.v1.Instance.DefaultBackupScheduleType", backup_schedule_values};

static const struct em_enum_value dialect_values[] = {
    {"DATABASE_DIALECT_UNSPECIFIED", 0}, {"GOOGLE_STANDARD_SQL", 1}, {"POSTGRESQL", 2}, {NULL}};
static const struct em_enum dialect_enum = {"google.spanner.admin.database.v1.DatabaseDialect",
                                            dialect_values};

static const struct em_enum_value db_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"CREATING", 1}, {"READY", 2}, {"READY_OPTIMIZING", 3}, {NULL}};
static const struct em_enum db_state_enum = {"google.spanner.admin.database.v1.Database.State",
                                             db_state_values};

static const struct em_field instance_fields[] = {
    {"name", EM_F_STRING},
    {"config", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"nodeCount", EM_F_INT32},
    {"processingUnits", EM_F_INT32},
    {"replicaComputeCapacity", EM_F_ANY, true},
    {"autoscalingConfig", EM_F_ANY},
    {"state", EM_F_ENUM, false, NULL, &instance_state_enum},
    {"labels", EM_F_MAP},
    {"instanceType", EM_F_ENUM, false, NULL, &instance_type_enum},
    {"endpointUris", EM_F_STRING, true},
    {"createTime", EM_F_TIMESTAMP},
    {"updateTime", EM_F_TIMESTAMP},
    {"freeInstanceMetadata", EM_F_ANY},
    {"edition", EM_F_ENUM, false, NULL, &edition_enum},
    {"defaultBackupScheduleType", EM_F_ENUM, false, NULL, &backup_schedule_enum},
    {"defaultStorageType", EM_F_STRING},
    {"ssdCache", EM_F_STRING},
    {"tags", EM_F_MAP},
    {NULL}};
const struct em_message sp_instance_schema = {"google.spanner.admin.instance.v1.Instance",
                                              instance_fields};

static const struct em_enum_value replica_type_values[] = {
    {"TYPE_UNSPECIFIED", 0}, {"READ_WRITE", 1}, {"READ_ONLY", 2}, {"WITNESS", 3}, {NULL}};
static const struct em_enum replica_type_enum = {
    "google.spanner.admin.instance.v1.ReplicaInfo.ReplicaType", replica_type_values};

static const struct em_field replica_fields[] = {
    {"location", EM_F_STRING},
    {"type", EM_F_ENUM, false, NULL, &replica_type_enum},
    {"defaultLeaderLocation", EM_F_BOOL},
    {NULL}};
static const struct em_message replica_schema = {"google.spanner.admin.instance.v1.ReplicaInfo",
                                                 replica_fields};

static const struct em_enum_value config_type_values[] = {
    {"TYPE_UNSPECIFIED", 0}, {"GOOGLE_MANAGED", 1}, {"USER_MANAGED", 2}, {NULL}};
static const struct em_enum config_type_enum = {
    "google.spanner.admin.instance.v1.InstanceConfig.Type", config_type_values};

static const struct em_enum config_state_enum = {
    "google.spanner.admin.instance.v1.InstanceConfig.State", state_values};

/* InstanceConfig as a request carries it: the output-only fields are accepted (gcloud's
 * --clone-config sends back what it read) and ignored. */
static const struct em_field instance_config_fields[] = {
    {"name", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"configType", EM_F_ENUM, false, NULL, &config_type_enum},
    {"replicas", EM_F_MESSAGE, true, &replica_schema},
    {"optionalReplicas", EM_F_MESSAGE, true, &replica_schema},
    {"baseConfig", EM_F_STRING},
    {"labels", EM_F_MAP},
    {"etag", EM_F_STRING},
    {"leaderOptions", EM_F_STRING, true},
    {"reconciling", EM_F_BOOL},
    {"state", EM_F_ENUM, false, NULL, &config_state_enum},
    {"freeInstanceAvailability", EM_F_STRING},
    {"quorumType", EM_F_STRING},
    {"storageLimitPerProcessingUnit", EM_F_INT64},
    {"allowedStorageTypes", EM_F_STRING, true},
    {NULL}};
static const struct em_message instance_config_schema = {
    "google.spanner.admin.instance.v1.InstanceConfig", instance_config_fields};

static const struct em_field create_instance_config_fields[] = {
    {"instanceConfigId", EM_F_STRING},
    {"instanceConfig", EM_F_MESSAGE, false, &instance_config_schema},
    {"validateOnly", EM_F_BOOL},
    {NULL}};
const struct em_message sp_create_instance_config_schema = {
    "google.spanner.admin.instance.v1.CreateInstanceConfigRequest", create_instance_config_fields};

static const struct em_field update_instance_config_fields[] = {
    {"instanceConfig", EM_F_MESSAGE, false, &instance_config_schema},
    {"updateMask", EM_F_STRING},
    {"validateOnly", EM_F_BOOL},
    {NULL}};
const struct em_message sp_update_instance_config_schema = {
    "google.spanner.admin.instance.v1.UpdateInstanceConfigRequest", update_instance_config_fields};

static const struct em_enum instance_partition_state_enum = {
    "google.spanner.admin.instance.v1.InstancePartition.State", state_values};

static const struct em_field instance_partition_fields[] = {
    {"name", EM_F_STRING},
    {"config", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"nodeCount", EM_F_INT32},
    {"processingUnits", EM_F_INT32},
    {"autoscalingConfig", EM_F_ANY},
    {"state", EM_F_ENUM, false, NULL, &instance_partition_state_enum},
    {"createTime", EM_F_TIMESTAMP},
    {"updateTime", EM_F_TIMESTAMP},
    {"referencingDatabases", EM_F_STRING, true},
    {"referencingBackups", EM_F_STRING, true},
    {"etag", EM_F_STRING},
    {NULL}};
static const struct em_message instance_partition_schema = {
    "google.spanner.admin.instance.v1.InstancePartition", instance_partition_fields};

static const struct em_field create_instance_partition_fields[] = {
    {"instancePartitionId", EM_F_STRING},
    {"instancePartition", EM_F_MESSAGE, false, &instance_partition_schema},
    {NULL}};
const struct em_message sp_create_instance_partition_schema = {
    "google.spanner.admin.instance.v1.CreateInstancePartitionRequest",
    create_instance_partition_fields};

static const struct em_field update_instance_partition_fields[] = {
    {"instancePartition", EM_F_MESSAGE, false, &instance_partition_schema},
    {"fieldMask", EM_F_STRING},
    {NULL}};
const struct em_message sp_update_instance_partition_schema = {
    "google.spanner.admin.instance.v1.UpdateInstancePartitionRequest",
    update_instance_partition_fields};

static const struct em_field single_region_fields[] = {{"servingLocation", EM_F_STRING}, {NULL}};
static const struct em_message single_region_schema = {
    "google.spanner.admin.database.v1.SingleRegionQuorum", single_region_fields};
static const struct em_field dual_region_fields[] = {{NULL}};
static const struct em_message dual_region_schema = {
    "google.spanner.admin.database.v1.DualRegionQuorum", dual_region_fields};
static const struct em_field quorum_type_fields[] = {
    {"singleRegion", EM_F_MESSAGE, false, &single_region_schema},
    {"dualRegion", EM_F_MESSAGE, false, &dual_region_schema},
    {NULL}};
static const struct em_message quorum_type_schema = {"google.spanner.admin.database.v1.QuorumType",
                                                     quorum_type_fields};
static const struct em_field change_quorum_fields[] = {
    {"name", EM_F_STRING},
    {"quorumType", EM_F_MESSAGE, false, &quorum_type_schema},
    {"etag", EM_F_STRING},
    {NULL}};
const struct em_message sp_change_quorum_schema = {
    "google.spanner.admin.database.v1.ChangeQuorumRequest", change_quorum_fields};

static const struct em_field instance_encryption_fields[] = {
    {"kmsKeyName", EM_F_STRING}, {"kmsKeyNames", EM_F_STRING, true}, {NULL}};
static const struct em_message instance_encryption_schema = {
    "google.spanner.admin.instance.v1.InstanceEncryptionConfig", instance_encryption_fields};

static const struct em_field database_move_fields[] = {
    {"databaseId", EM_F_STRING},
    {"encryptionConfig", EM_F_MESSAGE, false, &instance_encryption_schema},
    {NULL}};
static const struct em_message database_move_schema = {
    "google.spanner.admin.instance.v1.DatabaseMoveConfig", database_move_fields};

static const struct em_field move_instance_fields[] = {
    {"targetConfig", EM_F_STRING},
    {"targetDatabaseMoveConfigs", EM_F_MESSAGE, true, &database_move_schema},
    {NULL}};
const struct em_message sp_move_instance_schema = {
    "google.spanner.admin.instance.v1.MoveInstanceRequest", move_instance_fields};

static const struct em_field create_instance_fields[] = {
    {"instanceId", EM_F_STRING},
    {"instance", EM_F_MESSAGE, false, &sp_instance_schema},
    {"tags", EM_F_MAP},
    {NULL}};
const struct em_message sp_create_instance_schema = {
    "google.spanner.admin.instance.v1.CreateInstanceRequest", create_instance_fields};

static const struct em_field update_instance_fields[] = {
    {"instance", EM_F_MESSAGE, false, &sp_instance_schema}, {"fieldMask", EM_F_STRING}, {NULL}};
const struct em_message sp_update_instance_schema = {
    "google.spanner.admin.instance.v1.UpdateInstanceRequest", update_instance_fields};

static const struct em_field encryption_fields[] = {
    {"kmsKeyName", EM_F_STRING}, {"kmsKeyNames", EM_F_STRING, true}, {NULL}};
static const struct em_message encryption_schema = {
    "google.spanner.admin.database.v1.EncryptionConfig", encryption_fields};

static const struct em_field create_database_fields[] = {
    {"createStatement", EM_F_STRING},
    {"extraStatements", EM_F_STRING, true},
    {"encryptionConfig", EM_F_MESSAGE, false, &encryption_schema},
    {"databaseDialect", EM_F_ENUM, false, NULL, &dialect_enum},
    {"protoDescriptors", EM_F_BYTES},
    {NULL}};
const struct em_message sp_create_database_schema = {
    "google.spanner.admin.database.v1.CreateDatabaseRequest", create_database_fields};

static const struct em_field update_ddl_fields[] = {{"statements", EM_F_STRING, true},
                                                    {"operationId", EM_F_STRING},
                                                    {"protoDescriptors", EM_F_BYTES},
                                                    {"throughputMode", EM_F_BOOL},
                                                    {NULL}};
const struct em_message sp_update_ddl_schema = {
    "google.spanner.admin.database.v1.UpdateDatabaseDdlRequest", update_ddl_fields};

static const struct em_field database_fields[] = {
    {"name", EM_F_STRING},
    {"state", EM_F_ENUM, false, NULL, &db_state_enum},
    {"createTime", EM_F_TIMESTAMP},
    {"restoreInfo", EM_F_ANY},
    {"encryptionConfig", EM_F_MESSAGE, false, &encryption_schema},
    {"encryptionInfo", EM_F_ANY, true},
    {"versionRetentionPeriod", EM_F_STRING},
    {"earliestVersionTime", EM_F_TIMESTAMP},
    {"defaultLeader", EM_F_STRING},
    {"databaseDialect", EM_F_ENUM, false, NULL, &dialect_enum},
    {"enableDropProtection", EM_F_BOOL},
    {"reconciling", EM_F_BOOL},
    {"quorumInfo", EM_F_ANY}, /* output only (dual-region quorums), taken and ignored */
    {NULL}};
const struct em_message sp_database_schema = {"google.spanner.admin.database.v1.Database",
                                              database_fields};

static const struct em_field list_instances_fields[] = {
    {"instances", EM_F_MESSAGE, true, &sp_instance_schema}, {NULL}};
const struct em_message sp_list_instances_reply = {
    "google.spanner.admin.instance.v1.ListInstancesResponse", list_instances_fields};

static const struct em_field list_databases_fields[] = {
    {"databases", EM_F_MESSAGE, true, &sp_database_schema}, {NULL}};
const struct em_message sp_list_databases_reply = {
    "google.spanner.admin.database.v1.ListDatabasesResponse", list_databases_fields};

/* --- backups and restore --- */

static const struct em_enum_value backup_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"CREATING", 1}, {"READY", 2}, {NULL}};
static const struct em_enum backup_state_enum = {"google.spanner.admin.database.v1.Backup.State",
                                                 backup_state_values};

static const struct em_field backup_fields[] = {
    {"name", EM_F_STRING},
    {"database", EM_F_STRING},
    {"versionTime", EM_F_TIMESTAMP},
    {"expireTime", EM_F_TIMESTAMP},
    {"createTime", EM_F_TIMESTAMP},
    {"sizeBytes", EM_F_INT64},
    {"freeableSizeBytes", EM_F_INT64},
    {"exclusiveSizeBytes", EM_F_INT64},
    {"state", EM_F_ENUM, false, NULL, &backup_state_enum},
    {"referencingDatabases", EM_F_STRING, true},
    {"encryptionInfo", EM_F_ANY},
    {"encryptionInformation", EM_F_ANY, true},
    {"databaseDialect", EM_F_ENUM, false, NULL, &dialect_enum},
    {"referencingBackups", EM_F_STRING, true},
    {"maxExpireTime", EM_F_TIMESTAMP},
    {"backupSchedules", EM_F_STRING, true},
    {"incrementalBackupChainId", EM_F_STRING},
    {"oldestVersionTime", EM_F_TIMESTAMP},
    {"instancePartitions", EM_F_ANY, true},
    {NULL}};
const struct em_message sp_backup_schema = {"google.spanner.admin.database.v1.Backup",
                                            backup_fields};

static const struct em_field list_backups_fields[] = {
    {"backups", EM_F_MESSAGE, true, &sp_backup_schema}, {NULL}};
const struct em_message sp_list_backups_reply = {
    "google.spanner.admin.database.v1.ListBackupsResponse", list_backups_fields};

/* CopyBackupEncryptionConfig and RestoreDatabaseEncryptionConfig share their numbers. */
static const struct em_enum_value inherit_encryption_values[] = {
    {"ENCRYPTION_TYPE_UNSPECIFIED", 0},
    {"USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION", 1},
    {"GOOGLE_DEFAULT_ENCRYPTION", 2},
    {"CUSTOMER_MANAGED_ENCRYPTION", 3},
    {NULL}};
static const struct em_enum copy_encryption_enum = {
    "google.spanner.admin.database.v1.CopyBackupEncryptionConfig.EncryptionType",
    inherit_encryption_values};
static const struct em_enum restore_encryption_enum = {
    "google.spanner.admin.database.v1.RestoreDatabaseEncryptionConfig.EncryptionType",
    inherit_encryption_values};

static const struct em_field copy_encryption_fields[] = {
    {"encryptionType", EM_F_ENUM, false, NULL, &copy_encryption_enum},
    {"kmsKeyName", EM_F_STRING},
    {"kmsKeyNames", EM_F_STRING, true},
    {NULL}};
static const struct em_message copy_encryption_schema = {
    "google.spanner.admin.database.v1.CopyBackupEncryptionConfig", copy_encryption_fields};

static const struct em_field restore_encryption_fields[] = {
    {"encryptionType", EM_F_ENUM, false, NULL, &restore_encryption_enum},
    {"kmsKeyName", EM_F_STRING},
    {"kmsKeyNames", EM_F_STRING, true},
    {NULL}};
static const struct em_message restore_encryption_schema = {
    "google.spanner.admin.database.v1.RestoreDatabaseEncryptionConfig", restore_encryption_fields};

static const struct em_field copy_backup_fields[] = {
    {"backupId", EM_F_STRING},
    {"sourceBackup", EM_F_STRING},
    {"expireTime", EM_F_TIMESTAMP},
    {"encryptionConfig", EM_F_MESSAGE, false, &copy_encryption_schema},
    {NULL}};
const struct em_message sp_copy_backup_schema = {
    "google.spanner.admin.database.v1.CopyBackupRequest", copy_backup_fields};

static const struct em_field restore_database_fields[] = {
    {"databaseId", EM_F_STRING},
    {"backup", EM_F_STRING},
    {"encryptionConfig", EM_F_MESSAGE, false, &restore_encryption_schema},
    {NULL}};
const struct em_message sp_restore_database_schema = {
    "google.spanner.admin.database.v1.RestoreDatabaseRequest", restore_database_fields};

/* The query string's CreateBackupEncryptionConfig, checked as a message of its own. */
static const struct em_enum_value create_encryption_values[] = {{"ENCRYPTION_TYPE_UNSPECIFIED", 0},
                                                                {"USE_DATABASE_ENCRYPTION", 1},
                                                                {"GOOGLE_DEFAULT_ENCRYPTION", 2},
                                                                {"CUSTOMER_MANAGED_ENCRYPTION", 3},
                                                                {NULL}};
static const struct em_enum create_encryption_enum = {
    "google.spanner.admin.database.v1.CreateBackupEncryptionConfig.EncryptionType",
    create_encryption_values};
static const struct em_field create_encryption_fields[] = {
    {"encryptionType", EM_F_ENUM, false, NULL, &create_encryption_enum},
    {"kmsKeyName", EM_F_STRING},
    {"kmsKeyNames", EM_F_STRING, true},
    {NULL}};
const struct em_message sp_create_backup_encryption_schema = {
    "google.spanner.admin.database.v1.CreateBackupEncryptionConfig", create_encryption_fields};

/* --- backup schedules --- */

static const struct em_field empty_fields[] = {{NULL}};
static const struct em_message full_backup_spec_schema = {
    "google.spanner.admin.database.v1.FullBackupSpec", empty_fields};
static const struct em_message incremental_backup_spec_schema = {
    "google.spanner.admin.database.v1.IncrementalBackupSpec", empty_fields};
static const struct em_field crontab_spec_fields[] = {
    {"text", EM_F_STRING}, {"timeZone", EM_F_STRING}, {"creationWindow", EM_F_DURATION}, {NULL}};
static const struct em_message crontab_spec_schema = {
    "google.spanner.admin.database.v1.CrontabSpec", crontab_spec_fields};
static const struct em_field schedule_spec_fields[] = {
    {"cronSpec", EM_F_MESSAGE, false, &crontab_spec_schema}, {NULL}};
static const struct em_message schedule_spec_schema = {
    "google.spanner.admin.database.v1.BackupScheduleSpec", schedule_spec_fields};
static const struct em_field backup_schedule_fields[] = {
    {"name", EM_F_STRING},
    {"spec", EM_F_MESSAGE, false, &schedule_spec_schema},
    {"retentionDuration", EM_F_DURATION},
    {"encryptionConfig", EM_F_MESSAGE, false, &sp_create_backup_encryption_schema},
    {"fullBackupSpec", EM_F_MESSAGE, false, &full_backup_spec_schema},
    {"incrementalBackupSpec", EM_F_MESSAGE, false, &incremental_backup_spec_schema},
    {"updateTime", EM_F_TIMESTAMP},
    {NULL}};
const struct em_message sp_backup_schedule_schema = {
    "google.spanner.admin.database.v1.BackupSchedule", backup_schedule_fields};

static const struct em_field list_backup_schedules_fields[] = {
    {"backupSchedules", EM_F_MESSAGE, true, &sp_backup_schedule_schema}, {NULL}};
const struct em_message sp_list_backup_schedules_reply = {
    "google.spanner.admin.database.v1.ListBackupSchedulesResponse", list_backup_schedules_fields};

cJSON *sp_json_backup_metadata(const char *backup, const char *source_field, const char *source)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "name", backup);
    cJSON_AddStringToObject(md, source_field, source);
    return md;
}

bool sp_json_mark_ready(cJSON *resource)
{
    const char *state = em_json_string(resource, "state");
    if (!cJSON_GetObjectItem(resource, "reconciling") && state && strcmp(state, "READY") == 0)
        return false;
    cJSON_DeleteItemFromObject(resource, "reconciling");
    cJSON_DeleteItemFromObject(resource, "state");
    cJSON_AddStringToObject(resource, "state", "READY");
    return true;
}

cJSON *sp_json_instance_metadata(cJSON *instance)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddItemToObject(md, "instance", instance);
    return md;
}

cJSON *sp_json_create_database_metadata(const char *database)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "database", database);
    return md;
}

cJSON *sp_json_update_database_metadata(const cJSON *database, const char *update_mask, int64_t now)
{
    cJSON *md = cJSON_CreateObject();
    cJSON *request = cJSON_AddObjectToObject(md, "request");
    cJSON_AddItemToObject(request, "database", cJSON_Duplicate(database, true));
    cJSON_AddStringToObject(request, "updateMask", update_mask);
    cJSON *progress = cJSON_AddObjectToObject(md, "progress");
    cJSON_AddNumberToObject(progress, "progressPercent", 100);
    em_json_add_time(progress, "startTime", now);
    em_json_add_time(progress, "endTime", now);
    return md;
}

cJSON *sp_json_update_ddl_metadata(const char *database, const cJSON *statements, int64_t now)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "database", database);
    cJSON_AddItemToObject(md, "statements", cJSON_Duplicate(statements, true));
    cJSON *stamps = cJSON_AddArrayToObject(md, "commitTimestamps");
    char text[EM_TIME_TEXT_MAX];
    em_time_format(now, text);
    for (int i = 0; i < cJSON_GetArraySize(statements); i++)
        cJSON_AddItemToArray(stamps, cJSON_CreateString(text));
    return md;
}
