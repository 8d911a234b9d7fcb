/*
 * pubsub_flow: the data calls of Pub/Sub and its timers, tying the registry, the topic
 * logs and the subscription backlogs together.
 *
 * Every data call goes through its topic's CMEK gate (ps_topic_open_data or, for the calls
 * of subscriptions, ps_topic_open_backlog -> em_cmek_use): publish, pull, acknowledge,
 * modifyAckDeadline, seek, snapshot creation,
 * push delivery and dead-lettering all fail with the engine's UNAVAILABLE or the topic's
 * FAILED_PRECONDITION while the key is not usable, and the messages stay where they are.
 *
 *   publish            one log job: sequence numbers, publish times, rows (group commit)
 *   pull / push take   under the subscription's lock: expire leases, forward dead
 *                      messages, select redeliveries, read new messages from the cursor
 *                      (filter, ordering), hand them out with ack IDs; a pull with nothing
 *                      to return waits (without the log) for a commit or a timer, at most
 *                      the registry's bound (3 s of real time)
 *   acknowledge        marks + floor stored before the reply: never redelivered after a
 *                      restart
 *   modifyAckDeadline  in memory (leases do not survive a restart: at-least-once)
 *   seek               time: messages published before it acknowledged, after it
 *                      unacknowledged (acknowledged ones too when acked messages are
 *                      retained); snapshot: its acknowledgement state restored
 *   snapshots          the floor and acknowledged marks of the subscription, copied
 *
 * Timers (ps_tick, on every tick of the emulator clock): subscription expiry, snapshot
 * expiry, lease expiry and dead-lettering, floors stored, messages no subscription or
 * snapshot needs deleted (respecting retention), idle logs closed.
 */
#include "pubsub.h"
#include "pubsub_errors.h"

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
#include <time.h>

#define SCAN_BATCH 256   /* messages read from the log per job while pulling */
#define SCAN_LIMIT 10000 /* messages passed over per pull (filters, ordering) */
#define DEAD_BATCH 100   /* messages dead-lettered per round */

/* --- publish --- */

struct publish_job {
    struct ps_message *msgs;
    size_t count;
};

static enum em_code job_publish(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct publish_job *j = arg;
    struct em_store *store = em_datafile_store(log);
    int64_t now = em_clock_now();
    for (size_t i = 0; i < j->count; i++) {
        struct ps_message *m = &j->msgs[i];
        m->seq = ps_log_take_seq(log, &m->publish_ns, now);
        if (ps_store_insert_message(store, m, st))
            return st->code;
    }
    return EM_OK;
}

/* A publish in flight: the topic and its log stay referenced until it ends. */
struct ps_publish {
    struct ps_topic *topic;
    struct ps_topic *held; /* the reference ps_publish_start took (put at the end) */
    struct em_datafile *log;
    struct publish_job job;
    struct em_datafile_result result;
};

/* Queues msgs on the log of topic, which the caller keeps referenced until the end. */
static enum em_code start_on(struct ps_topic *topic, struct ps_message *msgs, size_t count,
                             void (*done)(void *done_arg), void *done_arg, struct ps_publish **out,
                             struct em_status *st)
{
    struct ps_publish *op = calloc(1, sizeof(*op));
    if (!op)
        return EM_FAIL_OOM(st);
    op->topic = topic;
    op->job = (struct publish_job){msgs, count};
    enum em_code code = ps_topic_open_data(topic, &op->log, st);
    if (!code)
        code = em_datafile_submit(op->log, job_publish, &op->job, &op->result, done, done_arg, st);
    if (code) {
        if (op->log)
            ps_topic_close_data(topic, op->log);
        free(op);
        return code;
    }
    *out = op;
    return EM_OK;
}

