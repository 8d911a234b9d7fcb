/*
 * pubsub_proto_parts: the model a parsed Protocol Buffer schema is made of, shared by the
 * files of pubsub_proto (lex, parse, resolve, binary, json) and by nothing else.
 *
 * Names are (pointer, length) slices of the schema's own copy of the definition text, or
 * of its string arena (decoded json_name options, computed JSON names). Everything is
 * addressed by index, never by pointer, so the arrays may grow while parsing:
 *
 *   nodes[]     the scope tree: the root (index 0, no name), package components,
 *               messages, enums, fields, oneofs and enum values, each under its parent
 *               (enum values under the enum's parent: C++ scoping, as protoc does)
 *   messages[]  fields sorted by number, and a name index for JSON sorted by name
 *   enums[]     values sorted by name, distinct numbers sorted
 *
 * Field kinds use the numbers of google.protobuf.FieldDescriptorProto.Type.
 */
#ifndef PUBSUB_PROTO_PARTS_H
#define PUBSUB_PROTO_PARTS_H

#include "pubsub_proto.h"
#include "em_json.h"

#include <stdbool.h>
#include <stdint.h>

#define PROTO_FIELD_NUMBER_MAX 536870911
/* Nested messages of a definition: protoc's parser stops at 32 levels (31 pass). */
#define PROTO_DEFINITION_DEPTH_MAX 31
/* Nested messages of a message being validated: protobuf's default recursion limit. */
#define PROTO_MESSAGE_DEPTH_MAX 100

struct proto_str {
    const char *s;
    size_t n;
};

enum proto_kind {
    PK_NONE = 0,
    PK_DOUBLE = 1,
    PK_FLOAT = 2,
    PK_INT64 = 3,
    PK_UINT64 = 4,
    PK_INT32 = 5,
    PK_FIXED64 = 6,
    PK_FIXED32 = 7,
    PK_BOOL = 8,
    PK_STRING = 9,
    PK_MESSAGE = 11,
    PK_BYTES = 12,
    PK_UINT32 = 13,
    PK_ENUM = 14,
    PK_SFIXED32 = 15,
    PK_SFIXED64 = 16,
    PK_SINT32 = 17,
    PK_SINT64 = 18,
};

enum proto_label {
    PL_SINGULAR, /* proto3 without a label, or a oneof member */
    PL_OPTIONAL,
    PL_REQUIRED,
    PL_REPEATED,
};

enum proto_node_kind {
    PN_ROOT,
    PN_PACKAGE,
    PN_MESSAGE,
    PN_ENUM,
    PN_FIELD,
    PN_ONEOF,
    PN_ENUM_VALUE,
};

struct proto_node {
    struct proto_str name;
    int parent; /* -1 for the root */
    enum proto_node_kind kind;
    int index; /* messages[] or enums[] index for PN_MESSAGE / PN_ENUM */
    int line;
};

/* The kinds of token of a definition (pubsub_proto_parse.c). */
enum proto_token { PT_END, PT_IDENT, PT_INT, PT_FLOAT, PT_STRING, PT_SYMBOL };

/* A proto2 [default = ...] as written, checked once types are resolved. */
struct proto_default {
    struct proto_str text; /* the token; a decoded string for string literals */
    enum proto_token token;
    bool negative;
    int line;
};

struct proto_field {
    struct proto_str name;
    struct proto_str json_name; /* the json_name option, or lowerCamelCase of name */
    int32_t number;
    enum proto_kind kind;
    enum proto_label label;
    int type;         /* messages[] (PK_MESSAGE) or enums[] (PK_ENUM) index, else -1 */
    int oneof;        /* the message's oneof this field belongs to, or -1 */
    int required_bit; /* index among the message's required fields, or -1 */
    bool map;         /* map<K, V>: type is its synthetic entry message */
    /* definition only */
    struct proto_str type_name; /* as written, for PK_MESSAGE / PK_ENUM before resolution */
    int scope;                  /* node whose scope resolves type_name (the message) */
    int line;
    bool packed;
    bool has_default;
    struct proto_default default_value;
};

/* One entry of a message's JSON name index: a field's name or json_name. */
struct proto_name {
    struct proto_str name;
    int field;
};

/* An inclusive range of numbers (reserved or extensions). */
struct proto_range {
    int64_t start, end;
    int line;
};

