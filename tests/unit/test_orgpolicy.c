/*
 * test_orgpolicy: em_orgpolicy: the constraints' policies stored with etags, their
 * validation, evaluation up the hierarchy (inheritFromParent, reset, denyAll, under:
 * subtrees, location value groups) and the checks services make before creating a
 * resource.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_iam.h"
#include "em_location_groups.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NON_CMEK        EM_ORGPOLICY_NON_CMEK
#define KEYS            EM_ORGPOLICY_KEY_PROJECTS
#define LEVELS          EM_ORGPOLICY_KMS_LEVELS
#define DISABLE         EM_ORGPOLICY_KMS_DISABLE
#define KEY_IN(project) "projects/" project "/locations/global/keyRings/r/cryptoKeys/k"

struct fixture {
    struct unit_dir dir;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || em_iam_open(f->dir.store, &st) ||
        em_orgpolicy_open(f->dir.store, &st))
        return -1;
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

/* Validates spec (JSON text) for constraint; the code it answers. */
static enum em_code check_spec(const char *constraint, const char *spec, struct em_status *st)
{
    cJSON *json = cJSON_Parse(spec);
    assert_non_null(json);
    enum em_code code =
        em_orgpolicy_check_spec(em_orgpolicy_constraint(constraint), json, "spec", st);
    cJSON_Delete(json);
    return code;
}

/* Sets (creates or replaces) the policy of constraint on resource. */
static void set(struct fixture *f, const char *resource, const char *constraint, const char *spec)
{
    struct em_status st = {0};
    assert_int_equal(check_spec(constraint, spec, &st), EM_OK);
    struct em_orgpolicy policy = {0};
    snprintf(policy.resource, sizeof(policy.resource), "%s", resource);
    snprintf(policy.constraint, sizeof(policy.constraint), "%s", constraint);
    struct em_orgpolicy old;
    bool exists = em_orgpolicy_get(f->dir.store, resource, constraint, &old, &st) == EM_OK;
    if (exists)
        em_orgpolicy_clear(&old);
    em_status_clear(&st);
    policy.spec_json = strdup(spec);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &policy, !exists, NULL, 1, &st), EM_OK);
    em_orgpolicy_clear(&policy);
}

static enum em_code check(struct fixture *f, const char *project, const char *service,
                          const char *key, struct em_status *st)
{
    em_status_clear(st);
    return em_orgpolicy_check_cmek(f->dir.store, project, service, key, "a topic", st);
}

static void test_nothing_is_restricted_without_a_policy(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("anywhere"), &st),
                     EM_OK);
    /* a status left over from an earlier, handled error does not count */
    EM_FAIL(&st, EM_ALREADY_EXISTS, "an earlier, handled error");
    assert_int_equal(em_orgpolicy_check_cmek(f->dir.store, "my-project", "pubsub.googleapis.com",
                                             KEY_IN("anywhere"), "a topic", &st),
                     EM_OK);
    bool on = true;
    assert_int_equal(em_orgpolicy_enforced(f->dir.store, "projects/my-project", DISABLE, &on, &st),
                     EM_OK);
    assert_false(on);
}

static void test_a_denied_service_needs_a_key(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "projects/my-project", NON_CMEK,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"pubsub.googleapis.com\"]}}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "Constraint constraints/gcp.restrictNonCmekServices "
                                       "violated for projects/my-project attempting to create "
                                       "a topic without a CMEK key"));
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", "", &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(check(f, "my-project", "spanner.googleapis.com", NULL, &st), EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("my-project"), &st),
                     EM_OK);
    assert_int_equal(check(f, "other-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
}

static void test_policies_are_inherited_from_the_parent(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "organizations/42", NON_CMEK, "{\"rules\":[{\"denyAll\":true}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
    assert_int_equal(
        em_iam_set_parent(f->dir.store, "projects/my-project", "organizations/42", &st), EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st),
                     EM_FAILED_PRECONDITION);
    /* a policy of its own without inheritFromParent replaces the parent's */
    set(f, "projects/my-project", NON_CMEK,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"spanner.googleapis.com\"]}}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
    assert_int_equal(check(f, "my-project", "spanner.googleapis.com", NULL, &st),
                     EM_FAILED_PRECONDITION);
    /* with it, both count */
    set(f, "projects/my-project", NON_CMEK,
        "{\"inheritFromParent\":true,\"rules\":[{\"allowAll\":true}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st),
                     EM_FAILED_PRECONDITION);
    /* reset restores the default: nothing restricted */
    set(f, "projects/my-project", NON_CMEK, "{\"reset\":true}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
}

static void test_key_projects_by_project_and_subtree(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "projects/my-project", KEYS,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"under:projects/key-project\","
        "\"projects/plain-project\",\"under:folders/7\"]}}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("key-project"), &st),
                     EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("plain-project"), &st),
                     EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("my-project"), &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "constraints/gcp.restrictCmekCryptoKeyProjects"));
    assert_non_null(strstr(st.message, KEY_IN("my-project")));
    /* a key project in an allowed folder */
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("team-keys"), &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(em_iam_set_parent(f->dir.store, "projects/team-keys", "folders/7", &st),
                     EM_OK);
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("team-keys"), &st),
                     EM_OK);
    /* no key is not this constraint's business */
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", NULL, &st), EM_OK);
    /* denied values win over allowed ones */
    set(f, "projects/my-project", KEYS,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"under:folders/7\"],"
        "\"deniedValues\":[\"under:projects/team-keys\"]}}]}");
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("team-keys"), &st),
                     EM_FAILED_PRECONDITION);
}

