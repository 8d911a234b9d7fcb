/*
 * spanner_sql_udf: what the files of SQLite user functions share (spanner_sql_functions.c,
 * spanner_sql_text.c, spanner_sql_time.c, spanner_sql_strings_arrays.c,
 * spanner_sql_codes.c, spanner_sql_net.c): the error of a call, NULL arguments, and arrays,
 * which are stored as their JSON (spanner_value.h). Internal to those files.
 *
 * An error's text is "CODE: message" with Spanner's wording (spanner_sql_functions.h says
 * how the code reaches the client). Every scalar function registered through
 * sp_sql_register_scalars (and the table of spanner_sql_functions.c) has a safe twin for
 * the SAFE. prefix, so its errors go through sp_fn_error.
 */
#ifndef SPANNER_SQL_UDF_H
#define SPANNER_SQL_UDF_H

#include <cjson/cJSON.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The error of a function that would make a STRING holding U+0000: this emulator's STRING
 * values cannot hold it (the REST layer refuses it in requests too), and an error is
 * better than a value cut short at it. */
#define SP_NUL_IN_STRING                                                                           \
    "UNIMPLEMENTED: A STRING holding the NUL character (U+0000) is not supported by this "         \
    "emulator"

/* The longest STRING or BYTES that REPEAT, LPAD/RPAD, REPLACE, CONCAT (and ||) and FORMAT
 * make, in bytes: GoogleSQL's function library refuses a longer output (OUT_OF_RANGE). */
#define SP_FUNCTION_OUTPUT_MAX (1 << 20)

/* The most elements GENERATE_ARRAY and GENERATE_DATE_ARRAY make, as Spanner. */
#define SP_GENERATE_ARRAY_MAX 16000

/* The user data of a function's safe twin, "safe_" + its name, which SAFE.f() calls: the
 * function's own errors become NULL (sp_fn_error). */
extern char sp_fn_safe_marker;
#define SP_FN_SAFE ((void *)&sp_fn_safe_marker)

/* A call's error ("CODE: message"), or NULL in a safe twin; INTERNAL errors (a stored
 * value out of its form) are errors even there. */
static inline void sp_fn_error(sqlite3_context *ctx, const char *message)
{
    if (sqlite3_user_data(ctx) == SP_FN_SAFE && strncmp(message, "INTERNAL:", 9) != 0)
        sqlite3_result_null(ctx);
    else
        sqlite3_result_error(ctx, message, -1);
}

#define SP_FN_ERROR(ctx, ...)                                                                      \
    do {                                                                                           \
        char message_[400];                                                                        \
        snprintf(message_, sizeof(message_), __VA_ARGS__);                                         \
        sp_fn_error((ctx), message_);                                                              \
    } while (0)

/* A STRING made by libunistring (malloc'd, len bytes; NULL with errno set on failure) as
 * the call's result, freed. */
static inline void sp_fn_result_unistring(sqlite3_context *ctx, uint8_t *out, size_t len)
{
    if (!out) {
        if (errno == ENOMEM)
            sqlite3_result_error_nomem(ctx);
        else
            sp_fn_error(ctx, "INTERNAL: a stored STRING is not valid UTF-8");
        return;
    }
    sqlite3_result_text64(ctx, len ? (const char *)out : "", len, SQLITE_TRANSIENT, SQLITE_UTF8);
    free(out);
}

/* Whether one of the first argc arguments is NULL (the result then stays NULL). */
static inline bool sp_fn_any_null(int argc, sqlite3_value **argv)
{
    for (int i = 0; i < argc; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
            return true;
    return false;
}

/* An array argument, parsed; NULL (the error set) when it is not an array's JSON. */
static inline cJSON *sp_fn_array_arg(sqlite3_context *ctx, sqlite3_value *v)
{
    cJSON *array = cJSON_Parse((const char *)sqlite3_value_text(v));
    if (!cJSON_IsArray(array)) {
        cJSON_Delete(array);
        sqlite3_result_error(ctx, "INTERNAL: A stored array is not JSON.", -1);
        return NULL;
    }
    return array;
}

/* ---- spanner_sql_json.c's JSON helpers, shared with spanner_sql_json_edit.c ---- */

/* One step of a JSONPath: an object member (name) or, with name NULL, an array index. */
struct sp_json_step {
    const char *name;
    long long index;
};
/* The deepest JSON value (cJSON's parser refuses deeper ones), and so the longest path. */
#define SP_JSON_DEPTH_MAX 1000

/* A parsed JSONPath ($ is no step at all); the names live in the same allocation. */
struct sp_json_path {
    struct sp_json_step *steps;
    int count;
};
enum sp_json_path_result {
    SP_JSON_PATH_OK,
    SP_JSON_PATH_BAD,      /* malformed */
    SP_JSON_PATH_TOO_DEEP, /* more steps than any JSON value nests: it leads nowhere */
    SP_JSON_PATH_NOMEM
};
/* Parses the JSONPath subset ($, .name, ."name", [index]); free with sp_json_path_free
 * (nothing to free unless SP_JSON_PATH_OK). */
enum sp_json_path_result sp_json_path_parse(const char *text, struct sp_json_path *path);
void sp_json_path_free(struct sp_json_path *path);
/* node's member or element that step names, or NULL (none, or node of another kind). */
cJSON *sp_json_step_child(const cJSON *node, const struct sp_json_step *step);

/* The JSON of the SQL value argv[i + 1] whose type (a REST Type's JSON) is argv[i], as
 * TO_JSON makes it; *is_array (when given) says whether that type is an ARRAY. NULL with the
 * call's error set. */
cJSON *sp_json_value_arg(sqlite3_context *ctx, sqlite3_value **argv, int i, const char *function,
                         bool *is_array);
/* A built tree as the call's JSON result, normalized (keys sorted). */
void sp_json_result_normalized(sqlite3_context *ctx, const cJSON *json);

/* The order of two HAVING MAX|MIN keys of one GoogleSQL type in their storage form
 * (spanner_sql_strings_arrays.c): negative, 0 or positive. */
int sp_having_key_compare(sqlite3_value *a, sqlite3_value *b);

/* An array result: its JSON. */
static inline void sp_fn_result_json(sqlite3_context *ctx, const cJSON *array)
{
    char *text = cJSON_PrintUnformatted(array);
    if (!text) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, text, -1, free);
}

#endif
