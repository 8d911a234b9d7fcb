/*
 * em_filter: Google's filter languages, parsed once into a tree and evaluated against a
 * resource's JSON (see em_filter.h for the grammar and the matching rules).
 *
 * References: AIP-160 (https://google.aip.dev/160), the Cloud Logging query language
 * (https://cloud.google.com/logging/docs/view/logging-query-language) and Pub/Sub
 * subscription filters (https://cloud.google.com/pubsub/docs/subscription-message-filter).
 *
 * The parser is recursive descent over a lexer that reads one token at a time from a
 * byte position, in one of two modes: a value after an operator may also contain ':'
 * (so unquoted timestamps read as one word), a field path may not. Every error goes
 * through fail(), which words it "Invalid filter: <what> at position <n>.".
 *
 * Invariants, which keep fuzzed input from exhausting the stack:
 *   - the parser recurses only at '(', at most EM_FILTER_MAX_DEPTH deep;
 *   - AND and OR nodes are n-ary and NOT is a flag on the node it negates, so the tree
 *     is no deeper than the parentheses (freeing, matching and visiting recurse on it);
 *   - matching recurses otherwise only into JSON arrays and, for a bare value, into the
 *     resource, both bounded by the document's own nesting (cJSON caps it when parsing).
 * A filter is immutable once parsed: any number of threads may match with it at once.
 */
#include "em_filter.h"

#include "em_json.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- the tree */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_HAS };

static const char *const op_names[] = {"=", "!=", "<", "<=", ">", ">=", ":"};

enum fn { FN_HAS_PREFIX, FN_HAS_SUFFIX, FN_LOG_ID };

static const struct function {
    const char *name;
    enum fn fn;
    size_t nargs; /* with two, the first is a field path and the second a value */
} functions[] = {
    {"hasPrefix", FN_HAS_PREFIX, 2},
    {"hasSuffix", FN_HAS_SUFFIX, 2},
    {"log_id", FN_LOG_ID, 1},
};

#define FUNCTION_COUNT (sizeof(functions) / sizeof(functions[0]))

static const struct {
    const char *name;
    int level;
} severities[] = {
    {"DEFAULT", 0}, {"DEBUG", 100},    {"INFO", 200},  {"NOTICE", 300},    {"WARNING", 400},
    {"ERROR", 500}, {"CRITICAL", 600}, {"ALERT", 700}, {"EMERGENCY", 800},
};

#define SEVERITY_COUNT (sizeof(severities) / sizeof(severities[0]))

struct number {
    bool is_int;
    int64_t i;
    double d; /* also set for integers */
};

/* A field path: the dotted text visit reports, and the names to walk. */
struct path {
    char *text;
    char *names; /* nnames NUL-terminated names, back to back */
    size_t nnames;
};

/* A value, with its readings as a time, a number and a severity worked out once. */
struct value {
    char *text;
    bool is_time, is_number, is_severity;
    int64_t time_ns;
    struct number number;
    int severity;
};

enum node_kind { NODE_AND, NODE_OR, NODE_CMP, NODE_FUNC, NODE_BARE };

struct node {
    enum node_kind kind;
    bool negate;
    struct node **children; /* NODE_AND, NODE_OR */
    size_t nchildren, capacity;
    struct path path;          /* NODE_CMP; NODE_FUNC with two arguments */
    enum op op;                /* NODE_CMP */
    bool by_severity;          /* NODE_CMP on a field named "severity" */
    bool exact;                /* NODE_CMP: '=' never reads a trailing '*' as a prefix */
    bool fold_case;            /* Resource Manager's queries (em_filter_ignore_case) */
    const struct function *fn; /* NODE_FUNC */
    char *log_suffix;          /* FN_LOG_ID: "/logs/" + the URL-encoded log ID */
    struct value value;        /* NODE_CMP, NODE_FUNC, NODE_BARE */
};

struct em_filter {
    struct node *root; /* NULL: the filter was blank and matches everything */
};

enum mode { MODE_EXACT, MODE_FOLD_CASE };

/* Sets the mode on n and every node under it. */
static void set_mode(struct node *n, enum mode mode)
{
    if (!n)
        return;
    if (mode == MODE_EXACT)
        n->exact = true;
    else
        n->fold_case = true;
    for (size_t i = 0; i < n->nchildren; i++)
        set_mode(n->children[i], mode);
}

void em_filter_exact_equality(struct em_filter *filter)
{
    set_mode(filter->root, MODE_EXACT);
}

