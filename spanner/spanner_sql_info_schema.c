/*
 * spanner_sql_info_schema: INFORMATION_SCHEMA's views as SQLite VALUES lists built from
 * the schema model (see spanner_sql_info_schema.h). Each view is a list of columns (name
 * and type, in Spanner's order) and a function that writes its rows, one value at a time,
 * through struct rows.
 */
#include "spanner_sql_info_schema.h"

#include "spanner_roles.h"
#include "spanner_sql_ast.h"
#include "spanner_sql_lexer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The VALUES list being written: values go in row by row, ncols per row. role: the
 * database role whose view of the schema the rows are (NULL: everything). */
struct rows {
    struct sp_buf sql;
    int ncols, col, nrows;
    const struct sp_schema *schema;
    const char *role;
};

/* Whether the rows show an object (column NULL) or a column of a table: a role without
 * spanner_info_reader sees what it has privileges on. */
static bool shown(const struct rows *r, enum sp_grant_object on, const char *object,
                  const char *column)
{
    return !r->role || sp_role_sees(r->schema, r->role, on, object, column);
}

/* Whether the rows show what concerns this role (a grantee): a role sees its own roles. */
static bool role_shown(const struct rows *r, const char *role)
{
    return !r->role || sp_role_has(r->schema, r->role, role);
}

static void next_value(struct rows *r)
{
    if (r->col == r->ncols)
        r->col = 0;
    sp_buf_puts(&r->sql, r->col ? ", " : r->nrows ? "), (" : "VALUES (");
    if (r->col == 0)
        r->nrows++;
    r->col++;
}

static void put_text(struct rows *r, const char *text)
{
    next_value(r);
    if (text)
        sp_buf_string(&r->sql, text, strlen(text));
    else
        sp_buf_puts(&r->sql, "NULL");
}

static void put_int(struct rows *r, long long value)
{
    next_value(r);
    sp_buf_printf(&r->sql, "%lld", value);
}

static void put_null(struct rows *r)
{
    next_value(r);
    sp_buf_puts(&r->sql, "NULL");
}

static void put_bool(struct rows *r, bool value)
{
    next_value(r);
    sp_buf_puts(&r->sql, value ? "1" : "0");
}

static void put_type(struct rows *r, const struct sp_type *type)
{
    char text[64];
    sp_type_format(type, true, text, sizeof(text));
    put_text(r, text);
}

/* An object's name without its named schema (T of sch.T). */
static const char *base_name(const char *name)
{
    return name ? sp_name_without_schema(name) : NULL;
}

/* A catalog (''), a schema ('' for the default one, sch for sch.T) and a name (T): how
 * the rows below name tables, sequences and change streams. */
static void put_qualified(struct rows *r, const char *name)
{
    const char *base = base_name(name);
    char schema[300] = "";
    if (name && base > name)
        snprintf(schema, sizeof(schema), "%.*s", (int)(base - name - 1), name);
    put_text(r, "");
    put_text(r, schema);
    put_text(r, base);
}

static void put_table(struct rows *r, const char *table)
{
    put_qualified(r, table);
}

/* ---- the views' rows ---- */

static void schemata_row(struct rows *r, const char *name)
{
    put_text(r, "");
    put_text(r, name);
    put_int(r, 0);
    put_text(r, "");
}

static void schemata_rows(const struct sp_schema *schema, struct rows *r)
{
    static const char *const names[] = {"", "INFORMATION_SCHEMA", "SPANNER_SYS"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        schemata_row(r, names[i]);
    for (int i = 0; i < schema->nnamed_schemas; i++)
        schemata_row(r, schema->named_schemas[i]);
}

/* INFORMATION_SCHEMA's own views, as TABLES and COLUMNS list them (after the views below) */
static void info_schema_tables_rows(struct rows *r);
static void info_schema_columns_rows(struct rows *r);

static void tables_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        if (!shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        put_table(r, t->name);
        put_text(r, base_name(t->parent));
        put_text(r, t->parent ? (t->cascade ? "CASCADE" : "NO ACTION") : NULL);
        put_text(r, "BASE TABLE");
        put_text(r, "COMMITTED");
        put_text(r, t->parent ? "IN PARENT" : NULL);
        put_text(r, t->row_deletion_policy);
    }
    for (int i = 0; i < schema->nviews; i++) {
        if (!shown(r, SP_ON_VIEW, schema->views[i]->name, NULL))
            continue;
        put_table(r, schema->views[i]->name);
        put_null(r);
        put_null(r);
        put_text(r, "VIEW");
        put_null(r);
        put_null(r);
        put_null(r);
    }
    info_schema_tables_rows(r);
}

/* IS_IDENTITY and the identity column's details (its INT64 options as strings) */
static void identity_fields(struct rows *r, const struct sp_sequence *q)
{
    char value[32];
    put_text(r, q ? "YES" : "NO");
    put_text(r, q ? "BY DEFAULT" : NULL);
    put_text(r, q ? "BIT_REVERSED_POSITIVE_SEQUENCE" : NULL);
    if (q && q->start_with_counter) {
        snprintf(value, sizeof(value), "%lld", (long long)q->start_with_counter);
        put_text(r, value);
    } else {
        put_null(r);
    }
    for (int k = 0; k < 2; k++) {
        if (q && q->has_skip) {
            snprintf(value, sizeof(value), "%lld", (long long)(k ? q->skip_max : q->skip_min));
            put_text(r, value);
        } else {
            put_null(r);
        }
    }
}

/* One COLUMNS row; the fields that do not apply to a view column are NULL there. */
static void column_row(struct rows *r, const char *table, const char *name, int position,
                       const struct sp_column *c, const struct sp_type *type)
{
    put_table(r, table);
    put_text(r, name);
    put_int(r, position);
    put_text(r, c ? c->default_text : NULL);
    put_null(r); /* DATA_TYPE: PostgreSQL databases only */
    put_text(r, c && c->not_null ? "NO" : "YES");
    if (c && c->vector_length) { /* SPANNER_TYPE: ARRAY<FLOAT32>(vector_length=>n) */
        char text[96];
        size_t len;
        sp_type_format(type, true, text, sizeof(text));
        len = strlen(text);
        snprintf(text + len, sizeof(text) - len, "(vector_length=>%d)", c->vector_length);
        put_text(r, text);
    } else {
        put_type(r, type);
    }
    put_text(r, c && c->generated_text ? "ALWAYS" : "NEVER");
    put_text(r, c ? c->generated_text : NULL);
    put_text(r, c && c->generated_text ? (c->generated_virtual ? "NO" : "YES") : NULL);
    put_text(r, "COMMITTED");
    identity_fields(r, c ? c->identity : NULL);
}

