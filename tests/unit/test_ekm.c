/*
 * test_ekm: em_ekm, the simulated external key manager: keys made at first use, their
 * material stable and sealed at rest, the customer's disable / enable / destroy, a
 * destroyed key gone for good (no material in any file), listing and reset; and the
 * PreconditionFailure details em_status renders for Cloud EKM's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_ekm.h"
#include "em_json.h"
#include "em_store.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URI   "https://ekm.example.com/v0/keys/k1"
#define OTHER "https://ekm.example.com/v0/keys/k2"
#define T0    1000000000LL

static int setup(void **state)
{
    struct unit_dir *d = calloc(1, sizeof(*d));
    struct em_status st = {0};
    if (!d || unit_dir_open(d) || em_ekm_open(d->store, d->path, &st))
        return -1;
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct unit_dir *d = *state;
    unit_dir_close(d);
    free(d);
    return 0;
}

/* The material at uri; the outcome is returned, the key copied into out when OK. */
static enum em_ekm_outcome material(struct unit_dir *d, const char *uri,
                                    unsigned char out[EM_EKM_KEY_BYTES])
{
    struct em_status st = {0};
    enum em_ekm_outcome outcome = EM_EKM_UNREACHABLE;
    assert_int_equal(em_ekm_key_material(d->store, uri, out, &outcome, &st), EM_OK);
    return outcome;
}

/* The key at uri, made when the EKM has none (a new version naming it). */
static void provision(struct unit_dir *d, const char *uri)
{
    struct em_status st = {0};
    struct em_ekm_key key;
    assert_int_equal(em_ekm_key_provision(d->store, uri, T0, &key, &st), EM_OK);
}

static void set_state(struct unit_dir *d, const char *uri, enum em_ekm_state state,
                      enum em_code expected)
{
    struct em_status st = {0};
    assert_int_equal(em_ekm_key_set_state(d->store, uri, state, T0 + 1, NULL, &st), expected);
}

static void test_a_key_is_made_at_first_use_and_keeps_its_material(void **state)
{
    struct unit_dir *d = *state;
    unsigned char a[EM_EKM_KEY_BYTES], b[EM_EKM_KEY_BYTES], c[EM_EKM_KEY_BYTES];
    /* a call never makes a key: only a version naming it, the customer or KMS */
    assert_int_equal(material(d, URI, a), EM_EKM_KEY_MISSING);
    provision(d, URI);
    provision(d, OTHER);
    assert_int_equal(material(d, URI, a), EM_EKM_OK);
    assert_int_equal(material(d, URI, b), EM_EKM_OK);
    assert_memory_equal(a, b, sizeof(a));
    assert_int_equal(material(d, OTHER, c), EM_EKM_OK);
    assert_memory_not_equal(a, c, sizeof(a));
    /* provisioning an existing key keeps it */
    struct em_ekm_key key;
    struct em_status st = {0};
    assert_int_equal(em_ekm_key_provision(d->store, URI, T0 + 5, &key, &st), EM_OK);
    assert_int_equal(key.state, EM_EKM_ENABLED);
    assert_int_equal(key.create_ns, T0);
    assert_int_equal(material(d, URI, b), EM_EKM_OK);
    assert_memory_equal(a, b, sizeof(a));
    /* KMS's own keys (coordinated) are always new */
    assert_int_equal(em_ekm_key_create(d->store, URI, T0, &st), EM_ALREADY_EXISTS);
    assert_int_equal(em_ekm_key_create(d->store, "https://ekm.example.com/v0/new", T0, &st), EM_OK);
}

