/*
 * test_iam: em_iam: who a request acts as (the Authorization header: principals, 401s,
 * anonymous callers, service agents only with the internal credential), what the predefined
 * roles grant, policies with etags (read-modify-write, concurrent changes refused, invalid
 * members and roles refused), and permission checks with IAM off and enforced: bindings
 * inherited from the project and key ring, allUsers, domain:, conditional bindings (their
 * CEL expressions on the resource checked and the emulator's time), the default principal,
 * and Google's PERMISSION_DENIED wording.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_call.h"
#include "em_config.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "unit_util.h"

#include <string.h>

#define DEFAULT "user:developer@example.com"
#define PROJECT "projects/p"
#define RING    PROJECT "/locations/global/keyRings/r"
#define KEY     RING "/cryptoKeys/k"
#define ENCRYPT "cloudkms.cryptoKeyVersions.useToEncrypt"

struct fixture {
    struct unit_dir dir;
    struct em_config enforce, off;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || em_iam_open(f->dir.store, &st))
        return -1;
    f->enforce.iam_enforce = true;
    snprintf(f->enforce.default_principal, sizeof(f->enforce.default_principal), DEFAULT);
    f->off = f->enforce;
    f->off.iam_enforce = false;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* ---------------------------------------------------------------- principals */

static struct em_config config_of(bool enforce)
{
    struct em_config cfg = {.iam_enforce = enforce};
    snprintf(cfg.default_principal, sizeof(cfg.default_principal), DEFAULT);
    return cfg;
}

/* The principal a request with this header acts as (both IAM modes agree). */
static void principal_is(const char *authorization, const char *want)
{
    for (int enforce = 0; enforce < 2; enforce++) {
        struct em_config cfg = config_of(enforce);
        struct em_status st = {0};
        char out[EM_PRINCIPAL_MAX];
        enum em_code code = em_iam_authenticate(authorization, false, &cfg, out, sizeof(out), &st);
        if (code != EM_OK || strcmp(out, want) != 0)
            fail_msg("Authorization \"%s\" (enforce %d): code %d, principal \"%s\", expected "
                     "\"%s\"",
                     authorization ? authorization : "(none)", enforce, code, out, want);
    }
}

/* The header is refused with Google's 401, whatever the IAM mode. */
static void unauthenticated(const char *authorization, bool internal)
{
    for (int enforce = 0; enforce < 2; enforce++) {
        struct em_config cfg = config_of(enforce);
        struct em_status st = {0};
        char out[EM_PRINCIPAL_MAX];
        enum em_code code =
            em_iam_authenticate(authorization, internal, &cfg, out, sizeof(out), &st);
        if (code != EM_UNAUTHENTICATED)
            fail_msg("Authorization \"%s\" (enforce %d): code %d, principal \"%s\", expected "
                     "UNAUTHENTICATED",
                     authorization, enforce, code, out);
        assert_string_equal(out, EM_IAM_ANONYMOUS);
        assert_non_null(strstr(st.message, "Request had invalid authentication credentials. "
                                           "Expected OAuth 2 access token"));
    }
}

static void test_principal_from_the_bearer_token(void **state)
{
    (void)state;
    principal_is("Bearer user:alice@example.com", "user:alice@example.com");
    principal_is("bearer user:alice@example.com", "user:alice@example.com");
    principal_is("Bearer    user:alice@example.com", "user:alice@example.com");
    principal_is("Bearer serviceAccount:robot@p.iam.gserviceaccount.com",
                 "serviceAccount:robot@p.iam.gserviceaccount.com");
    principal_is("Bearer group:team@example.com", "group:team@example.com");
    /* the compute default service account is not a service agent: users act as it */
    principal_is("Bearer serviceAccount:123-compute@developer.gserviceaccount.com",
                 "serviceAccount:123-compute@developer.gserviceaccount.com");
}

static void test_bare_emails_get_a_kind(void **state)
{
    (void)state;
    principal_is("Bearer alice@example.com", "user:alice@example.com");
    principal_is("Bearer robot@p.iam.gserviceaccount.com",
                 "serviceAccount:robot@p.iam.gserviceaccount.com");
    /* only the domain makes a service account, not the text somewhere inside */
    principal_is("Bearer gserviceaccount.com@example.com", "user:gserviceaccount.com@example.com");
    principal_is("Bearer mallory@gserviceaccount.com.example.net",
                 "user:mallory@gserviceaccount.com.example.net");
}

