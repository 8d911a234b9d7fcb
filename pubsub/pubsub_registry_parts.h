/*
 * pubsub_registry_parts: what the files of the registry (pubsub_registry.c,
 * pubsub_topics.c, pubsub_retention.c, pubsub_subs.c, pubsub_snapshots.c, pubsub_keys.c,
 * pubsub_validate.c, pubsub_config.c, pubsub_agent.c) share with each other and with no
 * other file. The data calls use pubsub_registry.h only.
 */
#ifndef PUBSUB_REGISTRY_PARTS_H
#define PUBSUB_REGISTRY_PARTS_H

#include "pubsub_registry.h"
#include "pubsub_store.h"

/* Serialises admin changes (create, update, delete, detach, reset); taken before the
 * registry lock. */
extern pthread_mutex_t ps_admin_lock;

/* Objects (pubsub_topics.c, pubsub_subs.c). A new topic holds the registry's reference. */
struct ps_topic *ps_topic_new(struct ps_registry *reg, const char *name, int64_t create_ns,
                              struct em_status *st);
void ps_topic_free(struct ps_topic *t);
void ps_topic_ref(struct ps_topic *t);
/* The row of metadata.db a topic is saved as (its strings are the topic's). */
struct ps_topic_row ps_topic_to_row(const struct ps_topic *t);
void ps_sub_free(struct ps_sub *s);
void ps_sub_ref(struct ps_sub *s);

/* Forgets the store rows of a subscription or snapshot when its topic's store is open
 * (otherwise they are dropped by the timers' clean-up once it opens). */
void ps_topic_forget_rows(struct ps_topic *topic, uint32_t owner);

bool ps_name_has_prefix(const char *name, const char *prefix);
char *ps_dup_or_null(const char *s);
/* Replaces *field with a copy of value (NULL: none); false when out of memory, *field
 * unchanged. */
bool ps_replace_string(char **field, const char *value);

/* Google's rules (pubsub_validate.c). The subscription's are applied in place (defaults)
 * and give its compiled filter. */
enum em_code ps_check_topic_config(const char *name, const struct ps_topic_config *cfg,
                                   struct em_status *st);
enum em_code ps_check_sub_config(struct ps_registry *reg, struct ps_sub_config *cfg,
                                 struct em_filter **filter, struct em_status *st);

/* The single rules a patch applies to what it changes (defaults filled in place). */
enum em_code ps_check_retention(const char *what, int64_t ns, struct em_status *st);
enum em_code ps_check_ack_deadline(int *seconds, struct em_status *st);
enum em_code ps_check_dead_letter(struct ps_registry *reg, struct ps_sub_config *cfg,
                                  struct em_status *st);
enum em_code ps_check_retry(struct ps_retry *retry, struct em_status *st);
enum em_code ps_check_push(const struct ps_push_config *push, struct em_status *st);
enum em_code ps_check_ttl(int64_t *ttl_ns, int64_t retention_ns, struct em_status *st);

/* Push configuration memory (pubsub_config.c); copy and merge return false when out of
 * memory. Merge takes from src the fields mask names (PS_SUB_PUSH_* bits) and keeps the
 * others; settle drops what a config without an endpoint holds (a pull subscription's). */
void ps_push_config_free(struct ps_push_config *p);
bool ps_push_config_copy(struct ps_push_config *dst, const struct ps_push_config *src);
bool ps_push_config_merge(struct ps_push_config *dst, const struct ps_push_config *src,
                          unsigned mask);
void ps_push_config_settle(struct ps_push_config *p);

/* The visitors of ps_store_load (arg: the registry). */
enum em_code ps_load_topic(void *arg, struct ps_topic_row *row, struct em_status *st);
enum em_code ps_load_retained(void *arg, struct ps_topic_row *row, struct em_status *st);
enum em_code ps_load_sub(void *arg, struct ps_sub_row *row, struct em_status *st);
enum em_code ps_load_snapshot(void *arg, const struct ps_snapshot_row *row, struct em_status *st);
enum em_code ps_load_schema_revision(void *arg, const struct ps_schema_revision_row *row,
                                     struct em_status *st);

/* Deleted topics (pubsub_retention.c; admin lock held). */
/* Shreds a retained topic once no subscription reads it. */
void ps_release_if_unread(struct ps_registry *reg, struct ps_topic *t);
/* Crypto-shreds t's data (forget_keys false: the engine no longer has them). */
void ps_shred_data(struct ps_registry *reg, struct ps_topic *t, bool forget_keys);
/* Start-up: finishes retentions and shreddings a crash interrupted. */
void ps_reconcile_retained(struct ps_registry *reg);

/* A topic or retained topic by the name the CMEK engine knows its data by, with a
 * reference, or NULL (pubsub_keys.c). */
struct ps_topic *ps_topic_by_data_name(struct ps_registry *reg, const char *resource);

#endif
