/*
 * pubsub_registry: the registry of topics, subscriptions and snapshots: its maps
 * (em_index by name), lookups and iteration, opening (loading what metadata.db holds:
 * the store hands rows to the visitors of pubsub_topics.c, pubsub_retention.c,
 * pubsub_subs.c and pubsub_snapshots.c), reset and close, and the deliverer it tells
 * about changes (push delivery, attached by the service).
 *
 * References are counted: lookups return a reference, so a call may keep using a topic or
 * subscription that is deleted meanwhile (it sees `deleted`). Admin changes are
 * serialised by ps_admin_lock, taken before the registry lock; neither is held while KMS
 * is called except ps_admin_lock.
 */
#include "pubsub_errors.h"
#include "pubsub_registry_parts.h"
#include "pubsub_schemas.h"

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

pthread_mutex_t ps_admin_lock = PTHREAD_MUTEX_INITIALIZER;

struct ps_topic *ps_topic_get(struct ps_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, name);
    if (t)
        ps_topic_ref(t);
    pthread_rwlock_unlock(&reg->lock);
    return t;
}

struct ps_sub *ps_sub_get(struct ps_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_sub *s = em_index_find(&reg->subs, name);
    if (s)
        ps_sub_ref(s);
    pthread_rwlock_unlock(&reg->lock);
    return s;
}

struct ps_snapshot *ps_snapshot_get(struct ps_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_snapshot *s = em_index_find(&reg->snapshots, name);
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_rwlock_unlock(&reg->lock);
    return s;
}

uint32_t ps_registry_new_id(struct ps_registry *reg)
{
    return atomic_fetch_add(&reg->next_id, 1);
}

bool ps_name_has_prefix(const char *name, const char *prefix)
{
    return !prefix || strncmp(name, prefix, strlen(prefix)) == 0;
}

void ps_each_topic(struct ps_registry *reg, const char *prefix, ps_topic_fn fn, void *arg)
{
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = prefix ? em_index_lower_bound(&reg->topics, prefix) : 0; i < reg->topics.count;
         i++) {
        const struct ps_topic *t = reg->topics.items[i];
        if (!ps_name_has_prefix(t->name, prefix))
            break;
        fn(t, arg);
    }
    pthread_rwlock_unlock(&reg->lock);
}

void ps_each_sub(struct ps_registry *reg, const char *prefix, const char *topic, ps_sub_fn fn,
                 void *arg)
{
    pthread_rwlock_rdlock(&reg->lock);
    if (topic) {
        struct ps_topic *t = em_index_find(&reg->topics, topic);
        for (size_t i = 0; t && i < t->subs.count; i++)
            fn(t->subs.items[i], arg);
    } else {
        for (size_t i = prefix ? em_index_lower_bound(&reg->subs, prefix) : 0; i < reg->subs.count;
             i++) {
            struct ps_sub *s = reg->subs.items[i];
            if (!ps_name_has_prefix(s->name, prefix))
                break;
            fn(s, arg);
        }
    }
    pthread_rwlock_unlock(&reg->lock);
}

void ps_each_snapshot(struct ps_registry *reg, const char *prefix, const char *topic,
                      ps_snapshot_fn fn, void *arg)
{
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = prefix ? em_index_lower_bound(&reg->snapshots, prefix) : 0;
         i < reg->snapshots.count; i++) {
        const struct ps_snapshot *s = reg->snapshots.items[i];
        if (!ps_name_has_prefix(s->name, prefix))
            break;
        if (!topic || strcmp(s->topic, topic) == 0)
            fn(s, arg);
    }
    pthread_rwlock_unlock(&reg->lock);
}

void ps_registry_attach_deliverer(struct ps_registry *reg, const struct ps_deliverer *d)
{
    atomic_store(&reg->deliverer, d);
}

void ps_registry_wake_deliveries(struct ps_registry *reg)
{
    const struct ps_deliverer *d = atomic_load(&reg->deliverer);
    if (d)
        d->wake(d->arg);
}

void ps_registry_kick_deliveries(struct ps_registry *reg)
{
    const struct ps_deliverer *d = atomic_load(&reg->deliverer);
    if (d)
        d->kick(d->arg);
}

static enum em_code make_dir(const char *path, struct em_status *st)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return EM_FAIL(st, EM_INTERNAL, "cannot create %s: %s", path, strerror(errno));
    return EM_OK;
}

enum em_code ps_registry_open(struct em_store *meta, const struct em_config *config,
                              struct ps_registry **out, struct em_status *st)
{
    struct ps_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return EM_FAIL_OOM(st);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* publishers take the read lock all the time: admin changes must not starve */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&reg->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    reg->meta = meta;
    reg->config = config;
    atomic_init(&reg->next_id, 1);
    reg->pull_wait_ms = PS_PULL_WAIT_MS;
    if (snprintf(reg->dir, sizeof(reg->dir), "%s/pubsub", config->data_dir) >=
        (int)sizeof(reg->dir)) {
        EM_FAIL(st, EM_INVALID_ARGUMENT, "data directory path too long: %.200s...",
                config->data_dir);
        ps_registry_close(reg);
        return st->code;
    }
    if (make_dir(reg->dir, st) || ps_store_migrate(meta, st)) {
        ps_registry_close(reg);
        return st->code;
    }
    *out = reg;
    return EM_OK;
}

