/*
 * spanner_sql_keys: the key spans a SQL statement reads of its table (see
 * spanner_sql_keys.h). The plan is made once per translated statement, from its syntax
 * tree; the spans, from it and each execution's parameter values.
 */
#include "spanner_sql_keys.h"

#include "spanner_sql_ast.h"
#include "spanner_sql_mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Key combinations a statement may pin before its table counts as read whole. */
#define SPANS_MAX 1024

/* One value a key column may take: a literal (converted when planned), a parameter, or
 * every element of an ARRAY parameter. */
enum source_kind { SOURCE_VALUE, SOURCE_PARAM, SOURCE_ARRAY_PARAM };

struct source {
    enum source_kind kind;
    struct sp_stored value; /* SOURCE_VALUE */
    const char *param;
    struct sp_type type; /* the parameter's (for an ARRAY, its element's) */
};

/* The values one key column is pinned to. */
struct choice {
    struct source *sources;
    int count;
};

/* Another table the statement reads only in the key prefixes of pinned (see "also" in
 * spanner_sql_keys.h). */
struct also {
    const char *table;
    struct choice *pinned; /* the plan's own (descendants), or the also's (a parent) */
    int npinned;
    bool own; /* pinned is the also's: freed with it */
};

struct sp_sql_keys {
    enum sp_sql_keys_kind kind;
    const char *table;
    struct choice *pinned; /* key columns 0..npinned-1 */
    int npinned;
    struct also also[SP_SQL_KEYS_ALSO_MAX];
    int nalso;
    struct sp_arena arena;
};

/* --- the statement's shape --- */

/* Whether an expression holds a subquery (which may read any table, this one included). */
static bool has_subquery(const struct sp_expr *e)
{
    if (!e)
        return false;
    if (e->subquery || e->kind == SP_EXPR_SUBQUERY || e->kind == SP_EXPR_EXISTS ||
        e->kind == SP_EXPR_ARRAY_QUERY)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (has_subquery(e->args[i]))
            return true;
    return false;
}

static bool items_have_subquery(const struct sp_select_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        if (has_subquery(items[i].expr))
            return true;
        for (int k = 0; k < items[i].nreplace; k++)
            if (has_subquery(items[i].replace_exprs[k]))
                return true;
    }
    return false;
}

static bool list_has_subquery(struct sp_expr *const *exprs, int n)
{
    for (int i = 0; i < n; i++)
        if (has_subquery(exprs[i]))
            return true;
    return false;
}

/* A query over one table, without subqueries: its FROM; NULL otherwise. */
static const struct sp_from *single_table_query(const struct sp_query *q)
{
    if (q->op != SP_SET_NONE || q->nctes || !q->select)
        return NULL;
    const struct sp_select *s = q->select;
    const struct sp_from *from = s->from;
    if (!from || from->is_join || !from->table || from->subquery || from->unnest)
        return NULL;
    if (items_have_subquery(s->items, s->nitems) || has_subquery(s->where) ||
        list_has_subquery(s->group_by, s->ngroup) || has_subquery(s->having) ||
        has_subquery(q->limit) || has_subquery(q->offset))
        return NULL;
    for (int i = 0; i < q->norder; i++)
        if (has_subquery(q->order[i].expr))
            return NULL;
    return from;
}

/* Whether an UPDATE, DELETE or INSERT ... VALUES reads no table through a subquery. */
static bool dml_without_subquery(const struct sp_statement *s)
{
    if (s->query || has_subquery(s->where) || items_have_subquery(s->returning, s->nreturning))
        return false;
    if (s->kind == SP_STMT_UPDATE && list_has_subquery(s->values, s->ncolumns))
        return false;
    for (int r = 0; s->kind == SP_STMT_INSERT && r < s->nrows; r++)
        if (list_has_subquery(s->rows[r], s->ncolumns))
            return false;
    return true;
}

/* A foreign key of the table to itself: its triggers read other rows of it. */
static bool refers_to_itself(const struct sp_table *table)
{
    for (int i = 0; i < table->nfks; i++)
        if (strcasecmp(table->fks[i].ref_table, table->name) == 0)
            return true;
    return false;
}

