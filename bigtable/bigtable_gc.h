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
 *
 * Real Bigtable collects garbage lazily (up to about a week later); the service applies
 * these rules at read time and at compaction, so what it returns is what Google's
 * documentation promises a read may return at the earliest.
 * Reference: https://cloud.google.com/bigtable/docs/garbage-collection
 */
#ifndef BIGTABLE_GC_H
#define BIGTABLE_GC_H

#include "bigtable_cell.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define BT_GC_MAX_DEPTH 20

struct bt_gc_rule;

/* Parses a GcRule object; field is where it sits in the request, for errors
 * ("modifications[0].create.gc_rule"). {} parses to a rule that keeps everything. */
enum em_code bt_gc_rule_parse(const cJSON *json, const char *field, struct bt_gc_rule **out,
                              struct em_status *st);

/* The rule as the admin API returns it (a new object; {} for "keep everything"), or NULL
 * when memory runs out. */
cJSON *bt_gc_rule_to_json(const struct bt_gc_rule *rule);

/* Marks garbage[i] for each of a family's cells (sorted: qualifier ascending, then
 * timestamp descending; version counts restart at each qualifier) under rule (NULL: keep
 * everything) at now_micros. Returns the number of garbage cells. */
size_t bt_gc_collect(const struct bt_gc_rule *rule, const struct bt_cell *cells, size_t n,
                     int64_t now_micros, bool *garbage);

void bt_gc_rule_free(struct bt_gc_rule *rule);

#endif
