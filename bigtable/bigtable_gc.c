/*
 * bigtable_gc: GC rules as a small tree (see bigtable_gc.h): leaves judge one cell from its
 * age or its place among its column's versions; unions and intersections combine them.
 * Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/GcRule
 */
#include "bigtable_gc.h"

#include "bigtable_proto_size.h"
#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum gc_kind { GC_NONE, GC_MAX_VERSIONS, GC_MAX_AGE, GC_UNION, GC_INTERSECTION };

struct bt_gc_rule {
    enum gc_kind kind;
    int64_t max_versions;
    int64_t max_age_micros;
    struct bt_gc_rule **rules; /* union, intersection */
    size_t n_rules;
};

struct gc_parse {
    char path[512];
    struct em_status *st;
};

static enum em_code invalid_value(struct gc_parse *p, const char *field, const char *type,
                                  const cJSON *value)
{
    char *text = cJSON_PrintUnformatted(value);
    enum em_code rc = EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s.%s' (%s), %s",
                              p->path, field, type, text ? text : "");
    free(text);
    return rc;
}

static enum em_code bad_rule(struct gc_parse *p, const char *field, const char *reason)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Error in field '%s.%s' : %s", p->path, field,
                   reason);
}

static enum em_code parse_rule(struct gc_parse *p, const cJSON *json, int depth,
                               struct bt_gc_rule **out);

static enum em_code parse_max_versions(struct gc_parse *p, const cJSON *value, struct bt_gc_rule *r)
{
    if (!em_json_value_int64(value, &r->max_versions) || r->max_versions > INT32_MAX ||
        r->max_versions < INT32_MIN)
        return invalid_value(p, "max_num_versions", "TYPE_INT32", value);
    if (r->max_versions < 1)
        return bad_rule(p, "max_num_versions", "max_num_versions must be at least 1");
    return EM_OK;
}

static enum em_code parse_max_age(struct gc_parse *p, const cJSON *value, struct bt_gc_rule *r)
{
    int64_t ns;
    if (!cJSON_IsString(value) || !em_duration_parse(value->valuestring, &ns))
        return invalid_value(p, "max_age", "google.protobuf.Duration", value);
    if (ns < 1000000)
        return bad_rule(p, "max_age", "max_age must be at least one millisecond");
    r->max_age_micros = ns / 1000;
    return EM_OK;
}

static enum em_code parse_rule_list(struct gc_parse *p, const char *field, const cJSON *value,
                                    int depth, struct bt_gc_rule *r)
{
    if (!cJSON_IsObject(value))
        return invalid_value(p, field, "TYPE_MESSAGE", value);
    const cJSON *item, *rules = NULL;
    cJSON_ArrayForEach(item, value)
    {
        if (strcmp(item->string, "rules") != 0)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Unknown name \"%s\" at '%s.%s': "
                           "Cannot find field.",
                           item->string, p->path, field);
        rules = item;
    }
    if (rules && !cJSON_IsNull(rules) && !cJSON_IsArray(rules))
        return invalid_value(p, field, "TYPE_MESSAGE", rules);
    size_t n = cJSON_IsArray(rules) ? (size_t)cJSON_GetArraySize(rules) : 0;
    if (n == 0)
        return bad_rule(p, field, "a union or intersection must hold at least one rule");
    if (depth >= BT_GC_MAX_DEPTH) {
        char reason[80];
        snprintf(reason, sizeof(reason), "GC rules may not be nested more than %d deep",
                 BT_GC_MAX_DEPTH);
        return bad_rule(p, field, reason);
    }
    r->rules = calloc(n, sizeof(*r->rules));
    if (!r->rules)
        return EM_FAIL_OOM(p->st);
    cJSON_ArrayForEach(item, rules)
    {
        size_t old = strlen(p->path);
        snprintf(p->path + old, sizeof(p->path) - old, ".%s.rules[%zu]", field, r->n_rules);
        enum em_code rc = parse_rule(p, item, depth + 1, &r->rules[r->n_rules++]);
        p->path[old] = '\0';
        if (rc)
            return rc;
    }
    return EM_OK;
}

static const struct {
    const char *json, *proto;
    enum gc_kind kind;
} gc_fields[] = {
    {"maxNumVersions", "max_num_versions", GC_MAX_VERSIONS},
    {"maxAge", "max_age", GC_MAX_AGE},
    {"union", "union", GC_UNION},
    {"intersection", "intersection", GC_INTERSECTION},
};

