/*
 * pubsub_registry: topics, subscriptions and snapshots in memory (em_index by name),
 * written through to metadata.db on every change, with Google's validation rules and the
 * topics' CMEK protection.
 *
 * Every topic is a protected resource of the CMEK engine: created with em_cmek_protect
 * (its kmsKeyName, or Google default encryption), re-keyed with em_cmek_rekey when a patch
 * changes kmsKeyName. A topic's data is its data store (em_datastore.h, with Pub/Sub's
 * log state from pubsub_log.c): it opens only through the engine's gate, em_cmek_use,
 * which hands out the DEK; when the engine reports the key OFFLINE or INACCESSIBLE the
 * store closes and the DEK leaves memory; the next data call after the key is back
 * reopens it.
 *
 * Deletion (see pubsub.h, "Deleted topics"): a topic its subscriptions still read is
 * retained (reg->retained) and its data store renamed (em_datastore_rename) to
 * <topic>/deleted/<creation time>, under which the engine checks its key and the gate
 * opens its data; a topic nobody reads, or a retained one whose last reader goes, is
 * crypto-shredded (em_datastore_shred): its keys are forgotten, its files removed. Order on disk,
 * so that a crash leaves nothing start-up cannot finish: retention writes metadata.db in
 * one transaction, then renames; shredding forgets the keys, removes the files, then the
 * row. Incarnations of one name have distinct creation times (store files and retained
 * names never collide).
 *
 * Location rule for kmsKeyName (our reading of Google's data-residency guidance: the key
 * must cover where the messages may be stored): the key's location is `global`, or covers every
 * region of the topic's messageStoragePolicy (a region covers itself, a multi-region such
 * as `us` covers us-*). A regional key on a topic without a message storage policy is
 * INVALID_ARGUMENT naming both locations.
 *
 * References are counted: lookups return a reference, so a call may keep using a topic or
 * subscription that is deleted meanwhile (it sees `deleted`). Admin changes are
 * serialised by admin_lock, taken before the registry lock; neither is held while KMS is
 * called except admin_lock. A topic's flags (deleted, retained) are atomics set before
 * its data store is renamed or shredded; data calls check them before the gate.
 */
#include "pubsub.h"
#include "pubsub_errors.h"

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
#include <time.h>

static pthread_mutex_t admin_lock = PTHREAD_MUTEX_INITIALIZER;

static enum em_code detach_locked(struct ps_registry *reg, const char *name, struct em_status *st);

/* --- config memory --- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void ps_topic_config_free(struct ps_topic_config *cfg)
{
    free(cfg->kms_key);
    free(cfg->labels_json);
    free(cfg->regions);
    memset(cfg, 0, sizeof(*cfg));
}

enum em_code ps_topic_config_copy(struct ps_topic_config *dst, const struct ps_topic_config *src,
                                  struct em_status *st)
{
    *dst = *src;
    dst->kms_key = dup_or_null(src->kms_key);
    dst->labels_json = strdup(src->labels_json ? src->labels_json : "{}");
    dst->regions = dup_or_null(src->regions);
    if ((src->kms_key && !dst->kms_key) || !dst->labels_json || (src->regions && !dst->regions)) {
        ps_topic_config_free(dst);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

static void push_config_free(struct ps_push_config *p)
{
    free(p->endpoint);
    free(p->attributes_json);
    free(p->oidc_service_account);
    free(p->oidc_audience);
    memset(p, 0, sizeof(*p));
}

void ps_sub_config_free(struct ps_sub_config *cfg)
{
    free(cfg->topic);
    free(cfg->filter);
    free(cfg->dead_letter_topic);
    free(cfg->labels_json);
    push_config_free(&cfg->push);
    memset(cfg, 0, sizeof(*cfg));
}

static bool push_config_copy(struct ps_push_config *dst, const struct ps_push_config *src)
{
    *dst = *src;
    dst->endpoint = dup_or_null(src->endpoint);
    dst->attributes_json = dup_or_null(src->attributes_json);
    dst->oidc_service_account = dup_or_null(src->oidc_service_account);
    dst->oidc_audience = dup_or_null(src->oidc_audience);
    return (!src->endpoint || dst->endpoint) && (!src->attributes_json || dst->attributes_json) &&
           (!src->oidc_service_account || dst->oidc_service_account) &&
           (!src->oidc_audience || dst->oidc_audience);
}

enum em_code ps_sub_config_copy(struct ps_sub_config *dst, const struct ps_sub_config *src,
                                struct em_status *st)
{
    *dst = *src;
    memset(&dst->push, 0, sizeof(dst->push));
    dst->topic = dup_or_null(src->topic);
    dst->filter = strdup(src->filter ? src->filter : "");
    dst->dead_letter_topic = dup_or_null(src->dead_letter_topic);
    dst->labels_json = strdup(src->labels_json ? src->labels_json : "{}");
    bool ok = push_config_copy(&dst->push, &src->push);
    if (!ok || (src->topic && !dst->topic) || !dst->filter ||
        (src->dead_letter_topic && !dst->dead_letter_topic) || !dst->labels_json) {
        ps_sub_config_free(dst);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

/* --- objects --- */

