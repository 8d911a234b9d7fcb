/*
 * Unit tests of Cloud KMS Autokey (kms_autokey, kms_autokey_handlers) through KMS's own
 * dispatcher, in process: the rules (folder IDs, key projects, resource type selectors,
 * the provisioned key's ID), AutokeyConfig get/update (update mask, etag, clearing,
 * persistence across a restart), ShowEffectiveAutokeyConfig (nearest configured folder),
 * and CreateKeyHandle's operation: refused without a configuration, else a key ring
 * "autokey" and an HSM key rotated yearly in the key project, usable at once; handles
 * got, listed and filtered. Resource Manager's ancestry comes from kms_ancestry_hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_call.h"
#include "em_config.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_names.h"
#include "em_operations.h"
#include "kms/kms.h"
#include "kms/kms_autokey.h"
#include "kms/kms_handlers.h"
#include "unit_kms.h"

#include <stdlib.h>
#include <string.h>

#define FOLDER_NEAR "111"
#define FOLDER_FAR  "222"

struct fixture {
    struct em_config cfg;
    char dir[PATH_MAX];
    struct em_service *kms;
};

/* Project "app-project" sits in folder 111, itself in folder 222; "lone-project" in none. */
static enum em_code fake_ancestry(const char *project, cJSON **ancestry, struct em_status *st)
{
    (void)st;
    char text[512];
    if (strcmp(project, "app-project") == 0)
        snprintf(text, sizeof(text),
                 "{\"ancestor\": [{\"resourceId\": {\"type\": \"project\", \"id\": \"%s\"}},"
                 " {\"resourceId\": {\"type\": \"folder\", \"id\": \"" FOLDER_NEAR "\"}},"
                 " {\"resourceId\": {\"type\": \"folder\", \"id\": \"" FOLDER_FAR "\"}},"
                 " {\"resourceId\": {\"type\": \"organization\", \"id\": \"9\"}}]}",
                 project);
    else
        snprintf(text, sizeof(text),
                 "{\"ancestor\": [{\"resourceId\": {\"type\": \"project\", \"id\": \"%s\"}}]}",
                 project);
    *ancestry = cJSON_Parse(text);
    return EM_OK;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)) || unit_kms_open(&f->cfg, &f->kms))
        return -1;
    kms_ancestry_hook = fake_ancestry;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f);
    kms_ancestry_hook = NULL;
    return 0;
}

/* A call as the owner; the HTTP status, and the reply's JSON into *reply (may be NULL). */
static int call(struct fixture *f, const char *method, const char *path, const char *query_key,
                const char *query_value, const char *body, cJSON **reply)
{
    return unit_kms_call_json(f->kms, method, path, query_key, query_value, body, reply);
}

static void assert_field(const cJSON *json, const char *path, const char *want)
{
    const char *got = em_json_string(json, path);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", path, want, got ? got : "(absent)");
}

static void set_config(struct fixture *f, const char *folder, const char *key_project)
{
    char path[128], body[256];
    snprintf(path, sizeof(path), "/v1/folders/%s/autokeyConfig", folder);
    snprintf(body, sizeof(body), "{\"keyProject\": \"%s\"}", key_project);
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject", body, NULL), 200);
}

/* Creates a key handle and waits for its operation; the finished Operation. */
static cJSON *create_handle(struct fixture *f, const char *project, const char *id,
                            const char *selector)
{
    char path[256], body[256];
    snprintf(path, sizeof(path), "/v1/projects/%s/locations/us-central1/keyHandles", project);
    snprintf(body, sizeof(body), "{\"resourceTypeSelector\": \"%s\"}", selector);
    cJSON *op = NULL;
    assert_int_equal(call(f, "POST", path, "keyHandleId", id, body, &op), 200);
    struct em_status st = {0};
    char name[EM_OP_NAME_MAX];
    snprintf(name, sizeof(name), "%s", em_json_string(op, "name"));
    cJSON_Delete(op);
    assert_int_equal(em_op_wait(f->kms->operations, name, &st), EM_OK);
    char op_path[EM_OP_NAME_MAX + 8];
    snprintf(op_path, sizeof(op_path), "/v1/%s", name);
    assert_int_equal(call(f, "GET", op_path, NULL, NULL, NULL, &op), 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(op, "done")));
    return op;
}

