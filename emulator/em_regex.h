/*
 * em_regex: RE2 regular expressions from C, as Google's services evaluate them: Bigtable's
 * RowFilter regexes and Spanner's REGEXP_* functions run RE2 itself (Debian's libre2), so
 * the syntax, the errors ("missing ): (ab", "invalid perl operator: (?="), the matches and
 * the guarantee of matching time linear in the text are RE2's. This is the emulator's one
 * C++ file (em_regex.cc): a thin shim with a C interface.
 *
 * Patterns and texts are byte strings of a given length: NUL is an ordinary character.
 * In Latin-1 mode (Bigtable; Spanner's BYTES) one byte is one character, bytes >= 0x80
 * included; in UTF-8 mode (Spanner's STRING) characters are UTF-8 sequences. In both, `.`
 * does not match \n and `$` matches only at the end unless the pattern says otherwise
 * ((?s), (?m)), and \C matches any one byte.
 */
#ifndef EM_REGEX_H
#define EM_REGEX_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct em_regex;

enum em_regex_encoding {
    EM_REGEX_LATIN1, /* one byte is one character */
    EM_REGEX_UTF8,
};

/* Compiles an RE2 pattern. On a pattern RE2 refuses, returns INVALID_ARGUMENT with RE2's
 * reason ("missing ): (ab", "invalid escape sequence: \1"), which callers wrap in their own
 * service's wording; INTERNAL when memory ran out. */
enum em_code em_regex_compile_as(const uint8_t *pattern, size_t len,
                                 enum em_regex_encoding encoding, struct em_regex **out,
                                 struct em_status *st);

/* The same in Latin-1 mode (Bigtable's filters). */
enum em_code em_regex_compile(const uint8_t *pattern, size_t len, struct em_regex **out,
                              struct em_status *st);

/* Whether the whole of text matches (RE2::FullMatch). */
bool em_regex_full_match(const struct em_regex *re, const uint8_t *text, size_t len);

/* Whether some part of text matches (RE2::PartialMatch). */
bool em_regex_partial_match(const struct em_regex *re, const uint8_t *text, size_t len);

/* The pattern's number of capturing groups. */
int em_regex_groups(const struct em_regex *re);

/* Where a match or one of its groups lies in the text: [from, to), when set (a group that
 * took no part in the match is not). */
struct em_regex_span {
    size_t from, to;
    bool set;
};

/* The leftmost match (RE2's leftmost-first rule) starting at or after offset, the text
 * before offset counting as context for ^ and \b as in RE2::Match: 1 found, spans[0] the
 * whole match and spans[1..n-1] the first groups (n at most 1 + em_regex_groups; n may be
 * 0); 0 when there is none; -1 when memory ran out. */
int em_regex_search(const struct em_regex *re, const uint8_t *text, size_t len, size_t offset,
                    struct em_regex_span *spans, int n);

void em_regex_free(struct em_regex *re);

#ifdef __cplusplus
}
#endif

#endif
