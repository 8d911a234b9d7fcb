/*
 * bigtable_data: routing, decoding and the data calls (see bigtable_data.h).
 * Reference:
 * https://cloud.google.com/bigtable/docs/reference/data/rest/v2/projects.instances.tables
 */
#include "bigtable_data.h"

#include "bigtable_admin.h"
#include "bigtable_cells.h"
#include "bigtable_errors.h"
#include "bigtable_replicas.h"
#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BT_MAX_ROW_KEY   4096
#define BT_MAX_MUTATIONS 100000

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
    if (key->len == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Row keys must be non-empty.");
    if (key->len > BT_MAX_ROW_KEY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Row keys must be at most %d bytes (this one: %zu).", BT_MAX_ROW_KEY,
                       key->len);
    return EM_OK;
}

/* --- mutations --- */

/* The family of a mutation: named and one of the table's. */
static enum em_code check_family(const cJSON *table, const char *family, struct em_status *st)
{
    if (!family || !*family)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A mutation needs a family_name.");
    if (!cJSON_GetObjectItem(cJSON_GetObjectItem(table, "columnFamilies"), family))
        return BT_ERR_NO_FAMILY(st, family);
    return EM_OK;
}

/* A timestamp of a MILLIS table: -1 (when allowed) is now; others are multiples of 1000. */
static enum em_code resolve_timestamp(int64_t ts, bool allow_now, int64_t now_ns, int64_t *out,
                                      struct em_status *st)
{
    if (ts == -1 && allow_now) {
        *out = now_ns / 1000000 * 1000;
        return EM_OK;
    }
    if (ts < 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid timestamp %lld: timestamps are not "
                       "negative (-1: the server's time).",
                       (long long)ts);
    if (ts % 1000 != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Timestamp granularity mismatch: the table's granularity is MILLIS, so "
                       "timestamps are multiples of 1000 microseconds (got %lld).",
                       (long long)ts);
    *out = ts;
    return EM_OK;
}

static enum em_code decode_set_cell(struct arena *a, const cJSON *table, const cJSON *m,
                                    int64_t now, struct bt_mutation *out, struct em_status *st)
{
    int64_t ts = 0;
    out->kind = BT_SET_CELL;
    out->family = em_json_string(m, "familyName");
    em_json_int64(m, "timestampMicros", &ts);
    if (check_family(table, out->family, st) ||
        decode_bytes(a, m, "columnQualifier", &out->qualifier, st) ||
        decode_bytes(a, m, "value", &out->value, st) ||
        resolve_timestamp(ts, true, now, &out->timestamp_micros, st))
        return st->code;
    return EM_OK;
}

static enum em_code decode_delete_column(struct arena *a, const cJSON *table, const cJSON *m,
                                         int64_t now, struct bt_mutation *out, struct em_status *st)
{
    const cJSON *range = cJSON_GetObjectItem(m, "timeRange");
    int64_t start = 0, end = 0;
    out->kind = BT_DELETE_FROM_COLUMN;
    out->family = em_json_string(m, "familyName");
    em_json_int64(range, "startTimestampMicros", &start);
    em_json_int64(range, "endTimestampMicros", &end);
    if (check_family(table, out->family, st) ||
        decode_bytes(a, m, "columnQualifier", &out->qualifier, st) ||
        resolve_timestamp(start, false, now, &out->timestamp_micros, st) ||
        resolve_timestamp(end, false, now, &out->end_micros, st))
        return st->code;
    if (end != 0 && end < start)
        return EM_FAIL(
            st, EM_INVALID_ARGUMENT,
            "Invalid time range: end_timestamp_micros is before start_timestamp_micros.");
    return EM_OK;
}

