/*
 * test_spanner_backup_schedules: crontabs (spanner_cron: fields, lists, ranges, steps,
 * the two day fields, the times named, the shortest gap) and the backup schedule domain
 * (spanner_backup_schedules) on a real metadata store without the CMEK engine or data
 * files: Google's rules on create, get/list without the emulator's bookkeeping, update
 * masks, which schedules are due as the clock moves (one backup for several missed times),
 * the scheduled backup itself (named by schedule and time, expiring after the retention,
 * naming its schedule) and schedules going with their database.
 * tests/integ/test_spanner_backup_schedules.sh covers gcloud, CMEK keys and restarts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "spanner/spanner_admin.h"
#include "spanner/spanner_backup.h"
#include "spanner/spanner_backup_schedules.h"
#include "spanner/spanner_cron.h"
#include "unit_util.h"

#include <string.h>

#define PARENT   "projects/schedule-project"
#define INST     PARENT "/instances/inst"
#define DB       INST "/databases/db"
#define SCHEDULE DB "/backupSchedules/nightly"
#define CONFIG   PARENT "/instanceConfigs/regional-us-central1"
#define MINUTES  (60 * EM_NS_PER_SEC)
#define HOURS    (60 * MINUTES)
#define DAYS     (24 * HOURS)

/* --- crontabs --- */

static int64_t at(const char *rfc3339)
{
    int64_t ns = 0;
    assert_true(em_time_parse(rfc3339, &ns));
    return ns;
}

static struct sp_cron cron_of(const char *text)
{
    struct sp_cron cron;
    char why[200];
    if (!sp_cron_parse(text, &cron, why, sizeof(why)))
        fail_msg("\"%s\" refused: %s", text, why);
    return cron;
}

/* The time cron names after `after`, as RFC 3339 text. */
static void expect_next(const char *text, const char *after, const char *expected)
{
    struct sp_cron cron = cron_of(text);
    char got[EM_TIME_TEXT_MAX];
    em_time_format(sp_cron_next(&cron, at(after)), got);
    if (strcmp(got, expected) != 0)
        fail_msg("\"%s\" after %s: %s, expected %s", text, after, got, expected);
}

static void test_cron_grammar(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "",           "0 2 * *",     "0 2 * * * *", "60 2 * * *",
        "0 24 * * *", "0 2 0 * *",   "0 2 32 * *",  "0 2 * 13 *",
        "0 2 * * 8",  "0 2-1 * * *", "0 */0 * * *", "0 2, * * *",
        "0 a * * *",  "0 2 * JAN *", "@daily",      "0 1-2-3 * * *",
        "0 2/ * * *", "-1 2 * * *",  "0 0002 * * *"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct sp_cron cron;
        char why[200] = "";
        if (sp_cron_parse(refused[i], &cron, why, sizeof(why)))
            fail_msg("\"%s\" accepted", refused[i]);
        assert_true(strlen(why) > 10);
    }
    struct sp_cron c = cron_of("  0   2/12  * * 7 ");
    assert_int_equal(c.minutes, 1);
    assert_int_equal(c.hours, (1u << 2) | (1u << 14));
    assert_int_equal(c.weekdays, 1); /* 7 is Sunday */
    assert_true(c.any_day && !c.any_weekday);
    c = cron_of("5,10-12,50-59/5 * * * *");
    assert_int_equal(c.minutes, (1ULL << 5) | (7ULL << 10) | (1ULL << 50) | (1ULL << 55));
    assert_true(c.any_day && c.any_weekday);
}

