/*
 * bigtable_json: request schemas and operation metadata of Bigtable's APIs (see
 * bigtable_json.h). Enum numbers are those of google/bigtable/admin/v2/instance.proto and
 * table.proto.
 */
#include "bigtable_json.h"

#include "em_json.h"

#define ADMIN "google.bigtable.admin.v2."
#define DATA  "google.bigtable.v2."

/* --- admin: instances and clusters --- */

static const struct em_enum_value instance_state_values[] = {
    {"STATE_NOT_KNOWN", 0}, {"READY", 1}, {"CREATING", 2}, {NULL}};
static const struct em_enum instance_state_enum = {ADMIN "Instance.State", instance_state_values};

static const struct em_enum_value instance_type_values[] = {
    {"TYPE_UNSPECIFIED", 0}, {"PRODUCTION", 1}, {"DEVELOPMENT", 2}, {NULL}};
static const struct em_enum instance_type_enum = {ADMIN "Instance.Type", instance_type_values};

static const struct em_field instance_fields[] = {
    {"name", EM_F_STRING},
    {"displayName", EM_F_STRING},
    {"state", EM_F_ENUM, false, NULL, &instance_state_enum},
    {"type", EM_F_ENUM, false, NULL, &instance_type_enum},
    {"labels", EM_F_MAP},
    {"createTime", EM_F_TIMESTAMP},
    {"satisfiesPzs", EM_F_BOOL},
    {"satisfiesPzi", EM_F_BOOL},
    {"tags", EM_F_MAP},
    {"edition", EM_F_STRING},
    {NULL}};
const struct em_message bt_instance_schema = {ADMIN "Instance", instance_fields};

static const struct em_enum_value cluster_state_values[] = {{"STATE_NOT_KNOWN", 0}, {"READY", 1},
                                                            {"CREATING", 2},        {"RESIZING", 3},
                                                            {"DISABLED", 4},        {NULL}};
static const struct em_enum cluster_state_enum = {ADMIN "Cluster.State", cluster_state_values};

static const struct em_enum_value storage_type_values[] = {
    {"STORAGE_TYPE_UNSPECIFIED", 0}, {"SSD", 1}, {"HDD", 2}, {NULL}};
static const struct em_enum storage_type_enum = {ADMIN "StorageType", storage_type_values};

static const struct em_enum_value scaling_factor_values[] = {{"NODE_SCALING_FACTOR_UNSPECIFIED", 0},
                                                             {"NODE_SCALING_FACTOR_1X", 1},
                                                             {"NODE_SCALING_FACTOR_2X", 2},
                                                             {NULL}};
static const struct em_enum scaling_factor_enum = {ADMIN "Cluster.NodeScalingFactor",
                                                   scaling_factor_values};

static const struct em_field limits_fields[] = {
    {"minServeNodes", EM_F_INT32}, {"maxServeNodes", EM_F_INT32}, {NULL}};
static const struct em_message limits_schema = {ADMIN "AutoscalingLimits", limits_fields};

static const struct em_field targets_fields[] = {
    {"cpuUtilizationPercent", EM_F_INT32}, {"storageUtilizationGibPerNode", EM_F_INT32}, {NULL}};
static const struct em_message targets_schema = {ADMIN "AutoscalingTargets", targets_fields};

static const struct em_field autoscaling_fields[] = {
    {"autoscalingLimits", EM_F_MESSAGE, false, &limits_schema},
    {"autoscalingTargets", EM_F_MESSAGE, false, &targets_schema},
    {NULL}};
static const struct em_message autoscaling_schema = {ADMIN "Cluster.ClusterAutoscalingConfig",
                                                     autoscaling_fields};

static const struct em_field cluster_config_fields[] = {
    {"clusterAutoscalingConfig", EM_F_MESSAGE, false, &autoscaling_schema}, {NULL}};
static const struct em_message cluster_config_schema = {ADMIN "Cluster.ClusterConfig",
                                                        cluster_config_fields};

static const struct em_field encryption_fields[] = {{"kmsKeyName", EM_F_STRING}, {NULL}};
static const struct em_message encryption_schema = {ADMIN "Cluster.EncryptionConfig",
                                                    encryption_fields};

static const struct em_field cluster_fields[] = {
    {"name", EM_F_STRING},
    {"location", EM_F_STRING},
    {"state", EM_F_ENUM, false, NULL, &cluster_state_enum},
    {"serveNodes", EM_F_INT32},
    {"nodeScalingFactor", EM_F_ENUM, false, NULL, &scaling_factor_enum},
    {"clusterConfig", EM_F_MESSAGE, false, &cluster_config_schema},
    {"defaultStorageType", EM_F_ENUM, false, NULL, &storage_type_enum},
    {"encryptionConfig", EM_F_MESSAGE, false, &encryption_schema},
    {NULL}};
