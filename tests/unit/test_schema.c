/*
 * test_schema: em_schema_check as Google's JSON transcoder answers a bad body: unknown
 * fields named by their snake_case path, wrong JSON types for every em_ftype, enums (names,
 * proto numbers normalised to names, and back to numbers for replies), base64 bytes,
 * repeated fields, maps, timestamps and durations, null (absent as a value, refused as a
 * list item or map value), snake_case member names renamed to the JSON name, and the root
 * check ("" is an empty message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "em_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A slice of google.cloud.kms.v1.CryptoKey, with a field of every type. The enums carry
 * their real proto numbers, gaps and declaration order included. */
static const struct em_enum_value purpose_values[] = {{"CRYPTO_KEY_PURPOSE_UNSPECIFIED", 0},
                                                      {"ENCRYPT_DECRYPT", 1},
                                                      {"ASYMMETRIC_SIGN", 5},
                                                      {"ASYMMETRIC_DECRYPT", 6},
                                                      {"MAC", 9},
                                                      {NULL}};
static const struct em_enum purposes = {"google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose",
                                        purpose_values};
static const struct em_enum_value level_values[] = {
    {"PROTECTION_LEVEL_UNSPECIFIED", 0}, {"SOFTWARE", 1}, {"HSM", 2}, {NULL}};
static const struct em_enum levels = {"google.cloud.kms.v1.ProtectionLevel", level_values};
static const struct em_enum_value algorithm_values[] = {
    {"CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", 0},
    {"GOOGLE_SYMMETRIC_ENCRYPTION", 1},
    {"AES_128_GCM", 41},
    {"RSA_SIGN_PSS_2048_SHA256", 2},
    {"EC_SIGN_P256_SHA256", 12},
    {NULL}};
static const struct em_enum algorithms = {
    "google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm", algorithm_values};

static const struct em_field template_fields[] = {
    {"protectionLevel", EM_F_ENUM, false, NULL, &levels},
    {"algorithm", EM_F_ENUM, false, NULL, &algorithms},
    {NULL}};
static const struct em_message template_msg = {"google.cloud.kms.v1.CryptoKeyVersionTemplate",
                                               template_fields};

static const struct em_field key_fields[] = {
    {"name", EM_F_STRING},
    {"purpose", EM_F_ENUM, false, NULL, &purposes},
    {"purposes", EM_F_ENUM, true, NULL, &purposes},
    {"versionTemplate", EM_F_MESSAGE, false, &template_msg},
    {"labels", EM_F_MAP},
    {"templates", EM_F_MAP, false, &template_msg},
    {"createTime", EM_F_TIMESTAMP},
    {"rotationPeriod", EM_F_DURATION},
    {"importOnly", EM_F_BOOL},
    {"versionCount", EM_F_INT32},
    {"sizeBytes", EM_F_INT64},
    {"ratio", EM_F_DOUBLE},
    {"secret", EM_F_BYTES},
    {"aliases", EM_F_STRING, true},
    {"history", EM_F_MESSAGE, true, &template_msg},
    {"extra", EM_F_ANY},
    {NULL}};
static const struct em_message key_msg = {"google.cloud.kms.v1.CryptoKey", key_fields};

/* The body of CreateCryptoKey is the crypto_key field of the request. */
#define BODY "crypto_key"

/* Parses json, checks it and returns the code; the message lands in st. */
static enum em_code check_json(const char *json, const char *body_field, struct em_status *st,
                               cJSON **out)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        fail_msg("test JSON does not parse: %s", json);
    em_status_clear(st);
    enum em_code code = em_schema_check(&key_msg, root, body_field, st);
    if (out)
        *out = root;
    else
        cJSON_Delete(root);
    return code;
}

static void ok(const char *json)
{
    struct em_status st;
    if (check_json(json, BODY, &st, NULL) != EM_OK)
        fail_msg("%s refused: %s", json, st.message);
}

