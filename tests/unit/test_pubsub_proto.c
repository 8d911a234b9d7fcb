/*
 * Unit tests of pubsub_proto: Protocol Buffer schema definitions (what parses, what is
 * refused with which message and line), and messages validated against them in the
 * binary wire format and the proto3 JSON mapping. Byte arrays marked "protoc" were
 * produced by `protoc --encode` (libprotoc 3.21); JSON marked "python" by protobuf's
 * json_format.MessageToJson of the same message. Expected verdicts were checked against
 * protobuf (python, C++ backend) and protoc except where a comment says Java differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pubsub/pubsub_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char order_proto[] =
    "syntax = \"proto3\";\n"
    "package shop.v1;\n"
    "message Order {\n"
    "  enum Status { STATUS_UNSPECIFIED = 0; OPEN = 1; CLOSED = 2; }\n"
    "  message Item { string sku = 1; int64 quantity = 2; double price = 3; }\n"
    "  string order_id = 1;\n"
    "  repeated Item items = 2;\n"
    "  map<string, int32> tags = 3;\n"
    "  Status status = 4;\n"
    "  oneof payment { string card = 5; bytes token = 6; }\n"
    "  repeated int32 codes = 7;\n"
    "  int32 delta = 8;\n"
    "  Order parent = 9;\n"
    "}\n";

/* protoc: order_id "o-1\0x", two items, a map entry, CLOSED, card, packed codes, delta -1,
 * parent { order_id "p" } */
static const unsigned char order_bin[] = {
    0x0a, 0x05, 0x6f, 0x2d, 0x31, 0x00, 0x78, 0x12, 0x16, 0x0a, 0x02, 0xc3, 0xa9, 0x10, 0x81, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x19, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x12,
    0x0e, 0x0a, 0x01, 0x62, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a,
    0x05, 0x0a, 0x01, 0x6b, 0x10, 0x07, 0x20, 0x02, 0x2a, 0x04, 0x76, 0x69, 0x73, 0x61, 0x3a, 0x0d,
    0x01, 0xac, 0x02, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x40, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x4a, 0x03, 0x0a, 0x01, 0x70};

/* python: the same message in JSON */
static const char order_json[] =
    "{\"orderId\": \"o-1\\u0000x\", \"items\": [{\"sku\": \"\\u00e9\", \"quantity\": "
    "\"9007199254740993\", \"price\": 2.5}, {\"sku\": \"b\", \"quantity\": \"-1\"}], \"tags\": "
    "{\"k\": 7}, \"status\": \"CLOSED\", \"card\": \"visa\", \"codes\": [1, 300, -2], "
    "\"delta\": -1, \"parent\": {\"orderId\": \"p\"}}";

static const char user_proto[] = /* proto2: no syntax statement */
    "message User {\n"
    "  enum Role { ADMIN = 1; GUEST = 2; }\n"
    "  message Address { required string city = 1; optional string zip = 2; }\n"
    "  required int64 id = 1;\n"
    "  optional Role role = 2;\n"
    "  optional Address home = 3;\n"
    "  repeated int32 scores = 4 [packed = true];\n"
    "  optional string nick = 5;\n"
    "  extensions 100 to 199;\n"
    "}\n";

/* protoc: id 42, role GUEST, home { city "Oslo" }, scores [3, 4] */
static const unsigned char user_bin[] = {0x08, 0x2a, 0x10, 0x02, 0x1a, 0x06, 0x0a, 0x04,
                                         0x4f, 0x73, 0x6c, 0x6f, 0x22, 0x02, 0x03, 0x04};

/* --- helpers --- */

static struct ps_proto_schema *parse_ok(const char *definition)
{
    struct em_status st = {0};
    struct ps_proto_schema *schema = NULL;
    enum em_code code = ps_proto_parse(definition, strlen(definition), &schema, &st);
    if (code != EM_OK)
        fail_msg("definition refused: %s\n%s", st.message, definition);
    return schema;
}

/* The definition is refused with a message holding each of the expected pieces. */
static void parse_fails(const char *definition, size_t len, const char *expect1,
                        const char *expect2)
{
    struct em_status st = {0};
    struct ps_proto_schema *schema = NULL;
    enum em_code code = ps_proto_parse(definition, len, &schema, &st);
    if (code != EM_INVALID_ARGUMENT)
        fail_msg("accepted (%d): %s", code, definition);
    assert_null(schema);
    if (!strstr(st.message, expect1) || (expect2 && !strstr(st.message, expect2)))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\" for:\n%s", st.message, expect1,
                 expect2 ? expect2 : "", definition);
}

