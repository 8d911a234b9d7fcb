/*
 * Tests of the CMEK-protected data store (em_datastore) against a real KMS: the KMS
 * service runs in this process behind its HTTP server on a free port, and a test service
 * protects its resources through the CMEK engine, as in production. Covers group commit
 * of concurrent writers, deferred completion, a failing job among good ones, the gate
 * refusing while the key is disabled and the file closing on that state change,
 * crypto-shredding (no file, no keys, no plaintext; a file in use goes with its last
 * user), renaming, reopening after a close, the one-writer rule, and a file that cannot
 * be opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_call.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_datastore.h"
#include "em_http.h"
#include "em_json.h"
#include "em_kms_client.h"
#include "em_service.h"
#include "kms/kms_service.h"
#include "unit_kms.h"
#include "unit_util.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define RING     "projects/ds-project/locations/global/keyRings/ring"
#define KEY      RING "/cryptoKeys/key"
#define RESOURCE "projects/ds-project/tables/orders"
#define MARKER   "datastore-marker-5e1d"

static const struct em_service_desc test_desc = {
    .name = "testsvc",
    .port = 2, /* Pub/Sub's offset: the fixture's in-process KMS takes the KMS port */
    .google_service = "test.googleapis.com",
};
static const struct em_service_def test_service = {.desc = &test_desc};

/* What the hooks saw (the service's state is this fixture). */
struct counts {
    atomic_int opened, closed, batches, rollbacks;
};

struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX + 16];
    struct em_config cfg;
    struct em_service *kms, *svc;
    struct em_cmek *cmek;
    struct em_datastore *ds;
    struct counts counts;
};

/* --- the service's hooks: one table, rows of text --- */

static enum em_code opened(struct em_store *store, void *arg, void **state, struct em_status *st)
{
    struct counts *c = arg;
    if (em_store_exec(store, "CREATE TABLE IF NOT EXISTS rows(text TEXT NOT NULL)", st))
        return st->code;
    atomic_fetch_add(&c->opened, 1);
    *state = c;
    return EM_OK;
}

static void closed(void *state)
{
    atomic_fetch_add(&((struct counts *)state)->closed, 1);
}

static void rolled_back(void *state)
{
    atomic_fetch_add(&((struct counts *)state)->rollbacks, 1);
}

static void batch_done(void *state)
{
    atomic_fetch_add(&((struct counts *)state)->batches, 1);
}

static const struct em_datastore_hooks hooks = {
    .opened = opened,
    .closed = closed,
    .rolled_back = rolled_back,
    .batch_done = batch_done,
};

/* The engine's state hook, as a service wires it. */
static void state_changed(void *arg, const char *resource, enum em_cmek_state from,
                          enum em_cmek_state to)
{
    struct fixture *f = arg;
    (void)resource, (void)from;
    if (f->ds)
        em_datastore_state_changed(f->ds, to);
}

/* --- jobs --- */

static enum em_code job_insert(struct em_datafile *file, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file), "INSERT INTO rows(text) VALUES (?)", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_TRANSIENT);
    return em_stmt_run(stmt, st);
}

