/*
 * spanner_sql_strings_arrays: more GoogleSQL functions as SQLite user functions (registered
 * by sp_sql_functions_register; the translator types their arguments):
 *
 *   LPAD / RPAD / REPEAT / REVERSE   STRING (counted in characters) or BYTES
 *   TRIM / LTRIM / RTRIM             the characters of a set (bytes of BYTES), by default
 *                                    Unicode's White_Space characters (U+00A0, U+3000 ...)
 *   SHA1 / SHA256 / SHA512 / MD5     of STRING or BYTES, into BYTES (OpenSSL's digests)
 *   TO_BASE64 / FROM_BASE64 / TO_HEX / FROM_HEX
 *   ARRAY_TO_STRING / ARRAY_REVERSE / ARRAY_CONCAT / ARRAY_INCLUDES / ARRAY_FIRST /
 *   ARRAY_LAST / ARRAY_SLICE / ARRAY_IS_DISTINCT / GENERATE_ARRAY
 *                                    over arrays stored as their JSON (spanner_value.h)
 *   BIT_COUNT, and the aggregates BIT_AND / BIT_OR / BIT_XOR (INT64) and VAR_SAMP /
 *   VARIANCE / STDDEV_SAMP / STDDEV (FLOAT64, Welford's running sums)
 *
 * A NULL argument gives NULL. Errors are "CODE: message" with Spanner's wording, like every
 * sp_* function (spanner_sql_functions.h). Results are bounded by Spanner's limits on a
 * value's size, so no argument makes one allocate without bound.
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_hash.h"
#include "em_json.h"
#include "spanner_value.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_bytes(sqlite3_value *v)
{
    return sqlite3_value_type(v) == SQLITE_BLOB;
}

static const unsigned char *data_of(sqlite3_value *v, size_t *len)
{
    const unsigned char *data =
        is_bytes(v) ? sqlite3_value_blob(v) : (const unsigned char *)sqlite3_value_text(v);
    *len = (size_t)sqlite3_value_bytes(v);
    return data ? data : (const unsigned char *)"";
}

static void result_like(sqlite3_context *ctx, bool bytes, const unsigned char *data, size_t len)
{
    if (bytes)
        sqlite3_result_blob64(ctx, len ? data : (const unsigned char *)"", len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text64(ctx, (const char *)data, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

/* Bytes of the n first characters of UTF-8 text (or n bytes of BYTES). */
static size_t prefix_bytes(const unsigned char *s, size_t len, size_t n, bool bytes)
{
    if (bytes)
        return n < len ? n : len;
    size_t i = 0;
    for (size_t chars = 0; i < len && chars < n; chars++)
        for (i++; i < len && (s[i] & 0xC0) == 0x80; i++)
            ;
    return i;
}

static size_t char_count(const unsigned char *s, size_t len, bool bytes)
{
    return bytes ? len : sp_utf8_chars((const char *)s, len);
}

/* ---- LPAD, RPAD, REPEAT, REVERSE ---- */

#define PAD_TOO_LONG "OUT_OF_RANGE: Output of LPAD/RPAD exceeds max allowed output size of 1MB"

/* sp_pad(value, length, pattern, left): the translator gives ' ' when the pattern is left
 * out */
