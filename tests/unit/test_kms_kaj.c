/*
 * Unit tests of Key Access Justifications (kms_kaj, kms_kaj_handlers): reading and writing
 * a policy (names and numbers, REASON_UNSPECIFIED refused, an empty list denies all), the
 * check, and through KMS's own dispatcher: keys created and updated with a policy, every
 * kind of cryptographic call refused for a reason the policy does not list, the reason an
 * emulator service gives (with the internal credential only), the audit entry, default
 * policies of projects, folders and organizations applied to new keys, the effective
 * default and enrollment, and persistence across a restart and a reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_audit.h"
#include "em_call.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_trust.h"
#include "kms/kms_kaj.h"
#include "unit_kms.h"

#include <stdlib.h>
#include <string.h>

#define PROJECT "projects/kaj-project"
#define RING    PROJECT "/locations/global/keyRings/ring"
#define KEYS    "/v1/" RING "/cryptoKeys"
#define KEY     RING "/cryptoKeys/key"
#define DENIED  "The Key Access Justifications policy of " KEY " does not allow access reason "

/* --- the policy itself --- */

static uint32_t read_policy(const char *json, enum em_code want)
{
    cJSON *policy = cJSON_Parse(json);
    uint32_t bits = 12345;
    struct em_status st = {0};
    assert_int_equal(
        kms_kaj_policy_read(policy, "crypto_key.key_access_justifications_policy", &bits, &st),
        want);
    cJSON_Delete(policy);
    return bits;
}

static char *policy_text(uint32_t policy)
{
    return em_json_print_free(kms_kaj_policy_json(policy));
}

static void test_policy_read_and_written(void **state)
{
    (void)state;
    uint32_t two = read_policy("{\"allowedAccessReasons\":[\"GOOGLE_INITIATED_SYSTEM_OPERATION\","
                               "5,\"CUSTOMER_INITIATED_ACCESS\"]}",
                               EM_OK);
    assert_true(two == (KMS_KAJ_POLICY | 1u << 5 | 1u << 6));
    char *text = policy_text(two);
    assert_string_equal(text, "{\"allowedAccessReasons\":[\"CUSTOMER_INITIATED_ACCESS\","
                              "\"GOOGLE_INITIATED_SYSTEM_OPERATION\"]}");
    free(text);
    /* an empty list is a policy that denies all, written as Google's JSON leaves it: {} */
    uint32_t none = read_policy("{}", EM_OK);
    assert_true(none == KMS_KAJ_POLICY);
    text = policy_text(none);
    assert_string_equal(text, "{}");
    free(text);
    assert_true(read_policy("null", EM_OK) == KMS_KAJ_NO_POLICY);
    read_policy("{\"allowedAccessReasons\":[\"REASON_UNSPECIFIED\"]}", EM_INVALID_ARGUMENT);
    read_policy("{\"allowedAccessReasons\":[0]}", EM_INVALID_ARGUMENT);
    read_policy("{\"allowedAccessReasons\":[12]}", EM_INVALID_ARGUMENT);
    read_policy("{\"allowedAccessReasons\":[5.5]}", EM_INVALID_ARGUMENT);
    read_policy("{\"allowedAccessReasons\":[-1]}", EM_INVALID_ARGUMENT);
}

static void test_check(void **state)
{
    (void)state;
    struct em_status st = {0};
    uint32_t customer_only = KMS_KAJ_POLICY | 1u << 5;
    assert_int_equal(kms_kaj_check(KMS_KAJ_NO_POLICY, KEY, "GOOGLE_INITIATED_REVIEW", &st), EM_OK);
    assert_int_equal(kms_kaj_check(customer_only, KEY, "CUSTOMER_INITIATED_ACCESS", &st), EM_OK);
    assert_int_equal(kms_kaj_check(customer_only, KEY, "GOOGLE_INITIATED_SYSTEM_OPERATION", &st),
                     EM_FAILED_PRECONDITION);
    assert_string_equal(st.message, DENIED "GOOGLE_INITIATED_SYSTEM_OPERATION.");
    st = (struct em_status){0};
    assert_int_equal(kms_kaj_check(KMS_KAJ_POLICY, KEY, "CUSTOMER_INITIATED_ACCESS", &st),
                     EM_FAILED_PRECONDITION);
    st = (struct em_status){0};
    assert_int_equal(kms_kaj_check(customer_only, KEY, "NOT_A_REASON", &st),
                     EM_FAILED_PRECONDITION);
    assert_string_equal(kms_kaj_reason_named("REASON_NOT_EXPECTED"), "REASON_NOT_EXPECTED");
    assert_null(kms_kaj_reason_named("reason_not_expected"));
    assert_null(kms_kaj_reason_name(12));
}

