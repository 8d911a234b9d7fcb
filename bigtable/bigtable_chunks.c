/*
 * bigtable_chunks: the ReadRows chunk writer and reader (see bigtable_chunks.h).
 *
 * Reader states, as Google's client libraries draw them:
 *
 *   NEW_ROW --chunk with key, family, qualifier--> ROW (a cell done) or CELL (value split)
 *   ROW  --chunk for the next cell--> ROW or CELL       ROW/CELL --resetRow--> NEW_ROW
 *   CELL --value piece with valueSize--> CELL          CELL --last piece--> ROW
 *   ROW  --commitRow (on the chunk that ends a cell)--> NEW_ROW, the row delivered
 */
#include "bigtable_chunks.h"

#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ================================ writer ================================ */

struct bt_chunk_writer {
    size_t value_split, max_bytes;
    cJSON *responses; /* the array handed out by bt_chunk_writer_take */
    cJSON *chunks;    /* the open response's "chunks", or NULL */
    size_t bytes;     /* value bytes in the open response */
};

struct bt_chunk_writer *bt_chunk_writer_new(size_t value_split, size_t max_response_bytes)
{
    struct bt_chunk_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->value_split = value_split ? value_split : BT_CHUNK_VALUE_SPLIT;
    w->max_bytes = max_response_bytes ? max_response_bytes : BT_CHUNK_RESPONSE_BYTES;
    w->responses = cJSON_CreateArray();
    if (!w->responses) {
        free(w);
        return NULL;
    }
    return w;
}

/* A new chunk object in the open response, opening one when none is or the open one is
 * full. */
static cJSON *new_chunk(struct bt_chunk_writer *w)
{
    if (!w->chunks || w->bytes >= w->max_bytes) {
        cJSON *response = cJSON_CreateObject();
        if (!response)
            return NULL;
        cJSON_AddItemToArray(w->responses, response);
        w->chunks = cJSON_AddArrayToObject(response, "chunks");
        w->bytes = 0;
        if (!w->chunks)
            return NULL;
    }
    cJSON *chunk = cJSON_CreateObject();
    if (chunk)
        cJSON_AddItemToArray(w->chunks, chunk);
    return chunk;
}

static bool add_b64(cJSON *obj, const char *key, const uint8_t *data, size_t len)
{
    char *text = em_b64_encode(data ? data : (const uint8_t *)"", len);
    bool ok = text && cJSON_AddStringToObject(obj, key, text);
    free(text);
    return ok;
}

