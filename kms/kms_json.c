/*
 * kms_json: the JSON shapes of the KMS API (google.cloud.kms.v1 messages as proto3 JSON),
 * the schemas request bodies are checked against before a handler runs, and the enums that
 * query parameters bind (publicKeyFormat, versionView, view), checked with the same words.
 */
#include "kms_json.h"

#include "em_crypto.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"
#include "kms_errors.h"
#include "kms_kaj.h"

#include <stdlib.h>
#include <string.h>

/* --- enums, with the numbers of google/cloud/kms/v1/resources.proto --- */

static const struct em_enum_value purpose_values[] = {{"CRYPTO_KEY_PURPOSE_UNSPECIFIED", 0},
                                                      {"ENCRYPT_DECRYPT", 1},
                                                      {"ASYMMETRIC_SIGN", 5},
                                                      {"ASYMMETRIC_DECRYPT", 6},
                                                      {"RAW_ENCRYPT_DECRYPT", 7},
                                                      {"MAC", 9},
                                                      {"KEY_ENCAPSULATION", 10},
                                                      {"AES_WRAPPING", 11},
                                                      {NULL}};
static const struct em_enum purpose_enum = {"google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose",
                                            purpose_values};

static const struct em_enum_value protection_values[] = {{"PROTECTION_LEVEL_UNSPECIFIED", 0},
                                                         {"SOFTWARE", 1},
                                                         {"HSM", 2},
                                                         {"EXTERNAL", 3},
                                                         {"EXTERNAL_VPC", 4},
                                                         {"HSM_SINGLE_TENANT", 5},
                                                         {NULL}};
static const struct em_enum protection_enum = {"google.cloud.kms.v1.ProtectionLevel",
                                               protection_values};

static const struct em_enum_value algorithm_values[] = {
    {"CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", 0},
    {"GOOGLE_SYMMETRIC_ENCRYPTION", 1},
    {"AES_128_GCM", 41},
    {"AES_256_GCM", 19},
    {"AES_128_CBC", 42},
    {"AES_256_CBC", 43},
    {"AES_128_CTR", 44},
    {"AES_256_CTR", 45},
    {"RSA_SIGN_PSS_2048_SHA256", 2},
    {"RSA_SIGN_PSS_3072_SHA256", 3},
    {"RSA_SIGN_PSS_4096_SHA256", 4},
    {"RSA_SIGN_PSS_4096_SHA512", 15},
    {"RSA_SIGN_PKCS1_2048_SHA256", 5},
    {"RSA_SIGN_PKCS1_3072_SHA256", 6},
    {"RSA_SIGN_PKCS1_4096_SHA256", 7},
    {"RSA_SIGN_PKCS1_4096_SHA512", 16},
    {"RSA_SIGN_RAW_PKCS1_2048", 28},
    {"RSA_SIGN_RAW_PKCS1_3072", 29},
    {"RSA_SIGN_RAW_PKCS1_4096", 30},
    {"RSA_DECRYPT_OAEP_2048_SHA256", 8},
    {"RSA_DECRYPT_OAEP_3072_SHA256", 9},
    {"RSA_DECRYPT_OAEP_4096_SHA256", 10},
    {"RSA_DECRYPT_OAEP_4096_SHA512", 17},
    {"RSA_DECRYPT_OAEP_2048_SHA1", 37},
    {"RSA_DECRYPT_OAEP_3072_SHA1", 38},
    {"RSA_DECRYPT_OAEP_4096_SHA1", 39},
    {"EC_SIGN_P256_SHA256", 12},
    {"EC_SIGN_P384_SHA384", 13},
    {"EC_SIGN_SECP256K1_SHA256", 31},
    {"EC_SIGN_ED25519", 40},
    {"HMAC_SHA256", 32},
    {"HMAC_SHA1", 33},
    {"HMAC_SHA384", 34},
    {"HMAC_SHA512", 35},
    {"HMAC_SHA224", 36},
    {"EXTERNAL_SYMMETRIC_ENCRYPTION", 18},
    {"ML_KEM_768", 47},
    {"ML_KEM_1024", 48},
    {"KEM_XWING", 63},
    {"PQ_SIGN_ML_DSA_44", 68},
    {"PQ_SIGN_ML_DSA_65", 56},
    {"PQ_SIGN_ML_DSA_87", 69},
    {"PQ_SIGN_SLH_DSA_SHA2_128S", 57},
    {"PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256", 60},
    {"PQ_SIGN_ML_DSA_44_EXTERNAL_MU", 70},
    {"PQ_SIGN_ML_DSA_65_EXTERNAL_MU", 67},
    {"PQ_SIGN_ML_DSA_87_EXTERNAL_MU", 71},
    {"AES_256_KWP", 73},
    {NULL}};
