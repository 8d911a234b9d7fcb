/*
 * kms_ekm: Cloud EKM in KMS's domain (README, "Cloud EKM"): the keys of EXTERNAL and
 * EXTERNAL_VPC versions in the external key manager, here the simulated one (em_ekm.h).
 *
 * An external version has two keys, as Google's: its own material (KMS's "internal" key,
 * erased at destruction like any version's) and a key in the EKM at an address:
 *
 *   EXTERNAL       the version's externalKeyUri ("https://ekm.example.com/v0/keys/k1")
 *   EXTERNAL_VPC   "https://<hostname>/<ekmConnectionKeyPath>", the hostname being the first
 *                  service resolver's of the key's EKM connection (cryptoKeyBackend), read
 *                  at each call: a new hostname is another EKM, which holds no key until
 *                  one is made there
 *
 * Encrypt seals the plaintext under the EKM's key, then KMS's ciphertext format seals that
 * under the version's own material; decrypt undoes both. Every call reaches the EKM, and
 * what stops it is answered in Cloud EKM's words (kms_ekm_fail, kms_errors.h): the EKM out
 * of reach (the ekmUnreachable fault), the key disabled there (Cloud EKM then disables the
 * key version too, as its error reference says), the key destroyed or never made there,
 * the EKM's seal not opening.
 *
 * Versions are linked to their EKM key when created. A manually managed key's version
 * names an existing key (made there at the first use of its address, as if the customer
 * had made it beforehand). A coordinated key (its EKM connection in key management mode
 * CLOUD_KMS when the key was created: key->coordinated) gets its versions' keys from KMS:
 *
 *   a new version (created, the key's first, or an automatic rotation): a new key in the
 *     EKM at "<crypto space path>/keys/<32 hex digits>" (the format is this emulator's),
 *     never an existing one; an EKM out of reach refuses the version (a rotation is
 *     skipped, as a refused one is).
 *   its destruction: when the scheduled time comes KMS erases its own material and asks
 *     the EKM to destroy the key:
 *        DESTROY_SCHEDULED --EKM destroyed it (or had already)--> DESTROYED
 *        DESTROY_SCHEDULED --EKM out of reach, no key there---> EXTERNAL_DESTRUCTION_FAILED
 *                                                               (externalDestructionFailureReason)
 *     Either way the data is lost: KMS's half of the key is gone. (Google passes through
 *     PENDING_EXTERNAL_DESTRUCTION while it waits for the EKM; here the EKM answers at once.)
 */
#include "kms_registry.h"

#include "em_crypto.h"
#include "em_ekm.h"
#include "em_faults.h"
#include "em_log.h"
#include "em_names.h"
#include "kms_errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool kms_ekm_available(const char *location_id, enum kms_protection level)
{
    const struct em_location *loc = em_location_find(location_id);
    if (level == KMS_EXTERNAL_VPC)
        return loc && loc->kind == EM_LOC_REGION;
    return level == KMS_EXTERNAL && strcmp(location_id, "global") != 0 &&
           strcmp(location_id, "nam-eur-asia1") != 0;
}

/* --- Cloud EKM's errors --- */

enum em_code kms_ekm_fail(struct em_status *st, enum em_code code, const char *domain,
                          const char *message, const char *subject, const char *label,
                          const char *address)
{
    EM_FAIL(st, code, "%s %s: %.300s.", message, label, address);
    bool connection = strstr(subject, "/ekmConnections/") != NULL;
    em_status_add_violation(st, connection ? "CLOUD_EKM_CONNECTION" : "CLOUD_EKM_KEY", subject,
                            connection ? "The EkmConnection could not reach its EKM."
                                       : "The Cloud EKM key could not use its external key.");
    em_status_add_violation(st, domain, address, message);
    return code;
}

static enum em_code fail_at(struct em_status *st, const char *domain, const char *message,
                            const char *subject, const char *address)
{
    return kms_ekm_fail(st, EM_FAILED_PRECONDITION, domain, message, subject, "External key",
                        address);
}

/* --- where a version's key is --- */

enum em_code kms_ekm_route_get(const struct kms_registry *reg, const char *backend,
                               struct kms_ekm_route *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!reg->ekm_route)
        return EM_FAIL(st, EM_NOT_FOUND, "EkmConnection %.200s not found.", backend);
    return reg->ekm_route(reg->ekm_route_arg, backend, out, st);
}

