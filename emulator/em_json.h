/*
 * em_json: the proto3 JSON encodings every service shares, on top of cJSON.
 *
 * bytes are base64 (standard on output; standard or URL-safe, padded or not, on
 * input), int64 and uint64 travel as decimal strings (numbers accepted on input),
 * google.protobuf.Timestamp is RFC 3339 in UTC with 0, 3, 6 or 9 fraction digits, and
 * google.protobuf.Duration is "<seconds>[.<fraction>]s". Times are int64 nanoseconds
 * since the Unix epoch throughout the emulator.
 */
#ifndef EM_JSON_H
#define EM_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_NS_PER_SEC    1000000000LL
#define EM_TIME_TEXT_MAX 40

/* Base64. The encoder returns a malloc'd NUL-terminated string. The decoder returns
 * false for anything that is not base64; *out is malloc'd (never NULL on success). */
char *em_b64_encode(const unsigned char *in, size_t len);
bool em_b64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen);
/* Whether text would decode, without decoding it. */
bool em_b64_valid(const char *in, size_t inlen);

/* Timestamps and durations. */
void em_time_format(int64_t ns, char out[EM_TIME_TEXT_MAX]);
bool em_time_parse(const char *text, int64_t *ns);
void em_duration_format(int64_t ns, char out[EM_TIME_TEXT_MAX]);
bool em_duration_parse(const char *text, int64_t *ns);
/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12), and back. */
int64_t em_days_from_civil(int64_t year, int month, int day);
void em_civil_from_days(int64_t days, int64_t *year, int *month, int *day);

/* Field getters: NULL / false when the field is absent or of another type. */
const char *em_json_string(const cJSON *obj, const char *key);
bool em_json_int64(const cJSON *obj, const char *key, int64_t *out);
bool em_json_bool(const cJSON *obj, const char *key, bool *out);
bool em_json_value_int64(const cJSON *value, int64_t *out);

/* Setters for the encodings above. */
void em_json_add_int64(cJSON *obj, const char *key, int64_t value);
void em_json_add_time(cJSON *obj, const char *key, int64_t ns);
void em_json_add_duration(cJSON *obj, const char *key, int64_t ns);
void em_json_add_bytes(cJSON *obj, const char *key, const unsigned char *data, size_t len);

/* The length (1 to 4) of the well-formed UTF-8 character at s, len bytes available
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF; NUL is a character
 * here), and its code point in *cp (may be NULL); 0 when malformed or cut. */
size_t em_utf8_char(const unsigned char *s, size_t len, uint32_t *cp);

/* Whether len bytes are well-formed UTF-8 without NUL (no field of the APIs may carry
 * either); when not, *bad (if not NULL) is the offset of the first offending byte. */
bool em_utf8_valid(const char *text, size_t len, size_t *bad);

/* Whether JSON text has a \u0000 escape inside a string (cJSON would cut the string
 * there); *at (if not NULL) is its offset. */
bool em_json_has_nul_escape(const char *text, size_t len, size_t *at);

/* Serialises and frees root; returns a malloc'd string. */
char *em_json_print_free(cJSON *root);

/* The value of one hexadecimal digit, or -1. */
int em_hex_digit(char c);

#endif
