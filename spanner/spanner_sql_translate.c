/*
 * spanner_sql_translate: name resolution, type checking and SQLite code generation for
 * GoogleSQL queries and DML (the contract is in spanner_sql_translate.h). Expressions
 * become "fragments": SQLite text plus the GoogleSQL type, combined bottom-up.
 */
#include "spanner_sql_translate.h"

#include "spanner_sql_functions.h"
#include "spanner_sql_info_schema.h"
#include "spanner_json_value.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INFO_SCHEMA_PREFIX "INFORMATION_SCHEMA."
/* How deep expressions, FROM items and queries may nest in one statement as translated.
 * The parser bounds parentheses and calls, but a chain (a + b + ..., a UNION ALL b ...,
 * FROM a JOIN b ..., s.f.g ...) is a left-deep tree as tall as it is long, and the
 * translation recurses once per level: beyond this it would exhaust the thread's stack.
 * SQLite refuses expressions deeper than 1000 (SQLITE_MAX_EXPR_DEPTH) anyway. */
#define MAX_NESTING 1000

struct frag {
    const char *sql;
    struct sp_type type;
    int param;                  /* index of an untyped parameter whose type is still open, or -1 */
    bool null_literal;          /* NULL, whose type is open */
    const char *string_literal; /* a string literal's value (coercible to DATE/TIMESTAMP) */
    size_t string_len;
    const char *part; /* an INTERVAL's or a bare argument's date part (DAY, MONTH ...) */
    bool empty_array; /* [] without an element type: becomes any ARRAY type it meets */
    /* a FLOAT64 literal's text (or its negation's): it coerces to NUMERIC (exactly, from
     * the text) and to FLOAT32 as GoogleSQL coerces literals (INSERT ... VALUES (1.5) into
     * a NUMERIC column, F32 = 0.1); NULL for anything else */
    const char *float_literal;
    /* a STRUCT constructor's field fragments: it coerces field by field (a NULL field to
     * any type), as GoogleSQL coerces a STRUCT literal */
    struct frag *fields;
    int nfields;
    /* sql ends a chain of one associative operator that chain() may continue: valid while
     * sql is still chain_sql (a coercion that rewrote sql ends it) */
    const char *chain_sql;
    const char *chain_open; /* "(" or "sp_int64_add(" */
    const char *chain_join; /* " OR " or ", " */
    int chain_len;          /* operands so far */
};

/* A column visible in a scope. sql reads it qualified; unqualified_sql unqualified
 * (differs for a USING column of a FULL JOIN). */
struct scope_column {
    const char *name;
    struct sp_type type;
    const char *sql;
    const char *unqualified_sql;
    bool hidden;      /* the right copy of a USING column: only reachable qualified */
    bool not_in_star; /* a HIDDEN table column: read by name only, never by * */
    /* the schema table the column is read from (its name is the column's), or NULL: what
     * a database role needs SELECT on (note_read) */
    const struct sp_table *table;
};

struct scope_source {
    const char *alias;
    const char *sql_alias; /* the SQLite name its columns are read through, if it has one */
    bool range_variable;   /* TABLESAMPLE's WITH WEIGHT: its name wins over columns' names */
    bool scalar_values;    /* a value table of scalars: its alias names its one column */
    struct scope_column *columns;
    int ncolumns;
};

struct scope {
    struct scope_source **sources;
    int nsources;
    const struct scope *outer;
};

struct translator {
    struct sp_arena *arena;
    const struct sp_schema *schema;
    struct em_status *st;
    const struct sp_param_decl *decls;
    int ndecls;
    struct sp_param *params;
    int nparams, params_cap;
    int next_alias;
    /* WITH queries in scope, innermost last */
    struct cte {
        const char *name;     /* as the query names it */
        const char *sql_name; /* "$wN" in the SQLite text */
        struct sp_result_column *cols;
        int ncols;
    } ctes[16];
    int nctes;
    /* aggregation state of the SELECT being translated */
    bool aggregates_allowed; /* false in WHERE, ON, GROUP BY, DDL expressions */
    bool in_aggregate;       /* inside an aggregate call's arguments */
    bool check_grouping;     /* columns must be grouped (aggregating query) */
    bool parts_allowed;      /* date parts and INTERVALs: arguments of date functions */
    bool normalize_mode;     /* NORMALIZE's second argument is a mode (NFC ...), not a column */
    int part_index;          /* the argument that may be a bare date part (elsewhere a name such
                              * as a column Day is a name), or -1: none */
    const char *clause;      /* "SELECT list", "HAVING clause", "ORDER BY clause" */
    const char **group_sql;  /* translated GROUP BY expressions */
    int ngroup;
    const struct scope *grouping_scope;
    /* in a HAVING clause: the SELECT whose aliases name its items there (NULL elsewhere) */
    const struct sp_select *having_select;
    /* DML columns written with PENDING_COMMIT_TIMESTAMP() */
    const char *pending[64];
    int npending;
    int depth;           /* expressions, FROM items and queries being translated (MAX_NESTING) */
    int64_t read_ns;     /* tables are read as of this timestamp (0: their current rows) */
    bool draws_sequence; /* GET_NEXT_SEQUENCE_VALUE somewhere in the statement */
    /* what the statement reads and writes, for a database role's check (spanner_roles.h);
     * not noted inside a view with definer's rights (definer > 0) */
    struct sp_accesses accesses;
    int definer;
    const char *role; /* INFORMATION_SCHEMA shows what this role sees, or everything (NULL) */
    /* a view's definition: Spanner reads it in ZetaSQL's strict name resolution mode
     * (every column qualified by its table, no SELECT *) */
    bool strict_names;
};

/* The statement needs privilege on the object (column NULL: see struct sp_access). */
static enum em_code note_access(struct translator *t, enum sp_grant_object on, const char *object,
                                const char *column, enum sp_privilege privilege)
{
    if (t->definer)
        return EM_OK;
    return sp_accesses_add(&t->accesses, t->arena, on, object, column, privilege, t->st);
}

/* A column read: SELECT on it when it is a table's. */
static enum em_code note_read(struct translator *t, const struct scope_column *c)
{
    if (!c->table)
        return EM_OK;
    return note_access(t, SP_ON_TABLE, c->table->name, c->name, SP_PRIV_SELECT);
}

/* ---- helpers ---- */

static enum em_code fail_at(struct translator *t, int line, int column, enum em_code code,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static enum em_code fail_at(struct translator *t, int line, int column, enum em_code code,
                            const char *fmt, ...)
{
    char message[EM_STATUS_MESSAGE_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return EM_FAIL(t->st, code, "%s [at %d:%d]", message, line, column);
}

#define FAIL_AT(t, e, code, ...) fail_at((t), (e)->line, (e)->column, (code), __VA_ARGS__)

/* One more level of nesting (undone by t->depth--), refused past MAX_NESTING. */
static enum em_code nest(struct translator *t, int line, int column)
{
    if (t->depth >= MAX_NESTING)
        return fail_at(t, line, column, EM_INVALID_ARGUMENT,
                       "Statement is nested too deeply (more than %d levels of expressions, "
                       "FROM items or queries)",
                       MAX_NESTING);
    t->depth++;
    return EM_OK;
}

static bool is_pending_commit_timestamp(const struct sp_expr *e)
{
    return e->kind == SP_EXPR_FUNCTION && strcmp(e->name, "PENDING_COMMIT_TIMESTAMP") == 0;
}

static const char *type_name(const struct sp_type *type, char *buf, size_t size)
{
    if (type->code == SP_TYPE_UNKNOWN)
        snprintf(buf, size, "INT64"); /* an untyped NULL defaults to INT64 */
    else
        sp_type_format(type, false, buf, size);
    return buf;
}

static const char *finish_sql(struct translator *t, struct sp_buf *buf)
{
    if (buf->failed) {
        sp_buf_free(buf);
        EM_FAIL_OOM(t->st);
        return NULL;
    }
    const char *sql = sp_arena_strdup(t->arena, buf->data ? buf->data : "");
    sp_buf_free(buf);
    if (!sql)
        EM_FAIL_OOM(t->st);
    return sql;
}

static const char *sqlf(struct translator *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *sqlf(struct translator *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = n >= 0 ? sp_arena_alloc(t->arena, (size_t)n + 1) : NULL;
    if (!out) {
        EM_FAIL_OOM(t->st);
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

static const char *quote_ident(struct translator *t, const char *name)
{
    struct sp_buf buf = {0};
    sp_buf_ident(&buf, name);
    return finish_sql(t, &buf);
}

static const char *new_alias(struct translator *t);

static struct frag typed(const char *sql, enum sp_type_code code)
{
    struct frag f = {sql, {code, SP_TYPE_UNKNOWN, 0, NULL}, -1, false, NULL, 0, NULL, false, NULL,
                     0};
    return f;
}

/* ---- parameters ---- */

static int param_index(struct translator *t, const char *name, const struct sp_type **declared)
{
    *declared = NULL;
    for (int i = 0; i < t->ndecls; i++)
        if (strcasecmp(t->decls[i].name, name) == 0)
            *declared = &t->decls[i].type;
    for (int i = 0; i < t->nparams; i++)
        if (strcasecmp(t->params[i].name, name) == 0)
            return i;
    if (t->nparams == t->params_cap) {
        int cap = t->params_cap ? t->params_cap * 2 : 8;
        struct sp_param *params = sp_arena_alloc(t->arena, (size_t)cap * sizeof(*params));
        if (!params)
            return -1;
        if (t->nparams)
            memcpy(params, t->params, (size_t)t->nparams * sizeof(*params));
        t->params = params;
        t->params_cap = cap;
    }
    struct sp_param *p = &t->params[t->nparams];
    p->name = sp_arena_strdup(t->arena, name);
    if (!p->name)
        return -1;
    p->declared = *declared != NULL;
    if (*declared && !sp_type_copy(t->arena, *declared, &p->type))
        return -1;
    return t->nparams++;
}

/* ---- coercion ---- */

static bool is_open(const struct frag *f)
{
    return f->type.code == SP_TYPE_UNKNOWN;
}

static bool is_float(enum sp_type_code code)
{
    return code == SP_TYPE_FLOAT64 || code == SP_TYPE_FLOAT32;
}

/* ---- FLOAT64 NaN (stored as the TEXT SP_NAN_TEXT, see spanner_value.h) ----
 *
 * SQLite sees NaN as a string, greater than every number and equal to itself; GoogleSQL
 * makes every comparison with a NaN FALSE but != (TRUE), and sorts NaN first. The helpers
 * below put that right where FLOAT64 values meet: comparisons, IN, CASE, NULLIF, ORDER BY,
 * MIN/SUM/AVG and LEAST. GROUP BY, DISTINCT and the set operations keep SQLite's equality:
 * there, all NaNs are one value, as in GoogleSQL. */
#define NAN_SQL "'" SP_NAN_TEXT "'"

/* x as the left operand of IN or CASE x WHEN: a NaN becomes X'', which equals nothing (so
 * NaN IN (NaN) is FALSE, and NaN IN (1, NULL) NULL, as GoogleSQL has them). */
static const char *nan_never_equal(struct translator *t, const char *sql)
{
    return sqlf(t, "(CASE WHEN %s IS " NAN_SQL " THEN X'' ELSE %s END)", sql, sql);
}

/* a op b for FLOAT64 operands. SQLite's answer is right but where a NaN (a string there)
 * is on the side where it compares greater, or on both: guarded by "that side is not NaN
 * (or the other is NULL, when the answer stays NULL)". The guard is a separate AND term, so
 * an index on a column still serves the comparison. */
static const char *float_comparison(struct translator *t, const char *op, const char *a,
                                    const char *b)
{
    if (strcmp(op, "<>") == 0)
        return sqlf(t, "((%s <> %s) OR (%s IS " NAN_SQL " AND %s IS NOT NULL))", a, b, a, b);
    /* = , >, >=: a NaN on the left; <, <=: a NaN on the right */
    bool left = op[0] == '=' || op[0] == '>';
    const char *nan_side = left ? a : b, *other = left ? b : a;
    return sqlf(t, "((%s %s %s) AND (%s IS NOT " NAN_SQL " OR %s IS NULL))", a, op, b, nan_side,
                other);
}

/* An aggregate of FLOAT64 values that is NaN when any input is (SQLite would read the
 * NaN string as 0, or skip it), or when the inputs hold both infinities (SUM, AVG). */
static const char *float_aggregate(struct translator *t, const char *aggregate, const char *arg,
                                   bool infinities_cancel)
{
    if (!infinities_cancel)
        return sqlf(t, "(CASE WHEN max(%s = " NAN_SQL ") THEN " NAN_SQL " ELSE %s END)", arg,
                    aggregate);
    return sqlf(t,
                "(CASE WHEN max(%s = " NAN_SQL ") OR (max(%s = 9e999) AND max(%s = -9e999)) "
                "THEN " NAN_SQL " ELSE %s END)",
                arg, arg, arg, aggregate);
}

/* The common supertype of two fragments, as GoogleSQL's coercion rules give it. */
static bool supertype(const struct frag *a, const struct frag *b, struct sp_type *out)
{
    const struct sp_type *x = &a->type, *y = &b->type;
    if (is_open(a)) {
        *out = *y;
        return true;
    }
    if (is_open(b) || sp_type_equal(x, y)) {
        *out = *x;
        return true;
    }
    enum sp_type_code cx = x->code, cy = y->code;
    if ((a->float_literal && (cy == SP_TYPE_NUMERIC || cy == SP_TYPE_FLOAT32)) ||
        (a->empty_array && cy == SP_TYPE_ARRAY)) {
        *out = *y; /* the literal takes the other's type */
        return true;
    }
    if ((b->float_literal && (cx == SP_TYPE_NUMERIC || cx == SP_TYPE_FLOAT32)) ||
        (b->empty_array && cx == SP_TYPE_ARRAY)) {
        *out = *x;
        return true;
    }
    memset(out, 0, sizeof(*out));
    if ((is_float(cx) && sp_type_is_numeric(cy)) || (is_float(cy) && sp_type_is_numeric(cx))) {
        out->code = SP_TYPE_FLOAT64;
        return true;
    }
    if ((cx == SP_TYPE_INT64 && cy == SP_TYPE_NUMERIC) ||
        (cx == SP_TYPE_NUMERIC && cy == SP_TYPE_INT64)) {
        out->code = SP_TYPE_NUMERIC;
        return true;
    }
    if (a->string_literal && (cy == SP_TYPE_DATE || cy == SP_TYPE_TIMESTAMP)) {
        *out = *y;
        return true;
    }
    if (b->string_literal && (cx == SP_TYPE_DATE || cx == SP_TYPE_TIMESTAMP)) {
        *out = *x;
        return true;
    }
    return false;
}

static enum em_code literal_as(struct translator *t, struct frag *f, enum sp_type_code code,
                               int line, int column);

static bool coerce_quiet(struct translator *t, struct frag *f, const struct sp_type *to, int line,
                         int column, enum em_code *code);

/* sp_struct(code1, v1, code2, v2, ...): a STRUCT value from its fields' storage forms. */
static const char *struct_sql(struct translator *t, const struct frag *fields, int n)
{
    struct sp_buf buf = {0};
    sp_buf_puts(&buf, "sp_struct(");
    for (int i = 0; i < n; i++)
        sp_buf_printf(&buf, "%s%d, %s", i ? ", " : "", fields[i].type.code, fields[i].sql);
    sp_buf_puts(&buf, ")");
    return finish_sql(t, &buf);
}

/* A STRUCT constructor coerced to another STRUCT type field by field. */
static bool coerce_struct_literal(struct translator *t, struct frag *f, const struct sp_type *to,
                                  int line, int column, enum em_code *code)
{
    const struct sp_struct_type *want = to->struct_type;
    if (f->type.code != SP_TYPE_STRUCT || !want || want->count != f->nfields)
        return false;
    struct frag *fields = sp_arena_alloc(t->arena, (size_t)(f->nfields + 1) * sizeof(*fields));
    if (!fields) {
        *code = EM_FAIL_OOM(t->st);
        return false;
    }
    for (int i = 0; i < f->nfields; i++) {
        fields[i] = f->fields[i];
        if (fields[i].null_literal)
            fields[i].type = want->fields[i].type;
        else if (!coerce_quiet(t, &fields[i], &want->fields[i].type, line, column, code))
            return false;
    }
    f->sql = struct_sql(t, fields, f->nfields);
    if (!f->sql) {
        *code = t->st->code;
        return false;
    }
    f->fields = fields;
    f->type = *to;
    return true;
}

/* Converts f to type `to` if GoogleSQL coerces implicitly; false otherwise. */
static bool coerce_quiet(struct translator *t, struct frag *f, const struct sp_type *to, int line,
                         int column, enum em_code *code)
{
    *code = EM_OK;
    if (to->code == SP_TYPE_UNKNOWN)
        return true;
    if (is_open(f)) {
        if (f->param >= 0)
            t->params[f->param].type = *to;
        f->type = *to;
        f->param = -1;
        f->null_literal = false;
        return true;
    }
    if (sp_type_equal(&f->type, to))
        return true;
    if (f->fields && to->code == SP_TYPE_STRUCT)
        return coerce_struct_literal(t, f, to, line, column, code);
    if (f->empty_array && to->code == SP_TYPE_ARRAY) { /* '[]' stores any empty array */
        f->type = *to;
        f->empty_array = false;
        return true;
    }
    enum sp_type_code from = f->type.code;
    if (from == SP_TYPE_INT64 && is_float(to->code)) {
        f->sql = sqlf(t, "CAST(%s AS REAL)", f->sql);
    } else if (from == SP_TYPE_FLOAT32 && to->code == SP_TYPE_FLOAT64) {
        /* same storage */
    } else if ((from == SP_TYPE_INT64 && to->code == SP_TYPE_NUMERIC) ||
               (from == SP_TYPE_NUMERIC && is_float(to->code)) ||
               (from == SP_TYPE_FLOAT64 && f->float_literal && to->code == SP_TYPE_FLOAT32)) {
        f->sql = sqlf(t, "sp_cast(%s, %d, %d, 0)", f->sql, from, to->code);
    } else if (from == SP_TYPE_FLOAT64 && f->float_literal && to->code == SP_TYPE_NUMERIC) {
        struct sp_buf text = {0}; /* the literal's own digits, as CAST('1.5' AS NUMERIC) */
        sp_buf_string(&text, f->float_literal, strlen(f->float_literal));
        const char *quoted = finish_sql(t, &text);
        f->sql =
            quoted ? sqlf(t, "sp_cast(%s, %d, %d, 0)", quoted, SP_TYPE_STRING, to->code) : NULL;
    } else if (f->string_literal && (to->code == SP_TYPE_DATE || to->code == SP_TYPE_TIMESTAMP)) {
        *code = literal_as(t, f, to->code, line, column);
        return *code == EM_OK;
    } else {
        return false;
    }
    if (!f->sql) {
        *code = t->st->code;
        return false;
    }
    f->type = *to;
    f->string_literal = NULL;
    f->float_literal = NULL;
    return true;
}

static enum em_code coerce(struct translator *t, struct frag *f, const struct sp_type *to, int line,
                           int column, const char *context)
{
    enum em_code code;
    if (coerce_quiet(t, f, to, line, column, &code))
        return EM_OK;
    if (code)
        return code;
    char have[48], want[48];
    return fail_at(t, line, column, EM_INVALID_ARGUMENT, "%s expects %s, got %s", context,
                   type_name(to, want, sizeof(want)), type_name(&f->type, have, sizeof(have)));
}

/* Gives an expression whose type is still open (NULL, untyped parameter) a default. */
static void settle(struct translator *t, struct frag *f, enum sp_type_code fallback)
{
    if (!is_open(f))
        return;
    if (f->param >= 0)
        fallback = SP_TYPE_STRING; /* an untyped parameter nothing constrains: its JSON string */
    struct sp_type type = {fallback, SP_TYPE_UNKNOWN, fallback == SP_TYPE_STRING ? SP_LEN_MAX : 0};
    if (f->param >= 0)
        t->params[f->param].type = type;
    f->type = type;
    f->param = -1;
}

/* ---- scopes and names ---- */

static enum em_code scope_add(struct translator *t, struct scope *scope, struct scope_source *src)
{
    struct scope_source **sources =
        sp_arena_alloc(t->arena, (size_t)(scope->nsources + 1) * sizeof(*sources));
    if (!sources)
        return EM_FAIL_OOM(t->st);
    if (scope->nsources)
        memcpy(sources, scope->sources, (size_t)scope->nsources * sizeof(*sources));
    sources[scope->nsources++] = src;
    scope->sources = sources;
    return EM_OK;
}

/* A source for a schema table: columns read as "<alias>"."<col>", or <prefix>."<col>". */
static struct scope_source *table_source(struct translator *t, const struct sp_table *table,
                                         const char *alias, const char *qualifier_sql)
{
    struct scope_source *src = sp_arena_alloc(t->arena, sizeof(*src));
    struct scope_column *cols =
        sp_arena_alloc(t->arena, (size_t)(table->ncolumns ? table->ncolumns : 1) * sizeof(*cols));
    if (!src || !cols) {
        EM_FAIL_OOM(t->st);
        return NULL;
    }
    src->alias = alias;
    src->sql_alias = qualifier_sql;
    src->columns = cols;
    src->ncolumns = table->ncolumns;
    for (int i = 0; i < table->ncolumns; i++) {
        const struct sp_column *c = &table->columns[i];
        const char *name = quote_ident(t, c->name);
        cols[i].name = c->name;
        cols[i].type = c->type;
        cols[i].sql = qualifier_sql ? sqlf(t, "%s.%s", qualifier_sql, name ? name : "") : name;
        cols[i].unqualified_sql = cols[i].sql;
        cols[i].not_in_star = c->hidden;
        cols[i].table = table;
        if (!cols[i].sql) {
            EM_FAIL_OOM(t->st);
            return NULL;
        }
    }
    return src;
}

static const struct scope_column *find_in_source(const struct scope_source *src, const char *name,
                                                 bool qualified)
{
    for (int i = 0; i < src->ncolumns; i++)
        if (src->columns[i].name[0] && strcasecmp(src->columns[i].name, name) == 0 &&
            (qualified || !src->columns[i].hidden))
            return &src->columns[i];
    return NULL;
}

/* Resolves [qualifier.]name in scope and its outer scopes. *local says whether it was
 * found in the innermost scope (grouping applies only there). */
/* The column of a range variable named name in scope s (not its outer scopes), if any. */
static const struct scope_column *range_variable(const struct scope *s, const char *name)
{
    for (int i = 0; i < s->nsources; i++)
        if (s->sources[i]->range_variable && strcasecmp(s->sources[i]->alias, name) == 0)
            return &s->sources[i]->columns[0];
    return NULL;
}

static enum em_code resolve_column(struct translator *t, const struct scope *scope,
                                   const struct sp_expr *e, const struct scope_column **out,
                                   const char **sql, bool *local)
{
    for (const struct scope *s = scope; s; s = s->outer) {
        const struct scope_column *found = e->qualifier ? NULL : range_variable(s, e->name);
        if (found) {
            *out = found;
            *sql = found->sql;
            *local = s == scope;
            return note_read(t, found);
        }
        for (int i = 0; i < s->nsources; i++) {
            const struct scope_source *src = s->sources[i];
            if (e->qualifier) {
                if (!src->alias || strcasecmp(src->alias, e->qualifier) != 0)
                    continue;
                found = find_in_source(src, e->name, true);
                if (!found)
                    return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Name %s not found inside %s",
                                   e->name, e->qualifier);
                *sql = found->sql;
                break;
            }
            const struct scope_column *c = find_in_source(src, e->name, false);
            if (c && t->strict_names)
                return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                               "Alias %s cannot be used without a qualifier in strict name "
                               "resolution mode",
                               e->name);
            if (c && found && c->unqualified_sql != found->unqualified_sql)
                return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Column name %s is ambiguous", e->name);
            if (c && !found) {
                found = c;
                *sql = c->unqualified_sql;
            }
        }
        if (found) {
            *out = found;
            *local = s == scope;
            return note_read(t, found);
        }
    }
    if (e->qualifier)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unrecognized name: %s", e->qualifier);
    return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unrecognized name: %s", e->name);
}

/* ---- expressions ---- */

static enum em_code expr(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                         struct frag *out);
static enum em_code translate_query(struct translator *t, const struct scope *outer,
                                    const struct sp_query *q, const char **sql,
                                    struct sp_result_column **cols, int *ncols);

static enum em_code literal_as(struct translator *t, struct frag *f, enum sp_type_code code,
                               int line, int column)
{
    const char *text = f->string_literal;
    char key[SP_TIMESTAMP_KEY_LEN + 1];
    if (code == SP_TYPE_DATE) {
        int64_t days;
        if (!sp_date_parse(text, &days))
            return fail_at(t, line, column, EM_INVALID_ARGUMENT, "Invalid DATE literal: \"%s\"",
                           text);
        sp_date_format(days, key);
    } else {
        struct sp_timestamp ts;
        if (!sp_timestamp_parse_text(text, NULL, &ts))
            return fail_at(t, line, column, EM_INVALID_ARGUMENT,
                           "Invalid TIMESTAMP literal: \"%s\"", text);
        sp_timestamp_encode(&ts, key);
    }
    struct sp_buf buf = {0};
    sp_buf_string(&buf, key, strlen(key));
    *f = typed(finish_sql(t, &buf), code);
    return f->sql ? EM_OK : t->st->code;
}

static enum em_code int_literal(struct translator *t, const struct sp_expr *e, struct frag *out)
{
    const char *text = e->text;
    bool negative = text[0] == '-';
    const char *digits = negative ? text + 1 : text;
    unsigned long long magnitude;
    char *end;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        magnitude = strtoull(digits + 2, &end, 16);
    else
        magnitude = strtoull(digits, &end, 10);
    bool too_big = *end != '\0' || (negative ? magnitude > 9223372036854775808ULL
                                             : magnitude > 9223372036854775807ULL);
    if (too_big || (magnitude == 18446744073709551615ULL))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Invalid integer literal: %s", text);
    long long value = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    /* -9223372036854775808 has no positive SQLite literal: write it as an expression */
    *out = typed(value == (-9223372036854775807LL - 1) ? "(-9223372036854775807 - 1)"
                                                       : sqlf(t, "%lld", value),
                 SP_TYPE_INT64);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code literal(struct translator *t, const struct sp_expr *e, struct frag *out)
{
    struct sp_buf buf = {0};
    switch (e->lit) {
    case SP_TOK_INT:
        return int_literal(t, e, out);
    case SP_TOK_FLOAT: {
        char *end;
        double d = strtod(e->text, &end);
        (void)d;
        *out = typed(sqlf(t, "%s", e->text), SP_TYPE_FLOAT64);
        out->float_literal = e->text;
        /* SQLite reads "1." and ".5" fine; write exponent-only forms with a mantissa dot */
        return out->sql ? EM_OK : t->st->code;
    }
    case SP_TOK_STRING:
        sp_buf_string(&buf, e->text, e->text_len);
        *out = typed(finish_sql(t, &buf), SP_TYPE_STRING);
        out->type.length = SP_LEN_MAX;
        out->string_literal = e->text;
        out->string_len = e->text_len;
        return out->sql ? EM_OK : t->st->code;
    case SP_TOK_BYTES:
        sp_buf_blob(&buf, (const unsigned char *)e->text, e->text_len);
        *out = typed(finish_sql(t, &buf), SP_TYPE_BYTES);
        out->type.length = SP_LEN_MAX;
        return out->sql ? EM_OK : t->st->code;
    default:
        return FAIL_AT(t, e, EM_INTERNAL, "Unexpected literal");
    }
}

/* Whether a NUMERIC literal's value needs at most 9 digits after the point, as Spanner
 * requires of a literal (NUMERIC '1.5e-9' is invalid; CAST('1.5e-9' AS NUMERIC) rounds).
 * text is one sp_numeric_parse accepted. */
static bool numeric_literal_exact(const char *text)
{
    const char *exponent = strpbrk(text, "eE");
    long exp = exponent ? strtol(exponent + 1, NULL, 10) : 0;
    const char *end = exponent ? exponent : text + strlen(text);
    long digits = 0, integer_digits = -1, last_nonzero = -1;
    for (const char *p = text; p < end; p++) {
        if (*p == '.') {
            integer_digits = digits;
        } else if (*p >= '0' && *p <= '9') { /* not the sign */
            if (*p != '0')
                last_nonzero = digits;
            digits++;
        }
    }
    if (last_nonzero < 0)
        return true; /* zero */
    if (integer_digits < 0)
        integer_digits = digits;
    /* the last non-zero digit's place after the point, less the exponent */
    return last_nonzero + 1 - integer_digits - exp <= 9;
}

static enum em_code typed_literal(struct translator *t, const struct sp_expr *e, struct frag *out)
{
    struct sp_buf buf = {0};
    const char *name = sp_type_code_name(e->type.code);
    if (e->type.code == SP_TYPE_DATE || e->type.code == SP_TYPE_TIMESTAMP) {
        struct frag f = typed("", SP_TYPE_STRING);
        f.string_literal = e->text;
        if (literal_as(t, &f, e->type.code, e->line, e->column))
            return t->st->code;
        *out = f;
        return EM_OK;
    }
    if (e->type.code == SP_TYPE_NUMERIC) {
        sp_numeric n;
        char key[SP_NUMERIC_KEY_LEN + 1];
        if (!sp_numeric_parse(e->text, &n) || !numeric_literal_exact(e->text))
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Invalid %s literal: \"%s\"", name, e->text);
        sp_numeric_encode(n, key);
        sp_buf_string(&buf, key, strlen(key));
    } else {
        char *text = sp_json_normalize(e->text, e->text_len);
        if (!text)
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Invalid %s literal: \"%s\"", name, e->text);
        sp_buf_string(&buf, text, strlen(text));
        free(text);
    }
    *out = typed(finish_sql(t, &buf), e->type.code);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code param(struct translator *t, const struct sp_expr *e, struct frag *out)
{
    const struct sp_type *declared;
    int index = param_index(t, e->name, &declared);
    if (index < 0)
        return EM_FAIL_OOM(t->st);
    *out = typed(sqlf(t, "?%d", index + 1), t->params[index].type.code);
    out->type = t->params[index].type;
    out->param = is_open(out) ? index : -1;
    return out->sql ? EM_OK : t->st->code;
}

static bool grouped(const struct translator *t, const char *sql)
{
    for (int i = 0; i < t->ngroup; i++)
        if (strcmp(t->group_sql[i], sql) == 0)
            return true;
    return false;
}

static bool is_source_alias(const struct scope *scope, const char *name);
static enum em_code struct_column_field(struct translator *t, const struct scope *scope,
                                        const struct sp_expr *e, struct frag *out);

/* In HAVING a SELECT-list alias names its item before any column of the FROM clause does
 * (`SELECT SUM(N) AS N ... HAVING N > 3`, as ZetaSQL resolves it): *found false when name
 * is no alias, else the item translated in its place. */
static enum em_code having_alias(struct translator *t, const struct scope *scope,
                                 const struct sp_expr *e, struct frag *out, bool *found)
{
    const struct sp_select *s = t->having_select;
    *found = false;
    if (!s || e->qualifier || scope != t->grouping_scope)
        return EM_OK;
    for (int k = 0; k < s->nitems; k++) {
        if (s->items[k].star || !s->items[k].alias || strcasecmp(s->items[k].alias, e->name) != 0)
            continue;
        *found = true;
        t->having_select = NULL; /* the item's own names are the FROM clause's */
        enum em_code code = expr(t, scope, s->items[k].expr, out);
        t->having_select = s;
        return code;
    }
    return EM_OK;
}

/* The FROM source a bare name is the alias of, GoogleSQL's range variable: scope by scope
 * from the innermost, an alias before the columns of its scope (`t` is the table, not a
 * column T, in `FROM T AS t, U`); NULL when a column (or a value table's range variable)
 * comes first or nothing has the name. *local: found in the innermost scope. */
static const struct scope_source *aliased_source(const struct scope *scope, const char *name,
                                                 bool *local)
{
    for (const struct scope *s = scope; s; s = s->outer) {
        if (range_variable(s, name))
            return NULL;
        for (int i = 0; i < s->nsources; i++)
            if (s->sources[i]->alias && !s->sources[i]->range_variable &&
                !s->sources[i]->scalar_values && strcasecmp(s->sources[i]->alias, name) == 0) {
                *local = s == scope;
                return s->sources[i];
            }
        for (int i = 0; i < s->nsources; i++)
            if (find_in_source(s->sources[i], name, false))
                return NULL;
    }
    return NULL;
}

/* A FROM alias used as a value (`TO_JSON(t)` over `FROM Singers AS t`): a STRUCT of the
 * source's columns, hidden ones left out, as GoogleSQL reads a table's range variable. */
static enum em_code source_value(struct translator *t, const struct sp_expr *e,
                                 const struct scope_source *src, bool local, struct frag *out)
{
    struct frag *fields = sp_arena_alloc(t->arena, (size_t)(src->ncolumns + 1) * sizeof(*fields));
    struct sp_struct_field *list =
        sp_arena_alloc(t->arena, (size_t)(src->ncolumns + 1) * sizeof(*list));
    struct sp_struct_type *type = sp_arena_alloc(t->arena, sizeof(*type));
    if (!fields || !list || !type)
        return EM_FAIL_OOM(t->st);
    int n = 0;
    for (int i = 0; i < src->ncolumns; i++) {
        const struct scope_column *c = &src->columns[i];
        if (!c->name[0] || c->not_in_star)
            continue;
        if (note_read(t, c))
            return t->st->code;
        if (t->check_grouping && !t->in_aggregate && local && !grouped(t, c->sql))
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "%s expression references column %s which is neither grouped nor "
                           "aggregated",
                           t->clause, c->name);
        fields[n] = typed(c->sql, c->type.code);
        fields[n].type = c->type;
        list[n].name = c->name;
        list[n].type = c->type;
        n++;
    }
    type->count = n;
    type->fields = list;
    *out = typed(struct_sql(t, fields, n), SP_TYPE_STRUCT);
    out->type.struct_type = type;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code column(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                           struct frag *out)
{
    const struct scope_column *c;
    const char *sql;
    bool local, alias;
    if (having_alias(t, scope, e, out, &alias) || alias)
        return t->st->code;
    const struct scope_source *source =
        e->qualifier ? NULL : aliased_source(scope, e->name, &local);
    if (source)
        return source_value(t, e, source, local, out);
    if (e->qualifier && !is_source_alias(scope, e->qualifier))
        return struct_column_field(t, scope, e, out);
    if (resolve_column(t, scope, e, &c, &sql, &local))
        return t->st->code;
    if (t->check_grouping && !t->in_aggregate && scope == t->grouping_scope && local &&
        !grouped(t, sql))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "%s expression references column %s which is neither grouped nor "
                       "aggregated",
                       t->clause, e->name);
    *out = typed(sql, c->type.code);
    out->type = c->type;
    return EM_OK;
}

static enum em_code args_of(struct translator *t, const struct scope *scope,
                            const struct sp_expr *e, struct frag *frags)
{
    bool parts = t->parts_allowed, mode = t->normalize_mode;
    int part_index = t->part_index;
    t->parts_allowed = t->normalize_mode = false;
    for (int i = 0; i < e->nargs; i++) {
        const struct sp_expr *arg = e->args[i];
        if (mode && i == 1 && arg->kind == SP_EXPR_COLUMN && !arg->qualifier) {
            frags[i] = typed("", SP_TYPE_UNKNOWN); /* checked by fn_normalize */
            frags[i].part = arg->name;
            continue;
        }
        if (parts && arg->kind == SP_EXPR_DATE_PART && i == part_index) {
            frags[i] = typed("", SP_TYPE_UNKNOWN);
            frags[i].part = arg->name;
            continue;
        }
        if (parts && arg->kind == SP_EXPR_INTERVAL) {
            static const struct sp_type int64 = {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0};
            if (expr(t, scope, arg->args[0], &frags[i]) ||
                coerce(t, &frags[i], &int64, arg->line, arg->column, "INTERVAL"))
                return t->st->code;
            frags[i].part = arg->name;
            continue;
        }
        if (expr(t, scope, arg, &frags[i]))
            return t->st->code;
    }
    return EM_OK;
}

static enum em_code no_signature(struct translator *t, const struct sp_expr *e, const char *op,
                                 const struct frag *args, int nargs)
{
    char list[256] = "";
    for (int i = 0; i < nargs; i++) {
        char one[48];
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                 type_name(&args[i].type, one, sizeof(one)));
    }
    bool bare = strcmp(op, "function") == 0; /* "function" alone: the call's own name follows */
    return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                   "No matching signature for %s%s%s for argument types: %s", op, bare ? " " : "",
                   bare ? e->name : "", list);
}

