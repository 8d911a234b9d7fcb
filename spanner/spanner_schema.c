/*
 * spanner_schema: the schema model's lookups, Spanner's canonical getDdl printing, and the
 * SQLite tables, indexes and constraint triggers that store a schema's rows (the design is
 * in spanner_schema.h).
 */
#include "spanner_schema.h"

#include "spanner_roles.h"
#include "spanner_sql_translate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sp_schema *sp_schema_new(void)
{
    struct sp_schema *schema = calloc(1, sizeof(struct sp_schema));
    if (schema)
        schema->refs = 1;
    return schema;
}

static void *copy_array(struct sp_arena *arena, const void *items, int count, size_t size)
{
    void *copy = sp_arena_alloc(arena, (size_t)(count ? count : 1) * size);
    if (copy && count)
        memcpy(copy, items, (size_t)count * size);
    return copy;
}

struct sp_schema *sp_schema_clone(struct sp_schema *schema)
{
    struct sp_schema *clone = sp_schema_new();
    if (!clone)
        return NULL;
    clone->tables =
        copy_array(&clone->arena, schema->tables, schema->ntables, sizeof(*schema->tables));
    clone->indexes =
        copy_array(&clone->arena, schema->indexes, schema->nindexes, sizeof(*schema->indexes));
    clone->views = copy_array(&clone->arena, schema->views, schema->nviews, sizeof(*schema->views));
    clone->sequences = copy_array(&clone->arena, schema->sequences, schema->nsequences,
                                  sizeof(*schema->sequences));
    clone->change_streams = copy_array(&clone->arena, schema->change_streams,
                                       schema->nchange_streams, sizeof(*schema->change_streams));
    clone->named_schemas = copy_array(&clone->arena, schema->named_schemas, schema->nnamed_schemas,
                                      sizeof(*schema->named_schemas));
    if (clone->arena.failed) {
        sp_schema_free(clone);
        return NULL;
    }
    clone->ntables = schema->ntables;
    clone->nindexes = schema->nindexes;
    clone->nviews = schema->nviews;
    clone->nsequences = schema->nsequences;
    clone->nchange_streams = schema->nchange_streams;
    clone->nnamed_schemas = schema->nnamed_schemas;
    clone->next_seq = schema->next_seq;
    clone->options_database = schema->options_database;
    clone->version_retention = schema->version_retention;
    clone->version_retention_ns = schema->version_retention_ns;
    clone->default_sequence_kind = schema->default_sequence_kind;
    clone->acl = schema->acl;
    clone->base = schema;
    schema->refs++;
    return clone;
}

void sp_schema_free(struct sp_schema *schema)
{
    while (schema && --schema->refs == 0) {
        struct sp_schema *base = schema->base;
        sp_arena_free(&schema->arena);
        free(schema);
        schema = base;
    }
}

struct sp_table *sp_schema_table(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->ntables; i++)
        if (strcasecmp(schema->tables[i]->name, name) == 0)
            return schema->tables[i];
    return NULL;
}

struct sp_table *sp_schema_table_or_synonym(const struct sp_schema *schema, const char *name)
{
    struct sp_table *table = sp_schema_table(schema, name);
    for (int i = 0; i < schema->ntables && !table; i++)
        if (schema->tables[i]->synonym && strcasecmp(schema->tables[i]->synonym, name) == 0)
            table = schema->tables[i];
    return table;
}

struct sp_index *sp_schema_index(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nindexes; i++)
        if (strcasecmp(schema->indexes[i]->name, name) == 0)
            return schema->indexes[i];
    return NULL;
}

struct sp_view *sp_schema_view(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nviews; i++)
        if (strcasecmp(schema->views[i]->name, name) == 0)
            return schema->views[i];
    return NULL;
}

struct sp_sequence *sp_schema_sequence(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nsequences; i++)
        if (strcasecmp(schema->sequences[i]->name, name) == 0)
            return schema->sequences[i];
    return NULL;
}

struct sp_change_stream *sp_schema_change_stream(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nchange_streams; i++)
        if (strcasecmp(schema->change_streams[i]->name, name) == 0)
            return schema->change_streams[i];
    return NULL;
}

const char *sp_schema_named_schema(const struct sp_schema *schema, const char *name)
{
    for (int i = 0; i < schema->nnamed_schemas; i++)
        if (strcasecmp(schema->named_schemas[i], name) == 0)
            return schema->named_schemas[i];
    return NULL;
}

int64_t sp_sequence_value(int64_t counter)
{
    uint64_t in = (uint64_t)counter, out = 0;
    for (int bit = 0; bit < 63; bit++)
        if (in & (1ULL << bit))
            out |= 1ULL << (62 - bit);
    return (int64_t)out;
}

int sp_table_column_index(const struct sp_table *table, const char *name)
{
    for (int i = 0; i < table->ncolumns; i++)
        if (strcasecmp(table->columns[i].name, name) == 0)
            return i;
    return -1;
}

const struct sp_column *sp_table_column(const struct sp_table *table, const char *name)
{
    int i = sp_table_column_index(table, name);
    return i < 0 ? NULL : &table->columns[i];
}

bool sp_table_is_key(const struct sp_table *table, const char *column)
{
    for (int i = 0; i < table->nkey; i++)
        if (strcasecmp(table->key[i].column, column) == 0)
            return true;
    return false;
}

void sp_strings_free(char **strings, int count)
{
    if (!strings)
        return;
    for (int i = 0; i < count; i++)
        free(strings[i]);
    free(strings);
}

/* ---- getDdl ---- */

static void print_key(const struct sp_key_part *key, int nkey, struct sp_buf *out)
{
    sp_buf_puts(out, "(");
    for (int i = 0; i < nkey; i++)
        sp_buf_printf(out, "%s%s%s", i ? ", " : "", key[i].column, key[i].desc ? " DESC" : "");
    sp_buf_puts(out, ")");
}

