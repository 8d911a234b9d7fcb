/*
 * spanner_ddl: parsing, validation and application of Spanner DDL statements (the
 * contract is in spanner_ddl.h). Tokens live in a scratch arena; whatever the schema
 * keeps is copied into the schema's own arena. A table is changed by building a copy and
 * swapping it in after every check passed.
 */
#include "spanner_ddl.h"

#include "spanner_change_records.h"
#include "spanner_change_streams.h"
#include "spanner_roles.h"
#include "spanner_sql_ast.h"
#include "spanner_sql_translate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_KEY_PARTS 16
#define MAX_COLUMNS   1024

struct ddl {
    struct sp_schema *schema;
    struct sp_parser p;
    struct sp_buf *out;
    struct em_status *st;
    bool stored; /* a statement the database took before (sp_ddl_replay) */
    /* CREATE TABLE's columns may say PRIMARY KEY themselves (in_create_table): the one
     * that did, and whether a second one did too */
    bool in_create_table, key_column_twice;
    const char *key_column;
};

static const char *keep(struct ddl *d, const char *text)
{
    const char *copy = sp_arena_strdup(&d->schema->arena, text);
    if (!copy)
        EM_FAIL_OOM(d->st);
    return copy;
}

static enum em_code fail(struct ddl *d, enum em_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum em_code fail(struct ddl *d, enum em_code code, const char *fmt, ...)
{
    char message[EM_STATUS_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return EM_FAIL(d->st, code, "%s", message);
}

/* The name of table t's i-th named constraint, its CHECKs after its foreign keys (NULL
 * for an unnamed one). */
static const char *constraint_name(const struct sp_table *t, int i)
{
    return i < t->nfks ? t->fks[i].name : t->checks[i - t->nfks].name;
}

/* A name that two constraints of a new table take, or the table's own name taken by one of
 * them (names are case-insensitive); NULL when there is none. */
static const char *constraint_named_twice(const struct sp_table *t)
{
    int n = t->nfks + t->nchecks;
    for (int i = 0; i < n; i++) {
        const char *name = constraint_name(t, i);
        if (name && strcasecmp(name, t->name) == 0)
            return name;
        for (int k = 0; name && k < i; k++)
            if (constraint_name(t, k) && strcasecmp(constraint_name(t, k), name) == 0)
                return name;
    }
    return NULL;
}

static bool name_taken(const struct sp_schema *s, const char *name)
{
    return sp_schema_table_or_synonym(s, name) || sp_schema_index(s, name) ||
           sp_schema_view(s, name) || sp_schema_sequence(s, name) ||
           sp_schema_change_stream(s, name);
}

/* Spanner's names are at most 128 characters. Longer ones would also overflow the SQLite
 * names made from them (a table's triggers are "<table>$insert" ... in 300 bytes:
 * truncated, they collide, and two tables' triggers could share a name). */
#define NAME_MAX_CHARS 128

/* Spanner's names are a letter, then letters, digits and underscores, even quoted: the
 * SQL this emulator writes for mutations quotes them with backquotes, so a backquote in
 * one (`x\` WHERE TRUE --`) would change what a delete by key deletes. */
static bool name_chars_ok(const char *name)
{
    if (!isalpha((unsigned char)name[0]))
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            return false;
    return true;
}

static enum em_code identifier(struct ddl *d, const char *what, const char **name)
{
    const char *raw;
    if (sp_expect_identifier(&d->p, what, &raw))
        return d->st->code;
    if (strlen(raw) > NAME_MAX_CHARS)
        return fail(d, EM_INVALID_ARGUMENT, "The %s %.64s... is too long: at most %d characters.",
                    what, raw, NAME_MAX_CHARS);
    if (!name_chars_ok(raw))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid %s %.128s: a name is a letter, then letters, digits and "
                    "underscores.",
                    what, raw);
    *name = keep(d, raw);
    return *name ? EM_OK : d->st->code;
}

/* A name SQLite would refuse for a table, an index or a view ("sqlite_..."), or that would
 * hide one of the SQLite table functions the SQL translator uses (json_each, json_tree). */
static bool reserved_by_sqlite(const char *name)
{
    return strncasecmp(name, "sqlite_", 7) == 0 || strcasecmp(name, "json_each") == 0 ||
           strcasecmp(name, "json_tree") == 0;
}

/* A schema object's name: a name, or schema.name in a named schema that exists (its
 * objects are named so throughout), each part a name identifier() would take; not one
 * SQLite reserves (reserved_by_sqlite). */
static enum em_code object_name(struct ddl *d, const char *what, const char **name)
{
    const char *raw;
    if (sp_expect_object_name(&d->p, what, &raw))
        return d->st->code;
    const char *dot = strrchr(raw, '.');
    if (dot) {
        char schema[2 * NAME_MAX_CHARS + 2];
        snprintf(schema, sizeof(schema), "%.*s", (int)(dot - raw), raw);
        if (!sp_schema_named_schema(d->schema, schema))
            return fail(d, EM_NOT_FOUND, "Schema not found: %.128s", schema);
    }
    for (const char *part = raw; part; part = strchr(part, '.') ? strchr(part, '.') + 1 : NULL) {
        size_t len = strcspn(part, ".");
        char one[NAME_MAX_CHARS + 2];
        snprintf(one, sizeof(one), "%.*s", (int)(len > NAME_MAX_CHARS ? NAME_MAX_CHARS + 1 : len),
                 part);
        if (len > NAME_MAX_CHARS)
            return fail(d, EM_INVALID_ARGUMENT,
                        "The %s %.64s... is too long: at most %d characters.", what, one,
                        NAME_MAX_CHARS);
        if (!name_chars_ok(one))
            return fail(d, EM_INVALID_ARGUMENT,
                        "Invalid %s %.128s: a name is a letter, then letters, digits and "
                        "underscores.",
                        what, raw);
    }
    if (!dot && reserved_by_sqlite(raw))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid %s %.128s: the emulator keeps its tables, indexes and views in "
                    "SQLite, which reserves names that start with sqlite_ and the names "
                    "json_each and json_tree (Spanner accepts them): choose another name.",
                    what, raw);
    *name = keep(d, raw);
    return *name ? EM_OK : d->st->code;
}

/* The named schema part of an object's name ("" for the default schema), into out. */
static void schema_of(const char *name, char *out, size_t size)
{
    const char *dot = strrchr(name, '.');
    snprintf(out, size, "%.*s", dot ? (int)(dot - name) : 0, name);
}

/* The source text between the tokens at [from, to) (an expression as written). */
static const char *text_between(struct ddl *d, size_t from, size_t to)
{
    const struct sp_token *a = &d->p.tokens.items[from], *b = &d->p.tokens.items[to - 1];
    const char *copy =
        sp_arena_strndup(&d->schema->arena, d->p.sql + a->offset, b->end - a->offset);
    if (!copy)
        EM_FAIL_OOM(d->st);
    return copy;
}

/* "(" expression ")": the expression's text, checked for syntax. */
static enum em_code paren_expr(struct ddl *d, const char **text)
{
    struct sp_expr *e;
    if (sp_expect_op(&d->p, "("))
        return d->st->code;
    size_t start = d->p.pos;
    if (sp_parse_expr(&d->p, &e))
        return d->st->code;
    size_t end = d->p.pos;
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    *text = text_between(d, start, end);
    return *text ? EM_OK : d->st->code;
}

static enum em_code name_list(struct ddl *d, const char ***names, int *count)
{
    const char *list[MAX_COLUMNS];
    int n = 0;
    if (sp_expect_op(&d->p, "("))
        return d->st->code;
    do {
        if (n == MAX_COLUMNS)
            return fail(d, EM_INVALID_ARGUMENT, "Too many columns in a list");
        if (identifier(d, "column name", &list[n++]))
            return d->st->code;
    } while (sp_accept_op(&d->p, ","));
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    *names = sp_arena_alloc(&d->schema->arena, (size_t)n * sizeof(**names));
    if (!*names)
        return EM_FAIL_OOM(d->st);
    memcpy(*names, list, (size_t)n * sizeof(**names));
    *count = n;
    return EM_OK;
}

static enum em_code key_list(struct ddl *d, struct sp_key_part **key, int *count)
{
    struct sp_key_part parts[MAX_KEY_PARTS + 1];
    int n = 0;
    if (sp_expect_op(&d->p, "("))
        return d->st->code;
    if (!sp_token_is_op(sp_peek(&d->p), ")")) {
        do {
            if (n > MAX_KEY_PARTS)
                return fail(d, EM_INVALID_ARGUMENT, "A key has more than %d columns",
                            MAX_KEY_PARTS);
            if (identifier(d, "column name", &parts[n].column))
                return d->st->code;
            parts[n].desc = sp_accept_keyword(&d->p, "DESC");
            if (!parts[n].desc)
                sp_accept_keyword(&d->p, "ASC");
            n++;
        } while (sp_accept_op(&d->p, ","));
    }
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    *key = sp_arena_alloc(&d->schema->arena, (size_t)(n ? n : 1) * sizeof(**key));
    if (!*key)
        return EM_FAIL_OOM(d->st);
    memcpy(*key, parts, (size_t)n * sizeof(**key));
    *count = n;
    return EM_OK;
}

/* OPTIONS (allow_commit_timestamp = true|false|null) */
static enum em_code column_options(struct ddl *d, struct sp_column *c)
{
    if (sp_expect_op(&d->p, "("))
        return d->st->code;
    bool given = false;
    do {
        const char *name;
        given = true;
        if (sp_expect_identifier(&d->p, "option name", &name) || sp_expect_op(&d->p, "="))
            return d->st->code;
        if (strcasecmp(name, "allow_commit_timestamp") != 0)
            return fail(d, EM_INVALID_ARGUMENT, "Option: %s is unknown.", name);
        if (sp_accept_keyword(&d->p, "TRUE"))
            c->allow_commit_timestamp = true;
        else if (sp_accept_keyword(&d->p, "FALSE") || sp_accept_keyword(&d->p, "NULL"))
            c->allow_commit_timestamp = false;
        else
            return sp_syntax_error(&d->p);
    } while (sp_accept_op(&d->p, ","));
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    /* the option, even false, is refused on another type (once taken, a statement replays) */
    if ((c->allow_commit_timestamp || (given && !d->stored)) && c->type.code != SP_TYPE_TIMESTAMP)
        return fail(d, EM_FAILED_PRECONDITION,
                    "Column %s has invalid type %s: allow_commit_timestamp is only allowed on "
                    "TIMESTAMP columns.",
                    c->name, sp_type_code_name(c->type.code));
    return EM_OK;
}

static enum em_code sequence_clauses(struct ddl *d, struct sp_sequence *q, const char *start,
                                     bool *counter_set);
static enum em_code check_skip_range(struct ddl *d, const struct sp_sequence *q);

/* GENERATED BY DEFAULT AS IDENTITY [( [BIT_REVERSED_POSITIVE] [SKIP RANGE a, b] [START
 * COUNTER WITH n] )], or AUTO_INCREMENT (the same, of the database's default kind): the
 * column's own sequence (its counter is "<table>.<column>") */
static enum em_code identity_column(struct ddl *d, struct sp_column *c, bool auto_increment)
{
    bool counter_set = false;
    if (!auto_increment && (sp_expect_keyword(&d->p, "BY") || sp_expect_keyword(&d->p, "DEFAULT") ||
                            sp_expect_keyword(&d->p, "AS") || sp_expect_keyword(&d->p, "IDENTITY")))
        return d->st->code;
    if (c->identity)
        return fail(d, EM_INVALID_ARGUMENT, "Column %s is an identity column twice", c->name);
    if (c->default_text || c->generated_text)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Column %s cannot have both a DEFAULT and a generated value", c->name);
    struct sp_sequence *q = sp_arena_alloc(&d->schema->arena, sizeof(*q));
    if (!q)
        return EM_FAIL_OOM(d->st);
    *q = (struct sp_sequence){.clauses = true, .no_kind = true, .auto_increment = auto_increment};
    if (!auto_increment && sp_accept_op(&d->p, "(")) {
        q->no_kind = !sp_accept_keyword(&d->p, "BIT_REVERSED_POSITIVE");
        if (sequence_clauses(d, q, "START", &counter_set) || sp_expect_op(&d->p, ")"))
            return d->st->code;
    }
    if (q->no_kind && !d->schema->default_sequence_kind)
        return fail(d, EM_INVALID_ARGUMENT,
                    "The sequence kind of an identity column %s is not specified. Please specify "
                    "the sequence kind explicitly or set the database option "
                    "`default_sequence_kind`.",
                    c->name);
    if (c->type.code != SP_TYPE_INT64)
        return fail(d, EM_INVALID_ARGUMENT, "Identity column %s must be of type INT64, not %s.",
                    c->name, sp_type_code_name(c->type.code));
    if (check_skip_range(d, q))
        return d->st->code;
    c->identity = q;
    return EM_OK;
}

/* (vector_length=>n) after ARRAY<FLOAT32> or ARRAY<FLOAT64>: every array written holds n */
static enum em_code vector_length(struct ddl *d, struct sp_column *c)
{
    sp_next(&d->p);
    sp_next(&d->p);
    if (sp_expect_op(&d->p, "=>"))
        return d->st->code;
    const struct sp_token *n = sp_peek(&d->p);
    char *end = NULL;
    long value = n->kind == SP_TOK_INT ? strtol(n->value, &end, 10) : 0;
    if (!end || *end || value < 1 || value > 8000)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid vector_length of column %s: a whole number from 1 to 8000.", c->name);
    sp_next(&d->p);
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    if (c->type.code != SP_TYPE_ARRAY ||
        (c->type.element != SP_TYPE_FLOAT32 && c->type.element != SP_TYPE_FLOAT64))
        return fail(d, EM_INVALID_ARGUMENT,
                    "vector_length is only allowed on an ARRAY<FLOAT32> or ARRAY<FLOAT64> "
                    "column, not on column %s.",
                    c->name);
    c->vector_length = (int)value;
    return EM_OK;
}

