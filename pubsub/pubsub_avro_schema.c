/*
 * pubsub_avro_schema: ps_avro_parse and ps_avro_free. Reads an Avro schema definition into
 * the tree of pubsub_avro_parts.h: names and namespaces, named types in a table by fullname,
 * logical types, and field defaults checked against their types once every type is known.
 * What is accepted, and where it differs from the Avro library, is told in pubsub_avro.c.
 */
#include "pubsub_avro_parts.h"

#include "em_hash.h"
#include "em_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* A dotted sequence of names; the empty string when empty_ok (the null namespace). */
static bool valid_dotted(const char *s, bool empty_ok)
{
    if (*s == '\0')
        return empty_ok;
    for (const char *dot; (dot = strchr(s, '.')) != NULL; s = dot + 1)
        if (!valid_name(s, (size_t)(dot - s)))
            return false;
    return valid_name(s, strlen(s));
}

static enum avro_kind primitive_kind(const char *name, bool *found)
{
    for (int k = 0; k < AVRO_PRIMITIVES; k++)
        if (strcmp(name, avro_kind_names[k]) == 0) {
            *found = true;
            return (enum avro_kind)k;
        }
    *found = false;
    return AVRO_NULL;
}

static const char *field_name_at(const struct avro_node *n, size_t i)
{
    return n->fields[i].name;
}

static const char *symbol_at(const struct avro_node *n, size_t i)
{
    return n->symbols[i];
}

static const char *branch_name_at(const struct avro_node *n, size_t i)
{
    return avro_branch_name(n->branches[i]);
}

struct parser {
    struct ps_avro_schema *schema;
    struct em_status *st;
    struct avro_node **table; /* named types by fullname: open addressing, power-of-2 size */
    size_t table_cap, table_count;
    int depth;
    const char *record, *field; /* where we are, for messages */
};

__attribute__((format(printf, 2, 3))) static enum em_code schema_fail(struct parser *p,
                                                                      const char *fmt, ...)
{
    char detail[AVRO_DETAIL_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (p->field)
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Invalid Avro schema: %s (in field \"%.60s\" of record \"%.80s\").", detail,
                       p->field, p->record);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid Avro schema: %s.", detail);
}

static struct avro_node *node_new(struct parser *p, enum avro_kind kind)
{
    struct ps_avro_schema *s = p->schema;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct avro_node **nodes = realloc(s->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return NULL;
        s->nodes = nodes;
        s->cap = cap;
    }
    struct avro_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->kind = kind;
        s->nodes[s->count++] = n;
    }
    return n;
}

