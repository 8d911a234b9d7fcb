/*
 * test_spanner_net: GoogleSQL's NET functions. The public suffix walk on a small list of
 * its own (wildcards, exceptions, the PRIVATE section, IDN rules) and on Debian's list;
 * the functions as a query calls them (translated, run on SQLite: results, NULLs, SAFE.,
 * Spanner's errors), the expected answers being those of Google's Spanner emulator; and
 * hostile arguments given to the SQLite functions directly (BYTES of every length 0 to
 * 17, invalid UTF-8, NUL bytes, 10 MiB strings), which must answer, never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_public_suffix.h"
#include "spanner_test_db.h"

/* ---- the public suffix walk ---- */

static const char small_list[] = "// a comment line, then rules\n"
                                 "com\n"
                                 "uk\r\n"
                                 "co.uk\r\n"
                                 "jp\n"
                                 "*.kawasaki.jp\n"
                                 "!city.kawasaki.jp\n"
                                 "*.ck\n"
                                 "!www.ck\n"
                                 "\xe4\xb8\xad\xe5\x9b\xbd  // 中国, in UTF-8\n"
                                 "\n"
                                 "// ===BEGIN PRIVATE DOMAINS===\n"
                                 "blogspot.com\n"
                                 "*.compute.example.com\n"
                                 "// ===END PRIVATE DOMAINS===\n";

/* The part of host the list finds, or "NULL". */
static const char *find(const struct sp_psl *psl, const char *host, enum sp_psl_part part)
{
    static char out[256];
    size_t offset;
    if (!sp_psl_find(psl, host, strlen(host), part, &offset))
        return "NULL";
    snprintf(out, sizeof(out), "%s", host + offset);
    return out;
}

#define SUFFIX(psl, host)     find((psl), (host), SP_PSL_PUBLIC_SUFFIX)
#define REGISTERED(psl, host) find((psl), (host), SP_PSL_REGISTERED_DOMAIN)

static void test_public_suffix_walk(void **state)
{
    (void)state;
    struct sp_psl *psl = sp_psl_parse(small_list, strlen(small_list));
    assert_non_null(psl);
    assert_string_equal(SUFFIX(psl, "www.google.co.uk"), "co.uk");
    assert_string_equal(REGISTERED(psl, "www.google.co.uk"), "google.co.uk");
    assert_string_equal(SUFFIX(psl, "co.uk"), "co.uk");
    assert_string_equal(REGISTERED(psl, "co.uk"), "NULL");
    /* a domain with only a wildcard under it is no suffix itself, as in Google's walk */
    assert_string_equal(SUFFIX(psl, "kawasaki.jp"), "jp");
    assert_string_equal(REGISTERED(psl, "kawasaki.jp"), "kawasaki.jp");
    assert_string_equal(SUFFIX(psl, "a.b.kawasaki.jp"), "b.kawasaki.jp");
    assert_string_equal(REGISTERED(psl, "a.b.kawasaki.jp"), "a.b.kawasaki.jp");
    assert_string_equal(SUFFIX(psl, "www.city.kawasaki.jp"), "kawasaki.jp");
    assert_string_equal(REGISTERED(psl, "www.city.kawasaki.jp"), "city.kawasaki.jp");
    /* but a top-level one is (the implicit "*") */
    assert_string_equal(SUFFIX(psl, "ck"), "ck");
    assert_string_equal(SUFFIX(psl, "x.www.ck"), "ck");
    assert_string_equal(REGISTERED(psl, "x.www.ck"), "www.ck");
    /* the PRIVATE section is no suffix */
    assert_string_equal(SUFFIX(psl, "foo.blogspot.com"), "com");
    assert_string_equal(REGISTERED(psl, "foo.blogspot.com"), "blogspot.com");
    assert_string_equal(REGISTERED(psl, "a.b.compute.example.com"), "example.com");
    /* unknown top-level domains, empty labels */
    assert_string_equal(SUFFIX(psl, "www.example.unknown"), "NULL");
    assert_string_equal(REGISTERED(psl, "1.2.3.4"), "NULL");
    assert_string_equal(SUFFIX(psl, "a..com"), "com");
    assert_string_equal(REGISTERED(psl, "a..com"), "NULL");
    /* answers as written: case, trailing dot, IDN in either form */
    assert_string_equal(REGISTERED(psl, "WWW.Google.CO.UK"), "Google.CO.UK");
    assert_string_equal(SUFFIX(psl, "x.com."), "com.");
    assert_string_equal(REGISTERED(psl, "www.例子.中国"), "例子.中国");
    assert_string_equal(SUFFIX(psl, "www.xn--fiqz9s.xn--fiqs8s"), "xn--fiqs8s");
    /* a host ICU refuses (only an uppercase or non-ASCII one is converted) */
    assert_string_equal(REGISTERED(psl, "-a.Com"), "NULL");
    assert_string_equal(REGISTERED(psl, "-a.com"), "-a.com");
    sp_psl_free(psl);
}