static void columns_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        for (int k = 0; k < t->ncolumns; k++)
            if (shown(r, SP_ON_TABLE, t->name, t->columns[k].name))
                column_row(r, t->name, t->columns[k].name, k + 1, &t->columns[k],
                           &t->columns[k].type);
    }
    for (int i = 0; i < schema->nviews; i++) {
        if (!shown(r, SP_ON_VIEW, schema->views[i]->name, NULL))
            continue;
        char query[300];
        struct em_status st = {0};
        struct sp_translation *tr;
        snprintf(query, sizeof(query), "SELECT * FROM `%s`", schema->views[i]->name);
        if (sp_translate(schema, query, NULL, 0, &tr, &st))
            continue; /* a view that no longer translates describes no column */
        for (int k = 0; k < tr->ncolumns; k++)
            column_row(r, schema->views[i]->name, tr->columns[k].name, k + 1, NULL,
                       &tr->columns[k].type);
        sp_translation_free(tr);
    }
    info_schema_columns_rows(r);
}

static void index_row(struct rows *r, const char *table, const char *name, bool primary,
                      bool unique, bool null_filtered, const char *parent)
{
    put_table(r, table);
    put_text(r, base_name(name));
    put_text(r, primary ? "PRIMARY_KEY" : "INDEX");
    put_text(r, parent ? base_name(parent) : "");
    put_bool(r, unique);
    put_bool(r, null_filtered);
    put_text(r, primary ? NULL : "READ_WRITE");
    put_bool(r, false); /* SPANNER_IS_MANAGED */
}

static void indexes_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++)
        if (shown(r, SP_ON_TABLE, schema->tables[i]->name, NULL))
            index_row(r, schema->tables[i]->name, "PRIMARY_KEY", true, true, false, NULL);
    for (int i = 0; i < schema->nindexes; i++) {
        const struct sp_index *x = schema->indexes[i];
        if (shown(r, SP_ON_TABLE, x->table, NULL))
            index_row(r, x->table, x->name, false, x->unique, x->null_filtered, x->interleave_in);
    }
}

/* One INDEX_COLUMNS row: a key part (position > 0, ASC/DESC) or a STORING column (0). */
static void index_column_row(struct rows *r, const struct sp_table *table, const char *index,
                             bool primary, const char *column, int position, bool desc,
                             bool null_filtered)
{
    const struct sp_column *c = sp_table_column(table, column);
    put_table(r, table->name);
    put_text(r, base_name(index));
    put_text(r, primary ? "PRIMARY_KEY" : "INDEX");
    put_text(r, c ? c->name : column);
    if (position)
        put_int(r, position);
    else
        put_null(r);
    put_text(r, position ? (desc ? "DESC" : "ASC") : NULL);
    put_text(r, (c && c->not_null) || (position && null_filtered) ? "NO" : "YES");
    if (c)
        put_type(r, &c->type);
    else
        put_null(r);
}

static void index_columns_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        for (int k = 0; k < t->nkey && shown(r, SP_ON_TABLE, t->name, NULL); k++)
            index_column_row(r, t, "PRIMARY_KEY", true, t->key[k].column, k + 1, t->key[k].desc,
                             false);
    }
    for (int i = 0; i < schema->nindexes; i++) {
        const struct sp_index *x = schema->indexes[i];
        const struct sp_table *t = sp_schema_table(schema, x->table);
        if (!t || !shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        for (int k = 0; k < x->nkey; k++)
            index_column_row(r, t, x->name, false, x->key[k].column, k + 1, x->key[k].desc,
                             x->null_filtered);
        for (int k = 0; k < x->nstoring; k++)
            index_column_row(r, t, x->name, false, x->storing[k], 0, false, false);
    }
}

/* A constraint's catalog (''), schema (its table's) and name. */
static void put_constraint(struct rows *r, const char *table, const char *name)
{
    const char *base = base_name(table);
    char schema[300] = "";
    if (table && base > table)
        snprintf(schema, sizeof(schema), "%.*s", (int)(base - table - 1), table);
    put_text(r, "");
    put_text(r, schema);
    put_text(r, name);
}

/* The name Spanner gives column k's NOT NULL: CK_IS_NOT_NULL_<table>_<column>. */
static void not_null_name(const struct sp_table *t, int k, char *out, size_t size)
{
    snprintf(out, size, "CK_IS_NOT_NULL_%s_%s", base_name(t->name), t->columns[k].name);
}

/* A constraint named in its table's schema (PK_T for sch.T: CONSTRAINT_SCHEMA sch). */
static void constraint_row(struct rows *r, const char *name, const char *table, const char *type)
{
    put_constraint(r, table, name);
    put_table(r, table);
    put_text(r, type);
    put_text(r, "NO");
    put_text(r, "NO");
    put_text(r, "YES");
}

static void table_constraints_rows(const struct sp_schema *schema, struct rows *r)
{
    char name[300];
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        if (!shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        snprintf(name, sizeof(name), "PK_%s", base_name(t->name));
        constraint_row(r, name, t->name, "PRIMARY KEY");
        for (int k = 0; k < t->ncolumns; k++) {
            if (!t->columns[k].not_null)
                continue;
            not_null_name(t, k, name, sizeof(name));
            constraint_row(r, name, t->name, "CHECK");
        }
        for (int k = 0; k < t->nchecks; k++)
            if (t->checks[k].name)
                constraint_row(r, t->checks[k].name, t->name, "CHECK");
        for (int k = 0; k < t->nfks; k++)
            if (t->fks[k].name)
                constraint_row(r, t->fks[k].name, t->name, "FOREIGN KEY");
    }
}

