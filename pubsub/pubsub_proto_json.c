/*
 * pubsub_proto_json: whether text is a message of the schema's type in the proto3 JSON
 * mapping (https://protobuf.dev/programming-guides/json/), judged as protobuf-java's
 * JsonFormat.parser() judges it, by a strict one-pass JSON reader that never builds a
 * tree (so int64 text is read exactly, duplicate keys are seen, nothing is quadratic):
 *
 *   - an object at the top, nothing after it; keys are a field's JSON name or its proto
 *     name; an unknown key, or a field given twice (under either name), is an error
 *   - null is the default of any field (not an element of a list, nor a map value)
 *   - integers: a number or a string holding one; exponent and fraction are accepted when
 *     the value is integral ("1.0", "1e2"), and the value must fit the type; strings may
 *     carry a sign ("+5"), as Java's BigDecimal reads them
 *   - float and double: numbers, numeric strings, "NaN", "Infinity", "-Infinity"; a finite
 *     value beyond the type's range is an error
 *   - bool: true or false (Java also takes the strings "true"/"false"; the spec does not)
 *   - string: a JSON string (escapes decoded, valid UTF-8, lone surrogates refused)
 *   - bytes: base64, standard or URL-safe, padding optional
 *   - enum: a value's name, or its number (as a number or a numeric string); a closed
 *     (proto2) enum takes only its own numbers, an open one any int32
 *   - repeated: an array; map: an object whose keys are the key type as text
 *   - a oneof takes at most one non-null member; proto2 required fields must be present
 *     (these rules, and a field given twice, are checked at the end of each object)
 *   - messages nest at most PROTO_MESSAGE_DEPTH_MAX deep (JsonFormat's recursion limit)
 */
#include "pubsub_proto_parts.h"

#include "em_json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct json_step {
    const struct proto_field *field;
    long index; /* element of a list, or -1 */
    bool map_value;
};

struct json_check {
    const struct ps_proto_schema *schema;
    struct em_status *st;
    const unsigned char *start, *p, *end;
    char *text; /* the last string read, decoded */
    size_t text_len, text_cap;
    struct json_step path[PROTO_MESSAGE_DEPTH_MAX + 2];
    int depth;
    int64_t *members; /* see check_message */
    size_t nmembers, members_cap;
};

/* --- errors --- */

static void format_path(const struct json_check *c, char *out, size_t size)
{
    char full[4096];
    size_t n = 0;
    for (int i = 0; i < c->depth && n < sizeof(full) - 96; i++) {
        const struct json_step *s = &c->path[i];
        int w = snprintf(full + n, sizeof(full) - n, "%s%.*s", i ? "." : "",
                         (int)(s->field->name.n < 60 ? s->field->name.n : 60), s->field->name.s);
        n += w > 0 ? (size_t)w : 0;
        if (s->index >= 0)
            w = snprintf(full + n, sizeof(full) - n, "[%ld]", s->index);
        else if (s->map_value)
            w = snprintf(full + n, sizeof(full) - n, "[...]");
        else
            w = 0;
        n += w > 0 ? (size_t)w : 0;
    }
    if (n >= sizeof(full))
        n = sizeof(full) - 1;
    proto_copy_tail(out, size, full, n);
}

static enum em_code json_fail(struct json_check *c, const char *file, int line, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));