static const struct em_enum algorithm_enum = {
    "google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm", algorithm_values};

static const struct em_enum_value state_values[] = {{"CRYPTO_KEY_VERSION_STATE_UNSPECIFIED", 0},
                                                    {"PENDING_GENERATION", 5},
                                                    {"ENABLED", 1},
                                                    {"DISABLED", 2},
                                                    {"DESTROYED", 3},
                                                    {"DESTROY_SCHEDULED", 4},
                                                    {"PENDING_IMPORT", 6},
                                                    {"IMPORT_FAILED", 7},
                                                    {"GENERATION_FAILED", 8},
                                                    {"PENDING_EXTERNAL_DESTRUCTION", 9},
                                                    {"EXTERNAL_DESTRUCTION_FAILED", 10},
                                                    {NULL}};
static const struct em_enum state_enum = {
    "google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionState", state_values};

static const struct em_enum_value attestation_format_values[] = {
    {"ATTESTATION_FORMAT_UNSPECIFIED", 0},
    {"CAVIUM_V1_COMPRESSED", 3},
    {"CAVIUM_V2_COMPRESSED", 4},
    {NULL}};
static const struct em_enum attestation_format_enum = {
    "google.cloud.kms.v1.KeyOperationAttestation.AttestationFormat", attestation_format_values};

static const struct em_enum_value public_key_format_values[] = {
    {"PUBLIC_KEY_FORMAT_UNSPECIFIED", 0},
    {"PEM", 1},
    {"DER", 2},
    {"NIST_PQC", 3},
    {"XWING_RAW_BYTES", 4},
    {NULL}};
static const struct em_enum public_key_format_enum = {
    "google.cloud.kms.v1.PublicKey.PublicKeyFormat", public_key_format_values};

static const struct em_enum_value version_view_values[] = {
    {"CRYPTO_KEY_VERSION_VIEW_UNSPECIFIED", 0}, {"FULL", 1}, {NULL}};
static const struct em_enum version_view_enum = {
    "google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionView", version_view_values};

#define ENUM(e) EM_F_ENUM, false, NULL, &e

/* --- schemas: requests and replies, field by field as in resources.proto and
 * service.proto. Output-only fields are accepted and ignored in requests, as Google does. */

static const struct em_field template_fields[] = {
    {"algorithm", ENUM(algorithm_enum)}, {"protectionLevel", ENUM(protection_enum)}, {NULL}};
static const struct em_message template_msg = {"google.cloud.kms.v1.CryptoKeyVersionTemplate",
                                               template_fields};

static const struct em_field external_fields[] = {
    {"externalKeyUri", EM_F_STRING}, {"ekmConnectionKeyPath", EM_F_STRING}, {NULL}};
static const struct em_message external_msg = {"google.cloud.kms.v1.ExternalProtectionLevelOptions",
                                               external_fields};

static const struct em_field cert_chains_fields[] = {{"caviumCerts", EM_F_STRING, true},
                                                     {"googleCardCerts", EM_F_STRING, true},
                                                     {"googlePartitionCerts", EM_F_STRING, true},
                                                     {NULL}};
static const struct em_message cert_chains_msg = {
    "google.cloud.kms.v1.KeyOperationAttestation.CertificateChains", cert_chains_fields};

static const struct em_field attestation_fields[] = {
    {"format", ENUM(attestation_format_enum)},
    {"content", EM_F_BYTES},
    {"certChains", EM_F_MESSAGE, false, &cert_chains_msg},
    {NULL}};
