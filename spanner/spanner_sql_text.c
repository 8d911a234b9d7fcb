/*
 * spanner_sql_text: the GoogleSQL string functions that need more than SQLite offers, as
 * SQLite user functions (registered by sp_sql_functions_register):
 *
 *   REGEXP_CONTAINS / REGEXP_EXTRACT / REGEXP_EXTRACT_ALL / REGEXP_REPLACE
 *       RE2 syntax, run by PCRE2 (libpcre2-8): RE2's syntax is (nearly) a subset of
 *       PCRE's, so every RE2 pattern means the same in PCRE2 once the constructs RE2
 *       refuses (backreferences, lookaround, atomic groups, possessive quantifiers,
 *       recursion, conditionals) are refused here with RE2's message. \d \w \s stay ASCII
 *       as in RE2 (no PCRE2_UCP). Compiled patterns are cached per statement (auxdata).
 *   SPLIT       on a delimiter (characters when it is empty), STRING or BYTES.
 *   FORMAT      the %d %i %s %t %T %f %F %e %E %g %G %x %X %o %% subset with flags,
 *               width and precision; arguments arrive as (type code, value) pairs.
 *
 * Errors are "CODE: message", like every sp_* function (spanner_sql_functions.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_clock.h"
#include "em_json.h"
#include "em_regex.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bytes of a STRING (TEXT) or BYTES (BLOB) argument. */
static const char *arg_bytes(sqlite3_value *v, size_t *len)
{
    const char *data = sqlite3_value_type(v) == SQLITE_BLOB ? sqlite3_value_blob(v)
                                                            : (const char *)sqlite3_value_text(v);
    *len = (size_t)sqlite3_value_bytes(v);
    return data ? data : "";
}

static void result_like(sqlite3_context *ctx, sqlite3_value *model, const char *data, size_t len)
{
    if (sqlite3_value_type(model) == SQLITE_BLOB)
        sqlite3_result_blob(ctx, len ? data : "", (int)len, SQLITE_TRANSIENT);
    else
        sqlite3_result_text(ctx, data, (int)len, SQLITE_TRANSIENT);
}

/* A STRING (text) or BYTES (base64) array element in Spanner's JSON encoding. */
static cJSON *piece(bool bytes, const char *data, size_t len)
{
    char *text;
    if (bytes) {
        text = em_b64_encode((const unsigned char *)data, len);
    } else if ((text = malloc(len + 1))) {
        memcpy(text, data, len);
        text[len] = '\0';
    }
    cJSON *item = text ? cJSON_CreateString(text) : NULL;
    free(text);
    return item;
}

static void result_array(sqlite3_context *ctx, cJSON *array)
{
    char *text = array ? cJSON_PrintUnformatted(array) : NULL;
    if (text)
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_error_nomem(ctx);
    free(text);
}

/* ---- RE2 patterns on PCRE2 ---- */

/* The first construct of pattern that RE2 refuses but PCRE2 would accept, else NULL. */
static const char *re2_refused(const char *p, size_t len, char *shown, size_t size)
{
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i], next = i + 1 < len ? p[i + 1] : '\0';
        if (c == '\\') {
            if ((next >= '1' && next <= '9') || next == 'k' || next == 'g') {
                snprintf(shown, size, "invalid escape sequence: \\%c", next);
                return shown;
            }
            i++;
        } else if (in_class) {
            in_class = c != ']';
        } else if (c == '[') {
            in_class = true;
            if (next == ']' || next == '^')
                i += next == '^' && i + 2 < len && p[i + 2] == ']' ? 2 : next == ']' ? 1 : 0;
        } else if (c == '(' && next == '?') {
            char kind = i + 2 < len ? p[i + 2] : '\0';
            char after = i + 3 < len ? p[i + 3] : '\0';
            bool lookbehind = kind == '<' && (after == '=' || after == '!');
            if (kind == '=' || kind == '!' || kind == '>' || kind == '(' || kind == 'R' ||
                kind == '|' || (kind >= '0' && kind <= '9') || lookbehind) {
                snprintf(shown, size, "invalid perl operator: (?%c%s", kind,
                         lookbehind ? (after == '=' ? "=" : "!") : "");
                return shown;
            }
        } else if ((c == '*' || c == '+' || c == '?' || c == '}') && next == '+') {
            snprintf(shown, size, "bad repetition operator: %c+", c);
            return shown;
        }
    }
    return NULL;
}

