/*
 * spanner_admin: instances and databases with Google's rules (see spanner_admin.h).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/projects.instances
 * and .../projects.instances.databases.
 */
#include "spanner_admin.h"

#include "em_cmek.h"
#include "em_datastore.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_store.h"
#include "spanner_data.h"
#include "spanner_ddl.h"
#include "spanner_errors.h"
#include "spanner_instance_configs.h"
#include "spanner_instance_settings.h"
#include "spanner_roles.h"
#include "spanner_store.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sp_admin {
    struct em_store *store;
    struct em_cmek *cmek; /* NULL: no engine (unit tests) */
    struct sp_data *data; /* the databases' rows; NULL: none kept (unit tests) */
    pthread_mutex_t lock;
};

enum em_code sp_admin_open(struct em_store *store, struct em_cmek *cmek, struct sp_admin **out,
                           struct em_status *st)
{
    *out = NULL;
    /* deletes drop IAM policies; creations read the organization policies */
    if (sp_store_migrate(store, st) || em_iam_open(store, st) || em_orgpolicy_open(store, st))
        return st->code;
    struct sp_admin *admin = calloc(1, sizeof(*admin));
    if (!admin)
        return EM_FAIL_OOM(st);
    admin->store = store;
    admin->cmek = cmek;
    pthread_mutex_init(&admin->lock, NULL);
    *out = admin;
    return EM_OK;
}

void sp_admin_set_data(struct sp_admin *admin, struct sp_data *data)
{
    admin->data = data;
}

struct em_store *sp_admin_store(struct sp_admin *admin)
{
    return admin->store;
}

void sp_admin_lock(struct sp_admin *admin)
{
    pthread_mutex_lock(&admin->lock);
}

void sp_admin_unlock(struct sp_admin *admin)
{
    pthread_mutex_unlock(&admin->lock);
}

void sp_admin_close(struct sp_admin *admin)
{
    if (!admin)
        return;
    pthread_mutex_destroy(&admin->lock);
    free(admin);
}

/* Forgets the protected resource of every database of instance (NULL: of every instance). */
static enum em_code forget_databases(struct sp_admin *admin, const char *instance,
                                     struct em_status *st)
{
    if (!admin->cmek)
        return EM_OK;
    cJSON *list = NULL;
    enum em_code rc = instance ? sp_store_list_databases(admin->store, instance, &list, st)
                               : sp_store_list_all_databases(admin->store, &list, st);
    const cJSON *db;
    cJSON_ArrayForEach(db, list)
    {
        struct em_status ignored = {0}; /* a database never protected (failed creation) */
        em_cmek_forget(admin->cmek, em_json_string(db, "name"), &ignored);
        if (admin->data)
            sp_data_drop(admin->data, em_json_string(db, "name"), false, &ignored);
    }
    cJSON_Delete(list);
    return rc;
}

enum em_code sp_admin_reset(struct sp_admin *admin, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    pthread_mutex_lock(&admin->lock);
    enum em_code rc = forget_databases(admin, NULL, st);
    if (admin->data)
        sp_data_drop_all(admin->data);
    if (!rc)
        rc = sp_store_clear(admin->store, st);
    pthread_mutex_unlock(&admin->lock);
    return rc;
}

/* --- names and IDs --- */

static const struct em_id_rule sp_instance_id_rule = {
    "instance ID",
    2,
    64,
    "-",
    true,
    true,
    "an instance ID is 2 to 64 lowercase letters, digits or hyphens, starts with a letter and "
    "does not end with a hyphen."};

static const struct em_id_rule sp_database_id_rule = {
    "database ID",
    2,
    30,
    "_-",
    true,
    true,
    "a database ID is 2 to 30 lowercase letters, digits, underscores or hyphens, starts with "
    "a letter and does not end with an underscore or a hyphen."};

static enum em_code check_id(const char *id, const struct em_id_rule *rule, struct em_status *st)
{
    if (em_id_check(id, rule, st))
        return st->code;
    char last = id[strlen(id) - 1];
    if (last == '-' || last == '_')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.100s\": %s", rule->what, id,
                       rule->description);
    return EM_OK;
}

/* The project ID of a name that starts "projects/<id>", checked. */
static enum em_code project_of(const char *name, char project[64], struct em_status *st)
{
    if (!em_name_id(name, "projects", project, 64))
        return SP_ERR_INVALID_NAME(st, "resource", name);
    return em_project_check(project, st);
}

/* --- stored resources as JSON --- */

static enum em_code parse_stored(char *text, cJSON **out, struct em_status *st)
{
    *out = cJSON_Parse(text);
    free(text);
    return *out ? EM_OK : EM_FAIL(st, EM_INTERNAL, "A stored Spanner resource is not JSON.");
}

static enum em_code load_instance(struct sp_admin *admin, const char *name, cJSON **out,
                                  struct em_status *st)
{
    char *text;
    *out = NULL;
    if (sp_store_get_instance(admin->store, name, &text, st))
        return st->code;
    if (!text)
        return SP_ERR_INSTANCE_NOT_FOUND(st, name);
    return parse_stored(text, out, st);
}

static enum em_code save_instance(struct sp_admin *admin, const cJSON *instance, bool replace,
                                  struct em_status *st)
{
    char *text = cJSON_PrintUnformatted(instance);
    if (!text)
        return EM_FAIL_OOM(st);
    enum em_code rc =
        sp_store_put_instance(admin->store, em_json_string(instance, "name"), text, replace, st);
    free(text);
    return rc;
}

/* A database's JSON and, when ddl is not NULL, its canonical statements. */
static enum em_code load_database(struct sp_admin *admin, const char *name, cJSON **out,
                                  cJSON **ddl, struct em_status *st)
{
    char *text, *ddl_text;
    *out = NULL;
    if (ddl)
        *ddl = NULL;
    if (sp_store_get_database(admin->store, name, &text, &ddl_text, st))
        return st->code;
    if (!text)
        return SP_ERR_DATABASE_NOT_FOUND(st, name);
    if (parse_stored(text, out, st)) {
        free(ddl_text);
        return st->code;
    }
    if (!ddl) {
        free(ddl_text);
        return EM_OK;
    }
    if (parse_stored(ddl_text, ddl, st)) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

enum em_code sp_admin_attach_databases(struct sp_admin *admin, struct em_status *st)
{
    cJSON *list = NULL;
    if (!admin->data || sp_store_list_all_databases(admin->store, &list, st))
        return st->code;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        cJSON *db = NULL, *ddl = NULL;
        const char *name = em_json_string(item, "name");
        struct em_status one = {0};
        if (load_database(admin, name, &db, &ddl, &one) ||
            sp_data_attach(admin->data, name, ddl, &one))
            em_warn("spanner: database %s cannot be served: %s", name, one.message);
        cJSON_Delete(db);
        cJSON_Delete(ddl);
    }
    cJSON_Delete(list);
    return EM_OK;
}