static void test_invalid_specs_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *constraint, *spec, *says;
    } cases[] = {
        {NON_CMEK, "{\"rules\":[{\"denyAll\":true,\"condition\":{\"expression\":\"x\"}}]}", "tags"},
        {NON_CMEK, "{\"rules\":[{\"enforce\":true}]}", "boolean constraints"},
        {NON_CMEK, "{\"rules\":[{\"allowAll\":true,\"denyAll\":true}]}", "exactly one"},
        {NON_CMEK, "{\"rules\":[{}]}", "exactly one"},
        {NON_CMEK, "{\"rules\":[{\"values\":{\"deniedValues\":[\"under:projects/abcdef\"]}}]}",
         "does not support hierarchy subtrees"},
        {KEYS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"under:buckets/b\"]}}]}",
         "under:projects/PROJECT_ID"},
        {KEYS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"under:folders/x1\"]}}]}",
         "under:projects/PROJECT_ID"},
        {KEYS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:group\"]}}]}", "value groups"},
        {KEYS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"\"]}}]}", "1 to 1024"},
        {KEYS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"a\\u0001b\"]}}]}",
         "control characters"},
        {NON_CMEK, "{\"reset\":true,\"rules\":[{\"allowAll\":true}]}", "reset"},
        {NON_CMEK, "{\"reset\":true,\"inheritFromParent\":true}", "reset"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct em_status st = {0};
        assert_int_equal(check_spec(cases[i].constraint, cases[i].spec, &st), EM_INVALID_ARGUMENT);
        if (!strstr(st.message, cases[i].says))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, st.message, cases[i].says);
    }
}

static void test_too_many_values_or_rules_are_refused(void **state)
{
    (void)state;
    char spec[16384] = "{\"rules\":[{\"values\":{\"deniedValues\":[";
    for (int i = 0; i <= EM_ORGPOLICY_MAX_VALUES; i++)
        snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s\"s%d\"", i ? "," : "", i);
    strcat(spec, "]}}]}");
    struct em_status st = {0};
    assert_int_equal(check_spec(NON_CMEK, spec, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Too many values"));

    snprintf(spec, sizeof(spec), "{\"rules\":[");
    for (int i = 0; i <= EM_ORGPOLICY_MAX_RULES; i++)
        strcat(spec, i ? ",{\"denyAll\":true}" : "{\"denyAll\":true}");
    strcat(spec, "]}");
    em_status_clear(&st);
    assert_int_equal(check_spec(NON_CMEK, spec, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "Too many rules"));
}

static void test_storage_with_etags(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct em_orgpolicy p = {.spec_json = strdup("{\"rules\":[{\"denyAll\":true}]}")};
    snprintf(p.resource, sizeof(p.resource), "folders/9");
    snprintf(p.constraint, sizeof(p.constraint), NON_CMEK);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &p, false, NULL, 5, &st), EM_NOT_FOUND);
    em_status_clear(&st);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &p, true, NULL, 5, &st), EM_OK);
    char first_etag[32];
    snprintf(first_etag, sizeof(first_etag), "%s", p.etag);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &p, true, NULL, 6, &st), EM_ALREADY_EXISTS);
    em_status_clear(&st);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &p, false, first_etag, 7, &st), EM_OK);
    assert_string_not_equal(p.etag, first_etag);
    assert_int_equal(em_orgpolicy_put(f->dir.store, &p, false, first_etag, 8, &st), EM_ABORTED);
    em_status_clear(&st);
    assert_int_equal(em_orgpolicy_delete(f->dir.store, "folders/9", NON_CMEK, first_etag, &st),
                     EM_ABORTED);
    em_status_clear(&st);

    struct em_orgpolicy read;
    assert_int_equal(em_orgpolicy_get(f->dir.store, "folders/9", NON_CMEK, &read, &st), EM_OK);
    assert_string_equal(read.spec_json, p.spec_json);
    assert_null(read.dry_run_json);
    assert_int_equal(read.update_ns, 7);
    em_orgpolicy_clear(&read);

    assert_int_equal(em_orgpolicy_delete(f->dir.store, "folders/9", NON_CMEK, p.etag, &st), EM_OK);
    assert_int_equal(em_orgpolicy_get(f->dir.store, "folders/9", NON_CMEK, &read, &st),
                     EM_NOT_FOUND);
    em_orgpolicy_clear(&p);
}