static void test_trailing_newlines_are_trimmed(void **state)
{
    (void)state;
    /* `gcloud auth print-access-token` output pasted with its newline */
    principal_is("Bearer user:alice@example.com\n", "user:alice@example.com");
    principal_is("Bearer alice@example.com\r\n", "user:alice@example.com");
    principal_is("Bearer robot@p.iam.gserviceaccount.com\n",
                 "serviceAccount:robot@p.iam.gserviceaccount.com");
    principal_is("Bearer user:alice@example.com ", "user:alice@example.com");
}

static void test_no_token_is_the_default_principal_only_with_iam_off(void **state)
{
    (void)state;
    struct em_status st = {0};
    char out[EM_PRINCIPAL_MAX];
    struct em_config off = config_of(false), enforce = config_of(true);
    const char *none[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(em_iam_authenticate(none[i], false, &off, out, sizeof(out), &st), EM_OK);
        assert_string_equal(out, DEFAULT);
        assert_int_equal(em_iam_authenticate(none[i], false, &enforce, out, sizeof(out), &st),
                         EM_OK);
        assert_string_equal(out, EM_IAM_ANONYMOUS);
    }
}

static void test_tokens_naming_no_principal_are_unauthenticated(void **state)
{
    (void)state;
    unauthenticated("Bearer garbage", false);
    unauthenticated("Bearer user:alice", false); /* no @ */
    unauthenticated("Bearer ", false);
    unauthenticated("Bearer", false);
    unauthenticated("Basic dXNlcjpwYXNzd29yZA==", false);
    unauthenticated("Bearer allUsers", false);
    unauthenticated("Bearer allAuthenticatedUsers", false);
    unauthenticated("Bearer domain:example.com", false);
    unauthenticated("Bearer ya29.a0AfH6SMBx-real-looking-oauth-token", false);
    unauthenticated("Bearer eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFAYi5jb20ifQ.", false); /* OIDC */
    unauthenticated("user:alice@example.com", false); /* no scheme */
    unauthenticated("Bearer alice @example.com", false);
    unauthenticated("Bearer user:alice@example.com extra", false);
    unauthenticated("Bearer owner:alice@example.com", false);
    unauthenticated("Bearer user:alice@localhost", false);
    unauthenticated("Bearer user:@example.com", false);
    unauthenticated("Bearer user:alice@@example.com", false);
    unauthenticated("Bearer user:alice@-example.com", false);
    unauthenticated("Bearer user:al\"ice@example.com", false);
}

static void test_service_agents_need_the_internal_credential(void **state)
{
    (void)state;
    static const char *const agents[] = {
        "Bearer serviceAccount:service-123@gcp-sa-pubsub.iam.gserviceaccount.com",
        "Bearer service-123@gcp-sa-pubsub.iam.gserviceaccount.com",
        "Bearer serviceAccount:service-123@gcp-sa-spanner.iam.gserviceaccount.com",
        "Bearer serviceAccount:service-123@dataflow-service-producer-prod.iam.gserviceaccount.com",
        "Bearer serviceAccount:123@cloudservices.gserviceaccount.com",
        NULL,
    };
    for (int i = 0; agents[i]; i++) {
        unauthenticated(agents[i], false);
        struct em_config cfg = config_of(true);
        struct em_status st = {0};
        char out[EM_PRINCIPAL_MAX];
        assert_int_equal(em_iam_authenticate(agents[i], true, &cfg, out, sizeof(out), &st), EM_OK);
        assert_non_null(strstr(out, "serviceAccount:"));
    }
    assert_true(
        em_iam_is_service_agent("serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com"));
    assert_false(em_iam_is_service_agent("serviceAccount:robot@gcp-sa-x.example.com"));
    assert_false(em_iam_is_service_agent("serviceAccount:r@my-project.iam.gserviceaccount.com"));
    /* lookalikes: the same mailbox under another kind, or in other letter cases */
    assert_true(em_iam_is_service_agent("user:service-1@gcp-sa-pubsub.iam.gserviceaccount.com"));
    assert_true(
        em_iam_is_service_agent("serviceAccount:service-1@GCP-SA-PUBSUB.iam.gserviceaccount.com"));
    assert_true(
        em_iam_is_service_agent("serviceAccount:service-1@gcp-sa-spanner.IAM.Gserviceaccount.COM"));
    assert_true(em_iam_is_service_agent("group:x@Cloudservices.gserviceaccount.com"));
    unauthenticated("Bearer user:service-1@GCP-SA-PUBSUB.iam.gserviceaccount.com", false);
}

static void test_principal_fits_the_buffer(void **state)
{
    (void)state;
    char out[16];
    struct em_status st = {0};
    struct em_config cfg = config_of(true);
    assert_int_equal(em_iam_authenticate("Bearer user:a-very-long-name@example.com", false, &cfg,
                                         out, sizeof(out), &st),
                     EM_OK);
    assert_string_equal(out, "user:a-very-lon");
}

