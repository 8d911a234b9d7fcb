/*
 * bigtable_aggregate: aggregate column families' types and arithmetic (see
 * bigtable_aggregate.h).
 */
#include "bigtable_aggregate.h"

#include <string.h>

/* ---- the value_type of a family ---- */

static enum em_code bad_type(const char *field, const char *reason, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Error in field '%.120s' : %s", field, reason);
}

/* The one member of a oneof object that is set (null members are unset), NULL when none;
 * *several when more than one is. */
static const cJSON *oneof_member(const cJSON *obj, const char *const *names, size_t n,
                                 bool *several)
{
    const cJSON *chosen = NULL;
    *several = false;
    for (size_t i = 0; i < n; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
        if (!m || cJSON_IsNull(m))
            continue;
        *several |= chosen != NULL;
        chosen = m;
    }
    return chosen;
}

/* Every member of obj is one of names (a misspelt field is refused, not ignored). */
static enum em_code only_known(const cJSON *obj, const char *const *names, size_t n,
                               const char *field, struct em_status *st)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        size_t i = 0;
        while (i < n && strcmp(m->string, names[i]) != 0)
            i++;
        if (i == n)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid JSON payload received. Unknown name \"%.64s\" at '%.120s': "
                           "Cannot find field.",
                           m->string, field);
    }
    return EM_OK;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const type_kinds[] = {
    "bytesType", "stringType",    "int64Type", "float32Type",   "float64Type",
    "boolType",  "timestampType", "dateType",  "aggregateType", "structType",
    "protoType", "enumType",      "arrayType", "mapType",
};

/* The input type: an Int64 with the big-endian encoding. */
static enum em_code check_input_type(const cJSON *input, const char *field, struct em_status *st)
{
    bool several;
    if (!cJSON_IsObject(input))
        return bad_type(field, "an Aggregate needs an inputType (Int64 for sum, min and max)", st);
    if (only_known(input, type_kinds, COUNT(type_kinds), field, st))
        return st->code;
    const cJSON *kind = oneof_member(input, type_kinds, COUNT(type_kinds), &several);
    if (several || !kind || kind != cJSON_GetObjectItemCaseSensitive(input, "int64Type"))
        return bad_type(field, "the inputType of sum, min and max must be an Int64", st);
    static const char *const int64_fields[] = {"encoding"};
    static const char *const encodings[] = {"bigEndianBytes", "orderedCodeBytes"};
    const cJSON *encoding = cJSON_GetObjectItemCaseSensitive(kind, "encoding");
    if (!cJSON_IsObject(kind) || only_known(kind, int64_fields, 1, field, st))
        return st->code ? st->code : bad_type(field, "int64Type must be an object", st);
    if (!cJSON_IsObject(encoding) || !oneof_member(encoding, encodings, COUNT(encodings), &several))
        return bad_type(field,
                        "the inputType must specify a full encoding (int64Type.encoding."
                        "bigEndianBytes)",
                        st);
    if (several || only_known(encoding, encodings, COUNT(encodings), field, st))
        return st->code ? st->code : bad_type(field, "an Int64 has one encoding", st);
    if (!cJSON_GetObjectItemCaseSensitive(encoding, "bigEndianBytes"))
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Error in field '%.120s' : the emulator's aggregates take Int64 inputs "
                       "in the bigEndianBytes encoding only",
                       field);
    return EM_OK;
}

static cJSON *canonical_int64(void)
{
    cJSON *type = cJSON_CreateObject();
    cJSON *encoding =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(type, "int64Type"), "encoding");
    cJSON_AddObjectToObject(encoding, "bigEndianBytes");
    return type;
}

static const char *const aggregator_names[] = {"sum", "min", "max", "hllppUniqueCount"};

static cJSON *canonical_aggregate(enum bt_aggregator agg)
{
    cJSON *type = cJSON_CreateObject();
    cJSON *aggregate = cJSON_AddObjectToObject(type, "aggregateType");
    cJSON_AddItemToObject(aggregate, "inputType", canonical_int64());
    cJSON_AddItemToObject(aggregate, "stateType", canonical_int64());
    cJSON_AddObjectToObject(aggregate, bt_aggregator_name(agg));
    return type;
}