static void free_code(void *code)
{
    pcre2_code_free(code);
}

/* The compiled pattern of argv[i] (cached for the statement); NULL after an error. */
static pcre2_code *pattern_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, bool utf)
{
    pcre2_code *code = sqlite3_get_auxdata(ctx, i);
    if (code)
        return code;
    size_t len;
    const char *pattern = arg_bytes(argv[i], &len);
    char refused[80];
    if (re2_refused(pattern, len, refused, sizeof(refused))) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot parse regular expression: %s", refused);
        return NULL;
    }
    int error;
    PCRE2_SIZE offset;
    /* AUTO_CALLOUT: the DFA fallback of re_match reads its deadline at each item */
    code = pcre2_compile((PCRE2_SPTR)pattern, len,
                         (utf ? PCRE2_UTF | PCRE2_NO_UTF_CHECK : 0) | PCRE2_AUTO_CALLOUT, &error,
                         &offset, NULL);
    if (!code) {
        PCRE2_UCHAR text[160];
        pcre2_get_error_message(error, text, sizeof(text));
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot parse regular expression: %s", (char *)text);
        return NULL;
    }
    sqlite3_set_auxdata(ctx, i, code, free_code);
    return sqlite3_get_auxdata(ctx, i); /* NULL if SQLite could not keep it (freed) */
}

struct re_run {
    pcre2_code *code;
    pcre2_match_data *match;
    const char *subject;
    size_t len;
};

static bool re_begin(sqlite3_context *ctx, sqlite3_value **argv, struct re_run *run)
{
    bool utf = sqlite3_value_type(argv[0]) != SQLITE_BLOB;
    run->subject = arg_bytes(argv[0], &run->len);
    run->code = pattern_arg(ctx, argv, 1, utf);
    if (!run->code)
        return false;
    run->match = pcre2_match_data_create_from_pattern(run->code, NULL);
    if (!run->match)
        sqlite3_result_error_nomem(ctx);
    return run->match != NULL;
}

/* Matches from offset: > 0 on a match (ovector filled), 0 on none, < 0 after an error.
 * RE2 never backtracks; PCRE2's pcre2_match does, and gives up at its match limit on a
 * nested repetition over a text that does not match ("(ab|a|b)*$"). Then PCRE2's DFA
 * matcher, which does not backtrack, says within a second whether there is a match at
 * all: without one the answer is "no match", as RE2's; with one, or past that second, the
 * emulator cannot find the groups and says so. */
static int re_match(sqlite3_context *ctx, struct re_run *run, size_t offset)
{
    int rc =
        pcre2_match(run->code, (PCRE2_SPTR)run->subject, run->len, offset, 0, run->match, NULL);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if ((rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
         rc == PCRE2_ERROR_HEAPLIMIT) &&
        em_regex_dfa_search(run->code, (const uint8_t *)run->subject, run->len, offset,
                            em_clock_monotonic() + 1000000000LL) == 0)
        return 0;
    if (rc < 0) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: Regular expression evaluation failed (PCRE2 error %d): the "
                    "emulator's backtracking matcher gave up on this pattern and text, where "
                    "Spanner's RE2 would answer",
                    rc);
        return -1;
    }
    return 1;
}

/* The length of the UTF-8 character at s (1 for bytes or at the end). */
static size_t char_len(const struct re_run *run, size_t at, bool utf)
{
    if (!utf || at >= run->len)
        return 1;
    size_t n = 1;
    while (at + n < run->len && ((unsigned char)run->subject[at + n] & 0xC0) == 0x80)
        n++;
    return n;
}

