/*
 * spanner_value: GoogleSQL types and the conversions of values between Spanner's JSON
 * encoding and their SQLite storage form (the table is in spanner_value.h).
 */
#include "spanner_value.h"
#include "spanner_json_value.h"

#include "em_tz.h"

#include "em_json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {
    [SP_TYPE_UNKNOWN] = "TYPE_CODE_UNSPECIFIED",
    [SP_TYPE_BOOL] = "BOOL",
    [SP_TYPE_INT64] = "INT64",
    [SP_TYPE_FLOAT64] = "FLOAT64",
    [SP_TYPE_FLOAT32] = "FLOAT32",
    [SP_TYPE_NUMERIC] = "NUMERIC",
    [SP_TYPE_STRING] = "STRING",
    [SP_TYPE_BYTES] = "BYTES",
    [SP_TYPE_DATE] = "DATE",
    [SP_TYPE_TIMESTAMP] = "TIMESTAMP",
    [SP_TYPE_JSON] = "JSON",
    [SP_TYPE_ARRAY] = "ARRAY",
    [SP_TYPE_STRUCT] = "STRUCT",
};

const char *sp_type_code_name(enum sp_type_code code)
{
    if ((unsigned)code >= sizeof(type_names) / sizeof(type_names[0]))
        return "TYPE_CODE_UNSPECIFIED";
    return type_names[code];
}

enum sp_type_code sp_type_code_parse(const char *name)
{
    for (int c = SP_TYPE_BOOL; c <= SP_TYPE_STRUCT; c++)
        if (strcmp(type_names[c], name) == 0)
            return (enum sp_type_code)c;
    return SP_TYPE_UNKNOWN;
}

struct sp_type sp_type_element(const struct sp_type *array)
{
    struct sp_type element = {array->element, SP_TYPE_UNKNOWN, array->length, NULL};
    if (array->element == SP_TYPE_STRUCT)
        element.struct_type = array->struct_type;
    return element;
}

bool sp_type_is_composite(enum sp_type_code code)
{
    return code == SP_TYPE_ARRAY || code == SP_TYPE_STRUCT;
}

bool sp_type_copy(struct sp_arena *arena, const struct sp_type *type, struct sp_type *out)
{
    *out = *type;
    const struct sp_struct_type *from = type->struct_type;
    if (!from)
        return true;
    struct sp_struct_type *copy = sp_arena_alloc(arena, sizeof(*copy));
    struct sp_struct_field *fields =
        sp_arena_alloc(arena, (size_t)(from->count ? from->count : 1) * sizeof(*fields));
    if (!copy || !fields)
        return false;
    for (int i = 0; i < from->count; i++) {
        fields[i].name = sp_arena_strdup(arena, from->fields[i].name);
        if (!fields[i].name || !sp_type_copy(arena, &from->fields[i].type, &fields[i].type))
            return false;
    }
    copy->count = from->count;
    copy->fields = fields;
    out->struct_type = copy;
    return true;
}

static void format_scalar(enum sp_type_code code, long length, bool with_length, char *out,
                          size_t size)
{
    if (with_length && (code == SP_TYPE_STRING || code == SP_TYPE_BYTES)) {
        if (length == SP_LEN_MAX || length == 0)
            snprintf(out, size, "%s(MAX)", sp_type_code_name(code));
        else
            snprintf(out, size, "%s(%ld)", sp_type_code_name(code), length);
        return;
    }
    snprintf(out, size, "%s", sp_type_code_name(code));
}

