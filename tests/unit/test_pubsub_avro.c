/*
 * Unit tests of pubsub_avro: which Avro schemas parse and what their errors say, and
 * which messages are datums of a schema in the JSON and the binary encodings. Expected
 * verdicts were checked against Google's Pub/Sub emulator (schemas:validate and
 * schemas:validateMessage) unless a comment says where we deliberately differ.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pubsub/pubsub_avro.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct ps_avro_schema *parse_ok(const char *definition)
{
    struct em_status st = {0};
    struct ps_avro_schema *schema = NULL;
    enum em_code code = ps_avro_parse(definition, strlen(definition), &schema, &st);
    if (code != EM_OK)
        fail_msg("schema %s: %s", definition, st.message);
    assert_non_null(schema);
    return schema;
}

/* The schema is refused and the message says `words`. */
static void parse_fails(const char *definition, const char *words)
{
    struct em_status st = {0};
    struct ps_avro_schema *schema = NULL;
    assert_int_equal(ps_avro_parse(definition, strlen(definition), &schema, &st),
                     EM_INVALID_ARGUMENT);
    assert_null(schema);
    if (!strstr(st.message, words))
        fail_msg("schema %s: message \"%s\" lacks \"%s\"", definition, st.message, words);
    assert_true(strlen(st.message) < 400);
}

static enum em_code check_json(const char *definition, const char *msg, struct em_status *st)
{
    struct ps_avro_schema *schema = parse_ok(definition);
    enum em_code code = ps_avro_check_json(schema, (const unsigned char *)msg, strlen(msg), st);
    ps_avro_free(schema);
    return code;
}

static void json_ok(const char *definition, const char *msg)
{
    struct em_status st = {0};
    if (check_json(definition, msg, &st) != EM_OK)
        fail_msg("%s as %s: %s", msg, definition, st.message);
}

static void json_fails(const char *definition, const char *msg, const char *words)
{
    struct em_status st = {0};
    if (check_json(definition, msg, &st) != EM_INVALID_ARGUMENT)
        fail_msg("%s as %s passed", msg, definition);
    if (!strstr(st.message, words))
        fail_msg("%s as %s: message \"%s\" lacks \"%s\"", msg, definition, st.message, words);
}

static enum em_code check_binary(const char *definition, const char *msg, size_t len,
                                 struct em_status *st)
{
    struct ps_avro_schema *schema = parse_ok(definition);
    enum em_code code = ps_avro_check_binary(schema, (const unsigned char *)msg, len, st);
    ps_avro_free(schema);
    return code;
}

#define BINARY_OK(def, lit)                                                                        \
    do {                                                                                           \
        struct em_status st_ = {0};                                                                \
        if (check_binary((def), (lit), sizeof(lit) - 1, &st_) != EM_OK)                            \
            fail_msg("binary %s: %s", (def), st_.message);                                         \
    } while (0)
#define BINARY_FAILS(def, lit, words)                                                              \
    do {                                                                                           \
        struct em_status st_ = {0};                                                                \
        assert_int_equal(check_binary((def), (lit), sizeof(lit) - 1, &st_), EM_INVALID_ARGUMENT);  \
        if (!strstr(st_.message, (words)))                                                         \
            fail_msg("binary %s: message \"%s\" lacks \"%s\"", (def), st_.message, (words));       \
    } while (0)

static const char person[] =
    "{\"type\":\"record\",\"name\":\"Person\",\"namespace\":\"ex.v1\",\"fields\":["
    "{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"age\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"kind\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"Kind\","
    "\"symbols\":[\"ADULT\",\"CHILD\"]}]},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}]}";

static const char linked[] = "{\"type\":\"record\",\"name\":\"Node\",\"fields\":["
                             "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}";

