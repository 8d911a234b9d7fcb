/*
 * spanner_change_streams: CREATE, ALTER and DROP CHANGE STREAM, checked as Spanner checks
 * them (see spanner_change_streams.h). A statement parses into a new struct
 * sp_change_stream in the schema's arena; it is checked against the schema and swapped in
 * only when every check passed. Messages follow Google's Spanner emulator.
 */
#include "spanner_change_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_LIST_MAX 5000 /* more tables or columns than a database can have */

static const char *const capture_types[] = {"OLD_AND_NEW_VALUES", "NEW_ROW", "NEW_VALUES",
                                            "NEW_ROW_AND_OLD_VALUES"};

/* A growing list of names, copied into the schema's arena once complete. */
struct names {
    const char **items;
    int count, cap;
};

static enum em_code names_add(struct names *list, const char *name, struct em_status *st)
{
    if (list->count == NAME_LIST_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A change stream's FOR clause lists at most %d names.", NAME_LIST_MAX);
    if (list->count == list->cap) {
        int cap = list->cap ? 2 * list->cap : 8;
        const char **items = realloc(list->items, (size_t)cap * sizeof(*items));
        if (!items)
            return EM_FAIL_OOM(st);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = name;
    return EM_OK;
}

static void *arena_copy(struct sp_schema *s, const void *items, int count, size_t size,
                        struct em_status *st)
{
    void *copy = sp_arena_alloc(&s->arena, (size_t)(count ? count : 1) * size);
    if (!copy) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    if (count)
        memcpy(copy, items, (size_t)count * size);
    return copy;
}

/* "t" or "t(c, ...)" of a FOR clause, names as written (checked later). */
static enum em_code tracked_table(struct sp_parser *p, struct sp_schema *s,
                                  struct sp_change_stream_table *entry)
{
    struct names columns = {0};
    *entry = (struct sp_change_stream_table){0};
    if (sp_expect_object_name(p, "table name", &entry->table))
        return p->st->code;
    if (!sp_accept_op(p, "(")) {
        entry->all_columns = true;
        return EM_OK;
    }
    if (!sp_accept_op(p, ")")) {
        do {
            const char *column;
            if (sp_expect_identifier(p, "column name", &column) ||
                names_add(&columns, column, p->st))
                break;
        } while (sp_accept_op(p, ","));
        if (!p->st->code)
            sp_expect_op(p, ")");
    }
    if (!p->st->code) {
        entry->ncolumns = columns.count;
        entry->columns = arena_copy(s, columns.items, columns.count, sizeof(char *), p->st);
    }
    free(columns.items);
    return p->st->code;
}

/* FOR ALL | FOR t[(c, ...)], ... (the FOR already read) */
static enum em_code for_clause(struct sp_parser *p, struct sp_schema *s,
                               struct sp_change_stream *cs)
{
    cs->for_all = sp_accept_keyword(p, "ALL");
    cs->tables = NULL;
    cs->ntables = 0;
    if (cs->for_all)
        return EM_OK;
    struct sp_change_stream_table *tables = NULL;
    int count = 0;
    do {
        struct sp_change_stream_table *grown =
            count < NAME_LIST_MAX ? realloc(tables, (size_t)(count + 1) * sizeof(*tables)) : NULL;
        if (!grown) {
            if (count < NAME_LIST_MAX)
                EM_FAIL_OOM(p->st);
            else
                EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                        "A change stream's FOR clause lists at most %d tables.", NAME_LIST_MAX);
            break;
        }
        tables = grown;
        if (tracked_table(p, s, &tables[count++]))
            break;
    } while (sp_accept_op(p, ","));
    if (!p->st->code) {
        cs->ntables = count;
        cs->tables = arena_copy(s, tables, count, sizeof(*tables), p->st);
    }
    free(tables);
    return p->st->code;
}

static int option_index(const char *name)
{
    for (int i = 0; i < SP_CS_NOPTIONS; i++)
        if (strcasecmp(sp_change_stream_option_names[i], name) == 0)
            return i;
    return -1;
}

/* One option's value: a string for the string options, TRUE or FALSE for the others, or
 * NULL (back to the default). */
static enum em_code option_value(struct sp_parser *p, struct sp_schema *s, int option,
                                 const char **value)
{
    const char *name = sp_change_stream_option_names[option];
    const struct sp_token *tok = sp_peek(p);
    if (sp_accept_keyword(p, "NULL")) {
        *value = NULL;
    } else if (option < SP_CS_FIRST_BOOL) {
        if (tok->kind != SP_TOK_STRING)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Unexpected value for option: %s. Supported option values are strings "
                           "and NULL.",
                           name);
        if (!(*value = sp_arena_strdup(&s->arena, tok->value)))
            return EM_FAIL_OOM(p->st);
        sp_next(p);
    } else if (sp_accept_keyword(p, "TRUE")) {
        *value = "true";
    } else if (sp_accept_keyword(p, "FALSE")) {
        *value = "false";
    } else {
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Unexpected value for option: %s. Supported option values are booleans "
                       "and NULL.",
                       name);
    }
    return EM_OK;
}

