/*
 * em_mask: update masks (google.protobuf.FieldMask) as Google's REST front end reads them.
 *
 * A mask arrives as one comma-separated string ("labels,pushConfig.pushEndpoint"), in the
 * query (?updateMask=, KMS) or in the body ("updateMask", Pub/Sub). Google accepts each
 * path in the JSON name (camelCase) or the proto name (snake_case), segment by segment.
 * The service decides what a path means and words its own errors; this file only splits
 * and matches.
 *
 * Google reference: https://protobuf.dev/reference/protobuf/google.protobuf/#field-mask
 */
#ifndef EM_MASK_H
#define EM_MASK_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

struct em_message;

/* Longest path handed to a callback; a longer one is cut there (it names no field). */
#define EM_MASK_PATH_MAX 256

typedef enum em_code (*em_mask_path_fn)(const char *path, void *arg, struct em_status *st);

/* Calls fn for each path of mask, spaces around it trimmed and empty paths skipped, and
 * stops at the first failure. Sets *count to the number of paths seen (count may be
 * NULL), so a caller can refuse a mask with none ("", ",", " "). */
enum em_code em_mask_each(const char *mask, em_mask_path_fn fn, void *arg, size_t *count,
                          struct em_status *st);

/* Whether path names the field whose camelCase path is camel: "pushConfig.pushEndpoint"
 * matches itself and "push_config.push_endpoint". */
bool em_mask_path_is(const char *path, const char *camel);

/* A read mask (GetInstanceRequest.field_mask): *out is a copy of json, a msg, with only
 * the top-level fields the paths of mask name ("replica_compute_capacity.node_count" keeps
 * all of replicaComputeCapacity); json whole when the mask names nothing. A path naming
 * no field of msg is INVALID_ARGUMENT naming it and the request field (mask_field). */
enum em_code em_mask_select(const char *mask, const char *mask_field, const struct em_message *msg,
                            const cJSON *json, cJSON **out, struct em_status *st);

#endif
