/*
 * bigtable_data: routing, decoding and the data calls (see bigtable_data.h).
 * Reference:
 * https://cloud.google.com/bigtable/docs/reference/data/rest/v2/projects.instances.tables
 */
#include "bigtable_data.h"

#include "bigtable_admin.h"
#include "bigtable_cells.h"
#include "bigtable_chunks.h"
#include "bigtable_errors.h"
#include "bigtable_filter.h"
#include "bigtable_gc.h"
#include "bigtable_mutation.h"
#include "bigtable_replicas.h"
#include "bigtable_subset.h"
#include "bigtable_views.h"
#include "em_clock.h"
#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_GRANULARITY_MICROS 1000 /* tables keep MILLIS granularity */
#define BT_SMALL_READ_ROWS    100  /* a readRows of at most this many rows is not streamed */

/* The mutations of every entry of a mutateRows request (the proto: at most 100,000 in all). */
static long count_entry_mutations(const cJSON *entries)
{
    long n = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, entries)
    {
        n += cJSON_GetArraySize(cJSON_GetObjectItem(entry, "mutations"));
    }
    return n;
}

/* --- decoded bytes: every buffer of one call, freed together --- */

struct arena {
    void **ptrs;
    size_t count, cap;
};

static void arena_free(struct arena *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->ptrs[i]);
    free(a->ptrs);
    *a = (struct arena){0};
}

static bool arena_keep(struct arena *a, void *p)
{
    if (a->count == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        void **ptrs = realloc(a->ptrs, cap * sizeof(*ptrs));
        if (!ptrs)
            return false;
        a->ptrs = ptrs;
        a->cap = cap;
    }
    a->ptrs[a->count++] = p;
    return true;
}

/* A base64 member of obj (absent: empty), decoded into the arena. */
static enum em_code decode_bytes(struct arena *a, const cJSON *obj, const char *key,
                                 struct bt_bytes *out, struct em_status *st)
{
    const char *text = em_json_string(obj, key);
    unsigned char *data = NULL;
    size_t len = 0;
    *out = (struct bt_bytes){(const uint8_t *)"", 0};
    if (!text || !*text)
        return EM_OK;
    if (!em_b64_decode(text, strlen(text), &data, &len))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid base64 in %s.", key);
    if (!arena_keep(a, data)) {
        free(data);
        return EM_FAIL_OOM(st);
    }
    *out = (struct bt_bytes){data, len};
    return EM_OK;
}

static enum em_code decode_row_key(struct arena *a, const cJSON *request, struct bt_bytes *key,
                                   struct em_status *st)
{
    if (decode_bytes(a, request, "rowKey", key, st))
        return st->code;
    return bt_row_key_check(*key, st);
}

/* --- mutations --- */

/* A family of the table, by its case-sensitive ID; NULL when the table lacks it. */
static const cJSON *table_family(const cJSON *table, const char *family)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(table, "columnFamilies"), family);
}

/* The family of a mutation or rule: named and one of the table's (IDs are case-sensitive:
 * "CF1" is not "cf1", and cJSON_GetObjectItem would match them); its aggregator in *agg. */
static enum em_code check_family(const cJSON *table, const char *family, enum bt_aggregator *agg,
                                 struct em_status *st)
{
    if (!family || !*family)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A mutation needs a family_name.");
    const cJSON *found = table_family(table, family);
    if (!found)
        return BT_ERR_NO_FAMILY(st, family);
    *agg = bt_family_aggregator(found);
    return EM_OK;
}

/* An aggregate family holds only aggregate cells, which only addToCell and mergeToCell
 * write ("column families that contain only cells of type aggregate"); the mutation
 * learns its family's aggregator. */
static enum em_code check_mutation_family(const cJSON *table, struct bt_mutation *m,
                                          struct em_status *st)
{
    enum bt_aggregator agg;
    if (check_family(table, m->family, &agg, st))
        return st->code;
    if (bt_mutation_aggregates(m) && agg == BT_AGG_NONE)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s needs an aggregate column family: %.200s has no value_type.",
                       m->kind == BT_MUT_ADD_TO_CELL ? "AddToCell" : "MergeToCell", m->family);
    if (m->kind == BT_MUT_SET_CELL && agg != BT_AGG_NONE)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "SetCell cannot write to the aggregate column family %.200s: its cells "
                       "are written with AddToCell or MergeToCell.",
                       m->family);
    m->aggregator = agg;
    return EM_OK;
}

/* A list of Mutation JSON at field, parsed and checked (bigtable_mutation.h), each
 * family one of the table's, server times resolved to now. Free with bt_mutations_free. */
static enum em_code parse_mutations(const cJSON *table, const cJSON *list, const char *field,
                                    bool allow_empty, int64_t now, struct bt_mutations *out,
                                    struct em_status *st)
{
    if (bt_mutations_parse(list, field, allow_empty, out, st))
        return st->code;
    for (size_t i = 0; i < out->n; i++)
        if (out->items[i].kind != BT_MUT_DELETE_FROM_ROW &&
            check_mutation_family(table, &out->items[i], st))
            return st->code;
    if (bt_mutations_check_granularity(out, BT_GRANULARITY_MICROS, st))
        return st->code;
    bt_mutations_resolve_time(out, now / 1000, BT_GRANULARITY_MICROS);
    return EM_OK;
}

/* --- the target of a call: a table, or an authorized view of one --- */

