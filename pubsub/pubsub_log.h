/*
 * pubsub_log: a topic's message log over its data store (pubsub_log.c).
 */
#ifndef PUBSUB_LOG_H
#define PUBSUB_LOG_H

#include "em_datastore.h"

#include <stdint.h>

/* Told on the writer thread after a batch that published messages. */
struct ps_log_events {
    void (*published)(void *arg);
    void *arg;
};
/* The hooks of a topic's data store; its arg is a struct ps_log_events. */
extern const struct em_datastore_hooks ps_log_hooks;

/* For jobs (writer thread): the next sequence number to hand out (publish), and what the
 * next publish would get. */
int64_t ps_log_take_seq(struct em_datafile *file, int64_t *publish_ns, int64_t now);
int64_t ps_log_next_seq(struct em_datafile *file);
int64_t ps_log_last_publish(struct em_datafile *file);
/* The highest committed sequence number (any thread). */
int64_t ps_log_committed(struct em_datafile *file);

#endif