static const struct em_message attestation_msg = {"google.cloud.kms.v1.KeyOperationAttestation",
                                                  attestation_fields};

/* trustedWrappingEnabled and hsmTrusted are output only (HSM properties this emulator's
 * software keys do not have): accepted in a request and ignored, never answered. */
static const struct em_field version_fields[] = {
    {"name", EM_F_STRING},
    {"state", ENUM(state_enum)},
    {"protectionLevel", ENUM(protection_enum)},
    {"algorithm", ENUM(algorithm_enum)},
    {"attestation", EM_F_MESSAGE, false, &attestation_msg},
    {"createTime", EM_F_TIMESTAMP},
    {"generateTime", EM_F_TIMESTAMP},
    {"destroyTime", EM_F_TIMESTAMP},
    {"destroyEventTime", EM_F_TIMESTAMP},
    {"importJob", EM_F_STRING},
    {"importTime", EM_F_TIMESTAMP},
    {"importFailureReason", EM_F_STRING},
    {"generationFailureReason", EM_F_STRING},
    {"externalDestructionFailureReason", EM_F_STRING},
    {"externalProtectionLevelOptions", EM_F_MESSAGE, false, &external_msg},
    {"reimportEligible", EM_F_BOOL},
    {"trustedWrappingEnabled", EM_F_BOOL},
    {"hsmTrusted", EM_F_BOOL},
    {NULL}};
const struct em_message kms_version_schema = {"google.cloud.kms.v1.CryptoKeyVersion",
                                              version_fields};

static const struct em_field crypto_key_fields[] = {
    {"name", EM_F_STRING},
    {"primary", EM_F_MESSAGE, false, &kms_version_schema},
    {"purpose", ENUM(purpose_enum)},
    {"createTime", EM_F_TIMESTAMP},
    {"nextRotationTime", EM_F_TIMESTAMP},
    {"rotationPeriod", EM_F_DURATION},
    {"versionTemplate", EM_F_MESSAGE, false, &template_msg},
    {"labels", EM_F_MAP},
    {"importOnly", EM_F_BOOL},
    {"destroyScheduledDuration", EM_F_DURATION},
    {"cryptoKeyBackend", EM_F_STRING},
    {"keyAccessJustificationsPolicy", EM_F_MESSAGE, false, &kms_kaj_policy_schema},
    {NULL}};
const struct em_message kms_crypto_key_schema = {"google.cloud.kms.v1.CryptoKey",
                                                 crypto_key_fields};

static const struct em_field key_ring_fields[] = {
    {"name", EM_F_STRING}, {"createTime", EM_F_TIMESTAMP}, {NULL}};
const struct em_message kms_key_ring_schema = {"google.cloud.kms.v1.KeyRing", key_ring_fields};

static const struct em_field encrypt_fields[] = {{"plaintext", EM_F_BYTES},
                                                 {"additionalAuthenticatedData", EM_F_BYTES},
                                                 {"plaintextCrc32c", EM_F_INT64},
                                                 {"additionalAuthenticatedDataCrc32c", EM_F_INT64},
                                                 {NULL}};
const struct em_message kms_encrypt_schema = {"google.cloud.kms.v1.EncryptRequest", encrypt_fields};

static const struct em_field decrypt_fields[] = {{"ciphertext", EM_F_BYTES},
                                                 {"additionalAuthenticatedData", EM_F_BYTES},
                                                 {"ciphertextCrc32c", EM_F_INT64},
                                                 {"additionalAuthenticatedDataCrc32c", EM_F_INT64},
                                                 {NULL}};
const struct em_message kms_decrypt_schema = {"google.cloud.kms.v1.DecryptRequest", decrypt_fields};

/* externalMu is the ML-DSA input of the PQ_SIGN_*_EXTERNAL_MU algorithms, which this
 * emulator does not create: accepted, and a key that wants a digest still asks for it. */
static const struct em_field digest_fields[] = {{"sha256", EM_F_BYTES},
                                                {"sha384", EM_F_BYTES},
                                                {"sha512", EM_F_BYTES},
                                                {"externalMu", EM_F_BYTES},
                                                {NULL}};
static const struct em_message digest_msg = {"google.cloud.kms.v1.Digest", digest_fields};

