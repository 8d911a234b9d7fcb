/*
 * control_ekm: the customer's side of the simulated external key manager (em_ekm.h):
 * what a team does in its own EKM, outside Google, to see how Cloud KMS and the services
 * over it react (README, "Cloud EKM").
 *
 *   GET  /emulator/v1/ekm/keys            every key the EKM holds: uri, state, times
 *   POST /emulator/v1/ekm/keys            {"uri": ...} makes a key there (KMS also makes
 *                                         one the first time a key version names a URI)
 *   POST /emulator/v1/ekm/keys:disable    {"uri": ...} the EKM refuses the key
 *   POST /emulator/v1/ekm/keys:enable     {"uri": ...} and serves it again
 *   POST /emulator/v1/ekm/keys:destroy    {"uri": ...} erases it for good
 *   POST /emulator/v1/ekm/keys:move       {"uri": ..., "newUri": ...} moves it to another
 *                                         URI (material and state go along)
 *
 * KMS reads the EKM's table on every call with an external key version, so a change here
 * holds for the next call; the services' CMEK states follow at their next key check
 * (POST /emulator/v1/keyChecks:run to run them now).
 */
#include "control.h"

#include "em_call.h"
#include "em_clock.h"
#include "em_ekm.h"
#include "em_json.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdlib.h>

static const struct em_field ekm_key_fields[] = {{"uri", EM_F_STRING}, {NULL}};
const struct em_message control_ekm_key_request = {"emulator.v1.EkmKeyRequest", ekm_key_fields};
static const struct em_field ekm_move_fields[] = {
    {"uri", EM_F_STRING}, {"newUri", EM_F_STRING}, {NULL}};
const struct em_message control_ekm_move_request = {"emulator.v1.MoveEkmKeyRequest",
                                                    ekm_move_fields};

static cJSON *key_json(const struct em_ekm_key *key)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "uri", key->uri);
    cJSON_AddStringToObject(json, "state", em_ekm_state_name(key->state));
    em_json_add_time(json, "createTime", key->create_ns);
    em_json_add_time(json, "updateTime", key->update_ns);
    return json;
}

enum em_code control_list_ekm_keys(struct em_call *call)
{
    struct em_ekm_key *keys;
    size_t count;
    if (em_ekm_key_list(call->svc->store, &keys, &count, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(reply, "keys");
    for (size_t i = 0; i < count; i++)
        cJSON_AddItemToArray(items, key_json(&keys[i]));
    free(keys);
    return em_call_reply(call, reply);
}

static const char *required_uri(struct em_call *call)
{
    const char *uri = em_json_string(call->body, "uri");
    if (!uri || !*uri)
        EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "uri (the external key's URI) is required.");
    return uri && *uri ? uri : NULL;
}

enum em_code control_create_ekm_key(struct em_call *call)
{
    const char *uri = required_uri(call);
    struct em_ekm_key key;
    if (!uri || em_ekm_key_provision(call->svc->store, uri, em_clock_now(), &key, &call->status))
        return call->status.code;
    return em_call_reply(call, key_json(&key));
}

static enum em_code set_state(struct em_call *call, enum em_ekm_state state)
{
    const char *uri = required_uri(call);
    struct em_ekm_key key;
    if (!uri ||
        em_ekm_key_set_state(call->svc->store, uri, state, em_clock_now(), &key, &call->status))
        return call->status.code;
    return em_call_reply(call, key_json(&key));
}

enum em_code control_disable_ekm_key(struct em_call *call)
{
    return set_state(call, EM_EKM_DISABLED);
}

enum em_code control_enable_ekm_key(struct em_call *call)
{
    return set_state(call, EM_EKM_ENABLED);
}

enum em_code control_move_ekm_key(struct em_call *call)
{
    const char *uri = required_uri(call);
    struct em_ekm_key key;
    if (!uri || em_ekm_key_move(call->svc->store, uri, em_json_string(call->body, "newUri"),
                                em_clock_now(), &key, &call->status))
        return call->status.code;
    return em_call_reply(call, key_json(&key));
}

enum em_code control_destroy_ekm_key(struct em_call *call)
{
    enum em_code code = set_state(call, EM_EKM_DESTROYED);
    if (!code)
        em_ekm_purge(call->svc->store);
    return code;
}
