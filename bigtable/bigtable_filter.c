/*
 * bigtable_filter: the RowFilter tree, its JSON parser with Google's checks, and the
 * evaluator that runs it over one row's cells. See bigtable_filter.h for the semantics.
 * Reference: https://cloud.google.com/bigtable/docs/reference/data/rest/v2/RowFilter
 */
#include "bigtable_filter.h"

#include "bigtable_proto_size.h"
#include "em_clock.h"
#include "em_hash.h"
#include "em_json.h"
#include "em_regex.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 15

enum kind {
    F_PASS_ALL,
    F_BLOCK_ALL,
    F_CHAIN,
    F_INTERLEAVE,
    F_CONDITION,
    F_SINK,
    F_ROW_KEY_REGEX,
    F_ROW_SAMPLE,
    F_FAMILY_REGEX,
    F_QUALIFIER_REGEX,
    F_COLUMN_RANGE,
    F_TIMESTAMP_RANGE,
    F_VALUE_REGEX,
    F_VALUE_RANGE,
    F_ROW_OFFSET,
    F_ROW_LIMIT,
    F_COLUMN_LIMIT,
    F_STRIP_VALUE,
    F_LABEL,
};

/* One bound of a range of byte strings: absent (the empty string / infinity), open or
 * closed. */
struct bound {
    bool set, open;
    uint8_t *bytes;
    size_t len;
};

struct bt_filter {
    enum kind kind;
    struct bt_filter **children; /* chain, interleave */
    size_t n_children;
    struct bt_filter *predicate, *on_true, *on_false; /* condition */
    struct em_regex *regex;
    char *family; /* column range; a family regex that names one family literally */
    struct bound start, end;
    int64_t ts_start, ts_end; /* end 0: infinity */
    double probability;
    int64_t count;
    char *label;
    bool has_label; /* this filter or one inside it applies a label */
    bool has_sink;
    size_t proto_size; /* its serialized RowFilter message, for the size limit */
};

/* ---- the fields of a RowFilter: JSON name, proto name and number, value type ---- */

enum value_type { V_MESSAGE, V_BOOL, V_BYTES, V_STRING, V_INT32, V_INT64, V_DOUBLE };

struct field {
    const char *json, *proto;
    enum kind kind;
    enum value_type type;
    int number;
};

static const struct field filter_fields[] = {
    {"chain", "chain", F_CHAIN, V_MESSAGE, 1},
    {"interleave", "interleave", F_INTERLEAVE, V_MESSAGE, 2},
    {"condition", "condition", F_CONDITION, V_MESSAGE, 3},
    {"sink", "sink", F_SINK, V_BOOL, 16},
    {"passAllFilter", "pass_all_filter", F_PASS_ALL, V_BOOL, 17},
    {"blockAllFilter", "block_all_filter", F_BLOCK_ALL, V_BOOL, 18},
    {"rowKeyRegexFilter", "row_key_regex_filter", F_ROW_KEY_REGEX, V_BYTES, 4},
    {"rowSampleFilter", "row_sample_filter", F_ROW_SAMPLE, V_DOUBLE, 14},
    {"familyNameRegexFilter", "family_name_regex_filter", F_FAMILY_REGEX, V_STRING, 5},
    {"columnQualifierRegexFilter", "column_qualifier_regex_filter", F_QUALIFIER_REGEX, V_BYTES, 6},
    {"columnRangeFilter", "column_range_filter", F_COLUMN_RANGE, V_MESSAGE, 7},
    {"timestampRangeFilter", "timestamp_range_filter", F_TIMESTAMP_RANGE, V_MESSAGE, 8},
    {"valueRegexFilter", "value_regex_filter", F_VALUE_REGEX, V_BYTES, 9},
    {"valueRangeFilter", "value_range_filter", F_VALUE_RANGE, V_MESSAGE, 15},
    {"cellsPerRowOffsetFilter", "cells_per_row_offset_filter", F_ROW_OFFSET, V_INT32, 10},
    {"cellsPerRowLimitFilter", "cells_per_row_limit_filter", F_ROW_LIMIT, V_INT32, 11},
    {"cellsPerColumnLimitFilter", "cells_per_column_limit_filter", F_COLUMN_LIMIT, V_INT32, 12},
    {"stripValueTransformer", "strip_value_transformer", F_STRIP_VALUE, V_BOOL, 13},
    {"applyLabelTransformer", "apply_label_transformer", F_LABEL, V_STRING, 19},
};

#define N_FILTER_FIELDS (sizeof(filter_fields) / sizeof(filter_fields[0]))

static const char *type_name(enum value_type type)
{
    static const char *names[] = {"TYPE_MESSAGE", "TYPE_BOOL",  "TYPE_BYTES", "TYPE_STRING",
                                  "TYPE_INT32",   "TYPE_INT64", "TYPE_DOUBLE"};
    return names[type];
}

/* ---- errors ---- */

/* The parser's position: the dotted path of the field being read, for errors. */
struct parse {
    char path[512];
    struct em_status *st;
    int depth;
};