/* One GcRule object: at most one member of its `rule` oneof. */
static enum em_code parse_rule(struct gc_parse *p, const cJSON *json, int depth,
                               struct bt_gc_rule **out)
{
    *out = NULL;
    if (!cJSON_IsObject(json))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_MESSAGE)", p->path);
    struct bt_gc_rule *r = calloc(1, sizeof(*r));
    if (!r)
        return EM_FAIL_OOM(p->st);
    *out = r;
    const cJSON *item, *value = NULL;
    size_t chosen = 0;
    cJSON_ArrayForEach(item, json)
    {
        size_t i = 0;
        while (i < 4 && strcmp(item->string, gc_fields[i].json) &&
               strcmp(item->string, gc_fields[i].proto))
            i++;
        if (i == 4)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot "
                           "find field.",
                           item->string, p->path);
        if (cJSON_IsNull(item))
            continue;
        if (value)
            return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Oneof field 'rule' is already set. "
                           "Cannot set '%s'",
                           item->string);
        value = item;
        chosen = i;
    }
    if (!value)
        return EM_OK; /* GC_NONE */
    r->kind = gc_fields[chosen].kind;
    switch (r->kind) {
    case GC_MAX_VERSIONS:
        return parse_max_versions(p, value, r);
    case GC_MAX_AGE:
        return parse_max_age(p, value, r);
    default:
        return parse_rule_list(p, gc_fields[chosen].proto, value, depth, r);
    }
}

enum em_code bt_gc_rule_parse(const cJSON *json, const char *field, struct bt_gc_rule **out,
                              struct em_status *st)
{
    struct gc_parse p = {.st = st};
    snprintf(p.path, sizeof(p.path), "%s", field);
    enum em_code rc = parse_rule(&p, json, 0, out);
    if (rc) {
        bt_gc_rule_free(*out);
        *out = NULL;
    }
    return rc;
}

static bool add_rule_json(cJSON *obj, const struct bt_gc_rule *r)
{
    if (r->kind == GC_MAX_VERSIONS)
        return cJSON_AddNumberToObject(obj, "maxNumVersions", (double)r->max_versions) != NULL;
    if (r->kind == GC_MAX_AGE) {
        char text[EM_TIME_TEXT_MAX];
        em_duration_format(r->max_age_micros * 1000, text);
        return cJSON_AddStringToObject(obj, "maxAge", text) != NULL;
    }
    if (r->kind == GC_NONE)
        return true;
    cJSON *list = cJSON_AddObjectToObject(obj, r->kind == GC_UNION ? "union" : "intersection");
    cJSON *rules = list ? cJSON_AddArrayToObject(list, "rules") : NULL;
    if (!rules)
        return false;
    for (size_t i = 0; i < r->n_rules; i++) {
        cJSON *child = cJSON_CreateObject();
        if (!child)
            return false;
        cJSON_AddItemToArray(rules, child);
        if (!add_rule_json(child, r->rules[i]))
            return false;
    }
    return true;
}

