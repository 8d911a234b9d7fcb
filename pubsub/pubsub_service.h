/*
 * pubsub_service: the Pub/Sub service as the core runtime sees it.
 */
#ifndef PUBSUB_SERVICE_H
#define PUBSUB_SERVICE_H

#include "em_service.h"

extern const struct em_service_def pubsub_service;

#endif
