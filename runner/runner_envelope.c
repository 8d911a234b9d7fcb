/*
 * runner_envelope: DecryptEnvelope and VerifySignature, the attribute format they read,
 * and the expiring cache of keys unwrapped through Cloud KMS (see runner_envelope.h).
 */
#include "runner_envelope.h"

#include "em_json.h"
#include "em_kms_client.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRAPPED_MAX 4096 /* a KMS ciphertext of a 32-byte key is far smaller */

/* --- attributes --- */

/* projects/P/locations/L/keyRings/R/cryptoKeys/K, nothing more. */
static bool key_name_valid(const char *name)
{
    const char *const parts[] = {"projects", "locations", "keyRings", "cryptoKeys"};
    const char *p = name;
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(parts[i]);
        if (strncmp(p, parts[i], n) != 0 || p[n] != '/')
            return false;
        p += n + 1;
        const char *slash = strchr(p, '/');
        size_t id_len = slash ? (size_t)(slash - p) : strlen(p);
        if (id_len == 0 || (i < 3) != (slash != NULL))
            return false;
        p += id_len + (slash ? 1 : 0);
    }
    return true;
}

static const char *attr(const cJSON *attrs, const char *name)
{
    const char *value = em_json_string(attrs, name);
    return value && *value ? value : NULL;
}

bool rn_envelope_attrs_parse(enum rn_envelope_kind kind, const cJSON *attrs,
                             struct rn_envelope_attrs *out, const char **reason)
{
    bool signed_kind = kind == RN_ENVELOPE_SIGNED;
    memset(out, 0, sizeof(*out));
    out->key_name = attr(attrs, signed_kind ? "kms_key" : "kms_keyname");
    out->wrapped_b64 = attr(attrs, signed_kind ? "sign_key_wrapped" : "dek_wrapped");
    if (!out->key_name || !out->wrapped_b64) {
        *reason = signed_kind ? "attributes kms_key and sign_key_wrapped are required"
                              : "attributes kms_keyname and dek_wrapped are required";
        return false;
    }
    if (!key_name_valid(out->key_name)) {
        *reason = "the key attribute is not a Cloud KMS key name "
                  "(projects/P/locations/L/keyRings/R/cryptoKeys/K)";
        return false;
    }
    size_t len = strlen(out->wrapped_b64);
    if (len > WRAPPED_MAX ||
        !em_b64_decode(out->wrapped_b64, len, &out->wrapped, &out->wrapped_len) ||
        out->wrapped_len == 0) {
        rn_envelope_attrs_clear(out);
        *reason = "the wrapped key attribute is not base64";
        return false;
    }
    if (!signed_kind)
        return true;
    const char *sig = attr(attrs, "signature");
    unsigned char *bytes = NULL;
    size_t sig_len = 0;
    bool ok = sig && em_b64_decode(sig, strlen(sig), &bytes, &sig_len) && sig_len == RN_HMAC_BYTES;
    if (ok)
        memcpy(out->signature, bytes, RN_HMAC_BYTES);
    free(bytes);
    if (!ok) {
        rn_envelope_attrs_clear(out);
        *reason = "attribute signature must be the base64 of a 32-byte HMAC-SHA256";
    }
    return ok;
}

void rn_envelope_attrs_clear(struct rn_envelope_attrs *a)
{
    free(a->wrapped);
    a->wrapped = NULL;
    a->wrapped_len = 0;
}

/* --- AES-GCM and HMAC --- */

char *rn_envelope_open(const unsigned char dek[EM_AES_KEY_BYTES], const unsigned char *data,
                       size_t len)
{
    if (len < EM_SEAL_OVERHEAD)
        return NULL;
    size_t text_len = len - EM_SEAL_OVERHEAD;
    char *text = malloc(text_len + 1);
    if (!text)
        return NULL;
    if (!em_open(dek, NULL, 0, data, len, (unsigned char *)text) || memchr(text, '\0', text_len)) {
        em_wipe(text, text_len);
        free(text);
        return NULL;
    }
    text[text_len] = '\0';
    return text;
}

