/*
 * spanner_sql_json_edit: GoogleSQL's functions that change a JSON value, as SQLite user
 * functions (the translator types their arguments and passes each value with its type):
 *
 *   JSON_SET            replaces or inserts values at paths, creating what is missing
 *   JSON_ARRAY_APPEND   appends to the arrays at paths (a JSON null becomes an array)
 *   JSON_ARRAY_INSERT   inserts into arrays at the index a path ends with
 *   JSON_REMOVE         removes the members or elements at paths
 *   JSON_STRIP_NULLS    removes JSON nulls (and, asked, emptied containers) under a path
 *
 * Path and value pairs apply left to right, each to what the one before made; a pair whose
 * path does not fit the document (a member of an array, a number where an object is
 * needed) is skipped, a malformed path is an error, a SQL NULL path is skipped. An array
 * grows up to 1,000,000 elements at most (GoogleSQL's limit on these functions).
 */
#include "spanner_json_value.h"
#include "spanner_sql_functions.h"
#include "spanner_sql_udf.h"

#define JSON_ARRAY_MAX 1000000

/* What one edit did: changed or skipped the document, or failed (the call's error set). */
enum edit_result { EDIT_DONE, EDIT_SKIPPED, EDIT_FAILED };

/* The document (argv[0]) as a tree; NULL with the error set. */
static cJSON *document_arg(sqlite3_context *ctx, sqlite3_value *v)
{
    cJSON *root =
        sp_json_parse((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
    if (!root)
        sp_fn_error(ctx, "INTERNAL: a stored JSON value is not JSON");
    return root;
}

/* The path argument, parsed: SP_JSON_PATH_OK, or SP_JSON_PATH_TOO_DEEP (a path no JSON
 * value has), or another result with the error set. */
static enum sp_json_path_result path_arg(sqlite3_context *ctx, sqlite3_value *v,
                                         struct sp_json_path *path)
{
    const char *text = (const char *)sqlite3_value_text(v);
    enum sp_json_path_result result = sp_json_path_parse(text ? text : "", path);
    if (result == SP_JSON_PATH_NOMEM)
        sqlite3_result_error_nomem(ctx);
    else if (result == SP_JSON_PATH_BAD)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: Invalid JSONPath input: %.200s", text ? text : "");
    return result;
}

/* What a path too deep for any JSON value does: JSON_SET would create it, which no value
 * can hold (an error); elsewhere it leads nowhere (the pair is skipped). */
static enum edit_result too_deep(sqlite3_context *ctx, bool creates)
{
    if (!creates)
        return EDIT_SKIPPED;
    SP_FN_ERROR(ctx, "OUT_OF_RANGE: JSON_SET would nest the JSON value deeper than %d levels",
                SP_JSON_DEPTH_MAX);
    return EDIT_FAILED;
}

/* Puts replacement where node is (under parent, or as the root), node freed. */
static void replace_node(cJSON **root, cJSON *parent, cJSON *node, cJSON *replacement)
{
    if (cJSON_IsObject(parent)) {
        cJSON_ReplaceItemInObjectCaseSensitive(parent, node->string, replacement);
    } else if (parent) {
        cJSON_ReplaceItemViaPointer(parent, node, replacement);
    } else {
        cJSON_Delete(*root);
        *root = replacement;
    }
}

/* Pads array with JSON nulls up to size elements; false out of memory. */
static bool pad_array(cJSON *array, long long size)
{
    for (long long n = cJSON_GetArraySize(array); n < size; n++)
        if (!cJSON_AddItemToArray(array, cJSON_CreateNull()))
            return false;
    return true;
}

/* A container for step holding child: {name: child}, or [null x index, child]; NULL out
 * of memory (child freed). */
static cJSON *wrap(const struct sp_json_step *step, cJSON *child)
{
    cJSON *container = step->name ? cJSON_CreateObject() : cJSON_CreateArray();
    bool ok = container && (step->name ? cJSON_AddItemToObject(container, step->name, child)
                                       : pad_array(container, step->index) &&
                                             cJSON_AddItemToArray(container, child));
    if (ok)
        return container;
    cJSON_Delete(container);
    cJSON_Delete(child);
    return NULL;
}

static bool index_too_large(sqlite3_context *ctx, long long index)
{
    if (index < JSON_ARRAY_MAX)
        return false;
    SP_FN_ERROR(ctx, "OUT_OF_RANGE: Exceeded maximum array size of %d", JSON_ARRAY_MAX);
    return true;
}

/* Creates steps[from..] under node (an object missing the member, an array shorter than
 * the index, or a JSON null, replaced) with value at the end; value is taken. */
static enum edit_result create_path(sqlite3_context *ctx, cJSON **root, cJSON *parent, cJSON *node,
                                    const struct sp_json_path *path, int from, cJSON *value)
{
    for (int i = from; i < path->count; i++)
        if (!path->steps[i].name && index_too_large(ctx, path->steps[i].index)) {
            cJSON_Delete(value);
            return EDIT_FAILED;
        }
    cJSON *built = value;
    for (int i = path->count - 1; built && i > from; i--)
        built = wrap(&path->steps[i], built);
    const struct sp_json_step *step = &path->steps[from];
    bool ok = built != NULL;
    if (ok && cJSON_IsNull(node)) {
        cJSON *container = wrap(step, built);
        ok = container != NULL;
        if (ok)
            replace_node(root, parent, node, container);
    } else if (ok && step->name) {
        ok = cJSON_AddItemToObject(node, step->name, built);
    } else if (ok) {
        ok = pad_array(node, step->index) && cJSON_AddItemToArray(node, built);
    }
    if (!ok)
        sqlite3_result_error_nomem(ctx);
    return ok ? EDIT_DONE : EDIT_FAILED;
}

/* JSON_SET of one pair: value (taken) at path, created where missing when create. */
static enum edit_result set_at(sqlite3_context *ctx, cJSON **root, const struct sp_json_path *path,
                               cJSON *value, bool create)
{
    cJSON *parent = NULL, *node = *root;
    int i = 0;
    for (; i < path->count; i++) {
        bool fits = path->steps[i].name ? cJSON_IsObject(node) : cJSON_IsArray(node);
        if (!fits && !cJSON_IsNull(node)) {
            cJSON_Delete(value); /* a step of the wrong kind: skipped */
            return EDIT_SKIPPED;
        }
        cJSON *child = fits ? sp_json_step_child(node, &path->steps[i]) : NULL;
        if (!child)
            break;
        parent = node;
        node = child;
    }
    if (i == path->count) {
        replace_node(root, parent, node, value);
        return EDIT_DONE;
    }
    if (!create) {
        cJSON_Delete(value);
        return EDIT_SKIPPED;
    }
    return create_path(ctx, root, parent, node, path, i, value);
}

/* The node steps[0..count) lead to, with its parent; NULL when they lead nowhere. */
static cJSON *walk(cJSON *root, const struct sp_json_path *path, int count, cJSON **parent)
{
    cJSON *node = root;
    *parent = NULL;
    for (int i = 0; node && i < count; i++) {
        *parent = node;
        node = sp_json_step_child(node, &path->steps[i]);
    }
    return node;
}

/* Moves the elements of from (from its element `at` on) to the end of to. (Not
 * cJSON_InsertItemInArray: Debian's cJSON 1.7.15 refuses to insert before any element but
 * the first.) */
static void move_elements(cJSON *to, cJSON *from, long long at)
{
    cJSON *item = cJSON_GetArrayItem(from, (int)at);
    while (item) {
        cJSON *next = item->next;
        cJSON_AddItemToArray(to, cJSON_DetachItemViaPointer(from, item));
        item = next;
    }
}

/* JSON_ARRAY_APPEND (insert false) or JSON_ARRAY_INSERT (true) of the elements of values
 * (a JSON array, taken) at path. */
static enum edit_result add_at(sqlite3_context *ctx, cJSON **root, const struct sp_json_path *path,
                               cJSON *values, bool insert)
{
    int steps = path->count;
    long long index = 0;
    if (insert) {
        if (steps == 0 || path->steps[steps - 1].name) {
            cJSON_Delete(values); /* not an array position: skipped */
            return EDIT_SKIPPED;
        }
        index = path->steps[--steps].index;
    }
    cJSON *parent, *node = walk(*root, path, steps, &parent);
    if (!node || (!cJSON_IsArray(node) && !cJSON_IsNull(node))) {
        cJSON_Delete(values);
        return EDIT_SKIPPED;
    }
    long long size = cJSON_IsArray(node) ? cJSON_GetArraySize(node) : 0;
    long long at = insert ? index : size; /* after padding, index <= size */
    long long grown = (insert && index > size ? index : size) + cJSON_GetArraySize(values);
    if (index_too_large(ctx, grown - 1)) {
        cJSON_Delete(values);
        return EDIT_FAILED;
    }
    if (cJSON_IsNull(node)) {
        cJSON *array = cJSON_CreateArray();
        if (!array) {
            cJSON_Delete(values);
            sqlite3_result_error_nomem(ctx);
            return EDIT_FAILED;
        }
        replace_node(root, parent, node, array);
        node = array;
    }
    cJSON *rest = cJSON_CreateArray(); /* the elements after the insertion point */
    bool ok = rest && (!insert || pad_array(node, index));
    if (ok) {
        move_elements(rest, node, at);
        move_elements(node, values, 0);
        move_elements(node, rest, 0);
    }
    cJSON_Delete(rest);
    cJSON_Delete(values);
    if (!ok)
        sqlite3_result_error_nomem(ctx);
    return ok ? EDIT_DONE : EDIT_FAILED;
}

/* A value argument as what JSON_ARRAY_APPEND/INSERT add: the elements of a SQL array when
 * each (NULL: nothing, *skip set), else the one value; a JSON array, NULL on error. */
static cJSON *elements_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, bool each,
                           const char *function, bool *skip)
{
    bool is_array = false;
    cJSON *json = sp_json_value_arg(ctx, argv, i, function, &is_array);
    *skip = json && each && is_array && cJSON_IsNull(json);
    if (!json || (each && is_array) || *skip)
        return json;
    cJSON *one = cJSON_CreateArray();
    if (!one || !cJSON_AddItemToArray(one, json)) {
        cJSON_Delete(one);
        cJSON_Delete(json);
        sqlite3_result_error_nomem(ctx);
        return NULL;
    }
    return one;
}

/* How deep a tree's arrays and objects nest (a scalar: 0, [1]: 1), as cJSON's parser
 * counts it; the count stops a little past SP_JSON_DEPTH_MAX. */
static int json_depth(const cJSON *node)
{
    if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
        return 0;
    int deepest = 0;
    for (const cJSON *item = node->child; item && deepest <= SP_JSON_DEPTH_MAX; item = item->next) {
        int d = json_depth(item);
        deepest = d > deepest ? d : deepest;
    }
    return deepest + 1;
}

/* What edit_pairs does with each pair. */
enum edit_kind { EDIT_SET, EDIT_APPEND, EDIT_INSERT };

/* Applies the (path, type, value) triples from argv[first] on to the document; flag is
 * create_if_missing (set) or each_element (append, insert). */
static void edit_pairs(sqlite3_context *ctx, int argc, sqlite3_value **argv, int first, bool flag,
                       enum edit_kind kind)
{
    static const char *const names[] = {"JSON_SET", "JSON_ARRAY_APPEND", "JSON_ARRAY_INSERT"};
    cJSON *root = document_arg(ctx, argv[0]);
    enum edit_result result = root ? EDIT_DONE : EDIT_FAILED;
    for (int i = first; result != EDIT_FAILED && i + 2 < argc; i += 3) {
        struct sp_json_path path;
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            continue;
        enum sp_json_path_result parsed = path_arg(ctx, argv[i], &path);
        if (parsed == SP_JSON_PATH_TOO_DEEP) {
            result = too_deep(ctx, kind == EDIT_SET && flag);
            continue;
        }
        if (parsed != SP_JSON_PATH_OK) {
            result = EDIT_FAILED;
            break;
        }
        bool skip = false;
        cJSON *value = kind == EDIT_SET ? sp_json_value_arg(ctx, argv, i + 1, names[kind], NULL)
                                        : elements_arg(ctx, argv, i + 1, flag, names[kind], &skip);
        if (!value)
            result = EDIT_FAILED;
        else if (skip)
            cJSON_Delete(value);
        else if (kind == EDIT_SET)
            result = set_at(ctx, &root, &path, value, flag);
        else
            result = add_at(ctx, &root, &path, value, kind == EDIT_INSERT);
        sp_json_path_free(&path);
    }
    if (result != EDIT_FAILED && json_depth(root) > SP_JSON_DEPTH_MAX)
        SP_FN_ERROR(ctx, "OUT_OF_RANGE: %s would nest the JSON value deeper than %d levels",
                    names[kind], SP_JSON_DEPTH_MAX);
    else if (result != EDIT_FAILED)
        sp_json_result_normalized(ctx, root);
    cJSON_Delete(root);
}

/* sp_json_set(json, create_if_missing, path1, type1, value1, ...): JSON_SET. */
static void fn_json_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[0]); /* create_if_missing NULL: unchanged */
        return;
    }
    edit_pairs(ctx, argc, argv, 2, sqlite3_value_int(argv[1]) != 0, EDIT_SET);
}

