/*
 * spanner_json_value: the JSON data type's text (see spanner_json_value.h). cJSON parses
 * the structure; the number tokens are read again from the text, in document order (the
 * order of a pre-order walk of the tree), so no digit is lost to cJSON's doubles.
 */
#include "spanner_json_value.h"
#include "em_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---- */

/* The shortest digits that read back as d (finite, > 0): digits[] without a point, and
 * the decimal exponent e with d = 0.digits x 10^e. */
static void shortest_digits(double d, char digits[20], int *e)
{
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*e", precision - 1, d);
        if (strtod(text, NULL) == d)
            break;
    }
    /* text is "D.DDDDe+XX" or "De+XX" */
    size_t n = 0;
    const char *p = text;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *e = atoi(p + 1) + 1;
}

void sp_json_format_double(double d, char out[SP_JSON_NUMBER_MAX])
{
    const char *sign = signbit(d) ? "-" : "";
    d = fabs(d);
    char digits[20] = "";
    int n = 0;
    if (d != 0)
        shortest_digits(d, digits, &n);
    int k = (int)strlen(digits);
    if (d == 0)
        snprintf(out, SP_JSON_NUMBER_MAX, "%s0.0", sign);
    else if (k <= n && n <= 15) /* whole: digits, zeros, ".0" */
        snprintf(out, SP_JSON_NUMBER_MAX, "%s%s%.*s.0", sign, digits, n - k, "000000000000000");
    else if (n > 0 && n <= 15) /* a point inside the digits */
        snprintf(out, SP_JSON_NUMBER_MAX, "%s%.*s.%s", sign, n, digits, digits + n);
    else if (n > -4 && n <= 0) /* 0.000ddd */
        snprintf(out, SP_JSON_NUMBER_MAX, "%s0.%.*s%s", sign, -n, "0000", digits);
    else /* d[.ddd]e+XX */
        snprintf(out, SP_JSON_NUMBER_MAX, "%s%c%s%se%c%02d", sign, digits[0], k > 1 ? "." : "",
                 digits + 1, n - 1 < 0 ? '-' : '+', abs(n - 1));
}

/* The significant digits of a decimal number's text (no leading or trailing zero) into
 * digits (at most size - 1 of them: false beyond), and e with |value| = 0.digits x 10^e;
 * "" for zero. */
static bool decimal_digits(const char *text, char *digits, size_t size, long *e)
{
    size_t n = 0;
    long point = 0; /* digits before the point, leading zeros left out */
    bool seen_nonzero = false, after_point = false;
    const char *p = text + (*text == '-');
    for (; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            after_point = true;
            continue;
        }
        if (*p == '0' && !seen_nonzero) {
            point -= after_point; /* 0.00ddd: the point moves right */
            continue;
        }
        seen_nonzero = true;
        if (n + 1 >= size)
            return false;
        digits[n++] = *p;
        point += !after_point;
    }
    while (n > 0 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *e = point + (*p ? strtol(p + 1, NULL, 10) : 0);
    return true;
}

/* Whether the double d (finite) is exactly the decimal number of text. */
static bool round_trips(const char *text, double d)
{
    char want[24], have[20];
    long e;
    int n = 0;
    if (!decimal_digits(text, want, sizeof(want), &e))
        return false; /* more than 23 significant digits: no double has them */
    if (d == 0)
        return want[0] == '\0';
    shortest_digits(fabs(d), have, &n);
    return strcmp(want, have) == 0 && e == n;
}

/* sp_json_number_text, rounding a number that does not round-trip when round is true. */
static bool number_text(const char *token, size_t len, bool round, char out[SP_JSON_NUMBER_MAX]);

bool sp_json_number_text(const char *token, size_t len, char out[SP_JSON_NUMBER_MAX])
{
    return number_text(token, len, false, out);
}

static bool number_text(const char *token, size_t len, bool round, char out[SP_JSON_NUMBER_MAX])
{
    char *text = malloc(len + 1);
    if (!text)
        return false;
    memcpy(text, token, len);
    text[len] = '\0';
    bool integer = strpbrk(text, ".eE") == NULL, ok = false;
    char *end;
    errno = 0;
    if (integer && text[0] == '-') {
        long long v = strtoll(text, &end, 10);
        ok = errno == 0 && *end == '\0';
        if (ok)
            snprintf(out, SP_JSON_NUMBER_MAX, "%lld", v);
    } else if (integer) {
        unsigned long long v = strtoull(text, &end, 10);
        ok = errno == 0 && *end == '\0';
        if (ok)
            snprintf(out, SP_JSON_NUMBER_MAX, "%llu", v);
    }
    if (!ok) {
        double d = strtod(text, &end);
        ok = isfinite(d) && (round || round_trips(text, d));
        if (ok)
            sp_json_format_double(d, out);
    }
    free(text);
    return ok;
}