/* Odd list text parses into what it can. */
static void test_public_suffix_odd_lists(void **state)
{
    (void)state;
    static const char odd[] = "\xff\xfe\n*\n!\n*.\n.\n..\n!*.x\n"
                              "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t\ncom";
    struct sp_psl *psl = sp_psl_parse(odd, sizeof(odd) - 1);
    assert_non_null(psl);
    assert_string_equal(REGISTERED(psl, "x.com"), "x.com");
    assert_string_equal(SUFFIX(psl, "x.t"), "NULL"); /* the too-deep rule was left out */
    sp_psl_free(psl);
    psl = sp_psl_parse("", 0);
    assert_non_null(psl);
    assert_string_equal(SUFFIX(psl, "x.com"), "NULL");
    sp_psl_free(psl);
    sp_psl_free(NULL);
}

static void test_public_suffix_system_list(void **state)
{
    (void)state;
    const struct sp_psl *psl = sp_psl_system();
    assert_non_null(psl); /* Debian's publicsuffix package (scripts/install-deps) */
    assert_ptr_equal(sp_psl_system(), psl);
    assert_string_equal(REGISTERED(psl, "mail.google.co.uk"), "google.co.uk");
    assert_string_equal(SUFFIX(psl, "a.sch.uk"), "a.sch.uk");
    assert_string_equal(SUFFIX(psl, "sch.uk"), "uk");
}

/* ---- the functions in queries ---- */

struct sp_test_db db;

static int setup(void **state)
{
    (void)state;
    static const char *const ddl[] = {
        "CREATE TABLE Urls (Id INT64 NOT NULL, Url STRING(MAX), Host STRING(MAX) AS "
        "(NET.HOST(Url)) STORED) PRIMARY KEY (Id)",
        NULL,
    };
    return sp_test_open(&db, ddl);
}

static int teardown(void **state)
{
    (void)state;
    sp_test_close(&db);
    return 0;
}

#define RUN(cases)                                                                                 \
    assert_int_equal(sp_test_run_cases(&db, (cases), sizeof(cases) / sizeof((cases)[0])), 0)