#define PARSE_FAILS(def, e1, e2) parse_fails((def), strlen(def), (e1), (e2))

static enum em_code check_json(const struct ps_proto_schema *s, const char *json,
                               struct em_status *st)
{
    return ps_proto_check_json(s, (const unsigned char *)json, strlen(json), st);
}

static void json_ok(const struct ps_proto_schema *s, const char *json)
{
    struct em_status st = {0};
    if (check_json(s, json, &st) != EM_OK)
        fail_msg("refused %s: %s", json, st.message);
}

static void json_fails(const struct ps_proto_schema *s, const char *json, const char *expect)
{
    struct em_status st = {0};
    if (check_json(s, json, &st) != EM_INVALID_ARGUMENT)
        fail_msg("accepted %s", json);
    if (!strstr(st.message, expect))
        fail_msg("message \"%s\" lacks \"%s\" for %s", st.message, expect, json);
}

static void binary_ok(const struct ps_proto_schema *s, const void *bytes, size_t len)
{
    struct em_status st = {0};
    if (ps_proto_check_binary(s, bytes, len, &st) != EM_OK)
        fail_msg("refused binary of %zu bytes: %s", len, st.message);
}

static void binary_fails(const struct ps_proto_schema *s, const void *bytes, size_t len,
                         const char *expect)
{
    struct em_status st = {0};
    if (ps_proto_check_binary(s, bytes, len, &st) != EM_INVALID_ARGUMENT)
        fail_msg("accepted binary of %zu bytes (expected \"%s\")", len, expect);
    if (!strstr(st.message, expect))
        fail_msg("message \"%s\" lacks \"%s\"", st.message, expect);
}

#define BIN_OK(s, ...)                                                                             \
    binary_ok((s), (const unsigned char[]){__VA_ARGS__},                                           \
              sizeof((const unsigned char[]){__VA_ARGS__}))
#define BIN_FAILS(s, expect, ...)                                                                  \
    binary_fails((s), (const unsigned char[]){__VA_ARGS__},                                        \
                 sizeof((const unsigned char[]){__VA_ARGS__}), (expect))

/* --- definitions --- */

