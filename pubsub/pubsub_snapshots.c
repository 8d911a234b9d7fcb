/*
 * pubsub_snapshots: snapshots in the registry: the object and its references, insert
 * (after the data calls stored its state, pubsub_seek.c), label updates and deletion,
 * written through to metadata.db. A snapshot's state (floor and acknowledged marks) lives
 * in its topic's store.
 */
#include "pubsub_errors.h"
#include "pubsub_registry_parts.h"

#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_filter.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ps_snapshot_free(struct ps_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->name);
    free(snap->topic);
    free(snap->labels_json);
    free(snap);
}

void ps_snapshot_put(struct ps_snapshot *snap)
{
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        ps_snapshot_free(snap);
}

/* A stored snapshot (load visitor). */
enum em_code ps_load_snapshot(void *arg, const struct ps_snapshot_row *row, struct em_status *st)
{
    struct ps_snapshot *snap = calloc(1, sizeof(*snap));
    if (snap) {
        snap->name = strdup(row->name);
        snap->id = row->id;
        snap->topic = strdup(row->topic);
        snap->floor = row->floor;
        snap->expire_ns = row->expire_ns;
        snap->labels_json = strdup(row->labels_json);
        snap->create_ns = row->create_ns;
    }
    return ps_snapshot_insert(arg, snap, st);
}

enum em_code ps_snapshot_save(struct ps_registry *reg, const struct ps_snapshot *snap,
                              struct em_status *st)
{
    struct ps_snapshot_row row = {snap->name,      snap->id,          snap->topic,    snap->floor,
                                  snap->expire_ns, snap->labels_json, snap->create_ns};
    return ps_store_save_snapshot(reg->meta, &row, st);
}

enum em_code ps_snapshot_insert(struct ps_registry *reg, struct ps_snapshot *snap,
                                struct em_status *st)
{
    if (!snap || !snap->name || !snap->topic || !snap->labels_json) {
        ps_snapshot_free(snap);
        return EM_FAIL_OOM(st);
    }
    atomic_init(&snap->refs, 1);
    pthread_rwlock_wrlock(&reg->lock);
    bool ok = !em_index_find(&reg->snapshots, snap->name) && em_index_insert(&reg->snapshots, snap);
    if (ok && snap->id >= atomic_load(&reg->next_id))
        atomic_store(&reg->next_id, snap->id + 1);
    pthread_rwlock_unlock(&reg->lock);
    if (!ok) {
        ps_snapshot_free(snap);
        return PS_ERR_SNAPSHOT_EXISTS(st);
    }
    return EM_OK;
}

enum em_code ps_snapshot_delete(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_snapshot *snap = em_index_find(&reg->snapshots, name);
    enum em_code code =
        snap ? ps_store_delete_snapshot(reg->meta, name, st) : PS_ERR_SNAPSHOT_NOT_FOUND(st);
    if (!code)
        em_index_remove(&reg->snapshots, name);
    struct ps_topic *topic = snap && !code ? em_index_find(&reg->topics, snap->topic) : NULL;
    if (topic)
        ps_topic_ref(topic);
    pthread_rwlock_unlock(&reg->lock);
    if (!code) {
        ps_topic_forget_rows(topic, snap->id);
        ps_snapshot_put(snap);
    }
    ps_topic_put(topic);
    pthread_mutex_unlock(&ps_admin_lock);
    return code;
}

enum em_code ps_snapshot_update_labels(struct ps_registry *reg, const char *name,
                                       const char *labels_json, int64_t expire_ns,
                                       struct ps_snapshot **out, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_snapshot *snap = em_index_find(&reg->snapshots, name);
    enum em_code code = EM_OK;
    if (!snap) {
        code = PS_ERR_SNAPSHOT_NOT_FOUND(st);
    } else {
        char *labels = labels_json ? strdup(labels_json) : NULL;
        if (labels_json && !labels) {
            code = EM_FAIL_OOM(st);
        } else {
            char *old_labels = snap->labels_json;
            int64_t old_expire = snap->expire_ns;
            if (labels)
                snap->labels_json = labels;
            if (expire_ns)
                snap->expire_ns = expire_ns;
            code = ps_snapshot_save(reg, snap, st);
            if (code) {
                if (labels)
                    snap->labels_json = old_labels;
                snap->expire_ns = old_expire;
                free(labels);
            } else if (labels) {
                free(old_labels);
            }
        }
    }
    if (!code)
        atomic_fetch_add(&snap->refs, 1);
    pthread_rwlock_unlock(&reg->lock);
    pthread_mutex_unlock(&ps_admin_lock);
    if (!code)
        *out = snap;
    return code;
}