static int next_order(const struct sp_change_stream *cs)
{
    int last = 0;
    for (int i = 0; i < SP_CS_NOPTIONS; i++)
        if (cs->options[i] && cs->option_order[i] > last)
            last = cs->option_order[i];
    return last + 1;
}

/* OPTIONS (name = value, ...) (the OPTIONS already read): each named option set or unset */
static enum em_code options_clause(struct sp_parser *p, struct sp_schema *s,
                                   struct sp_change_stream *cs)
{
    bool seen[SP_CS_NOPTIONS] = {false};
    if (sp_expect_op(p, "("))
        return p->st->code;
    do {
        const char *name;
        if (sp_expect_identifier(p, "option name", &name) || sp_expect_op(p, "="))
            return p->st->code;
        int option = option_index(name);
        if (option < 0)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Option: %.64s is unknown.", name);
        if (seen[option])
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Duplicate option: %s",
                           sp_change_stream_option_names[option]);
        seen[option] = true;
        bool was_set = cs->options[option] != NULL;
        if (option_value(p, s, option, &cs->options[option]))
            return p->st->code;
        if (!cs->options[option])
            cs->option_order[option] = 0;
        else if (!was_set)
            cs->option_order[option] = next_order(cs);
    } while (sp_accept_op(p, ","));
    return sp_expect_op(p, ")");
}

static enum em_code check_options(const struct sp_change_stream *cs, struct em_status *st)
{
    const char *retention = cs->options[SP_CS_RETENTION_PERIOD];
    int64_t ns;
    if (retention && !sp_duration_parse(retention, &ns))
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "Invalid time duration format: %.64s.",
                       retention);
    if (retention && (ns < 24 * SP_DEFAULT_RETENTION_NS || ns > SP_MAX_RETENTION_NS))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Invalid retention_period: %s. Change Streams retention period must be a "
                       "value in the range [24h, 7d].",
                       retention);
    const char *capture = cs->options[SP_CS_VALUE_CAPTURE_TYPE];
    if (!capture)
        return EM_OK;
    for (size_t i = 0; i < sizeof(capture_types) / sizeof(capture_types[0]); i++)
        if (strcmp(capture, capture_types[i]) == 0)
            return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Invalid value_capture_type: %.64s. Change Streams only support value capture "
                   "types in OLD_AND_NEW_VALUES, NEW_ROW, NEW_VALUES, and NEW_ROW_AND_OLD_VALUES.",
                   capture);
}

/* One FOR clause column: it exists, is not a key column, is listed once. Its name becomes
 * the schema's spelling. */