/* --- what pins a key column --- */

struct target {
    const struct sp_table *table;
    const char *alias;
    const struct sp_translation *tr;
    struct sp_arena *arena;
};

static bool is_column(const struct target *t, const struct sp_expr *e, const char *name)
{
    if (e->kind != SP_EXPR_COLUMN || strcasecmp(e->name, name) != 0)
        return false;
    return !e->qualifier || strcasecmp(e->qualifier, t->table->name) == 0 ||
           (t->alias && strcasecmp(e->qualifier, t->alias) == 0);
}

static const struct sp_param *param_of(const struct target *t, const char *name)
{
    for (int i = 0; i < t->tr->nparams; i++)
        if (strcasecmp(t->tr->params[i].name, name) == 0)
            return &t->tr->params[i];
    return NULL;
}

/* A literal of the column's type in the text form its JSON value takes. */
static cJSON *literal_json(const struct sp_expr *e, enum sp_type_code code)
{
    if (code == SP_TYPE_BOOL && e->kind == SP_EXPR_BOOL)
        return cJSON_CreateBool(e->bool_value);
    if (e->kind != SP_EXPR_LITERAL)
        return NULL;
    if (code == SP_TYPE_STRING && e->lit == SP_TOK_STRING)
        return cJSON_CreateString(e->text);
    if (code != SP_TYPE_INT64 || e->lit != SP_TOK_INT)
        return NULL;
    for (size_t i = e->text[0] == '-'; e->text[i]; i++)
        if (e->text[i] < '0' || e->text[i] > '9')
            return NULL; /* hexadecimal: left to the translator */
    return cJSON_CreateString(e->text);
}

/* e as one value of column c, into *out. */
static bool value_source(const struct target *t, const struct sp_expr *e, const struct sp_column *c,
                         struct source *out)
{
    *out = (struct source){0};
    if (e->kind == SP_EXPR_PARAM) {
        const struct sp_param *p = param_of(t, e->name);
        if (!p || p->type.code != c->type.code || sp_type_is_composite(p->type.code))
            return false;
        *out = (struct source){SOURCE_PARAM, {0}, p->name, p->type};
        return true;
    }
    cJSON *json = literal_json(e, c->type.code);
    struct sp_type type = {.code = c->type.code, .length = SP_LEN_MAX};
    if (c->type.code != SP_TYPE_STRING)
        type.length = 0;
    struct em_status st = {0};
    bool ok = json && sp_value_from_json(&type, json, c->name, &out->value, &st) == EM_OK;
    cJSON_Delete(json);
    out->kind = SOURCE_VALUE;
    return ok;
}

/* An ARRAY parameter of the column's type (IN UNNEST(@array)). */
static bool array_source(const struct target *t, const struct sp_expr *e, const struct sp_column *c,
                         struct source *out)
{
    const struct sp_param *p = e->kind == SP_EXPR_PARAM ? param_of(t, e->name) : NULL;
    if (!p || p->type.code != SP_TYPE_ARRAY || p->type.element != c->type.code ||
        sp_type_is_composite(c->type.code))
        return false;
    long length = c->type.code == SP_TYPE_STRING || c->type.code == SP_TYPE_BYTES ? SP_LEN_MAX : 0;
    *out =
        (struct source){SOURCE_ARRAY_PARAM, {0}, p->name, {.code = c->type.code, .length = length}};
    return true;
}

static void sources_clear(struct source *sources, int n)
{
    for (int i = 0; i < n; i++)
        sp_stored_clear(&sources[i].value);
}

/* values[0..n) as the column's choice; false (nothing kept) when one is not a value. */
static bool values_choice(const struct target *t, struct sp_expr *const *values, int n,
                          const struct sp_column *c, struct choice *out)
{
    out->sources = sp_arena_alloc(t->arena, (size_t)(n ? n : 1) * sizeof(*out->sources));
    if (!out->sources)
        return false;
    for (out->count = 0; out->count < n; out->count++)
        if (!value_source(t, values[out->count], c, &out->sources[out->count])) {
            sources_clear(out->sources, out->count + 1);
            return false;
        }
    return true;
}

