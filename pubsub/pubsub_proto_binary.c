/*
 * pubsub_proto_binary: whether bytes are a message of the schema's type in the binary
 * wire format (https://protobuf.dev/programming-guides/encoding/), judged as protobuf-java
 * parses a DynamicMessage:
 *
 *   - every byte belongs to a well-formed field: a tag with a field number > 0 and wire
 *     type 0, 1, 2, 3 (start group) or 5, varints of at most 10 bytes, lengths within the
 *     bytes left, groups closed by the end-group tag of their own number
 *   - a known field is checked by its type: sub-messages and map entries recursively,
 *     strings as UTF-8 in proto3 (NUL included; proto2 strings are not checked, as Java's
 *     DynamicMessage reads them leniently), packed runs of repeated primitives whole
 *   - a known field with another wire type, and an unknown field number, are kept as
 *     unknown fields (what Java and C++ do), so they only need to be well-formed
 *   - enum values are never an error: proto3 enums are open, and a proto2 (closed) enum
 *     sends an unknown number to the unknown fields
 *   - proto2 required fields must be present in every message parsed (Java's
 *     parseFrom() fails on an uninitialized message). A singular sub-message may come in
 *     several pieces, which the parser merges: its pieces are checked as one message, so
 *     the pieces of each singular message field are collected while its parent is read
 *     and checked together afterwards (struct piece). Limit: a oneof member interrupted
 *     by another member is still merged across the interruption.
 *   - nesting deeper than PROTO_MESSAGE_DEPTH_MAX (messages and groups) is refused, as
 *     CodedInputStream's recursion limit does
 */
#include "pubsub_proto_parts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum wire_type {
    WT_VARINT = 0,
    WT_FIXED64 = 1,
    WT_LEN = 2,
    WT_START_GROUP = 3,
    WT_END_GROUP = 4,
    WT_FIXED32 = 5
};

struct path_step {
    const struct proto_field *field; /* NULL for an unknown field */
    uint32_t number;
};

/* One length-delimited piece of a sub-message, waiting to be checked with the other
 * pieces of the same field. */
struct piece {
    const unsigned char *body;
    size_t len;
    int field; /* position in the parent's fields[] */
    size_t order;
};

struct binary_check {
    const struct ps_proto_schema *schema;
    struct em_status *st;
    struct path_step path[PROTO_MESSAGE_DEPTH_MAX + 2];
    int depth;            /* steps in path */
    struct piece *pieces; /* a stack: each message level owns the pieces above its mark */
    size_t npieces, pieces_cap;
};

/* "a.b.c" of the path, the start cut when too long. */
static void format_path(const struct binary_check *c, char *out, size_t size)
{
    char full[4096];
    size_t n = 0;
    for (int i = 0; i < c->depth && n < sizeof(full) - 64; i++) {
        const struct path_step *s = &c->path[i];
        int w;
        if (s->field)
            w = snprintf(full + n, sizeof(full) - n, "%s%.*s", i ? "." : "",
                         (int)(s->field->name.n < 60 ? s->field->name.n : 60), s->field->name.s);
        else
            w = snprintf(full + n, sizeof(full) - n, "%s%u", i ? "." : "", s->number);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n >= sizeof(full))
        n = sizeof(full) - 1;
    proto_copy_tail(out, size, full, n);
}

static enum em_code binary_fail(struct binary_check *c, const char *file, int line, const char *fmt,
                                ...) __attribute__((format(printf, 4, 5)));

