/*
 * spanner_txn: Spanner transactions, optimistic and serializable, run concurrently.
 *
 * A read-write transaction never locks anything. It records what it read and buffers its
 * writes: the DML statements it ran (each ran in a savepoint that was rolled back, after
 * replaying the earlier ones, so it saw its own transaction's writes and answered its row
 * count) and the mutations it was sent at commit. Its commit, a job on the database's
 * writer thread (so commits are totally ordered), first validates, then applies:
 *
 *   begin:   start_seq = the database's commit sequence number now
 *   commit:  for each read: if a commit after start_seq wrote a row the read covers ->
 *            ABORTED "Transaction was aborted. ..." (serializability would break);
 *            else replay the DML, apply the mutations, give the commit a timestamp and log
 *            the keys of the rows it wrote under a new seq (spanner_data.h: write log)
 *
 * What a read covers. A read (read/streamingRead) by primary key covers the keys and key
 * ranges of its KeySet (sp_key_spans: so a range read conflicts with a later insert into
 * the range, a phantom); SQL whose WHERE pins a prefix of its one table's key covers
 * those keys, an INSERT ... VALUES nothing of its table (spanner_sql_keys.h); KeySet all,
 * a read by index and other SQL (a query, or DML, which reads before it writes) cover
 * their tables whole. So two transactions
 * that read and write different rows of a table by key both commit; one that read a row
 * (or a range holding a key) another committed after it began is aborted, and the client
 * retries, as with Spanner's own aborts. Blind writes (mutations without reads) never
 * conflict. A schema change counts as a write of everything. When the write log no
 * longer reaches back to the transaction's start, the tables' last commits decide
 * (conservative: extra aborts, never a missed conflict).
 *
 * Idle transactions. A read-write transaction that no call used for SP_TXN_RW_IDLE_NS
 * (10 s of emulator time) is aborted, as Spanner aborts idle ones: its reads and buffered
 * writes are freed and every later use of its id answers ABORTED "Transaction was aborted.
 * Idle for over 10 seconds." (rollback succeeds), until it is forgotten like any idle
 * transaction. Read-only and partitioned-DML transactions (and tombstones) are forgotten
 * after SP_TXN_IDLE_NS, the session's own limit; then their ids answer NOT_FOUND.
 * Read-only transactions (and single-use reads) read the latest committed state and
 * validate nothing.
 *
 * Errors. A DML statement that fails at a write (a constraint: a key that exists, a UNIQUE
 * index, NOT NULL, CHECK, a foreign key, a value too long) invalidates its transaction, as
 * in Spanner, where all of a transaction's writes succeed or none: every later call naming
 * it answers that error again (a rollback succeeds), its commit included, which ends it. An
 * error before any write (analysis, a division by zero) leaves the transaction as it was.
 *
 * Ended transactions. The last SP_TXN_ENDED_MAX transactions that ended (committed, rolled
 * back, or whose commit failed) are remembered, so that a call naming one answers as
 * Spanner does: a commit again returns the same commit (a client's retry), a rollback
 * again succeeds (of a failed one too), a commit after a rollback or a rollback after a
 * commit is FAILED_PRECONDITION, a failed commit fails again with its error, and any
 * other use is FAILED_PRECONDITION "Cannot read or query using a transaction after it has
 * been committed or rolledback.". Older ones answer NOT_FOUND. A partitioned-DML
 * transaction runs one statement; read-only and partitioned-DML ones cannot be committed
 * or rolled back (FAILED_PRECONDITION, and they stay usable).
 *
 * Sequence numbers. A read-write transaction keeps each DML request's outcome by its seqno
 * (ExecuteSqlRequest.seqno): a request sent again with a seqno seen before is answered with
 * its first response without running again (a client's retry), as Spanner does; the same
 * seqno with another request, or a new seqno below the highest seen, is INVALID_ARGUMENT.
 * The last SP_TXN_DML_KEPT outcomes are kept (a THEN RETURN may hold 10 MiB): an older
 * request sent again is out of order.
 *
 * Transactions live in memory only (a restart loses those in flight, as an abort would).
 * Their ids are 16 random bytes in base64. One call at a time uses a transaction: the
 * lookup locks it until sp_txn_release.
 */
#ifndef SPANNER_TXN_H
#define SPANNER_TXN_H

