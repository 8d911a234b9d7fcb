/*
 * test_spanner_instance_configs: user-managed instance configurations
 * (spanner_instance_configs) on a real metadata store: the create rules (ID, base config,
 * replicas against the base's and its optional ones), validateOnly, update with the mask
 * and etag rules, delete refused while an instance uses the config, the key rules of a
 * database on such a config, and moving an instance (sp_instance_move).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "em_json.h"
#include "spanner/spanner_admin.h"
#include "spanner/spanner_instance_configs.h"
#include "unit_util.h"

#define PARENT  "projects/configs-project"
#define CONFIGS PARENT "/instanceConfigs/"
#define NOW     1700000000000000000LL
#define NAM3                                                                                       \
    "{\"location\":\"us-east4\",\"type\":\"READ_WRITE\"},{\"location\":\"us-east1\",\"type\":"     \
    "\"READ_WRITE\"},{\"location\":\"us-central1\",\"type\":\"WITNESS\"}"
#define WEST_RO "{\"location\":\"us-west1\",\"type\":\"READ_ONLY\"}"

struct fixture {
    struct unit_dir dir;
    struct sp_admin *admin;
};

static int setup(void **state)
{
    static struct fixture f;
    struct em_status st = {0};
    if (unit_dir_open(&f.dir) || sp_admin_open(f.dir.store, NULL, &f.admin, &st))
        return -1;
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

/* CreateInstanceConfig of id on base with these replicas (JSON array items). */
static enum em_code create(struct fixture *f, const char *id, const char *base,
                           const char *replicas, bool validate_only, struct em_status *st)
{
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"instanceConfigId\":\"%s\",\"validateOnly\":%s,\"instanceConfig\":{\"baseConfig\":"
             "\"" CONFIGS "%s\",\"displayName\":\"Config\",\"replicas\":[%s]}}",
             id, validate_only ? "true" : "false", base, replicas);
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    *st = (struct em_status){0};
    enum em_code rc = sp_instance_config_create(f->admin, PARENT, request, &out, st);
    if (!rc)
        assert_string_equal(em_json_string(out, "state"), "CREATING");
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static cJSON *find(struct fixture *f, const char *id)
{
    cJSON *out = NULL;
    struct em_status st = {0};
    sp_instance_config_find(sp_admin_store(f->admin), "configs-project", id, &out, &st);
    return out;
}

