/*
 * kms_handlers: thin glue between REST calls and the KMS model. Each handler reads the
 * call (path variables, query, the schema-checked body), validates IDs, calls kms_keys /
 * kms_crypto, and replies with JSON from kms_json. Handlers hold no lock: the registry
 * gives them copies (of keys, for replies) or versions held by reference (for
 * cryptography, which runs with no lock held).
 *
 * Google reference: https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations
 * Integrity fields follow https://cloud.google.com/kms/docs/data-integrity-guidelines:
 * a request checksum that does not match its data is INVALID_ARGUMENT, and every reply
 * carries the checksums and verified* flags gcloud checks.
 */
#include "kms_handlers.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_service.h"
#include "kms.h"
#include "kms_errors.h"
#include "kms_json.h"
#include "kms_kaj.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMS_MAX_PLAINTEXT  65536
#define KMS_MAX_AAD        65536
#define KMS_MAX_CIPHERTEXT (KMS_MAX_PLAINTEXT + 1024)

static const struct em_id_rule kms_id_rule = {
    "ID",
    1,
    63,
    "_-",
    false,
    false,
    "Cloud KMS IDs are 1 to 63 letters, digits, underscores or hyphens."};

static struct kms_registry *registry(struct em_call *call)
{
    return ((struct kms_ctx *)call->svc->ctx)->registry;
}

/* --- shared checks --- */

enum em_code kms_check_location(struct em_call *call, const char *name)
{
    char project[128], location[128];
    if (!em_name_id(name, "projects", project, sizeof(project)) ||
        !em_name_id(name, "locations", location, sizeof(location)))
        return KMS_ERR_INVALID_NAME(&call->status, name);
    if (em_project_check(project, &call->status))
        return call->status.code;
    if (!em_location_find(location))
        return EM_CALL_FAIL(call, EM_NOT_FOUND,
                            "Location \"%s\" is not a Cloud KMS location (see gcloud kms "
                            "locations list).",
                            location);
    return EM_OK;
}

enum em_code kms_check_id(struct em_call *call, const char *what, const char *id)
{
    struct em_id_rule rule = kms_id_rule;
    rule.what = what;
    if (!id || !*id)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "%s is required.", what);
    return em_id_check(id, &rule, &call->status);
}

/* The name of a new child of parent ("<parent>/<collection>/<id>") into out, also the
 * resource the audit log records; a parent too long for a resource name is no KMS
 * resource. */
static enum em_code child_name(struct em_call *call, const char *parent, const char *collection,
                               const char *id, char out[EM_RESOURCE_MAX])
{
    if (snprintf(out, EM_RESOURCE_MAX, "%s/%s/%s", parent, collection, id) >= EM_RESOURCE_MAX)
        return KMS_ERR_INVALID_NAME(&call->status, parent);
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", out);
    return EM_OK;
}

/* Decodes a bytes field of the body (NULL/0 when absent); max bounds its length. */
static enum em_code body_bytes(struct em_call *call, const char *field, size_t max,
                               unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *text = em_json_string(call->body, field);
    if (!text)
        return EM_OK;
    if (!em_b64_decode(text, strlen(text), out, len))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Field %s is not valid base64.", field);
    if (*len > max) {
        free(*out);
        *out = NULL;
        char snake[64];
        em_snake_case(field, snake, sizeof(snake));
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The length of %s (%zu bytes) exceeds the maximum of %zu bytes.", snake,
                            *len, max);
    }
    return EM_OK;
}

/* Verifies <field>Crc32c against data when the caller sent it; sets *verified. */
static enum em_code check_crc(struct em_call *call, const char *crc_field, const char *data_field,
                              const unsigned char *data, size_t len, bool *verified)
{
    int64_t expected;
    *verified = false;
    if (!em_json_int64(call->body, crc_field, &expected))
        return EM_OK;
    if ((uint32_t)expected != em_crc32c(data, len) || expected < 0 || expected > UINT32_MAX) {
        char crc_snake[96], data_snake[96];
        em_snake_case(crc_field, crc_snake, sizeof(crc_snake));
        em_snake_case(data_field, data_snake, sizeof(data_snake));
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "The checksum in field %s did not match the data in field %s.",
                            crc_snake, data_snake);
    }
    *verified = true;
    return EM_OK;
}

static void add_crc(cJSON *reply, const char *field, const void *data, size_t len)
{
    em_json_add_int64(reply, field, em_crc32c(data, len));
}

/* The audit entry records the version a cryptographic call used. */
static void note_version(struct em_call *call, const struct kms_version_ref *ref)
{
    int room = (int)sizeof(call->audit_key_version) - 1;
    snprintf(call->audit_key_version, sizeof(call->audit_key_version), "%.*s", room, ref->name);
}

/* A cryptographic call uses the held version (kms_handlers.h): the audit entry records it and the
 * call's access reason (kms_kaj.h: what an emulator service says, or the caller's own access); the
 * version must be usable now and the key's Key Access Justifications policy must allow the reason.
 */
