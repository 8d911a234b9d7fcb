/*
 * pubsub.h: the Pub/Sub emulator's internal model, shared by the files of pubsub/.
 *
 *   pubsub_ids.c       resource IDs, message IDs, ack IDs, retry and push backoff (pure)
 *   pubsub_filter.c    subscription filters: Google's syntax restricted to attributes
 *   pubsub_delivery.c  a subscription's backlog: the delivery state machine (pure)
 *   pubsub_log.c       a topic's message log: sequence numbers and publish times kept
 *                      while its data store (em_datastore.h: the encrypted file, the CMEK
 *                      gate, the writer thread that group-commits every write) is open
 *   pubsub_registry.c  topics, subscriptions and snapshots in memory, their validation,
 *                      persistence in metadata.db and CMEK protection; deleted topics
 *                      retained for their subscriptions, and crypto-shredding
 *   pubsub_flow.c      the data calls: publish, pull, acknowledge, modifyAckDeadline,
 *                      seek, snapshots' state, dead-lettering and the timers
 *   pubsub_push.c      push delivery (libcurl) on a background thread
 *   pubsub_store.c     the only SQL of Pub/Sub (metadata.db tables and topic stores)
 *   pubsub_json.c      JSON <-> the model, and the request schemas
 *   pubsub_handlers.c  one function per REST method
 *   pubsub_errors.h    the catalogue of error messages sent from more than one place
 *   pubsub_routes.c    the route table
 *
 * Storage. Metadata (topic, subscription and snapshot configuration, labels) lives in
 * metadata.db tables owned by pubsub_store.c. Customer data (message data, attributes,
 * ordering keys) lives only in one encrypted SQLite store per topic incarnation,
 * <data dir>/pubsub/<sha256(topic name, creation time)>.db, opened with the topic's DEK
 * from the CMEK engine; subscriptions' acknowledgement state and snapshots' state are kept
 * there too, so messages and what happened to them are protected by the topic's key.
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
 * Sequence numbers. Each topic numbers its messages 1, 2, 3 ... in publish order (the
 * message ID is that number in decimal). A subscription's backlog is a range of that
 * sequence: every message below its floor is acknowledged; messages from its cursor on
 * have never been read for it. See pubsub_delivery.c.
 *
 * Locks, outermost first: the registry rwlock (lookups and changes of the maps, never
 * held across a data call), a subscription's lock (its backlog), a topic's data store
 * lock (em_datastore.h: its open file; held across the CMEK gate and the engine's
 * renames, so the engine's locks nest inside it); leaves: a data file's queue lock and a
 * topic's wait_lock (new-message notification). A topic's deleted and retained flags
 * are atomics, checked before its data store is opened. Admin changes (create,
 * update, delete, detach) are serialised by the registry's admin lock, outside all
 * these. Code holding a subscription lock never takes the registry lock (what it
 * needs from the registry, such as the dead-letter topic, is looked up before). The log
 * thread takes only leaves, so a thread holding a subscription lock may wait for a log
 * job.
 *
 * Google reference: https://cloud.google.com/pubsub/docs/reference/rest
 */
#ifndef PUBSUB_H
#define PUBSUB_H

#include "em_call.h"
#include "em_cmek.h"
#include "em_datastore.h"
#include "em_index.h"
#include "em_json.h"
#include "em_status.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;
struct em_filter;
struct em_config;

/* --- Google's limits (https://cloud.google.com/pubsub/quotas#resource_limits) --- */