const struct em_message bt_cluster_schema = {ADMIN "Cluster", cluster_fields};

static const struct em_field create_instance_fields[] = {
    {"parent", EM_F_STRING},
    {"instanceId", EM_F_STRING},
    {"instance", EM_F_MESSAGE, false, &bt_instance_schema},
    {"clusters", EM_F_MAP, false, &bt_cluster_schema},
    {NULL}};
const struct em_message bt_create_instance_schema = {ADMIN "CreateInstanceRequest",
                                                     create_instance_fields};

/* --- admin: tables --- */

extern const struct em_message bt_gc_rule_schema;
static const struct em_field gc_rules_fields[] = {{"rules", EM_F_MESSAGE, true, &bt_gc_rule_schema},
                                                  {NULL}};
static const struct em_message gc_intersection_schema = {ADMIN "GcRule.Intersection",
                                                         gc_rules_fields};
static const struct em_message gc_union_schema = {ADMIN "GcRule.Union", gc_rules_fields};
static const struct em_field gc_rule_fields[] = {
    {"maxNumVersions", EM_F_INT32},
    {"maxAge", EM_F_DURATION},
    {"intersection", EM_F_MESSAGE, false, &gc_intersection_schema},
    {"union", EM_F_MESSAGE, false, &gc_union_schema},
    {NULL}};
const struct em_message bt_gc_rule_schema = {ADMIN "GcRule", gc_rule_fields};

static const struct em_field family_fields[] = {{"gcRule", EM_F_MESSAGE, false, &bt_gc_rule_schema},
                                                {"stats", EM_F_ANY},
                                                {"valueType", EM_F_ANY},
                                                {NULL}};
static const struct em_message family_schema = {ADMIN "ColumnFamily", family_fields};

static const struct em_enum_value granularity_values[] = {
    {"TIMESTAMP_GRANULARITY_UNSPECIFIED", 0}, {"MILLIS", 1}, {NULL}};
static const struct em_enum granularity_enum = {ADMIN "Table.TimestampGranularity",
                                                granularity_values};

static const struct em_field change_stream_fields[] = {{"retentionPeriod", EM_F_DURATION}, {NULL}};
static const struct em_message change_stream_schema = {ADMIN "ChangeStreamConfig",
                                                       change_stream_fields};
static const struct em_field backup_policy_fields[] = {
    {"retentionPeriod", EM_F_DURATION}, {"frequency", EM_F_DURATION}, {NULL}};
static const struct em_message backup_policy_schema = {ADMIN "Table.AutomatedBackupPolicy",
                                                       backup_policy_fields};
static const struct em_field tier_rule_fields[] = {{"includeIfOlderThan", EM_F_DURATION}, {NULL}};
static const struct em_message tier_rule_schema = {ADMIN "TieredStorageRule", tier_rule_fields};
static const struct em_field tiered_storage_fields[] = {
    {"infrequentAccess", EM_F_MESSAGE, false, &tier_rule_schema}, {NULL}};
static const struct em_message tiered_storage_schema = {ADMIN "TieredStorageConfig",
                                                        tiered_storage_fields};

static const struct em_field table_fields[] = {
    {"name", EM_F_STRING},
    {"clusterStates", EM_F_ANY},
    {"columnFamilies", EM_F_MAP, false, &family_schema},
    {"granularity", EM_F_ENUM, false, NULL, &granularity_enum},
    {"restoreInfo", EM_F_ANY},
    {"changeStreamConfig", EM_F_MESSAGE, false, &change_stream_schema},
    {"deletionProtection", EM_F_BOOL},
    {"automatedBackupPolicy", EM_F_MESSAGE, false, &backup_policy_schema},
    {"rowKeySchema", EM_F_ANY},
    {"tieredStorageConfig", EM_F_MESSAGE, false, &tiered_storage_schema},
    {"stats", EM_F_ANY},
    {NULL}};
const struct em_message bt_table_schema = {ADMIN "Table", table_fields};

static const struct em_field split_fields[] = {{"key", EM_F_BYTES}, {NULL}};
static const struct em_message split_schema = {ADMIN "CreateTableRequest.Split", split_fields};

static const struct em_field create_table_fields[] = {
    {"tableId", EM_F_STRING},
    {"table", EM_F_MESSAGE, false, &bt_table_schema},
    {"initialSplits", EM_F_MESSAGE, true, &split_schema},
    {NULL}};
