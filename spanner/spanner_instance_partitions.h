/*
 * spanner_instance_partitions: an instance's partitions, isolated sets of capacity in an
 * instance config of their own that databases may place data on (Enterprise Plus
 * edition). Created and updated by operations; stored (spanner_store.h) and deleted with
 * their instance. The emulator has no placements (the DDL that puts rows in a partition),
 * so no database references a partition and none is ever kept from deletion.
 * Reference:
 * https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances.instancePartitions
 */
#ifndef SPANNER_INSTANCE_PARTITIONS_H
#define SPANNER_INSTANCE_PARTITIONS_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdint.h>

struct sp_admin;

/* CreateInstancePartition (request: its body) under instance: the partition, CREATING. */
enum em_code sp_partition_create(struct sp_admin *admin, const char *instance, const cJSON *request,
                                 int64_t now, cJSON **out, struct em_status *st);
/* The create or update operation's end: the partition READY, as it is now. */
enum em_code sp_partition_ready(struct sp_admin *admin, const char *name, cJSON **out,
                                struct em_status *st);
enum em_code sp_partition_get(struct sp_admin *admin, const char *name, cJSON **out,
                              struct em_status *st);
/* The partitions of an instance, or with "projects/p/instances/-" of every instance. */
enum em_code sp_partition_list(struct sp_admin *admin, const char *parent, cJSON **out,
                               struct em_status *st);
/* UpdateInstancePartition (request: its body): display name and capacity by fieldMask,
 * with the etag check. */
enum em_code sp_partition_update(struct sp_admin *admin, const char *name, const cJSON *request,
                                 int64_t now, cJSON **out, struct em_status *st);
/* DeleteInstancePartition (etag: NULL or "" for no check). */
enum em_code sp_partition_delete(struct sp_admin *admin, const char *name, const char *etag,
                                 struct em_status *st);

#endif
