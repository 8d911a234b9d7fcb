/*
 * pubsub_store: the Pub/Sub service's SQL (pubsub_store.c): metadata.db's tables, read
 * as rows handed to a visitor and written from rows, and the topic stores' tables, used
 * by jobs on a topic's data store. It knows the model, not the registry.
 */
#ifndef PUBSUB_STORE_H
#define PUBSUB_STORE_H

#include "pubsub_model.h"

struct em_store;

/* metadata.db rows. Saving, their strings are the caller's; loading, they are the
 * store's until the visitor returns, except the configurations' strings, which the
 * visitor may take over (it then clears them: what is left is freed). */
struct ps_topic_row {
    const char *name;
    struct ps_topic_config cfg; /* a retained topic's: kms_key and retention_ns only */
    int64_t create_ns;
};
struct ps_sub_row {
    const char *name;
    uint32_t id;
    struct ps_sub_config cfg;
    bool detached;
    int64_t create_ns, last_active_ns;
    const char *retained_topic; /* the retained deleted topic it reads, or NULL */
};
struct ps_snapshot_row {
    const char *name;
    uint32_t id;
    const char *topic;
    int64_t floor, expire_ns;
    const char *labels_json;
    int64_t create_ns;
};

struct ps_schema_revision_row {
    const char *name, *revision_id;
    int type; /* enum ps_schema_type */
    const char *definition;
    int64_t create_ns;
};

/* What ps_store_load hands every row to, in this order: schema revisions (by schema, oldest
 * first), topics, retained deleted topics (name: the topic's), subscriptions, snapshots.
 * An error stops the load. */
struct ps_store_visitor {
    enum em_code (*schema_revision)(void *arg, const struct ps_schema_revision_row *row,
                                    struct em_status *st);
    enum em_code (*topic)(void *arg, struct ps_topic_row *row, struct em_status *st);
    enum em_code (*retained)(void *arg, struct ps_topic_row *row, struct em_status *st);
    enum em_code (*sub)(void *arg, struct ps_sub_row *row, struct em_status *st);
    enum em_code (*snapshot)(void *arg, const struct ps_snapshot_row *row, struct em_status *st);
    void *arg;
};

/* metadata.db */
enum em_code ps_store_migrate(struct em_store *meta, struct em_status *st);
enum em_code ps_store_load(struct em_store *meta, const struct ps_store_visitor *visitor,
                           struct em_status *st);
enum em_code ps_store_save_topic(struct em_store *meta, const struct ps_topic_row *topic,
                                 struct em_status *st);
enum em_code ps_store_delete_topic(struct em_store *meta, const char *name, struct em_status *st);
/* A topic's deletion in one transaction: its row goes; when retained (retained_name set)
 * a row of pubsub_retained_topics keeps what its data needs and its subscriptions (not
 * detached) record that they read it; its subscriptions and snapshots show
 * _deleted-topic_. */
enum em_code ps_store_retire_topic(struct em_store *meta, const struct ps_topic_row *topic,
                                   const char *retained_name, int64_t now, struct em_status *st);
enum em_code ps_store_delete_retained(struct em_store *meta, const char *retained_name,
                                      struct em_status *st);
enum em_code ps_store_save_sub(struct em_store *meta, const struct ps_sub_row *sub,
                               struct em_status *st);
enum em_code ps_store_delete_sub(struct em_store *meta, const char *name, struct em_status *st);
enum em_code ps_store_save_snapshot(struct em_store *meta, const struct ps_snapshot_row *snap,
                                    struct em_status *st);
enum em_code ps_store_delete_snapshot(struct em_store *meta, const char *name,
                                      struct em_status *st);
enum em_code ps_store_save_schema_revision(struct em_store *meta,
                                           const struct ps_schema_revision_row *rev,
                                           struct em_status *st);
enum em_code ps_store_delete_schema_revision(struct em_store *meta, const char *name,
                                             const char *revision_id, struct em_status *st);
/* A schema's deletion in one transaction: its revisions go and the topics that named it
 * show PS_DELETED_SCHEMA. */
enum em_code ps_store_delete_schema(struct em_store *meta, const char *name, struct em_status *st);
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