static enum em_code save_database(struct sp_admin *admin, const cJSON *database, const cJSON *ddl,
                                  bool replace, struct em_status *st)
{
    const char *name = em_json_string(database, "name");
    char instance[SP_NAME_MAX];
    snprintf(instance, sizeof(instance), "%.*s", (int)(strstr(name, "/databases/") - name), name);
    char *text = cJSON_PrintUnformatted(database);
    char *ddl_text = cJSON_PrintUnformatted(ddl);
    enum em_code rc = text && ddl_text ? sp_store_put_database(admin->store, name, instance, text,
                                                               ddl_text, replace, st)
                                       : EM_FAIL_OOM(st);
    free(text);
    free(ddl_text);
    return rc;
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObject(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

static void set_time(cJSON *obj, const char *key, int64_t now)
{
    cJSON_DeleteItemFromObject(obj, key);
    em_json_add_time(obj, key, now);
}

/* --- instances --- */

/* The instance config an instance names ("projects/p/instanceConfigs/c"), either kind;
 * NULL when there is none (an instance's was checked at its creation). */
static cJSON *find_config(struct em_store *store, const char *project, const char *config)
{
    const char *id = config ? strrchr(config, '/') : NULL;
    cJSON *found = NULL;
    struct em_status ignored = {0};
    if (id)
        sp_instance_config_find(store, project, id + 1, &found, &ignored);
    return found;
}

/* The config's name must be one of the project's instance configurations, ready. */
enum em_code sp_check_instance_config(struct em_store *store, const char *project,
                                      const char *config, struct em_status *st)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "projects/%s/instanceConfigs/", project);
    if (!config || !*config)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Instance config must be specified.");
    if (strncmp(config, prefix, strlen(prefix)) != 0 || strchr(config + strlen(prefix), '/'))
        return SP_ERR_INVALID_NAME(st, "instance config", config);
    cJSON *found = NULL;
    if (sp_instance_config_find(store, project, config + strlen(prefix), &found, st))
        return st->code;
    const char *state = em_json_string(found, "state");
    if (state && strcmp(state, "READY") != 0)
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "Instance config %.300s is still being created: create the instance once it is "
                "ready.",
                config);
    cJSON_Delete(found);
    return st->code;
}

enum em_code sp_check_display_name(const char *display_name, struct em_status *st)
{
    size_t len = display_name ? strlen(display_name) : 0;
    if (len < 4 || len > 30)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid display name \"%.100s\": it must be 4 to 30 characters long.",
                       display_name ? display_name : "");
    return EM_OK;
}

/* Autoscaling is not provided: a request that asks for it is refused, not ignored. */
enum em_code sp_check_no_autoscaling(const cJSON *request, struct em_status *st)
{
    if (cJSON_GetObjectItem(request, "autoscalingConfig"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "autoscaling_config is not supported by this emulator: give node_count "
                       "or processing_units.");
    return EM_OK;
}

/* Sets nodeCount and processingUnits from whichever of them the request gives (use_nodes,
 * use_units: the fields read). At creation a zero is proto3's default, the same as a field
 * left out; neither field is one node, and both are refused (Instance.node_count: "At
 * most, one of either node_count or processing_units should be present"). nodeCount is
 * left out below one node, as Google leaves out a zero. */
enum em_code sp_set_capacity(cJSON *target, const cJSON *request, bool use_nodes, bool use_units,
                             bool creating, struct em_status *st)
{
    int64_t nodes = 1, units = 0;
    bool has_nodes = use_nodes && em_json_int64(request, "nodeCount", &nodes);
    bool has_units = use_units && em_json_int64(request, "processingUnits", &units);
    if (creating && has_nodes && nodes == 0) { /* proto3: a zero is a field left out */
        has_nodes = false;
        nodes = 1;
    }
    if (creating && has_units && units == 0)
        has_units = false;
    if (has_nodes && has_units)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Only one of node_count and processing_units may be specified.");
    if (has_units) {
        bool valid = units > 0 && (units < 1000 ? units % 100 == 0 : units % 1000 == 0);
        if (!valid)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid processing_units %lld: it must be a multiple of 100 below "
                           "1000, and a multiple of 1000 from 1000 on.",
                           (long long)units);
        nodes = units / 1000;
    } else {
        if (nodes < 1 || nodes > 10000)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid node_count %lld: it must be between 1 and 10000.",
                           (long long)nodes);
        units = nodes * 1000;
    }
    cJSON_DeleteItemFromObject(target, "nodeCount");
    cJSON_DeleteItemFromObject(target, "processingUnits");
    if (nodes > 0)
        cJSON_AddNumberToObject(target, "nodeCount", (double)nodes);
    cJSON_AddNumberToObject(target, "processingUnits", (double)units);
    return EM_OK;
}

static enum em_code set_labels(cJSON *target, const cJSON *request, struct em_status *st)
{
    const cJSON *labels = cJSON_GetObjectItem(request, "labels");
    cJSON_DeleteItemFromObject(target, "labels");
    if (!labels)
        return EM_OK;
    if (em_labels_check(labels, st))
        return st->code;
    if (cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(target, "labels", cJSON_Duplicate(labels, true));
    return EM_OK;
}

/* The resource locations constraint on every replica region of the config (the
 * emulator's own config has no Google location and is not checked). */
static enum em_code check_config_locations(struct em_store *store, const char *project,
                                           const char *config, struct em_status *st)
{
    cJSON *cfg = find_config(store, project, config);
    const cJSON *replica;
    cJSON_ArrayForEach(replica, cJSON_GetObjectItem(cfg, "replicas"))
    {
        const char *region = em_json_string(replica, "location");
        if (region && strcmp(region, "emulator") != 0 &&
            em_orgpolicy_check_location(store, project, region, "an instance", st))
            break;
    }
    cJSON_Delete(cfg);
    return st->code;
}

/* The Instance a create request describes, checked (its config is checked under the
 * lock, by sp_instance_create). */
static enum em_code new_instance(const char *name, const cJSON *request, int64_t now, cJSON **out,
                                 struct em_status *st)
{
    const char *config = em_json_string(request, "config");
    const char *display_name = em_json_string(request, "displayName");
    if (!config || !*config)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Instance config must be specified.");
    if (sp_check_display_name(display_name, st) || sp_check_no_autoscaling(request, st))
        return st->code;
    cJSON *inst = cJSON_CreateObject();
    cJSON_AddStringToObject(inst, "name", name);
    cJSON_AddStringToObject(inst, "config", config);
    cJSON_AddStringToObject(inst, "displayName", display_name);
    if (sp_set_capacity(inst, request, true, true, true, st) || set_labels(inst, request, st)) {
        cJSON_Delete(inst);
        return st->code;
    }
    if (sp_instance_settings_create(inst, request, st)) {
        cJSON_Delete(inst);
        return st->code;
    }
    cJSON_AddStringToObject(inst, "state", "CREATING");
    cJSON_AddStringToObject(inst, "instanceType", "PROVISIONED");
    em_json_add_time(inst, "createTime", now);
    em_json_add_time(inst, "updateTime", now);
    *out = inst;
    return EM_OK;
}

enum em_code sp_instance_create(struct sp_admin *admin, const char *parent, const char *id,
                                const cJSON *instance, int64_t now, cJSON **out,
                                struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], name[SP_NAME_MAX];
    *out = NULL;
    if (project_of(parent, project, st))
        return st->code;
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "instance_id must be specified.");
    if (check_id(id, &sp_instance_id_rule, st))
        return st->code;
    snprintf(name, sizeof(name), "projects/%s/instances/%s", project, id);
    cJSON *inst = NULL;
    if (new_instance(name, instance, now, &inst, st))
        return st->code;
    const char *config = em_json_string(inst, "config");
    pthread_mutex_lock(&admin->lock); /* the config is not deleted meanwhile */
    char *existing = NULL;
    if (!sp_check_instance_config(admin->store, project, config, st) &&
        !check_config_locations(admin->store, project, config, st) &&
        !sp_store_get_instance(admin->store, name, &existing, st)) {
        if (existing)
            SP_ERR_INSTANCE_EXISTS(st, name);
        else
            save_instance(admin, inst, false, st);
    }
    pthread_mutex_unlock(&admin->lock);
    free(existing);
    if (st->code) {
        cJSON_Delete(inst);
        return st->code;
    }
    *out = inst;
    return EM_OK;
}