static struct avro_node **table_slot(struct avro_node **table, size_t cap, const char *fullname)
{
    size_t i = (size_t)em_fnv1a_str(fullname) & (cap - 1);
    while (table[i] && strcmp(table[i]->fullname, fullname) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

static struct avro_node *table_find(const struct parser *p, const char *fullname)
{
    return p->table_cap ? *table_slot(p->table, p->table_cap, fullname) : NULL;
}

static bool table_grow(struct parser *p)
{
    size_t cap = p->table_cap ? p->table_cap * 2 : 64;
    struct avro_node **table = calloc(cap, sizeof(*table));
    if (!table)
        return false;
    for (size_t i = 0; i < p->table_cap; i++)
        if (p->table[i])
            *table_slot(table, cap, p->table[i]->fullname) = p->table[i];
    free(p->table);
    p->table = table;
    p->table_cap = cap;
    return true;
}

static enum em_code table_add(struct parser *p, struct avro_node *n)
{
    if (table_find(p, n->fullname))
        return schema_fail(p, "the type \"%.100s\" is defined twice", n->fullname);
    if ((p->table_count + 1) * 2 > p->table_cap && !table_grow(p))
        return EM_FAIL_OOM(p->st);
    *table_slot(p->table, p->table_cap, n->fullname) = n;
    p->table_count++;
    return EM_OK;
}

static enum em_code parse_type(struct parser *p, const cJSON *json, const char *ns,
                               struct avro_node **out);

/* A reference to a primitive or an earlier-defined named type, seen from namespace ns. */
static enum em_code resolve_name(struct parser *p, const char *name, const char *ns,
                                 struct avro_node **out)
{
    bool primitive;
    enum avro_kind kind = primitive_kind(name, &primitive);
    if (primitive) {
        *out = node_new(p, kind);
        return *out ? EM_OK : EM_FAIL_OOM(p->st);
    }
    *out = NULL;
    if (!strchr(name, '.') && *ns) {
        size_t len = strlen(ns) + strlen(name) + 2;
        char *full = malloc(len);
        if (!full)
            return EM_FAIL_OOM(p->st);
        snprintf(full, len, "%s.%s", ns, name);
        *out = table_find(p, full);
        free(full);
    }
    if (!*out)
        *out = table_find(p, name);
    if (!*out)
        return schema_fail(p, "unknown type \"%.100s\"", name);
    return EM_OK;
}

static bool is_string_array(const cJSON *json)
{
    const cJSON *item;
    if (!cJSON_IsArray(json))
        return false;
    cJSON_ArrayForEach(item, json) if (!cJSON_IsString(item)) return false;
    return true;
}

static enum em_code check_aliases(struct parser *p, const cJSON *json)
{
    const cJSON *aliases = cJSON_GetObjectItemCaseSensitive(json, "aliases"), *a;
    if (!aliases)
        return EM_OK;
    if (!is_string_array(aliases))
        return schema_fail(p, "\"aliases\" must be an array of names");
    cJSON_ArrayForEach(a, aliases) if (!valid_dotted(a->valuestring, false)) return schema_fail(
        p, "invalid alias \"%.100s\"", a->valuestring);
    return EM_OK;
}

/* Makes the node of a record, enum or fixed from its name and namespace and registers its
 * fullname (before a record's fields, so that they may refer to the record). */
static enum em_code define_named(struct parser *p, const cJSON *json, enum avro_kind kind,
                                 const char *ns, struct avro_node **out)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "name"));
    const cJSON *nsj = cJSON_GetObjectItemCaseSensitive(json, "namespace");
    if (!name)
        return schema_fail(p, "a %s needs a \"name\"", avro_kind_names[kind]);
    if (nsj && !cJSON_IsNull(nsj) && !cJSON_IsString(nsj))
        return schema_fail(p, "the namespace of \"%.100s\" must be a string", name);
    if (cJSON_IsString(nsj) && !strchr(name, '.'))
        ns = nsj->valuestring;
    const char *dot = strrchr(name, '.');
    const char *simple = dot ? dot + 1 : name;
    if (!valid_name(simple, strlen(simple)) || (dot && !valid_dotted(name, false)))
        return schema_fail(p, "invalid name \"%.100s\": names match [A-Za-z_][A-Za-z0-9_]*", name);
    if (!dot && !valid_dotted(ns, true))
        return schema_fail(p, "invalid namespace \"%.100s\"", ns);
    bool primitive;
    primitive_kind(simple, &primitive);
    if (primitive)
        return schema_fail(p, "\"%.100s\" is a primitive type and cannot be redefined", name);
    enum em_code code = check_aliases(p, json);
    if (code)
        return code;
    struct avro_node *n = node_new(p, kind);
    size_t len = strlen(ns) + strlen(name) + 2;
    if (!n || !(n->fullname = malloc(len)))
        return EM_FAIL_OOM(p->st);
    snprintf(n->fullname, len, dot || !*ns ? "%s%s" : "%s.%s", dot ? "" : ns, name);
    *out = n;
    return table_add(p, n);
}

/* The namespace a named node's own definitions inherit, written into buf. */
static const char *namespace_of(const struct avro_node *n, char *buf, size_t cap)
{
    const char *dot = strrchr(n->fullname, '.');
    size_t len = dot ? (size_t)(dot - n->fullname) : 0;
    if (len >= cap)
        return NULL;
    memcpy(buf, n->fullname, len);
    buf[len] = '\0';
    return buf;
}

