/*
 * pubsub_proto_lex: the tokenizer of a .proto definition (protoc's tokenizer rules:
 * identifiers, decimal, octal and hex integers, floats, single- or double-quoted strings
 * with C escapes that do not cross lines, // and block comments, one-character symbols),
 * the literal values built from tokens, and the one way a definition error is reported:
 * "line N: <problem>" as INVALID_ARGUMENT.
 */
#include "pubsub_proto_parts.h"

#include "em_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum em_code proto_fail_at(struct em_status *st, const char *file, int src_line, int line,
                           const char *fmt, ...)
{
    char text[EM_STATUS_MESSAGE_MAX - 40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return em_status_set(st, file, src_line, EM_INVALID_ARGUMENT, "line %d: %s", line, text);
}

#define FAIL_AT(ps, line, ...) proto_fail_at((ps)->st, __FILE__, __LINE__, (line), __VA_ARGS__)
#define FAIL(ps, ...)          FAIL_AT((ps), (ps)->tok.line, __VA_ARGS__)
/* a token in a message: at most 60 characters of it */
#define TOK_SHOWN(t) (int)((t).n < 60 ? (t).n : 60), (t).s

/* --- tokenizer --- */

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static enum em_code skip_space_and_comments(struct proto_parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            ps->p++;
        } else if (c == '/' && ps->end - ps->p > 1 && ps->p[1] == '/') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
        } else if (c == '/' && ps->end - ps->p > 1 && ps->p[1] == '*') {
            int start = ps->line;
            ps->p += 2;
            while (ps->p < ps->end && !(*ps->p == '*' && ps->end - ps->p > 1 && ps->p[1] == '/'))
                ps->line += *ps->p++ == '\n';
            if (ps->p >= ps->end)
                return FAIL_AT(ps, start, "End-of-file inside block comment.");
            ps->p += 2;
        } else {
            break;
        }
    }
    return EM_OK;
}

static enum em_code scan_number(struct proto_parser *ps)
{
    const char *p = ps->p;
    ps->tok.kind = PT_INT;
    if (p[0] == '0' && ps->end - p > 1 && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        while (p < ps->end && em_hex_digit(*p) >= 0)
            p++;
        if (p == ps->p + 2)
            return FAIL(ps, "\"0x\" must be followed by hex digits.");
    } else {
        while (p < ps->end && is_digit(*p))
            p++;
        if (p < ps->end && *p == '.') {
            ps->tok.kind = PT_FLOAT;
            p++;
            while (p < ps->end && is_digit(*p))
                p++;
        }
        if (p < ps->end && (*p == 'e' || *p == 'E')) {
            ps->tok.kind = PT_FLOAT;
            p++;
            if (p < ps->end && (*p == '+' || *p == '-'))
                p++;
            if (p >= ps->end || !is_digit(*p))
                return FAIL(ps, "\"e\" must be followed by exponent.");
            while (p < ps->end && is_digit(*p))
                p++;
        }
    }
    if (p < ps->end && (is_letter(*p) || is_digit(*p) || *p == '.'))
        return FAIL(ps, "Need space between number and identifier.");
    ps->tok.n = (size_t)(p - ps->p);
    ps->p = p;
    return EM_OK;
}

static enum em_code scan_string(struct proto_parser *ps)
{
    char quote = *ps->p;
    const char *p = ps->p + 1;
    while (p < ps->end && *p != quote) {
        if (*p == '\n')
            return FAIL(ps, "String literals cannot cross line boundaries.");
        if (*p == '\\' && ps->end - p > 1 && p[1] != '\n')
            p++;
        p++;
    }
    if (p >= ps->end)
        return FAIL(ps, "Unexpected end of string.");
    ps->tok.kind = PT_STRING;
    ps->tok.n = (size_t)(p + 1 - ps->p);
    ps->p = p + 1;
    return EM_OK;
}

enum em_code proto_next_token(struct proto_parser *ps)
{
    enum em_code code = skip_space_and_comments(ps);
    if (code)
        return code;
    ps->tok.s = ps->p;
    ps->tok.line = ps->line;
    ps->tok.n = 0;
    if (ps->p >= ps->end) {
        ps->tok.kind = PT_END;
        return EM_OK;
    }
    char c = *ps->p;
    if (is_letter(c)) {
        while (ps->p < ps->end && (is_letter(*ps->p) || is_digit(*ps->p)))
            ps->p++;
        ps->tok.kind = PT_IDENT;
        ps->tok.n = (size_t)(ps->p - ps->tok.s);
        return EM_OK;
    }
    if (is_digit(c) || (c == '.' && ps->end - ps->p > 1 && is_digit(ps->p[1])))
        return scan_number(ps);
    if (c == '"' || c == '\'')
        return scan_string(ps);
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
        return FAIL(ps, "Invalid control characters encountered in text.");
    ps->tok.kind = PT_SYMBOL;
    ps->tok.n = 1;
    ps->p++;
    return EM_OK;
}

bool proto_tok_is(const struct proto_parser *ps, const char *text)
{
    return ps->tok.kind != PT_STRING && ps->tok.kind != PT_END && ps->tok.n == strlen(text) &&
           memcmp(ps->tok.s, text, ps->tok.n) == 0;
}

