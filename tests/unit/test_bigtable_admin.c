/*
 * test_bigtable_admin: Bigtable's admin domain (bigtable_admin, bigtable_tables) on a real
 * metadata store, without a CMEK engine: instances with their clusters (IDs, zones, the
 * key-in-the-cluster's-region rule, autoscaling), cluster updates (serve_nodes,
 * autoscaling, the immutable encryption config), app profiles (routing checked against the
 * clusters; update masks naming fields of a routing policy or an isolation; the etag; Data
 * Boost profiles and the refusal of writes through them, bigtable_data_boost), tables
 * (families with GC rules as bigtable_gc writes them, views, column family modifications
 * with their GC rules checked, deletion protection of the table and its families), the
 * routing of data calls, state surviving a reopen, and deleted tables (recoverable for 7
 * days, then gone; a new table of the same id or the instance's deletion ends that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_admin.h"
#include "bigtable/bigtable_data_boost.h"
#include "em_iam.h"
#include "em_json.h"
#include "unit_bigtable.h"
#include "unit_util.h"

#define PARENT      "projects/bt-unit"
#define INST        PARENT "/instances/my-inst"
#define TABLE       INST "/tables/t1"
#define NOW         1700000000000000000LL
#define KEY(region) PARENT "/locations/" region "/keyRings/r/cryptoKeys/k"

static enum em_code create_instance(struct fixture *f, const char *json, struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    char zone[64];
    assert_non_null(request);
    enum em_code rc = bt_instance_create(f->admin, PARENT, request, NOW, &out, zone, st);
    if (rc == EM_OK) {
        struct em_status ready_st = {0};
        cJSON *ready = NULL;
        assert_int_equal(
            bt_instance_ready(f->admin, em_json_string(out, "name"), &ready, &ready_st), EM_OK);
        cJSON_Delete(ready);
    }
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

/* my-inst: east-c1 in us-east1-b (a key in us-east1), west-c2 in us-west1-a (no key). */
static void make_instance(struct fixture *f)
{
    struct em_status st = {0};
    assert_int_equal(
        create_instance(
            f,
            "{\"instanceId\":\"my-inst\",\"instance\":{\"displayName\":\"My inst\"},"
            "\"clusters\":{\"east-c1\":{\"location\":\"" PARENT
            "/locations/us-east1-b\",\"serveNodes\":1,\"encryptionConfig\":{"
            "\"kmsKeyName\":\"" KEY("us-east1") "\"}},\"west-c2\":{\"location\":\"" PARENT
                                                "/locations/us-west1-a\",\"serveNodes\":2}}}",
            &st),
        EM_OK);
}

static enum em_code create_table(struct fixture *f, const char *json, struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc = bt_table_create(f->admin, INST, request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

/* A CreateTableRequest of table id whose family cf has a union of n maxNumVersions rules
 * (a static buffer). */
static const char *union_of_versions(const char *id, int n)
{
    static char json[4096];
    int len = snprintf(json, sizeof(json),
                       "{\"tableId\":\"%s\",\"table\":{\"columnFamilies\":{\"cf\":{\"gcRule\":{"
                       "\"union\":{\"rules\":[",
                       id);
    for (int i = 0; i < n; i++)
        len += snprintf(json + len, sizeof(json) - (size_t)len, "%s{\"maxNumVersions\":1}",
                        i ? "," : "");
    snprintf(json + len, sizeof(json) - (size_t)len, "]}}}}}}");
    return json;
}

/* ModifyColumnFamilies on TABLE with these modifications (a JSON array). */
static enum em_code modify(struct fixture *f, const char *json, struct em_status *st)
{
    cJSON *mods = cJSON_Parse(json), *out = NULL, *dropped = NULL;
    assert_non_null(mods);
    enum em_code rc = bt_table_modify_families(f->admin, TABLE, mods, &out, &dropped, st);
    cJSON_Delete(mods);
    cJSON_Delete(out);
    cJSON_Delete(dropped);
    return rc;
}

static cJSON *get(struct fixture *f, const char *kind, const char *name)
{
    struct em_status st = {0};
    cJSON *out = NULL;
    enum em_code rc = strcmp(kind, "cluster") == 0    ? bt_cluster_get(f->admin, name, &out, &st)
                      : strcmp(kind, "instance") == 0 ? bt_instance_get(f->admin, name, &out, &st)
                      : strcmp(kind, "profile") == 0
                          ? bt_app_profile_get(f->admin, name, &out, &st)
                          : bt_table_get(f->admin, name, BT_VIEW_FULL, &out, &st);
    assert_int_equal(rc, EM_OK);
    return out;
}

/* TABLE's family cf1's maxNumVersions, stored as a JSON number. */
static int64_t cf1_versions(struct fixture *f)
{
    cJSON *t = get(f, "table", TABLE);
    const cJSON *cf1 = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), "cf1");
    const cJSON *versions =
        cJSON_GetObjectItem(cJSON_GetObjectItem(cf1, "gcRule"), "maxNumVersions");
    int64_t n = cJSON_IsNumber(versions) ? (int64_t)versions->valuedouble : -1;
    cJSON_Delete(t);
    return n;
}

/* TABLE's family id as stored, its value type printed ("" without one). */
static char *family_value_type(struct fixture *f, const char *id)
{
    cJSON *t = get(f, "table", TABLE);
    const cJSON *family = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), id);
    const cJSON *type = cJSON_GetObjectItem(family, "valueType");
    char *text = type ? cJSON_PrintUnformatted(type) : strdup("");
    cJSON_Delete(t);
    return text;
}

#define INT64_BE "{\"int64Type\":{\"encoding\":{\"bigEndianBytes\":{}}}}"