static void test_valid_schemas(void **state)
{
    (void)state;
    static const char *const good[] = {
        "\"int\"",
        "{\"type\":\"null\"}",
        "  {\"type\":\"map\",\"values\":\"long\"}\n",
        "[]", /* an empty union: the emulator accepts it, and no message matches */
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}",
        "{\"type\":\"error\",\"name\":\"X\",\"fields\":[]}",
        "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[],\"doc\":\"none\"}",
        "{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"r\",\"type\":\"R\"}]}",
        /* a fullname's namespace wins; references resolve in the enclosing namespace first,
         * then in the null namespace */
        "{\"type\":\"record\",\"name\":\"a.b.R\",\"namespace\":\"ignored\",\"fields\":["
        "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}},"
        "{\"name\":\"y\",\"type\":\"a.b.F\"},{\"name\":\"z\",\"type\":\"F\"}]}",
        "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":["
        "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":\"\","
        "\"size\":2}},{\"name\":\"y\",\"type\":\"F\"},{\"name\":\"w\",\"type\":{\"type\":\"F\"}}]}",
        /* the same short name in two namespaces is two types */
        "[{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},"
        "{\"type\":\"enum\",\"name\":\"F\",\"namespace\":\"q\",\"symbols\":[\"A\"]}]",
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
        "\"order\":\"descending\",\"aliases\":[\"b\"],\"doc\":5}],\"extra\":1}",
        person,
        linked,
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ps_avro_free(parse_ok(good[i]));
    ps_avro_free(NULL);
}

static void test_invalid_schemas_name_the_problem(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"", "not valid JSON"},
        {"{\"type\":\"int\"} x", "not valid JSON"},
        {"\"foo\"", "unknown type \"foo\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"r\",\"type\":\"S\"}]}",
         "unknown type \"S\" (in field \"r\" of record \"R\")"},
        {"{\"type\":\"record\",\"name\":\"R\"}", "needs a \"fields\" array"},
        {"{\"type\":\"record\",\"name\":\"1R\",\"fields\":[]}", "invalid name \"1R\""},
        {"{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}", "cannot be redefined"},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
         "{\"name\":\"a\",\"type\":\"long\"}]}",
         "two fields named \"a\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a-b\",\"type\":\"int\"}]}",
         "invalid field name \"a-b\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\"}]}", "needs a \"type\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
         "\"order\":\"sideways\"}]}",
         "\"order\""},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}",
         "has the symbol \"A\" twice"},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"1A\"]}", "invalid symbol \"1A\""},
        {"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"],\"default\":\"B\"}",
         "not one of its symbols"},
        {"[\"int\",\"int\"]", "contains \"int\" twice"},
        {"[{\"type\":\"array\",\"items\":\"int\"},{\"type\":\"array\",\"items\":\"long\"}]",
         "contains \"array\" twice"},
        {"[\"string\",{\"type\":\"string\",\"logicalType\":\"uuid\"}]",
         "contains \"string\" twice"},
        {"[\"int\",[\"long\"]]", "cannot contain a union"},
        {"[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
         "{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}]",
         "\"A\" is defined twice"},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", "\"size\""},
        {"{\"type\":\"fixed\",\"name\":\"F\",\"size\":3000000000}", "\"size\""},
        {"{\"type\":\"array\"}", "an array needs \"items\""},
        {"{\"type\":\"map\"}", "a map needs \"values\""},
        {"{\"type\":{\"type\":\"int\"}}", "\"type\" string"},
        {"5", "a type must be"},
        /* stricter than the emulator, per the specification: namespaces and aliases are names */
        {"{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"1x\",\"fields\":[]}",
         "invalid namespace \"1x\""},
        {"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\","
         "\"aliases\":[\"1b\"]}]}",
         "invalid alias \"1b\""},
        {"{\"type\":\"record\",\"name\":\"R\\u0000\",\"fields\":[]}", "NUL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_fails(bad[i][0], bad[i][1]);
}

static void test_field_defaults_are_checked(void **state)
{
    (void)state;
    static const char *const good[] = {
        "[\"int\",\"null\"],\"default\":1", /* a union default matches its first branch */
        "\"long\",\"default\":9007199254740993",
        "\"float\",\"default\":\"NaN\"",
        "\"bytes\",\"default\":\"\\u00ff\"",
        "{\"type\":\"map\",\"values\":\"int\"},\"default\":{\"x\":1}",
        "{\"type\":\"record\",\"name\":\"S\",\"fields\":[{\"name\":\"b\",\"type\":\"int\","
        "\"default\":2}]},\"default\":{}",
    };
    static const char *const bad[] = {
        "\"int\",\"default\":\"x\"",
        "\"int\",\"default\":1.5",
        "\"int\",\"default\":2147483648",
        "\"int\",\"default\":null",
        "[\"null\",\"int\"],\"default\":1",
        "{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,\"x\"]",
        "{\"type\":\"record\",\"name\":\"S\",\"fields\":[{\"name\":\"b\",\"type\":\"int\"}]},"
        "\"default\":{}",
        /* stricter than the emulator: a fixed default has exactly size bytes */
        "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2},\"default\":\"abc\"",
    };
    char def[512];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(def, sizeof(def),
                 "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":%s}]}",
                 good[i]);
        ps_avro_free(parse_ok(def));
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(def, sizeof(def),
                 "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":%s}]}",
                 bad[i]);
        parse_fails(def, "the default value is not a valid");
    }
    parse_fails(
        "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
        "\"fixed\",\"name\":\"F\",\"size\":2},\"default\":\"abc\"}]}",
        "not a valid fixed \"F\" (in field \"a\" of record \"R\")");
}

