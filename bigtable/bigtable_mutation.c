/*
 * bigtable_mutation: Mutation and ReadModifyWriteRule JSON, their checks, and their effect
 * on a row (see bigtable_mutation.h).
 * Reference: https://cloud.google.com/bigtable/docs/reference/data/rest/v2/Mutation
 */
#include "bigtable_mutation.h"

#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON reading, with the field path for errors ---- */

struct mparse {
    char path[256];
    struct em_status *st;
};

static enum em_code invalid_value(struct mparse *p, const char *field, const char *type,
                                  const cJSON *value)
{
    char *text = value ? cJSON_PrintUnformatted(value) : NULL;
    enum em_code rc = EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s.%s' (%s), %s",
                              p->path, field, type, text ? text : "");
    free(text);
    return rc;
}

static enum em_code bad_field(struct mparse *p, const char *field, const char *reason)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Error in field '%s%s%s' : %s", p->path,
                   field[0] ? "." : "", field, reason);
}

static enum em_code unknown_name(struct mparse *p, const char *key)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot find field.",
                   key, p->path);
}

static bool key_is(const cJSON *item, const char *json, const char *proto)
{
    return strcmp(item->string, json) == 0 || strcmp(item->string, proto) == 0;
}

static bool family_valid(const char *name)
{
    if (!name[0])
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_' || *c == '.'))
            return false;
    return true;
}

static enum em_code read_family(struct mparse *p, const cJSON *item, char **out)
{
    if (!cJSON_IsString(item))
        return invalid_value(p, "family_name", "TYPE_STRING", item);
    if (!family_valid(item->valuestring))
        return bad_field(p, "family_name", "a family name must match [-_.a-zA-Z0-9]+");
    free(*out); /* a repeated key: the last one wins, as in proto3 JSON */
    *out = strdup(item->valuestring);
    return *out ? EM_OK : EM_FAIL_OOM(p->st);
}

static enum em_code read_bytes(struct mparse *p, const cJSON *item, const char *field, size_t max,
                               struct bt_bytes *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (!cJSON_IsString(item) ||
        !em_b64_decode(item->valuestring, strlen(item->valuestring), &data, &len))
        return invalid_value(p, field, "TYPE_BYTES", item);
    free((void *)out->data); /* a repeated key */
    *out = (struct bt_bytes){data, len};
    if (len > max) {
        char reason[96];
        snprintf(reason, sizeof(reason), "%s is %zu bytes, more than the limit of %zu", field, len,
                 max);
        return bad_field(p, field, reason);
    }
    return EM_OK;
}

static enum em_code read_int64(struct mparse *p, const cJSON *item, const char *field, int64_t *out)
{
    return em_json_value_int64(item, out) ? EM_OK : invalid_value(p, field, "TYPE_INT64", item);
}

/* ---- the four mutations ---- */

static enum em_code parse_set_cell(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    const cJSON *item;
    enum em_code rc = EM_OK;
    cJSON_ArrayForEach(item, obj)
    {
        if (key_is(item, "familyName", "family_name"))
            rc = read_family(p, item, &m->family);
        else if (key_is(item, "columnQualifier", "column_qualifier"))
            rc = read_bytes(p, item, "column_qualifier", BT_MAX_QUALIFIER_BYTES, &m->qualifier);
        else if (key_is(item, "timestampMicros", "timestamp_micros"))
            rc = read_int64(p, item, "timestamp_micros", &m->timestamp_micros);
        else if (key_is(item, "value", "value"))
            rc = read_bytes(p, item, "value", BT_MAX_VALUE_BYTES, &m->value);
        else
            rc = unknown_name(p, item->string);
        if (rc)
            return rc;
    }
    if (!m->family)
        return bad_field(p, "family_name", "argument must not be empty");
    if (m->timestamp_micros < BT_SERVER_TIME)
        return bad_field(p, "timestamp_micros", "a timestamp is -1 (server time) or not negative");
    return EM_OK;
}

