/*
 * spanner_json: the request-body schemas of Spanner's admin API (google.spanner.admin.
 * instance.v1 and database.v1, as gcloud's generated client declares them) and the JSON of
 * the long-running operations' metadata.
 */
#ifndef SPANNER_JSON_H
#define SPANNER_JSON_H

#include "em_schema.h"

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <stdint.h>

/* A resource a create or update operation ends: state READY, no longer reconciling;
 * false when it was so already. */
bool sp_json_mark_ready(cJSON *resource);

extern const struct em_message sp_create_instance_config_schema;
extern const struct em_message sp_update_instance_config_schema;
extern const struct em_message sp_create_instance_schema;
extern const struct em_message sp_move_instance_schema;
extern const struct em_message sp_change_quorum_schema;
extern const struct em_message sp_create_instance_partition_schema;
extern const struct em_message sp_update_instance_partition_schema;
extern const struct em_message sp_update_instance_schema;
extern const struct em_message sp_create_database_schema;
extern const struct em_message sp_update_ddl_schema;
extern const struct em_message sp_backup_schema; /* also CreateBackup's and UpdateBackup's body */
extern const struct em_message sp_copy_backup_schema;
extern const struct em_message sp_restore_database_schema;
/* CreateBackup's encryptionConfig, which arrives in the query string */
extern const struct em_message sp_create_backup_encryption_schema;
extern const struct em_message sp_backup_schedule_schema; /* the body and reply of create, patch */
extern const struct em_message sp_list_backup_schedules_reply;

/* Replies with enums (answered as numbers on `$alt=json;enum-encoding=int`). */
extern const struct em_message sp_instance_schema;
extern const struct em_message sp_database_schema;
extern const struct em_message sp_list_instances_reply;
extern const struct em_message sp_list_databases_reply;
extern const struct em_message sp_list_backups_reply;

/* Operation metadata. Each takes ownership of resource. */
cJSON *sp_json_instance_metadata(cJSON *instance);
cJSON *sp_json_create_database_metadata(const char *database);
/* CreateBackupMetadata (source_field "database") and CopyBackupMetadata ("sourceBackup");
 * the operation adds its progress (em_op_type.progress_field). */
cJSON *sp_json_backup_metadata(const char *backup, const char *source_field, const char *source);
/* UpdateDatabaseMetadata: the request, and its progress (done when accepted). */
cJSON *sp_json_update_database_metadata(const cJSON *database, const char *update_mask,
                                        int64_t now);
cJSON *sp_json_update_ddl_metadata(const char *database, const cJSON *statements, int64_t now);

#endif
