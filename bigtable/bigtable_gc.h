/*
 * bigtable_gc: a column family's garbage-collection rule (google.bigtable.admin.v2.GcRule),
 * parsed from the admin API's JSON, written back as JSON, and applied to a family's cells.
 *
 *   {}                                   no rule: every cell is kept forever
 *   {"maxNumVersions": N}                a column keeps its N newest cells (N >= 1)
 *   {"maxAge": "432000s"}                a cell older than now - age is garbage (age >= 1 ms;
 *                                        truncated to microseconds, as Google does)
 *   {"union": {"rules": [...]}}          garbage when any rule says so
 *   {"intersection": {"rules": [...]}}   garbage only when every rule says so
 * Unions and intersections nest (at most BT_GC_MAX_DEPTH deep) and hold at least one rule.
 * A family's rule serializes to at most 500 bytes (table.proto; checked by its callers).
 *
 * Real Bigtable collects garbage lazily (up to about a week later); the emulator hides it
 * from reads at once (what Google's documentation promises a read may return at the
 * earliest) and deletes a column's garbage whenever the column is written.
 * Reference: https://cloud.google.com/bigtable/docs/garbage-collection
 */
#ifndef BIGTABLE_GC_H
#define BIGTABLE_GC_H

#include "bigtable_cell.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define BT_GC_MAX_DEPTH 20

struct bt_gc_rule;

/* Parses a GcRule object; field is where it sits in the request, for errors
 * ("modifications[0].create.gc_rule"). {} parses to a rule that keeps everything. */
enum em_code bt_gc_rule_parse(const cJSON *json, const char *field, struct bt_gc_rule **out,
                              struct em_status *st);

/* The size of the rule serialized as a google.bigtable.admin.v2.GcRule message, which
 * table.proto limits to BT_GC_MAX_PROTO_BYTES for a column family's rule. */
#define BT_GC_MAX_PROTO_BYTES 500
size_t bt_gc_rule_proto_size(const struct bt_gc_rule *rule);

/* The rule as the admin API returns it (a new object; {} for "keep everything"), or NULL
 * when memory runs out. */
cJSON *bt_gc_rule_to_json(const struct bt_gc_rule *rule);

/* Marks garbage[i] for each of a family's cells (sorted: qualifier ascending, then
 * timestamp descending; version counts restart at each qualifier) under rule (NULL: keep
 * everything) at now_micros. Returns the number of garbage cells. */
size_t bt_gc_collect(const struct bt_gc_rule *rule, const struct bt_cell *cells, size_t n,
                     int64_t now_micros, bool *garbage);

void bt_gc_rule_free(struct bt_gc_rule *rule);

/* The garbage of one column under rule is always its oldest cells: a leaf's garbage is
 * the versions past a count or the cells before a time, and unions and intersections of
 * such suffixes are suffixes too. bt_gc_threshold finds where it starts, so the cells can
 * be deleted without reading the column: true, with *threshold_micros, when every cell at
 * or before that timestamp is garbage (and none after); false when there is none.
 * version_ts(arg, n, &ts) gives the timestamp of the column's n-th newest cell (0: the
 * newest; false when the column has at most n cells). The same cells as bt_gc_collect. */
typedef bool (*bt_gc_version_ts_fn)(void *arg, int64_t n, int64_t *ts);
bool bt_gc_threshold(const struct bt_gc_rule *rule, int64_t now_micros,
                     bt_gc_version_ts_fn version_ts, void *arg, int64_t *threshold_micros);

/* A table's rules, one per column family (from its columnFamilies JSON). */
struct bt_gc_families {
    size_t n;
    const char **families; /* names in the JSON it was loaded from, which must outlive it */
    struct bt_gc_rule **rules;
};

enum em_code bt_gc_families_load(const cJSON *column_families, struct bt_gc_families *out,
                                 struct em_status *st);

/* The rule of family (NULL: none, or no such family: keep everything). */
const struct bt_gc_rule *bt_gc_families_rule(const struct bt_gc_families *g,
                                             struct bt_bytes family);

/* Whether any family has a rule that may make garbage. */
bool bt_gc_families_any(const struct bt_gc_families *g);

void bt_gc_families_free(struct bt_gc_families *g);

#endif