static enum em_code parse_time_range(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    if (!cJSON_IsObject(obj))
        return invalid_value(p, "time_range", "TYPE_MESSAGE", obj);
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        enum em_code rc;
        if (key_is(item, "startTimestampMicros", "start_timestamp_micros"))
            rc = read_int64(p, item, "time_range.start_timestamp_micros", &m->start_micros);
        else if (key_is(item, "endTimestampMicros", "end_timestamp_micros"))
            rc = read_int64(p, item, "time_range.end_timestamp_micros", &m->end_micros);
        else
            rc = unknown_name(p, item->string);
        if (rc)
            return rc;
    }
    if (m->start_micros < 0 || m->end_micros < 0)
        return bad_field(p, "time_range", "timestamps must not be negative");
    if (m->end_micros && m->end_micros < m->start_micros)
        return bad_field(p, "time_range",
                         "end_timestamp_micros must not be before start_timestamp_micros");
    return EM_OK;
}

static enum em_code parse_delete(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        enum em_code rc;
        bool column = m->kind == BT_MUT_DELETE_FROM_COLUMN;
        if (m->kind != BT_MUT_DELETE_FROM_ROW && key_is(item, "familyName", "family_name"))
            rc = read_family(p, item, &m->family);
        else if (column && key_is(item, "columnQualifier", "column_qualifier"))
            rc = read_bytes(p, item, "column_qualifier", BT_MAX_QUALIFIER_BYTES, &m->qualifier);
        else if (column && key_is(item, "timeRange", "time_range"))
            rc = parse_time_range(p, item, m);
        else
            rc = unknown_name(p, item->string);
        if (rc)
            return rc;
    }
    if (m->kind != BT_MUT_DELETE_FROM_ROW && !m->family)
        return bad_field(p, "family_name", "argument must not be empty");
    return EM_OK;
}

/* ---- addToCell and mergeToCell: their fields are google.bigtable.v2.Value messages ---- */

enum value_kind { V_NULL, V_RAW, V_RAW_TIMESTAMP, V_INT, V_OTHER };

struct value {
    enum value_kind kind;
    const cJSON *item; /* the kind's member */
};

static const struct {
    const char *json, *proto;
    enum value_kind kind;
} value_kinds[] = {
    {"rawValue", "raw_value", V_RAW},
    {"rawTimestampMicros", "raw_timestamp_micros", V_RAW_TIMESTAMP},
    {"intValue", "int_value", V_INT},
    {"bytesValue", "bytes_value", V_OTHER},
    {"stringValue", "string_value", V_OTHER},
    {"boolValue", "bool_value", V_OTHER},
    {"floatValue", "float_value", V_OTHER},
    {"timestampValue", "timestamp_value", V_OTHER},
    {"dateValue", "date_value", V_OTHER},
    {"arrayValue", "array_value", V_OTHER},
};

#define N_VALUE_KINDS (sizeof(value_kinds) / sizeof(value_kinds[0]))

/* Which kind of the Value at p->path.field is set (none: V_NULL). A type is allowed only as
 * an Int64's, with an int_value (raw kinds must omit it, data.proto). */
static enum em_code read_value(struct mparse *p, const cJSON *obj, const char *field,
                               struct value *out)
{
    *out = (struct value){V_NULL, NULL};
    if (!cJSON_IsObject(obj))
        return invalid_value(p, field, "TYPE_MESSAGE", obj);
    const cJSON *item, *type = NULL;
    cJSON_ArrayForEach(item, obj)
    {
        size_t i = 0;
        while (i < N_VALUE_KINDS && !key_is(item, value_kinds[i].json, value_kinds[i].proto))
            i++;
        if (i == N_VALUE_KINDS && strcmp(item->string, "type") != 0)
            return unknown_name(p, item->string);
        if (cJSON_IsNull(item))
            continue;
        if (i == N_VALUE_KINDS) {
            type = item;
            continue;
        }
        if (out->item)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Oneof field 'kind' is already set. "
                           "Cannot set '%s'",
                           item->string);
        *out = (struct value){value_kinds[i].kind, item};
    }
    if (type && (out->kind != V_INT || !cJSON_GetObjectItem(type, "int64Type")))
        return bad_field(p, field,
                         "a Value's type must be omitted here, but for an int_value's Int64");
    return EM_OK;
}