/* Aggregate families (bigtable_aggregate.h): made with their type, which stays. */
static void check_aggregate_families(struct fixture *f)
{
    struct em_status st = {0};
    static const struct {
        const char *value_type;
        enum em_code code;
        const char *message;
    } refused[] = {
        {"{\"aggregateType\":{\"inputType\":{\"int64Type\":{}},\"sum\":{}}}", EM_INVALID_ARGUMENT,
         "full encoding"},
        {"{\"aggregateType\":{\"inputType\":{\"stringType\":{}},\"sum\":{}}}", EM_INVALID_ARGUMENT,
         "must be an Int64"},
        {"{\"aggregateType\":{\"inputType\":" INT64_BE "}}", EM_INVALID_ARGUMENT,
         "exactly one aggregator"},
        {"{\"aggregateType\":{\"inputType\":" INT64_BE ",\"sum\":{},\"max\":{}}}",
         EM_INVALID_ARGUMENT, "exactly one aggregator"},
        {"{\"aggregateType\":{\"inputType\":" INT64_BE ",\"hllppUniqueCount\":{}}}",
         EM_UNIMPLEMENTED, "HyperLogLogPlusPlusUniqueCount"},
        {"{\"aggregateType\":{\"inputType\":{\"int64Type\":{\"encoding\":"
         "{\"orderedCodeBytes\":{}}}},\"sum\":{}}}",
         EM_UNIMPLEMENTED, "bigEndianBytes"},
        {INT64_BE, EM_INVALID_ARGUMENT, "only the Aggregate type"},
        {"{\"aggregateType\":{\"inputType\":" INT64_BE ",\"avg\":{}}}", EM_INVALID_ARGUMENT,
         "Unknown name \"avg\""},
    };
    char mods[512];
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(mods, sizeof(mods), "[{\"id\":\"bad\",\"create\":{\"valueType\":%s}}]",
                 refused[i].value_type);
        assert_int_equal(modify(f, mods, &st), refused[i].code);
        assert_non_null(strstr(st.message, refused[i].message));
        assert_non_null(strstr(st.message, "modifications[0].create.value_type"));
    }
    /* a sum family: the canonical type, with the output-only stateType filled in (a
     * request's own stateType is ignored) */
    assert_int_equal(modify(f,
                            "[{\"id\":\"sums\",\"create\":{\"valueType\":{\"aggregateType\":"
                            "{\"inputType\":" INT64_BE ",\"stateType\":{\"stringType\":{}},"
                            "\"sum\":{}}},\"gcRule\":{\"maxNumVersions\":1}}}]",
                            &st),
                     EM_OK);
    char *type = family_value_type(f, "sums");
    assert_string_equal(type, "{\"aggregateType\":{\"inputType\":" INT64_BE
                              ",\"stateType\":" INT64_BE ",\"sum\":{}}}");
    /* its GC rule may change, its type may not (and an update keeps it) */
    assert_int_equal(
        modify(f, "[{\"id\":\"sums\",\"update\":{\"gcRule\":{\"maxNumVersions\":3}}}]", &st),
        EM_OK);
    char *kept = family_value_type(f, "sums");
    assert_string_equal(kept, type);
    assert_int_equal(modify(f,
                            "[{\"id\":\"sums\",\"update\":{\"valueType\":{\"aggregateType\":"
                            "{\"inputType\":" INT64_BE ",\"max\":{}}}}}]",
                            &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "cannot change"));
    assert_int_equal(modify(f,
                            "[{\"id\":\"cf1\",\"update\":{\"valueType\":{\"aggregateType\":"
                            "{\"inputType\":" INT64_BE ",\"max\":{}}}}}]",
                            &st),
                     EM_INVALID_ARGUMENT);
    free(kept);
    kept = family_value_type(f, "cf1");
    assert_string_equal(kept, "");
    free(kept);
    free(type);
    assert_int_equal(modify(f, "[{\"id\":\"sums\",\"drop\":true}]", &st), EM_OK);
}

/* --- instances and clusters --- */

static void test_instance_with_clusters(void **state)
{
    struct fixture *f = *state;
    make_instance(f);
    cJSON *inst = get(f, "instance", INST);
    assert_string_equal(em_json_string(inst, "state"), "READY");
    assert_string_equal(em_json_string(inst, "type"), "PRODUCTION");
    cJSON_Delete(inst);
    cJSON *east = get(f, "cluster", INST "/clusters/east-c1");
    assert_string_equal(em_json_string(east, "state"), "READY");
    assert_string_equal(em_json_string(east, "defaultStorageType"), "SSD");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(east, "encryptionConfig"), "kmsKeyName"),
                        KEY("us-east1"));
    cJSON_Delete(east);
    /* the default app profile routes to any cluster */
    cJSON *profile = get(f, "profile", INST "/appProfiles/default");
    assert_non_null(cJSON_GetObjectItem(profile, "multiClusterRoutingUseAny"));
    cJSON_Delete(profile);
    /* a second create of the same id */
    struct em_status st = {0};
    assert_int_equal(create_instance(f,
                                     "{\"instanceId\":\"my-inst\",\"instance\":{\"displayName\":"
                                     "\"Again\"},\"clusters\":{\"other-c1\":{\"location\":\"" PARENT
                                     "/locations/us-east1-c\",\"serveNodes\":1}}}",
                                     &st),
                     EM_ALREADY_EXISTS);
    char zone[64];
    assert_int_equal(bt_instance_zone(f->admin, INST, zone, &st), EM_OK);
    assert_string_equal(zone, "us-east1-b");
}

