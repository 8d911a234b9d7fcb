/*
 * bigtable_cells: the SQL of a replica's data file (see bigtable_cells.h).
 */
#include "bigtable_cells.h"

#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const bt_cells_migrations[] = {
    "CREATE TABLE cells ("
    " row BLOB NOT NULL,"
    " family TEXT NOT NULL,"
    " qualifier BLOB NOT NULL,"
    " ts INTEGER NOT NULL,"
    " value BLOB NOT NULL,"
    " PRIMARY KEY (row, family, qualifier, ts)) WITHOUT ROWID;",
    "CREATE TABLE replication_log ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " target TEXT NOT NULL,"
    " due INTEGER NOT NULL,"
    " entry BLOB NOT NULL);"
    "CREATE INDEX replication_log_by_target ON replication_log(target, seq);",
    "CREATE TABLE replication_received ("
    " source TEXT PRIMARY KEY,"
    " seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE replication_identity (id TEXT NOT NULL);"
    "INSERT INTO replication_identity VALUES (lower(hex(randomblob(16))));",
};

static enum em_code cells_opened(struct em_store *store, void *arg, void **state,
                                 struct em_status *st)
{
    (void)arg;
    *state = NULL;
    return em_store_migrate(store, "bigtable_cells", bt_cells_migrations,
                            (int)(sizeof(bt_cells_migrations) / sizeof(bt_cells_migrations[0])),
                            st);
}

const struct em_datastore_hooks bt_cells_hooks = {.opened = cells_opened};

static void bind_bytes(sqlite3_stmt *stmt, int index, struct bt_bytes b)
{
    /* a zero-length blob, not NULL: an empty qualifier is a qualifier */
    sqlite3_bind_blob(stmt, index, b.len ? (const void *)b.data : "", (int)b.len, SQLITE_STATIC);
}

/* A statement on one column's cells, its row, family and qualifier bound to ?1 ?2 ?3. */
static sqlite3_stmt *column_stmt(struct em_store *store, const char *sql, struct bt_bytes key,
                                 const char *family, struct bt_bytes qualifier,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (stmt) {
        bind_bytes(stmt, 1, key);
        em_bind_text(stmt, 2, family);
        bind_bytes(stmt, 3, qualifier);
    }
    return stmt;
}

/* --- mutations --- */

/* The state of m's cell once m's input is folded in: the cell's value read (a view, valid
 * until the statement is reset, so folded before that), or m's input alone when there is
 * no cell yet. */
static enum em_code aggregate_state(struct em_store *store, struct bt_bytes key,
                                    const struct bt_mutation *m, int64_t *state,
                                    struct em_status *st)
{
    sqlite3_stmt *stmt = column_stmt(store,
                                     "SELECT value FROM cells WHERE row = ?1 AND family = ?2 AND "
                                     "qualifier = ?3 AND ts = ?4",
                                     key, m->family, m->qualifier, st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 4, m->timestamp_micros);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        struct bt_bytes current = {sqlite3_column_blob(stmt, 0),
                                   (size_t)sqlite3_column_bytes(stmt, 0)};
        bt_aggregate_cell_state(m, &current, state, st);
    } else if (rc == SQLITE_DONE) {
        bt_aggregate_cell_state(m, NULL, state, st);
    } else {
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    }
    em_stmt_done(stmt);
    return st->code;
}

static enum em_code apply_one(struct em_store *store, struct bt_bytes key,
                              const struct bt_mutation *m, struct em_status *st);

/* addToCell, mergeToCell: the cell's state folded with the input, written back as a
 * setCell of the new state writes it. */
static enum em_code apply_aggregate(struct em_store *store, struct bt_bytes key,
                                    const struct bt_mutation *m, struct em_status *st)
{
    int64_t state;
    uint8_t value[BT_AGG_STATE_BYTES];
    if (!m->has_input)
        return EM_OK; /* merging NULL has no effect */
    if (aggregate_state(store, key, m, &state, st))
        return st->code;
    bt_int64_encode(state, value);
    struct bt_mutation set = *m;
    set.kind = BT_MUT_SET_CELL;
    set.value = (struct bt_bytes){value, sizeof(value)};
    return apply_one(store, key, &set, st);
}

