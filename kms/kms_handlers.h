/*
 * kms_handlers: one function per Cloud KMS REST method (see kms_routes.c).
 */
#ifndef KMS_HANDLERS_H
#define KMS_HANDLERS_H

#include "em_call.h"
#include "em_operations.h"

#include <stddef.h>

struct kms_registry;
struct kms_autokey;
struct kms_ekm_connections;
struct kms_key_spec;
struct em_store;

/* What every handler reaches through call->svc->ctx. */
struct kms_ctx {
    struct em_store *store; /* the service's (IAM policies: Autokey grants on its keys) */
    struct kms_registry *registry;
    struct kms_autokey *autokey;
    struct kms_ekm_connections *ekm_connections; /* EKM connections and configs */
    char control_url[96]; /* the control plane (Resource Manager): projects' ancestry */
};

/* Checks shared by the handlers: the project and location of a name
 * (".../projects/p/locations/l/..."), and a Cloud KMS ID (`what` names it in errors). */
enum em_code kms_check_location(struct em_call *call, const char *name);
enum em_code kms_check_id(struct em_call *call, const char *what, const char *id);

enum em_code kms_list_locations(struct em_call *call);
enum em_code kms_get_location(struct em_call *call);
enum em_code kms_generate_random_bytes(struct em_call *call);

enum em_code kms_create_key_ring(struct em_call *call);
enum em_code kms_get_key_ring(struct em_call *call);
enum em_code kms_list_key_rings(struct em_call *call);

enum em_code kms_create_crypto_key(struct em_call *call);
enum em_code kms_get_crypto_key(struct em_call *call);
enum em_code kms_list_crypto_keys(struct em_call *call);
enum em_code kms_update_crypto_key(struct em_call *call);
enum em_code kms_update_primary_version(struct em_call *call);
enum em_code kms_encrypt_call(struct em_call *call);
enum em_code kms_decrypt_call(struct em_call *call);
enum em_code kms_raw_encrypt_call(struct em_call *call);
enum em_code kms_raw_decrypt_call(struct em_call *call);

enum em_code kms_create_version(struct em_call *call);
enum em_code kms_get_version(struct em_call *call);
enum em_code kms_list_versions(struct em_call *call);
enum em_code kms_update_version(struct em_call *call);
enum em_code kms_destroy_version(struct em_call *call);
enum em_code kms_restore_version(struct em_call *call);
enum em_code kms_get_public_key(struct em_call *call);
enum em_code kms_asymmetric_sign_call(struct em_call *call);
enum em_code kms_asymmetric_decrypt_call(struct em_call *call);
enum em_code kms_mac_sign_call(struct em_call *call);
enum em_code kms_mac_verify_call(struct em_call *call);

enum em_code kms_create_import_job(struct em_call *call);
enum em_code kms_get_import_job(struct em_call *call);
enum em_code kms_list_import_jobs(struct em_call *call);
enum em_code kms_import_version(struct em_call *call);

/* Autokey (kms_autokey_handlers.c); CreateKeyHandle is a long-running operation, of
 * the one kind KMS has (kms_op_types). */
enum em_code kms_get_autokey_config(struct em_call *call);
enum em_code kms_update_autokey_config(struct em_call *call);
enum em_code kms_show_effective_autokey_config(struct em_call *call);
enum em_code kms_create_key_handle(struct em_call *call);
enum em_code kms_get_key_handle(struct em_call *call);
enum em_code kms_list_key_handles(struct em_call *call);
extern const struct em_message kms_autokey_config_schema, kms_key_handle_schema;

/* A call uses the held version: the audit entry records it and the call's access reason
 * (what an emulator process gives in X-Emulator-Access-Reason, else the caller's own
 * CUSTOMER_INITIATED_ACCESS); the version must be usable now and the key's Key Access
 * Justifications policy must allow the reason. */
struct kms_registry;
struct kms_version_ref;
enum em_code kms_use_version(struct em_call *call, const struct kms_registry *reg,
                             const struct kms_version_ref *ref, int64_t now);

/* Key Access Justifications' configuration (kms_kaj_handlers.c), and a simulated access
 * for another reason (the control plane's kaj:simulateAccess) */
enum em_code kms_simulate_key_access(struct em_call *call);
extern const struct em_message kms_key_access_request;
enum em_code kms_get_kaj_policy_config(struct em_call *call);
enum em_code kms_update_kaj_policy_config(struct em_call *call);
enum em_code kms_show_effective_kaj_policy_config(struct em_call *call);
enum em_code kms_show_effective_kaj_enrollment_config(struct em_call *call);
extern const struct em_message kms_kaj_policy_config_schema, kms_kaj_effective_reply;
extern const struct em_op_type kms_op_types[];
extern const size_t kms_op_type_count;
/* Tests only: answers for Resource Manager's ancestry of a project (NULL in the
 * service, which asks the control plane). Sets *ancestry to the getAncestry reply. */
extern enum em_code (*kms_ancestry_hook)(const char *project, cJSON **ancestry,
                                         struct em_status *st);

/* Cloud EKM's EkmService (kms_ekm_handlers.c): EKM connections and the EkmConfig of
 * each location; kms_ekm_iam_resource says whether an IAM call's resource is one of
 * these two, whose existence kms_ekm_iam_resource_check checks. */
enum em_code kms_create_ekm_connection(struct em_call *call);
enum em_code kms_get_ekm_connection(struct em_call *call);
enum em_code kms_list_ekm_connections(struct em_call *call);
enum em_code kms_update_ekm_connection(struct em_call *call);
enum em_code kms_verify_ekm_connectivity(struct em_call *call);
enum em_code kms_get_ekm_config(struct em_call *call);
enum em_code kms_update_ekm_config(struct em_call *call);
bool kms_ekm_iam_resource(const char *name);
enum em_code kms_ekm_iam_resource_check(struct em_call *call);
extern const struct em_message kms_ekm_connection_schema, kms_list_ekm_connections_reply,
    kms_ekm_config_schema;
/* CreateCryptoKey: the cryptoKeyBackend of spec, checked (an EKM connection of the key's
 * project and location, which the caller may use) or, for an EXTERNAL_VPC key without one,
 * the location's default connection (ekmConfig), written into backend ("" for none). */
enum em_code kms_ekm_resolve_backend(struct em_call *call, const char *key_name,
                                     const struct kms_key_spec *spec, char *backend, size_t len);

/* IAM on key rings, crypto keys and import jobs (the generic em_iam_handle_* methods):
 * NOT_FOUND when the resource of the path does not exist. */
enum em_code kms_iam_resource_check(struct em_call *call);

#endif