static void test_cron_times(void **state)
{
    (void)state;
    expect_next("0 2 * * *", "2026-12-04T01:59:59Z", "2026-12-04T02:00:00Z");
    expect_next("0 2 * * *", "2026-12-04T02:00:00Z", "2026-12-05T02:00:00Z"); /* strictly after */
    expect_next("0 2/12 * * *", "2026-12-04T03:00:00Z", "2026-12-04T14:00:00Z");
    expect_next("0 2 * * 0", "2026-12-04T00:00:00Z", "2026-12-06T02:00:00Z"); /* a Sunday */
    expect_next("0 2 8 * *", "2026-12-08T02:00:01Z", "2027-01-08T02:00:00Z");
    expect_next("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z");
    expect_next("30 23 31 12 *", "2026-12-31T23:29:00Z", "2026-12-31T23:30:00Z");
    /* both day fields restricted: either matches (the 15th, or a Monday) */
    expect_next("0 0 15 * 1", "2026-12-08T00:00:00Z", "2026-12-14T00:00:00Z");
    expect_next("0 0 15 * 1", "2026-12-14T00:00:00Z", "2026-12-15T00:00:00Z");
    /* one restricted: both must (Mondays only, as `*` days) */
    expect_next("0 0 * * 1", "2026-12-14T00:00:00Z", "2026-12-21T00:00:00Z");
    /* before 1970 */
    expect_next("0 0 1 1 *", "1969-06-01T00:00:00Z", "1970-01-01T00:00:00Z");
    struct sp_cron never = cron_of("0 0 31 2 *");
    assert_true(sp_cron_next(&never, at("2026-01-01T00:00:00Z")) == SP_CRON_NEVER);
    assert_true(sp_cron_min_gap(&never) == SP_CRON_NEVER);
}

static void test_cron_gaps(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t gap;
    } cases[] = {
        {"0 2 * * *", DAYS},        {"0 2/12 * * *", 12 * HOURS}, {"0 2,14 * * *", 12 * HOURS},
        {"0 */4 * * *", 4 * HOURS}, {"0 2,3 * * *", HOURS},       {"* * * * *", MINUTES},
        {"0 2 * * 0", 7 * DAYS},    {"0 2 8 * *", 28 * DAYS},     {"0 23 * * 1,2", DAYS},
        {"0 2 1,31 * *", DAYS}, /* the 31st and the 1st of the next month */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_cron cron = cron_of(cases[i].text);
        int64_t gap = sp_cron_min_gap(&cron);
        if (gap != cases[i].gap)
            fail_msg("\"%s\": gap %lld s, expected %lld s", cases[i].text,
                     (long long)(gap / EM_NS_PER_SEC), (long long)(cases[i].gap / EM_NS_PER_SEC));
    }
}

/* --- the domain --- */

static int64_t NOW; /* 2026-12-04T12:00:00Z */

struct fixture {
    struct unit_dir dir;
    struct sp_admin *admin;
    struct sp_backups *backups;
    struct sp_backup_schedules *schedules;
};

