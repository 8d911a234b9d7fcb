/*
 * spanner_sql_translate: a GoogleSQL query or DML statement -> SQLite SQL, with types.
 *
 * The translator resolves every name against the schema (spanner_schema.h), gives every
 * expression its GoogleSQL type, applies GoogleSQL's coercions (INT64 -> NUMERIC ->
 * FLOAT64, string literals -> DATE/TIMESTAMP, untyped parameters and NULL take the type
 * their context needs) and writes SQLite SQL over the storage forms of spanner_value.h.
 * Where SQLite's semantics differ, the SQL calls the user functions of
 * spanner_sql_functions.c (checked INT64 arithmetic, CAST with Spanner's errors,
 * case-sensitive LIKE, ...), so a SQLite message never reaches a client.
 *
 * Output: the SQL text, the result columns (name, or "" when the column has none, and
 * GoogleSQL type; every SQLite result column is named "$cN" so names never clash), and the
 * parameters in the order of their SQLite numbers (?1, ?2, ...), each with its type: the
 * declared one, or the one inferred from context for an untyped parameter (STRING when the
 * context says nothing). Errors: INVALID_ARGUMENT for a statement that is wrong, and
 * UNIMPLEMENTED for GoogleSQL this translator does not cover, both naming the construct
 * and ending with "[at line:column]".
 */
#ifndef SPANNER_SQL_TRANSLATE_H
#define SPANNER_SQL_TRANSLATE_H

#include "spanner_roles.h"
#include "spanner_schema.h"
#include "spanner_sql_ast.h"

struct sp_param_decl {
    const char *name;
    struct sp_type type;
};

struct sp_result_column {
    const char *name; /* "" for an unnamed column (SELECT 1) */
    struct sp_type type;
};

struct sp_param {
    const char *name;
    struct sp_type type;
    bool declared; /* false: inferred, untyped in the request */
};

/* PENDING_COMMIT_TIMESTAMP() in DML: the statement writes this text (the same string
 * Spanner's mutations use for the commit timestamp) into each of the translation's
 * pending_columns of its table. The commit replaces it with the commit timestamp in its
 * storage form, e.g. UPDATE "T" SET "c" = ?ts WHERE "c" = 'spanner.commit_timestamp()'.
 * The placeholder is not a valid TIMESTAMP storage form: it must not be read before then
 * (Spanner also refuses to read a value written with a pending commit timestamp). */
#define SP_PENDING_COMMIT_TIMESTAMP "spanner.commit_timestamp()"

struct sp_translation {
    struct sp_arena arena;
    enum sp_statement_kind kind;
    const char *sql;
    const char *table; /* the DML target */
    struct sp_result_column *columns;
    int ncolumns;
    struct sp_param *params; /* params[i] is ?(i+1) */
    int nparams;
    /* the columns of `table` the DML writes PENDING_COMMIT_TIMESTAMP() to (see above) */
    const char **pending_columns;
    int npending_columns;
    /* it calls GET_NEXT_SEQUENCE_VALUE (a column DEFAULT included): allowed in read-write
     * and partitioned DML transactions only */
    bool draws_sequence;
    /* what it reads and writes: the privileges a database role needs to run it
     * (sp_role_check), each once */
    const struct sp_access *accesses;
    int naccesses;
};

/* Translates one statement. decls are the request's paramTypes (a parameter used in sql
 * but absent from decls is untyped). *out is freed with sp_translation_free. */
enum em_code sp_translate(const struct sp_schema *schema, const char *sql,
                          const struct sp_param_decl *decls, int ndecls,
                          struct sp_translation **out, struct em_status *st);
void sp_translation_free(struct sp_translation *translation);
/* sp_translate reading every table as of read_ns (ns since the epoch), from its row
 * versions (spanner_schema.h): a stale read, or a read-only transaction's read after
 * later commits. read_ns 0 is sp_translate. */
enum em_code sp_translate_at(const struct sp_schema *schema, const char *sql,
                             const struct sp_param_decl *decls, int ndecls, int64_t read_ns,
                             struct sp_translation **out, struct em_status *st);

/* sp_translate_at, or sp_translate_partitioned, for a statement a database role runs:
 * INFORMATION_SCHEMA shows what role may see (spanner_sql_info_schema.h); role NULL, all. */
enum em_code sp_translate_as(const struct sp_schema *schema, const char *sql,
                             const struct sp_param_decl *decls, int ndecls, bool partitioned,
                             int64_t read_ns, const char *role, struct sp_translation **out,
                             struct em_status *st);

/* sp_translate for a statement run as Partitioned DML (a partitionedDml transaction): it
 * must also be an UPDATE or DELETE, without THEN RETURN, and fully partitionable (it reads
 * no row but the one it changes: no subquery). INVALID_ARGUMENT naming what is refused. */
enum em_code sp_translate_partitioned(const struct sp_schema *schema, const char *sql,
                                      const struct sp_param_decl *decls, int ndecls,
                                      struct sp_translation **out, struct em_status *st);

/* Translates an expression written in a table's DDL (CHECK, DEFAULT, generated column)
 * against that table's columns, each column read as <row_prefix>."name" (e.g. NEW in a
 * trigger) or plain "name" when row_prefix is NULL; table may be NULL for an expression
 * that references no column (DEFAULT). The SQL lives in arena. */
enum em_code sp_translate_table_expr(struct sp_arena *arena, const struct sp_schema *schema,
                                     const struct sp_table *table, const char *text,
                                     const char *row_prefix, const char **sql, struct sp_type *type,
                                     struct em_status *st);

/* Checks a view's query: it must translate; with strict (a new view, CREATE VIEW), in
 * strict name resolution mode as Spanner reads it, and its columns named once each. */
enum em_code sp_translate_check_view(const struct sp_schema *schema, const char *text, bool strict,
                                     struct em_status *st);

#endif