static void test_google_sample_and_common_shapes_parse(void **state)
{
    (void)state;
    static const char *const good[] = {
        /* the Protocol Buffer sample of cloud.google.com/pubsub/docs/schemas */
        "syntax = \"proto3\";\nmessage ProtocolBuffer {\n  string product_name = 1;\n"
        "  int32 SKU = 2;\n  bool in_stock = 3;\n}\n",
        order_proto,
        user_proto,
        "syntax = 'proto3'; package p.q; message A { message B { message C {} }"
        " B.C c = 1; .p.q.A.B b = 2; q.A a = 3; p.q.A.B.C d = 4; }",
        "syntax=\"proto3\"; option java_package = \"x\"; message A { option deprecated = true;"
        " int32 x = 1 [deprecated = true, json_name = \"why\"]; }",
        "syntax=\"proto3\"; message A {} service S { rpc M(A) returns (A) { option "
        "idempotency_level"
        " = NO_SIDE_EFFECTS; } }",
        "syntax=\"proto3\"; message A { reserved 2, 15, 9 to 11, 40 to max; reserved \"foo\"; "
        "int32 x = 1; }",
        "syntax=\"proto2\"; message A { enum E { X = 1; Y = 2; } optional int32 a = 1 [default = "
        "-5];"
        " optional E e = 2 [default = Y]; optional string s = 3 [default = \"hi\\n\"];"
        " optional double d = 4 [default = -inf]; optional uint32 u = 6 [default = 0x10]; }",
        "syntax=\"proto3\"; message A { A child = 1; repeated A kids = 2; map<string, A> m = 3; }",
        "syntax=\"proto3\"; message A { enum E { option allow_alias = true; Z = 0; Y = 0; } E e = "
        "1;"
        " oneof o { int32 a = 2; string b = 3; } optional int32 c = 4; }",
        "syntax=\"proto3\"; message A { int32 x = 536870911; int32 y = 18999; int32 z = 20000; }",
        /* an inner B shadows the outer one, as protobuf's scoping says */
        "syntax=\"proto3\"; message A { message B {} message C { message B {} B b = 1; } B b = 1; "
        "}",
        "// comment\n/* block\n comment */ syntax=\"proto3\";; message A { ; int32 x = 1; ; };",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ps_proto_free(parse_ok(good[i]));
    ps_proto_free(NULL);
}

static void test_definition_errors_name_the_problem_and_line(void **state)
{
    (void)state;
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n  int32 y = 1;\n}\n",
                "line 4:", "Field number 1 has already been used in \"A\" by field \"x\"");
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n  string x = 2;\n}",
                "line 4:", "\"x\" is already defined in \"A\"");
    PARSE_FAILS("syntax = \"proto3\";\n\nmessage A { int32 x = 0; }",
                "line 3:", "Field numbers must be positive integers");
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 536870912; }",
                "line 1:", "cannot be greater than 536870911");
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 19000; }", "19000 through 19999", NULL);
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  Foo x = 1;\n}",
                "line 3:", "\"Foo\" is not defined");
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 1; x y = 2; }", "\"x\" is not defined",
                NULL);
    /* a compound name continues from the innermost match only */
    PARSE_FAILS("syntax=\"proto3\"; message A { message B { message C {} } message D { message B {}"
                " B.C x = 1; } }",
                "\"B.C\" is not defined", NULL);
    PARSE_FAILS("syntax = \"proto3\";\nmessage A { required int32 x = 1; }",
                "line 2:", "Required fields are not allowed in proto3");
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 1 [default = 5]; }",
                "Explicit default values are not allowed in proto3", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { map<float, int32> m = 1; }",
                "Key in map fields cannot be", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { message B {} map<B, int32> m = 1; }",
                "Key in map fields cannot be", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { map<bytes, int32> m = 1; }",
                "Key in map fields cannot be", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { repeated map<string, int32> m = 1; }",
                "not allowed on map fields", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { map<string,int32> foo = 1; message FooEntry {} }",
                "\"FooEntry\" is already defined in \"A\"", NULL);
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  enum E {\n    X = 1;\n  }\n}",
                "line 4:", "The first enum value must be zero in proto3");
    PARSE_FAILS("syntax = \"proto3\"; message A { enum E { Z = 0; X = 0; } }",
                "\"X\" uses the same enum value as \"Z\"", NULL);
    PARSE_FAILS(
        "syntax = \"proto3\"; message A { enum E { option allow_alias = true; Z = 0; X = 1; } }",
        "no enum values share field numbers", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { enum E { Z = 0; } enum F { Z = 0; } }",
                "\"Z\" is already defined in \"A\"", "C++ scoping");
    PARSE_FAILS("syntax = \"proto3\"; message A { reserved 5; int32 x = 5; }",
                "Field \"x\" uses reserved number 5", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { reserved \"x\"; int32 x = 1; }",
                "Field name \"x\" is reserved", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { reserved 1 to 5, 3; }",
                "Reserved range 3 to 3 overlaps with already-defined range 1 to 5", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { extensions 100 to 199; }",
                "Extension ranges are not allowed in proto3", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { extensions 100 to 199; optional int32 x = 150; }",
                "Extension range 100 to 199 includes field \"x\" (150)", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { int32 x = 1; }",
                "Expected \"required\", \"optional\", or \"repeated\"", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 foo_bar = 1; int32 fooBar = 2; }",
                "conflicts with another field", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { repeated string s = 1 [packed = true]; }",
                "[packed = true] can only be specified for repeated primitive fields", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { repeated int32 x = 1 [default = 1]; }",
                "Repeated fields can't have default values", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { optional int32 x = 1 [default = 2147483648]; }",
                "Invalid default value for field \"x\"", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { optional int32 x = 1 [default = \"a\"]; }",
                "Invalid default value for field \"x\"", NULL);
    PARSE_FAILS(
        "syntax = \"proto2\"; message A { enum E { X = 1; } optional E e = 1 [default = Z]; }",
        "naming one of its values", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { oneof o { repeated int32 x = 1; } }",
                "Fields in oneofs must not have labels", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { oneof o { } }",
                "Oneof must have at least one field", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { enum E { } }",
                "Enums must contain at least one value", NULL);
    PARSE_FAILS("syntax = \"proto4\"; message A {}", "Unrecognized syntax identifier \"proto4\"",
                NULL);
    PARSE_FAILS("message A {}\nsyntax = \"proto3\";", "line 2:", "must be the first statement");
    PARSE_FAILS("syntax = \"proto3\"; package a; package b; message A {}",
                "Multiple package definitions", NULL);
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n", "line 4:", "missing '}'");
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {}\n/* never closed\n\n",
                "line 3:", "End-of-file inside block comment");
    PARSE_FAILS("syntax = \"proto3\n\"; message A {}",
                "line 1:", "String literals cannot cross line boundaries");
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 1abc; }",
                "Need space between number and identifier", NULL);
    PARSE_FAILS("syntax = \"proto2\"; message A { enum E { X = 2147483648; } }",
                "Integer out of range", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 1 }", "Expected \";\", found \"}\"",
                NULL);
}

static void test_pubsub_rules_for_definitions(void **state)
{
    (void)state;
    /* Google: only one top-level type, no import statements */
    PARSE_FAILS("syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage A {}",
                "line 2:", "Import statements are not supported");
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {}\nmessage B {}",
                "line 3:", "only one top-level type");
    PARSE_FAILS("syntax = \"proto3\";\nenum E { Z = 0; }\nmessage A { E e = 1; }",
                "only one top-level type", NULL);
    PARSE_FAILS("syntax = \"proto3\"; enum E { Z = 0; }", "one top-level message type", NULL);
    PARSE_FAILS("", "one top-level message type", NULL);
    PARSE_FAILS("// nothing but a comment\n", "one top-level message type", NULL);
    /* refused clearly rather than half supported */
    PARSE_FAILS("edition = \"2023\";\nmessage A {}", "Editions are not supported", NULL);
    PARSE_FAILS(
        "syntax = \"proto2\";\nmessage A {\n  optional group G = 1 { optional int32 x = 2; }\n}",
        "line 3:", "Groups are not supported");
    PARSE_FAILS("syntax = \"proto2\"; message A { extensions 100 to 199; extend A { optional int32"
                " y = 100; } }",
                "Extensions (\"extend\") are not supported", NULL);
    PARSE_FAILS("syntax = \"proto3\"; message A { int32 x = 1 [(my.opt) = 1]; }",
                "Custom options are not supported", NULL);
    /* the text itself */
    PARSE_FAILS("syntax = \"proto3\";\nmessage A {\n  string \xff = 1; }",
                "line 3:", "not valid UTF-8");
    static const char with_nul[] = "syntax = \"proto3\";\nmessage A {\0}";
    parse_fails(with_nul, sizeof(with_nul) - 1, "line 2:", "NUL");
    PARSE_FAILS("syntax = \"proto3\"; message A {\x01}", "Invalid control characters", NULL);
}

