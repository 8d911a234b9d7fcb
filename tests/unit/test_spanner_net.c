/*
 * test_spanner_net: GoogleSQL's NET functions. The public suffix walk on a small list of
 * its own (wildcards, exceptions, the PRIVATE section, IDN rules) and on Debian's list,
 * the expected answers being those of Google's Spanner emulator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_public_suffix.h"
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_suffix_walk),
        cmocka_unit_test(test_public_suffix_odd_lists),
        cmocka_unit_test(test_public_suffix_system_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
