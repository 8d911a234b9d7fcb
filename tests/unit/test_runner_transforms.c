/*
 * test_runner_transforms: the runner's transforms on real elements: the stateless ones
 * (split words as Word_Count does, regex split, case, trim, format, filters including the
 * Pub/Sub attribute filter of Cloud_PubSub_to_Cloud_PubSub, JSON parsing with its
 * dead-letter output, field extraction and renaming, KeyBy, fixed and sliding windows),
 * the grouping steps' accumulators merged across bundles in a state store and emitted
 * (counts, sums, means, min/max, top n, GroupByKey), and text output written atomically
 * in shards and read back through a glob.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"
#include "runner/runner_elements.h"
#include "runner/runner_io.h"
#include "runner/runner_pipeline.h"
#include "runner/runner_state.h"
#include "runner/runner_store.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A one-step pipeline (after a ReadText) whose second step is spec. */
static struct rn_pipeline *pipeline_with(const char *spec)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"steps\":[{\"name\":\"r\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/x\"},"
             "%s]}",
             spec);
    struct rn_pipeline *p = NULL;
    struct em_status st = {0};
    if (rn_pipeline_parse(text, NULL, &p, &st))
        fail_msg("pipeline refused: %s", st.message);
    return p;
}

/* Runs one element through the pipeline's step 1; the outputs' texts joined by '|'. */
static void run_one(const char *spec, struct rn_elem *in, char *out_text, char *failed_text,
                    size_t len)
{
    struct rn_pipeline *p = pipeline_with(spec);
    struct rn_batch out = {0}, failed = {0};
    assert_true(rn_apply_stateless(&p->steps[1], in, &out, &failed));
    struct rn_batch *batches[2] = {&out, &failed};
    char *texts[2] = {out_text, failed_text};
    for (int b = 0; b < 2; b++) {
        texts[b][0] = '\0';
        for (size_t i = 0; i < batches[b]->count; i++) {
            char *t = rn_value_text(batches[b]->items[i].value);
            snprintf(texts[b] + strlen(texts[b]), len - strlen(texts[b]), "%s%s", i ? "|" : "", t);
            free(t);
        }
    }
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
    rn_pipeline_free(p);
}

static void expect_map(const char *spec, const char *input, const char *expected_out,
                       const char *expected_failed)
{
    struct rn_elem in = rn_elem_make(cJSON_CreateString(input), 0);
    char out[1024], failed[1024];
    run_one(spec, &in, out, failed, sizeof(out));
    assert_string_equal(out, expected_out);
    assert_string_equal(failed, expected_failed);
    rn_elem_free(&in);
}

static void test_text_functions(void **state)
{
    (void)state;
    const char *words = "{\"name\":\"w\",\"transform\":\"FlatMap\",\"input\":\"r\",\"fn\":"
                        "\"split_words\"}";
    expect_map(words, "King Lear's  daughters, 3 of them!", "King|Lear's|daughters|of|them", "");
    expect_map(words, "", "", "");
    expect_map("{\"name\":\"s\",\"transform\":\"FlatMap\",\"input\":\"r\",\"fn\":\"split\","
               "\"pattern\":\"[,;] *\"}",
               "a, b;c,,d", "a|b|c|d", "");
    expect_map("{\"name\":\"l\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"lowercase\"}",
               "MiXeD Case", "mixed case", "");
    expect_map("{\"name\":\"u\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"uppercase\"}",
               "MiXeD", "MIXED", "");
    expect_map("{\"name\":\"t\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"trim\"}",
               "  padded \t", "padded", "");
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
               "\"pattern\":\"[a-z]+\"}",
               "abc", "abc", "");
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
               "\"pattern\":\"[a-z]+\"}",
               "abc1", "", ""); /* matches means the whole text */
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"contains\","
               "\"pattern\":\"[0-9]\"}",
               "abc1", "abc1", "");
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"not_empty\"}", "",
               "", "");
    /* RE2: Perl classes, flags and UTF-8 characters; an empty match ends a split */
    expect_map("{\"name\":\"s\",\"transform\":\"FlatMap\",\"input\":\"r\",\"fn\":\"split\","
               "\"pattern\":\"\\\\s*\\\\d+\\\\s*\"}",
               "a 1 b22c", "a|b|c", "");
    expect_map("{\"name\":\"s\",\"transform\":\"FlatMap\",\"input\":\"r\",\"fn\":\"split\","
               "\"pattern\":\"x*\"}",
               "abc", "abc", "");
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
               "\"pattern\":\"(?i)gr.(ss|ß)e\"}",
               "GRÜßE", "GRÜßE", "");
}

