/*
 * kms_routes: the Cloud KMS v1 route table, the only place a request's path is tied to a
 * handler. Paths and methods are those of the real API (cloudkms v1 discovery document,
 * as in gcloud's generated client). A route without a handler answers UNIMPLEMENTED
 * naming the method: those are the parts of KMS this emulator does not provide.
 */
#include "kms_routes.h"

#include "em_iam.h"
#include "kms_handlers.h"
#include "kms_json.h"

#define LOC     "projects/*/locations/*"
#define RING    LOC "/keyRings/*"
#define KEY     RING "/cryptoKeys/*"
#define VER     KEY "/cryptoKeyVersions/*"
#define EKM     LOC "/ekmConnections/*"
#define DATA    EM_AUDIT_DATA_ACCESS
#define ADMIN   EM_AUDIT_ADMIN
#define P(perm) "cloudkms." perm

#define KAJ_CONFIG_ROUTES(parent)                                                                  \
    {"GET",                                                                                        \
     "v1/{name=" parent "/kajPolicyConfig}",                                                       \
     kms_get_kaj_policy_config,                                                                    \
     "GetKeyAccessJustificationsPolicyConfig",                                                     \
     NULL,                                                                                         \
     NULL,                                                                                         \
     P("kajPolicyConfigs.get"),                                                                    \
     DATA,                                                                                         \
     .reply = &kms_kaj_policy_config_schema},                                                      \
    {                                                                                              \
        "PATCH", "v1/{name=" parent "/kajPolicyConfig}", kms_update_kaj_policy_config,             \
            "UpdateKeyAccessJustificationsPolicyConfig", &kms_kaj_policy_config_schema,            \
            "key_access_justifications_policy_config", P("kajPolicyConfigs.update"), ADMIN,        \
            .reply = &kms_kaj_policy_config_schema, .query = "updateMask"                          \
    }

