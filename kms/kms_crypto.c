/*
 * kms_crypto: Cloud KMS algorithms on OpenSSL EVP, and the enum names of the KMS API.
 *
 * Supported (google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm):
 *   GOOGLE_SYMMETRIC_ENCRYPTION                  AES-256-GCM, 12-byte nonce, 16-byte tag
 *   AES_{128,256}_{GCM,CBC,CTR}                  raw AES (rawEncrypt/rawDecrypt): standard
 *                                                ciphertexts, IVs returned to the caller
 *   RSA_SIGN_PSS_{2048,3072,4096}_SHA256, _4096_SHA512     salt length = digest length
 *   RSA_SIGN_PKCS1_{2048,3072,4096}_SHA256, _4096_SHA512
 *   RSA_SIGN_RAW_PKCS1_{2048,3072,4096}          signs the given data, no hashing
 *   RSA_DECRYPT_OAEP_{2048,3072,4096}_{SHA256,SHA1}, _4096_SHA512   MGF1 with the same hash
 *   EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384, EC_SIGN_SECP256K1_SHA256   DER signatures
 *   EC_SIGN_ED25519                              signs the given data
 *   HMAC_SHA256, HMAC_SHA1, HMAC_SHA384, HMAC_SHA512, HMAC_SHA224
 *
 * Public keys are exported as PEM or DER SubjectPublicKeyInfo (GetPublicKey's PEM and DER
 * formats; its NIST_PQC and XWING_RAW_BYTES are for post-quantum keys, none of the above).
 * Key material is raw bytes for AES and HMAC and a DER private key for the rest; the
 * caller seals it at rest (kms_store.c). Imported material arrives wrapped as ImportJobs
 * say (RSA-OAEP, alone or around an ephemeral AES-256 key that wraps it with AES-KWP).
 * Every OpenSSL failure goes through em_crypto_error, and secrets are wiped with em_wipe.
 */
#include "kms.h"

