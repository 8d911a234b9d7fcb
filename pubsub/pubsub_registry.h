/*
 * pubsub_registry: topics, subscriptions and snapshots: the objects, their references and
 * the admin calls (pubsub_registry.c and the files it lists in pubsub_model.h), and the
 * way the data calls reach a topic's messages.
 *
 * Deleted topics (Google: "the subscription's message backlog is available for
 * subscribers"). A topic deleted while subscriptions (not detached) read it is *retained*:
 * it leaves the topics, takes no more publishes, its subscriptions show topic
 * _deleted-topic_ but keep pulling, acknowledging and seeking (to a time) in what it holds.
 * Its store and its CMEK protection stay, the latter renamed <topic>/deleted/<creation
 * time> so the name is free for a new topic, and key checks go on under that name. When
 * the last of those subscriptions is deleted, detached or expires, the retained topic is
 * crypto-shredded like a topic deleted without readers: keys forgotten, files removed.
 *
 *   topic --delete, readers--> retained --last reader gone--> shredded
 *     \---------------------delete, no reader---------------------^
 *
 * Snapshots of a deleted topic stay listed until they expire but hold no data: seeking to
 * them fails (a re-created topic is another topic, and Google refuses them too).
 *
 * Locks, outermost first: the registry rwlock (lookups and changes of the maps, never
 * held across a data call), a subscription's lock (its backlog), a topic's data store
 * lock (em_datastore.h: its open file; held across the CMEK gate and the engine's
 * renames, so the engine's locks nest inside it); leaves: a data file's queue lock and a
 * topic's wait_lock (new-message notification). A topic's deleted and retained flags
 * are atomics, checked before its data store is opened. Admin changes (create,
 * update, delete, detach) are serialised by the registry's admin lock, outside all
 * these. Code holding a subscription lock never takes the registry lock (what it
 * needs from the registry, such as the dead-letter topic, is looked up before). A data
 * store's writer thread takes only leaves, so a thread holding a subscription lock may
 * wait for one of its jobs.
 */
#ifndef PUBSUB_REGISTRY_H
#define PUBSUB_REGISTRY_H

#include "em_cmek.h"
#include "em_datastore.h"
#include "em_index.h"
#include "pubsub_log.h"
#include "pubsub_model.h"

#include <pthread.h>
#include <stdatomic.h>

struct em_config;
struct em_audit;

struct ps_sub;

struct ps_topic {
    char *name;
    char project[64];
    struct ps_topic_config cfg;
    int64_t create_ns;
    char file[PS_FILE_NAME_MAX];
    char *retained_name; /* <name>/deleted/<creation time>: the name of its data once the
                            topic is deleted and retained (fixed from creation on) */
    atomic_int refs;
    atomic_bool deleted;  /* no longer a topic: not found by name, no publishing */
    atomic_bool retained; /* deleted, its data kept for the subscriptions still reading it */

    struct em_datastore *data;   /* its messages: CMEK gate, encrypted file, writer thread */
    struct ps_log_events events; /* what its log tells it (new messages) */

    pthread_mutex_t wait_lock; /* new messages (and acks): waiting pulls and push */
    pthread_cond_t wait_cond;
    uint64_t generation;

    struct em_index subs; /* attached subscriptions, by name (registry lock); once the
                             topic is retained, those still reading it */
    struct ps_registry *reg;
};

/* An entry of the registry's retained topics (its name points into the topic). */
struct ps_retained {
    const char *name;       /* topic->retained_name */
    struct ps_topic *topic; /* a reference */
};

struct ps_sub {
    char *name;
    char project[64];
    uint32_t id;
    struct ps_sub_config cfg;
    struct em_filter *filter;
    struct ps_topic *topic; /* the topic, or the retained deleted topic it still reads;
                               NULL once it reads nothing (sub->lock and admin lock) */
    bool detached;
    int64_t create_ns;
    atomic_int refs;
    bool deleted;

    pthread_mutex_t lock; /* guards what follows */
    bool loaded;          /* backlog read from the topic's store */
    struct ps_backlog backlog;
    int64_t last_active_ns, saved_active_ns;
    int64_t push_retry_ns; /* push: no delivery before this emulator time */
    uint32_t push_failures;
    bool dead_letter_reported; /* the current denial was logged and audited */

