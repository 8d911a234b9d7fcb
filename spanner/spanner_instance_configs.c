/*
 * spanner_instance_configs: Google-managed and user-managed instance configurations (see
 * spanner_instance_configs.h). A user-managed config keeps every replica of its base config
 * and may add some of the base's optional replicas; only its display name and labels
 * change after creation; it is deleted only when no instance uses it.
 */
#include "spanner_instance_configs.h"

#include "em_crypto.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_store.h"
#include "spanner_admin.h"
#include "spanner_errors.h"
#include "spanner_json.h"
#include "spanner_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_ID_MAX 64
#define ETAG_BYTES    12
/* more replicas than any base config and its optional ones: refused before the checks,
 * which compare each replica with the others */
#define MAX_REPLICAS 256

/* --- lookups --- */

bool sp_instance_config_is_user_managed(const cJSON *config)
{
    const char *type = em_json_string(config, "configType");
    return type && strcmp(type, "USER_MANAGED") == 0;
}

static enum em_code load_user_config(struct em_store *store, const char *name, cJSON **out,
                                     struct em_status *st)
{
    char *text = NULL;
    *out = NULL;
    if (sp_store_get_instance_config(store, name, &text, st))
        return st->code;
    if (!text)
        return SP_ERR_CONFIG_NOT_FOUND(st, name);
    *out = cJSON_Parse(text);
    free(text);
    return *out ? EM_OK : EM_FAIL(st, EM_INTERNAL, "A stored instance config is not JSON.");
}

enum em_code sp_instance_config_find(struct em_store *store, const char *project, const char *id,
                                     cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = sp_config_get(project, id);
    if (*out)
        return EM_OK;
    char name[256];
    snprintf(name, sizeof(name), "projects/%s/instanceConfigs/%s", project, id);
    if (strncmp(id, "custom-", 7) != 0)
        return SP_ERR_CONFIG_NOT_FOUND(st, name);
    return load_user_config(store, name, out, st);
}

enum em_code sp_instance_config_list(struct em_store *store, const char *project, cJSON **out,
                                     struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char parent[96];
    cJSON *user = NULL;
    snprintf(parent, sizeof(parent), "projects/%s", project);
    *out = NULL;
    if (sp_store_list_instance_configs(store, parent, &user, st))
        return st->code;
    *out = sp_configs_list(project);
    while (cJSON_GetArraySize(user) > 0)
        cJSON_AddItemToArray(*out, cJSON_DetachItemFromArray(user, 0));
    cJSON_Delete(user);
    return EM_OK;
}

/* --- checks --- */

/* "projects/<project>/instanceConfigs/<id>": the project and id, checked. */
static enum em_code split_name(const char *name, char project[64], char id[CONFIG_ID_MAX + 1],
                               struct em_status *st)
{
    if (!name || !em_name_id(name, "projects", project, 64) ||
        !em_name_id(name, "instanceConfigs", id, CONFIG_ID_MAX + 1))
        return SP_ERR_INVALID_NAME(st, "instance config", name ? name : "");
    return em_project_check(project, st);
}

/* instance_config_id: custom-[-a-z0-9]*[a-z0-9], 2 to 64 characters. */
static enum em_code check_config_id(const char *id, struct em_status *st)
{
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_config_id must be specified.");
    size_t len = strlen(id);
    bool valid = strncmp(id, "custom-", 7) == 0 && len > 7 && len <= CONFIG_ID_MAX &&
                 strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") == len && id[len - 1] != '-';
    if (!valid)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid instance_config_id \"%.100s\": it must start with \"custom-\", "
                       "go on with lowercase letters, digits or hyphens, end with a letter or a "
                       "digit, and be at most 64 characters long.",
                       id);
    return EM_OK;
}