enum em_code sp_instance_ready(struct sp_admin *admin, const char *name, int64_t now, cJSON **out,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    (void)now;
    pthread_mutex_lock(&admin->lock);
    if (!load_instance(admin, name, out, st) &&
        strcmp(em_json_string(*out, "state") ? em_json_string(*out, "state") : "", "READY") != 0) {
        set_string(*out, "state", "READY");
        save_instance(admin, *out, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

enum em_code sp_instance_get(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    *out = NULL;
    if (project_of(name, project, st))
        return st->code;
    return load_instance(admin, name, out, st);
}

enum em_code sp_instance_list(struct sp_admin *admin, const char *parent, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    *out = NULL;
    if (project_of(parent, project, st))
        return st->code;
    return sp_store_list_instances(admin->store, parent, out, st);
}

struct instance_update {
    struct em_store *store;
    cJSON *inst;
    const cJSON *request;
};

/* Applies one field of the mask to the instance (em_mask_path_fn). */
static enum em_code update_field(const char *field, void *arg, struct em_status *st)
{
    struct instance_update *u = arg;
    if (em_mask_path_is(field, "displayName")) {
        const char *display_name = em_json_string(u->request, "displayName");
        if (sp_check_display_name(display_name, st))
            return st->code;
        set_string(u->inst, "displayName", display_name);
        return EM_OK;
    }
    if (em_mask_path_is(field, "nodeCount"))
        return sp_set_capacity(u->inst, u->request, true, false, false, st);
    if (em_mask_path_is(field, "processingUnits"))
        return sp_set_capacity(u->inst, u->request, false, true, false, st);
    if (em_mask_path_is(field, "labels"))
        return set_labels(u->inst, u->request, st);
    /* gcloud names it to clear autoscaling when --nodes is given: nothing to clear */
    if (em_mask_path_is(field, "autoscalingConfig"))
        return sp_check_no_autoscaling(u->request, st);
    bool handled;
    if (sp_instance_settings_update(u->store, u->inst, u->request, field, &handled, st) || handled)
        return st->code;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid field_mask: field \"%.100s\" cannot be updated (this emulator updates "
                   "display_name, node_count, processing_units, labels and edition).",
                   field);
}

static enum em_code apply_mask(struct em_store *store, cJSON *inst, const cJSON *request,
                               const char *mask, struct em_status *st)
{
    struct instance_update u = {store, inst, request};
    size_t count = 0;
    if (mask && em_mask_each(mask, update_field, &u, &count, st))
        return st->code;
    if (count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "field_mask must be specified.");
    return EM_OK;
}

enum em_code sp_instance_update(struct sp_admin *admin, const char *name, const cJSON *instance,
                                const char *field_mask, int64_t now, cJSON **out,
                                struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    const char *given = em_json_string(instance, "name");
    if (given && strcmp(given, name) != 0)
        return SP_ERR_INVALID_NAME(st, "instance", given);
    char project[64];
    if (project_of(name, project, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    cJSON *inst = NULL;
    if (!load_instance(admin, name, &inst, st) &&
        !apply_mask(admin->store, inst, instance, field_mask, st)) {
        set_time(inst, "updateTime", now);
        save_instance(admin, inst, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (st->code) {
        cJSON_Delete(inst);
        return st->code;
    }
    *out = inst;
    return EM_OK;
}

/* Drop protection (UpdateDatabase's enable_drop_protection). */
static bool drop_protected(const cJSON *db)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(db, "enableDropProtection"));
}

/* Spanner keeps an instance whose databases have drop protection. */
static enum em_code refuse_with_protected(struct sp_admin *admin, const char *name,
                                          struct em_status *st)
{
    cJSON *list = NULL;
    if (sp_store_list_databases(admin->store, name, &list, st))
        return st->code;
    bool any = false;
    const cJSON *db;
    cJSON_ArrayForEach(db, list) any = any || drop_protected(db);
    cJSON_Delete(list);
    if (any)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot delete instance %.300s because it contains databases with drop "
                       "protection enabled. Please disable drop protection for all databases in "
                       "the instance before deleting it.",
                       name);
    return EM_OK;
}

/* Spanner keeps an instance's backups from going with it: they are deleted first. */
static enum em_code refuse_with_backups(struct sp_admin *admin, const char *name, const char *verb,
                                        struct em_status *st)
{
    cJSON *backups = NULL;
    if (sp_store_list_backups(admin->store, name, &backups, st))
        return st->code;
    int count = cJSON_GetArraySize(backups);
    cJSON_Delete(backups);
    if (count > 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot %s instance %.300s because it contains %d backup%s: delete "
                       "the backups first.",
                       verb, name, count, count == 1 ? "" : "s");
    return EM_OK;
}

enum em_code sp_instance_delete(struct sp_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    if (project_of(name, project, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    cJSON *inst = NULL;
    /* the IAM policies of the instance and of its databases go with them: a later
     * instance or database of the same name must not inherit their grants */
    if (!load_instance(admin, name, &inst, st) && !refuse_with_backups(admin, name, "delete", st) &&
        !refuse_with_protected(admin, name, st) && !forget_databases(admin, name, st) &&
        !sp_store_delete_instance(admin->store, name, st))
        em_iam_delete_under(admin->store, name, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(inst);
    return st->code;
}

/* --- DDL --- */

/* The schema the canonical statements describe, with statements (may be NULL) applied
 * after them; *canonical receives its getDdl statements as a JSON array, and retention
 * its version_retention_period as the database shows it ("1h" by default). All or
 * nothing: the first statement that fails fails the whole. */
static enum em_code apply_ddl(const cJSON *stored, const cJSON *statements, cJSON **canonical,
                              char retention[32], struct em_status *st)
{
    *canonical = NULL;
    struct sp_schema *schema = sp_schema_new();
    if (!schema)
        return EM_FAIL_OOM(st);
    struct sp_buf script = {0};
    const cJSON *lists[2] = {stored, statements};
    for (int l = 0; l < 2 && !st->code; l++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, lists[l])
        {
            if (!cJSON_IsString(item) ||
                (l == 0 ? sp_ddl_replay : sp_ddl_apply)(schema, item->valuestring, &script, st)) {
                if (!st->code)
                    EM_FAIL(st, EM_INVALID_ARGUMENT, "A DDL statement must be a string.");
                break;
            }
        }
    }
    sp_buf_free(&script);
    if (!st->code) {
        int count = 0;
        char **text = sp_schema_statements(schema, &count);
        *canonical = cJSON_CreateArray();
        for (int i = 0; i < count; i++)
            cJSON_AddItemToArray(*canonical, cJSON_CreateString(text[i]));
        sp_strings_free(text, count);
        snprintf(retention, 32, "%s", schema->version_retention ? schema->version_retention : "1h");
    }
    sp_schema_free(schema);
    return st->code;
}

/* --- databases --- */

/* The database ID of "CREATE DATABASE `id`" (backquotes optional, but needed for an ID
 * with a '-', as in GoogleSQL). */
static enum em_code parse_create_statement(const char *statement, char id[64], struct em_status *st)
{
    const char *p = statement ? statement : "";
    bool quoted = false;
    while (isspace((unsigned char)*p))
        p++;
    bool ok = strncasecmp(p, "CREATE", 6) == 0 && isspace((unsigned char)p[6]);
    if (ok) {
        p += 6;
        while (isspace((unsigned char)*p))
            p++;
        ok = strncasecmp(p, "DATABASE", 8) == 0 && isspace((unsigned char)p[8]);
    }
    if (ok) {
        p += 8;
        while (isspace((unsigned char)*p))
            p++;
        quoted = *p == '`';
        p += quoted;
        size_t len = quoted ? strcspn(p, "`") : strcspn(p, " \t\r\n;");
        ok = len > 0 && len < 64 && (!quoted || p[len] == '`');
        if (ok) {
            snprintf(id, 64, "%.*s", (int)len, p);
            p += len + quoted;
            while (isspace((unsigned char)*p) || *p == ';')
                p++;
            ok = *p == '\0';
        }
    }
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid create statement \"%.200s\": expected CREATE DATABASE `<database "
                       "id>`.",
                       statement ? statement : "");
    if (check_id(id, &sp_database_id_rule, st))
        return st->code;
    if (!quoted && strchr(id, '-')) /* GoogleSQL reads a bare `a-b` as a minus */
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid create statement \"%.200s\": a database ID with a '-' must be "
                       "in backquotes: CREATE DATABASE `%s`.",
                       statement, id);
    return EM_OK;
}

/* The region (or multi-region config id) keys of an instance's config must be in. */
static void config_location(const char *config, char out[96])
{
    const char *id = strrchr(config, '/');
    id = id ? id + 1 : config;
    snprintf(out, 96, "%s", strncmp(id, "regional-", 9) == 0 ? id + 9 : id);
}

/* Whether a config has no KMS location of its own (user-managed, or dual-region: KMS has
 * no dual-region locations): its databases take kmsKeyNames, regional keys. */
static bool needs_regional_keys(const cJSON *cfg)
{
    const char *quorum = em_json_string(cfg, "quorumType");
    return sp_instance_config_is_user_managed(cfg) ||
           (quorum && strcmp(quorum, "DUAL_REGION") == 0);
}

/* A kmsKeyName must be in the config's own location (its region, or a multi-region
 * config's id); see needs_regional_keys for the configs without one. */
static enum em_code check_key_location(struct em_store *store, const char *project,
                                       const char *config, const char *key, const char *field,
                                       struct em_status *st)
{
    struct em_crypto_key_name parsed;
    if (em_crypto_key_name_parse(key, field, &parsed, st))
        return st->code;
    if (strstr(config, "/instanceConfigs/" SP_EMULATOR_CONFIG))
        return EM_OK;
    cJSON *cfg = find_config(store, project, config);
    char location[96];
    config_location(config, location);
    if (needs_regional_keys(cfg))
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "The instance config %.200s is %s: give kms_key_names, a regional key for each "
                "of its replica regions, instead of kms_key_name.",
                config, sp_instance_config_is_user_managed(cfg) ? "user-managed" : "dual-region");
    else if (strcmp(parsed.location, location) != 0)
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "The KMS key %.300s is in location %s, but the instance config %.200s needs a "
                "key in %s.",
                key, parsed.location, config, location);
    cJSON_Delete(cfg);
    return st->code;
}

/* kmsKeyNames' locations: regions for a user-managed or dual-region config. */
static enum em_code check_key_name_locations(const cJSON *cfg, const cJSON *keys,
                                             struct em_status *st)
{
    const cJSON *key;
    cJSON_ArrayForEach(key, keys)
    {
        if (!cJSON_IsString(key))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "kms_key_names must hold strings.");
        struct em_crypto_key_name parsed;
        if (em_crypto_key_name_parse(key->valuestring, "encryption_config.kms_key_names", &parsed,
                                     st))
            return st->code;
        const struct em_location *loc = em_location_find(parsed.location);
        if (needs_regional_keys(cfg) && (!loc || loc->kind != EM_LOC_REGION))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The KMS key %.300s is in %s, not a region: the kms_key_names of a "
                           "user-managed or dual-region instance config are regional keys.",
                           key->valuestring, parsed.location);
    }
    return EM_OK;
}

