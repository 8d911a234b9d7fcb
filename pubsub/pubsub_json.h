/*
 * pubsub_json: JSON <-> the Pub/Sub model, and the request-body schemas of the API.
 */
#ifndef PUBSUB_JSON_H
#define PUBSUB_JSON_H

#include "em_schema.h"
#include "pubsub_registry.h"
#include "pubsub_schemas.h"

#include <cjson/cJSON.h>

extern const struct em_message ps_topic_schema;
extern const struct em_message ps_update_topic_schema;
extern const struct em_message ps_sub_schema;
extern const struct em_message ps_update_sub_schema;
extern const struct em_message ps_publish_schema;
extern const struct em_message ps_pull_schema;
extern const struct em_message ps_ack_schema;
extern const struct em_message ps_modack_schema;
extern const struct em_message ps_modify_push_schema;
extern const struct em_message ps_seek_schema;
extern const struct em_message ps_create_snapshot_schema;
extern const struct em_message ps_update_snapshot_schema;

/* google.pubsub.v1.Encoding (schema settings, ValidateMessage) */
extern const struct em_enum ps_encoding_enum;

/* SchemaService (pubsub_json_schemas.c) */
extern const struct em_message ps_schema_schema;
extern const struct em_message ps_commit_schema_schema;
extern const struct em_message ps_rollback_schema_schema;
extern const struct em_message ps_validate_schema_schema;
extern const struct em_message ps_validate_message_schema;
extern const struct em_message ps_list_schemas_reply;
extern const struct em_message ps_list_revisions_reply;
/* A Schema revision; full: with its definition (view FULL). */
cJSON *ps_json_schema(const struct ps_revision *rev, bool full);
/* Schema.type and a request's encoding (checked bodies: names, not numbers). */
enum ps_schema_type ps_json_schema_type(const cJSON *schema);
enum ps_encoding ps_json_encoding(const cJSON *request);

/* Replies with enums besides Topic and Subscription (the others have none). */
extern const struct em_message ps_list_topics_reply;
extern const struct em_message ps_list_subs_reply;

/* A topic whose configuration the caller holds still (the registry lock, or a copy). */
cJSON *ps_json_topic(const struct ps_topic *topic);
cJSON *ps_json_topic_config(const char *name, const struct ps_topic_config *cfg);
cJSON *ps_json_sub(struct ps_sub *sub);
cJSON *ps_json_snapshot(const struct ps_snapshot *snap);

/* Request bodies -> the model. Strings are copies owned by the result (free with
 * ps_topic_config_free / ps_sub_config_free). */
enum em_code ps_json_read_topic(const cJSON *topic, struct ps_topic_config *cfg,
                                struct em_status *st);
enum em_code ps_json_read_topic_update(const cJSON *body, struct ps_topic_update *update,
                                       struct em_status *st);
enum em_code ps_json_read_sub(const cJSON *sub, struct ps_sub_config *cfg, struct em_status *st);
enum em_code ps_json_read_sub_update(const cJSON *body, struct ps_sub_update *update,
                                     struct em_status *st);
/* Every field of a PushConfig as given, the endpoint NULL when empty (pull delivery: the
 * registry then drops the rest, ps_push_config_settle), so that a patch naming one field
 * finds it. */
enum em_code ps_json_read_push_config(const cJSON *push, struct ps_push_config *out,
                                      struct em_status *st);
/* Snapshot patch: labels (NULL: unchanged) and expireTime (0: unchanged). */
enum em_code ps_json_read_snapshot_update(const cJSON *body, char **labels_json, int64_t *expire_ns,
                                          struct em_status *st);

/* PublishRequest.messages with Google's limits; *msgs is malloc'd. */
enum em_code ps_json_read_messages(const cJSON *body, struct ps_message **msgs, size_t *count,
                                   struct em_status *st);

/* {"receivedMessages": [...]} (or {} when empty). */
cJSON *ps_json_pull_reply(const struct ps_received *items, size_t count);
/* The PubsubMessage JSON of a message. */
cJSON *ps_json_message(const struct ps_message *m, bool push_aliases);

/* JSON the data calls and push need. */

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

#endif
