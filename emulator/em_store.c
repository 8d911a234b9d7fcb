/*
 * em_store: SQLite connections, statement cache, transactions, migrations and the one
 * mapping from SQLite errors to em_code. See em_store.h.
 */
#include "em_store.h"

#include "em_log.h"
#include "em_vfs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE_SIZE 64
#define BUSY_TIMEOUT_MS 15000
#define PURGE_ATTEMPTS  2
#define PURGE_RETRY_US  100000

struct cached_stmt {
    const char *caller_sql; /* the caller's pointer: a fast first comparison */
    char *sql;
    sqlite3_stmt *stmt;
};

struct em_store;

struct conn {
    struct em_store *store;
    sqlite3 *db;
    struct cached_stmt cache[STMT_CACHE_SIZE];
    int cached;
    struct conn *next; /* every connection, for closing */
};

struct em_store {
    char *path;      /* a file name, or a URI naming the emcrypt key (encrypted mode) */
    uint64_t key_id; /* encrypted mode: the DEK registered with em_vfs; 0 otherwise */
    pthread_key_t key;
    pthread_mutex_t lock; /* guards conns */
    struct conn *conns;
    atomic_bool purge_pending; /* em_store_purge did not complete */
};

enum em_code em_store_error(sqlite3 *db, int rc, struct em_status *st)
{
    int primary = rc & 0xff;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (rc == SQLITE_IOERR_DATA || (db && sqlite3_extended_errcode(db) == SQLITE_IOERR_DATA)) {
        em_error("store: encrypted data does not decrypt: %s", msg);
        return EM_FAIL(st, EM_DATA_LOSS, "Stored data cannot be decrypted with its key.");
    }
    if (primary == SQLITE_CONSTRAINT)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Resource already exists.");
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        em_warn("store busy: %s", msg);
        return EM_FAIL(st, EM_UNAVAILABLE, "The metadata store is busy; retry the request.");
    }
    if (primary == SQLITE_NOMEM || rc == SQLITE_IOERR_NOMEM) {
        em_error("store out of memory: %s", msg);
        return EM_FAIL_OOM(st);
    }
    if (primary == SQLITE_FULL) {
        em_error("store full: %s", msg);
        return EM_FAIL(st, EM_RESOURCE_EXHAUSTED, "The data directory is full.");
    }
    em_error("store error %d: %s", rc, msg);
    return EM_FAIL(st, EM_INTERNAL, "Internal error in the metadata store.");
}

static const char connection_setup[] = "PRAGMA journal_mode=WAL;"
                                       "PRAGMA synchronous=NORMAL;"
                                       "PRAGMA foreign_keys=ON;"
                                       "PRAGMA temp_store=MEMORY;";

