/*
 * pubsub_push: push delivery (pubsub_push.c).
 */
#ifndef PUBSUB_PUSH_H
#define PUBSUB_PUSH_H

#include "pubsub_registry.h"

/* Starts push delivery and attaches it to the registry as its deliverer: woken after a
 * commit or a nack (nothing happens when no push subscription exists), kicked by
 * configuration changes and timers, stopped when the registry closes. */
enum em_code ps_push_start(struct ps_registry *reg, struct em_status *st);

#endif
