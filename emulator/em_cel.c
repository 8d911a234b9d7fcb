/*
 * em_cel: a recursive-descent evaluator for IAM conditions' CEL (see em_cel.h). The
 * expression is parsed and evaluated in one pass: both sides of && and || are always
 * evaluated (nothing has side effects), then combined with CEL's commutative rules, so an
 * error on one side is absorbed when the other side decides. Strings live in an arena
 * freed at the end.
 */
#include "em_cel.h"

#include "em_json.h"
#include "em_regex.h"
#include "em_tz.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH  64 /* nesting of parentheses, calls and unary operators */
#define NS_PER_SEC 1000000000LL

enum kind { K_ERR, K_BOOL, K_INT, K_STR, K_TS, K_DUR, K_LIST, K_RESOURCE, K_REQUEST };

struct val {
    enum kind k;
    bool b;
    int64_t i; /* K_INT; K_TS and K_DUR in ns */
    const char *s;
    size_t len;        /* K_STR */
    struct val *items; /* K_LIST */
    size_t n;
};

struct cel {
    const char *p;
    const struct em_cel_context *ctx;
    char *why;
    size_t why_len;
    bool syntax; /* a syntax error: the whole expression is an error */
    int depth;
    void **allocs;
    size_t nallocs, cap;
};

static struct val error_of(struct cel *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct val error_of(struct cel *c, const char *fmt, ...)
{
    if (c->why && c->why_len && !c->why[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why, c->why_len, fmt, ap);
        va_end(ap);
    }
    return (struct val){.k = K_ERR};
}

static struct val syntax_error(struct cel *c, const char *what)
{
    c->syntax = true;
    return error_of(c, "syntax error: %s at \"%.20s\"", what, c->p);
}

static void *arena(struct cel *c, size_t size)
{
    if (c->nallocs == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        void **grown = realloc(c->allocs, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        c->allocs = grown;
        c->cap = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p)
        c->allocs[c->nallocs++] = p;
    return p;
}

static void skip_space(struct cel *c)
{
    while (isspace((unsigned char)*c->p))
        c->p++;
}

/* Consumes op (after spaces) when it is next; a word operator must end there. */
static bool accept(struct cel *c, const char *op)
{
    skip_space(c);
    size_t n = strlen(op);
    if (strncmp(c->p, op, n) != 0)
        return false;
    if (isalpha((unsigned char)op[0]) && (isalnum((unsigned char)c->p[n]) || c->p[n] == '_'))
        return false;
    c->p += n;
    return true;
}

static bool is_ident_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_';
}

/* An identifier into buf (truncated names fail as unknown). */
static bool ident(struct cel *c, char *buf, size_t size)
{
    skip_space(c);
    if (!is_ident_start(*c->p))
        return false;
    size_t n = 0;
    while (isalnum((unsigned char)*c->p) || *c->p == '_') {
        if (n + 1 < size)
            buf[n++] = *c->p;
        c->p++;
    }
    buf[n] = '\0';
    return true;
}

static struct val boolean(bool b)
{
    return (struct val){.k = K_BOOL, .b = b};
}

/* --- literals --- */

static struct val string_literal(struct cel *c)
{
    char quote = *c->p++;
    char *out = arena(c, strlen(c->p) + 1);
    size_t n = 0;
    if (!out)
        return error_of(c, "out of memory");
    while (*c->p && *c->p != quote) {
        char ch = *c->p++;
        if (ch == '\\') {
            if (!*c->p)
                break; /* an unterminated string */
            char e = *c->p++;
            ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            if (!strchr("ntr\\'\"", e))
                return syntax_error(c, "an unknown escape");
        }
        out[n++] = ch;
    }
    if (*c->p != quote)
        return syntax_error(c, "an unterminated string");
    c->p++;
    return (struct val){.k = K_STR, .s = out, .len = n};
}

static struct val int_literal(struct cel *c)
{
    int64_t v = 0;
    while (isdigit((unsigned char)*c->p)) {
        if (v > (INT64_MAX - (*c->p - '0')) / 10)
            return syntax_error(c, "an integer out of range");
        v = v * 10 + (*c->p++ - '0');
    }
    if (*c->p == '.' || *c->p == 'e' || *c->p == 'E')
        return syntax_error(c, "a floating-point number (not supported)");
    if (*c->p == 'u' || *c->p == 'U')
        c->p++; /* an unsigned literal reads as an integer */
    return (struct val){.k = K_INT, .i = v};
}

/* --- conversions --- */

/* CEL durations: "3600s", "-1.5h", "1h30m", units h m s ms us ns. */
static bool parse_duration(const char *s, int64_t *ns)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {{"ns", 1},
                 {"us", 1000},
                 {"ms", 1000000},
                 {"h", 3600 * NS_PER_SEC},
                 {"m", 60 * NS_PER_SEC},
                 {"s", NS_PER_SEC}};
    bool negative = *s == '-';
    s += negative || *s == '+';
    double total = 0;
    if (!*s)
        return false;
    while (*s) {
        char *end;
        if (!isdigit((unsigned char)*s) && *s != '.')
            return false;
        double v = strtod(s, &end);
        if (end == s)
            return false;
        s = end;
        size_t u = 0;
        while (u < sizeof(units) / sizeof(units[0]) &&
               strncmp(s, units[u].unit, strlen(units[u].unit)) != 0)
            u++;
        if (u == sizeof(units) / sizeof(units[0]))
            return false;
        s += strlen(units[u].unit);
        total += v * (double)units[u].ns;
    }
    /* CEL allows 10,000 years; nanoseconds in an int64 reach about 292 (longer durations,
     * useless in a condition, are an error here) */
    if (!(total < 9.2e18))
        return false;
    *ns = (int64_t)(negative ? -total : total);
    return true;
}