/* Refused with exactly this message. */
static void refused(const char *json, const char *message)
{
    struct em_status st;
    if (check_json(json, BODY, &st, NULL) != EM_INVALID_ARGUMENT)
        fail_msg("%s accepted", json);
    assert_int_equal(st.code, EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, message);
}

/* Refused with a message that starts with prefix. */
static void refused_at(const char *json, const char *prefix)
{
    struct em_status st;
    if (check_json(json, BODY, &st, NULL) != EM_INVALID_ARGUMENT)
        fail_msg("%s accepted", json);
    if (strncmp(st.message, prefix, strlen(prefix)) != 0)
        fail_msg("%s: message \"%s\" does not start with \"%s\"", json, st.message, prefix);
}

static void test_a_full_valid_body_passes(void **state)
{
    (void)state;
    ok("{}");
    ok("{\"name\": \"k\", \"purpose\": \"ENCRYPT_DECRYPT\","
       " \"versionTemplate\": {\"protectionLevel\": \"HSM\", \"algorithm\": 12},"
       " \"labels\": {\"env\": \"prod\"}, \"createTime\": \"2026-01-01T00:00:00Z\","
       " \"rotationPeriod\": \"86400s\", \"importOnly\": false, \"versionCount\": 3,"
       " \"sizeBytes\": \"9007199254740993\", \"ratio\": 0.5, \"secret\": \"aGVsbG8=\","
       " \"aliases\": [\"a\", \"b\"], \"history\": [{\"algorithm\": \"AES_128_GCM\"}],"
       " \"extra\": {\"anything\": [1, {\"goes\": null}]}}");
}

static void test_unknown_fields_are_named_with_their_path(void **state)
{
    (void)state;
    refused("{\"nmae\": \"k\"}", "Invalid JSON payload received. Unknown name \"nmae\" at "
                                 "'crypto_key': Cannot find field.");
    refused("{\"versionTemplate\": {\"protection\": \"HSM\"}}",
            "Invalid JSON payload received. Unknown name \"protection\" at "
            "'crypto_key.version_template': Cannot find field.");
    refused("{\"history\": [{}, {\"bogus\": 1}]}",
            "Invalid JSON payload received. Unknown name \"bogus\" at "
            "'crypto_key.history[1]': Cannot find field.");
    refused("{\"templates\": {\"a\": {\"bogus\": 1}}}",
            "Invalid JSON payload received. Unknown name \"bogus\" at "
            "'crypto_key.templates[a]': Cannot find field.");
    /* field names are case-sensitive */
    refused_at("{\"Name\": \"k\"}", "Invalid JSON payload received. Unknown name \"Name\"");
}

static void test_unknown_fields_of_a_whole_request_body(void **state)
{
    (void)state;
    struct em_status st;
    assert_int_equal(check_json("{\"cryptoKeyId\": \"k\"}", NULL, &st, NULL), EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid JSON payload received. Unknown name "
                                    "\"cryptoKeyId\": Cannot find field.");
    assert_int_equal(check_json("{\"versionTemplate\": {\"x\": 1}}", NULL, &st, NULL),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid JSON payload received. Unknown name \"x\" at "
                                    "'version_template': Cannot find field.");
}