/* Appends text to out (of size), truncating; *used counts what was written. */
static void append_text(char *out, size_t size, size_t *used, const char *text)
{
    int n = snprintf(out + *used, size - *used, "%s", text);
    if (n > 0)
        *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

static void format_struct(const struct sp_struct_type *s, bool with_length, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    append_text(out, size, &used, "STRUCT<");
    for (int i = 0; s && i < s->count; i++) {
        char field[256];
        sp_type_format(&s->fields[i].type, with_length, field, sizeof(field));
        append_text(out, size, &used, i ? ", " : "");
        append_text(out, size, &used, s->fields[i].name);
        append_text(out, size, &used, s->fields[i].name[0] ? " " : "");
        append_text(out, size, &used, field);
    }
    append_text(out, size, &used, ">");
}

void sp_type_format(const struct sp_type *type, bool with_length, char *out, size_t size)
{
    if (size == 0)
        return;
    if (type->code == SP_TYPE_STRUCT) {
        format_struct(type->struct_type, with_length, out, size);
        return;
    }
    if (type->code != SP_TYPE_ARRAY) {
        format_scalar(type->code, type->length, with_length, out, size);
        return;
    }
    char element[256];
    struct sp_type of = sp_type_element(type);
    sp_type_format(&of, with_length, element, sizeof(element));
    size_t used = 0;
    out[0] = '\0';
    append_text(out, size, &used, "ARRAY<");
    append_text(out, size, &used, element);
    append_text(out, size, &used, ">");
}

static bool struct_types_equal(const struct sp_struct_type *a, const struct sp_struct_type *b)
{
    if (!a || !b)
        return a == b;
    if (a->count != b->count)
        return false;
    for (int i = 0; i < a->count; i++)
        if (!sp_type_equal(&a->fields[i].type, &b->fields[i].type))
            return false;
    return true;
}

bool sp_type_equal(const struct sp_type *a, const struct sp_type *b)
{
    if (a->code != b->code)
        return false;
    if (a->code == SP_TYPE_STRUCT)
        return struct_types_equal(a->struct_type, b->struct_type);
    if (a->code != SP_TYPE_ARRAY)
        return true;
    return a->element == b->element &&
           (a->element != SP_TYPE_STRUCT || struct_types_equal(a->struct_type, b->struct_type));
}

bool sp_type_is_numeric(enum sp_type_code code)
{
    return code == SP_TYPE_INT64 || code == SP_TYPE_FLOAT64 || code == SP_TYPE_FLOAT32 ||
           code == SP_TYPE_NUMERIC;
}

static cJSON *struct_type_to_json(const struct sp_struct_type *s)
{
    cJSON *json = cJSON_CreateObject();
    cJSON *fields = json ? cJSON_AddArrayToObject(json, "fields") : NULL;
    for (int i = 0; fields && s && i < s->count; i++) {
        cJSON *field = cJSON_CreateObject();
        if (!field)
            break;
        if (s->fields[i].name[0])
            cJSON_AddStringToObject(field, "name", s->fields[i].name);
        cJSON_AddItemToObject(field, "type", sp_type_to_json(&s->fields[i].type));
        cJSON_AddItemToArray(fields, field);
    }
    return json;
}

cJSON *sp_type_to_json(const struct sp_type *type)
{
    cJSON *json = cJSON_CreateObject();
    if (!json)
        return NULL;
    cJSON_AddStringToObject(json, "code", sp_type_code_name(type->code));
    if (type->code == SP_TYPE_ARRAY) {
        struct sp_type element = sp_type_element(type);
        cJSON_AddItemToObject(json, "arrayElementType", sp_type_to_json(&element));
    } else if (type->code == SP_TYPE_STRUCT) {
        cJSON_AddItemToObject(json, "structType", struct_type_to_json(type->struct_type));
    }
    return json;
}

/* The TypeCode numbers of google/spanner/v1/type.proto, which Google's client libraries
 * send instead of names (`$alt=json;enum-encoding=int`); UNKNOWN for any other. */
static enum sp_type_code type_code_from_number(int number)
{
    static const struct {
        int number;
        enum sp_type_code code;
    } numbers[] = {
        {1, SP_TYPE_BOOL},   {2, SP_TYPE_INT64},    {3, SP_TYPE_FLOAT64}, {4, SP_TYPE_TIMESTAMP},
        {5, SP_TYPE_DATE},   {6, SP_TYPE_STRING},   {7, SP_TYPE_BYTES},   {8, SP_TYPE_ARRAY},
        {9, SP_TYPE_STRUCT}, {10, SP_TYPE_NUMERIC}, {11, SP_TYPE_JSON},   {15, SP_TYPE_FLOAT32},
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
        if (numbers[i].number == number)
            return numbers[i].code;
    return SP_TYPE_UNKNOWN;
}

/* A Type's `code`, given by name ("INT64") or by its proto number (2). */
static enum sp_type_code type_code_of(const cJSON *type)
{
    const cJSON *code =
        cJSON_IsObject(type) ? cJSON_GetObjectItemCaseSensitive(type, "code") : NULL;
    if (cJSON_IsString(code))
        return sp_type_code_parse(code->valuestring);
    if (cJSON_IsNumber(code) && code->valuedouble == (double)code->valueint)
        return type_code_from_number(code->valueint);
    return SP_TYPE_UNKNOWN;
}

static enum em_code type_from_json(const cJSON *json, const char *what, struct sp_arena *arena,
                                   int depth, struct sp_type *out, struct em_status *st);

/* structType {"fields":[{"name":..., "type":{...}}, ...]} into out->struct_type. */
static enum em_code struct_from_json(const cJSON *json, const char *what, struct sp_arena *arena,
                                     int depth, struct sp_type *out, struct em_status *st)
{
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(json, "structType"), "fields");
    if (fields && !cJSON_IsArray(fields))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid type for %s: structType.fields must be a list", what);
    int count = cJSON_GetArraySize(fields);
    struct sp_struct_type *s = sp_arena_alloc(arena, sizeof(*s));
    struct sp_struct_field *list =
        sp_arena_alloc(arena, (size_t)(count ? count : 1) * sizeof(*list));
    if (!s || !list)
        return EM_FAIL_OOM(st);
    for (int i = 0; i < count; i++) {
        const cJSON *field = cJSON_GetArrayItem(fields, i);
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(field, "name");
        if (!cJSON_IsObject(field) || (name && !cJSON_IsString(name)))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid type for %s: a STRUCT field needs a type and an optional "
                           "string name",
                           what);
        list[i].name = sp_arena_strdup(arena, name ? name->valuestring : "");
        if (!list[i].name)
            return EM_FAIL_OOM(st);
        if (type_from_json(cJSON_GetObjectItemCaseSensitive(field, "type"), what, arena, depth + 1,
                           &list[i].type, st))
            return st->code;
    }
    s->count = count;
    s->fields = list;
    out->struct_type = s;
    return EM_OK;
}