static enum em_code check_display_name(const char *display_name, struct em_status *st)
{
    if (!display_name || !*display_name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_config.display_name must be specified.");
    return EM_OK;
}

/* The base config: a Google-managed config of the same project. */
static enum em_code load_base(struct em_store *store, const char *project, const char *base_name,
                              cJSON **base, struct em_status *st)
{
    char base_project[64], base_id[CONFIG_ID_MAX + 1];
    *base = NULL;
    if (!base_name || !*base_name)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_config.base_config must be specified.");
    if (split_name(base_name, base_project, base_id, st))
        return st->code;
    if (strcmp(base_project, project) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "instance_config.base_config %.300s must be a configuration of project "
                       "%s, the new configuration's.",
                       base_name, project);
    if (sp_instance_config_find(store, project, base_id, base, st))
        return st->code;
    if (sp_instance_config_is_user_managed(*base)) {
        cJSON_Delete(*base);
        *base = NULL;
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "instance_config.base_config %.300s is user-managed: the base of a "
                       "configuration must be Google-managed (give its base_config instead).",
                       base_name);
    }
    return EM_OK;
}

static bool same_replica(const cJSON *a, const cJSON *b)
{
    const char *la = em_json_string(a, "location"), *lb = em_json_string(b, "location");
    const char *ta = em_json_string(a, "type"), *tb = em_json_string(b, "type");
    return la && lb && ta && tb && strcmp(la, lb) == 0 && strcmp(ta, tb) == 0;
}

/* The first requested replica like r that stands for no base replica yet. */
static int find_untaken(const cJSON *replicas, const cJSON *r, const cJSON **base_of)
{
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, replicas)
    {
        if (!base_of[i] && same_replica(item, r))
            return i;
        i++;
    }
    return -1;
}

static bool in_list(const cJSON *list, const cJSON *r)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (same_replica(item, r))
            return true;
    }
    return false;
}

/* At most MAX_REPLICAS, each with a location and a type. */
static enum em_code check_replica_fields(const cJSON *replicas, struct em_status *st)
{
    if (cJSON_GetArraySize(replicas) > MAX_REPLICAS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "instance_config.replicas holds %d replicas: at most %d are possible.",
                       cJSON_GetArraySize(replicas), MAX_REPLICAS);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, replicas)
    {
        const char *location = em_json_string(r, "location"), *type = em_json_string(r, "type");
        if (!location || !*location)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "instance_config.replicas[%d].location must be specified.", i);
        if (!type || strcmp(type, "TYPE_UNSPECIFIED") == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "instance_config.replicas[%d].type must be specified.", i);
        i++;
    }
    return EM_OK;
}

/* Sets base_of[i] to the base replica the i-th requested replica stands for (NULL: an
 * added one); each of the base's replicas must be there. */
static enum em_code match_base_replicas(const cJSON *base, const cJSON *replicas,
                                        const cJSON **base_of, struct em_status *st)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(base, "replicas"))
    {
        int at = find_untaken(replicas, b, base_of);
        if (at < 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "instance_config.replicas must hold every replica of the base config "
                           "%.200s: its %s replica in %s is missing.",
                           em_json_string(base, "name"), em_json_string(b, "type"),
                           em_json_string(b, "location"));
        base_of[at] = b;
    }
    return EM_OK;
}

/* Whether an added replica before index `at` is like r. */
static bool added_before(const cJSON *replicas, const cJSON **base_of, int at, const cJSON *r)
{
    int j = 0;
    for (const cJSON *before = replicas->child; j < at; before = before->next, j++)
        if (!base_of[j] && same_replica(before, r))
            return true;
    return false;
}

/* The replicas beyond the base's: each an optional replica of the base, none twice. The
 * API reference asks for at least one, yet Google's own Node.js sample creates a config
 * with the base's replicas alone (samples/v2/instance-config-create.js): accepted. */
