/*
 * test_control: the control plane's pure logic: monitored resources of log entries,
 * audit rows as LogEntry JSON, entries:list paging and filtering over a real audit
 * table, page tokens, the --services list, and the flags a child process gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control.h"
#include "control/control_logging.h"
#include "em_audit.h"
#include "em_config.h"
#include "em_json.h"
#include "em_service.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- helpers --- */

static const char *str_at(const cJSON *root, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", path);
    const cJSON *item = root;
    for (char *seg = strtok(copy, "."); seg && item; seg = strtok(NULL, "."))
        item = cJSON_GetObjectItemCaseSensitive(item, seg);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void assert_str_at(const cJSON *root, const char *path, const char *expected)
{
    const char *actual = str_at(root, path);
    if (!actual || strcmp(actual, expected) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", path, expected, actual ? actual : "(absent)");
}

static int label_count(const cJSON *resource)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resource, "labels"));
}

/* --- monitored resources --- */

static void test_resource_kms_kinds(void **state)
{
    (void)state;
    cJSON *r = control_log_resource("projects/p1/locations/us/keyRings/ring",
                                    "cloudkms.googleapis.com", "GetKeyRing");
    assert_str_at(r, "type", "cloudkms_keyring");
    assert_str_at(r, "labels.project_id", "p1");
    assert_str_at(r, "labels.location", "us");
    assert_str_at(r, "labels.key_ring_id", "ring");
    assert_int_equal(label_count(r), 3);
    cJSON_Delete(r);

    r = control_log_resource("projects/p1/locations/us/keyRings/ring/cryptoKeys/key",
                             "cloudkms.googleapis.com", "Encrypt");
    assert_str_at(r, "type", "cloudkms_cryptokey");
    assert_str_at(r, "labels.crypto_key_id", "key");
    assert_int_equal(label_count(r), 4);
    cJSON_Delete(r);

    r = control_log_resource(
        "projects/p1/locations/us/keyRings/ring/cryptoKeys/key/cryptoKeyVersions/3",
        "cloudkms.googleapis.com", "Decrypt");
    assert_str_at(r, "type", "cloudkms_cryptokeyversion");
    assert_str_at(r, "labels.crypto_key_version_id", "3");
    assert_str_at(r, "labels.key_ring_id", "ring");
    assert_int_equal(label_count(r), 5);
    cJSON_Delete(r);
}

static void test_resource_pubsub_kinds(void **state)
{
    (void)state;
    static const struct {
        const char *name, *type, *label, *id;
    } cases[] = {
        {"projects/p2/topics/t", "pubsub_topic", "labels.topic_id", "t"},
        {"projects/p2/subscriptions/s", "pubsub_subscription", "labels.subscription_id", "s"},
        {"projects/p2/snapshots/n", "pubsub_snapshot", "labels.snapshot_id", "n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *r = control_log_resource(cases[i].name, "pubsub.googleapis.com", "GetTopic");
        assert_str_at(r, "type", cases[i].type);
        assert_str_at(r, "labels.project_id", "p2");
        assert_str_at(r, cases[i].label, cases[i].id);
        assert_int_equal(label_count(r), 2);
        cJSON_Delete(r);
    }
}

static void test_resource_anything_else_is_audited(void **state)
{
    (void)state;
    /* a parent, a Spanner database, a truncated name, a name without a project */
    static const char *const names[] = {"projects/p3/locations/global",
                                        "projects/p3/instances/i/databases/d", "projects/p3/topics",
                                        "projects/p3/topics/t/extra", ""};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        cJSON *r = control_log_resource(names[i], "spanner.googleapis.com", "GetDatabase");
        assert_str_at(r, "type", "audited_resource");
        assert_str_at(r, "labels.project_id", names[i][0] ? "p3" : "");
        assert_str_at(r, "labels.service", "spanner.googleapis.com");
        assert_str_at(r, "labels.method", "GetDatabase");
        cJSON_Delete(r);
    }
}

/* --- LogEntry --- */