static bool count_policy(const struct em_orgpolicy *policy, void *arg)
{
    (void)policy;
    ++*(int *)arg;
    return true;
}

static void test_list_and_clear_all(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "projects/my-project", NON_CMEK, "{\"rules\":[{\"denyAll\":true}]}");
    set(f, "projects/my-project", KEYS, "{\"rules\":[{\"denyAll\":true}]}");
    set(f, "projects/other-project", KEYS, "{\"rules\":[{\"denyAll\":true}]}");
    int n = 0;
    assert_int_equal(em_orgpolicy_list(f->dir.store, "projects/my-project", count_policy, &n, &st),
                     EM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(em_orgpolicy_clear_all(f->dir.store, &st), EM_OK);
    n = 0;
    assert_int_equal(em_orgpolicy_list(f->dir.store, "projects/my-project", count_policy, &n, &st),
                     EM_OK);
    assert_int_equal(n, 0);
}

static void test_the_effective_policy_sums_up_the_hierarchy(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "folders/3", NON_CMEK,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"pubsub.googleapis.com\"]}}]}");
    set(f, "projects/my-project", NON_CMEK,
        "{\"inheritFromParent\":true,\"rules\":[{\"values\":{\"deniedValues\":"
        "[\"spanner.googleapis.com\",\"pubsub.googleapis.com\"]}}]}");
    assert_int_equal(em_iam_set_parent(f->dir.store, "projects/my-project", "folders/3", &st),
                     EM_OK);
    cJSON *spec;
    assert_int_equal(
        em_orgpolicy_effective(f->dir.store, "projects/my-project", NON_CMEK, &spec, &st), EM_OK);
    char *text = cJSON_PrintUnformatted(spec);
    assert_string_equal(text, "{\"rules\":[{\"values\":{\"deniedValues\":"
                              "[\"spanner.googleapis.com\",\"pubsub.googleapis.com\"]}}]}");
    free(text);
    cJSON_Delete(spec);
    assert_int_equal(
        em_orgpolicy_effective(f->dir.store, "projects/lone-project", KEYS, &spec, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(spec), 0);
    cJSON_Delete(spec);
}

static bool enforced(struct fixture *f, const char *resource)
{
    struct em_status st = {0};
    bool on = true;
    assert_int_equal(em_orgpolicy_enforced(f->dir.store, resource, DISABLE, &on, &st), EM_OK);
    return on;
}

static void test_boolean_constraints(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    static const char *const refused[] = {
        "{\"rules\":[{\"denyAll\":true}]}",
        "{\"rules\":[{\"enforce\":true}],\"inheritFromParent\":true}",
        "{\"rules\":[{\"enforce\":true},{\"enforce\":false}]}",
        "{\"rules\":[]}",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        em_status_clear(&st);
        assert_int_equal(check_spec(DISABLE, refused[i], &st), EM_INVALID_ARGUMENT);
    }
    assert_false(enforced(f, "projects/my-project"));
    set(f, "organizations/42", DISABLE, "{\"rules\":[{\"enforce\":true}]}");
    assert_int_equal(
        em_iam_set_parent(f->dir.store, "projects/my-project", "organizations/42", &st), EM_OK);
    assert_true(enforced(f, "projects/my-project"));
    /* the nearest policy decides */
    set(f, "projects/my-project", DISABLE, "{\"rules\":[{\"enforce\":false}]}");
    assert_false(enforced(f, "projects/my-project"));
    set(f, "projects/my-project", DISABLE, "{\"reset\":true}");
    assert_false(enforced(f, "projects/my-project"));
    cJSON *spec;
    assert_int_equal(em_orgpolicy_effective(f->dir.store, "organizations/42", DISABLE, &spec, &st),
                     EM_OK);
    char *text = cJSON_PrintUnformatted(spec);
    assert_string_equal(text, "{\"rules\":[{\"enforce\":true}]}");
    free(text);
    cJSON_Delete(spec);
}