struct target {
    char table[BT_NAME_MAX];
    const char *view; /* the view's name, or NULL (the table itself) */
    struct bt_subset subset;
};

/* name: a table's or an authorized view's (then its table and subset are read). */
static enum em_code target_open(struct bt_context *bt, const char *name, struct target *t,
                                struct em_status *st)
{
    *t = (struct target){0};
    if (!name || !strstr(name, "/authorizedViews/")) {
        snprintf(t->table, sizeof(t->table), "%s", name ? name : "");
        return EM_OK;
    }
    if (bt_view_resolve(bt->admin, name, t->table, &t->subset, st))
        return st->code;
    t->view = name;
    return EM_OK;
}

static void target_close(struct target *t)
{
    bt_subset_free(&t->subset);
}

/* The subset a read through t sees (NULL: the whole table). */
static const struct bt_subset *target_subset(const struct target *t)
{
    return t->view ? &t->subset : NULL;
}

/* A write of key through t: inside its view (PERMISSION_DENIED otherwise). */
static enum em_code target_check_write(const struct target *t, const cJSON *table,
                                       struct bt_bytes key, const struct bt_mutations *m,
                                       struct em_status *st)
{
    if (!t->view)
        return EM_OK;
    return bt_subset_check_mutations(&t->subset, t->view, key, m,
                                     cJSON_GetObjectItem(table, "columnFamilies"), st);
}

/* --- routing --- */

static enum em_code no_engine(struct bt_context *bt, struct em_status *st)
{
    if (bt->replicas)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION, "The Bigtable data plane needs the CMEK engine.");
}

/* The route of a call (its table and profile). */
static enum em_code route_of(struct bt_context *bt, const char *table, const char *profile,
                             struct bt_route *route, struct em_status *st)
{
    if (no_engine(bt, st))
        return st->code;
    return bt_route_for(bt->admin, table, profile, route, st);
}

/* The gate of one cluster of the route: the cascade's mark, then its replica's key. */
static enum em_code cluster_gate(struct bt_context *bt, const struct bt_route *route, int i,
                                 struct em_status *st)
{
    if (route->marks[i] == BT_CASCADE_DATA_DELETED)
        return BT_ERR_CLUSTER_DATA_DELETED(st, route->clusters[i]);
    if (route->marks[i] == BT_CASCADE_DISABLED)
        return BT_ERR_CLUSTER_DISABLED_BY_CASCADE(st, route->clusters[i]);
    return bt_replicas_gate(bt->replicas, route->replicas[i], st);
}

/* The index in route of the replica that serves the call: the first cluster neither
 * disabled nor with its key refused. */
static enum em_code serving(struct bt_context *bt, const struct bt_route *route, int *index,
                            struct em_status *st)
{
    if (route->cluster_count == 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "The app profile routes to no cluster.");
    for (int i = 0; i < route->cluster_count; i++) {
        *st = (struct em_status){0};
        if (cluster_gate(bt, route, i, st) == EM_OK) {
            *index = i;
            return EM_OK;
        }
    }
    return st->code; /* the last cluster's refusal */
}

/* Runs fn on the open file of a replica. */
typedef enum em_code (*file_fn)(struct em_datafile *file, void *arg, struct em_status *st);

static enum em_code on_replica(struct bt_context *bt, const char *replica, file_fn fn, void *arg,
                               struct em_status *st)
{
    struct em_datafile *file = NULL;
    if (bt_replicas_open_file(bt->replicas, replica, &file, st))
        return st->code;
    enum em_code rc = fn(file, arg, st);
    em_datafile_put(file);
    return rc;
}

/* Sends a write to every replica of the table but the serving one (at once, or later
 * through the serving replica's replication log: bigtable_replication.h). */
static void replicate(struct bt_context *bt, const struct bt_route *route, const char *served,
                      const struct bt_row_mutations *rows, size_t count, int64_t now)
{
    bt_replication_send(&bt->replication, route, served, rows, count, now);
}

struct mutate_arg {
    const struct bt_row_mutations *rows;
    size_t count;
    const struct bt_cells_gc *gc;
};

static enum em_code mutate_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct mutate_arg *m = arg;
    return bt_cells_mutate(file, m->rows, m->count, m->gc, st);
}

/* Writes rows on the serving replica (collecting the garbage of the columns they set
 * under gc), then replicates them. */
static enum em_code write_rows(struct bt_context *bt, const struct bt_route *route,
                               const struct bt_row_mutations *rows, size_t count,
                               const struct bt_cells_gc *gc, int64_t now, struct em_status *st)
{
    int index;
    struct mutate_arg arg = {rows, count, gc};
    if (serving(bt, route, &index, st) ||
        on_replica(bt, route->replicas[index], mutate_file, &arg, st))
        return st->code;
    replicate(bt, route, route->replicas[index], rows, count, now);
    return EM_OK;
}

/* --- mutateRows --- */

static cJSON *entry_status(int index, const struct em_status *st)
{
    cJSON *entry = cJSON_CreateObject();
    char text[24];
    snprintf(text, sizeof(text), "%d", index);
    cJSON_AddStringToObject(entry, "index", text);
    cJSON *status = cJSON_AddObjectToObject(entry, "status");
    if (st->code) {
        cJSON_AddNumberToObject(status, "code", st->code);
        cJSON_AddStringToObject(status, "message", st->message);
    }
    return entry;
}

