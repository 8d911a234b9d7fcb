/*
 * spanner_data: where each Spanner database's rows live, and the one door to them.
 *
 * Every database has its own em_datastore (em_datastore.h): one SQLite file,
 * page-encrypted under the database's DEK (the CMEK engine's three layers: DEK -> KEK ->
 * the customer's key), at <data dir>/spanner/<project>+<instance>+<database>.db, whose
 * writer thread runs every statement on it. The rows are stored as spanner_schema.h
 * describes (one SQLite table per Spanner table, triggers for Spanner's constraints).
 *
 *   sp_data_create   a new database: a new file with its schema (the canonical DDL)
 *   sp_data_attach   a database known from before a restart (or whose file was put in
 *                    place by a restore): the schema from its DDL, the file as it is
 *   sp_data_update_ddl  DDL statements applied to the schema and the rows, all or nothing
 *   sp_data_drop     crypto-shredding: keys forgotten, file removed
 *   sp_data_find     the database's data (sp_db), to run jobs on it
 *
 * The schema (struct sp_schema) and the per-file statement cache are touched only by jobs
 * on the writer thread (sp_db_run), so they need no lock. Jobs handed to sp_db_run get the
 * database, its schema and the open file's cache; they never fail their batch: a job
 * that fails undoes its own work (a savepoint) and reports its error through sp_db_run,
 * so the other jobs of a group commit are not run again.
 *
 * Statement cache: the SQLite statements prepared for a file, keyed by their SQLite text,
 * each with the tables it reads and writes (collected by SQLite's authorizer while it is
 * prepared: what the transactions of spanner_txn.h validate and mark). Cleared when the
 * schema changes.
 */
#ifndef SPANNER_DATA_H
#define SPANNER_DATA_H

#include "em_status.h"
#include "spanner_admin.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct em_cmek;
struct em_datastore;
struct em_datafile;
struct sp_schema;
struct sp_data;
struct sp_db;

#define SP_DATA_PATH_MAX 1024

/* Opens the registry; data_dir/spanner is created if missing. cmek: the service's engine. */
enum em_code sp_data_open(struct em_cmek *cmek, const char *data_dir, struct sp_data **out,
                          struct em_status *st);
/* Closes every database's file (the data stays) and frees the registry. */
void sp_data_close(struct sp_data *data);

/* The file a database's rows live in. */
void sp_data_path(const struct sp_data *data, const char *database, char out[SP_DATA_PATH_MAX]);

/* A new database (already protected by the CMEK engine): an empty file with the schema of
 * ddl (a JSON array of DDL statements). ALREADY_EXISTS if it is known. */
enum em_code sp_data_create(struct sp_data *data, const char *database, const cJSON *ddl,
                            struct em_status *st);
/* A database whose file exists already (after a restart, or put in place by a restore):
 * known from now on with the schema of ddl. The file opens on first use. */
enum em_code sp_data_attach(struct sp_data *data, const char *database, const cJSON *ddl,
                            struct em_status *st);
/* Applies statements (a JSON array of DDL strings) to the schema and the stored rows at
 * once, all or nothing: a statement the existing rows violate (NOT NULL, UNIQUE, CHECK,
 * foreign key) fails the whole with Spanner's error and changes nothing. */
enum em_code sp_data_update_ddl(struct sp_data *data, const char *database, const cJSON *statements,
                                struct em_status *st);
/* Crypto-shreds the database's data: keys forgotten (forget_keys false when the caller
 * already did), file removed (its sessions are the session registry's to forget). From
 * then on its data calls answer NOT_FOUND. Unknown: OK. */
enum em_code sp_data_drop(struct sp_data *data, const char *database, bool forget_keys,
                          struct em_status *st);
/* Forgets every database (internal:reset): each is dropped as above. */
void sp_data_drop_all(struct sp_data *data);

/* The database's data, or NULL (NOT_FOUND "Database not found" in st). Callers hold no
 * reference: an sp_db stays allocated until sp_data_close, even once dropped (then its
 * calls answer NOT_FOUND). */
struct sp_db *sp_data_find(struct sp_data *data, const char *database, struct em_status *st);
const char *sp_db_name(const struct sp_db *db);
/* Its datastore (for backups: em_datastore_open, em_datastore_name). */
struct em_datastore *sp_db_datastore(struct sp_db *db);