static void test_instance_refusals(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    /* no cluster */
    assert_int_equal(create_instance(f,
                                     "{\"instanceId\":\"no-clusters\",\"instance\":{"
                                     "\"displayName\":\"None\"},\"clusters\":{}}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    /* an id that is too short, a display name that is too short */
    assert_int_equal(
        create_instance(f,
                        "{\"instanceId\":\"abc\",\"instance\":{\"displayName\":"
                        "\"Short id\"},\"clusters\":{\"c1-abc\":{\"location\":\"" PARENT
                        "/locations/us-east1-b\",\"serveNodes\":1}}}",
                        &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(create_instance(f,
                                     "{\"instanceId\":\"good-id\",\"instance\":{\"displayName\":"
                                     "\"Abc\"},\"clusters\":{\"c1-abc\":{\"location\":\"" PARENT
                                     "/locations/us-east1-b\",\"serveNodes\":1}}}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    /* a region is not a zone */
    assert_int_equal(create_instance(f,
                                     "{\"instanceId\":\"good-id\",\"instance\":{\"displayName\":"
                                     "\"Region\"},\"clusters\":{\"c1-abc\":{\"location\":\"" PARENT
                                     "/locations/us-east1\",\"serveNodes\":1}}}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    /* the key must be in the cluster's region, and the message names both */
    assert_int_equal(
        create_instance(f,
                        "{\"instanceId\":\"good-id\",\"instance\":{\"displayName\":"
                        "\"Keyed\"},\"clusters\":{\"c1-abc\":{\"location\":\"" PARENT
                        "/locations/us-east1-b\",\"serveNodes\":1,"
                        "\"encryptionConfig\":{\"kmsKeyName\":\"" KEY("europe-west1") "\"}}}}",
                        &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "europe-west1"));
    assert_non_null(strstr(st.message, "us-east1"));
    /* autoscaling limits */
    assert_int_equal(
        create_instance(f,
                        "{\"instanceId\":\"good-id\",\"instance\":{\"displayName\":\"Auto\"},"
                        "\"clusters\":{\"c1-abc\":{\"location\":\"" PARENT
                        "/locations/us-east1-b\",\"clusterConfig\":{\"clusterAutoscalingConfig\":"
                        "{\"autoscalingLimits\":{\"minServeNodes\":3,\"maxServeNodes\":2},"
                        "\"autoscalingTargets\":{\"cpuUtilizationPercent\":50}}}}}}",
                        &st),
        EM_INVALID_ARGUMENT);
    /* nothing was recorded */
    cJSON *list = NULL;
    assert_int_equal(bt_instance_list(f->admin, PARENT, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
}

static void test_cluster_updates(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *out = NULL;
    make_instance(f);
    cJSON *body = cJSON_Parse("{\"serveNodes\":4}");
    assert_int_equal(
        bt_cluster_update(f->admin, INST "/clusters/east-c1", body, "serve_nodes", &out, &st),
        EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(body);
    cJSON *east = get(f, "cluster", INST "/clusters/east-c1");
    int64_t nodes = 0;
    assert_true(em_json_int64(east, "serveNodes", &nodes));
    assert_int_equal(nodes, 4);
    cJSON_Delete(east);
    /* autoscaling, by the snake_case mask gcloud sends */
    body = cJSON_Parse("{\"clusterConfig\":{\"clusterAutoscalingConfig\":{\"autoscalingLimits\":"
                       "{\"minServeNodes\":2,\"maxServeNodes\":5},\"autoscalingTargets\":{"
                       "\"cpuUtilizationPercent\":70}}}}");
    assert_int_equal(
        bt_cluster_update(f->admin, INST "/clusters/west-c2", body,
                          "cluster_config.cluster_autoscaling_config.autoscaling_limits.min_serve_"
                          "nodes,cluster_config.cluster_autoscaling_config.autoscaling_limits.max_"
                          "serve_nodes",
                          &out, &st),
        EM_OK);
    assert_true(em_json_int64(out, "serveNodes", &nodes));
    assert_int_equal(nodes, 2);
    cJSON_Delete(out);
    cJSON_Delete(body);
    /* the encryption config is immutable */
    body = cJSON_Parse("{\"encryptionConfig\":{\"kmsKeyName\":\"" KEY("us-east1") "\"}}");
    assert_int_equal(bt_cluster_update(f->admin, INST "/clusters/west-c2", body,
                                       "encryption_config.kms_key_name", &out, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "immutable"));
    /* a PUT with a changed key is refused too */
    assert_int_equal(bt_cluster_update(f->admin, INST "/clusters/west-c2", body, NULL, &out, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(body);
    /* clusters of every instance of the project */
    cJSON *list = NULL;
    assert_int_equal(bt_cluster_list(f->admin, PARENT "/instances/-", &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    /* the last cluster stays */
    assert_int_equal(bt_cluster_delete(f->admin, INST "/clusters/west-c2", &st), EM_OK);
    assert_int_equal(bt_cluster_delete(f->admin, INST "/clusters/east-c1", &st),
                     EM_FAILED_PRECONDITION);
}

/* --- app profiles and routing --- */

static enum em_code create_profile(struct fixture *f, const char *id, const char *json,
                                   struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    enum em_code rc = bt_app_profile_create(f->admin, INST, id, request, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_app_profiles_and_routing(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_table(f, "{\"tableId\":\"t1\"}", &st), EM_OK);
    assert_int_equal(
        create_profile(f, "west", "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"}}", &st),
        EM_OK);
    assert_int_equal(
        create_profile(f, "bad", "{\"singleClusterRouting\":{\"clusterId\":\"nope-c9\"}}", &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(create_profile(f, "none", "{}", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create_profile(f, "west", "{\"multiClusterRoutingUseAny\":{}}", &st),
                     EM_ALREADY_EXISTS);

    struct bt_route route;
    assert_int_equal(bt_route_for(f->admin, TABLE, NULL, &route, &st), EM_OK);
    assert_int_equal(route.cluster_count, 2); /* default: every cluster, in name order */
    assert_false(route.single_cluster);
    assert_string_equal(route.replicas[0], INST "/clusters/east-c1/tables/t1");
    assert_string_equal(route.replicas[1], INST "/clusters/west-c2/tables/t1");
    bt_route_clear(&route);
    assert_int_equal(bt_route_for(f->admin, TABLE, "west", &route, &st), EM_OK);
    assert_int_equal(route.cluster_count, 1);
    assert_true(route.single_cluster);
    assert_string_equal(route.clusters[0], INST "/clusters/west-c2");
    assert_int_equal(route.all_count, 2); /* writes still replicate to both */
    bt_route_clear(&route);
    assert_int_equal(bt_route_for(f->admin, TABLE, "missing", &route, &st), EM_NOT_FOUND);

    /* a multi-cluster profile limited to one cluster, then changed by update */
    cJSON *body = cJSON_Parse("{\"multiClusterRoutingUseAny\":{\"clusterIds\":[\"west-c2\"]}}");
    cJSON *out = NULL;
    assert_int_equal(bt_app_profile_update(f->admin, INST "/appProfiles/west", body,
                                           "multi_cluster_routing_use_any", &out, &st),
                     EM_OK);
    assert_string_equal(em_json_string(out, "etag"), "2");
    assert_null(cJSON_GetObjectItem(out, "singleClusterRouting"));
    cJSON_Delete(out);
    cJSON_Delete(body);
    /* routes are cached: a change of the profile is seen at once */
    assert_int_equal(bt_route_for(f->admin, TABLE, "west", &route, &st), EM_OK);
    assert_false(route.single_cluster);
    assert_int_equal(route.cluster_count, 1);
    assert_string_equal(route.clusters[0], INST "/clusters/west-c2");
    bt_route_clear(&route);
    assert_int_equal(bt_app_profile_delete(f->admin, INST "/appProfiles/west", &st), EM_OK);
    assert_int_equal(bt_app_profile_delete(f->admin, INST "/appProfiles/west", &st), EM_NOT_FOUND);
    assert_int_equal(bt_route_for(f->admin, TABLE, "west", &route, &st), EM_NOT_FOUND);
}

/* UpdateAppProfile of INST/appProfiles/id with body and mask; *out (may be NULL) gets the
 * updated profile. */
static enum em_code update_profile(struct fixture *f, const char *id, const char *body,
                                   const char *mask, cJSON **out, struct em_status *st)
{
    char name[256];
    snprintf(name, sizeof(name), INST "/appProfiles/%s", id);
    cJSON *request = cJSON_Parse(body), *updated = NULL;
    assert_non_null(request);
    enum em_code rc = bt_app_profile_update(f->admin, name, request, mask, &updated, st);
    cJSON_Delete(request);
    if (out)
        *out = updated;
    else
        cJSON_Delete(updated);
    return rc;
}

/* A member of the stored profile, or a field of one ("singleClusterRouting.clusterId"),
 * printed ("" when absent). */
static char *profile_member(struct fixture *f, const char *id, const char *path)
{
    char name[256], key[128];
    snprintf(name, sizeof(name), INST "/appProfiles/%s", id);
    snprintf(key, sizeof(key), "%s", path);
    char *field = strchr(key, '.');
    if (field)
        *field++ = '\0';
    cJSON *profile = get(f, "profile", name);
    const cJSON *member = cJSON_GetObjectItem(profile, key);
    if (field)
        member = cJSON_GetObjectItem(member, field);
    char *text = member ? cJSON_PrintUnformatted(member) : strdup("");
    cJSON_Delete(profile);
    return text;
}

static void assert_member(struct fixture *f, const char *id, const char *key, const char *want)
{
    char *text = profile_member(f, id, key);
    assert_string_equal(text, want);
    free(text);
}

/* The paths gcloud's "app-profiles update" sends: fields of a routing policy or an
 * isolation, in either spelling, each keeping the member's other fields and replacing the
 * other members of its oneof. */
static void test_app_profile_update_paths(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_profile(f, "p1",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"east-c1\","
                                    "\"allowTransactionalWrites\":true}}",
                                    &st),
                     EM_OK);
    /* a new profile's isolation: standard, at high priority */
    assert_member(f, "p1", "standardIsolation", "{\"priority\":\"PRIORITY_HIGH\"}");
    /* --route-to=west-c2: the cluster changes, transactional writes stay */
    assert_int_equal(update_profile(f, "p1",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"}}",
                                    "singleClusterRouting.clusterId", NULL, &st),
                     EM_OK);
    assert_member(f, "p1", "singleClusterRouting.clusterId", "\"west-c2\"");
    assert_member(f, "p1", "singleClusterRouting.allowTransactionalWrites", "true");
    /* --route-any --restrict-to=east-c1 (snake case): multi-cluster replaces single */
    assert_int_equal(
        update_profile(f, "p1", "{\"multiClusterRoutingUseAny\":{\"clusterIds\":[\"east-c1\"]}}",
                       "multi_cluster_routing_use_any.cluster_ids", NULL, &st),
        EM_OK);
    assert_member(f, "p1", "singleClusterRouting", "");
    assert_member(f, "p1", "multiClusterRoutingUseAny", "{\"clusterIds\":[\"east-c1\"]}");
    /* --route-any --row-affinity keeps the clusters */
    assert_int_equal(update_profile(f, "p1", "{\"multiClusterRoutingUseAny\":{\"rowAffinity\":{}}}",
                                    "multiClusterRoutingUseAny.rowAffinity", NULL, &st),
                     EM_OK);
    assert_member(f, "p1", "multiClusterRoutingUseAny.clusterIds", "[\"east-c1\"]");
    assert_member(f, "p1", "multiClusterRoutingUseAny.rowAffinity", "{}");
    /* --route-to=east-c1 --transactional-writes --priority=PRIORITY_LOW --description */
    assert_int_equal(
        update_profile(
            f, "p1",
            "{\"singleClusterRouting\":{\"clusterId\":\"east-c1\","
            "\"allowTransactionalWrites\":true},\"standardIsolation\":{\"priority\":"
            "\"PRIORITY_LOW\"},\"description\":\"Orders\"}",
            "singleClusterRouting.clusterId,singleClusterRouting.allowTransactionalWrites,"
            "standardIsolation.priority,description",
            NULL, &st),
        EM_OK);
    assert_member(f, "p1", "multiClusterRoutingUseAny", "");
    assert_member(f, "p1", "singleClusterRouting.clusterId", "\"east-c1\"");
    assert_member(f, "p1", "singleClusterRouting.allowTransactionalWrites", "true");
    assert_member(f, "p1", "standardIsolation", "{\"priority\":\"PRIORITY_LOW\"}");
    assert_member(f, "p1", "description", "\"Orders\"");
    /* the deprecated priority sets standard_isolation.priority instead */
    assert_int_equal(
        update_profile(f, "p1", "{\"priority\":\"PRIORITY_MEDIUM\"}", "priority", NULL, &st),
        EM_OK);
    assert_member(f, "p1", "standardIsolation", "{\"priority\":\"PRIORITY_MEDIUM\"}");
    assert_member(f, "p1", "priority", "");
    /* a field of a cluster routed to that does not exist, an unknown path, no path */
    assert_int_equal(update_profile(f, "p1",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"nope-c9\"}}",
                                    "singleClusterRouting.clusterId", NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(update_profile(f, "p1", "{}", "singleClusterRouting.bogus", NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(update_profile(f, "p1", "{}", " , ", NULL, &st), EM_INVALID_ARGUMENT);
    assert_member(f, "p1", "singleClusterRouting.clusterId", "\"east-c1\"");
    assert_member(f, "p1", "singleClusterRouting.allowTransactionalWrites", "true");
}

/* Optimistic concurrency: an update with a stale etag fails (ABORTED), as an authorized
 * view's does; the current one, or none, passes. */
static void test_app_profile_etag(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(
        create_profile(f, "p1", "{\"singleClusterRouting\":{\"clusterId\":\"east-c1\"}}", &st),
        EM_OK);
    cJSON *out = NULL;
    assert_int_equal(update_profile(f, "p1", "{\"description\":\"one\",\"etag\":\"1\"}",
                                    "description", &out, &st),
                     EM_OK);
    assert_string_equal(em_json_string(out, "etag"), "2");
    cJSON_Delete(out);
    assert_int_equal(update_profile(f, "p1", "{\"description\":\"two\",\"etag\":\"1\"}",
                                    "description", NULL, &st),
                     EM_ABORTED);
    assert_non_null(strstr(st.message, "etag"));
    assert_member(f, "p1", "description", "\"one\"");
    assert_int_equal(update_profile(f, "p1", "{\"description\":\"two\"}", "description", NULL, &st),
                     EM_OK);
    assert_member(f, "p1", "description", "\"two\"");
}

/* A Data Boost profile: kept and echoed, single-cluster and without transactional writes
 * only, and writes through it refused (reads go through); back to standard isolation, the
 * writes pass again. */
static void test_app_profile_data_boost(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_table(f, "{\"tableId\":\"t1\"}", &st), EM_OK);
    assert_int_equal(create_profile(f, "boost",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"},"
                                    "\"dataBoostIsolationReadOnly\":{\"computeBillingOwner\":"
                                    "\"HOST_PAYS\"}}",
                                    &st),
                     EM_OK);
    assert_member(f, "boost", "dataBoostIsolationReadOnly",
                  "{\"computeBillingOwner\":\"HOST_PAYS\"}");
    assert_member(f, "boost", "standardIsolation", "");
    assert_int_equal(create_profile(f, "multi",
                                    "{\"multiClusterRoutingUseAny\":{},"
                                    "\"dataBoostIsolationReadOnly\":{}}",
                                    &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_profile(f, "txn",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\","
                                    "\"allowTransactionalWrites\":true},"
                                    "\"dataBoostIsolationReadOnly\":{}}",
                                    &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        create_profile(f, "two",
                       "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"},"
                       "\"priority\":\"PRIORITY_LOW\",\"dataBoostIsolationReadOnly\":{}}",
                       &st),
        EM_INVALID_ARGUMENT);

    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, "boost", &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "Data Boost"));
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE "/authorizedViews/v", "boost", &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, NULL, &st), EM_OK);
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, "missing", &st), EM_OK);
    struct bt_route route;
    assert_int_equal(bt_route_for(f->admin, TABLE, "boost", &route, &st), EM_OK); /* reads */
    assert_true(route.single_cluster);
    bt_route_clear(&route);

    /* --priority: standard isolation replaces Data Boost, and writes pass (the check's
     * cache sees the change) */
    assert_int_equal(update_profile(f, "boost",
                                    "{\"standardIsolation\":{\"priority\":\"PRIORITY_LOW\"}}",
                                    "standardIsolation.priority", NULL, &st),
                     EM_OK);
    assert_member(f, "boost", "dataBoostIsolationReadOnly", "");
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, "boost", &st), EM_OK);
    /* --data-boost again; then a multi-cluster routing is refused */
    assert_int_equal(update_profile(f, "boost", "{\"dataBoostIsolationReadOnly\":{}}",
                                    "dataBoostIsolationReadOnly", NULL, &st),
                     EM_OK);
    assert_member(f, "boost", "standardIsolation", "");
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, "boost", &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(update_profile(f, "boost", "{\"multiClusterRoutingUseAny\":{}}",
                                    "multiClusterRoutingUseAny", NULL, &st),
                     EM_INVALID_ARGUMENT);
    /* the default profile can become one too */
    assert_int_equal(update_profile(f, "default",
                                    "{\"singleClusterRouting\":{\"clusterId\":\"east-c1\"},"
                                    "\"dataBoostIsolationReadOnly\":{}}",
                                    "singleClusterRouting,dataBoostIsolationReadOnly", NULL, &st),
                     EM_OK);
    assert_int_equal(bt_data_boost_check_write(f->admin, TABLE, "", &st), EM_FAILED_PRECONDITION);
}

/* --- tables --- */

static void test_tables(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_table(f,
                                  "{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"cf1\":{"
                                  "\"gcRule\":{\"maxNumVersions\":1}},\"cf2\":{\"gcRule\":{"
                                  "\"union\":{\"rules\":[{\"maxNumVersions\":5},{\"maxAge\":"
                                  "\"432000s\"}]}}},\"cf3\":{}}},\"initialSplits\":[{\"key\":"
                                  "\"Y2Fy\"}]}",
                                  &st),
                     EM_OK);
    assert_int_equal(create_table(f, "{\"tableId\":\"t1\"}", &st), EM_ALREADY_EXISTS);
    assert_int_equal(create_table(f,
                                  "{\"tableId\":\"t2\",\"table\":{\"columnFamilies\":{\"cf\":{"
                                  "\"gcRule\":{\"maxNumVersions\":0}}}}}",
                                  &st),
                     EM_INVALID_ARGUMENT); /* bigtable_gc: at least one version */
    assert_int_equal(create_table(f, "{\"tableId\":\"-bad\"}", &st), EM_INVALID_ARGUMENT);
    /* a family's rule serializes to at most 500 bytes: a union of 124 maxNumVersions rules
     * takes 499, of 125 takes 503 */
    assert_int_equal(create_table(f, union_of_versions("t3", 124), &st), EM_OK);
    assert_int_equal(create_table(f, union_of_versions("t4", 125), &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "at most 500 bytes, this one takes 503"));

    /* views */
    cJSON *t = NULL;
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_NAME_ONLY, &t, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(t), 1);
    cJSON_Delete(t);
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_SCHEMA, &t, &st), EM_OK);
    cJSON *families = cJSON_GetObjectItem(t, "columnFamilies");
    assert_int_equal(cJSON_GetArraySize(families), 3);
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(families, "cf2"), "gcRule"), "union"));
    assert_null(cJSON_GetObjectItem(t, "clusterStates"));
    assert_null(cJSON_GetObjectItem(t, "_splits")); /* private members never leave */
    assert_string_equal(em_json_string(t, "granularity"), "MILLIS");
    cJSON_Delete(t);
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_ENCRYPTION, &t, &st), EM_OK);
    cJSON *states = cJSON_GetObjectItem(t, "clusterStates");
    assert_int_equal(cJSON_GetArraySize(states), 2);
    assert_null(cJSON_GetObjectItem(t, "columnFamilies"));
    cJSON_Delete(t);
    enum bt_table_view view;
    assert_int_equal(bt_table_view_parse("REPLICATION_VIEW", BT_VIEW_SCHEMA, &view, &st), EM_OK);
    assert_int_equal(view, BT_VIEW_REPLICATION);
    assert_int_equal(bt_table_view_parse("SOMETHING", BT_VIEW_SCHEMA, &view, &st),
                     EM_INVALID_ARGUMENT);

    /* modifications apply all or nothing */
    cJSON *mods = cJSON_Parse("[{\"id\":\"cf3\",\"drop\":true},{\"id\":\"cf4\",\"create\":{}}]");
    cJSON *dropped = NULL;
    assert_int_equal(bt_table_modify_families(f->admin, TABLE, mods, &t, &dropped, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(dropped), 1);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), "cf4"));
    cJSON_Delete(t);
    cJSON_Delete(dropped);
    cJSON_Delete(mods);
    mods = cJSON_Parse("[{\"id\":\"cf5\",\"create\":{}},{\"id\":\"cf3\",\"drop\":true}]");
    assert_int_equal(bt_table_modify_families(f->admin, TABLE, mods, &t, &dropped, &st),
                     EM_NOT_FOUND);
    cJSON_Delete(mods);
    t = get(f, "table", TABLE);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), "cf5"));
    cJSON_Delete(t);

    /* a created or updated family's GC rule is checked and stored as createTable's are */
    assert_int_equal(
        modify(f, "[{\"id\":\"cf1\",\"update\":{\"gcRule\":{\"maxNumVersions\":0}}}]", &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "modifications[0].update.gc_rule"));
    assert_int_equal(
        modify(f,
               "[{\"id\":\"cf6\",\"create\":{}},{\"id\":\"cf7\",\"create\":{\"gcRule\":{"
               "\"maxAge\":\"-1s\"}}}]",
               &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "modifications[1].create.gc_rule"));
    assert_int_equal(
        modify(f, "[{\"id\":\"cf1\",\"update\":{\"gcRule\":{\"maxNumVersions\":\"3\"}}}]", &st),
        EM_OK);
    assert_int_equal(cf1_versions(f), 3); /* stored as a number, not "3" */
    t = get(f, "table", TABLE);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), "cf6"));
    cJSON_Delete(t);

    /* an update's mask: gc_rule (or none) updates the rule, another field is refused */
    assert_int_equal(modify(f,
                            "[{\"id\":\"cf1\",\"update\":{\"gcRule\":{\"maxNumVersions\":4}},"
                            "\"updateMask\":\"gcRule\"}]",
                            &st),
                     EM_OK);
    assert_int_equal(modify(f,
                            "[{\"id\":\"cf1\",\"update\":{\"gcRule\":{\"maxNumVersions\":9}},"
                            "\"updateMask\":\"valueType\"}]",
                            &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "the field valueType cannot be updated"));
    assert_int_equal(cf1_versions(f), 4);
    check_aggregate_families(f);

    /* deletion protection: neither the table nor its families can be deleted */
    cJSON *body = cJSON_Parse("{\"deletionProtection\":true}");
    assert_int_equal(bt_table_update(f->admin, TABLE, body, "deletionProtection", &t, &st), EM_OK);
    cJSON_Delete(t);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(modify(f, "[{\"id\":\"cf1\",\"drop\":true}]", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(modify(f, "[{\"id\":\"cf8\",\"create\":{}}]", &st), EM_OK);
    cJSON_Delete(body);
    body = cJSON_Parse("{}");
    assert_int_equal(bt_table_update(f->admin, TABLE, body, "deletion_protection", &t, &st), EM_OK);
    cJSON_Delete(t);
    assert_int_equal(bt_table_update(f->admin, TABLE, body, "granularity", &t, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(body);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_SCHEMA, &t, &st), EM_NOT_FOUND);
}

static struct em_status sst; /* the settings test's last status */

/* A stored setting of the table, as GetTable's SCHEMA view shows it, printed; "" when none. */
static const char *table_setting(struct fixture *f, const char *key)
{
    static char text[256];
    cJSON *t = NULL;
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_SCHEMA, &t, &sst), EM_OK);
    char *printed =
        cJSON_GetObjectItem(t, key) ? cJSON_PrintUnformatted(cJSON_GetObjectItem(t, key)) : NULL;
    snprintf(text, sizeof(text), "%s", printed ? printed : "");
    free(printed);
    cJSON_Delete(t);
    return text;
}

