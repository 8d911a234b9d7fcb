/*
 * pubsub_json: the JSON shapes of the Pub/Sub API (google.pubsub.v1 messages as proto3
 * JSON, field names as in gcloud's pubsub_v1_messages.py) and the schemas request bodies
 * are checked against before a handler runs. Features this emulator does not provide
 * (ingestion, BigQuery / Cloud Storage / Pub/Sub export subscriptions, message
 * transforms) are accepted by the schema and refused with UNIMPLEMENTED here. The
 * SchemaService's shapes are in pubsub_json_schemas.c.
 */
#include "pubsub_json.h"

#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "pubsub_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- schemas --- */

/* Field by field as google/pubsub/v1/pubsub.proto and schema.proto, enums with their proto
 * numbers. Blocks for features this emulator refuses as a whole (ingestion, message
 * transforms, BigQuery / Cloud Storage / Bigtable subscriptions) stay EM_F_ANY: their
 * content is never read and never answered. pubsubExportConfig and pubsubliteExportConfig
 * are in gcloud's generated client, not in today's proto; they are kept for gcloud. */

static const struct em_enum_value topic_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"INGESTION_RESOURCE_ERROR", 2}, {NULL}};
static const struct em_enum topic_state_enum = {"google.pubsub.v1.Topic.State", topic_state_values};

static const struct em_enum_value sub_state_values[] = {
    {"STATE_UNSPECIFIED", 0}, {"ACTIVE", 1}, {"RESOURCE_ERROR", 2}, {NULL}};
static const struct em_enum sub_state_enum = {"google.pubsub.v1.Subscription.State",
                                              sub_state_values};

static const struct em_enum_value encoding_values[] = {
    {"ENCODING_UNSPECIFIED", 0}, {"JSON", 1}, {"BINARY", 2}, {NULL}};
const struct em_enum ps_encoding_enum = {"google.pubsub.v1.Encoding", encoding_values};

#define ENUM(e) EM_F_ENUM, false, NULL, &e

static const struct em_field storage_policy_fields[] = {
    {"allowedPersistenceRegions", EM_F_STRING, true}, {"enforceInTransit", EM_F_BOOL}, {NULL}};
static const struct em_message storage_policy_msg = {"google.pubsub.v1.MessageStoragePolicy",
                                                     storage_policy_fields};

static const struct em_field schema_settings_fields[] = {{"schema", EM_F_STRING},
                                                         {"encoding", ENUM(ps_encoding_enum)},
                                                         {"firstRevisionId", EM_F_STRING},
                                                         {"lastRevisionId", EM_F_STRING},
                                                         {NULL}};
static const struct em_message schema_settings_msg = {"google.pubsub.v1.SchemaSettings",
                                                      schema_settings_fields};

static const struct em_field topic_fields[] = {
    {"name", EM_F_STRING},
    {"labels", EM_F_MAP},
    {"messageStoragePolicy", EM_F_MESSAGE, false, &storage_policy_msg},
    {"kmsKeyName", EM_F_STRING},
    {"schemaSettings", EM_F_MESSAGE, false, &schema_settings_msg},
    {"satisfiesPzs", EM_F_BOOL},
    {"messageRetentionDuration", EM_F_DURATION},
    {"state", ENUM(topic_state_enum)},
    {"ingestionDataSourceSettings", EM_F_ANY},
    {"messageTransforms", EM_F_ANY, true},
    /* Input only: Resource Manager tags bound at creation. Accepted and not kept: this
     * emulator has no tag-based IAM conditions or organization policies to apply them to. */
    {"tags", EM_F_MAP},
    {NULL}};
const struct em_message ps_topic_schema = {"google.pubsub.v1.Topic", topic_fields};

static const struct em_field update_topic_fields[] = {
    {"topic", EM_F_MESSAGE, false, &ps_topic_schema}, {"updateMask", EM_F_STRING}, {NULL}};
const struct em_message ps_update_topic_schema = {"google.pubsub.v1.UpdateTopicRequest",
                                                  update_topic_fields};

static const struct em_field oidc_fields[] = {
    {"serviceAccountEmail", EM_F_STRING}, {"audience", EM_F_STRING}, {NULL}};
static const struct em_message oidc_msg = {"google.pubsub.v1.PushConfig.OidcToken", oidc_fields};
static const struct em_field no_fields[] = {{NULL}};
static const struct em_message pubsub_wrapper_msg = {"google.pubsub.v1.PushConfig.PubsubWrapper",
                                                     no_fields};
static const struct em_field no_wrapper_fields[] = {{"writeMetadata", EM_F_BOOL}, {NULL}};
static const struct em_message no_wrapper_msg = {"google.pubsub.v1.PushConfig.NoWrapper",
                                                 no_wrapper_fields};

static const struct em_field push_fields[] = {
    {"pushEndpoint", EM_F_STRING},
    {"attributes", EM_F_MAP},
    {"oidcToken", EM_F_MESSAGE, false, &oidc_msg},
    {"pubsubWrapper", EM_F_MESSAGE, false, &pubsub_wrapper_msg},
    {"noWrapper", EM_F_MESSAGE, false, &no_wrapper_msg},
    {NULL}};
static const struct em_message push_msg = {"google.pubsub.v1.PushConfig", push_fields};

static const struct em_field expiration_fields[] = {{"ttl", EM_F_DURATION}, {NULL}};
static const struct em_message expiration_msg = {"google.pubsub.v1.ExpirationPolicy",
                                                 expiration_fields};

static const struct em_field dead_letter_fields[] = {
    {"deadLetterTopic", EM_F_STRING}, {"maxDeliveryAttempts", EM_F_INT32}, {NULL}};
static const struct em_message dead_letter_msg = {"google.pubsub.v1.DeadLetterPolicy",
                                                  dead_letter_fields};

