/*
 * pubsub_log: a topic's message log: its encrypted store and the one thread that uses it.
 *
 * Every read and write of a topic store runs on the log's thread as a job: the caller
 * queues the job and either sleeps (ps_log_run) or goes on and is called back
 * (ps_log_submit: publish, whose HTTP connection is parked meanwhile); the thread takes
 * every job queued so far, runs them in one write transaction, commits once, and reports
 * to each job's caller. Under load many publishes, acks and pulls share each commit
 * (group commit), and one SQLite connection keeps its page cache warm because no other
 * connection ever writes the file.
 *
 *   caller:  queue job -> wait until done, or be called back
 *   thread:  take batch -> BEGIN -> job 1 .. job n -> COMMIT -> done (each job)
 *                               \-- a job fails: ROLLBACK, then each job of the batch
 *                                   alone in its own transaction
 *
 * A reply is sent only after its job's batch committed: with WAL and synchronous=NORMAL
 * an acknowledged publish survives kill -9 of the process.
 *
 * Sequence numbers are handed out on the thread (ps_log_take_seq) in commit order, and
 * publish times never go backwards, so seq order is publish-time order.
 */
#include "pubsub.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_log.h"
#include "em_store.h"

#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_job {
    ps_job_fn fn;
    void *arg;
    enum em_code code;
    struct em_status st;
    struct ps_job_result *result; /* the caller's, set when the batch is over ... */
    void (*done)(void *arg);      /* ... then this tells the caller */
    void *done_arg;
    struct ps_job *next;
};

struct ps_log {
    char path[PATH_MAX];
    unsigned char dek[EM_DEK_BYTES]; /* until the thread opened the store */
    struct em_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work, ready_cond;
    struct ps_job *head, *tail;
    bool stop, ready, idle;
    enum em_code open_code;
    struct em_status open_st;

    /* log thread only */
    int64_t next_seq, last_publish_ns;
    bool published;

    _Atomic int64_t committed;
    void (*on_commit)(void *arg);
    void *on_commit_arg;

    atomic_int refs;          /* the opener's + one per call using the log */
    atomic_bool remove_files; /* delete the files once closed (topic deleted) */
};

struct em_store *ps_log_store(struct ps_log *log)
{
    return log->store;
}

int64_t ps_log_committed(struct ps_log *log)
{
    return atomic_load(&log->committed);
}

int64_t ps_log_take_seq(struct ps_log *log, int64_t *publish_ns, int64_t now)
{
    now -= now % 1000000; /* Google's publish times carry milliseconds */
    if (now < log->last_publish_ns)
        now = log->last_publish_ns;
    log->last_publish_ns = now;
    *publish_ns = now;
    log->published = true;
    return log->next_seq++;
}

int64_t ps_log_next_seq(struct ps_log *log)
{
    return log->next_seq;
}

int64_t ps_log_last_publish(struct ps_log *log)
{
    return log->last_publish_ns;
}

/* --- the thread --- */

static enum em_code open_store(struct ps_log *log, struct em_status *st)
{
    enum em_code code = em_store_open_encrypted(log->path, log->dek, &log->store, st);
    em_wipe(log->dek, sizeof(log->dek));
    if (code)
        return code;
    /* only this thread ever opens the file: hold its locks for good instead of taking
     * and releasing them around every transaction */
    if (em_store_exec(log->store, "PRAGMA locking_mode=EXCLUSIVE", st) ||
        ps_store_log_migrate(log->store, st) ||
        ps_store_log_next_seq(log->store, &log->next_seq, &log->last_publish_ns, st))
        return st->code;
    atomic_store(&log->committed, log->next_seq - 1);
    return EM_OK;
}

/* Runs jobs[0..n) in one transaction; false when it had to roll back. */
static bool run_together(struct ps_log *log, struct ps_job *first, struct ps_job *end,
                         struct em_status *st)
{
    int64_t next_seq = log->next_seq, last = log->last_publish_ns;
    if (em_store_begin(log->store, st))
        return false;
    bool ok = true;
    for (struct ps_job *j = first; j != end && ok; j = j->next) {
        em_status_clear(&j->st);
        j->code = j->fn(log, j->arg, &j->st);
        ok = j->code == EM_OK;
    }
    if (ok && em_store_commit(log->store, st) == EM_OK)
        return true;
    em_store_rollback(log->store);
    log->next_seq = next_seq; /* nothing of the batch happened */
    log->last_publish_ns = last;
    return false;
}

static void run_batch(struct ps_log *log, struct ps_job *batch)
{
    struct em_status st = {0};
    log->published = false;
    if (!run_together(log, batch, NULL, &st)) {
        log->published = false;
        bool single = batch->next == NULL;
        for (struct ps_job *j = batch; j; j = j->next) {
            if (single || !run_together(log, j, j->next, &st)) {
                if (j->code == EM_OK) { /* the commit itself failed */
                    j->code = st.code ? st.code : EM_INTERNAL;
                    j->st = st;
                }
            }
        }
    }
    atomic_store(&log->committed, log->next_seq - 1);
    if (log->published && log->on_commit)
        log->on_commit(log->on_commit_arg);
}