#define PS_MAX_PUBLISH_MESSAGES   1000
#define PS_MAX_PUBLISH_BYTES      (10 * 1000 * 1000)
#define PS_MAX_MESSAGE_BYTES      (10 * 1000 * 1000)
#define PS_MAX_ATTRIBUTES         100
#define PS_MAX_ATTRIBUTE_KEY      256
#define PS_MAX_ATTRIBUTE_VALUE    1024
#define PS_MAX_ORDERING_KEY       1024
#define PS_MAX_FILTER_BYTES       256
#define PS_MAX_PULL_MESSAGES      1000
#define PS_MIN_ACK_DEADLINE_S     10
#define PS_MAX_ACK_DEADLINE_S     600
#define PS_DEFAULT_ACK_DEADLINE_S 10
#define PS_MIN_DELIVERY_ATTEMPTS  5
#define PS_MAX_DELIVERY_ATTEMPTS  100
#define PS_MINUTE_NS              (60LL * EM_NS_PER_SEC)
#define PS_DAY_NS                 (86400LL * EM_NS_PER_SEC)
#define PS_MIN_RETENTION_NS       (10 * PS_MINUTE_NS)
#define PS_MAX_RETENTION_NS       (31 * PS_DAY_NS)
#define PS_DEFAULT_RETENTION_NS   (7 * PS_DAY_NS)
#define PS_DEFAULT_TTL_NS         (31 * PS_DAY_NS)
#define PS_MIN_TTL_NS             PS_DAY_NS
#define PS_SNAPSHOT_LIFETIME_NS   (7 * PS_DAY_NS)
#define PS_MAX_BACKOFF_NS         (600LL * EM_NS_PER_SEC)
#define PS_DEFAULT_MIN_BACKOFF_NS (10LL * EM_NS_PER_SEC)
#define PS_PULL_WAIT_MS           3000 /* how long a pull with nothing to return waits */

#define PS_DELETED_TOPIC "_deleted-topic_"
#define PS_NAME_MAX      EM_RESOURCE_MAX

/* --- pubsub_ids.c --- */

/* Topic, subscription and snapshot IDs: 3-255 characters, a letter first, then letters,
 * digits and - _ . ~ + %, not starting with "goog". kind: "topic", "subscription",
 * "snapshot". INVALID_ARGUMENT naming the name otherwise. */
enum em_code ps_check_id(const char *kind, const char *id, struct em_status *st);

/* Parses "projects/<p>/<collection>/<id>" (collection "topics", "subscriptions",
 * "snapshots"), checking the project and ID. */
enum em_code ps_parse_name(const char *name, const char *collection, char *project,
                           size_t project_len, char *id, size_t id_len, struct em_status *st);

/* Message IDs are the topic's sequence number in decimal. */
#define PS_MESSAGE_ID_MAX 24
void ps_message_id(int64_t seq, char out[PS_MESSAGE_ID_MAX]);

/* Ack IDs: opaque text naming the subscription, the message and the delivery. */
#define PS_ACK_ID_MAX 40
struct ps_ack_ref {
    uint32_t sub_id;
    int64_t seq;
    uint32_t gen; /* which delivery of the message */
};
void ps_ack_id_encode(const struct ps_ack_ref *ref, char out[PS_ACK_ID_MAX]);
bool ps_ack_id_decode(const char *text, struct ps_ack_ref *out);

/* Retry policy (RetryPolicy): exponential backoff between min and max. */
struct ps_retry {
    bool set;
    int64_t min_ns, max_ns;
};

/* Delay before redelivering a message whose delivery `attempts` failed (nack or ack
 * deadline expiry): min * 2^(attempts-1), capped at max; 0 without a policy. */
int64_t ps_retry_backoff(const struct ps_retry *retry, uint32_t attempts);

/* Push endpoints without a retry policy: 100 ms doubling per failure, up to 60 s. */
int64_t ps_push_backoff(uint32_t failures);

/* The store file of a topic: hex SHA-256 of its name, ".db" (no topic name on disk). */
#define PS_FILE_NAME_MAX 72
/* The registry's directory leaves room for "/<topic file>" within PATH_MAX. */
#define PS_DIR_MAX (PATH_MAX - PS_FILE_NAME_MAX)
void ps_topic_file_name(const char *topic, char out[PS_FILE_NAME_MAX]);

/* --- pubsub_filter.c --- */

/* Parses a subscription filter (empty: *out = NULL, everything matches) and restricts it
 * to what Pub/Sub allows: attributes.<key> with = and !=, attributes:<key>, and
 * hasPrefix(attributes.<key>, "..."), combined with AND, OR, NOT and parentheses, at most
 * 256 bytes. INVALID_ARGUMENT in Google's words otherwise. */
enum em_code ps_filter_compile(const char *text, struct em_filter **out, struct em_status *st);