static enum em_code parse_field(struct parser *p, const cJSON *json, const char *ns,
                                struct avro_field *field)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "name"));
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(json, "type");
    const char *order = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "order"));
    if (!name)
        return schema_fail(p, "every field of record \"%.100s\" needs a \"name\"", p->record);
    if (!valid_name(name, strlen(name)))
        return schema_fail(p, "invalid field name \"%.100s\" in record \"%.100s\"", name,
                           p->record);
    if (!(field->name = strdup(name)))
        return EM_FAIL_OOM(p->st);
    p->field = field->name;
    if (!type)
        return schema_fail(p, "the field needs a \"type\"");
    if (cJSON_GetObjectItemCaseSensitive(json, "order") &&
        !(order && (!strcmp(order, "ascending") || !strcmp(order, "descending") ||
                    !strcmp(order, "ignore"))))
        return schema_fail(p, "\"order\" must be \"ascending\", \"descending\" or \"ignore\"");
    enum em_code code = check_aliases(p, json);
    if (code)
        return code;
    field->default_value = cJSON_GetObjectItemCaseSensitive(json, "default");
    field->has_default = field->default_value != NULL;
    return parse_type(p, type, ns, &field->type);
}

static enum em_code parse_record(struct parser *p, const cJSON *json, const char *ns,
                                 struct avro_node **out)
{
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(json, "fields"), *f;
    enum em_code code = define_named(p, json, AVRO_RECORD, ns, out);
    if (code)
        return code;
    struct avro_node *n = *out;
    if (!cJSON_IsArray(fields))
        return schema_fail(p, "record \"%.100s\" needs a \"fields\" array", n->fullname);
    char *inner = malloc(strlen(n->fullname) + 1);
    n->fields = calloc((size_t)cJSON_GetArraySize(fields) + 1, sizeof(*n->fields));
    if (!inner || !n->fields) {
        free(inner);
        return EM_FAIL_OOM(p->st);
    }
    namespace_of(n, inner, strlen(n->fullname) + 1);
    const char *outer_record = p->record, *outer_field = p->field;
    p->record = n->fullname;
    cJSON_ArrayForEach(f, fields)
    {
        p->field = NULL;
        if (!cJSON_IsObject(f))
            code = schema_fail(p, "the fields of record \"%.100s\" must be objects", n->fullname);
        else
            code = parse_field(p, f, inner, &n->fields[n->count++]);
        if (code)
            break;
    }
    p->field = NULL;
    free(inner);
    if (!code) {
        bool oom;
        const char *dup = avro_index_names(n, field_name_at, &oom);
        if (oom)
            code = EM_FAIL_OOM(p->st);
        else if (dup)
            code = schema_fail(p, "record \"%.100s\" has two fields named \"%.100s\"", n->fullname,
                               dup);
    }
    p->record = outer_record;
    p->field = outer_field;
    return code;
}

static enum em_code parse_enum(struct parser *p, const cJSON *json, const char *ns,
                               struct avro_node **out)
{
    const cJSON *symbols = cJSON_GetObjectItemCaseSensitive(json, "symbols"), *s;
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(json, "default");
    enum em_code code = define_named(p, json, AVRO_ENUM, ns, out);
    if (code)
        return code;
    struct avro_node *n = *out;
    if (!is_string_array(symbols))
        return schema_fail(p, "enum \"%.100s\" needs a \"symbols\" array of names", n->fullname);
    n->symbols = calloc((size_t)cJSON_GetArraySize(symbols) + 1, sizeof(*n->symbols));
    if (!n->symbols)
        return EM_FAIL_OOM(p->st);
    cJSON_ArrayForEach(s, symbols)
    {
        if (!valid_name(s->valuestring, strlen(s->valuestring)))
            return schema_fail(p, "enum \"%.100s\" has an invalid symbol \"%.100s\"", n->fullname,
                               s->valuestring);
        if (!(n->symbols[n->count++] = strdup(s->valuestring)))
            return EM_FAIL_OOM(p->st);
    }
    bool oom;
    const char *dup = avro_index_names(n, symbol_at, &oom);
    if (oom)
        return EM_FAIL_OOM(p->st);
    if (dup)
        return schema_fail(p, "enum \"%.100s\" has the symbol \"%.100s\" twice", n->fullname, dup);
    if (def && !(cJSON_IsString(def) &&
                 avro_find_name(n, def->valuestring, strlen(def->valuestring)) >= 0))
        return schema_fail(p, "the default of enum \"%.100s\" is not one of its symbols",
                           n->fullname);
    return EM_OK;
}