static const struct em_field retry_fields[] = {
    {"minimumBackoff", EM_F_DURATION}, {"maximumBackoff", EM_F_DURATION}, {NULL}};
static const struct em_message retry_msg = {"google.pubsub.v1.RetryPolicy", retry_fields};

/* Output only (subscriptions made by Analytics Hub): accepted and ignored. */
static const struct em_field analytics_hub_fields[] = {
    {"listing", EM_F_STRING}, {"subscription", EM_F_STRING}, {NULL}};
static const struct em_message analytics_hub_msg = {
    "google.pubsub.v1.Subscription.AnalyticsHubSubscriptionInfo", analytics_hub_fields};

static const struct em_field sub_fields[] = {
    {"name", EM_F_STRING},
    {"topic", EM_F_STRING},
    {"pushConfig", EM_F_MESSAGE, false, &push_msg},
    {"bigqueryConfig", EM_F_ANY},
    {"cloudStorageConfig", EM_F_ANY},
    {"bigtableConfig", EM_F_ANY},
    {"ackDeadlineSeconds", EM_F_INT32},
    {"retainAckedMessages", EM_F_BOOL},
    {"messageRetentionDuration", EM_F_DURATION},
    {"labels", EM_F_MAP},
    {"enableMessageOrdering", EM_F_BOOL},
    {"expirationPolicy", EM_F_MESSAGE, false, &expiration_msg},
    {"filter", EM_F_STRING},
    {"deadLetterPolicy", EM_F_MESSAGE, false, &dead_letter_msg},
    {"retryPolicy", EM_F_MESSAGE, false, &retry_msg},
    {"detached", EM_F_BOOL},
    {"enableExactlyOnceDelivery", EM_F_BOOL},
    {"topicMessageRetentionDuration", EM_F_DURATION},
    {"state", ENUM(sub_state_enum)},
    {"analyticsHubSubscriptionInfo", EM_F_MESSAGE, false, &analytics_hub_msg},
    {"messageTransforms", EM_F_ANY, true},
    {"tags", EM_F_MAP}, /* input only, accepted and not kept: see Topic.tags */
    {"pubsubExportConfig", EM_F_ANY},
    {"pubsubliteExportConfig", EM_F_ANY},
    {NULL}};
const struct em_message ps_sub_schema = {"google.pubsub.v1.Subscription", sub_fields};

static const struct em_field update_sub_fields[] = {
    {"subscription", EM_F_MESSAGE, false, &ps_sub_schema}, {"updateMask", EM_F_STRING}, {NULL}};
const struct em_message ps_update_sub_schema = {"google.pubsub.v1.UpdateSubscriptionRequest",
                                                update_sub_fields};

static const struct em_field message_fields[] = {
    {"data", EM_F_BYTES},         {"attributes", EM_F_MAP},
    {"messageId", EM_F_STRING},   {"publishTime", EM_F_TIMESTAMP},
    {"orderingKey", EM_F_STRING}, {NULL}};
static const struct em_message message_msg = {"google.pubsub.v1.PubsubMessage", message_fields};

static const struct em_field publish_fields[] = {{"messages", EM_F_MESSAGE, true, &message_msg},
                                                 {NULL}};
const struct em_message ps_publish_schema = {"google.pubsub.v1.PublishRequest", publish_fields};

static const struct em_field pull_fields[] = {
    {"returnImmediately", EM_F_BOOL}, {"maxMessages", EM_F_INT32}, {NULL}};
const struct em_message ps_pull_schema = {"google.pubsub.v1.PullRequest", pull_fields};

static const struct em_field ack_fields[] = {{"ackIds", EM_F_STRING, true}, {NULL}};
const struct em_message ps_ack_schema = {"google.pubsub.v1.AcknowledgeRequest", ack_fields};

static const struct em_field modack_fields[] = {
    {"ackIds", EM_F_STRING, true}, {"ackDeadlineSeconds", EM_F_INT32}, {NULL}};
const struct em_message ps_modack_schema = {"google.pubsub.v1.ModifyAckDeadlineRequest",
                                            modack_fields};

static const struct em_field modify_push_fields[] = {{"pushConfig", EM_F_MESSAGE, false, &push_msg},
                                                     {NULL}};
const struct em_message ps_modify_push_schema = {"google.pubsub.v1.ModifyPushConfigRequest",
                                                 modify_push_fields};

static const struct em_field seek_fields[] = {
    {"time", EM_F_TIMESTAMP}, {"snapshot", EM_F_STRING}, {NULL}};
const struct em_message ps_seek_schema = {"google.pubsub.v1.SeekRequest", seek_fields};

static const struct em_field create_snapshot_fields[] = {
    {"subscription", EM_F_STRING},
    {"labels", EM_F_MAP},
    {"tags", EM_F_MAP}, /* input only, accepted and not kept: see Topic.tags */
    {NULL}};
const struct em_message ps_create_snapshot_schema = {"google.pubsub.v1.CreateSnapshotRequest",
                                                     create_snapshot_fields};

static const struct em_field snapshot_fields[] = {{"name", EM_F_STRING},
                                                  {"topic", EM_F_STRING},
                                                  {"expireTime", EM_F_TIMESTAMP},
                                                  {"labels", EM_F_MAP},
                                                  {NULL}};
static const struct em_message snapshot_msg = {"google.pubsub.v1.Snapshot", snapshot_fields};

static const struct em_field update_snapshot_fields[] = {
    {"snapshot", EM_F_MESSAGE, false, &snapshot_msg}, {"updateMask", EM_F_STRING}, {NULL}};
const struct em_message ps_update_snapshot_schema = {"google.pubsub.v1.UpdateSnapshotRequest",
                                                     update_snapshot_fields};

