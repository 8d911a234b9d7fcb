/*
 * test_workers: em_workers, the growing pool of threads that runs blocking calls. Every
 * job runs; the pool grows to as many threads as jobs waiting at once (N jobs that wait
 * for each other all finish), never beyond max_threads (the rest queue and still run);
 * em_workers_free runs the jobs still queued before it returns; a job may queue another;
 * em_workers_free returns only after the threads' thread-specific destructors ran (em_store
 * closes a thread's connection there, so the store may be closed right after).
 *
 * Every wait is bounded: a job that would wait forever if the pool misbehaved gives up
 * after WAIT_MS and records it, so a broken pool fails these tests instead of hanging them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_log.h"
#include "em_workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define WAIT_MS 5000

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static struct timespec deadline_in(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Waits until *value reaches at least target, at most ms; true when it did. */
static bool wait_for_count(atomic_int *value, int target, int ms)
{
    for (int waited = 0; atomic_load(value) < target; waited++) {
        if (waited >= ms)
            return false;
        sleep_ms(1);
    }
    return true;
}

static struct em_workers *new_pool(int max_threads)
{
    struct em_workers *w = NULL;
    struct em_status st = {0};
    assert_int_equal(em_workers_new(max_threads, &w, &st), EM_OK);
    assert_non_null(w);
    return w;
}

static void submit(struct em_workers *w, em_work_fn fn, void *arg)
{
    struct em_status st = {0};
    assert_int_equal(em_workers_submit(w, fn, arg, &st), EM_OK);
}

/* ---------------------------------------------------------------- every job runs */

struct counter {
    atomic_int runs;
    atomic_int running, most_running; /* jobs running at once, and the peak */
    int hold_ms;                      /* how long each job takes */
};

static void count_job(void *arg)
{
    struct counter *c = arg;
    int now = atomic_fetch_add(&c->running, 1) + 1;
    int peak = atomic_load(&c->most_running);
    while (now > peak && !atomic_compare_exchange_weak(&c->most_running, &peak, now))
        ;
    if (c->hold_ms)
        sleep_ms(c->hold_ms);
    atomic_fetch_sub(&c->running, 1);
    atomic_fetch_add(&c->runs, 1);
}

static void test_every_job_runs(void **state)
{
    (void)state;
    struct em_workers *w = new_pool(4);
    struct counter c = {0};
    for (int i = 0; i < 200; i++)
        submit(w, count_job, &c);
    assert_true(wait_for_count(&c.runs, 200, WAIT_MS));
    em_workers_free(w);
    assert_int_equal(atomic_load(&c.runs), 200);
    assert_true(atomic_load(&c.most_running) <= 4);
}

static void test_free_of_null_and_of_an_unused_pool(void **state)
{
    (void)state;
    em_workers_free(NULL);
    em_workers_free(new_pool(8));
    em_workers_free(new_pool(0)); /* max_threads <= 0 means one thread */
}

/* ---------------------------------------------------------------- growth */

/* N jobs that each wait until all N have started: they only finish if N threads run them
 * at once. A job gives up after WAIT_MS and counts itself in timed_out. */
struct barrier {
    pthread_mutex_t lock;
    pthread_cond_t all_in;
    int expected, arrived, timed_out, done;
    int wait_ms; /* 0: WAIT_MS */
};

static void barrier_job(void *arg)
{
    struct barrier *b = arg;
    struct timespec until = deadline_in(b->wait_ms ? b->wait_ms : WAIT_MS);
    pthread_mutex_lock(&b->lock);
    if (++b->arrived == b->expected)
        pthread_cond_broadcast(&b->all_in);
    int rc = 0;
    while (b->arrived < b->expected && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&b->all_in, &b->lock, &until);
    if (b->arrived < b->expected)
        b->timed_out++;
    b->done++;
    pthread_mutex_unlock(&b->lock);
}

static void run_barrier_jobs(int max_threads, int jobs)
{
    struct em_workers *w = new_pool(max_threads);
    struct barrier b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, jobs, 0, 0, 0};
    for (int i = 0; i < jobs; i++)
        submit(w, barrier_job, &b);
    em_workers_free(w); /* returns once every job ran (each gives up after WAIT_MS) */
    assert_int_equal(b.done, jobs);
    assert_int_equal(b.arrived, jobs);
    assert_int_equal(b.timed_out, 0);
}

static void test_the_pool_grows_to_the_jobs_waiting_at_once(void **state)
{
    (void)state;
    run_barrier_jobs(8, 8);
    run_barrier_jobs(64, 32);
}

static void test_growth_after_idle_threads_are_busy_again(void **state)
{
    (void)state;
    /* a first round leaves idle threads; a second, larger round needs them all and more */
    struct em_workers *w = new_pool(16);
    struct counter c = {0};
    for (int i = 0; i < 4; i++)
        submit(w, count_job, &c);
    assert_true(wait_for_count(&c.runs, 4, WAIT_MS));
    struct barrier b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 12, 0, 0, 0};
    for (int i = 0; i < 12; i++)
        submit(w, barrier_job, &b);
    em_workers_free(w);
    assert_int_equal(b.done, 12);
    assert_int_equal(b.timed_out, 0);
}

/* ---------------------------------------------------------------- the cap */

static void test_jobs_beyond_max_threads_queue_and_run(void **state)
{
    (void)state;
    struct em_workers *w = new_pool(2);
    struct counter c = {.hold_ms = 20};
    for (int i = 0; i < 6; i++)
        submit(w, count_job, &c);
    assert_true(wait_for_count(&c.runs, 6, WAIT_MS));
    assert_int_equal(atomic_load(&c.runs), 6);
    assert_true(atomic_load(&c.most_running) <= 2);
    em_workers_free(w);
}