enum em_code ps_publish_start(struct ps_registry *reg, const char *topic_name,
                              struct ps_message *msgs, size_t count, void (*done)(void *done_arg),
                              void *done_arg, struct ps_publish **out, struct em_status *st)
{
    struct ps_topic *topic = ps_topic_get(reg, topic_name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(st);
    enum em_code code = start_on(topic, msgs, count, done, done_arg, out, st);
    if (code)
        ps_topic_put(topic);
    else
        (*out)->held = topic;
    return code;
}

enum em_code ps_publish_end(struct ps_publish *op, struct em_status *st)
{
    enum em_code code = op->result.code;
    if (code)
        *st = op->result.st;
    ps_topic_close_data(op->topic, op->log);
    ps_topic_put(op->held);
    free(op);
    return code;
}

/* Publishes to a topic the caller holds and waits until the messages are stored. */
static enum em_code publish_to(struct ps_topic *topic, struct ps_message *msgs, size_t count,
                               struct em_status *st)
{
    struct em_datafile *log;
    if (ps_topic_open_data(topic, &log, st))
        return st->code;
    struct publish_job job = {msgs, count};
    enum em_code code = em_datafile_run(log, job_publish, &job, st);
    ps_topic_close_data(topic, log);
    return code;
}

enum em_code ps_publish(struct ps_registry *reg, const char *topic_name, struct ps_message *msgs,
                        size_t count, struct em_status *st)
{
    struct ps_topic *topic = ps_topic_get(reg, topic_name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(st);
    enum em_code code = publish_to(topic, msgs, count, st);
    ps_topic_put(topic);
    return code;
}

/* --- store jobs --- */

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
    /* first load: the backlog starts with the first message published after creation */
    int64_t next_seq = ps_log_next_seq(log);
    if (ps_store_first_at(store, j->create_ns, next_seq, &j->floor, st))
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

struct forget_job {
    uint32_t owners[2];
};

static enum em_code job_forget(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct forget_job *j = arg;
    for (int i = 0; i < 2; i++)
        if (j->owners[i] && ps_store_forget_owner(em_datafile_store(log), j->owners[i], st))
            return st->code;
    return EM_OK;
}

enum em_code ps_forget_rows(struct em_datafile *log, uint32_t sub_id, uint32_t snapshot_id,
                            struct em_status *st)
{
    struct forget_job job = {{sub_id, snapshot_id}};
    return em_datafile_run(log, job_forget, &job, st);
}

/* Reads messages by sequence number; missing ones (deleted) are left zeroed (seq 0). */
struct read_job {
    const int64_t *seqs;
    size_t count;
    struct ps_message *out;
};

static enum em_code job_read(struct em_datafile *log, void *arg, struct em_status *st)
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

struct scan_job {
    int64_t from;
    size_t limit;
    struct ps_message *msgs;
    size_t count;
};

static enum em_code job_scan(struct em_datafile *log, void *arg, struct em_status *st)
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
static enum em_code save_backlog(struct ps_sub *sub, struct em_datafile *log,
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

/* --- dead-lettering --- */

/* The dead-letter topic of a subscription, with a reference, or NULL. Resolved before
 * the subscription's lock is taken: the registry lock is never taken under it. */
static struct ps_topic *dead_letter_topic(struct ps_registry *reg, struct ps_sub *sub)
{
    char name[PS_NAME_MAX] = "";
    pthread_mutex_lock(&sub->lock);
    if (sub->cfg.dead_letter_topic)
        snprintf(name, sizeof(name), "%s", sub->cfg.dead_letter_topic);
    pthread_mutex_unlock(&sub->lock);
    return name[0] ? ps_topic_get(reg, name) : NULL;
}

/* The agent's refused Publish, as Google's audit log would show it. */
static void report_dead_letter_denied(struct ps_registry *reg, struct ps_sub *sub,
                                      const char *agent, const char *topic, const char *why)
{
    /* why, two resource names, the agent and the sentence around them */
    char message[EM_STATUS_MESSAGE_MAX + 2 * PS_NAME_MAX + EM_PRINCIPAL_MAX + 256];
    snprintf(message, sizeof(message),
             "%s Messages of %s are not dead-lettered (they keep being redelivered) until "
             "the Pub/Sub service agent %s has roles/pubsub.publisher on %s and "
             "roles/pubsub.subscriber on the subscription.",
             why, sub->name, agent + strlen("serviceAccount:"), topic);
    em_warn("pubsub: %s", message);
    if (!reg->audit)
        return;
    struct em_audit_entry e = {
        .time_ns = em_clock_now(),
        .service = "pubsub",
        .kind = EM_AUDIT_DATA_ACCESS,
        .principal = agent,
        .method = "Publish",
        .resource = topic,
        .caller = sub->name,
        .code = EM_PERMISSION_DENIED,
        .message = message,
    };
    em_audit_record(reg->audit, &e);
}

void ps_sub_check_dead_letter(struct ps_registry *reg, struct ps_sub *sub)
{
    char topic[PS_NAME_MAX] = "";
    pthread_mutex_lock(&sub->lock);
    if (sub->cfg.dead_letter_topic)
        snprintf(topic, sizeof(topic), "%s", sub->cfg.dead_letter_topic);
    pthread_mutex_unlock(&sub->lock);
    if (!topic[0] || !reg->config->iam_enforce || !reg->cmek) {
        atomic_store(&sub->dead_letter_denied, false);
        return;
    }
    char agent[EM_PRINCIPAL_MAX];
    em_cmek_agent(reg->cmek, sub->project, agent, sizeof(agent));
    struct em_status st = {0};
    bool allowed =
        em_iam_check(reg->meta, reg->config, agent, topic, "pubsub.topics.publish", &st) == EM_OK &&
        em_iam_check(reg->meta, reg->config, agent, sub->name, "pubsub.subscriptions.consume",
                     &st) == EM_OK;
    atomic_store(&sub->dead_letter_denied, !allowed);
    pthread_mutex_lock(&sub->lock);
    bool report = !allowed && !sub->dead_letter_reported;
    if (!allowed && report)
        sub->dead_letter_reported = true;
    else if (allowed && sub->dead_letter_reported) {
        sub->dead_letter_reported = false;
        em_info("pubsub: dead-lettering from %s to %s resumes", sub->name, topic);
    }
    pthread_mutex_unlock(&sub->lock);
    if (report)
        report_dead_letter_denied(reg, sub, agent, topic, st.message);
}

/* Forwards the subscription's dead messages to its dead-letter topic dlt and acknowledges
 * them (sub->lock held). Failures leave them dead: the next round retries. */
static void forward_dead(struct ps_sub *sub, struct ps_topic *dlt, struct em_datafile *log,
                         const struct ps_delivery_policy *p)
{
    if (!p->max_attempts)
        return;
    struct ps_backlog *b = &sub->backlog;
    int64_t seqs[DEAD_BATCH];
    uint32_t attempts[DEAD_BATCH];
    size_t n = 0;
    for (size_t i = 0; i < b->len && n < DEAD_BATCH; i++) {
        const struct ps_entry *e = ps_backlog_at(b, i);
        if (ps_entry_dead(e, p)) {
            seqs[n] = e->seq;
            attempts[n++] = e->attempts;
        }
    }
    if (!n)
        return;
    struct em_status st = {0};
    struct ps_message *msgs = calloc(n, sizeof(*msgs));
    struct ps_mark *marks = calloc(n, sizeof(*marks));
    struct read_job read = {seqs, n, msgs};
    if (!dlt || !msgs || !marks || em_datafile_run(log, job_read, &read, &st))
        goto out;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].seq)
            continue; /* gone already */
        char *attrs = ps_dead_letter_attributes(&msgs[i], sub, attempts[i]);
        if (!attrs)
            goto out;
        free(msgs[i].attributes);
        msgs[i].attributes = attrs;
        if (kept != i) {
            msgs[kept] = msgs[i];
            memset(&msgs[i], 0, sizeof(msgs[i]));
        }
        kept++;
    }
    if (kept && publish_to(dlt, msgs, kept, &st)) {
        em_debug("pubsub: dead-lettering from %s waits: %s", sub->name, st.message);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ps_backlog_ack(b, seqs[i]);
        marks[i] = (struct ps_mark){seqs[i], attempts[i], true};
    }
    ps_backlog_compact(b);
    save_backlog(sub, log, marks, n, &st);
out:
    ps_messages_free(msgs, n);
    free(marks);
}

