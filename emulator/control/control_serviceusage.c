/*
 * control_serviceusage: Service Usage v1 on the control plane: `gcloud services enable |
 * disable | list`, and the cloudapis.googleapis.com that `gcloud projects create` enables.
 *
 * The APIs of the emulator's services (KMS, Pub/Sub, Bigtable, Spanner, Dataflow) are
 * enabled in every project until it disables one: from then on that service refuses the
 * project's calls with Google's 403 SERVICE_DISABLED (em_dispatch; em_api_state holds the
 * table and every service's set, which this file asks the services to reload), until it
 * is enabled again. The control plane's own APIs (Resource Manager, Organization Policy,
 * Logging, Service Usage) are always ENABLED: disabling one is FAILED_PRECONDITION, as a
 * project that did so could not enable it again here. Any other API is recorded per
 * project as enabled or disabled: it has no other effect, as nothing serves it. Enable
 * and disable answer a done Operation, saved for GET v1/operations/{id}. Reset forgets
 * every choice. A deleted project's calls are refused, as every service refuses them.
 */
#include "control.h"

#include "control_folders.h"
#include "control_logging.h"
#include "em_api_state.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_crypto.h"
#include "em_json.h"
#include "em_list.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The APIs the emulator serves, in name order: the services' (enabled until a project
 * disables one), and the control plane's (always enabled). */
static const struct {
    const char *name;
    bool always;
} served[] = {
    {"bigtable.googleapis.com", false},    {"bigtableadmin.googleapis.com", false},
    {"cloudkms.googleapis.com", false},    {"cloudresourcemanager.googleapis.com", true},
    {"dataflow.googleapis.com", false},    {"logging.googleapis.com", true},
    {"orgpolicy.googleapis.com", true},    {"pubsub.googleapis.com", false},
    {"serviceusage.googleapis.com", true}, {"spanner.googleapis.com", false},
};

#define SERVED_COUNT (sizeof(served) / sizeof(served[0]))

#define SERVICE_NAME_MAX 100

static const struct em_enum_value usage_check_values[] = {
    {"CHECK_IF_SERVICE_HAS_USAGE_UNSPECIFIED", 0}, {"SKIP", 1}, {"CHECK", 2}, {NULL}};
static const struct em_enum usage_check_enum = {
    "google.api.serviceusage.v1.DisableServiceRequest.CheckIfServiceHasUsage", usage_check_values};
/* disableDependentServices: the emulator does not model the dependencies between APIs, so
 * it neither refuses a disable for a dependent API nor disables one (README, Limitations) */
static const struct em_field disable_fields[] = {
    {"disableDependentServices", EM_F_BOOL},
    {"checkIfServiceHasUsage", EM_F_ENUM, false, NULL, &usage_check_enum},
    {NULL},
};
const struct em_message control_service_disable_request = {
    "google.api.serviceusage.v1.DisableServiceRequest", disable_fields};
static const struct em_field batch_enable_fields[] = {{"serviceIds", EM_F_STRING, true}, {NULL}};
const struct em_message control_batch_enable_request = {
    "google.api.serviceusage.v1.BatchEnableServicesRequest", batch_enable_fields};

/* The served API called service, or -1. */
static int served_index(const char *service)
{
    for (size_t i = 0; i < SERVED_COUNT; i++)
        if (strcmp(served[i].name, service) == 0)
            return (int)i;
    return -1;
}

static bool is_served(const char *service)
{
    return served_index(service) >= 0;
}

/* One of the control plane's own APIs, which stay enabled. */
static bool always_enabled(const char *service)
{
    int i = served_index(service);
    return i >= 0 && served[i].always;
}

/* --- the table (em_api_state) --- */

enum em_code control_serviceusage_open(struct em_store *store, struct em_status *st)
{
    return em_api_state_open(store, st);
}

enum em_code control_serviceusage_clear(struct em_store *store, struct em_status *st)
{
    return em_api_state_clear(store, st);
}

/* Whether the project has service enabled: a served one unless it disabled it, another
 * when it enabled it. */
static enum em_code is_enabled(struct em_store *store, const char *project_id, const char *service,
                               bool *enabled, struct em_status *st)
{
    bool recorded;
    if (em_api_state_get(store, project_id, service, enabled, &recorded, st))
        return st->code;
    if (!recorded)
        *enabled = is_served(service);
    return EM_OK;
}

/* The services reload their sets of disabled APIs (after a change to one of theirs). */
static enum em_code reload_services(struct em_call *call)
{
    struct control *ctl = call->svc->ctx;
    return control_services_call(ctl->supervisor, EM_API_STATE_RELOAD_PATH, NULL, &call->status);
}