static enum em_code vpc_address(const struct kms_ekm_route *route, const char *path, char *out,
                                size_t len, struct em_status *st)
{
    while (*path == '/')
        path++;
    if (snprintf(out, len, "https://%s/%s", route->hostname, path) >= (int)len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The external key's address is too long.");
    return EM_OK;
}

/* The EKM address of a version of protection `level` naming external_key. */
static enum em_code address_of(const struct kms_registry *reg, enum kms_protection level,
                               const char *backend, const char *external_key, char *out, size_t len,
                               struct em_status *st)
{
    if (level == KMS_EXTERNAL) {
        snprintf(out, len, "%s", external_key);
        return EM_OK;
    }
    struct kms_ekm_route route;
    if (kms_ekm_route_get(reg, backend, &route, st))
        return st->code;
    return vpc_address(&route, external_key, out, len, st);
}

/* The EKM's key at address into key, or Cloud EKM's error naming subject (a version, or
 * the key a version is made for); *outcome says what the EKM answered. */
static enum em_code reach(const struct kms_registry *reg, const char *subject, const char *address,
                          unsigned char key[EM_EKM_KEY_BYTES], enum em_ekm_outcome *outcome,
                          struct em_status *st)
{
    *outcome = EM_EKM_UNREACHABLE;
    if (em_faults_ekm_unreachable())
        return fail_at(st, "UNREACHABLE_NETWORK", KMS_EKM_UNREACHABLE, subject, address);
    if (em_ekm_key_material(reg->store, address, key, outcome, st))
        return st->code;
    if (*outcome == EM_EKM_KEY_MISSING || *outcome == EM_EKM_KEY_DESTROYED)
        return fail_at(st, "EXTERNAL_NOT_FOUND", KMS_EKM_NOT_FOUND, subject, address);
    if (*outcome == EM_EKM_KEY_DISABLED)
        return fail_at(st, "EXTERNAL_PERMISSION_DENIED", KMS_EKM_DENIED, subject, address);
    return EM_OK;
}

/* --- linking a new version to its EKM key --- */

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
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return false;
    return *path != '\0';
}

/* The key a manually managed version names, checked with the EKM: its address must be
 * well formed and the EKM must give the key (made there at the first use of the address). */
enum em_code kms_ekm_link(const struct kms_registry *reg, const char *key_name,
                          enum kms_protection level, const char *backend, const char *external_key,
                          int64_t now, struct em_status *st)
{
    if (strlen(external_key) >= KMS_EXTERNAL_KEY_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "An external key URI or key path has at most %d characters.",
                       KMS_EXTERNAL_KEY_MAX - 1);
    if (level == KMS_EXTERNAL && !key_uri_valid(external_key))
        return fail_at(st, "EXTERNAL_KEY_URI_INVALID", KMS_EKM_URI_INVALID, key_name, external_key);
    if (level == KMS_EXTERNAL_VPC && !key_path_valid(external_key))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "external_protection_level_options.ekm_connection_key_path must be 1 to "
                       "%d printable characters without spaces.",
                       KMS_EXTERNAL_KEY_MAX - 1);
    char address[EM_EKM_URI_MAX];
    if (address_of(reg, level, backend, external_key, address, sizeof(address), st))
        return st->code;
    if (em_faults_ekm_unreachable())
        return fail_at(st, "UNREACHABLE_NETWORK", KMS_EKM_UNREACHABLE, key_name, address);
    struct em_ekm_key linked;
    if (em_ekm_key_provision(reg->store, address, now, &linked, st))
        return st->code;
    if (linked.state == EM_EKM_DISABLED)
        return fail_at(st, "EXTERNAL_PERMISSION_DENIED", KMS_EKM_DENIED, key_name, address);
    if (linked.state == EM_EKM_DESTROYED)
        return fail_at(st, "EXTERNAL_NOT_FOUND", KMS_EKM_NOT_FOUND, key_name, address);
    return EM_OK;
}

/* A new key in the EKM for a new version of coordinated key_name: its path (below the
 * connection's crypto space) into path, KMS_EXTERNAL_KEY_MAX bytes. */
enum em_code kms_ekm_make(const struct kms_registry *reg, const char *key_name, const char *backend,
                          int64_t now, char *path, struct em_status *st)
{
    struct kms_ekm_route route;
    unsigned char id[16];
    if (kms_ekm_route_get(reg, backend, &route, st) || em_random_bytes(id, sizeof(id), st))
        return st->code;
    const char *space = route.crypto_space_path;
    while (*space == '/')
        space++;
    if (strlen(space) + sizeof("/keys/") + 2 * sizeof(id) > KMS_EXTERNAL_KEY_MAX)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The crypto space path of EKM connection %.200s is too long to make keys "
                       "below it.",
                       backend);
    int n = snprintf(path, KMS_EXTERNAL_KEY_MAX, "%s%skeys/", space, *space ? "/" : "");
    for (size_t i = 0; i < sizeof(id); i++)
        n += snprintf(path + n, KMS_EXTERNAL_KEY_MAX - (size_t)n, "%02x", id[i]);
    char address[EM_EKM_URI_MAX];
    if (vpc_address(&route, path, address, sizeof(address), st))
        return st->code;
    if (em_faults_ekm_unreachable())
        return fail_at(st, "UNREACHABLE_NETWORK", KMS_EKM_UNREACHABLE, key_name, address);
    return em_ekm_key_create(reg->store, address, now, st);
}

