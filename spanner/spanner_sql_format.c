/*
 * spanner_sql_format: GoogleSQL's FORMAT as the SQLite user function sp_format(format,
 * code1, value1, code2, value2, ...), each value with its type code (an ARRAY's element
 * code in the bits above 8: SP_FORMAT_CODE). The %d %i %s %f %F %e %E %g %G %x %X %o %%
 * conversions with flags, width and precision go through C's printf; %t and %T print any
 * value as ZetaSQL does (https://cloud.google.com/spanner/docs/reference/standard-sql/
 * string_functions#format_string, checked against Google's emulator):
 *
 *   type       %t                              %T
 *   NULL       NULL                            NULL
 *   FLOAT64    3.0, 1e+20, -0.0, inf, nan      the same; CAST("inf" AS FLOAT64) ...
 *   NUMERIC    1.5                             NUMERIC "1.5"
 *   STRING     the text                        "text" or 'te"xt', escaped
 *   BYTES      escaped, unquoted: a\x01\"\'    b"a\x01" or b'a"b', escaped
 *   DATE       2011-02-03                      DATE "2011-02-03"
 *   TIMESTAMP  2011-02-03 04:05:06.500+00      TIMESTAMP "2011-02-03 04:05:06.500+00"
 *   JSON       {"a":1}                         JSON '{"a":1}'
 *   ARRAY      [1, x, NULL]                    [1, "x", NULL]: elements printed as %T
 *   STRUCT     (1, x)                          (1, "x"); STRUCT(1), STRUCT()
 *
 * A FLOAT64 prints 15 significant digits, or 17 when 15 do not read back the same; a FLOAT32
 * the fewest of 6 to 9 that do; with ".0" when that has no point or exponent. A literal uses double
 * quotes unless the text has a double quote and no single one; it escapes backslashes, its
 * own quote, \n \r \t in a STRING, and every other byte outside printable ASCII as \xNN
 * (a STRING's UTF-8 stays). A STRUCT (or ARRAY of STRUCT) comes with its type as REST
 * Type JSON text in place of the code. Errors are "CODE: message", like every sp_* function
 * (spanner_sql_functions.h).
 */
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#include "em_json.h"
#include "spanner_sql_mem.h"
#include "spanner_value.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pattern ---- */

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

/* ---- %t and %T ---- */

/* A float as the table above says, ".0" added to what has neither a point nor an
 * exponent. */
static void float_text(double d, bool float32, bool literal, struct sp_buf *out)
{
    if (isnan(d) || isinf(d)) {
        const char *word = isnan(d) ? "nan" : d > 0 ? "inf" : "-inf";
        if (literal)
            sp_buf_printf(out, "CAST(\"%s\" AS %s)", word, float32 ? "FLOAT32" : "FLOAT64");
        else
            sp_buf_puts(out, word);
        return;
    }
    char text[48];
    if (float32) { /* the fewest of 6 to 9 digits that read back the same */
        for (int precision = 6; precision <= 9; precision++) {
            snprintf(text, sizeof(text), "%.*g", precision, d);
            if ((float)strtod(text, NULL) == (float)d)
                break;
        }
    } else {
        snprintf(text, sizeof(text), "%.15g", d);
        if (strtod(text, NULL) != d)
            snprintf(text, sizeof(text), "%.17g", d);
    }
    sp_buf_puts(out, text);
    if (!strpbrk(text, ".e"))
        sp_buf_puts(out, ".0");
}

/* A float in Spanner's JSON encoding: a number (a raw one as spanner_value writes them,
 * exact), or "NaN", "Infinity", "-Infinity". */
static double json_float(const cJSON *item)
{
    if (cJSON_IsRaw(item))
        return strtod(item->valuestring, NULL);
    if (cJSON_IsNumber(item))
        return item->valuedouble;
    const char *s = cJSON_GetStringValue(item);
    return !s || !strcmp(s, "NaN") ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
}

/* The quote a literal of text uses: ' when it has a " and no '. */
static char quote_for(const char *text, size_t len)
{
    return memchr(text, '"', len) && !memchr(text, '\'', len) ? '\'' : '"';
}

/* Escaped text: backslashes, the given quotes, a STRING's \n \r \t, and every other byte
 * outside printable ASCII (for a STRING only the ASCII controls) as \xNN. */
static void escape(const char *text, size_t len, bool bytes, const char *quotes, struct sp_buf *out)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        const char *named = bytes       ? NULL
                            : c == '\n' ? "\\n"
                            : c == '\r' ? "\\r"
                            : c == '\t' ? "\\t"
                                        : NULL;
        if (named)
            sp_buf_puts(out, named);
        else if (c == '\\' || (c && strchr(quotes, c)))
            sp_buf_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
            sp_buf_printf(out, "\\x%02x", c);
        else
            sp_buf_append(out, (const char *)&c, 1);
    }
}