const struct em_message bt_create_table_schema = {ADMIN "CreateTableRequest", create_table_fields};

static const struct em_field modification_fields[] = {
    {"id", EM_F_STRING},
    {"create", EM_F_MESSAGE, false, &family_schema},
    {"update", EM_F_MESSAGE, false, &family_schema},
    {"drop", EM_F_BOOL},
    {"updateMask", EM_F_STRING},
    {NULL}};
static const struct em_message modification_schema = {
    ADMIN "ModifyColumnFamiliesRequest.Modification", modification_fields};

static const struct em_field modify_families_fields[] = {
    {"name", EM_F_STRING},
    {"modifications", EM_F_MESSAGE, true, &modification_schema},
    {"ignoreWarnings", EM_F_BOOL},
    {NULL}};
const struct em_message bt_modify_families_schema = {ADMIN "ModifyColumnFamiliesRequest",
                                                     modify_families_fields};

static const struct em_field drop_row_range_fields[] = {{"name", EM_F_STRING},
                                                        {"rowKeyPrefix", EM_F_BYTES},
                                                        {"deleteAllDataFromTable", EM_F_BOOL},
                                                        {NULL}};
const struct em_message bt_drop_row_range_schema = {ADMIN "DropRowRangeRequest",
                                                    drop_row_range_fields};

/* UndeleteTableRequest: an empty body (the name is the path's). */
static const struct em_field undelete_table_fields[] = {{"name", EM_F_STRING}, {NULL}};
const struct em_message bt_undelete_table_schema = {ADMIN "UndeleteTableRequest",
                                                    undelete_table_fields};

/* GenerateConsistencyTokenRequest and CheckConsistencyRequest (bigtable_consistency.h). */
static const struct em_field generate_token_fields[] = {{"name", EM_F_STRING}, {NULL}};
const struct em_message bt_generate_token_schema = {ADMIN "GenerateConsistencyTokenRequest",
                                                    generate_token_fields};
static const struct em_field no_fields[] = {{NULL}};
static const struct em_message standard_read_schema = {ADMIN "StandardReadRemoteWrites", no_fields};
static const struct em_message data_boost_read_schema = {ADMIN "DataBoostReadLocalWrites",
                                                         no_fields};
static const struct em_field check_consistency_fields[] = {
    {"name", EM_F_STRING},
    {"consistencyToken", EM_F_STRING},
    {"standardReadRemoteWrites", EM_F_MESSAGE, false, &standard_read_schema},
    {"dataBoostReadLocalWrites", EM_F_MESSAGE, false, &data_boost_read_schema},
    {NULL}};
const struct em_message bt_check_consistency_schema = {ADMIN "CheckConsistencyRequest",
                                                       check_consistency_fields};

/* --- admin: app profiles --- */

static const struct em_message row_affinity_schema = {
    ADMIN "AppProfile.MultiClusterRoutingUseAny.RowAffinity", no_fields};

static const struct em_field multi_fields[] = {
    {"clusterIds", EM_F_STRING, true},
    {"rowAffinity", EM_F_MESSAGE, false, &row_affinity_schema},
    {NULL}};
static const struct em_message multi_schema = {ADMIN "AppProfile.MultiClusterRoutingUseAny",
                                               multi_fields};

static const struct em_field single_fields[] = {
    {"clusterId", EM_F_STRING}, {"allowTransactionalWrites", EM_F_BOOL}, {NULL}};
static const struct em_message single_schema = {ADMIN "AppProfile.SingleClusterRouting",
                                                single_fields};

static const struct em_enum_value priority_values[] = {{"PRIORITY_UNSPECIFIED", 0},
                                                       {"PRIORITY_LOW", 1},
                                                       {"PRIORITY_MEDIUM", 2},
                                                       {"PRIORITY_HIGH", 3},
                                                       {NULL}};
static const struct em_enum priority_enum = {ADMIN "AppProfile.Priority", priority_values};

/* memoryConfig (the memory layer) is refused by name in bigtable_admin: not built */
static const struct em_field standard_isolation_fields[] = {
    {"priority", EM_F_ENUM, false, NULL, &priority_enum}, {"memoryConfig", EM_F_ANY}, {NULL}};
static const struct em_message standard_isolation_schema = {ADMIN "AppProfile.StandardIsolation",
                                                            standard_isolation_fields};

static const struct em_enum_value billing_owner_values[] = {
    {"COMPUTE_BILLING_OWNER_UNSPECIFIED", 0}, {"HOST_PAYS", 1}, {NULL}};
static const struct em_enum billing_owner_enum = {
    ADMIN "AppProfile.DataBoostIsolationReadOnly.ComputeBillingOwner", billing_owner_values};