static enum em_code json_fail(struct json_check *c, const char *file, int line, const char *fmt,
                              ...)
{
    char problem[200], path[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    size_t offset = (size_t)(c->p - c->start);
    if (c->depth == 0)
        return em_status_set(c->st, file, line, EM_INVALID_ARGUMENT,
                             "Invalid JSON message at offset %zu: %s.", offset, problem);
    format_path(c, path, sizeof(path));
    return em_status_set(c->st, file, line, EM_INVALID_ARGUMENT,
                         "Invalid JSON message at offset %zu: field %s: %s.", offset, path,
                         problem);
}

#define FAIL(c, ...) json_fail((c), __FILE__, __LINE__, __VA_ARGS__)
#define SHOWN(s, n)  (int)((n) < 60 ? (n) : 60), (s)

/* --- the JSON reader --- */

static void skip_ws(struct json_check *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool at(struct json_check *c, char ch)
{
    skip_ws(c);
    return c->p < c->end && *c->p == (unsigned char)ch;
}

static bool take_literal(struct json_check *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* Room for n more bytes and a NUL in a growing byte buffer of *len used, *cap held. */
static bool bytes_room(char **bytes, size_t *cap, size_t len, size_t n)
{
    if (*cap - len >= n + 1)
        return true;
    size_t want = (len + n + 1) * 2;
    char *grown = realloc(*bytes, want);
    if (!grown)
        return false;
    *bytes = grown;
    *cap = want;
    return true;
}

static bool append_text(struct json_check *c, const void *bytes, size_t n)
{
    if (!bytes_room(&c->text, &c->text_cap, c->text_len, n))
        return false;
    memcpy(c->text + c->text_len, bytes, n);
    c->text_len += n;
    return true;
}

static bool append_code_point(struct json_check *c, uint32_t cp)
{
    unsigned char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp, n = 1;
    } else if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6), out[1] = (unsigned char)(0x80 | (cp & 0x3F)),
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        out[0] = (unsigned char)(0xF0 | cp >> 18);
        out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (unsigned char)(0x80 | (cp & 0x3F)), n = 4;
    }
    return append_text(c, out, n);
}

static bool read_hex4(struct json_check *c, uint32_t *out)
{
    if (c->end - c->p < 4)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = em_hex_digit((char)c->p[i]);
        if (d < 0)
            return false;
        v = v * 16 + (uint32_t)d;
    }
    c->p += 4;
    *out = v;
    return true;
}

/* \uXXXX, with its low surrogate when it is a high one. */
static enum em_code read_unicode_escape(struct json_check *c)
{
    uint32_t cp, low;
    if (!read_hex4(c, &cp))
        return FAIL(c, "invalid \\u escape");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return FAIL(c, "unpaired surrogate in a string");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
            return FAIL(c, "unpaired surrogate in a string");
        c->p += 2;
        if (!read_hex4(c, &low) || low < 0xDC00 || low > 0xDFFF)
            return FAIL(c, "unpaired surrogate in a string");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    return append_code_point(c, cp) ? EM_OK : EM_FAIL_OOM(c->st);
}

static enum em_code read_escape(struct json_check *c)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (c->p >= c->end)
        return FAIL(c, "unterminated string");
    char e = (char)*c->p++;
    if (e == 'u')
        return read_unicode_escape(c);
    const char *hit = e ? strchr(from, e) : NULL;
    if (!hit)
        return FAIL(c, "invalid escape \\%c in a string", e >= 0x20 && e < 0x7F ? e : '?');
    return append_text(c, &to[hit - from], 1) ? EM_OK : EM_FAIL_OOM(c->st);
}

/* A JSON string at c->p (after whitespace), decoded into c->text / c->text_len. */
static enum em_code read_string(struct json_check *c)
{
    if (!at(c, '"'))
        return FAIL(c, "expected a string");
    c->p++;
    c->text_len = 0;
    for (;;) {
        const unsigned char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && *c->p >= 0x20 && *c->p < 0x80)
            c->p++;
        if (c->p > run && !append_text(c, run, (size_t)(c->p - run)))
            return EM_FAIL_OOM(c->st);
        if (c->p >= c->end)
            return FAIL(c, "unterminated string");
        unsigned char ch = *c->p;
        if (ch == '"') {
            c->p++;
            return append_text(c, "", 0) ? (c->text[c->text_len] = '\0', EM_OK)
                                         : EM_FAIL_OOM(c->st);
        }
        if (ch < 0x20)
            return FAIL(c, "control character in a string");
        if (ch == '\\') {
            c->p++;
            enum em_code code = read_escape(c);
            if (code)
                return code;
            continue;
        }
        size_t n = em_utf8_char(c->p, (size_t)(c->end - c->p), NULL);
        if (!n)
            return FAIL(c, "invalid UTF-8 in a string");
        if (!append_text(c, c->p, n))
            return EM_FAIL_OOM(c->st);
        c->p += n;
    }
}