static enum em_code job_count(struct em_datafile *file, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(em_datafile_store(file), "SELECT count(*) FROM rows", st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    *(int *)arg = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    em_stmt_done(stmt);
    return rc == SQLITE_ROW ? EM_OK : EM_FAIL(st, EM_INTERNAL, "count failed");
}

static enum em_code job_fail(struct em_datafile *file, void *arg, struct em_status *st)
{
    job_insert(file, "rolled back", st); /* undone with the transaction */
    (void)arg;
    return EM_FAIL(st, EM_ABORTED, "this job fails");
}

/* Holds the writer thread until `want` jobs are queued behind it. */
struct hold {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int queued, want;
    bool running; /* the writer took the hold job (alone: nothing else was queued yet) */
};

static enum em_code job_hold(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct hold *h = arg;
    (void)file, (void)st;
    pthread_mutex_lock(&h->lock);
    h->running = true;
    pthread_cond_broadcast(&h->cond);
    while (h->queued < h->want)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
    return EM_OK;
}

/* Waits until the writer runs the hold job. */
static void wait_running(struct hold *h)
{
    pthread_mutex_lock(&h->lock);
    while (!h->running)
        pthread_cond_wait(&h->cond, &h->lock);
    pthread_mutex_unlock(&h->lock);
}

static void queued(struct hold *h)
{
    pthread_mutex_lock(&h->lock);
    h->queued++;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void post(void *arg)
{
    sem_post(arg);
}

static int set_key_state(struct fixture *f, const char *state)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
    return unit_kms_call(f->kms, "PATCH", "/v1/" KEY "/cryptoKeyVersions/1", "updateMask", "state",
                         body);
}

/* Moves the emulator clock past a key check and runs both services' timers. */
static void next_key_check(struct fixture *f)
{
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->svc->store, 300 * EM_NS_PER_SEC, &offset, &st), EM_OK);
    assert_int_equal(em_service_tick(f->kms, false, &st), EM_OK);
    assert_int_equal(em_service_tick(f->svc, false, &st), EM_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/orders.db", f->dir);
    struct em_cmek_hooks cmek_hooks = {.state_changed = state_changed, .arg = f};
    if (unit_kms_start(&f->cfg, 14240, &f->kms) ||
        em_service_open(&test_service, &f->cfg, &f->svc, &st) ||
        em_cmek_open(f->svc, "gcp-sa-test", &cmek_hooks, &f->cmek, &st) ||
        unit_kms_create_key(f->kms, RING, "key") ||
        em_cmek_protect(f->cmek, RESOURCE, "ds-project", KEY, &st) ||
        em_datastore_new(f->cmek, RESOURCE, f->path, &hooks, &f->counts, &f->ds, &st)) {
        fprintf(stderr, "setup: %s\n", st.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    em_datastore_free(f->ds);
    f->ds = NULL;
    em_clock_reset(f->kms->store, &st);
    em_service_close(f->svc);
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

static struct em_datafile *open_file(struct fixture *f)
{
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    assert_int_equal(em_datastore_open(f->ds, &file, &st), EM_OK);
    return file;
}

static void insert(struct fixture *f, const char *text)
{
    struct em_datafile *file = open_file(f);
    struct em_status st = {0};
    assert_int_equal(em_datafile_run(file, job_insert, (void *)text, &st), EM_OK);
    em_datafile_put(file);
}

static int count_rows(struct fixture *f)
{
    struct em_datafile *file = open_file(f);
    struct em_status st = {0};
    int n = -1;
    assert_int_equal(em_datafile_run(file, job_count, &n, &st), EM_OK);
    em_datafile_put(file);
    return n;
}

static bool file_exists(const char *path, const char *suffix)
{
    char name[PATH_MAX + 32];
    snprintf(name, sizeof(name), "%s%s", path, suffix);
    struct stat sb;
    return stat(name, &sb) == 0;
}

/* --- group commit and deferred completion --- */

#define WRITERS 8
#define EACH    25

static void *writer(void *arg)
{
    struct fixture *f = arg;
    char text[32];
    for (int i = 0; i < EACH; i++) {
        snprintf(text, sizeof(text), "row %d", i);
        insert(f, text);
    }
    return NULL;
}

static void test_concurrent_writers_all_commit(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, writer, f), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(count_rows(f), WRITERS * EACH);
    assert_int_equal(atomic_load(&f->counts.opened), 1); /* one file, one writer thread */
    assert_int_equal(atomic_load(&f->counts.rollbacks), 0);
}

/* Jobs queued while the writer is busy share one transaction and one commit. */
static void test_jobs_queued_meanwhile_share_one_commit(void **state)
{
    struct fixture *f = *state;
    struct em_datafile *file = open_file(f);
    struct hold hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, WRITERS, false};
    struct em_datafile_result hold_result, results[WRITERS];
    sem_t done;
    sem_init(&done, 0, 0);
    struct em_status st = {0};
    int batches = atomic_load(&f->counts.batches);
    assert_int_equal(em_datafile_submit(file, job_hold, &hold, &hold_result, post, &done, &st), 0);
    wait_running(&hold);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(
            em_datafile_submit(file, job_insert, MARKER, &results[i], post, &done, &st), EM_OK);
        queued(&hold);
    }
    for (int i = 0; i <= WRITERS; i++)
        sem_wait(&done);
    sem_destroy(&done);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(results[i].code, EM_OK);
    /* the held batch, then every job queued behind it in one more */
    assert_int_equal(atomic_load(&f->counts.batches) - batches, 2);
    em_datafile_put(file);
    assert_int_equal(count_rows(f), WRITERS);
}