/* --- reply schemas: where a reply carries enums (answered as numbers on request) --- */

static const struct em_field list_topics_fields[] = {
    {"topics", EM_F_MESSAGE, true, &ps_topic_schema}, {NULL}};
const struct em_message ps_list_topics_reply = {"google.pubsub.v1.ListTopicsResponse",
                                                list_topics_fields};

static const struct em_field list_subs_fields[] = {
    {"subscriptions", EM_F_MESSAGE, true, &ps_sub_schema}, {NULL}};
const struct em_message ps_list_subs_reply = {"google.pubsub.v1.ListSubscriptionsResponse",
                                              list_subs_fields};

/* --- model -> JSON --- */

static void add_object_text(cJSON *j, const char *key, const char *json_text)
{
    cJSON *value = json_text && *json_text ? cJSON_Parse(json_text) : NULL;
    if (cJSON_IsObject(value) && cJSON_GetArraySize(value) > 0)
        cJSON_AddItemToObject(j, key, value);
    else
        cJSON_Delete(value);
}

static const char *string_or_null(const cJSON *obj, const char *key)
{
    const char *value = em_json_string(obj, key);
    return value && *value ? value : NULL;
}

/* schemaSettings: none when absent or null (an update clearing it). Given, they are kept
 * with their schema as given, "" when left out, for ps_schema_check_settings to refuse
 * (schema is a required field of SchemaSettings). */
static enum em_code read_schema_settings(const cJSON *json, struct ps_schema_settings *out,
                                         struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(json))
        return EM_OK;
    const char *schema = em_json_string(json, "schema");
    if (!schema)
        schema = "";
    char project[64], id[260];
    if (*schema && strcmp(schema, PS_DELETED_SCHEMA) != 0 &&
        ps_parse_name(schema, "schemas", project, sizeof(project), id, sizeof(id), st))
        return st->code;
    out->encoding = ps_json_encoding(json);
    const char *first = string_or_null(json, "firstRevisionId");
    const char *last = string_or_null(json, "lastRevisionId");
    out->schema = strdup(schema);
    out->first_revision = first ? strdup(first) : NULL;
    out->last_revision = last ? strdup(last) : NULL;
    if (!out->schema || (first && !out->first_revision) || (last && !out->last_revision)) {
        ps_schema_settings_free(out);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

static void add_schema_settings(cJSON *j, const struct ps_schema_settings *s)
{
    if (!s->schema)
        return;
    cJSON *settings = cJSON_AddObjectToObject(j, "schemaSettings");
    cJSON_AddStringToObject(settings, "schema", s->schema);
    cJSON_AddStringToObject(settings, "encoding", ps_encoding_name(s->encoding));
    if (s->first_revision)
        cJSON_AddStringToObject(settings, "firstRevisionId", s->first_revision);
    if (s->last_revision)
        cJSON_AddStringToObject(settings, "lastRevisionId", s->last_revision);
}

cJSON *ps_json_topic(const struct ps_topic *t)
{
    return ps_json_topic_config(t->name, &t->cfg);
}

cJSON *ps_json_topic_config(const char *name, const struct ps_topic_config *cfg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    add_object_text(j, "labels", cfg->labels_json);
    if (cfg->regions) {
        cJSON *policy = cJSON_AddObjectToObject(j, "messageStoragePolicy");
        cJSON *regions = cJSON_AddArrayToObject(policy, "allowedPersistenceRegions");
        for (const char *p = cfg->regions; *p;) {
            size_t n = strcspn(p, ",");
            char *region = strndup(p, n);
            if (region)
                cJSON_AddItemToArray(regions, cJSON_CreateString(region));
            free(region);
            p += n;
            if (*p == ',')
                p++;
        }
        if (cfg->enforce_in_transit)
            cJSON_AddTrueToObject(policy, "enforceInTransit");
    }
    if (cfg->kms_key)
        cJSON_AddStringToObject(j, "kmsKeyName", cfg->kms_key);
    add_schema_settings(j, &cfg->schema);
    if (cfg->retention_ns)
        em_json_add_duration(j, "messageRetentionDuration", cfg->retention_ns);
    cJSON_AddStringToObject(j, "state", "ACTIVE");
    return j;
}

static cJSON *push_json(const struct ps_push_config *p)
{
    cJSON *j = cJSON_CreateObject();
    if (!p->endpoint)
        return j;
    cJSON_AddStringToObject(j, "pushEndpoint", p->endpoint);
    add_object_text(j, "attributes", p->attributes_json);
    if (p->oidc_service_account || p->oidc_audience) {
        cJSON *oidc = cJSON_AddObjectToObject(j, "oidcToken");
        if (p->oidc_service_account)
            cJSON_AddStringToObject(oidc, "serviceAccountEmail", p->oidc_service_account);
        if (p->oidc_audience)
            cJSON_AddStringToObject(oidc, "audience", p->oidc_audience);
    }
    if (p->no_wrapper) {
        cJSON *nw = cJSON_AddObjectToObject(j, "noWrapper");
        if (p->write_metadata)
            cJSON_AddTrueToObject(nw, "writeMetadata");
    }
    return j;
}

cJSON *ps_json_sub(struct ps_sub *s)
{
    pthread_mutex_lock(&s->lock);
    const struct ps_sub_config *c = &s->cfg;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", s->name);
    cJSON_AddStringToObject(j, "topic", c->topic);
    cJSON_AddItemToObject(j, "pushConfig", push_json(&c->push));
    cJSON_AddNumberToObject(j, "ackDeadlineSeconds", c->ack_deadline_s);
    if (c->retain_acked)
        cJSON_AddTrueToObject(j, "retainAckedMessages");
    em_json_add_duration(j, "messageRetentionDuration", c->retention_ns);
    add_object_text(j, "labels", c->labels_json);
    if (c->ordering)
        cJSON_AddTrueToObject(j, "enableMessageOrdering");
    cJSON *expiration = cJSON_AddObjectToObject(j, "expirationPolicy");
    if (c->ttl_ns > 0)
        em_json_add_duration(expiration, "ttl", c->ttl_ns);
    if (c->filter && *c->filter)
        cJSON_AddStringToObject(j, "filter", c->filter);
    if (c->dead_letter_topic) {
        cJSON *dl = cJSON_AddObjectToObject(j, "deadLetterPolicy");
        cJSON_AddStringToObject(dl, "deadLetterTopic", c->dead_letter_topic);
        cJSON_AddNumberToObject(dl, "maxDeliveryAttempts", c->max_delivery_attempts);
    }
    if (c->retry.set) {
        cJSON *retry = cJSON_AddObjectToObject(j, "retryPolicy");
        em_json_add_duration(retry, "minimumBackoff", c->retry.min_ns);
        em_json_add_duration(retry, "maximumBackoff", c->retry.max_ns);
    }
    if (s->detached)
        cJSON_AddTrueToObject(j, "detached");
    if (c->exactly_once)
        cJSON_AddTrueToObject(j, "enableExactlyOnceDelivery");
    if (s->topic && s->topic->cfg.retention_ns)
        em_json_add_duration(j, "topicMessageRetentionDuration", s->topic->cfg.retention_ns);
    cJSON_AddStringToObject(j, "state", "ACTIVE");
    pthread_mutex_unlock(&s->lock);
    return j;
}

cJSON *ps_json_snapshot(const struct ps_snapshot *snap)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", snap->name);
    cJSON_AddStringToObject(j, "topic", snap->topic);
    em_json_add_time(j, "expireTime", snap->expire_ns);
    add_object_text(j, "labels", snap->labels_json);
    return j;
}