enum em_code bt_value_type_parse(const cJSON *value_type, const char *field, cJSON **out,
                                 struct em_status *st)
{
    static const char *const aggregate_fields[] = {"inputType", "stateType", "sum",
                                                   "min",       "max",       "hllppUniqueCount"};
    bool several;
    *out = NULL;
    if (!value_type || cJSON_IsNull(value_type))
        return EM_OK;
    if (!cJSON_IsObject(value_type))
        return bad_type(field, "value_type must be a Type object", st);
    if (only_known(value_type, type_kinds, COUNT(type_kinds), field, st))
        return st->code;
    const cJSON *kind = oneof_member(value_type, type_kinds, COUNT(type_kinds), &several);
    const cJSON *aggregate = cJSON_GetObjectItemCaseSensitive(value_type, "aggregateType");
    if (!kind)
        return EM_OK; /* a Type with no kind: no value_type */
    if (several || kind != aggregate)
        return bad_type(
            field, "only the Aggregate type is supported for a column family's value_type", st);
    if (!cJSON_IsObject(aggregate) ||
        only_known(aggregate, aggregate_fields, COUNT(aggregate_fields), field, st))
        return st->code ? st->code : bad_type(field, "aggregateType must be an object", st);
    const cJSON *chosen =
        oneof_member(aggregate, aggregator_names, COUNT(aggregator_names), &several);
    if (!chosen || several)
        return bad_type(field,
                        "an Aggregate needs exactly one aggregator: sum, min, max or "
                        "hllppUniqueCount",
                        st);
    if (strcmp(chosen->string, "hllppUniqueCount") == 0)
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Error in field '%.120s' : the HyperLogLogPlusPlusUniqueCount aggregator "
                       "is not supported by the emulator (sum, min and max are)",
                       field);
    /* stateType is output only: what a request gives is ignored */
    if (check_input_type(cJSON_GetObjectItemCaseSensitive(aggregate, "inputType"), field, st))
        return st->code;
    enum bt_aggregator agg = strcmp(chosen->string, "sum") == 0   ? BT_AGG_SUM
                             : strcmp(chosen->string, "min") == 0 ? BT_AGG_MIN
                                                                  : BT_AGG_MAX;
    *out = canonical_aggregate(agg);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

enum bt_aggregator bt_family_aggregator(const cJSON *family)
{
    const cJSON *aggregate = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(family, "valueType"), "aggregateType");
    if (!aggregate)
        return BT_AGG_NONE;
    if (cJSON_GetObjectItemCaseSensitive(aggregate, "sum"))
        return BT_AGG_SUM;
    if (cJSON_GetObjectItemCaseSensitive(aggregate, "min"))
        return BT_AGG_MIN;
    return cJSON_GetObjectItemCaseSensitive(aggregate, "max") ? BT_AGG_MAX : BT_AGG_NONE;
}

const char *bt_aggregator_name(enum bt_aggregator agg)
{
    switch (agg) {
    case BT_AGG_SUM:
        return "sum";
    case BT_AGG_MIN:
        return "min";
    case BT_AGG_MAX:
        return "max";
    default:
        return "none";
    }
}

/* ---- the arithmetic ---- */

int64_t bt_aggregate(enum bt_aggregator agg, int64_t state, int64_t input)
{
    switch (agg) {
    case BT_AGG_SUM:
        return (int64_t)((uint64_t)state + (uint64_t)input); /* wraps, two's complement */
    case BT_AGG_MIN:
        return input < state ? input : state;
    case BT_AGG_MAX:
        return input > state ? input : state;
    default:
        return input;
    }
}

void bt_int64_encode(int64_t v, uint8_t out[BT_AGG_STATE_BYTES])
{
    uint64_t u = (uint64_t)v;
    for (int i = BT_AGG_STATE_BYTES - 1; i >= 0; i--, u >>= 8)
        out[i] = (uint8_t)(u & 0xff);
}

bool bt_int64_decode(struct bt_bytes b, int64_t *v)
{
    if (b.len != BT_AGG_STATE_BYTES)
        return false;
    uint64_t u = 0;
    for (int i = 0; i < BT_AGG_STATE_BYTES; i++)
        u = u << 8 | b.data[i];
    *v = (int64_t)u;
    return true;
}