void rn_signature_make(const unsigned char key[EM_AES_KEY_BYTES], const void *data, size_t len,
                       unsigned char out[RN_HMAC_BYTES])
{
    unsigned int out_len = RN_HMAC_BYTES;
    if (!HMAC(EVP_sha256(), key, EM_AES_KEY_BYTES, data, len, out, &out_len))
        memset(out, 0, RN_HMAC_BYTES);
}

bool rn_signature_valid(const unsigned char key[EM_AES_KEY_BYTES], const void *data, size_t len,
                        const unsigned char signature[RN_HMAC_BYTES])
{
    unsigned char expected[RN_HMAC_BYTES];
    rn_signature_make(key, data, len, expected);
    return CRYPTO_memcmp(expected, signature, RN_HMAC_BYTES) == 0;
}

/* --- the cache --- */

void rn_dek_cache_init(struct rn_dek_cache *c)
{
    memset(c, 0, sizeof(*c));
    c->ttl_ns = (int64_t)RN_DEK_CACHE_TTL_S * EM_NS_PER_SEC;
}

static void entry_clear(struct rn_dek_entry *e)
{
    free(e->id);
    em_wipe(e, sizeof(*e));
}

void rn_dek_cache_clear(struct rn_dek_cache *c)
{
    for (int i = 0; i < RN_DEK_CACHE_ENTRIES; i++)
        entry_clear(&c->entries[i]);
}

static bool entry_is(const struct rn_dek_entry *e, const char *key_name, const char *wrapped_b64)
{
    size_t n = strlen(key_name);
    return e->id && strncmp(e->id, key_name, n) == 0 && e->id[n] == '\n' &&
           strcmp(e->id + n + 1, wrapped_b64) == 0;
}

bool rn_dek_cache_get(struct rn_dek_cache *c, const char *key_name, const char *wrapped_b64,
                      int64_t now, unsigned char dek[EM_AES_KEY_BYTES])
{
    for (int i = 0; i < RN_DEK_CACHE_ENTRIES; i++) {
        struct rn_dek_entry *e = &c->entries[i];
        if (!entry_is(e, key_name, wrapped_b64))
            continue;
        if (now >= e->expires_ns) {
            entry_clear(e);
            return false;
        }
        e->used_ns = now;
        memcpy(dek, e->dek, EM_AES_KEY_BYTES);
        return true;
    }
    return false;
}

/* A free or expired slot, else the least recently used one. */
static struct rn_dek_entry *slot_for_new(struct rn_dek_cache *c, int64_t now)
{
    struct rn_dek_entry *oldest = &c->entries[0];
    for (int i = 0; i < RN_DEK_CACHE_ENTRIES; i++) {
        struct rn_dek_entry *e = &c->entries[i];
        if (!e->id || now >= e->expires_ns)
            return e;
        if (e->used_ns < oldest->used_ns)
            oldest = e;
    }
    return oldest;
}

bool rn_dek_cache_put(struct rn_dek_cache *c, const char *key_name, const char *wrapped_b64,
                      int64_t now, const unsigned char dek[EM_AES_KEY_BYTES])
{
    size_t len = strlen(key_name) + strlen(wrapped_b64) + 2;
    char *id = malloc(len);
    if (!id)
        return false;
    snprintf(id, len, "%s\n%s", key_name, wrapped_b64);
    struct rn_dek_entry *e = slot_for_new(c, now);
    entry_clear(e);
    e->id = id;
    memcpy(e->dek, dek, EM_AES_KEY_BYTES);
    e->expires_ns = now + c->ttl_ns;
    e->used_ns = now;
    return true;
}

int rn_dek_cache_size(const struct rn_dek_cache *c, int64_t now)
{
    int n = 0;
    for (int i = 0; i < RN_DEK_CACHE_ENTRIES; i++)
        n += c->entries[i].id && now < c->entries[i].expires_ns;
    return n;
}

/* --- unwrapping through Cloud KMS --- */

static const char *reason_of_kms(enum em_code code)
{
    switch (code) {
    case EM_NOT_FOUND:
        return "KEY_NOT_FOUND";
    case EM_FAILED_PRECONDITION:
        return "KEY_DISABLED";
    case EM_PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    default:
        return "BAD_WRAPPED_KEY";
    }
}

