/*
 * test_spanner_backup: Spanner's backup domain (spanner_backup) on a real metadata store,
 * without the CMEK engine or data files (those are covered by test_cmek, test_datastore
 * and tests/integ/test_spanner_backup.sh): Google's rules for backup IDs, expire_time
 * (6 hours to 366 days) and version_time (not in the future, not before the database's
 * earliest version time: its creation or the hour of versions), the encryption types, update masks,
 * expiry on the clock, copies (version time kept, max_expire_time), restores (the backup's schema,
 * restoreInfo, the backup referenced until the restore is done and undeletable meanwhile) and an
 * instance that cannot be deleted while it has backups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "spanner/spanner_admin.h"
#include "spanner/spanner_backup.h"
#include "unit_util.h"

#define PARENT "projects/backup-project"
#define INST   PARENT "/instances/inst"
#define DB     INST "/databases/db"
#define BACKUP INST "/backups/b1"
#define CONFIG PARENT "/instanceConfigs/regional-us-central1"
#define KEY    PARENT "/locations/us-central1/keyRings/r/cryptoKeys/k"
#define NOW    1700000000000000000LL
#define HOURS  (3600 * EM_NS_PER_SEC)
#define DAYS   (24 * HOURS)

struct fixture {
    struct unit_dir dir;
    struct sp_admin *admin;
    struct sp_backups *backups;
};

static enum em_code run_json(struct fixture *f, const char *json,
                             enum em_code (*fn)(struct fixture *, const cJSON *,
                                                struct em_status *),
                             struct em_status *st)
{
    cJSON *request = cJSON_Parse(json);
    assert_non_null(request);
    enum em_code rc = fn(f, request, st);
    cJSON_Delete(request);
    return rc;
}

static enum em_code create_db(struct fixture *f, const cJSON *request, struct em_status *st)
{
    char name[SP_NAME_MAX];
    cJSON *out = NULL;
    enum em_code rc = sp_database_create(f->admin, INST, request, NOW, name, &out, st);
    cJSON_Delete(out);
    if (!rc && sp_database_ready(f->admin, name, &out, st) == EM_OK)
        cJSON_Delete(out);
    return rc;
}

static int setup(void **state)
{
    static struct fixture f;
    struct em_status st = {0};
    cJSON *inst = cJSON_Parse("{\"config\":\"" CONFIG "\",\"displayName\":\"Backups\"}"), *out;
    if (unit_dir_open(&f.dir) || sp_admin_open(f.dir.store, NULL, &f.admin, &st) ||
        sp_backups_open(f.dir.store, NULL, f.admin, NULL, NULL, &f.backups, &st) ||
        sp_instance_create(f.admin, PARENT, "inst", inst, NOW, &out, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(inst);
    if (run_json(&f,
                 "{\"createStatement\":\"CREATE DATABASE `db`\",\"extraStatements\":[\"CREATE "
                 "TABLE T (K INT64 NOT NULL) PRIMARY KEY (K)\"]}",
                 create_db, &st))
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sp_backups_close(f->backups);
    sp_admin_close(f->admin);
    unit_dir_close(&f->dir);
    return 0;
}

static int64_t clock_ns = NOW; /* the "now" of create() */

/* Creates backup `id` of DB expiring at NOW + expire_ns, with extra JSON members (version
 * time) and the query's encryption config (NULL: none). */
static enum em_code create(struct fixture *f, const char *id, int64_t expire_ns, const char *extra,
                           const char *encryption, struct em_status *st)
{
    char expire[EM_TIME_TEXT_MAX], json[512], name[SP_NAME_MAX];
    em_time_format(NOW + expire_ns, expire);
    snprintf(json, sizeof(json), "{\"database\":\"" DB "\",\"expireTime\":\"%s\"%s}", expire,
             extra ? extra : "");
    cJSON *backup = cJSON_Parse(json), *config = encryption ? cJSON_Parse(encryption) : NULL;
    assert_non_null(backup);
    enum em_code rc = sp_backup_create(f->backups, INST, id, backup, config, clock_ns, name, st);
    cJSON_Delete(backup);
    cJSON_Delete(config);
    return rc;
}

static cJSON *get(struct fixture *f, const char *name)
{
    cJSON *out = NULL;
    struct em_status st = {0};
    assert_int_equal(sp_backup_get(f->backups, name, &out, &st), EM_OK);
    return out;
}

