/*
 * spanner_sql_json: GoogleSQL's JSON functions as SQLite user functions (registered by
 * sp_sql_functions_register; the translator types their arguments). JSON values are their
 * normalized text (spanner_json_value.h), read back with exact numbers.
 *
 *   json.member, json['member'], json[index]
 *                                        a member of an object or an element of an array
 *   JSON_VALUE / JSON_QUERY              a node at a path (the JSONPath subset $, .name,
 *                                        ."name", [index]), as a string or as JSON
 *   JSON_VALUE_ARRAY / JSON_QUERY_ARRAY  the elements of an array node
 *   JSON_TYPE, PARSE_JSON
 *   BOOL / INT64 / FLOAT64 / STRING      a JSON scalar as a SQL value, or Spanner's error
 *   LAX_BOOL / LAX_INT64 / LAX_FLOAT64 / LAX_STRING
 *                                        the same, converting what can be converted and
 *                                        NULL for the rest
 *   TO_JSON / JSON_ARRAY / JSON_OBJECT   SQL values as JSON: each value comes with its type
 *                                        (the REST Type's JSON, parsed once per statement)
 *   TO_JSON_STRING                       a JSON value's text
 *
 * Errors are "CODE: message" with Spanner's wording (spanner_sql_udf.h).
 */
#include "spanner_json_value.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"
#include "spanner_value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The tree of a JSON (or STRING) argument; NULL with the error set when it is not JSON. */
static cJSON *json_arg(sqlite3_context *ctx, sqlite3_value *v)
{
    cJSON *root =
        sp_json_parse((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
    if (!root)
        sp_fn_error(ctx, "OUT_OF_RANGE: The input is not valid JSON");
    return root;
}

/* Reads one step of a JSONPath at *p (.name, ."name" or [index]) into step, its name
 * copied NUL-terminated to *names; false when it is malformed. */
static bool path_step(const char **p, struct sp_json_step *step, char **names)
{
    const char *s = *p;
    if (*s == '[') {
        if (!isdigit((unsigned char)s[1]))
            return false;
        char *end;
        errno = 0;
        step->index = strtoll(s + 1, &end, 10);
        step->name = NULL;
        *p = end + 1;
        return *end == ']' && errno == 0;
    }
    if (*s++ != '.')
        return false;
    step->name = *names;
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++)
            *(*names)++ = *s;
        if (*s++ != '"')
            return false;
    } else {
        while (*s && *s != '.' && *s != '[')
            *(*names)++ = *s++;
        if (*names == step->name)
            return false;
    }
    *(*names)++ = '\0';
    *p = s;
    return true;
}

enum sp_json_path_result sp_json_path_parse(const char *text, struct sp_json_path *path)
{
    size_t len = strlen(text), bound = 0;
    *path = (struct sp_json_path){0};
    if (text[0] != '$')
        return SP_JSON_PATH_BAD;
    for (const char *p = text; *p; p++)
        bound += *p == '.' || *p == '[';
    /* at most one step per '.' or '[' (and one past the deepest JSON), and no more name
     * bytes than the text */
    size_t capacity = bound <= SP_JSON_DEPTH_MAX ? bound : SP_JSON_DEPTH_MAX + 1;
    path->steps = malloc(capacity * sizeof(*path->steps) + len + 1);
    if (!path->steps)
        return SP_JSON_PATH_NOMEM;
    char *names = (char *)(path->steps + capacity);
    enum sp_json_path_result result = SP_JSON_PATH_OK;
    for (const char *p = text + 1; *p && result == SP_JSON_PATH_OK; path->count++) {
        if ((size_t)path->count == capacity)
            result = SP_JSON_PATH_TOO_DEEP;
        else if (!path_step(&p, &path->steps[path->count], &names))
            result = SP_JSON_PATH_BAD;
    }
    if (result == SP_JSON_PATH_OK && path->count > SP_JSON_DEPTH_MAX)
        result = SP_JSON_PATH_TOO_DEEP;
    if (result != SP_JSON_PATH_OK)
        sp_json_path_free(path);
    return result;
}

void sp_json_path_free(struct sp_json_path *path)
{
    free(path->steps);
    *path = (struct sp_json_path){0};
}

cJSON *sp_json_step_child(const cJSON *node, const struct sp_json_step *step)
{
    if (step->name)
        return cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, step->name) : NULL;
    return cJSON_IsArray(node) && step->index < cJSON_GetArraySize(node)
               ? cJSON_GetArrayItem(node, (int)step->index)
               : NULL;
}