/* sp_json_array_add(json, each_element, insert, path1, type1, value1, ...):
 * JSON_ARRAY_APPEND (insert 0) and JSON_ARRAY_INSERT (1). */
static void fn_json_array_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[0]); /* each_element NULL: unchanged */
        return;
    }
    edit_pairs(ctx, argc, argv, 3, sqlite3_value_int(argv[1]) != 0,
               sqlite3_value_int(argv[2]) ? EDIT_INSERT : EDIT_APPEND);
}

/* JSON_REMOVE of one path: the member or element it ends with. */
static enum edit_result remove_at(sqlite3_context *ctx, cJSON *root,
                                  const struct sp_json_path *path)
{
    if (path->count == 0) {
        sp_fn_error(ctx, "OUT_OF_RANGE: The JSONPath cannot be '$'");
        return EDIT_FAILED;
    }
    cJSON *parent, *node = walk(root, path, path->count - 1, &parent);
    const struct sp_json_step *last = &path->steps[path->count - 1];
    cJSON *target = node ? sp_json_step_child(node, last) : NULL;
    if (!target)
        return EDIT_SKIPPED;
    cJSON_Delete(cJSON_DetachItemViaPointer(node, target));
    return EDIT_DONE;
}

/* sp_json_remove(json, path1, ...): JSON_REMOVE. */
static void fn_json_remove(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    cJSON *root = document_arg(ctx, argv[0]);
    enum edit_result result = root ? EDIT_DONE : EDIT_FAILED;
    for (int i = 1; result != EDIT_FAILED && i < argc; i++) {
        struct sp_json_path path;
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            continue;
        enum sp_json_path_result parsed = path_arg(ctx, argv[i], &path);
        if (parsed == SP_JSON_PATH_TOO_DEEP)
            continue; /* leads nowhere */
        result = parsed == SP_JSON_PATH_OK ? remove_at(ctx, root, &path) : EDIT_FAILED;
        sp_json_path_free(&path);
    }
    if (result != EDIT_FAILED)
        sp_json_result_normalized(ctx, root);
    cJSON_Delete(root);
}