static void fn_regexp_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    int rc = re_match(ctx, &run, 0);
    if (rc >= 0)
        sqlite3_result_int(ctx, rc);
    pcre2_match_data_free(run.match);
}

/* The part an extraction returns: the capture group if the pattern has one. */
static bool extraction_group(sqlite3_context *ctx, const struct re_run *run, int *group)
{
    uint32_t groups = 0;
    pcre2_pattern_info(run->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    if (groups > 1) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Regular expressions passed into extraction functions "
                         "must not have more than 1 capturing group");
        return false;
    }
    *group = (int)groups;
    return true;
}

static void fn_regexp_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    int group;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    if (extraction_group(ctx, &run, &group) && re_match(ctx, &run, 0) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(run.match);
        if (ov[2 * group] != PCRE2_UNSET) /* an unmatched optional group: NULL */
            result_like(ctx, argv[0], run.subject + ov[2 * group],
                        ov[2 * group + 1] - ov[2 * group]);
    }
    pcre2_match_data_free(run.match);
}

/* REGEXP_EXTRACT_ALL: an ARRAY<STRING> or ARRAY<BYTES> in its stored JSON form. */
static void fn_regexp_extract_all(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    int group;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    cJSON *array = cJSON_CreateArray();
    size_t at = 0;
    int rc = extraction_group(ctx, &run, &group) ? 1 : -1;
    /* no match is tried at the very end of a non-empty value (ZetaSQL's rule) */
    while (array && rc > 0 && (at < run.len || (at == 0 && run.len == 0)) &&
           (rc = re_match(ctx, &run, at)) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(run.match);
        size_t from = ov[2 * group], to = ov[2 * group + 1];
        cJSON *item =
            from == PCRE2_UNSET ? cJSON_CreateNull() : piece(bytes, run.subject + from, to - from);
        cJSON_AddItemToArray(array, item);
        at = ov[1] > ov[0] ? ov[1] : ov[1] + char_len(&run, ov[1], !bytes);
    }
    if (rc >= 0)
        result_array(ctx, array);
    cJSON_Delete(array);
    pcre2_match_data_free(run.match);
}

/* Appends REGEXP_REPLACE's replacement for the current match (\0-\9 and \\). */
static bool append_replacement(sqlite3_context *ctx, struct sp_buf *out, const struct re_run *run,
                               const char *rep, size_t rep_len)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(run->match);
    uint32_t groups = pcre2_get_ovector_count(run->match);
    for (size_t i = 0; i < rep_len; i++) {
        if (rep[i] != '\\') {
            sp_buf_append(out, rep + i, 1);
            continue;
        }
        char next = i + 1 < rep_len ? rep[i + 1] : '\0';
        i++;
        if (next == '\\') {
            sp_buf_append(out, "\\", 1);
        } else if (next >= '0' && next <= '9' && (uint32_t)(next - '0') < groups) {
            int g = next - '0';
            if (ov[2 * g] != PCRE2_UNSET)
                sp_buf_append(out, run->subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        } else {
            sp_fn_error(ctx, next >= '0' && next <= '9'
                                 ? "OUT_OF_RANGE: Rewrite schema requests more capturing "
                                   "groups than the regular expression has"
                                 : "OUT_OF_RANGE: Rewrite schema error: '\\' must be followed "
                                   "by a digit or '\\'");
            return false;
        }
    }
    return true;
}

/* REGEXP_REPLACE with RE2's GlobalReplace rules: an empty match right after the previous
 * match is skipped (one character copied instead). */
