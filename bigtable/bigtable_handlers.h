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

/* IAM on an instance or a table: NOT_FOUND unless it exists. */
enum em_code bt_iam_resource_check(struct em_call *call);

#endif