/* The column qualifier: a raw_value. */
static enum em_code read_qualifier_value(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    struct value v;
    if (read_value(p, obj, "column_qualifier", &v))
        return p->st->code;
    if (v.kind != V_RAW)
        return bad_field(p, "column_qualifier", "the column qualifier must be a raw_value");
    return read_bytes(p, v.item, "column_qualifier.raw_value", BT_MAX_QUALIFIER_BYTES,
                      &m->qualifier);
}

/* The cell's timestamp: a raw_timestamp_micros, not negative (no server time here). */
static enum em_code read_timestamp_value(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    struct value v;
    if (read_value(p, obj, "timestamp", &v))
        return p->st->code;
    if (v.kind != V_RAW_TIMESTAMP)
        return bad_field(p, "timestamp", "the timestamp must be a raw_timestamp_micros");
    if (read_int64(p, v.item, "timestamp.raw_timestamp_micros", &m->timestamp_micros))
        return p->st->code;
    if (m->timestamp_micros < 0)
        return bad_field(p, "timestamp", "the timestamp of an aggregate cell must not be negative");
    return EM_OK;
}

/* The input: an Int64 (int_value); a merge also takes the state as it is stored (a
 * raw_value of 8 bytes) or nothing at all. */
static enum em_code read_input_value(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    struct value v;
    bool merge = m->kind == BT_MUT_MERGE_TO_CELL;
    if (read_value(p, obj, "input", &v))
        return p->st->code;
    if (v.kind == V_INT) {
        m->has_input = true;
        return read_int64(p, v.item, "input.int_value", &m->input);
    }
    if (merge && v.kind == V_NULL)
        return EM_OK;
    if (!merge || v.kind != V_RAW)
        return bad_field(p, "input",
                         merge ? "the input must be an int_value or the 8-byte state as a "
                                 "raw_value"
                               : "the input must be an int_value (the family's input type "
                                 "is Int64)");
    struct bt_bytes raw = {0};
    enum em_code rc = read_bytes(p, v.item, "input.raw_value", BT_MAX_VALUE_BYTES, &raw);
    if (!rc && !bt_int64_decode(raw, &m->input))
        rc = bad_field(p, "input", "an Int64 state is 8 bytes, big-endian");
    free((void *)raw.data);
    m->has_input = rc == EM_OK;
    return rc;
}

static enum em_code parse_aggregate_cell(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    const cJSON *item;
    bool has_qualifier = false, has_timestamp = false, has_input = false;
    cJSON_ArrayForEach(item, obj)
    {
        enum em_code rc;
        if (key_is(item, "familyName", "family_name")) {
            rc = read_family(p, item, &m->family);
        } else if (key_is(item, "columnQualifier", "column_qualifier")) {
            has_qualifier = true;
            rc = read_qualifier_value(p, item, m);
        } else if (key_is(item, "timestamp", "timestamp")) {
            has_timestamp = true;
            rc = read_timestamp_value(p, item, m);
        } else if (key_is(item, "input", "input")) {
            has_input = true;
            rc = read_input_value(p, item, m);
        } else {
            rc = unknown_name(p, item->string);
        }
        if (rc)
            return rc;
    }
    if (!m->family)
        return bad_field(p, "family_name", "argument must not be empty");
    if (!has_qualifier)
        return bad_field(p, "column_qualifier", "the column qualifier must be a raw_value");
    if (!has_timestamp)
        return bad_field(p, "timestamp", "the timestamp must be a raw_timestamp_micros");
    if (!has_input && m->kind == BT_MUT_ADD_TO_CELL)
        return bad_field(p, "input",
                         "the input must be an int_value (the family's input type "
                         "is Int64)");
    return EM_OK;
}

