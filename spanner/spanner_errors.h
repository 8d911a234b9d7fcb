/*
 * spanner_errors.h: the catalogue of Cloud Spanner's error messages that more than one
 * place sends, in Google's wording. Each is a macro over EM_FAIL (the status records the
 * caller's place) and returns the code it sets:
 *     return SP_ERR_INSTANCE_NOT_FOUND(st, name);
 * Reference: https://cloud.google.com/spanner/docs/reference/rest
 */
#ifndef SPANNER_ERRORS_H
#define SPANNER_ERRORS_H

#include "em_status.h"

#define SP_ERR_INSTANCE_NOT_FOUND(st, name)                                                        \
    EM_FAIL((st), EM_NOT_FOUND, "Instance not found: %.400s", (name))
#define SP_ERR_INSTANCE_EXISTS(st, name)                                                           \
    EM_FAIL((st), EM_ALREADY_EXISTS, "Instance already exists: %.400s", (name))
#define SP_ERR_DATABASE_NOT_FOUND(st, name)                                                        \
    EM_FAIL((st), EM_NOT_FOUND, "Database not found: %.400s", (name))
#define SP_ERR_DATABASE_EXISTS(st, name)                                                           \
    EM_FAIL((st), EM_ALREADY_EXISTS, "Database already exists: %.400s", (name))
#define SP_ERR_CONFIG_NOT_FOUND(st, name)                                                          \
    EM_FAIL((st), EM_NOT_FOUND, "Instance config not found: %.400s", (name))
#define SP_ERR_INVALID_NAME(st, what, name)                                                        \
    EM_FAIL((st), EM_INVALID_ARGUMENT, "Invalid %s name: %.400s", (what), (name))

#endif
