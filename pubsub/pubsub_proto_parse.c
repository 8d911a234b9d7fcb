/*
 * pubsub_proto_parse: the recursive-descent parser of a .proto definition
 * (https://protobuf.dev/reference/protobuf/proto2-spec/ and proto3-spec/), building the
 * scope tree of pubsub_proto_parts.h from the tokens of pubsub_proto_lex.c;
 * pubsub_proto_resolve.c then resolves and checks it.
 *
 * Taken: comments, syntax (first statement; none means proto2), package, option (values
 * ignored, aggregates included, except json_name, default and packed on fields and
 * allow_alias on enums), message, enum, oneof, map<K, V>, reserved, extensions (proto2),
 * service (skipped: it defines no type). Refused with a clear message: import (Google:
 * "Import statements that reference other types are not supported"), edition, extend,
 * group (proto2 groups: deprecated, and without them the schema model stays flat), custom
 * options "(name)" (defined by extensions of descriptor.proto, which needs an import).
 * Messages nest at most PROTO_DEFINITION_DEPTH_MAX deep, as protoc allows; aggregate
 * option values are skipped by counting braces, without recursion.
 */
#include "pubsub_proto_parts.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_AT(ps, line, ...) proto_fail_at((ps)->st, __FILE__, __LINE__, (line), __VA_ARGS__)
#define FAIL(ps, ...)          FAIL_AT((ps), (ps)->tok.line, __VA_ARGS__)
/* a token in a message: at most 60 characters of it */
#define TOK_SHOWN(t) (int)((t).n < 60 ? (t).n : 60), (t).s

/* --- the tree --- */

static int add_node(struct proto_parser *ps, struct proto_str name, int parent,
                    enum proto_node_kind kind, int index, int line)
{
    struct ps_proto_schema *s = ps->schema;
    if (!proto_grow((void **)&s->nodes, &s->nodes_cap, s->nnodes, sizeof(*s->nodes)))
        return -1;
    s->nodes[s->nnodes] = (struct proto_node){
        .name = name, .parent = parent, .kind = kind, .index = index, .line = line};
    return (int)s->nnodes++;
}

static int add_message(struct proto_parser *ps, struct proto_str name, int parent, int line)
{
    struct ps_proto_schema *s = ps->schema;
    if (!proto_grow((void **)&s->messages, &s->messages_cap, s->nmessages, sizeof(*s->messages)))
        return -1;
    int node = add_node(ps, name, parent, PN_MESSAGE, (int)s->nmessages, line);
    if (node < 0)
        return -1;
    s->messages[s->nmessages] = (struct proto_message){.node = node};
    return (int)s->nmessages++;
}

static struct proto_field *add_field(struct proto_parser *ps, int message)
{
    struct proto_message *m = &ps->schema->messages[message];
    if (!proto_grow((void **)&m->fields, &m->fields_cap, m->nfields, sizeof(*m->fields)))
        return NULL;
    struct proto_field *f = &m->fields[m->nfields++];
    *f = (struct proto_field){.type = -1, .oneof = -1, .required_bit = -1, .scope = m->node};
    return f;
}

/* --- options --- */

/* Skips an aggregate value { ... } by counting braces. */
static enum em_code skip_aggregate(struct proto_parser *ps)
{
    int line = ps->tok.line;
    size_t open = 0;
    do {
        if (ps->tok.kind == PT_END)
            return FAIL_AT(ps, line, "Unterminated aggregate option value.");
        if (proto_tok_is(ps, "{"))
            open++;
        else if (proto_tok_is(ps, "}"))
            open--;
        enum em_code code = proto_next_token(ps);
        if (code)
            return code;
    } while (open > 0);
    return EM_OK;
}

/* name ( "." name )*; *simple is the name when it is a single identifier, else empty.
 * A custom option "(my.option)" is refused: it needs the import of its definition. */