static void print_names(const char **names, int n, struct sp_buf *out)
{
    sp_buf_puts(out, "(");
    for (int i = 0; i < n; i++)
        sp_buf_printf(out, "%s%s", i ? ", " : "", names[i]);
    sp_buf_puts(out, ")");
}

static void print_clauses(const struct sp_sequence *q, struct sp_buf *out);

/* GENERATED BY DEFAULT AS IDENTITY [(...)], or AUTO_INCREMENT */
static void print_identity(const struct sp_sequence *q, struct sp_buf *out)
{
    if (q->auto_increment) {
        sp_buf_puts(out, " AUTO_INCREMENT");
        return;
    }
    struct sp_buf clauses = {0};
    print_clauses(q, &clauses);
    sp_buf_puts(out, " GENERATED BY DEFAULT AS IDENTITY");
    if (clauses.len)
        sp_buf_printf(out, " (%s)", clauses.data + 1);
    out->failed |= clauses.failed;
    sp_buf_free(&clauses);
}

static void print_column(const struct sp_column *c, struct sp_buf *out)
{
    char type[64];
    sp_type_format(&c->type, true, type, sizeof(type));
    sp_buf_printf(out, "  %s %s", c->name, type);
    if (c->vector_length)
        sp_buf_printf(out, "(vector_length=>%d)", c->vector_length);
    if (c->not_null)
        sp_buf_puts(out, " NOT NULL");
    if (c->identity)
        print_identity(c->identity, out);
    if (c->default_text)
        sp_buf_printf(out, " DEFAULT (%s)", c->default_text);
    if (c->generated_text)
        sp_buf_printf(out, " AS (%s)%s", c->generated_text, c->generated_virtual ? "" : " STORED");
    if (c->hidden)
        sp_buf_puts(out, " HIDDEN");
    if (c->allow_commit_timestamp)
        sp_buf_puts(out, " OPTIONS (\n    allow_commit_timestamp = true\n  )");
    sp_buf_puts(out, ",\n");
}

static void print_foreign_key(const struct sp_foreign_key *fk, struct sp_buf *out)
{
    if (fk->name)
        sp_buf_printf(out, "CONSTRAINT %s ", fk->name);
    sp_buf_puts(out, "FOREIGN KEY");
    print_names(fk->columns, fk->ncolumns, out);
    sp_buf_printf(out, " REFERENCES %s", fk->ref_table);
    print_names(fk->ref_columns, fk->ncolumns, out);
    if (fk->cascade)
        sp_buf_puts(out, " ON DELETE CASCADE");
}

static void print_table(const struct sp_table *t, struct sp_buf *out)
{
    sp_buf_printf(out, "CREATE TABLE %s (\n", t->name);
    for (int i = 0; i < t->ncolumns; i++)
        print_column(&t->columns[i], out);
    for (int i = 0; i < t->nfks; i++) {
        sp_buf_puts(out, "  ");
        print_foreign_key(&t->fks[i], out);
        sp_buf_puts(out, ",\n");
    }
    for (int i = 0; i < t->nchecks; i++) {
        sp_buf_puts(out, "  ");
        if (t->checks[i].name)
            sp_buf_printf(out, "CONSTRAINT %s ", t->checks[i].name);
        sp_buf_printf(out, "CHECK(%s),\n", t->checks[i].text);
    }
    if (t->synonym)
        sp_buf_printf(out, "  SYNONYM(%s),\n", t->synonym);
    sp_buf_puts(out, ") PRIMARY KEY");
    print_key(t->key, t->nkey, out);
    if (t->parent)
        sp_buf_printf(out, ",\n  INTERLEAVE IN PARENT %s ON DELETE %s", t->parent,
                      t->cascade ? "CASCADE" : "NO ACTION");
    if (t->row_deletion_policy)
        sp_buf_printf(out, ",\n  ROW DELETION POLICY (%s)", t->row_deletion_policy);
}

static void print_index(const struct sp_index *ix, struct sp_buf *out)
{
    sp_buf_printf(out, "CREATE %s%sINDEX %s ON %s", ix->unique ? "UNIQUE " : "",
                  ix->null_filtered ? "NULL_FILTERED " : "", ix->name, ix->table);
    print_key(ix->key, ix->nkey, out);
    if (ix->nstoring) {
        sp_buf_puts(out, " STORING ");
        print_names(ix->storing, ix->nstoring, out);
    }
    for (int i = 0; i < ix->nwhere; i++)
        sp_buf_printf(out, "%s%s IS NOT NULL", i ? " AND " : " WHERE ", ix->where_not_null[i]);
    if (ix->interleave_in)
        sp_buf_printf(out, ", INTERLEAVE IN %s", ix->interleave_in);
}

/* The next object in creation order after seq (tables, indexes and views interleaved). */
static long next_object(const struct sp_schema *s, long after, int *kind, int *index)
{
    long best = -1;
    for (int i = 0; i < s->ntables; i++)
        if (s->tables[i]->seq > after && (best < 0 || s->tables[i]->seq < best))
            best = s->tables[i]->seq, *kind = 0, *index = i;
    for (int i = 0; i < s->nindexes; i++)
        if (s->indexes[i]->seq > after && (best < 0 || s->indexes[i]->seq < best))
            best = s->indexes[i]->seq, *kind = 1, *index = i;
    for (int i = 0; i < s->nviews; i++)
        if (s->views[i]->seq > after && (best < 0 || s->views[i]->seq < best))
            best = s->views[i]->seq, *kind = 2, *index = i;
    return best;
}

int64_t sp_schema_version_retention(const struct sp_schema *schema)
{
    return schema && schema->version_retention_ns ? schema->version_retention_ns
                                                  : SP_DEFAULT_RETENTION_NS;
}