#include "em_crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const struct kms_algorithm algorithms[] = {
    {"GOOGLE_SYMMETRIC_ENCRYPTION", KMS_ENCRYPT_DECRYPT, KMS_ALG_AES_GCM, 256, NULL, NULL},
    {"AES_128_GCM", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_GCM, 128, NULL, NULL},
    {"AES_256_GCM", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_GCM, 256, NULL, NULL},
    {"AES_128_CBC", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_CBC, 128, NULL, NULL},
    {"AES_256_CBC", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_CBC, 256, NULL, NULL},
    {"AES_128_CTR", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_CTR, 128, NULL, NULL},
    {"AES_256_CTR", KMS_RAW_ENCRYPT_DECRYPT, KMS_ALG_RAW_CTR, 256, NULL, NULL},
    {"RSA_SIGN_PSS_2048_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PSS, 2048, "SHA256", NULL},
    {"RSA_SIGN_PSS_3072_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PSS, 3072, "SHA256", NULL},
    {"RSA_SIGN_PSS_4096_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PSS, 4096, "SHA256", NULL},
    {"RSA_SIGN_PSS_4096_SHA512", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PSS, 4096, "SHA512", NULL},
    {"RSA_SIGN_PKCS1_2048_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PKCS1, 2048, "SHA256", NULL},
    {"RSA_SIGN_PKCS1_3072_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PKCS1, 3072, "SHA256", NULL},
    {"RSA_SIGN_PKCS1_4096_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PKCS1, 4096, "SHA256", NULL},
    {"RSA_SIGN_PKCS1_4096_SHA512", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_PKCS1, 4096, "SHA512", NULL},
    {"RSA_SIGN_RAW_PKCS1_2048", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_RAW_PKCS1, 2048, NULL, NULL},
    {"RSA_SIGN_RAW_PKCS1_3072", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_RAW_PKCS1, 3072, NULL, NULL},
    {"RSA_SIGN_RAW_PKCS1_4096", KMS_ASYMMETRIC_SIGN, KMS_ALG_RSA_RAW_PKCS1, 4096, NULL, NULL},
    {"RSA_DECRYPT_OAEP_2048_SHA256", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 2048, "SHA256",
     NULL},
    {"RSA_DECRYPT_OAEP_3072_SHA256", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 3072, "SHA256",
     NULL},
    {"RSA_DECRYPT_OAEP_4096_SHA256", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 4096, "SHA256",
     NULL},
    {"RSA_DECRYPT_OAEP_4096_SHA512", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 4096, "SHA512",
     NULL},
    {"RSA_DECRYPT_OAEP_2048_SHA1", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 2048, "SHA1", NULL},
    {"RSA_DECRYPT_OAEP_3072_SHA1", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 3072, "SHA1", NULL},
    {"RSA_DECRYPT_OAEP_4096_SHA1", KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP, 4096, "SHA1", NULL},
    {"EC_SIGN_P256_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_EC, 256, "SHA256", "P-256"},
    {"EC_SIGN_P384_SHA384", KMS_ASYMMETRIC_SIGN, KMS_ALG_EC, 384, "SHA384", "P-384"},
    {"EC_SIGN_SECP256K1_SHA256", KMS_ASYMMETRIC_SIGN, KMS_ALG_EC, 256, "SHA256", "secp256k1"},
    {"EC_SIGN_ED25519", KMS_ASYMMETRIC_SIGN, KMS_ALG_ED25519, 256, NULL, NULL},
    {"HMAC_SHA256", KMS_MAC, KMS_ALG_HMAC, 256, "SHA256", NULL},
    {"HMAC_SHA1", KMS_MAC, KMS_ALG_HMAC, 160, "SHA1", NULL},
    {"HMAC_SHA384", KMS_MAC, KMS_ALG_HMAC, 384, "SHA384", NULL},
    {"HMAC_SHA512", KMS_MAC, KMS_ALG_HMAC, 512, "SHA512", NULL},
    {"HMAC_SHA224", KMS_MAC, KMS_ALG_HMAC, 224, "SHA224", NULL},
    {"EXTERNAL_SYMMETRIC_ENCRYPTION", KMS_ENCRYPT_DECRYPT, KMS_ALG_EXTERNAL, 256, NULL, NULL},
};

const struct kms_algorithm *kms_algorithm_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
        if (strcmp(algorithms[i].name, name) == 0)
            return &algorithms[i];
    return NULL;
}

/* --- enum names --- */

static const char *const purpose_names[] = {"CRYPTO_KEY_PURPOSE_UNSPECIFIED",
                                            "ENCRYPT_DECRYPT",
                                            "ASYMMETRIC_SIGN",
                                            "ASYMMETRIC_DECRYPT",
                                            "RAW_ENCRYPT_DECRYPT",
                                            "MAC"};
static const char *const state_names[] = {"CRYPTO_KEY_VERSION_STATE_UNSPECIFIED",
                                          "PENDING_GENERATION",
                                          "ENABLED",
                                          "DISABLED",
                                          "DESTROYED",
                                          "DESTROY_SCHEDULED",
                                          "PENDING_IMPORT",
                                          "IMPORT_FAILED",
                                          "EXTERNAL_DESTRUCTION_FAILED"};
static const char *const protection_names[] = {"PROTECTION_LEVEL_UNSPECIFIED", "SOFTWARE", "HSM",
                                               "EXTERNAL", "EXTERNAL_VPC"};

#define COUNT(a) (int)(sizeof(a) / sizeof(a[0]))

static int index_of(const char *const *names, int count, const char *name)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return 0;
}

const char *kms_purpose_name(enum kms_purpose p)
{
    return purpose_names[(unsigned)p < COUNT(purpose_names) ? p : 0];
}

enum kms_purpose kms_purpose_parse(const char *name)
{
    return (enum kms_purpose)index_of(purpose_names, COUNT(purpose_names), name);
}

const char *kms_state_name(enum kms_state s)
{
    return state_names[(unsigned)s < COUNT(state_names) ? s : 0];
}

enum kms_state kms_state_parse(const char *name)
{
    return (enum kms_state)index_of(state_names, COUNT(state_names), name);
}

const char *kms_protection_name(enum kms_protection p)
{
    return protection_names[(unsigned)p < COUNT(protection_names) ? p : 0];
}

enum kms_protection kms_protection_parse(const char *name)
{
    return (enum kms_protection)index_of(protection_names, COUNT(protection_names), name);
}

bool kms_protection_is_external(enum kms_protection level)
{
    return level == KMS_EXTERNAL || level == KMS_EXTERNAL_VPC;
}

/* --- material --- */

static EVP_PKEY *generate_pkey(const struct kms_algorithm *alg)
{
    switch (alg->kind) {
    case KMS_ALG_RSA_PSS:
    case KMS_ALG_RSA_PKCS1:
    case KMS_ALG_RSA_RAW_PKCS1:
    case KMS_ALG_RSA_OAEP:
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)alg->bits);
    case KMS_ALG_EC:
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->curve);
    case KMS_ALG_ED25519:
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    default:
        return NULL;
    }
}

static enum em_code generate_asymmetric(const struct kms_algorithm *alg, struct kms_material *out,
                                        struct em_status *st)
{
    EVP_PKEY *pkey = generate_pkey(alg);
    if (!pkey)
        return em_crypto_error("key generation", st);
    unsigned char *der = NULL;
    int len = i2d_PrivateKey(pkey, &der);
    if (len <= 0) {
        EVP_PKEY_free(pkey);
        return em_crypto_error("private key encoding", st);
    }
    out->raw = malloc((size_t)len);
    if (out->raw)
        memcpy(out->raw, der, (size_t)len);
    OPENSSL_clear_free(der, (size_t)len);
    if (!out->raw) {
        EVP_PKEY_free(pkey);
        return EM_FAIL_OOM(st);
    }
    out->raw_len = (size_t)len;
    out->pkey = pkey;
    return EM_OK;
}

bool kms_alg_raw_material(const struct kms_algorithm *alg)
{
    return alg->kind == KMS_ALG_AES_GCM || alg->kind == KMS_ALG_EXTERNAL ||
           alg->kind == KMS_ALG_HMAC || alg->kind == KMS_ALG_RAW_GCM ||
           alg->kind == KMS_ALG_RAW_CBC || alg->kind == KMS_ALG_RAW_CTR;
}

enum em_code kms_material_generate(const struct kms_algorithm *alg, struct kms_material *out,
                                   struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!kms_alg_raw_material(alg))
        return generate_asymmetric(alg, out, st);
    out->raw_len = (size_t)alg->bits / 8;
    out->raw = malloc(out->raw_len);
    if (!out->raw)
        return EM_FAIL_OOM(st);
    if (em_random_bytes(out->raw, out->raw_len, st)) {
        kms_material_erase(out);
        return st->code;
    }
    return EM_OK;
}