static enum em_code parse_option_name(struct proto_parser *ps, struct proto_str *simple)
{
    enum em_code code;
    if (proto_tok_is(ps, "("))
        return FAIL(ps, "Custom options are not supported in a Pub/Sub schema: they need an "
                        "import.");
    if ((code = proto_expect_ident(ps, "option name", simple)))
        return code;
    while (!code && proto_tok_is(ps, ".")) {
        *simple = (struct proto_str){NULL, 0};
        struct proto_str part;
        if (!(code = proto_next_token(ps)))
            code = proto_expect_ident(ps, "option name", &part);
    }
    return code;
}

/* The value after "=": identifier, signed number, string(s) or aggregate. */
static enum em_code parse_option_value(struct proto_parser *ps, struct proto_default *value)
{
    *value = (struct proto_default){.line = ps->tok.line};
    if (proto_tok_is(ps, "{"))
        return skip_aggregate(ps);
    if (proto_tok_is(ps, "-") || proto_tok_is(ps, "+")) {
        value->negative = proto_tok_is(ps, "-");
        enum em_code code = proto_next_token(ps);
        if (code)
            return code;
        if (ps->tok.kind != PT_INT && ps->tok.kind != PT_FLOAT && ps->tok.kind != PT_IDENT)
            return FAIL(ps, "Expected number.");
    }
    value->token = ps->tok.kind;
    if (ps->tok.kind == PT_STRING)
        return proto_parse_string(ps, &value->text);
    if (ps->tok.kind != PT_IDENT && ps->tok.kind != PT_INT && ps->tok.kind != PT_FLOAT)
        return FAIL(ps, "Expected option value.");
    value->text = proto_tok_str(ps);
    return proto_next_token(ps);
}

static enum em_code apply_field_option(struct proto_parser *ps, struct proto_field *f,
                                       struct proto_str name, const struct proto_default *value)
{
    if (proto_str_eq(name, "json_name")) {
        if (value->token != PT_STRING)
            return FAIL_AT(ps, value->line,
                           "Value must be quoted string for string option \"json_name\".");
        f->json_name = value->text;
    } else if (proto_str_eq(name, "default")) {
        if (ps->schema->proto3)
            return FAIL_AT(ps, value->line, "Explicit default values are not allowed in proto3.");
        if (f->has_default)
            return FAIL_AT(ps, value->line, "Already set option \"default\".");
        f->has_default = true;
        f->default_value = *value;
    } else if (proto_str_eq(name, "packed")) {
        f->packed = true; /* checked once the type is known: an enum may be packed */
    }
    return EM_OK;
}

/* [ name = value, ... ]: f is NULL for options of enum values and extension ranges. */
static enum em_code parse_bracket_options(struct proto_parser *ps, struct proto_field *f)
{
    if (!proto_tok_is(ps, "["))
        return EM_OK;
    do {
        struct proto_str name;
        struct proto_default value;
        enum em_code code;
        if ((code = proto_next_token(ps)) || (code = parse_option_name(ps, &name)) ||
            (code = proto_expect(ps, "=")) || (code = parse_option_value(ps, &value)))
            return code;
        if (f && name.n && (code = apply_field_option(ps, f, name, &value)))
            return code;
    } while (proto_tok_is(ps, ","));
    return proto_expect(ps, "]");
}

/* option name = value ; -- *name and *value let the caller honour what it knows. */
static enum em_code parse_option_statement(struct proto_parser *ps, struct proto_str *name,
                                           struct proto_default *value)
{
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = parse_option_name(ps, name)) ||
        (code = proto_expect(ps, "=")) || (code = parse_option_value(ps, value)))
        return code;
    return proto_expect(ps, ";");
}

/* --- fields --- */

static const struct {
    const char *name;
    enum proto_kind kind;
} scalar_types[] = {
    {"double", PK_DOUBLE},     {"float", PK_FLOAT},   {"int64", PK_INT64},
    {"uint64", PK_UINT64},     {"int32", PK_INT32},   {"fixed64", PK_FIXED64},
    {"fixed32", PK_FIXED32},   {"bool", PK_BOOL},     {"string", PK_STRING},
    {"bytes", PK_BYTES},       {"uint32", PK_UINT32}, {"sfixed32", PK_SFIXED32},
    {"sfixed64", PK_SFIXED64}, {"sint32", PK_SINT32}, {"sint64", PK_SINT64},
};