bool bt_mutation_aggregates(const struct bt_mutation *m)
{
    return m->kind == BT_MUT_ADD_TO_CELL || m->kind == BT_MUT_MERGE_TO_CELL;
}

static const struct {
    const char *json, *proto;
    int kind; /* enum bt_mutation_kind */
} mutation_fields[] = {
    {"setCell", "set_cell", BT_MUT_SET_CELL},
    {"deleteFromColumn", "delete_from_column", BT_MUT_DELETE_FROM_COLUMN},
    {"deleteFromFamily", "delete_from_family", BT_MUT_DELETE_FROM_FAMILY},
    {"deleteFromRow", "delete_from_row", BT_MUT_DELETE_FROM_ROW},
    {"addToCell", "add_to_cell", BT_MUT_ADD_TO_CELL},
    {"mergeToCell", "merge_to_cell", BT_MUT_MERGE_TO_CELL},
};

#define N_MUTATION_FIELDS (sizeof(mutation_fields) / sizeof(mutation_fields[0]))

static enum em_code parse_mutation(struct mparse *p, const cJSON *obj, struct bt_mutation *m)
{
    if (!cJSON_IsObject(obj))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_MESSAGE)", p->path);
    const cJSON *item, *value = NULL;
    size_t chosen = 0;
    cJSON_ArrayForEach(item, obj)
    {
        size_t i = 0;
        while (i < N_MUTATION_FIELDS &&
               !key_is(item, mutation_fields[i].json, mutation_fields[i].proto))
            i++;
        if (i == N_MUTATION_FIELDS)
            return unknown_name(p, item->string);
        if (cJSON_IsNull(item))
            continue;
        if (value)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Oneof field 'mutation' is already "
                           "set. Cannot set '%s'",
                           item->string);
        value = item;
        chosen = i;
    }
    if (!value)
        return bad_field(p, "",
                         "a mutation must set one of setCell, addToCell, mergeToCell, "
                         "deleteFromColumn, deleteFromFamily or deleteFromRow");
    if (!cJSON_IsObject(value))
        return invalid_value(p, mutation_fields[chosen].proto, "TYPE_MESSAGE", value);
    m->kind = (enum bt_mutation_kind)mutation_fields[chosen].kind;
    size_t old = strlen(p->path);
    snprintf(p->path + old, sizeof(p->path) - old, ".%s", mutation_fields[chosen].proto);
    enum em_code rc = m->kind == BT_MUT_SET_CELL  ? parse_set_cell(p, value, m)
                      : bt_mutation_aggregates(m) ? parse_aggregate_cell(p, value, m)
                                                  : parse_delete(p, value, m);
    p->path[old] = '\0';
    return rc;
}

enum em_code bt_mutations_parse(const cJSON *json, const char *field, bool allow_empty,
                                struct bt_mutations *out, struct em_status *st)
{
    struct mparse p = {.st = st};
    snprintf(p.path, sizeof(p.path), "%s", field);
    *out = (struct bt_mutations){0};
    if (json && !cJSON_IsNull(json) && !cJSON_IsArray(json))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_MESSAGE)", field);
    size_t n = cJSON_IsArray(json) ? (size_t)cJSON_GetArraySize(json) : 0;
    if (n == 0 && !allow_empty)
        return bad_field(&p, "", "No mutations were provided");
    if (n > BT_MAX_MUTATIONS) {
        char reason[96];
        snprintf(reason, sizeof(reason), "Too many mutations: %zu, more than the limit of %d", n,
                 BT_MAX_MUTATIONS);
        return bad_field(&p, "", reason);
    }
    out->items = calloc(n ? n : 1, sizeof(*out->items));
    if (!out->items)
        return EM_FAIL_OOM(st);
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        snprintf(p.path, sizeof(p.path), "%s[%zu]", field, out->n);
        enum em_code rc = parse_mutation(&p, item, &out->items[out->n++]);
        if (rc) {
            bt_mutations_free(out);
            return rc;
        }
    }
    return EM_OK;
}

