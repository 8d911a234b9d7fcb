/*
 * bigtable_undelete: deleted tables, recoverable for 7 days of emulator time as Google
 * keeps them (part of the admin domain: bigtable_admin's store and lock).
 *
 *   live --DeleteTable--> recoverable --UndeleteTable--> live (its families and cells)
 *                             |
 *                             +--7 days passed (bt_deleted_tables_expire, the tick)
 *                             +--a new table of the same id created
 *                             +--its cluster (that replica) or its instance deleted
 *                             +--its cluster's data deleted by the cascade (that replica)
 *                             v
 *                          shredded: keys forgotten, files removed (as a delete did before)
 *
 * A recoverable table is the table's stored JSON under kind BT_KIND_DELETED in place of
 * BT_KIND_TABLE (so get, list and every data call answer NOT_FOUND), plus "_deletedNs" and
 * "_purgeNs" (the end of its window) and "_iamPolicy": its IAM policy moves there, so that a
 * new table of the same id inherits no grant, and comes back with an undelete. Its replicas stay as
 * they were: their cells in their encrypted files, their keys with the CMEK engine, which keeps
 * checking them; a recoverable table takes no part in the cascade (it serves nothing), but its
 * replica in a cluster whose data the cascade deletes (30 days) goes too. Writes that were waiting
 * to replicate stay queued and flow again once the table is back.
 *
 * Undelete asks KMS at once about every replica's key (as a restore does): a key that is
 * not usable refuses it with FAILED_PRECONDITION naming the key; refused too while a cluster
 * of the instance is disabled. A cluster created after the deletion gets its replica
 * then, a copy of another replica under its own key.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.tables/undelete
 */
#include "bigtable_admin_parts.h"

#include "bigtable_errors.h"
#include "bigtable_store.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_NS (BT_UNDELETE_WINDOW_S * EM_NS_PER_SEC)

enum em_code bt_deleted_table_keep(struct bt_admin *admin, const cJSON *stored, int64_t now,
                                   struct em_status *st)
{
    char instance[BT_NAME_MAX];
    cJSON *deleted = cJSON_Duplicate(stored, true);
    if (!deleted)
        return EM_FAIL_OOM(st);
    bt_instance_of(em_json_string(stored, "name"), instance);
    cJSON_DeleteItemFromObject(deleted, "_deletedNs");
    cJSON_DeleteItemFromObject(deleted, "_purgeNs");
    em_json_add_int64(deleted, "_deletedNs", now);
    em_json_add_int64(deleted, "_purgeNs", now + WINDOW_NS);
    cJSON *policy = NULL;
    if (!em_iam_get_policy(admin->store, em_json_string(stored, "name"), &policy, st)) {
        cJSON_DeleteItemFromObjectCaseSensitive(policy, "etag");
        cJSON_AddItemToObject(deleted, "_iamPolicy", policy);
        /* one statement replaces the table's row (the name is the key): never both, never
         * none; then its policy (and its views') goes */
        if (!bt_save(admin, deleted, BT_KIND_DELETED, instance, true, st))
            em_iam_delete_under(admin->store, em_json_string(stored, "name"), st);
    }
    cJSON_Delete(deleted);
    return st->code;
}

enum em_code bt_deleted_table_purge(struct bt_admin *admin, const char *name, struct em_status *st)
{
    char instance[BT_NAME_MAX], *text = NULL;
    if (!bt_instance_of(name, instance) ||
        bt_store_get(admin->store, name, BT_KIND_DELETED, &text, st) || !text)
        return st->code;
    free(text);
    if (!bt_store_delete(admin->store, name, st))
        bt_table_shred_replicas(admin, name, instance);
    return st->code;
}

enum em_code bt_deleted_tables_expire(struct bt_admin *admin, int64_t now, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *list = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_list(admin->store, BT_KIND_DELETED, "projects/", true, &list, st)) {
        const cJSON *t;
        cJSON_ArrayForEach(t, list)
        {
            int64_t purge = 0;
            const char *name = em_json_string(t, "name");
            if (em_json_int64(t, "_purgeNs", &purge) && purge <= now &&
                bt_deleted_table_purge(admin, name, st) == EM_OK)
                em_info("bigtable: deleted table %s is gone for good (7 days passed)", name);
        }
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(list);
    return st->code;
}

/* --- undelete --- */

/* Under the lock: the recoverable table (its window not over at now), the instance with
 * no disabled cluster, and the instance's clusters. */
