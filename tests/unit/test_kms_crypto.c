/*
 * Unit tests of kms_crypto: symmetric ciphertext format and authentication, every
 * signing family verified with OpenSSL against the exported public key, RSA-OAEP,
 * HMAC against RFC 4231, and the public key in GetPublicKey's formats (PEM, DER).
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
    assert_int_equal(kms_algorithm_find("AES_128_GCM")->purpose, KMS_RAW_ENCRYPT_DECRYPT);
    assert_null(kms_algorithm_find("AES_192_GCM"));
    assert_null(kms_algorithm_find(NULL));
    assert_int_equal(kms_purpose_parse("MAC"), KMS_MAC);
    assert_int_equal(kms_state_parse("DESTROY_SCHEDULED"), KMS_DESTROY_SCHEDULED);
    assert_string_equal(kms_state_name(KMS_DESTROYED), "DESTROYED");
}

/* --- raw AES --- */

static struct kms_material raw_key(const char *hex)
{
    struct kms_material m = {0};
    m.raw_len = strlen(hex) / 2;
    m.raw = malloc(m.raw_len);
    for (size_t i = 0; i < m.raw_len; i++)
        sscanf(hex + 2 * i, "%2hhx", &m.raw[i]);
    return m;
}

static void unhex(const char *hex, unsigned char *out)
{
    for (size_t i = 0; i < strlen(hex) / 2; i++)
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

/* NIST SP 800-38A F.2.5 (CBC-AES256) and F.5.1 (CTR-AES128), first block; the GCM test
 * case 2 of the GCM specification (AES-128, zero key and 12-byte IV, one zero block). */
static void test_raw_known_answers(void **state)
{
    (void)state;
    struct em_status st = {0};
    static const struct {
        const char *alg, *key, *iv, *plaintext, *ciphertext;
    } vectors[] = {
        {"AES_256_CBC", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
         "000102030405060708090a0b0c0d0e0f", "6bc1bee22e409f96e93d7e117393172a",
         "f58c4c04d6e5f1ba779eabfb5f7bfbd6"},
        {"AES_128_CTR", "2b7e151628aed2a6abf7158809cf4f3c", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "6bc1bee22e409f96e93d7e117393172a", "874d6191b620e3261bef6864990db6ce"},
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct kms_algorithm *alg = kms_algorithm_find(vectors[i].alg);
        struct kms_material m = raw_key(vectors[i].key);
        unsigned char pt[16], ct[16];
        unhex(vectors[i].plaintext, pt);
        unhex(vectors[i].ciphertext, ct);
        struct kms_raw_io io = {.in = pt, .in_len = 16, .iv_len = 16};
        unhex(vectors[i].iv, io.iv);
        assert_int_equal(kms_raw_encrypt(alg, &m, &io, &st), EM_OK);
        assert_int_equal(io.out_len, 16);
        assert_memory_equal(io.out, ct, 16);
        free(io.out);
        struct kms_raw_io back = {.in = ct, .in_len = 16, .iv_len = 16};
        memcpy(back.iv, io.iv, 16);
        assert_int_equal(kms_raw_decrypt(alg, &m, &back, &st), EM_OK);
        assert_memory_equal(back.out, pt, 16);
        free(back.out);
        kms_material_erase(&m);
    }
    struct kms_material zero = raw_key("00000000000000000000000000000000");
    unsigned char gcm[32];
    unhex("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf", gcm);
    struct kms_raw_io io = {.in = gcm, .in_len = 32, .iv_len = 12};
    assert_int_equal(kms_raw_decrypt(kms_algorithm_find("AES_128_GCM"), &zero, &io, &st), EM_OK);
    assert_int_equal(io.out_len, 16);
    static const unsigned char zeros[16];
    assert_memory_equal(io.out, zeros, 16);
    free(io.out);
    kms_material_erase(&zero);
}

static void test_raw_round_trips_and_refusals(void **state)
{
    (void)state;
    struct em_status st = {0};
    static const char *const algs[] = {"AES_128_GCM", "AES_256_GCM", "AES_128_CBC",
                                       "AES_256_CBC", "AES_128_CTR", "AES_256_CTR"};
    unsigned char data[48], aad[] = "context";
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)i;
    for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
        const struct kms_algorithm *alg = kms_algorithm_find(algs[a]);
        struct kms_material m = generate(algs[a]);
        assert_int_equal(m.raw_len, (size_t)alg->bits / 8);
        bool gcm = alg->kind == KMS_ALG_RAW_GCM;
        struct kms_raw_io io = {.in = data,
                                .in_len = sizeof(data),
                                .aad = gcm ? aad : NULL,
                                .aad_len = gcm ? sizeof(aad) : 0};
        assert_int_equal(kms_raw_encrypt(alg, &m, &io, &st), EM_OK);
        assert_int_equal(io.iv_len, 16); /* drawn: 16 bytes in every mode */
        assert_int_equal(io.out_len, sizeof(data) + (gcm ? 16 : 0));
        struct kms_raw_io back = {.in = io.out,
                                  .in_len = io.out_len,
                                  .aad = io.aad,
                                  .aad_len = io.aad_len,
                                  .iv_len = io.iv_len};
        memcpy(back.iv, io.iv, sizeof(io.iv));
        assert_int_equal(kms_raw_decrypt(alg, &m, &back, &st), EM_OK);
        assert_int_equal(back.out_len, sizeof(data));
        assert_memory_equal(back.out, data, sizeof(data));
        free(back.out);
        if (gcm) { /* a changed byte or other AAD fails; AAD and an IV are GCM's and CBC/CTR's */
            io.out[0] ^= 1;
            assert_int_equal(kms_raw_decrypt(alg, &m, &back, &st), EM_INVALID_ARGUMENT);
            assert_non_null(strstr(st.message, "Decryption failed"));
            io.out[0] ^= 1;
            back.aad_len = 3;
            assert_int_equal(kms_raw_decrypt(alg, &m, &back, &st), EM_INVALID_ARGUMENT);
            struct kms_raw_io with_iv = {.in = data, .in_len = 16, .iv_len = 16};
            assert_int_equal(kms_raw_encrypt(alg, &m, &with_iv, &st), EM_INVALID_ARGUMENT);
            back.aad_len = io.aad_len;
            back.tag_len = 11;
            assert_int_equal(kms_raw_decrypt(alg, &m, &back, &st), EM_INVALID_ARGUMENT);
        } else {
            struct kms_raw_io with_aad = {.in = data, .in_len = 16, .aad = aad, .aad_len = 1};
            assert_int_equal(kms_raw_encrypt(alg, &m, &with_aad, &st), EM_INVALID_ARGUMENT);
            struct kms_raw_io short_iv = {.in = data, .in_len = 16, .iv_len = 8};
            assert_int_equal(kms_raw_encrypt(alg, &m, &short_iv, &st), EM_INVALID_ARGUMENT);
            struct kms_raw_io no_iv = {.in = io.out, .in_len = 16};
            assert_int_equal(kms_raw_decrypt(alg, &m, &no_iv, &st), EM_INVALID_ARGUMENT);
        }
        if (alg->kind == KMS_ALG_RAW_CBC) { /* whole blocks only: no padding */
            struct kms_raw_io partial = {.in = data, .in_len = 17};
            assert_int_equal(kms_raw_encrypt(alg, &m, &partial, &st), EM_INVALID_ARGUMENT);
            assert_non_null(strstr(st.message, "multiple of the block size"));
        }
        free(io.out);
        kms_material_erase(&m);
    }
}

