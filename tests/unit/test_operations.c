/*
 * test_operations: long-running operations (em_operations) as a service and gcloud see
 * them: an operation starts not done, runs on a worker and ends done with a typed
 * response (metadata end time from the injected clock) or with its error; operations are
 * listed by parent (exactly, or a whole subtree as Bigtable lists), oldest first, and paged;
 * cancel stops work that polls its flag (CANCELLED, code 1), changes nothing once done, and
 * keeps a result the work produced anyway; delete forgets an operation, running or not;
 * a restart keeps finished operations with their results, resumes interrupted resumable
 * ones and ends the others ABORTED; reset forgets everything; operation names are checked
 * by grammar; and the route handlers answer Google's JSON through em_dispatch for
 * Spanner-style and Bigtable-style paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_call.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_operations.h"
#include "unit_util.h"

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DB        "projects/p/instances/i/databases/d"
#define DB2       "projects/p/instances/i/databases/d2"
#define INSTANCE  "projects/p/instances/i"
#define META_TYPE EM_TYPE_URL "google.spanner.admin.database.v1.CreateDatabaseMetadata"
#define RESP_TYPE EM_TYPE_URL "google.spanner.admin.database.v1.Database"
#define T0        1800000000000000000LL /* 2027-01-15T08:00:00Z */

static atomic_llong clock_now = T0;
static int64_t fake_clock(void)
{
    return atomic_load(&clock_now);
}

/* What the test works do; reset by setup. */
static struct {
    sem_t started;         /* posted when a blocking work starts */
    sem_t release;         /* a stubborn work waits for it */
    atomic_bool hold;      /* the resumable work blocks until cancelled */
    atomic_int runs;       /* works run */
    atomic_llong work_now; /* the now the last work got */
    void *ctx_seen;        /* the ctx the last work got */
} works;

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

/* Answers {"name": request.name, "ok": true}, after setting the metadata's progress. */
static enum em_code work_succeed(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                 cJSON **response, struct em_status *st)
{
    (void)st;
    atomic_fetch_add(&works.runs, 1);
    atomic_store(&works.work_now, now);
    works.ctx_seen = ctx;
    cJSON *progress = cJSON_CreateObject();
    cJSON_AddNumberToObject(progress, "progressPercent", 100);
    em_op_metadata_set(op, "progress", progress);
    *response = cJSON_CreateObject();
    cJSON_AddStringToObject(*response, "name", em_json_string(request, "name"));
    cJSON_AddBoolToObject(*response, "ok", true);
    return EM_OK;
}

static enum em_code work_fail(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                              cJSON **response, struct em_status *st)
{
    (void)op, (void)ctx, (void)request, (void)now, (void)response;
    atomic_fetch_add(&works.runs, 1);
    return EM_FAIL(st, EM_FAILED_PRECONDITION, "The widget %s is broken.",
                   em_json_string(request, "name"));
}

static enum em_code work_empty(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                               cJSON **response, struct em_status *st)
{
    (void)op, (void)ctx, (void)request, (void)now, (void)response, (void)st;
    atomic_fetch_add(&works.runs, 1);
    return EM_OK;
}

/* Polls its cancel flag until it is set, as a long work should. */
static enum em_code work_block(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                               cJSON **response, struct em_status *st)
{
    (void)ctx, (void)request, (void)now, (void)response;
    atomic_fetch_add(&works.runs, 1);
    sem_post(&works.started);
    while (!em_op_cancelled(op))
        sleep_ms(2);
    return EM_FAIL(st, EM_CANCELLED, "stopped");
}

/* Blocks like work_block while works.hold is set, else succeeds. */
static enum em_code work_resumable(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                   cJSON **response, struct em_status *st)
{
    if (atomic_load(&works.hold))
        return work_block(op, ctx, request, now, response, st);
    return work_succeed(op, ctx, request, now, response, st);
}

/* Never looks at its cancel flag: waits for works.release, then succeeds. */
static enum em_code work_stubborn(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                                  cJSON **response, struct em_status *st)
{
    sem_post(&works.started);
    while (sem_wait(&works.release) != 0)
        ;
    return work_succeed(op, ctx, request, now, response, st);
}

static const struct em_op_type types[] = {
    {"Succeed", META_TYPE, RESP_TYPE, work_succeed, false, "startTime", "endTime"},
    {"Fail", META_TYPE, RESP_TYPE, work_fail, false, NULL, "endTime"},
    {"Empty", META_TYPE, NULL, work_empty},
    {"Block", META_TYPE, RESP_TYPE, work_block, false, NULL, "endTime"},
    {"Resumable", META_TYPE, RESP_TYPE, work_resumable, true, NULL, "endTime"},
    {"Stubborn", META_TYPE, RESP_TYPE, work_stubborn},
    {"Progress", META_TYPE, NULL, work_empty, false, NULL, NULL, "progress"},
    {"FailProgress", META_TYPE, RESP_TYPE, work_fail, false, NULL, NULL, "progress"},
};

static int service_ctx; /* its address is the ctx */

