/*
 * kms_external: Cloud EKM inside KMS's calls: where an external version's key is in the
 * EKM, reaching it, its errors in Cloud EKM's words, and encryption under both keys (see
 * kms_external.h).
 */
#include "kms_external.h"

#include "em_clock.h"
#include "em_crypto.h"
#include "em_ekm.h"
#include "em_faults.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_service.h"
#include "kms_ekm_connections.h"
#include "kms_handlers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct kms_ctx *ctx_of(struct em_call *call)
{
    return call->svc->ctx;
}

/* --- Cloud EKM's errors --- */

/* Cloud EKM's error (kms_ekm_fail, kms_coordinated.c): the first violation's type and
 * the descriptions are this emulator's words, as Google does not publish them. */
static enum em_code ekm_error(struct em_call *call, enum em_code code, const char *domain,
                              const char *message, const char *subject, const char *address)
{
    return kms_ekm_fail(&call->status, code, domain, message, subject, address);
}

static enum em_code unreachable(struct em_call *call, const char *subject, const char *address)
{
    return ekm_error(call, EM_FAILED_PRECONDITION, "UNREACHABLE_NETWORK",
                     "Could not reach the EKM host due to an external networking error.", subject,
                     address);
}

/* --- where the key is --- */

/* "https://host/path": a host of letters, digits, '.', '-' and ':' (a port), then a path
 * of printable characters without spaces. */
static bool key_uri_valid(const char *uri)
{
    if (strncmp(uri, "https://", 8) != 0)
        return false;
    const char *host = uri + 8, *p = host;
    while (*p && (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':'))
        p++;
    if (p == host || *p != '/' || !p[1])
        return false;
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

static bool key_path_valid(const char *path)
{
    if (!*path || strlen(path) >= KMS_EXTERNAL_KEY_MAX)
        return false;
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

/* The EKM address of a key of `level` whose version names external_key; EXTERNAL_VPC's
 * goes through the key's EKM connection (backend), read now: an update of its hostname
 * holds for the next call, as Google's. */
static enum em_code address_of(struct em_call *call, enum kms_protection level, const char *backend,
                               const char *external_key, char *out, size_t len)
{
    if (level == KMS_EXTERNAL) {
        snprintf(out, len, "%s", external_key);
        return EM_OK;
    }
    struct kms_ekm_connection_info info;
    if (kms_ekm_connection_lookup(ctx_of(call)->ekm_connections, backend, &info, &call->status))
        return call->status.code;
    while (*external_key == '/')
        external_key++;
    if (snprintf(out, len, "https://%s/%s", info.hostname, external_key) >= (int)len)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "The external key's address is too long.");
    return EM_OK;
}

/* The EKM's key at address into key, or Cloud EKM's error for what stopped it (the EKM
 * refusing the key, outcome set, is left to the caller, which words it). */
static enum em_code reach_ekm(struct em_call *call, const char *subject, const char *address,
                              unsigned char key[EM_EKM_KEY_BYTES], enum em_ekm_outcome *outcome)
{
    *outcome = EM_EKM_OK;
    if (em_faults_ekm_unreachable())
        return unreachable(call, subject, address);
    if (em_ekm_key_material(ctx_of(call)->store, address, em_clock_now(), key, outcome,
                            &call->status))
        return call->status.code;
    if (*outcome == EM_EKM_KEY_DESTROYED)
        return ekm_error(call, EM_FAILED_PRECONDITION, "EXTERNAL_NOT_FOUND",
                         "Could not find a key.", subject, address);
    if (*outcome == EM_EKM_KEY_DISABLED)
        return ekm_error(call, EM_FAILED_PRECONDITION, "EXTERNAL_PERMISSION_DENIED",
                         "Permission was denied when accessing the key.", subject, address);
    return EM_OK;
}

/* A held version's EKM key. When the EKM denies it, Cloud EKM disables the version, as
 * its error reference says ("Cloud EKM also disables the key version"): the version
 * stays DISABLED until someone enables it again, after fixing the EKM. */
static enum em_code version_key(struct em_call *call, const struct kms_version_ref *ref,
                                unsigned char key[EM_EKM_KEY_BYTES])
{
    char address[EM_EKM_URI_MAX];
    enum em_ekm_outcome outcome;
    if (address_of(call, ref->version.protection, ref->backend, ref->version.external_key, address,
                   sizeof(address)))
        return call->status.code;
    if (!reach_ekm(call, ref->name, address, key, &outcome))
        return EM_OK;
    if (outcome == EM_EKM_KEY_DISABLED) {
        struct em_status ignored = {0};
        if (kms_version_set_state(ctx_of(call)->registry, ref->name, KMS_DISABLED, em_clock_now(),
                                  NULL, &ignored) == EM_OK)
            em_info("kms: the EKM denied %s's key at %s: the version is disabled", ref->name,
                    address);
    }
    return call->status.code;
}

/* --- CreateCryptoKey --- */

/* Whether connection (projects/p/locations/l/ekmConnections/c) is in key_name's project
 * and location (projects/p/locations/l/keyRings/...). */
static bool same_location(const char *connection, const char *key_name)
{
    const char *c = strstr(connection, "/ekmConnections/");
    const char *k = strstr(key_name, "/keyRings/");
    return c && k && c - connection == k - key_name &&
           strncmp(connection, key_name, (size_t)(c - connection)) == 0;
}

/* A key's EKM connection: one of its project and location, which the caller may use
 * (cloudkms.ekmConnections.use, under --iam enforce: Google names the permission without
 * saying what it gates; a key made with the connection is the use this emulator checks). */
static enum em_code check_backend(struct em_call *call, const char *key_name, const char *name)
{
    struct kms_ekm_connection_info info;
    if (kms_ekm_connection_lookup(ctx_of(call)->ekm_connections, name, &info, &call->status) ||
        em_iam_check(call->svc->store, &call->svc->config, call->principal, name,
                     "cloudkms.ekmConnections.use", &call->status))
        return call->status.code;
    if (!same_location(name, key_name))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "crypto_key.crypto_key_backend %.200s is not in the project and "
                            "location of CryptoKey %.200s: a key and its EKM connection share "
                            "them.",
                            name, key_name);
    return EM_OK;
}