static enum em_code type_from_json(const cJSON *json, const char *what, struct sp_arena *arena,
                                   int depth, struct sp_type *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (depth > SP_TYPE_MAX_DEPTH)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid type for %s: types nest more than %d levels deep", what,
                       SP_TYPE_MAX_DEPTH);
    enum sp_type_code parsed = type_code_of(json);
    if (parsed == SP_TYPE_UNKNOWN)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid type for %s: expected a Type with a code",
                       what);
    out->code = parsed;
    out->length = (parsed == SP_TYPE_STRING || parsed == SP_TYPE_BYTES) ? SP_LEN_MAX : 0;
    if (parsed == SP_TYPE_STRUCT)
        return struct_from_json(json, what, arena, depth, out, st);
    if (parsed != SP_TYPE_ARRAY)
        return EM_OK;
    struct sp_type element;
    const cJSON *element_json = cJSON_GetObjectItemCaseSensitive(json, "arrayElementType");
    if (type_code_of(element_json) == SP_TYPE_ARRAY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid type for %s: an ARRAY cannot hold an ARRAY", what);
    if (type_code_of(element_json) == SP_TYPE_UNKNOWN)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid type for %s: an ARRAY needs an arrayElementType", what);
    if (type_from_json(element_json, what, arena, depth + 1, &element, st))
        return st->code;
    out->element = element.code;
    out->length = element.length;
    out->struct_type = element.struct_type;
    return EM_OK;
}

enum em_code sp_type_from_json(const cJSON *json, const char *what, struct sp_arena *arena,
                               struct sp_type *out, struct em_status *st)
{
    return type_from_json(json, what, arena, 0, out, st);
}

/* ---- NUMERIC ---- */

#define NUMERIC_DIGITS 38

static sp_numeric numeric_limit(void)
{
    sp_numeric limit = 1;
    for (int i = 0; i < NUMERIC_DIGITS; i++)
        limit *= 10;
    return limit; /* 10^38: |value * 10^9| must stay below it */
}

bool sp_numeric_in_range(sp_numeric value)
{
    sp_numeric limit = numeric_limit();
    return value < limit && value > -limit;
}

/* Appends one decimal digit to *acc; false past 10^38 (out of range). */
static bool push_digit(sp_numeric *acc, int digit)
{
    if (*acc > (numeric_limit() - 1 - digit) / 10)
        return false;
    *acc = *acc * 10 + digit;
    return true;
}

bool sp_numeric_parse(const char *text, sp_numeric *out)
{
    const char *p = text;
    bool negative = false;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    char digits[128];
    size_t ndigits = 0, point = (size_t)-1;
    bool any = false;
    for (; isdigit((unsigned char)*p) || *p == '.'; p++) {
        if (*p == '.') {
            if (point != (size_t)-1)
                return false;
            point = ndigits;
            continue;
        }
        any = true;
        if (ndigits == 0 && *p == '0' && point == (size_t)-1)
            continue; /* leading zeros of the integer part */
        if (ndigits >= sizeof(digits))
            return false;
        digits[ndigits++] = *p;
    }
    if (!any)
        return false;
    long exponent = 0;
    if (*p == 'e' || *p == 'E') {
        char *end;
        exponent = strtol(p + 1, &end, 10);
        if (end == p + 1 || exponent > 100 || exponent < -100)
            return false;
        p = end;
    }
    if (*p != '\0')
        return false;
    /* value = digits * 10^(exponent - fraction digits); we want value * 10^9 */
    long fraction = point == (size_t)-1 ? 0 : (long)(ndigits - point);
    long shift = 9 + exponent - fraction; /* digits * 10^shift */
    sp_numeric acc = 0;
    long keep = (long)ndigits + (shift < 0 ? shift : 0);
    for (long i = 0; i < keep; i++)
        if (!push_digit(&acc, digits[i] - '0'))
            return false;
    for (long i = 0; i < shift; i++)
        if (!push_digit(&acc, 0))
            return false;
    if (keep >= 0 && keep < (long)ndigits && digits[keep] >= '5')
        acc += 1; /* half away from zero: the sign is applied below */
    if (!sp_numeric_in_range(acc))
        return false;
    *out = negative ? -acc : acc;
    return true;
}

static void digits_of(sp_numeric magnitude, char out[NUMERIC_DIGITS + 1])
{
    for (int i = NUMERIC_DIGITS - 1; i >= 0; i--) {
        out[i] = (char)('0' + (int)(magnitude % 10));
        magnitude /= 10;
    }
    out[NUMERIC_DIGITS] = '\0';
}

