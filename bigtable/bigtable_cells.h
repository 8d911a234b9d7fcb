/*
 * bigtable_cells: the cells of one replica of a table, in its encrypted data file (an
 * em_datastore, bigtable_replicas.h): the only SQL of the data plane. Every function here
 * runs as a job on the file's writer thread (em_datafile_run), so a call's reads and
 * writes on one replica are atomic and an acknowledged write has committed.
 *
 * Table (module "bigtable_cells" of the file's own schema_migrations):
 *   cells   row BLOB, family TEXT, qualifier BLOB, ts INTEGER (microseconds), value BLOB;
 *           primary key (row, family, qualifier, ts); WITHOUT ROWID
 *   replication_log   seq (order), target (a replica of another cluster), due (emulator
 *           ns), entry (encoded row mutations): the writes this replica served that
 *           another replica has not received yet (bigtable_replication.h)
 *   replication_received   source (another replica's log identity), seq: the last entry
 *           of that log this replica applied, so that an entry is applied once (an
 *           AddToCell twice would count twice)
 *   replication_identity   id: this file's log identity, random, made with the file (a
 *           replica made again under the same name, its seqs starting over, is another
 *           source)
 * Rows come out in key order (bytes, memcmp), each row's cells by family, qualifier
 * ascending, timestamp descending: the order of google.bigtable.v2.ReadRowsResponse.
 * Everything in the file, row keys included, is encrypted page by page (em_vfs).
 */
#ifndef BIGTABLE_CELLS_H
#define BIGTABLE_CELLS_H

#include "bigtable_cell.h"
#include "bigtable_gc.h"
#include "bigtable_mutation.h"
#include "em_datastore.h"
#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

/* The datastore hooks of a replica file (migrations when it opens). */
extern const struct em_datastore_hooks bt_cells_hooks;

/* The mutations of one row (bigtable_mutation.h: parsed, checked, times resolved). */
struct bt_row_mutations {
    struct bt_bytes key;
    const struct bt_mutations *mutations;
};

/* Garbage collection as cells are written: every column a call writes loses the cells
 * its family's rule makes garbage at now_micros, in the same transaction (bigtable_gc.h).
 * The writers below take a NULL one to collect nothing. */
struct bt_cells_gc {
    const struct bt_gc_families *families;
    int64_t now_micros;
};

/* Applies the rows' mutations, each row atomically and all in the file's transaction,
 * then collects the garbage of the columns they set. */
enum em_code bt_cells_mutate(struct em_datafile *file, const struct bt_row_mutations *rows,
                             size_t count, const struct bt_cells_gc *gc, struct em_status *st);
/* The same for entry seq of the replication log whose identity is source: applied only when
 * this replica has not applied it already (its seq is recorded in the same transaction).
 * A NULL source is bt_cells_mutate. */
enum em_code bt_cells_mutate_received(struct em_datafile *file, const struct bt_row_mutations *rows,
                                      size_t count, const struct bt_cells_gc *gc,
                                      const char *source, int64_t seq, struct em_status *st);
/* The same as a writer job, for a caller that queues it (em_datafile_submit) rather than
 * waits: arg is a struct bt_cells_mutate_job that lives until the job is done. */
struct bt_cells_mutate_job {
    const struct bt_row_mutations *rows;
    size_t count;
    const struct bt_cells_gc *gc;
    const char *source; /* bt_cells_mutate_received's, else NULL */
    int64_t seq;
};
enum em_code bt_cells_mutate_job(struct em_datafile *file, void *arg, struct em_status *st);

/* A row range; an absent bound is unbounded. */
struct bt_row_range {
    bool has_start, start_open;
    struct bt_bytes start;
    bool has_end, end_closed;
    struct bt_bytes end;
};

/* Which rows a read covers: the keys and the ranges (both empty: every row). */
struct bt_row_set {
    const struct bt_bytes *keys;
    size_t key_count;
    const struct bt_row_range *ranges;
    size_t range_count;
};

/* Whether the set covers key. */
bool bt_row_set_covers(const struct bt_row_set *set, struct bt_bytes key);