static enum em_code column_def(struct ddl *d, struct sp_column *c)
{
    memset(c, 0, sizeof(*c));
    if (identifier(d, "column name", &c->name) || sp_parse_type(&d->p, true, &c->type))
        return d->st->code;
    if (sp_token_is_op(sp_peek(&d->p), "(") &&
        sp_token_is_keyword(sp_peek_at(&d->p, 1), "vector_length") && vector_length(d, c))
        return d->st->code;
    for (;;) {
        if (sp_accept_keyword(&d->p, "NOT")) {
            if (sp_expect_keyword(&d->p, "NULL"))
                return d->st->code;
            c->not_null = true;
        } else if (sp_accept_keyword(&d->p, "DEFAULT")) {
            if (c->generated_text || c->identity)
                return fail(d, EM_INVALID_ARGUMENT,
                            "Column %s cannot have both a DEFAULT and a generated value", c->name);
            if (paren_expr(d, &c->default_text))
                return d->st->code;
        } else if (sp_accept_keyword(&d->p, "GENERATED")) {
            if (identity_column(d, c, false))
                return d->st->code;
        } else if (sp_accept_keyword(&d->p, "AUTO_INCREMENT")) {
            if (identity_column(d, c, true))
                return d->st->code;
        } else if (sp_accept_keyword(&d->p, "AS")) {
            if (c->default_text || c->identity)
                return fail(d, EM_INVALID_ARGUMENT,
                            "Column %s cannot have both a DEFAULT and a generated value", c->name);
            if (paren_expr(d, &c->generated_text))
                return d->st->code;
            c->generated_virtual = !sp_accept_keyword(&d->p, "STORED");
        } else if (sp_accept_keyword(&d->p, "OPTIONS")) {
            if (column_options(d, c))
                return d->st->code;
        } else if (sp_accept_keyword(&d->p, "HIDDEN")) {
            c->hidden = true;
        } else if (d->in_create_table && sp_token_is_keyword(sp_peek(&d->p), "PRIMARY")) {
            d->p.pos++;
            if (sp_expect_keyword(&d->p, "KEY"))
                return d->st->code;
            d->key_column_twice |= d->key_column != NULL;
            d->key_column = c->name;
        } else {
            return EM_OK;
        }
    }
}

/* FOREIGN KEY (...) REFERENCES table (...) [ON DELETE ...] of the table named table. */
static enum em_code foreign_key(struct ddl *d, const char *table, const char *name,
                                struct sp_foreign_key *fk)
{
    memset(fk, 0, sizeof(*fk));
    fk->name = name;
    int nref;
    if (sp_expect_keyword(&d->p, "KEY") || name_list(d, &fk->columns, &fk->ncolumns) ||
        sp_expect_keyword(&d->p, "REFERENCES") || object_name(d, "table name", &fk->ref_table) ||
        name_list(d, &fk->ref_columns, &nref))
        return d->st->code;
    if (nref != fk->ncolumns)
        return fail(d, EM_FAILED_PRECONDITION,
                    "The number of columns are different for table `%s` and table `%s` in "
                    "foreign key `%s`.",
                    table, fk->ref_table, name ? name : "");
    if (sp_accept_keyword(&d->p, "ON")) {
        if (sp_expect_keyword(&d->p, "DELETE"))
            return d->st->code;
        if (sp_accept_keyword(&d->p, "CASCADE"))
            fk->cascade = true;
        else if (!sp_accept_keyword(&d->p, "NO") || sp_expect_keyword(&d->p, "ACTION"))
            return d->st->code ? d->st->code : sp_syntax_error(&d->p);
    }
    return EM_OK;
}

/* ---- checks shared by CREATE and ALTER ---- */

static bool keyable(const struct sp_type *type)
{
    return type->code != SP_TYPE_ARRAY && type->code != SP_TYPE_JSON;
}

/* The type an expression must have to be a column's DEFAULT or generated value. */
static bool assignable(const struct sp_type *from, const struct sp_type *to)
{
    if (from->code == SP_TYPE_UNKNOWN || sp_type_equal(from, to))
        return true;
    return (from->code == SP_TYPE_INT64 &&
            (to->code == SP_TYPE_FLOAT64 || to->code == SP_TYPE_NUMERIC ||
             to->code == SP_TYPE_FLOAT32)) ||
           (from->code == SP_TYPE_FLOAT32 && to->code == SP_TYPE_FLOAT64);
}

static enum em_code check_column_exprs(struct ddl *d, const struct sp_table *t, struct sp_column *c)
{
    struct sp_arena scratch = {0};
    const char *sql;
    struct sp_type type;
    enum em_code code = EM_OK;
    char have[48], want[48];
    const char *text = c->default_text ? c->default_text : c->generated_text;
    if (text) {
        code = sp_translate_table_expr(&scratch, d->schema, c->default_text ? NULL : t, text, NULL,
                                       &sql, &type, d->st);
        if (!code && !assignable(&type, &c->type)) {
            sp_type_format(&type, false, have, sizeof(have));
            sp_type_format(&c->type, false, want, sizeof(want));
            code = fail(d, EM_INVALID_ARGUMENT,
                        "Expression of type %s cannot be the %s of column %s of type %s.", have,
                        c->default_text ? "default value" : "generated value", c->name, want);
        }
        /* what SQLite computes the generated column with (bare column names) */
        if (!code && c->generated_text && !(c->generated_sql = keep(d, sql)))
            code = d->st->code;
    }
    sp_arena_free(&scratch);
    return code;
}

static enum em_code check_columns(struct ddl *d, const struct sp_table *t)
{
    for (int i = 0; i < t->ncolumns; i++) {
        for (int k = 0; k < i; k++)
            if (strcasecmp(t->columns[i].name, t->columns[k].name) == 0)
                return fail(d, EM_FAILED_PRECONDITION, "Duplicate column name %s.%s.", t->name,
                            t->columns[i].name);
        if (check_column_exprs(d, t, &t->columns[i]))
            return d->st->code;
    }
    return EM_OK;
}

static enum em_code check_key(struct ddl *d, const struct sp_table *t)
{
    for (int i = 0; i < t->nkey; i++) {
        const struct sp_column *c = sp_table_column(t, t->key[i].column);
        if (!c)
            return fail(d, EM_FAILED_PRECONDITION, "Table %s references nonexistent key column %s.",
                        t->name, t->key[i].column);
        if (!keyable(&c->type))
            return fail(d, EM_INVALID_ARGUMENT,
                        "Column %s.%s has type %s, which cannot be part of a key.", t->name,
                        c->name, sp_type_code_name(c->type.code));
        if (c->generated_text)
            return fail(d, EM_UNIMPLEMENTED,
                        "Generated column %s.%s in the primary key is not supported by this "
                        "emulator.",
                        t->name, c->name);
        for (int k = 0; k < i; k++)
            if (strcasecmp(t->key[k].column, t->key[i].column) == 0)
                return fail(d, EM_INVALID_ARGUMENT, "Table %s has duplicate key column %s.",
                            t->name, c->name);
    }
    return EM_OK;
}

/* INTERLEAVE IN PARENT: the parent's key is a prefix of the child's, same types. */
/* A child's key that lacks the parent key column name at its place: elsewhere in the key, or
 * not at all. */
static enum em_code missing_parent_key(struct ddl *d, const struct sp_table *t, const char *name)
{
    for (int k = 0; k < t->nkey; k++)
        if (strcasecmp(t->key[k].column, name) == 0)
            return fail(d, EM_FAILED_PRECONDITION,
                        "Table %s references parent key column %s at incorrect position %d.",
                        t->name, name, k);
    return fail(d, EM_FAILED_PRECONDITION, "Table %s does not reference parent key column %s.",
                t->name, name);
}

/* A STRING or BYTES length as DDL writes it: a number, or MAX. */
static void length_text(long length, char *out, size_t size)
{
    if (length == SP_LEN_MAX)
        snprintf(out, size, "MAX");
    else
        snprintf(out, size, "%ld", length);
}

static enum em_code check_interleave(struct ddl *d, const struct sp_table *t)
{
    if (!t->parent)
        return EM_OK;
    const struct sp_table *parent = sp_schema_table(d->schema, t->parent);
    if (!parent)
        return fail(d, EM_NOT_FOUND, "Table not found: %s", t->parent);
    if (strcasecmp(parent->name, t->name) == 0)
        return fail(d, EM_INVALID_ARGUMENT, "Table %s cannot be interleaved in itself.", t->name);
    for (int i = 0; i < parent->nkey; i++) {
        const struct sp_column *pc = sp_table_column(parent, parent->key[i].column);
        const struct sp_column *cc = i < t->nkey ? sp_table_column(t, t->key[i].column) : NULL;
        if (!cc || strcasecmp(cc->name, pc->name) != 0)
            return missing_parent_key(d, t, pc->name);
        if (!sp_type_equal(&cc->type, &pc->type))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Table %s references parent key column %s with incorrect type %s (should "
                        "be %s).",
                        t->name, pc->name, sp_type_code_name(cc->type.code),
                        sp_type_code_name(pc->type.code));
        if (cc->type.length != pc->type.length) {
            char child[24], want[24];
            length_text(cc->type.length, child, sizeof(child));
            length_text(pc->type.length, want, sizeof(want));
            return fail(d, EM_FAILED_PRECONDITION,
                        "Table %s references parent key column %s with incorrect length %s "
                        "(should be %s).",
                        t->name, pc->name, child, want);
        }
        if (t->key[i].desc != parent->key[i].desc)
            return fail(d, EM_FAILED_PRECONDITION,
                        "Table %s references parent key column %s with incorrect order %s.",
                        t->name, pc->name, t->key[i].desc ? "DESC" : "ASC");
    }
    return EM_OK;
}

static enum em_code check_foreign_key(struct ddl *d, const struct sp_table *t,
                                      const struct sp_foreign_key *fk)
{
    const struct sp_table *ref =
        strcasecmp(fk->ref_table, t->name) == 0 ? t : sp_schema_table(d->schema, fk->ref_table);
    if (!ref)
        return fail(d, EM_NOT_FOUND, "Table not found: %s", fk->ref_table);
    for (int i = 0; i < fk->ncolumns; i++) {
        const struct sp_column *c = sp_table_column(t, fk->columns[i]);
        const struct sp_column *r = sp_table_column(ref, fk->ref_columns[i]);
        if (!c || !r)
            return fail(d, EM_FAILED_PRECONDITION,
                        "Column `%s` not found for table `%s` in foreign key `%s`.",
                        c ? fk->ref_columns[i] : fk->columns[i], c ? ref->name : t->name,
                        fk->name ? fk->name : "");
        if (!sp_type_equal(&c->type, &r->type) || !keyable(&c->type))
            return fail(d, EM_FAILED_PRECONDITION,
                        "The column types are different for column `%s` of table `%s` and "
                        "column `%s` of table `%s` in foreign key `%s`.",
                        c->name, t->name, r->name, ref->name, fk->name ? fk->name : "");
    }
    return EM_OK;
}

static enum em_code check_check(struct ddl *d, const struct sp_table *t, const struct sp_check *ck)
{
    struct sp_arena scratch = {0};
    const char *sql;
    struct sp_type type;
    enum em_code code =
        sp_translate_table_expr(&scratch, d->schema, t, ck->text, NULL, &sql, &type, d->st);
    if (!code && type.code != SP_TYPE_BOOL)
        code = fail(d, EM_INVALID_ARGUMENT, "Check constraint %s must be a BOOL expression.",
                    ck->name ? ck->name : ck->text);
    sp_arena_free(&scratch);
    return code;
}

/* Names of constraints share the schema's name space with tables and indexes. */
static bool constraint_taken(const struct sp_schema *s, const char *name)
{
    if (!name)
        return false;
    if (name_taken(s, name))
        return true;
    for (int i = 0; i < s->ntables; i++) {
        const struct sp_table *t = s->tables[i];
        for (int k = 0; k < t->nfks; k++)
            if (t->fks[k].name && strcasecmp(t->fks[k].name, name) == 0)
                return true;
        for (int k = 0; k < t->nchecks; k++)
            if (t->checks[k].name && strcasecmp(t->checks[k].name, name) == 0)
                return true;
    }
    return false;
}

static enum em_code check_table(struct ddl *d, const struct sp_table *t)
{
    if (check_columns(d, t) || check_key(d, t) || check_interleave(d, t))
        return d->st->code;
    for (int i = 0; i < t->nfks; i++)
        if (check_foreign_key(d, t, &t->fks[i]))
            return d->st->code;
    for (int i = 0; i < t->nchecks; i++)
        if (check_check(d, t, &t->checks[i]))
            return d->st->code;
    return EM_OK;
}

/* ---- schema changes ---- */

static void *grow(struct ddl *d, void *array, int count, size_t size)
{
    void *copy = sp_arena_alloc(&d->schema->arena, (size_t)(count + 1) * size);
    if (!copy) {
        EM_FAIL_OOM(d->st);
        return NULL;
    }
    if (count)
        memcpy(copy, array, (size_t)count * size);
    return copy;
}

