/*
 * runner_elements: elements, batches and the stateless transforms (see runner_elements.h
 * and docs/pipelines.md for what each function does).
 */
#include "runner_elements.h"

#include "em_regex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool rn_batch_push(struct rn_batch *b, struct rn_elem *e)
{
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct rn_elem *items = realloc(b->items, cap * sizeof(*items));
        if (!items) {
            rn_elem_free(e);
            return false;
        }
        b->items = items;
        b->cap = cap;
    }
    b->items[b->count++] = *e;
    return true;
}

void rn_batch_clear(struct rn_batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        rn_elem_free(&b->items[i]);
    free(b->items);
    memset(b, 0, sizeof(*b));
}

struct rn_elem rn_elem_make(cJSON *value, int64_t ts_ns)
{
    struct rn_elem e = {
        .value = value, .ts_ns = ts_ns, .win_start = INT64_MIN, .win_end = INT64_MAX};
    return e;
}

void rn_elem_free(struct rn_elem *e)
{
    cJSON_Delete(e->value);
    cJSON_Delete(e->key);
    cJSON_Delete(e->attrs);
    e->value = e->key = e->attrs = NULL;
}

struct rn_elem rn_elem_copy(const struct rn_elem *e)
{
    struct rn_elem c = *e;
    c.value = cJSON_Duplicate(e->value, true);
    c.key = e->key ? cJSON_Duplicate(e->key, true) : NULL;
    c.attrs = e->attrs ? cJSON_Duplicate(e->attrs, true) : NULL;
    return c;
}

char *rn_value_text(const cJSON *value)
{
    if (cJSON_IsString(value))
        return strdup(value->valuestring);
    return value ? cJSON_PrintUnformatted(value) : strdup("");
}

/* Pushes a copy of in whose value is replaced by value (owned). */
static bool emit_value(const struct rn_elem *in, cJSON *value, struct rn_batch *out)
{
    if (!value)
        return false;
    struct rn_elem e = *in;
    e.value = value;
    e.key = in->key ? cJSON_Duplicate(in->key, true) : NULL;
    e.attrs = in->attrs ? cJSON_Duplicate(in->attrs, true) : NULL;
    return rn_batch_push(out, &e);
}

/* The element to the dead-letter output, with the reason as attribute "error" (attributes
 * that are not an object are replaced). */
static bool emit_failed(const struct rn_elem *in, const char *reason, struct rn_batch *failed)
{
    struct rn_elem e = rn_elem_copy(in);
    if (!cJSON_IsObject(e.attrs)) {
        cJSON_Delete(e.attrs);
        e.attrs = cJSON_CreateObject();
    }
    if (e.attrs) {
        cJSON_DeleteItemFromObjectCaseSensitive(e.attrs, "error");
        cJSON_AddStringToObject(e.attrs, "error", reason);
    }
    return rn_batch_push(failed, &e);
}

static bool emit_text(const struct rn_elem *in, const char *text, size_t len, struct rn_batch *out)
{
    char small[128];
    char *copy = len < sizeof(small) ? small : malloc(len + 1);
    if (!copy)
        return false;
    memcpy(copy, text, len);
    copy[len] = '\0';
    cJSON *value = cJSON_CreateString(copy);
    if (copy != small)
        free(copy);
    return emit_value(in, value, out);
}

/* lowercase, uppercase, trim. */
static bool map_text(enum rn_fn fn, const struct rn_elem *in, struct rn_batch *out)
{
    char *text = rn_value_text(in->value);
    if (!text)
        return false;
    char *start = text;
    size_t len = strlen(text);
    if (fn == RN_FN_TRIM) {
        while (isspace((unsigned char)*start))
            start++, len--;
        while (len && isspace((unsigned char)start[len - 1]))
            len--;
    } else {
        for (char *c = text; *c; c++)
            *c = (char)(fn == RN_FN_UPPERCASE ? toupper((unsigned char)*c)
                                              : tolower((unsigned char)*c));
    }
    bool ok = emit_text(in, start, len, out);
    free(text);
    return ok;
}

