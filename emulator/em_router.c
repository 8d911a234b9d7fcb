/*
 * em_router: compiles Google path templates and matches request paths against them.
 * See em_router.h for the template language. Matching is a linear scan over compiled
 * routes comparing segment by segment; tables are a few dozen entries per service.
 */
#include "em_router.h"

#include "em_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum seg_kind { SEG_LITERAL, SEG_STAR, SEG_DOUBLE_STAR };

struct seg {
    enum seg_kind kind;
    char *text; /* SEG_LITERAL */
};

struct var_span {
    char *name;
    int first, last; /* segment indexes, inclusive */
};

struct compiled {
    const struct em_route *route;
    struct seg segs[EM_MAX_SEGMENTS];
    int seg_count;
    struct var_span vars[EM_MAX_VARS];
    int var_count;
    char *verb; /* NULL when the template has none */
};

struct em_router {
    struct compiled *items;
    size_t count, cap;
    const struct em_route *fallback; /* NULL: unmatched requests stay unmatched */
};

struct em_router *em_router_new(void)
{
    return calloc(1, sizeof(struct em_router));
}

static void compiled_release(struct compiled *c)
{
    for (int i = 0; i < c->seg_count; i++)
        free(c->segs[i].text);
    for (int i = 0; i < c->var_count; i++)
        free(c->vars[i].name);
    free(c->verb);
}

void em_router_free(struct em_router *router)
{
    if (!router)
        return;
    for (size_t i = 0; i < router->count; i++)
        compiled_release(&router->items[i]);
    free(router->items);
    free(router);
}

static bool add_segment(struct compiled *c, const char *text, size_t len)
{
    if (c->seg_count >= EM_MAX_SEGMENTS || len == 0)
        return false;
    struct seg *s = &c->segs[c->seg_count++];
    if (len == 1 && text[0] == '*') {
        s->kind = SEG_STAR;
    } else if (len == 2 && text[0] == '*' && text[1] == '*') {
        s->kind = SEG_DOUBLE_STAR;
    } else {
        s->kind = SEG_LITERAL;
        s->text = strndup(text, len);
    }
    return true;
}

