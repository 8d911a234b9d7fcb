/*
 * spanner_service: the Cloud Spanner service definition.
 */
#ifndef SPANNER_SERVICE_H
#define SPANNER_SERVICE_H

#include "em_service.h"

extern const struct em_service_def spanner_service;

#endif
