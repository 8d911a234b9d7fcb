/*
 * kms_autokey_handlers: Cloud KMS Autokey's REST methods (AutokeyAdmin: Get/Update
 * AutokeyConfig, ShowEffectiveAutokeyConfig; Autokey: Create/Get/ListKeyHandles) and the
 * work of CreateKeyHandle's long-running operation, which provisions the key.
 *
 * A project's folders come from Resource Manager (the control plane's internal ancestry
 * route: `gcloud beta projects move P --folder=F` sets them); the nearest folder with a
 * configuration names the key project. Autokey's key: key ring "autokey" in the key
 * project at the handle's location, a symmetric ENCRYPT_DECRYPT key with protection level
 * HSM, rotated every 365 days, named kms_autokey_key_id(), usable by any service as its
 * kmsKeyName like any other key (and subject to the same CMEK state machine). As Google's
 * Autokey does, the key's policy grants roles/cloudkms.cryptoKeyEncrypterDecrypter to the
 * service agent of the resource type's service in the resource project, so the resource
 * can use its key at once under --iam enforce.
 *
 * Google reference: google/cloud/kms/v1/autokey.proto, autokey_admin.proto.
 */
#include "em_api_state.h"
#include "em_clock.h"
#include "em_crypto.h"
#include "em_descriptor.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_rest.h"
#include "em_schema.h"
#include "em_service.h"
#include "kms.h"
#include "kms_autokey.h"
#include "kms_kaj.h"
#include "kms_handlers.h"
#include "kms_json.h"

#include <stdio.h>
#include <string.h>

enum em_code (*kms_ancestry_hook)(const char *project, cJSON **ancestry, struct em_status *st);

static struct kms_ctx *ctx_of(struct em_call *call)
{
    return call->svc->ctx;
}

/* --- request schemas --- */

static const struct em_field autokey_config_fields[] = {{"name", EM_F_STRING},
                                                        {"keyProject", EM_F_STRING},
                                                        {"state", EM_F_STRING},
                                                        {"etag", EM_F_STRING},
                                                        {NULL}};
const struct em_message kms_autokey_config_schema = {"google.cloud.kms.v1.AutokeyConfig",
                                                     autokey_config_fields};

static const struct em_field key_handle_fields[] = {
    {"name", EM_F_STRING}, {"kmsKey", EM_F_STRING}, {"resourceTypeSelector", EM_F_STRING}, {NULL}};
const struct em_message kms_key_handle_schema = {"google.cloud.kms.v1.KeyHandle",
                                                 key_handle_fields};

/* --- the folders above a project --- */

static enum em_code ask_resource_manager(const struct kms_ctx *ctx, const char *project,
                                         cJSON **ancestry, struct em_status *st)
{
    char name[EM_RESOURCE_MAX];
    snprintf(name, sizeof(name), "projects/%s", project);
    struct em_rest_url url;
    em_rest_url_init(&url, ctx->control_url);
    em_rest_url_segment(&url, "emulator");
    em_rest_url_segment(&url, "v1");
    em_rest_url_segment(&url, "internal");
    em_rest_url_name(&url, name);
    em_rest_url_verb(&url, "ancestry");
    struct em_rest_request req = {
        .method = "GET", .url = em_rest_url_text(&url), .timeout_ms = 10000};
    struct em_rest_reply reply = {0};
    enum em_rest_result result = em_rest_call(&req, &reply);
    if (result == EM_REST_OK) {
        *ancestry = reply.json;
        reply.json = NULL;
    } else if (result == EM_REST_UNREACHABLE) {
        EM_FAIL(st, EM_UNAVAILABLE,
                "Cloud KMS Autokey could not read the folders above project %s: Resource "
                "Manager (the emulator's control plane) is unreachable.",
                project);
    } else {
        *st = reply.status;
    }
    em_rest_reply_clear(&reply);
    return st->code;
}