enum em_code kms_material_load(const struct kms_algorithm *alg, unsigned char *raw, size_t raw_len,
                               struct kms_material *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    out->raw = raw;
    out->raw_len = raw_len;
    if (kms_alg_raw_material(alg))
        return EM_OK;
    const unsigned char *p = raw;
    out->pkey = d2i_AutoPrivateKey(NULL, &p, (long)raw_len);
    if (!out->pkey) {
        kms_material_erase(out);
        return em_crypto_error("private key decoding", st);
    }
    return EM_OK;
}

void kms_material_erase(struct kms_material *m)
{
    if (m->raw) {
        em_wipe(m->raw, m->raw_len);
        free(m->raw);
    }
    EVP_PKEY_free(m->pkey);
    memset(m, 0, sizeof(*m));
}

/* --- symmetric encryption --- */

size_t kms_ciphertext_size(size_t plaintext_len)
{
    return KMS_CIPHERTEXT_HEADER + EM_SEAL_OVERHEAD + plaintext_len;
}

static void write_header(unsigned char *out, uint32_t version)
{
    out[0] = 'K';
    out[1] = (unsigned char)(version >> 24);
    out[2] = (unsigned char)(version >> 16);
    out[3] = (unsigned char)(version >> 8);
    out[4] = (unsigned char)version;
}

/* The GCM additional data: the header (so the version cannot be swapped) and the AAD. */
static unsigned char *gcm_aad(const unsigned char *header, const unsigned char *aad, size_t aad_len,
                              size_t *out_len)
{
    unsigned char *buf = malloc(KMS_CIPHERTEXT_HEADER + aad_len);
    if (!buf)
        return NULL;
    memcpy(buf, header, KMS_CIPHERTEXT_HEADER);
    if (aad_len)
        memcpy(buf + KMS_CIPHERTEXT_HEADER, aad, aad_len);
    *out_len = KMS_CIPHERTEXT_HEADER + aad_len;
    return buf;
}