/* Called with each row in order (its bytes live until the call returns); returns true to
 * stop the scan. Called first with row NULL: forget what an earlier run of the same job
 * produced (the writer runs a job again when another job of its batch failed). */
typedef bool (*bt_row_fn)(void *arg, const struct bt_row *row);

/* Reads the rows of set (reversed: descending keys), calling fn for each, on the writer
 * thread. */
enum em_code bt_cells_read(struct em_datafile *file, const struct bt_row_set *set, bool reversed,
                           bt_row_fn fn, void *arg, struct em_status *st);
/* The same as a writer job (see bt_cells_mutate_job): arg is a struct bt_cells_read_job. */
struct bt_cells_read_job {
    const struct bt_row_set *set;
    bool reversed;
    bt_row_fn fn;
    void *arg;
};
enum em_code bt_cells_read_job(struct em_datafile *file, void *arg, struct em_status *st);

/* The cell a rule wrote (value malloc'd). */
struct bt_rmw_result {
    int64_t timestamp_micros;
    uint8_t *value;
    size_t value_len;
};

/* Applies the rules in order to row key (bt_rmw_apply on each column's newest cell),
 * atomically; results[i] is the cell rule i wrote (free the values with
 * bt_rmw_results_clear). */
enum em_code bt_cells_read_modify_write(struct em_datafile *file, struct bt_bytes key,
                                        const struct bt_rmw_rules *rules, int64_t now_micros,
                                        const struct bt_cells_gc *gc, struct bt_rmw_result *results,
                                        struct em_status *st);
void bt_rmw_results_clear(struct bt_rmw_result *results, size_t count);

/* Reads row key (its cells, possibly none), asks predicate whether it matches, and
 * applies the mutations of that side, atomically. */
typedef bool (*bt_predicate_fn)(void *arg, const struct bt_row *row);
enum em_code bt_cells_check_and_mutate(struct em_datafile *file, struct bt_bytes key,
                                       bt_predicate_fn predicate, void *arg,
                                       const struct bt_row_mutations *if_true,
                                       const struct bt_row_mutations *if_false, bool *matched,
                                       const struct bt_cells_gc *gc, struct em_status *st);

/* Deletes every cell of the families (names), or of the rows starting with prefix (NULL
 * prefix: every row). */
enum em_code bt_cells_drop_family(struct em_datafile *file, const char *family,
                                  struct em_status *st);
enum em_code bt_cells_drop_rows(struct em_datafile *file, struct bt_bytes prefix, bool all,
                                struct em_status *st);

/* --- the replication log of this replica (bigtable_replication.h) --- */

/* One queued write: found false when target has none. entry is malloc'd (free it). */
struct bt_log_entry {
    bool found;
    int64_t seq, due_ns;
    uint8_t *entry;
    size_t len;
};

enum em_code bt_cells_log_append(struct em_datafile *file, const char *target, int64_t due_ns,
                                 const uint8_t *entry, size_t len, struct em_status *st);
/* The oldest entry queued for target (due or not). */
enum em_code bt_cells_log_first(struct em_datafile *file, const char *target,
                                struct bt_log_entry *out, struct em_status *st);
enum em_code bt_cells_log_remove(struct em_datafile *file, int64_t seq, struct em_status *st);
/* This replica's log identity (32 hex digits), what other replicas record its entries by. */
#define BT_LOG_ID_SIZE 33
enum em_code bt_cells_log_identity(struct em_datafile *file, char id[BT_LOG_ID_SIZE],
                                   struct em_status *st);
/* The highest seq in the log now (0 when it is empty): entries queued later have higher
 * ones (seq is AUTOINCREMENT, never reused). */
enum em_code bt_cells_log_last_seq(struct em_datafile *file, int64_t *seq, struct em_status *st);
/* Whether an entry with a seq at or below upto (any, for -1) is still queued. */
enum em_code bt_cells_log_holds_upto(struct em_datafile *file, int64_t upto, bool *holds,
                                     struct em_status *st);

#endif
