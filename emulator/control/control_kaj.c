/*
 * control_kaj: a Key Access Justifications drill (README, "Key Access Justifications"):
 *
 *   POST /emulator/v1/kaj:simulateAccess   {"name": <CryptoKey or CryptoKeyVersion>,
 *                                            "reason": <AccessReason>}
 *
 * The emulator's services use keys only for CUSTOMER_INITIATED_ACCESS and
 * GOOGLE_INITIATED_SYSTEM_OPERATION; this lets a team make the access Google's personnel
 * or systems would make for any other reason (GOOGLE_INITIATED_SERVICE,
 * THIRD_PARTY_DATA_REQUEST ...) and see its key's policy allow or refuse it. KMS checks it
 * as any call (the version usable, the key's policy listing the reason: its internal
 * route emulator/v1/internal:keyAccess, kms_simulate_key_access) and its audit log
 * records it as SimulatedKeyAccess by CONTROL_KAJ_PRINCIPAL. The answer is KMS's:
 * {"cryptoKeyVersion", "reason"} when allowed, its FAILED_PRECONDITION when refused.
 */
#include "control.h"

#include "em_call.h"
#include "em_config.h"
#include "em_json.h"
#include "em_rest.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>

/* who the audit log shows making the access: the emulator's stand-in for Google */
#define CONTROL_KAJ_PRINCIPAL                                                                      \
    "serviceAccount:key-access-simulation@emulator.iam.gserviceaccount.com"

static const struct em_field access_fields[] = {
    {"name", EM_F_STRING}, {"reason", EM_F_STRING}, {NULL}};
const struct em_message control_kaj_access_request = {"emulator.v1.SimulateAccessRequest",
                                                      access_fields};

enum em_code control_simulate_key_access(struct em_call *call)
{
    if (!em_json_string(call->body, "name") || !em_json_string(call->body, "reason"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "name (a CryptoKey or CryptoKeyVersion) and reason (an AccessReason) "
                            "are required.");
    char base[128];
    em_config_url(&call->svc->config, EM_PORT_KMS, base, sizeof(base));
    struct em_rest_url url;
    em_rest_url_init(&url, base);
    em_rest_url_segment(&url, "emulator");
    em_rest_url_segment(&url, "v1");
    em_rest_url_segment(&url, "internal");
    em_rest_url_verb(&url, "keyAccess");
    struct em_rest_request req = {.method = "POST",
                                  .url = em_rest_url_text(&url),
                                  .json = call->body,
                                  .principal = CONTROL_KAJ_PRINCIPAL};
    struct em_rest_reply reply;
    enum em_rest_result result = em_rest_call(&req, &reply);
    enum em_code code;
    if (result == EM_REST_OK && reply.json) {
        code = em_call_reply(call, reply.json);
        reply.json = NULL;
    } else if (result == EM_REST_ERROR) {
        code = EM_CALL_FAIL(call, reply.status.code, "%s", reply.status.message);
    } else {
        code = EM_CALL_FAIL(call, EM_UNAVAILABLE, "Cloud KMS cannot be reached: %s",
                            reply.status.message);
    }
    em_rest_reply_clear(&reply);
    return code;
}