/* A timestamp accessor (getHours ...) in the time zone offset_s seconds east of UTC. */
static struct val time_part(struct cel *c, const char *name, int64_t ns, int offset_s)
{
    int64_t secs = ns / NS_PER_SEC - (ns % NS_PER_SEC < 0) + offset_s;
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t in_day = secs - days * 86400, year;
    int month, day;
    em_civil_from_days(days, &year, &month, &day);
    int64_t jan1 = em_days_from_civil(year, 1, 1);
    static const char *const names[] = {"getFullYear", "getMonth",     "getDayOfMonth",
                                        "getDate",     "getDayOfWeek", "getDayOfYear",
                                        "getHours",    "getMinutes",   "getSeconds"};
    int64_t values[] = {
        year,        month - 1,     day - 1,          day,        ((days % 7) + 11) % 7,
        days - jan1, in_day / 3600, in_day / 60 % 60, in_day % 60};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], name) == 0)
            return (struct val){.k = K_INT, .i = values[i]};
    return error_of(c, "no method %s on a timestamp", name);
}

/* --- calls --- */

#define MAX_ARGS 4

static struct val expr(struct cel *c);

/* The arguments of a call after its '(' up to ')'. */
static int call_args(struct cel *c, struct val *args)
{
    int n = 0;
    if (accept(c, ")"))
        return 0;
    do {
        if (n == MAX_ARGS) {
            syntax_error(c, "too many arguments");
            return -1;
        }
        args[n++] = expr(c);
        if (c->syntax)
            return -1;
    } while (accept(c, ","));
    if (!accept(c, ")")) {
        syntax_error(c, "a missing ')'");
        return -1;
    }
    return n;
}

static struct val global_call(struct cel *c, const char *name, struct val *args, int n)
{
    for (int i = 0; i < n; i++)
        if (args[i].k == K_ERR)
            return args[i];
    if (strcmp(name, "timestamp") == 0 && n == 1 && args[0].k == K_STR) {
        int64_t ns;
        if (!em_time_parse(args[0].s, &ns))
            return error_of(c, "timestamp(\"%.40s\") is not an RFC 3339 time", args[0].s);
        return (struct val){.k = K_TS, .i = ns};
    }
    if (strcmp(name, "duration") == 0 && n == 1 && args[0].k == K_STR) {
        int64_t ns;
        if (!parse_duration(args[0].s, &ns))
            return error_of(c, "duration(\"%.40s\") is not a duration", args[0].s);
        return (struct val){.k = K_DUR, .i = ns};
    }
    if (strcmp(name, "size") == 0 && n == 1 && (args[0].k == K_STR || args[0].k == K_LIST))
        return (struct val){.k = K_INT,
                            .i = (int64_t)(args[0].k == K_STR ? args[0].len : args[0].n)};
    return error_of(c, "no function %s with %d arguments of those types", name, n);
}

static bool has_prefix(const struct val *s, const struct val *x)
{
    return x->len <= s->len && memcmp(s->s, x->s, x->len) == 0;
}

/* The first occurrence of needle (len bytes) in s[from..len), or NULL. */
static const char *find_in(const struct val *s, size_t from, const char *needle, size_t len)
{
    return memmem(s->s + from, s->len - from, needle, len);
}

