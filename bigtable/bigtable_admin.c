/*
 * bigtable_admin: instances, clusters and app profiles with Google's rules (see
 * bigtable_admin.h); tables are in bigtable_tables.c.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/projects.instances
 * (and .clusters, .appProfiles).
 */
#include "bigtable_admin_parts.h"

#include "bigtable_cascade.h"
#include "bigtable_errors.h"
#include "bigtable_store.h"
#include "bigtable_views.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum em_code bt_admin_open(struct em_store *store, struct bt_replicas *replicas,
                           const char *data_dir, struct bt_admin **out, struct em_status *st)
{
    *out = NULL;
    /* creations read the organization policies (and the key's project's parent) */
    if (bt_store_migrate(store, st) || em_iam_open(store, st) || em_orgpolicy_open(store, st))
        return st->code;
    struct bt_admin *admin = calloc(1, sizeof(*admin));
    if (!admin)
        return EM_FAIL_OOM(st);
    admin->store = store;
    admin->replicas = replicas;
    pthread_mutex_init(&admin->lock, NULL);
    pthread_mutex_init(&admin->cascade_lock, NULL);
    admin->grace_ns = 3600 * EM_NS_PER_SEC;
    char key_path[PATH_MAX + 32];
    snprintf(key_path, sizeof(key_path), "%s/default-encryption.key", data_dir);
    if (!(admin->routes = bt_route_cache_new()))
        EM_FAIL_OOM(st);
    else if (!em_key_file(key_path, admin->seal_key, st))
        bt_views_seal_stored(admin, st);
    if (st->code) {
        bt_admin_close(admin);
        return st->code;
    }
    *out = admin;
    return EM_OK;
}

void bt_admin_close(struct bt_admin *admin)
{
    if (!admin)
        return;
    pthread_mutex_destroy(&admin->lock);
    pthread_mutex_destroy(&admin->cascade_lock);
    bt_route_cache_free(admin->routes);
    em_wipe(admin->seal_key, sizeof(admin->seal_key));
    free(admin);
}

void bt_admin_set_kms_grace(struct bt_admin *admin, int64_t grace_ns)
{
    admin->grace_ns = grace_ns;
}

/* --- shared helpers (bigtable_admin_parts.h) --- */

enum em_code bt_load(struct bt_admin *admin, const char *name, const char *kind, const char *what,
                     cJSON **out, struct em_status *st)
{
    char *text = NULL;
    *out = NULL;
    if (bt_store_get(admin->store, name, kind, &text, st))
        return st->code;
    if (!text)
        return BT_ERR_NOT_FOUND(st, what, name);
    *out = cJSON_Parse(text);
    free(text);
    return *out ? EM_OK : EM_FAIL(st, EM_INTERNAL, "A stored Bigtable resource is not JSON.");
}

enum em_code bt_save(struct bt_admin *admin, const cJSON *resource, const char *kind,
                     const char *instance, bool replace, struct em_status *st)
{
    char *text = cJSON_PrintUnformatted(resource);
    if (!text)
        return EM_FAIL_OOM(st);
    enum em_code rc = bt_store_put(admin->store, em_json_string(resource, "name"), kind, instance,
                                   text, replace, st);
    free(text);
    return rc;
}

bool bt_instance_of(const char *name, char out[BT_NAME_MAX])
{
    return name && em_name_prefix(name, "instances", out, BT_NAME_MAX);
}

enum em_code bt_project_of(const char *name, char project[64], struct em_status *st)
{
    if (!name || !em_name_id(name, "projects", project, 64))
        return BT_ERR_INVALID_NAME(st, "resource", name ? name : "");
    return em_project_check(project, st);
}

const char *bt_last_id(const char *name)
{
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

/* A segment of a name: non-empty, no '/', at most 128 characters. */
static bool segment_ok(const char *s, size_t len)
{
    return len > 0 && len <= 128 && !memchr(s, '/', len);
}

enum em_code bt_check_name(const char *name, const char *collection, const char *what,
                           struct em_status *st)
{
    char project[64];
    if (bt_project_of(name, project, st))
        return st->code;
    const char *p = name + strlen("projects/") + strlen(project);
    size_t n = strlen("/instances/");
    bool ok = strncmp(p, "/instances/", n) == 0;
    if (ok) {
        p += n;
        const char *slash = strchr(p, '/');
        ok = segment_ok(p, slash ? (size_t)(slash - p) : strlen(p));
        if (ok && collection) {
            char expect[64];
            snprintf(expect, sizeof(expect), "/%s/", collection);
            ok = slash && strncmp(slash, expect, strlen(expect)) == 0 &&
                 segment_ok(slash + strlen(expect), strlen(slash + strlen(expect)));
        } else if (ok) {
            ok = !slash;
        }
    }
    return ok ? EM_OK : BT_ERR_INVALID_NAME(st, what, name);
}

void bt_strip_private(cJSON *resource)
{
    cJSON *item = resource ? resource->child : NULL;
    while (item) {
        cJSON *next = item->next;
        if (item->string && item->string[0] == '_')
            cJSON_Delete(cJSON_DetachItemViaPointer(resource, item));
        item = next;
    }
}

const char *bt_cluster_key(const cJSON *cluster)
{
    return em_json_string(cJSON_GetObjectItem(cluster, "encryptionConfig"), "kmsKeyName");
}

/* Commits when st says success, else rolls back; returns st->code. */
static enum em_code end_transaction(struct bt_admin *admin, struct em_status *st)
{
    if (st->code) {
        em_store_rollback(admin->store);
        return st->code;
    }
    return em_store_commit(admin->store, st);
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

/* Whether field (as the mask names it, snake or camel case) is camel. */
static bool field_is(const char *field, const char *camel, const char *snake)
{
    return strcmp(field, camel) == 0 || strcmp(field, snake) == 0;
}

/* --- ids --- */

static const struct em_id_rule bt_instance_id_rule = {
    "instance ID",
    6,
    33,
    "-",
    true,
    true,
    "an instance ID is 6 to 33 lowercase letters, digits or hyphens, starts with a letter and "
    "does not end with a hyphen."};

static const struct em_id_rule bt_cluster_id_rule = {
    "cluster ID",
    6,
    30,
    "-",
    true,
    true,
    "a cluster ID is 6 to 30 lowercase letters, digits or hyphens, starts with a letter and "
    "does not end with a hyphen."};

static const struct em_id_rule bt_app_profile_id_rule = {
    "app profile ID",
    1,
    50,
    "_-.",
    false,
    false,
    "an app profile ID is 1 to 50 letters, digits, underscores, hyphens or periods."};

static enum em_code check_id(const char *id, const struct em_id_rule *rule, struct em_status *st)
{
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The %s must be specified.", rule->what);
    if (em_id_check(id, rule, st))
        return st->code;
    if (rule->lowercase_only && id[strlen(id) - 1] == '-')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.100s\": %s", rule->what, id,
                       rule->description);
    return EM_OK;
}

/* --- clusters: checks --- */

/* The zone of a location "projects/p/locations/us-east1-b" and its region "us-east1". */
static enum em_code parse_zone(const char *location, const char *project, char zone[64],
                               char region[64], struct em_status *st)
{
    char prefix[96];
    snprintf(prefix, sizeof(prefix), "projects/%s/locations/", project);
    if (!location || !*location)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A cluster's location must be specified.");
    size_t n = strlen(prefix);
    const char *id = strncmp(location, prefix, n) == 0 ? location + n : NULL;
    const char *dash = id ? strrchr(id, '-') : NULL;
    bool ok = dash && strlen(id) < 64 && dash[1] >= 'a' && dash[1] <= 'z' && dash[2] == '\0';
    if (ok) {
        snprintf(zone, 64, "%s", id);
        snprintf(region, 64, "%.*s", (int)(dash - id), id);
        const struct em_location *loc = em_location_find(region);
        ok = loc && loc->kind == EM_LOC_REGION;
    }
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid location %.300s: a cluster is in a zone, "
                       "projects/%s/locations/<region>-<letter> (for example us-east1-b).",
                       location, project);
    return EM_OK;
}

