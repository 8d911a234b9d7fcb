/*
 * test_runner_envelope: seed 002's envelope transforms (runner_envelope.h) and session
 * windows (runner_session.h): the envelope attributes parsed and refused, AES-GCM data
 * opened and a tampered tag refused, HMAC signatures checked, the unwrapped-key cache
 * (hits, the 200 s TTL on the emulator clock, 100 entries with the least recently used
 * evicted), DecryptEnvelope and VerifySignature on elements with a stand-in for KMS
 * (one unwrap per key within the TTL, every failure a dead letter with its reason), and
 * session windows of a key merging across bundles in the state store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "runner/runner_envelope.h"
#include "runner/runner_pipeline.h"
#include "runner/runner_state.h"
#include "runner/runner_store.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "projects/p/locations/global/keyRings/r/cryptoKeys/a"
#define SEC   EM_NS_PER_SEC

/* --- a stand-in for KMS: "wrapping" is XOR with 0x5a; a key named ".../off" is
 * disabled --- */

struct fake_kms {
    int calls;
};

static bool fake_unwrap(void *arg, const char *key_name, const unsigned char *wrapped,
                        size_t wrapped_len, unsigned char dek[EM_AES_KEY_BYTES],
                        const char **reason_code, char *message, size_t message_len)
{
    struct fake_kms *kms = arg;
    kms->calls++;
    if (strstr(key_name, "/cryptoKeys/unreachable")) {
        *reason_code = "KMS_UNAVAILABLE";
        snprintf(message, message_len, "connection refused");
        return false;
    }
    if (strstr(key_name, "/cryptoKeys/off")) {
        *reason_code = "KEY_DISABLED";
        snprintf(message, message_len, "%s is disabled", key_name);
        return false;
    }
    if (wrapped_len != EM_AES_KEY_BYTES) {
        *reason_code = "BAD_WRAPPED_KEY";
        snprintf(message, message_len, "bad ciphertext");
        return false;
    }
    for (size_t i = 0; i < EM_AES_KEY_BYTES; i++)
        dek[i] = wrapped[i] ^ 0x5a;
    return true;
}

static char *fake_wrap_b64(const unsigned char dek[EM_AES_KEY_BYTES])
{
    unsigned char wrapped[EM_AES_KEY_BYTES];
    for (size_t i = 0; i < EM_AES_KEY_BYTES; i++)
        wrapped[i] = dek[i] ^ 0x5a;
    return em_b64_encode(wrapped, sizeof(wrapped));
}

static void dek_of(unsigned char seed, unsigned char dek[EM_AES_KEY_BYTES])
{
    for (size_t i = 0; i < EM_AES_KEY_BYTES; i++)
        dek[i] = (unsigned char)(seed + i);
}

/* An element as ReadPubSub "binary" makes it: text sealed under dek, attributes set. */
static struct rn_elem encrypted_elem(const char *key_name, unsigned char seed, const char *text)
{
    unsigned char dek[EM_AES_KEY_BYTES], sealed[256];
    struct em_status st = {0};
    dek_of(seed, dek);
    assert_int_equal(em_seal(dek, NULL, 0, text, strlen(text), sealed, &st), EM_OK);
    char *data = em_b64_encode(sealed, strlen(text) + EM_SEAL_OVERHEAD);
    char *wrapped = fake_wrap_b64(dek);
    struct rn_elem e = rn_elem_make(cJSON_CreateString(data), 0);
    e.attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(e.attrs, "kms_keyname", key_name);
    cJSON_AddStringToObject(e.attrs, "dek_wrapped", wrapped);
    cJSON_AddStringToObject(e.attrs, "producer", "a");
    free(data);
    free(wrapped);
    return e;
}

/* Flips a bit of the data's last byte (the tag). */
static void flip_last_byte(struct rn_elem *e)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    assert_true(em_b64_decode(e->value->valuestring, strlen(e->value->valuestring), &bytes, &len));
    bytes[len - 1] ^= 1;
    char *b64 = em_b64_encode(bytes, len);
    cJSON_SetValuestring(e->value, b64);
    free(b64);
    free(bytes);
}