void em_filter_ignore_case(struct em_filter *filter)
{
    set_mode(filter->root, MODE_FOLD_CASE);
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nchildren; i++)
        node_free(n->children[i]);
    free(n->children);
    free(n->path.text);
    free(n->path.names);
    free(n->log_suffix);
    free(n->value.text);
    free(n);
}

/* ---------------------------------------------------------------- values */

static bool parse_number(const char *text, struct number *out)
{
    if (!*text || isspace((unsigned char)*text))
        return false;
    char *end;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (!*end && !errno) {
        *out = (struct number){.is_int = true, .i = i, .d = (double)i};
        return true;
    }
    errno = 0;
    double d = strtod(text, &end);
    if (*end || errno || !isfinite(d))
        return false;
    *out = (struct number){.is_int = false, .d = d};
    return true;
}

/* em_time_parse works in int64 nanoseconds, which span the years 1678 to 2261; it does
 * not range-check the year, so texts outside that span are not times here. */
static bool parse_time(const char *text, int64_t *ns)
{
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        year = year * 10 + (text[i] - '0');
    }
    return year >= 1678 && year <= 2261 && em_time_parse(text, ns);
}

/* A Logging severity: a name of the ladder (any case) or its number. */
static bool parse_severity(const char *text, int *level)
{
    for (size_t i = 0; i < SEVERITY_COUNT; i++) {
        if (strcasecmp(text, severities[i].name) == 0) {
            *level = severities[i].level;
            return true;
        }
    }
    struct number n;
    if (!parse_number(text, &n) || !n.is_int || n.i < 0 || n.i > 1000)
        return false;
    *level = (int)n.i;
    return true;
}

static void value_init(struct value *v, char *text)
{
    v->text = text;
    v->is_time = parse_time(text, &v->time_ns);
    v->is_number = parse_number(text, &v->number);
    v->is_severity = parse_severity(text, &v->severity);
}

/* "/logs/" + id with every byte but RFC 3986's unreserved ones %-encoded. */
static char *log_suffix_new(const char *id)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen("/logs/") + 3 * strlen(id) + 1);
    if (!out)
        return NULL;
    char *o = out + sprintf(out, "/logs/");
    for (const unsigned char *c = (const unsigned char *)id; *c; c++) {
        if (isalnum(*c) || strchr("-._~", *c)) {
            *o++ = (char)*c;
            continue;
        }
        *o++ = '%';
        *o++ = hex[*c >> 4];
        *o++ = hex[*c & 15];
    }
    *o = '\0';
    return out;
}

/* ---------------------------------------------------------------- lexer */

enum tok {
    TOK_END,
    TOK_ERROR, /* error is the message, or NULL for a character that starts no token */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_OP,
    TOK_WORD,
    TOK_STRING, /* pos and len include the quotes */
    TOK_AND,
    TOK_OR,
    TOK_NOT,
};

struct token {
    enum tok kind;
    size_t pos, len;
    enum op op;
    const char *error;
};

struct parser {
    const char *text;
    size_t pos; /* the next byte to read */
    int depth;  /* parentheses open */
    struct em_status *st;
};

static bool is_quote(char c)
{
    return c == '"' || c == '\'';
}

static bool is_word_char(char c, bool value_mode)
{
    unsigned char u = (unsigned char)c;
    if (isalnum(u) || u >= 0x80)
        return true;
    if (c == ':')
        return value_mode;
    return c != '\0' && strchr("-_./@*+~%", c) != NULL;
}

/* Skips white space (newlines included) and Logging's "-- comment" lines. */
static size_t skip_space(const char *s, size_t i)
{
    for (;;) {
        while (isspace((unsigned char)s[i]))
            i++;
        if (s[i] != '-' || s[i + 1] != '-' || (s[i + 2] && !isspace((unsigned char)s[i + 2])))
            return i;
        while (s[i] && s[i] != '\n')
            i++;
    }
}

static void lex_string(const char *s, struct token *t)
{
    size_t j = t->pos + 1;
    while (s[j] && s[j] != s[t->pos])
        j += s[j] == '\\' && s[j + 1] ? 2 : 1;
    if (!s[j]) {
        t->kind = TOK_ERROR;
        t->error = "unterminated string";
        return;
    }
    t->kind = TOK_STRING;
    t->len = j + 1 - t->pos;
}