/* CHECK_CONSTRAINTS: the named CHECKs and the NOT NULLs Spanner names CK_IS_NOT_NULL_. */
static void check_constraints_rows(const struct sp_schema *schema, struct rows *r)
{
    char name[300], clause[300];
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        if (!shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        for (int k = 0; k < t->ncolumns; k++) {
            if (!t->columns[k].not_null)
                continue;
            not_null_name(t, k, name, sizeof(name));
            snprintf(clause, sizeof(clause), "%s IS NOT NULL", t->columns[k].name);
            put_constraint(r, t->name, name);
            put_text(r, clause);
            put_text(r, "COMMITTED");
        }
        for (int k = 0; k < t->nchecks; k++) {
            if (!t->checks[k].name)
                continue;
            put_constraint(r, t->name, t->checks[k].name);
            put_text(r, t->checks[k].text);
            put_text(r, "COMMITTED");
        }
    }
}

/* Whether columns are table's primary key, in order. */
static bool is_primary_key(const struct sp_table *table, const char **columns, int n)
{
    if (!table || table->nkey != n)
        return false;
    for (int k = 0; k < n; k++)
        if (strcasecmp(table->key[k].column, columns[k]) != 0)
            return false;
    return true;
}

/* REFERENTIAL_CONSTRAINTS: the named foreign keys, with the referenced table's primary key
 * as their unique constraint. */
static void referential_constraints_rows(const struct sp_schema *schema, struct rows *r)
{
    char unique[300];
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        for (int k = 0; t && k < t->nfks && shown(r, SP_ON_TABLE, t->name, NULL); k++) {
            const struct sp_foreign_key *fk = &t->fks[k];
            if (!fk->name)
                continue;
            const struct sp_table *ref = sp_schema_table(schema, fk->ref_table);
            snprintf(unique, sizeof(unique), "PK_%s", base_name(fk->ref_table));
            put_constraint(r, t->name, fk->name);
            put_constraint(r, fk->ref_table,
                           is_primary_key(ref, fk->ref_columns, fk->ncolumns) ? unique : NULL);
            put_text(r, "SIMPLE");
            put_text(r, "NO ACTION");
            put_text(r, fk->cascade ? "CASCADE" : "NO ACTION");
            put_text(r, "COMMITTED");
        }
    }
}

/* KEY_COLUMN_USAGE: the columns of each primary key and of each named foreign key. */
static void key_column_usage_rows(const struct sp_schema *schema, struct rows *r)
{
    char name[300];
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        if (!shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        snprintf(name, sizeof(name), "PK_%s", base_name(t->name));
        for (int k = 0; k < t->nkey; k++) {
            put_constraint(r, t->name, name);
            put_table(r, t->name);
            put_text(r, t->key[k].column);
            put_int(r, k + 1);
            put_text(r, NULL);
        }
        for (int k = 0; k < t->nfks; k++) {
            const struct sp_foreign_key *fk = &t->fks[k];
            for (int c = 0; fk->name && c < fk->ncolumns; c++) {
                put_constraint(r, t->name, fk->name);
                put_table(r, t->name);
                put_text(r, fk->columns[c]);
                put_int(r, c + 1);
                put_int(r, c + 1);
            }
        }
    }
}

static void sequences_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nsequences; i++) {
        if (!shown(r, SP_ON_SEQUENCE, schema->sequences[i]->name, NULL))
            continue;
        put_qualified(r, schema->sequences[i]->name);
        put_text(r, "INT64");
    }
}

static void sequence_option_row(struct rows *r, const char *sequence, const char *option,
                                const char *type, const char *value)
{
    put_qualified(r, sequence);
    put_text(r, option);
    put_text(r, type);
    put_text(r, value);
}

static void sequence_options_rows(const struct sp_schema *schema, struct rows *r)
{
    char value[32];
    for (int i = 0; i < schema->nsequences; i++) {
        const struct sp_sequence *q = schema->sequences[i];
        if (!shown(r, SP_ON_SEQUENCE, q->name, NULL))
            continue;
        sequence_option_row(r, q->name, "sequence_kind", "STRING", "bit_reversed_positive");
        if (q->has_skip) {
            snprintf(value, sizeof(value), "%lld", (long long)q->skip_min);
            sequence_option_row(r, q->name, "skip_range_min", "INT64", value);
            snprintf(value, sizeof(value), "%lld", (long long)q->skip_max);
            sequence_option_row(r, q->name, "skip_range_max", "INT64", value);
        }
        if (q->start_with_counter) {
            snprintf(value, sizeof(value), "%lld", (long long)q->start_with_counter);
            sequence_option_row(r, q->name, "start_with_counter", "INT64", value);
        }
    }
}

/* VIEWS: each view's query as written and its SQL SECURITY. */
static void views_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nviews; i++) {
        const struct sp_view *v = schema->views[i];
        if (!shown(r, SP_ON_VIEW, v->name, NULL))
            continue;
        put_table(r, v->name);
        put_text(r, v->text);
        put_text(r, v->definer ? "DEFINER" : "INVOKER");
    }
}

/* COLUMN_OPTIONS: the columns that allow commit timestamps (the one column option). */
static void column_options_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        for (int k = 0; k < t->ncolumns; k++) {
            if (!t->columns[k].allow_commit_timestamp ||
                !shown(r, SP_ON_TABLE, t->name, t->columns[k].name))
                continue;
            put_table(r, t->name);
            put_text(r, t->columns[k].name);
            put_text(r, "allow_commit_timestamp");
            put_text(r, "BOOL");
            put_text(r, "TRUE");
        }
    }
}

/* The columns of table an expression of it (a CHECK, a generated column) names: its
 * identifiers that are not called as functions, matched to the table's columns
 * (each once, in the table's order, into used: ncolumns entries). */
static void columns_named(const struct sp_table *t, const char *expression, bool *used)
{
    struct sp_arena arena = {0};
    struct sp_tokens tokens = {0};
    struct em_status st = {0};
    memset(used, 0, (size_t)t->ncolumns * sizeof(*used));
    if (expression && sp_lex(&arena, expression, &tokens, &st) == EM_OK) {
        for (size_t i = 0; i + 1 < tokens.count; i++) {
            const struct sp_token *tok = &tokens.items[i];
            if ((tok->kind != SP_TOK_IDENT && tok->kind != SP_TOK_QUOTED_IDENT) ||
                sp_token_is_op(&tokens.items[i + 1], "("))
                continue;
            int k = sp_table_column_index(t, tok->value);
            if (k >= 0)
                used[k] = true;
        }
    }
    sp_arena_free(&arena);
}