    /* Under --iam enforce: the Pub/Sub service agent may not forward to the dead-letter
     * topic (ps_sub_check_dead_letter); delivery attempts then do not count and messages
     * keep being redelivered, as in Google. */
    atomic_bool dead_letter_denied;
};

struct ps_snapshot {
    char *name;
    char *topic; /* "_deleted-topic_" once the topic is gone */
    uint32_t id;
    int64_t floor;
    int64_t expire_ns;
    char *labels_json;
    int64_t create_ns;
    atomic_int refs;
};

/* What delivers messages on its own (push delivery), attached to the registry by the
 * service; the registry and the data calls tell it about changes through these, so they
 * never call it directly. wake: new messages or a nack (cheap when nothing is pushed);
 * kick: a configuration, key state or clock change (always looks); stop: the registry
 * closes. */
struct ps_deliverer {
    void (*wake)(void *arg);
    void (*kick)(void *arg);
    void (*stop)(void *arg);
    void *arg;
};

struct ps_registry {
    pthread_rwlock_t lock;
    struct em_store *meta;
    struct em_cmek *cmek;
    const struct em_config *config;
    char dir[PS_DIR_MAX];      /* <data dir>/pubsub */
    struct em_index topics;    /* struct ps_topic, by name */
    struct em_index retained;  /* struct ps_retained, by retained name: deleted topics
                                  whose data subscriptions still read */
    struct em_index subs;      /* struct ps_sub, by name */
    struct em_index snapshots; /* struct ps_snapshot, by name */
    struct em_index schemas;   /* struct ps_schema (pubsub_schemas.c), by name */
    _Atomic uint32_t next_id;  /* subscription and snapshot ids */
    int pull_wait_ms;          /* PS_PULL_WAIT_MS; tests and fuzzing set 0 */
    const struct ps_deliverer *_Atomic deliverer; /* NULL until attached */
    struct em_audit *audit; /* the service's audit log (entries the registry writes) */
    int64_t last_gc_ns;
};

/* What a create or patch request asks for (strings point into the request). */
struct ps_topic_update {
    unsigned mask; /* PS_TOPIC_* bits: which fields a patch sets */
    struct ps_topic_config cfg;
};
enum {
    PS_TOPIC_LABELS = 1 << 0,
    /* messageStoragePolicy field by field, as schemaSettings below */
    PS_TOPIC_STORAGE_REGIONS = 1 << 1,
    PS_TOPIC_STORAGE_IN_TRANSIT = 1 << 8,
    PS_TOPIC_STORAGE_POLICY = PS_TOPIC_STORAGE_REGIONS | PS_TOPIC_STORAGE_IN_TRANSIT,
    PS_TOPIC_KMS_KEY = 1 << 2,
    PS_TOPIC_RETENTION = 1 << 3,
    /* schemaSettings field by field: a mask path naming one field changes only that one */
    PS_TOPIC_SCHEMA_NAME = 1 << 4,
    PS_TOPIC_SCHEMA_ENCODING = 1 << 5,
    PS_TOPIC_SCHEMA_FIRST_REVISION = 1 << 6,
    PS_TOPIC_SCHEMA_LAST_REVISION = 1 << 7,
    PS_TOPIC_SCHEMA = PS_TOPIC_SCHEMA_NAME | PS_TOPIC_SCHEMA_ENCODING |
                      PS_TOPIC_SCHEMA_FIRST_REVISION | PS_TOPIC_SCHEMA_LAST_REVISION,
};

