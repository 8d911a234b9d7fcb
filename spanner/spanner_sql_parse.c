/*
 * spanner_sql_parse: GoogleSQL queries, expressions and DML -> the syntax tree of
 * spanner_sql_ast.h (recursive descent; the precedence table is in that header).
 * Nesting deeper than MAX_DEPTH is refused so hostile input cannot exhaust the stack.
 */
#include "spanner_sql_ast.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 100

static const char *const reserved_words[] = {
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ASSERT_ROWS_MODIFIED",
    "AT",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COLLATE",
    "CONTAINS",
    "CREATE",
    "CROSS",
    "CUBE",
    "CURRENT",
    "DEFAULT",
    "DEFINE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ENUM",
    "ESCAPE",
    "EXCEPT",
    "EXCLUDE",
    "EXISTS",
    "EXTRACT",
    "FALSE",
    "FETCH",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "GROUPING",
    "GROUPS",
    "HASH",
    "HAVING",
    "IF",
    "IGNORE",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOOKUP",
    "MERGE",
    "NATURAL",
    "NEW",
    "NO",
    "NOT",
    "NULL",
    "NULLS",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "PROTO",
    "RANGE",
    "RECURSIVE",
    "RESPECT",
    "RIGHT",
    "ROLLUP",
    "ROWS",
    "SELECT",
    "SET",
    "SOME",
    "STRUCT",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TREAT",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UNNEST",
    "USING",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
};

bool sp_is_reserved(const char *word)
{
    for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
        if (strcasecmp(word, reserved_words[i]) == 0)
            return true;
    return false;
}

/* ---- token helpers ---- */

const struct sp_token *sp_peek(const struct sp_parser *p)
{
    return &p->tokens.items[p->pos];
}

const struct sp_token *sp_peek_at(const struct sp_parser *p, size_t ahead)
{
    size_t i = p->pos + ahead;
    return &p->tokens.items[i < p->tokens.count ? i : p->tokens.count - 1];
}

const struct sp_token *sp_next(struct sp_parser *p)
{
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind != SP_TOK_EOF)
        p->pos++;
    return tok;
}

bool sp_accept_keyword(struct sp_parser *p, const char *kw)
{
    if (!sp_token_is_keyword(sp_peek(p), kw))
        return false;
    p->pos++;
    return true;
}

bool sp_accept_op(struct sp_parser *p, const char *op)
{
    if (!sp_token_is_op(sp_peek(p), op))
        return false;
    p->pos++;
    return true;
}

enum em_code sp_syntax_error(struct sp_parser *p)
{
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_EOF)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Unexpected end of statement [at %d:%d]", tok->line,
                       tok->column);
    const char *what = tok->kind == SP_TOK_IDENT && sp_is_reserved(tok->value) ? "keyword"
                       : tok->kind == SP_TOK_INT || tok->kind == SP_TOK_FLOAT  ? "number"
                       : tok->kind == SP_TOK_STRING                            ? "string literal"
                       : tok->kind == SP_TOK_BYTES                             ? "bytes literal"
                       : tok->kind == SP_TOK_PARAM                             ? "parameter"
                       : tok->kind == SP_TOK_OP                                ? ""
                                                                               : "identifier";
    int shown = (int)(tok->end - tok->offset);
    if (shown > 40)
        shown = 40;
    if (tok->kind == SP_TOK_OP)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Syntax error: Unexpected \"%s\" [at %d:%d]",
                       tok->value, tok->line, tok->column);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Syntax error: Unexpected %s %.*s [at %d:%d]", what,
                   shown, p->sql + tok->offset, tok->line, tok->column);
}

enum em_code sp_unsupported(struct sp_parser *p, const struct sp_token *tok, const char *construct)
{
    return EM_FAIL(p->st, EM_UNIMPLEMENTED, "%s is not supported by this emulator [at %d:%d]",
                   construct, tok->line, tok->column);
}

enum em_code sp_expect_keyword(struct sp_parser *p, const char *kw)
{
    if (sp_accept_keyword(p, kw))
        return EM_OK;
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_EOF)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Expected keyword %s but got end of statement [at %d:%d]", kw,
                       tok->line, tok->column);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Syntax error: Expected keyword %s but got \"%.*s\" [at %d:%d]", kw,
                   (int)(tok->end - tok->offset > 40 ? 40 : tok->end - tok->offset),
                   p->sql + tok->offset, tok->line, tok->column);
}

enum em_code sp_expect_op(struct sp_parser *p, const char *op)
{
    if (sp_accept_op(p, op))
        return EM_OK;
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_EOF)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Expected \"%s\" but got end of statement [at %d:%d]", op,
                       tok->line, tok->column);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Syntax error: Expected \"%s\" but got \"%.*s\" [at %d:%d]", op,
                   (int)(tok->end - tok->offset > 40 ? 40 : tok->end - tok->offset),
                   p->sql + tok->offset, tok->line, tok->column);
}

enum em_code sp_expect_identifier(struct sp_parser *p, const char *what, const char **name)
{
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_QUOTED_IDENT ||
        (tok->kind == SP_TOK_IDENT && !sp_is_reserved(tok->value))) {
        *name = tok->value;
        p->pos++;
        return EM_OK;
    }
    if (tok->kind == SP_TOK_EOF)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Expected %s but got end of statement [at %d:%d]", what,
                       tok->line, tok->column);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Syntax error: Expected %s but got \"%.*s\" [at %d:%d]", what,
                   (int)(tok->end - tok->offset > 40 ? 40 : tok->end - tok->offset),
                   p->sql + tok->offset, tok->line, tok->column);
}

enum em_code sp_expect_object_name(struct sp_parser *p, const char *what, const char **name)
{
    if (sp_expect_identifier(p, what, name))
        return p->st->code;
    while (sp_token_is_op(sp_peek(p), ".") && (sp_peek_at(p, 1)->kind == SP_TOK_IDENT ||
                                               sp_peek_at(p, 1)->kind == SP_TOK_QUOTED_IDENT)) {
        const char *part = sp_peek_at(p, 1)->value;
        size_t len = strlen(*name) + 1 + strlen(part) + 1;
        char *path = sp_arena_alloc(p->arena, len);
        if (!path)
            return EM_FAIL_OOM(p->st);
        snprintf(path, len, "%s.%s", *name, part);
        *name = path;
        p->pos += 2;
    }
    return EM_OK;
}

const char *sp_name_without_schema(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : name;
}

enum em_code sp_parser_init(struct sp_parser *p, struct sp_arena *arena, const char *sql,
                            struct em_status *st)
{
    memset(p, 0, sizeof(*p));
    p->arena = arena;
    p->sql = sql;
    p->st = st;
    return sp_lex(arena, sql, &p->tokens, st);
}

/* ---- node construction ---- */

static struct sp_expr *new_expr(struct sp_parser *p, enum sp_expr_kind kind,
                                const struct sp_token *at)
{
    struct sp_expr *e = sp_arena_alloc(p->arena, sizeof(*e));
    if (!e) {
        EM_FAIL_OOM(p->st);
        return NULL;
    }
    e->kind = kind;
    e->line = at->line;
    e->column = at->column;
    e->start = at->offset;
    e->end = at->end;
    return e;
}

/* A growing array of pointers in the arena. */
struct ptr_list {
    void **items;
    int count, cap;
};

static enum em_code list_push(struct sp_parser *p, struct ptr_list *list, void *item)
{
    if (list->count == list->cap) {
        int cap = list->cap ? list->cap * 2 : 4;
        void **items = sp_arena_alloc(p->arena, (size_t)cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(p->st);
        if (list->count)
            memcpy(items, list->items, (size_t)list->count * sizeof(*items));
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = item;
    return EM_OK;
}

static enum em_code enter(struct sp_parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        const struct sp_token *tok = sp_peek(p);
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Statement is nested too deeply (more than %d levels) [at %d:%d]", MAX_DEPTH,
                       tok->line, tok->column);
    }
    return EM_OK;
}

static void finish(struct sp_parser *p, struct sp_expr *e)
{
    if (p->pos > 0)
        e->end = p->tokens.items[p->pos - 1].end;
}

/* ---- types ---- */

static const struct {
    const char *name;
    enum sp_type_code code;
} scalar_types[] = {
    {"BOOL", SP_TYPE_BOOL},       {"INT64", SP_TYPE_INT64},     {"FLOAT64", SP_TYPE_FLOAT64},
    {"FLOAT32", SP_TYPE_FLOAT32}, {"NUMERIC", SP_TYPE_NUMERIC}, {"STRING", SP_TYPE_STRING},
    {"BYTES", SP_TYPE_BYTES},     {"DATE", SP_TYPE_DATE},       {"TIMESTAMP", SP_TYPE_TIMESTAMP},
    {"JSON", SP_TYPE_JSON},
};

static enum em_code parse_length(struct sp_parser *p, enum sp_type_code code, bool required,
                                 long *length)
{
    *length = SP_LEN_MAX;
    if (!sp_accept_op(p, "(")) {
        if (!required)
            return EM_OK;
        return sp_expect_op(p, "(");
    }
    const struct sp_token *tok = sp_peek(p);
    if (sp_accept_keyword(p, "MAX"))
        return sp_expect_op(p, ")");
    if (tok->kind != SP_TOK_INT)
        return sp_syntax_error(p);
    char *end;
    long n = strtol(tok->value, &end, 0);
    long limit = code == SP_TYPE_STRING ? SP_STRING_MAX_CHARS : SP_BYTES_MAX;
    if (*end || n < 1 || n > limit)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Invalid length for %s: %s. The length must be between 1 and %ld [at %d:%d]",
                       code == SP_TYPE_STRING ? "STRING" : "BYTES", tok->value, limit, tok->line,
                       tok->column);
    p->pos++;
    *length = n;
    return sp_expect_op(p, ")");
}

static enum em_code parse_scalar_type(struct sp_parser *p, bool require_length,
                                      enum sp_type_code *code, long *length)
{
    const struct sp_token *tok = sp_peek(p);
    for (size_t i = 0; i < sizeof(scalar_types) / sizeof(scalar_types[0]); i++) {
        if (!sp_token_is_keyword(tok, scalar_types[i].name))
            continue;
        p->pos++;
        *code = scalar_types[i].code;
        *length = 0;
        if (*code == SP_TYPE_STRING || *code == SP_TYPE_BYTES)
            return parse_length(p, *code, require_length, length);
        return EM_OK;
    }
    if (sp_token_is_keyword(tok, "STRUCT") || sp_token_is_keyword(tok, "PROTO") ||
        sp_token_is_keyword(tok, "INTERVAL"))
        return sp_unsupported(p, tok, tok->value);
    if (tok->kind == SP_TOK_IDENT || tok->kind == SP_TOK_QUOTED_IDENT)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Type not found: %s [at %d:%d]", tok->value,
                       tok->line, tok->column);
    return sp_syntax_error(p);
}