/* ---------------------------------------------------------------- roles */

static void test_owner_grants_everything(void **state)
{
    (void)state;
    assert_true(em_iam_role_grants("roles/owner", ENCRYPT));
    assert_true(em_iam_role_grants("roles/owner", "cloudkms.cryptoKeys.setIamPolicy"));
    assert_true(em_iam_role_grants("roles/owner", "resourcemanager.projects.delete"));
}

static void test_editor_cannot_change_policies(void **state)
{
    (void)state;
    assert_true(em_iam_role_grants("roles/editor", ENCRYPT));
    assert_true(em_iam_role_grants("roles/editor", "cloudkms.cryptoKeys.create"));
    assert_true(em_iam_role_grants("roles/editor", "cloudkms.cryptoKeys.getIamPolicy"));
    assert_false(em_iam_role_grants("roles/editor", "cloudkms.cryptoKeys.setIamPolicy"));
    assert_false(em_iam_role_grants("roles/editor", "pubsub.topics.setIamPolicy"));
    assert_false(em_iam_role_grants("roles/editor", "resourcemanager.projects.delete"));
}

static void test_viewer_reads_only(void **state)
{
    (void)state;
    assert_true(em_iam_role_grants("roles/viewer", "cloudkms.cryptoKeys.get"));
    assert_true(em_iam_role_grants("roles/viewer", "cloudkms.keyRings.list"));
    assert_true(em_iam_role_grants("roles/viewer", "cloudkms.cryptoKeys.getIamPolicy"));
    assert_true(em_iam_role_grants("roles/viewer", "logging.logEntries.list"));
    assert_false(em_iam_role_grants("roles/viewer", ENCRYPT));
    assert_false(em_iam_role_grants("roles/viewer", "cloudkms.cryptoKeys.create"));
    assert_false(em_iam_role_grants("roles/viewer", "cloudkms.cryptoKeys.setIamPolicy"));
}

static void test_kms_roles(void **state)
{
    (void)state;
    const char *ed = "roles/cloudkms.cryptoKeyEncrypterDecrypter";
    assert_true(em_iam_role_grants(ed, ENCRYPT));
    assert_true(em_iam_role_grants(ed, "cloudkms.cryptoKeyVersions.useToDecrypt"));
    assert_false(em_iam_role_grants(ed, "cloudkms.cryptoKeyVersions.useToSign"));
    assert_false(em_iam_role_grants(ed, "cloudkms.cryptoKeys.get"));
    assert_true(em_iam_role_grants("roles/cloudkms.cryptoKeyEncrypter", ENCRYPT));
    assert_false(em_iam_role_grants("roles/cloudkms.cryptoKeyEncrypter",
                                    "cloudkms.cryptoKeyVersions.useToDecrypt"));
    assert_false(em_iam_role_grants("roles/cloudkms.cryptoKeyDecrypter", ENCRYPT));
    assert_true(em_iam_role_grants("roles/cloudkms.admin", "cloudkms.cryptoKeys.create"));
    assert_true(em_iam_role_grants("roles/cloudkms.admin", "cloudkms.cryptoKeyVersions.destroy"));
    assert_false(em_iam_role_grants("roles/cloudkms.admin", ENCRYPT));
    assert_true(em_iam_role_grants("roles/cloudkms.viewer", "cloudkms.cryptoKeyVersions.get"));
    assert_false(em_iam_role_grants("roles/cloudkms.viewer", ENCRYPT));
    assert_true(em_iam_role_grants("roles/cloudkms.signerVerifier",
                                   "cloudkms.cryptoKeyVersions.viewPublicKey"));
    assert_true(em_iam_role_grants("roles/cloudkms.cryptoOperator",
                                   "cloudkms.cryptoKeyVersions.useToVerify"));
}

static void test_unknown_roles_grant_nothing(void **state)
{
    (void)state;
    assert_false(em_iam_role_grants("roles/cloudkms.superuser", ENCRYPT));
    assert_false(em_iam_role_grants("projects/p/roles/custom", ENCRYPT));
    assert_false(em_iam_role_grants("owner", ENCRYPT));
    assert_false(em_iam_role_grants("", ENCRYPT));
    assert_false(em_iam_role_grants("roles/owner ", ENCRYPT));
}

/* ---------------------------------------------------------------- policies */

