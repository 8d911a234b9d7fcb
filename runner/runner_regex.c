/*
 * runner_regex: the cost check of a pipeline's regular expression (see runner_regex.h).
 * A recursive descent over POSIX ERE that computes the size glibc's regcomp expands the
 * pattern to: an atom or bracket expression counts 1, x* and x? one more than x, x+
 * twice x plus one, x{m,n} max(m, n, 1) times x (x{m,} m + 1 times), a sequence or an
 * alternation the sum of its parts. Sizes saturate just above the limit, which is
 * RN_REGEX_MAX_SIZE or, for a longer pattern, its length: only expansion is refused.
 */
#include "runner_regex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x)         #x
#define STR(x)          STR_(x)
#define EXPAND_MAX_TEXT STR(RN_REGEX_MAX_SIZE)

struct scan {
    const char *p;
    int depth;
    long limit;      /* RN_REGEX_MAX_SIZE, or the pattern's length if longer */
    const char *why; /* set when refused */
};

static long capped(const struct scan *s, long size)
{
    return size > s->limit ? s->limit + 1 : size;
}

static long alternation(struct scan *s);

/* A bracket expression from its '[': its ']' may come first (after an optional '^'), and
 * [:class:], [=equiv=] and [.coll.] hold their own ']'. */
static void skip_bracket(struct scan *s)
{
    s->p++;
    if (*s->p == '^')
        s->p++;
    if (*s->p == ']')
        s->p++;
    while (*s->p && *s->p != ']') {
        if (*s->p == '[' && (s->p[1] == ':' || s->p[1] == '=' || s->p[1] == '.')) {
            char close = s->p[1];
            s->p += 2;
            while (*s->p && !(s->p[0] == close && s->p[1] == ']'))
                s->p++;
            if (*s->p)
                s->p += 2;
            continue;
        }
        s->p++;
    }
    if (*s->p)
        s->p++;
}

/* One atom: its size (0 when refused). */
static long atom(struct scan *s)
{
    if (*s->p == '(') {
        if (++s->depth > RN_REGEX_MAX_DEPTH) {
            s->why = "groups are nested too deeply";
            return 0;
        }
        s->p++;
        long size = alternation(s);
        if (*s->p == ')')
            s->p++;
        s->depth--;
        return size;
    }
    if (*s->p == '[') {
        skip_bracket(s);
        return 1;
    }
    if (*s->p == '\\' && s->p[1] >= '1' && s->p[1] <= '9') {
        s->why = "backreferences are not supported";
        return 0;
    }
    s->p += *s->p == '\\' && s->p[1] ? 2 : 1;
    return 1;
}

/* A repetition operator at s->p: its factor on x's size (x* -> x + 1 is factor 1, plus 1),
 * or 0 when there is none. {m,n} ({m}, {m,}, {,n}) that does not parse is a literal '{', left
 * to regcomp. A
 * count past the limit is the limit plus one. */
static long repetition(struct scan *s, long *plus)
{
    *plus = 0;
    if (*s->p == '*' || *s->p == '?') {
        s->p++;
        *plus = 1;
        return 1;
    }
    if (*s->p == '+') {
        s->p++;
        *plus = 1;
        return 2;
    }
    if (*s->p != '{' || !(isdigit((unsigned char)s->p[1]) || s->p[1] == ','))
        return 0;
    char *end = (char *)s->p + 1; /* glibc reads {,n} as {0,n} */
    long m = *end == ',' ? 0 : strtol(end, &end, 10), n = m;
    if (*end == ',') {
        end++;
        n = isdigit((unsigned char)*end) ? strtol(end, &end, 10) : m + 1;
    }
    if (*end != '}')
        return 0;
    s->p = end + 1;
    if (m > s->limit || n > s->limit)
        return s->limit + 1;
    return m > n ? (m ? m : 1) : (n ? n : 1);
}

/* An atom with its repetition operator; a second operator after it is refused. */
static long repeated(struct scan *s)
{
    long size = atom(s), plus;
    if (s->why)
        return 0;
    long factor = repetition(s, &plus);
    if (factor == 0)
        return size;
    size = capped(s, size * factor + plus);
    if (repetition(s, &plus)) {
        s->why = "repetition operators follow each other";
        return 0;
    }
    return size;
}

static long alternation(struct scan *s)
{
    long size = 0;
    while (*s->p && *s->p != ')' && !s->why) {
        if (*s->p == '|') {
            s->p++;
            continue;
        }
        size = capped(s, size + repeated(s));
    }
    return size;
}

bool rn_regex_affordable(const char *pattern, const char **why)
{
    size_t len = strlen(pattern);
    struct scan s = {pattern, 0, len > RN_REGEX_MAX_SIZE ? (long)len : RN_REGEX_MAX_SIZE, NULL};
    long size = 0;
    while (*s.p && !s.why) {
        size = capped(&s, size + alternation(&s));
        if (*s.p == ')')
            s.p++; /* unbalanced: regcomp says so */
    }
    if (!s.why && size > s.limit)
        s.why = "its repetitions expand past " EXPAND_MAX_TEXT " nodes (nested counts multiply)";
    *why = s.why;
    return !s.why;
}