struct proto_message {
    int node;
    struct proto_field *fields; /* sorted by number once resolved */
    size_t nfields, fields_cap;
    struct proto_name *names; /* sorted by name */
    size_t nnames;
    int noneofs;
    int nrequired;
    bool map_entry;
    /* definition only */
    struct proto_range *reserved, *extensions;
    size_t nreserved, reserved_cap, nextensions, extensions_cap;
    struct proto_str *reserved_names;
    size_t nreserved_names, reserved_names_cap;
};

struct proto_enum_value {
    struct proto_str name;
    int32_t number;
    int line;
};

struct proto_enum {
    int node;
    struct proto_enum_value *values; /* in definition order, then sorted by name */
    size_t nvalues, values_cap;
    int32_t *numbers; /* distinct, sorted */
    size_t nnumbers;
    bool closed; /* proto2: an unknown number is not a value of the enum */
    /* definition only */
    bool allow_alias;
    struct proto_range *reserved;
    size_t nreserved, reserved_cap;
    struct proto_str *reserved_names;
    size_t nreserved_names, reserved_names_cap;
};

struct proto_arena_block;

struct ps_proto_schema {
    char *text; /* the definition, which names point into */
    struct proto_node *nodes;
    size_t nnodes, nodes_cap;
    struct proto_message *messages;
    size_t nmessages, messages_cap;
    struct proto_enum *enums;
    size_t nenums, enums_cap;
    int root; /* the message type validated */
    bool proto3;
    struct proto_arena_block *arena;
};

/* pubsub_proto.c: shared helpers */
bool proto_grow(void **items, size_t *cap, size_t count, size_t size);
char *proto_arena_alloc(struct ps_proto_schema *schema, size_t n);
int proto_str_cmp(struct proto_str a, struct proto_str b);
bool proto_str_eq(struct proto_str a, const char *lit);
/* Length of the well-formed UTF-8 sequence at s (NUL allowed), 0 when malformed. */
bool proto_utf8_valid(const unsigned char *s, size_t n);
/* "pkg.Outer.Inner" of a node into buf (cut to fit). */
const char *proto_full_name(const struct ps_proto_schema *schema, int node, char *buf, size_t size);
/* text[0, n) into out, its start replaced by "..." when it does not fit (size >= 4). */
void proto_copy_tail(char *out, size_t size, const char *text, size_t n);
const struct proto_field *proto_field_by_number(const struct proto_message *m, int32_t number);
const struct proto_field *proto_field_by_name(const struct proto_message *m, struct proto_str name);
const struct proto_enum_value *proto_enum_by_name(const struct proto_enum *e,
                                                  struct proto_str name);
bool proto_enum_has_number(const struct proto_enum *e, int32_t number);

/* The state of parsing one definition (pubsub_proto_lex.c, pubsub_proto_parse.c). */
struct proto_token_at {
    enum proto_token kind;
    const char *s;
    size_t n;
    int line;
};

struct proto_parser {
    const char *p, *end;
    int line;
    struct proto_token_at tok; /* the current token */
    struct ps_proto_schema *schema;
    struct em_status *st;
    int depth;
    int package; /* node of the package (the root when none) */
    bool has_package;
};

/* pubsub_proto_lex.c: tokens and literals. Definition errors (the lexer's, the parser's,
 * the resolver's) fail through proto_fail_at: INVALID_ARGUMENT "line N: <problem>". */
enum em_code proto_fail_at(struct em_status *st, const char *file, int src_line, int line,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));
enum em_code proto_next_token(struct proto_parser *ps);
bool proto_tok_is(const struct proto_parser *ps, const char *text);
struct proto_str proto_tok_str(const struct proto_parser *ps);
enum em_code proto_expect(struct proto_parser *ps, const char *text);
enum em_code proto_expect_ident(struct proto_parser *ps, const char *what, struct proto_str *out);
/* Whether the token after the current one is text, without consuming anything. */
bool proto_peek_is(struct proto_parser *ps, const char *text);
/* An integer with an optional '-', within [min, max]. */
enum em_code proto_parse_int(struct proto_parser *ps, int64_t min, int64_t max, int64_t *out);
/* One or more adjacent string literals, decoded into the schema's arena. */
enum em_code proto_parse_string(struct proto_parser *ps, struct proto_str *out);

/* pubsub_proto_resolve.c: after the parser has built the tree */
enum em_code proto_resolve(struct ps_proto_schema *schema, struct em_status *st);

#endif
