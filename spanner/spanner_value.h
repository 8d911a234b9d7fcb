/*
 * spanner_value: GoogleSQL types, and values in their three forms.
 *
 * A type (struct sp_type) is a scalar code, ARRAY of a scalar code or of a STRUCT, or a
 * STRUCT, with the length limit of STRING(N)/BYTES(N) (SP_LEN_MAX for MAX, 0 where none
 * applies). A STRUCT's fields (names, "" when unnamed, and types, which may be STRUCTs or
 * ARRAYs themselves) live in an arena (spanner_sql_mem.h) that owns the type: STRUCTs only
 * exist in queries and their parameters, never in a table's column.
 *
 * Values travel as Spanner's JSON encoding on the wire (google.spanner.v1 Value: INT64
 * and NUMERIC as decimal strings, BYTES as base64, TIMESTAMP RFC 3339 in UTC with up to
 * nine fraction digits, DATE "YYYY-MM-DD", FLOAT64 as a number or "NaN"/"Infinity"/
 * "-Infinity", BOOL, STRING, JSON as a string of normalized JSON, ARRAY as a list) and are
 * stored in SQLite as follows. Each choice keeps SQLite's native comparison (=, <, ORDER BY,
 * indexes, MIN/MAX) equal to GoogleSQL's order, so the translator never wraps a column in a
 * function to compare it:
 *
 *   BOOL       INTEGER 0/1
 *   INT64      INTEGER
 *   FLOAT64    REAL (FLOAT32 rounded to float precision on write); NaN as the TEXT 'NaN'
 *              (SP_NAN_TEXT), since SQLite turns a NaN REAL into NULL. The exception to the
 *              rule above: TEXT sorts after every number in SQLite but NaN sorts first in
 *              GoogleSQL (NULL < NaN < -inf < ... < +inf) and is unequal to everything,
 *              itself included. So the translator wraps FLOAT comparisons with a NaN guard
 *              and orders FLOAT values (ORDER BY, key ranges) by sp_float_order(), a BLOB
 *              key in that order; GROUP BY, DISTINCT, set operations and primary keys use
 *              SQLite's equality, under which all NaNs are one value, as in Spanner
 *   NUMERIC    TEXT, fixed width and sortable: 'P' + 38 digits (value * 10^9) for >= 0,
 *              'N' + the nines' complement of the 38 digits for < 0, so memcmp order is
 *              numeric order; decoded on output, arithmetic by user functions
 *   STRING     TEXT (UTF-8; BINARY collation = GoogleSQL code point order)
 *   BYTES      BLOB
 *   DATE       TEXT 'YYYY-MM-DD' (years 0001-9999: lexical order = date order)
 *   TIMESTAMP  TEXT 'YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ', fixed width in UTC. Not int64
 *              nanoseconds: Spanner's range is 0001-01-01 to 9999-12-31, which int64 ns
 *              (1677-2262) cannot hold
 *   JSON       TEXT, normalized (cJSON's unformatted print)
 *   ARRAY<T>   TEXT holding the array in Spanner's JSON encoding above (elements checked
 *              and normalized on write)
 *   STRUCT     TEXT holding the JSON encoding Spanner gives it: the list of its field
 *              values, each in its own encoding (so ARRAY<STRUCT<a INT64, b STRING>> is
 *              '[["1","x"],["2",null]]'). Only queries make STRUCTs: no table stores one
 */
#ifndef SPANNER_VALUE_H
#define SPANNER_VALUE_H

#include "em_status.h"
#include "spanner_sql_mem.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

enum sp_type_code {
    SP_TYPE_UNKNOWN = 0, /* not yet known (an untyped NULL or parameter) */
    SP_TYPE_BOOL,
    SP_TYPE_INT64,
    SP_TYPE_FLOAT64,
    SP_TYPE_FLOAT32,
    SP_TYPE_NUMERIC,
    SP_TYPE_STRING,
    SP_TYPE_BYTES,
    SP_TYPE_DATE,
    SP_TYPE_TIMESTAMP,
    SP_TYPE_JSON,
    SP_TYPE_ARRAY,
    SP_TYPE_STRUCT,
};

