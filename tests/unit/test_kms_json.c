/*
 * Unit tests of kms_json's query parameters that bind enums and of GetPublicKey's reply:
 * publicKeyFormat and versionView / view by name and by proto number, a value the enum
 * lacks refused in Google's words for an enum, and the reply's fields with and without a
 * format (pem and pemCrc32c, or publicKey.data with its checksum and publicKeyFormat).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_crypto.h"
#include "em_json.h"
#include "kms/kms_json.h"

#include <stdlib.h>
#include <string.h>

#define FORMAT_TYPE "(type.googleapis.com/google.cloud.kms.v1.PublicKey.PublicKeyFormat)"
#define VIEW_TYPE   "(type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionView)"

/* The format text binds; fails the test unless it is accepted. */
static enum kms_key_format format_of(const char *text)
{
    struct em_status st = {0};
    enum kms_key_format format = 77;
    assert_int_equal(kms_json_public_key_format(text, &format, &st), EM_OK);
    return format;
}

/* The message that refuses text as a publicKeyFormat. */
static const char *refused_format(const char *text, struct em_status *st)
{
    enum kms_key_format format;
    assert_int_equal(kms_json_public_key_format(text, &format, st), EM_INVALID_ARGUMENT);
    return st->message;
}

static void test_public_key_format_names_and_numbers(void **state)
{
    (void)state;
    assert_int_equal(format_of(NULL), KMS_KEY_FORMAT_UNSPECIFIED);
    assert_int_equal(format_of(""), KMS_KEY_FORMAT_UNSPECIFIED);
    assert_int_equal(format_of("PUBLIC_KEY_FORMAT_UNSPECIFIED"), KMS_KEY_FORMAT_UNSPECIFIED);
    assert_int_equal(format_of("PEM"), KMS_KEY_FORMAT_PEM);
    assert_int_equal(format_of("DER"), KMS_KEY_FORMAT_DER);
    assert_int_equal(format_of("NIST_PQC"), KMS_KEY_FORMAT_NIST_PQC);
    assert_int_equal(format_of("XWING_RAW_BYTES"), KMS_KEY_FORMAT_XWING_RAW_BYTES);
    /* the proto's numbers (resources.proto), which Google's query binding takes too */
    assert_int_equal(format_of("0"), KMS_KEY_FORMAT_UNSPECIFIED);
    assert_int_equal(format_of("1"), KMS_KEY_FORMAT_PEM);
    assert_int_equal(format_of("2"), KMS_KEY_FORMAT_DER);
    assert_int_equal(format_of("3"), KMS_KEY_FORMAT_NIST_PQC);
    assert_int_equal(format_of("4"), KMS_KEY_FORMAT_XWING_RAW_BYTES);
}

static void test_public_key_format_refused(void **state)
{
    (void)state;
    struct em_status st = {0};
    assert_string_equal(refused_format("X", &st),
                        "Invalid value at 'public_key_format' " FORMAT_TYPE ", \"X\"");
    assert_string_equal(refused_format("der", &st), /* names are case-sensitive */
                        "Invalid value at 'public_key_format' " FORMAT_TYPE ", \"der\"");
    assert_string_equal(refused_format("5", &st),
                        "Invalid value at 'public_key_format' " FORMAT_TYPE ", 5");
    assert_non_null(strstr(refused_format("-1", &st), "-1"));
    assert_non_null(strstr(refused_format(" 2", &st), "\" 2\""));
    assert_non_null(strstr(refused_format("2x", &st), "\"2x\""));
    assert_non_null(strstr(refused_format("99999999999", &st), "\"99999999999\""));
}

static void test_version_view(void **state)
{
    (void)state;
    struct em_status st = {0};
    const char *accepted[] = {NULL, "", "CRYPTO_KEY_VERSION_VIEW_UNSPECIFIED", "FULL", "0", "1"};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        assert_int_equal(kms_json_version_view("versionView", accepted[i], &st), EM_OK);
    assert_int_equal(kms_json_version_view("versionView", "BASIC", &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid value at 'version_view' " VIEW_TYPE ", \"BASIC\"");
    assert_int_equal(kms_json_version_view("view", "2", &st), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid value at 'view' " VIEW_TYPE ", 2");
}

/* The reply without a format: today's pem and pemCrc32c, no publicKey. */
static void test_public_key_reply_pem_field(void **state)
{
    (void)state;
    const char *pem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    struct kms_version v = {.alg = kms_algorithm_find("EC_SIGN_P256_SHA256"),
                            .protection = KMS_HSM};
    cJSON *j = kms_json_public_key("v1name", &v, KMS_KEY_FORMAT_UNSPECIFIED,
                                   (const unsigned char *)pem, strlen(pem));
    assert_string_equal(em_json_string(j, "pem"), pem);
    char crc[16];
    snprintf(crc, sizeof(crc), "%u", em_crc32c(pem, strlen(pem)));
    assert_string_equal(em_json_string(j, "pemCrc32c"), crc);
    assert_string_equal(em_json_string(j, "name"), "v1name");
    assert_string_equal(em_json_string(j, "algorithm"), "EC_SIGN_P256_SHA256");
    assert_string_equal(em_json_string(j, "protectionLevel"), "HSM");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "publicKey"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "publicKeyFormat"));
    cJSON_Delete(j);
}

/* With a format: publicKey.data (base64 of the bytes) and its checksum, no pem. */
static void test_public_key_reply_public_key_field(void **state)
{
    (void)state;
    const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    struct kms_version v = {.alg = kms_algorithm_find("RSA_SIGN_PSS_2048_SHA256"),
                            .protection = KMS_SOFTWARE};
    cJSON *j = kms_json_public_key("v2name", &v, KMS_KEY_FORMAT_DER, der, sizeof(der));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "publicKey");
    assert_non_null(data);
    assert_string_equal(em_json_string(data, "data"), "MAMCAQA=");
    char crc[16];
    snprintf(crc, sizeof(crc), "%u", em_crc32c(der, sizeof(der)));
    assert_string_equal(em_json_string(data, "crc32cChecksum"), crc);
    assert_string_equal(em_json_string(j, "publicKeyFormat"), "DER");
    assert_string_equal(em_json_string(j, "name"), "v2name");
    assert_string_equal(em_json_string(j, "algorithm"), "RSA_SIGN_PSS_2048_SHA256");
    assert_string_equal(em_json_string(j, "protectionLevel"), "SOFTWARE");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "pem"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "pemCrc32c"));
    cJSON_Delete(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_key_format_names_and_numbers),
        cmocka_unit_test(test_public_key_format_refused),
        cmocka_unit_test(test_version_view),
        cmocka_unit_test(test_public_key_reply_pem_field),
        cmocka_unit_test(test_public_key_reply_public_key_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