bool sp_duration_parse(const char *text, int64_t *ns)
{
    static const struct {
        char unit;
        int64_t ns;
    } units[] = {
        {'s', 1000000000LL}, {'m', 60000000000LL}, {'h', 3600000000000LL}, {'d', 86400000000000LL}};
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 9 || strlen(text) != digits + 1)
        return false;
    long long count = strtoll(text, NULL, 10);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (text[digits] == units[i].unit) {
            if (count > INT64_MAX / units[i].ns) /* no overflow */
                return false;
            *ns = count * units[i].ns;
            return true;
        }
    }
    return false;
}

bool sp_retention_parse(const char *text, int64_t *ns)
{
    return sp_duration_parse(text, ns) && *ns >= SP_DEFAULT_RETENTION_NS &&
           *ns <= SP_MAX_RETENTION_NS;
}

void sp_retention_text(int64_t ns, char out[32])
{
    static const struct {
        char unit;
        int64_t ns;
    } units[] = {{'d', 86400000000000LL}, {'h', 3600000000000LL}, {'m', 60000000000LL}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ns % units[i].ns == 0) {
            snprintf(out, 32, "%lld%c", (long long)(ns / units[i].ns), units[i].unit);
            return;
        }
    }
    snprintf(out, 32, "%llds", (long long)(ns / 1000000000LL));
}

/* ALTER DATABASE `id` SET OPTIONS (...), as Spanner's getDdl lists it first. */
static char *print_options(const struct sp_schema *schema)
{
    struct sp_buf buf = {0};
    sp_buf_printf(&buf, "ALTER DATABASE `%s` SET OPTIONS (", schema->options_database);
    const char *sep = "\n  ";
    if (schema->default_sequence_kind) {
        sp_buf_printf(&buf, "%sdefault_sequence_kind = 'bit_reversed_positive'", sep);
        sep = ",\n  ";
    }
    if (schema->version_retention)
        sp_buf_printf(&buf, "%sversion_retention_period = '%s'", sep, schema->version_retention);
    sp_buf_puts(&buf, "\n)");
    return sp_buf_take(&buf);
}

/* [BIT_REVERSED_POSITIVE] [SKIP RANGE a, b] [START COUNTER WITH n], each part with a space
 * before it */
static void print_clauses(const struct sp_sequence *q, struct sp_buf *out)
{
    if (!q->no_kind)
        sp_buf_puts(out, " BIT_REVERSED_POSITIVE");
    if (q->has_skip)
        sp_buf_printf(out, " SKIP RANGE %lld, %lld", (long long)q->skip_min,
                      (long long)q->skip_max);
    if (q->start_with_counter)
        sp_buf_printf(out, " START COUNTER WITH %lld", (long long)q->start_with_counter);
}

/* As Spanner's getDdl prints a sequence: in the form it was written in. */
static void print_sequence(const struct sp_sequence *q, struct sp_buf *out)
{
    sp_buf_printf(out, "CREATE SEQUENCE %s", q->name);
    if (q->clauses) {
        print_clauses(q, out);
        return;
    }
    const char *sep = " OPTIONS (\n  ";
    if (!q->no_kind) {
        sp_buf_printf(out, "%ssequence_kind = 'bit_reversed_positive'", sep);
        sep = ",\n  ";
    }
    if (q->has_skip) {
        sp_buf_printf(out, "%sskip_range_min = %lld,\n  skip_range_max = %lld", sep,
                      (long long)q->skip_min, (long long)q->skip_max);
        sep = ",\n  ";
    }
    if (q->start_with_counter) {
        sp_buf_printf(out, "%sstart_with_counter = %lld", sep, (long long)q->start_with_counter);
        sep = ",\n  ";
    }
    if (sep[0] == ',')
        sp_buf_puts(out, ")");
}

const char *const sp_change_stream_option_names[SP_CS_NOPTIONS] = {
    "retention_period", "value_capture_type", "exclude_ttl_deletes", "exclude_insert",
    "exclude_update",   "exclude_delete",     "allow_txn_exclusion"};

/* As Google's emulator prints one: CREATE CHANGE STREAM S FOR T(A), U OPTIONS ( a = 'x',
 * b = true ) */
static void print_change_stream(const struct sp_change_stream *cs, struct sp_buf *out)
{
    sp_buf_printf(out, "CREATE CHANGE STREAM %s", cs->name);
    if (cs->for_all)
        sp_buf_puts(out, " FOR ALL");
    for (int i = 0; i < cs->ntables; i++) {
        const struct sp_change_stream_table *t = &cs->tables[i];
        sp_buf_printf(out, "%s%s", i ? ", " : " FOR ", t->table);
        if (!t->all_columns) {
            sp_buf_puts(out, "(");
            for (int k = 0; k < t->ncolumns; k++)
                sp_buf_printf(out, "%s%s", k ? ", " : "", t->columns[k]);
            sp_buf_puts(out, ")");
        }
    }
    const char *sep = " OPTIONS ( ";
    for (int last = 0;;) { /* in the order they were set */
        int i = -1;
        for (int k = 0; k < SP_CS_NOPTIONS; k++)
            if (cs->options[k] && cs->option_order[k] > last &&
                (i < 0 || cs->option_order[k] < cs->option_order[i]))
                i = k;
        if (i < 0)
            break;
        last = cs->option_order[i];
        sp_buf_printf(out, "%s%s = ", sep, sp_change_stream_option_names[i]);
        if (i < SP_CS_FIRST_BOOL)
            sp_buf_string(out, cs->options[i], strlen(cs->options[i]));
        else
            sp_buf_puts(out, cs->options[i]);
        sep = ", ";
    }
    if (sep[0] == ',')
        sp_buf_puts(out, " )");
}