static void fn_regexp_replace(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    bool utf = sqlite3_value_type(argv[0]) != SQLITE_BLOB;
    size_t rep_len;
    const char *rep = arg_bytes(argv[2], &rep_len);
    struct sp_buf out = {0};
    size_t at = 0, last_end = (size_t)-1;
    int rc = 1;
    while (at <= run.len && (rc = re_match(ctx, &run, at)) > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(run.match);
        sp_buf_append(&out, run.subject + at, ov[0] - at);
        if (ov[0] == ov[1] && ov[0] == last_end) {
            size_t n = char_len(&run, ov[0], utf);
            if (ov[0] < run.len)
                sp_buf_append(&out, run.subject + ov[0], n);
            at = ov[0] + n;
            continue;
        }
        if (!append_replacement(ctx, &out, &run, rep, rep_len)) {
            rc = -1;
            break;
        }
        at = last_end = ov[1];
    }
    if (rc >= 0) {
        if (at < run.len)
            sp_buf_append(&out, run.subject + at, run.len - at);
        if (out.failed)
            sqlite3_result_error_nomem(ctx);
        else
            result_like(ctx, argv[0], out.data ? out.data : "", out.len);
    }
    sp_buf_free(&out);
    pcre2_match_data_free(run.match);
}

/* ---- SPLIT ---- */

/* sp_split(value, delimiter): ARRAY<STRING|BYTES>; an empty delimiter splits a STRING into
 * characters and BYTES into bytes; an empty value gives one empty element. */