enum em_code bt_data_mutate_rows(struct bt_context *bt, const char *table, const cJSON *request,
                                 int64_t now, cJSON **entries, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct target t;
    *entries = NULL;
    const cJSON *list = cJSON_GetObjectItem(request, "entries");
    if (target_open(bt, table, &t, st) ||
        route_of(bt, t.table, em_json_string(request, "appProfileId"), &route, st)) {
        target_close(&t);
        return st->code;
    }
    if (cJSON_GetArraySize(list) == 0 || count_entry_mutations(list) > BT_MAX_MUTATIONS) {
        bt_route_clear(&route);
        target_close(&t);
        if (cJSON_GetArraySize(list) == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "No entries provided.");
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Too many mutations: the entries of a request hold at most %d in all.",
                       BT_MAX_MUTATIONS);
    }
    struct bt_gc_families families;
    if (bt_gc_families_load(cJSON_GetObjectItem(route.table, "columnFamilies"), &families, st)) {
        bt_route_clear(&route);
        target_close(&t);
        return st->code;
    }
    struct bt_cells_gc gc = {&families, now / 1000};
    *entries = cJSON_CreateArray();
    int index = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, list)
    {
        struct arena a = {0};
        struct bt_mutations muts = {0};
        struct bt_row_mutations row = {{0}, &muts};
        struct em_status entry_st = {0};
        if (!decode_row_key(&a, entry, &row.key, &entry_st) &&
            !parse_mutations(route.table, cJSON_GetObjectItem(entry, "mutations"), "mutations",
                             false, now, &muts, &entry_st) &&
            !target_check_write(&t, route.table, row.key, &muts, &entry_st))
            write_rows(bt, &route, &row, 1, &gc, now, &entry_st);
        bt_mutations_free(&muts);
        arena_free(&a);
        cJSON_AddItemToArray(*entries, entry_status(index++, &entry_st));
    }
    bt_gc_families_free(&families);
    bt_route_clear(&route);
    target_close(&t);
    return EM_OK;
}

/* --- readRows --- */

static enum em_code decode_range(struct arena *a, const cJSON *json, struct bt_row_range *out,
                                 struct em_status *st)
{
    *out = (struct bt_row_range){0};
    const char *start_closed = em_json_string(json, "startKeyClosed");
    const char *start_open = em_json_string(json, "startKeyOpen");
    const char *end_open = em_json_string(json, "endKeyOpen");
    const char *end_closed = em_json_string(json, "endKeyClosed");
    if ((start_closed && start_open) || (end_open && end_closed))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A row range has at most one start key and one end key.");
    out->start_open = start_open != NULL;
    out->end_closed = end_closed != NULL;
    if (decode_bytes(a, json, start_open ? "startKeyOpen" : "startKeyClosed", &out->start, st) ||
        decode_bytes(a, json, end_closed ? "endKeyClosed" : "endKeyOpen", &out->end, st))
        return st->code;
    /* an empty key is no bound */
    out->has_start = out->start.len > 0;
    out->has_end = out->end.len > 0;
    if (out->has_start && out->has_end) {
        size_t n = out->start.len < out->end.len ? out->start.len : out->end.len;
        int c = memcmp(out->start.data, out->end.data, n);
        if (c > 0 || (c == 0 && out->start.len > out->end.len))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid row range: its start key is after its end key.");
    }
    return EM_OK;
}

/* The request's RowSet, decoded into the arena. */
static enum em_code decode_row_set(struct arena *a, const cJSON *rows, struct bt_row_set *out,
                                   struct em_status *st)
{
    *out = (struct bt_row_set){0};
    const cJSON *keys = cJSON_GetObjectItem(rows, "rowKeys");
    const cJSON *ranges = cJSON_GetObjectItem(rows, "rowRanges");
    size_t nk = (size_t)cJSON_GetArraySize(keys), nr = (size_t)cJSON_GetArraySize(ranges);
    struct bt_bytes *k = calloc(nk ? nk : 1, sizeof(*k));
    struct bt_row_range *r = calloc(nr ? nr : 1, sizeof(*r));
    if (!k || !r || !arena_keep(a, k) || !arena_keep(a, r)) {
        if (!k || !arena_keep(a, k))
            free(k);
        free(r);
        return EM_FAIL_OOM(st);
    }
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, keys)
    {
        unsigned char *data = NULL;
        size_t len = 0;
        if (!cJSON_IsString(item) ||
            !em_b64_decode(item->valuestring, strlen(item->valuestring), &data, &len))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid base64 in rows.row_keys.");
        if (!arena_keep(a, data)) {
            free(data);
            return EM_FAIL_OOM(st);
        }
        k[i++] = (struct bt_bytes){data, len};
    }
    i = 0;
    cJSON_ArrayForEach(item, ranges)
    {
        if (decode_range(a, item, &r[i++], st))
            return st->code;
    }
    *out = (struct bt_row_set){k, nk, r, nr};
    return EM_OK;
}

/* --- what a read sees: GC rules, then the filter --- */

/* A call's view of rows: an authorized view's subset (NULL: the whole table), GC rules
 * at now, then the filter (NULL: every cell). */
struct row_view {
    const struct bt_subset *subset;
    struct bt_gc_families gc;
    struct bt_filter *filter;
    int64_t now_micros;
    struct bt_cell *kept; /* scratch: the cells GC keeps */
    bool *garbage;
    size_t scratch;
    struct bt_cell_list out; /* the cells the view shows */
    int64_t deadline;        /* its filter's regular expressions, em_clock_monotonic() */
    struct em_status error;  /* why row_view_apply failed */
};