static enum em_code check_column(const struct sp_change_stream *cs, const struct sp_table *t,
                                 struct sp_change_stream_table *entry, int k, struct em_status *st)
{
    const struct sp_column *c = sp_table_column(t, entry->columns[k]);
    if (!c)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Change Stream %s cannot track column %s because it does not exist in "
                       "Table %s.",
                       cs->name, entry->columns[k], t->name);
    if (sp_table_is_key(t, c->name))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The FOR clause of Change Stream %s should not list the primary key "
                       "column %s of Table %s. Please list non-key columns only, because primary "
                       "key columns are always tracked if the table is tracked.",
                       cs->name, c->name, t->name);
    for (int j = 0; j < k; j++)
        if (strcasecmp(entry->columns[j], c->name) == 0)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Change Stream %s should not list Column %s of Table %s more than "
                           "once in the FOR clause.",
                           cs->name, c->name, t->name);
    entry->columns[k] = c->name;
    return EM_OK;
}

static enum em_code check_tables(struct sp_change_stream *cs, const struct sp_schema *s,
                                 struct em_status *st)
{
    for (int i = 0; i < cs->ntables; i++) {
        struct sp_change_stream_table *entry = &cs->tables[i];
        const struct sp_table *t = sp_schema_table(s, entry->table);
        if (!t)
            return EM_FAIL(st, EM_FAILED_PRECONDITION,
                           "Change Stream %s cannot track %s because either Change Streams do "
                           "not track database objects of this type, or this Table does not "
                           "exist.",
                           cs->name, entry->table);
        for (int j = 0; j < i; j++)
            if (strcasecmp(cs->tables[j].table, t->name) == 0)
                return EM_FAIL(st, EM_FAILED_PRECONDITION,
                               "Change Stream %s should not list Table %s more than once in the "
                               "FOR clause.",
                               cs->name, t->name);
        entry->table = t->name;
        for (int k = 0; k < entry->ncolumns; k++)
            if (check_column(cs, t, entry, k, st))
                return st->code;
    }
    return EM_OK;
}

static bool tracks_column(const struct sp_change_stream *cs, const char *table, const char *column)
{
    if (cs->for_all)
        return true;
    for (int i = 0; i < cs->ntables; i++) {
        if (strcasecmp(cs->tables[i].table, table) != 0)
            continue;
        if (cs->tables[i].all_columns)
            return true;
        for (int k = 0; k < cs->tables[i].ncolumns; k++)
            if (strcasecmp(cs->tables[i].columns[k], column) == 0)
                return true;
    }
    return false;
}

/* The first name tracked by more than SP_CHANGE_STREAMS_PER_COLUMN change streams, in
 * the order Google's emulator checks: a whole table, a non-key column, ALL. NULL if none. */
static const char *over_limit(const struct sp_schema *s)
{
    for (int i = 0; i < s->ntables; i++) {
        int count = 0;
        for (int j = 0; j < s->nchange_streams; j++) {
            const struct sp_change_stream *cs = s->change_streams[j];
            bool whole = cs->for_all;
            for (int k = 0; k < cs->ntables && !whole; k++)
                whole = cs->tables[k].all_columns &&
                        strcasecmp(cs->tables[k].table, s->tables[i]->name) == 0;
            count += whole;
        }
        if (count > SP_CHANGE_STREAMS_PER_COLUMN)
            return s->tables[i]->name;
    }
    for (int i = 0; i < s->ntables; i++) {
        const struct sp_table *t = s->tables[i];
        for (int k = 0; k < t->ncolumns; k++) {
            if (sp_table_is_key(t, t->columns[k].name))
                continue;
            int count = 0;
            for (int j = 0; j < s->nchange_streams; j++)
                count += tracks_column(s->change_streams[j], t->name, t->columns[k].name);
            if (count > SP_CHANGE_STREAMS_PER_COLUMN)
                return t->columns[k].name;
        }
    }
    int all = 0;
    for (int i = 0; i < s->nchange_streams; i++)
        all += s->change_streams[i]->for_all;
    return all > SP_CHANGE_STREAMS_PER_COLUMN ? "ALL" : NULL;
}