/* The node at path (the JSONPath subset) in root, or NULL; *bad set when the path is
 * malformed, *nomem when memory ran out. */
static const cJSON *json_path(const cJSON *root, const char *text, bool *bad, bool *nomem)
{
    struct sp_json_path path;
    enum sp_json_path_result parsed = sp_json_path_parse(text, &path);
    *bad = parsed == SP_JSON_PATH_BAD;
    *nomem = parsed == SP_JSON_PATH_NOMEM;
    const cJSON *node = parsed == SP_JSON_PATH_OK ? root : NULL; /* TOO_DEEP: no node */
    for (int i = 0; node && i < path.count; i++)
        node = sp_json_step_child(node, &path.steps[i]);
    sp_json_path_free(&path);
    return node;
}

/* The node at argv[1]'s path in argv[0]'s JSON: NULL for no node (SQL NULL), with
 * *root to free; false when an error was set. A STRING that is not JSON has no node, as
 * in Spanner (JSON_VALUE('not json', '$.a') is NULL). */
static bool node_at_path(sqlite3_context *ctx, sqlite3_value **argv, cJSON **root,
                         const cJSON **node)
{
    const char *path = (const char *)sqlite3_value_text(argv[1]);
    *node = NULL;
    *root = sp_json_parse((const char *)sqlite3_value_text(argv[0]),
                          (size_t)sqlite3_value_bytes(argv[0]));
    if (!*root)
        return true;
    bool bad, nomem;
    *node = json_path(*root, path, &bad, &nomem);
    if (bad)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid JSONPath input: %.200s", path);
    else if (nomem)
        sqlite3_result_error_nomem(ctx);
    return !bad && !nomem;
}

/* A scalar node's JSON_VALUE text (a string's value, a number's or a boolean's JSON
 * text), or NULL for null, an object or an array. */
static const char *scalar_text(const cJSON *node)
{
    if (cJSON_IsString(node) || cJSON_IsRaw(node))
        return node->valuestring;
    if (cJSON_IsBool(node))
        return cJSON_IsTrue(node) ? "true" : "false";
    return NULL;
}

static void result_json_text(sqlite3_context *ctx, const cJSON *node)
{
    char *text = cJSON_PrintUnformatted(node);
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, text, -1, free);
}

/* ---- JSON_VALUE / JSON_QUERY and their arrays ---- */

/* sp_json_extract(json text, path, query): JSON_QUERY (query 1: the JSON text of the
 * node) or JSON_VALUE (0: a scalar as a string; NULL for an object or an array). */
static void fn_json_extract(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool query = sqlite3_value_int(argv[2]) != 0;
    cJSON *root;
    const cJSON *node;
    if (node_at_path(ctx, argv, &root, &node) && node) {
        const char *text = scalar_text(node);
        if (query)
            result_json_text(ctx, node);
        else if (text)
            sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    }
    cJSON_Delete(root);
}

/* One element of JSON_QUERY_ARRAY (its JSON text) or JSON_VALUE_ARRAY (its scalar text,
 * a JSON null for null); false when JSON_VALUE_ARRAY meets an object or an array. */
static bool add_element(cJSON *out, const cJSON *element, bool values)
{
    cJSON *item;
    if (!values) {
        char *text = cJSON_PrintUnformatted(element);
        item = text ? cJSON_CreateString(text) : NULL;
        free(text);
    } else if (cJSON_IsNull(element)) {
        item = cJSON_CreateNull();
    } else if (scalar_text(element)) {
        item = cJSON_CreateString(scalar_text(element));
    } else {
        return false;
    }
    return item && cJSON_AddItemToArray(out, item);
}

/* sp_json_array_at(json text, path, values): JSON_QUERY_ARRAY (values 0) or
 * JSON_VALUE_ARRAY (1) of the array at the path; NULL when there is none, or when
 * JSON_VALUE_ARRAY's array holds an object or an array. */
static void fn_json_array_at(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    bool values = sqlite3_value_int(argv[2]) != 0;
    cJSON *root, *out = NULL;
    const cJSON *node;
    if (node_at_path(ctx, argv, &root, &node) && cJSON_IsArray(node)) {
        out = cJSON_CreateArray();
        const cJSON *element;
        cJSON_ArrayForEach(element, node)
        {
            if (out && !add_element(out, element, values)) {
                cJSON_Delete(out);
                out = NULL;
                break;
            }
        }
        if (out)
            sp_fn_result_json(ctx, out);
    }
    cJSON_Delete(out);
    cJSON_Delete(root);
}

