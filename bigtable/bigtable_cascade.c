/*
 * bigtable_cascade: the cascade's rules (bt_cascade_advance, pure) and their application
 * to the stored instances after each key check round (bt_cascade_run). See
 * bigtable_cascade.h. Part of the admin domain: it reads and writes the stored clusters
 * and instances under the admin lock.
 */
#include "bigtable_cascade.h"

#include "bigtable_admin_parts.h"
#include "bigtable_replicas.h"
#include "bigtable_store.h"
#include "em_json.h"
#include "em_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLUSTERS 64

/* --- the rules --- */

/* Clusters refused for 30 days lose their data (and stay DISABLED). */
static bool delete_expired(struct bt_cascade_cluster *clusters, size_t n, int64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        struct bt_cascade_cluster *c = &clusters[i];
        c->delete_now = false;
        if (c->data_deleted || !c->refused || now - c->refused_since < BT_DATA_DELETED_AFTER_NS)
            continue;
        c->data_deleted = c->delete_now = c->disabled = true;
        changed = true;
    }
    return changed;
}

/* The first refused cluster whose data still exists, or NULL. */
static const struct bt_cascade_cluster *first_refused(const struct bt_cascade_cluster *clusters,
                                                      size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (clusters[i].refused && !clusters[i].data_deleted)
            return &clusters[i];
    return NULL;
}

static bool set_disabled(struct bt_cascade_cluster *c, bool disabled)
{
    if (c->data_deleted || c->disabled == disabled)
        return false;
    c->disabled = disabled;
    return true;
}

/* Counts the key checks since the refusal was found: one for the check that found it,
 * then one per interval the first refused replica's latest check moved (at least one). */
static bool count_checks(struct bt_cascade *cascade, int64_t latest_check, int64_t interval_ns)
{
    if (cascade->checks == 0) {
        cascade->checks = 1;
        cascade->seen_check_ns = latest_check;
        return true;
    }
    if (latest_check <= cascade->seen_check_ns)
        return false;
    int64_t steps = interval_ns > 0 ? (latest_check - cascade->seen_check_ns) / interval_ns : 1;
    cascade->checks += steps > 0 ? steps : 1;
    cascade->seen_check_ns = latest_check;
    return true;
}

bool bt_cascade_advance(struct bt_cascade *cascade, struct bt_cascade_cluster *clusters, size_t n,
                        int64_t now, int64_t interval_ns)
{
    bool changed = delete_expired(clusters, n, now);
    const struct bt_cascade_cluster *refused = first_refused(clusters, n);
    if (!refused) { /* nothing refused (any more): every cluster with data is READY */
        for (size_t i = 0; i < n; i++)
            changed |= set_disabled(&clusters[i], false);
        if (cascade->checks) {
            *cascade = (struct bt_cascade){0};
            changed = true;
        }
        return changed;
    }
    changed |= count_checks(cascade, refused->latest_check, interval_ns);
    /* the refused clusters first (they cannot serve), then the others in name order */
    int64_t down = 0;
    for (size_t i = 0; i < n; i++)
        if (clusters[i].refused && !clusters[i].data_deleted) {
            changed |= set_disabled(&clusters[i], true);
            down++;
        }
    for (size_t i = 0; i < n; i++)
        if (!clusters[i].refused && !clusters[i].data_deleted) {
            changed |= set_disabled(&clusters[i], down < cascade->checks);
            down += clusters[i].disabled;
        }
    return changed;
}

/* --- applied to the stored instances --- */

/* What the engine says of a cluster's replicas (one per table). */
static void observe_cluster(struct bt_admin *admin, const char *cluster_id, const cJSON *tables,
                            int64_t interval_ns, struct bt_cascade_cluster *out)
{
    const cJSON *table;
    cJSON_ArrayForEach(table, tables)
    {
        char replica[BT_NAME_MAX];
        struct em_cmek_info info;
        bt_replica_name(em_json_string(table, "name"), cluster_id, replica);
        if (!bt_replicas_info(admin->replicas, replica, &info) ||
            info.state != EM_CMEK_INACCESSIBLE)
            continue;
        int64_t latest = info.next_check_ns - interval_ns;
        if (!out->refused) {
            out->refused_since = info.state_since_ns;
            out->latest_check = latest > info.last_check_ns ? latest : info.last_check_ns;
        } else if (info.state_since_ns < out->refused_since) {
            out->refused_since = info.state_since_ns;
        }
        out->refused = true;
    }
}