static bool bytes_equal(struct bt_bytes a, struct bt_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* The fields of a cell's first chunk. */
static bool add_cell_head(cJSON *chunk, const struct bt_row *row, size_t i)
{
    const struct bt_cell *c = &row->cells[i];
    bool new_family = i == 0 || !bytes_equal(c->family, row->cells[i - 1].family);
    bool new_column = new_family || !bytes_equal(c->qualifier, row->cells[i - 1].qualifier);
    bool ok = true;
    if (i == 0)
        ok = add_b64(chunk, "rowKey", row->key.data, row->key.len);
    if (ok && new_family) {
        char *family = strndup(
            (const char *)(c->family.data ? c->family.data : (const uint8_t *)""), c->family.len);
        ok = family && cJSON_AddStringToObject(chunk, "familyName", family);
        free(family);
    }
    if (ok && new_column)
        ok = add_b64(chunk, "qualifier", c->qualifier.data, c->qualifier.len);
    if (ok && c->timestamp_micros != 0)
        em_json_add_int64(chunk, "timestampMicros", c->timestamp_micros);
    if (ok && c->label) {
        cJSON *labels = cJSON_AddArrayToObject(chunk, "labels");
        cJSON *label = cJSON_CreateString(c->label);
        ok = labels && label;
        if (label)
            cJSON_AddItemToArray(labels, label);
    }
    return ok;
}

/* One cell: its head, then its value in pieces of at most value_split bytes. */
static bool add_cell(struct bt_chunk_writer *w, const struct bt_row *row, size_t i)
{
    const struct bt_cell *c = &row->cells[i];
    bool last_cell = i + 1 == row->n_cells;
    size_t offset = 0;
    do {
        cJSON *chunk = new_chunk(w);
        if (!chunk || (offset == 0 && !add_cell_head(chunk, row, i)))
            return false;
        size_t piece = c->value.len - offset;
        if (piece > w->value_split)
            piece = w->value_split;
        if (piece && !add_b64(chunk, "value", c->value.data + offset, piece))
            return false;
        offset += piece;
        w->bytes += piece;
        if (offset < c->value.len &&
            !cJSON_AddNumberToObject(chunk, "valueSize", (double)c->value.len))
            return false;
        if (last_cell && offset == c->value.len && !cJSON_AddTrueToObject(chunk, "commitRow"))
            return false;
    } while (offset < c->value.len);
    return true;
}

enum em_code bt_chunk_writer_add_row(struct bt_chunk_writer *w, const struct bt_row *row,
                                     struct em_status *st)
{
    for (size_t i = 0; i < row->n_cells; i++)
        if (!add_cell(w, row, i))
            return EM_FAIL_OOM(st);
    return EM_OK;
}

cJSON *bt_chunk_writer_take(struct bt_chunk_writer *w)
{
    cJSON *fresh = cJSON_CreateArray();
    if (!fresh)
        return NULL;
    cJSON *taken = w->responses;
    w->responses = fresh;
    w->chunks = NULL;
    w->bytes = 0;
    return taken;
}

void bt_chunk_writer_free(struct bt_chunk_writer *w)
{
    if (!w)
        return;
    cJSON_Delete(w->responses);
    free(w);
}

/* ================================ reader ================================ */

enum reader_state { NEW_ROW, ROW, CELL };

struct bt_chunk_reader {
    bool reversed;
    enum reader_state state;
    size_t chunk_index; /* counted over the whole stream, for errors */
    struct bt_row *rows;
    size_t n_rows, cap_rows;
    void **allocs; /* every buffer the rows point into */
    size_t n_allocs, cap_allocs;
    struct bt_bytes last_key; /* of the last committed row */
    /* the row in progress */
    struct bt_bytes key;
    struct bt_cell *cells;
    size_t n_cells, cap_cells;
    struct bt_cell cell; /* the cell in progress */
    uint8_t *value;
    size_t value_len, value_cap;
};

struct bt_chunk_reader *bt_chunk_reader_new(bool reversed)
{
    struct bt_chunk_reader *r = calloc(1, sizeof(*r));
    if (r)
        r->reversed = reversed;
    return r;
}

/* Takes ownership of p (freed with the reader); false (p freed) when out of memory. */
static bool keep(struct bt_chunk_reader *r, void *p)
{
    if (r->n_allocs == r->cap_allocs) {
        size_t cap = r->cap_allocs ? 2 * r->cap_allocs : 32;
        void **allocs = realloc(r->allocs, cap * sizeof(*allocs));
        if (!allocs) {
            free(p);
            return false;
        }
        r->allocs = allocs;
        r->cap_allocs = cap;
    }
    r->allocs[r->n_allocs++] = p;
    return true;
}

/* What one chunk says; `has_*` tell present from default. */
struct chunk {
    bool has_key, has_family, has_qualifier, has_labels, reset, commit;
    uint8_t *key, *qualifier, *value;
    size_t key_len, qualifier_len, value_len;
    const char *family, *label;
    int64_t timestamp, value_size;
};

static void chunk_free(struct chunk *c)
{
    free(c->key);
    free(c->qualifier);
    free(c->value);
}

static enum em_code bad_chunk(struct bt_chunk_reader *r, struct em_status *st, const char *why)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "ReadRows chunk %zu: %s", r->chunk_index, why);
}

static enum em_code read_chunk_bytes(struct bt_chunk_reader *r, const cJSON *item, uint8_t **out,
                                     size_t *len, struct em_status *st)
{
    free(*out); /* a repeated key: the last one counts */
    *out = NULL;
    if (!cJSON_IsString(item) ||
        !em_b64_decode(item->valuestring, strlen(item->valuestring), out, len))
        return bad_chunk(r, st, "a bytes field is not base64");
    return EM_OK;
}

