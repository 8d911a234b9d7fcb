/*
 * test_descriptor: the service descriptors (em_descriptor.h) and everything wired to
 * them: services.def and em_services[] agree, every descriptor is complete and unique
 * (name, port, Google service), the core's port constants are the descriptors', every
 * role of every descriptor is IAM's, every agent domain is a service agent, every resource
 * type becomes a Logging monitored resource, the service definitions point at their
 * descriptors, and the control plane's service lists come from em_services[].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/control.h"
#include "control/control_logging.h"
#include "em_call.h"
#include "em_config.h"
#include "em_descriptor.h"
#include "em_iam.h"
#include "em_service.h"
#include "kms/kms_service.h"
#include "pubsub/pubsub_service.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* services.def, read here the way em_descriptor.c reads it */
static const struct listed {
    const char *name;
    const struct em_service_desc *desc;
} listed[] = {
#define EM_SERVICE(name) {#name, &name##_descriptor},
#include "services.def"
#undef EM_SERVICE
};

#define LISTED_COUNT (sizeof(listed) / sizeof(listed[0]))

static size_t service_count(void)
{
    size_t n = 0;
    while (em_services[n])
        n++;
    return n;
}

/* --- the list --- */

static void test_the_list_is_services_def_after_the_control_plane(void **state)
{
    (void)state;
    assert_int_equal(service_count(), 1 + LISTED_COUNT);
    assert_ptr_equal(em_services[0], &control_descriptor);
    for (size_t i = 0; i < LISTED_COUNT; i++) {
        assert_ptr_equal(em_services[1 + i], listed[i].desc);
        assert_string_equal(listed[i].desc->name, listed[i].name); /* kms_descriptor is "kms" */
        assert_ptr_equal(em_service_desc_find(listed[i].name), listed[i].desc);
    }
    assert_ptr_equal(em_service_desc_find("emulator"), &control_descriptor);
    assert_null(em_service_desc_find("bogus"));
    assert_null(em_service_desc_find(""));
    assert_true(LISTED_COUNT <= CONTROL_SERVICE_MAX); /* the control plane's arrays hold them */
}

static bool ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcmp(text + n - m, suffix) == 0;
}

static void test_every_descriptor_is_complete_and_unique(void **state)
{
    (void)state;
    for (size_t i = 0; em_services[i]; i++) {
        const struct em_service_desc *a = em_services[i];
        assert_non_null(a->name);
        assert_true(a->product && *a->product);
        assert_true(a->google_service && ends_with(a->google_service, ".googleapis.com"));
        assert_non_null(a->roles);
        assert_true(a->port >= 0 && a->port < 100);
        if (i > 0 && a->port <= em_services[i - 1]->port)
            fail_msg("services.def is in port order: %s comes after %s", a->name,
                     em_services[i - 1]->name);
        for (size_t j = i + 1; em_services[j]; j++) {
            const struct em_service_desc *b = em_services[j];
            if (strcmp(a->name, b->name) == 0 || a->port == b->port ||
                strcmp(a->google_service, b->google_service) == 0)
                fail_msg("%s and %s share a name, port or Google service", a->name, b->name);
        }
    }
}

static void test_the_core_ports_are_the_descriptors(void **state)
{
    (void)state;
    assert_int_equal(EM_PORT_CONTROL, 0);
    assert_int_equal(EM_PORT_KMS, em_service_desc_find("kms")->port);
    struct em_config cfg = {.host = "127.0.0.1", .port_base = 9000};
    char url[64];
    em_config_url(&cfg, em_service_desc_find("pubsub")->port, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9002");
}

/* --- IAM --- */

/* A permission the pattern matches: each '*' becomes "x". */
static void concrete_permission(const char *pattern, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 2 < len; p++)
        if (*p == '*') {
            out[n++] = 'x';
        } else {
            out[n++] = *p;
        }
    out[n] = '\0';
}

static bool excepted(const struct em_role *role, const char *permission)
{
    for (const char *const *e = role->except; e && *e; e++)
        if (fnmatch(*e, permission, 0) == 0)
            return true;
    return false;
}