/* Messages nest 31 deep in a definition and no deeper, as protoc allows. */
static void test_definition_nesting_limit(void **state)
{
    (void)state;
    char text[2048];
    for (int levels = 31; levels <= 33; levels++) {
        size_t n = (size_t)snprintf(text, sizeof(text), "syntax = \"proto3\";\n");
        for (int i = 0; i < levels; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "message M%d {\n", i);
        for (int i = 0; i < levels; i++)
            text[n++] = '}';
        text[n] = '\0';
        if (levels == 31)
            ps_proto_free(parse_ok(text));
        else
            PARSE_FAILS(text, "maximum recursion limit for nested messages", NULL);
    }
}

/* CPU seconds of this process since start: not disturbed by a loaded machine. */
static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A 260 KB definition of twelve thousand fields parses, and a message naming its last
 * field validates, in well under a second: no quadratic step. */
static void test_large_definition_is_fast(void **state)
{
    (void)state;
    size_t cap = 400 * 1024, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text, cap, "syntax = \"proto3\";\nmessage Big {\n");
    int fields = 12000;
    for (int i = 1; i <= fields; i++)
        n += (size_t)snprintf(text + n, cap - n, "  int32 f_%d = %d;\n", i, i);
    n += (size_t)snprintf(text + n, cap - n, "}\n");
    struct timespec start;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    struct ps_proto_schema *schema = parse_ok(text);
    assert_true(n < cap);
    json_ok(schema, "{\"f12000\": 5, \"f_1\": 1}");
    BIN_OK(schema, 0x80, 0xee, 0x05, 0x05); /* field 12000 = 5 */
    assert_true(seconds_since(&start) < 1.0);
    ps_proto_free(schema);
    free(text);
}

/* --- binary --- */

static void test_binary_oracle_messages(void **state)
{
    (void)state;
    struct ps_proto_schema *order = parse_ok(order_proto);
    binary_ok(order, order_bin, sizeof(order_bin));
    binary_ok(order, "", 0); /* every field has a default */
    binary_ok(order, NULL, 0);
    /* cut inside the first item: its length runs past the end */
    binary_fails(order, order_bin, 20, "field items: length 22 runs past the end");
    ps_proto_free(order);

    struct ps_proto_schema *user = parse_ok(user_proto);
    binary_ok(user, user_bin, sizeof(user_bin));
    binary_fails(user, user_bin + 2, sizeof(user_bin) - 2, "missing required field \"id\"");
    ps_proto_free(user);
}

