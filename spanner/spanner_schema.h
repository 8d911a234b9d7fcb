/*
 * spanner_schema: a database's schema (tables, indexes, views) as Spanner's DDL defines
 * it, printed back in Spanner's canonical getDdl form and turned into the SQLite schema
 * that stores its rows.
 *
 * The model. A schema owns every string and array through its arena. Tables and indexes
 * are never edited in place: a DDL statement builds a changed copy and swaps the pointer
 * once every check passed (spanner_ddl.c), so a failed statement leaves the schema as it
 * was. Objects print in the order they were created (seq), as Spanner's getDdl does.
 *
 * The SQLite side (sp_schema_sqlite_*). A table becomes one SQLite table with the same
 * (case-insensitive) name and columns, PRIMARY KEY in the declared order with DESC parts
 * (WITHOUT ROWID when every key column is NOT NULL; a nullable key column needs a rowid
 * table, since WITHOUT ROWID forbids NULL keys). Everything else Spanner checks on write is
 * a trigger per table, regenerated after every DDL statement, raising through the
 * sp_raise() user function with Spanner's code and message: NOT NULL of non-key columns,
 * CHECK constraints, interleaving (a child needs its parent row; deleting a parent cascades
 * or, with NO ACTION, fails while children exist) and foreign keys. Triggers rather than
 * SQLite constraints because SQLite cannot ALTER a constraint, and Spanner can. DEFAULT
 * values are not in SQLite either: the writer fills them (see spanner_sql_translate.h).
 * An index becomes a SQLite index (UNIQUE, DESC parts, NULL_FILTERED as a partial index).
 */
#ifndef SPANNER_SCHEMA_H
#define SPANNER_SCHEMA_H

#include "em_status.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

struct sp_column {
    const char *name;
    struct sp_type type;
    bool not_null;
    const char *default_text;   /* the DEFAULT expression as written, or NULL */
    const char *generated_text; /* AS (expr) STORED: the expression, or NULL */
    bool allow_commit_timestamp;
};

struct sp_key_part {
    const char *column;
    bool desc;
};

struct sp_foreign_key {
    const char *name; /* NULL when unnamed */
    const char **columns;
    const char *ref_table;
    const char **ref_columns;
    int ncolumns;
    bool cascade; /* ON DELETE CASCADE (else NO ACTION) */
};

struct sp_check {
    const char *name; /* NULL when unnamed */
    const char *text; /* the expression as written */
};

struct sp_table {
    const char *name;
    struct sp_column *columns;
    int ncolumns;
    struct sp_key_part *key;
    int nkey;
    const char *parent;              /* INTERLEAVE IN PARENT, or NULL */
    bool cascade;                    /* ON DELETE CASCADE (else NO ACTION) */
    const char *row_deletion_policy; /* "OLDER_THAN(col, INTERVAL n DAY)", or NULL */
    struct sp_foreign_key *fks;
    int nfks;
    struct sp_check *checks;
    int nchecks;
    long seq;
};

struct sp_index {
    const char *name;
    const char *table;
    bool unique, null_filtered;
    struct sp_key_part *key;
    int nkey;
    const char **storing;
    int nstoring;
    const char *interleave_in; /* or NULL */
    long seq;
};

struct sp_view {
    const char *name;
    const char *text; /* the query as written */
    long seq;
};

/* CREATE SEQUENCE: Spanner's one kind, bit_reversed_positive. A draw takes the counter
 * (start_with_counter first, 1 by default), returns its 63 low bits reversed (a positive
 * INT64) and moves the counter on; values in the skip range are passed over. The counter
 * lives in the database's file (spanner_data.c), not here. */
/* Where the counters are: one row per sequence that has been drawn from (name in lower
 * case, the next counter). Not row data: no versions, no triggers. */
#define SP_SEQUENCES_TABLE_SQL                                                                     \
    "CREATE TABLE IF NOT EXISTS \"$sequences\" (name TEXT PRIMARY KEY, next INTEGER NOT NULL) "    \
    "WITHOUT ROWID;"

struct sp_sequence {
    const char *name;
    bool clauses;  /* written BIT_REVERSED_POSITIVE [SKIP RANGE a, b] [START COUNTER WITH n]
                      rather than OPTIONS (...): printed back the same way */
    bool has_skip; /* skip_range_min and skip_range_max (set together) */
    int64_t skip_min, skip_max;
    int64_t start_with_counter; /* 0: not set (1) */
    long seq;
};

struct sp_schema {
    struct sp_arena arena;
    struct sp_schema *base; /* the schema this one was cloned from: its memory is shared */
    int refs;
    struct sp_table **tables;
    int ntables;
    struct sp_index **indexes;
    int nindexes;
    struct sp_view **views;
    int nviews;
    struct sp_sequence **sequences;
    int nsequences;
    long next_seq;
    /* ALTER DATABASE ... SET OPTIONS (version_retention_period = '...'): the database ID
     * the statement named, the period as written, and in ns; NULL and 0 when not set (the
     * default, SP_DEFAULT_RETENTION_NS) */
    const char *options_database;
    const char *version_retention;
    int64_t version_retention_ns;
};

