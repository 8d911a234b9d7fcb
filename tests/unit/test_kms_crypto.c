/*
 * Unit tests of kms_crypto: symmetric ciphertext format and authentication, every
 * signing family verified with OpenSSL against the exported public key, RSA-OAEP, and
 * HMAC against RFC 4231.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_crypto.h"
#include "kms/kms.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static struct kms_material generate(const char *algorithm)
{
    struct kms_material m;
    struct em_status st = {0};
    const struct kms_algorithm *alg = kms_algorithm_find(algorithm);
    assert_non_null(alg);
    assert_int_equal(kms_material_generate(alg, &m, &st), EM_OK);
    return m;
}

static EVP_PKEY *public_key(const struct kms_material *m)
{
    char *pem;
    struct em_status st = {0};
    assert_int_equal(kms_public_key_pem(m, &pem, &st), EM_OK);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(pem);
    assert_non_null(pub);
    return pub;
}

static void test_symmetric_round_trip(void **state)
{
    (void)state;
    struct kms_material m = generate("GOOGLE_SYMMETRIC_ENCRYPTION");
    struct em_status st = {0};
    const unsigned char pt[] = "attack at dawn", aad[] = "context";
    unsigned char ct[128], out[128];
    size_t ct_len = kms_ciphertext_size(sizeof(pt)), out_len;
    uint32_t version;
    assert_int_equal(kms_encrypt(&m, 7, aad, sizeof(aad), pt, sizeof(pt), ct, &st), EM_OK);
    assert_true(kms_ciphertext_version(ct, ct_len, &version));
    assert_int_equal(version, 7);
    assert_true(kms_decrypt(&m, aad, sizeof(aad), ct, ct_len, out, &out_len));
    assert_int_equal(out_len, sizeof(pt));
    assert_memory_equal(out, pt, sizeof(pt));
    /* wrong AAD, a swapped version header and a flipped byte all fail authentication */
    assert_false(kms_decrypt(&m, (const unsigned char *)"other", 5, ct, ct_len, out, &out_len));
    ct[4] = 8;
    assert_false(kms_decrypt(&m, aad, sizeof(aad), ct, ct_len, out, &out_len));
    ct[4] = 7;
    ct[ct_len - 1] ^= 1;
    assert_false(kms_decrypt(&m, aad, sizeof(aad), ct, ct_len, out, &out_len));
    assert_false(kms_ciphertext_version(ct, 10, &version));
    kms_material_erase(&m);
}

static void sign_and_verify(const char *algorithm, const char *digest_name)
{
    struct kms_material m = generate(algorithm);
    const struct kms_algorithm *alg = kms_algorithm_find(algorithm);
    struct em_status st = {0};
    const unsigned char data[] = "message to sign";
    unsigned char digest[64];
    unsigned int digest_len = 0;
    const unsigned char *input = data;
    size_t input_len = sizeof(data);
    if (digest_name) {
        EVP_Digest(data, sizeof(data), digest, &digest_len, EVP_get_digestbyname(digest_name),
                   NULL);
        assert_int_equal(kms_digest_length(alg), digest_len);
        input = digest;
        input_len = digest_len;
    }
    unsigned char *sig;
    size_t sig_len;
    assert_int_equal(kms_sign(alg, &m, input, input_len, &sig, &sig_len, &st), EM_OK);
    EVP_PKEY *pub = public_key(&m);
    int ok;
    if (alg->kind == KMS_ALG_ED25519) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub);
        ok = EVP_DigestVerify(ctx, sig, sig_len, data, sizeof(data));
        EVP_MD_CTX_free(ctx);
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
        EVP_PKEY_verify_init(ctx);
        if (alg->kind == KMS_ALG_RSA_PSS) {
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST);
        } else if (alg->kind != KMS_ALG_EC) {
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
        }
        if (digest_name)
            EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(digest_name));
        ok = EVP_PKEY_verify(ctx, sig, sig_len, input, input_len);
        EVP_PKEY_CTX_free(ctx);
    }
    assert_int_equal(ok, 1);
    EVP_PKEY_free(pub);
    free(sig);
    kms_material_erase(&m);
}

