/*
 * spanner_plan: what executeSql answers for queryMode PLAN and PROFILE: a statement's
 * google.spanner.v1.QueryPlan and, for PROFILE, its query statistics.
 *
 * The plan is the one SQLite really runs: the rows of EXPLAIN QUERY PLAN of the statement's
 * translation, each turned into a RELATIONAL plan node under a root node ("Serialize
 * Result" for a query, "Apply Mutations" for DML), with Spanner's operator names where
 * one fits (a table or index read is a "Scan" with scan_type TableScan or IndexScan and
 * its scan_target; a temporary B-tree for ORDER BY is a "Sort", ...). The tree follows
 * SQLite's parent links, with childLinks as Spanner writes them.
 *
 * The statistics are those Spanner's queryStats Struct carries, as strings: query_text,
 * rows_returned, elapsed_time and cpu_time ("1.25 msecs"), measured around the statement's
 * execution on the writer thread.
 */
#ifndef SPANNER_PLAN_H
#define SPANNER_PLAN_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* The QueryPlan of sqlite_sql (a translation, prepared on db before): {"planNodes":[...]};
 * NULL with st set when SQLite cannot explain it. */
cJSON *sp_plan_build(sqlite3 *db, const char *sqlite_sql, bool dml, struct em_status *st);

/* A statement's execution, measured (sp_plan_clock_start, then sp_plan_stats). */
struct sp_plan_clock {
    int64_t wall_ns, cpu_ns;
};
void sp_plan_clock_start(struct sp_plan_clock *clock);
/* queryStats: the statement's text, its rows returned and the time since the clock started. */
cJSON *sp_plan_stats(const struct sp_plan_clock *clock, const char *query_text,
                     int64_t rows_returned);

#endif