static void test_binary_wire_format_errors(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    BIN_FAILS(s, "field number zero", 0x00, 0x01);
    BIN_FAILS(s, "invalid wire type 6", 0x46, 0x00);
    BIN_FAILS(s, "invalid wire type 7", 0x47, 0x00);
    BIN_FAILS(s, "malformed or truncated varint", 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff, 0x01);                                           /* 11 bytes */
    BIN_OK(s, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01); /* 10 bytes */
    BIN_FAILS(s, "malformed tag", 0x80);
    BIN_FAILS(s, "field delta: malformed or truncated varint", 0x40);
    BIN_FAILS(s, "runs past the end", 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00);
    BIN_FAILS(s, "field order_id: string is not valid UTF-8", 0x0a, 0x01, 0xff);
    BIN_FAILS(s, "not valid UTF-8", 0x0a, 0x03, 0xed, 0xa0, 0x80); /* a surrogate */
    BIN_OK(s, 0x32, 0x01, 0xff);                                   /* bytes: anything */
    BIN_FAILS(s, "field items.sku: string is not valid UTF-8", 0x12, 0x03, 0x0a, 0x01, 0xff);
    BIN_FAILS(s, "field tags.value: malformed", 0x1a, 0x01, 0x10); /* map entry cut */
    BIN_FAILS(s, "packed run", 0x3a, 0x01, 0x80);                  /* codes: varint cut */
    /* unknown fields are kept when well-formed, whatever their wire type */
    BIN_OK(s, 0xc2, 0x3e, 0x03, 'x', 'y', 'z', 0xc1, 0x3e, 0, 0, 0, 0, 0, 0, 0, 0, 0xc5, 0x3e, 0, 0,
           0, 0);
    BIN_FAILS(s, "truncated 4-byte value", 0xc5, 0x3e, 0, 0, 0);
    /* an unknown group, closed by its own end tag */
    BIN_OK(s, 0xc3, 0x3e, 0x08, 0x01, 0x2b, 0x2c, 0xc4, 0x3e);
    BIN_FAILS(s, "group 1000 is not closed", 0xc3, 0x3e, 0x08, 0x01);
    BIN_FAILS(s, "unexpected end-group tag 1000", 0xc4, 0x3e);
    BIN_FAILS(s, "unexpected end-group tag 999", 0xc3, 0x3e, 0xbc, 0x3e);
    /* a known field with another wire type is an unknown field, as protobuf parses it */
    BIN_OK(s, 0x42, 0x00);
    /* repeated primitives: packed and unpacked are both valid */
    BIN_OK(s, 0x38, 0x01, 0x38, 0x02, 0x3a, 0x02, 0x01, 0x02);
    /* enums are not checked on the wire: proto3 enums are open */
    BIN_OK(s, 0x20, 0x63);
    ps_proto_free(s);
}

static void test_binary_proto2_required_and_closed_enums(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(user_proto);
    BIN_OK(s, 0x08, 0x01);
    BIN_FAILS(s, "missing required field \"id\"", 0x10, 0x01);
    /* a closed enum's unknown number goes to the unknown fields: not an error */
    BIN_OK(s, 0x08, 0x01, 0x10, 0x09);
    /* proto2 strings are not checked for UTF-8 (Java's DynamicMessage reads them loosely) */
    BIN_OK(s, 0x08, 0x01, 0x2a, 0x01, 0xff);
    /* nested required field missing */
    BIN_FAILS(s, "field home: missing required field \"city\"", 0x08, 0x01, 0x1a, 0x00);
    /* ... unless another piece of the same singular message brings it: they merge */
    BIN_OK(s, 0x08, 0x01, 0x1a, 0x00, 0x1a, 0x03, 0x0a, 0x01, 'x');
    /* id sent with the wire type of a string is an unknown field: id is then missing */
    BIN_FAILS(s, "missing required field \"id\"", 0x0a, 0x00);
    /* extension range numbers are unknown fields */
    BIN_OK(s, 0x08, 0x01, 0xb0, 0x09, 0x01);
    ps_proto_free(s);
}

