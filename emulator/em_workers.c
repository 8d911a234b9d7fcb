/*
 * em_workers: the growing pool of threads for blocking work (see em_workers.h).
 *
 *   submit: queue the job; no idle thread for it -> start one (below max_threads)
 *   thread: take a job, run it; nothing to do for IDLE_SECONDS -> exit
 *
 * Threads are joined, not detached: after a thread's last job it still runs its
 * thread-specific destructors (em_store closes the thread's SQLite connection there), so
 * em_workers_free joins every thread before it returns, and the store the jobs used may be
 * closed right after. Threads that exit while the pool lives are joined by the next submit
 * (without waiting for one still finishing its destructors).
 */
#include "em_workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define IDLE_SECONDS 30

struct worker {
    pthread_t thread;
    struct em_workers *pool;
    struct worker *next; /* in pool->finished */
};

struct job {
    em_work_fn fn;
    void *arg;
    struct job *next;
};

struct em_workers {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a job was queued, or the pool is stopping */
    pthread_cond_t exited; /* a thread exited */
    struct job *head, *tail;
    struct worker *finished; /* threads past their last job, to join */
    int queued, idle, threads, max_threads;
    bool stopping;
};

static struct job *take_job(struct em_workers *w)
{
    struct job *j = w->head;
    w->head = j->next;
    if (!w->head)
        w->tail = NULL;
    w->queued--;
    return j;
}

/* Waits for a job; NULL when the thread should exit (idle too long, or stopping). */
static struct job *next_job(struct worker *self)
{
    struct em_workers *w = self->pool;
    pthread_mutex_lock(&w->lock);
    while (!w->head && !w->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IDLE_SECONDS;
        w->idle++;
        int rc = pthread_cond_timedwait(&w->work, &w->lock, &until);
        w->idle--;
        if (rc == ETIMEDOUT && !w->head)
            break;
    }
    struct job *j = w->head ? take_job(w) : NULL;
    if (!j) {
        self->next = w->finished;
        w->finished = self;
        w->threads--;
        pthread_cond_broadcast(&w->exited);
    }
    pthread_mutex_unlock(&w->lock);
    return j;
}

static void *worker_thread(void *arg)
{
    struct worker *self = arg;
    pthread_setname_np(pthread_self(), "em-worker");
    struct job *j;
    while ((j = next_job(self)) != NULL) {
        j->fn(j->arg);
        free(j);
    }
    return NULL;
}

/* With w->lock held: a thread for a job nobody idle will take. */
static void start_thread_locked(struct em_workers *w)
{
    /* the thread cannot list itself as finished before pthread_create has stored its id:
     * it needs w->lock, which the caller holds */
    struct worker *self = calloc(1, sizeof(*self));
    if (self) {
        self->pool = w;
        if (pthread_create(&self->thread, NULL, worker_thread, self) == 0)
            w->threads++;
        else
            free(self);
    }
    /* if no thread could start, the running ones take the job when they are free */
}

/* Joins the threads that finished (wait: all of them; else only those already gone). */
static void join_finished(struct em_workers *w, bool wait)
{
    pthread_mutex_lock(&w->lock);
    struct worker *list = w->finished, *keep = NULL;
    w->finished = NULL;
    pthread_mutex_unlock(&w->lock);
    while (list) {
        struct worker *next = list->next;
        if ((wait ? pthread_join(list->thread, NULL) : pthread_tryjoin_np(list->thread, NULL)) ==
            0) {
            free(list);
        } else {
            list->next = keep;
            keep = list;
        }
        list = next;
    }
    if (!keep)
        return;
    pthread_mutex_lock(&w->lock);
    while (keep) {
        struct worker *next = keep->next;
        keep->next = w->finished;
        w->finished = keep;
        keep = next;
    }
    pthread_mutex_unlock(&w->lock);
}

enum em_code em_workers_new(int max_threads, struct em_workers **out, struct em_status *st)
{
    struct em_workers *w = calloc(1, sizeof(*w));
    if (!w)
        return EM_FAIL_OOM(st);
    w->max_threads = max_threads > 0 ? max_threads : 1;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->exited, NULL);
    *out = w;
    return EM_OK;
}

enum em_code em_workers_submit(struct em_workers *w, em_work_fn fn, void *arg, struct em_status *st)
{
    join_finished(w, false);
    struct job *j = malloc(sizeof(*j));
    if (!j)
        return EM_FAIL_OOM(st);
    *j = (struct job){fn, arg, NULL};
    pthread_mutex_lock(&w->lock);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    if (w->queued > w->idle && w->threads < w->max_threads)
        start_thread_locked(w);
    else
        pthread_cond_signal(&w->work);
    /* no thread at all (none could start): run it here rather than never; every earlier
     * job was run the same way, so the queue holds only this one */
    bool run_here = w->threads == 0;
    if (run_here)
        take_job(w);
    pthread_mutex_unlock(&w->lock);
    if (run_here) {
        fn(arg);
        free(j);
    }
    return EM_OK;
}

void em_workers_free(struct em_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->work);
    while (w->threads > 0)
        pthread_cond_wait(&w->exited, &w->lock);
    pthread_mutex_unlock(&w->lock);
    join_finished(w, true);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->exited);
    free(w);
}
