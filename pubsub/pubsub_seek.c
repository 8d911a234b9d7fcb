/*
 * pubsub_seek: seek and snapshot creation.
 *
 *   seek to a time      messages published before it acknowledged, after it
 *                       unacknowledged (acknowledged ones too when acked messages are
 *                       retained); never before the subscription's creation unless the
 *                       topic retains messages
 *   seek to a snapshot  its acknowledgement state restored
 *   snapshot creation   the floor and acknowledged marks of the subscription, copied
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

struct seek_job {
    uint32_t owner;
    int64_t time_ns;   /* seek to time: the first message at or after it */
    uint32_t snapshot; /* seek to snapshot: its state */
    int64_t floor;
    struct ps_mark *marks;
    size_t count;
};

static enum em_code job_seek_read(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct seek_job *j = arg;
    free(j->marks);
    j->marks = NULL;
    j->count = 0;
    if (j->snapshot) {
        int64_t floor;
        return ps_store_read_state(em_datafile_store(log), j->snapshot, &floor, &j->marks,
                                   &j->count, st);
    }
    return ps_store_first_at(em_datafile_store(log), j->time_ns, ps_log_next_seq(log), &j->floor,
                             st);
}

static enum em_code job_replace(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct seek_job *j = arg;
    return ps_store_replace_state(em_datafile_store(log), j->owner, j->floor, j->marks, j->count,
                                  st);
}

/* The acknowledged marks of a backlog from `from` on. */
static enum em_code acked_marks(const struct ps_backlog *b, int64_t from, struct ps_mark **out,
                                size_t *count, struct em_status *st)
{
    int64_t *seqs;
    size_t n;
    if (ps_backlog_acked(b, from, &seqs, &n, st))
        return st->code;
    *out = calloc(n ? n : 1, sizeof(**out));
    if (!*out) {
        free(seqs);
        return EM_FAIL_OOM(st);
    }
    for (size_t i = 0; i < n; i++)
        (*out)[i] = (struct ps_mark){seqs[i], 0, true};
    *count = n;
    free(seqs);
    return EM_OK;
}

static enum em_code seek_locked(struct ps_sub *sub, struct ps_topic *topic, struct em_datafile *log,
                                const struct ps_snapshot *snap, int64_t time_ns,
                                struct em_status *st)
{
    /* Without topic retention a subscription holds only what was published after it was
     * created: a seek to an earlier time goes back no further (Google; with topic retention
     * it may reach any message the topic retains). */
    int64_t created = sub->create_ns - sub->create_ns % 1000000; /* publish times carry ms */
    if (!snap && !topic->cfg.retention_ns && time_ns < created)
        time_ns = created;
    struct seek_job job = {.owner = sub->id, .time_ns = time_ns, .snapshot = snap ? snap->id : 0};
    if (em_datafile_run(log, job_seek_read, &job, st))
        return st->code;
    struct ps_backlog *b = &sub->backlog;
    enum em_code code = EM_OK;
    if (snap) {
        job.floor = snap->floor;
    } else if (!sub->cfg.retain_acked && !topic->cfg.retention_ns) {
        /* acked messages were not retained: they stay acknowledged */
        if (job.floor < b->floor)
            job.floor = b->floor;
        code = acked_marks(b, job.floor, &job.marks, &job.count, st);
    }
    if (!code)
        code = em_datafile_run(log, job_replace, &job, st);
    if (!code)
        code = ps_backlog_reset(b, job.floor, job.marks, job.count, st);
    if (!code)
        b->floor_dirty = false;
    free(job.marks);
    return code;
}

/* A snapshot serves the subscriptions of its topic only; a deleted topic's snapshots serve
 * none (Google: a topic deleted and re-created with the same name is another topic). */
static enum em_code check_snapshot_topic(const struct ps_sub *sub, const struct ps_snapshot *snap,
                                         struct em_status *st)
{
    if (strcmp(snap->topic, PS_DELETED_TOPIC) == 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The topic of snapshot %s was deleted: the snapshot can no longer be used "
                       "to seek. Note that if a topic is deleted and then re-created with the "
                       "same name, it is considered a distinct topic for these purposes.",
                       snap->name);
    if (strcmp(snap->topic, sub->cfg.topic) != 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The snapshot %s was made for topic %s; subscription %s receives from "
                       "topic %s.",
                       snap->name, snap->topic, sub->name, sub->cfg.topic);
    return EM_OK;
}