/* A row naming a table and a constraint (CONSTRAINT_TABLE_USAGE), or a column of the table
 * and a constraint (CONSTRAINT_COLUMN_USAGE: column non-NULL). */
static void constraint_usage_row(struct rows *r, const char *table, const char *column,
                                 const char *constraint_table, const char *constraint)
{
    put_table(r, table);
    if (column)
        put_text(r, column);
    put_constraint(r, constraint_table, constraint);
}

/* The constraints of table t that use columns (NULL: report the table itself), as
 * CONSTRAINT_TABLE_USAGE and CONSTRAINT_COLUMN_USAGE list them: its primary key, NOT NULLs
 * and named CHECKs on t; a named foreign key on the table and columns it references. */
static void constraint_usage_rows(const struct sp_schema *schema, struct rows *r, bool columns)
{
    char name[300];
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        if (!shown(r, SP_ON_TABLE, t->name, NULL))
            continue;
        snprintf(name, sizeof(name), "PK_%s", base_name(t->name));
        for (int k = 0; k < (columns ? t->nkey : 1); k++)
            constraint_usage_row(r, t->name, columns ? t->key[k].column : NULL, t->name, name);
        for (int k = 0; k < t->ncolumns; k++) {
            if (!t->columns[k].not_null)
                continue;
            not_null_name(t, k, name, sizeof(name));
            constraint_usage_row(r, t->name, columns ? t->columns[k].name : NULL, t->name, name);
        }
        bool *used = calloc((size_t)t->ncolumns + 1, sizeof(*used));
        for (int k = 0; used && k < t->nchecks; k++) {
            if (!t->checks[k].name)
                continue;
            if (!columns) {
                constraint_usage_row(r, t->name, NULL, t->name, t->checks[k].name);
                continue;
            }
            columns_named(t, t->checks[k].text, used);
            for (int c = 0; c < t->ncolumns; c++)
                if (used[c])
                    constraint_usage_row(r, t->name, t->columns[c].name, t->name,
                                         t->checks[k].name);
        }
        free(used);
        for (int k = 0; k < t->nfks; k++) {
            const struct sp_foreign_key *fk = &t->fks[k];
            for (int c = 0; fk->name && c < (columns ? fk->ncolumns : 1); c++)
                constraint_usage_row(r, fk->ref_table, columns ? fk->ref_columns[c] : NULL, t->name,
                                     fk->name);
        }
    }
}

static void constraint_table_usage_rows(const struct sp_schema *schema, struct rows *r)
{
    constraint_usage_rows(schema, r, false);
}

static void constraint_column_usage_rows(const struct sp_schema *schema, struct rows *r)
{
    constraint_usage_rows(schema, r, true);
}

/* COLUMN_COLUMN_USAGE: the columns each generated column is computed from. */
static void column_column_usage_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        bool *used = calloc((size_t)t->ncolumns + 1, sizeof(*used));
        for (int k = 0; used && k < t->ncolumns; k++) {
            const struct sp_column *g = &t->columns[k];
            if (!g->generated_text || !shown(r, SP_ON_TABLE, t->name, g->name))
                continue;
            columns_named(t, g->generated_text, used);
            for (int c = 0; c < t->ncolumns; c++) {
                if (!used[c])
                    continue;
                put_table(r, t->name);
                put_text(r, t->columns[c].name);
                put_text(r, g->name);
            }
        }
        free(used);
    }
}

/* SPANNER_STATISTICS: the optimizer statistics packages; the emulator keeps none. */
static void spanner_statistics_rows(const struct sp_schema *schema, struct rows *r)
{
    (void)schema;
    (void)r;
}

/* The database's options: its dialect, which client libraries read to learn it (so every
 * role sees it). The options ALTER DATABASE sets are not listed, as in Google's emulator
 * of gcloud SDK 528 (what Spanner lists beside the dialect is not published). */
static void database_options_rows(const struct sp_schema *schema, struct rows *r)
{
    (void)schema;
    put_text(r, "");
    put_text(r, "");
    put_text(r, "database_dialect");
    put_text(r, "STRING");
    put_text(r, "GOOGLE_STANDARD_SQL");
}

static void put_name(struct rows *r, const char *name)
{
    put_qualified(r, name);
}

/* Change streams: only what their FOR clauses list, as Google's emulator shows them (a
 * FOR ALL stream has no CHANGE_STREAM_TABLES rows, a whole table no CHANGE_STREAM_COLUMNS
 * rows); options only those set. */
static void change_streams_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nchange_streams; i++) {
        if (!shown(r, SP_ON_CHANGE_STREAM, schema->change_streams[i]->name, NULL))
            continue;
        put_name(r, schema->change_streams[i]->name);
        put_bool(r, schema->change_streams[i]->for_all);
    }
}

static void change_stream_tables_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nchange_streams; i++) {
        const struct sp_change_stream *cs = schema->change_streams[i];
        for (int j = 0; j < cs->ntables && shown(r, SP_ON_CHANGE_STREAM, cs->name, NULL); j++) {
            put_name(r, cs->name);
            put_name(r, cs->tables[j].table);
            put_bool(r, cs->tables[j].all_columns);
        }
    }
}

static void change_stream_columns_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nchange_streams; i++) {
        const struct sp_change_stream *cs = schema->change_streams[i];
        for (int j = 0; j < cs->ntables && shown(r, SP_ON_CHANGE_STREAM, cs->name, NULL); j++) {
            for (int k = 0; k < cs->tables[j].ncolumns; k++) {
                put_name(r, cs->name);
                put_name(r, cs->tables[j].table);
                put_text(r, cs->tables[j].columns[k]);
            }
        }
    }
}

static void change_stream_options_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->nchange_streams; i++) {
        const struct sp_change_stream *cs = schema->change_streams[i];
        for (int k = 0; k < SP_CS_NOPTIONS; k++) {
            if (!cs->options[k] || !shown(r, SP_ON_CHANGE_STREAM, cs->name, NULL))
                continue;
            put_name(r, cs->name);
            put_text(r, sp_change_stream_option_names[k]);
            bool is_bool = k >= SP_CS_FIRST_BOOL;
            put_text(r, is_bool ? "BOOL" : "STRING");
            put_text(r, !is_bool                              ? cs->options[k]
                        : strcmp(cs->options[k], "true") == 0 ? "TRUE"
                                                              : "FALSE");
        }
    }
}