static enum em_code update_table(struct fixture *f, const char *json, const char *mask)
{
    cJSON *body = cJSON_Parse(json), *t = NULL;
    assert_non_null(body);
    enum em_code rc = bt_table_update(f->admin, TABLE, body, mask, &t, &sst);
    cJSON_Delete(t);
    cJSON_Delete(body);
    return rc;
}

static void test_table_settings(void **state)
{
    struct fixture *f = *state;
    make_instance(f);
    /* kept canonical (to the microsecond); out of range, empty or unbuilt: refused */
    assert_int_equal(create_table(f,
                                  "{\"tableId\":\"t1\",\"table\":{\"changeStreamConfig\":"
                                  "{\"retentionPeriod\":\"86400.0000019s\"}}}",
                                  &sst),
                     EM_OK);
    assert_string_equal(table_setting(f, "changeStreamConfig"),
                        "{\"retentionPeriod\":\"86400.000001s\"}");
    const char *refused[][2] = {
        {"{\"changeStreamConfig\":{\"retentionPeriod\":\"86399s\"}}", "at least 1 day"},
        {"{\"changeStreamConfig\":{\"retentionPeriod\":\"604801s\"}}", "at most 7 days"},
        {"{\"changeStreamConfig\":{}}", "retention_period must be set"},
        {"{\"tieredStorageConfig\":{}}", "must have a rule"},
        {"{\"tieredStorageConfig\":{\"infrequentAccess\":{\"includeIfOlderThan\":\"2591999s\"}}}",
         "at least 30 days"},
        {"{\"automatedBackupPolicy\":{\"retentionPeriod\":\"259200s\"}}", "not implemented"},
        {"{\"rowKeySchema\":{}}", "not implemented"}};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char json[512];
        snprintf(json, sizeof(json), "{\"tableId\":\"other\",\"table\":%s}", refused[i][0]);
        assert_int_not_equal(create_table(f, json, &sst), EM_OK);
        assert_non_null(strstr(sst.message, refused[i][1]));
    }
    /* updated by the whole setting or its field; a setting the body lacks is cleared */
    assert_int_equal(update_table(f, "{\"changeStreamConfig\":{\"retentionPeriod\":\"7d\"}}",
                                  "change_stream_config.retention_period"),
                     EM_INVALID_ARGUMENT); /* "7d" is no JSON duration */
    assert_int_equal(update_table(f, "{\"changeStreamConfig\":{\"retentionPeriod\":\"604800s\"}}",
                                  "change_stream_config.retention_period"),
                     EM_OK);
    assert_string_equal(table_setting(f, "changeStreamConfig"),
                        "{\"retentionPeriod\":\"604800s\"}");
    assert_int_equal(update_table(f,
                                  "{\"tieredStorageConfig\":{\"infrequentAccess\":{"
                                  "\"includeIfOlderThan\":\"2592000s\"}}}",
                                  "tieredStorageConfig.infrequentAccess.includeIfOlderThan"),
                     EM_OK);
    assert_string_equal(table_setting(f, "tieredStorageConfig"),
                        "{\"infrequentAccess\":{\"includeIfOlderThan\":\"2592000s\"}}");
    assert_int_equal(update_table(f, "{}", "changeStreamConfig, automatedBackupPolicy"), EM_OK);
    assert_string_equal(table_setting(f, "changeStreamConfig"), "");
    assert_int_equal(update_table(f, "{\"automatedBackupPolicy\":{\"frequency\":\"86400s\"}}",
                                  "automatedBackupPolicy.frequency"),
                     EM_UNIMPLEMENTED);
    assert_int_equal(update_table(f, "{}", "columnFamilies"), EM_UNIMPLEMENTED);
    assert_int_equal(update_table(f, "{}", " , "), EM_INVALID_ARGUMENT);
    assert_string_equal(table_setting(f, "tieredStorageConfig"),
                        "{\"infrequentAccess\":{\"includeIfOlderThan\":\"2592000s\"}}");
    /* tiered storage needs SSD clusters only */
    assert_int_equal(
        create_instance(f,
                        "{\"instanceId\":\"hdd-inst\",\"instance\":{\"displayName\":"
                        "\"Hdd inst\"},\"clusters\":{\"hdd-c1\":{\"location\":\"" PARENT
                        "/locations/us-east1-b\",\"serveNodes\":1,"
                        "\"defaultStorageType\":\"HDD\"}}}",
                        &sst),
        EM_OK);
    cJSON *request = cJSON_Parse("{\"tableId\":\"t\",\"table\":{\"tieredStorageConfig\":{"
                                 "\"infrequentAccess\":{\"includeIfOlderThan\":\"2592000s\"}}}}"),
          *out = NULL;
    assert_int_equal(
        bt_table_create(f->admin, PARENT "/instances/hdd-inst", request, NOW, &out, &sst),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(sst.message, "only available on SSD"));
    cJSON_Delete(request);
}

