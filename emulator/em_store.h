/*
 * em_store: the SQLite metadata store (metadata.db) shared by every process.
 *
 * WAL journal, synchronous=NORMAL (an acknowledged commit survives kill -9 of the
 * process), a busy timeout long enough that concurrent writers from other processes
 * wait instead of failing, and write transactions begun IMMEDIATE so a reader never has
 * to upgrade its snapshot. Each thread gets its own connection, opened on first use, with
 * its own cache of prepared statements keyed by the SQL text.
 *
 * Schema: every module (core "clock", "iam", "audit"; each service) owns its tables and
 * migrates them with em_store_migrate(): a list of SQL steps whose count is the schema
 * version, recorded in table schema_migrations. Migrations run in one IMMEDIATE
 * transaction, so processes starting together apply each step once.
 *
 * Deleted means gone from every file: metadata.db connections run with secure_delete (freed
 * cells and pages are overwritten with zeros), and a module that erases secrets (KMS key
 * material, a crypto-shredded resource's wrapped keys) calls em_store_purge after the
 * commit, which copies the WAL into the database and truncates it to zero bytes, so no
 * older frame keeps a copy. A purge that other processes' readers hold up is retried on
 * the service's next tick (em_store_purge_pending).
 *
 * SQLite result codes are mapped to em_code here and nowhere else: a constraint violation
 * is ALREADY_EXISTS, busy/locked is UNAVAILABLE, anything else is INTERNAL (logged).
 */
#ifndef EM_STORE_H
#define EM_STORE_H

#include "em_status.h"

#include <sqlite3.h>
#include <stdbool.h>

struct em_store;

enum em_code em_store_open(const char *path, struct em_store **out, struct em_status *st);

/* Encrypted mode, for customer data: every page of the database file, its WAL and
 * journal is encrypted with AES-256-GCM under dek (32 bytes) by the "emcrypt" VFS
 * (em_vfs.c); only the 100-byte SQLite header of page 1 stays in clear. The DEK is
 * wiped from memory when the store closes. Opening an existing file with another DEK
 * fails with DATA_LOSS. */
enum em_code em_store_open_encrypted(const char *path, const unsigned char dek[32],
                                     struct em_store **out, struct em_status *st);

/* Removes a database file with its -wal and -shm companions. */
void em_store_remove_files(const char *path);
void em_store_close(struct em_store *store);

/* This thread's connection (opened on first use), or NULL with st set. */
sqlite3 *em_store_db(struct em_store *store, struct em_status *st);

/* A cached prepared statement for sql on this thread's connection, reset and ready to
 * bind. sql must have static storage (a literal): the cache compares pointers first.
 * Release the statement with em_stmt_done() before asking for the same SQL again. */
sqlite3_stmt *em_store_stmt(struct em_store *store, const char *sql, struct em_status *st);
void em_stmt_done(sqlite3_stmt *stmt);

/* Runs SQL with no result rows (several statements allowed). */
enum em_code em_store_exec(struct em_store *store, const char *sql, struct em_status *st);

/* Write transactions. */
enum em_code em_store_begin(struct em_store *store, struct em_status *st);
enum em_code em_store_commit(struct em_store *store, struct em_status *st);
void em_store_rollback(struct em_store *store);

/* Makes what was deleted before now leave every file: checkpoints the whole WAL into the
 * database and truncates the WAL to 0 bytes (SQLITE_CHECKPOINT_TRUNCATE), waiting for
 * the readers of every connection (busy timeout) and retrying once when still busy.
 * UNAVAILABLE when readers held it up throughout: the purge is then pending. */
enum em_code em_store_purge(struct em_store *store, struct em_status *st);

/* Whether a purge asked for has not completed yet (the service tick retries it). */
bool em_store_purge_pending(struct em_store *store);

/* Asks for a purge on the next tick without waiting now: at start-up, since a crash may
 * have come between an erasure's commit and its purge. */
void em_store_purge_later(struct em_store *store);

/* Steps stmt expecting SQLITE_DONE; maps errors. */
enum em_code em_stmt_run(sqlite3_stmt *stmt, struct em_status *st);

/* Finishes stmt (em_stmt_done) after a step that answered rc: EM_OK for a row or the end
 * of the rows, else the store's error. */
enum em_code em_stmt_end(sqlite3_stmt *stmt, int rc, struct em_status *st);

/* Runs one statement without result rows (sql a literal, as for em_store_stmt) with up
 * to four text parameters, bound in order; the first NULL ends them. */
enum em_code em_store_run_text(struct em_store *store, const char *sql, const char *a,
                               const char *b, const char *c, const char *d, struct em_status *st);

/* One row handed to the caller of em_stmt_each_row; a failure stops the rows. */
typedef enum em_code (*em_row_fn)(sqlite3_stmt *row, void *arg, struct em_status *st);

/* Steps stmt through every row, calling row(stmt, arg, st) for each, then finishes stmt.
 * Every loader reads its rows through this: a step that ends with anything but a row or
 * the end of the rows (busy, I/O error, corruption, interrupt) is an error mapped by
 * em_store_error, never the end of the rows, so a partial load never returns success. */
enum em_code em_stmt_each_row(sqlite3_stmt *stmt, em_row_fn row, void *arg, struct em_status *st);

/* Maps a SQLite result code (with the connection's message) to st. */
enum em_code em_store_error(sqlite3 *db, int rc, struct em_status *st);

enum em_code em_store_migrate(struct em_store *store, const char *module, const char *const *steps,
                              int step_count, struct em_status *st);

/* Binds a NUL-terminated string, or NULL. */
void em_bind_text(sqlite3_stmt *stmt, int index, const char *text);

/* A column as text, "" when NULL. */
const char *em_column_text(sqlite3_stmt *stmt, int col);

#endif
