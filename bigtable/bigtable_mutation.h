/*
 * bigtable_mutation: the write side of the data API, storage-free. Mutations
 * (google.bigtable.v2.Mutation) parsed from the JSON of mutateRow, mutateRows and
 * checkAndMutateRow with Google's checks, applied to a row's cells in order; and
 * ReadModifyWriteRow rules (append, increment) computed on a column's latest cell.
 *
 *   setCell {familyName, columnQualifier, timestampMicros, value}   -1 = server time
 *       (bt_mutations_resolve_time), else >= 0; replaces a cell with the same timestamp
 *   deleteFromColumn {familyName, columnQualifier, timeRange}       [start, end), end 0 = inf
 *   deleteFromFamily {familyName}      deleteFromRow {}
 *   addToCell {familyName, columnQualifier: {rawValue}, timestamp: {rawTimestampMicros},
 *              input: {intValue}}                                   (aggregate families)
 *   mergeToCell {... the same, input: {intValue} or {rawValue: 8 bytes} or absent (no effect)}
 *       adds the input to the cell's state (bigtable_aggregate.h), the cell made if absent;
 *       the timestamp must be set and not negative (no server time). Which aggregator a
 *       family has is the caller's to set (bt_mutation.aggregator), as are the checks that
 *       only these two write to an aggregate family and only there.
 * Family names match [-_.a-zA-Z0-9]+ (whether the table has the family is the caller's
 * check); qualifiers are at most 16 KiB, values 100 MiB, row keys 4 KiB and non-empty, a
 * request at most 100,000 mutations. Tables keep millisecond granularity by default, so
 * timestamps must be multiples of 1000 there (bt_mutations_check_granularity).
 *
 * ReadModifyWrite: appendValue appends to the latest value (none: empty); incrementAmount
 * adds to it as a 64-bit big-endian signed integer (none: 0), wrapping on overflow as
 * two's complement (Google documents no overflow error; its Go emulator wraps); a latest
 * value that is not 8 bytes fails the request. The new cell's timestamp is the later of
 * the server time and the latest cell's.
 * Reference: google/bigtable/v2/data.proto (Mutation, ReadModifyWriteRule).
 */
#ifndef BIGTABLE_MUTATION_H
#define BIGTABLE_MUTATION_H

#include "bigtable_aggregate.h"
#include "bigtable_cell.h"
#include "bigtable_filter.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BT_SERVER_TIME         (-1)
#define BT_MAX_MUTATIONS       100000
#define BT_MAX_ROW_KEY_BYTES   4096
#define BT_MAX_QUALIFIER_BYTES (16 * 1024)
#define BT_MAX_VALUE_BYTES     (100 * 1024 * 1024)

enum bt_mutation_kind {
    BT_MUT_SET_CELL,
    BT_MUT_DELETE_FROM_COLUMN,
    BT_MUT_DELETE_FROM_FAMILY,
    BT_MUT_DELETE_FROM_ROW,
    BT_MUT_ADD_TO_CELL,
    BT_MUT_MERGE_TO_CELL,
};

struct bt_mutation {
    enum bt_mutation_kind kind;
    char *family;                      /* all but deleteFromRow */
    struct bt_bytes qualifier;         /* all but the deletes of a family or row; owned */
    int64_t timestamp_micros;          /* setCell (BT_SERVER_TIME until resolved), aggregates */
    struct bt_bytes value;             /* setCell; owned */
    int64_t start_micros, end_micros;  /* deleteFromColumn; end 0 = infinity */
    int64_t input;                     /* addToCell, mergeToCell */
    bool has_input;                    /* false: a mergeToCell of NULL (no effect) */
    enum bt_aggregator aggregator;     /* addToCell, mergeToCell: the family's */
    uint8_t state[BT_AGG_STATE_BYTES]; /* bt_mutations_apply: an aggregate cell's new value */
};

/* addToCell or mergeToCell: a write to an aggregate family. */
bool bt_mutation_aggregates(const struct bt_mutation *m);

struct bt_mutations {
    struct bt_mutation *items;
    size_t n;
};

/* Parses a JSON array of mutations at field ("mutations", "true_mutations"). An empty or
 * absent list is refused unless allow_empty (checkAndMutateRow's branches may be empty). */
enum em_code bt_mutations_parse(const cJSON *json, const char *field, bool allow_empty,
                                struct bt_mutations *out, struct em_status *st);

/* Refuses timestamps that are not multiples of granularity_micros (1000 for MILLIS). */
enum em_code bt_mutations_check_granularity(const struct bt_mutations *m,
                                            int64_t granularity_micros, struct em_status *st);

/* Gives each server-time setCell now_micros, truncated to the granularity. */
void bt_mutations_resolve_time(struct bt_mutations *m, int64_t now_micros,
                               int64_t granularity_micros);

/* Applies the mutations in order to row's cells, out receiving the row afterwards (sorted;
 * views into row and m: an aggregate's new state is kept in its mutation). Server times
 * must be resolved first. */
enum em_code bt_mutations_apply(struct bt_mutations *m, const struct bt_row *row,
                                struct bt_cell_list *out, struct em_status *st);

/* The state of the cell m (addToCell, or mergeToCell with an input) writes, given the
 * cell's current value (NULL: no cell yet). INTERNAL for a value that is not a state. */
enum em_code bt_aggregate_cell_state(const struct bt_mutation *m, const struct bt_bytes *current,
                                     int64_t *state, struct em_status *st);

void bt_mutations_free(struct bt_mutations *m);

/* Non-empty and at most 4 KiB. */
enum em_code bt_row_key_check(struct bt_bytes key, struct em_status *st);

struct bt_rmw_rule {
    char *family;
    struct bt_bytes qualifier; /* owned */
    bool append;
    struct bt_bytes append_value; /* owned */
    int64_t increment;
};

struct bt_rmw_rules {
    struct bt_rmw_rule *items;
    size_t n;
};

/* Parses readModifyWriteRow's "rules" (non-empty). */
enum em_code bt_rmw_rules_parse(const cJSON *json, struct bt_rmw_rules *out, struct em_status *st);

/* The new cell for rule given the column's latest cell (NULL: none) and the server time at
 * the table's granularity: *value is malloc'd. */
enum em_code bt_rmw_apply(const struct bt_rmw_rule *rule, const struct bt_cell *latest,
                          int64_t now_micros, uint8_t **value, size_t *len, int64_t *timestamp,
                          struct em_status *st);

void bt_rmw_rules_free(struct bt_rmw_rules *rules);

#endif