static enum em_code set_policy(struct fixture *f, const char *resource, const char *json,
                               cJSON **stored, struct em_status *st)
{
    cJSON *policy = cJSON_Parse(json);
    if (!policy)
        fail_msg("test policy does not parse: %s", json);
    cJSON *out = NULL;
    enum em_code code = em_iam_set_policy(f->dir.store, resource, policy, &out, st);
    cJSON_Delete(policy);
    if (stored)
        *stored = out;
    else
        cJSON_Delete(out);
    return code;
}

static void grant(struct fixture *f, const char *resource, const char *role, const char *member)
{
    char json[512];
    snprintf(json, sizeof(json), "{\"bindings\": [{\"role\": \"%s\", \"members\": [\"%s\"]}]}",
             role, member);
    struct em_status st = {0};
    if (set_policy(f, resource, json, NULL, &st) != EM_OK)
        fail_msg("policy on %s refused: %s", resource, st.message);
}

static void test_a_resource_without_policy_has_an_empty_one(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *policy = NULL;
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &policy, &st), EM_OK);
    char *text = em_json_print_free(policy);
    assert_string_equal(text, "{\"version\":1,\"etag\":\"ACAB\"}");
    free(text);
}

static void test_set_then_get_returns_the_policy_with_a_new_etag(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *stored = NULL;
    assert_int_equal(set_policy(f, KEY,
                                "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": "
                                "[\"user:alice@example.com\", \"allUsers\"]}]}",
                                &stored, &st),
                     EM_OK);
    const char *etag = em_json_string(stored, "etag");
    assert_non_null(etag);
    assert_string_not_equal(etag, "ACAB");
    int64_t version = 0;
    assert_true(em_json_int64(stored, "version", &version) && version == 1);
    cJSON *got = NULL;
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &got, &st), EM_OK);
    assert_string_equal(em_json_string(got, "etag"), etag);
    const cJSON *binding = cJSON_GetArrayItem(cJSON_GetObjectItem(got, "bindings"), 0);
    assert_string_equal(em_json_string(binding, "role"), "roles/viewer");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(binding, "members")), 2);
    /* other resources are untouched */
    cJSON *ring = NULL;
    assert_int_equal(em_iam_get_policy(f->dir.store, RING, &ring, &st), EM_OK);
    assert_string_equal(em_json_string(ring, "etag"), "ACAB");
    cJSON_Delete(ring);
    cJSON_Delete(got);
    cJSON_Delete(stored);
}

static void test_etags_guard_read_modify_write(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    /* the empty policy's etag is current for a resource without one */
    cJSON *first = NULL;
    assert_int_equal(set_policy(f, KEY, "{\"etag\": \"ACAB\", \"bindings\": []}", &first, &st),
                     EM_OK);
    char etag[64], json[256];
    snprintf(etag, sizeof(etag), "%s", em_json_string(first, "etag"));
    cJSON_Delete(first);
    /* a writer holding the current etag wins ... */
    snprintf(json, sizeof(json),
             "{\"etag\": \"%s\", \"bindings\": [{\"role\": \"roles/owner\", "
             "\"members\": [\"user:a@example.com\"]}]}",
             etag);
    assert_int_equal(set_policy(f, KEY, json, NULL, &st), EM_OK);
    /* ... and one still holding the old etag is refused, leaving the policy alone */
    assert_int_equal(set_policy(f, KEY, json, NULL, &st), EM_ABORTED);
    assert_string_equal(st.message, "There were concurrent policy changes. Please retry the "
                                    "whole read-modify-write with exponential backoff.");
    assert_int_equal(set_policy(f, RING, "{\"etag\": \"BwXhqDZ3Ng0=\"}", NULL, &st), EM_ABORTED);
    cJSON *got = NULL;
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &got, &st), EM_OK);
    assert_string_equal(
        em_json_string(cJSON_GetArrayItem(cJSON_GetObjectItem(got, "bindings"), 0), "role"),
        "roles/owner");
    cJSON_Delete(got);
    /* without an etag the policy is simply overwritten */
    assert_int_equal(set_policy(f, KEY, "{\"bindings\": []}", NULL, &st), EM_OK);
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &got, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(got, "bindings")), 0);
    cJSON_Delete(got);
}

