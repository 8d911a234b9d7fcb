/*
 * pubsub_avro_binary: whether a message is one datum of a schema in Avro's binary encoding
 * (one datum, no container header), every byte consumed: zig-zag varints, lengths and block
 * sizes within the bytes left, UTF-8 strings, indexes in range.
 * The rules, and where they differ from the Avro library, are told in pubsub_avro.c.
 */
#include "pubsub_avro_parts.h"

/* A zig-zag varint of at most max_bytes whose last byte is at most last_max. */
static enum em_code bin_varint(struct avro_check *c, int max_bytes, unsigned last_max, int64_t *out,
                               const char *type)
{
    uint64_t raw = 0;
    *out = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (c->p >= c->end)
            return avro_check_fail(c, "the message ends inside %s", type);
        unsigned b = *c->p++;
        if (i == max_bytes - 1 && b > last_max)
            return avro_check_fail(c, "the varint does not fit in %s", type);
        raw |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = (int64_t)(raw >> 1) ^ -(int64_t)(raw & 1);
    return EM_OK;
}

static enum em_code bin_long(struct avro_check *c, int64_t *out, const char *type)
{
    return bin_varint(c, 10, 0x01, out, type);
}

static enum em_code bin_int(struct avro_check *c, int64_t *out, const char *type)
{
    return bin_varint(c, 5, 0x0F, out, type);
}

static enum em_code bin_take(struct avro_check *c, uint64_t n, const char *type)
{
    if (n > (uint64_t)(c->end - c->p))
        return avro_check_fail(c, "%s needs %llu bytes, %zu are left", type, (unsigned long long)n,
                               (size_t)(c->end - c->p));
    c->p += n;
    return EM_OK;
}

/* bytes or string: a long length, then the data. */
static enum em_code bin_text(struct avro_check *c, bool utf8, const char *type)
{
    int64_t len = 0;
    enum em_code code = bin_long(c, &len, type);
    if (code)
        return code;
    if (len < 0)
        return avro_check_fail(c, "%s has a negative length %lld", type, (long long)len);
    const unsigned char *from = c->p;
    if ((code = bin_take(c, (uint64_t)len, type)) || !utf8)
        return code;
    uint32_t cp;
    for (size_t i = 0, n; i < (size_t)len; i += n)
        if (!(n = em_utf8_char(from + i, (size_t)len - i, &cp))) {
            c->p = from + i;
            return avro_check_fail(c, "the %s is not valid UTF-8", type);
        }
    return EM_OK;
}

static enum em_code bin_value(struct avro_check *c, const struct avro_node *n);

/* One block of an array or map after its count: [byte size if the count is negative,] items. */
static enum em_code bin_block(struct avro_check *c, const struct avro_node *n, int64_t count)
{
    int64_t size = -1;
    enum em_code code;
    if (count == INT64_MIN)
        return avro_check_fail(c, "invalid block count");
    if (count < 0) {
        if ((code = bin_long(c, &size, "a block size")))
            return code;
        if (size < 0 || size > c->end - c->p)
            return avro_check_fail(c, "block size %lld is not within the message", (long long)size);
        count = -count;
    }
    const unsigned char *block = c->p;
    for (; count > 0; count--, c->path[c->steps - 1].index++) {
        if (n->kind == AVRO_MAP && (code = bin_text(c, true, "map key")))
            return code;
        if ((code = bin_value(c, n->items)))
            return code;
    }
    if (size >= 0 && c->p - block != size)
        return avro_check_fail(c, "the block says %lld bytes but its items take %zu",
                               (long long)size, (size_t)(c->p - block));
    return EM_OK;
}

/* Blocks until a zero count. */
static enum em_code bin_blocks(struct avro_check *c, const struct avro_node *n)
{
    int64_t count = 0;
    enum em_code code = avro_enter(c, NULL);
    while (!code && !(code = bin_long(c, &count, "a block count")) && count != 0)
        code = bin_block(c, n, count);
    if (!code)
        avro_leave(c);
    return code;
}

static enum em_code bin_record(struct avro_check *c, const struct avro_node *n)
{
    enum em_code code = avro_enter(c, "");
    for (size_t i = 0; !code && i < n->count; i++) {
        c->path[c->steps - 1].field = n->fields[i].name;
        code = bin_value(c, n->fields[i].type);
    }
    if (!code)
        avro_leave(c);
    return code;
}

/* An int index into a union or enum of count entries. */
static enum em_code bin_index(struct avro_check *c, size_t count, const char *what, int64_t *index)
{
    enum em_code code = bin_int(c, index, what);
    if (!code && (*index < 0 || (uint64_t)*index >= count))
        return avro_check_fail(c, "%s %lld is out of range (%zu entries)", what, (long long)*index,
                               count);
    return code;
}

static enum em_code bin_value(struct avro_check *c, const struct avro_node *n)
{
    int64_t v = 0;
    enum em_code code = avro_spend(c);
    if (code)
        return code;
    switch (n->kind) {
    case AVRO_NULL:
        return EM_OK;
    case AVRO_BOOLEAN:
        if (c->p<c->end && * c->p> 1)
            return avro_check_fail(c, "a boolean is the byte 0 or 1, found %u", *c->p);
        return bin_take(c, 1, "boolean");
    case AVRO_INT:
        return bin_int(c, &v, "an int");
    case AVRO_LONG:
        return bin_long(c, &v, "a long");
    case AVRO_FLOAT:
        return bin_take(c, 4, "float");
    case AVRO_DOUBLE:
        return bin_take(c, 8, "double");
    case AVRO_BYTES:
        return bin_text(c, false, "bytes");
    case AVRO_STRING:
        return bin_text(c, true, "string");
    case AVRO_FIXED:
        return bin_take(c, n->size, n->fullname);
    case AVRO_ENUM:
        return bin_index(c, n->count, "enum index", &v);
    case AVRO_UNION:
        code = bin_index(c, n->count, "union index", &v);
        return code ? code : bin_value(c, n->branches[v]);
    case AVRO_ARRAY:
    case AVRO_MAP:
        return bin_blocks(c, n);
    case AVRO_RECORD:
        return bin_record(c, n);
    }
    return EM_OK;
}

enum em_code avro_binary_datum(struct avro_check *c, const struct avro_node *n)
{
    enum em_code code = bin_value(c, n);
    if (!code && c->p < c->end)
        code = avro_check_fail(c, "%zu unexpected bytes after the value", (size_t)(c->end - c->p));
    return code;
}
