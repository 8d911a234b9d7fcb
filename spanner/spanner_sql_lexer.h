/*
 * spanner_sql_lexer: GoogleSQL text -> tokens, each with its line and column (1-based,
 * columns in bytes as Spanner counts them) for the "[at L:C]" of every error.
 *
 * Identifiers are plain or backtick-quoted (a quoted one is never a keyword); keywords are
 * recognized by the parser, case-insensitively. Literals: integers (decimal and 0x hex),
 * floats (1.5, .5, 1e10, 1.), strings and bytes quoted with ' " ''' or """, with the r, b,
 * rb and br prefixes and GoogleSQL's backslash escapes (decoded here: the token's value is
 * the literal's content). @name is a query parameter. Comments: --, # and block comments.
 */
#ifndef SPANNER_SQL_LEXER_H
#define SPANNER_SQL_LEXER_H

#include "em_status.h"
#include "spanner_sql_mem.h"

#include <stdbool.h>
#include <stddef.h>

enum sp_token_kind {
    SP_TOK_EOF,
    SP_TOK_IDENT,        /* plain identifier or keyword */
    SP_TOK_QUOTED_IDENT, /* `quoted` */
    SP_TOK_INT,          /* value: the digits as written (0x.. kept) */
    SP_TOK_FLOAT,
    SP_TOK_STRING, /* value: decoded UTF-8 text */
    SP_TOK_BYTES,  /* value: decoded bytes (may hold NUL; see len) */
    SP_TOK_PARAM,  /* value: the name after @ */
    SP_TOK_OP,     /* value: the operator text */
};

struct sp_token {
    enum sp_token_kind kind;
    const char *value; /* NUL-terminated, arena-owned */
    size_t len;        /* bytes of value */
    int line, column;
    size_t offset, end; /* byte range in the statement text */
};

struct sp_tokens {
    struct sp_token *items; /* ends with one SP_TOK_EOF */
    size_t count;
};

/* Tokenizes sql; on a lexical error INVALID_ARGUMENT "Syntax error: ... [at L:C]". */
enum em_code sp_lex(struct sp_arena *arena, const char *sql, struct sp_tokens *out,
                    struct em_status *st);

/* Whether tok is the keyword kw (a plain identifier, compared case-insensitively). */
bool sp_token_is_keyword(const struct sp_token *tok, const char *kw);
bool sp_token_is_op(const struct sp_token *tok, const char *op);

#endif
