/*
 * spanner_sql_codes: GoogleSQL functions over characters' and bits' codes, as SQLite user
 * functions (registered by sp_sql_functions_register; the translator types their
 * arguments):
 *
 *   CODE_POINTS_TO_STRING / CODE_POINTS_TO_BYTES / TO_CODE_POINTS
 *   SAFE_CONVERT_BYTES_TO_STRING   each byte of a bad UTF-8 sequence becomes U+FFFD
 *   SOUNDEX                        as Spanner computes it (below)
 *   TO_BASE32 / FROM_BASE32        RFC 4648, with padding
 *   BIT_REVERSE
 *   FARM_FINGERPRINT               of a STRING's UTF-8 bytes or a BYTES value's bytes
 *
 * A NULL argument, or a NULL element of a code point array, gives NULL. Errors use
 * Spanner's wording (spanner_sql_udf.h).
 */
#include "spanner_farmhash.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include <stdint.h>
#include <string.h>

#define REPLACEMENT_CHARACTER "\xEF\xBF\xBD"

/* ---- code points ---- */

/* Appends code point c to out as UTF-8; false when c is not a Unicode scalar value. */
static bool put_utf8(long long c, unsigned char *out, size_t *len)
{
    if (c < 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return false;
    unsigned char *p = out + *len;
    if (c < 0x80) {
        p[0] = (unsigned char)c;
        *len += 1;
    } else if (c < 0x800) {
        p[0] = (unsigned char)(0xC0 | (c >> 6));
        p[1] = (unsigned char)(0x80 | (c & 0x3F));
        *len += 2;
    } else if (c < 0x10000) {
        p[0] = (unsigned char)(0xE0 | (c >> 12));
        p[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        p[2] = (unsigned char)(0x80 | (c & 0x3F));
        *len += 3;
    } else {
        p[0] = (unsigned char)(0xF0 | (c >> 18));
        p[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        p[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        p[3] = (unsigned char)(0x80 | (c & 0x3F));
        *len += 4;
    }
    return true;
}

/* sp_code_points_to(array of INT64, bytes): CODE_POINTS_TO_BYTES (bytes 0-255) or
 * CODE_POINTS_TO_STRING (Unicode scalar values) */
static void fn_code_points_to(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sp_fn_any_null(1, argv))
        return;
    bool bytes = sqlite3_value_int(argv[1]) != 0;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    int n = cJSON_GetArraySize(array);
    unsigned char *out = malloc((size_t)n * 4 + 1);
    if (!out) {
        cJSON_Delete(array);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t len = 0;
    bool is_null = false;
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (!cJSON_IsString(item)) { /* a NULL element */
            is_null = true;
            continue;
        }
        long long c = strtoll(item->valuestring, NULL, 10);
        if (bytes && (c < 0 || c > 255)) {
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid ASCII value %lld", c);
            goto out;
        }
        if (bytes) {
            out[len++] = (unsigned char)c;
        } else if (c == 0) {
            sp_fn_error(ctx, SP_NUL_IN_STRING);
            goto out;
        } else if (!put_utf8(c, out, &len)) {
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid codepoint %lld", c);
            goto out;
        }
    }
    if (is_null)
        sqlite3_result_null(ctx);
    else if (bytes)
        sqlite3_result_blob64(ctx, len ? out : (unsigned char *)"", len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text64(ctx, (const char *)out, len, SQLITE_TRANSIENT, SQLITE_UTF8);
out:
    free(out);
    cJSON_Delete(array);
}

/* The code point of the UTF-8 character at s (valid text), and its length in *n. */
static long long utf8_code_point(const unsigned char *s, size_t *n)
{
    if (s[0] < 0x80) {
        *n = 1;
        return s[0];
    }
    int extra = s[0] >= 0xF0 ? 3 : s[0] >= 0xE0 ? 2 : 1;
    long long c = s[0] & (0x3F >> extra);
    for (int i = 1; i <= extra; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *n = (size_t)extra + 1;
    return c;
}

/* sp_to_code_points(value): the code points of a STRING, or the bytes of a BYTES */
static void fn_to_code_points(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    const unsigned char *s =
        bytes ? sqlite3_value_blob(argv[0]) : (const unsigned char *)sqlite3_value_text(argv[0]);
    size_t len = (size_t)sqlite3_value_bytes(argv[0]);
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0, n = 1; array && i < len; i += n) {
        char text[24];
        snprintf(text, sizeof(text), "%lld", bytes ? (long long)s[i] : utf8_code_point(s + i, &n));
        cJSON *item = cJSON_CreateString(text);
        if (!item || !cJSON_AddItemToArray(array, item)) {
            cJSON_Delete(item);
            cJSON_Delete(array);
            array = NULL;
        }
    }
    if (!array) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sp_fn_result_json(ctx, array);
    cJSON_Delete(array);
}

/* The length of the well-formed UTF-8 character at s (len bytes left), or 0: no overlong
 * form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_char_length(const unsigned char *s, size_t len)
{
    size_t n = s[0] < 0x80                    ? 1
               : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
               : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                              : 0;
    if (n == 0 || n > len)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || /* overlong, surrogate */
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))   /* overlong, too high */
        return 0;
    return n;
}

/* sp_safe_convert_bytes_to_string(bytes): valid UTF-8 kept, each byte of the rest U+FFFD */
static void fn_safe_convert_bytes_to_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const unsigned char *s = sqlite3_value_blob(argv[0]);
    size_t len = (size_t)sqlite3_value_bytes(argv[0]);
    char *out = malloc(len * 3 + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    if (len && memchr(s, 0, len)) {
        free(out);
        sp_fn_error(ctx, SP_NUL_IN_STRING);
        return;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_char_length(s + i, len - i);
        memcpy(out + n, k ? (const char *)s + i : REPLACEMENT_CHARACTER, k ? k : 3);
        n += k ? k : 3;
        i += k ? k : 1;
    }
    sqlite3_result_text64(ctx, n ? out : "", n, SQLITE_TRANSIENT, SQLITE_UTF8);
    free(out);
}

/* ---- SOUNDEX ----
 *
 * As Spanner: the first ASCII letter is kept as written; every later ASCII letter gives
 * its digit (BFPV 1, CGJKQSXZ 2, DT 3, L 4, MN 5, R 6) unless it is the digit last given
 * (the first letter's own counts); vowels, H, W and Y give none and do not separate two
 * equal digits; anything else is skipped. Four characters, padded with zeros; "" when
 * the text has no ASCII letter. */

static char soundex_digit(unsigned char c)
{
    static const char digits[27] = "01230120022455012623010202"; /* A to Z */
    c = (unsigned char)(c | 0x20);
    return c >= 'a' && c <= 'z' ? digits[c - 'a'] : '\0';
}

static void fn_soundex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const unsigned char *s = sqlite3_value_text(argv[0]);
    char code[5] = "";
    size_t n = 0;
    char last = '\0';
    for (; s && *s && n < 4; s++) {
        char digit = soundex_digit(*s);
        if (!digit) /* not an ASCII letter */
            continue;
        if (n == 0)
            code[n++] = (char)*s;
        else if (digit != '0' && digit != last)
            code[n++] = digit;
        if (digit != '0')
            last = digit;
    }
    while (n > 0 && n < 4)
        code[n++] = '0';
    sqlite3_result_text(ctx, code, (int)n, SQLITE_TRANSIENT);
}