static void test_protection_levels_are_a_closed_set(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(
        check_spec(LEVELS, "{\"rules\":[{\"values\":{\"allowedValues\":[\"TPM\"]}}]}", &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "SOFTWARE, HSM, EXTERNAL, EXTERNAL_VPC"));
    set(f, "projects/my-project", LEVELS,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"is:HSM\",\"EXTERNAL\"]}}]}");
    bool allowed = true;
    assert_int_equal(em_orgpolicy_allows(f->dir.store, "projects/my-project", LEVELS, "SOFTWARE",
                                         NULL, &allowed, &st),
                     EM_OK);
    assert_false(allowed);
    assert_int_equal(em_orgpolicy_allows(f->dir.store, "projects/my-project", LEVELS, "HSM", NULL,
                                         &allowed, &st),
                     EM_OK);
    assert_true(allowed);
    assert_int_equal(em_orgpolicy_violation(LEVELS, "my-project", "create a key", &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "Constraint constraints/cloudkms.allowedProtectionLevels "
                                       "violated for projects/my-project attempting to create a "
                                       "key. See "));
}

static enum em_code in_location(struct fixture *f, const char *location, struct em_status *st)
{
    em_status_clear(st);
    return em_orgpolicy_check_location(f->dir.store, "my-project", location, "a key ring", st);
}

static void test_value_groups_hold_regions_zones_and_multi_regions(void **state)
{
    (void)state;
    char groups[8][EM_LOCATION_GROUP_MAX];
    assert_int_equal(em_location_groups_of("europe-west1-b", groups, 8), 3);
    assert_string_equal(groups[0], "in:europe-west1-locations");
    assert_string_equal(groups[1], "in:europe-locations");
    assert_string_equal(groups[2], "in:eu-locations");
    /* London is in Europe, not in the European Union */
    assert_int_equal(em_location_groups_of("europe-west2", groups, 8), 2);
    assert_string_equal(groups[1], "in:europe-locations");
    assert_int_equal(em_location_groups_of("us-east4", groups, 8), 3);
    assert_string_equal(groups[2], "in:northamerica-locations");
    assert_int_equal(em_location_groups_of("us", groups, 8), 2);
    assert_string_equal(groups[0], "in:us-locations");
    assert_int_equal(em_location_groups_of("global", groups, 8), 0);
    assert_int_equal(em_location_groups_of("mars-north1-a", groups, 8), 0);
    assert_int_equal(em_location_groups_of("us-east1-bb", groups, 8), 0);
    assert_int_equal(em_location_groups_of("europe-west1-b", groups, 1), 1);
    assert_true(em_location_group_known("us-east1-locations"));
    assert_true(em_location_group_known("eu-locations"));
    assert_false(em_location_group_known("mars-locations"));
    assert_false(em_location_group_known("-locations"));
    assert_false(em_location_group_known("us-east1"));
}

static void test_location_values_are_stored_as_google_completes_them(void **state)
{
    (void)state;
    cJSON *spec = cJSON_Parse("{\"rules\":[{\"values\":{\"allowedValues\":[\"us-east1\","
                              "\"eu-locations\",\"us-east1-b\",\"us\",\"is:us-west1\","
                              "\"in:asia-locations\",\"mars\"],\"deniedValues\":"
                              "[\"europe-west2\"]}}]}");
    em_orgpolicy_normalize_spec(em_orgpolicy_constraint(EM_ORGPOLICY_LOCATIONS), spec);
    char *text = cJSON_PrintUnformatted(spec);
    assert_string_equal(text, "{\"rules\":[{\"values\":{\"allowedValues\":["
                              "\"in:us-east1-locations\",\"in:eu-locations\",\"us-east1-b\","
                              "\"us\",\"is:us-west1\",\"in:asia-locations\",\"mars\"],"
                              "\"deniedValues\":[\"in:europe-west2-locations\"]}}]}");
    free(text);
    /* other constraints keep what was written */
    em_orgpolicy_normalize_spec(em_orgpolicy_constraint(NON_CMEK), spec);
    cJSON_Delete(spec);
    struct em_status st = {0};
    assert_int_equal(
        check_spec(EM_ORGPOLICY_LOCATIONS,
                   "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:mars-locations\"]}}]}", &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "in:mars-locations"));
    assert_int_equal(
        check_spec(NON_CMEK, "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:us-locations\"]}}]}",
                   &st),
        EM_INVALID_ARGUMENT);
}