static enum em_code parse_chunk_field(struct bt_chunk_reader *r, const cJSON *item, struct chunk *c,
                                      struct em_status *st)
{
    const char *k = item->string;
    if (strcmp(k, "rowKey") == 0)
        return read_chunk_bytes(r, item, &c->key, &c->key_len, st);
    if (strcmp(k, "qualifier") == 0) {
        c->has_qualifier = true;
        return read_chunk_bytes(r, item, &c->qualifier, &c->qualifier_len, st);
    }
    if (strcmp(k, "value") == 0)
        return read_chunk_bytes(r, item, &c->value, &c->value_len, st);
    if (strcmp(k, "familyName") == 0 && cJSON_IsString(item)) {
        c->has_family = true;
        c->family = item->valuestring;
        return EM_OK;
    }
    if (strcmp(k, "timestampMicros") == 0 && em_json_value_int64(item, &c->timestamp))
        return EM_OK;
    if (strcmp(k, "valueSize") == 0 && em_json_value_int64(item, &c->value_size))
        return c->value_size < 0 || c->value_size > INT32_MAX
                   ? bad_chunk(r, st, "valueSize is not a non-negative int32")
                   : EM_OK;
    if (strcmp(k, "labels") == 0 && cJSON_IsArray(item)) {
        c->has_labels = cJSON_GetArraySize(item) > 0;
        const cJSON *first = cJSON_GetArrayItem(item, 0);
        c->label = cJSON_IsString(first) ? first->valuestring : NULL;
        return c->has_labels && !c->label ? bad_chunk(r, st, "a label is not a string") : EM_OK;
    }
    if ((strcmp(k, "resetRow") == 0 || strcmp(k, "commitRow") == 0) && cJSON_IsBool(item)) {
        *(k[0] == 'r' ? &c->reset : &c->commit) = cJSON_IsTrue(item);
        return EM_OK;
    }
    char why[160];
    snprintf(why, sizeof(why), "unknown or mistyped field \"%.100s\"", k);
    return bad_chunk(r, st, why);
}

static enum em_code parse_chunk(struct bt_chunk_reader *r, const cJSON *json, struct chunk *c,
                                struct em_status *st)
{
    if (!cJSON_IsObject(json))
        return bad_chunk(r, st, "a chunk is not an object");
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        enum em_code rc = parse_chunk_field(r, item, c, st);
        if (rc)
            return rc;
    }
    c->has_key = c->key_len > 0;
    if (c->reset && c->commit)
        return bad_chunk(r, st, "resetRow and commitRow are one oneof");
    return EM_OK;
}

static void discard_row(struct bt_chunk_reader *r)
{
    free(r->cells);
    r->cells = NULL;
    r->n_cells = r->cap_cells = 0;
    r->value_len = 0;
    r->state = NEW_ROW;
}

/* A copy of bytes kept by the reader, as a view; false when out of memory. */
static bool keep_bytes(struct bt_chunk_reader *r, const void *data, size_t len,
                       struct bt_bytes *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy || !keep(r, copy))
        return false;
    if (len)
        memcpy(copy, data, len);
    *out = (struct bt_bytes){copy, len};
    return true;
}

static bool key_in_order(const struct bt_chunk_reader *r, const struct chunk *c)
{
    if (!r->last_key.data)
        return true;
    size_t n = c->key_len < r->last_key.len ? c->key_len : r->last_key.len;
    int cmp = memcmp(c->key, r->last_key.data, n);
    if (!cmp)
        cmp = (c->key_len > r->last_key.len) - (c->key_len < r->last_key.len);
    return r->reversed ? cmp < 0 : cmp > 0;
}

/* The checks of a chunk that starts a cell, and its key, family and qualifier taken. */
static enum em_code start_cell(struct bt_chunk_reader *r, const struct chunk *c,
                               struct em_status *st)
{
    if (r->state == NEW_ROW) {
        if (!c->has_key)
            return bad_chunk(r, st, "a new row needs a row key");
        if (!c->has_family || !c->has_qualifier)
            return bad_chunk(r, st, "a new row needs a family name and a qualifier");
        if (!key_in_order(r, c))
            return bad_chunk(r, st, "row keys are out of order");
        if (!keep_bytes(r, c->key, c->key_len, &r->key))
            return EM_FAIL_OOM(st);
        r->state = ROW;
    } else if (c->has_key && (c->key_len != r->key.len || memcmp(c->key, r->key.data, c->key_len)))
        return bad_chunk(r, st, "the row key changed inside a row");
    if (c->has_family && !c->has_qualifier)
        return bad_chunk(r, st, "a new family needs a qualifier");
    struct bt_cell next = r->cell; /* family and qualifier carry over */
    if (c->has_family && !keep_bytes(r, c->family, strlen(c->family), &next.family))
        return EM_FAIL_OOM(st);
    if (c->has_qualifier && !keep_bytes(r, c->qualifier, c->qualifier_len, &next.qualifier))
        return EM_FAIL_OOM(st);
    next.timestamp_micros = c->timestamp;
    next.label = NULL;
    if (c->label) {
        char *label = strdup(c->label);
        if (!label || !keep(r, label))
            return EM_FAIL_OOM(st);
        next.label = label;
    }
    r->cell = next;
    r->value_len = 0;
    return EM_OK;
}