/* One Mutation JSON into out. */
static enum em_code decode_mutation(struct arena *a, const cJSON *table, const cJSON *m,
                                    int64_t now, struct bt_mutation *out, struct em_status *st)
{
    const cJSON *part;
    *out = (struct bt_mutation){0};
    if (cJSON_GetArraySize(m) != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A mutation has exactly one of set_cell, delete_from_column, "
                       "delete_from_family or delete_from_row.");
    if ((part = cJSON_GetObjectItem(m, "setCell")))
        return decode_set_cell(a, table, part, now, out, st);
    if ((part = cJSON_GetObjectItem(m, "deleteFromColumn")))
        return decode_delete_column(a, table, part, now, out, st);
    if ((part = cJSON_GetObjectItem(m, "deleteFromFamily"))) {
        out->kind = BT_DELETE_FROM_FAMILY;
        out->family = em_json_string(part, "familyName");
        return check_family(table, out->family, st);
    }
    if (cJSON_GetObjectItem(m, "deleteFromRow")) {
        out->kind = BT_DELETE_FROM_ROW;
        return EM_OK;
    }
    return EM_FAIL(st, EM_UNIMPLEMENTED,
                   "add_to_cell and merge_to_cell (aggregate column families) are not supported "
                   "by this emulator.");
}

/* A list of Mutation JSON into a new array (in the arena). Empty lists are allowed only
 * when allow_empty (CheckAndMutateRow's sides). */
static enum em_code decode_mutations(struct arena *a, const cJSON *table, const cJSON *list,
                                     int64_t now, bool allow_empty, struct bt_row_mutations *out,
                                     struct em_status *st)
{
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n == 0 && !allow_empty)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No mutations provided.");
    if (n > BT_MAX_MUTATIONS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Too many mutations: %zu (at most %d).", n,
                       BT_MAX_MUTATIONS);
    struct bt_mutation *muts = calloc(n ? n : 1, sizeof(*muts));
    if (!muts || !arena_keep(a, muts)) {
        free(muts);
        return EM_FAIL_OOM(st);
    }
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, list)
    {
        if (decode_mutation(a, table, m, now, &muts[i++], st))
            return st->code;
    }
    out->mutations = muts;
    out->count = n;
    return EM_OK;
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