static enum em_code invalid_value(struct parse *p, const char *field, enum value_type type,
                                  const cJSON *value)
{
    char *text = cJSON_PrintUnformatted(value);
    enum em_code rc = EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s.%s' (%s), %s",
                              p->path, field, type_name(type), text ? text : "");
    free(text);
    return rc;
}

static enum em_code bad_field(struct parse *p, const char *field, const char *reason)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Error in field '%s' : %s", field, reason);
}

/* Appends ".name" to the path for the duration of a nested parse; returns the old end. */
static size_t path_push_name(struct parse *p, const char *name)
{
    size_t old = strlen(p->path);
    snprintf(p->path + old, sizeof(p->path) - old, ".%s", name);
    return old;
}

/* Appends ".filters[i]". */
static size_t path_push_index(struct parse *p, size_t index)
{
    size_t old = strlen(p->path);
    snprintf(p->path + old, sizeof(p->path) - old, ".filters[%zu]", index);
    return old;
}

static void path_pop(struct parse *p, size_t old)
{
    p->path[old] = '\0';
}

/* ---- scalar fields ---- */

static enum em_code read_bytes(struct parse *p, const char *field, const cJSON *value,
                               uint8_t **out, size_t *len)
{
    if (!cJSON_IsString(value))
        return invalid_value(p, field, V_BYTES, value);
    const char *text = value->valuestring;
    if (!em_b64_decode(text, strlen(text), out, len))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Invalid value at '%s.%s' (TYPE_BYTES), Base64 decoding failed for \"%s\"",
                       p->path, field, text);
    return EM_OK;
}

static enum em_code read_int64(struct parse *p, const char *field, const cJSON *value, int64_t *out,
                               enum value_type type)
{
    if (!em_json_value_int64(value, out))
        return invalid_value(p, field, type, value);
    if (type == V_INT32 && (*out < INT32_MIN || *out > INT32_MAX))
        return invalid_value(p, field, type, value);
    return EM_OK;
}

static enum em_code read_double(struct parse *p, const char *field, const cJSON *value, double *out)
{
    if (cJSON_IsNumber(value)) {
        *out = value->valuedouble;
        return EM_OK;
    }
    if (cJSON_IsString(value)) {
        char *end;
        *out = strtod(value->valuestring, &end);
        if (value->valuestring[0] && !*end)
            return EM_OK;
    }
    return invalid_value(p, field, V_DOUBLE, value);
}

/* ---- the leaves ---- */

/* The family name a family regex stands for when it is a literal: characters of family
 * names ([-_a-zA-Z0-9], and '.', '-' or '_' escaped by a backslash), no operator. NULL
 * otherwise (or out of memory: the check it serves is then skipped). */
static char *literal_family(const uint8_t *pattern, size_t len)
{
    char *name = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; name && i < len; i++) {
        char c = (char)pattern[i];
        if (c == '\\' && i + 1 < len && pattern[i + 1] && strchr(".-_", pattern[i + 1]))
            c = (char)pattern[++i];
        else if (!(c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9'))) {
            free(name);
            return NULL;
        }
        name[n++] = c;
    }
    if (name)
        name[n] = '\0';
    return name;
}

static enum em_code compile_regex(struct parse *p, const struct field *field,
                                  const uint8_t *pattern, size_t len, struct bt_filter *f)
{
    if (len == 0)
        return bad_field(p, field->proto, "argument must not be empty");
    if (f->kind == F_FAMILY_REGEX && memchr(pattern, ':', len))
        return bad_field(p, field->proto, "argument must not contain ':'");
    if (f->kind == F_FAMILY_REGEX)
        f->family = literal_family(pattern, len);
    struct em_status why = {0};
    enum em_code rc = em_regex_compile(pattern, len, &f->regex, &why);
    if (rc == EM_INVALID_ARGUMENT) {
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                       "Error in field '%s' : invalid RE2 regular expression: %.400s", field->proto,
                       why.message);
    }
    if (rc)
        *p->st = why;
    return rc;
}

static enum em_code parse_regex(struct parse *p, const struct field *field, const cJSON *value,
                                struct bt_filter *f)
{
    uint8_t *pattern = NULL;
    size_t len = 0;
    enum em_code rc;
    if (field->type == V_STRING) {
        if (!cJSON_IsString(value))
            return invalid_value(p, field->proto, V_STRING, value);
        len = strlen(value->valuestring);
        rc = compile_regex(p, field, (const uint8_t *)value->valuestring, len, f);
    } else {
        rc = read_bytes(p, field->proto, value, &pattern, &len);
        if (rc == EM_OK)
            rc = compile_regex(p, field, pattern, len, f);
    }
    free(pattern);
    f->proto_size = bt_delimited_size(field->number, len);
    return rc;
}