static void test_state_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_table(f, "{\"tableId\":\"t1\"}", &st), EM_OK);
    bt_admin_close(f->admin);
    assert_int_equal(bt_admin_open(f->dir.store, NULL, f->dir.path, &f->admin, &st), EM_OK);
    cJSON *t = get(f, "table", TABLE);
    cJSON_Delete(t);
    assert_int_equal(bt_instance_delete(f->admin, INST, &st), EM_OK);
    cJSON *list = NULL;
    assert_int_equal(bt_table_list(f->admin, INST, BT_VIEW_NAME_ONLY, &list, &st), EM_NOT_FOUND);
    assert_int_equal(bt_cluster_list(f->admin, PARENT "/instances/-", &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 0); /* the clusters went with the instance */
    cJSON_Delete(list);
}

/* --- deleted tables: recoverable for 7 days (bigtable_undelete.c) --- */

#define WINDOW_NS (BT_UNDELETE_WINDOW_S * EM_NS_PER_SEC)

static bool has_family(struct fixture *f, const char *family)
{
    cJSON *t = get(f, "table", TABLE);
    bool found = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), family) != NULL;
    cJSON_Delete(t);
    return found;
}

static enum em_code undelete(struct fixture *f, const char *name, int64_t now)
{
    struct em_status st = {0};
    cJSON *out = NULL;
    enum em_code rc = bt_table_undelete(f->admin, name, now, &out, &st);
    if (rc == EM_OK)
        assert_string_equal(em_json_string(out, "name"), name);
    cJSON_Delete(out);
    return rc;
}