static const struct em_field sign_fields[] = {{"digest", EM_F_MESSAGE, false, &digest_msg},
                                              {"digestCrc32c", EM_F_INT64},
                                              {"data", EM_F_BYTES},
                                              {"dataCrc32c", EM_F_INT64},
                                              {NULL}};
const struct em_message kms_asymmetric_sign_schema = {"google.cloud.kms.v1.AsymmetricSignRequest",
                                                      sign_fields};

static const struct em_field asym_decrypt_fields[] = {
    {"ciphertext", EM_F_BYTES}, {"ciphertextCrc32c", EM_F_INT64}, {NULL}};
const struct em_message kms_asymmetric_decrypt_schema = {
    "google.cloud.kms.v1.AsymmetricDecryptRequest", asym_decrypt_fields};

static const struct em_field mac_sign_fields[] = {
    {"data", EM_F_BYTES}, {"dataCrc32c", EM_F_INT64}, {NULL}};
const struct em_message kms_mac_sign_schema = {"google.cloud.kms.v1.MacSignRequest",
                                               mac_sign_fields};

static const struct em_field mac_verify_fields[] = {{"data", EM_F_BYTES},
                                                    {"dataCrc32c", EM_F_INT64},
                                                    {"mac", EM_F_BYTES},
                                                    {"macCrc32c", EM_F_INT64},
                                                    {NULL}};
const struct em_message kms_mac_verify_schema = {"google.cloud.kms.v1.MacVerifyRequest",
                                                 mac_verify_fields};

static const struct em_field random_fields[] = {
    {"lengthBytes", EM_F_INT32}, {"protectionLevel", ENUM(protection_enum)}, {NULL}};
const struct em_message kms_random_bytes_schema = {"google.cloud.kms.v1.GenerateRandomBytesRequest",
                                                   random_fields};

static const struct em_field update_primary_fields[] = {{"cryptoKeyVersionId", EM_F_STRING},
                                                        {NULL}};
const struct em_message kms_update_primary_schema = {
    "google.cloud.kms.v1.UpdateCryptoKeyPrimaryVersionRequest", update_primary_fields};

/* --- reply schemas: where a reply carries enums (answered as numbers on request) --- */

static const struct em_field list_keys_fields[] = {
    {"cryptoKeys", EM_F_MESSAGE, true, &kms_crypto_key_schema}, {NULL}};
const struct em_message kms_list_keys_reply = {"google.cloud.kms.v1.ListCryptoKeysResponse",
                                               list_keys_fields};

static const struct em_field list_versions_fields[] = {
    {"cryptoKeyVersions", EM_F_MESSAGE, true, &kms_version_schema}, {NULL}};
const struct em_message kms_list_versions_reply = {
    "google.cloud.kms.v1.ListCryptoKeyVersionsResponse", list_versions_fields};

static const struct em_field raw_encrypt_fields[] = {
    {"plaintext", EM_F_BYTES},
    {"additionalAuthenticatedData", EM_F_BYTES},
    {"plaintextCrc32c", EM_F_INT64},
    {"additionalAuthenticatedDataCrc32c", EM_F_INT64},
    {"initializationVector", EM_F_BYTES},
    {"initializationVectorCrc32c", EM_F_INT64},
    {NULL}};
const struct em_message kms_raw_encrypt_schema = {"google.cloud.kms.v1.RawEncryptRequest",
                                                  raw_encrypt_fields};

static const struct em_field raw_decrypt_fields[] = {
    {"ciphertext", EM_F_BYTES},
    {"additionalAuthenticatedData", EM_F_BYTES},
    {"initializationVector", EM_F_BYTES},
    {"tagLength", EM_F_INT32},
    {"ciphertextCrc32c", EM_F_INT64},
    {"additionalAuthenticatedDataCrc32c", EM_F_INT64},
    {"initializationVectorCrc32c", EM_F_INT64},
    {NULL}};
const struct em_message kms_raw_decrypt_schema = {"google.cloud.kms.v1.RawDecryptRequest",
                                                  raw_decrypt_fields};

/* --- import jobs and ImportCryptoKeyVersion --- */