static enum em_code parse_type(struct sp_parser *p, bool require_length, bool allow_struct,
                               int depth, struct sp_type *out);

/* The ">" closing ARRAY<...> or STRUCT<...>. Nested, the lexer's ">>" closes two: the first
 * is taken and the token left as the second ">". */
static enum em_code expect_close_angle(struct sp_parser *p, int depth)
{
    struct sp_token *tok = &p->tokens.items[p->pos];
    if (depth > 0 && sp_token_is_op(tok, ">>")) {
        tok->value = ">";
        tok->len = 1;
        tok->column++;
        tok->offset++;
        return EM_OK;
    }
    /* ARRAY<INT64>> lexes its closing brackets as ">>" */
    if (sp_token_is_op(tok, ">>"))
        return sp_syntax_error(p);
    return sp_expect_op(p, ">");
}

/* STRUCT<[name] type, ...> after STRUCT: a field's name is there when two names follow. */
static enum em_code parse_struct_type(struct sp_parser *p, int depth, struct sp_type *out)
{
    struct ptr_list fields = {0};
    if (sp_expect_op(p, "<"))
        return p->st->code;
    while (!sp_token_is_op(sp_peek(p), ">")) {
        struct sp_struct_field *field = sp_arena_alloc(p->arena, sizeof(*field));
        if (!field)
            return EM_FAIL_OOM(p->st);
        field->name = "";
        const struct sp_token *tok = sp_peek(p), *after = sp_peek_at(p, 1);
        if ((tok->kind == SP_TOK_IDENT || tok->kind == SP_TOK_QUOTED_IDENT) &&
            after->kind == SP_TOK_IDENT && sp_expect_identifier(p, "field name", &field->name))
            return p->st->code;
        if (parse_type(p, false, true, depth + 1, &field->type) || list_push(p, &fields, field))
            return p->st->code;
        if (!sp_accept_op(p, ","))
            break;
    }
    struct sp_struct_type *type = sp_arena_alloc(p->arena, sizeof(*type));
    struct sp_struct_field *list =
        sp_arena_alloc(p->arena, (size_t)(fields.count ? fields.count : 1) * sizeof(*list));
    if (!type || !list)
        return EM_FAIL_OOM(p->st);
    for (int i = 0; i < fields.count; i++)
        list[i] = *(struct sp_struct_field *)fields.items[i];
    type->count = fields.count;
    type->fields = list;
    out->code = SP_TYPE_STRUCT;
    out->struct_type = type;
    return expect_close_angle(p, depth);
}

static enum em_code parse_type(struct sp_parser *p, bool require_length, bool allow_struct,
                               int depth, struct sp_type *out)
{
    memset(out, 0, sizeof(*out));
    if (depth > SP_TYPE_MAX_DEPTH)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Types nest more than %d levels deep [at %d:%d]",
                       SP_TYPE_MAX_DEPTH, sp_peek(p)->line, sp_peek(p)->column);
    if (allow_struct && sp_accept_keyword(p, "STRUCT"))
        return parse_struct_type(p, depth, out);
    if (!sp_accept_keyword(p, "ARRAY"))
        return parse_scalar_type(p, require_length, &out->code, &out->length);
    out->code = SP_TYPE_ARRAY;
    if (sp_expect_op(p, "<"))
        return p->st->code;
    if (sp_token_is_keyword(sp_peek(p), "ARRAY"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Arrays of arrays are not supported [at %d:%d]",
                       sp_peek(p)->line, sp_peek(p)->column);
    if (allow_struct && sp_accept_keyword(p, "STRUCT")) {
        struct sp_type element;
        if (parse_struct_type(p, depth + 1, &element))
            return p->st->code;
        out->element = SP_TYPE_STRUCT;
        out->struct_type = element.struct_type;
    } else if (parse_scalar_type(p, require_length, &out->element, &out->length)) {
        return p->st->code;
    }
    return expect_close_angle(p, depth);
}

enum em_code sp_parse_type(struct sp_parser *p, bool require_length, struct sp_type *out)
{
    return parse_type(p, require_length, false, 0, out);
}

/* ---- expressions ---- */

static enum em_code parse_or(struct sp_parser *p, struct sp_expr **out);

enum em_code sp_parse_expr(struct sp_parser *p, struct sp_expr **out)
{
    if (enter(p))
        return p->st->code;
    enum em_code code = parse_or(p, out);
    p->depth--;
    return code;
}

static enum em_code binary(struct sp_parser *p, const struct sp_token *at, const char *op,
                           struct sp_expr *left, struct sp_expr *right, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_BINARY, at);
    struct sp_expr **args = sp_arena_alloc(p->arena, 2 * sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    e->name = op;
    e->args = args;
    e->nargs = 2;
    args[0] = left;
    args[1] = right;
    e->line = left->line;
    e->column = left->column;
    e->start = left->start;
    e->end = right->end;
    *out = e;
    return EM_OK;
}

/* One level of left-associative binary operators. */
typedef enum em_code (*level_fn)(struct sp_parser *p, struct sp_expr **out);

static enum em_code parse_level(struct sp_parser *p, const char *const *ops, bool keywords,
                                level_fn next, struct sp_expr **out)
{
    if (next(p, out))
        return p->st->code;
    for (;;) {
        const struct sp_token *tok = sp_peek(p);
        const char *op = NULL;
        for (int i = 0; ops[i]; i++)
            if (keywords ? sp_token_is_keyword(tok, ops[i]) : sp_token_is_op(tok, ops[i]))
                op = ops[i];
        if (!op)
            return EM_OK;
        p->pos++;
        struct sp_expr *right;
        if (next(p, &right) || binary(p, tok, op, *out, right, out))
            return p->st->code;
    }
}

static enum em_code parse_unary(struct sp_parser *p, struct sp_expr **out);

static enum em_code parse_multiplicative(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"*", "/", "||", NULL};
    return parse_level(p, ops, false, parse_unary, out);
}

static enum em_code parse_additive(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"+", "-", NULL};
    return parse_level(p, ops, false, parse_multiplicative, out);
}

static enum em_code parse_shift(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"<<", ">>", NULL};
    return parse_level(p, ops, false, parse_additive, out);
}

static enum em_code parse_bitand(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"&", NULL};
    return parse_level(p, ops, false, parse_shift, out);
}

static enum em_code parse_bitxor(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"^", NULL};
    return parse_level(p, ops, false, parse_bitand, out);
}

static enum em_code parse_bitor(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"|", NULL};
    return parse_level(p, ops, false, parse_bitxor, out);
}

static enum em_code parse_expr_list(struct sp_parser *p, struct ptr_list *list)
{
    do {
        struct sp_expr *e;
        if (sp_parse_expr(p, &e) || list_push(p, list, e))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    return EM_OK;
}

/* Whether the tokens at the cursor open a subquery: "(" followed by SELECT or WITH. */
static bool at_subquery(const struct sp_parser *p)
{
    return sp_token_is_op(sp_peek(p), "(") && (sp_token_is_keyword(sp_peek_at(p, 1), "SELECT") ||
                                               sp_token_is_keyword(sp_peek_at(p, 1), "WITH") ||
                                               (sp_token_is_op(sp_peek_at(p, 1), "(") &&
                                                sp_token_is_keyword(sp_peek_at(p, 2), "SELECT")));
}

static enum em_code parse_in(struct sp_parser *p, const struct sp_token *at, struct sp_expr *left,
                             bool negated, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_IN, at);
    if (!e)
        return p->st->code;
    e->negated = negated;
    struct ptr_list args = {0};
    if (list_push(p, &args, left))
        return p->st->code;
    if (sp_accept_keyword(p, "UNNEST")) {
        struct sp_expr *array;
        e->unnest = true;
        if (sp_expect_op(p, "(") || sp_parse_expr(p, &array) || sp_expect_op(p, ")") ||
            list_push(p, &args, array))
            return p->st->code;
    } else if (at_subquery(p)) {
        p->pos++;
        if (sp_parse_query(p, &e->subquery) || sp_expect_op(p, ")"))
            return p->st->code;
    } else if (sp_expect_op(p, "(") || parse_expr_list(p, &args) || sp_expect_op(p, ")")) {
        return p->st->code;
    }
    e->args = (struct sp_expr **)args.items;
    e->nargs = args.count;
    e->line = left->line;
    e->column = left->column;
    e->start = left->start;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_comparison(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"=", "!=", "<>", "<", "<=", ">", ">=", NULL};
    if (parse_bitor(p, out))
        return p->st->code;
    for (;;) {
        const struct sp_token *tok = sp_peek(p);
        const char *op = NULL;
        for (int i = 0; ops[i]; i++)
            if (sp_token_is_op(tok, ops[i]))
                op = ops[i];
        if (op) {
            p->pos++;
            struct sp_expr *right;
            if (parse_bitor(p, &right) || binary(p, tok, op, *out, right, out))
                return p->st->code;
            continue;
        }
        if (sp_accept_keyword(p, "IS")) {
            struct sp_expr *e = new_expr(p, SP_EXPR_IS, tok);
            struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
            if (!e || !args)
                return EM_FAIL_OOM(p->st);
            e->negated = sp_accept_keyword(p, "NOT");
            const struct sp_token *what = sp_peek(p);
            if (!sp_token_is_keyword(what, "NULL") && !sp_token_is_keyword(what, "TRUE") &&
                !sp_token_is_keyword(what, "FALSE"))
                return sp_syntax_error(p);
            p->pos++;
            e->name = sp_token_is_keyword(what, "NULL")   ? "NULL"
                      : sp_token_is_keyword(what, "TRUE") ? "TRUE"
                                                          : "FALSE";
            args[0] = *out;
            e->args = args;
            e->nargs = 1;
            e->line = (*out)->line;
            e->column = (*out)->column;
            e->start = (*out)->start;
            finish(p, e);
            *out = e;
            continue;
        }
        bool negated = false;
        if (sp_token_is_keyword(tok, "NOT")) {
            const struct sp_token *after = sp_peek_at(p, 1);
            if (!sp_token_is_keyword(after, "LIKE") && !sp_token_is_keyword(after, "IN") &&
                !sp_token_is_keyword(after, "BETWEEN"))
                return EM_OK;
            negated = true;
            p->pos++;
            tok = sp_peek(p);
        }
        if (sp_accept_keyword(p, "IN")) {
            if (parse_in(p, tok, *out, negated, out))
                return p->st->code;
            continue;
        }
        if (sp_accept_keyword(p, "LIKE")) {
            struct sp_expr *right;
            if (parse_bitor(p, &right) || binary(p, tok, "LIKE", *out, right, out))
                return p->st->code;
            (*out)->kind = SP_EXPR_LIKE;
            (*out)->negated = negated;
            continue;
        }
        if (sp_accept_keyword(p, "BETWEEN")) {
            struct sp_expr *e = new_expr(p, SP_EXPR_BETWEEN, tok);
            struct sp_expr **args = sp_arena_alloc(p->arena, 3 * sizeof(*args));
            if (!e || !args)
                return EM_FAIL_OOM(p->st);
            args[0] = *out;
            if (parse_bitor(p, &args[1]) || sp_expect_keyword(p, "AND") || parse_bitor(p, &args[2]))
                return p->st->code;
            e->args = args;
            e->nargs = 3;
            e->negated = negated;
            e->line = args[0]->line;
            e->column = args[0]->column;
            e->start = args[0]->start;
            finish(p, e);
            *out = e;
            continue;
        }
        return EM_OK;
    }
}

