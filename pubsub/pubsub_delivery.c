/*
 * pubsub_delivery: a subscription's backlog and the delivery state machine of each of
 * its messages. Pure logic on emulator times passed in: no locks, no storage, no JSON.
 *
 * A backlog covers the topic's sequence numbers from `floor` on:
 *
 *     acked        tracked entries (read for this subscription)     not read yet
 *   ----------|------------------------------------------------|------------------->
 *           floor                                            cursor      (marks: known
 *                                                                         states from
 *                                                                         here on)
 *
 * Every message below the floor is acknowledged. Messages in [floor, cursor) that match
 * the filter are entries; those that did not match (or had expired) are simply absent:
 * they count as acknowledged. Marks carry what is known of messages beyond the cursor
 * (acknowledged, or their delivery attempts) after a restart or a seek, and are consumed
 * as the cursor passes them.
 *
 * One message on one subscription:
 *
 *                 select + deliver                 ack
 *     PENDING ------------------------> OUTSTANDING -----> ACKED
 *     ^   ^   (attempts++, gen++,          |  |
 *     |   |    lease = now + deadline)     |  | modifyAckDeadline(n > 0): lease = now + n
 *     |   +--------------------------------+  |
 *     |     nack (modifyAckDeadline 0) or     |
 *     |     lease expired: due = now + retry backoff(attempts)
 *     |
 *     +-- dead when PENDING with attempts >= maxDeliveryAttempts (dead-letter policy):
 *         never selected; the flow forwards it to the dead-letter topic and acks it.
 *   Any state -> ACKED when older than the retention (dropped, as Google expunges it).
 *
 * Ordering (enableMessageOrdering): an ordering key is blocked while one of its messages
 * is OUTSTANDING, waiting out a backoff, or dead; the messages of a key are selected in
 * sequence order, so each key has at most one outstanding batch.
 */
#include "pubsub_model.h"

#include "em_hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ps_backlog_init(struct ps_backlog *b, int64_t floor)
{
    memset(b, 0, sizeof(*b));
    b->floor = b->cursor = floor;
}

static void free_entries(struct ps_backlog *b)
{
    for (size_t i = 0; i < b->len; i++)
        free(b->entries[b->head + i].key);
    b->head = b->len = 0;
}

void ps_backlog_free(struct ps_backlog *b)
{
    if (!b)
        return;
    free_entries(b);
    free(b->entries);
    free(b->marks);
    memset(b, 0, sizeof(*b));
}

enum em_code ps_backlog_reset(struct ps_backlog *b, int64_t floor, const struct ps_mark *marks,
                              size_t mark_count, struct em_status *st)
{
    free_entries(b);
    b->mark_head = b->mark_len = 0;
    if (mark_count > b->mark_cap) {
        struct ps_mark *m = realloc(b->marks, mark_count * sizeof(*m));
        if (!m)
            return EM_FAIL_OOM(st);
        b->marks = m;
        b->mark_cap = mark_count;
    }
    for (size_t i = 0; i < mark_count; i++)
        if (marks[i].seq >= floor)
            b->marks[b->mark_len++] = marks[i];
    b->floor = b->cursor = floor;
    b->floor_dirty = true;
    return EM_OK;
}

struct ps_entry *ps_backlog_at(struct ps_backlog *b, size_t i)
{
    return &b->entries[b->head + i];
}