/* The common supertype of two STRUCTs with as many fields: field by field, where a NULL
 * field of a constructor takes the other's type (the names are a's). The merged fields
 * replace a's, so a NULL field stays open for the next operand. */
static bool struct_supertype(struct translator *t, struct frag *a, const struct frag *b,
                             struct sp_type *out, enum em_code *code)
{
    const struct sp_struct_type *x = a->type.struct_type, *y = b->type.struct_type;
    if (a->type.code != SP_TYPE_STRUCT || b->type.code != SP_TYPE_STRUCT || !x || !y ||
        x->count != y->count)
        return false;
    struct sp_struct_field *fields =
        sp_arena_alloc(t->arena, (size_t)(x->count + 1) * sizeof(*fields));
    struct frag *merged = sp_arena_alloc(t->arena, (size_t)(x->count + 1) * sizeof(*merged));
    struct sp_struct_type *type = sp_arena_alloc(t->arena, sizeof(*type));
    if (!fields || !merged || !type) {
        *code = EM_FAIL_OOM(t->st);
        return false;
    }
    for (int i = 0; i < x->count; i++) {
        struct frag fa = a->fields ? a->fields[i] : typed("", x->fields[i].type.code);
        struct frag fb = b->fields ? b->fields[i] : typed("", y->fields[i].type.code);
        if (!a->fields)
            fa.type = x->fields[i].type;
        if (!b->fields)
            fb.type = y->fields[i].type;
        fields[i].name = x->fields[i].name;
        if (fa.null_literal)
            fields[i].type = fb.type;
        else if (fb.null_literal || sp_type_equal(&fa.type, &fb.type))
            fields[i].type = fa.type;
        else if (!supertype(&fa, &fb, &fields[i].type) &&
                 !struct_supertype(t, &fa, &fb, &fields[i].type, code))
            return false;
        merged[i] = fa;
        merged[i].type = fields[i].type;
        merged[i].null_literal = fa.null_literal && fb.null_literal;
    }
    type->count = x->count;
    type->fields = fields;
    *out = (struct sp_type){SP_TYPE_STRUCT, SP_TYPE_UNKNOWN, 0, type};
    a->fields = merged;
    a->nfields = x->count;
    return true;
}

/* Brings every fragment to their common supertype; false (with the error) when none. */
static enum em_code unify(struct translator *t, const struct sp_expr *e, const char *op,
                          struct frag *args, int nargs, struct sp_type *common)
{
    struct frag acc = args[0];
    for (int i = 1; i < nargs; i++) {
        struct sp_type next;
        enum em_code code = EM_OK;
        if (!supertype(&acc, &args[i], &next) && !struct_supertype(t, &acc, &args[i], &next, &code))
            return code ? code : no_signature(t, e, op, args, nargs);
        acc.type = next;
        acc.string_literal =
            acc.string_literal && args[i].string_literal ? acc.string_literal : NULL;
        acc.float_literal = args[i].float_literal ? acc.float_literal : NULL;
        acc.empty_array = acc.empty_array && args[i].empty_array;
        if (!is_open(&args[i]))
            acc.param = -1, acc.null_literal = false;
    }
    *common = acc.type;
    for (int i = 0; i < nargs; i++) {
        enum em_code code;
        if (!coerce_quiet(t, &args[i], common, e->line, e->column, &code))
            return code ? code : no_signature(t, e, op, args, nargs);
    }
    return EM_OK;
}

/* ---- STRUCTs (stored as the JSON list of their fields, see spanner_value.h) ---- */

static bool comparable(enum sp_type_code code)
{
    return code != SP_TYPE_JSON && code != SP_TYPE_ARRAY && code != SP_TYPE_STRUCT;
}

/* Whether values of the type support = and != (a STRUCT: when all its fields do). */
static bool equality_comparable(const struct sp_type *type)
{
    if (type->code != SP_TYPE_STRUCT)
        return comparable(type->code);
    for (int i = 0; type->struct_type && i < type->struct_type->count; i++)
        if (!equality_comparable(&type->struct_type->fields[i].type))
            return false;
    return true;
}

/* The name a STRUCT constructor gives field i: its AS name, else the name of a column or
 * field it reads (STRUCT(K, t.S) has fields K and S); the tuple (a, b) names none. */
static const char *constructor_field_name(const struct sp_expr *e, int i)
{
    if (e->field_names && e->field_names[i])
        return e->field_names[i];
    const struct sp_expr *arg = e->args[i];
    if (!e->tuple && (arg->kind == SP_EXPR_COLUMN || arg->kind == SP_EXPR_FIELD))
        return arg->name;
    return "";
}

/* STRUCT(a [AS x], ...), STRUCT<x T, ...>(a, ...) and the tuple (a, b, ...). */
static enum em_code struct_constructor(struct translator *t, const struct scope *scope,
                                       const struct sp_expr *e, struct frag *out)
{
    struct frag *fields = sp_arena_alloc(t->arena, (size_t)(e->nargs + 1) * sizeof(*fields));
    struct sp_struct_field *list = sp_arena_alloc(t->arena, (size_t)(e->nargs + 1) * sizeof(*list));
    struct sp_struct_type *type = sp_arena_alloc(t->arena, sizeof(*type));
    if (!fields || !list || !type)
        return EM_FAIL_OOM(t->st);
    if (args_of(t, scope, e, fields))
        return t->st->code;
    const struct sp_struct_type *declared =
        e->type.code == SP_TYPE_STRUCT ? e->type.struct_type : NULL;
    if (declared && declared->count != e->nargs)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "STRUCT type has %d fields but constructor call has %d fields",
                       declared->count, e->nargs);
    for (int i = 0; i < e->nargs; i++) {
        const struct sp_expr *arg = e->args[i];
        if (declared) {
            char have[128], want[128];
            enum em_code code;
            list[i] = declared->fields[i];
            if (!coerce_quiet(t, &fields[i], &list[i].type, arg->line, arg->column, &code))
                return code ? code
                            : FAIL_AT(t, arg, EM_INVALID_ARGUMENT,
                                      "Struct field %d has type %s which does not coerce to %s",
                                      i + 1, type_name(&fields[i].type, have, sizeof(have)),
                                      type_name(&list[i].type, want, sizeof(want)));
            continue;
        }
        settle(t, &fields[i], SP_TYPE_INT64);
        list[i].name = constructor_field_name(e, i);
        list[i].type = fields[i].type;
    }
    type->count = e->nargs;
    type->fields = list;
    *out = typed(struct_sql(t, fields, e->nargs), SP_TYPE_STRUCT);
    out->type.struct_type = type;
    out->fields = fields;
    out->nfields = e->nargs;
    return out->sql ? EM_OK : t->st->code;
}

/* The index of the field `name` of a STRUCT type (case-insensitive), or -1 with the error. */
static int struct_field_index(struct translator *t, const struct sp_expr *at,
                              const struct sp_type *type)
{
    int found = -1;
    for (int i = 0; type->struct_type && i < type->struct_type->count; i++) {
        if (strcasecmp(type->struct_type->fields[i].name, at->name) != 0)
            continue;
        if (found >= 0) {
            FAIL_AT(t, at, EM_INVALID_ARGUMENT, "Struct field name %s is ambiguous", at->name);
            return -1;
        }
        found = i;
    }
    if (found < 0) {
        char name[256];
        FAIL_AT(t, at, EM_INVALID_ARGUMENT, "Field name %s does not exist in %s", at->name,
                type_name(type, name, sizeof(name)));
    }
    return found;
}

