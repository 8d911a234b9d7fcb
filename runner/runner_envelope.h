/*
 * runner_envelope: the envelope transforms of seed 002, DecryptEnvelope and
 * VerifySignature (docs/pipelines.md, "Envelope messages"), and the cache of unwrapped
 * keys they share within a job.
 *
 * An envelope-encrypted message (what bin/emulator-produce publishes):
 *   data        nonce (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes), no AAD,
 *               under a 32-byte data encryption key (DEK)
 *   attributes  kms_keyname  the Cloud KMS key that wrapped the DEK
 *                            (projects/P/locations/L/keyRings/R/cryptoKeys/K)
 *               dek_wrapped  base64 of KMS's ciphertext of the DEK
 * A signed message:
 *   data        the text as is
 *   attributes  kms_key           the Cloud KMS key that wrapped the signing key
 *               sign_key_wrapped  base64 of KMS's ciphertext of a 32-byte HMAC key
 *               signature         base64 of HMAC-SHA256(signing key, data)
 *
 * Wrapped keys are unwrapped by Cloud KMS's :decrypt over REST (em_kms_client: the
 * internal credential, the job's worker service account as principal, the job's name
 * as caller, so KMS's audit log names the job). Unwrapped keys are cached: at most
 * RN_DEK_CACHE_ENTRIES, each for RN_DEK_CACHE_TTL_S seconds of emulator time after it
 * was unwrapped, so a disabled key stops decrypting within that time. A message that
 * cannot be decrypted or verified goes to the step's dead-letter output with two
 * attributes: "error" (a sentence) and "error_reason" (KEY_NOT_FOUND, KEY_DISABLED,
 * PERMISSION_DENIED, BAD_ENVELOPE, BAD_WRAPPED_KEY, BAD_TAG, BAD_SIGNATURE). When KMS
 * cannot be reached, nothing is decided: the engine retries the whole bundle later, as
 * Beam retries a bundle whose DoFn raised.
 */
#ifndef RUNNER_ENVELOPE_H
#define RUNNER_ENVELOPE_H

#include "runner_elements.h"

#include "em_crypto.h"
#include "em_status.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define RN_DEK_CACHE_ENTRIES 100
#define RN_DEK_CACHE_TTL_S   200
#define RN_HMAC_BYTES        32

/* --- the attributes of a message --- */

enum rn_envelope_kind { RN_ENVELOPE_ENCRYPTED, RN_ENVELOPE_SIGNED };

struct rn_envelope_attrs {
    const char *key_name;    /* kms_keyname / kms_key (points into the attributes) */
    const char *wrapped_b64; /* dek_wrapped / sign_key_wrapped (points into the attributes) */
    unsigned char *wrapped;  /* decoded (malloc'd) */
    size_t wrapped_len;
    unsigned char signature[RN_HMAC_BYTES]; /* signed messages */
};

/* Reads and checks the envelope attributes of a message; false with a reason (static
 * text) when one is missing or malformed. Free with rn_envelope_attrs_clear. */
bool rn_envelope_attrs_parse(enum rn_envelope_kind kind, const cJSON *attrs,
                             struct rn_envelope_attrs *out, const char **reason);
void rn_envelope_attrs_clear(struct rn_envelope_attrs *a);

/* data (nonce || ciphertext || tag) opened with dek into a NUL-terminated text
 * (malloc'd); NULL when too short, the tag does not match, or the plaintext holds a NUL. */
char *rn_envelope_open(const unsigned char dek[EM_AES_KEY_BYTES], const unsigned char *data,
                       size_t len);

/* Whether signature is HMAC-SHA256(key, data) (compared in constant time). */
bool rn_signature_valid(const unsigned char key[EM_AES_KEY_BYTES], const void *data, size_t len,
                        const unsigned char signature[RN_HMAC_BYTES]);
/* HMAC-SHA256(key, data) into out (the producer signs with it). */
void rn_signature_make(const unsigned char key[EM_AES_KEY_BYTES], const void *data, size_t len,
                       unsigned char out[RN_HMAC_BYTES]);

/* --- the cache of unwrapped keys (times in emulator nanoseconds) --- */

struct rn_dek_entry {
    char *id; /* "<key name>\n<wrapped base64>", NULL for a free slot */
    unsigned char dek[EM_AES_KEY_BYTES];
    int64_t expires_ns;
    int64_t used_ns; /* the least recently used entry goes first when the cache is full */
};

struct rn_dek_cache {
    struct rn_dek_entry entries[RN_DEK_CACHE_ENTRIES];
    int64_t ttl_ns;
};

void rn_dek_cache_init(struct rn_dek_cache *c);
/* Wipes and frees every entry. */
void rn_dek_cache_clear(struct rn_dek_cache *c);
/* The key unwrapped from (key_name, wrapped_b64) if cached and not expired at now. */
bool rn_dek_cache_get(struct rn_dek_cache *c, const char *key_name, const char *wrapped_b64,
                      int64_t now, unsigned char dek[EM_AES_KEY_BYTES]);
/* Caches a key until now + ttl (replacing an expired, else the least recently used,
 * entry when full). False when memory ran out. */
bool rn_dek_cache_put(struct rn_dek_cache *c, const char *key_name, const char *wrapped_b64,
                      int64_t now, const unsigned char dek[EM_AES_KEY_BYTES]);
/* How many unexpired entries the cache holds at now. */
int rn_dek_cache_size(const struct rn_dek_cache *c, int64_t now);

/* --- the transforms --- */

/* How a wrapped key is unwrapped: the KMS call, or a test's stand-in. On failure it sets
 * *reason_code (one of the error_reason names) and a sentence in message. */
typedef bool (*rn_unwrap_fn)(void *arg, const char *key_name, const unsigned char *wrapped,
                             size_t wrapped_len, unsigned char dek[EM_AES_KEY_BYTES],
                             const char **reason_code, char *message, size_t message_len);

struct rn_envelope {
    pthread_mutex_t lock; /* the cache */
    struct rn_dek_cache cache;
    rn_unwrap_fn unwrap;
    void *unwrap_arg;
    char principal[256]; /* the KMS unwrap: who calls (the job's worker service account) */
    char caller[512];    /* and for which resource (the job) */
    int64_t unwraps;     /* KMS calls made (tests, metrics) */
};

/* A context that unwraps through Cloud KMS as principal for caller. NULL when memory ran
 * out. */
struct rn_envelope *rn_envelope_new(const char *principal, const char *caller);
void rn_envelope_free(struct rn_envelope *env);

enum rn_envelope_result {
    RN_ENVELOPE_DONE,  /* the element went to out or failed */
    RN_ENVELOPE_OOM,   /* memory ran out */
    RN_ENVELOPE_RETRY, /* KMS unreachable: nothing output, retry the bundle later */
};

/* Applies a DecryptEnvelope or VerifySignature step to one element at emulator time now:
 * the decrypted text (envelope attributes removed) or the verified element to out, a
 * copy with the reason to failed. */
enum rn_envelope_result rn_envelope_apply(struct rn_envelope *env, const struct rn_step *step,
                                          const struct rn_elem *in, int64_t now,
                                          struct rn_batch *out, struct rn_batch *failed);

#endif