/* s.extract(template): IAM's template match. The template is text, one {name} placeholder,
 * text: the part of s after the first occurrence of the text before the placeholder, up to
 * the first occurrence after it of the text after the placeholder (to the end when that is
 * empty); "" when either is not found. */
static struct val extract(struct cel *c, const struct val *self, const struct val *tmpl)
{
    const char *open = memchr(tmpl->s, '{', tmpl->len);
    const char *close = open ? memchr(open, '}', tmpl->len - (size_t)(open - tmpl->s)) : NULL;
    if (!close || memchr(close + 1, '{', tmpl->len - (size_t)(close + 1 - tmpl->s)))
        return error_of(c, "extract: the template needs one {name} placeholder");
    size_t before = (size_t)(open - tmpl->s);
    const char *after = close + 1;
    size_t after_len = tmpl->len - (size_t)(after - tmpl->s);
    struct val out = {.k = K_STR, .s = "", .len = 0};
    const char *at = before ? find_in(self, 0, tmpl->s, before) : self->s;
    if (!at)
        return out;
    size_t start = (size_t)(at - self->s) + before;
    const char *end = after_len ? find_in(self, start, after, after_len) : self->s + self->len;
    if (!end)
        return out;
    out.s = self->s + start;
    out.len = (size_t)(end - out.s);
    return out;
}

static struct val string_method(struct cel *c, const struct val *self, const char *name,
                                const struct val *args, int n)
{
    if (strcmp(name, "size") == 0 && n == 0)
        return (struct val){.k = K_INT, .i = (int64_t)self->len};
    if (n != 1 || args[0].k != K_STR)
        return error_of(c, "no method %s with those arguments on a string", name);
    const struct val *x = &args[0];
    if (strcmp(name, "startsWith") == 0)
        return boolean(has_prefix(self, x));
    if (strcmp(name, "endsWith") == 0)
        return boolean(x->len <= self->len &&
                       memcmp(self->s + self->len - x->len, x->s, x->len) == 0);
    if (strcmp(name, "contains") == 0)
        return boolean(x->len == 0 || memmem(self->s, self->len, x->s, x->len) != NULL);
    if (strcmp(name, "extract") == 0)
        return extract(c, self, x);
    if (strcmp(name, "matches") == 0) {
        struct em_regex *re = NULL;
        struct em_status st = {0};
        if (em_regex_compile_as((const uint8_t *)x->s, x->len, EM_REGEX_UTF8, &re, &st))
            return error_of(c, "matches: %s", st.message);
        bool found = em_regex_partial_match(re, (const uint8_t *)self->s, self->len);
        em_regex_free(re);
        return boolean(found);
    }
    return error_of(c, "no method %s on a string", name);
}

static struct val method_call(struct cel *c, const struct val *self, const char *name,
                              struct val *args, int n)
{
    if (self->k == K_ERR)
        return *self;
    for (int i = 0; i < n; i++)
        if (args[i].k == K_ERR)
            return args[i];
    if (self->k == K_STR)
        return string_method(c, self, name, args, n);
    if (self->k == K_TS) {
        struct em_zone zone = {0}; /* UTC */
        char name_z[128] = "";     /* the zone's name, NUL-terminated (a string may be a part) */
        if (n == 1 && args[0].k == K_STR && args[0].len < sizeof(name_z))
            memcpy(name_z, args[0].s, args[0].len);
        if (n > 1 || (n == 1 && (!name_z[0] || !em_zone_find(name_z, &zone))))
            return error_of(c,
                            "%s: the argument is not a time zone (a tz database name such "
                            "as \"Europe/Berlin\", or an offset such as \"+05:30\")",
                            name);
        int64_t secs = self->i / NS_PER_SEC - (self->i % NS_PER_SEC < 0);
        return time_part(c, name, self->i, em_zone_offset_at(&zone, secs));
    }
    if (self->k == K_LIST && strcmp(name, "size") == 0 && n == 0)
        return (struct val){.k = K_INT, .i = (int64_t)self->n};
    return error_of(c, "no method %s on that value", name);
}

/* --- the grammar --- */

static struct val list_literal(struct cel *c)
{
    struct val list = {.k = K_LIST};
    size_t cap = 0;
    if (accept(c, "]"))
        return list;
    do {
        struct val item = expr(c);
        if (c->syntax)
            return item;
        if (list.n == cap) {
            cap = cap ? 2 * cap : 8;
            struct val *grown = arena(c, cap * sizeof(*grown));
            if (!grown)
                return error_of(c, "out of memory");
            if (list.n)
                memcpy(grown, list.items, list.n * sizeof(*grown));
            list.items = grown;
        }
        list.items[list.n++] = item;
    } while (accept(c, ","));
    if (!accept(c, "]"))
        return syntax_error(c, "a missing ']'");
    return list;
}

