/*
 * test_runner_pipeline: the JSON pipeline format (runner_pipeline.h) and Google's
 * templates expanded into it (runner_templates.h): what a valid pipeline becomes, each
 * validation error naming the step and field, parameters (required, defaults, unknown),
 * windows carried downstream, and the template parameter checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "runner/runner_pipeline.h"
#include "runner/runner_templates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const wordcount =
    "{\"parameters\":{\"in\":{\"required\":true},\"out\":{\"default\":\"gs://bkt/out\"}},"
    "\"steps\":["
    "{\"name\":\"read\",\"transform\":\"ReadText\",\"path\":\"${in}\"},"
    "{\"name\":\"words\",\"transform\":\"FlatMap\",\"input\":\"read\",\"fn\":\"split_words\","
    "\"counters\":{\"emptyLines\":\"empty_input\"}},"
    "{\"name\":\"count\",\"transform\":\"CountPerElement\",\"input\":\"words\"},"
    "{\"name\":\"fmt\",\"transform\":\"Map\",\"input\":\"count\",\"fn\":\"format\","
    "\"template\":\"{key}: {value}\"},"
    "{\"name\":\"write\",\"transform\":\"WriteText\",\"input\":\"fmt\",\"path\":\"${out}\","
    "\"shards\":3}]}";

static cJSON *params_of(const char *json)
{
    return cJSON_Parse(json);
}

/* Parses text with params; returns the code, the message in msg. */
static enum em_code parse(const char *text, const char *params_json, struct rn_pipeline **p,
                          char *msg, size_t len)
{
    struct em_status st = {0};
    cJSON *params = params_json ? params_of(params_json) : NULL;
    enum em_code rc = rn_pipeline_parse(text, params, p, &st);
    cJSON_Delete(params);
    snprintf(msg, len, "%s", st.message);
    return rc;
}

static void test_valid_pipeline(void **state)
{
    (void)state;
    struct rn_pipeline *p;
    char msg[EM_STATUS_MESSAGE_MAX];
    assert_int_equal(parse(wordcount, "{\"in\":\"gs://bkt/a*.txt\"}", &p, msg, sizeof(msg)), EM_OK);
    assert_false(p->streaming);
    assert_int_equal(p->count, 5);
    assert_string_equal(p->steps[0].path, "gs://bkt/a*.txt");
    assert_string_equal(p->steps[4].path, "gs://bkt/out"); /* the default */
    assert_int_equal(p->steps[4].shards, 3);
    assert_int_equal(p->steps[1].input, 0);
    assert_int_equal(p->steps[1].fn, RN_FN_SPLIT_WORDS);
    assert_int_equal(p->steps[1].counter_count, 1);
    assert_string_equal(p->steps[1].counters[0].name, "emptyLines");
    assert_true(rn_step_is_stateful(&p->steps[2]));
    assert_false(rn_step_is_stateful(&p->steps[3]));
    rn_pipeline_free(p);
}