/* Whether JSON_STRIP_NULLS removes item from its container: a null, or an emptied
 * object (remove_empty) or array (remove_empty with include_arrays). */
static bool strippable(const cJSON *item, bool include_arrays, bool remove_empty)
{
    if (cJSON_IsNull(item))
        return true;
    if (!remove_empty || item->child)
        return false;
    return cJSON_IsObject(item) || (include_arrays && cJSON_IsArray(item));
}

/* Strips node's containers, children first: nulls out of objects, and out of arrays when
 * include_arrays (an array's own elements stay otherwise, its objects are still cleaned). */
static void strip_nulls(cJSON *node, bool include_arrays, bool remove_empty)
{
    bool clean = cJSON_IsObject(node) || (include_arrays && cJSON_IsArray(node));
    cJSON *item = node->child;
    while (item) {
        cJSON *next = item->next;
        if (cJSON_IsObject(item) || cJSON_IsArray(item))
            strip_nulls(item, include_arrays, remove_empty);
        if (clean && strippable(item, include_arrays, remove_empty))
            cJSON_Delete(cJSON_DetachItemViaPointer(node, item));
        item = next;
    }
}

/* sp_json_strip_nulls(json, path, include_arrays, remove_empty): JSON_STRIP_NULLS. */
static void fn_json_strip_nulls(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    if (sp_fn_any_null(4, argv)) {
        sqlite3_result_value(ctx, argv[0]); /* a NULL path or option: unchanged */
        return;
    }
    bool include_arrays = sqlite3_value_int(argv[2]) != 0;
    bool remove_empty = sqlite3_value_int(argv[3]) != 0;
    struct sp_json_path path;
    enum sp_json_path_result parsed = path_arg(ctx, argv[1], &path);
    if (parsed == SP_JSON_PATH_TOO_DEEP)
        sqlite3_result_value(ctx, argv[0]); /* leads nowhere: unchanged */
    if (parsed != SP_JSON_PATH_OK)
        return;
    cJSON *root = document_arg(ctx, argv[0]);
    cJSON *parent, *node = root ? walk(root, &path, path.count, &parent) : NULL;
    bool ok = root != NULL;
    if (node && (cJSON_IsObject(node) || cJSON_IsArray(node))) {
        strip_nulls(node, include_arrays, remove_empty);
        if (!node->child && remove_empty && (cJSON_IsObject(node) || include_arrays)) {
            cJSON *null = cJSON_CreateNull(); /* nothing left: JSON null */
            ok = null != NULL;
            if (ok)
                replace_node(&root, parent, node, null);
            else
                sqlite3_result_error_nomem(ctx);
        }
    }
    if (ok)
        sp_json_result_normalized(ctx, root);
    cJSON_Delete(root);
    sp_json_path_free(&path);
}

int sp_sql_json_edit_register(sqlite3 *db)
{
    static const struct sp_sql_scalar functions[] = {
        {"sp_json_set", -1, fn_json_set},
        {"sp_json_array_add", -1, fn_json_array_add},
        {"sp_json_remove", -1, fn_json_remove},
        {"sp_json_strip_nulls", 4, fn_json_strip_nulls},
    };
    return sp_sql_register_scalars(db, functions, sizeof(functions) / sizeof(functions[0]));
}