/* --- rules --- */

static void test_rules(void **state)
{
    (void)state;
    struct em_status st = {0};
    assert_int_equal(kms_autokey_check_folder("123456789012", &st), EM_OK);
    assert_int_equal(kms_autokey_check_folder("12a", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_autokey_check_folder("", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_autokey_check_folder("123456789012345678901", &st), EM_INVALID_ARGUMENT);
    st = (struct em_status){0};
    assert_int_equal(kms_autokey_check_key_project("projects/key-project", &st), EM_OK);
    assert_int_equal(kms_autokey_check_key_project("", &st), EM_OK);
    assert_int_equal(kms_autokey_check_key_project("key-project", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_autokey_check_key_project("projects/", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_autokey_check_key_project("projects/Bad_Id", &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_autokey_check_key_project("projects/123456", &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "project ID"));
    st = (struct em_status){0};
    assert_int_equal(kms_autokey_check_selector("pubsub.googleapis.com/Topic", &st), EM_OK);
    assert_int_equal(kms_autokey_check_selector("spanner.googleapis.com/Database", &st), EM_OK);
    static const char *const bad[] = {
        "pubsub.googleapis.com/",        "pubsub.googleapis.com/topic",
        "Pubsub.googleapis.com/Topic",   "pubsub.example.com/Topic",
        "pubsub.googleapis.com/Topic/x", ".googleapis.com/Topic",
        "pubsub.googleapis.com/To pic",  ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = (struct em_status){0};
        assert_int_equal(kms_autokey_check_selector(bad[i], &st), EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "resource_type_selector"));
    }
    char id[64];
    kms_autokey_key_id(123456789012LL, "compute.googleapis.com/Disk", 0xac103725a174885cULL, id,
                       sizeof(id));
    assert_string_equal(id, "123456789012-compute-disk-ac103725a174885c");
    kms_autokey_key_id(123456789012LL, "securesourcemanager.googleapis.com/InstanceTemplateGroup",
                       1, id, sizeof(id));
    assert_int_equal(strlen(id), 63);
    assert_string_equal(id + strlen(id) - 17, "-0000000000000001");
    assert_int_equal(strncmp(id, "123456789012-securesourcemanager-instance", 41), 0);
}

/* --- AutokeyConfig --- */

static void test_config_get_and_update(void **state)
{
    struct fixture *f = *state;
    const char *path = "/v1/folders/" FOLDER_NEAR "/autokeyConfig";
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_field(r, "name", "folders/" FOLDER_NEAR "/autokeyConfig");
    assert_field(r, "state", "UNINITIALIZED");
    assert_null(cJSON_GetObjectItem(r, "keyProject"));
    cJSON_Delete(r);

    /* the mask is required and names key_project only */
    const char *body = "{\"keyProject\": \"projects/key-project\"}";
    assert_int_equal(call(f, "PATCH", path, NULL, NULL, body, NULL), 400);
    assert_int_equal(call(f, "PATCH", path, "updateMask", "state", body, NULL), 400);
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject",
                          "{\"keyProject\": \"projects/123456789\"}", NULL),
                     400);
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject",
                          "{\"name\": \"folders/5/autokeyConfig\", \"keyProject\": "
                          "\"projects/key-project\"}",
                          NULL),
                     400);
    assert_int_equal(call(f, "GET", "/v1/folders/abc/autokeyConfig", NULL, NULL, NULL, NULL), 400);

    assert_int_equal(call(f, "PATCH", path, "updateMask", "key_project", body, &r), 200);
    assert_field(r, "keyProject", "projects/key-project");
    assert_field(r, "state", "ACTIVE");
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", em_json_string(r, "etag"));
    assert_true(strlen(etag) > 0);
    cJSON_Delete(r);

    /* a stale etag is ABORTED; the current one is accepted */
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject",
                          "{\"keyProject\": \"projects/other-project\", \"etag\": \"00\"}", NULL),
                     409);
    char with_etag[256];
    snprintf(with_etag, sizeof(with_etag),
             "{\"keyProject\": \"projects/other-project\", \"etag\": \"%s\"}", etag);
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject", with_etag, &r), 200);
    assert_field(r, "keyProject", "projects/other-project");
    assert_true(strcmp(em_json_string(r, "etag"), etag) != 0);
    cJSON_Delete(r);

    /* kept across a restart */
    em_service_close(f->kms);
    assert_int_equal(unit_kms_open(&f->cfg, &f->kms), 0);
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_field(r, "keyProject", "projects/other-project");
    cJSON_Delete(r);

    /* an empty key project clears the configuration */
    assert_int_equal(call(f, "PATCH", path, "updateMask", "keyProject", "{}", &r), 200);
    assert_field(r, "state", "UNINITIALIZED");
    cJSON_Delete(r);
}

