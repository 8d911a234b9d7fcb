/*
 * test_bigtable_backup: Bigtable's backup domain (bigtable_backup) on a real metadata
 * store, without a CMEK engine (no cells are copied: the key pinning and the copies are
 * covered by tests/integ/test_bigtable_backup.sh): backup names and IDs, the expire-time
 * window (6 hours to 90 days; 30 days for a copy), CREATING -> READY, list by cluster and
 * over every cluster, updates of expire_time, copies (READY source, no copy of a
 * copy), restores (the backup's schema, restoreInfo, no overwrite), expiry on a given
 * clock, hot backups (hotToStandardTime checked, updated, cleared, and the conversion to
 * standard on a given clock), backups going with their cluster and instance, and state
 * surviving a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_admin.h"
#include "bigtable/bigtable_backup.h"
#include "em_iam.h"
#include "em_json.h"
#include "unit_bigtable.h"
#include "unit_util.h"

#define PARENT  "projects/bt-unit"
#define INST    PARENT "/instances/my-inst"
#define TABLE   INST "/tables/t1"
#define EAST    INST "/clusters/east-c1"
#define WEST    INST "/clusters/west-c2"
#define NOW     1700000000000000000LL
#define HOUR_NS (3600LL * EM_NS_PER_SEC)
#define DAY_NS  (24 * HOUR_NS)

/* my-inst with east-c1 and west-c2, table t1 with family cf1 (at most 2 versions). */
static void make_instance_and_table(struct fixture *f)
{
    struct em_status st = {0};
    char zone[64];
    cJSON *out = NULL, *ready = NULL;
    cJSON *request = cJSON_Parse(
        "{\"instanceId\":\"my-inst\",\"instance\":{\"displayName\":\"My inst\"},"
        "\"clusters\":{\"east-c1\":{\"location\":\"" PARENT "/locations/us-east1-b\","
        "\"serveNodes\":1},\"west-c2\":{\"location\":\"" PARENT "/locations/us-west1-a\","
        "\"serveNodes\":1}}}");
    assert_int_equal(bt_instance_create(f->admin, PARENT, request, NOW, &out, zone, &st), EM_OK);
    assert_int_equal(bt_instance_ready(f->admin, INST, &ready, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
    cJSON_Delete(ready);
    request = cJSON_Parse("{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"cf1\":{"
                          "\"gcRule\":{\"maxNumVersions\":2}}}}}");
    assert_int_equal(bt_table_create(f->admin, INST, request, NOW, &out, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
}

/* A request body {sourceTable, expireTime = NOW + expire_in_ns}. */
static cJSON *backup_request(const char *table, int64_t expire_in_ns)
{
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "sourceTable", table);
    em_json_add_time(request, "expireTime", NOW + expire_in_ns);
    return request;
}

static enum em_code create(struct fixture *f, const char *cluster, const char *id,
                           int64_t expire_in_ns, struct em_status *st)
{
    cJSON *request = backup_request(TABLE, expire_in_ns), *out = NULL;
    enum em_code rc = bt_backup_create(f->admin, cluster, id, request, NOW, &out, st);
    if (rc == EM_OK)
        assert_string_equal(em_json_string(out, "state"), "CREATING");
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

/* Creates and finishes a backup (READY). */
static void make_backup(struct fixture *f, const char *cluster, const char *id,
                        int64_t expire_in_ns)
{
    struct em_status st = {0};
    char name[256];
    cJSON *out = NULL;
    assert_int_equal(create(f, cluster, id, expire_in_ns, &st), EM_OK);
    snprintf(name, sizeof(name), "%s/backups/%s", cluster, id);
    assert_int_equal(bt_backup_ready(f->admin, name, NOW + 1, &out, &st), EM_OK);
    assert_string_equal(em_json_string(out, "state"), "READY");
    cJSON_Delete(out);
}

/* The backup IDs a list answers, comma-separated. */
static void list_ids(struct fixture *f, const char *cluster, char *out, size_t len)
{
    struct em_status st = {0};
    cJSON *list = NULL;
    assert_int_equal(bt_backup_list(f->admin, cluster, &list, &st), EM_OK);
    out[0] = '\0';
    const cJSON *b;
    cJSON_ArrayForEach(b, list)
    {
        const char *name = em_json_string(b, "name");
        snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
                 strrchr(name, '/') + 1);
    }
    cJSON_Delete(list);
}

/* --- create --- */

static void test_create_checks(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance_and_table(f);
    /* the expire-time window: 6 hours to 90 days after creation */
    assert_int_equal(create(f, EAST, "soon", 5 * HOUR_NS, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "6 hours"));
    assert_int_equal(create(f, EAST, "late", 91 * DAY_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create(f, EAST, "edge-low", 6 * HOUR_NS, &st), EM_OK);
    assert_int_equal(create(f, EAST, "edge-high", 90 * DAY_NS, &st), EM_OK);
    /* IDs, names, sources */
    assert_int_equal(create(f, EAST, "bad/id", DAY_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create(f, EAST, "", DAY_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create(f, INST "/clusters/nope-c9", "b", DAY_NS, &st), EM_NOT_FOUND);
    assert_int_equal(create(f, EAST, "edge-low", DAY_NS, &st), EM_ALREADY_EXISTS);
    cJSON *request = backup_request(PARENT "/instances/other-inst/tables/t1", DAY_NS), *out = NULL;
    assert_int_equal(bt_backup_create(f->admin, EAST, "x", request, NOW, &out, &st),
                     EM_INVALID_ARGUMENT); /* the table must be in the cluster's instance */
    cJSON_Delete(request);
    request = backup_request(INST "/tables/missing", DAY_NS);
    assert_int_equal(bt_backup_create(f->admin, EAST, "x", request, NOW, &out, &st), EM_NOT_FOUND);
    cJSON_Delete(request);
    request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "sourceTable", TABLE);
    assert_int_equal(bt_backup_create(f->admin, EAST, "x", request, NOW, &out, &st),
                     EM_INVALID_ARGUMENT); /* no expire time */
    cJSON_Delete(request);
    request = backup_request(TABLE, DAY_NS);
    cJSON_AddStringToObject(request, "backupType", "WARM");
    assert_int_equal(bt_backup_create(f->admin, EAST, "x", request, NOW, &out, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
    assert_null(out);
}

static void test_create_ready_get(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *b = NULL;
    make_instance_and_table(f);
    assert_int_equal(create(f, EAST, "b1", DAY_NS, &st), EM_OK);
    assert_int_equal(bt_backup_get(f->admin, EAST "/backups/b1", &b, &st), EM_OK);
    assert_string_equal(em_json_string(b, "state"), "CREATING");
    assert_string_equal(em_json_string(b, "sourceTable"), TABLE);
    assert_string_equal(em_json_string(b, "backupType"), "STANDARD");
    assert_null(cJSON_GetObjectItem(b, "_columnFamilies")); /* private members stay inside */
    assert_string_equal(em_json_string(cJSON_GetObjectItem(b, "encryptionInfo"), "encryptionType"),
                        "GOOGLE_DEFAULT_ENCRYPTION"); /* the cluster has no key */
    cJSON_Delete(b);
    assert_int_equal(bt_backup_ready(f->admin, EAST "/backups/b1", NOW + 5, &b, &st), EM_OK);
    assert_string_equal(em_json_string(b, "state"), "READY");
    int64_t end = 0;
    assert_true(em_time_parse(em_json_string(b, "endTime"), &end));
    assert_true(end == NOW + 5);
    cJSON_Delete(b);
    assert_int_equal(bt_backup_get(f->admin, EAST "/backups/missing", &b, &st), EM_NOT_FOUND);
    assert_int_equal(bt_backup_get(f->admin, INST "/backups/b1", &b, &st), EM_INVALID_ARGUMENT);
}

/* --- list, update, delete --- */

static void test_list_update_delete(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char ids[256];
    cJSON *out = NULL;
    make_instance_and_table(f);
    make_backup(f, EAST, "b1", DAY_NS);
    make_backup(f, EAST, "b2", DAY_NS);
    make_backup(f, WEST, "w1", DAY_NS);
    list_ids(f, EAST, ids, sizeof(ids));
    assert_string_equal(ids, "b1,b2");
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "b1,b2,w1");
    list_ids(f, PARENT "/instances/-/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "b1,b2,w1");
    assert_int_equal(bt_backup_list(f->admin, INST "/clusters/nope-c9", &out, &st), EM_NOT_FOUND);

    /* update: expire_time only, within the window counted from the backup's creation */
    cJSON *patch = backup_request(TABLE, 10 * DAY_NS);
    assert_int_equal(
        bt_backup_update(f->admin, EAST "/backups/b1", patch, "expire_time", NOW, &out, &st),
        EM_OK);
    assert_string_equal(em_json_string(out, "expireTime"), em_json_string(patch, "expireTime"));
    cJSON_Delete(out);
    assert_int_equal(
        bt_backup_update(f->admin, EAST "/backups/b1", patch, "source_table", NOW, &out, &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(bt_backup_update(f->admin, EAST "/backups/b1", patch, NULL, NOW, &out, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(patch);
    patch = backup_request(TABLE, 95 * DAY_NS);
    assert_int_equal(
        bt_backup_update(f->admin, EAST "/backups/b1", patch, "expireTime", NOW, &out, &st),
        EM_INVALID_ARGUMENT);
    cJSON_Delete(patch);
    patch = backup_request(TABLE, 7 * HOUR_NS); /* in the window, but already past */
    assert_int_equal(bt_backup_update(f->admin, EAST "/backups/b1", patch, "expire_time",
                                      NOW + 8 * HOUR_NS, &out, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(patch);

    assert_int_equal(bt_backup_delete(f->admin, EAST "/backups/b2", &st), EM_OK);
    assert_int_equal(bt_backup_delete(f->admin, EAST "/backups/b2", &st), EM_NOT_FOUND);
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "b1,w1");
}

/* --- copy --- */

static enum em_code copy(struct fixture *f, const char *cluster, const char *id, const char *source,
                         int64_t expire_in_ns, struct em_status *st)
{
    cJSON *request = cJSON_CreateObject(), *out = NULL;
    cJSON_AddStringToObject(request, "backupId", id);
    cJSON_AddStringToObject(request, "sourceBackup", source);
    em_json_add_time(request, "expireTime", NOW + expire_in_ns);
    enum em_code rc = bt_backup_copy(f->admin, cluster, request, NOW, &out, st);
    if (rc == EM_OK) {
        assert_string_equal(em_json_string(out, "sourceBackup"), source);
        assert_string_equal(em_json_string(out, "sourceTable"), TABLE);
    }
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

static void test_copy(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance_and_table(f);
    assert_int_equal(create(f, EAST, "creating", DAY_NS, &st), EM_OK);
    assert_int_equal(copy(f, WEST, "c0", EAST "/backups/creating", DAY_NS, &st),
                     EM_FAILED_PRECONDITION); /* the source must be READY */
    make_backup(f, EAST, "b1", DAY_NS);
    assert_int_equal(copy(f, WEST, "c1", EAST "/backups/b1", 31 * DAY_NS, &st),
                     EM_INVALID_ARGUMENT); /* a copy lives at most 30 days */
    assert_int_equal(copy(f, WEST, "c1", EAST "/backups/b1", 30 * DAY_NS, &st), EM_OK);
    assert_int_equal(copy(f, WEST, "c1", EAST "/backups/b1", DAY_NS, &st), EM_ALREADY_EXISTS);
    assert_int_equal(copy(f, WEST, "c2", EAST "/backups/missing", DAY_NS, &st), EM_NOT_FOUND);
    cJSON *out = NULL;
    assert_int_equal(bt_backup_ready(f->admin, WEST "/backups/c1", NOW, &out, &st), EM_OK);
    cJSON_Delete(out);
    assert_int_equal(copy(f, EAST, "c3", WEST "/backups/c1", DAY_NS, &st),
                     EM_FAILED_PRECONDITION); /* no copy of a copy */
    assert_non_null(strstr(st.message, "copy"));
}

/* --- restore --- */

static enum em_code restore(struct fixture *f, const char *table_id, const char *backup,
                            struct em_status *st)
{
    cJSON *request = cJSON_CreateObject(), *table = NULL, *info = NULL;
    cJSON_AddStringToObject(request, "tableId", table_id);
    cJSON_AddStringToObject(request, "backup", backup);
    enum em_code rc = bt_table_restore(f->admin, INST, request, NOW, &table, &info, st);
    if (rc == EM_OK)
        assert_string_equal(em_json_string(info, "backup"), backup);
    cJSON_Delete(request);
    cJSON_Delete(table);
    cJSON_Delete(info);
    return rc;
}

static void test_restore(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance_and_table(f);
    assert_int_equal(create(f, EAST, "creating", DAY_NS, &st), EM_OK);
    assert_int_equal(restore(f, "r0", EAST "/backups/creating", &st), EM_FAILED_PRECONDITION);
    make_backup(f, EAST, "b1", DAY_NS);
    assert_int_equal(restore(f, "restored", EAST "/backups/b1", &st), EM_OK);
    cJSON *t = NULL;
    assert_int_equal(bt_table_get(f->admin, INST "/tables/restored", BT_VIEW_SCHEMA, &t, &st),
                     EM_OK);
    const cJSON *info = cJSON_GetObjectItem(t, "restoreInfo");
    assert_string_equal(em_json_string(info, "sourceType"), "BACKUP");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(info, "backupInfo"), "sourceTable"),
                        TABLE);
    /* the backup's schema */
    const cJSON *cf1 = cJSON_GetObjectItem(cJSON_GetObjectItem(t, "columnFamilies"), "cf1");
    int64_t versions = 0;
    assert_true(em_json_int64(cJSON_GetObjectItem(cf1, "gcRule"), "maxNumVersions", &versions));
    assert_true(versions == 2);
    cJSON_Delete(t);
    assert_int_equal(restore(f, "restored", EAST "/backups/b1", &st), EM_ALREADY_EXISTS);
    assert_int_equal(restore(f, "t1", EAST "/backups/b1", &st), EM_ALREADY_EXISTS);
    assert_int_equal(restore(f, "r2", EAST "/backups/missing", &st), EM_NOT_FOUND);
    assert_int_equal(restore(f, "r2", "not-a-backup", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(restore(f, "bad/id", EAST "/backups/b1", &st), EM_INVALID_ARGUMENT);
}

/* --- expiry, and backups going with their cluster and instance --- */

static void test_expiry_and_lifetime(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char ids[256];
    make_instance_and_table(f);
    make_backup(f, EAST, "short", 7 * HOUR_NS);
    make_backup(f, EAST, "long", 10 * DAY_NS);
    make_backup(f, WEST, "w1", 10 * DAY_NS);
    assert_int_equal(bt_backups_expire(f->admin, NOW + 6 * HOUR_NS, &st), EM_OK);
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "long,short,w1");
    assert_int_equal(bt_backups_expire(f->admin, NOW + 7 * HOUR_NS, &st), EM_OK);
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "long,w1");

    /* the state survives a reopen */
    bt_admin_close(f->admin);
    assert_int_equal(bt_admin_open(f->dir.store, NULL, f->dir.path, &f->admin, &st), EM_OK);
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "long,w1");

    /* a cluster's backups go with it, an instance's with it */
    assert_int_equal(bt_cluster_delete(f->admin, WEST, &st), EM_OK);
    list_ids(f, INST "/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "long");
    assert_int_equal(bt_instance_delete(f->admin, INST, &st), EM_OK);
    list_ids(f, PARENT "/instances/-/clusters/-", ids, sizeof(ids));
    assert_string_equal(ids, "");
}

/* --- hot backups --- */

/* Creates a backup of type with hotToStandardTime NOW + hot_in_ns (none when 0). */
static enum em_code create_typed(struct fixture *f, const char *id, const char *type,
                                 int64_t hot_in_ns, struct em_status *st)
{
    cJSON *request = backup_request(TABLE, 30 * DAY_NS), *out = NULL;
    cJSON_AddStringToObject(request, "backupType", type);
    if (hot_in_ns)
        em_json_add_time(request, "hotToStandardTime", NOW + hot_in_ns);
    enum em_code rc = bt_backup_create(f->admin, EAST, id, request, NOW, &out, st);
    cJSON_Delete(request);
    cJSON_Delete(out);
    return rc;
}

/* The stored backup's backupType, and whether it has a hotToStandardTime. */
static void assert_type(struct fixture *f, const char *id, const char *type, bool has_hot_time)
{
    struct em_status st = {0};
    char name[256];
    cJSON *out = NULL;
    snprintf(name, sizeof(name), EAST "/backups/%s", id);
    assert_int_equal(bt_backup_get(f->admin, name, &out, &st), EM_OK);
    assert_string_equal(em_json_string(out, "backupType"), type);
    assert_int_equal(cJSON_HasObjectItem(out, "hotToStandardTime"), has_hot_time);
    cJSON_Delete(out);
}

static enum em_code update_hot_time(struct fixture *f, const char *id, int64_t hot_in_ns,
                                    struct em_status *st)
{
    char name[256];
    cJSON *body = cJSON_CreateObject(), *out = NULL;
    snprintf(name, sizeof(name), EAST "/backups/%s", id);
    if (hot_in_ns)
        em_json_add_time(body, "hotToStandardTime", NOW + hot_in_ns);
    enum em_code rc =
        bt_backup_update(f->admin, name, body, "hot_to_standard_time", NOW + HOUR_NS, &out, st);
    cJSON_Delete(body);
    cJSON_Delete(out);
    return rc;
}

static void test_hot_backups(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_instance_and_table(f);
    /* hotToStandardTime: HOT only, at least 24 hours after the creation */
    assert_int_equal(create_typed(f, "std", "STANDARD", 2 * DAY_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create_typed(f, "soon", "HOT", 23 * HOUR_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(create_typed(f, "h1", "HOT", DAY_NS, &st), EM_OK);
    assert_int_equal(create_typed(f, "h2", "HOT", 3 * DAY_NS, &st), EM_OK);
    assert_int_equal(create_typed(f, "h3", "HOT", 0, &st), EM_OK);
    assert_int_equal(create_typed(f, "s1", "STANDARD", 0, &st), EM_OK);
    assert_type(f, "h1", "HOT", true);
    assert_type(f, "h3", "HOT", false);

    /* updates: set (24 hours after the creation, HOT only), clear */
    assert_int_equal(update_hot_time(f, "s1", 2 * DAY_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(update_hot_time(f, "h3", 20 * HOUR_NS, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(update_hot_time(f, "h3", 2 * DAY_NS, &st), EM_OK);
    assert_type(f, "h3", "HOT", true);
    assert_int_equal(update_hot_time(f, "h2", 0, &st), EM_OK);
    assert_type(f, "h2", "HOT", false);

    /* the conversion, on the clock given */
    assert_int_equal(bt_backups_convert_hot(f->admin, NOW + DAY_NS - 1, &st), EM_OK);
    assert_type(f, "h1", "HOT", true);
    assert_int_equal(bt_backups_convert_hot(f->admin, NOW + DAY_NS, &st), EM_OK);
    assert_type(f, "h1", "STANDARD", false);
    assert_type(f, "h3", "HOT", true);
    assert_int_equal(bt_backups_convert_hot(f->admin, NOW + 2 * DAY_NS, &st), EM_OK);
    assert_type(f, "h3", "STANDARD", false);
    assert_type(f, "h2", "HOT", false); /* no time: stays hot */
    assert_type(f, "s1", "STANDARD", false);
    /* a converted backup takes no hotToStandardTime any more */
    assert_int_equal(update_hot_time(f, "h1", 3 * DAY_NS, &st), EM_INVALID_ARGUMENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_checks), T(test_create_ready_get), T(test_list_update_delete),
        T(test_copy),          T(test_restore),          T(test_expiry_and_lifetime),
        T(test_hot_backups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