static enum em_code parse_not(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (!sp_accept_keyword(p, "NOT"))
        return parse_comparison(p, out);
    struct sp_expr *e = new_expr(p, SP_EXPR_UNARY, tok);
    struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    if (enter(p) || parse_not(p, &args[0]))
        return p->st->code;
    p->depth--;
    e->name = "NOT";
    e->args = args;
    e->nargs = 1;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_and(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"AND", NULL};
    return parse_level(p, ops, true, parse_not, out);
}

static enum em_code parse_or(struct sp_parser *p, struct sp_expr **out)
{
    static const char *const ops[] = {"OR", NULL};
    return parse_level(p, ops, true, parse_and, out);
}

static enum em_code parse_primary(struct sp_parser *p, struct sp_expr **out);

/* .name after an expression: a STRUCT field (a keyword is fine after a dot). */
static enum em_code parse_field_access(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    const char *name;
    if (tok->kind == SP_TOK_IDENT)
        name = sp_next(p)->value;
    else if (sp_expect_identifier(p, "field name", &name))
        return p->st->code;
    struct sp_expr *e = new_expr(p, SP_EXPR_FIELD, tok);
    struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    args[0] = *out;
    e->args = args;
    e->nargs = 1;
    e->name = name;
    e->start = (*out)->start;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* a[OFFSET(i)], a[ORDINAL(i)], their SAFE_ forms, and a[i] (an OFFSET) after *out. */
static enum em_code parse_subscript(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *open = sp_next(p);
    struct sp_expr *e = new_expr(p, SP_EXPR_SUBSCRIPT, open);
    struct sp_expr **args = sp_arena_alloc(p->arena, 2 * sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    static const char *const kinds[] = {"OFFSET", "ORDINAL", "SAFE_OFFSET", "SAFE_ORDINAL", NULL};
    e->name = "OFFSET";
    bool wrapped = false;
    for (int i = 0; kinds[i]; i++)
        if (sp_token_is_keyword(sp_peek(p), kinds[i]) && sp_token_is_op(sp_peek_at(p, 1), "(")) {
            e->name = kinds[i];
            p->pos += 2;
            wrapped = true;
        }
    if (enter(p) || sp_parse_expr(p, &args[1]) || (wrapped && sp_expect_op(p, ")")) ||
        sp_expect_op(p, "]"))
        return p->st->code;
    p->depth--;
    e->line = (*out)->line;
    e->column = (*out)->column;
    e->start = (*out)->start;
    args[0] = *out;
    e->args = args;
    e->nargs = 2;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* A primary expression with its postfix operators: array subscripts and field access. */
static enum em_code parse_postfix(struct sp_parser *p, struct sp_expr **out)
{
    if (parse_primary(p, out))
        return p->st->code;
    for (;;) {
        if (sp_token_is_op(sp_peek(p), "[")) {
            if (parse_subscript(p, out))
                return p->st->code;
        } else if (sp_accept_op(p, ".")) {
            if (parse_field_access(p, out))
                return p->st->code;
        } else {
            return EM_OK;
        }
    }
}

static enum em_code parse_unary(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (!sp_token_is_op(tok, "-") && !sp_token_is_op(tok, "+") && !sp_token_is_op(tok, "~"))
        return parse_postfix(p, out);
    p->pos++;
    const struct sp_token *operand = sp_peek(p);
    /* -<integer literal> is one literal, so -9223372036854775808 is in range */
    if (sp_token_is_op(tok, "-") && operand->kind == SP_TOK_INT && operand->offset == tok->end) {
        struct sp_expr *e = new_expr(p, SP_EXPR_LITERAL, tok);
        char *text = sp_arena_alloc(p->arena, operand->len + 2);
        if (!e || !text)
            return EM_FAIL_OOM(p->st);
        text[0] = '-';
        memcpy(text + 1, operand->value, operand->len + 1);
        e->lit = SP_TOK_INT;
        e->text = text;
        e->text_len = operand->len + 1;
        p->pos++;
        finish(p, e);
        *out = e;
        return EM_OK;
    }
    struct sp_expr *e = new_expr(p, SP_EXPR_UNARY, tok);
    struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    if (enter(p) || parse_unary(p, &args[0]))
        return p->st->code;
    p->depth--;
    e->name = tok->value;
    e->args = args;
    e->nargs = 1;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_case(struct sp_parser *p, const struct sp_token *at, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_CASE, at);
    struct ptr_list args = {0};
    if (!e)
        return p->st->code;
    if (!sp_token_is_keyword(sp_peek(p), "WHEN")) {
        struct sp_expr *operand;
        if (sp_parse_expr(p, &operand) || list_push(p, &args, operand))
            return p->st->code;
        e->has_operand = true;
    }
    if (!sp_token_is_keyword(sp_peek(p), "WHEN"))
        return sp_expect_keyword(p, "WHEN");
    while (sp_accept_keyword(p, "WHEN")) {
        struct sp_expr *when, *then;
        if (sp_parse_expr(p, &when) || sp_expect_keyword(p, "THEN") || sp_parse_expr(p, &then) ||
            list_push(p, &args, when) || list_push(p, &args, then))
            return p->st->code;
    }
    if (sp_accept_keyword(p, "ELSE")) {
        struct sp_expr *otherwise;
        if (sp_parse_expr(p, &otherwise) || list_push(p, &args, otherwise))
            return p->st->code;
        e->has_else = true;
    }
    if (sp_expect_keyword(p, "END"))
        return p->st->code;
    e->args = (struct sp_expr **)args.items;
    e->nargs = args.count;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_cast(struct sp_parser *p, const struct sp_token *at, bool safe,
                               struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_CAST, at);
    struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
    if (!e || !args)
        return EM_FAIL_OOM(p->st);
    if (sp_expect_op(p, "(") || sp_parse_expr(p, &args[0]) || sp_expect_keyword(p, "AS") ||
        parse_type(p, false, true, 0, &e->type))
        return p->st->code;
    if (sp_token_is_keyword(sp_peek(p), "FORMAT"))
        return sp_unsupported(p, sp_peek(p), "CAST ... FORMAT");
    if (sp_expect_op(p, ")"))
        return p->st->code;
    e->args = args;
    e->nargs = 1;
    e->safe = safe;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static const char *const date_parts[] = {
    "NANOSECOND", "MICROSECOND", "MILLISECOND", "SECOND", "MINUTE",  "HOUR",
    "DAYOFWEEK",  "DAY",         "DAYOFYEAR",   "WEEK",   "ISOWEEK", "MONTH",
    "QUARTER",    "YEAR",        "ISOYEAR",     "DATE",   NULL,
};

static const char *date_part(const struct sp_token *tok)
{
    for (int i = 0; date_parts[i]; i++)
        if (sp_token_is_keyword(tok, date_parts[i]))
            return date_parts[i];
    return NULL;
}

/* EXTRACT(part FROM expr [AT TIME ZONE zone]): a function EXTRACT with a date part, the
 * expression and, when given, the zone. */
static enum em_code parse_extract(struct sp_parser *p, const struct sp_token *at,
                                  struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_FUNCTION, at);
    struct sp_expr **args = sp_arena_alloc(p->arena, 3 * sizeof(*args));
    if (!e || !args || sp_expect_op(p, "("))
        return p->st->code ? p->st->code : EM_FAIL_OOM(p->st);
    const struct sp_token *part_tok = sp_peek(p);
    const char *part = date_part(part_tok);
    if (!part)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "A valid date part name is required [at %d:%d]",
                       part_tok->line, part_tok->column);
    p->pos++;
    args[0] = new_expr(p, SP_EXPR_DATE_PART, part_tok);
    if (!args[0])
        return p->st->code;
    args[0]->name = part;
    if (sp_expect_keyword(p, "FROM") || sp_parse_expr(p, &args[1]))
        return p->st->code;
    e->nargs = 2;
    if (sp_token_is_keyword(sp_peek(p), "AT")) {
        p->pos++;
        if (sp_expect_keyword(p, "TIME") || sp_expect_keyword(p, "ZONE") ||
            sp_parse_expr(p, &args[2]))
            return p->st->code;
        e->nargs = 3;
    }
    if (sp_expect_op(p, ")"))
        return p->st->code;
    e->name = "EXTRACT";
    e->args = args;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* One function argument: an expression, INTERVAL n part, a bare date part, or SEQUENCE
 * name (GET_NEXT_SEQUENCE_VALUE's). */
static enum em_code parse_argument(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    enum sp_token_kind next = sp_peek_at(p, 1)->kind;
    if (sp_token_is_keyword(tok, "SEQUENCE") &&
        (next == SP_TOK_IDENT || next == SP_TOK_QUOTED_IDENT)) {
        struct sp_expr *e = new_expr(p, SP_EXPR_SEQUENCE, sp_peek_at(p, 1));
        if (!e)
            return p->st->code;
        e->name = sp_peek_at(p, 1)->value;
        p->pos += 2;
        finish(p, e);
        *out = e;
        return EM_OK;
    }
    if (sp_accept_keyword(p, "INTERVAL")) {
        struct sp_expr *e = new_expr(p, SP_EXPR_INTERVAL, tok);
        struct sp_expr **args = sp_arena_alloc(p->arena, sizeof(*args));
        if (!e || !args)
            return EM_FAIL_OOM(p->st);
        if (sp_parse_expr(p, &args[0]))
            return p->st->code;
        const struct sp_token *part_tok = sp_peek(p);
        e->name = date_part(part_tok);
        if (!e->name)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "A valid date part name is required [at %d:%d]", part_tok->line,
                           part_tok->column);
        p->pos++;
        e->args = args;
        e->nargs = 1;
        finish(p, e);
        *out = e;
        return EM_OK;
    }
    const struct sp_token *after = sp_peek_at(p, 1);
    if (date_part(tok) && (sp_token_is_op(after, ")") || sp_token_is_op(after, ","))) {
        struct sp_expr *e = new_expr(p, SP_EXPR_DATE_PART, tok);
        if (!e)
            return p->st->code;
        e->name = date_part(tok);
        e->text = tok->value; /* as written: a column of that name where no part is expected */
        p->pos++;
        *out = e;
        return EM_OK;
    }
    return sp_parse_expr(p, out);
}

/* The end of the token before the current one (the end of what was just parsed). */
static size_t parsed_end(const struct sp_parser *p)
{
    return p->tokens.items[p->pos - 1].end;
}

/* A lambda's argument name, which the rewrite below quotes with backquotes. */
static enum em_code lambda_argument(struct sp_parser *p, const char **name)
{
    const struct sp_token *tok = sp_peek(p);
    if (sp_expect_identifier(p, "lambda argument", name))
        return p->st->code;
    if (strpbrk(*name, "`\\"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid lambda argument name [at %d:%d]",
                       tok->line, tok->column);
    return EM_OK;
}

/* ARRAY_FILTER(array, e -> condition) and ARRAY_TRANSFORM(array, e -> expression), (e, i)
 * -> ... naming the element's offset too, after the "(": rewritten into the query they
 * mean and parsed again (an error inside points into that text):
 *   (SELECT IF(a IS NULL, NULL, ARRAY(SELECT e | expression FROM UNNEST(a) AS e
 *       WITH OFFSET AS i [WHERE condition] ORDER BY i)) FROM (SELECT array AS a))
 * Each argument's text appears once, so nested calls grow the text linearly; the parse
 * of the rewrite counts toward the statement's nesting depth. */
static enum em_code parse_lambda_call(struct sp_parser *p, bool filter, struct sp_expr **out)
{
    struct sp_expr *ignored;
    const char *element, *offset = "$offset";
    size_t array_from = sp_peek(p)->offset;
    if (sp_parse_expr(p, &ignored))
        return p->st->code;
    size_t array_to = parsed_end(p);
    if (sp_expect_op(p, ","))
        return p->st->code;
    bool paren = sp_accept_op(p, "(");
    if (lambda_argument(p, &element) ||
        (paren && sp_accept_op(p, ",") && lambda_argument(p, &offset)) ||
        (paren && sp_expect_op(p, ")")) || sp_expect_op(p, "->"))
        return p->st->code;
    size_t body_from = sp_peek(p)->offset;
    if (sp_parse_expr(p, &ignored))
        return p->st->code;
    size_t body_to = parsed_end(p);
    if (sp_expect_op(p, ")"))
        return p->st->code;
    struct sp_buf text = {0};
    int array_len = (int)(array_to - array_from), body_len = (int)(body_to - body_from);
    const char *array = p->sql + array_from, *body = p->sql + body_from;
    sp_buf_puts(&text, "(SELECT IF(`$array` IS NULL, NULL, ARRAY(SELECT ");
    if (filter)
        sp_buf_printf(&text, "`%s`", element);
    else
        sp_buf_printf(&text, "(%.*s)", body_len, body);
    sp_buf_printf(&text, " FROM UNNEST(`$array`) AS `%s` WITH OFFSET AS `%s`", element, offset);
    if (filter)
        sp_buf_printf(&text, " WHERE (%.*s)", body_len, body);
    sp_buf_printf(&text, " ORDER BY `%s`)) FROM (SELECT (%.*s) AS `$array`))", offset, array_len,
                  array);
    char *rewritten = text.failed ? NULL : sp_arena_strdup(p->arena, text.data);
    sp_buf_free(&text);
    if (!rewritten)
        return EM_FAIL_OOM(p->st);
    struct sp_parser sub;
    if (sp_parser_init(&sub, p->arena, rewritten, p->st))
        return p->st->code;
    sub.depth = p->depth;
    return sp_parse_expr(&sub, out);
}

static enum em_code parse_call(struct sp_parser *p, const struct sp_token *at, const char *name,
                               bool safe, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_FUNCTION, at);
    if (!e)
        return p->st->code;
    char *upper = sp_arena_strdup(p->arena, name);
    if (!upper)
        return EM_FAIL_OOM(p->st);
    for (char *c = upper; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    e->name = upper;
    e->safe = safe;
    if (sp_expect_op(p, "("))
        return p->st->code;
    if (!safe && (strcmp(upper, "ARRAY_FILTER") == 0 || strcmp(upper, "ARRAY_TRANSFORM") == 0))
        return parse_lambda_call(p, strcmp(upper, "ARRAY_FILTER") == 0, out);
    struct ptr_list args = {0};
    if (sp_token_is_op(sp_peek(p), "*") && (sp_token_is_op(sp_peek_at(p, 1), ")") ||
                                            sp_token_is_keyword(sp_peek_at(p, 1), "HAVING"))) {
        e->star = true;
        p->pos++;
    }
    e->distinct = !e->star && sp_accept_keyword(p, "DISTINCT");
    if (!e->star && !sp_token_is_op(sp_peek(p), ")")) {
        do {
            struct sp_expr *arg;
            const struct sp_token *name = sp_peek(p);
            bool named = (name->kind == SP_TOK_IDENT || name->kind == SP_TOK_QUOTED_IDENT) &&
                         sp_token_is_op(sp_peek_at(p, 1), "=>");
            if (named)
                p->pos += 2; /* name => value */
            if (parse_argument(p, &arg) || list_push(p, &args, arg))
                return p->st->code;
            if (named)
                arg->arg_name = name->value;
        } while (sp_accept_op(p, ","));
    }
    if ((sp_token_is_keyword(sp_peek(p), "IGNORE") || sp_token_is_keyword(sp_peek(p), "RESPECT")) &&
        sp_token_is_keyword(sp_peek_at(p, 1), "NULLS")) {
        e->nulls = sp_token_is_keyword(sp_peek(p), "IGNORE") ? SP_NULLS_IGNORE : SP_NULLS_RESPECT;
        p->pos += 2;
    }
    if (sp_accept_keyword(p, "HAVING")) {
        e->having_max = sp_accept_keyword(p, "MAX");
        if ((!e->having_max && sp_expect_keyword(p, "MIN")) || sp_parse_expr(p, &e->having))
            return p->st->code;
    }
    const struct sp_token *tok = sp_peek(p);
    /* Spanner refuses ORDER BY and LIMIT in an aggregate call */
    if (sp_token_is_keyword(tok, "ORDER") || sp_token_is_keyword(tok, "LIMIT"))
        return EM_FAIL(
            p->st, EM_INVALID_ARGUMENT, "%s in aggregate function%s is not supported [at %d:%d]",
            sp_token_is_keyword(tok, "ORDER") ? "ORDER BY" : "LIMIT",
            sp_token_is_keyword(tok, "ORDER") ? "" : " arguments", tok->line, tok->column);
    if (sp_expect_op(p, ")"))
        return p->st->code;
    if (sp_token_is_keyword(sp_peek(p), "OVER")) /* Spanner has none: its own refusal */
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Analytic functions not supported [at %d:%d]",
                       e->line, e->column);
    e->args = (struct sp_expr **)args.items;
    e->nargs = args.count;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* The number of names in a function's path at the parser's position plus ahead, a name
 * or several joined by dots (NET.HOST: 2), when "(" follows it; else 0. */
static int call_path_names(const struct sp_parser *p, size_t ahead)
{
    for (int names = 1;; names++, ahead += 2) {
        const struct sp_token *name = sp_peek_at(p, ahead), *next = sp_peek_at(p, ahead + 1);
        if (name->kind != SP_TOK_IDENT && name->kind != SP_TOK_QUOTED_IDENT)
            return 0;
        if (sp_token_is_op(next, "("))
            return names;
        if (!sp_token_is_op(next, "."))
            return 0;
    }
}

/* A call of a function named by a path of names (NET.HOST(...), at the parser's
 * position): named by them joined with dots. */
static enum em_code parse_path_call(struct sp_parser *p, const struct sp_token *at, int names,
                                    bool safe, struct sp_expr **out)
{
    size_t len = 0;
    for (int i = 0; i < names; i++)
        len += strlen(sp_peek_at(p, (size_t)i * 2)->value) + 1;
    char *name = sp_arena_alloc(p->arena, len);
    if (!name)
        return EM_FAIL_OOM(p->st);
    name[0] = '\0';
    for (int i = 0; i < names; i++) {
        if (i)
            strcat(name, ".");
        strcat(name, sp_peek_at(p, (size_t)i * 2)->value);
    }
    p->pos += (size_t)names * 2 - 1; /* to the "(" */
    return parse_call(p, at, name, safe, out);
}

static enum em_code parse_literal(struct sp_parser *p, const struct sp_token *tok,
                                  struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_LITERAL, tok);
    if (!e)
        return p->st->code;
    e->lit = tok->kind;
    e->text = tok->value;
    e->text_len = tok->len;
    p->pos++;
    *out = e;
    return EM_OK;
}

static enum em_code parse_typed_literal(struct sp_parser *p, const struct sp_token *tok,
                                        enum sp_type_code code, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_TYPED_LITERAL, tok);
    if (!e)
        return p->st->code;
    p->pos++;
    const struct sp_token *value = sp_next(p);
    e->type.code = code;
    e->text = value->value;
    e->text_len = value->len;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_column(struct sp_parser *p, const struct sp_token *tok,
                                 struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_COLUMN, tok);
    if (!e)
        return p->st->code;
    p->pos++;
    e->name = tok->value;
    if (sp_accept_op(p, ".")) {
        if (sp_token_is_op(sp_peek(p), "*"))
            return sp_syntax_error(p);
        const char *field;
        if (sp_peek(p)->kind == SP_TOK_IDENT)
            field = sp_next(p)->value; /* a keyword is fine after a dot */
        else if (sp_expect_identifier(p, "column name", &field))
            return p->st->code;
        e->qualifier = e->name;
        e->name = field;
    }
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_subquery_expr(struct sp_parser *p, const struct sp_token *at,
                                        enum sp_expr_kind kind, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, kind, at);
    if (!e || sp_expect_op(p, "(") || sp_parse_query(p, &e->subquery) || sp_expect_op(p, ")"))
        return p->st->code ? p->st->code : EM_FAIL_OOM(p->st);
    finish(p, e);
    *out = e;
    return EM_OK;
}

static bool is_typed_literal(const struct sp_parser *p, const struct sp_token *tok,
                             enum sp_type_code *code)
{
    static const struct {
        const char *name;
        enum sp_type_code code;
    } prefixes[] = {{"DATE", SP_TYPE_DATE},
                    {"TIMESTAMP", SP_TYPE_TIMESTAMP},
                    {"NUMERIC", SP_TYPE_NUMERIC},
                    {"JSON", SP_TYPE_JSON}};
    if (sp_peek_at(p, 1)->kind != SP_TOK_STRING)
        return false;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (sp_token_is_keyword(tok, prefixes[i].name)) {
            *code = prefixes[i].code;
            return true;
        }
    return false;
}

/* [a, b, c] after an optional ARRAY<T> (element_type). */
static enum em_code parse_array_elements(struct sp_parser *p, const struct sp_token *at,
                                         const struct sp_type *array_type, struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_ARRAY, at);
    struct ptr_list items = {0};
    if (!e || sp_expect_op(p, "["))
        return p->st->code ? p->st->code : EM_FAIL_OOM(p->st);
    if (array_type)
        e->type = *array_type;
    if (!sp_token_is_op(sp_peek(p), "]") && parse_expr_list(p, &items))
        return p->st->code;
    if (sp_expect_op(p, "]"))
        return p->st->code;
    e->args = (struct sp_expr **)items.items;
    e->nargs = items.count;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* ARRAY(SELECT ...), ARRAY[...], ARRAY<T>[...] */
static enum em_code parse_array(struct sp_parser *p, const struct sp_token *at,
                                struct sp_expr **out)
{
    if (sp_token_is_op(sp_peek_at(p, 1), "(")) {
        p->pos++;
        return parse_subquery_expr(p, at, SP_EXPR_ARRAY_QUERY, out);
    }
    if (sp_token_is_op(sp_peek_at(p, 1), "[")) {
        p->pos++;
        return parse_array_elements(p, at, NULL, out);
    }
    struct sp_type type;
    if (parse_type(p, false, true, 0, &type))
        return p->st->code;
    return parse_array_elements(p, at, &type, out);
}

/* The fields of a STRUCT constructor up to its ")": expressions, with "AS name" when
 * named is true. */
static enum em_code parse_struct_fields(struct sp_parser *p, bool named, struct sp_expr *e)
{
    struct ptr_list args = {0}, names = {0};
    if (!sp_token_is_op(sp_peek(p), ")")) {
        do {
            struct sp_expr *field;
            const char *name = NULL;
            if (sp_parse_expr(p, &field) ||
                (named && sp_accept_keyword(p, "AS") &&
                 sp_expect_identifier(p, "field name", &name)) ||
                list_push(p, &args, field) || list_push(p, &names, (void *)name))
                return p->st->code;
        } while (sp_accept_op(p, ","));
    }
    if (sp_expect_op(p, ")"))
        return p->st->code;
    e->args = (struct sp_expr **)args.items;
    e->nargs = args.count;
    e->field_names = (const char **)names.items;
    finish(p, e);
    return EM_OK;
}

/* STRUCT(a [AS x], ...) or STRUCT<[x] T, ...>(a, ...), at the STRUCT keyword. */
static enum em_code parse_struct(struct sp_parser *p, const struct sp_token *at,
                                 struct sp_expr **out)
{
    struct sp_expr *e = new_expr(p, SP_EXPR_STRUCT, at);
    if (!e)
        return p->st->code;
    bool typed = sp_token_is_op(sp_peek_at(p, 1), "<");
    if (typed && parse_type(p, false, true, 0, &e->type))
        return p->st->code;
    if (!typed)
        p->pos++;
    if (sp_expect_op(p, "(") || parse_struct_fields(p, !typed, e))
        return p->st->code;
    *out = e;
    return EM_OK;
}

/* "(" at tok: a parenthesized expression, or the tuple (a, b, ...) (a STRUCT). */
static enum em_code parse_parenthesized(struct sp_parser *p, const struct sp_token *tok,
                                        struct sp_expr **out)
{
    p->pos++;
    struct sp_expr *first;
    if (sp_parse_expr(p, &first))
        return p->st->code;
    if (!sp_token_is_op(sp_peek(p), ",")) {
        if (sp_expect_op(p, ")"))
            return p->st->code;
        first->start = tok->offset;
        finish(p, first);
        *out = first;
        return EM_OK;
    }
    struct sp_expr *e = new_expr(p, SP_EXPR_STRUCT, tok);
    struct ptr_list args = {0};
    if (!e || list_push(p, &args, first))
        return p->st->code ? p->st->code : EM_FAIL_OOM(p->st);
    while (sp_accept_op(p, ",")) {
        struct sp_expr *next;
        if (sp_parse_expr(p, &next) || list_push(p, &args, next))
            return p->st->code;
    }
    if (sp_expect_op(p, ")"))
        return p->st->code;
    e->args = (struct sp_expr **)args.items;
    e->nargs = args.count;
    e->tuple = true;
    finish(p, e);
    *out = e;
    return EM_OK;
}

static enum em_code parse_keyword_primary(struct sp_parser *p, const struct sp_token *tok,
                                          struct sp_expr **out)
{
    if (sp_token_is_keyword(tok, "TRUE") || sp_token_is_keyword(tok, "FALSE")) {
        struct sp_expr *e = new_expr(p, SP_EXPR_BOOL, tok);
        if (!e)
            return p->st->code;
        e->bool_value = sp_token_is_keyword(tok, "TRUE");
        p->pos++;
        *out = e;
        return EM_OK;
    }
    if (sp_token_is_keyword(tok, "NULL")) {
        *out = new_expr(p, SP_EXPR_NULL, tok);
        p->pos++;
        return *out ? EM_OK : p->st->code;
    }
    if (sp_token_is_keyword(tok, "CASE")) {
        p->pos++;
        return parse_case(p, tok, out);
    }
    if (sp_token_is_keyword(tok, "CAST")) {
        p->pos++;
        return parse_cast(p, tok, false, out);
    }
    if (sp_token_is_keyword(tok, "EXISTS")) {
        p->pos++;
        return parse_subquery_expr(p, tok, SP_EXPR_EXISTS, out);
    }
    if (sp_token_is_keyword(tok, "EXTRACT")) {
        p->pos++;
        return parse_extract(p, tok, out);
    }
    if (sp_token_is_keyword(tok, "IF") && sp_token_is_op(sp_peek_at(p, 1), "(")) {
        p->pos++;
        return parse_call(p, tok, "IF", false, out);
    }
    if (sp_token_is_keyword(tok, "ARRAY"))
        return parse_array(p, tok, out);
    if (sp_token_is_keyword(tok, "STRUCT"))
        return parse_struct(p, tok, out);
    if (sp_token_is_keyword(tok, "UNNEST") || sp_token_is_keyword(tok, "INTERVAL"))
        return sp_unsupported(p, tok, tok->value);
    return sp_syntax_error(p);
}

static enum em_code parse_primary(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    enum sp_type_code typed;
    switch (tok->kind) {
    case SP_TOK_INT:
    case SP_TOK_FLOAT:
    case SP_TOK_STRING:
    case SP_TOK_BYTES:
        return parse_literal(p, tok, out);
    case SP_TOK_PARAM: {
        struct sp_expr *e = new_expr(p, SP_EXPR_PARAM, tok);
        if (!e)
            return p->st->code;
        e->name = tok->value;
        p->pos++;
        *out = e;
        return EM_OK;
    }
    case SP_TOK_OP:
        if (sp_token_is_op(tok, "(")) {
            if (at_subquery(p)) {
                struct sp_expr *e = new_expr(p, SP_EXPR_SUBQUERY, tok);
                if (!e)
                    return p->st->code;
                p->pos++;
                if (sp_parse_query(p, &e->subquery) || sp_expect_op(p, ")"))
                    return p->st->code;
                finish(p, e);
                *out = e;
                return EM_OK;
            }
            return parse_parenthesized(p, tok, out);
        }
        if (sp_token_is_op(tok, "["))
            return parse_array_elements(p, tok, NULL, out);
        return sp_syntax_error(p);
    case SP_TOK_QUOTED_IDENT:
        if (call_path_names(p, 0) >= 2)
            return parse_path_call(p, tok, call_path_names(p, 0), false, out);
        return parse_column(p, tok, out);
    case SP_TOK_IDENT:
        if (is_typed_literal(p, tok, &typed))
            return parse_typed_literal(p, tok, typed, out);
        if (sp_token_is_keyword(tok, "SAFE_CAST") && sp_token_is_op(sp_peek_at(p, 1), "(")) {
            p->pos++;
            return parse_cast(p, tok, true, out);
        }
        if (sp_is_reserved(tok->value))
            return parse_keyword_primary(p, tok, out);
        if (sp_token_is_keyword(tok, "SAFE") && sp_token_is_op(sp_peek_at(p, 1), ".") &&
            call_path_names(p, 2) > 0) { /* SAFE.f(...), SAFE.NET.HOST(...) */
            p->pos += 2;
            return parse_path_call(p, tok, call_path_names(p, 0), true, out);
        }
        if (call_path_names(p, 0) > 0) /* f(...), NET.HOST(...) */
            return parse_path_call(p, tok, call_path_names(p, 0), false, out);
        return parse_column(p, tok, out);
    default:
        return sp_syntax_error(p);
    }
}

/* ---- queries ---- */

/* @{hint=value, ...}: read and ignored (Spanner's table and statement hints). */
static enum em_code skip_hint(struct sp_parser *p)
{
    if (!sp_token_is_op(sp_peek(p), "@") || !sp_token_is_op(sp_peek_at(p, 1), "{"))
        return EM_OK;
    p->pos += 2;
    do {
        const char *name, *value;
        if (sp_expect_identifier(p, "hint name", &name) ||
            (sp_accept_op(p, ".") && sp_expect_identifier(p, "hint name", &name)) ||
            sp_expect_op(p, "="))
            return p->st->code;
        const struct sp_token *tok = sp_peek(p);
        if (tok->kind == SP_TOK_EOF || sp_token_is_op(tok, "}"))
            return sp_syntax_error(p);
        value = tok->value;
        (void)value;
        p->pos++;
    } while (sp_accept_op(p, ","));
    return sp_expect_op(p, "}");
}

/* [AS] alias after a select item or a table. */
static enum em_code parse_alias(struct sp_parser *p, const char **alias)
{
    if (sp_accept_keyword(p, "AS"))
        return sp_expect_identifier(p, "alias", alias);
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_QUOTED_IDENT ||
        (tok->kind == SP_TOK_IDENT && !sp_is_reserved(tok->value))) {
        *alias = tok->value;
        p->pos++;
    }
    return EM_OK;
}

/* * EXCEPT (a, b) and * REPLACE (expr AS a, ...) after a star. */
static enum em_code star_modifiers(struct sp_parser *p, struct sp_select_item *item)
{
    if (sp_token_is_keyword(sp_peek(p), "EXCEPT") && sp_token_is_op(sp_peek_at(p, 1), "(")) {
        struct ptr_list names = {0};
        p->pos += 2;
        do {
            const char *name;
            if (sp_expect_identifier(p, "column name", &name) || list_push(p, &names, (void *)name))
                return p->st->code;
        } while (sp_accept_op(p, ","));
        if (sp_expect_op(p, ")"))
            return p->st->code;
        item->except = (const char **)names.items;
        item->nexcept = names.count;
    }
    if (sp_token_is_keyword(sp_peek(p), "REPLACE") && sp_token_is_op(sp_peek_at(p, 1), "(")) {
        struct ptr_list names = {0}, exprs = {0};
        p->pos += 2;
        do {
            struct sp_expr *e;
            const char *name;
            if (sp_parse_expr(p, &e) || sp_expect_keyword(p, "AS") ||
                sp_expect_identifier(p, "column name", &name) ||
                list_push(p, &names, (void *)name) || list_push(p, &exprs, e))
                return p->st->code;
        } while (sp_accept_op(p, ","));
        if (sp_expect_op(p, ")"))
            return p->st->code;
        item->replace_names = (const char **)names.items;
        item->replace_exprs = (struct sp_expr **)exprs.items;
        item->nreplace = names.count;
    }
    return EM_OK;
}

static enum em_code parse_select_items(struct sp_parser *p, struct sp_select_item **items,
                                       int *count)
{
    struct ptr_list list = {0};
    do {
        struct sp_select_item *item = sp_arena_alloc(p->arena, sizeof(*item));
        if (!item)
            return EM_FAIL_OOM(p->st);
        const struct sp_token *tok = sp_peek(p);
        item->line = tok->line;
        item->column = tok->column;
        if (sp_accept_op(p, "*")) {
            item->star = true;
        } else if ((tok->kind == SP_TOK_IDENT || tok->kind == SP_TOK_QUOTED_IDENT) &&
                   sp_token_is_op(sp_peek_at(p, 1), ".") && sp_token_is_op(sp_peek_at(p, 2), "*")) {
            item->star = true;
            item->star_qualifier = tok->value;
            p->pos += 3;
        } else if (sp_parse_expr(p, &item->expr) || parse_alias(p, &item->alias)) {
            return p->st->code;
        }
        if (item->star && star_modifiers(p, item))
            return p->st->code;
        if (list_push(p, &list, item))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    struct sp_select_item *array = sp_arena_alloc(p->arena, (size_t)list.count * sizeof(*array));
    if (!array)
        return EM_FAIL_OOM(p->st);
    for (int i = 0; i < list.count; i++)
        array[i] = *(struct sp_select_item *)list.items[i];
    *items = array;
    *count = list.count;
    return EM_OK;
}

static enum em_code parse_from_item(struct sp_parser *p, struct sp_from **out);

/* A sample's size: an integer or floating-point literal, a parameter, or CAST(an integer
 * literal or a parameter AS type), as ZetaSQL's grammar has it. */
static enum em_code parse_sample_size(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind == SP_TOK_INT || tok->kind == SP_TOK_FLOAT)
        return parse_literal(p, tok, out);
    if (tok->kind == SP_TOK_PARAM)
        return parse_primary(p, out);
    if (!sp_token_is_keyword(tok, "CAST") || !sp_token_is_op(sp_peek_at(p, 1), "("))
        return sp_syntax_error(p);
    const struct sp_token *inner = sp_peek_at(p, 2);
    if (inner->kind != SP_TOK_INT && inner->kind != SP_TOK_PARAM)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Expected \"@\" or \"@@\" or integer literal but got %s%.*s "
                       "[at %d:%d]",
                       inner->kind == SP_TOK_FLOAT ? "floating point literal " : "",
                       (int)(inner->end - inner->offset > 40 ? 40 : inner->end - inner->offset),
                       p->sql + inner->offset, inner->line, inner->column);
    p->pos++;
    return parse_cast(p, tok, false, out);
}

