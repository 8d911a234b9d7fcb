/*
 * bigtable_admin_parts.h: what bigtable_admin.c (instances, clusters, app profiles) and
 * bigtable_tables.c (tables) and bigtable_cascade.c share inside the admin domain. Not for
 * other files.
 */
#ifndef BIGTABLE_ADMIN_PARTS_H
#define BIGTABLE_ADMIN_PARTS_H

#include "bigtable_admin.h"

#include "em_crypto.h"

#include <pthread.h>

struct bt_admin {
    struct em_store *store;
    struct bt_replicas *replicas;  /* NULL: no replicas (unit tests) */
    pthread_mutex_t lock;          /* every call's read-modify-write */
    pthread_mutex_t cascade_lock;  /* the cascade's runs (bigtable_cascade.c) */
    int64_t grace_ns;              /* the engine's grace when KMS cannot be reached */
    struct bt_route_cache *routes; /* bt_route_for's recent answers (bigtable_tables.c) */
    /* the data directory's default key: seals what metadata.db keeps of customer data (an
     * authorized view's row prefixes and qualifiers, bigtable_views.c) */
    unsigned char seal_key[EM_AES_KEY_BYTES];
};

/* The route cache's life, with the admin's. */
struct bt_route_cache *bt_route_cache_new(void);
void bt_route_cache_free(struct bt_route_cache *cache);

/* The stored resource of a kind (BT_KIND_*), NOT_FOUND naming what ("Table") otherwise. */
enum em_code bt_load(struct bt_admin *admin, const char *name, const char *kind, const char *what,
                     cJSON **out, struct em_status *st);
/* Stores a resource (its "name" member) of the instance. */
enum em_code bt_save(struct bt_admin *admin, const cJSON *resource, const char *kind,
                     const char *instance, bool replace, struct em_status *st);
/* The instance part ("projects/p/instances/i") of a resource name; false when absent. */
bool bt_instance_of(const char *name, char out[BT_NAME_MAX]);
/* The project ID of a name, checked (INVALID_ARGUMENT otherwise). */
enum em_code bt_project_of(const char *name, char project[64], struct em_status *st);
/* Checks "projects/p/instances/i[/<collection>/<id>]": INVALID_ARGUMENT naming what. */
enum em_code bt_check_name(const char *name, const char *collection, const char *what,
                           struct em_status *st);
/* Removes the private members (names starting with '_') of a resource, in place. */
void bt_strip_private(cJSON *resource);
/* The id after the last '/'. */
const char *bt_last_id(const char *name);
/* The cluster's key (encryptionConfig.kmsKeyName), or NULL. */
const char *bt_cluster_key(const cJSON *cluster);

/* FAILED_PRECONDITION naming action when a cluster of the instance is DISABLED (a
 * replica's key refused), as Google refuses some admin calls then; under the lock. */
enum em_code bt_check_no_disabled_cluster(struct bt_admin *admin, const char *instance,
                                          const char *action, struct em_status *st);

/* Records in a table's stored JSON when its replica in a cluster was protected (its
 * encryption status reads UNKNOWN until a key check after that). */
void bt_stamp_protection(struct bt_admin *admin, cJSON *table, const char *cluster_id,
                         const char *replica);

/* Crypto-shreds the table's replica in every cluster of its instance (under the lock). */
void bt_table_shred_replicas(struct bt_admin *admin, const char *table, const char *instance);
/* A table gone for good at once, record and replicas (a failed restore's rollback). */
enum em_code bt_table_remove(struct bt_admin *admin, const char *name, struct em_status *st);

/* --- a table's settings (bigtable_table_settings.c) --- */

/* Checks the settings of a CreateTable request's table and stores them, canonical, in
 * stored (INVALID_ARGUMENT, or UNIMPLEMENTED for the settings not built). */
enum em_code bt_table_settings_create(const cJSON *table, cJSON *stored, struct em_status *st);
/* Applies one UpdateTable mask path to stored from table when it names a setting (*handled
 * true), the setting removed when table lacks it; *handled false for any other path. */
enum em_code bt_table_settings_update(const char *path, const cJSON *table, cJSON *stored,
                                      bool *handled, struct em_status *st);
/* INVALID_ARGUMENT when stored has tiered storage and a cluster of clusters stores on HDD. */
enum em_code bt_table_settings_check_storage(const cJSON *stored, const cJSON *clusters,
                                             struct em_status *st);

/* --- deleted tables (bigtable_undelete.c; under the lock) --- */

/* Records stored (a table's JSON) as deleted at now, in place of the table. */
enum em_code bt_deleted_table_keep(struct bt_admin *admin, const cJSON *stored, int64_t now,
                                   struct em_status *st);
/* Shreds the deleted table of that name, if any, and forgets it (a new table takes its
 * name: the replicas' names are the table's). */
enum em_code bt_deleted_table_purge(struct bt_admin *admin, const char *name, struct em_status *st);

/* Deletes every backup under prefix (an instance or a cluster): keys forgotten, files
 * removed, records deleted (bigtable_backup.c; under the lock). */
void bt_backups_remove_under(struct bt_admin *admin, const char *prefix);

#endif
