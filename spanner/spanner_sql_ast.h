/*
 * spanner_sql_ast: the syntax tree of a GoogleSQL statement, and its parser.
 *
 * The parser (spanner_sql_parse.c) is recursive descent over the tokens of
 * spanner_sql_lexer, with GoogleSQL's operator precedence (low to high): OR, AND, NOT,
 * comparisons (= != <> < <= > >= [NOT] LIKE/IN/BETWEEN, IS [NOT] NULL/TRUE/FALSE), |, ^, &,
 * << >>, binary + -, * / ||, unary + - ~. Every node records the line and column of its
 * first token; expressions also their byte range in the text, so the DDL can print a
 * DEFAULT or CHECK back as written. All nodes live in the caller's arena.
 *
 * What the parser does not know how to read is reported as a syntax error at the token;
 * constructs it reads but the translator does not implement are rejected there, by name.
 */
#ifndef SPANNER_SQL_AST_H
#define SPANNER_SQL_AST_H

#include "spanner_sql_lexer.h"
#include "spanner_value.h"

enum sp_expr_kind {
    SP_EXPR_LITERAL,       /* lit: SP_TOK_INT/FLOAT/STRING/BYTES; or bool/null below */
    SP_EXPR_BOOL,          /* TRUE/FALSE: bool_value */
    SP_EXPR_NULL,          /* NULL */
    SP_EXPR_TYPED_LITERAL, /* DATE/TIMESTAMP/NUMERIC/JSON 'text': type + text */
    SP_EXPR_PARAM,         /* @name */
    SP_EXPR_COLUMN,        /* [qualifier.]name */
    SP_EXPR_UNARY,         /* op: "-", "+", "~", "NOT"; args[0] */
    SP_EXPR_BINARY,        /* op: arithmetic, comparison, AND, OR, ||, bitwise */
    SP_EXPR_FUNCTION,      /* name (upper case), args; distinct, star (COUNT(*)), safe */
    SP_EXPR_CAST,          /* CAST/SAFE_CAST(args[0] AS type) */
    SP_EXPR_CASE,          /* [operand] WHEN/THEN pairs [ELSE]: see has_operand/has_else */
    SP_EXPR_IN,            /* args[0] [NOT] IN (args[1..]) or IN (subquery) */
    SP_EXPR_BETWEEN,       /* args[0] [NOT] BETWEEN args[1] AND args[2] */
    SP_EXPR_IS,            /* args[0] IS [NOT] op ("NULL", "TRUE", "FALSE") */
    SP_EXPR_LIKE,          /* args[0] [NOT] LIKE args[1] */
    SP_EXPR_SUBQUERY,      /* (SELECT ...) as a scalar */
    SP_EXPR_EXISTS,        /* EXISTS (SELECT ...) */
    SP_EXPR_INTERVAL,      /* INTERVAL args[0] name (a date part), inside TIMESTAMP_ADD & co */
    SP_EXPR_DATE_PART,     /* a bare date part (DAY, MONTH ...) as an argument */
    SP_EXPR_ARRAY,         /* [a, b] or ARRAY<T>[a, b] (type.element set when written) */
    SP_EXPR_ARRAY_QUERY,   /* ARRAY(SELECT ...) */
    SP_EXPR_SUBSCRIPT,     /* args[0][name(args[1])]: name OFFSET, ORDINAL, SAFE_OFFSET ... */
    SP_EXPR_STRUCT,        /* STRUCT(a [AS x], ...), STRUCT<T, ...>(a, ...) (type set), or the
                              tuple (a, b, ...): field_names[i] is the AS name or NULL */
    SP_EXPR_FIELD,         /* args[0].name: a STRUCT's field (line/column: the name's) */
    SP_EXPR_SEQUENCE,      /* SEQUENCE name, the argument of the sequence functions */
    SP_EXPR_DEFAULT,       /* DEFAULT, a value of INSERT ... VALUES or UPDATE ... SET */
};

struct sp_query;