/* The index in route of the replica that serves the call: the first whose key is usable. */
static enum em_code serving(struct bt_context *bt, const struct bt_route *route, int *index,
                            struct em_status *st)
{
    if (route->cluster_count == 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "The app profile routes to no cluster.");
    for (int i = 0; i < route->cluster_count; i++) {
        *st = (struct em_status){0};
        if (bt_replicas_gate(bt->replicas, route->replicas[i], st) == EM_OK) {
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

/* Replicates to every replica of the table but the serving one; those whose key is not
 * usable now miss the write. */
static void replicate(struct bt_context *bt, const struct bt_route *route, const char *served,
                      file_fn fn, void *arg)
{
    for (int i = 0; i < route->all_count; i++) {
        if (strcmp(route->all_replicas[i], served) == 0)
            continue;
        struct em_status st = {0};
        on_replica(bt, route->all_replicas[i], fn, arg, &st);
    }
}

struct mutate_arg {
    const struct bt_row_mutations *rows;
    size_t count;
};

static enum em_code mutate_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct mutate_arg *m = arg;
    return bt_cells_mutate(file, m->rows, m->count, st);
}

/* Writes rows on the serving replica, then replicates them. */
static enum em_code write_rows(struct bt_context *bt, const struct bt_route *route,
                               const struct bt_row_mutations *rows, size_t count,
                               struct em_status *st)
{
    int index;
    struct mutate_arg arg = {rows, count};
    if (serving(bt, route, &index, st) ||
        on_replica(bt, route->replicas[index], mutate_file, &arg, st))
        return st->code;
    replicate(bt, route, route->replicas[index], mutate_file, &arg);
    return EM_OK;
}

/* --- mutateRow, mutateRows --- */

enum em_code bt_data_mutate_row(struct bt_context *bt, const char *table, const cJSON *request,
                                int64_t now, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct bt_row_mutations row = {0};
    if (route_of(bt, table, em_json_string(request, "appProfileId"), &route, st))
        return st->code;
    if (!decode_row_key(&a, request, &row.key, st) &&
        !decode_mutations(&a, route.table, cJSON_GetObjectItem(request, "mutations"), now, false,
                          &row, st))
        write_rows(bt, &route, &row, 1, st);
    arena_free(&a);
    bt_route_clear(&route);
    return st->code;
}

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
    *entries = NULL;
    const cJSON *list = cJSON_GetObjectItem(request, "entries");
    if (route_of(bt, table, em_json_string(request, "appProfileId"), &route, st))
        return st->code;
    if (cJSON_GetArraySize(list) == 0) {
        bt_route_clear(&route);
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No entries provided.");
    }
    *entries = cJSON_CreateArray();
    int index = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, list)
    {
        struct arena a = {0};
        struct bt_row_mutations row = {0};
        struct em_status entry_st = {0};
        if (!decode_row_key(&a, entry, &row.key, &entry_st) &&
            !decode_mutations(&a, route.table, cJSON_GetObjectItem(entry, "mutations"), now, false,
                              &row, &entry_st))
            write_rows(bt, &route, &row, 1, &entry_st);
        arena_free(&a);
        cJSON_AddItemToArray(*entries, entry_status(index++, &entry_st));
    }
    bt_route_clear(&route);
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

/* The chunks of a row (google.bigtable.v2.ReadRowsResponse.CellChunk): the row key on the
 * first, the family when it changes, the qualifier when it or the family changes, the
 * last one commits the row. */
static cJSON *row_response(const struct bt_row *row)
{
    cJSON *response = cJSON_CreateObject();
    cJSON *chunks = cJSON_AddArrayToObject(response, "chunks");
    for (size_t i = 0; i < row->n_cells; i++) {
        const struct bt_cell *c = &row->cells[i], *prev = i ? &row->cells[i - 1] : NULL;
        bool new_family = !prev || prev->family.len != c->family.len ||
                          memcmp(prev->family.data, c->family.data, c->family.len) != 0;
        bool new_qualifier =
            new_family || prev->qualifier.len != c->qualifier.len ||
            (c->qualifier.len && memcmp(prev->qualifier.data, c->qualifier.data, c->qualifier.len));
        cJSON *chunk = cJSON_CreateObject();
        if (!prev)
            em_json_add_bytes(chunk, "rowKey", row->key.data, row->key.len);
        if (new_family) {
            char family[256];
            snprintf(family, sizeof(family), "%.*s", (int)c->family.len,
                     (const char *)c->family.data);
            cJSON_AddStringToObject(chunk, "familyName", family);
        }
        if (new_qualifier)
            em_json_add_bytes(chunk, "qualifier", c->qualifier.data, c->qualifier.len);
        em_json_add_int64(chunk, "timestampMicros", c->timestamp_micros);
        if (c->label)
            cJSON_AddItemToArray(cJSON_AddArrayToObject(chunk, "labels"),
                                 cJSON_CreateString(c->label));
        em_json_add_bytes(chunk, "value", c->value.data, c->value.len);
        if (i + 1 == row->n_cells)
            cJSON_AddTrueToObject(chunk, "commitRow");
        cJSON_AddItemToArray(chunks, chunk);
    }
    return response;
}

struct read_state {
    int64_t limit; /* 0: none */
    int64_t rows;
    cJSON *responses;
};

static bool collect_row(void *arg, const struct bt_row *row)
{
    struct read_state *s = arg;
    if (!row) {
        cJSON_Delete(s->responses);
        s->responses = cJSON_CreateArray();
        s->rows = 0;
        return false;
    }
    if (row->n_cells == 0)
        return false;
    cJSON_AddItemToArray(s->responses, row_response(row));
    return s->limit > 0 && ++s->rows >= s->limit;
}

static enum em_code read_file(struct em_datafile *file, void *arg, struct em_status *st);

struct read_arg {
    const struct bt_row_set *set;
    bool reversed;
    struct read_state *state;
};

static enum em_code read_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct read_arg *r = arg;
    return bt_cells_read(file, r->set, r->reversed, collect_row, r->state, st);
}

/* A filter is refused until the RowFilter language is wired in. */
static enum em_code check_no_filter(const cJSON *filter, const char *field, struct em_status *st)
{
    if (!filter || (cJSON_IsObject(filter) && !filter->child))
        return EM_OK;
    return EM_FAIL(st, EM_UNIMPLEMENTED,
                   "The %s (RowFilter) is not supported by this emulator "
                   "yet.",
                   field);
}