static void test_url_functions(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT NET.HOST('http://user:pw@www.Example.COM:8080/a?b#c'), NET.HOST('//foo.com/x'), "
         "NET.HOST('mailto:foo@bar.com'), NET.HOST('http:/x.com'), "
         "NET.HOST('http://[2001:db8::1]:80/'), NET.HOST('..a..'), NET.HOST(' \\t ')",
         "[[\"www.Example.COM\",\"foo.com\",\"bar.com\",\"http\",\"[2001:db8::1]\",\"a.\",null]]"},
        {"SELECT NET.HOST('http:\\\\\\\\x.com\\\\y'), NET.HOST('a@b@c'), NET.HOST('x.com?a=b@c'), "
         "NET.HOST('http://:80'), NET.HOST('[::1'), NET.HOST('http://[::1]x:80')",
         "[[\"x.com\",\"c\",\"x.com\",null,\"[::1\",\"[::1]x\"]]"},
        {"SELECT NET.REG_DOMAIN('WWW.Google.COM'), NET.PUBLIC_SUFFIX('www.google.com.'), "
         "NET.REG_DOMAIN('foo.blogspot.com'), NET.PUBLIC_SUFFIX('kawasaki.jp'), "
         "NET.REG_DOMAIN('www.city.kawasaki.jp'), NET.REG_DOMAIN('1.2.3.4'), "
         "NET.REG_DOMAIN('-a.Com'), NET.REG_DOMAIN('Straße.de')",
         "[[\"Google.COM\",\"com.\",\"blogspot.com\",\"jp\",\"city.kawasaki.jp\",null,null,"
         "\"Straße.de\"]]"},
        {"SELECT NET.REG_DOMAIN('com'), NET.PUBLIC_SUFFIX('com'), "
         "NET.PUBLIC_SUFFIX('example。com'), "
         "NET.REG_DOMAIN(CONCAT(REPEAT('A', 300), '.com'))",
         "[[null,\"com\",\"example。com\",null]]"},
        {"INSERT INTO Urls (Id, Url) VALUES (1, 'https://Mail.Google.co.UK:443/x') THEN RETURN "
         "Host, NET.REG_DOMAIN(Url)",
         "modified 1 [[\"Mail.Google.co.UK\",\"Google.co.UK\"]]"},
        {"SELECT NET.HOST(b'x')",
         "INVALID_ARGUMENT: No matching signature for function NET.HOST for argument types: "
         "BYTES"},
        {"SELECT NET.HOST('a', 'b')", "INVALID_ARGUMENT: No matching signature for function "
                                      "NET.HOST with 2 arguments"},
        {"SELECT NET.NOPE(1)", "INVALID_ARGUMENT: Function not found: NET.NOPE"},
        {"SELECT `NET`.HOST('x'), NET . `HOST` ('y'), net.host('z'), SAFE.NET.HOST('w'), "
         "safe . `net` . host('v')",
         "[[\"x\",\"y\",\"z\",\"w\",\"v\"]]"},
        {"SELECT NET.HOST(NULL), NET.REG_DOMAIN(NULL), NET.PUBLIC_SUFFIX(CAST(NULL AS STRING))",
         "[[null,null,null]]"},
    };
    RUN(cases);
}