static bool label_valid(const char *label)
{
    size_t len = strlen(label);
    if (len == 0 || len > LABEL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = label[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static enum em_code parse_label(struct parse *p, const struct field *field, const cJSON *value,
                                struct bt_filter *f)
{
    if (!cJSON_IsString(value))
        return invalid_value(p, field->proto, V_STRING, value);
    if (!label_valid(value->valuestring))
        return bad_field(p, field->proto,
                         "a label must be 1 to 15 characters matching [a-z0-9\\-]+");
    f->label = strdup(value->valuestring);
    if (!f->label)
        return EM_FAIL_OOM(p->st);
    f->has_label = true;
    f->proto_size = bt_delimited_size(field->number, strlen(f->label));
    return EM_OK;
}

static enum em_code parse_flag(struct parse *p, const struct field *field, const cJSON *value,
                               struct bt_filter *f)
{
    if (!cJSON_IsBool(value))
        return invalid_value(p, field->proto, V_BOOL, value);
    if (!cJSON_IsTrue(value))
        return bad_field(p, field->proto, "argument must be true");
    f->has_sink = f->kind == F_SINK;
    f->proto_size = bt_tag_size(field->number) + 1;
    return EM_OK;
}

static enum em_code parse_count(struct parse *p, const struct field *field, const cJSON *value,
                                struct bt_filter *f)
{
    enum em_code rc = read_int64(p, field->proto, value, &f->count, V_INT32);
    if (rc)
        return rc;
    if (f->count <= 0 && f->kind != F_ROW_OFFSET) /* a limit of 0: Bigtable's wording */
        return bad_field(p, field->proto, "argument must be > 0");
    if (f->count < 0)
        return bad_field(p, field->proto, "argument must not be negative");
    f->proto_size = bt_tag_size(field->number) + bt_varint_size((uint64_t)f->count);
    return EM_OK;
}

static enum em_code parse_sample(struct parse *p, const struct field *field, const cJSON *value,
                                 struct bt_filter *f)
{
    enum em_code rc = read_double(p, field->proto, value, &f->probability);
    if (rc)
        return rc;
    if (!(f->probability >= 0.0 && f->probability <= 1.0))
        return bad_field(p, field->proto, "argument must be between 0 and 1");
    f->proto_size = bt_tag_size(field->number) + 8;
    return EM_OK;
}

/* ---- range messages: ColumnRange, ValueRange, TimestampRange ---- */

/* Names of one range message's fields: JSON and proto spellings of each bound. */
struct range_names {
    const char *start_closed[2], *start_open[2], *end_closed[2], *end_open[2];
};

static const struct range_names qualifier_names = {
    {"startQualifierClosed", "start_qualifier_closed"},
    {"startQualifierOpen", "start_qualifier_open"},
    {"endQualifierClosed", "end_qualifier_closed"},
    {"endQualifierOpen", "end_qualifier_open"},
};

static const struct range_names value_names = {
    {"startValueClosed", "start_value_closed"},
    {"startValueOpen", "start_value_open"},
    {"endValueClosed", "end_value_closed"},
    {"endValueOpen", "end_value_open"},
};

static bool name_is(const char *key, const char *const names[2])
{
    return strcmp(key, names[0]) == 0 || strcmp(key, names[1]) == 0;
}

static enum em_code unknown_name(struct parse *p, const char *key)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Invalid JSON payload received. Unknown name \"%s\" at '%s': Cannot find field.",
                   key, p->path);
}

static enum em_code oneof_twice(struct parse *p, const char *oneof, const char *key)
{
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT,
                   "Invalid JSON payload received. Oneof field '%s' is already set. Cannot set "
                   "'%s'",
                   oneof, key);
}

/* One bound field of a range (its JSON item); proto field number for the size. */
static enum em_code read_bound(struct parse *p, const cJSON *item, const char *proto, bool open,
                               struct bound *b, const char *oneof, size_t *size, int number)
{
    if (b->set)
        return oneof_twice(p, oneof, item->string);
    enum em_code rc = read_bytes(p, proto, item, &b->bytes, &b->len);
    if (rc)
        return rc;
    b->set = true;
    b->open = open;
    *size += bt_delimited_size(number, b->len);
    return EM_OK;
}

/* The bounds of a ColumnRange or ValueRange (first_number: the proto number of the first
 * bound: 2 in ColumnRange, 1 in ValueRange); other keys are passed to `other`. */
static enum em_code parse_bounds(struct parse *p, const cJSON *obj, const struct range_names *n,
                                 int first_number, struct bt_filter *f, size_t *size)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        const char *key = item->string;
        enum em_code rc;
        if (cJSON_IsNull(item))
            continue;
        if (name_is(key, n->start_closed))
            rc = read_bound(p, item, n->start_closed[1], false, &f->start, "start", size,
                            first_number);
        else if (name_is(key, n->start_open))
            rc = read_bound(p, item, n->start_open[1], true, &f->start, "start", size,
                            first_number + 1);
        else if (name_is(key, n->end_closed))
            rc = read_bound(p, item, n->end_closed[1], false, &f->end, "end", size,
                            first_number + 2);
        else if (name_is(key, n->end_open))
            rc = read_bound(p, item, n->end_open[1], true, &f->end, "end", size, first_number + 3);
        else if (f->kind == F_COLUMN_RANGE &&
                 (strcmp(key, "familyName") == 0 || strcmp(key, "family_name") == 0))
            continue; /* read by parse_column_range */
        else
            rc = unknown_name(p, key);
        if (rc)
            return rc;
    }
    return EM_OK;
}