static void expect_invalid(const char *text, const char *params, const char *fragment)
{
    struct rn_pipeline *p = NULL;
    char msg[EM_STATUS_MESSAGE_MAX];
    assert_int_equal(parse(text, params, &p, msg, sizeof(msg)), EM_INVALID_ARGUMENT);
    assert_null(p);
    if (!strstr(msg, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", msg, fragment);
}

static void test_parameters(void **state)
{
    (void)state;
    expect_invalid(wordcount, NULL, "missing required parameter 'in'");
    expect_invalid(wordcount, "{\"in\":\"gs://bkt/x\",\"other\":\"1\"}",
                   "unknown parameter 'other'");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"${nope}"
                   "\"}]}",
                   NULL, "parameter 'nope' is required");
}

static void test_step_errors_name_the_step(void **state)
{
    (void)state;
    expect_invalid("not json", NULL, "not valid JSON");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"w\",\"transform\":\"WriteText\",\"input\":\"r\",\"path\":"
        "\"gs://bkt/d\",\"suffix\":\"/../../../tmp/pwned.txt\"}]}",
        NULL, "step 'w': field 'suffix' cannot hold '/'");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":"
                   "\"gs://bkt/\\\\.\\\\./x\"}]}",
                   NULL, "step 'r': path must be a Cloud Storage path");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"n\",\"transform\":\"RenameFields\",\"input\":\"r\","
        "\"fields\":{\"a\":1}}]}",
        NULL, "step 'n': field 'fields': the new name of 'a' must be a non-empty string");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"s\",\"transform\":\"Window\",\"input\":\"r\",\"type\":"
        "\"sliding\",\"size\":\"7d\",\"period\":\"1s\"}]}",
        NULL,
        "step 's': a sliding window puts each element in size / period windows: "
        "at most 1000 here, not 604800.");
    expect_invalid("{\"steps\":[]}", NULL, "'steps' must be a non-empty list");
    expect_invalid("{\"steps\":[{\"name\":\"a b\",\"transform\":\"Map\"}]}", NULL,
                   "step 1: field 'name'");
    expect_invalid("{\"steps\":[{\"name\":\"a\",\"transform\":\"Nope\"}]}", NULL,
                   "step 'a': unknown transform 'Nope'");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://b/x\"}]}", NULL,
        "step 'r': path must be a Cloud Storage path");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":"
                   "\"gs://bkt/../etc\"}]}",
                   NULL, "step 'r'");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"m\",\"transform\":\"Map\",\"input\":\"later\",\"fn\":\"trim\"},"
        "{\"name\":\"later\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"trim\"}]}",
        NULL, "step 'm': input 'later' is not the name of an earlier step");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"r\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"trim\"}]}",
        NULL, "step 'r': another step has this name");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"m\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"split_words\"}]}",
        NULL, "step 'm': unknown fn 'split_words' for Map");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
        "\"pattern\":\"(\"}]}",
        NULL, "step 'f': field 'pattern' is not a valid regular expression");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"w\",\"transform\":\"Window\",\"input\":\"r\",\"type\":\"fixed\","
        "\"size\":\"soon\"}]}",
        NULL, "step 'w': field 'size' must be a duration");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"w\",\"transform\":\"Window\",\"input\":\"r\",\"type\":\"sliding\","
        "\"size\":\"60s\",\"period\":\"25s\"}]}",
        NULL, "step 'w': field 'period' must be a duration that divides 'size'");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\","
                   "\"input\":\"r\"}]}",
                   NULL, "step 'r': a source (ReadText) takes no 'input'");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\"}]}", NULL,
                   "step 'r': exactly one of 'subscription' and 'topic'");
    /* names go into the path of REST calls made with the stack's credential: no ".." */
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"subscription\":"
                   "\"projects/p/subscriptions/../../../emulator/v1/internal\"}]}",
                   NULL, "step 'r': field 'subscription' must be projects/<project>/subscriptions");
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":"
                   "\"projects/../topics/t\"}]}",
                   NULL, "step 'r': field 'topic' must be projects/<project>/topics");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"w\",\"transform\":\"WritePubSub\",\"input\":\"r\",\"topic\":"
        "\"projects/p/topics/t/../../../../emulator/v1/internal\"}]}",
        NULL, "step 'w': field 'topic' must be projects/<project>/topics");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"w\",\"transform\":\"WriteBigtable\",\"input\":\"r\",\"table\":"
        "\"projects/p/instances/../tables/..\",\"rowKey\":\"{key}\",\"columnFamily\":\"cf\"}]}",
        NULL, "step 'w': field 'table' must be");
    expect_invalid(
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"top\"}]}",
        NULL, "step 'c': field 'n' must be a number");
}

/* A pipeline whose Filter step matches pattern (JSON-escaped by the caller). */
static char *filter_pipeline(const char *pattern)
{
    static const char head[] =
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
        "\"pattern\":\"";
    size_t len = strlen(head) + strlen(pattern) + 8;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "%s%s\"}]}", head, pattern);
    return text;
}

