/*
 * test_crypto: em_crypto: CRC32C against published vectors and a bit-by-bit reference at
 * every alignment and length (whichever of the hardware or table path this CPU takes),
 * AES-256-GCM sealing (round trips; wrong key, wrong AAD, any tampered byte and short
 * blobs refused, with the output wiped), random bytes, wiping and the error mapping.
 *
 * em_crypto.c is compiled into this test (instead of taken from libemulator.a) so the test
 * can switch CRC32C between the SSE4.2 instruction and the table code that machines without
 * it run, and check that both give the same answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_crypto.h"
#include "em_log.h"

#include "emulator/em_crypto.c"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- CRC32C */

/* The definition, one bit at a time (reflected polynomial 0x82F63B78). */
static uint32_t crc32c_reference(const unsigned char *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

/* em_crc32c on both paths (the hardware one when this CPU has it); they must agree. */
static uint32_t crc(const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    bool has_hardware = crc_hardware;
    crc_hardware = false;
    uint32_t table = em_crc32c(data, len);
    crc_hardware = has_hardware;
    uint32_t fast = em_crc32c(data, len);
    if (fast != table)
        fail_msg("hardware CRC32C %08x, table %08x (length %zu)", fast, table, len);
    return fast;
}

static void test_crc32c_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(crc("123456789", 9), 0xE3069283u);
    assert_int_equal(crc("", 0), 0);
    assert_int_equal(crc(NULL, 0), 0);
    assert_int_equal(crc("a", 1), 0xC1D04330u);
    /* RFC 3720 (iSCSI) appendix B.4 */
    unsigned char buf[32];
    memset(buf, 0, sizeof(buf));
    assert_int_equal(crc(buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(crc(buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(crc(buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(crc(buf, 32), 0x113FDB5Cu);
}

static void test_crc32c_every_alignment_and_length(void **state)
{
    (void)state;
    unsigned char buf[600];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 131 + (i >> 3));
    for (size_t offset = 0; offset < 16; offset++)
        for (size_t len = 0; len + offset <= 300; len++)
            if (crc(buf + offset, len) != crc32c_reference(buf + offset, len))
                fail_msg("CRC32C differs at offset %zu, length %zu", offset, len);
}

static void test_crc32c_long_buffer(void **state)
{
    (void)state;
    size_t len = 3 * 1024 * 1024 + 5;
    unsigned char *buf = malloc(len + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < len + 1; i++)
        buf[i] = (unsigned char)(i ^ (i >> 11));
    assert_int_equal(crc(buf, len), crc32c_reference(buf, len));
    assert_int_equal(crc(buf + 1, len), crc32c_reference(buf + 1, len));
    /* one flipped bit changes it */
    uint32_t before = crc(buf, len);
    buf[len / 2] ^= 0x10;
    assert_int_not_equal(crc(buf, len), before);
    free(buf);
}

/* ---------------------------------------------------------------- sealing */

static const char aad[] = "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1";
static const char secret[] = "the plaintext of a data encryption key";

struct sealed {
    unsigned char key[EM_AES_KEY_BYTES];
    unsigned char blob[sizeof(secret) + EM_SEAL_OVERHEAD];
    unsigned char out[sizeof(secret)];
};

static int setup(void **state)
{
    struct sealed *s = calloc(1, sizeof(*s));
    struct em_status st = {0};
    if (!s || em_random_bytes(s->key, sizeof(s->key), &st) ||
        em_seal(s->key, aad, strlen(aad), secret, sizeof(secret), s->blob, &st)) {
        free(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static bool all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static void test_seal_open_round_trip(void **state)
{
    struct sealed *s = *state;
    assert_true(em_open(s->key, aad, strlen(aad), s->blob, sizeof(s->blob), s->out));
    assert_memory_equal(s->out, secret, sizeof(secret));
    /* the plaintext is not in the blob */
    assert_null(memmem(s->blob, sizeof(s->blob), "plaintext", 9));
}

static void test_seal_uses_a_fresh_nonce(void **state)
{
    struct sealed *s = *state;
    unsigned char again[sizeof(s->blob)];
    struct em_status st = {0};
    assert_int_equal(em_seal(s->key, aad, strlen(aad), secret, sizeof(secret), again, &st), EM_OK);
    assert_memory_not_equal(again, s->blob, EM_GCM_NONCE_BYTES);
    assert_memory_not_equal(again, s->blob, sizeof(again));
    assert_true(em_open(s->key, aad, strlen(aad), again, sizeof(again), s->out));
    assert_memory_equal(s->out, secret, sizeof(secret));
}

static void test_open_refuses_the_wrong_key(void **state)
{
    struct sealed *s = *state;
    unsigned char other[EM_AES_KEY_BYTES];
    memcpy(other, s->key, sizeof(other));
    other[31] ^= 1;
    memset(s->out, 0xAA, sizeof(s->out));
    assert_false(em_open(other, aad, strlen(aad), s->blob, sizeof(s->blob), s->out));
    assert_true(all_zero(s->out, sizeof(s->out))); /* nothing unauthenticated leaks */
}

static void test_open_refuses_the_wrong_aad(void **state)
{
    struct sealed *s = *state;
    const char *other = "projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2";
    assert_false(em_open(s->key, other, strlen(other), s->blob, sizeof(s->blob), s->out));
    assert_false(em_open(s->key, aad, strlen(aad) - 1, s->blob, sizeof(s->blob), s->out));
    assert_false(em_open(s->key, NULL, 0, s->blob, sizeof(s->blob), s->out));
}

static void test_open_refuses_any_tampered_byte(void **state)
{
    struct sealed *s = *state;
    for (size_t i = 0; i < sizeof(s->blob); i++) {
        s->blob[i] ^= 0x01;
        if (em_open(s->key, aad, strlen(aad), s->blob, sizeof(s->blob), s->out))
            fail_msg("a flipped bit in byte %zu was not noticed", i);
        s->blob[i] ^= 0x01;
    }
    assert_true(em_open(s->key, aad, strlen(aad), s->blob, sizeof(s->blob), s->out));
}

static void test_open_refuses_short_and_truncated_blobs(void **state)
{
    struct sealed *s = *state;
    for (size_t len = 0; len < EM_SEAL_OVERHEAD; len++)
        assert_false(em_open(s->key, aad, strlen(aad), s->blob, len, s->out));
    assert_false(em_open(s->key, aad, strlen(aad), s->blob, sizeof(s->blob) - 1, s->out));
    assert_false(em_open(s->key, aad, strlen(aad), s->blob, EM_SEAL_OVERHEAD, s->out));
}

static void test_empty_plaintext_and_no_aad(void **state)
{
    struct sealed *s = *state;
    unsigned char blob[EM_SEAL_OVERHEAD];
    struct em_status st = {0};
    assert_int_equal(em_seal(s->key, NULL, 0, "", 0, blob, &st), EM_OK);
    unsigned char out[1];
    assert_true(em_open(s->key, NULL, 0, blob, sizeof(blob), out));
    assert_false(em_open(s->key, "x", 1, blob, sizeof(blob), out));
    blob[EM_SEAL_OVERHEAD - 1] ^= 0x80;
    assert_false(em_open(s->key, NULL, 0, blob, sizeof(blob), out));
}

static void test_large_plaintext(void **state)
{
    struct sealed *s = *state;
    size_t len = 1 << 20;
    unsigned char *plain = malloc(len), *blob = malloc(len + EM_SEAL_OVERHEAD), *out = malloc(len);
    assert_true(plain && blob && out);
    for (size_t i = 0; i < len; i++)
        plain[i] = (unsigned char)(i * 7);
    struct em_status st = {0};
    assert_int_equal(em_seal(s->key, aad, strlen(aad), plain, len, blob, &st), EM_OK);
    assert_true(em_open(s->key, aad, strlen(aad), blob, len + EM_SEAL_OVERHEAD, out));
    assert_memory_equal(out, plain, len);
    free(plain);
    free(blob);
    free(out);
}

/* ---------------------------------------------------------------- helpers */

static void test_random_bytes(void **state)
{
    (void)state;
    unsigned char a[32] = {0}, b[32] = {0};
    struct em_status st = {0};
    assert_int_equal(em_random_bytes(a, sizeof(a), &st), EM_OK);
    assert_int_equal(em_random_bytes(b, sizeof(b), &st), EM_OK);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_false(all_zero(a, sizeof(a)));
    assert_int_equal(em_random_bytes(NULL, 0, &st), EM_OK);
}

static void test_wipe(void **state)
{
    (void)state;
    unsigned char key[EM_AES_KEY_BYTES];
    memset(key, 0x5A, sizeof(key));
    em_wipe(key, sizeof(key));
    assert_true(all_zero(key, sizeof(key)));
    em_wipe(NULL, 16);
}

static void test_crypto_error_is_internal_and_drains_openssl(void **state)
{
    (void)state;
    /* provoke an OpenSSL error: a cipher that does not exist */
    EVP_CIPHER *none = EVP_CIPHER_fetch(NULL, "NO-SUCH-CIPHER", NULL);
    assert_null(none);
    assert_int_not_equal(ERR_peek_error(), 0);
    struct em_status st = {0};
    assert_int_equal(em_crypto_error("key generation", &st), EM_INTERNAL);
    assert_string_equal(st.message, "Internal cryptographic error (key generation).");
    assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_vectors),
        cmocka_unit_test(test_crc32c_every_alignment_and_length),
        cmocka_unit_test(test_crc32c_long_buffer),
        cmocka_unit_test_setup_teardown(test_seal_open_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_uses_a_fresh_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_the_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_the_wrong_aad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_any_tampered_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refuses_short_and_truncated_blobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_plaintext_and_no_aad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_plaintext, setup, teardown),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_wipe),
        cmocka_unit_test(test_crypto_error_is_internal_and_drains_openssl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