static void test_wrong_json_types(void **state)
{
    (void)state;
    refused("{\"name\": 5}", "Invalid value at 'crypto_key.name' (TYPE_STRING), 5");
    refused("{\"name\": [\"k\"]}", "Invalid value at 'crypto_key.name' (TYPE_STRING), [...]");
    refused("{\"importOnly\": \"true\"}",
            "Invalid value at 'crypto_key.import_only' (TYPE_BOOL), \"true\"");
    refused("{\"importOnly\": 1}", "Invalid value at 'crypto_key.import_only' (TYPE_BOOL), 1");
    refused("{\"ratio\": true}", "Invalid value at 'crypto_key.ratio' (TYPE_DOUBLE), true");
    refused("{\"ratio\": {}}", "Invalid value at 'crypto_key.ratio' (TYPE_DOUBLE), {...}");
    refused("{\"versionCount\": \"three\"}",
            "Invalid value at 'crypto_key.version_count' (TYPE_INT32), \"three\"");
    refused("{\"sizeBytes\": true}", "Invalid value at 'crypto_key.size_bytes' (TYPE_INT64), true");
    refused("{\"secret\": 12}", "Invalid value at 'crypto_key.secret' (TYPE_BYTES), 12");
    refused("{\"createTime\": 1767225600}",
            "Invalid value at 'crypto_key.create_time' "
            "(type.googleapis.com/google.protobuf.Timestamp), 1767225600");
    refused("{\"rotationPeriod\": 86400}", "Invalid value at 'crypto_key.rotation_period' "
                                           "(type.googleapis.com/google.protobuf.Duration), 86400");
    refused("{\"versionTemplate\": \"HSM\"}",
            "Invalid value at 'crypto_key.version_template' "
            "(type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersionTemplate), \"HSM\": "
            "expected an object");
    refused("{\"labels\": [\"env\"]}", "Invalid value at 'crypto_key.labels' "
                                       "(type.googleapis.com/google.protobuf.Map), [...]: "
                                       "expected an object");
}

static void test_integers(void **state)
{
    (void)state;
    ok("{\"versionCount\": 2147483647, \"sizeBytes\": 9000000000}");
    ok("{\"versionCount\": \"-2147483648\", \"sizeBytes\": \"-9223372036854775808\"}");
    ok("{\"versionCount\": 1e3}");
    refused_at("{\"versionCount\": 2147483648}", "Invalid value at 'crypto_key.version_count'");
    refused_at("{\"versionCount\": \"-2147483649\"}",
               "Invalid value at 'crypto_key.version_count'");
    refused_at("{\"versionCount\": 1.5}", "Invalid value at 'crypto_key.version_count'");
    refused_at("{\"versionCount\": \"1.5\"}", "Invalid value at 'crypto_key.version_count'");
    refused_at("{\"versionCount\": \"\"}", "Invalid value at 'crypto_key.version_count'");
    refused_at("{\"sizeBytes\": \"9223372036854775808\"}",
               "Invalid value at 'crypto_key.size_bytes'");
    refused_at("{\"sizeBytes\": 1e19}", "Invalid value at 'crypto_key.size_bytes'");
    refused_at("{\"sizeBytes\": \"12abc\"}", "Invalid value at 'crypto_key.size_bytes'");
}

static void test_enum_names_and_numbers(void **state)
{
    (void)state;
    ok("{\"purpose\": \"ASYMMETRIC_SIGN\"}");
    ok("{\"purpose\": 5}");
    ok("{\"purpose\": 9.0}");
    refused("{\"purpose\": \"SIGN\"}",
            "Invalid value at 'crypto_key.purpose' "
            "(type.googleapis.com/google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose), \"SIGN\"");
    refused_at("{\"purpose\": \"encrypt_decrypt\"}", "Invalid value at 'crypto_key.purpose'");
    /* numbers are proto numbers: 2, 3 and 4 are list positions, not CryptoKeyPurpose values */
    refused("{\"purpose\": 2}",
            "Invalid value at 'crypto_key.purpose' "
            "(type.googleapis.com/google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose), 2");
    refused_at("{\"purpose\": 4}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": 10}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": -1}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": 1.5}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": 4294967301}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": \"5\"}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"purpose\": true}", "Invalid value at 'crypto_key.purpose'");
    refused_at("{\"versionTemplate\": {\"protectionLevel\": \"HSMX\"}}",
               "Invalid value at 'crypto_key.version_template.protection_level' "
               "(type.googleapis.com/google.cloud.kms.v1.ProtectionLevel)");
    refused_at("{\"versionTemplate\": {\"algorithm\": 3}}",
               "Invalid value at 'crypto_key.version_template.algorithm' "
               "(type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersion."
               "CryptoKeyVersionAlgorithm), 3");
    refused_at("{\"purposes\": [1, 7]}", "Invalid value at 'crypto_key.purposes[1]'");
}

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        fail_msg("%s is not a string", key);
    return v->valuestring;
}

