/*
 * Unit tests of kms_import: import jobs (creation, copies, lists, expiry, persistence) and
 * ImportCryptoKeyVersion with material wrapped here as a client wraps it (CKM_RSA_AES_KEY_WRAP
 * with OpenSSL's RSA-OAEP and AES-KWP, or RSA-OAEP alone): symmetric and EC keys, every
 * refusal (wrong purpose, expired job, protection mismatch fail the call; bad wrapping,
 * wrong size or curve leave an IMPORT_FAILED version), and reimport into a destroyed or
 * failed version, which must bring back the same material, also after a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_json.h"
#include "em_crypto.h"
#include "kms/kms.h"
#include "unit_util.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>

#define RING "projects/test-project/locations/global/keyRings/ring"
#define KEY  RING "/cryptoKeys/imported"
#define SIGN RING "/cryptoKeys/signer"
#define JOB  RING "/importJobs/job"
#define T0   (1800000000LL * EM_NS_PER_SEC)
#define DAY  (86400LL * EM_NS_PER_SEC)

struct fixture {
    struct unit_dir dir;
    struct kms_registry *reg;
    char *public_pem; /* the job's */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    struct kms_key_spec symmetric = {.purpose = "ENCRYPT_DECRYPT", .import_only = true};
    struct kms_key_spec signer = {.purpose = "ASYMMETRIC_SIGN", .algorithm = "EC_SIGN_P256_SHA256"};
    struct kms_import_job *job = NULL;
    if (!f || unit_dir_open(&f->dir) ||
        kms_registry_open(f->dir.store, f->dir.path, 0, &f->reg, &st) ||
        kms_key_ring_create(f->reg, RING, T0, NULL, &st) ||
        kms_key_create(f->reg, KEY, &symmetric, true, T0, NULL, &st) ||
        kms_key_create(f->reg, SIGN, &signer, true, T0, NULL, &st) ||
        kms_import_job_create(f->reg, JOB, kms_import_method_find("RSA_OAEP_3072_SHA1_AES_256"),
                              KMS_SOFTWARE, T0, &job, &st))
        return -1;
    f->public_pem = strdup(job->public_pem);
    kms_import_job_free(job);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kms_registry_close(f->reg);
    unit_dir_close(&f->dir);
    free(f->public_pem);
    free(f);
    return 0;
}

/* RSA-OAEP with the public key in pem (hash for OAEP and MGF1). */
static size_t oaep_encrypt(const char *pem, const char *hash, const unsigned char *in, size_t len,
                           unsigned char *out)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(pub);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
    size_t out_len = 512;
    assert_true(EVP_PKEY_encrypt_init(ctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_get_digestbyname(hash)) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_get_digestbyname(hash)) > 0);
    assert_true(EVP_PKEY_encrypt(ctx, out, &out_len, in, len) > 0);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pub);
    return out_len;
}

/* CKM_RSA_AES_KEY_WRAP: RSA-OAEP(SHA-1) of an ephemeral AES-256 key, then AES-KWP of the
 * material with it. out must hold 384 + len + 16 bytes. */
static size_t wrap(const char *pem, const unsigned char *material, size_t len, unsigned char *out)
{
    unsigned char ephemeral[32];
    struct em_status st = {0};
    assert_int_equal(em_random_bytes(ephemeral, sizeof(ephemeral), &st), EM_OK);
    size_t n = oaep_encrypt(pem, "SHA1", ephemeral, sizeof(ephemeral), out);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int a = 0, b = 0;
    assert_true(EVP_EncryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, ephemeral, NULL) > 0);
    assert_true(EVP_EncryptUpdate(ctx, out + n, &a, material, (int)len) > 0);
    assert_true(EVP_EncryptFinal_ex(ctx, out + n + a, &b) > 0);
    EVP_CIPHER_CTX_free(ctx);
    return n + (size_t)a + (size_t)b;
}

static enum em_code import(struct fixture *f, const char *key, const char *alg,
                           const unsigned char *wrapped, size_t len, const char *target,
                           int64_t now, struct kms_version_view *view, struct em_status *st)
{
    struct kms_import_request req = {key, JOB, kms_algorithm_find(alg), wrapped, len, target};
    return kms_version_import(f->reg, &req, now, view, st);
}