/* Crypto-shreds the cluster's replica of each of tables. */
static void shred_in_cluster(struct bt_admin *admin, const char *cluster, const cJSON *tables)
{
    const cJSON *table;
    cJSON_ArrayForEach(table, tables)
    {
        char replica[BT_NAME_MAX];
        struct em_status st = {0};
        bt_replica_name(em_json_string(table, "name"), bt_last_id(cluster), replica);
        if (bt_replicas_shred(admin->replicas, replica, &st))
            em_warn("bigtable: cannot delete the data of %s: %s", replica, st.message);
    }
}

/* Crypto-shreds every replica of a cluster (30 days refused), those of the deleted tables
 * still recoverable (bigtable_undelete.c) included. */
static void delete_cluster_data(struct bt_admin *admin, const char *cluster, const cJSON *tables)
{
    char instance[BT_NAME_MAX];
    cJSON *deleted = NULL;
    struct em_status st = {0};
    shred_in_cluster(admin, cluster, tables);
    if (bt_instance_of(cluster, instance) &&
        !bt_store_list(admin->store, BT_KIND_DELETED, instance, false, &deleted, &st))
        shred_in_cluster(admin, cluster, deleted);
    cJSON_Delete(deleted);
    em_info("bigtable: the data of cluster %s is deleted (its key refused for 30 days)", cluster);
}

static void record_name(const char *instance, char out[BT_NAME_MAX])
{
    snprintf(out, BT_NAME_MAX, "%.480s/cascade", instance);
}

cJSON *bt_cascade_load(struct bt_admin *admin, const char *instance)
{
    char name[BT_NAME_MAX], *text = NULL;
    struct em_status st = {0};
    record_name(instance, name);
    if (bt_store_get(admin->store, name, BT_KIND_CASCADE, &text, &st) || !text)
        return NULL;
    cJSON *record = cJSON_Parse(text);
    free(text);
    return record;
}

enum bt_cascade_mark bt_cascade_mark_of(const cJSON *record, const char *cluster_id)
{
    if (cJSON_GetObjectItem(cJSON_GetObjectItem(record, "dataDeleted"), cluster_id))
        return BT_CASCADE_DATA_DELETED;
    if (cJSON_GetObjectItem(cJSON_GetObjectItem(record, "disabled"), cluster_id))
        return BT_CASCADE_DISABLED;
    return BT_CASCADE_NONE;
}

/* A mark's time: kept from the old record when it was already there. */
static void mark(cJSON *marks, const cJSON *old_marks, const char *id, int64_t now)
{
    int64_t since = now;
    em_json_int64(old_marks, id, &since);
    em_json_add_int64(marks, id, since);
}

/* The record of an instance's cascade after a run. */
static cJSON *new_record(const cJSON *old, const cJSON *clusters,
                         const struct bt_cascade_cluster *seen, const struct bt_cascade *cascade,
                         int64_t now)
{
    cJSON *record = cJSON_CreateObject();
    em_json_add_int64(record, "checks", cascade->checks);
    em_json_add_int64(record, "seenCheckNs", cascade->seen_check_ns);
    cJSON *disabled = cJSON_AddObjectToObject(record, "disabled");
    cJSON *deleted = cJSON_AddObjectToObject(record, "dataDeleted");
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        if (i >= MAX_CLUSTERS)
            break;
        const char *id = bt_last_id(em_json_string(c, "name"));
        if (seen[i].disabled)
            mark(disabled, cJSON_GetObjectItem(old, "disabled"), id, now);
        if (seen[i].data_deleted)
            mark(deleted, cJSON_GetObjectItem(old, "dataDeleted"), id, now);
        i++;
    }
    return record;
}