static enum proto_kind scalar_kind(struct proto_str name)
{
    for (size_t i = 0; i < sizeof(scalar_types) / sizeof(scalar_types[0]); i++)
        if (proto_str_eq(name, scalar_types[i].name))
            return scalar_types[i].kind;
    return PK_NONE;
}

/* A scalar keyword, or a type name ".a.b.C" / "b.C" kept for resolution. */
static enum em_code parse_type(struct proto_parser *ps, enum proto_kind *kind,
                               struct proto_str *name)
{
    const char *start = ps->tok.s;
    enum em_code code;
    if (proto_tok_is(ps, ".") && (code = proto_next_token(ps)))
        return code;
    if (ps->tok.kind != PT_IDENT)
        return FAIL(ps, "Expected type name.");
    *kind = start == ps->tok.s ? scalar_kind(proto_tok_str(ps)) : PK_NONE;
    const char *last = ps->tok.s + ps->tok.n;
    if ((code = proto_next_token(ps)))
        return code;
    if (*kind != PK_NONE) {
        *name = (struct proto_str){start, (size_t)(last - start)};
        return EM_OK;
    }
    while (proto_tok_is(ps, ".")) {
        if ((code = proto_next_token(ps)))
            return code;
        if (ps->tok.kind != PT_IDENT)
            return FAIL(ps, "Expected identifier.");
        last = ps->tok.s + ps->tok.n;
        if ((code = proto_next_token(ps)))
            return code;
    }
    *kind = PK_MESSAGE; /* or an enum: resolution tells */
    *name = (struct proto_str){start, (size_t)(last - start)};
    return EM_OK;
}

static enum em_code parse_field_number(struct proto_parser *ps, int32_t *out)
{
    int line = ps->tok.line;
    int64_t v;
    enum em_code code = proto_parse_int(ps, INT32_MIN, INT32_MAX, &v);
    if (code)
        return code;
    if (v <= 0)
        return FAIL_AT(ps, line, "Field numbers must be positive integers.");
    if (v > PROTO_FIELD_NUMBER_MAX)
        return FAIL_AT(ps, line, "Field numbers cannot be greater than %d.",
                       PROTO_FIELD_NUMBER_MAX);
    if (v >= 19000 && v <= 19999)
        return FAIL_AT(ps, line,
                       "Field numbers 19000 through 19999 are reserved for the protocol buffer "
                       "library implementation.");
    *out = (int32_t)v;
    return EM_OK;
}

/* name = number [options] ; after the label and type. */
static enum em_code parse_field_tail(struct proto_parser *ps, int message, struct proto_field *f)
{
    enum em_code code;
    f->line = ps->tok.line;
    if ((code = proto_expect_ident(ps, "field name", &f->name)) || (code = proto_expect(ps, "=")) ||
        (code = parse_field_number(ps, &f->number)) || (code = parse_bracket_options(ps, f)) ||
        (code = proto_expect(ps, ";")))
        return code;
    if (add_node(ps, f->name, ps->schema->messages[message].node, PN_FIELD, -1, f->line) < 0)
        return EM_FAIL_OOM(ps->st);
    return EM_OK;
}