static void test_logical_types_do_not_change_the_encoding(void **state)
{
    (void)state;
    /* invalid annotations are ignored, not errors */
    ps_avro_free(parse_ok("{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":0}"));
    ps_avro_free(parse_ok("{\"type\":\"string\",\"logicalType\":\"bogus\"}"));
    ps_avro_free(parse_ok("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2,\"logicalType\":"
                          "\"decimal\",\"precision\":9}"));
    json_ok("{\"type\":\"string\",\"logicalType\":\"uuid\"}", "\"not-a-uuid\"");
    json_ok("{\"type\":\"int\",\"logicalType\":\"date\"}", "19000");
    json_fails("{\"type\":\"int\",\"logicalType\":\"time-micros\"}", "2147483648", "out of range");
    json_ok("{\"type\":\"fixed\",\"name\":\"D\",\"size\":12,\"logicalType\":\"duration\"}",
            "\"abcdefghijkl\"");
    json_ok("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}", "-9223372036854775808");
}

static void test_json_numbers(void **state)
{
    (void)state;
    static const char *const long_ok[] = {"9223372036854775807",
                                          "-9223372036854775808",
                                          "9007199254740993",
                                          "0",
                                          "-0",
                                          " 1 ",
                                          "1e3",
                                          "1.0",
                                          "9223372036854775807.0",
                                          "922337203685477580.7e1",
                                          "0.00000e99999999999",
                                          "1000e-3"};
    for (size_t i = 0; i < sizeof(long_ok) / sizeof(long_ok[0]); i++)
        json_ok("\"long\"", long_ok[i]);
    json_fails("\"long\"", "9223372036854775808", "out of range for long");
    json_fails("\"long\"", "-9223372036854775809", "out of range for long");
    json_fails("\"long\"", "1e19", "out of range for long");
    json_fails("\"long\"", "\"1\"", "expected long, found a string");
    json_ok("\"int\"", "2147483647");
    json_ok("\"int\"", "-2147483648");
    json_fails("\"int\"", "2147483648", "2147483648 is out of range for int");
    json_fails("\"int\"", "-2147483649", "out of range for int");
    /* the emulator truncates 1.5 to 1; the specification wants an integer */
    json_fails("\"int\"", "1.5", "int takes integers, found 1.5");
    json_fails("\"int\"", "01", "invalid JSON number");
    json_fails("\"int\"", "1.", "invalid JSON number");
    json_fails("\"int\"", "true", "expected int, found a boolean");
    json_ok("\"float\"", "1e400"); /* Avro reads it as infinity, as does the emulator */
    json_ok("\"double\"", "-1.5e-300");
    json_fails("\"double\"", "\"NaN\"", "expected double, found a string");
    json_fails("\"double\"", "NaN", "expected double, found invalid JSON");
}

static void test_json_strings_bytes_enums(void **state)
{
    (void)state;
    json_ok("\"string\"", "\"a\\u0000b \\ud83d\\ude00 \\ud800 \xc3\xa9\"");
    json_fails("\"string\"", "\"a\tb\"", "control character 0x09");
    json_fails("\"string\"", "\"\xff\"", "not valid UTF-8");
    json_fails("\"string\"", "\"\\x\"", "invalid escape");
    json_fails("\"string\"", "\"abc", "unterminated");
    json_ok("\"bytes\"", "\"\\u00ff\\u0000\xc3\xa9\"");
    /* the emulator turns code points above 255 into '?'; the specification forbids them */
    json_fails("\"bytes\"", "\"\\u0100\"", "found U+0100");
    const char *fixed = "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}";
    json_ok(fixed, "\"ab\"");
    json_ok(fixed, "\"\\u00e9\\u0000\"");
    json_fails(fixed, "\"abc\"", "fixed \"F\" takes 2 bytes, found 3");
    const char *e = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}";
    json_ok(e, "\"B\"");
    json_ok(e, "\"\\u0041\"");
    json_fails(e, "\"C\"", "\"C\" is not a symbol of enum \"E\"");
    json_ok("\"null\"", "null");
    json_fails("\"null\"", "nul", "expected null, found null"); /* a broken literal */
    json_ok("\"boolean\"", "false");
    json_fails("\"boolean\"", "1", "expected boolean, found a number");
}