static void fn_pad(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sp_fn_any_null(3, argv))
        return;
    bool bytes = is_bytes(argv[0]), left = sqlite3_value_int(argv[3]) != 0;
    sqlite3_int64 want = sqlite3_value_int64(argv[1]);
    if (want < 0) {
        sp_fn_error(ctx,
                    "OUT_OF_RANGE: Second argument (output size) for LPAD/RPAD cannot be negative");
        return;
    }
    size_t len, plen;
    const unsigned char *s = data_of(argv[0], &len);
    const unsigned char *pattern = data_of(argv[2], &plen);
    if (plen == 0) {
        sp_fn_error(ctx,
                    "OUT_OF_RANGE: Third argument (pad pattern) for LPAD/RPAD cannot be empty");
        return;
    }
    if (want > SP_FUNCTION_OUTPUT_MAX) {
        sp_fn_error(ctx, PAD_TOO_LONG);
        return;
    }
    size_t have = char_count(s, len, bytes);
    if (have >= (size_t)want) { /* cut to length */
        result_like(ctx, bytes, s, prefix_bytes(s, len, (size_t)want, bytes));
        return;
    }
    size_t pad_chars = (size_t)want - have, pchars = char_count(pattern, plen, bytes);
    size_t cap = len + (pad_chars / pchars + 1) * plen;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = 0;
    if (!left) {
        memcpy(out, s, len);
        n = len;
    }
    for (size_t added = 0; added < pad_chars;) {
        size_t take = pad_chars - added < pchars ? pad_chars - added : pchars;
        size_t b = prefix_bytes(pattern, plen, take, bytes);
        memcpy(out + n, pattern, b);
        n += b;
        added += take;
    }
    if (left) {
        memcpy(out + n, s, len);
        n += len;
    }
    if (n > SP_FUNCTION_OUTPUT_MAX) /* characters of several bytes */
        sp_fn_error(ctx, PAD_TOO_LONG);
    else
        result_like(ctx, bytes, out, n);
    free(out);
}

/* sp_repeat(value, count) */
static void fn_repeat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = is_bytes(argv[0]);
    sqlite3_int64 count = sqlite3_value_int64(argv[1]);
    if (count < 0) {
        sp_fn_error(ctx,
                    "OUT_OF_RANGE: Second argument (repeat count) for REPEAT cannot be negative");
        return;
    }
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    if (len && (size_t)count > (size_t)SP_FUNCTION_OUTPUT_MAX / len) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Output of REPEAT exceeds max allowed output size of 1MB");
        return;
    }
    size_t total = len * (size_t)count;
    unsigned char *out = malloc(total ? total : 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (sqlite3_int64 i = 0; i < count && len; i++)
        memcpy(out + (size_t)i * len, s, len);
    result_like(ctx, bytes, out, total);
    free(out);
}

/* sp_reverse(value): characters of a STRING, bytes of BYTES */
static void fn_reverse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = is_bytes(argv[0]);
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    unsigned char *out = malloc(len ? len : 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t n = len;
    for (size_t i = 0; i < len;) {
        size_t w = 1;
        while (!bytes && i + w < len && (s[i + w] & 0xC0) == 0x80)
            w++;
        n -= w;
        memcpy(out + n, s + i, w);
        i += w;
    }
    result_like(ctx, bytes, out, len);
    free(out);
}

/* ---- TRIM, LTRIM, RTRIM ---- */

/* The bytes of the character at s[i]: its UTF-8 sequence, or one byte of BYTES. */
static size_t char_width(const unsigned char *s, size_t len, size_t i, bool bytes)
{
    size_t w = 1;
    while (!bytes && i + w < len && (s[i + w] & 0xC0) == 0x80)
        w++;
    return w;
}

/* Unicode's White_Space property: what TRIM removes when it is given no set. */
static bool is_white_space(const unsigned char *c, size_t w)
{
    uint32_t cp = w == 1   ? c[0]
                  : w == 2 ? (uint32_t)(c[0] & 0x1F) << 6 | (c[1] & 0x3F)
                  : w == 3
                      ? (uint32_t)(c[0] & 0x0F) << 12 | (uint32_t)(c[1] & 0x3F) << 6 | (c[2] & 0x3F)
                      : 0; /* nothing beyond the BMP is white space */
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* Whether the character c (w bytes) is one of set's (NULL: white space). */
static bool in_set(const unsigned char *c, size_t w, const unsigned char *set, size_t set_len,
                   bool bytes)
{
    if (!set)
        return is_white_space(c, w);
    for (size_t i = 0; i < set_len;) {
        size_t sw = char_width(set, set_len, i, bytes);
        if (sw == w && memcmp(set + i, c, w) == 0)
            return true;
        i += sw;
    }
    return false;
}

/* sp_trim(value, set, mode): the value without the characters of set at both ends (mode
 * 0), the start (1) or the end (2); mode + 4: no set was given, white space is trimmed. */
static void fn_trim(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int mode = sqlite3_value_int(argv[2]) & 3;
    bool default_set = (sqlite3_value_int(argv[2]) & 4) != 0;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL ||
        (!default_set && sqlite3_value_type(argv[1]) == SQLITE_NULL))
        return;
    bool bytes = is_bytes(argv[0]);
    size_t len, set_len = 0;
    const unsigned char *s = data_of(argv[0], &len);
    const unsigned char *set = default_set ? NULL : data_of(argv[1], &set_len);
    size_t start = len, end = 0; /* the first and past the last character kept */
    for (size_t i = 0; i < len;) {
        size_t w = char_width(s, len, i, bytes);
        if (!in_set(s + i, w, set, set_len, bytes)) {
            if (start == len)
                start = i;
            end = i + w;
        }
        i += w;
    }
    size_t from = mode == 2 ? 0 : start, to = mode == 1 ? len : end;
    result_like(ctx, bytes, s + (from < to ? from : 0), from < to ? to - from : 0);
}

