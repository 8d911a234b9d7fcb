/*
 * runner_sinks: the WriteBigtable and WriteSpanner transforms (docs/pipelines.md).
 *
 * Each element becomes one row:
 *   WriteBigtable  a mutateRows entry: the row key from the `rowKey` template ({field},
 *                  {key}, {value}), one setCell per mapped field in `columnFamily`
 *                  (qualifier: field, or every field of the object), at the element's
 *                  event time (or `timestampField`) in microseconds rounded to the
 *                  millisecond, so a redelivered message rewrites the same cells;
 *   WriteSpanner   an insertOrUpdate mutation of `table`: one value per mapped column
 *                  (column: field, or every field of the object), converted to the
 *                  column's type as the database's INFORMATION_SCHEMA gives it (loaded
 *                  once when the job starts).
 * An element that cannot be mapped (not an object, a missing field, a value of the wrong
 * type) goes to the step's dead-letter output, its reason naming the step, the field and
 * the column. The mapping functions are pure (unit tested); the writes go over REST
 * (em_rest) to the emulator's own Bigtable (mutateRows) and Spanner (a session, then one
 * commit), as the job's worker service account with the job as the calling resource, one
 * call per bundle (at most 1,000 rows each). The engine writes a bundle's rows in its
 * commit, before the bundle's Pub/Sub messages are acknowledged: at least once, and a
 * retry rewrites the same rows (idempotent by row key). Any row refused (a sink whose key
 * is disabled answers FAILED_PRECONDITION) fails the write with a status naming the step
 * and the table, and so the job.
 */
#ifndef RUNNER_SINKS_H
#define RUNNER_SINKS_H

#include "runner_elements.h"
#include "runner_io.h"
#include "runner_pipeline.h"

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define RN_SINK_REASON_MAX 512
#define RN_SINK_ROWS_MAX   1000 /* rows per mutateRows or commit call */

/* Validates a WriteBigtable or WriteSpanner step when the pipeline is parsed:
 * INVALID_ARGUMENT "Invalid pipeline: step 'x': ..." naming the field. */
enum em_code rn_sink_parse(const struct rn_step *step, struct em_status *st);

bool rn_step_is_sink(const struct rn_step *step);

/* --- mapping (pure) --- */

/* Calls each(target, field, value) for every mapped field of an object: the pairs of the
 * step's "columns" (target: field), or every field of the object (target = field).
 * value is NULL for a field the object lacks. Stops at the first false, returned. */
typedef bool (*rn_field_fn)(const char *target, const char *field, const cJSON *value, void *arg);
bool rn_sink_each_field(const struct rn_step *step, const cJSON *object, rn_field_fn each,
                        void *arg);

/* The mutateRows entry of an element (*entry owned by the caller), or false with the
 * reason when it cannot be mapped (*entry NULL; an empty reason means out of memory). */
bool rn_bigtable_entry(const struct rn_step *step, const struct rn_elem *e, cJSON **entry,
                       char reason[RN_SINK_REASON_MAX]);

/* The insertOrUpdate mutation of an element; columns: the table's columns, an object of
 * column name -> {"type": the Spanner type as INFORMATION_SCHEMA writes it ("INT64",
 * "STRING(MAX)", "ARRAY<FLOAT64>"), "nullable": bool, "key": bool (in the primary key)}.
 * A field the element lacks leaves its column out (insertOrUpdate keeps its value), unless
 * it is a key column. Same contract as rn_bigtable_entry. */
bool rn_spanner_mutation(const struct rn_step *step, const cJSON *columns, const struct rn_elem *e,
                         cJSON **mutation, char reason[RN_SINK_REASON_MAX]);

/* A value converted to the JSON of a Spanner type (NULL with the reason when it does not
 * fit); what rn_spanner_mutation does for each column. */
cJSON *rn_spanner_value(const char *type, const cJSON *value, char *why, size_t len);

/* --- a job's sinks --- */

struct rn_sinks;

/* Loads what the pipeline's sinks need (each WriteSpanner table's columns); a missing
 * table or database fails naming the step. */
enum em_code rn_sinks_open(const struct rn_pipeline *p, const struct rn_peer *bigtable,
                           const struct rn_peer *spanner, struct rn_sinks **out,
                           struct em_status *st);
void rn_sinks_free(struct rn_sinks *sinks);

/* Maps an element of sink step step_index, appending its row to rows. */
bool rn_sinks_map(const struct rn_sinks *sinks, int step_index, const struct rn_elem *e,
                  cJSON *rows, char reason[RN_SINK_REASON_MAX]);

/* Writes rows (what rn_sinks_map appended) of sink step step_index. */
enum em_code rn_sinks_write(const struct rn_sinks *sinks, int step_index, const cJSON *rows,
                            struct em_status *st);

/* The I/O of each sink (runner_sink_bigtable.c, runner_sink_spanner.c). */
enum em_code rn_bigtable_write(const struct rn_peer *peer, const struct rn_step *step,
                               const cJSON *entries, struct em_status *st);
enum em_code rn_spanner_columns(const struct rn_peer *peer, const struct rn_step *step,
                                cJSON **columns, struct em_status *st);
enum em_code rn_spanner_write(const struct rn_peer *peer, const struct rn_step *step,
                              const cJSON *mutations, struct em_status *st);

#endif
