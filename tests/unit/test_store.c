/*
 * test_store: em_store: migrations (applied once, idempotent, versions recorded per module,
 * later steps added, a failing step rolled back, a newer database refused), the mapping of
 * SQLite errors (a constraint violation is ALREADY_EXISTS), reading rows (a step error is
 * an error, not the end of the rows), the statement cache beyond its
 * 64 slots, transactions, one connection per thread with concurrent IMMEDIATE writers, and
 * purges: erased data (in a table page or on overflow pages) leaves every file, even while
 * another connection reads the snapshot that held it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_log.h"
#include "unit_util.h"

#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    if (!d || unit_dir_open(d))
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct unit_dir *d = *state;
    unit_dir_close(d);
    free(d);
    return 0;
}

/* The single integer a query returns. */
static int64_t query_int(struct em_store *store, const char *sql)
{
    struct em_status st = {0};
    sqlite3_stmt *stmt = em_store_stmt(store, sql, &st);
    if (!stmt)
        fail_msg("%s: %s", sql, st.message);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    em_stmt_done(stmt);
    return v;
}

/* ---------------------------------------------------------------- migrations */

static const char *const steps_v2[] = {
    "CREATE TABLE widgets (id TEXT PRIMARY KEY, size INTEGER)",
    "INSERT INTO widgets VALUES ('seed', 1)",
};

static const char *const steps_v3[] = {
    "CREATE TABLE widgets (id TEXT PRIMARY KEY, size INTEGER)",
    "INSERT INTO widgets VALUES ('seed', 1)",
    "ALTER TABLE widgets ADD COLUMN color TEXT",
};

static void test_migrations_apply_once(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 1);
    assert_true(query_int(d->store, "SELECT version FROM schema_migrations "
                                    "WHERE module = 'widgets'") == 2);
}

static void test_migrations_survive_a_restart(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    em_store_close(d->store);
    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/metadata.db", d->path);
    assert_int_equal(em_store_open(db, &d->store, &st), EM_OK);
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 1);
}

static void test_a_newer_build_applies_only_the_new_steps(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v3, 3, &st), EM_OK);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets WHERE color IS NULL") == 1);
    assert_true(query_int(d->store, "SELECT version FROM schema_migrations "
                                    "WHERE module = 'widgets'") == 3);
}

static void test_a_newer_database_is_refused(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v3, 3, &st), EM_OK);
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st),
                     EM_FAILED_PRECONDITION);
    assert_string_equal(st.message,
                        "metadata.db has schema widgets version 3, newer than this build (2)");
    /* the refusal left no transaction open */
    assert_int_equal(em_store_begin(d->store, &st), EM_OK);
    em_store_rollback(d->store);
}

static void test_modules_have_their_own_versions(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    static const char *const gadgets[] = {"CREATE TABLE gadgets (id TEXT)"};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v3, 3, &st), EM_OK);
    assert_int_equal(em_store_migrate(d->store, "gadgets", gadgets, 1, &st), EM_OK);
    assert_true(query_int(d->store, "SELECT version FROM schema_migrations "
                                    "WHERE module = 'gadgets'") == 1);
    assert_true(query_int(d->store, "SELECT version FROM schema_migrations "
                                    "WHERE module = 'widgets'") == 3);
}

static void test_a_failing_step_rolls_back_the_migration(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    static const char *const broken[] = {
        "CREATE TABLE widgets (id TEXT PRIMARY KEY, size INTEGER)",
        "INSERT INTO no_such_table VALUES (1)",
    };
    assert_int_equal(em_store_migrate(d->store, "widgets", broken, 2, &st), EM_INTERNAL);
    assert_string_equal(st.message, "Internal error in the metadata store.");
    assert_true(query_int(d->store, "SELECT count(*) FROM sqlite_master "
                                    "WHERE name = 'widgets'") == 0);
    assert_true(query_int(d->store, "SELECT count(*) FROM schema_migrations") == 0);
    /* the fixed build migrates cleanly from scratch */
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 1);
}

/* ---------------------------------------------------------------- errors */

