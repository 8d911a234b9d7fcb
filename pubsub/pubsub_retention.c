/*
 * pubsub_retention: deleted topics (see pubsub_registry.h, "Deleted topics"). A topic its
 * subscriptions still read is retained (reg->retained) and its data store renamed
 * (em_datastore_rename) to <topic>/deleted/<creation time>, under which the engine checks
 * its key and the gate opens its data; a topic nobody reads, or a retained one whose last
 * reader goes, is crypto-shredded (em_datastore_shred): its keys are forgotten, its files
 * removed.
 *
 * Order on disk, so that a crash leaves nothing start-up cannot finish: retention writes
 * metadata.db in one transaction, then renames; shredding forgets the keys, removes the
 * files, then the row. At start-up ps_reconcile_retained finishes what a crash cut short.
 * A topic's flags (deleted, retained) are atomics set before its data store is renamed or
 * shredded; data calls check them before the gate. Admin lock held throughout.
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

/* Whether a subscription still reads the topic (registry lock held). */
static bool has_readers(const struct ps_topic *t)
{
    for (size_t i = 0; i < t->subs.count; i++)
        if (!((const struct ps_sub *)t->subs.items[i])->detached)
            return true;
    return false;
}

/* Registers t among the retained topics, with a reference (registry write lock held). */
static struct ps_retained *retained_add(struct ps_registry *reg, struct ps_topic *t,
                                        struct em_status *st)
{
    struct ps_retained *entry = malloc(sizeof(*entry));
    if (entry)
        *entry = (struct ps_retained){t->retained_name, t};
    if (!entry || !em_index_insert(&reg->retained, entry)) {
        free(entry);
        EM_FAIL_OOM(st);
        return NULL;
    }
    ps_topic_ref(t);
    return entry;
}

/* Undoes retained_add (registry write lock held). */
static void retained_drop(struct ps_registry *reg, struct ps_retained *entry)
{
    if (!entry)
        return;
    em_index_remove(&reg->retained, entry->name);
    ps_topic_put(entry->topic); /* never the last reference: the caller holds one */
    free(entry);
}

/* The subscriptions of a deleted topic show _deleted-topic_; those still reading its
 * retained data keep it, the others read nothing from now on (registry write lock). */
static void orphan_subs(struct ps_topic *t, bool retained)
{
    for (size_t i = t->subs.count; i-- > 0;) {
        struct ps_sub *s = t->subs.items[i];
        pthread_mutex_lock(&s->lock);
        char *was = s->cfg.topic;
        s->cfg.topic = strdup(PS_DELETED_TOPIC);
        if (s->cfg.topic)
            free(was);
        else
            s->cfg.topic = was;
        bool reads = retained && !s->detached;
        if (!reads) {
            s->topic = NULL;
            ps_backlog_free(&s->backlog);
            s->loaded = false;
        }
        pthread_mutex_unlock(&s->lock);
        if (!reads) {
            em_index_remove(&t->subs, s->name);
            ps_topic_put(t); /* the subscription's reference (the caller holds another) */
        }
    }
}

/* A deleted topic's snapshots keep their state rows but no longer name it, so no
 * subscription can seek to them (registry write lock held). */
static void orphan_snapshots(struct ps_registry *reg, const char *topic)
{
    for (size_t i = 0; i < reg->snapshots.count; i++) {
        struct ps_snapshot *snap = reg->snapshots.items[i];
        char *deleted = strcmp(snap->topic, topic) == 0 ? strdup(PS_DELETED_TOPIC) : NULL;
        if (deleted) {
            free(snap->topic);
            snap->topic = deleted;
        }
    }
}

/* Takes t out of the topics (registry write lock held): retained when subscriptions
 * still read it, else marked to be shredded. */
static enum em_code retire_topic(struct ps_registry *reg, struct ps_topic *t, int64_t now,
                                 struct em_status *st)
{
    struct ps_retained *entry = NULL;
    if (has_readers(t) && !(entry = retained_add(reg, t, st)))
        return st->code;
    struct ps_topic_row row = ps_topic_to_row(t);
    if (ps_store_retire_topic(reg->meta, &row, entry ? t->retained_name : NULL, now, st)) {
        retained_drop(reg, entry);
        return st->code;
    }
    em_index_remove(&reg->topics, t->name);
    orphan_subs(t, entry != NULL);
    orphan_snapshots(reg, t->name);
    t->retained = entry != NULL;
    t->deleted = true;
    return EM_OK;
}

/* The CMEK engine calls a retained topic's data by its retained name from now on, which
 * frees the topic's name for a new topic (admin lock held). */
static void rename_retained_data(struct ps_registry *reg, struct ps_topic *t)
{
    (void)reg;
    struct em_status st = {0};
    if (em_datastore_rename(t->data, t->retained_name, &st))
        em_error("pubsub: the data of deleted topic %s stays protected under the topic's name "
                 "until the next start: %s",
                 t->name, st.message);
}