static enum em_code set_enabled(struct em_call *call, const char *project_id, const char *service,
                                bool enabled)
{
    if (em_api_state_set(call->svc->store, project_id, service, enabled, &call->status))
        return call->status.code;
    return is_served(service) ? reload_services(call) : EM_OK;
}

/* --- JSON --- */

/* A Service: {"name": "projects/<number>/services/<s>", "parent", "config", "state"}. */
static cJSON *service_json(const char *project_id, const char *service, bool enabled)
{
    char parent[64], name[64 + SERVICE_NAME_MAX];
    snprintf(parent, sizeof(parent), "projects/%lld", (long long)em_project_number(project_id));
    snprintf(name, sizeof(name), "%s/services/%s", parent, service);
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", name);
    cJSON_AddStringToObject(json, "parent", parent);
    cJSON *config = cJSON_AddObjectToObject(json, "config");
    cJSON_AddStringToObject(config, "name", service);
    cJSON_AddStringToObject(json, "state", enabled ? "ENABLED" : "DISABLED");
    return json;
}

/* --- handlers --- */

/* A service name like pubsub.googleapis.com, copied into service. */
static enum em_code check_service_name(struct em_call *call, const char *s,
                                       char service[SERVICE_NAME_MAX + 1])
{
    size_t len = strlen(s);
    bool valid =
        len > 15 && len <= SERVICE_NAME_MAX && strcmp(s + len - 15, ".googleapis.com") == 0;
    for (const char *p = s; valid && *p; p++)
        valid = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-';
    if (!valid)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid service \"%.100s\": a service is named like "
                            "pubsub.googleapis.com (lowercase letters, digits, dots and "
                            "hyphens, at most %d characters).",
                            s, SERVICE_NAME_MAX);
    snprintf(service, SERVICE_NAME_MAX + 1, "%s", s);
    return EM_OK;
}

/* The project ID of "projects/<id>..." up to end (NULL: the whole rest), checked; a
 * deleted project's services are refused as every service refuses its calls. */
static enum em_code project_of(struct em_call *call, const char *name, const char *end,
                               char project[32])
{
    if (!name || strncmp(name, "projects/", 9) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project in \"%.100s\".",
                            name ? name : "");
    size_t len = end ? (size_t)(end - name - 9) : strlen(name + 9);
    if (len >= 32)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project in \"%.100s\".", name);
    snprintf(project, 32, "%.*s", (int)len, name + 9);
    int64_t deleted;
    if (em_project_check(project, &call->status) ||
        em_project_delete_time(call->svc->store, project, &deleted, &call->status))
        return call->status.code;
    return deleted ? em_call_refuse_deleted_project(call, project, "serviceusage.googleapis.com")
                   : EM_OK;
}

/* The project and the service a path "projects/<id>/services/<service>" names. */
static enum em_code call_service(struct em_call *call, char project[32],
                                 char service[SERVICE_NAME_MAX + 1])
{
    const char *name = em_call_var(call, "name");
    const char *slash = name && strlen(name) > 9 ? strchr(name + 9, '/') : NULL;
    if (!slash || strncmp(slash, "/services/", 10) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid service name \"%.100s\".",
                            name ? name : "");
    if (project_of(call, name, slash, project))
        return call->status.code;
    return check_service_name(call, slash + 10, service);
}

/* A done Operation whose response is `response` ("@type" added), saved for GET
 * v1/operations/{id}. */
static enum em_code reply_operation(struct em_call *call, const char *project_id,
                                    const char *response_type, cJSON *response)
{
    uint64_t serial = 0;
    if (em_random_bytes(&serial, sizeof(serial), &call->status)) {
        cJSON_Delete(response);
        return call->status.code;
    }
    char name[96], type[160];
    snprintf(name, sizeof(name), "operations/acat.p2-%lld-%016llx",
             (long long)em_project_number(project_id), (unsigned long long)serial);
    snprintf(type, sizeof(type), "type.googleapis.com/google.api.serviceusage.v1.%s",
             response_type);
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "name", name);
    cJSON_AddTrueToObject(op, "done");
    cJSON_AddStringToObject(response, "@type", type);
    cJSON_AddItemToObject(op, "response", response);
    return control_operation_reply(call, op);
}

/* The done Operation of an enable or disable: {"service": the service as it now is}. */
static enum em_code reply_service_operation(struct em_call *call, const char *project,
                                            const char *service, bool enabled)
{
    cJSON *response = cJSON_CreateObject();
    cJSON_AddItemToObject(response, "service", service_json(project, service, enabled));
    return reply_operation(call, project,
                           enabled ? "EnableServiceResponse" : "DisableServiceResponse", response);
}