enum em_code kms_use_version(struct em_call *call, const struct kms_registry *reg,
                             const struct kms_version_ref *ref, int64_t now)
{
    note_version(call, ref);
    const char *asked =
        call->internal && call->access_reason ? call->access_reason : KMS_KAJ_CUSTOMER_INITIATED;
    const char *reason = kms_kaj_reason_named(asked);
    if (!reason)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Access reason \"%.60s\" is not an AccessReason.", asked);
    call->audit_justification = reason;
    call->audit_justification_enforced = ref->kaj_policy != KMS_KAJ_NO_POLICY;
    if (kms_version_check_usable(reg, ref, now, &call->status))
        return call->status.code;
    return kms_kaj_check(ref->kaj_policy, ref->key_name, reason, &call->status);
}

static enum em_code wrong_purpose(struct em_call *call, const struct kms_version_ref *ref,
                                  const char *method, const char *needed)
{
    return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                        "%s needs a CryptoKey with purpose %s; %s has purpose %s.", method, needed,
                        ref->key_name, kms_purpose_name(ref->purpose));
}

/* Replies with a key copy, which it frees. */
static enum em_code reply_key(struct em_call *call, struct kms_key *key)
{
    cJSON *reply = kms_json_key(key);
    kms_key_free(key);
    return em_call_reply(call, reply);
}

/* Replies with the version of a view, which it frees. */
static enum em_code reply_version(struct em_call *call, struct kms_version_view *view)
{
    cJSON *reply = kms_json_version(view->key, view->version);
    kms_version_view_free(view);
    return em_call_reply(call, reply);
}

/* --- locations, random bytes --- */

enum em_code kms_list_locations(struct em_call *call)
{
    char project[128];
    if (!em_name_id(em_call_var(call, "name"), "projects", project, sizeof(project)) ||
        em_project_check(project, &call->status))
        return call->status.code ? call->status.code
                                 : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project.");
    size_t count;
    const struct em_location *locs = em_locations(&count);
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++)
        cJSON_AddItemToArray(items, kms_json_location(project, locs[i].id, locs[i].display_name));
    struct em_list_options opt = {"locations", 100, 1000, false};
    return em_list_reply(call, items, &opt);
}

enum em_code kms_get_location(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    char project[128], location[128];
    if (kms_check_location(call, name))
        return call->status.code;
    em_name_id(name, "projects", project, sizeof(project));
    em_name_id(name, "locations", location, sizeof(location));
    return em_call_reply(
        call, kms_json_location(project, location, em_location_find(location)->display_name));
}

enum em_code kms_generate_random_bytes(struct em_call *call)
{
    if (kms_check_location(call, em_call_var(call, "location")))
        return call->status.code;
    int64_t length = 0;
    em_json_int64(call->body, "lengthBytes", &length);
    const char *level = em_json_string(call->body, "protectionLevel");
    if (length < 8 || length > 1024)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "length_bytes must be between 8 and 1024, got %lld.",
                            (long long)length);
    if (!level || strcmp(level, "HSM") != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "protection_level must be HSM.");
    unsigned char data[1024];
    if (em_random_bytes(data, (size_t)length, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    em_json_add_bytes(reply, "data", data, (size_t)length);
    add_crc(reply, "dataCrc32c", data, (size_t)length);
    return em_call_reply(call, reply);
}

/* --- key rings --- */

enum em_code kms_create_key_ring(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "keyRingId");
    char name[EM_RESOURCE_MAX];
    if (kms_check_location(call, parent) || kms_check_id(call, "key_ring_id", id) ||
        child_name(call, parent, "keyRings", id, name))
        return call->status.code;
    struct kms_key_ring *ring;
    if (kms_key_ring_create(registry(call), name, em_clock_now(), &ring, &call->status))
        return call->status.code;
    cJSON *reply = kms_json_key_ring(ring);
    kms_key_ring_free(ring);
    return em_call_reply(call, reply);
}

enum em_code kms_get_key_ring(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_key_ring *ring;
    if (kms_check_location(call, name) ||
        kms_key_ring_copy(registry(call), name, &ring, &call->status))
        return call->status.code;
    cJSON *reply = kms_json_key_ring(ring);
    kms_key_ring_free(ring);
    return em_call_reply(call, reply);
}