/* sp_json_member(json text, key or index): the JSON text of an object's member (a TEXT
 * key) or an array's element (an INTEGER index from 0); NULL when there is none */
static void fn_json_member(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *root = json_arg(ctx, argv[0]);
    const cJSON *node = NULL;
    if (sqlite3_value_type(argv[1]) == SQLITE_INTEGER) {
        sqlite3_int64 index = sqlite3_value_int64(argv[1]);
        if (cJSON_IsArray(root) && index >= 0 && index < cJSON_GetArraySize(root))
            node = cJSON_GetArrayItem(root, (int)index);
    } else if (cJSON_IsObject(root)) {
        node = cJSON_GetObjectItemCaseSensitive(root, (const char *)sqlite3_value_text(argv[1]));
    }
    if (node)
        result_json_text(ctx, node);
    cJSON_Delete(root);
}

/* ---- JSON_TYPE, PARSE_JSON ---- */

static void fn_json_type(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *root = json_arg(ctx, argv[0]);
    if (root)
        sqlite3_result_text(ctx, sp_json_type_name(root), -1, SQLITE_STATIC);
    cJSON_Delete(root);
}

/* sp_parse_json(text, wide_number_mode): 'exact' refuses a number a FLOAT64 cannot hold
 * exactly, 'round' rounds it to one. */
static void fn_parse_json(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    const char *mode = (const char *)sqlite3_value_text(argv[1]);
    bool round = strcmp(mode, "round") == 0;
    if (!round && strcmp(mode, "exact") != 0) {
        SP_FN_ERROR(
            ctx, "OUT_OF_RANGE: Invalid `wide_number_mode` specified for PARSE_JSON: %.100s", mode);
        return;
    }
    size_t len = (size_t)sqlite3_value_bytes(argv[0]);
    char *json = round ? sp_json_normalize_rounding(text, len) : sp_json_normalize(text, len);
    if (json)
        sqlite3_result_text(ctx, json, -1, free);
    else
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: Invalid input to PARSE_JSON: not JSON, or a number that "
                    "cannot round-trip through string representation: %.100s",
                    text);
}

/* ---- BOOL, INT64, FLOAT64, STRING and their LAX_ forms ---- */