static int setup(void **state)
{
    static struct fixture f;
    struct em_status st = {0};
    char name[SP_NAME_MAX];
    NOW = at("2026-12-04T12:00:00Z");
    cJSON *inst = cJSON_Parse("{\"config\":\"" CONFIG "\",\"displayName\":\"Schedules\"}");
    cJSON *db = cJSON_Parse("{\"createStatement\":\"CREATE DATABASE `db`\"}"), *out = NULL;
    if (unit_dir_open(&f.dir) || sp_admin_open(f.dir.store, NULL, &f.admin, &st) ||
        sp_backups_open(f.dir.store, NULL, f.admin, NULL, NULL, &f.backups, &st) ||
        sp_backup_schedules_open(f.dir.store, f.admin, f.backups, &f.schedules, &st) ||
        sp_instance_create(f.admin, PARENT, "inst", inst, NOW, &out, &st))
        return -1;
    cJSON_Delete(out);
    if (sp_database_create(f.admin, INST, db, NOW, name, &out, &st))
        return -1;
    cJSON_Delete(out);
    if (sp_database_ready(f.admin, name, &out, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(inst);
    cJSON_Delete(db);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sp_backup_schedules_close(f->schedules);
    sp_backups_close(f->backups);
    sp_admin_close(f->admin);
    unit_dir_close(&f->dir);
    return 0;
}

static enum em_code create(struct fixture *f, const char *id, const char *json,
                           struct em_status *st)
{
    cJSON *request = cJSON_Parse(json), *out = NULL;
    assert_non_null(request);
    enum em_code rc = sp_backup_schedule_create(f->schedules, DB, id, request, NOW, &out, st);
    cJSON_Delete(out);
    cJSON_Delete(request);
    return rc;
}

static void expect_refused(enum em_code rc, const struct em_status *st, enum em_code code,
                           const char *text)
{
    assert_int_equal(rc, code);
    if (!strstr(st->message, text))
        fail_msg("\"%s\" does not name %s", st->message, text);
}

#define NIGHTLY                                                                                    \
    "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},\"retentionDuration\":\"172800s\","         \
    "\"fullBackupSpec\":{}}"

static void test_create_rules(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "nightly", NIGHTLY, &st), EM_OK);
    cJSON *got = NULL;
    assert_int_equal(sp_backup_schedule_get(f->schedules, SCHEDULE, &got, &st), EM_OK);
    const cJSON *cron = cJSON_GetObjectItem(cJSON_GetObjectItem(got, "spec"), "cronSpec");
    assert_string_equal(em_json_string(cron, "text"), "0 2 * * *");
    assert_string_equal(em_json_string(cron, "timeZone"), "UTC");
    assert_string_equal(em_json_string(got, "retentionDuration"), "172800s");
    assert_non_null(cJSON_GetObjectItem(got, "fullBackupSpec"));
    assert_null(cJSON_GetObjectItem(got, "_doneUntil"));
    cJSON_Delete(got);

    expect_refused(create(f, "nightly", NIGHTLY, &st), &st, EM_ALREADY_EXISTS, SCHEDULE);
    expect_refused(create(f, "x", NIGHTLY, &st), &st, EM_INVALID_ARGUMENT, "backup schedule ID");
    expect_refused(create(f, NULL, NIGHTLY, &st), &st, EM_INVALID_ARGUMENT, "backup_schedule_id");
    expect_refused(create(f, "ends-", NIGHTLY, &st), &st, EM_INVALID_ARGUMENT, "ends-");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 2,8 * * *\"}},"
                          "\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "times 6 hours apart");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"*/30 * * * *\"}},"
                          "\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "times 30 minutes apart");
    expect_refused(create(f, "s1", "{\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{}}", &st),
                   &st, EM_INVALID_ARGUMENT, "cron_spec.text must be specified");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},"
                          "\"fullBackupSpec\":{}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "retention_duration must be specified");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},"
                          "\"retentionDuration\":\"31708800s\",\"fullBackupSpec\":{}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "at most 366 days");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},"
                          "\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{},"
                          "\"incrementalBackupSpec\":{}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "not both");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 */4 * * *\"}},"
                          "\"retentionDuration\":\"86400s\",\"incrementalBackupSpec\":{}}",
                          &st),
                   &st, EM_FAILED_PRECONDITION, "STANDARD edition");
    expect_refused(create(f, "s1",
                          "{\"spec\":{\"cronSpec\":{\"text\":\"0 2 * * *\"}},"
                          "\"retentionDuration\":\"86400s\",\"fullBackupSpec\":{},"
                          "\"encryptionConfig\":{\"encryptionType\":"
                          "\"CUSTOMER_MANAGED_ENCRYPTION\"}}",
                          &st),
                   &st, EM_INVALID_ARGUMENT, "kms_key_name must be set");
    cJSON *request = cJSON_Parse(NIGHTLY), *out = NULL;
    expect_refused(sp_backup_schedule_create(f->schedules, INST "/databases/none", "s1", request,
                                             NOW, &out, &st),
                   &st, EM_NOT_FOUND, "Database not found");
    expect_refused(sp_backup_schedule_get(f->schedules, DB "/backupSchedules/none", &out, &st), &st,
                   EM_NOT_FOUND, "Backup schedule not found");
    expect_refused(sp_backup_schedule_get(f->schedules, "projects/x", &out, &st), &st,
                   EM_INVALID_ARGUMENT, "Invalid backup schedule name");
    cJSON_Delete(request);
}