/* gcloud sends back the etag it read in URL-safe base64: the same bytes, accepted. */
static void test_etags_are_compared_as_bytes(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char etag[64] = "", json[256];
    for (int i = 0; i < 200 && !strpbrk(etag, "+/"); i++) { /* ~30% of etags have one */
        cJSON *stored = NULL;
        assert_int_equal(set_policy(f, KEY, "{\"bindings\": []}", &stored, &st), EM_OK);
        snprintf(etag, sizeof(etag), "%s", em_json_string(stored, "etag"));
        cJSON_Delete(stored);
    }
    assert_non_null(strpbrk(etag, "+/"));
    for (char *p = etag; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    snprintf(json, sizeof(json), "{\"etag\": \"%s\", \"bindings\": []}", etag);
    assert_int_equal(set_policy(f, KEY, json, NULL, &st), EM_OK);
    assert_int_equal(set_policy(f, KEY, json, NULL, &st), EM_ABORTED); /* now stale */
}

static void refused_policy(struct fixture *f, const char *json, const char *message)
{
    struct em_status st = {0};
    if (set_policy(f, KEY, json, NULL, &st) != EM_INVALID_ARGUMENT)
        fail_msg("policy accepted: %s", json);
    assert_string_equal(st.message, message);
    cJSON *got = NULL;
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &got, &st), EM_OK);
    assert_string_equal(em_json_string(got, "etag"), "ACAB"); /* nothing stored */
    cJSON_Delete(got);
}

#define MEMBER_RULE                                                                                \
    ". Members must be of the form user:, serviceAccount:, group:, domain:, allUsers or "          \
    "allAuthenticatedUsers."

static void test_invalid_members_and_roles_are_refused(void **state)
{
    struct fixture *f = *state;
    refused_policy(f,
                   "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": "
                   "[\"alice@example.com\"]}]}",
                   "Invalid member: alice@example.com" MEMBER_RULE);
    refused_policy(f, "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": [\"user:\"]}]}",
                   "Invalid member: user:" MEMBER_RULE);
    refused_policy(f, "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": [\"everyone\"]}]}",
                   "Invalid member: everyone" MEMBER_RULE);
    refused_policy(f, "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": [7]}]}",
                   "Invalid member: (not a string)" MEMBER_RULE);
    refused_policy(f, "{\"bindings\": [{\"role\": \"viewer\", \"members\": [\"allUsers\"]}]}",
                   "Role (viewer) does not exist.");
    refused_policy(f, "{\"bindings\": [{\"members\": [\"allUsers\"]}]}",
                   "Role (missing) does not exist.");
    refused_policy(f,
                   "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": [\"allUsers\"],"
                   " \"condition\": {\"expression\": \"true\"}}]}",
                   "Bindings with conditions require policy version 3.");
}

static void test_valid_member_kinds(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(set_policy(f, KEY,
                                "{\"version\": 3, \"bindings\": [{\"role\": \"roles/viewer\", "
                                "\"members\": [\"user:a@example.com\", "
                                "\"serviceAccount:r@p.iam.gserviceaccount.com\", "
                                "\"group:g@example.com\", \"domain:example.com\", "
                                "\"deleted:user:old@example.com?uid=1\", \"allUsers\", "
                                "\"allAuthenticatedUsers\"], \"condition\": "
                                "{\"expression\": \"request.time < timestamp('2030-01-01')\"}}, "
                                "{\"role\": \"projects/p/roles/custom\", \"members\": []}]}",
                                NULL, &st),
                     EM_OK);
}

/* Resource Manager refuses allUsers and allAuthenticatedUsers in a project's policy; the
 * policies of the project's resources (KEY above) take them. */
static void test_a_project_policy_refuses_all_users(void **state)
{
    struct fixture *f = *state;
    const char *members[] = {"allUsers", "allAuthenticatedUsers"};
    for (int i = 0; i < 2; i++) {
        char json[200], message[200];
        snprintf(json, sizeof(json),
                 "{\"bindings\": [{\"role\": \"roles/viewer\", \"members\": "
                 "[\"user:a@example.com\", \"%s\"]}]}",
                 members[i]);
        struct em_status st = {0};
        assert_int_equal(set_policy(f, PROJECT, json, NULL, &st), EM_INVALID_ARGUMENT);
        snprintf(message, sizeof(message),
                 "Request contains an invalid argument: a project's policy cannot grant roles "
                 "to %s.",
                 members[i]);
        assert_string_equal(st.message, message);
        cJSON *got = NULL;
        assert_int_equal(em_iam_get_policy(f->dir.store, PROJECT, &got, &st), EM_OK);
        assert_string_equal(em_json_string(got, "etag"), "ACAB"); /* nothing stored */
        cJSON_Delete(got);
    }
}