static enum em_code check_per_column_limit(const struct sp_schema *s, const char *name,
                                           struct em_status *st)
{
    const char *over = over_limit(s);
    if (!over)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Failed to create or alter Change Stream %s : because it is not allowed to "
                   "have more than %d Change Streams tracking the same table or non-key column "
                   "or ALL: %s.",
                   name, SP_CHANGE_STREAMS_PER_COLUMN, over);
}

/* The schema with cs in place of the change stream at `at` (or added, at < 0), if that
 * keeps every limit; the array is a new copy, so a refused statement leaves it as it was. */
static enum em_code put(struct sp_schema *s, struct sp_change_stream *cs, int at,
                        struct em_status *st)
{
    int count = s->nchange_streams + (at < 0);
    struct sp_change_stream **streams = sp_arena_alloc(&s->arena, (size_t)count * sizeof(*streams));
    if (!streams)
        return EM_FAIL_OOM(st);
    if (s->nchange_streams)
        memcpy(streams, s->change_streams, (size_t)s->nchange_streams * sizeof(*streams));
    streams[at < 0 ? count - 1 : at] = cs;
    struct sp_change_stream **old = s->change_streams;
    int old_count = s->nchange_streams;
    s->change_streams = streams;
    s->nchange_streams = count;
    if (check_per_column_limit(s, cs->name, st)) {
        s->change_streams = old;
        s->nchange_streams = old_count;
    }
    return st->code;
}

enum em_code sp_change_stream_create(struct sp_parser *p, struct sp_schema *s, const char *name,
                                     struct em_status *st)
{
    struct sp_change_stream *cs = sp_arena_alloc(&s->arena, sizeof(*cs));
    if (!cs)
        return EM_FAIL_OOM(st);
    *cs = (struct sp_change_stream){.name = name};
    if (sp_accept_keyword(p, "FOR") && for_clause(p, s, cs))
        return st->code;
    if (sp_accept_keyword(p, "OPTIONS") && options_clause(p, s, cs))
        return st->code;
    if (sp_peek(p)->kind != SP_TOK_EOF)
        return sp_syntax_error(p);
    if (check_tables(cs, s, st) || check_options(cs, st))
        return st->code;
    if (s->nchange_streams >= SP_CHANGE_STREAMS_MAX)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot add Change Stream %s : because the maximum number of Change "
                       "Streams per Database (limit %d) has been reached.",
                       name, SP_CHANGE_STREAMS_MAX);
    cs->seq = s->next_seq;
    if (put(s, cs, -1, st))
        return st->code;
    s->next_seq++;
    return EM_OK;
}

static int find(const struct sp_schema *s, const char *name)
{
    for (int i = 0; i < s->nchange_streams; i++)
        if (strcasecmp(s->change_streams[i]->name, name) == 0)
            return i;
    return -1;
}

enum em_code sp_change_stream_alter(struct sp_parser *p, struct sp_schema *s, struct em_status *st)
{
    const char *name;
    if (sp_expect_identifier(p, "change stream name", &name))
        return st->code;
    int at = find(s, name);
    if (at < 0)
        return EM_FAIL(st, EM_NOT_FOUND, "Change Stream not found: %.128s", name);
    struct sp_change_stream *cs = sp_arena_alloc(&s->arena, sizeof(*cs));
    if (!cs)
        return EM_FAIL_OOM(st);
    *cs = *s->change_streams[at];
    if (sp_accept_keyword(p, "DROP")) {
        if (sp_expect_keyword(p, "FOR") || sp_expect_keyword(p, "ALL"))
            return st->code;
        cs->for_all = false;
        cs->tables = NULL;
        cs->ntables = 0;
    } else if (sp_expect_keyword(p, "SET")) {
        return st->code;
    } else if (sp_accept_keyword(p, "FOR")) {
        if (for_clause(p, s, cs))
            return st->code;
    } else if (sp_accept_keyword(p, "OPTIONS")) {
        if (options_clause(p, s, cs))
            return st->code;
    } else {
        return sp_syntax_error(p);
    }
    if (sp_peek(p)->kind != SP_TOK_EOF)
        return sp_syntax_error(p);
    if (check_tables(cs, s, st) || check_options(cs, st))
        return st->code;
    return put(s, cs, at, st);
}