struct ps_sub_update {
    unsigned mask; /* PS_SUB_* bits */
    struct ps_sub_config cfg;
    bool detached;
};
enum {
    PS_SUB_ACK_DEADLINE = 1 << 0,
    PS_SUB_PUSH_ENDPOINT = 1 << 1,
    PS_SUB_RETENTION = 1 << 2,
    PS_SUB_RETAIN_ACKED = 1 << 3,
    PS_SUB_LABELS = 1 << 4,
    PS_SUB_EXPIRATION = 1 << 5,
    PS_SUB_DEAD_LETTER = 1 << 6,
    PS_SUB_RETRY = 1 << 7,
    PS_SUB_EXACTLY_ONCE = 1 << 8,
    PS_SUB_DETACHED = 1 << 9,
    /* pushConfig field by field (with PS_SUB_PUSH_ENDPOINT): a mask path naming one field
     * changes only that one */
    PS_SUB_PUSH_ATTRIBUTES = 1 << 10,
    PS_SUB_PUSH_OIDC = 1 << 11,
    PS_SUB_PUSH_WRAPPER = 1 << 12, /* noWrapper or pubsubWrapper, one of them */
    PS_SUB_PUSH =
        PS_SUB_PUSH_ENDPOINT | PS_SUB_PUSH_ATTRIBUTES | PS_SUB_PUSH_OIDC | PS_SUB_PUSH_WRAPPER,
};

/* Opens the registry (migrations, the data directory); ps_registry_load then reads what
 * is stored once the CMEK engine is open (its hooks need the registry first). */
enum em_code ps_registry_open(struct em_store *meta, const struct em_config *config,
                              struct ps_registry **out, struct em_status *st);
enum em_code ps_registry_load(struct ps_registry *reg, struct em_cmek *cmek, int64_t now,
                              struct em_status *st);
void ps_registry_close(struct ps_registry *reg);
/* Attaches the deliverer (it must live until its stop runs; NULL detaches). */
void ps_registry_attach_deliverer(struct ps_registry *reg, const struct ps_deliverer *d);
/* Tell the deliverer, if any (see struct ps_deliverer). */
void ps_registry_wake_deliveries(struct ps_registry *reg);
void ps_registry_kick_deliveries(struct ps_registry *reg);
/* Drops every resource (control plane reset). */
enum em_code ps_registry_reset(struct ps_registry *reg, struct em_status *st);

/* Lookups return a reference (release with the matching _put) or NULL. */
struct ps_topic *ps_topic_get(struct ps_registry *reg, const char *name);
void ps_topic_put(struct ps_topic *topic);
struct ps_sub *ps_sub_get(struct ps_registry *reg, const char *name);
void ps_sub_put(struct ps_sub *sub);
struct ps_snapshot *ps_snapshot_get(struct ps_registry *reg, const char *name);
void ps_snapshot_put(struct ps_snapshot *snap);

/* Admin calls. The topic or subscription returned holds a reference. */
enum em_code ps_topic_create(struct ps_registry *reg, const char *name,
                             const struct ps_topic_config *cfg, int64_t now, struct ps_topic **out,
                             struct em_status *st);
enum em_code ps_topic_update(struct ps_registry *reg, const char *name,
                             const struct ps_topic_update *update, struct ps_topic **out,
                             struct em_status *st);
/* A copy of the topic's configuration as it is now (ps_topic_config_free it). */
enum em_code ps_topic_config_get(struct ps_topic *topic, struct ps_topic_config *out,
                                 struct em_status *st);
enum em_code ps_topic_delete(struct ps_registry *reg, const char *name, int64_t now,
                             struct em_status *st);

enum em_code ps_sub_create(struct ps_registry *reg, const char *name,
                           const struct ps_sub_config *cfg, int64_t now, struct ps_sub **out,
                           struct em_status *st);
enum em_code ps_sub_update(struct ps_registry *reg, const char *name,
                           const struct ps_sub_update *update, int64_t now, struct ps_sub **out,
                           struct em_status *st);
enum em_code ps_sub_delete(struct ps_registry *reg, const char *name, struct em_status *st);
enum em_code ps_sub_detach(struct ps_registry *reg, const char *name, struct em_status *st);

/* Iteration under the registry's read lock, in name order. prefix: "projects/p/" or
 * NULL; for subscriptions of a topic, topic names it. */
typedef void (*ps_topic_fn)(const struct ps_topic *topic, void *arg);
typedef void (*ps_sub_fn)(struct ps_sub *sub, void *arg);
typedef void (*ps_snapshot_fn)(const struct ps_snapshot *snap, void *arg);
void ps_each_topic(struct ps_registry *reg, const char *prefix, ps_topic_fn fn, void *arg);
void ps_each_sub(struct ps_registry *reg, const char *prefix, const char *topic, ps_sub_fn fn,
                 void *arg);
void ps_each_snapshot(struct ps_registry *reg, const char *prefix, const char *topic,
                      ps_snapshot_fn fn, void *arg);