static struct rn_elem signed_elem(unsigned char seed, const char *text, const char *sent_text)
{
    unsigned char key[EM_AES_KEY_BYTES], sig[RN_HMAC_BYTES];
    dek_of(seed, key);
    rn_signature_make(key, text, strlen(text), sig);
    char *sig_b64 = em_b64_encode(sig, sizeof(sig)), *wrapped = fake_wrap_b64(key);
    struct rn_elem e = rn_elem_make(cJSON_CreateString(sent_text), 0);
    e.attrs = cJSON_CreateObject();
    cJSON_AddStringToObject(e.attrs, "kms_key", KEY_A);
    cJSON_AddStringToObject(e.attrs, "sign_key_wrapped", wrapped);
    cJSON_AddStringToObject(e.attrs, "signature", sig_b64);
    free(sig_b64);
    free(wrapped);
    return e;
}

/* --- attributes, AES-GCM, HMAC --- */

static void expect_attrs_refused(enum rn_envelope_kind kind, const char *json, const char *why)
{
    cJSON *attrs = cJSON_Parse(json);
    struct rn_envelope_attrs a;
    const char *reason = NULL;
    assert_false(rn_envelope_attrs_parse(kind, attrs, &a, &reason));
    assert_non_null(strstr(reason, why));
    cJSON_Delete(attrs);
}

static void test_attribute_parsing(void **state)
{
    (void)state;
    expect_attrs_refused(RN_ENVELOPE_ENCRYPTED, "{}", "kms_keyname and dek_wrapped");
    expect_attrs_refused(RN_ENVELOPE_ENCRYPTED, "{\"kms_keyname\":\"" KEY_A "\"}", "required");
    expect_attrs_refused(RN_ENVELOPE_ENCRYPTED,
                         "{\"kms_keyname\":\"projects/p/keyRings/r\",\"dek_wrapped\":\"AAAA\"}",
                         "not a Cloud KMS key name");
    expect_attrs_refused(RN_ENVELOPE_ENCRYPTED,
                         "{\"kms_keyname\":\"" KEY_A "/cryptoKeyVersions/1\",\"dek_wrapped\":"
                         "\"AAAA\"}",
                         "not a Cloud KMS key name");
    expect_attrs_refused(RN_ENVELOPE_ENCRYPTED,
                         "{\"kms_keyname\":\"" KEY_A "\",\"dek_wrapped\":\"not base64!\"}",
                         "not base64");
    expect_attrs_refused(RN_ENVELOPE_SIGNED,
                         "{\"kms_keyname\":\"" KEY_A "\",\"dek_wrapped\":\"AAAA\"}",
                         "kms_key and sign_key_wrapped");
    expect_attrs_refused(RN_ENVELOPE_SIGNED,
                         "{\"kms_key\":\"" KEY_A "\",\"sign_key_wrapped\":\"AAAA\",\"signature\":"
                         "\"AAAA\"}",
                         "32-byte HMAC");

    cJSON *attrs = cJSON_Parse("{\"kms_keyname\":\"" KEY_A "\",\"dek_wrapped\":\"AAECAw==\"}");
    struct rn_envelope_attrs a;
    const char *reason = NULL;
    assert_true(rn_envelope_attrs_parse(RN_ENVELOPE_ENCRYPTED, attrs, &a, &reason));
    assert_string_equal(a.key_name, KEY_A);
    assert_int_equal(a.wrapped_len, 4);
    assert_int_equal(a.wrapped[3], 3);
    rn_envelope_attrs_clear(&a);
    cJSON_Delete(attrs);
}

static void test_open_and_sign(void **state)
{
    (void)state;
    unsigned char dek[EM_AES_KEY_BYTES], other[EM_AES_KEY_BYTES], sealed[64];
    struct em_status st = {0};
    dek_of(1, dek);
    dek_of(2, other);
    assert_int_equal(em_seal(dek, NULL, 0, "hello world", 11, sealed, &st), EM_OK);
    char *text = rn_envelope_open(dek, sealed, 11 + EM_SEAL_OVERHEAD);
    assert_string_equal(text, "hello world");
    free(text);
    assert_null(rn_envelope_open(other, sealed, 11 + EM_SEAL_OVERHEAD));
    sealed[11 + EM_SEAL_OVERHEAD - 1] ^= 1; /* the tag */
    assert_null(rn_envelope_open(dek, sealed, 11 + EM_SEAL_OVERHEAD));
    assert_null(rn_envelope_open(dek, sealed, EM_SEAL_OVERHEAD - 1));
    assert_int_equal(em_seal(dek, NULL, 0, "a\0b", 3, sealed, &st), EM_OK);
    assert_null(rn_envelope_open(dek, sealed, 3 + EM_SEAL_OVERHEAD)); /* not text */

    unsigned char sig[RN_HMAC_BYTES];
    rn_signature_make(dek, "data", 4, sig);
    assert_true(rn_signature_valid(dek, "data", 4, sig));
    assert_false(rn_signature_valid(other, "data", 4, sig));
    assert_false(rn_signature_valid(dek, "datA", 4, sig));
    sig[0] ^= 0x80;
    assert_false(rn_signature_valid(dek, "data", 4, sig));
}

