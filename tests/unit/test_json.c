/*
 * test_json: the proto3 JSON encodings of em_json: base64 (RFC 4648 vectors, standard and
 * URL-safe input, with and without padding, refusals, em_b64_valid agreeing with the
 * decoder), RFC 3339 timestamps, durations, and int64 values given as numbers or strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC EM_NS_PER_SEC

/* ---------------------------------------------------------------- base64 */

static void encodes(const char *plain, const char *want)
{
    char *got = em_b64_encode((const unsigned char *)plain, strlen(plain));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Decodes text and compares with want (len bytes). */
static void decodes(const char *text, const void *want, size_t len)
{
    unsigned char *out = NULL;
    size_t out_len = 0;
    if (!em_b64_decode(text, strlen(text), &out, &out_len))
        fail_msg("\"%s\" did not decode", text);
    assert_true(em_b64_valid(text, strlen(text)));
    assert_non_null(out);
    assert_int_equal(out_len, len);
    assert_memory_equal(out, want, len);
    free(out);
}

static void refuses(const char *text, size_t len)
{
    unsigned char *out = (unsigned char *)"untouched";
    size_t out_len = 99;
    if (em_b64_decode(text, len, &out, &out_len))
        fail_msg("\"%s\" decoded", text);
    assert_false(em_b64_valid(text, len));
}

static void test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    encodes("", "");
    encodes("f", "Zg==");
    encodes("fo", "Zm8=");
    encodes("foo", "Zm9v");
    encodes("foob", "Zm9vYg==");
    encodes("fooba", "Zm9vYmE=");
    encodes("foobar", "Zm9vYmFy");
    decodes("", "", 0);
    decodes("Zg==", "f", 1);
    decodes("Zm8=", "fo", 2);
    decodes("Zm9vYmFy", "foobar", 6);
}

static void test_base64_padding_is_optional(void **state)
{
    (void)state;
    decodes("Zg", "f", 1);
    decodes("Zm8", "fo", 2);
    decodes("Zm9vYg", "foob", 4);
    decodes("Zm9vYmE", "fooba", 5);
}

static void test_base64_url_safe_input(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
    char *standard = em_b64_encode(bytes, sizeof(bytes));
    assert_string_equal(standard, "+/+/");
    free(standard);
    decodes("+/+/", bytes, 3);
    decodes("-_-_", bytes, 3);
    decodes("-_8=", bytes, 2);
    decodes("-_8", bytes, 2);
    decodes("+_-/", bytes, 3);
}

static void test_base64_invalid_input(void **state)
{
    (void)state;
    refuses("Z", 1);     /* one character cannot hold a byte */
    refuses("Zm9vY", 5); /* nor can one after a full quantum */
    refuses("Zm9v!", 5);
    refuses("Zm=9", 4); /* padding only at the end */
    refuses(" Zm9v", 5);
    refuses("Zm9v\n", 5);
    refuses("Zm 9v", 5);
    refuses("Zm9v\0Zg", 7); /* the length given is used, not the NUL */
    refuses("Zm9\xc3\xa9", 5);
}

static void test_base64_round_trips_every_length(void **state)
{
    (void)state;
    unsigned char data[200];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(data); len++) {
        char *text = em_b64_encode(data, len);
        assert_int_equal(strlen(text), 4 * ((len + 2) / 3));
        unsigned char *back;
        size_t back_len;
        assert_true(em_b64_decode(text, strlen(text), &back, &back_len));
        assert_int_equal(back_len, len);
        assert_memory_equal(back, data, len);
        free(back);
        free(text);
    }
}

static void test_base64_valid_agrees_with_decode(void **state)
{
    (void)state;
    static const char *texts[] = {
        "",    "=",    "==",   "Zg",       "Zg=", "Zg==",  "Z",    "Zm9v",   "Zm9vY", "Zm9!",
        "-_8", "+/8=", "a=b=", "AAAA====", "\t",  "Zm9v.", "QUJD", "QUJDRA", "QUJDR"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        unsigned char *out = NULL;
        size_t len;
        bool decoded = em_b64_decode(texts[i], strlen(texts[i]), &out, &len);
        if (decoded != em_b64_valid(texts[i], strlen(texts[i])))
            fail_msg("\"%s\": decode says %d, valid says %d", texts[i], decoded, !decoded);
        free(out);
    }
}

/* ---------------------------------------------------------------- timestamps */

static void formats(int64_t ns, const char *want)
{
    char text[EM_TIME_TEXT_MAX];
    em_time_format(ns, text);
    assert_string_equal(text, want);
}

static int64_t parsed(const char *text)
{
    int64_t ns = 0;
    if (!em_time_parse(text, &ns))
        fail_msg("\"%s\" did not parse", text);
    return ns;
}