static enum em_code check_added_replicas(const cJSON *base, const cJSON *replicas,
                                         const cJSON **base_of, struct em_status *st)
{
    const cJSON *optional = cJSON_GetObjectItem(base, "optionalReplicas");
    const char *base_name = em_json_string(base, "name");
    int i = -1;
    const cJSON *r;
    cJSON_ArrayForEach(r, replicas)
    {
        if (base_of[++i])
            continue;
        const char *type = em_json_string(r, "type"), *location = em_json_string(r, "location");
        if (!in_list(optional, r))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The %s replica in %.100s is not one of the optional replicas of the "
                           "base config %.200s.",
                           type, location, base_name);
        if (added_before(replicas, base_of, i, r))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The optional %s replica in %.100s is given twice.", type, location);
    }
    return EM_OK;
}

static cJSON *replica_json(const cJSON *r, const cJSON *base_replica)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "location", em_json_string(r, "location"));
    cJSON_AddStringToObject(out, "type", em_json_string(r, "type"));
    if (cJSON_IsTrue(cJSON_GetObjectItem(base_replica, "defaultLeaderLocation")))
        cJSON_AddBoolToObject(out, "defaultLeaderLocation", true);
    return out;
}

/* The requested replicas, checked against the base config, as the new config's: in the
 * request's order, the default leader the base's. */
static enum em_code config_replicas(const cJSON *base, const cJSON *replicas, cJSON **out,
                                    struct em_status *st)
{
    *out = NULL;
    if (check_replica_fields(replicas, st))
        return st->code;
    int n = cJSON_GetArraySize(replicas);
    const cJSON **base_of = calloc((size_t)n + 1, sizeof(*base_of));
    if (!base_of)
        return EM_FAIL_OOM(st);
    if (!match_base_replicas(base, replicas, base_of, st) &&
        !check_added_replicas(base, replicas, base_of, st)) {
        *out = cJSON_CreateArray();
        int i = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, replicas)
        {
            cJSON_AddItemToArray(*out, replica_json(r, base_of[i++]));
        }
    }
    free(base_of);
    return st->code;
}

enum em_code sp_etag_set(cJSON *resource, struct em_status *st)
{
    unsigned char bytes[ETAG_BYTES];
    if (em_random_bytes(bytes, sizeof(bytes), st))
        return st->code;
    char *etag = em_b64_encode(bytes, sizeof(bytes));
    if (!etag)
        return EM_FAIL_OOM(st);
    cJSON_DeleteItemFromObject(resource, "etag");
    cJSON_AddStringToObject(resource, "etag", etag);
    free(etag);
    return EM_OK;
}

enum em_code sp_etag_check(const cJSON *resource, const char *etag, struct em_status *st)
{
    const char *current = em_json_string(resource, "etag");
    if (!etag || !*etag || (current && strcmp(etag, current) == 0))
        return EM_OK;
    return EM_FAIL(st, EM_ABORTED,
                   "The etag \"%.100s\" is not the current one of %.300s: it changed since it "
                   "was read.",
                   etag, em_json_string(resource, "name"));
}