#define SP_LEN_MAX (-1L)
/* Spanner's limits for STRING(MAX) (characters) and BYTES(MAX) (bytes): 10 MiB. */
#define SP_STRING_MAX_CHARS 2621440L
#define SP_BYTES_MAX        10485760L

struct sp_struct_type;

struct sp_type {
    enum sp_type_code code;
    enum sp_type_code element; /* for ARRAY */
    long length;               /* STRING(N)/BYTES(N): N, or SP_LEN_MAX; 0 otherwise */
    /* STRUCT, or ARRAY of STRUCT: the fields (NULL otherwise) */
    const struct sp_struct_type *struct_type;
};

struct sp_struct_field {
    const char *name; /* "" for an unnamed field */
    struct sp_type type;
};

struct sp_struct_type {
    int count;
    const struct sp_struct_field *fields;
};

/* How deeply STRUCTs and ARRAYs may nest in a type (paramTypes are client input). */
#define SP_TYPE_MAX_DEPTH 16

/* The type of an ARRAY's elements (its element code, length and STRUCT fields). */
struct sp_type sp_type_element(const struct sp_type *array);
/* Whether a value of the type is stored as JSON text (ARRAY, STRUCT). */
bool sp_type_is_composite(enum sp_type_code code);
/* A copy of type whose STRUCT fields (names included) live in arena; false when out of
 * memory. */
bool sp_type_copy(struct sp_arena *arena, const struct sp_type *type, struct sp_type *out);

/* "INT64", "ARRAY" ...: the TypeCode name of the REST API. */
const char *sp_type_code_name(enum sp_type_code code);
/* Parses a TypeCode name (case-sensitive, as the API sends it); SP_TYPE_UNKNOWN if none. */
enum sp_type_code sp_type_code_parse(const char *name);
/* The type as DDL and error messages write it: "STRING(MAX)", "ARRAY<INT64>", "INT64",
 * "STRUCT<a INT64, STRING>". With with_length false, STRING and BYTES are written without
 * their length. Truncated to size. */
void sp_type_format(const struct sp_type *type, bool with_length, char *out, size_t size);
/* Lengths and STRUCT field names ignored (GoogleSQL compares and coerces STRUCTs by their
 * field types, in order). */
bool sp_type_equal(const struct sp_type *a, const struct sp_type *b);
bool sp_type_is_numeric(enum sp_type_code code); /* INT64, FLOAT32, FLOAT64, NUMERIC */
/* The REST Type JSON: {"code":"ARRAY","arrayElementType":{"code":"INT64"}}, a STRUCT with
 * "structType":{"fields":[{"name":"a","type":{...}}, ...]} (no name when unnamed). */
cJSON *sp_type_to_json(const struct sp_type *type);
/* Reads a REST Type (paramTypes), its STRUCT fields into arena; INVALID_ARGUMENT naming
 * what for anything else (ARRAY of ARRAY, nesting deeper than SP_TYPE_MAX_DEPTH). */
enum em_code sp_type_from_json(const cJSON *json, const char *what, struct sp_arena *arena,
                               struct sp_type *out, struct em_status *st);

/* NUMERIC: value * 10^9 in a signed 128-bit integer; |value| < 10^38. */
typedef __int128 sp_numeric;
#define SP_NUMERIC_TEXT_MAX 48
#define SP_NUMERIC_KEY_LEN  39 /* 'P'/'N' + 38 digits */
/* Parses "[+-]digits[.digits][e[+-]digits]", rounding beyond 9 fraction digits half away
 * from zero; false when it is not a number or out of NUMERIC's range. */
bool sp_numeric_parse(const char *text, sp_numeric *out);
void sp_numeric_format(sp_numeric value, char out[SP_NUMERIC_TEXT_MAX]);
void sp_numeric_encode(sp_numeric value, char out[SP_NUMERIC_KEY_LEN + 1]);
bool sp_numeric_decode(const char *key, size_t len, sp_numeric *out);
bool sp_numeric_in_range(sp_numeric value);

