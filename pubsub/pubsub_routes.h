/*
 * pubsub_routes: the Pub/Sub route table (see pubsub_routes.c); it ends with a NULL entry.
 */
#ifndef PUBSUB_ROUTES_H
#define PUBSUB_ROUTES_H

#include "em_router.h"

extern const struct em_route pubsub_routes[];

#endif
