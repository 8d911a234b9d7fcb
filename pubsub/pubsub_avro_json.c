/*
 * pubsub_avro_json: whether a message is one datum of a schema in Avro's JSON encoding, read
 * in one pass as strict JSON (RFC 8259) without building a tree: numbers from their text,
 * strings decoded only when a name is needed (record fields, enum symbols, union branches).
 * The rules, and where they differ from the Avro library, are told in pubsub_avro.c.
 */
#include "pubsub_avro_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void list_branches(const struct avro_node *n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n->count && len + 1 < cap; i++) {
        int w =
            snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", avro_branch_name(n->branches[i]));
        len += w > 0 ? (size_t)w : 0;
    }
}

struct json_number {
    bool negative;
    const unsigned char *int_digits, *frac_digits;
    size_t int_len, frac_len;
    int64_t exponent; /* clamped to +-10^15, beyond any message's digit count */
};

static void json_ws(struct avro_check *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool json_word(struct avro_check *c, const char *word)
{
    size_t len = strlen(word);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, word, len) != 0)
        return false;
    c->p += len;
    return true;
}

static bool json_at_number(const struct avro_check *c)
{
    return c->p < c->end && (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'));
}

static const char *json_found(const struct avro_check *c)
{
    if (c->p >= c->end)
        return "the end of the message";
    switch (*c->p) {
    case '"':
        return "a string";
    case '{':
        return "an object";
    case '[':
        return "an array";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    default:
        return json_at_number(c) ? "a number" : "invalid JSON";
    }
}

static enum em_code json_mismatch(struct avro_check *c, const struct avro_node *n)
{
    char buf[128];
    return avro_check_fail(c, "expected %s, found %s", avro_describe(n, buf, sizeof(buf)),
                           json_found(c));
}

static size_t json_digits(struct avro_check *c)
{
    const unsigned char *from = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return (size_t)(c->p - from);
}

static enum em_code json_number(struct avro_check *c, struct json_number *num)
{
    memset(num, 0, sizeof(*num));
    num->negative = c->p < c->end && *c->p == '-';
    c->p += num->negative;
    num->int_digits = c->p;
    num->int_len = json_digits(c);
    if (num->int_len == 0 || (num->int_len > 1 && num->int_digits[0] == '0'))
        return avro_check_fail(c, "invalid JSON number");
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        num->frac_digits = c->p;
        if ((num->frac_len = json_digits(c)) == 0)
            return avro_check_fail(c, "invalid JSON number");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        bool minus = c->p < c->end && *c->p == '-';
        c->p += c->p < c->end && (*c->p == '-' || *c->p == '+');
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return avro_check_fail(c, "invalid JSON number");
        for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
            if (num->exponent < 1000000000000000)
                num->exponent = num->exponent * 10 + (*c->p - '0');
        num->exponent = minus ? -num->exponent : num->exponent;
    }
    return EM_OK;
}

static int digit_at(const struct json_number *num, size_t i)
{
    return i < num->int_len ? num->int_digits[i] - '0' : num->frac_digits[i - num->int_len] - '0';
}

/* The exact value of a JSON number if it is an integer within int64; *integral tells a
 * fraction (1.5) from a value out of range. */