static void test_show_effective_config(void **state)
{
    struct fixture *f = *state;
    const char *path = "/v1/projects/app-project:showEffectiveAutokeyConfig";
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_null(cJSON_GetObjectItem(r, "keyProject"));
    cJSON_Delete(r);

    set_config(f, FOLDER_FAR, "projects/far-keys");
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_field(r, "keyProject", "projects/far-keys");
    cJSON_Delete(r);

    set_config(f, FOLDER_NEAR, "projects/near-keys"); /* the nearest folder wins */
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_field(r, "keyProject", "projects/near-keys");
    cJSON_Delete(r);

    assert_int_equal(call(f, "GET", "/v1/projects/lone-project:showEffectiveAutokeyConfig", NULL,
                          NULL, NULL, &r),
                     200);
    assert_null(cJSON_GetObjectItem(r, "keyProject"));
    cJSON_Delete(r);
}

/* --- key handles --- */

static void test_key_handle_needs_a_configuration(void **state)
{
    struct fixture *f = *state;
    cJSON *op = create_handle(f, "app-project", "early", "pubsub.googleapis.com/Topic");
    const cJSON *error = cJSON_GetObjectItem(op, "error");
    assert_non_null(error);
    assert_int_equal(cJSON_GetObjectItem(error, "code")->valueint, 9); /* FAILED_PRECONDITION */
    assert_non_null(strstr(em_json_string(error, "message"), "app-project"));
    cJSON_Delete(op);
    /* the failed handle does not exist, and its ID may be used again */
    assert_int_equal(call(f, "GET",
                          "/v1/projects/app-project/locations/us-central1/keyHandles/early", NULL,
                          NULL, NULL, NULL),
                     404);
    set_config(f, FOLDER_FAR, "projects/key-project");
    op = create_handle(f, "app-project", "early", "pubsub.googleapis.com/Topic");
    assert_non_null(cJSON_GetObjectItem(op, "response"));
    cJSON_Delete(op);
}