/* The next number token at or after *p, outside strings; NULL when there is none. */
static const char *next_number(const char *p, const char *end, size_t *len)
{
    while (p < end) {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            p++;
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            const char *start = p;
            while (p < end && strchr("+-0123456789.eE", *p) && *p)
                p++;
            *len = (size_t)(p - start);
            return start;
        } else {
            p++;
        }
    }
    return NULL;
}

struct number_cursor {
    const char *p, *end;
    bool round; /* a number that does not round-trip is rounded, not refused */
};

/* Replaces every number of the tree, in pre-order, by a Raw item with the next token's
 * text; false when a token is missing or overflows. */
static bool exact_numbers(cJSON *node, struct number_cursor *cursor)
{
    for (; node; node = node->next) {
        if (cJSON_IsNumber(node)) {
            size_t len;
            const char *token = next_number(cursor->p, cursor->end, &len);
            char text[SP_JSON_NUMBER_MAX];
            if (!token || !number_text(token, len, cursor->round, text))
                return false;
            cursor->p = token + len;
            char *copy = strdup(text);
            if (!copy)
                return false;
            node->type = cJSON_Raw;
            node->valuestring = copy;
        } else if (node->child && !exact_numbers(node->child, cursor)) {
            return false;
        }
    }
    return true;
}

/* Whether a string of the text holds a raw control character, which JSON forbids and cJSON
 * lets through ("a<newline>b" must be written "a\nb"). */
static bool raw_control_in_string(const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!in_string)
            in_string = c == '"';
        else if (c == '\\')
            i++; /* the escaped character, whatever it is */
        else if (c == '"')
            in_string = false;
        else if (c < 0x20)
            return true;
    }
    return false;
}

static cJSON *parse(const char *text, size_t len, bool round)
{
    size_t nul_at;
    /* a string holding U+0000: cJSON's strings end at it, so the value would be cut short */
    if (!text || raw_control_in_string(text, len) || em_json_has_nul_escape(text, len, &nul_at))
        return NULL;
    cJSON *doc = cJSON_ParseWithLength(text, len);
    struct number_cursor cursor = {text, text + len, round};
    if (doc && !exact_numbers(doc, &cursor)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

cJSON *sp_json_parse(const char *text, size_t len)
{
    return parse(text, len, false);
}

cJSON *sp_json_parse_rounding(const char *text, size_t len)
{
    return parse(text, len, true);
}

bool sp_json_is_number(const cJSON *node)
{
    return cJSON_IsRaw(node) || cJSON_IsNumber(node);
}

const char *sp_json_type_name(const cJSON *node)
{
    return cJSON_IsObject(node)      ? "object"
           : cJSON_IsArray(node)     ? "array"
           : cJSON_IsString(node)    ? "string"
           : sp_json_is_number(node) ? "number"
           : cJSON_IsBool(node)      ? "boolean"
                                     : "null";
}

/* ---- normalized text ---- */

static int compare_keys(const void *a, const void *b)
{
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts every object's members by key (stable for equal keys), dropping repeated keys
 * after the first; false on out of memory. */
static bool sort_members(cJSON *node)
{
    int n = 0;
    for (cJSON *c = node->child; c; c = c->next)
        n++;
    cJSON **members = n ? malloc((size_t)n * sizeof(*members)) : NULL;
    if (n && !members)
        return false;
    n = 0;
    for (cJSON *c = node->child; c; c = c->next) {
        if (!sort_members(c)) {
            free(members);
            return false;
        }
        members[n++] = c;
    }
    if (cJSON_IsObject(node) && n > 1) {
        for (int i = 0; i < n; i++) /* insertion order breaks ties: the first value wins */
            cJSON_DetachItemViaPointer(node, members[i]);
        for (int i = 1; i < n; i++) { /* a stable insertion sort */
            cJSON *m = members[i];
            int k = i;
            for (; k > 0 && compare_keys(&members[k - 1], &m) > 0; k--)
                members[k] = members[k - 1];
            members[k] = m;
        }
        const cJSON *kept = NULL; /* the last member added: a later one with its key goes */
        for (int i = 0; i < n; i++) {
            if (kept && strcmp(kept->string, members[i]->string) == 0) {
                cJSON_Delete(members[i]);
            } else {
                cJSON_AddItemToArray(node, members[i]);
                kept = members[i];
            }
        }
    }
    free(members);
    return true;
}

static char *normalize(cJSON *doc)
{
    char *out = doc && sort_members(doc) ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return out;
}

char *sp_json_normalize(const char *text, size_t len)
{
    return normalize(sp_json_parse(text, len));
}

char *sp_json_normalize_rounding(const char *text, size_t len)
{
    return normalize(sp_json_parse_rounding(text, len));
}