/* --- take: what pull and push hand out --- */

struct taken {
    struct ps_received *items;
    size_t count, cap;
};

static bool taken_add(struct taken *t, int64_t seq)
{
    if (t->count == t->cap)
        return false;
    memset(&t->items[t->count], 0, sizeof(t->items[0]));
    t->items[t->count++].msg.seq = seq;
    return true;
}

/* Selects and delivers deliverable entries; their contents are filled later. */
static void deliver_selected(struct ps_sub *sub, const struct ps_delivery_policy *p, int64_t now,
                             struct taken *out, size_t *idx)
{
    struct ps_backlog *b = &sub->backlog;
    size_t n = ps_backlog_select(b, p, now, out->cap - out->count, idx);
    for (size_t i = 0; i < n; i++) {
        struct ps_entry *e = ps_backlog_at(b, idx[i]);
        ps_backlog_deliver(e, p, now);
        taken_add(out, e->seq);
    }
}

/* Moves the content of fresh (read from the log) into the taken items that lack it. */
static void fill_from(struct taken *out, struct ps_message *fresh, size_t count)
{
    for (size_t i = 0, k = 0; i < out->count; i++) {
        struct ps_message *m = &out->items[i].msg;
        if (m->data || m->attributes)
            continue;
        while (k < count && fresh[k].seq < m->seq)
            k++;
        if (k < count && fresh[k].seq == m->seq) {
            *m = fresh[k];
            memset(&fresh[k], 0, sizeof(fresh[k]));
            fresh[k].seq = m->seq;
        }
    }
}

