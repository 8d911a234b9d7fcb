/*
 * em_datastore: a CMEK-protected resource's encrypted data file, its gate and its
 * writer thread with group commit (the model is drawn in em_datastore.h).
 *
 * Ownership: the datastore holds one reference on its open file; every call using the
 * file holds another. Closing drops the datastore's reference; the last reference stops
 * the thread (after the jobs queued), closes the store and removes the files of a
 * shredded datastore. A datastore never opens a second file while an earlier one of the
 * same path is still open: an open takes back a file closed while calls still used it
 * (its users keep it alive), and waits for one whose last user is closing it right now.
 */
#include "em_datastore.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_log.h"
#include "em_store.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checkpoints (em_datastore.h): the checkpointer's turn comes once a commit leaves this
 * many frames in the WAL not checkpointed yet (SQLite's own automatic interval) ... */
#define CHECKPOINT_FRAMES 1000
/* ... and once the WAL starts over, its file is cut back to this size */
#define WAL_KEPT_BYTES "4194304"

struct job {
    em_datafile_job_fn fn;
    void *arg;
    enum em_code code;
    struct em_status st;
    struct em_datafile_result *result; /* the caller's, set when the batch is over ... */
    void (*done)(void *arg);           /* ... then this tells the caller */
    void *done_arg;
    bool alone; /* runs by itself, outside any transaction (em_datastore_copy) */
    struct job *next;
};

struct em_datafile {
    char path[PATH_MAX];
    unsigned char dek[EM_DEK_BYTES]; /* until the thread opened the store */
    const struct em_datastore_hooks *hooks;
    void *hooks_arg;
    struct em_store *store;
    void *state; /* the service's, built by hooks->opened */
    pthread_t thread;
    pthread_mutex_t lock; /* ready, open_code, open_st: the thread's start */
    pthread_cond_t ready_cond;
    bool ready;
    enum em_code open_code;
    struct em_status open_st;

    /* The queue, without a lock (see "The queue" below): callers push jobs on `pushed`,
     * newest first; the thread takes them all at once. */
    _Atomic(struct job *) pushed;
    atomic_bool sleeping; /* the thread waits on `work`, or is about to */
    atomic_bool stop;
    sem_t work;
    struct job *taken; /* the thread's own: taken from `pushed`, not run yet (after a cut) */

    atomic_int refs;          /* the datastore's + one per call using the file */
    atomic_bool remove_files; /* shredded: the files go once closed */

    /* The checkpointer thread, started at the first checkpoint the WAL needs.
     * checkpoint_lock: whoever checkpoints (the checkpointer, or the writer at the WAL's
     * limit) holds it throughout. ckpt_lock guards ckpt_wanted, ckpt_stop, ckpt_started. */
    pthread_t ckpt_thread;
    pthread_mutex_t checkpoint_lock;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    bool ckpt_started, ckpt_wanted, ckpt_stop;
    atomic_int checkpointed_frames; /* the WAL's frames in the database after the last one */

    /* closing_lock: a file closed while in use, its datastore waiting for it to go */
    struct em_datastore *closing_for;
    struct em_datafile *next_closing;
};

struct em_datastore {
    struct em_cmek *cmek;
    char resource[EM_RESOURCE_MAX]; /* the name the engine knows the data by */
    char path[PATH_MAX];
    const struct em_datastore_hooks *hooks;
    void *hooks_arg;
    pthread_rwlock_t lock;    /* readers: calls passing the gate; writer: open/close/rename */
    struct em_datafile *file; /* open file (a reference), or NULL */
    bool shredded;
    _Atomic int64_t used_real_ns; /* monotonic time of the last open: idle files close */

    /* Files closed while calls still used them (closing_lock): the next open waits for
     * them to go. */
    struct em_datafile *closing;
    pthread_cond_t closed_cond;
};

static const struct em_datastore_hooks no_hooks = {0};

/* Guards closing_for and the closing lists. A leaf; taken only when a file is closed
 * while in use, and by opens that must wait for such a file. */
static pthread_mutex_t closing_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- checkpoints --- */

/* A passive checkpoint on the calling thread's connection (checkpoint_lock held): the
 * commits go on meanwhile, and the pages they write wait for the next one. */
static void checkpoint(struct em_datafile *f)
{
    struct em_status st = {0};
    sqlite3 *db = em_store_db(f->store, &st);
    int wal_frames = 0, copied = 0;
    int rc =
        db ? sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied)
           : SQLITE_ERROR;
    if (rc == SQLITE_OK)
        atomic_store(&f->checkpointed_frames, copied);
    else
        em_warn("data store %s: a checkpoint failed: %s", f->path,
                db ? sqlite3_errmsg(db) : st.message);
}