/* base.name, with base translated into *base. */
static enum em_code field_of(struct translator *t, const struct sp_expr *at,
                             const struct frag *base, struct frag *out)
{
    if (base->param >= 0)
        return FAIL_AT(t, at, EM_INVALID_ARGUMENT,
                       "Cannot access field %s on parameter %s whose type is unknown", at->name,
                       t->params[base->param].name);
    if (base->type.code == SP_TYPE_JSON) { /* a member of an object: JSON, NULL if none */
        struct sp_buf buf = {0};
        sp_buf_printf(&buf, "sp_json_member(%s, ", base->sql);
        sp_buf_string(&buf, at->name, strlen(at->name));
        sp_buf_puts(&buf, ")");
        *out = typed(finish_sql(t, &buf), SP_TYPE_JSON);
        return out->sql ? EM_OK : t->st->code;
    }
    if (base->type.code != SP_TYPE_STRUCT) {
        char have[128];
        return FAIL_AT(t, at, EM_INVALID_ARGUMENT, "Cannot access field %s on a value with type %s",
                       at->name, type_name(&base->type, have, sizeof(have)));
    }
    int i = struct_field_index(t, at, &base->type);
    if (i < 0)
        return t->st->code;
    if (base->fields) { /* a constructor: the field's own expression */
        *out = base->fields[i];
        return EM_OK;
    }
    const struct sp_type *type = &base->type.struct_type->fields[i].type;
    *out = typed(sqlf(t, "sp_array_at(%s, %d, %d, 0)", base->sql, i, type->code), type->code);
    out->type = *type;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code field_access(struct translator *t, const struct scope *scope,
                                 const struct sp_expr *e, struct frag *out)
{
    struct frag base;
    if (expr(t, scope, e->args[0], &base))
        return t->st->code;
    return field_of(t, e, &base, out);
}

/* Whether a FROM source in scope (or an outer one) has the alias name. */
static bool is_source_alias(const struct scope *scope, const char *name)
{
    for (const struct scope *s = scope; s; s = s->outer)
        for (int i = 0; i < s->nsources; i++)
            if (s->sources[i]->alias && strcasecmp(s->sources[i]->alias, name) == 0)
                return true;
    return false;
}

/* s.a where s is no FROM alias but a STRUCT column: the field a of column s. */
static enum em_code struct_column_field(struct translator *t, const struct scope *scope,
                                        const struct sp_expr *e, struct frag *out)
{
    struct sp_expr base = *e;
    base.qualifier = NULL;
    base.name = e->qualifier;
    struct frag f;
    if (column(t, scope, &base, &f))
        return t->st->code;
    return field_of(t, e, &f, out);
}

/* The shape sp_struct_eq reads of a STRUCT type (spanner_sql_functions.c): '(' its fields
 * ')', 'f' for a FLOAT64 or FLOAT32 field (where a NaN is unequal to itself), 's' any other. */
static void append_shape(struct sp_buf *buf, const struct sp_type *type)
{
    if (type->code != SP_TYPE_STRUCT || !type->struct_type) {
        sp_buf_puts(buf, is_float(type->code) ? "f" : "s");
        return;
    }
    sp_buf_puts(buf, "(");
    for (int i = 0; i < type->struct_type->count; i++)
        append_shape(buf, &type->struct_type->fields[i].type);
    sp_buf_puts(buf, ")");
}

/* sp_struct_eq(a, b, 'shape') on two STRUCTs of type. */
static const char *struct_eq_sql(struct translator *t, const struct sp_type *type, const char *a,
                                 const char *b)
{
    struct sp_buf shape = {0};
    append_shape(&shape, type);
    const char *shape_sql = finish_sql(t, &shape);
    return shape_sql ? sqlf(t, "sp_struct_eq(%s, %s, '%s')", a, b, shape_sql) : NULL;
}

/* a = b, a != b on STRUCTs: sp_struct_eq, field by field with SQL's three-valued logic. */
static enum em_code struct_equality(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    const char *op, struct frag *out)
{
    if (!equality_comparable(&a[0].type))
        return no_signature(t, e, op, a, 2);
    bool not_equal = strcmp(e->name, "=") != 0;
    *out = typed(sqlf(t, "(%s%s)", not_equal ? "NOT " : "",
                      struct_eq_sql(t, &a[0].type, a[0].sql, a[1].sql)),
                 SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

/* x [NOT] IN (a, b, ...) on STRUCTs: an OR of equalities (NULL when none is TRUE and one
 * is NULL, as IN). */
static enum em_code struct_in_list(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    if (!equality_comparable(&a[0].type))
        return no_signature(t, e, "operator IN", a, e->nargs);
    struct sp_buf buf = {0};
    sp_buf_printf(&buf, "(%s(", e->negated ? "NOT " : "");
    for (int i = 1; i < e->nargs; i++)
        sp_buf_printf(&buf, "%s%s", i > 1 ? " OR " : "",
                      struct_eq_sql(t, &a[0].type, a[0].sql, a[i].sql));
    sp_buf_puts(&buf, "))");
    *out = typed(finish_sql(t, &buf), SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

/* x [NOT] IN <rows>, rows a query of STRUCTs in a column named value: TRUE when one
 * equals x, else NULL when a comparison was NULL, else FALSE (no rows: FALSE). */
static enum em_code struct_in_rows(struct translator *t, const struct sp_expr *e,
                                   const struct frag *left, const char *rows_sql, struct frag *out)
{
    if (!rows_sql)
        return t->st->code;
    if (!equality_comparable(&left->type))
        return no_signature(t, e, "operator IN", left, 1);
    *out = typed(sqlf(t,
                      "(%s(SELECT CASE WHEN max(eq) THEN 1 WHEN count(*) > count(eq) THEN NULL "
                      "ELSE 0 END FROM (SELECT %s AS eq FROM (%s))))",
                      e->negated ? "NOT " : "", struct_eq_sql(t, &left->type, left->sql, "value"),
                      rows_sql),
                 SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

/* x [NOT] IN UNNEST(array of STRUCT). */
static enum em_code struct_in_unnest(struct translator *t, const struct sp_expr *e,
                                     const struct frag *left, const char *array_sql,
                                     struct frag *out)
{
    return struct_in_rows(t, e, left, sqlf(t, "SELECT value FROM json_each(%s)", array_sql), out);
}

/* The STRUCT a SELECT AS STRUCT makes of its columns: the query wrapped. */
static enum em_code select_as_struct(struct translator *t, const char **sql,
                                     struct sp_result_column **cols, int *ncols)
{
    struct sp_struct_field *list = sp_arena_alloc(t->arena, (size_t)(*ncols + 1) * sizeof(*list));
    struct sp_struct_type *type = sp_arena_alloc(t->arena, sizeof(*type));
    struct sp_result_column *one = sp_arena_alloc(t->arena, sizeof(*one));
    if (!list || !type || !one)
        return EM_FAIL_OOM(t->st);
    struct sp_buf buf = {0};
    sp_buf_puts(&buf, "SELECT sp_struct(");
    for (int i = 0; i < *ncols; i++) {
        list[i].name = (*cols)[i].name;
        list[i].type = (*cols)[i].type;
        sp_buf_printf(&buf, "%s%d, \"$c%d\"", i ? ", " : "", (*cols)[i].type.code, i + 1);
    }
    sp_buf_printf(&buf, ") AS \"$c1\" FROM (%s)", *sql);
    type->count = *ncols;
    type->fields = list;
    one->name = "";
    one->type = (struct sp_type){SP_TYPE_STRUCT, SP_TYPE_UNKNOWN, 0, type};
    *sql = finish_sql(t, &buf);
    *cols = one;
    *ncols = 1;
    return *sql ? EM_OK : t->st->code;
}

/* Spanner returns no STRUCT column (an ARRAY of STRUCT it does). */
static enum em_code check_result_columns(struct translator *t, const struct sp_query *q,
                                         const struct sp_result_column *cols, int ncols)
{
    for (int i = 0; i < ncols; i++)
        if (cols[i].type.code == SP_TYPE_STRUCT)
            return fail_at(t, q->line, q->column, EM_UNIMPLEMENTED,
                           "Unsupported query shape: A struct value cannot be returned as a "
                           "column value. Rewrite the query to flatten the struct fields in the "
                           "result.");
    return EM_OK;
}

/* A comparison of STRUCTs: = and != (<>) only, as GoogleSQL. */
static enum em_code struct_comparison(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      const char *op_text, struct frag *out)
{
    static const struct {
        const char *op, *name;
    } orders[] = {{"<", "Less than"},
                  {"<=", "Less than or equal"},
                  {">", "Greater than"},
                  {">=", "Greater than or equal"}};
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++)
        if (strcmp(e->name, orders[i].op) == 0) {
            char type[256];
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "%s is not defined for arguments of type %s",
                           orders[i].name, type_name(&a[0].type, type, sizeof(type)));
        }
    return struct_equality(t, e, a, op_text, out);
}

static enum em_code comparison(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    char op_text[32];
    snprintf(op_text, sizeof(op_text), "operator %s", e->name);
    struct sp_type common;
    if (unify(t, e, op_text, a, 2, &common))
        return t->st->code;
    settle(t, &a[0], SP_TYPE_INT64);
    settle(t, &a[1], SP_TYPE_INT64);
    if (a[0].type.code == SP_TYPE_STRUCT)
        return struct_comparison(t, e, a, op_text, out);
    if (!comparable(a[0].type.code))
        return no_signature(t, e, op_text, a, 2);
    const char *op = strcmp(e->name, "!=") == 0 ? "<>" : e->name;
    if (is_float(a[0].type.code) || is_float(a[1].type.code))
        *out = typed(float_comparison(t, op, a[0].sql, a[1].sql), SP_TYPE_BOOL);
    else
        *out = typed(sqlf(t, "(%s %s %s)", a[0].sql, op, a[1].sql), SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

/* Operands a chain takes before it nests: SQLite allows 127 arguments to a function. */
#define CHAIN_MAX 100

/* a[0] op a[1] for an associative operator written open + operands joined by join + ")":
 * "(x OR y)", "sp_int64_add(x, y)". When a[0] is a chain of the same operator its text is
 * continued, "(x OR y OR z)", instead of nested, "((x OR y) OR z)": SQLite's parser holds
 * about 100 levels, and a WHERE of a hundred ORs (or 40 additions) must not reach them. */
static struct frag chain(struct translator *t, const char *open, const char *join,
                         const struct frag *a, enum sp_type_code code)
{
    const struct frag *left = &a[0];
    bool continues = left->sql && left->sql == left->chain_sql && left->chain_len < CHAIN_MAX &&
                     strcmp(left->chain_open, open) == 0 && strcmp(left->chain_join, join) == 0;
    const char *sql =
        continues ? sqlf(t, "%.*s%s%s)", (int)strlen(left->sql) - 1, left->sql, join, a[1].sql)
                  : sqlf(t, "%s%s%s%s)", open, left->sql, join, a[1].sql);
    struct frag f = typed(sql, code);
    f.chain_sql = sql;
    f.chain_open = open;
    f.chain_join = join;
    f.chain_len = continues ? left->chain_len + 1 : 2;
    return f;
}

static enum em_code logical(struct translator *t, const struct sp_expr *e, struct frag *a,
                            struct frag *out)
{
    static const struct sp_type boolean = {SP_TYPE_BOOL, SP_TYPE_UNKNOWN, 0};
    for (int i = 0; i < 2; i++) {
        enum em_code code;
        if (!coerce_quiet(t, &a[i], &boolean, e->line, e->column, &code))
            return code ? code
                        : no_signature(t, e,
                                       strcmp(e->name, "AND") == 0 ? "operator AND" : "operator OR",
                                       a, 2);
    }
    *out = chain(t, "(", strcmp(e->name, "AND") == 0 ? " AND " : " OR ", a, SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code arithmetic(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    const char *op = e->name;
    char op_text[32];
    snprintf(op_text, sizeof(op_text), "operator %s", op);
    for (int i = 0; i < 2; i++) {
        if (!is_open(&a[i]) && !sp_type_is_numeric(a[i].type.code))
            return no_signature(t, e, op_text, a, 2);
        if (a[i].type.code == SP_TYPE_FLOAT32) /* no FLOAT32 signature: FLOAT64, same storage */
            a[i].type.code = SP_TYPE_FLOAT64;
    }
    struct sp_type common;
    if (unify(t, e, op_text, a, 2, &common))
        return t->st->code;
    if (is_open(&a[0])) {
        settle(t, &a[0], SP_TYPE_INT64);
        settle(t, &a[1], SP_TYPE_INT64);
        common = a[0].type;
    }
    if (strcmp(op, "/") == 0 && common.code == SP_TYPE_INT64) {
        static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
        enum em_code code;
        coerce_quiet(t, &a[0], &f64, e->line, e->column, &code);
        coerce_quiet(t, &a[1], &f64, e->line, e->column, &code);
        common = f64;
    }
    const char *name = strcmp(op, "+") == 0   ? "add"
                       : strcmp(op, "-") == 0 ? "sub"
                       : strcmp(op, "*") == 0 ? "mul"
                                              : "div";
    if (common.code == SP_TYPE_NUMERIC)
        *out = typed(sqlf(t, "sp_numeric_%s(%s, %s)", name, a[0].sql, a[1].sql), SP_TYPE_NUMERIC);
    else if (common.code == SP_TYPE_INT64) /* sp_int64_* and sp_float64_* take chains */
        *out = chain(t, sqlf(t, "sp_int64_%s(", name), ", ", a, SP_TYPE_INT64);
    else
        *out = chain(t, sqlf(t, "sp_float64_%s(", name), ", ", a, common.code);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code bitwise(struct translator *t, const struct sp_expr *e, struct frag *a,
                            struct frag *out)
{
    static const struct sp_type int64 = {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0};
    char op_text[32];
    snprintf(op_text, sizeof(op_text), "operator %s", e->name);
    for (int i = 0; i < 2; i++) {
        enum em_code code;
        if (a[i].type.code != SP_TYPE_INT64 &&
            !(is_open(&a[i]) && coerce_quiet(t, &a[i], &int64, e->line, e->column, &code)))
            return no_signature(t, e, op_text, a, 2);
    }
    if (strcmp(e->name, "^") == 0)
        *out = typed(sqlf(t, "((%s | %s) & ~(%s & %s))", a[0].sql, a[1].sql, a[0].sql, a[1].sql),
                     SP_TYPE_INT64);
    else if (strcmp(e->name, "<<") == 0 || strcmp(e->name, ">>") == 0)
        *out = typed(
            sqlf(t, "sp_int64_shift(%s, %s, %d)", a[0].sql, a[1].sql, strcmp(e->name, "<<") == 0),
            SP_TYPE_INT64);
    else
        *out = typed(sqlf(t, "(%s %s %s)", a[0].sql, e->name, a[1].sql), SP_TYPE_INT64);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code concat_op(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    struct sp_type common;
    if (a[0].null_literal || a[1].null_literal)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Operands of || cannot be literal NULL");
    if (unify(t, e, "operator ||", a, 2, &common))
        return t->st->code;
    settle(t, &a[0], SP_TYPE_STRING);
    settle(t, &a[1], SP_TYPE_STRING);
    if (a[0].type.code == SP_TYPE_STRING)
        *out = chain(t, "sp_concat(", ", ", a, SP_TYPE_STRING);
    else if (a[0].type.code == SP_TYPE_BYTES)
        *out = typed(sqlf(t, "sp_bytes_concat(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_BYTES);
    else if (a[0].type.code == SP_TYPE_ARRAY) /* ARRAY_CONCAT's */
        *out = typed(sqlf(t, "sp_array_concat(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_ARRAY);
    else
        return no_signature(t, e, "operator ||", a, 2);
    if (a[0].type.code == SP_TYPE_ARRAY)
        out->type = common;
    else
        out->type.length = SP_LEN_MAX;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code binary(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                           struct frag *out)
{
    struct frag a[2];
    if (args_of(t, scope, e, a))
        return t->st->code;
    const char *op = e->name;
    if (strcmp(op, "AND") == 0 || strcmp(op, "OR") == 0)
        return logical(t, e, a, out);
    if (strchr("=<>!", op[0]) && strcmp(op, "<<") != 0 && strcmp(op, ">>") != 0)
        return comparison(t, e, a, out);
    if (strcmp(op, "||") == 0)
        return concat_op(t, e, a, out);
    if (strchr("&|^", op[0]) || strcmp(op, "<<") == 0 || strcmp(op, ">>") == 0)
        return bitwise(t, e, a, out);
    return arithmetic(t, e, a, out);
}

static enum em_code unary(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                          struct frag *out)
{
    struct frag a;
    if (expr(t, scope, e->args[0], &a))
        return t->st->code;
    if (strcmp(e->name, "NOT") == 0) {
        static const struct sp_type boolean = {SP_TYPE_BOOL, SP_TYPE_UNKNOWN, 0};
        enum em_code code;
        if (!coerce_quiet(t, &a, &boolean, e->line, e->column, &code))
            return code ? code : no_signature(t, e, "operator NOT", &a, 1);
        *out = typed(sqlf(t, "(NOT %s)", a.sql), SP_TYPE_BOOL);
        return out->sql ? EM_OK : t->st->code;
    }
    settle(t, &a, SP_TYPE_INT64);
    if (strcmp(e->name, "~") == 0) {
        if (a.type.code != SP_TYPE_INT64)
            return no_signature(t, e, "operator ~", &a, 1);
        *out = typed(sqlf(t, "(~%s)", a.sql), SP_TYPE_INT64);
        return out->sql ? EM_OK : t->st->code;
    }
    if (!sp_type_is_numeric(a.type.code))
        return no_signature(t, e, strcmp(e->name, "-") == 0 ? "operator -" : "operator +", &a, 1);
    if (strcmp(e->name, "+") == 0) {
        *out = a;
        return EM_OK;
    }
    if (a.type.code == SP_TYPE_INT64)
        *out = typed(sqlf(t, "sp_int64_neg(%s)", a.sql), SP_TYPE_INT64);
    else if (a.type.code == SP_TYPE_NUMERIC)
        *out = typed(sqlf(t, "sp_numeric_neg(%s)", a.sql), SP_TYPE_NUMERIC);
    else
        *out = typed(sqlf(t, "sp_float64_neg(%s)", a.sql), a.type.code);
    if (a.float_literal) /* -1.5 is still a literal */
        out->float_literal =
            a.float_literal[0] == '-' ? a.float_literal + 1 : sqlf(t, "-%s", a.float_literal);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code is_test(struct translator *t, const struct scope *scope,
                            const struct sp_expr *e, struct frag *out)
{
    struct frag a;
    if (expr(t, scope, e->args[0], &a))
        return t->st->code;
    const char *not = e->negated ? " NOT" : "";
    if (strcmp(e->name, "NULL") == 0) {
        settle(t, &a, SP_TYPE_INT64);
        *out = typed(sqlf(t, "(%s IS%s NULL)", a.sql, not ), SP_TYPE_BOOL);
        return out->sql ? EM_OK : t->st->code;
    }
    static const struct sp_type boolean = {SP_TYPE_BOOL, SP_TYPE_UNKNOWN, 0};
    enum em_code code;
    if (!coerce_quiet(t, &a, &boolean, e->line, e->column, &code))
        return code ? code : no_signature(t, e, "operator IS", &a, 1);
    *out = typed(sqlf(t, "(%s IS%s %s)", a.sql, not, e->name), SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code like(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                         struct frag *out)
{
    struct frag a[2];
    struct sp_type common;
    if (args_of(t, scope, e, a))
        return t->st->code;
    for (int i = 0; i < 2; i++)
        if (a[i].null_literal) /* Spanner's analyzer refuses it */
            return FAIL_AT(t, e->args[i], EM_INVALID_ARGUMENT,
                           "Operands of LIKE cannot be literal NULL");
    if (unify(t, e, "operator LIKE", a, 2, &common))
        return t->st->code;
    settle(t, &a[0], SP_TYPE_STRING);
    settle(t, &a[1], SP_TYPE_STRING);
    if (a[0].type.code != SP_TYPE_STRING && a[0].type.code != SP_TYPE_BYTES)
        return no_signature(t, e, "operator LIKE", a, 2);
    *out = typed(sqlf(t, "(%ssp_like(%s, %s))", e->negated ? "NOT " : "", a[0].sql, a[1].sql),
                 SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code between(struct translator *t, const struct scope *scope,
                            const struct sp_expr *e, struct frag *out)
{
    struct frag a[3];
    struct sp_type common;
    if (args_of(t, scope, e, a) || unify(t, e, "operator BETWEEN", a, 3, &common))
        return t->st->code;
    for (int i = 0; i < 3; i++)
        settle(t, &a[i], SP_TYPE_INT64);
    if (!comparable(a[0].type.code))
        return no_signature(t, e, "operator BETWEEN", a, 3);
    if (is_float(a[0].type.code)) {
        *out = typed(sqlf(t, "(%s(%s AND %s))", e->negated ? "NOT " : "",
                          float_comparison(t, ">=", a[0].sql, a[1].sql),
                          float_comparison(t, "<=", a[0].sql, a[2].sql)),
                     SP_TYPE_BOOL);
        return out->sql ? EM_OK : t->st->code;
    }
    *out = typed(
        sqlf(t, "(%s %sBETWEEN %s AND %s)", a[0].sql, e->negated ? "NOT " : "", a[1].sql, a[2].sql),
        SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code subquery_single(struct translator *t, const struct scope *scope,
                                    const struct sp_expr *e, const char **sql,
                                    struct sp_type *type);

/* The element type of an ARRAY fragment; an open one (untyped parameter, NULL) becomes
 * ARRAY<fallback>. */
static enum em_code array_element(struct translator *t, const struct sp_expr *at, struct frag *a,
                                  enum sp_type_code fallback, enum sp_type_code *element)
{
    if (is_open(a)) {
        struct sp_type type = {SP_TYPE_ARRAY, fallback ? fallback : SP_TYPE_INT64,
                               fallback == SP_TYPE_STRING || fallback == SP_TYPE_BYTES ? SP_LEN_MAX
                                                                                       : 0};
        enum em_code code;
        coerce_quiet(t, a, &type, at->line, at->column, &code);
    }
    if (a->type.code != SP_TYPE_ARRAY) {
        char have[48];
        return FAIL_AT(t, at, EM_INVALID_ARGUMENT,
                       "Values referenced in UNNEST must be arrays. "
                       "UNNEST contains expression of type %s",
                       type_name(&a->type, have, sizeof(have)));
    }
    *element = a->type.element;
    return EM_OK;
}

static enum em_code in_unnest(struct translator *t, const struct scope *scope,
                              const struct sp_expr *e, struct frag *out)
{
    struct frag a[2];
    enum sp_type_code element;
    if (args_of(t, scope, e, a))
        return t->st->code;
    if (array_element(t, e->args[1], &a[1], a[0].type.code, &element))
        return t->st->code;
    struct frag elem = typed("", element);
    elem.type = sp_type_element(&a[1].type);
    struct sp_type common;
    struct frag pair[2] = {a[0], elem};
    if (unify(t, e, "operator IN UNNEST", pair, 2, &common))
        return t->st->code;
    if (!sp_type_equal(&common, &elem.type))
        return no_signature(t, e, "operator IN UNNEST", pair, 2);
    if (element == SP_TYPE_STRUCT)
        return struct_in_unnest(t, e, &pair[0], a[1].sql, out);
    if (is_float(element))
        pair[0].sql = nan_never_equal(t, pair[0].sql);
    *out = typed(sqlf(t, "(%s %sIN (SELECT sp_array_element(value, %d) FROM json_each(%s)))",
                      pair[0].sql, e->negated ? "NOT " : "", element, a[1].sql),
                 SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code array_literal(struct translator *t, const struct scope *scope,
                                  const struct sp_expr *e, struct frag *out)
{
    struct frag *a = sp_arena_alloc(t->arena, (size_t)(e->nargs + 1) * sizeof(*a));
    struct sp_type element = {SP_TYPE_UNKNOWN, SP_TYPE_UNKNOWN, e->type.length, NULL};
    if (e->type.code)
        element = sp_type_element(&e->type);
    if (!a || args_of(t, scope, e, a))
        return a ? t->st->code : EM_FAIL_OOM(t->st);
    if (e->nargs && !element.code && unify(t, e, "array literal", a, e->nargs, &element))
        return t->st->code;
    bool untyped_empty = !element.code;
    if (!element.code)
        element.code = SP_TYPE_INT64;
    for (int i = 0; i < e->nargs; i++) {
        if (a[i].type.code == SP_TYPE_ARRAY)
            return FAIL_AT(t, e->args[i], EM_INVALID_ARGUMENT,
                           "Cannot construct array with element type ARRAY");
        if (coerce(t, &a[i], &element, e->args[i]->line, e->args[i]->column, "Array element"))
            return t->st->code;
    }
    struct sp_buf buf = {0};
    sp_buf_printf(&buf, "sp_array(%d", element.code);
    for (int i = 0; i < e->nargs; i++)
        sp_buf_printf(&buf, ", %s", a[i].sql);
    sp_buf_puts(&buf, ")");
    *out = typed(finish_sql(t, &buf), SP_TYPE_ARRAY);
    out->type.element = element.code;
    out->type.struct_type = element.struct_type;
    out->type.length =
        element.code == SP_TYPE_STRING || element.code == SP_TYPE_BYTES ? SP_LEN_MAX : 0;
    out->empty_array = untyped_empty;
    return out->sql ? EM_OK : t->st->code;
}

/* a[OFFSET(i)] and its kin: sp_array_at(array, index, element type, mode), mode 0 OFFSET,
 * 1 ORDINAL, 2 SAFE_OFFSET, 3 SAFE_ORDINAL. */
static enum em_code subscript(struct translator *t, const struct scope *scope,
                              const struct sp_expr *e, struct frag *out)
{
    static const char *const modes[] = {"OFFSET", "ORDINAL", "SAFE_OFFSET", "SAFE_ORDINAL"};
    struct frag a[2];
    if (expr(t, scope, e->args[0], &a[0]) || expr(t, scope, e->args[1], &a[1]))
        return t->st->code;
    if (a[0].type.code == SP_TYPE_JSON) { /* json['member'] or json[index]: JSON, NULL if none */
        settle(t, &a[1], SP_TYPE_INT64);
        if (a[1].type.code != SP_TYPE_STRING && a[1].type.code != SP_TYPE_INT64)
            return no_signature(t, e, "operator []", a, 2);
        *out = typed(sqlf(t, "sp_json_member(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_JSON);
        return out->sql ? EM_OK : t->st->code;
    }
    if (a[0].type.code != SP_TYPE_ARRAY) {
        char type[48];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Element access using [] is not supported on values of type %s",
                       type_name(&a[0].type, type, sizeof(type)));
    }
    static const struct sp_type int64 = {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0};
    if (coerce(t, &a[1], &int64, e->args[1]->line, e->args[1]->column, "Array position"))
        return t->st->code;
    int mode = 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(modes[i], e->name) == 0)
            mode = i;
    *out =
        typed(sqlf(t, "sp_array_at(%s, %s, %d, %d)", a[0].sql, a[1].sql, a[0].type.element, mode),
              a[0].type.element);
    out->type = sp_type_element(&a[0].type);
    if (a[0].type.element == SP_TYPE_STRING || a[0].type.element == SP_TYPE_BYTES)
        out->type.length = SP_LEN_MAX;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code array_query(struct translator *t, const struct scope *scope,
                                const struct sp_expr *e, struct frag *out)
{
    const char *inner;
    struct sp_result_column *cols;
    int ncols;
    if (translate_query(t, scope, e->subquery, &inner, &cols, &ncols))
        return t->st->code;
    if (ncols != 1)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "ARRAY subquery cannot have more than one column unless using SELECT AS "
                       "STRUCT to build STRUCT values");
    if (cols[0].type.code == SP_TYPE_ARRAY)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Cannot use array subquery with column of type ARRAY because nested "
                       "arrays are not supported");
    *out = typed(sqlf(t, "coalesce((SELECT sp_array_agg_%d(\"$c1\") FROM (%s)), '[]')",
                      cols[0].type.code, inner),
                 SP_TYPE_ARRAY);
    out->type.element = cols[0].type.code;
    out->type.length = cols[0].type.length;
    out->type.struct_type = cols[0].type.struct_type;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code in_list(struct translator *t, const struct scope *scope,
                            const struct sp_expr *e, struct frag *out)
{
    const char *not = e->negated ? "NOT " : "";
    if (e->unnest)
        return in_unnest(t, scope, e, out);
    if (e->subquery) {
        struct frag left;
        const char *sql;
        struct sp_type type;
        if (expr(t, scope, e->args[0], &left) || subquery_single(t, scope, e, &sql, &type))
            return t->st->code;
        if (coerce(t, &left, &type, e->line, e->column, "IN subquery"))
            return t->st->code;
        if (type.code == SP_TYPE_STRUCT)
            return struct_in_rows(t, e, &left, sqlf(t, "SELECT \"$c1\" AS value FROM %s", sql),
                                  out);
        if (is_float(type.code))
            left.sql = nan_never_equal(t, left.sql);
        *out = typed(sqlf(t, "(%s %sIN %s)", left.sql, not, sql), SP_TYPE_BOOL);
        return out->sql ? EM_OK : t->st->code;
    }
    struct frag *a = sp_arena_alloc(t->arena, (size_t)e->nargs * sizeof(*a));
    struct sp_type common;
    if (!a)
        return EM_FAIL_OOM(t->st);
    if (args_of(t, scope, e, a) || unify(t, e, "operator IN", a, e->nargs, &common))
        return t->st->code;
    struct sp_buf buf = {0};
    settle(t, &a[0], SP_TYPE_INT64);
    if (a[0].type.code == SP_TYPE_STRUCT)
        return struct_in_list(t, e, a, out);
    if (!comparable(a[0].type.code))
        return no_signature(t, e, "operator IN", a, e->nargs);
    sp_buf_printf(&buf, "(%s %sIN (",
                  is_float(a[0].type.code) ? nan_never_equal(t, a[0].sql) : a[0].sql, not );
    for (int i = 1; i < e->nargs; i++) {
        settle(t, &a[i], a[0].type.code);
        sp_buf_printf(&buf, "%s%s", i > 1 ? ", " : "", a[i].sql);
    }
    sp_buf_puts(&buf, "))");
    *out = typed(finish_sql(t, &buf), SP_TYPE_BOOL);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code case_expr(struct translator *t, const struct scope *scope,
                              const struct sp_expr *e, struct frag *out)
{
    struct frag *a = sp_arena_alloc(t->arena, (size_t)e->nargs * sizeof(*a));
    if (!a || args_of(t, scope, e, a))
        return a ? t->st->code : EM_FAIL_OOM(t->st);
    int first = e->has_operand ? 1 : 0;
    int pairs = (e->nargs - first - (e->has_else ? 1 : 0)) / 2;
    /* the WHEN values: BOOL, or comparable with the operand */
    if (e->has_operand) {
        struct frag *cmp = sp_arena_alloc(t->arena, (size_t)(pairs + 1) * sizeof(*cmp));
        if (!cmp)
            return EM_FAIL_OOM(t->st);
        cmp[0] = a[0];
        for (int i = 0; i < pairs; i++)
            cmp[i + 1] = a[first + 2 * i];
        struct sp_type common;
        if (unify(t, e, "CASE WHEN", cmp, pairs + 1, &common))
            return t->st->code;
        a[0] = cmp[0];
        for (int i = 0; i < pairs; i++)
            a[first + 2 * i] = cmp[i + 1];
    } else {
        static const struct sp_type boolean = {SP_TYPE_BOOL, SP_TYPE_UNKNOWN, 0};
        for (int i = 0; i < pairs; i++)
            if (coerce(t, &a[2 * i], &boolean, e->args[2 * i]->line, e->args[2 * i]->column,
                       "CASE WHEN"))
                return t->st->code;
    }
    /* the results: a common supertype */
    int nresults = pairs + (e->has_else ? 1 : 0);
    struct frag *res = sp_arena_alloc(t->arena, (size_t)nresults * sizeof(*res));
    if (!res)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < pairs; i++)
        res[i] = a[first + 2 * i + 1];
    if (e->has_else)
        res[pairs] = a[e->nargs - 1];
    struct sp_type common;
    if (unify(t, e, "CASE", res, nresults, &common))
        return t->st->code;
    struct sp_buf buf = {0};
    sp_buf_puts(&buf, "CASE");
    if (e->has_operand)
        sp_buf_printf(&buf, " %s",
                      is_float(a[0].type.code) ? nan_never_equal(t, a[0].sql) : a[0].sql);
    for (int i = 0; i < pairs; i++)
        sp_buf_printf(&buf, " WHEN %s THEN %s", a[first + 2 * i].sql, res[i].sql);
    if (e->has_else)
        sp_buf_printf(&buf, " ELSE %s", res[pairs].sql);
    sp_buf_puts(&buf, " END");
    *out = res[0];
    out->type = common;
    out->string_literal = NULL;
    out->sql = finish_sql(t, &buf);
    out->param = -1;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code invalid_cast(struct translator *t, const struct sp_expr *e,
                                 const struct sp_type *from, const struct sp_type *to)
{
    char from_name[256], to_name[256];
    return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Invalid cast from %s to %s",
                   type_name(from, from_name, sizeof(from_name)),
                   type_name(to, to_name, sizeof(to_name)));
}

static enum em_code cast_value(struct translator *t, const struct sp_expr *e, struct frag a,
                               const struct sp_type *to, bool safe, struct frag *out);

/* A STRUCT cast to a STRUCT type with as many fields: field by field (SAFE_CAST makes a
 * failing field NULL), the names the target's; a NULL STRUCT stays NULL. Any other cast
 * from or to a STRUCT, or a field that does not cast, is "Invalid cast" of the STRUCTs. */
static enum em_code cast_struct(struct translator *t, const struct sp_expr *e, const struct frag *a,
                                const struct sp_type *to, bool safe, struct frag *out)
{
    const struct sp_struct_type *from_fields = a->type.struct_type, *to_fields = to->struct_type;
    if (a->type.code != SP_TYPE_STRUCT || to->code != SP_TYPE_STRUCT || !from_fields ||
        !to_fields || from_fields->count != to_fields->count)
        return invalid_cast(t, e, &a->type, to);
    int n = to_fields->count;
    struct frag *fields = sp_arena_alloc(t->arena, (size_t)(n + 1) * sizeof(*fields));
    if (!fields)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < n; i++) {
        const struct sp_type *from = &from_fields->fields[i].type,
                             *want = &to_fields->fields[i].type;
        struct frag field =
            a->fields
                ? a->fields[i]
                : typed(sqlf(t, "sp_array_at(%s, %d, %d, 0)", a->sql, i, from->code), from->code);
        if (!a->fields)
            field.type = *from;
        if (!field.sql)
            return t->st->code;
        struct em_status saved = *t->st;
        if (cast_value(t, e, field, want, safe, &fields[i])) {
            if (t->st->code != EM_INVALID_ARGUMENT)
                return t->st->code;
            *t->st = saved; /* the field's refusal is the STRUCTs' */
            return invalid_cast(t, e, &a->type, to);
        }
    }
    const char *sql = struct_sql(t, fields, n);
    if (sql && !a->fields)
        sql = sqlf(t, "CASE WHEN %s IS NOT NULL THEN %s END", a->sql, sql);
    *out = typed(sql, SP_TYPE_STRUCT);
    out->type = *to;
    return sql ? EM_OK : t->st->code;
}

static enum em_code cast(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                         struct frag *out)
{
    struct frag a;
    if (expr(t, scope, e->args[0], &a))
        return t->st->code;
    return cast_value(t, e, a, &e->type, e->safe, out);
}

/* CAST/SAFE_CAST(a AS to), with Spanner's errors. */
static enum em_code cast_value(struct translator *t, const struct sp_expr *e, struct frag a,
                               const struct sp_type *to_type, bool safe, struct frag *out)
{
    struct sp_type to = *to_type;
    if ((to.code == SP_TYPE_ARRAY || a.type.code == SP_TYPE_ARRAY) && !is_open(&a) &&
        !sp_type_equal(&a.type, &to)) {
        if (to.code != a.type.code)
            return invalid_cast(t, e, &a.type, &to);
        char from_name[256], to_name[256];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Casting between arrays with incompatible element types is not supported: "
                       "Invalid cast from %s to %s",
                       type_name(&a.type, from_name, sizeof(from_name)),
                       type_name(&to, to_name, sizeof(to_name)));
    }
    if (is_open(&a) || sp_type_equal(&a.type, &to)) {
        coerce_quiet(t, &a, &to, e->line, e->column, &(enum em_code){0});
        *out = a;
        out->type = to;
        out->string_literal = NULL;
        return EM_OK;
    }
    if (a.type.code == SP_TYPE_STRUCT || to.code == SP_TYPE_STRUCT)
        return cast_struct(t, e, &a, &to, safe, out);
    if (a.string_literal && (to.code == SP_TYPE_DATE || to.code == SP_TYPE_TIMESTAMP) && !safe) {
        struct frag folded = a; /* a valid literal is read once, here */
        if (!literal_as(t, &folded, to.code, e->line, e->column)) {
            *out = folded;
            return EM_OK;
        }
        em_status_clear(t->st); /* an invalid one is the cast's OUT_OF_RANGE when it runs */
    }
    static const bool allowed[SP_TYPE_ARRAY + 1][SP_TYPE_ARRAY + 1] = {
        [SP_TYPE_BOOL] = {[SP_TYPE_INT64] = 1, [SP_TYPE_STRING] = 1},
        [SP_TYPE_INT64] = {[SP_TYPE_BOOL] = 1,
                           [SP_TYPE_FLOAT64] = 1,
                           [SP_TYPE_FLOAT32] = 1,
                           [SP_TYPE_NUMERIC] = 1,
                           [SP_TYPE_STRING] = 1},
        [SP_TYPE_FLOAT64] = {[SP_TYPE_INT64] = 1,
                             [SP_TYPE_FLOAT32] = 1,
                             [SP_TYPE_NUMERIC] = 1,
                             [SP_TYPE_STRING] = 1},
        [SP_TYPE_FLOAT32] = {[SP_TYPE_INT64] = 1,
                             [SP_TYPE_FLOAT64] = 1,
                             [SP_TYPE_NUMERIC] = 1,
                             [SP_TYPE_STRING] = 1},
        [SP_TYPE_NUMERIC] = {[SP_TYPE_INT64] = 1,
                             [SP_TYPE_FLOAT64] = 1,
                             [SP_TYPE_FLOAT32] = 1,
                             [SP_TYPE_STRING] = 1},
        [SP_TYPE_STRING] = {[SP_TYPE_BOOL] = 1,
                            [SP_TYPE_INT64] = 1,
                            [SP_TYPE_FLOAT64] = 1,
                            [SP_TYPE_FLOAT32] = 1,
                            [SP_TYPE_NUMERIC] = 1,
                            [SP_TYPE_BYTES] = 1,
                            [SP_TYPE_DATE] = 1,
                            [SP_TYPE_TIMESTAMP] = 1,
                            [SP_TYPE_JSON] = 0},
        [SP_TYPE_BYTES] = {[SP_TYPE_STRING] = 1},
        [SP_TYPE_DATE] = {[SP_TYPE_STRING] = 1},
        [SP_TYPE_JSON] = {[SP_TYPE_STRING] = 0},
    };
    /* the casts between DATE, TIMESTAMP and STRING that read Spanner's default zone */
    const char *zoned =
        a.type.code == SP_TYPE_DATE && to.code == SP_TYPE_TIMESTAMP     ? "sp_date_timestamp"
        : a.type.code == SP_TYPE_TIMESTAMP && to.code == SP_TYPE_DATE   ? "sp_timestamp_date"
        : a.type.code == SP_TYPE_TIMESTAMP && to.code == SP_TYPE_STRING ? "sp_timestamp_string"
                                                                        : NULL;
    if (zoned) {
        *out = typed(sqlf(t, "%s(%s, NULL)", zoned, a.sql), to.code);
        return out->sql ? EM_OK : t->st->code;
    }
    if (!allowed[a.type.code][to.code])
        return invalid_cast(t, e, &a.type, &to);
    *out = typed(sqlf(t, "sp_cast(%s, %d, %d, %d)", a.sql, a.type.code, to.code, safe ? 1 : 0),
                 to.code);
    out->type = to;
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code subquery_single(struct translator *t, const struct scope *scope,
                                    const struct sp_expr *e, const char **sql, struct sp_type *type)
{
    struct sp_result_column *cols;
    int ncols;
    const char *inner;
    if (translate_query(t, scope, e->subquery, &inner, &cols, &ncols))
        return t->st->code;
    if (ncols != 1)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "%s subquery must have exactly one column; it has %d",
                       e->kind == SP_EXPR_IN ? "IN" : "Scalar", ncols);
    *type = cols[0].type;
    *sql = sqlf(t, "(%s)", inner);
    return *sql ? EM_OK : t->st->code;
}

static enum em_code function(struct translator *t, const struct scope *scope,
                             const struct sp_expr *e, struct frag *out);

static enum em_code expr_node(struct translator *t, const struct scope *scope,
                              const struct sp_expr *e, struct frag *out)
{
    memset(out, 0, sizeof(*out));
    out->param = -1;
    switch (e->kind) {
    case SP_EXPR_LITERAL:
        return literal(t, e, out);
    case SP_EXPR_BOOL:
        *out = typed(e->bool_value ? "TRUE" : "FALSE", SP_TYPE_BOOL);
        return EM_OK;
    case SP_EXPR_NULL:
        *out = typed("NULL", SP_TYPE_UNKNOWN);
        out->null_literal = true;
        return EM_OK;
    case SP_EXPR_TYPED_LITERAL:
        return typed_literal(t, e, out);
    case SP_EXPR_PARAM:
        return param(t, e, out);
    case SP_EXPR_COLUMN:
        return column(t, scope, e, out);
    case SP_EXPR_UNARY:
        return unary(t, scope, e, out);
    case SP_EXPR_BINARY:
        return binary(t, scope, e, out);
    case SP_EXPR_FUNCTION:
        return function(t, scope, e, out);
    case SP_EXPR_CAST:
        return cast(t, scope, e, out);
    case SP_EXPR_CASE:
        return case_expr(t, scope, e, out);
    case SP_EXPR_IN:
        return in_list(t, scope, e, out);
    case SP_EXPR_BETWEEN:
        return between(t, scope, e, out);
    case SP_EXPR_IS:
        return is_test(t, scope, e, out);
    case SP_EXPR_LIKE:
        return like(t, scope, e, out);
    case SP_EXPR_SUBQUERY: {
        const char *sql;
        struct sp_type type;
        if (subquery_single(t, scope, e, &sql, &type))
            return t->st->code;
        /* a second row is Spanner's error, not SQLite's first row */
        sql = sqlf(t,
                   "(SELECT CASE WHEN count(*) > 1 THEN sp_error('OUT_OF_RANGE: More than one "
                   "element: a scalar subquery returned more than one row') ELSE max(\"$c1\") "
                   "END FROM (SELECT \"$c1\" FROM %s LIMIT 2))",
                   sql);
        *out = typed(sql, type.code);
        out->type = type;
        return EM_OK;
    }
    case SP_EXPR_EXISTS: {
        const char *inner;
        struct sp_result_column *cols;
        int ncols;
        if (translate_query(t, scope, e->subquery, &inner, &cols, &ncols))
            return t->st->code;
        *out = typed(sqlf(t, "EXISTS (%s)", inner), SP_TYPE_BOOL);
        return out->sql ? EM_OK : t->st->code;
    }
    case SP_EXPR_ARRAY:
        return array_literal(t, scope, e, out);
    case SP_EXPR_ARRAY_QUERY:
        return array_query(t, scope, e, out);
    case SP_EXPR_SUBSCRIPT:
        return subscript(t, scope, e, out);
    case SP_EXPR_STRUCT:
        return struct_constructor(t, scope, e, out);
    case SP_EXPR_FIELD:
        return field_access(t, scope, e, out);
    case SP_EXPR_DATE_PART:
        if (e->text) {
            struct sp_expr as_column = *e;
            as_column.kind = SP_EXPR_COLUMN;
            as_column.name = e->text;
            return column(t, scope, &as_column, out);
        }
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unexpected date part");
    case SP_EXPR_INTERVAL:
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unexpected %s",
                       e->kind == SP_EXPR_INTERVAL ? "INTERVAL" : "date part");
    case SP_EXPR_DEFAULT:
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Syntax error: Unexpected keyword DEFAULT");
    case SP_EXPR_SEQUENCE:
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Syntax error: SEQUENCE %s is only an argument of GET_NEXT_SEQUENCE_VALUE "
                       "and GET_INTERNAL_SEQUENCE_STATE",
                       e->name);
    }
    return FAIL_AT(t, e, EM_INTERNAL, "Unknown expression");
}

/* In an aggregating query, an expression equal to a GROUP BY expression is grouped as a
 * whole (GROUP BY a + b; SELECT a + b), even though its columns alone are not. */
static enum em_code grouped_expr(struct translator *t, const struct scope *scope,
                                 const struct sp_expr *e, struct frag *out)
{
    if (t->check_grouping && !t->in_aggregate && t->ngroup > 0 && scope == t->grouping_scope &&
        e->kind != SP_EXPR_LITERAL && e->kind != SP_EXPR_PARAM) {
        t->check_grouping = false;
        enum em_code code = expr_node(t, scope, e, out);
        t->check_grouping = true;
        if (code == EM_OK && grouped(t, out->sql))
            return EM_OK;
        em_status_clear(t->st);
    }
    return expr_node(t, scope, e, out);
}

static enum em_code expr(struct translator *t, const struct scope *scope, const struct sp_expr *e,
                         struct frag *out)
{
    if (nest(t, e->line, e->column))
        return t->st->code;
    enum em_code code = grouped_expr(t, scope, e, out);
    t->depth--;
    return code;
}

/* ---- functions ---- */

typedef enum em_code (*fn_handler)(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out);

static const struct sp_type type_bool = {SP_TYPE_BOOL, SP_TYPE_UNKNOWN, 0};
static const struct sp_type type_int64 = {SP_TYPE_INT64, SP_TYPE_UNKNOWN, 0};
static const struct sp_type type_string = {SP_TYPE_STRING, SP_TYPE_UNKNOWN, SP_LEN_MAX};

/* Coerces argument i to want, or fails with "No matching signature for function F". */
static enum em_code want_arg(struct translator *t, const struct sp_expr *e, struct frag *a, int i,
                             const struct sp_type *want)
{
    enum em_code code;
    if (coerce_quiet(t, &a[i], want, e->line, e->column, &code))
        return EM_OK;
    if (code)
        return code;
    char what[80];
    snprintf(what, sizeof(what), "function %s", e->name);
    return no_signature(t, e, what, a, e->nargs);
}

/* STRING or BYTES, all arguments of the same one. */
static enum em_code want_text(struct translator *t, const struct sp_expr *e, struct frag *a, int n,
                              enum sp_type_code *code)
{
    char what[80];
    snprintf(what, sizeof(what), "function %s", e->name);
    struct sp_type common;
    if (unify(t, e, what, a, n, &common))
        return t->st->code;
    for (int i = 0; i < n; i++)
        settle(t, &a[i], SP_TYPE_STRING);
    *code = a[0].type.code;
    if (*code != SP_TYPE_STRING && *code != SP_TYPE_BYTES)
        return no_signature(t, e, what, a, n);
    return EM_OK;
}

static enum em_code result(struct translator *t, struct frag *out, const char *sql,
                           enum sp_type_code code)
{
    *out = typed(sql, code);
    if (code == SP_TYPE_STRING || code == SP_TYPE_BYTES)
        out->type.length = SP_LEN_MAX;
    return sql ? EM_OK : t->st->code;
}

static const char *join_args(struct translator *t, struct frag *a, int from, int n)
{
    struct sp_buf buf = {0};
    for (int i = from; i < n; i++)
        sp_buf_printf(&buf, "%s%s", i > from ? ", " : "", a[i].sql);
    return finish_sql(t, &buf);
}

static enum em_code fn_if(struct translator *t, const struct sp_expr *e, struct frag *a,
                          struct frag *out)
{
    struct sp_type common;
    if (want_arg(t, e, a, 0, &type_bool) || unify(t, e, "function IF", a + 1, 2, &common))
        return t->st->code;
    *out = a[1];
    out->type = common;
    out->param = -1;
    out->string_literal = NULL;
    out->sql = sqlf(t, "CASE WHEN %s THEN %s ELSE %s END", a[0].sql, a[1].sql, a[2].sql);
    return out->sql ? EM_OK : t->st->code;
}

static enum em_code fn_coalesce(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    char what[80];
    snprintf(what, sizeof(what), "function %s", e->name);
    struct sp_type common;
    if (unify(t, e, what, a, e->nargs, &common))
        return t->st->code;
    if (strcmp(e->name, "NULLIF") == 0 && is_float(common.code)) /* NULLIF(NaN, NaN) is NaN */
        a[1].sql = nan_never_equal(t, a[1].sql);
    const char *args = join_args(t, a, 0, e->nargs);
    const char *sql = strcmp(e->name, "NULLIF") == 0 ? sqlf(t, "nullif(%s)", args)
                      : e->nargs == 1                ? a[0].sql
                                                     : sqlf(t, "coalesce(%s)", args);
    *out = a[0];
    out->type = common;
    out->param = -1;
    out->string_literal = NULL;
    out->sql = sql;
    return sql ? EM_OK : t->st->code;
}

static enum em_code fn_concat(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, e->nargs, &code))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "%s(%s)", code == SP_TYPE_BYTES ? "sp_bytes_concat" : "sp_concat",
                       join_args(t, a, 0, e->nargs)),
                  code);
}

static enum em_code fn_length(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 1, &code))
        return t->st->code;
    /* SQLite's length() counts characters of TEXT and bytes of a BLOB, as GoogleSQL does */
    bool bytes = strcmp(e->name, "BYTE_LENGTH") == 0 || strcmp(e->name, "OCTET_LENGTH") == 0;
    if (bytes && code == SP_TYPE_STRING)
        return result(t, out, sqlf(t, "length(CAST(%s AS BLOB))", a[0].sql), SP_TYPE_INT64);
    if (strcmp(e->name, "LENGTH") != 0 && !bytes && code != SP_TYPE_STRING)
        return no_signature(t, e, "function CHAR_LENGTH", a, 1);
    return result(t, out, sqlf(t, "length(%s)", a[0].sql), SP_TYPE_INT64);
}

/* NORMALIZE(text [, NFC | NFKC | NFD | NFKD]) and NORMALIZE_AND_CASEFOLD (case folded
 * first), NFC by default: sp_normalize in spanner_sql_text.c. */
static enum em_code fn_normalize(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    static const char *const modes[] = {"NFC", "NFKC", "NFD", "NFKD"};
    const char *mode = e->nargs == 1 ? "NFC" : NULL;
    for (size_t i = 0; e->nargs == 2 && a[1].part && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcasecmp(a[1].part, modes[i]) == 0)
            mode = modes[i];
    if (!mode)
        return a[1].part ? FAIL_AT(t, e->args[1], EM_INVALID_ARGUMENT,
                                   "Argument is not a valid NORMALIZE mode: %s", a[1].part)
                         : FAIL_AT(t, e->args[1], EM_INVALID_ARGUMENT,
                                   "Argument is not a valid NORMALIZE mode");
    if (a[0].type.code != SP_TYPE_STRING && a[0].type.code != SP_TYPE_UNKNOWN)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "No matching signature for function %s for argument types: %s. Supported "
                       "signature: %s(STRING, [NORMALIZE_MODE])",
                       e->name, sp_type_code_name(a[0].type.code), e->name);
    if (want_arg(t, e, a, 0, &type_string))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_normalize(%s, '%s', %d)", a[0].sql, mode,
                       strcmp(e->name, "NORMALIZE_AND_CASEFOLD") == 0),
                  SP_TYPE_STRING);
}

static enum em_code fn_case_map(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 1, &code))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_%s(%s)", strcmp(e->name, "LOWER") == 0 ? "lower" : "upper", a[0].sql),
                  code);
}

static enum em_code fn_substr(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 1, &code) || want_arg(t, e, a, 1, &type_int64) ||
        (e->nargs == 3 && want_arg(t, e, a, 2, &type_int64)))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_substr(%s)", join_args(t, a, 0, e->nargs)), code);
}

/* Two-argument text predicates and searches: STARTS_WITH, ENDS_WITH, STRPOS. */
static enum em_code fn_text2(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 2, &code))
        return t->st->code;
    if (strcmp(e->name, "STRPOS") == 0)
        return result(t, out, sqlf(t, "instr(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_INT64);
    return result(t, out,
                  sqlf(t, "sp_%s(%s, %s)",
                       strcmp(e->name, "STARTS_WITH") == 0 ? "starts_with" : "ends_with", a[0].sql,
                       a[1].sql),
                  SP_TYPE_BOOL);
}

static enum em_code fn_replace(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 3, &code))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_replace_limit(replace(%s, %s, %s))", a[0].sql, a[1].sql, a[2].sql),
                  code);
}

static enum em_code fn_trim(struct translator *t, const struct sp_expr *e, struct frag *a,
                            struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, e->nargs, &code))
        return t->st->code;
    if (code == SP_TYPE_BYTES && e->nargs == 1)
        return no_signature(t, e, "function TRIM", a, 1);
    int mode = strcmp(e->name, "LTRIM") == 0 ? 1 : strcmp(e->name, "RTRIM") == 0 ? 2 : 0;
    /* no set: Unicode's white space (mode + 4) */
    return result(t, out,
                  sqlf(t, "sp_trim(%s, %s, %d)", a[0].sql, e->nargs == 2 ? a[1].sql : "NULL",
                       e->nargs == 2 ? mode : mode + 4),
                  code);
}

static enum em_code fn_numeric1(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    enum sp_type_code code = a[0].type.code;
    if (!sp_type_is_numeric(code))
        return no_signature(t, e, "function", a, 1);
    if (strcmp(e->name, "ABS") == 0 || strcmp(e->name, "SIGN") == 0)
        return result(
            t, out,
            sqlf(t, "sp_%s(%s, %d)", strcmp(e->name, "ABS") == 0 ? "abs" : "sign", a[0].sql, code),
            code);
    /* the FLOAT64 math functions: INT64 and NUMERIC arguments are coerced */
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    if (want_arg(t, e, a, 0, &f64))
        return t->st->code;
    const char *fn = strcmp(e->name, "CEILING") == 0 ? "CEIL" : e->name;
    return result(t, out, sqlf(t, "sp_math('%s', %s)", fn, a[0].sql), SP_TYPE_FLOAT64);
}

/* SAFE_ADD, SAFE_SUBTRACT, SAFE_MULTIPLY (x, y) and SAFE_NEGATE (x): the operators, with
 * NULL instead of an overflow error, in the arguments' common numeric type */
static enum em_code fn_safe_arith(struct translator *t, const struct sp_expr *e, struct frag *a,
                                  struct frag *out)
{
    for (int i = 0; i < e->nargs; i++)
        if (!is_open(&a[i]) && !sp_type_is_numeric(a[i].type.code))
            return no_signature(t, e, "function", a, e->nargs);
    struct sp_type common;
    if (unify(t, e, e->name, a, e->nargs, &common))
        return t->st->code;
    if (is_open(&a[0])) {
        for (int i = 0; i < e->nargs; i++)
            settle(t, &a[i], SP_TYPE_INT64);
        common = a[0].type;
    }
    if (common.code == SP_TYPE_FLOAT32) { /* the signatures: INT64, NUMERIC and FLOAT64 */
        static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
        for (int i = 0; i < e->nargs; i++)
            if (want_arg(t, e, a, i, &f64))
                return t->st->code;
        common = f64;
    }
    const char *op = strcmp(e->name, "SAFE_ADD") == 0        ? "+"
                     : strcmp(e->name, "SAFE_SUBTRACT") == 0 ? "-"
                     : strcmp(e->name, "SAFE_MULTIPLY") == 0 ? "*"
                                                             : "n";
    return result(t, out,
                  sqlf(t, "sp_safe_arith('%s', '%s', %s, %s)", op, sp_type_code_name(common.code),
                       a[0].sql, e->nargs == 2 ? a[1].sql : "0"),
                  common.code);
}

/* LOG(x) (as LN), LOG(x, base), ATAN2(y, x): FLOAT64 (other numbers are coerced) */
static enum em_code fn_log_atan2(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    for (int i = 0; i < e->nargs; i++) {
        settle(t, &a[i], SP_TYPE_FLOAT64);
        if (!sp_type_is_numeric(a[i].type.code))
            return no_signature(t, e, "function", a, e->nargs);
        if (want_arg(t, e, a, i, &f64))
            return t->st->code;
    }
    if (e->nargs == 1)
        return result(t, out, sqlf(t, "sp_math('LN', %s)", a[0].sql), SP_TYPE_FLOAT64);
    return result(
        t, out,
        sqlf(t, "sp_%s(%s, %s)", strcmp(e->name, "LOG") == 0 ? "log" : "atan2", a[0].sql, a[1].sql),
        SP_TYPE_FLOAT64);
}

static enum em_code fn_round(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    settle(t, &a[0], SP_TYPE_FLOAT64);
    enum sp_type_code code = a[0].type.code; /* NUMERIC and FLOAT32 keep their type */
    if ((code != SP_TYPE_NUMERIC && code != SP_TYPE_FLOAT32 && want_arg(t, e, a, 0, &f64)) ||
        (e->nargs == 2 && want_arg(t, e, a, 1, &type_int64)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_%sround(%s, %s, %d)", code == SP_TYPE_NUMERIC ? "numeric_" : "",
                       a[0].sql, e->nargs == 2 ? a[1].sql : "0",
                       (strcmp(e->name, "TRUNC") == 0) | (code == SP_TYPE_FLOAT32 ? 2 : 0)),
                  code == SP_TYPE_NUMERIC || code == SP_TYPE_FLOAT32 ? code : SP_TYPE_FLOAT64);
}

static enum em_code fn_pow(struct translator *t, const struct sp_expr *e, struct frag *a,
                           struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    if (want_arg(t, e, a, 0, &f64) || want_arg(t, e, a, 1, &f64))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_pow(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_FLOAT64);
}

/* IEEE_DIVIDE(x, y): FLOAT64 division by IEEE 754 (x / 0 is +-inf, 0 / 0 NaN). */
static enum em_code fn_ieee_divide(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    if (want_arg(t, e, a, 0, &f64) || want_arg(t, e, a, 1, &f64))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_ieee_divide(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_FLOAT64);
}

/* SAFE_DIVIDE(x, y): x / y, NULL where that is an error. NUMERIC when both arguments are
 * INT64 or NUMERIC and one is NUMERIC, FLOAT64 otherwise (as x / y). */
static enum em_code fn_safe_divide(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    struct sp_type common;
    if (unify(t, e, "function SAFE_DIVIDE", a, 2, &common))
        return t->st->code;
    settle(t, &a[0], SP_TYPE_INT64);
    settle(t, &a[1], SP_TYPE_INT64);
    if (!sp_type_is_numeric(a[0].type.code))
        return no_signature(t, e, "function SAFE_DIVIDE", a, 2);
    if (a[0].type.code == SP_TYPE_NUMERIC)
        return result(t, out, sqlf(t, "sp_numeric_safe_div(%s, %s)", a[0].sql, a[1].sql),
                      SP_TYPE_NUMERIC);
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    if (want_arg(t, e, a, 0, &f64) || want_arg(t, e, a, 1, &f64))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_float64_safe_div(%s, %s)", a[0].sql, a[1].sql),
                  SP_TYPE_FLOAT64);
}

/* IS_NAN(x) and IS_INF(x) of a FLOAT64 (NULL for NULL). */
static enum em_code fn_is_nan_inf(struct translator *t, const struct sp_expr *e, struct frag *a,
                                  struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    if (want_arg(t, e, a, 0, &f64))
        return t->st->code;
    if (strcmp(e->name, "IS_NAN") == 0)
        return result(t, out, sqlf(t, "(%s = " NAN_SQL ")", a[0].sql), SP_TYPE_BOOL);
    return result(t, out, sqlf(t, "(%s IN (9e999, -9e999))", a[0].sql), SP_TYPE_BOOL);
}

static enum em_code fn_int_div(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    char what[80];
    snprintf(what, sizeof(what), "function %s", e->name);
    struct sp_type common;
    if (unify(t, e, what, a, 2, &common))
        return t->st->code;
    settle(t, &a[0], SP_TYPE_INT64);
    settle(t, &a[1], SP_TYPE_INT64);
    const char *fn = strcmp(e->name, "DIV") == 0 ? "intdiv" : "mod";
    if (a[0].type.code == SP_TYPE_INT64)
        return result(t, out, sqlf(t, "sp_int64_%s(%s, %s)", fn, a[0].sql, a[1].sql),
                      SP_TYPE_INT64);
    if (a[0].type.code == SP_TYPE_NUMERIC)
        return result(t, out, sqlf(t, "sp_numeric_%s(%s, %s)", fn, a[0].sql, a[1].sql),
                      SP_TYPE_NUMERIC);
    return no_signature(t, e, what, a, 2);
}

static enum em_code fn_greatest(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    char what[80];
    snprintf(what, sizeof(what), "function %s", e->name);
    struct sp_type common;
    if (unify(t, e, what, a, e->nargs, &common))
        return t->st->code;
    if (!comparable(common.code))
        return no_signature(t, e, what, a, e->nargs);
    const char *fn = strcmp(e->name, "GREATEST") == 0 ? "max" : "min";
    /* SQLite's multi-argument max/min are scalar and NULL when any argument is: as here */
    const char *sql =
        e->nargs == 1 ? a[0].sql : sqlf(t, "%s(%s)", fn, join_args(t, a, 0, e->nargs));
    /* LEAST is NaN when an argument is: SQLite's max() finds the NaN string, if any */
    if (e->nargs > 1 && is_float(common.code) && strcmp(fn, "min") == 0)
        sql = sqlf(t, "(CASE WHEN max(%s) IS " NAN_SQL " THEN " NAN_SQL " ELSE %s END)",
                   join_args(t, a, 0, e->nargs), sql);
    *out = a[0];
    out->type = common;
    out->param = -1;
    out->sql = sql;
    return sql ? EM_OK : t->st->code;
}

static enum em_code fn_generate_uuid(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    (void)e;
    (void)a;
    return result(t, out, "sp_generate_uuid()", SP_TYPE_STRING);
}

/* ERROR (STRING): fails the statement with OUT_OF_RANGE and the message. Its type stays
 * open, as NULL's does, so it stands wherever a value of any type does
 * (IF(ok, x, ERROR('...'))); alone it is an INT64, as in GoogleSQL. */
static enum em_code fn_error(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_string))
        return t->st->code;
    *out = typed(sqlf(t, "sp_error_function(%s)", a[0].sql), SP_TYPE_UNKNOWN);
    return out->sql ? EM_OK : t->st->code;
}