/* Reads new messages from the cursor until out is full or the log is exhausted. */
static enum em_code scan_new(struct ps_sub *sub, struct em_datafile *log,
                             const struct ps_delivery_policy *p, int64_t now, struct taken *out,
                             size_t *idx, struct em_status *st)
{
    struct ps_backlog *b = &sub->backlog;
    size_t scanned = 0;
    struct scan_job job = {0};
    enum em_code code = EM_OK;
    while (out->count < out->cap && b->cursor <= ps_log_committed(log) && scanned < SCAN_LIMIT) {
        job.from = b->cursor;
        /* what is still wanted, and some more for filters and blocked ordering keys */
        size_t want = out->cap - out->count + 16;
        job.limit = want < SCAN_BATCH ? want : SCAN_BATCH;
        if ((code = em_datafile_run(log, job_scan, &job, st)) != EM_OK)
            break;
        if (job.count == 0) {
            b->cursor = ps_log_committed(log) + 1; /* deleted meanwhile: nothing left */
            ps_backlog_compact(b);
            break;
        }
        for (size_t i = 0; i < job.count && code == EM_OK; i++) {
            const struct ps_message *m = &job.msgs[i];
            bool matched = ps_filter_matches(sub->filter, m->attributes);
            struct ps_entry *e;
            code = ps_backlog_admit(b, p, m->seq, m->publish_ns, m->ordering_key, matched, now, &e,
                                    st);
        }
        scanned += job.count;
        size_t before = out->count;
        deliver_selected(sub, p, now, out, idx);
        if (out->count > before) {
            struct taken fresh = {out->items + before, out->count - before, out->count - before};
            fill_from(&fresh, job.msgs, job.count);
        }
    }
    ps_messages_free(job.msgs, job.count);
    return code;
}

/* Reads the content of taken items still without it (redeliveries). Items whose message
 * is gone are acknowledged and dropped. */
static enum em_code read_missing(struct ps_sub *sub, struct em_datafile *log, struct taken *out,
                                 struct em_status *st)
{
    size_t n = 0;
    int64_t *seqs = malloc((out->count ? out->count : 1) * sizeof(*seqs));
    if (!seqs)
        return EM_FAIL_OOM(st);
    for (size_t i = 0; i < out->count; i++)
        if (!out->items[i].msg.data && !out->items[i].msg.attributes)
            seqs[n++] = out->items[i].msg.seq;
    struct ps_message *msgs = n ? calloc(n, sizeof(*msgs)) : NULL;
    enum em_code code = EM_OK;
    if (n && !msgs)
        code = EM_FAIL_OOM(st);
    struct read_job job = {seqs, n, msgs};
    if (!code && n)
        code = em_datafile_run(log, job_read, &job, st);
    if (!code) {
        struct taken view = *out;
        fill_from(&view, msgs, n);
        size_t kept = 0;
        for (size_t i = 0; i < out->count; i++) {
            struct ps_received *r = &out->items[i];
            if (!r->msg.data && !r->msg.attributes) {
                ps_backlog_ack(&sub->backlog, r->msg.seq); /* deleted: nothing to deliver */
                continue;
            }
            out->items[kept++] = *r;
        }
        out->count = kept;
        ps_backlog_compact(&sub->backlog);
    }
    ps_messages_free(msgs, n);
    free(seqs);
    return code;
}