#include "em_status.h"
#include "spanner_admin.h"
#include "spanner_keyset.h"
#include "spanner_sql_functions.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct sp_db;
struct sp_txns;

enum sp_txn_mode { SP_TXN_READ_WRITE, SP_TXN_READ_ONLY, SP_TXN_PARTITIONED_DML };

#define SP_TXN_ID_MAX     32
#define SP_TXN_IDLE_NS    (3600LL * 1000000000LL)
#define SP_TXN_RW_IDLE_NS (10LL * 1000000000LL)
/* key spans a transaction records before it reads its tables whole */
#define SP_TXN_SPANS_MAX 4096

/* What a read by key covered of one table. */
struct sp_txn_span {
    char *table; /* lower-case */
    struct sp_key_span span;
};

/* One DML statement of a read-write transaction, replayed at commit: with the time and
 * the UUID seed of its first run, so that it writes again what it returned then. */
struct sp_dml {
    char *sql;
    cJSON *params, *param_types;
    int64_t now_ns;
    unsigned char uuid_seed[16];
    struct sp_sequence_draws draws; /* its GET_NEXT_SEQUENCE_VALUE() values */
};

/* How a transaction ended, remembered (see the header). */
enum sp_txn_end { SP_TXN_COMMITTED = 1, SP_TXN_ROLLED_BACK, SP_TXN_FAILED };
#define SP_TXN_ENDED_MAX 512
struct sp_txn_ending {
    enum sp_txn_end end;
    int64_t commit_ns, mutation_count; /* SP_TXN_COMMITTED */
};

/* What a call does with the transaction it names (sp_txn_find). */
enum sp_txn_use { SP_TXN_USE, SP_TXN_USE_COMMIT, SP_TXN_USE_ROLLBACK };

/* A DML request's outcome, kept by its seqno (see the header). */
#define SP_TXN_DML_KEPT 64
struct sp_dml_request {
    int64_t seqno;
    uint64_t hash;     /* of the request without its seqno and resumeToken */
    cJSON *reply;      /* its response: a ResultSet or an ExecuteBatchDmlResponse; or NULL: */
    enum em_code code; /* ... it failed so */
    char *message;
};

/* Spanner keeps at most 50 characters of a transaction tag. */
#define SP_TXN_TAG_MAX 50

struct sp_txn {
    char id[SP_TXN_ID_MAX];
    char session[SP_NAME_MAX];
    struct sp_db *db;
    enum sp_txn_mode mode;
    uint64_t start_seq;
    int64_t begin_ns, last_use_ns;
    int64_t read_ns; /* read-only: the timestamp every read sees (the caller sets it) */
    bool exclude_from_change_streams; /* its writes are left out of the change streams that
                                         allow it (excludeTxnFromChangeStreams) */
    char tag[SP_TXN_TAG_MAX + 1];     /* requestOptions.transactionTag, or "" */
    char **reads;                     /* lower-case names of the tables read whole */
    int nreads;
    struct sp_txn_span *spans; /* the keys and ranges read of other tables */
    int nspans;
    /* lower-case names of the tables its DML wrote PENDING_COMMIT_TIMESTAMP() to: they
     * cannot be read until the commit (Spanner's rule; spanner_exec.h) */
    char **pending;
    int npending;
    struct sp_dml *dmls;
    int ndmls;
    struct sp_dml_request *requests; /* in the order of their seqnos */
    int nrequests;
    struct em_status failure; /* the write error that invalidated it, or code EM_OK */
    bool used;                /* partitioned DML: its statement ran */
    /* private */
    pthread_mutex_t lock;
    int refs;
    bool finished;
    bool aborted_idle; /* a tombstone: its reads and writes freed */
    struct sp_txn *next;
};

enum em_code sp_txns_open(struct sp_txns **out, struct em_status *st);
void sp_txns_close(struct sp_txns *txns);

/* A new transaction of session on db; returned locked and referenced (sp_txn_release). */
enum em_code sp_txn_begin(struct sp_txns *txns, struct sp_db *db, const char *session,
                          enum sp_txn_mode mode, int64_t now, struct sp_txn **out,
                          struct em_status *st);
