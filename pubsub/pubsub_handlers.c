/*
 * pubsub_handlers: thin glue between REST calls and the Pub/Sub model. Each handler
 * validates the names in the path, reads the schema-checked body through pubsub_json,
 * calls the registry (admin) or the flow (data), and replies with pubsub_json's shapes.
 *
 * Google reference: https://cloud.google.com/pubsub/docs/reference/rest
 */
#include "pubsub_handlers.h"

#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_service.h"
#include "pubsub_flow.h"
#include "pubsub_errors.h"
#include "pubsub_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ps_registry *registry(struct em_call *call)
{
    return call->svc->ctx;
}

/* Validates "projects/<p>/<collection>/<id>" from the path. */
static enum em_code check_name(struct em_call *call, const char *name, const char *collection)
{
    char project[64], id[260];
    return ps_parse_name(name, collection, project, sizeof(project), id, sizeof(id), &call->status);
}

/* The CMEK organization policies of the topic's project (em_orgpolicy.h): a topic
 * without a key where Pub/Sub must use CMEK, or a key from a project not allowed. */
static enum em_code check_org_policy(struct em_call *call, const char *topic, const char *key)
{
    char project[64];
    if (!em_name_id(topic, "projects", project, sizeof(project)))
        return EM_OK; /* check_name refused it already */
    return em_orgpolicy_check_cmek(call->svc->store, project, "pubsub.googleapis.com", key,
                                   "a topic", &call->status);
}

/* The resource locations constraint (gcp.resourceLocations) on each region of the
 * topic's message storage policy (regions: "r1,r2", NULL: none set); a region that is
 * not one is left to the topic's validation, which names it (INVALID_ARGUMENT). */
static enum em_code check_storage_regions(struct em_call *call, const char *topic,
                                          const char *regions)
{
    char project[64];
    if (!regions || !em_name_id(topic, "projects", project, sizeof(project)))
        return EM_OK;
    for (const char *r = regions; *r;) {
        size_t n = strcspn(r, ",");
        char region[128];
        snprintf(region, sizeof(region), "%.*s", (int)(n < 127 ? n : 127), r);
        const struct em_location *known = em_location_find(region);
        if (known && known->kind == EM_LOC_REGION && /* others: INVALID_ARGUMENT later */
            em_orgpolicy_check_location(call->svc->store, project, region,
                                        "a topic storing messages", &call->status))
            return call->status.code;
        r += n + (r[n] == ',');
    }
    return EM_OK;
}

static enum em_code check_project(struct em_call *call, const char *var, char *prefix, size_t len,
                                  const char *collection)
{
    const char *name = em_call_var(call, var);
    char project[128];
    if (!em_name_id(name, "projects", project, sizeof(project)))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project \"%.100s\".", name);
    if (em_project_check(project, &call->status))
        return call->status.code;
    snprintf(prefix, len, "projects/%s/%s/", project, collection);
    return EM_OK;
}

static void note_created(struct em_call *call, const char *name)
{
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
}

/* The caller must also hold `permission` on another resource (IAM enforce mode). */
static enum em_code check_also(struct em_call *call, const char *resource, const char *permission)
{
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

static struct em_list_options list_options(const char *field)
{
    return (struct em_list_options){field, 100, 1000, false};
}

/* --- topics --- */

/* A topic that names a schema needs pubsub.schemas.attach on it too. */
static enum em_code check_schema_attach(struct em_call *call, const struct ps_schema_settings *s)
{
    if (!s->schema || !*s->schema || strcmp(s->schema, PS_DELETED_SCHEMA) == 0)
        return EM_OK;
    return check_also(call, s->schema, "pubsub.schemas.attach");
}

/* The reply describing topic, from a copy of its configuration (an update or a schema's
 * deletion may change it meanwhile); takes the caller's reference. */
static enum em_code topic_reply(struct em_call *call, struct ps_topic *topic)
{
    struct ps_topic_config cfg;
    enum em_code code = ps_topic_config_get(topic, &cfg, &call->status);
    cJSON *reply = code ? NULL : ps_json_topic_config(topic->name, &cfg);
    ps_topic_config_free(&cfg);
    ps_topic_put(topic);
    return code ? code : em_call_reply(call, reply);
}

enum em_code ps_create_topic(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct ps_topic_config cfg;
    if (check_name(call, name, "topics") || ps_json_read_topic(call->body, &cfg, &call->status))
        return call->status.code;
    const char *body_name = em_json_string(call->body, "name");
    if (body_name && *body_name && strcmp(body_name, name) != 0) {
        ps_topic_config_free(&cfg);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The topic name in the body (%.200s) differs from the path (%.200s).",
                            body_name, name);
    }
    note_created(call, name);
    struct ps_topic *topic;
    enum em_code code = check_schema_attach(call, &cfg.schema);
    if (!code)
        code = check_org_policy(call, name, cfg.kms_key);
    if (!code)
        code = check_storage_regions(call, name, cfg.regions);
    if (!code)
        code = ps_topic_create(registry(call), name, &cfg, em_clock_now(), &topic, &call->status);
    ps_topic_config_free(&cfg);
    if (code)
        return code;
    return topic_reply(call, topic);
}