static void test_resource_locations_allow_and_deny(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(in_location(f, "asia-east1", &st), EM_OK); /* no policy */
    set(f, "organizations/42", EM_ORGPOLICY_LOCATIONS,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:eu-locations\",\"us-east1-b\"]}}]}");
    assert_int_equal(
        em_iam_set_parent(f->dir.store, "projects/my-project", "organizations/42", &st), EM_OK);
    assert_int_equal(in_location(f, "europe-west4", &st), EM_OK);
    assert_int_equal(in_location(f, "europe-west4-a", &st), EM_OK);
    assert_int_equal(in_location(f, "eu", &st), EM_OK);
    assert_int_equal(in_location(f, "us-east1-b", &st), EM_OK);
    /* a zone allowed does not allow its region, nor its sibling zones */
    assert_int_equal(in_location(f, "us-east1", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "us-east1-c", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "europe-west2", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "europe", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "global", &st), EM_FAILED_PRECONDITION);
    char expected[400];
    snprintf(expected, sizeof(expected),
             "Constraint constraints/gcp.resourceLocations violated for "
             "[orgpolicy:projects/%lld] attempting to create a key ring in [global]. For more "
             "information, see https://cloud.google.com/resource-manager/docs/"
             "organization-policy/defining-locations.",
             (long long)em_project_number("my-project"));
    assert_string_equal(st.message, expected);
    /* the project's own policy adds to its parent's; a denied group wins */
    set(f, "projects/my-project", EM_ORGPOLICY_LOCATIONS,
        "{\"inheritFromParent\":true,\"rules\":[{\"values\":{\"allowedValues\":[\"global\"],"
        "\"deniedValues\":[\"in:europe-west4-locations\"]}}]}");
    assert_int_equal(in_location(f, "global", &st), EM_OK);
    assert_int_equal(in_location(f, "europe-west1", &st), EM_OK);
    assert_int_equal(in_location(f, "europe-west4-c", &st), EM_FAILED_PRECONDITION);
    /* an exact value matches only itself */
    set(f, "projects/my-project", EM_ORGPOLICY_LOCATIONS,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"is:us-east1\"]}}]}");
    assert_int_equal(in_location(f, "us-east1", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "us-east1-b", &st), EM_OK);
}

static int min_days(struct fixture *f, const char *resource)
{
    struct em_status st = {0};
    int days = -1;
    assert_int_equal(
        em_orgpolicy_min_days(f->dir.store, resource, EM_ORGPOLICY_KMS_MIN_DESTROY, &days, &st),
        EM_OK);
    return days;
}