/* ---- aggregates ---- */

static enum em_code fn_count(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    if (e->star)
        return result(t, out, "count(*)", SP_TYPE_INT64);
    settle(t, &a[0], SP_TYPE_INT64);
    if (e->distinct && !comparable(a[0].type.code))
        return no_signature(t, e, "function COUNT(DISTINCT)", a, 1);
    return result(t, out, sqlf(t, "count(%s%s)", e->distinct ? "DISTINCT " : "", a[0].sql),
                  SP_TYPE_INT64);
}

static enum em_code fn_countif(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_bool))
        return t->st->code;
    return result(t, out, sqlf(t, "count(CASE WHEN %s THEN 1 END)", a[0].sql), SP_TYPE_INT64);
}

static enum em_code fn_sum_avg(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    enum sp_type_code code = a[0].type.code;
    if (!sp_type_is_numeric(code))
        return no_signature(t, e, strcmp(e->name, "SUM") == 0 ? "function SUM" : "function AVG", a,
                            1);
    const char *distinct = e->distinct ? "DISTINCT " : "";
    bool sum = strcmp(e->name, "SUM") == 0;
    if (code == SP_TYPE_NUMERIC)
        return result(t, out,
                      sqlf(t, "sp_numeric_%s(%s%s)", sum ? "sum" : "avg", distinct, a[0].sql),
                      SP_TYPE_NUMERIC);
    if (is_float(code))
        return result(t, out,
                      float_aggregate(t,
                                      sqlf(t, "%s(%s%s)", sum ? "sum" : "avg", distinct, a[0].sql),
                                      a[0].sql, true),
                      SP_TYPE_FLOAT64);
    if (!sum)
        return result(t, out, sqlf(t, "avg(%s%s)", distinct, a[0].sql), SP_TYPE_FLOAT64);
    /* sp_int64_sum: the total must fit INT64, not every partial sum */
    return result(t, out, sqlf(t, "sp_int64_sum(%s%s)", distinct, a[0].sql),
                  code == SP_TYPE_INT64 ? SP_TYPE_INT64 : SP_TYPE_FLOAT64);
}

static enum em_code fn_min_max(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    if (!comparable(a[0].type.code) && strcmp(e->name, "ANY_VALUE") != 0)
        return no_signature(t, e, "function", a, 1);
    const char *fn =
        strcmp(e->name, "MIN") == 0 || strcmp(e->name, "LOGICAL_AND") == 0 ? "min" : "max";
    if ((strcmp(e->name, "LOGICAL_AND") == 0 || strcmp(e->name, "LOGICAL_OR") == 0) &&
        want_arg(t, e, a, 0, &type_bool))
        return t->st->code;
    *out = a[0];
    out->param = -1;
    out->string_literal = NULL;
    out->sql = sqlf(t, "%s(%s)", fn, a[0].sql);
    /* MAX finds the NaN string (it sorts last in SQLite); MIN must be told */
    if (is_float(a[0].type.code) && strcmp(e->name, "MIN") == 0)
        out->sql = float_aggregate(t, out->sql, a[0].sql, false);
    return out->sql ? EM_OK : t->st->code;
}

/* The key of HAVING MAX|MIN: a type with an order (not ARRAY, STRUCT, JSON) */
static enum em_code having_key(struct translator *t, const struct sp_expr *e, struct frag *having)
{
    char name[64];
    settle(t, having, SP_TYPE_INT64);
    if (comparable(having->type.code))
        return EM_OK;
    return FAIL_AT(t, e->having, EM_INVALID_ARGUMENT,
                   "HAVING modifier does not support expressions of type %s",
                   type_name(&having->type, name, sizeof(name)));
}

/* ANY_VALUE(x HAVING MAX|MIN y): the x of a row with the largest or smallest y */
static enum em_code any_value_having(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *having, struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    if (having_key(t, e, having))
        return t->st->code;
    *out = a[0];
    out->param = -1;
    out->string_literal = NULL;
    out->sql = sqlf(t, "sp_any_value_having(%s, %s, %d, %d)", a[0].sql, having->sql, e->having_max,
                    is_float(having->type.code));
    return out->sql ? EM_OK : t->st->code;
}

/* AGG(x HAVING MAX|MIN y), AGG another aggregate than ANY_VALUE: the x of the rows whose y
 * is the largest (smallest) are kept in an array (sp_array_agg_having_<code>), and AGG runs
 * over its elements in a subquery. */
static enum em_code aggregate_having(struct translator *t, const struct scope *scope,
                                     fn_handler handler, const struct sp_expr *e, struct frag *a,
                                     struct frag *having, struct frag *out)
{
    if (having_key(t, e, having))
        return t->st->code;
    struct frag input = e->star ? typed("1", SP_TYPE_INT64) : a[0];
    settle(t, &input, SP_TYPE_INT64);
    /* Spanner: "If DISTINCT is also specified, then the sort key must be the same as
     * expression." */
    if (e->distinct && strcmp(input.sql, having->sql) != 0)
        return FAIL_AT(t, e->having, EM_INVALID_ARGUMENT,
                       "The HAVING MAX or MIN key of %s(DISTINCT ...) must be the aggregated "
                       "expression",
                       e->name);
    /* the subquery reads json_each directly: SQLite takes an aggregate of the outer query
     * one subquery deep, not two */
    const char *rows = new_alias(t);
    a[0] = input;
    a[0].sql = sqlf(t, "sp_array_element(\"%s\".value, %d)", rows, input.type.code);
    a[0].param = -1;
    a[0].string_literal = NULL;
    if (!a[0].sql || handler(t, e, a, out))
        return t->st->code;
    /* SQLite makes an aggregate part of the innermost query whose columns its arguments
     * read, the one it is written in when they read none (SUM(1 HAVING MAX 2)): a column of
     * this query's FROM clause, passed and not used, keeps it in this query */
    const char *column = "NULL";
    for (int i = 0; scope && i < scope->nsources && !strcmp(column, "NULL"); i++)
        if (scope->sources[i]->ncolumns && scope->sources[i]->columns[0].sql)
            column = scope->sources[i]->columns[0].sql;
    out->sql = sqlf(t,
                    "(SELECT %s FROM json_each(sp_array_agg_having_%d(%s, %s, %d, %d, %s)) AS "
                    "\"%s\")",
                    out->sql, input.type.code, input.sql, having->sql, e->having_max,
                    is_float(having->type.code), column, rows);
    return out->sql ? EM_OK : t->st->code;
}

/* STRING_AGG(value [, delimiter]) of STRING or BYTES (',' by default). DISTINCT: SQLite's
 * DISTINCT aggregates take one argument, so the distinct values are gathered in an array
 * (sp_array_agg_<code>(DISTINCT ...), NULLs left out) and joined as ARRAY_TO_STRING does. */
static enum em_code fn_string_agg(struct translator *t, const struct sp_expr *e, struct frag *a,
                                  struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, e->nargs, &code))
        return t->st->code;
    bool bytes = code == SP_TYPE_BYTES;
    const char *delimiter = e->nargs == 2 ? a[1].sql : bytes ? "X'2C'" : "','";
    if (e->distinct)
        return result(t, out,
                      sqlf(t,
                           "sp_array_to_string(sp_array_agg_%d(DISTINCT %s) FILTER (WHERE %s IS "
                           "NOT NULL), %s, NULL, %d)",
                           code, a[0].sql, a[0].sql, delimiter, bytes),
                      code);
    /* group_concat answers TEXT: the bytes of BYTES values, kept as they are */
    return result(t, out,
                  sqlf(t, bytes ? "CAST(group_concat(%s, %s) AS BLOB)" : "group_concat(%s, %s)",
                       a[0].sql, delimiter),
                  code);
}

static enum em_code fn_array_length(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    struct frag *out)
{
    enum sp_type_code element;
    if (array_element(t, e->args[0], &a[0], SP_TYPE_INT64, &element))
        return t->st->code;
    return result(t, out, sqlf(t, "json_array_length(%s)", a[0].sql), SP_TYPE_INT64);
}

/* COSINE_DISTANCE, EUCLIDEAN_DISTANCE, DOT_PRODUCT (x, y): two arrays of one element type,
 * FLOAT64 or FLOAT32 (and INT64 for DOT_PRODUCT); FLOAT64 out, from sp_vector_distance. */
static enum em_code fn_vector_distance(struct translator *t, const struct sp_expr *e,
                                       struct frag *a, struct frag *out)
{
    bool dot = strcmp(e->name, "DOT_PRODUCT") == 0;
    int kind = dot ? 2 : strcmp(e->name, "EUCLIDEAN_DISTANCE") == 0 ? 1 : 0;
    /* an untyped NULL or parameter, or [], takes the other argument's type (or FLOAT64's) */
    bool empty[2];
    for (int i = 0; i < 2; i++)
        empty[i] = e->args[i]->kind == SP_EXPR_ARRAY && e->args[i]->nargs == 0 &&
                   !e->args[i]->type.element;
    for (int i = 0; i < 2; i++) {
        const struct frag *other = &a[1 - i];
        if (empty[i]) {
            a[i].type = (struct sp_type){SP_TYPE_ARRAY, SP_TYPE_FLOAT64, 0, NULL};
            if (!empty[1 - i] && other->type.code == SP_TYPE_ARRAY &&
                other->type.element != SP_TYPE_UNKNOWN)
                a[i].type.element = other->type.element;
        } else if (is_open(&a[i]) && other->type.code == SP_TYPE_ARRAY) {
            enum em_code code;
            coerce_quiet(t, &a[i], &other->type, e->line, e->column, &code);
        }
    }
    enum sp_type_code x = a[0].type.code == SP_TYPE_ARRAY ? a[0].type.element : SP_TYPE_UNKNOWN;
    enum sp_type_code y = a[1].type.code == SP_TYPE_ARRAY ? a[1].type.element : SP_TYPE_UNKNOWN;
    bool element_ok = x == SP_TYPE_FLOAT64 || x == SP_TYPE_FLOAT32 || (dot && x == SP_TYPE_INT64);
    if (!element_ok || x != y) {
        char have[2][48];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "No matching signature for function %s for argument types: %s, %s. "
                       "Supported signatures: %s%s(ARRAY<FLOAT64>, ARRAY<FLOAT64>); "
                       "%s(ARRAY<FLOAT>, ARRAY<FLOAT>)",
                       e->name, type_name(&a[0].type, have[0], sizeof(have[0])),
                       type_name(&a[1].type, have[1], sizeof(have[1])),
                       dot ? "DOT_PRODUCT(ARRAY<INT64>, ARRAY<INT64>); " : "", e->name, e->name);
    }
    return result(t, out, sqlf(t, "sp_vector_distance(%d, %s, %s)", kind, a[0].sql, a[1].sql),
                  SP_TYPE_FLOAT64);
}

static enum em_code fn_array_agg(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    if (a[0].type.code == SP_TYPE_ARRAY)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "ARRAY_AGG cannot aggregate values of type ARRAY (nested arrays)");
    if (e->distinct && !comparable(a[0].type.code))
        return no_signature(t, e, "function ARRAY_AGG(DISTINCT)", a, 1);
    /* NULL elements are kept (RESPECT NULLS, the default) or left out (IGNORE NULLS) */
    *out =
        typed(sqlf(t, "sp_array_agg_%d(%s%s)%s%s%s", a[0].type.code, e->distinct ? "DISTINCT " : "",
                   a[0].sql, e->nulls == SP_NULLS_IGNORE ? " FILTER (WHERE " : "",
                   e->nulls == SP_NULLS_IGNORE ? a[0].sql : "",
                   e->nulls == SP_NULLS_IGNORE ? " IS NOT NULL)" : ""),
              SP_TYPE_ARRAY);
    out->type.element = a[0].type.code;
    out->type.length = a[0].type.length;
    out->type.struct_type = a[0].type.struct_type;
    return out->sql ? EM_OK : t->st->code;
}

/* ARRAY_CONCAT_AGG (ARRAY): the elements of every array in one ARRAY, NULL arrays left out
 * (none at all: NULL) */
static enum em_code fn_array_concat_agg(struct translator *t, const struct sp_expr *e,
                                        struct frag *a, struct frag *out)
{
    char have[64];
    if (is_open(&a[0]) || a[0].type.code != SP_TYPE_ARRAY)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "The argument to ARRAY_CONCAT (or ARRAY_CONCAT_AGG) must be an array type "
                       "but was %s",
                       is_open(&a[0]) ? "INT64" : type_name(&a[0].type, have, sizeof(have)));
    if (e->distinct)
        return no_signature(t, e, "function ARRAY_CONCAT_AGG(DISTINCT)", a, 1);
    *out = typed(sqlf(t, "sp_array_concat_agg(%s)", a[0].sql), SP_TYPE_ARRAY);
    out->type = a[0].type;
    return out->sql ? EM_OK : t->st->code;
}

/* ---- regular expressions, SPLIT, FORMAT, JSON (spanner_sql_text.c) ---- */

static enum em_code fn_regexp(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, e->nargs, &code))
        return t->st->code;
    const char *args = join_args(t, a, 0, e->nargs);
    if (strcmp(e->name, "REGEXP_CONTAINS") == 0)
        return result(t, out, sqlf(t, "sp_regexp_contains(%s)", args), SP_TYPE_BOOL);
    if (strcmp(e->name, "REGEXP_REPLACE") == 0)
        return result(t, out, sqlf(t, "sp_regexp_replace(%s)", args), code);
    if (strcmp(e->name, "REGEXP_EXTRACT") == 0)
        return result(t, out, sqlf(t, "sp_regexp_extract(%s)", args), code);
    enum em_code rc = result(t, out, sqlf(t, "sp_regexp_extract_all(%s)", args), SP_TYPE_ARRAY);
    out->type.element = code;
    return rc;
}

static enum em_code fn_split(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, e->nargs, &code))
        return t->st->code;
    if (e->nargs == 1 && code == SP_TYPE_BYTES)
        return no_signature(t, e, "function SPLIT", a, 1);
    enum em_code rc =
        result(t, out, sqlf(t, "sp_split(%s, %s)", a[0].sql, e->nargs == 2 ? a[1].sql : "','"),
               SP_TYPE_ARRAY);
    out->type.element = code;
    return rc;
}

/* SPLIT_SUBSTR(value, delimiter, start_split[, count]): STRING (sp_split_substr; without a
 * count, every split from start_split on). */
static enum em_code fn_split_substr(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_string) || want_arg(t, e, a, 1, &type_string) ||
        want_arg(t, e, a, 2, &type_int64) || (e->nargs == 4 && want_arg(t, e, a, 3, &type_int64)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_split_substr(%s, %s, %s, %s)", a[0].sql, a[1].sql, a[2].sql,
                       e->nargs == 4 ? a[3].sql : "9223372036854775807"),
                  SP_TYPE_STRING);
}

/* A literal FORMAT pattern is checked here, as Spanner does: the argument count, and each
 * argument's type against its conversion (an untyped NULL is an INT64). */
static enum em_code check_format(struct translator *t, const struct sp_expr *e, struct frag *a)
{
    enum sp_type_code want[64];
    char bad;
    int n = sp_format_pattern(a[0].string_literal, want, 64, &bad);
    if (n < 0 && bad != '%')
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Invalid format specifier character \"%c\" in FORMAT string: \"%s\"", bad,
                       a[0].string_literal);
    if (n < 0)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Invalid FORMAT string: \"%s\"",
                       a[0].string_literal);
    if (n != e->nargs - 1)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Too %s arguments to FORMAT for pattern \"%s\"; Expected %d; Got %d",
                       n < e->nargs - 1 ? "many" : "few", a[0].string_literal, n + 1, e->nargs);
    for (int i = 1; i < e->nargs && i <= 64; i++) {
        enum sp_type_code code = want[i - 1];
        if (a[i].param >= 0 && code != SP_TYPE_UNKNOWN) {
            struct sp_type type = {code, SP_TYPE_UNKNOWN, code == SP_TYPE_STRING ? SP_LEN_MAX : 0};
            enum em_code ignored;
            coerce_quiet(t, &a[i], &type, e->line, e->column, &ignored);
        }
        settle(t, &a[i], a[i].null_literal ? SP_TYPE_INT64 : SP_TYPE_STRING);
        enum sp_type_code got = a[i].type.code;
        if (code != SP_TYPE_UNKNOWN && got != code &&
            !(code == SP_TYPE_FLOAT64 && got == SP_TYPE_FLOAT32))
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "Invalid type for argument %d to FORMAT; Expected %s; Got %s", i + 1,
                           sp_format_type_name(code, true), sp_format_type_name(got, false));
    }
    return EM_OK;
}

static bool append_type_literal(struct sp_buf *buf, const struct sp_type *type);

/* FORMAT(format, args...): each argument goes to sp_format with its type code (checked
 * there again when the pattern is not a literal), a STRUCT's with its whole type. */
static enum em_code fn_format(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_string) || (a[0].string_literal && check_format(t, e, a)))
        return t->st->code;
    struct sp_buf buf = {0};
    sp_buf_printf(&buf, "sp_format(%s", a[0].sql);
    for (int i = 1; i < e->nargs; i++) {
        settle(t, &a[i], SP_TYPE_STRING);
        if (a[i].type.code == SP_TYPE_STRUCT || a[i].type.element == SP_TYPE_STRUCT) {
            sp_buf_puts(&buf, ", ");
            if (!append_type_literal(&buf, &a[i].type)) {
                sp_buf_free(&buf);
                return EM_FAIL_OOM(t->st);
            }
            sp_buf_printf(&buf, ", %s", a[i].sql);
        } else {
            sp_buf_printf(&buf, ", %d, %s", SP_FORMAT_CODE(a[i].type), a[i].sql);
        }
    }
    sp_buf_puts(&buf, ")");
    return result(t, out, finish_sql(t, &buf), SP_TYPE_STRING);
}

static const struct sp_type type_json = {SP_TYPE_JSON, SP_TYPE_UNKNOWN, 0};

/* JSON_VALUE, JSON_QUERY, JSON_VALUE_ARRAY, JSON_QUERY_ARRAY (JSON or a STRING holding JSON
 * [, JSONPath]): STRING, the input's type, ARRAY<STRING>, and ARRAY of the input's type */
static enum em_code fn_json_path(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    settle(t, &a[0], SP_TYPE_STRING);
    enum sp_type_code code = a[0].type.code;
    if ((code != SP_TYPE_JSON && code != SP_TYPE_STRING) ||
        (e->nargs == 2 && want_arg(t, e, a, 1, &type_string)))
        return t->st->code ? t->st->code : no_signature(t, e, "function", a, e->nargs);
    bool query = strncmp(e->name, "JSON_QUERY", 10) == 0, array = strstr(e->name, "_ARRAY") != NULL;
    const char *path = e->nargs == 2 ? a[1].sql : "'$'";
    if (!array)
        return result(t, out, sqlf(t, "sp_json_extract(%s, %s, %d)", a[0].sql, path, query),
                      query ? code : SP_TYPE_STRING);
    enum em_code result_code = result(
        t, out, sqlf(t, "sp_json_array_at(%s, %s, %d)", a[0].sql, path, !query), SP_TYPE_ARRAY);
    out->type.element = query ? code : SP_TYPE_STRING;
    return result_code;
}

/* JSON_TYPE (JSON): STRING; PARSE_JSON (STRING): JSON */
static enum em_code fn_json_type_parse(struct translator *t, const struct sp_expr *e,
                                       struct frag *a, struct frag *out)
{
    bool type = strcmp(e->name, "JSON_TYPE") == 0;
    if (want_arg(t, e, a, 0, type ? &type_json : &type_string) ||
        (e->nargs == 2 && want_arg(t, e, a, 1, &type_string)))
        return t->st->code;
    if (type)
        return result(t, out, sqlf(t, "sp_json_type(%s)", a[0].sql), SP_TYPE_STRING);
    /* wide_number_mode => 'exact' (the default) or 'round' */
    return result(t, out,
                  sqlf(t, "sp_parse_json(%s, %s)", a[0].sql, e->nargs == 2 ? a[1].sql : "'exact'"),
                  SP_TYPE_JSON);
}

/* BOOL, INT64, FLOAT64, STRING and LAX_BOOL, LAX_INT64, LAX_FLOAT64, LAX_STRING (JSON): the
 * type of the name */
static enum em_code fn_json_to(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_json))
        return t->st->code;
    const char *type = strncmp(e->name, "LAX_", 4) == 0 ? e->name + 4 : e->name;
    return result(t, out, sqlf(t, "sp_json_to(%s, '%s')", a[0].sql, e->name),
                  sp_type_code_parse(type));
}

/* BOOL_ARRAY, INT64_ARRAY, FLOAT64_ARRAY, FLOAT32_ARRAY, STRING_ARRAY (JSON): an ARRAY of
 * the type the name starts with */
static enum em_code fn_json_to_array(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_json))
        return t->st->code;
    char element[16];
    snprintf(element, sizeof(element), "%.*s", (int)(strlen(e->name) - strlen("_ARRAY")), e->name);
    enum em_code code =
        result(t, out, sqlf(t, "sp_json_to_array(%s, '%s')", a[0].sql, element), SP_TYPE_ARRAY);
    out->type.element = sp_type_code_parse(element);
    return code;
}

/* Appends the REST Type of a value as an SQL string literal (what sp_to_json and the
 * JSON constructors read each value's type from). */
static bool append_type_literal(struct sp_buf *buf, const struct sp_type *type)
{
    cJSON *json = sp_type_to_json(type);
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (text)
        sp_buf_string(buf, text, strlen(text));
    free(text);
    return text != NULL;
}

/* TO_JSON (any, stringify_wide_numbers => BOOL): JSON, numbers a double cannot hold
 * exactly written as strings when asked (NULL: NULL) */
static enum em_code fn_to_json_wide(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    struct frag *out)
{
    struct sp_buf type = {0};
    settle(t, &a[0], SP_TYPE_INT64);
    if (want_arg(t, e, a, 1, &type_bool))
        return t->st->code;
    if (!append_type_literal(&type, &a[0].type) || type.failed) {
        sp_buf_free(&type);
        return EM_FAIL_OOM(t->st);
    }
    const char *sql = sqlf(t, "sp_to_json(%s, %s, %s)", type.data, a[0].sql, a[1].sql);
    sp_buf_free(&type);
    return result(t, out, sql, SP_TYPE_JSON);
}

/* TO_JSON (any), JSON_ARRAY (any, ...), JSON_OBJECT (STRING, any, ...) and JSON_OBJECT
 * (ARRAY<STRING>, ARRAY): JSON; TO_JSON_STRING (JSON): STRING */
static enum em_code fn_to_json(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    if (strcmp(e->name, "TO_JSON_STRING") == 0) {
        if (want_arg(t, e, a, 0, &type_json))
            return t->st->code;
        return result(t, out, sqlf(t, "sp_to_json_string(%s)", a[0].sql), SP_TYPE_STRING);
    }
    if (strcmp(e->name, "TO_JSON") == 0 && e->nargs == 2)
        return fn_to_json_wide(t, e, a, out);
    bool object = strcmp(e->name, "JSON_OBJECT") == 0;
    bool arrays = object && e->nargs == 2 && a[0].type.code == SP_TYPE_ARRAY;
    if (object && !arrays && e->nargs % 2 != 0)
        return no_signature(t, e, "function", a, e->nargs);
    /* the arguments first, so that a refusal leaves nothing to free */
    static const struct sp_type strings = {SP_TYPE_ARRAY, SP_TYPE_STRING, SP_LEN_MAX};
    for (int i = 0; i < e->nargs; i++) {
        bool key = object && (arrays ? i == 0 : i % 2 == 0);
        if (key && want_arg(t, e, a, i, arrays ? &strings : &type_string))
            return t->st->code;
        settle(t, &a[i], SP_TYPE_INT64);
        if (arrays && i == 1 && a[i].type.code != SP_TYPE_ARRAY)
            return no_signature(t, e, "function", a, e->nargs);
    }
    struct sp_buf buf = {0};
    sp_buf_puts(&buf, strcmp(e->name, "TO_JSON") == 0 ? "sp_to_json("
                      : arrays                        ? "sp_json_object_arrays("
                      : object                        ? "sp_json_object("
                                                      : "sp_json_array(");
    for (int i = 0; i < e->nargs; i++) {
        bool key = object && (arrays ? i == 0 : i % 2 == 0);
        if (i > 0)
            sp_buf_puts(&buf, ", ");
        if (!key && !append_type_literal(&buf, &a[i].type)) { /* a value: its type first */
            sp_buf_free(&buf);
            return EM_FAIL_OOM(t->st);
        }
        if (!key)
            sp_buf_puts(&buf, ", ");
        sp_buf_puts(&buf, a[i].sql);
    }
    sp_buf_puts(&buf, ")");
    return result(t, out, finish_sql(t, &buf), SP_TYPE_JSON);
}

/* The number of positional arguments of a call (named_arguments put them first). */
static int positional_count(const struct sp_expr *e)
{
    int n = 0;
    while (n < e->nargs && !e->args[n]->arg_name)
        n++;
    return n;
}

/* The index of the argument a call names `name`, or -1. */
static int named_index(const struct sp_expr *e, const char *name)
{
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i]->arg_name && strcasecmp(e->args[i]->arg_name, name) == 0)
            return i;
    return -1;
}

/* JSON_SET, JSON_ARRAY_APPEND, JSON_ARRAY_INSERT (JSON, path STRING, value, ... [, a named
 * BOOL: create_if_missing, append_each_element, insert_each_element]): JSON, each value
 * passed with its type, as TO_JSON takes it */
static enum em_code fn_json_edit(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    bool set = strcmp(e->name, "JSON_SET") == 0;
    bool insert = strcmp(e->name, "JSON_ARRAY_INSERT") == 0;
    int positional = positional_count(e);
    int flag = named_index(e, set      ? "create_if_missing"
                              : insert ? "insert_each_element"
                                       : "append_each_element");
    if (positional < 3 || (positional - 1) % 2 != 0)
        return no_signature(t, e, "function", a, e->nargs);
    if (want_arg(t, e, a, 0, &type_json) || (flag >= 0 && want_arg(t, e, a, flag, &type_bool)))
        return t->st->code;
    struct sp_buf buf = {0};
    const char *flag_sql = flag >= 0 ? a[flag].sql : "1";
    if (set)
        sp_buf_printf(&buf, "sp_json_set(%s, %s", a[0].sql, flag_sql);
    else
        sp_buf_printf(&buf, "sp_json_array_add(%s, %s, %d", a[0].sql, flag_sql, insert);
    for (int i = 1; i + 1 < positional; i += 2) {
        if (want_arg(t, e, a, i, &type_string)) {
            sp_buf_free(&buf);
            return t->st->code;
        }
        settle(t, &a[i + 1], SP_TYPE_INT64);
        sp_buf_printf(&buf, ", %s, ", a[i].sql);
        if (!append_type_literal(&buf, &a[i + 1].type)) {
            sp_buf_free(&buf);
            return EM_FAIL_OOM(t->st);
        }
        sp_buf_printf(&buf, ", %s", a[i + 1].sql);
    }
    sp_buf_puts(&buf, ")");
    return result(t, out, finish_sql(t, &buf), SP_TYPE_JSON);
}

/* JSON_CONTAINS (JSON, JSON): BOOL */
static enum em_code fn_json_contains(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_json) || want_arg(t, e, a, 1, &type_json))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_json_contains(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_BOOL);
}

/* JSON_REMOVE (JSON, path STRING, ...): JSON */
static enum em_code fn_json_remove(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    for (int i = 0; i < e->nargs; i++)
        if (want_arg(t, e, a, i, i == 0 ? &type_json : &type_string))
            return t->st->code;
    return result(t, out, sqlf(t, "sp_json_remove(%s)", join_args(t, a, 0, e->nargs)),
                  SP_TYPE_JSON);
}

/* JSON_STRIP_NULLS (JSON [, path STRING] [, include_arrays => BOOL] [, remove_empty =>
 * BOOL]): JSON */
static enum em_code fn_json_strip_nulls(struct translator *t, const struct sp_expr *e,
                                        struct frag *a, struct frag *out)
{
    int positional = positional_count(e);
    int include_arrays = named_index(e, "include_arrays");
    int remove_empty = named_index(e, "remove_empty");
    if (want_arg(t, e, a, 0, &type_json) ||
        (positional == 2 && want_arg(t, e, a, 1, &type_string)) ||
        (include_arrays >= 0 && want_arg(t, e, a, include_arrays, &type_bool)) ||
        (remove_empty >= 0 && want_arg(t, e, a, remove_empty, &type_bool)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_json_strip_nulls(%s, %s, %s, %s)", a[0].sql,
                       positional == 2 ? a[1].sql : "'$'",
                       include_arrays >= 0 ? a[include_arrays].sql : "1",
                       remove_empty >= 0 ? a[remove_empty].sql : "0"),
                  SP_TYPE_JSON);
}

/* ---- dates and timestamps ---- */

static const struct sp_type type_date = {SP_TYPE_DATE, SP_TYPE_UNKNOWN, 0};
static const struct sp_type type_timestamp = {SP_TYPE_TIMESTAMP, SP_TYPE_UNKNOWN, 0};

/* Nanoseconds in a TIMESTAMP_ADD/DIFF unit; 0 for a part those functions refuse. */
static long long part_nanos(const char *part)
{
    static const struct {
        const char *part;
        long long nanos;
    } units[] = {{"NANOSECOND", 1LL},      {"MICROSECOND", 1000LL},   {"MILLISECOND", 1000000LL},
                 {"SECOND", 1000000000LL}, {"MINUTE", 60000000000LL}, {"HOUR", 3600000000000LL},
                 {"DAY", 86400000000000LL}};
    for (size_t i = 0; part && i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(units[i].part, part) == 0)
            return units[i].nanos;
    return 0;
}

static bool date_part_ok(const char *part)
{
    return part &&
           (strcmp(part, "DAY") == 0 || strcmp(part, "WEEK") == 0 || strcmp(part, "MONTH") == 0 ||
            strcmp(part, "QUARTER") == 0 || strcmp(part, "YEAR") == 0);
}

/* DATE_DIFF's parts: DATE_ADD's and the ISO weeks and years. */
static bool date_diff_part_ok(const char *part)
{
    return date_part_ok(part) ||
           (part && (strcmp(part, "ISOWEEK") == 0 || strcmp(part, "ISOYEAR") == 0));
}

static enum em_code want_part(struct translator *t, const struct sp_expr *e, const struct frag *a,
                              bool interval, bool ok)
{
    if (interval ? !a->part || a->sql[0] == '\0' : !a->part || a->sql[0] != '\0')
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "%s expects %s", e->name,
                       interval ? "an INTERVAL argument" : "a date part argument");
    if (!ok)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unsupported date part %s in function %s",
                       a->part, e->name);
    return EM_OK;
}

static enum em_code fn_current_timestamp(struct translator *t, const struct sp_expr *e,
                                         struct frag *a, struct frag *out)
{
    (void)e;
    (void)a;
    return result(t, out, "sp_current_timestamp()", SP_TYPE_TIMESTAMP);
}

static enum em_code fn_timestamp_add(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    if (a[0].part || want_arg(t, e, a, 0, &type_timestamp) ||
        want_part(t, e, &a[1], true, part_nanos(a[1].part) != 0))
        return t->st->code ? t->st->code : want_part(t, e, &a[0], true, false);
    bool sub = strcmp(e->name, "TIMESTAMP_SUB") == 0;
    return result(t, out,
                  sqlf(t, "sp_timestamp_add(%s, %s%s%s, %lld)", a[0].sql,
                       sub ? "sp_int64_neg(" : "", a[1].sql, sub ? ")" : "", part_nanos(a[1].part)),
                  SP_TYPE_TIMESTAMP);
}