/* Completion comes after the commit: by the time done runs the row is stored, and a
 * failing job of the same batch gets its own error without undoing the others. */
static void test_a_failing_job_fails_alone(void **state)
{
    struct fixture *f = *state;
    struct em_datafile *file = open_file(f);
    struct hold hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 3, false};
    struct em_datafile_result hold_result, good1, bad, good2;
    sem_t done;
    sem_init(&done, 0, 0);
    struct em_status st = {0};
    assert_int_equal(em_datafile_submit(file, job_hold, &hold, &hold_result, post, &done, &st), 0);
    wait_running(&hold); /* the three that follow share the next batch */
    assert_int_equal(em_datafile_submit(file, job_insert, "one", &good1, post, &done, &st), 0);
    queued(&hold);
    assert_int_equal(em_datafile_submit(file, job_fail, NULL, &bad, post, &done, &st), 0);
    queued(&hold);
    assert_int_equal(em_datafile_submit(file, job_insert, "two", &good2, post, &done, &st), 0);
    queued(&hold);
    for (int i = 0; i < 4; i++)
        sem_wait(&done);
    sem_destroy(&done);
    assert_int_equal(good1.code, EM_OK);
    assert_int_equal(good2.code, EM_OK);
    assert_int_equal(bad.code, EM_ABORTED);
    assert_string_equal(bad.st.message, "this job fails");
    assert_true(atomic_load(&f->counts.rollbacks) >= 2); /* the batch, then the bad job alone */
    em_datafile_put(file);
    assert_int_equal(count_rows(f), 2);
}

/* --- the gate and CMEK states --- */

static void test_disabled_key_closes_the_file_and_refuses(void **state)
{
    struct fixture *f = *state;
    insert(f, MARKER);
    struct em_datafile *file = em_datastore_peek(f->ds);
    assert_non_null(file); /* open after the insert */
    em_datafile_put(file);
    assert_int_equal(set_key_state(f, "DISABLED"), 200);
    next_key_check(f);
    assert_null(em_datastore_peek(f->ds)); /* closed: the DEK left memory */
    assert_int_equal(atomic_load(&f->counts.closed), 1);
    struct em_status st = {0};
    assert_int_equal(em_datastore_open(f->ds, &file, &st), EM_FAILED_PRECONDITION);
    assert_null(file);
    assert_int_equal(em_datastore_gate(f->ds, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(set_key_state(f, "ENABLED"), 200);
    next_key_check(f);
    assert_int_equal(em_datastore_gate(f->ds, &st), EM_OK);
    assert_int_equal(count_rows(f), 1); /* the data was kept */
    assert_int_equal(atomic_load(&f->counts.opened), 2);
}

static void test_reopen_after_close_and_idle(void **state)
{
    struct fixture *f = *state;
    insert(f, "kept");
    em_datastore_close(f->ds);
    assert_null(em_datastore_peek(f->ds));
    assert_int_equal(count_rows(f), 1);
    assert_int_equal(atomic_load(&f->counts.opened), 2);
    int64_t now = em_clock_monotonic();
    assert_false(em_datastore_close_idle(f->ds, now, 60 * EM_NS_PER_SEC)); /* just used */
    assert_true(em_datastore_close_idle(f->ds, now + 61 * EM_NS_PER_SEC, 60 * EM_NS_PER_SEC));
    assert_null(em_datastore_peek(f->ds));
}

/* A file closed while a call uses it stays open for that call and closes with it. */
static void test_a_file_in_use_closes_with_its_last_user(void **state)
{
    struct fixture *f = *state;
    struct em_datafile *in_use = open_file(f);
    em_datastore_close(f->ds);
    struct em_status st = {0};
    assert_int_equal(em_datafile_run(in_use, job_insert, "late", &st), EM_OK);
    assert_int_equal(atomic_load(&f->counts.closed), 0);
    em_datafile_put(in_use);
    assert_int_equal(atomic_load(&f->counts.closed), 1);
    assert_int_equal(count_rows(f), 1);
    assert_int_equal(atomic_load(&f->counts.opened), 2);
}

/* An open while a closed file is still in use takes that file back instead of starting a
 * second writer on the same file; this holds when the caller itself uses the old file
 * (a call on a topic dead-lettering to the same topic). */
static void test_an_open_takes_back_a_file_still_in_use(void **state)
{
    struct fixture *f = *state;
    struct em_datafile *in_use = open_file(f);
    em_datastore_close(f->ds);
    assert_null(em_datastore_peek(f->ds));
    struct em_datafile *again = open_file(f); /* same thread, old file still held */
    assert_ptr_equal(again, in_use);
    assert_int_equal(atomic_load(&f->counts.opened), 1);
    struct em_status st = {0};
    assert_int_equal(em_datafile_run(again, job_insert, "one writer", &st), EM_OK);
    em_datafile_put(in_use);
    em_datafile_put(again);
    assert_int_equal(atomic_load(&f->counts.closed), 0); /* the datastore holds it again */
    assert_int_equal(count_rows(f), 1);
}

/* --- rename and shred --- */

static void test_rename_keeps_the_data_and_the_keys(void **state)
{
    struct fixture *f = *state;
    insert(f, "before");
    struct em_status st = {0};
    const char *renamed = RESOURCE "/deleted/2026";
    assert_int_equal(em_datastore_rename(f->ds, renamed, &st), EM_OK);
    char name[EM_RESOURCE_MAX];
    em_datastore_name(f->ds, name, sizeof(name));
    assert_string_equal(name, renamed);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, renamed, &info));
    assert_false(em_cmek_info(f->cmek, RESOURCE, &info));
    em_datastore_close(f->ds);
    assert_int_equal(count_rows(f), 1); /* reopened through the renamed protection */
    /* the old name is free for a new resource */
    assert_int_equal(em_cmek_protect(f->cmek, RESOURCE, "ds-project", KEY, &st), EM_OK);
    assert_int_equal(em_datastore_rename(f->ds, RESOURCE, &st), EM_ALREADY_EXISTS);
}