/* Whether the condition e pins column c: its values into *out. */
static bool pins(const struct target *t, const struct sp_expr *e, const struct sp_column *c,
                 struct choice *out)
{
    if (e->kind == SP_EXPR_BINARY && strcmp(e->name, "=") == 0) {
        if (is_column(t, e->args[0], c->name))
            return values_choice(t, &e->args[1], 1, c, out);
        return is_column(t, e->args[1], c->name) && values_choice(t, &e->args[0], 1, c, out);
    }
    if (e->kind != SP_EXPR_IN || e->negated || e->subquery || !is_column(t, e->args[0], c->name))
        return false;
    if (!e->unnest)
        return values_choice(t, &e->args[1], e->nargs - 1, c, out);
    const struct sp_expr *array = e->args[1];
    if (array->kind == SP_EXPR_ARRAY)
        return values_choice(t, array->args, array->nargs, c, out);
    out->sources = sp_arena_alloc(t->arena, sizeof(*out->sources));
    out->count = 1;
    return out->sources && array_source(t, array, c, out->sources);
}

/* The first conjunct of where that pins column c. */
static bool find_pin(const struct target *t, const struct sp_expr *where, const struct sp_column *c,
                     struct choice *out)
{
    if (!where)
        return false;
    if (where->kind == SP_EXPR_BINARY && strcmp(where->name, "AND") == 0)
        return find_pin(t, where->args[0], c, out) || find_pin(t, where->args[1], c, out);
    return pins(t, where, c, out);
}

/* The longest prefix of the key of t's table that where pins: its choices into *pinned
 * (the arena's), their count into *npinned. */
static enum em_code pin_key_prefix(const struct target *t, const struct sp_expr *where,
                                   struct choice **pinned, int *npinned, struct em_status *st)
{
    *npinned = 0;
    *pinned =
        sp_arena_alloc(t->arena, (size_t)(t->table->nkey ? t->table->nkey : 1) * sizeof(**pinned));
    if (!*pinned)
        return EM_FAIL_OOM(st);
    for (int i = 0; i < t->table->nkey; i++) {
        const struct sp_column *c = sp_table_column(t->table, t->table->key[i].column);
        if (!c || !find_pin(t, where, c, &(*pinned)[i]))
            break;
        ++*npinned;
    }
    return EM_OK;
}

/* The longest key prefix where pins into keys. */
static enum em_code plan_spans(struct sp_sql_keys *keys, const struct target *t,
                               const struct sp_expr *where, struct em_status *st)
{
    if (pin_key_prefix(t, where, &keys->pinned, &keys->npinned, st))
        return st->code;
    if (keys->npinned)
        keys->kind = SP_SQL_KEYS_SPANS;
    return EM_OK;
}

/* --- the other tables a statement narrows --- */

static bool add_also(struct sp_sql_keys *keys, const char *table, struct choice *pinned,
                     int npinned, bool own)
{
    if (keys->nalso == SP_SQL_KEYS_ALSO_MAX)
        return false; /* read whole, as the authorizer listed it */
    const char *name = sp_arena_strdup(&keys->arena, table);
    if (!name)
        return false;
    keys->also[keys->nalso++] = (struct also){name, pinned, npinned, own};
    return true;
}

/* Whether table is interleaved (INTERLEAVE IN PARENT, at any depth) under ancestor. */
static bool descends_from(const struct sp_schema *schema, const struct sp_table *table,
                          const char *ancestor)
{
    for (int depth = 0; table && table->parent && depth < 64; depth++) {
        if (strcasecmp(table->parent, ancestor) == 0)
            return true;
        table = sp_schema_table(schema, table->parent);
    }
    return false;
}

/* A DELETE narrowed to key prefixes of its table removes, or looks for (ON DELETE NO
 * ACTION), rows of the tables interleaved under it in those same prefixes: their keys
 * begin with its key. */