static enum em_code apply_one(struct em_store *store, struct bt_bytes key,
                              const struct bt_mutation *m, struct em_status *st)
{
    if (bt_mutation_aggregates(m))
        return apply_aggregate(store, key, m, st);
    static const char *const sql[] = {
        [BT_MUT_SET_CELL] = "INSERT OR REPLACE INTO cells(row, family, qualifier, ts, value) "
                            "VALUES(?1, ?2, ?3, ?4, ?5)",
        [BT_MUT_DELETE_FROM_COLUMN] = "DELETE FROM cells WHERE row = ?1 AND family = ?2 AND "
                                      "qualifier = ?3 AND ts >= ?4 AND ts < ?6",
        [BT_MUT_DELETE_FROM_FAMILY] = "DELETE FROM cells WHERE row = ?1 AND family = ?2",
        [BT_MUT_DELETE_FROM_ROW] = "DELETE FROM cells WHERE row = ?1",
    };
    sqlite3_stmt *stmt = em_store_stmt(store, sql[m->kind], st);
    if (!stmt)
        return st->code;
    bind_bytes(stmt, 1, key);
    if (m->kind != BT_MUT_DELETE_FROM_ROW)
        em_bind_text(stmt, 2, m->family);
    if (m->kind == BT_MUT_SET_CELL || m->kind == BT_MUT_DELETE_FROM_COLUMN)
        bind_bytes(stmt, 3, m->qualifier);
    if (m->kind == BT_MUT_SET_CELL) {
        sqlite3_bind_int64(stmt, 4, m->timestamp_micros);
        bind_bytes(stmt, 5, m->value);
    }
    if (m->kind == BT_MUT_DELETE_FROM_COLUMN) {
        sqlite3_bind_int64(stmt, 4, m->start_micros);
        sqlite3_bind_int64(stmt, 6, m->end_micros > 0 ? m->end_micros : INT64_MAX);
    }
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

/* --- garbage collection as columns are written --- */

/* The column whose versions version_ts reads. */
struct column_query {
    struct em_store *store;
    struct bt_bytes key, qualifier;
    const char *family;
    struct em_status *st;
    bool failed;
};

static bool version_ts(void *arg, int64_t n, int64_t *ts)
{
    struct column_query *q = arg;
    sqlite3_stmt *stmt = column_stmt(q->store,
                                     "SELECT ts FROM cells WHERE row = ?1 AND family = ?2 AND "
                                     "qualifier = ?3 ORDER BY ts DESC LIMIT 1 OFFSET ?4",
                                     q->key, q->family, q->qualifier, q->st);
    if (!stmt) {
        q->failed = true;
        return false;
    }
    sqlite3_bind_int64(stmt, 4, n);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *ts = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        q->failed = em_store_error(sqlite3_db_handle(stmt), rc, q->st) != EM_OK;
    em_stmt_done(stmt);
    return rc == SQLITE_ROW;
}

/* Deletes one column's garbage: its cells at or before the rule's threshold. */
static enum em_code collect_column(struct em_store *store, struct bt_bytes key, const char *family,
                                   struct bt_bytes qualifier, const struct bt_cells_gc *gc,
                                   struct em_status *st)
{
    const struct bt_gc_rule *rule = bt_gc_families_rule(
        gc->families, (struct bt_bytes){(const uint8_t *)family, strlen(family)});
    struct column_query q = {store, key, qualifier, family, st, false};
    int64_t threshold;
    bool some = rule && bt_gc_threshold(rule, gc->now_micros, version_ts, &q, &threshold);
    if (q.failed || !some)
        return q.failed ? st->code : EM_OK;
    sqlite3_stmt *stmt = column_stmt(store,
                                     "DELETE FROM cells WHERE row = ?1 AND family = ?2 AND "
                                     "qualifier = ?3 AND ts <= ?4",
                                     key, family, qualifier, st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 4, threshold);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

static int compare_columns(const void *a, const void *b)
{
    const struct bt_mutation *x = *(const struct bt_mutation *const *)a;
    const struct bt_mutation *y = *(const struct bt_mutation *const *)b;
    int c = strcmp(x->family, y->family);
    size_t n = x->qualifier.len < y->qualifier.len ? x->qualifier.len : y->qualifier.len;
    if (!c && n)
        c = memcmp(x->qualifier.data, y->qualifier.data, n);
    return c ? c : (x->qualifier.len > y->qualifier.len) - (x->qualifier.len < y->qualifier.len);
}

/* Collects the garbage of every column row's mutations set, each column once. */
static enum em_code collect_row(struct em_store *store, const struct bt_row_mutations *row,
                                const struct bt_cells_gc *gc, struct em_status *st)
{
    if (!gc || !bt_gc_families_any(gc->families))
        return EM_OK;
    const struct bt_mutations *m = row->mutations;
    const struct bt_mutation **sets = malloc((m->n ? m->n : 1) * sizeof(*sets));
    if (!sets)
        return EM_FAIL_OOM(st);
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].kind == BT_MUT_SET_CELL || bt_mutation_aggregates(&m->items[i]))
            sets[n++] = &m->items[i];
    qsort(sets, n, sizeof(*sets), compare_columns);
    enum em_code rc = EM_OK;
    for (size_t i = 0; rc == EM_OK && i < n; i++)
        if (i == 0 || compare_columns(&sets[i - 1], &sets[i]) != 0)
            rc = collect_column(store, row->key, sets[i]->family, sets[i]->qualifier, gc, st);
    free(sets);
    return rc;
}