char **sp_schema_statements(const struct sp_schema *schema, int *count)
{
    int options = schema->version_retention || schema->default_sequence_kind ? 1 : 0;
    int schemas = options + schema->nnamed_schemas;
    int first = schemas + schema->nsequences;
    int objects = first + schema->ntables + schema->nindexes + schema->nviews;
    int total = objects + schema->nchange_streams;
    char **out = calloc((size_t)total + (size_t)sp_roles_statement_count(schema) + 1, sizeof(*out));
    if (!out)
        return NULL;
    if (options && !(out[0] = print_options(schema))) {
        free(out);
        return NULL;
    }
    long seq = -1;
    int kind = 0, index = 0;
    for (int n = options; n < total; n++) {
        struct sp_buf buf = {0};
        if (n < schemas)
            sp_buf_printf(&buf, "CREATE SCHEMA %s", schema->named_schemas[n - options]);
        else if (n < first)
            print_sequence(schema->sequences[n - schemas], &buf); /* in creation order */
        else if (n >= objects)
            print_change_stream(schema->change_streams[n - objects], &buf);
        else if ((seq = next_object(schema, seq, &kind, &index)) >= 0 && kind == 0)
            print_table(schema->tables[index], &buf);
        else if (kind == 1)
            print_index(schema->indexes[index], &buf);
        else
            sp_buf_printf(&buf, "CREATE VIEW %s SQL SECURITY %s AS %s", schema->views[index]->name,
                          schema->views[index]->definer ? "DEFINER" : "INVOKER",
                          schema->views[index]->text);
        out[n] = sp_buf_take(&buf);
        if (!out[n]) {
            sp_strings_free(out, n);
            return NULL;
        }
    }
    if (!sp_roles_statements(schema, out, &total)) {
        sp_strings_free(out, total);
        return NULL;
    }
    *count = total;
    return out;
}

/* ---- SQLite storage ---- */

static const char *sqlite_type(const struct sp_type *type)
{
    switch (type->code) {
    case SP_TYPE_BOOL:
    case SP_TYPE_INT64:
        return "INTEGER";
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        return "REAL";
    case SP_TYPE_BYTES:
        return "BLOB";
    default:
        return "TEXT";
    }
}

static void sqlite_key(const struct sp_key_part *key, int nkey, struct sp_buf *out)
{
    sp_buf_puts(out, "(");
    for (int i = 0; i < nkey; i++) {
        sp_buf_puts(out, i ? ", " : "");
        sp_buf_ident(out, key[i].column);
        if (key[i].desc)
            sp_buf_puts(out, " DESC");
    }
    sp_buf_puts(out, ")");
}

void sp_schema_sqlite_add_column(const struct sp_table *table, const struct sp_column *column,
                                 struct sp_buf *out)
{
    sp_buf_puts(out, "ALTER TABLE ");
    sp_buf_ident(out, table->name);
    sp_buf_puts(out, " ADD COLUMN ");
    sp_buf_ident(out, column->name);
    sp_buf_printf(out, " %s", sqlite_type(&column->type));
    if (column->generated_sql)
        sp_buf_printf(out, " GENERATED ALWAYS AS (%s) VIRTUAL", column->generated_sql);
    sp_buf_puts(out, ";\n");
}

void sp_schema_sqlite_table(const struct sp_table *table, struct sp_buf *out)
{
    bool keys_not_null = true;
    for (int i = 0; i < table->ncolumns; i++)
        if (sp_table_is_key(table, table->columns[i].name) && !table->columns[i].not_null)
            keys_not_null = false;
    sp_buf_puts(out, "CREATE TABLE ");
    sp_buf_ident(out, table->name);
    sp_buf_puts(out, " (");
    for (int i = 0; i < table->ncolumns; i++) {
        const struct sp_column *c = &table->columns[i];
        const char *type = sqlite_type(&c->type);
        /* in a rowid table, a lone "INTEGER PRIMARY KEY" would be the rowid itself, which
         * turns a NULL key into a new number: "INT" has the same affinity without that */
        if (!keys_not_null && table->nkey == 1 && strcmp(type, "INTEGER") == 0 &&
            sp_table_is_key(table, c->name))
            type = "INT";
        sp_buf_puts(out, i ? ", " : "");
        sp_buf_ident(out, c->name);
        sp_buf_printf(out, " %s", type);
        if (c->generated_sql)
            sp_buf_printf(out, " GENERATED ALWAYS AS (%s) VIRTUAL", c->generated_sql);
    }
    if (table->nkey) {
        sp_buf_puts(out, ", PRIMARY KEY ");
        sqlite_key(table->key, table->nkey, out);
    } else {
        /* PRIMARY KEY (): a table of at most one row */
        sp_buf_puts(out, ", \"$singleton\" INTEGER NOT NULL DEFAULT 0 UNIQUE");
        keys_not_null = false;
    }
    sp_buf_printf(out, ")%s;\n", keys_not_null ? " WITHOUT ROWID" : "");
}

static void create_trigger(const char *table, const char *kind, const char *when, const char *body,
                           struct sp_buf *out);

static void first_version_after(const struct sp_table *table, const char **key, int nkey,
                                int64_t at_ns, struct sp_buf *out);

/* ---- row versions (stale reads) ---- */

/* The columns that identify a row of t in its versions: its key, or "$singleton". */
static int version_key(const struct sp_table *t, const char **key, int max)
{
    if (t->nkey == 0) {
        key[0] = "$singleton";
        return 1;
    }
    int n = t->nkey < max ? t->nkey : max;
    for (int i = 0; i < n; i++)
        key[i] = t->key[i].column;
    return n;
}

void sp_schema_versions_name(const char *table, char out[SP_VERSIONS_NAME_MAX])
{
    snprintf(out, SP_VERSIONS_NAME_MAX, "%s$versions", table);
}

/* T's versions table, or (suffix "$key") its index, quoted. */
static void versions_name(const char *table, const char *suffix, struct sp_buf *out)
{
    char name[SP_VERSIONS_NAME_MAX + 8];
    sp_schema_versions_name(table, name);
    strcat(name, suffix);
    sp_buf_ident(out, name);
}