/* Checks a sample's method against its unit, as Spanner: BERNOULLI in PERCENT, RESERVOIR in
 * ROWS; SYSTEM and any other method are refused. */
static enum em_code check_sample_method(struct sp_parser *p, const struct sp_token *at,
                                        const struct sp_sample *s)
{
    bool bernoulli = strcasecmp(s->method, "BERNOULLI") == 0;
    bool reservoir = strcasecmp(s->method, "RESERVOIR") == 0;
    if (strcasecmp(s->method, "SYSTEM") == 0)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "SYSTEM sampling is not supported [at %d:%d]",
                       at->line, at->column);
    if (!bernoulli && !reservoir) {
        char lower[65];
        size_t n = 0;
        for (; n < sizeof(lower) - 1 && s->method[n]; n++)
            lower[n] = (char)tolower((unsigned char)s->method[n]);
        lower[n] = '\0';
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Unknown scan method %s [at %d:%d]", lower,
                       at->line, at->column);
    }
    if (bernoulli != s->percent)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "%s/%s is not supported [at %d:%d]",
                       bernoulli ? "BERNOULLI" : "RESERVOIR", s->percent ? "PERCENT" : "ROWS",
                       at->line, at->column);
    return EM_OK;
}

/* TABLESAMPLE method (size PERCENT|ROWS) [WITH WEIGHT [[AS] alias]]; PARTITION BY and
 * REPEATABLE are refused as Spanner refuses them. */