static void test_json_records_and_unions(void **state)
{
    (void)state;
    json_ok(person, "{\"name\":\"Ann\",\"age\":{\"int\":7},\"kind\":{\"ex.v1.Kind\":\"CHILD\"},"
                    "\"tags\":[\"a\",\"b\"]}");
    json_ok(person, "{\"tags\":[],\"kind\":null,\"age\":null,\"name\":\"\"}");
    /* members the schema does not name are skipped, as the emulator does */
    json_ok(person, "{\"name\":\"A\",\"age\":null,\"kind\":null,\"tags\":[],\"x\":[1,{\"y\":[]}]}");
    /* a missing field is an error even with a default: the emulator agrees */
    json_fails(person, "{\"name\":\"A\",\"kind\":null,\"tags\":[],\"x\":1}",
               "at the top level: record \"ex.v1.Person\" misses the field \"age\"");
    json_fails("{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"P\",\"fields\":["
               "{\"name\":\"p\",\"type\":\"int\"}]}}",
               "[{\"p\":1},{\"q\":2}]", "at [1]: record \"P\" misses the field \"p\"");
    /* union branches go by fullname */
    json_fails(person, "{\"name\":\"A\",\"age\":null,\"kind\":{\"Kind\":\"ADULT\"},\"tags\":[]}",
               "at kind: \"Kind\" is not a branch of the union [null, ex.v1.Kind]");
    json_fails(person, "{\"name\":\"A\",\"age\":7,\"kind\":null,\"tags\":[]}",
               "at age: expected a union value of [null, int]");
    json_fails(person, "{\"name\":\"A\",\"age\":{\"long\":7},\"kind\":null,\"tags\":[]}",
               "\"long\" is not a branch");
    /* the emulator ignores a second member; the specification allows one */
    json_fails(person,
               "{\"name\":\"A\",\"age\":{\"int\":1,\"null\":null},\"kind\":null,\"tags\":[]}",
               "one member");
    json_fails(person, "{\"name\":\"A\",\"age\":null,\"kind\":null,\"tags\":[\"a\",3]}",
               "at tags[1]: expected string, found a number");
    json_fails(person, "[]", "expected record \"ex.v1.Person\", found an array");
    json_fails("[\"int\"]", "null", "expected a union value of [int]");
    json_fails("[]", "null", "expected a union value of []");
    const char *containers = "[\"null\",{\"type\":\"array\",\"items\":\"int\"},"
                             "{\"type\":\"map\",\"values\":\"string\"},\"bytes\"]";
    json_ok(containers, "{\"array\":[1]}");
    json_ok(containers, "{\"map\":{\"a\":\"b\",\"a\":\"c\"}}");
    json_ok(containers, "{\"bytes\":\"\"}");
    json_fails(containers, "{\"map\":{\"a\":1}}", "at [0]: expected string");
    json_ok(linked, "{\"next\":{\"Node\":{\"next\":null}}}");
}

static void test_json_whole_message(void **state)
{
    (void)state;
    /* the emulator ignores what follows the first value; we require one JSON value */
    json_fails("\"int\"", "1 2", "unexpected data after the JSON value (byte offset 2)");
    json_fails("\"int\"", "", "expected int, found the end of the message");
    json_fails("\"int\"", "   ", "found the end of the message");
    json_fails(person, "{\"name\":\"A\",\"age\":null,\"kind\":null,\"tags\":[],\"x\":[1,{\"q\":]}",
               "invalid JSON");
    struct ps_avro_schema *schema = parse_ok("\"string\"");
    struct em_status st = {0};
    static const unsigned char with_nul[] = "\"a\0b\"";
    assert_int_equal(ps_avro_check_json(schema, with_nul, sizeof(with_nul) - 1, &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "control character 0x00"));
    static const unsigned char nul_after[] = "\"ab\"\0";
    assert_int_equal(ps_avro_check_json(schema, nul_after, sizeof(nul_after) - 1, &st),
                     EM_INVALID_ARGUMENT);
    ps_avro_free(schema);
}