/* ---- digests and encodings ---- */

/* sp_digest(value, 'sha1' | 'sha256' | 'sha512' | 'md5'): BYTES */
static void fn_digest(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    const EVP_MD *md = EVP_get_digestbyname((const char *)sqlite3_value_text(argv[1]));
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!md || !EVP_Digest(s, len, out, &n, md, NULL)) {
        sp_fn_error(ctx, "INTERNAL: The digest could not be computed.");
        return;
    }
    sqlite3_result_blob(ctx, out, (int)n, SQLITE_TRANSIENT);
}

static void fn_to_base64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    char *text = em_b64_encode(s, len);
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, text, -1, free);
}

/* FROM_BASE64's reading, as Spanner's: whitespace anywhere is skipped, the padding may be
 * left out but not written in part, and only the standard alphabet (+ and /) is base64.
 * The padded text into canonical (len + 4 bytes); false when s is not base64. */
static bool base64_canonical(const unsigned char *s, size_t len, char *canonical, size_t *n)
{
    size_t pads = 0;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            continue;
        if (c == '=') {
            pads++;
            continue;
        }
        bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (pads || !alphabet) /* a character after the padding, or not base64 */
            return false;
        canonical[(*n)++] = (char)c;
    }
    if (*n % 4 == 1 || (pads && (*n + pads) % 4 != 0) || pads > 2)
        return false;
    while (*n % 4)
        canonical[(*n)++] = '=';
    canonical[*n] = '\0';
    return true;
}

static void fn_from_base64(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len, out_len = 0, n;
    const unsigned char *s = data_of(argv[0], &len);
    unsigned char *out = NULL;
    char *canonical = malloc(len + 4);
    if (!canonical) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    bool ok =
        base64_canonical(s, len, canonical, &n) && em_b64_decode(canonical, n, &out, &out_len);
    free(canonical);
    if (!ok) {
        free(out);
        sp_fn_error(ctx, "OUT_OF_RANGE: Failed to decode invalid base64 string");
        return;
    }
    sqlite3_result_blob64(ctx, out_len ? out : (unsigned char *)"", out_len, SQLITE_TRANSIENT);
    free(out);
}

static void fn_to_hex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    static const char digits[] = "0123456789abcdef";
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    char *out = malloc(2 * len + 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 15];
    }
    out[2 * len] = '\0';
    sqlite3_result_text(ctx, out, (int)(2 * len), free);
}

static int hex_digit(unsigned char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* sp_from_hex(text): an odd count of digits reads as if a 0 led them */
static void fn_from_hex(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    size_t len;
    const unsigned char *s = data_of(argv[0], &len);
    for (size_t i = 0; i < len; i++)
        if (hex_digit(s[i]) < 0) {
            SP_FN_ERROR(
                ctx,
                "OUT_OF_RANGE: Failed to decode invalid hexadecimal string due to character "
                "at offset %zu: %.100s",
                i, (const char *)s);
            return;
        }
    size_t odd = len % 2, n = (len + 1) / 2;
    unsigned char *out = malloc(n ? n : 1);
    if (!out) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int high = odd && i == 0 ? 0 : hex_digit(s[2 * i - odd]);
        out[i] = (unsigned char)(high << 4 | hex_digit(s[2 * i + 1 - odd]));
    }
    sqlite3_result_blob(ctx, n ? out : (unsigned char *)"", (int)n, SQLITE_TRANSIENT);
    free(out);
}