/* --- the cache --- */

static void test_cache_ttl(void **state)
{
    (void)state;
    struct rn_dek_cache c;
    unsigned char dek[EM_AES_KEY_BYTES], got[EM_AES_KEY_BYTES];
    rn_dek_cache_init(&c);
    dek_of(7, dek);
    int64_t t0 = 1000 * SEC;
    assert_false(rn_dek_cache_get(&c, KEY_A, "w1", t0, got));
    assert_true(rn_dek_cache_put(&c, KEY_A, "w1", t0, dek));
    assert_true(rn_dek_cache_get(&c, KEY_A, "w1", t0 + 199 * SEC, got));
    assert_memory_equal(got, dek, sizeof(dek));
    assert_false(rn_dek_cache_get(&c, KEY_A, "w2", t0, got));             /* another wrapped key */
    assert_false(rn_dek_cache_get(&c, KEY_A "x", "w1", t0, got));         /* another KMS key */
    assert_false(rn_dek_cache_get(&c, KEY_A, "w1", t0 + 200 * SEC, got)); /* expired */
    assert_int_equal(rn_dek_cache_size(&c, t0), 0);                       /* and forgotten */
    rn_dek_cache_clear(&c);
}

static void test_cache_capacity(void **state)
{
    (void)state;
    struct rn_dek_cache c;
    unsigned char dek[EM_AES_KEY_BYTES], got[EM_AES_KEY_BYTES];
    char id[32];
    rn_dek_cache_init(&c);
    dek_of(3, dek);
    for (int i = 0; i < RN_DEK_CACHE_ENTRIES; i++) {
        snprintf(id, sizeof(id), "w%d", i);
        assert_true(rn_dek_cache_put(&c, KEY_A, id, i * SEC, dek));
    }
    assert_int_equal(rn_dek_cache_size(&c, 100 * SEC), 100);
    assert_true(rn_dek_cache_get(&c, KEY_A, "w0", 101 * SEC, got)); /* w0 used last now */
    assert_true(rn_dek_cache_put(&c, KEY_A, "new", 102 * SEC, dek));
    assert_int_equal(rn_dek_cache_size(&c, 102 * SEC), 100);
    assert_true(rn_dek_cache_get(&c, KEY_A, "w0", 103 * SEC, got));
    assert_false(rn_dek_cache_get(&c, KEY_A, "w1", 103 * SEC, got)); /* least recently used */
    assert_true(rn_dek_cache_get(&c, KEY_A, "new", 103 * SEC, got));
    /* an expired entry is replaced before any live one */
    assert_true(rn_dek_cache_put(&c, KEY_A, "late", 202 * SEC, dek)); /* w0 expired at 200 s */
    assert_false(rn_dek_cache_get(&c, KEY_A, "w0", 150 * SEC, got));
    assert_true(rn_dek_cache_get(&c, KEY_A, "w2", 150 * SEC, got));
    assert_true(rn_dek_cache_get(&c, KEY_A, "late", 202 * SEC, got));
    rn_dek_cache_clear(&c);
}

/* --- the transforms --- */

static struct rn_pipeline *one_step(const char *transform)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":"
             "\"projects/p/topics/t\",\"binary\":true},"
             "{\"name\":\"e\",\"transform\":\"%s\",\"input\":\"r\"}]}",
             transform);
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    assert_int_equal(rn_pipeline_parse(text, NULL, &p, &st), EM_OK);
    assert_true(p->steps[0].binary);
    return p;
}