/* The key must be a CryptoKey name in the cluster's region. */
static enum em_code check_key(const char *key, const char *zone, const char *region,
                              struct em_status *st)
{
    struct em_crypto_key_name parsed;
    if (em_crypto_key_name_parse(key, "encryption_config.kms_key_name", &parsed, st))
        return st->code;
    if (strcmp(parsed.location, region) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The KMS key %.300s is in location %s, but the cluster in zone %s needs "
                       "a key in its region %s.",
                       key, parsed.location, zone, region);
    return EM_OK;
}

/* Reads clusterConfig.clusterAutoscalingConfig: min, max nodes and the CPU target. */
static enum em_code check_autoscaling(const cJSON *config, int64_t *min_nodes, struct em_status *st)
{
    const cJSON *limits = cJSON_GetObjectItem(config, "autoscalingLimits");
    const cJSON *targets = cJSON_GetObjectItem(config, "autoscalingTargets");
    int64_t min = 0, max = 0, cpu = 0;
    em_json_int64(limits, "minServeNodes", &min);
    em_json_int64(limits, "maxServeNodes", &max);
    em_json_int64(targets, "cpuUtilizationPercent", &cpu);
    if (min < 1 || max < min || max > 1000)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid autoscaling limits: min_serve_nodes (%lld) must be at least 1 and "
                       "at most max_serve_nodes (%lld).",
                       (long long)min, (long long)max);
    if (cpu < 10 || cpu > 80)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid autoscaling target: cpu_utilization_percent (%lld) must be "
                       "between 10 and 80.",
                       (long long)cpu);
    *min_nodes = min;
    return EM_OK;
}

/* Sets serveNodes and clusterConfig from request (a Cluster). */
static enum em_code set_capacity(cJSON *cluster, const cJSON *request, struct em_status *st)
{
    const cJSON *autoscaling = cJSON_GetObjectItem(cJSON_GetObjectItem(request, "clusterConfig"),
                                                   "clusterAutoscalingConfig");
    int64_t nodes = 0;
    if (autoscaling) {
        if (check_autoscaling(autoscaling, &nodes, st))
            return st->code;
    } else {
        em_json_int64(request, "serveNodes", &nodes);
        if (nodes < 1 || nodes > 1000)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid serve_nodes %lld: a cluster has 1 to 1000 nodes, or "
                           "autoscaling.",
                           (long long)nodes);
    }
    cJSON_DeleteItemFromObject(cluster, "serveNodes");
    cJSON_DeleteItemFromObject(cluster, "clusterConfig");
    cJSON_AddNumberToObject(cluster, "serveNodes", (double)nodes);
    if (autoscaling)
        cJSON_AddItemToObject(cJSON_AddObjectToObject(cluster, "clusterConfig"),
                              "clusterAutoscalingConfig", cJSON_Duplicate(autoscaling, true));
    return EM_OK;
}

/* The service name the CMEK organization policies use. */
#define BT_ORGPOLICY_SERVICE "bigtable.googleapis.com"

/* The Cluster a request describes, checked (its key against the organization policies,
 * for `what`: "an instance", "a cluster"); *zone its zone. */
static enum em_code new_cluster(struct em_store *store, const char *instance, const char *id,
                                const cJSON *request, const char *what, char zone[64], cJSON **out,
                                struct em_status *st)
{
    char project[64], region[64], name[BT_NAME_MAX];
    *out = NULL;
    if (check_id(id, &bt_cluster_id_rule, st) || bt_project_of(instance, project, st) ||
        parse_zone(em_json_string(request, "location"), project, zone, region, st))
        return st->code;
    const char *key = bt_cluster_key(request);
    if ((key && check_key(key, zone, region, st)) ||
        em_orgpolicy_check_cmek(store, project, BT_ORGPOLICY_SERVICE, key, what, st) ||
        em_orgpolicy_check_location(store, project, zone, what, st))
        return st->code;
    snprintf(name, sizeof(name), "%.380s/clusters/%.100s", instance, id);
    cJSON *cluster = cJSON_CreateObject();
    cJSON_AddStringToObject(cluster, "name", name);
    cJSON_AddStringToObject(cluster, "location", em_json_string(request, "location"));
    cJSON_AddStringToObject(cluster, "state", "CREATING");
    if (set_capacity(cluster, request, st)) {
        cJSON_Delete(cluster);
        return st->code;
    }
    const char *factor = em_json_string(request, "nodeScalingFactor");
    bool factor_set = factor && strcmp(factor, "NODE_SCALING_FACTOR_UNSPECIFIED") != 0;
    cJSON_AddStringToObject(cluster, "nodeScalingFactor",
                            factor_set ? factor : "NODE_SCALING_FACTOR_1X");
    const char *storage = em_json_string(request, "defaultStorageType");
    bool storage_set = storage && strcmp(storage, "STORAGE_TYPE_UNSPECIFIED") != 0;
    cJSON_AddStringToObject(cluster, "defaultStorageType", storage_set ? storage : "SSD");
    if (key)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(cluster, "encryptionConfig"), "kmsKeyName",
                                key);
    *out = cluster;
    return EM_OK;
}