/* --- jobs on the writer thread --- */

/* A prepared statement of the cache, with what it touches. */
struct sp_stmt {
    char *sql;
    sqlite3_stmt *stmt;
    char **reads, **writes; /* table names (SQLite's spelling of the schema's) */
    int nreads, nwrites;
    void *extra; /* owned by whoever cached it (freed with extra_free) */
    void (*extra_free)(void *extra);
};

/* What a job gets. */
struct sp_job_ctx {
    struct sp_db *db;
    struct em_datafile *file;
    sqlite3 *sqlite;
    struct sp_schema *schema;
    int64_t now; /* emulator time when the job started (CURRENT_TIMESTAMP) */
};

typedef enum em_code (*sp_job_fn)(struct sp_job_ctx *ctx, void *arg, struct em_status *st);

/* Passes the CMEK gate, runs fn on the database's writer thread inside a savepoint (rolled
 * back when fn fails) and waits until its batch committed. fn's status is returned. */
enum em_code sp_db_run(struct sp_db *db, sp_job_fn fn, void *arg, struct em_status *st);
/* sp_db_run without waiting, for calls answered from the HTTP thread: a job made by
 * sp_db_job_new (NULL: out of memory) is queued by sp_db_job_submit on the writer thread,
 * and done(done_arg) runs there once its batch committed (it must not block), or at once
 * on the caller's thread when it could not be queued (the gate, the file). Then
 * sp_db_job_end answers fn's status (or why it did not run) and frees the job. */
struct sp_db_job;
struct sp_db_job *sp_db_job_new(struct sp_db *db, sp_job_fn fn, void *arg);
void sp_db_job_submit(struct sp_db_job *job, void (*done)(void *done_arg), void *done_arg);
enum em_code sp_db_job_end(struct sp_db_job *job, struct em_status *st);
/* The gate alone (sessions.create). */
enum em_code sp_db_gate(struct sp_db *db, struct em_status *st);

/* The cached statement for sql (prepared now if new), or NULL with st set (the
 * translator's or SQLite's error as Spanner's). For jobs only. */
struct sp_stmt *sp_job_stmt(struct sp_job_ctx *ctx, const char *sql, struct em_status *st);
/* A cached statement by key, NULL when absent; and caching a statement under a key other
 * than its SQL (the translation of a GoogleSQL text). */
struct sp_stmt *sp_job_cached(struct sp_job_ctx *ctx, const char *key);
enum em_code sp_job_cache(struct sp_job_ctx *ctx, const char *key, struct sp_stmt *stmt,
                          struct em_status *st);
/* Prepares sql with its read/write tables (not cached): free with sp_stmt_free. */
struct sp_stmt *sp_job_prepare(struct sp_job_ctx *ctx, const char *sql, struct em_status *st);
void sp_stmt_free(struct sp_stmt *stmt);

/* Commit sequence numbers (spanner_txn.h): bumped by every commit that wrote; per table,
 * the last commit that wrote it. Jobs only, except sp_db_commit_seq (any thread). */
uint64_t sp_db_commit_seq(struct sp_db *db);
uint64_t sp_job_table_seq(struct sp_job_ctx *ctx, const char *table);

/* The write log: the keys of the rows recent commits wrote, each with its commit's seq.
 * A committing job calls sp_job_track_writes() first: from then on SQLite's pre-update
 * hook records the key of every row the job inserts, updates or deletes (its triggers'
 * cascades included); sp_job_mark_written() then gives the commit a new seq, marks the
 * tables and moves the rows into the log. A job that fails records nothing. The log keeps
 * at most WRITE_LOG_MAX rows and is pruned below the oldest live transaction
 * (sp_data_prune_writes); a transaction older than what was pruned is validated by
 * tables, as is one whose rows could not be recorded. */
void sp_job_track_writes(struct sp_job_ctx *ctx);
/* The running commit is a row deletion policy's (its change records say so); or one whose
 * transaction asked to be left out of the change streams that allow it. */
void sp_job_mark_system(struct sp_job_ctx *ctx);
/* The running commit's transaction: left out of the change streams that allow it, and its
 * tag (NULL: none), for its change records. */