/* A STRING or BYTES literal: "text", 'te"xt', b"..." */
static void literal(const char *prefix, const char *text, size_t len, bool bytes,
                    struct sp_buf *out)
{
    char quote[2] = {quote_for(text, len), '\0'};
    sp_buf_printf(out, "%s%s", prefix, quote);
    escape(text, len, bytes, quote, out);
    sp_buf_puts(out, quote);
}

/* A TIMESTAMP's JSON text ("2011-02-03T04:05:06.5Z") as FORMAT prints it: "2011-02-03
 * 04:05:06.500+00", the fraction in 3, 6 or 9 digits. */
static void timestamp_text(const char *json_text, struct sp_buf *out)
{
    size_t len = strlen(json_text);
    if (len < 20 || json_text[10] != 'T' || json_text[len - 1] != 'Z') {
        sp_buf_puts(out, json_text); /* not the form we write: as it is */
        return;
    }
    sp_buf_append(out, json_text, 10);
    sp_buf_puts(out, " ");
    sp_buf_append(out, json_text + 11, 8);
    const char *fraction = json_text[19] == '.' ? json_text + 20 : NULL;
    if (fraction) {
        size_t digits = len - 1 - 20, width = digits <= 3 ? 3 : digits <= 6 ? 6 : 9;
        sp_buf_printf(out, ".%.*s%.*s", (int)digits, fraction, (int)(width - digits), "000000000");
    }
    sp_buf_puts(out, "+00");
}

static void json_value_text(const struct sp_type *type, const cJSON *item, bool literal_form,
                            struct sp_buf *out);

/* An ARRAY: [e1, e2, ...], each element as %T prints it for %T, as %t for %t. */
static void array_text(const struct sp_type *type, const cJSON *array, bool literal_form,
                       struct sp_buf *out)
{
    struct sp_type element = sp_type_element(type);
    sp_buf_puts(out, "[");
    const cJSON *item;
    bool first = true;
    cJSON_ArrayForEach(item, array)
    {
        if (!first)
            sp_buf_puts(out, ", ");
        first = false;
        json_value_text(&element, item, literal_form, out);
    }
    sp_buf_puts(out, "]");
}

/* A STRUCT (its fields' values in a JSON array): (f1, f2, ...), each field as %t or %T
 * prints it; %T writes one field as STRUCT(f), since (f) would read as a value (and none
 * as STRUCT()). */
static void struct_text(const struct sp_type *type, const cJSON *fields, bool literal_form,
                        struct sp_buf *out)
{
    int n = type->struct_type ? type->struct_type->count : 0;
    sp_buf_puts(out, literal_form && n <= 1 ? "STRUCT(" : "(");
    const cJSON *item = cJSON_IsArray(fields) ? fields->child : NULL;
    for (int i = 0; i < n; i++, item = item ? item->next : NULL) {
        if (i > 0)
            sp_buf_puts(out, ", ");
        json_value_text(&type->struct_type->fields[i].type, item, literal_form, out);
    }
    sp_buf_puts(out, ")");
}

/* A value of type in Spanner's JSON encoding (spanner_value.h), as %t or %T prints it. */
static void json_value_text(const struct sp_type *type, const cJSON *item, bool literal_form,
                            struct sp_buf *out)
{
    enum sp_type_code code = type->code;
    const char *s = cJSON_GetStringValue(item);
    if (cJSON_IsNull(item) || !item) {
        sp_buf_puts(out, "NULL");
        return;
    }
    switch (code) {
    case SP_TYPE_BOOL:
        sp_buf_puts(out, cJSON_IsTrue(item) ? "true" : "false");
        return;
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        float_text(json_float(item), code == SP_TYPE_FLOAT32, literal_form, out);
        return;
    case SP_TYPE_ARRAY:
        array_text(type, item, literal_form, out);
        return;
    case SP_TYPE_STRUCT:
        struct_text(type, item, literal_form, out);
        return;
    case SP_TYPE_BYTES: {
        unsigned char *raw = NULL;
        size_t len = 0;
        if (!s || !em_b64_decode(s, strlen(s), &raw, &len)) {
            out->failed = true;
            return;
        }
        if (literal_form)
            literal("b", (const char *)raw, len, true, out);
        else
            escape((const char *)raw, len, true, "'\"", out);
        free(raw);
        return;
    }
    default:
        break;
    }
    if (!s) {
        out->failed = true;
        return;
    }
    if (code == SP_TYPE_TIMESTAMP) {
        if (literal_form)
            sp_buf_puts(out, "TIMESTAMP \"");
        timestamp_text(s, out);
        if (literal_form)
            sp_buf_puts(out, "\"");
    } else if (!literal_form || code == SP_TYPE_INT64) {
        sp_buf_puts(out, s);
    } else if (code == SP_TYPE_STRING || code == SP_TYPE_JSON) {
        literal(code == SP_TYPE_JSON ? "JSON " : "", s, strlen(s), false, out);
    } else { /* NUMERIC, DATE */
        sp_buf_printf(out, "%s \"%s\"", code == SP_TYPE_NUMERIC ? "NUMERIC" : "DATE", s);
    }
}