static void test_enum_numbers_become_names(void **state)
{
    (void)state;
    struct em_status st;
    cJSON *root;
    assert_int_equal(check_json("{\"purpose\": 5, \"versionTemplate\": {\"protectionLevel\": 2,"
                                " \"algorithm\": 12}, \"purposes\": [9, \"ENCRYPT_DECRYPT\", 6],"
                                " \"history\": [{\"algorithm\": 41}]}",
                                BODY, &st, &root),
                     EM_OK);
    assert_string_equal(string_at(root, "purpose"), "ASYMMETRIC_SIGN");
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(root, "versionTemplate");
    assert_string_equal(string_at(tmpl, "protectionLevel"), "HSM");
    assert_string_equal(string_at(tmpl, "algorithm"), "EC_SIGN_P256_SHA256");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "purposes");
    assert_string_equal(cJSON_GetArrayItem(list, 0)->valuestring, "MAC");
    assert_string_equal(cJSON_GetArrayItem(list, 1)->valuestring, "ENCRYPT_DECRYPT");
    assert_string_equal(cJSON_GetArrayItem(list, 2)->valuestring, "ASYMMETRIC_DECRYPT");
    const cJSON *history = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "history"), 0);
    assert_string_equal(string_at(history, "algorithm"), "AES_128_GCM");
    /* the body re-serialises with names */
    char *text = cJSON_PrintUnformatted(root);
    assert_non_null(strstr(text, "\"purpose\":\"ASYMMETRIC_SIGN\""));
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_enum_lookups_use_proto_numbers(void **state)
{
    (void)state;
    assert_int_equal(em_enum_by_name(&purposes, "ASYMMETRIC_SIGN")->number, 5);
    assert_int_equal(em_enum_by_name(&purposes, "CRYPTO_KEY_PURPOSE_UNSPECIFIED")->number, 0);
    assert_null(em_enum_by_name(&purposes, "RAW_ENCRYPT_DECRYPT"));
    assert_null(em_enum_by_name(&purposes, ""));
    assert_string_equal(em_enum_by_number(&algorithms, 12)->name, "EC_SIGN_P256_SHA256");
    assert_string_equal(em_enum_by_number(&algorithms, 2)->name, "RSA_SIGN_PSS_2048_SHA256");
    assert_null(em_enum_by_number(&algorithms, 3));
    assert_null(em_enum_by_number(&algorithms, -1));
}

/* A reply of the slice's type with every enum spelling, answered with numbers. */
static void test_reply_enums_become_numbers(void **state)
{
    (void)state;
    cJSON *reply = cJSON_Parse(
        "{\"name\": \"k\", \"purpose\": \"ASYMMETRIC_SIGN\","
        " \"versionTemplate\": {\"protectionLevel\": \"HSM\", \"algorithm\": "
        "\"EC_SIGN_P256_SHA256\"},"
        " \"purposes\": [\"MAC\", \"ENCRYPT_DECRYPT\"],"
        " \"history\": [{\"algorithm\": \"AES_128_GCM\"}, {\"protectionLevel\": \"SOFTWARE\"}],"
        " \"templates\": {\"a\": {\"algorithm\": \"RSA_SIGN_PSS_2048_SHA256\"}},"
        " \"labels\": {\"purpose\": \"MAC\"}, \"extra\": {\"purpose\": \"MAC\"},"
        " \"undeclared\": \"MAC\"}");
    assert_non_null(reply);
    em_schema_enums_to_numbers(&key_msg, reply);
    char *text = cJSON_PrintUnformatted(reply);
    assert_string_equal(
        text, "{\"name\":\"k\",\"purpose\":5,"
              "\"versionTemplate\":{\"protectionLevel\":2,\"algorithm\":12},"
              "\"purposes\":[9,1],\"history\":[{\"algorithm\":41},{\"protectionLevel\":1}],"
              "\"templates\":{\"a\":{\"algorithm\":2}},"
              "\"labels\":{\"purpose\":\"MAC\"},\"extra\":{\"purpose\":\"MAC\"},"
              "\"undeclared\":\"MAC\"}");
    cJSON_free(text);
    cJSON_Delete(reply);
    em_schema_enums_to_numbers(&key_msg, NULL); /* harmless */

    /* a constant member name and a string reference are neither freed nor lost */
    reply = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(reply, "purpose", cJSON_CreateStringReference("MAC"));
    cJSON_AddItemToObjectCS(reply, "name", cJSON_CreateStringReference("k"));
    em_schema_enums_to_numbers(&key_msg, reply);
    text = cJSON_PrintUnformatted(reply);
    assert_string_equal(text, "{\"purpose\":9,\"name\":\"k\"}");
    cJSON_free(text);
    cJSON_Delete(reply); /* ASan: no free of the constant name or the referenced string */
}