/* Adds the '/'-separated segments of text[0..len). */
static bool add_segments(struct compiled *c, const char *text, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '/') {
            if (!add_segment(c, text + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

/* Parses "{name=pattern}" or "{name}" at *p; advances past the '}'. */
static bool add_variable(struct compiled *c, const char **p)
{
    const char *close = strchr(*p, '}');
    if (!close || c->var_count >= EM_MAX_VARS)
        return false;
    const char *inner = *p + 1;
    const char *eq = memchr(inner, '=', (size_t)(close - inner));
    struct var_span *v = &c->vars[c->var_count++];
    v->first = c->seg_count;
    v->name = strndup(inner, (size_t)((eq ? eq : close) - inner));
    bool ok = v->name && v->name[0] &&
              (eq ? add_segments(c, eq + 1, (size_t)(close - eq - 1)) : add_segment(c, "*", 1));
    v->last = c->seg_count - 1;
    *p = close + 1;
    return ok;
}

static bool compile(struct compiled *c, const char *tmpl)
{
    if (strcmp(tmpl, "/") == 0)
        return true; /* the root: no segment, matched by the path "/" (or "") only */
    const char *p = tmpl[0] == '/' ? tmpl + 1 : tmpl;
    const char *colon = strrchr(p, ':');
    const char *slash = strrchr(p, '/');
    const char *brace = strrchr(p, '}');
    size_t body_len = strlen(p);
    if (colon && (!slash || colon > slash) && (!brace || colon > brace)) {
        if (!colon[1])
            return false;
        c->verb = strdup(colon + 1);
        body_len = (size_t)(colon - p);
    }
    const char *end = p + body_len;
    while (p < end) {
        if (*p == '{') {
            if (!add_variable(c, &p) || (p < end && *p != '/'))
                return false;
        } else {
            const char *next = p;
            while (next < end && *next != '/' && *next != '{')
                next++;
            if (!add_segment(c, p, (size_t)(next - p)))
                return false;
            p = next;
        }
        if (p < end && *p == '/' && ++p == end)
            return false; /* a trailing '/' */
    }
    /* `**` takes the rest of the path, so it can only be the last segment */
    for (int i = 0; i + 1 < c->seg_count; i++)
        if (c->segs[i].kind == SEG_DOUBLE_STAR)
            return false;
    return c->seg_count > 0;
}

enum em_code em_router_add(struct em_router *router, const struct em_route *routes, size_t count,
                           struct em_status *st)
{
    for (size_t i = 0; i < count; i++) {
        if (router->count == router->cap) {
            size_t cap = router->cap ? router->cap * 2 : 32;
            struct compiled *items = realloc(router->items, cap * sizeof(*items));
            if (!items)
                return EM_FAIL_OOM(st);
            router->items = items;
            router->cap = cap;
        }
        struct compiled *c = &router->items[router->count];
        memset(c, 0, sizeof(*c));
        c->route = &routes[i];
        if (!compile(c, routes[i].path)) {
            compiled_release(c);
            return EM_FAIL(st, EM_INTERNAL, "malformed route template %s", routes[i].path);
        }
        router->count++;
    }
    return EM_OK;
}

struct span {
    const char *start;
    size_t len;
};

/* Splits path into segments and the verb. Returns the segment count, or -1. */
static int split_path(const char *path, struct span *segs, struct span *verb)
{
    if (path[0] == '/')
        path++;
    size_t len = strlen(path);
    const char *slash = strrchr(path, '/');
    const char *last = slash ? slash + 1 : path;
    const char *colon = strrchr(last, ':');
    verb->start = NULL;
    verb->len = 0;
    if (colon) {
        verb->start = colon + 1;
        verb->len = len - (size_t)(colon + 1 - path);
        len = (size_t)(colon - path);
    }
    int n = 0;
    size_t start = 0;
    if (len == 0 && !colon)
        return 0; /* the root path */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        if (n >= EM_MAX_SEGMENTS)
            return -1;
        segs[n].start = path + start;
        segs[n].len = i - start;
        n++;
        start = i + 1;
    }
    return n;
}

static bool verb_matches(const struct compiled *c, const struct span *verb)
{
    if (!c->verb)
        return verb->start == NULL;
    return verb->start && strlen(c->verb) == verb->len &&
           memcmp(c->verb, verb->start, verb->len) == 0;
}

/* Matches segments; on success fills seg_end[i] = last path segment of template seg i. */
static bool segments_match(const struct compiled *c, const struct span *segs, int n, int *seg_end)
{
    int i = 0;
    for (int t = 0; t < c->seg_count; t++) {
        const struct seg *s = &c->segs[t];
        if (s->kind == SEG_DOUBLE_STAR) {
            if (t != c->seg_count - 1 || i >= n)
                return false;
            for (; i < n; i++)
                if (segs[i].len == 0)
                    return false;
            seg_end[t] = n - 1;
            continue;
        }
        if (i >= n || segs[i].len == 0)
            return false;
        if (s->kind == SEG_LITERAL &&
            (strlen(s->text) != segs[i].len || memcmp(s->text, segs[i].start, segs[i].len) != 0))
            return false;
        seg_end[t] = i++;
    }
    return i == n;
}

static void capture(const struct compiled *c, const struct span *segs, const int *seg_end,
                    struct em_match *out)
{
    size_t used = 0;
    out->var_count = 0;
    for (int v = 0; v < c->var_count; v++) {
        const struct var_span *span = &c->vars[v];
        int first = span->first == 0 ? 0 : seg_end[span->first - 1] + 1;
        int last = seg_end[span->last];
        const char *start = segs[first].start;
        size_t len = (size_t)(segs[last].start + segs[last].len - start);
        /* the path was at most EM_PATH_MAX, so the values always fit */
        memcpy(out->buf + used, start, len);
        out->buf[used + len] = '\0';
        out->vars[out->var_count].name = span->name;
        out->vars[out->var_count].value = out->buf + used;
        out->var_count++;
        used += len + 1;
    }
}

static enum em_match_result match_table(const struct em_router *router, const char *method,
                                        const char *path, struct em_match *out)
{
    struct span segs[EM_MAX_SEGMENTS], verb;
    int seg_end[EM_MAX_SEGMENTS];
    if (strlen(path) >= EM_PATH_MAX)
        return EM_NO_ROUTE;
    int n = split_path(path, segs, &verb);
    if (n < 0)
        return EM_NO_ROUTE;
    enum em_match_result result = EM_NO_ROUTE;
    for (size_t r = 0; r < router->count; r++) {
        const struct compiled *c = &router->items[r];
        if (!verb_matches(c, &verb) || !segments_match(c, segs, n, seg_end))
            continue;
        if (strcmp(c->route->method, method) != 0) {
            result = EM_WRONG_METHOD;
            continue;
        }
        out->route = c->route;
        capture(c, segs, seg_end, out);
        return EM_MATCHED;
    }
    return result;
}

void em_router_set_fallback(struct em_router *router, const struct em_route *route)
{
    router->fallback = route;
}

enum em_match_result em_router_match(const struct em_router *router, const char *method,
                                     const char *path, struct em_match *out)
{
    enum em_match_result result = match_table(router, method, path, out);
    if (result == EM_MATCHED || !router->fallback)
        return result;
    out->route = router->fallback;
    out->var_count = 0;
    return EM_MATCHED;
}

size_t em_url_unescape(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = em_hex_digit(p[1])) >= 0 && (lo = em_hex_digit(p[2])) >= 0) {
            unsigned char c = (unsigned char)(hi * 16 + lo);
            *out++ = (char)(c ? c : 0xFF);
            p += 2;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}
