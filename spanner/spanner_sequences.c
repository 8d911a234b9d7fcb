/*
 * spanner_sequences: sequence counters, in memory while a file is open and saved in it at
 * the end of every job (the contract is in spanner_sequences.h).
 */
#include "spanner_sequences.h"

#include "spanner_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* how many counters a draw passes over in the skip range before giving up */
#define SKIP_TRIES_MAX 100000

struct sp_counter {
    char name[260]; /* lower case: names compare case-insensitively */
    int64_t next;   /* the counter the next draw takes; -1 once INT64_MAX was drawn */
    bool drawn;     /* the file has its row (GET_INTERNAL_SEQUENCE_STATE is not NULL) */
    bool moved;     /* not saved since it moved */
};

static void lower_name(const char *name, char out[260])
{
    size_t i = 0;
    for (; i < 259 && name[i]; i++)
        out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    out[i] = '\0';
}

/* Reads the counter's row; *found false when the sequence was never drawn from. */
static bool read_counter(struct sp_counters *c, const char *name, int64_t *next, bool *found)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(c->sqlite, "SELECT next FROM \"$sequences\" WHERE name = ?1", -1,
                                &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    *found = false;
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *found = true;
        *next = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE;
}

/* The counter `key` (a sequence's name, or "<table>.<column>" of an identity column) in
 * memory, read from the file the first time. */
static struct sp_counter *counter_of(struct sp_counters *c, const char *key,
                                     const struct sp_sequence *q, char *error, size_t size)
{
    char name[sizeof(((struct sp_counter *)0)->name)];
    lower_name(key, name);
    for (int i = 0; i < c->count; i++)
        if (strcmp(c->items[i].name, name) == 0)
            return &c->items[i];
    if (c->count == c->cap) {
        int cap = c->cap ? 2 * c->cap : 4;
        struct sp_counter *grown = realloc(c->items, (size_t)cap * sizeof(*grown));
        if (!grown) {
            snprintf(error, size, "RESOURCE_EXHAUSTED: out of memory");
            return NULL;
        }
        c->items = grown;
        c->cap = cap;
    }
    struct sp_counter *n = &c->items[c->count];
    *n = (struct sp_counter){0};
    memcpy(n->name, name, sizeof(name));
    if (!read_counter(c, name, &n->next, &n->drawn)) {
        snprintf(error, size, "INTERNAL: cannot read the counter of sequence %s", key);
        return NULL;
    }
    if (!n->drawn)
        n->next = q->start_with_counter ? q->start_with_counter : 1;
    c->count++;
    return n;
}

/* A sequence by name, or an identity column's by "<table>.<column>". */
static const struct sp_sequence *find(struct sp_counters *c, const char *name, char *error,
                                      size_t size)
{
    const struct sp_schema *schema = *c->schema;
    const char *dot = strchr(name, '.');
    const struct sp_sequence *q = NULL;
    if (schema && !dot) {
        q = sp_schema_sequence(schema, name);
    } else if (schema && dot - name < 200) {
        char table[200];
        snprintf(table, sizeof(table), "%.*s", (int)(dot - name), name);
        const struct sp_table *t = sp_schema_table(schema, table);
        const struct sp_column *col = t ? sp_table_column(t, dot + 1) : NULL;
        q = col ? col->identity : NULL;
    }
    if (!q)
        snprintf(error, size, "NOT_FOUND: Sequence not found: %.128s", name);
    return q;
}

static bool draw(void *arg, const char *name, int64_t *value, char *error, size_t size)
{
    struct sp_counters *c = arg;
    const struct sp_sequence *q = find(c, name, error, size);
    struct sp_counter *n = q ? counter_of(c, name, q, error, size) : NULL;
    if (!n)
        return false;
    for (int tries = 0; tries < SKIP_TRIES_MAX; tries++) {
        if (n->next < 1) {
            snprintf(error, size, "OUT_OF_RANGE: Sequence %.200s has no value left", name);
            return false;
        }
        int64_t counter = n->next;
        n->next = counter == INT64_MAX ? -1 : counter + 1;
        n->drawn = n->moved = true;
        *value = sp_sequence_value(counter);
        if (!q->has_skip || *value < q->skip_min || *value > q->skip_max)
            return true;
    }
    snprintf(error, size,
             "OUT_OF_RANGE: Sequence %.200s found no value outside its skip range in %d counters",
             name, SKIP_TRIES_MAX);
    return false;
}

static bool state(void *arg, const char *name, int64_t *counter, bool *drawn, char *error,
                  size_t size)
{
    struct sp_counters *c = arg;
    const struct sp_sequence *q = find(c, name, error, size);
    struct sp_counter *n = q ? counter_of(c, name, q, error, size) : NULL;
    if (!n)
        return false;
    *counter = n->next;
    *drawn = n->drawn;
    return true;
}

enum em_code sp_counters_open(struct sp_counters *c, sqlite3 *sqlite,
                              struct sp_schema *const *schema, struct em_status *st)
{
    *c = (struct sp_counters){.sqlite = sqlite, .schema = schema};
    c->source = (struct sp_sequence_source){draw, state, c};
    int rc = sqlite3_exec(sqlite, SP_SEQUENCES_TABLE_SQL, NULL, NULL, NULL);
    return rc == SQLITE_OK ? EM_OK : sp_sql_error(sqlite, rc, st);
}

enum em_code sp_counters_save(struct sp_counters *c, struct em_status *st)
{
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_OK;
    for (int i = 0; i < c->count && rc == SQLITE_OK; i++) {
        struct sp_counter *n = &c->items[i];
        if (!n->moved)
            continue;
        if (!stmt)
            rc = sqlite3_prepare_v2(c->sqlite,
                                    "INSERT OR REPLACE INTO \"$sequences\" (name, next) "
                                    "VALUES (?1, ?2)",
                                    -1, &stmt, NULL);
        if (rc == SQLITE_OK &&
            (rc = sqlite3_bind_text(stmt, 1, n->name, -1, SQLITE_STATIC)) == SQLITE_OK &&
            (rc = sqlite3_bind_int64(stmt, 2, n->next)) == SQLITE_OK &&
            (rc = sqlite3_step(stmt)) == SQLITE_DONE) {
            rc = sqlite3_reset(stmt);
            n->moved = false;
        }
    }
    enum em_code code = rc == SQLITE_OK ? EM_OK : sp_sql_error(c->sqlite, rc, st);
    sqlite3_finalize(stmt);
    return code;
}

void sp_counters_clear(struct sp_counters *c)
{
    c->count = 0;
}

void sp_counters_close(struct sp_counters *c)
{
    free(c->items);
    c->items = NULL;
    c->count = c->cap = 0;
}
