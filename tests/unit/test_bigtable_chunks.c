/*
 * test_bigtable_chunks: ReadRows chunks as Google sends them (what each chunk repeats and
 * what it leaves out, split values, responses cut by size), the writer and reader agreeing
 * on rows with binary keys, empty qualifiers and values, labels and large values, and the
 * reader refusing every malformed stream the client libraries refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_chunks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static char *write_rows(const struct bt_row *rows, size_t n, size_t split, size_t max_bytes)
{
    struct bt_chunk_writer *w = bt_chunk_writer_new(split, max_bytes);
    struct em_status st = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bt_chunk_writer_add_row(w, &rows[i], &st), EM_OK);
    cJSON *out = bt_chunk_writer_take(w);
    bt_chunk_writer_free(w);
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return text;
}

static const struct bt_cell row1_cells[] = {
    {B("cf1"), B("a"), 2000, B("v2"), "lbl"},
    {B("cf1"), B("a"), 1000, B("v1"), NULL},
    {B("cf1"), B("b"), 0, B(""), NULL},
    {B("cf2"), B(""), 5, B("x"), NULL},
};
static const struct bt_cell row2_cells[] = {{B("cf1"), B("a"), 7, B("v1"), NULL}};

/* Only what changes is sent; defaults are left out; wrappers stay even when empty. */
static void test_writer_fields(void **state)
{
    (void)state;
    const struct bt_row rows[] = {
        {B("row1"), row1_cells, 4},
        {B("empty"), NULL, 0}, /* a row the filter emptied: not sent */
        {B("row2"), row2_cells, 1},
    };
    char *text = write_rows(rows, 3, 0, 0);
    assert_string_equal(text,
                        "[{\"chunks\":["
                        "{\"rowKey\":\"cm93MQ==\",\"familyName\":\"cf1\",\"qualifier\":\"YQ==\","
                        "\"timestampMicros\":\"2000\",\"labels\":[\"lbl\"],\"value\":\"djI=\"},"
                        "{\"timestampMicros\":\"1000\",\"value\":\"djE=\"},"
                        "{\"qualifier\":\"Yg==\"},"
                        "{\"familyName\":\"cf2\",\"qualifier\":\"\",\"timestampMicros\":\"5\","
                        "\"value\":\"eA==\",\"commitRow\":true},"
                        "{\"rowKey\":\"cm93Mg==\",\"familyName\":\"cf1\",\"qualifier\":\"YQ==\","
                        "\"timestampMicros\":\"7\",\"value\":\"djE=\",\"commitRow\":true}]}]");
    free(text);
    char *none = write_rows(rows + 1, 1, 0, 0);
    assert_string_equal(none, "[]");
    free(none);
}

/* A 10-byte value in 4-byte pieces: valueSize on all but the last, the head only once. */
static void test_writer_split_value(void **state)
{
    (void)state;
    const struct bt_cell cells[] = {{B("cf"), B("a"), 9, B("abcdefghij"), "l"}};
    const struct bt_row row = {B("row1"), cells, 1};
    char *text = write_rows(&row, 1, 4, 0);
    assert_string_equal(text, "[{\"chunks\":["
                              "{\"rowKey\":\"cm93MQ==\",\"familyName\":\"cf\",\"qualifier\":"
                              "\"YQ==\",\"timestampMicros\":\"9\",\"labels\":[\"l\"],"
                              "\"value\":\"YWJjZA==\",\"valueSize\":10},"
                              "{\"value\":\"ZWZnaA==\",\"valueSize\":10},"
                              "{\"value\":\"aWo=\",\"commitRow\":true}]}]");
    free(text);
    /* responses full at 4 bytes: each piece in its own response */
    text = write_rows(&row, 1, 4, 4);
    cJSON *doc = cJSON_Parse(text);
    assert_int_equal(cJSON_GetArraySize(doc), 3);
    cJSON_Delete(doc);
    free(text);
}