enum em_code ps_seek(struct ps_registry *reg, const char *name, const char *snapshot,
                     int64_t time_ns, int64_t now, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_snapshot *snap = snapshot ? ps_snapshot_get(reg, snapshot) : NULL;
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code = EM_OK;
    if (snapshot && (!snap || snap->expire_ns <= now)) {
        code = PS_ERR_SNAPSHOT_NOT_FOUND(st);
        goto out;
    }
    if (snap && (code = check_snapshot_topic(sub, snap, st)) != EM_OK)
        goto out;
    if ((code = ps_sub_lock_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    if (sub->detached)
        code = ps_sub_detached_error(sub, st);
    else if (!topic)
        code = EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The messages of the deleted topic of subscription %s are gone: there is "
                       "nothing to seek.",
                       sub->name);
    else
        code = seek_locked(sub, topic, log, snap, time_ns, st);
    sub->last_active_ns = now;
    ps_sub_unlock_data(sub, topic, log);
    if (!code) {
        ps_topic_notify(topic);
        if (sub->cfg.push.endpoint)
            ps_registry_kick_deliveries(reg);
    }
out:
    ps_snapshot_put(snap);
    ps_sub_put(sub);
    return code;
}

struct first_job {
    int64_t from;
    int64_t publish_ns; /* 0: none */
};

static enum em_code job_first_publish(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct first_job *j = arg;
    struct ps_message *m;
    size_t n;
    if (ps_store_read_from(em_datafile_store(log), j->from, 1, &m, &n, st))
        return st->code;
    j->publish_ns = n ? m[0].publish_ns : 0;
    ps_messages_free(m, n);
    return EM_OK;
}

enum em_code ps_snapshot_create(struct ps_registry *reg, const char *name, const char *sub_name,
                                const char *labels_json, int64_t now, struct ps_snapshot **out,
                                struct em_status *st)
{
    struct ps_snapshot *existing = ps_snapshot_get(reg, name);
    if (existing) {
        ps_snapshot_put(existing);
        return PS_ERR_SNAPSHOT_EXISTS(st);
    }
    struct ps_sub *sub = ps_sub_get(reg, sub_name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    struct ps_snapshot *snap = NULL;
    struct seek_job job = {0};
    enum em_code code = ps_sub_lock_data(sub, &topic, &log, st);
    if (code)
        goto out;
    if (sub->detached || !topic || topic->deleted) {
        code = sub->detached ? ps_sub_detached_error(sub, st)
                             : EM_FAIL(st, EM_FAILED_PRECONDITION,
                                       "The topic of subscription %s was deleted: a snapshot "
                                       "of it could serve no subscription.",
                                       sub->name);
        goto unlock;
    }
    struct ps_backlog *b = &sub->backlog;
    int64_t oldest = ps_backlog_oldest_unacked(b);
    if (!oldest) {
        struct first_job first = {b->cursor, 0};
        if ((code = em_datafile_run(log, job_first_publish, &first, st)) != EM_OK)
            goto unlock;
        oldest = first.publish_ns;
    }
    /* Google: the snapshot lives 7 days from its oldest unacknowledged message */
    int64_t expire = (oldest ? oldest : now) + PS_SNAPSHOT_LIFETIME_NS;
    if (expire - now < 60 * PS_MINUTE_NS) {
        code = EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The snapshot would expire in less than 1 hour: the oldest unacknowledged "
                       "message of %s is almost 7 days old.",
                       sub->name);
        goto unlock;
    }
    snap = calloc(1, sizeof(*snap));
    if (!snap || !(snap->name = strdup(name)) || !(snap->topic = strdup(sub->cfg.topic)) ||
        !(snap->labels_json = strdup(labels_json ? labels_json : "{}"))) {
        code = EM_FAIL_OOM(st);
        goto unlock;
    }
    snap->id = ps_registry_new_id(reg);
    snap->floor = b->floor;
    snap->expire_ns = expire - expire % 1000000; /* milliseconds, as Google shows them */
    snap->create_ns = now;
    job.owner = snap->id;
    job.floor = b->floor;
    if ((code = acked_marks(b, b->floor, &job.marks, &job.count, st)) == EM_OK)
        code = em_datafile_run(log, job_replace, &job, st);
unlock:
    sub->last_active_ns = now;
    ps_sub_unlock_data(sub, topic, log);
    /* registered without the subscription's lock: the registry lock is never taken under it */
    if (!code)
        code = ps_snapshot_save(reg, snap, st);
    if (!code) {
        code = ps_snapshot_insert(reg, snap, st);
        snap = NULL; /* the registry's now (or freed) */
        if (code) {
            struct em_status ignored = {0};
            ps_store_delete_snapshot(reg->meta, name, &ignored);
        } else if (!(*out = ps_snapshot_get(reg, name))) {
            code = PS_ERR_SNAPSHOT_NOT_FOUND(st); /* deleted meanwhile */
        }
    }
out:
    free(job.marks);
    ps_snapshot_free(snap);
    ps_sub_put(sub);
    return code;
}
