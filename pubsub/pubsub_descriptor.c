/*
 * pubsub_descriptor: Pub/Sub as the emulator knows it (see em_descriptor.h): bin/pubsub on
 * port base + 2, its service agent (the principal that uses a topic's CMEK key and
 * dead-letters), its predefined roles and its Logging resource types. Data only.
 * Roles: https://cloud.google.com/iam/docs/roles-permissions/pubsub
 */
#include "em_descriptor.h"

static const struct em_role pubsub_roles[] = {
    {"roles/pubsub.admin", EM_WORDS("pubsub.*", "resourcemanager.projects.get"), NULL},
    {"roles/pubsub.editor", EM_WORDS("pubsub.*", "resourcemanager.projects.get"),
     EM_WORDS("*.setIamPolicy", "*.getIamPolicy")},
    {"roles/pubsub.publisher", EM_WORDS("pubsub.topics.publish"), NULL},
    {"roles/pubsub.subscriber",
     EM_WORDS("pubsub.subscriptions.consume", "pubsub.topics.attachSubscription",
              "pubsub.snapshots.seek"),
     NULL},
    {"roles/pubsub.viewer",
     EM_WORDS("pubsub.*.get", "pubsub.*.list", "resourcemanager.projects.get"), NULL},
    {NULL},
};

static const struct em_resource_type pubsub_resource_types[] = {
    {"pubsub_topic", EM_WORDS("projects", "topics"), EM_WORDS("project_id", "topic_id")},
    {"pubsub_subscription", EM_WORDS("projects", "subscriptions"),
     EM_WORDS("project_id", "subscription_id")},
    {"pubsub_snapshot", EM_WORDS("projects", "snapshots"), EM_WORDS("project_id", "snapshot_id")},
    {NULL},
};

const struct em_service_desc pubsub_descriptor = {
    .name = "pubsub",
    .product = "Pub/Sub",
    .port = 2,
    .google_service = "pubsub.googleapis.com",
    .api_title = "Cloud Pub/Sub API",
    .agent_domain = "gcp-sa-pubsub",
    .roles = pubsub_roles,
    .resource_types = pubsub_resource_types,
};