static const struct em_enum_value import_method_values[] = {
    {"IMPORT_METHOD_UNSPECIFIED", 0},    {"RSA_OAEP_3072_SHA1_AES_256", 1},
    {"RSA_OAEP_4096_SHA1_AES_256", 2},   {"RSA_OAEP_3072_SHA256_AES_256", 3},
    {"RSA_OAEP_4096_SHA256_AES_256", 4}, {"RSA_OAEP_3072_SHA256", 5},
    {"RSA_OAEP_4096_SHA256", 6},         {NULL}};
static const struct em_enum import_method_enum = {"google.cloud.kms.v1.ImportJob.ImportMethod",
                                                  import_method_values};

static const struct em_enum_value import_state_values[] = {{"IMPORT_JOB_STATE_UNSPECIFIED", 0},
                                                           {"PENDING_GENERATION", 1},
                                                           {"ACTIVE", 2},
                                                           {"EXPIRED", 3},
                                                           {NULL}};
static const struct em_enum import_state_enum = {"google.cloud.kms.v1.ImportJob.ImportJobState",
                                                 import_state_values};

static const struct em_field wrapping_key_fields[] = {{"pem", EM_F_STRING}, {NULL}};
static const struct em_message wrapping_key_msg = {
    "google.cloud.kms.v1.ImportJob.WrappingPublicKey", wrapping_key_fields};

static const struct em_field import_job_fields[] = {
    {"name", EM_F_STRING},
    {"importMethod", ENUM(import_method_enum)},
    {"protectionLevel", ENUM(protection_enum)},
    {"createTime", EM_F_TIMESTAMP},
    {"generateTime", EM_F_TIMESTAMP},
    {"expireTime", EM_F_TIMESTAMP},
    {"expireEventTime", EM_F_TIMESTAMP},
    {"state", ENUM(import_state_enum)},
    {"publicKey", EM_F_MESSAGE, false, &wrapping_key_msg},
    {"attestation", EM_F_MESSAGE, false, &attestation_msg},
    {NULL}};
const struct em_message kms_import_job_schema = {"google.cloud.kms.v1.ImportJob",
                                                 import_job_fields};

static const struct em_field list_import_jobs_fields[] = {
    {"importJobs", EM_F_MESSAGE, true, &kms_import_job_schema}, {NULL}};
const struct em_message kms_list_import_jobs_reply = {"google.cloud.kms.v1.ListImportJobsResponse",
                                                      list_import_jobs_fields};

static const struct em_field import_request_fields[] = {
    {"cryptoKeyVersion", EM_F_STRING}, {"algorithm", ENUM(algorithm_enum)},
    {"importJob", EM_F_STRING},        {"wrappedKey", EM_F_BYTES},
    {"rsaAesWrappedKey", EM_F_BYTES},  {NULL}};
const struct em_message kms_import_request_schema = {
    "google.cloud.kms.v1.ImportCryptoKeyVersionRequest", import_request_fields};

cJSON *kms_json_import_job(const struct kms_import_job *job, int64_t now)
{
    bool expired = now >= job->expire_ns;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", job->name);
    cJSON_AddStringToObject(j, "importMethod", job->method->name);
    cJSON_AddStringToObject(j, "protectionLevel", kms_protection_name(job->protection));
    em_json_add_time(j, "createTime", job->create_ns);
    em_json_add_time(j, "generateTime", job->create_ns);
    em_json_add_time(j, "expireTime", job->expire_ns);
    if (expired)
        em_json_add_time(j, "expireEventTime", job->expire_ns);
    cJSON_AddStringToObject(j, "state", expired ? "EXPIRED" : "ACTIVE");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "publicKey"), "pem", job->public_pem);
    return j;
}

static const struct em_field public_key_fields[] = {
    {"algorithm", ENUM(algorithm_enum)},
    {"protectionLevel", ENUM(protection_enum)},
    {"publicKeyFormat", ENUM(public_key_format_enum)},
    {NULL}};
const struct em_message kms_public_key_reply = {"google.cloud.kms.v1.PublicKey", public_key_fields};