static void lex_word(const char *s, bool value_mode, struct token *t)
{
    static const struct {
        const char *text;
        enum tok kind;
    } keywords[] = {{"AND", TOK_AND}, {"OR", TOK_OR}, {"NOT", TOK_NOT}};
    size_t j = t->pos;
    while (is_word_char(s[j], value_mode))
        j++;
    t->kind = TOK_WORD;
    t->len = j - t->pos;
    for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
        if (t->len == strlen(keywords[k].text) && !strncmp(s + t->pos, keywords[k].text, t->len))
            t->kind = keywords[k].kind;
}

static void lex_operator(const char *s, struct token *t)
{
    static const enum op order[] = {OP_NE, OP_LE, OP_GE, OP_EQ, OP_LT, OP_GT, OP_HAS};
    const char *c = s + t->pos;
    t->kind = TOK_ERROR;
    if ((c[0] == '=' || c[0] == '!') && c[1] == '~') {
        t->error = "regular expressions are not supported";
        return;
    }
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        size_t len = strlen(op_names[order[k]]);
        if (strncmp(c, op_names[order[k]], len) == 0) {
            *t = (struct token){.kind = TOK_OP, .pos = t->pos, .len = len, .op = order[k]};
            return;
        }
    }
}

/* The token at p->pos, without consuming it. */
static struct token lex(const struct parser *p, bool value_mode)
{
    const char *s = p->text;
    struct token t = {.kind = TOK_END, .pos = skip_space(s, p->pos), .len = 1};
    char c = s[t.pos];
    if (c == '\0')
        t.len = 0;
    else if (c == '(')
        t.kind = TOK_LPAREN;
    else if (c == ')')
        t.kind = TOK_RPAREN;
    else if (c == ',')
        t.kind = TOK_COMMA;
    else if (is_quote(c))
        lex_string(s, &t);
    else if (is_word_char(c, value_mode))
        lex_word(s, value_mode, &t);
    else
        lex_operator(s, &t);
    return t;
}

static void consume(struct parser *p, const struct token *t)
{
    p->pos = t->pos + t->len;
}

/* ---------------------------------------------------------------- errors */

__attribute__((format(printf, 3, 4))) static enum em_code fail(struct parser *p, size_t pos,
                                                               const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return EM_FAIL(p->st, EM_INVALID_ARGUMENT, "Invalid filter: %s at position %zu.", what, pos);
}

static enum em_code out_of_memory(struct parser *p)
{
    return EM_FAIL(p->st, EM_INTERNAL, "Out of memory while parsing a filter.");
}

static enum em_code unexpected(struct parser *p, const struct token *t)
{
    unsigned char c = (unsigned char)p->text[t->pos];
    if (t->kind == TOK_END)
        return fail(p, t->pos, "unexpected end of filter");
    if (t->kind == TOK_ERROR && t->error)
        return fail(p, t->pos, "%s", t->error);
    if (t->kind == TOK_ERROR && !isprint(c))
        return fail(p, t->pos, "unexpected byte 0x%02x", c);
    if (t->kind == TOK_ERROR)
        return fail(p, t->pos, "unexpected character '%c'", c);
    int shown = t->len > 40 ? 40 : (int)t->len;
    return fail(p, t->pos, "unexpected '%.*s'", shown, p->text + t->pos);
}

/* ---------------------------------------------------------------- operands */

/* Builds an operand's text (the value, or the dotted path) and its field names. */
struct builder {
    char *text, *names;
    size_t len, cap;
    size_t nnames, name_len;
    bool path_ok; /* no empty name */
    bool failed;  /* out of memory */
};

static void builder_grow(struct builder *b)
{
    size_t cap = b->cap ? 2 * b->cap : 32;
    char *text = realloc(b->text, cap);
    if (text)
        b->text = text;
    char *names = text ? realloc(b->names, cap) : NULL;
    if (names)
        b->names = names;
    if (!text || !names)
        b->failed = true;
    else
        b->cap = cap;
}

/* Adds c to the text and to the current name; an unquoted '.' ends the name instead. The
 * names mirror the text byte for byte (each unquoted '.' a NUL), so one capacity serves both. */
static void builder_push(struct builder *b, char c, bool quoted)
{
    if (b->len + 1 >= b->cap)
        builder_grow(b);
    if (b->failed)
        return;
    b->names[b->len] = c == '.' && !quoted ? '\0' : c;
    b->text[b->len++] = c;
    b->text[b->len] = '\0';
    if (c != '.' || quoted) {
        b->name_len++;
        return;
    }
    b->path_ok &= b->name_len > 0;
    b->nnames++;
    b->name_len = 0;
}