/* --- JSON -> model --- */

static char *dup_string(const cJSON *obj, const char *key)
{
    const char *s = em_json_string(obj, key);
    return s ? strdup(s) : NULL;
}

static int64_t duration_of(const cJSON *obj, const char *key, int64_t absent)
{
    const char *text = em_json_string(obj, key);
    int64_t ns;
    return text && em_duration_parse(text, &ns) ? ns : absent;
}

static bool present(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v);
}

/* messageRetentionDuration into *ns, 0 when absent (the default; a malformed one is the
 * request schema's to refuse). Given as "0s" it is a retention below Google's minimum, not
 * an unset field ("Cannot be more than 31 days or less than 10 minutes"): refused here, as
 * 0 would read as the default after this. */
static enum em_code read_retention(const cJSON *obj, int64_t *ns, struct em_status *st)
{
    const char *text = em_json_string(obj, "messageRetentionDuration");
    if (!text || !em_duration_parse(text, ns)) {
        *ns = 0;
        return EM_OK;
    }
    if (*ns == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid message_retention_duration \"0s\": the message retention "
                       "duration must be between 10 minutes (600s) and 31 days (2678400s); "
                       "leave it out for the default.");
    return EM_OK;
}

/* expirationPolicy.ttl into *ns: PS_DURATION_UNSET without a policy (the default 31 days),
 * 0 for a policy without a ttl (never expires). A ttl given as "0s" is not that: Google
 * documents a minimum of 1 day and a missing ttl as the way never to expire, so it is
 * refused here, as 0 would read as "never" after this. */
static enum em_code read_ttl(const cJSON *sub, int64_t *ns, struct em_status *st)
{
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(sub, "expirationPolicy");
    int64_t ttl = duration_of(policy, "ttl", PS_DURATION_UNSET);
    *ns = PS_DURATION_UNSET;
    if (!present(sub, "expirationPolicy"))
        return EM_OK;
    if (ttl == 0)
        return PS_ERR_TTL_TOO_SHORT(st);
    *ns = ttl == PS_DURATION_UNSET ? 0 : ttl;
    return EM_OK;
}

static enum em_code unimplemented(const char *what, struct em_status *st)
{
    return EM_FAIL(st, EM_UNIMPLEMENTED, "%s is not implemented by this emulator.", what);
}

static bool nonempty(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) &&
           !((cJSON_IsArray(v) || cJSON_IsObject(v)) && cJSON_GetArraySize(v) == 0);
}

/* Regions of a MessageStoragePolicy as "r1,r2" (NULL when the policy is absent). */
static enum em_code read_regions(const cJSON *policy, char **regions, struct em_status *st)
{
    *regions = NULL;
    if (!policy || cJSON_IsNull(policy))
        return EM_OK;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(policy, "allowedPersistenceRegions");
    size_t len = 1;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        len += strlen(item->valuestring) + 1;
    }
    char *out = calloc(1, len);
    if (!out)
        return EM_FAIL_OOM(st);
    cJSON_ArrayForEach(item, list)
    {
        if (strchr(item->valuestring, ',') || !*item->valuestring) {
            free(out);
            return PS_ERR_STORAGE_REGION_UNKNOWN(st, item->valuestring);
        }
        if (*out)
            strcat(out, ",");
        strcat(out, item->valuestring);
    }
    *regions = out;
    return EM_OK;
}

enum em_code ps_json_read_topic(const cJSON *topic, struct ps_topic_config *cfg,
                                struct em_status *st)
{
    memset(cfg, 0, sizeof(*cfg));
    if (nonempty(topic, "ingestionDataSourceSettings"))
        return unimplemented("Topic ingestion_data_source_settings", st);
    if (nonempty(topic, "messageTransforms"))
        return unimplemented("Topic message_transforms", st);
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(topic, "messageStoragePolicy");
    const char *key = em_json_string(topic, "kmsKeyName");
    if (key && *key && !(cfg->kms_key = strdup(key)))
        return EM_FAIL_OOM(st);
    em_json_bool(policy, "enforceInTransit", &cfg->enforce_in_transit);
    if (read_retention(topic, &cfg->retention_ns, st) || read_regions(policy, &cfg->regions, st) ||
        em_labels_read(topic, &cfg->labels_json, st) ||
        read_schema_settings(cJSON_GetObjectItemCaseSensitive(topic, "schemaSettings"),
                             &cfg->schema, st)) {
        ps_topic_config_free(cfg);
        return st->code;
    }
    return EM_OK;
}