/* A pattern a backtracking matcher takes exponential time on, over 600 characters:
 * RE2 answers at once (a backtracking matcher would take 2^600 steps). */
static void test_regex_linear_time(void **state)
{
    (void)state;
    static char text[602];
    memset(text, 'a', 600);
    text[600] = '!';
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"matches\","
               "\"pattern\":\"(a|aa)*(a+)+$\"}",
               text, "", "");
    expect_map("{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":\"contains\","
               "\"pattern\":\"(a+)+!\"}",
               text, text, "");
}

static void test_json_functions(void **state)
{
    (void)state;
    const char *parse = "{\"name\":\"p\",\"transform\":\"ParseJson\",\"input\":\"r\"}";
    expect_map(parse, "{\"a\":1}", "{\"a\":1}", "");
    expect_map(parse, "{broken", "", "{broken"); /* to the dead-letter output */
    struct rn_elem in = rn_elem_make(cJSON_Parse("{\"user\":\"ann\",\"n\":3}"), 0);
    char out[1024], failed[1024];
    run_one("{\"name\":\"x\",\"transform\":\"ExtractField\",\"input\":\"r\",\"field\":\"user\"}",
            &in, out, failed, sizeof(out));
    assert_string_equal(out, "ann");
    run_one("{\"name\":\"x\",\"transform\":\"ExtractField\",\"input\":\"r\",\"field\":\"gone\"}",
            &in, out, failed, sizeof(out));
    assert_string_equal(failed, "{\"user\":\"ann\",\"n\":3}");
    run_one("{\"name\":\"x\",\"transform\":\"RenameFields\",\"input\":\"r\",\"fields\":"
            "{\"user\":\"who\"}}",
            &in, out, failed, sizeof(out));
    assert_string_equal(out, "{\"n\":3,\"who\":\"ann\"}");
    run_one("{\"name\":\"x\",\"transform\":\"Map\",\"input\":\"r\",\"fn\":\"format\","
            "\"template\":\"{user} has {n}, {missing}!\"}",
            &in, out, failed, sizeof(out));
    assert_string_equal(out, "ann has 3, !");
    rn_elem_free(&in);
}

static void test_dead_letter_reason(void **state)
{
    (void)state;
    struct rn_pipeline *p =
        pipeline_with("{\"name\":\"p\",\"transform\":\"ParseJson\",\"input\":\"r\"}");
    struct rn_elem in = rn_elem_make(cJSON_CreateString("nope"), 0);
    struct rn_batch out = {0}, failed = {0};
    assert_true(rn_apply_stateless(&p->steps[1], &in, &out, &failed));
    assert_int_equal(out.count, 0);
    assert_int_equal(failed.count, 1);
    assert_string_equal(em_json_string(failed.items[0].attrs, "error"), "not valid JSON");
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
    rn_elem_free(&in);
    rn_pipeline_free(p);
}