/* Whether the last string read is exactly word (it may hold NULs). */
static bool text_is(const struct json_check *c, const char *word)
{
    return c->text_len == strlen(word) && memcmp(c->text, word, c->text_len) == 0;
}

/* A JSON number token: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool read_number_token(struct json_check *c, const char **text, size_t *len)
{
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return false;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        if (++p >= end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    *text = (const char *)c->p;
    *len = (size_t)(p - c->p);
    c->p = p;
    return true;
}

/* --- decimal text --- */

/* A decimal as BigDecimal reads it: [+-]digits[.digits][e[+-]digits], with digits on at
 * least one side of the point. */
struct decimal {
    bool negative;
    const char *whole, *fraction; /* digit runs */
    size_t whole_len, fraction_len;
    int64_t exponent; /* saturated to +-2e9 */
};

static size_t digit_run(const char *s, size_t n, size_t i)
{
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i - start;
}

static bool parse_decimal(const char *s, size_t n, struct decimal *d)
{
    size_t i = 0;
    *d = (struct decimal){0};
    if (i < n && (s[i] == '-' || s[i] == '+'))
        d->negative = s[i++] == '-';
    d->whole = s + i;
    d->whole_len = digit_run(s, n, i);
    i += d->whole_len;
    if (i < n && s[i] == '.') {
        d->fraction = s + ++i;
        d->fraction_len = digit_run(s, n, i);
        i += d->fraction_len;
    }
    if (d->whole_len + d->fraction_len == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool negative = ++i < n && s[i] == '-';
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t run = digit_run(s, n, i);
        if (run == 0)
            return false;
        for (size_t k = 0; k < run; k++)
            if (d->exponent < 2000000000)
                d->exponent = d->exponent * 10 + (s[i + k] - '0');
        d->exponent = negative ? -d->exponent : d->exponent;
        i += run;
    }
    return i == n;
}

static char decimal_digit(const struct decimal *d, size_t k)
{
    return k < d->whole_len ? d->whole[k] : d->fraction[k - d->whole_len];
}

