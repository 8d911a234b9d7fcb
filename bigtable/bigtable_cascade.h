/*
 * bigtable_cascade: seed 003's cascade, how a refused key takes an instance's clusters
 * down one key check at a time, and the 30-day deletion (README, "Cloud Bigtable",
 * "The CMEK cascade").
 *
 * The CMEK engine checks every replica (one per table per cluster, so only once the
 * instance has a table) every 5 minutes of emulator time and reports each check round
 * (em_cmek_hooks.round_done). After each round the cascade looks at every instance:
 *
 *   - a cluster is "refused" when a replica of it is INACCESSIBLE (KMS answered no: key
 *     version disabled or destroyed, permission revoked). A KMS outage (GRACE, OFFLINE)
 *     is not a refusal: each cluster lives on its cached key for the 1-hour grace and then
 *     goes OFFLINE on its own, which the table's ENCRYPTION_VIEW reports per cluster.
 *   - while some cluster is refused the instance's cascade counts key checks: 1 at the
 *     round that found the refusal, then one more per later check of the first refused
 *     cluster's first refused replica (a clock advanced by N intervals at once counts N).
 *     After k checks, the refused clusters and then the others, in name order, are
 *     DISABLED until k clusters are (refused ones are always: their keys are gone from
 *     memory). Requests routed to a DISABLED cluster fail; multi-cluster routing is
 *     served by the clusters not DISABLED yet.
 *   - when no cluster is refused any more (the key enabled again), every cluster whose
 *     data still exists is READY again and the count starts over.
 *   - a cluster refused for 30 consecutive days of emulator time (the engine's
 *     INACCESSIBLE since) has its data deleted for good: every replica of it is
 *     crypto-shredded (bt_replicas_shred). The cluster stays, DISABLED for good (data
 *     calls routed to it: NOT_FOUND), and no longer holds the others down.
 *
 * Persisted (so a restart changes nothing) as one record per instance in
 * bigtable_resources (kind "cascade", name "<instance>/cascade", written only by this
 * file, under its own lock, and deleted with the instance):
 *     {"checks": "2", "seenCheckNs": "...", "disabled": {"<cluster id>": "<since ns>"},
 *      "dataDeleted": {"<cluster id>": "<since ns>"}}
 * Readers (cluster state, routing) only read the record.
 */
#ifndef BIGTABLE_CASCADE_H
#define BIGTABLE_CASCADE_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bt_admin;

#define BT_KIND_CASCADE "cascade"

#define BT_DATA_DELETED_AFTER_NS (30LL * 24 * 3600 * 1000000000LL)

/* One cluster as the cascade sees it, in name order. */
struct bt_cascade_cluster {
    bool refused;          /* in: a replica's key is refused (INACCESSIBLE) */
    int64_t refused_since; /* in: since when (its earliest refused replica) */
    int64_t latest_check;  /* in: the latest key check of its first refused replica */
    bool disabled;         /* in and out: DISABLED by the cascade */
    bool data_deleted;     /* in and out: its data is gone (30 days) */
    bool delete_now;       /* out: its data must be deleted now */
};

/* An instance's count of key checks since a refusal was found. */
struct bt_cascade {
    int64_t checks;
    int64_t seen_check_ns; /* the latest key check counted */
};

/* Applies the rules above to an instance's clusters at emulator time now; true when
 * anything changed (to be saved). interval_ns: the key check interval. */
bool bt_cascade_advance(struct bt_cascade *cascade, struct bt_cascade_cluster *clusters, size_t n,
                        int64_t now, int64_t interval_ns);

/* Runs the cascade of every instance (the engine's round_done hook, and once at start-up)
 * and saves what changed; deletes the data of clusters refused for 30 days. */
enum em_code bt_cascade_run(struct bt_admin *admin, int64_t now, int64_t interval_ns,
                            struct em_status *st);

/* Drops a deleted cluster's marks (a new cluster of the same id starts afresh). */
void bt_cascade_forget_cluster(struct bt_admin *admin, const char *cluster);

/* The stored record of an instance's cascade (NULL when it has none), and how it marks a
 * cluster. */
enum bt_cascade_mark { BT_CASCADE_NONE, BT_CASCADE_DISABLED, BT_CASCADE_DATA_DELETED };
cJSON *bt_cascade_load(struct bt_admin *admin, const char *instance);
enum bt_cascade_mark bt_cascade_mark_of(const cJSON *record, const char *cluster_id);

#endif