/* The regex's text repeated: open n times, then middle, then close n times. */
static char *nested(const char *open, const char *middle, const char *close, int n)
{
    size_t len = (strlen(open) + strlen(close)) * (size_t)n + strlen(middle) + 1;
    char *text = malloc(len);
    assert_non_null(text);
    text[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(text, open);
    strcat(text, middle);
    for (int i = 0; i < n; i++)
        strcat(text, close);
    return text;
}

static void expect_pattern(const char *pattern, const char *fragment)
{
    char *text = filter_pipeline(pattern);
    if (fragment) {
        expect_invalid(text, NULL, fragment);
    } else {
        struct rn_pipeline *p = NULL;
        char msg[EM_STATUS_MESSAGE_MAX];
        assert_int_equal(parse(text, NULL, &p, msg, sizeof(msg)), EM_OK);
        rn_pipeline_free(p);
    }
    free(text);
}

/* Patterns are RE2's: deep groups (glibc's regcomp recursed once per parenthesis and
 * crashed on 100,000) and long or repeated patterns compile; what RE2 refuses is refused
 * with its reason: nested counts past 1000, repetition operators that follow each other,
 * backreferences and lookaround. */
static void test_regex_bounds(void **state)
{
    (void)state;
    char *huge = nested("(", "a", ")", 100000);
    char *many = nested("", "", "a{999}", 20);
    char *fine = nested("(", "[[:alpha:]]{2,3}\\\\{x\\\\}[)]", "){2}", 3);
    char *counts = nested("(", "a{1000}", "){1000}", 2);
    const char *accepted[] = {huge,
                              many,
                              fine,
                              "((((((((((((((a)+)+)+)+)+)+)+)+)+)+)+)+)+)",
                              "((a+)+)+b{2}",
                              "(a{1,10}){1,100}",
                              "(ab|cd)+x?[]*]{2,3}",
                              "\\\\d+\\\\s(?i:x)",
                              "a{,3}{,3}" /* a literal '{' in RE2 */};
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
        expect_pattern(accepted[i], NULL);
    static const struct {
        const char *pattern, *reason;
    } refused[] = {
        {"a{1000}{2}", "bad repetition operator: {1000}{2}"},
        {"(a{10}b){101}", "invalid repetition size: {101}"},
        {"[a-z]*****+", "bad repetition operator: **"},
        {"a++", "bad repetition operator: ++"},
        {"(a)\\\\1", "invalid escape sequence: \\1"},
        {"a(?=b)", "invalid perl operator: (?="},
        {"[[", "missing ]: [["},
        {"(", "missing ): ("},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char want[200];
        snprintf(want, sizeof(want),
                 "step 'f': field 'pattern' is not a valid regular expression: %s",
                 refused[i].reason);
        expect_pattern(refused[i].pattern, want);
    }
    expect_pattern(counts, "invalid repetition size: {1000}");
    free(huge);
    free(many);
    free(fine);
    free(counts);
}

static void test_streaming_needs_windows(void **state)
{
    (void)state;
    const char *unwindowed = "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":"
                             "\"projects/p/topics/t\"},"
                             "{\"name\":\"c\",\"transform\":\"CountPerElement\",\"input\":\"r\"}]}";
    expect_invalid(unwindowed, NULL,
                   "step 'c': CountPerElement in a streaming pipeline needs a "
                   "Window step before it");
    const char *windowed =
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadPubSub\",\"topic\":\"projects/p/topics/"
        "t\"},"
        "{\"name\":\"w\",\"transform\":\"Window\",\"input\":\"r\",\"type\":\"fixed\",\"size\":"
        "\"5m\","
        "\"allowedLateness\":\"30s\"},"
        "{\"name\":\"m\",\"transform\":\"Map\",\"input\":\"w\",\"fn\":\"lowercase\"},"
        "{\"name\":\"c\",\"transform\":\"CountPerElement\",\"input\":\"m\"}]}";
    struct rn_pipeline *p;
    char msg[EM_STATUS_MESSAGE_MAX];
    assert_int_equal(parse(windowed, NULL, &p, msg, sizeof(msg)), EM_OK);
    assert_true(p->streaming);
    /* the window is carried through the Map to the count */
    assert_int_equal(p->steps[3].window, RN_WINDOW_FIXED);
    assert_int_equal(p->steps[3].size_ns, 300 * EM_NS_PER_SEC);
    assert_int_equal(p->steps[3].lateness_ns, 30 * EM_NS_PER_SEC);
    rn_pipeline_free(p);
}

static void test_dead_letter_input(void **state)
{
    (void)state;
    const char *text =
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
        "{\"name\":\"p\",\"transform\":\"ParseJson\",\"input\":\"r\"},"
        "{\"name\":\"bad\",\"transform\":\"WriteText\",\"input\":\"p.failed\",\"path\":\"gs://bkt/"
        "d\"}]}";
    struct rn_pipeline *p;
    char msg[EM_STATUS_MESSAGE_MAX];
    assert_int_equal(parse(text, NULL, &p, msg, sizeof(msg)), EM_OK);
    assert_int_equal(p->steps[2].input, 1);
    assert_int_equal(p->steps[2].input_port, 1);
    rn_pipeline_free(p);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ns;
    assert_true(rn_duration_parse("90", &ns));
    assert_int_equal(ns, 90 * EM_NS_PER_SEC);
    assert_true(rn_duration_parse("5m", &ns));
    assert_int_equal(ns, 300 * EM_NS_PER_SEC);
    assert_true(rn_duration_parse("2h", &ns));
    assert_int_equal(ns, 7200 * EM_NS_PER_SEC);
    assert_false(rn_duration_parse("0s", &ns));
    assert_false(rn_duration_parse("5x", &ns));
    assert_false(rn_duration_parse("5ms", &ns));
    assert_false(rn_duration_parse("-5s", &ns));
}

/* A Google template's parameters: applied, and checked as Google checks them. */
static void expect_template(const char *path, const char *params_json, enum em_code code,
                            const char *fragment)
{
    struct em_status st = {0};
    char *text = NULL;
    const cJSON *used = (const cJSON *)1;
    cJSON *params = params_of(params_json);
    assert_int_equal(
        rn_template_pipeline("/nonexistent", path, "gcsPath", params, &text, &used, &st), code);
    if (code == EM_OK) {
        assert_null(used);
        assert_non_null(strstr(text, fragment));
        struct rn_pipeline *p;
        assert_int_equal(rn_pipeline_parse(text, NULL, &p, &st), EM_OK);
        rn_pipeline_free(p);
    } else if (!strstr(st.message, fragment)) {
        fail_msg("message \"%s\" lacks \"%s\"", st.message, fragment);
    }
    free(text);
    cJSON_Delete(params);
}

static void test_google_templates(void **state)
{
    (void)state;
    expect_template("gs://dataflow-templates/latest/Word_Count",
                    "{\"inputFile\":\"gs://bkt/in.txt\",\"output\":\"gs://bkt/out\"}", EM_OK,
                    "\"path\":\"gs://bkt/in.txt\"");
    expect_template("gs://dataflow-templates-europe-west1/latest/Word_Count",
                    "{\"inputFile\":\"gs://bkt/in.txt\"}", EM_INVALID_ARGUMENT,
                    "Word_Count needs parameter 'output'");
    expect_template("gs://dataflow-templates/latest/Word_Count",
                    "{\"inputFile\":\"gs://bkt/in.txt\",\"output\":\"gs://bkt/o\",\"x\":\"1\"}",
                    EM_INVALID_ARGUMENT, "Word_Count has no parameter 'x'");
    expect_template("gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub",
                    "{\"inputSubscription\":\"projects/p/subscriptions/s\",\"outputTopic\":"
                    "\"projects/p/topics/t\",\"filterKey\":\"lang\",\"filterValue\":\"en\"}",
                    EM_OK, "\"attribute\":\"lang\"");
    expect_template("gs://dataflow-templates/2024-01-01-00_RC00/Cloud_PubSub_to_GCS_Text",
                    "{\"inputTopic\":\"projects/p/topics/t\",\"outputDirectory\":\"gs://bkt/d/\","
                    "\"windowDuration\":\"2m\",\"numShards\":\"2\"}",
                    EM_OK, "\"size\":\"2m\"");
    expect_template("gs://dataflow-templates/latest/Cloud_PubSub_to_GCS_Text",
                    "{\"outputDirectory\":\"gs://bkt/d/\"}", EM_INVALID_ARGUMENT,
                    "exactly one of 'inputTopic' and 'inputSubscription'");
    expect_template(
        "gs://dataflow-templates/latest/GCS_Text_to_Cloud_PubSub",
        "{\"inputFilePattern\":\"gs://bkt/*.txt\",\"outputTopic\":\"projects/p/topics/t\"}", EM_OK,
        "WritePubSub");
    expect_template("gs://dataflow-templates/latest/No_Such_Template", "{}", EM_NOT_FOUND,
                    "is not one this emulator provides");
    expect_template("gs://bkt/missing.json", "{}", EM_NOT_FOUND, "Unable to open template file");
    expect_template("s3://bkt/x.json", "{}", EM_INVALID_ARGUMENT,
                    "gcsPath must be a Cloud Storage");
}

static void test_watched_text_is_streaming(void **state)
{
    (void)state;
    const char *watched =
        "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/in/*.txt\","
        "\"watch\":\"10s\"},"
        "{\"name\":\"w\",\"transform\":\"WritePubSub\",\"input\":\"r\",\"topic\":\"projects/p/"
        "topics/t\"}]}";
    struct rn_pipeline *p;
    char msg[EM_STATUS_MESSAGE_MAX];
    assert_int_equal(parse(watched, NULL, &p, msg, sizeof(msg)), EM_OK);
    assert_true(p->streaming);
    assert_int_equal(p->steps[0].watch_ns, 10 * EM_NS_PER_SEC);
    rn_pipeline_free(p);
    expect_invalid("{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\","
                   "\"watch\":\"often\"}]}",
                   NULL, "step 'r': field 'watch' must be a duration");
    expect_template(
        "gs://dataflow-templates/latest/Stream_GCS_Text_to_Cloud_PubSub",
        "{\"inputFilePattern\":\"gs://bkt/*.txt\",\"outputTopic\":\"projects/p/topics/t\"}", EM_OK,
        "\"watch\":\"10s\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_pipeline),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_step_errors_name_the_step),
        cmocka_unit_test(test_regex_bounds),
        cmocka_unit_test(test_streaming_needs_windows),
        cmocka_unit_test(test_dead_letter_input),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_google_templates),
        cmocka_unit_test(test_watched_text_is_streaming),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