static void test_the_material_is_sealed_at_rest(void **state)
{
    struct unit_dir *d = *state;
    unsigned char key[EM_EKM_KEY_BYTES];
    provision(d, URI);
    assert_int_equal(material(d, URI, key), EM_EKM_OK);
    struct em_status st = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(d->store, "SELECT sealed_material FROM ekm_keys WHERE uri = ?", &st);
    assert_non_null(stmt);
    sqlite3_bind_text(stmt, 1, URI, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int len = sqlite3_column_bytes(stmt, 0);
    const unsigned char *blob = sqlite3_column_blob(stmt, 0);
    assert_true(len > EM_EKM_KEY_BYTES);
    for (int i = 0; i + EM_EKM_KEY_BYTES <= len; i++)
        assert_memory_not_equal(blob + i, key, EM_EKM_KEY_BYTES);
    em_stmt_done(stmt);
}

static void test_disable_enable_and_destroy(void **state)
{
    struct unit_dir *d = *state;
    unsigned char before[EM_EKM_KEY_BYTES], after[EM_EKM_KEY_BYTES];
    provision(d, URI);
    assert_int_equal(material(d, URI, before), EM_EKM_OK);
    set_state(d, URI, EM_EKM_DISABLED, EM_OK);
    assert_int_equal(material(d, URI, after), EM_EKM_KEY_DISABLED);
    set_state(d, URI, EM_EKM_ENABLED, EM_OK);
    assert_int_equal(material(d, URI, after), EM_EKM_OK);
    assert_memory_equal(before, after, sizeof(before));
    set_state(d, URI, EM_EKM_DESTROYED, EM_OK);
    assert_int_equal(material(d, URI, after), EM_EKM_KEY_DESTROYED);
    /* for good: neither enabled again nor made again at that URI */
    set_state(d, URI, EM_EKM_ENABLED, EM_FAILED_PRECONDITION);
    set_state(d, URI, EM_EKM_DISABLED, EM_FAILED_PRECONDITION);
    set_state(d, URI, EM_EKM_DESTROYED, EM_OK);
    assert_int_equal(material(d, URI, after), EM_EKM_KEY_DESTROYED);
    /* and its material is in no file */
    struct em_status st = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(d->store, "SELECT sealed_material IS NULL FROM ekm_keys WHERE uri = ?", &st);
    sqlite3_bind_text(stmt, 1, URI, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 1);
    em_stmt_done(stmt);
}

static void test_unknown_keys_and_bad_uris(void **state)
{
    struct unit_dir *d = *state;
    set_state(d, URI, EM_EKM_DISABLED, EM_NOT_FOUND);
    struct em_status st = {0};
    struct em_ekm_key key;
    assert_int_equal(em_ekm_key_provision(d->store, "", T0, &key, &st), EM_INVALID_ARGUMENT);
    char *long_uri = malloc(EM_EKM_URI_MAX + 1);
    memset(long_uri, 'a', EM_EKM_URI_MAX);
    long_uri[EM_EKM_URI_MAX] = '\0';
    assert_int_equal(em_ekm_key_provision(d->store, long_uri, T0, &key, &st), EM_INVALID_ARGUMENT);
    free(long_uri);
    enum em_ekm_state parsed;
    assert_true(em_ekm_state_parse("DISABLED", &parsed));
    assert_int_equal(parsed, EM_EKM_DISABLED);
    assert_false(em_ekm_state_parse("disabled", &parsed));
    assert_false(em_ekm_state_parse(NULL, &parsed));
}

static void test_a_moved_key_keeps_its_material_and_state(void **state)
{
    struct unit_dir *d = *state;
    struct em_status st = {0};
    unsigned char before[EM_EKM_KEY_BYTES], after[EM_EKM_KEY_BYTES];
    provision(d, URI);
    assert_int_equal(material(d, URI, before), EM_EKM_OK);
    set_state(d, URI, EM_EKM_DISABLED, EM_OK);
    struct em_ekm_key moved;
    assert_int_equal(em_ekm_key_move(d->store, URI, OTHER, T0 + 2, &moved, &st), EM_OK);
    assert_string_equal(moved.uri, OTHER);
    assert_int_equal(moved.state, EM_EKM_DISABLED);
    assert_int_equal(material(d, URI, after), EM_EKM_KEY_MISSING); /* the old place is empty */
    assert_int_equal(material(d, OTHER, after), EM_EKM_KEY_DISABLED);
    set_state(d, OTHER, EM_EKM_ENABLED, EM_OK);
    assert_int_equal(material(d, OTHER, after), EM_EKM_OK);
    assert_memory_equal(before, after, sizeof(before));
    /* refused: a URI the EKM does not hold, a place already taken, a destroyed key */
    assert_int_equal(em_ekm_key_move(d->store, URI, OTHER, T0, NULL, &st), EM_NOT_FOUND);
    provision(d, URI); /* the old URI may be given a new key */
    st = (struct em_status){0};
    assert_int_equal(em_ekm_key_move(d->store, URI, OTHER, T0, NULL, &st), EM_ALREADY_EXISTS);
    set_state(d, URI, EM_EKM_DESTROYED, EM_OK);
    st = (struct em_status){0};
    assert_int_equal(em_ekm_key_move(d->store, URI, URI "x", T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    st = (struct em_status){0};
    assert_int_equal(em_ekm_key_move(d->store, OTHER, "", T0, NULL, &st), EM_INVALID_ARGUMENT);
}

static void test_list_and_reset(void **state)
{
    struct unit_dir *d = *state;
    provision(d, OTHER);
    provision(d, URI);
    set_state(d, OTHER, EM_EKM_DISABLED, EM_OK);
    struct em_ekm_key *keys;
    size_t count;
    struct em_status st = {0};
    assert_int_equal(em_ekm_key_list(d->store, &keys, &count, &st), EM_OK);
    assert_int_equal(count, 2);
    assert_string_equal(keys[0].uri, URI);
    assert_int_equal(keys[0].state, EM_EKM_ENABLED);
    assert_string_equal(keys[1].uri, OTHER);
    assert_int_equal(keys[1].state, EM_EKM_DISABLED);
    assert_int_equal(keys[1].update_ns, T0 + 1);
    free(keys);
    assert_int_equal(em_ekm_reset(d->store, &st), EM_OK);
    assert_int_equal(em_ekm_key_list(d->store, &keys, &count, &st), EM_OK);
    assert_int_equal(count, 0);
    free(keys);
}

static void test_errors_carry_a_precondition_failure(void **state)
{
    (void)state;
    struct em_status st = {0};
    EM_FAIL(&st, EM_FAILED_PRECONDITION, "Could not find a key.");
    em_status_add_violation(&st, "CLOUD_EKM_KEY", "projects/p/.../cryptoKeyVersions/1", "state");
    em_status_add_violation(&st, "EXTERNAL_NOT_FOUND", URI, "Could not find a key.");
    char *json = em_status_to_json(&st);
    cJSON *root = cJSON_Parse(json);
    cJSON *err = cJSON_GetObjectItem(root, "error");
    cJSON *detail = cJSON_GetArrayItem(cJSON_GetObjectItem(err, "details"), 0);
    assert_string_equal(cJSON_GetObjectItem(detail, "@type")->valuestring,
                        "type.googleapis.com/google.rpc.PreconditionFailure");
    cJSON *violations = cJSON_GetObjectItem(detail, "violations");
    assert_int_equal(cJSON_GetArraySize(violations), 2);
    cJSON *second = cJSON_GetArrayItem(violations, 1);
    assert_string_equal(cJSON_GetObjectItem(second, "type")->valuestring, "EXTERNAL_NOT_FOUND");
    assert_string_equal(cJSON_GetObjectItem(second, "subject")->valuestring, URI);
    cJSON_Delete(root);
    free(json);
    /* long fields are cut (control characters shown as '?'): both violations always fit */
    char subject[1500];
    memset(subject, '"', sizeof(subject) - 1);
    subject[sizeof(subject) - 1] = '\0';
    subject[10] = '\n';
    EM_FAIL(&st, EM_FAILED_PRECONDITION, "Could not find a key.");
    /* a hostile subject (the caller's URI); types and descriptions are the emulator's */
    em_status_add_violation(&st, "CLOUD_EKM_KEY", subject,
                            "The Cloud EKM key could not use its external key.");
    em_status_add_violation(&st, "EXTERNAL_NOT_FOUND", subject, "Could not find a key.");
    root = cJSON_Parse(st.info_metadata);
    assert_int_equal(cJSON_GetArraySize(root), 2);
    const char *kept = cJSON_GetObjectItem(cJSON_GetArrayItem(root, 1), "subject")->valuestring;
    assert_int_equal(strlen(kept), EM_VIOLATION_FIELD_MAX - 1);
    assert_int_equal(kept[10], '?');
    cJSON_Delete(root);
    /* a new failure forgets them */
    EM_FAIL(&st, EM_NOT_FOUND, "gone");
    json = em_status_to_json(&st);
    assert_null(strstr(json, "PreconditionFailure"));
    free(json);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_key_is_made_at_first_use_and_keeps_its_material),
        T(test_the_material_is_sealed_at_rest),
        T(test_disable_enable_and_destroy),
        T(test_unknown_keys_and_bad_uris),
        T(test_a_moved_key_keeps_its_material_and_state),
        T(test_list_and_reset),
        cmocka_unit_test(test_errors_carry_a_precondition_failure),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
