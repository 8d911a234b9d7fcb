/*
 * em_regex: RE2 patterns checked and translated for PCRE2, compiled in byte mode and
 * matched without backtracking. See em_regex.h for what is refused and rewritten.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "em_regex.h"

#include "em_clock.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUP_DEPTH 250 /* PCRE2's own limit on nested parentheses */

struct em_regex {
    pcre2_code *code;
};

/* The translation of one pattern: in (the RE2 text), out (PCRE2 text, at most three
 * bytes per input byte) and where the scanner is. */
struct scan {
    const uint8_t *in;
    size_t len, pos;
    char *out;
    size_t out_len;
    struct em_status *st;
    /* RE2's limit on nested counted repetitions: the product of the counts of {n,m}
     * nested inside each other may not pass 1000. repeat[d] is the largest product inside
     * the group open at depth d (0: the whole pattern); closed is the product inside the
     * group that the last token closed, 0 when the last token was not a ')'. */
    long repeat[MAX_GROUP_DEPTH + 1];
    int depth;
    long closed;
};

static void put(struct scan *s, const char *text, size_t n)
{
    memcpy(s->out + s->out_len, text, n);
    s->out_len += n;
}

static void put_byte(struct scan *s, uint8_t c)
{
    s->out[s->out_len++] = (char)c;
}

/* The rest of the pattern from `from`, at most 20 bytes, printable, for an error. */
static void excerpt(const struct scan *s, size_t from, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    for (size_t i = from; i < s->len && i < from + n && k + 5 < size; i++) {
        uint8_t c = s->in[i];
        if (c >= 0x20 && c < 0x7f)
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, size - k, "\\x%02x", c);
    }
    buf[k] = '\0';
}

static enum em_code refuse(struct scan *s, const char *what, size_t from, size_t n)
{
    char text[96];
    excerpt(s, from, n, text, sizeof(text));
    return EM_FAIL(s->st, EM_INVALID_ARGUMENT, "%s: %s", what, text);
}

static bool is_octal(uint8_t c)
{
    return c >= '0' && c <= '7';
}

/* An octal escape as RE2 reads it: \0, or \1-\7 followed by another octal digit, up to
 * three digits; written as \x{..} since PCRE reads \12 as a backreference. */
static void put_octal(struct scan *s)
{
    unsigned value = 0;
    for (int digits = 0; digits < 3 && s->pos < s->len && is_octal(s->in[s->pos]); digits++)
        value = value * 8 + (unsigned)(s->in[s->pos++] - '0');
    char text[16];
    int n = snprintf(text, sizeof(text), "\\x{%x}", value);
    put(s, text, (size_t)n);
}

/* Escapes RE2 knows, other than octal and \C: a letter, then whether it may appear inside
 * a character class. Any escaped punctuation stands for itself in both syntaxes. */
static bool escape_known(uint8_t c, bool in_class)
{
    const char *anywhere = "afnrtvxdDsSwWpPQE";
    const char *outside_only = "bBAz";
    if (strchr(anywhere, c))
        return true;
    return !in_class && strchr(outside_only, c) != NULL;
}

/* The escape at s->pos (a backslash); copies or rewrites it. */
static enum em_code scan_escape(struct scan *s, bool in_class)
{
    size_t start = s->pos++;
    if (s->pos >= s->len)
        return refuse(s, "trailing \\", start, 1);
    uint8_t c = s->in[s->pos];
    if (c == 'C' && !in_class) {
        s->pos++;
        put(s, "(?s:.)", 6);
        return EM_OK;
    }
    if (c == '0' || (c >= '1' && c <= '7' && s->pos + 1 < s->len && is_octal(s->in[s->pos + 1]))) {
        put_octal(s);
        return EM_OK;
    }
    bool letter_or_digit =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c >= 0x80 || (letter_or_digit && !escape_known(c, in_class)))
        return refuse(s, "invalid escape sequence", start, 2);
    if (c == 'Q') { /* \Q...\E: everything up to \E is literal, in both syntaxes */
        const uint8_t *end = NULL;
        for (size_t i = s->pos + 1; i + 1 < s->len && !end; i++)
            if (s->in[i] == '\\' && s->in[i + 1] == 'E')
                end = s->in + i + 2;
        size_t stop = end ? (size_t)(end - s->in) : s->len;
        put(s, (const char *)s->in + start, stop - start);
        s->pos = stop;
        return EM_OK;
    }
    size_t stop = s->pos + 1;
    if ((c == 'x' || c == 'p' || c == 'P') && stop < s->len && s->in[stop] == '{') {
        const uint8_t *close = memchr(s->in + stop, '}', s->len - stop);
        if (!close)
            return refuse(s, "invalid escape sequence", start, s->len - start);
        stop = (size_t)(close - s->in) + 1; /* \x{41}, \p{Greek}: copied whole */
    }
    put(s, (const char *)s->in + start, stop - start);
    s->pos = stop;
    return EM_OK;
}