enum em_code kms_list_key_rings(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_key_ring_list rings;
    if (kms_check_location(call, parent) ||
        kms_key_ring_list(registry(call), parent, &rings, &call->status))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < rings.count; i++)
        cJSON_AddItemToArray(items, kms_json_key_ring(rings.items[i]));
    kms_key_ring_list_free(&rings);
    struct em_list_options opt = {"keyRings", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

/* --- crypto keys --- */

/* AES-CBC and AES-CTR keys need an expert's permission too, as in Google: creating or
 * importing one (cloudkms.cryptoKeyVersions.manageRawAes{Cbc,Ctr}Keys on the resource). */
static enum em_code check_raw_expert(struct em_call *call, const char *resource,
                                     const char *algorithm)
{
    const struct kms_algorithm *alg = kms_algorithm_find(algorithm);
    if (!alg || (alg->kind != KMS_ALG_RAW_CBC && alg->kind != KMS_ALG_RAW_CTR))
        return EM_OK;
    const char *permission = alg->kind == KMS_ALG_RAW_CBC
                                 ? "cloudkms.cryptoKeyVersions.manageRawAesCbcKeys"
                                 : "cloudkms.cryptoKeyVersions.manageRawAesCtrKeys";
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

/* A new key without a Key Access Justifications policy of its own gets its project's
 * effective default (kms_kaj.h). */
static enum em_code default_kaj_policy(struct em_call *call, const char *parent,
                                       struct kms_key_spec *spec)
{
    char project[EM_RESOURCE_MAX];
    bool has_own = cJSON_GetObjectItemCaseSensitive(call->body, "keyAccessJustificationsPolicy");
    if (has_own || !em_name_prefix(parent, "projects", project, sizeof(project)))
        return EM_OK;
    return kms_kaj_new_key_policy(((struct kms_ctx *)call->svc->ctx)->store, project,
                                  &spec->kaj_policy, &call->status);
}

enum em_code kms_create_crypto_key(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "cryptoKeyId");
    bool skip = false;
    struct kms_key_spec spec;
    char *labels = NULL;
    char name[EM_RESOURCE_MAX], backend[KMS_BACKEND_MAX];
    if (kms_check_location(call, parent) || kms_check_id(call, "crypto_key_id", id) ||
        child_name(call, parent, "cryptoKeys", id, name) ||
        em_call_query_bool(call, "skipInitialVersionCreation", &skip) ||
        kms_json_key_spec(call->body, &spec, &labels, &call->status) ||
        default_kaj_policy(call, parent, &spec) || check_raw_expert(call, parent, spec.algorithm) ||
        kms_ekm_resolve_backend(call, name, &spec, backend, sizeof(backend))) {
        cJSON_free(labels);
        return call->status.code;
    }
    spec.backend = backend;
    struct kms_key *key;
    enum em_code code =
        kms_key_create(registry(call), name, &spec, skip, em_clock_now(), &key, &call->status);
    cJSON_free(labels);
    return code ? code : reply_key(call, key);
}

enum em_code kms_get_crypto_key(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_key *key;
    if (kms_check_location(call, name) || kms_key_copy(registry(call), name, &key, &call->status))
        return call->status.code;
    return reply_key(call, key);
}

enum em_code kms_list_crypto_keys(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_key_list keys;
    if (kms_json_version_view("versionView", em_call_query(call, "versionView"), &call->status) ||
        kms_check_location(call, parent) ||
        kms_key_list(registry(call), parent, &keys, &call->status))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < keys.count; i++)
        cJSON_AddItemToArray(items, kms_json_key(keys.items[i]));
    kms_key_list_free(&keys);
    struct em_list_options opt = {"cryptoKeys", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

enum em_code kms_update_crypto_key(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_key_update update;
    char *labels = NULL;
    if (kms_check_location(call, name) ||
        kms_json_key_update(call->body, em_call_query(call, "updateMask"), &update, &labels,
                            &call->status)) {
        cJSON_free(labels);
        return call->status.code;
    }
    struct kms_key *key;
    enum em_code code =
        kms_key_update(registry(call), name, &update, em_clock_now(), &key, &call->status);
    cJSON_free(labels);
    return code ? code : reply_key(call, key);
}

enum em_code kms_update_primary_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    uint32_t id;
    if (kms_check_location(call, name))
        return call->status.code;
    if (!kms_version_id_parse(em_json_string(call->body, "cryptoKeyVersionId"), &id))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "crypto_key_version_id must be a version number such as \"2\".");
    struct kms_key *key;
    if (kms_key_set_primary(registry(call), name, id, &key, &call->status))
        return call->status.code;
    return reply_key(call, key);
}

/* --- encrypt / decrypt --- */

struct crypto_io {
    unsigned char *input, *aad, *output;
    size_t input_len, aad_len, output_len;
    bool input_verified, aad_verified;
};

static void crypto_io_free(struct crypto_io *io)
{
    if (io->output)
        em_wipe(io->output, io->output_len);
    free(io->input);
    free(io->aad);
    free(io->output);
}

/* Reads data + AAD fields and their checksums. */
static enum em_code read_crypto_input(struct em_call *call, const char *data_field, size_t max,
                                      struct crypto_io *io)
{
    char crc_field[64], aad_crc[] = "additionalAuthenticatedDataCrc32c";
    snprintf(crc_field, sizeof(crc_field), "%sCrc32c", data_field);
    if (body_bytes(call, data_field, max, &io->input, &io->input_len) ||
        body_bytes(call, "additionalAuthenticatedData", KMS_MAX_AAD, &io->aad, &io->aad_len) ||
        check_crc(call, crc_field, data_field, io->input, io->input_len, &io->input_verified) ||
        check_crc(call, aad_crc, "additionalAuthenticatedData", io->aad, io->aad_len,
                  &io->aad_verified))
        return call->status.code;
    return EM_OK;
}

/* Holds the version an encrypt names: a CryptoKeyVersion, or a CryptoKey's primary. */
static enum em_code encrypt_target(struct em_call *call, struct kms_registry *reg,
                                   struct kms_version_ref *ref)
{
    const char *name = em_call_var(call, "name");
    if (strstr(name, "/cryptoKeyVersions/")
            ? kms_version_get(reg, name, ref, &call->status)
            : kms_primary_version_get(reg, name, ref, &call->status))
        return call->status.code;
    if (ref->purpose != KMS_ENCRYPT_DECRYPT)
        return wrong_purpose(call, ref, "Encrypt", "ENCRYPT_DECRYPT");
    if (!ref->found)
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION, "CryptoKey %s has no primary version.",
                            name);
    return EM_OK;
}