static void *checkpointer_thread(void *arg)
{
    struct em_datafile *f = arg;
    pthread_setname_np(pthread_self(), "em-checkpoint");
    pthread_mutex_lock(&f->ckpt_lock);
    for (;;) {
        while (!f->ckpt_wanted && !f->ckpt_stop)
            pthread_cond_wait(&f->ckpt_cond, &f->ckpt_lock);
        if (f->ckpt_stop)
            break;
        f->ckpt_wanted = false;
        pthread_mutex_unlock(&f->ckpt_lock);
        pthread_mutex_lock(&f->checkpoint_lock);
        checkpoint(f);
        pthread_mutex_unlock(&f->checkpoint_lock);
        pthread_mutex_lock(&f->ckpt_lock);
    }
    pthread_mutex_unlock(&f->ckpt_lock);
    return NULL; /* em_store closes the thread's connection as it ends */
}

/* Asks the checkpointer for a checkpoint, starting it the first time. */
static void want_checkpoint(struct em_datafile *f)
{
    pthread_mutex_lock(&f->ckpt_lock);
    if (!f->ckpt_started) {
        f->ckpt_started = pthread_create(&f->ckpt_thread, NULL, checkpointer_thread, f) == 0;
        if (!f->ckpt_started) /* the writer checkpoints at the WAL's limit instead */
            em_warn("data store %s: cannot start a checkpointer thread", f->path);
    }
    f->ckpt_wanted = true;
    pthread_cond_signal(&f->ckpt_cond);
    pthread_mutex_unlock(&f->ckpt_lock);
}

/* Stops the checkpointer (its connection closes with it), before the writer's goes. */
static void stop_checkpointer(struct em_datafile *f)
{
    pthread_mutex_lock(&f->ckpt_lock);
    bool started = f->ckpt_started;
    f->ckpt_stop = true;
    pthread_cond_signal(&f->ckpt_cond);
    pthread_mutex_unlock(&f->ckpt_lock);
    if (started)
        pthread_join(f->ckpt_thread, NULL);
}

/* SQLite's WAL hook: on the writer thread after each commit, wal_frames the WAL's size. */
static int wal_committed(void *arg, sqlite3 *db, const char *schema, int wal_frames)
{
    (void)db;
    (void)schema;
    struct em_datafile *f = arg;
    int copied = atomic_load(&f->checkpointed_frames);
    if (copied > wal_frames) /* the WAL started over since */
        copied = 0;
    if (wal_frames >= EM_DATASTORE_WAL_FRAMES) {
        pthread_mutex_lock(&f->checkpoint_lock);
        checkpoint(f);
        pthread_mutex_unlock(&f->checkpoint_lock);
    } else if (wal_frames - copied >= CHECKPOINT_FRAMES) {
        want_checkpoint(f);
    }
    return SQLITE_OK;
}

/* --- the writer thread --- */

static enum em_code open_store(struct em_datafile *f, struct em_status *st)
{
    enum em_code code = em_store_open_encrypted(f->path, f->dek, &f->store, st);
    em_wipe(f->dek, sizeof(f->dek));
    if (code)
        return code;
    /* checkpoints are the checkpointer's (wal_committed replaces SQLite's automatic ones) */
    sqlite3 *db = em_store_db(f->store, st);
    if (!db || em_store_exec(f->store, "PRAGMA journal_size_limit=" WAL_KEPT_BYTES, st))
        return st->code;
    sqlite3_wal_hook(db, wal_committed, f);
    if (f->hooks->opened)
        return f->hooks->opened(f->store, f->hooks_arg, &f->state, st);
    return EM_OK;
}

static void hook(void (*fn)(void *state), struct em_datafile *f)
{
    if (fn)
        fn(f->state);
}

