/*
 * em_filter: Google's filter languages, evaluated against a resource's JSON.
 *
 * One parser serves the list filters of AIP-160 (`labels.env = prod AND state = ENABLED`),
 * the Cloud Logging query language subset gcloud sends (`protoPayload.methodName="Encrypt"
 * timestamp>="2026-01-01T00:00:00Z" severity>=WARNING`) and Pub/Sub subscription filters
 * (`attributes.kind = "a" AND hasPrefix(attributes.region, "eu")`).
 *
 * Grammar (precedence: NOT > OR > AND, as both languages define it):
 *   expr    := seq { "AND" seq }
 *   seq     := factor { factor }            juxtaposition means AND
 *   factor  := term { "OR" term }
 *   term    := { "NOT" | "-" } simple       "-" negates when a word, '(' or quote follows it
 *   simple  := "(" expr ")" | function | comparison | value
 *   comparison := path op value             op: = != < <= > >= :   (=~ and !~ are rejected)
 *   function := name "(" arg { "," arg } ")"   hasPrefix(path, "s"), hasSuffix(path, "s"),
 *                                             log_id("cloudaudit.googleapis.com/activity");
 *                                             the name touches the '(' (else it is a value)
 *   path    := segment { "." segment }      a segment is a word or a "quoted string"
 *   value   := "quoted string" | word       words: letters, digits, bytes >= 0x80 and
 *                                             - _ . / @ * + ~ %; after an operator also ':'
 *                                             (so unquoted timestamps are one word)
 * Keywords are uppercase only (`and` is a value). Strings take "double" or 'single' quotes,
 * with backslash escapes (\n \t \r; any other escaped byte stands for itself). White space,
 * newlines included, separates tokens; "-- " starts a comment to the end of the line, as in
 * Logging. Nesting is limited to EM_FILTER_MAX_DEPTH parentheses, text to EM_FILTER_MAX_LEN.
 *
 * Matching against JSON: a missing field or null never matches (but `!=` and NOT of it do;
 * `!=` is NOT `=`, so on an array it means no element is equal); arrays match when any
 * element does; `:` is "has" (substring of a string, element of an array, key of an object,
 * equality for numbers and bools, and `field:*` means present, which an empty array is not);
 * `=` on strings is exact, with a trailing `*` in the value meaning a prefix (not in Pub/Sub:
 * em_filter_exact_equality); timestamps (RFC 3339 on both sides, years 1678-2261) compare as
 * times, numbers (and int64 strings) as numbers, fields named `severity` by Logging's
 * ladder (DEFAULT < DEBUG < INFO < NOTICE < WARNING < ERROR < CRITICAL < ALERT < EMERGENCY,
 * in any case, or their numbers: WARNING is 400), anything else as strings (bytewise). hasPrefix
 * and hasSuffix test a string field; log_id(id) matches when the top-level `logName` ends with
 * "/logs/" + id URL-encoded ('/' as %2F). A bare value (no field) matches when any string in the
 * resource contains it.
 */
#ifndef EM_FILTER_H
#define EM_FILTER_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define EM_FILTER_MAX_LEN   20000
#define EM_FILTER_MAX_DEPTH 64

struct em_filter;

/* Parses text (empty or blank text, or NULL, is a filter that matches everything). Fails
 * with INVALID_ARGUMENT "Invalid filter: <what> at position <n>." (n: 0-based byte offset),
 * leaving *out NULL. The filter is immutable: threads may share it for matching. */
enum em_code em_filter_parse(const char *text, struct em_filter **out, struct em_status *st);

bool em_filter_match(const struct em_filter *filter, const cJSON *resource);

/* From now on '=' compares strings exactly, as Pub/Sub filters do; by default (list
 * filters, AIP-160) a value ending in '*' matches every string it prefixes. */
void em_filter_exact_equality(struct em_filter *filter);

/* From now on the filter reads as Resource Manager's project queries: field names and
 * string values compare in any case (ASCII), and ':' on a string means equal, or
 * prefixed when the value ends in '*' ("name:how*"), instead of "contains". */
void em_filter_ignore_case(struct em_filter *filter);

void em_filter_free(struct em_filter *filter);

/* Visits every comparison and function of the filter, in source order: the path (dotted,
 * quotes removed), the operator ("=", "!=", "<", "<=", ">", ">=", ":", or the function
 * name) and the value. Lets a service restrict which fields a filter may use (Pub/Sub
 * allows only attributes). hasPrefix and hasSuffix report their first argument as the
 * path, log_id reports "logName", and a bare value is visited with path "" and op ":"
 * (it searches every field). Returns false as soon as visit does. */
typedef bool (*em_filter_visit_fn)(const char *path, const char *op, const char *value, void *arg);
bool em_filter_visit(const struct em_filter *filter, em_filter_visit_fn visit, void *arg);

#endif