enum em_code kms_encrypt(const struct kms_material *m, uint32_t version, const unsigned char *aad,
                         size_t aad_len, const unsigned char *plaintext, size_t plaintext_len,
                         unsigned char *out, struct em_status *st)
{
    write_header(out, version);
    size_t full_len;
    unsigned char *full = gcm_aad(out, aad, aad_len, &full_len);
    if (!full)
        return EM_FAIL_OOM(st);
    enum em_code code =
        em_seal(m->raw, full, full_len, plaintext, plaintext_len, out + KMS_CIPHERTEXT_HEADER, st);
    free(full);
    return code;
}

bool kms_ciphertext_version(const unsigned char *ciphertext, size_t len, uint32_t *version)
{
    if (len < KMS_CIPHERTEXT_HEADER + EM_SEAL_OVERHEAD || ciphertext[0] != 'K')
        return false;
    *version = ((uint32_t)ciphertext[1] << 24) | ((uint32_t)ciphertext[2] << 16) |
               ((uint32_t)ciphertext[3] << 8) | ciphertext[4];
    return *version > 0;
}

bool kms_decrypt(const struct kms_material *m, const unsigned char *aad, size_t aad_len,
                 const unsigned char *ciphertext, size_t len, unsigned char *out,
                 size_t *plaintext_len)
{
    if (!m->raw || len < KMS_CIPHERTEXT_HEADER + EM_SEAL_OVERHEAD)
        return false;
    size_t full_len;
    unsigned char *full = gcm_aad(ciphertext, aad, aad_len, &full_len);
    if (!full)
        return false;
    bool ok = em_open(m->raw, full, full_len, ciphertext + KMS_CIPHERTEXT_HEADER,
                      len - KMS_CIPHERTEXT_HEADER, out);
    free(full);
    *plaintext_len = ok ? len - KMS_CIPHERTEXT_HEADER - EM_SEAL_OVERHEAD : 0;
    return ok;
}

/* --- signatures --- */

size_t kms_digest_length(const struct kms_algorithm *alg)
{
    if (!alg->digest || alg->kind == KMS_ALG_RSA_RAW_PKCS1 || alg->kind == KMS_ALG_ED25519)
        return 0;
    const EVP_MD *md = EVP_get_digestbyname(alg->digest);
    return md ? (size_t)EVP_MD_get_size(md) : 0;
}

static bool configure_sign(EVP_PKEY_CTX *ctx, const struct kms_algorithm *alg)
{
    const EVP_MD *md = alg->digest ? EVP_get_digestbyname(alg->digest) : NULL;
    switch (alg->kind) {
    case KMS_ALG_RSA_PSS:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
               EVP_PKEY_CTX_set_signature_md(ctx, md) > 0 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0;
    case KMS_ALG_RSA_PKCS1:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
               EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    case KMS_ALG_RSA_RAW_PKCS1:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    case KMS_ALG_EC:
        return EVP_PKEY_CTX_set_signature_md(ctx, md) > 0;
    default:
        return false;
    }
}

static enum em_code sign_ed25519(const struct kms_material *m, const unsigned char *data,
                                 size_t len, unsigned char **sig, size_t *sig_len,
                                 struct em_status *st)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    *sig_len = 64;
    *sig = malloc(*sig_len);
    bool ok = ctx && *sig && EVP_DigestSignInit(ctx, NULL, NULL, NULL, m->pkey) > 0 &&
              EVP_DigestSign(ctx, *sig, sig_len, data, len) > 0;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        free(*sig);
        *sig = NULL;
        return em_crypto_error("Ed25519 signature", st);
    }
    return EM_OK;
}

enum em_code kms_sign(const struct kms_algorithm *alg, const struct kms_material *m,
                      const unsigned char *input, size_t input_len, unsigned char **sig,
                      size_t *sig_len, struct em_status *st)
{
    if (alg->kind == KMS_ALG_ED25519)
        return sign_ed25519(m, input, input_len, sig, sig_len, st);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(m->pkey, NULL);
    *sig = NULL;
    bool ok = ctx && EVP_PKEY_sign_init(ctx) > 0 && configure_sign(ctx, alg) &&
              EVP_PKEY_sign(ctx, NULL, sig_len, input, input_len) > 0 &&
              (*sig = malloc(*sig_len)) != NULL &&
              EVP_PKEY_sign(ctx, *sig, sig_len, input, input_len) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (ok)
        return EM_OK;
    free(*sig);
    *sig = NULL;
    if (alg->kind == KMS_ALG_RSA_RAW_PKCS1) {
        ERR_clear_error();
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The data is too long for %s: at most %d bytes can be signed.", alg->name,
                       alg->bits / 8 - 11);
    }
    return em_crypto_error("signature", st);
}