/* Reads a whole stream (a JSON array of responses) into a new reader. */
static enum em_code read_stream(const char *json, bool reversed, struct bt_chunk_reader **out,
                                struct em_status *st)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        fail_msg("bad test JSON: %s", json);
    struct bt_chunk_reader *r = bt_chunk_reader_new(reversed);
    enum em_code rc = EM_OK;
    const cJSON *response;
    cJSON_ArrayForEach(response, doc)
    {
        rc = bt_chunk_reader_feed(r, response, st);
        if (rc)
            break;
    }
    if (rc == EM_OK)
        rc = bt_chunk_reader_finish(r, st);
    cJSON_Delete(doc);
    *out = r;
    return rc;
}

static bool bytes_equal(struct bt_bytes a, struct bt_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static void assert_rows_equal(const struct bt_row *want, const struct bt_row *got)
{
    assert_true(bytes_equal(want->key, got->key));
    assert_int_equal(want->n_cells, got->n_cells);
    for (size_t i = 0; i < want->n_cells; i++) {
        const struct bt_cell *a = &want->cells[i], *b = &got->cells[i];
        assert_true(bytes_equal(a->family, b->family));
        assert_true(bytes_equal(a->qualifier, b->qualifier));
        assert_true(a->timestamp_micros == b->timestamp_micros);
        assert_true(bytes_equal(a->value, b->value));
        if (a->label)
            assert_string_equal(a->label, b->label);
        else
            assert_null(b->label);
    }
}

/* Whatever the writer sends, the reader rebuilds, whatever the split and response size. */
static void test_round_trip(void **state)
{
    (void)state;
    static uint8_t big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    const struct bt_cell binary_cells[] = {
        {B("cf"), B("\x00\xff"), 1, {big, sizeof(big)}, "big"},
        {B("cf"), B("\x00\xff"), 0, B(""), NULL},
        {B("cf3"), B("q"), 3, {big, 10}, NULL},
    };
    const struct bt_row rows[] = {
        {B("row1"), row1_cells, 4},
        {B("row2"), row2_cells, 1},
        {B("row3\x00\x01"), binary_cells, 3},
    };
    static const size_t splits[][2] = {{0, 0}, {1000, 0}, {7, 50}, {1, 1}, {3000, 2999}};
    for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
        char *text = write_rows(rows, 3, splits[s][0], splits[s][1]);
        struct bt_chunk_reader *r = NULL;
        struct em_status st = {0};
        if (read_stream(text, false, &r, &st) != EM_OK)
            fail_msg("split %zu: %s", splits[s][0], st.message);
        assert_int_equal(bt_chunk_reader_count(r), 3);
        for (size_t i = 0; i < 3; i++)
            assert_rows_equal(&rows[i], bt_chunk_reader_row(r, i));
        assert_null(bt_chunk_reader_row(r, 3));
        bt_chunk_reader_free(r);
        free(text);
    }
}

#define HEAD(key) "{\"rowKey\":\"" key "\",\"familyName\":\"f\",\"qualifier\":\"YQ==\""

/* A reset drops the row in progress; the row sent again afterwards is the one kept. */
static void test_reader_reset(void **state)
{
    (void)state;
    struct bt_chunk_reader *r = NULL;
    struct em_status st = {0};
    assert_int_equal(
        read_stream("[{\"chunks\":[" HEAD("cm93MQ==") ",\"value\":\"YWJjZA==\"},"
                                                      "{\"resetRow\":true}]},"
                                                      "{\"chunks\":[" HEAD(
                                                          "cm93MQ==") ",\"value\":\"eA==\","
                                                                      "\"commitRow\":true}]}]",
                    false, &r, &st),
        EM_OK);
    assert_int_equal(bt_chunk_reader_count(r), 1);
    const struct bt_row *row = bt_chunk_reader_row(r, 0);
    assert_int_equal(row->n_cells, 1);
    assert_memory_equal(row->cells[0].value.data, "x", 1);
    bt_chunk_reader_free(r);
    /* reversed reads: keys descend */
    assert_int_equal(read_stream("[{\"chunks\":[" HEAD("cm93Mg==") ",\"commitRow\":true}," HEAD(
                                     "cm93MQ==") ",\"commitRow\":true}]}]",
                                 true, &r, &st),
                     EM_OK);
    assert_int_equal(bt_chunk_reader_count(r), 2);
    bt_chunk_reader_free(r);
}