static void row_view_close(struct row_view *v)
{
    bt_gc_families_free(&v->gc);
    bt_filter_free(v->filter);
    free(v->kept);
    free(v->garbage);
    bt_cell_list_free(&v->out);
}

static bool table_has_family(const char *family, void *table)
{
    return table_family(table, family) != NULL;
}

static enum em_code row_view_open(struct row_view *v, const cJSON *table, const cJSON *filter,
                                  const char *field, int64_t now, struct em_status *st)
{
    *v = (struct row_view){.now_micros = now / 1000,
                           .deadline =
                               em_clock_monotonic() + (int64_t)BT_FILTER_TIME_LIMIT_S * 1000000000};
    if (bt_gc_families_load(cJSON_GetObjectItem(table, "columnFamilies"), &v->gc, st))
        return st->code;
    if (filter && bt_filter_parse_field(filter, field, &v->filter, st)) {
        bt_gc_families_free(&v->gc);
        return st->code;
    }
    if (bt_filter_missing_family(v->filter, table_has_family, (void *)table)) {
        row_view_close(v);
        return EM_FAIL(st, EM_NOT_FOUND,
                       "Error while reading table '%.300s' : Requested column family not found",
                       em_json_string(table, "name"));
    }
    return EM_OK;
}

/* Applies the view to row: v->out holds the cells shown. false (v->error says why) when
 * memory ran out or the filter passed a bound (bigtable_filter.h). */
static bool row_view_apply(struct row_view *v, const struct bt_row *row)
{
    if (row->n_cells > v->scratch) {
        free(v->kept);
        free(v->garbage);
        v->kept = malloc(row->n_cells * sizeof(*v->kept));
        v->garbage = malloc(row->n_cells * sizeof(*v->garbage));
        v->scratch = v->kept && v->garbage ? row->n_cells : 0;
        if (!v->scratch) {
            EM_FAIL_OOM(&v->error);
            return false;
        }
    }
    size_t kept = 0;
    bool visible = !v->subset || bt_subset_has_row(v->subset, row->key);
    for (size_t i = 0; visible && i < row->n_cells;) {
        size_t j = i;
        while (j < row->n_cells &&
               bt_bytes_compare(row->cells[j].family, row->cells[i].family) == 0)
            j++;
        const struct bt_gc_rule *rule = bt_gc_families_rule(&v->gc, row->cells[i].family);
        memset(v->garbage + i, 0, (j - i) * sizeof(*v->garbage));
        bt_gc_collect(rule, row->cells + i, j - i, v->now_micros, v->garbage + i);
        for (size_t k = i; k < j; k++)
            if (!v->garbage[k] && (!v->subset || bt_subset_has_cell(v->subset, row->cells[k].family,
                                                                    row->cells[k].qualifier)))
                v->kept[kept++] = row->cells[k];
        i = j;
    }
    struct bt_row gc_row = {row->key, v->kept, kept};
    return bt_filter_apply_by(v->filter, &gc_row, v->deadline, &v->out, &v->error) == EM_OK;
}

/* --- readRows --- */

struct read_state {
    struct row_view *view;
    struct bt_chunk_writer *writer;
    int64_t limit; /* 0: none */
    int64_t rows;
    bool out_of_memory;
};

static bool collect_row(void *arg, const struct bt_row *row)
{
    struct read_state *s = arg;
    struct em_status st = {0};
    if (!row) { /* a new run of the job: forget the earlier one's rows */
        cJSON_Delete(bt_chunk_writer_take(s->writer));
        s->rows = 0;
        s->out_of_memory = false;
        s->view->error = (struct em_status){0};
        return false;
    }
    if (!row_view_apply(s->view, row)) {
        s->out_of_memory = true;
        return true;
    }
    if (s->view->out.n == 0)
        return false;
    struct bt_row shown = {row->key, s->view->out.cells, s->view->out.n};
    if (bt_chunk_writer_add_row(s->writer, &shown, &st)) {
        s->out_of_memory = true;
        return true;
    }
    return s->limit > 0 && ++s->rows >= s->limit;
}

/* --- calls whose job runs on the serving replica's writer thread (bt_data_op) --- */

struct bt_data_op {
    struct bt_context *bt;
    int64_t now;
    struct target target;
    const struct bt_route *route; /* shared (bt_route_get), NULL until routed */
    struct arena a;
    em_datafile_job_fn fn; /* the job, on the serving replica's writer thread */
    void *fn_arg;
    bool blocks;              /* the end (or the job's size) may keep the caller's thread waiting */
    int index;                /* the serving replica in route */
    struct em_datafile *file; /* its file while the job runs */
    struct em_datafile_result result;
    /* mutateRow */
    struct bt_mutations muts;
    struct bt_row_mutations row;
    struct bt_gc_families families;
    struct bt_cells_gc gc;
    struct bt_cells_mutate_job mutate;
    /* readRows */
    struct bt_row_set set;
    struct row_view view;
    bool view_open;
    struct read_state read;
    struct bt_cells_read_job read_job;
};

static struct bt_data_op *op_new(struct bt_context *bt, int64_t now, struct em_status *st)
{
    struct bt_data_op *op = calloc(1, sizeof(*op));
    if (!op) {
        EM_FAIL_OOM(st);
        return NULL;
    }
    op->bt = bt;
    op->now = now;
    op->row.mutations = &op->muts;
    return op;
}