static void builder_push_string(struct builder *b, const char *s, size_t len)
{
    static const char escapes[] = "n\nt\tr\r";
    for (size_t i = 1; i + 1 < len; i++) {
        char c = s[i];
        if (c == '\\') {
            c = s[++i];
            const char *e = c ? strchr(escapes, c) : NULL; /* the lexer never lets c be NUL */
            if (e && (e - escapes) % 2 == 0)
                c = e[1];
        }
        builder_push(b, c, true);
    }
}

/* An operand: adjacent words and quoted strings, joined where a '.' meets a quote
 * (`labels."my.key"`, `jsonPayload."@type".x`). */
struct operand {
    struct path path; /* path.text is also the value's text */
    bool path_ok;
    size_t pos;
};

static enum em_code builder_finish(struct parser *p, struct builder *b, struct operand *out)
{
    if (!b->failed && !b->text)
        builder_grow(b);
    if (b->failed) {
        free(b->text);
        free(b->names);
        return out_of_memory(p);
    }
    b->text[b->len] = '\0';
    b->names[b->len] = '\0';
    out->path = (struct path){.text = b->text, .names = b->names, .nnames = b->nnames + 1};
    out->path_ok = b->path_ok && b->name_len > 0;
    return EM_OK;
}

static void operand_free(struct operand *o)
{
    free(o->path.text);
    free(o->path.names);
}

/* Reads the operand at p->pos, whose first token the caller checked is a word or string. */
static enum em_code parse_operand(struct parser *p, bool value_mode, struct operand *out)
{
    struct builder b = {.path_ok = true};
    struct token t = lex(p, value_mode);
    out->pos = t.pos;
    for (;;) {
        const char *s = p->text + t.pos;
        if (t.kind == TOK_STRING)
            builder_push_string(&b, s, t.len);
        for (size_t i = 0; t.kind != TOK_STRING && i < t.len; i++)
            builder_push(&b, s[i], false);
        consume(p, &t);
        char next = p->text[p->pos];
        bool joined = t.kind == TOK_STRING ? next == '.' : s[t.len - 1] == '.' && is_quote(next);
        if (!joined)
            break;
        t = lex(p, value_mode);
        if (t.kind != TOK_WORD && t.kind != TOK_STRING) {
            free(b.text);
            free(b.names);
            return unexpected(p, &t);
        }
    }
    return builder_finish(p, &b, out);
}

/* ---------------------------------------------------------------- parser */

static enum em_code parse_list(struct parser *p, enum node_kind kind, struct node **out);

static enum em_code node_new(struct parser *p, enum node_kind kind, struct node **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return out_of_memory(p);
    (*out)->kind = kind;
    return EM_OK;
}

static enum em_code node_add_child(struct parser *p, struct node *list, struct node *child)
{
    if (list->nchildren == list->capacity) {
        size_t cap = list->capacity ? 2 * list->capacity : 4;
        struct node **children = realloc(list->children, cap * sizeof(*children));
        if (!children) {
            node_free(child);
            return out_of_memory(p);
        }
        list->children = children;
        list->capacity = cap;
    }
    list->children[list->nchildren++] = child;
    return EM_OK;
}

static enum em_code invalid_path(struct parser *p, const struct operand *o)
{
    return fail(p, o->pos, "invalid field path \"%.40s\"", o->path.text);
}

static const char *last_name(const struct path *path)
{
    const char *name = path->names;
    for (size_t i = 1; i < path->nnames; i++)
        name += strlen(name) + 1;
    return name;
}

/* The value after op; on success n becomes the comparison and takes left's path. */
static enum em_code parse_comparison(struct parser *p, const struct token *op, struct operand *left,
                                     struct node *n)
{
    struct operand right;
    consume(p, op);
    struct token v = lex(p, true);
    if (v.kind == TOK_ERROR)
        return unexpected(p, &v);
    if (v.kind != TOK_WORD && v.kind != TOK_STRING)
        return fail(p, v.pos, "expected a value after '%s'", op_names[op->op]);
    enum em_code code = parse_operand(p, true, &right);
    if (code != EM_OK)
        return code;
    free(right.path.names);
    n->kind = NODE_CMP;
    n->path = left->path;
    n->op = op->op;
    n->by_severity = strcmp(last_name(&left->path), "severity") == 0;
    value_init(&n->value, right.path.text);
    return EM_OK;
}