static enum em_code fn_timestamp_diff(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    if (a[0].part || a[1].part || want_arg(t, e, a, 0, &type_timestamp) ||
        want_arg(t, e, a, 1, &type_timestamp) ||
        want_part(t, e, &a[2], false, part_nanos(a[2].part) != 0))
        return t->st->code ? t->st->code : want_part(t, e, &a[0], false, false);
    return result(
        t, out,
        sqlf(t, "sp_timestamp_diff(%s, %s, %lld)", a[0].sql, a[1].sql, part_nanos(a[2].part)),
        SP_TYPE_INT64);
}

static enum em_code fn_date_add(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    if (a[0].part || want_arg(t, e, a, 0, &type_date) ||
        want_part(t, e, &a[1], true, date_part_ok(a[1].part)))
        return t->st->code ? t->st->code : want_part(t, e, &a[0], true, false);
    bool sub = strcmp(e->name, "DATE_SUB") == 0 || strcmp(e->name, "SUBDATE") == 0;
    return result(t, out,
                  sqlf(t, "sp_date_add(%s, %s%s%s, '%s')", a[0].sql, sub ? "sp_int64_neg(" : "",
                       a[1].sql, sub ? ")" : "", a[1].part),
                  SP_TYPE_DATE);
}

static enum em_code fn_date_diff(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    if (a[0].part || a[1].part || want_arg(t, e, a, 0, &type_date) ||
        want_arg(t, e, a, 1, &type_date) ||
        want_part(t, e, &a[2], false, date_diff_part_ok(a[2].part)))
        return t->st->code ? t->st->code : want_part(t, e, &a[0], false, false);
    return result(t, out, sqlf(t, "sp_date_diff(%s, %s, '%s')", a[0].sql, a[1].sql, a[2].part),
                  SP_TYPE_INT64);
}

static enum em_code fn_extract(struct translator *t, const struct sp_expr *e, struct frag *a,
                               struct frag *out)
{
    static const char *const date_parts[] = {"YEAR",      "MONTH",     "DAY",  "QUARTER",
                                             "DAYOFYEAR", "DAYOFWEEK", "WEEK", "ISOYEAR",
                                             "ISOWEEK",   NULL};
    static const char *const time_parts[] = {"HOUR",        "MINUTE",     "SECOND", "MILLISECOND",
                                             "MICROSECOND", "NANOSECOND", NULL};
    /* SAFE.EXTRACT(...) is parsed as a call: its first argument may be no date part */
    if (!a[0].part || a[0].sql[0] != '\0')
        return FAIL_AT(t, e->args[0], EM_INVALID_ARGUMENT, "A valid date part name is required");
    /* an untyped parameter takes EXTRACT's first signature, DATE; a TIMESTAMP where only
     * it fits (EXTRACT(DATE FROM ...), AT TIME ZONE), as in Spanner */
    if (is_open(&a[1]) && a[1].param >= 0 &&
        coerce(t, &a[1],
               strcmp(a[0].part, "DATE") == 0 || e->nargs == 3 ? &type_timestamp : &type_date,
               e->line, e->column, "EXTRACT"))
        return t->st->code;
    settle(t, &a[1], SP_TYPE_DATE);
    bool timestamp = a[1].type.code == SP_TYPE_TIMESTAMP;
    if (a[1].type.code != SP_TYPE_DATE && !timestamp)
        return no_signature(t, e, "function EXTRACT", a + 1, 1);
    /* AT TIME ZONE: the zone a TIMESTAMP is read in (Spanner's default zone,
     * America/Los_Angeles, without it); a DATE has none */
    const char *zone = "NULL";
    if (e->nargs == 3) {
        if (!timestamp)
            return no_signature(t, e, "function EXTRACT", a + 1, 2);
        if (want_arg(t, e, a, 2, &type_string))
            return t->st->code;
        zone = a[2].sql;
    }
    bool date_part = false, time_part = false;
    for (int i = 0; date_parts[i]; i++)
        date_part |= strcmp(date_parts[i], a[0].part) == 0;
    for (int i = 0; timestamp && time_parts[i]; i++)
        time_part |= strcmp(time_parts[i], a[0].part) == 0;
    const char *sql;
    enum sp_type_code code = SP_TYPE_INT64;
    if (timestamp && strcmp(a[0].part, "DATE") == 0) {
        sql = sqlf(t, "sp_timestamp_date(%s, %s)", a[1].sql, zone);
        code = SP_TYPE_DATE;
    } else if (time_part) {
        sql = sqlf(t, "sp_timestamp_part('%s', %s, %s)", a[0].part, a[1].sql, zone);
    } else if (date_part) {
        const char *date =
            timestamp ? sqlf(t, "sp_timestamp_date(%s, %s)", a[1].sql, zone) : a[1].sql;
        sql = sqlf(t, "sp_extract_date('%s', %s)", a[0].part, date);
    } else {
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Unsupported date part %s in function EXTRACT%s",
                       a[0].part, timestamp ? "" : " on a DATE");
    }
    /* a NULL zone makes the result NULL (the functions read SQL NULL as the default zone) */
    if (e->nargs == 3 && sql)
        sql = sqlf(t, "CASE WHEN %s IS NOT NULL THEN %s END", zone, sql);
    return result(t, out, sql, code);
}

static bool trunc_part_ok(const char *part, bool timestamp)
{
    static const char *const parts[] = {
        "DAY",  "WEEK",   "ISOWEEK", "MONTH",       "QUARTER",     "YEAR", "ISOYEAR",
        "HOUR", "MINUTE", "SECOND",  "MILLISECOND", "MICROSECOND", NULL};
    for (int i = 0; part && parts[i]; i++)
        if (strcmp(parts[i], part) == 0)
            return timestamp || i < 7;
    return false;
}

/* TIMESTAMP_TRUNC(ts, part [, zone]) and DATE_TRUNC(date, part). */
static enum em_code fn_trunc(struct translator *t, const struct sp_expr *e, struct frag *a,
                             struct frag *out)
{
    bool timestamp = strcmp(e->name, "TIMESTAMP_TRUNC") == 0;
    if (a[0].part || want_arg(t, e, a, 0, timestamp ? &type_timestamp : &type_date) ||
        want_part(t, e, &a[1], false, trunc_part_ok(a[1].part, timestamp)) ||
        (e->nargs == 3 && want_arg(t, e, a, 2, &type_string)))
        return t->st->code ? t->st->code : want_part(t, e, &a[0], false, false);
    if (!timestamp)
        return result(t, out, sqlf(t, "sp_date_trunc(%s, '%s')", a[0].sql, a[1].part),
                      SP_TYPE_DATE);
    return result(t, out,
                  sqlf(t, "sp_timestamp_trunc(%s, '%s', %s)", a[0].sql, a[1].part,
                       e->nargs == 3 ? a[2].sql : "NULL"),
                  SP_TYPE_TIMESTAMP);
}

/* FORMAT_TIMESTAMP/FORMAT_DATE(format, value [, zone]) and PARSE_TIMESTAMP/PARSE_DATE(format,
 * text [, zone]). */
static enum em_code fn_format_time(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    bool timestamp = strstr(e->name, "TIMESTAMP") != NULL;
    bool parse = strncmp(e->name, "PARSE", 5) == 0;
    const struct sp_type *value = parse ? &type_string : timestamp ? &type_timestamp : &type_date;
    if (want_arg(t, e, a, 0, &type_string) || want_arg(t, e, a, 1, value) ||
        (e->nargs == 3 && want_arg(t, e, a, 2, &type_string)))
        return t->st->code;
    if (e->nargs == 3 && !timestamp)
        return no_signature(t, e, "function", a, e->nargs);
    char name[32];
    snprintf(name, sizeof(name), "sp_%s", e->name);
    for (char *c = name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *zone = !timestamp ? "" : e->nargs == 3 ? sqlf(t, ", %s", a[2].sql) : ", NULL";
    return result(t, out, sqlf(t, "%s(%s, %s%s)", name, a[0].sql, a[1].sql, zone),
                  !parse      ? SP_TYPE_STRING
                  : timestamp ? SP_TYPE_TIMESTAMP
                              : SP_TYPE_DATE);
}

/* DATE(year, month, day), DATE(timestamp [, zone]). */
static enum em_code fn_date(struct translator *t, const struct sp_expr *e, struct frag *a,
                            struct frag *out)
{
    if (e->nargs == 3) {
        for (int i = 0; i < 3; i++)
            if (want_arg(t, e, a, i, &type_int64))
                return t->st->code;
        return result(t, out, sqlf(t, "sp_date_ymd(%s, %s, %s)", a[0].sql, a[1].sql, a[2].sql),
                      SP_TYPE_DATE);
    }
    settle(t, &a[0], SP_TYPE_TIMESTAMP);
    if (want_arg(t, e, a, 0, &type_timestamp) ||
        (e->nargs == 2 && want_arg(t, e, a, 1, &type_string)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_timestamp_date(%s, %s)", a[0].sql, e->nargs == 2 ? a[1].sql : "NULL"),
                  SP_TYPE_DATE);
}

/* TIMESTAMP(string [, zone]), TIMESTAMP(date [, zone]). */
static enum em_code fn_timestamp(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    settle(t, &a[0], SP_TYPE_STRING);
    bool date = a[0].type.code == SP_TYPE_DATE;
    if (want_arg(t, e, a, 0, date ? &type_date : &type_string) ||
        (e->nargs == 2 && want_arg(t, e, a, 1, &type_string)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "%s(%s, %s)", date ? "sp_date_timestamp" : "sp_string_timestamp",
                       a[0].sql, e->nargs == 2 ? a[1].sql : "NULL"),
                  SP_TYPE_TIMESTAMP);
}

/* The unit in nanoseconds of UNIX_SECONDS/MILLIS/MICROS and TIMESTAMP_SECONDS/MILLIS/MICROS
 * (0: UNIX_DATE and DATE_FROM_UNIX_DATE, in days). */
static long long unix_unit(const char *name)
{
    return strstr(name, "MICROS")    ? 1000
           : strstr(name, "MILLIS")  ? 1000000
           : strstr(name, "SECONDS") ? 1000000000
                                     : 0;
}

/* UNIX_SECONDS, UNIX_MILLIS, UNIX_MICROS (of a TIMESTAMP) and UNIX_DATE (of a DATE). */
static enum em_code fn_unix(struct translator *t, const struct sp_expr *e, struct frag *a,
                            struct frag *out)
{
    long long unit = unix_unit(e->name);
    if (want_arg(t, e, a, 0, unit ? &type_timestamp : &type_date))
        return t->st->code;
    return result(t, out,
                  unit ? sqlf(t, "sp_unix(%s, %lld)", a[0].sql, unit)
                       : sqlf(t, "sp_unix_date(%s)", a[0].sql),
                  SP_TYPE_INT64);
}

/* TIMESTAMP_SECONDS, TIMESTAMP_MILLIS, TIMESTAMP_MICROS and DATE_FROM_UNIX_DATE. */
static enum em_code fn_from_unix(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    long long unit = unix_unit(e->name);
    if (want_arg(t, e, a, 0, &type_int64))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_from_unix(%s, %lld)", a[0].sql, unit),
                  unit ? SP_TYPE_TIMESTAMP : SP_TYPE_DATE);
}

/* ---- strings, bytes and arrays: spanner_sql_strings_arrays.c ---- */

static const struct sp_type type_bytes = {SP_TYPE_BYTES, SP_TYPE_UNKNOWN, SP_LEN_MAX};

/* LPAD, RPAD (value, length [, pattern]): STRING or BYTES, the pattern of the value's type. */
static enum em_code fn_pad(struct translator *t, const struct sp_expr *e, struct frag *a,
                           struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 1, &code) || want_arg(t, e, a, 1, &type_int64) ||
        (e->nargs == 3 && want_arg(t, e, a, 2, code == SP_TYPE_BYTES ? &type_bytes : &type_string)))
        return t->st->code;
    const char *pattern = e->nargs == 3 ? a[2].sql : code == SP_TYPE_BYTES ? "X'20'" : "' '";
    return result(t, out,
                  sqlf(t, "sp_pad(%s, %s, %s, %d)", a[0].sql, a[1].sql, pattern,
                       strcmp(e->name, "LPAD") == 0),
                  code);
}

/* REPEAT (value, count), REVERSE (value) */
static enum em_code fn_repeat_reverse(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    enum sp_type_code code;
    bool repeat = strcmp(e->name, "REPEAT") == 0;
    if (want_text(t, e, a, 1, &code) || (repeat && want_arg(t, e, a, 1, &type_int64)))
        return t->st->code;
    return result(t, out,
                  repeat ? sqlf(t, "sp_repeat(%s, %s)", a[0].sql, a[1].sql)
                         : sqlf(t, "sp_reverse(%s)", a[0].sql),
                  code);
}

/* SHA1, SHA256, SHA512, MD5 (STRING or BYTES): BYTES */
static enum em_code fn_digest(struct translator *t, const struct sp_expr *e, struct frag *a,
                              struct frag *out)
{
    enum sp_type_code code;
    if (want_text(t, e, a, 1, &code))
        return t->st->code;
    const char *md = strcmp(e->name, "MD5") == 0      ? "md5"
                     : strcmp(e->name, "SHA1") == 0   ? "sha1"
                     : strcmp(e->name, "SHA256") == 0 ? "sha256"
                                                      : "sha512";
    return result(t, out, sqlf(t, "sp_digest(%s, '%s')", a[0].sql, md), SP_TYPE_BYTES);
}

/* TO_BASE64, TO_HEX (BYTES): STRING; FROM_BASE64, FROM_HEX (STRING): BYTES */
static enum em_code fn_encoding(struct translator *t, const struct sp_expr *e, struct frag *a,
                                struct frag *out)
{
    bool to = strncmp(e->name, "TO_", 3) == 0;
    const char *code = strstr(e->name, "HEX") ? "hex" : strstr(e->name, "32") ? "base32" : "base64";
    if (want_arg(t, e, a, 0, to ? &type_bytes : &type_string))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_%s_%s(%s)", to ? "to" : "from", code, a[0].sql),
                  to ? SP_TYPE_STRING : SP_TYPE_BYTES);
}

/* The array argument i of an array function; an untyped NULL has no array type. */
static enum em_code want_array(struct translator *t, const struct sp_expr *e, struct frag *a, int i,
                               enum sp_type_code *element)
{
    if (a[i].type.code != SP_TYPE_ARRAY && strcmp(e->name, "ARRAY_CONCAT") == 0) {
        char have[48];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "The argument to ARRAY_CONCAT (or ARRAY_CONCAT_AGG) must be an array type "
                       "but was %s",
                       is_open(&a[i]) ? "NULL" : type_name(&a[i].type, have, sizeof(have)));
    }
    if (a[i].type.code != SP_TYPE_ARRAY) {
        char what[80];
        snprintf(what, sizeof(what), "function %s", e->name);
        return no_signature(t, e, what, a, e->nargs);
    }
    *element = a[i].type.element;
    return EM_OK;
}

/* ARRAY_TO_STRING (array of STRING or BYTES, delimiter [, null text]) */
static enum em_code fn_array_to_string(struct translator *t, const struct sp_expr *e,
                                       struct frag *a, struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    if (want_array(t, e, a, 0, &element))
        return t->st->code;
    if (element != SP_TYPE_STRING && element != SP_TYPE_BYTES)
        return no_signature(t, e, "function ARRAY_TO_STRING", a, e->nargs);
    const struct sp_type *text = element == SP_TYPE_BYTES ? &type_bytes : &type_string;
    if (want_arg(t, e, a, 1, text) || (e->nargs == 3 && want_arg(t, e, a, 2, text)))
        return t->st->code;
    return result(t, out,
                  sqlf(t, "sp_array_to_string(%s, %s, %s, %d)", a[0].sql, a[1].sql,
                       e->nargs == 3 ? a[2].sql : "NULL", element == SP_TYPE_BYTES),
                  element);
}

/* ARRAY_REVERSE (array), ARRAY_CONCAT (array, ...): an array of the same type */
static enum em_code fn_array_reshape(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    for (int i = 0; i < e->nargs; i++) {
        if (want_array(t, e, a, i, &element))
            return t->st->code;
    }
    struct sp_type common = a[0].type; /* an untyped [] takes the others' type */
    if (e->nargs > 1 && unify(t, e, "function ARRAY_CONCAT", a, e->nargs, &common))
        return t->st->code;
    for (int i = 1; i < e->nargs; i++)
        if (!sp_type_equal(&a[i].type, &a[0].type))
            return no_signature(t, e, "function ARRAY_CONCAT", a, e->nargs);
    const char *sql = e->nargs == 1 && strcmp(e->name, "ARRAY_REVERSE") == 0
                          ? sqlf(t, "sp_array_reverse(%s)", a[0].sql)
                          : sqlf(t, "sp_array_concat(%s)", join_args(t, a, 0, e->nargs));
    enum em_code code = result(t, out, sql, SP_TYPE_ARRAY);
    out->type = a[0].type;
    return code;
}

/* ARRAY_INCLUDES (array, value): BOOL */
static enum em_code fn_array_includes(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    if (want_array(t, e, a, 0, &element))
        return t->st->code;
    struct frag elem = typed("", element);
    elem.type = sp_type_element(&a[0].type);
    struct sp_type common;
    struct frag pair[2] = {a[1], elem};
    if (unify(t, e, "function ARRAY_INCLUDES", pair, 2, &common))
        return t->st->code;
    if (!sp_type_equal(&common, &elem.type))
        return no_signature(t, e, "function ARRAY_INCLUDES", a, 2);
    return result(t, out,
                  sqlf(t, "sp_array_includes(%s, sp_array(%d, %s), %d)", a[0].sql, element,
                       pair[0].sql, is_float(element)),
                  SP_TYPE_BOOL);
}

/* ARRAY_INCLUDES_ANY, ARRAY_INCLUDES_ALL (array, array of the same element type): BOOL */
static enum em_code fn_array_includes_set(struct translator *t, const struct sp_expr *e,
                                          struct frag *a, struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN, searched = SP_TYPE_UNKNOWN;
    for (int i = 0; i < 2; i++) /* an untyped NULL takes the other array's type */
        if (is_open(&a[i]) && a[1 - i].type.code == SP_TYPE_ARRAY &&
            want_arg(t, e, a, i, &a[1 - i].type))
            return t->st->code;
    if (want_array(t, e, a, 0, &element) || want_array(t, e, a, 1, &searched))
        return t->st->code;
    if (searched != SP_TYPE_UNKNOWN && !sp_type_equal(&a[0].type, &a[1].type)) {
        char what[64];
        snprintf(what, sizeof(what), "function %s", e->name);
        return no_signature(t, e, what, a, 2);
    }
    return result(t, out,
                  sqlf(t, "sp_array_includes_set(%s, %s, %d, %d)", a[0].sql, a[1].sql,
                       strcmp(e->name, "ARRAY_INCLUDES_ALL") == 0, is_float(element)),
                  SP_TYPE_BOOL);
}

/* ARRAY_FIRST, ARRAY_LAST (array): its element type */
static enum em_code fn_array_edge(struct translator *t, const struct sp_expr *e, struct frag *a,
                                  struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    if (want_array(t, e, a, 0, &element))
        return t->st->code;
    enum em_code code = result(t, out,
                               sqlf(t, "sp_array_element(sp_array_edge(%s, %d), %d)", a[0].sql,
                                    strcmp(e->name, "ARRAY_LAST") == 0, element),
                               element);
    out->type = sp_type_element(&a[0].type);
    if (element == SP_TYPE_STRING || element == SP_TYPE_BYTES)
        out->type.length = SP_LEN_MAX;
    return code;
}

/* GENERATE_ARRAY (start, end [, step]) of INT64 or FLOAT64 */
static enum em_code fn_generate_array(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    bool is_float = false;
    for (int i = 0; i < e->nargs; i++) {
        settle(t, &a[i], SP_TYPE_INT64);
        if (a[i].type.code == SP_TYPE_FLOAT64 || a[i].type.code == SP_TYPE_FLOAT32)
            is_float = true;
        else if (a[i].type.code != SP_TYPE_INT64)
            return no_signature(t, e, "function GENERATE_ARRAY", a, e->nargs);
    }
    for (int i = 0; i < e->nargs; i++)
        if (want_arg(t, e, a, i, is_float ? &f64 : &type_int64))
            return t->st->code;
    enum em_code code = result(t, out,
                               sqlf(t, "sp_generate_array(%s, %s, %s, %d)", a[0].sql, a[1].sql,
                                    e->nargs == 3 ? a[2].sql : "1", is_float),
                               SP_TYPE_ARRAY);
    out->type.element = is_float ? SP_TYPE_FLOAT64 : SP_TYPE_INT64;
    return code;
}

/* CURRENT_DATE ([zone]): the date of now in the zone (Spanner's default one, else) */
static enum em_code fn_current_date(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    struct frag *out)
{
    if (e->nargs == 1 && want_arg(t, e, a, 0, &type_string))
        return t->st->code;
    return result(
        t, out,
        sqlf(t, "sp_timestamp_date(sp_current_timestamp(), %s)", e->nargs == 1 ? a[0].sql : "NULL"),
        SP_TYPE_DATE);
}

/* ARRAY_MAX, ARRAY_MIN (array): the largest or smallest element, NULLs left out, NaN when
 * one is NaN */
static enum em_code fn_array_extreme(struct translator *t, const struct sp_expr *e, struct frag *a,
                                     struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    if (want_array(t, e, a, 0, &element))
        return t->st->code;
    if (!comparable(element) || element == SP_TYPE_STRUCT)
        return no_signature(t, e, e->name, a, 1);
    const char *fn = strcmp(e->name, "ARRAY_MAX") == 0 ? "max" : "min";
    const char *aggregate = sqlf(t, "%s(v)", fn);
    if (is_float(element))
        aggregate = float_aggregate(t, aggregate, "v", false);
    enum em_code code = result(
        t, out,
        sqlf(t, "(SELECT %s FROM (SELECT sp_array_element(value, %d) AS v FROM json_each(%s)))",
             aggregate, element, a[0].sql),
        element);
    out->type = sp_type_element(&a[0].type);
    if (element == SP_TYPE_STRING || element == SP_TYPE_BYTES)
        out->type.length = SP_LEN_MAX;
    return code;
}

/* ARRAY_SLICE (array, start, end), ARRAY_IS_DISTINCT (array) */
static enum em_code fn_array_slice(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    enum sp_type_code element = SP_TYPE_UNKNOWN;
    if (want_array(t, e, a, 0, &element))
        return t->st->code;
    if (strcmp(e->name, "ARRAY_IS_DISTINCT") == 0)
        return result(t, out, sqlf(t, "sp_array_is_distinct(%s)", a[0].sql), SP_TYPE_BOOL);
    if (want_arg(t, e, a, 1, &type_int64) || want_arg(t, e, a, 2, &type_int64))
        return t->st->code;
    enum em_code code = result(
        t, out, sqlf(t, "sp_array_slice(%s, %s, %s)", a[0].sql, a[1].sql, a[2].sql), SP_TYPE_ARRAY);
    out->type = a[0].type;
    return code;
}

/* BIT_COUNT (INT64 or BYTES): INT64 */
static enum em_code fn_bit_count(struct translator *t, const struct sp_expr *e, struct frag *a,
                                 struct frag *out)
{
    settle(t, &a[0], SP_TYPE_INT64);
    if (a[0].type.code != SP_TYPE_INT64 && a[0].type.code != SP_TYPE_BYTES)
        return no_signature(t, e, "function BIT_COUNT", a, 1);
    return result(t, out, sqlf(t, "sp_bit_count(%s)", a[0].sql), SP_TYPE_INT64);
}

/* CODE_POINTS_TO_STRING, CODE_POINTS_TO_BYTES (ARRAY<INT64>) */
static enum em_code fn_code_points_to(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    static const struct sp_type int64_array = {SP_TYPE_ARRAY, SP_TYPE_INT64, 0};
    if (want_arg(t, e, a, 0, &int64_array))
        return t->st->code;
    bool bytes = strcmp(e->name, "CODE_POINTS_TO_BYTES") == 0;
    return result(t, out, sqlf(t, "sp_code_points_to(%s, %d)", a[0].sql, bytes),
                  bytes ? SP_TYPE_BYTES : SP_TYPE_STRING);
}

/* TO_CODE_POINTS (STRING or BYTES): ARRAY<INT64> */
static enum em_code fn_to_code_points(struct translator *t, const struct sp_expr *e, struct frag *a,
                                      struct frag *out)
{
    settle(t, &a[0], SP_TYPE_STRING);
    if (a[0].type.code != SP_TYPE_STRING && a[0].type.code != SP_TYPE_BYTES)
        return no_signature(t, e, "function TO_CODE_POINTS", a, 1);
    enum em_code code = result(t, out, sqlf(t, "sp_to_code_points(%s)", a[0].sql), SP_TYPE_ARRAY);
    out->type.element = SP_TYPE_INT64;
    return code;
}

/* FARM_FINGERPRINT (STRING or BYTES): INT64 */
static enum em_code fn_farm_fingerprint(struct translator *t, const struct sp_expr *e,
                                        struct frag *a, struct frag *out)
{
    settle(t, &a[0], SP_TYPE_STRING);
    if (a[0].type.code != SP_TYPE_STRING && a[0].type.code != SP_TYPE_BYTES)
        return no_signature(t, e, "function", a, 1);
    return result(t, out, sqlf(t, "sp_farm_fingerprint(%s)", a[0].sql), SP_TYPE_INT64);
}

/* SOUNDEX (STRING): STRING; SAFE_CONVERT_BYTES_TO_STRING (BYTES): STRING */
static enum em_code fn_text_codes(struct translator *t, const struct sp_expr *e, struct frag *a,
                                  struct frag *out)
{
    bool soundex = strcmp(e->name, "SOUNDEX") == 0;
    if (want_arg(t, e, a, 0, soundex ? &type_string : &type_bytes))
        return t->st->code;
    return result(
        t, out,
        sqlf(t, "sp_%s(%s)", soundex ? "soundex" : "safe_convert_bytes_to_string", a[0].sql),
        SP_TYPE_STRING);
}

/* BIT_REVERSE (INT64, BOOL): INT64 */
static enum em_code fn_bit_reverse(struct translator *t, const struct sp_expr *e, struct frag *a,
                                   struct frag *out)
{
    if (want_arg(t, e, a, 0, &type_int64) || want_arg(t, e, a, 1, &type_bool))
        return t->st->code;
    return result(t, out, sqlf(t, "sp_bit_reverse(%s, %s)", a[0].sql, a[1].sql), SP_TYPE_INT64);
}

/* GENERATE_DATE_ARRAY (DATE, DATE [, INTERVAL n part]): ARRAY<DATE>, a day apart without
 * the interval */
static enum em_code fn_generate_date_array(struct translator *t, const struct sp_expr *e,
                                           struct frag *a, struct frag *out)
{
    if (a[0].part || a[1].part || want_arg(t, e, a, 0, &type_date) ||
        want_arg(t, e, a, 1, &type_date) ||
        (e->nargs == 3 && want_part(t, e, &a[2], true, date_part_ok(a[2].part))))
        return t->st->code ? t->st->code : want_part(t, e, a[0].part ? &a[0] : &a[1], true, false);
    enum em_code code =
        result(t, out,
               sqlf(t, "sp_generate_date_array(%s, %s, %s, '%s')", a[0].sql, a[1].sql,
                    e->nargs == 3 ? a[2].sql : "1", e->nargs == 3 ? a[2].part : "DAY"),
               SP_TYPE_ARRAY);
    out->type.element = SP_TYPE_DATE;
    return code;
}

/* BIT_AND, BIT_OR, BIT_XOR (INT64): INT64; VAR_SAMP, VARIANCE, STDDEV_SAMP, STDDEV (a
 * number): FLOAT64 */
static enum em_code fn_bits_moments(struct translator *t, const struct sp_expr *e, struct frag *a,
                                    struct frag *out)
{
    static const struct sp_type f64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};
    bool bits = strncmp(e->name, "BIT_", 4) == 0;
    settle(t, &a[0], SP_TYPE_INT64);
    if (bits ? a[0].type.code != SP_TYPE_INT64 : !sp_type_is_numeric(a[0].type.code))
        return no_signature(t, e, e->name, a, 1);
    if (!bits && want_arg(t, e, a, 0, &f64))
        return t->st->code;
    const char *fn = bits                                 ? e->name
                     : strncmp(e->name, "STDDEV", 6) == 0 ? "stddev_samp"
                                                          : "var_samp";
    char lower[16];
    snprintf(lower, sizeof(lower), "%s", fn);
    for (char *c = lower; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    return result(t, out, sqlf(t, "sp_%s(%s%s)", lower, e->distinct ? "DISTINCT " : "", a[0].sql),
                  bits ? SP_TYPE_INT64 : SP_TYPE_FLOAT64);
}

/* The NET functions (spanner_sql_net.c): each one's argument types, result and sp_
 * function. */
static const struct net_function {
    const char *name;
    const struct sp_type *args[2]; /* the second NULL: one argument */
    enum sp_type_code result;
    const char *sp_name;
} net_functions[] = {
    {"NET.HOST", {&type_string}, SP_TYPE_STRING, "sp_net_host"},
    {"NET.REG_DOMAIN", {&type_string}, SP_TYPE_STRING, "sp_net_reg_domain"},
    {"NET.PUBLIC_SUFFIX", {&type_string}, SP_TYPE_STRING, "sp_net_public_suffix"},
    {"NET.IP_FROM_STRING", {&type_string}, SP_TYPE_BYTES, "sp_net_ip_from_string"},
    {"NET.SAFE_IP_FROM_STRING", {&type_string}, SP_TYPE_BYTES, "sp_net_safe_ip_from_string"},
    {"NET.IP_TO_STRING", {&type_bytes}, SP_TYPE_STRING, "sp_net_ip_to_string"},
    {"NET.IP_NET_MASK", {&type_int64, &type_int64}, SP_TYPE_BYTES, "sp_net_ip_net_mask"},
    {"NET.IP_TRUNC", {&type_bytes, &type_int64}, SP_TYPE_BYTES, "sp_net_ip_trunc"},
    {"NET.IPV4_FROM_INT64", {&type_int64}, SP_TYPE_BYTES, "sp_net_ipv4_from_int64"},
    {"NET.IPV4_TO_INT64", {&type_bytes}, SP_TYPE_INT64, "sp_net_ipv4_to_int64"},
};

/* NET.HOST, NET.IP_TRUNC, ...: the arguments of net_functions' types */
static enum em_code fn_net(struct translator *t, const struct sp_expr *e, struct frag *a,
                           struct frag *out)
{
    const struct net_function *f = NULL;
    for (size_t i = 0; !f && i < sizeof(net_functions) / sizeof(net_functions[0]); i++)
        if (strcmp(net_functions[i].name, e->name) == 0)
            f = &net_functions[i];
    if (!f)
        return FAIL_AT(t, e, EM_INTERNAL, "No signature for function %s", e->name);
    for (int i = 0; i < e->nargs; i++)
        if (want_arg(t, e, a, i, f->args[i]))
            return t->st->code;
    const char *sql = e->nargs == 2 ? sqlf(t, "%s(%s, %s)", f->sp_name, a[0].sql, a[1].sql)
                                    : sqlf(t, "%s(%s)", f->sp_name, a[0].sql);
    return result(t, out, sql, f->result);
}

struct fn_def {
    const char *name;
    int min_args, max_args; /* max -1: any number */
    bool aggregate;
    fn_handler handler;
};