static void test_attribute_filter(void **state)
{
    (void)state;
    const char *with_value = "{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":"
                             "\"attribute_matches\",\"attribute\":\"lang\",\"pattern\":\"e[ns]\"}";
    const char *without_value = "{\"name\":\"f\",\"transform\":\"Filter\",\"input\":\"r\",\"fn\":"
                                "\"attribute_matches\",\"attribute\":\"lang\"}";
    const char *langs[] = {"en", "es", "de", "ens", NULL};
    const char *expected[] = {"m", "m", "", "", ""};
    char out[64], failed[64];
    for (int i = 0; i < 5; i++) {
        struct rn_elem in = rn_elem_make(cJSON_CreateString("m"), 0);
        in.attrs = cJSON_CreateObject();
        if (langs[i])
            cJSON_AddStringToObject(in.attrs, "lang", langs[i]);
        run_one(with_value, &in, out, failed, sizeof(out));
        assert_string_equal(out, expected[i]);
        run_one(without_value, &in, out, failed, sizeof(out));
        assert_string_equal(out, langs[i] ? "" : "m"); /* only messages without it pass */
        rn_elem_free(&in);
    }
}

static void test_windows(void **state)
{
    (void)state;
    struct rn_pipeline *p = pipeline_with("{\"name\":\"w\",\"transform\":\"Window\",\"input\":"
                                          "\"r\",\"type\":\"sliding\",\"size\":\"60s\",\"period\":"
                                          "\"20s\"}");
    struct rn_elem in = rn_elem_make(cJSON_CreateString("x"), 65 * EM_NS_PER_SEC);
    struct rn_batch out = {0}, failed = {0};
    assert_true(rn_apply_stateless(&p->steps[1], &in, &out, &failed));
    assert_int_equal(out.count, 3); /* [60,120) [40,100) [20,80) */
    assert_int_equal(out.items[0].win_start, 60 * EM_NS_PER_SEC);
    assert_int_equal(out.items[2].win_start, 20 * EM_NS_PER_SEC);
    assert_int_equal(out.items[2].win_end, 80 * EM_NS_PER_SEC);
    rn_batch_clear(&out);
    rn_pipeline_free(p);
    p = pipeline_with("{\"name\":\"w\",\"transform\":\"Window\",\"input\":\"r\",\"type\":"
                      "\"fixed\",\"size\":\"60s\"}");
    assert_true(rn_apply_stateless(&p->steps[1], &in, &out, &failed));
    assert_int_equal(out.count, 1);
    assert_int_equal(out.items[0].win_start, 60 * EM_NS_PER_SEC);
    assert_int_equal(out.items[0].win_end, 120 * EM_NS_PER_SEC);
    rn_batch_clear(&out);
    rn_pipeline_free(p);
    rn_elem_free(&in);
}

/* --- grouping steps through a state store --- */

struct collected {
    const struct rn_step *step;
    char text[2048];
};

static enum em_code collect_row(int64_t start, int64_t end, const char *key, const char *acc,
                                void *arg, struct em_status *st)
{
    (void)st;
    struct collected *c = arg;
    struct rn_elem e;
    assert_true(rn_state_output(c->step, start, end, key, acc, &e));
    char *k = e.key ? rn_value_text(e.key) : strdup("-");
    char *v = rn_value_text(e.value);
    snprintf(c->text + strlen(c->text), sizeof(c->text) - strlen(c->text), "%s%s=%s",
             c->text[0] ? " " : "", k, v);
    free(k);
    free(v);
    rn_elem_free(&e);
    return EM_OK;
}

/* Folds the values (keyed "a" or "b" alternately) in two bundles, commits each, and
 * returns what the step emits once every window closed. */
