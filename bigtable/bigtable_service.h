/*
 * bigtable_service: the Bigtable service definition (struct em_service_def).
 */
#ifndef BIGTABLE_SERVICE_H
#define BIGTABLE_SERVICE_H

#include "em_service.h"

extern const struct em_service_def bigtable_service;

#endif