/* Crypto-shredding: the keys of t's data are wiped (unless forget_keys is false: the
 * engine no longer has them), its files removed, now or when the last call using its log
 * ends (admin lock held). */
void ps_shred_data(struct ps_registry *reg, struct ps_topic *t, bool forget_keys)
{
    (void)reg;
    struct em_status st = {0};
    t->retained = false;
    if (em_datastore_shred(t->data, forget_keys, &st))
        em_warn("pubsub: forgetting the keys of the data of %s: %s", t->name, st.message);
    ps_topic_notify(t); /* waiting pulls find it gone */
}

/* Shreds a retained topic taken out of reg->retained, then forgets its row. Its readers,
 * if any (start-up), read nothing from now on (admin lock held). */
static void shred_retained(struct ps_registry *reg, struct ps_retained *entry, bool forget_keys)
{
    struct ps_topic *t = entry->topic;
    pthread_rwlock_wrlock(&reg->lock);
    orphan_subs(t, false);
    pthread_rwlock_unlock(&reg->lock);
    ps_shred_data(reg, t, forget_keys);
    struct em_status st = {0};
    if (ps_store_delete_retained(reg->meta, t->retained_name, &st))
        em_warn("pubsub: forgetting %s: %s", t->retained_name, st.message);
    em_info("pubsub: the data of deleted topic %s (%s) is shredded", t->name, t->retained_name);
    free(entry);
    ps_topic_put(t);
}

/* Shreds a retained topic once no subscription reads it (admin lock held). */
void ps_release_if_unread(struct ps_registry *reg, struct ps_topic *t)
{
    if (!t || !t->retained)
        return;
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_retained *entry =
        has_readers(t) ? NULL : em_index_remove(&reg->retained, t->retained_name);
    pthread_rwlock_unlock(&reg->lock);
    if (entry)
        shred_retained(reg, entry, true);
}

enum em_code ps_topic_delete(struct ps_registry *reg, const char *name, int64_t now,
                             struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, name);
    enum em_code code = t ? retire_topic(reg, t, now, st) : PS_ERR_TOPIC_NOT_FOUND(st);
    pthread_rwlock_unlock(&reg->lock);
    if (!code && t->retained)
        rename_retained_data(reg, t);
    else if (!code)
        ps_shred_data(reg, t, true);
    pthread_mutex_unlock(&ps_admin_lock);
    if (!code)
        ps_topic_put(t); /* the registry's reference */
    return code;
}

const char *ps_sub_retained_topic(const struct ps_sub *sub)
{
    bool orphan = sub->cfg.topic && strcmp(sub->cfg.topic, PS_DELETED_TOPIC) == 0;
    return orphan && sub->topic ? sub->topic->retained_name : NULL;
}

/* A stored retained deleted topic (load visitor, before the subscriptions that read it). */
enum em_code ps_load_retained(void *arg, struct ps_topic_row *row, struct em_status *st)
{
    struct ps_registry *reg = arg;
    struct ps_topic *t = ps_topic_new(reg, row->name, row->create_ns, st);
    if (!t)
        return st->code;
    t->cfg = row->cfg;
    memset(&row->cfg, 0, sizeof(row->cfg));
    t->cfg.labels_json = strdup("{}");
    t->deleted = t->retained = true;
    enum em_code code = retained_add(reg, t, st) ? EM_OK : st->code;
    ps_topic_put(t); /* the entry holds it */
    return code;
}

/* Where the engine keeps a retained topic's keys after a restart: under its retained
 * name, or still under the topic's name when a crash stopped its deletion before the
 * rename (then renamed now). False when they are gone. */
static bool locate_retained_keys(struct ps_registry *reg, struct ps_topic *t)
{
    struct em_cmek_info info;
    if (em_cmek_info(reg->cmek, t->retained_name, &info)) {
        em_datastore_known_as(t->data, t->retained_name);
        return true;
    }
    if (em_index_find(&reg->topics, t->name) || !em_cmek_info(reg->cmek, t->name, &info))
        return false;
    rename_retained_data(reg, t);
    return true;
}

/* Start-up: finishes what a crash interrupted. Retained topics no subscription reads,
 * or whose keys are gone, are shredded. */
void ps_reconcile_retained(struct ps_registry *reg)
{
    for (size_t i = 0; i < reg->retained.count;) {
        struct ps_retained *entry = reg->retained.items[i];
        bool keys = locate_retained_keys(reg, entry->topic);
        if (keys && has_readers(entry->topic)) {
            i++;
            continue;
        }
        if (!keys)
            em_warn("pubsub: the keys of deleted topic %s are gone: its data is dropped",
                    entry->topic->name);
        em_index_remove(&reg->retained, entry->name);
        shred_retained(reg, entry, keys);
    }
}