static void topic_free(struct ps_topic *t)
{
    if (!t)
        return;
    em_datastore_free(t->data);
    free(t->name);
    free(t->retained_name);
    ps_topic_config_free(&t->cfg);
    em_index_release(&t->subs);
    pthread_mutex_destroy(&t->wait_lock);
    pthread_cond_destroy(&t->wait_cond);
    free(t);
}

static void sub_free(struct ps_sub *s)
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

void ps_snapshot_free(struct ps_snapshot *snap)
{
    if (!snap)
        return;
    free(snap->name);
    free(snap->topic);
    free(snap->labels_json);
    free(snap);
}

void ps_topic_put(struct ps_topic *topic)
{
    if (topic && atomic_fetch_sub(&topic->refs, 1) == 1)
        topic_free(topic);
}

static void topic_ref(struct ps_topic *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void ps_sub_put(struct ps_sub *sub)
{
    if (!sub || atomic_fetch_sub(&sub->refs, 1) != 1)
        return;
    ps_topic_put(sub->topic);
    sub_free(sub);
}

static void sub_ref(struct ps_sub *s)
{
    atomic_fetch_add(&s->refs, 1);
}

void ps_snapshot_put(struct ps_snapshot *snap)
{
    if (snap && atomic_fetch_sub(&snap->refs, 1) == 1)
        ps_snapshot_free(snap);
}

void ps_topic_notify(struct ps_topic *topic)
{
    pthread_mutex_lock(&topic->wait_lock);
    topic->generation++;
    pthread_cond_broadcast(&topic->wait_cond);
    pthread_mutex_unlock(&topic->wait_lock);
}

/* The topic's log published messages (writer thread). */
static void on_commit(void *arg)
{
    struct ps_topic *topic = arg;
    ps_topic_notify(topic);
    if (topic->reg->push)
        ps_push_wake(topic->reg->push);
}

static struct ps_topic *topic_new(struct ps_registry *reg, const char *name, int64_t create_ns,
                                  struct em_status *st)
{
    struct ps_topic *t = calloc(1, sizeof(*t));
    char created[EM_TIME_TEXT_MAX];
    em_time_format(create_ns, created);
    if (!t || !(t->name = strdup(name)) ||
        asprintf(&t->retained_name, "%s/deleted/%s", name, created) < 0) {
        if (t)
            free(t->name);
        free(t);
        EM_FAIL_OOM(st);
        return NULL;
    }
    const char *slash = strchr(name + 9, '/');
    snprintf(t->project, sizeof(t->project), "%.*s", (int)(slash ? slash - name - 9 : 0), name + 9);
    /* the file is named after the topic and its creation time: a topic deleted and made
     * again never shares a file with its predecessor */
    char seed[PS_NAME_MAX + 32];
    snprintf(seed, sizeof(seed), "%s\n%lld", name, (long long)create_ns);
    ps_topic_file_name(seed, t->file);
    t->create_ns = create_ns;
    t->reg = reg;
    atomic_init(&t->refs, 1); /* the registry's */
    pthread_mutex_init(&t->wait_lock, NULL);
    pthread_cond_init(&t->wait_cond, NULL);
    t->events = (struct ps_log_events){on_commit, t};
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", reg->dir, t->file);
    if (em_datastore_new(reg->cmek, name, path, &ps_log_hooks, &t->events, &t->data, st)) {
        topic_free(t);
        return NULL;
    }
    return t;
}

/* --- lookups --- */

struct ps_topic *ps_topic_get(struct ps_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, name);
    if (t)
        topic_ref(t);
    pthread_rwlock_unlock(&reg->lock);
    return t;
}

struct ps_sub *ps_sub_get(struct ps_registry *reg, const char *name)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_sub *s = em_index_find(&reg->subs, name);
    if (s)
        sub_ref(s);
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

/* --- iteration --- */

static bool has_prefix(const char *name, const char *prefix)
{
    return !prefix || strncmp(name, prefix, strlen(prefix)) == 0;
}

void ps_each_topic(struct ps_registry *reg, const char *prefix, ps_topic_fn fn, void *arg)
{
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = prefix ? em_index_lower_bound(&reg->topics, prefix) : 0; i < reg->topics.count;
         i++) {
        const struct ps_topic *t = reg->topics.items[i];
        if (!has_prefix(t->name, prefix))
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
            if (!has_prefix(s->name, prefix))
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
        if (!has_prefix(s->name, prefix))
            break;
        if (!topic || strcmp(s->topic, topic) == 0)
            fn(s, arg);
    }
    pthread_rwlock_unlock(&reg->lock);
}