/* Whether one of keys is in location. */
static bool has_key_in(const cJSON *keys, const char *location)
{
    const cJSON *key;
    cJSON_ArrayForEach(key, keys)
    {
        struct em_crypto_key_name parsed;
        struct em_status ignored = {0};
        if (!em_crypto_key_name_parse(key->valuestring, "", &parsed, &ignored) &&
            strcmp(parsed.location, location) == 0)
            return true;
    }
    return false;
}

/* kmsKeyNames must cover every replica region of the config: a key in that region, or,
 * for a Google-managed config, one key in the config's own location (nam3). */
static enum em_code check_key_names(struct em_store *store, const char *project, const char *config,
                                    const cJSON *keys, struct em_status *st)
{
    cJSON *cfg = find_config(store, project, config);
    char own[96];
    config_location(config, own);
    if (!check_key_name_locations(cfg, keys, st) &&
        (needs_regional_keys(cfg) || !has_key_in(keys, own))) {
        const cJSON *replica;
        cJSON_ArrayForEach(replica, cJSON_GetObjectItem(cfg, "replicas"))
        {
            const char *region = em_json_string(replica, "location");
            if (!region || strcmp(region, "emulator") == 0 || has_key_in(keys, region))
                continue;
            EM_FAIL(st, EM_INVALID_ARGUMENT,
                    "kms_key_names has no key in location %s, a replica region of the "
                    "instance config %.200s.",
                    region, config);
            break;
        }
    }
    cJSON_Delete(cfg);
    return st->code;
}

/* The encryptionConfig of a create request, checked against the instance's config. */
static enum em_code check_encryption(struct em_store *store, const char *project,
                                     const cJSON *instance, const cJSON *encryption,
                                     struct em_status *st)
{
    if (!encryption)
        return EM_OK;
    const char *config = em_json_string(instance, "config");
    const char *key = em_json_string(encryption, "kmsKeyName");
    const cJSON *keys = cJSON_GetObjectItem(encryption, "kmsKeyNames");
    if (key && cJSON_GetArraySize(keys) > 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Only one of kms_key_name and kms_key_names may be specified.");
    if (key)
        return check_key_location(store, project, config, key, "encryption_config.kms_key_name",
                                  st);
    if (keys)
        return check_key_names(store, project, config, keys, st);
    return EM_OK;
}

/* The service name the CMEK organization policies use. */
#define SP_ORGPOLICY_SERVICE "spanner.googleapis.com"

enum em_code sp_admin_check_org_policy(struct sp_admin *admin, const char *instance,
                                       const char *key, const cJSON *keys, const char *what,
                                       struct em_status *st)
{
    char project[64];
    if (project_of(instance, project, st))
        return st->code;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        if (em_orgpolicy_check_cmek(admin->store, project, SP_ORGPOLICY_SERVICE,
                                    cJSON_GetStringValue(k), what, st))
            return st->code;
    }
    if (cJSON_GetArraySize(keys) > 0)
        return EM_OK;
    return em_orgpolicy_check_cmek(admin->store, project, SP_ORGPOLICY_SERVICE, key, what, st);
}

/* The organization policies for a database created under encryption (NULL: no key). */
static enum em_code check_database_org_policy(struct sp_admin *admin, const char *instance,
                                              const cJSON *encryption, struct em_status *st)
{
    return sp_admin_check_org_policy(admin, instance, em_json_string(encryption, "kmsKeyName"),
                                     cJSON_GetObjectItem(encryption, "kmsKeyNames"), "a database",
                                     st);
}

static cJSON *new_database(const char *name, const cJSON *request, int64_t now)
{
    cJSON *db = cJSON_CreateObject();
    cJSON_AddStringToObject(db, "name", name);
    cJSON_AddStringToObject(db, "state", "CREATING");
    em_json_add_time(db, "createTime", now);
    em_json_add_time(db, "earliestVersionTime", now);
    cJSON_AddStringToObject(db, "versionRetentionPeriod", "1h");
    cJSON_AddStringToObject(db, "databaseDialect", "GOOGLE_STANDARD_SQL");
    const cJSON *encryption = cJSON_GetObjectItem(request, "encryptionConfig");
    if (encryption && cJSON_GetArraySize(encryption) > 0)
        cJSON_AddItemToObject(db, "encryptionConfig", cJSON_Duplicate(encryption, true));
    return db;
}