static enum em_code set_labels(cJSON *config, const cJSON *labels, struct em_status *st)
{
    cJSON_DeleteItemFromObject(config, "labels");
    if (!labels)
        return EM_OK;
    if (em_labels_check(labels, st))
        return st->code;
    if (cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(config, "labels", cJSON_Duplicate(labels, true));
    return EM_OK;
}

/* --- create --- */

/* The InstanceConfig a create request describes, checked. */
static enum em_code new_config(struct em_store *store, const char *project, const char *name,
                               const cJSON *given, cJSON **out, struct em_status *st)
{
    const char *given_name = em_json_string(given, "name");
    const char *display_name = em_json_string(given, "displayName");
    *out = NULL;
    if (!given)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_config must be specified.");
    if (given_name && *given_name && strcmp(given_name, name) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "instance_config.name %.300s must be %.300s, the parent and "
                       "instance_config_id of the request.",
                       given_name, name);
    cJSON *base = NULL, *replicas = NULL;
    if (check_display_name(display_name, st) ||
        load_base(store, project, em_json_string(given, "baseConfig"), &base, st) ||
        config_replicas(base, cJSON_GetObjectItem(given, "replicas"), &replicas, st)) {
        cJSON_Delete(base);
        return st->code;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "displayName", display_name);
    cJSON_AddStringToObject(c, "configType", "USER_MANAGED");
    cJSON_AddItemToObject(c, "replicas", replicas);
    cJSON_AddItemToObject(c, "leaderOptions",
                          cJSON_Duplicate(cJSON_GetObjectItem(base, "leaderOptions"), true));
    cJSON_AddStringToObject(c, "baseConfig", em_json_string(base, "name"));
    cJSON_AddStringToObject(c, "freeInstanceAvailability", "UNSUPPORTED");
    cJSON_AddBoolToObject(c, "reconciling", true);
    cJSON_AddStringToObject(c, "state", "CREATING");
    cJSON_Delete(base);
    if (set_labels(c, cJSON_GetObjectItem(given, "labels"), st) || sp_etag_set(c, st)) {
        cJSON_Delete(c);
        return st->code;
    }
    *out = c;
    return EM_OK;
}

static enum em_code save(struct em_store *store, const cJSON *config, bool replace,
                         struct em_status *st)
{
    char *text = cJSON_PrintUnformatted(config);
    if (!text)
        return EM_FAIL_OOM(st);
    sp_store_put_instance_config(store, em_json_string(config, "name"), text, replace, st);
    free(text);
    return st->code;
}

static bool validate_only(const cJSON *request)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(request, "validateOnly"));
}

enum em_code sp_instance_config_create(struct sp_admin *admin, const char *parent,
                                       const cJSON *request, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], name[160];
    const char *id = em_json_string(request, "instanceConfigId");
    *out = NULL;
    if (!em_name_id(parent, "projects", project, sizeof(project)))
        return SP_ERR_INVALID_NAME(st, "project", parent);
    if (em_project_check(project, st) || check_config_id(id, st))
        return st->code;
    snprintf(name, sizeof(name), "projects/%s/instanceConfigs/%s", project, id);
    struct em_store *store = sp_admin_store(admin);
    cJSON *config = NULL;
    if (new_config(store, project, name, cJSON_GetObjectItem(request, "instanceConfig"), &config,
                   st))
        return st->code;
    sp_admin_lock(admin);
    char *existing = NULL;
    if (!sp_store_get_instance_config(store, name, &existing, st)) {
        if (existing)
            EM_FAIL(st, EM_ALREADY_EXISTS, "Instance config already exists: %s", name);
        else if (!validate_only(request))
            save(store, config, false, st);
    }
    sp_admin_unlock(admin);
    free(existing);
    if (st->code) {
        cJSON_Delete(config);
        return st->code;
    }
    *out = config;
    return EM_OK;
}

enum em_code sp_instance_config_ready(struct sp_admin *admin, const char *name, cJSON **out,
                                      struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct em_store *store = sp_admin_store(admin);
    sp_admin_lock(admin);
    if (!load_user_config(store, name, out, st) && sp_json_mark_ready(*out))
        save(store, *out, true, st);
    sp_admin_unlock(admin);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

/* --- update and delete --- */

/* A user-managed config to change, loaded. */
static enum em_code load_changeable(struct em_store *store, const char *name, const char *verb,
                                    cJSON **out, struct em_status *st)
{
    char project[64], id[CONFIG_ID_MAX + 1];
    *out = NULL;
    if (split_name(name, project, id, st) || sp_instance_config_find(store, project, id, out, st))
        return st->code;
    if (sp_instance_config_is_user_managed(*out))
        return EM_OK;
    cJSON_Delete(*out);
    *out = NULL;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Instance config %.300s is Google-managed: only user-managed configurations "
                   "can be %s.",
                   name, verb);
}

struct update {
    cJSON *config;
    const cJSON *given;
};