static enum em_code granularity_mismatch(int64_t ts, int64_t granularity, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Timestamp granularity mismatch. Expected a multiple of %lld (%s granularity), "
                   "but got %lld.",
                   (long long)granularity, granularity == 1000 ? "millisecond" : "table",
                   (long long)ts);
}

enum em_code bt_mutations_check_granularity(const struct bt_mutations *m,
                                            int64_t granularity_micros, struct em_status *st)
{
    if (granularity_micros <= 1)
        return EM_OK;
    for (size_t i = 0; i < m->n; i++) {
        const struct bt_mutation *x = &m->items[i];
        int64_t times[2] = {x->timestamp_micros, 0};
        if (x->kind == BT_MUT_DELETE_FROM_COLUMN)
            times[0] = x->start_micros, times[1] = x->end_micros;
        else if ((x->kind != BT_MUT_SET_CELL && !bt_mutation_aggregates(x)) ||
                 x->timestamp_micros == BT_SERVER_TIME)
            continue;
        for (int k = 0; k < 2; k++)
            if (times[k] % granularity_micros)
                return granularity_mismatch(times[k], granularity_micros, st);
    }
    return EM_OK;
}

void bt_mutations_resolve_time(struct bt_mutations *m, int64_t now_micros,
                               int64_t granularity_micros)
{
    int64_t now =
        granularity_micros > 1 ? now_micros - now_micros % granularity_micros : now_micros;
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].kind == BT_MUT_SET_CELL && m->items[i].timestamp_micros == BT_SERVER_TIME)
            m->items[i].timestamp_micros = now;
}

/* ---- applying mutations to a row ---- */

static bool family_is(const struct bt_cell *c, const char *family)
{
    size_t len = strlen(family);
    return c->family.len == len && (len == 0 || memcmp(c->family.data, family, len) == 0);
}

static bool deleted_by(const struct bt_mutation *m, const struct bt_cell *c)
{
    switch (m->kind) {
    case BT_MUT_DELETE_FROM_ROW:
        return true;
    case BT_MUT_DELETE_FROM_FAMILY:
        return family_is(c, m->family);
    case BT_MUT_DELETE_FROM_COLUMN:
        return family_is(c, m->family) && bt_bytes_compare(c->qualifier, m->qualifier) == 0 &&
               c->timestamp_micros >= m->start_micros &&
               (m->end_micros == 0 || c->timestamp_micros < m->end_micros);
    default:
        return false;
    }
}

static void apply_delete(const struct bt_mutation *m, struct bt_cell_list *cells)
{
    size_t kept = 0;
    for (size_t i = 0; i < cells->n; i++)
        if (!deleted_by(m, &cells->cells[i]))
            cells->cells[kept++] = cells->cells[i];
    cells->n = kept;
}

/* The cell a setCell or an aggregate mutation writes (its value: the setCell's). */
static struct bt_cell cell_of(const struct bt_mutation *m)
{
    return (struct bt_cell){{(const uint8_t *)m->family, strlen(m->family)},
                            m->qualifier,
                            m->timestamp_micros,
                            m->value,
                            NULL};
}

/* Inserts cell in order, replacing one with the same column and timestamp. */
static bool insert_cell(struct bt_cell cell, struct bt_cell_list *cells)
{
    size_t at = 0;
    while (at < cells->n && bt_cell_compare(&cells->cells[at], &cell) < 0)
        at++;
    if (at < cells->n && bt_cell_compare(&cells->cells[at], &cell) == 0) {
        cells->cells[at] = cell;
        return true;
    }
    if (cells->n == cells->cap) {
        size_t cap = cells->cap ? 2 * cells->cap : 8;
        struct bt_cell *grown = realloc(cells->cells, cap * sizeof(*grown));
        if (!grown)
            return false;
        cells->cells = grown;
        cells->cap = cap;
    }
    memmove(cells->cells + at + 1, cells->cells + at, (cells->n - at) * sizeof(cell));
    cells->cells[at] = cell;
    cells->n++;
    return true;
}