/* ---- arrays ---- */

/* sp_array_to_string(array, delimiter, null_text or NULL, bytes) */
static void fn_array_to_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sp_fn_any_null(2, argv))
        return;
    bool bytes = sqlite3_value_int(argv[3]) != 0, null_kept = !sp_fn_any_null(1, argv + 2);
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    size_t dlen, nlen = 0;
    const unsigned char *delim = data_of(argv[1], &dlen);
    const unsigned char *null_text = null_kept ? data_of(argv[2], &nlen) : NULL;
    struct sp_buf out = {0};
    bool first = true;
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (!cJSON_IsString(item) && !null_kept)
            continue;
        if (!first)
            sp_buf_append(&out, (const char *)delim, dlen);
        first = false;
        if (!cJSON_IsString(item)) {
            sp_buf_append(&out, (const char *)null_text, nlen);
        } else if (bytes) {
            unsigned char *raw = NULL;
            size_t rlen = 0;
            if (em_b64_decode(item->valuestring, strlen(item->valuestring), &raw, &rlen))
                sp_buf_append(&out, (const char *)raw, rlen);
            free(raw);
        } else {
            sp_buf_puts(&out, item->valuestring);
        }
        if (out.len > (size_t)SP_BYTES_MAX)
            break;
    }
    cJSON_Delete(array);
    if (out.failed)
        sqlite3_result_error_nomem(ctx);
    else if (out.len > (size_t)SP_BYTES_MAX)
        sp_fn_error(ctx, "OUT_OF_RANGE: Output of ARRAY_TO_STRING is too large");
    else
        result_like(ctx, bytes, (const unsigned char *)(out.data ? out.data : ""), out.len);
    sp_buf_free(&out);
}

static void fn_array_reverse(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    cJSON *reversed = cJSON_CreateArray();
    cJSON *item;
    while (reversed && (item = cJSON_DetachItemFromArray(array, 0)) != NULL) {
        if (reversed->child)
            cJSON_InsertItemInArray(reversed, 0, item);
        else
            cJSON_AddItemToArray(reversed, item);
    }
    sp_fn_result_json(ctx, reversed);
    cJSON_Delete(reversed);
    cJSON_Delete(array);
}

/* sp_array_concat(array, ...): NULL when one of them is NULL */
static void fn_array_concat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *all = cJSON_CreateArray();
    size_t total = 0;
    for (int i = 0; all && i < argc; i++) {
        total += (size_t)sqlite3_value_bytes(argv[i]);
        if (total > (size_t)SP_BYTES_MAX) {
            cJSON_Delete(all);
            sp_fn_error(ctx, "OUT_OF_RANGE: Output of ARRAY_CONCAT is too large");
            return;
        }
        cJSON *array = sp_fn_array_arg(ctx, argv[i]);
        if (!array) {
            cJSON_Delete(all);
            return;
        }
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(array, 0)) != NULL)
            cJSON_AddItemToArray(all, item);
        cJSON_Delete(array);
    }
    sp_fn_result_json(ctx, all);
    cJSON_Delete(all);
}

/* ---- a set of array elements (ARRAY_INCLUDES_ANY/ALL without comparing every pair) ---- */

/* Whether an element of a FLOAT64/FLOAT32 array (floats) is NaN: "NaN" in its storage
 * JSON, unequal to everything. */
static bool is_nan(const cJSON *e, bool floats)
{
    return floats && cJSON_IsString(e) && strcmp(e->valuestring, "NaN") == 0;
}

/* Whether two elements in their storage JSON are equal: the same kind and the same value
 * (numbers exactly, 0 and -0 alike), as GoogleSQL's = on them; a STRUCT's field list by
 * cJSON's comparison. */
static bool elements_equal(const cJSON *a, const cJSON *b, bool floats)
{
    if (is_nan(a, floats) || is_nan(b, floats))
        return false;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a) && cJSON_IsArray(b))
        return cJSON_Compare(a, b, true);
    return cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b);
}