const struct em_route kms_routes[] = {
    /* locations */
    {"GET", "v1/{name=projects/*}/locations", kms_list_locations, "ListLocations", NULL, NULL,
     P("locations.list"), DATA, .query = "extraLocationTypes filter pageSize pageToken"},
    {"GET", "v1/{name=" LOC "}", kms_get_location, "GetLocation", NULL, NULL, P("locations.get"),
     DATA},
    {"POST", "v1/{location=" LOC "}:generateRandomBytes", kms_generate_random_bytes,
     "GenerateRandomBytes", &kms_random_bytes_schema, NULL, P("locations.generateRandomBytes"),
     DATA},
    {"GET", "v1/{name=" LOC "/operations/*}", em_op_handle_get, "GetOperation", NULL, NULL,
     P("operations.get"), DATA},

    /* key rings */
    {"POST", "v1/{parent=" LOC "}/keyRings", kms_create_key_ring, "CreateKeyRing",
     &kms_key_ring_schema, "key_ring", P("keyRings.create"), ADMIN, .query = "keyRingId"},
    {"GET", "v1/{parent=" LOC "}/keyRings", kms_list_key_rings, "ListKeyRings", NULL, NULL,
     P("keyRings.list"), DATA, .query = "filter orderBy pageSize pageToken"},
    {"GET", "v1/{name=" RING "}", kms_get_key_ring, "GetKeyRing", NULL, NULL, P("keyRings.get"),
     DATA},
    {"GET", "v1/{resource=" RING "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("keyRings.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" RING "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("keyRings.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" RING "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},

    /* crypto keys */
    {"POST", "v1/{parent=" RING "}/cryptoKeys", kms_create_crypto_key, "CreateCryptoKey",
     &kms_crypto_key_schema, "crypto_key", P("cryptoKeys.create"), ADMIN,
     .reply = &kms_crypto_key_schema, .query = "cryptoKeyId skipInitialVersionCreation"},
    {"GET", "v1/{parent=" RING "}/cryptoKeys", kms_list_crypto_keys, "ListCryptoKeys", NULL, NULL,
     P("cryptoKeys.list"), DATA, .reply = &kms_list_keys_reply,
     .query = "filter orderBy pageSize pageToken versionView"},
    {"GET", "v1/{name=" KEY "}", kms_get_crypto_key, "GetCryptoKey", NULL, NULL,
     P("cryptoKeys.get"), DATA, .reply = &kms_crypto_key_schema},
    {"PATCH", "v1/{name=" KEY "}", kms_update_crypto_key, "UpdateCryptoKey", &kms_crypto_key_schema,
     "crypto_key", P("cryptoKeys.update"), ADMIN, .reply = &kms_crypto_key_schema,
     .query = "updateMask"},
    {"POST", "v1/{name=" KEY "}:updatePrimaryVersion", kms_update_primary_version,
     "UpdateCryptoKeyPrimaryVersion", &kms_update_primary_schema, NULL, P("cryptoKeys.update"),
     ADMIN, .reply = &kms_crypto_key_schema},
    {"POST", "v1/{name=" RING "/cryptoKeys/**}:encrypt", kms_encrypt_call, "Encrypt",
     &kms_encrypt_schema, NULL, P("cryptoKeyVersions.useToEncrypt"), DATA,
     .reply = &kms_crypto_reply},
    {"POST", "v1/{name=" KEY "}:decrypt", kms_decrypt_call, "Decrypt", &kms_decrypt_schema, NULL,
     P("cryptoKeyVersions.useToDecrypt"), DATA, .reply = &kms_crypto_reply},
    {"GET", "v1/{resource=" KEY "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("cryptoKeys.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" KEY "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("cryptoKeys.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" KEY "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},

    /* crypto key versions */
    {"POST", "v1/{parent=" KEY "}/cryptoKeyVersions", kms_create_version, "CreateCryptoKeyVersion",
     &kms_version_schema, "crypto_key_version", P("cryptoKeyVersions.create"), ADMIN,
     .reply = &kms_version_schema},
    {"GET", "v1/{parent=" KEY "}/cryptoKeyVersions", kms_list_versions, "ListCryptoKeyVersions",
     NULL, NULL, P("cryptoKeyVersions.list"), DATA, .reply = &kms_list_versions_reply,
     .query = "filter orderBy pageSize pageToken view"},
    {"GET", "v1/{name=" VER "}", kms_get_version, "GetCryptoKeyVersion", NULL, NULL,
     P("cryptoKeyVersions.get"), DATA, .reply = &kms_version_schema},
    {"PATCH", "v1/{name=" VER "}", kms_update_version, "UpdateCryptoKeyVersion",
     &kms_version_schema, "crypto_key_version", P("cryptoKeyVersions.update"), ADMIN,
     .reply = &kms_version_schema, .query = "updateMask"},
    {"POST", "v1/{name=" VER "}:destroy", kms_destroy_version, "DestroyCryptoKeyVersion",
     &em_empty_message, NULL, P("cryptoKeyVersions.destroy"), ADMIN, .reply = &kms_version_schema},
    {"POST", "v1/{name=" VER "}:restore", kms_restore_version, "RestoreCryptoKeyVersion",
     &em_empty_message, NULL, P("cryptoKeyVersions.restore"), ADMIN, .reply = &kms_version_schema},
    {"GET", "v1/{name=" VER "}/publicKey", kms_get_public_key, "GetPublicKey", NULL, NULL,
     P("cryptoKeyVersions.viewPublicKey"), DATA, .reply = &kms_public_key_reply,
     .query = "publicKeyFormat"},
    {"POST", "v1/{name=" VER "}:asymmetricSign", kms_asymmetric_sign_call, "AsymmetricSign",
     &kms_asymmetric_sign_schema, NULL, P("cryptoKeyVersions.useToSign"), DATA,
     .reply = &kms_crypto_reply},
    {"POST", "v1/{name=" VER "}:asymmetricDecrypt", kms_asymmetric_decrypt_call,
     "AsymmetricDecrypt", &kms_asymmetric_decrypt_schema, NULL, P("cryptoKeyVersions.useToDecrypt"),
     DATA, .reply = &kms_crypto_reply},
    {"POST", "v1/{name=" VER "}:macSign", kms_mac_sign_call, "MacSign", &kms_mac_sign_schema, NULL,
     P("cryptoKeyVersions.useToSign"), DATA, .reply = &kms_crypto_reply},
    {"POST", "v1/{name=" VER "}:macVerify", kms_mac_verify_call, "MacVerify",
     &kms_mac_verify_schema, NULL, P("cryptoKeyVersions.useToVerify"), DATA,
     .reply = &kms_crypto_reply},

    {"POST", "v1/{name=" VER "}:rawEncrypt", kms_raw_encrypt_call, "RawEncrypt",
     &kms_raw_encrypt_schema, NULL, P("cryptoKeyVersions.useToEncrypt"), DATA,
     .reply = &kms_crypto_reply},
    {"POST", "v1/{name=" VER "}:rawDecrypt", kms_raw_decrypt_call, "RawDecrypt",
     &kms_raw_decrypt_schema, NULL, P("cryptoKeyVersions.useToDecrypt"), DATA,
     .reply = &kms_crypto_reply},

    /* import jobs, and versions imported with them */
    {"POST", "v1/{parent=" RING "}/importJobs", kms_create_import_job, "CreateImportJob",
     &kms_import_job_schema, "import_job", P("importJobs.create"), ADMIN,
     .reply = &kms_import_job_schema, .query = "importJobId"},
    {"GET", "v1/{parent=" RING "}/importJobs", kms_list_import_jobs, "ListImportJobs", NULL, NULL,
     P("importJobs.list"), DATA, .reply = &kms_list_import_jobs_reply,
     .query = "filter orderBy pageSize pageToken"},
    {"GET", "v1/{name=" RING "/importJobs/*}", kms_get_import_job, "GetImportJob", NULL, NULL,
     P("importJobs.get"), DATA, .reply = &kms_import_job_schema},
    {"GET", "v1/{resource=" RING "/importJobs/*}:getIamPolicy", em_iam_handle_get, "GetIamPolicy",
     NULL, NULL, P("importJobs.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" RING "/importJobs/*}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("importJobs.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" RING "/importJobs/*}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA},
    {"POST", "v1/{parent=" KEY "}/cryptoKeyVersions:import", kms_import_version,
     "ImportCryptoKeyVersion", &kms_import_request_schema, NULL, P("cryptoKeyVersions.create"),
     ADMIN, .reply = &kms_version_schema},

    /* Autokey (kms_autokey_handlers.c) */
    /* their permissions are checked on the folder by the handlers (folders/F: the policy
     * `gcloud resource-manager folders add-iam-policy-binding` sets) */
    {"GET", "v1/{name=folders/*/autokeyConfig}", kms_get_autokey_config, "GetAutokeyConfig", NULL,
     NULL, NULL, DATA},
    {"PATCH", "v1/{name=folders/*/autokeyConfig}", kms_update_autokey_config, "UpdateAutokeyConfig",
     &kms_autokey_config_schema, "autokey_config", NULL, ADMIN, .query = "updateMask"},
    {"GET", "v1/{parent=projects/*}:showEffectiveAutokeyConfig", kms_show_effective_autokey_config,
     "ShowEffectiveAutokeyConfig", NULL, NULL, P("projects.showEffectiveAutokeyConfig"), DATA,
     .never_blocks = true},
    {"POST", "v1/{parent=" LOC "}/keyHandles", kms_create_key_handle, "CreateKeyHandle",
     &kms_key_handle_schema, "key_handle", P("keyHandles.create"), ADMIN, .query = "keyHandleId"},
    {"GET", "v1/{parent=" LOC "}/keyHandles", kms_list_key_handles, "ListKeyHandles", NULL, NULL,
     P("keyHandles.list"), DATA, .query = "filter pageSize pageToken"},
    {"GET", "v1/{name=" LOC "/keyHandles/*}", kms_get_key_handle, "GetKeyHandle", NULL, NULL,
     P("keyHandles.get"), DATA},

    /* Cloud EKM: EKM connections and the EkmConfig of a location (kms_ekm_handlers.c) */
    {"POST", "v1/{parent=" LOC "}/ekmConnections", kms_create_ekm_connection, "CreateEkmConnection",
     &kms_ekm_connection_schema, "ekm_connection", P("ekmConnections.create"), ADMIN,
     .reply = &kms_ekm_connection_schema, .query = "ekmConnectionId"},
    {"GET", "v1/{parent=" LOC "}/ekmConnections", kms_list_ekm_connections, "ListEkmConnections",
     NULL, NULL, P("ekmConnections.list"), DATA, .reply = &kms_list_ekm_connections_reply,
     .query = "filter orderBy pageSize pageToken"},
    {"GET", "v1/{name=" EKM "}", kms_get_ekm_connection, "GetEkmConnection", NULL, NULL,
     P("ekmConnections.get"), DATA, .reply = &kms_ekm_connection_schema},
    {"PATCH", "v1/{name=" EKM "}", kms_update_ekm_connection, "UpdateEkmConnection",
     &kms_ekm_connection_schema, "ekm_connection", P("ekmConnections.update"), ADMIN,
     .reply = &kms_ekm_connection_schema, .query = "updateMask"},
    {"GET", "v1/{name=" EKM "}:verifyConnectivity", kms_verify_ekm_connectivity,
     "VerifyConnectivity", NULL, NULL, P("ekmConnections.verifyConnectivity"), DATA},
    {"GET", "v1/{resource=" EKM "}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL, NULL,
     P("ekmConnections.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" EKM "}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("ekmConnections.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" EKM "}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request, NULL, NULL, DATA},
    {"GET", "v1/{name=" LOC "/ekmConfig}", kms_get_ekm_config, "GetEkmConfig", NULL, NULL,
     P("ekmConfigs.get"), DATA},
    {"PATCH", "v1/{name=" LOC "/ekmConfig}", kms_update_ekm_config, "UpdateEkmConfig",
     &kms_ekm_config_schema, "ekm_config", P("ekmConfigs.update"), ADMIN, .query = "updateMask"},
    {"GET", "v1/{resource=" LOC "/ekmConfig}:getIamPolicy", em_iam_handle_get, "GetIamPolicy", NULL,
     NULL, P("ekmConfigs.getIamPolicy"), DATA, .reply = &em_iam_policy,
     .query = "options.requestedPolicyVersion"},
    {"POST", "v1/{resource=" LOC "/ekmConfig}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, P("ekmConfigs.setIamPolicy"), ADMIN, .reply = &em_iam_policy},
    {"POST", "v1/{resource=" LOC "/ekmConfig}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request, NULL, NULL, DATA},

    /* Key Access Justifications: default policies of projects, folders and organizations
     * (kms_kaj_handlers.c); a configuration's permission is checked on its parent */
    KAJ_CONFIG_ROUTES("projects/*"),
    KAJ_CONFIG_ROUTES("folders/*"),
    KAJ_CONFIG_ROUTES("organizations/*"),
    {"GET", "v1/{project=projects/*}:showEffectiveKeyAccessJustificationsPolicyConfig",
     kms_show_effective_kaj_policy_config, "ShowEffectiveKeyAccessJustificationsPolicyConfig", NULL,
     NULL, P("projects.showEffectiveKajPolicyConfig"), DATA, .reply = &kms_kaj_effective_reply},
    {"GET", "v1/{project=projects/*}:showEffectiveKeyAccessJustificationsEnrollmentConfig",
     kms_show_effective_kaj_enrollment_config,
     "ShowEffectiveKeyAccessJustificationsEnrollmentConfig", NULL, NULL,
     P("projects.showEffectiveKajEnrollmentConfig"), DATA},
    /* the control plane's simulated access for a reason of Google's (kaj:simulateAccess) */
    {"POST", "emulator/v1/internal:keyAccess", kms_simulate_key_access, "SimulatedKeyAccess",
     &kms_key_access_request, NULL, NULL, DATA, .internal = true},
    {NULL},
};
