/*
 * test_spanner_admin: Spanner's admin domain (spanner_admin) on a real metadata store:
 * instance configurations, instances (IDs, configs, capacity, update masks), databases
 * (the CREATE DATABASE statement, dialects, DDL applied all or nothing with the canonical
 * getDdl text, the KMS key location rule), deletion, and state surviving a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "spanner/spanner_admin.h"
#include "spanner/spanner_instance_settings.h"
#include "unit_util.h"

#define PARENT  "projects/admin-project"
#define INST    PARENT "/instances/inst"
#define CONFIGS PARENT "/instanceConfigs/"
#define NOW     1700000000000000000LL

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

/* Creates an instance from JSON text; returns the code. */
static enum em_code create_instance(struct fixture *f, const char *id, const char *json,
                                    struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc = sp_instance_create(f->admin, PARENT, id, request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void make_instance(struct fixture *f, const char *config)
{
    char json[256];
    struct em_status st = {0};
    snprintf(json, sizeof(json), "{\"config\":\"" CONFIGS "%s\",\"displayName\":\"Instance\"}",
             config);
    assert_int_equal(create_instance(f, "inst", json, &st), EM_OK);
}

static enum em_code create_database(struct fixture *f, const char *json, struct em_status *st)
{
    char name[SP_NAME_MAX];
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc = sp_database_create(f->admin, INST, request, NOW, name, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

/* The database's getDdl statements joined with "\n;\n". */
static char *ddl_text(struct fixture *f, const char *db)
{
    struct em_status st = {0};
    cJSON *statements;
    assert_int_equal(sp_database_ddl(f->admin, db, &statements, &st), EM_OK);
    size_t len = 1;
    const cJSON *s;
    for (s = statements->child; s; s = s->next)
        len += strlen(s->valuestring) + 3;
    char *text = calloc(1, len);
    cJSON_ArrayForEach(s, statements)
    {
        strcat(text, s->valuestring);
        strcat(text, "\n;\n");
    }
    cJSON_Delete(statements);
    return text;
}

static void test_configs(void **state)
{
    (void)state;
    cJSON *all = sp_configs_list("p");
    int regional = 0, emulator = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, all)
    {
        regional +=
            strncmp(em_json_string(c, "name"), "projects/p/instanceConfigs/regional-", 36) == 0;
        emulator +=
            strcmp(em_json_string(c, "name"), "projects/p/instanceConfigs/emulator-config") == 0;
    }
    assert_true(regional > 20);
    assert_int_equal(emulator, 1);
    cJSON_Delete(all);
    cJSON *nam3 = sp_config_get("p", "nam3");
    assert_non_null(nam3);
    cJSON *replicas = cJSON_GetObjectItem(nam3, "replicas");
    assert_int_equal(cJSON_GetArraySize(replicas), 3);
    assert_string_equal(em_json_string(cJSON_GetArrayItem(replicas, 2), "type"), "WITNESS");
    cJSON_Delete(nam3);
    assert_null(sp_config_get("p", "regional-mars1"));
    assert_null(sp_config_get("p", "regional-us")); /* a multi-region location is no region */
}

static void test_instance_rules(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    const char *ok = "{\"config\":\"" CONFIGS "regional-us-central1\",\"displayName\":\"Test\"}";
    assert_int_equal(create_instance(f, "Bad_Id", ok, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create_instance(f, "ends-", ok, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create_instance(f, "inst",
                                     "{\"config\":\"" CONFIGS "mars1\",\"displayName\":"
                                     "\"Test\"}",
                                     &st),
                     EM_NOT_FOUND);
    assert_int_equal(create_instance(f, "inst",
                                     "{\"config\":\"projects/other-project/instanceConfigs/nam3\","
                                     "\"displayName\":\"Test\"}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_instance(f, "inst",
                                     "{\"config\":\"" CONFIGS "nam3\",\"displayName\":"
                                     "\"abc\"}",
                                     &st),
                     EM_INVALID_ARGUMENT); /* display names are 4 to 30 characters */
    assert_int_equal(create_instance(f, "inst",
                                     "{\"config\":\"" CONFIGS
                                     "nam3\",\"displayName\":\"Test\",\"processingUnits\":1500}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_instance(f, "inst",
                                     "{\"config\":\"" CONFIGS
                                     "nam3\",\"displayName\":\"Test\",\"processingUnits\":300}",
                                     &st),
                     EM_OK);
    cJSON *inst;
    assert_int_equal(sp_instance_get(f->admin, INST, &inst, &st), EM_OK);
    assert_string_equal(em_json_string(inst, "state"), "CREATING");
    assert_null(cJSON_GetObjectItem(inst, "nodeCount")); /* 0 nodes: left out, as Google */
    assert_int_equal(cJSON_GetObjectItem(inst, "processingUnits")->valueint, 300);
    cJSON_Delete(inst);
    assert_int_equal(create_instance(f, "inst", ok, &st), EM_ALREADY_EXISTS);
    assert_int_equal(sp_instance_ready(f->admin, INST, NOW, &inst, &st), EM_OK);
    assert_string_equal(em_json_string(inst, "state"), "READY");
    cJSON_Delete(inst);
}

/* The capacity an instance created from json gets: its processingUnits, or -1 when refused
 * with INVALID_ARGUMENT. */
static int created_units(struct fixture *f, const char *id, const char *capacity)
{
    char json[256];
    struct em_status st = {0};
    snprintf(json, sizeof(json), "{\"config\":\"" CONFIGS "nam3\",\"displayName\":\"Test\"%s}",
             capacity);
    enum em_code rc = create_instance(f, id, json, &st);
    if (rc == EM_INVALID_ARGUMENT)
        return -1;
    assert_int_equal(rc, EM_OK);
    char name[128];
    snprintf(name, sizeof(name), PARENT "/instances/%s", id);
    cJSON *inst;
    assert_int_equal(sp_instance_get(f->admin, name, &inst, &st), EM_OK);
    int units = cJSON_GetObjectItem(inst, "processingUnits")->valueint;
    cJSON_Delete(inst);
    return units;
}

/* "At most, one of either node_count or processing_units should be present"; a zero is
 * proto3's default, a field left out; neither is one node. */
static void test_instance_capacity(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(created_units(f, "both", ",\"nodeCount\":1,\"processingUnits\":1000"), -1);
    assert_int_equal(created_units(f, "both2", ",\"nodeCount\":2,\"processingUnits\":1000"), -1);
    assert_int_equal(created_units(f, "neither", ""), 1000);
    assert_int_equal(created_units(f, "zero-nodes", ",\"nodeCount\":0"), 1000);
    assert_int_equal(created_units(f, "zero-units", ",\"processingUnits\":0,\"nodeCount\":2"),
                     2000);
    assert_int_equal(created_units(f, "units", ",\"nodeCount\":0,\"processingUnits\":200"), 200);
    assert_int_equal(created_units(f, "negative", ",\"nodeCount\":-1"), -1);
}

static enum em_code update(struct fixture *f, const char *json, const char *mask)
{
    struct em_status st = {0};
    cJSON *request = cJSON_Parse(json), *out = NULL;
    enum em_code rc = sp_instance_update(f->admin, INST, request, mask, NOW + 1, &out, &st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_instance_update(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "regional-europe-west1");
    assert_int_equal(update(f, "{\"displayName\":\"New name\",\"nodeCount\":4}", ""),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"config\":\"x\"}", "config"), EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"nodeCount\":0}", "nodeCount"), EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"autoscalingConfig\":{}}", "autoscalingConfig"),
                     EM_UNIMPLEMENTED);
    /* a failed mask changes nothing, even the fields before the bad one */
    assert_int_equal(update(f, "{\"displayName\":\"New name\"}", "displayName,bogus"),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"displayName\":\"New name\"}", " , "), EM_INVALID_ARGUMENT);
    assert_int_equal(update(f, "{\"displayName\":\"New name\",\"nodeCount\":4}",
                            "display_name, nodeCount"), /* either spelling, spaces trimmed */
                     EM_OK);
    cJSON *inst;
    assert_int_equal(sp_instance_get(f->admin, INST, &inst, &st), EM_OK);
    assert_string_equal(em_json_string(inst, "displayName"), "New name");
    assert_int_equal(cJSON_GetObjectItem(inst, "processingUnits")->valueint, 4000);
    cJSON_Delete(inst);
    assert_int_equal(sp_instance_update(f->admin, PARENT "/instances/nope", NULL, "displayName",
                                        NOW, &inst, &st),
                     EM_NOT_FOUND);
}

static void test_database_create(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `db`\"}", &st),
                     EM_NOT_FOUND); /* no instance yet */
    make_instance(f, "regional-us-central1");
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE TABLE db\"}", &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `Db`\"}", &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `db` x\"}", &st),
                     EM_INVALID_ARGUMENT);
    /* GoogleSQL reads a bare my-db as a subtraction: an ID with a '-' is backquoted */
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE my-db\"}", &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "CREATE DATABASE `my-db`"));
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `my-db`\"}", &st),
                     EM_OK);
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE pg\","
                                     "\"databaseDialect\":\"POSTGRESQL\"}",
                                     &st),
                     EM_UNIMPLEMENTED);
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE `db`\","
                                     "\"extraStatements\":[\"CREATE TABLE T (K INT64) PRIMARY KEY "
                                     "(K)\",\"CREATE TABLE T (K INT64) PRIMARY KEY (K)\"]}",
                                     &st),
                     EM_FAILED_PRECONDITION); /* the second CREATE TABLE T: nothing is created */
    cJSON *db;
    assert_int_equal(sp_database_get(f->admin, INST "/databases/db", &db, &st), EM_NOT_FOUND);
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"  create database db ;\","
                                     "\"extraStatements\":[\"CREATE TABLE T (K INT64 NOT NULL, "
                                     "V STRING(10)) PRIMARY KEY (K)\"]}",
                                     &st),
                     EM_OK);
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `db`\"}", &st),
                     EM_ALREADY_EXISTS);
    char *text = ddl_text(f, INST "/databases/db");
    assert_string_equal(text, "CREATE TABLE T (\n  K INT64 NOT NULL,\n  V STRING(10),\n) PRIMARY "
                              "KEY(K)\n;\n");
    free(text);
    assert_int_equal(sp_database_ready(f->admin, INST "/databases/db", &db, &st), EM_OK);
    assert_string_equal(em_json_string(db, "state"), "READY");
    assert_string_equal(em_json_string(db, "databaseDialect"), "GOOGLE_STANDARD_SQL");
    cJSON_Delete(db);
}

