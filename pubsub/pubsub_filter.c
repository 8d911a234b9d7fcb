/*
 * pubsub_filter: subscription filters
 * (https://cloud.google.com/pubsub/docs/subscription-message-filter).
 *
 * Pub/Sub's filter language is narrower than the core's em_filter (AIP-160 and Logging),
 * so this file reads it first, by its own grammar, and hands em_filter a canonical text
 * (every key and value a double-quoted string, escapes decoded; attributes:KEY as the
 * presence test attributes."KEY":*) to match with:
 *
 *   filter  := unary { "AND" unary }  |  unary { "OR" unary }   one operator per level:
 *                                       AND and OR mix only through parentheses
 *   unary   := { "NOT" | "-" } primary  NOT binds tightest
 *   primary := "(" filter ")"
 *            | "attributes" ":" key
 *            | "attributes" "." key ( "=" | "!=" ) string
 *            | "hasPrefix" "(" "attributes" "." key "," string ")"
 *   key     := a word of letters, digits, - and _  |  string
 *   string  := "..." or '...', with the escapes \a \b \f \n \r \t \v \\ \' \" \? \`,
 *              \xHH, \uHHHH, \UHHHHHHHH (Unicode, as UTF-8) and \ooo (octal)
 *
 * Operators and names are case-sensitive; white space separates tokens. Anything else
 * (juxtaposed conditions, unquoted values, other fields, <, >, other functions, a value
 * compared with a value) is INVALID_ARGUMENT "Invalid filter: <what> at position <n>.",
 * and so is a filter longer than 256 bytes or a string holding a NUL. A message passes
 * when em_filter matches {"attributes": {...its attributes...}}, '=' exactly (a trailing
 * '*' is no wildcard); filters never see message data.
 */
#include "pubsub_model.h"

#include "em_filter.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ Pub/Sub's grammar, to canonical text */

struct reader {
    const char *text;
    size_t pos;
    char *out; /* the canonical text; room for 4 bytes per input byte and a few more */
    size_t len;
    int depth;
    struct em_status *st;
};

#define MAX_DEPTH 32

static enum em_code bad(struct reader *r, const char *what)
{
    return EM_FAIL(r->st, EM_INVALID_ARGUMENT, "Invalid filter: %s at position %zu.", what, r->pos);
}

static void emit(struct reader *r, const char *s)
{
    size_t n = strlen(s);
    memcpy(r->out + r->len, s, n);
    r->len += n;
    r->out[r->len] = '\0';
}

static void emit_byte(struct reader *r, unsigned char c)
{
    if (c == '"' || c == '\\')
        r->out[r->len++] = '\\';
    r->out[r->len++] = (char)c;
    r->out[r->len] = '\0';
}

static void skip_space(struct reader *r)
{
    while (r->text[r->pos] && strchr(" \t\r\n\f\v", r->text[r->pos]))
        r->pos++;
}

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* The word at the reading position (after white space): its length, 0 if none. */
static size_t peek_word(struct reader *r)
{
    skip_space(r);
    size_t n = 0;
    while (word_char(r->text[r->pos + n]) && (unsigned char)r->text[r->pos + n] < 128)
        n++;
    return n;
}

static bool accept_word(struct reader *r, const char *word)
{
    size_t n = peek_word(r);
    if (n != strlen(word) || strncmp(r->text + r->pos, word, n) != 0)
        return false;
    r->pos += n;
    return true;
}

static bool accept_char(struct reader *r, char c)
{
    skip_space(r);
    if (r->text[r->pos] != c)
        return false;
    r->pos++;
    return true;
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c)    ? c - '0'
           : isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10
                                        : -1;
}

