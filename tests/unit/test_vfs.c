/*
 * Unit tests of the encrypted store (em_store_open_encrypted over the emcrypt VFS):
 * no plaintext in the database, WAL or shm files; data back after a clean reopen and
 * after a crash that leaves the WAL behind; a wrong key and a damaged page are refused
 * with DATA_LOSS; journals that would hold clear pages are never created.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_log.h"
#include "em_store.h"
#include "em_vfs.h"
#include "unit_util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARKER "unit-vfs-marker-7f3a9c"
#define ROWS   3000

struct fixture {
    struct unit_dir dir;
    char path[PATH_MAX + 32];
    unsigned char key[32];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_dir_open(&f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/data.db", f->dir.path);
    memset(f->key, 0x42, sizeof(f->key));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

static struct em_store *open_store(struct fixture *f, const unsigned char *key, enum em_code want)
{
    struct em_store *store = NULL;
    struct em_status st = {0};
    assert_int_equal(em_store_open_encrypted(f->path, key, &store, &st), want);
    return store;
}

static void fill(struct em_store *store)
{
    struct em_status st = {0};
    assert_int_equal(em_store_exec(store, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", &st),
                     EM_OK);
    assert_int_equal(em_store_begin(store, &st), EM_OK);
    for (int i = 0; i < ROWS; i++) {
        sqlite3_stmt *stmt = em_store_stmt(store, "INSERT INTO t(v) VALUES (?)", &st);
        assert_non_null(stmt);
        char value[128];
        snprintf(value, sizeof(value), "%s-%d-%s", MARKER, i, "padding padding padding");
        em_bind_text(stmt, 1, value);
        assert_int_equal(em_stmt_run(stmt, &st), EM_OK);
    }
    assert_int_equal(em_store_commit(store, &st), EM_OK);
}

static int count_rows(struct em_store *store)
{
    struct em_status st = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT count(*) FROM t WHERE v LIKE '" MARKER "%'", &st);
    assert_non_null(stmt);
    int n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    em_stmt_done(stmt);
    return n;
}

static void assert_no_plaintext(struct fixture *f)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char name[PATH_MAX + 48];
        snprintf(name, sizeof(name), "%s%s", f->path, suffixes[i]);
        assert_false(unit_file_contains(name, MARKER));
        assert_false(unit_file_contains(name, "padding padding"));
    }
}

static void test_round_trip_without_plaintext(void **state)
{
    struct fixture *f = *state;
    struct em_store *store = open_store(f, f->key, EM_OK);
    fill(store);
    assert_int_equal(count_rows(store), ROWS);
    assert_no_plaintext(f); /* while the data sits in the WAL */
    em_store_close(store);
    assert_no_plaintext(f); /* after the checkpoint into the database file */

    unsigned char header[100];
    int fd = open(f->path, O_RDONLY);
    assert_int_equal(read(fd, header, sizeof(header)), 100);
    close(fd);
    assert_memory_equal(header, "SQLite format 3", 15);
    assert_int_equal(header[20], EM_VFS_RESERVED);

    store = open_store(f, f->key, EM_OK);
    assert_int_equal(count_rows(store), ROWS);
    em_store_close(store);
}

static void test_wrong_key_is_data_loss(void **state)
{
    struct fixture *f = *state;
    struct em_store *store = open_store(f, f->key, EM_OK);
    fill(store);
    em_store_close(store);
    unsigned char other[32];
    memset(other, 0x17, sizeof(other));
    assert_null(open_store(f, other, EM_DATA_LOSS));
}

static void test_damaged_page_is_data_loss(void **state)
{
    struct fixture *f = *state;
    struct em_store *store = open_store(f, f->key, EM_OK);
    fill(store);
    em_store_close(store);
    int fd = open(f->path, O_RDWR);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, 4096 * 3 + 200), 1);
    byte ^= 0x55;
    assert_int_equal(pwrite(fd, &byte, 1, 4096 * 3 + 200), 1);
    close(fd);
    store = open_store(f, f->key, EM_OK);
    struct em_status st = {0};
    assert_int_equal(em_store_exec(store, "SELECT sum(length(v)) FROM t", &st), EM_DATA_LOSS);
    em_store_close(store);
}

/* A child writes and dies without closing: the next open must replay the WAL. */
static void test_crash_leaves_a_replayable_wal(void **state)
{
    struct fixture *f = *state;
    pid_t pid = fork();
    if (pid == 0) {
        struct em_store *store = NULL;
        struct em_status st = {0};
        if (em_store_open_encrypted(f->path, f->key, &store, &st) == EM_OK) {
            fill(store);
            _exit(0); /* no close, no checkpoint */
        }
        _exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    char wal[PATH_MAX + 48];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_int_equal(access(wal, F_OK), 0);
    assert_no_plaintext(f);
    struct em_store *store = open_store(f, f->key, EM_OK);
    assert_int_equal(count_rows(store), ROWS);
    em_store_close(store);
}

static void test_clear_journals_are_refused(void **state)
{
    struct fixture *f = *state;
    struct em_store *store = open_store(f, f->key, EM_OK);
    fill(store);
    struct em_status st = {0};
    /* leaving WAL mode would need a rollback journal, which would hold clear pages */
    em_store_exec(store, "PRAGMA journal_mode=DELETE", &st);
    em_store_exec(store, "INSERT INTO t(v) VALUES ('" MARKER "-after')", &st);
    em_store_close(store);
    assert_no_plaintext(f);
}

static void test_sorting_needs_no_temporary_files(void **state)
{
    struct fixture *f = *state;
    struct em_store *store = open_store(f, f->key, EM_OK);
    fill(store);
    struct em_status st = {0};
    assert_int_equal(em_store_exec(store,
                                   "SELECT v FROM t ORDER BY substr(v, 10) DESC;"
                                   "SELECT DISTINCT length(v) FROM t;",
                                   &st),
                     EM_OK);
    em_store_close(store);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_without_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_data_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_page_is_data_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_leaves_a_replayable_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_journals_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sorting_needs_no_temporary_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