/* The material of version id of key, compared with expected. */
static void expect_material(struct fixture *f, const char *key, uint32_t id,
                            const unsigned char *expected, size_t len)
{
    struct em_status st = {0};
    struct kms_version_ref ref;
    assert_int_equal(kms_key_version_get(f->reg, key, id, &ref, &st), EM_OK);
    const struct kms_material *m = kms_version_material(&ref);
    assert_non_null(m);
    assert_int_equal(m->raw_len, len);
    assert_memory_equal(m->raw, expected, len);
    kms_version_put(&ref);
}

static void test_import_jobs(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_import_job *job;
    const struct kms_import_method *method = kms_import_method_find("RSA_OAEP_3072_SHA256");
    assert_null(kms_import_method_find("RSA_OAEP_2048_SHA256"));
    assert_int_equal(kms_import_job_create(f->reg, JOB, method, KMS_SOFTWARE, T0, &job, &st),
                     EM_ALREADY_EXISTS);
    assert_int_equal(kms_import_job_create(f->reg,
                                           "projects/test-project/locations/global/"
                                           "keyRings/none/importJobs/j",
                                           method, KMS_SOFTWARE, T0, &job, &st),
                     EM_NOT_FOUND);
    assert_int_equal(kms_import_job_copy(f->reg, JOB, &job, &st), EM_OK);
    assert_string_equal(job->method->name, "RSA_OAEP_3072_SHA1_AES_256");
    assert_true(job->expire_ns == T0 + 3 * DAY);
    assert_string_equal(job->public_pem, f->public_pem);
    assert_null(job->wrapping.raw); /* copies hold no private key */
    kms_import_job_free(job);
    assert_int_equal(kms_import_job_copy(f->reg, RING "/importJobs/nope", &job, &st), EM_NOT_FOUND);
    struct kms_import_job_list list;
    assert_int_equal(kms_import_job_list(f->reg, RING, &list, &st), EM_OK);
    assert_int_equal(list.count, 1);
    kms_import_job_list_free(&list);
}

static void test_symmetric_import_and_use(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char aes[32], wrapped[512], ct[128], pt[64];
    assert_int_equal(em_random_bytes(aes, sizeof(aes), &st), EM_OK);
    size_t len = wrap(f->public_pem, aes, sizeof(aes), wrapped);
    struct kms_version_view view;
    assert_int_equal(
        import(f, KEY, "GOOGLE_SYMMETRIC_ENCRYPTION", wrapped, len, NULL, T0, &view, &st), EM_OK);
    assert_int_equal(view.version->id, 1);
    assert_int_equal(view.version->state, KMS_ENABLED);
    assert_string_equal(view.version->import_job, JOB);
    assert_true(view.version->import_ns == T0 && view.version->generate_ns == 0);
    assert_int_equal(view.key->primary, 1); /* a symmetric key's first version */
    kms_version_view_free(&view);
    expect_material(f, KEY, 1, aes, sizeof(aes));

    /* the imported key encrypts and decrypts as any other */
    struct kms_version_ref ref;
    const unsigned char secret[] = "imported";
    size_t pt_len;
    assert_int_equal(kms_primary_version_get(f->reg, KEY, &ref, &st), EM_OK);
    assert_int_equal(
        kms_encrypt(kms_version_material(&ref), 1, NULL, 0, secret, sizeof(secret), ct, &st),
        EM_OK);
    assert_true(kms_decrypt(kms_version_material(&ref), NULL, 0, ct,
                            kms_ciphertext_size(sizeof(secret)), pt, &pt_len));
    kms_version_put(&ref);
    assert_memory_equal(pt, secret, sizeof(secret));

    /* import-only: versions come only by import, never by creation or rotation */
    assert_int_equal(kms_version_create(f->reg, KEY, T0, NULL, &st), EM_FAILED_PRECONDITION);
    struct kms_key_update rotate = {.mask = KMS_FIELD_ROTATION_PERIOD,
                                    .rotation_period_ns = 7 * DAY};
    assert_int_equal(kms_key_update(f->reg, KEY, &rotate, T0, NULL, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "import-only"));
    struct kms_key_spec rotating = {
        .purpose = "ENCRYPT_DECRYPT", .import_only = true, .rotation_period_ns = 7 * DAY};
    assert_int_equal(
        kms_key_create(f->reg, RING "/cryptoKeys/rotating", &rotating, true, T0, NULL, &st),
        EM_INVALID_ARGUMENT);
}