/* Applies step 1 to e at now; "out:<text>" or "dead:<error_reason>". */
static void apply(struct rn_envelope *env, const struct rn_pipeline *p, struct rn_elem *e,
                  int64_t now, char *result, size_t len)
{
    struct rn_batch out = {0}, failed = {0};
    assert_int_equal(rn_envelope_apply(env, &p->steps[1], e, now, &out, &failed), RN_ENVELOPE_DONE);
    assert_int_equal(out.count + failed.count, 1);
    if (out.count) {
        assert_null(cJSON_GetObjectItem(out.items[0].attrs, "kms_keyname"));
        assert_null(cJSON_GetObjectItem(out.items[0].attrs, "dek_wrapped"));
        snprintf(result, len, "out:%s", out.items[0].value->valuestring);
    } else {
        assert_non_null(em_json_string(failed.items[0].attrs, "error"));
        snprintf(result, len, "dead:%s", em_json_string(failed.items[0].attrs, "error_reason"));
    }
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
    rn_elem_free(e);
}

static void test_decrypt_envelope(void **state)
{
    (void)state;
    struct fake_kms kms = {0};
    struct rn_envelope *env = rn_envelope_new("serviceAccount:w", "projects/p/jobs/j");
    env->unwrap = fake_unwrap;
    env->unwrap_arg = &kms;
    struct rn_pipeline *p = one_step("DecryptEnvelope");
    char result[256];
    struct rn_elem e = encrypted_elem(KEY_A, 1, "the cat");
    struct rn_batch out = {0}, failed = {0};
    assert_int_equal(rn_envelope_apply(env, &p->steps[1], &e, 0, &out, &failed), RN_ENVELOPE_DONE);
    assert_string_equal(em_json_string(out.items[0].attrs, "producer"), "a"); /* kept */
    rn_batch_clear(&out);
    rn_elem_free(&e);
    e = encrypted_elem(KEY_A, 1, "sat");
    apply(env, p, &e, 199 * SEC, result, sizeof(result));
    assert_string_equal(result, "out:sat");
    assert_int_equal(kms.calls, 1); /* the same DEK: from the cache */
    e = encrypted_elem(KEY_A, 1, "again");
    apply(env, p, &e, 200 * SEC, result, sizeof(result));
    assert_string_equal(result, "out:again");
    assert_int_equal(kms.calls, 2); /* expired: unwrapped again */
    e = encrypted_elem(KEY_A, 2, "other key");
    apply(env, p, &e, 200 * SEC, result, sizeof(result));
    assert_int_equal(kms.calls, 3);

    e = encrypted_elem("projects/p/locations/global/keyRings/r/cryptoKeys/off", 1, "x");
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "dead:KEY_DISABLED");
    e = encrypted_elem(KEY_A, 1, "tampered");
    flip_last_byte(&e);
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "dead:BAD_TAG");
    e = encrypted_elem(KEY_A, 1, "x");
    cJSON_ReplaceItemInObject(e.attrs, "dek_wrapped", cJSON_CreateString("AAAA"));
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "dead:BAD_WRAPPED_KEY");
    e = rn_elem_make(cJSON_CreateString("plain"), 0);
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "dead:BAD_ENVELOPE");
    /* KMS unreachable: no decision, no output; the engine retries the bundle */
    e = encrypted_elem("projects/p/locations/global/keyRings/r/cryptoKeys/unreachable", 1, "x");
    assert_int_equal(rn_envelope_apply(env, &p->steps[1], &e, 0, &out, &failed), RN_ENVELOPE_RETRY);
    assert_int_equal(out.count + failed.count, 0);
    rn_elem_free(&e);
    rn_pipeline_free(p);
    rn_envelope_free(env);
}

static void test_verify_signature(void **state)
{
    (void)state;
    struct fake_kms kms = {0};
    struct rn_envelope *env = rn_envelope_new(NULL, NULL);
    env->unwrap = fake_unwrap;
    env->unwrap_arg = &kms;
    struct rn_pipeline *p = one_step("VerifySignature");
    char result[256];
    struct rn_elem e = signed_elem(4, "signed text", "signed text");
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "out:signed text");
    e = signed_elem(4, "signed text", "signed texT");
    apply(env, p, &e, 0, result, sizeof(result));
    assert_string_equal(result, "dead:BAD_SIGNATURE");
    assert_int_equal(kms.calls, 1);
    rn_pipeline_free(p);
    rn_envelope_free(env);
}

/* --- session windows --- */

struct rows {
    char text[1024];
};