static struct em_audit_row make_row(int64_t id, const char *service, enum em_audit_kind kind,
                                    const char *resource)
{
    struct em_audit_row row = {
        .id = id,
        .entry = {.time_ns = 1767225600LL * EM_NS_PER_SEC + 5, /* 2026-01-01T00:00:00Z */
                  .service = service,
                  .kind = kind,
                  .principal = "user:alice@example.com",
                  .method = "CreateKeyRing",
                  .resource = resource},
    };
    return row;
}

static void test_entry_admin_success(void **state)
{
    (void)state;
    struct em_audit_row row =
        make_row(42, "kms", EM_AUDIT_ADMIN, "projects/p1/locations/us/keyRings/r");
    cJSON *e = control_log_entry(&row);
    assert_non_null(e);
    assert_str_at(e, "logName", "projects/p1/logs/cloudaudit.googleapis.com%2Factivity");
    assert_str_at(e, "severity", "NOTICE");
    assert_str_at(e, "insertId", "42");
    assert_str_at(e, "timestamp", "2026-01-01T00:00:00.000000005Z");
    assert_str_at(e, "receiveTimestamp", "2026-01-01T00:00:00.000000005Z");
    assert_str_at(e, "resource.type", "cloudkms_keyring");
    assert_str_at(e, "protoPayload.@type", "type.googleapis.com/google.cloud.audit.AuditLog");
    assert_str_at(e, "protoPayload.serviceName", "cloudkms.googleapis.com");
    assert_str_at(e, "protoPayload.methodName", "CreateKeyRing");
    assert_str_at(e, "protoPayload.resourceName", "projects/p1/locations/us/keyRings/r");
    assert_str_at(e, "protoPayload.authenticationInfo.principalEmail", "alice@example.com");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(e, "protoPayload");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(payload, "status");
    assert_true(cJSON_IsObject(status));
    assert_int_equal(cJSON_GetArraySize(status), 0);
    assert_null(cJSON_GetObjectItemCaseSensitive(payload, "metadata"));
    cJSON_Delete(e);
}

static void test_entry_data_access_failure_with_metadata(void **state)
{
    (void)state;
    struct em_audit_row row = make_row(7, "runner", EM_AUDIT_DATA_ACCESS,
                                       "projects/p1/locations/us/keyRings/r/cryptoKeys/k");
    row.entry.principal = "serviceAccount:robot@p1.iam.gserviceaccount.com";
    row.entry.key_version = "projects/p1/locations/us/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1";
    row.entry.caller = "projects/p1/locations/us-central1/jobs/job-1";
    row.entry.code = 9;
    row.entry.message = "key disabled";
    cJSON *e = control_log_entry(&row);
    assert_str_at(e, "logName", "projects/p1/logs/cloudaudit.googleapis.com%2Fdata_access");
    assert_str_at(e, "severity", "ERROR");
    assert_str_at(e, "protoPayload.serviceName", "dataflow.googleapis.com");
    assert_str_at(e, "protoPayload.authenticationInfo.principalEmail",
                  "robot@p1.iam.gserviceaccount.com");
    assert_str_at(e, "protoPayload.status.message", "key disabled");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "protoPayload"),
                                         "status"),
        "code");
    assert_true(cJSON_IsNumber(code));
    assert_int_equal(code->valueint, 9);
    assert_str_at(e, "protoPayload.metadata.cryptoKeyVersion", row.entry.key_version);
    assert_str_at(e, "protoPayload.metadata.callerResource", row.entry.caller);
    cJSON_Delete(e);
}