static void ready(struct fixture *f, const char *name)
{
    cJSON *out = NULL;
    struct em_status st = {0};
    assert_int_equal(sp_backup_ready(f->backups, name, &out, &st), EM_OK);
    assert_string_equal(em_json_string(out, "state"), "READY");
    cJSON_Delete(out);
}

static void expect_refused(enum em_code rc, const struct em_status *st, enum em_code code,
                           const char *text)
{
    assert_int_equal(rc, code);
    if (!strstr(st->message, text))
        fail_msg("\"%s\" does not name %s", st->message, text);
}

static void test_create_rules(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "b1", 2 * DAYS, NULL, NULL, &st), EM_OK);
    cJSON *b = get(f, BACKUP);
    assert_string_equal(em_json_string(b, "state"), "CREATING");
    assert_string_equal(em_json_string(b, "database"), DB);
    assert_string_equal(em_json_string(b, "versionTime"), em_json_string(b, "createTime"));
    assert_string_equal(em_json_string(cJSON_GetObjectItem(b, "encryptionInfo"), "encryptionType"),
                        "GOOGLE_DEFAULT_ENCRYPTION"); /* the database's: it has no key */
    cJSON_Delete(b);
    ready(f, BACKUP);
    b = get(f, BACKUP);
    int64_t size = 0;
    assert_true(em_json_int64(b, "sizeBytes", &size) && size > 0);
    cJSON_Delete(b);

    expect_refused(create(f, "b1", 2 * DAYS, NULL, NULL, &st), &st, EM_ALREADY_EXISTS, BACKUP);
    expect_refused(create(f, "b2", 5 * HOURS, NULL, NULL, &st), &st, EM_INVALID_ARGUMENT,
                   "expire_time");
    expect_refused(create(f, "b2", 367 * DAYS, NULL, NULL, &st), &st, EM_INVALID_ARGUMENT,
                   "expire_time");
    assert_int_equal(create(f, "b-6h", 6 * HOURS, NULL, NULL, &st), EM_OK); /* the boundaries */
    assert_int_equal(create(f, "b-366d", 366 * DAYS, NULL, NULL, &st), EM_OK);
    /* version_time, half an hour after the database was created */
    char extra[128], when[EM_TIME_TEXT_MAX];
    clock_ns = NOW + HOURS / 2;
    em_time_format(clock_ns - 20 * 60 * EM_NS_PER_SEC, when); /* versions are kept */
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    assert_int_equal(create(f, "b-20m", DAYS, extra, NULL, &st), EM_OK);
    em_time_format(NOW - EM_NS_PER_SEC, when);
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    expect_refused(create(f, "b2", DAYS, extra, NULL, &st), &st, EM_INVALID_ARGUMENT,
                   "earliest version time");
    em_time_format(clock_ns + EM_NS_PER_SEC, when);
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    expect_refused(create(f, "b2", DAYS, extra, NULL, &st), &st, EM_INVALID_ARGUMENT, "future");
    em_time_format(clock_ns - 5 * EM_NS_PER_SEC, when);
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    assert_int_equal(create(f, "b-5s", DAYS, extra, NULL, &st), EM_OK);
    /* two hours on, versions go back one hour */
    clock_ns = NOW + 2 * HOURS;
    em_time_format(clock_ns - HOURS - EM_NS_PER_SEC, when);
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    expect_refused(create(f, "b3", DAYS, extra, NULL, &st), &st, EM_INVALID_ARGUMENT,
                   "earliest version time");
    em_time_format(clock_ns - HOURS + EM_NS_PER_SEC, when);
    snprintf(extra, sizeof(extra), ",\"versionTime\":\"%s\"", when);
    assert_int_equal(create(f, "b-59m", DAYS, extra, NULL, &st), EM_OK);
    clock_ns = NOW;
    expect_refused(create(f, "Bad_Id", DAYS, NULL, NULL, &st), &st, EM_INVALID_ARGUMENT,
                   "backup ID");
    char name[SP_NAME_MAX];
    cJSON *missing = cJSON_Parse("{\"database\":\"" INST
                                 "/databases/none\",\"expireTime\":\"2023-11-16T00:00:00Z\"}");
    expect_refused(sp_backup_create(f->backups, INST, "b2", missing, NULL, NOW, name, &st), &st,
                   EM_NOT_FOUND, "Database not found");
    cJSON_Delete(missing);
}