static const struct em_field data_boost_fields[] = {
    {"computeBillingOwner", EM_F_ENUM, false, NULL, &billing_owner_enum}, {NULL}};
static const struct em_message data_boost_schema = {ADMIN "AppProfile.DataBoostIsolationReadOnly",
                                                    data_boost_fields};

static const struct em_field app_profile_fields[] = {
    {"name", EM_F_STRING},
    {"etag", EM_F_STRING},
    {"description", EM_F_STRING},
    {"multiClusterRoutingUseAny", EM_F_MESSAGE, false, &multi_schema},
    {"singleClusterRouting", EM_F_MESSAGE, false, &single_schema},
    {"priority", EM_F_ENUM, false, NULL, &priority_enum},
    {"standardIsolation", EM_F_MESSAGE, false, &standard_isolation_schema},
    {"dataBoostIsolationReadOnly", EM_F_MESSAGE, false, &data_boost_schema},
    {NULL}};
const struct em_message bt_app_profile_schema = {ADMIN "AppProfile", app_profile_fields};

/* --- data --- */

static const struct em_field time_range_fields[] = {
    {"startTimestampMicros", EM_F_INT64}, {"endTimestampMicros", EM_F_INT64}, {NULL}};
static const struct em_message time_range_schema = {DATA "TimestampRange", time_range_fields};

static const struct em_field set_cell_fields[] = {{"familyName", EM_F_STRING},
                                                  {"columnQualifier", EM_F_BYTES},
                                                  {"timestampMicros", EM_F_INT64},
                                                  {"value", EM_F_BYTES},
                                                  {NULL}};
static const struct em_message set_cell_schema = {DATA "Mutation.SetCell", set_cell_fields};

static const struct em_field delete_column_fields[] = {
    {"familyName", EM_F_STRING},
    {"columnQualifier", EM_F_BYTES},
    {"timeRange", EM_F_MESSAGE, false, &time_range_schema},
    {NULL}};
static const struct em_message delete_column_schema = {DATA "Mutation.DeleteFromColumn",
                                                       delete_column_fields};

static const struct em_field delete_family_fields[] = {{"familyName", EM_F_STRING}, {NULL}};
static const struct em_message delete_family_schema = {DATA "Mutation.DeleteFromFamily",
                                                       delete_family_fields};

static const struct em_field delete_row_fields[] = {{NULL}};
static const struct em_message delete_row_schema = {DATA "Mutation.DeleteFromRow",
                                                    delete_row_fields};

/* google.bigtable.v2.Value: the kinds AddToCell and MergeToCell read are typed; the others
 * (and type) are left to bigtable_mutation, which refuses them by name */
static const struct em_field value_fields[] = {
    {"type", EM_F_ANY},         {"rawValue", EM_F_BYTES},     {"rawTimestampMicros", EM_F_INT64},
    {"bytesValue", EM_F_BYTES}, {"stringValue", EM_F_STRING}, {"intValue", EM_F_INT64},
    {"boolValue", EM_F_BOOL},   {"floatValue", EM_F_DOUBLE},  {"timestampValue", EM_F_TIMESTAMP},
    {"dateValue", EM_F_ANY},    {"arrayValue", EM_F_ANY},     {NULL}};
static const struct em_message value_schema = {DATA "Value", value_fields};

static const struct em_field aggregate_cell_fields[] = {
    {"familyName", EM_F_STRING},
    {"columnQualifier", EM_F_MESSAGE, false, &value_schema},
    {"timestamp", EM_F_MESSAGE, false, &value_schema},
    {"input", EM_F_MESSAGE, false, &value_schema},
    {NULL}};
static const struct em_message add_to_cell_schema = {DATA "Mutation.AddToCell",
                                                     aggregate_cell_fields};
static const struct em_message merge_to_cell_schema = {DATA "Mutation.MergeToCell",
                                                       aggregate_cell_fields};

static const struct em_field mutation_fields[] = {
    {"setCell", EM_F_MESSAGE, false, &set_cell_schema},
    {"deleteFromColumn", EM_F_MESSAGE, false, &delete_column_schema},
    {"deleteFromFamily", EM_F_MESSAGE, false, &delete_family_schema},
    {"deleteFromRow", EM_F_MESSAGE, false, &delete_row_schema},
    {"addToCell", EM_F_MESSAGE, false, &add_to_cell_schema},
    {"mergeToCell", EM_F_MESSAGE, false, &merge_to_cell_schema},
    {NULL}};
static const struct em_message mutation_schema = {DATA "Mutation", mutation_fields};

