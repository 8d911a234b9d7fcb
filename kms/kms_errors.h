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

/* UNIMPLEMENTED: a protection level this emulator has no key manager for. */
#define KMS_ERR_PROTECTION_UNSUPPORTED(st, level)                                                  \
    EM_FAIL((st), EM_UNIMPLEMENTED,                                                                \
            "Protection level %s is not supported by this emulator (it needs an external key "     \
            "manager).",                                                                           \
            (level))

#endif