void bt_data_op_free(struct bt_data_op *op)
{
    if (!op)
        return;
    if (op->file)
        em_datafile_put(op->file);
    bt_mutations_free(&op->muts);
    bt_gc_families_free(&op->families);
    bt_chunk_writer_free(op->read.writer);
    if (op->view_open)
        row_view_close(&op->view);
    arena_free(&op->a);
    bt_route_put(op->route);
    target_close(&op->target);
    free(op);
}

/* Routes op through its target's (a table or a view) table's app profile. */
static enum em_code op_route(struct bt_data_op *op, const char *target, const cJSON *request,
                             struct em_status *st)
{
    if (target_open(op->bt, target, &op->target, st) || no_engine(op->bt, st))
        return st->code;
    return bt_route_get(op->bt->admin, op->target.table, em_json_string(request, "appProfileId"),
                        &op->route, st);
}

bool bt_data_op_blocks(const struct bt_data_op *op)
{
    return op->blocks;
}

/* The serving replica's file, or why there is none (in op->result). */
static bool op_open(struct bt_data_op *op)
{
    struct em_status *st = &op->result.st;
    if (serving(op->bt, op->route, &op->index, st) ||
        bt_replicas_open_file(op->bt->replicas, op->route->replicas[op->index], &op->file, st)) {
        op->result.code = st->code;
        return false;
    }
    return true;
}

void bt_data_op_run(struct bt_data_op *op)
{
    if (op_open(op))
        op->result.code = em_datafile_run(op->file, op->fn, op->fn_arg, &op->result.st);
}

void bt_data_op_submit(struct bt_data_op *op, void (*done)(void *done_arg), void *done_arg)
{
    if (op_open(op) && em_datafile_submit(op->file, op->fn, op->fn_arg, &op->result, done, done_arg,
                                          &op->result.st) == EM_OK)
        return;
    op->result.code = op->result.st.code;
    done(done_arg);
}

/* The job's outcome into st. */
static enum em_code op_outcome(const struct bt_data_op *op, struct em_status *st)
{
    *st = op->result.code ? op->result.st : (struct em_status){0};
    return st->code;
}

/* --- mutateRow --- */

enum em_code bt_data_mutate_row_prepare(struct bt_context *bt, const char *table,
                                        const cJSON *request, int64_t now, struct bt_data_op **out,
                                        struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_data_op *op = *out = op_new(bt, now, st);
    if (!op || op_route(op, table, request, st) ||
        decode_row_key(&op->a, request, &op->row.key, st) ||
        parse_mutations(op->route->table, cJSON_GetObjectItem(request, "mutations"), "mutations",
                        false, now, &op->muts, st) ||
        target_check_write(&op->target, op->route->table, op->row.key, &op->muts, st) ||
        bt_gc_families_load(cJSON_GetObjectItem(op->route->table, "columnFamilies"), &op->families,
                            st)) {
        bt_data_op_free(op);
        *out = NULL;
        return st->code;
    }
    op->gc = (struct bt_cells_gc){&op->families, now / 1000};
    op->mutate = (struct bt_cells_mutate_job){&op->row, 1, &op->gc};
    op->fn = bt_cells_mutate_job;
    op->fn_arg = &op->mutate;
    op->blocks = op->route->all_count > 1; /* the end writes the other clusters' replicas */
    return EM_OK;
}

enum em_code bt_data_mutate_row_end(struct bt_data_op *op, struct em_status *st)
{
    if (!op_outcome(op, st))
        replicate(op->bt, op->route, op->route->replicas[op->index], &op->row, 1, op->now);
    bt_data_op_free(op);
    return st->code;
}

enum em_code bt_data_mutate_row(struct bt_context *bt, const char *table, const cJSON *request,
                                int64_t now, struct em_status *st)
{
    struct bt_data_op *op;
    if (bt_data_mutate_row_prepare(bt, table, request, now, &op, st))
        return st->code;
    bt_data_op_run(op);
    return bt_data_mutate_row_end(op, st);
}

/* A read small enough to answer without streaming: a few row keys, or a few rows. */
static bool small_read(const cJSON *request)
{
    const cJSON *rows = cJSON_GetObjectItem(request, "rows");
    int64_t limit = 0;
    if (em_json_int64(request, "rowsLimit", &limit) && limit > 0 && limit <= BT_SMALL_READ_ROWS)
        return true;
    return cJSON_GetArraySize(cJSON_GetObjectItem(rows, "rowRanges")) == 0 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(rows, "rowKeys")) > 0 &&
           cJSON_GetArraySize(cJSON_GetObjectItem(rows, "rowKeys")) <= BT_SMALL_READ_ROWS;
}

enum em_code bt_data_read_rows_prepare(struct bt_context *bt, const char *table,
                                       const cJSON *request, int64_t now, struct bt_data_op **out,
                                       struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_data_op *op = *out = op_new(bt, now, st);
    if (!op)
        return st->code;
    op->read.view = &op->view;
    if (em_json_int64(request, "rowsLimit", &op->read.limit) && op->read.limit < 0)
        EM_FAIL(st, EM_INVALID_ARGUMENT, "rows_limit must not be negative.");
    else if (!op_route(op, table, request, st) &&
             !row_view_open(&op->view, op->route->table, cJSON_GetObjectItem(request, "filter"),
                            "filter", now, st)) {
        op->view_open = true;
        op->view.subset = target_subset(&op->target);
        if (!(op->read.writer = bt_chunk_writer_new(0, 0)))
            EM_FAIL_OOM(st);
        else
            decode_row_set(&op->a, cJSON_GetObjectItem(request, "rows"), &op->set, st);
    }
    if (st->code) {
        bt_data_op_free(op);
        *out = NULL;
        return st->code;
    }
    op->read_job = (struct bt_cells_read_job){
        &op->set, cJSON_IsTrue(cJSON_GetObjectItem(request, "reversed")), collect_row, &op->read};
    op->fn = bt_cells_read_job;
    op->fn_arg = &op->read_job;
    op->blocks = !small_read(request); /* its answer may be large: streamed from a worker */
    return EM_OK;
}

