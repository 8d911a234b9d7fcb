/*
 * pubsub_timers: the timers (ps_tick, on every tick of the emulator clock): subscription
 * expiry, snapshot expiry, lease expiry and dead-lettering, floors stored, messages no
 * subscription or snapshot needs deleted (respecting retention), idle data stores closed.
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

struct refs {
    struct ps_sub **subs;
    size_t sub_count;
    struct ps_topic **topics;
    size_t topic_count;
    char **expired_snapshots;
    size_t expired_count;
    int64_t now;
};

static void collect_sub(struct ps_sub *sub, void *arg)
{
    struct refs *r = arg;
    atomic_fetch_add(&sub->refs, 1);
    r->subs[r->sub_count++] = sub;
}

static void collect_expired(const struct ps_snapshot *snap, void *arg)
{
    struct refs *r = arg;
    if (snap->expire_ns <= r->now && r->expired_count < 1024)
        r->expired_snapshots[r->expired_count++] = strdup(snap->name);
}

/* Lease expiry and dead-lettering of one subscription. */
static void tick_sub(struct ps_registry *reg, struct ps_sub *sub, int64_t now)
{
    ps_sub_check_dead_letter(reg, sub, now);
    if (!sub->detached && sub->cfg.ttl_ns > 0 && now - sub->last_active_ns >= sub->cfg.ttl_ns &&
        !sub->cfg.push.endpoint) {
        struct em_status st = {0};
        /* its IAM policy goes with it, as with a delete: a new subscription of the same
         * name must not inherit its grants */
        if (!ps_sub_expire(reg, sub, &st))
            em_iam_delete_under(reg->meta, sub->name, &st);
        return;
    }
    struct ps_delivery_policy p;
    ps_sub_policy(sub, &p);
    pthread_mutex_lock(&sub->lock);
    bool dead = false;
    if (sub->loaded && !sub->detached) {
        ps_backlog_expire(&sub->backlog, &p, now);
        for (size_t i = 0; i < sub->backlog.len && !dead; i++)
            dead = ps_entry_dead(ps_backlog_at(&sub->backlog, i), &p);
    }
    bool save_active =
        sub->last_active_ns != sub->saved_active_ns && now - sub->saved_active_ns >= PS_MINUTE_NS;
    if (save_active) {
        struct em_status st = {0};
        sub->saved_active_ns = sub->last_active_ns;
        ps_sub_save(reg, sub, &st); /* under the lock: its topic may be deleted */
    }
    pthread_mutex_unlock(&sub->lock);
    if (!dead)
        return;
    struct ps_topic *topic, *dlt = ps_dead_letter_topic(reg, sub);
    struct em_datafile *log;
    struct em_status st = {0};
    if (!ps_sub_lock_data(sub, &topic, &log, &st)) {
        if (topic && !sub->detached)
            ps_forward_dead(sub, dlt, log, &p, now);
        ps_sub_unlock_data(sub, topic, log);
    } /* else the key is not usable: dead-lettering waits */
    ps_topic_put(dlt);
}

struct gc_job {
    int64_t below_seq, before_ns;
};

static enum em_code job_gc(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct gc_job *j = arg;
    bool any;
    if (ps_store_any_message(em_datafile_store(log), j->below_seq, j->before_ns, &any, st) || !any)
        return st->code;
    /* the newest message may go: keep its number and time for the ids to come */
    if (ps_store_log_set_next_seq(em_datafile_store(log), ps_log_next_seq(log),
                                  ps_log_last_publish(log), st))
        return st->code;
    return ps_store_delete_messages(em_datafile_store(log), j->below_seq, j->before_ns, st);
}

struct snap_floor {
    const char *topic;
    int64_t floor;
};

static void min_snapshot_floor(const struct ps_snapshot *snap, void *arg)
{
    struct snap_floor *f = arg;
    if (strcmp(snap->topic, f->topic) == 0 && snap->floor < f->floor)
        f->floor = snap->floor;
}