static void test_entry_info_severity_and_service_names(void **state)
{
    (void)state;
    static const struct {
        const char *service, *google;
    } cases[] = {{"kms", "cloudkms.googleapis.com"},
                 {"pubsub", "pubsub.googleapis.com"},
                 {"bigtable", "bigtableadmin.googleapis.com"},
                 {"spanner", "spanner.googleapis.com"},
                 {"runner", "dataflow.googleapis.com"},
                 {"emulator", "cloudresourcemanager.googleapis.com"},
                 {"storage", "storage.googleapis.com"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct em_audit_row row =
            make_row(1, cases[i].service, EM_AUDIT_DATA_ACCESS, "projects/p9");
        row.entry.principal = "group:team@example.com";
        cJSON *e = control_log_entry(&row);
        assert_str_at(e, "severity", "INFO");
        assert_str_at(e, "protoPayload.serviceName", cases[i].google);
        assert_str_at(e, "protoPayload.authenticationInfo.principalEmail",
                      "group:team@example.com");
        assert_str_at(e, "resource.type", "audited_resource");
        cJSON_Delete(e);
    }
    /* the control plane's Organization Policy methods are orgpolicy's */
    struct em_audit_row row = make_row(2, "emulator", EM_AUDIT_ADMIN, "projects/p9");
    row.entry.method = "CreatePolicy";
    cJSON *e = control_log_entry(&row);
    assert_str_at(e, "protoPayload.serviceName", "orgpolicy.googleapis.com");
    cJSON_Delete(e);
    /* its Service Usage methods are serviceusage's, the others Resource Manager's */
    row.entry.method = "EnableService";
    e = control_log_entry(&row);
    assert_str_at(e, "protoPayload.serviceName", "serviceusage.googleapis.com");
    cJSON_Delete(e);
    row.entry.method = "CreateProject";
    e = control_log_entry(&row);
    assert_str_at(e, "protoPayload.serviceName", "cloudresourcemanager.googleapis.com");
    cJSON_Delete(e);
}

static void test_entry_outside_a_project_is_skipped(void **state)
{
    (void)state;
    struct em_audit_row row = make_row(1, "kms", EM_AUDIT_ADMIN, "organizations/1/keyRings/r");
    assert_null(control_log_entry(&row));
    row.entry.resource = "";
    assert_null(control_log_entry(&row));
}

/* --- page tokens --- */

static void test_page_tokens(void **state)
{
    (void)state;
    struct em_status st = {0};
    int64_t id = 0;
    char *asc = control_log_token_make(123456789012LL, false);
    char *desc = control_log_token_make(5, true);
    assert_string_not_equal(asc, desc);
    assert_int_equal(control_log_token_read(asc, false, &id, &st), EM_OK);
    assert_int_equal(id, 123456789012LL);
    assert_int_equal(control_log_token_read(desc, true, &id, &st), EM_OK);
    assert_int_equal(id, 5);
    /* a token is bound to its order */
    assert_int_equal(control_log_token_read(asc, true, &id, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(control_log_token_read(desc, false, &id, &st), EM_INVALID_ARGUMENT);
    free(asc);
    free(desc);
    /* forged or damaged tokens */
    static const char *const bad[] = {
        "!!!",   "", "MTIz" /* "123" */, "MDphc2M" /* "0:asc" */, "LTU6YXNj" /* "-5:asc" */,
        "NTp1cA" /* "5:up" */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st.code = EM_OK;
        assert_int_equal(control_log_token_read(bad[i], false, &id, &st), EM_INVALID_ARGUMENT);
        assert_true(strlen(st.message) > 0);
    }
}

/* --- entries:list over a real audit table --- */

struct store_fixture {
    char dir[64];
    struct em_store *store;
    struct em_audit *audit;
};

static int store_setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_control.XXXXXX");
    *state = f;
    if (!mkdtemp(f->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/metadata.db", f->dir);
    if (em_store_open(path, &f->store, &st) || em_audit_open(f->store, 100000, &f->audit, &st))
        return -1;
    /* 30 rows: ids 1..30; projects alternate p-alpha / p-beta; every third is admin */
    for (int i = 1; i <= 30; i++) {
        char resource[96];
        snprintf(resource, sizeof(resource), "projects/%s/topics/t%d", i % 2 ? "p-alpha" : "p-beta",
                 i);
        struct em_audit_entry e = {.time_ns = (int64_t)i * EM_NS_PER_SEC,
                                   .service = "pubsub",
                                   .kind = i % 3 == 0 ? EM_AUDIT_ADMIN : EM_AUDIT_DATA_ACCESS,
                                   .principal = "user:dev@example.com",
                                   .method = i % 3 == 0 ? "CreateTopic" : "GetTopic",
                                   .resource = resource};
        em_audit_record(f->audit, &e);
    }
    em_audit_flush(f->audit, &st);
    *state = f;
    return 0;
}

static int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    em_audit_close(f->audit);
    em_store_close(f->store);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

/* Runs entries:list with a JSON request; returns the reply (or NULL with *code set). */
static cJSON *list(struct store_fixture *f, const char *request_json, int64_t scan_limit,
                   enum em_code *code)
{
    cJSON *request = cJSON_Parse(request_json);
    assert_non_null(request);
    cJSON *reply = NULL;
    struct em_status st = {0};
    *code = control_log_list(f->store, request, scan_limit, &reply, &st);
    cJSON_Delete(request);
    return reply;
}

/* The insertIds of a reply, "1,3,5". */
static void ids_of(const cJSON *reply, char *out, size_t len)
{
    out[0] = '\0';
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(reply, "entries");
    for (int i = 0; i < cJSON_GetArraySize(entries); i++) {
        const char *id = str_at(cJSON_GetArrayItem(entries, i), "insertId");
        snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "", id);
    }
}

static void test_list_pages_through_one_project(void **state)
{
    struct store_fixture *f = *state;
    enum em_code code;
    char ids[256];
    cJSON *reply =
        list(f, "{\"resourceNames\":[\"projects/p-alpha\"],\"pageSize\":4}", 1000, &code);
    assert_int_equal(code, EM_OK);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "1,3,5,7");
    const char *token = str_at(reply, "nextPageToken");
    assert_non_null(token);
    char request[256];
    snprintf(request, sizeof(request),
             "{\"resourceNames\":[\"projects/p-alpha\"],\"pageSize\":100,\"pageToken\":\"%s\"}",
             token);
    cJSON_Delete(reply);
    reply = list(f, request, 1000, &code);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "9,11,13,15,17,19,21,23,25,27,29");
    assert_null(str_at(reply, "nextPageToken"));
    cJSON_Delete(reply);
}

static void test_list_descending_several_projects(void **state)
{
    struct store_fixture *f = *state;
    enum em_code code;
    char ids[256];
    cJSON *reply = list(f,
                        "{\"resourceNames\":[\"projects/p-beta\"],\"projectIds\":[\"p-alpha\"],"
                        "\"orderBy\":\"timestamp desc\",\"pageSize\":3}",
                        1000, &code);
    assert_int_equal(code, EM_OK);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "30,29,28");
    cJSON_Delete(reply);
}

