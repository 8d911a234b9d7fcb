/*
 * kms_json: JSON <-> the KMS model, and the request-body schemas of the KMS API.
 */
#ifndef KMS_JSON_H
#define KMS_JSON_H

#include "em_schema.h"
#include "kms.h"
#include "kms_autokey.h"

#include <cjson/cJSON.h>

extern const struct em_message kms_key_ring_schema;
extern const struct em_message kms_crypto_key_schema;
extern const struct em_message kms_version_schema;
extern const struct em_message kms_encrypt_schema;
extern const struct em_message kms_decrypt_schema;
extern const struct em_message kms_asymmetric_sign_schema;
extern const struct em_message kms_asymmetric_decrypt_schema;
extern const struct em_message kms_mac_sign_schema;
extern const struct em_message kms_mac_verify_schema;
extern const struct em_message kms_random_bytes_schema;
extern const struct em_message kms_update_primary_schema;
extern const struct em_message kms_import_job_schema;
extern const struct em_message kms_raw_encrypt_schema;
extern const struct em_message kms_raw_decrypt_schema;
extern const struct em_message kms_import_request_schema;

/* Replies with enums (the others are answered as they are). */
extern const struct em_message kms_list_keys_reply;
extern const struct em_message kms_list_versions_reply;
extern const struct em_message kms_public_key_reply;
extern const struct em_message kms_crypto_reply;
extern const struct em_message kms_list_import_jobs_reply;

cJSON *kms_json_key_ring(const struct kms_key_ring *ring);
cJSON *kms_json_version(const struct kms_key *key, const struct kms_version *v);
cJSON *kms_json_key(const struct kms_key *key);
/* An ImportJob as it stands at now (ACTIVE, or EXPIRED from its expireTime on). */
cJSON *kms_json_import_job(const struct kms_import_job *job, int64_t now);
cJSON *kms_json_location(const char *project, const char *location_id, const char *display_name);
/* GetPublicKey's reply for version v named name: without a format, key (PEM text) in pem
 * and pemCrc32c; with one, key (len bytes in that format) in publicKey.data with its
 * crc32cChecksum, and publicKeyFormat. name, algorithm and protectionLevel always. */
cJSON *kms_json_public_key(const char *name, const struct kms_version *v,
                           enum kms_key_format format, const unsigned char *key, size_t len);

/* Query parameters that bind enums, by name or proto number as Google binds them (absent
 * or empty: the enum's 0). A value the enum lacks is INVALID_ARGUMENT in Google's words:
 *   Invalid value at 'public_key_format' (type.googleapis.com/...PublicKeyFormat), "X"
 * publicKeyFormat (GetPublicKey) into format; versionView (ListCryptoKeys) or view
 * (ListCryptoKeyVersions), named by param, only checked: FULL adds a version's
 * attestation, which this emulator's versions do not have, so both views answer alike. */
enum em_code kms_json_public_key_format(const char *text, enum kms_key_format *format,
                                        struct em_status *st);
enum em_code kms_json_version_view(const char *param, const char *text, struct em_status *st);

/* Reads a CryptoKey body into spec (strings point into body). */
/* A CryptoKeyVersion body's externalProtectionLevelOptions: externalKeyUri and
 * ekmConnectionKeyPath (NULL when absent; the schema checked their types). */
void kms_json_external_options(const cJSON *body, const char **uri, const char **path);
enum em_code kms_json_key_spec(const cJSON *body, struct kms_key_spec *spec, char **labels_json,
                               struct em_status *st);

/* Reads a CryptoKey patch: updateMask paths into update (strings point into body). */
enum em_code kms_json_key_update(const cJSON *body, const char *update_mask,
                                 struct kms_key_update *update, char **labels_json,
                                 struct em_status *st);

/* Autokey: google.cloud.kms.v1.AutokeyConfig (state UNINITIALIZED without a key project)
 * and KeyHandle. */
cJSON *kms_json_autokey_config(const struct kms_autokey_config *config);
cJSON *kms_json_key_handle(const struct kms_key_handle *handle);

#endif