void ps_sub_policy(const struct ps_sub *sub, struct ps_delivery_policy *out)
{
    out->ack_deadline_s = sub->cfg.ack_deadline_s;
    out->retention_ns = sub->cfg.retention_ns;
    out->ordering = sub->cfg.ordering;
    /* without the service agent's permissions the policy does not count attempts */
    out->max_attempts = sub->cfg.dead_letter_topic && !atomic_load(&sub->dead_letter_denied)
                            ? sub->cfg.max_delivery_attempts
                            : 0;
    out->retry = sub->cfg.retry;
}

/* --- validation (Google's rules) --- */

static enum em_code check_retention(const char *what, int64_t ns, struct em_status *st)
{
    if (ns == 0 || (ns >= PS_MIN_RETENTION_NS && ns <= PS_MAX_RETENTION_NS))
        return EM_OK;
    char text[EM_TIME_TEXT_MAX];
    em_duration_format(ns, text);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid %s \"%s\": the message retention duration must be between 10 "
                   "minutes (600s) and 31 days (2678400s).",
                   what, text);
}

static enum em_code check_regions(const char *regions, struct em_status *st)
{
    if (!regions)
        return EM_OK;
    if (!*regions)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid message storage policy: allowed_persistence_regions must name at "
                       "least one region.");
    for (const char *p = regions; *p;) {
        size_t n = strcspn(p, ",");
        char region[64];
        snprintf(region, sizeof(region), "%.*s", (int)(n < sizeof(region) ? n : 63), p);
        const struct em_location *loc = em_location_find(region);
        if (!loc || loc->kind != EM_LOC_REGION)
            return PS_ERR_STORAGE_REGION_UNKNOWN(st, region);
        p += n;
        if (*p == ',')
            p++;
    }
    return EM_OK;
}

/* The key's location must be global or cover every allowed persistence region. */
static enum em_code check_key_location(const char *topic, const char *key, const char *regions,
                                       struct em_status *st)
{
    struct em_crypto_key_name parsed;
    if (em_crypto_key_name_parse(key, "kms_key_name", &parsed, st))
        return st->code;
    const char *location = parsed.location;
    if (strcmp(location, "global") == 0)
        return EM_OK;
    if (!regions)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The Cloud KMS key %s is in location \"%s\", but topic %s has no message "
                       "storage policy, so its messages may be stored in any region (\"global\"). "
                       "Use a key in location \"global\", or set "
                       "messageStoragePolicy.allowedPersistenceRegions to regions within \"%s\".",
                       key, location, topic, location);
    for (const char *p = regions; *p;) {
        size_t n = strcspn(p, ",");
        char region[64];
        snprintf(region, sizeof(region), "%.*s", (int)(n < sizeof(region) ? n : 63), p);
        if (!em_location_covers(location, region))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The Cloud KMS key %s is in location \"%s\", which does not cover the "
                           "region \"%s\" allowed by the message storage policy of topic %s. The "
                           "key must be in location \"global\" or in a location covering every "
                           "allowed persistence region.",
                           key, location, region, topic);
        p += n;
        if (*p == ',')
            p++;
    }
    return EM_OK;
}

static enum em_code check_topic_config(const char *name, const struct ps_topic_config *cfg,
                                       struct em_status *st)
{
    if (check_regions(cfg->regions, st) ||
        check_retention("message_retention_duration", cfg->retention_ns, st))
        return st->code;
    if (cfg->kms_key && check_key_location(name, cfg->kms_key, cfg->regions, st))
        return st->code;
    return EM_OK;
}

static bool push_endpoint_valid(const char *url)
{
    const char *rest = strncmp(url, "http://", 7) == 0    ? url + 7
                       : strncmp(url, "https://", 8) == 0 ? url + 8
                                                          : NULL;
    if (!rest || !*rest || *rest == '/')
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == '<' || *p == '>')
            return false;
    return true;
}

static enum em_code check_push(const struct ps_push_config *push, struct em_status *st)
{
    if (push->endpoint && !push_endpoint_valid(push->endpoint))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid push endpoint given (endpoint=%.300s). Refer to "
                       "https://cloud.google.com/pubsub/docs/push for more information.",
                       push->endpoint);
    return EM_OK;
}

static enum em_code check_ack_deadline(int *seconds, struct em_status *st)
{
    if (*seconds == 0)
        *seconds = PS_DEFAULT_ACK_DEADLINE_S;
    if (*seconds < PS_MIN_ACK_DEADLINE_S || *seconds > PS_MAX_ACK_DEADLINE_S)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid ack_deadline_seconds %d: it must be between %d and %d seconds.",
                       *seconds, PS_MIN_ACK_DEADLINE_S, PS_MAX_ACK_DEADLINE_S);
    return EM_OK;
}

