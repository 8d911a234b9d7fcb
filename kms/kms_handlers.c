/*
 * kms_handlers: thin glue between REST calls and the KMS model. Each handler reads the
 * call (path variables, query, the schema-checked body), validates IDs, calls kms_keys /
 * kms_crypto under the registry lock, and replies with JSON from kms_json.
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
    return call->svc->ctx;
}

/* --- shared checks --- */

/* Validates the project and location of a name (".../projects/p/locations/l/..."). */
static enum em_code check_location(struct em_call *call, const char *name)
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

static enum em_code check_id(struct em_call *call, const char *what, const char *id)
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

static void note_version(struct em_call *call, const struct kms_key *key,
                         const struct kms_version *v)
{
    kms_version_name(key, v, call->audit_key_version, sizeof(call->audit_key_version));
}

static enum em_code key_not_found(struct em_call *call, const char *name)
{
    return KMS_ERR_CRYPTO_KEY_NOT_FOUND(&call->status, name);
}

static enum em_code wrong_purpose(struct em_call *call, const struct kms_key *key,
                                  const char *method, const char *needed)
{
    return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION,
                        "%s needs a CryptoKey with purpose %s; %s has purpose %s.", method, needed,
                        key->name, kms_purpose_name(key->purpose));
}

/* --- locations, random bytes, operations --- */

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
    if (check_location(call, name))
        return call->status.code;
    em_name_id(name, "projects", project, sizeof(project));
    em_name_id(name, "locations", location, sizeof(location));
    return em_call_reply(
        call, kms_json_location(project, location, em_location_find(location)->display_name));
}