static enum em_code encrypt_with(struct em_call *call, struct kms_registry *reg,
                                 struct kms_version_ref *ref, struct crypto_io *io)
{
    if (encrypt_target(call, reg, ref))
        return call->status.code;
    int64_t now = em_clock_now();
    if (kms_use_version(call, reg, ref, now))
        return call->status.code;
    bool external = ref->version.alg->kind == KMS_ALG_EXTERNAL;
    io->output_len =
        external ? kms_ekm_ciphertext_size(io->input_len) : kms_ciphertext_size(io->input_len);
    io->output = malloc(io->output_len);
    if (!io->output)
        return EM_FAIL_OOM(&call->status);
    if (external)
        return kms_ekm_encrypt(reg, ref, now, io->aad, io->aad_len, io->input, io->input_len,
                               io->output, &call->status);
    return kms_encrypt(kms_version_material(ref), ref->version.id, io->aad, io->aad_len, io->input,
                       io->input_len, io->output, &call->status);
}

enum em_code kms_encrypt_call(struct em_call *call)
{
    struct crypto_io io = {0};
    struct kms_version_ref ref = {0};
    enum em_code code = read_crypto_input(call, "plaintext", KMS_MAX_PLAINTEXT, &io);
    if (!code)
        code = encrypt_with(call, registry(call), &ref, &io);
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", ref.name);
        em_json_add_bytes(reply, "ciphertext", io.output, io.output_len);
        add_crc(reply, "ciphertextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedPlaintextCrc32c", io.input_verified);
        cJSON_AddBoolToObject(reply, "verifiedAdditionalAuthenticatedDataCrc32c", io.aad_verified);
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

/* --- rawEncrypt / rawDecrypt --- */

/* Holds the version a raw call names, a RAW_ENCRYPT_DECRYPT key's, usable now. */
static enum em_code raw_target(struct em_call *call, const char *method,
                               struct kms_version_ref *ref)
{
    struct kms_registry *reg = registry(call);
    if (kms_version_get(reg, em_call_var(call, "name"), ref, &call->status))
        return call->status.code;
    if (ref->purpose != KMS_RAW_ENCRYPT_DECRYPT)
        return wrong_purpose(call, ref, method, "RAW_ENCRYPT_DECRYPT");
    return kms_use_version(call, reg, ref, em_clock_now());
}

/* The initializationVector field (at most 16 bytes) and its checksum, into io. */
static enum em_code read_iv(struct em_call *call, struct kms_raw_io *io, bool *verified)
{
    unsigned char *iv = NULL;
    size_t len = 0;
    if (body_bytes(call, "initializationVector", KMS_RAW_BLOCK, &iv, &len) ||
        check_crc(call, "initializationVectorCrc32c", "initializationVector", iv, len, verified)) {
        free(iv);
        return call->status.code;
    }
    if (len)
        memcpy(io->iv, iv, len);
    io->iv_len = len;
    free(iv);
    return EM_OK;
}

enum em_code kms_raw_encrypt_call(struct em_call *call)
{
    struct crypto_io in = {0};
    struct kms_raw_io io = {0};
    struct kms_version_ref ref = {0};
    bool iv_verified = false;
    enum em_code code = read_crypto_input(call, "plaintext", KMS_MAX_PLAINTEXT, &in) ||
                        read_iv(call, &io, &iv_verified) || raw_target(call, "RawEncrypt", &ref);
    if (!code) {
        io.in = in.input;
        io.in_len = in.input_len;
        io.aad = in.aad;
        io.aad_len = in.aad_len;
        code = kms_raw_encrypt(ref.version.alg, kms_version_material(&ref), &io, &call->status);
    }
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "ciphertext", io.out, io.out_len);
        em_json_add_bytes(reply, "initializationVector", io.iv, io.iv_len);
        if (ref.version.alg->kind == KMS_ALG_RAW_GCM)
            cJSON_AddNumberToObject(reply, "tagLength", KMS_RAW_GCM_TAG);
        add_crc(reply, "ciphertextCrc32c", io.out, io.out_len);
        add_crc(reply, "initializationVectorCrc32c", io.iv, io.iv_len);
        cJSON_AddBoolToObject(reply, "verifiedPlaintextCrc32c", in.input_verified);
        cJSON_AddBoolToObject(reply, "verifiedAdditionalAuthenticatedDataCrc32c", in.aad_verified);
        cJSON_AddBoolToObject(reply, "verifiedInitializationVectorCrc32c", iv_verified);
        cJSON_AddStringToObject(reply, "name", ref.name);
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    free(io.out);
    crypto_io_free(&in);
    return code ? call->status.code : EM_OK;
}