static void group(const char *spec, const char *const *values, int n, char *out, size_t len)
{
    struct unit_dir dir;
    struct em_status st = {0};
    assert_int_equal(unit_dir_open(&dir), 0);
    assert_int_equal(rn_state_migrate(dir.store, &st), EM_OK);
    struct rn_pipeline *p = pipeline_with(spec);
    for (int bundle = 0; bundle < 2; bundle++) {
        struct rn_state *state = rn_state_new();
        for (int i = bundle; i < n; i += 2) {
            struct rn_elem e = rn_elem_make(cJSON_CreateString(values[i]), 0);
            e.key = cJSON_CreateString(i % 4 < 2 ? "a" : "b");
            bool oom;
            rn_state_add(state, &p->steps[1], 1, &e, &oom);
            assert_false(oom);
            rn_elem_free(&e);
        }
        assert_int_equal(rn_state_commit(state, p, dir.store, &st), EM_OK);
        assert_true(rn_state_empty(state));
        rn_state_free(state);
    }
    struct collected c = {.step = &p->steps[1]};
    assert_int_equal(rn_state_each_ready(dir.store, 1, INT64_MAX, collect_row, &c, &st), EM_OK);
    snprintf(out, len, "%s", c.text);
    assert_int_equal(rn_state_delete_ready(dir.store, 1, INT64_MAX, &st), EM_OK);
    int64_t left;
    assert_int_equal(rn_state_count(dir.store, &left, &st), EM_OK);
    assert_int_equal(left, 0);
    rn_pipeline_free(p);
    unit_dir_close(&dir);
}

static void test_grouping(void **state)
{
    (void)state;
    /* keys: values 0,1 -> a; 2,3 -> b; 4,5 -> a */
    const char *const nums[] = {"4", "1", "10", "2.5", "7", "3"};
    char out[2048];
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"sum\"}", nums, 6, out,
          sizeof(out));
    assert_string_equal(out, "a=15 b=12.5");
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"count\"}", nums, 6,
          out, sizeof(out));
    assert_string_equal(out, "a=4 b=2");
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"mean\"}", nums, 6,
          out, sizeof(out));
    assert_string_equal(out, "a=3.75 b=6.25");
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"min\"}", nums, 6, out,
          sizeof(out));
    assert_string_equal(out, "a=1 b=2.5");
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"max\"}", nums, 6, out,
          sizeof(out));
    assert_string_equal(out, "a=7 b=10");
    group("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"top\",\"n\":2}", nums,
          6, out, sizeof(out));
    assert_string_equal(out, "a=[7,4] b=[10,2.5]");
    group("{\"name\":\"g\",\"transform\":\"GroupByKey\",\"input\":\"r\"}", nums, 6, out,
          sizeof(out));
    /* bundle 0 folded values 0, 2, 4 first, then bundle 1 values 1, 3, 5 */
    assert_string_equal(out, "a=[\"4\",\"7\",\"1\",\"3\"] b=[\"10\",\"2.5\"]");
    const char *const words[] = {"the", "cat", "the", "the"};
    group("{\"name\":\"n\",\"transform\":\"CountPerElement\",\"input\":\"r\"}", words, 4, out,
          sizeof(out));
    assert_string_equal(out, "cat=1 the=3");
}

struct key_counts {
    int rows;
    long total;
    bool saw_quote, saw_long;
};

static enum em_code count_row(int64_t start, int64_t end, const char *key, const char *acc,
                              void *arg, struct em_status *st)
{
    (void)start;
    (void)end;
    (void)st;
    struct key_counts *k = arg;
    k->rows++;
    k->total += atol(acc);
    cJSON *parsed = cJSON_Parse(key);
    assert_non_null(parsed);
    k->saw_quote |= strcmp(parsed->valuestring, "say \"hi\"\n") == 0 && atol(acc) == 2;
    k->saw_long |= strlen(parsed->valuestring) == 300 && atol(acc) == 1;
    cJSON_Delete(parsed);
    return EM_OK;
}

/* More keys than the pending table's first buckets (it grows), keys that need escaping
 * and one longer than the key buffer: every count lands on its own row. */
