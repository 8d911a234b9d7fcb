/*
 * spanner_json_value: Spanner's JSON data type: reading JSON text with its numbers kept
 * exact, the normalized text Spanner stores and returns, and how a number is written.
 *
 * Numbers, as Spanner keeps them: an integer that fits INT64 or UINT64 stays that integer
 * (12345678901234567890 is not rounded to a double); any other number is a double,
 * written in its shortest round-trip form, in plain notation with ".0" when it is whole
 * and below 10^15 ("100.0", "0.001"), in exponent notation beyond ("1e+16", "1e-07").
 * A number none of those holds exactly (123456789012345678901, 1.00000000000000000001,
 * 1e400) is refused, as Spanner refuses it ("cannot round-trip"), not rounded. In a parsed tree
 * every number is a cJSON_Raw item holding that text, so printing the tree writes them unchanged
 * (cJSON's own numbers are doubles).
 */
#ifndef SPANNER_JSON_VALUE_H
#define SPANNER_JSON_VALUE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define SP_JSON_NUMBER_MAX 48 /* the longest number text, NUL included */

/* The tree of len bytes of JSON text, numbers as cJSON_Raw items in Spanner's form; NULL
 * when the text is not JSON, a number is refused (above), or out of memory. */
cJSON *sp_json_parse(const char *text, size_t len);
/* The same, but a number that does not round-trip through a FLOAT64 is rounded to one
 * instead of refused (PARSE_JSON's wide_number_mode => 'round'). */
cJSON *sp_json_parse_rounding(const char *text, size_t len);

/* JSON's normalized text, as Spanner stores and returns it: unformatted, numbers as
 * above, object keys sorted (by byte order) with a repeated key keeping its first value.
 * NULL when text is not JSON (or out of memory); malloc'd. */
char *sp_json_normalize(const char *text, size_t len);
/* sp_json_normalize with sp_json_parse_rounding's numbers. */
char *sp_json_normalize_rounding(const char *text, size_t len);

/* Spanner's text of the number in len bytes of text (JSON's number syntax); false when no
 * INT64, UINT64 or double holds it exactly (Spanner refuses such a number, not rounds it). */
bool sp_json_number_text(const char *text, size_t len, char out[SP_JSON_NUMBER_MAX]);

/* A double as Spanner writes it in JSON (finite d only). */
void sp_json_format_double(double d, char out[SP_JSON_NUMBER_MAX]);

/* Whether a parsed node is a number (a cJSON_Raw number item). */
bool sp_json_is_number(const cJSON *node);

/* JSON_TYPE's name of a node: "object", "array", "string", "number", "boolean", "null". */
const char *sp_json_type_name(const cJSON *node);

#endif
