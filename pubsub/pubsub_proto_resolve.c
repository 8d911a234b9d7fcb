/*
 * pubsub_proto_resolve: turns the parsed tree into a checked schema, as protoc's
 * DescriptorBuilder would: names unique in their scope, type names resolved by protobuf's
 * scoping rules (innermost scope first, leading dot for fully qualified), field numbers
 * unique and outside reserved and extension ranges, reserved names unused, JSON names
 * distinct (proto3), enum rules (proto3 starts at zero, aliases only with allow_alias),
 * [packed] only on repeated primitives, proto2 defaults of the field's type. It then
 * builds what the validators look up: fields sorted by number, the JSON name index,
 * enum values by name and number, required-field bits.
 *
 * Every lookup is a binary search over a sorted array: a 300 KB definition with tens of
 * thousands of names resolves in n log n.
 */
#include "pubsub_proto_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_SHOWN 200

struct resolver {
    struct ps_proto_schema *schema;
    struct em_status *st;
    int *by_scope; /* node indexes sorted by (parent, name) */
};

#define FAIL_AT(r, line, ...) proto_fail_at((r)->st, __FILE__, __LINE__, (line), __VA_ARGS__)
#define SHOWN(str)            (int)((str).n < 60 ? (str).n : 60), (str).s

/* --- the scope index --- */

static int node_order(const struct ps_proto_schema *s, int a, int b)
{
    const struct proto_node *x = &s->nodes[a], *y = &s->nodes[b];
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    int c = proto_str_cmp(x->name, y->name);
    return c ? c : (a > b) - (a < b);
}

static int compare_nodes(const void *a, const void *b, void *schema)
{
    return node_order(schema, *(const int *)a, *(const int *)b);
}

static enum em_code build_scope_index(struct resolver *r)
{
    struct ps_proto_schema *s = r->schema;
    r->by_scope = malloc(s->nnodes * sizeof(*r->by_scope));
    if (!r->by_scope)
        return EM_FAIL_OOM(r->st);
    for (size_t i = 0; i < s->nnodes; i++)
        r->by_scope[i] = (int)i;
    qsort_r(r->by_scope, s->nnodes, sizeof(*r->by_scope), compare_nodes, s);
    for (size_t i = 1; i < s->nnodes; i++) {
        const struct proto_node *a = &s->nodes[r->by_scope[i - 1]], *b = &s->nodes[r->by_scope[i]];
        if (a->parent != b->parent || proto_str_cmp(a->name, b->name) != 0)
            continue;
        char scope[NAME_MAX_SHOWN];
        const struct proto_node *later = r->by_scope[i - 1] > r->by_scope[i] ? a : b;
        if (later->parent == 0)
            return FAIL_AT(r, later->line, "\"%.*s\" is already defined.", SHOWN(later->name));
        return FAIL_AT(r, later->line, "\"%.*s\" is already defined in \"%s\".%s",
                       SHOWN(later->name), proto_full_name(s, later->parent, scope, sizeof(scope)),
                       later->kind == PN_ENUM_VALUE ? " Enum values use C++ scoping rules: they "
                                                      "are siblings of their enum type."
                                                    : "");
    }
    return EM_OK;
}

