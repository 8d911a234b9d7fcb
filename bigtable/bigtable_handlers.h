/*
 * bigtable_handlers: the REST handlers of Bigtable's admin plane (bigtable_handlers.c) and
 * data plane (bigtable_data_handlers.c), and the work of the admin's long-running
 * operations. Handlers find the service's parts through call->svc->ctx.
 */
#ifndef BIGTABLE_HANDLERS_H
#define BIGTABLE_HANDLERS_H

#include "em_call.h"
#include "em_operations.h"

#include <stddef.h>

#include "bigtable_data.h" /* struct bt_context */

/* The kinds of operation (em_operations.h) the service opens its module with. */
extern const struct em_op_type bt_op_types[];
extern const size_t bt_op_type_count;

/* instances */
enum em_code bt_create_instance(struct em_call *call);
enum em_code bt_get_instance(struct em_call *call);
enum em_code bt_list_instances(struct em_call *call);
enum em_code bt_update_instance(struct em_call *call);         /* PUT */
enum em_code bt_partial_update_instance(struct em_call *call); /* PATCH */
enum em_code bt_delete_instance(struct em_call *call);

/* clusters */
enum em_code bt_create_cluster(struct em_call *call);
enum em_code bt_get_cluster(struct em_call *call);
enum em_code bt_list_clusters(struct em_call *call);
enum em_code bt_update_cluster(struct em_call *call);         /* PUT */
enum em_code bt_partial_update_cluster(struct em_call *call); /* PATCH */
enum em_code bt_delete_cluster(struct em_call *call);

/* app profiles */
enum em_code bt_create_app_profile(struct em_call *call);
enum em_code bt_get_app_profile(struct em_call *call);
enum em_code bt_list_app_profiles(struct em_call *call);
enum em_code bt_update_app_profile(struct em_call *call);
enum em_code bt_delete_app_profile(struct em_call *call);

/* tables */
enum em_code bt_create_table(struct em_call *call);
enum em_code bt_get_table(struct em_call *call);
enum em_code bt_list_tables(struct em_call *call);
enum em_code bt_update_table(struct em_call *call);
enum em_code bt_delete_table(struct em_call *call);
enum em_code bt_undelete_table(struct em_call *call);
enum em_code bt_generate_consistency_token(struct em_call *call);
enum em_code bt_check_consistency(struct em_call *call);
enum em_code bt_modify_column_families(struct em_call *call);
enum em_code bt_drop_row_range(struct em_call *call);

/* data plane (bigtable_data_handlers.c) */
enum em_code bt_read_rows(struct em_call *call);
enum em_code bt_sample_row_keys(struct em_call *call);
enum em_code bt_mutate_row(struct em_call *call);
enum em_code bt_mutate_rows(struct em_call *call);
enum em_code bt_check_and_mutate_row(struct em_call *call);
enum em_code bt_read_modify_write_row(struct em_call *call);
enum em_code bt_ping_and_warm(struct em_call *call);

/* backups and restores (bigtable_backup_handlers.c) */
enum em_code bt_create_backup(struct em_call *call);
enum em_code bt_get_backup(struct em_call *call);
enum em_code bt_list_backups(struct em_call *call);
enum em_code bt_update_backup(struct em_call *call);
enum em_code bt_delete_backup(struct em_call *call);
enum em_code bt_copy_backup(struct em_call *call);
enum em_code bt_restore_table(struct em_call *call);
extern const struct em_message bt_backup_schema;
extern const struct em_message bt_copy_backup_schema;
extern const struct em_message bt_restore_table_schema;
/* The operations' work: the backup READY (CreateBackup, CopyBackup), the restored table. */
enum em_code bt_backup_ready_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                  cJSON **response, struct em_status *st);
enum em_code bt_restore_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                             cJSON **response, struct em_status *st);
/* Starts an operation of kind on resource, named under zone, and replies with it
 * (bigtable_handlers.c). */
/* authorized views (bigtable_view_handlers.c) */
enum em_code bt_create_authorized_view(struct em_call *call);
enum em_code bt_get_authorized_view(struct em_call *call);
enum em_code bt_list_authorized_views(struct em_call *call);
enum em_code bt_update_authorized_view(struct em_call *call);
enum em_code bt_delete_authorized_view(struct em_call *call);
extern const struct em_message bt_authorized_view_schema;
enum em_code bt_view_get_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                              cJSON **response, struct em_status *st);

enum em_code bt_handlers_start_operation(struct em_call *call, const char *resource,
                                         const char *zone, const char *kind, cJSON *metadata);

/* IAM on an instance, a table or a backup: NOT_FOUND unless it exists. */
enum em_code bt_iam_resource_check(struct em_call *call);

#endif
