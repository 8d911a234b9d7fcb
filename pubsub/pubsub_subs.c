/*
 * pubsub_subs: subscriptions: the object and its references, create, update, delete,
 * detach and expiry, written through to metadata.db. A subscription reads its topic, or
 * the retained deleted topic it read when the topic went; when the last reader of a
 * retained topic goes, the topic is shredded (pubsub_retention.c). A subscription's rows
 * in its topic's store (floor and marks) are forgotten with it, now when the store is
 * open, else by the timers' clean-up.
 */
#include "pubsub_errors.h"
#include "pubsub_registry_parts.h"

#include "em_api_state.h"
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

static enum em_code detach_locked(struct ps_registry *reg, const char *name, struct em_status *st);

void ps_sub_free(struct ps_sub *s)
{
    if (!s)
        return;
    free(s->name);
    ps_sub_config_free(&s->cfg);
    em_filter_free(s->filter);
    ps_backlog_free(&s->backlog);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void ps_sub_put(struct ps_sub *sub)
{
    if (!sub || atomic_fetch_sub(&sub->refs, 1) != 1)
        return;
    ps_topic_put(sub->topic);
    ps_sub_free(sub);
}

void ps_sub_ref(struct ps_sub *s)
{
    atomic_fetch_add(&s->refs, 1);
}

static struct ps_sub *sub_new(const char *name, struct em_status *st)
{
    struct ps_sub *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(name))) {
        free(s);
        EM_FAIL_OOM(st);
        return NULL;
    }
    const char *slash = strchr(name + 9, '/');
    snprintf(s->project, sizeof(s->project), "%.*s", (int)(slash ? slash - name - 9 : 0), name + 9);
    atomic_init(&s->refs, 1); /* the registry's */
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

/* Attaches s to its topic, or to the retained deleted topic it reads (registry write
 * lock held). */
static bool attach(struct ps_registry *reg, struct ps_sub *s, const char *retained_topic)
{
    struct ps_topic *t = em_index_find(&reg->topics, s->cfg.topic);
    if (!t && retained_topic && !s->detached) {
        struct ps_retained *entry = em_index_find(&reg->retained, retained_topic);
        t = entry ? entry->topic : NULL;
    }
    if (!t)
        return true; /* a deleted topic whose data is gone */
    if (!em_index_insert(&t->subs, s))
        return false;
    ps_topic_ref(t);
    s->topic = t;
    return true;
}

/* A stored subscription (load visitor): its configuration is taken over. */
enum em_code ps_load_sub(void *arg, struct ps_sub_row *row, struct em_status *st)
{
    struct ps_registry *reg = arg;
    struct ps_sub *s = sub_new(row->name, st);
    if (!s)
        return st->code;
    s->cfg = row->cfg;
    memset(&row->cfg, 0, sizeof(row->cfg));
    s->id = row->id;
    s->detached = row->detached;
    s->create_ns = row->create_ns;
    s->last_active_ns = s->saved_active_ns = row->last_active_ns;
    if (!s->cfg.filter)
        s->cfg.filter = strdup("");
    if (!s->cfg.labels_json)
        s->cfg.labels_json = strdup("{}");
    struct em_status ignored = {0};
    if (ps_filter_compile(s->cfg.filter, &s->filter, &ignored))
        em_warn("pubsub: stored filter of %s no longer parses: %s", s->name, ignored.message);
    if (row->id >= atomic_load(&reg->next_id))
        atomic_store(&reg->next_id, row->id + 1);
    atomic_store(&s->dead_letter_denied, reg->config->iam_enforce);
    if (!em_index_insert(&reg->subs, s) || !attach(reg, s, row->retained_topic)) {
        em_index_remove(&reg->subs, s->name);
        ps_sub_free(s);
        return EM_FAIL_OOM(st);
    }
    return EM_OK; /* its dead-letter permission is checked once everything is loaded */
}