static enum em_code parse_column_range(struct parse *p, const cJSON *obj, struct bt_filter *f)
{
    const cJSON *family = cJSON_GetObjectItemCaseSensitive(obj, "familyName");
    if (!family)
        family = cJSON_GetObjectItemCaseSensitive(obj, "family_name");
    if (family && !cJSON_IsNull(family) && !cJSON_IsString(family))
        return invalid_value(p, "family_name", V_STRING, family);
    size_t size = 0;
    enum em_code rc = parse_bounds(p, obj, &qualifier_names, 2, f, &size);
    if (rc)
        return rc;
    if (!cJSON_IsString(family) || !family->valuestring[0])
        return bad_field(p, "column_range_filter.family_name", "argument must not be empty");
    f->family = strdup(family->valuestring);
    if (!f->family)
        return EM_FAIL_OOM(p->st);
    size += bt_delimited_size(1, strlen(f->family));
    f->proto_size = bt_delimited_size(7, size);
    return EM_OK;
}

static enum em_code parse_value_range(struct parse *p, const cJSON *obj, struct bt_filter *f)
{
    size_t size = 0;
    enum em_code rc = parse_bounds(p, obj, &value_names, 1, f, &size);
    f->proto_size = bt_delimited_size(15, size);
    return rc;
}

static enum em_code parse_timestamp_range(struct parse *p, const cJSON *obj, struct bt_filter *f)
{
    const cJSON *item;
    size_t size = 0;
    cJSON_ArrayForEach(item, obj)
    {
        const char *key = item->string;
        int64_t *target;
        const char *proto;
        if (strcmp(key, "startTimestampMicros") == 0 || strcmp(key, "start_timestamp_micros") == 0)
            target = &f->ts_start, proto = "start_timestamp_micros";
        else if (strcmp(key, "endTimestampMicros") == 0 || strcmp(key, "end_timestamp_micros") == 0)
            target = &f->ts_end, proto = "end_timestamp_micros";
        else
            return unknown_name(p, key);
        if (cJSON_IsNull(item))
            continue;
        enum em_code rc = read_int64(p, proto, item, target, V_INT64);
        if (rc)
            return rc;
        if (*target)
            size += 1 + bt_varint_size((uint64_t)*target);
    }
    if (f->ts_start < 0 || f->ts_end < 0)
        return bad_field(p, "timestamp_range_filter", "timestamps must not be negative");
    if (f->ts_end != 0 && f->ts_end < f->ts_start)
        return bad_field(p, "timestamp_range_filter",
                         "end_timestamp_micros must not be before start_timestamp_micros");
    f->proto_size = bt_delimited_size(8, size);
    return EM_OK;
}

/* ---- composite filters ---- */

static enum em_code parse_node(struct parse *p, const cJSON *json, struct bt_filter **out);

static enum em_code parse_filter_list(struct parse *p, const cJSON *obj, struct bt_filter *f,
                                      const char *what)
{
    const cJSON *list = NULL, *item;
    cJSON_ArrayForEach(item, obj)
    {
        if (strcmp(item->string, "filters") != 0)
            return unknown_name(p, item->string);
        list = item;
    }
    size_t size = 0;
    if (list && !cJSON_IsNull(list)) {
        if (!cJSON_IsArray(list))
            return invalid_value(p, "filters", V_MESSAGE, list);
        size_t n = (size_t)cJSON_GetArraySize(list);
        f->children = calloc(n ? n : 1, sizeof(*f->children));
        if (!f->children)
            return EM_FAIL_OOM(p->st);
        size_t labelled = 0;
        cJSON_ArrayForEach(item, list)
        {
            size_t old = path_push_index(p, f->n_children);
            enum em_code rc = parse_node(p, item, &f->children[f->n_children]);
            struct bt_filter *child = f->children[f->n_children++]; /* freed with f */
            path_pop(p, old);
            if (rc)
                return rc;
            labelled += child->has_label;
            f->has_label |= child->has_label;
            f->has_sink |= child->has_sink;
            size += bt_delimited_size(1, child->proto_size);
        }
        if (f->kind == F_CHAIN && labelled > 1)
            return bad_field(p, what,
                             "a chain may contain at most one sub-filter with an "
                             "apply_label_transformer: a cell carries at most one label");
    }
    if (f->n_children < 2) /* Bigtable refuses them (google-cloud-go#4201, found on Bigtable) */
        return bad_field(p, what,
                         f->kind == F_CHAIN ? "a chain must contain at least two RowFilters"
                                            : "an interleave must contain at least two RowFilters");
    f->proto_size = bt_delimited_size(f->kind == F_CHAIN ? 1 : 2, size);
    return EM_OK;
}