static void test_constraint_violation_is_already_exists(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    sqlite3_stmt *stmt = em_store_stmt(d->store, "INSERT INTO widgets VALUES (?, 2)", &st);
    assert_non_null(stmt);
    em_bind_text(stmt, 1, "seed");
    assert_int_equal(em_stmt_run(stmt, &st), EM_ALREADY_EXISTS);
    assert_string_equal(st.message, "Resource already exists.");
    /* the statement was reset: it runs again with new bindings */
    stmt = em_store_stmt(d->store, "INSERT INTO widgets VALUES (?, 2)", &st);
    em_bind_text(stmt, 1, "other");
    assert_int_equal(em_stmt_run(stmt, &st), EM_OK);
    em_status_clear(&st);
    assert_int_equal(em_store_exec(d->store, "INSERT INTO widgets VALUES ('other', 3)", &st),
                     EM_ALREADY_EXISTS);
}

static void test_error_mapping(void **state)
{
    (void)state;
    struct em_status st = {0};
    assert_int_equal(em_store_error(NULL, SQLITE_BUSY, &st), EM_UNAVAILABLE);
    assert_string_equal(st.message, "The metadata store is busy; retry the request.");
    assert_int_equal(em_store_error(NULL, SQLITE_LOCKED, &st), EM_UNAVAILABLE);
    assert_int_equal(em_store_error(NULL, SQLITE_BUSY_SNAPSHOT, &st), EM_UNAVAILABLE);
    assert_int_equal(em_store_error(NULL, SQLITE_FULL, &st), EM_RESOURCE_EXHAUSTED);
    assert_int_equal(em_store_error(NULL, SQLITE_CONSTRAINT_UNIQUE, &st), EM_ALREADY_EXISTS);
    assert_int_equal(em_store_error(NULL, SQLITE_CORRUPT, &st), EM_INTERNAL);
    assert_string_equal(st.message, "Internal error in the metadata store.");
}

static void test_bad_sql_and_bad_paths(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_null(em_store_stmt(d->store, "SELEKT 1", &st));
    assert_int_equal(st.code, EM_INTERNAL);
    assert_int_equal(em_store_exec(d->store, "DROP TABLE nothing_here", &st), EM_INTERNAL);
    /* the internals are logged, never sent */
    assert_null(strstr(st.message, "nothing_here"));
    struct em_store *store = (struct em_store *)&st;
    em_status_clear(&st);
    assert_int_not_equal(em_store_open("/nonexistent-dir/sub/metadata.db", &store, &st), EM_OK);
    assert_int_not_equal(st.code, EM_OK);
    assert_ptr_equal(store, (struct em_store *)&st);
    em_store_close(NULL);
}

static enum em_code count_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    int *count = arg;
    if (sqlite3_column_int(row, 0) < 0)
        return EM_FAIL(st, EM_DATA_LOSS, "negative row");
    (*count)++;
    return EM_OK;
}

static int each_row(struct em_store *store, int *count, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "SELECT n FROM rows ORDER BY id", st);
    *count = 0;
    return stmt ? em_stmt_each_row(stmt, count_row, count, st) : st->code;
}

/* Every row, or an error: a step that fails part-way is not the end of the rows, and a
 * row the caller rejects stops the rows with its error. The statement is finished either
 * way (it is reused cleanly afterwards). */
static void test_each_row_fails_on_a_step_error(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_exec(d->store,
                                   "CREATE TABLE rows(id INTEGER PRIMARY KEY, n INTEGER);"
                                   "INSERT INTO rows(n) VALUES (1), (2), (3), (4);",
                                   &st),
                     EM_OK);
    int count;
    assert_int_equal(each_row(d->store, &count, &st), EM_OK);
    assert_int_equal(count, 4);

    struct unit_step_fault fault = {.sql_part = "FROM rows", .rows = 2};
    unit_step_fault_arm(d->store, &fault);
    assert_int_equal(each_row(d->store, &count, &st), EM_INTERNAL);
    unit_step_fault_disarm(d->store);
    assert_int_equal(count, 2);

    assert_int_equal(em_store_exec(d->store, "UPDATE rows SET n = -1 WHERE id = 3", &st), EM_OK);
    assert_int_equal(each_row(d->store, &count, &st), EM_DATA_LOSS);
    assert_int_equal(count, 2);
    assert_int_equal(em_store_exec(d->store, "DELETE FROM rows WHERE id = 3", &st), EM_OK);
    assert_int_equal(each_row(d->store, &count, &st), EM_OK);
    assert_int_equal(count, 3);
}