enum em_code kms_public_key_pem(const struct kms_material *m, char **pem, struct em_status *st)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_PUBKEY(bio, m->pkey) != 1) {
        BIO_free(bio);
        return em_crypto_error("public key encoding", st);
    }
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    *pem = malloc((size_t)len + 1);
    if (*pem) {
        memcpy(*pem, data, (size_t)len);
        (*pem)[len] = '\0';
    }
    BIO_free(bio);
    return *pem ? EM_OK : EM_FAIL_OOM(st);
}

/* The DER SubjectPublicKeyInfo of m, the bytes a PEM "PUBLIC KEY" block carries. */
static enum em_code public_key_der(const struct kms_material *m, unsigned char **out, size_t *len,
                                   struct em_status *st)
{
    unsigned char *der = NULL;
    int der_len = i2d_PUBKEY(m->pkey, &der);
    if (der_len <= 0)
        return em_crypto_error("public key encoding", st);
    *out = malloc((size_t)der_len);
    if (*out) {
        memcpy(*out, der, (size_t)der_len);
        *len = (size_t)der_len;
    }
    OPENSSL_free(der);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

/* NIST_PQC and XWING_RAW_BYTES: formats of post-quantum keys only. */
static enum em_code post_quantum_format(const struct kms_algorithm *alg, enum kms_key_format format,
                                        struct em_status *st)
{
    bool xwing = format == KMS_KEY_FORMAT_XWING_RAW_BYTES;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Public key format %s is not supported for algorithm %s: it is the format of "
                   "%s keys.",
                   xwing ? "XWING_RAW_BYTES" : "NIST_PQC", alg->name,
                   xwing ? "KEM_XWING" : "ML-KEM, ML-DSA and SLH-DSA");
}

enum em_code kms_public_key_export(const struct kms_algorithm *alg, const struct kms_material *m,
                                   enum kms_key_format format, unsigned char **out, size_t *len,
                                   struct em_status *st)
{
    *out = NULL;
    *len = 0;
    switch (format) {
    case KMS_KEY_FORMAT_UNSPECIFIED:
    case KMS_KEY_FORMAT_PEM: {
        char *pem;
        if (kms_public_key_pem(m, &pem, st))
            return st->code;
        *out = (unsigned char *)pem;
        *len = strlen(pem);
        return EM_OK;
    }
    case KMS_KEY_FORMAT_DER:
        return public_key_der(m, out, len, st);
    case KMS_KEY_FORMAT_NIST_PQC:
    case KMS_KEY_FORMAT_XWING_RAW_BYTES:
        return post_quantum_format(alg, format, st);
    }
    return EM_FAIL(st, EM_INTERNAL, "public key format %d has no encoding", (int)format);
}

bool kms_asymmetric_decrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                            const unsigned char *ciphertext, size_t len, unsigned char **plaintext,
                            size_t *plaintext_len)
{
    const EVP_MD *md = EVP_get_digestbyname(alg->digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(m->pkey, NULL);
    *plaintext = NULL;
    bool ok = ctx && md && EVP_PKEY_decrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
              EVP_PKEY_decrypt(ctx, NULL, plaintext_len, ciphertext, len) > 0 &&
              (*plaintext = malloc(*plaintext_len + 1)) != NULL &&
              EVP_PKEY_decrypt(ctx, *plaintext, plaintext_len, ciphertext, len) > 0;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        free(*plaintext);
        *plaintext = NULL;
    }
    return ok;
}

enum em_code kms_mac(const struct kms_algorithm *alg, const struct kms_material *m,
                     const unsigned char *data, size_t len, unsigned char mac[KMS_MAC_MAX],
                     size_t *mac_len, struct em_status *st)
{
    const EVP_MD *md = EVP_get_digestbyname(alg->digest);
    unsigned int out_len = 0;
    if (!md || !HMAC(md, m->raw, (int)m->raw_len, data, len, mac, &out_len))
        return em_crypto_error("HMAC", st);
    *mac_len = out_len;
    return EM_OK;
}

/* --- raw AES (rawEncrypt, rawDecrypt) --- */