static enum em_code check_dialect(const cJSON *request, struct em_status *st)
{
    const char *dialect = em_json_string(request, "databaseDialect");
    if (dialect && strcmp(dialect, "POSTGRESQL") == 0)
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "The PostgreSQL dialect is not supported by this emulator: create the "
                       "database with databaseDialect GOOGLE_STANDARD_SQL (the default).");
    return EM_OK;
}

/* The key that wraps the database's KEK: kmsKeyName, or of kmsKeyNames the one in the
 * config's default leader region (the others are checked by grammar and location only). */
static const char *wrapping_key(struct em_store *store, const char *project, const cJSON *instance,
                                const cJSON *encryption)
{
    const char *key = em_json_string(encryption, "kmsKeyName");
    const cJSON *keys = cJSON_GetObjectItem(encryption, "kmsKeyNames");
    if (key || cJSON_GetArraySize(keys) == 0)
        return key;
    cJSON *cfg = find_config(store, project, em_json_string(instance, "config"));
    const cJSON *replica, *k;
    const char *chosen = cJSON_GetArrayItem(keys, 0)->valuestring;
    cJSON_ArrayForEach(replica, cJSON_GetObjectItem(cfg, "replicas"))
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItem(replica, "defaultLeaderLocation")))
            continue;
        cJSON_ArrayForEach(k, keys)
        {
            struct em_crypto_key_name parsed;
            struct em_status ignored = {0};
            if (!em_crypto_key_name_parse(k->valuestring, "", &parsed, &ignored) &&
                strcmp(parsed.location, em_json_string(replica, "location")) == 0)
                chosen = k->valuestring;
        }
    }
    cJSON_Delete(cfg);
    return chosen;
}

/* Makes the database a protected resource of the CMEK engine: KMS must accept its key
 * (wrapping the KEK is a call to KMS as the project's Spanner service agent). */
static enum em_code protect_database(struct sp_admin *admin, const char *project,
                                     const cJSON *instance, const cJSON *request, const char *name,
                                     struct em_status *st)
{
    if (!admin->cmek)
        return EM_OK;
    const char *key = wrapping_key(admin->store, project, instance,
                                   cJSON_GetObjectItem(request, "encryptionConfig"));
    return em_cmek_protect(admin->cmek, name, project, key, st);
}

/* The database's rows: a new data file with its schema; the record goes if that fails. */
static enum em_code create_data(struct sp_admin *admin, const char *name, const cJSON *ddl,
                                struct em_status *st)
{
    if (!admin->data || !sp_data_create(admin->data, name, ddl, st))
        return EM_OK;
    struct em_status ignored = {0};
    sp_store_delete_database(admin->store, name, &ignored);
    return st->code;
}

/* Under the lock (the KMS call of protect_database included: creations are rare and
 * serialising them keeps "exists" and "protected" in step): the instance exists, the
 * organization policies allow its encryption, the database does not exist; protects and
 * records the database. */
static enum em_code insert_database(struct sp_admin *admin, const char *project,
                                    const char *instance, cJSON *db, const cJSON *ddl,
                                    const cJSON *request, bool with_data, struct em_status *st)
{
    cJSON *inst = NULL;
    char *existing = NULL;
    const char *name = em_json_string(db, "name");
    if (!load_instance(admin, instance, &inst, st) &&
        !check_encryption(admin->store, project, inst,
                          cJSON_GetObjectItem(request, "encryptionConfig"), st) &&
        !check_database_org_policy(admin, instance,
                                   cJSON_GetObjectItem(request, "encryptionConfig"), st) &&
        !sp_store_get_database(admin->store, name, &existing, NULL, st)) {
        if (existing)
            SP_ERR_DATABASE_EXISTS(st, name);
        else if (!protect_database(admin, project, inst, request, name, st) &&
                 (save_database(admin, db, ddl, false, st) ||
                  (with_data && create_data(admin, name, ddl, st))) &&
                 admin->cmek) {
            struct em_status ignored = {0};
            em_cmek_forget(admin->cmek, name, &ignored);
        }
    }
    free(existing);
    cJSON_Delete(inst);
    return st->code;
}

enum em_code sp_database_create(struct sp_admin *admin, const char *instance, const cJSON *request,
                                int64_t now, char name[SP_NAME_MAX], cJSON **out,
                                struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], id[64];
    *out = NULL;
    if (project_of(instance, project, st) || check_dialect(request, st) ||
        parse_create_statement(em_json_string(request, "createStatement"), id, st))
        return st->code;
    snprintf(name, SP_NAME_MAX, "%s/databases/%s", instance, id);
    cJSON *ddl;
    char retention[32];
    if (apply_ddl(NULL, cJSON_GetObjectItem(request, "extraStatements"), &ddl, retention, st))
        return st->code;
    cJSON *db = new_database(name, request, now);
    cJSON_ReplaceItemInObject(db, "versionRetentionPeriod", cJSON_CreateString(retention));
    pthread_mutex_lock(&admin->lock);
    insert_database(admin, project, instance, db, ddl, request, true, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(ddl);
    if (st->code) {
        cJSON_Delete(db);
        return st->code;
    }
    *out = db;
    return EM_OK;
}

enum em_code sp_database_ready(struct sp_admin *admin, const char *name, cJSON **out,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *ddl = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!load_database(admin, name, out, &ddl, st)) {
        const char *state = em_json_string(*out, "state");
        if (!state || strcmp(state, "READY") != 0) {
            set_string(*out, "state", "READY");
            save_database(admin, *out, ddl, true, st);
        }
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(ddl);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

/* Database.encryptionInfo: the key version that protects a CMEK database now. */
static void add_encryption_info(struct sp_admin *admin, cJSON *db)
{
    struct em_cmek_info info;
    if (!admin->cmek || !em_cmek_info(admin->cmek, em_json_string(db, "name"), &info) ||
        !info.kms_key[0])
        return;
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "encryptionType", "CUSTOMER_MANAGED_ENCRYPTION");
    if (info.key_version[0])
        cJSON_AddStringToObject(entry, "kmsKeyVersion", info.key_version);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(db, "encryptionInfo"), entry);
}

int64_t sp_database_earliest_version(struct sp_admin *admin, const cJSON *db, int64_t now)
{
    int64_t created = 0, retention;
    em_time_parse(em_json_string(db, "createTime"), &created);
    const char *period = em_json_string(db, "versionRetentionPeriod");
    if (!period || !sp_retention_parse(period, &retention))
        retention = SP_DEFAULT_RETENTION_NS;
    int64_t earliest = created > now - retention ? created : now - retention;
    int64_t floor =
        admin->data ? sp_data_versions_floor(admin->data, em_json_string(db, "name")) : 0;
    return floor > earliest ? floor : earliest;
}

void sp_database_show_earliest_version(struct sp_admin *admin, cJSON *db, int64_t now)
{
    cJSON_DeleteItemFromObject(db, "earliestVersionTime");
    em_json_add_time(db, "earliestVersionTime", sp_database_earliest_version(admin, db, now));
}

enum em_code sp_database_get(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    *out = NULL;
    if (project_of(name, project, st) || load_database(admin, name, out, NULL, st))
        return st->code;
    add_encryption_info(admin, *out);
    return EM_OK;
}

enum em_code sp_database_list(struct sp_admin *admin, const char *instance, cJSON **out,
                              struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL;
    *out = NULL;
    if (sp_instance_get(admin, instance, &inst, st))
        return st->code;
    cJSON_Delete(inst);
    if (sp_store_list_databases(admin->store, instance, out, st))
        return st->code;
    for (cJSON *db = (*out)->child; db; db = db->next)
        add_encryption_info(admin, db);
    return EM_OK;
}

