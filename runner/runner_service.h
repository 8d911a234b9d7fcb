/*
 * runner_service: the Dataflow runner service definition.
 */
#ifndef RUNNER_SERVICE_H
#define RUNNER_SERVICE_H

#include "em_service.h"

extern const struct em_service_def runner_service;

#endif