static const EVP_CIPHER *raw_cipher(const struct kms_algorithm *alg)
{
    bool big = alg->bits == 256;
    switch (alg->kind) {
    case KMS_ALG_RAW_GCM:
        return big ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    case KMS_ALG_RAW_CBC:
        return big ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
    case KMS_ALG_RAW_CTR:
        return big ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
    default:
        return NULL;
    }
}

/* What a mode refuses before any cryptography: AAD outside GCM, an IV of the wrong
 * length (GCM takes none on encrypt), CBC data that is not whole blocks. */
static enum em_code raw_check(const struct kms_algorithm *alg, const struct kms_raw_io *io,
                              bool encrypt, struct em_status *st)
{
    bool gcm = alg->kind == KMS_ALG_RAW_GCM;
    if (io->aad_len && !gcm)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "additional_authenticated_data can only be used with AES-GCM, not %s.",
                       alg->name);
    if (gcm && encrypt && io->iv_len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "initialization_vector cannot be given for %s: the service generates it.",
                       alg->name);
    size_t least = gcm ? 12 : KMS_RAW_BLOCK;
    if ((io->iv_len || !encrypt) && (io->iv_len < least || io->iv_len > KMS_RAW_BLOCK))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "initialization_vector must be %s bytes for %s, not %zu.",
                       gcm ? "12 to 16" : "16", alg->name, io->iv_len);
    size_t data = io->in_len;
    if (gcm && !encrypt) {
        int tag = io->tag_len ? io->tag_len : KMS_RAW_GCM_TAG;
        if (tag < 12 || tag > 16)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "tag_length must be between 12 and 16 bytes for %s, not %d.", alg->name,
                           tag);
        if (data < (size_t)tag)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The ciphertext is shorter than its authentication tag.");
    }
    if (alg->kind == KMS_ALG_RAW_CBC && data % KMS_RAW_BLOCK != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The %s for %s must be a multiple of the block size (16 bytes); it is %zu "
                       "bytes (no padding is done).",
                       encrypt ? "plaintext" : "ciphertext", alg->name, data);
    return EM_OK;
}

/* One pass of the cipher over io->in (data_len bytes of it), GCM's AAD and tag included. */
static bool raw_run(const struct kms_algorithm *alg, const struct kms_material *m,
                    struct kms_raw_io *io, size_t data_len, bool encrypt, int tag_len)
{
    bool gcm = alg->kind == KMS_ALG_RAW_GCM;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, tail = 0;
    bool ok =
        ctx && data_len <= INT_MAX && io->aad_len <= INT_MAX &&
        EVP_CipherInit_ex(ctx, raw_cipher(alg), NULL, NULL, NULL, encrypt) > 0 &&
        (!gcm || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)io->iv_len, NULL) > 0) &&
        EVP_CipherInit_ex(ctx, NULL, NULL, m->raw, io->iv, encrypt) > 0 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) > 0;
    if (ok && gcm && io->aad_len)
        ok = EVP_CipherUpdate(ctx, NULL, &n, io->aad, (int)io->aad_len) > 0;
    if (ok && gcm && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, tag_len, (void *)(io->in + data_len)) >
             0;
    if (ok)
        ok = EVP_CipherUpdate(ctx, io->out, &n, io->in, (int)data_len) > 0 &&
             EVP_CipherFinal_ex(ctx, io->out + n, &tail) > 0;
    if (ok && gcm && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, tag_len, io->out + n + tail) > 0;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    io->out_len = (size_t)(n + tail) + (gcm && encrypt ? (size_t)tag_len : 0);
    return ok;
}

static bool raw_key_fits(const struct kms_algorithm *alg, const struct kms_material *m)
{
    return raw_cipher(alg) && m->raw && m->raw_len == (size_t)alg->bits / 8;
}

enum em_code kms_raw_encrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                             struct kms_raw_io *io, struct em_status *st)
{
    io->out = NULL;
    if (!raw_key_fits(alg, m))
        return EM_FAIL(st, EM_INTERNAL, "The key material does not fit %s.", alg->name);
    if (raw_check(alg, io, true, st))
        return st->code;
    if (!io->iv_len) {
        io->iv_len = KMS_RAW_BLOCK; /* 16 bytes in every mode, GCM's too */
        if (em_random_bytes(io->iv, io->iv_len, st))
            return st->code;
    }
    if (!(io->out = malloc(io->in_len + KMS_RAW_GCM_TAG + KMS_RAW_BLOCK)))
        return EM_FAIL_OOM(st);
    if (!raw_run(alg, m, io, io->in_len, true, KMS_RAW_GCM_TAG)) {
        free(io->out);
        io->out = NULL;
        return em_crypto_error("raw encryption", st);
    }
    return EM_OK;
}