static bool kms_unwrap(void *arg, const char *key_name, const unsigned char *wrapped,
                       size_t wrapped_len, unsigned char dek[EM_AES_KEY_BYTES],
                       const char **reason_code, char *message, size_t message_len)
{
    struct rn_envelope *env = arg;
    struct em_kms_decrypt_job job = {.key_name = key_name,
                                     .principal = env->principal,
                                     .caller = env->caller,
                                     .ciphertext = wrapped,
                                     .len = wrapped_len};
    em_kms_decrypt_many(&job, 1, 1);
    bool ok = job.reply.result == EM_KMS_OK && job.reply.data_len == EM_AES_KEY_BYTES;
    if (ok) {
        memcpy(dek, job.reply.data, EM_AES_KEY_BYTES);
    } else if (job.reply.result == EM_KMS_OK) {
        *reason_code = "BAD_WRAPPED_KEY";
        snprintf(message, message_len, "the unwrapped key is not a 32-byte AES-256 key");
    } else {
        *reason_code = job.reply.result == EM_KMS_UNREACHABLE ? "KMS_UNAVAILABLE"
                                                              : reason_of_kms(job.reply.code);
        snprintf(message, message_len, "Cloud KMS could not unwrap the key with %s: %s", key_name,
                 job.reply.message);
    }
    em_kms_reply_clear(&job.reply);
    return ok;
}

struct rn_envelope *rn_envelope_new(const char *principal, const char *caller)
{
    struct rn_envelope *env = calloc(1, sizeof(*env));
    if (!env)
        return NULL;
    pthread_mutex_init(&env->lock, NULL);
    rn_dek_cache_init(&env->cache);
    env->unwrap = kms_unwrap;
    env->unwrap_arg = env;
    snprintf(env->principal, sizeof(env->principal), "%s", principal ? principal : "");
    snprintf(env->caller, sizeof(env->caller), "%s", caller ? caller : "");
    return env;
}

void rn_envelope_free(struct rn_envelope *env)
{
    if (!env)
        return;
    rn_dek_cache_clear(&env->cache);
    pthread_mutex_destroy(&env->lock);
    free(env);
}

/* The key of a message: from the cache, else unwrapped (and cached). */
static bool key_of(struct rn_envelope *env, const struct rn_envelope_attrs *a, int64_t now,
                   unsigned char key[EM_AES_KEY_BYTES], const char **reason_code, char *message,
                   size_t message_len)
{
    pthread_mutex_lock(&env->lock);
    bool cached = rn_dek_cache_get(&env->cache, a->key_name, a->wrapped_b64, now, key);
    pthread_mutex_unlock(&env->lock);
    if (cached)
        return true;
    if (!env->unwrap(env->unwrap_arg, a->key_name, a->wrapped, a->wrapped_len, key, reason_code,
                     message, message_len))
        return false;
    pthread_mutex_lock(&env->lock);
    env->unwraps++;
    rn_dek_cache_put(&env->cache, a->key_name, a->wrapped_b64, now, key); /* OOM: not cached */
    pthread_mutex_unlock(&env->lock);
    return true;
}

static enum rn_envelope_result done(bool ok)
{
    return ok ? RN_ENVELOPE_DONE : RN_ENVELOPE_OOM;
}

/* A copy of in with "error" and "error_reason" set, to the dead-letter output (attributes
 * that are not an object, which Pub/Sub never sends, are replaced). */