static enum em_code parse_condition(struct parse *p, const cJSON *obj, struct bt_filter *f)
{
    static const struct {
        const char *json, *proto;
        size_t member;
    } parts[] = {
        {"predicateFilter", "predicate_filter", offsetof(struct bt_filter, predicate)},
        {"trueFilter", "true_filter", offsetof(struct bt_filter, on_true)},
        {"falseFilter", "false_filter", offsetof(struct bt_filter, on_false)},
    };
    size_t size = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        size_t i = 0;
        while (i < 3 && strcmp(item->string, parts[i].json) && strcmp(item->string, parts[i].proto))
            i++;
        if (i == 3)
            return unknown_name(p, item->string);
        struct bt_filter **slot = (struct bt_filter **)((char *)f + parts[i].member);
        if (cJSON_IsNull(item) || *slot)
            continue;
        size_t old = path_push_name(p, parts[i].proto);
        enum em_code rc = parse_node(p, item, slot);
        path_pop(p, old);
        if (rc)
            return rc;
        if ((*slot)->has_sink)
            return bad_field(p, "condition",
                             "a sink is not allowed in a condition's predicate, true or false "
                             "filter");
        f->has_label |= (*slot)->has_label;
        size += bt_delimited_size((int)i + 1, (*slot)->proto_size);
    }
    f->proto_size = bt_delimited_size(3, size);
    return EM_OK;
}

static enum em_code parse_message(struct parse *p, const struct field *field, const cJSON *value,
                                  struct bt_filter *f)
{
    if (!cJSON_IsObject(value))
        return invalid_value(p, field->proto, V_MESSAGE, value);
    size_t old = path_push_name(p, field->proto);
    enum em_code rc;
    switch (field->kind) {
    case F_CHAIN:
    case F_INTERLEAVE:
        rc = parse_filter_list(p, value, f, field->proto);
        break;
    case F_CONDITION:
        rc = parse_condition(p, value, f);
        break;
    case F_COLUMN_RANGE:
        rc = parse_column_range(p, value, f);
        break;
    case F_TIMESTAMP_RANGE:
        rc = parse_timestamp_range(p, value, f);
        break;
    default:
        rc = parse_value_range(p, value, f);
        break;
    }
    path_pop(p, old);
    return rc;
}

static enum em_code parse_kind(struct parse *p, const struct field *field, const cJSON *value,
                               struct bt_filter *f)
{
    f->kind = field->kind;
    switch (field->kind) {
    case F_CHAIN:
    case F_INTERLEAVE:
    case F_CONDITION:
    case F_COLUMN_RANGE:
    case F_TIMESTAMP_RANGE:
    case F_VALUE_RANGE:
        return parse_message(p, field, value, f);
    case F_SINK:
    case F_PASS_ALL:
    case F_BLOCK_ALL:
    case F_STRIP_VALUE:
        return parse_flag(p, field, value, f);
    case F_ROW_KEY_REGEX:
    case F_FAMILY_REGEX:
    case F_QUALIFIER_REGEX:
    case F_VALUE_REGEX:
        return parse_regex(p, field, value, f);
    case F_ROW_SAMPLE:
        return parse_sample(p, field, value, f);
    case F_ROW_OFFSET:
    case F_ROW_LIMIT:
    case F_COLUMN_LIMIT:
        return parse_count(p, field, value, f);
    case F_LABEL:
        return parse_label(p, field, value, f);
    }
    return EM_FAIL(p->st, EM_INTERNAL, "unknown filter kind");
}

static const struct field *find_field(const char *key)
{
    for (size_t i = 0; i < N_FILTER_FIELDS; i++)
        if (strcmp(key, filter_fields[i].json) == 0 || strcmp(key, filter_fields[i].proto) == 0)
            return &filter_fields[i];
    return NULL;
}

static bool is_composite(enum kind kind)
{
    return kind == F_CHAIN || kind == F_INTERLEAVE || kind == F_CONDITION;
}

/* One RowFilter object: at most one member of the `filter` oneof (none: pass all). */
static enum em_code parse_node(struct parse *p, const cJSON *json, struct bt_filter **out)
{
    *out = NULL;
    if (!cJSON_IsObject(json))
        return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid value at '%s' (TYPE_MESSAGE)", p->path);
    struct bt_filter *f = calloc(1, sizeof(*f));
    if (!f)
        return EM_FAIL_OOM(p->st);
    *out = f;
    f->kind = F_PASS_ALL;
    const struct field *chosen = NULL;
    const cJSON *item, *value = NULL;
    cJSON_ArrayForEach(item, json)
    {
        const struct field *field = find_field(item->string);
        if (!field)
            return unknown_name(p, item->string);
        if (cJSON_IsNull(item))
            continue;
        if (chosen)
            return oneof_twice(p, "filter", item->string);
        chosen = field;
        value = item;
    }
    if (!chosen)
        return EM_OK; /* {}: an unset oneof passes every cell; serializes to nothing */
    if (is_composite(chosen->kind) && ++p->depth > BT_FILTER_MAX_DEPTH) {
        char reason[96];
        snprintf(reason, sizeof(reason), "filters may not be nested more than %d deep",
                 BT_FILTER_MAX_DEPTH);
        return bad_field(p, "filter", reason);
    }
    enum em_code rc = parse_kind(p, chosen, value, f);
    if (is_composite(chosen->kind))
        p->depth--;
    return rc;
}

