/*
 * spanner_backup_schedules: backup schedules with Spanner's rules (see
 * spanner_backup_schedules.h).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/
 * projects.instances.databases.backupSchedules and
 * https://cloud.google.com/spanner/docs/backup/create-manage-backup-schedules
 */
#include "spanner_backup_schedules.h"

#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "spanner_backup.h"
#include "spanner_cron.h"
#include "spanner_errors.h"
#include "spanner_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS(seconds) ((int64_t)(seconds)*EM_NS_PER_SEC)
#define DONE_UNTIL  "_doneUntil" /* the emulator's own: the last time of the crontab handled */
#define HOUR_NS     NS(3600)

struct sp_backup_schedules {
    struct em_store *store;
    struct sp_admin *admin;
    struct sp_backups *backups;
    pthread_mutex_t lock; /* each call's read-modify-write */
};

enum em_code sp_backup_schedules_open(struct em_store *store, struct sp_admin *admin,
                                      struct sp_backups *backups, struct sp_backup_schedules **out,
                                      struct em_status *st)
{
    *out = NULL;
    if (sp_store_migrate(store, st))
        return st->code;
    struct sp_backup_schedules *s = calloc(1, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(st);
    s->store = store;
    s->admin = admin;
    s->backups = backups;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return EM_OK;
}

void sp_backup_schedules_close(struct sp_backup_schedules *schedules)
{
    if (!schedules)
        return;
    pthread_mutex_destroy(&schedules->lock);
    free(schedules);
}

/* --- names --- */

/* The database part of a schedule's name (false when it has none). */
static bool database_of(const char *name, char out[SP_NAME_MAX])
{
    return em_name_prefix(name, "databases", out, SP_NAME_MAX);
}

static bool instance_of(const char *name, char out[SP_NAME_MAX])
{
    return em_name_prefix(name, "instances", out, SP_NAME_MAX);
}

/* The database exists (NOT_FOUND otherwise); *instance receives its instance's name. */
static enum em_code check_database(struct sp_backup_schedules *s, const char *database,
                                   char instance[SP_NAME_MAX], struct em_status *st)
{
    char id[128];
    if (!database || !instance_of(database, instance) ||
        !em_name_id(database, "databases", id, sizeof(id)) || strchr(id, '/'))
        return SP_ERR_INVALID_NAME(st, "database", database ? database : "");
    cJSON *db = NULL;
    sp_database_get(s->admin, database, &db, st);
    cJSON_Delete(db);
    return st->code;
}

static enum em_code check_schedule_name(struct sp_backup_schedules *s, const char *name,
                                        char database[SP_NAME_MAX], struct em_status *st)
{
    char instance[SP_NAME_MAX], id[128];
    if (!name || !database_of(name, database) ||
        !em_name_id(name, "backupSchedules", id, sizeof(id)) || strchr(id, '/'))
        return SP_ERR_INVALID_NAME(st, "backup schedule", name ? name : "");
    return check_database(s, database, instance, st);
}

/* --- the fields of a schedule --- */

/* spec.cronSpec: the crontab, its times far enough apart for the backup type. */
static enum em_code set_spec(cJSON *sched, const cJSON *request, bool incremental,
                             struct em_status *st)
{
    const cJSON *cron_spec = cJSON_GetObjectItem(cJSON_GetObjectItem(request, "spec"), "cronSpec");
    const char *text = em_json_string(cron_spec, "text");
    struct sp_cron cron;
    char why[200];
    if (!text || !*text)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "backup_schedule.spec.cron_spec.text must be specified: a crontab in "
                       "UTC such as \"0 2 * * *\".");
    if (!sp_cron_parse(text, &cron, why, sizeof(why)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid cron_spec.text \"%.100s\": %s", text, why);
    int64_t gap = sp_cron_min_gap(&cron);
    int64_t min_gap =
        NS(incremental ? SP_SCHEDULE_INCREMENTAL_MIN_GAP_S : SP_SCHEDULE_FULL_MIN_GAP_S);
    if (gap == SP_CRON_NEVER && sp_cron_next(&cron, 0) == SP_CRON_NEVER)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid cron_spec.text \"%.100s\": it names no time at all.", text);
    if (gap < min_gap) {
        long long minutes = (long long)(gap / NS(60));
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid cron_spec.text \"%.100s\": %s backups must be scheduled at least "
                       "%d hours apart, and this crontab has times %lld %s apart.",
                       text, incremental ? "incremental" : "full", (int)(min_gap / HOUR_NS),
                       minutes % 60 ? minutes : minutes / 60, minutes % 60 ? "minutes" : "hours");
    }
    cJSON_DeleteItemFromObject(sched, "spec");
    cJSON *out = cJSON_AddObjectToObject(cJSON_AddObjectToObject(sched, "spec"), "cronSpec");
    cJSON_AddStringToObject(out, "text", text);
    cJSON_AddStringToObject(out, "timeZone", "UTC");
    /* the service's tick makes a due backup within a second of its time */
    cJSON_AddStringToObject(out, "creationWindow", "1s");
    return EM_OK;
}