/* ---- base32 (RFC 4648) ---- */

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void fn_to_base32(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const unsigned char *s = sqlite3_value_blob(argv[0]);
    size_t len = (size_t)sqlite3_value_bytes(argv[0]);
    size_t out_len = (len + 4) / 5 * 8;
    char *out = malloc(out_len + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i += 5) {
        size_t take = len - i < 5 ? len - i : 5;
        uint64_t group = 0;
        for (size_t k = 0; k < 5; k++)
            group = group << 8 | (k < take ? s[i + k] : 0);
        size_t chars = (take * 8 + 4) / 5; /* the characters that carry bits */
        for (size_t k = 0; k < 8; k++)
            out[n++] = k < chars ? base32_alphabet[(group >> (35 - 5 * k)) & 31] : '=';
    }
    sqlite3_result_text64(ctx, n ? out : "", n, SQLITE_TRANSIENT, SQLITE_UTF8);
    free(out);
}

static int base32_value(unsigned char c)
{
    const char *at = c ? strchr(base32_alphabet, c) : NULL;
    return at ? (int)(at - base32_alphabet) : -1;
}

/* Whether k characters of a last group (the rest '=') are a whole number of bytes. */
static bool base32_tail_ok(size_t k)
{
    return k == 2 || k == 4 || k == 5 || k == 7 || k == 8;
}