static enum em_code parse_tablesample(struct sp_parser *p, struct sp_sample **out)
{
    struct sp_sample *s = sp_arena_alloc(p->arena, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(p->st);
    p->pos++; /* TABLESAMPLE */
    const struct sp_token *method = sp_peek(p);
    if (sp_expect_identifier(p, "sampling method", &s->method) || sp_expect_op(p, "(") ||
        parse_sample_size(p, &s->size))
        return p->st->code;
    const struct sp_token *unit = sp_peek(p);
    s->percent = sp_accept_keyword(p, "PERCENT");
    if (!s->percent && !sp_accept_keyword(p, "ROWS"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: Expected keyword PERCENT or keyword ROWS but got \"%.*s\" "
                       "[at %d:%d]",
                       (int)(unit->end - unit->offset > 40 ? 40 : unit->end - unit->offset),
                       p->sql + unit->offset, unit->line, unit->column);
    const struct sp_token *tok = sp_peek(p);
    if (sp_token_is_keyword(tok, "PARTITION"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "TABLESAMPLE does not support the PARTITION BY clause [at %d:%d]", tok->line,
                       tok->column);
    if (sp_expect_op(p, ")"))
        return p->st->code;
    tok = sp_peek(p);
    if (sp_token_is_keyword(tok, "REPEATABLE"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "REPEATABLE is not supported [at %d:%d]",
                       tok->line, tok->column);
    if (check_sample_method(p, method, s))
        return p->st->code;
    if (sp_token_is_keyword(tok, "WITH") && sp_token_is_keyword(sp_peek_at(p, 1), "WEIGHT")) {
        p->pos += 2;
        s->with_weight = true;
        s->weight_line = sp_peek(p)->line;
        s->weight_column = sp_peek(p)->column;
        if (parse_alias(p, &s->weight_alias))
            return p->st->code;
    }
    *out = s;
    return EM_OK;
}

static enum em_code parse_table_ref(struct sp_parser *p, struct sp_from **out)
{
    const struct sp_token *tok = sp_peek(p);
    struct sp_from *f = sp_arena_alloc(p->arena, sizeof(*f));
    if (!f)
        return EM_FAIL_OOM(p->st);
    f->line = tok->line;
    f->column = tok->column;
    if (sp_token_is_op(tok, "(")) {
        if (!at_subquery(p)) {
            p->pos++;
            if (enter(p) || parse_from_item(p, out) || sp_expect_op(p, ")"))
                return p->st->code;
            p->depth--;
            return EM_OK;
        }
        p->pos++;
        if (sp_parse_query(p, &f->subquery) || sp_expect_op(p, ")"))
            return p->st->code;
    } else if (sp_accept_keyword(p, "UNNEST")) {
        if (sp_expect_op(p, "(") || sp_parse_expr(p, &f->unnest) || sp_expect_op(p, ")") ||
            parse_alias(p, &f->alias))
            return p->st->code;
        if (sp_token_is_keyword(sp_peek(p), "WITH") &&
            sp_token_is_keyword(sp_peek_at(p, 1), "OFFSET")) {
            p->pos += 2;
            f->with_offset = true;
            if (parse_alias(p, &f->offset_alias))
                return p->st->code;
        }
        if (sp_token_is_keyword(sp_peek(p), "TABLESAMPLE"))
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "TABLESAMPLE cannot be used with arrays [at %d:%d]", f->line, f->column);
        *out = f;
        return EM_OK;
    } else {
        if (sp_peek(p)->kind == SP_TOK_PARAM)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Query parameters cannot be used in place of table names [at %d:%d]",
                           f->line, f->column);
        if (sp_expect_object_name(p, "table name", &f->table))
            return p->st->code;
        if (strncasecmp(f->table, "INFORMATION_SCHEMA.", 19) == 0) {
            /* INFORMATION_SCHEMA.TABLES: the translator looks the prefix up as written here */
            size_t len = strlen(f->table) + 1;
            char *name = sp_arena_alloc(p->arena, len);
            if (!name)
                return EM_FAIL_OOM(p->st);
            snprintf(name, len, "INFORMATION_SCHEMA.%s", f->table + 19);
            f->table = name;
        } else if (sp_token_is_op(sp_peek(p), "(")) {
            if (strncasecmp(f->table, "READ_", 5) == 0) /* spanner_change_records.h */
                return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                               "A change stream is read only by SELECT ChangeRecord FROM "
                               "%.128s(...) on its own, with executeStreamingSql [at %d:%d]",
                               f->table, tok->line, tok->column);
            char what[192];
            snprintf(what, sizeof(what), "The table-valued function %.128s", f->table);
            return sp_unsupported(p, tok, what);
        }
        if (skip_hint(p))
            return p->st->code;
    }
    if (parse_alias(p, &f->alias))
        return p->st->code;
    if (sp_token_is_keyword(sp_peek(p), "TABLESAMPLE") && parse_tablesample(p, &f->sample))
        return p->st->code;
    *out = f;
    return EM_OK;
}

static bool parse_join_kind(struct sp_parser *p, enum sp_join_kind *kind, bool *comma)
{
    *comma = false;
    if (sp_accept_op(p, ",")) {
        *kind = SP_JOIN_CROSS;
        *comma = true;
        return true;
    }
    const struct sp_token *tok = sp_peek(p);
    size_t skip = 0;
    if (sp_token_is_keyword(tok, "JOIN"))
        *kind = SP_JOIN_INNER;
    else if (sp_token_is_keyword(tok, "INNER"))
        *kind = SP_JOIN_INNER, skip = 1;
    else if (sp_token_is_keyword(tok, "CROSS"))
        *kind = SP_JOIN_CROSS, skip = 1;
    else if (sp_token_is_keyword(tok, "LEFT"))
        *kind = SP_JOIN_LEFT, skip = 1;
    else if (sp_token_is_keyword(tok, "RIGHT"))
        *kind = SP_JOIN_RIGHT, skip = 1;
    else if (sp_token_is_keyword(tok, "FULL"))
        *kind = SP_JOIN_FULL, skip = 1;
    else
        return false;
    p->pos += skip;
    if (*kind == SP_JOIN_LEFT || *kind == SP_JOIN_RIGHT || *kind == SP_JOIN_FULL)
        sp_accept_keyword(p, "OUTER");
    return true;
}

static enum em_code parse_join_condition(struct sp_parser *p, struct sp_from *join)
{
    if (sp_accept_keyword(p, "ON"))
        return sp_parse_expr(p, &join->on);
    if (!sp_accept_keyword(p, "USING"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: %s JOIN must have an immediately following ON or USING "
                       "clause [at %d:%d]",
                       join->join == SP_JOIN_LEFT    ? "LEFT"
                       : join->join == SP_JOIN_RIGHT ? "RIGHT"
                       : join->join == SP_JOIN_FULL  ? "FULL"
                                                     : "INNER",
                       sp_peek(p)->line, sp_peek(p)->column);
    struct ptr_list names = {0};
    if (sp_expect_op(p, "("))
        return p->st->code;
    do {
        const char *name;
        if (sp_expect_identifier(p, "column name", &name) || list_push(p, &names, (void *)name))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    join->using_columns = (const char **)names.items;
    join->nusing = names.count;
    return sp_expect_op(p, ")");
}

static enum em_code parse_from_item(struct sp_parser *p, struct sp_from **out)
{
    if (parse_table_ref(p, out))
        return p->st->code;
    for (;;) {
        const struct sp_token *tok = sp_peek(p);
        enum sp_join_kind kind;
        bool comma;
        if (sp_token_is_keyword(tok, "NATURAL"))
            return sp_unsupported(p, tok, "NATURAL JOIN");
        if (!parse_join_kind(p, &kind, &comma))
            return EM_OK;
        if (!comma) {
            if (skip_hint(p) || sp_expect_keyword(p, "JOIN") || skip_hint(p))
                return p->st->code;
        }
        struct sp_from *join = sp_arena_alloc(p->arena, sizeof(*join));
        if (!join)
            return EM_FAIL_OOM(p->st);
        join->is_join = true;
        join->join = kind;
        join->line = tok->line;
        join->column = tok->column;
        join->left = *out;
        if (parse_table_ref(p, &join->right))
            return p->st->code;
        if (kind != SP_JOIN_CROSS && parse_join_condition(p, join))
            return p->st->code;
        *out = join;
    }
}

static enum em_code parse_select(struct sp_parser *p, struct sp_select **out)
{
    struct sp_select *s = sp_arena_alloc(p->arena, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(p->st);
    if (sp_expect_keyword(p, "SELECT"))
        return p->st->code;
    const struct sp_token *tok = sp_peek(p);
    if (sp_token_is_keyword(tok, "AS")) {
        const struct sp_token *kind = sp_peek_at(p, 1);
        if (!sp_token_is_keyword(kind, "STRUCT") && !sp_token_is_keyword(kind, "VALUE"))
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Syntax error: Expected keyword STRUCT or keyword VALUE [at %d:%d]",
                           kind->line, kind->column);
        p->pos += 2;
        s->as_struct = sp_token_is_keyword(kind, "STRUCT");
        s->as_value = !s->as_struct;
        s->as_line = tok->line;
        s->as_column = tok->column;
    }
    if (sp_accept_keyword(p, "DISTINCT"))
        s->distinct = true;
    else
        sp_accept_keyword(p, "ALL");
    if (parse_select_items(p, &s->items, &s->nitems))
        return p->st->code;
    if (sp_accept_keyword(p, "FROM") && parse_from_item(p, &s->from))
        return p->st->code;
    if (sp_accept_keyword(p, "WHERE") && sp_parse_expr(p, &s->where))
        return p->st->code;
    if (sp_accept_keyword(p, "GROUP")) {
        struct ptr_list list = {0};
        if (sp_expect_keyword(p, "BY"))
            return p->st->code;
        if (sp_token_is_keyword(sp_peek(p), "ROLLUP"))
            return sp_unsupported(p, sp_peek(p), "GROUP BY ROLLUP");
        if (parse_expr_list(p, &list))
            return p->st->code;
        s->group_by = (struct sp_expr **)list.items;
        s->ngroup = list.count;
    }
    if (sp_accept_keyword(p, "HAVING") && sp_parse_expr(p, &s->having))
        return p->st->code;
    if (sp_token_is_keyword(sp_peek(p), "WINDOW") || sp_token_is_keyword(sp_peek(p), "QUALIFY"))
        return sp_unsupported(p, sp_peek(p), sp_peek(p)->value);
    *out = s;
    return EM_OK;
}

static enum em_code parse_query_term(struct sp_parser *p, struct sp_query **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (sp_accept_op(p, "(")) {
        if (enter(p) || sp_parse_query(p, out) || sp_expect_op(p, ")"))
            return p->st->code;
        p->depth--;
        return EM_OK;
    }
    struct sp_query *q = sp_arena_alloc(p->arena, sizeof(*q));
    if (!q)
        return EM_FAIL_OOM(p->st);
    q->line = tok->line;
    q->column = tok->column;
    if (parse_select(p, &q->select))
        return p->st->code;
    *out = q;
    return EM_OK;
}

static bool parse_set_op(struct sp_parser *p, enum sp_set_op *op)
{
    const struct sp_token *tok = sp_peek(p);
    if (sp_token_is_keyword(tok, "UNION"))
        *op = SP_SET_UNION;
    else if (sp_token_is_keyword(tok, "INTERSECT"))
        *op = SP_SET_INTERSECT;
    else if (sp_token_is_keyword(tok, "EXCEPT"))
        *op = SP_SET_EXCEPT;
    else
        return false;
    p->pos++;
    return true;
}

static enum em_code parse_order_by(struct sp_parser *p, struct sp_query *q)
{
    struct ptr_list list = {0};
    if (sp_expect_keyword(p, "BY"))
        return p->st->code;
    do {
        struct sp_order_item *item = sp_arena_alloc(p->arena, sizeof(*item));
        if (!item || sp_parse_expr(p, &item->expr))
            return p->st->code ? p->st->code : EM_FAIL_OOM(p->st);
        if (sp_token_is_keyword(sp_peek(p), "COLLATE"))
            return sp_unsupported(p, sp_peek(p), "COLLATE");
        if (sp_accept_keyword(p, "DESC"))
            item->desc = true;
        else
            sp_accept_keyword(p, "ASC");
        if (sp_accept_keyword(p, "NULLS")) {
            if (sp_accept_keyword(p, "FIRST"))
                item->nulls = 1;
            else if (sp_accept_keyword(p, "LAST"))
                item->nulls = 2;
            else
                return sp_syntax_error(p);
        }
        if (list_push(p, &list, item))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    q->order = sp_arena_alloc(p->arena, (size_t)list.count * sizeof(*q->order));
    if (!q->order)
        return EM_FAIL_OOM(p->st);
    for (int i = 0; i < list.count; i++)
        q->order[i] = *(struct sp_order_item *)list.items[i];
    q->norder = list.count;
    return EM_OK;
}

/* LIMIT and OFFSET take an integer literal or a parameter. */
static enum em_code parse_count(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (tok->kind != SP_TOK_INT && tok->kind != SP_TOK_PARAM)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Syntax error: LIMIT and OFFSET expect an integer literal or parameter "
                       "[at %d:%d]",
                       tok->line, tok->column);
    return parse_primary(p, out);
}

enum em_code sp_parse_query(struct sp_parser *p, struct sp_query **out)
{
    if (enter(p))
        return p->st->code;
    struct ptr_list names = {0}, ctes = {0};
    if (sp_accept_keyword(p, "WITH")) {
        if (sp_token_is_keyword(sp_peek(p), "RECURSIVE"))
            return sp_unsupported(p, sp_peek(p), "WITH RECURSIVE");
        do {
            const char *name;
            struct sp_query *cte;
            if (sp_expect_identifier(p, "WITH query name", &name) || sp_expect_keyword(p, "AS") ||
                sp_expect_op(p, "(") || sp_parse_query(p, &cte) || sp_expect_op(p, ")") ||
                list_push(p, &names, (void *)name) || list_push(p, &ctes, cte))
                return p->st->code;
        } while (sp_accept_op(p, ","));
    }
    if (parse_query_term(p, out))
        return p->st->code;
    enum sp_set_op op;
    while (parse_set_op(p, &op)) {
        const struct sp_token *tok = &p->tokens.items[p->pos - 1];
        struct sp_query *q = sp_arena_alloc(p->arena, sizeof(*q));
        if (!q)
            return EM_FAIL_OOM(p->st);
        q->op = op;
        q->line = tok->line;
        q->column = tok->column;
        if (sp_accept_keyword(p, "ALL"))
            q->all = true;
        else if (!sp_accept_keyword(p, "DISTINCT"))
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Syntax error: Expected keyword ALL or keyword DISTINCT after %s [at "
                           "%d:%d]",
                           tok->value, tok->line, tok->column);
        q->left = *out;
        if (parse_query_term(p, &q->right))
            return p->st->code;
        *out = q;
    }
    struct sp_query *q = *out;
    if (sp_accept_keyword(p, "ORDER") && parse_order_by(p, q))
        return p->st->code;
    if (sp_accept_keyword(p, "LIMIT")) {
        if (parse_count(p, &q->limit))
            return p->st->code;
        if (sp_accept_keyword(p, "OFFSET") && parse_count(p, &q->offset))
            return p->st->code;
    }
    if (names.count) {
        if (q->nctes) {
            /* WITH a AS (...) (WITH b AS (...) SELECT ...): keep it one level */
            return sp_unsupported(p, sp_peek(p), "A WITH clause around another WITH clause");
        }
        q->cte_names = (const char **)names.items;
        q->ctes = (struct sp_query **)ctes.items;
        q->nctes = names.count;
    }
    p->depth--;
    return EM_OK;
}

/* ---- DML ---- */

static enum em_code parse_target(struct sp_parser *p, struct sp_statement *s)
{
    const struct sp_token *tok = sp_peek(p);
    s->table_line = tok->line;
    s->table_column = tok->column;
    if (sp_expect_object_name(p, "table name", &s->table) || skip_hint(p))
        return p->st->code;
    return EM_OK;
}

static enum em_code parse_returning(struct sp_parser *p, struct sp_statement *s)
{
    if (!sp_token_is_keyword(sp_peek(p), "THEN") ||
        !sp_token_is_keyword(sp_peek_at(p, 1), "RETURN"))
        return EM_OK;
    p->pos += 2;
    const struct sp_token *with = sp_peek(p);
    if (sp_accept_keyword(p, "WITH")) {
        s->action_line = with->line;
        s->action_column = with->column;
        s->action_alias = "ACTION";
        if (sp_expect_keyword(p, "ACTION") ||
            (sp_accept_keyword(p, "AS") && sp_expect_identifier(p, "alias", &s->action_alias)))
            return p->st->code;
    }
    return parse_select_items(p, &s->returning, &s->nreturning);
}

static enum em_code parse_column_list(struct sp_parser *p, struct sp_statement *s)
{
    struct ptr_list names = {0};
    int lines[1024], columns[1024];
    if (sp_expect_op(p, "("))
        return p->st->code;
    do {
        const struct sp_token *tok = sp_peek(p);
        const char *name;
        if (names.count == 1024)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Too many columns [at %d:%d]", tok->line,
                           tok->column);
        if (sp_expect_identifier(p, "column name", &name) || list_push(p, &names, (void *)name))
            return p->st->code;
        lines[names.count - 1] = tok->line;
        columns[names.count - 1] = tok->column;
    } while (sp_accept_op(p, ","));
    s->columns = (const char **)names.items;
    s->ncolumns = names.count;
    s->column_lines = sp_arena_alloc(p->arena, (size_t)names.count * sizeof(int));
    s->column_columns = sp_arena_alloc(p->arena, (size_t)names.count * sizeof(int));
    if (!s->column_lines || !s->column_columns)
        return EM_FAIL_OOM(p->st);
    memcpy(s->column_lines, lines, (size_t)names.count * sizeof(int));
    memcpy(s->column_columns, columns, (size_t)names.count * sizeof(int));
    return sp_expect_op(p, ")");
}

/* A value written to a column: an expression, or DEFAULT (the column's default). */
static enum em_code parse_column_value(struct sp_parser *p, struct sp_expr **out)
{
    const struct sp_token *tok = sp_peek(p);
    if (!sp_token_is_keyword(tok, "DEFAULT"))
        return sp_parse_expr(p, out);
    struct sp_expr *e = new_expr(p, SP_EXPR_DEFAULT, tok);
    if (!e)
        return p->st->code;
    p->pos++;
    finish(p, e);
    *out = e;
    return EM_OK;
}

/* ( value, ... ) of INSERT ... VALUES */
static enum em_code parse_values_row(struct sp_parser *p, struct ptr_list *values)
{
    if (sp_expect_op(p, "("))
        return p->st->code;
    do {
        struct sp_expr *e;
        if (parse_column_value(p, &e) || list_push(p, values, e))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    return sp_expect_op(p, ")");
}

static enum em_code parse_insert(struct sp_parser *p, struct sp_statement *s)
{
    s->kind = SP_STMT_INSERT;
    if (sp_accept_keyword(p, "OR")) {
        if (sp_accept_keyword(p, "UPDATE"))
            s->insert_mode = SP_INSERT_OR_UPDATE;
        else if (sp_accept_keyword(p, "IGNORE"))
            s->insert_mode = SP_INSERT_OR_IGNORE;
        else
            return sp_syntax_error(p);
    }
    sp_accept_keyword(p, "INTO");
    if (parse_target(p, s))
        return p->st->code;
    if (!sp_token_is_op(sp_peek(p), "("))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "INSERT must specify a column list [at %d:%d]",
                       sp_peek(p)->line, sp_peek(p)->column);
    if (parse_column_list(p, s))
        return p->st->code;
    if (sp_accept_keyword(p, "VALUES")) {
        struct ptr_list rows = {0};
        do {
            struct ptr_list values = {0};
            const struct sp_token *row = sp_peek(p);
            if (parse_values_row(p, &values))
                return p->st->code;
            if (values.count != s->ncolumns)
                return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                               "Inserted row has wrong column count; Has %d, expected %d [at "
                               "%d:%d]",
                               values.count, s->ncolumns, row->line, row->column);
            if (list_push(p, &rows, values.items))
                return p->st->code;
        } while (sp_accept_op(p, ","));
        s->rows = (struct sp_expr ***)rows.items;
        s->nrows = rows.count;
    } else if (sp_token_is_keyword(sp_peek(p), "SELECT") || sp_token_is_op(sp_peek(p), "(") ||
               sp_token_is_keyword(sp_peek(p), "WITH")) {
        if (sp_parse_query(p, &s->query))
            return p->st->code;
    } else {
        return sp_expect_keyword(p, "VALUES");
    }
    return parse_returning(p, s);
}

static enum em_code parse_where_required(struct sp_parser *p, struct sp_statement *s,
                                         const char *verb)
{
    if (!sp_accept_keyword(p, "WHERE")) {
        const struct sp_token *tok = sp_peek(p);
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "%s must have a WHERE clause (use WHERE true to affect every row) [at "
                       "%d:%d]",
                       verb, tok->line, tok->column);
    }
    return sp_parse_expr(p, &s->where);
}