static void test_list_applies_the_filter(void **state)
{
    struct store_fixture *f = *state;
    enum em_code code;
    char ids[256];
    cJSON *reply = list(f,
                        "{\"resourceNames\":[\"projects/p-beta\"],"
                        "\"filter\":\"severity=NOTICE AND resource.type=pubsub_topic\"}",
                        1000, &code);
    assert_int_equal(code, EM_OK);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "6,12,18,24,30");
    cJSON_Delete(reply);
    reply = list(f,
                 "{\"resourceNames\":[\"projects/p-beta\"],"
                 "\"filter\":\"protoPayload.resourceName=\\\"projects/p-beta/topics/t4\\\"\"}",
                 1000, &code);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "4");
    cJSON_Delete(reply);
}

static void test_list_stops_at_the_scan_limit_with_a_token(void **state)
{
    struct store_fixture *f = *state;
    enum em_code code;
    char ids[256];
    /* only admin entries of p-alpha match (3, 9, 15, 21, 27); 10 rows per call */
    const char *base = "{\"resourceNames\":[\"projects/p-alpha\"],\"filter\":\"severity=NOTICE\"";
    char request[512];
    snprintf(request, sizeof(request), "%s}", base);
    cJSON *reply = list(f, request, 10, &code);
    assert_int_equal(code, EM_OK);
    ids_of(reply, ids, sizeof(ids));
    assert_string_equal(ids, "3,9");
    char seen[256] = "";
    snprintf(seen, sizeof(seen), "%s", ids);
    while (str_at(reply, "nextPageToken")) {
        snprintf(request, sizeof(request), "%s,\"pageToken\":\"%s\"}", base,
                 str_at(reply, "nextPageToken"));
        cJSON_Delete(reply);
        reply = list(f, request, 10, &code);
        assert_int_equal(code, EM_OK);
        ids_of(reply, ids, sizeof(ids));
        size_t used = strlen(seen);
        if (ids[0])
            assert_true(snprintf(seen + used, sizeof(seen) - used, ",%s", ids) <
                        (int)(sizeof(seen) - used));
    }
    cJSON_Delete(reply);
    assert_string_equal(seen, "3,9,15,21,27");
}