enum em_code kms_raw_decrypt_call(struct em_call *call)
{
    struct crypto_io in = {0};
    struct kms_raw_io io = {0};
    struct kms_version_ref ref = {0};
    bool iv_verified = false;
    int64_t tag_len = 0;
    em_json_int64(call->body, "tagLength", &tag_len);
    enum em_code code = read_crypto_input(call, "ciphertext", KMS_MAX_CIPHERTEXT, &in) ||
                        read_iv(call, &io, &iv_verified) || raw_target(call, "RawDecrypt", &ref);
    if (!code && (tag_len < 0 || tag_len > 16))
        code = EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "tag_length must be between 0 and 16.");
    if (!code) {
        io.in = in.input;
        io.in_len = in.input_len;
        io.aad = in.aad;
        io.aad_len = in.aad_len;
        io.tag_len = (int)tag_len;
        code = kms_raw_decrypt(ref.version.alg, kms_version_material(&ref), &io, &call->status);
    }
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "plaintext", io.out, io.out_len);
        add_crc(reply, "plaintextCrc32c", io.out, io.out_len);
        cJSON_AddBoolToObject(reply, "verifiedCiphertextCrc32c", in.input_verified);
        cJSON_AddBoolToObject(reply, "verifiedAdditionalAuthenticatedDataCrc32c", in.aad_verified);
        cJSON_AddBoolToObject(reply, "verifiedInitializationVectorCrc32c", iv_verified);
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    if (io.out) {
        em_wipe(io.out, io.out_len);
        free(io.out);
    }
    crypto_io_free(&in);
    return code ? call->status.code : EM_OK;
}

static enum em_code decrypt_failed(struct em_call *call)
{
    return KMS_ERR_DECRYPTION_FAILED(&call->status);
}

static enum em_code decrypt_with(struct em_call *call, struct kms_registry *reg,
                                 struct kms_version_ref *ref, struct crypto_io *io)
{
    uint32_t id; /* 0 finds no version: a ciphertext without one fails like a wrong one */
    if (!kms_ciphertext_version(io->input, io->input_len, &id))
        id = 0;
    if (kms_key_version_get(reg, em_call_var(call, "name"), id, ref, &call->status))
        return call->status.code;
    if (ref->purpose != KMS_ENCRYPT_DECRYPT)
        return wrong_purpose(call, ref, "Decrypt", "ENCRYPT_DECRYPT");
    if (!ref->found)
        return decrypt_failed(call);
    int64_t now = em_clock_now();
    if (kms_use_version(call, reg, ref, now))
        return call->status.code;
    io->output = malloc(io->input_len);
    if (!io->output)
        return EM_FAIL_OOM(&call->status);
    io->output_len = io->input_len; /* wiped whole at the end */
    if (ref->version.alg->kind == KMS_ALG_EXTERNAL) {
        size_t len = 0;
        enum em_code code = kms_ekm_decrypt(reg, ref, now, io->aad, io->aad_len, io->input,
                                            io->input_len, io->output, &len, &call->status);
        if (!code)
            io->output_len = len; /* on failure the whole buffer is wiped */
        return code;
    }
    if (!kms_decrypt(kms_version_material(ref), io->aad, io->aad_len, io->input, io->input_len,
                     io->output, &io->output_len))
        return decrypt_failed(call);
    return EM_OK;
}

enum em_code kms_decrypt_call(struct em_call *call)
{
    struct crypto_io io = {0};
    struct kms_version_ref ref = {0};
    enum em_code code = read_crypto_input(call, "ciphertext", KMS_MAX_CIPHERTEXT, &io);
    if (!code && !io.input)
        code = EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "ciphertext is required.");
    if (!code)
        code = decrypt_with(call, registry(call), &ref, &io);
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "plaintext", io.output, io.output_len);
        add_crc(reply, "plaintextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "usedPrimary", ref.primary);
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

/* --- versions --- */

enum em_code kms_create_version(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_version_view view;
    const char *uri, *path;
    kms_json_external_options(call->body, &uri, &path);
    if (kms_check_location(call, parent) ||
        kms_version_create_external(registry(call), parent, uri, path, em_clock_now(), &view,
                                    &call->status))
        return call->status.code;
    kms_version_name(view.key, view.version, call->audit_key_version,
                     sizeof(call->audit_key_version));
    return reply_version(call, &view);
}

enum em_code kms_get_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_version_view view;
    if (kms_check_location(call, name) ||
        kms_version_copy(registry(call), name, &view, &call->status))
        return call->status.code;
    return reply_version(call, &view);
}