static enum em_code check_dead_letter(struct ps_registry *reg, struct ps_sub_config *cfg,
                                      struct em_status *st)
{
    if (!cfg->dead_letter_topic)
        return EM_OK;
    char project[64], id[260];
    if (ps_parse_name(cfg->dead_letter_topic, "topics", project, sizeof(project), id, sizeof(id),
                      st))
        return st->code;
    if (cfg->max_delivery_attempts == 0)
        cfg->max_delivery_attempts = PS_MIN_DELIVERY_ATTEMPTS;
    if (cfg->max_delivery_attempts < PS_MIN_DELIVERY_ATTEMPTS)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "The value for max_delivery_attempts is too small. You passed %d in the "
                       "request, but the minimum value is %d.",
                       cfg->max_delivery_attempts, PS_MIN_DELIVERY_ATTEMPTS);
    if (cfg->max_delivery_attempts > PS_MAX_DELIVERY_ATTEMPTS)
        return EM_FAIL(st, EM_OUT_OF_RANGE,
                       "The value for max_delivery_attempts is too large. You passed %d in the "
                       "request, but the maximum value is %d.",
                       cfg->max_delivery_attempts, PS_MAX_DELIVERY_ATTEMPTS);
    struct ps_topic *dlt = ps_topic_get(reg, cfg->dead_letter_topic);
    ps_topic_put(dlt);
    if (!dlt)
        return EM_FAIL(st, EM_NOT_FOUND, "Dead letter topic %s not found.", cfg->dead_letter_topic);
    return EM_OK;
}

static enum em_code check_retry(struct ps_retry *retry, struct em_status *st)
{
    if (!retry->set)
        return EM_OK;
    if (retry->min_ns < 0)
        retry->min_ns = PS_DEFAULT_MIN_BACKOFF_NS;
    if (retry->max_ns < 0)
        retry->max_ns = PS_MAX_BACKOFF_NS;
    if (retry->min_ns > PS_MAX_BACKOFF_NS || retry->max_ns > PS_MAX_BACKOFF_NS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid retry policy: minimum_backoff and maximum_backoff must be at most "
                       "600 seconds.");
    if (retry->min_ns > retry->max_ns)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid retry policy: minimum_backoff must not exceed maximum_backoff.");
    return EM_OK;
}

static enum em_code check_ttl(int64_t *ttl_ns, struct em_status *st)
{
    if (*ttl_ns < 0)
        *ttl_ns = PS_DEFAULT_TTL_NS;
    if (*ttl_ns != 0 && *ttl_ns < PS_MIN_TTL_NS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid expiration_policy.ttl: the minimum is 1 day (86400s).");
    return EM_OK;
}

/* Checks a new subscription's settings and fills defaults. */
static enum em_code check_sub_config(struct ps_registry *reg, struct ps_sub_config *cfg,
                                     struct em_filter **filter, struct em_status *st)
{
    char project[64], id[260];
    *filter = NULL;
    if (!cfg->topic || !*cfg->topic)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "subscription.topic is required.");
    if (ps_parse_name(cfg->topic, "topics", project, sizeof(project), id, sizeof(id), st) ||
        check_ack_deadline(&cfg->ack_deadline_s, st))
        return st->code;
    if (cfg->retention_ns == 0)
        cfg->retention_ns = PS_DEFAULT_RETENTION_NS;
    if (check_retention("message_retention_duration", cfg->retention_ns, st) ||
        check_dead_letter(reg, cfg, st) || check_retry(&cfg->retry, st) ||
        check_push(&cfg->push, st) || check_ttl(&cfg->ttl_ns, st) ||
        ps_filter_compile(cfg->filter, filter, st))
        return st->code;
    return EM_OK;
}

/* --- topics --- */

static enum em_code save_topic(struct ps_registry *reg, const struct ps_topic *t,
                               struct em_status *st)
{
    return ps_store_save_topic(reg->meta, t, st);
}

