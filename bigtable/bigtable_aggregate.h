/*
 * bigtable_aggregate: aggregate column families (counters), storage-free. A family
 * created with a value_type of Aggregate holds only aggregate cells: AddToCell adds an
 * input to a cell's state, MergeToCell merges a state into it, and a read returns the
 * state. Served here: Sum, Min and Max over Int64 inputs in the big-endian encoding (the
 * state is the same Int64: 8 bytes, big-endian two's complement). Refused:
 * HyperLogLogPlusPlusUniqueCount (UNIMPLEMENTED: its state is a sketch Google does not
 * document), other input types (INVALID_ARGUMENT: the proto allows only Int64 for these
 * aggregators), an Int64 without its encoding (INVALID_ARGUMENT: "must specify a full
 * encoding"), the ordered-code encoding (UNIMPLEMENTED), and a value_type that is not an
 * Aggregate (INVALID_ARGUMENT: "For now, only the Aggregate type is supported").
 *
 * The stored family keeps the canonical type, with its output-only stateType filled in:
 *   {"aggregateType": {"inputType": {"int64Type": {"encoding": {"bigEndianBytes": {}}}},
 *                      "stateType": <the same>, "sum": {}}}
 * A sum wraps on overflow (two's complement), as ReadModifyWriteRow's increment does.
 * Reference: google/bigtable/admin/v2/types.proto (Type.Aggregate), table.proto
 * (ColumnFamily.value_type), google/bigtable/v2/data.proto (Mutation.AddToCell,
 * Mutation.MergeToCell).
 */
#ifndef BIGTABLE_AGGREGATE_H
#define BIGTABLE_AGGREGATE_H

#include "bigtable_cell.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum bt_aggregator {
    BT_AGG_NONE, /* a family of raw bytes */
    BT_AGG_SUM,
    BT_AGG_MIN,
    BT_AGG_MAX,
};

#define BT_AGG_STATE_BYTES 8

/* A ColumnFamily's valueType as a request gives it (field names it in errors), checked:
 * *out is the canonical type to store, or NULL when value_type is absent or null. */
enum em_code bt_value_type_parse(const cJSON *value_type, const char *field, cJSON **out,
                                 struct em_status *st);

/* The aggregator of a stored family ({"gcRule", "valueType"}); BT_AGG_NONE without one. */
enum bt_aggregator bt_family_aggregator(const cJSON *family);

/* "sum", "min" or "max" (and "none"). */
const char *bt_aggregator_name(enum bt_aggregator agg);

/* The state after folding input into state. */
int64_t bt_aggregate(enum bt_aggregator agg, int64_t state, int64_t input);

/* An Int64 state: 8 bytes, big-endian two's complement. Decoding fails on another length. */
void bt_int64_encode(int64_t v, uint8_t out[BT_AGG_STATE_BYTES]);
bool bt_int64_decode(struct bt_bytes b, int64_t *v);

#endif
