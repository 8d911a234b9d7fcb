/*
 * em_regex: the C interface of em_regex.h over RE2's C++ API. Nothing here throws into C:
 * an allocation that fails inside RE2 (std::bad_alloc) becomes INTERNAL or -1.
 */
/* the core's C headers declare no C++ linkage of their own */
extern "C" {
#include "em_status.h"
}
#include "em_regex.h"

#include <re2/re2.h>

#include <new>

struct em_regex {
    RE2 *re2;
};

/* A text as RE2 reads it. An empty one still points somewhere: RE2 tells a group that
 * matched the empty string from one that did not take part by its pointer alone. */
static re2::StringPiece piece_of(const uint8_t *text, size_t len)
{
    return re2::StringPiece(len ? reinterpret_cast<const char *>(text) : "", len);
}

enum em_code em_regex_compile_as(const uint8_t *pattern, size_t len,
                                 enum em_regex_encoding encoding, struct em_regex **out,
                                 struct em_status *st)
{
    *out = nullptr;
    RE2::Options options;
    options.set_log_errors(false); /* RE2 would print every refused pattern on stderr */
    options.set_encoding(encoding == EM_REGEX_UTF8 ? RE2::Options::EncodingUTF8
                                                   : RE2::Options::EncodingLatin1);
    try {
        RE2 *re2 = new RE2(piece_of(pattern, len), options);
        if (!re2->ok()) {
            enum em_code rc = EM_FAIL(st, EM_INVALID_ARGUMENT, "%.400s", re2->error().c_str());
            delete re2;
            return rc;
        }
        struct em_regex *re = new (std::nothrow) em_regex{re2};
        if (!re) {
            delete re2;
            return EM_FAIL_OOM(st);
        }
        *out = re;
        return EM_OK;
    } catch (const std::bad_alloc &) {
        return EM_FAIL_OOM(st);
    }
}

enum em_code em_regex_compile(const uint8_t *pattern, size_t len, struct em_regex **out,
                              struct em_status *st)
{
    return em_regex_compile_as(pattern, len, EM_REGEX_LATIN1, out, st);
}

/* RE2::Match with no groups asked for; false also when memory ran out. */
static bool matches(const struct em_regex *re, const uint8_t *text, size_t len, RE2::Anchor anchor)
{
    try {
        return re->re2->Match(piece_of(text, len), 0, len, anchor, nullptr, 0);
    } catch (const std::bad_alloc &) {
        return false;
    }
}

bool em_regex_full_match(const struct em_regex *re, const uint8_t *text, size_t len)
{
    return matches(re, text, len, RE2::ANCHOR_BOTH);
}

bool em_regex_partial_match(const struct em_regex *re, const uint8_t *text, size_t len)
{
    return matches(re, text, len, RE2::UNANCHORED);
}

int em_regex_groups(const struct em_regex *re)
{
    return re->re2->NumberOfCapturingGroups();
}

int em_regex_search(const struct em_regex *re, const uint8_t *text, size_t len, size_t offset,
                    struct em_regex_span *spans, int n)
{
    if (offset > len || n < 0 || n > 1 + em_regex_groups(re))
        return 0;
    try {
        re2::StringPiece whole = piece_of(text, len);
        re2::StringPiece *groups = n ? new re2::StringPiece[n] : nullptr;
        bool found = re->re2->Match(whole, offset, len, RE2::UNANCHORED, groups, n);
        for (int i = 0; found && i < n; i++) {
            spans[i].set = groups[i].data() != nullptr;
            spans[i].from = spans[i].set ? (size_t)(groups[i].data() - whole.data()) : 0;
            spans[i].to = spans[i].from + (spans[i].set ? groups[i].size() : 0);
        }
        delete[] groups;
        return found ? 1 : 0;
    } catch (const std::bad_alloc &) {
        return -1;
    }
}

void em_regex_free(struct em_regex *re)
{
    if (!re)
        return;
    delete re->re2;
    delete re;
}
