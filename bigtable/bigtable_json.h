/*
 * bigtable_json: the request-body schemas of Bigtable's admin API (google.bigtable.admin.v2,
 * as gcloud's generated client declares them) and data API (google.bigtable.v2), and the
 * JSON of the long-running operations' metadata.
 */
#ifndef BIGTABLE_JSON_H
#define BIGTABLE_JSON_H

#include "em_schema.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* admin */
extern const struct em_message bt_create_instance_schema;
extern const struct em_message bt_instance_schema;
extern const struct em_message bt_cluster_schema;
extern const struct em_message bt_create_table_schema;
extern const struct em_message bt_table_schema;
extern const struct em_message bt_modify_families_schema;
extern const struct em_message bt_drop_row_range_schema;
extern const struct em_message bt_undelete_table_schema;
extern const struct em_message bt_generate_token_schema;
extern const struct em_message bt_check_consistency_schema;
extern const struct em_message bt_app_profile_schema;

/* data */
extern const struct em_message bt_mutate_row_schema;
extern const struct em_message bt_mutate_rows_schema;
extern const struct em_message bt_read_rows_schema;
extern const struct em_message bt_check_and_mutate_schema;
extern const struct em_message bt_read_modify_write_schema;
extern const struct em_message bt_ping_schema;

/* Operation metadata: {originalRequest (a copy of request), requestTime}; the module sets
 * finishTime when the operation ends. */
cJSON *bt_json_request_metadata(const cJSON *request, int64_t now);
/* UpdateTableMetadata and UndeleteTableMetadata: {name} (startTime, endTime set by the module). */
cJSON *bt_json_table_metadata(const char *name);

#endif