/* comparison := path op value; a path with no operator after it is a bare value. */
static enum em_code parse_restriction(struct parser *p, struct node **out)
{
    struct operand left = {0};
    enum em_code code = parse_operand(p, false, &left);
    if (code == EM_OK)
        code = node_new(p, NODE_BARE, out);
    if (code != EM_OK) {
        operand_free(&left);
        return code;
    }
    struct token op = lex(p, false);
    if (op.kind != TOK_OP) {
        free(left.path.names);
        value_init(&(*out)->value, left.path.text);
        return EM_OK;
    }
    code = left.path_ok ? parse_comparison(p, &op, &left, *out) : invalid_path(p, &left);
    if (code != EM_OK) {
        operand_free(&left);
        node_free(*out);
        *out = NULL;
    }
    return code;
}

static const struct function *function_find(const char *name, size_t len)
{
    for (size_t i = 0; i < FUNCTION_COUNT; i++)
        if (strlen(functions[i].name) == len && strncmp(functions[i].name, name, len) == 0)
            return &functions[i];
    return NULL;
}

static enum em_code arity_error(struct parser *p, const struct function *fn, size_t pos)
{
    return fail(p, pos, "%s takes %zu argument%s", fn->name, fn->nargs, fn->nargs > 1 ? "s" : "");
}

/* "(" arg { "," arg } ")" after a function's name; args has room for fn->nargs. */
static enum em_code parse_arguments(struct parser *p, const struct function *fn,
                                    struct operand *args, size_t *nargs)
{
    for (;;) {
        bool value_mode = fn->nargs == 1 || *nargs > 0;
        struct token t = lex(p, value_mode);
        if (t.kind == TOK_RPAREN && *nargs == 0)
            return arity_error(p, fn, t.pos);
        if (t.kind != TOK_WORD && t.kind != TOK_STRING)
            return unexpected(p, &t);
        if (*nargs == fn->nargs)
            return arity_error(p, fn, t.pos);
        enum em_code code = parse_operand(p, value_mode, &args[*nargs]);
        if (code != EM_OK)
            return code;
        (*nargs)++;
        t = lex(p, false);
        if (t.kind != TOK_COMMA && t.kind != TOK_RPAREN)
            return unexpected(p, &t);
        consume(p, &t);
        if (t.kind == TOK_RPAREN)
            return *nargs == fn->nargs ? EM_OK : arity_error(p, fn, t.pos);
    }
}

/* function := name "(" arg { "," arg } ")", the name a word right before the '('. */
static enum em_code parse_function(struct parser *p, const struct token *name, struct node **out)
{
    const struct function *fn = function_find(p->text + name->pos, name->len);
    if (!fn)
        return fail(p, name->pos, "unknown function \"%.*s\"", name->len > 40 ? 40 : (int)name->len,
                    p->text + name->pos);
    struct operand args[2];
    size_t nargs = 0;
    p->pos = name->pos + name->len + 1;
    enum em_code code = parse_arguments(p, fn, args, &nargs);
    if (code == EM_OK && fn->nargs == 2 && !args[0].path_ok)
        code = invalid_path(p, &args[0]);
    if (code == EM_OK)
        code = node_new(p, NODE_FUNC, out);
    if (code != EM_OK) {
        for (size_t i = 0; i < nargs; i++)
            operand_free(&args[i]);
        return code;
    }
    struct operand *value = &args[nargs - 1];
    (*out)->fn = fn;
    if (nargs == 2)
        (*out)->path = args[0].path;
    free(value->path.names);
    value_init(&(*out)->value, value->path.text);
    if (fn->fn == FN_LOG_ID && !((*out)->log_suffix = log_suffix_new(value->path.text))) {
        node_free(*out);
        *out = NULL;
        return out_of_memory(p);
    }
    return EM_OK;
}

static enum em_code parse_group(struct parser *p, const struct token *open, struct node **out)
{
    if (p->depth >= EM_FILTER_MAX_DEPTH)
        return fail(p, open->pos, "parentheses nested deeper than %d", EM_FILTER_MAX_DEPTH);
    p->depth++;
    consume(p, open);
    enum em_code code = parse_list(p, NODE_AND, out);
    if (code != EM_OK)
        return code;
    struct token close = lex(p, false);
    if (close.kind == TOK_RPAREN) {
        consume(p, &close);
        p->depth--;
        return EM_OK;
    }
    node_free(*out);
    *out = NULL;
    if (close.kind == TOK_END)
        return fail(p, close.pos, "unbalanced parentheses: expected ')'");
    return unexpected(p, &close);
}

