/*
 * spanner_keyset: a KeySet (google.spanner.v1.KeySet: keys, ranges with closed or open
 * bounds, all) over a table's or an index's key, as one SQLite condition.
 *
 * Keys and bounds are lists of values in Spanner's JSON encoding, each a prefix of the key
 * (a key of a two-part key with one value matches every row with that first part). The
 * condition compares the stored key columns in key order, DESC parts included:
 *
 *   key = p      k1 IS ?1 AND k2 IS ?2 ...               (prefix of p's length)
 *   key > p      (k1 >' ?1) OR (k1 IS ?1 AND k2 >' ?2) ...  (>' is < for a DESC part)
 *
 * A FLOAT64 key part compares and orders through sp_float_order() on both sides, so a NaN
 * key (stored as a string) sorts first, as in Spanner.
 *   startClosed p: key > p OR key = p;  startOpen p: key > p  (and ends the other way)
 *
 * The values are bound as parameters (their storage forms, spanner_value.h) numbered from
 * first_param, so the SQL text depends only on the KeySet's shape and prepared statements
 * are reused. Errors are INVALID_ARGUMENT naming the problem (a key longer than the key, a
 * value of the wrong type, a range without bounds).
 *
 * The same KeySet can also be kept as key spans (sp_keyset_spans): what a read-write
 * transaction read, matched later against the keys of the rows other transactions wrote
 * (spanner_txn.h). A key is a span from itself to itself; every span compares key
 * prefixes exactly as the condition above does, so a row is in a span when the read's
 * condition would have selected it (or, where NULLs make SQL's answer unknown, is assumed
 * to be: an extra abort, never a missed conflict).
 */
#ifndef SPANNER_KEYSET_H
#define SPANNER_KEYSET_H

#include "em_status.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <cjson/cJSON.h>

struct sp_key_column {
    const char *name;
    struct sp_type type;
    bool desc;
};

/* Values to bind, in parameter order. */
struct sp_binds {
    struct sp_stored *values;
    int count, cap;
};

void sp_binds_clear(struct sp_binds *binds);
/* Converts json to the column's storage form and appends it; its parameter number is
 * binds->count after the call. */
enum em_code sp_binds_add(struct sp_binds *binds, const struct sp_type *type, const cJSON *json,
                          const char *what, struct em_status *st);
/* Binds every value (parameter i+1 is values[i]). */
int sp_binds_apply(const struct sp_binds *binds, sqlite3_stmt *stmt);

/* Appends the condition of key_set to sql ("1" for all, "0" for an empty set). Each of its
 * keys must have key_parts parts, as KeySet.keys asks (a primary key's, or the columns an
 * index names, which key, nkey, ends with the primary key's); its ranges may be prefixes. */
enum em_code sp_keyset_where(const cJSON *key_set, const struct sp_key_column *key, int nkey,
                             int key_parts, struct sp_buf *sql, struct sp_binds *binds,
                             struct em_status *st);
/* A range of keys: start and end are key prefixes (values in storage form, in key order). */
struct sp_key_span {
    struct sp_stored *start, *end;
    int nstart, nend;
    bool start_open, end_open;
};

/* A KeySet as spans: all (every row), or count spans. */
struct sp_key_spans {
    bool all;
    struct sp_key_span *spans;
    int count;
};

void sp_key_span_clear(struct sp_key_span *span);
void sp_key_spans_clear(struct sp_key_spans *spans);
/* Converts key_set over key (its errors are sp_keyset_where's). */
enum em_code sp_keyset_spans(const cJSON *key_set, const struct sp_key_column *key, int nkey,
                             struct sp_key_spans *out, struct em_status *st);
/* A deep copy of span into *out; false on out of memory. */
bool sp_key_span_copy(const struct sp_key_span *span, struct sp_key_span *out);
/* Whether the row key row[0..nrow) (storage forms, in key order; desc[i]: part i is DESC)
 * lies in span, or may (a NULL part the comparison cannot order). */
bool sp_key_span_covers(const struct sp_key_span *span, const bool *desc,
                        const struct sp_stored *row, int nrow);

/* The ORDER BY list of the key ("k1", "k2" DESC). */
void sp_keyset_order(const struct sp_key_column *key, int nkey, struct sp_buf *sql);

#endif
