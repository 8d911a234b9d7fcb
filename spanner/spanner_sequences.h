/*
 * spanner_sequences: the counters of a database's sequences (CREATE SEQUENCE), while its
 * file is open.
 *
 * A counter is kept in the file's "$sequences" table (SP_SEQUENCES_TABLE_SQL): one row per
 * sequence drawn from, with the next counter. The open file's side keeps the counters in
 * use in memory (struct sp_counters): draws move them on there, and the writer saves every
 * counter that moved at the end of each job (sp_counters_save, spanner_data.c), whether
 * the job succeeded or not, in the same transaction as the job's rows. So a value in a
 * committed row is never drawn again, even after kill -9, and a draw is never taken back:
 * as in Spanner, a rolled-back transaction leaves a gap, not a value drawn twice. The
 * memory side is dropped when the schema changes (ALTER SEQUENCE may restart a counter:
 * the DDL deletes its row) and read back from the file.
 *
 * Only the writer thread touches it, as everything of an open file.
 */
#ifndef SPANNER_SEQUENCES_H
#define SPANNER_SEQUENCES_H

#include "em_status.h"
#include "spanner_sql_functions.h"

#include <sqlite3.h>

struct sp_schema;

struct sp_counters {
    sqlite3 *sqlite;
    struct sp_schema *const *schema;  /* the database's current schema */
    struct sp_sequence_source source; /* what the SQL functions draw through */
    struct sp_counter *items;
    int count, cap;
};

/* Creates the counters table if missing and readies c (sqlite and *schema outlive it). */
enum em_code sp_counters_open(struct sp_counters *c, sqlite3 *sqlite,
                              struct sp_schema *const *schema, struct em_status *st);
/* Writes every counter that moved since the last save. */
enum em_code sp_counters_save(struct sp_counters *c, struct em_status *st);
/* Forgets the counters held in memory (they are read back from the file when needed). */
void sp_counters_clear(struct sp_counters *c);
void sp_counters_close(struct sp_counters *c);

#endif