enum em_code control_enable_service(struct em_call *call)
{
    char project[32], service[SERVICE_NAME_MAX + 1];
    if (call_service(call, project, service) ||
        (!always_enabled(service) && set_enabled(call, project, service, true)))
        return call->status.code;
    return reply_service_operation(call, project, service, true);
}

/* check_if_service_has_usage CHECK (what gcloud sends without --force): FAILED_PRECONDITION
 * when the project called the API in the last 30 days of the emulator clock, as its audit
 * log shows (SKIP, or the field left out: no check, as Google's default). */
static enum em_code check_no_usage(struct em_call *call, const char *project, const char *service)
{
    const char *check = em_json_string(call->body, "checkIfServiceHasUsage");
    bool used = false;
    if (!check || strcmp(check, "CHECK") != 0)
        return EM_OK;
    if (control_flush_audit(call) ||
        control_log_service_used(call->svc->store, project, service,
                                 em_clock_now() - 30LL * 86400 * 1000000000LL, &used,
                                 &call->status))
        return call->status.code;
    if (used)
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                            "The service %s has usage in the last 30 days in project %s: "
                            "disabling it needs check_if_service_has_usage SKIP (gcloud "
                            "services disable --force).",
                            service, project);
    return EM_OK;
}

enum em_code control_disable_service(struct em_call *call)
{
    char project[32], service[SERVICE_NAME_MAX + 1];
    if (call_service(call, project, service))
        return call->status.code;
    if (always_enabled(service))
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                            "%s is the emulator's control plane and stays enabled: a project "
                            "that disabled it could not enable anything again.",
                            service);
    if (check_no_usage(call, project, service) || set_enabled(call, project, service, false))
        return call->status.code;
    return reply_service_operation(call, project, service, false);
}

enum em_code control_get_service(struct em_call *call)
{
    char project[32], service[SERVICE_NAME_MAX + 1];
    bool enabled;
    if (call_service(call, project, service) ||
        is_enabled(call->svc->store, project, service, &enabled, &call->status))
        return call->status.code;
    return em_call_reply(call, service_json(project, service, enabled));
}

enum em_code control_batch_enable_services(struct em_call *call)
{
    char project[32];
    if (project_of(call, em_call_var(call, "parent"), NULL, project))
        return call->status.code;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(call->body, "serviceIds");
    int count = cJSON_GetArraySize(ids);
    if (count < 1 || count > 20)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "service_ids must name 1 to 20 services, got %d.", count);
    char names[20][SERVICE_NAME_MAX + 1];
    int n = 0;
    const cJSON *id;
    cJSON_ArrayForEach(id, ids)
    {
        if (check_service_name(call, cJSON_IsString(id) ? id->valuestring : "", names[n++]))
            return call->status.code;
    }
    struct em_store *store = call->svc->store;
    bool reload = false;
    if (em_store_begin(store, &call->status))
        return call->status.code;
    for (int i = 0; i < n; i++) {
        if (always_enabled(names[i]))
            continue;
        reload |= is_served(names[i]);
        if (em_api_state_set(store, project, names[i], true, &call->status)) {
            em_store_rollback(store);
            return call->status.code;
        }
    }
    if (em_store_commit(store, &call->status) || (reload && reload_services(call)))
        return call->status.code;
    cJSON *response = cJSON_CreateObject();
    cJSON *services = cJSON_AddArrayToObject(response, "services");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(services, service_json(project, names[i], true));
    return reply_operation(call, project, "BatchEnableServicesResponse", response);
}

/* Every service the project knows: those the emulator serves, then those recorded. */
struct listing {
    const char *project_id;
    cJSON *items;
};

static void add_recorded(const char *api, bool enabled, void *arg)
{
    struct listing *l = arg;
    if (!is_served(api))
        cJSON_AddItemToArray(l->items, service_json(l->project_id, api, enabled));
}

static enum em_code project_services(struct em_store *store, const char *project_id, cJSON *items,
                                     struct em_status *st)
{
    for (size_t i = 0; i < SERVED_COUNT; i++) {
        bool enabled;
        if (is_enabled(store, project_id, served[i].name, &enabled, st))
            return st->code;
        cJSON_AddItemToArray(items, service_json(project_id, served[i].name, enabled));
    }
    struct listing l = {project_id, items};
    return em_api_state_each(store, project_id, add_recorded, &l, st);
}

enum em_code control_list_services(struct em_call *call)
{
    static const struct em_list_options options = {
        .items_field = "services", .default_page_size = 50, .max_page_size = 200};
    char project[32];
    if (project_of(call, em_call_var(call, "parent"), NULL, project))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    if (project_services(call->svc->store, project, items, &call->status)) {
        cJSON_Delete(items);
        return call->status.code;
    }
    return em_list_reply(call, items, &options);
}