enum em_code bt_aggregate_cell_state(const struct bt_mutation *m, const struct bt_bytes *current,
                                     int64_t *state, struct em_status *st)
{
    int64_t old;
    if (!current) {
        *state = m->input;
        return EM_OK;
    }
    if (!bt_int64_decode(*current, &old))
        return EM_FAIL(st, EM_INTERNAL,
                       "An aggregate cell of family %s holds %zu bytes, not an Int64 state.",
                       m->family, current->len);
    *state = bt_aggregate(m->aggregator, old, m->input);
    return EM_OK;
}

/* An addToCell or mergeToCell: the cell's new state, kept in m->state. */
static enum em_code apply_aggregate(struct bt_mutation *m, struct bt_cell_list *cells,
                                    struct em_status *st)
{
    if (!m->has_input)
        return EM_OK; /* merging NULL has no effect */
    struct bt_cell cell = cell_of(m);
    const struct bt_bytes *current = NULL;
    for (size_t i = 0; i < cells->n && !current; i++)
        if (bt_cell_compare(&cells->cells[i], &cell) == 0)
            current = &cells->cells[i].value;
    int64_t state;
    if (bt_aggregate_cell_state(m, current, &state, st))
        return st->code;
    bt_int64_encode(state, m->state);
    cell.value = (struct bt_bytes){m->state, sizeof(m->state)};
    return insert_cell(cell, cells) ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code bt_mutations_apply(struct bt_mutations *m, const struct bt_row *row,
                                struct bt_cell_list *out, struct em_status *st)
{
    out->n = 0;
    if (row->n_cells > out->cap) {
        struct bt_cell *cells = realloc(out->cells, row->n_cells * sizeof(*cells));
        if (!cells)
            return EM_FAIL_OOM(st);
        out->cells = cells;
        out->cap = row->n_cells;
    }
    if (row->n_cells)
        memcpy(out->cells, row->cells, row->n_cells * sizeof(*row->cells));
    out->n = row->n_cells;
    for (size_t i = 0; i < m->n; i++) {
        struct bt_mutation *x = &m->items[i];
        if (bt_mutation_aggregates(x)) {
            if (apply_aggregate(x, out, st))
                return st->code;
        } else if (x->kind != BT_MUT_SET_CELL) {
            apply_delete(x, out);
        } else if (x->timestamp_micros == BT_SERVER_TIME) {
            return EM_FAIL(st, EM_INTERNAL, "a server-time mutation was applied unresolved");
        } else if (!insert_cell(cell_of(x), out)) {
            return EM_FAIL_OOM(st);
        }
    }
    return EM_OK;
}

void bt_mutations_free(struct bt_mutations *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].family);
        free((void *)m->items[i].qualifier.data);
        free((void *)m->items[i].value.data);
    }
    free(m->items);
    *m = (struct bt_mutations){0};
}

enum em_code bt_row_key_check(struct bt_bytes key, struct em_status *st)
{
    if (key.len == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Error in field 'row_key' : Row keys must be "
                       "non-empty");
    if (key.len > BT_MAX_ROW_KEY_BYTES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Error in field 'row_key' : Row key is %zu bytes, more than the limit "
                       "of %d",
                       key.len, BT_MAX_ROW_KEY_BYTES);
    return EM_OK;
}

/* ---- ReadModifyWrite ---- */