/* "FooBarEntry" for the map field foo_bar, as protoc names the entry type. */
static struct proto_str map_entry_name(struct proto_parser *ps, struct proto_str field)
{
    char *out = proto_arena_alloc(ps->schema, field.n + 6);
    if (!out)
        return (struct proto_str){NULL, 0};
    size_t n = 0;
    bool upper = true;
    for (size_t i = 0; i < field.n; i++) {
        char c = field.s[i];
        if (c == '_') {
            upper = true;
            continue;
        }
        out[n++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
        upper = false;
    }
    memcpy(out + n, "Entry", 5);
    return (struct proto_str){out, n + 5};
}

static bool valid_map_key(enum proto_kind kind)
{
    return kind != PK_NONE && kind != PK_DOUBLE && kind != PK_FLOAT && kind != PK_BYTES &&
           kind != PK_MESSAGE && kind != PK_ENUM;
}

/* map < K , V > name = number [options] ; -- a repeated field of a synthetic entry message
 * { K key = 1; V value = 2; }. */
static enum em_code parse_map_field(struct proto_parser *ps, int message)
{
    int line = ps->tok.line;
    enum proto_kind key_kind, value_kind;
    struct proto_str key_name, value_name;
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = proto_expect(ps, "<")) ||
        (code = parse_type(ps, &key_kind, &key_name)))
        return code;
    if (!valid_map_key(key_kind))
        return FAIL_AT(ps, line,
                       "Key in map fields cannot be float/double, bytes or message types.");
    if ((code = proto_expect(ps, ",")) || (code = parse_type(ps, &value_kind, &value_name)) ||
        (code = proto_expect(ps, ">")))
        return code;
    struct proto_field *f = add_field(ps, message);
    if (!f)
        return EM_FAIL_OOM(ps->st);
    f->label = PL_REPEATED;
    f->kind = PK_MESSAGE;
    f->map = true;
    if ((code = parse_field_tail(ps, message, f)))
        return code;
    struct proto_str entry_name = map_entry_name(ps, f->name);
    int entry =
        entry_name.s ? add_message(ps, entry_name, ps->schema->messages[message].node, line) : -1;
    if (entry < 0)
        return EM_FAIL_OOM(ps->st);
    /* f may have moved when messages grew: find it again */
    struct proto_message *m = &ps->schema->messages[message];
    m->fields[m->nfields - 1].type = entry;
    ps->schema->messages[entry].map_entry = true;
    struct proto_field *key = add_field(ps, entry), *value = key ? add_field(ps, entry) : NULL;
    if (!value)
        return EM_FAIL_OOM(ps->st);
    key = &ps->schema->messages[entry].fields[0];
    *key = (struct proto_field){.name = {"key", 3},
                                .number = 1,
                                .kind = key_kind,
                                .label = PL_OPTIONAL,
                                .type = -1,
                                .oneof = -1,
                                .required_bit = -1,
                                .line = line};
    value->name = (struct proto_str){"value", 5};
    value->number = 2;
    value->kind = value_kind;
    value->type_name = value_name;
    value->scope = m->node; /* the value type resolves from the map field's message */
    value->label = PL_OPTIONAL;
    value->line = line;
    return EM_OK;
}

static enum em_code parse_label(struct proto_parser *ps, enum proto_label *label)
{
    bool proto3 = ps->schema->proto3;
    *label = PL_SINGULAR;
    if (proto_tok_is(ps, "required")) {
        if (proto3)
            return FAIL(ps, "Required fields are not allowed in proto3.");
        *label = PL_REQUIRED;
    } else if (proto_tok_is(ps, "optional")) {
        *label = PL_OPTIONAL;
    } else if (proto_tok_is(ps, "repeated")) {
        *label = PL_REPEATED;
    } else if (!proto3 && !proto_tok_is(ps, "map")) {
        return FAIL(ps, "Expected \"required\", \"optional\", or \"repeated\".");
    } else {
        return EM_OK;
    }
    return proto_next_token(ps);
}

/* A field of a message, or of one of its oneofs (oneof >= 0: no label allowed). */
static enum em_code parse_field(struct proto_parser *ps, int message, int oneof)
{
    enum proto_label label = PL_SINGULAR;
    enum em_code code;
    if (oneof >= 0 && (proto_tok_is(ps, "required") || proto_tok_is(ps, "optional") ||
                       proto_tok_is(ps, "repeated")))
        return FAIL(ps, "Fields in oneofs must not have labels (required / optional / repeated).");
    if (oneof < 0 && (code = parse_label(ps, &label)))
        return code;
    if (proto_tok_is(ps, "map") && proto_peek_is(ps, "<")) {
        if (oneof >= 0)
            return FAIL(ps, "Map fields are not allowed in oneofs.");
        if (label != PL_SINGULAR)
            return FAIL(ps, "Field labels (required/optional/repeated) are not allowed on map "
                            "fields.");
        return parse_map_field(ps, message);
    }
    if (proto_tok_is(ps, "group") && !proto_peek_is(ps, "."))
        return FAIL(ps, "Groups are not supported in a Pub/Sub schema: use a nested message.");
    struct proto_field *f = add_field(ps, message);
    if (!f)
        return EM_FAIL_OOM(ps->st);
    f->label = label;
    f->oneof = oneof;
    if ((code = parse_type(ps, &f->kind, &f->type_name)))
        return code;
    return parse_field_tail(ps, message, f);
}