static void table_synonyms_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; i < schema->ntables; i++) {
        if (!schema->tables[i]->synonym || !shown(r, SP_ON_TABLE, schema->tables[i]->name, NULL))
            continue;
        put_name(r, schema->tables[i]->name);
        put_name(r, schema->tables[i]->synonym);
    }
}

/* Fine-grained access control: the roles (system roles first), who has which (GRANT ROLE),
 * and the privileges on tables and views, on columns, and on change streams. */
static void roles_rows(const struct sp_schema *schema, struct rows *r)
{
    for (size_t i = 0; i < sizeof(sp_system_roles) / sizeof(*sp_system_roles); i++)
        if (role_shown(r, sp_system_roles[i])) {
            put_text(r, sp_system_roles[i]);
            put_bool(r, true);
        }
    for (int i = 0; schema->acl && i < schema->acl->nroles; i++)
        if (role_shown(r, schema->acl->roles[i].name)) {
            put_text(r, schema->acl->roles[i].name);
            put_bool(r, false);
        }
}

static void role_grantees_rows(const struct sp_schema *schema, struct rows *r)
{
    for (int i = 0; schema->acl && i < schema->acl->nmembers; i++) {
        const struct sp_role_member *m = &schema->acl->members[i];
        if (!role_shown(r, m->member))
            continue;
        put_text(r, m->role);
        put_text(r, m->member);
    }
}

/* The grants on objects of kind on (TABLE covers views too), on columns or not. */
static void privilege_rows(const struct sp_schema *schema, struct rows *r, enum sp_grant_object on,
                           bool columns)
{
    for (int i = 0; schema->acl && i < schema->acl->ngrants; i++) {
        const struct sp_grant *g = &schema->acl->grants[i];
        bool kind = g->on == on || (on == SP_ON_TABLE && g->on == SP_ON_VIEW);
        if (!kind || (g->column != NULL) != columns || !role_shown(r, g->role))
            continue;
        put_qualified(r, g->object);
        if (columns)
            put_text(r, g->column);
        put_text(r, sp_privilege_name(g->privilege));
        put_text(r, g->role);
    }
}

static void table_privileges_rows(const struct sp_schema *schema, struct rows *r)
{
    privilege_rows(schema, r, SP_ON_TABLE, false);
}

static void column_privileges_rows(const struct sp_schema *schema, struct rows *r)
{
    privilege_rows(schema, r, SP_ON_TABLE, true);
}

static void change_stream_privileges_rows(const struct sp_schema *schema, struct rows *r)
{
    privilege_rows(schema, r, SP_ON_CHANGE_STREAM, false);
}

/* ---- the views ---- */

/* A view's column, as COLUMNS describes it: its type (STRING(length), STRING(MAX) when
 * length is 0) and whether it may be NULL. */
struct view_column {
    const char *name;
    enum sp_type_code code;
    bool nullable;
    int length;
};

#define S SP_TYPE_STRING
#define I SP_TYPE_INT64
#define B SP_TYPE_BOOL

static const struct view_column schemata_cols[] = {{"CATALOG_NAME", S},
                                                   {"SCHEMA_NAME", S},
                                                   {"EFFECTIVE_TIMESTAMP", I, true},
                                                   {"SCHEMA_OWNER", S, true}};

static const struct view_column tables_cols[] = {{"TABLE_CATALOG", S},
                                                 {"TABLE_SCHEMA", S},
                                                 {"TABLE_NAME", S},
                                                 {"PARENT_TABLE_NAME", S, true},
                                                 {"ON_DELETE_ACTION", S, true},
                                                 {"TABLE_TYPE", S, false, 32},
                                                 {"SPANNER_STATE", S, true},
                                                 {"INTERLEAVE_TYPE", S, true},
                                                 {"ROW_DELETION_POLICY_EXPRESSION", S, true}};

static const struct view_column columns_cols[] = {{"TABLE_CATALOG", S},
                                                  {"TABLE_SCHEMA", S},
                                                  {"TABLE_NAME", S},
                                                  {"COLUMN_NAME", S},
                                                  {"ORDINAL_POSITION", I},
                                                  {"COLUMN_DEFAULT", S, true},
                                                  {"DATA_TYPE", S, true},
                                                  {"IS_NULLABLE", S, true},
                                                  {"SPANNER_TYPE", S, true},
                                                  {"IS_GENERATED", S},
                                                  {"GENERATION_EXPRESSION", S, true},
                                                  {"IS_STORED", S, true},
                                                  {"SPANNER_STATE", S, true},
                                                  {"IS_IDENTITY", S, true},
                                                  {"IDENTITY_GENERATION", S, true},
                                                  {"IDENTITY_KIND", S, true},
                                                  {"IDENTITY_START_WITH_COUNTER", S, true},
                                                  {"IDENTITY_SKIP_RANGE_MIN", S, true},
                                                  {"IDENTITY_SKIP_RANGE_MAX", S, true}};

static const struct view_column indexes_cols[] = {
    {"TABLE_CATALOG", S},     {"TABLE_SCHEMA", S},     {"TABLE_NAME", S},
    {"INDEX_NAME", S},        {"INDEX_TYPE", S},       {"PARENT_TABLE_NAME", S},
    {"IS_UNIQUE", B},         {"IS_NULL_FILTERED", B}, {"INDEX_STATE", S, false, 100},
    {"SPANNER_IS_MANAGED", B}};

static const struct view_column index_columns_cols[] = {{"TABLE_CATALOG", S},
                                                        {"TABLE_SCHEMA", S},
                                                        {"TABLE_NAME", S},
                                                        {"INDEX_NAME", S},
                                                        {"INDEX_TYPE", S},
                                                        {"COLUMN_NAME", S},
                                                        {"ORDINAL_POSITION", I, true},
                                                        {"COLUMN_ORDERING", S, true},
                                                        {"IS_NULLABLE", S, true},
                                                        {"SPANNER_TYPE", S, true}};

static const struct view_column table_constraints_cols[] = {
    {"CONSTRAINT_CATALOG", S}, {"CONSTRAINT_SCHEMA", S},
    {"CONSTRAINT_NAME", S},    {"TABLE_CATALOG", S},
    {"TABLE_SCHEMA", S},       {"TABLE_NAME", S},
    {"CONSTRAINT_TYPE", S},    {"IS_DEFERRABLE", S},
    {"INITIALLY_DEFERRED", S}, {"ENFORCED", S}};