/* An INT64 out of a number's text: whole numbers only (1.0 and 1e2 are whole). */
static bool whole_int64(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno == 0 && *end == '\0') {
        *out = v;
        return true;
    }
    if (strpbrk(text, ".eE") == NULL) /* an integer beyond INT64 */
        return false;
    double d = strtod(text, NULL);
    if (d != floor(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
        return false;
    *out = (long long)d;
    return true;
}

/* LAX_INT64 of a number: rounded half away from zero, NULL beyond INT64. */
static bool rounded_int64(double d, long long *out)
{
    d = round(d);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
        return false;
    *out = (long long)d;
    return true;
}

/* A number in a string (LAX_ forms): the whole string, spaces around allowed. */
static bool string_number(const char *s, double *out)
{
    char *end;
    double d = strtod(s, &end);
    if (end == s || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return false;
    while (isspace((unsigned char)*end))
        end++;
    *out = d;
    return *end == '\0';
}

static void strict_bool(sqlite3_context *ctx, const cJSON *node)
{
    if (cJSON_IsBool(node))
        sqlite3_result_int(ctx, cJSON_IsTrue(node));
    else
        sp_fn_error(ctx, "OUT_OF_RANGE: The provided JSON input is not a boolean");
}

static void strict_int64(sqlite3_context *ctx, const cJSON *node)
{
    long long v;
    if (cJSON_IsRaw(node) && whole_int64(node->valuestring, &v))
        sqlite3_result_int64(ctx, v);
    else if (!cJSON_IsRaw(node) || strpbrk(node->valuestring, ".eE") == NULL) /* beyond INT64 */
        sp_fn_error(ctx, "OUT_OF_RANGE: The provided JSON input is not an integer");
    else
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The provided JSON number: %s cannot be converted to an int64",
                    node->valuestring);
}

static void strict_float64(sqlite3_context *ctx, const cJSON *node)
{
    if (cJSON_IsRaw(node))
        sp_result_float(ctx, strtod(node->valuestring, NULL));
    else
        sp_fn_error(ctx, "OUT_OF_RANGE: The provided JSON input is not a number");
}

/* FLOAT32 of a JSON number: rounded to the nearest FLOAT32; false beyond its range. */
static bool json_float32(const cJSON *node, double *out)
{
    double d = strtod(node->valuestring, NULL);
    float f = (float)d;
    *out = f;
    return !isinf(f) || isinf(d);
}

static void strict_float32(sqlite3_context *ctx, const cJSON *node)
{
    double d;
    if (!cJSON_IsRaw(node))
        sp_fn_error(ctx, "OUT_OF_RANGE: The provided JSON input is not a number");
    else if (!json_float32(node, &d))
        SP_FN_ERROR(ctx,
                    "OUT_OF_RANGE: The provided JSON number: %s cannot be converted to a FLOAT32",
                    node->valuestring);
    else
        sp_result_float(ctx, d);
}

static void strict_string(sqlite3_context *ctx, const cJSON *node)
{
    if (cJSON_IsString(node))
        sqlite3_result_text(ctx, node->valuestring, -1, SQLITE_TRANSIENT);
    else
        sp_fn_error(ctx, "OUT_OF_RANGE: The provided JSON input is not a string");
}

static void lax_bool(sqlite3_context *ctx, const cJSON *node)
{
    if (cJSON_IsBool(node))
        sqlite3_result_int(ctx, cJSON_IsTrue(node));
    else if (cJSON_IsString(node) && strcasecmp(node->valuestring, "true") == 0)
        sqlite3_result_int(ctx, 1);
    else if (cJSON_IsString(node) && strcasecmp(node->valuestring, "false") == 0)
        sqlite3_result_int(ctx, 0);
    else if (cJSON_IsRaw(node))
        sqlite3_result_int(ctx, strtod(node->valuestring, NULL) != 0);
}

static void lax_int64(sqlite3_context *ctx, const cJSON *node)
{
    long long v;
    double d;
    if (cJSON_IsBool(node))
        sqlite3_result_int64(ctx, cJSON_IsTrue(node));
    else if (cJSON_IsRaw(node) && whole_int64(node->valuestring, &v))
        sqlite3_result_int64(ctx, v);
    else if (cJSON_IsRaw(node) && rounded_int64(strtod(node->valuestring, NULL), &v))
        sqlite3_result_int64(ctx, v);
    else if (cJSON_IsString(node) && string_number(node->valuestring, &d) && rounded_int64(d, &v))
        sqlite3_result_int64(ctx, v);
}

static void lax_float64(sqlite3_context *ctx, const cJSON *node)
{
    double d;
    if (cJSON_IsRaw(node))
        sp_result_float(ctx, strtod(node->valuestring, NULL));
    else if (cJSON_IsString(node) && string_number(node->valuestring, &d))
        sp_result_float(ctx, d);
}

/* LAX_STRING of a number: its JSON text without a whole number's ".0" (1.0 is "1", and
 * -0.0 is "0"), as Spanner writes it */
static void lax_string(sqlite3_context *ctx, const cJSON *node)
{
    const char *text = scalar_text(node);
    size_t len = text ? strlen(text) : 0;
    if (cJSON_IsRaw(node) && len > 2 && strcmp(text + len - 2, ".0") == 0)
        len -= 2;
    if (cJSON_IsRaw(node) && len == 2 && strncmp(text, "-0", 2) == 0)
        text++, len--;
    if (text)
        sqlite3_result_text(ctx, text, (int)len, SQLITE_TRANSIENT);
}

/* sp_json_to(json, target): one of the conversions below, by its SQL name */
static void fn_json_to(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    static const struct {
        const char *name;
        void (*convert)(sqlite3_context *, const cJSON *);
    } conversions[] = {
        {"BOOL", strict_bool},       {"INT64", strict_int64},      {"FLOAT64", strict_float64},
        {"FLOAT32", strict_float32}, {"STRING", strict_string},    {"LAX_BOOL", lax_bool},
        {"LAX_INT64", lax_int64},    {"LAX_FLOAT64", lax_float64}, {"LAX_STRING", lax_string},
    };
    if (sp_fn_any_null(argc, argv))
        return;
    const char *target = (const char *)sqlite3_value_text(argv[1]);
    cJSON *root = json_arg(ctx, argv[0]);
    for (size_t i = 0; root && i < sizeof(conversions) / sizeof(conversions[0]); i++)
        if (strcmp(conversions[i].name, target) == 0)
            conversions[i].convert(ctx, root);
    cJSON_Delete(root);
}

/* An element of BOOL_ARRAY, INT64_ARRAY, FLOAT64_ARRAY, FLOAT32_ARRAY or STRING_ARRAY (the
 * element type's name) in the array's storage form; NULL with *error set when the JSON
 * element is not of that kind, or out of memory. */
static cJSON *array_element(const cJSON *node, const char *type, const char **error)
{
    long long v;
    double d;
    char text[32];
    *error = "The provided JSON input is not an array of the requested type";
    if (strcmp(type, "BOOL") == 0)
        return cJSON_IsBool(node) ? cJSON_CreateBool(cJSON_IsTrue(node)) : NULL;
    if (strcmp(type, "STRING") == 0)
        return cJSON_IsString(node) ? cJSON_CreateString(node->valuestring) : NULL;
    if (!cJSON_IsRaw(node))
        return NULL;
    if (strcmp(type, "INT64") == 0) {
        *error = "The provided JSON array holds a number that is not an int64";
        if (!whole_int64(node->valuestring, &v))
            return NULL;
        snprintf(text, sizeof(text), "%lld", v);
        return cJSON_CreateString(text);
    }
    *error = "The provided JSON array holds a number beyond FLOAT32";
    if (strcmp(type, "FLOAT32") == 0 && !json_float32(node, &d))
        return NULL;
    return cJSON_CreateNumber(strcmp(type, "FLOAT32") == 0 ? d : strtod(node->valuestring, NULL));
}

/* sp_json_to_array(json, element type): BOOL_ARRAY, INT64_ARRAY, FLOAT64_ARRAY,
 * FLOAT32_ARRAY and STRING_ARRAY: a JSON array of that kind of element (a JSON null or any
 * other element is an error) as a SQL array. */
static void fn_json_to_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    const char *type = (const char *)sqlite3_value_text(argv[1]);
    cJSON *root = json_arg(ctx, argv[0]);
    cJSON *out = cJSON_IsArray(root) ? cJSON_CreateArray() : NULL;
    const char *error = "The provided JSON input is not an array";
    for (const cJSON *node = out ? root->child : NULL; node; node = node->next) {
        cJSON *element = array_element(node, type, &error);
        if (!element || !cJSON_AddItemToArray(out, element)) {
            cJSON_Delete(element);
            cJSON_Delete(out);
            out = NULL;
            break;
        }
    }
    if (out)
        sp_fn_result_json(ctx, out);
    else if (root)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: %s", error);
    cJSON_Delete(out);
    cJSON_Delete(root);
}