cJSON *bt_gc_rule_to_json(const struct bt_gc_rule *rule)
{
    cJSON *obj = cJSON_CreateObject();
    if (obj && rule && !add_rule_json(obj, rule)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* --- protobuf size --- */

/* A google.protobuf.Duration of micros: seconds (1), nanos (2), each only when not 0. */
static size_t duration_size(int64_t micros)
{
    int64_t seconds = micros / 1000000, nanos = micros % 1000000 * 1000;
    return (seconds ? 1 + bt_varint_size((uint64_t)seconds) : 0) +
           (nanos ? 1 + bt_varint_size((uint64_t)nanos) : 0);
}

size_t bt_gc_rule_proto_size(const struct bt_gc_rule *r)
{
    if (!r)
        return 0;
    switch (r->kind) {
    case GC_MAX_VERSIONS: /* max_num_versions = 1, int32 */
        return 1 + bt_varint_size((uint64_t)(int64_t)r->max_versions);
    case GC_MAX_AGE: /* max_age = 2 */
        return bt_delimited_size(2, duration_size(r->max_age_micros));
    case GC_UNION: /* union = 4, intersection = 3: a message of repeated GcRule rules = 1 */
    case GC_INTERSECTION: {
        size_t list = 0;
        for (size_t i = 0; i < r->n_rules; i++)
            list += bt_delimited_size(1, bt_gc_rule_proto_size(r->rules[i]));
        return bt_delimited_size(r->kind == GC_UNION ? 4 : 3, list);
    }
    default:
        return 0;
    }
}

/* --- collection --- */

/* Whether the cell at version (0: newest of its column) is garbage under r. */
static bool is_garbage(const struct bt_gc_rule *r, const struct bt_cell *cell, size_t version,
                       int64_t now_micros)
{
    switch (r->kind) {
    case GC_MAX_VERSIONS:
        return version >= (size_t)r->max_versions;
    case GC_MAX_AGE:
        return cell->timestamp_micros < now_micros - r->max_age_micros;
    case GC_UNION:
        for (size_t i = 0; i < r->n_rules; i++)
            if (is_garbage(r->rules[i], cell, version, now_micros))
                return true;
        return false;
    case GC_INTERSECTION:
        for (size_t i = 0; i < r->n_rules; i++)
            if (!is_garbage(r->rules[i], cell, version, now_micros))
                return false;
        return true;
    default:
        return false;
    }
}

static bool same_column(const struct bt_cell *a, const struct bt_cell *b)
{
    return a->family.len == b->family.len && a->qualifier.len == b->qualifier.len &&
           (a->family.len == 0 || memcmp(a->family.data, b->family.data, a->family.len) == 0) &&
           (a->qualifier.len == 0 ||
            memcmp(a->qualifier.data, b->qualifier.data, a->qualifier.len) == 0);
}

size_t bt_gc_collect(const struct bt_gc_rule *rule, const struct bt_cell *cells, size_t n,
                     int64_t now_micros, bool *garbage)
{
    size_t count = 0, version = 0;
    for (size_t i = 0; i < n; i++) {
        version = i > 0 && same_column(&cells[i - 1], &cells[i]) ? version + 1 : 0;
        garbage[i] = rule && is_garbage(rule, &cells[i], version, now_micros);
        count += garbage[i];
    }
    return count;
}

/* The threshold of one rule (see bigtable_gc.h): the latest timestamp that is garbage. */
bool bt_gc_threshold(const struct bt_gc_rule *rule, int64_t now_micros,
                     bt_gc_version_ts_fn version_ts, void *arg, int64_t *threshold_micros)
{
    if (!rule)
        return false;
    bool found = false, all = true;
    int64_t t = 0;
    switch (rule->kind) {
    case GC_MAX_VERSIONS: /* the versions from max_versions on */
        return version_ts(arg, rule->max_versions, threshold_micros);
    case GC_MAX_AGE: /* a cell before now - age; no cell is before INT64_MIN */
        if (now_micros <= INT64_MIN + rule->max_age_micros)
            return false;
        *threshold_micros = now_micros - rule->max_age_micros - 1;
        return true;
    case GC_UNION: /* garbage when any says so: the latest threshold */
        for (size_t i = 0; i < rule->n_rules; i++)
            if (bt_gc_threshold(rule->rules[i], now_micros, version_ts, arg, &t) &&
                (!found || t > *threshold_micros)) {
                *threshold_micros = t;
                found = true;
            }
        return found;
    case GC_INTERSECTION: /* garbage when all say so: the earliest, if every one has one */
        for (size_t i = 0; all && i < rule->n_rules; i++) {
            all = bt_gc_threshold(rule->rules[i], now_micros, version_ts, arg, &t);
            if (all && (!found || t < *threshold_micros)) {
                *threshold_micros = t;
                found = true;
            }
        }
        return all && found;
    default:
        return false;
    }
}

void bt_gc_families_free(struct bt_gc_families *g)
{
    for (size_t i = 0; i < g->n; i++)
        bt_gc_rule_free(g->rules[i]);
    free(g->families);
    free(g->rules);
    *g = (struct bt_gc_families){0};
}

enum em_code bt_gc_families_load(const cJSON *column_families, struct bt_gc_families *out,
                                 struct em_status *st)
{
    size_t n = (size_t)cJSON_GetArraySize(column_families);
    const cJSON *f;
    *out = (struct bt_gc_families){0};
    out->families = calloc(n ? n : 1, sizeof(*out->families));
    out->rules = calloc(n ? n : 1, sizeof(*out->rules));
    if (!out->families || !out->rules) {
        bt_gc_families_free(out);
        return EM_FAIL_OOM(st);
    }
    cJSON_ArrayForEach(f, column_families)
    {
        const cJSON *rule = cJSON_GetObjectItem(f, "gcRule");
        out->families[out->n] = f->string;
        if (rule && bt_gc_rule_parse(rule, "gc_rule", &out->rules[out->n], st)) {
            bt_gc_families_free(out);
            return st->code;
        }
        out->n++;
    }
    return EM_OK;
}

const struct bt_gc_rule *bt_gc_families_rule(const struct bt_gc_families *g, struct bt_bytes family)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (strlen(g->families[i]) == family.len &&
            memcmp(g->families[i], family.data, family.len) == 0)
            return g->rules[i];
    return NULL;
}

bool bt_gc_families_any(const struct bt_gc_families *g)
{
    for (size_t i = 0; g && i < g->n; i++)
        if (g->rules[i] && g->rules[i]->kind != GC_NONE)
            return true;
    return false;
}

void bt_gc_rule_free(struct bt_gc_rule *rule)
{
    if (!rule)
        return;
    for (size_t i = 0; i < rule->n_rules; i++)
        bt_gc_rule_free(rule->rules[i]);
    free(rule->rules);
    free(rule);
}