/* Whether a message with these attributes (JSON object text, "" for none) passes. */
bool ps_filter_matches(const struct em_filter *filter, const char *attributes_json);

/* --- messages --- */

struct ps_message {
    int64_t seq;        /* set when the log commits it */
    int64_t publish_ns; /* idem */
    unsigned char *data;
    size_t data_len;
    char *attributes;   /* JSON object text, "" when none */
    char *ordering_key; /* "" when none */
};

void ps_message_clear(struct ps_message *m);
void ps_messages_free(struct ps_message *msgs, size_t count);

/* --- pubsub_delivery.c: a subscription's backlog --- */

enum ps_entry_state {
    PS_PENDING,     /* waiting to be delivered, from due_ns on */
    PS_OUTSTANDING, /* delivered; its lease ends at due_ns */
    PS_ACKED,
};

struct ps_entry {
    int64_t seq;
    int64_t publish_ns;
    int64_t due_ns;
    uint32_t attempts; /* deliveries so far */
    uint32_t gen;      /* bumps at every delivery: ack IDs of older ones are stale */
    uint8_t state;     /* enum ps_entry_state */
    char *key;         /* ordering key (ordered subscriptions only), NULL when none */
};

/* What is known about a message beyond the cursor (after a restart or a seek). */
struct ps_mark {
    int64_t seq;
    uint32_t attempts;
    bool acked;
};

struct ps_delivery_policy {
    int ack_deadline_s;
    int64_t retention_ns;
    bool ordering;
    int max_attempts; /* 0: no dead-letter policy */
    struct ps_retry retry;
};

struct ps_backlog {
    int64_t floor;  /* every message below is acknowledged (or not for this subscription) */
    int64_t cursor; /* first message not yet read from the log for this subscription */
    struct ps_entry *entries; /* messages in [floor, cursor) still tracked, by seq */
    size_t head, len, cap;    /* live entries are entries[head .. head + len) */
    struct ps_mark *marks;    /* known states from the cursor on, by seq */
    size_t mark_head, mark_len, mark_cap;
    bool floor_dirty; /* the floor moved since it was last stored */
};

void ps_backlog_init(struct ps_backlog *b, int64_t floor);
void ps_backlog_free(struct ps_backlog *b);
/* Forgets everything and restarts at floor; marks (sorted, >= floor) are copied. */
enum em_code ps_backlog_reset(struct ps_backlog *b, int64_t floor, const struct ps_mark *marks,
                              size_t mark_count, struct em_status *st);

struct ps_entry *ps_backlog_find(struct ps_backlog *b, int64_t seq);
struct ps_entry *ps_backlog_at(struct ps_backlog *b, size_t i); /* i < b->len */

/* Reads the message at the cursor (seq >= cursor) into the backlog: filtered-out,
 * expired or already-acknowledged (marked) messages are passed over, others are tracked
 * as PENDING. *entry is the new entry or NULL. */
enum em_code ps_backlog_admit(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t seq,
                              int64_t publish_ns, const char *key, bool matched, int64_t now,
                              struct ps_entry **entry, struct em_status *st);

/* Lease expiry (OUTSTANDING -> PENDING after the retry backoff) and retention (messages
 * older than the retention are dropped). Returns how many entries changed. */
size_t ps_backlog_expire(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t now);

/* Whether an entry has used up its delivery attempts and must be dead-lettered. */
bool ps_entry_dead(const struct ps_entry *e, const struct ps_delivery_policy *p);

/* Picks up to max deliverable entries in seq order (PENDING, due, not dead), keeping at
 * most one outstanding batch per ordering key on ordered subscriptions. Fills idx with
 * entry indexes (for ps_backlog_at) and returns their count. */
size_t ps_backlog_select(struct ps_backlog *b, const struct ps_delivery_policy *p, int64_t now,
                         size_t max, size_t *idx);

/* Hands an entry out: OUTSTANDING until now + ack deadline; attempts and gen grow. */
void ps_backlog_deliver(struct ps_entry *e, const struct ps_delivery_policy *p, int64_t now);