/* Saves the record when it changed, and deletes the data the rules say must go. */
static enum em_code save_run(struct bt_admin *admin, const char *instance, const cJSON *old,
                             const cJSON *clusters, const cJSON *tables,
                             const struct bt_cascade_cluster *seen,
                             const struct bt_cascade *cascade, int64_t now, struct em_status *st)
{
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        if (i < MAX_CLUSTERS && seen[i].delete_now)
            delete_cluster_data(admin, em_json_string(c, "name"), tables);
        i++;
    }
    cJSON *record = new_record(old, clusters, seen, cascade, now);
    char *text = cJSON_PrintUnformatted(record),
         *old_text = old ? cJSON_PrintUnformatted(old) : NULL;
    char name[BT_NAME_MAX];
    record_name(instance, name);
    if (!text)
        EM_FAIL_OOM(st);
    else if (!old_text || strcmp(text, old_text) != 0)
        bt_store_put(admin->store, name, BT_KIND_CASCADE, instance, text, true, st);
    free(text);
    free(old_text);
    cJSON_Delete(record);
    return st->code;
}

static enum em_code run_instance(struct bt_admin *admin, const char *instance, int64_t now,
                                 int64_t interval_ns, struct em_status *st)
{
    cJSON *clusters = NULL, *tables = NULL;
    struct bt_cascade_cluster seen[MAX_CLUSTERS] = {{0}};
    struct bt_cascade cascade = {0};
    if (bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st) ||
        bt_store_list(admin->store, BT_KIND_TABLE, instance, false, &tables, st)) {
        cJSON_Delete(clusters);
        return st->code;
    }
    cJSON *old = bt_cascade_load(admin, instance);
    size_t n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        if (n >= MAX_CLUSTERS)
            break;
        const char *id = bt_last_id(em_json_string(c, "name"));
        enum bt_cascade_mark m = bt_cascade_mark_of(old, id);
        seen[n].disabled = m != BT_CASCADE_NONE;
        seen[n].data_deleted = m == BT_CASCADE_DATA_DELETED;
        observe_cluster(admin, id, tables, interval_ns, &seen[n++]);
    }
    em_json_int64(old, "checks", &cascade.checks);
    em_json_int64(old, "seenCheckNs", &cascade.seen_check_ns);
    bt_cascade_advance(&cascade, seen, n, now, interval_ns);
    save_run(admin, instance, old, clusters, tables, seen, &cascade, now, st);
    cJSON_Delete(old);
    cJSON_Delete(clusters);
    cJSON_Delete(tables);
    return st->code;
}

enum em_code bt_cascade_run(struct bt_admin *admin, int64_t now, int64_t interval_ns,
                            struct em_status *st)
{
    cJSON *instances = NULL;
    if (!admin->replicas)
        return EM_OK;
    pthread_mutex_lock(&admin->cascade_lock);
    if (!bt_store_list(admin->store, BT_KIND_INSTANCE, "projects/", true, &instances, st)) {
        cJSON *inst;
        cJSON_ArrayForEach(inst, instances)
        {
            if (run_instance(admin, em_json_string(inst, "name"), now, interval_ns, st))
                break;
        }
    }
    pthread_mutex_unlock(&admin->cascade_lock);
    cJSON_Delete(instances);
    return st->code;
}

void bt_cascade_forget_cluster(struct bt_admin *admin, const char *cluster)
{
    char instance[BT_NAME_MAX];
    if (!bt_instance_of(cluster, instance))
        return;
    pthread_mutex_lock(&admin->cascade_lock);
    cJSON *record = bt_cascade_load(admin, instance);
    if (record) {
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(record, "disabled"), bt_last_id(cluster));
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(record, "dataDeleted"), bt_last_id(cluster));
        char name[BT_NAME_MAX], *text = cJSON_PrintUnformatted(record);
        struct em_status st = {0};
        record_name(instance, name);
        if (text)
            bt_store_put(admin->store, name, BT_KIND_CASCADE, instance, text, true, &st);
        free(text);
    }
    pthread_mutex_unlock(&admin->cascade_lock);
    cJSON_Delete(record);
}