enum em_code bt_filter_parse_field(const cJSON *json, const char *field, struct bt_filter **out,
                                   struct em_status *st)
{
    struct parse p = {.st = st};
    snprintf(p.path, sizeof(p.path), "%s", field);
    struct bt_filter *f = NULL;
    enum em_code rc = parse_node(&p, json, &f);
    if (rc == EM_OK && f->proto_size > BT_FILTER_MAX_BYTES) {
        char reason[128];
        snprintf(reason, sizeof(reason),
                 "the filter is %zu bytes serialized, more than the limit of %d", f->proto_size,
                 BT_FILTER_MAX_BYTES);
        rc = bad_field(&p, field, reason);
    }
    if (rc) {
        bt_filter_free(f);
        f = NULL;
    }
    *out = f;
    return rc;
}

enum em_code bt_filter_parse(const cJSON *json, struct bt_filter **out, struct em_status *st)
{
    return bt_filter_parse_field(json, "filter", out, st);
}

const char *bt_filter_missing_family(const struct bt_filter *f,
                                     bool (*has_family)(const char *family, void *arg), void *arg)
{
    if (!f)
        return NULL;
    if (f->kind == F_FAMILY_REGEX && f->family && !has_family(f->family, arg))
        return f->family;
    const char *missing = NULL;
    for (size_t i = 0; !missing && i < f->n_children; i++)
        missing = bt_filter_missing_family(f->children[i], has_family, arg);
    if (!missing)
        missing = bt_filter_missing_family(f->predicate, has_family, arg);
    if (!missing)
        missing = bt_filter_missing_family(f->on_true, has_family, arg);
    if (!missing)
        missing = bt_filter_missing_family(f->on_false, has_family, arg);
    return missing;
}

void bt_filter_free(struct bt_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_children; i++)
        bt_filter_free(f->children[i]);
    free(f->children);
    bt_filter_free(f->predicate);
    bt_filter_free(f->on_true);
    bt_filter_free(f->on_false);
    em_regex_free(f->regex);
    free(f->family);
    free(f->start.bytes);
    free(f->end.bytes);
    free(f->label);
    free(f);
}

/* ---- cell order and cell lists ---- */

int bt_bytes_compare(struct bt_bytes a, struct bt_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.data, b.data, n) : 0;
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

int bt_cell_compare(const struct bt_cell *a, const struct bt_cell *b)
{
    int c = bt_bytes_compare(a->family, b->family);
    if (!c)
        c = bt_bytes_compare(a->qualifier, b->qualifier);
    if (!c)
        c = (a->timestamp_micros < b->timestamp_micros) -
            (a->timestamp_micros > b->timestamp_micros);
    return c;
}

static bool list_reserve(struct bt_cell_list *l, size_t more)
{
    if (l->n + more <= l->cap)
        return true;
    size_t cap = l->cap ? l->cap : 8;
    while (cap < l->n + more)
        cap *= 2;
    struct bt_cell *cells = realloc(l->cells, cap * sizeof(*cells));
    if (!cells)
        return false;
    l->cells = cells;
    l->cap = cap;
    return true;
}

static bool list_append(struct bt_cell_list *l, const struct bt_cell *cells, size_t n)
{
    if (n == 0)
        return true;
    if (!list_reserve(l, n))
        return false;
    memcpy(l->cells + l->n, cells, n * sizeof(*cells));
    l->n += n;
    return true;
}

void bt_cell_list_free(struct bt_cell_list *list)
{
    free(list->cells);
    list->cells = NULL;
    list->n = list->cap = 0;
}

