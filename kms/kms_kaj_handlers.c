/*
 * kms_kaj_handlers: Key Access Justifications' REST methods (KeyAccessJustificationsConfig
 * in google/cloud/kms/v1): the default policy of a project, folder or organization
 * (Get/UpdateKeyAccessJustificationsPolicyConfig on "<parent>/kajPolicyConfig"), a
 * project's effective default (ShowEffectiveKeyAccessJustificationsPolicyConfig) and its
 * enrollment (ShowEffectiveKeyAccessJustificationsEnrollmentConfig).
 *
 * And the KMS side of a simulated access (kms_simulate_key_access: the control plane's
 * POST /emulator/v1/kaj:simulateAccess): the use of a key for a reason the emulator's
 * services never give (GOOGLE_INITIATED_REVIEW, THIRD_PARTY_DATA_REQUEST ...), checked as
 * any call's and recorded in the audit log, so a team can see what its policies refuse.
 *
 * Google enrolls projects through Assured Workloads, which this emulator does not model:
 * here every project is enrolled in policy enforcement and audit logging at every
 * protection level, which is what KMS does (kms_kaj.h), and what the enrollment says.
 */
#include "em_clock.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_service.h"
#include "kms_handlers.h"
#include "kms.h"
#include "kms_kaj.h"

#include <stdio.h>
#include <string.h>

#define CONFIG_SUFFIX "/kajPolicyConfig"
#define POLICY_FIELD  "defaultKeyAccessJustificationPolicy"
#define POLICY_PROTO                                                                               \
    "key_access_justifications_policy_config.default_key_access_justification_policy"

static const struct em_field config_fields[] = {
    {POLICY_FIELD, EM_F_MESSAGE, false, &kms_kaj_policy_schema}, {"name", EM_F_STRING}, {NULL}};
const struct em_message kms_kaj_policy_config_schema = {
    "google.cloud.kms.v1.KeyAccessJustificationsPolicyConfig", config_fields};

static const struct em_field effective_fields[] = {
    {"effectiveKajPolicy", EM_F_MESSAGE, false, &kms_kaj_policy_config_schema}, {NULL}};
const struct em_message kms_kaj_effective_reply = {
    "google.cloud.kms.v1.ShowEffectiveKeyAccessJustificationsPolicyConfigResponse",
    effective_fields};

static struct em_store *store_of(const struct em_call *call)
{
    return ((struct kms_ctx *)call->svc->ctx)->store;
}

/* The parent of a "<parent>/kajPolicyConfig" name (the routes fix its shape), checked. */
static enum em_code config_parent(struct em_call *call, char *parent, size_t len)
{
    const char *name = em_call_var(call, "name");
    size_t n = strlen(name) - strlen(CONFIG_SUFFIX);
    snprintf(parent, len, "%.*s", (int)n, name);
    char id[EM_RESOURCE_MAX];
    if (em_name_id(parent, "projects", id, sizeof(id)))
        return em_project_check(id, &call->status);
    if ((em_name_id(parent, "folders", id, sizeof(id)) ||
         em_name_id(parent, "organizations", id, sizeof(id))) &&
        em_numeric_id(id))
        return EM_OK;
    return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                        "Invalid resource name \"%.200s\": folders and organizations are named by "
                        "number.",
                        name);
}

static cJSON *config_json(const char *parent, uint32_t policy)
{
    cJSON *json = cJSON_CreateObject();
    char name[EM_RESOURCE_MAX + 32];
    snprintf(name, sizeof(name), "%s" CONFIG_SUFFIX, parent);
    cJSON_AddStringToObject(json, "name", name);
    if (policy != KMS_KAJ_NO_POLICY)
        cJSON_AddItemToObject(json, POLICY_FIELD, kms_kaj_policy_json(policy));
    return json;
}

enum em_code kms_get_kaj_policy_config(struct em_call *call)
{
    char parent[EM_RESOURCE_MAX];
    uint32_t policy;
    if (config_parent(call, parent, sizeof(parent)) ||
        kms_kaj_config_get(store_of(call), parent, &policy, &call->status))
        return call->status.code;
    return em_call_reply(call, config_json(parent, policy));
}

static enum em_code check_mask_path(const char *path, void *arg, struct em_status *st)
{
    (void)arg;
    if (em_mask_path_is(path, POLICY_FIELD))
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "update_mask path \"%.100s\" cannot be updated on a "
                   "KeyAccessJustificationsPolicyConfig (allowed: "
                   "default_key_access_justification_policy).",
                   path);
}