static void plan_descendants(struct sp_sql_keys *keys, const struct sp_schema *schema)
{
    for (int i = 0; i < schema->ntables; i++)
        if (descends_from(schema, schema->tables[i], keys->table) &&
            !add_also(keys, schema->tables[i]->name, keys->pinned, keys->npinned, false))
            return;
}

/* The position of column in an INSERT's column list, or -1. */
static int insert_column(const struct sp_statement *s, const char *column)
{
    for (int i = 0; i < s->ncolumns; i++)
        if (strcasecmp(s->columns[i], column) == 0)
            return i;
    return -1;
}

/* An INSERT ... VALUES into an interleaved table checks that each row's parent exists:
 * it reads the parent at the rows' parent keys (the first key columns of the table). Each
 * column's choice is its values in every row: their combinations include each row's. */
static void plan_parent(struct sp_sql_keys *keys, const struct sp_schema *schema,
                        const struct sp_statement *s, const struct target *t)
{
    const struct sp_table *parent = sp_schema_table(schema, t->table->parent);
    if (!parent || parent->nkey > t->table->nkey || s->nrows == 0)
        return;
    struct choice *pinned =
        sp_arena_alloc(&keys->arena, (size_t)(parent->nkey ? parent->nkey : 1) * sizeof(*pinned));
    struct sp_expr **column = sp_arena_alloc(&keys->arena, (size_t)s->nrows * sizeof(*column));
    if (!pinned || !column)
        return;
    int npinned = 0;
    for (; npinned < parent->nkey; npinned++) {
        const char *name = t->table->key[npinned].column;
        const struct sp_column *c = sp_table_column(t->table, name);
        int at = insert_column(s, name);
        if (!c || at < 0)
            break;
        for (int r = 0; r < s->nrows; r++)
            column[r] = s->rows[r][at];
        if (!values_choice(t, column, s->nrows, c, &pinned[npinned]))
            break;
    }
    if (npinned == parent->nkey && add_also(keys, parent->name, pinned, npinned, true))
        return;
    for (int i = 0; i < npinned; i++)
        sources_clear(pinned[i].sources, pinned[i].count);
}

/* INSERT ... SELECT from one other table (a query as narrowed above): blind on its own
 * table, as INSERT ... VALUES is; its source read in the key prefixes the query's WHERE
 * pins, or whole. */
static enum em_code plan_insert_select(struct sp_sql_keys *keys, const struct sp_schema *schema,
                                       const struct sp_statement *s,
                                       const struct sp_translation *tr, struct em_status *st)
{
    const struct sp_from *from = single_table_query(s->query);
    if (!from || items_have_subquery(s->returning, s->nreturning))
        return EM_OK;
    const struct sp_table *target = sp_schema_table_or_synonym(schema, s->table);
    const struct sp_table *source = sp_schema_table_or_synonym(schema, from->table);
    if (!target || !source || target == source || refers_to_itself(target))
        return EM_OK; /* a SELECT of its own table is not blind */
    keys->table = target->name;
    keys->kind = SP_SQL_KEYS_BLIND;
    struct target t = {source, from->alias ? from->alias : from->table, tr, &keys->arena};
    struct choice *pinned;
    int npinned;
    if (pin_key_prefix(&t, s->query->select->where, &pinned, &npinned, st))
        return st->code;
    if (npinned && !add_also(keys, source->name, pinned, npinned, true))
        for (int i = 0; i < npinned; i++)
            sources_clear(pinned[i].sources, pinned[i].count);
    return EM_OK;
}

/* --- the plan --- */