/* A JSON number that is an integer in [min, max]. */
static bool json_integer_in(const cJSON *v, double min, double max, double *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > max)
        return false;
    *out = v->valuedouble;
    return true;
}

static enum em_code parse_fixed(struct parser *p, const cJSON *json, const char *ns,
                                struct avro_node **out)
{
    double size;
    enum em_code code = define_named(p, json, AVRO_FIXED, ns, out);
    if (code)
        return code;
    if (!json_integer_in(cJSON_GetObjectItemCaseSensitive(json, "size"), 0, INT32_MAX, &size))
        return schema_fail(p, "fixed \"%.100s\" needs a \"size\" from 0 to 2147483647",
                           (*out)->fullname);
    (*out)->size = (size_t)size;
    return EM_OK;
}

/* The logicalType of json when valid for node n (Avro 1.11), else NULL. */
static const char *logical_type(const cJSON *json, const struct avro_node *n)
{
    static const struct {
        const char *name;
        enum avro_kind kind;
    } simple[] = {{"uuid", AVRO_STRING},
                  {"date", AVRO_INT},
                  {"time-millis", AVRO_INT},
                  {"time-micros", AVRO_LONG},
                  {"timestamp-millis", AVRO_LONG},
                  {"timestamp-micros", AVRO_LONG},
                  {"local-timestamp-millis", AVRO_LONG},
                  {"local-timestamp-micros", AVRO_LONG}};
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "logicalType"));
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
        if (!strcmp(name, simple[i].name))
            return n->kind == simple[i].kind ? simple[i].name : NULL;
    if (!strcmp(name, "duration"))
        return n->kind == AVRO_FIXED && n->size == 12 ? "duration" : NULL;
    if (strcmp(name, "decimal") || (n->kind != AVRO_BYTES && n->kind != AVRO_FIXED))
        return NULL;
    double precision, scale = 0;
    const cJSON *scale_json = cJSON_GetObjectItemCaseSensitive(json, "scale");
    if (!json_integer_in(cJSON_GetObjectItemCaseSensitive(json, "precision"), 1, INT32_MAX,
                         &precision) ||
        (scale_json && !json_integer_in(scale_json, 0, precision, &scale)))
        return NULL;
    /* a fixed holds floor(log10(2^(8 * size - 1) - 1)) decimal digits */
    if (n->kind == AVRO_FIXED && precision > floor(log10(2.0) * (8.0 * (double)n->size - 1)))
        return NULL;
    return "decimal";
}

static enum em_code parse_container(struct parser *p, const cJSON *json, const char *ns,
                                    enum avro_kind kind, struct avro_node **out)
{
    const char *key = kind == AVRO_ARRAY ? "items" : "values";
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(json, key);
    if (!inner)
        return schema_fail(p, "%s needs \"%s\"", kind == AVRO_ARRAY ? "an array" : "a map", key);
    if (!(*out = node_new(p, kind)))
        return EM_FAIL_OOM(p->st);
    return parse_type(p, inner, ns, &(*out)->items);
}