enum em_code kms_generate_random_bytes(struct em_call *call)
{
    if (check_location(call, em_call_var(call, "location")))
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

enum em_code kms_get_operation(struct em_call *call)
{
    /* No KMS method of this emulator runs as a long-running operation. */
    return EM_CALL_FAIL(call, EM_NOT_FOUND, "Operation %s not found.", em_call_var(call, "name"));
}

/* --- key rings --- */

enum em_code kms_create_key_ring(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "keyRingId");
    char name[EM_RESOURCE_MAX];
    if (check_location(call, parent) || check_id(call, "key_ring_id", id) ||
        child_name(call, parent, "keyRings", id, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    struct kms_key_ring *ring;
    kms_write_lock(reg);
    enum em_code code = kms_key_ring_create(reg, name, em_clock_now(), &ring, &call->status);
    cJSON *reply = code ? NULL : kms_json_key_ring(ring);
    kms_unlock(reg);
    return code ? code : em_call_reply(call, reply);
}

enum em_code kms_get_key_ring(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    kms_read_lock(reg);
    struct kms_key_ring *ring = kms_key_ring_find(reg, name);
    cJSON *reply = ring ? kms_json_key_ring(ring) : NULL;
    kms_unlock(reg);
    if (!reply)
        return KMS_ERR_KEY_RING_NOT_FOUND(&call->status, name);
    return em_call_reply(call, reply);
}

static void add_ring_json(const struct kms_key_ring *ring, void *arg)
{
    cJSON_AddItemToArray(arg, kms_json_key_ring(ring));
}

enum em_code kms_list_key_rings(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    if (check_location(call, parent))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    cJSON *items = cJSON_CreateArray();
    kms_read_lock(reg);
    kms_each_key_ring(reg, parent, add_ring_json, items);
    kms_unlock(reg);
    struct em_list_options opt = {"keyRings", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

/* --- crypto keys --- */

enum em_code kms_create_crypto_key(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "cryptoKeyId");
    bool skip = false;
    struct kms_key_spec spec;
    char *labels = NULL;
    char name[EM_RESOURCE_MAX];
    if (check_location(call, parent) || check_id(call, "crypto_key_id", id) ||
        child_name(call, parent, "cryptoKeys", id, name) ||
        em_call_query_bool(call, "skipInitialVersionCreation", &skip) ||
        kms_json_key_spec(call->body, &spec, &labels, &call->status)) {
        cJSON_free(labels);
        return call->status.code;
    }
    struct kms_registry *reg = registry(call);
    enum em_code code = kms_key_create(reg, name, &spec, skip, em_clock_now(), NULL, &call->status);
    cJSON_free(labels);
    if (code)
        return code;
    kms_read_lock(reg);
    struct kms_key *key = kms_key_find(reg, name);
    cJSON *reply = key ? kms_json_key(key) : NULL;
    kms_unlock(reg);
    return key ? em_call_reply(call, reply) : key_not_found(call, name);
}

enum em_code kms_get_crypto_key(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    kms_read_lock(reg);
    struct kms_key *key = kms_key_find(reg, name);
    cJSON *reply = key ? kms_json_key(key) : NULL;
    kms_unlock(reg);
    return reply ? em_call_reply(call, reply) : key_not_found(call, name);
}

static void add_key_json(const struct kms_key *key, void *arg)
{
    cJSON_AddItemToArray(arg, kms_json_key(key));
}

enum em_code kms_list_crypto_keys(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    if (check_location(call, parent))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    cJSON *items = cJSON_CreateArray();
    kms_read_lock(reg);
    bool ring_exists = kms_key_ring_find(reg, parent) != NULL;
    kms_each_key(reg, parent, add_key_json, items);
    kms_unlock(reg);
    if (!ring_exists) {
        cJSON_Delete(items);
        return KMS_ERR_KEY_RING_NOT_FOUND(&call->status, parent);
    }
    struct em_list_options opt = {"cryptoKeys", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

enum em_code kms_update_crypto_key(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_key_update update;
    char *labels = NULL;
    if (check_location(call, name) ||
        kms_json_key_update(call->body, em_call_query(call, "updateMask"), &update, &labels,
                            &call->status)) {
        cJSON_free(labels);
        return call->status.code;
    }
    struct kms_registry *reg = registry(call);
    kms_write_lock(reg);
    struct kms_key *key = kms_key_find(reg, name);
    enum em_code code = key ? kms_key_update(reg, key, &update, em_clock_now(), &call->status)
                            : key_not_found(call, name);
    cJSON *reply = code ? NULL : kms_json_key(key);
    kms_unlock(reg);
    cJSON_free(labels);
    return code ? code : em_call_reply(call, reply);
}

enum em_code kms_update_primary_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    uint32_t id;
    if (check_location(call, name))
        return call->status.code;
    if (!kms_version_id_parse(em_json_string(call->body, "cryptoKeyVersionId"), &id))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "crypto_key_version_id must be a version number such as \"2\".");
    struct kms_registry *reg = registry(call);
    kms_write_lock(reg);
    struct kms_key *key = kms_key_find(reg, name);
    enum em_code code =
        key ? kms_key_set_primary(reg, key, id, &call->status) : key_not_found(call, name);
    cJSON *reply = code ? NULL : kms_json_key(key);
    kms_unlock(reg);
    return code ? code : em_call_reply(call, reply);
}

/* --- encrypt / decrypt --- */

/* The key and version an encrypt names: a CryptoKey (its primary) or a version. */
static enum em_code encrypt_target(struct em_call *call, struct kms_registry *reg, const char *name,
                                   struct kms_key **key, struct kms_version **v)
{
    if (strstr(name, "/cryptoKeyVersions/"))
        return kms_version_lookup(reg, name, key, v, &call->status);
    *key = kms_key_find(reg, name);
    if (!*key)
        return key_not_found(call, name);
    if ((*key)->purpose != KMS_ENCRYPT_DECRYPT)
        return wrong_purpose(call, *key, "Encrypt", "ENCRYPT_DECRYPT");
    *v = kms_version_find(*key, (*key)->primary);
    if (!*v)
        return EM_CALL_FAIL(call, EM_FAILED_PRECONDITION, "CryptoKey %s has no primary version.",
                            name);
    return EM_OK;
}

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

static enum em_code encrypt_locked(struct em_call *call, struct kms_registry *reg,
                                   struct crypto_io *io, char *version_name, size_t name_len,
                                   enum kms_protection *level)
{
    struct kms_key *key;
    struct kms_version *v;
    if (encrypt_target(call, reg, em_call_var(call, "name"), &key, &v))
        return call->status.code;
    if (key->purpose != KMS_ENCRYPT_DECRYPT)
        return wrong_purpose(call, key, "Encrypt", "ENCRYPT_DECRYPT");
    note_version(call, key, v);
    if (kms_version_check_usable(reg, key, v, em_clock_now(), &call->status))
        return call->status.code;
    io->output_len = kms_ciphertext_size(io->input_len);
    io->output = malloc(io->output_len);
    if (!io->output)
        return EM_FAIL_OOM(&call->status);
    kms_version_name(key, v, version_name, name_len);
    *level = v->protection;
    return kms_encrypt(&v->material, v->id, io->aad, io->aad_len, io->input, io->input_len,
                       io->output, &call->status);
}

enum em_code kms_encrypt_call(struct em_call *call)
{
    struct crypto_io io = {0};
    struct kms_registry *reg = registry(call);
    char version_name[600];
    enum kms_protection level = KMS_SOFTWARE;
    enum em_code code = read_crypto_input(call, "plaintext", KMS_MAX_PLAINTEXT, &io);
    if (!code) {
        kms_read_lock(reg);
        code = encrypt_locked(call, reg, &io, version_name, sizeof(version_name), &level);
        kms_unlock(reg);
    }
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "name", version_name);
        em_json_add_bytes(reply, "ciphertext", io.output, io.output_len);
        add_crc(reply, "ciphertextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedPlaintextCrc32c", io.input_verified);
        cJSON_AddBoolToObject(reply, "verifiedAdditionalAuthenticatedDataCrc32c", io.aad_verified);
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

static enum em_code decrypt_failed(struct em_call *call)
{
    return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                        "Decryption failed: verify that 'name' refers to the correct CryptoKey.");
}

static enum em_code decrypt_locked(struct em_call *call, struct kms_registry *reg,
                                   struct crypto_io *io, bool *used_primary,
                                   enum kms_protection *level)
{
    const char *name = em_call_var(call, "name");
    struct kms_key *key = kms_key_find(reg, name);
    uint32_t id;
    if (!key)
        return key_not_found(call, name);
    if (key->purpose != KMS_ENCRYPT_DECRYPT)
        return wrong_purpose(call, key, "Decrypt", "ENCRYPT_DECRYPT");
    struct kms_version *v = NULL;
    if (!kms_ciphertext_version(io->input, io->input_len, &id) || !(v = kms_version_find(key, id)))
        return decrypt_failed(call);
    note_version(call, key, v);
    if (kms_version_check_usable(reg, key, v, em_clock_now(), &call->status))
        return call->status.code;
    io->output = malloc(io->input_len);
    if (!io->output)
        return EM_FAIL_OOM(&call->status);
    if (!kms_decrypt(&v->material, io->aad, io->aad_len, io->input, io->input_len, io->output,
                     &io->output_len))
        return decrypt_failed(call);
    *used_primary = v->id == key->primary;
    *level = v->protection;
    return EM_OK;
}

enum em_code kms_decrypt_call(struct em_call *call)
{
    struct crypto_io io = {0};
    struct kms_registry *reg = registry(call);
    bool used_primary = false;
    enum kms_protection level = KMS_SOFTWARE;
    enum em_code code = read_crypto_input(call, "ciphertext", KMS_MAX_CIPHERTEXT, &io);
    if (!code && !io.input)
        code = EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "ciphertext is required.");
    if (!code) {
        kms_read_lock(reg);
        code = decrypt_locked(call, reg, &io, &used_primary, &level);
        kms_unlock(reg);
    }
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "plaintext", io.output, io.output_len);
        add_crc(reply, "plaintextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "usedPrimary", used_primary);
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

/* --- versions --- */

enum em_code kms_create_version(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    if (check_location(call, parent))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    uint32_t id;
    if (kms_version_create(reg, parent, em_clock_now(), &id, &call->status))
        return call->status.code;
    kms_read_lock(reg);
    struct kms_key *key = kms_key_find(reg, parent);
    struct kms_version *v = key ? kms_version_find(key, id) : NULL;
    if (v)
        note_version(call, key, v);
    cJSON *reply = v ? kms_json_version(key, v) : NULL;
    kms_unlock(reg);
    return v ? em_call_reply(call, reply) : key_not_found(call, parent);
}

enum em_code kms_get_version(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    if (check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    kms_read_lock(reg);
    enum em_code code = kms_version_lookup(reg, name, &key, &v, &call->status);
    cJSON *reply = code ? NULL : kms_json_version(key, v);
    kms_unlock(reg);
    return code ? code : em_call_reply(call, reply);
}

enum em_code kms_list_versions(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    if (check_location(call, parent))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    cJSON *items = cJSON_CreateArray();
    kms_read_lock(reg);
    struct kms_key *key = kms_key_find(reg, parent);
    for (uint32_t i = 0; key && i < key->version_count; i++)
        cJSON_AddItemToArray(items, kms_json_version(key, key->versions[i]));
    kms_unlock(reg);
    if (!key) {
        cJSON_Delete(items);
        return key_not_found(call, parent);
    }
    struct em_list_options opt = {"cryptoKeyVersions", 1000, 1000, true};
    return em_list_reply(call, items, &opt);
}

static enum em_code read_version_patch(struct em_call *call, enum kms_state *state)
{
    const char *mask = em_call_query(call, "updateMask");
    if (!mask || !*mask)
        return KMS_ERR_UPDATE_MASK_REQUIRED(&call->status);
    if (!em_mask_path_is(mask, "state"))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "update_mask \"%.100s\" is not supported: only \"state\" can be "
                            "updated on a CryptoKeyVersion.",
                            mask);
    const char *text = em_json_string(call->body, "state");
    *state = kms_state_parse(text);
    if (!text)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "crypto_key_version.state is required.");
    return EM_OK;
}

/* Runs a state-changing action on the version named by the route's "name". */
typedef enum em_code (*version_action)(struct kms_registry *reg, struct kms_key *key,
                                       struct kms_version *v, enum kms_state state, int64_t now,
                                       struct em_status *st);

static enum em_code change_version(struct em_call *call, version_action action,
                                   enum kms_state state)
{
    const char *name = em_call_var(call, "name");
    if (check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    kms_write_lock(reg);
    enum em_code code = kms_version_lookup(reg, name, &key, &v, &call->status);
    if (!code)
        code = action(reg, key, v, state, em_clock_now(), &call->status);
    cJSON *reply = code ? NULL : kms_json_version(key, v);
    kms_unlock(reg);
    return code ? code : em_call_reply(call, reply);
}

static enum em_code set_state_action(struct kms_registry *reg, struct kms_key *key,
                                     struct kms_version *v, enum kms_state state, int64_t now,
                                     struct em_status *st)
{
    return kms_version_set_state(reg, key, v, state, now, st);
}

static enum em_code destroy_action(struct kms_registry *reg, struct kms_key *key,
                                   struct kms_version *v, enum kms_state state, int64_t now,
                                   struct em_status *st)
{
    (void)state;
    return kms_version_destroy(reg, key, v, now, st);
}

static enum em_code restore_action(struct kms_registry *reg, struct kms_key *key,
                                   struct kms_version *v, enum kms_state state, int64_t now,
                                   struct em_status *st)
{
    (void)state;
    return kms_version_restore(reg, key, v, now, st);
}

enum em_code kms_update_version(struct em_call *call)
{
    enum kms_state state = KMS_STATE_UNSPECIFIED;
    if (read_version_patch(call, &state))
        return call->status.code;
    return change_version(call, set_state_action, state);
}

enum em_code kms_destroy_version(struct em_call *call)
{
    return change_version(call, destroy_action, KMS_STATE_UNSPECIFIED);
}

enum em_code kms_restore_version(struct em_call *call)
{
    return change_version(call, restore_action, KMS_STATE_UNSPECIFIED);
}

/* Finds the version for a cryptographic call and checks purpose and state. */
static enum em_code usable_version(struct em_call *call, struct kms_registry *reg,
                                   enum kms_purpose purpose, const char *method,
                                   struct kms_key **key, struct kms_version **v)
{
    if (kms_version_lookup(reg, em_call_var(call, "name"), key, v, &call->status))
        return call->status.code;
    if ((*key)->purpose != purpose)
        return wrong_purpose(call, *key, method, kms_purpose_name(purpose));
    note_version(call, *key, *v);
    return kms_version_check_usable(reg, *key, *v, em_clock_now(), &call->status);
}

enum em_code kms_get_public_key(struct em_call *call)
{
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    char *pem = NULL;
    if (check_location(call, em_call_var(call, "name")))
        return call->status.code;
    kms_read_lock(reg);
    enum em_code code = kms_version_lookup(reg, em_call_var(call, "name"), &key, &v, &call->status);
    if (!code && key->purpose != KMS_ASYMMETRIC_SIGN && key->purpose != KMS_ASYMMETRIC_DECRYPT)
        code = wrong_purpose(call, key, "GetPublicKey", "ASYMMETRIC_SIGN or ASYMMETRIC_DECRYPT");
    if (!code)
        code = kms_version_check_usable(reg, key, v, em_clock_now(), &call->status);
    if (!code)
        code = kms_public_key_pem(&v->material, &pem, &call->status);
    cJSON *reply = NULL;
    if (!code) {
        reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "pem", pem);
        cJSON_AddStringToObject(reply, "algorithm", v->alg->name);
        add_crc(reply, "pemCrc32c", pem, strlen(pem));
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(v->protection));
    }
    kms_unlock(reg);
    free(pem);
    return code ? code : em_call_reply(call, reply);
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

enum em_code kms_asymmetric_sign_call(struct em_call *call)
{
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    struct crypto_io io = {0};
    bool digest_verified = false;
    enum kms_protection level = KMS_SOFTWARE;
    kms_read_lock(reg);
    enum em_code code = usable_version(call, reg, KMS_ASYMMETRIC_SIGN, "AsymmetricSign", &key, &v);
    if (!code)
        code = read_sign_input(call, v->alg, &io, &digest_verified);
    if (!code) {
        code = kms_sign(v->alg, &v->material, io.input, io.input_len, &io.output, &io.output_len,
                        &call->status);
        level = v->protection;
    }
    kms_unlock(reg);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "signature", io.output, io.output_len);
        add_crc(reply, "signatureCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedDigestCrc32c", digest_verified);
        cJSON_AddBoolToObject(reply, "verifiedDataCrc32c", io.input_verified);
        cJSON_AddStringToObject(reply, "name", em_call_var(call, "name"));
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
        em_call_reply(call, reply);
    }
    crypto_io_free(&io);
    return code;
}