static enum em_code plan_statement(struct sp_sql_keys *keys, const struct sp_schema *schema,
                                   const struct sp_statement *s, const struct sp_translation *tr,
                                   struct em_status *st)
{
    const char *name = s->table, *alias = s->alias ? s->alias : s->table;
    const struct sp_expr *where = s->where;
    /* INSERT OR IGNORE/UPDATE read the row they may write (their row count and effect
     * depend on whether it exists): their tables are read whole (SP_SQL_KEYS_WHOLE) */
    if (s->kind == SP_STMT_INSERT && s->insert_mode != SP_INSERT_PLAIN)
        return EM_OK;
    if (s->kind == SP_STMT_QUERY) {
        const struct sp_from *from = single_table_query(s->query);
        if (!from)
            return EM_OK;
        name = from->table;
        alias = from->alias ? from->alias : from->table; /* the name written: maybe a synonym */
        where = s->query->select->where;
    } else if (s->kind == SP_STMT_INSERT && s->query) {
        return plan_insert_select(keys, schema, s, tr, st);
    } else if (!dml_without_subquery(s)) {
        return EM_OK;
    }
    const struct sp_table *table = sp_schema_table_or_synonym(schema, name);
    if (!table || refers_to_itself(table))
        return EM_OK;
    keys->table = table->name;
    struct target t = {table, alias, tr, &keys->arena};
    if (s->kind == SP_STMT_INSERT) {
        keys->kind = SP_SQL_KEYS_BLIND;
        if (table->parent)
            plan_parent(keys, schema, s, &t);
        return EM_OK;
    }
    if (plan_spans(keys, &t, where, st))
        return st->code;
    if (s->kind == SP_STMT_DELETE && keys->kind == SP_SQL_KEYS_SPANS)
        plan_descendants(keys, schema);
    return EM_OK;
}

enum em_code sp_sql_keys_plan(const struct sp_schema *schema, const char *sql,
                              const struct sp_translation *tr, struct sp_sql_keys **out,
                              struct em_status *st)
{
    *out = NULL;
    struct sp_sql_keys *keys = calloc(1, sizeof(*keys));
    if (!keys)
        return EM_FAIL_OOM(st);
    struct sp_arena arena = {0};
    struct sp_parser p;
    struct sp_statement *s = NULL;
    struct em_status parse_st = {0};
    if (!sp_parser_init(&p, &arena, sql, &parse_st) && !sp_parse_statement(&p, &s))
        plan_statement(keys, schema, s, tr, st);
    if (keys->table && !(keys->table = sp_arena_strdup(&keys->arena, keys->table)))
        EM_FAIL_OOM(st);
    sp_arena_free(&arena);
    if (st->code || keys->kind == SP_SQL_KEYS_WHOLE) {
        sp_sql_keys_free(keys);
        return st->code;
    }
    *out = keys;
    return EM_OK;
}

void sp_sql_keys_free(struct sp_sql_keys *keys)
{
    if (!keys)
        return;
    for (int i = 0; i < keys->npinned; i++)
        sources_clear(keys->pinned[i].sources, keys->pinned[i].count);
    for (int a = 0; a < keys->nalso; a++)
        for (int i = 0; keys->also[a].own && i < keys->also[a].npinned; i++)
            sources_clear(keys->also[a].pinned[i].sources, keys->also[a].pinned[i].count);
    sp_arena_free(&keys->arena);
    free(keys);
}

enum sp_sql_keys_kind sp_sql_keys_kind(const struct sp_sql_keys *keys)
{
    return keys ? keys->kind : SP_SQL_KEYS_WHOLE;
}

const char *sp_sql_keys_table(const struct sp_sql_keys *keys)
{
    return keys ? keys->table : NULL;
}

int sp_sql_keys_also_count(const struct sp_sql_keys *keys)
{
    return keys ? keys->nalso : 0;
}

const char *sp_sql_keys_also_table(const struct sp_sql_keys *keys, int i)
{
    return keys->also[i].table;
}

/* --- the spans of one execution --- */

/* The values of one key column, in storage form. */
struct values {
    struct sp_stored *items;
    int count;
};

static void values_clear(struct values *v)
{
    for (int i = 0; i < v->count; i++)
        sp_stored_clear(&v->items[i]);
    free(v->items);
    *v = (struct values){0};
}