static void test_key_handle_provisions_a_key(void **state)
{
    struct fixture *f = *state;
    set_config(f, FOLDER_NEAR, "projects/key-project");
    cJSON *op = create_handle(f, "app-project", "topics", "pubsub.googleapis.com/Topic");
    const cJSON *handle = cJSON_GetObjectItem(op, "response");
    assert_non_null(handle);
    assert_field(handle, "@type", "type.googleapis.com/google.cloud.kms.v1.KeyHandle");
    assert_field(handle, "name", "projects/app-project/locations/us-central1/keyHandles/topics");
    assert_field(handle, "resourceTypeSelector", "pubsub.googleapis.com/Topic");
    char key[512], prefix[256];
    snprintf(key, sizeof(key), "%s", em_json_string(handle, "kmsKey"));
    snprintf(prefix, sizeof(prefix),
             "projects/key-project/locations/us-central1/keyRings/autokey/cryptoKeys/%lld-pubsub-"
             "topic-",
             (long long)em_project_number("app-project"));
    assert_int_equal(strncmp(key, prefix, strlen(prefix)), 0);
    assert_int_equal(strlen(key), strlen(prefix) + 16);
    cJSON_Delete(op);

    /* the key: HSM, symmetric, rotated every 365 days, enabled and usable */
    char path[600];
    cJSON *r = NULL;
    snprintf(path, sizeof(path), "/v1/%s", key);
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    assert_field(r, "purpose", "ENCRYPT_DECRYPT");
    assert_field(cJSON_GetObjectItem(r, "versionTemplate"), "protectionLevel", "HSM");
    assert_field(r, "rotationPeriod", "31536000s");
    assert_field(cJSON_GetObjectItem(r, "primary"), "state", "ENABLED");
    cJSON_Delete(r);
    snprintf(path, sizeof(path), "/v1/%s:encrypt", key);
    assert_int_equal(call(f, "POST", path, NULL, NULL, "{\"plaintext\": \"aGVsbG8=\"}", NULL), 200);

    /* the resource type's service agent in the resource project may use it, as Google grants */
    struct em_status st = {0};
    cJSON *policy = NULL;
    assert_int_equal(em_iam_get_policy(f->kms->store, key, &policy, &st), EM_OK);
    char *text = cJSON_PrintUnformatted(policy);
    char agent[160];
    snprintf(
        agent, sizeof(agent),
        "\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\",\"members\":[\"serviceAccount:"
        "service-%lld@gcp-sa-pubsub.iam.gserviceaccount.com\"]",
        (long long)em_project_number("app-project"));
    if (!strstr(text, agent))
        fail_msg("the key's policy %s lacks %s", text, agent);
    cJSON_free(text);
    cJSON_Delete(policy);

    /* a second handle shares the key ring and gets its own key */
    op = create_handle(f, "app-project", "dbs", "spanner.googleapis.com/Database");
    const char *second = em_json_string(cJSON_GetObjectItem(op, "response"), "kmsKey");
    assert_non_null(strstr(second, "/keyRings/autokey/cryptoKeys/"));
    assert_non_null(strstr(second, "-spanner-database-"));
    assert_int_equal(em_iam_get_policy(f->kms->store, second, &policy, &st), EM_OK);
    text = cJSON_PrintUnformatted(policy);
    assert_non_null(strstr(text, "@gcp-sa-spanner.iam.gserviceaccount.com"));
    cJSON_free(text);
    cJSON_Delete(policy);
    cJSON_Delete(op);

    /* get, list, filter */
    assert_int_equal(call(f, "GET", "/v1/projects/app-project/locations/us-central1/keyHandles/dbs",
                          NULL, NULL, NULL, &r),
                     200);
    assert_field(r, "resourceTypeSelector", "spanner.googleapis.com/Database");
    cJSON_Delete(r);
    const char *list = "/v1/projects/app-project/locations/us-central1/keyHandles";
    assert_int_equal(call(f, "GET", list, NULL, NULL, NULL, &r), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "keyHandles")), 2);
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", list, "filter",
                          "resource_type_selector=\"pubsub.googleapis.com/Topic\"", NULL, &r),
                     200);
    const cJSON *items = cJSON_GetObjectItem(r, "keyHandles");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    assert_field(cJSON_GetArrayItem(items, 0), "name",
                 "projects/app-project/locations/us-central1/keyHandles/topics");
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", "/v1/projects/app-project/locations/europe-west1/keyHandles",
                          NULL, NULL, NULL, &r),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "keyHandles")), 0);
    cJSON_Delete(r);
}

/* The key project's default Key Access Justifications policy reaches Autokey's keys, as
 * it does any new key (kms_kaj.h). */