void sp_numeric_format(sp_numeric value, char out[SP_NUMERIC_TEXT_MAX])
{
    char digits[NUMERIC_DIGITS + 1];
    digits_of(value < 0 ? -value : value, digits);
    const char *integer = digits;
    while (integer < digits + NUMERIC_DIGITS - 10 && *integer == '0')
        integer++;
    int int_len = (int)(digits + NUMERIC_DIGITS - 9 - integer);
    char fraction[10];
    memcpy(fraction, digits + NUMERIC_DIGITS - 9, 9);
    int frac_len = 9;
    while (frac_len > 0 && fraction[frac_len - 1] == '0')
        frac_len--;
    snprintf(out, SP_NUMERIC_TEXT_MAX, "%s%.*s%s%.*s", value < 0 ? "-" : "", int_len, integer,
             frac_len ? "." : "", frac_len, fraction);
}

void sp_numeric_encode(sp_numeric value, char out[SP_NUMERIC_KEY_LEN + 1])
{
    out[0] = value < 0 ? 'N' : 'P';
    digits_of(value < 0 ? -value : value, out + 1);
    if (value < 0)
        for (int i = 1; i <= NUMERIC_DIGITS; i++)
            out[i] = (char)('9' - (out[i] - '0'));
}

bool sp_numeric_decode(const char *key, size_t len, sp_numeric *out)
{
    if (len != SP_NUMERIC_KEY_LEN || (key[0] != 'P' && key[0] != 'N'))
        return false;
    sp_numeric acc = 0;
    for (size_t i = 1; i < len; i++) {
        if (!isdigit((unsigned char)key[i]))
            return false;
        int digit = key[i] - '0';
        acc = acc * 10 + (key[0] == 'N' ? 9 - digit : digit);
    }
    *out = key[0] == 'N' ? -acc : acc;
    return true;
}

/* ---- DATE and TIMESTAMP (civil calendar conversions after Howard Hinnant) ---- */

int64_t sp_days_from_civil(int64_t year, unsigned month, unsigned day)
{
    return em_days_from_civil(year, (int)month, (int)day);
}

void sp_civil_from_days(int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    int m, d;
    em_civil_from_days(days, year, &m, &d);
    *month = (unsigned)m;
    *day = (unsigned)d;
}

/* 1 for Monday to 7 for Sunday (day 0, 1970-01-01, was a Thursday). */
static int64_t iso_weekday(int64_t days)
{
    return ((days % 7) + 7 + 3) % 7 + 1;
}

int64_t sp_iso_year_start(int64_t iso_year)
{
    int64_t jan4 = sp_days_from_civil(iso_year, 1, 4); /* always in week 1 */
    return jan4 - (iso_weekday(jan4) - 1);
}

int64_t sp_iso_year(int64_t days, unsigned *week)
{
    int64_t thursday = days - (iso_weekday(days) - 1) + 3; /* its week's: in the ISO year */
    int64_t year;
    unsigned month, day;
    sp_civil_from_days(thursday, &year, &month, &day);
    if (week)
        *week = (unsigned)((thursday - sp_days_from_civil(year, 1, 1)) / 7 + 1);
    return year;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t year, unsigned month)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Reads exactly n digits. */
static bool read_digits(const char **p, int n, int *out)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        value = value * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = value;
    return true;
}

/* YYYY-M[M]-D[D] at *p, advancing past it. */
static bool read_date(const char **p, int64_t *days)
{
    int year, month, day;
    if (!read_digits(p, 4, &year) || *(*p)++ != '-')
        return false;
    if (!read_digits(p, 2, &month) && !read_digits(p, 1, &month))
        return false;
    if (*(*p)++ != '-')
        return false;
    if (!read_digits(p, 2, &day) && !read_digits(p, 1, &day))
        return false;
    if (year < 1 || month < 1 || month > 12 || day < 1 ||
        (unsigned)day > days_in_month(year, (unsigned)month))
        return false;
    *days = sp_days_from_civil(year, (unsigned)month, (unsigned)day);
    return true;
}

bool sp_date_parse(const char *text, int64_t *days)
{
    const char *p = text;
    return read_date(&p, days) && *p == '\0';
}

void sp_date_format(int64_t days, char out[SP_DATE_TEXT_LEN + 1])
{
    int64_t year;
    unsigned month, day;
    char text[48];
    sp_civil_from_days(days, &year, &month, &day);
    snprintf(text, sizeof(text), "%04d-%02u-%02u", (int)year, month % 100, day % 100);
    memcpy(out, text, SP_DATE_TEXT_LEN);
    out[SP_DATE_TEXT_LEN] = '\0';
}

#define MIN_TIMESTAMP_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define MAX_TIMESTAMP_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