static void test_binary_scalars(void **state)
{
    (void)state;
    BINARY_OK("\"null\"", "");
    BINARY_FAILS("\"null\"", "\0", "1 unexpected bytes after the value");
    BINARY_OK("\"boolean\"", "\1");
    /* the emulator reads any byte other than 1 as false */
    BINARY_FAILS("\"boolean\"", "\2", "a boolean is the byte 0 or 1, found 2");
    BINARY_OK("\"int\"", "\xff\xff\xff\xff\x0f");
    BINARY_OK("\"int\"", "\x80\x80\x80\x80\x00"); /* overlong but within 5 bytes */
    BINARY_FAILS("\"int\"", "\xff\xff\xff\xff\x1f", "does not fit in an int");
    BINARY_FAILS("\"int\"", "\x80\x80\x80\x80\x80\x00", "does not fit in an int");
    BINARY_FAILS("\"int\"", "\x80", "the message ends inside an int");
    BINARY_OK("\"long\"", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    BINARY_FAILS("\"long\"", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x03", "does not fit in a long");
    BINARY_OK("\"float\"", "\x00\x00\x80\x3f");
    BINARY_FAILS("\"float\"", "\x00\x00\x80", "float needs 4 bytes, 3 are left");
    BINARY_OK("\"double\"", "\x00\x00\x00\x00\x00\x00\xf0\x3f");
    BINARY_OK("\"string\"", "\x04\x61\x00");
    BINARY_OK("\"bytes\"", "\x04\xff\xfe");
    /* the emulator accepts any bytes in a string; the specification says UTF-8 */
    BINARY_FAILS("\"string\"", "\x04\xff\xfe", "the string is not valid UTF-8 (byte offset 1)");
    BINARY_FAILS("\"string\"", "\x06\x61\x62", "string needs 3 bytes, 2 are left");
    BINARY_FAILS("\"string\"", "\x03\x61\x62", "negative length -2");
    BINARY_FAILS("\"string\"", "\x04\x61\x62X", "1 unexpected bytes after the value");
    BINARY_OK("{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}", "abc");
    BINARY_FAILS("{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}", "ab", "F needs 3 bytes");
    BINARY_OK("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "\x02");
    BINARY_FAILS("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "\x04",
                 "enum index 2 is out of range (2 entries)");
    BINARY_OK("[\"null\",\"int\"]", "\x02\x02");
    BINARY_FAILS("[\"null\",\"int\"]", "\x04", "union index 2 is out of range");
    BINARY_FAILS("[\"null\",\"int\"]", "\x01", "union index -1 is out of range");
    BINARY_OK(person, "\x06"
                      "Ann"
                      "\x02\x0e"
                      "\x02\x02"
                      "\x02\x02x\x00");
    BINARY_FAILS(person,
                 "\x06"
                 "Ann"
                 "\x02\x0e"
                 "\x02\x04",
                 "at kind: enum index 2");
}

static void test_binary_blocks(void **state)
{
    (void)state;
    const char *ints = "{\"type\":\"array\",\"items\":\"int\"}";
    BINARY_OK(ints, "\x04\x02\x04\x02\x06\x00"); /* [1, 2], [3] */
    BINARY_OK(ints, "\x03\x04\x02\x04\x00");     /* a block of -2 items in 4 bytes... */
    BINARY_FAILS(ints, "\x03\x06\x02\x04\x00", "the block says 3 bytes but its items take 2");
    BINARY_FAILS(ints, "\x03\x7e\x02\x04\x00", "block size 63 is not within the message");
    BINARY_FAILS(ints, "\x04\x02", "at [1]: the message ends inside an int");
    BINARY_FAILS(ints, "\x04\x02\x04", "the message ends inside a block count");
    /* 2^62 items with nothing behind them */
    BINARY_FAILS(ints, "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f\x00", "the message ends inside");
    BINARY_FAILS(ints, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00", "invalid block count");
    const char *nulls = "{\"type\":\"array\",\"items\":\"null\"}";
    BINARY_OK(nulls, "\x06\x00");
    clock_t start = clock();
    BINARY_FAILS(nulls, "\xfe\xff\xff\xff\xff\xff\xff\xff\x7f\x00", "too many values");
    assert_true(clock() - start < 5 * CLOCKS_PER_SEC);
    const char *map = "{\"type\":\"map\",\"values\":\"long\"}";
    BINARY_OK(map, "\x02\x02k\x02\x00");
    BINARY_FAILS(map, "\x02\x02\xff\x02\x00", "the map key is not valid UTF-8");
}

/* A Node list of `levels` records, in JSON or binary; the caller frees it. */
static char *nested_nodes(int levels, bool json, size_t *len)
{
    char *out = malloc((size_t)levels * 24 + 16);
    size_t n = 0;
    if (!json) {
        memset(out, 0x02, (size_t)levels - 1);
        out[levels - 1] = 0x00;
        *len = (size_t)levels;
        return out;
    }
    for (int i = 0; i < levels - 1; i++)
        n += (size_t)sprintf(out + n, "{\"next\":{\"Node\":");
    n += (size_t)sprintf(out + n, "{\"next\":null}");
    for (int i = 0; i < levels - 1; i++)
        n += (size_t)sprintf(out + n, "}}");
    *len = n;
    return out;
}

static void test_depth_is_bounded(void **state)
{
    (void)state;
    struct ps_avro_schema *schema = parse_ok(linked);
    struct em_status st = {0};
    size_t len;
    for (int json = 0; json < 2; json++) {
        char *ok = nested_nodes(PS_AVRO_MAX_DEPTH, json, &len);
        enum em_code code = json ? ps_avro_check_json(schema, (unsigned char *)ok, len, &st)
                                 : ps_avro_check_binary(schema, (unsigned char *)ok, len, &st);
        assert_int_equal(code, EM_OK);
        free(ok);
        char *deep = nested_nodes(100000, json, &len);
        code = json ? ps_avro_check_json(schema, (unsigned char *)deep, len, &st)
                    : ps_avro_check_binary(schema, (unsigned char *)deep, len, &st);
        assert_int_equal(code, EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "values nest deeper than 100 levels"));
        free(deep);
    }
    ps_avro_free(schema);
    /* unknown members are skipped within the same bound */
    char *deep_member = malloc(300000);
    strcpy(deep_member, "{\"name\":\"A\",\"age\":null,\"kind\":null,\"tags\":[],\"x\":");
    memset(deep_member + strlen(deep_member), '[', 200000);
    deep_member[250000] = '\0';
    json_fails(person, deep_member, "nest deeper than 100 levels");
    free(deep_member);
    /* schemas too */
    char *deep_schema = malloc(40000);
    size_t n = 0;
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(deep_schema + n, "{\"type\":\"array\",\"items\":");
    n += (size_t)sprintf(deep_schema + n, "\"int\"");
    for (int i = 0; i < 1000; i++)
        deep_schema[n++] = '}';
    deep_schema[n] = '\0';
    parse_fails(deep_schema, "types nest deeper than 100 levels");
    free(deep_schema);
}

static void test_large_messages_are_linear(void **state)
{
    (void)state;
    size_t len = 10u << 20, n = 0;
    unsigned char *msg = malloc(len + 16);
    /* binary: one block of 10 M ints of one byte each */
    struct ps_avro_schema *schema = parse_ok("{\"type\":\"array\",\"items\":\"int\"}");
    struct em_status st = {0};
    size_t items = len - 5;
    unsigned long long zz = (unsigned long long)items << 1;
    while (zz >= 0x80) {
        msg[n++] = (unsigned char)(zz | 0x80);
        zz >>= 7;
    }
    msg[n++] = (unsigned char)zz;
    memset(msg + n, 0x02, items);
    msg[n + items] = 0;
    clock_t start = clock();
    assert_int_equal(ps_avro_check_binary(schema, msg, n + items + 1, &st), EM_OK);
    /* JSON: [1,1,1,...] */
    msg[0] = '[';
    for (n = 1; n + 2 < len; n += 2)
        memcpy(msg + n, "1,", 2);
    msg[n - 1] = ']';
    assert_int_equal(ps_avro_check_json(schema, msg, n, &st), EM_OK);
    ps_avro_free(schema);
    /* one long string */
    schema = parse_ok("\"string\"");
    msg[0] = '"';
    memset(msg + 1, 'x', len);
    msg[len + 1] = '"';
    assert_int_equal(ps_avro_check_json(schema, msg, len + 2, &st), EM_OK);
    ps_avro_free(schema);
    assert_true(clock() - start < 20 * CLOCKS_PER_SEC);
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_schemas),
        cmocka_unit_test(test_invalid_schemas_name_the_problem),
        cmocka_unit_test(test_field_defaults_are_checked),
        cmocka_unit_test(test_logical_types_do_not_change_the_encoding),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_json_strings_bytes_enums),
        cmocka_unit_test(test_json_records_and_unions),
        cmocka_unit_test(test_json_whole_message),
        cmocka_unit_test(test_binary_scalars),
        cmocka_unit_test(test_binary_blocks),
        cmocka_unit_test(test_depth_is_bounded),
        cmocka_unit_test(test_large_messages_are_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