static const struct fn_def functions[] = {
    {"IF", 3, 3, false, fn_if},
    {"IFNULL", 2, 2, false, fn_coalesce},
    {"NULLIF", 2, 2, false, fn_coalesce},
    {"COALESCE", 1, -1, false, fn_coalesce},
    {"CONCAT", 1, -1, false, fn_concat},
    {"LENGTH", 1, 1, false, fn_length},
    {"CHAR_LENGTH", 1, 1, false, fn_length},
    {"CHARACTER_LENGTH", 1, 1, false, fn_length},
    {"BYTE_LENGTH", 1, 1, false, fn_length},
    {"OCTET_LENGTH", 1, 1, false, fn_length}, /* BYTE_LENGTH's alias */
    {"LOWER", 1, 1, false, fn_case_map},
    {"NORMALIZE", 1, 2, false, fn_normalize},
    {"NORMALIZE_AND_CASEFOLD", 1, 2, false, fn_normalize},
    {"UPPER", 1, 1, false, fn_case_map},
    {"SUBSTR", 2, 3, false, fn_substr},
    {"SUBSTRING", 2, 3, false, fn_substr},
    {"STARTS_WITH", 2, 2, false, fn_text2},
    {"ENDS_WITH", 2, 2, false, fn_text2},
    {"STRPOS", 2, 2, false, fn_text2},
    {"REPLACE", 3, 3, false, fn_replace},
    {"TRIM", 1, 2, false, fn_trim},
    {"LTRIM", 1, 2, false, fn_trim},
    {"RTRIM", 1, 2, false, fn_trim},
    {"ABS", 1, 1, false, fn_numeric1},
    {"SIGN", 1, 1, false, fn_numeric1},
    {"SQRT", 1, 1, false, fn_numeric1},
    {"EXP", 1, 1, false, fn_numeric1},
    {"LN", 1, 1, false, fn_numeric1},
    {"LOG10", 1, 1, false, fn_numeric1},
    {"FLOOR", 1, 1, false, fn_numeric1},
    {"CEIL", 1, 1, false, fn_numeric1},
    {"CEILING", 1, 1, false, fn_numeric1},
    {"ACOS", 1, 1, false, fn_numeric1},
    {"ACOSH", 1, 1, false, fn_numeric1},
    {"ASIN", 1, 1, false, fn_numeric1},
    {"ASINH", 1, 1, false, fn_numeric1},
    {"ATAN", 1, 1, false, fn_numeric1},
    {"ATANH", 1, 1, false, fn_numeric1},
    {"COS", 1, 1, false, fn_numeric1},
    {"COSH", 1, 1, false, fn_numeric1},
    {"SIN", 1, 1, false, fn_numeric1},
    {"SINH", 1, 1, false, fn_numeric1},
    {"TAN", 1, 1, false, fn_numeric1},
    {"TANH", 1, 1, false, fn_numeric1},
    {"LOG", 1, 2, false, fn_log_atan2},
    {"SAFE_ADD", 2, 2, false, fn_safe_arith},
    {"SAFE_SUBTRACT", 2, 2, false, fn_safe_arith},
    {"SAFE_MULTIPLY", 2, 2, false, fn_safe_arith},
    {"SAFE_NEGATE", 1, 1, false, fn_safe_arith},
    {"ATAN2", 2, 2, false, fn_log_atan2},
    {"ROUND", 1, 2, false, fn_round},
    {"TRUNC", 1, 2, false, fn_round},
    {"POW", 2, 2, false, fn_pow},
    {"POWER", 2, 2, false, fn_pow},
    {"DIV", 2, 2, false, fn_int_div},
    {"IEEE_DIVIDE", 2, 2, false, fn_ieee_divide},
    {"SAFE_DIVIDE", 2, 2, false, fn_safe_divide},
    {"IS_NAN", 1, 1, false, fn_is_nan_inf},
    {"IS_INF", 1, 1, false, fn_is_nan_inf},
    {"MOD", 2, 2, false, fn_int_div},
    {"GREATEST", 1, -1, false, fn_greatest},
    {"LEAST", 1, -1, false, fn_greatest},
    {"GENERATE_UUID", 0, 0, false, fn_generate_uuid},
    {"ERROR", 1, 1, false, fn_error},
    {"ARRAY_LENGTH", 1, 1, false, fn_array_length},
    {"COSINE_DISTANCE", 2, 2, false, fn_vector_distance},
    {"EUCLIDEAN_DISTANCE", 2, 2, false, fn_vector_distance},
    {"DOT_PRODUCT", 2, 2, false, fn_vector_distance},
    {"CURRENT_TIMESTAMP", 0, 0, false, fn_current_timestamp},
    {"TIMESTAMP_ADD", 2, 2, false, fn_timestamp_add},
    {"TIMESTAMP_SUB", 2, 2, false, fn_timestamp_add},
    {"TIMESTAMP_DIFF", 3, 3, false, fn_timestamp_diff},
    {"DATE_ADD", 2, 2, false, fn_date_add},
    {"DATE_SUB", 2, 2, false, fn_date_add},
    {"ADDDATE", 2, 2, false, fn_date_add},
    {"SUBDATE", 2, 2, false, fn_date_add},
    {"DATE_DIFF", 3, 3, false, fn_date_diff},
    {"EXTRACT", 2, 3, false, fn_extract},
    {"ARRAY_AGG", 1, 1, true, fn_array_agg},
    {"ARRAY_CONCAT_AGG", 1, 1, true, fn_array_concat_agg},
    {"COUNT", 1, 1, true, fn_count},
    {"COUNTIF", 1, 1, true, fn_countif},
    {"SUM", 1, 1, true, fn_sum_avg},
    {"AVG", 1, 1, true, fn_sum_avg},
    {"MIN", 1, 1, true, fn_min_max},
    {"MAX", 1, 1, true, fn_min_max},
    {"ANY_VALUE", 1, 1, true, fn_min_max},
    {"LOGICAL_AND", 1, 1, true, fn_min_max},
    {"LOGICAL_OR", 1, 1, true, fn_min_max},
    {"STRING_AGG", 1, 2, true, fn_string_agg},
    {"REGEXP_CONTAINS", 2, 2, false, fn_regexp},
    {"REGEXP_EXTRACT", 2, 2, false, fn_regexp},
    {"REGEXP_EXTRACT_ALL", 2, 2, false, fn_regexp},
    {"REGEXP_REPLACE", 3, 3, false, fn_regexp},
    {"SPLIT", 1, 2, false, fn_split},
    {"SPLIT_SUBSTR", 3, 4, false, fn_split_substr},
    {"FORMAT", 1, -1, false, fn_format},
    {"JSON_VALUE", 1, 2, false, fn_json_path},
    {"JSON_QUERY", 1, 2, false, fn_json_path},
    {"JSON_QUERY_ARRAY", 1, 2, false, fn_json_path},
    {"JSON_VALUE_ARRAY", 1, 2, false, fn_json_path},
    {"JSON_TYPE", 1, 1, false, fn_json_type_parse},
    {"PARSE_JSON", 1, 2, false, fn_json_type_parse},
    {"BOOL", 1, 1, false, fn_json_to},
    {"INT64", 1, 1, false, fn_json_to},
    {"FLOAT64", 1, 1, false, fn_json_to},
    {"STRING", 1, 1, false, fn_json_to},
    {"FLOAT32", 1, 1, false, fn_json_to},
    {"BOOL_ARRAY", 1, 1, false, fn_json_to_array},
    {"INT64_ARRAY", 1, 1, false, fn_json_to_array},
    {"FLOAT64_ARRAY", 1, 1, false, fn_json_to_array},
    {"FLOAT32_ARRAY", 1, 1, false, fn_json_to_array},
    {"STRING_ARRAY", 1, 1, false, fn_json_to_array},
    {"LAX_BOOL", 1, 1, false, fn_json_to},
    {"LAX_INT64", 1, 1, false, fn_json_to},
    {"LAX_FLOAT64", 1, 1, false, fn_json_to},
    {"LAX_STRING", 1, 1, false, fn_json_to},
    {"TO_JSON", 1, 2, false, fn_to_json},
    {"TO_JSON_STRING", 1, 1, false, fn_to_json},
    {"JSON_ARRAY", 0, -1, false, fn_to_json},
    {"JSON_OBJECT", 0, -1, false, fn_to_json},
    {"JSON_SET", 3, -1, false, fn_json_edit},
    {"JSON_ARRAY_APPEND", 3, -1, false, fn_json_edit},
    {"JSON_ARRAY_INSERT", 3, -1, false, fn_json_edit},
    {"JSON_REMOVE", 2, -1, false, fn_json_remove},
    {"JSON_STRIP_NULLS", 1, 4, false, fn_json_strip_nulls},
    {"JSON_CONTAINS", 2, 2, false, fn_json_contains},
    {"TIMESTAMP_TRUNC", 2, 3, false, fn_trunc},
    {"DATE_TRUNC", 2, 2, false, fn_trunc},
    {"FORMAT_TIMESTAMP", 2, 3, false, fn_format_time},
    {"FORMAT_DATE", 2, 2, false, fn_format_time},
    {"PARSE_TIMESTAMP", 2, 3, false, fn_format_time},
    {"PARSE_DATE", 2, 2, false, fn_format_time},
    {"DATE", 1, 3, false, fn_date},
    {"TIMESTAMP", 1, 2, false, fn_timestamp},
    {"UNIX_SECONDS", 1, 1, false, fn_unix},
    {"UNIX_MILLIS", 1, 1, false, fn_unix},
    {"UNIX_MICROS", 1, 1, false, fn_unix},
    {"UNIX_DATE", 1, 1, false, fn_unix},
    {"TIMESTAMP_SECONDS", 1, 1, false, fn_from_unix},
    {"TIMESTAMP_MILLIS", 1, 1, false, fn_from_unix},
    {"TIMESTAMP_MICROS", 1, 1, false, fn_from_unix},
    {"DATE_FROM_UNIX_DATE", 1, 1, false, fn_from_unix},
    {"LPAD", 2, 3, false, fn_pad},
    {"RPAD", 2, 3, false, fn_pad},
    {"REPEAT", 2, 2, false, fn_repeat_reverse},
    {"REVERSE", 1, 1, false, fn_repeat_reverse},
    {"SHA1", 1, 1, false, fn_digest},
    {"SHA256", 1, 1, false, fn_digest},
    {"SHA512", 1, 1, false, fn_digest},
    {"MD5", 1, 1, false, fn_digest},
    {"TO_BASE64", 1, 1, false, fn_encoding},
    {"FROM_BASE64", 1, 1, false, fn_encoding},
    {"TO_HEX", 1, 1, false, fn_encoding},
    {"FROM_HEX", 1, 1, false, fn_encoding},
    {"ARRAY_TO_STRING", 2, 3, false, fn_array_to_string},
    {"ARRAY_REVERSE", 1, 1, false, fn_array_reshape},
    {"ARRAY_CONCAT", 1, -1, false, fn_array_reshape},
    {"ARRAY_INCLUDES", 2, 2, false, fn_array_includes},
    {"ARRAY_INCLUDES_ANY", 2, 2, false, fn_array_includes_set},
    {"ARRAY_INCLUDES_ALL", 2, 2, false, fn_array_includes_set},
    {"ARRAY_FIRST", 1, 1, false, fn_array_edge},
    {"ARRAY_LAST", 1, 1, false, fn_array_edge},
    {"GENERATE_ARRAY", 2, 3, false, fn_generate_array},
    {"CURRENT_DATE", 0, 1, false, fn_current_date},
    {"ARRAY_MAX", 1, 1, false, fn_array_extreme},
    {"ARRAY_MIN", 1, 1, false, fn_array_extreme},
    {"ARRAY_SLICE", 3, 3, false, fn_array_slice},
    {"ARRAY_IS_DISTINCT", 1, 1, false, fn_array_slice},
    {"BIT_COUNT", 1, 1, false, fn_bit_count},
    {"BIT_AND", 1, 1, true, fn_bits_moments},
    {"BIT_OR", 1, 1, true, fn_bits_moments},
    {"BIT_XOR", 1, 1, true, fn_bits_moments},
    {"VAR_SAMP", 1, 1, true, fn_bits_moments},
    {"VARIANCE", 1, 1, true, fn_bits_moments},
    {"STDDEV_SAMP", 1, 1, true, fn_bits_moments},
    {"STDDEV", 1, 1, true, fn_bits_moments},
    {"CODE_POINTS_TO_STRING", 1, 1, false, fn_code_points_to},
    {"CODE_POINTS_TO_BYTES", 1, 1, false, fn_code_points_to},
    {"TO_CODE_POINTS", 1, 1, false, fn_to_code_points},
    {"SOUNDEX", 1, 1, false, fn_text_codes},
    {"SAFE_CONVERT_BYTES_TO_STRING", 1, 1, false, fn_text_codes},
    {"TO_BASE32", 1, 1, false, fn_encoding},
    {"FROM_BASE32", 1, 1, false, fn_encoding},
    {"BIT_REVERSE", 2, 2, false, fn_bit_reverse},
    {"FARM_FINGERPRINT", 1, 1, false, fn_farm_fingerprint},
    {"GENERATE_DATE_ARRAY", 2, 3, false, fn_generate_date_array},
    {"NET.HOST", 1, 1, false, fn_net}, /* NET.*: their types in net_functions */
    {"NET.REG_DOMAIN", 1, 1, false, fn_net},
    {"NET.PUBLIC_SUFFIX", 1, 1, false, fn_net},
    {"NET.IP_FROM_STRING", 1, 1, false, fn_net},
    {"NET.SAFE_IP_FROM_STRING", 1, 1, false, fn_net},
    {"NET.IP_TO_STRING", 1, 1, false, fn_net},
    {"NET.IP_NET_MASK", 2, 2, false, fn_net},
    {"NET.IP_TRUNC", 2, 2, false, fn_net},
    {"NET.IPV4_FROM_INT64", 1, 1, false, fn_net},
    {"NET.IPV4_TO_INT64", 1, 1, false, fn_net},
};

static const struct fn_def *find_function(const char *name)
{
    for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
        if (strcmp(functions[i].name, name) == 0)
            return &functions[i];
    return NULL;
}

/* Spanner's GoogleSQL functions this translator does not implement: named in an
 * UNIMPLEMENTED error instead of "Function not found" (sorted by strcmp, for bsearch). */
static const char *const unimplemented_functions[] = {
    "APPROX_COSINE_DISTANCE", /* the APPROX_ distances need a vector index */
    "APPROX_COUNT_DISTINCT",
    "APPROX_DOT_PRODUCT",
    "APPROX_EUCLIDEAN_DISTANCE",
    "JSON_EXTRACT",
    "JSON_EXTRACT_ARRAY",
    "JSON_EXTRACT_SCALAR",
    "JSON_EXTRACT_STRING_ARRAY",
    "SCORE",
    "SEARCH",
    "SNIPPET",
    "TOKENIZE_FULLTEXT",
    "TOKENIZE_NUMBER",
    "TOKENIZE_SUBSTRING",
};

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool known_unimplemented(const char *name)
{
    return bsearch(&name, unimplemented_functions,
                   sizeof(unimplemented_functions) / sizeof(unimplemented_functions[0]),
                   sizeof(unimplemented_functions[0]), compare_names) != NULL;
}

/* GET_NEXT_SEQUENCE_VALUE(SEQUENCE s) and GET_INTERNAL_SEQUENCE_STATE(SEQUENCE s): calls of
 * the sp_* functions that read the sequence's counter where the database keeps it. */
static enum em_code sequence_function(struct translator *t, const struct sp_expr *e,
                                      struct frag *out)
{
    if (e->nargs != 1 || e->args[0]->kind != SP_EXPR_SEQUENCE || e->distinct || e->star)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "No matching signature for function %s: it takes one argument, SEQUENCE "
                       "followed by the sequence's name",
                       e->name);
    const struct sp_sequence *q = sp_schema_sequence(t->schema, e->args[0]->name);
    if (!q)
        return FAIL_AT(t, e->args[0], EM_INVALID_ARGUMENT, "Sequence not found: %s",
                       e->args[0]->name);
    bool next = strcmp(e->name, "GET_NEXT_SEQUENCE_VALUE") == 0;
    t->draws_sequence |= next;
    /* a role draws with UPDATE (or SELECT) on the sequence, reads its state with SELECT */
    if (note_access(t, SP_ON_SEQUENCE, q->name, NULL, next ? SP_PRIV_UPDATE : SP_PRIV_SELECT))
        return t->st->code;
    /* a sequence's name is letters, digits and underscores: safe in quotes */
    return result(
        t, out, sqlf(t, "%s('%s')", next ? "sp_next_sequence_value" : "sp_sequence_state", q->name),
        SP_TYPE_INT64);
}

static bool is_sequence_function(const char *name)
{
    return strcmp(name, "GET_NEXT_SEQUENCE_VALUE") == 0 ||
           strcmp(name, "GET_INTERNAL_SEQUENCE_STATE") == 0;
}

/* The length of the sp_ function name sql starts with when sql is that one call and
 * nothing else (its closing parenthesis last), else 0. */
static size_t single_sp_call(const char *sql)
{
    if (strncmp(sql, "sp_", 3) != 0)
        return 0;
    size_t name = 3;
    while (isalnum((unsigned char)sql[name]) || sql[name] == '_')
        name++;
    if (sql[name] != '(')
        return 0;
    int depth = 0;
    for (const char *p = sql + name; *p; p++) {
        if (*p == '\'' || *p == '"') { /* a literal or an identifier: '' and "" inside */
            char quote = *p;
            for (p++; *p && !(*p == quote && p[1] != quote); p += *p == quote ? 2 : 1)
                ;
            if (!*p)
                return 0;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth == 0) {
            return p[1] == '\0' ? name : 0;
        }
    }
    return 0;
}

/* Whether the translation of a call calls an sp_ function of its own, outside the text of
 * its arguments (skip: the length of a name at its start not to count). */
static bool calls_sp_outside_args(struct translator *t, const char *sql, size_t skip,
                                  const struct frag *a, int nargs)
{
    char *own = sp_arena_strdup(t->arena, sql + skip);
    if (!own)
        return true;
    for (int i = 0; i < nargs; i++) { /* each argument's text, once */
        char *at = a[i].sql && a[i].sql[0] ? strstr(own, a[i].sql) : NULL;
        if (at)
            memmove(at, at + strlen(a[i].sql), strlen(at + strlen(a[i].sql)) + 1);
    }
    return strstr(own, "sp_") != NULL;
}

/* SAFE.f(...): f's own errors become NULL (its arguments' stay errors). Its translation
 * is one call of an sp_ function, which has a safe twin (spanner_sql_udf.h), around its
 * arguments; a translation that calls no sp_ function of its own (SQLite's functions,
 * which raise no error here) and the functions that never fail (the clock's, UUIDs) stay
 * as they are; any other shape is UNIMPLEMENTED. */
static enum em_code safe_call(struct translator *t, const struct sp_expr *e, const struct frag *a,
                              struct frag *out)
{
    static const char *const never_fail[] = {"sp_current_timestamp", "sp_generate_uuid",
                                             "sp_commit_ns"};
    size_t name = single_sp_call(out->sql);
    for (size_t i = 0; name && i < sizeof(never_fail) / sizeof(never_fail[0]); i++)
        if (strlen(never_fail[i]) == name && strncmp(out->sql, never_fail[i], name) == 0)
            return EM_OK;
    if (!calls_sp_outside_args(t, out->sql, name, a, e->nargs)) {
        if (name)
            out->sql = sqlf(t, "safe_%s", out->sql);
        return out->sql ? EM_OK : t->st->code;
    }
    return FAIL_AT(t, e, EM_UNIMPLEMENTED,
                   "The SAFE. prefix is not supported by this emulator for function %s", e->name);
}

/* The arguments Spanner's signatures name, which a call must name (name => value) after
 * its positional ones, and how many positional arguments come before them (-1: any). */
static const struct named_signature {
    const char *function;
    const char *names[2];
    int positional_max;
} named_signatures[] = {
    {"PARSE_JSON", {"wide_number_mode", NULL}, 1},
    {"TO_JSON", {"stringify_wide_numbers", NULL}, 1},
    {"JSON_SET", {"create_if_missing", NULL}, -1},
    {"JSON_ARRAY_APPEND", {"append_each_element", NULL}, -1},
    {"JSON_ARRAY_INSERT", {"insert_each_element", NULL}, -1},
    {"JSON_STRIP_NULLS", {"include_arrays", "remove_empty"}, 2},
};

static const struct named_signature *find_named_signature(const char *function)
{
    for (size_t i = 0; i < sizeof(named_signatures) / sizeof(named_signatures[0]); i++)
        if (strcmp(named_signatures[i].function, function) == 0)
            return &named_signatures[i];
    return NULL;
}

static bool signature_names(const struct named_signature *sig, const char *name)
{
    for (int i = 0; sig && i < 2; i++)
        if (sig->names[i] && strcasecmp(sig->names[i], name) == 0)
            return true;
    return false;
}

/* Checks the arguments a call names (name => value) against the function's signature. */
static enum em_code named_arguments(struct translator *t, const struct sp_expr *e)
{
    const struct named_signature *sig = find_named_signature(e->name);
    int positional = 0;
    for (int i = 0; i < e->nargs; i++) {
        const struct sp_expr *arg = e->args[i];
        if (arg->arg_name && !signature_names(sig, arg->arg_name))
            return FAIL_AT(t, arg, EM_INVALID_ARGUMENT,
                           "Named argument `%s` not found in signature for call to function %s",
                           arg->arg_name, e->name);
        for (int j = 0; arg->arg_name && j < i; j++)
            if (e->args[j]->arg_name && strcasecmp(e->args[j]->arg_name, arg->arg_name) == 0)
                return FAIL_AT(t, arg, EM_INVALID_ARGUMENT,
                               "Duplicate named argument %s found in call to function %s",
                               arg->arg_name, e->name);
        if (arg->arg_name)
            continue;
        if (positional < i)
            return FAIL_AT(t, arg, EM_INVALID_ARGUMENT,
                           "Call to function %s must not specify positional arguments after "
                           "named arguments; named arguments must be specified last in the "
                           "argument list",
                           e->name);
        if (sig && sig->positional_max >= 0 && positional == sig->positional_max)
            return FAIL_AT(t, arg, EM_INVALID_ARGUMENT,
                           "Positional argument is invalid because this function restricts that "
                           "this argument is referred to by name \"%s\" only",
                           sig->names[0]);
        positional++;
    }
    return EM_OK;
}

static enum em_code function(struct translator *t, const struct scope *scope,
                             const struct sp_expr *e, struct frag *out)
{
    if (is_sequence_function(e->name) && !e->safe)
        return sequence_function(t, e, out);
    if (is_pending_commit_timestamp(e))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "The PENDING_COMMIT_TIMESTAMP() function may only be used as a value for "
                       "INSERT or UPDATE of an appropriately typed column. It cannot be used in "
                       "SELECT, or as the input to any other scalar expression.");
    const struct fn_def *def = find_function(e->name);
    if (!def) {
        if (known_unimplemented(e->name))
            return FAIL_AT(t, e, EM_UNIMPLEMENTED, "Function %s is not supported by this emulator",
                           e->name);
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Function not found: %s", e->name);
    }
    if (e->safe && def->aggregate)
        return FAIL_AT(t, e, EM_UNIMPLEMENTED,
                       "Unsupported SAFE.%s: Spanner does not support function in safe error mode.",
                       e->name);
    if ((e->star && strcmp(e->name, "COUNT") != 0) || (e->distinct && !def->aggregate))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Syntax error: unexpected %s in %s",
                       e->star ? "*" : "DISTINCT", e->name);
    if (named_arguments(t, e))
        return t->st->code;
    int nargs = e->star ? 1 : e->nargs;
    if (nargs < def->min_args || (def->max_args >= 0 && nargs > def->max_args))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "No matching signature for function %s with %d argument%s", e->name,
                       e->nargs, e->nargs == 1 ? "" : "s");
    if (e->having && !def->aggregate)
        return FAIL_AT(t, e->having, EM_INVALID_ARGUMENT,
                       "HAVING MAX and HAVING MIN are not supported on scalar functions");
    if (e->nulls != SP_NULLS_DEFAULT && (!def->aggregate || def->handler != fn_array_agg))
        return FAIL_AT(
            t, e, EM_INVALID_ARGUMENT,
            def->aggregate
                ? "IGNORE NULLS and RESPECT NULLS are not allowed for aggregate function %s"
                : "IGNORE NULLS and RESPECT NULLS are not supported on scalar functions%s",
            def->aggregate ? e->name : "");
    if (def->aggregate && !t->aggregates_allowed)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Aggregate function %s%s not allowed in %s",
                       e->name, e->star ? "(*)" : "", t->clause ? t->clause : "this context");
    if (def->aggregate && t->in_aggregate)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Aggregations of aggregations are not allowed");
    struct frag *a = sp_arena_alloc(t->arena, (size_t)(e->nargs + 1) * sizeof(*a));
    if (!a)
        return EM_FAIL_OOM(t->st);
    bool saved = t->in_aggregate;
    t->in_aggregate = saved || def->aggregate;
    t->parts_allowed = def->handler == fn_timestamp_add || def->handler == fn_timestamp_diff ||
                       def->handler == fn_date_add || def->handler == fn_date_diff ||
                       def->handler == fn_extract || def->handler == fn_trunc ||
                       def->handler == fn_generate_date_array;
    /* DATE_TRUNC(Day, MONTH): a column named like a date part, where no part goes */
    t->normalize_mode = def->handler == fn_normalize;
    t->part_index = def->handler == fn_extract                                          ? 0
                    : def->handler == fn_trunc                                          ? 1
                    : def->handler == fn_timestamp_diff || def->handler == fn_date_diff ? 2
                                                                                        : -1;
    enum em_code code = args_of(t, scope, e, a);
    struct frag having;
    if (!code && e->having)
        code = expr(t, scope, e->having, &having);
    t->in_aggregate = saved;
    if (code)
        return code;
    if (e->having)
        return strcmp(e->name, "ANY_VALUE") == 0
                   ? any_value_having(t, e, a, &having, out)
                   : aggregate_having(t, scope, def->handler, e, a, &having, out);
    code = def->handler(t, e, a, out);
    return code || !e->safe ? code : safe_call(t, e, a, out);
}

static bool has_aggregate(const struct sp_expr *e)
{
    if (!e)
        return false;
    if (e->kind == SP_EXPR_FUNCTION) {
        const struct fn_def *def = find_function(e->name);
        if (def && def->aggregate)
            return true;
    }
    for (int i = 0; i < e->nargs; i++)
        if (has_aggregate(e->args[i]))
            return true;
    return false;
}

/* ---- FROM ---- */

static const char *new_alias(struct translator *t)
{
    return sqlf(t, "$s%d", ++t->next_alias);
}

/* Whether a query is a value table (SELECT AS VALUE, or a set operation of them). */
static bool is_value_table(const struct sp_query *query)
{
    while (query->op != SP_SET_NONE)
        query = query->left;
    return query->select && query->select->as_value;
}

/* The columns of a value table in FROM: a STRUCT value's fields (each read from the value,
 * as UNNEST reads an array of STRUCTs), or the one value, named after the alias. */
static enum em_code value_table_columns(struct translator *t, const struct sp_result_column *value,
                                        const char *alias, const char *sql_alias,
                                        struct scope_source *src)
{
    const struct sp_struct_type *fields =
        value->type.code == SP_TYPE_STRUCT ? value->type.struct_type : NULL;
    int n = fields ? fields->count : 1;
    struct scope_column *columns = sp_arena_alloc(t->arena, (size_t)(n ? n : 1) * sizeof(*columns));
    if (!columns)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < n; i++) {
        columns[i].name = fields ? fields->fields[i].name : alias ? alias : "";
        columns[i].type = fields ? fields->fields[i].type : value->type;
        columns[i].sql = fields ? sqlf(t, "sp_array_at(%s.\"$c1\", %d, %d, 0)", sql_alias, i,
                                       fields->fields[i].type.code)
                                : sqlf(t, "%s.\"$c1\"", sql_alias);
        columns[i].unqualified_sql = columns[i].sql;
        if (!columns[i].sql)
            return t->st->code;
    }
    src->columns = columns;
    src->ncolumns = n;
    src->scalar_values = fields == NULL;
    return EM_OK;
}

static enum em_code from_subquery(struct translator *t, const struct scope *outer,
                                  const struct sp_query *query, const char *alias,
                                  struct scope *scope, struct sp_buf *out)
{
    const char *sql;
    struct sp_result_column *cols;
    int ncols;
    if (translate_query(t, outer, query, &sql, &cols, &ncols))
        return t->st->code;
    const char *sql_alias = alias ? quote_ident(t, alias) : quote_ident(t, new_alias(t));
    struct scope_source *src = sp_arena_alloc(t->arena, sizeof(*src));
    struct scope_column *columns = sp_arena_alloc(t->arena, (size_t)ncols * sizeof(*columns));
    if (!src || !columns || !sql_alias)
        return EM_FAIL_OOM(t->st);
    src->alias = alias;
    src->sql_alias = sql_alias;
    src->columns = columns;
    src->ncolumns = ncols;
    sp_buf_printf(out, "(%s) AS %s", sql, sql_alias);
    if (is_value_table(query))
        return value_table_columns(t, &cols[0], alias, sql_alias, src) ? t->st->code
                                                                       : scope_add(t, scope, src);
    for (int i = 0; i < ncols; i++) {
        columns[i].name = cols[i].name;
        columns[i].type = cols[i].type;
        columns[i].sql = sqlf(t, "%s.\"$c%d\"", sql_alias, i + 1);
        columns[i].unqualified_sql = columns[i].sql;
        if (!columns[i].sql)
            return t->st->code;
    }
    return scope_add(t, scope, src);
}

/* A source whose columns are "$c1".. of a named query (a WITH query). */
static enum em_code named_source(struct translator *t, const char *alias, const char *sql_alias,
                                 const struct sp_result_column *cols, int ncols,
                                 struct scope *scope)
{
    struct scope_source *src = sp_arena_alloc(t->arena, sizeof(*src));
    struct scope_column *columns =
        sp_arena_alloc(t->arena, (size_t)(ncols ? ncols : 1) * sizeof(*columns));
    if (!src || !columns || !sql_alias)
        return EM_FAIL_OOM(t->st);
    src->alias = alias;
    src->sql_alias = sql_alias;
    src->columns = columns;
    src->ncolumns = ncols;
    for (int i = 0; i < ncols; i++) {
        columns[i].name = cols[i].name;
        columns[i].type = cols[i].type;
        columns[i].sql = sqlf(t, "%s.\"$c%d\"", sql_alias, i + 1);
        columns[i].unqualified_sql = columns[i].sql;
        if (!columns[i].sql)
            return t->st->code;
    }
    return scope_add(t, scope, src);
}

static enum em_code from_cte(struct translator *t, const struct cte *cte, const char *alias,
                             struct scope *scope, struct sp_buf *out)
{
    const char *sql_alias = quote_ident(t, alias);
    if (!sql_alias)
        return t->st->code;
    sp_buf_printf(out, "\"%s\" AS %s", cte->sql_name, sql_alias);
    return named_source(t, alias, sql_alias, cte->cols, cte->ncols, scope);
}

/* FROM INFORMATION_SCHEMA.<view> (spanner_sql_info_schema.h), a derived table. */
static enum em_code from_info_schema(struct translator *t, const struct sp_from *f,
                                     const char *alias, struct scope *scope, struct sp_buf *out)
{
    const char *view = f->table + strlen(INFO_SCHEMA_PREFIX), *sql;
    struct sp_result_column *cols;
    int ncols;
    enum em_code code =
        sp_info_schema_view(t->schema, view, t->role, t->arena, &sql, &cols, &ncols, t->st);
    if (code == EM_NOT_FOUND)
        return fail_at(t, f->line, f->column, EM_INVALID_ARGUMENT, "Table not found: %s", f->table);
    const char *sql_alias = code ? NULL : quote_ident(t, alias);
    if (!sql_alias)
        return t->st->code;
    sp_buf_printf(out, "(%s) AS %s", sql, sql_alias);
    return named_source(t, alias, sql_alias, cols, ncols, scope);
}

static enum em_code from_table(struct translator *t, const struct scope *outer,
                               const struct sp_from *f, struct scope *scope, struct sp_buf *out)
{
    bool info_schema = strncasecmp(f->table, INFO_SCHEMA_PREFIX, strlen(INFO_SCHEMA_PREFIX)) == 0;
    const char *alias = f->alias ? f->alias : sp_name_without_schema(f->table);
    for (int i = 0; i < scope->nsources; i++)
        if (scope->sources[i]->alias && strcasecmp(scope->sources[i]->alias, alias) == 0)
            return fail_at(t, f->line, f->column, EM_INVALID_ARGUMENT,
                           "Duplicate table alias %s in the same FROM clause", alias);
    for (int i = t->nctes - 1; i >= 0; i--)
        if (strcasecmp(t->ctes[i].name, f->table) == 0)
            return from_cte(t, &t->ctes[i], alias, scope, out);
    if (info_schema)
        return from_info_schema(t, f, alias, scope, out);
    const struct sp_table *table = sp_schema_table_or_synonym(t->schema, f->table);
    if (!table) {
        const struct sp_view *view = sp_schema_view(t->schema, f->table);
        if (!view)
            return fail_at(t, f->line, f->column, EM_INVALID_ARGUMENT, "Table not found: %s",
                           f->table);
        struct sp_parser p;
        struct sp_query *query;
        if (note_access(t, SP_ON_VIEW, view->name, NULL, SP_PRIV_SELECT) ||
            sp_parser_init(&p, t->arena, view->text, t->st) || sp_parse_query(&p, &query))
            return t->st->code;
        t->definer += view->definer;   /* its reads are its definer's */
        bool strict = t->strict_names; /* a view in a new view was checked when it was made */
        t->strict_names = false;
        enum em_code code = from_subquery(t, NULL, query, alias, scope, out);
        t->strict_names = strict;
        t->definer -= view->definer;
        return code;
    }
    if (note_access(t, SP_ON_TABLE, table->name, NULL, SP_PRIV_SELECT))
        return t->st->code;
    const char *sql_alias = quote_ident(t, alias);
    const char *sql_table = quote_ident(t, table->name);
    if (!sql_alias || !sql_table)
        return t->st->code;
    struct scope_source *src = table_source(t, table, alias, sql_alias);
    if (!src)
        return t->st->code;
    (void)outer;
    if (t->read_ns)
        sp_schema_sqlite_table_at(table, t->read_ns, out);
    else
        sp_buf_puts(out, sql_table);
    sp_buf_printf(out, " AS %s", sql_alias);
    return scope_add(t, scope, src);
}

static enum em_code translate_from(struct translator *t, const struct scope *outer,
                                   const struct sp_from *f, struct scope *scope,
                                   struct sp_buf *out);

/* UNNEST(array) [AS x] [WITH OFFSET [AS o]]: SQLite's json_each over the stored array, which
 * may read columns of the FROM items before it (a correlated UNNEST). */
/* The columns of UNNEST(array of STRUCT): one per field, read from json_each's value. */
static enum em_code struct_unnest_columns(struct translator *t, const struct sp_type *array,
                                          const char *sql_alias, struct scope_column *cols)
{
    const struct sp_struct_type *fields = array->struct_type;
    for (int i = 0; i < fields->count; i++) {
        const struct sp_type *type = &fields->fields[i].type;
        cols[i].name = fields->fields[i].name;
        cols[i].type = *type;
        cols[i].sql = sqlf(t, "sp_array_at(%s.value, %d, %d, 0)", sql_alias, i, type->code);
        cols[i].unqualified_sql = cols[i].sql;
        if (!cols[i].sql)
            return t->st->code;
    }
    return EM_OK;
}

static enum em_code from_unnest(struct translator *t, const struct sp_from *f, struct scope *scope,
                                struct sp_buf *out)
{
    struct frag a;
    enum sp_type_code element;
    bool saved = t->aggregates_allowed;
    t->aggregates_allowed = false;
    enum em_code code = expr(t, scope, f->unnest, &a);
    t->aggregates_allowed = saved;
    if (code || array_element(t, f->unnest, &a, SP_TYPE_INT64, &element))
        return t->st->code;
    /* an array of STRUCT is a table of its fields; any other array, one column */
    int nvalues = element == SP_TYPE_STRUCT ? a.type.struct_type->count : 1;
    const char *sql_alias = quote_ident(t, new_alias(t));
    struct scope_source *src = sp_arena_alloc(t->arena, sizeof(*src));
    struct scope_column *cols = sp_arena_alloc(t->arena, (size_t)(nvalues + 1) * sizeof(*cols));
    if (!sql_alias || !src || !cols)
        return EM_FAIL_OOM(t->st);
    if (element == SP_TYPE_STRUCT) {
        src->alias = f->alias;
        if (struct_unnest_columns(t, &a.type, sql_alias, cols))
            return t->st->code;
    } else {
        cols[0].name = f->alias ? f->alias : "";
        cols[0].type = (struct sp_type){element, SP_TYPE_UNKNOWN, a.type.length, NULL};
        cols[0].sql = sqlf(t, "sp_array_element(%s.value, %d)", sql_alias, element);
        cols[0].unqualified_sql = cols[0].sql;
    }
    struct scope_column *offset = &cols[nvalues];
    offset->name = f->offset_alias ? f->offset_alias : "offset";
    offset->type = type_int64;
    offset->sql = sqlf(t, "%s.key", sql_alias);
    offset->unqualified_sql = offset->sql;
    src->columns = cols;
    src->ncolumns = f->with_offset ? nvalues + 1 : nvalues;
    sp_buf_printf(out, "json_each(%s) AS %s", a.sql, sql_alias);
    return scope_add(t, scope, src);
}