/* A chain of n nested messages: Order.parent.parent... */
static unsigned char *nested_binary(int n, size_t *len)
{
    unsigned char *buf = calloc((size_t)n * 3 + 1, 1);
    size_t inner = 0;
    /* build from the inside out, lengths below 128 * 128 fit in two bytes */
    unsigned char *tmp = malloc((size_t)n * 3 + 1);
    for (int i = 0; i < n; i++) {
        size_t o = 0;
        tmp[o++] = 0x4a;
        if (inner < 128) {
            tmp[o++] = (unsigned char)inner;
        } else {
            tmp[o++] = (unsigned char)(0x80 | (inner & 0x7f));
            tmp[o++] = (unsigned char)(inner >> 7);
        }
        memcpy(tmp + o, buf, inner);
        memcpy(buf, tmp, o + inner);
        inner += o;
    }
    free(tmp);
    *len = inner;
    return buf;
}

static void test_binary_nesting_limit(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    size_t len;
    unsigned char *ok = nested_binary(100, &len);
    binary_ok(s, ok, len);
    free(ok);
    unsigned char *deep = nested_binary(101, &len);
    binary_fails(s, deep, len, "nested deeper than 100 levels");
    free(deep);
    ps_proto_free(s);
}

/* --- JSON --- */

static void test_json_oracle_and_mapping(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    json_ok(s, order_json);
    json_ok(s, "{}");
    json_ok(s, " \t\r\n{ } \n");
    /* proto field names as well as JSON names */
    json_ok(s, "{\"order_id\": \"a\", \"items\": [{\"sku\": \"s\"}]}");
    /* null is the default of anything */
    json_ok(
        s,
        "{\"orderId\": null, \"items\": null, \"tags\": null, \"status\": null, \"parent\": null}");
    json_ok(s, "{\"status\": 2}");
    json_ok(s, "{\"status\": 7}"); /* proto3 enums are open */
    json_ok(s, "{\"status\": \"1\"}");
    json_ok(s, "{\"token\": \"AAEC\"}");
    json_ok(s, "{\"token\": \"-_8\"}"); /* URL-safe, unpadded */
    json_ok(s, "{\"card\": null, \"token\": \"AA==\"}");
    json_ok(
        s, "{\"items\": [{\"price\": \"NaN\"}, {\"price\": \"-Infinity\"}, {\"price\": \"1e5\"}]}");
    json_ok(s, "{\"orderId\": \"\\ud83d\\ude00 \\\" \\\\ \\/ \\b\\f\\n\\r\\t \xc3\xa9\"}");
    json_ok(s, "{\"tags\": {\"a\": 1, \"b\": \"2\"}}");
    ps_proto_free(s);
}