enum em_code ps_get_topic(struct em_call *call)
{
    const char *name = em_call_var(call, "topic");
    if (check_name(call, name, "topics"))
        return call->status.code;
    struct ps_topic *topic = ps_topic_get(registry(call), name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(&call->status);
    return topic_reply(call, topic);
}

enum em_code ps_update_topic(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct ps_topic_update update;
    if (check_name(call, name, "topics") ||
        ps_json_read_topic_update(call->body, &update, &call->status))
        return call->status.code;
    struct ps_topic *topic;
    enum em_code code = (update.mask & PS_TOPIC_SCHEMA_NAME)
                            ? check_schema_attach(call, &update.cfg.schema)
                            : EM_OK;
    /* a new key must come from an allowed project (removing one is not checked: the
     * policies govern what is created) */
    if (!code && (update.mask & PS_TOPIC_KMS_KEY) && update.cfg.kms_key && *update.cfg.kms_key)
        code = check_org_policy(call, name, update.cfg.kms_key);
    if (!code && (update.mask & PS_TOPIC_STORAGE_REGIONS))
        code = check_storage_regions(call, name, update.cfg.regions);
    if (!code)
        code = ps_topic_update(registry(call), name, &update, &topic, &call->status);
    ps_topic_config_free(&update.cfg);
    if (code)
        return code;
    return topic_reply(call, topic);
}

enum em_code ps_delete_topic(struct em_call *call)
{
    const char *name = em_call_var(call, "topic");
    if (check_name(call, name, "topics") ||
        ps_topic_delete(registry(call), name, em_clock_now(), &call->status))
        return call->status.code;
    struct em_status ignored = {0};
    em_iam_delete_under(call->svc->store, name, &ignored);
    return em_call_reply(call, cJSON_CreateObject());
}

static void add_topic_json(const struct ps_topic *topic, void *arg)
{
    cJSON_AddItemToArray(arg, ps_json_topic(topic));
}

enum em_code ps_list_topics(struct em_call *call)
{
    char prefix[160];
    if (check_project(call, "project", prefix, sizeof(prefix), "topics"))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    ps_each_topic(registry(call), prefix, add_topic_json, items);
    struct em_list_options opt = list_options("topics");
    return em_list_reply(call, items, &opt);
}

/* A publish call while its messages are being stored (the connection is parked). */
struct publish_call {
    struct ps_message *msgs;
    size_t count;
    struct ps_publish *op;      /* NULL: it never started ... */
    struct em_status not_begun; /* ... for this reason */
};

static void publish_stored(void *call)
{
    em_call_ready(call);
}

static void publish_finish(struct em_call *call)
{
    struct publish_call *pc = em_call_deferred_arg(call);
    if (!pc->op)
        call->status = pc->not_begun;
    else if (ps_publish_end(pc->op, &call->status) == EM_OK) {
        cJSON *reply = cJSON_CreateObject();
        cJSON *ids = cJSON_AddArrayToObject(reply, "messageIds");
        for (size_t i = 0; i < pc->count; i++) {
            char id[PS_MESSAGE_ID_MAX];
            ps_message_id(pc->msgs[i].seq, id);
            cJSON_AddItemToArray(ids, cJSON_CreateString(id));
        }
        em_call_reply(call, reply);
    }
    ps_messages_free(pc->msgs, pc->count);
    free(pc);
}

enum em_code ps_publish_call(struct em_call *call)
{
    const char *name = em_call_var(call, "topic");
    struct publish_call *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return EM_FAIL_OOM(&call->status);
    if (check_name(call, name, "topics") ||
        ps_json_read_messages(call->body, &pc->msgs, &pc->count, &call->status)) {
        free(pc);
        return call->status.code;
    }
    /* deferred before the log thread can report: the connection is parked first */
    em_call_defer(call, publish_finish, pc);
    if (ps_publish_start(registry(call), name, pc->msgs, pc->count, em_clock_now(), publish_stored,
                         call, &pc->op, &pc->not_begun))
        em_call_ready(call);
    return EM_OK;
}

static void add_sub_name(struct ps_sub *sub, void *arg)
{
    if (!sub->detached)
        cJSON_AddItemToArray(arg, cJSON_CreateString(sub->name));
}

enum em_code ps_list_topic_subscriptions(struct em_call *call)
{
    const char *name = em_call_var(call, "topic");
    if (check_name(call, name, "topics"))
        return call->status.code;
    struct ps_topic *topic = ps_topic_get(registry(call), name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(&call->status);
    ps_topic_put(topic);
    cJSON *items = cJSON_CreateArray();
    ps_each_sub(registry(call), NULL, name, add_sub_name, items);
    struct em_list_options opt = list_options("subscriptions");
    return em_list_reply(call, items, &opt);
}

static void add_snapshot_name(const struct ps_snapshot *snap, void *arg)
{
    cJSON_AddItemToArray(arg, cJSON_CreateString(snap->name));
}

enum em_code ps_list_topic_snapshots(struct em_call *call)
{
    const char *name = em_call_var(call, "topic");
    if (check_name(call, name, "topics"))
        return call->status.code;
    struct ps_topic *topic = ps_topic_get(registry(call), name);
    if (!topic)
        return PS_ERR_TOPIC_NOT_FOUND(&call->status);
    ps_topic_put(topic);
    cJSON *items = cJSON_CreateArray();
    ps_each_snapshot(registry(call), NULL, name, add_snapshot_name, items);
    struct em_list_options opt = list_options("snapshots");
    return em_list_reply(call, items, &opt);
}

/* --- subscriptions --- */

enum em_code ps_create_subscription(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct ps_sub_config cfg;
    if (check_name(call, name, "subscriptions") ||
        ps_json_read_sub(call->body, &cfg, &call->status))
        return call->status.code;
    note_created(call, name);
    enum em_code code = cfg.topic && *cfg.topic
                            ? check_also(call, cfg.topic, "pubsub.topics.attachSubscription")
                            : EM_OK;
    struct ps_sub *sub = NULL;
    if (!code)
        code = ps_sub_create(registry(call), name, &cfg, em_clock_now(), &sub, &call->status);
    ps_sub_config_free(&cfg);
    if (code)
        return code;
    cJSON *reply = ps_json_sub(sub);
    ps_sub_put(sub);
    return em_call_reply(call, reply);
}

enum em_code ps_get_subscription(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    if (check_name(call, name, "subscriptions"))
        return call->status.code;
    struct ps_sub *sub = ps_sub_get(registry(call), name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(&call->status);
    cJSON *reply = ps_json_sub(sub);
    ps_sub_put(sub);
    return em_call_reply(call, reply);
}

static enum em_code apply_sub_update(struct em_call *call, const char *name,
                                     struct ps_sub_update *update)
{
    struct ps_sub *sub;
    enum em_code code =
        ps_sub_update(registry(call), name, update, em_clock_now(), &sub, &call->status);
    ps_sub_config_free(&update->cfg);
    if (code)
        return code;
    cJSON *reply = ps_json_sub(sub);
    ps_sub_put(sub);
    return em_call_reply(call, reply);
}

enum em_code ps_update_subscription(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct ps_sub_update update;
    if (check_name(call, name, "subscriptions") ||
        ps_json_read_sub_update(call->body, &update, &call->status))
        return call->status.code;
    return apply_sub_update(call, name, &update);
}

enum em_code ps_modify_push_config(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    struct ps_sub_update update = {.mask = PS_SUB_PUSH};
    if (check_name(call, name, "subscriptions") ||
        ps_json_read_push_config(cJSON_GetObjectItemCaseSensitive(call->body, "pushConfig"),
                                 &update.cfg.push, &call->status)) {
        ps_sub_config_free(&update.cfg);
        return call->status.code;
    }
    enum em_code code = apply_sub_update(call, name, &update);
    if (!code)
        em_call_reply(call, cJSON_CreateObject()); /* google.protobuf.Empty */
    return code;
}

enum em_code ps_delete_subscription(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    if (check_name(call, name, "subscriptions") ||
        ps_sub_delete(registry(call), name, &call->status))
        return call->status.code;
    struct em_status ignored = {0};
    em_iam_delete_under(call->svc->store, name, &ignored);
    return em_call_reply(call, cJSON_CreateObject());
}

static void add_sub_json(struct ps_sub *sub, void *arg)
{
    cJSON_AddItemToArray(arg, ps_json_sub(sub));
}

enum em_code ps_list_subscriptions(struct em_call *call)
{
    char prefix[160];
    if (check_project(call, "project", prefix, sizeof(prefix), "subscriptions"))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    ps_each_sub(registry(call), prefix, NULL, add_sub_json, items);
    struct em_list_options opt = list_options("subscriptions");
    return em_list_reply(call, items, &opt);
}

enum em_code ps_pull_call(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    int64_t max = 0;
    bool immediately = false;
    if (check_name(call, name, "subscriptions"))
        return call->status.code;
    em_json_int64(call->body, "maxMessages", &max);
    em_json_bool(call->body, "returnImmediately", &immediately);
    if (max <= 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "No max_messages specified: max_messages must be greater than 0.");
    struct ps_received *items;
    size_t count;
    if (ps_pull(registry(call), name,
                (int)(max > PS_MAX_PULL_MESSAGES ? PS_MAX_PULL_MESSAGES : max), immediately,
                em_clock_now(), &items, &count, &call->status))
        return call->status.code;
    cJSON *reply = ps_json_pull_reply(items, count);
    ps_received_free(items, count);
    return em_call_reply(call, reply);
}

/* The ackIds of the body as an array of strings (pointing into the body). */
static enum em_code ack_ids(struct em_call *call, const char ***out, size_t *count)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(call->body, "ackIds");
    int n = cJSON_GetArraySize(list);
    *out = calloc(n > 0 ? (size_t)n : 1, sizeof(**out));
    if (!*out)
        return EM_FAIL_OOM(&call->status);
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        (*out)[i++] = item->valuestring;
    }
    *count = i;
    return EM_OK;
}

enum em_code ps_acknowledge_call(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    const char **ids;
    size_t count;
    if (check_name(call, name, "subscriptions") || ack_ids(call, &ids, &count))
        return call->status.code;
    cJSON *refused = NULL;
    enum em_code code =
        ps_acknowledge(registry(call), name, ids, count, em_clock_now(), &refused, &call->status);
    free(ids);
    em_call_set_error_metadata(call, refused); /* exactly-once: the ack IDs refused */
    return code ? code : em_call_reply(call, cJSON_CreateObject());
}

enum em_code ps_modify_ack_deadline_call(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    const char **ids;
    size_t count;
    int64_t seconds = 0;
    if (check_name(call, name, "subscriptions") || ack_ids(call, &ids, &count))
        return call->status.code;
    em_json_int64(call->body, "ackDeadlineSeconds", &seconds);
    cJSON *refused = NULL;
    enum em_code code = ps_modify_ack_deadline(registry(call), name, ids, count, (int)seconds,
                                               em_clock_now(), &refused, &call->status);
    free(ids);
    em_call_set_error_metadata(call, refused); /* exactly-once: the ack IDs refused */
    return code ? code : em_call_reply(call, cJSON_CreateObject());
}

enum em_code ps_seek_call(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    const char *snapshot = em_json_string(call->body, "snapshot");
    const char *time_text = em_json_string(call->body, "time");
    int64_t time_ns = 0;
    if (check_name(call, name, "subscriptions"))
        return call->status.code;
    if ((snapshot && *snapshot) == (time_text != NULL))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "A seek needs exactly one of snapshot or time.");
    if (time_text)
        em_time_parse(time_text, &time_ns);
    else if (check_name(call, snapshot, "snapshots") ||
             check_also(call, snapshot, "pubsub.snapshots.seek"))
        return call->status.code;
    if (ps_seek(registry(call), name, time_text ? NULL : snapshot, time_ns, em_clock_now(),
                &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code ps_detach_subscription(struct em_call *call)
{
    const char *name = em_call_var(call, "subscription");
    if (check_name(call, name, "subscriptions"))
        return call->status.code;
    struct ps_sub *sub = ps_sub_get(registry(call), name);
    if (!sub)
        return PS_ERR_SUBSCRIPTION_NOT_FOUND(&call->status);
    char topic[PS_NAME_MAX];
    pthread_mutex_lock(&sub->lock);
    snprintf(topic, sizeof(topic), "%s", sub->cfg.topic);
    pthread_mutex_unlock(&sub->lock);
    ps_sub_put(sub);
    if (check_also(call, topic, "pubsub.topics.detachSubscription") ||
        ps_sub_detach(registry(call), name, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

/* --- snapshots --- */

enum em_code ps_create_snapshot(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *sub = em_json_string(call->body, "subscription");
    char *labels = NULL;
    if (check_name(call, name, "snapshots"))
        return call->status.code;
    if (!sub || !*sub)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "CreateSnapshotRequest.subscription is required.");
    if (check_name(call, sub, "subscriptions") ||
        check_also(call, sub, "pubsub.subscriptions.consume") ||
        em_labels_read(call->body, &labels, &call->status))
        return call->status.code;
    note_created(call, name);
    struct ps_snapshot *snap;
    enum em_code code =
        ps_snapshot_create(registry(call), name, sub, labels, em_clock_now(), &snap, &call->status);
    cJSON_free(labels);
    if (code)
        return code;
    cJSON *reply = ps_json_snapshot(snap);
    ps_snapshot_put(snap);
    return em_call_reply(call, reply);
}

enum em_code ps_get_snapshot(struct em_call *call)
{
    const char *name = em_call_var(call, "snapshot");
    if (check_name(call, name, "snapshots"))
        return call->status.code;
    struct ps_snapshot *snap = ps_snapshot_get(registry(call), name);
    if (!snap)
        return PS_ERR_SNAPSHOT_NOT_FOUND(&call->status);
    cJSON *reply = ps_json_snapshot(snap);
    ps_snapshot_put(snap);
    return em_call_reply(call, reply);
}

enum em_code ps_update_snapshot(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    char *labels;
    int64_t expire;
    if (check_name(call, name, "snapshots") ||
        ps_json_read_snapshot_update(call->body, &labels, &expire, &call->status))
        return call->status.code;
    struct ps_snapshot *snap;
    enum em_code code =
        ps_snapshot_update_labels(registry(call), name, labels, expire, &snap, &call->status);
    free(labels);
    if (code)
        return code;
    cJSON *reply = ps_json_snapshot(snap);
    ps_snapshot_put(snap);
    return em_call_reply(call, reply);
}

enum em_code ps_delete_snapshot(struct em_call *call)
{
    const char *name = em_call_var(call, "snapshot");
    if (check_name(call, name, "snapshots") ||
        ps_snapshot_delete(registry(call), name, &call->status))
        return call->status.code;
    struct em_status ignored = {0};
    em_iam_delete_under(call->svc->store, name, &ignored);
    return em_call_reply(call, cJSON_CreateObject());
}

static void add_snapshot_json(const struct ps_snapshot *snap, void *arg)
{
    cJSON_AddItemToArray(arg, ps_json_snapshot(snap));
}

enum em_code ps_list_snapshots(struct em_call *call)
{
    char prefix[160];
    if (check_project(call, "project", prefix, sizeof(prefix), "snapshots"))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    ps_each_snapshot(registry(call), prefix, NULL, add_snapshot_json, items);
    struct em_list_options opt = list_options("snapshots");
    return em_list_reply(call, items, &opt);
}

/* --- IAM --- */

enum em_code ps_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    struct ps_registry *reg = registry(call);
    if (strstr(name, "/topics/")) {
        struct ps_topic *t = check_name(call, name, "topics") ? NULL : ps_topic_get(reg, name);
        if (!t)
            return call->status.code ? call->status.code : PS_ERR_TOPIC_NOT_FOUND(&call->status);
        ps_topic_put(t);
    } else if (strstr(name, "/subscriptions/")) {
        struct ps_sub *s = check_name(call, name, "subscriptions") ? NULL : ps_sub_get(reg, name);
        if (!s)
            return call->status.code ? call->status.code
                                     : PS_ERR_SUBSCRIPTION_NOT_FOUND(&call->status);
        ps_sub_put(s);
    } else if (strstr(name, "/schemas/")) {
        return ps_schema_iam_check(call, name);
    } else {
        struct ps_snapshot *s =
            check_name(call, name, "snapshots") ? NULL : ps_snapshot_get(reg, name);
        if (!s)
            return call->status.code ? call->status.code : PS_ERR_SNAPSHOT_NOT_FOUND(&call->status);
        ps_snapshot_put(s);
    }
    return EM_OK;
}