static void test_update_ddl_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "emulator-config");
    assert_int_equal(
        create_database(f,
                        "{\"createStatement\":\"CREATE DATABASE `db`\",\"extraStatements\":["
                        "\"CREATE TABLE T (K INT64 NOT NULL) PRIMARY KEY (K)\"]}",
                        &st),
        EM_OK);
    char *before = ddl_text(f, INST "/databases/db");
    cJSON *bad = cJSON_Parse("[\"ALTER TABLE T ADD COLUMN A INT64\",\"ALTER TABLE Nope ADD "
                             "COLUMN B INT64\"]");
    assert_int_not_equal(sp_database_update_ddl(f->admin, INST "/databases/db", bad, &st), EM_OK);
    assert_non_null(strstr(st.message, "Nope"));
    char *after = ddl_text(f, INST "/databases/db");
    assert_string_equal(before, after);
    free(after);
    cJSON *good = cJSON_Parse("[\"ALTER TABLE T ADD COLUMN A INT64\",\"CREATE INDEX TA ON T(A)\"]");
    st = (struct em_status){0};
    assert_int_equal(sp_database_update_ddl(f->admin, INST "/databases/db", good, &st), EM_OK);
    after = ddl_text(f, INST "/databases/db");
    assert_string_equal(after, "CREATE TABLE T (\n  K INT64 NOT NULL,\n  A INT64,\n) PRIMARY "
                               "KEY(K)\n;\nCREATE INDEX TA ON T(A)\n;\n");
    free(before);
    free(after);
    cJSON *empty = cJSON_CreateArray();
    assert_int_equal(sp_database_update_ddl(f->admin, INST "/databases/db", empty, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(bad);
    cJSON_Delete(good);
    cJSON_Delete(empty);
}

static void test_key_location(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "regional-us-central1");
    assert_int_equal(
        create_database(f,
                        "{\"createStatement\":\"CREATE DATABASE `a1`\","
                        "\"encryptionConfig\":{\"kmsKeyName\":\"projects/admin-project/"
                        "locations/europe-west1/keyRings/r/cryptoKeys/k\"}}",
                        &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "europe-west1"));
    assert_non_null(strstr(st.message, "us-central1"));
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE `a2`\","
                                     "\"encryptionConfig\":{\"kmsKeyName\":\"not a key\"}}",
                                     &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        create_database(f,
                        "{\"createStatement\":\"CREATE DATABASE `a3`\","
                        "\"encryptionConfig\":{\"kmsKeyName\":\"projects/admin-project/"
                        "locations/us-central1/keyRings/r/cryptoKeys/k\"}}",
                        &st),
        EM_OK);
    cJSON *db;
    assert_int_equal(sp_database_get(f->admin, INST "/databases/a3", &db, &st), EM_OK);
    assert_string_equal(em_json_string(cJSON_GetObjectItem(db, "encryptionConfig"), "kmsKeyName"),
                        "projects/admin-project/locations/us-central1/keyRings/r/cryptoKeys/k");
    cJSON_Delete(db);
}

