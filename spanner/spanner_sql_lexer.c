/*
 * spanner_sql_lexer: the GoogleSQL tokenizer (see spanner_sql_lexer.h for what it
 * accepts). One pass over the text; literals are decoded into the arena.
 */
#include "spanner_sql_lexer.h"

#include "em_json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct lexer {
    struct sp_arena *arena;
    const char *sql;
    size_t pos;
    int line;
    size_t line_start; /* offset of the current line's first byte */
    struct sp_tokens *out;
    size_t cap;
    struct em_status *st;
};

static int column_at(const struct lexer *lx, size_t offset)
{
    return (int)(offset - lx->line_start) + 1;
}

static enum em_code lex_error(const struct lexer *lx, size_t offset, const char *what)
{
    return EM_FAIL(lx->st, EM_INVALID_ARGUMENT, "Syntax error: %s [at %d:%d]", what, lx->line,
                   column_at(lx, offset));
}

static enum em_code push(struct lexer *lx, enum sp_token_kind kind, size_t start, const char *value,
                         size_t len)
{
    if (lx->out->count == lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 64;
        struct sp_token *items = sp_arena_alloc(lx->arena, cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(lx->st);
        if (lx->out->count)
            memcpy(items, lx->out->items, lx->out->count * sizeof(*items));
        lx->out->items = items;
        lx->cap = cap;
    }
    char *copy = sp_arena_strndup(lx->arena, value, len);
    if (!copy)
        return EM_FAIL_OOM(lx->st);
    lx->out->items[lx->out->count++] = (struct sp_token){
        kind, copy, len, lx->line, column_at(lx, start), start, lx->pos,
    };
    return EM_OK;
}

/* Skips whitespace and comments, counting lines. */
static enum em_code skip_space(struct lexer *lx)
{
    const char *s = lx->sql;
    for (;;) {
        char c = s[lx->pos];
        if (c == '\n') {
            lx->pos++;
            lx->line++;
            lx->line_start = lx->pos;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->pos++;
        } else if (c == '#' || (c == '-' && s[lx->pos + 1] == '-')) {
            while (s[lx->pos] && s[lx->pos] != '\n')
                lx->pos++;
        } else if (c == '/' && s[lx->pos + 1] == '*') {
            size_t start = lx->pos;
            lx->pos += 2;
            while (s[lx->pos] && !(s[lx->pos] == '*' && s[lx->pos + 1] == '/')) {
                if (s[lx->pos] == '\n') {
                    lx->line++;
                    lx->line_start = lx->pos + 1;
                }
                lx->pos++;
            }
            if (!s[lx->pos])
                return lex_error(lx, start, "Unclosed comment");
            lx->pos += 2;
        } else {
            return EM_OK;
        }
    }
}

static bool ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Appends one UTF-8 encoded code point. */
static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool read_hex(const char *s, int digits, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        int d = em_hex_digit(s[i]);
        if (d < 0)
            return false;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return true;
}

/* Decodes one escape at s (just after the backslash) into out; returns the escape's
 * length, 0 when it is invalid. */
static size_t decode_escape(const char *s, bool bytes, char *out, size_t *out_len)
{
    static const char simple_from[] = "abfnrtv\\?\"'`";
    static const char simple_to[] = "\a\b\f\n\r\t\v\\?\"'`";
    const char *hit = s[0] ? strchr(simple_from, s[0]) : NULL;
    uint32_t cp;
    if (hit) {
        out[0] = simple_to[hit - simple_from];
        *out_len = 1;
        return 1;
    }
    /* octal and hex escapes: a byte in BYTES, the code point U+0000..U+00FF in a STRING
     * ('\xe9' is 'é', as ZetaSQL's lexical rules say) */
    bool octal =
        s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7';
    if (octal)
        cp = (uint32_t)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
    if (octal || ((s[0] == 'x' || s[0] == 'X') && read_hex(s + 1, 2, &cp))) {
        if (bytes) {
            out[0] = (char)cp;
            *out_len = 1;
        } else {
            *out_len = utf8_put(cp, out);
        }
        return 3;
    }
    int digits = s[0] == 'u' ? 4 : s[0] == 'U' ? 8 : 0;
    if (!bytes && digits && read_hex(s + 1, digits, &cp) && cp <= 0x10FFFF &&
        !(cp >= 0xD800 && cp <= 0xDFFF)) {
        *out_len = utf8_put(cp, out);
        return 1 + (size_t)digits;
    }
    return 0;
}

/* A quoted literal starting at lx->pos (after any prefix), prefix_start being where the
 * token began. */
static enum em_code lex_quoted(struct lexer *lx, size_t prefix_start, bool raw, bool bytes)
{
    const char *s = lx->sql;
    char quote = s[lx->pos];
    bool triple = s[lx->pos + 1] == quote && s[lx->pos + 2] == quote;
    size_t start_line = (size_t)lx->line, start_line_start = lx->line_start;
    lx->pos += triple ? 3 : 1;
    struct sp_buf value = {0};
    for (;;) {
        char c = s[lx->pos];
        if (c == '\0' || (!triple && (c == '\n' || c == '\r'))) {
            sp_buf_free(&value);
            lx->line = (int)start_line;
            lx->line_start = start_line_start;
            return lex_error(lx, prefix_start,
                             bytes ? "Unclosed bytes literal" : "Unclosed string literal");
        }
        if (c == quote && (!triple || (s[lx->pos + 1] == quote && s[lx->pos + 2] == quote))) {
            lx->pos += triple ? 3 : 1;
            break;
        }
        if (c == '\\' && raw) {
            /* raw: the backslash stays, and it still keeps the next quote from closing */
            sp_buf_append(&value, s + lx->pos, s[lx->pos + 1] ? 2 : 1);
            lx->pos += s[lx->pos + 1] ? 2 : 1;
            continue;
        }
        if (c == '\\') {
            char decoded[4];
            size_t decoded_len = 0;
            size_t used = decode_escape(s + lx->pos + 1, bytes, decoded, &decoded_len);
            if (!used) {
                sp_buf_free(&value);
                return lex_error(lx, lx->pos, "Illegal escape sequence");
            }
            sp_buf_append(&value, decoded, decoded_len);
            lx->pos += 1 + used;
            continue;
        }
        if (c == '\n') {
            lx->line++;
            lx->line_start = lx->pos + 1;
        }
        sp_buf_append(&value, &c, 1);
        lx->pos++;
    }
    if (value.failed) {
        sp_buf_free(&value);
        return EM_FAIL_OOM(lx->st);
    }
    size_t bad;
    if (!bytes && value.len && !em_utf8_valid(value.data, value.len, &bad)) {
        sp_buf_free(&value);
        return lex_error(lx, prefix_start, "String literal is not valid UTF-8 or holds NUL");
    }
    /* positions of a multi-line token: report where it started */
    int end_line = lx->line;
    size_t end_line_start = lx->line_start;
    lx->line = (int)start_line;
    lx->line_start = start_line_start;
    enum em_code code = push(lx, bytes ? SP_TOK_BYTES : SP_TOK_STRING, prefix_start,
                             value.data ? value.data : "", value.len);
    lx->line = end_line;
    lx->line_start = end_line_start;
    sp_buf_free(&value);
    return code;
}

static enum em_code lex_number(struct lexer *lx)
{
    const char *s = lx->sql;
    size_t start = lx->pos;
    bool is_float = false;
    if (s[lx->pos] == '0' && (s[lx->pos + 1] == 'x' || s[lx->pos + 1] == 'X')) {
        lx->pos += 2;
        while (isxdigit((unsigned char)s[lx->pos]))
            lx->pos++;
        if (lx->pos == start + 2)
            return lex_error(lx, start, "Invalid hex integer literal");
    } else {
        while (isdigit((unsigned char)s[lx->pos]))
            lx->pos++;
        if (s[lx->pos] == '.') {
            is_float = true;
            lx->pos++;
            while (isdigit((unsigned char)s[lx->pos]))
                lx->pos++;
        }
        if (s[lx->pos] == 'e' || s[lx->pos] == 'E') {
            size_t e = lx->pos + 1;
            if (s[e] == '+' || s[e] == '-')
                e++;
            if (!isdigit((unsigned char)s[e]))
                return lex_error(lx, start, "Invalid floating point literal");
            while (isdigit((unsigned char)s[e]))
                e++;
            lx->pos = e;
            is_float = true;
        }
    }
    if (ident_char(s[lx->pos]))
        return lex_error(lx, lx->pos, "Missing whitespace between literal and alias");
    return push(lx, is_float ? SP_TOK_FLOAT : SP_TOK_INT, start, s + start, lx->pos - start);
}

static enum em_code lex_backtick(struct lexer *lx, enum sp_token_kind kind, size_t start)
{
    const char *s = lx->sql;
    size_t open = lx->pos++;
    struct sp_buf value = {0};
    while (s[lx->pos] != '`') {
        if (s[lx->pos] == '\0' || s[lx->pos] == '\n') {
            sp_buf_free(&value);
            return lex_error(lx, open, "Unclosed identifier literal");
        }
        if (s[lx->pos] == '\\') {
            char decoded[4];
            size_t decoded_len = 0;
            size_t used = decode_escape(s + lx->pos + 1, false, decoded, &decoded_len);
            if (!used || (decoded_len == 1 && decoded[0] == '\0')) {
                sp_buf_free(&value);
                return lex_error(lx, lx->pos, "Illegal escape sequence");
            }
            sp_buf_append(&value, decoded, decoded_len);
            lx->pos += 1 + used;
            continue;
        }
        sp_buf_append(&value, s + lx->pos, 1);
        lx->pos++;
    }
    lx->pos++;
    if (value.failed || value.len == 0) {
        bool failed = value.failed;
        sp_buf_free(&value);
        return failed ? EM_FAIL_OOM(lx->st) : lex_error(lx, open, "Invalid empty identifier");
    }
    enum em_code code = push(lx, kind, start, value.data, value.len);
    sp_buf_free(&value);
    return code;
}

/* A string/bytes prefix (r, b, rb, br) directly followed by a quote. */
static bool literal_prefix(const char *s, bool *raw, bool *bytes, size_t *len)
{
    size_t n = 0;
    *raw = *bytes = false;
    while (n < 2 && (s[n] == 'r' || s[n] == 'R' || s[n] == 'b' || s[n] == 'B')) {
        bool is_raw = s[n] == 'r' || s[n] == 'R';
        if ((is_raw && *raw) || (!is_raw && *bytes))
            return false;
        *raw |= is_raw;
        *bytes |= !is_raw;
        n++;
    }
    *len = n;
    return n > 0 && (s[n] == '\'' || s[n] == '"');
}

static enum em_code lex_word(struct lexer *lx)
{
    const char *s = lx->sql;
    size_t start = lx->pos;
    bool raw, bytes;
    size_t prefix;
    if (literal_prefix(s + lx->pos, &raw, &bytes, &prefix)) {
        lx->pos += prefix;
        return lex_quoted(lx, start, raw, bytes);
    }
    while (ident_char(s[lx->pos]))
        lx->pos++;
    return push(lx, SP_TOK_IDENT, start, s + start, lx->pos - start);
}

static enum em_code lex_param(struct lexer *lx)
{
    const char *s = lx->sql;
    size_t start = lx->pos;
    if (ident_start(s[lx->pos + 1])) {
        lx->pos++;
        size_t name = lx->pos;
        while (ident_char(s[lx->pos]))
            lx->pos++;
        return push(lx, SP_TOK_PARAM, start, s + name, lx->pos - name);
    }
    if (s[lx->pos + 1] == '`') {
        lx->pos++;
        return lex_backtick(lx, SP_TOK_PARAM, start);
    }
    lx->pos++;
    return push(lx, SP_TOK_OP, start, "@", 1);
}

static enum em_code lex_op(struct lexer *lx)
{
    static const char *const two[] = {"<=", ">=", "<>", "!=", "||", "<<", ">>", "=>", "->"};
    const char *s = lx->sql;
    size_t start = lx->pos;
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
        if (strncmp(s + start, two[i], 2) == 0) {
            lx->pos += 2;
            return push(lx, SP_TOK_OP, start, two[i], 2);
        }
    if (!strchr("()[]{},.;*+-/<>=&|^~:", s[start]) || s[start] == '\0') {
        unsigned char c = (unsigned char)s[start];
        char what[48];
        if (c >= 0x20 && c < 0x7F)
            snprintf(what, sizeof(what), "Illegal input character \"%c\"", c);
        else
            snprintf(what, sizeof(what), "Illegal input character \"\\x%02x\"", c);
        return lex_error(lx, start, what);
    }
    lx->pos++;
    return push(lx, SP_TOK_OP, start, s + start, 1);
}

static enum em_code lex_one(struct lexer *lx)
{
    char c = lx->sql[lx->pos];
    if (ident_start(c))
        return lex_word(lx);
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)lx->sql[lx->pos + 1])))
        return lex_number(lx);
    if (c == '\'' || c == '"')
        return lex_quoted(lx, lx->pos, false, false);
    if (c == '`')
        return lex_backtick(lx, SP_TOK_QUOTED_IDENT, lx->pos);
    if (c == '@')
        return lex_param(lx);
    return lex_op(lx);
}

enum em_code sp_lex(struct sp_arena *arena, const char *sql, struct sp_tokens *out,
                    struct em_status *st)
{
    struct lexer lx = {arena, sql, 0, 1, 0, out, 0, st};
    out->items = NULL;
    out->count = 0;
    for (;;) {
        if (skip_space(&lx))
            return st->code;
        if (sql[lx.pos] == '\0')
            return push(&lx, SP_TOK_EOF, lx.pos, "", 0);
        if (lex_one(&lx))
            return st->code;
    }
}

bool sp_token_is_keyword(const struct sp_token *tok, const char *kw)
{
    return tok->kind == SP_TOK_IDENT && strcasecmp(tok->value, kw) == 0;
}

bool sp_token_is_op(const struct sp_token *tok, const char *op)
{
    return tok->kind == SP_TOK_OP && strcmp(tok->value, op) == 0;
}