static void test_counts_many_and_odd_keys(void **state)
{
    (void)state;
    struct unit_dir dir;
    struct em_status st = {0};
    assert_int_equal(unit_dir_open(&dir), 0);
    assert_int_equal(rn_state_migrate(dir.store, &st), EM_OK);
    struct rn_pipeline *p =
        pipeline_with("{\"name\":\"n\",\"transform\":\"CountPerElement\",\"input\":\"r\"}");
    struct rn_state *pending = rn_state_new();
    char word[301];
    bool oom;
    for (int i = 0; i < 20000; i++) {
        snprintf(word, sizeof(word), "w%d", i % 10000);
        struct rn_elem e = rn_elem_make(cJSON_CreateString(word), 0);
        assert_true(rn_state_add(pending, &p->steps[1], 1, &e, &oom));
        rn_elem_free(&e);
    }
    memset(word, 'x', 300);
    word[300] = '\0';
    const char *odd[] = {"say \"hi\"\n", "say \"hi\"\n", word};
    for (int i = 0; i < 3; i++) {
        struct rn_elem e = rn_elem_make(cJSON_CreateString(odd[i]), 0);
        assert_true(rn_state_add(pending, &p->steps[1], 1, &e, &oom));
        rn_elem_free(&e);
    }
    assert_true(rn_state_bytes(pending) > 10000 * 8);
    assert_int_equal(rn_state_commit(pending, p, dir.store, &st), EM_OK);
    assert_true(rn_state_empty(pending));
    assert_int_equal(rn_state_bytes(pending), 0);
    struct key_counts k = {0};
    assert_int_equal(rn_state_each_ready(dir.store, 1, INT64_MAX, count_row, &k, &st), EM_OK);
    assert_int_equal(k.rows, 10002);
    assert_int_equal(k.total, 20003);
    assert_true(k.saw_quote);
    assert_true(k.saw_long);
    rn_state_free(pending);
    rn_pipeline_free(p);
    unit_dir_close(&dir);
}

static void test_combine_refuses_text(void **state)
{
    (void)state;
    struct rn_pipeline *p =
        pipeline_with("{\"name\":\"c\",\"transform\":\"Combine\",\"input\":\"r\",\"fn\":\"sum\"}");
    struct rn_state *s = rn_state_new();
    struct rn_elem e = rn_elem_make(cJSON_CreateString("twelve"), 0);
    bool oom;
    assert_false(rn_state_add(s, &p->steps[1], 1, &e, &oom));
    assert_false(oom);
    assert_true(rn_state_empty(s));
    rn_elem_free(&e);
    rn_state_free(s);
    rn_pipeline_free(p);
}

/* --- text files --- */

static enum em_code gather(cJSON *lines, void *arg, struct em_status *st)
{
    (void)st;
    cJSON *all = arg;
    cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        cJSON_AddItemToArray(all, cJSON_Duplicate(line, true));
    }
    cJSON_Delete(lines);
    return EM_OK;
}