/* ---- JSON_CONTAINS ---- */

/* Whether two JSON scalars are equal: numbers by value (1 and 1.0 are equal), the others by
 * kind and content. */
static bool scalars_equal(const cJSON *a, const cJSON *b)
{
    long long x, y;
    if (cJSON_IsRaw(a) && cJSON_IsRaw(b)) {
        if (whole_int64(a->valuestring, &x) && whole_int64(b->valuestring, &y))
            return x == y;
        return strtod(a->valuestring, NULL) == strtod(b->valuestring, NULL);
    }
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return cJSON_IsTrue(a) == cJSON_IsTrue(b);
    return cJSON_IsNull(a) && cJSON_IsNull(b);
}

/* The most comparisons one JSON_CONTAINS makes (arrays compare every pair: two arrays of
 * 100,000 elements would take minutes); past it the call fails rather than holding its
 * thread. */
#define JSON_CONTAINS_STEPS_MAX 20000000

/* JSON_CONTAINS(a, b): an object contains an object whose members it contains, an array an
 * array whose elements each some element of it contains, a scalar only itself; the top-level
 * array (top) also contains a scalar among its elements. *steps counts the calls; false
 * once it passes JSON_CONTAINS_STEPS_MAX. */
static bool json_contains(const cJSON *a, const cJSON *b, bool top, long *steps)
{
    if (++*steps > JSON_CONTAINS_STEPS_MAX)
        return false;
    if (cJSON_IsObject(b)) {
        if (!cJSON_IsObject(a))
            return false;
        for (const cJSON *member = b->child; member; member = member->next) {
            const cJSON *mine = cJSON_GetObjectItemCaseSensitive(a, member->string);
            if (!mine || !json_contains(mine, member, false, steps))
                return false;
        }
        return true;
    }
    if (cJSON_IsArray(b)) {
        if (!cJSON_IsArray(a))
            return false;
        for (const cJSON *wanted = b->child; wanted; wanted = wanted->next) {
            const cJSON *mine = a->child;
            while (mine && !json_contains(mine, wanted, false, steps))
                mine = mine->next;
            if (!mine)
                return false;
        }
        return true;
    }
    if (top && cJSON_IsArray(a)) {
        for (const cJSON *mine = a->child; mine; mine = mine->next)
            if (scalars_equal(mine, b))
                return true;
        return false;
    }
    return scalars_equal(a, b);
}