/* The key project configured on the nearest folder above project; "" when none is. */
static enum em_code effective_key_project(struct kms_ctx *ctx, const char *project,
                                          char out[KMS_PROJECT_NAME_MAX], struct em_status *st)
{
    out[0] = '\0';
    cJSON *ancestry = NULL;
    if (kms_ancestry_hook ? kms_ancestry_hook(project, &ancestry, st)
                          : ask_resource_manager(ctx, project, &ancestry, st))
        return st->code;
    const cJSON *ancestor;
    cJSON_ArrayForEach(ancestor, cJSON_GetObjectItemCaseSensitive(ancestry, "ancestor"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(ancestor, "resourceId");
        const char *type = em_json_string(id, "type"), *folder = em_json_string(id, "id");
        if (!type || !folder || strcmp(type, "folder") != 0)
            continue;
        struct kms_autokey_config config;
        if (kms_autokey_check_folder(folder, st) ||
            kms_autokey_config_get(ctx->autokey, folder, &config, st))
            break;
        if (*config.key_project) {
            snprintf(out, KMS_PROJECT_NAME_MAX, "%s", config.key_project);
            break;
        }
    }
    cJSON_Delete(ancestry);
    return st->code;
}

/* --- AutokeyAdmin --- */

/* The folder of an autokeyConfig name, valid, on which the caller holds permission (its
 * policy is the folder's: the configuration has none of its own). */
static enum em_code config_folder(struct em_call *call, const char *permission,
                                  char folder[KMS_FOLDER_ID_MAX])
{
    char resource[KMS_FOLDER_ID_MAX + 16];
    if (!em_name_id(em_call_var(call, "name"), "folders", folder, KMS_FOLDER_ID_MAX))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid folder ID.");
    snprintf(resource, sizeof(resource), "folders/%s", folder);
    if (kms_autokey_check_folder(folder, &call->status))
        return call->status.code;
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

enum em_code kms_get_autokey_config(struct em_call *call)
{
    char folder[KMS_FOLDER_ID_MAX];
    struct kms_autokey_config config;
    if (config_folder(call, "cloudkms.autokeyConfigs.get", folder) ||
        kms_autokey_config_get(ctx_of(call)->autokey, folder, &config, &call->status))
        return call->status.code;
    return em_call_reply(call, kms_json_autokey_config(&config));
}

static enum em_code mask_path(const char *path, void *arg, struct em_status *st)
{
    (void)arg;
    if (!em_mask_path_is(path, "keyProject"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path \"%s\": only key_project can be updated.", path);
    return EM_OK;
}

enum em_code kms_update_autokey_config(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    const char *body_name = em_json_string(call->body, "name");
    const char *key_project = em_json_string(call->body, "keyProject");
    char folder[KMS_FOLDER_ID_MAX];
    size_t paths = 0;
    if (config_folder(call, "cloudkms.autokeyConfigs.update", folder) ||
        em_mask_each(em_call_query(call, "updateMask"), mask_path, NULL, &paths, &call->status))
        return call->status.code;
    if (paths == 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "update_mask is required: it must name key_project.");
    if (body_name && *body_name && strcmp(body_name, name) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "autokey_config.name %.200s does not match the request's %s.",
                            body_name, name);
    key_project = key_project ? key_project : "";
    /* as Google: the caller may also set IAM policies on keys of the key project */
    if (kms_autokey_check_key_project(key_project, &call->status) ||
        (*key_project &&
         em_iam_check(call->svc->store, &call->svc->config, call->principal, key_project,
                      "cloudkms.cryptoKeys.setIamPolicy", &call->status)))
        return call->status.code;
    struct kms_autokey_config config;
    if (kms_autokey_config_set(ctx_of(call)->autokey, folder, key_project,
                               em_json_string(call->body, "etag"), &config, &call->status))
        return call->status.code;
    return em_call_reply(call, kms_json_autokey_config(&config));
}

enum em_code kms_show_effective_autokey_config(struct em_call *call)
{
    char project[128];
    if (!em_name_id(em_call_var(call, "parent"), "projects", project, sizeof(project)) ||
        em_project_check(project, &call->status))
        return call->status.code ? call->status.code
                                 : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project.");
    if (!em_call_may_block(call))
        return em_call_to_worker(call); /* asks Resource Manager */
    char key_project[KMS_PROJECT_NAME_MAX];
    if (effective_key_project(ctx_of(call), project, key_project, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    if (*key_project)
        cJSON_AddStringToObject(reply, "keyProject", key_project);
    return em_call_reply(call, reply);
}

/* --- Autokey: key handles --- */

/* Creates the key ring "autokey" unless it exists, and the key; *key_name its name. */
static enum em_code provision_key(struct kms_ctx *ctx, const char *key_project,
                                  const char *resource_project, const char *location,
                                  const char *selector, int64_t now, char key_name[EM_RESOURCE_MAX],
                                  struct em_status *st)
{
    char ring[256], key_id[64];
    if (!em_api_usable_for(key_project, kms_descriptor.google_service))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The Autokey key project %s is deleted or has disabled the Cloud KMS API: "
                       "no key can be provisioned there.",
                       key_project);
    snprintf(ring, sizeof(ring), "%s/locations/%s/keyRings/" KMS_AUTOKEY_RING, key_project,
             location);
    if (kms_key_ring_create(ctx->registry, ring, now, NULL, st) && st->code != EM_ALREADY_EXISTS)
        return st->code;
    *st = (struct em_status){0};
    uint64_t suffix = 0;
    if (em_random_bytes(&suffix, sizeof(suffix), st))
        return st->code;
    kms_autokey_key_id(em_project_number(resource_project), selector, suffix, key_id,
                       sizeof(key_id));
    snprintf(key_name, EM_RESOURCE_MAX, "%s/cryptoKeys/%s", ring, key_id);
    struct kms_key_spec spec = {.purpose = "ENCRYPT_DECRYPT",
                                .algorithm = "GOOGLE_SYMMETRIC_ENCRYPTION",
                                .protection = "HSM",
                                .rotation_period_ns = KMS_AUTOKEY_ROTATION,
                                .next_rotation_ns = now + KMS_AUTOKEY_ROTATION};
    /* the key project's default Key Access Justifications policy, as for any new key */
    if (kms_kaj_new_key_policy(ctx->store, key_project, &spec.kaj_policy, st))
        return st->code;
    return kms_key_create(ctx->registry, key_name, &spec, false, now, NULL, st);
}

/* The service agent of the selector's service in project: an emulated service's own
 * (its descriptor names its agent domain; matched by Google service name or our name),
 * else Google's usual service-<number>@gcp-sa-<service>.iam.gserviceaccount.com. */
static void service_agent(const char *project, const char *selector, char *out, size_t len)
{
    char service[64];
    snprintf(service, sizeof(service), "%.*s", (int)strcspn(selector, "."), selector);
    char domain[96];
    snprintf(domain, sizeof(domain), "gcp-sa-%s", service);
    for (const struct em_service_desc *const *d = em_services; *d; d++) {
        const char *google = (*d)->google_service ? (*d)->google_service : "";
        bool same = strcmp((*d)->name, service) == 0 ||
                    (strncmp(google, service, strlen(service)) == 0 &&
                     strcmp(google + strlen(service), ".googleapis.com") == 0);
        if (same && (*d)->agent_domain)
            snprintf(domain, sizeof(domain), "%s", (*d)->agent_domain);
    }
    em_iam_service_agent(project, domain, out, len);
}

/* Lets the resource type's service agent use the key (Google's Autokey grants it). */
static enum em_code grant_service_agent(struct kms_ctx *ctx, const char *key_name,
                                        const char *project, const char *selector,
                                        struct em_status *st)
{
    char agent[256];
    service_agent(project, selector, agent, sizeof(agent));
    cJSON *policy = cJSON_CreateObject();
    cJSON *binding = cJSON_CreateObject();
    cJSON_AddStringToObject(binding, "role", "roles/cloudkms.cryptoKeyEncrypterDecrypter");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(binding, "members"), cJSON_CreateString(agent));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(policy, "bindings"), binding);
    cJSON *stored = NULL;
    enum em_code code = em_iam_set_policy(ctx->store, key_name, policy, &stored, st);
    cJSON_Delete(policy);
    cJSON_Delete(stored);
    return code;
}

static enum em_code create_key_handle_work(struct em_op *op, void *arg, const cJSON *request,
                                           int64_t now, cJSON **response, struct em_status *st)
{
    (void)op;
    struct kms_ctx *ctx = arg;
    struct kms_key_handle handle = {0};
    char project[128] = "", location[128] = "", key_project[KMS_PROJECT_NAME_MAX];
    snprintf(handle.name, sizeof(handle.name), "%s", em_json_string(request, "name"));
    snprintf(handle.resource_type_selector, sizeof(handle.resource_type_selector), "%s",
             em_json_string(request, "resourceTypeSelector"));
    em_name_id(handle.name, "projects", project, sizeof(project));
    em_name_id(handle.name, "locations", location, sizeof(location));
    if (!effective_key_project(ctx, project, key_project, st) && !*key_project)
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "Cloud KMS Autokey is not configured for project %s: no folder above it has "
                "an AutokeyConfig with a key project (gcloud kms autokey-config update; "
                "gcloud beta projects move %s --folder=FOLDER_ID).",
                project, project);
    if (st->code ||
        provision_key(ctx, key_project, project, location, handle.resource_type_selector, now,
                      handle.kms_key, st) ||
        grant_service_agent(ctx, handle.kms_key, project, handle.resource_type_selector, st) ||
        kms_autokey_handle_save(ctx->autokey, &handle, now, st)) {
        kms_autokey_handle_release(ctx->autokey, handle.name);
        return st->code;
    }
    *response = kms_json_key_handle(&handle);
    return EM_OK;
}

const struct em_op_type kms_op_types[] = {
    {"CreateKeyHandle", EM_TYPE_URL "google.cloud.kms.v1.CreateKeyHandleMetadata",
     EM_TYPE_URL "google.cloud.kms.v1.KeyHandle", create_key_handle_work},
};
const size_t kms_op_type_count = sizeof(kms_op_types) / sizeof(kms_op_types[0]);

/* A new handle's ID: the request's, or a random UUID as Google makes. */
static enum em_code handle_id(struct em_call *call, char out[40])
{
    const char *id = em_call_query(call, "keyHandleId");
    if (id)
        return kms_check_id(call, "key_handle_id", id) ? call->status.code
                                                       : (snprintf(out, 40, "%s", id), EM_OK);
    unsigned char u[16];
    if (em_random_bytes(u, sizeof(u), &call->status))
        return call->status.code;
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    return EM_OK;
}

enum em_code kms_create_key_handle(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *selector = em_json_string(call->body, "resourceTypeSelector");
    char id[40], name[EM_RESOURCE_MAX];
    if (kms_check_location(call, parent) || handle_id(call, id))
        return call->status.code;
    if (!selector || !*selector)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "key_handle.resource_type_selector is required.");
    if (kms_autokey_check_selector(selector, &call->status))
        return call->status.code;
    snprintf(name, sizeof(name), "%s/keyHandles/%s", parent, id);
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    struct kms_autokey *ak = ctx_of(call)->autokey;
    if (kms_autokey_handle_reserve(ak, name, &call->status))
        return call->status.code;
    cJSON *request = cJSON_CreateObject();
    cJSON_AddStringToObject(request, "name", name);
    cJSON_AddStringToObject(request, "resourceTypeSelector", selector);
    cJSON *operation = NULL;
    if (em_op_start(call->svc->operations, parent, NULL, "CreateKeyHandle", NULL, request,
                    em_clock_now(), &operation, &call->status)) {
        kms_autokey_handle_release(ak, name);
        return call->status.code;
    }
    return em_call_reply(call, operation);
}

enum em_code kms_get_key_handle(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_key_handle handle = {0};
    if (kms_check_location(call, name) ||
        kms_autokey_handle_get(ctx_of(call)->autokey, name, &handle, &call->status))
        return call->status.code;
    return em_call_reply(call, kms_json_key_handle(&handle));
}

enum em_code kms_list_key_handles(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_key_handle_list handles;
    if (kms_check_location(call, parent) ||
        kms_autokey_handle_list(ctx_of(call)->autokey, parent, &handles, &call->status))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < handles.count; i++)
        cJSON_AddItemToArray(items, kms_json_key_handle(&handles.items[i]));
    kms_autokey_handle_list_free(&handles);
    static const struct em_list_options options = {"keyHandles", 100, 1000, false};
    return em_list_reply(call, items, &options);
}