enum em_code kms_raw_decrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                             struct kms_raw_io *io, struct em_status *st)
{
    io->out = NULL;
    if (!raw_key_fits(alg, m))
        return EM_FAIL(st, EM_INTERNAL, "The key material does not fit %s.", alg->name);
    if (raw_check(alg, io, false, st))
        return st->code;
    bool gcm = alg->kind == KMS_ALG_RAW_GCM;
    int tag_len = gcm ? (io->tag_len ? io->tag_len : KMS_RAW_GCM_TAG) : 0;
    size_t data_len = io->in_len - (size_t)tag_len;
    if (!(io->out = malloc(data_len + KMS_RAW_BLOCK)))
        return EM_FAIL_OOM(st);
    if (!raw_run(alg, m, io, data_len, false, tag_len)) {
        em_wipe(io->out, data_len + KMS_RAW_BLOCK);
        free(io->out);
        io->out = NULL;
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Decryption failed: the ciphertext, initialization vector, tag length or "
                       "additional authenticated data do not match.");
    }
    return EM_OK;
}

/* --- import --- */

static const struct kms_import_method import_methods[] = {
    {"RSA_OAEP_3072_SHA1_AES_256", 3072, "SHA1", true},
    {"RSA_OAEP_4096_SHA1_AES_256", 4096, "SHA1", true},
    {"RSA_OAEP_3072_SHA256_AES_256", 3072, "SHA256", true},
    {"RSA_OAEP_4096_SHA256_AES_256", 4096, "SHA256", true},
    {"RSA_OAEP_3072_SHA256", 3072, "SHA256", false},
    {"RSA_OAEP_4096_SHA256", 4096, "SHA256", false},
};

const struct kms_import_method *kms_import_method_find(const char *name)
{
    for (size_t i = 0; name && i < (size_t)COUNT(import_methods); i++)
        if (strcmp(import_methods[i].name, name) == 0)
            return &import_methods[i];
    return NULL;
}

enum em_code kms_import_keypair(const struct kms_import_method *method, struct kms_material *out,
                                struct em_status *st)
{
    const struct kms_algorithm rsa = {method->name, KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP,
                                      method->bits, method->digest,         NULL};
    memset(out, 0, sizeof(*out));
    return generate_asymmetric(&rsa, out, st);
}

/* RSA-OAEP decryption with the method's hash for OAEP and MGF1 and an empty label. */
static bool oaep_decrypt(const struct kms_import_method *method, EVP_PKEY *pkey,
                         const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
    const EVP_MD *md = EVP_get_digestbyname(method->digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    size_t size = 0;
    bool ok = ctx && md && EVP_PKEY_decrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
              EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0 &&
              EVP_PKEY_decrypt(ctx, NULL, &size, in, len) > 0;
    *out = ok ? malloc(size ? size : 1) : NULL;
    ok = *out && EVP_PKEY_decrypt(ctx, *out, &size, in, len) > 0;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        free(*out);
        *out = NULL;
        return false;
    }
    *out_len = size;
    return true;
}

/* AES-KWP (RFC 5649) unwrapping with a 256-bit key. */
static bool kwp_unwrap(const unsigned char key[32], const unsigned char *in, size_t len,
                       unsigned char **out, size_t *out_len)
{
    *out = NULL;
    if (len < 16 || len % 8 != 0 || len > INT_MAX)
        return false;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *buf = malloc(len);
    int n = 0, tail = 0;
    bool ok = ctx && buf && EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, key, NULL) > 0 &&
              EVP_DecryptUpdate(ctx, buf, &n, in, (int)len) > 0 &&
              EVP_DecryptFinal_ex(ctx, buf + n, &tail) > 0;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    if (!ok) {
        if (buf)
            em_wipe(buf, len);
        free(buf);
        return false;
    }
    *out = buf;
    *out_len = (size_t)(n + tail);
    return true;
}