/* USING (a, b): equality on each name, and the names then read as one column. */
static enum em_code join_using(struct translator *t, const struct sp_from *f, struct scope *scope,
                               int left_end, struct sp_buf *out)
{
    for (int u = 0; u < f->nusing; u++) {
        const char *name = f->using_columns[u];
        struct scope_column *l = NULL, *r = NULL;
        for (int i = 0; i < scope->nsources; i++) {
            struct scope_column *c =
                (struct scope_column *)find_in_source(scope->sources[i], name, false);
            if (c && i < left_end)
                l = c;
            else if (c)
                r = c;
        }
        if (!l || !r)
            return fail_at(t, f->line, f->column, EM_INVALID_ARGUMENT,
                           "Column %s in USING clause not found on %s side of join", name,
                           l ? "right" : "left");
        if (note_read(t, l) || note_read(t, r))
            return t->st->code;
        struct frag a[2] = {typed(l->unqualified_sql, l->type.code), typed(r->sql, r->type.code)};
        a[0].type = l->type;
        a[1].type = r->type;
        struct sp_expr at = {.line = f->line, .column = f->column, .name = "="};
        struct frag eq;
        if (comparison(t, &at, a, &eq))
            return t->st->code;
        sp_buf_printf(out, "%s%s", u ? " AND " : " ON ", eq.sql);
        r->hidden = true;
        if (f->join == SP_JOIN_RIGHT)
            l->unqualified_sql = r->sql;
        else if (f->join == SP_JOIN_FULL)
            l->unqualified_sql = sqlf(t, "coalesce(%s, %s)", l->unqualified_sql, r->sql);
    }
    return EM_OK;
}

static enum em_code translate_join(struct translator *t, const struct scope *outer,
                                   const struct sp_from *f, struct scope *scope, struct sp_buf *out)
{
    static const char *const keywords[] = {
        [SP_JOIN_INNER] = "JOIN",       [SP_JOIN_LEFT] = "LEFT JOIN",
        [SP_JOIN_RIGHT] = "RIGHT JOIN", [SP_JOIN_FULL] = "FULL JOIN",
        [SP_JOIN_CROSS] = "CROSS JOIN",
    };
    sp_buf_puts(out, "(");
    if (translate_from(t, outer, f->left, scope, out))
        return t->st->code;
    int left_end = scope->nsources;
    sp_buf_printf(out, " %s ", keywords[f->join]);
    if (translate_from(t, outer, f->right, scope, out))
        return t->st->code;
    if (f->on) {
        struct frag on;
        bool saved = t->aggregates_allowed;
        const char *clause = t->clause;
        t->aggregates_allowed = false;
        t->clause = "JOIN ON clause";
        enum em_code code = expr(t, scope, f->on, &on);
        t->aggregates_allowed = saved;
        t->clause = clause;
        if (code || coerce(t, &on, &type_bool, f->on->line, f->on->column, "JOIN ON clause"))
            return t->st->code;
        sp_buf_printf(out, " ON %s", on.sql);
    } else if (f->nusing && join_using(t, f, scope, left_end, out)) {
        return t->st->code;
    }
    sp_buf_puts(out, ")");
    return EM_OK;
}

/* ---- TABLESAMPLE ---- */

static const struct sp_type type_float64 = {SP_TYPE_FLOAT64, SP_TYPE_UNKNOWN, 0};

/* A sample's size, as Spanner takes it: for ROWS an INT64 literal or parameter, for PERCENT
 * an INT64 or FLOAT64 one (in [0, 100]: a literal is checked here, a parameter's value by
 * sp_sample_size when the statement runs); CAST(an integer literal or a parameter AS INT64
 * or FLOAT64) too. */
static enum em_code sample_size(struct translator *t, const struct scope *scope,
                                const struct sp_sample *s, struct frag *size)
{
    const struct sp_expr *e = s->size;
    if (expr(t, scope, e, size))
        return t->st->code;
    bool cast_ok =
        e->kind != SP_EXPR_CAST || e->type.code == SP_TYPE_INT64 || e->type.code == SP_TYPE_FLOAT64;
    bool type_ok = is_open(size) || size->type.code == SP_TYPE_INT64 ||
                   (s->percent && size->type.code == SP_TYPE_FLOAT64);
    if (!cast_ok || !type_ok)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "%s",
                       s->percent ? "PERCENT expects either a double or an integer literal or "
                                    "parameter"
                                  : "ROWS expects an integer literal or parameter");
    /* an untyped parameter is INT64, as in Spanner, PERCENT's too */
    if ((is_open(size) || !s->percent) &&
        coerce(t, size, &type_int64, e->line, e->column, "TABLESAMPLE"))
        return t->st->code;
    if (s->percent && coerce(t, size, &type_float64, e->line, e->column, "TABLESAMPLE"))
        return t->st->code;
    if (s->percent && e->kind == SP_EXPR_LITERAL) {
        double percent = strtod(e->text, NULL);
        if (!(percent >= 0 && percent <= 100))
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "PERCENT value must be in the range [0, 100]");
    }
    return EM_OK;
}

/* WITH WEIGHT [AS name]: a range variable (a name that wins over columns') for the sample's
 * "$weight" column, FLOAT64. */
static enum em_code weight_source(struct translator *t, const struct sp_from *f,
                                  const char *sql_alias, struct scope *scope)
{
    const struct sp_sample *s = f->sample;
    const char *name = s->weight_alias ? s->weight_alias : "weight";
    const struct scope_source *item = scope->sources[scope->nsources - 1];
    if (item->alias && strcasecmp(item->alias, name) == 0)
        return fail_at(t, s->weight_line, s->weight_column, EM_INVALID_ARGUMENT,
                       "Duplicate alias %s found", name);
    for (int i = 0; i < scope->nsources; i++)
        if (scope->sources[i]->alias && strcasecmp(scope->sources[i]->alias, name) == 0)
            return fail_at(t, s->weight_line, s->weight_column, EM_INVALID_ARGUMENT,
                           "Duplicate table alias %s in the same FROM clause", name);
    struct scope_source *src = sp_arena_alloc(t->arena, sizeof(*src));
    struct scope_column *weight = sp_arena_alloc(t->arena, sizeof(*weight));
    if (!src || !weight)
        return EM_FAIL_OOM(t->st);
    weight->name = name;
    weight->type = type_float64;
    weight->sql = sqlf(t, "%s.\"$weight\"", sql_alias);
    weight->unqualified_sql = weight->sql;
    src->alias = name;
    src->range_variable = true;
    src->columns = weight;
    src->ncolumns = 1;
    return weight->sql ? scope_add(t, scope, src) : t->st->code;
}

/* A table, view, WITH query or subquery TABLESAMPLE'd: read through a derived table of the
 * same SQLite alias that keeps a random sample of its rows, each with its weight (the
 * inverse of its chance to be kept) as "$weight":
 *   BERNOULLI (p PERCENT)  each row kept with probability p/100; weight 100/p
 *   RESERVOIR (n ROWS)     n rows drawn uniformly, or all when fewer; weight rows/n, at least 1
 * The size is checked once, before the first row (a constant term SQLite evaluates before
 * its loop, a LIMIT). */
static enum em_code from_sampled(struct translator *t, const struct scope *outer,
                                 const struct sp_from *f, struct scope *scope, struct sp_buf *out)
{
    const struct sp_sample *s = f->sample;
    struct frag size;
    struct sp_buf item = {0};
    if (sample_size(t, scope, s, &size))
        return t->st->code;
    enum em_code code = f->subquery ? from_subquery(t, outer, f->subquery, f->alias, scope, &item)
                                    : from_table(t, outer, f, scope, &item);
    const char *item_sql = code ? NULL : finish_sql(t, &item);
    sp_buf_free(&item);
    if (!item_sql)
        return t->st->code;
    const char *sql_alias = scope->sources[scope->nsources - 1]->sql_alias;
    if (s->percent)
        sp_buf_printf(out,
                      "(SELECT *, 1.0 / (%s / 100.0) AS \"$weight\" FROM %s WHERE "
                      "sp_sample_size(%s, 1) >= 0 AND sp_bernoulli(%s)) AS %s",
                      size.sql, item_sql, size.sql, size.sql, sql_alias);
    else
        sp_buf_printf(out,
                      "(SELECT *, max(count(*) OVER () * 1.0 / %s, 1.0) AS \"$weight\" FROM %s "
                      "ORDER BY random() LIMIT sp_sample_size(%s, 0)) AS %s",
                      size.sql, item_sql, size.sql, sql_alias);
    return s->with_weight ? weight_source(t, f, sql_alias, scope) : EM_OK;
}

static enum em_code from_item(struct translator *t, const struct scope *outer,
                              const struct sp_from *f, struct scope *scope, struct sp_buf *out)
{
    if (f->is_join)
        return translate_join(t, outer, f, scope, out);
    if (f->sample)
        return from_sampled(t, outer, f, scope, out);
    if (f->subquery)
        return from_subquery(t, outer, f->subquery, f->alias, scope, out);
    if (f->unnest)
        return from_unnest(t, f, scope, out);
    return from_table(t, outer, f, scope, out);
}

static enum em_code translate_from(struct translator *t, const struct scope *outer,
                                   const struct sp_from *f, struct scope *scope, struct sp_buf *out)
{
    if (nest(t, f->line, f->column))
        return t->st->code;
    enum em_code code = from_item(t, outer, f, scope, out);
    t->depth--;
    return code;
}

/* ---- SELECT ---- */

struct select_output {
    struct sp_buf sql;
    struct sp_result_column *cols;
    int ncols, cap;
    const struct sp_expr **exprs; /* the expression of each column (NULL for a star) */
    const char **aliases;         /* the explicit alias of each column, or NULL */
    bool distinct;                /* SELECT DISTINCT: ORDER BY sees only these columns */
};

/* After SELECT DISTINCT an ORDER BY expression may read only the selected columns: the
 * first column reference of e (outside subqueries) that names none of them, or NULL. */
static const struct sp_expr *hidden_after_distinct(const struct sp_expr *e,
                                                   const struct select_output *o)
{
    if (!e)
        return NULL;
    if (e->kind == SP_EXPR_COLUMN) {
        for (int i = 0; i < o->ncols; i++)
            if (o->cols[i].name && strcasecmp(o->cols[i].name, e->name) == 0)
                return NULL;
        return e;
    }
    for (int i = 0; i < e->nargs; i++) {
        const struct sp_expr *hidden = hidden_after_distinct(e->args[i], o);
        if (hidden)
            return hidden;
    }
    return NULL;
}

static enum em_code add_output(struct translator *t, struct select_output *o, const char *sql,
                               const char *name, const struct sp_type *type,
                               const struct sp_expr *e, const char *alias)
{
    if (o->ncols == o->cap) {
        int cap = o->cap ? o->cap * 2 : 8;
        struct sp_result_column *cols = sp_arena_alloc(t->arena, (size_t)cap * sizeof(*cols));
        const struct sp_expr **exprs = sp_arena_alloc(t->arena, (size_t)cap * sizeof(*exprs));
        const char **aliases = sp_arena_alloc(t->arena, (size_t)cap * sizeof(*aliases));
        if (!cols || !exprs || !aliases)
            return EM_FAIL_OOM(t->st);
        if (o->ncols) {
            memcpy(cols, o->cols, (size_t)o->ncols * sizeof(*cols));
            memcpy(exprs, o->exprs, (size_t)o->ncols * sizeof(*exprs));
            memcpy(aliases, o->aliases, (size_t)o->ncols * sizeof(*aliases));
        }
        o->cols = cols;
        o->exprs = exprs;
        o->aliases = aliases;
        o->cap = cap;
    }
    o->cols[o->ncols] = (struct sp_result_column){name, *type};
    o->exprs[o->ncols] = e;
    o->aliases[o->ncols] = alias;
    o->ncols++;
    sp_buf_printf(&o->sql, "%s%s AS \"$c%d\"", o->ncols > 1 ? ", " : "", sql, o->ncols);
    return EM_OK;
}

static int name_index(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return i;
    return -1;
}

/* Every EXCEPT and REPLACE name must be a column the star expands to. */
static enum em_code check_star_names(struct translator *t, const struct scope *scope,
                                     const struct sp_select_item *item)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *const *names = pass ? item->replace_names : item->except;
        int n = pass ? item->nreplace : item->nexcept;
        for (int i = 0; i < n; i++) {
            bool found = false;
            for (int s = 0; s < scope->nsources; s++) {
                const struct scope_source *src = scope->sources[s];
                if (item->star_qualifier &&
                    (!src->alias || strcasecmp(src->alias, item->star_qualifier) != 0))
                    continue;
                found |= find_in_source(src, names[i], item->star_qualifier != NULL) != NULL;
            }
            if (!found)
                return fail_at(t, item->line, item->column, EM_INVALID_ARGUMENT,
                               "Column %s in SELECT * %s list does not exist", names[i],
                               pass ? "REPLACE" : "EXCEPT");
        }
    }
    return EM_OK;
}

static enum em_code star(struct translator *t, const struct scope *scope,
                         const struct sp_select_item *item, struct select_output *o)
{
    bool any = false;
    if (check_star_names(t, scope, item))
        return t->st->code;
    for (int i = 0; i < scope->nsources; i++) {
        const struct scope_source *src = scope->sources[i];
        if (item->star_qualifier &&
            (!src->alias || strcasecmp(src->alias, item->star_qualifier) != 0))
            continue;
        any = true;
        for (int c = 0; c < src->ncolumns; c++) {
            const struct scope_column *col = &src->columns[c];
            if (!col->name[0] || col->not_in_star || (col->hidden && !item->star_qualifier) ||
                name_index(item->except, item->nexcept, col->name) >= 0)
                continue;
            int replaced = name_index(item->replace_names, item->nreplace, col->name);
            if (replaced >= 0) {
                struct frag f;
                if (expr(t, scope, item->replace_exprs[replaced], &f))
                    return t->st->code;
                settle(t, &f, SP_TYPE_INT64);
                if (add_output(t, o, f.sql, col->name, &f.type, item->replace_exprs[replaced],
                               NULL))
                    return t->st->code;
                continue;
            }
            if (t->check_grouping && !grouped(t, col->sql))
                return fail_at(t, item->line, item->column, EM_INVALID_ARGUMENT,
                               "SELECT list expression references column %s which is neither "
                               "grouped nor aggregated",
                               col->name);
            if (note_read(t, col) ||
                add_output(t, o, item->star_qualifier ? col->sql : col->unqualified_sql, col->name,
                           &col->type, NULL, NULL))
                return t->st->code;
        }
    }
    if (!any && item->star_qualifier)
        return fail_at(t, item->line, item->column, EM_INVALID_ARGUMENT, "Unrecognized name: %s",
                       item->star_qualifier);
    if (!any)
        return fail_at(t, item->line, item->column, EM_INVALID_ARGUMENT,
                       "SELECT * must have a FROM clause");
    return EM_OK;
}

static enum em_code select_items(struct translator *t, const struct scope *scope,
                                 const struct sp_select *s, struct select_output *o)
{
    for (int i = 0; i < s->nitems; i++) {
        const struct sp_select_item *item = &s->items[i];
        if (item->star) {
            if (t->strict_names && !item->star_qualifier)
                return fail_at(t, item->line, item->column, EM_INVALID_ARGUMENT,
                               "SELECT * is not allowed in strict name resolution mode");
            if (star(t, scope, item, o))
                return t->st->code;
            continue;
        }
        struct frag f;
        if (expr(t, scope, item->expr, &f))
            return t->st->code;
        settle(t, &f, f.param >= 0 ? SP_TYPE_STRING : SP_TYPE_INT64);
        bool named = item->expr->kind == SP_EXPR_COLUMN || item->expr->kind == SP_EXPR_FIELD;
        const char *name = item->alias ? item->alias : named ? item->expr->name : "";
        if (add_output(t, o, f.sql, name, &f.type, item->expr, item->alias))
            return t->st->code;
    }
    return EM_OK;
}

/* Whether SQL text is an integer constant as SQLite sees one: digits after signs and
 * parentheses. */
static bool is_integer_text(const char *sql)
{
    while (*sql == '(' || *sql == '-' || *sql == '+' || *sql == ' ')
        sql++;
    if (!isdigit((unsigned char)*sql))
        return false;
    while (isdigit((unsigned char)*sql))
        sql++;
    while (*sql == ')' || *sql == ' ')
        sql++;
    return *sql == '\0';
}

/* GROUP BY items: expressions, select-list ordinals (GROUP BY 1) or aliases. */
static enum em_code group_by(struct translator *t, const struct scope *scope,
                             const struct sp_select *s, struct sp_buf *out)
{
    t->group_sql = sp_arena_alloc(t->arena, (size_t)s->ngroup * sizeof(*t->group_sql));
    if (!t->group_sql)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < s->ngroup; i++) {
        const struct sp_expr *g = s->group_by[i];
        if (g->kind == SP_EXPR_LITERAL && g->lit == SP_TOK_INT) {
            long n = strtol(g->text, NULL, 10);
            if (n < 1 || n > s->nitems || s->items[n - 1].star)
                return FAIL_AT(t, g, EM_INVALID_ARGUMENT,
                               "GROUP BY is out of SELECT column number range: %s", g->text);
            g = s->items[n - 1].expr;
        } else if (g->kind == SP_EXPR_COLUMN && !g->qualifier) {
            const struct scope_column *c;
            const char *sql;
            bool local;
            if (resolve_column(t, scope, g, &c, &sql, &local)) {
                em_status_clear(t->st);
                for (int k = 0; k < s->nitems; k++)
                    if (s->items[k].alias && strcasecmp(s->items[k].alias, g->name) == 0)
                        g = s->items[k].expr;
            }
        }
        struct frag f;
        if (expr(t, scope, g, &f))
            return t->st->code;
        settle(t, &f, SP_TYPE_INT64);
        if (!comparable(f.type.code))
            return FAIL_AT(t, g, EM_INVALID_ARGUMENT,
                           "Grouping by expressions of type %s is not "
                           "allowed",
                           sp_type_code_name(f.type.code));
        t->group_sql[t->ngroup++] = f.sql;
        /* SQLite reads an integer constant there as a column number (GROUP BY 1): the
         * value of a select item such as 0 or -1 is grouped by as a value */
        sp_buf_printf(out, is_integer_text(f.sql) ? "%sCAST(%s AS INTEGER)" : "%s%s",
                      i ? ", " : " GROUP BY ", f.sql);
    }
    return EM_OK;
}

static bool select_aggregates(const struct sp_select *s, const struct sp_query *q)
{
    if (s->ngroup || s->having)
        return true;
    for (int i = 0; i < s->nitems; i++)
        if (has_aggregate(s->items[i].expr))
            return true;
    for (int i = 0; q && i < q->norder; i++)
        if (has_aggregate(q->order[i].expr))
            return true;
    return false;
}

/* ORDER BY of a single SELECT: ordinals and select-list names read the output column,
 * anything else is an expression over the FROM clause. */
static enum em_code order_item_sql(struct translator *t, const struct scope *scope,
                                   const struct select_output *o, const struct sp_order_item *item,
                                   const char **sql, bool *is_float_key)
{
    const struct sp_expr *e = item->expr;
    if (e->kind == SP_EXPR_LITERAL && e->lit == SP_TOK_INT) {
        long n = strtol(e->text, NULL, 10);
        if (n < 1 || n > o->ncols)
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "ORDER BY is out of SELECT column number range: %s", e->text);
        if (!comparable(o->cols[n - 1].type.code))
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "ORDER BY does not support expressions of "
                           "type %s",
                           sp_type_code_name(o->cols[n - 1].type.code));
        *sql = sqlf(t, "\"$c%ld\"", n);
        *is_float_key = is_float(o->cols[n - 1].type.code);
        return *sql ? EM_OK : t->st->code;
    }
    if (e->kind == SP_EXPR_COLUMN && !e->qualifier) {
        for (int i = 0; i < o->ncols; i++)
            if (o->aliases && o->aliases[i] && strcasecmp(o->aliases[i], e->name) == 0) {
                *sql = sqlf(t, "\"$c%d\"", i + 1);
                *is_float_key = is_float(o->cols[i].type.code);
                return *sql ? EM_OK : t->st->code;
            }
    }
    if (!scope)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "ORDER BY after a set operation must reference a column of the result "
                       "by name or number");
    const struct sp_expr *hidden = o->distinct ? hidden_after_distinct(e, o) : NULL;
    if (hidden)
        return FAIL_AT(t, hidden, EM_INVALID_ARGUMENT,
                       "ORDER BY clause expression references column %s which is not visible "
                       "after SELECT DISTINCT",
                       hidden->name);
    struct frag f;
    if (expr(t, scope, e, &f))
        return t->st->code;
    settle(t, &f, SP_TYPE_INT64);
    if (!comparable(f.type.code))
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "ORDER BY does not support expressions of type %s",
                       sp_type_code_name(f.type.code));
    *sql = f.sql;
    *is_float_key = is_float(f.type.code);
    return EM_OK;
}

/* The ORDER BY clause; *float_keys tells whether a key is FLOAT64, ordered by
 * sp_float_order() (NaN first) rather than by its storage. */
static enum em_code order_by(struct translator *t, const struct scope *scope,
                             const struct select_output *o, const struct sp_query *q,
                             struct sp_buf *out, bool *float_keys)
{
    *float_keys = false;
    for (int i = 0; i < q->norder; i++) {
        const struct sp_order_item *item = &q->order[i];
        const char *sql = NULL;
        bool is_float_key = false;
        if (order_item_sql(t, scope, o, item, &sql, &is_float_key))
            return t->st->code;
        if (is_float_key && !(sql = sqlf(t, "sp_float_order(%s)", sql)))
            return t->st->code;
        *float_keys = *float_keys || is_float_key;
        sp_buf_printf(out, "%s%s%s%s", i ? ", " : " ORDER BY ", sql, item->desc ? " DESC" : "",
                      item->nulls == 1   ? " NULLS FIRST"
                      : item->nulls == 2 ? " NULLS LAST"
                                         : "");
    }
    return EM_OK;
}

static enum em_code limit_value(struct translator *t, const struct sp_expr *e, const char *what,
                                const char **sql)
{
    struct frag f;
    if (expr(t, NULL, e, &f))
        return t->st->code;
    if (e->kind == SP_EXPR_LITERAL) {
        if (e->text[0] == '-')
            return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                           "%s expects a non-negative integer literal "
                           "or parameter",
                           what);
        *sql = f.sql;
        return EM_OK;
    }
    if (coerce(t, &f, &type_int64, e->line, e->column, what))
        return t->st->code;
    *sql = sqlf(t, "sp_check_limit(%s)", f.sql);
    return *sql ? EM_OK : t->st->code;
}

static enum em_code limit_offset(struct translator *t, const struct sp_query *q, struct sp_buf *out)
{
    const char *sql;
    if (q->limit) {
        if (limit_value(t, q->limit, "LIMIT", &sql))
            return t->st->code;
        sp_buf_printf(out, " LIMIT %s", sql);
    }
    if (q->offset) {
        if (limit_value(t, q->offset, "OFFSET", &sql))
            return t->st->code;
        sp_buf_printf(out, " OFFSET %s", sql);
    }
    return EM_OK;
}

struct agg_state {
    bool aggregates_allowed, in_aggregate, check_grouping;
    const char *clause;
    const char **group_sql;
    int ngroup;
    const struct scope *grouping_scope;
};

static void save_agg(const struct translator *t, struct agg_state *s)
{
    *s = (struct agg_state){t->aggregates_allowed, t->in_aggregate, t->check_grouping, t->clause,
                            t->group_sql,          t->ngroup,       t->grouping_scope};
}

static void restore_agg(struct translator *t, const struct agg_state *s)
{
    t->aggregates_allowed = s->aggregates_allowed;
    t->in_aggregate = s->in_aggregate;
    t->check_grouping = s->check_grouping;
    t->clause = s->clause;
    t->group_sql = s->group_sql;
    t->ngroup = s->ngroup;
    t->grouping_scope = s->grouping_scope;
}

static enum em_code where_clause(struct translator *t, const struct scope *scope,
                                 const struct sp_expr *where, struct sp_buf *out)
{
    struct frag f;
    t->aggregates_allowed = false;
    t->clause = "WHERE clause";
    if (expr(t, scope, where, &f) ||
        coerce(t, &f, &type_bool, where->line, where->column, "WHERE clause"))
        return t->st->code;
    sp_buf_printf(out, " WHERE %s", f.sql);
    return EM_OK;
}

/* One SELECT with its ORDER BY and LIMIT (q may be NULL: no ORDER BY/LIMIT). */
static enum em_code translate_select(struct translator *t, const struct scope *outer,
                                     const struct sp_select *s, const struct sp_query *q,
                                     const char **sql, struct sp_result_column **cols, int *ncols)
{
    struct scope *scope = sp_arena_alloc(t->arena, sizeof(*scope));
    struct sp_buf from = {0}, tail = {0};
    struct select_output o = {.distinct = s->distinct};
    if (!scope)
        return EM_FAIL_OOM(t->st);
    scope->outer = outer;
    t->in_aggregate = false;
    t->check_grouping = false;
    t->group_sql = NULL;
    t->ngroup = 0;
    t->grouping_scope = scope;
    enum em_code code = EM_OK;
    if (s->from) {
        sp_buf_puts(&from, " FROM ");
        code = translate_from(t, outer, s->from, scope, &from);
    }
    if (!code && s->where)
        code = where_clause(t, scope, s->where, &tail);
    if (!code && !s->from && (s->ngroup || s->having))
        code = FAIL_AT(t, s->ngroup ? s->group_by[0] : s->having, EM_INVALID_ARGUMENT,
                       "Query without FROM clause cannot have a %s clause",
                       s->ngroup ? "GROUP BY" : "HAVING");
    bool aggregating = select_aggregates(s, q);
    t->clause = "GROUP BY clause";
    if (!code && s->ngroup)
        code = group_by(t, scope, s, &tail);
    t->aggregates_allowed = s->from != NULL;
    t->check_grouping = aggregating;
    t->clause = s->from ? "SELECT list" : "SELECT without FROM clause";
    if (!code)
        code = select_items(t, scope, s, &o);
    if (!code && s->having) {
        struct frag h;
        t->clause = "HAVING clause";
        t->having_select = s;
        code = expr(t, scope, s->having, &h);
        t->having_select = NULL;
        if (!code)
            code = coerce(t, &h, &type_bool, s->having->line, s->having->column, "HAVING clause");
        if (!code)
            sp_buf_printf(&tail, " HAVING %s", h.sql);
    }
    t->clause = "ORDER BY clause";
    bool float_keys;
    if (!code && q)
        code = order_by(t, scope, &o, q, &tail, &float_keys);
    t->check_grouping = false;
    if (!code && q)
        code = limit_offset(t, q, &tail);
    if (!code) {
        struct sp_buf all = {0};
        sp_buf_printf(&all, "SELECT %s%s%s%s", s->distinct ? "DISTINCT " : "",
                      o.sql.data ? o.sql.data : "", from.data ? from.data : "",
                      tail.data ? tail.data : "");
        *sql = finish_sql(t, &all);
        code = *sql ? EM_OK : t->st->code;
    }
    if (!code && s->as_struct)
        code = select_as_struct(t, sql, &o.cols, &o.ncols);
    if (!code && s->as_value && o.ncols != 1)
        code = fail_at(t, s->as_line, s->as_column, EM_INVALID_ARGUMENT,
                       "SELECT AS VALUE query must have exactly one column");
    if (!code && s->as_value)
        o.cols[0].name = ""; /* the value itself: no column name */
    if (!code && s->distinct)
        for (int i = 0; i < o.ncols; i++)
            if (!comparable(o.cols[i].type.code))
                code = fail_at(t, s->items[0].line, s->items[0].column, EM_INVALID_ARGUMENT,
                               "SELECT DISTINCT does not support columns of type %s",
                               sp_type_code_name(o.cols[i].type.code));
    sp_buf_free(&from);
    sp_buf_free(&tail);
    sp_buf_free(&o.sql);
    *cols = o.cols;
    *ncols = o.ncols;
    return code;
}

/* The text of the FLOAT64 literal (or its negation) that column i of a plain SELECT is, or
 * NULL: a set operation coerces it to the other side's NUMERIC or FLOAT32, as a literal. */
static const char *literal_column(struct translator *t, const struct sp_query *q, int i)
{
    const struct sp_select *s = q->op == SP_SET_NONE ? q->select : NULL;
    if (!s || s->as_struct || s->as_value || i >= s->nitems)
        return NULL;
    for (int k = 0; k <= i; k++)
        if (s->items[k].star) /* columns no longer match items */
            return NULL;
    const struct sp_expr *e = s->items[i].expr;
    bool negated = e->kind == SP_EXPR_UNARY && strcmp(e->name, "-") == 0;
    if (negated)
        e = e->args[0];
    if (e->kind != SP_EXPR_LITERAL || e->lit != SP_TOK_FLOAT)
        return NULL;
    return negated ? sqlf(t, "-%s", e->text) : e->text;
}

/* Wraps one side of a set operation so its columns have the unified types. */
static const char *set_operand(struct translator *t, const char *sql,
                               const struct sp_result_column *cols,
                               const struct sp_result_column *want, int n,
                               const struct sp_query *side)
{
    struct sp_buf buf = {0};
    sp_buf_puts(&buf, "SELECT ");
    for (int i = 0; i < n; i++) {
        struct frag f = typed(sqlf(t, "\"$c%d\"", i + 1), cols[i].type.code);
        f.type = cols[i].type;
        f.float_literal = literal_column(t, side, i);
        enum em_code code;
        coerce_quiet(t, &f, &want[i].type, 0, 0, &code);
        sp_buf_printf(&buf, "%s%s AS \"$c%d\"", i ? ", " : "", f.sql ? f.sql : "NULL", i + 1);
    }
    sp_buf_printf(&buf, " FROM (%s)", sql);
    return finish_sql(t, &buf);
}

/* INTERSECT ALL / EXCEPT ALL, which SQLite lacks: each row is numbered within its group of
 * equal rows ("$k" = 1, 2, ...), which makes every occurrence distinct, so SQLite's
 * INTERSECT keeps min(m, n) copies of a row and EXCEPT keeps m - n, as GoogleSQL's bag
 * semantics want; the numbers are then dropped. */
static void bag_set_op(struct translator *t, struct sp_buf *buf, const char *name, const char *lsql,
                       const char *rsql, int ncols)
{
    struct sp_buf cols = {0};
    for (int i = 0; i < ncols; i++)
        sp_buf_printf(&cols, "%s\"$c%d\"", i ? ", " : "", i + 1);
    const char *list = finish_sql(t, &cols);
    list = list ? list : "";
    sp_buf_printf(buf,
                  "SELECT %s FROM (SELECT %s, row_number() OVER (PARTITION BY %s) AS \"$k\" "
                  "FROM (%s) %s SELECT %s, row_number() OVER (PARTITION BY %s) AS \"$k\" "
                  "FROM (%s))",
                  list, list, list, lsql ? lsql : "", name, list, list, rsql ? rsql : "");
}

static enum em_code translate_set_op(struct translator *t, const struct scope *outer,
                                     const struct sp_query *q, const char **sql,
                                     struct sp_result_column **cols, int *ncols)
{
    static const char *const names[] = {"", "UNION", "INTERSECT", "EXCEPT"};
    const char *name = names[q->op];
    const char *lsql, *rsql;
    struct sp_result_column *lcols, *rcols;
    int nl, nr;
    if (translate_query(t, outer, q->left, &lsql, &lcols, &nl) ||
        translate_query(t, outer, q->right, &rsql, &rcols, &nr))
        return t->st->code;
    if (nl != nr)
        return fail_at(t, q->line, q->column, EM_INVALID_ARGUMENT,
                       "Queries in %s %s have mismatched column count; query 1 has %d column%s, "
                       "query 2 has %d column%s",
                       name, q->all ? "ALL" : "DISTINCT", nl, nl == 1 ? "" : "s", nr,
                       nr == 1 ? "" : "s");
    struct sp_result_column *out = sp_arena_alloc(t->arena, (size_t)(nl ? nl : 1) * sizeof(*out));
    if (!out)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < nl; i++) {
        struct frag a = typed("", lcols[i].type.code), b = typed("", rcols[i].type.code);
        a.type = lcols[i].type;
        b.type = rcols[i].type;
        a.float_literal = literal_column(t, q->left, i);
        b.float_literal = literal_column(t, q->right, i);
        out[i].name = lcols[i].name;
        bool grouped = !q->all || q->op != SP_SET_UNION;
        if (!supertype(&a, &b, &out[i].type)) {
            char l[128], r[128];
            return fail_at(t, q->line, q->column, EM_INVALID_ARGUMENT,
                           "Column %d in %s has incompatible types: %s, %s", i + 1, name,
                           type_name(&a.type, l, sizeof(l)), type_name(&b.type, r, sizeof(r)));
        }
        if (grouped && !comparable(out[i].type.code))
            return fail_at(t, q->line, q->column, EM_INVALID_ARGUMENT,
                           "Column %d in %s %s has type that does not support set operation "
                           "comparisons: %s",
                           i + 1, name, q->all ? "ALL" : "DISTINCT",
                           sp_type_code_name(out[i].type.code));
    }
    lsql = set_operand(t, lsql, lcols, out, nl, q->left);
    rsql = set_operand(t, rsql, rcols, out, nl, q->right);
    struct sp_buf buf = {0};
    if (q->all && q->op != SP_SET_UNION)
        bag_set_op(t, &buf, name, lsql, rsql, nl);
    else
        sp_buf_printf(&buf, "SELECT * FROM (%s) %s%s SELECT * FROM (%s)", lsql ? lsql : "", name,
                      q->all ? " ALL" : "", rsql ? rsql : "");
    struct select_output o = {.cols = out, .ncols = nl};
    const char **aliases = sp_arena_alloc(t->arena, (size_t)(nl ? nl : 1) * sizeof(*aliases));
    if (!aliases)
        return EM_FAIL_OOM(t->st);
    for (int i = 0; i < nl; i++)
        aliases[i] = out[i].name[0] ? out[i].name : NULL;
    o.aliases = aliases;
    /* a compound SELECT's ORDER BY may only name its columns: sp_float_order() needs the
     * compound as a subquery */
    struct sp_buf tail = {0};
    bool float_keys;
    if (order_by(t, NULL, &o, q, &tail, &float_keys) || limit_offset(t, q, &tail)) {
        sp_buf_free(&buf);
        sp_buf_free(&tail);
        return t->st->code;
    }
    if (float_keys) {
        const char *compound = finish_sql(t, &buf);
        if (!compound) {
            sp_buf_free(&tail);
            return t->st->code;
        }
        sp_buf_printf(&buf, "SELECT * FROM (%s)", compound);
    }
    sp_buf_puts(&buf, tail.data ? tail.data : "");
    buf.failed = buf.failed || tail.failed;
    sp_buf_free(&tail);
    *sql = finish_sql(t, &buf);
    *cols = out;
    *ncols = nl;
    return *sql ? EM_OK : t->st->code;
}

