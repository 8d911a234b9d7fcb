/*
 * em_regex: RE2 regular expressions from C, as Google's services evaluate them (Bigtable's
 * RowFilter regexes, Spanner's REGEXP_* functions), on top of PCRE2.
 *
 * RE2 syntax (https://github.com/google/re2/wiki/Syntax) is mostly a subset of PCRE's, so a
 * pattern is first checked and translated by a small scanner that refuses what RE2 refuses
 * and PCRE2 would accept: backreferences (\1, \k<n>, (?P=n)), lookaround ((?=, (?!, (?<=,
 * (?<!), atomic groups and possessive quantifiers ((?>, *+), recursion and conditionals,
 * (*VERBS), inline flags other than i m s U, escapes RE2 lacks (\Z \G \R \X \K \h \e ...)
 * and counted repetitions above 1000, nested ones included (their counts multiply, as RE2
 * checks). It rewrites where the syntaxes mean different things: RE2's \C (any byte)
 * becomes (?s:.), RE2's octal escapes (\012) become \x{..}, and a literal '{' is escaped.
 * The result is compiled in PCRE2's 8-bit, non-UTF mode (RE2's Latin-1 mode: one byte is
 * one character, `.` does not match \n, `$` only at the end) and matched with PCRE2's DFA
 * matcher, which like RE2 does not backtrack, so matching time stays linear in the text
 * for most patterns; repetitions nested or in a row over a long text grow far faster in
 * PCRE2's matcher than in RE2's, so every match runs to a deadline (em_regex_full_match_by)
 * or EM_REGEX_MATCH_BUDGET_MS.
 *
 * Patterns and texts are byte strings: NUL and bytes >= 0x80 are ordinary characters.
 */
#ifndef EM_REGEX_H
#define EM_REGEX_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_REGEX_MAX_REPEAT 1000 /* RE2's limit on {n,m} */

struct em_regex;

/* Compiles an RE2 pattern in Latin-1 (byte) mode. On a pattern RE2 would refuse, returns
 * INVALID_ARGUMENT with RE2's kind of reason ("missing ): (ab", "invalid escape sequence:
 * \1"), which callers wrap in their own service's wording. */
enum em_code em_regex_compile(const uint8_t *pattern, size_t len, struct em_regex **out,
                              struct em_status *st);

/* The longest one match runs when its caller gives no deadline. */
#define EM_REGEX_MATCH_BUDGET_MS 1000

/* Whether the whole of text matches (RE2::FullMatch): 1 yes, 0 no, -1 when the deadline
 * (em_clock_monotonic()) passed before the matcher knew. */
int em_regex_full_match_by(const struct em_regex *re, const uint8_t *text, size_t len,
                           int64_t deadline);

/* The same within EM_REGEX_MATCH_BUDGET_MS, past which it answers false. */
bool em_regex_full_match(const struct em_regex *re, const uint8_t *text, size_t len);

/* Whether some part of text matches (RE2::PartialMatch), within EM_REGEX_MATCH_BUDGET_MS. */
bool em_regex_partial_match(const struct em_regex *re, const uint8_t *text, size_t len);

void em_regex_free(struct em_regex *re);

/* PCRE2's DFA matcher on a pattern compiled elsewhere (a pcre2_code of the 8-bit library,
 * compiled with PCRE2_AUTO_CALLOUT, without which the deadline is never read): 1 when the
 * pattern matches text at or after offset, 0 when not, -1 past the deadline. Spanner's
 * REGEXP_* functions (UTF mode, captures) use it where PCRE2's backtracking matcher gives
 * up: it settles whether there is a match without backtracking. */
int em_regex_dfa_search(const void *pcre2_code, const uint8_t *text, size_t len, size_t offset,
                        int64_t deadline);

#endif
