/*
 * spanner_stream: the queue between a streaming statement's job and its caller (see
 * spanner_stream.h). One mutex and one condition variable: the job pushes and signals,
 * the caller waits, pops and sends with the lock released.
 */
#include "spanner_stream.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct chunk {
    struct sp_row_chunk rows;
    size_t bytes;
    struct chunk *next;
};

struct sp_stream {
    const struct sp_row_sink *sink;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct chunk *head, *tail;
    size_t backlog; /* bytes of the chunks queued */
    bool done;      /* the job ended */
    bool stop;      /* the caller stopped reading */
};

struct sp_stream *sp_stream_new(const struct sp_row_sink *sink)
{
    struct sp_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->sink = sink;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    return s;
}

static void row_chunk_clear(struct sp_row_chunk *c)
{
    cJSON_Delete(c->fields);
    cJSON_Delete(c->undeclared);
    cJSON_Delete(c->values);
    *c = (struct sp_row_chunk){0};
}

static void chunk_free(struct chunk *c)
{
    row_chunk_clear(&c->rows);
    free(c);
}

void sp_stream_free(struct sp_stream *s)
{
    if (!s)
        return;
    while (s->head) {
        struct chunk *next = s->head->next;
        chunk_free(s->head);
        s->head = next;
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Appends c to the queue and wakes the caller (lock held). */
static void enqueue(struct sp_stream *s, struct chunk *c)
{
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
    s->backlog += c->bytes;
    pthread_cond_signal(&s->cond);
}

enum em_code sp_stream_push(struct sp_stream *s, struct sp_row_chunk *rows, size_t bytes,
                            struct em_status *st)
{
    struct chunk *c = calloc(1, sizeof(*c));
    if (!c) {
        row_chunk_clear(rows);
        return EM_FAIL_OOM(st);
    }
    *c = (struct chunk){*rows, bytes, NULL};
    *rows = (struct sp_row_chunk){0};
    pthread_mutex_lock(&s->lock);
    enum em_code code = s->stop                              ? EM_CANCELLED
                        : s->backlog > SP_STREAM_BACKLOG_MAX ? EM_RESOURCE_EXHAUSTED
                                                             : EM_OK;
    if (!code)
        enqueue(s, c);
    pthread_mutex_unlock(&s->lock);
    if (!code)
        return EM_OK;
    chunk_free(c);
    if (code == EM_CANCELLED)
        return EM_FAIL(st, EM_CANCELLED, "The client stopped reading the result.");
    return EM_FAIL(st, EM_RESOURCE_EXHAUSTED,
                   "The client reads the result slower than the emulator produces it: more "
                   "than %ld MiB wait to be sent.",
                   SP_STREAM_BACKLOG_MAX / (1024 * 1024));
}

static void job_done(void *arg)
{
    struct sp_stream *s = arg;
    pthread_mutex_lock(&s->lock);
    s->done = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* The next chunk, waiting for it; NULL once the job ended and the queue is empty. */
static struct chunk *next_chunk(struct sp_stream *s)
{
    pthread_mutex_lock(&s->lock);
    while (!s->head && !s->done)
        pthread_cond_wait(&s->cond, &s->lock);
    struct chunk *c = s->head;
    if (c) {
        s->head = c->next;
        if (!s->head)
            s->tail = NULL;
        s->backlog -= c->bytes;
    }
    pthread_mutex_unlock(&s->lock);
    return c;
}

enum em_code sp_stream_run(struct sp_stream *s, struct sp_db *db, sp_job_fn fn, void *arg,
                           enum em_code *sink_code, struct em_status *st)
{
    *sink_code = EM_OK;
    struct sp_db_job *job = sp_db_job_new(db, fn, arg);
    if (!job)
        return EM_FAIL_OOM(st);
    sp_db_job_submit(job, job_done, s);
    struct chunk *c;
    while ((c = next_chunk(s)) != NULL) {
        if (!*sink_code)
            *sink_code = s->sink->chunk(s->sink->arg, &c->rows); /* takes what it holds */
        if (*sink_code) {
            pthread_mutex_lock(&s->lock);
            s->stop = true;
            pthread_mutex_unlock(&s->lock);
        }
        chunk_free(c);
    }
    return sp_db_job_end(job, st);
}