static void test_undelete_within_the_window(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *t = NULL, *list = NULL;
    struct bt_route route;
    make_instance(f);
    assert_int_equal(create_table(f,
                                  "{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"cf1\":"
                                  "{\"gcRule\":{\"maxNumVersions\":1}}}}}",
                                  &st),
                     EM_OK);
    assert_int_equal(undelete(f, TABLE, NOW), EM_NOT_FOUND); /* live: nothing to undelete */
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);

    /* gone from get, list and the data plane */
    assert_int_equal(bt_table_get(f->admin, TABLE, BT_VIEW_SCHEMA, &t, &st), EM_NOT_FOUND);
    assert_int_equal(bt_table_list(f->admin, INST, BT_VIEW_NAME_ONLY, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    assert_int_equal(bt_route_for(f->admin, TABLE, NULL, &route, &st), EM_NOT_FOUND);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_NOT_FOUND);
    assert_int_equal(undelete(f, INST "/tables/never", NOW), EM_NOT_FOUND);
    assert_int_equal(undelete(f, "projects/p/tables/x", NOW), EM_INVALID_ARGUMENT);

    /* back, with its families, one second before the window ends */
    assert_int_equal(undelete(f, TABLE, NOW + WINDOW_NS - EM_NS_PER_SEC), EM_OK);
    assert_true(has_family(f, "cf1"));
    assert_int_equal(bt_route_for(f->admin, TABLE, NULL, &route, &st), EM_OK);
    bt_route_clear(&route);
    assert_int_equal(undelete(f, TABLE, NOW), EM_NOT_FOUND); /* live again */
}