static bool json_number_int64(const struct json_number *num, int64_t *out, bool *integral)
{
    size_t len = num->int_len + num->frac_len, first = 0, last = len;
    *integral = true;
    *out = 0;
    while (first < len && digit_at(num, first) == 0)
        first++;
    if (first == len)
        return true; /* zero, however written */
    while (digit_at(num, last - 1) == 0)
        last--;
    /* digits at positions >= point are fractional */
    int64_t point = (int64_t)num->int_len + num->exponent;
    if ((int64_t)last > point) {
        *integral = false;
        return false;
    }
    if (point - (int64_t)first > 19)
        return false;
    uint64_t value = 0;
    for (int64_t i = (int64_t)first; i < point; i++) {
        unsigned d = i < (int64_t)last ? (unsigned)digit_at(num, (size_t)i) : 0;
        if (value > (UINT64_MAX - d) / 10)
            return false;
        value = value * 10 + d;
    }
    if (value > (num->negative ? (uint64_t)1 << 63 : (uint64_t)INT64_MAX))
        return false;
    *out = num->negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

static enum em_code json_integer(struct avro_check *c, const struct avro_node *n)
{
    struct json_number num;
    const unsigned char *from = c->p;
    int64_t v;
    bool integral;
    enum em_code code = json_number(c, &num);
    if (code)
        return code;
    int shown = c->p - from > 40 ? 40 : (int)(c->p - from);
    bool fits = json_number_int64(&num, &v, &integral);
    const unsigned char *after = c->p;
    c->p = from; /* report the value, not its end */
    if (!integral)
        return avro_check_fail(c, "%s takes integers, found %.*s", avro_kind_names[n->kind], shown,
                               from);
    if (!fits || (n->kind == AVRO_INT && (v < INT32_MIN || v > INT32_MAX)))
        return avro_check_fail(c, "%.*s is out of range for %s", shown, from,
                               avro_kind_names[n->kind]);
    c->p = after;
    return EM_OK;
}

/* Empties c->scratch, allocating it on first use. */
static bool scratch_reset(struct avro_check *c)
{
    c->scratch_len = 0;
    if (!c->scratch) {
        if (!(c->scratch = malloc(64)))
            return false;
        c->scratch_cap = 64;
    }
    c->scratch[0] = '\0';
    return true;
}

/* Appends one code point to c->scratch as UTF-8, keeping it NUL-terminated. */
static bool scratch_put(struct avro_check *c, uint32_t cp)
{
    if (c->scratch_cap - c->scratch_len < 5) {
        size_t cap = c->scratch_cap ? c->scratch_cap * 2 : 64;
        char *s = realloc(c->scratch, cap);
        if (!s)
            return false;
        c->scratch = s;
        c->scratch_cap = cap;
    }
    char *o = c->scratch + c->scratch_len;
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
    for (size_t i = n - 1; i > 0; i--, cp >>= 6)
        o[i] = (char)(0x80 | (cp & 0x3F));
    o[0] = (char)(lead[n] | cp);
    c->scratch_len += n;
    c->scratch[c->scratch_len] = '\0';
    return true;
}

static int hex4(const unsigned char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = (s[i] >= '0' && s[i] <= '9')   ? s[i] - '0'
                : (s[i] >= 'a' && s[i] <= 'f') ? s[i] - 'a' + 10
                : (s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 10
                                               : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The escape after a backslash at c->p; a surrogate pair becomes one code point. */
static enum em_code json_escape(struct avro_check *c, uint32_t *cp)
{
    static const char plain[] = "\"\\/bfnrt", meaning[] = "\"\\/\b\f\n\r\t";
    const char *e = c->p + 1 < c->end ? memchr(plain, c->p[1], sizeof(plain) - 1) : NULL;
    if (e && c->p[1]) {
        *cp = (unsigned char)meaning[e - plain];
        c->p += 2;
        return EM_OK;
    }
    int v = c->end - c->p >= 6 && c->p[1] == 'u' ? hex4(c->p + 2) : -1;
    if (v < 0)
        return avro_check_fail(c, "invalid escape in a JSON string");
    c->p += 6;
    *cp = (uint32_t)v;
    int low = c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u' ? hex4(c->p + 2) : -1;
    if (v >= 0xD800 && v <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
        *cp = 0x10000 + (((uint32_t)v - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
        c->p += 6;
    }
    return EM_OK;
}

struct json_text {
    size_t code_points;
    uint32_t max_code_point;
};

/* A JSON string at c->p (which is '"'); with keep, decoded into c->scratch. */
static enum em_code json_string(struct avro_check *c, bool keep, struct json_text *out)
{
    *out = (struct json_text){0, 0};
    if (keep && !scratch_reset(c))
        return EM_FAIL_OOM(c->st);
    for (c->p++;; out->code_points++) {
        uint32_t cp = 0;
        size_t n;
        if (c->p >= c->end)
            return avro_check_fail(c, "unterminated JSON string");
        if (*c->p == '"')
            break;
        if (*c->p < 0x20)
            return avro_check_fail(c, "control character 0x%02x inside a JSON string", *c->p);
        if (*c->p == '\\') {
            enum em_code code = json_escape(c, &cp);
            if (code)
                return code;
        } else if ((n = em_utf8_char(c->p, (size_t)(c->end - c->p), &cp)) == 0) {
            return avro_check_fail(c, "the message is not valid UTF-8");
        } else {
            c->p += n;
        }
        if (cp > out->max_code_point)
            out->max_code_point = cp;
        if (keep && !scratch_put(c, cp))
            return EM_FAIL_OOM(c->st);
    }
    c->p++;
    return EM_OK;
}

static enum em_code json_value(struct avro_check *c, const struct avro_node *n);

/* Any JSON value, not checked against a schema: members the schema does not name. */
static enum em_code json_skip(struct avro_check *c)
{
    struct json_text text;
    struct json_number num;
    json_ws(c);
    if (c->p < c->end && *c->p == '"')
        return json_string(c, false, &text);
    if (json_at_number(c))
        return json_number(c, &num);
    if (json_word(c, "true") || json_word(c, "false") || json_word(c, "null"))
        return EM_OK;
    if (c->p >= c->end || (*c->p != '[' && *c->p != '{'))
        return avro_check_fail(c, "invalid JSON");
    if (c->depth >= PS_AVRO_MAX_DEPTH)
        return avro_check_fail(c, "values nest deeper than %d levels", PS_AVRO_MAX_DEPTH);
    bool object = *c->p++ == '{';
    enum em_code code = EM_OK;
    c->depth++;
    json_ws(c);
    if (c->p < c->end && *c->p == (object ? '}' : ']')) {
        c->p++;
        c->depth--;
        return EM_OK;
    }
    for (;;) {
        json_ws(c);
        if (object && (c->p >= c->end || *c->p != '"')) {
            code = avro_check_fail(c, "expected a member name");
            break;
        }
        if (object && !(code = json_string(c, false, &text))) {
            json_ws(c);
            code = c->p < c->end && *c->p == ':' ? (c->p++, EM_OK)
                                                 : avro_check_fail(c, "expected ':'");
        }
        if (code || (code = json_skip(c)))
            break;
        json_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == (object ? '}' : ']')) {
            c->p++;
            break;
        }
        code = avro_check_fail(c, "expected ',' or '%c'", object ? '}' : ']');
        break;
    }
    c->depth--;
    return code;
}

/* After an array item or object member: true at the closing bracket (consumed). */
static enum em_code json_next(struct avro_check *c, char close, bool *done)
{
    json_ws(c);
    if (c->p < c->end && (*c->p == ',' || *c->p == close)) {
        *done = *c->p++ == close;
        return EM_OK;
    }
    return avro_check_fail(c, "expected ',' or '%c'", close);
}

/* The member name and ':' of an object; with keep, the name is in c->scratch. */
static enum em_code json_member_name(struct avro_check *c, bool keep)
{
    struct json_text text;
    json_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return avro_check_fail(c, "expected a member name");
    enum em_code code = json_string(c, keep, &text);
    if (code)
        return code;
    json_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return avro_check_fail(c, "expected ':'");
    c->p++;
    return EM_OK;
}

/* The members of an object whose '{' is consumed: map entries or record fields. */
static enum em_code json_members(struct avro_check *c, const struct avro_node *n,
                                 unsigned char *seen)
{
    json_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return EM_OK;
    }
    for (bool done = false; !done; c->path[c->steps - 1].index++) {
        enum em_code code = json_member_name(c, n->kind == AVRO_RECORD);
        if (code)
            return code;
        long field = n->kind == AVRO_RECORD ? avro_find_name(n, c->scratch, c->scratch_len) : -1;
        if (field >= 0) {
            seen[field / 8] |= (unsigned char)(1u << (field % 8));
            c->path[c->steps - 1].field = n->fields[field].name;
            code = json_value(c, n->fields[field].type);
            c->path[c->steps - 1].field = "";
        } else if (n->kind == AVRO_MAP) {
            code = json_value(c, n->items);
        } else {
            c->path[c->steps - 1].field = "(member not in the schema)";
            code = json_skip(c);
            c->path[c->steps - 1].field = "";
        }
        if (code || (code = json_next(c, '}', &done)))
            return code;
    }
    return EM_OK;
}

static enum em_code json_record(struct avro_check *c, const struct avro_node *n)
{
    unsigned char *seen = calloc(n->count / 8 + 1, 1);
    if (!seen)
        return EM_FAIL_OOM(c->st);
    enum em_code code = json_members(c, n, seen);
    for (size_t i = 0; !code && i < n->count; i++)
        if (!(seen[i / 8] & (1u << (i % 8))))
            code = avro_check_fail(c, "record \"%.100s\" misses the field \"%.100s\"", n->fullname,
                                   n->fields[i].name);
    free(seen);
    return code;
}

static enum em_code json_array(struct avro_check *c, const struct avro_node *n)
{
    json_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return EM_OK;
    }
    for (bool done = false; !done; c->path[c->steps - 1].index++) {
        enum em_code code = json_value(c, n->items);
        if (code || (code = json_next(c, ']', &done)))
            return code;
    }
    return EM_OK;
}

static enum em_code json_container(struct avro_check *c, const struct avro_node *n)
{
    char open = n->kind == AVRO_ARRAY ? '[' : '{';
    if (c->p >= c->end || *c->p != open)
        return json_mismatch(c, n);
    enum em_code code = avro_enter(c, n->kind == AVRO_RECORD ? "" : NULL);
    if (code)
        return code;
    c->p++;
    code = n->kind == AVRO_ARRAY    ? json_array(c, n)
           : n->kind == AVRO_RECORD ? json_record(c, n)
                                    : json_members(c, n, NULL);
    avro_leave(c);
    return code;
}

static enum em_code json_union(struct avro_check *c, const struct avro_node *n)
{
    char names[200];
    if (json_word(c, "null")) {
        if (avro_find_name(n, "null", 4) >= 0)
            return EM_OK;
        c->p -= 4;
    } else if (c->p < c->end && *c->p == '{') {
        c->p++;
        enum em_code code = json_member_name(c, true);
        long branch = code ? -1 : avro_find_name(n, c->scratch, c->scratch_len);
        if (code)
            return code;
        if (branch >= 0) {
            bool done = false;
            if ((code = json_value(c, n->branches[branch])) || (code = json_next(c, '}', &done)))
                return code;
            return done ? EM_OK : avro_check_fail(c, "a union value is an object with one member");
        }
        list_branches(n, names, sizeof(names));
        return avro_check_fail(c, "\"%.80s\" is not a branch of the union [%s]", c->scratch, names);
    }
    list_branches(n, names, sizeof(names));
    return avro_check_fail(
        c, "expected a union value of [%s]: null or {\"<branch>\": value}, found %s", names,
        json_found(c));
}

static enum em_code json_value(struct avro_check *c, const struct avro_node *n)
{
    struct json_text text;
    struct json_number num;
    enum em_code code = avro_spend(c);
    json_ws(c);
    const unsigned char *from = c->p;
    if (code)
        return code;
    switch (n->kind) {
    case AVRO_NULL:
        return json_word(c, "null") ? EM_OK : json_mismatch(c, n);
    case AVRO_BOOLEAN:
        return json_word(c, "true") || json_word(c, "false") ? EM_OK : json_mismatch(c, n);
    case AVRO_INT:
    case AVRO_LONG:
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!json_at_number(c))
            return json_mismatch(c, n);
        if (n->kind == AVRO_INT || n->kind == AVRO_LONG)
            return json_integer(c, n);
        return json_number(c, &num);
    case AVRO_BYTES:
    case AVRO_STRING:
    case AVRO_FIXED:
    case AVRO_ENUM:
        if (c->p >= c->end || *c->p != '"')
            return json_mismatch(c, n);
        if ((code = json_string(c, n->kind == AVRO_ENUM, &text)))
            return code;
        const unsigned char *after = c->p;
        c->p = from; /* report the value, not its end */
        if (n->kind == AVRO_ENUM && avro_find_name(n, c->scratch, c->scratch_len) < 0)
            return avro_check_fail(c, "\"%.80s\" is not a symbol of enum \"%.100s\"", c->scratch,
                                   n->fullname);
        if ((n->kind == AVRO_BYTES || n->kind == AVRO_FIXED) && text.max_code_point > 255)
            return avro_check_fail(c, "%s holds code points 0-255 only, found U+%04X",
                                   avro_kind_names[n->kind], (unsigned)text.max_code_point);
        if (n->kind == AVRO_FIXED && text.code_points != n->size)
            return avro_check_fail(c, "fixed \"%.100s\" takes %zu bytes, found %zu", n->fullname,
                                   n->size, text.code_points);
        c->p = after;
        return EM_OK;
    case AVRO_ARRAY:
    case AVRO_MAP:
    case AVRO_RECORD:
        return json_container(c, n);
    case AVRO_UNION:
        return json_union(c, n);
    }
    return EM_OK;
}

enum em_code avro_json_datum(struct avro_check *c, const struct avro_node *n)
{
    enum em_code code = json_value(c, n);
    json_ws(c);
    if (!code && c->p < c->end)
        code = avro_check_fail(c, "unexpected data after the JSON value");
    return code;
}