/* Hands a finished job's outcome to its caller and frees the job. */
static void report(struct ps_job *j)
{
    j->result->code = j->code;
    j->result->st = j->st;
    if (j->code && !j->result->st.code)
        EM_FAIL(&j->result->st, j->code, "The topic's message store failed.");
    void (*done)(void *) = j->done;
    void *done_arg = j->done_arg;
    free(j);
    done(done_arg); /* the caller may free its result from here on */
}

static void *log_thread(void *arg)
{
    struct ps_log *log = arg;
    pthread_setname_np(pthread_self(), "pubsub-log");
    enum em_code code = open_store(log, &log->open_st);
    pthread_mutex_lock(&log->lock);
    log->open_code = code;
    log->ready = true;
    pthread_cond_broadcast(&log->ready_cond);
    pthread_mutex_unlock(&log->lock);
    if (code)
        return NULL;
    for (;;) {
        pthread_mutex_lock(&log->lock);
        while (!log->head && !log->stop) {
            log->idle = true; /* callers signal `work` only while the thread sleeps */
            pthread_cond_wait(&log->work, &log->lock);
        }
        log->idle = false;
        struct ps_job *batch = log->head;
        log->head = log->tail = NULL;
        pthread_mutex_unlock(&log->lock);
        if (!batch)
            break; /* stopping, nothing left */
        run_batch(log, batch);
        for (struct ps_job *j = batch, *next; j; j = next) {
            next = j->next;
            report(j);
        }
    }
    return NULL;
}

/* --- open / close / run --- */

enum em_code ps_log_open(const char *path, const unsigned char dek[EM_DEK_BYTES],
                         void (*on_commit)(void *arg), void *arg, struct ps_log **out,
                         struct em_status *st)
{
    struct ps_log *log = calloc(1, sizeof(*log));
    if (!log)
        return EM_FAIL_OOM(st);
    snprintf(log->path, sizeof(log->path), "%s", path);
    memcpy(log->dek, dek, EM_DEK_BYTES);
    log->on_commit = on_commit;
    log->on_commit_arg = arg;
    atomic_init(&log->refs, 1);
    pthread_mutex_init(&log->lock, NULL);
    pthread_cond_init(&log->work, NULL);
    pthread_cond_init(&log->ready_cond, NULL);
    if (pthread_create(&log->thread, NULL, log_thread, log) != 0) {
        em_wipe(log->dek, sizeof(log->dek));
        free(log);
        return EM_FAIL(st, EM_INTERNAL, "cannot start a log thread");
    }
    pthread_mutex_lock(&log->lock);
    while (!log->ready)
        pthread_cond_wait(&log->ready_cond, &log->lock);
    pthread_mutex_unlock(&log->lock);
    if (log->open_code) {
        *st = log->open_st;
        pthread_join(log->thread, NULL);
        em_store_close(log->store);
        free(log);
        return st->code;
    }
    *out = log;
    return EM_OK;
}

void ps_log_close(struct ps_log *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    log->stop = true;
    pthread_cond_signal(&log->work);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->thread, NULL);
    em_store_close(log->store);
    if (atomic_load(&log->remove_files))
        em_store_remove_files(log->path);
    pthread_mutex_destroy(&log->lock);
    pthread_cond_destroy(&log->work);
    pthread_cond_destroy(&log->ready_cond);
    free(log);
}

void ps_log_ref(struct ps_log *log)
{
    atomic_fetch_add(&log->refs, 1);
}

void ps_log_unref(struct ps_log *log)
{
    if (log && atomic_fetch_sub(&log->refs, 1) == 1)
        ps_log_close(log);
}

int ps_log_users(struct ps_log *log)
{
    return atomic_load(&log->refs) - 1;
}

void ps_log_remove_files_on_close(struct ps_log *log)
{
    atomic_store(&log->remove_files, true);
}

enum em_code ps_log_submit(struct ps_log *log, ps_job_fn fn, void *arg,
                           struct ps_job_result *result, void (*done)(void *done_arg),
                           void *done_arg, struct em_status *st)
{
    struct ps_job *job = calloc(1, sizeof(*job));
    if (!job)
        return EM_FAIL_OOM(st);
    *job =
        (struct ps_job){.fn = fn, .arg = arg, .result = result, .done = done, .done_arg = done_arg};
    pthread_mutex_lock(&log->lock);
    if (log->stop) {
        pthread_mutex_unlock(&log->lock);
        free(job);
        return EM_FAIL(st, EM_UNAVAILABLE, "The topic's message store is closing; retry.");
    }
    if (log->tail)
        log->tail->next = job;
    else
        log->head = job;
    log->tail = job;
    if (log->idle)
        pthread_cond_signal(&log->work);
    pthread_mutex_unlock(&log->lock);
    return EM_OK;
}

static void post_semaphore(void *arg)
{
    sem_post(arg);
}

enum em_code ps_log_run(struct ps_log *log, ps_job_fn fn, void *arg, struct em_status *st)
{
    struct ps_job_result result = {0};
    sem_t done;
    sem_init(&done, 0, 0);
    if (ps_log_submit(log, fn, arg, &result, post_semaphore, &done, st)) {
        sem_destroy(&done);
        return st->code;
    }
    while (sem_wait(&done) != 0)
        ; /* EINTR */
    sem_destroy(&done);
    if (result.code)
        *st = result.st;
    return result.code;
}