enum em_code kms_list_versions(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_key *key;
    if (kms_json_version_view("view", em_call_query(call, "view"), &call->status) ||
        kms_check_location(call, parent) ||
        kms_key_copy(registry(call), parent, &key, &call->status))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    for (uint32_t i = 0; i < key->version_count; i++)
        cJSON_AddItemToArray(items, kms_json_version(key, key->versions[i]));
    kms_key_free(key);
    struct em_list_options opt = {"cryptoKeyVersions", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

/* What an UpdateCryptoKeyVersion changes: the state, the key reference in the EKM. */
struct version_patch {
    const cJSON *body;
    bool state, uri, path;
};

static enum em_code read_version_mask_path(const char *path, void *arg, struct em_status *st)
{
    struct version_patch *p = arg;
    bool whole = em_mask_path_is(path, "externalProtectionLevelOptions");
    bool state = em_mask_path_is(path, "state");
    bool uri = whole || em_mask_path_is(path, "externalProtectionLevelOptions.externalKeyUri");
    bool key_path =
        whole || em_mask_path_is(path, "externalProtectionLevelOptions.ekmConnectionKeyPath");
    p->state |= state;
    p->uri |= uri;
    p->path |= key_path;
    if (state || uri || key_path)
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "update_mask path \"%.100s\" cannot be updated on a CryptoKeyVersion "
                   "(allowed: state, external_protection_level_options.external_key_uri, "
                   "external_protection_level_options.ekm_connection_key_path).",
                   path);
}

static enum em_code read_version_patch(struct em_call *call, struct version_patch *p)
{
    size_t count;
    *p = (struct version_patch){.body = call->body};
    if (em_mask_each(em_call_query(call, "updateMask"), read_version_mask_path, p, &count,
                     &call->status))
        return call->status.code;
    if (count == 0)
        return KMS_ERR_UPDATE_MASK_REQUIRED(&call->status);
    if (p->state && !em_json_string(call->body, "state"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "crypto_key_version.state is required.");
    return EM_OK;
}

/* UpdateCryptoKeyVersion: the state, or the key reference in the EKM (Cloud EKM,
 * kms_version_set_external_key) with the state in the same change. */
enum em_code kms_update_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct version_patch p;
    struct kms_version_view view;
    if (read_version_patch(call, &p) || kms_check_location(call, name))
        return call->status.code;
    enum kms_state state =
        p.state ? kms_state_parse(em_json_string(call->body, "state")) : KMS_STATE_UNSPECIFIED;
    if (p.state && state == KMS_STATE_UNSPECIFIED)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "crypto_key_version.state can only be set to ENABLED or DISABLED, "
                            "not %.60s.",
                            em_json_string(call->body, "state"));
    enum em_code code;
    if (p.uri || p.path) {
        const char *uri, *path;
        kms_json_external_options(call->body, &uri, &path);
        code = kms_version_set_external_key(registry(call), name, p.uri ? uri : NULL,
                                            p.path ? path : NULL, state, em_clock_now(), &view,
                                            &call->status);
    } else {
        code = kms_version_set_state(registry(call), name, state, em_clock_now(), &view,
                                     &call->status);
    }
    return code ? code : reply_version(call, &view);
}

enum em_code kms_destroy_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_version_view view;
    if (kms_check_location(call, name) ||
        kms_version_destroy(registry(call), name, em_clock_now(), &view, &call->status))
        return call->status.code;
    return reply_version(call, &view);
}

enum em_code kms_restore_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_version_view view;
    if (kms_check_location(call, name) ||
        kms_version_restore(registry(call), name, em_clock_now(), &view, &call->status))
        return call->status.code;
    return reply_version(call, &view);
}

/* Holds the version a cryptographic call names and checks its purpose and state. */
static enum em_code usable_version(struct em_call *call, struct kms_registry *reg,
                                   enum kms_purpose purpose, const char *method,
                                   struct kms_version_ref *ref)
{
    if (kms_version_get(reg, em_call_var(call, "name"), ref, &call->status))
        return call->status.code;
    if (ref->purpose != purpose)
        return wrong_purpose(call, ref, method, kms_purpose_name(purpose));
    return kms_use_version(call, reg, ref, em_clock_now());
}

/* Holds the version GetPublicKey names and exports its public key in format. */
static enum em_code public_key_of(struct em_call *call, enum kms_key_format format,
                                  struct kms_version_ref *ref, unsigned char **key, size_t *len)
{
    struct kms_registry *reg = registry(call);
    if (kms_check_location(call, em_call_var(call, "name")) ||
        kms_version_get(reg, em_call_var(call, "name"), ref, &call->status))
        return call->status.code;
    if (ref->purpose != KMS_ASYMMETRIC_SIGN && ref->purpose != KMS_ASYMMETRIC_DECRYPT)
        return wrong_purpose(call, ref, "GetPublicKey", "ASYMMETRIC_SIGN or ASYMMETRIC_DECRYPT");
    if (kms_version_check_usable(reg, ref, em_clock_now(), &call->status))
        return call->status.code;
    return kms_public_key_export(ref->version.alg, kms_version_material(ref), format, key, len,
                                 &call->status);
}

/* The key in the format asked (publicKeyFormat; without one, PEM in the pem field). */
enum em_code kms_get_public_key(struct em_call *call)
{
    enum kms_key_format format;
    if (kms_json_public_key_format(em_call_query(call, "publicKeyFormat"), &format, &call->status))
        return call->status.code;
    struct kms_version_ref ref = {0};
    unsigned char *key = NULL;
    size_t len = 0;
    enum em_code code = public_key_of(call, format, &ref, &key, &len);
    kms_version_put(&ref);
    if (!code)
        em_call_reply(
            call, kms_json_public_key(em_call_var(call, "name"), &ref.version, format, key, len));
    free(key);
    return code;
}

/* The digest field an algorithm expects ("sha256"...), or NULL when it signs data. */
static const char *digest_field(const struct kms_algorithm *alg)
{
    if (!kms_digest_length(alg))
        return NULL;
    if (!strcmp(alg->digest, "SHA384"))
        return "sha384";
    if (!strcmp(alg->digest, "SHA512"))
        return "sha512";
    return "sha256";
}

/* Reads the digest (or data) to sign, checking its checksum and length. */
static enum em_code read_sign_input(struct em_call *call, const struct kms_algorithm *alg,
                                    struct crypto_io *io, bool *digest_verified)
{
    const char *field = digest_field(alg);
    *digest_verified = false;
    if (!field) {
        if (body_bytes(call, "data", KMS_MAX_PLAINTEXT, &io->input, &io->input_len) ||
            check_crc(call, "dataCrc32c", "data", io->input, io->input_len, &io->input_verified))
            return call->status.code;
        return io->input ? EM_OK
                         : EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                        "%s signs data: the data field is required.", alg->name);
    }
    const cJSON *digest = cJSON_GetObjectItemCaseSensitive(call->body, "digest");
    const char *text = em_json_string(digest, field);
    if (!text || !em_b64_decode(text, strlen(text), &io->input, &io->input_len) ||
        io->input_len != kms_digest_length(alg))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "%s needs digest.%s of %zu bytes.",
                            alg->name, field, kms_digest_length(alg));
    return check_crc(call, "digestCrc32c", "digest", io->input, io->input_len, digest_verified);
}