/* --- reserved and extensions --- */

/* start [to (end | max)] , ... ; into *ranges. */
static enum em_code parse_ranges(struct proto_parser *ps, int64_t min, int64_t max,
                                 struct proto_range **ranges, size_t *n, size_t *cap)
{
    for (;;) {
        struct proto_range r = {.line = ps->tok.line};
        enum em_code code = proto_parse_int(ps, min, max, &r.start);
        if (code)
            return code;
        r.end = r.start;
        if (proto_tok_is(ps, "to")) {
            if ((code = proto_next_token(ps)))
                return code;
            if (proto_tok_is(ps, "max")) {
                r.end = max;
                code = proto_next_token(ps);
            } else {
                code = proto_parse_int(ps, min, max, &r.end);
            }
            if (code)
                return code;
        }
        if (r.end < r.start)
            return FAIL_AT(ps, r.line,
                           "Reserved range end number must be greater than start "
                           "number.");
        if (!proto_grow((void **)ranges, cap, *n, sizeof(**ranges)))
            return EM_FAIL_OOM(ps->st);
        (*ranges)[(*n)++] = r;
        if (!proto_tok_is(ps, ","))
            return EM_OK;
        if ((code = proto_next_token(ps)))
            return code;
    }
}

static enum em_code parse_reserved_names(struct proto_parser *ps, struct proto_str **names,
                                         size_t *n, size_t *cap)
{
    for (;;) {
        struct proto_str name;
        enum em_code code = proto_parse_string(ps, &name);
        if (code)
            return code;
        if (!proto_grow((void **)names, cap, *n, sizeof(**names)))
            return EM_FAIL_OOM(ps->st);
        (*names)[(*n)++] = name;
        if (!proto_tok_is(ps, ","))
            return EM_OK;
        if ((code = proto_next_token(ps)))
            return code;
    }
}

/* reserved numbers-or-names ; for a message (min 1) or an enum (any int32). */
static enum em_code parse_reserved(struct proto_parser *ps, int64_t min, int64_t max,
                                   struct proto_range **ranges, size_t *n, size_t *cap,
                                   struct proto_str **names, size_t *nnames, size_t *names_cap)
{
    enum em_code code = proto_next_token(ps);
    if (code)
        return code;
    if (ps->tok.kind == PT_STRING)
        code = parse_reserved_names(ps, names, nnames, names_cap);
    else
        code = parse_ranges(ps, min, max, ranges, n, cap);
    return code ? code : proto_expect(ps, ";");
}

static enum em_code parse_extensions(struct proto_parser *ps, int message)
{
    if (ps->schema->proto3)
        return FAIL(ps, "Extension ranges are not allowed in proto3.");
    struct proto_message *m = &ps->schema->messages[message];
    enum em_code code;
    if ((code = proto_next_token(ps)) ||
        (code = parse_ranges(ps, 1, PROTO_FIELD_NUMBER_MAX, &m->extensions, &m->nextensions,
                             &m->extensions_cap)) ||
        (code = parse_bracket_options(ps, NULL)))
        return code;
    return proto_expect(ps, ";");
}

/* --- enums, oneofs, messages --- */