static void test_autokey_keys_get_the_default_kaj_policy(void **state)
{
    struct fixture *f = *state;
    set_config(f, FOLDER_NEAR, "projects/key-project");
    assert_int_equal(call(f, "PATCH", "/v1/projects/key-project/kajPolicyConfig", NULL, NULL,
                          "{\"defaultKeyAccessJustificationPolicy\":{\"allowedAccessReasons\":["
                          "\"CUSTOMER_INITIATED_ACCESS\"]}}",
                          NULL),
                     200);
    cJSON *op = create_handle(f, "app-project", "justified", "pubsub.googleapis.com/Topic");
    char path[600];
    snprintf(path, sizeof(path), "/v1/%s",
             em_json_string(cJSON_GetObjectItem(op, "response"), "kmsKey"));
    cJSON_Delete(op);
    cJSON *key = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &key), 200);
    char *policy =
        cJSON_PrintUnformatted(cJSON_GetObjectItem(key, "keyAccessJustificationsPolicy"));
    assert_string_equal(policy, "{\"allowedAccessReasons\":[\"CUSTOMER_INITIATED_ACCESS\"]}");
    cJSON_free(policy);
    cJSON_Delete(key);
}

static void test_key_handle_refusals(void **state)
{
    struct fixture *f = *state;
    set_config(f, FOLDER_NEAR, "projects/key-project");
    const char *path = "/v1/projects/app-project/locations/us-central1/keyHandles";
    assert_int_equal(call(f, "POST", path, NULL, NULL, "{}", NULL), 400);
    assert_int_equal(
        call(f, "POST", path, NULL, NULL, "{\"resourceTypeSelector\": \"pubsub/Topic\"}", NULL),
        400);
    assert_int_equal(call(f, "POST", path, "keyHandleId", "bad id!",
                          "{\"resourceTypeSelector\": \"pubsub.googleapis.com/Topic\"}", NULL),
                     400);
    assert_int_equal(call(f, "POST", "/v1/projects/app-project/locations/nowhere-land/keyHandles",
                          NULL, NULL, "{\"resourceTypeSelector\": \"pubsub.googleapis.com/Topic\"}",
                          NULL),
                     404);
    cJSON_Delete(create_handle(f, "app-project", "once", "pubsub.googleapis.com/Topic"));
    assert_int_equal(call(f, "POST", path, "keyHandleId", "once",
                          "{\"resourceTypeSelector\": \"pubsub.googleapis.com/Topic\"}", NULL),
                     409);
    assert_int_equal(call(f, "GET",
                          "/v1/projects/app-project/locations/us-central1/keyHandles/none", NULL,
                          NULL, NULL, NULL),
                     404);

    /* without an ID: a UUID */
    cJSON *op = NULL;
    assert_int_equal(call(f, "POST", path, NULL, NULL,
                          "{\"resourceTypeSelector\": \"pubsub.googleapis.com/Topic\"}", &op),
                     200);
    struct em_status st = {0};
    assert_int_equal(em_op_wait(f->kms->operations, em_json_string(op, "name"), &st), EM_OK);
    cJSON_Delete(op);
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, &r), 200);
    const cJSON *items = cJSON_GetObjectItem(r, "keyHandles");
    assert_int_equal(cJSON_GetArraySize(items), 2);
    const char *uuid = strrchr(em_json_string(cJSON_GetArrayItem(items, 0), "name"), '/') + 1;
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');
    cJSON_Delete(r);
}

static void test_handles_survive_restart_and_reset_clears(void **state)
{
    struct fixture *f = *state;
    set_config(f, FOLDER_NEAR, "projects/key-project");
    cJSON_Delete(create_handle(f, "app-project", "kept", "pubsub.googleapis.com/Topic"));
    em_service_close(f->kms);
    assert_int_equal(unit_kms_open(&f->cfg, &f->kms), 0);
    const char *path = "/v1/projects/app-project/locations/us-central1/keyHandles/kept";
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, NULL), 200);
    struct em_status st = {0};
    assert_int_equal(f->kms->def->reset(f->kms, &st), EM_OK);
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL, NULL), 404);
    cJSON *r = NULL;
    assert_int_equal(
        call(f, "GET", "/v1/folders/" FOLDER_NEAR "/autokeyConfig", NULL, NULL, NULL, &r), 200);
    assert_field(r, "state", "UNINITIALIZED");
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test_setup_teardown(test_config_get_and_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show_effective_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_handle_needs_a_configuration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_handle_provisions_a_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autokey_keys_get_the_default_kaj_policy, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_handle_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handles_survive_restart_and_reset_clears, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
