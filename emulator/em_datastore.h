/*
 * em_datastore: the customer data of one CMEK-protected resource (a Pub/Sub topic, a
 * Spanner database, a Bigtable table, a runner job's state): one encrypted SQLite file
 * (em_store's encrypted mode, em_vfs.c) that opens only through the CMEK engine's gate,
 * and one writer thread that runs every read and write of it.
 *
 * A datastore is the resource's side: its name under the CMEK engine, its file, and the
 * open file if any. A datafile is the open file with its writer thread; a data call
 * takes a reference on it (em_datastore_open), queues jobs on it, and puts it back.
 *
 *   closed --open (gate ok: ACCESSIBLE or GRACE; the DEK opens the file)--> open
 *     ^                                                                     |
 *     +--- close: CMEK state OFFLINE / INACCESSIBLE, idle, process close ---+
 *   any --shred--> shredded: keys forgotten (em_cmek_forget purges them from every
 *                  file), the data file removed once its last user is done; never
 *                  opens again
 *
 * Every data call passes the gate (em_cmek_use), even when the file is open, so a key
 * disabled a moment ago refuses the next call in the service's own words. A file closed
 * while calls use it stays open for them and closes with the last of them, unless an
 * open takes it back first (one writer per file, ever).
 *
 * Writer thread (group commit): a caller queues a job and either sleeps until its batch
 * committed (em_datafile_run) or goes on and is called back (em_datafile_submit: the
 * HTTP connection of a publish is parked meanwhile). The thread takes every job queued so
 * far, runs them in one write transaction and commits once, then reports to each caller:
 *
 *   caller:  queue job -> wait until done, or be called back
 *   thread:  take batch -> BEGIN -> job 1 .. job n -> COMMIT -> done (each job)
 *                               \-- a job fails: ROLLBACK, then each job of the batch
 *                                   alone in its own transaction
 *
 * A reply is sent only after its job's batch committed: with WAL and synchronous=NORMAL
 * an acknowledged write survives kill -9 of the process.
 *
 * Checkpoints (copying the WAL into the database file, with the only fsyncs that
 * synchronous=NORMAL makes) run on a checkpointer thread with a connection of its own,
 * started by the first commit that leaves enough of the WAL to copy: a commit never waits
 * for a disk's fsync (on a disk, automatic checkpoints on the writer thread cost a third
 * of the publish rate). The WAL starts over once a checkpoint has copied all of it; under
 * a load that never leaves the checkpointer done, the commit that brings the WAL to
 * EM_DATASTORE_WAL_FRAMES frames makes the writer finish the checkpoint itself, so the
 * WAL stays bounded.
 *
 * The service keeps what it needs in memory while the file is open (Pub/Sub: the next
 * sequence number) in a state its hooks create when the file opens; jobs reach it with
 * em_datafile_state. Locks: the datastore's rwlock (readers: calls passing the gate;
 * writer: open, close, rename, shred), outside the CMEK engine's locks; the datafile's
 * queue takes no lock (callers push with compare-and-swap), and the writer thread takes
 * only the checkpointer's two locks, leaves (no other lock is taken under them).
 */
#ifndef EM_DATASTORE_H
#define EM_DATASTORE_H

#include "em_cmek.h"
#include "em_status.h"

#include <stdint.h>

/* The WAL's size (in frames, one page each) at which the writer checkpoints itself. */
#define EM_DATASTORE_WAL_FRAMES 16000

struct em_store;
struct em_datastore;
struct em_datafile;

/* A job runs on the writer thread inside a write transaction shared with the other jobs
 * queued meanwhile. It reports its result through st; a job that fails makes the writer
 * run every job of the batch again in its own transaction, so jobs set their outputs
 * rather than add to them. */
typedef enum em_code (*em_datafile_job_fn)(struct em_datafile *file, void *arg,
                                           struct em_status *st);

/* The service's hooks, all on the writer thread. Any may be NULL. */
struct em_datastore_hooks {
    /* The file was just opened: migrations, then *state (what jobs reach through
     * em_datafile_state) built from what it holds. arg: em_datastore_new's. */
    enum em_code (*opened)(struct em_store *store, void *arg, void **state, struct em_status *st);
    /* The file is closing (on the writer thread, before its connection closes): frees the
     * state, finalizing any statement it prepared. */
    void (*closed)(void *state);
    /* Around every transaction: begin before its first job; rolled_back after a
     * rollback, to undo what its jobs changed in the state. */
    void (*begin)(void *state);
    void (*rolled_back)(void *state);
    /* A batch is over (committed, or each job alone), before its callers are told. */
    void (*batch_done)(void *state);
};