static enum em_code sign_with(struct em_call *call, struct kms_version_ref *ref,
                              struct crypto_io *io, bool *digest_verified)
{
    if (usable_version(call, registry(call), KMS_ASYMMETRIC_SIGN, "AsymmetricSign", ref) ||
        read_sign_input(call, ref->version.alg, io, digest_verified))
        return call->status.code;
    return kms_sign(ref->version.alg, kms_version_material(ref), io->input, io->input_len,
                    &io->output, &io->output_len, &call->status);
}

enum em_code kms_asymmetric_sign_call(struct em_call *call)
{
    struct kms_version_ref ref = {0};
    struct crypto_io io = {0};
    bool digest_verified = false;
    enum em_code code = sign_with(call, &ref, &io, &digest_verified);
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "signature", io.output, io.output_len);
        add_crc(reply, "signatureCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedDigestCrc32c", digest_verified);
        cJSON_AddBoolToObject(reply, "verifiedDataCrc32c", io.input_verified);
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

static enum em_code asymmetric_decrypt_with(struct em_call *call, struct kms_version_ref *ref,
                                            struct crypto_io *io)
{
    if (body_bytes(call, "ciphertext", 4096, &io->input, &io->input_len) ||
        check_crc(call, "ciphertextCrc32c", "ciphertext", io->input, io->input_len,
                  &io->input_verified) ||
        usable_version(call, registry(call), KMS_ASYMMETRIC_DECRYPT, "AsymmetricDecrypt", ref))
        return call->status.code;
    if (!kms_asymmetric_decrypt(ref->version.alg, kms_version_material(ref), io->input,
                                io->input_len, &io->output, &io->output_len))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Decryption failed: the ciphertext is invalid for %s.",
                            ref->version.alg->name);
    return EM_OK;
}

enum em_code kms_asymmetric_decrypt_call(struct em_call *call)
{
    struct kms_version_ref ref = {0};
    struct crypto_io io = {0};
    enum em_code code = asymmetric_decrypt_with(call, &ref, &io);
    kms_version_put(&ref);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "plaintext", io.output, io.output_len);
        add_crc(reply, "plaintextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedCiphertextCrc32c", io.input_verified);
        cJSON_AddStringToObject(reply, "protectionLevel",
                                kms_protection_name(ref.version.protection));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

/* Computes the MAC of the body's data with the named MAC version. */
static enum em_code compute_mac(struct em_call *call, const char *method, struct crypto_io *io,
                                unsigned char mac[KMS_MAC_MAX], size_t *mac_len,
                                enum kms_protection *level)
{
    struct kms_version_ref ref = {0};
    if (body_bytes(call, "data", KMS_MAX_PLAINTEXT, &io->input, &io->input_len) ||
        check_crc(call, "dataCrc32c", "data", io->input, io->input_len, &io->input_verified))
        return call->status.code;
    enum em_code code = usable_version(call, registry(call), KMS_MAC, method, &ref);
    if (!code)
        code = kms_mac(ref.version.alg, kms_version_material(&ref), io->input, io->input_len, mac,
                       mac_len, &call->status);
    if (!code)
        *level = ref.version.protection;
    kms_version_put(&ref);
    return code;
}

enum em_code kms_mac_sign_call(struct em_call *call)
{
    struct crypto_io io = {0};
    unsigned char mac[KMS_MAC_MAX];
    size_t mac_len = 0;
    enum kms_protection level = KMS_SOFTWARE;
    enum em_code code = compute_mac(call, "MacSign", &io, mac, &mac_len, &level);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        em_json_add_bytes(reply, "mac", mac, mac_len);
        add_crc(reply, "macCrc32c", mac, mac_len);
        cJSON_AddBoolToObject(reply, "verifiedDataCrc32c", io.input_verified);
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

enum em_code kms_mac_verify_call(struct em_call *call)
{
    struct crypto_io io = {0};
    unsigned char mac[KMS_MAC_MAX];
    size_t mac_len = 0;
    bool mac_verified = false;
    enum kms_protection level = KMS_SOFTWARE;
    enum em_code code = body_bytes(call, "mac", KMS_MAC_MAX, &io.aad, &io.aad_len);
    if (!code)
        code = check_crc(call, "macCrc32c", "mac", io.aad, io.aad_len, &mac_verified);
    if (!code)
        code = compute_mac(call, "MacVerify", &io, mac, &mac_len, &level);
    if (!code) {
        bool success = io.aad_len == mac_len && CRYPTO_memcmp(mac, io.aad, mac_len) == 0;
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        cJSON_AddBoolToObject(reply, "success", success);
        cJSON_AddBoolToObject(reply, "verifiedDataCrc32c", io.input_verified);
        cJSON_AddBoolToObject(reply, "verifiedMacCrc32c", mac_verified);
        cJSON_AddBoolToObject(reply, "verifiedSuccessIntegrity", success); /* a copy of success */
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

/* --- IAM --- */

/* --- import jobs and ImportCryptoKeyVersion --- */

static enum em_code reply_import_job(struct em_call *call, struct kms_import_job *job)
{
    cJSON *reply = kms_json_import_job(job, em_clock_now());
    kms_import_job_free(job);
    return em_call_reply(call, reply);
}

/* The importMethod and protectionLevel of a new ImportJob (both required). */
static enum em_code read_import_job(struct em_call *call, const struct kms_import_method **method,
                                    enum kms_protection *protection)
{
    const char *method_name = em_json_string(call->body, "importMethod");
    const char *level = em_json_string(call->body, "protectionLevel");
    *method = kms_import_method_find(method_name);
    *protection = kms_protection_parse(level);
    if (!method_name)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "import_job.import_method is required.");
    if (!*method)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "import_job.import_method %s is not an import method.", method_name);
    if (!level)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "import_job.protection_level is required.");
    if (*protection != KMS_SOFTWARE && *protection != KMS_HSM)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "import_job.protection_level must be SOFTWARE or HSM, not %s.", level);
    return EM_OK;
}