bool kms_ekm_destroy(const struct kms_registry *reg, const struct kms_key *key,
                     const struct kms_version *v, int64_t now, char *reason, size_t reason_len)
{
    if (!key->coordinated || !v->external_key[0])
        return true; /* managed by the customer: the EKM's key is theirs to destroy */
    struct kms_ekm_route route;
    char address[EM_EKM_URI_MAX];
    struct em_status st = {0};
    if (kms_ekm_route_get(reg, key->backend, &route, &st) ||
        vpc_address(&route, v->external_key, address, sizeof(address), &st)) {
        snprintf(reason, reason_len, "%s", st.message);
        return false;
    }
    if (em_faults_ekm_unreachable()) {
        snprintf(reason, reason_len, "%s", KMS_EKM_UNREACHABLE);
        return false;
    }
    struct em_ekm_key destroyed;
    if (em_ekm_key_set_state(reg->store, address, EM_EKM_DESTROYED, now, &destroyed, &st)) {
        snprintf(reason, reason_len, "%s",
                 st.code == EM_NOT_FOUND ? KMS_EKM_NOT_FOUND : st.message);
        return false;
    }
    return true;
}

/* --- encrypt and decrypt --- */

/* A held version's EKM key and address. When the EKM denies the key, Cloud EKM disables
 * the version ("Cloud EKM also disables the key version"): it stays DISABLED until someone
 * enables it again, after fixing the EKM. */
static enum em_code version_key(struct kms_registry *reg, const struct kms_version_ref *ref,
                                int64_t now, unsigned char key[EM_EKM_KEY_BYTES],
                                char address[EM_EKM_URI_MAX], struct em_status *st)
{
    enum em_ekm_outcome outcome;
    if (address_of(reg, ref->version.protection, ref->backend, ref->version.external_key, address,
                   EM_EKM_URI_MAX, st))
        return st->code;
    if (!reach(reg, ref->name, address, key, &outcome, st))
        return EM_OK;
    struct em_status ignored = {0};
    if (outcome == EM_EKM_KEY_DISABLED &&
        kms_version_set_state(reg, ref->name, KMS_DISABLED, now, NULL, &ignored) == EM_OK)
        em_info("kms: the EKM denied %s's key at %s: the version is disabled", ref->name, address);
    return st->code;
}

size_t kms_ekm_ciphertext_size(size_t plaintext_len)
{
    return kms_ciphertext_size(plaintext_len + EM_SEAL_OVERHEAD);
}

enum em_code kms_ekm_encrypt(struct kms_registry *reg, const struct kms_version_ref *ref,
                             int64_t now, const unsigned char *aad, size_t aad_len,
                             const unsigned char *plaintext, size_t len, unsigned char *out,
                             struct em_status *st)
{
    unsigned char key[EM_EKM_KEY_BYTES];
    char address[EM_EKM_URI_MAX];
    unsigned char *sealed = malloc(len + EM_SEAL_OVERHEAD);
    enum em_code code = sealed ? version_key(reg, ref, now, key, address, st) : EM_FAIL_OOM(st);
    if (!code)
        code = em_seal(key, aad, aad_len, plaintext, len, sealed, st);
    if (!code)
        code = kms_encrypt(kms_version_material(ref), ref->version.id, aad, aad_len, sealed,
                           len + EM_SEAL_OVERHEAD, out, st);
    em_wipe(key, sizeof(key));
    if (sealed)
        em_wipe(sealed, len + EM_SEAL_OVERHEAD);
    free(sealed);
    return code;
}

enum em_code kms_ekm_decrypt(struct kms_registry *reg, const struct kms_version_ref *ref,
                             int64_t now, const unsigned char *aad, size_t aad_len,
                             const unsigned char *ciphertext, size_t len, unsigned char *out,
                             size_t *plaintext_len, struct em_status *st)
{
    unsigned char key[EM_EKM_KEY_BYTES];
    char address[EM_EKM_URI_MAX];
    size_t sealed_len = 0;
    unsigned char *sealed = malloc(len ? len : 1);
    if (!sealed)
        return EM_FAIL_OOM(st);
    enum em_code code = EM_OK;
    if (!kms_decrypt(kms_version_material(ref), aad, aad_len, ciphertext, len, sealed,
                     &sealed_len) ||
        sealed_len < EM_SEAL_OVERHEAD)
        code = KMS_ERR_DECRYPTION_FAILED(st);
    if (!code)
        code = version_key(reg, ref, now, key, address, st);
    if (!code && !em_open(key, aad, aad_len, sealed, sealed_len, out))
        code = kms_ekm_fail(st, EM_INVALID_ARGUMENT, "DECRYPTION_FAILED", KMS_EKM_DECRYPTION_FAILED,
                            ref->name, "External key", address);
    if (!code)
        *plaintext_len = sealed_len - EM_SEAL_OVERHEAD;
    em_wipe(key, sizeof(key));
    em_wipe(sealed, len ? len : 1);
    free(sealed);
    return code;
}