/* Acknowledges seq; true when it was unacknowledged. */
bool ps_backlog_ack(struct ps_backlog *b, int64_t seq);

/* ModifyAckDeadline for one delivery: seconds 0 is a nack (redelivery after the retry
 * backoff), otherwise the lease ends seconds from now. Stale deliveries are ignored;
 * returns true when the entry changed. */
bool ps_backlog_modack(struct ps_backlog *b, int64_t seq, uint32_t gen, int seconds,
                       const struct ps_delivery_policy *p, int64_t now);

/* Drops acknowledged entries from the front and moves the floor; true if it moved. */
bool ps_backlog_compact(struct ps_backlog *b);

/* The publish time of the oldest unacknowledged tracked message, or 0. */
int64_t ps_backlog_oldest_unacked(const struct ps_backlog *b);

/* Acknowledged messages from the floor on (entries and marks), sorted; *out malloc'd. */
enum em_code ps_backlog_acked(const struct ps_backlog *b, int64_t from, int64_t **out,
                              size_t *count, struct em_status *st);

/* --- pubsub_log.c: a topic's message log over its data store (em_datastore.h) --- */

/* Told on the writer thread after a batch that published messages. */
struct ps_log_events {
    void (*published)(void *arg);
    void *arg;
};
/* The hooks of a topic's data store; its arg is a struct ps_log_events. */
extern const struct em_datastore_hooks ps_log_hooks;

/* For jobs (writer thread): the next sequence number to hand out (publish), and what the
 * next publish would get. */
int64_t ps_log_take_seq(struct em_datafile *file, int64_t *publish_ns, int64_t now);
int64_t ps_log_next_seq(struct em_datafile *file);
int64_t ps_log_last_publish(struct em_datafile *file);
/* The highest committed sequence number (any thread). */
int64_t ps_log_committed(struct em_datafile *file);

/* --- the registry: topics, subscriptions, snapshots --- */

struct ps_topic_config {
    char *kms_key;     /* NULL: Google default encryption */
    char *labels_json; /* JSON object text, "{}" when none */
    char *regions;     /* messageStoragePolicy.allowedPersistenceRegions, comma-separated;
                          NULL: no message storage policy */
    bool enforce_in_transit;
    int64_t retention_ns; /* 0: not set */
};

struct ps_push_config {
    char *endpoint;        /* NULL: a pull subscription */
    char *attributes_json; /* pushConfig.attributes, NULL when none */
    bool no_wrapper, write_metadata;
    char *oidc_service_account, *oidc_audience; /* the identity push requests carry */
};

struct ps_sub_config {
    char *topic;
    int ack_deadline_s;
    int64_t retention_ns;
    bool retain_acked;
    char *filter;            /* "" when none */
    char *dead_letter_topic; /* NULL: no dead-letter policy */
    int max_delivery_attempts;
    struct ps_retry retry;
    bool ordering;
    bool exactly_once;
    struct ps_push_config push;
    int64_t ttl_ns; /* expirationPolicy.ttl; 0: never expires */
    char *labels_json;
};

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

struct ps_push;

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
    _Atomic uint32_t next_id;  /* subscription and snapshot ids */
    int pull_wait_ms;          /* PS_PULL_WAIT_MS; tests and fuzzing set 0 */
    struct ps_push *push;
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
    PS_TOPIC_STORAGE_POLICY = 1 << 1,
    PS_TOPIC_KMS_KEY = 1 << 2,
    PS_TOPIC_RETENTION = 1 << 3,
};

struct ps_sub_update {
    unsigned mask; /* PS_SUB_* bits */
    struct ps_sub_config cfg;
    bool detached;
};
enum {
    PS_SUB_ACK_DEADLINE = 1 << 0,
    PS_SUB_PUSH = 1 << 1,
    PS_SUB_RETENTION = 1 << 2,
    PS_SUB_RETAIN_ACKED = 1 << 3,
    PS_SUB_LABELS = 1 << 4,
    PS_SUB_EXPIRATION = 1 << 5,
    PS_SUB_DEAD_LETTER = 1 << 6,
    PS_SUB_RETRY = 1 << 7,
    PS_SUB_EXACTLY_ONCE = 1 << 8,
    PS_SUB_DETACHED = 1 << 9,
};