/* TIMESTAMP and DATE as seconds/nanos since the Unix epoch and days since it. */
struct sp_timestamp {
    int64_t seconds;
    int32_t nanos; /* 0..999999999 */
};
#define SP_TIMESTAMP_KEY_LEN  30 /* YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ */
#define SP_TIMESTAMP_TEXT_MAX 40
#define SP_DATE_TEXT_LEN      10
/* RFC 3339 with a 'T' or a space, up to 9 fraction digits, 'Z' or an offset +hh:mm.
 * *missing_zone is set (and false returned) when the text has no zone at all. */
bool sp_timestamp_parse(const char *text, struct sp_timestamp *out, bool *missing_zone);
/* A TIMESTAMP's text as Spanner reads a literal, a cast or TIMESTAMP(text, zone): as
 * sp_timestamp_parse, or with a tz database name after a space ("2020-01-01 10:00:00
 * Europe/Paris"), or with no zone (read in the zone named zone, NULL for Spanner's default
 * zone, America/Los_Angeles). */
bool sp_timestamp_parse_text(const char *text, const char *zone, struct sp_timestamp *out);
/* Spanner's default time zone. */
#define SP_TZ_DEFAULT "America/Los_Angeles"
void sp_timestamp_encode(const struct sp_timestamp *ts, char out[SP_TIMESTAMP_KEY_LEN + 1]);
/* RFC 3339 UTC with trailing fraction zeros dropped ("2020-01-02T03:04:05.5Z"). */
void sp_timestamp_format(const struct sp_timestamp *ts, char out[SP_TIMESTAMP_TEXT_MAX]);
bool sp_date_parse(const char *text, int64_t *days);
void sp_date_format(int64_t days, char out[SP_DATE_TEXT_LEN + 1]);
int64_t sp_days_from_civil(int64_t year, unsigned month, unsigned day);
void sp_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day);
/* ISO 8601 weeks (Monday to Sunday; week 1 holds the year's first Thursday): the ISO year
 * of a day and its week in it (1 to 53), and the Monday that starts an ISO year. */
int64_t sp_iso_year(int64_t days, unsigned *week);
int64_t sp_iso_year_start(int64_t iso_year);

/* The characters of UTF-8 text (its bytes that do not continue a character): a STRING's
 * length as Spanner counts it. */
size_t sp_utf8_chars(const char *text, size_t len);

/* NaN's storage form (see FLOAT64 above), and the conversions every FLOAT64 user function
 * reads and returns its values through. */
#define SP_NAN_TEXT "NaN"
bool sp_value_is_nan(sqlite3_value *value);
/* A FLOAT64's double: NaN for SP_NAN_TEXT. */
double sp_value_float(sqlite3_value *value);
/* Returns d as a FLOAT64 result (SP_NAN_TEXT for a NaN). */
void sp_result_float(sqlite3_context *ctx, double d);

/* One value in its SQLite storage form (see the table above). */
struct sp_stored {
    int kind; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB */
    int64_t i;
    double d;
    char *data; /* TEXT (NUL-terminated) or BLOB, malloc'd */
    size_t len;
};

/* Reads a JSON value of the given type into its storage form: INVALID_ARGUMENT naming
 * `what` (a parameter or column) when the JSON does not hold a value of that type, and
 * for STRING(N)/BYTES(N) when it is longer than N. stored->data is the caller's to free
 * with sp_stored_clear(). */
enum em_code sp_value_from_json(const struct sp_type *type, const cJSON *json, const char *what,
                                struct sp_stored *stored, struct em_status *st);
void sp_stored_clear(struct sp_stored *stored);
int sp_stored_bind(sqlite3_stmt *stmt, int index, const struct sp_stored *stored);

/* The JSON encoding of a stored value read back from SQLite; NULL on out of memory or
 * when the stored value does not have the type's storage form (a corrupt database). */
cJSON *sp_value_to_json(const struct sp_type *type, sqlite3_value *value);

#endif