/* sp_json_contains(a, b): JSON_CONTAINS; NULL when either is NULL */
static void fn_json_contains(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sp_fn_any_null(argc, argv))
        return;
    cJSON *a = json_arg(ctx, argv[0]);
    cJSON *b = a ? json_arg(ctx, argv[1]) : NULL;
    long steps = 0;
    bool contains = b && json_contains(a, b, true, &steps);
    if (steps > JSON_CONTAINS_STEPS_MAX)
        SP_FN_ERROR(ctx, "RESOURCE_EXHAUSTED: JSON_CONTAINS would compare more than %d values",
                    JSON_CONTAINS_STEPS_MAX);
    else if (b)
        sqlite3_result_int(ctx, contains);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* ---- TO_JSON, JSON_ARRAY, JSON_OBJECT, TO_JSON_STRING ---- */

static cJSON *api_to_json(const struct sp_type *type, const cJSON *api, bool stringify,
                          const char **error);

/* An ARRAY as a JSON array of its elements, a STRUCT as an object of its fields. */
static cJSON *composite_to_json(const struct sp_type *type, const cJSON *api, bool stringify,
                                const char **error)
{
    bool is_struct = type->code == SP_TYPE_STRUCT;
    cJSON *out = is_struct ? cJSON_CreateObject() : cJSON_CreateArray();
    struct sp_type element = sp_type_element(type);
    int fields = is_struct && type->struct_type ? type->struct_type->count : 0;
    int i = 0;
    for (const cJSON *item = api->child; out && item && (!is_struct || i < fields);
         item = item->next, i++) {
        const struct sp_struct_field *field = is_struct ? &type->struct_type->fields[i] : NULL;
        cJSON *value = api_to_json(field ? &field->type : &element, item, stringify, error);
        if (!value || !(field ? cJSON_AddItemToObject(out, field->name, value)
                              : cJSON_AddItemToArray(out, value))) {
            cJSON_Delete(value);
            cJSON_Delete(out);
            out = NULL;
        }
    }
    return out;
}

/* Whether TO_JSON's stringify_wide_numbers writes an INT64 or NUMERIC (its REST text) as a
 * string: one outside [-2^53, 2^53], or that a double does not hold exactly. */
static bool wide_number(const struct sp_type *type, const char *text)
{
    if (type->code == SP_TYPE_INT64) {
        long long v = strtoll(text, NULL, 10);
        return v > (1LL << 53) || v < -(1LL << 53);
    }
    char back[64]; /* the NUMERIC back from its nearest double (9 fraction digits kept) */
    snprintf(back, sizeof(back), "%.17g", strtod(text, NULL));
    sp_numeric a, b;
    return !sp_numeric_parse(text, &a) || !sp_numeric_parse(back, &b) || a != b;
}

/* A SQL value as JSON, from its REST encoding (api, NULL for a NULL) and its type: numbers
 * as JSON numbers (a NUMERIC a double cannot hold exactly is refused: *error; with
 * stringify, wide numbers are strings instead), NaN and the infinities, BYTES (base64),
 * DATE and TIMESTAMP as strings, a STRUCT as an object of its fields. NULL on error or out
 * of memory. */