/* Opens the registry (migrations, the data directory); ps_registry_load then reads what
 * is stored once the CMEK engine is open (its hooks need the registry first). */
enum em_code ps_registry_open(struct em_store *meta, const struct em_config *config,
                              struct ps_registry **out, struct em_status *st);
enum em_code ps_registry_load(struct ps_registry *reg, struct em_cmek *cmek, struct em_status *st);
void ps_registry_close(struct ps_registry *reg);
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
                             const struct ps_topic_config *cfg, struct ps_topic **out,
                             struct em_status *st);
enum em_code ps_topic_update(struct ps_registry *reg, const char *name,
                             const struct ps_topic_update *update, struct ps_topic **out,
                             struct em_status *st);
enum em_code ps_topic_delete(struct ps_registry *reg, const char *name, struct em_status *st);

enum em_code ps_sub_create(struct ps_registry *reg, const char *name,
                           const struct ps_sub_config *cfg, struct ps_sub **out,
                           struct em_status *st);
enum em_code ps_sub_update(struct ps_registry *reg, const char *name,
                           const struct ps_sub_update *update, struct ps_sub **out,
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

/* Config memory. */
void ps_topic_config_free(struct ps_topic_config *cfg);
void ps_sub_config_free(struct ps_sub_config *cfg);
enum em_code ps_topic_config_copy(struct ps_topic_config *dst, const struct ps_topic_config *src,
                                  struct em_status *st);
enum em_code ps_sub_config_copy(struct ps_sub_config *dst, const struct ps_sub_config *src,
                                struct em_status *st);

/* Registry internals used by pubsub_flow.c: the registry lock is NOT held by callers.
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
/* Registers a snapshot created by the flow (takes ownership of snap). */
enum em_code ps_snapshot_insert(struct ps_registry *reg, struct ps_snapshot *snap,
                                struct em_status *st);
enum em_code ps_snapshot_update_labels(struct ps_registry *reg, const char *name,
                                       const char *labels_json, int64_t expire_ns,
                                       struct ps_snapshot **out, struct em_status *st);
uint32_t ps_registry_new_id(struct ps_registry *reg);
void ps_snapshot_free(struct ps_snapshot *snap);

/* The loader (pubsub_store.c) hands stored rows over; cfg's strings are taken over
 * (freed on failure too). */
struct ps_sub_row {
    const char *name;
    uint32_t id;
    bool detached;
    int64_t create_ns, last_active_ns;
    const char *retained_topic; /* the retained deleted topic it reads, or NULL */
};
enum em_code ps_registry_adopt_topic(struct ps_registry *reg, const char *name,
                                     struct ps_topic_config *cfg, int64_t create_ns,
                                     struct em_status *st);
/* A retained deleted topic (before the subscriptions that read it). */
enum em_code ps_registry_adopt_retained(struct ps_registry *reg, const char *topic,
                                        struct ps_topic_config *cfg, int64_t create_ns,
                                        struct em_status *st);
enum em_code ps_registry_adopt_sub(struct ps_registry *reg, const struct ps_sub_row *row,
                                   struct ps_sub_config *cfg, struct em_status *st);

/* The message INACCESSIBLE data calls get (the CMEK engine's hook). */
void ps_inaccessible_error(void *arg, const struct em_cmek_info *info, struct em_status *st);
/* The engine's state hook: closes a topic's log when its key is not usable. */
void ps_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                      enum em_cmek_state to);

/* --- pubsub_flow.c: data calls --- */

/* Publishes msgs (seq and publish_ns are set) and waits until they are stored. */
enum em_code ps_publish(struct ps_registry *reg, const char *topic, struct ps_message *msgs,
                        size_t count, struct em_status *st);

/* The same without waiting: ps_publish_start queues the messages on the topic's log and
 * done(done_arg) runs on the log thread once they are stored or failed (it must not
 * block); ps_publish_end then gives the outcome and frees *op. msgs stay the caller's
 * and must live until then. When start fails nothing is queued and done never runs. */