/* simple := "(" expr ")" | function | comparison | value */
static enum em_code parse_simple(struct parser *p, struct node **out)
{
    struct token t = lex(p, false);
    if (t.kind == TOK_LPAREN)
        return parse_group(p, &t, out);
    if (t.kind == TOK_WORD && p->text[t.pos + t.len] == '(')
        return parse_function(p, &t, out);
    if (t.kind == TOK_WORD || t.kind == TOK_STRING)
        return parse_restriction(p, out);
    return unexpected(p, &t);
}

/* A '-' negates when something other than white space follows it: `-state=DISABLED`. */
static bool is_minus(const char *s)
{
    return s[0] == '-' && (is_word_char(s[1], false) || s[1] == '(' || is_quote(s[1]));
}

/* term := { "NOT" | "-" } simple */
static enum em_code parse_term(struct parser *p, struct node **out)
{
    bool negate = false;
    for (;;) {
        size_t i = skip_space(p->text, p->pos);
        struct token t = {.kind = TOK_NOT, .pos = i, .len = 1};
        if (!is_minus(p->text + i))
            t = lex(p, false); /* not before: "-----...x" would be lexed once per '-' */
        if (t.kind != TOK_NOT)
            break;
        consume(p, &t);
        negate = !negate;
    }
    enum em_code code = parse_simple(p, out);
    if (code == EM_OK)
        (*out)->negate ^= negate;
    return code;
}

static bool starts_term(enum tok kind)
{
    return kind == TOK_LPAREN || kind == TOK_WORD || kind == TOK_STRING || kind == TOK_NOT;
}

/* NODE_AND: factor { ["AND"] factor }, the two grammar rules expr and seq in one since
 * AND is associative; NODE_OR: term { "OR" term }. One child needs no list around it. */
static enum em_code parse_list(struct parser *p, enum node_kind kind, struct node **out)
{
    enum tok separator = kind == NODE_AND ? TOK_AND : TOK_OR;
    struct node *list, *child;
    enum em_code code = node_new(p, kind, &list);
    while (code == EM_OK) {
        code = kind == NODE_AND ? parse_list(p, NODE_OR, &child) : parse_term(p, &child);
        if (code == EM_OK)
            code = node_add_child(p, list, child);
        struct token t = lex(p, false);
        if (code != EM_OK || (t.kind != separator && (kind == NODE_OR || !starts_term(t.kind))))
            break;
        if (t.kind == separator)
            consume(p, &t);
    }
    if (code != EM_OK || list->nchildren > 1) {
        *out = code == EM_OK ? list : NULL;
        if (code != EM_OK)
            node_free(list);
        return code;
    }
    *out = list->children[0];
    list->nchildren = 0;
    node_free(list);
    return EM_OK;
}

enum em_code em_filter_parse(const char *text, struct em_filter **out, struct em_status *st)
{
    struct parser p = {.text = text ? text : "", .st = st};
    *out = NULL;
    if (strnlen(p.text, EM_FILTER_MAX_LEN + 1) > EM_FILTER_MAX_LEN)
        return fail(&p, EM_FILTER_MAX_LEN, "longer than %d bytes", EM_FILTER_MAX_LEN);
    struct em_filter *filter = calloc(1, sizeof(*filter));
    if (!filter)
        return out_of_memory(&p);
    enum em_code code = EM_OK;
    if (lex(&p, false).kind != TOK_END)
        code = parse_list(&p, NODE_AND, &filter->root);
    struct token t = lex(&p, false);
    if (code == EM_OK && t.kind != TOK_END)
        code = unexpected(&p, &t);
    if (code != EM_OK) {
        em_filter_free(filter);
        return code;
    }
    *out = filter;
    return EM_OK;
}

void em_filter_free(struct em_filter *filter)
{
    if (!filter)
        return;
    node_free(filter->root);
    free(filter);
}

/* ---------------------------------------------------------------- matching */

static const char *string_of(const cJSON *json)
{
    return cJSON_IsString(json) ? json->valuestring : NULL;
}

static bool starts_with(const char *s, const char *prefix, size_t len, bool fold_case)
{
    return (fold_case ? strncasecmp(s, prefix, len) : strncmp(s, prefix, len)) == 0;
}

static int compare_text(const char *a, const char *b, bool fold_case)
{
    return fold_case ? strcasecmp(a, b) : strcmp(a, b);
}