static void bad_time(const char *text)
{
    int64_t ns = 12345;
    if (em_time_parse(text, &ns))
        fail_msg("\"%s\" parsed", text);
    assert_true(ns == 12345);
}

static void test_time_format_fraction_digits(void **state)
{
    (void)state;
    formats(0, "1970-01-01T00:00:00Z");
    formats(1767225600 * SEC, "2026-01-01T00:00:00Z");
    formats(1767225600 * SEC + 500000000, "2026-01-01T00:00:00.500Z");
    formats(1767225600 * SEC + 123000, "2026-01-01T00:00:00.000123Z");
    formats(1767225600 * SEC + 123456700, "2026-01-01T00:00:00.123456700Z");
    formats(1, "1970-01-01T00:00:00.000000001Z");
    formats(-1, "1969-12-31T23:59:59.999999999Z");
    formats(-SEC, "1969-12-31T23:59:59Z");
    formats(951782400LL * SEC, "2000-02-29T00:00:00Z");
}

static void test_time_parse(void **state)
{
    (void)state;
    assert_true(parsed("1970-01-01T00:00:00Z") == 0);
    assert_true(parsed("2026-01-01T00:00:00Z") == 1767225600 * SEC);
    assert_true(parsed("2026-01-01T00:00:00.5Z") == 1767225600 * SEC + 500000000);
    assert_true(parsed("2026-01-01T00:00:00.000000001Z") == 1767225600 * SEC + 1);
    assert_true(parsed("2026-01-01t00:00:00z") == 1767225600 * SEC);
    assert_true(parsed("2026-01-01 00:00:00Z") == 1767225600 * SEC);
    assert_true(parsed("1969-12-31T23:59:59.999999999Z") == -1);
    assert_true(parsed("2024-02-29T12:00:00Z") == 1709208000 * SEC);
}

static void test_time_parse_offsets(void **state)
{
    (void)state;
    int64_t utc = parsed("2026-01-01T00:00:00Z");
    assert_true(parsed("2026-01-01T01:00:00+01:00") == utc);
    assert_true(parsed("2025-12-31T18:30:00-05:30") == utc);
    assert_true(parsed("2026-01-01T00:00:00+00:00") == utc);
    assert_true(parsed("2026-01-01T00:00:00-00:00") == utc);
    assert_true(parsed("2026-01-01T23:59:00+23:59") == utc);
    bad_time("2026-01-01T00:00:00+24:00");
    bad_time("2026-01-01T00:00:00+01:60");
    bad_time("2026-01-01T00:00:00+1:00");
    bad_time("2026-01-01T00:00:00+0100");
}

static void test_time_parse_refuses_invalid_dates(void **state)
{
    (void)state;
    bad_time("");
    bad_time("2026-01-01");
    bad_time("2026-01-01T00:00:00"); /* no zone */
    bad_time("2026-01-01T00:00Z");
    bad_time("2026-1-01T00:00:00Z");
    bad_time("2026-00-10T00:00:00Z");
    bad_time("2026-13-10T00:00:00Z");
    bad_time("2026-01-00T00:00:00Z");
    bad_time("2026-01-32T00:00:00Z");
    bad_time("2026-02-29T00:00:00Z"); /* not a leap year */
    bad_time("2026-02-30T00:00:00Z");
    bad_time("2026-04-31T00:00:00Z");
    bad_time("2100-02-29T00:00:00Z");
    bad_time("2026-01-01T24:00:00Z");
    bad_time("2026-01-01T00:60:00Z");
    bad_time("2026-01-01T00:00:61Z");
    bad_time("2026-01-01T00:00:00.Z");
    bad_time("2026-01-01T00:00:00.1234567890Z"); /* ten fraction digits */
    bad_time("2026-01-01T00:00:00ZZ");
    bad_time("2026-01-01T00:00:00Z ");
    bad_time("2026-01-01X00:00:00Z");
    bad_time("yesterday");
    parsed("2000-02-29T00:00:00Z");
    parsed("2026-04-30T00:00:00Z");
    parsed("2026-12-31T23:59:59Z");
}

static void test_time_year_range_fits_int64(void **state)
{
    (void)state;
    parsed("1678-01-01T00:00:00Z");
    parsed("2261-12-31T23:59:59.999999999Z");
    bad_time("1677-12-31T23:59:59Z");
    bad_time("2262-01-01T00:00:00Z");
    bad_time("0001-01-01T00:00:00Z");
    bad_time("9999-12-31T23:59:59Z");
}

static void test_time_round_trip(void **state)
{
    (void)state;
    const int64_t samples[] = {0,
                               1,
                               -1,
                               1767225600 * SEC + 999999999,
                               4102444799LL * SEC,
                               -9000000000LL * SEC,
                               9000000000LL * SEC + 123000000};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char text[EM_TIME_TEXT_MAX];
        em_time_format(samples[i], text);
        int64_t back = 0;
        if (!em_time_parse(text, &back) || back != samples[i])
            fail_msg("%s did not round trip", text);
    }
}