/* Runs the jobs from first up to end in one transaction; false when it rolled back. */
static bool run_together(struct em_datafile *f, struct job *first, struct job *end,
                         struct em_status *st)
{
    if (em_store_begin(f->store, st))
        return false;
    hook(f->hooks->begin, f);
    bool ok = true;
    for (struct job *j = first; j != end && ok; j = j->next) {
        em_status_clear(&j->st);
        j->code = j->fn(f, j->arg, &j->st);
        ok = j->code == EM_OK;
    }
    if (ok && em_store_commit(f->store, st) == EM_OK)
        return true;
    em_store_rollback(f->store);
    hook(f->hooks->rolled_back, f); /* nothing of the transaction happened */
    return false;
}

static void run_batch(struct em_datafile *f, struct job *batch)
{
    struct em_status st = {0};
    if (batch->alone) {
        batch->code = batch->fn(f, batch->arg, &batch->st);
        return;
    }
    if (!run_together(f, batch, NULL, &st)) {
        bool single = batch->next == NULL;
        for (struct job *j = batch; j; j = j->next) {
            if (single || !run_together(f, j, j->next, &st)) {
                if (j->code == EM_OK) { /* the commit itself failed */
                    j->code = st.code ? st.code : EM_INTERNAL;
                    j->st = st;
                }
            }
        }
    }
    hook(f->hooks->batch_done, f);
}

/* Hands a finished job's outcome to its caller and frees the job. */
static void report(struct job *j)
{
    j->result->code = j->code;
    j->result->st = j->st;
    if (j->code && !j->result->st.code)
        EM_FAIL(&j->result->st, j->code, "The data store failed.");
    void (*done)(void *) = j->done;
    void *done_arg = j->done_arg;
    free(j);
    done(done_arg); /* the caller may free its result from here on */
}

/* --- the queue ---
 *
 * Callers push jobs with a compare-and-swap on `pushed` and never wait for the thread or
 * for each other; the thread swaps the whole stack out and reverses it (submission
 * order). Wake-ups: before sleeping the thread sets `sleeping`, then looks at `pushed`
 * again; a caller pushes, then clears `sleeping` and posts `work` if it was set. With
 * sequentially consistent atomics one of the two always sees the other, so no job is
 * left waiting, and the thread is woken once per sleep rather than once per job. A post
 * that comes after the thread found work anyway only makes its next wait return at once
 * (it then finds the stack empty and sleeps again). */

static void push_job(struct em_datafile *f, struct job *job)
{
    job->next = atomic_load(&f->pushed);
    while (!atomic_compare_exchange_weak(&f->pushed, &job->next, job))
        ; /* job->next now holds the newer head: try again */
    if (atomic_exchange(&f->sleeping, false))
        sem_post(&f->work);
}

/* The jobs pushed so far, oldest first, or NULL. */
static struct job *take_pushed(struct em_datafile *f)
{
    struct job *newest_first = atomic_exchange(&f->pushed, NULL);
    struct job *oldest_first = NULL;
    while (newest_first) {
        struct job *next = newest_first->next;
        newest_first->next = oldest_first;
        oldest_first = newest_first;
        newest_first = next;
    }
    return oldest_first;
}

/* Waits for work; returns the jobs pushed so far, or NULL when stopping with none. */
static struct job *wait_for_jobs(struct em_datafile *f)
{
    for (;;) {
        struct job *batch = take_pushed(f);
        if (batch || atomic_load(&f->stop))
            return batch;
        atomic_store(&f->sleeping, true);
        if (atomic_load(&f->pushed) || atomic_load(&f->stop)) {
            atomic_store(&f->sleeping, false); /* work came meanwhile: no sleep */
            continue;
        }
        while (sem_wait(&f->work) != 0)
            ; /* EINTR */
    }
}

/* The next batch: the jobs waiting up to the first that runs alone (or that one by
 * itself), or NULL when stopping with none. Jobs after the cut wait in `taken`. */
static struct job *take_batch(struct em_datafile *f)
{
    if (!f->taken)
        f->taken = wait_for_jobs(f);
    struct job *batch = f->taken, *last = batch;
    while (last && !last->alone && last->next && !last->next->alone)
        last = last->next;
    if (last) {
        f->taken = last->next;
        last->next = NULL;
    }
    return batch;
}

