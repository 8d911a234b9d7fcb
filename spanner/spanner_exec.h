/*
 * spanner_exec: the statements of the data plane, run as jobs on a database's writer
 * thread (spanner_data.h): GoogleSQL queries and DML (translated by spanner_sql_translate,
 * cached with their prepared statement per file, keyed by the SQL text and the declared
 * parameter types), reads by key set, and commits of a transaction's DML and mutations.
 *
 * Within a read-write transaction (spanner_txn.h) a statement first replays the
 * transaction's earlier DML inside a savepoint, so it sees the transaction's own writes,
 * and everything is rolled back after it: writes are applied only by the commit, which
 * validates the transaction and replays its DML, then applies its mutations, in one job.
 * A partitioned-DML transaction applies its statement at once (translated with
 * sp_translate_partitioned's rules). Without a transaction (single-use) or in a read-only
 * one, DML is refused.
 *
 * PENDING_COMMIT_TIMESTAMP() in DML writes a placeholder (SP_PENDING_COMMIT_TIMESTAMP of
 * spanner_sql_translate.h) that the commit replaces with its timestamp, in the same job
 * (Partitioned DML: at once). Until then the transaction cannot read a table it wrote one
 * to (a query of it, UPDATE/DELETE of it, THEN RETURN, a read): INVALID_ARGUMENT "Table T
 * cannot be accessed because it, or its associated index, has a pending CommitTimestamp",
 * as Spanner answers.
 *
 * Results are google.spanner.v1.ResultSet parts: the row type's fields (name and Type
 * JSON), the rows in Spanner's JSON value encoding, and for DML the exact row count.
 */
#ifndef SPANNER_EXEC_H
#define SPANNER_EXEC_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sp_db;
struct sp_txn;

/* One statement runs on its database's writer thread, ahead of every other call to the
 * database, for at most this long: past it, DEADLINE_EXCEEDED (a runaway cross join must
 * not hold the database). */
#define SP_STATEMENT_TIME_LIMIT_S 60
/* Tests only: another limit, in milliseconds (0: SP_STATEMENT_TIME_LIMIT_S again). */
void sp_exec_set_time_limit_ms(int64_t ms);
/* The most a result holds, in bytes of its values as stored: executeSql and read, as in
 * Spanner (FAILED_PRECONDITION: the streaming API yields more); their streaming forms
 * when their rows are collected (DML's THEN RETURN; RESOURCE_EXHAUSTED). A query's rows
 * stream as they come (struct sp_row_sink) and have no such bound. */
#define SP_RESULT_MAX_BYTES        (10L * 1024 * 1024)
#define SP_STREAM_RESULT_MAX_BYTES (256L * 1024 * 1024)

/* Where a streaming call's query rows go as the statement produces them, on the caller's
 * thread (spanner_stream.h): chunks in order, the sink taking what they hold. A failure
 * stops the statement. Rows a statement collects instead (DML) stay in the result. */
struct sp_row_chunk {
    cJSON *fields;     /* the first chunk only: rowType.fields */
    cJSON *undeclared; /* the first chunk only: undeclaredParameters.fields, or NULL */
    cJSON *values;     /* the chunk's rows' values, flattened */
    int64_t rows;
};
struct sp_row_sink {
    enum em_code (*chunk)(void *arg, struct sp_row_chunk *chunk);
    void *arg;
};
/* A chunk (one PartialResultSet) holds this many rows, or fewer of this many bytes of
 * values as stored. */
#define SP_STREAM_CHUNK_ROWS  100
#define SP_STREAM_CHUNK_BYTES (1024 * 1024)
struct sp_stream;

/* The most mutations one commit applies, counted as Spanner counts them (an insert or
 * update as its number of columns, a delete as one): more is INVALID_ARGUMENT. */
#define SP_MUTATIONS_MAX 80000

struct sp_result {
    cJSON *fields;            /* rowType.fields */
    cJSON *rows;              /* a list of rows, each a list of values */
    bool dml;                 /* rowCountExact applies */
    bool lower_bound;         /* Partitioned DML: rowCountLowerBound instead */
    int64_t row_count;        /* DML: rows changed */
    bool planned;             /* queryMode PLAN: nothing ran (no rows, no row count) */
    cJSON *query_plan;        /* PLAN, PROFILE, WITH_PLAN_AND_STATS: QueryPlan (spanner_plan.h) */
    cJSON *query_stats;       /* PROFILE, WITH_STATS, WITH_PLAN_AND_STATS: queryStats */
    cJSON *undeclared;        /* undeclaredParameters.fields: untyped parameters' inferred types */
    int64_t nrows;            /* rows produced (collected, or handed to a sink) */
    struct sp_stream *stream; /* private to spanner_exec.c */
};
void sp_result_clear(struct sp_result *result);

/* executeSql's queryMode. */
enum sp_query_mode {
    SP_QUERY_NORMAL,
    SP_QUERY_PLAN,    /* the plan only: the statement does not run */
    SP_QUERY_PROFILE, /* runs; the plan and the statistics of its execution */
    SP_QUERY_WITH_STATS,
    SP_QUERY_WITH_PLAN_AND_STATS,
};