/* --- through KMS --- */

struct fixture {
    struct em_config cfg;
    char dir[PATH_MAX];
    struct em_service *kms;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)) || em_trust_open(f->dir, &st) ||
        unit_kms_open(&f->cfg, &f->kms))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

/* A call as the owner; the HTTP status, and the reply's JSON into *reply (may be NULL). */
static int call(struct fixture *f, const char *method, const char *path, const char *mask,
                const char *body, cJSON **reply)
{
    return unit_kms_call_json(f->kms, method, path, mask ? "updateMask" : NULL, mask, body, reply);
}

/* The same as an emulator service giving an access reason (the internal credential). */
static int call_as(struct fixture *f, const char *method, const char *path, const char *mask,
                   const char *body, const char *reason, cJSON **reply)
{
    if (!reason)
        return call(f, method, path, mask, body, reply);
    struct em_call c = {0};
    c.method = method;
    c.path = path;
    c.body_text = body;
    c.body_len = body ? strlen(body) : 0;
    c.svc = f->kms;
    c.authorization = "Bearer user:developer@example.com";
    c.access_reason = reason;
    c.internal_credential = strchr(em_trust_header_line(), ' ') + 1;
    if (mask) {
        c.query[0] = (struct em_query_arg){"updateMask", mask};
        c.query_count = 1;
    }
    em_dispatch(f->kms->router, &c);
    int status = c.http_status;
    if (reply)
        *reply = cJSON_ParseWithLength(c.response, c.response_len);
    em_call_reset(&c);
    return status;
}

static void expect_error(struct fixture *f, const char *method, const char *path, const char *body,
                         const char *reason, int want, const char *message)
{
    cJSON *r = NULL;
    int got = call_as(f, method, path, NULL, body, reason, &r);
    const char *text = em_json_string(cJSON_GetObjectItem(r, "error"), "message");
    if (got != want || !text || strcmp(text, message) != 0)
        fail_msg("%s %s: expected %d \"%s\", got %d \"%s\"", method, path, want, message, got,
                 text ? text : "(none)");
    cJSON_Delete(r);
}

/* The key's policy as JSON text, "-" when it has none. */
static char *key_policy(struct fixture *f, const char *key)
{
    char path[512];
    snprintf(path, sizeof(path), "/v1/%s", key);
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 200);
    cJSON *policy = cJSON_GetObjectItem(r, "keyAccessJustificationsPolicy");
    char *text = policy ? cJSON_PrintUnformatted(policy) : strdup("-");
    cJSON_Delete(r);
    return text;
}

static void assert_key_policy(struct fixture *f, const char *key, const char *want)
{
    char *got = key_policy(f, key);
    if (strcmp(got, want) != 0)
        fail_msg("%s: policy %s, expected %s", key, got, want);
    free(got);
}

static void create_key(struct fixture *f, const char *id, const char *purpose,
                       const char *algorithm, const char *policy)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"purpose\":\"%s\"%s%s%s%s%s}", purpose,
             algorithm ? ",\"versionTemplate\":{\"algorithm\":\"" : "", algorithm ? algorithm : "",
             algorithm ? "\"}" : "", policy ? ",\"keyAccessJustificationsPolicy\":" : "",
             policy ? policy : "");
    cJSON *r = NULL;
    int status = unit_kms_call_json(f->kms, "POST", KEYS, "cryptoKeyId", id, body, &r);
    if (status != 200) {
        char *text = cJSON_PrintUnformatted(r);
        fail_msg("creating %s: %d %s", id, status, text ? text : "");
    }
    cJSON_Delete(r);
}

static void make_ring(struct fixture *f)
{
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" PROJECT "/locations/global/keyRings",
                                   "keyRingId", "ring", "{}"),
                     200);
}