struct ps_entry *ps_backlog_find(struct ps_backlog *b, int64_t seq)
{
    size_t lo = 0, hi = b->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t s = b->entries[b->head + mid].seq;
        if (s == seq)
            return &b->entries[b->head + mid];
        if (s < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool ps_backlog_compact(struct ps_backlog *b)
{
    while (b->len > 0 && b->entries[b->head].state == PS_ACKED) {
        free(b->entries[b->head].key);
        b->head++;
        b->len--;
    }
    if (b->len == 0)
        b->head = 0;
    int64_t floor = b->len > 0 ? b->entries[b->head].seq : b->cursor;
    if (floor == b->floor)
        return false;
    b->floor = floor;
    b->floor_dirty = true;
    return true;
}

static bool make_room(struct ps_backlog *b)
{
    if (b->head + b->len < b->cap)
        return true;
    if (b->head > 0 && b->head >= b->cap / 2) {
        memmove(b->entries, b->entries + b->head, b->len * sizeof(*b->entries));
        b->head = 0;
        return true;
    }
    size_t cap = b->cap ? b->cap * 2 : 64;
    struct ps_entry *e = realloc(b->entries, cap * sizeof(*e));
    if (!e)
        return false;
    b->entries = e;
    b->cap = cap;
    return true;
}

enum em_code ps_backlog_admit(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t seq,
                              int64_t publish_ns, const char *key, bool matched, int64_t now,
                              struct ps_entry **entry, struct em_status *st)
{
    *entry = NULL;
    if (seq < b->cursor)
        return EM_OK; /* read twice: already admitted */
    while (b->mark_len > 0 && b->marks[b->mark_head].seq < seq) {
        b->mark_head++;
        b->mark_len--;
    }
    const struct ps_mark *mark =
        b->mark_len > 0 && b->marks[b->mark_head].seq == seq ? &b->marks[b->mark_head] : NULL;
    bool expired = p->retention_ns > 0 && publish_ns + p->retention_ns <= now;
    uint32_t attempts = mark ? mark->attempts : 0;
    bool acked = mark && mark->acked;
    if (mark) {
        b->mark_head++;
        b->mark_len--;
    }
    if (b->mark_len == 0)
        b->mark_head = 0;
    b->cursor = seq + 1;
    if (!matched || acked || expired) {
        ps_backlog_compact(b);
        return EM_OK;
    }
    char *key_copy = NULL;
    if (p->ordering && key && *key && !(key_copy = strdup(key)))
        return EM_FAIL_OOM(st);
    if (!make_room(b)) {
        free(key_copy);
        return EM_FAIL_OOM(st);
    }
    /* A message never delivered is due at once, for every later call: calls take their
     * `now` before they wait for the subscription's lock, so a call that reads ahead
     * (admits more than it hands out) may carry a later time than the next one. Due at
     * its own `now`, the message would be skipped by that next call, whose cursor is
     * already past it: a pull missing committed messages. */
    struct ps_entry *e = &b->entries[b->head + b->len++];
    *e = (struct ps_entry){.seq = seq,
                           .publish_ns = publish_ns,
                           .due_ns = INT64_MIN,
                           .attempts = attempts,
                           .state = PS_PENDING,
                           .key = key_copy};
    *entry = e;
    return EM_OK;
}

size_t ps_backlog_expire(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t now)
{
    size_t changed = 0;
    for (size_t i = 0; i < b->len; i++) {
        struct ps_entry *e = &b->entries[b->head + i];
        if (e->state == PS_ACKED)
            continue;
        if (p->retention_ns > 0 && e->publish_ns + p->retention_ns <= now) {
            e->state = PS_ACKED; /* expunged: out of the retention window */
            free(e->key);
            e->key = NULL;
            changed++;
        } else if (e->state == PS_OUTSTANDING && e->due_ns <= now) {
            /* the lease ended at due_ns: the backoff runs from then, so advancing the
             * clock in one jump or in steps gives the same result */
            e->state = PS_PENDING;
            e->due_ns += ps_retry_backoff(&p->retry, e->attempts);
            changed++;
        }
    }
    ps_backlog_compact(b);
    return changed;
}

bool ps_entry_dead(const struct ps_entry *e, const struct ps_delivery_policy *p)
{
    return p->max_attempts > 0 && e->state == PS_PENDING &&
           e->attempts >= (uint32_t)p->max_attempts;
}

/* --- ordering keys: a small open-addressing set of strings --- */

struct key_set {
    const char **slots;
    size_t mask;
};

static bool key_set_init(struct key_set *set, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    set->slots = calloc(cap, sizeof(*set->slots));
    set->mask = cap - 1;
    return set->slots != NULL;
}

/* Adds key; returns true when it was there already. */
static bool key_set_add(struct key_set *set, const char *key)
{
    for (size_t i = em_fnv1a_str(key) & set->mask;; i = (i + 1) & set->mask) {
        if (!set->slots[i]) {
            set->slots[i] = key;
            return false;
        }
        if (strcmp(set->slots[i], key) == 0)
            return true;
    }
}

static bool key_set_has(const struct key_set *set, const char *key)
{
    for (size_t i = em_fnv1a_str(key) & set->mask; set->slots[i]; i = (i + 1) & set->mask)
        if (strcmp(set->slots[i], key) == 0)
            return true;
    return false;
}

static bool deliverable(const struct ps_entry *e, const struct ps_delivery_policy *p, int64_t now)
{
    return e->state == PS_PENDING && e->due_ns <= now && !ps_entry_dead(e, p);
}

size_t ps_backlog_select(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t now,
                         size_t max, size_t *idx)
{
    size_t n = 0;
    struct key_set blocked = {0};
    bool ordered = p->ordering && key_set_init(&blocked, b->len);
    /* a key with a message outstanding, backing off or dead anywhere is blocked */
    for (size_t i = 0; ordered && i < b->len; i++) {
        const struct ps_entry *e = &b->entries[b->head + i];
        if (e->key && e->state != PS_ACKED && !deliverable(e, p, now))
            key_set_add(&blocked, e->key);
    }
    for (size_t i = 0; i < b->len && n < max; i++) {
        const struct ps_entry *e = &b->entries[b->head + i];
        if (!deliverable(e, p, now) || (ordered && e->key && key_set_has(&blocked, e->key)))
            continue;
        idx[n++] = i; /* in sequence order: a key's batch keeps its order */
    }
    free(blocked.slots);
    return n;
}

void ps_backlog_deliver(struct ps_entry *e, const struct ps_delivery_policy *p, int64_t now)
{
    e->state = PS_OUTSTANDING;
    e->attempts++;
    e->gen++;
    e->due_ns = now + (int64_t)p->ack_deadline_s * EM_NS_PER_SEC;
}

bool ps_backlog_ack(struct ps_backlog *b, int64_t seq)
{
    struct ps_entry *e = ps_backlog_find(b, seq);
    if (!e || e->state == PS_ACKED)
        return false;
    e->state = PS_ACKED;
    free(e->key);
    e->key = NULL;
    return true;
}

bool ps_backlog_current(struct ps_backlog *b, int64_t seq, uint32_t gen, int64_t now, bool *settled)
{
    const struct ps_entry *e = ps_backlog_find(b, seq);
    *settled = !e || e->state == PS_ACKED;
    return e && e->state == PS_OUTSTANDING && e->gen == gen && e->due_ns > now;
}

bool ps_backlog_modack(struct ps_backlog *b, int64_t seq, uint32_t gen, int seconds,
                       const struct ps_delivery_policy *p, int64_t now)
{
    struct ps_entry *e = ps_backlog_find(b, seq);
    if (!e || e->state != PS_OUTSTANDING || e->gen != gen)
        return false; /* acked, redelivered since, or never delivered: a stale ack ID */
    if (seconds == 0) {
        e->state = PS_PENDING;
        e->due_ns = now + ps_retry_backoff(&p->retry, e->attempts);
    } else {
        e->due_ns = now + (int64_t)seconds * EM_NS_PER_SEC;
    }
    return true;
}

int64_t ps_backlog_oldest_unacked(const struct ps_backlog *b)
{
    for (size_t i = 0; i < b->len; i++)
        if (b->entries[b->head + i].state != PS_ACKED)
            return b->entries[b->head + i].publish_ns;
    return 0;
}

enum em_code ps_backlog_acked(const struct ps_backlog *b, int64_t from, int64_t **out,
                              size_t *count, struct em_status *st)
{
    size_t n = 0, cap = b->len + b->mark_len;
    int64_t *seqs = malloc((cap ? cap : 1) * sizeof(*seqs));
    if (!seqs)
        return EM_FAIL_OOM(st);
    for (size_t i = 0; i < b->len; i++) {
        const struct ps_entry *e = &b->entries[b->head + i];
        if (e->state == PS_ACKED && e->seq >= from)
            seqs[n++] = e->seq;
    }
    for (size_t i = 0; i < b->mark_len; i++) {
        const struct ps_mark *m = &b->marks[b->mark_head + i];
        if (m->acked && m->seq >= from)
            seqs[n++] = m->seq;
    }
    *out = seqs;
    *count = n;
    return EM_OK;
}