static void test_multi_region_keys(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "nam3");
#define KEY(loc) "\"projects/admin-project/locations/" loc "/keyRings/r/cryptoKeys/k\""
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE `m1`\","
                                     "\"encryptionConfig\":{\"kmsKeyNames\":[" KEY(
                                         "us-east4") "," KEY("us-east1") "]}}",
                                     &st),
                     EM_INVALID_ARGUMENT); /* no key in the witness region us-central1 */
    assert_non_null(strstr(st.message, "us-central1"));
    assert_int_equal(
        create_database(f,
                        "{\"createStatement\":\"CREATE DATABASE `m2`\","
                        "\"encryptionConfig\":{\"kmsKeyNames\":[" KEY("us-east4") "," KEY(
                            "us-east1") "," KEY("us-central1") "]}}",
                        &st),
        EM_OK);
    /* one multi-region key in the config's own location covers every region */
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE `m3`\","
                                     "\"encryptionConfig\":{\"kmsKeyNames\":[" KEY("nam3") "]}}",
                                     &st),
                     EM_OK);
    assert_int_equal(create_database(f,
                                     "{\"createStatement\":\"CREATE DATABASE `m4`\","
                                     "\"encryptionConfig\":{\"kmsKeyNames\":[" KEY("eur3") "]}}",
                                     &st),
                     EM_INVALID_ARGUMENT);