static void test_update_and_delete(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "nightly", NIGHTLY, &st), EM_OK);
    cJSON *patch = cJSON_Parse("{\"spec\":{\"cronSpec\":{\"text\":\"0 3 * * 1\"}},"
                               "\"retentionDuration\":\"604800s\"}"),
          *out = NULL;
    assert_int_equal(sp_backup_schedule_update(f->schedules, SCHEDULE, patch, "spec.cron_spec.text",
                                               NOW + HOURS, &out, &st),
                     EM_OK);
    assert_string_equal(em_json_string(out, "retentionDuration"), "172800s"); /* not in the mask */
    assert_string_equal(
        em_json_string(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "spec"), "cronSpec"), "text"),
        "0 3 * * 1");
    assert_null(cJSON_GetObjectItem(out, "_doneUntil"));
    cJSON_Delete(out);
    assert_int_equal(sp_backup_schedule_update(f->schedules, SCHEDULE, patch, "retentionDuration",
                                               NOW + HOURS, &out, &st),
                     EM_OK);
    assert_string_equal(em_json_string(out, "retentionDuration"), "604800s");
    cJSON_Delete(out);
    expect_refused(sp_backup_schedule_update(f->schedules, SCHEDULE, patch, "full_backup_spec", NOW,
                                             &out, &st),
                   &st, EM_INVALID_ARGUMENT, "full_backup_spec");
    expect_refused(sp_backup_schedule_update(f->schedules, SCHEDULE, patch, "", NOW, &out, &st),
                   &st, EM_INVALID_ARGUMENT, "update_mask must be specified");
    cJSON_Delete(patch);

    cJSON *list = NULL;
    assert_int_equal(sp_backup_schedule_list(f->schedules, DB, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_null(cJSON_GetObjectItem(list->child, "_doneUntil"));
    cJSON_Delete(list);
    assert_int_equal(sp_backup_schedule_delete(f->schedules, SCHEDULE, &st), EM_OK);
    expect_refused(sp_backup_schedule_delete(f->schedules, SCHEDULE, &st), &st, EM_NOT_FOUND,
                   SCHEDULE);
}

/* The due schedules at now: their names and version times, "name@time;...". */
static void expect_due(struct fixture *f, int64_t now, const char *expected)
{
    cJSON *due = NULL;
    struct em_status st = {0};
    char got[1024] = "";
    assert_int_equal(sp_backup_schedules_due(f->schedules, now, &due, &st), EM_OK);
    const cJSON *item;
    cJSON_ArrayForEach(item, due)
    {
        const char *name = strrchr(em_json_string(item, "name"), '/') + 1;
        size_t len = strlen(got);
        snprintf(got + len, sizeof(got) - len, "%s@%s;", name, em_json_string(item, "versionTime"));
    }
    cJSON_Delete(due);
    if (strcmp(got, expected) != 0)
        fail_msg("due: \"%s\", expected \"%s\"", got, expected);
}

static void test_due_as_the_clock_moves(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "nightly", NIGHTLY, &st), EM_OK);
    expect_due(f, NOW, "");
    expect_due(f, at("2026-12-05T01:59:59Z"), "");
    expect_due(f, at("2026-12-05T02:00:00Z"), "nightly@2026-12-05T02:00:00Z;");
    assert_int_equal(
        sp_backup_schedule_done(f->schedules, SCHEDULE, at("2026-12-05T02:00:00Z"), &st), EM_OK);
    expect_due(f, at("2026-12-05T09:00:00Z"), "");
    /* three days later: one backup, of the latest time passed */
    expect_due(f, at("2026-12-08T05:00:00Z"), "nightly@2026-12-08T02:00:00Z;");
    /* years later: the latest still, found without walking every day */
    expect_due(f, at("2031-06-01T03:00:00Z"), "nightly@2031-06-01T02:00:00Z;");
    /* done for a time already done, or a schedule gone: nothing changes, no error */
    assert_int_equal(
        sp_backup_schedule_done(f->schedules, SCHEDULE, at("2026-12-01T02:00:00Z"), &st), EM_OK);
    expect_due(f, at("2026-12-06T02:00:00Z"), "nightly@2026-12-06T02:00:00Z;");
    assert_int_equal(sp_backup_schedule_done(f->schedules, DB "/backupSchedules/gone", NOW, &st),
                     EM_OK);
    /* a new crontab counts from the update */
    cJSON *patch = cJSON_Parse("{\"spec\":{\"cronSpec\":{\"text\":\"0 6 * * *\"}}}"), *out = NULL;
    assert_int_equal(sp_backup_schedule_update(f->schedules, SCHEDULE, patch, "spec",
                                               at("2026-12-07T07:00:00Z"), &out, &st),
                     EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(patch);
    expect_due(f, at("2026-12-08T05:59:00Z"), "");
    expect_due(f, at("2026-12-08T06:00:00Z"), "nightly@2026-12-08T06:00:00Z;");
}