/* Appends text to a growing buffer. */
static bool append(char **buf, size_t *len, size_t *cap, const char *text, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = (*len + n + 1) * 2;
        char *bigger = realloc(*buf, want);
        if (!bigger)
            return false;
        *buf = bigger;
        *cap = want;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
    return true;
}

/* The text a {name} of a format template stands for: key, value, or a field of an object
 * value (malloc'd; "" when absent). */
static char *placeholder_text(const struct rn_elem *in, const char *name)
{
    if (strcmp(name, "key") == 0)
        return rn_value_text(in->key);
    if (strcmp(name, "value") == 0)
        return rn_value_text(in->value);
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(in->value, name);
    return field ? rn_value_text(field) : strdup("");
}

static bool map_format(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    bool ok = append(&buf, &len, &cap, "", 0);
    for (const char *p = step->format; ok && *p;) {
        const char *end = p[0] == '{' ? strchr(p, '}') : NULL;
        if (!end || end - p > 64) {
            ok = append(&buf, &len, &cap, p, 1);
            p++;
            continue;
        }
        char name[66];
        memcpy(name, p + 1, (size_t)(end - p - 1));
        name[end - p - 1] = '\0';
        char *text = placeholder_text(in, name);
        ok = text && append(&buf, &len, &cap, text, strlen(text));
        free(text);
        p = end + 1;
    }
    ok = ok && emit_text(in, buf, len, out);
    free(buf);
    return ok;
}

static bool is_word_char(char c)
{
    return isalpha((unsigned char)c) || c == '\'';
}

/* Word_Count's split: runs of [A-Za-z'] (Google splits on [^\p{L}']+). */
static bool split_words(const struct rn_elem *in, struct rn_batch *out)
{
    char *copy = cJSON_IsString(in->value) ? NULL : rn_value_text(in->value);
    const char *text = copy ? copy : cJSON_GetStringValue(in->value);
    if (!text)
        return false;
    bool ok = true;
    for (const char *p = text; ok && *p;) {
        while (*p && !is_word_char(*p))
            p++;
        const char *start = p;
        while (*p && is_word_char(*p))
            p++;
        if (p > start)
            ok = emit_text(in, start, (size_t)(p - start), out);
    }
    free(copy);
    return ok;
}

/* The non-empty pieces between the pattern's matches; an empty match ends the split. */
static bool split_regex(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out)
{
    char *text = rn_value_text(in->value);
    if (!text)
        return false;
    const uint8_t *bytes = (const uint8_t *)text;
    size_t len = strlen(text), at = 0;
    struct em_regex_span m;
    int found = 0;
    bool ok = true;
    while (ok && (found = em_regex_search(step->regex, bytes, len, at, &m, 1)) == 1 && m.to > at) {
        if (m.from > at)
            ok = emit_text(in, text + at, m.from - at, out);
        at = m.to;
    }
    if (ok && at < len)
        ok = emit_text(in, text + at, len - at, out);
    free(text);
    return ok && found >= 0;
}

/* contains: some part of text matches; matches and attribute_matches: all of it. */
static bool regex_passes(const struct rn_step *step, const char *text)
{
    const uint8_t *bytes = (const uint8_t *)text;
    return step->fn == RN_FN_CONTAINS ? em_regex_partial_match(step->regex, bytes, strlen(text))
                                      : em_regex_full_match(step->regex, bytes, strlen(text));
}

/* Cloud_PubSub_to_Cloud_PubSub's filter: with a pattern, the attribute must exist and
 * match it whole; without one, only elements without the attribute pass. */
static bool attribute_passes(const struct rn_step *step, const struct rn_elem *in)
{
    const cJSON *attr = cJSON_GetObjectItemCaseSensitive(in->attrs, step->attribute);
    if (!step->regex)
        return !cJSON_IsString(attr);
    return cJSON_IsString(attr) && regex_passes(step, attr->valuestring);
}

static bool filter_passes(const struct rn_step *step, const struct rn_elem *in)
{
    if (step->fn == RN_FN_ATTRIBUTE_MATCHES)
        return attribute_passes(step, in);
    char *text = rn_value_text(in->value);
    bool pass = text && (step->fn == RN_FN_NOT_EMPTY ? *text != '\0' : regex_passes(step, text));
    free(text);
    return pass;
}