static uint64_t element_hash(const cJSON *e)
{
    if (cJSON_IsNumber(e)) {
        double d = e->valuedouble == 0 ? 0.0 : e->valuedouble; /* -0 hashes as 0 */
        return em_fnv1a(&d, sizeof(d));
    }
    if (cJSON_IsString(e))
        return em_fnv1a_str(e->valuestring);
    if (cJSON_IsArray(e)) { /* a STRUCT: its text (out of memory: all alike, still correct) */
        char *text = cJSON_PrintUnformatted(e);
        uint64_t h = em_fnv1a_str(text);
        free(text);
        return h;
    }
    return cJSON_IsTrue(e) ? 1 : 2;
}

/* An open-addressing set of an array's non-NULL elements (pointers into the array). */
struct element_set {
    const cJSON **slots;
    size_t mask;
    bool floats; /* the elements are FLOAT64 or FLOAT32 */
};

static bool element_set_build(struct element_set *set, const cJSON *array, bool floats)
{
    set->floats = floats;
    size_t size = 16;
    while (size < 2 * (size_t)cJSON_GetArraySize(array))
        size *= 2;
    set->slots = calloc(size, sizeof(*set->slots));
    set->mask = size - 1;
    for (const cJSON *e = set->slots ? array->child : NULL; e; e = e->next) {
        if (cJSON_IsNull(e) || is_nan(e, floats)) /* neither equals anything */
            continue;
        size_t i = element_hash(e) & set->mask;
        while (set->slots[i] && !elements_equal(set->slots[i], e, floats))
            i = (i + 1) & set->mask;
        set->slots[i] = e;
    }
    return set->slots != NULL;
}

static bool element_set_has(const struct element_set *set, const cJSON *value)
{
    if (cJSON_IsNull(value) || is_nan(value, set->floats)) /* NULL and NaN match nothing */
        return false;
    for (size_t i = element_hash(value) & set->mask; set->slots[i]; i = (i + 1) & set->mask)
        if (elements_equal(set->slots[i], value, set->floats))
            return true;
    return false;
}

/* sp_array_includes(array, value as a one-element array built by sp_array): NULL when either
 * is NULL; an element equal to the value is found by its encoding (both normalized) */
static void fn_array_includes(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    cJSON *wanted = array ? sp_fn_array_arg(ctx, argv[1]) : NULL;
    if (!array || !wanted) {
        cJSON_Delete(array);
        return;
    }
    const cJSON *value = cJSON_GetArrayItem(wanted, 0), *item;
    bool found = false;
    if (!value || cJSON_IsNull(value)) {
        sqlite3_result_null(ctx);
    } else {
        bool floats = sqlite3_value_int(argv[2]) != 0;
        cJSON_ArrayForEach(item, array) found |= elements_equal(item, value, floats);
        sqlite3_result_int(ctx, found);
    }
    cJSON_Delete(array);
    cJSON_Delete(wanted);
}

/* sp_array_includes_set(array, search, all): ARRAY_INCLUDES_ANY (all 0: one element of
 * search is in array) or ARRAY_INCLUDES_ALL (1: every one is) */
static void fn_array_includes_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sp_fn_any_null(2, argv))
        return;
    bool all = sqlite3_value_int(argv[2]) != 0, result = all;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    cJSON *search = array ? sp_fn_array_arg(ctx, argv[1]) : NULL;
    struct element_set set = {0};
    if (search && !element_set_build(&set, array, sqlite3_value_int(argv[3]) != 0)) {
        sqlite3_result_error_nomem(ctx);
    } else if (search) {
        for (const cJSON *value = search->child; value; value = value->next)
            if (element_set_has(&set, value) != all) { /* an answer already */
                result = !all;
                break;
            }
        sqlite3_result_int(ctx, result);
    }
    free(set.slots);
    cJSON_Delete(array);
    cJSON_Delete(search);
}