static bool values_push(struct values *v, const struct sp_type *type, const cJSON *json)
{
    struct sp_stored *grown = realloc(v->items, (size_t)(v->count + 1) * sizeof(*grown));
    if (!grown)
        return false;
    v->items = grown;
    struct em_status st = {0};
    if (sp_value_from_json(type, json, "key", &v->items[v->count], &st))
        return false;
    v->count++;
    return true;
}

static bool stored_push(struct values *v, const struct sp_stored *value)
{
    struct sp_stored *grown = realloc(v->items, (size_t)(v->count + 1) * sizeof(*grown));
    if (!grown)
        return false;
    v->items = grown;
    v->items[v->count] = *value;
    if (value->data) {
        if (!(v->items[v->count].data = malloc(value->len + 1)))
            return false;
        memcpy(v->items[v->count].data, value->data, value->len + 1);
    }
    v->count++;
    return true;
}

/* The values a choice takes with these parameters. */
static bool choice_values(const struct choice *c, const cJSON *params, struct values *out)
{
    for (int i = 0; i < c->count; i++) {
        const struct source *s = &c->sources[i];
        const cJSON *json = s->kind == SOURCE_VALUE ? NULL : cJSON_GetObjectItem(params, s->param);
        if (s->kind == SOURCE_VALUE) {
            if (!stored_push(out, &s->value))
                return false;
        } else if (!json) {
            return false; /* the statement did not run */
        } else if (s->kind == SOURCE_PARAM) {
            if (!values_push(out, &s->type, json))
                return false;
        } else if (!cJSON_IsNull(json)) { /* UNNEST(NULL) is empty */
            if (!cJSON_IsArray(json))
                return false;
            const cJSON *item;
            cJSON_ArrayForEach(item, json)
            {
                if (!values_push(out, &s->type, item))
                    return false;
            }
        }
        if (out->count > SPANS_MAX)
            return false;
    }
    return true;
}

/* Every combination of the columns' values, each a span from that key prefix to itself. */
static bool combine(const struct values *columns, int n, struct sp_key_spans *out)
{
    long total = 1;
    for (int i = 0; i < n; i++)
        if ((total *= columns[i].count) > SPANS_MAX)
            return false;
    out->spans = calloc((size_t)(total ? total : 1), sizeof(*out->spans));
    if (!out->spans)
        return false;
    struct sp_stored prefix[64];
    for (long k = 0; k < total; k++) {
        long rest = k;
        for (int i = n - 1; i >= 0; i--) {
            prefix[i] = columns[i].items[rest % columns[i].count];
            rest /= columns[i].count;
        }
        struct sp_key_span view = {prefix, prefix, n, n, false, false};
        if (!sp_key_span_copy(&view, &out->spans[k]))
            return false;
        out->count++;
    }
    return true;
}

/* The spans of the key prefixes pinned[0..npinned) take with these parameters. */
static bool pinned_spans(const struct choice *pinned, int npinned, const cJSON *params,
                         struct sp_key_spans *out)
{
    *out = (struct sp_key_spans){0};
    if (npinned <= 0 || npinned > 64)
        return false;
    struct values columns[64] = {0};
    bool ok = true;
    for (int i = 0; ok && i < npinned; i++)
        ok = choice_values(&pinned[i], params, &columns[i]);
    ok = ok && combine(columns, npinned, out);
    for (int i = 0; i < npinned; i++)
        values_clear(&columns[i]);
    if (!ok)
        sp_key_spans_clear(out);
    return ok;
}

bool sp_sql_keys_spans(const struct sp_sql_keys *keys, const cJSON *params,
                       struct sp_key_spans *out)
{
    *out = (struct sp_key_spans){0};
    return keys && keys->kind == SP_SQL_KEYS_SPANS &&
           pinned_spans(keys->pinned, keys->npinned, params, out);
}

bool sp_sql_keys_also_spans(const struct sp_sql_keys *keys, int i, const cJSON *params,
                            struct sp_key_spans *out)
{
    return pinned_spans(keys->also[i].pinned, keys->also[i].npinned, params, out);
}