/* The cluster's replica of every table of the instance: protected under the cluster's key
 * (under the lock). On failure, the replicas made here are shredded again. */
static enum em_code protect_cluster_replicas(struct bt_admin *admin, const char *instance,
                                             const cJSON *cluster, struct em_status *st)
{
    if (!admin->replicas)
        return EM_OK;
    char project[64];
    cJSON *tables = NULL;
    if (bt_project_of(instance, project, st) ||
        bt_store_list(admin->store, BT_KIND_TABLE, instance, false, &tables, st))
        return st->code;
    cJSON *table;
    const char *id = bt_last_id(em_json_string(cluster, "name"));
    cJSON_ArrayForEach(table, tables)
    {
        char replica[BT_NAME_MAX];
        bt_replica_name(em_json_string(table, "name"), id, replica);
        if (bt_replicas_protect(admin->replicas, replica, project, bt_cluster_key(cluster), st))
            break;
        bt_stamp_protection(admin, table, id, replica);
        if (bt_save(admin, table, BT_KIND_TABLE, instance, true, st))
            break;
    }
    if (st->code) {
        struct em_status ignored = {0};
        for (const cJSON *t = tables->child; t != table; t = t->next) {
            char replica[BT_NAME_MAX];
            bt_replica_name(em_json_string(t, "name"), id, replica);
            bt_replicas_shred(admin->replicas, replica, &ignored);
        }
    }
    cJSON_Delete(tables);
    return st->code;
}

/* Shreds the cluster's replica of every table of the instance, the deleted ones still
 * recoverable included (bigtable_undelete.c: they go with their cluster). */
static void shred_cluster_replicas(struct bt_admin *admin, const char *instance,
                                   const char *cluster_id)
{
    const char *kinds[] = {BT_KIND_TABLE, BT_KIND_DELETED};
    for (size_t k = 0; admin->replicas && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        cJSON *tables = NULL;
        struct em_status st = {0};
        if (bt_store_list(admin->store, kinds[k], instance, false, &tables, &st))
            continue;
        const cJSON *table;
        cJSON_ArrayForEach(table, tables)
        {
            char replica[BT_NAME_MAX];
            bt_replica_name(em_json_string(table, "name"), cluster_id, replica);
            bt_replicas_shred(admin->replicas, replica, &st);
        }
        cJSON_Delete(tables);
    }
}

/* How the instance's cascade marks a cluster (bigtable_cascade.h). */
static enum bt_cascade_mark cascade_mark(struct bt_admin *admin, const char *cluster)
{
    char instance[BT_NAME_MAX];
    if (!bt_instance_of(cluster, instance))
        return BT_CASCADE_NONE;
    cJSON *record = bt_cascade_load(admin, instance);
    enum bt_cascade_mark m = bt_cascade_mark_of(record, bt_last_id(cluster));
    cJSON_Delete(record);
    return m;
}

/* DISABLED when the cascade disabled the cluster or deleted its data (bigtable_cascade.h),
 * or a replica of it is INACCESSIBLE (its key refused: the cascade disables it at the end
 * of the check round that found it), as Google reports a cluster whose key, or a key of
 * its instance, is disabled or destroyed. */
static void derive_cluster_state(struct bt_admin *admin, cJSON *cluster)
{
    const char *state = em_json_string(cluster, "state");
    if (!admin->replicas || !state || strcmp(state, "READY") != 0)
        return;
    const char *name = em_json_string(cluster, "name");
    if (cascade_mark(admin, name) != BT_CASCADE_NONE) {
        set_string(cluster, "state", "DISABLED");
        return;
    }
    char instance[BT_NAME_MAX];
    cJSON *tables = NULL;
    struct em_status st = {0};
    if (!bt_instance_of(name, instance) ||
        bt_store_list(admin->store, BT_KIND_TABLE, instance, false, &tables, &st))
        return;
    const cJSON *table;
    cJSON_ArrayForEach(table, tables)
    {
        char replica[BT_NAME_MAX];
        bt_replica_name(em_json_string(table, "name"), bt_last_id(name), replica);
        if (bt_replicas_gate(admin->replicas, replica, &st) == EM_FAILED_PRECONDITION) {
            set_string(cluster, "state", "DISABLED");
            break;
        }
        st = (struct em_status){0};
    }
    cJSON_Delete(tables);
}

enum em_code bt_check_no_disabled_cluster(struct bt_admin *admin, const char *instance,
                                          const char *action, struct em_status *st)
{
    cJSON *clusters = NULL;
    if (!admin->replicas ||
        bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st))
        return st->code;
    cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        derive_cluster_state(admin, c);
        /* a cluster whose data is gone no longer holds its instance down */
        if (strcmp(em_json_string(c, "state"), "DISABLED") == 0 &&
            cascade_mark(admin, em_json_string(c, "name")) != BT_CASCADE_DATA_DELETED) {
            BT_ERR_CLUSTER_DISABLED(st, action, em_json_string(c, "name"));
            break;
        }
    }
    cJSON_Delete(clusters);
    return st->code;
}

/* --- instances --- */

static enum em_code check_display_name(const char *display_name, struct em_status *st)
{
    size_t len = display_name ? strlen(display_name) : 0;
    if (len < 4 || len > 30)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid display name \"%.100s\": it must be 4 to 30 characters long.",
                       display_name ? display_name : "");
    return EM_OK;
}

