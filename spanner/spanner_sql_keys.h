/*
 * spanner_sql_keys: which rows of its table a SQL statement can read, when its text pins
 * them by primary key; what a read-write transaction records of a query or DML instead of
 * the whole table (spanner_txn.h).
 *
 * A statement is narrowed when it reads one table and nothing else of it:
 *
 *   SELECT ... FROM T [AS t] WHERE c1 AND c2 ...     (no join, set operation, WITH, view)
 *   UPDATE T [AS t] SET ... WHERE c1 AND c2 ...
 *   DELETE [FROM] T [AS t] WHERE c1 AND c2 ...
 *
 * without a subquery anywhere, of a table without a foreign key to itself (its triggers
 * would read other rows of it). Of the conjuncts, those that pin a key column are used:
 * `k = v` (either side), `k IN (v, ...)`, `k IN UNNEST(@array)` and `k IN UNNEST([v, ...])`,
 * where v is a parameter of the column's type or a literal of it (an integer for INT64, a
 * string for STRING, TRUE/FALSE for BOOL). The pinned columns that form a prefix of the key
 * give the spans: one per combination of their values, each that key prefix. Ignoring the
 * other conjuncts only widens what is recorded (a row the statement selects satisfies
 * every conjunct), so a conflict is never missed. Values are converted as parameters are
 * bound (sp_value_from_json), so the spans hold the stored forms the rows compare with.
 *
 *   INSERT INTO T ... VALUES (...)  (no SELECT, no subquery): reads nothing of T; it is
 *   blind, as a mutation is (a row inserted twice fails when the commit replays it).
 *   INSERT INTO T ... SELECT ... FROM S WHERE ...  (S another table, the query narrowed as
 *   above): blind on T too, S read in the key prefixes the WHERE pins (an "also" below),
 *   or whole.
 *
 * Also narrowed, besides the statement's table, where interleaving fixes which rows are
 * read (up to SP_SQL_KEYS_ALSO_MAX tables; beyond, they are read whole):
 *
 *   INSERT ... VALUES into a table interleaved IN PARENT P: P, read at the rows' parent
 *   keys (each row's first key columns, given as values as above; the combinations of
 *   each column's values, a superset of the rows' keys), where it checks they exist;
 *   DELETE narrowed to spans: every table interleaved IN PARENT under T (at any depth),
 *   read in the same key prefixes, whose rows the delete cascades to or looks for.
 *
 * Anything else (no key prefix pinned, OR at the top, a function of a key column, a range,
 * a parameter of another type) reads its tables whole, as SQLite's authorizer listed them.
 * Table hints are ignored: an index changes how rows are found, not which.
 */
#ifndef SPANNER_SQL_KEYS_H
#define SPANNER_SQL_KEYS_H

#include "em_status.h"
#include "spanner_keyset.h"
#include "spanner_schema.h"
#include "spanner_sql_translate.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

enum sp_sql_keys_kind {
    SP_SQL_KEYS_WHOLE, /* its tables are read whole */
    SP_SQL_KEYS_SPANS, /* `table` is read only in the spans of sp_sql_keys_spans */
    SP_SQL_KEYS_BLIND, /* an INSERT that reads nothing of `table` */
};

struct sp_sql_keys;

#define SP_SQL_KEYS_ALSO_MAX 16

/* What statement sql (translated as tr) reads of its table; *out is NULL for WHOLE (a
 * statement the parser refuses, too). Fails only when out of memory. */
enum em_code sp_sql_keys_plan(const struct sp_schema *schema, const char *sql,
                              const struct sp_translation *tr, struct sp_sql_keys **out,
                              struct em_status *st);
void sp_sql_keys_free(struct sp_sql_keys *keys);

/* The kind and table (the schema's spelling) of a plan; WHOLE and NULL for NULL. */
enum sp_sql_keys_kind sp_sql_keys_kind(const struct sp_sql_keys *keys);
const char *sp_sql_keys_table(const struct sp_sql_keys *keys);

/* The spans a SPANS plan read with these parameter values (the request's params); false
 * when they cannot be computed (a value that does not convert, too many combinations): then
 * the table counts as read whole. *out is the caller's to clear. */
bool sp_sql_keys_spans(const struct sp_sql_keys *keys, const cJSON *params,
                       struct sp_key_spans *out);

/* The other tables the plan narrows (see the top): how many, the i-th's name (the
 * schema's spelling) and its spans with these parameters (false as above: then that
 * table counts as read whole). */
int sp_sql_keys_also_count(const struct sp_sql_keys *keys);
const char *sp_sql_keys_also_table(const struct sp_sql_keys *keys, int i);
bool sp_sql_keys_also_spans(const struct sp_sql_keys *keys, int i, const cJSON *params,
                            struct sp_key_spans *out);

#endif
