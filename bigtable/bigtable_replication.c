/*
 * bigtable_replication: replication with a delay and catch-up through each replica's
 * replication log (see bigtable_replication.h).
 *
 * Entry format (integers big-endian): u32 row count, then per row: u32 key length, key,
 * u32 mutation count, then per mutation: u8 kind (an aggregate's aggregator in its high
 * four bits), u32 family length (its NUL included), family, u32 qualifier length,
 * qualifier, i64 timestamp, u32 value length, value (an aggregate's input: 8 bytes, or
 * none for a merge of NULL), i64 start, i64 end (microseconds).
 */
#include "bigtable_replication.h"

#include "bigtable_admin.h"
#include "bigtable_replicas.h"
#include "em_log.h"

#include <stdlib.h>
#include <string.h>

void bt_replication_init(struct bt_replication *repl, struct bt_admin *admin,
                         struct bt_replicas *replicas, int64_t delay_ns)
{
    repl->admin = admin;
    repl->replicas = replicas;
    repl->delay_ns = delay_ns;
    atomic_init(&repl->backlog, true); /* logs written before a restart */
}

/* --- encoding --- */

struct writer {
    uint8_t *data;
    size_t len, cap;
    bool failed;
};

static void put(struct writer *w, const void *bytes, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *grown = realloc(w->data, cap);
        if (!grown) {
            w->failed = true;
            return;
        }
        w->data = grown;
        w->cap = cap;
    }
    if (n)
        memcpy(w->data + w->len, bytes, n);
    w->len += n;
}

static void put_u64(struct writer *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(w, b, (size_t)bytes);
}

static void put_bytes(struct writer *w, const void *data, size_t len)
{
    put_u64(w, len, 4);
    put(w, data, len);
}

static void put_mutation(struct writer *w, const struct bt_mutation *m)
{
    uint8_t input[BT_AGG_STATE_BYTES];
    struct bt_bytes value = m->value;
    if (bt_mutation_aggregates(m)) {
        bt_int64_encode(m->input, input);
        value = (struct bt_bytes){input, m->has_input ? sizeof(input) : 0};
    }
    put_u64(w, (uint64_t)m->kind | (uint64_t)m->aggregator << 4, 1);
    put_bytes(w, m->family ? m->family : "", m->family ? strlen(m->family) + 1 : 1);
    put_bytes(w, m->qualifier.data, m->qualifier.len);
    put_u64(w, (uint64_t)m->timestamp_micros, 8);
    put_bytes(w, value.data, value.len);
    put_u64(w, (uint64_t)m->start_micros, 8);
    put_u64(w, (uint64_t)m->end_micros, 8);
}

enum em_code bt_replication_encode(const struct bt_row_mutations *rows, size_t count, uint8_t **out,
                                   size_t *len, struct em_status *st)
{
    struct writer w = {0};
    put_u64(&w, count, 4);
    for (size_t r = 0; r < count; r++) {
        put_bytes(&w, rows[r].key.data, rows[r].key.len);
        put_u64(&w, rows[r].mutations->n, 4);
        for (size_t i = 0; i < rows[r].mutations->n; i++)
            put_mutation(&w, &rows[r].mutations->items[i]);
    }
    if (w.failed) {
        free(w.data);
        return EM_FAIL_OOM(st);
    }
    *out = w.data;
    *len = w.len;
    return EM_OK;
}

/* --- decoding --- */

struct reader {
    const uint8_t *data;
    size_t len, at;
    bool bad;
};

