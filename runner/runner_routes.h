/*
 * runner_routes: the Dataflow v1b3 route table.
 */
#ifndef RUNNER_ROUTES_H
#define RUNNER_ROUTES_H

#include "em_router.h"

extern const struct em_route runner_routes[];

#endif