static void test_encryption_types(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    expect_refused(
        create(f, "b2", DAYS, NULL, "{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\"}", &st),
        &st, EM_INVALID_ARGUMENT, "kms_key_name");
    expect_refused(create(f, "b2", DAYS, NULL,
                          "{\"encryptionType\":\"GOOGLE_DEFAULT_ENCRYPTION\",\"kmsKeyName\":\"" KEY
                          "\"}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "kms_key_name");
    expect_refused(
        create(f, "b2", DAYS, NULL,
               "{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\",\"kmsKeyName\":\"" PARENT
               "/locations/europe-west1/keyRings/r/cryptoKeys/k\"}",
               &st),
        &st, EM_INVALID_ARGUMENT, "europe-west1");
    expect_refused(create(f, "b2", DAYS, NULL, "{\"encryptionType\":\"NOPE\"}", &st), &st,
                   EM_INVALID_ARGUMENT, "NOPE");
    assert_int_equal(create(f, "b2", DAYS, NULL,
                            "{\"encryptionType\":\"CUSTOMER_MANAGED_ENCRYPTION\",\"kmsKeyName\":"
                            "\"" KEY "\"}",
                            &st),
                     EM_OK);
    cJSON *b = get(f, INST "/backups/b2");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(b, "encryptionInfo"), "encryptionType"),
                        "CUSTOMER_MANAGED_ENCRYPTION");
    cJSON_Delete(b);
}

static void test_update_and_expiry(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "b1", 7 * HOURS, NULL, NULL, &st), EM_OK);
    cJSON *patch = cJSON_Parse("{\"expireTime\":\"2023-11-16T00:00:00Z\"}"), *out = NULL;
    expect_refused(sp_backup_update(f->backups, BACKUP, patch, "database", NOW, &out, &st), &st,
                   EM_INVALID_ARGUMENT, "update_mask");
    expect_refused(sp_backup_update(f->backups, BACKUP, patch, NULL, NOW, &out, &st), &st,
                   EM_INVALID_ARGUMENT, "update_mask");
    assert_int_equal(sp_backup_update(f->backups, BACKUP, patch, "expire_time", NOW, &out, &st),
                     EM_OK);
    assert_string_equal(em_json_string(out, "expireTime"), "2023-11-16T00:00:00Z");
    cJSON_Delete(out);
    cJSON_Delete(patch);
    /* expiry on the clock: kept until its expire time, gone from then on */
    int64_t expire = 0;
    cJSON *b = get(f, BACKUP);
    assert_true(em_time_parse(em_json_string(b, "expireTime"), &expire));
    cJSON_Delete(b);
    assert_int_equal(sp_backups_expire(f->backups, expire - 1, &st), EM_OK);
    cJSON_Delete(get(f, BACKUP));
    assert_int_equal(sp_backups_expire(f->backups, expire, &st), EM_OK);
    assert_int_equal(sp_backup_get(f->backups, BACKUP, &out, &st), EM_NOT_FOUND);
    assert_int_equal(sp_backup_delete(f->backups, BACKUP, &st), EM_NOT_FOUND);
}