/* Whether d is an integer; its magnitude in *out, *overflow when beyond 2^64 - 1. */
static bool decimal_integer(const struct decimal *d, uint64_t *out, bool *overflow)
{
    size_t total = d->whole_len + d->fraction_len, first = 0, last = total;
    while (first < total && decimal_digit(d, first) == '0')
        first++;
    *out = 0;
    *overflow = false;
    if (first == total)
        return true; /* zero, whatever the exponent */
    while (decimal_digit(d, last - 1) == '0')
        last--;
    /* value = digits[first, last) * 10^scale */
    int64_t scale = d->exponent - (int64_t)d->fraction_len + (int64_t)(total - last);
    if (scale < 0)
        return false;
    if ((int64_t)(last - first) + scale > 20) {
        *overflow = true;
        return true;
    }
    uint64_t v = 0;
    for (size_t k = first; k < last + (size_t)scale; k++) {
        unsigned digit = k < last ? (unsigned)(decimal_digit(d, k) - '0') : 0;
        if (v > (UINT64_MAX - digit) / 10) {
            *overflow = true;
            return true;
        }
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* --- values --- */

enum int_range { IR_INT32, IR_UINT32, IR_INT64, IR_UINT64 };

static enum int_range int_range_of(enum proto_kind kind)
{
    switch (kind) {
    case PK_UINT32:
    case PK_FIXED32:
        return IR_UINT32;
    case PK_INT64:
    case PK_SINT64:
    case PK_SFIXED64:
        return IR_INT64;
    case PK_UINT64:
    case PK_FIXED64:
        return IR_UINT64;
    default:
        return IR_INT32;
    }
}

static bool integer_in_range(const char *s, size_t n, enum int_range range, int64_t *value)
{
    struct decimal d;
    uint64_t m;
    bool overflow;
    if (!parse_decimal(s, n, &d) || !decimal_integer(&d, &m, &overflow) || overflow)
        return false;
    if (d.negative && m == 0)
        d.negative = false;
    static const uint64_t max_positive[] = {INT32_MAX, UINT32_MAX, INT64_MAX, UINT64_MAX};
    static const uint64_t max_negative[] = {(uint64_t)INT32_MAX + 1, 0, (uint64_t)INT64_MAX + 1, 0};
    if (m > (d.negative ? max_negative[range] : max_positive[range]))
        return false;
    *value = d.negative ? (int64_t)(0 - m) : (int64_t)m;
    return true;
}

static const char *const range_names[] = {"an int32", "a uint32", "an int64", "a uint64"};

/* An integer field's value: a number, or a string holding one. */
static enum em_code check_integer(struct json_check *c, enum int_range range, int64_t *value)
{
    const char *text;
    size_t len;
    if (at(c, '"')) {
        enum em_code code = read_string(c);
        if (code)
            return code;
        text = c->text;
        len = c->text_len;
    } else if (!read_number_token(c, &text, &len)) {
        return FAIL(c, "expected %s number or string", range_names[range]);
    }
    if (!integer_in_range(text, len, range, value))
        return FAIL(c, "\"%.*s\" is not %s value", SHOWN(text, len), range_names[range]);
    return EM_OK;
}

static bool float_in_range(const char *s, size_t n, bool single)
{
    struct decimal d;
    if (!parse_decimal(s, n, &d))
        return false;
    char small[64];
    char *copy = n < sizeof(small) ? small : malloc(n + 1);
    if (!copy)
        return false;
    memcpy(copy, s, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    if (isinf(v))
        return false;
    return !single || fabs(v) <= (double)FLT_MAX * (1 + 1e-6);
}

static enum em_code check_float(struct json_check *c, bool single)
{
    const char *text;
    size_t len;
    if (at(c, '"')) {
        enum em_code code = read_string(c);
        if (code)
            return code;
        if (text_is(c, "NaN") || text_is(c, "Infinity") || text_is(c, "-Infinity"))
            return EM_OK;
        text = c->text;
        len = c->text_len;
    } else if (!read_number_token(c, &text, &len)) {
        return FAIL(c, "expected a number");
    }
    if (!float_in_range(text, len, single))
        return FAIL(c, "\"%.*s\" is not a %s value", SHOWN(text, len), single ? "float" : "double");
    return EM_OK;
}

static enum em_code check_enum(struct json_check *c, const struct proto_enum *e)
{
    int64_t number;
    char name[160];
    if (at(c, '"')) {
        enum em_code code = read_string(c);
        if (code)
            return code;
        if (proto_enum_by_name(e, (struct proto_str){c->text, c->text_len}))
            return EM_OK;
        if (!integer_in_range(c->text, c->text_len, IR_INT32, &number))
            return FAIL(c, "invalid value \"%.*s\" for enum \"%s\"", SHOWN(c->text, c->text_len),
                        proto_full_name(c->schema, e->node, name, sizeof(name)));
    } else {
        const char *text;
        size_t len;
        if (!read_number_token(c, &text, &len) || !integer_in_range(text, len, IR_INT32, &number))
            return FAIL(c, "expected the name or number of a value of enum \"%s\"",
                        proto_full_name(c->schema, e->node, name, sizeof(name)));
    }
    if (e->closed && !proto_enum_has_number(e, (int32_t)number))
        return FAIL(c, "invalid value %lld for enum \"%s\"", (long long)number,
                    proto_full_name(c->schema, e->node, name, sizeof(name)));
    return EM_OK;
}

static enum em_code check_message(struct json_check *c, int message);

/* One value of a field (an element, when the field is repeated). */
static enum em_code check_value(struct json_check *c, const struct proto_field *f)
{
    enum em_code code;
    int64_t ignored;
    skip_ws(c);
    switch (f->kind) {
    case PK_MESSAGE:
        if (c->depth >= PROTO_MESSAGE_DEPTH_MAX)
            return FAIL(c, "messages nested deeper than %d levels", PROTO_MESSAGE_DEPTH_MAX);
        return check_message(c, f->type);
    case PK_ENUM:
        return check_enum(c, &c->schema->enums[f->type]);
    case PK_BOOL:
        return take_literal(c, "true") || take_literal(c, "false")
                   ? EM_OK
                   : FAIL(c, "expected true or false");
    case PK_STRING:
        return read_string(c);
    case PK_BYTES:
        if ((code = read_string(c)))
            return code;
        return em_b64_valid(c->text, c->text_len) ? EM_OK : FAIL(c, "bytes must be base64");
    case PK_FLOAT:
    case PK_DOUBLE:
        return check_float(c, f->kind == PK_FLOAT);
    default:
        return check_integer(c, int_range_of(f->kind), &ignored);
    }
}

static enum em_code check_list(struct json_check *c, const struct proto_field *f)
{
    if (!at(c, '['))
        return FAIL(c, "expected an array");
    c->p++;
    if (at(c, ']')) {
        c->p++;
        return EM_OK;
    }
    for (long i = 0;; i++) {
        c->path[c->depth - 1].index = i;
        skip_ws(c);
        if (take_literal(c, "null"))
            return FAIL(c, "a list element cannot be null");
        enum em_code code = check_value(c, f);
        if (code)
            return code;
        if (at(c, ']'))
            break;
        if (!at(c, ','))
            return FAIL(c, "expected ',' or ']'");
        c->p++;
    }
    c->path[c->depth - 1].index = -1;
    c->p++;
    return EM_OK;
}

/* A map key as text: "true"/"false" for bool keys, an integer for integer keys. */
static enum em_code check_map_key(struct json_check *c, const struct proto_field *key)
{
    int64_t ignored;
    if (key->kind == PK_STRING)
        return EM_OK;
    if (key->kind == PK_BOOL)
        return text_is(c, "true") || text_is(c, "false")
                   ? EM_OK
                   : FAIL(c, "map key \"%.*s\" is not a bool", SHOWN(c->text, c->text_len));
    if (!integer_in_range(c->text, c->text_len, int_range_of(key->kind), &ignored))
        return FAIL(c, "map key \"%.*s\" is not %s", SHOWN(c->text, c->text_len),
                    range_names[int_range_of(key->kind)]);
    return EM_OK;
}

/* --- maps --- */

/* The keys of one map object, kept to find a key given twice. */
struct key_list {
    char *bytes;
    size_t len, cap;
    struct key_span {
        size_t offset, len;
    } * spans;
    size_t n, spans_cap;
};

static bool key_list_add(struct key_list *keys, const char *key, size_t len)
{
    if (!bytes_room(&keys->bytes, &keys->cap, keys->len, len))
        return false;
    if (!proto_grow((void **)&keys->spans, &keys->spans_cap, keys->n, sizeof(*keys->spans)))
        return false;
    memcpy(keys->bytes + keys->len, key, len);
    keys->spans[keys->n++] = (struct key_span){keys->len, len};
    keys->len += len;
    return true;
}

static int compare_keys(const void *a, const void *b, void *bytes)
{
    const struct key_span *x = a, *y = b;
    return proto_str_cmp((struct proto_str){(char *)bytes + x->offset, x->len},
                         (struct proto_str){(char *)bytes + y->offset, y->len});
}

/* The first key given twice, or NULL. */
static const struct key_span *duplicate_key(struct key_list *keys)
{
    if (keys->n < 2)
        return NULL;
    qsort_r(keys->spans, keys->n, sizeof(*keys->spans), compare_keys, keys->bytes);
    for (size_t i = 1; i < keys->n; i++)
        if (compare_keys(&keys->spans[i - 1], &keys->spans[i], keys->bytes) == 0)
            return &keys->spans[i];
    return NULL;
}

static enum em_code check_map_entries(struct json_check *c, const struct proto_message *entry,
                                      struct key_list *keys)
{
    const struct proto_field *key = proto_field_by_number(entry, 1);
    const struct proto_field *value = proto_field_by_number(entry, 2);
    struct json_step *step = &c->path[c->depth - 1];
    for (;;) {
        enum em_code code = read_string(c);
        if (code || (code = check_map_key(c, key)))
            return code;
        if (!key_list_add(keys, c->text, c->text_len))
            return EM_FAIL_OOM(c->st);
        if (!at(c, ':'))
            return FAIL(c, "expected ':'");
        c->p++;
        step->map_value = true;
        skip_ws(c);
        if (take_literal(c, "null"))
            return FAIL(c, "a map value cannot be null");
        if ((code = check_value(c, value)))
            return code;
        step->map_value = false;
        if (at(c, '}'))
            return EM_OK;
        if (!at(c, ','))
            return FAIL(c, "expected ',' or '}'");
        c->p++;
    }
}

static enum em_code check_map(struct json_check *c, const struct proto_field *f)
{
    if (!at(c, '{'))
        return FAIL(c, "expected an object (a map)");
    c->p++;
    if (at(c, '}')) {
        c->p++;
        return EM_OK;
    }
    struct key_list keys = {0};
    enum em_code code = check_map_entries(c, &c->schema->messages[f->type], &keys);
    const struct key_span *twice = code ? NULL : duplicate_key(&keys);
    if (twice)
        code = FAIL(c, "map key \"%.*s\" is given twice",
                    SHOWN(keys.bytes + twice->offset, twice->len));
    free(keys.bytes);
    free(keys.spans);
    if (!code)
        c->p++; /* '}' */
    return code;
}

/* --- messages --- */

/* The members of each object being read are recorded on c->members, a stack: an entry
 * per member, (oneof + 1) << 32 | field position, with MEMBER_NULL when the value was
 * null. The rules that span members (a field given twice, two members of a oneof,
 * required fields) are checked at the object's end over its own entries, so the cost is
 * the object's size, not the size of its message type. */
#define MEMBER_NULL ((int64_t)1 << 62)

static int member_field(int64_t entry)
{
    return (int)(entry & 0xFFFFFFFF);
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool push_member(struct json_check *c, int64_t entry)
{
    if (!proto_grow((void **)&c->members, &c->members_cap, c->nmembers, sizeof(*c->members)))
        return false;
    c->members[c->nmembers++] = entry;
    return true;
}

/* Entries [base, nmembers) sorted by field: a field given twice, then the required ones. */
static enum em_code check_fields_once(struct json_check *c, const struct proto_message *m,
                                      size_t base)
{
    char name[160];
    size_t n = c->nmembers - base;
    int64_t *e = n ? c->members + base : NULL; /* no array before the first member */
    for (size_t i = 0; i < n; i++)
        e[i] = (e[i] & MEMBER_NULL) | member_field(e[i]); /* by field alone */
    if (n > 1)
        qsort(e, n, sizeof(*e), compare_int64);
    int present_required = 0;
    for (size_t i = 0; i < n; i++) {
        const struct proto_field *f = &m->fields[member_field(e[i])];
        if (i > 0 && member_field(e[i - 1]) == member_field(e[i]))
            return FAIL(c, "field \"%.*s\" is given twice", SHOWN(f->name.s, f->name.n));
        present_required += f->required_bit >= 0 && !(e[i] & MEMBER_NULL);
    }
    if (present_required == m->nrequired)
        return EM_OK;
    for (size_t i = 0, k = 0; i < m->nfields; i++) { /* both sorted by position */
        while (k < n && member_field(e[k]) < (int)i)
            k++;
        bool set = k < n && member_field(e[k]) == (int)i && !(e[k] & MEMBER_NULL);
        if (m->fields[i].required_bit >= 0 && !set)
            return FAIL(c, "missing required field \"%.*s\" of \"%s\"",
                        SHOWN(m->fields[i].name.s, m->fields[i].name.n),
                        proto_full_name(c->schema, m->node, name, sizeof(name)));
    }
    return EM_OK;
}

/* Two non-null members of one oneof. */
static enum em_code check_oneofs(struct json_check *c, const struct proto_message *m, size_t base)
{
    size_t n = c->nmembers - base, start = c->nmembers;
    for (size_t i = 0; i < n; i++) {
        int64_t entry = c->members[base + i];
        if (entry >> 32 && !(entry & MEMBER_NULL) && !push_member(c, entry))
            return EM_FAIL_OOM(c->st);
    }
    size_t k = c->nmembers - start;
    int64_t *e = k ? c->members + start : NULL;
    if (k > 1)
        qsort(e, k, sizeof(*e), compare_int64);
    enum em_code code = EM_OK;
    for (size_t i = 1; !code && i < k; i++)
        if (e[i] >> 32 == e[i - 1] >> 32) {
            const struct proto_field *a = &m->fields[member_field(e[i - 1])];
            const struct proto_field *b = &m->fields[member_field(e[i])];
            code = FAIL(c, "fields \"%.*s\" and \"%.*s\" are members of one oneof: set one",
                        SHOWN(a->name.s, a->name.n), SHOWN(b->name.s, b->name.n));
        }
    c->nmembers = start;
    return code;
}

/* The value of member f of an object, after the ':'; *is_null when it was null. */
static enum em_code check_member(struct json_check *c, const struct proto_field *f, bool *is_null)
{
    skip_ws(c);
    *is_null = take_literal(c, "null");
    if (*is_null)
        return EM_OK; /* the default: not set, and no oneof member */
    if (f->map)
        return check_map(c, f);
    if (f->label == PL_REPEATED)
        return check_list(c, f);
    return check_value(c, f);
}

static enum em_code check_members(struct json_check *c, const struct proto_message *m)
{
    char name[160];
    for (;;) {
        enum em_code code = read_string(c);
        if (code)
            return code;
        const struct proto_field *f =
            proto_field_by_name(m, (struct proto_str){c->text, c->text_len});
        if (!f)
            return FAIL(c, "no field \"%.*s\" in message \"%s\"", SHOWN(c->text, c->text_len),
                        proto_full_name(c->schema, m->node, name, sizeof(name)));
        if (!at(c, ':'))
            return FAIL(c, "expected ':'");
        c->p++;
        bool is_null;
        c->path[c->depth++] = (struct json_step){f, -1, false};
        code = check_member(c, f, &is_null);
        c->depth--;
        if (code)
            return code;
        int64_t entry = (int64_t)(f->oneof + 1) << 32 | (int64_t)(f - m->fields);
        if (!push_member(c, entry | (is_null ? MEMBER_NULL : 0)))
            return EM_FAIL_OOM(c->st);
        if (at(c, '}'))
            return EM_OK;
        if (!at(c, ','))
            return FAIL(c, "expected ',' or '}'");
        c->p++;
    }
}

static enum em_code check_message(struct json_check *c, int message)
{
    const struct proto_message *m = &c->schema->messages[message];
    if (!at(c, '{'))
        return FAIL(c, "expected an object");
    c->p++;
    size_t base = c->nmembers;
    enum em_code code = at(c, '}') ? EM_OK : check_members(c, m);
    if (!code) {
        c->p++; /* '}' */
        if (m->noneofs)
            code = check_oneofs(c, m, base);
        if (!code)
            code = check_fields_once(c, m, base);
    }
    c->nmembers = base;
    return code;
}

enum em_code ps_proto_check_json(const struct ps_proto_schema *schema, const unsigned char *msg,
                                 size_t len, struct em_status *st)
{
    struct json_check *c = calloc(1, sizeof(*c));
    if (!c)
        return EM_FAIL_OOM(st);
    c->schema = schema;
    c->st = st;
    c->start = c->p = msg ? msg : (const unsigned char *)"";
    c->end = c->p + (msg ? len : 0);
    enum em_code code;
    if (!at(c, '{'))
        code = FAIL(c, "the message must be a JSON object");
    else
        code = check_message(c, schema->root);
    if (!code) {
        skip_ws(c);
        if (c->p != c->end)
            code = FAIL(c, "unexpected text after the message");
    }
    free(c->text);
    free(c->members);
    free(c);
    return code;
}
