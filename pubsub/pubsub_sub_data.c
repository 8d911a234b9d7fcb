/*
 * pubsub_sub_data: a subscription's rows in its topic's store, as jobs on the topic's
 * data store: loading its backlog (floor and marks), reading messages by sequence number
 * or from the cursor, storing marks and the floor; and taking a subscription's data for a
 * call: its topic's store through the CMEK gate, then its lock with the backlog loaded.
 */
#include "pubsub_errors.h"
#include "pubsub_flow_parts.h"

#include "em_audit.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_log.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state_job {
    uint32_t owner;
    int64_t create_ns; /* subscriptions: where a fresh backlog starts */
    int64_t floor;
    struct ps_mark *marks;
    size_t count;
};

static enum em_code job_load(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct state_job *j = arg;
    struct em_store *store = em_datafile_store(log);
    free(j->marks);
    j->marks = NULL;
    if (ps_store_read_state(store, j->owner, &j->floor, &j->marks, &j->count, st))
        return st->code;
    if (j->floor >= 0)
        return EM_OK;
    /* first load: the backlog starts with the first message published after creation.
     * Publish times carry milliseconds: one published in the millisecond the subscription
     * was created counts as after it. */
    int64_t created_ms = j->create_ns - j->create_ns % 1000000;
    int64_t next_seq = ps_log_next_seq(log);
    if (ps_store_first_at(store, created_ms, next_seq, &j->floor, st))
        return st->code;
    return ps_store_set_floor(store, j->owner, j->floor, st);
}

enum em_code ps_sub_load(struct ps_sub *sub, struct em_datafile *log, struct em_status *st)
{
    if (sub->loaded)
        return EM_OK;
    struct state_job job = {.owner = sub->id, .create_ns = sub->create_ns};
    enum em_code code = em_datafile_run(log, job_load, &job, st);
    if (!code) {
        ps_backlog_free(&sub->backlog);
        ps_backlog_init(&sub->backlog, job.floor);
        code = ps_backlog_reset(&sub->backlog, job.floor, job.marks, job.count, st);
        sub->backlog.floor_dirty = false;
        sub->loaded = code == EM_OK;
    }
    free(job.marks);
    return code;
}

enum em_code ps_job_read(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct read_job *j = arg;
    for (size_t i = 0; i < j->count; i++) {
        ps_message_clear(&j->out[i]);
        struct em_status missing = {0};
        enum em_code code =
            ps_store_read_one(em_datafile_store(log), j->seqs[i], &j->out[i], &missing);
        if (code && code != EM_NOT_FOUND) {
            *st = missing;
            return code;
        }
    }
    return EM_OK;
}

enum em_code ps_job_scan(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct scan_job *j = arg;
    ps_messages_free(j->msgs, j->count);
    j->msgs = NULL;
    j->count = 0;
    return ps_store_read_from(em_datafile_store(log), j->from, j->limit, &j->msgs, &j->count, st);
}

/* Stores marks and, when it moved, the floor of a subscription. */
struct save_job {
    uint32_t owner;
    const struct ps_mark *marks;
    size_t count;
    bool set_floor;
    int64_t floor;
};

static enum em_code job_save(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct save_job *j = arg;
    struct em_store *store = em_datafile_store(log);
    for (size_t i = 0; i < j->count; i++)
        if (j->marks[i].seq >= j->floor && ps_store_set_mark(store, j->owner, &j->marks[i], st))
            return st->code;
    if (j->set_floor && ps_store_set_floor(store, j->owner, j->floor, st))
        return st->code;
    return EM_OK;
}

/* Stores the subscription's floor (and marks) if it moved (sub->lock held). */
enum em_code ps_save_backlog(struct ps_sub *sub, struct em_datafile *log,
                             const struct ps_mark *marks, size_t count, struct em_status *st)
{
    struct ps_backlog *b = &sub->backlog;
    if (!count && !b->floor_dirty)
        return EM_OK;
    struct save_job job = {sub->id, marks, count, b->floor_dirty, b->floor};
    if (em_datafile_run(log, job_save, &job, st))
        return st->code;
    b->floor_dirty = false;
    return EM_OK;
}

/* Opens the subscription's topic data and loads its backlog, with sub->lock held on
 * success. The topic may be a retained deleted topic; *topic is NULL (and OK) for a
 * subscription that reads nothing (its deleted topic's data is gone). */
enum em_code ps_sub_lock_data(struct ps_sub *sub, struct ps_topic **topic, struct em_datafile **log,
                              struct em_status *st)
{
    *log = NULL;
    *topic = ps_sub_topic(sub);
    if (!*topic) {
        pthread_mutex_lock(&sub->lock);
        return EM_OK;
    }
    if (ps_topic_open_backlog(*topic, log, st)) {
        ps_topic_put(*topic);
        *topic = NULL;
        return st->code;
    }
    pthread_mutex_lock(&sub->lock);
    if (ps_sub_load(sub, *log, st)) {
        pthread_mutex_unlock(&sub->lock);
        ps_topic_close_data(*topic, *log);
        ps_topic_put(*topic);
        *topic = NULL;
        return st->code;
    }
    return EM_OK;
}

void ps_sub_unlock_data(struct ps_sub *sub, struct ps_topic *topic, struct em_datafile *log)
{
    pthread_mutex_unlock(&sub->lock);
    if (topic) {
        if (log)
            ps_topic_close_data(topic, log);
        ps_topic_put(topic);
    }
}

enum em_code ps_sub_detached_error(const struct ps_sub *sub, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The subscription %s is detached from its topic: it receives no messages.",
                   sub->name);
}
