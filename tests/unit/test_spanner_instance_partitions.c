/*
 * test_spanner_instance_partitions: instance partitions (spanner_instance_partitions) on a
 * real metadata store: the create rules (edition, ID, config, display name unique in the
 * project, capacity), READY, listing one instance's or all, update by mask with the etag,
 * delete, and partitions going with their instance.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "em_json.h"
#include "spanner/spanner_admin.h"
#include "spanner/spanner_instance_partitions.h"
#include "unit_util.h"

#define PARENT "projects/parts-project"
#define ENT    PARENT "/instances/ent"
#define NOW    1700000000000000000LL

struct fixture {
    struct unit_dir dir;
    struct sp_admin *admin;
};

static void make_instance(struct fixture *f, const char *id, const char *edition)
{
    char json[256];
    struct em_status st = {0};
    cJSON *out = NULL;
    snprintf(json, sizeof(json),
             "{\"config\":\"" PARENT "/instanceConfigs/regional-us-central1\","
             "\"displayName\":\"Instance\",\"edition\":\"%s\"}",
             edition);
    cJSON *request = cJSON_Parse(json);
    assert_int_equal(sp_instance_create(f->admin, PARENT, id, request, NOW, &out, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
}

static int setup(void **state)
{
    static struct fixture f;
    struct em_status st = {0};
    if (unit_dir_open(&f.dir) || sp_admin_open(f.dir.store, NULL, &f.admin, &st))
        return -1;
    make_instance(&f, "ent", "ENTERPRISE_PLUS");
    make_instance(&f, "std", "STANDARD");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sp_admin_close(f->admin);
    unit_dir_close(&f->dir);
    return 0;
}

/* CreateInstancePartition of id under instance with these partition fields. */
static enum em_code create(struct fixture *f, const char *instance, const char *id,
                           const char *fields, struct em_status *st)
{
    char json[512];
    snprintf(json, sizeof(json), "{\"instancePartitionId\":\"%s\",\"instancePartition\":{%s}}", id,
             fields);
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc = sp_partition_create(f->admin, instance, request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

#define CONFIG(c) "\"config\":\"" PARENT "/instanceConfigs/" c "\""

static void test_create_rules(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    static const struct {
        const char *instance, *id, *fields;
        enum em_code code;
    } cases[] = {
        {ENT, "p1", CONFIG("regional-us-east1") ",\"displayName\":\"Part one\"", EM_OK},
        {ENT, "p1", CONFIG("regional-us-east1") ",\"displayName\":\"Part new\"", EM_ALREADY_EXISTS},
        {ENT, "p2", CONFIG("regional-us-east1") ",\"displayName\":\"Part one\"",
         EM_ALREADY_EXISTS}, /* the display name is the project's already */
        {PARENT "/instances/std", "p2", CONFIG("regional-us-east1") ",\"displayName\":\"Part two\"",
         EM_FAILED_PRECONDITION}, /* not ENTERPRISE_PLUS */
        {PARENT "/instances/none", "p2",
         CONFIG("regional-us-east1") ",\"displayName\":\"Part two\"", EM_NOT_FOUND},
        {ENT, "2p", CONFIG("regional-us-east1") ",\"displayName\":\"Part two\"",
         EM_INVALID_ARGUMENT},
        {ENT, "p2-", CONFIG("regional-us-east1") ",\"displayName\":\"Part two\"",
         EM_INVALID_ARGUMENT},
        {ENT, "p2", CONFIG("nowhere") ",\"displayName\":\"Part two\"", EM_NOT_FOUND},
        {ENT, "p2", "\"displayName\":\"Part two\"", EM_INVALID_ARGUMENT}, /* no config */
        {ENT, "p2", CONFIG("regional-us-east1") ",\"displayName\":\"P2\"", EM_INVALID_ARGUMENT},
        {ENT, "p2",
         CONFIG("regional-us-east1") ",\"displayName\":\"Part two\",\"nodeCount\":1,"
                                     "\"processingUnits\":1000",
         EM_INVALID_ARGUMENT},
        {ENT, "p2",
         CONFIG("regional-us-east1") ",\"displayName\":\"Part two\",\"processingUnits\":500",
         EM_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum em_code rc = create(f, cases[i].instance, cases[i].id, cases[i].fields, &st);
        if (rc != cases[i].code)
            fail_msg("case %zu (%s): %d, expected %d: %s", i, cases[i].id, rc, cases[i].code,
                     st.message);
    }
    cJSON *p2 = NULL, *all = NULL;
    assert_int_equal(sp_partition_ready(f->admin, ENT "/instancePartitions/p2", &p2, &st), EM_OK);
    assert_string_equal(em_json_string(p2, "state"), "READY");
    int64_t units = 0;
    assert_true(em_json_int64(p2, "processingUnits", &units));
    assert_int_equal(units, 500);
    assert_null(cJSON_GetObjectItem(p2, "nodeCount")); /* below one node */
    cJSON_Delete(p2);
    assert_int_equal(sp_partition_list(f->admin, PARENT "/instances/-", &all, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(all), 2);
    cJSON_Delete(all);
}

static enum em_code update(struct fixture *f, const char *json, struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc =
        sp_partition_update(f->admin, ENT "/instancePartitions/p1", request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_update_delete_and_cascade(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *p = NULL;
    assert_int_equal(
        create(f, ENT, "p1", CONFIG("regional-us-east1") ",\"displayName\":\"Part one\"", &st),
        EM_OK);
    assert_int_equal(sp_partition_get(f->admin, ENT "/instancePartitions/p1", &p, &st), EM_OK);
    char etag[64], json[256];
    snprintf(etag, sizeof(etag), "%s", em_json_string(p, "etag"));
    cJSON_Delete(p);
    snprintf(
        json, sizeof(json),
        "{\"instancePartition\":{\"nodeCount\":3,\"etag\":\"%s\"},\"fieldMask\":\"node_count\"}",
        etag);
    assert_int_equal(update(f, json, &st), EM_OK);
    assert_int_equal(update(f, json, &st), EM_ABORTED); /* that etag is gone */
    assert_int_equal(
        update(f, "{\"instancePartition\":{\"config\":\"x\"},\"fieldMask\":\"config\"}", &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"instancePartition\":{\"displayName\":\"Part two\"}}", &st),
                     EM_INVALID_ARGUMENT); /* no mask */
    assert_int_equal(sp_partition_delete(f->admin, ENT "/instancePartitions/p1", "stale", &st),
                     EM_ABORTED);
    assert_int_equal(
        create(f, ENT, "p2", CONFIG("regional-us-east1") ",\"displayName\":\"Part two\"", &st),
        EM_OK);
    assert_int_equal(sp_partition_delete(f->admin, ENT "/instancePartitions/p2", NULL, &st), EM_OK);
    assert_int_equal(sp_partition_get(f->admin, ENT "/instancePartitions/p2", &p, &st),
                     EM_NOT_FOUND);
    /* the instance's deletion takes its partitions */
    assert_int_equal(sp_instance_delete(f->admin, ENT, &st), EM_OK);
    assert_int_equal(sp_partition_get(f->admin, ENT "/instancePartitions/p1", &p, &st),
                     EM_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_delete_and_cascade, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