struct fixture {
    struct unit_dir dir;
    struct em_operations *ops;
    char name[EM_OP_NAME_MAX + 1]; /* the last operation started */
    cJSON *json;                   /* the last operation read */
};

static struct em_operations_options options(const struct fixture *f, size_t type_count)
{
    return (struct em_operations_options){.service = "spanner",
                                          .types = types,
                                          .type_count = type_count,
                                          .ctx = &service_ctx,
                                          .clock = fake_clock,
                                          .data_dir = f->dir.path};
}

static void open_ops(struct fixture *f, size_t type_count, int64_t now)
{
    struct em_operations_options opt = options(f, type_count);
    struct em_status st = {0};
    if (em_operations_open(f->dir.store, &opt, now, &f->ops, &st))
        fail_msg("open: %s", st.message);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_dir_open(&f->dir))
        return -1;
    atomic_store(&clock_now, T0);
    memset(&works, 0, sizeof(works));
    sem_init(&works.started, 0, 0);
    sem_init(&works.release, 0, 0);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_operations_close(f->ops);
    cJSON_Delete(f->json);
    unit_dir_close(&f->dir);
    sem_destroy(&works.started);
    sem_destroy(&works.release);
    free(f);
    return 0;
}

/* Starts an operation of kind under parent for a widget; f->name is its name. Returns
 * the Operation as start answered it. */
static cJSON *start(struct fixture *f, const char *parent, const char *kind, const char *widget)
{
    cJSON *metadata = cJSON_CreateObject();
    cJSON_AddStringToObject(metadata, "database", widget);
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "name", widget);
    struct em_status st = {0};
    cJSON *out = NULL;
    if (em_op_start(f->ops, parent, NULL, kind, metadata, request, T0, &out, &st))
        fail_msg("start: %s", st.message);
    snprintf(f->name, sizeof(f->name), "%s", em_json_string(out, "name"));
    return out;
}

static void wait_done(struct fixture *f, const char *name)
{
    struct em_status st = {0};
    assert_int_equal(em_op_wait(f->ops, name, &st), EM_OK);
}

/* Reads an operation into f->json. */
static const cJSON *get(struct fixture *f, const char *name)
{
    cJSON_Delete(f->json);
    f->json = NULL;
    struct em_status st = {0};
    if (em_op_get(f->ops, name, &f->json, &st))
        fail_msg("get %s: %s", name, st.message);
    return f->json;
}

static bool is_done(const cJSON *op)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "done"));
}