static enum em_code set_retention(cJSON *sched, const cJSON *request, struct em_status *st)
{
    const char *text = em_json_string(request, "retentionDuration");
    int64_t ns;
    if (!text)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "backup_schedule.retention_duration must be specified: how long each "
                       "backup is kept, from 6 hours to 366 days.");
    if (!em_duration_parse(text, &ns) || ns < NS(SP_BACKUP_MIN_RETENTION_S) ||
        ns > NS(SP_BACKUP_MAX_RETENTION_S))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid retention_duration %.60s: the retention duration of a backup "
                       "must be at least 6 hours and at most 366 days.",
                       text);
    cJSON_DeleteItemFromObject(sched, "retentionDuration");
    em_json_add_duration(sched, "retentionDuration", ns);
    return EM_OK;
}

static enum em_code set_encryption(struct sp_backup_schedules *s, cJSON *sched,
                                   const char *instance, const cJSON *request, bool incremental,
                                   struct em_status *st)
{
    const cJSON *config = cJSON_GetObjectItem(request, "encryptionConfig");
    cJSON_DeleteItemFromObject(sched, "encryptionConfig");
    if (!config)
        return EM_OK;
    if (sp_backup_encryption_check(s->backups, instance, config, st))
        return st->code;
    const char *type = em_json_string(config, "encryptionType");
    if (incremental && (!type || strcmp(type, "GOOGLE_DEFAULT_ENCRYPTION") != 0))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The encryption_config.encryption_type of an incremental backup schedule "
                       "must be GOOGLE_DEFAULT_ENCRYPTION.");
    cJSON_AddItemToObject(sched, "encryptionConfig", cJSON_Duplicate(config, true));
    return EM_OK;
}

/* fullBackupSpec or incrementalBackupSpec, exactly one; *incremental tells which. */
static enum em_code set_backup_type(struct sp_backup_schedules *s, cJSON *sched,
                                    const char *instance, const cJSON *request, bool *incremental,
                                    struct em_status *st)
{
    bool full = cJSON_GetObjectItem(request, "fullBackupSpec") != NULL;
    *incremental = cJSON_GetObjectItem(request, "incrementalBackupSpec") != NULL;
    if (full && *incremental)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A backup schedule takes one of full_backup_spec and "
                       "incremental_backup_spec, not both.");
    if (!full && !*incremental)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "backup_schedule.backup_type_spec must be specified: full_backup_spec or "
                       "incremental_backup_spec.");
    if (*incremental) {
        cJSON *inst = NULL;
        const char *edition = NULL;
        if (!sp_instance_get(s->admin, instance, &inst, st))
            edition = em_json_string(inst, "edition");
        if (!st->code && (!edition || strcmp(edition, "STANDARD") == 0))
            EM_FAIL(st, EM_FAILED_PRECONDITION,
                    "Incremental backups need an Enterprise or Enterprise Plus edition instance: "
                    "%.300s is a STANDARD edition instance.",
                    instance);
        cJSON_Delete(inst);
        if (st->code)
            return st->code;
    }
    cJSON_AddObjectToObject(sched, *incremental ? "incrementalBackupSpec" : "fullBackupSpec");
    return EM_OK;
}

/* --- load, save, show --- */

static enum em_code load_schedule(struct sp_backup_schedules *s, const char *name, cJSON **out,
                                  struct em_status *st)
{
    char *json = NULL;
    *out = NULL;
    if (sp_store_get_backup_schedule(s->store, name, &json, st))
        return st->code;
    if (!json)
        return EM_FAIL(st, EM_NOT_FOUND, "Backup schedule not found: %.400s", name);
    *out = cJSON_Parse(json);
    free(json);
    return *out ? EM_OK : EM_FAIL(st, EM_INTERNAL, "A stored backup schedule is not JSON.");
}

static enum em_code save_schedule(struct sp_backup_schedules *s, const cJSON *sched,
                                  const char *database, bool replace, struct em_status *st)
{
    char *json = cJSON_PrintUnformatted(sched);
    if (!json)
        return EM_FAIL_OOM(st);
    enum em_code rc = sp_store_put_backup_schedule(s->store, em_json_string(sched, "name"),
                                                   database, json, replace, st);
    free(json);
    if (rc == EM_ALREADY_EXISTS)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Backup schedule already exists: %.400s",
                       em_json_string(sched, "name"));
    return rc;
}

/* The schedule as the API shows it: without the emulator's bookkeeping. */
static cJSON *shown(cJSON *sched)
{
    cJSON_DeleteItemFromObject(sched, DONE_UNTIL);
    return sched;
}