static void test_bytes_must_be_base64(void **state)
{
    (void)state;
    ok("{\"secret\": \"aGVsbG8=\"}");
    ok("{\"secret\": \"aGVsbG8\"}");
    ok("{\"secret\": \"-_-_\"}");
    ok("{\"secret\": \"\"}");
    refused("{\"secret\": \"hello!\"}",
            "Invalid value at 'crypto_key.secret' (TYPE_BYTES), Base64 decoding failed for "
            "\"hello!\"");
    refused_at("{\"secret\": \"aGVsb\"}", "Invalid value at 'crypto_key.secret' (TYPE_BYTES), "
                                          "Base64 decoding failed");
    refused_at("{\"secret\": \"aG Vs\"}", "Invalid value at 'crypto_key.secret' (TYPE_BYTES)");
}

static void test_repeated_fields(void **state)
{
    (void)state;
    ok("{\"aliases\": []}");
    refused("{\"aliases\": \"a\"}",
            "Invalid value at 'crypto_key.aliases', expected a list of values for a repeated "
            "field");
    refused("{\"aliases\": [\"a\", 2]}",
            "Invalid value at 'crypto_key.aliases[1]' (TYPE_STRING), 2");
    refused("{\"history\": {\"algorithm\": 1}}",
            "Invalid value at 'crypto_key.history', expected a list of values for a repeated "
            "field");
    refused_at("{\"history\": [{\"algorithm\": 1}, \"Y\"]}",
               "Invalid value at 'crypto_key.history[1]' "
               "(type.googleapis.com/google.cloud.kms.v1.CryptoKeyVersionTemplate)");
}

static void test_maps_of_strings_and_of_messages(void **state)
{
    (void)state;
    ok("{\"labels\": {}}");
    ok("{\"labels\": {\"env\": \"prod\", \"team\": \"\"}}");
    refused("{\"labels\": {\"env\": \"prod\", \"count\": 3}}",
            "Invalid value at 'crypto_key.labels[count]' (TYPE_STRING), 3");
    refused("{\"labels\": {\"env\": {\"x\": \"y\"}}}",
            "Invalid value at 'crypto_key.labels[env]' (TYPE_STRING), {...}");
    ok("{\"templates\": {\"a\": {\"protectionLevel\": 1}}}");
    refused_at("{\"templates\": {\"a\": {\"protectionLevel\": \"NOPE\"}}}",
               "Invalid value at 'crypto_key.templates[a].protection_level'");
}