static void test_signatures_verify(void **state)
{
    (void)state;
    sign_and_verify("RSA_SIGN_PSS_2048_SHA256", "SHA256");
    sign_and_verify("RSA_SIGN_PKCS1_2048_SHA256", "SHA256");
    sign_and_verify("RSA_SIGN_RAW_PKCS1_2048", NULL);
    sign_and_verify("EC_SIGN_P256_SHA256", "SHA256");
    sign_and_verify("EC_SIGN_P384_SHA384", "SHA384");
    sign_and_verify("EC_SIGN_SECP256K1_SHA256", "SHA256");
    sign_and_verify("EC_SIGN_ED25519", NULL);
}

static void test_material_reload(void **state)
{
    (void)state;
    struct kms_material m = generate("EC_SIGN_P256_SHA256");
    struct kms_material copy;
    struct em_status st = {0};
    unsigned char *raw = malloc(m.raw_len);
    memcpy(raw, m.raw, m.raw_len);
    assert_int_equal(
        kms_material_load(kms_algorithm_find("EC_SIGN_P256_SHA256"), raw, m.raw_len, &copy, &st),
        EM_OK);
    assert_int_equal(EVP_PKEY_eq(m.pkey, copy.pkey), 1);
    kms_material_erase(&copy);
    kms_material_erase(&m);
    assert_null(m.raw);
    assert_null(m.pkey);
}

static void test_oaep_round_trip(void **state)
{
    (void)state;
    struct kms_material m = generate("RSA_DECRYPT_OAEP_2048_SHA256");
    const struct kms_algorithm *alg = kms_algorithm_find("RSA_DECRYPT_OAEP_2048_SHA256");
    EVP_PKEY *pub = public_key(&m);
    const unsigned char secret[] = "a wrapped data key";
    unsigned char ct[512];
    size_t ct_len = sizeof(ct);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    EVP_PKEY_encrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ct_len, secret, sizeof(secret)), 1);
    EVP_PKEY_CTX_free(ctx);
    unsigned char *pt;
    size_t pt_len;
    assert_true(kms_asymmetric_decrypt(alg, &m, ct, ct_len, &pt, &pt_len));
    assert_int_equal(pt_len, sizeof(secret));
    assert_memory_equal(pt, secret, sizeof(secret));
    free(pt);
    ct[0] ^= 1;
    assert_false(kms_asymmetric_decrypt(alg, &m, ct, ct_len, &pt, &pt_len));
    EVP_PKEY_free(pub);
    kms_material_erase(&m);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    struct kms_material m;
    struct em_status st = {0};
    unsigned char *key = (unsigned char *)strdup("Jefe");
    const struct kms_algorithm *alg = kms_algorithm_find("HMAC_SHA256");
    assert_int_equal(kms_material_load(alg, key, 4, &m, &st), EM_OK);
    const char *data = "what do ya want for nothing?";
    unsigned char mac[KMS_MAC_MAX];
    size_t mac_len;
    assert_int_equal(
        kms_mac(alg, &m, (const unsigned char *)data, strlen(data), mac, &mac_len, &st), EM_OK);
    const unsigned char expected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
                                      0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
                                      0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
                                      0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    assert_int_equal(mac_len, 32);
    assert_memory_equal(mac, expected, 32);
    kms_material_erase(&m);
}

static void test_algorithm_table(void **state)
{
    (void)state;
    assert_int_equal(kms_algorithm_find("HMAC_SHA256")->purpose, KMS_MAC);
    assert_int_equal(kms_algorithm_find("RSA_DECRYPT_OAEP_4096_SHA512")->bits, 4096);
    assert_null(kms_algorithm_find("AES_128_GCM"));
    assert_null(kms_algorithm_find(NULL));
    assert_int_equal(kms_purpose_parse("MAC"), KMS_MAC);
    assert_int_equal(kms_state_parse("DESTROY_SCHEDULED"), KMS_DESTROY_SCHEDULED);
    assert_string_equal(kms_state_name(KMS_DESTROYED), "DESTROYED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric_round_trip), cmocka_unit_test(test_signatures_verify),
        cmocka_unit_test(test_material_reload),      cmocka_unit_test(test_oaep_round_trip),
        cmocka_unit_test(test_hmac_rfc4231),         cmocka_unit_test(test_algorithm_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