static const struct {
    const char *stream, *message;
} bad_streams[] = {
    {"[{\"chunks\":[{\"familyName\":\"f\",\"qualifier\":\"YQ==\",\"commitRow\":true}]}]",
     "chunk 0: a new row needs a row key"},
    {"[{\"chunks\":[{\"rowKey\":\"cm93MQ==\",\"qualifier\":\"YQ==\",\"commitRow\":true}]}]",
     "a new row needs a family name and a qualifier"},
    {"[{\"chunks\":[{\"rowKey\":\"cm93MQ==\",\"familyName\":\"f\",\"commitRow\":true}]}]",
     "a new row needs a family name and a qualifier"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") "},{\"familyName\":\"g\",\"commitRow\":true}]}]",
     "chunk 1: a new family needs a qualifier"},
    {"[{\"chunks\":[" HEAD("cm93Mg==") ",\"commitRow\":true}," HEAD(
         "cm93MQ==") ",\"commitRow\":true}]}]",
     "chunk 1: row keys are out of order"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"commitRow\":true}," HEAD(
         "cm93MQ==") ",\"commitRow\":true}]}]",
     "row keys are out of order"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") "},{\"rowKey\":\"cm93Mg==\",\"commitRow\":true}]}]",
     "the row key changed inside a row"},
    {"[{\"chunks\":[{\"resetRow\":true}]}]", "resetRow with no row in progress"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") "},{\"resetRow\":true,\"value\":\"eA==\"}]}]",
     "a resetRow chunk carries no data"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"value\":\"eA==\",\"valueSize\":2,"
                                       "\"commitRow\":true}]}]",
     "commitRow inside a split value"},
    {"[{\"chunks\":[" HEAD(
         "cm93MQ==") ",\"value\":\"eA==\",\"valueSize\":2},"
                     "{\"qualifier\":\"Yg==\",\"value\":\"eA==\",\"commitRow\":true}]}]",
     "a value continuation carries only a value"},
    {"[{\"chunks\":[" HEAD(
         "cm93MQ==") ",\"value\":\"eA==\",\"valueSize\":2},"
                     "{\"timestampMicros\":\"5\",\"value\":\"eA==\",\"commitRow\":true}]}]",
     "a value continuation carries only a value"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"resetRow\":true,\"commitRow\":true}]}]",
     "resetRow and commitRow are one oneof"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"value\":\"!!\"}]}]", "a bytes field is not base64"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"colour\":1}]}]", "unknown or mistyped field \"colour\""},
    {"[{\"chunks\":[" HEAD("cm93MQ==") "}]}]", "stream ended inside a row"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"value\":\"eA==\",\"valueSize\":2}]}]",
     "stream ended inside a row"},
    {"[{\"chunks\":{}}]", "not a ReadRowsResponse"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"value\":\"eA==\",\"valueSize\":-2}]}]",
     "valueSize is not a non-negative int32"},
    {"[{\"chunks\":[" HEAD("cm93MQ==") ",\"qualifier\":\"Yg==\",\"value\":\"eA==\","
                                       "\"valueSize\":\"9999999999\"}]}]",
     "valueSize is not a non-negative int32"},
};

static void test_reader_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_streams) / sizeof(bad_streams[0]); i++) {
        struct bt_chunk_reader *r = NULL;
        struct em_status st = {0};
        if (read_stream(bad_streams[i].stream, false, &r, &st) != EM_INVALID_ARGUMENT)
            fail_msg("should be refused: %s", bad_streams[i].stream);
        if (!strstr(st.message, bad_streams[i].message))
            fail_msg("%s\n  expected: %s\n  got:      %s", bad_streams[i].stream,
                     bad_streams[i].message, st.message);
        assert_true(bt_chunk_reader_count(r) <= 1); /* only rows committed before the fault */
        bt_chunk_reader_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_fields), cmocka_unit_test(test_writer_split_value),
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_reader_reset),
        cmocka_unit_test(test_reader_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