/* Pull's core (sub->lock held, backlog loaded, log open): fills out up to its cap. */
static enum em_code take_locked(struct ps_sub *sub, struct ps_topic *dlt, struct em_datafile *log,
                                struct taken *out, struct em_status *st)
{
    struct ps_delivery_policy p;
    ps_sub_policy(sub, &p);
    int64_t now = em_clock_now();
    sub->last_active_ns = now;
    ps_backlog_expire(&sub->backlog, &p, now);
    forward_dead(sub, dlt, log, &p);
    size_t *idx = malloc((out->cap ? out->cap : 1) * sizeof(*idx));
    if (!idx)
        return EM_FAIL_OOM(st);
    deliver_selected(sub, &p, now, out, idx);
    enum em_code code = scan_new(sub, log, &p, now, out, idx, st);
    free(idx);
    if (!code)
        code = read_missing(sub, log, out, st);
    /* delivery attempts survive a restart when they matter (dead-letter policy) */
    struct ps_mark *marks =
        p.max_attempts && out->count ? calloc(out->count, sizeof(*marks)) : NULL;
    size_t mark_count = 0;
    for (size_t i = 0; marks && i < out->count; i++) {
        struct ps_entry *e = ps_backlog_find(&sub->backlog, out->items[i].msg.seq);
        if (e)
            marks[mark_count++] = (struct ps_mark){e->seq, e->attempts, false};
    }
    if (!code)
        code = save_backlog(sub, log, marks, mark_count, st);
    free(marks);
    for (size_t i = 0; i < out->count; i++) {
        struct ps_received *r = &out->items[i];
        struct ps_entry *e = ps_backlog_find(&sub->backlog, r->msg.seq);
        struct ps_ack_ref ref = {sub->id, r->msg.seq, e ? e->gen : 0};
        ps_ack_id_encode(&ref, r->ack_id);
        r->delivery_attempt = p.max_attempts && e ? e->attempts : 0;
    }
    return code;
}

void ps_received_free(struct ps_received *r, size_t count)
{
    for (size_t i = 0; r && i < count; i++)
        ps_message_clear(&r[i].msg);
    free(r);
}

/* Opens the subscription's topic data and loads its backlog, with sub->lock held on
 * success. The topic may be a retained deleted topic; *topic is NULL (and OK) for a
 * subscription that reads nothing (its deleted topic's data is gone). */
static enum em_code lock_sub_data(struct ps_sub *sub, struct ps_topic **topic,
                                  struct em_datafile **log, struct em_status *st)
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

static void unlock_sub_data(struct ps_sub *sub, struct ps_topic *topic, struct em_datafile *log)
{
    pthread_mutex_unlock(&sub->lock);
    if (topic) {
        if (log)
            ps_topic_close_data(topic, log);
        ps_topic_put(topic);
    }
}

static enum em_code detached(const struct ps_sub *sub, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The subscription %s is detached from its topic: it receives no messages.",
                   sub->name);
}

static uint64_t topic_generation(struct ps_topic *topic)
{
    pthread_mutex_lock(&topic->wait_lock);
    uint64_t g = topic->generation;
    pthread_mutex_unlock(&topic->wait_lock);
    return g;
}

/* Waits until the topic's generation moves past g or deadline_ms (monotonic) passes. */
static void wait_topic(struct ps_topic *topic, uint64_t g, int64_t deadline_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t left = deadline_ms - em_clock_monotonic_ms();
    if (left <= 0)
        return;
    until.tv_sec += left / 1000;
    until.tv_nsec += (left % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&topic->wait_lock);
    while (topic->generation == g)
        if (pthread_cond_timedwait(&topic->wait_cond, &topic->wait_lock, &until) != 0)
            break;
    pthread_mutex_unlock(&topic->wait_lock);
}