struct sp_expr {
    enum sp_expr_kind kind;
    int line, column;
    size_t start, end; /* byte range in the statement text */
    const char *name;  /* column, function (upper case), parameter, operator, part */
    const char *qualifier;
    const char *text; /* literal value */
    size_t text_len;
    enum sp_token_kind lit;
    bool bool_value;
    struct sp_expr **args;
    int nargs;
    const char *arg_name; /* an argument a call names: f(x, name => this) */
    struct sp_type type;  /* CAST target, typed literal type */
    bool negated, distinct, star, safe, has_operand, has_else;
    enum { SP_NULLS_DEFAULT, SP_NULLS_IGNORE, SP_NULLS_RESPECT } nulls; /* x IGNORE NULLS */
    struct sp_expr *having; /* ANY_VALUE(x HAVING MAX|MIN having) */
    bool having_max;
    bool unnest; /* IN UNNEST(args[1]) */
    struct sp_query *subquery;
    const char **field_names; /* SP_EXPR_STRUCT */
    bool tuple;               /* SP_EXPR_STRUCT written (a, b): no field names inferred */
};

struct sp_select_item {
    struct sp_expr *expr; /* NULL for a star */
    const char *alias;
    bool star;
    const char *star_qualifier; /* t.* */
    const char **except;        /* * EXCEPT (a, b) */
    int nexcept;
    const char **replace_names; /* * REPLACE (expr AS name, ...) */
    struct sp_expr **replace_exprs;
    int nreplace;
    int line, column;
};

enum sp_join_kind {
    SP_JOIN_INNER,
    SP_JOIN_LEFT,
    SP_JOIN_RIGHT,
    SP_JOIN_FULL,
    SP_JOIN_CROSS,
};

/* TABLESAMPLE BERNOULLI (p PERCENT) or RESERVOIR (n ROWS) [WITH WEIGHT [[AS] alias]] after a
 * table or subquery. */
struct sp_sample {
    const char *method;   /* as written; the parser accepts only BERNOULLI and RESERVOIR */
    bool percent;         /* PERCENT (BERNOULLI), else ROWS (RESERVOIR) */
    struct sp_expr *size; /* an integer or floating-point literal, a parameter, or a CAST of one */
    bool with_weight;
    const char *weight_alias; /* NULL: weight */
    int weight_line, weight_column;
};

struct sp_from {
    bool is_join;
    /* a table, a subquery, or UNNEST(array) [WITH OFFSET [AS] offset_alias] */
    const char *table;
    const char *alias;
    struct sp_query *subquery;
    struct sp_expr *unnest;
    bool with_offset;
    const char *offset_alias;
    struct sp_sample *sample; /* or NULL */
    int line, column;
    /* a join */
    enum sp_join_kind join;
    struct sp_from *left, *right;
    struct sp_expr *on;
    const char **using_columns;
    int nusing;
};

struct sp_order_item {
    struct sp_expr *expr;
    bool desc;
    int nulls; /* 0 default, 1 NULLS FIRST, 2 NULLS LAST */
};

struct sp_select {
    bool distinct;
    bool as_struct; /* SELECT AS STRUCT: one STRUCT column of the items */
    bool as_value;  /* SELECT AS VALUE: a value table of the one item (its fields, a STRUCT's) */
    int as_line, as_column; /* where AS STRUCT/VALUE is */
    struct sp_select_item *items;
    int nitems;
    struct sp_from *from; /* NULL: SELECT without FROM */
    struct sp_expr *where;
    struct sp_expr **group_by;
    int ngroup;
    struct sp_expr *having;
};

enum sp_set_op { SP_SET_NONE, SP_SET_UNION, SP_SET_INTERSECT, SP_SET_EXCEPT };

struct sp_query {
    struct sp_select *select; /* when op is SP_SET_NONE */
    enum sp_set_op op;
    bool all;
    struct sp_query *left, *right;
    struct sp_order_item *order;
    int norder;
    struct sp_expr *limit, *offset;
    int line, column;
    /* WITH name AS (query), ...: visible to the query and to the later ones */
    const char **cte_names;
    struct sp_query **ctes;
    int nctes;
};