static void test_json_integers_are_exact(void **state)
{
    (void)state;
    struct ps_proto_schema *s =
        parse_ok("syntax = \"proto3\"; message N { int32 i = 1; int64 l = 2;"
                 " uint32 u = 3; uint64 ul = 4; sfixed64 sf = 5; }");
    static const char *const good[] = {
        "{\"i\": 2147483647}",
        "{\"i\": -2147483648}",
        "{\"i\": \"5\"}",
        "{\"i\": 1.0}",
        "{\"i\": 1e2}",
        "{\"i\": 100e-2}",
        "{\"i\": -0}",
        /* Java's BigDecimal also reads these strings; python's int() does not */
        "{\"i\": \"1.0\"}",
        "{\"i\": \"1e2\"}",
        "{\"i\": \"+5\"}",
        "{\"l\": \"9007199254740993\"}",
        "{\"l\": \"-9223372036854775808\"}",
        "{\"l\": 9223372036854775807}",
        "{\"u\": 4294967295}",
        "{\"ul\": \"18446744073709551615\"}",
        "{\"sf\": \"-1\"}",
        "{\"l\": \"0e999999999999\"}",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        json_ok(s, good[i]);
    json_fails(s, "{\"i\": 2147483648}", "field i: \"2147483648\" is not an int32 value");
    json_fails(s, "{\"i\": -2147483649}", "is not an int32 value");
    json_fails(s, "{\"i\": 1.5}", "\"1.5\" is not an int32 value");
    json_fails(s, "{\"i\": \" 5\"}", "is not an int32 value");
    json_fails(s, "{\"i\": \"0x10\"}", "is not an int32 value");
    json_fails(s, "{\"i\": true}", "expected an int32 number or string");
    json_fails(s, "{\"i\": 01}", "expected ',' or '}'");
    json_fails(s, "{\"i\": \"1e999999999999\"}", "is not an int32 value");
    json_fails(s, "{\"l\": \"9223372036854775808\"}", "is not an int64 value");
    json_fails(s, "{\"l\": \"-9223372036854775809\"}", "is not an int64 value");
    json_fails(s, "{\"u\": -1}", "is not a uint32 value");
    json_fails(s, "{\"u\": 4294967296}", "is not a uint32 value");
    json_fails(s, "{\"ul\": \"18446744073709551616\"}", "is not a uint64 value");
    json_fails(s, "{\"ul\": \"1e20\"}", "is not a uint64 value");
    json_fails(s, "{\"l\": 1e-2}", "is not an int64 value");
    ps_proto_free(s);
}

static void test_json_scalars(void **state)
{
    (void)state;
    struct ps_proto_schema *s =
        parse_ok("syntax = \"proto3\"; message S { bool b = 1; string s = 2; bytes by = 3;"
                 " float f = 4; double d = 5; }");
    json_ok(s,
            "{\"b\": true, \"s\": \"\\u0000\", \"by\": \"\", \"f\": 3.4028234e38, \"d\": 1e308}");
    json_ok(s, "{\"f\": \"Infinity\", \"d\": \"+1.5\"}");
    json_fails(s, "{\"b\": \"true\"}", "expected true or false"); /* Java takes it */
    json_fails(s, "{\"b\": 1}", "expected true or false");
    json_fails(s, "{\"s\": 5}", "expected a string");
    json_fails(s, "{\"s\": \"\\ud800\"}", "unpaired surrogate");
    json_fails(s, "{\"s\": \"\xff\"}", "invalid UTF-8");
    json_fails(s, "{\"s\": \"a\tb\"}", "control character");
    json_fails(s, "{\"s\": \"\\x\"}", "invalid escape");
    json_fails(s, "{\"by\": \"A\"}", "bytes must be base64");
    json_fails(s, "{\"by\": \"@@@@\"}", "bytes must be base64");
    json_fails(s, "{\"f\": 1e39}", "is not a float value");
    json_fails(s, "{\"d\": 1e309}", "is not a double value");
    json_fails(s, "{\"d\": \"inf\"}", "is not a double value");
    json_fails(s, "{\"d\": NaN}", "expected a number");
    ps_proto_free(s);
}

static void test_json_structure_errors(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    json_fails(s, "[]", "the message must be a JSON object");
    json_fails(s, "null", "the message must be a JSON object");
    json_fails(s, "", "the message must be a JSON object");
    json_fails(s, "{\"delta\": 1} {}", "unexpected text after the message");
    json_fails(s, "{\"delta\": 1,}", "expected a string");
    json_fails(s, "{\"delta\" 1}", "expected ':'");
    json_fails(s, "{", "expected a string");
    json_fails(s, "{\"zzz\": 1}", "no field \"zzz\" in message \"shop.v1.Order\"");
    json_fails(s, "{\"orderId\": \"a\", \"order_id\": \"b\"}", "field \"order_id\" is given twice");
    json_fails(s, "{\"card\": \"a\", \"token\": \"AA==\"}",
               "fields \"card\" and \"token\" are members of one oneof");
    json_fails(s, "{\"status\": \"NOPE\"}",
               "invalid value \"NOPE\" for enum \"shop.v1.Order.Status\"");
    json_fails(s, "{\"status\": 1.5}", "expected the name or number");
    json_fails(s, "{\"codes\": [1, null]}", "field codes[1]: a list element cannot be null");
    json_fails(s, "{\"codes\": 1}", "field codes: expected an array");
    json_fails(s, "{\"codes\": [[1]]}", "field codes[0]");
    json_fails(s, "{\"items\": [{}, {\"price\": \"x\"}]}", "field items[1].price");
    json_fails(s, "{\"parent\": []}", "field parent: expected an object");
    json_fails(s, "{\"tags\": {\"a\": null}}", "a map value cannot be null");
    json_fails(s, "{\"tags\": {\"a\": 1, \"a\": 2}}", "map key \"a\" is given twice");
    json_fails(s, "{\"tags\": []}", "expected an object (a map)");
    ps_proto_free(s);
}

static void test_json_maps_keys_and_json_names(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(
        "syntax = \"proto3\"; message K { map<int32, string> i = 1; map<bool, K> b = 2;"
        " map<uint64, int32> u = 3; int32 jn = 4 [json_name = \"custom\"]; string foo_bar = 5; }");
    json_ok(
        s, "{\"i\": {\"1\": \"a\", \"-2\": \"b\"}, \"b\": {\"true\": {}, \"false\": {\"jn\": 1}}}");
    json_ok(s, "{\"u\": {\"18446744073709551615\": 1}, \"custom\": 1, \"fooBar\": \"x\"}");
    json_ok(s, "{\"foo_bar\": \"x\"}");
    json_fails(s, "{\"i\": {\"x\": \"a\"}}", "map key \"x\" is not an int32");
    json_fails(s, "{\"b\": {\"TRUE\": {}}}", "map key \"TRUE\" is not a bool");
    json_fails(s, "{\"u\": {\"-1\": 1}}", "is not a uint64");
    json_fails(s, "{\"jn\": 1, \"custom\": 2}", "given twice");
    json_fails(s, "{\"Jn\": 1}", "no field \"Jn\"");
    ps_proto_free(s);
}

static void test_json_proto2_required_and_closed_enums(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(user_proto);
    json_ok(s, "{\"id\": \"42\", \"role\": \"GUEST\", \"home\": {\"city\": \"Oslo\"}, \"scores\": "
               "[3, 4]}");
    json_ok(s, "{\"id\": 1, \"role\": 1}");
    json_fails(s, "{}", "missing required field \"id\" of \"User\"");
    json_fails(s, "{\"id\": null}", "missing required field \"id\"");
    json_fails(s, "{\"id\": 1, \"home\": {}}",
               "field home: missing required field \"city\" of \"User.Address\"");
    json_fails(s, "{\"id\": 1, \"role\": 3}", "invalid value 3 for enum \"User.Role\"");
    json_fails(s, "{\"id\": 1, \"role\": \"3\"}", "invalid value 3 for enum \"User.Role\"");
    json_fails(s, "{\"id\": 1, \"[User.ext]\": 1}", "no field");
    ps_proto_free(s);
}

/* {"parent": {"parent": ... {}}} n levels below the top */
static char *nested_json(int n)
{
    char *text = malloc((size_t)n * 12 + 3);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)sprintf(text + o, "{\"parent\":");
    o += (size_t)sprintf(text + o, "{}");
    memset(text + o, '}', (size_t)n);
    text[o + (size_t)n] = '\0';
    return text;
}