/* sp_array_edge(array, last): the first or last element's JSON, for sp_array_element */
static void fn_array_edge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool last = sqlite3_value_int(argv[1]) != 0;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    int n = cJSON_GetArraySize(array);
    if (n == 0) {
        sp_fn_error(ctx, last ? "OUT_OF_RANGE: ARRAY_LAST cannot get the last element of an "
                                "empty array"
                              : "OUT_OF_RANGE: ARRAY_FIRST cannot get the first element of an "
                                "empty array");
    } else {
        const cJSON *item = cJSON_GetArrayItem(array, last ? n - 1 : 0);
        if (cJSON_IsString(item))
            sqlite3_result_text(ctx, item->valuestring, -1, SQLITE_TRANSIENT);
        else if (cJSON_IsNull(item))
            sqlite3_result_null(ctx);
        else if (cJSON_IsBool(item))
            sqlite3_result_int(ctx, cJSON_IsTrue(item));
        else if (cJSON_IsNumber(item))
            sqlite3_result_double(ctx, item->valuedouble);
        else
            sp_fn_result_json(ctx, item);
    }
    cJSON_Delete(array);
}

/* sp_generate_array(start, end, step, float): INT64 (as Spanner's strings) or FLOAT64 */
static void fn_generate_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sp_fn_any_null(3, argv))
        return;
    bool is_float = sqlite3_value_int(argv[3]) != 0;
    double fstart = sqlite3_value_double(argv[0]), fend = sqlite3_value_double(argv[1]),
           fstep = sqlite3_value_double(argv[2]);
    sqlite3_int64 start = sqlite3_value_int64(argv[0]), end = sqlite3_value_int64(argv[1]),
                  step = sqlite3_value_int64(argv[2]);
    if (is_float ? fstep == 0 : step == 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Sequence step cannot be 0.");
        return;
    }
    cJSON *array = cJSON_CreateArray();
    for (int n = 0; array; n++) {
        char text[32];
        if (is_float) {
            double v = fstart + n * fstep;
            if (fstep > 0 ? v > fend : v < fend)
                break;
            if (n == SP_GENERATE_ARRAY_MAX)
                goto too_many;
            cJSON_AddItemToArray(array, cJSON_CreateNumber(v));
        } else {
            /* start + n * step, without overflow: it stops once past end */
            __int128 v = (__int128)start + (__int128)n * step;
            if (step > 0 ? v > end : v < end)
                break;
            if (n == SP_GENERATE_ARRAY_MAX)
                goto too_many;
            snprintf(text, sizeof(text), "%lld", (long long)v);
            cJSON_AddItemToArray(array, cJSON_CreateString(text));
        }
    }
    sp_fn_result_json(ctx, array);
    cJSON_Delete(array);
    return;
too_many:
    cJSON_Delete(array);
    SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot generate arrays with more than %d elements.",
                SP_GENERATE_ARRAY_MAX);
}

/* sp_array_slice(array, start, end): offsets from 0, negative ones from the end, both
 * included; out of range ones are clamped */
static void fn_array_slice(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    sqlite3_int64 n = cJSON_GetArraySize(array);
    sqlite3_int64 from = sqlite3_value_int64(argv[1]), to = sqlite3_value_int64(argv[2]);
    if (from < 0)
        from = from < -n ? 0 : n + from;
    if (to < 0)
        to = to < -n ? -1 : n + to;
    cJSON *slice = cJSON_CreateArray();
    sqlite3_int64 i = 0;
    cJSON *item;
    while (slice && (item = cJSON_DetachItemFromArray(array, 0)) != NULL) {
        if (i >= from && i <= to)
            cJSON_AddItemToArray(slice, item);
        else
            cJSON_Delete(item);
        i++;
    }
    sp_fn_result_json(ctx, slice);
    cJSON_Delete(slice);
    cJSON_Delete(array);
}