/* The live transaction with this id (base64, as the API sends it) of session, for a call
 * that uses it so, locked and referenced; NOT_FOUND "Transaction not found" when unknown or
 * another session's. ABORTED when it was aborted idle (found idle now, it is aborted
 * first), its failure when invalidated (but to a rollback): then *out is set all the same
 * (locked and referenced: release it, or end it). A remembered ended one answers as the
 * header says; where that is a success (*out NULL), *ended says how it ended. */
enum em_code sp_txn_find(struct sp_txns *txns, const char *id, const char *session, int64_t now,
                         enum sp_txn_use use, struct sp_txn **out, struct sp_txn_ending *ended,
                         struct em_status *st);
/* Unlocks and drops the reference. */
void sp_txn_release(struct sp_txns *txns, struct sp_txn *txn);
/* Invalidates txn (read-write) with the write error why (see the header). */
void sp_txn_invalidate(struct sp_txn *txn, const struct em_status *why);
/* Ended as *ending says (a failed commit: with its error, why), remembered (ending NULL:
 * not); its id is no longer live. */
void sp_txn_end(struct sp_txns *txns, struct sp_txn *txn, const struct sp_txn_ending *ending,
                const struct em_status *why);
/* Forgotten at once, not remembered (an inline begin whose call failed: its id was never
 * answered). */
void sp_txn_finish(struct sp_txns *txns, struct sp_txn *txn);

/* Records tables read whole (any case), the key spans read of a table (copied; beyond
 * SP_TXN_SPANS_MAX the table is read whole), tables holding a pending commit timestamp
 * (any case), and a DML statement to replay (copied). */
enum em_code sp_txn_add_reads(struct sp_txn *txn, char *const *tables, int ntables,
                              struct em_status *st);
enum em_code sp_txn_add_key_reads(struct sp_txn *txn, const char *table,
                                  const struct sp_key_spans *spans, struct em_status *st);
enum em_code sp_txn_add_pending(struct sp_txn *txn, char *const *tables, int ntables,
                                struct em_status *st);
/* Whether table (any case) holds a pending commit timestamp of the transaction. */
bool sp_txn_is_pending(const struct sp_txn *txn, const char *table);
/* A DML statement that ran, with the time and UUID seed (16 bytes) it ran with, and the
 * sequence values it drew (moved into the transaction: *draws is emptied). */
enum em_code sp_txn_add_dml(struct sp_txn *txn, const char *sql, const cJSON *params,
                            const cJSON *param_types, int64_t now_ns,
                            const unsigned char *uuid_seed, struct sp_sequence_draws *draws,
                            struct em_status *st);

/* The seqno check of a DML request (see the header): *seen NULL for a new request, or the
 * request's first outcome to answer again; INVALID_ARGUMENT (naming sql) for a seqno seen
 * with another request or below the highest seen. sp_txn_dml_record then keeps a new
 * request's outcome: reply (taken; NULL: it failed with *failure). */
enum em_code sp_txn_dml_check(const struct sp_txn *txn, int64_t seqno, uint64_t hash,
                              const char *sql, const struct sp_dml_request **seen,
                              struct em_status *st);
void sp_txn_dml_record(struct sp_txn *txn, int64_t seqno, uint64_t hash, cJSON *reply,
                       const struct em_status *failure);

/* Whether a commit after seq since wrote a row of table in span (NULL: any row). */
typedef bool (*sp_changed_fn)(void *arg, const char *table, const struct sp_key_span *span,
                              uint64_t since);
/* The commit's validation: the name of a table with a row the transaction read that a
 * commit after it began wrote (changed() says), or NULL when there is none. */
const char *sp_txn_conflict(const struct sp_txn *txn, sp_changed_fn changed, void *arg);

/* Aborts the read-write transactions idle for SP_TXN_RW_IDLE_NS and drops every
 * transaction idle for SP_TXN_IDLE_NS (the service's tick). */
void sp_txns_expire(struct sp_txns *txns, int64_t now);
/* The start seq of db's oldest read-write transaction (an idle-aborted one counts until it
 * is forgotten: it only keeps the write log longer); UINT64_MAX when none. */
uint64_t sp_txns_oldest_start(struct sp_txns *txns, const struct sp_db *db);
/* Drops the transactions of a session, or every one (session NULL). */
void sp_txns_forget(struct sp_txns *txns, const char *session);

#endif