#define ALLOW(list) "{\"allowedAccessReasons\":[" list "]}"
#define CUSTOMER    "\"CUSTOMER_INITIATED_ACCESS\""
#define SYSTEM      "\"GOOGLE_INITIATED_SYSTEM_OPERATION\""

static void test_keys_carry_a_policy(void **state)
{
    struct fixture *f = *state;
    make_ring(f);
    create_key(f, "key", "ENCRYPT_DECRYPT", NULL, ALLOW(SYSTEM "," CUSTOMER));
    assert_key_policy(f, KEY, ALLOW(CUSTOMER "," SYSTEM));
    create_key(f, "plain", "ENCRYPT_DECRYPT", NULL, NULL);
    assert_key_policy(f, RING "/cryptoKeys/plain", "-");
    /* updated with its mask path, removed when the body leaves it out */
    assert_int_equal(call(f, "PATCH", "/v1/" KEY, "key_access_justifications_policy",
                          "{\"keyAccessJustificationsPolicy\":" ALLOW(SYSTEM) "}", NULL),
                     200);
    assert_key_policy(f, KEY, ALLOW(SYSTEM));
    assert_int_equal(call(f, "PATCH", "/v1/" KEY, "keyAccessJustificationsPolicy", "{}", NULL),
                     200);
    assert_key_policy(f, KEY, "-");
    /* other paths leave it alone */
    assert_int_equal(call(f, "PATCH", "/v1/" KEY, "keyAccessJustificationsPolicy",
                          "{\"keyAccessJustificationsPolicy\":{}}", NULL),
                     200);
    assert_int_equal(call(f, "PATCH", "/v1/" KEY, "labels", "{\"labels\":{\"a\":\"b\"}}", NULL),
                     200);
    assert_key_policy(f, KEY, "{}");
    cJSON *r = NULL;
    assert_int_equal(call(f, "PATCH", "/v1/" KEY, "keyAccessJustificationsPolicy",
                          "{\"keyAccessJustificationsPolicy\":" ALLOW("\"REASON_UNSPECIFIED\"") "}",
                          &r),
                     400);
    assert_string_equal(em_json_string(cJSON_GetObjectItem(r, "error"), "message"),
                        "crypto_key.key_access_justifications_policy.allowed_access_reasons must "
                        "not contain REASON_UNSPECIFIED.");
    cJSON_Delete(r);
    /* a restart keeps them */
    em_service_close(f->kms);
    assert_int_equal(unit_kms_open(&f->cfg, &f->kms), 0);
    assert_key_policy(f, KEY, "{}");
    assert_key_policy(f, RING "/cryptoKeys/plain", "-");
}