static enum em_code parse_object(struct parser *p, const cJSON *json, const char *ns,
                                 struct avro_node **out)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "type"));
    enum em_code code;
    bool primitive;
    if (!type)
        return schema_fail(p, "a schema object needs a \"type\" string");
    if (!strcmp(type, "record") || !strcmp(type, "error"))
        return parse_record(p, json, ns, out);
    if (!strcmp(type, "enum"))
        return parse_enum(p, json, ns, out);
    if (!strcmp(type, "array") || !strcmp(type, "map"))
        return parse_container(p, json, ns, *type == 'a' ? AVRO_ARRAY : AVRO_MAP, out);
    primitive_kind(type, &primitive);
    if (strcmp(type, "fixed") != 0 && !primitive)
        return resolve_name(p, type, ns, out); /* {"type": "ns.Named"}: a reference */
    code = primitive ? resolve_name(p, type, ns, out) : parse_fixed(p, json, ns, out);
    if (!code) /* a node made here: the annotation is its own */
        (*out)->logical = logical_type(json, *out);
    return code;
}

static enum em_code parse_union(struct parser *p, const cJSON *json, const char *ns,
                                struct avro_node **out)
{
    struct avro_node *n = node_new(p, AVRO_UNION);
    if (!n || !(n->branches = calloc((size_t)cJSON_GetArraySize(json) + 1, sizeof(*n->branches))))
        return EM_FAIL_OOM(p->st);
    *out = n;
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        enum em_code code = parse_type(p, item, ns, &n->branches[n->count]);
        if (code)
            return code;
        if (n->branches[n->count++]->kind == AVRO_UNION)
            return schema_fail(p, "a union cannot contain a union directly");
    }
    bool oom;
    const char *dup = avro_index_names(n, branch_name_at, &oom);
    if (oom)
        return EM_FAIL_OOM(p->st);
    if (dup)
        return schema_fail(p, "a union contains \"%.100s\" twice", dup);
    return EM_OK;
}

static enum em_code parse_type(struct parser *p, const cJSON *json, const char *ns,
                               struct avro_node **out)
{
    enum em_code code;
    if (p->depth >= PS_AVRO_MAX_DEPTH)
        return schema_fail(p, "types nest deeper than %d levels", PS_AVRO_MAX_DEPTH);
    p->depth++;
    if (cJSON_IsString(json))
        code = resolve_name(p, json->valuestring, ns, out);
    else if (cJSON_IsArray(json))
        code = parse_union(p, json, ns, out);
    else if (cJSON_IsObject(json))
        code = parse_object(p, json, ns, out);
    else
        code = schema_fail(p, "a type must be a name, an object or an array (a union)");
    p->depth--;
    return code;
}

/* Whether a string of UTF-8 holds only code points 0-255; *count is how many. */
static bool latin1_text(const char *s, size_t *count)
{
    size_t len = strlen(s), n;
    uint32_t cp;
    *count = 0;
    for (size_t i = 0; i < len; i += n, (*count)++)
        if (!(n = em_utf8_char((const unsigned char *)s + i, len - i, &cp)) || cp > 255)
            return false;
    return true;
}

static bool default_matches(const struct avro_node *n, const cJSON *v, int depth);

static bool record_default_matches(const struct avro_node *n, const cJSON *v, int depth)
{
    if (!cJSON_IsObject(v))
        return false;
    for (size_t i = 0; i < n->count; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(v, n->fields[i].name);
        if (item ? !default_matches(n->fields[i].type, item, depth + 1) : !n->fields[i].has_default)
            return false;
    }
    return true;
}

/* Whether a default value (the JSON encoding, but a union takes its first branch bare)
 * is a datum of n. */