/* Calls fn for each path of the request's update mask; a mask without paths is refused. */
static enum em_code each_mask_path(const char *mask, const char *request, em_mask_path_fn fn,
                                   void *arg, struct em_status *st)
{
    size_t count;
    if (em_mask_each(mask, fn, arg, &count, st))
        return st->code;
    if (count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The update_mask in the %s must be set, and must contain a non-empty "
                       "paths list.",
                       request);
    return EM_OK;
}

static enum em_code topic_mask_path(const char *path, void *arg, struct em_status *st)
{
    struct ps_topic_update *u = arg;
    if (em_mask_path_is(path, "labels"))
        u->mask |= PS_TOPIC_LABELS;
    else if (em_mask_path_is(path, "messageStoragePolicy"))
        u->mask |= PS_TOPIC_STORAGE_POLICY;
    else if (em_mask_path_is(path, "messageStoragePolicy.allowedPersistenceRegions"))
        u->mask |= PS_TOPIC_STORAGE_REGIONS;
    else if (em_mask_path_is(path, "messageStoragePolicy.enforceInTransit"))
        u->mask |= PS_TOPIC_STORAGE_IN_TRANSIT;
    else if (em_mask_path_is(path, "kmsKeyName"))
        u->mask |= PS_TOPIC_KMS_KEY;
    else if (em_mask_path_is(path, "messageRetentionDuration"))
        u->mask |= PS_TOPIC_RETENTION;
    else if (em_mask_path_is(path, "schemaSettings"))
        u->mask |= PS_TOPIC_SCHEMA;
    else if (em_mask_path_is(path, "schemaSettings.schema"))
        u->mask |= PS_TOPIC_SCHEMA_NAME;
    else if (em_mask_path_is(path, "schemaSettings.encoding"))
        u->mask |= PS_TOPIC_SCHEMA_ENCODING;
    else if (em_mask_path_is(path, "schemaSettings.firstRevisionId"))
        u->mask |= PS_TOPIC_SCHEMA_FIRST_REVISION;
    else if (em_mask_path_is(path, "schemaSettings.lastRevisionId"))
        u->mask |= PS_TOPIC_SCHEMA_LAST_REVISION;
    else if (em_mask_path_is(path, "ingestionDataSourceSettings") ||
             em_mask_path_is(path, "messageTransforms"))
        return unimplemented("Updating topic ingestion or transform settings", st);
    else
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask provided in the UpdateTopicRequest: '%.100s' is not "
                       "a known Topic field. Note that field paths must be of the form "
                       "'message_storage_policy' rather than 'messageStoragePolicy'.",
                       path);
    return EM_OK;
}

enum em_code ps_json_read_topic_update(const cJSON *body, struct ps_topic_update *update,
                                       struct em_status *st)
{
    memset(update, 0, sizeof(*update));
    const cJSON *topic = cJSON_GetObjectItemCaseSensitive(body, "topic");
    if (!cJSON_IsObject(topic))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "UpdateTopicRequest.topic is required.");
    if (each_mask_path(em_json_string(body, "updateMask"), "UpdateTopicRequest", topic_mask_path,
                       update, st))
        return st->code;
    struct ps_topic_update parsed = {0};
    /* ingestion and transforms are only an error when the mask names them */
    cJSON *copy = cJSON_Duplicate(topic, true);
    if (!copy)
        return EM_FAIL_OOM(st);
    cJSON_DeleteItemFromObject(copy, "ingestionDataSourceSettings");
    cJSON_DeleteItemFromObject(copy, "messageTransforms");
    enum em_code code = ps_json_read_topic(copy, &parsed.cfg, st);
    cJSON_Delete(copy);
    if (code)
        return code;
    parsed.mask = update->mask;
    *update = parsed;
    return EM_OK;
}

enum em_code ps_json_read_push_config(const cJSON *push, struct ps_push_config *out,
                                      struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!push || cJSON_IsNull(push))
        return EM_OK;
    const char *endpoint = string_or_null(push, "pushEndpoint");
    const cJSON *attributes = cJSON_GetObjectItemCaseSensitive(push, "attributes");
    const cJSON *oidc = cJSON_GetObjectItemCaseSensitive(push, "oidcToken");
    const cJSON *no_wrapper = cJSON_GetObjectItemCaseSensitive(push, "noWrapper");
    out->endpoint = endpoint ? strdup(endpoint) : NULL;
    if (cJSON_IsObject(attributes) && cJSON_GetArraySize(attributes) > 0)
        out->attributes_json = cJSON_PrintUnformatted(attributes);
    out->oidc_service_account = dup_string(oidc, "serviceAccountEmail");
    out->oidc_audience = dup_string(oidc, "audience");
    out->no_wrapper = cJSON_IsObject(no_wrapper);
    em_json_bool(no_wrapper, "writeMetadata", &out->write_metadata);
    if (endpoint && !out->endpoint)
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* A deadLetterPolicy given (an object, even {}) is a policy: its topic is kept as given,
 * "" when left out, for ps_check_dead_letter to refuse. Only an absent or null policy
 * means none. */