/* --- create, get, list, update, delete --- */

enum em_code sp_backup_schedule_create(struct sp_backup_schedules *schedules, const char *database,
                                       const char *id, const cJSON *schedule, int64_t now,
                                       cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    char instance[SP_NAME_MAX], name[SP_NAME_MAX];
    bool incremental = false;
    if (check_database(schedules, database, instance, st) || sp_backup_schedule_id_check(id, st))
        return st->code;
    snprintf(name, sizeof(name), "%s/backupSchedules/%s", database, id);
    cJSON *sched = cJSON_CreateObject();
    cJSON_AddStringToObject(sched, "name", name);
    if (!set_backup_type(schedules, sched, instance, schedule, &incremental, st) &&
        !set_spec(sched, schedule, incremental, st) && !set_retention(sched, schedule, st) &&
        !set_encryption(schedules, sched, instance, schedule, incremental, st)) {
        em_json_add_time(sched, "updateTime", now);
        em_json_add_time(sched, DONE_UNTIL, now); /* the first backup: its next time */
        pthread_mutex_lock(&schedules->lock);
        save_schedule(schedules, sched, database, false, st);
        pthread_mutex_unlock(&schedules->lock);
    }
    if (st->code) {
        cJSON_Delete(sched);
        return st->code;
    }
    *out = shown(sched);
    return EM_OK;
}

enum em_code sp_backup_schedule_get(struct sp_backup_schedules *schedules, const char *name,
                                    cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0};
    char database[SP_NAME_MAX];
    *out = NULL;
    if (check_schedule_name(schedules, name, database, st) ||
        load_schedule(schedules, name, out, st))
        return st->code;
    shown(*out);
    return EM_OK;
}

enum em_code sp_backup_schedule_list(struct sp_backup_schedules *schedules, const char *database,
                                     cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0};
    char instance[SP_NAME_MAX];
    *out = NULL;
    if (check_database(schedules, database, instance, st) ||
        sp_store_list_backup_schedules(schedules->store, database, out, st))
        return st->code;
    for (cJSON *sched = (*out)->child; sched; sched = sched->next)
        shown(sched);
    return EM_OK;
}

struct schedule_update {
    struct sp_backup_schedules *schedules;
    cJSON *sched;
    const cJSON *request;
    const char *instance;
    bool spec, retention, encryption;
};

static enum em_code update_path(const char *path, void *arg, struct em_status *st)
{
    struct schedule_update *u = arg;
    if (em_mask_path_is(path, "spec") || em_mask_path_is(path, "spec.cronSpec") ||
        em_mask_path_is(path, "spec.cronSpec.text"))
        u->spec = true;
    else if (em_mask_path_is(path, "retentionDuration"))
        u->retention = true;
    else if (em_mask_path_is(path, "encryptionConfig"))
        u->encryption = true;
    else
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path %.100s: a backup schedule updates "
                       "spec.cron_spec.text, retention_duration and encryption_config.",
                       path);
    return EM_OK;
}

/* Applies the mask's fields of the request to the stored schedule. */
static enum em_code apply_update(struct schedule_update *u, const char *mask, int64_t now,
                                 struct em_status *st)
{
    size_t paths = 0;
    if (em_mask_each(mask, update_path, u, &paths, st))
        return st->code;
    if (paths == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "update_mask must be specified.");
    bool incremental = cJSON_GetObjectItem(u->sched, "incrementalBackupSpec") != NULL;
    if ((u->spec && set_spec(u->sched, u->request, incremental, st)) ||
        (u->retention && set_retention(u->sched, u->request, st)) ||
        (u->encryption &&
         set_encryption(u->schedules, u->sched, u->instance, u->request, incremental, st)))
        return st->code;
    cJSON_DeleteItemFromObject(u->sched, "updateTime");
    em_json_add_time(u->sched, "updateTime", now);
    if (u->spec) { /* a new crontab counts from now */
        cJSON_DeleteItemFromObject(u->sched, DONE_UNTIL);
        em_json_add_time(u->sched, DONE_UNTIL, now);
    }
    return EM_OK;
}

enum em_code sp_backup_schedule_update(struct sp_backup_schedules *schedules, const char *name,
                                       const cJSON *schedule, const char *update_mask, int64_t now,
                                       cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char database[SP_NAME_MAX], instance[SP_NAME_MAX];
    *out = NULL;
    const char *given = em_json_string(schedule, "name");
    if (check_schedule_name(schedules, name, database, st))
        return st->code;
    if (given && strcmp(given, name) != 0)
        return SP_ERR_INVALID_NAME(st, "backup schedule", given);
    instance_of(database, instance);
    cJSON *sched = NULL;
    pthread_mutex_lock(&schedules->lock);
    if (!load_schedule(schedules, name, &sched, st)) {
        struct schedule_update u = {schedules, sched, schedule, instance, false, false, false};
        if (!apply_update(&u, update_mask ? update_mask : "", now, st))
            save_schedule(schedules, sched, database, true, st);
    }
    pthread_mutex_unlock(&schedules->lock);
    if (st->code) {
        cJSON_Delete(sched);
        return st->code;
    }
    *out = shown(sched);
    return EM_OK;
}