static void test_shred_leaves_no_file_no_keys_no_plaintext(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 50; i++)
        insert(f, MARKER);
    assert_true(file_exists(f->path, ""));
    assert_false(unit_file_contains(f->path, MARKER)); /* encrypted at rest */
    char wal[PATH_MAX + 32];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_false(unit_file_contains(wal, MARKER));
    struct em_status st = {0};
    assert_int_equal(em_datastore_shred(f->ds, true, &st), EM_OK);
    assert_false(file_exists(f->path, ""));
    assert_false(file_exists(f->path, "-wal"));
    assert_false(file_exists(f->path, "-shm"));
    struct em_cmek_info info;
    assert_false(em_cmek_info(f->cmek, RESOURCE, &info));
    struct em_datafile *file = NULL;
    assert_int_equal(em_datastore_open(f->ds, &file, &st), EM_NOT_FOUND);
    assert_int_equal(em_datastore_gate(f->ds, &st), EM_NOT_FOUND);
    assert_null(file);
}

static void test_shred_while_in_use_removes_the_file_after(void **state)
{
    struct fixture *f = *state;
    struct em_datafile *in_use = open_file(f);
    struct em_status st = {0};
    assert_int_equal(em_datastore_shred(f->ds, true, &st), EM_OK);
    assert_true(file_exists(f->path, "")); /* the call goes on with its file ... */
    assert_int_equal(em_datafile_run(in_use, job_insert, "last", &st), EM_OK);
    em_datafile_put(in_use);
    assert_false(file_exists(f->path, "")); /* ... which goes with it */
    assert_false(file_exists(f->path, "-wal"));
}

/* --- checkpoints --- */

#define BIG_ROW_BYTES (64 * 1024) /* 16 pages and more of the WAL per commit */

