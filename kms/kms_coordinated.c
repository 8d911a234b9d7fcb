/*
 * kms_coordinated: coordinated external keys (Cloud EKM over VPC with an EKM connection in
 * key management mode CLOUD_KMS), and Cloud EKM's error wording shared by every external
 * key. For a coordinated key Cloud KMS, not the customer, manages the key material in the
 * EKM (ekm_service.proto, KeyManagementMode):
 *
 *   a new version (created, the key's first, or an automatic rotation): KMS asks the EKM
 *     for a new key and the version records its path, "<crypto space path>/keys/<32 hex
 *     digits>" (the format is this emulator's: Google's EKM partners choose theirs); the
 *     caller may not give one. An EKM out of reach refuses the version (a rotation is
 *     skipped, as a refused one is).
 *   its destruction: when the scheduled time comes KMS erases its own material and asks
 *     the EKM to destroy the key:
 *        DESTROY_SCHEDULED --EKM destroyed it--> DESTROYED
 *        DESTROY_SCHEDULED --EKM out of reach--> EXTERNAL_DESTRUCTION_FAILED (with
 *                                                externalDestructionFailureReason)
 *     Either way the data is lost: KMS's half of the key is gone. (Google passes through
 *     PENDING_EXTERNAL_DESTRUCTION while it waits for the EKM; here the EKM answers at once.)
 *
 * The EKM is the simulated one (em_ekm.h); a key's address there is
 * "https://<connection hostname>/<path>", as for every EXTERNAL_VPC version.
 */
#include "kms_registry.h"

#include "em_crypto.h"
#include "em_ekm.h"
#include "em_faults.h"

#include <stdio.h>
#include <string.h>

enum em_code kms_ekm_fail(struct em_status *st, enum em_code code, const char *domain,
                          const char *message, const char *subject, const char *address)
{
    EM_FAIL(st, code, "%s External key: %.300s.", message, address);
    em_status_add_violation(st, "CLOUD_EKM_KEY", subject,
                            "The Cloud EKM key could not use its external key.");
    em_status_add_violation(st, domain, address, message);
    return code;
}

#define UNREACHABLE_MESSAGE "Could not reach the EKM host due to an external networking error."

enum em_code kms_coordinated_route(const struct kms_registry *reg, const char *backend,
                                   struct kms_ekm_route *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!reg->ekm_route)
        return EM_FAIL(st, EM_NOT_FOUND, "EkmConnection %.200s not found.", backend);
    return reg->ekm_route(reg->ekm_route_arg, backend, out, st);
}

static void address_of(const struct kms_ekm_route *route, const char *path, char *out, size_t len)
{
    while (*path == '/')
        path++;
    snprintf(out, len, "https://%s/%s", route->hostname, path);
}

enum em_code kms_coordinated_make(const struct kms_registry *reg, const char *key_name,
                                  const struct kms_ekm_route *route, int64_t now, char *path,
                                  struct em_status *st)
{
    unsigned char id[16];
    if (em_random_bytes(id, sizeof(id), st))
        return st->code;
    const char *space = route->crypto_space_path;
    while (*space == '/')
        space++;
    int n = snprintf(path, KMS_EXTERNAL_KEY_MAX, "%s%skeys/", space, *space ? "/" : "");
    for (size_t i = 0; i < sizeof(id) && n > 0 && n + 2 < KMS_EXTERNAL_KEY_MAX; i++)
        n += snprintf(path + n, KMS_EXTERNAL_KEY_MAX - (size_t)n, "%02x", id[i]);
    char address[EM_EKM_URI_MAX];
    address_of(route, path, address, sizeof(address));
    if (em_faults_ekm_unreachable())
        return kms_ekm_fail(st, EM_FAILED_PRECONDITION, "UNREACHABLE_NETWORK", UNREACHABLE_MESSAGE,
                            key_name, address);
    struct em_ekm_key made;
    return em_ekm_key_provision(reg->store, address, now, &made, st);
}

bool kms_coordinated_destroy(const struct kms_registry *reg, const struct kms_key *key,
                             const struct kms_version *v, int64_t now, char *reason,
                             size_t reason_len)
{
    struct kms_ekm_route route;
    struct em_status st = {0};
    if (v->protection != KMS_EXTERNAL_VPC || !v->external_key[0] ||
        kms_coordinated_route(reg, key->backend, &route, &st) || !route.coordinated)
        return true; /* managed by the customer: the EKM's key is theirs to destroy */
    if (em_faults_ekm_unreachable()) {
        snprintf(reason, reason_len, "%s", UNREACHABLE_MESSAGE);
        return false;
    }
    char address[EM_EKM_URI_MAX];
    address_of(&route, v->external_key, address, sizeof(address));
    struct em_ekm_key destroyed;
    if (em_ekm_key_set_state(reg->store, address, EM_EKM_DESTROYED, now, &destroyed, &st) &&
        st.code != EM_NOT_FOUND) {
        snprintf(reason, reason_len, "The EKM could not destroy the key: %s", st.message);
        return false;
    }
    return true;
}