/* The state and failure reason of version id of key. */
static void expect_failed(struct fixture *f, const char *key, uint32_t id, const char *reason)
{
    struct em_status st = {0};
    char name[KMS_VERSION_NAME_MAX];
    snprintf(name, sizeof(name), "%s/cryptoKeyVersions/%u", key, id);
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, name, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_IMPORT_FAILED);
    if (!strstr(view.version->failure_reason, reason))
        fail_msg("%s: reason '%s' lacks '%s'", name, view.version->failure_reason, reason);
    kms_version_view_free(&view);
    struct kms_version_ref ref;
    assert_int_equal(kms_version_get(f->reg, name, &ref, &st), EM_OK);
    assert_null(kms_version_material(&ref));
    assert_int_equal(kms_version_check_usable(f->reg, &ref, T0, &st), EM_FAILED_PRECONDITION);
    kms_version_put(&ref);
}

/* Wrong arguments fail the call; material Google would refuse while importing makes an
 * IMPORT_FAILED version with the reason. */
static void test_refusals(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char aes[32] = {1}, wrapped[512];
    size_t len = wrap(f->public_pem, aes, sizeof(aes), wrapped);
    const char *alg = "GOOGLE_SYMMETRIC_ENCRYPTION";
    /* the wrapped bytes altered or cut: versions 1 to 3 fail */
    wrapped[len - 1] ^= 1;
    assert_int_equal(import(f, KEY, alg, wrapped, len, NULL, T0, NULL, &st), EM_OK);
    expect_failed(f, KEY, 1, "does not unwrap");
    wrapped[len - 1] ^= 1;
    assert_int_equal(import(f, KEY, alg, wrapped, 384, NULL, T0, NULL, &st), EM_OK);
    assert_int_equal(import(f, KEY, alg, wrapped, 10, NULL, T0, NULL, &st), EM_OK);
    expect_failed(f, KEY, 3, "does not unwrap");
    /* a 16-byte key for AES-256 */
    len = wrap(f->public_pem, aes, 16, wrapped);
    assert_int_equal(import(f, KEY, alg, wrapped, len, NULL, T0, NULL, &st), EM_OK);
    expect_failed(f, KEY, 4, "must be 32 bytes");
    assert_int_equal(kms_version_destroy(f->reg, KEY "/cryptoKeyVersions/4", T0, NULL, &st),
                     EM_FAILED_PRECONDITION); /* nor destroyed, enabled or disabled */
    /* a symmetric algorithm for a signing key: the call fails */
    len = wrap(f->public_pem, aes, sizeof(aes), wrapped);
    assert_int_equal(import(f, SIGN, alg, wrapped, len, NULL, T0, NULL, &st), EM_INVALID_ARGUMENT);
    /* the job expires 3 days after its creation */
    assert_int_equal(import(f, KEY, alg, wrapped, len, NULL, T0 + 3 * DAY, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "EXPIRED"));
    /* an HSM job for a SOFTWARE key */
    struct kms_import_job *hsm;
    assert_int_equal(kms_import_job_create(f->reg, RING "/importJobs/hsm",
                                           kms_import_method_find("RSA_OAEP_3072_SHA256"), KMS_HSM,
                                           T0, &hsm, &st),
                     EM_OK);
    unsigned char direct[512];
    size_t direct_len = oaep_encrypt(hsm->public_pem, "SHA256", aes, sizeof(aes), direct);
    kms_import_job_free(hsm);
    struct kms_import_request req = {
        KEY, RING "/importJobs/hsm", kms_algorithm_find(alg), direct, direct_len, NULL};
    assert_int_equal(kms_version_import(f->reg, &req, T0, NULL, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "protection level HSM"));
    struct kms_key *key;
    assert_int_equal(kms_key_copy(f->reg, KEY, &key, &st), EM_OK);
    assert_int_equal(key->version_count, 4); /* the calls that failed made no version */
    assert_int_equal(key->primary, 0);       /* and a failed import is no primary */
    kms_key_free(key);
}

