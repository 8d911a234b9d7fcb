/*
 * fuzz_bigtable_request: arbitrary JSON into every other Bigtable parser: as a mutation
 * list (applied to a fixed row), as ReadModifyWrite rules (applied to a fixed cell and to
 * none), as a GC rule (collected over a fixed family and written back) and as a ReadRows
 * stream (read, and whatever was read written again and read back to the same rows); a
 * JSON string as the decoded text of a consistency token (refused, or formatted and parsed
 * back to the same token); as an authorized view's SubsetView (the fixed row's cells kept
 * through it, fixed writes checked against it).
 * Nothing may crash, leak or read out of bounds; applied mutations keep cells sorted; the
 * cells a subset keeps are each in it, in their order.
 */
#include "bigtable/bigtable_chunks.h"
#include "bigtable/bigtable_consistency.h"
#include "bigtable/bigtable_gc.h"
#include "em_json.h"
#include "bigtable/bigtable_mutation.h"
#include "bigtable/bigtable_subset.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

static const struct bt_cell cells[] = {
    {B("agg"), B("n"), 1000, B("\x80\0\0\0\0\0\0\x05"), NULL},
    {B("cf1"), B(""), 3000, B("\0\0\0\0\0\0\0\x01"), NULL},
    {B("cf1"), B("a"), 2000, B("v"), NULL},
    {B("cf1"), B("a"), 1000, B(""), NULL},
    {B("cf2"), B("\xff"), 0, B("x\ny"), NULL},
};
static const struct bt_row row = {B("key"), cells, 5};

static void check_sorted(const struct bt_cell_list *l)
{
    for (size_t i = 1; i < l->n; i++)
        if (bt_cell_compare(&l->cells[i - 1], &l->cells[i]) >= 0)
            abort();
}

/* What the data layer checks against the table: here family "agg" is the aggregate one
 * (sum, min or max by position), which only addToCell and mergeToCell write. */
static bool families_fit(struct bt_mutations *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct bt_mutation *x = &m->items[i];
        bool agg = x->family && strcmp(x->family, "agg") == 0;
        if ((x->kind == BT_MUT_SET_CELL && agg) || (bt_mutation_aggregates(x) && !agg))
            return false;
        x->aggregator =
            bt_mutation_aggregates(x) ? (enum bt_aggregator)(BT_AGG_SUM + i % 3) : BT_AGG_NONE;
    }
    return true;
}

static void try_mutations(const cJSON *json)
{
    struct em_status st = {0};
    struct bt_mutations m;
    if (bt_mutations_parse(json, "mutations", true, &m, &st) != EM_OK)
        return;
    if (!families_fit(&m)) {
        bt_mutations_free(&m);
        return;
    }
    bt_mutations_check_granularity(&m, 1000, &st);
    bt_mutations_resolve_time(&m, 123456789, 1000);
    struct bt_cell_list out = {0};
    if (bt_mutations_apply(&m, &row, &out, &st) != EM_OK)
        abort();
    check_sorted(&out);
    bt_cell_list_free(&out);
    bt_mutations_free(&m);
}

static void try_rules(const cJSON *json)
{
    struct em_status st = {0};
    struct bt_rmw_rules rules;
    if (bt_rmw_rules_parse(json, &rules, &st) != EM_OK)
        return;
    for (size_t i = 0; i < rules.n; i++) {
        for (size_t c = 0; c <= 4; c++) {
            uint8_t *value = NULL;
            size_t len;
            int64_t ts;
            bt_rmw_apply(&rules.items[i], c < 4 ? &cells[c] : NULL, 5000, &value, &len, &ts, &st);
            free(value);
        }
    }
    bt_rmw_rules_free(&rules);
}

static void try_gc(const cJSON *json)
{
    struct em_status st = {0};
    struct bt_gc_rule *rule = NULL;
    if (bt_gc_rule_parse(json, "gc_rule", &rule, &st) != EM_OK)
        return;
    bool garbage[3];
    bt_gc_collect(rule, cells, 3, 2500, garbage);
    cJSON_Delete(bt_gc_rule_to_json(rule));
    bt_gc_rule_free(rule);
}