/* The delivery policy of a subscription's configuration. */
void ps_sub_policy(const struct ps_sub *sub, struct ps_delivery_policy *out);

/* For the data calls (pubsub_flow.h): the registry lock is NOT held by callers.
 * A data call opens the topic's log through the CMEK gate (em_cmek_use) and releases
 * it when done: ps_topic_open_data for publishing (NOT_FOUND once the topic is deleted),
 * ps_topic_open_backlog for subscriptions (a retained deleted topic opens too). */
enum em_code ps_topic_open_data(struct ps_topic *topic, struct em_datafile **log,
                                struct em_status *st);
enum em_code ps_topic_open_backlog(struct ps_topic *topic, struct em_datafile **log,
                                   struct em_status *st);
void ps_topic_close_data(struct ps_topic *topic, struct em_datafile *log);
/* The CMEK gate alone: OK while the key protecting the topic's data is usable. */
enum em_code ps_topic_gate(struct ps_topic *topic, struct em_status *st);
/* The topic's log with a reference if it is open now (no gate: timers), else NULL. */
struct em_datafile *ps_topic_peek_log(struct ps_topic *topic);
/* Closes the log (CMEK state change, deletion, idleness); users finish first. */
void ps_topic_log_shutdown(struct ps_topic *topic);
/* The topic a subscription reads (its topic, or the retained deleted topic it still
 * reads), with a reference; NULL when it reads nothing. */
struct ps_topic *ps_sub_topic(struct ps_sub *sub);
/* The retained name of the deleted topic a subscription still reads, or NULL (what
 * metadata.db records; sub->lock or the admin lock held). */
const char *ps_sub_retained_topic(const struct ps_sub *sub);
/* Closes logs unused for a minute (timer). */
void ps_registry_idle_logs(struct ps_registry *reg);
/* Every topic and retained deleted topic, each with a reference (ps_topic_put each, free
 * the array); NULL and *count 0 when out of memory. */
struct ps_topic **ps_registry_data_topics(struct ps_registry *reg, size_t *count);
/* Wakes pulls and push waiting for the topic. */
void ps_topic_notify(struct ps_topic *topic);
/* Removes a subscription whose expiration policy ran out (timer). */
enum em_code ps_sub_expire(struct ps_registry *reg, struct ps_sub *sub, struct em_status *st);
/* Snapshot removal (timer and API). */
enum em_code ps_snapshot_delete(struct ps_registry *reg, const char *name, struct em_status *st);
/* Write a subscription or snapshot through to metadata.db (its row built from it). */
enum em_code ps_sub_save(struct ps_registry *reg, const struct ps_sub *sub, struct em_status *st);
enum em_code ps_snapshot_save(struct ps_registry *reg, const struct ps_snapshot *snap,
                              struct em_status *st);
/* Registers a snapshot created by the flow (takes ownership of snap). */
enum em_code ps_snapshot_insert(struct ps_registry *reg, struct ps_snapshot *snap,
                                struct em_status *st);
enum em_code ps_snapshot_update_labels(struct ps_registry *reg, const char *name,
                                       const char *labels_json, int64_t expire_ns,
                                       struct ps_snapshot **out, struct em_status *st);
uint32_t ps_registry_new_id(struct ps_registry *reg);
void ps_snapshot_free(struct ps_snapshot *snap);

/* The message INACCESSIBLE data calls get (the CMEK engine's hook). */
void ps_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st);
/* The engine's state hook: closes a topic's log when its key is not usable. */
void ps_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                      enum em_cmek_state to);

/* --- pubsub_agent.c --- */

/* Whether the Pub/Sub service agent of the subscription's project
 * (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com) may dead-letter for it, as
 * Google requires: pubsub.topics.publish on the dead-letter topic and
 * pubsub.subscriptions.consume on the subscription (always, with IAM off). Sets
 * sub->dead_letter_denied; a new denial is logged and written to the audit log as the
 * agent's refused Publish (caller: the subscription). Runs at create, update, load and
 * every tick, so grants and revocations take effect within a tick. */
void ps_sub_check_dead_letter(struct ps_registry *reg, struct ps_sub *sub, int64_t now);

#endif