void sp_job_mark_transaction(struct sp_job_ctx *ctx, bool exclude, const char *tag);
/* Before sp_job_mark_written: the change streams' records of the rows the job wrote
 * (spanner_change_records.h), in its transaction; an error fails the commit. */
enum em_code sp_job_write_changes(struct sp_job_ctx *ctx, struct em_status *st);
/* Marks the tables written by a commit with a new sequence number, logs its rows and
 * returns the seq. */
uint64_t sp_job_mark_written(struct sp_job_ctx *ctx, char *const *tables, int ntables);
/* Whether a commit after seq since wrote a row of table in span (NULL: any row), or may
 * have (the log does not reach back that far, a schema change since, an unknown table). */
struct sp_key_span;
bool sp_job_changed_since(struct sp_job_ctx *ctx, const char *table, const struct sp_key_span *span,
                          uint64_t since);
/* Forgets the log's rows of commits up to seq up_to (any thread). */
void sp_db_prune_writes(struct sp_db *db, uint64_t up_to);
/* Prunes every database's log below oldest(arg, db), the start seq of its oldest live
 * read-write transaction (UINT64_MAX: none). Called with the registry's lock held. */
void sp_data_prune_writes(struct sp_data *data, uint64_t (*oldest)(void *arg, struct sp_db *db),
                          void *arg);
/* Puts the database's rows back as they were at at_ns (a restored backup's versionTime),
 * from the row versions its file holds, and forgets the versions after that. */
enum em_code sp_data_rewind(struct sp_data *data, const char *database, int64_t at_ns,
                            struct em_status *st);
/* How long the database keeps row versions: its version_retention_period (ALTER DATABASE
 * ... SET OPTIONS), 1 h by default (any thread). */
int64_t sp_db_version_retention(struct sp_db *db);
/* The time before which the database's row versions may be gone although its retention
 * period would keep them (the cap on versions, a retention period that grew); 0 when
 * none, or while its file has not been opened since the start. */
int64_t sp_data_versions_floor(struct sp_data *data, const char *database);
/* Forgets the row versions (spanner_schema.h) older than each database's retention period,
 * in each database whose versions were not pruned in the last minute. From the service's
 * tick. */
void sp_data_prune_versions(struct sp_data *data, int64_t now);
/* The next database whose file is open and whose row deletion policies were not applied
 * in the last minute of emulator time (it is marked as applied at now), or NULL: the
 * service's tick applies them (sp_exec_row_deletion). A file nobody opened since the start
 * waits for its first use. */
struct sp_db *sp_data_next_row_deletion(struct sp_data *data, int64_t now);
/* The row versions a table keeps at most (500,000; the tests set fewer): beyond, the
 * pruning forgets the oldest and reads before the newest of those are refused. */
void sp_data_set_versions_max(struct sp_data *data, int max);
/* What the next statement's CURRENT_TIMESTAMP(), GENERATE_UUID() and
 * GET_NEXT_SEQUENCE_VALUE() return (struct sp_sql_clock): now_ns (0: the job's time),
 * UUIDs from uuid_seed (16 bytes; NULL: random ones), and draws' values before new ones
 * (appended to it; NULL: new ones, not recorded). */
struct sp_sequence_draws;
void sp_job_statement_clock(struct sp_job_ctx *ctx, int64_t now_ns, const unsigned char *uuid_seed,
                            struct sp_sequence_draws *draws);
/* The job's commit timestamp (ns since the epoch, microsecond-distinct and increasing),
 * the same for every call in one job (the version triggers read it as sp_commit_ns()). */
int64_t sp_job_commit_time(struct sp_job_ctx *ctx);
/* A read at read_ns (ns since the epoch; 0: the latest) in a job: *at is the timestamp
 * whose versions it must read, or 0 when the current rows are the rows at read_ns
 * (nothing committed after it). Either way, every later commit is stamped after read_ns,
 * so a read-only transaction's reads agree with each other. FAILED_PRECONDITION when
 * versions it needs were forgotten (a table keeps 500,000 at most). */
enum em_code sp_job_read_time(struct sp_job_ctx *ctx, int64_t read_ns, int64_t *at,
                              struct em_status *st);

#endif