static void *writer_thread(void *arg)
{
    struct em_datafile *f = arg;
    pthread_setname_np(pthread_self(), "em-datastore");
    enum em_code code = open_store(f, &f->open_st);
    pthread_mutex_lock(&f->lock);
    f->open_code = code;
    f->ready = true;
    pthread_cond_broadcast(&f->ready_cond);
    pthread_mutex_unlock(&f->lock);
    struct job *batch;
    while (!code && (batch = take_batch(f)) != NULL) {
        run_batch(f, batch);
        for (struct job *j = batch, *next; j; j = next) {
            next = j->next;
            report(j);
        }
    }
    stop_checkpointer(f);
    if (code)
        return NULL;
    /* here, before the thread's exit closes its connection: statements the state keeps
     * must be finalized first, or the connection (and the file's lock) would stay open */
    if (f->state && f->hooks->closed)
        f->hooks->closed(f->state);
    f->state = NULL;
    return NULL;
}

/* --- a file: start, stop, references --- */

static void file_destroy(struct em_datafile *f)
{
    if (f->state && f->hooks->closed)
        f->hooks->closed(f->state);
    em_store_close(f->store);
    if (atomic_load(&f->remove_files))
        em_store_remove_files(f->path);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->ready_cond);
    pthread_mutex_destroy(&f->checkpoint_lock);
    pthread_mutex_destroy(&f->ckpt_lock);
    pthread_cond_destroy(&f->ckpt_cond);
    sem_destroy(&f->work);
    free(f);
}

static enum em_code file_start(struct em_datastore *ds, const unsigned char dek[EM_DEK_BYTES],
                               struct em_datafile **out, struct em_status *st)
{
    struct em_datafile *f = calloc(1, sizeof(*f));
    if (!f)
        return EM_FAIL_OOM(st);
    snprintf(f->path, sizeof(f->path), "%s", ds->path);
    memcpy(f->dek, dek, EM_DEK_BYTES);
    f->hooks = ds->hooks;
    f->hooks_arg = ds->hooks_arg;
    atomic_init(&f->refs, 1);
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->ready_cond, NULL);
    pthread_mutex_init(&f->checkpoint_lock, NULL);
    pthread_mutex_init(&f->ckpt_lock, NULL);
    pthread_cond_init(&f->ckpt_cond, NULL);
    sem_init(&f->work, 0, 0);
    if (pthread_create(&f->thread, NULL, writer_thread, f) != 0) {
        em_wipe(f->dek, sizeof(f->dek));
        file_destroy(f);
        return EM_FAIL(st, EM_INTERNAL, "cannot start a data store thread");
    }
    pthread_mutex_lock(&f->lock);
    while (!f->ready)
        pthread_cond_wait(&f->ready_cond, &f->lock);
    pthread_mutex_unlock(&f->lock);
    if (f->open_code) {
        *st = f->open_st;
        pthread_join(f->thread, NULL);
        file_destroy(f);
        return st->code;
    }
    *out = f;
    return EM_OK;
}

/* Stops the thread after the queued jobs, closes the store, frees the file. */
static void file_close(struct em_datafile *f)
{
    atomic_store(&f->stop, true);
    if (atomic_exchange(&f->sleeping, false))
        sem_post(&f->work);
    pthread_join(f->thread, NULL);
    pthread_mutex_lock(&closing_lock);
    struct em_datastore *ds = f->closing_for;
    if (ds) {
        struct em_datafile **p = &ds->closing;
        while (*p != f)
            p = &(*p)->next_closing;
        *p = f->next_closing;
    }
    file_destroy(f); /* before the datastore opens the file again */
    if (ds)
        pthread_cond_broadcast(&ds->closed_cond);
    pthread_mutex_unlock(&closing_lock);
}

static void file_ref(struct em_datafile *f)
{
    atomic_fetch_add(&f->refs, 1);
}

void em_datafile_put(struct em_datafile *file)
{
    if (file && atomic_fetch_sub(&file->refs, 1) == 1)
        file_close(file);
}

int em_datafile_users(struct em_datafile *file)
{
    return atomic_load(&file->refs) - 1;
}

struct em_store *em_datafile_store(struct em_datafile *file)
{
    return file->store;
}

void *em_datafile_state(struct em_datafile *file)
{
    return file->state;
}

/* --- jobs --- */