struct ps_publish;
enum em_code ps_publish_start(struct ps_registry *reg, const char *topic, struct ps_message *msgs,
                              size_t count, void (*done)(void *done_arg), void *done_arg,
                              struct ps_publish **op, struct em_status *st);
enum em_code ps_publish_end(struct ps_publish *op, struct em_status *st);

struct ps_received {
    struct ps_message msg;
    char ack_id[PS_ACK_ID_MAX];
    uint32_t delivery_attempt; /* 0 unless the subscription has a dead-letter policy */
};
void ps_received_free(struct ps_received *r, size_t count);

/* Pull: up to max messages; waits up to the registry's bound for messages unless
 * return_immediately. */
enum em_code ps_pull(struct ps_registry *reg, const char *sub, int max, bool return_immediately,
                     struct ps_received **out, size_t *count, struct em_status *st);
/* Same on a subscription reference, never waiting (push). */
enum em_code ps_take(struct ps_registry *reg, struct ps_sub *sub, int max, struct ps_received **out,
                     size_t *count, struct em_status *st);
enum em_code ps_acknowledge(struct ps_registry *reg, const char *sub, const char *const *ack_ids,
                            size_t count, struct em_status *st);
enum em_code ps_modify_ack_deadline(struct ps_registry *reg, const char *sub,
                                    const char *const *ack_ids, size_t count, int seconds,
                                    struct em_status *st);
/* Seek to a time (snapshot NULL) or to a snapshot. */
enum em_code ps_seek(struct ps_registry *reg, const char *sub, const char *snapshot,
                     int64_t time_ns, struct em_status *st);
/* Creates a snapshot of a subscription's acknowledgement state. */
enum em_code ps_snapshot_create(struct ps_registry *reg, const char *name, const char *sub,
                                const char *labels_json, struct ps_snapshot **out,
                                struct em_status *st);

/* Loads a subscription's backlog from its topic's store (sub->lock held). */
enum em_code ps_sub_load(struct ps_sub *sub, struct em_datafile *log, struct em_status *st);
/* Forgets the store rows of a subscription or snapshot (log open). */
enum em_code ps_forget_rows(struct em_datafile *log, uint32_t sub_id, uint32_t snapshot_id,
                            struct em_status *st);

/* Whether the Pub/Sub service agent of the subscription's project
 * (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com) may dead-letter for it, as
 * Google requires: pubsub.topics.publish on the dead-letter topic and
 * pubsub.subscriptions.consume on the subscription (always, with IAM off). Sets
 * sub->dead_letter_denied; a new denial is logged and written to the audit log as the
 * agent's refused Publish (caller: the subscription). Runs at create, update, load and
 * every tick, so grants and revocations take effect within a tick. */
void ps_sub_check_dead_letter(struct ps_registry *reg, struct ps_sub *sub);

/* The timers (tick hook): lease expiry, retention, dead-lettering, expiration policies,
 * snapshot expiry, message clean-up, idle logs. */
enum em_code ps_tick(struct ps_registry *reg, int64_t now, struct em_status *st);

/* --- pubsub_json.c: JSON the data path needs --- */

/* A dead-lettered message's attributes: its own plus Google's
 * CloudPubSubDeadLetterSource* ones. malloc'd JSON text, NULL when out of memory. */
char *ps_dead_letter_attributes(const struct ps_message *m, const struct ps_sub *sub,
                                uint32_t attempts);
/* The body of a push request ({"message": ..., "subscription": ...}); malloc'd. */
char *ps_push_body(const struct ps_received *r, const char *subscription);
/* The OIDC-style ID token a push request carries for pushConfig.oidcToken: a JWT with
 * Google's claims (iss https://accounts.google.com, aud, email, email_verified, iat, exp
 * an hour later), unsigned ("alg":"none": no Google key exists here). malloc'd. */
char *ps_push_oidc_token(const char *service_account, const char *audience, int64_t now_ns);

/* --- pubsub_push.c --- */

enum em_code ps_push_start(struct ps_registry *reg, struct ps_push **out, struct em_status *st);
void ps_push_stop(struct ps_push *push);
/* Wakes the push thread after a commit or a nack (nothing when no push subscription
 * exists); ps_push_kick always does (configuration changes, timers). */