static void test_every_use_of_a_key_is_checked(void **state)
{
    struct fixture *f = *state;
    make_ring(f);
    create_key(f, "key", "ENCRYPT_DECRYPT", NULL, ALLOW(SYSTEM));
    create_key(f, "signer", "ASYMMETRIC_SIGN", "EC_SIGN_P256_SHA256", "{}");
    create_key(f, "mac", "MAC", "HMAC_SHA256", "{}");
    create_key(f, "raw", "RAW_ENCRYPT_DECRYPT", "AES_256_GCM", "{}");
    create_key(f, "rsa", "ASYMMETRIC_DECRYPT", "RSA_DECRYPT_OAEP_2048_SHA256", "{}");
    const char *plaintext = "{\"plaintext\":\"aGVsbG8=\"}";
    expect_error(f, "POST", "/v1/" KEY ":encrypt", plaintext, NULL, 400,
                 DENIED "CUSTOMER_INITIATED_ACCESS.");
    /* what an emulator service gives, with the internal credential: the CMEK engine's
     * key checks */
    cJSON *r = NULL;
    assert_int_equal(call_as(f, "POST", "/v1/" KEY ":encrypt", NULL, plaintext,
                             "GOOGLE_INITIATED_SYSTEM_OPERATION", &r),
                     200);
    char body[1024];
    snprintf(body, sizeof(body), "{\"ciphertext\":\"%s\"}",
             em_json_string(r, "ciphertext") ? em_json_string(r, "ciphertext") : "");
    cJSON_Delete(r);
    assert_int_equal(call_as(f, "POST", "/v1/" KEY ":decrypt", NULL, body,
                             "GOOGLE_INITIATED_SYSTEM_OPERATION", NULL),
                     200);
    expect_error(f, "POST", "/v1/" KEY ":decrypt", body, NULL, 400,
                 DENIED "CUSTOMER_INITIATED_ACCESS.");
    expect_error(f, "POST", "/v1/" KEY ":decrypt", body, "THIRD_PARTY_DATA_REQUEST", 400,
                 DENIED "THIRD_PARTY_DATA_REQUEST.");
    expect_error(f, "POST", "/v1/" KEY ":encrypt", plaintext, "NO_SUCH_REASON", 400,
                 "Access reason \"NO_SUCH_REASON\" is not an AccessReason.");
    /* deny-all keys of every purpose */
    static const char *const calls[][2] = {
        {"/v1/" RING "/cryptoKeys/signer/cryptoKeyVersions/1:asymmetricSign",
         "{\"digest\":{\"sha256\":\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"}}"},
        {"/v1/" RING "/cryptoKeys/mac/cryptoKeyVersions/1:macSign", "{\"data\":\"aGk=\"}"},
        {"/v1/" RING "/cryptoKeys/mac/cryptoKeyVersions/1:macVerify",
         "{\"data\":\"aGk=\",\"mac\":\"aGk=\"}"},
        {"/v1/" RING "/cryptoKeys/raw/cryptoKeyVersions/1:rawEncrypt", "{\"plaintext\":\"aGk=\"}"},
        {"/v1/" RING "/cryptoKeys/rsa/cryptoKeyVersions/1:asymmetricDecrypt",
         "{\"ciphertext\":\"aGk=\"}"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        cJSON *e = NULL;
        int status = call(f, "POST", calls[i][0], NULL, calls[i][1], &e);
        const char *text = em_json_string(cJSON_GetObjectItem(e, "error"), "message");
        if (status != 400 || !text ||
            !strstr(text, "does not allow access reason "
                          "CUSTOMER_INITIATED_ACCESS."))
            fail_msg("%s: %d %s", calls[i][0], status, text ? text : "(no error)");
        cJSON_Delete(e);
    }
    /* the public key is not a use of the key */
    assert_int_equal(call(f, "GET", "/v1/" RING "/cryptoKeys/signer/cryptoKeyVersions/1/publicKey",
                          NULL, NULL, NULL),
                     200);
}

struct reasons {
    char text[8][96];
    int count;
};

static bool collect_reason(const struct em_audit_row *row, void *arg)
{
    struct reasons *r = arg;
    if (row->entry.justification && r->count < 8)
        snprintf(r->text[r->count++], sizeof(r->text[0]), "%s %s %d", row->entry.method,
                 row->entry.justification, row->entry.justification_enforced);
    return true;
}

static void test_the_audit_log_records_each_reason(void **state)
{
    struct fixture *f = *state;
    make_ring(f);
    create_key(f, "key", "ENCRYPT_DECRYPT", NULL, ALLOW(CUSTOMER));
    create_key(f, "plain", "ENCRYPT_DECRYPT", NULL, NULL);
    const char *plaintext = "{\"plaintext\":\"aGVsbG8=\"}";
    assert_int_equal(call(f, "POST", "/v1/" KEY ":encrypt", NULL, plaintext, NULL), 200);
    assert_int_equal(call_as(f, "POST", "/v1/" KEY ":encrypt", NULL, plaintext,
                             "GOOGLE_INITIATED_SYSTEM_OPERATION", NULL),
                     400);
    assert_int_equal(
        call(f, "POST", "/v1/" RING "/cryptoKeys/plain:encrypt", NULL, plaintext, NULL), 200);
    struct em_status st = {0};
    assert_int_equal(em_audit_flush(f->kms->audit, &st), EM_OK);
    struct reasons r = {0};
    assert_int_equal(em_audit_scan(f->kms->store, false, 0, collect_reason, &r, &st), EM_OK);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.text[0], "Encrypt CUSTOMER_INITIATED_ACCESS 1");
    assert_string_equal(r.text[1], "Encrypt GOOGLE_INITIATED_SYSTEM_OPERATION 1");
    assert_string_equal(r.text[2], "Encrypt CUSTOMER_INITIATED_ACCESS 0");
}