static enum em_code read_dead_letter(const cJSON *sub, struct ps_sub_config *cfg,
                                     struct em_status *st)
{
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(sub, "deadLetterPolicy");
    if (!cJSON_IsObject(dl))
        return EM_OK;
    const char *topic = em_json_string(dl, "deadLetterTopic");
    int64_t attempts = 0;
    em_json_int64(dl, "maxDeliveryAttempts", &attempts);
    cfg->max_delivery_attempts = (int)attempts;
    if (!(cfg->dead_letter_topic = strdup(topic ? topic : "")))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

static void read_retry(const cJSON *sub, struct ps_retry *retry)
{
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(sub, "retryPolicy");
    retry->set = cJSON_IsObject(policy);
    retry->min_ns = duration_of(policy, "minimumBackoff", PS_DURATION_UNSET);
    retry->max_ns = duration_of(policy, "maximumBackoff", PS_DURATION_UNSET);
}

enum em_code ps_json_read_sub(const cJSON *sub, struct ps_sub_config *cfg, struct em_status *st)
{
    memset(cfg, 0, sizeof(*cfg));
    if (nonempty(sub, "bigqueryConfig") &&
        nonempty(cJSON_GetObjectItem(sub, "bigqueryConfig"), "table"))
        return unimplemented("BigQuery subscriptions (bigquery_config)", st);
    if (nonempty(sub, "cloudStorageConfig") &&
        nonempty(cJSON_GetObjectItem(sub, "cloudStorageConfig"), "bucket"))
        return unimplemented("Cloud Storage subscriptions (cloud_storage_config)", st);
    if (nonempty(sub, "bigtableConfig") &&
        nonempty(cJSON_GetObjectItem(sub, "bigtableConfig"), "table"))
        return unimplemented("Bigtable subscriptions (bigtable_config)", st);
    if (nonempty(sub, "pubsubExportConfig") || nonempty(sub, "pubsubliteExportConfig"))
        return unimplemented("Export subscriptions", st);
    if (nonempty(sub, "messageTransforms"))
        return unimplemented("Subscription message_transforms", st);
    int64_t deadline = 0;
    em_json_int64(sub, "ackDeadlineSeconds", &deadline);
    if (deadline < 0 || deadline > 100000)
        deadline = -1; /* refused by the registry's range check */
    cfg->ack_deadline_s = (int)deadline;
    cfg->topic = dup_string(sub, "topic");
    em_json_bool(sub, "retainAckedMessages", &cfg->retain_acked);
    cfg->filter = strdup(em_json_string(sub, "filter") ? em_json_string(sub, "filter") : "");
    read_retry(sub, &cfg->retry);
    em_json_bool(sub, "enableMessageOrdering", &cfg->ordering);
    em_json_bool(sub, "enableExactlyOnceDelivery", &cfg->exactly_once);
    if (!cfg->filter || read_retention(sub, &cfg->retention_ns, st) ||
        read_ttl(sub, &cfg->ttl_ns, st) || read_dead_letter(sub, cfg, st) ||
        ps_json_read_push_config(cJSON_GetObjectItemCaseSensitive(sub, "pushConfig"), &cfg->push,
                                 st) ||
        em_labels_read(sub, &cfg->labels_json, st)) {
        if (!cfg->filter)
            EM_FAIL_OOM(st);
        ps_sub_config_free(cfg);
        return st->code;
    }
    return EM_OK;
}

struct sub_mask {
    struct ps_sub_update *update;
};

static enum em_code sub_mask_path(const char *path, void *arg, struct em_status *st)
{
    struct ps_sub_update *u = arg;
    static const struct {
        const char *field;
        unsigned bit;
    } fields[] = {
        {"ackDeadlineSeconds", PS_SUB_ACK_DEADLINE},
        {"pushConfig", PS_SUB_PUSH},
        {"pushConfig.pushEndpoint", PS_SUB_PUSH_ENDPOINT},
        {"pushConfig.attributes", PS_SUB_PUSH_ATTRIBUTES},
        {"pushConfig.oidcToken", PS_SUB_PUSH_OIDC},
        {"pushConfig.noWrapper", PS_SUB_PUSH_WRAPPER},
        {"pushConfig.pubsubWrapper", PS_SUB_PUSH_WRAPPER},
        {"messageRetentionDuration", PS_SUB_RETENTION},
        {"retainAckedMessages", PS_SUB_RETAIN_ACKED},
        {"labels", PS_SUB_LABELS},
        {"expirationPolicy", PS_SUB_EXPIRATION},
        {"deadLetterPolicy", PS_SUB_DEAD_LETTER},
        {"retryPolicy", PS_SUB_RETRY},
        {"enableExactlyOnceDelivery", PS_SUB_EXACTLY_ONCE},
        {"detached", PS_SUB_DETACHED},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (em_mask_path_is(path, fields[i].field)) {
            u->mask |= fields[i].bit;
            return EM_OK;
        }
    }
    if (em_mask_path_is(path, "filter") || em_mask_path_is(path, "topic") ||
        em_mask_path_is(path, "enableMessageOrdering") || em_mask_path_is(path, "name"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask provided in the UpdateSubscriptionRequest: the "
                       "'%s' field cannot be updated.",
                       path);
    if (em_mask_path_is(path, "bigqueryConfig") || em_mask_path_is(path, "cloudStorageConfig") ||
        em_mask_path_is(path, "bigtableConfig") || em_mask_path_is(path, "pubsubExportConfig") ||
        em_mask_path_is(path, "messageTransforms"))
        return unimplemented("Export subscriptions and message transforms", st);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid update_mask provided in the UpdateSubscriptionRequest: '%.100s' is "
                   "not a known Subscription field.",
                   path);
}

enum em_code ps_json_read_sub_update(const cJSON *body, struct ps_sub_update *update,
                                     struct em_status *st)
{
    memset(update, 0, sizeof(*update));
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(body, "subscription");
    if (!cJSON_IsObject(sub))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "UpdateSubscriptionRequest.subscription is required.");
    if (each_mask_path(em_json_string(body, "updateMask"), "UpdateSubscriptionRequest",
                       sub_mask_path, update, st))
        return st->code;
    unsigned mask = update->mask;
    if (ps_json_read_sub(sub, &update->cfg, st))
        return st->code;
    update->mask = mask;
    em_json_bool(sub, "detached", &update->detached);
    return EM_OK;
}