enum em_code kms_external_resolve_backend(struct em_call *call, const char *key_name,
                                          const struct kms_key_spec *spec, char *backend,
                                          size_t len)
{
    backend[0] = '\0';
    bool vpc = kms_protection_parse(spec->protection) == KMS_EXTERNAL_VPC;
    if (spec->backend && *spec->backend) {
        if (vpc && check_backend(call, key_name, spec->backend))
            return call->status.code;
        snprintf(backend, len, "%s", spec->backend); /* kms_keys.c refuses it elsewhere */
        return EM_OK;
    }
    if (!vpc)
        return EM_OK;
    char location[EM_RESOURCE_MAX];
    const char *ring = strstr(key_name, "/keyRings/");
    snprintf(location, sizeof(location), "%.*s", ring ? (int)(ring - key_name) : 0, key_name);
    if (kms_ekm_default_connection(ctx_of(call)->ekm_connections, location, backend, len,
                                   &call->status))
        return call->status.code;
    return *backend ? check_backend(call, key_name, backend) : EM_OK;
}

/* --- CreateCryptoKeyVersion --- */

/* The options of a new version of key, checked against its protection level (a
 * coordinated key takes none: KMS makes the version's key in the EKM). */
static enum em_code read_options(struct em_call *call, const struct kms_key *key, bool coordinated,
                                 const char **external_key)
{
    const cJSON *options =
        cJSON_GetObjectItemCaseSensitive(call->body, "externalProtectionLevelOptions");
    const char *uri = em_json_string(options, "externalKeyUri");
    const char *path = em_json_string(options, "ekmConnectionKeyPath");
    bool has_uri = uri && *uri, has_path = path && *path;
    const char *level = kms_protection_name(key->template_protection);
    *external_key = NULL;
    if (!kms_protection_is_external(key->template_protection)) {
        if (has_uri || has_path)
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "external_protection_level_options can only be set on versions "
                                "of keys with protection level EXTERNAL or EXTERNAL_VPC; "
                                "CryptoKey %s has %s.",
                                key->name, level);
        return EM_OK;
    }
    bool vpc = key->template_protection == KMS_EXTERNAL_VPC;
    if (coordinated && (has_uri || has_path))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "CryptoKey %s is a coordinated external key (its EKM connection's "
                            "key management mode is CLOUD_KMS): Cloud KMS makes its versions' "
                            "keys in the EKM, so external_protection_level_options cannot be "
                            "given.",
                            key->name);
    if (coordinated)
        return EM_OK;
    if (vpc ? has_uri : has_path)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "external_protection_level_options.%s is for keys with protection "
                            "level %s; CryptoKey %s has %s: set %s.",
                            vpc ? "external_key_uri" : "ekm_connection_key_path",
                            vpc ? "EXTERNAL" : "EXTERNAL_VPC", key->name, level,
                            vpc ? "ekm_connection_key_path" : "external_key_uri");
    if (!(vpc ? has_path : has_uri))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "external_protection_level_options.%s is required for a version of "
                            "CryptoKey %s (protection level %s).",
                            vpc ? "ekm_connection_key_path" : "external_key_uri", key->name, level);
    *external_key = vpc ? path : uri;
    if (vpc && !key_path_valid(path))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "external_protection_level_options.ekm_connection_key_path must be "
                            "1 to %d printable characters without spaces.",
                            KMS_EXTERNAL_KEY_MAX - 1);
    if (!vpc && (strlen(uri) >= KMS_EXTERNAL_KEY_MAX || !key_uri_valid(uri)))
        return ekm_error(call, EM_FAILED_PRECONDITION, "EXTERNAL_KEY_URI_INVALID",
                         "Key URI has invalid format.", key->name, uri);
    return EM_OK;
}