/* A PKCS#8 DER private key on curve (malloc'd). */
static unsigned char *ec_pkcs8(const char *curve, int *len)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(pkey);
    PKCS8_PRIV_KEY_INFO *info = EVP_PKEY2PKCS8(pkey);
    unsigned char *der = NULL;
    *len = i2d_PKCS8_PRIV_KEY_INFO(info, &der);
    assert_true(*len > 0);
    PKCS8_PRIV_KEY_INFO_free(info);
    EVP_PKEY_free(pkey);
    return der;
}

static void test_asymmetric_import(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char wrapped[1024];
    int der_len;
    unsigned char *der = ec_pkcs8("P-384", &der_len);
    size_t len = wrap(f->public_pem, der, (size_t)der_len, wrapped);
    OPENSSL_free(der);
    assert_int_equal(import(f, SIGN, "EC_SIGN_P256_SHA256", wrapped, len, NULL, T0, NULL, &st),
                     EM_OK);
    expect_failed(f, SIGN, 1, "does not match algorithm EC_SIGN_P256_SHA256");
    unsigned char not_der[40] = {0x30, 0x05};
    len = wrap(f->public_pem, not_der, sizeof(not_der), wrapped);
    assert_int_equal(import(f, SIGN, "EC_SIGN_P256_SHA256", wrapped, len, NULL, T0, NULL, &st),
                     EM_OK);
    expect_failed(f, SIGN, 2, "PKCS#8");

    der = ec_pkcs8("P-256", &der_len);
    len = wrap(f->public_pem, der, (size_t)der_len, wrapped);
    OPENSSL_free(der);
    struct kms_version_view view;
    assert_int_equal(import(f, SIGN, "EC_SIGN_P256_SHA256", wrapped, len, NULL, T0, &view, &st),
                     EM_OK);
    assert_int_equal(view.key->primary, 0); /* asymmetric keys have no primary */
    kms_version_view_free(&view);
    struct kms_version_ref ref;
    unsigned char digest[32] = {7}, *sig = NULL;
    size_t sig_len;
    assert_int_equal(kms_key_version_get(f->reg, SIGN, 3, &ref, &st), EM_OK);
    assert_int_equal(kms_sign(ref.version.alg, kms_version_material(&ref), digest, sizeof(digest),
                              &sig, &sig_len, &st),
                     EM_OK);
    kms_version_put(&ref);
    free(sig);
}

static void test_reimport(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char aes[32], other[32], wrapped[512];
    assert_int_equal(em_random_bytes(aes, sizeof(aes), &st), EM_OK);
    memcpy(other, aes, sizeof(other));
    other[0] ^= 0x80;
    const char *alg = "GOOGLE_SYMMETRIC_ENCRYPTION";
    const char *v1 = KEY "/cryptoKeyVersions/1";
    size_t len = wrap(f->public_pem, aes, sizeof(aes), wrapped);
    assert_int_equal(import(f, KEY, alg, wrapped, len, NULL, T0, NULL, &st), EM_OK);
    /* only a DESTROYED (or IMPORT_FAILED) version takes material back */
    assert_int_equal(import(f, KEY, alg, wrapped, len, v1, T0, NULL, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 30 * DAY, &st), EM_OK);

    /* after a restart: the job, its key and the version's digest are kept */
    kms_registry_close(f->reg);
    assert_int_equal(kms_registry_open(f->dir.store, f->dir.path, 0, &f->reg, &st), EM_OK);
    struct kms_import_job *job;
    assert_int_equal(kms_import_job_copy(f->reg, JOB, &job, &st), EM_OK);
    assert_string_equal(job->public_pem, f->public_pem);
    kms_import_job_free(job);

    /* the job expired meanwhile (30 days): a new one wraps the same material */
    assert_int_equal(kms_import_job_create(f->reg, RING "/importJobs/again",
                                           kms_import_method_find("RSA_OAEP_3072_SHA256"),
                                           KMS_SOFTWARE, T0 + 30 * DAY, &job, &st),
                     EM_OK);
    unsigned char direct[512];
    size_t direct_len = oaep_encrypt(job->public_pem, "SHA256", other, sizeof(other), direct);
    struct kms_import_request req = {
        KEY, RING "/importJobs/again", kms_algorithm_find(alg), direct, direct_len, v1};
    assert_int_equal(kms_version_import(f->reg, &req, T0 + 30 * DAY, NULL, &st), EM_OK);
    expect_failed(f, KEY, 1, "must match the material"); /* other material: reimport again */
    direct_len = oaep_encrypt(job->public_pem, "SHA256", aes, sizeof(aes), direct);
    kms_import_job_free(job);
    req.wrapped_len = direct_len;
    struct kms_version_view view;
    assert_int_equal(kms_version_import(f->reg, &req, T0 + 30 * DAY, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_ENABLED);
    assert_string_equal(view.version->import_job, RING "/importJobs/again");
    assert_true(view.version->destroy_ns == 0);
    kms_version_view_free(&view);
    expect_material(f, KEY, 1, aes, sizeof(aes));
    /* a generated version cannot be a reimport target */
    struct kms_key_spec plain = {.purpose = "ENCRYPT_DECRYPT"};
    assert_int_equal(kms_key_create(f->reg, RING "/cryptoKeys/plain", &plain, false, T0, NULL, &st),
                     EM_OK);
    req.key_name = RING "/cryptoKeys/plain";
    req.target_version = RING "/cryptoKeys/plain/cryptoKeyVersions/1";
    assert_int_equal(kms_version_import(f->reg, &req, T0 + 30 * DAY, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "was not imported"));
}

/* The state of version id of key. */
static enum kms_state state_of(struct fixture *f, const char *key, uint32_t id)
{
    struct em_status st = {0};
    char name[KMS_VERSION_NAME_MAX];
    snprintf(name, sizeof(name), "%s/cryptoKeyVersions/%u", key, id);
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, name, &view, &st), EM_OK);
    enum kms_state state = view.version->state;
    kms_version_view_free(&view);
    return state;
}