static enum em_code set_labels(cJSON *target, const cJSON *request, struct em_status *st)
{
    const cJSON *labels = cJSON_GetObjectItem(request, "labels");
    cJSON_DeleteItemFromObject(target, "labels");
    if (!labels)
        return EM_OK;
    if (em_labels_check(labels, st))
        return st->code;
    if (cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(target, "labels", cJSON_Duplicate(labels, true));
    return EM_OK;
}

static enum em_code set_type(cJSON *target, const cJSON *request, struct em_status *st)
{
    const char *type = em_json_string(request, "type");
    if (!type || strcmp(type, "TYPE_UNSPECIFIED") == 0)
        type = "PRODUCTION";
    if (strcmp(type, "PRODUCTION") != 0 && strcmp(type, "DEVELOPMENT") != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid instance type %.64s.", type);
    set_string(target, "type", type);
    return EM_OK;
}

static enum em_code new_instance(const char *name, const cJSON *request, int64_t now, cJSON **out,
                                 struct em_status *st)
{
    *out = NULL;
    const char *display_name = em_json_string(request, "displayName");
    if (check_display_name(display_name, st))
        return st->code;
    cJSON *inst = cJSON_CreateObject();
    cJSON_AddStringToObject(inst, "name", name);
    cJSON_AddStringToObject(inst, "displayName", display_name);
    cJSON_AddStringToObject(inst, "state", "CREATING");
    if (set_type(inst, request, st) || set_labels(inst, request, st)) {
        cJSON_Delete(inst);
        return st->code;
    }
    em_json_add_time(inst, "createTime", now);
    *out = inst;
    return EM_OK;
}

/* The instance's default app profile: multi-cluster routing over every cluster, standard
 * isolation at high priority. */
static cJSON *default_app_profile(const char *instance)
{
    char name[BT_NAME_MAX];
    snprintf(name, sizeof(name), "%s/appProfiles/default", instance);
    cJSON *profile = cJSON_CreateObject();
    cJSON_AddStringToObject(profile, "name", name);
    cJSON_AddStringToObject(profile, "etag", "1");
    cJSON_AddStringToObject(profile, "description", "Default application profile");
    cJSON_AddObjectToObject(profile, "multiClusterRoutingUseAny");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(profile, "standardIsolation"), "priority",
                            "PRIORITY_HIGH");
    return profile;
}

/* The instance and its clusters, all new; the clusters checked. */
static enum em_code new_instance_and_clusters(struct em_store *store, const char *name,
                                              const cJSON *request, int64_t now, cJSON **inst,
                                              cJSON **clusters, char zone[64], struct em_status *st)
{
    const cJSON *requested = cJSON_GetObjectItem(request, "clusters");
    *clusters = NULL;
    if (cJSON_GetArraySize(requested) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "An instance must have at least one cluster.");
    if (cJSON_GetArraySize(requested) > BT_MAX_CLUSTERS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "An instance has at most %d clusters.",
                       BT_MAX_CLUSTERS);
    if (new_instance(name, cJSON_GetObjectItem(request, "instance"), now, inst, st))
        return st->code;
    *clusters = cJSON_CreateArray();
    const cJSON *c;
    cJSON_ArrayForEach(c, requested)
    {
        cJSON *cluster = NULL;
        char cluster_zone[64];
        if (new_cluster(store, name, c->string, c, "an instance", cluster_zone, &cluster, st))
            break;
        if (!(*clusters)->child)
            snprintf(zone, 64, "%s", cluster_zone);
        cJSON_AddItemToArray(*clusters, cluster);
    }
    if (st->code) {
        cJSON_Delete(*inst);
        cJSON_Delete(*clusters);
        *inst = *clusters = NULL;
    }
    return st->code;
}

/* Under the lock: the instance is new; stores it, its clusters and default profile. */
static enum em_code insert_instance(struct bt_admin *admin, const cJSON *inst,
                                    const cJSON *clusters, struct em_status *st)
{
    const char *name = em_json_string(inst, "name");
    char *existing = NULL;
    if (bt_store_get(admin->store, name, BT_KIND_INSTANCE, &existing, st))
        return st->code;
    if (existing) {
        free(existing);
        return BT_ERR_EXISTS(st, "Instance", name);
    }
    if (em_store_begin(admin->store, st))
        return st->code;
    const cJSON *cluster;
    cJSON *profile = default_app_profile(name);
    if (!bt_save(admin, inst, BT_KIND_INSTANCE, name, false, st) &&
        !bt_save(admin, profile, BT_KIND_APP_PROFILE, name, false, st)) {
        cJSON_ArrayForEach(cluster, clusters)
        {
            if (bt_save(admin, cluster, BT_KIND_CLUSTER, name, false, st))
                break;
        }
    }
    cJSON_Delete(profile);
    return end_transaction(admin, st);
}

enum em_code bt_instance_create(struct bt_admin *admin, const char *parent, const cJSON *request,
                                int64_t now, cJSON **out, char zone[64], struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], name[BT_NAME_MAX];
    *out = NULL;
    const char *id = em_json_string(request, "instanceId");
    if (bt_project_of(parent, project, st) || check_id(id, &bt_instance_id_rule, st))
        return st->code;
    snprintf(name, sizeof(name), "projects/%s/instances/%s", project, id);
    cJSON *inst = NULL, *clusters = NULL;
    if (new_instance_and_clusters(admin->store, name, request, now, &inst, &clusters, zone, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    insert_instance(admin, inst, clusters, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(clusters);
    if (st->code) {
        cJSON_Delete(inst);
        return st->code;
    }
    *out = inst;
    return EM_OK;
}

/* Sets state READY on a stored resource (under the lock). */
static enum em_code make_ready(struct bt_admin *admin, const char *name, const char *kind,
                               const char *what, cJSON **out, struct em_status *st)
{
    char instance[BT_NAME_MAX];
    if (bt_load(admin, name, kind, what, out, st))
        return st->code;
    const char *state = em_json_string(*out, "state");
    if (state && strcmp(state, "CREATING") == 0 && bt_instance_of(name, instance)) {
        set_string(*out, "state", "READY");
        bt_save(admin, *out, kind, instance, true, st);
    }
    return st->code;
}

enum em_code bt_instance_ready(struct bt_admin *admin, const char *name, cJSON **out,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *clusters = NULL;
    *out = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_list(admin->store, BT_KIND_CLUSTER, name, false, &clusters, st)) {
        const cJSON *c;
        cJSON_ArrayForEach(c, clusters)
        {
            cJSON *ready = NULL;
            enum em_code rc = make_ready(admin, em_json_string(c, "name"), BT_KIND_CLUSTER,
                                         "Cluster", &ready, st);
            cJSON_Delete(ready);
            if (rc)
                break;
        }
    }
    if (!st->code)
        make_ready(admin, name, BT_KIND_INSTANCE, "Instance", out, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(clusters);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

enum em_code bt_instance_get(struct bt_admin *admin, const char *name, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (bt_check_name(name, NULL, "instance", st))
        return st->code;
    return bt_load(admin, name, BT_KIND_INSTANCE, "Instance", out, st);
}

enum em_code bt_instance_list(struct bt_admin *admin, const char *parent, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], prefix[BT_NAME_MAX];
    *out = NULL;
    if (bt_project_of(parent, project, st))
        return st->code;
    snprintf(prefix, sizeof(prefix), "projects/%s/instances/", project);
    return bt_store_list(admin->store, BT_KIND_INSTANCE, prefix, true, out, st);
}

/* Applies one field of an instance update. */
static enum em_code update_instance_field(cJSON *inst, const cJSON *request, const char *field,
                                          struct em_status *st)
{
    if (field_is(field, "displayName", "display_name")) {
        const char *display_name = em_json_string(request, "displayName");
        if (check_display_name(display_name, st))
            return st->code;
        set_string(inst, "displayName", display_name);
        return EM_OK;
    }
    if (strcmp(field, "labels") == 0)
        return set_labels(inst, request, st);
    if (strcmp(field, "type") == 0)
        return set_type(inst, request, st);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid update_mask: the field %.100s of an instance cannot be updated.",
                   field);
}

enum em_code bt_instance_update(struct bt_admin *admin, const char *name, const cJSON *instance,
                                const char *mask, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (bt_check_name(name, NULL, "instance", st))
        return st->code;
    if (mask && !*mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must not be empty.");
    char fields[256];
    snprintf(fields, sizeof(fields), "%s", mask ? mask : "displayName,labels,type");
    cJSON *inst = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_INSTANCE, "Instance", &inst, st)) {
        char *save = NULL;
        for (char *f = strtok_r(fields, ",", &save); f && !st->code; f = strtok_r(NULL, ",", &save))
            update_instance_field(inst, instance, f, st);
        if (!st->code)
            bt_save(admin, inst, BT_KIND_INSTANCE, name, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (st->code) {
        cJSON_Delete(inst);
        return st->code;
    }
    *out = inst;
    return EM_OK;
}

/* Shreds every replica of every table of the instance. */
static void shred_instance_replicas(struct bt_admin *admin, const char *instance)
{
    cJSON *clusters = NULL;
    struct em_status st = {0};
    if (bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, &st))
        return;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        shred_cluster_replicas(admin, instance, bt_last_id(em_json_string(c, "name")));
    }
    cJSON_Delete(clusters);
}

enum em_code bt_instance_delete(struct bt_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL;
    if (bt_check_name(name, NULL, "instance", st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_INSTANCE, "Instance", &inst, st) &&
        !bt_views_check_unprotected(admin, name, st)) {
        shred_instance_replicas(admin, name);
        bt_backups_remove_under(admin, name);
        if (!bt_store_delete_instance(admin->store, name, st))
            em_iam_delete_under(admin->store, name, st); /* its and its tables' policies */
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(inst);
    return st->code;
}

enum em_code bt_instance_zone(struct bt_admin *admin, const char *name, char zone[64],
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *clusters = NULL;
    if (bt_store_list(admin->store, BT_KIND_CLUSTER, name, false, &clusters, st))
        return st->code;
    const char *location = em_json_string(cJSON_GetArrayItem(clusters, 0), "location");
    snprintf(zone, 64, "%s", location ? bt_last_id(location) : "-");
    cJSON_Delete(clusters);
    return EM_OK;
}

/* --- clusters --- */

enum em_code bt_cluster_create(struct bt_admin *admin, const char *instance, const char *id,
                               const cJSON *cluster, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char zone[64];
    cJSON *created = NULL, *inst = NULL, *clusters = NULL;
    *out = NULL;
    if (bt_check_name(instance, NULL, "instance", st) ||
        new_cluster(admin->store, instance, id, cluster, "a cluster", zone, &created, st))
        return st->code;
    const char *name = em_json_string(created, "name");
    char *existing = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st) &&
        !bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st) &&
        !bt_store_get(admin->store, name, BT_KIND_CLUSTER, &existing, st)) {
        if (existing)
            BT_ERR_EXISTS(st, "Cluster", name);
        else if (cJSON_GetArraySize(clusters) >= BT_MAX_CLUSTERS)
            EM_FAIL(st, EM_FAILED_PRECONDITION, "An instance has at most %d clusters.",
                    BT_MAX_CLUSTERS);
        else if (!bt_check_no_disabled_cluster(admin, instance, "create a cluster", st) &&
                 !protect_cluster_replicas(admin, instance, created, st) &&
                 bt_save(admin, created, BT_KIND_CLUSTER, instance, false, st))
            shred_cluster_replicas(admin, instance, id);
    }
    pthread_mutex_unlock(&admin->lock);
    free(existing);
    cJSON_Delete(inst);
    cJSON_Delete(clusters);
    if (st->code) {
        cJSON_Delete(created);
        return st->code;
    }
    *out = created;
    return EM_OK;
}