static enum em_code snapshot_mask_path(const char *path, void *arg, struct em_status *st)
{
    unsigned *mask = arg;
    if (em_mask_path_is(path, "labels"))
        *mask |= 1;
    else if (em_mask_path_is(path, "expireTime"))
        *mask |= 2;
    else
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask provided in the UpdateSnapshotRequest: '%.100s' "
                       "cannot be updated.",
                       path);
    return EM_OK;
}

enum em_code ps_json_read_snapshot_update(const cJSON *body, char **labels_json, int64_t *expire_ns,
                                          struct em_status *st)
{
    *labels_json = NULL;
    *expire_ns = 0;
    unsigned mask = 0;
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(body, "snapshot");
    if (!cJSON_IsObject(snap))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "UpdateSnapshotRequest.snapshot is required.");
    if (each_mask_path(em_json_string(body, "updateMask"), "UpdateSnapshotRequest",
                       snapshot_mask_path, &mask, st))
        return st->code;
    if (mask & 1) {
        if (em_labels_read(snap, labels_json, st))
            return st->code;
        if (!*labels_json && !(*labels_json = strdup("{}")))
            return EM_FAIL_OOM(st);
    }
    const char *expire = em_json_string(snap, "expireTime");
    if ((mask & 2) && (!expire || !em_time_parse(expire, expire_ns))) {
        free(*labels_json);
        *labels_json = NULL;
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "snapshot.expire_time is required.");
    }
    return EM_OK;
}

/* --- messages --- */

static enum em_code too_large(const char *what, size_t value, size_t max, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "The value for %s is too large. You passed %zu in the request, but the "
                   "maximum value is %zu.",
                   what, value, max);
}

static enum em_code check_attributes(const cJSON *attributes, size_t *bytes, struct em_status *st)
{
    int count = cJSON_GetArraySize(attributes);
    if (count > PS_MAX_ATTRIBUTES)
        return too_large("attribute_count", (size_t)count, PS_MAX_ATTRIBUTES, st);
    const cJSON *a;
    cJSON_ArrayForEach(a, attributes)
    {
        size_t klen = strlen(a->string), vlen = strlen(a->valuestring);
        if (klen == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Attribute keys must not be empty.");
        if (klen > PS_MAX_ATTRIBUTE_KEY)
            return too_large("attribute_key_size", klen, PS_MAX_ATTRIBUTE_KEY, st);
        if (vlen > PS_MAX_ATTRIBUTE_VALUE)
            return too_large("attribute_value_size", vlen, PS_MAX_ATTRIBUTE_VALUE, st);
        if (strncasecmp(a->string, "goog", 4) == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The attribute key \"%.60s\" is reserved: keys must not start with "
                           "\"goog\".",
                           a->string);
        *bytes += klen + vlen;
    }
    return EM_OK;
}

static enum em_code read_message(const cJSON *item, struct ps_message *m, size_t *total,
                                 struct em_status *st)
{
    const char *data = em_json_string(item, "data");
    const cJSON *attributes = cJSON_GetObjectItemCaseSensitive(item, "attributes");
    const char *key = em_json_string(item, "orderingKey");
    size_t bytes = 0;
    if (cJSON_IsObject(attributes) && check_attributes(attributes, &bytes, st))
        return st->code;
    if (key && strlen(key) > PS_MAX_ORDERING_KEY)
        return too_large("ordering_key_size", strlen(key), PS_MAX_ORDERING_KEY, st);
    if (data && *data && !em_b64_decode(data, strlen(data), &m->data, &m->data_len))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'messages.data' (TYPE_BYTES), Base64 decoding failed.");
    bool has_attributes = cJSON_IsObject(attributes) && cJSON_GetArraySize(attributes) > 0;
    if (m->data_len == 0 && !has_attributes)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Some messages are empty: a message must contain either non-empty data, "
                       "or at least one attribute.");
    bytes += m->data_len + (key ? strlen(key) : 0);
    if (bytes > PS_MAX_MESSAGE_BYTES)
        return too_large("message_size", bytes, PS_MAX_MESSAGE_BYTES, st);
    *total += bytes;
    m->attributes = has_attributes ? cJSON_PrintUnformatted(attributes) : strdup("");
    m->ordering_key = strdup(key ? key : "");
    if (!m->attributes || !m->ordering_key)
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* PubsubMessage.ordering_key: "All PubsubMessages published in a given PublishRequest must
 * specify the same ordering_key value" (no key, or an empty one, counts as one value). */
static enum em_code check_one_ordering_key(const struct ps_message *msgs, size_t n,
                                           struct em_status *st)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(msgs[i].ordering_key, msgs[0].ordering_key) != 0)
            return EM_FAIL(
                st, EM_FAILED_PRECONDITION,
                "In a single publish request, all messages must have no ordering key "
                "or they must all have the same ordering key (message %zu has \"%.60s\", "
                "message 0 \"%.60s\").",
                i, msgs[i].ordering_key, msgs[0].ordering_key);
    return EM_OK;
}