void sp_schema_sqlite_versions(const struct sp_table *table, struct sp_buf *out)
{
    const char *key[64];
    int nkey = version_key(table, key, 64);
    sp_buf_puts(out, "CREATE TABLE IF NOT EXISTS ");
    versions_name(table->name, "", out);
    sp_buf_puts(out, " (\"$until\" INTEGER NOT NULL, \"$present\" INTEGER NOT NULL");
    for (int i = 0; i < table->ncolumns; i++) {
        sp_buf_puts(out, ", ");
        sp_buf_ident(out, table->columns[i].name);
        sp_buf_printf(out, " %s", sqlite_type(&table->columns[i].type));
    }
    if (table->nkey == 0)
        sp_buf_puts(out, ", \"$singleton\" INTEGER");
    sp_buf_puts(out, ");\nCREATE INDEX IF NOT EXISTS ");
    versions_name(table->name, "$key", out);
    sp_buf_puts(out, " ON ");
    versions_name(table->name, "", out);
    sp_buf_puts(out, " (");
    for (int i = 0; i < nkey; i++) {
        sp_buf_ident(out, key[i]);
        sp_buf_puts(out, ", ");
    }
    sp_buf_puts(out, "\"$until\");\n");
}

void sp_schema_sqlite_versions_column(const char *table, const char *verb, const char *column,
                                      const char *type, struct sp_buf *out)
{
    sp_buf_puts(out, "ALTER TABLE ");
    versions_name(table, "", out);
    sp_buf_printf(out, " %s ", verb);
    sp_buf_ident(out, column);
    sp_buf_printf(out, "%s%s;\n", type ? " " : "", type ? type : "");
}

void sp_schema_sqlite_drop_versions(const char *table, struct sp_buf *out)
{
    sp_buf_puts(out, "DROP TABLE IF EXISTS ");
    versions_name(table, "", out);
    sp_buf_puts(out, ";\n");
}

/* "a"."k1" IS "b"."k1" AND ... over the version key. */
static void same_key(const char **key, int nkey, const char *a, const char *b, struct sp_buf *out)
{
    for (int i = 0; i < nkey; i++) {
        sp_buf_printf(out, "%s%s.", i ? " AND " : "", a);
        sp_buf_ident(out, key[i]);
        sp_buf_printf(out, " IS %s.", b);
        sp_buf_ident(out, key[i]);
    }
}

static void column_list(const struct sp_table *t, const char *alias, struct sp_buf *out)
{
    for (int i = 0; i < t->ncolumns; i++) {
        sp_buf_printf(out, "%s%s.", i ? ", " : "", alias);
        sp_buf_ident(out, t->columns[i].name);
    }
    if (t->nkey == 0)
        sp_buf_printf(out, ", %s.\"$singleton\"", alias);
}

/* The rows of t as of read_ns. The current row of a key holds unless a change after
 * read_ns was recorded for it; else the first version recorded after read_ns is the row
 * as it was then ($present 0: there was none). Versions are appended in commit order, so
 * rowid order is time order. */
void sp_schema_sqlite_table_at(const struct sp_table *table, int64_t read_ns, struct sp_buf *out)
{
    const char *key[64];
    int nkey = version_key(table, key, 64);
    sp_buf_puts(out, "(SELECT ");
    column_list(table, "\"$r\"", out);
    sp_buf_puts(out, " FROM ");
    sp_buf_ident(out, table->name);
    sp_buf_puts(out, " AS \"$r\" WHERE NOT EXISTS (SELECT 1 FROM ");
    versions_name(table->name, "", out);
    sp_buf_puts(out, " AS \"$v\" WHERE ");
    same_key(key, nkey, "\"$v\"", "\"$r\"", out);
    sp_buf_printf(out, " AND \"$v\".\"$until\" > %lld) UNION ALL SELECT ", (long long)read_ns);
    column_list(table, "\"$v\"", out);
    first_version_after(table, key, nkey, read_ns, out);
    sp_buf_puts(out, ")");
}

/* The first version after at_ns of each key: the row as it was at at_ns. */
static void first_version_after(const struct sp_table *table, const char **key, int nkey,
                                int64_t at_ns, struct sp_buf *out)
{
    sp_buf_puts(out, " FROM ");
    versions_name(table->name, "", out);
    sp_buf_printf(out,
                  " AS \"$v\" WHERE \"$v\".\"$present\" AND \"$v\".\"$until\" > %lld AND NOT "
                  "EXISTS (SELECT 1 FROM ",
                  (long long)at_ns);
    versions_name(table->name, "", out);
    sp_buf_puts(out, " AS \"$e\" WHERE ");
    same_key(key, nkey, "\"$e\"", "\"$v\"", out);
    sp_buf_printf(out, " AND \"$e\".\"$until\" > %lld AND \"$e\".rowid < \"$v\".rowid)",
                  (long long)at_ns);
}

void sp_schema_sqlite_rewind(const struct sp_table *table, int64_t at_ns, struct sp_buf *out)
{
    const char *key[64];
    int nkey = version_key(table, key, 64);
    char quoted[300];
    snprintf(quoted, sizeof(quoted), "\"%s\"", table->name); /* names hold no '"' */
    sp_buf_puts(out, "DELETE FROM ");
    sp_buf_ident(out, table->name);
    sp_buf_puts(out, " WHERE EXISTS (SELECT 1 FROM ");
    versions_name(table->name, "", out);
    sp_buf_puts(out, " AS \"$v\" WHERE ");
    same_key(key, nkey, "\"$v\"", quoted, out);
    sp_buf_printf(out, " AND \"$v\".\"$until\" > %lld);\nINSERT INTO ", (long long)at_ns);
    sp_buf_ident(out, table->name);
    sp_buf_puts(out, " (");
    for (int i = 0; i < table->ncolumns; i++) {
        sp_buf_puts(out, i ? ", " : "");
        sp_buf_ident(out, table->columns[i].name);
    }
    if (table->nkey == 0)
        sp_buf_puts(out, ", \"$singleton\"");
    sp_buf_puts(out, ") SELECT ");
    column_list(table, "\"$v\"", out);
    first_version_after(table, key, nkey, at_ns, out);
    sp_buf_puts(out, ";\nDELETE FROM ");
    versions_name(table->name, "", out);
    sp_buf_printf(out, " WHERE \"$until\" > %lld;\n", (long long)at_ns);
}