enum em_code ps_registry_adopt_topic(struct ps_registry *reg, const char *name,
                                     struct ps_topic_config *cfg, int64_t create_ns,
                                     struct em_status *st)
{
    struct ps_topic *t = topic_new(reg, name, create_ns, st);
    if (!t) {
        ps_topic_config_free(cfg);
        return st->code;
    }
    t->cfg = *cfg;
    if (!t->cfg.labels_json)
        t->cfg.labels_json = strdup("{}");
    memset(cfg, 0, sizeof(*cfg));
    if (!em_index_insert(&reg->topics, t)) {
        topic_free(t);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

/* A creation time for a new topic named name, later than those of its retained
 * predecessors (which name their files and CMEK resources). */
static int64_t incarnation_time(struct ps_registry *reg, const char *name)
{
    int64_t ns = em_clock_now();
    char prefix[PS_NAME_MAX + 16];
    snprintf(prefix, sizeof(prefix), "%s/deleted/", name);
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = em_index_lower_bound(&reg->retained, prefix); i < reg->retained.count; i++) {
        const struct ps_retained *entry = reg->retained.items[i];
        if (!has_prefix(entry->name, prefix))
            break;
        if (entry->topic->create_ns >= ns)
            ns = entry->topic->create_ns + 1;
    }
    pthread_rwlock_unlock(&reg->lock);
    return ns;
}

enum em_code ps_topic_create(struct ps_registry *reg, const char *name,
                             const struct ps_topic_config *cfg, struct ps_topic **out,
                             struct em_status *st)
{
    if (check_topic_config(name, cfg, st))
        return st->code;
    pthread_mutex_lock(&admin_lock);
    struct ps_topic *existing = ps_topic_get(reg, name);
    enum em_code code = EM_OK;
    struct ps_topic *t = NULL;
    if (existing) {
        ps_topic_put(existing);
        code = PS_ERR_TOPIC_EXISTS(st);
        goto out;
    }
    if (!(t = topic_new(reg, name, incarnation_time(reg, name), st)) ||
        ps_topic_config_copy(&t->cfg, cfg, st)) {
        code = st->code;
        goto out;
    }
    code = em_cmek_protect(reg->cmek, name, t->project, cfg->kms_key, st);
    if (code)
        goto out;
    if ((code = save_topic(reg, t, st)) != EM_OK) {
        struct em_status ignored = {0};
        em_cmek_forget(reg->cmek, name, &ignored);
        goto out;
    }
    pthread_rwlock_wrlock(&reg->lock);
    bool inserted = em_index_insert(&reg->topics, t);
    pthread_rwlock_unlock(&reg->lock);
    if (!inserted) {
        code = EM_FAIL_OOM(st);
        goto out;
    }
    topic_ref(t);
    *out = t;
    t = NULL;
out:
    pthread_mutex_unlock(&admin_lock);
    if (t)
        topic_free(t);
    return code;
}

enum em_code ps_topic_update(struct ps_registry *reg, const char *name,
                             const struct ps_topic_update *update, struct ps_topic **out,
                             struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    struct ps_topic *t = ps_topic_get(reg, name);
    enum em_code code = EM_OK;
    struct ps_topic_config next = {0};
    if (!t) {
        code = PS_ERR_TOPIC_NOT_FOUND(st);
        goto out;
    }
    if ((code = ps_topic_config_copy(&next, &t->cfg, st)) != EM_OK)
        goto out;
    const struct ps_topic_config *u = &update->cfg;
    bool rekey = false;
    if (update->mask & PS_TOPIC_KMS_KEY) {
        const char *was = t->cfg.kms_key ? t->cfg.kms_key : "";
        const char *want = u->kms_key ? u->kms_key : "";
        if (strcmp(was, want) != 0) {
            free(next.kms_key);
            next.kms_key = want[0] ? strdup(want) : NULL;
            if (want[0] && !next.kms_key) {
                code = EM_FAIL_OOM(st);
                goto out;
            }
            rekey = true;
        }
    }
    if (update->mask & PS_TOPIC_LABELS) {
        free(next.labels_json);
        next.labels_json = strdup(u->labels_json ? u->labels_json : "{}");
    }
    if (update->mask & PS_TOPIC_STORAGE_POLICY) {
        free(next.regions);
        next.regions = dup_or_null(u->regions);
        next.enforce_in_transit = u->enforce_in_transit;
    }
    if (update->mask & PS_TOPIC_RETENTION)
        next.retention_ns = u->retention_ns;
    if (!next.labels_json ||
        (u->regions && (update->mask & PS_TOPIC_STORAGE_POLICY) && !next.regions)) {
        code = EM_FAIL_OOM(st);
        goto out;
    }
    if ((code = check_topic_config(name, &next, st)) != EM_OK)
        goto out;
    /* a new key wraps the topic's key encryption key again; the messages stay as they are */
    if (rekey && (code = em_cmek_rekey(reg->cmek, name, next.kms_key, st)) != EM_OK)
        goto out;
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_topic_config old = t->cfg;
    t->cfg = next;
    code = save_topic(reg, t, st);
    if (code) {
        next = t->cfg;
        t->cfg = old;
    } else {
        next = old;
    }
    pthread_rwlock_unlock(&reg->lock);
out:
    ps_topic_config_free(&next);
    pthread_mutex_unlock(&admin_lock);
    if (code) {
        ps_topic_put(t);
        return code;
    }
    *out = t;
    return EM_OK;
}

struct em_datafile *ps_topic_peek_log(struct ps_topic *topic)
{
    return em_datastore_peek(topic->data);
}

/* Whether a data call may use the topic's store: publishing needs the topic, the calls of
 * subscriptions also take a retained deleted topic. */
static enum em_code check_usable(const struct ps_topic *t, bool publishing, struct em_status *st)
{
    if (!t->deleted)
        return EM_OK;
    if (publishing)
        return PS_ERR_TOPIC_NOT_FOUND(st);
    if (!t->retained)
        return EM_FAIL(st, EM_NOT_FOUND, "The messages of deleted topic %s are gone.", t->name);
    return EM_OK;
}

enum em_code ps_topic_open_data(struct ps_topic *topic, struct em_datafile **log,
                                struct em_status *st)
{
    *log = NULL;
    if (check_usable(topic, true, st))
        return st->code;
    return em_datastore_open(topic->data, log, st);
}

enum em_code ps_topic_open_backlog(struct ps_topic *topic, struct em_datafile **log,
                                   struct em_status *st)
{
    *log = NULL;
    if (check_usable(topic, false, st))
        return st->code;
    return em_datastore_open(topic->data, log, st);
}

enum em_code ps_topic_gate(struct ps_topic *topic, struct em_status *st)
{
    return em_datastore_gate(topic->data, st);
}

void ps_topic_close_data(struct ps_topic *topic, struct em_datafile *log)
{
    (void)topic;
    em_datafile_put(log); /* the last reference of a log shut down meanwhile closes it */
}

void ps_topic_log_shutdown(struct ps_topic *topic)
{
    em_datastore_close(topic->data);
    ps_topic_notify(topic); /* waiting pulls re-check the gate */
}

/* --- deleted topics: retention and crypto-shredding --- */

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
    topic_ref(t);
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
static enum em_code retire_topic(struct ps_registry *reg, struct ps_topic *t, struct em_status *st)
{
    struct ps_retained *entry = NULL;
    if (has_readers(t) && !(entry = retained_add(reg, t, st)))
        return st->code;
    if (ps_store_retire_topic(reg->meta, t, entry ? t->retained_name : NULL, st)) {
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
static void shred_data(struct ps_registry *reg, struct ps_topic *t, bool forget_keys)
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
    shred_data(reg, t, forget_keys);
    struct em_status st = {0};
    if (ps_store_delete_retained(reg->meta, t->retained_name, &st))
        em_warn("pubsub: forgetting %s: %s", t->retained_name, st.message);
    em_info("pubsub: the data of deleted topic %s (%s) is shredded", t->name, t->retained_name);
    free(entry);
    ps_topic_put(t);
}

/* Shreds a retained topic once no subscription reads it (admin lock held). */
static void release_if_unread(struct ps_registry *reg, struct ps_topic *t)
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

enum em_code ps_topic_delete(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, name);
    enum em_code code = t ? retire_topic(reg, t, st) : PS_ERR_TOPIC_NOT_FOUND(st);
    pthread_rwlock_unlock(&reg->lock);
    if (!code && t->retained)
        rename_retained_data(reg, t);
    else if (!code)
        shred_data(reg, t, true);
    pthread_mutex_unlock(&admin_lock);
    if (!code)
        ps_topic_put(t); /* the registry's reference */
    return code;
}

const char *ps_sub_retained_topic(const struct ps_sub *sub)
{
    bool orphan = sub->cfg.topic && strcmp(sub->cfg.topic, PS_DELETED_TOPIC) == 0;
    return orphan && sub->topic ? sub->topic->retained_name : NULL;
}

enum em_code ps_registry_adopt_retained(struct ps_registry *reg, const char *topic,
                                        struct ps_topic_config *cfg, int64_t create_ns,
                                        struct em_status *st)
{
    struct ps_topic *t = topic_new(reg, topic, create_ns, st);
    if (!t) {
        ps_topic_config_free(cfg);
        return st->code;
    }
    t->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
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
static void reconcile_retained(struct ps_registry *reg)
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

/* A topic or retained topic by the name the CMEK engine knows its data by, with a
 * reference, or NULL. */
static struct ps_topic *topic_by_data_name(struct ps_registry *reg, const char *resource)
{
    pthread_rwlock_rdlock(&reg->lock);
    struct ps_topic *t = em_index_find(&reg->topics, resource);
    if (!t) {
        struct ps_retained *entry = em_index_find(&reg->retained, resource);
        t = entry ? entry->topic : NULL;
    }
    if (t)
        topic_ref(t);
    pthread_rwlock_unlock(&reg->lock);
    return t;
}

/* --- subscriptions --- */

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
    topic_ref(t);
    s->topic = t;
    return true;
}

enum em_code ps_registry_adopt_sub(struct ps_registry *reg, const struct ps_sub_row *row,
                                   struct ps_sub_config *cfg, struct em_status *st)
{
    struct ps_sub *s = sub_new(row->name, st);
    if (!s) {
        ps_sub_config_free(cfg);
        return st->code;
    }
    s->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
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
        sub_free(s);
        return EM_FAIL_OOM(st);
    }
    ps_sub_check_dead_letter(reg, s);
    return EM_OK;
}

