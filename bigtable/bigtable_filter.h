/*
 * bigtable_filter: Bigtable's RowFilter language (google.bigtable.v2.RowFilter), parsed from
 * its proto3 JSON into a tree and applied to one row at a time. Storage-free: the caller
 * hands in a row's cells (struct bt_row, sorted as bigtable_cell.h says) and gets back the
 * cells the filter lets through, in the same order.
 *
 * Semantics (google/bigtable/v2/data.proto, RowFilter):
 *   - An empty RowFilter `{}` (or no filter at all: a NULL tree) passes every cell.
 *   - chain: each filter runs on the previous one's output.
 *     interleave: each filter runs on a copy of the input; the outputs are merged in cell
 *     order with duplicates kept (equal cells in the order of the filters).
 *     Both need at least two filters, as Bigtable (not its proto) says.
 *     condition: the predicate runs on the condition's input; if it outputs any cell, the
 *     true filter runs on that same input, else the false filter; a missing branch outputs
 *     nothing.
 *     sink: the cells reaching it go straight to the final output (merged in cell order
 *     with the main output) and nothing goes on to its parent. Not allowed in a condition.
 *   - passAllFilter / blockAllFilter: everything / nothing (the value must be true).
 *   - rowKeyRegexFilter, familyNameRegexFilter, columnQualifierRegexFilter,
 *     valueRegexFilter: RE2 (em_regex), Latin-1 byte mode, full match. The bytes ones
 *     arrive base64 in JSON; the family one is a string and may not contain ':'. None may
 *     be empty.
 *   - rowSampleFilter p in [0, 1]: a row passes whole when a hash of its key, read as a
 *     fraction of 2^64, is below p, so about p of the rows pass and a row's fate is the
 *     same on every read (Google draws at random; the emulator is reproducible).
 *   - columnRangeFilter (a family and qualifier bounds, open or closed; no start = "",
 *     no end = infinity), valueRangeFilter likewise on values, timestampRangeFilter
 *     [start, end) with end 0 meaning infinity.
 *   - cellsPerRowOffsetFilter N skips the first N cells of the row, cellsPerRowLimitFilter N
 *     keeps the first N, cellsPerColumnLimitFilter N keeps the first (newest) N of each
 *     column; duplicates from an interleave count separately. The limits must be > 0, the
 *     offset >= 0.
 *   - stripValueTransformer empties every value; applyLabelTransformer sets a label (1 to 15
 *     characters of [a-z0-9-]). A cell carries at most one label, so a chain may have at
 *     most one sub-filter that contains a label transformer.
 * Limits: nesting of chain/interleave/condition at most BT_FILTER_MAX_DEPTH deep, the
 * filter's protobuf serialization at most BT_FILTER_MAX_BYTES.
 *
 * Errors are INVALID_ARGUMENT. JSON shape errors use the REST front end's wording
 * ("Invalid value at 'filter.chain.filters[0].cells_per_row_limit_filter' (TYPE_INT32),
 * ..."); rule violations Bigtable's ("Error in field 'row_key_regex_filter' : argument must
 * not be empty").
 */
#ifndef BIGTABLE_FILTER_H
#define BIGTABLE_FILTER_H

#include "bigtable_cell.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BT_FILTER_MAX_DEPTH 20
#define BT_FILTER_MAX_BYTES 4096

struct bt_filter;

/* Cells a filter outputs: copies of the input's cells (their bytes still belong to the
 * caller's row), values possibly emptied and labels pointing into the filter, so the list
 * is valid while both the row and the filter are. */
struct bt_cell_list {
    struct bt_cell *cells;
    size_t n, cap;
};

/* Parses a RowFilter JSON object, the request field "filter". *out is NULL on failure. */
enum em_code bt_filter_parse(const cJSON *json, struct bt_filter **out, struct em_status *st);

/* The same for a RowFilter in another request field (field is its proto name, used in
 * errors: "predicate_filter"). */
enum em_code bt_filter_parse_field(const cJSON *json, const char *field, struct bt_filter **out,
                                   struct em_status *st);

/* The bounds of one read's filtering: its regular expressions run at most this long in all
 * (DEADLINE_EXCEEDED), and no list of cells passes BT_FILTER_CELLS_MIN plus
 * BT_FILTER_CELLS_PER_INPUT per cell of the row (INVALID_ARGUMENT: a chain of k
 * interleaves of two pass-alls copies a row 2^k times). */
#define BT_FILTER_TIME_LIMIT_S    60
#define BT_FILTER_CELLS_MIN       100000
#define BT_FILTER_CELLS_PER_INPUT 64

/* Applies f (NULL: pass all) to row, replacing out's contents with the cells that pass.
 * Fails when memory runs out or past a bound above; deadline is em_clock_monotonic()'s
 * (a read's, shared by its rows). */
enum em_code bt_filter_apply_by(const struct bt_filter *f, const struct bt_row *row,
                                int64_t deadline, struct bt_cell_list *out, struct em_status *st);
/* The same with BT_FILTER_TIME_LIMIT_S from now. */
enum em_code bt_filter_apply(const struct bt_filter *f, const struct bt_row *row,
                             struct bt_cell_list *out, struct em_status *st);

/* The first family that a familyNameRegexFilter of f names literally (a pattern without
 * regex operators: "cf1", "my\\.family") and has_family does not know; NULL when none.
 * Bigtable answers a read with such a filter NOT_FOUND "Requested column family not found"
 * (googleapis/java-bigtable#32), where a pattern that could match other names reads no
 * cells. */
const char *bt_filter_missing_family(const struct bt_filter *f,
                                     bool (*has_family)(const char *family, void *arg), void *arg);

void bt_filter_free(struct bt_filter *f);

/* Frees the list's array and empties it (the list itself may be reused). */
void bt_cell_list_free(struct bt_cell_list *list);

/* The order of cells within a row: family, then qualifier (bytes ascending), then
 * timestamp descending. Negative, zero or positive as for memcmp. */
int bt_cell_compare(const struct bt_cell *a, const struct bt_cell *b);

/* Bytewise comparison of two byte strings, shorter first on a common prefix. */
int bt_bytes_compare(struct bt_bytes a, struct bt_bytes b);

#endif