/* KMS's side of the control plane's kaj:simulateAccess: the emulator's own route. */
static int simulate(struct fixture *f, const char *body, bool internal, cJSON **reply)
{
    struct em_call c = {0};
    c.method = "POST";
    c.path = "/emulator/v1/internal:keyAccess";
    c.body_text = body;
    c.body_len = strlen(body);
    c.svc = f->kms;
    c.authorization =
        "Bearer serviceAccount:key-access-simulation@emulator.iam.gserviceaccount.com";
    c.internal_credential = internal ? strchr(em_trust_header_line(), ' ') + 1 : NULL;
    em_dispatch(f->kms->router, &c);
    int status = c.http_status;
    *reply = cJSON_ParseWithLength(c.response, c.response_len);
    em_call_reset(&c);
    return status;
}

static void test_a_simulated_access_for_another_reason(void **state)
{
    struct fixture *f = *state;
    make_ring(f);
    create_key(f, "key", "ENCRYPT_DECRYPT", NULL, ALLOW("\"GOOGLE_INITIATED_SERVICE\""));
    cJSON *r = NULL;
    const char *service = "{\"name\":\"" KEY "\",\"reason\":\"GOOGLE_INITIATED_SERVICE\"}";
    assert_int_equal(simulate(f, service, false, &r), 403);
    cJSON_Delete(r);
    assert_int_equal(simulate(f, service, true, &r), 200);
    assert_string_equal(em_json_string(r, "cryptoKeyVersion"), KEY "/cryptoKeyVersions/1");
    cJSON_Delete(r);
    assert_int_equal(
        simulate(f, "{\"name\":\"" KEY "\",\"reason\":\"GOOGLE_INITIATED_REVIEW\"}", true, &r),
        400);
    assert_string_equal(em_json_string(cJSON_GetObjectItem(r, "error"), "message"),
                        DENIED "GOOGLE_INITIATED_REVIEW.");
    cJSON_Delete(r);
    assert_int_equal(
        simulate(f, "{\"name\":\"" KEY "\",\"reason\":\"REASON_UNSPECIFIED\"}", true, &r), 400);
    cJSON_Delete(r);
    assert_int_equal(simulate(f, "{\"reason\":\"GOOGLE_INITIATED_SERVICE\"}", true, &r), 400);
    cJSON_Delete(r);
    struct em_status st = {0};
    assert_int_equal(em_audit_flush(f->kms->audit, &st), EM_OK);
    struct reasons seen = {0};
    assert_int_equal(em_audit_scan(f->kms->store, false, 0, collect_reason, &seen, &st), EM_OK);
    assert_int_equal(seen.count, 2);
    assert_string_equal(seen.text[0], "SimulatedKeyAccess GOOGLE_INITIATED_SERVICE 1");
    assert_string_equal(seen.text[1], "SimulatedKeyAccess GOOGLE_INITIATED_REVIEW 1");
}