static enum em_code submit(struct em_datafile *file, em_datafile_job_fn fn, void *arg, bool alone,
                           struct em_datafile_result *result, void (*done)(void *done_arg),
                           void *done_arg, struct em_status *st)
{
    struct job *job = malloc(sizeof(*job));
    if (!job)
        return EM_FAIL_OOM(st);
    *job = (struct job){
        .fn = fn, .arg = arg, .result = result, .done = done, .done_arg = done_arg, .alone = alone};
    if (atomic_load(&file->stop)) { /* cannot happen to a caller holding its reference */
        free(job);
        return EM_FAIL(st, EM_UNAVAILABLE, "The data store is closing; retry.");
    }
    push_job(file, job);
    return EM_OK;
}

enum em_code em_datafile_submit(struct em_datafile *file, em_datafile_job_fn fn, void *arg,
                                struct em_datafile_result *result, void (*done)(void *done_arg),
                                void *done_arg, struct em_status *st)
{
    return submit(file, fn, arg, false, result, done, done_arg, st);
}

static void post_semaphore(void *arg)
{
    sem_post(arg);
}

/* Runs fn on the writer thread (in a batch's transaction, or alone outside any) and waits. */
static enum em_code run_job(struct em_datafile *file, em_datafile_job_fn fn, void *arg, bool alone,
                            struct em_status *st)
{
    struct em_datafile_result result = {0};
    sem_t done;
    sem_init(&done, 0, 0);
    if (submit(file, fn, arg, alone, &result, post_semaphore, &done, st)) {
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

enum em_code em_datafile_run(struct em_datafile *file, em_datafile_job_fn fn, void *arg,
                             struct em_status *st)
{
    return run_job(file, fn, arg, false, st);
}

/* --- the datastore --- */

enum em_code em_datastore_new(struct em_cmek *cmek, const char *resource, const char *path,
                              const struct em_datastore_hooks *hooks, void *arg,
                              struct em_datastore **out, struct em_status *st)
{
    if (strlen(resource) >= EM_RESOURCE_MAX || strlen(path) >= PATH_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "data store name or path too long");
    struct em_datastore *ds = calloc(1, sizeof(*ds));
    if (!ds)
        return EM_FAIL_OOM(st);
    ds->cmek = cmek;
    snprintf(ds->resource, sizeof(ds->resource), "%s", resource);
    snprintf(ds->path, sizeof(ds->path), "%s", path);
    ds->hooks = hooks ? hooks : &no_hooks;
    ds->hooks_arg = arg;
    pthread_rwlock_init(&ds->lock, NULL);
    pthread_cond_init(&ds->closed_cond, NULL);
    *out = ds;
    return EM_OK;
}

/* Takes a reference unless the last one is gone (the file is closing then). */
static bool ref_if_alive(struct em_datafile *f)
{
    int n = atomic_load(&f->refs);
    while (n > 0 && !atomic_compare_exchange_weak(&f->refs, &n, n + 1))
        ;
    return n > 0;
}

/* A file closed while calls still use it, taken back with a reference (the datastore's),
 * or NULL once every closed file has gone: one writer per file, and no wait for a file
 * the calling thread itself may hold (write lock held). */
static struct em_datafile *take_back_closed(struct em_datastore *ds)
{
    pthread_mutex_lock(&closing_lock);
    struct em_datafile *found = NULL;
    while (ds->closing && !found) {
        struct em_datafile **p = &ds->closing;
        while (*p && !ref_if_alive(*p))
            p = &(*p)->next_closing;
        if ((found = *p) != NULL) {
            *p = found->next_closing;
            found->closing_for = NULL;
            found->next_closing = NULL;
        } else { /* only files whose last user is closing them: they go promptly */
            pthread_cond_wait(&ds->closed_cond, &closing_lock);
        }
    }
    pthread_mutex_unlock(&closing_lock);
    return found;
}

/* Takes the open file out of the datastore (write lock held); the caller puts it. */
static struct em_datafile *detach_file(struct em_datastore *ds)
{
    struct em_datafile *f = ds->file;
    ds->file = NULL;
    if (f) {
        pthread_mutex_lock(&closing_lock);
        f->closing_for = ds;
        f->next_closing = ds->closing;
        ds->closing = f;
        pthread_mutex_unlock(&closing_lock);
    }
    return f;
}

void em_datastore_free(struct em_datastore *ds)
{
    if (!ds)
        return;
    em_datastore_close(ds);
    pthread_mutex_lock(&closing_lock); /* files still in use close without telling us */
    for (struct em_datafile *f = ds->closing; f; f = f->next_closing)
        f->closing_for = NULL;
    ds->closing = NULL;
    pthread_mutex_unlock(&closing_lock);
    pthread_rwlock_destroy(&ds->lock);
    pthread_cond_destroy(&ds->closed_cond);
    free(ds);
}

void em_datastore_name(struct em_datastore *ds, char *out, size_t len)
{
    pthread_rwlock_rdlock(&ds->lock);
    snprintf(out, len, "%s", ds->resource);
    pthread_rwlock_unlock(&ds->lock);
}

static enum em_code shredded_error(struct em_datastore *ds, struct em_status *st)
{
    return EM_FAIL(st, EM_NOT_FOUND, "The data of %s is gone.", ds->resource);
}

/* The slow path of em_datastore_open: opens the file under the write lock unless another
 * call did meanwhile. */
static enum em_code start_file(struct em_datastore *ds, const unsigned char dek[EM_DEK_BYTES],
                               struct em_datafile **out, struct em_status *st)
{
    pthread_rwlock_wrlock(&ds->lock);
    enum em_code code = ds->shredded ? shredded_error(ds, st) : EM_OK;
    if (!code && !ds->file && !(ds->file = take_back_closed(ds))) {
        code = file_start(ds, dek, &ds->file, st);
        if (code)
            em_error("cannot open the data of %s: %s", ds->resource, st->message);
    }
    if (!code) {
        *out = ds->file;
        file_ref(*out);
    }
    pthread_rwlock_unlock(&ds->lock);
    return code;
}

enum em_code em_datastore_open(struct em_datastore *ds, struct em_datafile **out,
                               struct em_status *st)
{
    unsigned char dek[EM_DEK_BYTES];
    *out = NULL;
    pthread_rwlock_rdlock(&ds->lock);
    enum em_code code =
        ds->shredded ? shredded_error(ds, st) : em_cmek_use(ds->cmek, ds->resource, dek, st);
    if (!code && ds->file) { /* the fast path */
        *out = ds->file;
        file_ref(*out);
    }
    pthread_rwlock_unlock(&ds->lock);
    if (!code && !*out)
        code = start_file(ds, dek, out, st);
    em_wipe(dek, sizeof(dek));
    if (!code)
        atomic_store(&ds->used_real_ns, em_clock_monotonic());
    return code;
}

enum em_code em_datastore_gate(struct em_datastore *ds, struct em_status *st)
{
    unsigned char dek[EM_DEK_BYTES];
    pthread_rwlock_rdlock(&ds->lock);
    enum em_code code =
        ds->shredded ? shredded_error(ds, st) : em_cmek_use(ds->cmek, ds->resource, dek, st);
    pthread_rwlock_unlock(&ds->lock);
    em_wipe(dek, sizeof(dek));
    return code;
}

struct em_datafile *em_datastore_peek(struct em_datastore *ds)
{
    pthread_rwlock_rdlock(&ds->lock);
    struct em_datafile *f = ds->file;
    if (f)
        file_ref(f);
    pthread_rwlock_unlock(&ds->lock);
    return f;
}

void em_datastore_close(struct em_datastore *ds)
{
    pthread_rwlock_wrlock(&ds->lock);
    struct em_datafile *f = detach_file(ds);
    pthread_rwlock_unlock(&ds->lock);
    em_datafile_put(f); /* the datastore's reference: closes now, or with its last user */
}

bool em_datastore_state_changed(struct em_datastore *ds, enum em_cmek_state to)
{
    if (to != EM_CMEK_OFFLINE && to != EM_CMEK_INACCESSIBLE)
        return false;
    em_datastore_close(ds);
    return true;
}

bool em_datastore_close_idle(struct em_datastore *ds, int64_t real_now, int64_t idle_ns)
{
    pthread_rwlock_rdlock(&ds->lock);
    bool idle = ds->file && em_datafile_users(ds->file) == 0 &&
                real_now - atomic_load(&ds->used_real_ns) > idle_ns;
    pthread_rwlock_unlock(&ds->lock);
    if (idle)
        em_datastore_close(ds);
    return idle;
}

enum em_code em_datastore_rename(struct em_datastore *ds, const char *to, struct em_status *st)
{
    if (strlen(to) >= sizeof(ds->resource))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "data store name too long");
    pthread_rwlock_wrlock(&ds->lock);
    enum em_code code = em_cmek_rename(ds->cmek, ds->resource, to, st);
    if (!code)
        snprintf(ds->resource, sizeof(ds->resource), "%s", to);
    pthread_rwlock_unlock(&ds->lock);
    return code;
}

void em_datastore_known_as(struct em_datastore *ds, const char *resource)
{
    pthread_rwlock_wrlock(&ds->lock);
    snprintf(ds->resource, sizeof(ds->resource), "%s", resource);
    pthread_rwlock_unlock(&ds->lock);
}

enum em_code em_datastore_shred(struct em_datastore *ds, bool forget_keys, struct em_status *st)
{
    pthread_rwlock_wrlock(&ds->lock);
    ds->shredded = true;
    enum em_code code = forget_keys ? em_cmek_forget(ds->cmek, ds->resource, st) : EM_OK;
    struct em_datafile *f = detach_file(ds);
    bool open = false;
    pthread_mutex_lock(&closing_lock); /* the open file and any still in use: the files go */
    for (struct em_datafile *c = ds->closing; c; c = c->next_closing) { /* with the last */
        atomic_store(&c->remove_files, true);
        open = true;
    }
    pthread_mutex_unlock(&closing_lock);
    if (!open)
        em_store_remove_files(ds->path);
    pthread_rwlock_unlock(&ds->lock);
    em_datafile_put(f);
    return code;
}

/* --- copying one datastore's data into another's file --- */

struct copy {
    const char *to_path;
    unsigned char to_dek[EM_DEK_BYTES];
};

/* On the source's writer thread, between transactions: SQLite's online backup from the
 * source's connection into a new connection to the destination file (emcrypt under the
 * destination's DEK), so each page is decrypted in memory and encrypted again on its way
 * to the destination's file or WAL; the whole file in one step. */
static enum em_code copy_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct copy *c = arg;
    struct em_store *to = NULL;
    if (em_store_open_encrypted(c->to_path, c->to_dek, &to, st))
        return st->code;
    sqlite3 *to_db = em_store_db(to, st);
    sqlite3 *from_db = to_db ? em_store_db(em_datafile_store(file), st) : NULL;
    sqlite3_backup *backup = from_db ? sqlite3_backup_init(to_db, "main", from_db, "main") : NULL;
    if (from_db && !backup)
        EM_FAIL(st, EM_INTERNAL, "cannot start copying the data: %s", sqlite3_errmsg(to_db));
    if (backup) {
        int rc = sqlite3_backup_step(backup, -1);
        sqlite3_backup_finish(backup);
        if (rc != SQLITE_DONE)
            EM_FAIL(st, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EM_UNAVAILABLE : EM_INTERNAL,
                    "copying the data failed: %s", sqlite3_errstr(rc));
    }
    em_store_close(to);
    return st->code;
}