static bool read_zone(const char **p, int64_t *offset_seconds)
{
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        *offset_seconds = 0;
        return true;
    }
    if (**p != '+' && **p != '-')
        return false;
    int sign = *(*p)++ == '-' ? -1 : 1, hours, minutes = 0;
    if (!read_digits(p, 2, &hours) && !read_digits(p, 1, &hours))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!read_digits(p, 2, &minutes))
            return false;
    }
    if (hours > 14 || minutes > 59)
        return false;
    *offset_seconds = sign * (hours * 3600 + minutes * 60);
    return true;
}

bool sp_timestamp_parse(const char *text, struct sp_timestamp *out, bool *missing_zone)
{
    const char *p = text;
    int64_t days, offset = 0;
    int hour = 0, minute = 0, second = 0, nanos = 0;
    *missing_zone = false;
    if (!read_date(&p, &days))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!read_digits(&p, 2, &hour) && !read_digits(&p, 1, &hour))
            return false;
        if (*p++ != ':' || !read_digits(&p, 2, &minute) || *p++ != ':' ||
            !read_digits(&p, 2, &second))
            return false;
        if (*p == '.') {
            p++;
            int n = 0;
            for (; isdigit((unsigned char)*p); p++, n++) {
                if (n >= 9)
                    return false;
                nanos = nanos * 10 + (*p - '0');
            }
            if (n == 0)
                return false;
            for (; n < 9; n++)
                nanos *= 10;
        }
        if (hour > 23 || minute > 59 || second > 59)
            return false;
    }
    if (*p == ' ')
        p++;
    if (*p == '\0') {
        *missing_zone = true;
        return false;
    }
    if (!read_zone(&p, &offset) || *p != '\0')
        return false;
    int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset;
    if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS)
        return false;
    out->seconds = seconds;
    out->nanos = nanos;
    return true;
}

bool sp_timestamp_parse_text(const char *text, const char *zone_name, struct sp_timestamp *out)
{
    bool missing_zone;
    if (sp_timestamp_parse(text, out, &missing_zone))
        return true;
    /* the civil time read as if in UTC, then moved to its zone's instant */
    size_t len = strlen(text);
    if (!missing_zone) {
        const char *space = strrchr(text, ' ');
        if (!space || !isalpha((unsigned char)space[1]))
            return false;
        zone_name = space + 1;
        len = (size_t)(space - text);
    }
    char civil[SP_TIMESTAMP_TEXT_MAX + 2];
    struct em_zone zone;
    if (len + 2 > sizeof(civil))
        return false;
    memcpy(civil, text, len);
    memcpy(civil + len, "Z", 2);
    if (!sp_timestamp_parse(civil, out, &missing_zone) ||
        !em_zone_find(zone_name ? zone_name : SP_TZ_DEFAULT, &zone))
        return false;
    out->seconds = em_zone_to_utc(&zone, out->seconds);
    return out->seconds >= MIN_TIMESTAMP_SECONDS && out->seconds <= MAX_TIMESTAMP_SECONDS;
}

static void split_seconds(int64_t seconds, int64_t *days, int *hour, int *minute, int *second)
{
    int64_t d = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    int64_t rest = seconds - d * 86400;
    *days = d;
    *hour = (int)(rest / 3600);
    *minute = (int)(rest / 60 % 60);
    *second = (int)(rest % 60);
}

void sp_timestamp_encode(const struct sp_timestamp *ts, char out[SP_TIMESTAMP_KEY_LEN + 1])
{
    int64_t days;
    int hour, minute, second;
    char date[SP_DATE_TEXT_LEN + 1], text[80];
    split_seconds(ts->seconds, &days, &hour, &minute, &second);
    sp_date_format(days, date);
    snprintf(text, sizeof(text), "%sT%02d:%02d:%02d.%09dZ", date, hour, minute, second,
             (int)ts->nanos);
    memcpy(out, text, SP_TIMESTAMP_KEY_LEN);
    out[SP_TIMESTAMP_KEY_LEN] = '\0';
}

void sp_timestamp_format(const struct sp_timestamp *ts, char out[SP_TIMESTAMP_TEXT_MAX])
{
    char key[SP_TIMESTAMP_KEY_LEN + 1];
    sp_timestamp_encode(ts, key);
    size_t len = SP_TIMESTAMP_KEY_LEN - 1; /* without the Z */
    while (key[len - 1] == '0')
        len--;
    if (key[len - 1] == '.')
        len--;
    snprintf(out, SP_TIMESTAMP_TEXT_MAX, "%.*sZ", (int)len, key);
}

/* ---- FLOAT64 NaN ---- */

bool sp_value_is_nan(sqlite3_value *value)
{
    return sqlite3_value_type(value) == SQLITE_TEXT &&
           strcmp((const char *)sqlite3_value_text(value), SP_NAN_TEXT) == 0;
}

double sp_value_float(sqlite3_value *value)
{
    return sp_value_is_nan(value) ? NAN : sqlite3_value_double(value);
}