static struct sp_table *clone_table(struct ddl *d, const struct sp_table *t)
{
    struct sp_table *copy = sp_arena_alloc(&d->schema->arena, sizeof(*copy));
    if (!copy) {
        EM_FAIL_OOM(d->st);
        return NULL;
    }
    *copy = *t;
    copy->columns = grow(d, t->columns, t->ncolumns, sizeof(*t->columns));
    copy->fks = grow(d, t->fks, t->nfks, sizeof(*t->fks));
    copy->checks = grow(d, t->checks, t->nchecks, sizeof(*t->checks));
    return copy->columns && copy->fks && copy->checks ? copy : NULL;
}

static void replace_table(struct sp_schema *s, const struct sp_table *old, struct sp_table *t)
{
    for (int i = 0; i < s->ntables; i++)
        if (s->tables[i] == old)
            s->tables[i] = t;
}

static enum em_code add_table(struct ddl *d, struct sp_table *t)
{
    struct sp_table **tables = grow(d, d->schema->tables, d->schema->ntables, sizeof(t));
    if (!tables)
        return d->st->code;
    t->seq = d->schema->next_seq++;
    tables[d->schema->ntables++] = t;
    d->schema->tables = tables;
    return EM_OK;
}

/* ---- CREATE TABLE ---- */

static enum em_code table_element(struct ddl *d, struct sp_table *t)
{
    const char *name = NULL;
    if (sp_accept_keyword(&d->p, "CONSTRAINT") && identifier(d, "constraint name", &name))
        return d->st->code;
    if (sp_accept_keyword(&d->p, "FOREIGN")) {
        if (!(t->fks = grow(d, t->fks, t->nfks, sizeof(*t->fks))))
            return d->st->code;
        return foreign_key(d, t->name, name, &t->fks[t->nfks++]);
    }
    if (sp_accept_keyword(&d->p, "CHECK")) {
        if (!(t->checks = grow(d, t->checks, t->nchecks, sizeof(*t->checks))))
            return d->st->code;
        t->checks[t->nchecks].name = name;
        return paren_expr(d, &t->checks[t->nchecks++].text);
    }
    if (name)
        return sp_syntax_error(&d->p);
    if (sp_token_is_keyword(sp_peek(&d->p), "SYNONYM") &&
        sp_token_is_op(sp_peek_at(&d->p, 1), "(")) {
        d->p.pos += 2;
        if (t->synonym)
            return fail(d, EM_FAILED_PRECONDITION, "Table %s can have only one synonym.", t->name);
        return identifier(d, "synonym", &t->synonym) || sp_expect_op(&d->p, ")") ? d->st->code
                                                                                 : EM_OK;
    }
    if (t->ncolumns == MAX_COLUMNS)
        return fail(d, EM_INVALID_ARGUMENT, "Table %s has too many columns.", t->name);
    if (!(t->columns = grow(d, t->columns, t->ncolumns, sizeof(*t->columns))))
        return d->st->code;
    return column_def(d, &t->columns[t->ncolumns++]);
}

/* the longest row deletion interval: its nanoseconds fit an int64 */
#define TTL_DAYS_MAX 100000

/* OLDER_THAN(col, INTERVAL n DAY), kept as written in canonical spacing. */
static enum em_code row_deletion_policy(struct ddl *d, struct sp_table *t)
{
    const char *column;
    const struct sp_token *days;
    if (sp_expect_op(&d->p, "(") || sp_expect_keyword(&d->p, "OLDER_THAN") ||
        sp_expect_op(&d->p, "(") || identifier(d, "column name", &column) ||
        sp_expect_op(&d->p, ",") || sp_expect_keyword(&d->p, "INTERVAL"))
        return d->st->code;
    days = sp_peek(&d->p);
    if (days->kind != SP_TOK_INT)
        return sp_syntax_error(&d->p);
    d->p.pos++;
    if (sp_expect_keyword(&d->p, "DAY") || sp_expect_op(&d->p, ")") || sp_expect_op(&d->p, ")"))
        return d->st->code;
    const struct sp_column *c = sp_table_column(t, column);
    if (!c)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Cannot create a row deletion policy on table %s: column %s does not exist.",
                    t->name, column);
    if (c->type.code != SP_TYPE_TIMESTAMP)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Row deletion policy column %s.%s must be of type TIMESTAMP.", t->name,
                    c->name);
    char *end;
    errno = 0;
    long long count = strtoll(days->value, &end, 0);
    if (*end || errno || count < 0 || count > TTL_DAYS_MAX)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid row deletion policy on table %s: the interval is 0 to %d days.",
                    t->name, TTL_DAYS_MAX);
    char text[256];
    snprintf(text, sizeof(text), "OLDER_THAN(%s, INTERVAL %lld DAY)", c->name, count);
    t->row_deletion_policy = keep(d, text);
    t->ttl_column = c->name;
    t->ttl_days = count;
    return t->row_deletion_policy ? EM_OK : d->st->code;
}

static enum em_code table_suffix(struct ddl *d, struct sp_table *t)
{
    while (sp_accept_op(&d->p, ",")) {
        if (sp_accept_keyword(&d->p, "INTERLEAVE")) {
            if (sp_expect_keyword(&d->p, "IN"))
                return d->st->code;
            if (!sp_accept_keyword(&d->p, "PARENT"))
                return sp_unsupported(&d->p, sp_peek(&d->p), "INTERLEAVE IN without PARENT");
            if (object_name(d, "table name", &t->parent))
                return d->st->code;
            if (sp_accept_keyword(&d->p, "ON")) {
                if (sp_expect_keyword(&d->p, "DELETE"))
                    return d->st->code;
                if (sp_accept_keyword(&d->p, "CASCADE"))
                    t->cascade = true;
                else if (!sp_accept_keyword(&d->p, "NO") || sp_expect_keyword(&d->p, "ACTION"))
                    return d->st->code ? d->st->code : sp_syntax_error(&d->p);
            }
        } else if (sp_accept_keyword(&d->p, "ROW")) {
            if (sp_expect_keyword(&d->p, "DELETION") || sp_expect_keyword(&d->p, "POLICY") ||
                row_deletion_policy(d, t))
                return d->st->code;
        } else {
            return sp_syntax_error(&d->p);
        }
    }
    return EM_OK;
}

static void regenerate_start(struct ddl *d)
{
    for (int i = 0; i < d->schema->ntables; i++)
        sp_schema_sqlite_drop_triggers(d->schema->tables[i]->name, d->out);
}

/* PRIMARY KEY (...) after the columns, or the column that said PRIMARY KEY (not both, and
 * only one such column). */
static enum em_code table_key(struct ddl *d, struct sp_table *t)
{
    if (!d->key_column)
        return sp_expect_keyword(&d->p, "PRIMARY") || sp_expect_keyword(&d->p, "KEY")
                   ? d->st->code
                   : key_list(d, &t->key, &t->nkey);
    if (d->key_column_twice || sp_token_is_keyword(sp_peek(&d->p), "PRIMARY"))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Table %s has more than one primary key: a column that says PRIMARY KEY is "
                    "the whole key.",
                    t->name);
    if (!(t->key = sp_arena_alloc(&d->schema->arena, sizeof(*t->key))))
        return EM_FAIL_OOM(d->st);
    t->key[0] = (struct sp_key_part){d->key_column, false};
    t->nkey = 1;
    return EM_OK;
}

static enum em_code create_table(struct ddl *d)
{
    struct sp_table *t = sp_arena_alloc(&d->schema->arena, sizeof(*t));
    bool if_not_exists = false;
    if (!t)
        return EM_FAIL_OOM(d->st);
    if (sp_accept_keyword(&d->p, "IF")) {
        if (sp_expect_keyword(&d->p, "NOT") || sp_expect_keyword(&d->p, "EXISTS"))
            return d->st->code;
        if_not_exists = true;
    }
    if (object_name(d, "table name", &t->name) || sp_expect_op(&d->p, "("))
        return d->st->code;
    d->in_create_table = true;
    while (!sp_token_is_op(sp_peek(&d->p), ")")) {
        if (table_element(d, t))
            return d->st->code;
        if (!sp_accept_op(&d->p, ","))
            break;
    }
    d->in_create_table = false;
    if (sp_expect_op(&d->p, ")") || table_key(d, t) || table_suffix(d, t))
        return d->st->code;
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    if (name_taken(d->schema, t->name))
        return if_not_exists && sp_schema_table(d->schema, t->name)
                   ? EM_OK
                   : fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", t->name);
    if (t->synonym && (name_taken(d->schema, t->synonym) || !strcasecmp(t->synonym, t->name)))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", t->synonym);
    for (int i = 0; i < t->nfks; i++)
        if (constraint_taken(d->schema, t->fks[i].name))
            return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", t->fks[i].name);
    for (int i = 0; i < t->nchecks; i++)
        if (constraint_taken(d->schema, t->checks[i].name))
            return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.",
                        t->checks[i].name);
    const char *twice = constraint_named_twice(t);
    if (twice)
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", twice);
    if (check_table(d, t))
        return d->st->code;
    regenerate_start(d);
    sp_schema_sqlite_table(t, d->out);
    sp_schema_sqlite_versions(t, d->out);
    return add_table(d, t);
}

/* ---- indexes ---- */

static bool is_ancestor(const struct sp_schema *s, const struct sp_table *t, const char *name)
{
    for (int depth = 0; t && depth < 16; depth++) {
        if (strcasecmp(t->name, name) == 0)
            return true;
        t = t->parent ? sp_schema_table(s, t->parent) : NULL;
    }
    return false;
}

static enum em_code check_index(struct ddl *d, const struct sp_index *ix, const struct sp_table *t)
{
    for (int i = 0; i < ix->nkey; i++) {
        const struct sp_column *c = sp_table_column(t, ix->key[i].column);
        if (!c)
            return fail(d, EM_INVALID_ARGUMENT,
                        "Index %s specifies key column %s which does "
                        "not exist in the index's base table.",
                        ix->name, ix->key[i].column);
        if (!keyable(&c->type))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot reference %s %s in the creation of index %s.",
                        sp_type_code_name(c->type.code), c->name, ix->name);
        for (int k = 0; k < i; k++)
            if (strcasecmp(ix->key[k].column, c->name) == 0)
                return fail(d, EM_INVALID_ARGUMENT, "Index %s specifies key column %s twice.",
                            ix->name, c->name);
    }
    for (int i = 0; i < ix->nstoring; i++) {
        if (!sp_table_column(t, ix->storing[i]))
            return fail(d, EM_INVALID_ARGUMENT,
                        "Index %s specifies stored column %s which does not exist in the "
                        "index's base table.",
                        ix->name, ix->storing[i]);
        for (int k = 0; k < i && !d->stored; k++) /* Spanner's words: "key column" */
            if (strcasecmp(ix->storing[k], ix->storing[i]) == 0)
                return fail(d, EM_INVALID_ARGUMENT, "Index %s specifies key column %s twice.",
                            ix->name, ix->storing[i]);
        if (sp_table_is_key(t, ix->storing[i]))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Index %s specifies stored column %s which is a key of table %s.", ix->name,
                        ix->storing[i], t->name);
    }
    for (int i = 0; i < ix->nwhere; i++)
        if (!sp_table_column(t, ix->where_not_null[i])) /* Spanner's words: "key column" */
            return fail(d, EM_INVALID_ARGUMENT,
                        "Index %s specifies key column %s which does not exist in the index's "
                        "base table.",
                        ix->name, ix->where_not_null[i]);
    if (ix->interleave_in && !sp_schema_table(d->schema, ix->interleave_in))
        return fail(d, EM_NOT_FOUND, "Table not found: %s", ix->interleave_in);
    if (ix->interleave_in && !is_ancestor(d->schema, t, ix->interleave_in))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Cannot interleave index %s of table %s within table %s because %s is not "
                    "an ancestor of %s.",
                    ix->name, t->name, ix->interleave_in, ix->interleave_in, t->name);
    return EM_OK;
}

/* WHERE c IS NOT NULL [AND c IS NOT NULL ...]: the one filter an index may have. */
static enum em_code index_where(struct ddl *d, struct sp_index *ix)
{
    do {
        const char *column;
        if (identifier(d, "column name", &column) || sp_expect_keyword(&d->p, "IS") ||
            sp_expect_keyword(&d->p, "NOT") || sp_expect_keyword(&d->p, "NULL"))
            return d->st->code;
        if (!(ix->where_not_null = grow(d, ix->where_not_null, ix->nwhere, sizeof(column))))
            return d->st->code;
        ix->where_not_null[ix->nwhere++] = column;
    } while (sp_accept_keyword(&d->p, "AND"));
    return EM_OK;
}