static bool dead_letter(const struct rn_elem *in, const char *reason_code, const char *message,
                        struct rn_batch *failed)
{
    struct rn_elem e = rn_elem_copy(in);
    if (!cJSON_IsObject(e.attrs)) {
        cJSON_Delete(e.attrs);
        e.attrs = cJSON_CreateObject();
    }
    if (!e.attrs) {
        rn_elem_free(&e);
        return false;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(e.attrs, "error");
    cJSON_DeleteItemFromObjectCaseSensitive(e.attrs, "error_reason");
    cJSON_AddStringToObject(e.attrs, "error", message);
    cJSON_AddStringToObject(e.attrs, "error_reason", reason_code);
    return rn_batch_push(failed, &e);
}

/* The decrypted element: the text, the envelope attributes dropped. */
static bool emit_plaintext(const struct rn_elem *in, const char *text, struct rn_batch *out)
{
    struct rn_elem e = rn_elem_copy(in);
    cJSON_Delete(e.value);
    e.value = cJSON_CreateString(text);
    cJSON_DeleteItemFromObjectCaseSensitive(e.attrs, "kms_keyname");
    cJSON_DeleteItemFromObjectCaseSensitive(e.attrs, "dek_wrapped");
    if (!e.value) {
        rn_elem_free(&e);
        return false;
    }
    return rn_batch_push(out, &e);
}

/* The unwrap failed: a dead letter, or a retry when KMS could not be reached. */
static enum rn_envelope_result key_failed(const struct rn_elem *in, const char *reason_code,
                                          const char *message, struct rn_batch *failed)
{
    if (strcmp(reason_code, "KMS_UNAVAILABLE") == 0)
        return RN_ENVELOPE_RETRY;
    return done(dead_letter(in, reason_code, message, failed));
}

static enum rn_envelope_result decrypt(struct rn_envelope *env, const struct rn_elem *in,
                                       const struct rn_envelope_attrs *a, int64_t now,
                                       struct rn_batch *out, struct rn_batch *failed)
{
    unsigned char dek[EM_AES_KEY_BYTES];
    const char *reason_code = "BAD_ENVELOPE";
    char message[EM_STATUS_MESSAGE_MAX];
    if (!key_of(env, a, now, dek, &reason_code, message, sizeof(message)))
        return key_failed(in, reason_code, message, failed);
    unsigned char *data = NULL;
    size_t len = 0;
    const char *b64 = cJSON_IsString(in->value) ? in->value->valuestring : "";
    if (!em_b64_decode(b64, strlen(b64), &data, &len)) {
        em_wipe(dek, sizeof(dek));
        return done(dead_letter(in, "BAD_ENVELOPE",
                                "the data is not base64 (read it with ReadPubSub \"binary\": true)",
                                failed));
    }
    char *text = rn_envelope_open(dek, data, len);
    em_wipe(dek, sizeof(dek));
    free(data);
    if (!text)
        return done(dead_letter(in, "BAD_TAG",
                                "the data does not decrypt with its key (authentication tag "
                                "mismatch, truncated data, or not text)",
                                failed));
    bool ok = emit_plaintext(in, text, out);
    em_wipe(text, strlen(text));
    free(text);
    return done(ok);
}

static enum rn_envelope_result verify(struct rn_envelope *env, const struct rn_elem *in,
                                      const struct rn_envelope_attrs *a, int64_t now,
                                      struct rn_batch *out, struct rn_batch *failed)
{
    unsigned char key[EM_AES_KEY_BYTES];
    const char *reason_code = "BAD_ENVELOPE";
    char message[EM_STATUS_MESSAGE_MAX];
    if (!key_of(env, a, now, key, &reason_code, message, sizeof(message)))
        return key_failed(in, reason_code, message, failed);
    char *text = rn_value_text(in->value);
    if (!text) {
        em_wipe(key, sizeof(key));
        return RN_ENVELOPE_OOM;
    }
    bool valid = rn_signature_valid(key, text, strlen(text), a->signature);
    em_wipe(key, sizeof(key));
    free(text);
    if (!valid)
        return done(
            dead_letter(in, "BAD_SIGNATURE", "the signature does not match the data", failed));
    struct rn_elem e = rn_elem_copy(in);
    return done(rn_batch_push(out, &e));
}

enum rn_envelope_result rn_envelope_apply(struct rn_envelope *env, const struct rn_step *step,
                                          const struct rn_elem *in, int64_t now,
                                          struct rn_batch *out, struct rn_batch *failed)
{
    enum rn_envelope_kind kind =
        step->kind == RN_VERIFY_SIGNATURE ? RN_ENVELOPE_SIGNED : RN_ENVELOPE_ENCRYPTED;
    struct rn_envelope_attrs a;
    const char *reason = NULL;
    if (!rn_envelope_attrs_parse(kind, in->attrs, &a, &reason))
        return done(dead_letter(in, "BAD_ENVELOPE", reason, failed));
    enum rn_envelope_result result = kind == RN_ENVELOPE_SIGNED
                                         ? verify(env, in, &a, now, out, failed)
                                         : decrypt(env, in, &a, now, out, failed);
    rn_envelope_attrs_clear(&a);
    return result;
}