static void fn_from_base32(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const unsigned char *s = sqlite3_value_text(argv[0]);
    size_t len = (size_t)sqlite3_value_bytes(argv[0]);
    unsigned char *out = malloc(len / 8 * 5 + 5);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    bool ok = len % 8 == 0;
    for (size_t i = 0; ok && i < len; i += 8) {
        uint64_t group = 0;
        size_t chars = 0;
        while (chars < 8 && base32_value(s[i + chars]) >= 0)
            group = group << 5 | (uint64_t)base32_value(s[i + chars++]);
        for (size_t k = chars; k < 8; k++)
            ok = ok && s[i + k] == '=' && i + 8 == len; /* padding only at the end */
        ok = ok && base32_tail_ok(chars);
        group <<= 5 * (8 - chars);
        for (size_t k = 0; ok && k < chars * 5 / 8; k++)
            out[n++] = (unsigned char)(group >> (32 - 8 * k));
    }
    if (ok)
        sqlite3_result_blob64(ctx, n ? out : (unsigned char *)"", n, SQLITE_TRANSIENT);
    else
        sp_fn_error(ctx, "OUT_OF_RANGE: Failed to decode invalid base32 string");
    free(out);
}

/* ---- bits ---- */

/* sp_bit_reverse(x, preserve_sign): the 64 bits in reverse order, or, preserving the
 * sign, the 63 bits below the sign bit */
static void fn_bit_reverse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    uint64_t x = (uint64_t)sqlite3_value_int64(argv[0]), r = 0;
    bool keep_sign = sqlite3_value_int(argv[1]) != 0;
    int bits = keep_sign ? 63 : 64;
    for (int i = 0; i < bits; i++)
        r |= ((x >> i) & 1) << (bits - 1 - i);
    if (keep_sign)
        r |= x & (UINT64_C(1) << 63);
    sqlite3_result_int64(ctx, (sqlite3_int64)r);
}

/* sp_farm_fingerprint(value): FarmHash Fingerprint64, as a signed INT64 */
static void fn_farm_fingerprint(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const void *data = sqlite3_value_type(argv[0]) == SQLITE_BLOB ? sqlite3_value_blob(argv[0])
                                                                  : sqlite3_value_text(argv[0]);
    uint64_t hash = sp_farm_fingerprint64(data, (size_t)sqlite3_value_bytes(argv[0]));
    sqlite3_result_int64(ctx, (sqlite3_int64)hash);
}

int sp_sql_codes_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_code_points_to", 2, fn_code_points_to},
        {"sp_to_code_points", 1, fn_to_code_points},
        {"sp_safe_convert_bytes_to_string", 1, fn_safe_convert_bytes_to_string},
        {"sp_soundex", 1, fn_soundex},
        {"sp_to_base32", 1, fn_to_base32},
        {"sp_from_base32", 1, fn_from_base32},
        {"sp_bit_reverse", 2, fn_bit_reverse},
        {"sp_farm_fingerprint", 1, fn_farm_fingerprint},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