#undef KEY
}

static enum em_code change_quorum(struct fixture *f, const char *json, bool apply,
                                  struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc =
        apply ? sp_database_change_quorum(f->admin, INST "/databases/qdb", request, NOW, &out, st)
              : sp_database_change_quorum_check(f->admin, INST "/databases/qdb", request, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_change_quorum(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "dual-region-india1");
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `qdb`\"}", &st),
                     EM_OK);
    static const struct {
        const char *json;
        enum em_code code;
    } cases[] = {
        {"{\"quorumType\":{\"singleRegion\":{\"servingLocation\":\"asia-south2\"}}}", EM_OK},
        {"{\"quorumType\":{\"dualRegion\":{}}}", EM_OK},
        {"{\"quorumType\":{\"singleRegion\":{\"servingLocation\":\"us-east1\"}}}",
         EM_INVALID_ARGUMENT},
        {"{\"quorumType\":{\"singleRegion\":{}}}", EM_INVALID_ARGUMENT},
        {"{\"quorumType\":{\"singleRegion\":{\"servingLocation\":\"asia-south1\"},"
         "\"dualRegion\":{}}}",
         EM_INVALID_ARGUMENT},
        {"{}", EM_INVALID_ARGUMENT},
        {"{\"quorumType\":{\"dualRegion\":{}},\"etag\":\"stale\"}", EM_ABORTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (change_quorum(f, cases[i].json, false, &st) != cases[i].code)
            fail_msg("case %zu: %d, expected %d: %s", i, st.code, cases[i].code, st.message);
    assert_int_equal(change_quorum(f, cases[0].json, true, &st), EM_OK);
    cJSON *db = NULL;
    assert_int_equal(sp_database_get(f->admin, INST "/databases/qdb", &db, &st), EM_OK);
    const cJSON *info = cJSON_GetObjectItem(db, "quorumInfo");
    assert_string_equal(em_json_string(info, "initiator"), "USER");
    char check[160];
    snprintf(check, sizeof(check), "{\"quorumType\":{\"dualRegion\":{}},\"etag\":\"%s\"}",
             em_json_string(info, "etag"));
    cJSON_Delete(db);
    assert_int_equal(change_quorum(f, check, false, &st), EM_OK); /* the current etag */
}

static void test_delete_and_reopen(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance(f, "emulator-config");
    assert_int_equal(
        create_database(f,
                        "{\"createStatement\":\"CREATE DATABASE `keep`\",\"extraStatements\":["
                        "\"CREATE TABLE T (K INT64 NOT NULL) PRIMARY KEY (K)\"]}",
                        &st),
        EM_OK);
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `gone`\"}", &st),
                     EM_OK);
    assert_int_equal(sp_database_drop(f->admin, INST "/databases/gone", &st), EM_OK);
    assert_int_equal(sp_database_drop(f->admin, INST "/databases/gone", &st), EM_NOT_FOUND);
    char *before = ddl_text(f, INST "/databases/keep");
    sp_admin_close(f->admin);
    assert_int_equal(sp_admin_open(f->dir.store, NULL, &f->admin, &st), EM_OK);
    char *after = ddl_text(f, INST "/databases/keep");
    assert_string_equal(before, after);
    free(before);
    free(after);
    cJSON *list;
    assert_int_equal(sp_database_list(f->admin, INST, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    assert_int_equal(sp_instance_delete(f->admin, INST, &st), EM_OK);
    assert_int_equal(sp_database_list(f->admin, INST, &list, &st), EM_NOT_FOUND);
    cJSON *db;
    assert_int_equal(sp_database_get(f->admin, INST "/databases/keep", &db, &st), EM_NOT_FOUND);
    assert_int_equal(sp_instance_list(f->admin, PARENT, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
}

/* UpdateDatabase: drop protection keeps the database and its instance until cleared. */
static void test_drop_protection(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    const char *name = INST "/databases/kept";
    make_instance(f, "emulator-config");
    assert_int_equal(create_database(f, "{\"createStatement\":\"CREATE DATABASE `kept`\"}", &st),
                     EM_OK);
    cJSON *on = cJSON_Parse("{\"enableDropProtection\":true}");
    cJSON *off = cJSON_Parse("{\"enableDropProtection\":false}");
    assert_int_equal(sp_database_update(f->admin, name, on, "enable_drop_protection", &st), EM_OK);
    assert_int_equal(sp_database_drop(f->admin, name, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "enable_drop_protection"));
    assert_int_equal(sp_instance_delete(f->admin, INST, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "drop protection enabled"));
    cJSON *db;
    assert_int_equal(sp_database_get(f->admin, name, &db, &st), EM_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(db, "enableDropProtection")));
    cJSON_Delete(db);

    assert_int_equal(sp_database_update(f->admin, name, on, "state", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(sp_database_update(f->admin, name, on, " , ", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(sp_database_update(f->admin, name, on, "encryptionConfig", &st),
                     EM_UNIMPLEMENTED);
    assert_int_equal(
        sp_database_update(f->admin, INST "/databases/none", on, "enable_drop_protection", &st),
        EM_NOT_FOUND);

    assert_int_equal(sp_database_update(f->admin, name, off, "enableDropProtection", &st), EM_OK);
    assert_int_equal(sp_database_drop(f->admin, name, &st), EM_OK);
    assert_int_equal(sp_instance_delete(f->admin, INST, &st), EM_OK);
    cJSON_Delete(on);
    cJSON_Delete(off);
}

/* sp_instance_settings on an instance request (JSON text); the instance's edition and
 * schedule type afterwards ("-" when absent) in out. */
static enum em_code settings(const char *request_json, char out[64], struct em_status *st)
{
    cJSON *request = cJSON_Parse(request_json), *inst = cJSON_CreateObject();
    assert_non_null(request);
    enum em_code rc = sp_instance_settings_create(inst, request, st);
    const char *edition = em_json_string(inst, "edition"),
               *type = em_json_string(inst, "defaultBackupScheduleType");
    snprintf(out, 64, "%s %s", edition ? edition : "-", type ? type : "-");
    cJSON_Delete(request);
    cJSON_Delete(inst);
    return rc;
}

static void test_instance_settings(void **state)
{
    (void)state;
    struct em_status st = {0};
    char out[64];
    assert_int_equal(settings("{}", out, &st), EM_OK);
    assert_string_equal(out, "STANDARD -");
    assert_int_equal(
        settings("{\"edition\":\"ENTERPRISE\",\"defaultBackupScheduleType\":\"NONE\"}", out, &st),
        EM_OK);
    assert_string_equal(out, "ENTERPRISE NONE");
    const char *refused[] = {"{\"instanceType\":\"FREE_INSTANCE\"}",
                             "{\"freeInstanceMetadata\":{}}",
                             "{\"defaultBackupScheduleType\":\"AUTOMATIC\"}",
                             "{\"ssdCache\":\"c\"}", "{\"defaultStorageType\":\"HDD\"}"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_int_equal(settings(refused[i], out, &st), EM_UNIMPLEMENTED);
    /* the mask: an upgrade needs no store; the other paths are left to the caller */
    cJSON *inst = cJSON_Parse("{\"name\":\"projects/p/instances/i\",\"edition\":\"STANDARD\"}");
    cJSON *request = cJSON_Parse("{\"edition\":\"ENTERPRISE_PLUS\"}");
    bool handled = false;
    assert_int_equal(sp_instance_settings_update(NULL, inst, request, "edition", &handled, &st),
                     EM_OK);
    assert_true(handled);
    assert_string_equal(em_json_string(inst, "edition"), "ENTERPRISE_PLUS");
    assert_int_equal(
        sp_instance_settings_update(NULL, inst, request, "display_name", &handled, &st), EM_OK);
    assert_false(handled);
    assert_int_equal(sp_instance_settings_update(NULL, inst, request, "ssd_cache", &handled, &st),
                     EM_OK); /* clearing what is not built: nothing to do */
    cJSON_Delete(request);
    request = cJSON_Parse("{\"instanceType\":\"FREE_INSTANCE\"}");
    assert_int_equal(
        sp_instance_settings_update(NULL, inst, request, "instance_type", &handled, &st),
        EM_UNIMPLEMENTED);
    cJSON_Delete(request);
    cJSON_Delete(inst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configs),
        cmocka_unit_test(test_instance_settings),
        cmocka_unit_test_setup_teardown(test_instance_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_instance_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_ddl_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_location, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_region_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drop_protection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