static enum em_code load_recoverable(struct bt_admin *admin, const char *name, int64_t now,
                                     cJSON **deleted, cJSON **clusters, struct em_status *st)
{
    char instance[BT_NAME_MAX];
    int64_t purge = 0;
    *deleted = *clusters = NULL;
    bt_instance_of(name, instance);
    if (bt_load(admin, name, BT_KIND_DELETED, "Table", deleted, st))
        return st->code;
    if (!em_json_int64(*deleted, "_purgeNs", &purge) || purge <= now) /* the tick is late */
        BT_ERR_NOT_FOUND(st, "Table", name);
    else if (!bt_check_no_disabled_cluster(admin, instance, "undelete a table", st))
        bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, clusters, st);
    if (st->code) {
        cJSON_Delete(*deleted);
        *deleted = NULL;
    }
    return st->code;
}

/* KMS asked now about every replica the table has (outside the lock: a KMS call). */
static enum em_code check_replica_keys(struct bt_admin *admin, const char *name,
                                       const cJSON *clusters, struct em_status *st)
{
    const cJSON *c;
    if (!admin->replicas)
        return EM_OK;
    cJSON_ArrayForEach(c, clusters)
    {
        char replica[BT_NAME_MAX];
        struct em_cmek_info info;
        bt_replica_name(name, bt_last_id(em_json_string(c, "name")), replica);
        if (!bt_replicas_info(admin->replicas, replica, &info))
            continue; /* a cluster created since the deletion: made below */
        enum em_code rc = bt_replicas_check_now(admin->replicas, replica, st);
        if (rc == EM_FAILED_PRECONDITION && bt_replicas_info(admin->replicas, replica, &info))
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Cannot undelete the table %.300s: the Cloud KMS key %.300s of the "
                           "cluster %.300s is not accessible: %.300s",
                           name, info.kms_key, em_json_string(c, "name"), info.reason);
        if (rc)
            return rc;
    }
    return EM_OK;
}

/* The replica of every cluster that has none (created after the deletion): protected
 * under its cluster's key and filled from another replica (under the lock). */
static enum em_code fill_missing_replicas(struct bt_admin *admin, cJSON *table,
                                          const cJSON *clusters, struct em_status *st)
{
    const char *name = em_json_string(table, "name");
    char project[64], source[BT_NAME_MAX] = "";
    const cJSON *c;
    struct em_cmek_info info;
    if (!admin->replicas || bt_project_of(name, project, st))
        return st->code;
    cJSON_ArrayForEach(c, clusters)
    {
        bt_replica_name(name, bt_last_id(em_json_string(c, "name")), source);
        if (bt_replicas_info(admin->replicas, source, &info))
            break;
        source[0] = '\0';
    }
    cJSON_ArrayForEach(c, clusters)
    {
        char replica[BT_NAME_MAX];
        const char *id = bt_last_id(em_json_string(c, "name"));
        bt_replica_name(name, id, replica);
        if (bt_replicas_info(admin->replicas, replica, &info))
            continue;
        if (bt_replicas_protect(admin->replicas, replica, project, bt_cluster_key(c), st))
            return st->code;
        if (source[0] && bt_replicas_copy(admin->replicas, source, replica, st)) {
            struct em_status ignored = {0};
            bt_replicas_shred(admin->replicas, replica, &ignored); /* made again next time */
            return st->code;
        }
        bt_stamp_protection(admin, table, id, replica);
    }
    return EM_OK;
}

/* Under the lock: the table live again, if it is still recoverable. */
static enum em_code bring_back(struct bt_admin *admin, const char *name, int64_t now,
                               struct em_status *st)
{
    char instance[BT_NAME_MAX];
    cJSON *table = NULL, *clusters = NULL;
    if (load_recoverable(admin, name, now, &table, &clusters, st))
        return st->code;
    bt_instance_of(name, instance);
    cJSON_DeleteItemFromObject(table, "_deletedNs");
    cJSON_DeleteItemFromObject(table, "_purgeNs");
    cJSON *policy = cJSON_DetachItemFromObjectCaseSensitive(table, "_iamPolicy"), *restored = NULL;
    if (!fill_missing_replicas(admin, table, clusters, st) &&
        !bt_save(admin, table, BT_KIND_TABLE, instance, true, st) && /* replaces the deleted row */
        policy)
        em_iam_set_policy(admin->store, name, policy, &restored, st); /* its grants back */
    cJSON_Delete(restored);
    cJSON_Delete(policy);
    cJSON_Delete(table);
    cJSON_Delete(clusters);
    return st->code;
}

enum em_code bt_table_undelete(struct bt_admin *admin, const char *name, int64_t now, cJSON **out,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *deleted = NULL, *clusters = NULL;
    *out = NULL;
    if (bt_check_name(name, "tables", "table", st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    load_recoverable(admin, name, now, &deleted, &clusters, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(deleted);
    if (!st->code && !check_replica_keys(admin, name, clusters, st)) {
        pthread_mutex_lock(&admin->lock);
        bring_back(admin, name, now, st);
        pthread_mutex_unlock(&admin->lock);
    }
    cJSON_Delete(clusters);
    if (st->code)
        return st->code;
    return bt_table_get(admin, name, BT_VIEW_SCHEMA, out, st);
}