enum em_code ps_json_read_messages(const cJSON *body, struct ps_message **msgs, size_t *count,
                                   struct em_status *st)
{
    *msgs = NULL;
    *count = 0;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "messages");
    int n = cJSON_GetArraySize(list);
    if (n == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No messages to publish");
    if (n > PS_MAX_PUBLISH_MESSAGES)
        return too_large("message_count", (size_t)n, PS_MAX_PUBLISH_MESSAGES, st);
    struct ps_message *out = calloc((size_t)n, sizeof(*out));
    if (!out)
        return EM_FAIL_OOM(st);
    size_t i = 0, total = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (read_message(item, &out[i++], &total, st)) {
            ps_messages_free(out, (size_t)n);
            return st->code;
        }
    }
    if (total > PS_MAX_PUBLISH_BYTES) {
        ps_messages_free(out, (size_t)n);
        return too_large("request_size", total, PS_MAX_PUBLISH_BYTES, st);
    }
    if (check_one_ordering_key(out, (size_t)n, st)) {
        ps_messages_free(out, (size_t)n);
        return st->code;
    }
    *msgs = out;
    *count = (size_t)n;
    return EM_OK;
}

cJSON *ps_json_message(const struct ps_message *m, bool push_aliases)
{
    cJSON *j = cJSON_CreateObject();
    add_object_text(j, "attributes", m->attributes);
    if (m->data_len)
        em_json_add_bytes(j, "data", m->data, m->data_len);
    char id[PS_MESSAGE_ID_MAX];
    ps_message_id(m->seq, id);
    cJSON_AddStringToObject(j, "messageId", id);
    if (push_aliases)
        cJSON_AddStringToObject(j, "message_id", id);
    em_json_add_time(j, "publishTime", m->publish_ns);
    if (push_aliases)
        em_json_add_time(j, "publish_time", m->publish_ns);
    if (m->ordering_key && *m->ordering_key)
        cJSON_AddStringToObject(j, "orderingKey", m->ordering_key);
    return j;
}

cJSON *ps_json_pull_reply(const struct ps_received *items, size_t count)
{
    cJSON *reply = cJSON_CreateObject();
    if (!count)
        return reply;
    cJSON *list = cJSON_AddArrayToObject(reply, "receivedMessages");
    for (size_t i = 0; i < count; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "ackId", items[i].ack_id);
        cJSON_AddItemToObject(r, "message", ps_json_message(&items[i].msg, false));
        if (items[i].delivery_attempt)
            cJSON_AddNumberToObject(r, "deliveryAttempt", items[i].delivery_attempt);
        cJSON_AddItemToArray(list, r);
    }
    return reply;
}

char *ps_push_body(const struct ps_received *r, const char *subscription)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "message", ps_json_message(&r->msg, true));
    cJSON_AddStringToObject(body, "subscription", subscription);
    if (r->delivery_attempt)
        cJSON_AddNumberToObject(body, "deliveryAttempt", r->delivery_attempt);
    return em_json_print_free(body);
}

char *ps_dead_letter_attributes(const struct ps_message *m, const struct ps_sub *sub,
                                uint32_t attempts)
{
    cJSON *a = m->attributes && *m->attributes ? cJSON_Parse(m->attributes) : NULL;
    if (!cJSON_IsObject(a)) {
        cJSON_Delete(a);
        a = cJSON_CreateObject();
    }
    char text[EM_TIME_TEXT_MAX], count[16];
    snprintf(count, sizeof(count), "%u", attempts);
    em_time_format(m->publish_ns, text);
    const char *id = strrchr(sub->name, '/');
    cJSON_DeleteItemFromObject(a, "CloudPubSubDeadLetterSourceDeliveryCount");
    cJSON_DeleteItemFromObject(a, "CloudPubSubDeadLetterSourceSubscription");
    cJSON_DeleteItemFromObject(a, "CloudPubSubDeadLetterSourceSubscriptionProject");
    cJSON_DeleteItemFromObject(a, "CloudPubSubDeadLetterSourceTopicPublishTime");
    cJSON_AddStringToObject(a, "CloudPubSubDeadLetterSourceDeliveryCount", count);
    cJSON_AddStringToObject(a, "CloudPubSubDeadLetterSourceSubscription", id ? id + 1 : sub->name);
    cJSON_AddStringToObject(a, "CloudPubSubDeadLetterSourceSubscriptionProject", sub->project);
    cJSON_AddStringToObject(a, "CloudPubSubDeadLetterSourceTopicPublishTime", text);
    return em_json_print_free(a);
}

/* base64url without padding, as JWTs want it (malloc'd). */
static char *b64url(const char *text)
{
    char *out = em_b64_encode((const unsigned char *)text, strlen(text));
    if (!out)
        return NULL;
    size_t n = 0;
    for (char *p = out; *p; p++) {
        if (*p == '=')
            break;
        out[n++] = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
    out[n] = '\0';
    return out;
}

char *ps_push_oidc_token(const char *service_account, const char *audience, int64_t now_ns)
{
    int64_t now_s = now_ns / EM_NS_PER_SEC;
    cJSON *claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "aud", audience);
    cJSON_AddStringToObject(claims, "azp", service_account);
    cJSON_AddStringToObject(claims, "email", service_account);
    cJSON_AddBoolToObject(claims, "email_verified", true);
    cJSON_AddNumberToObject(claims, "exp", (double)(now_s + 3600));
    cJSON_AddNumberToObject(claims, "iat", (double)now_s);
    cJSON_AddStringToObject(claims, "iss", "https://accounts.google.com");
    cJSON_AddStringToObject(claims, "sub", service_account);
    char *claims_text = em_json_print_free(claims);
    char *header = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    char *payload = claims_text ? b64url(claims_text) : NULL;
    char *token = NULL;
    if (header && payload) {
        size_t len = strlen(header) + strlen(payload) + 3;
        token = malloc(len);
        if (token)
            snprintf(token, len, "%s.%s.", header, payload);
    }
    free(claims_text);
    free(header);
    free(payload);
    return token;
}