/* Whether text contains needle (ASCII letters in any case when fold_case). */
static bool contains(const char *text, const char *needle, bool fold_case)
{
    if (!fold_case)
        return strstr(text, needle) != NULL;
    size_t len = strlen(needle);
    for (; *text; text++)
        if (strncasecmp(text, needle, len) == 0)
            return true;
    return len == 0;
}

/* An object's member named name (in any case when fold_case). */
static const cJSON *named_member(const cJSON *object, const char *name, bool fold_case)
{
    return fold_case ? cJSON_GetObjectItem(object, name)
                     : cJSON_GetObjectItemCaseSensitive(object, name);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int sign_of(long long diff)
{
    return (diff > 0) - (diff < 0);
}

/* A JSON number, or an int64 carried as a decimal string. */
static bool leaf_number(const cJSON *leaf, struct number *out)
{
    if (cJSON_IsNumber(leaf)) {
        out->d = leaf->valuedouble;
        /* em_json_value_int64 casts before it range-checks: give it only values that fit */
        out->is_int = fabs(out->d) < 9.2e18 && em_json_value_int64(leaf, &out->i);
        return !isnan(out->d);
    }
    out->is_int = em_json_value_int64(leaf, &out->i);
    out->d = (double)out->i;
    return out->is_int;
}

static int compare_numbers(const struct number *a, const struct number *b)
{
    if (a->is_int && b->is_int)
        return (a->i > b->i) - (a->i < b->i);
    return (a->d > b->d) - (a->d < b->d);
}

static bool leaf_severity(const cJSON *leaf, int *level)
{
    struct number n;
    if (string_of(leaf))
        return parse_severity(leaf->valuestring, level);
    if (!leaf_number(leaf, &n) || !n.is_int || n.i < 0 || n.i > 1000)
        return false;
    *level = (int)n.i;
    return true;
}

/* Orders leaf against the node's value: as severities, times, numbers, then text. */
static bool order_leaf(const cJSON *leaf, const struct node *n, int *order)
{
    const struct value *v = &n->value;
    const char *s = string_of(leaf);
    int level;
    int64_t ns;
    struct number num;
    if (n->by_severity && v->is_severity && leaf_severity(leaf, &level))
        *order = sign_of(level - v->severity);
    else if (v->is_time && s && parse_time(s, &ns))
        *order = (ns > v->time_ns) - (ns < v->time_ns);
    else if (v->is_number && leaf_number(leaf, &num))
        *order = compare_numbers(&num, &v->number);
    else if (s)
        *order = sign_of(compare_text(s, v->text, n->fold_case));
    else if (cJSON_IsBool(leaf))
        *order = sign_of(strcmp(cJSON_IsTrue(leaf) ? "true" : "false", v->text));
    else
        return false;
    return true;
}

static bool equal_or_prefixed(const char *s, const struct node *n)
{
    const char *v = n->value.text;
    size_t len = strlen(v);
    if (!n->exact && len > 0 && v[len - 1] == '*')
        return starts_with(s, v, len - 1, n->fold_case);
    return compare_text(s, v, n->fold_case) == 0;
}

/* ':' — substring of a string (in Resource Manager's queries: equal, or prefixed by a
 * value ending in '*'), key of an object, equal to a number or bool; "*": present. */
static bool has_leaf(const cJSON *leaf, const struct node *n)
{
    const char *v = n->value.text;
    int order;
    if (strcmp(v, "*") == 0)
        return true;
    if (string_of(leaf))
        return n->fold_case ? equal_or_prefixed(leaf->valuestring, n)
                            : contains(leaf->valuestring, v, false);
    if (cJSON_IsObject(leaf)) {
        const cJSON *member = named_member(leaf, v, n->fold_case);
        return member && !cJSON_IsNull(member);
    }
    return order_leaf(leaf, n, &order) && order == 0;
}

/* One comparison on one JSON value; '!=' is decided by the caller as NOT '='. */
static bool compare_leaf(const cJSON *leaf, const struct node *n)
{
    enum op op = n->op == OP_NE ? OP_EQ : n->op;
    const char *v = n->value.text;
    size_t len = strlen(v);
    int order;
    if (op == OP_HAS)
        return has_leaf(leaf, n);
    if (op == OP_EQ && !n->exact && len > 0 && v[len - 1] == '*' && string_of(leaf))
        return starts_with(leaf->valuestring, v, len - 1, n->fold_case);
    if (!order_leaf(leaf, n, &order))
        return false;
    switch (op) {
    case OP_EQ:
        return order == 0;
    case OP_LT:
        return order < 0;
    case OP_LE:
        return order <= 0;
    case OP_GT:
        return order > 0;
    case OP_GE:
        return order >= 0;
    default:
        return false;
    }
}

static bool affix_leaf(const cJSON *leaf, const struct node *n)
{
    const char *s = string_of(leaf);
    if (!s)
        return false;
    if (n->fn->fn == FN_HAS_PREFIX)
        return starts_with(s, n->value.text, strlen(n->value.text), n->fold_case);
    return ends_with(s, n->value.text);
}

typedef bool (*leaf_fn)(const cJSON *leaf, const struct node *n);

/* A member by its JSON name, or by its proto name ("resource_type_selector" finds
 * "resourceTypeSelector"): AIP-160 filters name fields as the proto does. */
static const cJSON *member(const cJSON *json, const char *name, bool fold_case)
{
    const cJSON *found = named_member(json, name, fold_case);
    if (found || !strchr(name, '_'))
        return found;
    char camel[256];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof(camel); p++) {
        if (*p == '_' && p[1] >= 'a' && p[1] <= 'z' && n > 0)
            camel[n++] = (char)(*++p - 'a' + 'A');
        else
            camel[n++] = *p;
    }
    camel[n] = '\0';
    return named_member(json, camel, fold_case);
}