static void test_timestamps_and_durations(void **state)
{
    (void)state;
    ok("{\"createTime\": \"2026-01-01T00:00:00.123456789Z\"}");
    ok("{\"createTime\": \"2026-01-01T01:00:00+01:00\"}");
    refused_at("{\"createTime\": \"yesterday\"}",
               "Invalid value at 'crypto_key.create_time' "
               "(type.googleapis.com/google.protobuf.Timestamp)");
    refused_at("{\"createTime\": \"2026-13-01T00:00:00Z\"}",
               "Invalid value at 'crypto_key.create_time'");
    refused_at("{\"createTime\": \"2026-01-01\"}", "Invalid value at 'crypto_key.create_time'");
    ok("{\"rotationPeriod\": \"3.5s\"}");
    ok("{\"rotationPeriod\": \"0s\"}");
    refused_at("{\"rotationPeriod\": \"3.5\"}", "Invalid value at 'crypto_key.rotation_period' "
                                                "(type.googleapis.com/google.protobuf.Duration)");
    refused_at("{\"rotationPeriod\": \"1h\"}", "Invalid value at 'crypto_key.rotation_period'");
}

static void test_null_means_absent(void **state)
{
    (void)state;
    struct em_status st;
    cJSON *root;
    assert_int_equal(
        check_json("{\"name\": null, \"purpose\": null, \"versionTemplate\": null,"
                   " \"labels\": null, \"createTime\": null, \"rotationPeriod\": null,"
                   " \"importOnly\": null, \"versionCount\": null, \"sizeBytes\": null,"
                   " \"ratio\": null, \"secret\": null, \"aliases\": null,"
                   " \"history\": null, \"extra\": null,"
                   " \"versionTemplate\": {\"algorithm\": null}}",
                   BODY, &st, &root),
        EM_OK);
    /* handlers never see a null member: only the EM_F_ANY value and the template remain */
    char *text = cJSON_PrintUnformatted(root);
    assert_string_equal(text, "{\"extra\":null,\"versionTemplate\":{}}");
    cJSON_free(text);
    cJSON_Delete(root);
}

static void test_null_items_are_refused(void **state)
{
    (void)state;
    refused("{\"aliases\": [null]}",
            "Invalid value at 'crypto_key.aliases[0]' (TYPE_STRING), null");
    refused("{\"aliases\": [\"a\", null]}",
            "Invalid value at 'crypto_key.aliases[1]' (TYPE_STRING), null");
    refused_at("{\"purposes\": [null]}", "Invalid value at 'crypto_key.purposes[0]'");
    refused_at("{\"history\": [{}, null]}", "Invalid value at 'crypto_key.history[1]' "
                                            "(type.googleapis.com/google.cloud.kms.v1."
                                            "CryptoKeyVersionTemplate), null");
    refused("{\"labels\": {\"env\": null}}",
            "Invalid value at 'crypto_key.labels[env]' (TYPE_STRING), null");
    refused_at("{\"templates\": {\"a\": null}}", "Invalid value at 'crypto_key.templates[a]'");
    refused_at("{\"versionTemplate\": {\"protectionLevel\": \"HSM\"}, \"history\": [null]}",
               "Invalid value at 'crypto_key.history[0]'");
    /* any JSON goes inside EM_F_ANY */
    ok("{\"extra\": [null, {\"a\": null}]}");
}

static void test_snake_case_names_are_renamed(void **state)
{
    (void)state;
    struct em_status st;
    cJSON *root;
    assert_int_equal(check_json("{\"version_template\": {\"protection_level\": \"HSM\"},"
                                " \"import_only\": true}",
                                BODY, &st, &root),
                     EM_OK);
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(root, "versionTemplate");
    assert_non_null(tmpl);
    assert_null(cJSON_GetObjectItemCaseSensitive(root, "version_template"));
    assert_string_equal(em_json_string(tmpl, "protectionLevel"), "HSM");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "importOnly")));
    cJSON_Delete(root);
    /* a snake_case spelling still type-checks, under its snake_case path */
    refused("{\"import_only\": \"yes\"}",
            "Invalid value at 'crypto_key.import_only' (TYPE_BOOL), \"yes\"");
}

