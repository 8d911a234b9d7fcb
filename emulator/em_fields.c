/*
 * em_fields: parses a `fields` selection into a tree of parts and prunes replies with it
 * (see em_fields.h). The parser is recursive descent over the text, bounded in length,
 * depth and parts, so a hostile selection costs at most a few kilobytes.
 */
#include "em_fields.h"

#include "em_mask.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* One part of a path: a member's name, kept whole or with the parts below it. */
struct part {
    char *name; /* "*": every member */
    bool whole;
    struct part *children;
    struct part *next;
};

struct em_fields {
    struct part *parts;
};

struct parser {
    const char *text;
    size_t at;
    int parts;
    const char *error; /* what is wrong at `at` */
};

static void parts_free(struct part *p)
{
    while (p) {
        struct part *next = p->next;
        parts_free(p->children);
        free(p->name);
        free(p);
        p = next;
    }
}

void em_fields_free(struct em_fields *fields)
{
    if (fields)
        parts_free(fields->parts);
    free(fields);
}

static bool fail(struct parser *ps, const char *error)
{
    if (!ps->error)
        ps->error = error;
    return false;
}

/* The part of list named name (len bytes), added when absent; NULL when out of room. */
static struct part *part_named(struct parser *ps, struct part **list, const char *name, size_t len)
{
    for (struct part *p = *list; p; p = p->next)
        if (strlen(p->name) == len && strncmp(p->name, name, len) == 0)
            return p;
    if (++ps->parts > EM_FIELDS_MAX_PARTS) {
        fail(ps, "more than 256 fields");
        return NULL;
    }
    struct part *p = calloc(1, sizeof(*p));
    if (p)
        p->name = strndup(name, len);
    if (!p || !p->name) {
        free(p);
        fail(ps, "out of memory");
        return NULL;
    }
    p->next = *list;
    *list = p;
    return p;
}

/* The length of the field name at the parser's position: letters, digits, '_', or '*'. */
static size_t name_length(const struct parser *ps)
{
    const char *s = ps->text + ps->at;
    if (*s == '*')
        return 1;
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '_')
        n++;
    return n;
}

static bool parse_list(struct parser *ps, struct part **list, int depth);

/* One item: a path ("a/b/c" or "a.b.c"), then "(list)" or nothing (kept whole). */
static bool parse_item(struct parser *ps, struct part **list, int depth)
{
    struct part *p = NULL;
    for (;;) {
        size_t n = name_length(ps);
        if (n == 0)
            return fail(ps, "a field name is expected");
        if (++depth > EM_FIELDS_MAX_DEPTH)
            return fail(ps, "fields nested more than 16 deep");
        p = part_named(ps, p ? &p->children : list, ps->text + ps->at, n);
        if (!p)
            return false;
        ps->at += n;
        char c = ps->text[ps->at];
        if (c != '/' && c != '.')
            break;
        ps->at++;
    }
    if (ps->text[ps->at] != '(') {
        p->whole = true;
        return true;
    }
    ps->at++;
    if (!parse_list(ps, &p->children, depth))
        return false;
    if (ps->text[ps->at] != ')')
        return fail(ps, "')' is expected");
    ps->at++;
    return true;
}

/* Items separated by ',', up to the end or a ')'. */
static bool parse_list(struct parser *ps, struct part **list, int depth)
{
    for (;;) {
        if (!parse_item(ps, list, depth))
            return false;
        if (ps->text[ps->at] != ',')
            return true;
        ps->at++;
    }
}

enum em_code em_fields_parse(const char *text, struct em_fields **out, struct em_status *st)
{
    *out = NULL;
    if (!text || !*text)
        return EM_OK;
    if (strlen(text) > EM_FIELDS_MAX_TEXT)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid field selection: longer than %d characters.", EM_FIELDS_MAX_TEXT);
    struct parser ps = {text, 0, 0, NULL};
    struct em_fields *fields = calloc(1, sizeof(*fields));
    if (!fields)
        return EM_FAIL_OOM(st);
    if (parse_list(&ps, &fields->parts, 0) && text[ps.at] != '\0')
        fail(&ps, text[ps.at] == ')' ? "')' closes nothing" : "',' or the end is expected");
    if (ps.error) {
        em_fields_free(fields);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid field selection \"%.200s\": %s at character %zu.", text, ps.error,
                       ps.at + 1);
    }
    *out = fields;
    return EM_OK;
}

/* The part of list that selects member name: its own, else "*"; NULL when none does. */
static const struct part *part_for(const struct part *list, const char *name)
{
    const struct part *any = NULL;
    for (const struct part *p = list; p; p = p->next) {
        if (strcmp(p->name, "*") == 0)
            any = p;
        else if (em_mask_path_is(p->name, name))
            return p;
    }
    return any;
}

/* Prunes json, an object or an array, to the parts of list. An object keeps the members
 * list selects; an array's elements are pruned each, and a scalar whose parts were asked
 * for (it has none) is dropped, in an object as in an array. */
static void apply_parts(const struct part *list, cJSON *json)
{
    cJSON *item = json->child;
    while (item) {
        cJSON *next = item->next;
        const struct part *p = cJSON_IsArray(json) ? NULL : part_for(list, item->string);
        const struct part *below = cJSON_IsArray(json) ? NULL : p;
        bool keep = cJSON_IsArray(json) || p;
        if (keep && !(below && below->whole)) {
            if (cJSON_IsObject(item) || cJSON_IsArray(item))
                apply_parts(below ? below->children : list, item);
            else
                keep = false;
        }
        if (!keep)
            cJSON_Delete(cJSON_DetachItemViaPointer(json, item));
        item = next;
    }
}

void em_fields_apply(const struct em_fields *fields, cJSON *json)
{
    if (fields && (cJSON_IsObject(json) || cJSON_IsArray(json)))
        apply_parts(fields->parts, json);
}