static const cJSON *member(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The first member's key of an object. */
static const char *first_key(const cJSON *obj)
{
    return obj && obj->child ? obj->child->string : "";
}

static void error_is(const cJSON *op, enum em_code code, const char *message)
{
    assert_true(is_done(op));
    assert_null(member(op, "response"));
    const cJSON *error = member(op, "error");
    assert_non_null(error);
    int64_t c = -1;
    assert_true(em_json_int64(error, "code", &c));
    assert_int_equal(c, code);
    assert_string_equal(em_json_string(error, "message"), message);
}

/* ---------------------------------------------------------------- running */

static void test_an_operation_runs_to_done_with_a_typed_response(void **state)
{
    struct fixture *f = *state;
    atomic_store(&clock_now, T0 + 5 * EM_NS_PER_SEC); /* the work starts and ends at T0+5s */
    cJSON *started = start(f, DB, "Succeed", "w1");
    /* named under the parent, with a generated id; not done yet (no "done" member) */
    assert_memory_equal(f->name, DB "/operations/_auto_op_", strlen(DB "/operations/_auto_op_"));
    assert_int_equal(strlen(f->name), strlen(DB "/operations/_auto_op_") + 16);
    const cJSON *metadata = member(started, "metadata");
    assert_string_equal(first_key(metadata), "@type");
    assert_string_equal(em_json_string(metadata, "@type"), META_TYPE);
    assert_string_equal(em_json_string(metadata, "database"), "w1");
    /* the start time is the now given to start, not the clock's */
    assert_string_equal(em_json_string(metadata, "startTime"), "2027-01-15T08:00:00Z");
    cJSON_Delete(started);

    wait_done(f, f->name);
    const cJSON *op = get(f, f->name);
    assert_true(is_done(op));
    assert_null(member(op, "error"));
    const cJSON *response = member(op, "response");
    assert_string_equal(first_key(response), "@type");
    assert_string_equal(em_json_string(response, "@type"), RESP_TYPE);
    assert_string_equal(em_json_string(response, "name"), "w1");
    metadata = member(op, "metadata");
    assert_string_equal(em_json_string(metadata, "endTime"), "2027-01-15T08:00:05Z");
    assert_non_null(member(metadata, "progress")); /* set by the work */
    assert_int_equal(atomic_load(&works.work_now), T0 + 5 * EM_NS_PER_SEC);
    assert_ptr_equal(works.ctx_seen, &service_ctx);
}

static void test_a_failed_work_ends_with_its_error(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Fail", "w2"));
    wait_done(f, f->name);
    const cJSON *op = get(f, f->name);
    error_is(op, EM_FAILED_PRECONDITION, "The widget w2 is broken.");
    assert_string_equal(em_json_string(member(op, "metadata"), "endTime"), "2027-01-15T08:00:00Z");
}

/* A type with a progress object: its startTime at start, its endTime at the end, 100 %
 * only when the work succeeded. */
static void test_progress_is_kept_for_the_types_that_have_one(void **state)
{
    struct fixture *f = *state;
    atomic_store(&clock_now, T0 + 3 * EM_NS_PER_SEC); /* the work ends at T0+3s */
    cJSON *started = start(f, DB, "Progress", "w");
    const cJSON *progress = member(member(started, "metadata"), "progress");
    assert_string_equal(em_json_string(progress, "startTime"), "2027-01-15T08:00:00Z");
    assert_null(member(progress, "endTime"));
    assert_null(member(progress, "progressPercent"));
    cJSON_Delete(started);
    wait_done(f, f->name);
    progress = member(member(get(f, f->name), "metadata"), "progress");
    assert_string_equal(em_json_string(progress, "startTime"), "2027-01-15T08:00:00Z");
    assert_string_equal(em_json_string(progress, "endTime"), "2027-01-15T08:00:03Z");
    int64_t percent = 0;
    assert_true(em_json_int64(progress, "progressPercent", &percent));
    assert_int_equal(percent, 100);

    cJSON_Delete(start(f, DB, "FailProgress", "w"));
    wait_done(f, f->name);
    progress = member(member(get(f, f->name), "metadata"), "progress");
    assert_string_equal(em_json_string(progress, "endTime"), "2027-01-15T08:00:03Z");
    assert_null(member(progress, "progressPercent")); /* it failed */
}

static void test_an_empty_response_is_typed_empty(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Empty", "w"));
    wait_done(f, f->name);
    const cJSON *response = member(get(f, f->name), "response");
    assert_int_equal(cJSON_GetArraySize(response), 1);
    assert_string_equal(em_json_string(response, "@type"), EM_OP_EMPTY_TYPE);
    /* a type without an end-time field has none */
    assert_null(member(member(f->json, "metadata"), "endTime"));
}

static void test_given_ids_are_used_once_and_checked(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *out = NULL;
    assert_int_equal(em_op_start(f->ops, DB, "ddl_1", "Empty", NULL, NULL, T0, &out, &st), EM_OK);
    assert_string_equal(em_json_string(out, "name"), DB "/operations/ddl_1");
    cJSON_Delete(out);
    assert_int_equal(em_op_start(f->ops, DB, "ddl_1", "Empty", NULL, NULL, T0, NULL, &st),
                     EM_ALREADY_EXISTS);
    assert_string_equal(st.message, "Operation " DB "/operations/ddl_1 already exists.");
    assert_int_equal(em_op_start(f->ops, DB, "a/b", "Empty", NULL, NULL, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(em_op_start(f->ops, DB, "a b", "Empty", NULL, NULL, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(em_op_start(f->ops, DB, "x", "NoSuchKind", NULL, NULL, T0, NULL, &st),
                     EM_INTERNAL);
    /* the taken name still holds the first operation */
    wait_done(f, DB "/operations/ddl_1");
    assert_true(is_done(get(f, DB "/operations/ddl_1")));
}

static void test_unknown_operations_are_not_found(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *out = NULL;
    assert_int_equal(em_op_get(f->ops, DB "/operations/nope", &out, &st), EM_NOT_FOUND);
    assert_string_equal(st.message, "Operation not found: " DB "/operations/nope.");
    assert_int_equal(em_op_cancel(f->ops, DB "/operations/nope", &st), EM_NOT_FOUND);
    assert_int_equal(em_op_delete(f->ops, DB "/operations/nope", &st), EM_NOT_FOUND);
    assert_int_equal(em_op_wait(f->ops, DB "/operations/nope", &st), EM_NOT_FOUND);
}

/* ---------------------------------------------------------------- listing */

static int list_count(struct fixture *f, const char *parent, bool subtree, cJSON **out)
{
    struct em_status st = {0};
    if (em_op_list(f->ops, parent, subtree, out, &st))
        fail_msg("list: %s", st.message);
    return cJSON_GetArraySize(*out);
}

static void test_lists_by_parent_oldest_first(void **state)
{
    struct fixture *f = *state;
    char names[5][EM_OP_NAME_MAX + 1];
    for (int i = 0; i < 5; i++) {
        cJSON_Delete(start(f, DB, "Empty", "w"));
        snprintf(names[i], sizeof(names[i]), "%s", f->name);
    }
    cJSON_Delete(start(f, DB2, "Empty", "w"));
    cJSON_Delete(start(f, INSTANCE, "Empty", "w"));
    cJSON *list;
    assert_int_equal(list_count(f, DB, false, &list), 5);
    for (int i = 0; i < 5; i++) /* creation order, not the random ids' order */
        assert_string_equal(em_json_string(cJSON_GetArrayItem(list, i), "name"), names[i]);
    cJSON_Delete(list);
    assert_int_equal(list_count(f, DB2, false, &list), 1);
    cJSON_Delete(list);
    /* the instance's own operations exclude its databases' ... */
    assert_int_equal(list_count(f, INSTANCE, false, &list), 1);
    cJSON_Delete(list);
    /* ... unless the whole subtree is asked for (Bigtable's project-wide list) */
    assert_int_equal(list_count(f, INSTANCE, true, &list), 7);
    cJSON_Delete(list);
    assert_int_equal(list_count(f, "projects/p/instances/i/databases/d3", true, &list), 0);
    cJSON_Delete(list);
    /* a parent that only prefixes another's name is not it */
    assert_int_equal(list_count(f, "projects/p/instances/i/databases/", false, &list), 0);
    cJSON_Delete(list);
}

/* ---------------------------------------------------------------- cancel, delete */

static void wait_started(void)
{
    while (sem_wait(&works.started) != 0)
        ;
}

static void test_cancel_stops_a_running_work(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Block", "w"));
    wait_started();
    assert_false(is_done(get(f, f->name)));
    struct em_status st = {0};
    assert_int_equal(em_op_cancel(f->ops, f->name, &st), EM_OK);
    wait_done(f, f->name);
    error_is(get(f, f->name), EM_CANCELLED, "Operation was cancelled.");
    assert_non_null(member(member(f->json, "metadata"), "endTime"));
}

static void test_cancel_of_a_finished_operation_changes_nothing(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Succeed", "w"));
    wait_done(f, f->name);
    char *before = cJSON_PrintUnformatted(get(f, f->name));
    struct em_status st = {0};
    assert_int_equal(em_op_cancel(f->ops, f->name, &st), EM_OK);
    char *after = cJSON_PrintUnformatted(get(f, f->name));
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_a_work_that_finishes_despite_cancel_keeps_its_result(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Stubborn", "w"));
    wait_started();
    struct em_status st = {0};
    assert_int_equal(em_op_cancel(f->ops, f->name, &st), EM_OK);
    sem_post(&works.release);
    wait_done(f, f->name);
    const cJSON *op = get(f, f->name);
    assert_null(member(op, "error"));
    assert_string_equal(em_json_string(member(op, "response"), "name"), "w");
}

static void test_delete_forgets_a_finished_operation(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Succeed", "w"));
    wait_done(f, f->name);
    struct em_status st = {0};
    assert_int_equal(em_op_delete(f->ops, f->name, &st), EM_OK);
    cJSON *out = NULL;
    assert_int_equal(em_op_get(f->ops, f->name, &out, &st), EM_NOT_FOUND);
    assert_int_equal(em_op_delete(f->ops, f->name, &st), EM_NOT_FOUND);
    cJSON *list;
    assert_int_equal(list_count(f, DB, false, &list), 0);
    cJSON_Delete(list);
    /* and it stays forgotten after a restart */
    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_int_equal(em_op_get(f->ops, f->name, &out, &st), EM_NOT_FOUND);
}

static void test_delete_of_a_running_operation_lets_its_work_finish_unseen(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Stubborn", "w"));
    wait_started();
    struct em_status st = {0};
    assert_int_equal(em_op_delete(f->ops, f->name, &st), EM_OK);
    cJSON *out = NULL;
    assert_int_equal(em_op_get(f->ops, f->name, &out, &st), EM_NOT_FOUND);
    sem_post(&works.release);
    /* the work ends after the delete: its result goes nowhere, not even to the store */
    em_operations_close(f->ops);
    assert_int_equal(atomic_load(&works.runs), 1);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_int_equal(em_op_get(f->ops, f->name, &out, &st), EM_NOT_FOUND);
}

/* ---------------------------------------------------------------- restarts */

static void test_finished_operations_survive_a_restart(void **state)
{
    struct fixture *f = *state;
    char ok[EM_OP_NAME_MAX + 1], failed[EM_OP_NAME_MAX + 1];
    cJSON_Delete(start(f, DB, "Succeed", "w1"));
    snprintf(ok, sizeof(ok), "%s", f->name);
    cJSON_Delete(start(f, DB, "Fail", "w2"));
    snprintf(failed, sizeof(failed), "%s", f->name);
    wait_done(f, ok);
    wait_done(f, failed);
    char *ok_before = cJSON_PrintUnformatted(get(f, ok));
    char *failed_before = cJSON_PrintUnformatted(get(f, failed));

    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0 + 60 * EM_NS_PER_SEC);
    char *ok_after = cJSON_PrintUnformatted(get(f, ok));
    assert_string_equal(ok_after, ok_before);
    char *failed_after = cJSON_PrintUnformatted(get(f, failed));
    assert_string_equal(failed_after, failed_before);
    cJSON *list;
    assert_int_equal(list_count(f, DB, false, &list), 2);
    assert_string_equal(em_json_string(cJSON_GetArrayItem(list, 0), "name"), ok);
    cJSON_Delete(list);
    assert_int_equal(atomic_load(&works.runs), 2); /* nothing ran again */
    /* new operations come after the old ones */
    cJSON_Delete(start(f, DB, "Empty", "w3"));
    assert_int_equal(list_count(f, DB, false, &list), 3);
    assert_string_equal(em_json_string(cJSON_GetArrayItem(list, 2), "name"), f->name);
    cJSON_Delete(list);
    free(ok_before);
    free(failed_before);
    free(ok_after);
    free(failed_after);
}

/* Whether the stored row of name says done. */
static bool stored_done(struct fixture *f, const char *name)
{
    struct em_status st = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(f->dir.store, "SELECT done FROM operations WHERE name = ?", &st);
    assert_non_null(stmt);
    em_bind_text(stmt, 1, name);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    bool done = sqlite3_column_int(stmt, 0) != 0;
    em_stmt_done(stmt);
    return done;
}

static void test_interrupted_operations_are_resumed_or_aborted_at_start(void **state)
{
    struct fixture *f = *state;
    char resumable[EM_OP_NAME_MAX + 1], other[EM_OP_NAME_MAX + 1];
    atomic_store(&works.hold, true);
    cJSON_Delete(start(f, DB, "Resumable", "w1"));
    snprintf(resumable, sizeof(resumable), "%s", f->name);
    cJSON_Delete(start(f, DB, "Block", "w2"));
    snprintf(other, sizeof(other), "%s", f->name);
    wait_started();
    wait_started();

    /* the stop interrupts both works: what they return is not their outcome */
    em_operations_close(f->ops);
    f->ops = NULL;
    assert_false(stored_done(f, resumable));
    assert_false(stored_done(f, other));

    atomic_store(&works.hold, false);
    atomic_store(&clock_now, T0 + 90 * EM_NS_PER_SEC);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0 + 60 * EM_NS_PER_SEC);
    /* the resumable one ran again from its stored request */
    wait_done(f, resumable);
    const cJSON *op = get(f, resumable);
    assert_null(member(op, "error"));
    assert_string_equal(em_json_string(member(op, "response"), "name"), "w1");
    assert_string_equal(em_json_string(member(op, "metadata"), "endTime"), "2027-01-15T08:01:30Z");
    /* the other ended ABORTED at the start-up's now */
    op = get(f, other);
    error_is(op, EM_ABORTED,
             "The operation was interrupted: the spanner emulator stopped while it ran, and it "
             "cannot be resumed. Run it again.");
    assert_string_equal(em_json_string(member(op, "metadata"), "endTime"), "2027-01-15T08:01:00Z");
    assert_true(stored_done(f, resumable));
    assert_true(stored_done(f, other));
}

static void test_an_operation_of_a_kind_no_longer_declared_is_aborted(void **state)
{
    struct fixture *f = *state;
    atomic_store(&works.hold, true);
    cJSON_Delete(start(f, DB, "Resumable", "w"));
    wait_started();
    em_operations_close(f->ops);
    f->ops = NULL;
    atomic_store(&works.hold, false);
    open_ops(f, 3, T0); /* Succeed, Fail, Empty only */
    error_is(get(f, f->name), EM_ABORTED,
             "The operation was interrupted: the spanner emulator stopped while it ran, and it "
             "cannot be resumed. Run it again.");
}

static void test_services_see_only_their_own_operations(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Empty", "w"));
    wait_done(f, f->name);
    struct em_operations_options opt = options(f, 3);
    opt.service = "bigtable";
    struct em_operations *other;
    struct em_status st = {0};
    assert_int_equal(em_operations_open(f->dir.store, &opt, T0, &other, &st), EM_OK);
    cJSON *out = NULL;
    assert_int_equal(em_op_get(other, f->name, &out, &st), EM_NOT_FOUND);
    em_operations_close(other);
}

static void test_reset_forgets_every_operation(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Succeed", "w"));
    cJSON_Delete(start(f, DB, "Block", "w"));
    wait_started();
    struct em_status st = {0};
    assert_int_equal(em_operations_reset(f->ops, &st), EM_OK);
    cJSON *list;
    assert_int_equal(list_count(f, DB, true, &list), 0);
    cJSON_Delete(list);
    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_int_equal(list_count(f, DB, true, &list), 0);
    cJSON_Delete(list);
}

#define OP_MARKER "op-marker-5c2e"

/* Metadata, request and response may carry customer data: sealed in metadata.db, bound
 * to the operation's name; a row an earlier release wrote in clear is read, then sealed
 * at the next open and its clear copy purged. */
static void test_stored_operations_are_sealed(void **state)
{
    struct fixture *f = *state;
    cJSON_Delete(start(f, DB, "Succeed", OP_MARKER));
    wait_done(f, f->name);
    char name[EM_OP_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", f->name);
    assert_false(unit_store_files_hold(f->dir.path, OP_MARKER));
    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_string_equal(em_json_string(member(get(f, name), "response"), "name"), OP_MARKER);
    assert_string_equal(em_json_string(member(f->json, "metadata"), "database"), OP_MARKER);

    /* a row as a release before session 26 wrote it */
    struct em_status st = {0};
    assert_int_equal(em_store_exec(f->dir.store,
                                   "INSERT INTO operations (name, service, kind, seq, metadata,"
                                   " request, done, response) VALUES ('" DB "/operations/old',"
                                   " 'spanner', 'Succeed', 99, '{\"database\":\"" OP_MARKER "\"}',"
                                   " '{}', 1, '{\"name\":\"" OP_MARKER "\"}')",
                                   &st),
                     EM_OK);
    assert_true(unit_store_files_hold(f->dir.path, OP_MARKER));
    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_string_equal(em_json_string(member(get(f, DB "/operations/old"), "response"), "name"),
                        OP_MARKER);
    assert_false(unit_store_files_hold(f->dir.path, OP_MARKER));

    /* a sealed row copied under another name does not open: read as {} */
    assert_int_equal(em_store_exec(f->dir.store,
                                   "INSERT INTO operations (name, service, kind, seq, metadata,"
                                   " request, done, response) SELECT '" DB "/operations/copy',"
                                   " service, kind, 100, metadata, request, done, response"
                                   " FROM operations WHERE name = '" DB "/operations/old'",
                                   &st),
                     EM_OK);
    em_operations_close(f->ops);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    assert_null(em_json_string(member(get(f, DB "/operations/copy"), "response"), "name"));
}

static void test_a_store_error_while_loading_fails_the_open(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++)
        cJSON_Delete(start(f, DB, "Empty", "w"));
    em_operations_close(f->ops);
    f->ops = NULL;
    /* the rows now come from a view whose second row fails to step (abs() of the
     * smallest int64 is an integer overflow error): a partial load must not pass */
    struct em_status st = {0};
    assert_int_equal(
        em_store_exec(f->dir.store,
                      "ALTER TABLE operations RENAME TO operations_saved;"
                      "CREATE VIEW operations AS SELECT name, service, kind,"
                      " CASE WHEN seq = 0 THEN seq ELSE abs(-9223372036854775807 - 1) END AS seq,"
                      " metadata, request, done, response, error_code, error_message"
                      " FROM operations_saved",
                      &st),
        EM_OK);
    struct em_operations_options opt = options(f, sizeof(types) / sizeof(types[0]));
    struct em_operations *ops = NULL;
    assert_int_equal(em_operations_open(f->dir.store, &opt, T0, &ops, &st), EM_INTERNAL);
    assert_null(ops);
    assert_int_equal(em_store_exec(f->dir.store,
                                   "DROP VIEW operations;"
                                   "ALTER TABLE operations_saved RENAME TO operations",
                                   &st),
                     EM_OK);
    open_ops(f, sizeof(types) / sizeof(types[0]), T0);
    cJSON *list;
    assert_int_equal(list_count(f, DB, false, &list), 3);
    cJSON_Delete(list);
}

/* ---------------------------------------------------------------- names */

static void test_operation_names_are_checked_by_grammar(void **state)
{
    (void)state;
    struct em_status st = {0};
    char parent[256], id[EM_OP_ID_MAX + 1];
    assert_int_equal(
        em_op_name_parse(DB "/operations/_auto_op_1f", parent, sizeof(parent), id, sizeof(id), &st),
        EM_OK);
    assert_string_equal(parent, DB);
    assert_string_equal(id, "_auto_op_1f");
    /* Bigtable's names: "operations/" in front, and the last "/operations/" splits */
    assert_int_equal(em_op_name_parse("operations/projects/p/instances/i/locations/z/operations/7",
                                      parent, sizeof(parent), id, sizeof(id), &st),
                     EM_OK);
    assert_string_equal(parent, "operations/projects/p/instances/i/locations/z");
    assert_string_equal(id, "7");

    char long_id[EM_OP_ID_MAX + 40];
    snprintf(long_id, sizeof(long_id), "p/operations/%0*d", EM_OP_ID_MAX + 1, 0);
    const char *bad[] = {
        "",
        "operations/x",              /* no parent */
        "/operations/x",             /* empty parent */
        DB "/operations/",           /* empty id */
        DB "/operations/a/b",        /* id with a slash: no "/operations/" before the id */
        DB "/operations/a b",        /* space */
        DB "/operations/a%21",       /* escape left in */
        DB "/operations/\xc3\xa9",   /* not ASCII */
        "projects//i/operations/x",  /* empty segment */
        "projects/p q/operations/x", /* space in the parent */
        DB "/operation/x",           /* not the operations collection */
        long_id,                     /* id too long */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (em_op_name_parse(bad[i], parent, sizeof(parent), id, sizeof(id), &st) !=
            EM_INVALID_ARGUMENT)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(strstr(st.message, "Invalid operation name"));
    }
    /* the parts must fit what the caller gave */
    char small[4];
    assert_int_equal(em_op_name_parse(DB "/operations/x", small, sizeof(small), NULL, 0, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(em_op_name_parse(NULL, NULL, 0, NULL, 0, &st), EM_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------- handlers */

#define SPANNER_OPS "v1/{name=projects/*/instances/*/databases/*/operations/*}"

static const struct em_route routes[] = {
    {"GET", "v1/{name=projects/*/instances/*/databases/*}/operations", em_op_handle_list,
     "ListDatabaseOperations", .query = "filter pageSize pageToken"},
    {"GET", SPANNER_OPS, em_op_handle_get, "GetOperation"},
    {"POST", SPANNER_OPS ":cancel", em_op_handle_cancel, "CancelOperation"},
    {"DELETE", SPANNER_OPS, em_op_handle_delete, "DeleteOperation"},
    {"GET", "v2/{name=operations/projects/*}/operations", em_op_handle_list_subtree,
     "ListOperations", .query = "filter pageSize pageToken"},
    {"GET", "v2/{name=operations/**}", em_op_handle_get, "GetOperation"},
};

static const struct em_service_def def = {.desc = &spanner_descriptor};

struct web {
    struct fixture *f;
    struct em_service svc;
    struct em_router *router;
    struct em_call call;
    cJSON *json;
};

static void web_open(struct web *w, struct fixture *f)
{
    struct em_status st = {0};
    w->f = f;
    assert_int_equal(em_iam_open(f->dir.store, &st), EM_OK);
    w->svc.def = &def;
    w->svc.store = f->dir.store;
    w->svc.operations = f->ops;
    snprintf(w->svc.config.default_principal, sizeof(w->svc.config.default_principal),
             "user:developer@example.com");
    w->router = em_router_new();
    assert_non_null(w->router);
    assert_int_equal(em_router_add(w->router, routes, sizeof(routes) / sizeof(routes[0]), &st),
                     EM_OK);
}

static void web_close(struct web *w)
{
    em_call_reset(&w->call);
    cJSON_Delete(w->json);
    em_router_free(w->router);
}

/* One call with up to two query arguments; the parsed response is w->json. */
static void call(struct web *w, const char *method, const char *path, const char *k1,
                 const char *v1, const char *k2, const char *v2)
{
    em_call_reset(&w->call);
    cJSON_Delete(w->json);
    memset(&w->call, 0, sizeof(w->call));
    w->call.method = method;
    w->call.path = path;
    w->call.svc = &w->svc;
    if (k1)
        w->call.query[w->call.query_count++] = (struct em_query_arg){k1, v1};
    if (k2)
        w->call.query[w->call.query_count++] = (struct em_query_arg){k2, v2};
    em_dispatch(w->router, &w->call);
    assert_non_null(w->call.response);
    w->json = cJSON_ParseWithLength(w->call.response, w->call.response_len);
    assert_non_null(w->json);
}

static void status_is(struct web *w, int http, const char *status)
{
    if (w->call.http_status != http)
        fail_msg("HTTP %d, not %d: %s", w->call.http_status, http, w->call.response);
    if (status)
        assert_string_equal(em_json_string(member(w->json, "error"), "status"), status);
}

static void test_handlers_get_cancel_and_delete(void **state)
{
    struct fixture *f = *state;
    struct web w = {0};
    web_open(&w, f);
    cJSON_Delete(start(f, DB, "Succeed", "w"));
    wait_done(f, f->name);
    char path[EM_OP_NAME_MAX + 32];
    snprintf(path, sizeof(path), "/v1/%s", f->name);

    call(&w, "GET", path, NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_string_equal(em_json_string(w.json, "name"), f->name);
    assert_true(is_done(w.json));
    assert_string_equal(em_json_string(member(w.json, "response"), "@type"), RESP_TYPE);

    snprintf(path, sizeof(path), "/v1/%s:cancel", f->name);
    call(&w, "POST", path, NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_string_equal(w.call.response, "{}");

    snprintf(path, sizeof(path), "/v1/%s", f->name);
    call(&w, "DELETE", path, NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_string_equal(w.call.response, "{}");
    call(&w, "GET", path, NULL, NULL, NULL, NULL);
    status_is(&w, 404, "NOT_FOUND");
    char message[EM_OP_NAME_MAX + 64];
    snprintf(message, sizeof(message), "Operation not found: %s.", f->name);
    assert_string_equal(em_json_string(member(w.json, "error"), "message"), message);

    /* an id outside the grammar is a bad argument, not a missing operation */
    call(&w, "GET", "/v1/" DB "/operations/a!b", NULL, NULL, NULL, NULL);
    status_is(&w, 400, "INVALID_ARGUMENT");
    call(&w, "POST", "/v1/" DB "/operations/a!b:cancel", NULL, NULL, NULL, NULL);
    status_is(&w, 400, "INVALID_ARGUMENT");
    web_close(&w);
}

static void test_handler_list_pages_and_filters(void **state)
{
    struct fixture *f = *state;
    struct web w = {0};
    web_open(&w, f);
    for (int i = 0; i < 5; i++)
        cJSON_Delete(start(f, DB, i == 2 ? "Fail" : "Empty", "w"));
    cJSON_Delete(start(f, DB2, "Empty", "w"));

    /* pages of two, following nextPageToken, give the five in creation order */
    cJSON *all;
    list_count(f, DB, false, &all);
    char token[256] = "";
    int seen = 0;
    for (int page = 0; page < 4; page++) {
        call(&w, "GET", "/v1/" DB "/operations", "pageSize", "2", token[0] ? "pageToken" : NULL,
             token);
        status_is(&w, 200, NULL);
        const cJSON *item;
        cJSON_ArrayForEach(item, member(w.json, "operations"))
        {
            assert_string_equal(em_json_string(item, "name"),
                                em_json_string(cJSON_GetArrayItem(all, seen), "name"));
            seen++;
        }
        const char *next = em_json_string(w.json, "nextPageToken");
        if (!next)
            break;
        snprintf(token, sizeof(token), "%s", next);
    }
    assert_int_equal(seen, 5);
    cJSON_Delete(all);

    /* a filter on the metadata's type, as gcloud's --type sends */
    call(&w, "GET", "/v1/" DB "/operations", "filter",
         "metadata.@type:CreateDatabaseMetadata AND metadata.database=w", NULL, NULL);
    status_is(&w, 200, NULL);
    assert_int_equal(cJSON_GetArraySize(member(w.json, "operations")), 5);
    call(&w, "GET", "/v1/" DB "/operations", "filter", "metadata.@type:UpdateDatabaseDdlMetadata",
         NULL, NULL);
    status_is(&w, 200, NULL);
    assert_null(member(w.json, "operations"));
    call(&w, "GET", "/v1/" DB "/operations", "filter", "metadata.@type=(", NULL, NULL);
    status_is(&w, 400, "INVALID_ARGUMENT");
    web_close(&w);
}

static void test_handlers_serve_bigtable_style_names(void **state)
{
    struct fixture *f = *state;
    struct web w = {0};
    web_open(&w, f);
    const char *zone = "operations/projects/p/instances/i/locations/us-east1-b";
    cJSON_Delete(start(f, zone, "Empty", "w"));
    wait_done(f, f->name);
    cJSON_Delete(start(f, "operations/projects/p/instances/j/locations/us-east1-c", "Empty", "w"));
    cJSON_Delete(start(f, "operations/projects/q/instances/k/locations/us-east1-c", "Empty", "w"));

    char path[EM_OP_NAME_MAX + 32];
    char name[EM_OP_NAME_MAX + 1];
    cJSON *list;
    assert_int_equal(list_count(f, zone, false, &list), 1);
    snprintf(name, sizeof(name), "%s", em_json_string(cJSON_GetArrayItem(list, 0), "name"));
    cJSON_Delete(list);
    snprintf(path, sizeof(path), "/v2/%s", name);
    call(&w, "GET", path, NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_string_equal(em_json_string(w.json, "name"), name);

    /* the project-wide list: every operation under operations/projects/p */
    call(&w, "GET", "/v2/operations/projects/p/operations", NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_int_equal(cJSON_GetArraySize(member(w.json, "operations")), 2);
    web_close(&w);
}

static void test_handlers_of_a_service_without_operations(void **state)
{
    struct fixture *f = *state;
    struct web w = {0};
    web_open(&w, f);
    w.svc.operations = NULL;
    call(&w, "GET", "/v1/" DB "/operations/x", NULL, NULL, NULL, NULL);
    status_is(&w, 404, "NOT_FOUND");
    call(&w, "GET", "/v1/" DB "/operations", NULL, NULL, NULL, NULL);
    status_is(&w, 200, NULL);
    assert_string_equal(w.call.response, "{}");
    web_close(&w);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_an_operation_runs_to_done_with_a_typed_response),
        T(test_a_failed_work_ends_with_its_error),
        T(test_an_empty_response_is_typed_empty),
        T(test_progress_is_kept_for_the_types_that_have_one),
        T(test_given_ids_are_used_once_and_checked),
        T(test_unknown_operations_are_not_found),
        T(test_lists_by_parent_oldest_first),
        T(test_cancel_stops_a_running_work),
        T(test_cancel_of_a_finished_operation_changes_nothing),
        T(test_a_work_that_finishes_despite_cancel_keeps_its_result),
        T(test_delete_forgets_a_finished_operation),
        T(test_delete_of_a_running_operation_lets_its_work_finish_unseen),
        T(test_finished_operations_survive_a_restart),
        T(test_interrupted_operations_are_resumed_or_aborted_at_start),
        T(test_an_operation_of_a_kind_no_longer_declared_is_aborted),
        T(test_services_see_only_their_own_operations),
        T(test_reset_forgets_every_operation),
        T(test_stored_operations_are_sealed),
        T(test_a_store_error_while_loading_fails_the_open),
        T(test_operation_names_are_checked_by_grammar),
        T(test_handlers_get_cancel_and_delete),
        T(test_handler_list_pages_and_filters),
        T(test_handlers_serve_bigtable_style_names),
        T(test_handlers_of_a_service_without_operations),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
