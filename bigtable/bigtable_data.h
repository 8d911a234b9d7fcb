/*
 * bigtable_data: the domain of Bigtable's data plane (google.bigtable.v2): routing a call
 * through its app profile to a cluster, decoding rows and mutations, and the reads and
 * writes on the replicas' cells (bigtable_cells.h).
 *
 * Routing. The app profile (appProfileId; "default" when absent: multi-cluster routing
 * over every cluster) lists the clusters that may serve, in name order. A call is served
 * by the first of them neither DISABLED by the cascade (bigtable_cascade.h) nor refused by
 * its replica's CMEK gate: multi-cluster routing fails over from a disabled cluster to
 * the next; single-cluster routing to a disabled cluster fails with its error
 * (FAILED_PRECONDITION; NOT_FOUND once the cascade deleted the cluster's data).
 *
 * Replication. A write lands on the serving cluster's replica, then reaches every other
 * cluster's replica after the configured delay, a replica that cannot take it then
 * catching up later (bigtable_replication.h).
 *
 * Requests arrive as their decoded JSON (schema-checked by the dispatcher); replies are
 * built as JSON. Thread-safe.
 */
#ifndef BIGTABLE_DATA_H
#define BIGTABLE_DATA_H

#include "bigtable_replication.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct bt_admin;
struct bt_replicas;

/* The service's parts (svc->ctx). */
struct bt_context {
    struct bt_admin *admin;
    struct bt_replicas *replicas; /* NULL without a CMEK engine: data calls fail */
    struct bt_replication replication;
};

/* now: emulator time in ns (a setCell timestamp of -1 is now, in milliseconds). */
enum em_code bt_data_mutate_row(struct bt_context *bt, const char *table, const cJSON *request,
                                int64_t now, struct em_status *st);
/* *responses: the ReadRowsResponse objects (bigtable_chunks), rows in order, each row's
 * cells as the column families' GC rules at now and the request's filter leave them;
 * rowsLimit counts the rows sent. */
enum em_code bt_data_read_rows(struct bt_context *bt, const char *table, const cJSON *request,
                               int64_t now, cJSON **responses, struct em_status *st);

/* The same two calls in steps, so that a caller that must not wait (an HTTP thread) can
 * go on while the job runs on the serving replica's writer thread:
 *
 *   prepare (route, decode, check: the call's errors) -> op
 *   bt_data_op_run(op)                  runs the job now and waits for its commit, or
 *   bt_data_op_submit(op, done, arg)    queues it; done(arg) runs once it committed (on
 *                                       the writer thread, or at once when it could not
 *                                       start), and must not block
 *   end (the outcome; a write then reaches the other clusters' replicas) -> frees op
 *
 * bt_data_op_blocks(op): the end may wait (a write replicated to other clusters' replicas)
 * or the answer may be large (a read of more than a few rows); such calls belong on a
 * thread that may block. bt_data_op_free drops an op that was prepared but not run. */
struct bt_data_op;
enum em_code bt_data_mutate_row_prepare(struct bt_context *bt, const char *table,
                                        const cJSON *request, int64_t now, struct bt_data_op **out,
                                        struct em_status *st);
enum em_code bt_data_mutate_row_end(struct bt_data_op *op, struct em_status *st);
enum em_code bt_data_read_rows_prepare(struct bt_context *bt, const char *table,
                                       const cJSON *request, int64_t now, struct bt_data_op **out,
                                       struct em_status *st);
enum em_code bt_data_read_rows_end(struct bt_data_op *op, cJSON **responses, struct em_status *st);
bool bt_data_op_blocks(const struct bt_data_op *op);
void bt_data_op_run(struct bt_data_op *op);
void bt_data_op_submit(struct bt_data_op *op, void (*done)(void *done_arg), void *done_arg);
void bt_data_op_free(struct bt_data_op *op);

/* *entries: [{"index": "i", "status": {...}}] for every entry (each atomic on its own);
 * fails as a whole only when no entry could be tried (unknown table, no cluster). */
enum em_code bt_data_mutate_rows(struct bt_context *bt, const char *table, const cJSON *request,
                                 int64_t now, cJSON **entries, struct em_status *st);
enum em_code bt_data_check_and_mutate(struct bt_context *bt, const char *table,
                                      const cJSON *request, int64_t now, bool *matched,
                                      struct em_status *st);
/* *row: the Row with the cells the rules wrote. */
enum em_code bt_data_read_modify_write(struct bt_context *bt, const char *table,
                                       const cJSON *request, int64_t now, cJSON **row,
                                       struct em_status *st);
/* *samples: [{"rowKey", "offsetBytes"}], the last with an empty key. */
enum em_code bt_data_sample_row_keys(struct bt_context *bt, const char *table,
                                     const char *app_profile, cJSON **samples,
                                     struct em_status *st);
/* PingAndWarm: the instance exists and a cluster of the profile can serve. */
enum em_code bt_data_ping(struct bt_context *bt, const char *instance, const char *app_profile,
                          struct em_status *st);

/* Admin calls that delete cells in every replica: the families dropped by
 * ModifyColumnFamilies (a JSON array of names), and DropRowRange (prefix in base64; NULL:
 * every row). A replica whose key is not usable fails the call. */
enum em_code bt_data_drop_families(struct bt_context *bt, const char *table, const cJSON *families,
                                   struct em_status *st);
enum em_code bt_data_drop_rows(struct bt_context *bt, const char *table, const char *prefix,
                               struct em_status *st);

#endif