enum em_code bt_data_read_rows(struct bt_context *bt, const char *table, const cJSON *request,
                               cJSON **responses, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct bt_row_set set;
    struct read_state state = {0};
    int index;
    *responses = NULL;
    if (em_json_int64(request, "rowsLimit", &state.limit) && state.limit < 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "rows_limit must not be negative.");
    if (check_no_filter(cJSON_GetObjectItem(request, "filter"), "filter", st) ||
        route_of(bt, table, em_json_string(request, "appProfileId"), &route, st))
        return st->code;
    struct read_arg arg = {&set, cJSON_IsTrue(cJSON_GetObjectItem(request, "reversed")), &state};
    if (!decode_row_set(&a, cJSON_GetObjectItem(request, "rows"), &set, st) &&
        !serving(bt, &route, &index, st))
        on_replica(bt, route.replicas[index], read_file, &arg, st);
    arena_free(&a);
    bt_route_clear(&route);
    if (st->code) {
        cJSON_Delete(state.responses);
        return st->code;
    }
    *responses = state.responses ? state.responses : cJSON_CreateArray();
    return EM_OK;
}

/* --- checkAndMutateRow --- */

/* Without a predicate filter, the predicate matches a row that has a cell. */
static bool row_has_cells(void *arg, const struct bt_row *row)
{
    (void)arg;
    return row->n_cells > 0;
}

struct check_arg {
    struct bt_bytes key;
    const struct bt_row_mutations *if_true, *if_false;
    bool *matched;
};

static enum em_code check_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct check_arg *c = arg;
    return bt_cells_check_and_mutate(file, c->key, row_has_cells, NULL, c->if_true, c->if_false,
                                     c->matched, st);
}

enum em_code bt_data_check_and_mutate(struct bt_context *bt, const char *table,
                                      const cJSON *request, int64_t now, bool *matched,
                                      struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct bt_row_mutations yes = {0}, no = {0};
    int index;
    *matched = false;
    if (check_no_filter(cJSON_GetObjectItem(request, "predicateFilter"), "predicate_filter", st) ||
        route_of(bt, table, em_json_string(request, "appProfileId"), &route, st))
        return st->code;
    struct check_arg arg = {{0}, &yes, &no, matched};
    if (!decode_row_key(&a, request, &yes.key, st) &&
        !decode_mutations(&a, route.table, cJSON_GetObjectItem(request, "trueMutations"), now, true,
                          &yes, st) &&
        !decode_mutations(&a, route.table, cJSON_GetObjectItem(request, "falseMutations"), now,
                          true, &no, st) &&
        !serving(bt, &route, &index, st)) {
        no.key = arg.key = yes.key;
        if (!on_replica(bt, route.replicas[index], check_file, &arg, st)) {
            const struct bt_row_mutations *side = *matched ? &yes : &no;
            struct mutate_arg replay = {side, 1};
            replicate(bt, &route, route.replicas[index], mutate_file, &replay);
        }
    }
    arena_free(&a);
    bt_route_clear(&route);
    return st->code;
}

/* --- readModifyWriteRow --- */

static enum em_code decode_rules(struct arena *a, const cJSON *table, const cJSON *list,
                                 struct bt_rmw_rule **out, size_t *count, struct em_status *st)
{
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No rules provided.");
    struct bt_rmw_rule *rules = calloc(n, sizeof(*rules));
    if (!rules || !arena_keep(a, rules)) {
        free(rules);
        return EM_FAIL_OOM(st);
    }
    size_t i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, list)
    {
        struct bt_rmw_rule *rule = &rules[i++];
        bool has_append = cJSON_GetObjectItem(r, "appendValue") != NULL;
        rule->increment = em_json_int64(r, "incrementAmount", &rule->amount);
        rule->family = em_json_string(r, "familyName");
        if (has_append == rule->increment)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "A rule has exactly one of append_value or increment_amount.");
        if (check_family(table, rule->family, st) ||
            decode_bytes(a, r, "columnQualifier", &rule->qualifier, st) ||
            decode_bytes(a, r, "appendValue", &rule->append, st))
            return st->code;
    }
    *out = rules;
    *count = n;
    return EM_OK;
}

struct rmw_arg {
    struct bt_bytes key;
    const struct bt_rmw_rule *rules;
    size_t count;
    int64_t now_micros;
    struct bt_rmw_result *results;
};

