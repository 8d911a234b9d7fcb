/*
 * bigtable_admin: the domain of Bigtable's admin plane (bigtableadmin v2): instances with
 * their clusters (each with its own immutable encryption config, the key in the cluster's
 * region), app profiles (multi-cluster or single-cluster routing) and tables (column
 * families with GC rules, views, deletion protection), persisted through bigtable_store.
 * Resources travel as their API JSON (google.bigtable.admin.v2 proto3 JSON), which is also
 * what is stored, plus private members starting with '_' that never leave the domain.
 *
 * Every table has one replica per cluster (bigtable_replicas.h), each a protected
 * resource of the CMEK engine under its cluster's key: made when the table is created
 * (for every cluster) or the cluster is (for every table), shredded when either goes. A
 * deleted table keeps its replicas for 7 days, recoverable (bigtable_undelete.c):
 *
 *   live --delete--> recoverable --undelete--> live
 *                        \--7 days / same id created / cluster or instance deleted--> shredded
 *
 * Cluster state, as Google reports it:
 *   CREATING --operation done--> READY <--key usable again-- DISABLED
 *                                  \--the cascade (bigtable_cascade.h)--/
 * DISABLED is derived on every read from the cascade's record of the instance and the
 * CMEK states of the cluster's replicas. While
 * a cluster of the instance is DISABLED, creating or deleting a cluster, creating a table
 * and modifying column families are refused (FAILED_PRECONDITION), as Google does;
 * deleting an instance or a table is allowed.
 *
 * Long-running methods are split in two, as in spanner_admin: the first half checks the
 * request and records the resource at once (state CREATING); the operation's work then
 * finishes it (*_ready) and answers the resource.
 *
 * Each function starts from a clean status (it overwrites *st). One mutex serialises the
 * read-modify-write of each call; every function is thread-safe.
 */
#ifndef BIGTABLE_ADMIN_H
#define BIGTABLE_ADMIN_H

#include "bigtable_cascade.h"
#include "bigtable_replicas.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct em_store;
struct bt_admin;

/* replicas: the registry of table replicas (NULL in unit tests: no replica is made, keys
 * are checked by grammar and location only); data_dir: where the default key is
 * (default-encryption.key, the CMEK engine's). Seals the views a release before session
 * 26 kept in clear (bt_views_seal_stored). */
enum em_code bt_admin_open(struct em_store *store, struct bt_replicas *replicas,
                           const char *data_dir, struct bt_admin **out, struct em_status *st);
void bt_admin_close(struct bt_admin *admin);
/* The CMEK engine's grace (config kms_grace_s), for the end of a cluster's grace in a
 * table's ENCRYPTION_VIEW (default: 1 hour). */
void bt_admin_set_kms_grace(struct bt_admin *admin, int64_t grace_ns);
enum em_code bt_admin_reset(struct bt_admin *admin, struct em_status *st);

/* --- instances (parent "projects/p") --- */

/* request: the whole CreateInstanceRequest (instanceId, instance, clusters). *out is the
 * Instance (CREATING); *zone receives the first cluster's zone (the operation's
 * location). */
enum em_code bt_instance_create(struct bt_admin *admin, const char *parent, const cJSON *request,
                                int64_t now, cJSON **out, char zone[64], struct em_status *st);
/* Instance and clusters READY. */
enum em_code bt_instance_ready(struct bt_admin *admin, const char *name, cJSON **out,
                               struct em_status *st);
enum em_code bt_instance_get(struct bt_admin *admin, const char *name, cJSON **out,
                             struct em_status *st);
enum em_code bt_instance_list(struct bt_admin *admin, const char *parent, cJSON **out,
                              struct em_status *st);
/* mask: comma-separated field names (displayName/display_name, labels, type); NULL: the
 * PUT of UpdateInstance (displayName, labels and type from instance). */
enum em_code bt_instance_update(struct bt_admin *admin, const char *name, const cJSON *instance,
                                const char *mask, cJSON **out, struct em_status *st);
enum em_code bt_instance_delete(struct bt_admin *admin, const char *name, struct em_status *st);
/* The zone of the instance's first cluster (operations of the instance are named
 * under it). */
enum em_code bt_instance_zone(struct bt_admin *admin, const char *name, char zone[64],
                              struct em_status *st);

/* --- clusters --- */

enum em_code bt_cluster_create(struct bt_admin *admin, const char *instance, const char *id,
                               const cJSON *cluster, cJSON **out, struct em_status *st);
enum em_code bt_cluster_ready(struct bt_admin *admin, const char *name, cJSON **out,
                              struct em_status *st);
enum em_code bt_cluster_get(struct bt_admin *admin, const char *name, cJSON **out,
                            struct em_status *st);
/* instance may be "projects/p/instances/-": every cluster of the project. */
enum em_code bt_cluster_list(struct bt_admin *admin, const char *instance, cJSON **out,
                             struct em_status *st);
/* mask: serve_nodes, cluster_config.cluster_autoscaling_config[...] (snake or camel
 * case); NULL: the PUT of UpdateCluster (serveNodes). encryption_config is immutable. */
enum em_code bt_cluster_update(struct bt_admin *admin, const char *name, const cJSON *cluster,
                               const char *mask, cJSON **out, struct em_status *st);
enum em_code bt_cluster_delete(struct bt_admin *admin, const char *name, struct em_status *st);