enum em_code sp_database_ddl(struct sp_admin *admin, const char *name, cJSON **out,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *db;
    char project[64];
    *out = NULL;
    if (project_of(name, project, st))
        return st->code;
    if (load_database(admin, name, &db, out, st))
        return st->code;
    cJSON_Delete(db);
    return EM_OK;
}

enum em_code sp_database_roles(struct sp_admin *admin, const char *name, cJSON **out,
                               struct em_status *st)
{
    static const char create[] = "CREATE ROLE ";
    cJSON *ddl;
    *out = NULL;
    if (sp_database_ddl(admin, name, &ddl, st))
        return st->code;
    cJSON *names = cJSON_CreateArray();
    for (size_t i = 0; i < sizeof(sp_system_roles) / sizeof(*sp_system_roles); i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(sp_system_roles[i]));
    const cJSON *statement;
    cJSON_ArrayForEach(statement, ddl)
    {
        if (cJSON_IsString(statement) &&
            strncmp(statement->valuestring, create, sizeof(create) - 1) == 0)
            cJSON_AddItemToArray(names,
                                 cJSON_CreateString(statement->valuestring + sizeof(create) - 1));
    }
    cJSON_Delete(ddl);
    *out = names;
    return EM_OK;
}

enum em_code sp_database_update_ddl(struct sp_admin *admin, const char *name,
                                    const cJSON *statements, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    if (project_of(name, project, st))
        return st->code;
    if (cJSON_GetArraySize(statements) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No statements in the UpdateDatabaseDdl request.");
    cJSON *db = NULL, *ddl = NULL, *canonical = NULL;
    char retention[32];
    pthread_mutex_lock(&admin->lock);
    if (!load_database(admin, name, &db, &ddl, st) &&
        !apply_ddl(ddl, statements, &canonical, retention, st) &&
        (!admin->data || !sp_data_update_ddl(admin->data, name, statements, st))) {
        cJSON_DeleteItemFromObject(db, "versionRetentionPeriod");
        cJSON_AddStringToObject(db, "versionRetentionPeriod", retention);
        save_database(admin, db, canonical, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    cJSON_Delete(canonical);
    return st->code;
}

/* --- UpdateDatabase: drop protection --- */

static enum em_code refuse_protected(const cJSON *db, struct em_status *st)
{
    if (!drop_protected(db))
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Cannot drop database %.300s because the `enable_drop_protection` setting is "
                   "currently enabled for it. Please disable the setting and try again.",
                   em_json_string(db, "name"));
}

/* One path of an UpdateDatabase mask, applied to the stored database. */
struct database_update {
    cJSON *db;
    const cJSON *request;
};

static enum em_code update_database_path(const char *path, void *arg, struct em_status *st)
{
    struct database_update *u = arg;
    if (em_mask_path_is(path, "enableDropProtection")) {
        cJSON_DeleteItemFromObject(u->db, "enableDropProtection");
        if (cJSON_IsTrue(cJSON_GetObjectItem(u->request, "enableDropProtection")))
            cJSON_AddBoolToObject(u->db, "enableDropProtection", true);
        return EM_OK;
    }
    if (em_mask_path_is(path, "encryptionConfig"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Changing a database's encryption_config is not supported by this "
                       "emulator.");
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid update_mask: field \"%.100s\" cannot be updated (only "
                   "enable_drop_protection can).",
                   path);
}

static enum em_code apply_database_mask(cJSON *db, const cJSON *request, const char *mask,
                                        struct em_status *st)
{
    struct database_update u = {db, request};
    size_t paths = 0;
    if (em_mask_each(mask, update_database_path, &u, &paths, st))
        return st->code;
    return paths ? EM_OK : EM_FAIL(st, EM_INVALID_ARGUMENT, "update_mask must be specified.");
}

enum em_code sp_database_update(struct sp_admin *admin, const char *name, const cJSON *database,
                                const char *update_mask, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const char *given = em_json_string(database, "name");
    if (given && strcmp(given, name) != 0)
        return SP_ERR_INVALID_NAME(st, "database", given);
    char project[64];
    if (project_of(name, project, st))
        return st->code;
    cJSON *db = NULL, *ddl = NULL;
    pthread_mutex_lock(&admin->lock);
    if (!load_database(admin, name, &db, &ddl, st) &&
        !apply_database_mask(db, database, update_mask, st))
        save_database(admin, db, ddl, true, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    return st->code;
}

enum em_code sp_database_drop(struct sp_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    if (project_of(name, project, st))
        return st->code;
    cJSON *db = NULL;
    pthread_mutex_lock(&admin->lock);
    /* its IAM policy goes with it: a later database of the same name must not inherit it */
    if (!load_database(admin, name, &db, NULL, st) && !refuse_protected(db, st) &&
        !sp_store_delete_database(admin->store, name, st) &&
        !em_iam_delete_under(admin->store, name, st) && admin->cmek &&
        !em_cmek_forget(admin->cmek, name, st) && admin->data)
        sp_data_drop(admin->data, name, false, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(db);
    return st->code;
}

/* --- the quorum of a database in a dual-region config --- */

/* The config's regions, for messages: "a, b". */
static void config_regions(const cJSON *cfg, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    const cJSON *replica;
    cJSON_ArrayForEach(replica, cJSON_GetObjectItem(cfg, "replicas"))
    {
        const char *region = em_json_string(replica, "location");
        if (region && !strstr(out, region) && used < len)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "", region);
    }
}

/* ChangeQuorumRequest.quorum_type: one of single_region (a serving location among the
 * config's regions) or dual_region. */
static enum em_code check_quorum_type(const cJSON *quorum, const cJSON *cfg, struct em_status *st)
{
    const cJSON *single = cJSON_GetObjectItem(quorum, "singleRegion");
    const cJSON *dual = cJSON_GetObjectItem(quorum, "dualRegion");
    if (!quorum || (single != NULL) == (dual != NULL))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "quorum_type must hold one of single_region and dual_region.");
    if (dual)
        return EM_OK;
    const char *serving = em_json_string(single, "servingLocation");
    char regions[200];
    config_regions(cfg, regions, sizeof(regions));
    if (!serving || !*serving)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "quorum_type.single_region.serving_location must be specified.");
    const cJSON *replica;
    cJSON_ArrayForEach(replica, cJSON_GetObjectItem(cfg, "replicas"))
    {
        const char *region = em_json_string(replica, "location");
        if (region && strcmp(region, serving) == 0)
            return EM_OK;
    }
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "serving_location %.100s is not a region of instance config %.200s (%s).",
                   serving, em_json_string(cfg, "name"), regions);
}

/* The database (loaded into *db) is in a dual-region config and the request fits it. */
static enum em_code check_change_quorum(struct sp_admin *admin, const char *name,
                                        const cJSON *request, bool check_etag, cJSON **db,
                                        cJSON **ddl, struct em_status *st)
{
    char project[64], instance[SP_NAME_MAX];
    cJSON *inst = NULL, *cfg = NULL;
    if (project_of(name, project, st) || load_database(admin, name, db, ddl, st))
        return st->code;
    snprintf(instance, sizeof(instance), "%.*s", (int)(strstr(name, "/databases/") - name), name);
    if (!load_instance(admin, instance, &inst, st)) {
        const char *config = em_json_string(inst, "config");
        cfg = find_config(admin->store, project, config);
        const char *quorum = em_json_string(cfg, "quorumType");
        const cJSON *info = cJSON_GetObjectItem(*db, "quorumInfo");
        const char *etag = em_json_string(request, "etag"), *current = em_json_string(info, "etag");
        if (!quorum || strcmp(quorum, "DUAL_REGION") != 0)
            EM_FAIL(st, EM_FAILED_PRECONDITION,
                    "ChangeQuorum is for databases of dual-region instance configs: the "
                    "instance config of %.300s is %.200s.",
                    name, config);
        else if (!check_quorum_type(cJSON_GetObjectItem(request, "quorumType"), cfg, st) &&
                 check_etag && etag && *etag && (!current || strcmp(etag, current) != 0))
            EM_FAIL(st, EM_ABORTED,
                    "The etag \"%.100s\" is not the current one of the quorum of %.300s: it "
                    "changed since it was read.",
                    etag, name);
    }
    cJSON_Delete(inst);
    cJSON_Delete(cfg);
    return st->code;
}