cJSON *kms_json_public_key(const char *name, const struct kms_version *v,
                           enum kms_key_format format, const unsigned char *key, size_t len)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "algorithm", v->alg->name);
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "protectionLevel", kms_protection_name(v->protection));
    if (format == KMS_KEY_FORMAT_UNSPECIFIED) {
        cJSON_AddStringToObject(j, "pem", (const char *)key);
        em_json_add_int64(j, "pemCrc32c", em_crc32c(key, len));
        return j;
    }
    cJSON *data = cJSON_AddObjectToObject(j, "publicKey");
    em_json_add_bytes(data, "data", key, len);
    em_json_add_int64(data, "crc32cChecksum", em_crc32c(key, len));
    const struct em_enum_value *named = em_enum_by_number(&public_key_format_enum, (int)format);
    cJSON_AddStringToObject(j, "publicKeyFormat", named ? named->name : "");
    return j;
}

/* EncryptResponse, DecryptResponse, AsymmetricSignResponse, AsymmetricDecryptResponse,
 * MacSignResponse and MacVerifyResponse: their one enum is protectionLevel. */
static const struct em_field crypto_reply_fields[] = {{"protectionLevel", ENUM(protection_enum)},
                                                      {NULL}};
const struct em_message kms_crypto_reply = {"google.cloud.kms.v1.EncryptResponse",
                                            crypto_reply_fields};

/* --- model -> JSON --- */

cJSON *kms_json_key_ring(const struct kms_key_ring *ring)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", ring->name);
    em_json_add_time(j, "createTime", ring->create_ns);
    return j;
}

cJSON *kms_json_version(const struct kms_key *key, const struct kms_version *v)
{
    char name[600];
    kms_version_name(key, v, name, sizeof(name));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "state", kms_state_name(v->state));
    cJSON_AddStringToObject(j, "protectionLevel", kms_protection_name(v->protection));
    cJSON_AddStringToObject(j, "algorithm", v->alg->name);
    em_json_add_time(j, "createTime", v->create_ns);
    if (v->generate_ns && v->state != KMS_PENDING_GENERATION && v->state != KMS_PENDING_IMPORT)
        em_json_add_time(j, "generateTime", v->generate_ns);
    if (v->state == KMS_DESTROY_SCHEDULED)
        em_json_add_time(j, "destroyTime", v->destroy_ns);
    if (v->state == KMS_DESTROYED) {
        em_json_add_time(j, "destroyTime", v->destroy_ns);
        em_json_add_time(j, "destroyEventTime", v->destroy_event_ns);
    }
    if (v->import_job[0]) {
        cJSON_AddStringToObject(j, "importJob", v->import_job);
        if (v->state != KMS_PENDING_IMPORT)
            em_json_add_time(j, "importTime", v->import_ns);
        cJSON_AddTrueToObject(j, "reimportEligible");
    }
    if (v->state == KMS_IMPORT_FAILED)
        cJSON_AddStringToObject(j, "importFailureReason", v->failure_reason);
    if (v->state == KMS_EXTERNAL_DESTRUCTION_FAILED) {
        em_json_add_time(j, "destroyTime", v->destroy_ns);
        cJSON_AddStringToObject(j, "externalDestructionFailureReason", v->failure_reason);
    }
    if (v->external_key[0]) {
        cJSON *options = cJSON_AddObjectToObject(j, "externalProtectionLevelOptions");
        cJSON_AddStringToObject(
            options, v->protection == KMS_EXTERNAL_VPC ? "ekmConnectionKeyPath" : "externalKeyUri",
            v->external_key);
    }
    return j;
}

static void add_labels(cJSON *j, const char *labels_json)
{
    cJSON *labels = cJSON_Parse(labels_json);
    if (cJSON_IsObject(labels) && cJSON_GetArraySize(labels) > 0)
        cJSON_AddItemToObject(j, "labels", labels);
    else
        cJSON_Delete(labels);
}

