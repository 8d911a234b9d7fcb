/*
 * test_bigtable_replication: the replication log's entry format: every mutation kind of
 * two rows encoded and decoded back unchanged (empty qualifiers and values, negative
 * and zero times included), and damaged entries (cut short, trailing bytes, a bad kind,
 * a family without its NUL) refused with INTERNAL rather than read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_replication.h"

#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static char cf[] = "cf", other[] = "other";

static struct bt_mutation first_row[] = {
    {.kind = BT_MUT_SET_CELL,
     .family = cf,
     .qualifier = B("q"),
     .timestamp_micros = 1796000000000000,
     .value = B("value \0 with a NUL")},
    {.kind = BT_MUT_SET_CELL, .family = cf, .qualifier = B(""), .value = B("")},
    {.kind = BT_MUT_DELETE_FROM_COLUMN,
     .family = other,
     .qualifier = B("col"),
     .start_micros = 1000,
     .end_micros = 0},
};
static struct bt_mutation second_row[] = {
    {.kind = BT_MUT_DELETE_FROM_FAMILY, .family = other},
    {.kind = BT_MUT_DELETE_FROM_ROW},
};

static void assert_bytes_equal(struct bt_bytes a, struct bt_bytes b)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_memory_equal(a.data, b.data, a.len);
}

static void assert_mutation_equal(const struct bt_mutation *a, const struct bt_mutation *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->family ? a->family : "", b->family ? b->family : "");
    assert_bytes_equal(a->qualifier, b->qualifier);
    assert_int_equal(a->timestamp_micros, b->timestamp_micros);
    assert_bytes_equal(a->value, b->value);
    assert_int_equal(a->start_micros, b->start_micros);
    assert_int_equal(a->end_micros, b->end_micros);
}

static void encode_sample(uint8_t **entry, size_t *len)
{
    static struct bt_mutations m1 = {first_row, 3}, m2 = {second_row, 2};
    struct bt_row_mutations rows[] = {{B("row-1"), &m1}, {B("\xff\x00raw"), &m2}};
    struct em_status st = {0};
    assert_int_equal(bt_replication_encode(rows, 2, entry, len, &st), EM_OK);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t *entry;
    size_t len;
    encode_sample(&entry, &len);
    struct bt_replication_rows rows;
    struct em_status st = {0};
    assert_int_equal(bt_replication_decode(entry, len, &rows, &st), EM_OK);
    assert_int_equal(rows.count, 2);
    struct bt_bytes key1 = B("row-1"), key2 = B("\xff\x00raw");
    assert_bytes_equal(rows.rows[0].key, key1);
    assert_bytes_equal(rows.rows[1].key, key2);
    assert_int_equal(rows.rows[0].mutations->n, 3);
    assert_int_equal(rows.rows[1].mutations->n, 2);
    for (size_t i = 0; i < 3; i++)
        assert_mutation_equal(&rows.rows[0].mutations->items[i], &first_row[i]);
    for (size_t i = 0; i < 2; i++)
        assert_mutation_equal(&rows.rows[1].mutations->items[i], &second_row[i]);
    bt_replication_rows_free(&rows);
    free(entry);
}

static void expect_damaged(const uint8_t *entry, size_t len)
{
    struct bt_replication_rows rows;
    struct em_status st = {0};
    assert_int_equal(bt_replication_decode(entry, len, &rows, &st), EM_INTERNAL);
    assert_non_null(strstr(st.message, "damaged"));
    assert_null(rows.rows);
}

static void test_damaged(void **state)
{
    (void)state;
    uint8_t *entry;
    size_t len;
    encode_sample(&entry, &len);
    for (size_t cut = 0; cut < len; cut++) /* every truncation */
        expect_damaged(entry, cut);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, entry, len);
    longer[len] = 0;
    expect_damaged(longer, len + 1); /* trailing bytes */
    /* the first mutation's kind: after the row count (4), key length (4), key (5) and
     * mutation count (4) */
    longer[17] = 9;
    expect_damaged(longer, len);
    memcpy(longer, entry, len);
    /* the first family "cf\0": its NUL (after the kind and the family length) */
    longer[17 + 1 + 4 + 2] = 'x';
    expect_damaged(longer, len);
    free(longer);
    free(entry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