static uint64_t get_u64(struct reader *r, int bytes)
{
    if (r->bad || r->len - r->at < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | r->data[r->at++];
    return v;
}

static struct bt_bytes get_bytes(struct reader *r)
{
    uint64_t n = get_u64(r, 4);
    if (r->bad || r->len - r->at < n) {
        r->bad = true;
        return (struct bt_bytes){(const uint8_t *)"", 0};
    }
    struct bt_bytes b = {r->data + r->at, (size_t)n};
    r->at += (size_t)n;
    return b;
}

static void get_mutation(struct reader *r, struct bt_mutation *m)
{
    uint64_t kind = get_u64(r, 1);
    m->kind = (enum bt_mutation_kind)(kind & 0x0f);
    m->aggregator = (enum bt_aggregator)(kind >> 4);
    struct bt_bytes family = get_bytes(r);
    if (m->kind > BT_MUT_MERGE_TO_CELL || m->aggregator > BT_AGG_MAX ||
        (m->aggregator != BT_AGG_NONE) != bt_mutation_aggregates(m) || family.len == 0 ||
        family.data[family.len - 1] != 0)
        r->bad = true;
    m->family = r->bad ? NULL : (char *)family.data; /* a view: never freed */
    m->qualifier = get_bytes(r);
    m->timestamp_micros = (int64_t)get_u64(r, 8);
    m->value = get_bytes(r);
    if (bt_mutation_aggregates(m)) {
        m->has_input = m->value.len != 0;
        if (m->has_input && !bt_int64_decode(m->value, &m->input))
            r->bad = true;
        m->value = (struct bt_bytes){(const uint8_t *)"", 0};
    }
    m->start_micros = (int64_t)get_u64(r, 8);
    m->end_micros = (int64_t)get_u64(r, 8);
}

void bt_replication_rows_free(struct bt_replication_rows *rows)
{
    for (size_t i = 0; rows->mutations && i < rows->count; i++)
        free(rows->mutations[i].items); /* the items' bytes are views */
    free(rows->mutations);
    free(rows->rows);
    *rows = (struct bt_replication_rows){0};
}

enum em_code bt_replication_decode(const uint8_t *entry, size_t len,
                                   struct bt_replication_rows *out, struct em_status *st)
{
    struct reader r = {entry, len, 0, false};
    *out = (struct bt_replication_rows){0};
    uint64_t count = get_u64(&r, 4);
    if (r.bad || count > len)
        return EM_FAIL(st, EM_INTERNAL, "A replication log entry is damaged.");
    out->rows = calloc(count ? count : 1, sizeof(*out->rows));
    out->mutations = calloc(count ? count : 1, sizeof(*out->mutations));
    if (!out->rows || !out->mutations) {
        bt_replication_rows_free(out);
        return EM_FAIL_OOM(st);
    }
    out->count = (size_t)count;
    for (size_t i = 0; i < out->count && !r.bad; i++) {
        out->rows[i].key = get_bytes(&r);
        out->rows[i].mutations = &out->mutations[i];
        uint64_t n = get_u64(&r, 4);
        if (r.bad || n > len ||
            !(out->mutations[i].items = calloc(n ? n : 1, sizeof(struct bt_mutation)))) {
            r.bad = true;
            break;
        }
        out->mutations[i].n = (size_t)n;
        for (size_t k = 0; k < n && !r.bad; k++)
            get_mutation(&r, &out->mutations[i].items[k]);
    }
    if (r.bad || r.at != len) {
        bt_replication_rows_free(out);
        return EM_FAIL(st, EM_INTERNAL, "A replication log entry is damaged.");
    }
    return EM_OK;
}

/* --- sending --- */

/* The oldest entry S holds for R: found says whether there is one. */
static enum em_code first_queued(struct em_datafile *source, const char *target,
                                 struct bt_log_entry *entry, struct em_status *st)
{
    return bt_cells_log_first(source, target, entry, st);
}

/* Applies rows to replica now (collecting the garbage of the columns they set under gc, as
 * the serving replica did): its error when it cannot take them (NOT_FOUND: the replica is
 * gone). An entry of the log whose identity is source (non-NULL) is applied once (seq). */
static enum em_code apply_now(struct bt_replication *repl, const char *replica,
                              const struct bt_row_mutations *rows, size_t count,
                              const struct bt_cells_gc *gc, const char *source, int64_t seq)
{
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    if (bt_replicas_open_file(repl->replicas, replica, &file, &st))
        return st.code;
    bt_cells_mutate_received(file, rows, count, gc, source, seq, &st);
    em_datafile_put(file);
    return st.code;
}

/* May the write go to target at once? Only with no delay and nothing queued before it. */
static bool direct(struct bt_replication *repl, struct em_datafile *source, const char *target)
{
    if (repl->delay_ns > 0)
        return false;
    if (!atomic_load(&repl->backlog))
        return true;
    struct bt_log_entry first = {0};
    struct em_status st = {0};
    bool empty = first_queued(source, target, &first, &st) == EM_OK && !first.found;
    free(first.entry);
    return empty;
}

void bt_replication_send(struct bt_replication *repl, const struct bt_route *route,
                         const char *served, const struct bt_row_mutations *rows, size_t count,
                         int64_t now)
{
    struct em_datafile *source = NULL;
    uint8_t *entry = NULL;
    size_t len = 0;
    struct em_status st = {0};
    struct bt_gc_families families;
    if (bt_gc_families_load(cJSON_GetObjectItem(route->table, "columnFamilies"), &families, &st) ||
        bt_replicas_open_file(repl->replicas, served, &source, &st)) {
        em_warn("bigtable: %s cannot replicate: %s", served, st.message);
        bt_gc_families_free(&families);
        return;
    }
    struct bt_cells_gc gc = {&families, now / 1000};
    for (int i = 0; i < route->all_count; i++) {
        const char *target = route->all_replicas[i];
        if (strcmp(target, served) == 0 ||
            (direct(repl, source, target) &&
             apply_now(repl, target, rows, count, &gc, NULL, 0) == EM_OK))
            continue;
        st = (struct em_status){0};
        if ((!entry && bt_replication_encode(rows, count, &entry, &len, &st)) ||
            bt_cells_log_append(source, target, now + repl->delay_ns, entry, len, &st)) {
            em_warn("bigtable: a write to %s could not be queued for %s: %s", served, target,
                    st.message);
            continue;
        }
        atomic_store(&repl->backlog, true);
    }
    free(entry);
    bt_gc_families_free(&families);
    em_datafile_put(source);
}

/* --- draining --- */

/* Applies one due entry to R: true when it may leave the log (applied, or never
 * applicable: damaged, or R is gone). */
static bool apply_entry(struct bt_replication *repl, const struct bt_log_entry *e,
                        const char *source, const char *target, const struct bt_cells_gc *gc)
{
    struct bt_replication_rows rows = {0};
    struct em_status st = {0};
    if (bt_replication_decode(e->entry, e->len, &rows, &st)) {
        em_error("bigtable: a replication entry for %s is dropped: %s", target, st.message);
        return true;
    }
    enum em_code rc = apply_now(repl, target, rows.rows, rows.count, gc, source, e->seq);
    bt_replication_rows_free(&rows);
    return rc == EM_OK || rc == EM_NOT_FOUND;
}

/* Applies S's due entries for R in order; true when some are left (not due yet, or R
 * cannot take them now). */
static bool drain_pair(struct bt_replication *repl, struct em_datafile *source,
                       const char *source_id, const char *target, const struct bt_cells_gc *gc,
                       int64_t now)
{
    for (;;) {
        struct bt_log_entry e = {0};
        struct em_status st = {0};
        if (first_queued(source, target, &e, &st))
            return true;
        if (!e.found)
            return false;
        bool done = e.due_ns <= now && apply_entry(repl, &e, source_id, target, gc);
        free(e.entry);
        if (!done || bt_cells_log_remove(source, e.seq, &st))
            return true;
    }
}

/* Drains every pair of one table's replicas; true when entries are left. */
static bool drain_table(struct bt_replication *repl, const char *table, int64_t now)
{
    struct bt_route route;
    struct em_status st = {0};
    if (bt_route_for(repl->admin, table, NULL, &route, &st))
        return false; /* the table is gone: its replicas and their logs with it */
    struct bt_gc_families families;
    if (bt_gc_families_load(cJSON_GetObjectItem(route.table, "columnFamilies"), &families, &st)) {
        bt_route_clear(&route);
        return true; /* out of memory: another drain later */
    }
    struct bt_cells_gc gc = {&families, now / 1000};
    bool left = false;
    for (int s = 0; s < route.all_count; s++) {
        struct em_datafile *source = NULL;
        if (bt_replicas_open_file(repl->replicas, route.all_replicas[s], &source, &st)) {
            left |= st.code != EM_NOT_FOUND; /* its log cannot be read now (or is gone) */
            st = (struct em_status){0};
            continue;
        }
        char id[BT_LOG_ID_SIZE] = "";
        if (bt_cells_log_identity(source, id, &st)) {
            left = true; /* its log cannot be read now: another drain */
            st = (struct em_status){0};
        }
        for (int r = 0; *id && r < route.all_count; r++)
            if (r != s)
                left |= drain_pair(repl, source, id, route.all_replicas[r], &gc, now);
        em_datafile_put(source);
    }
    bt_gc_families_free(&families);
    bt_route_clear(&route);
    return left;
}

void bt_replication_drain(struct bt_replication *repl, int64_t now)
{
    if (!repl->admin || !atomic_exchange(&repl->backlog, false))
        return;
    cJSON *tables = NULL;
    struct em_status st = {0};
    bool left = false;
    if (bt_table_names(repl->admin, &tables, &st)) {
        left = true;
    } else {
        const cJSON *t;
        cJSON_ArrayForEach(t, tables)
        {
            if (cJSON_IsString(t))
                left |= drain_table(repl, t->valuestring, now);
        }
    }
    cJSON_Delete(tables);
    if (left)
        atomic_store(&repl->backlog, true);
}

void bt_replication_wake(struct bt_replication *repl)
{
    atomic_store(&repl->backlog, true);
}
