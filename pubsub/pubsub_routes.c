/*
 * pubsub_routes: the Pub/Sub v1 route table, the only place a request's path is tied to a
 * handler. Paths and methods are those of the real API (pubsub v1 discovery document, as
 * in gcloud's generated client pubsub_v1_client.py). Permissions are Google's, checked on
 * the route's first variable (and its ancestors) under --iam enforce; handlers check the
 * second resource some methods involve (attachSubscription on the topic of a new
 * subscription, consume on a snapshot's source, seek on a snapshot, detachSubscription on
 * the topic, attach on the schema a topic names). A route without a handler answers
 * UNIMPLEMENTED naming the method: message transforms are not provided by this emulator.
 */
#include "pubsub_routes.h"

#include "em_iam.h"
#include "pubsub_handlers.h"
#include "pubsub_json.h"

#define TOPIC   "projects/*/topics/*"
#define SUB     "projects/*/subscriptions/*"
#define SNAP    "projects/*/snapshots/*"
#define SCHEMA  "projects/*/schemas/*"
#define DATA    EM_AUDIT_DATA_ACCESS
#define ADMIN   EM_AUDIT_ADMIN
#define P(perm) "pubsub." perm

const struct em_route pubsub_routes[] = {
    /* topics */
    {"PUT", "v1/{name=" TOPIC "}", ps_create_topic, "CreateTopic", &ps_topic_schema, NULL,
     P("topics.create"), ADMIN, .reply = &ps_topic_schema},
    {"GET", "v1/{topic=" TOPIC "}", ps_get_topic, "GetTopic", NULL, NULL, P("topics.get"), DATA,
     .reply = &ps_topic_schema},
    {"PATCH", "v1/{name=" TOPIC "}", ps_update_topic, "UpdateTopic", &ps_update_topic_schema, NULL,
     P("topics.update"), ADMIN, .reply = &ps_topic_schema},
    {"DELETE", "v1/{topic=" TOPIC "}", ps_delete_topic, "DeleteTopic", NULL, NULL,
     P("topics.delete"), ADMIN},
    {"GET", "v1/{project=projects/*}/topics", ps_list_topics, "ListTopics", NULL, NULL,
     P("topics.list"), DATA, .reply = &ps_list_topics_reply, .query = "pageSize pageToken"},
    {"POST", "v1/{topic=" TOPIC "}:publish", ps_publish_call, "Publish", &ps_publish_schema, NULL,
     P("topics.publish"), DATA, .never_blocks = true},
    {"GET", "v1/{topic=" TOPIC "}/subscriptions", ps_list_topic_subscriptions,
     "ListTopicSubscriptions", NULL, NULL, P("topics.get"), DATA, .query = "pageSize pageToken"},
    {"GET", "v1/{topic=" TOPIC "}/snapshots", ps_list_topic_snapshots, "ListTopicSnapshots", NULL,
     NULL, P("topics.get"), DATA, .query = "pageSize pageToken"},
    {"GET", "v1/{resource=" TOPIC "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("topics.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" TOPIC "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("topics.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" TOPIC "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},

    /* subscriptions */
    {"PUT", "v1/{name=" SUB "}", ps_create_subscription, "CreateSubscription", &ps_sub_schema, NULL,
     P("subscriptions.create"), ADMIN, .reply = &ps_sub_schema},
    {"GET", "v1/{subscription=" SUB "}", ps_get_subscription, "GetSubscription", NULL, NULL,
     P("subscriptions.get"), DATA, .reply = &ps_sub_schema},
    {"PATCH", "v1/{name=" SUB "}", ps_update_subscription, "UpdateSubscription",
     &ps_update_sub_schema, NULL, P("subscriptions.update"), ADMIN, .reply = &ps_sub_schema},
    {"DELETE", "v1/{subscription=" SUB "}", ps_delete_subscription, "DeleteSubscription", NULL,
     NULL, P("subscriptions.delete"), ADMIN},
    {"GET", "v1/{project=projects/*}/subscriptions", ps_list_subscriptions, "ListSubscriptions",
     NULL, NULL, P("subscriptions.list"), DATA, .reply = &ps_list_subs_reply,
     .query = "pageSize pageToken"},
    {"POST", "v1/{subscription=" SUB "}:pull", ps_pull_call, "Pull", &ps_pull_schema, NULL,
     P("subscriptions.consume"), DATA},
    {"POST", "v1/{subscription=" SUB "}:acknowledge", ps_acknowledge_call, "Acknowledge",
     &ps_ack_schema, NULL, P("subscriptions.consume"), DATA},
    {"POST", "v1/{subscription=" SUB "}:modifyAckDeadline", ps_modify_ack_deadline_call,
     "ModifyAckDeadline", &ps_modack_schema, NULL, P("subscriptions.consume"), DATA},
    {"POST", "v1/{subscription=" SUB "}:modifyPushConfig", ps_modify_push_config,
     "ModifyPushConfig", &ps_modify_push_schema, NULL, P("subscriptions.update"), ADMIN},
    {"POST", "v1/{subscription=" SUB "}:seek", ps_seek_call, "Seek", &ps_seek_schema, NULL,
     P("subscriptions.consume"), ADMIN},
    {"POST", "v1/{subscription=" SUB "}:detach", ps_detach_subscription, "DetachSubscription",
     &em_empty_message, NULL, NULL, ADMIN},
    {"GET", "v1/{resource=" SUB "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("subscriptions.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" SUB "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("subscriptions.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" SUB "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},

    /* snapshots */
    {"PUT", "v1/{name=" SNAP "}", ps_create_snapshot, "CreateSnapshot", &ps_create_snapshot_schema,
     NULL, P("snapshots.create"), ADMIN},
    {"GET", "v1/{snapshot=" SNAP "}", ps_get_snapshot, "GetSnapshot", NULL, NULL,
     P("snapshots.get"), DATA},
    {"PATCH", "v1/{name=" SNAP "}", ps_update_snapshot, "UpdateSnapshot",
     &ps_update_snapshot_schema, NULL, P("snapshots.update"), ADMIN},
    {"DELETE", "v1/{snapshot=" SNAP "}", ps_delete_snapshot, "DeleteSnapshot", NULL, NULL,
     P("snapshots.delete"), ADMIN},
    {"GET", "v1/{project=projects/*}/snapshots", ps_list_snapshots, "ListSnapshots", NULL, NULL,
     P("snapshots.list"), DATA, .query = "pageSize pageToken"},
    {"GET", "v1/{resource=" SNAP "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("snapshots.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" SNAP "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("snapshots.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" SNAP "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},

    /* schemas (pubsub_schema_handlers.c) */
    {"POST", "v1/{parent=projects/*}/schemas", ps_create_schema, "CreateSchema", &ps_schema_schema,
     "schema", P("schemas.create"), ADMIN, .reply = &ps_schema_schema, .query = "schemaId"},
    {"GET", "v1/{parent=projects/*}/schemas", ps_list_schemas, "ListSchemas", NULL, NULL,
     P("schemas.list"), DATA, .reply = &ps_list_schemas_reply, .query = "pageSize pageToken view"},
    {"GET", "v1/{name=" SCHEMA "}", ps_get_schema, "GetSchema", NULL, NULL, P("schemas.get"), DATA,
     .reply = &ps_schema_schema, .query = "view"},
    {"DELETE", "v1/{name=" SCHEMA "}", ps_delete_schema, "DeleteSchema", NULL, NULL,
     P("schemas.delete"), ADMIN},
    {"POST", "v1/{name=" SCHEMA "}:commit", ps_commit_schema, "CommitSchema",
     &ps_commit_schema_schema, NULL, P("schemas.commit"), ADMIN, .reply = &ps_schema_schema},
    {"POST", "v1/{name=" SCHEMA "}:rollback", ps_rollback_schema, "RollbackSchema",
     &ps_rollback_schema_schema, NULL, P("schemas.rollback"), ADMIN, .reply = &ps_schema_schema},
    {"GET", "v1/{name=" SCHEMA "}:listRevisions", ps_list_schema_revisions, "ListSchemaRevisions",
     NULL, NULL, P("schemas.listRevisions"), DATA, .reply = &ps_list_revisions_reply,
     .query = "pageSize pageToken view"},
    {"DELETE", "v1/{name=" SCHEMA "}:deleteRevision", ps_delete_schema_revision,
     "DeleteSchemaRevision", NULL, NULL, P("schemas.delete"), ADMIN, .reply = &ps_schema_schema,
     .query = "revisionId"},
    {"GET", "v1/{resource=" SCHEMA "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("schemas.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" SCHEMA "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("schemas.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" SCHEMA "}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA},
    {"POST", "v1/{parent=projects/*}/schemas:validate", ps_validate_schema, "ValidateSchema",
     &ps_validate_schema_schema, NULL, P("schemas.validate"), DATA},
    {"POST", "v1/{parent=projects/*}/schemas:validateMessage", ps_validate_message,
     "ValidateMessage", &ps_validate_message_schema, NULL, P("schemas.validate"), DATA},

    /* not provided by this emulator: answered UNIMPLEMENTED */
    {"POST", "v1/{project=projects/*}:testMessageTransforms", NULL, "TestMessageTransforms"},
    {"POST", "v1/{project=projects/*}:validateMessageTransform", NULL, "ValidateMessageTransform"},
    {NULL},
};