enum em_code bt_data_read_rows_end(struct bt_data_op *op, cJSON **responses, struct em_status *st)
{
    *responses = NULL;
    if (!op_outcome(op, st) && op->view.error.code)
        *st = op->view.error; /* the filter passed a bound */
    else if (!st->code &&
             (op->read.out_of_memory || !(*responses = bt_chunk_writer_take(op->read.writer))))
        EM_FAIL_OOM(st);
    bt_data_op_free(op);
    return st->code;
}

enum em_code bt_data_read_rows(struct bt_context *bt, const char *table, const cJSON *request,
                               int64_t now, cJSON **responses, struct em_status *st)
{
    struct bt_data_op *op;
    *responses = NULL;
    if (bt_data_read_rows_prepare(bt, table, request, now, &op, st))
        return st->code;
    bt_data_op_run(op);
    return bt_data_read_rows_end(op, responses, st);
}

/* --- checkAndMutateRow --- */

/* The predicate matches when the view (GC rules, the predicate filter; none: every cell)
 * shows a cell of the row. */
static bool predicate_matches(void *arg, const struct bt_row *row)
{
    struct row_view *view = arg;
    return row_view_apply(view, row) && view->out.n > 0;
}

struct check_arg {
    struct bt_bytes key;
    struct row_view *view;
    const struct bt_row_mutations *if_true, *if_false;
    bool *matched;
};

/* checkAndMutateRow: true_mutations "must contain at least one entry if false_mutations
 * is empty". */
static enum em_code no_mutations(const struct bt_mutations *yes, const struct bt_mutations *no,
                                 struct em_status *st)
{
    if (yes->n == 0 && no->n == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "No mutations provided: true_mutations and false_mutations cannot both be "
                       "empty.");
    return EM_OK;
}

static enum em_code check_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct check_arg *c = arg;
    struct bt_cells_gc gc = {&c->view->gc, c->view->now_micros};
    if (bt_cells_check_and_mutate(file, c->key, predicate_matches, c->view, c->if_true, c->if_false,
                                  c->matched, &gc, st))
        return st->code;
    if (c->view->error.code) /* the predicate passed a bound: nothing of this is kept */
        *st = c->view->error;
    return st->code;
}

enum em_code bt_data_check_and_mutate(struct bt_context *bt, const char *table,
                                      const cJSON *request, int64_t now, bool *matched,
                                      struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct bt_mutations yes_m = {0}, no_m = {0};
    struct bt_row_mutations yes = {{0}, &yes_m}, no = {{0}, &no_m};
    struct row_view view;
    struct target t;
    int index;
    *matched = false;
    if (target_open(bt, table, &t, st) ||
        route_of(bt, t.table, em_json_string(request, "appProfileId"), &route, st)) {
        target_close(&t);
        return st->code;
    }
    if (row_view_open(&view, route.table, cJSON_GetObjectItem(request, "predicateFilter"),
                      "predicate_filter", now, st)) {
        bt_route_clear(&route);
        target_close(&t);
        return st->code;
    }
    view.subset = target_subset(&t);
    struct check_arg arg = {{0}, &view, &yes, &no, matched};
    if (!decode_row_key(&a, request, &yes.key, st) &&
        !parse_mutations(route.table, cJSON_GetObjectItem(request, "trueMutations"),
                         "true_mutations", true, now, &yes_m, st) &&
        !parse_mutations(route.table, cJSON_GetObjectItem(request, "falseMutations"),
                         "false_mutations", true, now, &no_m, st) &&
        !no_mutations(&yes_m, &no_m, st) &&
        !target_check_write(&t, route.table, yes.key, &yes_m, st) &&
        !target_check_write(&t, route.table, yes.key, &no_m, st) &&
        !serving(bt, &route, &index, st)) {
        no.key = arg.key = yes.key;
        if (!on_replica(bt, route.replicas[index], check_file, &arg, st))
            replicate(bt, &route, route.replicas[index], *matched ? &yes : &no, 1, now);
    }
    bt_mutations_free(&yes_m);
    bt_mutations_free(&no_m);
    row_view_close(&view);
    arena_free(&a);
    bt_route_clear(&route);
    target_close(&t);
    return st->code;
}

/* --- readModifyWriteRow --- */

struct rmw_arg {
    struct bt_bytes key;
    const struct bt_rmw_rules *rules;
    int64_t now_micros;
    struct bt_rmw_result *results;
    struct bt_gc_families families;
};

static enum em_code rmw_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct rmw_arg *r = arg;
    struct bt_cells_gc gc = {&r->families, r->now_micros};
    return bt_cells_read_modify_write(file, r->key, r->rules, r->now_micros, &gc, r->results, st);
}

/* One rule's written cell, for ordering the answer. */
struct rmw_written {
    const struct bt_rmw_rule *rule;
    size_t index; /* of the rule (and its result) */
};