static enum em_code create_index(struct ddl *d, bool unique, bool null_filtered)
{
    struct sp_index *ix = sp_arena_alloc(&d->schema->arena, sizeof(*ix));
    bool if_not_exists = false;
    if (!ix)
        return EM_FAIL_OOM(d->st);
    ix->unique = unique;
    ix->null_filtered = null_filtered;
    if (sp_accept_keyword(&d->p, "IF")) {
        if (sp_expect_keyword(&d->p, "NOT") || sp_expect_keyword(&d->p, "EXISTS"))
            return d->st->code;
        if_not_exists = true;
    }
    if (object_name(d, "index name", &ix->name) || sp_expect_keyword(&d->p, "ON") ||
        object_name(d, "table name", &ix->table) || key_list(d, &ix->key, &ix->nkey))
        return d->st->code;
    char index_schema[2 * NAME_MAX_CHARS + 2], table_schema[2 * NAME_MAX_CHARS + 2];
    schema_of(ix->name, index_schema, sizeof(index_schema));
    schema_of(ix->table, table_schema, sizeof(table_schema));
    if (strcasecmp(index_schema, table_schema) != 0)
        return fail(d, EM_FAILED_PRECONDITION,
                    "Index %s does not match the schema of the indexed table %s.", ix->name,
                    ix->table);
    if ((sp_accept_keyword(&d->p, "STORING") && name_list(d, &ix->storing, &ix->nstoring)) ||
        (sp_accept_keyword(&d->p, "WHERE") && index_where(d, ix)))
        return d->st->code;
    if (sp_accept_op(&d->p, ",")) {
        if (sp_expect_keyword(&d->p, "INTERLEAVE") || sp_expect_keyword(&d->p, "IN") ||
            object_name(d, "table name", &ix->interleave_in))
            return d->st->code;
    }
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    if (ix->nkey == 0)
        return fail(d, EM_INVALID_ARGUMENT, "Index %s must have at least one key column.",
                    ix->name);
    const struct sp_table *t = sp_schema_table(d->schema, ix->table);
    if (name_taken(d->schema, ix->name))
        return if_not_exists && sp_schema_index(d->schema, ix->name)
                   ? EM_OK
                   : fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", ix->name);
    if (!t)
        return fail(d, EM_NOT_FOUND, "Table not found: %s", ix->table);
    ix->table = t->name;
    if (check_index(d, ix, t))
        return d->st->code;
    struct sp_index **indexes = grow(d, d->schema->indexes, d->schema->nindexes, sizeof(ix));
    if (!indexes)
        return d->st->code;
    regenerate_start(d);
    sp_schema_sqlite_index(ix, d->out);
    ix->seq = d->schema->next_seq++;
    indexes[d->schema->nindexes++] = ix;
    d->schema->indexes = indexes;
    return EM_OK;
}

/* ---- views ---- */