static int compare_texts(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sp_array_is_distinct(array): no two elements equal (two NULLs are) */
static void fn_array_is_distinct(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *array = sp_fn_array_arg(ctx, argv[0]);
    if (!array)
        return;
    int n = cJSON_GetArraySize(array), k = 0;
    char **texts = calloc((size_t)(n ? n : 1), sizeof(*texts));
    const cJSON *item;
    bool ok = texts != NULL;
    cJSON_ArrayForEach(item, array)
    {
        if (ok && !(texts[k++] = cJSON_PrintUnformatted(item)))
            ok = false;
    }
    bool distinct = true;
    if (ok) {
        qsort(texts, (size_t)n, sizeof(*texts), compare_texts);
        for (int i = 1; i < n && distinct; i++)
            distinct = strcmp(texts[i - 1], texts[i]) != 0;
    }
    for (int i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    cJSON_Delete(array);
    if (ok)
        sqlite3_result_int(ctx, distinct);
    else
        sqlite3_result_error_nomem(ctx);
}

/* sp_bit_count(INT64 or BYTES) */
static void fn_bit_count(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    sqlite3_int64 count = 0;
    if (is_bytes(argv[0])) {
        size_t len;
        const unsigned char *s = data_of(argv[0], &len);
        for (size_t i = 0; i < len; i++)
            count += __builtin_popcount(s[i]);
    } else {
        count = __builtin_popcountll((unsigned long long)sqlite3_value_int64(argv[0]));
    }
    sqlite3_result_int64(ctx, count);
}

/* ---- aggregates ---- */

struct bits {
    bool any;
    sqlite3_int64 value;
};

static void bit_step(sqlite3_context *ctx, sqlite3_value *v, int op)
{
    struct bits *b = sqlite3_aggregate_context(ctx, sizeof(*b));
    if (!b || sqlite3_value_type(v) == SQLITE_NULL)
        return;
    sqlite3_int64 x = sqlite3_value_int64(v);
    b->value = !b->any ? x : op == 0 ? (b->value & x) : op == 1 ? (b->value | x) : (b->value ^ x);
    b->any = true;
}

static void bit_and_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    bit_step(ctx, argv[0], 0);
}

static void bit_or_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    bit_step(ctx, argv[0], 1);
}

static void bit_xor_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    bit_step(ctx, argv[0], 2);
}

static void bit_final(sqlite3_context *ctx)
{
    struct bits *b = sqlite3_aggregate_context(ctx, 0);
    if (b && b->any)
        sqlite3_result_int64(ctx, b->value);
}

struct moments {
    sqlite3_int64 n;
    double mean, m2;
};

static void moments_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct moments *m = sqlite3_aggregate_context(ctx, sizeof(*m));
    if (!m || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    double x = sp_value_float(argv[0]), delta = x - m->mean;
    m->n++;
    m->mean += delta / (double)m->n;
    m->m2 += delta * (x - m->mean);
}

static void variance_final(sqlite3_context *ctx, bool root)
{
    struct moments *m = sqlite3_aggregate_context(ctx, 0);
    if (!m || m->n < 2)
        return;
    double variance = m->m2 / (double)(m->n - 1);
    sp_result_float(ctx, root ? sqrt(variance) : variance);
}

static void var_samp_final(sqlite3_context *ctx)
{
    variance_final(ctx, false);
}

static void stddev_samp_final(sqlite3_context *ctx)
{
    variance_final(ctx, true);
}

/* ---- ANY_VALUE(x HAVING MAX|MIN y) ---- */

struct arg_best {
    sqlite3_value *value, *key; /* the chosen row's x and y (copies), NULL before one */
    bool nan;                   /* a FLOAT key was NaN: no row is the largest or smallest */
};

/* The order of two keys of one GoogleSQL type in their storage form: numbers (INT64,
 * BOOL, FLOAT), TEXT (STRING, DATE, TIMESTAMP, NUMERIC) and BLOB compared as SQLite
 * compares them. */
