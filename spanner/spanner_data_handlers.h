/*
 * spanner_data_handlers: the REST handlers of Spanner's data plane (sessions, executeSql,
 * executeStreamingSql, executeBatchDml, read, streamingRead, beginTransaction, commit,
 * batchWrite, rollback, partitionQuery, partitionRead) and their request schemas.
 */
#ifndef SPANNER_DATA_HANDLERS_H
#define SPANNER_DATA_HANDLERS_H

#include "em_call.h"
#include "em_schema.h"

enum em_code sp_create_session(struct em_call *call);
enum em_code sp_batch_create_sessions(struct em_call *call);
enum em_code sp_get_session(struct em_call *call);
enum em_code sp_list_sessions(struct em_call *call);
enum em_code sp_delete_session(struct em_call *call);
enum em_code sp_execute_sql(struct em_call *call);
enum em_code sp_execute_streaming_sql(struct em_call *call);
enum em_code sp_execute_batch_dml(struct em_call *call);
enum em_code sp_read(struct em_call *call);
enum em_code sp_streaming_read(struct em_call *call);
enum em_code sp_begin_transaction(struct em_call *call);
enum em_code sp_commit(struct em_call *call);
enum em_code sp_batch_write(struct em_call *call);
enum em_code sp_rollback(struct em_call *call);
enum em_code sp_partition_query(struct em_call *call);
enum em_code sp_partition_read(struct em_call *call);

/* Request bodies (google.spanner.v1 messages; nested messages are read by the handlers). */
extern const struct em_message sp_create_session_schema;
extern const struct em_message sp_batch_create_sessions_schema;
extern const struct em_message sp_execute_sql_schema;
extern const struct em_message sp_execute_batch_dml_schema;
extern const struct em_message sp_read_schema;
extern const struct em_message sp_begin_transaction_schema;
extern const struct em_message sp_commit_schema;
extern const struct em_message sp_batch_write_schema;
extern const struct em_message sp_rollback_schema;
extern const struct em_message sp_partition_query_schema;
extern const struct em_message sp_partition_read_schema;

#endif