static bool default_matches(const struct avro_node *n, const cJSON *v, int depth)
{
    const cJSON *item;
    double d;
    size_t count;
    if (depth > 2 * PS_AVRO_MAX_DEPTH)
        return false;
    switch (n->kind) {
    case AVRO_NULL:
        return cJSON_IsNull(v);
    case AVRO_BOOLEAN:
        return cJSON_IsBool(v);
    case AVRO_INT:
        return json_integer_in(v, INT32_MIN, INT32_MAX, &d);
    case AVRO_LONG:
        return json_integer_in(v, -0x1p63, 0x1p63, &d) && d < 0x1p63;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        return cJSON_IsNumber(v) || (cJSON_IsString(v) && (!strcmp(v->valuestring, "NaN") ||
                                                           !strcmp(v->valuestring, "Infinity") ||
                                                           !strcmp(v->valuestring, "-Infinity")));
    case AVRO_BYTES:
        return cJSON_IsString(v) && latin1_text(v->valuestring, &count);
    case AVRO_STRING:
        return cJSON_IsString(v);
    case AVRO_FIXED:
        return cJSON_IsString(v) && latin1_text(v->valuestring, &count) && count == n->size;
    case AVRO_ENUM:
        return cJSON_IsString(v) && avro_find_name(n, v->valuestring, strlen(v->valuestring)) >= 0;
    case AVRO_ARRAY:
    case AVRO_MAP:
        if (n->kind == AVRO_ARRAY ? !cJSON_IsArray(v) : !cJSON_IsObject(v))
            return false;
        cJSON_ArrayForEach(item, v) if (!default_matches(n->items, item, depth + 1)) return false;
        return true;
    case AVRO_UNION:
        return n->count > 0 && default_matches(n->branches[0], v, depth + 1);
    case AVRO_RECORD:
        return record_default_matches(n, v, depth);
    }
    return false;
}

static enum em_code check_defaults(struct parser *p)
{
    for (size_t i = 0; i < p->schema->count; i++) {
        struct avro_node *n = p->schema->nodes[i];
        for (size_t f = 0; n->kind == AVRO_RECORD && f < n->count; f++) {
            struct avro_field *field = &n->fields[f];
            bool ok =
                !field->default_value || default_matches(field->type, field->default_value, 0);
            field->default_value = NULL; /* the JSON is about to go */
            if (!ok) {
                p->record = n->fullname;
                p->field = field->name;
                char buf[128];
                return schema_fail(p, "the default value is not a valid %s",
                                   avro_describe(field->type, buf, sizeof(buf)));
            }
        }
    }
    return EM_OK;
}

void ps_avro_free(struct ps_avro_schema *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->count; i++) {
        struct avro_node *n = schema->nodes[i];
        for (size_t k = 0; k < n->count && n->fields; k++)
            free(n->fields[k].name);
        for (size_t k = 0; k < n->count && n->symbols; k++)
            free(n->symbols[k]);
        free(n->fullname);
        free(n->branches);
        free(n->fields);
        free(n->symbols);
        free(n->by_name);
        free(n);
    }
    free(schema->nodes);
    free(schema);
}

enum em_code ps_avro_parse(const char *definition, size_t len, struct ps_avro_schema **out,
                           struct em_status *st)
{
    *out = NULL;
    size_t at = 0;
    if (memchr(definition, '\0', len) || em_json_has_nul_escape(definition, len, &at))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid Avro schema: the definition holds a NUL character (at byte %zu).",
                       at ? at
                          : (size_t)((const char *)memchr(definition, '\0', len) - definition));
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(definition, len, &end, false);
    at = end ? (size_t)(end - definition) : 0;
    while (json && at < len && strchr(" \t\r\n", definition[at]))
        at++;
    if (!json || at < len) {
        cJSON_Delete(json);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid Avro schema: the definition is not valid JSON (at byte %zu).", at);
    }
    struct parser p = {.st = st};
    enum em_code code = EM_OK;
    if (!(p.schema = calloc(1, sizeof(*p.schema))))
        code = EM_FAIL_OOM(st);
    if (!code)
        code = parse_type(&p, json, "", &p.schema->root);
    if (!code)
        code = check_defaults(&p);
    cJSON_Delete(json);
    free(p.table);
    if (code) {
        ps_avro_free(p.schema);
        return code;
    }
    *out = p.schema;
    return EM_OK;
}
