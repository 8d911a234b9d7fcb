/*
 * spanner_instance_partitions: instance partitions with Google's rules (see
 * spanner_instance_partitions.h): an ID of 2 to 64 characters, a READY config, a display
 * name of 4 to 30 characters unique in the project, nodes or processing units as an
 * instance's, an instance of the Enterprise Plus edition.
 */
#include "spanner_instance_partitions.h"

#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "spanner_admin.h"
#include "spanner_errors.h"
#include "spanner_instance_configs.h"
#include "spanner_json.h"
#include "spanner_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct em_id_rule partition_id_rule = {
    "instance partition ID",
    2,
    64,
    "-",
    true,
    true,
    "an instance partition ID is 2 to 64 lowercase letters, digits or hyphens, starts with a "
    "letter and does not end with a hyphen."};

static enum em_code not_found(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_NOT_FOUND, "Instance partition not found: %.400s", name);
}

static enum em_code load(struct em_store *store, const char *name, cJSON **out,
                         struct em_status *st)
{
    char *text = NULL;
    *out = NULL;
    if (sp_store_get_instance_partition(store, name, &text, st))
        return st->code;
    if (!text)
        return not_found(name, st);
    *out = cJSON_Parse(text);
    free(text);
    return *out ? EM_OK : EM_FAIL(st, EM_INTERNAL, "A stored instance partition is not JSON.");
}

static enum em_code save(struct em_store *store, const cJSON *partition, bool replace,
                         struct em_status *st)
{
    const char *name = em_json_string(partition, "name");
    char instance[SP_NAME_MAX];
    snprintf(instance, sizeof(instance), "%.*s", (int)(strstr(name, "/instancePartitions/") - name),
             name);
    char *text = cJSON_PrintUnformatted(partition);
    if (!text)
        return EM_FAIL_OOM(st);
    sp_store_put_instance_partition(store, name, instance, text, replace, st);
    free(text);
    return st->code;
}

/* The parent instance, of the Enterprise Plus edition. */
static enum em_code check_instance(struct sp_admin *admin, const char *instance,
                                   struct em_status *st)
{
    cJSON *inst = NULL;
    if (sp_instance_get(admin, instance, &inst, st))
        return st->code;
    const char *edition = em_json_string(inst, "edition");
    if (!edition || strcmp(edition, "ENTERPRISE_PLUS") != 0)
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "Instance %.300s is of the %s edition: instance partitions need the "
                "ENTERPRISE_PLUS edition.",
                instance, edition ? edition : "STANDARD");
    cJSON_Delete(inst);
    return st->code;
}

/* No other partition of the project (self excluded) has this display name. */
static enum em_code check_unique_display_name(struct em_store *store, const char *project,
                                              const char *display_name, const char *self,
                                              struct em_status *st)
{
    char project_name[96];
    cJSON *all = NULL;
    snprintf(project_name, sizeof(project_name), "projects/%s", project);
    if (sp_store_list_project_partitions(store, project_name, &all, st))
        return st->code;
    const cJSON *p;
    cJSON_ArrayForEach(p, all)
    {
        const char *name = em_json_string(p, "name"), *shown = em_json_string(p, "displayName");
        if (shown && strcmp(shown, display_name) == 0 && (!self || strcmp(name, self) != 0)) {
            EM_FAIL(st, EM_ALREADY_EXISTS,
                    "Instance partition %.300s of project %s has the display name \"%.100s\" "
                    "already: it must be unique in the project.",
                    name, project, display_name);
            break;
        }
    }
    cJSON_Delete(all);
    return st->code;
}

/* The InstancePartition a create request describes, checked. */
static enum em_code new_partition(struct sp_admin *admin, const char *project, const char *name,
                                  const cJSON *given, int64_t now, cJSON **out,
                                  struct em_status *st)
{
    const char *given_name = em_json_string(given, "name");
    const char *config = em_json_string(given, "config");
    const char *display_name = em_json_string(given, "displayName");
    struct em_store *store = sp_admin_store(admin);
    *out = NULL;
    if (!given)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_partition must be specified.");
    if (given_name && *given_name && strcmp(given_name, name) != 0)
        return SP_ERR_INVALID_NAME(st, "instance partition", given_name);
    if (!config || !*config)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_partition.config must be specified.");
    if (sp_check_display_name(display_name, st) || sp_check_no_autoscaling(given, st) ||
        sp_check_instance_config(store, project, config, st) ||
        check_unique_display_name(store, project, display_name, NULL, st))
        return st->code;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "config", config);
    cJSON_AddStringToObject(p, "displayName", display_name);
    if (sp_set_capacity(p, given, true, true, true, st) || sp_etag_set(p, st)) {
        cJSON_Delete(p);
        return st->code;
    }
    cJSON_AddStringToObject(p, "state", "CREATING");
    em_json_add_time(p, "createTime", now);
    em_json_add_time(p, "updateTime", now);
    *out = p;
    return EM_OK;
}