/* Stable merge sort: equal cells keep the order in which the filters produced them. */
static bool sort_cells(struct bt_cell_list *l)
{
    if (l->n < 2)
        return true;
    struct bt_cell *tmp = malloc(l->n * sizeof(*tmp));
    if (!tmp)
        return false;
    struct bt_cell *src = l->cells, *dst = tmp;
    for (size_t width = 1; width < l->n; width *= 2) {
        for (size_t lo = 0; lo < l->n; lo += 2 * width) {
            size_t mid = lo + width < l->n ? lo + width : l->n;
            size_t hi = lo + 2 * width < l->n ? lo + 2 * width : l->n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = bt_cell_compare(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct bt_cell *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != l->cells)
        memcpy(l->cells, src, l->n * sizeof(*src));
    free(tmp);
    return true;
}

/* ---- evaluation ---- */

/* What every level of one evaluation shares: the row, the sink's collected cells, and the
 * bounds of the evaluation (a deadline for the regular expressions, a number of cells no
 * list may pass: interleaves copy their input, so a chain of them doubles it each time),
 * with what stopped it. */
struct eval {
    const struct bt_row *row;
    struct bt_cell_list *sink;
    int64_t deadline; /* em_clock_monotonic() */
    unsigned matches; /* regular expressions run so far */
    size_t cell_limit;
    bool expired;  /* a regular expression ran past the deadline */
    bool too_many; /* a list passed cell_limit */
};

static bool in_range(const struct bound *start, const struct bound *end, struct bt_bytes v)
{
    if (start->set) {
        int c = bt_bytes_compare(v, (struct bt_bytes){start->bytes, start->len});
        if (c < 0 || (c == 0 && start->open))
            return false;
    }
    if (end->set) {
        int c = bt_bytes_compare(v, (struct bt_bytes){end->bytes, end->len});
        if (c > 0 || (c == 0 && end->open))
            return false;
    }
    return true;
}

/* Whether b matches; false (with e->expired) once the read's deadline has passed. RE2 is
 * linear in the text, but a read applies its filter to every cell it scans: the clock is
 * read every 64 matches. */
static bool regex_matches(struct eval *e, const struct em_regex *re, struct bt_bytes b)
{
    if ((e->matches++ & 63) == 0 && em_clock_monotonic() > e->deadline)
        e->expired = true;
    return !e->expired && em_regex_full_match(re, b.data ? b.data : (const uint8_t *)"", b.len);
}

/* The filters that judge each cell alone. */
static bool cell_passes(struct eval *e, const struct bt_filter *f, const struct bt_cell *c)
{
    switch (f->kind) {
    case F_FAMILY_REGEX:
        return regex_matches(e, f->regex, c->family);
    case F_QUALIFIER_REGEX:
        return regex_matches(e, f->regex, c->qualifier);
    case F_VALUE_REGEX:
        return regex_matches(e, f->regex, c->value);
    case F_COLUMN_RANGE:
        return c->family.len == strlen(f->family) &&
               memcmp(c->family.data, f->family, c->family.len) == 0 &&
               in_range(&f->start, &f->end, c->qualifier);
    case F_VALUE_RANGE:
        return in_range(&f->start, &f->end, c->value);
    case F_TIMESTAMP_RANGE:
        return c->timestamp_micros >= f->ts_start &&
               (f->ts_end == 0 || c->timestamp_micros < f->ts_end);
    default:
        return true;
    }
}

/* rowSampleFilter: FNV-1a of the key, mixed, as a fraction of 2^64, below p. */
static bool row_sampled(const struct bt_row *row, double p)
{
    if (p >= 1.0)
        return true;
    uint64_t h = em_fnv1a(row->key.data, row->key.len);
    h ^= h >> 33; /* a finalizer, so the high bits depend on every byte of the key */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (double)h * 0x1p-64 < p;
}

static bool row_passes(struct eval *e, const struct bt_filter *f, const struct bt_row *row)
{
    if (f->kind == F_ROW_KEY_REGEX)
        return regex_matches(e, f->regex, row->key);
    return row_sampled(row, f->probability);
}

static bool eval(struct eval *e, const struct bt_filter *f, const struct bt_cell *in, size_t n,
                 struct bt_cell_list *out);

/* Whether list is within the evaluation's cell limit (e->too_many set when not). */
static bool within_limit(struct eval *e, const struct bt_cell_list *list)
{
    e->too_many = e->too_many || list->n > e->cell_limit;
    return !e->too_many;
}

static bool eval_chain(struct eval *e, const struct bt_filter *f, const struct bt_cell *in,
                       size_t n, struct bt_cell_list *out)
{
    struct bt_cell_list cur = {0}, next = {0};
    bool ok = list_append(&cur, in, n);
    for (size_t i = 0; ok && i < f->n_children; i++) {
        next.n = 0;
        ok = eval(e, f->children[i], cur.cells, cur.n, &next);
        struct bt_cell_list swap = cur;
        cur = next;
        next = swap;
    }
    ok = ok && list_append(out, cur.cells, cur.n);
    bt_cell_list_free(&cur);
    bt_cell_list_free(&next);
    return ok;
}

static bool eval_interleave(struct eval *e, const struct bt_filter *f, const struct bt_cell *in,
                            size_t n, struct bt_cell_list *out)
{
    size_t first = out->n;
    bool ok = true;
    for (size_t i = 0; ok && i < f->n_children; i++)
        ok = eval(e, f->children[i], in, n, out) && within_limit(e, out);
    if (!ok)
        return false;
    if (out->n - first < 2)
        return true; /* nothing to merge (and out->cells may still be NULL) */
    struct bt_cell_list merged = {out->cells + first, out->n - first, out->n - first};
    return sort_cells(&merged);
}

static bool eval_condition(struct eval *e, const struct bt_filter *f, const struct bt_cell *in,
                           size_t n, struct bt_cell_list *out)
{
    bool matched = n > 0; /* no predicate: an empty RowFilter, which passes every cell */
    if (f->predicate) {
        struct bt_cell_list seen = {0};
        if (!eval(e, f->predicate, in, n, &seen)) {
            bt_cell_list_free(&seen);
            return false;
        }
        matched = seen.n > 0;
        bt_cell_list_free(&seen);
    }
    const struct bt_filter *branch = matched ? f->on_true : f->on_false;
    return branch ? eval(e, branch, in, n, out) : true;
}

static bool eval_counting(const struct bt_filter *f, const struct bt_cell *in, size_t n,
                          struct bt_cell_list *out)
{
    size_t count = (size_t)f->count;
    if (f->kind == F_ROW_OFFSET)
        return count >= n || list_append(out, in + count, n - count);
    if (f->kind == F_ROW_LIMIT)
        return list_append(out, in, count < n ? count : n);
    size_t in_column = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0 && bt_bytes_compare(in[i].family, in[i - 1].family) == 0 &&
                    bt_bytes_compare(in[i].qualifier, in[i - 1].qualifier) == 0;
        in_column = same ? in_column + 1 : 1;
        if (in_column <= count && !list_append(out, &in[i], 1))
            return false;
    }
    return true;
}

static bool eval_transform(const struct bt_filter *f, const struct bt_cell *in, size_t n,
                           struct bt_cell_list *out)
{
    size_t first = out->n;
    if (!list_append(out, in, n))
        return false;
    for (size_t i = first; i < out->n; i++) {
        if (f->kind == F_STRIP_VALUE)
            out->cells[i].value = (struct bt_bytes){(const uint8_t *)"", 0};
        else
            out->cells[i].label = f->label;
    }
    return true;
}

static bool eval_each_cell(struct eval *e, const struct bt_filter *f, const struct bt_cell *in,
                           size_t n, struct bt_cell_list *out)
{
    for (size_t i = 0; i < n; i++) {
        bool passes = cell_passes(e, f, &in[i]);
        if (e->expired || (passes && !list_append(out, &in[i], 1)))
            return false;
    }
    return true;
}

/* Appends f's output for the cells in[0..n) to out. False when memory ran out or a bound
 * of the evaluation stopped it (e->expired, e->too_many). */
static bool eval(struct eval *e, const struct bt_filter *f, const struct bt_cell *in, size_t n,
                 struct bt_cell_list *out)
{
    switch (f->kind) {
    case F_PASS_ALL:
        return list_append(out, in, n);
    case F_BLOCK_ALL:
        return true;
    case F_SINK:
        return list_append(e->sink, in, n) && within_limit(e, e->sink);
    case F_CHAIN:
        return eval_chain(e, f, in, n, out);
    case F_INTERLEAVE:
        return eval_interleave(e, f, in, n, out);
    case F_CONDITION:
        return eval_condition(e, f, in, n, out);
    case F_ROW_KEY_REGEX:
    case F_ROW_SAMPLE: {
        bool passes = row_passes(e, f, e->row);
        return !e->expired && (!passes || list_append(out, in, n));
    }
    case F_ROW_OFFSET:
    case F_ROW_LIMIT:
    case F_COLUMN_LIMIT:
        return eval_counting(f, in, n, out);
    case F_STRIP_VALUE:
    case F_LABEL:
        return eval_transform(f, in, n, out);
    default:
        return eval_each_cell(e, f, in, n, out);
    }
}

enum em_code bt_filter_apply_by(const struct bt_filter *f, const struct bt_row *row,
                                int64_t deadline, struct bt_cell_list *out, struct em_status *st)
{
    out->n = 0;
    if (!f)
        return list_append(out, row->cells, row->n_cells) ? EM_OK : EM_FAIL_OOM(st);
    struct bt_cell_list sink = {0};
    struct eval e = {.row = row,
                     .sink = &sink,
                     .deadline = deadline,
                     .cell_limit = BT_FILTER_CELLS_MIN + BT_FILTER_CELLS_PER_INPUT * row->n_cells};
    bool ok = eval(&e, f, row->cells, row->n_cells, out);
    if (ok && sink.n)
        ok = list_append(out, sink.cells, sink.n) && sort_cells(out);
    bt_cell_list_free(&sink);
    if (ok)
        return EM_OK;
    out->n = 0;
    if (e.expired)
        return EM_FAIL(st, EM_DEADLINE_EXCEEDED,
                       "The filter's regular expressions took longer than the emulator allows "
                       "one read (%d s in all), on the cells of row %.*s.",
                       BT_FILTER_TIME_LIMIT_S, (int)(row->key.len > 64 ? 64 : row->key.len),
                       (const char *)row->key.data);
    if (e.too_many)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The filter makes more than %zu cells out of the row's %zu (each interleave "
                       "copies its input, so a chain of interleaves doubles it each time).",
                       e.cell_limit, row->n_cells);
    return EM_FAIL_OOM(st);
}

enum em_code bt_filter_apply(const struct bt_filter *f, const struct bt_row *row,
                             struct bt_cell_list *out, struct em_status *st)
{
    int64_t deadline = em_clock_monotonic() + (int64_t)BT_FILTER_TIME_LIMIT_S * 1000000000;
    return bt_filter_apply_by(f, row, deadline, out, st);
}