static enum em_code parse_enum_value(struct proto_parser *ps, int enum_index)
{
    struct proto_enum_value v = {.line = ps->tok.line};
    int64_t number;
    enum em_code code;
    if ((code = proto_expect_ident(ps, "enum constant name", &v.name)) ||
        (code = proto_expect(ps, "=")) ||
        (code = proto_parse_int(ps, INT32_MIN, INT32_MAX, &number)) ||
        (code = parse_bracket_options(ps, NULL)) || (code = proto_expect(ps, ";")))
        return code;
    v.number = (int32_t)number;
    struct ps_proto_schema *s = ps->schema;
    struct proto_enum *e = &s->enums[enum_index];
    if (!proto_grow((void **)&e->values, &e->values_cap, e->nvalues, sizeof(*e->values)))
        return EM_FAIL_OOM(ps->st);
    e->values[e->nvalues++] = v;
    /* C++ scoping: the value is a sibling of its enum */
    if (add_node(ps, v.name, s->nodes[e->node].parent, PN_ENUM_VALUE, -1, v.line) < 0)
        return EM_FAIL_OOM(ps->st);
    return EM_OK;
}

static enum em_code parse_enum(struct proto_parser *ps, int parent)
{
    struct ps_proto_schema *s = ps->schema;
    int line = ps->tok.line;
    struct proto_str name;
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = proto_expect_ident(ps, "enum name", &name)) ||
        (code = proto_expect(ps, "{")))
        return code;
    if (!proto_grow((void **)&s->enums, &s->enums_cap, s->nenums, sizeof(*s->enums)))
        return EM_FAIL_OOM(ps->st);
    int node = add_node(ps, name, parent, PN_ENUM, (int)s->nenums, line);
    if (node < 0)
        return EM_FAIL_OOM(ps->st);
    int index = (int)s->nenums++;
    s->enums[index] = (struct proto_enum){.node = node, .closed = !s->proto3};
    while (!code && !proto_tok_is(ps, "}")) {
        struct proto_enum *e = &s->enums[index];
        if (ps->tok.kind == PT_END) {
            code = FAIL(ps, "Reached end of input in enum definition (missing '}').");
        } else if (proto_tok_is(ps, ";")) {
            code = proto_next_token(ps);
        } else if (proto_tok_is(ps, "option")) {
            struct proto_str option;
            struct proto_default value;
            code = parse_option_statement(ps, &option, &value);
            if (!code && proto_str_eq(option, "allow_alias"))
                e->allow_alias = value.token == PT_IDENT && proto_str_eq(value.text, "true");
        } else if (proto_tok_is(ps, "reserved")) {
            code = parse_reserved(ps, INT32_MIN, INT32_MAX, &e->reserved, &e->nreserved,
                                  &e->reserved_cap, &e->reserved_names, &e->nreserved_names,
                                  &e->reserved_names_cap);
        } else {
            code = parse_enum_value(ps, index);
        }
    }
    if (code)
        return code;
    if (s->enums[index].nvalues == 0)
        return FAIL_AT(ps, line, "Enums must contain at least one value.");
    return proto_next_token(ps);
}

static enum em_code parse_oneof(struct proto_parser *ps, int message)
{
    struct proto_message *m = &ps->schema->messages[message];
    int line = ps->tok.line;
    struct proto_str name;
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = proto_expect_ident(ps, "oneof name", &name)) ||
        (code = proto_expect(ps, "{")))
        return code;
    int oneof = m->noneofs++;
    size_t fields_before = m->nfields;
    if (add_node(ps, name, m->node, PN_ONEOF, oneof, line) < 0)
        return EM_FAIL_OOM(ps->st);
    while (!code && !proto_tok_is(ps, "}")) {
        struct proto_str option;
        struct proto_default value;
        if (ps->tok.kind == PT_END)
            code = FAIL(ps, "Reached end of input in oneof definition (missing '}').");
        else if (proto_tok_is(ps, ";"))
            code = proto_next_token(ps);
        else if (proto_tok_is(ps, "option"))
            code = parse_option_statement(ps, &option, &value);
        else
            code = parse_field(ps, message, oneof);
    }
    if (code)
        return code;
    if (ps->schema->messages[message].nfields == fields_before)
        return FAIL_AT(ps, line, "Oneof must have at least one field.");
    return proto_next_token(ps);
}

static enum em_code parse_message(struct proto_parser *ps, int parent);

