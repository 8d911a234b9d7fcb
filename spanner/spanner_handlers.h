/*
 * spanner_handlers: the REST handlers of Spanner's admin plane and the work of its
 * long-running operations.
 */
#ifndef SPANNER_HANDLERS_H
#define SPANNER_HANDLERS_H

#include "em_call.h"
#include "em_operations.h"

#include <stddef.h>

/* What the service's handlers share (svc->ctx), also the operations' work's context. */
struct sp_ctx {
    struct sp_admin *admin;                /* instances, databases (spanner_admin.h) */
    struct sp_backups *backups;            /* backups and restores (spanner_backup.h) */
    struct sp_backup_schedules *schedules; /* spanner_backup_schedules.h */
    struct sp_data *data;                  /* the databases' rows (spanner_data.h) */
    struct sp_sessions *sessions;          /* spanner_session.h */
    struct sp_txns *txns;                  /* spanner_txn.h */
};

/* The kinds of operation (em_operations.h) the service opens its module with. */
extern const struct em_op_type sp_op_types[];
extern const size_t sp_op_type_count;

enum em_code sp_list_instance_configs(struct em_call *call);
enum em_code sp_get_instance_config(struct em_call *call);
enum em_code sp_create_instance_config(struct em_call *call);
enum em_code sp_update_instance_config(struct em_call *call);
enum em_code sp_delete_instance_config(struct em_call *call);
enum em_code sp_list_instance_config_operations(struct em_call *call);

enum em_code sp_create_instance(struct em_call *call);
enum em_code sp_list_instances(struct em_call *call);
enum em_code sp_get_instance(struct em_call *call);
enum em_code sp_update_instance(struct em_call *call);
enum em_code sp_move_instance(struct em_call *call);
enum em_code sp_change_quorum(struct em_call *call);
enum em_code sp_create_instance_partition(struct em_call *call);
enum em_code sp_get_instance_partition(struct em_call *call);
enum em_code sp_list_instance_partitions(struct em_call *call);
enum em_code sp_update_instance_partition(struct em_call *call);
enum em_code sp_delete_instance_partition(struct em_call *call);
enum em_code sp_list_instance_partition_operations(struct em_call *call);
enum em_code sp_delete_instance(struct em_call *call);

enum em_code sp_create_database(struct em_call *call);
enum em_code sp_list_databases(struct em_call *call);
enum em_code sp_get_database(struct em_call *call);
enum em_code sp_get_database_ddl(struct em_call *call);
enum em_code sp_list_database_roles(struct em_call *call);
enum em_code sp_update_database_ddl(struct em_call *call);
enum em_code sp_update_database(struct em_call *call);
enum em_code sp_drop_database(struct em_call *call);

enum em_code sp_create_backup(struct em_call *call);
enum em_code sp_copy_backup(struct em_call *call);
enum em_code sp_list_backups(struct em_call *call);
enum em_code sp_get_backup(struct em_call *call);
enum em_code sp_update_backup(struct em_call *call);
enum em_code sp_delete_backup(struct em_call *call);
enum em_code sp_restore_database(struct em_call *call);
enum em_code sp_list_backup_operations(struct em_call *call);
enum em_code sp_list_database_operations(struct em_call *call);

enum em_code sp_create_backup_schedule(struct em_call *call);
enum em_code sp_list_backup_schedules(struct em_call *call);
enum em_code sp_get_backup_schedule(struct em_call *call);
enum em_code sp_update_backup_schedule(struct em_call *call);
enum em_code sp_delete_backup_schedule(struct em_call *call);
/* The service's tick: makes the backups whose scheduled time the emulator clock reached,
 * each with its CreateBackup operation, as a backups.create call would. */
void sp_run_backup_schedules(struct em_service *svc, int64_t now);

/* IAM on an instance, a database, a backup schedule or a backup: NOT_FOUND unless it
 * exists. */
enum em_code sp_iam_resource_check(struct em_call *call);

#endif
