/*
 * bigtable_errors.h: the catalogue of Cloud Bigtable's error messages that more than one
 * place sends, in Google's wording. Each is a macro over EM_FAIL (the status records the
 * caller's place) and returns the code it sets:
 *     return BT_ERR_NOT_FOUND(st, "Table", name);
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest
 */
#ifndef BIGTABLE_ERRORS_H
#define BIGTABLE_ERRORS_H

#include "em_status.h"

/* what: "Instance", "Cluster", "Table", "AppProfile" */
#define BT_ERR_NOT_FOUND(st, what, name)                                                           \
    EM_FAIL((st), EM_NOT_FOUND, "%s not found: %.400s", (what), (name))
#define BT_ERR_EXISTS(st, what, name)                                                              \
    EM_FAIL((st), EM_ALREADY_EXISTS, "%s already exists: %.400s", (what), (name))
#define BT_ERR_INVALID_NAME(st, what, name)                                                        \
    EM_FAIL((st), EM_INVALID_ARGUMENT, "Invalid %s name: %.400s", (what), (name))
#define BT_ERR_NO_FAMILY(st, family)                                                               \
    EM_FAIL((st), EM_NOT_FOUND, "Requested column family not found: %.200s", (family))
/* A data call routed to a cluster whose replica's key KMS refuses (seed 003). */
#define BT_ERR_CLUSTER_KEY_INACCESSIBLE(st, cluster)                                               \
    EM_FAIL((st), EM_FAILED_PRECONDITION,                                                          \
            "The cluster %.300s is not accessible: its Cloud KMS key is disabled, destroyed or "   \
            "not usable by the Bigtable service agent.",                                           \
            (cluster))

/* A data call routed to a cluster the cascade disabled (a key of its instance refused). */
#define BT_ERR_CLUSTER_DISABLED_BY_CASCADE(st, cluster)                                            \
    EM_FAIL((st), EM_FAILED_PRECONDITION,                                                          \
            "The cluster %.300s is disabled: a Cloud KMS key of its instance is disabled, "        \
            "destroyed or not usable by the Bigtable service agent.",                              \
            (cluster))
/* A data call routed to a cluster whose data was deleted (its key refused for 30 days). */
#define BT_ERR_CLUSTER_DATA_DELETED(st, cluster)                                                   \
    EM_FAIL((st), EM_NOT_FOUND,                                                                    \
            "The data of the cluster %.300s was deleted: its Cloud KMS key was not usable for "    \
            "30 days.",                                                                            \
            (cluster))

/* An admin call Google refuses while a cluster of the instance is disabled by its key
 * (seed 003: create or delete a cluster, create a table, modify column families). */
#define BT_ERR_CLUSTER_DISABLED(st, action, cluster)                                               \
    EM_FAIL((st), EM_FAILED_PRECONDITION,                                                          \
            "Cannot %s while the cluster %.300s is disabled: its Cloud KMS key is not usable. "    \
            "Restore access to the key, or delete the instance, table or backup instead.",         \
            (action), (cluster))

#endif