/* By family, then qualifier, then rule order. */
static int written_compare(const void *pa, const void *pb)
{
    const struct rmw_written *a = pa, *b = pb;
    int c = strcmp(a->rule->family, b->rule->family);
    if (!c)
        c = bt_bytes_compare(a->rule->qualifier, b->rule->qualifier);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

/* The Row of the cells the rules wrote: {key, families: [{name, columns: [{qualifier,
 * cells: [{timestampMicros, value}]}]}]}, as data.proto draws a Row: one cell per column,
 * its new contents (of several rules on one column the last one's: the earlier ones were
 * its input), each family's columns in increasing qualifier order. NULL without memory. */
static cJSON *rmw_row(const struct rmw_arg *r)
{
    size_t n = r->rules->n;
    struct rmw_written *written = calloc(n ? n : 1, sizeof(*written));
    if (!written)
        return NULL;
    for (size_t i = 0; i < n; i++)
        written[i] = (struct rmw_written){&r->rules->items[i], i};
    qsort(written, n, sizeof(*written), written_compare);
    cJSON *row = cJSON_CreateObject();
    em_json_add_bytes(row, "key", r->key.data, r->key.len);
    cJSON *families = cJSON_AddArrayToObject(row, "families");
    cJSON *columns = NULL;
    const char *family_name = NULL; /* of the family columns belongs to */
    for (size_t i = 0; i < n; i++) {
        const struct bt_rmw_rule *rule = written[i].rule;
        if (i + 1 < n && strcmp(written[i + 1].rule->family, rule->family) == 0 &&
            bt_bytes_compare(written[i + 1].rule->qualifier, rule->qualifier) == 0)
            continue; /* a later rule wrote this column again */
        if (!family_name || strcmp(family_name, rule->family) != 0) {
            family_name = rule->family;
            cJSON *family = cJSON_CreateObject();
            cJSON_AddStringToObject(family, "name", rule->family);
            columns = cJSON_AddArrayToObject(family, "columns");
            cJSON_AddItemToArray(families, family);
        }
        const struct bt_rmw_result *result = &r->results[written[i].index];
        cJSON *column = cJSON_CreateObject();
        em_json_add_bytes(column, "qualifier", rule->qualifier.data, rule->qualifier.len);
        cJSON *cell = cJSON_CreateObject();
        em_json_add_int64(cell, "timestampMicros", result->timestamp_micros);
        em_json_add_bytes(cell, "value", result->value, result->value_len);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(column, "cells"), cell);
        cJSON_AddItemToArray(columns, column);
    }
    free(written);
    return row;
}

/* Replicates what the rules wrote, as setCell mutations (views of the results). */
static void replicate_rmw(struct bt_context *bt, const struct bt_route *route, const char *served,
                          const struct rmw_arg *r, int64_t now)
{
    struct bt_mutation *items = calloc(r->rules->n, sizeof(*items));
    if (!items)
        return;
    for (size_t i = 0; i < r->rules->n; i++)
        items[i] = (struct bt_mutation){.kind = BT_MUT_SET_CELL,
                                        .family = r->rules->items[i].family,
                                        .qualifier = r->rules->items[i].qualifier,
                                        .timestamp_micros = r->results[i].timestamp_micros,
                                        .value = {r->results[i].value, r->results[i].value_len}};
    struct bt_mutations muts = {items, r->rules->n};
    struct bt_row_mutations row = {r->key, &muts};
    replicate(bt, route, served, &row, 1, now);
    free(items);
}

static enum em_code check_rule_families(const cJSON *table, const struct bt_rmw_rules *rules,
                                        struct em_status *st)
{
    for (size_t i = 0; i < rules->n; i++) {
        enum bt_aggregator agg;
        if (check_family(table, rules->items[i].family, &agg, st))
            return st->code;
        if (agg != BT_AGG_NONE)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "ReadModifyWriteRow cannot change the aggregate column family %.200s: "
                           "its cells are written with AddToCell or MergeToCell.",
                           rules->items[i].family);
    }
    return EM_OK;
}

enum em_code bt_data_read_modify_write(struct bt_context *bt, const char *table,
                                       const cJSON *request, int64_t now, cJSON **row,
                                       struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct bt_rmw_rules rules = {0};
    struct rmw_arg arg = {{0}, &rules, now / 1000000 * 1000, NULL, {0}};
    struct target t;
    int index;
    *row = NULL;
    if (target_open(bt, table, &t, st) ||
        route_of(bt, t.table, em_json_string(request, "appProfileId"), &route, st)) {
        target_close(&t);
        return st->code;
    }
    if (!decode_row_key(&a, request, &arg.key, st) &&
        !bt_rmw_rules_parse(cJSON_GetObjectItem(request, "rules"), &rules, st) &&
        !check_rule_families(route.table, &rules, st) &&
        !bt_gc_families_load(cJSON_GetObjectItem(route.table, "columnFamilies"), &arg.families,
                             st) &&
        !(t.view && bt_subset_check_rules(&t.subset, t.view, arg.key, &rules, st)) &&
        !serving(bt, &route, &index, st)) {
        if (!(arg.results = calloc(rules.n, sizeof(*arg.results))))
            EM_FAIL_OOM(st);
        else if (!on_replica(bt, route.replicas[index], rmw_file, &arg, st)) {
            replicate_rmw(bt, &route, route.replicas[index], &arg, now);
            if (!(*row = rmw_row(&arg)))
                EM_FAIL_OOM(st);
        }
        if (arg.results)
            bt_rmw_results_clear(arg.results, rules.n);
        free(arg.results);
    }
    bt_rmw_rules_free(&rules);
    bt_gc_families_free(&arg.families);
    arena_free(&a);
    bt_route_clear(&route);
    target_close(&t);
    return st->code;
}

