/*
 * kms_errors.h: the catalogue of Cloud KMS's error messages that more than one place
 * sends, in Google's wording (integration tests and gcloud compare them: change a message
 * here only to follow Google).
 *
 * Each constructor is a macro over EM_FAIL, so the status records the caller's file and
 * line, not this header's; each returns the code it sets:
 *     return KMS_ERR_KEY_RING_NOT_FOUND(st, name);
 * A message sent from one place only stays next to the check that sends it.
 *
 * Google reference: https://cloud.google.com/kms/docs/reference/rest
 */
#ifndef KMS_ERRORS_H
#define KMS_ERRORS_H

#include "em_status.h"

/* INVALID_ARGUMENT: a resource name that is not a KMS name. */
#define KMS_ERR_INVALID_NAME(st, name)                                                             \
    EM_FAIL((st), EM_INVALID_ARGUMENT, "Invalid resource name \"%.200s\".", (name))

/* INVALID_ARGUMENT: a patch without an update mask. */
#define KMS_ERR_UPDATE_MASK_REQUIRED(st)                                                           \
    EM_FAIL((st), EM_INVALID_ARGUMENT, "update_mask is required.")

/* NOT_FOUND: the key ring, crypto key or version the request names does not exist. */
#define KMS_ERR_KEY_RING_NOT_FOUND(st, name)                                                       \
    EM_FAIL((st), EM_NOT_FOUND, "KeyRing %s not found.", (name))
#define KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name)                                                     \
    EM_FAIL((st), EM_NOT_FOUND, "CryptoKey %s not found.", (name))
#define KMS_ERR_VERSION_NOT_FOUND(st, name)                                                        \
    EM_FAIL((st), EM_NOT_FOUND, "CryptoKeyVersion %.400s not found.", (name))
/* the same, for version id of the key named key_name */
#define KMS_ERR_VERSION_ID_NOT_FOUND(st, key_name, id)                                             \
    EM_FAIL((st), EM_NOT_FOUND, "CryptoKeyVersion %s/cryptoKeyVersions/%u not found.", (key_name), \
            (id))

/* UNIMPLEMENTED: a protection level this emulator does not know. */
#define KMS_ERR_PROTECTION_UNSUPPORTED(st, level)                                                  \
    EM_FAIL((st), EM_UNIMPLEMENTED, "Protection level %s is not supported by this emulator.",      \
            (level))

/* INVALID_ARGUMENT: a ciphertext that does not decrypt with the key named. */
#define KMS_ERR_DECRYPTION_FAILED(st)                                                              \
    EM_FAIL((st), EM_INVALID_ARGUMENT,                                                             \
            "Decryption failed: verify that 'name' refers to the correct CryptoKey.")

/* Cloud EKM's messages (kms/docs/reference/ekm_errors), sent through kms_ekm_fail with
 * their error domain: UNREACHABLE_NETWORK, EXTERNAL_PERMISSION_DENIED, EXTERNAL_NOT_FOUND,
 * EXTERNAL_KEY_URI_INVALID, TLS_CERT, DECRYPTION_FAILED. */
#define KMS_EKM_UNREACHABLE       "Could not reach the EKM host due to an external networking error."
#define KMS_EKM_DENIED            "Permission was denied when accessing the key."
#define KMS_EKM_NOT_FOUND         "Could not find a key."
#define KMS_EKM_URI_INVALID       "Key URI has invalid format."
#define KMS_EKM_TLS_CERT          "Could not validate the TLS server certificate for the EKM host."
#define KMS_EKM_DECRYPTION_FAILED "Decryption failed: The EKM reports that decryption failed."

#endif