enum em_code bt_cluster_ready(struct bt_admin *admin, const char *name, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    pthread_mutex_lock(&admin->lock);
    make_ready(admin, name, BT_KIND_CLUSTER, "Cluster", out, st);
    pthread_mutex_unlock(&admin->lock);
    return st->code;
}

enum em_code bt_cluster_get(struct bt_admin *admin, const char *name, cJSON **out,
                            struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (bt_check_name(name, "clusters", "cluster", st) ||
        bt_load(admin, name, BT_KIND_CLUSTER, "Cluster", out, st))
        return st->code;
    derive_cluster_state(admin, *out);
    return EM_OK;
}

enum em_code bt_cluster_list(struct bt_admin *admin, const char *instance, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (bt_check_name(instance, NULL, "instance", st))
        return st->code;
    if (strcmp(bt_last_id(instance), "-") == 0) {
        char prefix[BT_NAME_MAX];
        snprintf(prefix, sizeof(prefix), "%.*s", (int)(strlen(instance) - 1), instance);
        if (bt_store_list(admin->store, BT_KIND_CLUSTER, prefix, true, out, st))
            return st->code;
    } else {
        cJSON *inst = NULL;
        if (bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st) ||
            bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, out, st)) {
            cJSON_Delete(inst);
            return st->code;
        }
        cJSON_Delete(inst);
    }
    for (cJSON *c = (*out)->child; c; c = c->next)
        derive_cluster_state(admin, c);
    return EM_OK;
}

