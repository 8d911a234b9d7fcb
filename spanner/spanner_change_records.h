/*
 * spanner_change_records: what a change stream streams, from the commit that writes a row
 * to the query that reads it (READ_<stream>(...)).
 *
 * Capture. While a job that commits runs, SQLite's pre-update hook hands every row it
 * writes (cascaded deletes included) to sp_change_capture, which keeps, for the tables a
 * change stream tracks, the operation and the row's old and new values in Spanner's JSON
 * encoding. When the job commits (sp_change_log_write, in its own transaction, so the
 * records are as durable as the rows), each change stream gets its data change records:
 * one per table and kind of change in a row of the transaction's writes, with the columns
 * it tracks, its value capture type applied and its excluded kinds left out. They are
 * stored, as the JSON of the record's STRUCT, in the database's encrypted file ("$changes",
 * by stream and commit timestamp), and kept for the stream's retention period.
 *
 * Queries. sp_change_query_parse reads SELECT ChangeRecord FROM READ_<stream>(start_timestamp,
 * end_timestamp, partition_token, heartbeat_milliseconds) with named or positional
 * arguments (literals, parameters, CURRENT_TIMESTAMP()), checked with Spanner's messages.
 * The emulator serves a change stream in one partition: the query without a partition
 * token answers one child partitions record with its token; the query with it streams the
 * data change records committed from start_timestamp on, heartbeats when nothing was
 * committed for heartbeat_milliseconds, and ends at end_timestamp (never, without one).
 */
#ifndef SPANNER_CHANGE_RECORDS_H
#define SPANNER_CHANGE_RECORDS_H

#include "spanner_schema.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>

/* The records: a stream's name in lower case, the commit, the record's place in it. */
#define SP_CHANGES_TABLE_SQL                                                                       \
    "CREATE TABLE IF NOT EXISTS \"$changes\" (stream TEXT NOT NULL, commit_ns INTEGER NOT NULL, "  \
    "seq INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (stream, commit_ns, seq)) WITHOUT "   \
    "ROWID;"

/* A change stream's retention period when its options set none. */
#define SP_CHANGE_RETENTION_DEFAULT_NS (24 * 3600 * 1000000000LL)

/* --- capture --- */

struct sp_change_log {
    cJSON *changes; /* [{"table", "op", "old", "new"}] in the order written, or NULL */
    bool failed;    /* a change could not be kept: the commit must fail */
};

/* Called from the pre-update hook (op SQLITE_INSERT, _UPDATE or _DELETE on table). */
void sp_change_capture(struct sp_change_log *log, const struct sp_schema *schema, sqlite3 *sqlite,
                       int op, const char *table);
void sp_change_log_clear(struct sp_change_log *log);
/* Writes every change stream's records of the captured changes, committed at commit_ns by
 * transaction txn (system: a row deletion policy's deletes; excluded: a transaction left
 * out of the streams whose allow_txn_exclusion is true; tag: its transaction tag), and
 * clears the log. */
enum em_code sp_change_log_write(struct sp_change_log *log, const struct sp_schema *schema,
                                 sqlite3 *sqlite, int64_t commit_ns, uint64_t txn, bool system,
                                 bool excluded, const char *tag, struct em_status *st);

/* --- retention --- */

int64_t sp_change_stream_retention(const struct sp_change_stream *cs);
/* The statements that forget the records past their stream's retention at now, and those
 * of streams that no longer exist. */
void sp_change_prune_sql(const struct sp_schema *schema, int64_t now, struct sp_buf *out);

/* --- queries --- */

struct sp_change_query {
    char stream[160]; /* the change stream, as the schema spells it */
    int64_t start_ns; /* start_timestamp */
    int64_t end_ns;   /* end_timestamp, or 0: none */
    bool initial;     /* partition_token NULL: answer the partition */
    int64_t heartbeat_ms;
};

/* Whether sql has the shape of a change stream's query (no schema needed: the data plane
 * asks before it looks at the schema on the database's thread). */
bool sp_change_query_shape(const char *sql);
/* EM_NOT_FOUND, the status untouched, when sql is not a query of READ_<name>(...); else
 * the query, checked against the schema and now (st set on an error). */
enum em_code sp_change_query_parse(const struct sp_schema *schema, const char *sql,
                                   const cJSON *params, const cJSON *param_types, int64_t now,
                                   struct sp_change_query *q, struct em_status *st);
/* The result's rowType (ChangeRecord ARRAY<STRUCT<...>>), and its rows' values: */
cJSON *sp_change_row_type(void);
cJSON *sp_change_partitions_row(const struct sp_change_query *q);
cJSON *sp_change_heartbeat_row(int64_t ns);
/* Appends to rows (a JSON array) the rows of the records of stream committed in
 * (after_ns, upto_ns], in commit order. */
enum em_code sp_change_fetch(sqlite3 *sqlite, const char *stream, int64_t after_ns, int64_t upto_ns,
                             cJSON *rows, struct em_status *st);

#endif
