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

static const struct {
    const char *json, *proto;
    int kind; /* enum bt_mutation_kind, or -1: refused */
} mutation_fields[] = {
    {"setCell", "set_cell", BT_MUT_SET_CELL},
    {"deleteFromColumn", "delete_from_column", BT_MUT_DELETE_FROM_COLUMN},
    {"deleteFromFamily", "delete_from_family", BT_MUT_DELETE_FROM_FAMILY},
    {"deleteFromRow", "delete_from_row", BT_MUT_DELETE_FROM_ROW},
    {"addToCell", "add_to_cell", -1},
    {"mergeToCell", "merge_to_cell", -1},
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
                         "a mutation must set one of setCell, deleteFromColumn, "
                         "deleteFromFamily or deleteFromRow");
    if (mutation_fields[chosen].kind < 0)
        return EM_FAIL(p->st, EM_UNIMPLEMENTED,
                       "%s needs an aggregate column family, which the emulator does not "
                       "support",
                       mutation_fields[chosen].json);
    if (!cJSON_IsObject(value))
        return invalid_value(p, mutation_fields[chosen].proto, "TYPE_MESSAGE", value);
    m->kind = (enum bt_mutation_kind)mutation_fields[chosen].kind;
    size_t old = strlen(p->path);
    snprintf(p->path + old, sizeof(p->path) - old, ".%s", mutation_fields[chosen].proto);
    enum em_code rc =
        m->kind == BT_MUT_SET_CELL ? parse_set_cell(p, value, m) : parse_delete(p, value, m);
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
        else if (x->kind != BT_MUT_SET_CELL || x->timestamp_micros == BT_SERVER_TIME)
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

/* Inserts the new cell in order, replacing one with the same column and timestamp. */
static bool apply_set(const struct bt_mutation *m, struct bt_cell_list *cells)
{
    struct bt_cell cell = {{(const uint8_t *)m->family, strlen(m->family)},
                           m->qualifier,
                           m->timestamp_micros,
                           m->value,
                           NULL};
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

enum em_code bt_mutations_apply(const struct bt_mutations *m, const struct bt_row *row,
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
        const struct bt_mutation *x = &m->items[i];
        if (x->kind != BT_MUT_SET_CELL)
            apply_delete(x, out);
        else if (x->timestamp_micros == BT_SERVER_TIME)
            return EM_FAIL(st, EM_INTERNAL, "a server-time mutation was applied unresolved");
        else if (!apply_set(x, out))
            return EM_FAIL_OOM(st);
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
    uint64_t v = 0;
    if (latest) {
        if (latest->value.len != 8)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "The latest cell of the column in family %s holds %zu bytes, not a "
                           "64-bit big-endian integer: incrementAmount needs 8 bytes",
                           rule->family, latest->value.len);
        for (int i = 0; i < 8; i++)
            v = v << 8 | latest->value.data[i];
    }
    v += (uint64_t)rule->increment; /* two's complement: wraps on overflow */
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)(v & 0xff);
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