/* Spanner's version_retention_period: 1 h by default, at least 1 h, at most 7 days. */
#define SP_DEFAULT_RETENTION_NS (3600 * 1000000000LL)
#define SP_MAX_RETENTION_NS     (7 * 24 * SP_DEFAULT_RETENTION_NS)

/* How long the schema's database keeps row versions. */
int64_t sp_schema_version_retention(const struct sp_schema *schema);
/* '<count><unit>' (unit s, m, h or d) between 1 hour and 7 days, into *ns; false when
 * it is not such a period. */
bool sp_retention_parse(const char *text, int64_t *ns);
/* A retention period as Spanner shows it: "7d", "36h", "90m", "5400s" (the largest unit
 * that divides it). */
void sp_retention_text(int64_t ns, char out[32]);

struct sp_schema *sp_schema_new(void);
/* A copy to apply DDL to, sharing the unchanged tables, indexes and views with schema
 * (which stays alive, reference-counted, as long as the copy does). Applying a statement
 * with its SQLite script atomically: clone, sp_ddl_apply() to the clone, run the script in
 * a savepoint, then keep the clone (free the old schema) or, if the script failed, free the
 * clone and roll back. NULL on out of memory. */
struct sp_schema *sp_schema_clone(struct sp_schema *schema);
void sp_schema_free(struct sp_schema *schema);

/* Lookups: names compare case-insensitively, as in Spanner. NULL when absent. */
struct sp_table *sp_schema_table(const struct sp_schema *schema, const char *name);
struct sp_index *sp_schema_index(const struct sp_schema *schema, const char *name);
struct sp_view *sp_schema_view(const struct sp_schema *schema, const char *name);
struct sp_sequence *sp_schema_sequence(const struct sp_schema *schema, const char *name);
const struct sp_column *sp_table_column(const struct sp_table *table, const char *name);
int sp_table_column_index(const struct sp_table *table, const char *name);
bool sp_table_is_key(const struct sp_table *table, const char *column);

/* A sequence's n-th value: counter's 63 low bits in reverse order (counter 1 is 2^62). */
int64_t sp_sequence_value(int64_t counter);

/* getDdl: the schema's statements in Spanner's canonical formatting: the database's
 * options, then the sequences (which column defaults use), then the rest in creation order.
 * Returns a malloc'd array of *count malloc'd strings (free with sp_strings_free), NULL on
 * out of memory. */
char **sp_schema_statements(const struct sp_schema *schema, int *count);
void sp_strings_free(char **strings, int count);

/* The SQLite statements that create the storage for one table or index. */
void sp_schema_sqlite_table(const struct sp_table *table, struct sp_buf *out);
void sp_schema_sqlite_index(const struct sp_index *index, struct sp_buf *out);
/* Drops and recreates every constraint trigger of the schema (see the top comment);
 * CHECK expressions are translated here, so this can fail with the translator's errors. */
enum em_code sp_schema_sqlite_triggers(const struct sp_schema *schema, struct sp_buf *out,
                                       struct em_status *st);
/* The names of every trigger a table may have, to drop them when it goes away. */
void sp_schema_sqlite_drop_triggers(const char *table, struct sp_buf *out);

/* Row versions, for reads at a past timestamp (stale reads, read-only transactions). Each
 * table T has a table "T$versions" that its triggers (regenerated with the others) append
 * to in commit order: the old row of every update and delete, and a row-less marker for
 * every inserted key, stamped "$until" = the commit's timestamp (sp_commit_ns()). The
 * current rows stay where they are, so strong reads and writes see no difference.
 * sp_schema_versions_name writes "T$versions" (unquoted). sp_schema_sqlite_versions
 * creates the table (IF NOT EXISTS: also for a file made before versions were kept);
 * _versions_column adds or drops a column with the table's (verb "ADD COLUMN" with the
 * SQLite type, or "DROP COLUMN" with NULL); _drop_versions drops it with the table.
 * sp_schema_sqlite_table_at writes a derived table, "(SELECT ...)", of T's rows as they
 * were at read_ns (its columns named as T's), and sp_schema_sqlite_prune_versions the
 * statement that forgets versions older than before_ns. */
#define SP_VERSIONS_NAME_MAX 300 /* holds "<table>$versions$key" (names: 128 chars at most) */
void sp_schema_versions_name(const char *table, char out[SP_VERSIONS_NAME_MAX]);
void sp_schema_sqlite_versions(const struct sp_table *table, struct sp_buf *out);
void sp_schema_sqlite_versions_column(const char *table, const char *verb, const char *column,
                                      const char *type, struct sp_buf *out);
void sp_schema_sqlite_drop_versions(const char *table, struct sp_buf *out);
void sp_schema_sqlite_table_at(const struct sp_table *table, int64_t read_ns, struct sp_buf *out);
void sp_schema_sqlite_prune_versions(const struct sp_table *table, int64_t before_ns,
                                     struct sp_buf *out);
/* The statements that put T's rows back as they were at at_ns and forget the versions
 * after it (a restore to a backup's versionTime); to run with T's triggers dropped. */
void sp_schema_sqlite_rewind(const struct sp_table *table, int64_t at_ns, struct sp_buf *out);

#endif