enum em_code kms_external_new_version(struct em_call *call, const char *key_name,
                                      const char **external_key)
{
    struct kms_key *key;
    *external_key = NULL;
    if (kms_key_copy(ctx_of(call)->registry, key_name, &key, &call->status))
        return call->status.code;
    char address[EM_EKM_URI_MAX];
    unsigned char ekm_key[EM_EKM_KEY_BYTES];
    enum em_ekm_outcome outcome;
    struct kms_ekm_connection_info info = {0};
    enum em_code code = EM_OK;
    if (key->template_protection == KMS_EXTERNAL_VPC)
        code = kms_ekm_connection_lookup(ctx_of(call)->ekm_connections, key->backend, &info,
                                         &call->status);
    if (!code)
        code = read_options(call, key, info.mode == KMS_EKM_CLOUD_KMS, external_key);
    if (!code && *external_key)
        code = address_of(call, key->template_protection, key->backend, *external_key, address,
                          sizeof(address));
    if (!code && *external_key)
        code = reach_ekm(call, key_name, address, ekm_key, &outcome);
    em_wipe(ekm_key, sizeof(ekm_key));
    kms_key_free(key);
    return code;
}

/* --- encrypt and decrypt --- */

size_t kms_external_ciphertext_size(size_t plaintext_len)
{
    return kms_ciphertext_size(plaintext_len + EM_SEAL_OVERHEAD);
}

enum em_code kms_external_encrypt(struct em_call *call, const struct kms_version_ref *ref,
                                  const unsigned char *aad, size_t aad_len,
                                  const unsigned char *plaintext, size_t len, unsigned char *out)
{
    unsigned char ekm_key[EM_EKM_KEY_BYTES];
    unsigned char *sealed = malloc(len + EM_SEAL_OVERHEAD);
    enum em_code code = sealed ? version_key(call, ref, ekm_key) : EM_FAIL_OOM(&call->status);
    if (!code)
        code = em_seal(ekm_key, aad, aad_len, plaintext, len, sealed, &call->status);
    if (!code)
        code = kms_encrypt(kms_version_material(ref), ref->version.id, aad, aad_len, sealed,
                           len + EM_SEAL_OVERHEAD, out, &call->status);
    em_wipe(ekm_key, sizeof(ekm_key));
    if (sealed)
        em_wipe(sealed, len + EM_SEAL_OVERHEAD);
    free(sealed);
    return code;
}

enum em_code kms_external_decrypt(struct em_call *call, const struct kms_version_ref *ref,
                                  const unsigned char *aad, size_t aad_len,
                                  const unsigned char *ciphertext, size_t len, unsigned char *out,
                                  size_t *plaintext_len)
{
    unsigned char ekm_key[EM_EKM_KEY_BYTES];
    size_t sealed_len = 0;
    unsigned char *sealed = malloc(len ? len : 1);
    if (!sealed)
        return EM_FAIL_OOM(&call->status);
    enum em_code code = EM_OK;
    if (!kms_decrypt(kms_version_material(ref), aad, aad_len, ciphertext, len, sealed,
                     &sealed_len) ||
        sealed_len < EM_SEAL_OVERHEAD)
        code = EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Decryption failed: verify that 'name' refers to the correct "
                            "CryptoKey.");
    if (!code)
        code = version_key(call, ref, ekm_key);
    if (!code && !em_open(ekm_key, aad, aad_len, sealed, sealed_len, out))
        code = ekm_error(call, EM_INVALID_ARGUMENT, "DECRYPTION_FAILED",
                         "Decryption failed: The EKM reports that decryption failed.", ref->name,
                         ref->version.external_key);
    if (!code)
        *plaintext_len = sealed_len - EM_SEAL_OVERHEAD;
    em_wipe(ekm_key, sizeof(ekm_key));
    em_wipe(sealed, len ? len : 1);
    free(sealed);
    return code;
}