static void test_null_text(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    sqlite3_stmt *stmt = em_store_stmt(d->store, "SELECT ?, ? IS NULL", &st);
    em_bind_text(stmt, 1, NULL);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal(em_column_text(stmt, 0), "");
    assert_int_equal(sqlite3_column_int(stmt, 1), 1);
    em_stmt_done(stmt);
    stmt = em_store_stmt(d->store, "SELECT ?", &st);
    char text[] = "copied";
    em_bind_text(stmt, 1, text);
    text[0] = 'X'; /* bound as a copy */
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal(em_column_text(stmt, 0), "copied");
    em_stmt_done(stmt);
}

/* ---------------------------------------------------------------- statement cache */

#define MANY 150
static char many_sql[MANY][32]; /* static storage, as the cache requires */

static void test_statement_cache_beyond_its_slots(void **state)
{
    struct unit_dir *d = *state;
    for (int i = 0; i < MANY; i++)
        snprintf(many_sql[i], sizeof(many_sql[i]), "SELECT %d", i * 3);
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < MANY; k++) {
            int i = round == 1 ? MANY - 1 - k : k;
            if (query_int(d->store, many_sql[i]) != i * 3)
                fail_msg("round %d: \"%s\" answered another statement", round, many_sql[i]);
        }
    }
    /* the same text at another address finds the cached statement */
    char copy[32];
    snprintf(copy, sizeof(copy), "%s", many_sql[MANY - 1]);
    struct em_status st = {0};
    sqlite3_stmt *cached = em_store_stmt(d->store, many_sql[MANY - 1], &st);
    assert_ptr_equal(em_store_stmt(d->store, copy, &st), cached);
    em_stmt_done(cached);
    /* and the cache stays bounded: old statements were finalized, not leaked */
    int live = 0;
    sqlite3 *db = em_store_db(d->store, &st);
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        live++;
    assert_in_range(live, 1, 64);
}

static void test_cached_statements_come_back_reset(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    static const char sql[] = "SELECT value FROM json_each('[1,2,3]') WHERE value >= ?";
    sqlite3_stmt *stmt = em_store_stmt(d->store, sql, &st);
    sqlite3_bind_int(stmt, 1, 2);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 2);
    em_stmt_done(stmt);
    stmt = em_store_stmt(d->store, sql, &st);
    /* bindings were cleared: NULL matches nothing */
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    em_stmt_done(stmt);
}

/* ---------------------------------------------------------------- transactions, threads */

static void test_transactions(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    assert_int_equal(em_store_begin(d->store, &st), EM_OK);
    assert_int_equal(em_store_exec(d->store, "INSERT INTO widgets VALUES ('gone', 1)", &st), EM_OK);
    em_store_rollback(d->store);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 1);
    assert_int_equal(em_store_begin(d->store, &st), EM_OK);
    assert_int_equal(em_store_exec(d->store, "INSERT INTO widgets VALUES ('kept', 1)", &st), EM_OK);
    assert_int_equal(em_store_commit(d->store, &st), EM_OK);
    /* another connection (another process) sees the commit */
    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/metadata.db", d->path);
    struct em_store *second;
    assert_int_equal(em_store_open(db, &second, &st), EM_OK);
    assert_true(query_int(second, "SELECT count(*) FROM widgets WHERE id = 'kept'") == 1);
    em_store_close(second);
    /* rollback outside a transaction is harmless */
    em_store_rollback(d->store);
    /* a commit with no transaction fails and leaves the store usable */
    assert_int_equal(em_store_commit(d->store, &st), EM_INTERNAL);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 2);
}

#define WRITES 150

static pthread_barrier_t both_connected;