static struct val attribute(struct cel *c, const char *name)
{
    if (strcmp(name, "resource") == 0)
        return (struct val){.k = K_RESOURCE};
    if (strcmp(name, "request") == 0)
        return (struct val){.k = K_REQUEST};
    if (strcmp(name, "true") == 0 || strcmp(name, "false") == 0)
        return boolean(name[0] == 't');
    return error_of(c, "unknown name %s", name);
}

static struct val field(struct cel *c, const struct val *self, const char *name)
{
    const char *text = NULL;
    if (self->k == K_ERR)
        return *self;
    if (self->k == K_REQUEST && strcmp(name, "time") == 0)
        return (struct val){.k = K_TS, .i = c->ctx->request_time_ns};
    if (self->k == K_RESOURCE && strcmp(name, "name") == 0)
        text = c->ctx->resource_name;
    else if (self->k == K_RESOURCE && strcmp(name, "type") == 0)
        text = c->ctx->resource_type;
    else if (self->k == K_RESOURCE && strcmp(name, "service") == 0)
        text = c->ctx->resource_service;
    else
        return error_of(c, "no attribute %s", name);
    if (!text)
        return error_of(c, "resource.%s is not known for this resource", name);
    return (struct val){.k = K_STR, .s = text, .len = strlen(text)};
}

static struct val primary(struct cel *c)
{
    skip_space(c);
    char name[64];
    if (*c->p == '"' || *c->p == '\'')
        return string_literal(c);
    if (isdigit((unsigned char)*c->p))
        return int_literal(c);
    if (accept(c, "(")) {
        struct val v = expr(c);
        if (!c->syntax && !accept(c, ")"))
            return syntax_error(c, "a missing ')'");
        return v;
    }
    if (accept(c, "["))
        return list_literal(c);
    if (!ident(c, name, sizeof(name)))
        return syntax_error(c, "an unexpected character");
    if (accept(c, "(")) {
        struct val args[MAX_ARGS];
        int n = call_args(c, args);
        if (n < 0)
            return error_of(c, "a malformed call");
        return global_call(c, name, args, n);
    }
    return attribute(c, name);
}

static struct val member(struct cel *c)
{
    struct val v = primary(c);
    while (!c->syntax && accept(c, ".")) {
        char name[64];
        if (!ident(c, name, sizeof(name)))
            return syntax_error(c, "a missing name after '.'");
        if (accept(c, "(")) {
            struct val args[MAX_ARGS];
            int n = call_args(c, args);
            if (n < 0)
                return error_of(c, "a malformed call");
            v = method_call(c, &v, name, args, n);
        } else {
            v = field(c, &v, name);
        }
    }
    return v;
}

static struct val unary(struct cel *c)
{
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return syntax_error(c, "an expression nested too deeply");
    }
    struct val v;
    if (accept(c, "!")) {
        v = unary(c);
        if (v.k == K_BOOL)
            v.b = !v.b;
        else if (v.k != K_ERR)
            v = error_of(c, "! of a value that is not a boolean");
    } else if (accept(c, "-")) {
        v = unary(c);
        if ((v.k == K_INT || v.k == K_DUR) && v.i != INT64_MIN)
            v.i = -v.i;
        else if (v.k != K_ERR)
            v = error_of(c, "- of a value that is not a number");
    } else {
        v = member(c);
    }
    c->depth--;
    return v;
}

static struct val add(struct cel *c)
{
    struct val a = unary(c);
    for (;;) {
        bool plus = accept(c, "+");
        if (!plus && !accept(c, "-"))
            return a;
        struct val b = unary(c);
        if (a.k == K_ERR || b.k == K_ERR) {
            a = a.k == K_ERR ? a : b;
            continue;
        }
        int64_t r;
        bool ok = (a.k == K_INT && b.k == K_INT) || (a.k == K_TS && b.k == K_DUR) ||
                  (a.k == K_DUR && b.k == K_DUR) || (plus && a.k == K_DUR && b.k == K_TS) ||
                  (!plus && a.k == K_TS && b.k == K_TS);
        if (!ok)
            a = error_of(c, "%c of values of those types", plus ? '+' : '-');
        else if (plus ? __builtin_add_overflow(a.i, b.i, &r) : __builtin_sub_overflow(a.i, b.i, &r))
            a = error_of(c, "an arithmetic overflow");
        else
            a = (struct val){.k = a.k == K_TS || b.k == K_TS ? (a.k == b.k ? K_DUR : K_TS) : a.k,
                             .i = r};
    }
}