static void test_scheduled_backup(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char name[SP_NAME_MAX];
    int64_t now = NOW + 30 * MINUTES;
    assert_int_equal(sp_backup_create_scheduled(f->backups, SCHEDULE, DB, NULL, NOW + 20 * MINUTES,
                                                2 * DAYS, now, name, &st),
                     EM_OK);
    assert_non_null(strstr(name, INST "/backups/nightly-20261204-1220-"));
    assert_int_equal(strlen(strrchr(name, '-') + 1), 6);
    cJSON *b = NULL;
    assert_int_equal(sp_backup_get(f->backups, name, &b, &st), EM_OK);
    assert_string_equal(em_json_string(b, "versionTime"), "2026-12-04T12:20:00Z");
    assert_string_equal(em_json_string(b, "expireTime"), "2026-12-06T12:20:00Z");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(b, "backupSchedules"), 0)->valuestring, SCHEDULE);
    cJSON_Delete(b);
    /* the same time again (a restart before it was recorded as done) */
    assert_int_equal(sp_backup_create_scheduled(f->backups, SCHEDULE, DB, NULL, NOW + 20 * MINUTES,
                                                2 * DAYS, now, name, &st),
                     EM_ALREADY_EXISTS);
    /* a time older than the database's versions (the clock jumped): moved up to them */
    now = NOW + 3 * DAYS;
    assert_int_equal(sp_backup_create_scheduled(f->backups, SCHEDULE, DB, NULL, NOW + DAYS,
                                                2 * DAYS, now, name, &st),
                     EM_OK);
    assert_int_equal(sp_backup_get(f->backups, name, &b, &st), EM_OK);
    assert_string_equal(em_json_string(b, "versionTime"), "2026-12-07T11:00:00Z");
    cJSON_Delete(b);
    /* a schedule of the same ID on another database gets another name */
    char other[SP_NAME_MAX];
    assert_int_equal(sp_backup_create_scheduled(f->backups,
                                                INST "/databases/db2/backupSchedules/nightly", DB,
                                                NULL, NOW + DAYS, 2 * DAYS, now, other, &st),
                     EM_OK);
    assert_string_not_equal(strrchr(name, '-'), strrchr(other, '-'));
}

static void test_schedules_go_with_their_database(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(create(f, "nightly", NIGHTLY, &st), EM_OK);
    assert_int_equal(sp_database_drop(f->admin, DB, &st), EM_OK);
    cJSON *due = NULL;
    assert_int_equal(sp_backup_schedules_due(f->schedules, NOW + 30 * DAYS, &due, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(due), 0);
    cJSON_Delete(due);
    cJSON *out = NULL;
    expect_refused(sp_backup_schedule_get(f->schedules, SCHEDULE, &out, &st), &st, EM_NOT_FOUND,
                   "Database not found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cron_grammar),
        cmocka_unit_test(test_cron_times),
        cmocka_unit_test(test_cron_gaps),
        cmocka_unit_test_setup_teardown(test_create_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_as_the_clock_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scheduled_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedules_go_with_their_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