static void test_minimum_destroy_duration_in_days(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    const char *bad[] = {"in:0d",    "in:121d", "in:30",  "30 d", "in:030d",
                         "in:1000d", "is:30d",  "in:-1d", "in:d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char spec[128];
        snprintf(spec, sizeof(spec), "{\"rules\":[{\"values\":{\"allowedValues\":[\"%s\"]}}]}",
                 bad[i]);
        assert_int_equal(check_spec(EM_ORGPOLICY_KMS_MIN_DESTROY, spec, &st), EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "takes a duration in days"));
    }
    assert_int_equal(check_spec(EM_ORGPOLICY_KMS_MIN_DESTROY,
                                "{\"rules\":[{\"values\":{\"deniedValues\":[\"in:7d\"]}}]}", &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        check_spec(EM_ORGPOLICY_KMS_MIN_DESTROY, "{\"rules\":[{\"denyAll\":true}]}", &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(min_days(f, "projects/my-project"), 0);
    set(f, "organizations/42", EM_ORGPOLICY_KMS_MIN_DESTROY,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:90d\",\"120d\"]}}]}");
    assert_int_equal(
        em_iam_set_parent(f->dir.store, "projects/my-project", "organizations/42", &st), EM_OK);
    assert_int_equal(min_days(f, "projects/my-project"), 90);
    /* the project's own values add to its parent's: the smallest is the minimum */
    set(f, "projects/my-project", EM_ORGPOLICY_KMS_MIN_DESTROY,
        "{\"inheritFromParent\":true,\"rules\":[{\"values\":{\"allowedValues\":[\"in:7d\"]}}]}");
    assert_int_equal(min_days(f, "projects/my-project"), 7);
    set(f, "projects/my-project", EM_ORGPOLICY_KMS_MIN_DESTROY,
        "{\"rules\":[{\"allowAll\":true}]}");
    assert_int_equal(min_days(f, "projects/my-project"), 0);
}

static void test_deep_hierarchies_are_evaluated_to_the_top(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    /* my-project in folders/1, inside folders/2 ... folders/10, inside organizations/42 */
    assert_int_equal(em_iam_set_parent(f->dir.store, "projects/my-project", "folders/1", &st),
                     EM_OK);
    for (int i = 1; i <= 10; i++) {
        char child[32], parent[32];
        snprintf(child, sizeof(child), "folders/%d", i);
        snprintf(parent, sizeof(parent), i < 10 ? "folders/%d" : "organizations/42", i + 1);
        assert_int_equal(em_iam_set_parent(f->dir.store, child, parent, &st), EM_OK);
    }
    set(f, "organizations/42", EM_ORGPOLICY_LOCATIONS,
        "{\"rules\":[{\"values\":{\"allowedValues\":[\"in:eu-locations\"]}}]}");
    assert_int_equal(in_location(f, "us-east1", &st), EM_FAILED_PRECONDITION);
    assert_int_equal(in_location(f, "europe-west4", &st), EM_OK);
    set(f, "organizations/42", DISABLE, "{\"rules\":[{\"enforce\":true}]}");
    bool on = false;
    assert_int_equal(em_orgpolicy_enforced(f->dir.store, "projects/my-project", DISABLE, &on, &st),
                     EM_OK);
    assert_true(on);
    /* a key from a project deep under the organization is under:organizations/42 */
    assert_int_equal(em_iam_set_parent(f->dir.store, "projects/key-project", "folders/1", &st),
                     EM_OK);
    set(f, "projects/other-project", KEYS,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"under:organizations/42\"]}}]}");
    assert_int_equal(check(f, "other-project", "pubsub.googleapis.com", KEY_IN("key-project"), &st),
                     EM_FAILED_PRECONDITION);
    /* a loop (or a chain deeper than any real one) fails closed */
    assert_int_equal(em_iam_set_parent(f->dir.store, "organizations/42", "folders/1", &st), EM_OK);
    em_status_clear(&st);
    /* the organization's own policy ends the walk before the loop matters */
    assert_int_equal(in_location(f, "europe-west4", &st), EM_OK);
    set(f, "organizations/42", EM_ORGPOLICY_LOCATIONS,
        "{\"inheritFromParent\":true,\"rules\":[{\"values\":{\"allowedValues\":"
        "[\"in:eu-locations\"]}}]}");
    assert_int_equal(in_location(f, "europe-west4", &st), EM_INTERNAL);
    assert_non_null(strstr(st.message, "levels deep"));
    assert_int_equal(check(f, "other-project", "pubsub.googleapis.com", KEY_IN("key-project"), &st),
                     EM_INTERNAL);
}

static void test_is_prefix_means_the_literal_value(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    set(f, "projects/my-project", KEYS,
        "{\"rules\":[{\"values\":{\"deniedValues\":[\"is:under:projects/key-project\"]}}]}");
    /* not a subtree: only the literal value "under:projects/key-project" is denied */
    assert_int_equal(check(f, "my-project", "pubsub.googleapis.com", KEY_IN("key-project"), &st),
                     EM_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_nothing_is_restricted_without_a_policy),
        T(test_a_denied_service_needs_a_key),
        T(test_policies_are_inherited_from_the_parent),
        T(test_key_projects_by_project_and_subtree),
        cmocka_unit_test(test_invalid_specs_are_refused),
        cmocka_unit_test(test_too_many_values_or_rules_are_refused),
        T(test_storage_with_etags),
        T(test_list_and_clear_all),
        T(test_the_effective_policy_sums_up_the_hierarchy),
        T(test_boolean_constraints),
        T(test_protection_levels_are_a_closed_set),
        cmocka_unit_test(test_value_groups_hold_regions_zones_and_multi_regions),
        cmocka_unit_test(test_location_values_are_stored_as_google_completes_them),
        T(test_resource_locations_allow_and_deny),
        T(test_minimum_destroy_duration_in_days),
        T(test_deep_hierarchies_are_evaluated_to_the_top),
        T(test_is_prefix_means_the_literal_value),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
