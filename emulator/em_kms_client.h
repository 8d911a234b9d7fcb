/*
 * em_kms_client: how services call Cloud KMS: over its REST API (libcurl), exactly as
 * Google's service agents do, never by reading KMS tables. That is what makes outages
 * real: stop the KMS process, or inject kmsUnreachable (em_faults), and every dependent
 * service sees it.
 *
 * Each call names the principal it acts as (a service agent, sent as the bearer token)
 * and the resource it acts for (sent as X-Emulator-Caller, recorded in KMS's audit log),
 * and carries the internal credential (em_trust.h), without which KMS honours neither.
 * A call also says why it uses the key, as a Key Access Justifications reason (sent as
 * X-Emulator-Access-Reason; KMS checks it against the key's policy and records it): NULL
 * for a call made for a customer's request (CUSTOMER_INITIATED_ACCESS, KMS's default),
 * EM_KMS_SYSTEM_OPERATION for what the CMEK engine does on its own (key checks, re-wrapping
 * after a rotation), as Google's documentation describes key health checks.
 * Connections are kept alive per thread; a call times out after a few seconds.
 *
 * Results tell "KMS said no" apart from "KMS could not be reached":
 *   EM_KMS_OK           the call succeeded
 *   EM_KMS_DENIED       KMS answered with an error (4xx): disabled or destroyed version,
 *                       missing key, permission denied, bad ciphertext ...
 *   EM_KMS_UNREACHABLE  connection refused, timeout, 5xx, or the kmsUnreachable fault
 */
#ifndef EM_KMS_CLIENT_H
#define EM_KMS_CLIENT_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>

struct em_config;

enum em_kms_result { EM_KMS_OK, EM_KMS_DENIED, EM_KMS_UNREACHABLE };

#define EM_KMS_SYSTEM_OPERATION "GOOGLE_INITIATED_SYSTEM_OPERATION"

struct em_kms_reply {
    enum em_kms_result result;
    enum em_code code; /* EM_OK, KMS's error code when DENIED, UNAVAILABLE otherwise */
    char message[EM_STATUS_MESSAGE_MAX]; /* KMS's error message, or what went wrong */
    char key_version[512];               /* encrypt: the version KMS used */
    bool used_primary;                   /* decrypt: whether the primary version decrypted it */
    unsigned char *data;                 /* ciphertext (encrypt) or plaintext (decrypt), malloc'd */
    size_t data_len;
};

/* Frees reply->data (wiping it). */
void em_kms_reply_clear(struct em_kms_reply *reply);

/* Sets the KMS base URL from the configuration (http://<host>:<port base + 1>). */
void em_kms_client_init(const struct em_config *cfg);

/* One encrypt call. aad and reason may be NULL. */
enum em_kms_result em_kms_encrypt(const char *key_name, const char *principal, const char *caller,
                                  const char *reason, const void *plaintext, size_t len,
                                  const void *aad, size_t aad_len, struct em_kms_reply *reply);

/* Many decrypts at once, up to `parallel` in flight (key checks of many resources). */
struct em_kms_decrypt_job {
    const char *key_name, *principal, *caller;
    const void *ciphertext, *aad;
    size_t len, aad_len;
    const char *reason;        /* NULL: the caller's own access (see above) */
    struct em_kms_reply reply; /* filled */
};
void em_kms_decrypt_many(struct em_kms_decrypt_job *jobs, size_t count, int parallel);

#endif