static void test_create_rules(void **state)
{
    struct fixture *f = *state;
    struct em_status st;
    static const struct {
        const char *id, *base, *replicas;
        enum em_code code;
    } cases[] = {
        {"custom-ok", "nam3", NAM3 "," WEST_RO, EM_OK},
        {"custom-copy", "nam3", NAM3, EM_OK}, /* as Google's Node.js sample does */
        {"custom-ok", "nam3", NAM3 "," WEST_RO, EM_ALREADY_EXISTS},
        {"ok", "nam3", NAM3, EM_INVALID_ARGUMENT},            /* no custom- */
        {"custom-", "nam3", NAM3, EM_INVALID_ARGUMENT},       /* nothing after it */
        {"custom-A", "nam3", NAM3, EM_INVALID_ARGUMENT},      /* uppercase */
        {"custom-a-", "nam3", NAM3, EM_INVALID_ARGUMENT},     /* ends with a hyphen */
        {"custom-b", "nam9", NAM3, EM_NOT_FOUND},             /* no such base */
        {"custom-c", "custom-ok", NAM3, EM_INVALID_ARGUMENT}, /* a user-managed base */
        {"custom-d", "nam3", WEST_RO, EM_INVALID_ARGUMENT},   /* the base's replicas missing */
        {"custom-e", "nam3", NAM3 ",{\"location\":\"us-west1\",\"type\":\"WITNESS\"}",
         EM_INVALID_ARGUMENT}, /* not an optional replica */
        {"custom-f", "nam3", NAM3 "," WEST_RO "," WEST_RO, EM_INVALID_ARGUMENT}, /* twice */
        {"custom-g", "nam3", NAM3 ",{\"location\":\"us-west1\"}", EM_INVALID_ARGUMENT},
        {"custom-h", "emulator-config",
         "{\"location\":\"emulator\",\"type\":\"READ_WRITE\"}," WEST_RO,
         EM_INVALID_ARGUMENT}, /* the emulator's config offers no optional replica */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum em_code rc = create(f, cases[i].id, cases[i].base, cases[i].replicas, false, &st);
        if (rc != cases[i].code)
            fail_msg("case %zu (%s): %d, expected %d: %s", i, cases[i].id, rc, cases[i].code,
                     st.message);
    }
    cJSON *made = find(f, "custom-ok");
    assert_non_null(made);
    assert_string_equal(em_json_string(made, "configType"), "USER_MANAGED");
    assert_string_equal(em_json_string(made, "baseConfig"), CONFIGS "nam3");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(made, "replicas")), 4);
    cJSON_Delete(made);
    assert_null(find(f, "custom-d"));
    /* too many replicas: refused before they are compared with each other */
    char *many = malloc(300 * 64);
    size_t len = 0;
    for (int i = 0; i < 300; i++)
        len += (size_t)sprintf(many + len, "%s" WEST_RO, i ? "," : "");
    cJSON *request = cJSON_CreateObject(),
          *given = cJSON_AddObjectToObject(request, "instanceConfig"), *out = NULL;
    char replicas[300 * 64 + 2];
    snprintf(replicas, sizeof(replicas), "[%s]", many);
    free(many);
    cJSON_AddStringToObject(request, "instanceConfigId", "custom-many");
    cJSON_AddStringToObject(given, "baseConfig", CONFIGS "nam3");
    cJSON_AddStringToObject(given, "displayName", "Many");
    cJSON_AddItemToObject(given, "replicas", cJSON_Parse(replicas));
    assert_int_equal(sp_instance_config_create(f->admin, PARENT, request, &out, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "holds 300 replicas"));
    cJSON_Delete(request);
    /* validateOnly: checked, not kept */
    assert_int_equal(create(f, "custom-v", "nam3", NAM3 "," WEST_RO, true, &st), EM_OK);
    assert_null(find(f, "custom-v"));
    assert_int_equal(create(f, "custom-v", "nam3", WEST_RO, true, &st), EM_INVALID_ARGUMENT);
}