/* -1, 0, 1 for comparable values; 2 when they are not. */
static int compare(const struct val *a, const struct val *b)
{
    if (a->k != b->k)
        return 2;
    switch (a->k) {
    case K_BOOL:
        return (a->b > b->b) - (a->b < b->b);
    case K_INT:
    case K_TS:
    case K_DUR:
        return (a->i > b->i) - (a->i < b->i);
    case K_STR: {
        size_t n = a->len < b->len ? a->len : b->len;
        int r = n ? memcmp(a->s, b->s, n) : 0;
        return r ? (r > 0) - (r < 0) : (a->len > b->len) - (a->len < b->len);
    }
    default:
        return 2;
    }
}

/* One relation of a and b (ops[op]). */
static struct val relate(struct cel *c, struct val a, size_t op, struct val b)
{
    if (a.k == K_ERR || b.k == K_ERR)
        return a.k == K_ERR ? a : b;
    if (op == 6) { /* in */
        if (b.k != K_LIST)
            return error_of(c, "'in' needs a list");
        for (size_t i = 0; i < b.n; i++)
            if (compare(&a, &b.items[i]) == 0)
                return boolean(true);
        return boolean(false);
    }
    int r = compare(&a, &b);
    if (r == 2 && op >= 2)
        return error_of(c, "an order (< <= > >=) of values of different types");
    if (r == 2) /* CEL's heterogeneous equality: different types are unequal */
        return boolean(op == 1);
    switch (op) {
    case 0:
        return boolean(r == 0);
    case 1:
        return boolean(r != 0);
    case 2:
        return boolean(r <= 0);
    case 3:
        return boolean(r >= 0);
    case 4:
        return boolean(r < 0);
    default:
        return boolean(r > 0);
    }
}

/* Relations chain left to right, as in CEL's grammar ("a < b == true"). */
static struct val relation(struct cel *c)
{
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">", "in"};
    struct val a = add(c);
    for (;;) {
        size_t op = 0;
        while (op < sizeof(ops) / sizeof(ops[0]) && !accept(c, ops[op]))
            op++;
        if (op == sizeof(ops) / sizeof(ops[0]) || c->syntax)
            return a;
        a = relate(c, a, op, add(c));
    }
}

static struct val conjunction(struct cel *c)
{
    struct val a = relation(c);
    while (!c->syntax && accept(c, "&&")) {
        struct val b = relation(c);
        if ((a.k == K_BOOL && !a.b) || (b.k == K_BOOL && !b.b))
            a = boolean(false); /* false absorbs an error */
        else if (a.k == K_BOOL && b.k == K_BOOL)
            a = boolean(true);
        else if (a.k != K_ERR && b.k != K_ERR)
            a = error_of(c, "&& of a value that is not a boolean");
        else
            a = a.k == K_ERR ? a : b;
    }
    return a;
}

static struct val disjunction(struct cel *c)
{
    struct val a = conjunction(c);
    while (!c->syntax && accept(c, "||")) {
        struct val b = conjunction(c);
        if ((a.k == K_BOOL && a.b) || (b.k == K_BOOL && b.b))
            a = boolean(true); /* true absorbs an error */
        else if (a.k == K_BOOL && b.k == K_BOOL)
            a = boolean(false);
        else if (a.k != K_ERR && b.k != K_ERR)
            a = error_of(c, "|| of a value that is not a boolean");
        else
            a = a.k == K_ERR ? a : b;
    }
    return a;
}

static struct val expr(struct cel *c)
{
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return syntax_error(c, "an expression nested too deeply");
    }
    struct val v = disjunction(c);
    if (!c->syntax && accept(c, "?"))
        v = syntax_error(c, "the conditional operator (not supported)");
    c->depth--;
    return v;
}

int em_cel_eval(const char *expression, const struct em_cel_context *ctx, char *why, size_t why_len)
{
    struct cel c = {.p = expression ? expression : "", .ctx = ctx, .why = why, .why_len = why_len};
    if (why && why_len)
        why[0] = '\0';
    struct val v = expr(&c);
    skip_space(&c);
    if (!c.syntax && *c.p)
        v = syntax_error(&c, "unexpected text");
    for (size_t i = 0; i < c.nallocs; i++)
        free(c.allocs[i]);
    free(c.allocs);
    if (c.syntax || v.k == K_ERR)
        return -1;
    if (v.k != K_BOOL) {
        if (why && why_len && !why[0])
            snprintf(why, why_len, "the expression is not a boolean");
        return -1;
    }
    return v.b ? 1 : 0;
}