static cJSON *api_to_json(const struct sp_type *type, const cJSON *api, bool stringify,
                          const char **error)
{
    char text[SP_JSON_NUMBER_MAX];
    if (!api || cJSON_IsNull(api))
        return cJSON_CreateNull();
    switch (type->code) {
    case SP_TYPE_INT64:
    case SP_TYPE_NUMERIC:
        if (cJSON_IsString(api) && stringify && wide_number(type, api->valuestring))
            return cJSON_CreateString(api->valuestring);
        if (!cJSON_IsString(api) ||
            !sp_json_number_text(api->valuestring, strlen(api->valuestring), text)) {
            *error = "Failed to convert type NUMERIC to JSON";
            return NULL;
        }
        return cJSON_CreateRaw(text);
    case SP_TYPE_FLOAT64:
    case SP_TYPE_FLOAT32:
        if (cJSON_IsString(api)) /* NaN, Infinity, -Infinity */
            return cJSON_CreateString(api->valuestring);
        sp_json_format_double(cJSON_IsRaw(api) ? strtod(api->valuestring, NULL) : api->valuedouble,
                              text);
        return cJSON_CreateRaw(text);
    case SP_TYPE_JSON:
        return cJSON_IsString(api) ? sp_json_parse(api->valuestring, strlen(api->valuestring))
                                   : NULL;
    case SP_TYPE_ARRAY:
    case SP_TYPE_STRUCT:
        return composite_to_json(type, api, stringify, error);
    default: /* BOOL, STRING, BYTES, DATE, TIMESTAMP: as REST writes them */
        return cJSON_Duplicate(api, true);
    }
}

static void free_type(void *p)
{
    struct sp_arena *arena = p;
    sp_arena_free(arena);
    free(arena);
}

/* The type argument i (a REST Type's JSON text, a constant of the statement), parsed once
 * per statement (auxdata); NULL with the error set. */
static const struct sp_type *type_arg(sqlite3_context *ctx, sqlite3_value **argv, int i)
{
    struct sp_arena *arena = sqlite3_get_auxdata(ctx, i);
    if (!arena) {
        arena = calloc(1, sizeof(*arena) + sizeof(struct sp_type));
        cJSON *json = cJSON_Parse((const char *)sqlite3_value_text(argv[i]));
        struct em_status st = {0};
        enum em_code code = arena && json ? sp_type_from_json(json, "type", arena,
                                                              (struct sp_type *)(arena + 1), &st)
                                          : EM_INTERNAL;
        cJSON_Delete(json);
        if (code == EM_OK) {
            sqlite3_set_auxdata(ctx, i, arena, free_type);
            arena = sqlite3_get_auxdata(ctx, i); /* NULL if SQLite could not keep it */
        } else if (arena) {
            free_type(arena);
            arena = NULL;
        }
    }
    if (!arena)
        sp_fn_error(ctx, "INTERNAL: a value's type could not be read");
    return arena ? (const struct sp_type *)(arena + 1) : NULL;
}

/* The JSON of the value argv[i + 1] whose type is argv[i]; NULL with the error set. */
static cJSON *value_arg_as(sqlite3_context *ctx, sqlite3_value **argv, int i, const char *function,
                           bool stringify)
{
    const struct sp_type *type = type_arg(ctx, argv, i);
    if (!type)
        return NULL;
    cJSON *api =
        sqlite3_value_type(argv[i + 1]) == SQLITE_NULL ? NULL : sp_value_to_json(type, argv[i + 1]);
    const char *error = NULL;
    cJSON *json = (api || sqlite3_value_type(argv[i + 1]) == SQLITE_NULL)
                      ? api_to_json(type, api, stringify, &error)
                      : NULL;
    cJSON_Delete(api);
    if (error)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid input to %s: %s", function, error);
    else if (!json)
        sqlite3_result_error_nomem(ctx);
    return json;
}

static cJSON *value_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, const char *function)
{
    return value_arg_as(ctx, argv, i, function, false);
}

cJSON *sp_json_value_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, const char *function,
                         bool *is_array)
{
    const struct sp_type *type = type_arg(ctx, argv, i);
    if (type && is_array)
        *is_array = type->code == SP_TYPE_ARRAY;
    return type ? value_arg(ctx, argv, i, function) : NULL;
}

void sp_json_result_normalized(sqlite3_context *ctx, const cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    char *normalized = text ? sp_json_normalize(text, strlen(text)) : NULL;
    free(text);
    if (!normalized)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_text(ctx, normalized, -1, free);
}

/* sp_to_json(type, value[, stringify_wide_numbers]): TO_JSON; a NULL value is JSON's null,
 * a NULL stringify_wide_numbers gives NULL */
