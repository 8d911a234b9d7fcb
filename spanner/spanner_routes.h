/*
 * spanner_routes: Cloud Spanner v1's route table.
 */
#ifndef SPANNER_ROUTES_H
#define SPANNER_ROUTES_H

#include "em_router.h"

extern const struct em_route spanner_routes[];

#endif