static void test_delete_under_and_clear(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    grant(f, RING, "roles/viewer", "allUsers");
    grant(f, KEY, "roles/viewer", "allUsers");
    grant(f, RING "2", "roles/viewer", "allUsers");
    grant(f, PROJECT, "roles/viewer", "user:alice@example.com");
    assert_int_equal(em_iam_delete_under(f->dir.store, RING, &st), EM_OK);
    cJSON *got = NULL;
    const char *gone[] = {RING, KEY};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(em_iam_get_policy(f->dir.store, gone[i], &got, &st), EM_OK);
        assert_string_equal(em_json_string(got, "etag"), "ACAB");
        cJSON_Delete(got);
    }
    /* a sibling whose name merely starts the same way keeps its policy */
    assert_int_equal(em_iam_get_policy(f->dir.store, RING "2", &got, &st), EM_OK);
    assert_string_not_equal(em_json_string(got, "etag"), "ACAB");
    cJSON_Delete(got);
    assert_int_equal(em_iam_clear(f->dir.store, &st), EM_OK);
    assert_int_equal(em_iam_get_policy(f->dir.store, PROJECT, &got, &st), EM_OK);
    assert_string_equal(em_json_string(got, "etag"), "ACAB");
    cJSON_Delete(got);
}

/* ---------------------------------------------------------------- checks */

static enum em_code check(struct fixture *f, const struct em_config *cfg, const char *principal,
                          const char *resource, const char *permission)
{
    struct em_status st = {0};
    return em_iam_check(f->dir.store, cfg, principal, resource, permission, &st);
}

static void allowed(struct fixture *f, const char *principal, const char *resource)
{
    if (check(f, &f->enforce, principal, resource, ENCRYPT) != EM_OK)
        fail_msg("%s was denied on %s", principal, resource);
}

static void denied(struct fixture *f, const char *principal, const char *resource)
{
    if (check(f, &f->enforce, principal, resource, ENCRYPT) != EM_PERMISSION_DENIED)
        fail_msg("%s was allowed on %s", principal, resource);
}

static void test_iam_off_allows_everyone(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(check(f, &f->off, "user:mallory@example.com", KEY, ENCRYPT), EM_OK);
    assert_int_equal(
        check(f, &f->off, "user:mallory@example.com", PROJECT, "resourcemanager.projects.delete"),
        EM_OK);
}

static void test_denied_in_googles_words(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(
        em_iam_check(f->dir.store, &f->enforce, "user:mallory@example.com", KEY, ENCRYPT, &st),
        EM_PERMISSION_DENIED);
    assert_string_equal(st.message, "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied "
                                    "on resource '" KEY "' (or it may not exist).");
}

static void test_the_default_principal_is_always_allowed(void **state)
{
    struct fixture *f = *state;
    allowed(f, DEFAULT, KEY);
    assert_int_equal(check(f, &f->enforce, DEFAULT, PROJECT, "resourcemanager.projects.delete"),
                     EM_OK);
}

static void test_project_bindings_are_inherited(void **state)
{
    struct fixture *f = *state;
    grant(f, PROJECT, "roles/cloudkms.cryptoKeyEncrypterDecrypter", "user:alice@example.com");
    allowed(f, "user:alice@example.com", KEY);
    allowed(f, "user:alice@example.com", KEY "/cryptoKeyVersions/1");
    allowed(f, "user:alice@example.com", RING);
    denied(f, "user:bob@example.com", KEY);
    denied(f, "user:alice@example.com", "projects/q/locations/global/keyRings/r/cryptoKeys/k");
    /* the role grants what it grants, nothing more */
    assert_int_equal(
        check(f, &f->enforce, "user:alice@example.com", KEY, "cloudkms.cryptoKeys.update"),
        EM_PERMISSION_DENIED);
}

static void test_key_bindings_stay_on_the_key(void **state)
{
    struct fixture *f = *state;
    grant(f, KEY, "roles/cloudkms.cryptoKeyEncrypter",
          "serviceAccount:r@p.iam.gserviceaccount.com");
    allowed(f, "serviceAccount:r@p.iam.gserviceaccount.com", KEY);
    allowed(f, "serviceAccount:r@p.iam.gserviceaccount.com", KEY "/cryptoKeyVersions/7");
    denied(f, "serviceAccount:r@p.iam.gserviceaccount.com", RING);
    denied(f, "serviceAccount:r@p.iam.gserviceaccount.com", RING "/cryptoKeys/k2");
    denied(f, "user:r@p.iam.gserviceaccount.com", KEY);
}

static void test_key_ring_bindings_reach_its_keys(void **state)
{
    struct fixture *f = *state;
    grant(f, RING, "roles/editor", "group:team@example.com");
    allowed(f, "group:team@example.com", KEY);
    denied(f, "group:team@example.com", PROJECT "/locations/global/keyRings/other/cryptoKeys/k");
}