struct writer {
    struct em_store *store;
    const char *name;
    sqlite3 *db;
    enum em_code code;
    char message[EM_STATUS_MESSAGE_MAX];
};

/* Read-modify-write transactions: each bumps the seed's counter and adds a row. */
static enum em_code bump(struct writer *w, int i, struct em_status *st)
{
    if (em_store_begin(w->store, st))
        return st->code;
    sqlite3_stmt *read = em_store_stmt(w->store, "SELECT size FROM widgets WHERE id = 'seed'", st);
    if (!read || sqlite3_step(read) != SQLITE_ROW) {
        em_stmt_done(read);
        em_store_rollback(w->store);
        return st->code ? st->code : EM_FAIL(st, EM_INTERNAL, "seed not found");
    }
    int64_t size = sqlite3_column_int64(read, 0);
    em_stmt_done(read);
    /* widen the window between read and write, where deferred transactions would clash */
    nanosleep(&(struct timespec){0, 20000}, NULL);
    sqlite3_stmt *update =
        em_store_stmt(w->store, "UPDATE widgets SET size = ? WHERE id = 'seed'", st);
    if (update)
        sqlite3_bind_int64(update, 1, size + 1);
    sqlite3_stmt *insert = update && !em_stmt_run(update, st)
                               ? em_store_stmt(w->store, "INSERT INTO widgets VALUES (?, ?)", st)
                               : NULL;
    if (insert) {
        char id[32];
        snprintf(id, sizeof(id), "%s-%d", w->name, i);
        em_bind_text(insert, 1, id);
        sqlite3_bind_int(insert, 2, i);
    }
    if (!insert || em_stmt_run(insert, st) || em_store_commit(w->store, st)) {
        em_store_rollback(w->store);
        return st->code;
    }
    return EM_OK;
}

static void *write_rows(void *arg)
{
    struct writer *w = arg;
    struct em_status st = {0};
    w->db = em_store_db(w->store, &st);
    pthread_barrier_wait(&both_connected); /* both connections open, then both write */
    for (int i = 0; i < WRITES && bump(w, i, &st) == EM_OK; i++)
        ;
    w->code = st.code;
    snprintf(w->message, sizeof(w->message), "%s", st.message);
    return NULL;
}

static void test_threads_get_their_own_connections_and_both_write(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(d->store, "widgets", steps_v2, 2, &st), EM_OK);
    struct writer a = {d->store, "a"}, b = {d->store, "b"};
    pthread_t ta, tb;
    pthread_barrier_init(&both_connected, NULL, 2);
    assert_int_equal(pthread_create(&ta, NULL, write_rows, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, write_rows, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&both_connected);
    if (a.code || b.code)
        fail_msg("writers failed: a: %s, b: %s", a.message, b.message);
    sqlite3 *mine = em_store_db(d->store, &st);
    assert_non_null(a.db);
    assert_true(a.db != b.db && a.db != mine && b.db != mine);
    assert_ptr_equal(em_store_db(d->store, &st), mine);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets") == 1 + 2 * WRITES);
    assert_true(query_int(d->store, "SELECT count(*) FROM widgets WHERE id LIKE 'b-%'") == WRITES);
    /* no update was lost */
    assert_true(query_int(d->store, "SELECT size FROM widgets WHERE id = 'seed'") ==
                1 + 2 * WRITES);
}

static void test_the_journal_is_wal(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    sqlite3_stmt *stmt = em_store_stmt(d->store, "PRAGMA journal_mode", &st);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal(em_column_text(stmt, 0), "wal");
    em_stmt_done(stmt);
    assert_true(query_int(d->store, "PRAGMA foreign_keys") == 1);
}

/* ---------------------------------------------------------------- purging */

static const char *const secret_steps[] = {
    "CREATE TABLE secrets (id TEXT PRIMARY KEY, material BLOB)",
};

#define MARKER "key-material-marker-5c1f0e"

/* The number of files in dir holding needle anywhere (metadata.db, -wal, -shm). */
static int files_containing(const char *dir, const char *needle)
{
    int found = 0;
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f || e->d_name[0] == '.') {
            if (f)
                fclose(f);
            continue;
        }
        static char data[1 << 22];
        size_t n = fread(data, 1, sizeof(data), f);
        fclose(f);
        found += memmem(data, n, needle, strlen(needle)) != NULL;
    }
    closedir(dp);
    return found;
}