struct proto_str proto_tok_str(const struct proto_parser *ps)
{
    return (struct proto_str){ps->tok.s, ps->tok.n};
}

enum em_code proto_expect(struct proto_parser *ps, const char *text)
{
    if (!proto_tok_is(ps, text)) {
        if (ps->tok.kind == PT_END)
            return FAIL(ps, "Expected \"%s\" but reached the end of the definition.", text);
        return FAIL(ps, "Expected \"%s\", found \"%.*s\".", text, TOK_SHOWN(ps->tok));
    }
    return proto_next_token(ps);
}

enum em_code proto_expect_ident(struct proto_parser *ps, const char *what, struct proto_str *out)
{
    if (ps->tok.kind != PT_IDENT)
        return FAIL(ps, "Expected %s.", what);
    *out = proto_tok_str(ps);
    return proto_next_token(ps);
}

/* The token after the current one, without consuming anything. */
bool proto_peek_is(struct proto_parser *ps, const char *text)
{
    struct proto_parser saved = *ps;
    bool match = proto_next_token(ps) == EM_OK && proto_tok_is(ps, text);
    *ps = saved;
    return match;
}

/* --- literal values --- */

static enum em_code parse_uint64(struct proto_parser *ps, uint64_t *out)
{
    if (ps->tok.kind != PT_INT)
        return FAIL(ps, "Expected integer.");
    const char *p = ps->tok.s, *end = p + ps->tok.n;
    unsigned base = 10;
    if (ps->tok.n > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (ps->tok.n > 1 && p[0] == '0') {
        base = 8;
    }
    uint64_t v = 0;
    for (; p < end; p++) {
        int d = em_hex_digit(*p);
        if (d < 0 || (unsigned)d >= base)
            return FAIL(ps, "Invalid digit in integer \"%.*s\".", TOK_SHOWN(ps->tok));
        if (v > (UINT64_MAX - (unsigned)d) / base)
            return FAIL(ps, "Integer out of range.");
        v = v * base + (unsigned)d;
    }
    *out = v;
    return proto_next_token(ps);
}

/* An integer with an optional '-', within [min, max]. */
enum em_code proto_parse_int(struct proto_parser *ps, int64_t min, int64_t max, int64_t *out)
{
    bool negative = proto_tok_is(ps, "-");
    enum em_code code = negative ? proto_next_token(ps) : EM_OK;
    uint64_t magnitude = 0;
    int line = ps->tok.line;
    if (code || (code = parse_uint64(ps, &magnitude)))
        return code;
    if (magnitude > (uint64_t)INT64_MAX + negative)
        return FAIL_AT(ps, line, "Integer out of range.");
    int64_t v = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    if (v < min || v > max)
        return FAIL_AT(ps, line, "Integer out of range.");
    *out = v;
    return EM_OK;
}

static int octal_escape(const char **p, const char *end)
{
    int v = 0;
    for (int i = 0; i < 3 && *p < end && **p >= '0' && **p <= '7'; i++)
        v = v * 8 + *(*p)++ - '0';
    return v & 0xFF;
}

/* Decodes one string literal token (quotes and C escapes) into dst, which has room for
 * the token's length; returns the decoded length. */
static size_t decode_string(const struct proto_token_at *t, char *dst)
{
    const char *p = t->s + 1, *end = t->s + t->n - 1;
    size_t o = 0;
    while (p < end) {
        if (*p != '\\') {
            dst[o++] = *p++;
            continue;
        }
        p++;
        char c = *p;
        static const char from[] = "abfnrtv\\'\"?", to[] = "\a\b\f\n\r\t\v\\'\"?";
        const char *simple = c ? strchr(from, c) : NULL;
        if (simple) {
            dst[o++] = to[simple - from];
            p++;
        } else if (c >= '0' && c <= '7') {
            dst[o++] = (char)octal_escape(&p, end);
        } else if ((c == 'x' || c == 'X') && p + 1 < end && em_hex_digit(p[1]) >= 0) {
            int v = em_hex_digit(*++p);
            if (++p < end && em_hex_digit(*p) >= 0)
                v = v * 16 + em_hex_digit(*p++);
            dst[o++] = (char)v;
        } else { /* \u and others: kept as written, these values only name things */
            dst[o++] = '\\';
        }
    }
    return o;
}

/* One or more adjacent string literals, decoded into the arena. */
enum em_code proto_parse_string(struct proto_parser *ps, struct proto_str *out)
{
    if (ps->tok.kind != PT_STRING)
        return FAIL(ps, "Expected string.");
    size_t room = 0;
    struct proto_parser scan = *ps;
    while (scan.tok.kind == PT_STRING) {
        room += scan.tok.n;
        if (proto_next_token(&scan))
            break;
    }
    char *dst = proto_arena_alloc(ps->schema, room + 1);
    if (!dst)
        return EM_FAIL_OOM(ps->st);
    size_t n = 0;
    enum em_code code = EM_OK;
    while (!code && ps->tok.kind == PT_STRING) {
        n += decode_string(&ps->tok, dst + n);
        code = proto_next_token(ps);
    }
    dst[n] = '\0';
    *out = (struct proto_str){dst, n};
    return code;
}
