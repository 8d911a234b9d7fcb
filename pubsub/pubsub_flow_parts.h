/*
 * pubsub_flow_parts: what the files of the data calls (pubsub_publish.c,
 * pubsub_sub_data.c, pubsub_dead_letter.c, pubsub_pull.c, pubsub_seek.c,
 * pubsub_timers.c) share with each other and with no other file.
 */
#ifndef PUBSUB_FLOW_PARTS_H
#define PUBSUB_FLOW_PARTS_H

#include "pubsub_flow.h"
#include "pubsub_json.h"
#include "pubsub_store.h"

/* Publishes to a topic the caller holds and waits until the messages are stored. */
enum em_code ps_publish_to(struct ps_topic *topic, struct ps_message *msgs, size_t count,
                           int64_t now, struct em_status *st);

/* Store jobs (run with em_datafile_run). ps_job_read reads messages by sequence number;
 * missing ones (deleted) are left zeroed (seq 0). */
struct read_job {
    const int64_t *seqs;
    size_t count;
    struct ps_message *out;
};
enum em_code ps_job_read(struct em_datafile *log, void *arg, struct em_status *st);

/* ps_job_scan reads up to limit messages from `from` on into msgs (malloc'd). */
struct scan_job {
    int64_t from;
    size_t limit;
    struct ps_message *msgs;
    size_t count;
};
enum em_code ps_job_scan(struct em_datafile *log, void *arg, struct em_status *st);

/* Stores the subscription's floor (and marks) if it moved (sub->lock held). */
enum em_code ps_save_backlog(struct ps_sub *sub, struct em_datafile *log,
                             const struct ps_mark *marks, size_t count, struct em_status *st);

/* A call's hold on a subscription's data: its topic (referenced), the topic's store
 * through the CMEK gate, then sub->lock with the backlog loaded. Unlock releases all. */
enum em_code ps_sub_lock_data(struct ps_sub *sub, struct ps_topic **topic, struct em_datafile **log,
                              struct em_status *st);
void ps_sub_unlock_data(struct ps_sub *sub, struct ps_topic *topic, struct em_datafile *log);
/* The error of a data call on a detached subscription. */
enum em_code ps_sub_detached_error(const struct ps_sub *sub, struct em_status *st);

/* Dead-lettering (pubsub_dead_letter.c). The dead-letter topic, with a reference, or
 * NULL; resolved before the subscription's lock is taken (the registry lock is never
 * taken under it). */
struct ps_topic *ps_dead_letter_topic(struct ps_registry *reg, struct ps_sub *sub);
/* Forwards the subscription's dead messages to dlt and acknowledges them (sub->lock held). */
void ps_forward_dead(struct ps_sub *sub, struct ps_topic *dlt, struct em_datafile *log,
                     const struct ps_delivery_policy *p, int64_t now);

#endif
