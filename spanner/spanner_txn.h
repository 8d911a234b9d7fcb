/*
 * spanner_txn: Spanner transactions, optimistic and serializable, run concurrently.
 *
 * A read-write transaction never locks anything. It records what it read (the tables
 * each of its statements and reads touched, as SQLite's authorizer reports them when the
 * statement is prepared: spanner_data.h) and buffers its writes: the DML statements it ran
 * (each ran in a savepoint that was rolled back, after replaying the earlier ones, so it
 * saw its own transaction's writes and answered its row count) and the mutations it was
 * sent at commit. Its commit, a job on the database's writer thread (so commits are
 * totally ordered), first validates, then applies:
 *
 *   begin:   start_seq = the database's commit sequence number now
 *   commit:  for each table read: if its last writing commit's seq > start_seq -> ABORTED
 *            "Transaction was aborted." (someone committed a change it may have read
 *            after it began: serializability would break); else replay the DML, apply the
 *            mutations, give the commit a timestamp and mark every table written with a
 *            new seq.
 *
 * Conflicts are per table: two transactions that read and write different rows of one
 * table conflict (the second to commit is aborted, and the client retries, as with
 * Spanner's own aborts); blind writes (mutations without reads) never conflict. Schema
 * changes count as a write of everything. Read-only transactions (and single-use reads)
 * read the latest committed state and validate nothing.
 *
 * Transactions live in memory only (a restart loses those in flight, as an abort would).
 * Their ids are 16 random bytes in base64. One call at a time uses a transaction: the
 * lookup locks it until sp_txn_release.
 */
#ifndef SPANNER_TXN_H
#define SPANNER_TXN_H

#include "em_status.h"
#include "spanner_admin.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct sp_db;
struct sp_txns;

enum sp_txn_mode { SP_TXN_READ_WRITE, SP_TXN_READ_ONLY, SP_TXN_PARTITIONED_DML };

#define SP_TXN_ID_MAX  32
#define SP_TXN_IDLE_NS (3600LL * 1000000000LL)

/* One DML statement of a read-write transaction, replayed at commit. */
struct sp_dml {
    char *sql;
    cJSON *params, *param_types;
};

struct sp_txn {
    char id[SP_TXN_ID_MAX];
    char session[SP_NAME_MAX];
    struct sp_db *db;
    enum sp_txn_mode mode;
    uint64_t start_seq;
    int64_t begin_ns, last_use_ns;
    char **reads; /* lower-case table names */
    int nreads;
    /* lower-case names of the tables its DML wrote PENDING_COMMIT_TIMESTAMP() to: they
     * cannot be read until the commit (Spanner's rule; spanner_exec.h) */
    char **pending;
    int npending;
    struct sp_dml *dmls;
    int ndmls;
    /* private */
    pthread_mutex_t lock;
    int refs;
    bool finished;
    struct sp_txn *next;
};

enum em_code sp_txns_open(struct sp_txns **out, struct em_status *st);
void sp_txns_close(struct sp_txns *txns);

/* A new transaction of session on db; returned locked and referenced (sp_txn_release). */
enum em_code sp_txn_begin(struct sp_txns *txns, struct sp_db *db, const char *session,
                          enum sp_txn_mode mode, int64_t now, struct sp_txn **out,
                          struct em_status *st);
/* The transaction with this id (base64, as the API sends it) of session, locked and
 * referenced; NOT_FOUND "Transaction not found" when unknown, finished, or another
 * session's. */
enum em_code sp_txn_find(struct sp_txns *txns, const char *id, const char *session, int64_t now,
                         struct sp_txn **out, struct em_status *st);
/* Unlocks and drops the reference. */
void sp_txn_release(struct sp_txns *txns, struct sp_txn *txn);
/* Committed, aborted or rolled back: the id answers NOT_FOUND from now on. */
void sp_txn_finish(struct sp_txns *txns, struct sp_txn *txn);

/* Records tables read (any case), tables holding a pending commit timestamp (any case),
 * and a DML statement to replay (copied). */
enum em_code sp_txn_add_reads(struct sp_txn *txn, char *const *tables, int ntables,
                              struct em_status *st);
enum em_code sp_txn_add_pending(struct sp_txn *txn, char *const *tables, int ntables,
                                struct em_status *st);
/* Whether table (any case) holds a pending commit timestamp of the transaction. */
bool sp_txn_is_pending(const struct sp_txn *txn, const char *table);
enum em_code sp_txn_add_dml(struct sp_txn *txn, const char *sql, const cJSON *params,
                            const cJSON *param_types, struct em_status *st);

/* The commit's validation: true when a table the transaction read was written by a
 * commit after it began. table_seq(arg, table) answers the last commit that wrote table. */
bool sp_txn_conflicts(const struct sp_txn *txn, uint64_t (*table_seq)(void *arg, const char *table),
                      void *arg);

/* Drops transactions idle for SP_TXN_IDLE_NS (the service's tick). */
void sp_txns_expire(struct sp_txns *txns, int64_t now);
/* Drops the transactions of a session, or every one (session NULL). */
void sp_txns_forget(struct sp_txns *txns, const char *session);

#endif