static void test_ip_functions(void **state)
{
    (void)state;
    static const struct sp_test_case cases[] = {
        {"SELECT NET.IP_FROM_STRING('1.2.3.4'), NET.IP_FROM_STRING('::1'), "
         "NET.SAFE_IP_FROM_STRING('01.2.3.4'), NET.SAFE_IP_FROM_STRING('fe80::1%eth0'), "
         "NET.SAFE_IP_FROM_STRING('0000:0000:0000:0000:0000:ffff:255.255.255.255')",
         "[[\"AQIDBA==\",\"AAAAAAAAAAAAAAAAAAAAAQ==\",null,null,\"AAAAAAAAAAAAAP///////w==\"]]"},
        {"SELECT NET.IP_FROM_STRING('bogus')",
         "OUT_OF_RANGE: NET.IP_FROM_STRING() encountered an unparseable IP-address: bogus"},
        {"SELECT NET.IP_TO_STRING(b'\\x01\\x02\\x03\\x04'), "
         "NET.IP_TO_STRING(NET.IP_FROM_STRING('::FFFF:1.2.3.4')), "
         "NET.IP_TO_STRING(NET.IP_FROM_STRING('1:0:0:2:0:0:3:4')), "
         "NET.IP_TO_STRING(NET.IP_FROM_STRING('::0.0.1.0'))",
         "[[\"1.2.3.4\",\"::ffff:1.2.3.4\",\"1::2:0:0:3:4\",\"::100\"]]"},
        /* bits 32 to 63 of fe80:0::/32 and ff02:0::/32 are cleared, as Google prints them */
        {"SELECT NET.IP_TO_STRING(FROM_HEX('fe80000000000001000000000000000a')), "
         "NET.IP_TO_STRING(FROM_HEX('ff0200000000000100000000000000aa')), "
         "NET.IP_TO_STRING(FROM_HEX('fe800001000000010000000000000001'))",
         "[[\"fe80::a\",\"ff02::aa\",\"fe80:1:0:1::1\"]]"},
        {"SELECT NET.IP_TO_STRING(b'abc')",
         "OUT_OF_RANGE: NET.IP_TO_STRING() encountered an invalid IP address. Expected 4 (for "
         "IPv4) or 16 (for IPv6) bytes but got 3"},
        {"SELECT NET.IP_NET_MASK(4, 22), NET.IP_NET_MASK(16, 1), NET.IP_NET_MASK(4, 0), "
         "NET.IP_TRUNC(b'\\xAA\\xBB\\xCC\\xDD', 11), NET.IP_TRUNC(b'\\xAA\\xBB\\xCC\\xDD', 32)",
         "[[\"///8AA==\",\"gAAAAAAAAAAAAAAAAAAAAA==\",\"AAAAAA==\",\"qqAAAA==\",\"qrvM3Q==\"]]"},
        {"SELECT NET.IP_NET_MASK(5, 1)",
         "OUT_OF_RANGE: The first argument of NET.IP_NET_MASK() must be either 4 (for IPv4) or "
         "16 (for IPv6); got 5"},
        {"SELECT NET.IP_NET_MASK(4, 33)",
         "OUT_OF_RANGE: The second argument of NET.IP_NET_MASK() must be between 0 and the "
         "first argument * 8; got 33"},
        {"SELECT NET.IP_TRUNC(b'abc', 100)",
         "OUT_OF_RANGE: The first argument of NET.IP_TRUNC() must have length 4 (for IPv4) or "
         "16 (for IPv6); got 3"},
        {"SELECT NET.IP_TRUNC(b'abcd', -1)",
         "OUT_OF_RANGE: The second argument of NET.IP_TRUNC() must be between 0 and 8 * "
         "LENGTH(first argument); got -1"},
        {"SELECT NET.IPV4_FROM_INT64(0), NET.IPV4_FROM_INT64(-1), "
         "NET.IPV4_FROM_INT64(-2147483648), NET.IPV4_FROM_INT64(4294967295), "
         "NET.IPV4_TO_INT64(b'\\x0a\\x00\\x00\\x01'), NET.IPV4_TO_INT64(b'\\xff\\xff\\xff\\xff')",
         "[[\"AAAAAA==\",\"/////w==\",\"gAAAAA==\",\"/////w==\",\"167772161\",\"4294967295\"]]"},
        {"SELECT NET.IPV4_FROM_INT64(-2147483649)",
         "OUT_OF_RANGE: NET.IPV4_FROM_INT64() encountered an invalid integer IP. Expected range: "
         "[-0x80000000, 0xFFFFFFFF]; got -2147483649"},
        {"SELECT NET.IPV4_TO_INT64(NET.IP_FROM_STRING('::1'))",
         "OUT_OF_RANGE: NET.IPV4_TO_INT64() encountered a non-IPv4 address. Expected 4 bytes but "
         "got 16"},
        {"SELECT SAFE.NET.IP_FROM_STRING('x'), SAFE.NET.IP_TRUNC(b'abc', 1), "
         "SAFE.NET.IPV4_TO_INT64(b''), SAFE.NET.IPV4_FROM_INT64(4294967296), "
         "SAFE.NET.IP_NET_MASK(0, 0), SAFE.NET.IP_TO_STRING(b'\\x00\\x00\\x00\\x00')",
         "[[null,null,null,null,null,\"0.0.0.0\"]]"},
        /* SAFE. covers the function's own errors, not its arguments' */
        {"SELECT SAFE.NET.IP_TRUNC(NET.IP_FROM_STRING('x'), 1)",
         "OUT_OF_RANGE: NET.IP_FROM_STRING() encountered an unparseable IP-address: x"},
        {"SELECT NET.IP_NET_MASK(NULL, 1), NET.IP_TRUNC(b'', NULL), NET.IP_TO_STRING(NULL), "
         "NET.IPV4_FROM_INT64(NULL), NET.IPV4_TO_INT64(NULL), NET.SAFE_IP_FROM_STRING(NULL)",
         "[[null,null,null,null,null,null]]"},
        {"SELECT NET.IP_TRUNC(b'abcd', 1.0)",
         "INVALID_ARGUMENT: No matching signature for function NET.IP_TRUNC for argument types: "
         "BYTES, FLOAT64"},
        {"SELECT NET.IPV4_TO_INT64('1.2.3.4')",
         "INVALID_ARGUMENT: No matching signature for function NET.IPV4_TO_INT64"},
    };
    RUN(cases);
}

/* ---- hostile arguments, straight to the SQLite functions ---- */