static const struct view_column check_constraints_cols[] = {{"CONSTRAINT_CATALOG", S},
                                                            {"CONSTRAINT_SCHEMA", S},
                                                            {"CONSTRAINT_NAME", S},
                                                            {"CHECK_CLAUSE", S},
                                                            {"SPANNER_STATE", S}};

static const struct view_column referential_constraints_cols[] = {
    {"CONSTRAINT_CATALOG", S},
    {"CONSTRAINT_SCHEMA", S},
    {"CONSTRAINT_NAME", S},
    {"UNIQUE_CONSTRAINT_CATALOG", S, true},
    {"UNIQUE_CONSTRAINT_SCHEMA", S, true},
    {"UNIQUE_CONSTRAINT_NAME", S, true},
    {"MATCH_OPTION", S},
    {"UPDATE_RULE", S},
    {"DELETE_RULE", S},
    {"SPANNER_STATE", S}};

static const struct view_column key_column_usage_cols[] = {
    {"CONSTRAINT_CATALOG", S},
    {"CONSTRAINT_SCHEMA", S},
    {"CONSTRAINT_NAME", S},
    {"TABLE_CATALOG", S},
    {"TABLE_SCHEMA", S},
    {"TABLE_NAME", S},
    {"COLUMN_NAME", S},
    {"ORDINAL_POSITION", I},
    {"POSITION_IN_UNIQUE_CONSTRAINT", I, true}};

static const struct view_column sequences_cols[] = {
    {"CATALOG", S}, {"SCHEMA", S}, {"NAME", S}, {"DATA_TYPE", S}};

static const struct view_column sequence_options_cols[] = {{"CATALOG", S},     {"SCHEMA", S},
                                                           {"NAME", S},        {"OPTION_NAME", S},
                                                           {"OPTION_TYPE", S}, {"OPTION_VALUE", S}};

static const struct view_column table_synonyms_cols[] = {
    {"TABLE_CATALOG", S},   {"TABLE_SCHEMA", S},   {"TABLE_NAME", S},
    {"SYNONYM_CATALOG", S}, {"SYNONYM_SCHEMA", S}, {"SYNONYM_TABLE_NAME", S}};

static const struct view_column views_cols[] = {{"TABLE_CATALOG", S},
                                                {"TABLE_SCHEMA", S},
                                                {"TABLE_NAME", S},
                                                {"VIEW_DEFINITION", S, true},
                                                {"SECURITY_TYPE", S}};

static const struct view_column column_options_cols[] = {
    {"TABLE_CATALOG", S}, {"TABLE_SCHEMA", S}, {"TABLE_NAME", S},  {"COLUMN_NAME", S},
    {"OPTION_NAME", S},   {"OPTION_TYPE", S},  {"OPTION_VALUE", S}};

static const struct view_column constraint_table_usage_cols[] = {
    {"TABLE_CATALOG", S},      {"TABLE_SCHEMA", S},      {"TABLE_NAME", S},
    {"CONSTRAINT_CATALOG", S}, {"CONSTRAINT_SCHEMA", S}, {"CONSTRAINT_NAME", S}};

static const struct view_column constraint_column_usage_cols[] = {
    {"TABLE_CATALOG", S},      {"TABLE_SCHEMA", S},      {"TABLE_NAME", S},     {"COLUMN_NAME", S},
    {"CONSTRAINT_CATALOG", S}, {"CONSTRAINT_SCHEMA", S}, {"CONSTRAINT_NAME", S}};

static const struct view_column column_column_usage_cols[] = {{"TABLE_CATALOG", S},
                                                              {"TABLE_SCHEMA", S},
                                                              {"TABLE_NAME", S},
                                                              {"COLUMN_NAME", S},
                                                              {"DEPENDENT_COLUMN", S}};

static const struct view_column spanner_statistics_cols[] = {
    {"CATALOG_NAME", S}, {"SCHEMA_NAME", S}, {"PACKAGE_NAME", S}, {"ALLOW_GC", B}};

static const struct view_column database_options_cols[] = {{"CATALOG_NAME", S},
                                                           {"SCHEMA_NAME", S},
                                                           {"OPTION_NAME", S},
                                                           {"OPTION_TYPE", S},
                                                           {"OPTION_VALUE", S}};

static const struct view_column change_streams_cols[] = {{"CHANGE_STREAM_CATALOG", S},
                                                         {"CHANGE_STREAM_SCHEMA", S},
                                                         {"CHANGE_STREAM_NAME", S},
                                                         {"ALL", B}};

static const struct view_column change_stream_tables_cols[] = {{"CHANGE_STREAM_CATALOG", S},
                                                               {"CHANGE_STREAM_SCHEMA", S},
                                                               {"CHANGE_STREAM_NAME", S},
                                                               {"TABLE_CATALOG", S},
                                                               {"TABLE_SCHEMA", S},
                                                               {"TABLE_NAME", S},
                                                               {"ALL_COLUMNS", B}};

static const struct view_column change_stream_columns_cols[] = {{"CHANGE_STREAM_CATALOG", S},
                                                                {"CHANGE_STREAM_SCHEMA", S},
                                                                {"CHANGE_STREAM_NAME", S},
                                                                {"TABLE_CATALOG", S},
                                                                {"TABLE_SCHEMA", S},
                                                                {"TABLE_NAME", S},
                                                                {"COLUMN_NAME", S}};

static const struct view_column change_stream_options_cols[] = {
    {"CHANGE_STREAM_CATALOG", S}, {"CHANGE_STREAM_SCHEMA", S}, {"CHANGE_STREAM_NAME", S},
    {"OPTION_NAME", S},           {"OPTION_TYPE", S},          {"OPTION_VALUE", S}};

static const struct view_column roles_cols[] = {{"ROLE_NAME", S}, {"IS_SYSTEM", B}};

static const struct view_column role_grantees_cols[] = {{"ROLE_NAME", S}, {"GRANTEE", S}};

