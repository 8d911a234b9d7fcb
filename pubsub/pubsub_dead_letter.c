/*
 * pubsub_dead_letter: forwarding messages that used up their delivery attempts to the
 * subscription's dead-letter topic, with Google's CloudPubSubDeadLetterSource*
 * attributes, then acknowledging them. Failures leave them dead: the next round retries.
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

#define DEAD_BATCH 100 /* messages dead-lettered per round */

/* The dead-letter topic of a subscription, with a reference, or NULL. Resolved before
 * the subscription's lock is taken: the registry lock is never taken under it. */
struct ps_topic *ps_dead_letter_topic(struct ps_registry *reg, struct ps_sub *sub)
{
    char name[PS_NAME_MAX] = "";
    pthread_mutex_lock(&sub->lock);
    if (sub->cfg.dead_letter_topic)
        snprintf(name, sizeof(name), "%s", sub->cfg.dead_letter_topic);
    pthread_mutex_unlock(&sub->lock);
    return name[0] ? ps_topic_get(reg, name) : NULL;
}

/* Forwards the subscription's dead messages to its dead-letter topic dlt and acknowledges
 * them (sub->lock held). Failures leave them dead: the next round retries. */
void ps_forward_dead(struct ps_sub *sub, struct ps_topic *dlt, struct em_datafile *log,
                     const struct ps_delivery_policy *p, int64_t now)
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
    if (!dlt || !msgs || !marks || em_datafile_run(log, ps_job_read, &read, &st))
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
    if (kept && ps_publish_to(dlt, msgs, kept, now, &st)) {
        em_debug("pubsub: dead-lettering from %s waits: %s", sub->name, st.message);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        ps_backlog_ack(b, seqs[i]);
        marks[i] = (struct ps_mark){seqs[i], attempts[i], true};
    }
    ps_backlog_compact(b);
    ps_save_backlog(sub, log, marks, n, &st);
out:
    ps_messages_free(msgs, n);
    free(marks);
}