/* Applies one field of a cluster update. */
static enum em_code update_cluster_field(cJSON *cluster, const cJSON *request, const char *field,
                                         struct em_status *st)
{
    if (field_is(field, "serveNodes", "serve_nodes")) {
        int64_t nodes = 0;
        em_json_int64(request, "serveNodes", &nodes);
        if (nodes < 1 || nodes > 1000)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid serve_nodes %lld: a cluster has 1 to 1000 nodes.",
                           (long long)nodes);
        cJSON_DeleteItemFromObject(cluster, "clusterConfig");
        cJSON_DeleteItemFromObject(cluster, "serveNodes");
        cJSON_AddNumberToObject(cluster, "serveNodes", (double)nodes);
        return EM_OK;
    }
    if (strncmp(field, "cluster_config", 14) == 0 || strncmp(field, "clusterConfig", 13) == 0)
        return set_capacity(cluster, request, st);
    if (strncmp(field, "encryption_config", 17) == 0 ||
        strncmp(field, "encryptionConfig", 16) == 0 || strcmp(field, "location") == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The field %.100s of a cluster is immutable: it cannot be updated.", field);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid update_mask: the field %.100s of a cluster cannot be updated.", field);
}

enum em_code bt_cluster_update(struct bt_admin *admin, const char *name, const cJSON *cluster,
                               const char *mask, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX], fields[512];
    cJSON *stored = NULL;
    *out = NULL;
    if (bt_check_name(name, "clusters", "cluster", st))
        return st->code;
    if (mask && !*mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must not be empty.");
    bt_instance_of(name, instance);
    snprintf(fields, sizeof(fields), "%s", mask ? mask : "serve_nodes");
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_CLUSTER, "Cluster", &stored, st)) {
        /* a PUT's body holds the whole cluster: only a changed key is refused */
        const char *old_key = bt_cluster_key(stored), *new_key = bt_cluster_key(cluster);
        if (!mask && new_key && (!old_key || strcmp(old_key, new_key) != 0))
            update_cluster_field(stored, cluster, "encryption_config", st);
        char *save = NULL;
        bool autoscaling_done = false;
        for (char *f = strtok_r(fields, ",", &save); f && !st->code;
             f = strtok_r(NULL, ",", &save)) {
            bool autoscaling =
                strncmp(f, "cluster_config", 14) == 0 || strncmp(f, "clusterConfig", 13) == 0;
            if (!(autoscaling && autoscaling_done))
                update_cluster_field(stored, cluster, f, st);
            autoscaling_done |= autoscaling;
        }
        if (!st->code)
            bt_save(admin, stored, BT_KIND_CLUSTER, instance, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (st->code) {
        cJSON_Delete(stored);
        return st->code;
    }
    *out = stored;
    return EM_OK;
}

enum em_code bt_cluster_delete(struct bt_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX];
    cJSON *cluster = NULL, *clusters = NULL;
    if (bt_check_name(name, "clusters", "cluster", st))
        return st->code;
    bt_instance_of(name, instance);
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_CLUSTER, "Cluster", &cluster, st) &&
        !bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st)) {
        if (cJSON_GetArraySize(clusters) <= 1)
            EM_FAIL(st, EM_FAILED_PRECONDITION,
                    "The cluster %.300s is the last cluster of its instance: delete the "
                    "instance instead.",
                    name);
        else if (!bt_check_no_disabled_cluster(admin, instance, "delete a cluster", st) &&
                 !bt_store_delete(admin->store, name, st)) {
            shred_cluster_replicas(admin, instance, bt_last_id(name));
            bt_backups_remove_under(admin, name); /* a cluster's backups go with it */
            bt_cascade_forget_cluster(admin, name);
        }
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(cluster);
    cJSON_Delete(clusters);
    return st->code;
}

/* --- app profiles --- */

/* The routing policy of a profile: exactly one of multi-cluster or single-cluster, the
 * clusters it names existing in the instance (under the lock). */
static enum em_code check_routing(struct bt_admin *admin, const char *instance,
                                  const cJSON *profile, struct em_status *st)
{
    const cJSON *multi = cJSON_GetObjectItem(profile, "multiClusterRoutingUseAny");
    const cJSON *single = cJSON_GetObjectItem(profile, "singleClusterRouting");
    if (!!multi == !!single)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "An app profile needs exactly one routing policy: "
                       "multi_cluster_routing_use_any or single_cluster_routing.");
    cJSON *ids = cJSON_CreateArray();
    if (single)
        cJSON_AddItemToArray(ids, cJSON_CreateString(em_json_string(single, "clusterId")
                                                         ? em_json_string(single, "clusterId")
                                                         : ""));
    const cJSON *id;
    cJSON_ArrayForEach(id, cJSON_GetObjectItem(multi, "clusterIds"))
    {
        cJSON_AddItemToArray(ids, cJSON_Duplicate(id, true));
    }
    cJSON_ArrayForEach(id, ids)
    {
        char name[BT_NAME_MAX];
        char *existing = NULL;
        const char *cid = cJSON_IsString(id) ? id->valuestring : "";
        snprintf(name, sizeof(name), "%.380s/clusters/%.100s", instance, cid);
        if (bt_store_get(admin->store, name, BT_KIND_CLUSTER, &existing, st))
            break;
        free(existing);
        if (!existing) {
            EM_FAIL(st, EM_INVALID_ARGUMENT,
                    "The app profile routes to the cluster \"%.100s\", which is not a cluster "
                    "of the instance %.300s.",
                    cid, instance);
            break;
        }
    }
    cJSON_Delete(ids);
    return st->code;
}

/* AppProfile's two oneofs: a profile routes one way, and is isolated one way (the
 * deprecated priority is standard_isolation.priority, which Google sets instead). Setting a
 * member, whole or one of its fields, clears the others of its oneof, as proto3 does. */