/* A replicated entry's turn: *apply false when this replica received it before (its seq
 * is not past the last one recorded from its source); else the seq is recorded, in the
 * transaction that applies the entry. */
static enum em_code receive_entry(struct em_store *store, const char *source, int64_t seq,
                                  bool *apply, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT seq FROM replication_received WHERE source = ?1", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, source);
    int rc = sqlite3_step(stmt);
    int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    *apply = seq > last;
    if (st->code || !*apply)
        return st->code;
    stmt = em_store_stmt(
        store, "INSERT OR REPLACE INTO replication_received(source, seq) VALUES(?1, ?2)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, source);
    sqlite3_bind_int64(stmt, 2, seq);
    em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return st->code;
}

enum em_code bt_cells_mutate_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct bt_cells_mutate_job *job = arg;
    struct em_store *store = em_datafile_store(file);
    bool apply = true;
    if (job->source && receive_entry(store, job->source, job->seq, &apply, st))
        return st->code;
    for (size_t r = 0; apply && r < job->count; r++) {
        for (size_t i = 0; i < job->rows[r].mutations->n; i++)
            if (apply_one(store, job->rows[r].key, &job->rows[r].mutations->items[i], st))
                return st->code;
        if (collect_row(store, &job->rows[r], job->gc, st))
            return st->code;
    }
    return EM_OK;
}

enum em_code bt_cells_mutate(struct em_datafile *file, const struct bt_row_mutations *rows,
                             size_t count, const struct bt_cells_gc *gc, struct em_status *st)
{
    return bt_cells_mutate_received(file, rows, count, gc, NULL, 0, st);
}

enum em_code bt_cells_mutate_received(struct em_datafile *file, const struct bt_row_mutations *rows,
                                      size_t count, const struct bt_cells_gc *gc,
                                      const char *source, int64_t seq, struct em_status *st)
{
    struct bt_cells_mutate_job job = {rows, count, gc, source, seq};
    return em_datafile_run(file, bt_cells_mutate_job, &job, st);
}

/* --- row sets --- */

static int compare(struct bt_bytes a, struct bt_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.data, b.data, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static bool range_covers(const struct bt_row_range *r, struct bt_bytes key)
{
    if (r->has_start) {
        int c = compare(key, r->start);
        if (c < 0 || (c == 0 && r->start_open))
            return false;
    }
    if (r->has_end) {
        int c = compare(key, r->end);
        if (c > 0 || (c == 0 && !r->end_closed))
            return false;
    }
    return true;
}

bool bt_row_set_covers(const struct bt_row_set *set, struct bt_bytes key)
{
    if (set->key_count == 0 && set->range_count == 0)
        return true;
    for (size_t i = 0; i < set->key_count; i++)
        if (compare(set->keys[i], key) == 0)
            return true;
    for (size_t i = 0; i < set->range_count; i++)
        if (range_covers(&set->ranges[i], key))
            return true;
    return false;
}

/* --- reads --- */

/* A row being collected: copies of its cells' bytes. */
struct row_buf {
    uint8_t *key;
    size_t key_len;
    struct bt_cell *cells;
    size_t count, cap;
};

static void row_buf_clear(struct row_buf *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free((void *)b->cells[i].family.data);
        free((void *)b->cells[i].qualifier.data);
        free((void *)b->cells[i].value.data);
    }
    free(b->key);
    b->key = NULL;
    b->key_len = 0;
    b->count = 0;
}