/* Bindings on the folder or organization a project was moved to reach into it. */
static void test_folder_and_organization_bindings_reach_their_projects(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    grant(f, "folders/42", "roles/cloudkms.cryptoKeyEncrypterDecrypter", "user:alice@example.com");
    grant(f, "organizations/7", "roles/cloudkms.cryptoKeyEncrypterDecrypter",
          "user:bob@example.com");
    denied(f, "user:alice@example.com", KEY); /* the project is in no folder yet */
    assert_int_equal(em_iam_set_parent(f->dir.store, PROJECT, "folders/42", &st), EM_OK);
    allowed(f, "user:alice@example.com", KEY);
    allowed(f, "user:alice@example.com", PROJECT);
    denied(f, "user:bob@example.com", KEY);
    /* a folder inside an organization: its bindings reach the project too */
    assert_int_equal(em_iam_set_parent(f->dir.store, "folders/42", "organizations/7", &st), EM_OK);
    allowed(f, "user:bob@example.com", KEY);
    denied(f, "user:carol@example.com", KEY);
    /* a cycle ends the walk */
    assert_int_equal(em_iam_set_parent(f->dir.store, "organizations/7", PROJECT, &st), EM_OK);
    denied(f, "user:carol@example.com", KEY);
    /* moved out: the folder's bindings stop applying */
    assert_int_equal(em_iam_set_parent(f->dir.store, PROJECT, "folders/99", &st), EM_OK);
    denied(f, "user:alice@example.com", KEY);
    assert_int_equal(em_iam_set_parent(f->dir.store, PROJECT, "folders/42", &st), EM_OK);
    assert_int_equal(em_iam_clear(f->dir.store, &st), EM_OK); /* the reset forgets both */
    grant(f, "folders/42", "roles/cloudkms.cryptoKeyEncrypterDecrypter", "user:alice@example.com");
    denied(f, "user:alice@example.com", KEY);
}

static void test_all_users_and_domains(void **state)
{
    struct fixture *f = *state;
    grant(f, KEY, "roles/cloudkms.cryptoKeyEncrypterDecrypter", "allUsers");
    allowed(f, "user:anyone@anywhere.example", KEY);
    denied(f, "user:anyone@anywhere.example", RING "/cryptoKeys/k2");
    grant(f, RING "/cryptoKeys/k2", "roles/cloudkms.cryptoKeyEncrypterDecrypter",
          "allAuthenticatedUsers");
    allowed(f, "serviceAccount:r@p.iam.gserviceaccount.com", RING "/cryptoKeys/k2");
    grant(f, RING "/cryptoKeys/k3", "roles/cloudkms.cryptoKeyEncrypterDecrypter",
          "domain:example.com");
    allowed(f, "user:alice@example.com", RING "/cryptoKeys/k3");
    denied(f, "user:alice@example.org", RING "/cryptoKeys/k3");
    denied(f, "user:alice@sub.example.com", RING "/cryptoKeys/k3");
    denied(f, "user:example.com@evil.test", RING "/cryptoKeys/k3");
    /* an anonymous caller has what allUsers has, nothing more */
    allowed(f, EM_IAM_ANONYMOUS, KEY);
    denied(f, EM_IAM_ANONYMOUS, RING "/cryptoKeys/k2");
    denied(f, EM_IAM_ANONYMOUS, RING "/cryptoKeys/k3");
}

/* A policy on the project whose one binding gives alice the encrypter role under
 * expression (JSON-escaped). */
static void grant_if(struct fixture *f, const char *expression)
{
    char json[1024];
    struct em_status st = {0};
    snprintf(json, sizeof(json),
             "{\"version\": 3, \"bindings\": [{\"role\": "
             "\"roles/cloudkms.cryptoKeyEncrypterDecrypter\", \"members\": "
             "[\"user:alice@example.com\"], \"condition\": {\"expression\": \"%s\", "
             "\"title\": \"t\"}}]}",
             expression);
    if (set_policy(f, PROJECT, json, NULL, &st) != EM_OK)
        fail_msg("%s: %s", json, st.message);
}

/* Conditional bindings grant when their CEL expression holds for the resource checked
 * (not the project the binding is on), at the emulator's time; an expression the
 * emulator cannot evaluate, or that errs, grants nothing (em_cel.h). */
