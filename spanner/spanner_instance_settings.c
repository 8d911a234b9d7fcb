/*
 * spanner_instance_settings: an instance's edition and the settings not built. See
 * spanner_instance_settings.h. The edition is what Spanner's Enterprise features check
 * (here: incremental backup schedules, spanner_backup_schedules.c; instance partitions,
 * spanner_instance_partitions.c).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances
 */
#include "spanner_instance_settings.h"

#include "em_json.h"
#include "em_mask.h"
#include "spanner_store.h"

#include <string.h>

static bool is(const char *value, const char *name)
{
    return value && strcmp(value, name) == 0;
}

/* The settings the emulator does not build, when the request sets them. */
static enum em_code refuse_unbuilt(const cJSON *request, struct em_status *st)
{
    const char *type = em_json_string(request, "instanceType");
    const cJSON *free_metadata = cJSON_GetObjectItem(request, "freeInstanceMetadata");
    if (is(type, "FREE_INSTANCE") || (free_metadata && !cJSON_IsNull(free_metadata)))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Free trial instances (instance_type FREE_INSTANCE) "
                       "are not implemented by this emulator.");
    if (is(em_json_string(request, "defaultBackupScheduleType"), "AUTOMATIC"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Default backup schedules (default_backup_schedule_type AUTOMATIC) are "
                       "not implemented by this emulator: create a backup schedule for each "
                       "database.");
    static const char *const strings[][2] = {{"ssdCache", "SSD caches (ssd_cache)"},
                                             {"defaultStorageType", "default_storage_type"}};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        const char *value = em_json_string(request, strings[i][0]);
        if (value && *value)
            return EM_FAIL(st, EM_UNIMPLEMENTED, "%s is not implemented by this emulator.",
                           strings[i][1]);
    }
    return EM_OK;
}

static void set_or_remove(cJSON *inst, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject(inst, key);
    if (value)
        cJSON_AddStringToObject(inst, key, value);
}

static const char *edition_of(const cJSON *request)
{
    const char *edition = em_json_string(request, "edition");
    return !edition || is(edition, "EDITION_UNSPECIFIED") ? "STANDARD" : edition;
}

static const char *schedule_type_of(const cJSON *request)
{
    return is(em_json_string(request, "defaultBackupScheduleType"), "NONE") ? "NONE" : NULL;
}

enum em_code sp_instance_settings_create(cJSON *inst, const cJSON *request, struct em_status *st)
{
    if (refuse_unbuilt(request, st))
        return st->code;
    set_or_remove(inst, "edition", edition_of(request));
    set_or_remove(inst, "defaultBackupScheduleType", schedule_type_of(request));
    return EM_OK;
}

/* Whether a database of the instance has an incremental backup schedule. */
static enum em_code check_no_incremental(struct em_store *store, const char *instance,
                                         struct em_status *st)
{
    cJSON *databases = NULL;
    if (sp_store_list_databases(store, instance, &databases, st))
        return st->code;
    const cJSON *db;
    cJSON_ArrayForEach(db, databases)
    {
        cJSON *schedules = NULL;
        const char *name = em_json_string(db, "name");
        if (!name || sp_store_list_backup_schedules(store, name, &schedules, st))
            break;
        const cJSON *schedule;
        cJSON_ArrayForEach(schedule, schedules)
        {
            if (cJSON_GetObjectItem(schedule, "incrementalBackupSpec")) {
                EM_FAIL(st, EM_FAILED_PRECONDITION,
                        "The instance %.300s cannot become a STANDARD edition instance: the "
                        "backup schedule %.300s makes incremental backups, an Enterprise "
                        "feature.",
                        instance, em_json_string(schedule, "name"));
                break;
            }
        }
        cJSON_Delete(schedules);
        if (st->code)
            break;
    }
    cJSON_Delete(databases);
    return st->code;
}

/* An instance with partitions stays ENTERPRISE_PLUS (the edition partitions need). */
static enum em_code check_no_partitions(struct em_store *store, const char *instance,
                                        const char *edition, struct em_status *st)
{
    cJSON *partitions = NULL;
    if (sp_store_list_instance_partitions(store, instance, &partitions, st))
        return st->code;
    int count = cJSON_GetArraySize(partitions);
    cJSON_Delete(partitions);
    if (count > 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The instance %.300s cannot become a %s edition instance: it has %d "
                       "instance partition%s, which need the ENTERPRISE_PLUS edition.",
                       instance, edition, count, count == 1 ? "" : "s");
    return EM_OK;
}

enum em_code sp_instance_settings_update(struct em_store *store, cJSON *inst, const cJSON *request,
                                         const char *path, bool *handled, struct em_status *st)
{
    *handled = true;
    if (em_mask_path_is(path, "edition")) {
        const char *edition = edition_of(request);
        const char *name = em_json_string(inst, "name");
        if ((is(edition, "STANDARD") && check_no_incremental(store, name, st)) ||
            (!is(edition, "ENTERPRISE_PLUS") && check_no_partitions(store, name, edition, st)))
            return st->code;
        set_or_remove(inst, "edition", edition);
        return EM_OK;
    }
    if (em_mask_path_is(path, "defaultBackupScheduleType")) {
        if (refuse_unbuilt(request, st))
            return st->code;
        set_or_remove(inst, "defaultBackupScheduleType", schedule_type_of(request));
        return EM_OK;
    }
    if (em_mask_path_is(path, "instanceType"))
        return refuse_unbuilt(request, st); /* PROVISIONED, which every instance is */
    static const char *const unbuilt[] = {"freeInstanceMetadata", "ssdCache", "defaultStorageType"};
    for (size_t i = 0; i < sizeof(unbuilt) / sizeof(unbuilt[0]); i++)
        if (em_mask_path_is(path, unbuilt[i]))
            return refuse_unbuilt(request, st);
    *handled = false;
    return EM_OK;
}