/* ---------------------------------------------------------------- durations */

static void duration_formats(int64_t ns, const char *want)
{
    char text[EM_TIME_TEXT_MAX];
    em_duration_format(ns, text);
    assert_string_equal(text, want);
}

static int64_t duration(const char *text)
{
    int64_t ns = 0;
    if (!em_duration_parse(text, &ns))
        fail_msg("\"%s\" did not parse", text);
    return ns;
}

static void bad_duration(const char *text)
{
    int64_t ns = 777;
    if (em_duration_parse(text, &ns))
        fail_msg("\"%s\" parsed", text);
    assert_true(ns == 777);
}

static void test_duration_parse(void **state)
{
    (void)state;
    assert_true(duration("3.5s") == 3 * SEC + SEC / 2);
    assert_true(duration("-2s") == -2 * SEC);
    assert_true(duration("0s") == 0);
    assert_true(duration("86400s") == 86400 * SEC);
    assert_true(duration("0.000000001s") == 1);
    assert_true(duration("-0.5s") == -SEC / 2);
    assert_true(duration("9000000000s") == 9000000000LL * SEC);
    assert_true(duration("-9000000000s") == -9000000000LL * SEC);
    bad_duration("9000000001s");
    bad_duration("99999999999999999999s");
    bad_duration("");
    bad_duration("s");
    bad_duration("3");
    bad_duration("3.s");
    bad_duration(".5s");
    bad_duration("+3s");
    bad_duration("3 s");
    bad_duration("3S");
    bad_duration("3sx");
    bad_duration("1h");
    bad_duration("--3s");
    bad_duration("1.0000000001s");
}

static void test_duration_format(void **state)
{
    (void)state;
    duration_formats(0, "0s");
    duration_formats(3 * SEC + SEC / 2, "3.500s");
    duration_formats(-2 * SEC, "-2s");
    duration_formats(1, "0.000000001s");
    duration_formats(-1500000, "-0.001500s");
    duration_formats(86400 * SEC, "86400s");
    duration_formats(INT64_MIN, "-9223372036.854775808s");
    duration_formats(INT64_MAX, "9223372036.854775807s");
    int64_t back;
    assert_true(em_duration_parse("-0.001500s", &back) && back == -1500000);
}

/* ---------------------------------------------------------------- int64 */

static bool int64_of(const char *json, int64_t *out)
{
    cJSON *value = cJSON_Parse(json);
    if (!value)
        fail_msg("test JSON does not parse: %s", json);
    bool ok = em_json_value_int64(value, out);
    cJSON_Delete(value);
    return ok;
}

static void int64_is(const char *json, int64_t want)
{
    int64_t got = 0;
    if (!int64_of(json, &got))
        fail_msg("%s refused", json);
    assert_true(got == want);
}

static void int64_refused(const char *json)
{
    int64_t got = 55;
    if (int64_of(json, &got))
        fail_msg("%s accepted", json);
    assert_true(got == 55);
}

static void test_int64_values(void **state)
{
    (void)state;
    int64_is("42", 42);
    int64_is("-7", -7);
    int64_is("0", 0);
    int64_is("1e3", 1000);
    int64_is("9000000000000000000", 9000000000000000000LL);
    int64_is("-9100000000000000000", -9100000000000000000LL);
    int64_is("\"123\"", 123);
    int64_is("\"-9223372036854775808\"", INT64_MIN);
    int64_is("\"9223372036854775807\"", INT64_MAX);
    int64_refused("\"9223372036854775808\"");
    int64_refused("\"-9223372036854775809\"");
    int64_refused("1.5");
    int64_refused("\"1.5\"");
    int64_refused("\"\"");
    int64_refused("\"12abc\"");
    int64_refused("\"abc\"");
    int64_refused("1e999");
    int64_refused("-1e999");
    int64_refused("9.3e18");
    int64_refused("-9.3e18");
    int64_refused("true");
    int64_refused("null");
    int64_refused("[1]");
    int64_refused("{}");
    int64_t out = 0;
    assert_false(em_json_value_int64(NULL, &out));
}

/* ---------------------------------------------------------------- getters, setters */

static void test_getters_check_types(void **state)
{
    (void)state;
    cJSON *obj = cJSON_Parse("{\"s\": \"x\", \"n\": 5, \"big\": \"9007199254740993\","
                             " \"b\": true, \"f\": false, \"null\": null}");
    assert_string_equal(em_json_string(obj, "s"), "x");
    assert_null(em_json_string(obj, "n"));
    assert_null(em_json_string(obj, "missing"));
    assert_null(em_json_string(obj, "S"));
    int64_t v = 0;
    assert_true(em_json_int64(obj, "n", &v) && v == 5);
    assert_true(em_json_int64(obj, "big", &v) && v == 9007199254740993LL);
    assert_false(em_json_int64(obj, "s", &v));
    assert_false(em_json_int64(obj, "missing", &v));
    bool b = false;
    assert_true(em_json_bool(obj, "b", &b) && b);
    assert_true(em_json_bool(obj, "f", &b) && !b);
    assert_false(em_json_bool(obj, "n", &b));
    assert_false(em_json_bool(obj, "null", &b));
    cJSON_Delete(obj);
}