static void test_conditional_bindings(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *expression;
        bool on_key, on_other_key;
    } cases[] = {
        {"true", true, true},
        {"false", false, false},
        {"resource.name == '" KEY "'", true, false},
        {"resource.name.startsWith('" RING "/cryptoKeys/')", true, true},
        {"resource.name.endsWith('/cryptoKeys/k')", true, false},
        {"resource.name.matches('/cryptoKeys/k$')", true, false},
        {"resource.type == 'cloudkms.googleapis.com/CryptoKey' && "
         "resource.service == 'cloudkms.googleapis.com'",
         true, true},
        {"resource.type in ['cloudkms.googleapis.com/KeyRing', "
         "'cloudkms.googleapis.com/CryptoKey']",
         true, true},
        {"request.time < timestamp('2100-01-01T00:00:00Z')", true, true},
        {"request.time > timestamp('2100-01-01T00:00:00Z')", false, false},
        {"request.time - duration('87600h') < timestamp('2100-01-01T00:00:00Z') && "
         "request.time.getFullYear() >= 2024 && request.time.getHours('UTC') < 24",
         true, true},
        {"!(resource.name.contains('k2'))", true, false},
        {"resource.name.size() > 10 || nosuch.thing", true, true}, /* true absorbs an error */
        {"nosuch.thing", false, false},
        {"false && nosuch.thing", false, false},
        {"resource.name.extract('cryptoKeys/{k}') == 'k'", true, false},
        {"resource.name.extract('keyRings/{r}/') == 'r'", true, true},
        {"request.time.getHours('America/New_York') >= 0", true, true},
        {"request.time.getHours('Nowhere/Atlantis') >= 0", false, false}, /* unknown zone */
        {"resource.name", false, false},                                  /* not a boolean */
        {"(true", false, false},                                          /* a syntax error */
        {"1 == 1 && 'a' < 'b'", true, true},
        {"1 == 'a'", false, false}, /* == of different types is false, */
        {"1 != 'a'", true, true},   /* != true */
        {"1 < 'a'", false, false},  /* and an order of them an error */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        grant_if(f, cases[i].expression);
        bool on_key = check(f, &f->enforce, "user:alice@example.com", KEY, ENCRYPT) == EM_OK;
        bool on_other = check(f, &f->enforce, "user:alice@example.com", RING "/cryptoKeys/k2",
                              ENCRYPT) == EM_OK;
        if (on_key != cases[i].on_key || on_other != cases[i].on_other_key)
            fail_msg("%s: the key %s, the other key %s", cases[i].expression,
                     on_key ? "granted" : "denied", on_other ? "granted" : "denied");
        denied(f, "user:bob@example.com", KEY); /* the members still decide */
    }
    /* the binding is kept as written, and returned */
    cJSON *got = NULL;
    struct em_status st = {0};
    assert_int_equal(em_iam_get_policy(f->dir.store, PROJECT, &got, &st), EM_OK);
    const cJSON *binding = cJSON_GetArrayItem(cJSON_GetObjectItem(got, "bindings"), 0);
    assert_string_equal(em_json_string(cJSON_GetObjectItem(binding, "condition"), "title"), "t");
    cJSON_Delete(got);
}

static void test_unknown_roles_in_a_policy_grant_nothing(void **state)
{
    struct fixture *f = *state;
    grant(f, KEY, "roles/cloudkms.everything", "user:alice@example.com");
    denied(f, "user:alice@example.com", KEY);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_principal_from_the_bearer_token),
        cmocka_unit_test(test_bare_emails_get_a_kind),
        cmocka_unit_test(test_trailing_newlines_are_trimmed),
        cmocka_unit_test(test_no_token_is_the_default_principal_only_with_iam_off),
        cmocka_unit_test(test_tokens_naming_no_principal_are_unauthenticated),
        cmocka_unit_test(test_service_agents_need_the_internal_credential),
        cmocka_unit_test(test_principal_fits_the_buffer),
        cmocka_unit_test(test_owner_grants_everything),
        cmocka_unit_test(test_editor_cannot_change_policies),
        cmocka_unit_test(test_viewer_reads_only),
        cmocka_unit_test(test_kms_roles),
        cmocka_unit_test(test_unknown_roles_grant_nothing),
        T(test_a_resource_without_policy_has_an_empty_one),
        T(test_set_then_get_returns_the_policy_with_a_new_etag),
        T(test_etags_guard_read_modify_write),
        T(test_etags_are_compared_as_bytes),
        T(test_invalid_members_and_roles_are_refused),
        T(test_valid_member_kinds),
        T(test_a_project_policy_refuses_all_users),
        T(test_delete_under_and_clear),
        T(test_iam_off_allows_everyone),
        T(test_denied_in_googles_words),
        T(test_the_default_principal_is_always_allowed),
        T(test_project_bindings_are_inherited),
        T(test_key_bindings_stay_on_the_key),
        T(test_key_ring_bindings_reach_its_keys),
        T(test_folder_and_organization_bindings_reach_their_projects),
        T(test_all_users_and_domains),
        T(test_conditional_bindings),
        T(test_unknown_roles_in_a_policy_grant_nothing),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