/* --- sampleRowKeys --- */

#define BT_SAMPLE_BYTES (1 << 20) /* a sample every MiB of row data */

struct sample_state {
    /* a view's rows and cells only (NULL: every row): the offsets tell nothing of the
     * size of the cells the view hides */
    const struct bt_subset *subset;
    int64_t offset, next;
    cJSON *samples;
};

static bool sample_row(void *arg, const struct bt_row *row)
{
    struct sample_state *s = arg;
    if (!row) {
        cJSON_Delete(s->samples);
        s->samples = cJSON_CreateArray();
        s->offset = 0;
        s->next = BT_SAMPLE_BYTES;
        return false;
    }
    if (s->subset && !bt_subset_has_row(s->subset, row->key))
        return false;
    for (size_t i = 0; i < row->n_cells; i++)
        if (!s->subset ||
            bt_subset_has_cell(s->subset, row->cells[i].family, row->cells[i].qualifier))
            s->offset += (int64_t)(row->key.len + row->cells[i].family.len +
                                   row->cells[i].qualifier.len + row->cells[i].value.len + 8);
    if (s->offset >= s->next) {
        cJSON *sample = cJSON_CreateObject();
        em_json_add_bytes(sample, "rowKey", row->key.data, row->key.len);
        em_json_add_int64(sample, "offsetBytes", s->offset);
        cJSON_AddItemToArray(s->samples, sample);
        s->next = s->offset + BT_SAMPLE_BYTES;
    }
    return false;
}

static enum em_code sample_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct bt_row_set all = {0};
    return bt_cells_read(file, &all, false, sample_row, arg, st);
}

enum em_code bt_data_sample_row_keys(struct bt_context *bt, const char *table,
                                     const char *app_profile, cJSON **samples, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct sample_state state = {0};
    struct target t;
    int index;
    *samples = NULL;
    if (target_open(bt, table, &t, st) || route_of(bt, t.table, app_profile, &route, st)) {
        target_close(&t);
        return st->code;
    }
    state.subset = target_subset(&t);
    if (!serving(bt, &route, &index, st) &&
        !on_replica(bt, route.replicas[index], sample_file, &state, st)) {
        cJSON *last = cJSON_CreateObject();
        cJSON_AddStringToObject(last, "rowKey", "");
        em_json_add_int64(last, "offsetBytes", state.offset);
        cJSON_AddItemToArray(state.samples, last);
        *samples = state.samples;
        state.samples = NULL;
    }
    cJSON_Delete(state.samples);
    bt_route_clear(&route);
    target_close(&t);
    return st->code;
}

/* --- pingAndWarm --- */

enum em_code bt_data_ping(struct bt_context *bt, const char *instance, const char *app_profile,
                          struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL, *profile = NULL;
    char name[BT_NAME_MAX];
    if (bt_instance_get(bt->admin, instance, &inst, st))
        return st->code;
    cJSON_Delete(inst);
    snprintf(name, sizeof(name), "%.380s/appProfiles/%.100s", instance,
             app_profile && *app_profile ? app_profile : "default");
    if (bt_app_profile_get(bt->admin, name, &profile, st))
        return st->code;
    cJSON_Delete(profile);
    return EM_OK;
}

/* --- admin deletions of cells --- */

/* Runs fn on every replica of the table (every cluster), failing on the first refusal. */
static enum em_code on_every_replica(struct bt_context *bt, const char *table, file_fn fn,
                                     void *arg, struct em_status *st)
{
    struct bt_route route;
    if (route_of(bt, table, NULL, &route, st))
        return st->code;
    for (int i = 0; i < route.all_count && !st->code; i++)
        on_replica(bt, route.all_replicas[i], fn, arg, st);
    bt_route_clear(&route);
    return st->code;
}

static enum em_code drop_families_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    const cJSON *name;
    cJSON_ArrayForEach(name, (const cJSON *)arg)
    {
        if (bt_cells_drop_family(file, name->valuestring, st))
            return st->code;
    }
    return EM_OK;
}

enum em_code bt_data_drop_families(struct bt_context *bt, const char *table, const cJSON *families,
                                   struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    if (!bt->replicas || cJSON_GetArraySize(families) == 0)
        return EM_OK;
    return on_every_replica(bt, table, drop_families_file, (void *)families, st);
}

struct drop_rows_arg {
    struct bt_bytes prefix;
    bool all;
};

static enum em_code drop_rows_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct drop_rows_arg *d = arg;
    return bt_cells_drop_rows(file, d->prefix, d->all, st);
}

enum em_code bt_data_drop_rows(struct bt_context *bt, const char *table, const char *prefix,
                               struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct arena a = {0};
    struct drop_rows_arg arg = {{0}, prefix == NULL};
    cJSON *request = cJSON_CreateObject();
    if (prefix)
        cJSON_AddStringToObject(request, "rowKeyPrefix", prefix);
    if (!decode_bytes(&a, request, "rowKeyPrefix", &arg.prefix, st))
        on_every_replica(bt, table, drop_rows_file, &arg, st);
    cJSON_Delete(request);
    arena_free(&a);
    return st->code;
}