static void test_default_policies(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    /* the project sits in folder 12, itself in organization 34 */
    assert_int_equal(em_iam_set_parent(f->kms->store, PROJECT, "folders/12", &st), EM_OK);
    assert_int_equal(em_iam_set_parent(f->kms->store, "folders/12", "organizations/34", &st),
                     EM_OK);
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", "/v1/" PROJECT "/kajPolicyConfig", NULL, NULL, &r), 200);
    char *text = cJSON_PrintUnformatted(r);
    assert_string_equal(text, "{\"name\":\"" PROJECT "/kajPolicyConfig\"}");
    free(text);
    cJSON_Delete(r);
    assert_int_equal(call(f, "PATCH", "/v1/organizations/34/kajPolicyConfig", NULL,
                          "{\"defaultKeyAccessJustificationPolicy\":" ALLOW(SYSTEM) "}", NULL),
                     200);
    make_ring(f);
    create_key(f, "from-org", "ENCRYPT_DECRYPT", NULL, NULL);
    assert_key_policy(f, RING "/cryptoKeys/from-org", ALLOW(SYSTEM));
    /* nearer wins; a key's own policy wins over every default */
    assert_int_equal(call(f, "PATCH", "/v1/folders/12/kajPolicyConfig",
                          "defaultKeyAccessJustificationPolicy",
                          "{\"defaultKeyAccessJustificationPolicy\":" ALLOW(CUSTOMER) "}", NULL),
                     200);
    create_key(f, "from-folder", "ENCRYPT_DECRYPT", NULL, NULL);
    assert_key_policy(f, RING "/cryptoKeys/from-folder", ALLOW(CUSTOMER));
    create_key(f, "own", "ENCRYPT_DECRYPT", NULL, "{}");
    assert_key_policy(f, RING "/cryptoKeys/own", "{}");
    assert_int_equal(call(f, "GET",
                          "/v1/" PROJECT ":showEffectiveKeyAccessJustificationsPolicyConfig", NULL,
                          NULL, &r),
                     200);
    text = cJSON_PrintUnformatted(r);
    assert_string_equal(text, "{\"effectiveKajPolicy\":{\"name\":\"folders/12/kajPolicyConfig\","
                              "\"defaultKeyAccessJustificationPolicy\":" ALLOW(CUSTOMER) "}}");
    free(text);
    cJSON_Delete(r);
    /* an empty default allows all: the key gets no policy */
    assert_int_equal(call(f, "PATCH", "/v1/" PROJECT "/kajPolicyConfig", NULL,
                          "{\"defaultKeyAccessJustificationPolicy\":{}}", NULL),
                     200);
    create_key(f, "allow-all", "ENCRYPT_DECRYPT", NULL, NULL);
    assert_key_policy(f, RING "/cryptoKeys/allow-all", "-");
    /* existing keys keep theirs */
    assert_key_policy(f, RING "/cryptoKeys/from-org", ALLOW(SYSTEM));
    /* removed: the folder's applies again */
    assert_int_equal(call(f, "PATCH", "/v1/" PROJECT "/kajPolicyConfig", NULL, "{}", NULL), 200);
    create_key(f, "again", "ENCRYPT_DECRYPT", NULL, NULL);
    assert_key_policy(f, RING "/cryptoKeys/again", ALLOW(CUSTOMER));
}

static void test_configs_refuse_bad_input_and_are_reset(void **state)
{
    struct fixture *f = *state;
    expect_error(f, "GET", "/v1/folders/x12/kajPolicyConfig", NULL, NULL, 400,
                 "Invalid resource name \"folders/x12/kajPolicyConfig\": folders and "
                 "organizations are named by number.");
    cJSON *r = NULL;
    assert_int_equal(call(f, "PATCH", "/v1/folders/12/kajPolicyConfig", "name", "{}", &r), 400);
    cJSON_Delete(r);
    assert_int_equal(call(f, "PATCH", "/v1/folders/12/kajPolicyConfig", NULL,
                          "{\"defaultKeyAccessJustificationPolicy\":{\"allowedAccessReasons\":"
                          "[\"NOT_A_REASON\"]}}",
                          NULL),
                     400);
    assert_int_equal(call(f, "PATCH", "/v1/folders/12/kajPolicyConfig", NULL,
                          "{\"defaultKeyAccessJustificationPolicy\":" ALLOW(SYSTEM) "}", NULL),
                     200);
    assert_int_equal(call(f, "GET",
                          "/v1/" PROJECT ":showEffectiveKeyAccessJustificationsEnrollmentConfig",
                          NULL, NULL, &r),
                     200);
    const cJSON *software = cJSON_GetObjectItem(r, "softwareConfig");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(software, "policyEnforcement")));
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(r, "externalConfig"), "auditLogging")));
    cJSON_Delete(r);
    struct em_status st = {0};
    assert_int_equal(f->kms->def->reset(f->kms, &st), EM_OK);
    uint32_t policy = 1;
    assert_int_equal(kms_kaj_config_get(f->kms->store, "folders/12", &policy, &st), EM_OK);
    assert_true(policy == KMS_KAJ_NO_POLICY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_read_and_written),
        cmocka_unit_test(test_check),
        cmocka_unit_test_setup_teardown(test_keys_carry_a_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_use_of_a_key_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_audit_log_records_each_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_simulated_access_for_another_reason, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_default_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configs_refuse_bad_input_and_are_reset, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