int sp_having_key_compare(sqlite3_value *a, sqlite3_value *b)
{
    int ta = sqlite3_value_type(a), tb = sqlite3_value_type(b);
    if (ta == SQLITE_INTEGER && tb == SQLITE_INTEGER) {
        sqlite3_int64 x = sqlite3_value_int64(a), y = sqlite3_value_int64(b);
        return (x > y) - (x < y);
    }
    if ((ta == SQLITE_INTEGER || ta == SQLITE_FLOAT) &&
        (tb == SQLITE_INTEGER || tb == SQLITE_FLOAT)) {
        double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
        return (x > y) - (x < y);
    }
    size_t la = (size_t)sqlite3_value_bytes(a), lb = (size_t)sqlite3_value_bytes(b);
    const void *pa =
        ta == SQLITE_BLOB ? sqlite3_value_blob(a) : (const void *)sqlite3_value_text(a);
    const void *pb =
        tb == SQLITE_BLOB ? sqlite3_value_blob(b) : (const void *)sqlite3_value_text(b);
    int c = memcmp(pa ? pa : "", pb ? pb : "", la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* sp_any_value_having(x, key, max, float): the x (NULL too) of a row whose key is the
 * largest (max 1) or the smallest; rows with a NULL key are left out, and a NaN among
 * FLOAT keys makes the answer NULL, as in Spanner. */
static void any_value_having_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    struct arg_best *best = sqlite3_aggregate_context(ctx, sizeof(*best));
    if (!best || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return;
    bool want_max = sqlite3_value_int(argv[2]) != 0;
    if (sqlite3_value_int(argv[3]) && sp_value_is_nan(argv[1]))
        best->nan = true;
    if (best->nan)
        return;
    if (best->key) {
        int c = sp_having_key_compare(argv[1], best->key);
        if (want_max ? c <= 0 : c >= 0)
            return;
    }
    sqlite3_value *value = sqlite3_value_dup(argv[0]), *key = sqlite3_value_dup(argv[1]);
    if (!value || !key) {
        sqlite3_value_free(value);
        sqlite3_value_free(key);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_value_free(best->value);
    sqlite3_value_free(best->key);
    best->value = value;
    best->key = key;
}

static void any_value_having_final(sqlite3_context *ctx)
{
    struct arg_best *best = sqlite3_aggregate_context(ctx, 0);
    if (!best)
        return;
    if (best->value && !best->nan)
        sqlite3_result_value(ctx, best->value);
    sqlite3_value_free(best->value);
    sqlite3_value_free(best->key);
    best->value = best->key = NULL;
}

static int register_aggregates(sqlite3 *db)
{
    static const struct {
        const char *name;
        void (*step)(sqlite3_context *, int, sqlite3_value **);
        void (*final)(sqlite3_context *);
    } aggregates[] = {
        {"sp_bit_and", bit_and_step, bit_final},
        {"sp_bit_or", bit_or_step, bit_final},
        {"sp_bit_xor", bit_xor_step, bit_final},
        {"sp_var_samp", moments_step, var_samp_final},
        {"sp_stddev_samp", moments_step, stddev_samp_final},
    };
    for (size_t i = 0; i < sizeof(aggregates) / sizeof(aggregates[0]); i++) {
        int rc =
            sqlite3_create_function(db, aggregates[i].name, 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                    NULL, NULL, aggregates[i].step, aggregates[i].final);
        if (rc != SQLITE_OK)
            return rc;
    }
    return sqlite3_create_function(db, "sp_any_value_having", 4, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, NULL, any_value_having_step, any_value_having_final);
}

int sp_sql_strings_arrays_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_pad", 4, fn_pad},
        {"sp_repeat", 2, fn_repeat},
        {"sp_reverse", 1, fn_reverse},
        {"sp_trim", 3, fn_trim},
        {"sp_digest", 2, fn_digest},
        {"sp_to_base64", 1, fn_to_base64},
        {"sp_from_base64", 1, fn_from_base64},
        {"sp_to_hex", 1, fn_to_hex},
        {"sp_from_hex", 1, fn_from_hex},
        {"sp_array_to_string", 4, fn_array_to_string},
        {"sp_array_reverse", 1, fn_array_reverse},
        {"sp_array_concat", -1, fn_array_concat},
        {"sp_array_includes", 3, fn_array_includes},
        {"sp_array_edge", 2, fn_array_edge},
        {"sp_generate_array", 4, fn_generate_array},
        {"sp_array_slice", 3, fn_array_slice},
        {"sp_array_is_distinct", 1, fn_array_is_distinct},
        {"sp_bit_count", 1, fn_bit_count},
        {"sp_array_includes_set", 4, fn_array_includes_set},
    };
    int rc = sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
    return rc == SQLITE_OK ? register_aggregates(db) : rc;
}