void sp_result_float(sqlite3_context *ctx, double d)
{
    if (isnan(d))
        sqlite3_result_text(ctx, SP_NAN_TEXT, -1, SQLITE_STATIC);
    else
        sqlite3_result_double(ctx, d);
}

/* ---- JSON -> storage ---- */

void sp_stored_clear(struct sp_stored *stored)
{
    free(stored->data);
    memset(stored, 0, sizeof(*stored));
    stored->kind = SQLITE_NULL;
}

int sp_stored_bind(sqlite3_stmt *stmt, int index, const struct sp_stored *stored)
{
    switch (stored->kind) {
    case SQLITE_INTEGER:
        return sqlite3_bind_int64(stmt, index, stored->i);
    case SQLITE_FLOAT:
        return sqlite3_bind_double(stmt, index, stored->d);
    case SQLITE_TEXT:
        return sqlite3_bind_text(stmt, index, stored->data, (int)stored->len, SQLITE_TRANSIENT);
    case SQLITE_BLOB:
        return sqlite3_bind_blob(stmt, index, stored->data ? stored->data : "", (int)stored->len,
                                 SQLITE_TRANSIENT);
    default:
        return sqlite3_bind_null(stmt, index);
    }
}

static enum em_code stored_text(struct sp_stored *stored, const char *text, size_t len,
                                struct em_status *st)
{
    stored->data = malloc(len + 1);
    if (!stored->data)
        return EM_FAIL_OOM(st);
    memcpy(stored->data, text, len);
    stored->data[len] = '\0';
    stored->len = len;
    stored->kind = SQLITE_TEXT;
    return EM_OK;
}

static enum em_code bad_value(const struct sp_type *type, const char *what, struct em_status *st)
{
    char name[128];
    sp_type_format(type, false, name, sizeof(name));
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value for %s: Expected %s.", what, name);
}

size_t sp_utf8_chars(const char *text, size_t len)
{
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)text[i] & 0xC0) != 0x80;
    return chars;
}

static enum em_code check_length(const struct sp_type *type, size_t units, const char *what,
                                 struct em_status *st)
{
    long limit = type->length;
    if (limit == SP_LEN_MAX || limit == 0)
        limit = type->code == SP_TYPE_BYTES || type->element == SP_TYPE_BYTES ? SP_BYTES_MAX
                                                                              : SP_STRING_MAX_CHARS;
    if ((long)units > limit)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "New value exceeds the maximum size limit for this column: %s, size: %zu, "
                       "limit: %ld.",
                       what, units, limit);
    return EM_OK;
}

/* A TIMESTAMP in Spanner's JSON encoding: RFC 3339 with an uppercase T and Z (no other
 * zone); fraction digits past the ninth are dropped, as Spanner drops them. */
static bool timestamp_from_json(const char *text, struct sp_timestamp *out)
{
    const char *t = strchr(text, 'T');
    size_t len = strlen(text);
    if (!t || len < 2 || text[len - 1] != 'Z')
        return false;
    char kept[SP_TIMESTAMP_TEXT_MAX + 1];
    const char *dot = strchr(t, '.');
    size_t head = dot ? (size_t)(dot - text) + 1 : len;
    size_t digits = dot ? strspn(dot + 1, "0123456789") : 0;
    if (head + (digits > 9 ? 9 : digits) + 2 > sizeof(kept))
        return false;
    if (digits > 9) {
        if (dot[1 + digits] != 'Z' || dot[2 + digits] != '\0')
            return false;
        memcpy(kept, text, head + 9);
        memcpy(kept + head + 9, "Z", 2);
        text = kept;
    }
    bool missing_zone;
    return sp_timestamp_parse(text, out, &missing_zone);
}

static enum em_code float_from_json(const struct sp_type *type, const cJSON *json, const char *what,
                                    struct sp_stored *stored, struct em_status *st)
{
    double d;
    if (cJSON_IsNumber(json)) {
        d = json->valuedouble;
    } else if (cJSON_IsString(json) && strcmp(json->valuestring, "Infinity") == 0) {
        d = INFINITY;
    } else if (cJSON_IsString(json) && strcmp(json->valuestring, "-Infinity") == 0) {
        d = -INFINITY;
    } else if (cJSON_IsString(json) && strcmp(json->valuestring, "NaN") == 0) {
        return stored_text(stored, SP_NAN_TEXT, strlen(SP_NAN_TEXT), st);
    } else {
        return bad_value(type, what, st);
    }
    stored->kind = SQLITE_FLOAT;
    stored->d = type->code == SP_TYPE_FLOAT32 ? (double)(float)d : d;
    return EM_OK;
}

