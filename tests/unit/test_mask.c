/*
 * test_mask: em_mask: update masks split into paths (spaces and empty paths dropped, any
 * length read whole), the count that lets a service refuse a mask without paths, a
 * failing path stopping the walk, paths matched in camelCase or snake_case, and read masks
 * selecting a resource's top-level fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_mask.h"
#include "em_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
    char paths[512];
    const char *refuse; /* a path that fails the walk */
};

static enum em_code collect(const char *path, void *arg, struct em_status *st)
{
    struct seen *s = arg;
    size_t used = strlen(s->paths);
    snprintf(s->paths + used, sizeof(s->paths) - used, "%s[%s]", used ? " " : "", path);
    if (s->refuse && strcmp(path, s->refuse) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "'%s' cannot be updated.", path);
    return EM_OK;
}

static void splits(const char *mask, const char *want, size_t want_count)
{
    struct seen s = {""};
    struct em_status st = {0};
    size_t count = 99;
    assert_int_equal(em_mask_each(mask, collect, &s, &count, &st), EM_OK);
    assert_string_equal(s.paths, want);
    assert_int_equal(count, want_count);
}

static void test_masks_split_into_trimmed_paths(void **state)
{
    (void)state;
    splits("labels", "[labels]", 1);
    splits("labels,pushConfig.pushEndpoint", "[labels] [pushConfig.pushEndpoint]", 2);
    splits(" labels , ack_deadline_seconds ", "[labels] [ack_deadline_seconds]", 2);
    splits("labels,,detached,", "[labels] [detached]", 2);
}

static void test_masks_without_paths_count_none(void **state)
{
    (void)state;
    splits(NULL, "", 0);
    splits("", "", 0);
    splits(",", "", 0);
    splits("  ,  ", "", 0);
}

static void test_long_masks_are_read_whole(void **state)
{
    (void)state;
    /* 300 paths: longer than the 1024 bytes the services once copied the mask into */
    char mask[4096] = "";
    for (int i = 0; i < 300; i++)
        strcat(mask, i ? ",labels" : "labels");
    strcat(mask, ",detached");
    struct seen s = {"", "detached"};
    struct em_status st = {0};
    size_t count = 0;
    assert_int_equal(em_mask_each(mask, collect, &s, &count, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(count, 301);
    assert_string_equal(st.message, "'detached' cannot be updated.");
}

static void test_a_failing_path_stops_the_walk(void **state)
{
    (void)state;
    struct seen s = {"", "topic"};
    struct em_status st = {0};
    assert_int_equal(em_mask_each("labels,topic,detached", collect, &s, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_string_equal(s.paths, "[labels] [topic]");
}

static void test_paths_match_in_either_spelling(void **state)
{
    (void)state;
    assert_true(em_mask_path_is("labels", "labels"));
    assert_true(em_mask_path_is("messageStoragePolicy", "messageStoragePolicy"));
    assert_true(em_mask_path_is("message_storage_policy", "messageStoragePolicy"));
    assert_true(em_mask_path_is("push_config.push_endpoint", "pushConfig.pushEndpoint"));
    assert_true(em_mask_path_is("version_template.algorithm", "versionTemplate.algorithm"));
    assert_false(em_mask_path_is("messagestoragepolicy", "messageStoragePolicy"));
    assert_false(em_mask_path_is("pushConfig", "pushConfig.pushEndpoint"));
    assert_false(em_mask_path_is("Labels", "labels"));
}

static const struct em_field thing_fields[] = {{"name", EM_F_STRING},
                                               {"displayName", EM_F_STRING},
                                               {"nodeCount", EM_F_INT32},
                                               {"replicaComputeCapacity", EM_F_ANY, true},
                                               {NULL}};
static const struct em_message thing = {"test.v1.Thing", thing_fields};

/* The JSON that mask selects from a Thing, or the error's message. */
static char *select_text(const char *mask)
{
    cJSON *json = cJSON_Parse("{\"name\":\"n\",\"displayName\":\"d\",\"nodeCount\":1,"
                              "\"replicaComputeCapacity\":[{\"nodeCount\":1}]}");
    cJSON *out = (cJSON *)0x1;
    struct em_status st = {0};
    char *text;
    if (em_mask_select(mask, "field_mask", &thing, json, &out, &st)) {
        assert_null(out);
        assert_int_equal(st.code, EM_INVALID_ARGUMENT);
        text = strdup(st.message);
    } else {
        text = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
    }
    cJSON_Delete(json);
    return text;
}

static void selects(const char *mask, const char *want)
{
    char *got = select_text(mask);
    assert_string_equal(got, want);
    free(got);
}

static void test_read_masks_select_top_level_fields(void **state)
{
    (void)state;
    selects("nodeCount", "{\"nodeCount\":1}");
    selects("display_name, name", "{\"displayName\":\"d\",\"name\":\"n\"}");
    selects("replica_compute_capacity.node_count,nodeCount,node_count",
            "{\"replicaComputeCapacity\":[{\"nodeCount\":1}],\"nodeCount\":1}");
    selects(NULL, "{\"name\":\"n\",\"displayName\":\"d\",\"nodeCount\":1,"
                  "\"replicaComputeCapacity\":[{\"nodeCount\":1}]}");
    selects(" , ", "{\"name\":\"n\",\"displayName\":\"d\",\"nodeCount\":1,"
                   "\"replicaComputeCapacity\":[{\"nodeCount\":1}]}");
    selects("nodeCount,nodes", "Invalid field_mask: Thing has no field \"nodes\".");
    selects("NodeCount", "Invalid field_mask: Thing has no field \"NodeCount\".");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_split_into_trimmed_paths),
        cmocka_unit_test(test_masks_without_paths_count_none),
        cmocka_unit_test(test_long_masks_are_read_whole),
        cmocka_unit_test(test_a_failing_path_stops_the_walk),
        cmocka_unit_test(test_paths_match_in_either_spelling),
        cmocka_unit_test(test_read_masks_select_top_level_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