static long file_size(const char *dir, const char *name)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* A small secret (inside a table page) and a large one (on overflow pages), with
 * neighbours that stay. */
static void store_secrets(struct em_store *store)
{
    struct em_status st = {0};
    assert_int_equal(em_store_migrate(store, "secrets", secret_steps, 1, &st), EM_OK);
    static char big[9000];
    for (size_t i = 0; i + sizeof(MARKER) < sizeof(big); i += sizeof(MARKER) - 1)
        memcpy(big + i, MARKER, sizeof(MARKER) - 1);
    const char *ids[] = {"neighbour-1", "small", "big", "neighbour-2"};
    for (size_t i = 0; i < 4; i++) {
        sqlite3_stmt *stmt =
            em_store_stmt(store, "INSERT INTO secrets(id, material) VALUES (?, ?)", &st);
        assert_non_null(stmt);
        em_bind_text(stmt, 1, ids[i]);
        const char *blob = i == 2 ? big : i == 1 ? MARKER : "public";
        sqlite3_bind_blob(stmt, 2, blob, (int)strlen(blob), SQLITE_STATIC);
        assert_int_equal(em_stmt_run(stmt, &st), EM_OK);
    }
}

static void erase_secrets(struct em_store *store)
{
    struct em_status st = {0};
    assert_int_equal(em_store_exec(store,
                                   "UPDATE secrets SET material = NULL WHERE id = 'small';"
                                   "DELETE FROM secrets WHERE id = 'big'",
                                   &st),
                     EM_OK);
}

static void test_a_purge_leaves_no_copy_of_erased_data(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    store_secrets(d->store);
    erase_secrets(d->store);
    /* erased in the table, but older frames of the WAL still hold it */
    assert_true(files_containing(d->path, MARKER) > 0);
    assert_false(em_store_purge_pending(d->store));
    assert_int_equal(em_store_purge(d->store, &st), EM_OK);
    assert_int_equal(files_containing(d->path, MARKER), 0);
    assert_int_equal(file_size(d->path, "metadata.db-wal"), 0);
    assert_false(em_store_purge_pending(d->store));
    assert_true(query_int(d->store, "SELECT count(*) FROM secrets") == 3);
    assert_true(query_int(d->store, "SELECT count(*) FROM secrets WHERE material IS NULL") == 1);
}

struct reader {
    sqlite3 *db;
    sqlite3_stmt *stmt;
};

static void *end_read_later(void *arg)
{
    struct reader *r = arg;
    usleep(300 * 1000);
    sqlite3_finalize(r->stmt);
    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    return NULL;
}

static void test_a_purge_waits_for_another_connections_reader(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    store_secrets(d->store);
    /* another connection (another process, in production) reads the snapshot that still
     * holds the secrets while they are erased */
    struct reader r = {0};
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/metadata.db", d->path);
    assert_int_equal(sqlite3_open(path, &r.db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(r.db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(r.db, "SELECT id FROM secrets", -1, &r.stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(r.stmt), SQLITE_ROW);
    erase_secrets(d->store);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, end_read_later, &r), 0);
    assert_int_equal(em_store_purge(d->store, &st), EM_OK); /* waits for the reader */
    pthread_join(t, NULL);
    sqlite3_close(r.db);
    assert_int_equal(files_containing(d->path, MARKER), 0);
    assert_int_equal(file_size(d->path, "metadata.db-wal"), 0);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_apply_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_survive_a_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_newer_build_applies_only_the_new_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_newer_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modules_have_their_own_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_step_rolls_back_the_migration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_constraint_violation_is_already_exists, setup,
                                        teardown),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test_setup_teardown(test_bad_sql_and_bad_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_row_fails_on_a_step_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache_beyond_its_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_statements_come_back_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_get_their_own_connections_and_both_write,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_journal_is_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_purge_leaves_no_copy_of_erased_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_purge_waits_for_another_connections_reader, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