/* Runs sql (one column, one row) with blob or text ?1 of len bytes (text when is_text);
 * the step's result code, and the error's text in error (when not a row). */
static int call_with(const char *sql, const void *arg, size_t len, bool is_text, char *error,
                     size_t error_size)
{
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db.db, sql, -1, &stmt, NULL), SQLITE_OK);
    if (is_text)
        sqlite3_bind_text64(stmt, 1, arg, len, SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_blob64(stmt, 1, arg, len, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    snprintf(error, error_size, "%s", rc == SQLITE_ROW ? "" : sqlite3_errmsg(db.db));
    sqlite3_finalize(stmt);
    return rc;
}

static void test_bytes_of_every_length(void **state)
{
    (void)state;
    static const char *const calls[] = {
        "SELECT sp_net_ip_to_string(?1)",
        "SELECT sp_net_ipv4_to_int64(?1)",
        "SELECT sp_net_ip_trunc(?1, 3)",
    };
    unsigned char bytes[17];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)(0xF0 + i);
    for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
        for (size_t len = 0; len <= sizeof(bytes); len++) {
            char error[512], safe[64];
            bool valid = len == 16 ? c != 1 : len == 4;
            int rc = call_with(calls[c], bytes, len, false, error, sizeof(error));
            assert_int_equal(rc, valid ? SQLITE_ROW : SQLITE_ERROR);
            if (!valid)
                assert_true(strncmp(error, "OUT_OF_RANGE: ", 14) == 0);
            snprintf(safe, sizeof(safe), "SELECT safe_%s", calls[c] + 7);
            assert_int_equal(call_with(safe, bytes, len, false, error, sizeof(error)), SQLITE_ROW);
        }
    }
}

static void test_invalid_text(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
    } texts[] = {
        {"\xff\xfe.Com", 7},
        {"a\0b.Com", 7},
        {"\xc3", 1},
        {"[\xff::1]:80", 10},
        {"http://\xe2\x82", 9},
        {"1.2.3.4\0", 8},
        {"\xed\xa0\x80.com", 7},
        {"", 0},
        {"Xn--a.Com", 9},
    };
    static const char *const calls[] = {
        "SELECT sp_net_host(?1)",
        "SELECT sp_net_reg_domain(?1)",
        "SELECT sp_net_public_suffix(?1)",
        "SELECT sp_net_safe_ip_from_string(?1)",
    };
    char error[512];
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
            assert_int_equal(
                call_with(calls[c], texts[t].text, texts[t].len, true, error, sizeof(error)),
                SQLITE_ROW);
        assert_int_equal(call_with("SELECT sp_net_ip_from_string(?1)", texts[t].text, texts[t].len,
                                   true, error, sizeof(error)),
                         SQLITE_ERROR);
        assert_true(strncmp(error, "OUT_OF_RANGE: ", 14) == 0);
    }
}

static void test_huge_text(void **state)
{
    (void)state;
    size_t len = 10 * 1024 * 1024;
    char *text = malloc(len + 8);
    assert_non_null(text);
    static const char *const fills[] = {"a", "A.", "a.", "[", "\xc2\xad", "@:"};
    static const char *const calls[] = {
        "SELECT sp_net_host(?1)",
        "SELECT sp_net_reg_domain(?1)",
        "SELECT sp_net_public_suffix(?1)",
        "SELECT sp_net_safe_ip_from_string(?1)",
    };
    char error[512];
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        size_t n = strlen(fills[f]);
        for (size_t i = 0; i + n <= len; i += n)
            memcpy(text + i, fills[f], n);
        memcpy(text + len - len % n, ".com", 4); /* after the last whole fill */
        size_t text_len = len - len % n + 4;
        for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++)
            assert_int_equal(call_with(calls[c], text, text_len, true, error, sizeof(error)),
                             SQLITE_ROW);
        assert_int_equal(call_with("SELECT sp_net_ip_from_string(?1)", text, text_len, true, error,
                                   sizeof(error)),
                         SQLITE_ERROR);
        assert_true(strlen(error) < 400); /* the message quotes a bounded part */
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_suffix_walk),
        cmocka_unit_test(test_public_suffix_odd_lists),
        cmocka_unit_test(test_public_suffix_system_list),
        cmocka_unit_test_setup_teardown(test_url_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_of_every_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