static uint8_t *copy_bytes(const void *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy && len)
        memcpy(copy, data, len);
    return copy;
}

static bool row_buf_add(struct row_buf *b, sqlite3_stmt *row)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct bt_cell *cells = realloc(b->cells, cap * sizeof(*cells));
        if (!cells)
            return false;
        b->cells = cells;
        b->cap = cap;
    }
    struct bt_cell *c = &b->cells[b->count];
    size_t family_len = (size_t)sqlite3_column_bytes(row, 1);
    size_t qualifier_len = (size_t)sqlite3_column_bytes(row, 2);
    size_t value_len = (size_t)sqlite3_column_bytes(row, 4);
    *c = (struct bt_cell){{copy_bytes(sqlite3_column_text(row, 1), family_len), family_len},
                          {copy_bytes(sqlite3_column_blob(row, 2), qualifier_len), qualifier_len},
                          sqlite3_column_int64(row, 3),
                          {copy_bytes(sqlite3_column_blob(row, 4), value_len), value_len},
                          NULL};
    b->count++;
    if (!c->family.data || !c->qualifier.data || !c->value.data)
        return false;
    return true;
}

/* Hands the collected row to the caller; true when the caller stops the scan. */
static bool flush_row(struct bt_cells_read_job *job, struct row_buf *b)
{
    if (!b->key)
        return false;
    struct bt_row row = {{b->key, b->key_len}, b->cells, b->count};
    bool stop = job->fn(job->arg, &row);
    row_buf_clear(b);
    return stop;
}

/* The smallest and largest row key a set can cover (has_low/has_high false: unbounded),
 * so a read of a few keys or a range looks up only those rows (the cells' primary key
 * starts with the row); the set itself still decides row by row. */
struct key_bounds {
    bool has_low, has_high;
    struct bt_bytes low, high;
};

static void widen(struct key_bounds *b, bool *first, bool has_low, struct bt_bytes low,
                  bool has_high, struct bt_bytes high)
{
    if (*first) {
        *b = (struct key_bounds){has_low, has_high, low, high};
        *first = false;
        return;
    }
    if (!has_low || (b->has_low && compare(low, b->low) < 0))
        b->low = low;
    b->has_low = b->has_low && has_low;
    if (!has_high || (b->has_high && compare(high, b->high) > 0))
        b->high = high;
    b->has_high = b->has_high && has_high;
}

static struct key_bounds set_bounds(const struct bt_row_set *set)
{
    struct key_bounds b = {0};
    bool first = true;
    for (size_t i = 0; i < set->key_count; i++)
        widen(&b, &first, true, set->keys[i], true, set->keys[i]);
    for (size_t i = 0; i < set->range_count; i++) {
        const struct bt_row_range *r = &set->ranges[i];
        widen(&b, &first, r->has_start, r->start, r->has_end, r->end);
    }
    return b; /* an empty set: every row, unbounded */
}

/* The read's SQL: literals (em_store_stmt caches by pointer), by [reversed][low][high]. */
#define READ_SELECT "SELECT row, family, qualifier, ts, value FROM cells "
#define READ_ORDER  " family, qualifier, ts DESC"
static const char *const read_sql[2][2][2] = {
    {{READ_SELECT "ORDER BY row," READ_ORDER,
      READ_SELECT "WHERE row <= ?2 ORDER BY row," READ_ORDER},
     {READ_SELECT "WHERE row >= ?1 ORDER BY row," READ_ORDER,
      READ_SELECT "WHERE row >= ?1 AND row <= ?2 ORDER BY row," READ_ORDER}},
    {{READ_SELECT "ORDER BY row DESC," READ_ORDER,
      READ_SELECT "WHERE row <= ?2 ORDER BY row DESC," READ_ORDER},
     {READ_SELECT "WHERE row >= ?1 ORDER BY row DESC," READ_ORDER,
      READ_SELECT "WHERE row >= ?1 AND row <= ?2 ORDER BY row DESC," READ_ORDER}},
};

static sqlite3_stmt *read_stmt(struct em_store *store, const struct key_bounds *b, bool reversed,
                               struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, read_sql[reversed][b->has_low][b->has_high], st);
    if (stmt && b->has_low)
        bind_bytes(stmt, 1, b->low);
    if (stmt && b->has_high)
        bind_bytes(stmt, 2, b->high);
    return stmt;
}