static enum em_code parse_update(struct sp_parser *p, struct sp_statement *s)
{
    s->kind = SP_STMT_UPDATE;
    if (parse_target(p, s) || parse_alias(p, &s->alias) || sp_expect_keyword(p, "SET"))
        return p->st->code;
    struct ptr_list names = {0}, values = {0}, lines = {0};
    do {
        const struct sp_token *tok = sp_peek(p);
        const char *name;
        struct sp_expr *value;
        if (sp_expect_identifier(p, "column name", &name))
            return p->st->code;
        if (sp_accept_op(p, ".")) {
            /* alias.column */
            if (sp_expect_identifier(p, "column name", &name))
                return p->st->code;
        }
        if (sp_expect_op(p, "=") || parse_column_value(p, &value) ||
            list_push(p, &names, (void *)name) || list_push(p, &values, value) ||
            list_push(p, &lines, (void *)tok))
            return p->st->code;
    } while (sp_accept_op(p, ","));
    s->columns = (const char **)names.items;
    s->values = (struct sp_expr **)values.items;
    s->ncolumns = names.count;
    s->column_lines = sp_arena_alloc(p->arena, (size_t)names.count * sizeof(int));
    s->column_columns = sp_arena_alloc(p->arena, (size_t)names.count * sizeof(int));
    if (!s->column_lines || !s->column_columns)
        return EM_FAIL_OOM(p->st);
    for (int i = 0; i < names.count; i++) {
        const struct sp_token *tok = lines.items[i];
        s->column_lines[i] = tok->line;
        s->column_columns[i] = tok->column;
    }
    if (parse_where_required(p, s, "UPDATE"))
        return p->st->code;
    return parse_returning(p, s);
}