static enum em_code scalar_from_json(const struct sp_type *type, const cJSON *json,
                                     const char *what, struct sp_stored *stored,
                                     struct em_status *st)
{
    const char *s = cJSON_IsString(json) ? json->valuestring : NULL;
    switch (type->code) {
    case SP_TYPE_BOOL:
        if (!cJSON_IsBool(json))
            return bad_value(type, what, st);
        stored->kind = SQLITE_INTEGER;
        stored->i = cJSON_IsTrue(json);
        return EM_OK;
    case SP_TYPE_INT64: { /* a string in Spanner's JSON encoding, never a number */
        int64_t v;
        if (!s || !em_json_value_int64(json, &v))
            return bad_value(type, what, st);
        stored->kind = SQLITE_INTEGER;
        stored->i = v;
        return EM_OK;
    }
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        return float_from_json(type, json, what, stored, st);
    case SP_TYPE_NUMERIC: {
        sp_numeric n;
        char key[SP_NUMERIC_KEY_LEN + 1];
        if (!s || !sp_numeric_parse(s, &n))
            return bad_value(type, what, st);
        sp_numeric_encode(n, key);
        return stored_text(stored, key, SP_NUMERIC_KEY_LEN, st);
    }
    case SP_TYPE_STRING:
        if (!s)
            return bad_value(type, what, st);
        if (check_length(type, sp_utf8_chars(s, strlen(s)), what, st))
            return st->code;
        return stored_text(stored, s, strlen(s), st);
    case SP_TYPE_BYTES: {
        unsigned char *bytes;
        size_t len;
        if (!s || !em_b64_decode(s, strlen(s), &bytes, &len))
            return bad_value(type, what, st);
        stored->kind = SQLITE_BLOB;
        stored->data = (char *)bytes;
        stored->len = len;
        return check_length(type, len, what, st);
    }
    case SP_TYPE_DATE: {
        int64_t days;
        char text[SP_DATE_TEXT_LEN + 1];
        if (!s || !sp_date_parse(s, &days))
            return bad_value(type, what, st);
        sp_date_format(days, text);
        return stored_text(stored, text, SP_DATE_TEXT_LEN, st);
    }
    case SP_TYPE_TIMESTAMP: {
        struct sp_timestamp ts;
        char key[SP_TIMESTAMP_KEY_LEN + 1];
        if (!s || !timestamp_from_json(s, &ts))
            return bad_value(type, what, st);
        sp_timestamp_encode(&ts, key);
        return stored_text(stored, key, SP_TIMESTAMP_KEY_LEN, st);
    }
    case SP_TYPE_JSON: {
        char *text = s ? sp_json_normalize(s, strlen(s)) : NULL;
        if (!text)
            return bad_value(type, what, st);
        stored->kind = SQLITE_TEXT;
        stored->data = text;
        stored->len = strlen(text);
        return EM_OK;
    }
    default:
        return bad_value(type, what, st);
    }
}

/* The JSON form of a stored scalar (a checked array element's canonical encoding). */
static cJSON *scalar_to_json(enum sp_type_code code, int kind, int64_t i, double d,
                             const char *data, size_t len);

/* The canonical JSON encoding of a value of a composite type (ARRAY, STRUCT) or, inside
 * one, of any type: each scalar checked and re-encoded, a STRUCT as the list of its
 * fields. NULL with st set when json does not hold such a value. */
static cJSON *normalized_json(const struct sp_type *type, const cJSON *json, const char *what,
                              struct em_status *st)
{
    if (cJSON_IsNull(json))
        return cJSON_CreateNull();
    if (!sp_type_is_composite(type->code)) {
        struct sp_stored one = {SQLITE_NULL};
        if (scalar_from_json(type, json, what, &one, st))
            return NULL;
        cJSON *out = scalar_to_json(type->code, one.kind, one.i, one.d, one.data, one.len);
        sp_stored_clear(&one);
        if (!out)
            EM_FAIL_OOM(st);
        return out;
    }
    bool is_struct = type->code == SP_TYPE_STRUCT;
    if (!cJSON_IsArray(json) ||
        (is_struct &&
         (!type->struct_type || cJSON_GetArraySize(json) != type->struct_type->count))) {
        bad_value(type, what, st);
        return NULL;
    }
    cJSON *normalized = cJSON_CreateArray();
    if (!normalized) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    struct sp_type element = sp_type_element(type);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        const struct sp_type *of = is_struct ? &type->struct_type->fields[i].type : &element;
        cJSON *out = normalized_json(of, item, what, st);
        if (!out) {
            cJSON_Delete(normalized);
            return NULL;
        }
        cJSON_AddItemToArray(normalized, out);
        i++;
    }
    return normalized;
}

static enum em_code composite_from_json(const struct sp_type *type, const cJSON *json,
                                        const char *what, struct sp_stored *stored,
                                        struct em_status *st)
{
    cJSON *normalized = normalized_json(type, json, what, st);
    if (!normalized)
        return st->code;
    char *text = em_json_print_free(normalized);
    if (!text)
        return EM_FAIL_OOM(st);
    stored->kind = SQLITE_TEXT;
    stored->data = text;
    stored->len = strlen(text);
    return EM_OK;
}