enum em_code sp_change_stream_drop(struct sp_schema *s, const char *name, struct em_status *st)
{
    int at = find(s, name);
    if (at < 0)
        return EM_FAIL(st, EM_NOT_FOUND, "Change Stream not found: %.128s", name);
    struct sp_change_stream **streams = sp_arena_alloc(
        &s->arena, (size_t)(s->nchange_streams ? s->nchange_streams : 1) * sizeof(*streams));
    if (!streams)
        return EM_FAIL_OOM(st);
    int count = 0;
    for (int i = 0; i < s->nchange_streams; i++)
        if (i != at)
            streams[count++] = s->change_streams[i];
    s->change_streams = streams;
    s->nchange_streams = count;
    return EM_OK;
}

enum em_code sp_change_stream_rename_table(struct sp_schema *s, const char *from, const char *to,
                                           struct em_status *st)
{
    for (int i = 0; i < s->nchange_streams; i++) {
        const struct sp_change_stream *cs = s->change_streams[i];
        int at = -1;
        for (int j = 0; j < cs->ntables && at < 0; j++)
            if (strcasecmp(cs->tables[j].table, from) == 0)
                at = j;
        if (at < 0)
            continue;
        struct sp_change_stream *copy = sp_arena_alloc(&s->arena, sizeof(*copy));
        if (!copy)
            return EM_FAIL_OOM(st);
        *copy = *cs;
        copy->tables = arena_copy(s, cs->tables, cs->ntables, sizeof(*cs->tables), st);
        if (!copy->tables)
            return st->code;
        copy->tables[at].table = to;
        s->change_streams[i] = copy; /* the array itself is the clone's own */
    }
    return EM_OK;
}

/* "S1,S2" of the change streams listing the table (column NULL) or the column; how many. */
static int listed_by(const struct sp_schema *s, const char *table, const char *column, char *out,
                     size_t size)
{
    int count = 0;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < s->nchange_streams; i++) {
        const struct sp_change_stream *cs = s->change_streams[i];
        bool listed = false;
        for (int j = 0; j < cs->ntables && !listed; j++) {
            if (strcasecmp(cs->tables[j].table, table) != 0)
                continue;
            listed = !column;
            for (int k = 0; k < cs->tables[j].ncolumns && !listed; k++)
                listed = strcasecmp(cs->tables[j].columns[k], column) == 0;
        }
        if (!listed)
            continue;
        int n = snprintf(out + used, size - used, "%s%s", count ? "," : "", cs->name);
        if (n > 0 && (size_t)n < size - used)
            used += (size_t)n;
        count++;
    }
    return count;
}

enum em_code sp_change_stream_table_droppable(const struct sp_schema *s, const char *table,
                                              struct em_status *st)
{
    char names[1024];
    int count = listed_by(s, table, NULL, names, sizeof(names));
    if (!count)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Cannot drop table %s. Table %s is tracked by %d Change Stream%s: %s. Tables "
                   "explicitly tracked by a Change Stream cannot be dropped. Please drop the "
                   "Change Stream or modify its FOR clause to stop tracking the table explicitly "
                   "before dropping the table.",
                   table, table, count, count > 1 ? "s" : "", names);
}

enum em_code sp_change_stream_column_droppable(const struct sp_schema *s, const char *table,
                                               const char *column, struct em_status *st)
{
    char names[1024];
    int count = listed_by(s, table, column, names, sizeof(names));
    if (!count)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Cannot drop column %s.%s . Column %s.%s is tracked by %d Change Stream%s: %s. "
                   "Columns explicitly tracked by a Change Stream cannot be dropped. Please alter "
                   "the Change Stream to stop tracking the column before dropping the column.",
                   table, column, table, column, count, count > 1 ? "s" : "", names);
}