/* The journal mode of a connection ("wal", "delete", ...), into out. */
static int journal_mode(sqlite3 *db, char *out, size_t len)
{
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(stmt);
    snprintf(out, len, "%s", rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : "");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* An encrypted database must be in WAL mode before its first page is written, and the
 * switch itself must not create a rollback journal file (it would hold clear pages):
 * a new database goes to WAL through an in-memory journal. */
static int enter_wal_without_journal_file(sqlite3 *db)
{
    char mode[16];
    int rc = journal_mode(db, mode, sizeof(mode));
    if (rc != SQLITE_OK || strcmp(mode, "wal") == 0)
        return rc;
    rc = sqlite3_exec(db, "PRAGMA journal_mode=MEMORY", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = journal_mode(db, mode, sizeof(mode));
    return rc == SQLITE_OK && strcmp(mode, "wal") != 0 ? SQLITE_CANTOPEN : rc;
}

static struct conn *conn_open(struct em_store *store, struct em_status *st)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (store->key_id)
        flags |= SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(store->path, &c->db, flags, store->key_id ? EM_VFS_NAME : NULL);
    if (rc == SQLITE_OK && store->key_id) {
        /* room for each page's nonce and tag; only takes effect on a new database */
        int reserve = EM_VFS_RESERVED;
        rc = sqlite3_file_control(c->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
        if (rc == SQLITE_OK) {
            sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
            rc = enter_wal_without_journal_file(c->db);
        }
    }
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(c->db, connection_setup, NULL, NULL, NULL);
    }
    /* metadata.db holds key material: what is deleted is overwritten (encrypted stores
     * hold only ciphertext, shredded with their DEK) */
    if (rc == SQLITE_OK && !store->key_id)
        rc = sqlite3_exec(c->db, "PRAGMA secure_delete=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        em_store_error(c->db, rc, st);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    c->store = store;
    pthread_mutex_lock(&store->lock);
    c->next = store->conns;
    store->conns = c;
    pthread_mutex_unlock(&store->lock);
    return c;
}

static void conn_close(struct conn *c)
{
    for (int i = 0; i < c->cached; i++) {
        sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    free(c);
}

/* pthread key destructor: a thread that ends closes its connection. */
static void conn_thread_exit(void *arg)
{
    struct conn *c = arg;
    struct em_store *store = c->store;
    pthread_mutex_lock(&store->lock);
    for (struct conn **p = &store->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&store->lock);
    conn_close(c);
}

/* Process-wide SQLite settings, before its first use. Memory statistics off: with them
 * every allocation SQLite makes takes one global mutex, which the threads writing data
 * contend for. */
static void sqlite_configure(void)
{
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        em_debug("store: SQLite was initialised before its memory statistics could be turned off");
}

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static enum em_code open_with(char *path, uint64_t key_id, struct em_store **out,
                              struct em_status *st)
{
    struct em_store *store = calloc(1, sizeof(*store));
    if (!store || !path) {
        free(store);
        free(path);
        if (key_id)
            em_vfs_remove_key(key_id);
        return EM_FAIL_OOM(st);
    }
    store->path = path;
    store->key_id = key_id;
    pthread_key_create(&store->key, conn_thread_exit);
    pthread_mutex_init(&store->lock, NULL);
    /* open this thread's connection now so a bad path fails at start-up */
    if (!em_store_db(store, st)) {
        em_store_close(store);
        return st->code;
    }
    *out = store;
    return EM_OK;
}

enum em_code em_store_open(const char *path, struct em_store **out, struct em_status *st)
{
    pthread_once(&sqlite_once, sqlite_configure);
    return open_with(strdup(path), 0, out, st);
}

/* "file:<path>?emkey=<id>", with the characters URIs reserve escaped. */
static char *encrypted_uri(const char *path, uint64_t key_id)
{
    size_t len = strlen(path);
    char *uri = malloc(len * 3 + 64);
    if (!uri)
        return NULL;
    char *o = uri + sprintf(uri, "file:");
    for (const char *p = path; *p; p++)
        o += (*p == '%' || *p == '?' || *p == '#') ? sprintf(o, "%%%02X", (unsigned char)*p)
                                                   : sprintf(o, "%c", *p);
    sprintf(o, "?emkey=%llu", (unsigned long long)key_id);
    return uri;
}

enum em_code em_store_open_encrypted(const char *path, const unsigned char dek[32],
                                     struct em_store **out, struct em_status *st)
{
    pthread_once(&sqlite_once, sqlite_configure);
    if (em_vfs_init(st))
        return st->code;
    uint64_t key_id = em_vfs_add_key(dek);
    if (!key_id)
        return EM_FAIL_OOM(st);
    struct em_store *store;
    if (open_with(encrypted_uri(path, key_id), key_id, &store, st))
        return st->code;
    /* reading the schema decrypts page 1: a wrong key fails here, not later */
    if (em_store_exec(store, "SELECT count(*) FROM sqlite_schema", st)) {
        em_store_close(store);
        return st->code;
    }
    *out = store;
    return EM_OK;
}

void em_store_remove_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char name[PATH_MAX + 16];
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

void em_store_close(struct em_store *store)
{
    if (!store)
        return;
    struct conn *c = store->conns;
    while (c) {
        struct conn *next = c->next;
        conn_close(c);
        c = next;
    }
    pthread_key_delete(store->key);
    pthread_mutex_destroy(&store->lock);
    if (store->key_id)
        em_vfs_remove_key(store->key_id);
    free(store->path);
    free(store);
}

static struct conn *this_conn(struct em_store *store, struct em_status *st)
{
    struct conn *c = pthread_getspecific(store->key);
    if (c)
        return c;
    c = conn_open(store, st);
    if (c)
        pthread_setspecific(store->key, c);
    return c;
}

sqlite3 *em_store_db(struct em_store *store, struct em_status *st)
{
    struct conn *c = this_conn(store, st);
    return c ? c->db : NULL;
}

static sqlite3_stmt *cache_lookup(struct conn *c, const char *sql)
{
    for (int i = 0; i < c->cached; i++)
        if (c->cache[i].caller_sql == sql)
            return c->cache[i].stmt;
    for (int i = 0; i < c->cached; i++) /* the same text from another literal */
        if (strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].stmt;
    return NULL;
}

sqlite3_stmt *em_store_stmt(struct em_store *store, const char *sql, struct em_status *st)
{
    struct conn *c = this_conn(store, st);
    if (!c)
        return NULL;
    sqlite3_stmt *stmt = cache_lookup(c, sql);
    if (stmt)
        return stmt;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        em_store_error(c->db, rc, st);
        return NULL;
    }
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(stmt);
        EM_FAIL_OOM(st);
        return NULL;
    }
    if (c->cached == STMT_CACHE_SIZE) {
        /* full: drop the oldest entry (services use fixed SQL sets well under the size) */
        sqlite3_finalize(c->cache[0].stmt);
        free(c->cache[0].sql);
        memmove(&c->cache[0], &c->cache[1], (STMT_CACHE_SIZE - 1) * sizeof(c->cache[0]));
        c->cached--;
    }
    c->cache[c->cached].caller_sql = sql;
    c->cache[c->cached].sql = copy;
    c->cache[c->cached].stmt = stmt;
    c->cached++;
    return stmt;
}

void em_stmt_done(sqlite3_stmt *stmt)
{
    if (!stmt)
        return;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

enum em_code em_store_purge(struct em_store *store, struct em_status *st)
{
    sqlite3 *db = em_store_db(store, st);
    if (!db)
        return st->code;
    atomic_store(&store->purge_pending, true);
    int rc = SQLITE_BUSY;
    for (int attempt = 0; attempt < PURGE_ATTEMPTS && (rc & 0xff) == SQLITE_BUSY; attempt++) {
        if (attempt > 0)
            usleep(PURGE_RETRY_US);
        rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        em_warn("store: the WAL could not be truncated yet (%s); retrying later",
                sqlite3_errstr(rc));
        return em_store_error(db, rc, st);
    }
    atomic_store(&store->purge_pending, false);
    return EM_OK;
}

bool em_store_purge_pending(struct em_store *store)
{
    return atomic_load(&store->purge_pending);
}

void em_store_purge_later(struct em_store *store)
{
    atomic_store(&store->purge_pending, true);
}

enum em_code em_stmt_end(sqlite3_stmt *stmt, int rc, struct em_status *st)
{
    enum em_code code = EM_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return code;
}

enum em_code em_stmt_run(sqlite3_stmt *stmt, struct em_status *st)
{
    return em_stmt_end(stmt, sqlite3_step(stmt), st);
}

enum em_code em_store_run_text(struct em_store *store, const char *sql, const char *a,
                               const char *b, const char *c, const char *d, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    const char *args[] = {a, b, c, d};
    for (int i = 0; i < 4 && args[i]; i++)
        em_bind_text(stmt, i + 1, args[i]);
    return em_stmt_run(stmt, st); /* releases stmt */
}

enum em_code em_stmt_each_row(sqlite3_stmt *stmt, em_row_fn row, void *arg, struct em_status *st)
{
    enum em_code code = EM_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if ((code = row(stmt, arg, st)) != EM_OK)
            break;
    if (code == EM_OK && rc != SQLITE_DONE)
        code = em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return code;
}

enum em_code em_store_exec(struct em_store *store, const char *sql, struct em_status *st)
{
    sqlite3 *db = em_store_db(store, st);
    if (!db)
        return st->code;
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? EM_OK : em_store_error(db, rc, st);
}

/* Runs one of the fixed statements that frame transactions, prepared once per connection
 * (the writers begin and commit many times a second). */
static enum em_code run_cached(struct em_store *store, const char *sql, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    return stmt ? em_stmt_run(stmt, st) : st->code;
}

enum em_code em_store_begin(struct em_store *store, struct em_status *st)
{
    return run_cached(store, "BEGIN IMMEDIATE", st);
}

enum em_code em_store_commit(struct em_store *store, struct em_status *st)
{
    enum em_code code = run_cached(store, "COMMIT", st);
    if (code != EM_OK)
        em_store_rollback(store);
    return code;
}

void em_store_rollback(struct em_store *store)
{
    sqlite3 *db = em_store_db(store, NULL);
    if (db && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static const char migrations_table[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " module TEXT PRIMARY KEY,"
                                       " version INTEGER NOT NULL)";

static int current_version(sqlite3 *db, const char *module)
{
    sqlite3_stmt *stmt;
    int version = 0;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_migrations WHERE module = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(stmt, 1, module, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        version = sqlite3_column_int(stmt, 0);
    else if (rc != SQLITE_DONE)
        version = -1; /* a step error is not "no migrations yet" */
    sqlite3_finalize(stmt);
    return version;
}

static enum em_code apply_steps(sqlite3 *db, const char *module, const char *const *steps, int from,
                                int to, struct em_status *st)
{
    for (int i = from; i < to; i++) {
        int rc = sqlite3_exec(db, steps[i], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            em_error("migration %s step %d failed", module, i + 1);
            return em_store_error(db, rc, st);
        }
    }
    sqlite3_stmt *stmt;
    int rc = sqlite3_prepare_v2(
        db, "INSERT OR REPLACE INTO schema_migrations(module, version) VALUES(?, ?)", -1, &stmt,
        NULL);
    if (rc != SQLITE_OK)
        return em_store_error(db, rc, st);
    sqlite3_bind_text(stmt, 1, module, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, to);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? EM_OK : em_store_error(db, rc, st);
}

enum em_code em_store_migrate(struct em_store *store, const char *module, const char *const *steps,
                              int step_count, struct em_status *st)
{
    sqlite3 *db = em_store_db(store, st);
    if (!db)
        return st->code;
    if (em_store_exec(store, migrations_table, st) || em_store_begin(store, st))
        return st->code;
    int version = current_version(db, module);
    enum em_code code = EM_OK;
    if (version < 0)
        code = em_store_error(db, sqlite3_errcode(db), st);
    else if (version > step_count)
        code = EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "metadata.db has schema %s version %d, newer than this build (%d)", module,
                       version, step_count);
    else if (version < step_count)
        code = apply_steps(db, module, steps, version, step_count, st);
    if (code != EM_OK) {
        em_store_rollback(store);
        return code;
    }
    return em_store_commit(store, st);
}

void em_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(stmt, index);
}

const char *em_column_text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? (const char *)text : "";
}