static enum em_code take(struct ps_registry *reg, struct ps_sub *sub, int max, bool wait,
                         struct ps_received **out, size_t *count, struct em_status *st)
{
    *out = NULL;
    *count = 0;
    if (max <= 0)
        return EM_OK;
    struct taken t = {calloc((size_t)max, sizeof(struct ps_received)), 0, (size_t)max};
    if (!t.items)
        return EM_FAIL_OOM(st);
    int64_t deadline = em_clock_monotonic_ms() + (wait ? reg->pull_wait_ms : 0);
    enum em_code code = EM_OK;
    struct ps_topic *dlt = dead_letter_topic(reg, sub);
    for (;;) {
        struct ps_topic *topic;
        struct em_datafile *log;
        if ((code = lock_sub_data(sub, &topic, &log, st)) != EM_OK)
            break;
        uint64_t g = topic ? topic_generation(topic) : 0;
        if (sub->deleted)
            code = PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
        else if (sub->detached)
            code = detached(sub, st);
        else if (topic)
            code = take_locked(sub, dlt, log, &t, st);
        unlock_sub_data(sub, topic, log);
        bool again = !code && t.count == 0 && topic && em_clock_monotonic_ms() < deadline;
        if (again)
            wait_topic(topic, g, deadline); /* a commit, an ack or a timer wakes it */
        if (!again)
            break;
    }
    ps_topic_put(dlt);
    if (code || t.count == 0) {
        ps_received_free(t.items, t.count);
        return code;
    }
    *out = t.items;
    *count = t.count;
    return EM_OK;
}

enum em_code ps_pull(struct ps_registry *reg, const char *name, int max, bool return_immediately,
                     struct ps_received **out, size_t *count, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    if (max > PS_MAX_PULL_MESSAGES)
        max = PS_MAX_PULL_MESSAGES;
    enum em_code code = take(reg, sub, max, !return_immediately, out, count, st);
    ps_sub_put(sub);
    return code;
}

enum em_code ps_take(struct ps_registry *reg, struct ps_sub *sub, int max, struct ps_received **out,
                     size_t *count, struct em_status *st)
{
    return take(reg, sub, max, false, out, count, st);
}

/* --- acknowledge and modifyAckDeadline --- */

static enum em_code decode_ack_ids(const struct ps_sub *sub, const char *const *ack_ids,
                                   size_t count, struct ps_ack_ref *refs, struct em_status *st)
{
    if (count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No ack ids specified.");
    for (size_t i = 0; i < count; i++)
        if (!ps_ack_id_decode(ack_ids[i], &refs[i]) || refs[i].sub_id != sub->id)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "You have passed an invalid ack ID to the service (ack_id=%.100s).",
                           ack_ids[i]);
    return EM_OK;
}

