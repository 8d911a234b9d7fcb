/*
 * kms_routes: the Cloud KMS route table (see kms_routes.c); it ends with a NULL entry.
 */
#ifndef KMS_ROUTES_H
#define KMS_ROUTES_H

#include "em_router.h"

extern const struct em_route kms_routes[];

#endif