static enum em_code job_insert_big(struct em_datafile *file, void *arg, struct em_status *st)
{
    (void)arg;
    sqlite3_stmt *stmt = em_store_stmt(
        em_datafile_store(file), "INSERT INTO rows(text) VALUES (printf('%s%0*d', ?, ?, 0))", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_text(stmt, 1, MARKER, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, BIG_ROW_BYTES);
    return em_stmt_run(stmt, st);
}

static long file_size(const char *path, const char *suffix)
{
    char name[PATH_MAX + 32];
    snprintf(name, sizeof(name), "%s%s", path, suffix);
    struct stat sb;
    return stat(name, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Commits writing more than the WAL's limit: the checkpointer copies the WAL into the
 * database meanwhile, the WAL stays under its limit, nothing is lost, no page is clear. */
static void test_checkpoints_bound_the_wal_and_lose_nothing(void **state)
{
    struct fixture *f = *state;
    const int rows = EM_DATASTORE_WAL_FRAMES / 16 + 200;
    struct em_datafile *file = open_file(f);
    struct em_status st = {0};
    long wal_max = 0;
    for (int i = 0; i < rows; i++) {
        assert_int_equal(em_datafile_run(file, job_insert_big, NULL, &st), EM_OK);
        long wal = file_size(f->path, "-wal");
        wal_max = wal > wal_max ? wal : wal_max;
    }
    /* at most the limit, the commit that reached it, and the frames' headers */
    long frame = 4096 + 24;
    assert_true(wal_max <= (EM_DATASTORE_WAL_FRAMES + 64) * frame);
    assert_true(file_size(f->path, "") > (long)rows / 2 * BIG_ROW_BYTES); /* checkpointed */
    int n = -1;
    assert_int_equal(em_datafile_run(file, job_count, &n, &st), EM_OK);
    assert_int_equal(n, rows);
    em_datafile_put(file);
    assert_false(unit_file_contains(f->path, MARKER));
    char other[PATH_MAX + 32];
    snprintf(other, sizeof(other), "%s-wal", f->path);
    assert_false(unit_file_contains(other, MARKER));
    snprintf(other, sizeof(other), "%s-shm", f->path);
    assert_false(unit_file_contains(other, MARKER));
    em_datastore_close(f->ds); /* the last connection copies the rest and removes the WAL */
    assert_false(file_exists(f->path, "-wal"));
    assert_int_equal(count_rows(f), rows);
}

/* --- copies (Spanner backup and restore) --- */

#define COPY "projects/ds-project/tables/orders-copy"

static int count_rows_of(struct em_datastore *ds)
{
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    int n = -1;
    assert_int_equal(em_datastore_open(ds, &file, &st), EM_OK);
    assert_int_equal(em_datafile_run(file, job_count, &n, &st), EM_OK);
    em_datafile_put(file);
    return n;
}

/* A second resource under its own key ("other"), with its datastore at path. */
static struct em_datastore *new_copy_target(struct fixture *f, char *path, size_t len)
{
    struct em_status st = {0};
    struct em_datastore *ds = NULL;
    snprintf(path, len, "%s/orders-copy.db", f->dir);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" RING "/cryptoKeys", "cryptoKeyId",
                                   "other", "{\"purpose\":\"ENCRYPT_DECRYPT\"}"),
                     200);
    assert_int_equal(em_cmek_protect(f->cmek, COPY, "ds-project", RING "/cryptoKeys/other", &st),
                     EM_OK);
    assert_int_equal(em_datastore_new(f->cmek, COPY, path, &hooks, &f->counts, &ds, &st), EM_OK);
    return ds;
}

static void test_copy_reencrypts_under_the_target_key(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 20; i++)
        insert(f, MARKER);
    char path[PATH_MAX + 32], wal[PATH_MAX + 48];
    struct em_datastore *copy = new_copy_target(f, path, sizeof(path));
    struct em_status st = {0};
    assert_int_equal(em_datastore_copy(f->ds, copy, &st), EM_OK);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    assert_true(file_exists(path, ""));
    assert_false(unit_file_contains(path, MARKER)); /* no plaintext page on disk */
    assert_false(unit_file_contains(wal, MARKER));
    assert_int_equal(count_rows_of(copy), 20);
    /* the two go their own ways */
    insert(f, "after the copy");
    assert_int_equal(count_rows(f), 21);
    assert_int_equal(count_rows_of(copy), 20);
    /* an open target is not overwritten */
    assert_int_equal(em_datastore_copy(f->ds, copy, &st), EM_FAILED_PRECONDITION);
    em_datastore_free(copy);
    /* the copy is under the target's key: the source's key does not open it */
    struct em_datastore *wrong = NULL;
    struct em_datafile *file = NULL;
    assert_int_equal(em_datastore_new(f->cmek, RESOURCE, path, &hooks, &f->counts, &wrong, &st), 0);
    assert_int_equal(em_datastore_open(wrong, &file, &st), EM_DATA_LOSS);
    em_datastore_free(wrong);
}