static enum em_code create_view(struct ddl *d, bool or_replace)
{
    const char *name;
    if (object_name(d, "view name", &name))
        return d->st->code;
    bool definer = false;
    if (!sp_accept_keyword(&d->p, "SQL") || !sp_accept_keyword(&d->p, "SECURITY") ||
        (!sp_accept_keyword(&d->p, "INVOKER") && !(definer = sp_accept_keyword(&d->p, "DEFINER"))))
        return fail(d, EM_INVALID_ARGUMENT,
                    "View %s is missing the SQL SECURITY INVOKER or SQL SECURITY DEFINER clause.",
                    name);
    if (sp_expect_keyword(&d->p, "AS"))
        return d->st->code;
    size_t start = d->p.pos;
    if (sp_peek(&d->p)->kind == SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    const char *text = text_between(d, start, d->p.tokens.count - 1);
    d->p.pos = d->p.tokens.count - 1; /* the query is read by the translator */
    if (!text || sp_translate_check_view(d->schema, text, !d->stored, d->st))
        return d->st->code;
    struct sp_view *existing = sp_schema_view(d->schema, name);
    if (existing && or_replace) {
        /* views may be shared with the schema this one was cloned from: replace, not edit */
        struct sp_view *v = sp_arena_alloc(&d->schema->arena, sizeof(*v));
        if (!v)
            return EM_FAIL_OOM(d->st);
        *v = *existing;
        v->text = text;
        v->definer = definer;
        for (int i = 0; i < d->schema->nviews; i++)
            if (d->schema->views[i] == existing)
                d->schema->views[i] = v;
        return EM_OK;
    }
    if (name_taken(d->schema, name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    struct sp_view *v = sp_arena_alloc(&d->schema->arena, sizeof(*v));
    struct sp_view **views = grow(d, d->schema->views, d->schema->nviews, sizeof(v));
    if (!v || !views)
        return d->st->code ? d->st->code : EM_FAIL_OOM(d->st);
    v->name = name;
    v->text = text;
    v->definer = definer;
    v->seq = d->schema->next_seq++;
    views[d->schema->nviews++] = v;
    d->schema->views = views;
    return EM_OK;
}

/* ---- DROP ---- */

/* The counter row of sequence `name`, or of identity column `name`.`column`, goes (a new
 * counter starts at start_with_counter). Names hold no quote. */
static void forget_counter(struct ddl *d, const char *name, const char *column)
{
    sp_buf_puts(d->out, SP_SEQUENCES_TABLE_SQL " DELETE FROM \"$sequences\" WHERE name = lower('");
    sp_buf_printf(d->out, "%s%s%s');\n", name, column ? "." : "", column ? column : "");
}

static enum em_code drop_table(struct ddl *d, const char *name, bool if_exists)
{
    struct sp_schema *s = d->schema;
    struct sp_table *t = sp_schema_table(s, name);
    if (!t)
        return if_exists ? EM_OK : fail(d, EM_NOT_FOUND, "Table not found: %s", name);
    for (int i = 0; i < s->nindexes; i++)
        if (strcasecmp(s->indexes[i]->table, t->name) == 0)
            return fail(d, EM_FAILED_PRECONDITION, "Cannot drop table %s with indices: %s.",
                        t->name, s->indexes[i]->name);
    for (int i = 0; i < s->ntables; i++) {
        const struct sp_table *other = s->tables[i];
        if (other->parent && strcasecmp(other->parent, t->name) == 0)
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot drop table %s with interleaved tables: %s.", t->name, other->name);
        for (int k = 0; other != t && k < other->nfks; k++)
            if (strcasecmp(other->fks[k].ref_table, t->name) == 0)
                return fail(d, EM_FAILED_PRECONDITION,
                            "Cannot drop table %s: it is referenced by foreign key %s of table "
                            "%s.",
                            t->name, other->fks[k].name ? other->fks[k].name : "", other->name);
    }
    if (sp_change_stream_table_droppable(s, t->name, d->st) ||
        sp_roles_droppable(s, SP_ON_TABLE, t->name, NULL, d->st))
        return d->st->code;
    regenerate_start(d);
    for (int i = 0; i < t->ncolumns; i++)
        if (t->columns[i].identity)
            forget_counter(d, t->name, t->columns[i].name);
    sp_buf_puts(d->out, "DROP TABLE ");
    sp_buf_ident(d->out, t->name);
    sp_buf_puts(d->out, ";\n");
    sp_schema_sqlite_drop_versions(t->name, d->out);
    for (int i = 0; i < s->ntables; i++)
        if (s->tables[i] == t) {
            memmove(&s->tables[i], &s->tables[i + 1],
                    (size_t)(s->ntables - i - 1) * sizeof(*s->tables));
            s->ntables--;
            break;
        }
    return EM_OK;
}

static enum em_code drop_index(struct ddl *d, const char *name, bool if_exists)
{
    struct sp_schema *s = d->schema;
    for (int i = 0; i < s->nindexes; i++) {
        if (strcasecmp(s->indexes[i]->name, name) != 0)
            continue;
        regenerate_start(d);
        sp_schema_sqlite_drop_index(s->indexes[i], d->out);
        memmove(&s->indexes[i], &s->indexes[i + 1],
                (size_t)(s->nindexes - i - 1) * sizeof(*s->indexes));
        s->nindexes--;
        return EM_OK;
    }
    return if_exists ? EM_OK : fail(d, EM_NOT_FOUND, "Index not found: %s", name);
}

static enum em_code drop_view(struct ddl *d, const char *name)
{
    struct sp_schema *s = d->schema;
    for (int i = 0; i < s->nviews; i++) {
        if (strcasecmp(s->views[i]->name, name) != 0)
            continue;
        if (sp_roles_droppable(s, SP_ON_VIEW, s->views[i]->name, NULL, d->st))
            return d->st->code;
        memmove(&s->views[i], &s->views[i + 1], (size_t)(s->nviews - i - 1) * sizeof(*s->views));
        s->nviews--;
        return EM_OK;
    }
    return fail(d, EM_NOT_FOUND, "View not found: %s", name);
}

/* ---- sequences ---- */

/* An INT64 option value: [-]digits, or NULL (*is_null). */
static enum em_code option_int64(struct ddl *d, const char *option, bool *is_null, int64_t *out)
{
    *is_null = sp_accept_keyword(&d->p, "NULL");
    if (*is_null)
        return EM_OK;
    bool negative = sp_accept_op(&d->p, "-");
    const struct sp_token *tok = sp_peek(&d->p);
    char *end = NULL;
    unsigned long long magnitude = 0;
    if (tok->kind == SP_TOK_INT && isdigit((unsigned char)tok->value[0]))
        magnitude = strtoull(tok->value, &end, 0);
    if (!end || *end || magnitude > (negative ? 1ULL << 63 : (unsigned long long)INT64_MAX))
        return fail(d, EM_INVALID_ARGUMENT, "Unexpected value for option: %s. It is an INT64.",
                    option);
    sp_next(&d->p);
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return EM_OK;
}

/* start_with_counter's value: a positive INT64, or NULL */
static enum em_code start_counter(struct ddl *d, bool *is_null, int64_t *out)
{
    if (option_int64(d, "start_with_counter", is_null, out))
        return d->st->code;
    if (!*is_null && *out < 1)
        return fail(d, EM_INVALID_ARGUMENT,
                    "`start_with_counter` has to be a positive INT64 number");
    return EM_OK;
}

/* sequence_kind = 'bit_reversed_positive', the one kind */
static enum em_code sequence_kind(struct ddl *d)
{
    const struct sp_token *tok = sp_peek(&d->p);
    if (tok->kind != SP_TOK_STRING)
        return fail(d, EM_INVALID_ARGUMENT,
                    "The only supported sequence kind is `bit_reversed_positive`");
    if (strcmp(tok->value, "bit_reversed_positive") != 0)
        return fail(d, EM_INVALID_ARGUMENT, "Unsupported sequence kind: %.64s", tok->value);
    sp_next(&d->p);
    return EM_OK;
}

/* OPTIONS (name = value, ...) of CREATE or ALTER SEQUENCE, into q; *kind_set and
 * *counter_set tell which were given (a NULL start_with_counter unsets it). */
static enum em_code sequence_options(struct ddl *d, struct sp_sequence *q, bool *kind_set,
                                     bool *counter_set)
{
    bool min_null = !q->has_skip, max_null = !q->has_skip;
    if (sp_expect_op(&d->p, "("))
        return d->st->code;
    do {
        const char *name;
        bool is_null = false;
        if (sp_expect_identifier(&d->p, "option name", &name) || sp_expect_op(&d->p, "="))
            return d->st->code;
        if (strcasecmp(name, "sequence_kind") == 0) {
            if (sequence_kind(d))
                return d->st->code;
            *kind_set = true;
        } else if (strcasecmp(name, "skip_range_min") == 0) {
            if (option_int64(d, "skip_range_min", &min_null, &q->skip_min))
                return d->st->code;
        } else if (strcasecmp(name, "skip_range_max") == 0) {
            if (option_int64(d, "skip_range_max", &max_null, &q->skip_max))
                return d->st->code;
        } else if (strcasecmp(name, "start_with_counter") == 0) {
            if (start_counter(d, &is_null, &q->start_with_counter))
                return d->st->code;
            if (is_null)
                q->start_with_counter = 0;
            *counter_set = true;
        } else {
            return fail(d, EM_INVALID_ARGUMENT, "Option: %.64s is unknown.", name);
        }
    } while (sp_accept_op(&d->p, ","));
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    if (min_null != max_null)
        return fail(d, EM_INVALID_ARGUMENT,
                    "`skip_range_min` and `skip_range_max` have to be set together");
    q->has_skip = !min_null;
    return EM_OK;
}

/* [SKIP RANGE a, b | NO SKIP RANGE] [START|RESTART COUNTER [WITH] n], the clause form */
static enum em_code sequence_clauses(struct ddl *d, struct sp_sequence *q, const char *start,
                                     bool *counter_set)
{
    bool is_null = false;
    if (sp_accept_keyword(&d->p, "NO")) {
        if (sp_expect_keyword(&d->p, "SKIP") || sp_expect_keyword(&d->p, "RANGE"))
            return d->st->code;
        q->has_skip = false;
    } else if (sp_accept_keyword(&d->p, "SKIP")) {
        if (sp_expect_keyword(&d->p, "RANGE") ||
            option_int64(d, "skip_range_min", &is_null, &q->skip_min) || is_null ||
            sp_expect_op(&d->p, ",") || option_int64(d, "skip_range_max", &is_null, &q->skip_max) ||
            is_null)
            return d->st->code ? d->st->code : sp_syntax_error(&d->p);
        q->has_skip = true;
    }
    if (sp_accept_keyword(&d->p, start)) {
        if (sp_expect_keyword(&d->p, "COUNTER"))
            return d->st->code;
        sp_accept_keyword(&d->p, "WITH");
        if (start_counter(d, &is_null, &q->start_with_counter) || is_null)
            return d->st->code ? d->st->code : sp_syntax_error(&d->p);
        *counter_set = true;
    }
    return EM_OK;
}

static enum em_code check_skip_range(struct ddl *d, const struct sp_sequence *q)
{
    if (q->has_skip && q->skip_min > q->skip_max)
        return fail(d, EM_FAILED_PRECONDITION,
                    "`skip_range_min` has to be lesser than or equal to `skip_range_max`");
    return EM_OK;
}

/* CREATE SEQUENCE [IF NOT EXISTS] name OPTIONS (...) | [BIT_REVERSED_POSITIVE] [SKIP RANGE
 * a, b] [START COUNTER [WITH] n] */
static enum em_code create_sequence(struct ddl *d)
{
    bool if_not_exists = false, kind_set = false, counter_set = false;
    if (sp_token_is_keyword(sp_peek(&d->p), "IF") &&
        sp_token_is_keyword(sp_peek_at(&d->p, 1), "NOT")) {
        sp_next(&d->p);
        if (sp_expect_keyword(&d->p, "NOT") || sp_expect_keyword(&d->p, "EXISTS"))
            return d->st->code;
        if_not_exists = true;
    }
    struct sp_sequence *q = sp_arena_alloc(&d->schema->arena, sizeof(*q));
    if (!q)
        return EM_FAIL_OOM(d->st);
    *q = (struct sp_sequence){0};
    if (object_name(d, "sequence name", &q->name))
        return d->st->code;
    if (sp_accept_keyword(&d->p, "OPTIONS")) {
        if (sequence_options(d, q, &kind_set, &counter_set))
            return d->st->code;
    } else {
        q->clauses = true;
        kind_set = sp_accept_keyword(&d->p, "BIT_REVERSED_POSITIVE");
        if (sequence_clauses(d, q, "START", &counter_set))
            return d->st->code;
    }
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    if (if_not_exists && sp_schema_sequence(d->schema, q->name))
        return EM_OK;
    if (!kind_set && !d->schema->default_sequence_kind)
        return fail(d, EM_INVALID_ARGUMENT,
                    "The sequence does not have a valid sequence kind. Please specify the "
                    "sequence kind explicitly or set the database option `default_sequence_kind`.");
    q->no_kind = !kind_set;
    if (check_skip_range(d, q))
        return d->st->code;
    if (name_taken(d->schema, q->name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", q->name);
    struct sp_schema *s = d->schema;
    struct sp_sequence **grown = grow(d, s->sequences, s->nsequences, sizeof(*grown));
    if (!grown)
        return d->st->code;
    q->seq = s->next_seq++;
    grown[s->nsequences] = q;
    s->sequences = grown;
    s->nsequences++;
    forget_counter(d, q->name, NULL);
    return EM_OK;
}

/* ALTER SEQUENCE name SET OPTIONS (...) | [SKIP RANGE a, b | NO SKIP RANGE] [RESTART COUNTER
 * [WITH] n]. A new start_with_counter starts the counter again from it. */
static enum em_code alter_sequence(struct ddl *d)
{
    const char *name;
    bool kind_set = false, counter_set = false;
    if (sp_expect_keyword(&d->p, "SEQUENCE") ||
        sp_expect_object_name(&d->p, "sequence name", &name))
        return d->st->code;
    struct sp_schema *s = d->schema;
    int at = -1;
    for (int i = 0; i < s->nsequences; i++)
        if (strcasecmp(s->sequences[i]->name, name) == 0)
            at = i;
    if (at < 0)
        return fail(d, EM_NOT_FOUND, "Sequence not found: %.128s", name);
    struct sp_sequence *q = sp_arena_alloc(&s->arena, sizeof(*q));
    if (!q)
        return EM_FAIL_OOM(d->st);
    *q = *s->sequences[at];
    if (sp_accept_keyword(&d->p, "SET")) {
        if (sp_expect_keyword(&d->p, "OPTIONS") || sequence_options(d, q, &kind_set, &counter_set))
            return d->st->code;
    } else if (sequence_clauses(d, q, "RESTART", &counter_set)) {
        return d->st->code;
    }
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    if (check_skip_range(d, q))
        return d->st->code;
    s->sequences[at] = q;
    if (counter_set && q->start_with_counter)
        forget_counter(d, q->name, NULL);
    return EM_OK;
}

static bool expr_uses_sequence(const struct sp_expr *e, const char *name)
{
    if (e->kind == SP_EXPR_SEQUENCE && strcasecmp(e->name, name) == 0)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (expr_uses_sequence(e->args[i], name))
            return true;
    return false;
}

/* The first column whose DEFAULT draws from the sequence, as "table.column", or NULL. */
static const char *sequence_user(struct ddl *d, const char *name, char *out, size_t size)
{
    const struct sp_schema *s = d->schema;
    for (int i = 0; i < s->ntables; i++) {
        for (int k = 0; k < s->tables[i]->ncolumns; k++) {
            const struct sp_column *c = &s->tables[i]->columns[k];
            struct sp_arena scratch = {0};
            struct em_status ignored = {0};
            struct sp_parser p;
            struct sp_expr *e;
            bool uses = c->default_text &&
                        !sp_parser_init(&p, &scratch, c->default_text, &ignored) &&
                        !sp_parse_expr(&p, &e) && expr_uses_sequence(e, name);
            sp_arena_free(&scratch);
            if (uses) {
                snprintf(out, size, "%s.%s", s->tables[i]->name, c->name);
                return out;
            }
        }
    }
    return NULL;
}

static enum em_code drop_sequence(struct ddl *d, const char *name, bool if_exists)
{
    struct sp_schema *s = d->schema;
    for (int i = 0; i < s->nsequences; i++) {
        if (strcasecmp(s->sequences[i]->name, name) != 0)
            continue;
        char user[2 * NAME_MAX_CHARS + 2];
        if (sequence_user(d, name, user, sizeof(user)))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot drop SEQUENCE `%s` on which there is a dependent column: %s.",
                        s->sequences[i]->name, user);
        if (sp_roles_droppable(s, SP_ON_SEQUENCE, s->sequences[i]->name, NULL, d->st))
            return d->st->code;
        forget_counter(d, s->sequences[i]->name, NULL);
        memmove(&s->sequences[i], &s->sequences[i + 1],
                (size_t)(s->nsequences - i - 1) * sizeof(*s->sequences));
        s->nsequences--;
        return EM_OK;
    }
    return if_exists ? EM_OK : fail(d, EM_NOT_FOUND, "Sequence not found: %.128s", name);
}

/* CHANGE STREAM name, after DROP */
static enum em_code drop_change_stream(struct ddl *d)
{
    const char *name;
    if (sp_expect_keyword(&d->p, "STREAM") ||
        sp_expect_identifier(&d->p, "change stream name", &name))
        return d->st->code;
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    const struct sp_change_stream *cs = sp_schema_change_stream(d->schema, name);
    char function[160]; /* "READ_" and a name of at most 128 characters */
    snprintf(function, sizeof(function), "READ_%s", cs ? cs->name : "");
    if (cs && (sp_roles_droppable(d->schema, SP_ON_CHANGE_STREAM, cs->name, NULL, d->st) ||
               sp_roles_droppable(d->schema, SP_ON_TABLE_FUNCTION, function, NULL, d->st)))
        return d->st->code;
    if (cs) /* its records go with it (a stream of the same name starts afresh) */
        sp_buf_printf(
            d->out, SP_CHANGES_TABLE_SQL "\nDELETE FROM \"$changes\" WHERE stream = lower('%s');\n",
            cs->name); /* a name holds no quote */
    return sp_change_stream_drop(d->schema, name, d->st);
}

/* ---- named schemas ---- */

/* CREATE SCHEMA name: objects named name.x belong to it */
static enum em_code create_schema(struct ddl *d)
{
    const char *name;
    if (identifier(d, "schema name", &name))
        return d->st->code;
    if (strcasecmp(name, "INFORMATION_SCHEMA") == 0 || strcasecmp(name, "SPANNER_SYS") == 0)
        return fail(d, EM_INVALID_ARGUMENT, "Schema name not valid: %s.", name);
    if (sp_schema_named_schema(d->schema, name) || name_taken(d->schema, name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    struct sp_schema *s = d->schema;
    const char **grown = grow(d, s->named_schemas, s->nnamed_schemas, sizeof(*grown));
    if (!grown)
        return d->st->code;
    grown[s->nnamed_schemas++] = name;
    s->named_schemas = grown;
    return EM_OK;
}

/* Whether object is named in the named schema (schema.x). */
static bool in_schema(const char *object, const char *schema)
{
    size_t n = strlen(schema);
    return strncasecmp(object, schema, n) == 0 && object[n] == '.';
}

/* Appends object to the "<label>:a, b" line of one kind of dependents. */
static void add_dependent(struct sp_buf *out, bool *first, const char *label, const char *object)
{
    sp_buf_printf(out, "%s%s", *first ? label : ", ", object);
    *first = false;
}

/* DROP SCHEMA name: only when nothing is named in it, as Spanner */
static enum em_code drop_schema(struct ddl *d)
{
    const char *name;
    if (sp_expect_identifier(&d->p, "schema name", &name))
        return d->st->code;
    struct sp_schema *s = d->schema;
    int at = -1;
    for (int i = 0; i < s->nnamed_schemas; i++)
        if (strcasecmp(s->named_schemas[i], name) == 0)
            at = i;
    if (at < 0)
        return fail(d, EM_NOT_FOUND, "Schema not found: %.128s", name);
    if (sp_roles_droppable(s, SP_ON_SCHEMA, s->named_schemas[at], NULL, d->st))
        return d->st->code;
    struct sp_buf deps = {0};
    bool first[4] = {true, true, true, true};
    for (int i = 0; i < s->ntables; i++)
        if (in_schema(s->tables[i]->name, name))
            add_dependent(&deps, &first[0], "\nDependent tables:", s->tables[i]->name);
    for (int i = 0; i < s->nviews; i++)
        if (in_schema(s->views[i]->name, name))
            add_dependent(&deps, &first[1], "\nDependent views:", s->views[i]->name);
    for (int i = 0; i < s->nindexes; i++)
        if (in_schema(s->indexes[i]->name, name))
            add_dependent(&deps, &first[2], "\nDependent indexes:", s->indexes[i]->name);
    for (int i = 0; i < s->nsequences; i++)
        if (in_schema(s->sequences[i]->name, name))
            add_dependent(&deps, &first[3], "\nDependent sequences:", s->sequences[i]->name);
    enum em_code code = EM_OK;
    if (deps.failed)
        code = EM_FAIL_OOM(d->st);
    else if (deps.len)
        code = fail(d, EM_FAILED_PRECONDITION, "Cannot drop schema %s while it has dependencies.%s",
                    s->named_schemas[at], deps.data);
    sp_buf_free(&deps);
    if (code)
        return code;
    const char **kept = grow(d, s->named_schemas, s->nnamed_schemas, sizeof(*kept));
    if (!kept)
        return d->st->code;
    memmove(kept + at, kept + at + 1, (size_t)(s->nnamed_schemas - at - 1) * sizeof(*kept));
    s->named_schemas = kept;
    s->nnamed_schemas--;
    return EM_OK;
}

static enum em_code drop(struct ddl *d)
{
    if (sp_accept_keyword(&d->p, "CHANGE"))
        return drop_change_stream(d);
    if (sp_accept_keyword(&d->p, "ROLE"))
        return sp_role_drop(&d->p, d->schema, d->st);
    if (sp_accept_keyword(&d->p, "SCHEMA"))
        return drop_schema(d);
    const struct sp_token *what = sp_next(&d->p);
    bool if_exists = false;
    const char *name;
    if (sp_accept_keyword(&d->p, "IF")) {
        if (sp_expect_keyword(&d->p, "EXISTS"))
            return d->st->code;
        if_exists = true;
    }
    if (!sp_token_is_keyword(what, "TABLE") && !sp_token_is_keyword(what, "INDEX") &&
        !sp_token_is_keyword(what, "VIEW") && !sp_token_is_keyword(what, "SEQUENCE"))
        return sp_unsupported(&d->p, what, "DROP of this kind of object");
    if (sp_expect_object_name(&d->p, "name", &name))
        return d->st->code;
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    if (sp_token_is_keyword(what, "TABLE"))
        return drop_table(d, name, if_exists);
    if (sp_token_is_keyword(what, "INDEX"))
        return drop_index(d, name, if_exists);
    if (sp_token_is_keyword(what, "SEQUENCE"))
        return drop_sequence(d, name, if_exists);
    return drop_view(d, name);
}

/* ---- renaming tables ---- */

/* Every reference to table `from` names `to`: the table, its interleaved children, the
 * foreign keys that reference it, its indexes and the change streams that list it (views
 * are not rewritten: a view that uses the table refuses the rename, as Spanner's views
 * would break). Objects are copied, never edited: they may be shared with the base schema. */
static enum em_code rename_references(struct ddl *d, const char *from, const char *to)
{
    struct sp_schema *s = d->schema;
    for (int i = 0; i < s->ntables; i++) {
        const struct sp_table *t = s->tables[i];
        bool self = strcasecmp(t->name, from) == 0;
        bool child = t->parent && strcasecmp(t->parent, from) == 0;
        bool referencing = false;
        for (int k = 0; k < t->nfks; k++)
            referencing |= strcasecmp(t->fks[k].ref_table, from) == 0;
        if (!self && !child && !referencing)
            continue;
        struct sp_table *copy = clone_table(d, t);
        if (!copy)
            return d->st->code;
        if (self)
            copy->name = to;
        if (child)
            copy->parent = to;
        for (int k = 0; k < copy->nfks; k++)
            if (strcasecmp(copy->fks[k].ref_table, from) == 0)
                copy->fks[k].ref_table = to;
        s->tables[i] = copy;
    }
    for (int i = 0; i < s->nindexes; i++) {
        if (strcasecmp(s->indexes[i]->table, from) != 0)
            continue;
        struct sp_index *copy = sp_arena_alloc(&s->arena, sizeof(*copy));
        if (!copy)
            return EM_FAIL_OOM(d->st);
        *copy = *s->indexes[i];
        copy->table = to;
        s->indexes[i] = copy;
    }
    return sp_change_stream_rename_table(s, from, to, d->st) ||
                   sp_roles_rename_table(s, from, to, d->st)
               ? d->st->code
               : EM_OK;
}

/* The SQLite side: the table and its versions (their index is made again under the new
 * name), and the counters of its identity columns. */
static void rename_storage(struct ddl *d, const struct sp_table *t, const char *from)
{
    char versions[SP_VERSIONS_NAME_MAX];
    sp_buf_puts(d->out, "ALTER TABLE ");
    sp_buf_ident(d->out, from);
    sp_buf_puts(d->out, " RENAME TO ");
    sp_buf_ident(d->out, t->name);
    sp_buf_puts(d->out, ";\nALTER TABLE ");
    sp_schema_versions_name(from, versions);
    sp_buf_ident(d->out, versions);
    sp_buf_puts(d->out, " RENAME TO ");
    sp_schema_versions_name(t->name, versions);
    sp_buf_ident(d->out, versions);
    sp_buf_puts(d->out, ";\nDROP INDEX IF EXISTS ");
    sp_schema_versions_name(from, versions);
    sp_buf_printf(d->out, "\"%s$key\";\n", versions);
    sp_schema_sqlite_versions(t, d->out);
    for (int i = 0; i < t->ncolumns; i++) {
        if (!t->columns[i].identity)
            continue;
        sp_buf_puts(d->out, SP_SEQUENCES_TABLE_SQL " UPDATE \"$sequences\" SET name = lower(");
        sp_buf_printf(d->out, "'%s.%s') WHERE name = lower('%s.%s');\n", t->name,
                      t->columns[i].name, from, t->columns[i].name);
    }
}

/* ---- synonyms ---- */

/* ADD SYNONYM name (after ADD SYNONYM), to t, a copy of the table being altered */
static enum em_code add_synonym(struct ddl *d, struct sp_table *t)
{
    const char *name;
    if (identifier(d, "synonym", &name))
        return d->st->code;
    if (t->synonym)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Cannot add a synonym to table %s because the table already has a synonym "
                    "%s.",
                    t->name, t->synonym);
    if (name_taken(d->schema, name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    t->synonym = name;
    return EM_OK;
}

static enum em_code drop_synonym(struct ddl *d, struct sp_table *t)
{
    const char *name;
    if (sp_expect_identifier(&d->p, "synonym", &name))
        return d->st->code;
    if (!t->synonym || strcasecmp(t->synonym, name) != 0)
        return fail(d, EM_INVALID_ARGUMENT, "SYNONYM %s does not exist on table %s.", name,
                    t->name);
    t->synonym = NULL;
    return EM_OK;
}

/* One "from TO to" of a rename, checked against the schema as the earlier ones left it. */
static enum em_code rename_one(struct ddl *d, const char *from, const char *to)
{
    struct sp_schema *s = d->schema;
    const struct sp_table *t = sp_schema_table(s, from);
    if (!t)
        return fail(d, EM_NOT_FOUND, "Table not found: %s", from);
    if (name_taken(s, to))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", to);
    if (t->parent && sp_table_column(t, to))
        return fail(d, EM_FAILED_PRECONDITION,
                    "Cannot rename table %s to %s: an interleaved table cannot take the name of "
                    "one of its columns.",
                    t->name, to);
    const char *old_name = t->name;
    if (rename_references(d, old_name, to))
        return d->st->code;
    for (int i = 0; i < s->nviews; i++) {
        struct em_status ignored = {0};
        if (sp_translate_check_view(s, s->views[i]->text, false, &ignored))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot rename table %s: view %s uses it. Drop the view, rename the "
                        "table, then create the view again.",
                        old_name, s->views[i]->name);
    }
    rename_storage(d, sp_schema_table(s, to), old_name);
    return EM_OK;
}

/* ALTER TABLE t RENAME TO u [, ADD SYNONYM t] (after RENAME), or RENAME TABLE a TO b [, c
 * TO d ...] (after RENAME TABLE): each pair in order, so names can be swapped through a
 * third. A table's synonym stays with it. */
static enum em_code rename_tables(struct ddl *d, const char *first_from)
{
    const char *from = first_from;
    do {
        const char *to;
        if ((!from && sp_expect_object_name(&d->p, "table name", &from)) ||
            sp_expect_keyword(&d->p, "TO") || object_name(d, "table name", &to))
            return d->st->code;
        if (rename_one(d, from, to))
            return d->st->code;
        if (first_from && sp_accept_op(&d->p, ",")) { /* ALTER TABLE ... , ADD SYNONYM old */
            struct sp_table *t = clone_table(d, sp_schema_table(d->schema, to));
            if (!t || sp_expect_keyword(&d->p, "ADD") || sp_expect_keyword(&d->p, "SYNONYM") ||
                add_synonym(d, t))
                return d->st->code;
            replace_table(d->schema, sp_schema_table(d->schema, to), t);
        }
        from = NULL;
    } while (!first_from && sp_accept_op(&d->p, ","));
    return sp_peek(&d->p)->kind == SP_TOK_EOF ? EM_OK : sp_syntax_error(&d->p);
}

/* ---- ALTER TABLE ---- */

static const char *sqlite_column_type(const struct sp_type *type)
{
    return type->code == SP_TYPE_BOOL || type->code == SP_TYPE_INT64        ? "INTEGER"
           : type->code == SP_TYPE_FLOAT64 || type->code == SP_TYPE_FLOAT32 ? "REAL"
           : type->code == SP_TYPE_BYTES                                    ? "BLOB"
                                                                            : "TEXT";
}

/* SELECT sp_raise('CODE: message') FROM "T" WHERE <cond> LIMIT 1; */
static void validate_rows(struct ddl *d, const char *table, const char *condition, const char *code,
                          const char *message)
{
    char text[512];
    snprintf(text, sizeof(text), "%s: %s", code, message);
    sp_buf_puts(d->out, "SELECT sp_raise(");
    sp_buf_string(d->out, text, strlen(text));
    sp_buf_puts(d->out, ") FROM ");
    sp_buf_ident(d->out, table);
    sp_buf_printf(d->out, " WHERE %s LIMIT 1;\n", condition);
}

/* The position of column among the index's STORING columns, or -1. */
static int stored_position(const struct sp_index *ix, const char *column)
{
    for (int i = 0; i < ix->nstoring; i++)
        if (strcasecmp(ix->storing[i], column) == 0)
            return i;
    return -1;
}

static bool index_key_has(const struct sp_index *ix, const char *column)
{
    for (int i = 0; i < ix->nkey; i++)
        if (strcasecmp(ix->key[i].column, column) == 0)
            return true;
    return false;
}

static bool index_filters_on(const struct sp_index *ix, const char *column)
{
    for (int i = 0; i < ix->nwhere; i++)
        if (strcasecmp(ix->where_not_null[i], column) == 0)
            return true;
    return false;
}

static bool column_indexed(const struct sp_schema *s, const struct sp_table *t, const char *column,
                           const char **index)
{
    for (int i = 0; i < s->nindexes; i++) {
        const struct sp_index *ix = s->indexes[i];
        if (strcasecmp(ix->table, t->name) == 0 &&
            (index_key_has(ix, column) || stored_position(ix, column) >= 0 ||
             index_filters_on(ix, column)))
            return (*index = ix->name), true;
    }
    return false;
}

static enum em_code add_column(struct ddl *d, struct sp_table *t)
{
    struct sp_column c;
    bool if_not_exists = false;
    if (sp_accept_keyword(&d->p, "IF")) {
        if (sp_expect_keyword(&d->p, "NOT") || sp_expect_keyword(&d->p, "EXISTS"))
            return d->st->code;
        if_not_exists = true;
    }
    if (column_def(d, &c))
        return d->st->code;
    if (sp_table_column(t, c.name))
        return if_not_exists ? EM_OK
                             : fail(d, EM_FAILED_PRECONDITION, "Duplicate column name %s.%s.",
                                    t->name, c.name);
    if (c.not_null && !c.default_text) /* Spanner: not supported (UNIMPLEMENTED) */
        return fail(d, EM_UNIMPLEMENTED, "Cannot add NOT NULL column %s.%s to existing table %s.",
                    t->name, c.name, t->name);
    if (!(t->columns = grow(d, t->columns, t->ncolumns, sizeof(c))))
        return d->st->code;
    t->columns[t->ncolumns++] = c;
    if (check_column_exprs(d, t, &t->columns[t->ncolumns - 1]))
        return d->st->code;
    regenerate_start(d);
    sp_schema_sqlite_add_column(t, &t->columns[t->ncolumns - 1], d->out);
    sp_schema_sqlite_versions_column(t->name, "ADD COLUMN", c.name, sqlite_column_type(&c.type),
                                     d->out);
    if (c.default_text) {
        struct sp_arena scratch = {0};
        const char *sql;
        struct sp_type type;
        if (sp_translate_table_expr(&scratch, d->schema, NULL, c.default_text, NULL, &sql, &type,
                                    d->st)) {
            sp_arena_free(&scratch);
            return d->st->code;
        }
        sp_buf_puts(d->out, "UPDATE ");
        sp_buf_ident(d->out, t->name);
        sp_buf_puts(d->out, " SET ");
        sp_buf_ident(d->out, c.name);
        sp_buf_printf(d->out, " = %s WHERE true;\n", sql);
        sp_arena_free(&scratch);
    }
    return EM_OK;
}

static enum em_code drop_column(struct ddl *d, struct sp_table *t)
{
    const char *name, *index;
    if (sp_expect_identifier(&d->p, "column name", &name))
        return d->st->code;
    int i = sp_table_column_index(t, name);
    if (i < 0)
        return fail(d, EM_NOT_FOUND, "Column not found in table %s: %s", t->name, name);
    const char *col = t->columns[i].name;
    if (sp_table_is_key(t, col))
        return fail(d, EM_INVALID_ARGUMENT, "Cannot drop key column %s from table %s.", col,
                    t->name);
    if (sp_roles_droppable(d->schema, SP_ON_TABLE, t->name, col, d->st))
        return d->st->code;
    if (column_indexed(d->schema, t, col, &index))
        return fail(d, EM_FAILED_PRECONDITION,
                    "Cannot drop column %s from table %s because it is used by index %s.", col,
                    t->name, index);
    for (int k = 0; k < t->nfks; k++)
        for (int c = 0; c < t->fks[k].ncolumns; c++)
            if (strcasecmp(t->fks[k].columns[c], col) == 0)
                return fail(d, EM_FAILED_PRECONDITION,
                            "Cannot drop column %s: it is used by foreign key %s.", col,
                            t->fks[k].name ? t->fks[k].name : "");
    if (t->ttl_column && strcasecmp(t->ttl_column, col) == 0)
        return fail(d, EM_FAILED_PRECONDITION,
                    "Cannot drop column %s: it is used by the row deletion policy of table %s.",
                    col, t->name);
    if (sp_change_stream_column_droppable(d->schema, t->name, col, d->st))
        return d->st->code;
    if (t->columns[i].identity)
        forget_counter(d, t->name, col);
    memmove(&t->columns[i], &t->columns[i + 1],
            (size_t)(t->ncolumns - i - 1) * sizeof(*t->columns));
    t->ncolumns--;
    /* a CHECK or generated column over the dropped column no longer translates */
    for (int k = 0; k < t->nchecks; k++)
        if (check_check(d, t, &t->checks[k]))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot drop column %s: it is used by check constraint %s.", col,
                        t->checks[k].name ? t->checks[k].name : t->checks[k].text);
    for (int k = 0; k < t->ncolumns; k++)
        if (t->columns[k].generated_text && check_column_exprs(d, t, &t->columns[k]))
            return fail(d, EM_FAILED_PRECONDITION,
                        "Cannot drop column %s: it is used by generated column %s.", col,
                        t->columns[k].name);
    regenerate_start(d);
    sp_buf_puts(d->out, "ALTER TABLE ");
    sp_buf_ident(d->out, t->name);
    sp_buf_puts(d->out, " DROP COLUMN ");
    sp_buf_ident(d->out, col);
    sp_buf_puts(d->out, ";\n");
    sp_schema_sqlite_versions_column(t->name, "DROP COLUMN", col, NULL, d->out);
    return EM_OK;
}

/* ALTER COLUMN c <type> [NOT NULL] [DEFAULT (...)]: Spanner allows STRING <-> BYTES,
 * length changes and nullability changes on non-key columns. */
static enum em_code alter_column_type(struct ddl *d, struct sp_table *t, struct sp_column *c)
{
    struct sp_column next;
    size_t name_pos = d->p.pos - 1;
    d->p.pos = name_pos; /* column_def reads the name again */
    if (column_def(d, &next))
        return d->st->code;
    next.name = c->name;
    bool text_swap = (c->type.code == SP_TYPE_STRING && next.type.code == SP_TYPE_BYTES) ||
                     (c->type.code == SP_TYPE_BYTES && next.type.code == SP_TYPE_STRING);
    bool same = sp_type_equal(&c->type, &next.type);
    if (!same && !text_swap)
        return fail(d, EM_INVALID_ARGUMENT, "Cannot change type of column `%s` from `%s` to `%s`",
                    c->name, sp_type_code_name(c->type.code), sp_type_code_name(next.type.code));
    if (sp_table_is_key(t, c->name) &&
        (!same || c->type.length != next.type.length || c->not_null != next.not_null))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Requested change to key column %s.%s could not be "
                    "made.",
                    t->name, c->name);
    if (next.generated_text || (c->generated_text && !next.generated_text))
        return sp_unsupported(&d->p, sp_peek(&d->p), "ALTER COLUMN of a generated column");
    next.allow_commit_timestamp = next.allow_commit_timestamp || c->allow_commit_timestamp;
    if (!next.identity) /* a new type or NOT NULL keeps the column's identity */
        next.identity = c->identity;
    if (check_column_exprs(d, t, &next))
        return d->st->code;
    regenerate_start(d);
    char message[300];
    struct sp_buf cond = {0};
    if (next.not_null && !c->not_null) {
        sp_buf_ident(&cond, c->name);
        sp_buf_puts(&cond, " IS NULL");
        snprintf(message, sizeof(message),
                 "Adding a NOT NULL constraint on a column %s.%s that contains NULL values.",
                 t->name, c->name);
        validate_rows(d, t->name, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
        sp_buf_free(&cond);
    }
    if (next.type.length > 0 && (c->type.length <= 0 || next.type.length < c->type.length)) {
        sp_buf_puts(&cond, "length(");
        sp_buf_ident(&cond, c->name);
        sp_buf_printf(&cond, ") > %ld", next.type.length);
        snprintf(message, sizeof(message),
                 "Reducing the length of column %s.%s below the size of existing values.", t->name,
                 c->name);
        validate_rows(d, t->name, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
        sp_buf_free(&cond);
    }
    for (int versions = 0; text_swap && versions < 2; versions++) {
        char name[SP_VERSIONS_NAME_MAX];
        if (versions)
            sp_schema_versions_name(t->name, name);
        else
            snprintf(name, sizeof(name), "%s", t->name);
        sp_buf_puts(d->out, "UPDATE ");
        sp_buf_ident(d->out, name);
        sp_buf_puts(d->out, " SET ");
        sp_buf_ident(d->out, c->name);
        sp_buf_puts(d->out, " = CAST(");
        sp_buf_ident(d->out, c->name);
        sp_buf_printf(d->out, " AS %s) WHERE true;\n",
                      next.type.code == SP_TYPE_BYTES ? "BLOB" : "TEXT");
    }
    *c = next;
    return EM_OK;
}

/* ALTER IDENTITY [SET] { SKIP RANGE a, b | NO SKIP RANGE } | RESTART COUNTER [WITH] n */
static enum em_code alter_identity(struct ddl *d, struct sp_table *t, struct sp_column *c)
{
    bool counter_set = false;
    if (sp_expect_keyword(&d->p, "IDENTITY"))
        return d->st->code;
    if (!c->identity)
        return fail(d, EM_FAILED_PRECONDITION, "Column %s.%s is not an identity column.", t->name,
                    c->name);
    struct sp_sequence *q = sp_arena_alloc(&d->schema->arena, sizeof(*q));
    if (!q)
        return EM_FAIL_OOM(d->st);
    *q = *c->identity;
    sp_accept_keyword(&d->p, "SET");
    if (sequence_clauses(d, q, "RESTART", &counter_set) || check_skip_range(d, q))
        return d->st->code;
    c->identity = q;
    if (counter_set)
        forget_counter(d, t->name, c->name);
    return EM_OK;
}

static enum em_code alter_column(struct ddl *d, struct sp_table *t)
{
    const char *name;
    if (sp_expect_identifier(&d->p, "column name", &name))
        return d->st->code;
    int i = sp_table_column_index(t, name);
    if (i < 0)
        return fail(d, EM_NOT_FOUND, "Column not found in table %s: %s", t->name, name);
    struct sp_column *c = &t->columns[i];
    if (sp_accept_keyword(&d->p, "SET")) {
        if (sp_accept_keyword(&d->p, "OPTIONS"))
            return column_options(d, c);
        if (sp_accept_keyword(&d->p, "DEFAULT")) {
            if (paren_expr(d, &c->default_text))
                return d->st->code;
            return check_column_exprs(d, t, c);
        }
        if (sp_token_is_keyword(sp_peek(&d->p), "NOT"))
            return sp_unsupported(&d->p, sp_peek(&d->p), "ALTER COLUMN SET NOT NULL");
        return sp_syntax_error(&d->p);
    }
    if (sp_accept_keyword(&d->p, "DROP")) {
        if (sp_expect_keyword(&d->p, "DEFAULT"))
            return d->st->code;
        c->default_text = NULL;
        return EM_OK;
    }
    if (sp_accept_keyword(&d->p, "ALTER"))
        return alter_identity(d, t, c);
    return alter_column_type(d, t, c);
}

static enum em_code add_constraint(struct ddl *d, struct sp_table *t)
{
    const char *name = NULL;
    if (sp_accept_keyword(&d->p, "CONSTRAINT") && identifier(d, "constraint name", &name))
        return d->st->code;
    if (constraint_taken(d->schema, name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    char message[400];
    if (sp_accept_keyword(&d->p, "FOREIGN")) {
        if (!(t->fks = grow(d, t->fks, t->nfks, sizeof(*t->fks))))
            return d->st->code;
        struct sp_foreign_key *fk = &t->fks[t->nfks];
        if (foreign_key(d, t->name, name, fk) || check_foreign_key(d, t, fk))
            return d->st->code;
        t->nfks++;
        regenerate_start(d);
        struct sp_buf cond = {0};
        for (int k = 0; k < fk->ncolumns; k++) {
            sp_buf_ident(&cond, fk->columns[k]);
            sp_buf_puts(&cond, " IS NOT NULL AND ");
        }
        sp_buf_puts(&cond, "NOT EXISTS (SELECT 1 FROM ");
        sp_buf_ident(&cond, fk->ref_table);
        sp_buf_puts(&cond, " AS \"$ref\" WHERE ");
        for (int k = 0; k < fk->ncolumns; k++) {
            sp_buf_printf(&cond, "%s", k ? " AND " : "");
            sp_buf_ident(&cond, t->name);
            sp_buf_puts(&cond, ".");
            sp_buf_ident(&cond, fk->columns[k]);
            sp_buf_puts(&cond, " = \"$ref\".");
            sp_buf_ident(&cond, fk->ref_columns[k]);
        }
        sp_buf_puts(&cond, ")");
        snprintf(message, sizeof(message),
                 "Foreign key %s constraint violation when creating the constraint on table %s: "
                 "a row references values missing in %s.",
                 name ? name : "", t->name, fk->ref_table);
        validate_rows(d, t->name, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
        sp_buf_free(&cond);
        return EM_OK;
    }
    if (sp_accept_keyword(&d->p, "CHECK")) {
        if (!(t->checks = grow(d, t->checks, t->nchecks, sizeof(*t->checks))))
            return d->st->code;
        struct sp_check *ck = &t->checks[t->nchecks];
        ck->name = name;
        if (paren_expr(d, &ck->text) || check_check(d, t, ck))
            return d->st->code;
        t->nchecks++;
        struct sp_arena scratch = {0};
        const char *sql;
        struct sp_type type;
        if (sp_translate_table_expr(&scratch, d->schema, t, ck->text, NULL, &sql, &type, d->st)) {
            sp_arena_free(&scratch);
            return d->st->code;
        }
        regenerate_start(d);
        char cond[4096];
        snprintf(cond, sizeof(cond), "(%s) IS 0", sql);
        snprintf(message, sizeof(message),
                 "Check constraint `%s`.`%s` is violated by an existing row", t->name,
                 name ? name : "CHECK");
        validate_rows(d, t->name, cond, "OUT_OF_RANGE", message);
        sp_arena_free(&scratch);
        return EM_OK;
    }
    return sp_syntax_error(&d->p);
}

static enum em_code drop_constraint(struct ddl *d, struct sp_table *t)
{
    const char *name;
    if (sp_expect_identifier(&d->p, "constraint name", &name))
        return d->st->code;
    for (int i = 0; i < t->nfks; i++)
        if (t->fks[i].name && strcasecmp(t->fks[i].name, name) == 0) {
            memmove(&t->fks[i], &t->fks[i + 1], (size_t)(t->nfks - i - 1) * sizeof(*t->fks));
            t->nfks--;
            return EM_OK;
        }
    for (int i = 0; i < t->nchecks; i++)
        if (t->checks[i].name && strcasecmp(t->checks[i].name, name) == 0) {
            memmove(&t->checks[i], &t->checks[i + 1],
                    (size_t)(t->nchecks - i - 1) * sizeof(*t->checks));
            t->nchecks--;
            return EM_OK;
        }
    return fail(d, EM_NOT_FOUND, "%s is not a constraint in %s", name, t->name);
}

/* ALTER of what Spanner alters but this emulator does not (UNIMPLEMENTED); of anything
 * else (ALTER ROLE, a typo), a syntax error as in Spanner. */
/* The index with column added to its STORING columns, or removed from them (a copy: the
 * schema this one was cloned from keeps the old), checked as Spanner checks them. */
static struct sp_index *restored_index(struct ddl *d, const struct sp_index *old,
                                       const char *column, bool add)
{
    const struct sp_table *t = sp_schema_table(d->schema, old->table);
    const struct sp_column *c = t ? sp_table_column(t, column) : NULL;
    int at = stored_position(old, column);
    if (add && !c)
        fail(d, EM_NOT_FOUND, "Column not found in table %s: %s", old->table, column);
    else if (add && (at >= 0 || index_key_has(old, c->name) || sp_table_is_key(t, c->name)))
        fail(d, EM_FAILED_PRECONDITION, "Column %s is already existed in index %s.", c->name,
             old->name);
    else if (!add && at < 0)
        fail(d, EM_NOT_FOUND, "Index %s does not have stored column %s.", old->name, column);
    struct sp_index *ix = d->st->code ? NULL : sp_arena_alloc(&d->schema->arena, sizeof(*ix));
    const char **storing =
        ix ? sp_arena_alloc(&d->schema->arena, (size_t)(old->nstoring + 1) * sizeof(*storing))
           : NULL;
    if (!storing) {
        if (!d->st->code)
            EM_FAIL_OOM(d->st);
        return NULL;
    }
    *ix = *old;
    ix->nstoring = 0;
    for (int i = 0; i < old->nstoring; i++)
        if (i != at)
            storing[ix->nstoring++] = old->storing[i];
    if (add)
        storing[ix->nstoring++] = c->name;
    ix->storing = storing;
    return ix;
}

/* ALTER INDEX name ADD|DROP STORED COLUMN column. The SQLite index holds the key columns
 * only, so only the schema's STORING list changes. */
static enum em_code alter_index(struct ddl *d)
{
    const char *name, *column;
    if (sp_expect_keyword(&d->p, "INDEX") || object_name(d, "index name", &name))
        return d->st->code;
    bool add = sp_accept_keyword(&d->p, "ADD");
    if ((!add && sp_expect_keyword(&d->p, "DROP")) || sp_expect_keyword(&d->p, "STORED") ||
        sp_expect_keyword(&d->p, "COLUMN") || identifier(d, "column name", &column))
        return d->st->code;
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    const struct sp_index *old = sp_schema_index(d->schema, name);
    if (!old)
        return fail(d, EM_NOT_FOUND, "Index not found: %s", name);
    struct sp_index *ix = restored_index(d, old, column, add);
    if (!ix)
        return d->st->code;
    for (int i = 0; i < d->schema->nindexes; i++)
        if (d->schema->indexes[i] == old)
            d->schema->indexes[i] = ix;
    return EM_OK;
}

static enum em_code alter_elsewhere(struct ddl *d)
{
    static const char *const spanner_alters[] = {"SEARCH",     "VECTOR", "MODEL",     "PROTO",
                                                 "STATISTICS", "SCHEMA", "PLACEMENT", "LOCALITY",
                                                 "VIEW",       NULL};
    const struct sp_token *what = sp_peek(&d->p);
    for (int i = 0; spanner_alters[i]; i++)
        if (sp_token_is_keyword(what, spanner_alters[i]))
            return sp_unsupported(&d->p, what, "This ALTER statement");
    return sp_syntax_error(&d->p);
}

static enum em_code alter_table(struct ddl *d)
{
    const char *name;
    if (sp_expect_keyword(&d->p, "TABLE") || sp_expect_object_name(&d->p, "table name", &name))
        return d->st->code;
    struct sp_table *old = sp_schema_table(d->schema, name);
    if (!old)
        return fail(d, EM_NOT_FOUND, "Table not found: %s", name);
    if (sp_accept_keyword(&d->p, "RENAME")) {
        regenerate_start(d);
        return rename_tables(d, old->name);
    }
    struct sp_table *t = clone_table(d, old);
    if (!t)
        return d->st->code;
    const struct sp_token *verb = sp_peek(&d->p);
    enum em_code code;
    if (sp_accept_keyword(&d->p, "ADD")) {
        if (sp_accept_keyword(&d->p, "COLUMN"))
            code = add_column(d, t);
        else if (sp_accept_keyword(&d->p, "ROW")) {
            code = sp_expect_keyword(&d->p, "DELETION") || sp_expect_keyword(&d->p, "POLICY")
                       ? d->st->code
                   : t->row_deletion_policy
                       ? fail(d, EM_INVALID_ARGUMENT,
                              "Cannot create ROW DELETION POLICY because there is already one on "
                              "column named %s in table %s.",
                              t->ttl_column ? t->ttl_column : "", t->name)
                       : row_deletion_policy(d, t);
        } else if (sp_accept_keyword(&d->p, "SYNONYM")) {
            code = add_synonym(d, t);
        } else
            code = add_constraint(d, t);
    } else if (sp_accept_keyword(&d->p, "DROP")) {
        if (sp_accept_keyword(&d->p, "COLUMN"))
            code = drop_column(d, t);
        else if (sp_accept_keyword(&d->p, "SYNONYM"))
            code = drop_synonym(d, t);
        else if (sp_accept_keyword(&d->p, "CONSTRAINT"))
            code = drop_constraint(d, t);
        else if (sp_accept_keyword(&d->p, "ROW")) {
            code = sp_expect_keyword(&d->p, "DELETION") || sp_expect_keyword(&d->p, "POLICY")
                       ? d->st->code
                   : !t->row_deletion_policy
                       ? fail(d, EM_INVALID_ARGUMENT,
                              "ROW DELETION POLICY does not exist on table %s.", t->name)
                       : (t->row_deletion_policy = t->ttl_column = NULL, EM_OK);
        } else
            code = sp_syntax_error(&d->p);
    } else if (sp_accept_keyword(&d->p, "ALTER")) {
        code = sp_expect_keyword(&d->p, "COLUMN") ? d->st->code : alter_column(d, t);
    } else if (sp_accept_keyword(&d->p, "REPLACE")) {
        code = sp_expect_keyword(&d->p, "ROW") || sp_expect_keyword(&d->p, "DELETION") ||
                       sp_expect_keyword(&d->p, "POLICY")
                   ? d->st->code
                   : row_deletion_policy(d, t);
    } else if (sp_accept_keyword(&d->p, "SET")) {
        if (!t->parent)
            return fail(d, EM_INVALID_ARGUMENT,
                        "Cannot SET ON DELETE on table %s that does not have an INTERLEAVE "
                        "clause.",
                        t->name);
        code = sp_expect_keyword(&d->p, "ON") || sp_expect_keyword(&d->p, "DELETE") ? d->st->code
               : sp_accept_keyword(&d->p, "CASCADE") ? (t->cascade = true, EM_OK)
               : sp_accept_keyword(&d->p, "NO") && !sp_expect_keyword(&d->p, "ACTION")
                   ? (t->cascade = false, EM_OK)
                   : (d->st->code ? d->st->code : sp_syntax_error(&d->p));
    } else {
        code = verb->kind == SP_TOK_EOF ? sp_syntax_error(&d->p)
                                        : sp_unsupported(&d->p, verb, "This ALTER TABLE action");
    }
    if (code)
        return code;
    if (sp_peek(&d->p)->kind != SP_TOK_EOF)
        return sp_syntax_error(&d->p);
    regenerate_start(d);
    replace_table(d->schema, old, t);
    return EM_OK;
}

/* ---- dispatch ---- */

/* STREAM name ..., after CREATE CHANGE (the rest: spanner_change_streams.c) */
static enum em_code create_change_stream(struct ddl *d)
{
    const char *name;
    if (sp_expect_keyword(&d->p, "STREAM") || identifier(d, "change stream name", &name))
        return d->st->code;
    if (name_taken(d->schema, name))
        return fail(d, EM_FAILED_PRECONDITION, "Duplicate name in schema: %s.", name);
    return sp_change_stream_create(&d->p, d->schema, name, d->st);
}

static enum em_code create(struct ddl *d)
{
    bool unique = false, null_filtered = false, or_replace = false;
    if (sp_accept_keyword(&d->p, "OR")) {
        if (sp_expect_keyword(&d->p, "REPLACE"))
            return d->st->code;
        or_replace = true;
    }
    if (!or_replace && sp_accept_keyword(&d->p, "TABLE"))
        return create_table(d);
    unique = !or_replace && sp_accept_keyword(&d->p, "UNIQUE");
    null_filtered = !or_replace && sp_accept_keyword(&d->p, "NULL_FILTERED");
    if (!or_replace && sp_accept_keyword(&d->p, "INDEX"))
        return create_index(d, unique, null_filtered);
    if (!unique && !null_filtered && sp_accept_keyword(&d->p, "VIEW"))
        return create_view(d, or_replace);
    if (!or_replace && !unique && !null_filtered && sp_accept_keyword(&d->p, "SEQUENCE"))
        return create_sequence(d);
    if (!or_replace && !unique && !null_filtered && sp_accept_keyword(&d->p, "CHANGE"))
        return create_change_stream(d);
    if (!or_replace && !unique && !null_filtered && sp_accept_keyword(&d->p, "SCHEMA"))
        return create_schema(d);
    if (!or_replace && !unique && !null_filtered && sp_accept_keyword(&d->p, "ROLE"))
        return sp_role_create(&d->p, d->schema, d->st);
    const struct sp_token *tok = sp_peek(&d->p);
    if (tok->kind == SP_TOK_IDENT && !unique && !null_filtered) {
        char what[96];
        snprintf(what, sizeof(what), "CREATE %s", tok->value);
        return sp_unsupported(&d->p, tok, what);
    }
    return sp_syntax_error(&d->p);
}

/* --- ALTER DATABASE --- */

/* A database ID as Spanner allows it: a lowercase letter, then lowercase letters, digits,
 * '_' and '-', 2 to 30 characters, not ending with '_' or '-'. */
static bool database_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 2 || n > 30 || !islower((unsigned char)id[0]) || id[n - 1] == '_' || id[n - 1] == '-')
        return false;
    for (const char *c = id; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    return true;
}

/* version_retention_period = '<period>' | NULL (back to the default) */
static enum em_code version_retention_option(struct ddl *d)
{
    if (sp_accept_keyword(&d->p, "NULL")) {
        d->schema->version_retention = NULL;
        d->schema->version_retention_ns = 0;
        return EM_OK;
    }
    const struct sp_token *value = sp_peek(&d->p);
    if (value->kind != SP_TOK_STRING)
        return fail(d, EM_INVALID_ARGUMENT,
                    "Unexpected value for option: version_retention_period. Supported values "
                    "are non-empty strings only.");
    int64_t ns;
    if (!sp_retention_parse(value->value, &ns))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid version_retention_period: '%.64s'. It is a whole number of "
                    "seconds, minutes, hours or days ('86400s', '1440m', '24h', '1d') between "
                    "1 hour and 7 days.",
                    value->value);
    sp_next(&d->p);
    d->schema->version_retention = keep(d, value->value);
    d->schema->version_retention_ns = ns;
    return d->schema->version_retention ? EM_OK : d->st->code;
}

/* Unsetting default_sequence_kind while a sequence or identity column was written without
 * a kind is refused: its DDL would no longer apply (at a restart, or a restore). */
static enum em_code kind_still_needed(struct ddl *d)
{
    const struct sp_schema *s = d->schema;
    const char *user = NULL;
    for (int i = 0; !user && i < s->nsequences; i++)
        if (s->sequences[i]->no_kind)
            user = s->sequences[i]->name;
    for (int i = 0; !user && i < s->ntables; i++)
        for (int k = 0; !user && k < s->tables[i]->ncolumns; k++)
            if (s->tables[i]->columns[k].identity && s->tables[i]->columns[k].identity->no_kind)
                user = s->tables[i]->columns[k].name;
    if (!user)
        return EM_OK;
    return fail(d, EM_FAILED_PRECONDITION,
                "Cannot unset the database option `default_sequence_kind`: %s takes its sequence "
                "kind from it.",
                user);
}

/* ALTER DATABASE id SET OPTIONS (version_retention_period = ...). The other database
 * options (optimizer_version, default_leader, ...) are UNIMPLEMENTED, naming the option. */
static enum em_code alter_database(struct ddl *d)
{
    const char *id;
    if (sp_expect_keyword(&d->p, "DATABASE") || sp_expect_identifier(&d->p, "database ID", &id))
        return d->st->code;
    if (!database_id_ok(id))
        return fail(d, EM_INVALID_ARGUMENT,
                    "Invalid database ID %.64s in ALTER DATABASE: a database ID is a lowercase "
                    "letter, then lowercase letters, digits, '_' and '-' (2 to 30 characters); "
                    "write it in backquotes when it has a '-'.",
                    id);
    if (sp_expect_keyword(&d->p, "SET") || sp_expect_keyword(&d->p, "OPTIONS") ||
        sp_expect_op(&d->p, "("))
        return d->st->code;
    do {
        const struct sp_token *name_token = sp_peek(&d->p);
        const char *name;
        if (sp_expect_identifier(&d->p, "option name", &name) || sp_expect_op(&d->p, "="))
            return d->st->code;
        if (strcasecmp(name, "version_retention_period") == 0) {
            if (version_retention_option(d))
                return d->st->code;
        } else if (strcasecmp(name, "default_sequence_kind") == 0) {
            d->schema->default_sequence_kind = !sp_accept_keyword(&d->p, "NULL");
            if (d->schema->default_sequence_kind ? sequence_kind(d) : kind_still_needed(d))
                return d->st->code;
        } else if (strcasecmp(name, "optimizer_version") == 0 ||
                   strcasecmp(name, "optimizer_statistics_package") == 0 ||
                   strcasecmp(name, "default_leader") == 0 ||
                   strcasecmp(name, "enable_key_visualizer") == 0 ||
                   strcasecmp(name, "default_time_zone") == 0) {
            char what[96];
            snprintf(what, sizeof(what), "The database option %s", name);
            return sp_unsupported(&d->p, name_token, what);
        } else {
            return fail(d, EM_INVALID_ARGUMENT, "Option: %.64s is unknown.", name);
        }
    } while (sp_accept_op(&d->p, ","));
    if (sp_expect_op(&d->p, ")"))
        return d->st->code;
    d->schema->options_database =
        d->schema->version_retention || d->schema->default_sequence_kind ? keep(d, id) : NULL;
    return d->st->code;
}

static enum em_code apply(struct sp_schema *schema, const char *statement, bool stored,
                          struct sp_buf *sqlite_out, struct em_status *st)
{
    struct sp_arena scratch = {0};
    struct ddl d = {schema, {0}, sqlite_out, st, stored};
    size_t out_len = sqlite_out->len;
    enum em_code code = sp_parser_init(&d.p, &scratch, statement, st);
    if (!code) {
        /* a trailing ';' is harmless */
        if (d.p.tokens.count >= 2 && sp_token_is_op(&d.p.tokens.items[d.p.tokens.count - 2], ";")) {
            d.p.tokens.items[d.p.tokens.count - 2] = d.p.tokens.items[d.p.tokens.count - 1];
            d.p.tokens.count--;
        }
        const struct sp_token *verb = sp_peek(&d.p);
        if (sp_accept_keyword(&d.p, "CREATE"))
            code = create(&d);
        else if (sp_accept_keyword(&d.p, "DROP"))
            code = drop(&d);
        else if (sp_accept_keyword(&d.p, "ALTER"))
            code = sp_token_is_keyword(sp_peek(&d.p), "TABLE")      ? alter_table(&d)
                   : sp_token_is_keyword(sp_peek(&d.p), "DATABASE") ? alter_database(&d)
                   : sp_token_is_keyword(sp_peek(&d.p), "SEQUENCE") ? alter_sequence(&d)
                   : sp_token_is_keyword(sp_peek(&d.p), "INDEX")    ? alter_index(&d)
                   : sp_accept_keyword(&d.p, "CHANGE")
                       ? (sp_expect_keyword(&d.p, "STREAM")
                              ? d.st->code
                              : sp_change_stream_alter(&d.p, d.schema, d.st))
                       : alter_elsewhere(&d);
        else if (sp_accept_keyword(&d.p, "GRANT") || sp_accept_keyword(&d.p, "REVOKE"))
            code = sp_role_grant(&d.p, d.schema, sp_token_is_keyword(verb, "REVOKE"), d.st);
        else if (sp_accept_keyword(&d.p, "ANALYZE")) /* new optimizer statistics: SQLite's */
            code = (sp_buf_puts(d.out, "ANALYZE;\n"), EM_OK);
        else if (sp_token_is_keyword(verb, "RENAME") &&
                 sp_token_is_keyword(sp_peek_at(&d.p, 1), "TABLE"))
            code = (d.p.pos += 2, regenerate_start(&d), rename_tables(&d, NULL));
        else /* no other word starts a Spanner DDL statement */
            code = sp_syntax_error(&d.p);
    }
    if (!code && d.p.tokens.count && sp_peek(&d.p)->kind != SP_TOK_EOF)
        code = sp_syntax_error(&d.p);
    if (!code)
        code = sp_schema_sqlite_triggers(schema, sqlite_out, st);
    if (!code && (sqlite_out->failed || schema->arena.failed))
        code = EM_FAIL_OOM(st);
    if (code && !sqlite_out->failed && sqlite_out->data) {
        sqlite_out->len = out_len; /* nothing of a failed statement is run */
        sqlite_out->data[out_len] = '\0';
    }
    sp_arena_free(&scratch);
    return code;
}

enum em_code sp_ddl_apply(struct sp_schema *schema, const char *statement,
                          struct sp_buf *sqlite_out, struct em_status *st)
{
    return apply(schema, statement, false, sqlite_out, st);
}

enum em_code sp_ddl_replay(struct sp_schema *schema, const char *statement,
                           struct sp_buf *sqlite_out, struct em_status *st)
{
    return apply(schema, statement, true, sqlite_out, st);
}