static bool append_value(struct bt_chunk_reader *r, const struct chunk *c)
{
    if (r->value_len + c->value_len > r->value_cap) {
        size_t cap = 2 * (r->value_len + c->value_len); /* not valueSize: a peer's claim */
        uint8_t *value = realloc(r->value, cap);
        if (!value)
            return false;
        r->value = value;
        r->value_cap = cap;
    }
    if (c->value_len)
        memcpy(r->value + r->value_len, c->value, c->value_len);
    r->value_len += c->value_len;
    return true;
}

static bool finish_cell(struct bt_chunk_reader *r)
{
    if (!keep_bytes(r, r->value, r->value_len, &r->cell.value))
        return false;
    if (r->n_cells == r->cap_cells) {
        size_t cap = r->cap_cells ? 2 * r->cap_cells : 8;
        struct bt_cell *cells = realloc(r->cells, cap * sizeof(*cells));
        if (!cells)
            return false;
        r->cells = cells;
        r->cap_cells = cap;
    }
    r->cells[r->n_cells++] = r->cell;
    r->state = ROW;
    return true;
}

static bool commit_row(struct bt_chunk_reader *r)
{
    if (r->n_rows == r->cap_rows) {
        size_t cap = r->cap_rows ? 2 * r->cap_rows : 8;
        struct bt_row *rows = realloc(r->rows, cap * sizeof(*rows));
        if (!rows)
            return false;
        r->rows = rows;
        r->cap_rows = cap;
    }
    struct bt_cell *cells = r->cells;
    size_t n_cells = r->n_cells;
    r->cells = NULL;
    r->n_cells = r->cap_cells = 0;
    if (!keep(r, cells))
        return false;
    r->rows[r->n_rows++] = (struct bt_row){r->key, cells, n_cells};
    r->last_key = r->key;
    r->state = NEW_ROW;
    return true;
}

static enum em_code read_one_chunk(struct bt_chunk_reader *r, const struct chunk *c,
                                   struct em_status *st)
{
    if (c->reset) {
        if (r->state == NEW_ROW)
            return bad_chunk(r, st, "resetRow with no row in progress");
        if (c->has_key || c->has_family || c->has_qualifier || c->timestamp || c->has_labels ||
            c->value_len || c->value_size)
            return bad_chunk(r, st, "a resetRow chunk carries no data");
        discard_row(r);
        return EM_OK;
    }
    enum em_code rc = EM_OK;
    if (r->state == CELL) {
        if (c->has_key || c->has_family || c->has_qualifier || c->timestamp || c->has_labels)
            return bad_chunk(r, st, "a value continuation carries only a value");
    } else {
        rc = start_cell(r, c, st);
    }
    if (rc)
        return rc;
    if (!append_value(r, c))
        return EM_FAIL_OOM(st);
    if (c->value_size > 0) {
        if (c->commit)
            return bad_chunk(r, st, "commitRow inside a split value");
        r->state = CELL;
        return EM_OK;
    }
    if (!finish_cell(r) || (c->commit && !commit_row(r)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code bt_chunk_reader_feed(struct bt_chunk_reader *r, const cJSON *response,
                                  struct em_status *st)
{
    const cJSON *chunks = cJSON_GetObjectItemCaseSensitive(response, "chunks");
    if (!cJSON_IsObject(response) || (chunks && !cJSON_IsArray(chunks)))
        return bad_chunk(r, st, "a response is not a ReadRowsResponse");
    const cJSON *json;
    cJSON_ArrayForEach(json, chunks)
    {
        struct chunk c = {0};
        enum em_code rc = parse_chunk(r, json, &c, st);
        if (rc == EM_OK)
            rc = read_one_chunk(r, &c, st);
        chunk_free(&c);
        r->chunk_index++;
        if (rc)
            return rc;
    }
    return EM_OK;
}

enum em_code bt_chunk_reader_finish(struct bt_chunk_reader *r, struct em_status *st)
{
    if (r->state != NEW_ROW)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "ReadRows stream ended inside a row that was never committed");
    return EM_OK;
}

size_t bt_chunk_reader_count(const struct bt_chunk_reader *r)
{
    return r->n_rows;
}

const struct bt_row *bt_chunk_reader_row(const struct bt_chunk_reader *r, size_t i)
{
    return i < r->n_rows ? &r->rows[i] : NULL;
}

void bt_chunk_reader_free(struct bt_chunk_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_allocs; i++)
        free(r->allocs[i]);
    free(r->allocs);
    free(r->rows);
    free(r->cells);
    free(r->value);
    free(r);
}