static struct bt_chunk_reader *read_stream(const cJSON *json)
{
    struct em_status st = {0};
    struct bt_chunk_reader *r = bt_chunk_reader_new(false);
    const cJSON *response;
    cJSON_ArrayForEach(response, json)
    {
        if (bt_chunk_reader_feed(r, response, &st) != EM_OK)
            return r;
    }
    bt_chunk_reader_finish(r, &st);
    return r;
}

/* Rows read are written again (values cut small) and must read back the same. */
static void try_chunks(const cJSON *json)
{
    if (!cJSON_IsArray(json))
        return;
    struct bt_chunk_reader *r = read_stream(json);
    struct bt_chunk_writer *w = bt_chunk_writer_new(3, 10);
    struct em_status st = {0};
    size_t n = bt_chunk_reader_count(r);
    for (size_t i = 0; i < n; i++)
        if (bt_chunk_writer_add_row(w, bt_chunk_reader_row(r, i), &st) != EM_OK)
            abort();
    cJSON *again = bt_chunk_writer_take(w);
    struct bt_chunk_reader *back = read_stream(again);
    if (bt_chunk_reader_count(back) != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (bt_chunk_reader_row(back, i)->n_cells != bt_chunk_reader_row(r, i)->n_cells)
            abort();
    bt_chunk_reader_free(back);
    cJSON_Delete(again);
    bt_chunk_writer_free(w);
    bt_chunk_reader_free(r);
}

#define TOKEN_TABLE "projects/p/instances/i/tables/t"

static void try_token(const cJSON *json)
{
    if (!cJSON_IsString(json))
        return;
    char *text = em_b64_encode((const unsigned char *)json->valuestring, strlen(json->valuestring));
    struct bt_consistency_token token, again;
    struct em_status st = {0};
    if (!text)
        return;
    if (bt_consistency_token_parse(text, TOKEN_TABLE, &token, &st) == EM_OK) {
        char *formatted = bt_consistency_token_format(&token);
        if (!formatted ||
            bt_consistency_token_parse(formatted, TOKEN_TABLE, &again, &st) != EM_OK ||
            again.count != token.count || memcmp(again.seqs, token.seqs, sizeof(token.seqs)) != 0)
            abort();
        free(formatted);
    }
    free(text);
}

static void try_subset(const cJSON *json)
{
    struct em_status st = {0};
    struct bt_subset subset;
    if (bt_subset_parse(json, &subset, &st) != EM_OK)
        return;
    struct bt_cell kept[4];
    memcpy(kept, cells, sizeof(kept));
    size_t n = bt_subset_keep_cells(&subset, kept, 4);
    for (size_t i = 0; i < n; i++)
        if (!bt_subset_has_cell(&subset, kept[i].family, kept[i].qualifier) ||
            (i > 0 && bt_cell_compare(&kept[i - 1], &kept[i]) >= 0))
            abort();
    bt_subset_has_row(&subset, row.key);
    cJSON *doc = cJSON_Parse("{\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\","
                             "\"columnQualifier\":\"YQ==\",\"value\":\"\"}},"
                             "{\"deleteFromFamily\":{\"familyName\":\"cf2\"}},"
                             "{\"deleteFromRow\":{}}]}");
    cJSON *families = cJSON_Parse("{\"cf1\":{},\"cf2\":{}}");
    struct bt_mutations m;
    if (bt_mutations_parse(cJSON_GetObjectItem(doc, "mutations"), "mutations", false, &m, &st) ==
        EM_OK) {
        bt_subset_check_mutations(&subset, "v", row.key, &m, families, &st);
        bt_mutations_free(&m);
    }
    cJSON_Delete(families);
    cJSON_Delete(doc);
    bt_subset_free(&subset);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = cJSON_ParseWithLength((const char *)data, size);
    if (!json)
        return 0;
    try_mutations(json);
    try_rules(json);
    try_gc(json);
    try_chunks(json);
    try_token(json);
    try_subset(json);
    cJSON_Delete(json);
    return 0;
}