static enum em_code update_path(const char *path, void *arg, struct em_status *st)
{
    struct update *u = arg;
    if (em_mask_path_is(path, "displayName")) {
        const char *display_name = em_json_string(u->given, "displayName");
        if (check_display_name(display_name, st))
            return st->code;
        cJSON_ReplaceItemInObject(u->config, "displayName", cJSON_CreateString(display_name));
        return EM_OK;
    }
    if (em_mask_path_is(path, "labels"))
        return set_labels(u->config, cJSON_GetObjectItem(u->given, "labels"), st);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Only display_name and labels of an instance config can be updated, not "
                   "%.100s (update_mask).",
                   path);
}

/* The update applied to config: the mask's fields, a new etag, reconciling until the
 * operation ends. */
static enum em_code apply_update(cJSON *config, const cJSON *request, struct em_status *st)
{
    const cJSON *given = cJSON_GetObjectItem(request, "instanceConfig");
    const char *mask = em_json_string(request, "updateMask");
    struct update u = {config, given};
    size_t paths = 0;
    if (sp_etag_check(config, em_json_string(given, "etag"), st) ||
        em_mask_each(mask ? mask : "", update_path, &u, &paths, st))
        return st->code;
    if (paths == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "update_mask must be specified.");
    cJSON_DeleteItemFromObject(config, "reconciling");
    cJSON_AddBoolToObject(config, "reconciling", true);
    return sp_etag_set(config, st);
}

enum em_code sp_instance_config_update(struct sp_admin *admin, const char *name,
                                       const cJSON *request, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const cJSON *given = cJSON_GetObjectItem(request, "instanceConfig");
    const char *given_name = em_json_string(given, "name");
    *out = NULL;
    if (!given)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_config must be specified.");
    if (given_name && *given_name && strcmp(given_name, name) != 0)
        return SP_ERR_INVALID_NAME(st, "instance config", given_name);
    struct em_store *store = sp_admin_store(admin);
    cJSON *config = NULL;
    sp_admin_lock(admin);
    if (!load_changeable(store, name, "updated", &config, st) &&
        !apply_update(config, request, st) && !validate_only(request))
        save(store, config, true, st);
    sp_admin_unlock(admin);
    if (st->code) {
        cJSON_Delete(config);
        return st->code;
    }
    *out = config;
    return EM_OK;
}

/* FAILED_PRECONDITION naming the instances that use the config, if any. */
static enum em_code check_unused(struct em_store *store, const char *name, struct em_status *st)
{
    char project[64], parent[96], users[600] = "";
    cJSON *instances = NULL;
    em_name_id(name, "projects", project, sizeof(project));
    snprintf(parent, sizeof(parent), "projects/%s", project);
    if (sp_store_list_instances(store, parent, &instances, st))
        return st->code;
    size_t used = 0;
    const cJSON *inst;
    cJSON_ArrayForEach(inst, instances)
    {
        const char *config = em_json_string(inst, "config");
        if (config && strcmp(config, name) == 0 && used < sizeof(users) - 1)
            used += (size_t)snprintf(users + used, sizeof(users) - used, "%s%s", used ? ", " : "",
                                     em_json_string(inst, "name"));
    }
    cJSON_Delete(instances);
    if (!used)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Instance config %.300s is used by instances (%.600s): delete them first.", name,
                   users);
}

enum em_code sp_instance_config_delete(struct sp_admin *admin, const char *name, const char *etag,
                                       bool validate_only, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct em_store *store = sp_admin_store(admin);
    cJSON *config = NULL;
    sp_admin_lock(admin);
    if (!load_changeable(store, name, "deleted", &config, st) && !sp_etag_check(config, etag, st) &&
        !check_unused(store, name, st) && !validate_only)
        sp_store_delete_instance_config(store, name, st);
    sp_admin_unlock(admin);
    cJSON_Delete(config);
    return st->code;
}