enum em_code sp_database_change_quorum_check(struct sp_admin *admin, const char *name,
                                             const cJSON *request, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *db = NULL, *ddl = NULL;
    pthread_mutex_lock(&admin->lock);
    check_change_quorum(admin, name, request, true, &db, &ddl, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    return st->code;
}

/* The quorumInfo a change leaves: its type, USER, when, a new etag. */
static enum em_code set_quorum_info(cJSON *db, const cJSON *request, int64_t now,
                                    struct em_status *st)
{
    cJSON *info = cJSON_CreateObject();
    cJSON_AddItemToObject(info, "quorumType",
                          cJSON_Duplicate(cJSON_GetObjectItem(request, "quorumType"), true));
    cJSON_AddStringToObject(info, "initiator", "USER");
    em_json_add_time(info, "startTime", now);
    if (sp_etag_set(info, st)) {
        cJSON_Delete(info);
        return st->code;
    }
    cJSON_DeleteItemFromObject(db, "quorumInfo");
    cJSON_AddItemToObject(db, "quorumInfo", info);
    return EM_OK;
}

enum em_code sp_database_change_quorum(struct sp_admin *admin, const char *name,
                                       const cJSON *request, int64_t now, cJSON **out,
                                       struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *db = NULL, *ddl = NULL;
    *out = NULL;
    pthread_mutex_lock(&admin->lock);
    /* the etag was checked when the call came: an operation run again after a restart
     * finds the quorum it set */
    if (!check_change_quorum(admin, name, request, false, &db, &ddl, st) &&
        !set_quorum_info(db, request, now, st) && !save_database(admin, db, ddl, true, st)) {
        *out = db;
        db = NULL;
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(db);
    cJSON_Delete(ddl);
    return st->code;
}

/* --- moving an instance to another config --- */

/* A database's own encryption: customer-managed when it names a key. */
static bool uses_cmek(const cJSON *db)
{
    const cJSON *enc = cJSON_GetObjectItem(db, "encryptionConfig");
    return em_json_string(enc, "kmsKeyName") ||
           cJSON_GetArraySize(cJSON_GetObjectItem(enc, "kmsKeyNames")) > 0;
}

/* The targetDatabaseMoveConfigs entry of the database with this id, or NULL. */
static const cJSON *move_config_of(const cJSON *configs, const char *id)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, configs)
    {
        const char *given = em_json_string(c, "databaseId");
        if (given && strcmp(given, id) == 0)
            return c;
    }
    return NULL;
}

/* Each entry names a database of the instance, once. */
static enum em_code check_move_configs(const cJSON *configs, const cJSON *databases,
                                       const char *instance, struct em_status *st)
{
    /* more entries than databases cannot name each once: refused before the pairs are
     * compared */
    if (cJSON_GetArraySize(configs) > cJSON_GetArraySize(databases))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "target_database_move_configs holds %d entries, but instance %.300s has "
                       "%d databases: each entry names one of them, once.",
                       cJSON_GetArraySize(configs), instance, cJSON_GetArraySize(databases));
    const cJSON *c;
    cJSON_ArrayForEach(c, configs)
    {
        const char *id = em_json_string(c, "databaseId");
        char name[SP_NAME_MAX];
        bool found = false;
        if (!id || !*id)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "target_database_move_configs.database_id must be specified.");
        snprintf(name, sizeof(name), "%s/databases/%s", instance, id);
        const cJSON *db;
        cJSON_ArrayForEach(db, databases) found |= strcmp(em_json_string(db, "name"), name) == 0;
        if (!found)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "target_database_move_configs names database %.100s, which instance "
                           "%.300s does not have.",
                           id, instance);
        if (move_config_of(configs, id) != c)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "target_database_move_configs names database %.100s twice.", id);
    }
    return EM_OK;
}

/* A database's encryption in the target config: a CMEK database needs keys there (checked
 * as at creation), a Google-managed one stays so. *target: the new encryptionConfig, NULL
 * when it does not change. */
static enum em_code target_encryption(struct sp_admin *admin, const char *project,
                                      const cJSON *moved, const cJSON *db, const cJSON *configs,
                                      const cJSON **target, struct em_status *st)
{
    const char *name = em_json_string(db, "name");
    const cJSON *enc =
        cJSON_GetObjectItem(move_config_of(configs, strrchr(name, '/') + 1), "encryptionConfig");
    bool given = em_json_string(enc, "kmsKeyName") ||
                 cJSON_GetArraySize(cJSON_GetObjectItem(enc, "kmsKeyNames")) > 0;
    *target = NULL;
    if (!uses_cmek(db)) {
        if (given)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Database %.300s uses Google-managed encryption: moving the instance "
                           "cannot give it customer-managed keys.",
                           name);
        return EM_OK;
    }
    if (!given)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Database %.300s uses customer-managed encryption: "
                       "target_database_move_configs must give it an encryption_config with "
                       "keys for instance config %.200s.",
                       name, em_json_string(moved, "config"));
    *target = enc;
    return check_encryption(admin->store, project, moved, enc, st) ||
                   sp_admin_check_org_policy(
                       admin, em_json_string(moved, "name"), em_json_string(enc, "kmsKeyName"),
                       cJSON_GetObjectItem(enc, "kmsKeyNames"), "a database", st)
               ? st->code
               : EM_OK;
}

/* What a move does, checked with the lock held: the instance as it will be, and for each
 * database its new encryptionConfig (NULL: unchanged). */
struct move_plan {
    cJSON *instance;
    cJSON *databases;
    const cJSON **targets;
};

static void move_plan_free(struct move_plan *plan)
{
    cJSON_Delete(plan->instance);
    cJSON_Delete(plan->databases);
    free(plan->targets);
    *plan = (struct move_plan){0};
}

static enum em_code plan_move(struct sp_admin *admin, const char *name, const cJSON *request,
                              struct move_plan *plan, struct em_status *st)
{
    char project[64];
    const char *target = em_json_string(request, "targetConfig");
    const cJSON *configs = cJSON_GetObjectItem(request, "targetDatabaseMoveConfigs");
    *plan = (struct move_plan){0};
    if (project_of(name, project, st) || load_instance(admin, name, &plan->instance, st))
        return st->code;
    if (!target || !*target)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "target_config must be specified.");
    if (strcmp(target, em_json_string(plan->instance, "config")) == 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Instance %.300s is in instance config %.200s already.", name, target);
    if (sp_check_instance_config(admin->store, project, target, st) ||
        check_config_locations(admin->store, project, target, st) ||
        refuse_with_backups(admin, name, "move", st) ||
        sp_store_list_databases(admin->store, name, &plan->databases, st) ||
        check_move_configs(configs, plan->databases, name, st))
        return st->code;
    set_string(plan->instance, "config", target);
    plan->targets = calloc((size_t)cJSON_GetArraySize(plan->databases) + 1, sizeof(*plan->targets));
    if (!plan->targets)
        return EM_FAIL_OOM(st);
    int i = 0;
    const cJSON *db;
    cJSON_ArrayForEach(db, plan->databases)
    {
        if (target_encryption(admin, project, plan->instance, db, configs, &plan->targets[i++], st))
            return st->code;
    }
    return EM_OK;
}