enum em_code bt_cells_read_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct bt_cells_read_job *job = arg;
    struct key_bounds bounds = set_bounds(job->set);
    sqlite3_stmt *stmt = read_stmt(em_datafile_store(file), &bounds, job->reversed, st);
    if (!stmt)
        return st->code;
    struct row_buf b = {0};
    bool stop = false, skipping = false;
    job->fn(job->arg, NULL); /* a batch that failed runs its jobs again: start afresh */
    int rc;
    while (!stop && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct bt_bytes key = {sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0)};
        bool same = b.key ? compare(key, (struct bt_bytes){b.key, b.key_len}) == 0 : false;
        if (!same) {
            stop = flush_row(job, &b);
            if (stop)
                break;
            skipping = !bt_row_set_covers(job->set, key);
            if (skipping)
                continue;
            if (!(b.key = copy_bytes(key.data, key.len))) {
                EM_FAIL_OOM(st);
                break;
            }
            b.key_len = key.len;
        } else if (skipping) {
            continue;
        }
        if (!row_buf_add(&b, stmt)) {
            EM_FAIL_OOM(st);
            break;
        }
    }
    if (!st->code && !stop && rc != SQLITE_DONE)
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    if (!st->code && !stop)
        flush_row(job, &b);
    row_buf_clear(&b);
    free(b.cells);
    em_stmt_done(stmt);
    return st->code;
}

enum em_code bt_cells_read(struct em_datafile *file, const struct bt_row_set *set, bool reversed,
                           bt_row_fn fn, void *arg, struct em_status *st)
{
    struct bt_cells_read_job job = {set, reversed, fn, arg};
    return em_datafile_run(file, bt_cells_read_job, &job, st);
}

/* --- whole-table deletions --- */

static enum em_code job_drop_family(struct em_datafile *file, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file), "DELETE FROM cells WHERE family = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, arg);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code bt_cells_drop_family(struct em_datafile *file, const char *family,
                                  struct em_status *st)
{
    return em_datafile_run(file, job_drop_family, (void *)family, st);
}

struct drop_rows_job {
    struct bt_bytes prefix;
    bool all;
};

static enum em_code job_drop_rows(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct drop_rows_job *job = arg;
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file),
                      "DELETE FROM cells WHERE ?2 OR (length(row) >= length(?1) AND "
                      "substr(row, 1, length(?1)) = ?1)",
                      st);
    if (!stmt)
        return st->code;
    bind_bytes(stmt, 1, job->prefix);
    sqlite3_bind_int(stmt, 2, job->all);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code bt_cells_drop_rows(struct em_datafile *file, struct bt_bytes prefix, bool all,
                                struct em_status *st)
{
    struct drop_rows_job job = {prefix, all};
    return em_datafile_run(file, job_drop_rows, &job, st);
}

/* --- read-modify-write and check-and-mutate (one job each: atomic) --- */

/* The newest cell of a column: *found false when there is none; the value copied. */
static enum em_code newest_cell(struct em_store *store, struct bt_bytes key, const char *family,
                                struct bt_bytes qualifier, bool *found, int64_t *ts,
                                uint8_t **value, size_t *value_len, struct em_status *st)
{
    *found = false;
    sqlite3_stmt *stmt = column_stmt(store,
                                     "SELECT ts, value FROM cells WHERE row = ?1 AND family = ?2 "
                                     "AND qualifier = ?3 ORDER BY ts DESC LIMIT 1",
                                     key, family, qualifier, st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *found = true;
        *ts = sqlite3_column_int64(stmt, 0);
        *value_len = (size_t)sqlite3_column_bytes(stmt, 1);
        if (!(*value = copy_bytes(sqlite3_column_blob(stmt, 1), *value_len)))
            EM_FAIL_OOM(st);
    } else if (rc != SQLITE_DONE) {
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    }
    em_stmt_done(stmt);
    return st->code;
}

void bt_rmw_results_clear(struct bt_rmw_result *results, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(results[i].value);
        results[i] = (struct bt_rmw_result){0};
    }
}

struct rmw_job {
    struct bt_bytes key;
    const struct bt_rmw_rules *rules;
    int64_t now;
    const struct bt_cells_gc *gc;
    struct bt_rmw_result *results;
};