bool kms_import_unwrap(const struct kms_import_method *method, const struct kms_material *wrapping,
                       const unsigned char *wrapped, size_t len, unsigned char **material,
                       size_t *material_len)
{
    size_t rsa_len = (size_t)method->bits / 8;
    *material = NULL;
    if (!method->aes_wrap)
        return len == rsa_len &&
               oaep_decrypt(method, wrapping->pkey, wrapped, len, material, material_len);
    unsigned char *aes_key = NULL;
    size_t aes_len = 0;
    if (len <= rsa_len ||
        !oaep_decrypt(method, wrapping->pkey, wrapped, rsa_len, &aes_key, &aes_len))
        return false;
    bool ok = aes_len == 32 &&
              kwp_unwrap(aes_key, wrapped + rsa_len, len - rsa_len, material, material_len);
    em_wipe(aes_key, aes_len);
    free(aes_key);
    return ok;
}

/* Whether a private key is of alg's type and size (RSA modulus, EC curve, Ed25519). */
static bool key_fits(const struct kms_algorithm *alg, EVP_PKEY *pkey)
{
    char group[64] = "";
    switch (alg->kind) {
    case KMS_ALG_RSA_PSS:
    case KMS_ALG_RSA_PKCS1:
    case KMS_ALG_RSA_RAW_PKCS1:
    case KMS_ALG_RSA_OAEP:
        return EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) == alg->bits;
    case KMS_ALG_EC:
        if (!EVP_PKEY_is_a(pkey, "EC") ||
            !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            NULL))
            return false;
        return (strcmp(alg->curve, "P-256") == 0 && strcmp(group, "prime256v1") == 0) ||
               (strcmp(alg->curve, "P-384") == 0 && strcmp(group, "secp384r1") == 0) ||
               (strcmp(alg->curve, "secp256k1") == 0 && strcmp(group, "secp256k1") == 0);
    case KMS_ALG_ED25519:
        return EVP_PKEY_is_a(pkey, "ED25519");
    default:
        return false;
    }
}

static enum em_code import_private_key(const struct kms_algorithm *alg, const unsigned char *raw,
                                       size_t len, struct kms_material *out, struct em_status *st)
{
    const unsigned char *p = raw;
    PKCS8_PRIV_KEY_INFO *info =
        len <= LONG_MAX ? d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len) : NULL;
    EVP_PKEY *pkey = info && p == raw + len ? EVP_PKCS82PKEY(info) : NULL;
    PKCS8_PRIV_KEY_INFO_free(info);
    ERR_clear_error();
    if (!pkey)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The imported key material is not a PKCS#8 DER private key "
                       "(PrivateKeyInfo, RFC 5208), as %s needs.",
                       alg->name);
    if (!key_fits(alg, pkey)) {
        EVP_PKEY_free(pkey);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The imported private key does not match algorithm %s (its type, "
                       "modulus size or curve).",
                       alg->name);
    }
    unsigned char *der = NULL;
    int der_len = i2d_PrivateKey(pkey, &der);
    if (der_len <= 0 || !(out->raw = malloc((size_t)der_len))) {
        EVP_PKEY_free(pkey);
        OPENSSL_free(der);
        return der_len <= 0 ? em_crypto_error("private key encoding", st) : EM_FAIL_OOM(st);
    }
    memcpy(out->raw, der, (size_t)der_len);
    OPENSSL_clear_free(der, (size_t)der_len);
    out->raw_len = (size_t)der_len;
    out->pkey = pkey;
    return EM_OK;
}

enum em_code kms_material_import(const struct kms_algorithm *alg, const unsigned char *raw,
                                 size_t len, struct kms_material *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (!kms_alg_raw_material(alg))
        return import_private_key(alg, raw, len, out, st);
    if (len != (size_t)alg->bits / 8)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The imported key material for %s must be %d bytes, not %zu.", alg->name,
                       alg->bits / 8, len);
    if (!(out->raw = malloc(len)))
        return EM_FAIL_OOM(st);
    memcpy(out->raw, raw, len);
    out->raw_len = len;
    return EM_OK;
}

void kms_material_digest(const struct kms_material *m, unsigned char out[KMS_MATERIAL_DIGEST])
{
    unsigned int n = 0;
    EVP_Digest(m->raw, m->raw_len, out, &n, EVP_sha256(), NULL);
}
