/*
 * bigtable_table_settings: a table's settings beside its column families, as CreateTable
 * and UpdateTable take them (see bigtable_admin_parts.h):
 *
 *   changeStreamConfig.retentionPeriod                1 to 7 days, kept to the microsecond
 *   tieredStorageConfig.infrequentAccess.includeIfOlderThan
 *                                                     at least 30 days; SSD instances only
 *   automatedBackupPolicy, rowKeySchema               UNIMPLEMENTED (not silently dropped:
 *                                                     the emulator takes no automated backup
 *                                                     and serves no SQL over row keys)
 *
 * Each setting is stored in the Table's JSON as Google answers it (durations canonical) and
 * shown in the SCHEMA and FULL views. The emulator has no change stream reader
 * (ReadChangeStream) and one storage tier: the settings are kept and answered, nothing else.
 * Reference:
 * https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/projects.instances.tables
 */
#include "bigtable_admin_parts.h"

#include "em_json.h"
#include "em_mask.h"

#include <stdio.h>
#include <string.h>

#define DAY_NS (86400LL * 1000000000LL)

/* A duration member of obj within [min_ns, max_ns], truncated to the microsecond; what
 * names the field in errors. */
static enum em_code duration_within(const cJSON *obj, const char *key, const char *what,
                                    int64_t min_ns, int64_t max_ns, const char *range, int64_t *ns,
                                    struct em_status *st)
{
    const cJSON *item = cJSON_GetObjectItem(obj, key);
    if (!cJSON_IsString(item))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s must be set: %s.", what, range);
    if (!em_duration_parse(item->valuestring, ns))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s \"%.64s\": expected a duration such "
                       "as \"86400s\".",
                       what, item->valuestring);
    *ns -= *ns % 1000;
    if (*ns < min_ns || *ns > max_ns)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s %.64s: %s.", what, item->valuestring,
                       range);
    return EM_OK;
}

/* The canonical change stream config of config, or NULL with st set. */
static cJSON *change_stream(const cJSON *config, struct em_status *st)
{
    int64_t ns;
    if (duration_within(config, "retentionPeriod", "change_stream_config.retention_period", DAY_NS,
                        7 * DAY_NS, "it must be at least 1 day and at most 7 days", &ns, st))
        return NULL;
    cJSON *out = cJSON_CreateObject();
    em_json_add_duration(out, "retentionPeriod", ns);
    return out;
}

/* The canonical tiered storage config of config, or NULL with st set. */
static cJSON *tiered_storage(const cJSON *config, struct em_status *st)
{
    const cJSON *rule = cJSON_GetObjectItem(config, "infrequentAccess");
    int64_t ns;
    if (!cJSON_IsObject(rule)) {
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "A tiered_storage_config must have a rule "
                "(infrequent_access); to have none, leave the whole config unset.");
        return NULL;
    }
    if (duration_within(rule, "includeIfOlderThan",
                        "tiered_storage_config.infrequent_access.include_if_older_than",
                        30 * DAY_NS, INT64_MAX, "it must be at least 30 days", &ns, st))
        return NULL;
    cJSON *out = cJSON_CreateObject();
    em_json_add_duration(cJSON_AddObjectToObject(out, "infrequentAccess"), "includeIfOlderThan",
                         ns);
    return out;
}

static enum em_code unbuilt(const cJSON *table, struct em_status *st)
{
    static const char *const fields[][2] = {
        {"automatedBackupPolicy", "Automated backups (automated_backup_policy)"},
        {"rowKeySchema", "Row key schemas (row_key_schema)"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *v = cJSON_GetObjectItem(table, fields[i][0]);
        if (v && !cJSON_IsNull(v))
            return EM_FAIL(st, EM_UNIMPLEMENTED, "%s are not implemented by this emulator.",
                           fields[i][1]);
    }
    return EM_OK;
}

/* Sets stored's key to the canonical form of table's (NULL or absent: removes it). */
static enum em_code set_setting(cJSON *stored, const cJSON *table, const char *key,
                                struct em_status *st)
{
    const cJSON *given = cJSON_GetObjectItem(table, key);
    cJSON *canonical = NULL;
    if (given && !cJSON_IsNull(given)) {
        canonical = strcmp(key, "changeStreamConfig") == 0 ? change_stream(given, st)
                                                           : tiered_storage(given, st);
        if (!canonical)
            return st->code;
    }
    cJSON_DeleteItemFromObject(stored, key);
    if (canonical)
        cJSON_AddItemToObject(stored, key, canonical);
    return EM_OK;
}

enum em_code bt_table_settings_create(const cJSON *table, cJSON *stored, struct em_status *st)
{
    if (unbuilt(table, st) || set_setting(stored, table, "changeStreamConfig", st) ||
        set_setting(stored, table, "tieredStorageConfig", st))
        return st->code;
    return EM_OK;
}

enum em_code bt_table_settings_update(const char *path, const cJSON *table, cJSON *stored,
                                      bool *handled, struct em_status *st)
{
    static const char *const settings[][2] = {
        {"changeStreamConfig", "changeStreamConfig.retentionPeriod"},
        {"tieredStorageConfig", "tieredStorageConfig.infrequentAccess.includeIfOlderThan"},
        {"tieredStorageConfig", "tieredStorageConfig.infrequentAccess"}};
    *handled = true;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (em_mask_path_is(path, settings[i][0]) || em_mask_path_is(path, settings[i][1]))
            return set_setting(stored, table, settings[i][0], st);
    static const char *const unbuilt_paths[] = {"automatedBackupPolicy",
                                                "automatedBackupPolicy.retentionPeriod",
                                                "automatedBackupPolicy.frequency", "rowKeySchema"};
    for (size_t i = 0; i < sizeof(unbuilt_paths) / sizeof(unbuilt_paths[0]); i++)
        if (em_mask_path_is(path, unbuilt_paths[i]))
            return unbuilt(table, st); /* clearing what was never set is nothing to do */
    if (em_mask_path_is(path, "columnFamilies"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "UpdateTable does not update column_families: "
                       "use ModifyColumnFamilies.");
    *handled = false;
    return EM_OK;
}

enum em_code bt_table_settings_check_storage(const cJSON *stored, const cJSON *clusters,
                                             struct em_status *st)
{
    if (!cJSON_GetObjectItem(stored, "tieredStorageConfig"))
        return EM_OK;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        const char *type = em_json_string(c, "defaultStorageType"),
                   *name = em_json_string(c, "name");
        if (type && strcmp(type, "HDD") == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Tiered storage is only available on SSD "
                           "instances: the cluster %.300s stores on HDD.",
                           name ? name : "");
    }
    return EM_OK;
}