static const char *const routing_members[] = {"multiClusterRoutingUseAny", "singleClusterRouting",
                                              NULL};
static const char *const isolation_members[] = {"standardIsolation", "dataBoostIsolationReadOnly",
                                                "priority", NULL};

static void clear_oneof(cJSON *profile, const char *const *members, const char *keep)
{
    for (const char *const *m = members; *m; m++)
        if (strcmp(*m, keep) != 0)
            cJSON_DeleteItemFromObject(profile, *m);
}

/* The member of profile, added empty when absent. */
static cJSON *member_of(cJSON *profile, const char *key)
{
    cJSON *member = cJSON_GetObjectItem(profile, key);
    return member ? member : cJSON_AddObjectToObject(profile, key);
}

/* standardIsolation.priority of profile set to priority (NULL: removed). */
static void set_priority(cJSON *profile, const char *priority)
{
    clear_oneof(profile, isolation_members, "standardIsolation");
    cJSON *standard = member_of(profile, "standardIsolation");
    cJSON_DeleteItemFromObject(standard, "priority");
    if (priority)
        cJSON_AddStringToObject(standard, "priority", priority);
}

/* A new profile's isolation, as Google stores it: at most one member of the oneof; the
 * deprecated priority moved to standardIsolation.priority; none, or an unspecified
 * priority, is standard isolation at PRIORITY_HIGH ("mapped to PRIORITY_HIGH on
 * creation"). */
static enum em_code new_isolation(cJSON *profile, struct em_status *st)
{
    int set = 0;
    for (const char *const *m = isolation_members; *m; m++)
        set += cJSON_GetObjectItem(profile, *m) != NULL;
    if (set > 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "An app profile has at most one isolation: standard_isolation, "
                       "data_boost_isolation_read_only or the deprecated priority.");
    if (cJSON_GetObjectItem(profile, "dataBoostIsolationReadOnly"))
        return EM_OK;
    const char *given = em_json_string(profile, "priority");
    if (!given)
        given = em_json_string(cJSON_GetObjectItem(profile, "standardIsolation"), "priority");
    char priority[32]; /* copied: set_priority replaces the member it is in */
    snprintf(priority, sizeof(priority), "%s",
             given && strcmp(given, "PRIORITY_UNSPECIFIED") != 0 ? given : "PRIORITY_HIGH");
    set_priority(profile, priority);
    return EM_OK;
}

/* The rules of a profile's isolation (after every change): a Data Boost profile "supports
 * read-only use cases with single-cluster routing" (AppProfile.DataBoostIsolationReadOnly),
 * so it routes to one cluster and does not allow transactional writes; the memory layer
 * of standard isolation is not built. */
static enum em_code check_isolation(const cJSON *profile, struct em_status *st)
{
    const cJSON *standard = cJSON_GetObjectItem(profile, "standardIsolation");
    if (cJSON_GetObjectItem(standard, "memoryConfig"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "The memory layer (standard_isolation.memory_config) is not implemented by "
                       "this emulator.");
    if (!cJSON_GetObjectItem(profile, "dataBoostIsolationReadOnly"))
        return EM_OK;
    const cJSON *single = cJSON_GetObjectItem(profile, "singleClusterRouting");
    if (!single)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A Data Boost app profile (data_boost_isolation_read_only) must use "
                       "single_cluster_routing.");
    if (cJSON_IsTrue(cJSON_GetObjectItem(single, "allowTransactionalWrites")))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A Data Boost app profile (data_boost_isolation_read_only) is read-only: "
                       "it cannot allow transactional writes.");
    return EM_OK;
}

/* The stored profile: name, etag, description, the routing policy and the isolation of
 * request (checked by the caller). */
static cJSON *new_app_profile(const char *name, const cJSON *request)
{
    cJSON *profile = cJSON_CreateObject();
    cJSON_AddStringToObject(profile, "name", name);
    cJSON_AddStringToObject(profile, "etag", "1");
    const char *description = em_json_string(request, "description");
    if (description)
        cJSON_AddStringToObject(profile, "description", description);
    const char *keys[] = {"multiClusterRoutingUseAny", "singleClusterRouting", "priority",
                          "standardIsolation", "dataBoostIsolationReadOnly"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItem(request, keys[i]);
        if (v)
            cJSON_AddItemToObject(profile, keys[i], cJSON_Duplicate(v, true));
    }
    return profile;
}

enum em_code bt_app_profile_create(struct bt_admin *admin, const char *instance, const char *id,
                                   const cJSON *profile, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char name[BT_NAME_MAX];
    cJSON *inst = NULL;
    *out = NULL;
    if (bt_check_name(instance, NULL, "instance", st) || check_id(id, &bt_app_profile_id_rule, st))
        return st->code;
    snprintf(name, sizeof(name), "%.380s/appProfiles/%.100s", instance, id);
    cJSON *created = new_app_profile(name, profile);
    char *existing = NULL;
    if (new_isolation(created, st) || check_isolation(created, st)) {
        cJSON_Delete(created);
        return st->code;
    }
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st) &&
        !check_routing(admin, instance, profile, st) &&
        !bt_store_get(admin->store, name, BT_KIND_APP_PROFILE, &existing, st)) {
        if (existing)
            BT_ERR_EXISTS(st, "AppProfile", name);
        else
            bt_save(admin, created, BT_KIND_APP_PROFILE, instance, false, st);
    }
    pthread_mutex_unlock(&admin->lock);
    free(existing);
    cJSON_Delete(inst);
    if (st->code) {
        cJSON_Delete(created);
        return st->code;
    }
    *out = created;
    return EM_OK;
}

enum em_code bt_app_profile_get(struct bt_admin *admin, const char *name, cJSON **out,
                                struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    if (bt_check_name(name, "appProfiles", "app profile", st))
        return st->code;
    return bt_load(admin, name, BT_KIND_APP_PROFILE, "AppProfile", out, st);
}

enum em_code bt_app_profile_list(struct bt_admin *admin, const char *instance, cJSON **out,
                                 struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL;
    *out = NULL;
    if (bt_check_name(instance, NULL, "instance", st) ||
        bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st))
        return st->code;
    cJSON_Delete(inst);
    return bt_store_list(admin->store, BT_KIND_APP_PROFILE, instance, false, out, st);
}