enum em_code kms_asymmetric_decrypt_call(struct em_call *call)
{
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    struct crypto_io io = {0};
    enum kms_protection level = KMS_SOFTWARE;
    if (body_bytes(call, "ciphertext", 4096, &io.input, &io.input_len) ||
        check_crc(call, "ciphertextCrc32c", "ciphertext", io.input, io.input_len,
                  &io.input_verified))
        return call->status.code;
    kms_read_lock(reg);
    enum em_code code =
        usable_version(call, reg, KMS_ASYMMETRIC_DECRYPT, "AsymmetricDecrypt", &key, &v);
    if (!code && !kms_asymmetric_decrypt(v->alg, &v->material, io.input, io.input_len, &io.output,
                                         &io.output_len))
        code = EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Decryption failed: the ciphertext is invalid for %s.", v->alg->name);
    if (!code)
        level = v->protection;
    kms_unlock(reg);
    if (!code) {
        cJSON *reply = cJSON_CreateObject();
        em_json_add_bytes(reply, "plaintext", io.output, io.output_len);
        add_crc(reply, "plaintextCrc32c", io.output, io.output_len);
        cJSON_AddBoolToObject(reply, "verifiedCiphertextCrc32c", io.input_verified);
        cJSON_AddStringToObject(reply, "protectionLevel", kms_protection_name(level));
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
    struct kms_registry *reg = registry(call);
    struct kms_key *key;
    struct kms_version *v;
    if (body_bytes(call, "data", KMS_MAX_PLAINTEXT, &io->input, &io->input_len) ||
        check_crc(call, "dataCrc32c", "data", io->input, io->input_len, &io->input_verified))
        return call->status.code;
    kms_read_lock(reg);
    enum em_code code = usable_version(call, reg, KMS_MAC, method, &key, &v);
    if (!code)
        code = kms_mac(v->alg, &v->material, io->input, io->input_len, mac, mac_len, &call->status);
    if (!code)
        *level = v->protection;
    kms_unlock(reg);
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

enum em_code kms_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    if (check_location(call, name))
        return call->status.code;
    struct kms_registry *reg = registry(call);
    kms_read_lock(reg);
    bool exists = strstr(name, "/cryptoKeys/") ? kms_key_find(reg, name) != NULL
                                               : kms_key_ring_find(reg, name) != NULL;
    kms_unlock(reg);
    if (!exists)
        return strstr(name, "/cryptoKeys/") ? KMS_ERR_CRYPTO_KEY_NOT_FOUND(&call->status, name)
                                            : KMS_ERR_KEY_RING_NOT_FOUND(&call->status, name);
    return EM_OK;
}
