/*
 * test_regex: em_regex against RE2's documented behaviour: full and partial matches on
 * bytes (NUL, \n, bytes >= 0x80), \C as any byte, octal escapes, and every construct RE2
 * refuses although PCRE2 would accept it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_regex.h"

#include <string.h>

struct match_case {
    const char *pattern;
    size_t pattern_len; /* 0: strlen */
    const char *text;
    size_t text_len; /* 0: strlen */
    bool full;
};

static const struct match_case match_cases[] = {
    {"abc", 0, "abc", 0, true},
    {"abc", 0, "abcd", 0, false},  /* full match, not a prefix */
    {"b", 0, "abc", 0, false},     /* nor a substring */
    {"a|ab", 0, "ab", 0, true},    /* alternation backtracks to the end */
    {"a.c", 0, "a\nc", 0, false},  /* . does not match \n */
    {"a\\Cc", 0, "a\nc", 0, true}, /* \C matches any byte */
    {"\\C*", 0, "\xff\x00\n", 3, true},
    {"abc$", 0, "abc\n", 0, false}, /* $ only at the very end */
    {"(?s)a.c", 0, "a\nc", 0, true},
    {"(?i)ABC", 0, "abc", 0, true},
    {"(?U)a+", 0, "aaa", 0, true},
    {"(?P<x>a)b", 0, "ab", 0, true},
    {"\\x{41}\\x42", 0, "AB", 0, true},
    {"\\101", 0, "A", 0, true}, /* octal */
    {"\\0", 0, "\0", 1, true},
    {"\\012", 0, "\n", 0, true},
    {"[^a]", 0, "\xe9", 0, true}, /* one byte is one character */
    {"\xe9+", 0, "\xe9\xe9", 0, true},
    {"a\0b", 3, "a\0b", 3, true}, /* NUL in pattern and text */
    {"[[:digit:]]{3}", 0, "123", 0, true},
    {"[]a]+", 0, "]a]", 0, true},
    {"a{2,3}", 0, "aaaa", 0, false},
    {"a{,2}", 0, "a{,2}", 0, true},           /* not a repetition in RE2: literal */
    {"((a{10}){10}b){10}", 0, "a", 0, false}, /* a product of exactly 1000 is allowed */
    {"(a{1000})*(b{1000})", 0, "", 0, false},
    {"(?i)(a){2}", 0, "AA", 0, true},
    {"x{", 0, "x{", 0, true},
    {"\\Q.*\\E", 0, ".*", 0, true},
    {"\\Q.*\\E", 0, "ab", 0, false},
    {"\\d\\s\\w", 0, "1 a", 0, true},
    {"\\pL", 0, "a", 0, true},
    {"", 0, "", 0, true},
    {"", 0, "a", 0, false},
};

static void test_matches(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        size_t plen = c->pattern_len ? c->pattern_len : strlen(c->pattern);
        size_t tlen = c->text_len ? c->text_len : strlen(c->text);
        struct em_status st = {0};
        struct em_regex *re = NULL;
        if (em_regex_compile((const uint8_t *)c->pattern, plen, &re, &st) != EM_OK)
            fail_msg("%s: %s", c->pattern, st.message);
        if (em_regex_full_match(re, (const uint8_t *)c->text, tlen) != c->full)
            fail_msg("case %zu: /%s/ on \"%s\" should %s", i, c->pattern, c->text,
                     c->full ? "match" : "not match");
        em_regex_free(re);
    }
}

static void test_partial_match(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_regex *re = NULL;
    assert_int_equal(em_regex_compile((const uint8_t *)"b+", 2, &re, &st), EM_OK);
    assert_true(em_regex_partial_match(re, (const uint8_t *)"abbc", 4));
    assert_false(em_regex_full_match(re, (const uint8_t *)"abbc", 4));
    assert_false(em_regex_partial_match(re, (const uint8_t *)"ac", 2));
    em_regex_free(re);
}

/* A pattern that makes a backtracking matcher take exponential time: the DFA answers at
 * once. */
static void test_no_catastrophic_backtracking(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_regex *re = NULL;
    const char *pattern = "(a*)*b";
    assert_int_equal(em_regex_compile((const uint8_t *)pattern, strlen(pattern), &re, &st), EM_OK);
    char text[5001];
    memset(text, 'a', 5000);
    text[5000] = '\0';
    assert_false(em_regex_full_match(re, (const uint8_t *)text, 5000));
    em_regex_free(re);
}

static const struct {
    const char *pattern;
    const char *reason;
} refused[] = {
    {"(a)\\1", "invalid escape sequence: \\1"},
    {"\\8", "invalid escape sequence: \\8"},
    {"(?P<n>a)(?P=n)", "invalid or unsupported Perl syntax"},
    {"\\k<n>", "invalid escape sequence: \\k"},
    {"a(?=b)", "invalid or unsupported Perl syntax: (?="},
    {"a(?!b)", "invalid or unsupported Perl syntax: (?!"},
    {"(?<=a)b", "invalid or unsupported Perl syntax: (?<"},
    {"(?<!a)b", "invalid or unsupported Perl syntax: (?<"},
    {"(?>a)", "invalid or unsupported Perl syntax: (?>"},
    {"a*+", "bad repetition operator: *+"},
    {"a++", "bad repetition operator: ++"},
    {"a{2}+", "bad repetition operator: {2}+"},
    {"(?R)", "invalid or unsupported Perl syntax: (?R"},
    {"(?(1)a|b)", "invalid or unsupported Perl syntax: (?("},
    {"(?x)a", "invalid or unsupported Perl syntax: (?x"},
    {"(?#c)", "invalid or unsupported Perl syntax: (?#"},
    {"(*ACCEPT)", "missing argument to repetition operator: (*"},
    {"a\\Z", "invalid escape sequence: \\Z"},
    {"\\Ga", "invalid escape sequence: \\G"},
    {"\\R", "invalid escape sequence: \\R"},
    {"\\X", "invalid escape sequence: \\X"},
    {"a\\Kb", "invalid escape sequence: \\K"},
    {"\\h", "invalid escape sequence: \\h"},
    {"[\\C]", "invalid escape sequence: \\C"},
    {"a{1001}", "bad repetition operator: {1001}"},
    {"a{2,1}", "bad repetition operator: {2,1}"},
    {"(a{1000}){2}", "bad repetition operator: {2}"}, /* nested counts multiply past 1000 */
    {"((a{10}){10}b){11}", "bad repetition operator: {11}"},
    {"(?:(?i)(a{100})){11}", "bad repetition operator: {11}"},
    {"a\\", "trailing \\"},
    {"[abc", "missing closing ]"},
    {"(ab", NULL}, /* PCRE2's own wording: only the code is checked */
    {"a)", NULL},
    {"*a", NULL},
};

static void test_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct em_status st = {0};
        struct em_regex *re = NULL;
        const char *p = refused[i].pattern;
        if (em_regex_compile((const uint8_t *)p, strlen(p), &re, &st) != EM_INVALID_ARGUMENT)
            fail_msg("/%s/ should be refused", p);
        assert_null(re);
        if (refused[i].reason && !strstr(st.message, refused[i].reason))
            fail_msg("/%s/: \"%s\" does not say \"%s\"", p, st.message, refused[i].reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_partial_match),
        cmocka_unit_test(test_no_catastrophic_backtracking),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