static bool parse_json(const struct rn_elem *in, struct rn_batch *out, struct rn_batch *failed)
{
    if (!cJSON_IsString(in->value))
        return emit_value(in, cJSON_Duplicate(in->value, true), out);
    cJSON *parsed = cJSON_Parse(in->value->valuestring);
    if (!parsed)
        return emit_failed(in, "not valid JSON", failed);
    return emit_value(in, parsed, out);
}

static bool extract_field(const struct rn_step *step, const struct rn_elem *in,
                          struct rn_batch *out, struct rn_batch *failed)
{
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(in->value, step->field);
    if (!field)
        return emit_failed(in, "field missing", failed);
    return emit_value(in, cJSON_Duplicate(field, true), out);
}

static bool rename_fields(const struct rn_step *step, const struct rn_elem *in,
                          struct rn_batch *out, struct rn_batch *failed)
{
    if (!cJSON_IsObject(in->value))
        return emit_failed(in, "not a JSON object", failed);
    cJSON *value = cJSON_Duplicate(in->value, true);
    const cJSON *rename;
    cJSON_ArrayForEach(rename, cJSON_GetObjectItemCaseSensitive(step->spec, "fields"))
    {
        cJSON *moved =
            value ? cJSON_DetachItemFromObjectCaseSensitive(value, rename->string) : NULL;
        if (moved && cJSON_IsString(rename)) {
            cJSON_DeleteItemFromObjectCaseSensitive(value, rename->valuestring);
            cJSON_AddItemToObject(value, rename->valuestring, moved);
        } else {
            cJSON_Delete(moved);
        }
    }
    return emit_value(in, value, out);
}

static bool key_by(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out,
                   struct rn_batch *failed)
{
    const cJSON *key =
        step->field ? cJSON_GetObjectItemCaseSensitive(in->value, step->field) : in->value;
    if (!key)
        return emit_failed(in, "key field missing", failed);
    struct rn_elem e = rn_elem_copy(in);
    cJSON_Delete(e.key);
    e.key = cJSON_Duplicate(key, true);
    return rn_batch_push(out, &e);
}

/* Assigns the element to its fixed window, to each sliding window that holds it, or to
 * its own session [t, t + gap) (merged with its key's other sessions in runner_state). */
static bool window_into(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out)
{
    if (step->window == RN_WINDOW_SESSION) {
        struct rn_elem e = rn_elem_copy(in);
        e.win_start = in->ts_ns;
        e.win_end = in->ts_ns + step->size_ns;
        return rn_batch_push(out, &e);
    }
    int64_t period = step->window == RN_WINDOW_SLIDING ? step->period_ns : step->size_ns;
    int64_t rem = in->ts_ns % period;
    int64_t last_start = in->ts_ns - (rem < 0 ? rem + period : rem);
    for (int64_t start = last_start; start > in->ts_ns - step->size_ns; start -= period) {
        struct rn_elem e = rn_elem_copy(in);
        e.win_start = start;
        e.win_end = start + step->size_ns;
        if (!rn_batch_push(out, &e))
            return false;
    }
    return true;
}

bool rn_apply_stateless(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out,
                        struct rn_batch *failed)
{
    switch (step->kind) {
    case RN_PARSE_JSON:
        return parse_json(in, out, failed);
    case RN_EXTRACT_FIELD:
        return extract_field(step, in, out, failed);
    case RN_RENAME_FIELDS:
        return rename_fields(step, in, out, failed);
    case RN_KEY_BY:
        return key_by(step, in, out, failed);
    case RN_WINDOW:
        return window_into(step, in, out);
    case RN_FILTER:
        return filter_passes(step, in) ? emit_value(in, cJSON_Duplicate(in->value, true), out)
                                       : true;
    case RN_FLAT_MAP:
        return step->fn == RN_FN_SPLIT_WORDS ? split_words(in, out) : split_regex(step, in, out);
    case RN_MAP:
        if (step->fn == RN_FN_FORMAT)
            return map_format(step, in, out);
        return map_text(step->fn, in, out);
    default:
        return emit_value(in, cJSON_Duplicate(in->value, true), out);
    }
}