/* The update mask is optional: without one the body replaces the whole configuration. */
enum em_code kms_update_kaj_policy_config(struct em_call *call)
{
    char parent[EM_RESOURCE_MAX];
    uint32_t policy;
    size_t paths;
    if (config_parent(call, parent, sizeof(parent)) ||
        em_mask_each(em_call_query(call, "updateMask"), check_mask_path, NULL, &paths,
                     &call->status) ||
        kms_kaj_policy_read(cJSON_GetObjectItemCaseSensitive(call->body, POLICY_FIELD),
                            POLICY_PROTO, &policy, &call->status) ||
        kms_kaj_config_set(store_of(call), parent, policy, &call->status))
        return call->status.code;
    return em_call_reply(call, config_json(parent, policy));
}

enum em_code kms_show_effective_kaj_policy_config(struct em_call *call)
{
    const char *project = em_call_var(call, "project");
    char id[EM_RESOURCE_MAX], from[EM_RESOURCE_MAX];
    uint32_t policy;
    if (!em_name_id(project, "projects", id, sizeof(id)) || em_project_check(id, &call->status))
        return call->status.code ? call->status.code
                                 : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project.");
    if (kms_kaj_effective(store_of(call), project, &policy, from, sizeof(from), &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "effectiveKajPolicy", config_json(*from ? from : project, policy));
    return em_call_reply(call, reply);
}

/* --- a simulated access --- */

static const struct em_field access_fields[] = {
    {"name", EM_F_STRING}, {"reason", EM_F_STRING}, {NULL}};
const struct em_message kms_key_access_request = {"emulator.v1.KeyAccessRequest", access_fields};

/* Holds the version `name` names: a CryptoKeyVersion, or a CryptoKey's primary. */
static enum em_code access_target(struct em_call *call, const char *name,
                                  struct kms_version_ref *ref)
{
    struct kms_registry *reg = ((struct kms_ctx *)call->svc->ctx)->registry;
    if (!name || !*name)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "name (a CryptoKey or CryptoKeyVersion) is required.");
    if (strstr(name, "/cryptoKeyVersions/")
            ? kms_version_get(reg, name, ref, &call->status)
            : kms_primary_version_get(reg, name, ref, &call->status))
        return call->status.code;
    if (!ref->found)
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                            "CryptoKey %s has no primary version: name one of its "
                            "CryptoKeyVersions.",
                            name);
    return EM_OK;
}

/* The key's use for the body's reason, by the caller (the control plane's stand-in for
 * Google); an internal route, so the reason given is honoured. */
enum em_code kms_simulate_key_access(struct em_call *call)
{
    const char *asked = em_json_string(call->body, "reason");
    const char *reason = asked ? kms_kaj_reason_named(asked) : NULL;
    if (!reason || strcmp(reason, "REASON_UNSPECIFIED") == 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "reason must be an AccessReason other than REASON_UNSPECIFIED, not "
                            "\"%.60s\".",
                            asked ? asked : "");
    struct kms_version_ref ref = {0};
    enum em_code code = access_target(call, em_json_string(call->body, "name"), &ref);
    if (!code) {
        /* the audit entry names the key, as a cryptographic call's does */
        snprintf(call->audit_resource, sizeof(call->audit_resource), "%.*s",
                 (int)sizeof(call->audit_resource) - 1, ref.key_name);
        call->access_reason = reason;
        code = kms_use_version(call, ((struct kms_ctx *)call->svc->ctx)->registry, &ref,
                               em_clock_now());
    }
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "cryptoKeyVersion", ref.name);
        cJSON_AddStringToObject(reply, "reason", reason);
        code = em_call_reply(call, reply);
    }
    kms_version_put(&ref);
    return code;
}

enum em_code kms_show_effective_kaj_enrollment_config(struct em_call *call)
{
    char id[EM_RESOURCE_MAX];
    if (!em_name_id(em_call_var(call, "project"), "projects", id, sizeof(id)) ||
        em_project_check(id, &call->status))
        return call->status.code ? call->status.code
                                 : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project.");
    cJSON *reply = cJSON_CreateObject();
    static const char *const levels[] = {"softwareConfig", "hardwareConfig", "externalConfig"};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        cJSON *level = cJSON_AddObjectToObject(reply, levels[i]);
        cJSON_AddTrueToObject(level, "auditLogging");
        cJSON_AddTrueToObject(level, "policyEnforcement");
    }
    return em_call_reply(call, reply);
}