/* --kms-generation-delay: PENDING_IMPORT (not usable, no primary yet), then the outcome
 * at the first tick after the delay, also across a restart. */
static void test_pending_import(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char aes[32], wrapped[512];
    const int64_t delay = 30 * EM_NS_PER_SEC;
    kms_registry_set_generation_delay(f->reg, delay);
    assert_int_equal(em_random_bytes(aes, sizeof(aes), &st), EM_OK);
    size_t len = wrap(f->public_pem, aes, sizeof(aes), wrapped);
    struct kms_version_view view;
    assert_int_equal(
        import(f, KEY, "GOOGLE_SYMMETRIC_ENCRYPTION", wrapped, len, NULL, T0, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_PENDING_IMPORT);
    assert_true(view.version->import_ns == 0);
    assert_int_equal(view.key->primary, 0);
    kms_version_view_free(&view);
    struct kms_version_ref ref;
    assert_int_equal(kms_version_get(f->reg, KEY "/cryptoKeyVersions/1", &ref, &st), EM_OK);
    assert_int_equal(kms_version_check_usable(f->reg, &ref, T0, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "PENDING_IMPORT"));
    kms_version_put(&ref);
    /* material that does not unwrap: PENDING_IMPORT too, IMPORT_FAILED only later */
    wrapped[len / 2] ^= 1;
    assert_int_equal(
        import(f, KEY, "GOOGLE_SYMMETRIC_ENCRYPTION", wrapped, len, NULL, T0, NULL, &st), EM_OK);
    assert_int_equal(state_of(f, KEY, 2), KMS_PENDING_IMPORT);

    assert_int_equal(kms_registry_tick(f->reg, T0 + delay - 1, &st), EM_OK);
    assert_int_equal(state_of(f, KEY, 1), KMS_PENDING_IMPORT);
    /* a restart keeps them pending, with the material sealed */
    kms_registry_close(f->reg);
    assert_int_equal(kms_registry_open(f->dir.store, f->dir.path, 0, &f->reg, &st), EM_OK);
    assert_int_equal(state_of(f, KEY, 1), KMS_PENDING_IMPORT);
    assert_int_equal(kms_registry_tick(f->reg, T0 + delay, &st), EM_OK);
    assert_int_equal(kms_version_copy(f->reg, KEY "/cryptoKeyVersions/1", &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_ENABLED);
    assert_true(view.version->import_ns == T0 + delay);
    assert_int_equal(view.key->primary, 1); /* the key's first usable version */
    kms_version_view_free(&view);
    expect_material(f, KEY, 1, aes, sizeof(aes));
    expect_failed(f, KEY, 2, "does not unwrap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symmetric_import_and_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asymmetric_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_import, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