static enum em_code rmw_file(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct rmw_arg *r = arg;
    return bt_cells_read_modify_write(file, r->key, r->rules, r->count, r->now_micros, r->results,
                                      st);
}

/* The Row of the cells the rules wrote: {key, families: [{name, columns: [{qualifier,
 * cells: [{timestampMicros, value}]}]}]}, one column per rule (the last write wins). */
static cJSON *rmw_row(struct bt_bytes key, const struct bt_rmw_rule *rules,
                      const struct bt_rmw_result *results, size_t count)
{
    cJSON *row = cJSON_CreateObject();
    em_json_add_bytes(row, "key", key.data, key.len);
    cJSON *families = cJSON_AddArrayToObject(row, "families");
    for (size_t i = 0; i < count; i++) {
        cJSON *family = NULL, *f;
        cJSON_ArrayForEach(f, families)
        {
            if (strcmp(em_json_string(f, "name"), rules[i].family) == 0)
                family = f;
        }
        if (!family) {
            family = cJSON_CreateObject();
            cJSON_AddStringToObject(family, "name", rules[i].family);
            cJSON_AddArrayToObject(family, "columns");
            cJSON_AddItemToArray(families, family);
        }
        cJSON *column = cJSON_CreateObject();
        em_json_add_bytes(column, "qualifier", rules[i].qualifier.data, rules[i].qualifier.len);
        cJSON *cell = cJSON_CreateObject();
        em_json_add_int64(cell, "timestampMicros", results[i].timestamp_micros);
        em_json_add_bytes(cell, "value", results[i].value, results[i].value_len);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(column, "cells"), cell);
        cJSON_AddItemToArray(cJSON_GetObjectItem(family, "columns"), column);
    }
    return row;
}

/* Replicates what the rules wrote, as setCell mutations. */
static void replicate_rmw(struct bt_context *bt, const struct bt_route *route, const char *served,
                          const struct rmw_arg *r)
{
    struct bt_mutation *muts = calloc(r->count, sizeof(*muts));
    if (!muts)
        return;
    for (size_t i = 0; i < r->count; i++)
        muts[i] = (struct bt_mutation){BT_SET_CELL,
                                       r->rules[i].family,
                                       r->rules[i].qualifier,
                                       r->results[i].timestamp_micros,
                                       0,
                                       {r->results[i].value, r->results[i].value_len}};
    struct bt_row_mutations row = {r->key, muts, r->count};
    struct mutate_arg arg = {&row, 1};
    replicate(bt, route, served, mutate_file, &arg);
    free(muts);
}

enum em_code bt_data_read_modify_write(struct bt_context *bt, const char *table,
                                       const cJSON *request, int64_t now, cJSON **row,
                                       struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    struct bt_route route;
    struct arena a = {0};
    struct rmw_arg arg = {{0}, NULL, 0, now / 1000000 * 1000, NULL};
    int index;
    *row = NULL;
    if (route_of(bt, table, em_json_string(request, "appProfileId"), &route, st))
        return st->code;
    struct bt_rmw_rule *rules = NULL;
    if (!decode_row_key(&a, request, &arg.key, st) &&
        !decode_rules(&a, route.table, cJSON_GetObjectItem(request, "rules"), &rules, &arg.count,
                      st) &&
        !serving(bt, &route, &index, st)) {
        arg.rules = rules;
        arg.results = calloc(arg.count, sizeof(*arg.results));
        if (!arg.results)
            EM_FAIL_OOM(st);
        else if (!on_replica(bt, route.replicas[index], rmw_file, &arg, st)) {
            replicate_rmw(bt, &route, route.replicas[index], &arg);
            *row = rmw_row(arg.key, rules, arg.results, arg.count);
        }
        if (arg.results)
            bt_rmw_results_clear(arg.results, arg.count);
        free(arg.results);
    }
    arena_free(&a);
    bt_route_clear(&route);
    return st->code;
}

/* --- sampleRowKeys --- */

#define BT_SAMPLE_BYTES (1 << 20) /* a sample every MiB of row data */

struct sample_state {
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
    for (size_t i = 0; i < row->n_cells; i++)
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
    int index;
    *samples = NULL;
    if (route_of(bt, table, app_profile, &route, st))
        return st->code;
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