static const struct view_column table_privileges_cols[] = {{"TABLE_CATALOG", S},
                                                           {"TABLE_SCHEMA", S},
                                                           {"TABLE_NAME", S},
                                                           {"PRIVILEGE_TYPE", S},
                                                           {"GRANTEE", S}};

static const struct view_column column_privileges_cols[] = {
    {"TABLE_CATALOG", S}, {"TABLE_SCHEMA", S},   {"TABLE_NAME", S},
    {"COLUMN_NAME", S},   {"PRIVILEGE_TYPE", S}, {"GRANTEE", S}};

static const struct view_column change_stream_privileges_cols[] = {{"CHANGE_STREAM_CATALOG", S},
                                                                   {"CHANGE_STREAM_SCHEMA", S},
                                                                   {"CHANGE_STREAM_NAME", S},
                                                                   {"PRIVILEGE_TYPE", S},
                                                                   {"GRANTEE", S}};

#undef S
#undef I
#undef B

#define VIEW(name, cols, rows)                                                                     \
    {                                                                                              \
        name, cols, sizeof(cols) / sizeof(cols[0]), rows, false                                    \
    }
/* a view whose rows describe INFORMATION_SCHEMA's views too (their keys and NOT NULLs) */
#define VIEW_ALSO(name, cols, rows)                                                                \
    {                                                                                              \
        name, cols, sizeof(cols) / sizeof(cols[0]), rows, true                                     \
    }

static const struct info_view {
    const char *name;
    const struct view_column *cols;
    size_t ncols;
    void (*rows)(const struct sp_schema *schema, struct rows *r);
    bool also_views;
} views[] = {
    VIEW("SCHEMATA", schemata_cols, schemata_rows),
    VIEW("DATABASE_OPTIONS", database_options_cols, database_options_rows),
    VIEW("VIEWS", views_cols, views_rows),
    VIEW("COLUMN_OPTIONS", column_options_cols, column_options_rows),
    VIEW_ALSO("CONSTRAINT_TABLE_USAGE", constraint_table_usage_cols, constraint_table_usage_rows),
    VIEW_ALSO("CONSTRAINT_COLUMN_USAGE", constraint_column_usage_cols,
              constraint_column_usage_rows),
    VIEW("COLUMN_COLUMN_USAGE", column_column_usage_cols, column_column_usage_rows),
    VIEW("SPANNER_STATISTICS", spanner_statistics_cols, spanner_statistics_rows),
    VIEW("TABLES", tables_cols, tables_rows),
    VIEW("COLUMNS", columns_cols, columns_rows),
    VIEW_ALSO("INDEXES", indexes_cols, indexes_rows),
    VIEW_ALSO("INDEX_COLUMNS", index_columns_cols, index_columns_rows),
    VIEW_ALSO("TABLE_CONSTRAINTS", table_constraints_cols, table_constraints_rows),
    VIEW_ALSO("CHECK_CONSTRAINTS", check_constraints_cols, check_constraints_rows),
    VIEW("REFERENTIAL_CONSTRAINTS", referential_constraints_cols, referential_constraints_rows),
    VIEW_ALSO("KEY_COLUMN_USAGE", key_column_usage_cols, key_column_usage_rows),
    VIEW("SEQUENCES", sequences_cols, sequences_rows),
    VIEW("SEQUENCE_OPTIONS", sequence_options_cols, sequence_options_rows),
    VIEW("TABLE_SYNONYMS", table_synonyms_cols, table_synonyms_rows),
    VIEW("CHANGE_STREAMS", change_streams_cols, change_streams_rows),
    VIEW("CHANGE_STREAM_TABLES", change_stream_tables_cols, change_stream_tables_rows),
    VIEW("CHANGE_STREAM_COLUMNS", change_stream_columns_cols, change_stream_columns_rows),
    VIEW("CHANGE_STREAM_OPTIONS", change_stream_options_cols, change_stream_options_rows),
    VIEW("ROLES", roles_cols, roles_rows),
    VIEW("ROLE_GRANTEES", role_grantees_cols, role_grantees_rows),
    VIEW("TABLE_PRIVILEGES", table_privileges_cols, table_privileges_rows),
    VIEW("COLUMN_PRIVILEGES", column_privileges_cols, column_privileges_rows),
    VIEW("CHANGE_STREAM_PRIVILEGES", change_stream_privileges_cols, change_stream_privileges_rows),
};

/* Each view is listed to every role (it may read them all), as a VIEW of the
 * INFORMATION_SCHEMA schema whose INTERLEAVE_TYPE is '' (as Google's emulator lists it). */
static void info_schema_tables_rows(struct rows *r)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        put_text(r, "");
        put_text(r, "INFORMATION_SCHEMA");
        put_text(r, views[i].name);
        put_null(r);
        put_null(r);
        put_text(r, "VIEW");
        put_null(r);
        put_text(r, "");
        put_null(r);
    }
}

static void info_schema_column_row(struct rows *r, const char *view, const struct view_column *c,
                                   int position)
{
    char type[32];
    if (c->code == SP_TYPE_STRING && c->length)
        snprintf(type, sizeof(type), "STRING(%d)", c->length);
    else
        snprintf(type, sizeof(type), "%s",
                 c->code == SP_TYPE_STRING  ? "STRING(MAX)"
                 : c->code == SP_TYPE_INT64 ? "INT64"
                                            : "BOOL");
    put_text(r, "");
    put_text(r, "INFORMATION_SCHEMA");
    put_text(r, view);
    put_text(r, c->name);
    put_int(r, position);
    put_null(r); /* COLUMN_DEFAULT */
    put_null(r); /* DATA_TYPE */
    put_text(r, c->nullable ? "YES" : "NO");
    put_text(r, type);
    put_text(r, "NEVER");
    put_null(r); /* GENERATION_EXPRESSION */
    put_null(r); /* IS_STORED */
    put_null(r); /* SPANNER_STATE */
    identity_fields(r, NULL);
}

static void info_schema_columns_rows(struct rows *r)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        for (size_t k = 0; k < views[i].ncols; k++)
            info_schema_column_row(r, views[i].name, &views[i].cols[k], (int)k + 1);
}

/* ---- INFORMATION_SCHEMA's own keys and NOT NULLs ---- */

#define NVIEWS (sizeof(views) / sizeof(views[0]))

/* The primary keys of the views, as Google's emulator lists them: their first nfirst
 * columns, or the columns named. The other views (roles, privileges, synonyms) have none
 * here, nor NOT NULL checks. */