enum em_code kms_create_import_job(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "importJobId");
    const struct kms_import_method *method;
    enum kms_protection protection;
    char name[EM_RESOURCE_MAX];
    struct kms_import_job *job;
    if (kms_check_location(call, parent) || kms_check_id(call, "import_job_id", id) ||
        child_name(call, parent, "importJobs", id, name) ||
        read_import_job(call, &method, &protection) ||
        kms_import_job_create(registry(call), name, method, protection, em_clock_now(), &job,
                              &call->status))
        return call->status.code;
    return reply_import_job(call, job);
}

enum em_code kms_get_import_job(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_import_job *job;
    if (kms_check_location(call, name) ||
        kms_import_job_copy(registry(call), name, &job, &call->status))
        return call->status.code;
    return reply_import_job(call, job);
}

enum em_code kms_list_import_jobs(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_import_job_list jobs;
    if (kms_check_location(call, parent) ||
        kms_import_job_list(registry(call), parent, &jobs, &call->status))
        return call->status.code;
    int64_t now = em_clock_now();
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < jobs.count; i++)
        cJSON_AddItemToArray(items, kms_json_import_job(jobs.items[i], now));
    kms_import_job_list_free(&jobs);
    struct em_list_options opt = {"importJobs", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

/* The request's algorithm, import job and wrapped key (wrappedKey or rsaAesWrappedKey). */
static enum em_code read_import(struct em_call *call, struct kms_import_request *req,
                                unsigned char **wrapped)
{
    const char *algorithm = em_json_string(call->body, "algorithm");
    size_t len = 0, legacy_len = 0;
    unsigned char *legacy = NULL;
    req->import_job = em_json_string(call->body, "importJob");
    req->target_version = em_json_string(call->body, "cryptoKeyVersion");
    if (!algorithm)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "algorithm is required.");
    if (!(req->alg = kms_algorithm_find(algorithm)))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Algorithm %s is not supported by this emulator.", algorithm);
    if (!req->import_job || !*req->import_job)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "import_job is required.");
    if (body_bytes(call, "wrappedKey", 65536, wrapped, &len) ||
        body_bytes(call, "rsaAesWrappedKey", 65536, &legacy, &legacy_len))
        return call->status.code;
    if ((*wrapped != NULL) == (legacy != NULL)) {
        free(legacy);
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Exactly one of wrapped_key and rsa_aes_wrapped_key must be set.");
    }
    if (legacy) {
        *wrapped = legacy;
        len = legacy_len;
    }
    req->wrapped = *wrapped;
    req->wrapped_len = len;
    return EM_OK;
}

enum em_code kms_import_version(struct em_call *call)
{
    struct kms_import_request req = {.key_name = em_call_var(call, "parent")};
    unsigned char *wrapped = NULL;
    struct kms_version_view view;
    /* the key's permission is the route's; the import job's is checked here */
    bool failed = kms_check_location(call, req.key_name) || read_import(call, &req, &wrapped) ||
                  em_iam_check(call->svc->store, &call->svc->config, call->principal,
                               req.import_job, "cloudkms.importJobs.useToImport", &call->status) ||
                  check_raw_expert(call, req.key_name, req.alg->name) ||
                  kms_version_import(registry(call), &req, em_clock_now(), &view, &call->status);
    free(wrapped);
    if (failed)
        return call->status.code;
    kms_version_name(view.key, view.version, call->audit_key_version,
                     sizeof(call->audit_key_version));
    return reply_version(call, &view);
}

enum em_code kms_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    if (kms_check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    if (strstr(name, "/importJobs/")) {
        struct kms_import_job *job;
        if (kms_import_job_copy(reg, name, &job, &call->status))
            return call->status.code;
        kms_import_job_free(job);
        return EM_OK;
    }
    bool exists =
        strstr(name, "/cryptoKeys/") ? kms_key_exists(reg, name) : kms_key_ring_exists(reg, name);
    if (!exists)
        return strstr(name, "/cryptoKeys/") ? KMS_ERR_CRYPTO_KEY_NOT_FOUND(&call->status, name)
                                            : KMS_ERR_KEY_RING_NOT_FOUND(&call->status, name);
    return EM_OK;
}