enum sp_statement_kind { SP_STMT_QUERY, SP_STMT_INSERT, SP_STMT_UPDATE, SP_STMT_DELETE };

struct sp_statement {
    enum sp_statement_kind kind;
    struct sp_query *query; /* SP_STMT_QUERY; INSERT ... SELECT */
    const char *table;      /* DML target */
    const char *alias;
    int table_line, table_column;
    const char **columns; /* INSERT column list; UPDATE SET targets */
    int *column_lines, *column_columns;
    int ncolumns;
    struct sp_expr ***rows; /* INSERT VALUES: nrows rows of ncolumns */
    int nrows;
    struct sp_expr **values; /* UPDATE SET values */
    struct sp_expr *where;
    struct sp_select_item *returning; /* THEN RETURN */
    int nreturning;
    const char *action_alias; /* THEN RETURN WITH ACTION [AS alias]: its column's name */
    int action_line, action_column;
    /* INSERT OR UPDATE (an existing row's listed columns are updated, the others kept) and
     * INSERT OR IGNORE (an existing row is left as it is) */
    enum { SP_INSERT_PLAIN, SP_INSERT_OR_UPDATE, SP_INSERT_OR_IGNORE } insert_mode;
};

/* The parser's state, shared with the DDL parser (spanner_ddl.c). */
struct sp_parser {
    struct sp_arena *arena;
    const char *sql;
    struct sp_tokens tokens;
    size_t pos;
    int depth;
    struct em_status *st;
};

/* Tokenizes sql into p (ready for the functions below). */
enum em_code sp_parser_init(struct sp_parser *p, struct sp_arena *arena, const char *sql,
                            struct em_status *st);
/* Whether sql begins as DML does (INSERT, UPDATE or DELETE, after a statement hint): what
 * a request's seqno applies to (spanner_txn.h), known before it runs. */
bool sp_sql_is_dml(const char *sql);
/* Parses one whole DML or query statement (an optional trailing ';' allowed). */
enum em_code sp_parse_statement(struct sp_parser *p, struct sp_statement **out);
enum em_code sp_parse_expr(struct sp_parser *p, struct sp_expr **out);
/* A type as CAST and DDL write it; STRING/BYTES need a length when require_length. STRUCT
 * is refused there (UNIMPLEMENTED): it is read only in expressions (ARRAY<STRUCT<...>>[...],
 * STRUCT<...>(...)). */
enum em_code sp_parse_type(struct sp_parser *p, bool require_length, struct sp_type *out);
enum em_code sp_parse_query(struct sp_parser *p, struct sp_query **out);

/* Token helpers. */
const struct sp_token *sp_peek(const struct sp_parser *p);
const struct sp_token *sp_peek_at(const struct sp_parser *p, size_t ahead);
const struct sp_token *sp_next(struct sp_parser *p);
bool sp_accept_keyword(struct sp_parser *p, const char *kw);
bool sp_accept_op(struct sp_parser *p, const char *op);
enum em_code sp_expect_keyword(struct sp_parser *p, const char *kw);
enum em_code sp_expect_op(struct sp_parser *p, const char *op);
/* An identifier (plain non-reserved, or quoted) into *name; what names it in the error. */
enum em_code sp_expect_identifier(struct sp_parser *p, const char *what, const char **name);
/* A schema object's name: an identifier, or a path of them (sch.T: T of the named schema
 * sch), joined with '.' into *name. */
enum em_code sp_expect_object_name(struct sp_parser *p, const char *what, const char **name);
/* The part of an object's name after its schema (T of sch.T), its default alias. */
const char *sp_name_without_schema(const char *name);
/* "Syntax error: Unexpected <token> [at L:C]" at the current token. */
enum em_code sp_syntax_error(struct sp_parser *p);
/* UNIMPLEMENTED "<construct> is not supported [at L:C]" at tok. */
enum em_code sp_unsupported(struct sp_parser *p, const struct sp_token *tok, const char *construct);
bool sp_is_reserved(const char *word);

#endif