static void test_setters_use_the_proto3_encodings(void **state)
{
    (void)state;
    cJSON *obj = cJSON_CreateObject();
    em_json_add_int64(obj, "big", INT64_MIN);
    em_json_add_time(obj, "t", 1767225600 * SEC + 250000000);
    em_json_add_duration(obj, "d", 90 * SEC);
    em_json_add_bytes(obj, "b", (const unsigned char *)"\xfb\xff", 2);
    em_json_add_bytes(obj, "empty", NULL, 0);
    char *text = em_json_print_free(obj);
    assert_string_equal(text, "{\"big\":\"-9223372036854775808\","
                              "\"t\":\"2026-01-01T00:00:00.250Z\",\"d\":\"90s\","
                              "\"b\":\"+/8=\",\"empty\":\"\"}");
    free(text);
}

static void test_utf8_validation(void **state)
{
    (void)state;
    size_t bad = 99;
    const char *good[] = {"",
                          "plain ASCII",
                          "caf\xc3\xa9",
                          "\xe2\x82\xac",
                          "\xf0\x9f\x98\x80",
                          "\xef\xbf\xbf",
                          "\xf4\x8f\xbf\xbf",
                          "\xed\x9f\xbf"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!em_utf8_valid(good[i], strlen(good[i]), &bad))
            fail_msg("\"%s\" refused at %zu", good[i], bad);
    struct {
        const char *text;
        size_t len, bad;
    } refused[] = {
        {"ab\xff", 3, 2},
        {"\x80", 1, 0},
        {"caf\xc3", 4, 3},
        {"\xc0\xaf", 2, 0},
        {"\xc1\xbf", 2, 0},
        {"\xe0\x80\xaf", 3, 0},
        {"\xed\xa0\x80", 3, 0},
        {"\xf0\x80\x80\xaf", 4, 0},
        {"\xf4\x90\x80\x80", 4, 0},
        {"\xf5\x80\x80\x80", 4, 0},
        {"a\0b", 3, 1},
        {"\xe2\x82", 2, 0},
        {"\xe2\x28\xa1", 3, 0},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        bad = 99;
        if (em_utf8_valid(refused[i].text, refused[i].len, &bad))
            fail_msg("case %zu accepted", i);
        assert_int_equal(bad, refused[i].bad);
    }
    assert_false(em_utf8_valid("\xff", 1, NULL));
}

static void test_nul_escapes_in_json_strings(void **state)
{
    (void)state;
    size_t at = 0;
    const char *t = "{\"a\": \"x\\u0000y\"}";
    assert_true(em_json_has_nul_escape(t, strlen(t), &at));
    assert_int_equal(at, 8);
    t = "{\"k\\U0000\": 1}"; /* \U is not an escape; \u0000 is case-insensitive in hex only */
    assert_false(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "[\"\\u0000\"]";
    assert_true(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "[\"\\u000\"]"; /* too short */
    assert_false(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "[\"\\\\u0000\"]"; /* an escaped backslash, then the text u0000 */
    assert_false(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "[\"\\\"\\u0000\"]"; /* an escaped quote does not end the string */
    assert_true(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "[\"\\u0001\", \"\\u0100\", \"\\u00000\"]";
    assert_true(em_json_has_nul_escape(t, strlen(t), NULL)); /* the last one is \u0000 then 0 */
    t = "[\"\\u0001\", \"\\u0100\"]";
    assert_false(em_json_has_nul_escape(t, strlen(t), NULL));
    t = "{\"a\": \"x\\u0000y\"}"; /* only len bytes are read */
    assert_false(em_json_has_nul_escape(t, 9, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_padding_is_optional),
        cmocka_unit_test(test_base64_url_safe_input),
        cmocka_unit_test(test_base64_invalid_input),
        cmocka_unit_test(test_base64_round_trips_every_length),
        cmocka_unit_test(test_base64_valid_agrees_with_decode),
        cmocka_unit_test(test_time_format_fraction_digits),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_parse_offsets),
        cmocka_unit_test(test_time_parse_refuses_invalid_dates),
        cmocka_unit_test(test_time_year_range_fits_int64),
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
        cmocka_unit_test(test_int64_values),
        cmocka_unit_test(test_getters_check_types),
        cmocka_unit_test(test_setters_use_the_proto3_encodings),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_nul_escapes_in_json_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
