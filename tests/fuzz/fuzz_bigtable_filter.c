/*
 * fuzz_bigtable_filter: arbitrary text as a RowFilter JSON into bt_filter_parse; whatever
 * parses is applied to a fixed row with several families, versions, binary bytes and an
 * empty value. Parsing, applying and freeing must never crash, leak or read out of bounds,
 * and the output must stay sorted in cell order (family, qualifier, timestamp descending).
 */
#include "bigtable/bigtable_filter.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static const struct bt_cell cells[] = {
    {B("cf1"), B(""), 10, B("empty qualifier"), NULL},
    {B("cf1"), B("a"), 300, B("v1"), NULL},
    {B("cf1"), B("a"), 200, B("v2"), NULL},
    {B("cf1"), B("b\n"), 150, B("x\ny"), NULL},
    {B("cf2"), B("q"), 0, B("\x00\x00\x00\x00\x00\x00\x00\x01"), NULL},
    {B("cf2"), B("\xff\x00"), 1000, B(""), NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    struct bt_row row = {B("row\x00key"), cells, sizeof(cells) / sizeof(cells[0])};
    struct em_status st = {0};
    struct bt_filter *f = NULL;
    if (bt_filter_parse(json, &f, &st) == EM_OK) {
        struct bt_cell_list out = {0};
        if (bt_filter_apply(f, &row, &out, &st) != EM_OK)
            abort();
        for (size_t i = 1; i < out.n; i++)
            if (bt_cell_compare(&out.cells[i - 1], &out.cells[i]) > 0)
                abort();
        bt_cell_list_free(&out);
        bt_filter_free(f);
    } else if (f != NULL || st.code == EM_OK) {
        abort(); /* a failed parse returns no filter and says why */
    }
    cJSON_Delete(json);
    return 0;
}