static enum em_code parse_message_item(struct proto_parser *ps, int message)
{
    struct ps_proto_schema *s = ps->schema;
    struct proto_message *m = &s->messages[message];
    struct proto_str option;
    struct proto_default value;
    if (proto_tok_is(ps, ";"))
        return proto_next_token(ps);
    if (proto_tok_is(ps, "message"))
        return parse_message(ps, m->node);
    if (proto_tok_is(ps, "enum"))
        return parse_enum(ps, m->node);
    if (proto_tok_is(ps, "oneof"))
        return parse_oneof(ps, message);
    if (proto_tok_is(ps, "option"))
        return parse_option_statement(ps, &option, &value);
    if (proto_tok_is(ps, "extensions"))
        return parse_extensions(ps, message);
    if (proto_tok_is(ps, "reserved"))
        return parse_reserved(ps, 1, PROTO_FIELD_NUMBER_MAX, &m->reserved, &m->nreserved,
                              &m->reserved_cap, &m->reserved_names, &m->nreserved_names,
                              &m->reserved_names_cap);
    if (proto_tok_is(ps, "extend"))
        return FAIL(ps, "Extensions (\"extend\") are not supported in a Pub/Sub schema.");
    return parse_field(ps, message, -1);
}

static enum em_code parse_message(struct proto_parser *ps, int parent)
{
    int line = ps->tok.line;
    struct proto_str name;
    enum em_code code;
    if (ps->depth >= PROTO_DEFINITION_DEPTH_MAX)
        return FAIL(ps, "Reached maximum recursion limit for nested messages.");
    if ((code = proto_next_token(ps)) || (code = proto_expect_ident(ps, "message name", &name)) ||
        (code = proto_expect(ps, "{")))
        return code;
    int message = add_message(ps, name, parent, line);
    if (message < 0)
        return EM_FAIL_OOM(ps->st);
    ps->depth++;
    while (!code && !proto_tok_is(ps, "}")) {
        if (ps->tok.kind == PT_END)
            code = FAIL(ps, "Reached end of input in message definition (missing '}').");
        else
            code = parse_message_item(ps, message);
    }
    ps->depth--;
    return code ? code : proto_next_token(ps);
}

/* --- the file --- */

static enum em_code parse_syntax(struct proto_parser *ps)
{
    struct proto_str value;
    int line = ps->tok.line;
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = proto_expect(ps, "=")) ||
        (code = proto_parse_string(ps, &value)) || (code = proto_expect(ps, ";")))
        return code;
    if (proto_str_eq(value, "proto3"))
        ps->schema->proto3 = true;
    else if (!proto_str_eq(value, "proto2"))
        return FAIL_AT(ps, line,
                       "Unrecognized syntax identifier \"%.*s\". This parser only "
                       "recognizes \"proto2\" and \"proto3\".",
                       (int)(value.n < 60 ? value.n : 60), value.s);
    return EM_OK;
}

static enum em_code parse_package(struct proto_parser *ps)
{
    int line = ps->tok.line;
    enum em_code code = proto_next_token(ps);
    if (code)
        return code;
    if (ps->has_package)
        return FAIL_AT(ps, line, "Multiple package definitions.");
    ps->has_package = true;
    for (;;) {
        struct proto_str part;
        if ((code = proto_expect_ident(ps, "package name", &part)))
            return code;
        ps->package = add_node(ps, part, ps->package, PN_PACKAGE, -1, line);
        if (ps->package < 0)
            return EM_FAIL_OOM(ps->st);
        if (!proto_tok_is(ps, "."))
            break;
        if ((code = proto_next_token(ps)))
            return code;
    }
    return proto_expect(ps, ";");
}

/* service Name { ... }: defines no type; skipped whole. */
static enum em_code skip_service(struct proto_parser *ps)
{
    struct proto_str name;
    enum em_code code;
    if ((code = proto_next_token(ps)) || (code = proto_expect_ident(ps, "service name", &name)))
        return code;
    if (!proto_tok_is(ps, "{"))
        return FAIL(ps, "Expected \"{\".");
    return skip_aggregate(ps);
}