static enum em_code job_rmw(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct rmw_job *job = arg;
    struct em_store *store = em_datafile_store(file);
    bt_rmw_results_clear(job->results, job->rules->n);
    for (size_t i = 0; i < job->rules->n; i++) {
        const struct bt_rmw_rule *rule = &job->rules->items[i];
        bool found;
        int64_t ts = 0;
        uint8_t *old = NULL;
        size_t old_len = 0;
        struct bt_rmw_result *r = &job->results[i];
        if (newest_cell(store, job->key, rule->family, rule->qualifier, &found, &ts, &old, &old_len,
                        st))
            return st->code;
        struct bt_cell latest = {{0}, rule->qualifier, ts, {old, old_len}, NULL};
        enum em_code rc = bt_rmw_apply(rule, found ? &latest : NULL, job->now, &r->value,
                                       &r->value_len, &r->timestamp_micros, st);
        free(old);
        if (rc)
            return rc;
        struct bt_mutation m = {.kind = BT_MUT_SET_CELL,
                                .family = rule->family,
                                .qualifier = rule->qualifier,
                                .timestamp_micros = r->timestamp_micros,
                                .value = {r->value, r->value_len}};
        if (apply_one(store, job->key, &m, st) ||
            (job->gc && bt_gc_families_any(job->gc->families) &&
             collect_column(store, job->key, rule->family, rule->qualifier, job->gc, st)))
            return st->code;
    }
    return EM_OK;
}

enum em_code bt_cells_read_modify_write(struct em_datafile *file, struct bt_bytes key,
                                        const struct bt_rmw_rules *rules, int64_t now_micros,
                                        const struct bt_cells_gc *gc, struct bt_rmw_result *results,
                                        struct em_status *st)
{
    struct rmw_job job = {key, rules, now_micros, gc, results};
    memset(results, 0, rules->n * sizeof(*results));
    if (em_datafile_run(file, job_rmw, &job, st))
        bt_rmw_results_clear(results, rules->n);
    return st->code;
}

struct check_job {
    struct bt_bytes key;
    bt_predicate_fn predicate;
    void *arg;
    const struct bt_row_mutations *if_true, *if_false;
    bool *matched;
    const struct bt_cells_gc *gc;
    bool decided;
};

/* The row callback of check-and-mutate's read: decides the predicate. */
static bool decide(void *arg, const struct bt_row *row)
{
    struct check_job *job = arg;
    if (!row) {
        job->decided = false;
        return false;
    }
    *job->matched = job->predicate(job->arg, row);
    job->decided = true;
    return true;
}

static enum em_code job_check_and_mutate(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct check_job *job = arg;
    struct bt_row_set set = {&job->key, 1, NULL, 0};
    struct bt_cells_read_job read = {&set, false, decide, job};
    if (bt_cells_read_job(file, &read, st))
        return st->code;
    if (!job->decided) { /* no cell: the predicate sees an empty row */
        struct bt_row empty = {job->key, NULL, 0};
        *job->matched = job->predicate(job->arg, &empty);
    }
    const struct bt_row_mutations *side = *job->matched ? job->if_true : job->if_false;
    struct bt_cells_mutate_job mutate = {side, side && side->mutations ? 1 : 0, job->gc};
    return bt_cells_mutate_job(file, &mutate, st);
}

enum em_code bt_cells_check_and_mutate(struct em_datafile *file, struct bt_bytes key,
                                       bt_predicate_fn predicate, void *arg,
                                       const struct bt_row_mutations *if_true,
                                       const struct bt_row_mutations *if_false, bool *matched,
                                       const struct bt_cells_gc *gc, struct em_status *st)
{
    struct check_job job = {key, predicate, arg, if_true, if_false, matched, gc, false};
    *matched = false;
    return em_datafile_run(file, job_check_and_mutate, &job, st);
}

/* --- the replication log (bigtable_replication.h) --- */

struct log_append_job {
    const char *target;
    int64_t due_ns;
    const uint8_t *entry;
    size_t len;
};

static enum em_code job_log_append(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct log_append_job *job = arg;
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file),
                      "INSERT INTO replication_log(target, due, entry) VALUES(?1, ?2, ?3)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, job->target);
    sqlite3_bind_int64(stmt, 2, job->due_ns);
    bind_bytes(stmt, 3, (struct bt_bytes){job->entry, job->len});
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code bt_cells_log_append(struct em_datafile *file, const char *target, int64_t due_ns,
                                 const uint8_t *entry, size_t len, struct em_status *st)
{
    struct log_append_job job = {target, due_ns, entry, len};
    return em_datafile_run(file, job_log_append, &job, st);
}