/* A character class from '[' to its ']' (RE2 and PCRE agree on a leading ']' and '^'
 * and on [:alpha:]); only its escapes need checking. */
static enum em_code scan_class(struct scan *s)
{
    size_t start = s->pos;
    put_byte(s, s->in[s->pos++]);
    if (s->pos < s->len && s->in[s->pos] == '^')
        put_byte(s, s->in[s->pos++]);
    if (s->pos < s->len && s->in[s->pos] == ']')
        put_byte(s, s->in[s->pos++]);
    while (s->pos < s->len && s->in[s->pos] != ']') {
        uint8_t c = s->in[s->pos];
        if (c == '\\') {
            enum em_code rc = scan_escape(s, true);
            if (rc)
                return rc;
        } else if (c == '[' && s->pos + 1 < s->len && s->in[s->pos + 1] == ':') {
            const uint8_t *close = memmem(s->in + s->pos, s->len - s->pos, ":]", 2);
            if (!close)
                return refuse(s, "missing closing ]", start, 20);
            size_t stop = (size_t)(close - s->in) + 2;
            put(s, (const char *)s->in + s->pos, stop - s->pos);
            s->pos = stop;
        } else {
            put_byte(s, c);
            s->pos++;
        }
    }
    if (s->pos >= s->len)
        return refuse(s, "missing closing ]", start, 20);
    put_byte(s, s->in[s->pos++]);
    return EM_OK;
}

static enum em_code group_open(struct scan *s, size_t at)
{
    if (s->depth == MAX_GROUP_DEPTH)
        return refuse(s, "parentheses are nested too deeply", at, 1);
    s->repeat[++s->depth] = 1;
    return EM_OK;
}

/* A ')': the group's largest repetition product also counts in its parent; returned for a
 * counted repetition that may follow. An unmatched ')' is left for PCRE2 to report. */
static long group_close(struct scan *s)
{
    if (s->depth == 0)
        return 0;
    long inner = s->repeat[s->depth--];
    if (inner > s->repeat[s->depth])
        s->repeat[s->depth] = inner;
    return inner;
}

/* "(?" at s->pos: RE2 has (?:, (?flags), (?flags:, (?P<name> and (?<name>. */
static enum em_code scan_group_open(struct scan *s)
{
    size_t start = s->pos;
    size_t i = s->pos + 2;
    if (i < s->len && s->in[i] == 'P' && i + 1 < s->len && s->in[i + 1] == '<')
        i += 2;
    else if (i < s->len && s->in[i] == '<' && i + 1 < s->len && s->in[i + 1] != '=' &&
             s->in[i + 1] != '!')
        i += 1;
    else {
        while (i < s->len && strchr("imsU-", s->in[i]) && s->in[i] != '\0')
            i++;
        if (i >= s->len || (s->in[i] != ':' && s->in[i] != ')'))
            return refuse(s, "invalid or unsupported Perl syntax", start, i + 1 - start);
    }
    if (s->in[i] == ')') { /* (?i): flags for the rest of the group, no group opened */
        put(s, (const char *)s->in + start, i + 1 - start);
        s->pos = i + 1;
        return EM_OK;
    }
    put(s, (const char *)s->in + start, i - start);
    s->pos = i;
    return group_open(s, start);
}