void sp_schema_sqlite_prune_versions(const struct sp_table *table, int64_t before_ns,
                                     struct sp_buf *out)
{
    /* rowid order is time order: the versions to forget are a prefix, found without a
     * scan of the rest */
    sp_buf_puts(out, "DELETE FROM ");
    versions_name(table->name, "", out);
    sp_buf_puts(out, " WHERE rowid < coalesce((SELECT rowid FROM ");
    versions_name(table->name, "", out);
    sp_buf_printf(out,
                  " WHERE \"$until\" >= %lld ORDER BY rowid LIMIT 1), (SELECT max(rowid) FROM ",
                  (long long)before_ns);
    versions_name(table->name, "", out);
    sp_buf_puts(out, ") + 1);\n");
}

/* The triggers that record, in commit order, what each write replaced: the old row of
 * an update or delete, and that an inserted key had no row. */
static void version_triggers(const struct sp_table *t, struct sp_buf *out)
{
    const char *key[64];
    int nkey = version_key(t, key, 64);
    for (int kind = 0; kind < 3; kind++) {
        static const char *const names[] = {"v_insert", "v_update", "v_delete"};
        static const char *const events[] = {"AFTER INSERT", "AFTER UPDATE", "AFTER DELETE"};
        struct sp_buf body = {0};
        if (kind > 0) { /* the old row */
            sp_buf_puts(&body, "  INSERT INTO ");
            versions_name(t->name, "", &body);
            sp_buf_puts(&body, " (\"$until\", \"$present\", ");
            for (int i = 0; i < t->ncolumns; i++) {
                sp_buf_puts(&body, i ? ", " : "");
                sp_buf_ident(&body, t->columns[i].name);
            }
            if (t->nkey == 0)
                sp_buf_puts(&body, ", \"$singleton\"");
            sp_buf_puts(&body, ") VALUES (sp_commit_ns(), 1, ");
            column_list(t, "OLD", &body);
            sp_buf_puts(&body, ");\n");
        }
        if (kind < 2) { /* a key that had no row (an update that moved the key too) */
            sp_buf_puts(&body, "  INSERT INTO ");
            versions_name(t->name, "", &body);
            sp_buf_puts(&body, " (\"$until\", \"$present\"");
            for (int i = 0; i < nkey; i++) {
                sp_buf_puts(&body, ", ");
                sp_buf_ident(&body, key[i]);
            }
            sp_buf_puts(&body, ") SELECT sp_commit_ns(), 0");
            for (int i = 0; i < nkey; i++) {
                sp_buf_puts(&body, ", NEW.");
                sp_buf_ident(&body, key[i]);
            }
            if (kind == 1) {
                sp_buf_puts(&body, " WHERE NOT (");
                same_key(key, nkey, "NEW", "OLD", &body);
                sp_buf_puts(&body, ")");
            }
            sp_buf_puts(&body, ";\n");
        }
        create_trigger(t->name, names[kind], events[kind], body.data, out);
        sp_buf_free(&body);
    }
}

/* Spanner's UNIQUE index holds a NULL as a value: two rows whose keys are NULL alike
 * collide (NULL_FILTERED leaves them out). SQLite's UNIQUE lets NULLs repeat, so such an
 * index gets a companion "<name>$nulls" over (c IS NULL, IFNULL(c, 0)) for each key
 * column c, in which NULLs are equal. */
bool sp_index_sqlite_filter(const struct sp_index *index, bool first, struct sp_buf *out)
{
    int n = index->null_filtered ? index->nkey : 0;
    for (int i = 0; i < n + index->nwhere; i++, first = false) {
        sp_buf_puts(out, first ? " WHERE " : " AND ");
        sp_buf_ident(out, i < n ? index->key[i].column : index->where_not_null[i - n]);
        sp_buf_puts(out, " IS NOT NULL");
    }
    return n + index->nwhere > 0;
}

static void unique_nulls_index(const struct sp_index *index, struct sp_buf *out)
{
    char name[300];
    snprintf(name, sizeof(name), "%s" SP_UNIQUE_NULLS_SUFFIX, index->name);
    sp_buf_puts(out, "CREATE UNIQUE INDEX ");
    sp_buf_ident(out, name);
    sp_buf_puts(out, " ON ");
    sp_buf_ident(out, index->table);
    for (int i = 0; i < index->nkey; i++) {
        sp_buf_puts(out, i ? ", (" : " ((");
        sp_buf_ident(out, index->key[i].column);
        sp_buf_puts(out, " IS NULL), IFNULL(");
        sp_buf_ident(out, index->key[i].column);
        sp_buf_puts(out, ", 0)");
    }
    sp_buf_puts(out, ")");
    sp_index_sqlite_filter(index, true, out);
    sp_buf_puts(out, ";\n");
}

void sp_schema_sqlite_drop_index(const struct sp_index *index, struct sp_buf *out)
{
    char name[300];
    snprintf(name, sizeof(name), "%s" SP_UNIQUE_NULLS_SUFFIX, index->name);
    sp_buf_puts(out, "DROP INDEX IF EXISTS ");
    sp_buf_ident(out, index->name);
    sp_buf_puts(out, ";\nDROP INDEX IF EXISTS ");
    sp_buf_ident(out, name);
    sp_buf_puts(out, ";\n");
}

void sp_schema_sqlite_index(const struct sp_index *index, struct sp_buf *out)
{
    sp_buf_printf(out, "CREATE %sINDEX ", index->unique ? "UNIQUE " : "");
    sp_buf_ident(out, index->name);
    sp_buf_puts(out, " ON ");
    sp_buf_ident(out, index->table);
    sp_buf_puts(out, " ");
    sqlite_key(index->key, index->nkey, out);
    sp_index_sqlite_filter(index, true, out);
    sp_buf_puts(out, ";\n");
    if (index->unique && !index->null_filtered)
        unique_nulls_index(index, out);
}