static void test_copy_keeps_the_version_time(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char name[SP_NAME_MAX];
    assert_int_equal(create(f, "b1", DAYS, NULL, NULL, &st), EM_OK);
    const char *copy = "{\"backupId\":\"c1\",\"sourceBackup\":\"" BACKUP
                       "\",\"expireTime\":\"2023-11-20T00:00:00Z\"}";
    cJSON *request = cJSON_Parse(copy);
    expect_refused(sp_backup_copy(f->backups, INST, request, NOW, name, &st), &st,
                   EM_FAILED_PRECONDITION, "not ready");
    ready(f, BACKUP);
    assert_int_equal(sp_backup_copy(f->backups, INST, request, NOW + HOURS, name, &st), EM_OK);
    assert_string_equal(name, INST "/backups/c1");
    cJSON *source = get(f, BACKUP), *copied = get(f, name);
    assert_string_equal(em_json_string(copied, "versionTime"),
                        em_json_string(source, "versionTime"));
    assert_string_equal(em_json_string(copied, "database"), DB);
    cJSON_Delete(source);
    cJSON_Delete(copied);
    cJSON_Delete(request);
    request = cJSON_Parse("{\"backupId\":\"c2\",\"sourceBackup\":\"" BACKUP
                          "\",\"expireTime\":\"2025-01-01T00:00:00Z\"}");
    expect_refused(sp_backup_copy(f->backups, INST, request, NOW, name, &st), &st,
                   EM_INVALID_ARGUMENT, "max_expire_time");
    cJSON_Delete(request);
    request = cJSON_Parse("{\"backupId\":\"c2\",\"sourceBackup\":\"" INST
                          "/backups/none\",\"expireTime\":\"2023-11-20T00:00:00Z\"}");
    expect_refused(sp_backup_copy(f->backups, INST, request, NOW, name, &st), &st, EM_NOT_FOUND,
                   "Backup not found");
    cJSON_Delete(request);
}

static void test_restore_takes_the_backup_schema(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char name[SP_NAME_MAX];
    cJSON *metadata = NULL, *out = NULL;
    assert_int_equal(create(f, "b1", DAYS, NULL, NULL, &st), EM_OK);
    ready(f, BACKUP);
    /* the database changes after the backup: the restore has the schema of then */
    cJSON *more = cJSON_Parse("[\"CREATE TABLE Later (K INT64 NOT NULL) PRIMARY KEY (K)\"]");
    assert_int_equal(sp_database_update_ddl(f->admin, DB, more, &st), EM_OK);
    cJSON_Delete(more);
    cJSON *request = cJSON_Parse("{\"databaseId\":\"restored\",\"backup\":\"" BACKUP "\"}");
    assert_int_equal(sp_backup_restore(f->backups, INST, request, NOW, name, &metadata, &st),
                     EM_OK);
    assert_string_equal(name, INST "/databases/restored");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(metadata, "backupInfo"), "backup"),
                        BACKUP);
    cJSON_Delete(metadata);
    cJSON *ddl = NULL;
    assert_int_equal(sp_database_ddl(f->admin, name, &ddl, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(ddl), 1); /* table T only */
    cJSON_Delete(ddl);
    /* referenced while the restore runs: not deleted, not expired */
    cJSON *b = get(f, BACKUP);
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(b, "referencingDatabases"), 0)->valuestring, name);
    cJSON_Delete(b);
    expect_refused(sp_backup_delete(f->backups, BACKUP, &st), &st, EM_FAILED_PRECONDITION, name);
    assert_int_equal(sp_backups_expire(f->backups, NOW + 2 * DAYS, &st), EM_OK);
    cJSON_Delete(get(f, BACKUP));
    assert_int_equal(sp_backup_restore_ready(f->backups, name, &out, &st), EM_OK);
    assert_string_equal(em_json_string(out, "state"), "READY");
    assert_string_equal(em_json_string(cJSON_GetObjectItem(out, "restoreInfo"), "sourceType"),
                        "BACKUP");
    cJSON_Delete(out);
    b = get(f, BACKUP);
    assert_null(cJSON_GetObjectItem(b, "referencingDatabases"));
    cJSON_Delete(b);
    /* the same id again, a missing backup, another project */
    expect_refused(sp_backup_restore(f->backups, INST, request, NOW, name, &metadata, &st), &st,
                   EM_ALREADY_EXISTS, "restored");
    cJSON_Delete(request);
    request = cJSON_Parse("{\"databaseId\":\"r2\",\"backup\":\"projects/other-project/instances/"
                          "inst/backups/b1\"}");
    expect_refused(sp_backup_restore(f->backups, INST, request, NOW, name, &metadata, &st), &st,
                   EM_INVALID_ARGUMENT, "project");
    cJSON_Delete(request);
    /* an instance with backups is not deleted; without them it is */
    expect_refused(sp_instance_delete(f->admin, INST, &st), &st, EM_FAILED_PRECONDITION, "backup");
    assert_int_equal(sp_backup_delete(f->backups, BACKUP, &st), EM_OK);
    assert_int_equal(sp_instance_delete(f->admin, INST, &st), EM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encryption_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_keeps_the_version_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_takes_the_backup_schema, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