static void test_text_shards(void **state)
{
    (void)state;
    struct unit_dir dir;
    struct em_status st = {0};
    char prefix[PATH_MAX], pattern[PATH_MAX];
    assert_int_equal(unit_dir_open(&dir), 0);
    assert_int_equal(
        rn_gcs_path(dir.path, "gs://bkt/out/part", "output", false, prefix, sizeof(prefix), &st),
        EM_OK);
    cJSON *lines = cJSON_CreateArray();
    for (int i = 0; i < 5; i++) {
        char line[24];
        snprintf(line, sizeof(line), "line %d", i);
        cJSON_AddItemToArray(lines, cJSON_CreateString(line));
    }
    assert_int_equal(rn_text_write(prefix, "", ".txt", 2, lines, &st), EM_OK);
    char shard[PATH_MAX + 32];
    snprintf(shard, sizeof(shard), "%s-00001-of-00002.txt", prefix);
    FILE *f = fopen(shard, "r");
    assert_non_null(f);
    char buf[64] = {0};
    assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
    fclose(f);
    assert_string_equal(buf, "line 1\nline 3\n");
    snprintf(shard, sizeof(shard), "%s-00000-of-00002.txt.tmp", prefix);
    assert_null(fopen(shard, "r")); /* renamed into place */
    assert_int_equal(
        rn_gcs_path(dir.path, "gs://bkt/out/part-*", "input", true, pattern, sizeof(pattern), &st),
        EM_OK);
    cJSON *all = cJSON_CreateArray();
    assert_int_equal(rn_text_read(dir.path, pattern, 2, gather, all, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(all), 5);
    assert_int_equal(
        rn_gcs_path(dir.path, "gs://bkt/none-*", "input", true, pattern, sizeof(pattern), &st),
        EM_OK);
    assert_int_equal(rn_text_read(dir.path, pattern, 2, gather, all, &st), EM_NOT_FOUND);
    em_status_clear(&st);
    assert_int_equal(rn_gcs_path(dir.path, "gs://bkt/a/../../etc", "input", false, pattern,
                                 sizeof(pattern), &st),
                     EM_INVALID_ARGUMENT);
    /* glob(3) expands ".*", "..*", ".?" and ".[.]" to "..": none may lead out of the bucket */
    static const char *const escapes[] = {
        "gs://bkt/..*/secret",   "gs://bkt/.*/secret",     "gs://bkt/out/.?/.?/secret",
        "gs://bkt/.[.]/secret",  "gs://bkt/\\.\\./secret", "gs://bkt/out/\\.*/\\.*/secret",
        "gs://bkt/[.][.]/secret"};
    f = fopen(strcat(strcpy(shard, dir.path), "/gcs/secret"), "w");
    assert_non_null(f);
    fputs("root key\n", f);
    fclose(f);
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        em_status_clear(&st);
        /* refused, or (a bracket "[.]", which glob never lets match a leading '.')
         * matching nothing */
        if (rn_gcs_path(dir.path, escapes[i], "input", true, pattern, sizeof(pattern), &st) ==
                EM_OK &&
            rn_text_read(dir.path, pattern, 2, gather, all, &st) == EM_OK)
            fail_msg("%s reads outside the bucket", escapes[i]);
    }
    /* a symbolic link in the bucket to a file outside it is not read */
    char target[PATH_MAX + 32], link_path[PATH_MAX + 32];
    snprintf(target, sizeof(target), "%s/outside.txt", dir.path);
    f = fopen(target, "w");
    assert_non_null(f);
    fputs("outside\n", f);
    fclose(f);
    snprintf(link_path, sizeof(link_path), "%s/gcs/bkt/out/link-1", dir.path);
    assert_int_equal(symlink(target, link_path), 0);
    em_status_clear(&st);
    assert_int_equal(
        rn_gcs_path(dir.path, "gs://bkt/out/link-*", "input", true, pattern, sizeof(pattern), &st),
        EM_OK);
    assert_int_equal(rn_text_read(dir.path, pattern, 2, gather, all, &st), EM_NOT_FOUND);
    /* an output suffix never leads out of the bucket */
    em_status_clear(&st);
    assert_int_equal(rn_text_write(prefix, "", "/../../../pwned.txt", 1, lines, &st),
                     EM_INVALID_ARGUMENT);
    assert_false(rn_valid_file_suffix("x\\y"));
    assert_false(rn_valid_file_suffix("*.txt"));
    assert_true(rn_valid_file_suffix(".csv"));
    assert_true(rn_valid_file_suffix(NULL));
    em_status_clear(&st);
    assert_int_equal(rn_gcs_path(dir.path, "gs://bkt/out/.hidden-*", "input", true, pattern,
                                 sizeof(pattern), &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        rn_gcs_path(dir.path, "gs://bkt/out/.hidden", "input", true, pattern, sizeof(pattern), &st),
        EM_OK); /* a literal name starting with '.' is an object name */
    cJSON_Delete(all);
    cJSON_Delete(lines);
    unit_dir_close(&dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_functions),
        cmocka_unit_test(test_regex_linear_time),
        cmocka_unit_test(test_json_functions),
        cmocka_unit_test(test_dead_letter_reason),
        cmocka_unit_test(test_attribute_filter),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_combine_refuses_text),
        cmocka_unit_test(test_counts_many_and_odd_keys),
        cmocka_unit_test(test_text_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