static void emit_utf8(struct reader *r, uint32_t cp)
{
    if (cp < 0x80) {
        emit_byte(r, (unsigned char)cp);
    } else if (cp < 0x800) {
        emit_byte(r, (unsigned char)(0xc0 | cp >> 6));
        emit_byte(r, (unsigned char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        emit_byte(r, (unsigned char)(0xe0 | cp >> 12));
        emit_byte(r, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        emit_byte(r, (unsigned char)(0x80 | (cp & 0x3f)));
    } else {
        emit_byte(r, (unsigned char)(0xf0 | cp >> 18));
        emit_byte(r, (unsigned char)(0x80 | (cp >> 12 & 0x3f)));
        emit_byte(r, (unsigned char)(0x80 | (cp >> 6 & 0x3f)));
        emit_byte(r, (unsigned char)(0x80 | (cp & 0x3f)));
    }
}

/* One escape after the backslash at r->pos - 1, decoded into the output. */
static enum em_code read_escape(struct reader *r)
{
    static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"??``";
    const char *t = r->text;
    char c = t[r->pos];
    for (size_t i = 0; simple[i]; i += 2)
        if (c == simple[i]) {
            r->pos++;
            emit_byte(r, (unsigned char)simple[i + 1]);
            return EM_OK;
        }
    uint32_t value = 0;
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits) {
        r->pos++;
        for (int i = 0; i < digits; i++, r->pos++) {
            int d = hex_value(t[r->pos]);
            if (d < 0)
                return bad(r, "a hexadecimal digit is expected in the escape");
            value = value << 4 | (uint32_t)d;
        }
        if (c == 'x') {
            if (!value)
                return bad(r, "a string may not hold a NUL");
            emit_byte(r, (unsigned char)value);
            return EM_OK;
        }
        if (!value || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
            return bad(r, "the Unicode escape names no character");
        emit_utf8(r, value);
        return EM_OK;
    }
    if (c >= '0' && c <= '3') {
        for (int i = 0; i < 3; i++, r->pos++) {
            if (t[r->pos] < '0' || t[r->pos] > '7')
                return bad(r, "an octal escape takes three octal digits");
            value = value << 3 | (uint32_t)(t[r->pos] - '0');
        }
        if (!value)
            return bad(r, "a string may not hold a NUL");
        emit_byte(r, (unsigned char)value);
        return EM_OK;
    }
    return bad(r, "an unknown escape sequence");
}

/* A quoted string, emitted double-quoted with only " and \ escaped. */
static enum em_code read_string(struct reader *r)
{
    skip_space(r);
    char quote = r->text[r->pos];
    if (quote != '"' && quote != '\'')
        return bad(r, "a string literal (\"...\") is expected");
    r->pos++;
    emit(r, "\"");
    for (;;) {
        char c = r->text[r->pos];
        if (!c)
            return bad(r, "the string is not closed");
        r->pos++;
        if (c == quote)
            break;
        if (c == '\\') {
            if (read_escape(r))
                return r->st->code;
        } else {
            emit_byte(r, (unsigned char)c);
        }
    }
    emit(r, "\"");
    return EM_OK;
}

/* An attribute key after "attributes." or "attributes:": a word or a string. */
static enum em_code read_key(struct reader *r)
{
    skip_space(r);
    if (r->text[r->pos] == '"' || r->text[r->pos] == '\'') {
        size_t start = r->len;
        if (read_string(r))
            return r->st->code;
        return r->len == start + 2 ? bad(r, "an attribute key may not be empty") : EM_OK;
    }
    size_t n = peek_word(r);
    if (!n)
        return bad(r, "an attribute key is expected (a key of other characters than "
                      "letters, digits, - and _ is written as a string: attributes:\"k.1\")");
    emit(r, "\"");
    for (size_t i = 0; i < n; i++)
        emit_byte(r, (unsigned char)r->text[r->pos + i]);
    emit(r, "\"");
    r->pos += n;
    return EM_OK;
}

static enum em_code read_filter(struct reader *r);

static enum em_code read_primary(struct reader *r)
{
    if (accept_char(r, '(')) {
        if (++r->depth > MAX_DEPTH)
            return bad(r, "too many nested parentheses");
        emit(r, "(");
        if (read_filter(r))
            return r->st->code;
        if (!accept_char(r, ')'))
            return bad(r, "')' is expected");
        emit(r, ")");
        r->depth--;
        return EM_OK;
    }
    if (accept_word(r, "hasPrefix")) {
        if (!accept_char(r, '('))
            return bad(r, "'(' is expected after hasPrefix");
        if (!accept_word(r, "attributes") || !accept_char(r, '.'))
            return bad(r, "hasPrefix takes attributes.KEY first");
        emit(r, "hasPrefix(attributes.");
        if (read_key(r))
            return r->st->code;
        if (!accept_char(r, ','))
            return bad(r, "hasPrefix takes a key and a prefix: ',' is expected");
        emit(r, ", ");
        if (read_string(r))
            return r->st->code;
        if (!accept_char(r, ')'))
            return bad(r, "')' is expected after the prefix");
        emit(r, ")");
        return EM_OK;
    }
    if (!accept_word(r, "attributes"))
        return bad(r, "a condition on attributes is expected (attributes:KEY, "
                      "attributes.KEY = \"value\", attributes.KEY != \"value\" or "
                      "hasPrefix(attributes.KEY, \"prefix\"))");
    if (accept_char(r, ':')) {
        /* em_filter's presence test on the key's path: attributes:"KEY" there would
         * read a key "*" as "any key" */
        emit(r, "attributes.");
        if (read_key(r))
            return r->st->code;
        emit(r, ":*");
        return EM_OK;
    }
    if (!accept_char(r, '.'))
        return bad(r, "':' or '.' is expected after attributes");
    emit(r, "attributes.");
    if (read_key(r))
        return r->st->code;
    skip_space(r);
    if (strncmp(r->text + r->pos, "!=", 2) == 0) {
        r->pos += 2;
        emit(r, " != ");
    } else if (r->text[r->pos] == '=') {
        r->pos++;
        emit(r, " = ");
    } else {
        return bad(r, "'=' or '!=' is expected after the key");
    }
    return read_string(r);
}

static enum em_code read_unary(struct reader *r)
{
    for (;;) {
        if (accept_word(r, "NOT")) {
            emit(r, "NOT ");
        } else if (accept_char(r, '-')) {
            emit(r, "NOT ");
        } else {
            return read_primary(r);
        }
    }
}

static enum em_code read_filter(struct reader *r)
{
    if (read_unary(r))
        return r->st->code;
    const char *op = NULL;
    for (;;) {
        const char *next = accept_word(r, "AND") ? "AND" : accept_word(r, "OR") ? "OR" : NULL;
        if (!next)
            return EM_OK;
        if (op && strcmp(op, next) != 0)
            return bad(r, "AND and OR are mixed; add parentheses");
        op = next;
        emit(r, !strcmp(op, "AND") ? " AND " : " OR ");
        if (read_unary(r))
            return r->st->code;
    }
}

/* Reads text by Pub/Sub's grammar into *canonical (malloc'd): em_filter's reading of it. */
static enum em_code canonical_filter(const char *text, char **canonical, struct em_status *st)
{
    size_t n = strlen(text);
    struct reader r = {.text = text, .out = malloc(4 * n + 16), .st = st};
    *canonical = NULL;
    if (!r.out)
        return EM_FAIL_OOM(st);
    r.out[0] = '\0';
    enum em_code code = read_filter(&r);
    if (!code) {
        skip_space(&r);
        if (r.text[r.pos])
            code = bad(&r, r.text[r.pos] == ')' ? "')' closes no '('"
                                                : "AND or OR is expected between two conditions");
    }
    if (code) {
        free(r.out);
        return code;
    }
    *canonical = r.out;
    return EM_OK;
}

/* ------------------------------------------------ compiling and matching */

struct restriction {
    char bad[160];
};

static bool allowed(const char *path, const char *op, const char *value, void *arg)
{
    struct restriction *r = arg;
    (void)value;
    if (strncmp(path, "attributes.", 11) == 0 && path[11] &&
        (!strcmp(op, "=") || !strcmp(op, "!=") || !strcmp(op, "hasPrefix")))
        return true;
    if (strncmp(path, "attributes.", 11) == 0 && path[11] && !strcmp(op, ":") &&
        !strcmp(value, "*")) /* attributes:KEY, rewritten as a presence test */
        return true;
    if (!path[0])
        snprintf(r->bad, sizeof(r->bad), "a bare value \"%.60s\"", value);
    else if (strncmp(path, "attributes", 10) != 0)
        snprintf(r->bad, sizeof(r->bad), "the field \"%.60s\" (only attributes can be filtered)",
                 path);
    else
        snprintf(r->bad, sizeof(r->bad), "the operator \"%s\" on %.60s", op, path);
    return false;
}

enum em_code ps_filter_compile(const char *text, struct em_filter **out, struct em_status *st)
{
    *out = NULL;
    if (!text || !text[strspn(text, " \t\r\n\f\v")])
        return EM_OK; /* empty or blank: no filter */
    if (strlen(text) > PS_MAX_FILTER_BYTES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid filter: the filter is %zu bytes long; the maximum is %d bytes.",
                       strlen(text), PS_MAX_FILTER_BYTES);
    char *canonical;
    if (canonical_filter(text, &canonical, st))
        return st->code;
    struct em_filter *filter;
    enum em_code code = em_filter_parse(canonical, &filter, st);
    free(canonical);
    if (code)
        return code;
    struct restriction r = {""};
    if (!em_filter_visit(filter, allowed, &r)) {
        em_filter_free(filter);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid filter: %s is not supported; use attributes.KEY = \"value\", "
                       "attributes.KEY != \"value\", attributes:KEY or "
                       "hasPrefix(attributes.KEY, \"prefix\").",
                       r.bad);
    }
    em_filter_exact_equality(filter); /* attributes.k = "a*" matches only "a*" */
    *out = filter;
    return EM_OK;
}

bool ps_filter_matches(const struct em_filter *filter, const char *attributes_json)
{
    if (!filter)
        return true;
    cJSON *message = cJSON_CreateObject();
    cJSON *attributes = attributes_json && *attributes_json ? cJSON_Parse(attributes_json) : NULL;
    cJSON_AddItemToObject(message, "attributes", attributes ? attributes : cJSON_CreateObject());
    bool match = em_filter_match(filter, message);
    cJSON_Delete(message);
    return match;
}