/* The text %t (literal_form false) or %T (true) prints for v; false when out of memory or
 * the stored value is not of its type's form. */
static bool value_text(const struct sp_type *type, sqlite3_value *v, bool literal_form,
                       struct sp_buf *out)
{
    if (type->code == SP_TYPE_STRING && sqlite3_value_type(v) != SQLITE_NULL && !literal_form) {
        sp_buf_puts(out, (const char *)sqlite3_value_text(v)); /* as it is, no JSON round trip */
        return !out->failed;
    }
    cJSON *json = sp_value_to_json(type, v);
    if (!json)
        return false;
    json_value_text(type, json, literal_form, out);
    cJSON_Delete(json);
    return !out->failed;
}

/* ---- FORMAT ---- */

/* The C formats below are built by c_format from a spec read_spec validated (flags, width,
 * precision and one conversion of the matching argument type), never from user text. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static bool format_one(sqlite3_context *ctx, struct sp_buf *out, const struct spec *spec,
                       const struct sp_type *type, sqlite3_value *v, int position)
{
    char fmt[48];
    char conversion = spec->conversion;
    enum sp_type_code code = type->code, want = conversion_type(conversion);
    bool integer = want == SP_TYPE_INT64, floating = want == SP_TYPE_FLOAT64;
    bool fits = want == SP_TYPE_UNKNOWN || code == want || (floating && code == SP_TYPE_FLOAT32);
    if (!fits) {
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: Invalid type for argument %d to FORMAT; Expected %s; Got %s",
                    position, sp_format_type_name(want, true), sp_format_type_name(code, false));
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
    struct sp_buf text = {0};
    if (!value_text(type, v, conversion == 'T', &text)) {
        if (text.failed)
            sqlite3_result_error_nomem(ctx);
        else
            sp_fn_error(ctx, "INTERNAL: a stored value is not of its type's form");
        sp_buf_free(&text);
        return false;
    }
    struct spec as_string = *spec;
    as_string.flags[0] = strchr(spec->flags, '-') ? '-' : '\0';
    as_string.flags[1] = '\0';
    c_format(&as_string, "", 's', fmt, sizeof(fmt));
    sp_buf_printf(out, fmt, text.data ? text.data : "");
    sp_buf_free(&text);
    return true;
}
#pragma GCC diagnostic pop

/* An argument's type: its format code (SP_FORMAT_CODE), or the REST Type JSON text of a
 * STRUCT or ARRAY of STRUCT (its fields in arena); false when that does not read. */
static bool argument_type(sqlite3_value *code, struct sp_arena *arena, struct sp_type *out)
{
    if (sqlite3_value_type(code) != SQLITE_TEXT) {
        int c = sqlite3_value_int(code);
        *out = (struct sp_type){SP_FORMAT_TYPE(c), SP_FORMAT_ELEMENT(c), 0, NULL};
        return true;
    }
    cJSON *json = cJSON_Parse((const char *)sqlite3_value_text(code));
    struct em_status st = {0};
    bool ok = json && sp_type_from_json(json, "type", arena, out, &st) == EM_OK;
    cJSON_Delete(json);
    return ok;
}

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
            struct sp_arena arena = {0};
            struct sp_type type;
            ok = argument_type(argv[next], &arena, &type);
            if (!ok)
                sp_fn_error(ctx, "INTERNAL: a value's type could not be read");
            else
                ok = format_one(ctx, &out, &spec, &type, argv[next + 1], (next + 1) / 2 + 1);
            sp_arena_free(&arena);
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
    else if (ok && out.len > SP_FUNCTION_OUTPUT_MAX)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Output string too long while evaluating FORMAT; limit %d",
                    SP_FUNCTION_OUTPUT_MAX);
    else if (ok)
        sqlite3_result_text(ctx, out.data ? out.data : "", (int)out.len, SQLITE_TRANSIENT);
    sp_buf_free(&out);
}

int sp_sql_format_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {{"sp_format", -1, fn_format}};
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