static enum em_code parse_rule(struct mparse *p, const cJSON *obj, struct bt_rmw_rule *r)
{
    if (!cJSON_IsObject(obj))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_MESSAGE)", p->path);
    const cJSON *item;
    bool has_rule = false;
    cJSON_ArrayForEach(item, obj)
    {
        enum em_code rc = EM_OK;
        bool is_append = key_is(item, "appendValue", "append_value");
        bool is_increment = key_is(item, "incrementAmount", "increment_amount");
        if (key_is(item, "familyName", "family_name"))
            rc = read_family(p, item, &r->family);
        else if (key_is(item, "columnQualifier", "column_qualifier"))
            rc = read_bytes(p, item, "column_qualifier", BT_MAX_QUALIFIER_BYTES, &r->qualifier);
        else if ((is_append || is_increment) && has_rule)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Oneof field 'rule' is already set. "
                           "Cannot set '%s'",
                           item->string);
        else if (is_append)
            rc = read_bytes(p, item, "append_value", BT_MAX_VALUE_BYTES, &r->append_value);
        else if (is_increment)
            rc = read_int64(p, item, "increment_amount", &r->increment);
        else
            rc = unknown_name(p, item->string);
        if (rc)
            return rc;
        has_rule |= is_append || is_increment;
        r->append |= is_append;
    }
    if (!r->family)
        return bad_field(p, "family_name", "argument must not be empty");
    if (!has_rule)
        return bad_field(p, "", "a rule must set appendValue or incrementAmount");
    return EM_OK;
}

enum em_code bt_rmw_rules_parse(const cJSON *json, struct bt_rmw_rules *out, struct em_status *st)
{
    struct mparse p = {.path = "rules", .st = st};
    *out = (struct bt_rmw_rules){0};
    if (json && !cJSON_IsNull(json) && !cJSON_IsArray(json))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value at 'rules' (TYPE_MESSAGE)");
    size_t n = cJSON_IsArray(json) ? (size_t)cJSON_GetArraySize(json) : 0;
    if (n == 0)
        return bad_field(&p, "", "No rules were provided");
    if (n > BT_MAX_MUTATIONS)
        return bad_field(&p, "", "Too many rules");
    out->items = calloc(n, sizeof(*out->items));
    if (!out->items)
        return EM_FAIL_OOM(st);
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        snprintf(p.path, sizeof(p.path), "rules[%zu]", out->n);
        enum em_code rc = parse_rule(&p, item, &out->items[out->n++]);
        if (rc) {
            bt_rmw_rules_free(out);
            return rc;
        }
    }
    return EM_OK;
}

static enum em_code increment(const struct bt_rmw_rule *rule, const struct bt_cell *latest,
                              uint8_t *out, struct em_status *st)
{
    int64_t v = 0;
    if (latest && !bt_int64_decode(latest->value, &v))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The latest cell of the column in family %s holds %zu bytes, not a "
                       "64-bit big-endian integer: incrementAmount needs 8 bytes",
                       rule->family, latest->value.len);
    bt_int64_encode(bt_aggregate(BT_AGG_SUM, v, rule->increment), out); /* wraps */
    return EM_OK;
}

enum em_code bt_rmw_apply(const struct bt_rmw_rule *rule, const struct bt_cell *latest,
                          int64_t now_micros, uint8_t **value, size_t *len, int64_t *timestamp,
                          struct em_status *st)
{
    *value = NULL;
    *len = 0;
    size_t old = latest ? latest->value.len : 0;
    size_t size = rule->append ? old + rule->append_value.len : 8;
    if (rule->append && size > BT_MAX_VALUE_BYTES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "appendValue would make the cell %zu bytes, more than the limit of %d", size,
                       BT_MAX_VALUE_BYTES);
    uint8_t *out = malloc(size ? size : 1);
    if (!out)
        return EM_FAIL_OOM(st);
    if (rule->append) {
        if (old)
            memcpy(out, latest->value.data, old);
        if (rule->append_value.len)
            memcpy(out + old, rule->append_value.data, rule->append_value.len);
    } else {
        enum em_code rc = increment(rule, latest, out, st);
        if (rc) {
            free(out);
            return rc;
        }
    }
    *value = out;
    *len = size;
    *timestamp =
        latest && latest->timestamp_micros > now_micros ? latest->timestamp_micros : now_micros;
    return EM_OK;
}

void bt_rmw_rules_free(struct bt_rmw_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++) {
        free(rules->items[i].family);
        free((void *)rules->items[i].qualifier.data);
        free((void *)rules->items[i].append_value.data);
    }
    free(rules->items);
    *rules = (struct bt_rmw_rules){0};
}