enum em_code sp_backup_schedule_delete(struct sp_backup_schedules *schedules, const char *name,
                                       struct em_status *st)
{
    *st = (struct em_status){0};
    char database[SP_NAME_MAX];
    cJSON *sched = NULL;
    if (check_schedule_name(schedules, name, database, st))
        return st->code;
    pthread_mutex_lock(&schedules->lock);
    if (!load_schedule(schedules, name, &sched, st))
        sp_store_delete_backup_schedule(schedules->store, name, st);
    pthread_mutex_unlock(&schedules->lock);
    cJSON_Delete(sched);
    return st->code;
}

/* --- the tick --- */

/* The latest time of the schedule's crontab after done_until and at or before now;
 * SP_CRON_NEVER when there is none. */
static int64_t latest_due(const struct sp_cron *cron, int64_t done_until, int64_t now)
{
    int64_t due = SP_CRON_NEVER;
    int64_t next = sp_cron_next(cron, done_until);
    /* a clock that jumped years ahead: skip to the last day before now */
    if (next != SP_CRON_NEVER && next <= now && now - next > 400 * 24 * HOUR_NS)
        next = sp_cron_next(cron, now - 400 * 24 * HOUR_NS);
    while (next != SP_CRON_NEVER && next <= now) {
        due = next;
        next = sp_cron_next(cron, next);
    }
    return due;
}

static cJSON *due_item(const cJSON *sched, int64_t version_time)
{
    const char *name = em_json_string(sched, "name");
    char database[SP_NAME_MAX];
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "name", name);
    if (database_of(name, database))
        cJSON_AddStringToObject(item, "database", database);
    em_json_add_time(item, "versionTime", version_time);
    cJSON_AddStringToObject(item, "retentionDuration", em_json_string(sched, "retentionDuration"));
    const cJSON *config = cJSON_GetObjectItem(sched, "encryptionConfig");
    if (config)
        cJSON_AddItemToObject(item, "encryptionConfig", cJSON_Duplicate(config, true));
    return item;
}

enum em_code sp_backup_schedules_due(struct sp_backup_schedules *schedules, int64_t now,
                                     cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0};
    cJSON *all = NULL;
    *out = NULL;
    if (sp_store_list_all_backup_schedules(schedules->store, &all, st))
        return st->code;
    cJSON *due = cJSON_CreateArray();
    const cJSON *sched;
    cJSON_ArrayForEach(sched, all)
    {
        const char *text = em_json_string(
            cJSON_GetObjectItem(cJSON_GetObjectItem(sched, "spec"), "cronSpec"), "text");
        struct sp_cron cron;
        char why[200];
        int64_t done_until;
        if (!text || !sp_cron_parse(text, &cron, why, sizeof(why)) ||
            !em_time_parse(em_json_string(sched, DONE_UNTIL), &done_until) ||
            !em_json_string(sched, "retentionDuration"))
            continue; /* not one this file wrote */
        int64_t version_time = latest_due(&cron, done_until, now);
        if (version_time != SP_CRON_NEVER)
            cJSON_AddItemToArray(due, due_item(sched, version_time));
    }
    cJSON_Delete(all);
    *out = due;
    return EM_OK;
}

enum em_code sp_backup_schedule_done(struct sp_backup_schedules *schedules, const char *name,
                                     int64_t version_time, struct em_status *st)
{
    *st = (struct em_status){0};
    char database[SP_NAME_MAX];
    cJSON *sched = NULL;
    if (!database_of(name, database))
        return SP_ERR_INVALID_NAME(st, "backup schedule", name);
    pthread_mutex_lock(&schedules->lock);
    if (!load_schedule(schedules, name, &sched, st)) {
        int64_t done_until = 0;
        em_time_parse(em_json_string(sched, DONE_UNTIL), &done_until);
        if (version_time > done_until) {
            cJSON_DeleteItemFromObject(sched, DONE_UNTIL);
            em_json_add_time(sched, DONE_UNTIL, version_time);
            save_schedule(schedules, sched, database, true, st);
        }
    } else if (st->code == EM_NOT_FOUND) {
        *st = (struct em_status){0}; /* deleted meanwhile */
    }
    pthread_mutex_unlock(&schedules->lock);
    cJSON_Delete(sched);
    return st->code;
}