static int find_child(const struct resolver *r, int parent, struct proto_str name)
{
    const struct ps_proto_schema *s = r->schema;
    size_t lo = 0, hi = s->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct proto_node *n = &s->nodes[r->by_scope[mid]];
        int c = n->parent != parent ? (n->parent < parent ? -1 : 1) : proto_str_cmp(n->name, name);
        if (c == 0)
            return r->by_scope[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static bool is_aggregate(enum proto_node_kind kind)
{
    return kind == PN_PACKAGE || kind == PN_MESSAGE || kind == PN_ENUM;
}

static bool is_type(enum proto_node_kind kind)
{
    return kind == PN_MESSAGE || kind == PN_ENUM;
}

/* The next dot-separated component of *rest, consumed. */
static struct proto_str take_component(struct proto_str *rest)
{
    const char *dot = memchr(rest->s, '.', rest->n);
    size_t n = dot ? (size_t)(dot - rest->s) : rest->n;
    struct proto_str part = {rest->s, n};
    rest->s += dot ? n + 1 : n;
    rest->n -= dot ? n + 1 : n;
    return part;
}

static int walk_components(const struct resolver *r, int node, struct proto_str rest)
{
    while (node >= 0 && rest.n)
        node = find_child(r, node, take_component(&rest));
    return node;
}

/* protobuf's rule: look the first component up from the innermost scope outwards; a
 * compound name continues from the first aggregate found (and fails there if the rest is
 * missing), a simple name needs a type. -1 when nothing is found. */
static int lookup_type(const struct resolver *r, int scope, struct proto_str name)
{
    if (name.n && name.s[0] == '.')
        return walk_components(r, 0, (struct proto_str){name.s + 1, name.n - 1});
    struct proto_str rest = name;
    struct proto_str first = take_component(&rest);
    for (int s = scope; s >= 0; s = r->schema->nodes[s].parent) {
        int found = find_child(r, s, first);
        if (found < 0)
            continue;
        enum proto_node_kind kind = r->schema->nodes[found].kind;
        if (rest.n && is_aggregate(kind))
            return walk_components(r, found, rest);
        if (!rest.n && is_type(kind))
            return found;
    }
    return -1;
}

static enum em_code resolve_field_type(struct resolver *r, struct proto_field *f)
{
    if (f->kind != PK_MESSAGE || f->type >= 0)
        return EM_OK;
    int node = lookup_type(r, f->scope, f->type_name);
    if (node < 0)
        return FAIL_AT(r, f->line, "\"%.*s\" is not defined.", SHOWN(f->type_name));
    const struct proto_node *n = &r->schema->nodes[node];
    if (!is_type(n->kind))
        return FAIL_AT(r, f->line, "\"%.*s\" is not a type.", SHOWN(f->type_name));
    f->kind = n->kind == PN_ENUM ? PK_ENUM : PK_MESSAGE;
    f->type = n->index;
    return EM_OK;
}

/* --- ranges and names --- */

/* qsort, which may not be given NULL even for nothing to sort. */
static void sort_items(void *items, size_t n, size_t size,
                       int (*compare)(const void *, const void *))
{
    if (n > 1)
        qsort(items, n, size, compare);
}

static int compare_ranges(const void *a, const void *b)
{
    const struct proto_range *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static int compare_strs(const void *a, const void *b)
{
    return proto_str_cmp(*(const struct proto_str *)a, *(const struct proto_str *)b);
}

/* Sorts ranges and fails when two overlap. */
static enum em_code sort_ranges(struct resolver *r, struct proto_range *ranges, size_t n,
                                const char *what)
{
    sort_items(ranges, n, sizeof(*ranges), compare_ranges);
    for (size_t i = 1; i < n; i++)
        if (ranges[i].start <= ranges[i - 1].end)
            return FAIL_AT(r, ranges[i].line,
                           "%s range %lld to %lld overlaps with already-defined range %lld to "
                           "%lld.",
                           what, (long long)ranges[i].start, (long long)ranges[i].end,
                           (long long)ranges[i - 1].start, (long long)ranges[i - 1].end);
    return EM_OK;
}

/* The sorted, disjoint range holding v, or NULL. */
static const struct proto_range *range_holding(const struct proto_range *ranges, size_t n,
                                               int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first range starting after v */
        size_t mid = lo + (hi - lo) / 2;
        if (ranges[mid].start <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ranges[lo - 1].end >= v ? &ranges[lo - 1] : NULL;
}

static bool name_listed(const struct proto_str *sorted, size_t n, struct proto_str name)
{
    return n && bsearch(&name, sorted, n, sizeof(*sorted), compare_strs) != NULL;
}

/* --- messages --- */

static int compare_fields(const void *a, const void *b)
{
    const struct proto_field *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int compare_names(const void *a, const void *b)
{
    const struct proto_name *x = a, *y = b;
    int c = proto_str_cmp(x->name, y->name);
    return c ? c : (x->field > y->field) - (x->field < y->field);
}

/* lowerCamelCase as protoc computes a JSON name: drop '_', upper-case the next letter. */
static enum em_code default_json_name(struct resolver *r, struct proto_field *f)
{
    char *out = proto_arena_alloc(r->schema, f->name.n ? f->name.n : 1);
    if (!out)
        return EM_FAIL_OOM(r->st);
    size_t n = 0;
    bool upper = false;
    for (size_t i = 0; i < f->name.n; i++) {
        char c = f->name.s[i];
        if (c == '_') {
            upper = true;
            continue;
        }
        out[n++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        upper = false;
    }
    f->json_name = (struct proto_str){out, n};
    return EM_OK;
}

static enum em_code check_field_numbers(struct resolver *r, struct proto_message *m)
{
    char scope[NAME_MAX_SHOWN];
    for (size_t i = 0; i < m->nfields; i++) {
        const struct proto_field *f = &m->fields[i];
        if (i > 0 && f->number == m->fields[i - 1].number)
            return FAIL_AT(r, f->line,
                           "Field number %d has already been used in \"%s\" by field \"%.*s\".",
                           f->number, proto_full_name(r->schema, m->node, scope, sizeof(scope)),
                           SHOWN(m->fields[i - 1].name));
        if (range_holding(m->reserved, m->nreserved, f->number))
            return FAIL_AT(r, f->line, "Field \"%.*s\" uses reserved number %d.", SHOWN(f->name),
                           f->number);
        const struct proto_range *ext = range_holding(m->extensions, m->nextensions, f->number);
        if (ext)
            return FAIL_AT(r, ext->line,
                           "Extension range %lld to %lld includes field \"%.*s\" (%d).",
                           (long long)ext->start, (long long)ext->end, SHOWN(f->name), f->number);
        if (name_listed(m->reserved_names, m->nreserved_names, f->name))
            return FAIL_AT(r, f->line, "Field name \"%.*s\" is reserved.", SHOWN(f->name));
    }
    for (size_t i = 0; i < m->nextensions; i++)
        if (range_holding(m->reserved, m->nreserved, m->extensions[i].start) ||
            range_holding(m->reserved, m->nreserved, m->extensions[i].end))
            return FAIL_AT(r, m->extensions[i].line,
                           "Extension range %lld to %lld overlaps with a "
                           "reserved range.",
                           (long long)m->extensions[i].start, (long long)m->extensions[i].end);
    return EM_OK;
}

/* The JSON name index: each field's name, and its JSON name when different. */
static enum em_code build_name_index(struct resolver *r, struct proto_message *m)
{
    m->names = malloc((2 * m->nfields + 1) * sizeof(*m->names));
    if (!m->names)
        return EM_FAIL_OOM(r->st);
    for (size_t i = 0; i < m->nfields; i++) {
        const struct proto_field *f = &m->fields[i];
        m->names[m->nnames++] = (struct proto_name){f->name, (int)i};
        if (proto_str_cmp(f->name, f->json_name) != 0)
            m->names[m->nnames++] = (struct proto_name){f->json_name, (int)i};
    }
    sort_items(m->names, m->nnames, sizeof(*m->names), compare_names);
    if (!r->schema->proto3 || m->map_entry)
        return EM_OK;
    for (size_t i = 1; i < m->nnames; i++) { /* proto3: one field per JSON name */
        const struct proto_name *a = &m->names[i - 1], *b = &m->names[i];
        if (proto_str_cmp(a->name, b->name) == 0 && a->field != b->field) {
            const struct proto_field *later = &m->fields[a->field];
            if (later->line < m->fields[b->field].line)
                later = &m->fields[b->field];
            return FAIL_AT(r, later->line,
                           "The JSON name \"%.*s\" of field \"%.*s\" conflicts "
                           "with another field. This is not allowed in proto3.",
                           SHOWN(a->name), SHOWN(later->name));
        }
    }
    return EM_OK;
}

static bool packable(enum proto_kind kind)
{
    return kind != PK_STRING && kind != PK_BYTES && kind != PK_MESSAGE;
}

static enum em_code check_default(struct resolver *r, const struct proto_field *f);

static enum em_code resolve_message(struct resolver *r, struct proto_message *m)
{
    enum em_code code;
    for (size_t i = 0; i < m->nfields; i++) {
        struct proto_field *f = &m->fields[i];
        if ((code = resolve_field_type(r, f)))
            return code;
        if (f->packed && (f->label != PL_REPEATED || !packable(f->kind) || f->map))
            return FAIL_AT(r, f->line,
                           "[packed = true] can only be specified for repeated "
                           "primitive fields.");
        if (f->has_default && (code = check_default(r, f)))
            return code;
        if (!f->json_name.s && (code = default_json_name(r, f)))
            return code;
    }
    sort_items(m->fields, m->nfields, sizeof(*m->fields), compare_fields);
    if ((code = sort_ranges(r, m->reserved, m->nreserved, "Reserved")) ||
        (code = sort_ranges(r, m->extensions, m->nextensions, "Extension")))
        return code;
    sort_items(m->reserved_names, m->nreserved_names, sizeof(*m->reserved_names), compare_strs);
    if ((code = check_field_numbers(r, m)))
        return code;
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].label == PL_REQUIRED)
            m->fields[i].required_bit = m->nrequired++;
    return build_name_index(r, m);
}

/* --- proto2 defaults --- */

static bool default_integer(const struct proto_default *d, uint64_t *magnitude)
{
    if (d->token != PT_INT)
        return false;
    const char *p = d->text.s, *end = p + d->text.n;
    unsigned base = 10;
    if (d->text.n > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (d->text.n > 1 && p[0] == '0')
        base = 8;
    uint64_t v = 0;
    for (; p < end; p++) {
        unsigned digit = (unsigned)(*p >= 'a'   ? *p - 'a' + 10
                                    : *p >= 'A' ? *p - 'A' + 10
                                                : *p - '0');
        if (digit >= base || v > (UINT64_MAX - digit) / base)
            return false;
        v = v * base + digit;
    }
    *magnitude = v;
    return true;
}

static bool default_fits(const struct proto_field *f)
{
    const struct proto_default *d = &f->default_value;
    uint64_t v;
    switch (f->kind) {
    case PK_INT32:
    case PK_SINT32:
    case PK_SFIXED32:
        return default_integer(d, &v) && v <= (uint64_t)INT32_MAX + d->negative;
    case PK_INT64:
    case PK_SINT64:
    case PK_SFIXED64:
        return default_integer(d, &v) && v <= (uint64_t)INT64_MAX + d->negative;
    case PK_UINT32:
    case PK_FIXED32:
        return default_integer(d, &v) && !d->negative && v <= UINT32_MAX;
    case PK_UINT64:
    case PK_FIXED64:
        return default_integer(d, &v) && !d->negative;
    case PK_FLOAT:
    case PK_DOUBLE:
        return d->token == PT_INT || d->token == PT_FLOAT ||
               (d->token == PT_IDENT &&
                (proto_str_eq(d->text, "inf") || proto_str_eq(d->text, "nan")));
    case PK_BOOL:
        return d->token == PT_IDENT && !d->negative &&
               (proto_str_eq(d->text, "true") || proto_str_eq(d->text, "false"));
    case PK_STRING:
    case PK_BYTES:
        return d->token == PT_STRING;
    default:
        return false;
    }
}

static enum em_code check_default(struct resolver *r, const struct proto_field *f)
{
    const struct proto_default *d = &f->default_value;
    if (f->label == PL_REPEATED)
        return FAIL_AT(r, d->line, "Repeated fields can't have default values.");
    if (f->kind == PK_MESSAGE)
        return FAIL_AT(r, d->line, "Messages can't have default values.");
    if (f->kind == PK_ENUM) {
        const struct proto_enum *e = &r->schema->enums[f->type];
        for (size_t i = 0; d->token == PT_IDENT && !d->negative && i < e->nvalues; i++)
            if (proto_str_cmp(e->values[i].name, d->text) == 0)
                return EM_OK;
        return FAIL_AT(r, d->line,
                       "Default value for an enum field must be an identifier "
                       "naming one of its values.");
    }
    if (!default_fits(f))
        return FAIL_AT(r, d->line, "Invalid default value for field \"%.*s\".", SHOWN(f->name));
    return EM_OK;
}

/* --- enums --- */

static int compare_values_by_number(const void *a, const void *b)
{
    const struct proto_enum_value *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int compare_values_by_name(const void *a, const void *b)
{
    const struct proto_enum_value *x = a, *y = b;
    return proto_str_cmp(x->name, y->name);
}

static enum em_code check_enum_values(struct resolver *r, struct proto_enum *e)
{
    bool aliased = false;
    for (size_t i = 0; i < e->nvalues; i++) {
        const struct proto_enum_value *v = &e->values[i];
        if (range_holding(e->reserved, e->nreserved, v->number))
            return FAIL_AT(r, v->line, "Enum value \"%.*s\" uses reserved number %d.",
                           SHOWN(v->name), v->number);
        if (name_listed(e->reserved_names, e->nreserved_names, v->name))
            return FAIL_AT(r, v->line, "Enum value \"%.*s\" is reserved.", SHOWN(v->name));
        if (i == 0 || v->number != e->values[i - 1].number)
            continue;
        aliased = true;
        if (!e->allow_alias)
            return FAIL_AT(r, v->line,
                           "\"%.*s\" uses the same enum value as \"%.*s\". If this is "
                           "intended, set 'option allow_alias = true;' to the enum "
                           "definition.",
                           SHOWN(v->name), SHOWN(e->values[i - 1].name));
    }
    if (e->allow_alias && !aliased) {
        char name[NAME_MAX_SHOWN];
        return FAIL_AT(r, r->schema->nodes[e->node].line,
                       "\"%s\" declares support for enum aliases but no enum values share field "
                       "numbers. Please remove the unnecessary 'option allow_alias = true;' "
                       "declaration.",
                       proto_full_name(r->schema, e->node, name, sizeof(name)));
    }
    return EM_OK;
}

static enum em_code resolve_enum(struct resolver *r, struct proto_enum *e)
{
    if (r->schema->proto3 && e->values[0].number != 0)
        return FAIL_AT(r, e->values[0].line, "The first enum value must be zero in proto3.");
    enum em_code code = sort_ranges(r, e->reserved, e->nreserved, "Reserved");
    if (code)
        return code;
    sort_items(e->reserved_names, e->nreserved_names, sizeof(*e->reserved_names), compare_strs);
    sort_items(e->values, e->nvalues, sizeof(*e->values), compare_values_by_number);
    if ((code = check_enum_values(r, e)))
        return code;
    e->numbers = malloc(e->nvalues * sizeof(*e->numbers));
    if (!e->numbers)
        return EM_FAIL_OOM(r->st);
    for (size_t i = 0; i < e->nvalues; i++)
        if (i == 0 || e->values[i].number != e->values[i - 1].number)
            e->numbers[e->nnumbers++] = e->values[i].number;
    sort_items(e->values, e->nvalues, sizeof(*e->values), compare_values_by_name);
    return EM_OK;
}

enum em_code proto_resolve(struct ps_proto_schema *schema, struct em_status *st)
{
    struct resolver r = {.schema = schema, .st = st};
    enum em_code code = build_scope_index(&r);
    for (size_t i = 0; !code && i < schema->nenums; i++)
        code = resolve_enum(&r, &schema->enums[i]);
    for (size_t i = 0; !code && i < schema->nmessages; i++)
        code = resolve_message(&r, &schema->messages[i]);
    free(r.by_scope);
    return code;
}
