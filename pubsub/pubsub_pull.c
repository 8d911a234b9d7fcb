/*
 * pubsub_pull: what pull and push hand out, acknowledge and modifyAckDeadline.
 *
 *   pull / push take   under the subscription's lock: expire leases, forward dead
 *                      messages, select redeliveries, read new messages from the cursor
 *                      (filter, ordering), hand them out with ack IDs; a pull with nothing
 *                      to return waits (without the store) for a commit or a timer, at most
 *                      the registry's bound (3 s of real time)
 *   acknowledge        marks + floor stored before the reply: never redelivered after a
 *                      restart
 *   modifyAckDeadline  in memory (leases do not survive a restart: at-least-once)
 *
 * Every call passes the topic's CMEK gate: UNAVAILABLE or the topic's FAILED_PRECONDITION
 * while the key is not usable, and the messages stay where they are.
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

#define SCAN_BATCH 256   /* messages read from the log per job while pulling */
#define SCAN_LIMIT 10000 /* messages passed over per pull (filters, ordering) */

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
        if ((code = em_datafile_run(log, ps_job_scan, &job, st)) != EM_OK)
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
        code = em_datafile_run(log, ps_job_read, &job, st);
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
                                int64_t now, struct taken *out, struct em_status *st)
{
    struct ps_delivery_policy p;
    ps_sub_policy(sub, &p);
    sub->last_active_ns = now;
    ps_backlog_expire(&sub->backlog, &p, now);
    ps_forward_dead(sub, dlt, log, &p, now);
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
        code = ps_save_backlog(sub, log, marks, mark_count, st);
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

/* now: the request's emulator time; a pull that waited for messages adds the real time
 * it waited (the emulator clock runs with real time), in nanoseconds: whole milliseconds
 * would put a call up to 1 ms ahead of the clock, and of the calls that follow it. */
static enum em_code take(struct ps_registry *reg, struct ps_sub *sub, int max, bool wait,
                         int64_t now, struct ps_received **out, size_t *count, struct em_status *st)
{
    *out = NULL;
    *count = 0;
    if (max <= 0)
        return EM_OK;
    struct taken t = {calloc((size_t)max, sizeof(struct ps_received)), 0, (size_t)max};
    if (!t.items)
        return EM_FAIL_OOM(st);
    int64_t start_ns = em_clock_monotonic();
    int64_t deadline = start_ns / 1000000 + (wait ? reg->pull_wait_ms : 0);
    enum em_code code = EM_OK;
    struct ps_topic *dlt = ps_dead_letter_topic(reg, sub);
    for (;;) {
        struct ps_topic *topic;
        struct em_datafile *log;
        if ((code = ps_sub_lock_data(sub, &topic, &log, st)) != EM_OK)
            break;
        uint64_t g = topic ? topic_generation(topic) : 0;
        if (sub->deleted)
            code = PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
        else if (sub->detached)
            code = ps_sub_detached_error(sub, st);
        else if (topic)
            code = take_locked(sub, dlt, log, now + (em_clock_monotonic() - start_ns), &t, st);
        ps_sub_unlock_data(sub, topic, log);
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
                     int64_t now, struct ps_received **out, size_t *count, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    if (max > PS_MAX_PULL_MESSAGES)
        max = PS_MAX_PULL_MESSAGES;
    enum em_code code = take(reg, sub, max, !return_immediately, now, out, count, st);
    ps_sub_put(sub);
    return code;
}

enum em_code ps_take(struct ps_registry *reg, struct ps_sub *sub, int max, int64_t now,
                     struct ps_received **out, size_t *count, struct em_status *st)
{
    return take(reg, sub, max, false, now, out, count, st);
}

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

#define PERMANENT_INVALID_ACK_ID "PERMANENT_FAILURE_INVALID_ACK_ID"

/* Exactly-once delivery: whether the ack ID's delivery may still be acknowledged (or,
 * settled_ok false, extended). */
static bool exactly_once_allows(struct ps_sub *sub, const struct ps_ack_ref *ref, bool settled_ok,
                                int64_t now)
{
    bool settled;
    return ps_backlog_current(&sub->backlog, ref->seq, ref->gen, now, &settled) ||
           (settled && settled_ok);
}

static int compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The end of an exactly-once call that refused ack IDs (refused[0..count), sorted here so
 * that a request repeating an ID names it once, in O(n log n) whatever it holds). */
static enum em_code refuse_ack_ids(const char **refused, size_t count, cJSON **out,
                                   struct em_status *st)
{
    qsort(refused, count, sizeof(*refused), compare_text);
    cJSON *metadata = cJSON_CreateObject();
    for (size_t i = 0; metadata && i < count; i++) {
        if (i > 0 && strcmp(refused[i], refused[i - 1]) == 0)
            continue;
        if (!cJSON_AddStringToObject(metadata, refused[i], PERMANENT_INVALID_ACK_ID)) {
            cJSON_Delete(metadata);
            metadata = NULL;
        }
    }
    if (!metadata)
        return EM_FAIL_OOM(st);
    EM_FAIL(st, EM_INVALID_ARGUMENT,
            "Some acknowledgement ids in the request were invalid. This could be because the "
            "acknowledgement ids have expired or the acknowledgement ids were malformed.");
    em_status_set_info(st, "EXACTLY_ONCE_ACKID_FAILURE", "pubsub.googleapis.com", NULL);
    if (out)
        *out = metadata;
    else
        cJSON_Delete(metadata);
    return st->code;
}

enum em_code ps_acknowledge(struct ps_registry *reg, const char *name, const char *const *ack_ids,
                            size_t count, int64_t now, cJSON **refused_out, struct em_status *st)
{
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_ack_ref *refs = calloc(count ? count : 1, sizeof(*refs));
    struct ps_mark *marks = calloc(count ? count : 1, sizeof(*marks));
    const char **refused = calloc(count ? count : 1, sizeof(*refused));
    size_t refused_count = 0;
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code = !refs || !marks || !refused ? EM_FAIL_OOM(st)
                                                    : decode_ack_ids(sub, ack_ids, count, refs, st);
    if (code || (code = ps_sub_lock_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    if (sub->detached) {
        code = ps_sub_detached_error(sub, st);
    } else if (topic) {
        size_t n = 0;
        for (size_t i = 0; i < count; i++) {
            if (sub->cfg.exactly_once && !exactly_once_allows(sub, &refs[i], true, now)) {
                refused[refused_count++] = ack_ids[i];
                continue;
            }
            if (ps_backlog_ack(&sub->backlog, refs[i].seq))
                marks[n++] = (struct ps_mark){refs[i].seq, 0, true};
        }
        ps_backlog_compact(&sub->backlog);
        sub->last_active_ns = now;
        code = ps_save_backlog(sub, log, marks, n, st);
    }
    ps_sub_unlock_data(sub, topic, log);
    if (!code && topic)
        ps_topic_notify(topic); /* an ordering key may be free again */
    if (!code && refused_count)
        code = refuse_ack_ids(refused, refused_count, refused_out, st);
out:
    free(refs);
    free(marks);
    free(refused);
    ps_sub_put(sub);
    return code;
}

enum em_code ps_modify_ack_deadline(struct ps_registry *reg, const char *name,
                                    const char *const *ack_ids, size_t count, int seconds,
                                    int64_t now, cJSON **refused_out, struct em_status *st)
{
    if (seconds < 0 || seconds > PS_MAX_ACK_DEADLINE_S)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid ack deadline given: %d. It must be between 0 and %d seconds.",
                       seconds, PS_MAX_ACK_DEADLINE_S);
    struct ps_sub *sub = ps_sub_get(reg, name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    struct ps_ack_ref *refs = calloc(count ? count : 1, sizeof(*refs));
    const char **refused = calloc(count ? count : 1, sizeof(*refused));
    size_t refused_count = 0;
    struct ps_topic *topic = NULL;
    struct em_datafile *log = NULL;
    enum em_code code =
        !refs || !refused ? EM_FAIL_OOM(st) : decode_ack_ids(sub, ack_ids, count, refs, st);
    if (code || (code = ps_sub_lock_data(sub, &topic, &log, st)) != EM_OK)
        goto out;
    bool nacked = false;
    if (sub->detached) {
        code = ps_sub_detached_error(sub, st);
    } else if (topic) {
        struct ps_delivery_policy p;
        ps_sub_policy(sub, &p);
        sub->last_active_ns = now;
        for (size_t i = 0; i < count; i++) {
            if (sub->cfg.exactly_once && !exactly_once_allows(sub, &refs[i], false, now)) {
                refused[refused_count++] = ack_ids[i];
                continue;
            }
            nacked |=
                ps_backlog_modack(&sub->backlog, refs[i].seq, refs[i].gen, seconds, &p, now) &&
                seconds == 0;
        }
    }
    ps_sub_unlock_data(sub, topic, log);
    if (nacked) {
        ps_topic_notify(topic); /* redeliverable now */
        if (sub->cfg.push.endpoint)
            ps_registry_wake_deliveries(reg);
    }
    if (!code && refused_count)
        code = refuse_ack_ids(refused, refused_count, refused_out, st);
out:
    free(refs);
    free(refused);
    ps_sub_put(sub);
    return code;
}