void ps_push_wake(struct ps_push *push);
void ps_push_kick(struct ps_push *push);

/* --- pubsub_store.c --- */

/* metadata.db */
enum em_code ps_store_migrate(struct em_store *meta, struct em_status *st);
enum em_code ps_store_load(struct ps_registry *reg, struct em_status *st);
enum em_code ps_store_save_topic(struct em_store *meta, const struct ps_topic *topic,
                                 struct em_status *st);
enum em_code ps_store_delete_topic(struct em_store *meta, const char *name, struct em_status *st);
/* A topic's deletion in one transaction: its row goes; when retained (retained_name set)
 * a row of pubsub_retained_topics keeps what its data needs and its subscriptions (not
 * detached) record that they read it; its subscriptions and snapshots show
 * _deleted-topic_. */
enum em_code ps_store_retire_topic(struct em_store *meta, const struct ps_topic *topic,
                                   const char *retained_name, struct em_status *st);
enum em_code ps_store_delete_retained(struct em_store *meta, const char *retained_name,
                                      struct em_status *st);
enum em_code ps_store_save_sub(struct em_store *meta, const struct ps_sub *sub,
                               struct em_status *st);
enum em_code ps_store_delete_sub(struct em_store *meta, const char *name, struct em_status *st);
enum em_code ps_store_save_snapshot(struct em_store *meta, const struct ps_snapshot *snap,
                                    struct em_status *st);
enum em_code ps_store_delete_snapshot(struct em_store *meta, const char *name,
                                      struct em_status *st);
enum em_code ps_store_clear(struct em_store *meta, struct em_status *st);

/* topic stores (run on the log thread) */
enum em_code ps_store_log_migrate(struct em_store *store, struct em_status *st);
enum em_code ps_store_log_next_seq(struct em_store *store, int64_t *next_seq,
                                   int64_t *last_publish_ns, struct em_status *st);
enum em_code ps_store_log_set_next_seq(struct em_store *store, int64_t next_seq,
                                       int64_t last_publish_ns, struct em_status *st);
enum em_code ps_store_insert_message(struct em_store *store, const struct ps_message *m,
                                     struct em_status *st);
/* Messages from seq on, at most limit; *out malloc'd. */
enum em_code ps_store_read_from(struct em_store *store, int64_t seq, size_t limit,
                                struct ps_message **out, size_t *count, struct em_status *st);
/* One message; NOT_FOUND when gone. */
enum em_code ps_store_read_one(struct em_store *store, int64_t seq, struct ps_message *out,
                               struct em_status *st);
/* The first sequence number published at or after ns (next_seq when none). */
enum em_code ps_store_first_at(struct em_store *store, int64_t ns, int64_t next_seq, int64_t *seq,
                               struct em_status *st);
/* Whether some message lies below below_seq and was published before before_ns. */
enum em_code ps_store_any_message(struct em_store *store, int64_t below_seq, int64_t before_ns,
                                  bool *any, struct em_status *st);
/* Deletes messages below seq published before ns. */
enum em_code ps_store_delete_messages(struct em_store *store, int64_t below_seq, int64_t before_ns,
                                      struct em_status *st);
/* Subscription and snapshot state: a floor and marks (acked, attempts) from it on.
 * owner: a subscription or snapshot id. A missing floor reads as -1. */
enum em_code ps_store_read_state(struct em_store *store, uint32_t owner, int64_t *floor,
                                 struct ps_mark **marks, size_t *count, struct em_status *st);
enum em_code ps_store_set_floor(struct em_store *store, uint32_t owner, int64_t floor,
                                struct em_status *st);
enum em_code ps_store_set_mark(struct em_store *store, uint32_t owner, const struct ps_mark *m,
                               struct em_status *st);
/* Replaces the owner's whole state. */
enum em_code ps_store_replace_state(struct em_store *store, uint32_t owner, int64_t floor,
                                    const struct ps_mark *marks, size_t count,
                                    struct em_status *st);
enum em_code ps_store_forget_owner(struct em_store *store, uint32_t owner, struct em_status *st);

#endif