static void check_role(const struct em_service_desc *desc, const struct em_role *role)
{
    static const char *const basic[] = {"roles/owner", "roles/editor", "roles/viewer", NULL};
    if (strncmp(role->name, "roles/", 6) != 0 || !role->grants || !role->grants[0])
        fail_msg("%s: role %s must be roles/... and grant something", desc->name, role->name);
    for (int b = 0; basic[b]; b++)
        if (strcmp(role->name, basic[b]) == 0)
            fail_msg("%s redefines the basic role %s", desc->name, role->name);
    for (const char *const *g = role->grants; *g; g++) {
        char permission[160];
        concrete_permission(*g, permission, sizeof(permission));
        if (!excepted(role, permission) && !em_iam_role_grants(role->name, permission))
            fail_msg("IAM: %s does not grant %s (%s's descriptor says it does)", role->name,
                     permission, desc->name);
    }
    assert_false(em_iam_role_grants(role->name, "nothing.grantsThis.ever"));
}

static void test_every_role_is_iams(void **state)
{
    (void)state;
    size_t roles = 0;
    for (size_t i = 0; em_services[i]; i++)
        for (const struct em_role *r = em_services[i]->roles; r->name; r++, roles++) {
            check_role(em_services[i], r);
            for (size_t j = 0; em_services[j]; j++)
                for (const struct em_role *o = em_services[j]->roles; o->name; o++)
                    if (o != r && strcmp(o->name, r->name) == 0)
                        fail_msg("role %s is defined twice", r->name);
        }
    assert_true(roles >= 20); /* KMS 9, Pub/Sub 5, control plane 3, the next services */
    assert_false(em_iam_role_grants("roles/spanner.nonexistent", "spanner.databases.read"));
}

static void test_roles_of_each_service_reach_iam(void **state)
{
    (void)state;
    /* one role of each service, through em_iam_role_grants alone */
    assert_true(em_iam_role_grants("roles/logging.viewer", "logging.logEntries.list"));
    assert_true(em_iam_role_grants("roles/cloudkms.cryptoKeyEncrypterDecrypter",
                                   "cloudkms.cryptoKeyVersions.useToDecrypt"));
    assert_true(em_iam_role_grants("roles/pubsub.publisher", "pubsub.topics.publish"));
    assert_false(em_iam_role_grants("roles/pubsub.editor", "pubsub.topics.setIamPolicy"));
    assert_true(em_iam_role_grants("roles/bigtable.reader", "bigtable.tables.readRows"));
    assert_false(em_iam_role_grants("roles/bigtable.reader", "bigtable.tables.mutateRows"));
    assert_true(em_iam_role_grants("roles/spanner.databaseUser", "spanner.databases.write"));
    assert_false(em_iam_role_grants("roles/spanner.databaseReader", "spanner.databases.write"));
    assert_false(
        em_iam_role_grants("roles/spanner.databaseAdmin", "spanner.databases.setIamPolicy"));
    assert_true(em_iam_role_grants("roles/dataflow.developer", "dataflow.jobs.create"));
    assert_false(em_iam_role_grants("roles/dataflow.viewer", "dataflow.jobs.create"));
}

static void test_every_agent_domain_is_a_service_agent(void **state)
{
    (void)state;
    size_t agents = 0;
    for (size_t i = 0; em_services[i]; i++) {
        const char *domain = em_services[i]->agent_domain;
        if (!domain)
            continue;
        agents++;
        char principal[256];
        snprintf(principal, sizeof(principal),
                 "serviceAccount:service-123@%s.iam.gserviceaccount.com", domain);
        if (!em_iam_is_service_agent(principal))
            fail_msg("%s is not recognised as a service agent", principal);
        snprintf(principal, sizeof(principal), "serviceAccount:service-123@%s.example.com", domain);
        assert_false(em_iam_is_service_agent(principal));
        char who[EM_PRINCIPAL_MAX];
        struct em_status st = {0};
        snprintf(principal, sizeof(principal),
                 "Bearer serviceAccount:service-9@%s.iam.gserviceaccount.com", domain);
        assert_int_equal(em_iam_authenticate(principal, false, NULL, who, sizeof(who), &st),
                         EM_UNAUTHENTICATED);
    }
    assert_int_equal(agents, 4); /* Pub/Sub, Bigtable, Spanner, Dataflow */
    assert_string_equal(em_service_desc_find("pubsub")->agent_domain, "gcp-sa-pubsub");
}

/* --- Logging --- */