static void fn_to_json(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (argc == 3 && sqlite3_value_type(argv[2]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    cJSON *json =
        value_arg_as(ctx, argv, 0, "TO_JSON", argc == 3 && sqlite3_value_int64(argv[2]) != 0);
    if (json)
        sp_json_result_normalized(ctx, json);
    cJSON_Delete(json);
}

/* sp_json_array(type1, value1, type2, value2, ...): JSON_ARRAY */
static void fn_json_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    cJSON *array = cJSON_CreateArray();
    for (int i = 0; array && i + 1 < argc; i += 2) {
        cJSON *value = value_arg(ctx, argv, i, "JSON_ARRAY");
        if (!value || !cJSON_AddItemToArray(array, value)) {
            cJSON_Delete(value);
            cJSON_Delete(array);
            return; /* the error is set */
        }
    }
    if (array)
        sp_json_result_normalized(ctx, array);
    else
        sqlite3_result_error_nomem(ctx);
    cJSON_Delete(array);
}

/* Adds key: value to object; false with the error set. */
static bool add_member(sqlite3_context *ctx, cJSON *object, sqlite3_value *key, cJSON *value)
{
    if (sqlite3_value_type(key) == SQLITE_NULL) {
        cJSON_Delete(value);
        sp_fn_error(ctx, "OUT_OF_RANGE: Invalid input to JSON_OBJECT: A key cannot be NULL");
        return false;
    }
    if (!cJSON_AddItemToObject(object, (const char *)sqlite3_value_text(key), value)) {
        cJSON_Delete(value);
        sqlite3_result_error_nomem(ctx);
        return false;
    }
    return true;
}

/* sp_json_object(key1, type1, value1, key2, ...): JSON_OBJECT of pairs */
static void fn_json_object(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    cJSON *object = cJSON_CreateObject();
    for (int i = 0; object && i + 2 < argc; i += 3) {
        cJSON *value = value_arg(ctx, argv, i + 1, "JSON_OBJECT");
        if (!value || !add_member(ctx, object, argv[i], value)) {
            cJSON_Delete(object);
            return;
        }
    }
    if (object)
        sp_json_result_normalized(ctx, object);
    else
        sqlite3_result_error_nomem(ctx);
    cJSON_Delete(object);
}

/* sp_json_object_arrays(keys, values type, values): JSON_OBJECT(ARRAY<STRING>, ARRAY) */
static void fn_json_object_arrays(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    cJSON *keys = sp_fn_array_arg(ctx, argv[0]);
    cJSON *values = keys ? value_arg(ctx, argv, 1, "JSON_OBJECT") : NULL;
    cJSON *object = values ? cJSON_CreateObject() : NULL;
    if (values && cJSON_GetArraySize(keys) != cJSON_GetArraySize(values)) {
        sp_fn_error(
            ctx,
            "OUT_OF_RANGE: Invalid input to JSON_OBJECT: The number of keys and values must match");
    } else if (object) {
        const cJSON *key = keys->child;
        bool ok = true;
        for (cJSON *value = values->child; ok && key && value; key = key->next) {
            cJSON *next = value->next;
            cJSON_DetachItemViaPointer(values, value);
            if (!cJSON_IsString(key)) {
                cJSON_Delete(value);
                sp_fn_error(ctx,
                            "OUT_OF_RANGE: Invalid input to JSON_OBJECT: A key cannot be NULL");
                ok = false;
            } else if (!cJSON_AddItemToObject(object, key->valuestring, value)) {
                cJSON_Delete(value);
                sqlite3_result_error_nomem(ctx);
                ok = false;
            }
            value = next;
        }
        if (ok)
            sp_json_result_normalized(ctx, object);
    }
    cJSON_Delete(object);
    cJSON_Delete(values);
    cJSON_Delete(keys);
}

/* sp_to_json_string(json): its text; a NULL is "null" */
static void fn_to_json_string(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        sqlite3_result_text(ctx, "null", 4, SQLITE_STATIC);
    else
        sqlite3_result_value(ctx, argv[0]);
}

int sp_sql_json_functions_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_json_extract", 3, fn_json_extract},
        {"sp_json_array_at", 3, fn_json_array_at},
        {"sp_json_type", 1, fn_json_type},
        {"sp_parse_json", 2, fn_parse_json},
        {"sp_json_to", 2, fn_json_to},
        {"sp_json_to_array", 2, fn_json_to_array},
        {"sp_json_contains", 2, fn_json_contains},
        {"sp_json_member", 2, fn_json_member},
        {"sp_to_json", 2, fn_to_json},
        {"sp_to_json", 3, fn_to_json},
        {"sp_json_array", -1, fn_json_array},
        {"sp_json_object", -1, fn_json_object},
        {"sp_json_object_arrays", 3, fn_json_object_arrays},
        {"sp_to_json_string", 1, fn_to_json_string},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