enum em_code ps_sub_create(struct ps_registry *reg, const char *name,
                           const struct ps_sub_config *cfg, struct ps_sub **out,
                           struct em_status *st)
{
    struct ps_sub *s = sub_new(name, st);
    if (!s)
        return st->code;
    enum em_code code = ps_sub_config_copy(&s->cfg, cfg, st);
    if (!code)
        code = check_sub_config(reg, &s->cfg, &s->filter, st);
    if (code) {
        sub_free(s);
        return code;
    }
    pthread_mutex_lock(&admin_lock);
    struct ps_sub *existing = ps_sub_get(reg, name);
    struct ps_topic *topic = ps_topic_get(reg, s->cfg.topic);
    if (existing)
        code = PS_ERR_SUBSCRIPTION_EXISTS(st);
    else if (!topic)
        code = PS_ERR_SUBSCRIPTION_TOPIC_NOT_FOUND(st);
    ps_sub_put(existing);
    ps_topic_put(topic);
    atomic_store(&s->dead_letter_denied, reg->config->iam_enforce); /* until checked */
    if (!code)
        ps_sub_check_dead_letter(reg, s);
    if (!code) {
        s->id = ps_registry_new_id(reg);
        s->create_ns = s->last_active_ns = s->saved_active_ns = em_clock_now();
        code = ps_store_save_sub(reg->meta, s, st);
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
    pthread_mutex_unlock(&admin_lock);
    if (code) {
        ps_sub_put(s);
        return code;
    }
    if (s->cfg.push.endpoint && reg->push)
        ps_push_kick(reg->push);
    sub_ref(s);
    *out = s;
    return EM_OK;
}

enum em_code ps_sub_update(struct ps_registry *reg, const char *name,
                           const struct ps_sub_update *update, struct ps_sub **out,
                           struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
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
        if ((code = check_ack_deadline(&next.ack_deadline_s, st)) != EM_OK)
            goto out;
    }
    if (m & PS_SUB_PUSH) {
        push_config_free(&next.push);
        if (!push_config_copy(&next.push, &u->push)) {
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
        next.ttl_ns = u->ttl_ns < 0 ? 0 : u->ttl_ns; /* an empty policy: never expires */
    if (m & PS_SUB_DEAD_LETTER) {
        free(next.dead_letter_topic);
        next.dead_letter_topic = dup_or_null(u->dead_letter_topic);
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
    if (check_retention("message_retention_duration", next.retention_ns, st) ||
        check_dead_letter(reg, &next, st) || check_retry(&next.retry, st) ||
        check_push(&next.push, st) || check_ttl(&next.ttl_ns, st)) {
        code = st->code;
        goto out;
    }
    pthread_rwlock_wrlock(&reg->lock);
    pthread_mutex_lock(&s->lock);
    struct ps_sub_config old = s->cfg;
    s->cfg = next;
    bool detach = (m & PS_SUB_DETACHED) && update->detached && !s->detached;
    code = ps_store_save_sub(reg->meta, s, st);
    if (code) {
        next = s->cfg;
        s->cfg = old;
    } else {
        next = old;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_rwlock_unlock(&reg->lock);
    if (!code && (m & PS_SUB_DEAD_LETTER))
        ps_sub_check_dead_letter(reg, s);
    if (!code && detach)
        code = detach_locked(reg, name, st);
    if (!code && s->cfg.push.endpoint && reg->push)
        ps_push_kick(reg->push);
out:
    ps_sub_config_free(&next);
    pthread_mutex_unlock(&admin_lock);
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

/* Forgets the store rows of an owner when its topic's log is open (otherwise the rows
 * are dropped when the log next opens: see ps_tick's clean-up). */
static void forget_rows_if_open(struct ps_topic *topic, uint32_t owner)
{
    struct em_datafile *log = topic ? ps_topic_peek_log(topic) : NULL;
    if (!log)
        return;
    struct em_status ignored = {0};
    ps_forget_rows(log, owner, 0, &ignored);
    em_datafile_put(log);
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
    forget_rows_if_open(s->topic, s->id);
    if (s->topic)
        ps_topic_notify(s->topic);
    release_if_unread(reg, s->topic);
    ps_sub_put(s); /* the registry's reference */
    return EM_OK;
}

enum em_code ps_sub_delete(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    enum em_code code = remove_sub(reg, name, NULL, st);
    pthread_mutex_unlock(&admin_lock);
    return code;
}

enum em_code ps_sub_expire(struct ps_registry *reg, struct ps_sub *sub, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    enum em_code code = remove_sub(reg, sub->name, sub, st);
    pthread_mutex_unlock(&admin_lock);
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
    enum em_code code = was ? EM_OK : ps_store_save_sub(reg->meta, s, st);
    if (!code && !was)
        forget_rows_if_open(s->topic, s->id);
    if (s->topic)
        ps_topic_notify(s->topic);
    release_if_unread(reg, unread);
    ps_topic_put(unread);
    ps_sub_put(s);
    return code;
}

enum em_code ps_sub_detach(struct ps_registry *reg, const char *name, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    enum em_code code = detach_locked(reg, name, st);
    pthread_mutex_unlock(&admin_lock);
    return code;
}

struct ps_topic *ps_sub_topic(struct ps_sub *sub)
{
    pthread_mutex_lock(&sub->lock);
    struct ps_topic *t = sub->topic;
    if (t)
        topic_ref(t);
    pthread_mutex_unlock(&sub->lock);
    return t;
}

/* --- snapshots --- */

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
    pthread_mutex_lock(&admin_lock);
    pthread_rwlock_wrlock(&reg->lock);
    struct ps_snapshot *snap = em_index_find(&reg->snapshots, name);
    enum em_code code =
        snap ? ps_store_delete_snapshot(reg->meta, name, st) : PS_ERR_SNAPSHOT_NOT_FOUND(st);
    if (!code)
        em_index_remove(&reg->snapshots, name);
    struct ps_topic *topic = snap && !code ? em_index_find(&reg->topics, snap->topic) : NULL;
    if (topic)
        topic_ref(topic);
    pthread_rwlock_unlock(&reg->lock);
    if (!code) {
        forget_rows_if_open(topic, snap->id);
        ps_snapshot_put(snap);
    }
    ps_topic_put(topic);
    pthread_mutex_unlock(&admin_lock);
    return code;
}

enum em_code ps_snapshot_update_labels(struct ps_registry *reg, const char *name,
                                       const char *labels_json, int64_t expire_ns,
                                       struct ps_snapshot **out, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
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
            code = ps_store_save_snapshot(reg->meta, snap, st);
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
    pthread_mutex_unlock(&admin_lock);
    if (!code)
        *out = snap;
    return code;
}

/* --- CMEK hooks --- */

/* What a CMEK resource of Pub/Sub protects, in words: "topic T", or "the messages
 * retained from deleted topic T" for <T>/deleted/<time>. */
static void describe_protected(const char *resource, char *out, size_t len)
{
    const char *deleted = strstr(resource, "/deleted/"); /* topic IDs have no '/' */
    if (deleted)
        snprintf(out, len, "the messages retained from deleted topic %.*s (%s)",
                 (int)(deleted - resource), resource, resource);
    else
        snprintf(out, len, "topic %s", resource);
}

void ps_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st)
{
    (void)arg;
    char what[2 * EM_RESOURCE_MAX];
    describe_protected(info->resource, what, sizeof(what));
    if (strstr(info->reason, "DESTROYED"))
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "The Cloud KMS key version %s protecting %s was destroyed: the messages "
                "protected by it are unrecoverable (%s).",
                info->key_version[0] ? info->key_version : info->kms_key, what, info->reason);
    else
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "The Cloud KMS key %s protecting %s is not accessible (%s). The messages are "
                "kept and will be delivered once the key is accessible again.",
                info->kms_key, what, info->reason);
}

void ps_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                      enum em_cmek_state to)
{
    struct ps_registry *reg = arg;
    em_info("pubsub: %s: %s -> %s", resource, em_cmek_state_name(from), em_cmek_state_name(to));
    struct ps_topic *t = topic_by_data_name(reg, resource);
    if (!t)
        return;
    if (em_datastore_state_changed(t->data, to))
        ps_topic_notify(t); /* the DEK left memory with the store; waiting pulls re-check */
    else if (reg->push)
        ps_push_kick(reg->push); /* push resumes */
    ps_topic_put(t);
}