enum em_code sp_value_from_json(const struct sp_type *type, const cJSON *json, const char *what,
                                struct sp_stored *stored, struct em_status *st)
{
    memset(stored, 0, sizeof(*stored));
    stored->kind = SQLITE_NULL;
    if (!json)
        return bad_value(type, what, st);
    if (cJSON_IsNull(json))
        return EM_OK;
    enum em_code code = sp_type_is_composite(type->code)
                            ? composite_from_json(type, json, what, stored, st)
                            : scalar_from_json(type, json, what, stored, st);
    if (code)
        sp_stored_clear(stored);
    return code;
}

/* ---- storage -> JSON ---- */

/* A FLOAT64 as JSON: the shortest decimal that reads back as the same double, as Spanner
 * writes it (0.1 + 0.2 is 0.30000000000000004). Not cJSON_CreateNumber: cJSON prints 15
 * digits whenever they come within an epsilon of the value, so a value read back (or an
 * array element stored) lost its last bits. */
static cJSON *float_to_json(double d)
{
    if (isnan(d))
        return cJSON_CreateString("NaN");
    if (isinf(d))
        return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
    char text[48];
    if (d == floor(d) && fabs(d) < 1e17) {
        snprintf(text, sizeof(text), "%.0f", d); /* an integral value without an exponent */
    } else {
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(text, sizeof(text), "%.*g", digits, d);
            if (strtod(text, NULL) == d)
                break;
        }
    }
    return cJSON_CreateRaw(text);
}

/* The numbers of a parsed composite value (FLOAT64 and FLOAT32 elements: the others are
 * strings) as float_to_json writes them. */
static void exact_numbers(cJSON *json)
{
    for (cJSON *item = json ? json->child : NULL; item; item = item->next) {
        if (cJSON_IsNumber(item)) {
            cJSON *exact = float_to_json(item->valuedouble);
            if (exact)
                cJSON_ReplaceItemViaPointer(json, item, exact), item = exact;
        } else {
            exact_numbers(item);
        }
    }
}

static cJSON *scalar_to_json(enum sp_type_code code, int kind, int64_t i, double d,
                             const char *data, size_t len)
{
    char text[64];
    switch (code) {
    case SP_TYPE_BOOL:
        return kind == SQLITE_INTEGER ? cJSON_CreateBool(i != 0) : NULL;
    case SP_TYPE_INT64:
        if (kind != SQLITE_INTEGER)
            return NULL;
        snprintf(text, sizeof(text), "%lld", (long long)i);
        return cJSON_CreateString(text);
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        if (kind == SQLITE_INTEGER)
            return float_to_json((double)i);
        if (kind == SQLITE_TEXT && strcmp(data, SP_NAN_TEXT) == 0)
            return float_to_json(NAN);
        return kind == SQLITE_FLOAT ? float_to_json(d) : NULL;
    case SP_TYPE_NUMERIC: {
        sp_numeric n;
        if (kind != SQLITE_TEXT || !sp_numeric_decode(data, len, &n))
            return NULL;
        sp_numeric_format(n, text);
        return cJSON_CreateString(text);
    }
    case SP_TYPE_BYTES: {
        if (kind != SQLITE_BLOB && kind != SQLITE_TEXT)
            return NULL;
        char *b64 = em_b64_encode((const unsigned char *)data, len);
        cJSON *out = b64 ? cJSON_CreateString(b64) : NULL;
        free(b64);
        return out;
    }
    case SP_TYPE_TIMESTAMP: {
        struct sp_timestamp ts;
        bool missing_zone;
        if (kind != SQLITE_TEXT || !sp_timestamp_parse(data, &ts, &missing_zone))
            return NULL;
        sp_timestamp_format(&ts, text);
        return cJSON_CreateString(text);
    }
    case SP_TYPE_STRING:
    case SP_TYPE_DATE:
    case SP_TYPE_JSON:
        return kind == SQLITE_TEXT ? cJSON_CreateString(data) : NULL;
    default:
        return NULL;
    }
}

cJSON *sp_value_to_json(const struct sp_type *type, sqlite3_value *value)
{
    int kind = sqlite3_value_type(value);
    if (kind == SQLITE_NULL)
        return cJSON_CreateNull();
    if (sp_type_is_composite(type->code)) {
        /* stored in the JSON encoding already (checked on write) */
        cJSON *parsed =
            kind == SQLITE_TEXT ? cJSON_Parse((const char *)sqlite3_value_text(value)) : NULL;
        exact_numbers(parsed);
        return parsed;
    }
    const char *data = NULL;
    size_t len = 0;
    if (kind == SQLITE_TEXT || kind == SQLITE_BLOB) {
        data = kind == SQLITE_TEXT ? (const char *)sqlite3_value_text(value)
                                   : (const char *)sqlite3_value_blob(value);
        len = (size_t)sqlite3_value_bytes(value);
        if (!data)
            data = "";
    }
    return scalar_to_json(type->code, kind, sqlite3_value_int64(value), sqlite3_value_double(value),
                          data, len);
}
