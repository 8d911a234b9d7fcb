/*
 * spanner_sql_functions: the SQLite user functions the translated SQL calls, and the one
 * place that turns a SQLite error into a Spanner status.
 *
 * Every function is named sp_* and reports a GoogleSQL error as "CODE: message" (for
 * example "OUT_OF_RANGE: int64 overflow: 9223372036854775807 + 1"); sp_sql_error() reads
 * that prefix back. The constraint triggers of spanner_schema use the same format through
 * sp_raise(). A statement beyond one of SQLite's limits (nesting, arguments, columns) is
 * INVALID_ARGUMENT naming the limit. Any other SQLite error without the prefix
 * is an emulator defect: logged, and answered INTERNAL without SQLite's text.
 */
#ifndef SPANNER_SQL_FUNCTIONS_H
#define SPANNER_SQL_FUNCTIONS_H

#include "em_status.h"
#include "spanner_value.h"

#include <sqlite3.h>

/* The values a statement's GET_NEXT_SEQUENCE_VALUE() calls returned, in call order:
 * recorded on its first run, returned again when it runs again (as GENERATE_UUID's seed
 * makes its UUIDs), since a counter, unlike a seed, moves on. */
struct sp_sequence_draws {
    int64_t *values;
    int count, cap;
};
void sp_sequence_draws_free(struct sp_sequence_draws *draws);

/* Where the sequences' counters are (spanner_data.c). draw: the sequence's next value;
 * state: its counter (GET_INTERNAL_SEQUENCE_STATE), *drawn false when never drawn from.
 * Both answer false with a "CODE: message" error in error. */
struct sp_sequence_source {
    bool (*draw)(void *arg, const char *name, int64_t *value, char *error, size_t size);
    bool (*state)(void *arg, const char *name, int64_t *counter, bool *drawn, char *error,
                  size_t size);
    void *arg;
};

/* What a statement's CURRENT_TIMESTAMP() and GENERATE_UUID() return. When seeded,
 * GENERATE_UUID() returns the uuid_next-th UUID of the sequence seed fixes (a hash of both;
 * uuid_next then grows), so that a statement run again with the same seed returns the same
 * UUIDs: a read-write transaction's DML runs again at its later statements and at the
 * commit (spanner_exec.c), and must write what its first run returned. Else they are
 * random. The caller sets now once per request (from the emulator clock) before running
 * the statement, so every row, and every statement of a request, sees the same time. */
struct sp_sql_clock {
    struct sp_timestamp now;
    bool seeded;
    unsigned char seed[16];
    uint64_t uuid_next;
    struct sp_sequence_source *sequences; /* NULL: no sequence can be drawn from */
    /* GET_NEXT_SEQUENCE_VALUE() returns draws' values in order while it has some left
     * (draws_next: the next one), then draws new ones and appends them; NULL: no record */
    struct sp_sequence_draws *draws;
    int draws_next;
};

/* SQLite's limit on one value or one stored row of a database's connection: far above a
 * Spanner value's 10 MiB and a row of several such, low enough that a statement building a
 * huge string (STRING_AGG of millions of rows) fails with OUT_OF_RANGE instead of taking
 * the memory of the process. */
#define SP_SQL_LENGTH_MAX (128 * 1024 * 1024)

/* Registers every sp_* function on db and sets its SP_SQL_LENGTH_MAX; clock must outlive
 * db. */
int sp_sql_functions_register(sqlite3 *db, struct sp_sql_clock *clock);

/* A deterministic scalar user function of a group, and the registration of a table of
 * them (SQLITE_OK, or the first error). */
struct sp_sql_scalar {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
};
int sp_sql_register_scalars(sqlite3 *db, const struct sp_sql_scalar *functions, size_t count);

/* The registration of the function groups that live in their own files (called by
 * sp_sql_functions_register): spanner_sql_text.c (regular expressions, SPLIT, NORMALIZE),
 * spanner_sql_format.c (FORMAT) and spanner_sql_time.c (truncation, formatting and parsing
 * of dates and timestamps). */
int sp_sql_text_functions_register(sqlite3 *db);
int sp_sql_format_register(sqlite3 *db);

/* The type code sp_format receives for each value: the type's code, and an ARRAY's
 * element code in the bits above 8. */
#define SP_FORMAT_CODE(type)    ((int)(type).code | ((int)(type).element << 8))
#define SP_FORMAT_TYPE(code)    ((enum sp_type_code)((code)&0xff))
#define SP_FORMAT_ELEMENT(code) ((enum sp_type_code)(((code) >> 8) & 0xff))

/* FORMAT's pattern, read as the translator checks it: the number of values it formats,
 * with the type each wants in types[0..max) (SP_TYPE_INT64, SP_TYPE_FLOAT64, SP_TYPE_STRING,
 * or SP_TYPE_UNKNOWN for %t/%T: any), or -1 for an invalid pattern with *bad the offending
 * conversion character ('%' for a lone one). */
int sp_format_pattern(const char *pattern, enum sp_type_code *types, int max, char *bad);
/* A type as FORMAT's errors name it: "FLOAT" for FLOAT32, and "integer" for an expected
 * INT64. */
const char *sp_format_type_name(enum sp_type_code code, bool expected);
int sp_sql_time_functions_register(sqlite3 *db);
/* spanner_sql_strings_arrays.c: LPAD/RPAD/REPEAT/REVERSE, digests, base64 and hex, and the
 * ARRAY_* functions. */
int sp_sql_strings_arrays_register(sqlite3 *db);

/* spanner_sql_codes.c: code points, SOUNDEX, base32, BIT_REVERSE. */
int sp_sql_codes_register(sqlite3 *db);

/* spanner_sql_json.c: JSON_VALUE/QUERY and their arrays, JSON_TYPE, PARSE_JSON, and the
 * conversions of JSON to SQL values. */
int sp_sql_json_functions_register(sqlite3 *db);
/* spanner_sql_json_edit.c: JSON_SET, JSON_ARRAY_APPEND/INSERT, JSON_REMOVE, JSON_STRIP_NULLS. */
int sp_sql_json_edit_register(sqlite3 *db);

/* spanner_sql_net.c: the NET.* functions (hosts and domains of URLs, IP addresses). */
int sp_sql_net_register(sqlite3 *db);

/* The status for a failed sqlite3_step/prepare/exec (rc) on db. */
enum em_code sp_sql_error(sqlite3 *db, int rc, struct em_status *st);

#endif