static const char *const trigger_kinds[] = {"insert",   "update",   "delete",  "cascade",
                                            "v_insert", "v_update", "v_delete"};

void sp_schema_sqlite_drop_triggers(const char *table, struct sp_buf *out)
{
    for (size_t i = 0; i < sizeof(trigger_kinds) / sizeof(trigger_kinds[0]); i++) {
        char name[300];
        snprintf(name, sizeof(name), "%s$%s", table, trigger_kinds[i]);
        sp_buf_puts(out, "DROP TRIGGER IF EXISTS ");
        sp_buf_ident(out, name);
        sp_buf_puts(out, ";\n");
    }
}

/* SELECT sp_raise(<message: an SQL text expression>) WHERE <condition>; as one trigger
 * step. */
static void raise_with(struct sp_buf *out, const char *condition, const char *message_sql)
{
    sp_buf_printf(out, "  SELECT sp_raise(%s) WHERE %s;\n", message_sql, condition);
}

/* ... with a constant message, 'CODE: message' */
static void raise_when(struct sp_buf *out, const char *condition, const char *code,
                       const char *message)
{
    char text[512];
    struct sp_buf quoted = {0};
    snprintf(text, sizeof(text), "%s: %s", code, message);
    sp_buf_string(&quoted, text, strlen(text));
    raise_with(out, condition, quoted.data ? quoted.data : "''");
    out->failed |= quoted.failed;
    sp_buf_free(&quoted);
}

/* "NEW"."a" = "P"."b" AND ... for a column list pair. */
static void match_columns(const char *row, const char **mine, const char *table,
                          const char **theirs, int n, struct sp_buf *out)
{
    for (int i = 0; i < n; i++) {
        sp_buf_printf(out, "%s%s.", i ? " AND " : "", row);
        sp_buf_ident(out, mine[i]);
        sp_buf_puts(out, " = ");
        sp_buf_ident(out, table);
        sp_buf_puts(out, ".");
        sp_buf_ident(out, theirs[i]);
    }
}

/* The write checks of one table: NOT NULL, vector lengths, commit timestamps not in the
 * future, CHECK, parent row, foreign keys. */