static void check_resource_type(const struct em_service_desc *desc,
                                const struct em_resource_type *type)
{
    char name[EM_PATH_MAX] = "", value[24];
    size_t n = 0;
    while (type->collections[n]) {
        if (!type->labels[n])
            fail_msg("%s: %s has fewer labels than collections", desc->name, type->type);
        snprintf(value, sizeof(value), "v%zu", n);
        snprintf(name + strlen(name), sizeof(name) - strlen(name), "%s%s/%s", n ? "/" : "",
                 type->collections[n], value);
        n++;
    }
    assert_null(type->labels[n]);
    assert_string_equal(type->collections[0], "projects");
    assert_string_equal(type->labels[0], "project_id");
    cJSON *resource = control_log_resource(name, desc->google_service, "Method");
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(resource, "labels");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(resource, "type")->valuestring,
                        type->type);
    assert_int_equal(cJSON_GetArraySize(labels), (int)n);
    for (size_t i = 0; i < n; i++) {
        snprintf(value, sizeof(value), "v%zu", i);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(labels, type->labels[i])->valuestring,
                            value);
    }
    cJSON_Delete(resource);
}

static void test_every_resource_type_is_a_monitored_resource(void **state)
{
    (void)state;
    size_t types = 0;
    for (size_t i = 0; em_services[i]; i++)
        for (const struct em_resource_type *t = em_services[i]->resource_types; t && t->type;
             t++, types++)
            check_resource_type(em_services[i], t);
    assert_int_equal(types, 7); /* KMS 4, Pub/Sub 3 */
}

static void test_audit_service_names_are_the_descriptors(void **state)
{
    (void)state;
    for (size_t i = 0; em_services[i]; i++) {
        struct em_audit_row row = {
            .id = 1,
            .entry = {.service = em_services[i]->name,
                      .method = "M",
                      .resource = "projects/p",
                      .principal = "user:a@example.com",
                      .kind = EM_AUDIT_DATA_ACCESS},
        };
        cJSON *entry = control_log_entry(&row);
        const cJSON *payload = cJSON_GetObjectItemCaseSensitive(entry, "protoPayload");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(payload, "serviceName")->valuestring,
                            em_services[i]->google_service);
        cJSON_Delete(entry);
    }
}

/* --- processes --- */

static void test_service_definitions_take_their_descriptor(void **state)
{
    (void)state;
    assert_ptr_equal(kms_service.desc, em_service_desc_find("kms"));
    assert_ptr_equal(pubsub_service.desc, em_service_desc_find("pubsub"));
}

static void make_executable(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    chmod(path, 0755);
}

static void test_unbuilt_services_are_the_children_without_binary(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_descriptor.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const struct em_service_desc *out[CONTROL_SERVICE_MAX];
    size_t n = control_services_unbuilt(dir, out, CONTROL_SERVICE_MAX);
    assert_int_equal(n, LISTED_COUNT); /* every child, never the control plane */
    for (size_t i = 0; i < n; i++)
        assert_ptr_equal(out[i], listed[i].desc);
    make_executable(dir, listed[0].name);
    n = control_services_unbuilt(dir, out, CONTROL_SERVICE_MAX);
    assert_int_equal(n, LISTED_COUNT - 1);
    assert_ptr_equal(out[0], listed[1].desc);
    em_remove_tree(dir);
}

static void test_an_unknown_service_message_names_every_child(void **state)
{
    (void)state;
    const struct em_service_desc *out[CONTROL_SERVICE_MAX];
    size_t count = 0;
    struct em_status st = {0};
    assert_int_equal(
        control_services_resolve("bogus", "/nonexistent", out, CONTROL_SERVICE_MAX, &count, &st),
        EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "--services: unknown service \"bogus\" (known: kms, "));
    assert_non_null(strstr(st.message, ", or all, or none)"));
    for (size_t i = 0; i < LISTED_COUNT; i++)
        assert_non_null(strstr(st.message, listed[i].name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_list_is_services_def_after_the_control_plane),
        cmocka_unit_test(test_every_descriptor_is_complete_and_unique),
        cmocka_unit_test(test_the_core_ports_are_the_descriptors),
        cmocka_unit_test(test_every_role_is_iams),
        cmocka_unit_test(test_roles_of_each_service_reach_iam),
        cmocka_unit_test(test_every_agent_domain_is_a_service_agent),
        cmocka_unit_test(test_every_resource_type_is_a_monitored_resource),
        cmocka_unit_test(test_audit_service_names_are_the_descriptors),
        cmocka_unit_test(test_service_definitions_take_their_descriptor),
        cmocka_unit_test(test_unbuilt_services_are_the_children_without_binary),
        cmocka_unit_test(test_an_unknown_service_message_names_every_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