/* Loads the topic's subscriptions, stores moved floors and deletes the messages no
 * subscription or snapshot needs any more (only while the topic's log is open). A
 * retained deleted topic keeps only what its subscriptions need: its snapshots hold
 * nothing. */
static void tick_topic(struct ps_registry *reg, struct ps_topic *topic, struct refs *all,
                       int64_t now)
{
    struct em_datafile *log = ps_topic_peek_log(topic);
    if (!log)
        return;
    struct em_status st = {0};
    if (ps_topic_gate(topic, &st)) {
        ps_topic_close_data(topic, log);
        return;
    }
    int64_t floor = INT64_MAX, keep = topic->cfg.retention_ns;
    bool all_loaded = true;
    for (size_t i = 0; i < all->sub_count; i++) {
        struct ps_sub *s = all->subs[i];
        if (s->topic != topic || s->deleted)
            continue;
        pthread_mutex_lock(&s->lock);
        if (!s->loaded && ps_sub_load(s, log, &st))
            all_loaded = false;
        if (s->loaded && !s->detached) {
            ps_save_backlog(s, log, NULL, 0, &st);
            if (s->backlog.floor < floor)
                floor = s->backlog.floor;
            if (s->cfg.retain_acked && s->cfg.retention_ns > keep)
                keep = s->cfg.retention_ns;
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (!topic->deleted) {
        struct snap_floor snaps = {topic->name, floor};
        ps_each_snapshot(reg, NULL, topic->name, min_snapshot_floor, &snaps);
        floor = snaps.floor;
    }
    if (all_loaded) {
        struct gc_job job = {floor, keep ? now - keep : INT64_MAX};
        if (em_datafile_run(log, job_gc, &job, &st))
            em_warn("pubsub: cleaning up %s: %s", topic->name, st.message);
    }
    ps_topic_close_data(topic, log);
}

enum em_code ps_tick(struct ps_registry *reg, int64_t now, struct em_status *st)
{
    (void)st;
    struct refs r = {.now = now};
    pthread_rwlock_rdlock(&reg->lock);
    size_t nsubs = reg->subs.count;
    pthread_rwlock_unlock(&reg->lock);
    /* sizes may grow meanwhile: leave room, and the collectors stop at the bound */
    r.subs = calloc(nsubs + 64, sizeof(*r.subs));
    r.topics = ps_registry_data_topics(reg, &r.topic_count);
    r.expired_snapshots = calloc(1024, sizeof(char *));
    if (!r.subs || !r.topics || !r.expired_snapshots)
        goto out;
    ps_each_snapshot(reg, NULL, NULL, collect_expired, &r);
    for (size_t i = 0; i < r.expired_count; i++) {
        struct em_status ignored = {0};
        if (r.expired_snapshots[i] && !ps_snapshot_delete(reg, r.expired_snapshots[i], &ignored))
            em_iam_delete_under(reg->meta, r.expired_snapshots[i], &ignored); /* as above */
    }
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = 0; i < reg->subs.count && r.sub_count < nsubs + 64; i++)
        collect_sub(reg->subs.items[i], &r);
    pthread_rwlock_unlock(&reg->lock);
    for (size_t i = 0; i < r.sub_count; i++)
        tick_sub(reg, r.subs[i], now);
    for (size_t i = 0; i < r.topic_count; i++) {
        tick_topic(reg, r.topics[i], &r, now);
        ps_topic_notify(r.topics[i]); /* leases may have expired: waiting pulls look again */
    }
    ps_registry_kick_deliveries(reg);
    ps_registry_idle_logs(reg);
out:
    for (size_t i = 0; i < r.sub_count; i++)
        ps_sub_put(r.subs[i]);
    for (size_t i = 0; i < r.topic_count; i++)
        ps_topic_put(r.topics[i]);
    for (size_t i = 0; i < r.expired_count; i++)
        free(r.expired_snapshots[i]);
    free(r.subs);
    free(r.topics);
    free(r.expired_snapshots);
    return EM_OK;
}