/* A statement of executeSql or executeBatchDml. */
struct sp_sql_request {
    const char *sql;
    const cJSON *params;      /* Struct: name -> value, or NULL */
    const cJSON *param_types; /* name -> Type, or NULL */
    enum sp_query_mode mode;
    int64_t read_ns; /* a single-use read at this timestamp (0: strong; see sp_read_at) */
    /* the session's database role: the statement needs its privileges (spanner_roles.h), and
     * INFORMATION_SCHEMA shows what the role sees; NULL: no role */
    const char *role;
    bool streaming; /* executeStreamingSql: the result may reach SP_STREAM_RESULT_MAX_BYTES */
    const struct sp_row_sink *sink; /* or NULL: rows collected (sp_exec_sql only) */
    bool dml_only; /* executeBatchDml's statement number `index`: a query is refused */
    int index;
    /* private to spanner_exec.c: what CURRENT_TIMESTAMP(), GENERATE_UUID() and
     * GET_NEXT_SEQUENCE_VALUE() return when
     * a read-write transaction's DML runs again (struct sp_sql_clock); 0 and NULL: the
     * request's time, random UUIDs */
    int64_t now_ns;
    const unsigned char *uuid_seed;
    struct sp_sequence_draws *draws; /* GET_NEXT_SEQUENCE_VALUE(): see sp_job_statement_clock */
    /* private too: a mutation's statement, whose parameter vN is a value written to column
     * written[N] of table written_table (a bad one is named by its column); NULL otherwise */
    const struct sp_column *const *written;
    int nwritten;
    const char *written_table;
    /* set once the caller's client has gone (em_call.client_gone): the statement stops,
     * CANCELLED; NULL: it runs to its end */
    const atomic_bool *client_gone;
};

/* Runs one statement in txn (NULL: a single-use strong read). A DML statement of a
 * read-write transaction is recorded in it (to replay at commit) and its tables read. */
enum em_code sp_exec_sql(struct sp_db *db, struct sp_txn *txn, const struct sp_sql_request *stmt,
                         struct sp_result *out, struct em_status *st);

/* executeBatchDml: the statements in order in txn (read-write), stopping at the first that
 * fails; *ran receives how many succeeded (their results in out[0..ran)) and st the
 * failure, if any; the successful ones are recorded in txn. */
enum em_code sp_exec_batch_dml(struct sp_db *db, struct sp_txn *txn,
                               const struct sp_sql_request *stmts, int count, struct sp_result *out,
                               int *ran, struct em_status *st);

/* read / streamingRead. */
struct sp_read {
    const char *table;
    const char *index; /* or NULL: by primary key */
    const cJSON *columns;
    const cJSON *key_set;
    int64_t limit;   /* 0: none */
    int64_t read_ns; /* a single-use read at this timestamp (0: strong) */
    bool streaming;  /* streamingRead: the result may reach SP_STREAM_RESULT_MAX_BYTES */
    const struct sp_row_sink *sink; /* or NULL: rows collected */
    const char *role;               /* needs SELECT on each column; NULL: no role */
    const atomic_bool *client_gone; /* as in struct sp_sql_request */
};
enum em_code sp_exec_read(struct sp_db *db, struct sp_txn *txn, const struct sp_read *read,
                          struct sp_result *out, struct em_status *st);

/* commit: txn (read-write, validated: ABORTED on conflict) or NULL (single-use: only the
 * mutations). mutations: the list of Mutation objects. exclude: a single-use commit's
 * excludeTxnFromChangeStreams (a transaction's own is used when txn is given). */
struct sp_commit {
    int64_t commit_ns;
    int64_t mutation_count;
};
enum em_code sp_exec_commit(struct sp_db *db, struct sp_txn *txn, const cJSON *mutations,
                            bool exclude, const char *role, struct sp_commit *out,
                            struct em_status *st);
/* A single-use commit without waiting (sp_db_job_submit): prepared, then submitted;
 * done(done_arg) runs once it committed or failed (on the writer thread, or at once when
 * it could not be queued); sp_exec_commit_end then answers its outcome and frees it.
 * mutations must outlive it. */
struct sp_commit_op;
enum em_code sp_exec_commit_prepare(struct sp_db *db, const cJSON *mutations, bool exclude,
                                    const char *tag, const char *role, struct sp_commit_op **out,
                                    struct em_status *st);
void sp_exec_commit_submit(struct sp_commit_op *op, void (*done)(void *done_arg), void *done_arg);
enum em_code sp_exec_commit_end(struct sp_commit_op *op, struct sp_commit *out,
                                struct em_status *st);

/* Row deletion policies (ROW DELETION POLICY (OLDER_THAN(col, INTERVAL n DAY))): deletes,
 * in one commit, every row of the database whose col is more than n days before now (the
 * emulator clock), as Spanner's background deletion does, interleaved children with ON
 * DELETE CASCADE included. A table whose deletion fails (a child under NO ACTION) is left
 * as it is and logged. *deleted: the rows deleted from the policies' tables. */
/* Change streams (spanner_change_records.h). sp_exec_change_query: EM_NOT_FOUND, no
 * status, when the request's SQL does not read a change stream; else the query, checked
 * against the schema. sp_exec_change_fetch appends to rows the records of the stream
 * committed in (after_ns, *upto_ns] and lowers *upto_ns to now when it is later: every
 * commit after this call has a later timestamp. */
struct sp_change_query;
enum em_code sp_exec_change_query(struct sp_db *db, const struct sp_sql_request *request,
                                  struct sp_change_query *q, struct em_status *st);
enum em_code sp_exec_change_fetch(struct sp_db *db, const char *stream, int64_t after_ns,
                                  int64_t *upto_ns, cJSON *rows, struct em_status *st);

enum em_code sp_exec_row_deletion(struct sp_db *db, int64_t now, int64_t *deleted,
                                  struct em_status *st);

#endif