/* --- app profiles --- */

enum em_code bt_app_profile_create(struct bt_admin *admin, const char *instance, const char *id,
                                   const cJSON *profile, cJSON **out, struct em_status *st);
enum em_code bt_app_profile_get(struct bt_admin *admin, const char *name, cJSON **out,
                                struct em_status *st);
enum em_code bt_app_profile_list(struct bt_admin *admin, const char *instance, cJSON **out,
                                 struct em_status *st);
enum em_code bt_app_profile_update(struct bt_admin *admin, const char *name, const cJSON *profile,
                                   const char *mask, cJSON **out, struct em_status *st);
enum em_code bt_app_profile_delete(struct bt_admin *admin, const char *name, struct em_status *st);

/* --- tables (bigtable_tables.c) --- */

enum bt_table_view {
    BT_VIEW_NAME_ONLY,
    BT_VIEW_SCHEMA,
    BT_VIEW_REPLICATION,
    BT_VIEW_ENCRYPTION,
    BT_VIEW_FULL,
};
/* "NAME_ONLY", "SCHEMA_VIEW", ... (NULL: fallback); INVALID_ARGUMENT when unknown. */
enum em_code bt_table_view_parse(const char *text, enum bt_table_view fallback,
                                 enum bt_table_view *out, struct em_status *st);

/* request: the CreateTableRequest (tableId, table, initialSplits). */
enum em_code bt_table_create(struct bt_admin *admin, const char *instance, const cJSON *request,
                             int64_t now, cJSON **out, struct em_status *st);
enum em_code bt_table_get(struct bt_admin *admin, const char *name, enum bt_table_view view,
                          cJSON **out, struct em_status *st);
enum em_code bt_table_list(struct bt_admin *admin, const char *instance, enum bt_table_view view,
                           cJSON **out, struct em_status *st);
/* modifications: the ModifyColumnFamiliesRequest's list. *dropped receives the families
 * dropped (a JSON array of names) whose cells the caller deletes. */
enum em_code bt_table_modify_families(struct bt_admin *admin, const char *name,
                                      const cJSON *modifications, cJSON **out, cJSON **dropped,
                                      struct em_status *st);
/* mask: deletionProtection / deletion_protection. */
enum em_code bt_table_update(struct bt_admin *admin, const char *name, const cJSON *table,
                             const char *mask, cJSON **out, struct em_status *st);
/* The table leaves get and list and its data calls answer NOT_FOUND, but it stays
 * recoverable (bt_table_undelete) for BT_UNDELETE_WINDOW_S of emulator time from now: its
 * replicas keep their encrypted files and keys (bigtable_undelete.c). */
enum em_code bt_table_delete(struct bt_admin *admin, const char *name, int64_t now,
                             struct em_status *st);
/* The names of every table of every instance, a JSON array of strings (the replication
 * drain, bigtable_replication.h). */
enum em_code bt_table_names(struct bt_admin *admin, cJSON **out, struct em_status *st);

/* --- deleted tables (bigtable_undelete.c) --- */

#define BT_UNDELETE_WINDOW_S (7LL * 86400) /* how long a deleted table stays recoverable */

/* UndeleteTable: the deleted table back, with its column families and its cells, *out its
 * Table (schema view). NOT_FOUND when no table of that name is recoverable;
 * FAILED_PRECONDITION naming the key when a replica's key is not usable now (KMS is asked
 * at once), or while a cluster of the instance is disabled. */
enum em_code bt_table_undelete(struct bt_admin *admin, const char *name, int64_t now, cJSON **out,
                               struct em_status *st);
/* Crypto-shreds the deleted tables whose window ended at or before now. */
enum em_code bt_deleted_tables_expire(struct bt_admin *admin, int64_t now, struct em_status *st);

/* --- what the data plane needs --- */

/* A table as the data plane sees it: its families and granularity, and the replicas to
 * serve a call, in routing order (the app profile's: multi-cluster, every cluster of the
 * instance or the profile's clusterIds; single-cluster, that one). */
#define BT_MAX_CLUSTERS 8
struct bt_route {
    cJSON *table; /* the stored Table (columnFamilies), owned */
    int cluster_count;
    char clusters[BT_MAX_CLUSTERS][BT_NAME_MAX];     /* cluster names, routing order */
    char replicas[BT_MAX_CLUSTERS][BT_NAME_MAX];     /* the table's replica in each */
    enum bt_cascade_mark marks[BT_MAX_CLUSTERS];     /* each one's mark by the cascade */
    bool single_cluster;                             /* the profile names one cluster */
    int all_count;                                   /* every cluster of the instance... */
    char all_replicas[BT_MAX_CLUSTERS][BT_NAME_MAX]; /* ...and their replicas (writes) */
};
/* app_profile: its id, NULL or "" for "default". NOT_FOUND for an unknown table or
 * profile. */
enum em_code bt_route_for(struct bt_admin *admin, const char *table, const char *app_profile,
                          struct bt_route *out, struct em_status *st);
void bt_route_clear(struct bt_route *route);
/* The same route shared instead of copied (the data plane's hot path: no copy of the
 * route and its table): read only, released with bt_route_put. */
enum em_code bt_route_get(struct bt_admin *admin, const char *table, const char *app_profile,
                          const struct bt_route **out, struct em_status *st);
void bt_route_put(const struct bt_route *route);

#endif
