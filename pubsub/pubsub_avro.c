/*
 * pubsub_avro: the Avro schema parser and message validator behind Pub/Sub schemas of type
 * AVRO (https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.schemas, Avro 1.11
 * specification: https://avro.apache.org/docs/1.11.1/specification/). Its files:
 *   pubsub_avro.c         this comment, which tells the behaviour of them all; the helpers
 *                         they share; the state and errors of checking a message; the entry
 *                         points ps_avro_check_json and ps_avro_check_binary
 *   pubsub_avro_schema.c  ps_avro_parse and ps_avro_free: schemas and their field defaults
 *   pubsub_avro_json.c    messages in the JSON encoding
 *   pubsub_avro_binary.c  messages in the binary encoding
 *   pubsub_avro_parts.h   the tree and the checking state, private to these files
 *
 * It owns the parsed tree: every node sits in one list of the schema and is freed with it;
 * references to named types point at the defining node, so recursive records are cycles.
 * After ps_avro_parse the tree is never written, and checking keeps its state on the stack.
 *
 * Schemas (parsed with cJSON, then walked with a depth bound):
 *   - names match [A-Za-z_][A-Za-z0-9_]*, namespaces are dotted names (the emulator's Avro
 *     library does not check namespaces nor field aliases; we follow the specification);
 *     fullnames resolve in the enclosing namespace first, then in the null namespace;
 *     "error" is read as "record", as the Avro library does.
 *   - duplicate fields, symbols, type names and union branches are errors, and so are
 *     nested unions and unknown type names.
 *   - field defaults are checked against their types once the whole schema is read (a
 *     union default matches its first branch; "NaN" and "Infinity" pass for float and
 *     double, as in the Avro library). Stricter than that library: enum defaults must be
 *     symbols, bytes defaults code points 0-255, fixed defaults exactly size long.
 *   - logical types are recorded when valid; an invalid one is ignored, as the
 *     specification says. They never change what a message must look like.
 *
 * JSON encoding, strict JSON (RFC 8259) read without building a tree:
 *   - a record must carry every field, defaults or not (the emulator agrees); members not
 *     in the schema are skipped (so does the emulator); a repeated member is checked again.
 *   - a union value is null or {"<branch>": value} with the fullname of a named branch or
 *     the type name of the others, and exactly one member (the emulator ignores extras).
 *   - int and long must be integers in range, read from the number's text: 1e3 and 1.0
 *     pass, 1.5 does not (the emulator truncates it).
 *   - bytes and fixed are strings of code points 0-255 (the emulator replaces larger ones
 *     with '?'); the message must be UTF-8 and one JSON value with nothing after it.
 * Binary encoding:
 *   - every byte is consumed (the emulator ignores trailing bytes); an int takes at most 5
 *     bytes and must fit 32 bits, a long at most 10; booleans are the bytes 0 or 1; strings
 *     must be UTF-8 (NUL allowed); union and enum indexes are ints in range; a negative block
 *     count comes with a byte size that must match the items (the emulator ignores it).
 * Hostile messages: records, arrays and maps nest at most PS_AVRO_MAX_DEPTH deep, and one
 * message visits at most VALUE_BUDGET_BASE + 8 * length values (2^20 + 8 per byte), so huge
 * block counts of empty items (null, empty records) end within milliseconds. (The emulator
 * accepts 2^24 nulls in a 5-byte array and refuses 2^31; we refuse beyond the budget.)
 */
#include "pubsub_avro.h"
#include "pubsub_avro_parts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_BUDGET_BASE ((uint64_t)1 << 20)
#define PATH_TEXT_MAX     160

const char *const avro_kind_names[] = {"null",   "boolean", "int",    "long",   "float",
                                       "double", "bytes",   "string", "record", "enum",
                                       "array",  "map",     "union",  "fixed"};

/* ---- shared helpers ---- */

/* The name a union branch goes by in the JSON encoding. */
const char *avro_branch_name(const struct avro_node *n)
{
    return n->fullname ? n->fullname : avro_kind_names[n->kind];
}

/* "record \"ns.R\"", "int" ...: what a node expects, for messages. */
const char *avro_describe(const struct avro_node *n, char *buf, size_t cap)
{
    if (!n->fullname)
        return avro_kind_names[n->kind];
    snprintf(buf, cap, "%s \"%.100s\"", avro_kind_names[n->kind], n->fullname);
    return buf;
}