static void fn_split(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool bytes = sqlite3_value_type(argv[0]) == SQLITE_BLOB;
    size_t len, dlen;
    const char *s = arg_bytes(argv[0], &len), *d = arg_bytes(argv[1], &dlen);
    cJSON *array = cJSON_CreateArray();
    size_t start = 0;
    for (size_t i = 0; array && len && i < len;) {
        size_t n = 1;
        if (dlen == 0) {
            while (!bytes && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
                n++;
            cJSON_AddItemToArray(array, piece(bytes, s + i, n));
            i += n;
            start = i;
        } else if (i + dlen <= len && memcmp(s + i, d, dlen) == 0) {
            cJSON_AddItemToArray(array, piece(bytes, s + start, i - start));
            i += dlen;
            start = i;
        } else {
            i++;
        }
    }
    if (array && (dlen || !len))
        cJSON_AddItemToArray(array, piece(bytes, s + start, len - start));
    result_array(ctx, array);
    cJSON_Delete(array);
}

/* ---- FORMAT ---- */

struct spec {
    char flags[8];
    int width, precision; /* -1: not given */
    char conversion;
};

/* Reads "%[flags][width][.precision]c" at *p (past the '%'); false (with *p at the
 * conversion character) when it is not a known conversion. */
static bool read_spec(const char **p, struct spec *spec)
{
    size_t nflags = 0;
    while (strchr("-+ #0'", **p) && **p && nflags + 1 < sizeof(spec->flags))
        spec->flags[nflags++] = *(*p)++;
    spec->flags[nflags] = '\0';
    spec->width = spec->precision = -1;
    if (isdigit((unsigned char)**p))
        spec->width = (int)strtol(*p, (char **)p, 10);
    if (**p == '.') {
        (*p)++;
        spec->precision = (int)strtol(*p, (char **)p, 10);
    }
    spec->conversion = **p;
    if (!spec->conversion || !strchr("distTfFeEgGxXo", spec->conversion))
        return false;
    (*p)++;
    return spec->width <= 1000 && spec->precision <= 1000;
}

/* The type a conversion wants: SP_TYPE_INT64, SP_TYPE_FLOAT64, SP_TYPE_STRING, or
 * SP_TYPE_UNKNOWN for any (%t %T). */
static enum sp_type_code conversion_type(char conversion)
{
    return strchr("dixXo", conversion)    ? SP_TYPE_INT64
           : strchr("fFeEgG", conversion) ? SP_TYPE_FLOAT64
           : conversion == 's'            ? SP_TYPE_STRING
                                          : SP_TYPE_UNKNOWN;
}

int sp_format_pattern(const char *pattern, enum sp_type_code *types, int max, char *bad)
{
    int n = 0;
    *bad = '\0';
    for (const char *p = strchr(pattern, '%'); p; p = strchr(p, '%')) {
        p++;
        struct spec spec;
        if (*p == '%') {
            p++;
            continue;
        }
        if (!read_spec(&p, &spec)) {
            *bad = *p ? *p : '%';
            return -1;
        }
        if (n < max)
            types[n] = conversion_type(spec.conversion);
        n++;
    }
    return n;
}

/* "integer", "FLOAT64", "STRING": a conversion's type as FORMAT's errors name it. */
const char *sp_format_type_name(enum sp_type_code code, bool expected)
{
    return code == SP_TYPE_INT64 && expected ? "integer"
           : code == SP_TYPE_FLOAT32         ? "FLOAT"
                                             : sp_type_code_name(code);
}

/* A C format for one value: "%<flags><width>.<precision><length><conversion>". */
static void c_format(const struct spec *spec, const char *length, char conversion, char *out,
                     size_t size)
{
    int n = snprintf(out, size, "%%%s", spec->flags);
    if (spec->width >= 0)
        n += snprintf(out + n, size - (size_t)n, "%d", spec->width);
    if (spec->precision >= 0)
        n += snprintf(out + n, size - (size_t)n, ".%d", spec->precision);
    snprintf(out + n, size - (size_t)n, "%s%c", length, conversion);
}

/* The text %t (as_literal false) or %T (true) prints for a value of type code. */
static char *value_text(int code, sqlite3_value *v, bool as_literal)
{
    if (sqlite3_value_type(v) == SQLITE_NULL)
        return strdup("NULL");
    struct sp_type type = {code, SP_TYPE_UNKNOWN, 0};
    if (code == SP_TYPE_ARRAY)
        type.element = SP_TYPE_STRING;
    const char *text = (const char *)sqlite3_value_text(v);
    char number[64];
    switch (code) {
    case SP_TYPE_STRING:
    case SP_TYPE_JSON: {
        if (!as_literal)
            return strdup(text ? text : "");
        cJSON *s = cJSON_CreateString(text ? text : "");
        char *quoted = s ? cJSON_PrintUnformatted(s) : NULL;
        cJSON_Delete(s);
        if (!quoted || code == SP_TYPE_STRING)
            return quoted;
        size_t size = strlen(quoted) + 8;
        char *out = malloc(size);
        if (out)
            snprintf(out, size, "JSON %s", quoted);
        free(quoted);
        return out;
    }
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32: {
        double d = sp_value_float(v);
        for (int precision = 15; precision <= 17; precision++) {
            snprintf(number, sizeof(number), "%.*g", precision, d);
            if (strtod(number, NULL) == d)
                break;
        }
        return strdup(number);
    }
    default:
        break;
    }
    cJSON *json = sp_value_to_json(&type, v);
    char *out = NULL;
    if (json && cJSON_IsString(json)) {
        const char *prefix = !as_literal                 ? ""
                             : code == SP_TYPE_NUMERIC   ? "NUMERIC "
                             : code == SP_TYPE_DATE      ? "DATE "
                             : code == SP_TYPE_TIMESTAMP ? "TIMESTAMP "
                             : code == SP_TYPE_BYTES     ? "FROM_BASE64"
                                                         : "";
        bool quote = as_literal && code != SP_TYPE_INT64;
        size_t size = strlen(json->valuestring) + 32;
        out = malloc(size);
        if (out)
            snprintf(out, size, "%s%s%s%s%s", prefix, code == SP_TYPE_BYTES && quote ? "(" : "",
                     quote ? "\"" : "", json->valuestring, quote ? "\"" : "");
        if (out && code == SP_TYPE_BYTES && quote)
            strcat(out, ")");
    } else if (json) {
        out = cJSON_PrintUnformatted(json);
    }
    cJSON_Delete(json);
    return out;
}

/* The C formats below are built by c_format from a spec read_spec validated (flags, width,
 * precision and one conversion of the matching argument type), never from user text. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static bool format_one(sqlite3_context *ctx, struct sp_buf *out, const struct spec *spec, int code,
                       sqlite3_value *v, int position)
{
    char fmt[48];
    char conversion = spec->conversion;
    enum sp_type_code want = conversion_type(conversion);
    bool integer = want == SP_TYPE_INT64, floating = want == SP_TYPE_FLOAT64;
    bool fits = want == SP_TYPE_UNKNOWN || (enum sp_type_code)code == want ||
                (floating && code == SP_TYPE_FLOAT32);
    if (!fits) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: Invalid type for argument %d to FORMAT; Expected %s; Got %s",
                    position, sp_format_type_name(want, true),
                    sp_format_type_name((enum sp_type_code)code, false));
        return false;
    }
    if (sqlite3_value_type(v) == SQLITE_NULL && conversion != 't' && conversion != 'T') {
        sp_buf_puts(out, "NULL");
        return true;
    }
    if (integer) {
        c_format(spec, "ll", conversion == 'i' ? 'd' : conversion, fmt, sizeof(fmt));
        sp_buf_printf(out, fmt, (long long)sqlite3_value_int64(v));
        return true;
    }
    if (floating) {
        c_format(spec, "", conversion, fmt, sizeof(fmt));
        sp_buf_printf(out, fmt, sp_value_float(v));
        return true;
    }
    char *text = value_text(code, v, conversion == 'T');
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return false;
    }
    struct spec as_string = *spec;
    as_string.flags[0] = strchr(spec->flags, '-') ? '-' : '\0';
    as_string.flags[1] = '\0';
    c_format(&as_string, "", 's', fmt, sizeof(fmt));
    sp_buf_printf(out, fmt, text);
    free(text);
    return true;
}
#pragma GCC diagnostic pop

/* sp_format(format, code1, value1, code2, value2, ...): FORMAT. */
static void fn_format(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    const char *p = (const char *)sqlite3_value_text(argv[0]);
    struct sp_buf out = {0};
    int next = 1;
    bool ok = true;
    while (ok && p && *p) {
        const char *percent = strchr(p, '%');
        size_t plain = percent ? (size_t)(percent - p) : strlen(p);
        sp_buf_append(&out, p, plain);
        if (!percent)
            break;
        p = percent + 1;
        struct spec spec;
        if (*p == '%') {
            sp_buf_append(&out, "%", 1);
            p++;
        } else if (!read_spec(&p, &spec)) {
            if (*p)
                SP_FN_ERROR(ctx,
                            "OUT_OF_RANGE: Invalid format specifier character \"%c\" in FORMAT "
                            "string: \"%.100s\"",
                            *p, (const char *)sqlite3_value_text(argv[0]));
            else
                SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid FORMAT string: \"%.100s\"",
                            (const char *)sqlite3_value_text(argv[0]));
            ok = false;
        } else if (next + 1 >= argc) {
            SP_FN_ERROR(ctx, "OUT_OF_RANGE: Too few arguments to FORMAT for pattern \"%.100s\"",
                        (const char *)sqlite3_value_text(argv[0]));
            ok = false;
        } else {
            ok = format_one(ctx, &out, &spec, sqlite3_value_int(argv[next]), argv[next + 1],
                            (next + 1) / 2 + 1);
            next += 2;
        }
    }
    if (ok && next + 1 < argc) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Too many arguments to FORMAT for pattern \"%.100s\"",
                    (const char *)sqlite3_value_text(argv[0]));
        ok = false;
    }
    if (ok && out.failed)
        sqlite3_result_error_nomem(ctx);
    else if (ok)
        sqlite3_result_text(ctx, out.data ? out.data : "", (int)out.len, SQLITE_TRANSIENT);
    sp_buf_free(&out);
}

int sp_sql_text_functions_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_regexp_contains", 2, fn_regexp_contains},
        {"sp_regexp_extract", 2, fn_regexp_extract},
        {"sp_regexp_extract_all", 2, fn_regexp_extract_all},
        {"sp_regexp_replace", 3, fn_regexp_replace},
        {"sp_split", 2, fn_split},
        {"sp_format", -1, fn_format},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
