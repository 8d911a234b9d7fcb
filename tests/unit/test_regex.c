/*
 * test_regex: em_regex against RE2's documented behaviour: full and partial matches on
 * bytes (NUL, \n, bytes >= 0x80), \C as any byte, octal escapes, UTF-8 and Latin-1
 * modes, searches with groups from an offset, linear time where backtracking is not, and
 * the constructs RE2 refuses (those of other dialects: backreferences, lookaround, ...)
 * with RE2's reasons.
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

/* Patterns that make a backtracking matcher take exponential time: RE2 answers at once. */
static void test_no_catastrophic_backtracking(void **state)
{
    (void)state;
    static const char *patterns[] = {"(a*)*b", "(a+)+$", "^(ab|a|b)*$", "(a|aa)+c"};
    static char text[100001];
    memset(text, 'a', 100000);
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        struct em_status st = {0};
        struct em_regex *re = NULL;
        assert_int_equal(
            em_regex_compile((const uint8_t *)patterns[i], strlen(patterns[i]), &re, &st), EM_OK);
        text[100000] = '!';
        assert_false(em_regex_full_match(re, (const uint8_t *)text, 100001));
        em_regex_free(re);
    }
}

/* UTF-8 mode reads characters, Latin-1 mode bytes; a UTF-8 pattern must be valid UTF-8. */
static void test_encodings(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_regex *utf8 = NULL, *latin1 = NULL;
    const uint8_t *p = (const uint8_t *)"h.llo";
    assert_int_equal(em_regex_compile_as(p, 5, EM_REGEX_UTF8, &utf8, &st), EM_OK);
    assert_int_equal(em_regex_compile_as(p, 5, EM_REGEX_LATIN1, &latin1, &st), EM_OK);
    const uint8_t *text = (const uint8_t *)"h\xc3\xa9llo"; /* héllo */
    assert_true(em_regex_full_match(utf8, text, 6));
    assert_false(em_regex_full_match(latin1, text, 6)); /* é is two characters there */
    em_regex_free(utf8);
    em_regex_free(latin1);

    assert_int_equal(em_regex_compile_as((const uint8_t *)"a\xff", 2, EM_REGEX_UTF8, &utf8, &st),
                     EM_INVALID_ARGUMENT);
    assert_null(utf8);
    assert_non_null(strstr(st.message, "invalid UTF-8"));
}

/* em_regex_search: the leftmost match from an offset, its groups, unset groups, and the
 * text before the offset as context. */
static void test_search(void **state)
{
    (void)state;
    struct em_status st = {0};
    struct em_regex *re = NULL;
    const char *pattern = "(\\w)=(x)?";
    assert_int_equal(em_regex_compile((const uint8_t *)pattern, strlen(pattern), &re, &st), EM_OK);
    assert_int_equal(em_regex_groups(re), 2);
    const uint8_t *text = (const uint8_t *)"k=v, j=x";
    struct em_regex_span g[3];
    assert_int_equal(em_regex_search(re, text, 8, 0, g, 3), 1);
    assert_true(g[0].set && g[0].from == 0 && g[0].to == 2);
    assert_true(g[1].set && g[1].from == 0 && g[1].to == 1);
    assert_false(g[2].set);
    assert_int_equal(em_regex_search(re, text, 8, 1, g, 3), 1);
    assert_true(g[0].from == 5 && g[0].to == 8 && g[2].set && g[2].from == 7);
    assert_int_equal(em_regex_search(re, text, 8, 8, g, 3), 0);
    assert_int_equal(em_regex_search(re, text, 8, 9, g, 3), 0); /* past the end */
    assert_int_equal(em_regex_search(re, text, 8, 0, g, 4), 0); /* more spans than groups */
    em_regex_free(re);

    /* ^ does not match at an offset; an empty match is set, and at the offset */
    assert_int_equal(em_regex_compile((const uint8_t *)"^a|b*", 5, &re, &st), EM_OK);
    assert_int_equal(em_regex_search(re, (const uint8_t *)"aa", 2, 1, g, 1), 1);
    assert_true(g[0].set && g[0].from == 1 && g[0].to == 1);
    assert_int_equal(em_regex_search(re, (const uint8_t *)"", 0, 0, g, 1), 1);
    assert_true(g[0].set && g[0].from == 0 && g[0].to == 0);
    em_regex_free(re);
}

static const struct {
    const char *pattern;
    const char *reason;
} refused[] = {
    {"(a)\\1", "invalid escape sequence: \\1"},
    {"\\8", "invalid escape sequence: \\8"},
    {"(?P<n>a)(?P=n)", "invalid perl operator: (?P"},
    {"\\k<n>", "invalid escape sequence: \\k"},
    {"a(?=b)", "invalid perl operator: (?="},
    {"a(?!b)", "invalid perl operator: (?!"},
    {"(?<=a)b", "invalid perl operator: (?<"},
    {"(?<!a)b", "invalid perl operator: (?<"},
    {"(?>a)", "invalid perl operator: (?>"},
    {"a*+", "bad repetition operator: *+"},
    {"a++", "bad repetition operator: ++"},
    {"a{2}+", "bad repetition operator: {2}+"},
    {"(?R)", "invalid perl operator: (?R"},
    {"(?(1)a|b)", "invalid perl operator: (?("},
    {"(?x)a", "invalid perl operator: (?x"},
    {"(?#c)", "invalid perl operator: (?#"},
    {"(*ACCEPT)", "no argument for repetition operator: *"},
    {"a\\Z", "invalid escape sequence: \\Z"},
    {"\\Ga", "invalid escape sequence: \\G"},
    {"\\R", "invalid escape sequence: \\R"},
    {"\\X", "invalid escape sequence: \\X"},
    {"a\\Kb", "invalid escape sequence: \\K"},
    {"\\h", "invalid escape sequence: \\h"},
    {"[\\C]", "invalid escape sequence: \\C"},
    {"a{1001}", "invalid repetition size: {1001}"},
    {"a{2,1}", "invalid repetition size: {2,1}"},
    {"(a{1000}){2}", "invalid repetition size: {2}"}, /* nested counts multiply past 1000 */
    {"((a{10}){10}b){11}", "invalid repetition size: {11}"},
    {"(?:(?i)(a{100})){11}", "invalid repetition size: {11}"},
    {"a\\", "trailing \\"},
    {"[abc", "missing ]: [abc"},
    {"(ab", "missing ): (ab"},
    {"a)", "unexpected ): a)"},
    {"*a", "no argument for repetition operator: *"},
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
        if (!strstr(st.message, refused[i].reason))
            fail_msg("/%s/: \"%s\" does not say \"%s\"", p, st.message, refused[i].reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_partial_match),
        cmocka_unit_test(test_no_catastrophic_backtracking),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