static const struct em_field mutate_row_fields[] = {
    {"tableName", EM_F_STRING},
    {"authorizedViewName", EM_F_STRING},
    {"appProfileId", EM_F_STRING},
    {"rowKey", EM_F_BYTES},
    {"mutations", EM_F_MESSAGE, true, &mutation_schema},
    {"idempotency", EM_F_ANY},
    {NULL}};
const struct em_message bt_mutate_row_schema = {DATA "MutateRowRequest", mutate_row_fields};

static const struct em_field entry_fields[] = {
    {"rowKey", EM_F_BYTES}, {"mutations", EM_F_MESSAGE, true, &mutation_schema}, {NULL}};
static const struct em_message entry_schema = {DATA "MutateRowsRequest.Entry", entry_fields};

static const struct em_field mutate_rows_fields[] = {{"tableName", EM_F_STRING},
                                                     {"authorizedViewName", EM_F_STRING},
                                                     {"appProfileId", EM_F_STRING},
                                                     {"entries", EM_F_MESSAGE, true, &entry_schema},
                                                     {NULL}};
const struct em_message bt_mutate_rows_schema = {DATA "MutateRowsRequest", mutate_rows_fields};

static const struct em_field range_fields[] = {{"startKeyClosed", EM_F_BYTES},
                                               {"startKeyOpen", EM_F_BYTES},
                                               {"endKeyOpen", EM_F_BYTES},
                                               {"endKeyClosed", EM_F_BYTES},
                                               {NULL}};
static const struct em_message range_schema = {DATA "RowRange", range_fields};

static const struct em_field row_set_fields[] = {
    {"rowKeys", EM_F_BYTES, true}, {"rowRanges", EM_F_MESSAGE, true, &range_schema}, {NULL}};
static const struct em_message row_set_schema = {DATA "RowSet", row_set_fields};

static const struct em_field read_rows_fields[] = {{"tableName", EM_F_STRING},
                                                   {"authorizedViewName", EM_F_STRING},
                                                   {"materializedViewName", EM_F_STRING},
                                                   {"appProfileId", EM_F_STRING},
                                                   {"rows", EM_F_MESSAGE, false, &row_set_schema},
                                                   {"filter", EM_F_ANY},
                                                   {"rowsLimit", EM_F_INT64},
                                                   {"requestStatsView", EM_F_STRING},
                                                   {"reversed", EM_F_BOOL},
                                                   {NULL}};
const struct em_message bt_read_rows_schema = {DATA "ReadRowsRequest", read_rows_fields};

static const struct em_field check_and_mutate_fields[] = {
    {"tableName", EM_F_STRING},
    {"authorizedViewName", EM_F_STRING},
    {"appProfileId", EM_F_STRING},
    {"rowKey", EM_F_BYTES},
    {"predicateFilter", EM_F_ANY},
    {"trueMutations", EM_F_MESSAGE, true, &mutation_schema},
    {"falseMutations", EM_F_MESSAGE, true, &mutation_schema},
    {NULL}};
const struct em_message bt_check_and_mutate_schema = {DATA "CheckAndMutateRowRequest",
                                                      check_and_mutate_fields};

static const struct em_field rule_fields[] = {{"familyName", EM_F_STRING},
                                              {"columnQualifier", EM_F_BYTES},
                                              {"appendValue", EM_F_BYTES},
                                              {"incrementAmount", EM_F_INT64},
                                              {NULL}};
static const struct em_message rule_schema = {DATA "ReadModifyWriteRule", rule_fields};

static const struct em_field read_modify_write_fields[] = {
    {"tableName", EM_F_STRING},
    {"authorizedViewName", EM_F_STRING},
    {"appProfileId", EM_F_STRING},
    {"rowKey", EM_F_BYTES},
    {"rules", EM_F_MESSAGE, true, &rule_schema},
    {NULL}};
const struct em_message bt_read_modify_write_schema = {DATA "ReadModifyWriteRowRequest",
                                                       read_modify_write_fields};

static const struct em_field ping_fields[] = {
    {"name", EM_F_STRING}, {"appProfileId", EM_F_STRING}, {NULL}};
const struct em_message bt_ping_schema = {DATA "PingAndWarmRequest", ping_fields};

/* --- operation metadata --- */

cJSON *bt_json_request_metadata(const cJSON *request, int64_t now)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddItemToObject(md, "originalRequest",
                          request ? cJSON_Duplicate(request, true) : cJSON_CreateObject());
    em_json_add_time(md, "requestTime", now);
    return md;
}

cJSON *bt_json_table_metadata(const char *name)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "name", name);
    return md;
}