static const char *const constraint_key[] = {"CONSTRAINT_CATALOG", "CONSTRAINT_SCHEMA",
                                             "CONSTRAINT_NAME", "COLUMN_NAME", NULL};
static const struct view_key {
    const char *view;
    int nfirst;
    const char *const *columns;
} view_keys[] = {
    {"SCHEMATA", 2, NULL},
    {"DATABASE_OPTIONS", 3, NULL},
    {"VIEWS", 3, NULL},
    {"COLUMN_OPTIONS", 5, NULL},
    {"CONSTRAINT_TABLE_USAGE", 6, NULL},
    {"CONSTRAINT_COLUMN_USAGE", 0, constraint_key},
    {"COLUMN_COLUMN_USAGE", 5, NULL},
    {"SPANNER_STATISTICS", 3, NULL},
    {"TABLES", 3, NULL},
    {"COLUMNS", 4, NULL},
    {"INDEXES", 5, NULL},
    {"INDEX_COLUMNS", 6, NULL},
    {"TABLE_CONSTRAINTS", 3, NULL},
    {"CHECK_CONSTRAINTS", 3, NULL},
    {"REFERENTIAL_CONSTRAINTS", 3, NULL},
    {"KEY_COLUMN_USAGE", 0, constraint_key},
    {"SEQUENCES", 3, NULL},
    {"SEQUENCE_OPTIONS", 4, NULL},
    {"CHANGE_STREAMS", 3, NULL},
    {"CHANGE_STREAM_TABLES", 6, NULL},
    {"CHANGE_STREAM_COLUMNS", 7, NULL},
    {"CHANGE_STREAM_OPTIONS", 4, NULL},
};

#define MODEL_COLUMNS 20
#define MODEL_KEY     8

/* The views with a key as tables of a schema of their own (named INFORMATION_SCHEMA.<view>),
 * built once: the row functions above describe them as they describe the user's tables. */
static struct {
    pthread_once_t once;
    struct sp_schema schema;
    struct sp_table *list[NVIEWS];
    struct sp_table tables[NVIEWS];
    struct sp_column columns[NVIEWS][MODEL_COLUMNS];
    struct sp_key_part key[NVIEWS][MODEL_KEY];
    char names[NVIEWS][64];
} model = {.once = PTHREAD_ONCE_INIT};

static const struct view_key *key_of(const char *view)
{
    for (size_t i = 0; i < sizeof(view_keys) / sizeof(view_keys[0]); i++)
        if (strcmp(view_keys[i].view, view) == 0)
            return &view_keys[i];
    return NULL;
}

static void model_view(const struct info_view *v, const struct view_key *key)
{
    int n = model.schema.ntables++;
    struct sp_table *t = &model.tables[n];
    snprintf(model.names[n], sizeof(model.names[n]), "INFORMATION_SCHEMA.%s", v->name);
    t->name = model.names[n];
    t->columns = model.columns[n];
    for (size_t k = 0; k < v->ncols && k < MODEL_COLUMNS; k++, t->ncolumns++) {
        const struct view_column *c = &v->cols[k];
        t->columns[k] = (struct sp_column){
            .name = c->name,
            .type = {c->code, SP_TYPE_UNKNOWN,
                     c->code == SP_TYPE_STRING ? (c->length ? c->length : SP_LEN_MAX) : 0},
            .not_null = !c->nullable};
    }
    t->key = model.key[n];
    for (int k = 0; k < MODEL_KEY && (key->columns ? key->columns[k] != NULL : k < key->nfirst);
         k++, t->nkey++)
        t->key[k].column = key->columns ? key->columns[k] : v->cols[k].name;
    model.list[n] = t;
}

static void build_model(void)
{
    model.schema.tables = model.list;
    for (size_t i = 0; i < NVIEWS; i++) {
        const struct view_key *key = key_of(views[i].name);
        if (key)
            model_view(&views[i], key);
    }
}

/* INFORMATION_SCHEMA's views as the rows of view v describe tables: every role sees them */
static void model_rows(const struct info_view *v, struct rows *r)
{
    pthread_once(&model.once, build_model);
    const char *role = r->role;
    r->role = NULL;
    v->rows(&model.schema, r);
    r->role = role;
}

enum em_code sp_info_schema_view(const struct sp_schema *schema, const char *view, const char *role,
                                 struct sp_arena *arena, const char **sql,
                                 struct sp_result_column **cols, int *ncols, struct em_status *st)
{
    const struct info_view *v = NULL;
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcasecmp(views[i].name, view) == 0)
            v = &views[i];
    if (!v)
        return EM_NOT_FOUND;
    struct rows r = {.ncols = (int)v->ncols, .col = (int)v->ncols, .schema = schema};
    if (role && !sp_role_reads_info_schema(schema, role))
        r.role = role;
    v->rows(schema, &r);
    if (v->also_views)
        model_rows(v, &r);
    struct sp_buf out = {0};
    sp_buf_puts(&out, "SELECT ");
    for (size_t i = 0; i < v->ncols; i++) {
        sp_buf_puts(&out, i ? ", " : "");
        if (r.nrows)
            sp_buf_printf(&out, "column%zu AS \"$c%zu\"", i + 1, i + 1);
        else
            sp_buf_printf(&out, "NULL AS \"$c%zu\"", i + 1);
    }
    if (r.nrows)
        sp_buf_printf(&out, " FROM (%s))", r.sql.data);
    else
        sp_buf_puts(&out, " WHERE false");
    bool failed = r.sql.failed || out.failed;
    sp_buf_free(&r.sql);
    *cols = sp_arena_alloc(arena, v->ncols * sizeof(**cols));
    *sql = failed ? NULL : sp_arena_strdup(arena, out.data);
    sp_buf_free(&out);
    if (!*cols || !*sql)
        return EM_FAIL_OOM(st);
    for (size_t i = 0; i < v->ncols; i++) {
        (*cols)[i].name = v->cols[i].name;
        (*cols)[i].type = (struct sp_type){v->cols[i].code, SP_TYPE_UNKNOWN,
                                           v->cols[i].code == SP_TYPE_STRING ? SP_LEN_MAX : 0};
    }
    *ncols = (int)v->ncols;
    return EM_OK;
}