/* Reads a decimal number of at most 9 digits at *i; -1 if there is none. */
static long read_count(const struct scan *s, size_t *i)
{
    long n = -1;
    for (int digits = 0; *i < s->len && s->in[*i] >= '0' && s->in[*i] <= '9'; (*i)++) {
        if (++digits > 9)
            return -2;
        n = (n < 0 ? 0 : n * 10) + (s->in[*i] - '0');
    }
    return n;
}

/* '{' at s->pos: a counted repetition {n}, {n,} or {n,m} (n, m <= 1000), else a literal. */
static enum em_code scan_brace(struct scan *s, bool *quantified)
{
    size_t i = s->pos + 1;
    long lo = read_count(s, &i), hi = lo;
    if (lo >= 0 && i < s->len && s->in[i] == ',') {
        i++;
        hi = read_count(s, &i);
        if (hi == -1)
            hi = lo; /* {n,}: no upper bound to check */
    }
    if (lo < 0 && lo != -2) {
        put(s, "\\{", 2);
        s->pos++;
        return EM_OK;
    }
    if (i >= s->len || s->in[i] != '}') {
        if (lo == -2 || hi == -2)
            return refuse(s, "bad repetition operator", s->pos, i + 1 - s->pos);
        put(s, "\\{", 2);
        s->pos++;
        return EM_OK;
    }
    if (lo < 0 || hi < 0 || lo > EM_REGEX_MAX_REPEAT || hi > EM_REGEX_MAX_REPEAT || hi < lo)
        return refuse(s, "bad repetition operator", s->pos, i + 1 - s->pos);
    long inner = s->closed ? s->closed : 1, product = hi > 0 ? hi * inner : inner;
    if (product > EM_REGEX_MAX_REPEAT)
        return refuse(s, "bad repetition operator", s->pos, i + 1 - s->pos);
    if (product > s->repeat[s->depth])
        s->repeat[s->depth] = product;
    put(s, (const char *)s->in + s->pos, i + 1 - s->pos);
    s->pos = i + 1;
    *quantified = true;
    return EM_OK;
}

/* After a quantifier: an optional '?' (lazy) is fine, a '+' (possessive) is not. */
static enum em_code scan_after_quantifier(struct scan *s, size_t quantifier_at)
{
    if (s->pos < s->len && s->in[s->pos] == '?')
        put_byte(s, s->in[s->pos++]);
    if (s->pos < s->len && s->in[s->pos] == '+')
        return refuse(s, "bad repetition operator", quantifier_at, s->pos + 1 - quantifier_at);
    return EM_OK;
}

static enum em_code scan_one(struct scan *s)
{
    uint8_t c = s->in[s->pos];
    size_t at = s->pos;
    bool quantified = false;
    enum em_code rc = EM_OK;
    long closed = 0; /* the next token's s->closed (scan_brace reads this one's) */
    if (c == '\\')
        rc = scan_escape(s, false);
    else if (c == '[')
        rc = scan_class(s);
    else if (c == '(' && s->pos + 1 < s->len && s->in[s->pos + 1] == '?')
        rc = scan_group_open(s);
    else if (c == '(' && s->pos + 1 < s->len && s->in[s->pos + 1] == '*')
        rc = refuse(s, "missing argument to repetition operator", at, 2);
    else if (c == '{')
        rc = scan_brace(s, &quantified);
    else if (c == '(') {
        put_byte(s, c);
        s->pos++;
        rc = group_open(s, at);
    } else if (c == ')') {
        put_byte(s, c);
        s->pos++;
        closed = group_close(s);
    } else {
        put_byte(s, c);
        s->pos++;
        quantified = c == '*' || c == '+' || c == '?';
    }
    if (rc == EM_OK && quantified)
        rc = scan_after_quantifier(s, at);
    s->closed = closed;
    return rc;
}

static enum em_code translate(struct scan *s)
{
    while (s->pos < s->len) {
        enum em_code rc = scan_one(s);
        if (rc)
            return rc;
    }
    return EM_OK;
}