static void test_waiting_jobs_beyond_max_threads_time_out(void **state)
{
    (void)state;
    /* the cap is real: with 2 threads, 3 jobs waiting for each other cannot all meet
     * (the third starts only after one of the first two gave up) */
    struct em_workers *w = new_pool(2);
    struct barrier b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 3, 0, 0, 0, 300};
    for (int i = 0; i < 3; i++)
        submit(w, barrier_job, &b);
    em_workers_free(w);
    assert_int_equal(b.done, 3);
    assert_true(b.timed_out >= 1);
}

/* ---------------------------------------------------------------- em_workers_free */

struct gate {
    atomic_bool open;
    atomic_bool entered;
    atomic_int waited_out; /* the gate never opened within WAIT_MS */
};

static void gate_job(void *arg)
{
    struct gate *g = arg;
    atomic_store(&g->entered, true);
    for (int waited = 0; !atomic_load(&g->open); waited++) {
        if (waited >= WAIT_MS) {
            atomic_fetch_add(&g->waited_out, 1);
            return;
        }
        sleep_ms(1);
    }
}

static void *open_gate_later(void *arg)
{
    sleep_ms(50);
    atomic_store(&((struct gate *)arg)->open, true);
    return NULL;
}

static void test_free_runs_the_jobs_still_queued(void **state)
{
    (void)state;
    struct em_workers *w = new_pool(1);
    struct gate g = {0};
    struct counter c = {0};
    submit(w, gate_job, &g);
    for (int i = 0; i < 5; i++)
        submit(w, count_job, &c);
    /* the only thread is held at the gate: the five jobs are queued behind it */
    for (int waited = 0; !atomic_load(&g.entered) && waited < WAIT_MS; waited++)
        sleep_ms(1);
    assert_true(atomic_load(&g.entered));
    sleep_ms(20);
    assert_int_equal(atomic_load(&c.runs), 0);
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, &g), 0);
    em_workers_free(w); /* while the gate is still shut */
    assert_int_equal(atomic_load(&c.runs), 5);
    assert_int_equal(atomic_load(&g.waited_out), 0);
    pthread_join(opener, NULL);
}

/* ---------------------------------------------------------------- jobs that queue jobs */

struct chain {
    struct em_workers *w;
    atomic_int links; /* jobs run so far */
    int length;
    atomic_int submit_failures;
};

static void chain_job(void *arg)
{
    struct chain *ch = arg;
    int n = atomic_fetch_add(&ch->links, 1) + 1;
    if (n >= ch->length)
        return;
    struct em_status st = {0};
    if (em_workers_submit(ch->w, chain_job, ch, &st) != EM_OK)
        atomic_fetch_add(&ch->submit_failures, 1);
}

static void test_a_job_may_submit_another(void **state)
{
    (void)state;
    /* one thread: the job that submits holds it, so the next one is queued behind it */
    struct chain ch = {.w = new_pool(1), .length = 10};
    submit(ch.w, chain_job, &ch);
    assert_true(wait_for_count(&ch.links, 10, WAIT_MS));
    em_workers_free(ch.w);
    assert_int_equal(atomic_load(&ch.links), 10);
    assert_int_equal(atomic_load(&ch.submit_failures), 0);
}

static void test_jobs_submitted_while_freeing_still_run(void **state)
{
    (void)state;
    /* em_workers_free starts while the chain is still growing: every link runs */
    struct chain ch = {.w = new_pool(2), .length = 50};
    submit(ch.w, chain_job, &ch);
    em_workers_free(ch.w);
    assert_int_equal(atomic_load(&ch.links), 50);
    assert_int_equal(atomic_load(&ch.submit_failures), 0);
}

/* ---------------------------------------------------------------- thread exit */

static atomic_int destructors_done;

/* A slow thread-specific destructor, like em_store closing a thread's connection. */
static void slow_destructor(void *arg)
{
    (void)arg;
    sleep_ms(50);
    atomic_fetch_add(&destructors_done, 1);
}

static pthread_key_t slow_key;

static void use_thread_specific(void *arg)
{
    pthread_setspecific(slow_key, arg);
}

static void test_free_waits_for_thread_specific_destructors(void **state)
{
    (void)state;
    assert_int_equal(pthread_key_create(&slow_key, slow_destructor), 0);
    atomic_store(&destructors_done, 0);
    struct em_workers *w = new_pool(3);
    static int marker;
    for (int i = 0; i < 3; i++)
        submit(w, use_thread_specific, &marker);
    em_workers_free(w);
    /* every thread that ran a job has run its destructor: none is still on its way out */
    int done = atomic_load(&destructors_done);
    assert_true(done >= 1 && done <= 3);
    sleep_ms(120);
    assert_int_equal(atomic_load(&destructors_done), done);
    pthread_key_delete(slow_key);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_job_runs),
        cmocka_unit_test(test_free_of_null_and_of_an_unused_pool),
        cmocka_unit_test(test_the_pool_grows_to_the_jobs_waiting_at_once),
        cmocka_unit_test(test_growth_after_idle_threads_are_busy_again),
        cmocka_unit_test(test_jobs_beyond_max_threads_queue_and_run),
        cmocka_unit_test(test_waiting_jobs_beyond_max_threads_time_out),
        cmocka_unit_test(test_free_runs_the_jobs_still_queued),
        cmocka_unit_test(test_a_job_may_submit_another),
        cmocka_unit_test(test_jobs_submitted_while_freeing_still_run),
        cmocka_unit_test(test_free_waits_for_thread_specific_destructors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