enum em_code sp_instance_move_check(struct sp_admin *admin, const char *name, const cJSON *request,
                                    struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct move_plan plan;
    pthread_mutex_lock(&admin->lock);
    plan_move(admin, name, request, &plan, st);
    pthread_mutex_unlock(&admin->lock);
    move_plan_free(&plan);
    return st->code;
}

/* Wraps each CMEK database's KEK with its key in the target config; on a refusal, the
 * ones done so far go back to their keys. */
static enum em_code rekey_databases(struct sp_admin *admin, const char *project, const cJSON *from,
                                    struct move_plan *plan, struct em_status *st)
{
    if (!admin->cmek)
        return EM_OK;
    int i = 0, done = 0;
    const cJSON *db;
    cJSON_ArrayForEach(db, plan->databases)
    {
        const cJSON *to = plan->targets[i++];
        if (!to)
            continue;
        const char *key = wrapping_key(admin->store, project, plan->instance, to);
        if (em_cmek_rekey(admin->cmek, em_json_string(db, "name"), key, st))
            break;
        done = i;
    }
    if (!st->code)
        return EM_OK;
    i = 0;
    cJSON_ArrayForEach(db, plan->databases)
    {
        if (i >= done)
            break;
        if (!plan->targets[i++])
            continue;
        struct em_status ignored = {0};
        const char *key =
            wrapping_key(admin->store, project, from, cJSON_GetObjectItem(db, "encryptionConfig"));
        em_cmek_rekey(admin->cmek, em_json_string(db, "name"), key, &ignored);
    }
    return st->code;
}

/* Stores each database's new encryptionConfig, then the instance in its new config. */
static enum em_code save_move(struct sp_admin *admin, struct move_plan *plan, int64_t now,
                              struct em_status *st)
{
    int i = 0;
    const cJSON *db;
    cJSON_ArrayForEach(db, plan->databases)
    {
        const cJSON *to = plan->targets[i++];
        cJSON *stored = NULL, *ddl = NULL;
        if (!to)
            continue;
        if (!load_database(admin, em_json_string(db, "name"), &stored, &ddl, st)) {
            cJSON_DeleteItemFromObject(stored, "encryptionConfig");
            cJSON_AddItemToObject(stored, "encryptionConfig", cJSON_Duplicate(to, true));
            save_database(admin, stored, ddl, true, st);
        }
        cJSON_Delete(stored);
        cJSON_Delete(ddl);
        if (st->code)
            return st->code;
    }
    set_time(plan->instance, "updateTime", now);
    return save_instance(admin, plan->instance, true, st);
}

enum em_code sp_instance_move(struct sp_admin *admin, const char *name, const cJSON *request,
                              int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    struct move_plan plan = {0};
    cJSON *from = NULL;
    const char *target = em_json_string(request, "targetConfig");
    *out = NULL;
    pthread_mutex_lock(&admin->lock);
    if (project_of(name, project, st) || load_instance(admin, name, &from, st)) {
        /* gone meanwhile: the operation fails */
    } else if (target && strcmp(em_json_string(from, "config"), target) == 0) {
        *out = from; /* moved before a restart interrupted the operation */
        from = NULL;
    } else if (!plan_move(admin, name, request, &plan, st) &&
               !rekey_databases(admin, project, from, &plan, st) &&
               !save_move(admin, &plan, now, st)) {
        *out = plan.instance;
        plan.instance = NULL;
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(from);
    move_plan_free(&plan);
    return st->code;
}

/* --- what backups and restores need (spanner_backup.c) --- */

enum em_code sp_admin_encryption_key(struct sp_admin *admin, const char *instance,
                                     const cJSON *encryption, char key[SP_NAME_MAX],
                                     struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    cJSON *inst = NULL;
    key[0] = '\0';
    if (project_of(instance, project, st) || load_instance(admin, instance, &inst, st))
        return st->code;
    if (!check_encryption(admin->store, project, inst, encryption, st)) {
        const char *chosen = wrapping_key(admin->store, project, inst, encryption);
        snprintf(key, SP_NAME_MAX, "%s", chosen ? chosen : "");
    }
    cJSON_Delete(inst);
    return st->code;
}

enum em_code sp_database_copy_data(struct sp_admin *admin, const char *database,
                                   struct em_datastore *to, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    if (!admin->data)
        return EM_OK;
    pthread_mutex_lock(&admin->lock); /* the database is not dropped meanwhile */
    struct sp_db *db = sp_data_find(admin->data, database, st);
    if (db)
        em_datastore_copy(sp_db_datastore(db), to, st);
    pthread_mutex_unlock(&admin->lock);
    return st->code;
}

/* A restored database's rows (under the lock, the database protected and recorded): the
 * backup's file copied into the database's, under the database's own key, then attached
 * with its schema; the record and the protection go if that fails. */
static enum em_code restore_data(struct sp_admin *admin, const char *name, const cJSON *ddl,
                                 struct em_datastore *source, int64_t version_ns,
                                 struct em_status *st)
{
    char path[SP_DATA_PATH_MAX];
    struct em_datastore *target = NULL;
    if (!admin->data)
        return EM_OK;
    sp_data_path(admin->data, name, path);
    if (!source)
        create_data(admin, name, ddl, st);
    else if (!em_datastore_new(admin->cmek, name, path, NULL, NULL, &target, st) &&
             !em_datastore_copy(source, target, st) && !sp_data_attach(admin->data, name, ddl, st))
        sp_data_rewind(admin->data, name, version_ns, st);
    em_datastore_free(target);
    if (st->code) {
        struct em_status ignored = {0};
        em_store_remove_files(path);
        sp_store_delete_database(admin->store, name, &ignored);
        if (admin->cmek)
            em_cmek_forget(admin->cmek, name, &ignored);
    }
    return st->code;
}

enum em_code sp_database_restore(struct sp_admin *admin, const char *instance, const char *id,
                                 const cJSON *encryption, const cJSON *ddl,
                                 const cJSON *restore_info, struct em_datastore *source,
                                 int64_t now, char name[SP_NAME_MAX], struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64];
    if (project_of(instance, project, st))
        return st->code;
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "database_id must be specified.");
    if (check_id(id, &sp_database_id_rule, st))
        return st->code;
    snprintf(name, SP_NAME_MAX, "%s/databases/%s", instance, id);
    cJSON *request = cJSON_CreateObject();
    if (encryption)
        cJSON_AddItemToObject(request, "encryptionConfig", cJSON_Duplicate(encryption, true));
    /* the backup's database options come with its schema (version_retention_period) */
    cJSON *canonical = NULL;
    char retention[32];
    if (apply_ddl(ddl, NULL, &canonical, retention, st)) {
        cJSON_Delete(request);
        return st->code;
    }
    cJSON_Delete(canonical);
    cJSON *db = new_database(name, request, now);
    cJSON_ReplaceItemInObject(db, "versionRetentionPeriod", cJSON_CreateString(retention));
    cJSON_AddItemToObject(db, "restoreInfo", cJSON_Duplicate(restore_info, true));
    pthread_mutex_lock(&admin->lock);
    int64_t version_ns = now;
    em_time_parse(em_json_string(cJSON_GetObjectItem(restore_info, "backupInfo"), "versionTime"),
                  &version_ns);
    if (!insert_database(admin, project, instance, db, ddl, request, false, st))
        restore_data(admin, name, ddl, source, version_ns, st);
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(request);
    cJSON_Delete(db);
    return st->code;
}
