/*
 * em_clock: the shared emulator clock (see em_clock.h).
 */
#include "em_clock.h"

#include "em_store.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t clock_offset_ns;

static const char *const clock_migrations[] = {
    "CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 1), offset_ns INTEGER NOT NULL);"
    "INSERT INTO clock(id, offset_ns) VALUES (1, 0);",
};

int64_t em_clock_real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t em_clock_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t em_clock_monotonic_ms(void)
{
    return em_clock_monotonic() / 1000000;
}

int em_clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

int64_t em_clock_now(void)
{
    return em_clock_real_now() + atomic_load(&clock_offset_ns);
}

int64_t em_clock_offset(void)
{
    return atomic_load(&clock_offset_ns);
}

enum em_code em_clock_reload(struct em_store *store, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "SELECT offset_ns FROM clock WHERE id = 1", st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        atomic_store(&clock_offset_ns, sqlite3_column_int64(stmt, 0));
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

enum em_code em_clock_open(struct em_store *store, struct em_status *st)
{
    if (em_store_migrate(store, "clock", clock_migrations, 1, st))
        return st->code;
    return em_clock_reload(store, st);
}

static enum em_code write_offset(struct em_store *store, const char *sql, int64_t value,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, value);
    if (em_stmt_run(stmt, st))
        return st->code;
    return em_clock_reload(store, st);
}

enum em_code em_clock_advance(struct em_store *store, int64_t delta_ns, int64_t *new_offset,
                              struct em_status *st)
{
    if (delta_ns < 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The emulator clock only moves forward: seconds must be >= 0.");
    if (em_clock_reload(store, st)) /* another process may have moved it */
        return st->code;
    int64_t offset = em_clock_offset(), real = em_clock_real_now();
    if (delta_ns > EM_CLOCK_MAX_NS - real - offset)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The emulator clock cannot move past 2200-01-01T00:00:00Z (every service "
                       "adds retention periods to it in nanoseconds): it is %lld s before that.",
                       (long long)((EM_CLOCK_MAX_NS - real - offset) / 1000000000LL));
    if (write_offset(store, "UPDATE clock SET offset_ns = ? WHERE id = 1", offset + delta_ns, st))
        return st->code;
    *new_offset = em_clock_offset();
    return EM_OK;
}

enum em_code em_clock_reset(struct em_store *store, struct em_status *st)
{
    return write_offset(store, "UPDATE clock SET offset_ns = ? WHERE id = 1", 0, st);
}