/* The destination's DEK, under its write lock: it must not be open or shredded. */
static enum em_code copy_target(struct em_datastore *to, unsigned char dek[EM_DEK_BYTES],
                                struct em_status *st)
{
    if (to->shredded)
        return shredded_error(to, st);
    pthread_mutex_lock(&closing_lock);
    bool in_use = to->file || to->closing;
    pthread_mutex_unlock(&closing_lock);
    if (in_use)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The data of %s is open: it cannot be replaced by a copy.", to->resource);
    return em_cmek_use(to->cmek, to->resource, dek, st);
}

enum em_code em_datastore_copy(struct em_datastore *from, struct em_datastore *to,
                               struct em_status *st)
{
    struct copy c = {.to_path = to->path};
    struct em_datafile *file = NULL;
    if (from == to)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A data store cannot be copied into itself.");
    pthread_rwlock_wrlock(&to->lock);
    enum em_code code = copy_target(to, c.to_dek, st);
    if (!code)
        code = em_datastore_open(from, &file, st);
    if (!code) {
        em_store_remove_files(to->path); /* a copy replaces what was there */
        code = run_job(file, copy_job, &c, true, st);
        if (code)
            em_store_remove_files(to->path); /* no half copy is left behind */
    }
    em_datafile_put(file);
    pthread_rwlock_unlock(&to->lock);
    em_wipe(c.to_dek, sizeof(c.to_dek));
    return code;
}