enum em_code ps_sub_create(struct ps_registry *reg, const char *name,
                           const struct ps_sub_config *cfg, int64_t now, struct ps_sub **out,
                           struct em_status *st)
{
    struct ps_sub *s = sub_new(name, st);
    if (!s)
        return st->code;
    enum em_code code = ps_sub_config_copy(&s->cfg, cfg, st);
    if (!code)
        code = ps_check_sub_config(reg, &s->cfg, &s->filter, st);
    if (code) {
        ps_sub_free(s);
        return code;
    }
    pthread_mutex_lock(&ps_admin_lock);
    struct ps_sub *existing = ps_sub_get(reg, name);
    struct ps_topic *topic = ps_topic_get(reg, s->cfg.topic);
    if (existing)
        code = PS_ERR_SUBSCRIPTION_EXISTS(st);
    else if (!topic || em_api_project_deleted_for(s->cfg.topic)) /* a deleted project's too */
        code = PS_ERR_SUBSCRIPTION_TOPIC_NOT_FOUND(st);
    ps_sub_put(existing);
    ps_topic_put(topic);
    atomic_store(&s->dead_letter_denied, reg->config->iam_enforce); /* until checked */
    if (!code)
        ps_sub_check_dead_letter(reg, s, now);
    if (!code) {
        s->id = ps_registry_new_id(reg);
        s->create_ns = s->last_active_ns = s->saved_active_ns = now;
        code = ps_sub_save(reg, s, st);
    }
    if (!code) {
        pthread_rwlock_wrlock(&reg->lock);
        if (!em_index_insert(&reg->subs, s) || !attach(reg, s, NULL)) {
            em_index_remove(&reg->subs, name);
            code = EM_FAIL_OOM(st);
        }
        pthread_rwlock_unlock(&reg->lock);
        if (code) {
            struct em_status ignored = {0};
            ps_store_delete_sub(reg->meta, name, &ignored);
        }
    }
    pthread_mutex_unlock(&ps_admin_lock);
    if (code) {
        ps_sub_put(s);
        return code;
    }
    if (s->cfg.push.endpoint)
        ps_registry_kick_deliveries(reg);
    ps_sub_ref(s);
    *out = s;
    return EM_OK;
}

enum em_code ps_sub_update(struct ps_registry *reg, const char *name,
                           const struct ps_sub_update *update, int64_t now, struct ps_sub **out,
                           struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    struct ps_sub *s = ps_sub_get(reg, name);
    struct ps_sub_config next = {0};
    enum em_code code =
        s ? ps_sub_config_copy(&next, &s->cfg, st) : PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    if (code)
        goto out;
    const struct ps_sub_config *u = &update->cfg;
    unsigned m = update->mask;
    if (m & PS_SUB_ACK_DEADLINE) {
        next.ack_deadline_s = u->ack_deadline_s;
        if ((code = ps_check_ack_deadline(&next.ack_deadline_s, st)) != EM_OK)
            goto out;
    }
    if (m & PS_SUB_PUSH) {
        if (!ps_push_config_merge(&next.push, &u->push, m)) {
            code = EM_FAIL_OOM(st);
            goto out;
        }
    }
    if (m & PS_SUB_RETENTION)
        next.retention_ns = u->retention_ns ? u->retention_ns : PS_DEFAULT_RETENTION_NS;
    if (m & PS_SUB_RETAIN_ACKED)
        next.retain_acked = u->retain_acked;
    if (m & PS_SUB_LABELS) {
        free(next.labels_json);
        next.labels_json = strdup(u->labels_json ? u->labels_json : "{}");
    }
    if (m & PS_SUB_EXPIRATION)
        next.ttl_ns = u->ttl_ns == PS_DURATION_UNSET ? 0 : u->ttl_ns; /* none: never expires */
    if (m & PS_SUB_DEAD_LETTER) {
        free(next.dead_letter_topic);
        next.dead_letter_topic = ps_dup_or_null(u->dead_letter_topic);
        next.max_delivery_attempts = u->max_delivery_attempts;
    }
    if (m & PS_SUB_RETRY)
        next.retry = u->retry;
    if (m & PS_SUB_EXACTLY_ONCE)
        next.exactly_once = u->exactly_once;
    if (!next.labels_json) {
        code = EM_FAIL_OOM(st);
        goto out;
    }
    if (ps_check_retention("message_retention_duration", next.retention_ns, st) ||
        ps_check_dead_letter(reg, &next, st) || ps_check_retry(&next.retry, st) ||
        ps_check_push(&next.push, st) || ps_check_ttl(&next.ttl_ns, next.retention_ns, st)) {
        code = st->code;
        goto out;
    }
    pthread_rwlock_wrlock(&reg->lock);
    pthread_mutex_lock(&s->lock);
    struct ps_sub_config old = s->cfg;
    s->cfg = next;
    bool detach = (m & PS_SUB_DETACHED) && update->detached && !s->detached;
    code = ps_sub_save(reg, s, st);
    if (code) {
        next = s->cfg;
        s->cfg = old;
    } else {
        next = old;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&reg->lock);
    if (!code && (m & PS_SUB_DEAD_LETTER))
        ps_sub_check_dead_letter(reg, s, now);
    if (!code && detach)
        code = detach_locked(reg, name, st);
    if (!code && s->cfg.push.endpoint)
        ps_registry_kick_deliveries(reg);
out:
    ps_sub_config_free(&next);
    pthread_mutex_unlock(&ps_admin_lock);
    if (code) {
        ps_sub_put(s);
        return code;
    }
    *out = s;
    return EM_OK;
}