static int slot_compare(const void *a, const void *b)
{
    const struct avro_name_slot *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts names into n->by_name; returns the first duplicate, or NULL. Sets *oom on failure. */
const char *avro_index_names(struct avro_node *n,
                             const char *(*name_of)(const struct avro_node *, size_t), bool *oom)
{
    *oom = false;
    n->by_name = calloc(n->count ? n->count : 1, sizeof(*n->by_name));
    if (!n->by_name) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n->count; i++) {
        const char *name = name_of(n, i);
        n->by_name[i] = (struct avro_name_slot){name, strlen(name), i};
    }
    qsort(n->by_name, n->count, sizeof(*n->by_name), slot_compare);
    for (size_t i = 1; i < n->count; i++)
        if (slot_compare(&n->by_name[i - 1], &n->by_name[i]) == 0)
            return n->by_name[i].name;
    return NULL;
}

/* The position of key among n's names, or -1. */
long avro_find_name(const struct avro_node *n, const char *key, size_t len)
{
    struct avro_name_slot probe = {key, len, 0};
    const struct avro_name_slot *hit =
        bsearch(&probe, n->by_name, n->count, sizeof(*n->by_name), slot_compare);
    return hit ? (long)hit->pos : -1;
}

/* ---- message checking, shared by both encodings ---- */

static void path_text(const struct avro_check *c, char *out, size_t cap)
{
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; i < c->steps && len < sizeof(buf); i++) {
        const struct avro_path_step *s = &c->path[i];
        if (s->field && !*s->field)
            continue;
        int n = s->field ? snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "." : "", s->field)
                         : snprintf(buf + len, sizeof(buf) - len, "[%zu]", s->index);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len == 0)
        snprintf(out, cap, "the top level");
    else if (len < cap)
        memcpy(out, buf, len + 1);
    else /* keep the innermost part */
        snprintf(out, cap, "...%s", buf + (len < sizeof(buf) ? len : sizeof(buf) - 1) - (cap - 4));
}

__attribute__((format(printf, 2, 3))) enum em_code avro_check_fail(struct avro_check *c,
                                                                   const char *fmt, ...)
{
    char detail[AVRO_DETAIL_TEXT_MAX], path[PATH_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    path_text(c, path, sizeof(path));
    return EM_FAIL(c->st, EM_INVALID_ARGUMENT,
                   "Invalid Avro message (%s encoding) at %s: %s (byte offset %zu).", c->encoding,
                   path, detail, (size_t)(c->p - c->start));
}

/* Opens a record (first_field "") or an array or map (NULL): one more path step, within the
 * depth bound. */
enum em_code avro_enter(struct avro_check *c, const char *first_field)
{
    if (c->depth >= PS_AVRO_MAX_DEPTH)
        return avro_check_fail(c, "values nest deeper than %d levels", PS_AVRO_MAX_DEPTH);
    c->depth++;
    c->path[c->steps++] = (struct avro_path_step){first_field, 0};
    return EM_OK;
}

void avro_leave(struct avro_check *c)
{
    c->depth--;
    c->steps--;
}

enum em_code avro_spend(struct avro_check *c)
{
    if (c->budget == 0)
        return avro_check_fail(c, "the message holds too many values");
    c->budget--;
    return EM_OK;
}

/* ---- entry points ---- */

static void check_init(struct avro_check *c, const unsigned char *msg, size_t len,
                       const char *encoding, struct em_status *st)
{
    memset(c, 0, sizeof(*c));
    c->start = c->p = msg;
    c->end = msg ? msg + len : msg; /* an empty message's data may be NULL: NULL + 0 is UB */
    c->st = st;
    c->encoding = encoding;
    c->budget = VALUE_BUDGET_BASE + 8 * (uint64_t)len;
}

enum em_code ps_avro_check_json(const struct ps_avro_schema *schema, const unsigned char *msg,
                                size_t len, struct em_status *st)
{
    struct avro_check c;
    check_init(&c, msg, len, "JSON", st);
    enum em_code code = avro_json_datum(&c, schema->root);
    free(c.scratch);
    return code;
}

enum em_code ps_avro_check_binary(const struct ps_avro_schema *schema, const unsigned char *msg,
                                  size_t len, struct em_status *st)
{
    struct avro_check c;
    check_init(&c, msg, len, "binary", st);
    return avro_binary_datum(&c, schema->root);
}