static void test_copy_needs_both_keys(void **state)
{
    struct fixture *f = *state;
    insert(f, MARKER);
    char path[PATH_MAX + 32];
    struct em_datastore *copy = new_copy_target(f, path, sizeof(path));
    struct em_status st = {0};
    /* the source's key disabled: nothing is copied, no file is made */
    assert_int_equal(unit_kms_call(f->kms, "PATCH", "/v1/" KEY "/cryptoKeyVersions/1", "updateMask",
                                   "state", "{\"state\":\"DISABLED\"}"),
                     200);
    assert_int_equal(em_cmek_check(f->cmek, RESOURCE, &st), EM_OK);
    assert_int_equal(em_datastore_copy(f->ds, copy, &st), EM_FAILED_PRECONDITION);
    assert_false(file_exists(path, ""));
    assert_int_equal(unit_kms_call(f->kms, "PATCH", "/v1/" KEY "/cryptoKeyVersions/1", "updateMask",
                                   "state", "{\"state\":\"ENABLED\"}"),
                     200);
    assert_int_equal(em_cmek_check(f->cmek, RESOURCE, &st), EM_OK);
    /* the target's key disabled: the same */
    assert_int_equal(unit_kms_call(f->kms, "PATCH",
                                   "/v1/" RING "/cryptoKeys/other/cryptoKeyVersions/1",
                                   "updateMask", "state", "{\"state\":\"DISABLED\"}"),
                     200);
    assert_int_equal(em_cmek_check(f->cmek, COPY, &st), EM_OK);
    assert_int_equal(em_datastore_copy(f->ds, copy, &st), EM_FAILED_PRECONDITION);
    assert_false(file_exists(path, ""));
    assert_int_equal(em_datastore_copy(f->ds, f->ds, &st), EM_INVALID_ARGUMENT);
    em_datastore_free(copy);
}

/* --- errors --- */

/* A file that cannot be created is an error, not a crash, and the next call tries again. */
static void test_unwritable_path_fails_then_recovers(void **state)
{
    struct fixture *f = *state;
    char dir[PATH_MAX + 16], path[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/later", f->dir);
    snprintf(path, sizeof(path), "%s/data.db", dir);
    struct em_datastore *ds;
    struct em_status st = {0};
    assert_int_equal(em_datastore_new(f->cmek, RESOURCE, path, &hooks, &f->counts, &ds, &st), 0);
    struct em_datafile *file = NULL;
    assert_int_not_equal(em_datastore_open(ds, &file, &st), EM_OK);
    assert_null(file);
    assert_null(em_datastore_peek(ds));
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(em_datastore_open(ds, &file, &st), EM_OK);
    em_datafile_put(file);
    em_datastore_free(ds);
}

/* The same file opened with another key is DATA_LOSS (a resource must not read another
 * resource's data). */
static void test_wrong_key_is_data_loss(void **state)
{
    struct fixture *f = *state;
    insert(f, MARKER);
    em_datastore_close(f->ds);
    struct em_status st = {0};
    const char *other = "projects/ds-project/tables/other";
    assert_int_equal(em_cmek_protect(f->cmek, other, "ds-project", NULL, &st), EM_OK);
    struct em_datastore *ds;
    assert_int_equal(em_datastore_new(f->cmek, other, f->path, &hooks, &f->counts, &ds, &st), 0);
    struct em_datafile *file = NULL;
    assert_int_equal(em_datastore_open(ds, &file, &st), EM_DATA_LOSS);
    em_datastore_free(ds);
    assert_int_equal(count_rows(f), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_concurrent_writers_all_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs_queued_meanwhile_share_one_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_failing_job_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_key_closes_the_file_and_refuses, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_after_close_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_file_in_use_closes_with_its_last_user, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_open_takes_back_a_file_still_in_use, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rename_keeps_the_data_and_the_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shred_leaves_no_file_no_keys_no_plaintext, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shred_while_in_use_removes_the_file_after, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_bound_the_wal_and_lose_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_path_fails_then_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_data_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_reencrypts_under_the_target_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_needs_both_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
