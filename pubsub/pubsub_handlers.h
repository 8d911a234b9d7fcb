/*
 * pubsub_handlers: one function per Pub/Sub REST method (see pubsub_routes.c).
 */
#ifndef PUBSUB_HANDLERS_H
#define PUBSUB_HANDLERS_H

#include "em_call.h"

enum em_code ps_create_topic(struct em_call *call);
enum em_code ps_get_topic(struct em_call *call);
enum em_code ps_update_topic(struct em_call *call);
enum em_code ps_delete_topic(struct em_call *call);
enum em_code ps_list_topics(struct em_call *call);
enum em_code ps_publish_call(struct em_call *call);
enum em_code ps_list_topic_subscriptions(struct em_call *call);
enum em_code ps_list_topic_snapshots(struct em_call *call);

enum em_code ps_create_subscription(struct em_call *call);
enum em_code ps_get_subscription(struct em_call *call);
enum em_code ps_update_subscription(struct em_call *call);
enum em_code ps_delete_subscription(struct em_call *call);
enum em_code ps_list_subscriptions(struct em_call *call);
enum em_code ps_pull_call(struct em_call *call);
enum em_code ps_acknowledge_call(struct em_call *call);
enum em_code ps_modify_ack_deadline_call(struct em_call *call);
enum em_code ps_modify_push_config(struct em_call *call);
enum em_code ps_seek_call(struct em_call *call);
enum em_code ps_detach_subscription(struct em_call *call);

enum em_code ps_create_snapshot(struct em_call *call);
enum em_code ps_get_snapshot(struct em_call *call);
enum em_code ps_update_snapshot(struct em_call *call);
enum em_code ps_delete_snapshot(struct em_call *call);
enum em_code ps_list_snapshots(struct em_call *call);

/* SchemaService (pubsub_schema_handlers.c) */
enum em_code ps_create_schema(struct em_call *call);
enum em_code ps_get_schema(struct em_call *call);
enum em_code ps_list_schemas(struct em_call *call);
enum em_code ps_list_schema_revisions(struct em_call *call);
enum em_code ps_commit_schema(struct em_call *call);
enum em_code ps_rollback_schema(struct em_call *call);
enum em_code ps_delete_schema_revision(struct em_call *call);
enum em_code ps_delete_schema(struct em_call *call);
enum em_code ps_validate_schema(struct em_call *call);
enum em_code ps_validate_message(struct em_call *call);
/* NOT_FOUND unless the schema named exists. */
enum em_code ps_schema_iam_check(struct em_call *call, const char *name);

/* For the generic IAM methods (em_iam_handle_*): NOT_FOUND when the topic, subscription,
 * snapshot or schema of the path does not exist. */
enum em_code ps_iam_resource_check(struct em_call *call);

#endif
