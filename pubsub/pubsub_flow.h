/*
 * pubsub_flow: the data calls of Pub/Sub and its timers (pubsub_publish.c,
 * pubsub_sub_data.c, pubsub_pull.c, pubsub_dead_letter.c, pubsub_seek.c,
 * pubsub_timers.c), tying the registry, the topics' data stores and the subscriptions'
 * backlogs together. Every data call passes its topic's CMEK gate
 * (ps_topic_open_data or ps_topic_open_backlog -> em_cmek_use).
 */
#ifndef PUBSUB_FLOW_H
#define PUBSUB_FLOW_H

#include "pubsub_registry.h"

/* Publishes msgs (seq and publish_ns are set) and waits until they are stored. */
enum em_code ps_publish(struct ps_registry *reg, const char *topic, struct ps_message *msgs,
                        size_t count, int64_t now, struct em_status *st);

/* The same without waiting: ps_publish_start queues the messages on the topic's log and
 * done(done_arg) runs on the log thread once they are stored or failed (it must not
 * block); ps_publish_end then gives the outcome and frees *op. msgs stay the caller's
 * and must live until then. When start fails nothing is queued and done never runs. */
struct ps_publish;
enum em_code ps_publish_start(struct ps_registry *reg, const char *topic, struct ps_message *msgs,
                              size_t count, int64_t now, void (*done)(void *done_arg),
                              void *done_arg, struct ps_publish **op, struct em_status *st);
enum em_code ps_publish_end(struct ps_publish *op, struct em_status *st);

/* Pull: up to max messages; waits up to the registry's bound for messages unless
 * return_immediately. */
enum em_code ps_pull(struct ps_registry *reg, const char *sub, int max, bool return_immediately,
                     int64_t now, struct ps_received **out, size_t *count, struct em_status *st);
/* Same on a subscription reference, never waiting (push). */
enum em_code ps_take(struct ps_registry *reg, struct ps_sub *sub, int max, int64_t now,
                     struct ps_received **out, size_t *count, struct em_status *st);
/* Acknowledge and ModifyAckDeadline. On a subscription with exactly-once delivery an ack
 * ID that is not its message's current delivery (its lease over, the message redelivered
 * or nacked since) is refused while the others take effect (acknowledging a message
 * acknowledged already succeeds); the call then fails with Google's INVALID_ARGUMENT
 * "Some acknowledgement ids in the request were invalid. ..." and an ErrorInfo (reason
 * EXACTLY_ONCE_ACKID_FAILURE) whose metadata, an object naming each refused ack ID
 * PERMANENT_FAILURE_INVALID_ACK_ID, goes to *refused (NULL: not wanted), as it may be too
 * large for st. Without exactly-once delivery a stale ack ID changes nothing and is no
 * error. */
enum em_code ps_acknowledge(struct ps_registry *reg, const char *sub, const char *const *ack_ids,
                            size_t count, int64_t now, struct cJSON **refused,
                            struct em_status *st);
enum em_code ps_modify_ack_deadline(struct ps_registry *reg, const char *sub,
                                    const char *const *ack_ids, size_t count, int seconds,
                                    int64_t now, struct cJSON **refused, struct em_status *st);
/* Seek to a time (snapshot NULL) or to a snapshot. */
enum em_code ps_seek(struct ps_registry *reg, const char *sub, const char *snapshot,
                     int64_t time_ns, int64_t now, struct em_status *st);
/* Creates a snapshot of a subscription's acknowledgement state. */
enum em_code ps_snapshot_create(struct ps_registry *reg, const char *name, const char *sub,
                                const char *labels_json, int64_t now, struct ps_snapshot **out,
                                struct em_status *st);

/* Loads a subscription's backlog from its topic's store (sub->lock held). */
enum em_code ps_sub_load(struct ps_sub *sub, struct em_datafile *log, struct em_status *st);
/* The timers (tick hook): lease expiry, retention, dead-lettering, expiration policies,
 * snapshot expiry, message clean-up, idle logs. */
enum em_code ps_tick(struct ps_registry *reg, int64_t now, struct em_status *st);

#endif
