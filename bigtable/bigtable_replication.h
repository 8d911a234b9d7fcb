/*
 * bigtable_replication: how a write reaches the other clusters' replicas of its table,
 * with a delay (--bigtable-replication-delay, seconds of emulator time, default 0: at
 * once) and catch-up for a replica that could not take writes for a while.
 *
 * The serving replica S applies a write first (the call's answer depends on it alone);
 * then, for every other replica R of the table:
 *   - delay 0 and nothing queued by S for R: the write is applied to R at once; if R
 *     cannot take it now (its key refused, KMS unreachable past grace, its data deleted)
 *     it is queued for R instead;
 *   - otherwise it is queued for R, due at the call's time + the delay.
 * The queue is the replication log of S (table replication_log in S's own encrypted
 * file, bigtable_cells.h: so queued cells are under S's key and never on disk in
 * plaintext): one entry per write and target, in order (seq), with its due time and the
 * rows' mutations encoded (bt_replication_encode; server times already resolved, so a
 * late apply writes the cells the served write did).
 *
 * Drain (bt_replication_drain: the service's tick, every second and on clock:advance,
 * and after every key check round): for every table and every pair (S, R), S's entries
 * for R that are due are applied to R in order, each removed from S's log once R has
 * committed it; the first entry R cannot take (or not due yet) stops R's queue, so order
 * is kept, until a later drain: a replica that missed writes while its cluster was
 * disabled receives them when it comes back. An entry is applied once: R records, in
 * the transaction that applies it, the last seq it took from S's log (known by the log's
 * random identity, so that S made again under its name starts afresh), and skips an entry
 * at or below it (a crash between R's commit and the removal from S's log would otherwise
 * apply it twice: harmless for setCell and the deletes, not for an AddToCell of a sum). A replica
 * of S that cannot be opened (S's own key refused) keeps its log until it can. A drain is skipped
 * while no log may hold anything (an in-memory flag, set at start-up and on every queued write).
 *
 * Queued writes a replica has not received make it stale, as Bigtable's eventual
 * consistency allows: a read served by R does not see them yet.
 */
#ifndef BIGTABLE_REPLICATION_H
#define BIGTABLE_REPLICATION_H

#include "bigtable_cells.h"
#include "em_status.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bt_admin;
struct bt_replicas;
struct bt_route;

struct bt_replication {
    struct bt_admin *admin;
    struct bt_replicas *replicas;
    int64_t delay_ns;
    atomic_bool backlog; /* a log may hold entries: the next drain looks */
};

void bt_replication_init(struct bt_replication *repl, struct bt_admin *admin,
                         struct bt_replicas *replicas, int64_t delay_ns);

/* Sends rows, served by replica served at now, to every other replica of route. Failures
 * to queue are logged (the served write stands, as Bigtable's acknowledgement does). */
void bt_replication_send(struct bt_replication *repl, const struct bt_route *route,
                         const char *served, const struct bt_row_mutations *rows, size_t count,
                         int64_t now);

/* Applies the queued writes due by now (see above). */
void bt_replication_drain(struct bt_replication *repl, int64_t now);
/* Logs may hold entries again (a table undeleted with writes still queued): the next
 * drain looks, and no write goes straight past them meanwhile. */
void bt_replication_wake(struct bt_replication *repl);

/* --- the entry format (exposed for tests) --- */

/* Encodes rows into *out (malloc'd). */
enum em_code bt_replication_encode(const struct bt_row_mutations *rows, size_t count, uint8_t **out,
                                   size_t *len, struct em_status *st);

/* Decoded rows: views into the entry, which must outlive them. */
struct bt_replication_rows {
    struct bt_row_mutations *rows;
    struct bt_mutations *mutations;
    size_t count;
};
/* INTERNAL when the entry is not one bt_replication_encode wrote. */
enum em_code bt_replication_decode(const uint8_t *entry, size_t len,
                                   struct bt_replication_rows *out, struct em_status *st);
void bt_replication_rows_free(struct bt_replication_rows *rows);

#endif
