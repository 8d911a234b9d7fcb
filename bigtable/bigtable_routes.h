/*
 * bigtable_routes: the Cloud Bigtable route table (admin v2 and data v2).
 */
#ifndef BIGTABLE_ROUTES_H
#define BIGTABLE_ROUTES_H

#include "em_router.h"

extern const struct em_route bigtable_routes[];

#endif