/* GetPublicKey's formats: PEM is the PEM text, DER the SubjectPublicKeyInfo of the same
 * key; the post-quantum formats are refused for RSA and EC keys, naming format and
 * algorithm. */
static void test_public_key_formats(void **state)
{
    (void)state;
    const char *algs[] = {"RSA_SIGN_PKCS1_2048_SHA256", "EC_SIGN_P256_SHA256", "EC_SIGN_ED25519"};
    for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
        const struct kms_algorithm *alg = kms_algorithm_find(algs[a]);
        struct kms_material m = generate(algs[a]);
        struct em_status st = {0};
        char *pem;
        unsigned char *out;
        size_t len;
        assert_int_equal(kms_public_key_pem(&m, &pem, &st), EM_OK);
        assert_int_equal(kms_public_key_export(alg, &m, KMS_KEY_FORMAT_PEM, &out, &len, &st),
                         EM_OK);
        assert_int_equal(len, strlen(pem));
        assert_string_equal((const char *)out, pem);
        free(out);
        assert_int_equal(
            kms_public_key_export(alg, &m, KMS_KEY_FORMAT_UNSPECIFIED, &out, &len, &st), EM_OK);
        assert_string_equal((const char *)out, pem);
        free(out);

        assert_int_equal(kms_public_key_export(alg, &m, KMS_KEY_FORMAT_DER, &out, &len, &st),
                         EM_OK);
        assert_int_equal(out[0], 0x30); /* a DER SEQUENCE, not text */
        const unsigned char *p = out;
        EVP_PKEY *from_der = d2i_PUBKEY(NULL, &p, (long)len);
        assert_non_null(from_der);
        assert_ptr_equal(p, out + len); /* all of it, nothing after */
        EVP_PKEY *from_pem = public_key(&m);
        assert_int_equal(EVP_PKEY_eq(from_der, from_pem), 1);
        EVP_PKEY_free(from_der);
        EVP_PKEY_free(from_pem);
        free(out);

        assert_int_equal(kms_public_key_export(alg, &m, KMS_KEY_FORMAT_NIST_PQC, &out, &len, &st),
                         EM_INVALID_ARGUMENT);
        assert_null(out);
        assert_non_null(strstr(st.message, "Public key format NIST_PQC"));
        assert_non_null(strstr(st.message, algs[a]));
        assert_int_equal(
            kms_public_key_export(alg, &m, KMS_KEY_FORMAT_XWING_RAW_BYTES, &out, &len, &st),
            EM_INVALID_ARGUMENT);
        assert_null(out);
        assert_non_null(strstr(st.message, "Public key format XWING_RAW_BYTES"));
        assert_non_null(strstr(st.message, algs[a]));
        free(pem);
        kms_material_erase(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric_round_trip),
        cmocka_unit_test(test_signatures_verify),
        cmocka_unit_test(test_material_reload),
        cmocka_unit_test(test_oaep_round_trip),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_algorithm_table),
        cmocka_unit_test(test_raw_known_answers),
        cmocka_unit_test(test_raw_round_trips_and_refusals),
        cmocka_unit_test(test_public_key_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
