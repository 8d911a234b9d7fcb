/*
 * em_fields: partial responses, Google's `fields` system parameter. A selection names the
 * members of a reply to keep, and the reply loses the others:
 *
 *   name,state                      two members
 *   keyRings/name,nextPageToken     a member of each element of an array (or of an object)
 *   keyRings(name,createTime)       several, the same way
 *   primary(name,state),labels      any depth; a member named alone is kept whole
 *   *                               every member (the reply whole)
 *
 * A path may be written with '/' or '.' between its parts, each part by its JSON name or
 * its proto name (createTime, create_time). A member no path names is dropped; a name
 * that is in no reply selects nothing (replies here carry no schema of every field to
 * refuse it by). A selection that does not parse is INVALID_ARGUMENT, before the method
 * runs. Errors are never filtered.
 *
 * Google reference: https://cloud.google.com/apis/docs/system-parameters
 */
#ifndef EM_FIELDS_H
#define EM_FIELDS_H

#include "em_status.h"

#include <cjson/cJSON.h>

/* A selection's longest text, deepest nesting and most parts. */
#define EM_FIELDS_MAX_TEXT  4096
#define EM_FIELDS_MAX_DEPTH 16
#define EM_FIELDS_MAX_PARTS 256

struct em_fields;

/* Parses a selection; *out is NULL for an empty one (nothing to filter). */
enum em_code em_fields_parse(const char *text, struct em_fields **out, struct em_status *st);

/* Keeps in json only what the selection names (json an object or an array of them). */
void em_fields_apply(const struct em_fields *fields, cJSON *json);

void em_fields_free(struct em_fields *fields);

#endif