/* The paths an app profile update may name (camelCase; snake_case too, em_mask.h): a
 * member whole, or one field of a oneof's member (what gcloud sends: "app-profiles update
 * --route-to=C" is singleClusterRouting.clusterId). Google's FieldMask semantics: the path
 * is copied from the request, absent there: cleared; a field of a member the profile does
 * not have starts that member empty, and the other members of its oneof go. */
static const struct profile_path {
    const char *path;
    const char *member;       /* the AppProfile member it changes */
    const char *field;        /* a field of member; NULL: the whole member */
    const char *const *oneof; /* the members of member's oneof, or NULL */
} profile_paths[] = {
    {"description", "description", NULL, NULL},
    {"multiClusterRoutingUseAny", "multiClusterRoutingUseAny", NULL, routing_members},
    {"multiClusterRoutingUseAny.clusterIds", "multiClusterRoutingUseAny", "clusterIds",
     routing_members},
    {"multiClusterRoutingUseAny.rowAffinity", "multiClusterRoutingUseAny", "rowAffinity",
     routing_members},
    {"singleClusterRouting", "singleClusterRouting", NULL, routing_members},
    {"singleClusterRouting.clusterId", "singleClusterRouting", "clusterId", routing_members},
    {"singleClusterRouting.allowTransactionalWrites", "singleClusterRouting",
     "allowTransactionalWrites", routing_members},
    {"standardIsolation", "standardIsolation", NULL, isolation_members},
    {"standardIsolation.priority", "standardIsolation", "priority", isolation_members},
    {"standardIsolation.memoryConfig", "standardIsolation", "memoryConfig", isolation_members},
    {"dataBoostIsolationReadOnly", "dataBoostIsolationReadOnly", NULL, isolation_members},
    {"dataBoostIsolationReadOnly.computeBillingOwner", "dataBoostIsolationReadOnly",
     "computeBillingOwner", isolation_members},
};

struct profile_update {
    cJSON *stored;
    const cJSON *request;
};

/* Applies one path of an app profile's update mask to the stored profile. */
static enum em_code update_profile_path(const char *path, void *arg, struct em_status *st)
{
    struct profile_update *u = arg;
    if (em_mask_path_is(path, "priority")) {
        /* the deprecated field: "If you set this field, standard_isolation.priority will
         * be set instead." */
        set_priority(u->stored, em_json_string(u->request, "priority"));
        return EM_OK;
    }
    const struct profile_path *p = NULL;
    for (size_t i = 0; i < sizeof(profile_paths) / sizeof(profile_paths[0]) && !p; i++)
        if (em_mask_path_is(path, profile_paths[i].path))
            p = &profile_paths[i];
    if (!p)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask: the field %.100s of an app profile cannot be "
                       "updated.",
                       path);
    const cJSON *given = cJSON_GetObjectItem(u->request, p->member);
    if (p->oneof)
        clear_oneof(u->stored, p->oneof, p->member);
    if (!p->field) {
        cJSON_DeleteItemFromObject(u->stored, p->member);
        if (strcmp(p->member, "description") == 0)
            cJSON_AddStringToObject(u->stored, p->member,
                                    cJSON_IsString(given) ? given->valuestring : "");
        else if (given || p->oneof == routing_members) /* a profile always routes */
            cJSON_AddItemToObject(u->stored, p->member,
                                  given ? cJSON_Duplicate(given, true) : cJSON_CreateObject());
        return EM_OK;
    }
    cJSON *member = member_of(u->stored, p->member);
    const cJSON *value = cJSON_GetObjectItem(given, p->field);
    cJSON_DeleteItemFromObject(member, p->field);
    if (value)
        cJSON_AddItemToObject(member, p->field, cJSON_Duplicate(value, true));
    return EM_OK;
}

/* A stale etag (the body's, when it has one) fails the update, as an authorized view's
 * does (bigtable_views.c). */
static enum em_code check_profile_etag(const cJSON *stored, const cJSON *request,
                                       struct em_status *st)
{
    const char *etag = em_json_string(request, "etag"), *current = em_json_string(stored, "etag");
    if (!etag || !*etag || strcmp(etag, current ? current : "") == 0)
        return EM_OK;
    return EM_FAIL(st, EM_ABORTED,
                   "The etag given does not match the app profile %.300s's: it changed since it "
                   "was read.",
                   em_json_string(stored, "name"));
}

enum em_code bt_app_profile_update(struct bt_admin *admin, const char *name, const cJSON *profile,
                                   const char *mask, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX];
    cJSON *stored = NULL;
    size_t paths = 0;
    *out = NULL;
    if (bt_check_name(name, "appProfiles", "app profile", st))
        return st->code;
    if (!mask || !*mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
    bt_instance_of(name, instance);
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_APP_PROFILE, "AppProfile", &stored, st) &&
        !check_profile_etag(stored, profile, st) &&
        !em_mask_each(mask, update_profile_path, &(struct profile_update){stored, profile}, &paths,
                      st)) {
        if (!paths)
            EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
        else if (!check_routing(admin, instance, stored, st) && !check_isolation(stored, st)) {
            int64_t etag = 1;
            em_json_int64(stored, "etag", &etag);
            char text[32];
            snprintf(text, sizeof(text), "%lld", (long long)etag + 1);
            set_string(stored, "etag", text);
            bt_save(admin, stored, BT_KIND_APP_PROFILE, instance, true, st);
        }
    }
    pthread_mutex_unlock(&admin->lock);
    if (st->code) {
        cJSON_Delete(stored);
        return st->code;
    }
    *out = stored;
    return EM_OK;
}

enum em_code bt_app_profile_delete(struct bt_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL;
    if (bt_check_name(name, "appProfiles", "app profile", st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_APP_PROFILE, "AppProfile", &stored, st))
        bt_store_delete(admin->store, name, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_admin_reset(struct bt_admin *admin, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *instances = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_list(admin->store, BT_KIND_INSTANCE, "projects/", true, &instances, st)) {
        const cJSON *inst;
        cJSON_ArrayForEach(inst, instances)
        {
            shred_instance_replicas(admin, em_json_string(inst, "name"));
            bt_backups_remove_under(admin, em_json_string(inst, "name"));
        }
        bt_store_clear(admin->store, st);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(instances);
    return st->code;
}