static void test_deleted_table_expires_and_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(create_table(f, "{\"tableId\":\"t1\"}", &st), EM_OK);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    bt_admin_close(f->admin); /* a restart keeps it recoverable */
    assert_int_equal(bt_admin_open(f->dir.store, NULL, f->dir.path, &f->admin, &st), EM_OK);
    assert_int_equal(bt_deleted_tables_expire(f->admin, NOW + WINDOW_NS - 1, &st), EM_OK);
    /* the window is over even before the tick removes it */
    assert_int_equal(undelete(f, TABLE, NOW + WINDOW_NS), EM_NOT_FOUND);
    assert_int_equal(undelete(f, TABLE, NOW + WINDOW_NS - 1), EM_OK);

    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(bt_deleted_tables_expire(f->admin, NOW + WINDOW_NS, &st), EM_OK);
    assert_int_equal(undelete(f, TABLE, NOW + 1), EM_NOT_FOUND); /* gone for good */
}

static void test_same_id_and_instance_end_recovery(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f);
    assert_int_equal(
        create_table(f, "{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"old\":{}}}}", &st),
        EM_OK);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    /* a new table takes the id: the deleted one cannot come back */
    assert_int_equal(
        create_table(f, "{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"new\":{}}}}", &st),
        EM_OK);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(undelete(f, TABLE, NOW), EM_OK);
    assert_true(has_family(f, "new"));
    assert_false(has_family(f, "old"));

    /* a deleted table goes with its instance */
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(bt_instance_delete(f->admin, INST, &st), EM_OK);
    make_instance(f);
    assert_int_equal(undelete(f, TABLE, NOW), EM_NOT_FOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_instance_with_clusters),
        T(test_instance_refusals),
        T(test_cluster_updates),
        T(test_app_profiles_and_routing),
        T(test_app_profile_update_paths),
        T(test_app_profile_etag),
        T(test_app_profile_data_boost),
        T(test_tables),
        T(test_table_settings),
        T(test_state_survives_reopen),
        T(test_undelete_within_the_window),
        T(test_deleted_table_expires_and_survives_reopen),
        T(test_same_id_and_instance_end_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
