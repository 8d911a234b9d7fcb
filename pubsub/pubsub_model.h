/*
 * pubsub_model: the Pub/Sub emulator's model below the registry: Google's limits,
 * resource and message IDs, filters, messages, a subscription's backlog (the delivery
 * state machine) and the configurations of topics and subscriptions. Pure: no locks,
 * no storage, no clock.
 *
 * The layers of pubsub/, each with its header; includes point down only:
 *
 *   pubsub_handlers.c  pubsub_routes.c    one function per REST method; the route table
 *   pubsub_json.c      (pubsub_json.h)    JSON <-> the model, and the request schemas
 *   pubsub_push.c      (pubsub_push.h)    push delivery (libcurl) on a background thread
 *   the data calls     (pubsub_flow.h)    publish, pull, acknowledge, modifyAckDeadline,
 *                                         seek, snapshot creation, dead-lettering, timers:
 *                      pubsub_publish.c, pubsub_sub_data.c, pubsub_pull.c,
 *                      pubsub_dead_letter.c, pubsub_seek.c, pubsub_timers.c
 *   the registry       (pubsub_registry.h) topics, subscriptions and snapshots in memory,
 *                                         their validation, persistence and CMEK
 *                                         protection, deleted topics retained:
 *                      pubsub_registry.c, pubsub_topics.c, pubsub_retention.c,
 *                      pubsub_subs.c, pubsub_snapshots.c, pubsub_keys.c,
 *                      pubsub_validate.c, pubsub_config.c, pubsub_agent.c;
 *                      (pubsub_schemas.h) schemas and their revisions, messages checked
 *                      against them: pubsub_schemas.c, pubsub_schema_check.c
 *   pubsub_avro*.c     (pubsub_avro.h)    Avro definitions and messages (JSON, binary)
 *   pubsub_proto*.c    (pubsub_proto.h)   Protocol Buffer definitions and messages
 *   pubsub_log.c       (pubsub_log.h)     a topic's message log: sequence numbers and
 *                                         publish times kept while its data store
 *                                         (em_datastore.h) is open
 *   pubsub_store.c     (pubsub_store.h)   the only SQL of Pub/Sub: it returns rows
 *   pubsub_ids.c, pubsub_filter.c, pubsub_delivery.c, pubsub_config.c (this header)
 *   pubsub_errors.h                       the catalogue of error messages
 *
 * The registry never calls the data calls or push: it tells push delivery about changes
 * through the deliverer push attaches (struct ps_deliverer), and the service
 * (pubsub_service.c) wires the layers together.
 *
 * Storage. Metadata (topic, subscription and snapshot configuration, labels, schemas) lives in
 * metadata.db tables owned by pubsub_store.c. Customer data (message data, attributes,
 * ordering keys) lives only in one encrypted SQLite store per topic incarnation,
 * <data dir>/pubsub/<sha256(topic name, creation time)>.db, opened with the topic's DEK
 * from the CMEK engine; subscriptions' acknowledgement state and snapshots' state are kept
 * there too, so messages and what happened to them are protected by the topic's key.
 *
 * Sequence numbers. Each topic numbers its messages 1, 2, 3 ... in publish order (the
 * message ID is that number in decimal). A subscription's backlog is a range of that
 * sequence: every message below its floor is acknowledged; messages from its cursor on
 * have never been read for it. See pubsub_delivery.c.
 *
 * Google reference: https://cloud.google.com/pubsub/docs/reference/rest
 */
#ifndef PUBSUB_MODEL_H
#define PUBSUB_MODEL_H

#include "em_json.h"
#include "em_status.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_filter;

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

/* A duration the request left out (a negative one it gave is refused, not defaulted). */
#define PS_DURATION_UNSET INT64_MIN

/* Retry policy (RetryPolicy): exponential backoff between min and max (each
 * PS_DURATION_UNSET until the default fills it). */
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

struct ps_received {
    struct ps_message msg;
    char ack_id[PS_ACK_ID_MAX];
    uint32_t delivery_attempt; /* 0 unless the subscription has a dead-letter policy */
};
void ps_received_free(struct ps_received *r, size_t count);

/* --- pubsub_delivery.c: a subscription's backlog --- */

enum ps_entry_state {
    PS_PENDING,     /* waiting to be delivered, from due_ns on (never delivered: INT64_MIN) */
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

/* For exactly-once delivery: whether an ack ID's delivery (seq, gen) may still be
 * acknowledged or extended: the message's latest delivery, its lease not over at now. A
 * message no longer tracked or acknowledged already: *settled (an acknowledgement of it
 * changes nothing and succeeds). */
bool ps_backlog_current(struct ps_backlog *b, int64_t seq, uint32_t gen, int64_t now,
                        bool *settled);

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

/* --- configurations (pubsub_config.c) --- */

/* Topic.schemaSettings (pubsub_schemas.h has the schemas themselves). */
enum ps_encoding { PS_ENCODING_UNSPECIFIED = 0, PS_ENCODING_JSON = 1, PS_ENCODING_BINARY = 2 };
struct ps_schema_settings {
    char *schema; /* NULL: no schema; PS_DELETED_SCHEMA once the schema is deleted */
    enum ps_encoding encoding;
    char *first_revision, *last_revision; /* NULL: unbounded */
};
#define PS_DELETED_SCHEMA "_deleted-schema_"

struct ps_topic_config {
    char *kms_key;     /* NULL: Google default encryption */
    char *labels_json; /* JSON object text, "{}" when none */
    char *regions;     /* messageStoragePolicy.allowedPersistenceRegions, comma-separated;
                          NULL: no message storage policy */
    bool enforce_in_transit;
    int64_t retention_ns; /* 0: not set */
    struct ps_schema_settings schema;
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
    char *dead_letter_topic; /* NULL: no dead-letter policy; "": a policy naming no topic,
                                which ps_check_dead_letter refuses */
    int max_delivery_attempts;
    struct ps_retry retry;
    bool ordering;
    bool exactly_once;
    struct ps_push_config push;
    int64_t ttl_ns; /* expirationPolicy.ttl; 0: never expires; PS_DURATION_UNSET: no policy
                       given, the default 31 days */
    char *labels_json;
};

/* Config memory. */
void ps_topic_config_free(struct ps_topic_config *cfg);
void ps_schema_settings_free(struct ps_schema_settings *s);
/* "JSON", "BINARY" (the API's names; "ENCODING_UNSPECIFIED" otherwise). */
const char *ps_encoding_name(enum ps_encoding encoding);
enum em_code ps_schema_settings_copy(struct ps_schema_settings *dst,
                                     const struct ps_schema_settings *src, struct em_status *st);
void ps_sub_config_free(struct ps_sub_config *cfg);
enum em_code ps_topic_config_copy(struct ps_topic_config *dst, const struct ps_topic_config *src,
                                  struct em_status *st);
enum em_code ps_sub_config_copy(struct ps_sub_config *dst, const struct ps_sub_config *src,
                                struct em_status *st);

#endif