enum em_code ps_acknowledge(struct ps_registry *reg, const char *name, const char *const *ack_ids,
                            size_t count, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_ack_ref *refs = calloc(count ? count : 1, sizeof(*refs));
    struct ps_mark *marks = calloc(count ? count : 1, sizeof(*marks));
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code =
        !refs || !marks ? EM_FAIL_OOM(st) : decode_ack_ids(sub, ack_ids, count, refs, st);
    if (code || (code = lock_sub_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    if (sub->detached) {
        code = detached(sub, st);
    } else if (topic) {
        size_t n = 0;
        for (size_t i = 0; i < count; i++)
            if (ps_backlog_ack(&sub->backlog, refs[i].seq))
                marks[n++] = (struct ps_mark){refs[i].seq, 0, true};
        ps_backlog_compact(&sub->backlog);
        sub->last_active_ns = em_clock_now();
        code = save_backlog(sub, log, marks, n, st);
    }
    unlock_sub_data(sub, topic, log);
    if (!code && topic)
        ps_topic_notify(topic); /* an ordering key may be free again */
out:
    free(refs);
    free(marks);
    ps_sub_put(sub);
    return code;
}

enum em_code ps_modify_ack_deadline(struct ps_registry *reg, const char *name,
                                    const char *const *ack_ids, size_t count, int seconds,
                                    struct em_status *st)
{
    if (seconds < 0 || seconds > PS_MAX_ACK_DEADLINE_S)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid ack deadline given: %d. It must be between 0 and %d seconds.",
                       seconds, PS_MAX_ACK_DEADLINE_S);
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_ack_ref *refs = calloc(count ? count : 1, sizeof(*refs));
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code = !refs ? EM_FAIL_OOM(st) : decode_ack_ids(sub, ack_ids, count, refs, st);
    if (code || (code = lock_sub_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    bool nacked = false;
    if (sub->detached) {
        code = detached(sub, st);
    } else if (topic) {
        struct ps_delivery_policy p;
        ps_sub_policy(sub, &p);
        int64_t now = em_clock_now();
        sub->last_active_ns = now;
        for (size_t i = 0; i < count; i++)
            nacked |=
                ps_backlog_modack(&sub->backlog, refs[i].seq, refs[i].gen, seconds, &p, now) &&
                seconds == 0;
    }
    unlock_sub_data(sub, topic, log);
    if (nacked) {
        ps_topic_notify(topic); /* redeliverable now */
        if (sub->cfg.push.endpoint && reg->push)
            ps_push_wake(reg->push);
    }
out:
    free(refs);
    ps_sub_put(sub);
    return code;
}

/* --- seek and snapshots --- */

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
                     int64_t time_ns, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_snapshot *snap = snapshot ? ps_snapshot_get(reg, snapshot) : NULL;
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code = EM_OK;
    if (snapshot && (!snap || snap->expire_ns <= em_clock_now())) {
        code = PS_ERR_SNAPSHOT_NOT_FOUND(st);
        goto out;
    }
    if (snap && (code = check_snapshot_topic(sub, snap, st)) != EM_OK)
        goto out;
    if ((code = lock_sub_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    if (sub->detached)
        code = detached(sub, st);
    else if (!topic)
        code = EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The messages of the deleted topic of subscription %s are gone: there is "
                       "nothing to seek.",
                       sub->name);
    else
        code = seek_locked(sub, topic, log, snap, time_ns, st);
    sub->last_active_ns = em_clock_now();
    unlock_sub_data(sub, topic, log);
    if (!code) {
        ps_topic_notify(topic);
        if (sub->cfg.push.endpoint && reg->push)
            ps_push_kick(reg->push);
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
                                const char *labels_json, struct ps_snapshot **out,
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
    enum em_code code = lock_sub_data(sub, &topic, &log, st);
    if (code)
        goto out;
    if (sub->detached || !topic || topic->deleted) {
        code = sub->detached ? detached(sub, st)
                             : EM_FAIL(st, EM_FAILED_PRECONDITION,
                                       "The topic of subscription %s was deleted: a snapshot "
                                       "of it could serve no subscription.",
                                       sub->name);
        goto unlock;
    }
    int64_t now = em_clock_now();
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
    sub->last_active_ns = em_clock_now();
    unlock_sub_data(sub, topic, log);
    /* registered without the subscription's lock: the registry lock is never taken under it */
    if (!code)
        code = ps_store_save_snapshot(reg->meta, snap, st);
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

/* --- timers --- */

struct refs {
    struct ps_sub **subs;
    size_t sub_count;
    struct ps_topic **topics;
    size_t topic_count;
    char **expired_snapshots;
    size_t expired_count;
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
    if (snap->expire_ns <= em_clock_now() && r->expired_count < 1024)
        r->expired_snapshots[r->expired_count++] = strdup(snap->name);
}

/* Lease expiry and dead-lettering of one subscription. */
static void tick_sub(struct ps_registry *reg, struct ps_sub *sub, int64_t now)
{
    ps_sub_check_dead_letter(reg, sub);
    if (!sub->detached && sub->cfg.ttl_ns > 0 && now - sub->last_active_ns >= sub->cfg.ttl_ns &&
        !sub->cfg.push.endpoint) {
        struct em_status st = {0};
        ps_sub_expire(reg, sub, &st);
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
        ps_store_save_sub(reg->meta, sub, &st); /* under the lock: its topic may be deleted */
    }
    pthread_mutex_unlock(&sub->lock);
    if (!dead)
        return;
    struct ps_topic *topic, *dlt = dead_letter_topic(reg, sub);
    struct em_datafile *log;
    struct em_status st = {0};
    if (!lock_sub_data(sub, &topic, &log, &st)) {
        if (topic && !sub->detached)
            forward_dead(sub, dlt, log, &p);
        unlock_sub_data(sub, topic, log);
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
            save_backlog(s, log, NULL, 0, &st);
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
    struct refs r = {0};
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
        if (r.expired_snapshots[i])
            ps_snapshot_delete(reg, r.expired_snapshots[i], &ignored);
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
    if (reg->push)
        ps_push_kick(reg->push);
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