enum em_code em_regex_compile(const uint8_t *pattern, size_t len, struct em_regex **out,
                              struct em_status *st)
{
    *out = NULL;
    struct scan s = {.in = pattern, .len = len, .st = st};
    s.out = malloc(3 * len + 1);
    struct em_regex *re = calloc(1, sizeof(*re));
    if (!s.out || !re) {
        free(s.out);
        free(re);
        return EM_FAIL_OOM(st);
    }
    enum em_code rc = translate(&s);
    if (rc == EM_OK) {
        int err = 0;
        PCRE2_SIZE offset = 0;
        /* AUTO_CALLOUT: the matcher calls back at each item, where the deadline is read */
        uint32_t options = PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |
                           PCRE2_NEVER_BACKSLASH_C | PCRE2_NO_AUTO_CAPTURE | PCRE2_AUTO_CALLOUT;
        re->code = pcre2_compile((PCRE2_SPTR)s.out, s.out_len, options, &err, &offset, NULL);
        if (!re->code) {
            PCRE2_UCHAR reason[160];
            pcre2_get_error_message(err, reason, sizeof(reason));
            rc = EM_FAIL(st, EM_INVALID_ARGUMENT, "%s", (const char *)reason);
        }
    }
    free(s.out);
    if (rc) {
        em_regex_free(re);
        return rc;
    }
    *out = re;
    return EM_OK;
}

/* The deadline a match runs to: read every 256 callouts (PCRE2_AUTO_CALLOUT). */
struct budget {
    int64_t deadline; /* em_clock_monotonic() */
    unsigned calls;
    bool expired;
};

static int check_budget(pcre2_callout_block *block, void *arg)
{
    (void)block;
    struct budget *b = arg;
    if ((++b->calls & 255) == 0 && em_clock_monotonic() > b->deadline) {
        b->expired = true;
        return PCRE2_ERROR_CALLOUT; /* abandons the match */
    }
    return 0;
}

/* PCRE2's DFA matcher: no backtracking, so time is linear in the text for most patterns.
 * Unlike RE2's, its cost grows with the live states of a path-per-state search, so
 * repetitions nested or in a row over a long text ("(a+)+$", "a{0,1000}a{0,1000}...")
 * grow far faster: the deadline bounds that (-1). Its workspace grows with the pattern's
 * number of live states; a small one is retried larger. 1 matched, 0 not. */
static int dfa_run(const pcre2_code *code, const uint8_t *text, size_t len, size_t offset,
                   uint32_t options, int64_t deadline)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    struct budget budget = {deadline, 0, false};
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return 0;
    }
    pcre2_set_callout(mc, check_budget, &budget);
    int small[256];
    int rc = pcre2_dfa_match(code, text, len, offset, options, md, mc, small, 256);
    for (size_t size = 4096; rc == PCRE2_ERROR_DFA_WSSIZE && size <= 1u << 20; size *= 4) {
        int *big = malloc(size * sizeof(*big));
        if (!big)
            break;
        rc = pcre2_dfa_match(code, text, len, offset, options, md, mc, big, size);
        free(big);
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    if (budget.expired)
        return -1;
    return rc >= 0; /* 0: matched, with more matches than the vector holds */
}

static int dfa_match(const struct em_regex *re, const uint8_t *text, size_t len, uint32_t options,
                     int64_t deadline)
{
    return dfa_run(re->code, text, len, 0, options, deadline);
}

int em_regex_dfa_search(const void *pcre2_code, const uint8_t *text, size_t len, size_t offset,
                        int64_t deadline)
{
    return dfa_run(pcre2_code, text, len, offset, 0, deadline);
}

static int64_t default_deadline(void)
{
    return em_clock_monotonic() + (int64_t)EM_REGEX_MATCH_BUDGET_MS * 1000000;
}

int em_regex_full_match_by(const struct em_regex *re, const uint8_t *text, size_t len,
                           int64_t deadline)
{
    return dfa_match(re, text, len, PCRE2_ANCHORED | PCRE2_ENDANCHORED, deadline);
}

bool em_regex_full_match(const struct em_regex *re, const uint8_t *text, size_t len)
{
    return em_regex_full_match_by(re, text, len, default_deadline()) == 1;
}

bool em_regex_partial_match(const struct em_regex *re, const uint8_t *text, size_t len)
{
    return dfa_match(re, text, len, 0, default_deadline()) == 1;
}

void em_regex_free(struct em_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}