static void test_json_nesting_limit(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    char *ok = nested_json(99); /* JsonFormat's limit: 100 messages, the top one included */
    json_ok(s, ok);
    free(ok);
    char *deep = nested_json(100);
    json_fails(s, deep, "nested deeper than 100 levels");
    free(deep);
    char *hostile = nested_json(100000);
    json_fails(s, hostile, "nested deeper than 100 levels");
    free(hostile);
    ps_proto_free(s);
}

/* 10 MB messages validate in linear time, in both encodings. */
static void test_large_messages(void **state)
{
    (void)state;
    struct ps_proto_schema *s = parse_ok(order_proto);
    size_t target = 10 * 1024 * 1024;
    char *json = malloc(target + 64);
    size_t o = (size_t)sprintf(json, "{\"codes\": [");
    while (o < target - 16)
        o += (size_t)sprintf(json + o, "123456,");
    o += (size_t)sprintf(json + o, "1], \"orderId\": \"x\"}");
    unsigned char *bin = malloc(target);
    size_t b = 0;
    while (b + 4 < target) { /* unpacked codes: tag 7 varint 300 */
        bin[b++] = 0x38;
        bin[b++] = 0xac;
        bin[b++] = 0x02;
    }
    bin[b++] = 0x0a;
    bin[b++] = 0x00;
    struct timespec start;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    struct em_status st = {0};
    assert_int_equal(ps_proto_check_json(s, (unsigned char *)json, o, &st), EM_OK);
    assert_int_equal(ps_proto_check_binary(s, bin, b, &st), EM_OK);
    assert_true(seconds_since(&start) < 3.0);
    free(json);
    free(bin);
    ps_proto_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_google_sample_and_common_shapes_parse),
        cmocka_unit_test(test_definition_errors_name_the_problem_and_line),
        cmocka_unit_test(test_pubsub_rules_for_definitions),
        cmocka_unit_test(test_definition_nesting_limit),
        cmocka_unit_test(test_large_definition_is_fast),
        cmocka_unit_test(test_binary_oracle_messages),
        cmocka_unit_test(test_binary_wire_format_errors),
        cmocka_unit_test(test_binary_proto2_required_and_closed_enums),
        cmocka_unit_test(test_binary_nesting_limit),
        cmocka_unit_test(test_json_oracle_and_mapping),
        cmocka_unit_test(test_json_integers_are_exact),
        cmocka_unit_test(test_json_scalars),
        cmocka_unit_test(test_json_structure_errors),
        cmocka_unit_test(test_json_maps_keys_and_json_names),
        cmocka_unit_test(test_json_proto2_required_and_closed_enums),
        cmocka_unit_test(test_json_nesting_limit),
        cmocka_unit_test(test_large_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
