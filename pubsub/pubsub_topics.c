/*
 * pubsub_topics: topics: the object and its references, create and update (written
 * through to metadata.db), and the way every data call reaches a topic's messages.
 *
 * Every topic is a protected resource of the CMEK engine: created with em_cmek_protect
 * (its kmsKeyName, or Google default encryption), re-keyed with em_cmek_rekey when a patch
 * changes kmsKeyName. A topic's data is its data store (em_datastore.h, with Pub/Sub's
 * log state from pubsub_log.c): it opens only through the engine's gate, em_cmek_use,
 * which hands out the DEK; when the engine reports the key OFFLINE or INACCESSIBLE the
 * store closes and the DEK leaves memory (pubsub_keys.c); the next data call after the
 * key is back reopens it. Publishing needs a live topic; the calls of subscriptions also
 * reach a retained deleted topic (pubsub_retention.c). Incarnations of one name have
 * distinct creation times, so store files and retained names never collide.
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

void ps_topic_free(struct ps_topic *t)
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

void ps_topic_put(struct ps_topic *topic)
{
    if (topic && atomic_fetch_sub(&topic->refs, 1) == 1)
        ps_topic_free(topic);
}

void ps_topic_ref(struct ps_topic *t)
{
    atomic_fetch_add(&t->refs, 1);
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
    ps_registry_wake_deliveries(topic->reg);
}

struct ps_topic *ps_topic_new(struct ps_registry *reg, const char *name, int64_t create_ns,
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
        ps_topic_free(t);
        return NULL;
    }
    return t;
}

struct ps_topic_row ps_topic_to_row(const struct ps_topic *t)
{
    return (struct ps_topic_row){t->name, t->cfg, t->create_ns};
}

static enum em_code save_topic(struct ps_registry *reg, const struct ps_topic *t,
                               struct em_status *st)
{
    struct ps_topic_row row = ps_topic_to_row(t);
    return ps_store_save_topic(reg->meta, &row, st);
}

/* A stored topic (load visitor): its configuration is taken over. */
enum em_code ps_load_topic(void *arg, struct ps_topic_row *row, struct em_status *st)
{
    struct ps_registry *reg = arg;
    struct ps_topic *t = ps_topic_new(reg, row->name, row->create_ns, st);
    if (!t)
        return st->code;
    t->cfg = row->cfg;
    memset(&row->cfg, 0, sizeof(row->cfg));
    if (!t->cfg.labels_json)
        t->cfg.labels_json = strdup("{}");
    if (!t->cfg.labels_json || !em_index_insert(&reg->topics, t)) {
        ps_topic_free(t);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

/* A creation time for a new topic named name, later than those of its retained
 * predecessors (which name their files and CMEK resources). */
static int64_t incarnation_time(struct ps_registry *reg, const char *name, int64_t now)
{
    int64_t ns = now;
    char prefix[PS_NAME_MAX + 16];
    snprintf(prefix, sizeof(prefix), "%s/deleted/", name);
    pthread_rwlock_rdlock(&reg->lock);
    for (size_t i = em_index_lower_bound(&reg->retained, prefix); i < reg->retained.count; i++) {
        const struct ps_retained *entry = reg->retained.items[i];
        if (!ps_name_has_prefix(entry->name, prefix))
            break;
        if (entry->topic->create_ns >= ns)
            ns = entry->topic->create_ns + 1;
    }
    pthread_rwlock_unlock(&reg->lock);
    return ns;
}

enum em_code ps_topic_config_get(struct ps_topic *topic, struct ps_topic_config *out,
                                 struct em_status *st)
{
    pthread_rwlock_rdlock(&topic->reg->lock);
    enum em_code code = ps_topic_config_copy(out, &topic->cfg, st);
    pthread_rwlock_unlock(&topic->reg->lock);
    return code;
}

enum em_code ps_topic_create(struct ps_registry *reg, const char *name,
                             const struct ps_topic_config *cfg, int64_t now, struct ps_topic **out,
                             struct em_status *st)
{
    if (ps_check_topic_config(name, cfg, st))
        return st->code;
    pthread_mutex_lock(&ps_admin_lock);
    struct ps_topic *existing = ps_topic_get(reg, name);
    enum em_code code = EM_OK;
    struct ps_topic *t = NULL;
    if (existing) {
        ps_topic_put(existing);
        code = PS_ERR_TOPIC_EXISTS(st);
        goto out;
    }
    /* under the admin lock: the schema cannot be deleted meanwhile */
    if ((code = ps_schema_check_settings(reg, &cfg->schema, st)) != EM_OK)
        goto out;
    if (!(t = ps_topic_new(reg, name, incarnation_time(reg, name, now), st)) ||
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
    ps_topic_ref(t);
    *out = t;
    t = NULL;
out:
    pthread_mutex_unlock(&ps_admin_lock);
    if (t)
        ps_topic_free(t);
    return code;
}

/* The schema settings fields that mask names (PS_TOPIC_SCHEMA_* bits) taken from src, the
 * others kept: "schemaSettings.encoding" changes the encoding only (Google's client
 * libraries update the fields one by one so); "schemaSettings" replaces them all. */
static enum em_code merge_schema_settings(struct ps_schema_settings *dst,
                                          const struct ps_schema_settings *src, unsigned mask,
                                          struct em_status *st)
{
    if (mask & PS_TOPIC_SCHEMA_ENCODING)
        dst->encoding = src->encoding;
    if (((mask & PS_TOPIC_SCHEMA_NAME) && !ps_replace_string(&dst->schema, src->schema)) ||
        ((mask & PS_TOPIC_SCHEMA_FIRST_REVISION) &&
         !ps_replace_string(&dst->first_revision, src->first_revision)) ||
        ((mask & PS_TOPIC_SCHEMA_LAST_REVISION) &&
         !ps_replace_string(&dst->last_revision, src->last_revision)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code ps_topic_update(struct ps_registry *reg, const char *name,
                             const struct ps_topic_update *update, struct ps_topic **out,
                             struct em_status *st)
{
    pthread_mutex_lock(&ps_admin_lock);
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
    if (update->mask & PS_TOPIC_STORAGE_REGIONS) {
        free(next.regions);
        next.regions = ps_dup_or_null(u->regions);
    }
    if (update->mask & PS_TOPIC_STORAGE_IN_TRANSIT)
        next.enforce_in_transit = u->enforce_in_transit;
    if (update->mask & PS_TOPIC_RETENTION)
        next.retention_ns = u->retention_ns;
    if (update->mask & PS_TOPIC_SCHEMA) {
        if ((code = merge_schema_settings(&next.schema, &u->schema, update->mask, st)) != EM_OK ||
            (code = ps_schema_check_settings(reg, &next.schema, st)) != EM_OK)
            goto out;
    }
    if (!next.labels_json ||
        (u->regions && (update->mask & PS_TOPIC_STORAGE_REGIONS) && !next.regions)) {
        code = EM_FAIL_OOM(st);
        goto out;
    }
    if ((code = ps_check_topic_config(name, &next, st)) != EM_OK)
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
    pthread_mutex_unlock(&ps_admin_lock);
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

struct forget_job {
    uint32_t owners[2];
};

static enum em_code job_forget(struct em_datafile *log, void *arg, struct em_status *st)
{
    struct forget_job *j = arg;
    for (int i = 0; i < 2; i++)
        if (j->owners[i] && ps_store_forget_owner(em_datafile_store(log), j->owners[i], st))
            return st->code;
    return EM_OK;
}

static enum em_code forget_rows(struct em_datafile *log, uint32_t sub_id, uint32_t snapshot_id,
                                struct em_status *st)
{
    struct forget_job job = {{sub_id, snapshot_id}};
    return em_datafile_run(log, job_forget, &job, st);
}

void ps_topic_forget_rows(struct ps_topic *topic, uint32_t owner)
{
    struct em_datafile *log = topic ? ps_topic_peek_log(topic) : NULL;
    if (!log)
        return;
    struct em_status ignored = {0};
    forget_rows(log, owner, 0, &ignored);
    em_datafile_put(log);
}