cJSON *kms_json_key(const struct kms_key *key)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", key->name);
    const struct kms_version *primary = kms_version_find(key, key->primary);
    if (key->purpose == KMS_ENCRYPT_DECRYPT && primary)
        cJSON_AddItemToObject(j, "primary", kms_json_version(key, primary));
    cJSON_AddStringToObject(j, "purpose", kms_purpose_name(key->purpose));
    em_json_add_time(j, "createTime", key->create_ns);
    if (key->next_rotation_ns)
        em_json_add_time(j, "nextRotationTime", key->next_rotation_ns);
    if (key->rotation_period_ns)
        em_json_add_duration(j, "rotationPeriod", key->rotation_period_ns);
    cJSON *tmpl = cJSON_AddObjectToObject(j, "versionTemplate");
    cJSON_AddStringToObject(tmpl, "protectionLevel", kms_protection_name(key->template_protection));
    cJSON_AddStringToObject(tmpl, "algorithm", key->template_alg->name);
    add_labels(j, key->labels_json);
    if (key->import_only)
        cJSON_AddTrueToObject(j, "importOnly");
    em_json_add_duration(j, "destroyScheduledDuration", key->destroy_scheduled_ns);
    if (key->backend[0])
        cJSON_AddStringToObject(j, "cryptoKeyBackend", key->backend);
    if (key->kaj_policy != KMS_KAJ_NO_POLICY)
        cJSON_AddItemToObject(j, "keyAccessJustificationsPolicy",
                              kms_kaj_policy_json(key->kaj_policy));
    return j;
}

cJSON *kms_json_location(const char *project, const char *location_id, const char *display_name)
{
    char name[300];
    snprintf(name, sizeof(name), "projects/%s/locations/%s", project, location_id);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON_AddStringToObject(j, "locationId", location_id);
    cJSON_AddStringToObject(j, "displayName", display_name);
    cJSON *meta = cJSON_AddObjectToObject(j, "metadata");
    cJSON_AddStringToObject(meta, "@type",
                            "type.googleapis.com/google.cloud.kms.v1.LocationMetadata");
    cJSON_AddTrueToObject(meta, "hsmAvailable");
    cJSON_AddBoolToObject(meta, "ekmAvailable", kms_ekm_available(location_id, KMS_EXTERNAL));
    return j;
}

/* --- query parameters that bind enums --- */

enum em_code kms_json_public_key_format(const char *text, enum kms_key_format *format,
                                        struct em_status *st)
{
    int number;
    if (em_schema_query_enum("publicKeyFormat", text, &public_key_format_enum, &number, st))
        return st->code;
    *format = (enum kms_key_format)number; /* kms.h numbers them as the proto does */
    return EM_OK;
}

enum em_code kms_json_version_view(const char *param, const char *text, struct em_status *st)
{
    int number;
    return em_schema_query_enum(param, text, &version_view_enum, &number, st);
}

/* --- JSON -> model --- */

#define KAJ_FIELD       "keyAccessJustificationsPolicy"
#define KAJ_FIELD_PROTO "crypto_key.key_access_justifications_policy"

static enum em_code read_duration(const cJSON *obj, const char *field, int64_t *out)
{
    const char *text = em_json_string(obj, field);
    *out = 0;
    if (text)
        em_duration_parse(text, out); /* the schema already checked the format */
    return EM_OK;
}

static enum em_code read_time(const cJSON *obj, const char *field, int64_t *out)
{
    const char *text = em_json_string(obj, field);
    *out = 0;
    if (text)
        em_time_parse(text, out);
    return EM_OK;
}

enum em_code kms_json_key_spec(const cJSON *body, struct kms_key_spec *spec, char **labels_json,
                               struct em_status *st)
{
    memset(spec, 0, sizeof(*spec));
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(body, "versionTemplate");
    spec->purpose = em_json_string(body, "purpose");
    spec->algorithm = em_json_string(tmpl, "algorithm");
    spec->protection = em_json_string(tmpl, "protectionLevel");
    read_duration(body, "rotationPeriod", &spec->rotation_period_ns);
    read_time(body, "nextRotationTime", &spec->next_rotation_ns);
    read_duration(body, "destroyScheduledDuration", &spec->destroy_scheduled_ns);
    em_json_bool(body, "importOnly", &spec->import_only);
    spec->backend = em_json_string(body, "cryptoKeyBackend");
    if (kms_kaj_policy_read(cJSON_GetObjectItemCaseSensitive(body, KAJ_FIELD), KAJ_FIELD_PROTO,
                            &spec->kaj_policy, st) ||
        em_labels_read(body, labels_json, st))
        return st->code;
    spec->labels_json = *labels_json;
    return EM_OK;
}