static enum em_code row_text(int64_t start, int64_t end, const char *key, const char *acc,
                             void *arg, struct em_status *st)
{
    (void)st;
    struct rows *r = arg;
    snprintf(r->text + strlen(r->text), sizeof(r->text) - strlen(r->text), "%s%s[%lld,%lld)=%s",
             r->text[0] ? " " : "", key, (long long)(start / SEC), (long long)(end / SEC), acc);
    return EM_OK;
}

/* Folds (key, second) pairs into the session-windowed count as one bundle. */
static void session_bundle(const struct rn_pipeline *p, struct em_store *store, const char *keys,
                           const int *seconds, int n)
{
    struct rn_state *state = rn_state_new();
    struct em_status st = {0};
    for (int i = 0; i < n; i++) {
        struct rn_elem in = rn_elem_make(cJSON_CreateString("v"), seconds[i] * SEC);
        in.key = cJSON_CreateString(keys[i] == 'a' ? "a" : "b");
        struct rn_batch out = {0}, failed = {0};
        assert_true(rn_apply_stateless(&p->steps[1], &in, &out, &failed));
        assert_int_equal(out.count, 1);
        bool oom;
        assert_true(rn_state_add(state, &p->steps[2], 2, &out.items[0], &oom));
        rn_batch_clear(&out);
        rn_elem_free(&in);
    }
    assert_int_equal(rn_state_commit(state, p, store, &st), EM_OK);
    rn_state_free(state);
}

static void test_session_windows(void **state)
{
    (void)state;
    struct unit_dir dir;
    struct em_status st = {0};
    assert_int_equal(unit_dir_open(&dir), 0);
    assert_int_equal(rn_state_migrate(dir.store, &st), EM_OK);
    struct rn_pipeline *p = NULL;
    assert_int_equal(
        rn_pipeline_parse("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":"
                          "\"projects/p/topics/t\"},{\"name\":\"w\",\"transform\":\"Window\","
                          "\"input\":\"r\",\"type\":\"session\",\"gap\":\"10s\"},{\"name\":"
                          "\"c\",\"transform\":\"Combine\",\"input\":\"w\",\"fn\":\"count\"}]}",
                          NULL, &p, &st),
        EM_OK);
    assert_int_equal(p->steps[2].window, RN_WINDOW_SESSION);
    const int first[] = {0, 22, 5}, second[] = {9, 18};
    session_bundle(p, dir.store, "aab", first, 3);
    struct rows r = {{0}};
    assert_int_equal(rn_state_each_ready(dir.store, 2, INT64_MAX, row_text, &r, &st), EM_OK);
    assert_string_equal(r.text, "\"a\"[0,10)=1 \"b\"[5,15)=1 \"a\"[22,32)=1");
    /* a@9 extends [0,10) to [0,19); a@18 bridges it with [22,32) */
    session_bundle(p, dir.store, "aa", second, 2);
    memset(&r, 0, sizeof(r));
    assert_int_equal(rn_state_each_ready(dir.store, 2, INT64_MAX, row_text, &r, &st), EM_OK);
    assert_string_equal(r.text, "\"a\"[0,32)=4 \"b\"[5,15)=1");
    memset(&r, 0, sizeof(r)); /* the watermark at 20 s closes only b's session */
    assert_int_equal(rn_state_each_ready(dir.store, 2, 20 * SEC, row_text, &r, &st), EM_OK);
    assert_string_equal(r.text, "\"b\"[5,15)=1");
    rn_pipeline_free(p);
    unit_dir_close(&dir);
}

static void test_session_window_validation(void **state)
{
    (void)state;
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    assert_int_equal(
        rn_pipeline_parse("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":"
                          "\"gs://bkt/x\"},{\"name\":\"w\",\"transform\":\"Window\",\"input\":"
                          "\"r\",\"type\":\"session\",\"size\":\"10s\"}]}",
                          NULL, &p, &st),
        EM_INVALID_ARGUMENT);
    assert_string_equal(st.message,
                        "Invalid pipeline: step 'w': field 'gap' must be a duration such as "
                        "\"30s\".");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attribute_parsing), cmocka_unit_test(test_open_and_sign),
        cmocka_unit_test(test_cache_ttl),         cmocka_unit_test(test_cache_capacity),
        cmocka_unit_test(test_decrypt_envelope),  cmocka_unit_test(test_verify_signature),
        cmocka_unit_test(test_session_windows),   cmocka_unit_test(test_session_window_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
