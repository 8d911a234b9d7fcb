/*
 * test_clock: the shared emulator clock: it starts at OS time, advancing moves it forward
 * and is stored in metadata.db, so another connection, a reload or a restart sees the same
 * time; advances add to the stored offset (not to a stale copy in memory); time never moves
 * backwards; reset returns to OS time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_clock.h"
#include "em_json.h"
#include "em_log.h"
#include "unit_util.h"

#include <string.h>

#define HOUR (3600LL * EM_NS_PER_SEC)

struct fixture {
    struct unit_dir dir;   /* the emulator's data directory */
    struct unit_dir other; /* an unrelated one, whose clock was never advanced */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || unit_dir_open(&f->other) ||
        em_clock_open(f->other.store, &st) || em_clock_open(f->dir.store, &st))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_dir_close(&f->dir);
    unit_dir_close(&f->other);
    free(f);
    return 0;
}

static struct em_store *open_again(struct fixture *f)
{
    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/metadata.db", f->dir.path);
    struct em_store *store = NULL;
    struct em_status st = {0};
    assert_int_equal(em_store_open(db, &store, &st), EM_OK);
    return store;
}

/* Points the in-memory offset elsewhere, so only the store can bring the value back. */
static void forget(struct fixture *f)
{
    struct em_status st = {0};
    assert_int_equal(em_clock_reload(f->other.store, &st), EM_OK);
    assert_true(em_clock_offset() == 0);
}

static void test_a_new_clock_runs_at_os_time(void **state)
{
    (void)state;
    assert_true(em_clock_offset() == 0);
    int64_t before = em_clock_real_now();
    int64_t now = em_clock_now();
    int64_t after = em_clock_real_now();
    assert_true(before <= now && now <= after);
}

static void test_advance_moves_now_forward(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset = -1;
    assert_int_equal(em_clock_advance(f->dir.store, 2 * HOUR, &offset, &st), EM_OK);
    assert_true(offset == 2 * HOUR);
    assert_true(em_clock_offset() == 2 * HOUR);
    int64_t before = em_clock_real_now();
    int64_t now = em_clock_now();
    assert_true(now >= before + 2 * HOUR && now <= em_clock_real_now() + 2 * HOUR);
    assert_int_equal(em_clock_advance(f->dir.store, 30 * EM_NS_PER_SEC, &offset, &st), EM_OK);
    assert_true(offset == 2 * HOUR + 30 * EM_NS_PER_SEC);
    assert_int_equal(em_clock_advance(f->dir.store, 0, &offset, &st), EM_OK);
    assert_true(offset == 2 * HOUR + 30 * EM_NS_PER_SEC);
}

static void test_the_offset_is_stored_and_reloaded(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->dir.store, HOUR, &offset, &st), EM_OK);
    forget(f);
    assert_int_equal(em_clock_reload(f->dir.store, &st), EM_OK);
    assert_true(em_clock_offset() == HOUR);
}

static void test_another_connection_sees_and_moves_the_same_clock(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->dir.store, HOUR, &offset, &st), EM_OK);
    /* a second process opening the same metadata.db */
    struct em_store *second = open_again(f);
    forget(f);
    assert_int_equal(em_clock_reload(second, &st), EM_OK);
    assert_true(em_clock_offset() == HOUR);
    assert_int_equal(em_clock_advance(second, HOUR, &offset, &st), EM_OK);
    assert_true(offset == 2 * HOUR);
    forget(f);
    assert_int_equal(em_clock_reload(f->dir.store, &st), EM_OK);
    assert_true(em_clock_offset() == 2 * HOUR);
    em_store_close(second);
}

static void test_advance_adds_to_the_stored_offset(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->dir.store, HOUR, &offset, &st), EM_OK);
    forget(f); /* this process's copy is stale (0) */
    assert_int_equal(em_clock_advance(f->dir.store, 10 * EM_NS_PER_SEC, &offset, &st), EM_OK);
    assert_true(offset == HOUR + 10 * EM_NS_PER_SEC);
    assert_true(em_clock_offset() == offset);
}

static void test_the_clock_stops_at_2200(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset = 0, century = 100LL * 366 * 24 * HOUR;
    assert_int_equal(em_clock_advance(f->dir.store, century, &offset, &st), EM_OK); /* 2126 */
    assert_int_equal(em_clock_advance(f->dir.store, century, &offset, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "2200-01-01T00:00:00Z"));
    assert_true(em_clock_offset() == century); /* unchanged */
    int64_t left = EM_CLOCK_MAX_NS - em_clock_real_now() - em_clock_offset();
    assert_int_equal(em_clock_advance(f->dir.store, left - HOUR, &offset, &st), EM_OK);
    assert_int_equal(em_clock_advance(f->dir.store, 2 * HOUR, &offset, &st), EM_INVALID_ARGUMENT);
    assert_true(em_clock_now() < EM_CLOCK_MAX_NS);
}

static void test_a_restart_keeps_the_time(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->dir.store, 5 * HOUR, &offset, &st), EM_OK);
    em_store_close(f->dir.store);
    forget(f);
    f->dir.store = open_again(f);
    /* opening runs the migration again: it must not reset the clock */
    assert_int_equal(em_clock_open(f->dir.store, &st), EM_OK);
    assert_true(em_clock_offset() == 5 * HOUR);
}

static void test_time_never_moves_backwards(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset = 42;
    assert_int_equal(em_clock_advance(f->dir.store, HOUR, &offset, &st), EM_OK);
    offset = 42;
    assert_int_equal(em_clock_advance(f->dir.store, -1, &offset, &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "The emulator clock only moves forward: seconds must be >= 0.");
    assert_true(offset == 42);
    assert_true(em_clock_offset() == HOUR);
    forget(f);
    assert_int_equal(em_clock_reload(f->dir.store, &st), EM_OK);
    assert_true(em_clock_offset() == HOUR);
}

static void test_reset_returns_to_os_time(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->dir.store, 3 * HOUR, &offset, &st), EM_OK);
    assert_int_equal(em_clock_reset(f->dir.store, &st), EM_OK);
    assert_true(em_clock_offset() == 0);
    assert_int_equal(em_clock_advance(f->dir.store, HOUR, &offset, &st), EM_OK);
    assert_true(offset == HOUR);
    assert_int_equal(em_clock_reset(f->dir.store, &st), EM_OK);
    struct em_store *second = open_again(f);
    assert_int_equal(em_clock_advance(f->other.store, HOUR, &offset, &st), EM_OK);
    assert_int_equal(em_clock_reload(second, &st), EM_OK);
    assert_true(em_clock_offset() == 0);
    em_store_close(second);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_new_clock_runs_at_os_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advance_moves_now_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_offset_is_stored_and_reloaded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_another_connection_sees_and_moves_the_same_clock,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_advance_adds_to_the_stored_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_clock_stops_at_2200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_restart_keeps_the_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_never_moves_backwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_returns_to_os_time, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