static enum em_code parse_delete(struct sp_parser *p, struct sp_statement *s)
{
    s->kind = SP_STMT_DELETE;
    sp_accept_keyword(p, "FROM");
    if (parse_target(p, s) || parse_alias(p, &s->alias) || parse_where_required(p, s, "DELETE"))
        return p->st->code;
    return parse_returning(p, s);
}

bool sp_sql_is_dml(const char *sql)
{
    struct sp_arena arena = {0};
    struct em_status st = {0};
    struct sp_parser p;
    bool dml =
        sp_parser_init(&p, &arena, sql, &st) == EM_OK && skip_hint(&p) == EM_OK &&
        (sp_token_is_keyword(sp_peek(&p), "INSERT") || sp_token_is_keyword(sp_peek(&p), "UPDATE") ||
         sp_token_is_keyword(sp_peek(&p), "DELETE"));
    sp_arena_free(&arena);
    return dml;
}

enum em_code sp_parse_statement(struct sp_parser *p, struct sp_statement **out)
{
    struct sp_statement *s = sp_arena_alloc(p->arena, sizeof(*s));
    if (!s)
        return EM_FAIL_OOM(p->st);
    if (skip_hint(p))
        return p->st->code;
    const struct sp_token *tok = sp_peek(p);
    enum em_code code;
    if (sp_accept_keyword(p, "INSERT"))
        code = parse_insert(p, s);
    else if (sp_accept_keyword(p, "UPDATE"))
        code = parse_update(p, s);
    else if (sp_accept_keyword(p, "DELETE"))
        code = parse_delete(p, s);
    else if (sp_token_is_keyword(tok, "SELECT") || sp_token_is_keyword(tok, "WITH") ||
             sp_token_is_op(tok, "("))
        code = sp_parse_query(p, &s->query);
    else if (sp_token_is_keyword(tok, "CREATE") || sp_token_is_keyword(tok, "ALTER") ||
             sp_token_is_keyword(tok, "DROP"))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "DDL statements are not accepted here; use UpdateDatabaseDdl [at %d:%d]",
                       tok->line, tok->column);
    else if (tok->kind == SP_TOK_IDENT && !sp_is_reserved(tok->value))
        return sp_unsupported(p, tok, tok->value);
    else
        return sp_syntax_error(p);
    if (code)
        return code;
    sp_accept_op(p, ";");
    if (sp_peek(p)->kind != SP_TOK_EOF)
        return sp_syntax_error(p);
    *out = s;
    return EM_OK;
}