/* WITH a AS (...), b AS (...): each translated and made visible, in order. */
static enum em_code with_clause(struct translator *t, const struct scope *outer,
                                const struct sp_query *q, struct sp_buf *out)
{
    for (int i = 0; i < q->nctes; i++) {
        const struct sp_query *cte = q->ctes[i];
        if (t->nctes == (int)(sizeof(t->ctes) / sizeof(t->ctes[0])))
            return fail_at(t, cte->line, cte->column, EM_UNIMPLEMENTED,
                           "More than %d WITH queries are not supported by this emulator",
                           t->nctes);
        for (int k = 0; k < i; k++)
            if (strcasecmp(q->cte_names[k], q->cte_names[i]) == 0)
                return fail_at(t, cte->line, cte->column, EM_INVALID_ARGUMENT,
                               "Duplicate alias %s for WITH subquery", q->cte_names[i]);
        struct cte *c = &t->ctes[t->nctes];
        const char *sql;
        if (translate_query(t, outer, cte, &sql, &c->cols, &c->ncols))
            return t->st->code;
        c->name = q->cte_names[i];
        c->sql_name = sqlf(t, "$w%d", ++t->next_alias);
        if (!c->sql_name)
            return t->st->code;
        sp_buf_printf(out, "%s\"%s\" AS (%s)", i ? ", " : "WITH ", c->sql_name, sql);
        t->nctes++;
    }
    sp_buf_puts(out, " ");
    return EM_OK;
}

static enum em_code translate_query(struct translator *t, const struct scope *outer,
                                    const struct sp_query *q, const char **sql,
                                    struct sp_result_column **cols, int *ncols)
{
    struct agg_state saved;
    struct sp_buf with = {0};
    int nctes = t->nctes;
    if (nest(t, q->line, q->column))
        return t->st->code;
    save_agg(t, &saved);
    enum em_code code = q->nctes ? with_clause(t, outer, q, &with) : EM_OK;
    if (!code)
        code = q->op == SP_SET_NONE ? translate_select(t, outer, q->select, q, sql, cols, ncols)
                                    : translate_set_op(t, outer, q, sql, cols, ncols);
    if (!code && q->nctes) {
        sp_buf_puts(&with, *sql);
        *sql = finish_sql(t, &with);
        code = *sql ? EM_OK : t->st->code;
    }
    sp_buf_free(&with);
    t->nctes = nctes;
    restore_agg(t, &saved);
    t->depth--;
    return code;
}

/* ---- DML ---- */

/* Wraps a value written to a STRING(N)/BYTES(N) column in its length check. */
static const char *checked_write(struct translator *t, const struct sp_table *table,
                                 const struct sp_column *c, const char *sql)
{
    long limit = c->type.length;
    if (limit <= 0)
        return sql;
    if (c->type.code == SP_TYPE_ARRAY) /* the limit is each element's */
        return sqlf(t, "sp_check_array_length(%s, %ld, '%s.%s', %d)", sql, limit, table->name,
                    c->name, c->type.element == SP_TYPE_BYTES);
    return sqlf(t, "sp_check_length(%s, %ld, '%s.%s')", sql, limit, table->name, c->name);
}

/* PENDING_COMMIT_TIMESTAMP() as the whole value of column c: the placeholder the commit
 * fills (SP_PENDING_COMMIT_TIMESTAMP), allowed for allow_commit_timestamp columns only. */
static enum em_code pending_value(struct translator *t, const struct sp_table *table,
                                  const struct sp_column *c, const struct sp_expr *e,
                                  const char **sql)
{
    if (e->nargs)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "No matching signature for function PENDING_COMMIT_TIMESTAMP with %d "
                       "argument%s",
                       e->nargs, e->nargs == 1 ? "" : "s");
    if (c->type.code != SP_TYPE_TIMESTAMP) {
        char type[48];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Value has type TIMESTAMP which cannot be assigned to column %s, which "
                       "has type %s",
                       c->name, type_name(&c->type, type, sizeof(type)));
    }
    if (!c->allow_commit_timestamp)
        return FAIL_AT(t, e, EM_FAILED_PRECONDITION,
                       "Cannot write commit timestamp because the allow_commit_timestamp column "
                       "option is not set to true for column %s.%s",
                       table->name, c->name);
    bool known = false;
    for (int i = 0; i < t->npending; i++)
        known |= strcmp(t->pending[i], c->name) == 0;
    if (!known && t->npending == (int)(sizeof(t->pending) / sizeof(t->pending[0])))
        return FAIL_AT(t, e, EM_UNIMPLEMENTED,
                       "More than %d commit timestamp columns in one statement", t->npending);
    if (!known)
        t->pending[t->npending++] = c->name;
    *sql = "'" SP_PENDING_COMMIT_TIMESTAMP "'";
    return EM_OK;
}

static enum em_code expr_from_text(struct translator *t, const char *text, struct sp_expr **out);

/* DEFAULT written as a column's value: its DEFAULT expression, its identity's next value,
 * or NULL. */
static enum em_code default_value(struct translator *t, const struct sp_table *table,
                                  const struct sp_column *c, const struct sp_expr *e,
                                  const char **sql);

static enum em_code value_for(struct translator *t, const struct sp_table *table,
                              const struct sp_column *c, const struct scope *scope,
                              const struct sp_expr *e, const char **sql)
{
    if (e->kind == SP_EXPR_DEFAULT)
        return default_value(t, table, c, e, sql);
    if (is_pending_commit_timestamp(e))
        return pending_value(t, table, c, e, sql);
    struct frag f;
    if (expr(t, scope, e, &f))
        return t->st->code;
    enum em_code code;
    if (!coerce_quiet(t, &f, &c->type, e->line, e->column, &code)) {
        if (code)
            return code;
        char have[48], want[48];
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT,
                       "Value has type %s which cannot be assigned to column %s, which has type "
                       "%s",
                       type_name(&f.type, have, sizeof(have)), c->name,
                       type_name(&c->type, want, sizeof(want)));
    }
    *sql = checked_write(t, table, c, f.sql);
    return *sql ? EM_OK : t->st->code;
}

static enum em_code expr_from_text(struct translator *t, const char *text, struct sp_expr **out)
{
    struct sp_parser p;
    if (sp_parser_init(&p, t->arena, text, t->st) || sp_parse_expr(&p, out))
        return t->st->code;
    if (sp_peek(&p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&p);
    return EM_OK;
}

static enum em_code default_value(struct translator *t, const struct sp_table *table,
                                  const struct sp_column *c, const struct sp_expr *e,
                                  const char **sql)
{
    if (c->generated_text)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Cannot write DEFAULT to generated column %s",
                       c->name);
    if (c->identity) { /* its counter: "<table>.<column>" (names hold no quote) */
        t->draws_sequence = true;
        *sql = sqlf(t, "sp_next_sequence_value('%s.%s')", table->name, c->name);
        return *sql ? EM_OK : t->st->code;
    }
    struct sp_expr null_value = {.kind = SP_EXPR_NULL, .line = e->line, .column = e->column};
    const struct sp_expr *value = &null_value;
    struct sp_expr *parsed;
    if (c->default_text) {
        if (expr_from_text(t, c->default_text, &parsed))
            return t->st->code;
        value = parsed;
    }
    return value_for(t, table, c, NULL, value, sql);
}

static const struct sp_table *dml_table(struct translator *t, const struct sp_statement *s)
{
    const struct sp_table *table = sp_schema_table_or_synonym(t->schema, s->table);
    if (!table)
        fail_at(t, s->table_line, s->table_column, EM_INVALID_ARGUMENT, "Table not found: %s",
                s->table);
    return table;
}

/* THEN RETURN WITH ACTION: a last STRING column saying what each row went through. An
 * INSERT OR UPDATE row may be either, which SQLite's RETURNING does not tell. */
static enum em_code with_action(struct translator *t, const struct sp_statement *s,
                                struct select_output *o)
{
    if (!s->action_alias)
        return EM_OK;
    if (s->kind == SP_STMT_INSERT && s->insert_mode == SP_INSERT_OR_UPDATE)
        return fail_at(t, s->action_line, s->action_column, EM_UNIMPLEMENTED,
                       "THEN RETURN WITH ACTION of INSERT OR UPDATE is not supported by this "
                       "emulator");
    const char *action = s->kind == SP_STMT_INSERT   ? "'INSERT'"
                         : s->kind == SP_STMT_UPDATE ? "'UPDATE'"
                                                     : "'DELETE'";
    return add_output(t, o, action, s->action_alias, &type_string, NULL, s->action_alias);
}

static enum em_code returning(struct translator *t, const struct scope *scope,
                              const struct sp_statement *s, struct sp_buf *out,
                              struct sp_translation *tr)
{
    if (!s->nreturning)
        return EM_OK;
    struct sp_select fake = {.items = s->returning, .nitems = s->nreturning};
    struct select_output o = {0};
    t->aggregates_allowed = false;
    t->clause = "THEN RETURN";
    if (select_items(t, scope, &fake, &o) || with_action(t, s, &o)) {
        sp_buf_free(&o.sql);
        return t->st->code;
    }
    sp_buf_printf(out, " RETURNING %s", o.sql.data ? o.sql.data : "");
    sp_buf_free(&o.sql);
    tr->columns = o.cols;
    tr->ncolumns = o.ncols;
    return EM_OK;
}

/* The target table as a scope whose columns read "<table>"."<col>" (SQLite's RETURNING
 * accepts the table name but not an alias). */
/* The scope of a DML statement's target: its alias, or the name the statement wrote (the
 * table's, or its synonym). */
static struct scope *dml_scope(struct translator *t, const struct sp_table *table,
                               const char *alias)
{
    struct scope *scope = sp_arena_alloc(t->arena, sizeof(*scope));
    const char *qualifier = quote_ident(t, table->name);
    struct scope_source *src = scope && qualifier ? table_source(t, table, alias, qualifier) : NULL;
    if (!src || scope_add(t, scope, src))
        return NULL;
    return scope;
}

static enum em_code insert_columns(struct translator *t, const struct sp_table *table,
                                   const struct sp_statement *s, const struct sp_column **cols)
{
    for (int i = 0; i < s->ncolumns; i++) {
        const struct sp_column *c = sp_table_column(table, s->columns[i]);
        if (!c)
            return fail_at(t, s->column_lines[i], s->column_columns[i], EM_INVALID_ARGUMENT,
                           "Column %s is not present in table %s", s->columns[i], table->name);
        if (c->generated_text)
            return fail_at(t, s->column_lines[i], s->column_columns[i], EM_INVALID_ARGUMENT,
                           "Cannot INSERT value on non-writable column: %s", c->name);
        for (int k = 0; k < i; k++)
            if (cols[k] == c)
                return fail_at(t, s->column_lines[i], s->column_columns[i], EM_INVALID_ARGUMENT,
                               "INSERT has columns with duplicate name: %s", c->name);
        cols[i] = c;
    }
    return EM_OK;
}

/* The columns an INSERT writes: those it lists (their values in each row), then the
 * unlisted ones with a DEFAULT or an identity, whose values insert_defaults makes. */
struct inserted {
    const struct sp_column **cols; /* listed, then defaulted */
    const char **default_sql;      /* [n - nlisted]: each defaulted column's value */
    int n, nlisted;
};

/* Adds to ins (and names) the unlisted columns with a DEFAULT or an identity; refuses an
 * unlisted NOT NULL column without one. */
static enum em_code insert_defaults(struct translator *t, const struct sp_table *table,
                                    struct sp_buf *names, struct inserted *ins)
{
    struct sp_buf missing = {0};
    for (int i = 0; i < table->ncolumns; i++) {
        const struct sp_column *c = &table->columns[i];
        bool listed = false;
        for (int k = 0; k < ins->nlisted; k++)
            listed |= ins->cols[k] == c;
        if (listed || c->generated_text)
            continue;
        if (c->default_text || c->identity) {
            const struct sp_expr unlisted = {.kind = SP_EXPR_DEFAULT};
            const char *sql;
            if (default_value(t, table, c, &unlisted, &sql)) {
                sp_buf_free(&missing);
                return t->st->code;
            }
            sp_buf_puts(names, ", ");
            sp_buf_ident(names, c->name);
            ins->default_sql[ins->n - ins->nlisted] = sql;
            ins->cols[ins->n++] = c;
        } else if (c->not_null) {
            sp_buf_printf(&missing, "%s%s", missing.len ? ", " : "", c->name);
        }
    }
    enum em_code code = EM_OK;
    if (missing.len)
        code = EM_FAIL(t->st, EM_FAILED_PRECONDITION,
                       "A new row in table %s does not specify a non-null value for these NOT "
                       "NULL columns: %s",
                       table->name, missing.data);
    sp_buf_free(&missing);
    return code;
}

/* The defaulted columns' values of one row: ", v, v" (aliased: ", v AS "$vN""). */
static void default_values(const struct inserted *ins, bool aliased, struct sp_buf *out)
{
    for (int i = ins->nlisted; i < ins->n; i++) {
        sp_buf_printf(out, ", %s", ins->default_sql[i - ins->nlisted]);
        if (aliased)
            sp_buf_printf(out, " AS \"$v%d\"", i + 1);
    }
}

/* INSERT ... SELECT: " SELECT <each column's value> FROM (<query>) WHERE true", or with
 * aliased, the columns named "$v1".."$vN" and no WHERE (the source of insert_once). */
static enum em_code insert_select(struct translator *t, const struct sp_table *table,
                                  const struct sp_statement *s, const struct inserted *ins,
                                  bool aliased, struct sp_buf *out)
{
    const struct sp_column **cols = ins->cols;
    const char *sql;
    struct sp_result_column *rcols;
    int n;
    if (translate_query(t, NULL, s->query, &sql, &rcols, &n))
        return t->st->code;
    if (n != s->ncolumns)
        return fail_at(t, s->query->line, s->query->column, EM_INVALID_ARGUMENT,
                       "Inserted row has wrong column count; Has %d, expected %d", n, s->ncolumns);
    sp_buf_puts(out, " SELECT ");
    for (int i = 0; i < n; i++) {
        struct frag f = typed(sqlf(t, "\"$c%d\"", i + 1), rcols[i].type.code);
        f.type = rcols[i].type;
        if (coerce(t, &f, &cols[i]->type, s->query->line, s->query->column, "INSERT column"))
            return t->st->code;
        sp_buf_printf(out, "%s%s", i ? ", " : "", checked_write(t, table, cols[i], f.sql));
        if (aliased)
            sp_buf_printf(out, " AS \"$v%d\"", i + 1);
    }
    default_values(ins, aliased, out);
    /* WHERE true: SQLite's parser needs it to read a following RETURNING */
    sp_buf_printf(out, " FROM (%s)%s", sql, aliased ? "" : " WHERE true");
    return EM_OK;
}

/* Whether an INSERT must check that no two of its rows have one key: INSERT OR UPDATE of
 * several rows ("Cannot affect a row second time for key: {...}", INVALID_ARGUMENT, as
 * Spanner; SQLite's upsert would update the row the statement had just written). INSERT
 * fails on its second row by the primary key already; INSERT OR IGNORE keeps the first. */
static bool insert_needs_once(const struct sp_statement *s)
{
    return s->insert_mode == SP_INSERT_OR_UPDATE && (s->query || s->nrows > 1);
}

/* INSERT OR UPDATE of several rows from src (its columns "$v1".."$vN", ins's order): " SELECT
 * "$v1", ... FROM (src numbered by key) WHERE sp_affect_once(...)": each row counts the rows
 * of its key (a window over the source, whose values are computed once), and
 * sp_affect_once fails on a count above 1, naming the key. A key column the INSERT does
 * not write is NULL in every row (a generated one is a function of the others). */
static void insert_once(const struct sp_table *table, const struct inserted *ins, const char *src,
                        struct sp_buf *out)
{
    struct sp_buf partition = {0}, args = {0}, types = {0};
    for (int k = 0; k < table->nkey; k++) {
        const struct sp_column *c = sp_table_column(table, table->key[k].column);
        int at = -1;
        for (int i = 0; i < ins->n && at < 0; i++)
            if (ins->cols[i] == c)
                at = i;
        sp_buf_printf(&types, "%s%s", k ? "," : "", c ? sp_type_code_name(c->type.code) : "");
        if (at < 0) {
            sp_buf_puts(&args, ", NULL");
            continue;
        }
        sp_buf_printf(&partition, "%s\"$v%d\"", partition.len ? ", " : "PARTITION BY ", at + 1);
        sp_buf_printf(&args, ", \"$v%d\"", at + 1);
    }
    sp_buf_puts(out, " SELECT ");
    for (int i = 0; i < ins->n; i++)
        sp_buf_printf(out, "%s\"$v%d\"", i ? ", " : "", i + 1);
    sp_buf_printf(out,
                  " FROM (SELECT *, COUNT(*) OVER (%s) AS \"$dups\" FROM (%s)) WHERE "
                  "sp_affect_once(\"$dups\", ",
                  partition.data ? partition.data : "", src);
    sp_buf_string(out, types.data ? types.data : "", types.len);
    sp_buf_printf(out, "%s)", args.data ? args.data : "");
    out->failed |= partition.failed || args.failed || types.failed;
    sp_buf_free(&partition);
    sp_buf_free(&args);
    sp_buf_free(&types);
}

/* INSERT OR UPDATE and INSERT OR IGNORE: SQLite's upsert on the primary key (a row already
 * there keeps its unlisted columns, or is left alone); a UNIQUE index's duplicate is still
 * an error, as in Spanner */
static void insert_conflict(const struct sp_table *table, const struct sp_statement *s,
                            const struct sp_column **cols, struct sp_buf *out)
{
    if (s->insert_mode == SP_INSERT_PLAIN)
        return;
    sp_buf_puts(out, " ON CONFLICT (");
    if (table->nkey == 0)
        sp_buf_puts(out, "\"$singleton\"");
    for (int i = 0; i < table->nkey; i++) {
        sp_buf_puts(out, i ? ", " : "");
        sp_buf_ident(out, table->key[i].column);
    }
    if (s->insert_mode == SP_INSERT_OR_IGNORE) {
        sp_buf_puts(out, ") DO NOTHING");
        return;
    }
    /* every listed column, keys included (a row that is there counts as updated even when
     * only its key was written) */
    sp_buf_puts(out, ") DO UPDATE SET ");
    for (int i = 0; i < s->ncolumns; i++) {
        sp_buf_puts(out, i ? ", " : "");
        sp_buf_ident(out, cols[i]->name);
        sp_buf_puts(out, " = excluded.");
        sp_buf_ident(out, cols[i]->name);
    }
}

/* The rows of an INSERT's VALUES: " VALUES (...), (...)". */
static enum em_code insert_values(struct translator *t, const struct sp_table *table,
                                  const struct sp_statement *s, const struct inserted *ins,
                                  struct sp_buf *out)
{
    for (int r = 0; r < s->nrows; r++) {
        sp_buf_puts(out, r ? ", (" : " VALUES (");
        for (int i = 0; i < s->ncolumns; i++) {
            const char *sql;
            if (value_for(t, table, ins->cols[i], NULL, s->rows[r][i], &sql))
                return t->st->code;
            sp_buf_printf(out, "%s%s", i ? ", " : "", sql);
        }
        default_values(ins, false, out);
        sp_buf_puts(out, ")");
    }
    return EM_OK;
}

/* The rows an INSERT writes, after "INSERT INTO T (columns)". */
static enum em_code insert_rows(struct translator *t, const struct sp_table *table,
                                const struct sp_statement *s, const struct inserted *ins,
                                struct sp_buf *out)
{
    if (!insert_needs_once(s))
        return s->query ? insert_select(t, table, s, ins, false, out)
                        : insert_values(t, table, s, ins, out);
    struct sp_buf src = {0};
    enum em_code code;
    if (s->query) {
        code = insert_select(t, table, s, ins, true, &src);
    } else { /* SQLite names a VALUES list's columns column1, column2, ... */
        sp_buf_puts(&src, "SELECT ");
        for (int i = 0; i < ins->n; i++)
            sp_buf_printf(&src, "%scolumn%d AS \"$v%d\"", i ? ", " : "", i + 1, i + 1);
        sp_buf_puts(&src, " FROM (");
        code = insert_values(t, table, s, ins, &src);
        sp_buf_puts(&src, ")");
    }
    if (!code)
        insert_once(table, ins, src.data ? src.data : "", out);
    out->failed |= src.failed;
    sp_buf_free(&src);
    return code;
}

static enum em_code translate_insert(struct translator *t, const struct sp_statement *s,
                                     struct sp_buf *out, struct sp_translation *tr)
{
    const struct sp_table *table = dml_table(t, s);
    int capacity = (table ? table->ncolumns : 0) + s->ncolumns + 1;
    struct inserted ins = {
        .cols = sp_arena_alloc(t->arena, (size_t)capacity * sizeof(*ins.cols)),
        .default_sql = sp_arena_alloc(t->arena, (size_t)capacity * sizeof(*ins.default_sql)),
        .n = s->ncolumns,
        .nlisted = s->ncolumns,
    };
    if (!table || !ins.cols || !ins.default_sql)
        return table ? EM_FAIL_OOM(t->st) : t->st->code;
    struct sp_buf names = {0};
    t->aggregates_allowed = false;
    t->clause = "INSERT VALUES";
    enum em_code code = insert_columns(t, table, s, ins.cols);
    for (int i = 0; !code && i < s->ncolumns; i++) {
        sp_buf_puts(&names, i ? ", " : "");
        sp_buf_ident(&names, ins.cols[i]->name);
        code = note_access(t, SP_ON_TABLE, table->name, ins.cols[i]->name, SP_PRIV_INSERT);
        /* INSERT OR UPDATE changes a row that is there */
        if (!code && s->insert_mode == SP_INSERT_OR_UPDATE &&
            !sp_table_is_key(table, ins.cols[i]->name))
            code = note_access(t, SP_ON_TABLE, table->name, ins.cols[i]->name, SP_PRIV_UPDATE);
    }
    if (!code)
        code = insert_defaults(t, table, &names, &ins);
    if (!code) {
        sp_buf_puts(out, "INSERT INTO ");
        sp_buf_ident(out, table->name);
        sp_buf_printf(out, " (%s)", names.data ? names.data : "");
        code = insert_rows(t, table, s, &ins, out);
    }
    if (!code)
        insert_conflict(table, s, ins.cols, out);
    struct scope *scope = code ? NULL : dml_scope(t, table, NULL);
    if (!code && !scope)
        code = t->st->code ? t->st->code : EM_FAIL_OOM(t->st);
    if (!code)
        code = returning(t, scope, s, out, tr);
    sp_buf_free(&names);
    tr->table = table->name;
    return code;
}

static enum em_code translate_update(struct translator *t, const struct sp_statement *s,
                                     struct sp_buf *out, struct sp_translation *tr)
{
    const struct sp_table *table = dml_table(t, s);
    struct scope *scope =
        table ? dml_scope(t, table, s->alias ? s->alias : sp_name_without_schema(s->table)) : NULL;
    if (!scope)
        return t->st->code ? t->st->code : EM_FAIL_OOM(t->st);
    sp_buf_puts(out, "UPDATE ");
    sp_buf_ident(out, table->name);
    t->aggregates_allowed = false;
    t->clause = "UPDATE SET";
    for (int i = 0; i < s->ncolumns; i++) {
        const struct sp_column *c = sp_table_column(table, s->columns[i]);
        int line = s->column_lines[i], column = s->column_columns[i];
        if (!c)
            return fail_at(t, line, column, EM_INVALID_ARGUMENT, "Unrecognized name: %s",
                           s->columns[i]);
        if (sp_table_is_key(table, c->name) || c->generated_text)
            return fail_at(t, line, column, EM_INVALID_ARGUMENT,
                           "Cannot UPDATE value on non-writable column: %s", c->name);
        for (int k = 0; k < i; k++)
            if (strcasecmp(s->columns[k], c->name) == 0)
                return fail_at(t, line, column, EM_INVALID_ARGUMENT,
                               "Update item %s assigned more than once", c->name);
        const char *sql;
        if (note_access(t, SP_ON_TABLE, table->name, c->name, SP_PRIV_UPDATE) ||
            value_for(t, table, c, scope, s->values[i], &sql))
            return t->st->code;
        sp_buf_puts(out, i ? ", " : " SET ");
        sp_buf_ident(out, c->name);
        sp_buf_printf(out, " = %s", sql);
    }
    tr->table = table->name;
    if (where_clause(t, scope, s->where, out))
        return t->st->code;
    return returning(t, scope, s, out, tr);
}

static enum em_code translate_delete(struct translator *t, const struct sp_statement *s,
                                     struct sp_buf *out, struct sp_translation *tr)
{
    const struct sp_table *table = dml_table(t, s);
    struct scope *scope =
        table ? dml_scope(t, table, s->alias ? s->alias : sp_name_without_schema(s->table)) : NULL;
    if (!scope)
        return t->st->code ? t->st->code : EM_FAIL_OOM(t->st);
    if (note_access(t, SP_ON_TABLE, table->name, NULL, SP_PRIV_DELETE))
        return t->st->code;
    sp_buf_puts(out, "DELETE FROM ");
    sp_buf_ident(out, table->name);
    tr->table = table->name;
    if (where_clause(t, scope, s->where, out))
        return t->st->code;
    return returning(t, scope, s, out, tr);
}

/* ---- entry points ---- */

void sp_translation_free(struct sp_translation *translation)
{
    if (!translation)
        return;
    struct sp_arena arena = translation->arena;
    sp_arena_free(&arena);
}

static enum em_code translate_statement(struct translator *t, const struct sp_statement *s,
                                        struct sp_translation *tr)
{
    struct sp_buf out = {0};
    enum em_code code;
    tr->kind = s->kind;
    switch (s->kind) {
    case SP_STMT_QUERY: {
        const char *sql;
        code = translate_query(t, NULL, s->query, &sql, &tr->columns, &tr->ncolumns);
        if (!code)
            code = check_result_columns(t, s->query, tr->columns, tr->ncolumns);
        if (!code)
            sp_buf_puts(&out, sql);
        break;
    }
    case SP_STMT_INSERT:
        code = translate_insert(t, s, &out, tr);
        break;
    case SP_STMT_UPDATE:
        code = translate_update(t, s, &out, tr);
        break;
    default:
        code = translate_delete(t, s, &out, tr);
        break;
    }
    if (code) {
        sp_buf_free(&out);
        return code;
    }
    tr->sql = finish_sql(t, &out);
    return tr->sql ? EM_OK : t->st->code;
}

/* The first subquery in e (a partitioned statement may not read other rows). */
static const struct sp_expr *find_subquery(const struct sp_expr *e)
{
    if (!e)
        return NULL;
    if (e->subquery || e->kind == SP_EXPR_SUBQUERY || e->kind == SP_EXPR_EXISTS ||
        e->kind == SP_EXPR_ARRAY_QUERY)
        return e;
    for (int i = 0; i < e->nargs; i++) {
        const struct sp_expr *found = find_subquery(e->args[i]);
        if (found)
            return found;
    }
    return NULL;
}

/* Partitioned DML's rules (see sp_translate_partitioned). */
static enum em_code check_partitioned(struct translator *t, const struct sp_statement *s)
{
    if (s->kind == SP_STMT_QUERY)
        return fail_at(t, s->query->line, s->query->column, EM_INVALID_ARGUMENT,
                       "Partitioned DML runs UPDATE and DELETE statements, not queries");
    if (s->kind == SP_STMT_INSERT)
        return fail_at(t, s->table_line, s->table_column, EM_INVALID_ARGUMENT,
                       "INSERT is not supported in Partitioned DML; only UPDATE and DELETE are");
    if (s->nreturning)
        return fail_at(t, s->returning[0].line, s->returning[0].column, EM_INVALID_ARGUMENT,
                       "THEN RETURN is not supported in Partitioned DML");
    const struct sp_expr *sub = find_subquery(s->where);
    for (int i = 0; !sub && s->kind == SP_STMT_UPDATE && i < s->ncolumns; i++)
        sub = find_subquery(s->values[i]);
    if (sub)
        return FAIL_AT(t, sub, EM_INVALID_ARGUMENT,
                       "Partitioned DML statements must be fully partitionable: each row is "
                       "changed reading that row only, and a subquery reads others");
    return EM_OK;
}

static enum em_code translate(const struct sp_schema *schema, const char *sql,
                              const struct sp_param_decl *decls, int ndecls, bool partitioned,
                              int64_t read_ns, const char *role, struct sp_translation **out,
                              struct em_status *st)
{
    struct sp_arena arena = {0};
    struct sp_translation *tr = sp_arena_alloc(&arena, sizeof(*tr));
    *out = NULL;
    if (!tr)
        return EM_FAIL_OOM(st);
    struct translator t = {.arena = &arena,
                           .schema = schema,
                           .st = st,
                           .decls = decls,
                           .ndecls = ndecls,
                           .read_ns = read_ns,
                           .role = role};
    struct sp_parser p;
    struct sp_statement *s;
    enum em_code code = sp_parser_init(&p, &arena, sql, st);
    if (!code)
        code = sp_parse_statement(&p, &s);
    if (!code && partitioned)
        code = check_partitioned(&t, s);
    if (!code)
        code = translate_statement(&t, s, tr);
    for (int i = 0; !code && i < t.nparams; i++)
        if (t.params[i].type.code == SP_TYPE_UNKNOWN)
            t.params[i].type = type_string;
    if (!code && arena.failed)
        code = EM_FAIL_OOM(st);
    if (code) {
        sp_arena_free(&arena);
        return code;
    }
    tr->params = t.params;
    tr->nparams = t.nparams;
    tr->draws_sequence = t.draws_sequence;
    tr->accesses = t.accesses.items;
    tr->naccesses = t.accesses.count;
    if (t.npending) {
        tr->pending_columns = sp_arena_alloc(&arena, (size_t)t.npending * sizeof(char *));
        if (!tr->pending_columns) {
            sp_arena_free(&arena);
            return EM_FAIL_OOM(st);
        }
        memcpy(tr->pending_columns, t.pending, (size_t)t.npending * sizeof(char *));
        tr->npending_columns = t.npending;
    }
    tr->arena = arena;
    *out = tr;
    return EM_OK;
}

enum em_code sp_translate(const struct sp_schema *schema, const char *sql,
                          const struct sp_param_decl *decls, int ndecls,
                          struct sp_translation **out, struct em_status *st)
{
    return translate(schema, sql, decls, ndecls, false, 0, NULL, out, st);
}

enum em_code sp_translate_at(const struct sp_schema *schema, const char *sql,
                             const struct sp_param_decl *decls, int ndecls, int64_t read_ns,
                             struct sp_translation **out, struct em_status *st)
{
    return translate(schema, sql, decls, ndecls, false, read_ns, NULL, out, st);
}

enum em_code sp_translate_as(const struct sp_schema *schema, const char *sql,
                             const struct sp_param_decl *decls, int ndecls, bool partitioned,
                             int64_t read_ns, const char *role, struct sp_translation **out,
                             struct em_status *st)
{
    return translate(schema, sql, decls, ndecls, partitioned, read_ns, role, out, st);
}

enum em_code sp_translate_partitioned(const struct sp_schema *schema, const char *sql,
                                      const struct sp_param_decl *decls, int ndecls,
                                      struct sp_translation **out, struct em_status *st)
{
    return translate(schema, sql, decls, ndecls, true, 0, NULL, out, st);
}

/* DDL expressions may not hold parameters or subqueries (Spanner's rule). */
static enum em_code check_ddl_expr(struct translator *t, const struct sp_expr *e)
{
    if (e->kind == SP_EXPR_PARAM)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Query parameters cannot be used in DDL");
    if (e->kind == SP_EXPR_SUBQUERY || e->kind == SP_EXPR_EXISTS || e->subquery)
        return FAIL_AT(t, e, EM_INVALID_ARGUMENT, "Subqueries cannot be used in DDL expressions");
    for (int i = 0; i < e->nargs; i++)
        if (check_ddl_expr(t, e->args[i]))
            return t->st->code;
    return EM_OK;
}

enum em_code sp_translate_table_expr(struct sp_arena *arena, const struct sp_schema *schema,
                                     const struct sp_table *table, const char *text,
                                     const char *row_prefix, const char **sql, struct sp_type *type,
                                     struct em_status *st)
{
    struct translator t = {.arena = arena, .schema = schema, .st = st};
    t.clause = "a DDL expression";
    struct scope scope = {0};
    struct sp_expr *e;
    struct frag f;
    if (expr_from_text(&t, text, &e) || check_ddl_expr(&t, e))
        return st->code;
    if (table) {
        struct scope_source *src = table_source(&t, table, table->name, row_prefix);
        if (!src || scope_add(&t, &scope, src))
            return st->code ? st->code : EM_FAIL_OOM(st);
    }
    if (expr(&t, &scope, e, &f))
        return st->code;
    if (table && t.draws_sequence) /* a generated column's or a CHECK's */
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "GET_NEXT_SEQUENCE_VALUE is only allowed in a column's DEFAULT, not in a "
                       "generated column or a CHECK constraint of table %s",
                       table->name);
    settle(&t, &f, SP_TYPE_INT64);
    *sql = f.sql;
    *type = f.type;
    return arena->failed ? EM_FAIL_OOM(st) : EM_OK;
}

/* A view's columns: each named, no name twice. */
static enum em_code check_view_columns(struct translator *t, const struct sp_result_column *cols,
                                       int ncols)
{
    for (int i = 0; i < ncols; i++) {
        if (!cols[i].name || !cols[i].name[0])
            return EM_FAIL(t->st, EM_INVALID_ARGUMENT,
                           "CREATE VIEW columns must be named, but column %d has no name", i + 1);
        for (int k = 0; k < i; k++)
            if (strcasecmp(cols[k].name, cols[i].name) == 0)
                return EM_FAIL(t->st, EM_INVALID_ARGUMENT,
                               "CREATE VIEW has columns with duplicate name %s", cols[i].name);
    }
    return EM_OK;
}

enum em_code sp_translate_check_view(const struct sp_schema *schema, const char *text, bool strict,
                                     struct em_status *st)
{
    struct sp_arena arena = {0};
    struct translator t = {.arena = &arena, .schema = schema, .st = st, .strict_names = strict};
    struct sp_parser p;
    struct sp_query *q;
    const char *sql;
    struct sp_result_column *cols;
    int ncols;
    enum em_code code = sp_parser_init(&p, &arena, text, st);
    if (!code)
        code = sp_parse_query(&p, &q);
    if (!code && sp_peek(&p)->kind != SP_TOK_EOF)
        code = sp_syntax_error(&p);
    if (!code)
        code = translate_query(&t, NULL, q, &sql, &cols, &ncols);
    if (!code && t.nparams)
        code = EM_FAIL(st, EM_INVALID_ARGUMENT, "Query parameters cannot be used in a view");
    if (!code && strict)
        code = check_view_columns(&t, cols, ncols);
    sp_arena_free(&arena);
    return code;
}