struct log_first_job {
    const char *target;
    struct bt_log_entry *out;
};

static enum em_code job_log_first(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct log_first_job *job = arg;
    struct bt_log_entry *out = job->out;
    free(out->entry);
    *out = (struct bt_log_entry){0};
    sqlite3_stmt *stmt = em_store_stmt(em_datafile_store(file),
                                       "SELECT seq, due, entry FROM replication_log "
                                       "WHERE target = ?1 ORDER BY seq LIMIT 1",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, job->target);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        out->found = true;
        out->seq = sqlite3_column_int64(stmt, 0);
        out->due_ns = sqlite3_column_int64(stmt, 1);
        out->len = (size_t)sqlite3_column_bytes(stmt, 2);
        if (!(out->entry = copy_bytes(sqlite3_column_blob(stmt, 2), out->len)))
            EM_FAIL_OOM(st);
    } else if (rc != SQLITE_DONE) {
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    }
    em_stmt_done(stmt);
    return st->code;
}

enum em_code bt_cells_log_first(struct em_datafile *file, const char *target,
                                struct bt_log_entry *out, struct em_status *st)
{
    struct log_first_job job = {target, out};
    *out = (struct bt_log_entry){0};
    return em_datafile_run(file, job_log_first, &job, st);
}

static enum em_code job_log_remove(struct em_datafile *file, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file), "DELETE FROM replication_log WHERE seq = ?1", st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, *(const int64_t *)arg);
    enum em_code rc = em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return rc;
}

enum em_code bt_cells_log_remove(struct em_datafile *file, int64_t seq, struct em_status *st)
{
    return em_datafile_run(file, job_log_remove, &seq, st);
}

static enum em_code job_log_identity(struct em_datafile *file, void *arg, struct em_status *st)
{
    char *id = arg;
    sqlite3_stmt *stmt =
        em_store_stmt(em_datafile_store(file), "SELECT id FROM replication_identity", st);
    if (!stmt)
        return st->code;
    int rc = sqlite3_step(stmt);
    const char *text = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
    if (text)
        snprintf(id, BT_LOG_ID_SIZE, "%s", text);
    else if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        EM_FAIL(st, EM_INTERNAL, "A replica's file has no replication identity.");
    else
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return st->code;
}

enum em_code bt_cells_log_identity(struct em_datafile *file, char id[BT_LOG_ID_SIZE],
                                   struct em_status *st)
{
    return em_datafile_run(file, job_log_identity, id, st);
}

/* --- what consistency tokens read (bigtable_consistency.h) --- */

struct log_query_job {
    const char *sql;
    int64_t arg;    /* bound as ?1 */
    int64_t result; /* the first column of the one row */
};

static enum em_code job_log_query(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct log_query_job *job = arg;
    sqlite3_stmt *stmt = em_store_stmt(em_datafile_store(file), job->sql, st);
    if (!stmt)
        return st->code;
    sqlite3_bind_int64(stmt, 1, job->arg);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        job->result = sqlite3_column_int64(stmt, 0);
    else if (rc == SQLITE_DONE) /* an aggregate always has its row */
        EM_FAIL(st, EM_INTERNAL, "The replication log query returned no row.");
    else
        em_store_error(sqlite3_db_handle(stmt), rc, st);
    em_stmt_done(stmt);
    return st->code;
}

enum em_code bt_cells_log_last_seq(struct em_datafile *file, int64_t *seq, struct em_status *st)
{
    struct log_query_job job = {"SELECT coalesce(max(seq), 0) FROM replication_log", 0, 0};
    *seq = 0;
    if (em_datafile_run(file, job_log_query, &job, st))
        return st->code;
    *seq = job.result;
    return EM_OK;
}

enum em_code bt_cells_log_holds_upto(struct em_datafile *file, int64_t upto, bool *holds,
                                     struct em_status *st)
{
    struct log_query_job job = {
        "SELECT EXISTS(SELECT 1 FROM replication_log WHERE ?1 < 0 OR seq <= ?1)", upto, 0};
    *holds = true;
    if (em_datafile_run(file, job_log_query, &job, st))
        return st->code;
    *holds = job.result != 0;
    return EM_OK;
}
