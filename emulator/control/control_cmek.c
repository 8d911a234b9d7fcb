/*
 * control_cmek: the control plane's CMEK endpoints (README, "The control plane"):
 *
 *   POST /emulator/v1/keyChecks:run          every service checks every key now
 *   GET  /emulator/v1/faults                 {"kmsUnreachable": false, "ekmUnreachable": false}
 *   POST /emulator/v1/faults                 {"kmsUnreachable": true|false} and/or
 *                                            {"ekmUnreachable": true|false}
 *   GET  /emulator/v1/protectedResources     every CMEK-protected resource and its state
 *
 * Faults are stored by em_faults and pushed to every running service at once; services
 * started later read them at start-up and on every tick. Protected resources are read
 * from the engine's table (em_cmek_list), the single source of truth for their states.
 */
#include "control.h"

#include "em_call.h"
#include "em_cmek.h"
#include "em_faults.h"
#include "em_json.h"
#include "em_schema.h"
#include "em_service.h"

#include <string.h>

#define KEY_CHECKS_PATH "emulator/v1/internal:keyChecks"
#define FAULTS_PATH     "emulator/v1/internal:faults"

static const struct em_field faults_fields[] = {
    {"kmsUnreachable", EM_F_BOOL}, {"ekmUnreachable", EM_F_BOOL}, {NULL}};
const struct em_message control_faults_request = {"emulator.v1.Faults", faults_fields};

static struct control_supervisor *supervisor(struct em_call *call)
{
    return ((struct control *)call->svc->ctx)->supervisor;
}

enum em_code control_run_key_checks(struct em_call *call)
{
    cJSON *checked = cJSON_CreateArray();
    if (control_services_call(supervisor(call), KEY_CHECKS_PATH, checked, &call->status)) {
        cJSON_Delete(checked);
        return call->status.code;
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "services", checked);
    return em_call_reply(call, reply);
}

static cJSON *faults_json(void)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "kmsUnreachable", em_faults_kms_unreachable());
    cJSON_AddBoolToObject(reply, "ekmUnreachable", em_faults_ekm_unreachable());
    return reply;
}

enum em_code control_get_faults(struct em_call *call)
{
    if (em_faults_reload(call->svc->store, &call->status))
        return call->status.code;
    return em_call_reply(call, faults_json());
}

/* Sets the faults the body names (one at least); the others stay as they are. */
enum em_code control_set_faults(struct em_call *call)
{
    bool kms, ekm;
    bool has_kms = em_json_bool(call->body, "kmsUnreachable", &kms);
    bool has_ekm = em_json_bool(call->body, "ekmUnreachable", &ekm);
    if (!has_kms && !has_ekm)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "kmsUnreachable or ekmUnreachable (true or false) is required.");
    struct em_store *store = call->svc->store;
    if ((has_kms && em_faults_set_kms_unreachable(store, kms, &call->status)) ||
        (has_ekm && em_faults_set_ekm_unreachable(store, ekm, &call->status)) ||
        control_services_call(supervisor(call), FAULTS_PATH, NULL, &call->status))
        return call->status.code;
    return em_call_reply(call, faults_json());
}

struct listing {
    cJSON *items;
    const char *service; /* only this service's, or NULL */
};

static void add_time_if_set(cJSON *obj, const char *field, int64_t ns)
{
    if (ns > 0)
        em_json_add_time(obj, field, ns);
}

static void add_resource(const struct em_cmek_info *info, void *arg)
{
    struct listing *listing = arg;
    if (listing->service && strcmp(listing->service, info->service) != 0)
        return;
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "service", info->service);
    cJSON_AddStringToObject(item, "name", info->resource);
    if (info->kms_key[0]) {
        cJSON_AddStringToObject(item, "kmsKeyName", info->kms_key);
        cJSON_AddStringToObject(item, "kmsKeyVersionName", info->key_version);
    } else {
        cJSON_AddStringToObject(item, "encryption", "GOOGLE_DEFAULT_ENCRYPTION");
    }
    cJSON_AddStringToObject(item, "state", em_cmek_state_name(info->state));
    add_time_if_set(item, "stateTime", info->state_since_ns);
    add_time_if_set(item, "lastCheckTime", info->last_check_ns);
    add_time_if_set(item, "nextCheckTime", info->next_check_ns);
    if (info->reason[0])
        cJSON_AddStringToObject(item, "reason", info->reason);
    cJSON_AddItemToArray(listing->items, item);
}

enum em_code control_list_protected_resources(struct em_call *call)
{
    struct listing listing = {cJSON_CreateArray(), em_call_query(call, "service")};
    if (em_cmek_list(call->svc->store, add_resource, &listing, &call->status)) {
        cJSON_Delete(listing.items);
        return call->status.code;
    }
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "protectedResources", listing.items);
    return em_call_reply(call, reply);
}