enum em_code ps_registry_load(struct ps_registry *reg, struct em_cmek *cmek, int64_t now,
                              struct em_status *st)
{
    reg->cmek = cmek;
    struct ps_store_visitor visitor = {ps_load_schema_revision, ps_load_topic,
                                       ps_load_retained,        ps_load_sub,
                                       ps_load_snapshot,        reg};
    if (ps_store_load(reg->meta, &visitor, st))
        return st->code;
    ps_reconcile_retained(reg);
    for (size_t i = 0; i < reg->subs.count; i++)
        ps_sub_check_dead_letter(reg, reg->subs.items[i], now);
    for (size_t i = 0; i < reg->topics.count; i++) {
        const struct ps_topic *t = reg->topics.items[i];
        struct em_cmek_info info;
        if (!em_cmek_info(cmek, t->name, &info))
            em_warn("pubsub: topic %s has no CMEK record: its messages cannot be read", t->name);
    }
    em_info("pubsub: %zu topics, %zu deleted topics retained, %zu subscriptions, %zu snapshots, "
            "%zu schemas",
            reg->topics.count, reg->retained.count, reg->subs.count, reg->snapshots.count,
            reg->schemas.count);
    return EM_OK;
}

/* Takes a topic or retained topic out of service: its data is shredded (reset) or stays
 * for the next start (close). */
static void drop_topic(struct ps_registry *reg, struct ps_topic *t, bool shred)
{
    t->deleted = true;
    t->retained = false;
    if (shred)
        ps_shred_data(reg, t, true);
    else
        ps_topic_log_shutdown(t);
    em_index_release(&t->subs);
}

/* Empties the registry; shred: the data of topics and retained topics goes too, keys and
 * files (reset), else it stays for the next start (close). */
static void drop_everything(struct ps_registry *reg, bool shred)
{
    pthread_rwlock_wrlock(&reg->lock);
    struct em_index topics = reg->topics, retained = reg->retained, subs = reg->subs,
                    snapshots = reg->snapshots;
    memset(&reg->topics, 0, sizeof(reg->topics));
    memset(&reg->retained, 0, sizeof(reg->retained));
    memset(&reg->subs, 0, sizeof(reg->subs));
    memset(&reg->snapshots, 0, sizeof(reg->snapshots));
    pthread_rwlock_unlock(&reg->lock);
    for (size_t i = 0; i < subs.count; i++) {
        struct ps_sub *s = subs.items[i];
        s->deleted = true;
        ps_sub_put(s);
    }
    for (size_t i = 0; i < snapshots.count; i++)
        ps_snapshot_put(snapshots.items[i]);
    for (size_t i = 0; i < topics.count; i++) {
        drop_topic(reg, topics.items[i], shred);
        ps_topic_put(topics.items[i]);
    }
    for (size_t i = 0; i < retained.count; i++) {
        struct ps_retained *entry = retained.items[i];
        drop_topic(reg, entry->topic, shred);
        ps_topic_put(entry->topic);
        free(entry);
    }
    em_index_release(&topics);
    em_index_release(&retained);
    em_index_release(&subs);
    em_index_release(&snapshots);
    ps_schemas_drop(reg);
}

enum em_code ps_registry_reset(struct ps_registry *reg, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    enum em_code code = ps_store_clear(reg->meta, st);
    if (!code)
        drop_everything(reg, true);
    pthread_mutex_unlock(&ps_admin_lock);
    return code;
}

void ps_registry_close(struct ps_registry *reg)
{
    if (!reg)
        return;
    const struct ps_deliverer *d = atomic_exchange(&reg->deliverer, NULL);
    if (d)
        d->stop(d->arg);
    drop_everything(reg, false);
    pthread_rwlock_destroy(&reg->lock);
    free(reg);
}

/* Used by the flow's timers. */
struct ps_topic **ps_registry_data_topics(struct ps_registry *reg, size_t *count)
{
    pthread_rwlock_rdlock(&reg->lock);
    size_t n = reg->topics.count + reg->retained.count;
    struct ps_topic **topics = calloc(n ? n : 1, sizeof(*topics));
    for (size_t i = 0; topics && i < n; i++) {
        size_t live = reg->topics.count;
        topics[i] = i < live ? reg->topics.items[i]
                             : ((struct ps_retained *)reg->retained.items[i - live])->topic;
        ps_topic_ref(topics[i]);
    }
    pthread_rwlock_unlock(&reg->lock);
    *count = topics ? n : 0;
    return topics;
}

void ps_registry_idle_logs(struct ps_registry *reg)
{
    int64_t now = em_clock_monotonic();
    size_t n;
    struct ps_topic **topics = ps_registry_data_topics(reg, &n);
    for (size_t i = 0; i < n; i++) {
        if (em_datastore_close_idle(topics[i]->data, now, 60 * EM_NS_PER_SEC))
            ps_topic_notify(topics[i]);
        ps_topic_put(topics[i]);
    }
    free(topics);
}