static enum em_code write_checks(const struct sp_schema *schema, const struct sp_table *t,
                                 struct sp_arena *arena, struct sp_buf *body, struct em_status *st)
{
    char message[400];
    for (int i = 0; i < t->ncolumns; i++) {
        const struct sp_column *c = &t->columns[i];
        if (!c->not_null)
            continue;
        struct sp_buf cond = {0};
        sp_buf_puts(&cond, "NEW.");
        sp_buf_ident(&cond, c->name);
        sp_buf_puts(&cond, " IS NULL");
        snprintf(message, sizeof(message), "%s.%s must not be NULL in table %s.", t->name, c->name,
                 t->name);
        raise_when(body, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
        sp_buf_free(&cond);
    }
    for (int i = 0; i < t->ncolumns; i++) {
        const struct sp_column *c = &t->columns[i];
        struct sp_buf value = {0}, cond = {0}, text = {0};
        sp_buf_puts(&value, "NEW.");
        sp_buf_ident(&value, c->name);
        const char *v = value.data ? value.data : "NULL";
        if (c->vector_length) { /* every array holds vector_length elements */
            sp_buf_printf(&cond, "json_array_length(%s) <> %d", v, c->vector_length);
            sp_buf_printf(&text,
                          "'INVALID_ARGUMENT: Array column %s.%s has ' || json_array_length(%s) "
                          "|| ' elements and is ' || CASE WHEN json_array_length(%s) < %d THEN "
                          "'less' ELSE 'greater' END || ' than the `vector_length` limit: %d.'",
                          t->name, c->name, v, v, c->vector_length, c->vector_length);
        } else if (c->allow_commit_timestamp) {
            /* no time after the commit's (PENDING_COMMIT_TIMESTAMP()'s placeholder becomes it) */
            sp_buf_printf(&cond, "%s > sp_timestamp_of_ns(sp_commit_ns()) AND %s <> '%s'", v, v,
                          SP_PENDING_COMMIT_TIMESTAMP);
            sp_buf_printf(&text,
                          "'FAILED_PRECONDITION: Cannot write timestamps in the future, found: ' "
                          "|| %s",
                          v);
        }
        if (cond.len)
            raise_with(body, cond.data, text.data ? text.data : "''");
        body->failed |= value.failed || cond.failed || text.failed;
        sp_buf_free(&value);
        sp_buf_free(&cond);
        sp_buf_free(&text);
    }
    for (int i = 0; i < t->nchecks; i++) {
        const char *sql;
        struct sp_type type;
        if (sp_translate_table_expr(arena, schema, t, t->checks[i].text, "NEW", &sql, &type, st))
            return st->code;
        char cond[4096];
        snprintf(cond, sizeof(cond), "(%s) IS 0", sql);
        snprintf(message, sizeof(message), "Check constraint `%s`.`%s` is violated", t->name,
                 t->checks[i].name ? t->checks[i].name : "CHECK");
        raise_when(body, cond, "OUT_OF_RANGE", message);
    }
    const struct sp_table *parent = t->parent ? sp_schema_table(schema, t->parent) : NULL;
    if (parent) {
        const char *cols[64];
        int n = parent->nkey < 64 ? parent->nkey : 64;
        for (int i = 0; i < n; i++)
            cols[i] = parent->key[i].column;
        struct sp_buf cond = {0};
        sp_buf_puts(&cond, "NOT EXISTS (SELECT 1 FROM ");
        sp_buf_ident(&cond, parent->name);
        sp_buf_puts(&cond, " WHERE ");
        match_columns("NEW", cols, parent->name, cols, n, &cond);
        sp_buf_puts(&cond, ")");
        snprintf(message, sizeof(message),
                 "Parent row for a row in table %s is missing. Row "
                 "cannot be written.",
                 t->name);
        raise_when(body, cond.data ? cond.data : "0", "NOT_FOUND", message);
        sp_buf_free(&cond);
    }
    for (int i = 0; i < t->nfks; i++) {
        const struct sp_foreign_key *fk = &t->fks[i];
        struct sp_buf cond = {0};
        for (int k = 0; k < fk->ncolumns; k++) {
            sp_buf_puts(&cond, "NEW.");
            sp_buf_ident(&cond, fk->columns[k]);
            sp_buf_puts(&cond, " IS NOT NULL AND ");
        }
        sp_buf_puts(&cond, "NOT EXISTS (SELECT 1 FROM ");
        sp_buf_ident(&cond, fk->ref_table);
        sp_buf_puts(&cond, " WHERE ");
        match_columns("NEW", fk->columns, fk->ref_table, fk->ref_columns, fk->ncolumns, &cond);
        sp_buf_puts(&cond, ")");
        snprintf(message, sizeof(message),
                 "Foreign key constraint `%s` is violated on table `%s`. Cannot find referenced "
                 "values in %s.",
                 fk->name ? fk->name : "FK", t->name, fk->ref_table);
        raise_when(body, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
        sp_buf_free(&cond);
    }
    return EM_OK;
}

/* What deleting a row of t does to the rows that depend on it: interleaved children and
 * referencing foreign keys. NO ACTION refuses (in body_before), CASCADE deletes (in
 * body_after). */
static void delete_rules(const struct sp_schema *schema, const struct sp_table *t,
                         struct sp_buf *before, struct sp_buf *after)
{
    char message[400];
    const char *key[64];
    int nkey = t->nkey < 64 ? t->nkey : 64;
    for (int i = 0; i < nkey; i++)
        key[i] = t->key[i].column;
    for (int i = 0; i < schema->ntables; i++) {
        const struct sp_table *child = schema->tables[i];
        if (child->parent && strcasecmp(child->parent, t->name) == 0) {
            struct sp_buf match = {0};
            match_columns("OLD", key, child->name, key, nkey, &match);
            if (child->cascade) {
                sp_buf_puts(after, "  DELETE FROM ");
                sp_buf_ident(after, child->name);
                sp_buf_printf(after, " WHERE %s;\n", match.data ? match.data : "0");
            } else {
                struct sp_buf cond = {0};
                sp_buf_puts(&cond, "EXISTS (SELECT 1 FROM ");
                sp_buf_ident(&cond, child->name);
                sp_buf_printf(&cond, " WHERE %s)", match.data ? match.data : "0");
                snprintf(message, sizeof(message),
                         "Delete failed: a row of table %s still has child rows in table %s "
                         "(INTERLEAVE ... ON DELETE NO ACTION).",
                         t->name, child->name);
                raise_when(before, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
                sp_buf_free(&cond);
            }
            sp_buf_free(&match);
        }
        for (int k = 0; k < child->nfks; k++) {
            const struct sp_foreign_key *fk = &child->fks[k];
            if (strcasecmp(fk->ref_table, t->name) != 0)
                continue;
            struct sp_buf match = {0};
            match_columns("OLD", fk->ref_columns, child->name, fk->columns, fk->ncolumns, &match);
            if (fk->cascade) {
                sp_buf_puts(after, "  DELETE FROM ");
                sp_buf_ident(after, child->name);
                sp_buf_printf(after, " WHERE %s;\n", match.data ? match.data : "0");
            } else {
                struct sp_buf cond = {0};
                sp_buf_puts(&cond, "EXISTS (SELECT 1 FROM ");
                sp_buf_ident(&cond, child->name);
                sp_buf_printf(&cond, " WHERE %s)", match.data ? match.data : "0");
                snprintf(message, sizeof(message),
                         "Foreign key constraint `%s` is violated on table `%s`. Cannot delete "
                         "a row of %s that rows of %s reference.",
                         fk->name ? fk->name : "FK", child->name, t->name, child->name);
                raise_when(before, cond.data ? cond.data : "0", "FAILED_PRECONDITION", message);
                sp_buf_free(&cond);
            }
            sp_buf_free(&match);
        }
    }
}

static void create_trigger(const char *table, const char *kind, const char *when, const char *body,
                           struct sp_buf *out)
{
    if (!body || !body[0])
        return;
    char name[300];
    snprintf(name, sizeof(name), "%s$%s", table, kind);
    sp_buf_puts(out, "CREATE TRIGGER ");
    sp_buf_ident(out, name);
    sp_buf_printf(out, " %s ON ", when);
    sp_buf_ident(out, table);
    sp_buf_printf(out, " BEGIN\n%sEND;\n", body);
}

enum em_code sp_schema_sqlite_triggers(const struct sp_schema *schema, struct sp_buf *out,
                                       struct em_status *st)
{
    struct sp_arena arena = {0};
    enum em_code code = EM_OK;
    for (int i = 0; !code && i < schema->ntables; i++) {
        const struct sp_table *t = schema->tables[i];
        struct sp_buf checks = {0}, before = {0}, after = {0};
        sp_schema_sqlite_drop_triggers(t->name, out);
        code = write_checks(schema, t, &arena, &checks, st);
        delete_rules(schema, t, &before, &after);
        if (!code) {
            create_trigger(t->name, "insert", "BEFORE INSERT", checks.data, out);
            create_trigger(t->name, "update", "BEFORE UPDATE", checks.data, out);
            create_trigger(t->name, "delete", "BEFORE DELETE", before.data, out);
            create_trigger(t->name, "cascade", "AFTER DELETE", after.data, out);
            version_triggers(t, out);
        }
        sp_buf_free(&checks);
        sp_buf_free(&before);
        sp_buf_free(&after);
    }
    sp_arena_free(&arena);
    return code;
}