static enum em_code update(struct fixture *f, const char *id, const char *json,
                           struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    *st = (struct em_status){0};
    char name[128];
    snprintf(name, sizeof(name), CONFIGS "%s", id);
    enum em_code rc = sp_instance_config_update(f->admin, name, request, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_update_and_etag(void **state)
{
    struct fixture *f = *state;
    struct em_status st;
    assert_int_equal(create(f, "custom-u", "nam3", NAM3 "," WEST_RO, false, &st), EM_OK);
    cJSON *before = find(f, "custom-u");
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", em_json_string(before, "etag"));
    cJSON_Delete(before);
    char json[256];
    snprintf(json, sizeof(json),
             "{\"instanceConfig\":{\"displayName\":\"Renamed\",\"etag\":\"%s\"},"
             "\"updateMask\":\"display_name\"}",
             etag);
    assert_int_equal(update(f, "custom-u", json, &st), EM_OK);
    cJSON *after = find(f, "custom-u");
    assert_string_equal(em_json_string(after, "displayName"), "Renamed");
    assert_string_not_equal(em_json_string(after, "etag"), etag);
    cJSON_Delete(after);
    assert_int_equal(update(f, "custom-u", json, &st), EM_ABORTED); /* the old etag */
    assert_int_equal(
        update(f, "custom-u", "{\"instanceConfig\":{},\"updateMask\":\"replicas\"}", &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "custom-u", "{\"instanceConfig\":{\"displayName\":\"X\"}}", &st),
                     EM_INVALID_ARGUMENT); /* no mask */
    assert_int_equal(
        update(f, "custom-u",
               "{\"instanceConfig\":{\"displayName\":\"\"},\"updateMask\":\"displayName\"}", &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(
        update(f, "nam3",
               "{\"instanceConfig\":{\"displayName\":\"X\"},\"updateMask\":\"displayName\"}", &st),
        EM_FAILED_PRECONDITION);
    assert_int_equal(
        update(f, "custom-none",
               "{\"instanceConfig\":{\"displayName\":\"X\"},\"updateMask\":\"displayName\"}", &st),
        EM_NOT_FOUND);
    cJSON *ready = NULL;
    assert_int_equal(sp_instance_config_ready(f->admin, CONFIGS "custom-u", &ready, &st), EM_OK);
    assert_string_equal(em_json_string(ready, "state"), "READY");
    assert_null(cJSON_GetObjectItem(ready, "reconciling"));
    cJSON_Delete(ready);
}

static enum em_code create_instance(struct fixture *f, const char *id, const char *config,
                                    struct em_status *st)
{
    char json[256];
    snprintf(json, sizeof(json), "{\"config\":\"" CONFIGS "%s\",\"displayName\":\"Instance\"}",
             config);
    cJSON *request = cJSON_Parse(json), *out = NULL;
    *st = (struct em_status){0};
    enum em_code rc = sp_instance_create(f->admin, PARENT, id, request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_instances_and_delete(void **state)
{
    struct fixture *f = *state;
    struct em_status st;
    cJSON *ready = NULL;
    assert_int_equal(create(f, "custom-i", "nam3", NAM3 "," WEST_RO, false, &st), EM_OK);
    /* no instance on a config still being created */
    assert_int_equal(create_instance(f, "early", "custom-i", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(sp_instance_config_ready(f->admin, CONFIGS "custom-i", &ready, &st), EM_OK);
    cJSON_Delete(ready);
    assert_int_equal(create_instance(f, "inst", "custom-i", &st), EM_OK);
    /* a database on it: kms_key_names, regional keys only; no single kms_key_name */
    cJSON *request = cJSON_Parse("{\"createStatement\":\"CREATE DATABASE db\",\"encryptionConfig\":"
                                 "{\"kmsKeyName\":\"" PARENT "/locations/nam3/keyRings/r/"
                                 "cryptoKeys/k\"}}"),
          *out = NULL;
    char name[SP_NAME_MAX];
    assert_int_equal(
        sp_database_create(f->admin, PARENT "/instances/inst", request, NOW, name, &out, &st),
        EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
    cJSON_Delete(out);
    assert_non_null(strstr(st.message, "is user-managed: give kms_key_names"));
#define KEY(loc) "\"" PARENT "/locations/" loc "/keyRings/r/cryptoKeys/k\""
    static const struct {
        const char *keys;
        enum em_code code;
    } keys[] = {
        {KEY("nam3"), EM_INVALID_ARGUMENT}, /* a multi-region key */
        {KEY("us-east4") "," KEY("us-east1") "," KEY("us-central1"), EM_INVALID_ARGUMENT},
        {KEY("nam3") "," KEY("us-west1"), EM_INVALID_ARGUMENT},
        {KEY("us-east4") "," KEY("us-east1") "," KEY("us-central1") "," KEY("us-west1"), EM_OK},
    };
#undef KEY
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"createStatement\":\"CREATE DATABASE db%zu\",\"encryptionConfig\":{"
                 "\"kmsKeyNames\":[%s]}}",
                 i, keys[i].keys);
        request = cJSON_Parse(json);
        out = NULL;
        enum em_code rc =
            sp_database_create(f->admin, PARENT "/instances/inst", request, NOW, name, &out, &st);
        cJSON_Delete(request);
        cJSON_Delete(out);
        if (rc != keys[i].code)
            fail_msg("keys %zu: %d, expected %d: %s", i, rc, keys[i].code, st.message);
    }
    assert_int_equal(sp_instance_config_delete(f->admin, CONFIGS "custom-i", NULL, false, &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(sp_instance_delete(f->admin, PARENT "/instances/inst", &st), EM_OK);
    assert_int_equal(sp_instance_config_delete(f->admin, CONFIGS "custom-i", "stale", false, &st),
                     EM_ABORTED);
    assert_int_equal(sp_instance_config_delete(f->admin, CONFIGS "custom-i", NULL, true, &st),
                     EM_OK);
    cJSON *kept = find(f, "custom-i");
    assert_non_null(kept); /* validateOnly */
    cJSON_Delete(kept);
    assert_int_equal(sp_instance_config_delete(f->admin, CONFIGS "custom-i", "", false, &st),
                     EM_OK);
    assert_null(find(f, "custom-i"));
    assert_int_equal(sp_instance_config_delete(f->admin, CONFIGS "nam3", NULL, false, &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(create_instance(f, "late", "custom-i", &st), EM_NOT_FOUND);
}

static enum em_code move(struct fixture *f, const char *json, bool check_only, struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc =
        check_only ? sp_instance_move_check(f->admin, PARENT "/instances/inst", request, st)
                   : sp_instance_move(f->admin, PARENT "/instances/inst", request, NOW, &out, st);
    if (!rc && !check_only)
        assert_string_equal(em_json_string(out, "config"), CONFIGS "nam3");
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_move(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *out = NULL;
    cJSON *request = cJSON_Parse("{\"config\":\"" CONFIGS "regional-us-central1\","
                                 "\"displayName\":\"Instance\"}");
    assert_int_equal(sp_instance_create(f->admin, PARENT, "inst", request, NOW, &out, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
    char name[SP_NAME_MAX];
    request = cJSON_Parse("{\"createStatement\":\"CREATE DATABASE secure\",\"encryptionConfig\":"
                          "{\"kmsKeyName\":\"" PARENT "/locations/us-central1/keyRings/r/"
                          "cryptoKeys/k\"}}");
    assert_int_equal(
        sp_database_create(f->admin, PARENT "/instances/inst", request, NOW, name, &out, &st),
        EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
    static const char nam3[] = "{\"targetConfig\":\"" CONFIGS "nam3\"";
    char json[512];
    assert_int_equal(move(f, "{}", true, &st), EM_INVALID_ARGUMENT);
    snprintf(json, sizeof(json), "%s}", nam3);
    assert_int_equal(move(f, json, true, &st), EM_INVALID_ARGUMENT); /* the CMEK database */
    snprintf(json, sizeof(json),
             "%s,\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\","
             "\"encryptionConfig\":{\"kmsKeyNames\":[\"" PARENT "/locations/nam3/keyRings/r/"
             "cryptoKeys/k\"]}},{\"databaseId\":\"secure\"}]}",
             nam3);
    assert_int_equal(move(f, json, true, &st), EM_INVALID_ARGUMENT);      /* named twice */
    assert_non_null(strstr(st.message, "holds 2 entries, but instance")); /* one database */
    snprintf(json, sizeof(json),
             "%s,\"targetDatabaseMoveConfigs\":[{\"databaseId\":\"secure\","
             "\"encryptionConfig\":{\"kmsKeyNames\":[\"" PARENT "/locations/nam3/keyRings/r/"
             "cryptoKeys/k\"]}}]}",
             nam3);
    assert_int_equal(move(f, json, true, &st), EM_OK);
    assert_int_equal(move(f, json, false, &st), EM_OK);
    assert_int_equal(move(f, json, true, &st), EM_FAILED_PRECONDITION); /* there already */
    assert_int_equal(move(f, json, false, &st), EM_OK); /* the operation run again: done */
    cJSON *db = NULL;
    assert_int_equal(sp_database_get(f->admin, PARENT "/instances/inst/databases/secure", &db, &st),
                     EM_OK);
    assert_string_equal(
        cJSON_GetArrayItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(db, "encryptionConfig"), "kmsKeyNames"), 0)
            ->valuestring,
        PARENT "/locations/nam3/keyRings/r/cryptoKeys/k");
    cJSON_Delete(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instances_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
