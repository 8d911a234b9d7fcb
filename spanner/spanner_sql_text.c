/*
 * spanner_sql_text: the GoogleSQL string functions that need more than SQLite offers, as
 * SQLite user functions (registered by sp_sql_functions_register):
 *
 *   REGEXP_CONTAINS / REGEXP_EXTRACT / REGEXP_EXTRACT_ALL / REGEXP_REPLACE
 *       RE2 itself (em_regex): a STRING pattern in UTF-8, a BYTES one in Latin-1, as
 *       ZetaSQL compiles them; RE2's refusals are Spanner's "Cannot parse regular
 *       expression: <RE2's reason>". Compiled patterns are cached per statement (auxdata).
 *   SPLIT       on a delimiter (characters when it is empty), STRING or BYTES.
 *   NORMALIZE   and NORMALIZE_AND_CASEFOLD: Unicode normalization forms (libunistring).
 *   FORMAT      the %d %i %s %t %T %f %F %e %E %g %G %x %X %o %% subset with flags,
 *               width and precision; arguments arrive as (type code, value) pairs.
 *
 * Errors are "CODE: message", like every sp_* function (spanner_sql_functions.h).
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_json.h"
#include "em_regex.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

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

/* ---- REGEXP_*: RE2 (em_regex) ---- */

static void free_regex(void *re)
{
    em_regex_free(re);
}

/* The compiled pattern of argv[i] (cached for the statement); NULL after an error. A STRING
 * pattern is UTF-8, a BYTES one Latin-1 (one byte, one character), as ZetaSQL compiles them. */
static struct em_regex *pattern_arg(sqlite3_context *ctx, sqlite3_value **argv, int i)
{
    struct em_regex *re = sqlite3_get_auxdata(ctx, i);
    if (re)
        return re;
    size_t len;
    const char *pattern = arg_bytes(argv[i], &len);
    enum em_regex_encoding encoding =
        sqlite3_value_type(argv[i]) == SQLITE_BLOB ? EM_REGEX_LATIN1 : EM_REGEX_UTF8;
    struct em_status why = {0};
    enum em_code rc = em_regex_compile_as((const uint8_t *)pattern, len, encoding, &re, &why);
    if (rc == EM_INVALID_ARGUMENT) {
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Cannot parse regular expression: %.300s", why.message);
        return NULL;
    }
    if (rc) {
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    sqlite3_set_auxdata(ctx, i, re, free_regex);
    return sqlite3_get_auxdata(ctx, i); /* NULL if SQLite could not keep it (freed) */
}

/* One REGEXP_* call: the value searched, its pattern, and the spans of the last match
 * (the whole match and, for an extraction, its group). */
struct re_run {
    const struct em_regex *re;
    const char *subject;
    size_t len;
    struct em_regex_span spans[10]; /* \0 to \9 of a replacement */
    int n_spans;
};

static bool re_begin(sqlite3_context *ctx, sqlite3_value **argv, struct re_run *run)
{
    run->subject = arg_bytes(argv[0], &run->len);
    run->re = pattern_arg(ctx, argv, 1);
    if (!run->re)
        return false;
    int groups = em_regex_groups(run->re);
    run->n_spans = groups < 9 ? groups + 1 : 10;
    return true;
}

/* Matches from offset: 1 on a match (spans filled), 0 on none, -1 after an error. */
static int re_match(sqlite3_context *ctx, struct re_run *run, size_t offset)
{
    int rc = em_regex_search(run->re, (const uint8_t *)run->subject, run->len, offset, run->spans,
                             run->n_spans);
    if (rc < 0)
        sqlite3_result_error_nomem(ctx);
    return rc;
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
}

/* The part an extraction returns: the capture group if the pattern has one. */
static bool extraction_group(sqlite3_context *ctx, const struct re_run *run, int *group)
{
    int groups = em_regex_groups(run->re);
    if (groups > 1) {
        sp_fn_error(ctx, "OUT_OF_RANGE: Regular expressions passed into extraction functions "
                         "must not have more than 1 capturing group");
        return false;
    }
    *group = groups;
    return true;
}

static void fn_regexp_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct re_run run;
    int group;
    if (sp_fn_any_null(argc, argv) || !re_begin(ctx, argv, &run))
        return;
    if (extraction_group(ctx, &run, &group) && re_match(ctx, &run, 0) > 0) {
        const struct em_regex_span *g = &run.spans[group];
        if (g->set) /* an unmatched optional group: NULL */
            result_like(ctx, argv[0], run.subject + g->from, g->to - g->from);
    }
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
        const struct em_regex_span *m = &run.spans[0], *g = &run.spans[group];
        cJSON *item =
            g->set ? piece(bytes, run.subject + g->from, g->to - g->from) : cJSON_CreateNull();
        cJSON_AddItemToArray(array, item);
        at = m->to > m->from ? m->to : m->to + char_len(&run, m->to, !bytes);
    }
    if (rc >= 0)
        result_array(ctx, array);
    cJSON_Delete(array);
}

/* Appends REGEXP_REPLACE's replacement for the current match (\0-\9 and \\). */
static bool append_replacement(sqlite3_context *ctx, struct sp_buf *out, const struct re_run *run,
                               const char *rep, size_t rep_len)
{
    for (size_t i = 0; i < rep_len; i++) {
        if (rep[i] != '\\') {
            sp_buf_append(out, rep + i, 1);
            continue;
        }
        char next = i + 1 < rep_len ? rep[i + 1] : '\0';
        i++;
        if (next == '\\') {
            sp_buf_append(out, "\\", 1);
        } else if (next >= '0' && next <= '9' && next - '0' < run->n_spans) {
            const struct em_regex_span *g = &run->spans[next - '0'];
            if (g->set)
                sp_buf_append(out, run->subject + g->from, g->to - g->from);
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
        const struct em_regex_span *m = &run.spans[0];
        sp_buf_append(&out, run.subject + at, m->from - at);
        if (m->from == m->to && m->from == last_end) {
            size_t n = char_len(&run, m->from, utf);
            if (m->from < run.len)
                sp_buf_append(&out, run.subject + m->from, n);
            at = m->from + n;
            continue;
        }
        if (!append_replacement(ctx, &out, &run, rep, rep_len)) {
            rc = -1;
            break;
        }
        at = last_end = m->to;
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

/* ---- NORMALIZE ---- */

/* sp_normalize(text, 'NFC' | 'NFKC' | 'NFD' | 'NFKD', casefold): Unicode normalization
 * (libunistring), after full case folding for NORMALIZE_AND_CASEFOLD. */
static void fn_normalize(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const char *name = (const char *)sqlite3_value_text(argv[1]);
    uninorm_t mode = !name                       ? NULL
                     : strcmp(name, "NFC") == 0  ? UNINORM_NFC
                     : strcmp(name, "NFKC") == 0 ? UNINORM_NFKC
                     : strcmp(name, "NFD") == 0  ? UNINORM_NFD
                     : strcmp(name, "NFKD") == 0 ? UNINORM_NFKD
                                                 : NULL;
    if (!mode) {
        sp_fn_error(ctx, "INTERNAL: an unknown normalization form");
        return;
    }
    size_t len = 0, n;
    const uint8_t *in = (const uint8_t *)arg_bytes(argv[0], &n);
    uint8_t *out = sqlite3_value_int(argv[2]) ? u8_casefold(in, n, NULL, mode, NULL, &len)
                                              : u8_normalize(mode, in, n, NULL, &len);
    sp_fn_result_unistring(ctx, out, len);
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
        {"sp_normalize", 3, fn_normalize},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