static void test_root_must_be_an_object(void **state)
{
    (void)state;
    const char *roots[] = {"[]", "\"key\"", "\" \"", "3", "null", "true"};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        struct em_status st;
        assert_int_equal(check_json(roots[i], BODY, &st, NULL), EM_INVALID_ARGUMENT);
        assert_string_equal(st.message,
                            "Invalid JSON payload received. Root element must be a message.");
    }
}

/* Google's client libraries send "" for an empty request message. */
static void test_an_empty_string_is_an_empty_message(void **state)
{
    (void)state;
    struct em_status st;
    cJSON *root;
    assert_int_equal(check_json("\"\"", BODY, &st, &root), EM_OK);
    assert_true(cJSON_IsObject(root));
    assert_int_equal(cJSON_GetArraySize(root), 0);
    char *text = cJSON_PrintUnformatted(root);
    assert_string_equal(text, "{}");
    cJSON_free(text);
    cJSON_Delete(root);
    assert_int_equal(check_json("  \"\"\n", NULL, &st, NULL), EM_OK);
}

static void test_snake_case_helper(void **state)
{
    (void)state;
    char out[64];
    em_snake_case("cryptoKeyId", out, sizeof(out));
    assert_string_equal(out, "crypto_key_id");
    em_snake_case("name", out, sizeof(out));
    assert_string_equal(out, "name");
    em_snake_case("", out, sizeof(out));
    assert_string_equal(out, "");
    /* a short buffer gets a terminated prefix, never an overflow */
    char small[6];
    memset(small, 'z', sizeof(small));
    em_snake_case("cryptoKeyVersionTemplate", small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    assert_int_equal(strncmp(small, "crypto_key", strlen(small)), 0);
}

/* Query parameters bind enums by name or number, in a body enum's words. */
static void test_query_enums(void **state)
{
    (void)state;
    struct em_status st = {0};
    int number = -1;
    assert_int_equal(em_schema_query_enum("protectionLevel", "HSM", &levels, &number, &st), EM_OK);
    assert_int_equal(number, 2);
    assert_int_equal(em_schema_query_enum("protectionLevel", "1", &levels, &number, &st), EM_OK);
    assert_int_equal(number, 1);
    assert_int_equal(em_schema_query_enum("protectionLevel", "", &levels, &number, &st), EM_OK);
    assert_int_equal(number, 0);
    assert_int_equal(em_schema_query_enum("protectionLevel", NULL, &levels, &number, &st), EM_OK);
    assert_int_equal(number, 0);
    assert_int_equal(em_schema_query_enum("protectionLevel", "hsm", &levels, &number, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(st.message, "Invalid value at 'protection_level' "
                                    "(type.googleapis.com/google.cloud.kms.v1.ProtectionLevel), "
                                    "\"hsm\"");
    memset(&st, 0, sizeof(st));
    assert_int_equal(em_schema_query_enum("protectionLevel", "99999999999", &levels, &number, &st),
                     EM_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_full_valid_body_passes),
        cmocka_unit_test(test_unknown_fields_are_named_with_their_path),
        cmocka_unit_test(test_unknown_fields_of_a_whole_request_body),
        cmocka_unit_test(test_wrong_json_types),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_enum_names_and_numbers),
        cmocka_unit_test(test_enum_numbers_become_names),
        cmocka_unit_test(test_enum_lookups_use_proto_numbers),
        cmocka_unit_test(test_reply_enums_become_numbers),
        cmocka_unit_test(test_bytes_must_be_base64),
        cmocka_unit_test(test_repeated_fields),
        cmocka_unit_test(test_maps_of_strings_and_of_messages),
        cmocka_unit_test(test_timestamps_and_durations),
        cmocka_unit_test(test_null_means_absent),
        cmocka_unit_test(test_null_items_are_refused),
        cmocka_unit_test(test_snake_case_names_are_renamed),
        cmocka_unit_test(test_root_must_be_an_object),
        cmocka_unit_test(test_query_enums),
        cmocka_unit_test(test_an_empty_string_is_an_empty_message),
        cmocka_unit_test(test_snake_case_helper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