/* --- open / close / reset --- */

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

enum em_code ps_registry_load(struct ps_registry *reg, struct em_cmek *cmek, struct em_status *st)
{
    reg->cmek = cmek;
    if (ps_store_load(reg, st))
        return st->code;
    reconcile_retained(reg);
    for (size_t i = 0; i < reg->topics.count; i++) {
        const struct ps_topic *t = reg->topics.items[i];
        struct em_cmek_info info;
        if (!em_cmek_info(cmek, t->name, &info))
            em_warn("pubsub: topic %s has no CMEK record: its messages cannot be read", t->name);
    }
    em_info("pubsub: %zu topics, %zu deleted topics retained, %zu subscriptions, %zu snapshots",
            reg->topics.count, reg->retained.count, reg->subs.count, reg->snapshots.count);
    return ps_push_start(reg, &reg->push, st);
}

/* Takes a topic or retained topic out of service: its data is shredded (reset) or stays
 * for the next start (close). */
static void drop_topic(struct ps_registry *reg, struct ps_topic *t, bool shred)
{
    t->deleted = true;
    t->retained = false;
    if (shred)
        shred_data(reg, t, true);
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
}

enum em_code ps_registry_reset(struct ps_registry *reg, struct em_status *st)
{
    pthread_mutex_lock(&admin_lock);
    enum em_code code = ps_store_clear(reg->meta, st);
    if (!code)
        drop_everything(reg, true);
    pthread_mutex_unlock(&admin_lock);
    return code;
}

void ps_registry_close(struct ps_registry *reg)
{
    if (!reg)
        return;
    ps_push_stop(reg->push);
    reg->push = NULL;
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
        topic_ref(topics[i]);
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
