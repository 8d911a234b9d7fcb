/*
 * kms_external: Cloud EKM inside KMS's calls (README, "Cloud EKM"). An EXTERNAL or
 * EXTERNAL_VPC version has two keys, as Google's: its own material (KMS's "internal" key)
 * and a key in the customer's external key manager, here the simulated EKM (em_ekm.h),
 * reached at an address:
 *
 *   EXTERNAL       the version's externalKeyUri ("https://ekm.example.com/v0/keys/k1")
 *   EXTERNAL_VPC   "https://<hostname>/<ekmConnectionKeyPath>", the hostname being the
 *                  first service resolver's of the key's EKM connection (cryptoKeyBackend)
 *
 * Encrypt seals the plaintext under the EKM's key, then KMS's ciphertext format seals that
 * under the version's own material; decrypt undoes both. Every call reaches the EKM, and
 * what stops it is answered in Cloud EKM's words (kms/docs/reference/ekm_errors):
 * FAILED_PRECONDITION with a google.rpc.PreconditionFailure whose second violation's type
 * is the error domain:
 *
 *   the ekmUnreachable fault         "Could not reach the EKM host due to an external
 *                                    networking error."                UNREACHABLE_NETWORK
 *   the EKM's key disabled           "Permission was denied when accessing the key."
 *                                    EXTERNAL_PERMISSION_DENIED; Cloud EKM then disables
 *                                    the key version too, and so does this file
 *   the EKM's key destroyed          "Could not find a key."            EXTERNAL_NOT_FOUND
 *   the EKM's seal does not open     INVALID_ARGUMENT "Decryption failed: The EKM reports
 *                                    that decryption failed."           DECRYPTION_FAILED
 *
 * A new version reaches the EKM too (Google creates none when it cannot), and a URI that
 * is not https://host/path is "Key URI has invalid format." (EXTERNAL_KEY_URI_INVALID).
 */
#ifndef KMS_EXTERNAL_H
#define KMS_EXTERNAL_H

#include "em_call.h"
#include "kms.h"

struct kms_ctx;

/* CreateCryptoKey: the cryptoKeyBackend of spec, checked (an EKM connection of the key's
 * project and location, managed manually) or, for an EXTERNAL_VPC key without one, the
 * location's default connection (ekmConfig), written into backend. */
enum em_code kms_external_resolve_backend(struct em_call *call, const char *key_name,
                                          const struct kms_key_spec *spec, char *backend,
                                          size_t len);

/* CreateCryptoKeyVersion of an external key: the externalProtectionLevelOptions of the
 * request's body checked against the key's protection level, and the EKM reached for
 * the key they name (made there when the EKM has none). *external_key points into the
 * body; NULL for a key of another protection level, whose versions name none. */
enum em_code kms_external_new_version(struct em_call *call, const char *key_name,
                                      const char **external_key);

/* Encrypt and decrypt with a held external version (usable: the caller checked). out
 * must hold kms_external_ciphertext_size(len) bytes to encrypt, len bytes to decrypt. */
size_t kms_external_ciphertext_size(size_t plaintext_len);
enum em_code kms_external_encrypt(struct em_call *call, const struct kms_version_ref *ref,
                                  const unsigned char *aad, size_t aad_len,
                                  const unsigned char *plaintext, size_t len, unsigned char *out);
enum em_code kms_external_decrypt(struct em_call *call, const struct kms_version_ref *ref,
                                  const unsigned char *aad, size_t aad_len,
                                  const unsigned char *ciphertext, size_t len, unsigned char *out,
                                  size_t *plaintext_len);

#endif
