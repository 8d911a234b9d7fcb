/*
 * pubsub_log: a topic's message log: what Pub/Sub keeps in memory while a topic's data
 * store (em_datastore.h: the encrypted file, its CMEK gate and its writer thread with
 * group commit) is open: the sequence numbers and publish times it hands out.
 *
 * Sequence numbers are handed out on the writer thread (ps_log_take_seq) in commit order,
 * and publish times never go backwards, so seq order is publish-time order. A transaction
 * rolled back gives its numbers back (the next one hands them out again). After every
 * batch the highest committed number is published for the readers of other threads
 * (ps_log_committed), and when the batch published messages the topic is told
 * (events->published: pulls and push wake up).
 */
#include "pubsub_log.h"
#include "pubsub_store.h"

#include "em_datastore.h"
#include "em_store.h"

#include <stdatomic.h>
#include <stdlib.h>

struct ps_log_state {
    const struct ps_log_events *events;
    /* writer thread only */
    int64_t next_seq, last_publish_ns;
    bool published;
    int64_t saved_next_seq, saved_last_publish_ns; /* at the transaction's start */
    bool saved_published;
    /* any thread */
    _Atomic int64_t committed;
};

static struct ps_log_state *state_of(struct em_datafile *file)
{
    return em_datafile_state(file);
}

int64_t ps_log_take_seq(struct em_datafile *file, int64_t *publish_ns, int64_t now)
{
    struct ps_log_state *s = state_of(file);
    now -= now % 1000000; /* Google's publish times carry milliseconds */
    if (now < s->last_publish_ns)
        now = s->last_publish_ns;
    s->last_publish_ns = now;
    *publish_ns = now;
    s->published = true;
    return s->next_seq++;
}

int64_t ps_log_next_seq(struct em_datafile *file)
{
    return state_of(file)->next_seq;
}

int64_t ps_log_last_publish(struct em_datafile *file)
{
    return state_of(file)->last_publish_ns;
}

int64_t ps_log_committed(struct em_datafile *file)
{
    return atomic_load(&state_of(file)->committed);
}

/* --- the data store's hooks --- */

static enum em_code log_opened(struct em_store *store, void *arg, void **state,
                               struct em_status *st)
{
    struct ps_log_state *s = calloc(1, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(st);
    s->events = arg;
    if (ps_store_log_migrate(store, st) ||
        ps_store_log_next_seq(store, &s->next_seq, &s->last_publish_ns, st)) {
        free(s);
        return st->code;
    }
    atomic_init(&s->committed, s->next_seq - 1);
    *state = s;
    return EM_OK;
}

static void log_closed(void *state)
{
    free(state);
}

static void log_begin(void *state)
{
    struct ps_log_state *s = state;
    s->saved_next_seq = s->next_seq;
    s->saved_last_publish_ns = s->last_publish_ns;
    s->saved_published = s->published;
}

static void log_rolled_back(void *state)
{
    struct ps_log_state *s = state;
    s->next_seq = s->saved_next_seq;
    s->last_publish_ns = s->saved_last_publish_ns;
    s->published = s->saved_published;
}

static void log_batch_done(void *state)
{
    struct ps_log_state *s = state;
    atomic_store(&s->committed, s->next_seq - 1);
    if (s->published && s->events->published)
        s->events->published(s->events->arg);
    s->published = false;
}

const struct em_datastore_hooks ps_log_hooks = {
    .opened = log_opened,
    .closed = log_closed,
    .begin = log_begin,
    .rolled_back = log_rolled_back,
    .batch_done = log_batch_done,
};