/* Walks names from json; an array on the way (or at the end) matches when any element
 * does; a missing field or null matches nothing. */
static bool any_at_path(const cJSON *json, const char *names, size_t nnames, const struct node *n,
                        leaf_fn test)
{
    while (json && !cJSON_IsNull(json)) {
        if (cJSON_IsArray(json)) {
            for (const cJSON *e = json->child; e; e = e->next)
                if (any_at_path(e, names, nnames, n, test))
                    return true;
            return false;
        }
        if (nnames == 0)
            return test(json, n);
        if (!cJSON_IsObject(json))
            return false;
        json = member(json, names, n->fold_case);
        names += strlen(names) + 1;
        nnames--;
    }
    return false;
}

/* A bare value: any string anywhere in the resource contains it. */
static bool contains_text(const cJSON *json, const char *text, bool fold_case)
{
    if (!json)
        return false;
    if (string_of(json))
        return contains(json->valuestring, text, fold_case);
    for (const cJSON *child = json->child; child; child = child->next)
        if (contains_text(child, text, fold_case))
            return true;
    return false;
}

static bool function_match(const struct node *n, const cJSON *resource)
{
    if (n->fn->fn != FN_LOG_ID)
        return any_at_path(resource, n->path.names, n->path.nnames, n, affix_leaf);
    const char *log_name = string_of(cJSON_GetObjectItemCaseSensitive(resource, "logName"));
    return log_name && ends_with(log_name, n->log_suffix);
}

static bool node_match(const struct node *n, const cJSON *resource)
{
    bool hit = n->kind == NODE_AND;
    switch (n->kind) {
    case NODE_AND:
    case NODE_OR:
        for (size_t i = 0; i < n->nchildren && hit == (n->kind == NODE_AND); i++)
            hit = node_match(n->children[i], resource);
        break;
    case NODE_CMP:
        hit = any_at_path(resource, n->path.names, n->path.nnames, n, compare_leaf);
        hit = n->op == OP_NE ? !hit : hit;
        break;
    case NODE_FUNC:
        hit = function_match(n, resource);
        break;
    case NODE_BARE:
        hit = contains_text(resource, n->value.text, n->fold_case);
        break;
    }
    return hit != n->negate;
}

bool em_filter_match(const struct em_filter *filter, const cJSON *resource)
{
    if (!filter || !filter->root)
        return true;
    return node_match(filter->root, resource);
}

/* ---------------------------------------------------------------- visiting */

static bool visit_node(const struct node *n, em_filter_visit_fn visit, void *arg)
{
    switch (n->kind) {
    case NODE_AND:
    case NODE_OR:
        for (size_t i = 0; i < n->nchildren; i++)
            if (!visit_node(n->children[i], visit, arg))
                return false;
        return true;
    case NODE_CMP:
        return visit(n->path.text, op_names[n->op], n->value.text, arg);
    case NODE_FUNC:
        return visit(n->fn->nargs == 2 ? n->path.text : "logName", n->fn->name, n->value.text, arg);
    case NODE_BARE:
        return visit("", ":", n->value.text, arg);
    }
    return true;
}

bool em_filter_visit(const struct em_filter *filter, em_filter_visit_fn visit, void *arg)
{
    if (!filter || !filter->root)
        return true;
    return visit_node(filter->root, visit, arg);
}