void kms_json_external_options(const cJSON *body, const char **uri, const char **path)
{
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(body, "externalProtectionLevelOptions");
    *uri = em_json_string(options, "externalKeyUri");
    *path = em_json_string(options, "ekmConnectionKeyPath");
}

struct mask_read {
    const cJSON *body;
    struct kms_key_update *update;
};

/* Applies one updateMask path (camelCase or snake_case). */
static enum em_code read_mask_path(const char *path, void *arg, struct em_status *st)
{
    const cJSON *body = ((struct mask_read *)arg)->body;
    struct kms_key_update *u = ((struct mask_read *)arg)->update;
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(body, "versionTemplate");
    if (em_mask_path_is(path, "labels")) {
        u->mask |= KMS_FIELD_LABELS;
    } else if (em_mask_path_is(path, "rotationPeriod")) {
        u->mask |= KMS_FIELD_ROTATION_PERIOD;
        read_duration(body, "rotationPeriod", &u->rotation_period_ns);
    } else if (em_mask_path_is(path, "nextRotationTime")) {
        u->mask |= KMS_FIELD_NEXT_ROTATION;
        read_time(body, "nextRotationTime", &u->next_rotation_ns);
    } else if (em_mask_path_is(path, "versionTemplate.algorithm")) {
        u->mask |= KMS_FIELD_TEMPLATE_ALGORITHM;
        u->algorithm = em_json_string(tmpl, "algorithm");
    } else if (em_mask_path_is(path, "versionTemplate.protectionLevel")) {
        u->mask |= KMS_FIELD_TEMPLATE_PROTECTION;
    } else if (em_mask_path_is(path, KAJ_FIELD)) {
        u->mask |= KMS_FIELD_KAJ_POLICY; /* absent from the body: the policy goes */
        return kms_kaj_policy_read(cJSON_GetObjectItemCaseSensitive(body, KAJ_FIELD),
                                   KAJ_FIELD_PROTO, &u->kaj_policy, st);
    } else {
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "update_mask path \"%.100s\" cannot be updated on a CryptoKey (allowed: "
                       "labels, rotation_period, next_rotation_time, version_template.algorithm, "
                       "key_access_justifications_policy).",
                       path);
    }
    return EM_OK;
}

enum em_code kms_json_key_update(const cJSON *body, const char *update_mask,
                                 struct kms_key_update *update, char **labels_json,
                                 struct em_status *st)
{
    memset(update, 0, sizeof(*update));
    *labels_json = NULL;
    struct mask_read read = {body, update};
    size_t count;
    if (em_mask_each(update_mask, read_mask_path, &read, &count, st))
        return st->code;
    if (count == 0)
        return KMS_ERR_UPDATE_MASK_REQUIRED(st);
    if (update->mask & KMS_FIELD_LABELS && em_labels_read(body, labels_json, st))
        return st->code;
    update->labels_json = *labels_json;
    return EM_OK;
}

/* --- Autokey (google.cloud.kms.v1.AutokeyConfig, KeyHandle) --- */

cJSON *kms_json_autokey_config(const struct kms_autokey_config *config)
{
    cJSON *json = cJSON_CreateObject();
    char name[64];
    snprintf(name, sizeof(name), "folders/%s/autokeyConfig", config->folder);
    cJSON_AddStringToObject(json, "name", name);
    if (*config->key_project)
        cJSON_AddStringToObject(json, "keyProject", config->key_project);
    cJSON_AddStringToObject(json, "state", *config->key_project ? "ACTIVE" : "UNINITIALIZED");
    if (*config->etag)
        cJSON_AddStringToObject(json, "etag", config->etag);
    return json;
}

cJSON *kms_json_key_handle(const struct kms_key_handle *handle)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", handle->name);
    cJSON_AddStringToObject(json, "kmsKey", handle->kms_key);
    cJSON_AddStringToObject(json, "resourceTypeSelector", handle->resource_type_selector);
    return json;
}