/* Creates the datastore of resource (its name under cmek, already protected or to be)
 * whose data lives in path. Opens nothing. */
enum em_code em_datastore_new(struct em_cmek *cmek, const char *resource, const char *path,
                              const struct em_datastore_hooks *hooks, void *arg,
                              struct em_datastore **out, struct em_status *st);
/* Closes the file (its users finish first) and frees the datastore; the data stays. */
void em_datastore_free(struct em_datastore *ds);

/* The name the CMEK engine knows the data by (copied into out). */
void em_datastore_name(struct em_datastore *ds, char *out, size_t len);

/* The gate and the file: OK with a reference on the open file (opened now if needed)
 * while the key is usable; the engine's error otherwise (UNAVAILABLE, the service's
 * FAILED_PRECONDITION, NOT_FOUND once shredded), or the file's (DATA_LOSS, a busy
 * file). Release with em_datafile_put. */
enum em_code em_datastore_open(struct em_datastore *ds, struct em_datafile **out,
                               struct em_status *st);
/* The gate alone. */
enum em_code em_datastore_gate(struct em_datastore *ds, struct em_status *st);
/* The open file with a reference, or NULL; no gate (timers that only tidy up). */
struct em_datafile *em_datastore_peek(struct em_datastore *ds);

/* Closes the file: now if unused, else when its last user puts it. */
void em_datastore_close(struct em_datastore *ds);
/* The service's CMEK state hook calls this: OFFLINE and INACCESSIBLE close the file
 * (the DEK leaves memory with it); true when that happened. */
bool em_datastore_state_changed(struct em_datastore *ds, enum em_cmek_state to);
/* Closes the file when nobody used it for idle_ns of monotonic time (real_now:
 * em_clock_monotonic); true when it closed. */
bool em_datastore_close_idle(struct em_datastore *ds, int64_t real_now, int64_t idle_ns);

/* Renames the protection (em_cmek_rename): the data is known as `to` from now on, while
 * its keys stay bound to the first name. */
enum em_code em_datastore_rename(struct em_datastore *ds, const char *to, struct em_status *st);
/* After a restart: the engine already knows the data as resource (renamed before). */
void em_datastore_known_as(struct em_datastore *ds, const char *resource);

/* Crypto-shredding: the keys are forgotten (forget_keys: false when the engine no longer
 * has them), the file is closed and removed (now, or when its last user is done), and
 * the datastore never opens again. */
enum em_code em_datastore_shred(struct em_datastore *ds, bool forget_keys, struct em_status *st);

/* Copies from's data into to's file, encrypted under to's own DEK (to is another
 * protected resource, possibly under another key): SQLite's online backup API runs on
 * from's writer thread between its transactions, from from's open file into a new
 * connection to to's file through the emcrypt VFS, so every page is re-encrypted in
 * memory and no plaintext page ever reaches a disk. Both gates must pass (the engine's
 * error otherwise); to must not be open (FAILED_PRECONDITION); what to's file held is
 * replaced, and removed again if the copy fails. This is how a Spanner backup is taken
 * (database -> backup) and restored (backup -> new database). */
enum em_code em_datastore_copy(struct em_datastore *from, struct em_datastore *to,
                               struct em_status *st);

/* --- an open file --- */

void em_datafile_put(struct em_datafile *file);
/* How many calls hold a reference besides the datastore. */
int em_datafile_users(struct em_datafile *file);

/* Runs fn on the writer thread and waits for its batch to commit. */
enum em_code em_datafile_run(struct em_datafile *file, em_datafile_job_fn fn, void *arg,
                             struct em_status *st);

/* What a queued job came to. */
struct em_datafile_result {
    enum em_code code;
    struct em_status st;
};

/* Queues fn without waiting: once its batch committed (or failed) *result is set and
 * done(done_arg) runs on the writer thread (it must not block). Fails only when the job
 * could not be queued; then done never runs. */
enum em_code em_datafile_submit(struct em_datafile *file, em_datafile_job_fn fn, void *arg,
                                struct em_datafile_result *result, void (*done)(void *done_arg),
                                void *done_arg, struct em_status *st);

/* For jobs: the store and the service's state. */
struct em_store *em_datafile_store(struct em_datafile *file);
void *em_datafile_state(struct em_datafile *file);

#endif