static void test_list_rejects_bad_requests(void **state)
{
    struct store_fixture *f = *state;
    static const char *const bad[] = {
        "{}",
        "{\"resourceNames\":[\"folders/1\"]}",
        "{\"resourceNames\":[\"projects/Bad_Id\"]}",
        "{\"projectIds\":[\"x\"]}",
        "{\"resourceNames\":[\"projects/p-alpha\"],\"orderBy\":\"severity\"}",
        "{\"resourceNames\":[\"projects/p-alpha\"],\"orderBy\":\"timestamp up\"}",
        "{\"resourceNames\":[\"projects/p-alpha\"],\"pageSize\":-1}",
        "{\"resourceNames\":[\"projects/p-alpha\"],\"pageToken\":\"nonsense\"}",
        "{\"resourceNames\":[\"projects/p-alpha\"],\"filter\":\"((\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum em_code code;
        cJSON *reply = list(f, bad[i], 1000, &code);
        if (code != EM_INVALID_ARGUMENT)
            fail_msg("request %s: expected INVALID_ARGUMENT, got %d", bad[i], code);
        assert_null(reply);
    }
}

static void test_list_order_spellings(void **state)
{
    struct store_fixture *f = *state;
    static const struct {
        const char *order;
        const char *first;
    } cases[] = {{"timestamp", "2"},
                 {"timestamp asc", "2"},
                 {"TIMESTAMP DESC", "30"},
                 {"  timestamp   desc ", "30"},
                 {"", "2"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char request[256];
        snprintf(request, sizeof(request),
                 "{\"resourceNames\":[\"projects/p-beta\"],\"orderBy\":\"%s\",\"pageSize\":1}",
                 cases[i].order);
        enum em_code code;
        cJSON *reply = list(f, request, 1000, &code);
        assert_int_equal(code, EM_OK);
        char ids[64];
        ids_of(reply, ids, sizeof(ids));
        assert_string_equal(ids, cases[i].first);
        cJSON_Delete(reply);
    }
}

/* --- --services --- */

struct bin_fixture {
    char dir[64];
};

static void make_executable(const char *dir, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\n", f);
    fclose(f);
    chmod(path, 0755);
}

static int bin_setup(void **state)
{
    struct bin_fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_control_bin.XXXXXX");
    *state = f;
    if (!mkdtemp(f->dir))
        return -1;
    make_executable(f->dir, "kms");
    make_executable(f->dir, "pubsub");
    make_executable(f->dir, "emulator");
    *state = f;
    return 0;
}

static int bin_teardown(void **state)
{
    struct bin_fixture *f = *state;
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

static enum em_code resolve(const char *dir, const char *list, char *names, size_t len)
{
    const struct em_service_desc *out[CONTROL_SERVICE_MAX];
    size_t count = 99;
    struct em_status st = {0};
    enum em_code code = control_services_resolve(list, dir, out, CONTROL_SERVICE_MAX, &count, &st);
    names[0] = '\0';
    for (size_t i = 0; code == EM_OK && i < count; i++)
        snprintf(names + strlen(names), len - strlen(names), "%s%s", i ? "," : "", out[i]->name);
    return code;
}

static void test_services_resolve(void **state)
{
    struct bin_fixture *f = *state;
    char names[128];
    assert_int_equal(resolve(f->dir, "all", names, sizeof(names)), EM_OK);
    assert_string_equal(names, "kms,pubsub"); /* built ones only, never the control plane */
    assert_int_equal(resolve(f->dir, "pubsub", names, sizeof(names)), EM_OK);
    assert_string_equal(names, "pubsub");
    assert_int_equal(resolve(f->dir, " pubsub , kms,kms", names, sizeof(names)), EM_OK);
    assert_string_equal(names, "kms,pubsub");
    assert_int_equal(resolve(f->dir, "none", names, sizeof(names)), EM_OK);
    assert_string_equal(names, "");
    assert_int_equal(resolve(f->dir, "", names, sizeof(names)), EM_OK);
    assert_string_equal(names, "");
    assert_int_equal(resolve(f->dir, "kms,bigtable", names, sizeof(names)), EM_FAILED_PRECONDITION);
    assert_int_equal(resolve(f->dir, "kms,bogus", names, sizeof(names)), EM_INVALID_ARGUMENT);
    assert_int_equal(resolve(f->dir, "emulator", names, sizeof(names)), EM_INVALID_ARGUMENT);
    assert_int_equal(resolve(f->dir, "all,kms", names, sizeof(names)), EM_INVALID_ARGUMENT);
}

/* --- child argv --- */

static void test_child_args_round_trip(void **state)
{
    (void)state;
    char *argv[] = {"emulator",
                    "--port-base",
                    "9100",
                    "--iam",
                    "enforce",
                    "--log-level=debug",
                    "--ephemeral",
                    "--services",
                    "kms",
                    "--data-dir",
                    "/tmp/some dir",
                    "--kms-grace",
                    "77",
                    "--default-principal",
                    "user:x@example.com",
                    NULL};
    struct em_config cfg, again;
    struct em_status st = {0};
    bool help;
    assert_int_equal(em_config_load(&cfg, 15, argv, &help, &st), EM_OK);
    static struct em_config_args args; /* large: keep it off the stack */
    assert_int_equal(em_config_child_args(&cfg, "/opt/bin/kms", &args, &st), EM_OK);
    assert_string_equal(args.argv[0], "/opt/bin/kms");
    assert_null(args.argv[args.argc]);
    bool not_ephemeral = false;
    for (int i = 1; i < args.argc; i++) {
        assert_true(strncmp(args.argv[i], "--", 2) == 0 && strchr(args.argv[i], '='));
        not_ephemeral |= strcmp(args.argv[i], "--ephemeral=false") == 0;
        assert_null(strstr(args.argv[i], "--services=kms"));
    }
    assert_true(not_ephemeral);
    /* the flags win over whatever the child's environment says */
    setenv("EMULATOR_EPHEMERAL", "true", 1);
    setenv("EMULATOR_PORT_BASE", "9999", 1);
    assert_int_equal(em_config_load(&again, args.argc, args.argv, &help, &st), EM_OK);
    unsetenv("EMULATOR_EPHEMERAL");
    unsetenv("EMULATOR_PORT_BASE");
    assert_int_equal(again.port_base, 9100);
    assert_true(again.iam_enforce);
    assert_int_equal(again.log_level, cfg.log_level);
    assert_string_equal(again.data_dir, "/tmp/some dir");
    assert_int_equal(again.kms_grace_s, 77);
    assert_string_equal(again.default_principal, "user:x@example.com");
    assert_int_equal(again.max_body_bytes, cfg.max_body_bytes);
    assert_int_equal(again.threads, cfg.threads);
    assert_string_equal(again.host, cfg.host);
    assert_false(again.ephemeral);              /* the control plane owns the temp dir */
    assert_string_equal(again.services, "all"); /* the default: children start nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_kms_kinds),
        cmocka_unit_test(test_resource_pubsub_kinds),
        cmocka_unit_test(test_resource_anything_else_is_audited),
        cmocka_unit_test(test_entry_admin_success),
        cmocka_unit_test(test_entry_data_access_failure_with_metadata),
        cmocka_unit_test(test_entry_info_severity_and_service_names),
        cmocka_unit_test(test_entry_outside_a_project_is_skipped),
        cmocka_unit_test(test_page_tokens),
        cmocka_unit_test_setup_teardown(test_list_pages_through_one_project, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_list_descending_several_projects, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_list_applies_the_filter, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_list_stops_at_the_scan_limit_with_a_token, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_list_rejects_bad_requests, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_list_order_spellings, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_services_resolve, bin_setup, bin_teardown),
        cmocka_unit_test(test_child_args_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