enum em_code sp_partition_create(struct sp_admin *admin, const char *instance, const cJSON *request,
                                 int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const char *id = em_json_string(request, "instancePartitionId");
    char project[64], name[SP_NAME_MAX + 96];
    *out = NULL;
    if (!em_name_id(instance, "projects", project, sizeof(project)))
        return SP_ERR_INVALID_NAME(st, "instance", instance);
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_partition_id must be specified.");
    if (em_id_check(id, &partition_id_rule, st))
        return st->code;
    if (id[strlen(id) - 1] == '-')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid instance partition ID \"%.100s\": %s", id,
                       partition_id_rule.description);
    snprintf(name, sizeof(name), "%s/instancePartitions/%s", instance, id);
    cJSON *partition = NULL;
    char *existing = NULL;
    sp_admin_lock(admin);
    if (!check_instance(admin, instance, st) &&
        !new_partition(admin, project, name, cJSON_GetObjectItem(request, "instancePartition"), now,
                       &partition, st) &&
        !sp_store_get_instance_partition(sp_admin_store(admin), name, &existing, st)) {
        if (existing)
            EM_FAIL(st, EM_ALREADY_EXISTS, "Instance partition already exists: %s", name);
        else
            save(sp_admin_store(admin), partition, false, st);
    }
    sp_admin_unlock(admin);
    free(existing);
    if (st->code) {
        cJSON_Delete(partition);
        return st->code;
    }
    *out = partition;
    return EM_OK;
}

enum em_code sp_partition_ready(struct sp_admin *admin, const char *name, cJSON **out,
                                struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct em_store *store = sp_admin_store(admin);
    sp_admin_lock(admin);
    if (!load(store, name, out, st) && sp_json_mark_ready(*out))
        save(store, *out, true, st);
    sp_admin_unlock(admin);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

enum em_code sp_partition_get(struct sp_admin *admin, const char *name, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    return load(sp_admin_store(admin), name, out, st);
}

enum em_code sp_partition_list(struct sp_admin *admin, const char *parent, cJSON **out,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    size_t len = strlen(parent);
    *out = NULL;
    if (len > 12 && strcmp(parent + len - 12, "/instances/-") == 0) {
        char project[SP_NAME_MAX];
        snprintf(project, sizeof(project), "%.*s", (int)(len - 12), parent);
        return sp_store_list_project_partitions(sp_admin_store(admin), project, out, st);
    }
    cJSON *inst = NULL;
    if (sp_instance_get(admin, parent, &inst, st))
        return st->code;
    cJSON_Delete(inst);
    return sp_store_list_instance_partitions(sp_admin_store(admin), parent, out, st);
}

/* --- update and delete --- */

struct update {
    struct em_store *store;
    const char *project;
    cJSON *partition;
    const cJSON *given;
};

static enum em_code update_path(const char *path, void *arg, struct em_status *st)
{
    struct update *u = arg;
    if (em_mask_path_is(path, "displayName")) {
        const char *display_name = em_json_string(u->given, "displayName");
        if (sp_check_display_name(display_name, st) ||
            check_unique_display_name(u->store, u->project, display_name,
                                      em_json_string(u->partition, "name"), st))
            return st->code;
        cJSON_DeleteItemFromObject(u->partition, "displayName");
        cJSON_AddStringToObject(u->partition, "displayName", display_name);
        return EM_OK;
    }
    if (em_mask_path_is(path, "nodeCount"))
        return sp_set_capacity(u->partition, u->given, true, false, false, st);
    if (em_mask_path_is(path, "processingUnits"))
        return sp_set_capacity(u->partition, u->given, false, true, false, st);
    if (em_mask_path_is(path, "autoscalingConfig"))
        return sp_check_no_autoscaling(u->given, st);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid field_mask: field \"%.100s\" of an instance partition cannot be "
                   "updated (display_name, node_count and processing_units can).",
                   path);
}

enum em_code sp_partition_update(struct sp_admin *admin, const char *name, const cJSON *request,
                                 int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const cJSON *given = cJSON_GetObjectItem(request, "instancePartition");
    const char *given_name = em_json_string(given, "name");
    const char *mask = em_json_string(request, "fieldMask");
    char project[64];
    *out = NULL;
    if (!given)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_partition must be specified.");
    if (given_name && *given_name && strcmp(given_name, name) != 0)
        return SP_ERR_INVALID_NAME(st, "instance partition", given_name);
    em_name_id(name, "projects", project, sizeof(project));
    struct update u = {sp_admin_store(admin), project, NULL, given};
    size_t paths = 0;
    sp_admin_lock(admin);
    if (!load(u.store, name, &u.partition, st) &&
        !sp_etag_check(u.partition, em_json_string(given, "etag"), st) &&
        !em_mask_each(mask ? mask : "", update_path, &u, &paths, st)) {
        if (paths == 0)
            EM_FAIL(st, EM_INVALID_ARGUMENT, "field_mask must be specified.");
        else if (!sp_etag_set(u.partition, st)) {
            cJSON_DeleteItemFromObject(u.partition, "updateTime");
            em_json_add_time(u.partition, "updateTime", now);
            save(u.store, u.partition, true, st);
        }
    }
    sp_admin_unlock(admin);
    if (st->code) {
        cJSON_Delete(u.partition);
        return st->code;
    }
    *out = u.partition;
    return EM_OK;
}

enum em_code sp_partition_delete(struct sp_admin *admin, const char *name, const char *etag,
                                 struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct em_store *store = sp_admin_store(admin);
    cJSON *partition = NULL;
    sp_admin_lock(admin);
    if (!load(store, name, &partition, st) && !sp_etag_check(partition, etag, st))
        sp_store_delete_instance_partition(store, name, st);
    sp_admin_unlock(admin);
    cJSON_Delete(partition);
    return st->code;
}