static enum em_code parse_statement(struct proto_parser *ps)
{
    struct proto_str option;
    struct proto_default value;
    if (proto_tok_is(ps, ";"))
        return proto_next_token(ps);
    if (proto_tok_is(ps, "message"))
        return parse_message(ps, ps->package);
    if (proto_tok_is(ps, "enum"))
        return parse_enum(ps, ps->package);
    if (proto_tok_is(ps, "package"))
        return parse_package(ps);
    if (proto_tok_is(ps, "option"))
        return parse_option_statement(ps, &option, &value);
    if (proto_tok_is(ps, "service"))
        return skip_service(ps);
    if (proto_tok_is(ps, "import"))
        return FAIL(ps, "Import statements are not supported in a Pub/Sub schema: the definition "
                        "must be self-contained.");
    if (proto_tok_is(ps, "edition"))
        return FAIL(ps, "Editions are not supported: use syntax = \"proto2\" or \"proto3\".");
    if (proto_tok_is(ps, "syntax"))
        return FAIL(ps, "The syntax statement must be the first statement of the file.");
    if (proto_tok_is(ps, "extend"))
        return FAIL(ps, "Extensions (\"extend\") are not supported in a Pub/Sub schema.");
    return FAIL(ps, "Expected top-level statement (e.g. \"message\").");
}

/* The line of the first byte that is not UTF-8, or 0 when all are. */
static int first_bad_utf8_line(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    int line = 1;
    for (size_t i = 0; i < len;) {
        size_t step = s[i] ? em_utf8_char(s + i, len - i, NULL) : 0;
        if (!step)
            return line;
        line += s[i] == '\n';
        i += step;
    }
    return 0;
}

/* Exactly one top-level type, and it is a message: the type Pub/Sub validates. */
static enum em_code find_root(struct proto_parser *ps)
{
    struct ps_proto_schema *s = ps->schema;
    int root = -1, types = 0, second_line = 0;
    for (size_t i = 1; i < s->nnodes; i++) {
        const struct proto_node *n = &s->nodes[i];
        if (n->parent != ps->package || (n->kind != PN_MESSAGE && n->kind != PN_ENUM))
            continue;
        if (++types == 2)
            second_line = n->line;
        if (n->kind == PN_MESSAGE && root < 0)
            root = n->index;
    }
    if (types == 0 || root < 0)
        return FAIL_AT(ps, ps->line, "The schema must define one top-level message type.");
    if (types > 1)
        return FAIL_AT(ps, second_line, "The schema must define only one top-level type: found %d.",
                       types);
    s->root = root;
    return EM_OK;
}

static enum em_code parse_definition(struct proto_parser *ps)
{
    enum em_code code = proto_next_token(ps);
    if (!code && proto_tok_is(ps, "syntax"))
        code = parse_syntax(ps);
    while (!code && ps->tok.kind != PT_END)
        code = parse_statement(ps);
    if (!code)
        code = find_root(ps);
    return code ? code : proto_resolve(ps->schema, ps->st);
}

enum em_code ps_proto_parse(const char *definition, size_t len, struct ps_proto_schema **out,
                            struct em_status *st)
{
    struct proto_parser ps = {.line = 1, .st = st};
    int bad_line = first_bad_utf8_line(definition, len);
    if (bad_line)
        return FAIL_AT(&ps, bad_line, "The definition is not valid UTF-8 text (or holds a NUL).");
    struct ps_proto_schema *schema = calloc(1, sizeof(*schema));
    char *text = schema ? malloc(len + 1) : NULL;
    if (!text) {
        free(schema);
        return EM_FAIL_OOM(st);
    }
    if (len)
        memcpy(text, definition, len);
    text[len] = '\0';
    schema->text = text;
    ps.schema = schema;
    ps.p = text;
    ps.end = text + len;
    if (add_node(&ps, (struct proto_str){"", 0}, -1, PN_ROOT, -1, 0) < 0) {
        ps_proto_free(schema);
        return EM_FAIL_OOM(st);
    }
    enum em_code code = parse_definition(&ps);
    if (code) {
        ps_proto_free(schema);
        return code;
    }
    *out = schema;
    return EM_OK;
}