static enum em_code binary_fail(struct binary_check *c, const char *file, int line, const char *fmt,
                                ...)
{
    char problem[200], path[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    if (c->depth == 0)
        return em_status_set(c->st, file, line, EM_INVALID_ARGUMENT, "Invalid binary message: %s.",
                             problem);
    format_path(c, path, sizeof(path));
    return em_status_set(c->st, file, line, EM_INVALID_ARGUMENT,
                         "Invalid binary message: field %s: %s.", path, problem);
}

#define FAIL(c, ...) binary_fail((c), __FILE__, __LINE__, __VA_ARGS__)

static bool read_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10 && *p < end; i++) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static enum wire_type expected_wire_type(enum proto_kind kind)
{
    switch (kind) {
    case PK_DOUBLE:
    case PK_FIXED64:
    case PK_SFIXED64:
        return WT_FIXED64;
    case PK_FLOAT:
    case PK_FIXED32:
    case PK_SFIXED32:
        return WT_FIXED32;
    case PK_STRING:
    case PK_BYTES:
    case PK_MESSAGE:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

static enum em_code check_fields(struct binary_check *c, const struct proto_message *m,
                                 const unsigned char **p, const unsigned char *end, uint32_t group,
                                 unsigned char *seen);
static enum em_code check_pieces(struct binary_check *c, int message, size_t first, size_t count);

/* The length-delimited payload at *p: its bounds, consumed. */
static enum em_code read_payload(struct binary_check *c, const unsigned char **p,
                                 const unsigned char *end, const unsigned char **body, size_t *len)
{
    uint64_t n;
    if (!read_varint(p, end, &n))
        return FAIL(c, "malformed or truncated length");
    if (n > (uint64_t)(end - *p))
        return FAIL(c, "length %llu runs past the end of the message", (unsigned long long)n);
    *body = *p;
    *len = (size_t)n;
    *p += n;
    return EM_OK;
}

static enum em_code enter_nested(struct binary_check *c)
{
    if (c->depth > PROTO_MESSAGE_DEPTH_MAX)
        return FAIL(c, "messages nested deeper than %d levels", PROTO_MESSAGE_DEPTH_MAX);
    return EM_OK;
}

/* A field kept as unknown: only its wire format is checked. */
static enum em_code skip_field(struct binary_check *c, enum wire_type wt, uint32_t number,
                               const unsigned char **p, const unsigned char *end)
{
    uint64_t ignored;
    const unsigned char *body = NULL;
    size_t len = 0;
    enum em_code code;
    switch (wt) {
    case WT_VARINT:
        return read_varint(p, end, &ignored) ? EM_OK : FAIL(c, "malformed or truncated varint");
    case WT_FIXED64:
    case WT_FIXED32:
        len = wt == WT_FIXED64 ? 8 : 4;
        if ((size_t)(end - *p) < len)
            return FAIL(c, "truncated %zu-byte value", len);
        *p += len;
        return EM_OK;
    case WT_LEN:
        return read_payload(c, p, end, &body, &len);
    case WT_START_GROUP:
        if ((code = enter_nested(c)))
            return code;
        return check_fields(c, NULL, p, end, number, NULL);
    default:
        return FAIL(c, "invalid wire type %d", (int)wt);
    }
}

/* A packed run of a repeated primitive: whole varints, or a multiple of the fixed size. */
static enum em_code check_packed(struct binary_check *c, const struct proto_field *f,
                                 const unsigned char *body, size_t len)
{
    enum wire_type wt = expected_wire_type(f->kind);
    if (wt == WT_FIXED32 || wt == WT_FIXED64) {
        size_t size = wt == WT_FIXED64 ? 8 : 4;
        return len % size == 0 ? EM_OK
                               : FAIL(c, "packed length %zu is not a multiple of %zu", len, size);
    }
    const unsigned char *p = body, *end = body + len;
    uint64_t ignored;
    while (p < end)
        if (!read_varint(&p, end, &ignored))
            return FAIL(c, "malformed or truncated varint in a packed run");
    return EM_OK;
}

static bool push_piece(struct binary_check *c, const struct proto_message *m,
                       const struct proto_field *f, const unsigned char *body, size_t len)
{
    if (!proto_grow((void **)&c->pieces, &c->pieces_cap, c->npieces, sizeof(*c->pieces)))
        return false;
    int field = m ? (int)(f - m->fields) : -1;
    c->pieces[c->npieces] = (struct piece){body, len, field, c->npieces};
    c->npieces++;
    return true;
}

/* A sub-message: an element of a repeated field (or a map entry) is a message of its own,
 * checked now; a singular field's piece waits for the parent's end. */
static enum em_code check_sub_message(struct binary_check *c, const struct proto_message *m,
                                      const struct proto_field *f, const unsigned char *body,
                                      size_t len)
{
    size_t mark = c->npieces;
    if (!push_piece(c, m, f, body, len))
        return EM_FAIL_OOM(c->st);
    if (f->label != PL_REPEATED)
        return EM_OK;
    enum em_code code = enter_nested(c);
    if (!code)
        code = check_pieces(c, f->type, mark, 1);
    c->npieces = mark;
    return code;
}

/* A known field: its value by the field's type; *taken is false when the wire type is
 * neither the type's nor (repeated primitives) the packed one, and the field was kept as
 * unknown instead. */
static enum em_code check_field(struct binary_check *c, const struct proto_message *m,
                                const struct proto_field *f, enum wire_type wt, uint32_t number,
                                const unsigned char **p, const unsigned char *end, bool *taken)
{
    enum wire_type expected = expected_wire_type(f->kind);
    bool packed = wt == WT_LEN && expected != WT_LEN && f->label == PL_REPEATED;
    *taken = wt == expected || packed;
    if (!*taken || wt != WT_LEN)
        return skip_field(c, wt, number, p, end); /* a scalar: well-formed is valid */
    const unsigned char *body = NULL;
    size_t len = 0;
    enum em_code code = read_payload(c, p, end, &body, &len);
    if (code)
        return code;
    if (packed)
        return check_packed(c, f, body, len);
    if (f->kind == PK_STRING && c->schema->proto3 && !proto_utf8_valid(body, len))
        return FAIL(c, "string is not valid UTF-8");
    return f->kind == PK_MESSAGE ? check_sub_message(c, m, f, body, len) : EM_OK;
}

static enum em_code read_tag(struct binary_check *c, const unsigned char **p,
                             const unsigned char *end, uint32_t *number, enum wire_type *wt)
{
    uint64_t tag;
    if (!read_varint(p, end, &tag) || tag > UINT32_MAX)
        return FAIL(c, "malformed tag");
    *number = (uint32_t)(tag >> 3);
    *wt = (enum wire_type)(tag & 7);
    if (*number == 0)
        return FAIL(c, "invalid tag (field number zero)");
    return EM_OK;
}

/* The fields of one piece of a message (m NULL: the contents of an unknown group) from *p
 * up to end, or (group > 0) up to the end-group tag of that number. */
static enum em_code check_fields(struct binary_check *c, const struct proto_message *m,
                                 const unsigned char **p, const unsigned char *end, uint32_t group,
                                 unsigned char *seen)
{
    enum em_code code = EM_OK;
    while (!code) {
        if (*p == end)
            return group ? FAIL(c, "group %u is not closed", group) : EM_OK;
        uint32_t number = 0;
        enum wire_type wt = WT_VARINT;
        if ((code = read_tag(c, p, end, &number, &wt)))
            return code;
        if (wt == WT_END_GROUP)
            return number == group ? EM_OK : FAIL(c, "unexpected end-group tag %u", number);
        const struct proto_field *f = m ? proto_field_by_number(m, (int32_t)number) : NULL;
        bool taken = false;
        c->path[c->depth++] = (struct path_step){f, number};
        code = f ? check_field(c, m, f, wt, number, p, end, &taken)
                 : skip_field(c, wt, number, p, end);
        c->depth--;
        if (!code && taken && f->required_bit >= 0)
            seen[f->required_bit / 8] |= (unsigned char)(1u << (f->required_bit % 8));
    }
    return code;
}

static int compare_pieces(const void *a, const void *b)
{
    const struct piece *x = a, *y = b;
    if (x->field != y->field)
        return x->field < y->field ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

/* The singular sub-messages collected in pieces[mark, npieces): each field's pieces
 * together, as the one message they merge into. */
static enum em_code check_collected(struct binary_check *c, const struct proto_message *m,
                                    size_t mark)
{
    size_t end = c->npieces;
    if (end - mark > 1)
        qsort(c->pieces + mark, end - mark, sizeof(*c->pieces), compare_pieces);
    enum em_code code = EM_OK;
    for (size_t i = mark; !code && i < end;) {
        size_t n = 1;
        while (i + n < end && c->pieces[i + n].field == c->pieces[i].field)
            n++;
        const struct proto_field *f = &m->fields[c->pieces[i].field];
        c->path[c->depth++] = (struct path_step){f, (uint32_t)f->number};
        code = enter_nested(c);
        if (!code)
            code = check_pieces(c, f->type, i, n);
        c->depth--;
        c->npieces = end;
        i += n;
    }
    return code;
}

static enum em_code check_required(struct binary_check *c, const struct proto_message *m,
                                   const unsigned char *seen)
{
    for (size_t i = 0; i < m->nfields; i++) {
        const struct proto_field *f = &m->fields[i];
        if (f->required_bit >= 0 && !(seen[f->required_bit / 8] & (1u << (f->required_bit % 8))))
            return FAIL(c, "missing required field \"%.*s\"",
                        (int)(f->name.n < 60 ? f->name.n : 60), f->name.s);
    }
    return EM_OK;
}

static bool all_bits_set(const unsigned char *bits, int n)
{
    for (int i = 0; i < n / 8; i++)
        if (bits[i] != 0xFF)
            return false;
    return n % 8 == 0 || bits[n / 8] == (1u << (n % 8)) - 1;
}

/* One message made of pieces[first, first + count). */
static enum em_code check_pieces(struct binary_check *c, int message, size_t first, size_t count)
{
    const struct proto_message *m = &c->schema->messages[message];
    unsigned char local[64] = {0};
    size_t bytes = ((size_t)m->nrequired + 7) / 8;
    unsigned char *seen = bytes > sizeof(local) ? calloc(bytes, 1) : local;
    if (!seen)
        return EM_FAIL_OOM(c->st);
    size_t mark = c->npieces;
    enum em_code code = EM_OK;
    for (size_t i = 0; !code && i < count; i++) {
        const unsigned char *p = c->pieces[first + i].body;
        code = check_fields(c, m, &p, p + c->pieces[first + i].len, 0, seen);
    }
    if (!code)
        code = check_collected(c, m, mark);
    c->npieces = mark;
    if (!code && m->nrequired && !all_bits_set(seen, m->nrequired))
        code = check_required(c, m, seen); /* names the first one missing */
    if (seen != local)
        free(seen);
    return code;
}

enum em_code ps_proto_check_binary(const struct ps_proto_schema *schema, const unsigned char *msg,
                                   size_t len, struct em_status *st)
{
    struct binary_check *c = calloc(1, sizeof(*c));
    if (!c)
        return EM_FAIL_OOM(st);
    c->schema = schema;
    c->st = st;
    enum em_code code;
    if (!push_piece(c, NULL, NULL, msg ? msg : (const unsigned char *)"", msg ? len : 0))
        code = EM_FAIL_OOM(st);
    else
        code = check_pieces(c, schema->root, 0, 1);
    free(c->pieces);
    free(c);
    return code;
}