/* Takes s out of the registry and its topic (registry write lock held). */
static void unlink_sub(struct ps_registry *reg, struct ps_sub *s)
{
    em_index_remove(&reg->subs, s->name);
    if (s->topic)
        em_index_remove(&s->topic->subs, s->name);
    s->deleted = true;
}

static enum em_code remove_sub(struct ps_registry *reg, const char *name, struct ps_sub *only,
                               struct em_status *st)
{
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_sub *s = em_index_find(&reg->subs, name);
    if (!s || (only && s != only)) {
        pthread_rwlock_unlock(&reg->lock);
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    }
    enum em_code code = ps_store_delete_sub(reg->meta, name, st);
    if (!code)
        unlink_sub(reg, s);
    pthread_rwlock_unlock(&reg->lock);
    if (code)
        return code;
    ps_topic_forget_rows(s->topic, s->id);
    if (s->topic)
        ps_topic_notify(s->topic);
    ps_release_if_unread(reg, s->topic);
    ps_sub_put(s); /* the registry's reference */
    return EM_OK;
}

enum em_code ps_sub_delete(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    enum em_code code = remove_sub(reg, name, NULL, st);
    pthread_mutex_unlock(&ps_admin_lock);
    return code;
}

enum em_code ps_sub_expire(struct ps_registry *reg, struct ps_sub *sub, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    enum em_code code = remove_sub(reg, sub->name, sub, st);
    pthread_mutex_unlock(&ps_admin_lock);
    if (!code)
        em_info("pubsub: subscription %s expired (no activity for its expiration policy's ttl)",
                sub->name);
    return code;
}

/* A detached subscription stops reading a retained deleted topic; returns that topic
 * (with the subscription's reference) or NULL (registry write lock and s->lock held). */
static struct ps_topic *stop_reading_retained(struct ps_sub *s)
{
    struct ps_topic *t = s->topic;
    if (!t || !t->deleted)
        return NULL;
    em_index_remove(&t->subs, s->name);
    s->topic = NULL;
    return t;
}

static enum em_code detach_locked(struct ps_registry *reg, const char *name, struct em_status *st)
{
    struct ps_sub *s = ps_sub_get(reg, name);
    if (!s)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(st);
    pthread_rwlock_wrlock(&reg->lock);
    pthread_mutex_lock(&s->lock);
    bool was = s->detached;
    s->detached = true;
    /* the backlog is dropped; the subscription no longer holds messages back */
    ps_backlog_free(&s->backlog);
    ps_backlog_init(&s->backlog, INT64_MAX);
    s->loaded = true;
    struct ps_topic *unread = stop_reading_retained(s);
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&reg->lock);
    enum em_code code = was ? EM_OK : ps_sub_save(reg, s, st);
    if (!code && !was)
        ps_topic_forget_rows(s->topic, s->id);
    if (s->topic)
        ps_topic_notify(s->topic);
    ps_release_if_unread(reg, unread);
    ps_topic_put(unread);
    ps_sub_put(s);
    return code;
}

enum em_code ps_sub_detach(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
    enum em_code code = detach_locked(reg, name, st);
    pthread_mutex_unlock(&ps_admin_lock);
    return code;
}

enum em_code ps_sub_save(struct ps_registry *reg, const struct ps_sub *sub, struct em_status *st)
{
    struct ps_sub_row row = {
        .name = sub->name,
        .id = sub->id,
        .cfg = sub->cfg,
        .detached = sub->detached,
        .create_ns = sub->create_ns,
        .last_active_ns = sub->last_active_ns,
        .retained_topic = ps_sub_retained_topic(sub),
    };
    return ps_store_save_sub(reg->meta, &row, st);
}

struct ps_topic *ps_sub_topic(struct ps_sub *sub)
{
    pthread_mutex_lock(&sub->lock);
    struct ps_topic *t = sub->topic;
    if (t)
        ps_topic_ref(t);
    pthread_mutex_unlock(&sub->lock);
    return t;
}
