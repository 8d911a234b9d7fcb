/*
 * runner_sinks: validation of the sink steps, a job's sinks (the Spanner columns loaded
 * at start), and the dispatch of mapping and writing to each sink (see runner_sinks.h).
 */
#include "runner_sinks.h"

#include "em_json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rn_sinks {
    const struct rn_pipeline *pipeline;
    struct rn_peer bigtable, spanner;
    cJSON *columns[RN_STEPS_MAX]; /* WriteSpanner steps: column name -> type */
};

bool rn_step_is_sink(const struct rn_step *step)
{
    return step->kind == RN_WRITE_BIGTABLE || step->kind == RN_WRITE_SPANNER;
}

/* --- validation --- */

static enum em_code step_fail(struct em_status *st, const struct rn_step *step, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

static enum em_code step_fail(struct em_status *st, const struct rn_step *step, const char *fmt,
                              ...)
{
    char detail[EM_STATUS_MESSAGE_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid pipeline: step '%s': %s", step->name, detail);
}

/* "projects/<p>/instances/<i>/<collection>/<id>", every id non-empty and not starting
 * with '.' (the REST path made of the name must not hold a ".." segment). */
static bool valid_resource(const char *name, const char *collection)
{
    const char *words[] = {"projects", NULL, "instances", NULL, collection, NULL};
    const char *p = name;
    for (size_t i = 0; i < 6; i++) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || (words[i] && (strlen(words[i]) != len || strncmp(p, words[i], len))) ||
            (!words[i] && p[0] == '.'))
            return false;
        if ((i == 5) != !end)
            return false;
        p = end ? end + 1 : p;
    }
    return true;
}

/* A Spanner table name: a letter, then letters, digits and '_' (up to 128). */
static bool valid_identifier(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 128 || !isalpha((unsigned char)name[0]))
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            return false;
    return true;
}

/* Bigtable family names: letters, digits, '-', '_' and '.' (up to 64). */
static bool valid_family(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64)
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("-_.", *c))
            return false;
    return true;
}

/* {name} placeholders closed, not empty, not nested. */
static bool valid_template(const char *text)
{
    for (const char *p = text; *p; p++) {
        if (*p == '}')
            return false;
        if (*p != '{')
            continue;
        const char *end = strchr(p + 1, '}');
        const char *nested = strchr(p + 1, '{');
        if (!end || end == p + 1 || (nested && nested < end))
            return false;
        p = end;
    }
    return true;
}

static const char *text_field(const struct rn_step *step, const char *key)
{
    const char *text = em_json_string(step->spec, key);
    return text && *text ? text : NULL;
}

/* "columns": an object of non-empty names to non-empty field names, when present. */
static enum em_code check_columns(const struct rn_step *step, const char *what,
                                  struct em_status *st)
{
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(step->spec, "columns");
    if (!columns)
        return EM_OK;
    const cJSON *c;
    bool ok = cJSON_IsObject(columns) && cJSON_GetArraySize(columns) > 0;
    cJSON_ArrayForEach(c, columns)
    {
        ok = ok && *c->string && cJSON_IsString(c) && *c->valuestring;
    }
    if (!ok)
        return step_fail(st, step, "field 'columns' must be a non-empty object of %s: field names.",
                         what);
    return EM_OK;
}

static enum em_code parse_bigtable(const struct rn_step *step, struct em_status *st)
{
    const char *table = text_field(step, "table"), *key = text_field(step, "rowKey");
    const char *family = text_field(step, "columnFamily");
    if (!table || !valid_resource(table, "tables"))
        return step_fail(st, step,
                         "field 'table' must be projects/<project>/instances/<instance>/tables/"
                         "<table>.");
    if (!key || !valid_template(key))
        return step_fail(st, step,
                         "field 'rowKey' must be a template such as \"{user}#{id}\" ({field}, "
                         "{key}, {value}).");
    if (!family || !valid_family(family))
        return step_fail(st, step,
                         "field 'columnFamily' must be 1 to 64 letters, digits, '-', '_' or '.'.");
    if (cJSON_HasObjectItem(step->spec, "timestampField") && !text_field(step, "timestampField"))
        return step_fail(st, step, "field 'timestampField' must be a field name.");
    return check_columns(step, "qualifier", st);
}

static enum em_code parse_spanner(const struct rn_step *step, struct em_status *st)
{
    const char *database = text_field(step, "database"), *table = text_field(step, "table");
    if (!database || !valid_resource(database, "databases"))
        return step_fail(st, step,
                         "field 'database' must be projects/<project>/instances/<instance>/"
                         "databases/<database>.");
    if (!table || !valid_identifier(table))
        return step_fail(st, step,
                         "field 'table' must be a table name (a letter, then letters, digits "
                         "or '_').");
    return check_columns(step, "column", st);
}

enum em_code rn_sink_parse(const struct rn_step *step, struct em_status *st)
{
    return step->kind == RN_WRITE_BIGTABLE ? parse_bigtable(step, st) : parse_spanner(step, st);
}

/* --- mapping --- */

bool rn_sink_each_field(const struct rn_step *step, const cJSON *object, rn_field_fn each,
                        void *arg)
{
    const cJSON *columns = cJSON_GetObjectItemCaseSensitive(step->spec, "columns");
    const cJSON *c;
    if (columns) {
        cJSON_ArrayForEach(c, columns)
        {
            const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, c->valuestring);
            if (!each(c->string, c->valuestring, value, arg))
                return false;
        }
        return true;
    }
    cJSON_ArrayForEach(c, object)
    {
        if (!each(c->string, c->string, c, arg))
            return false;
    }
    return true;
}

/* --- a job's sinks --- */

enum em_code rn_sinks_open(const struct rn_pipeline *p, const struct rn_peer *bigtable,
                           const struct rn_peer *spanner, struct rn_sinks **out,
                           struct em_status *st)
{
    struct rn_sinks *sinks = calloc(1, sizeof(*sinks));
    if (!sinks)
        return EM_FAIL_OOM(st);
    sinks->pipeline = p;
    sinks->bigtable = *bigtable;
    sinks->spanner = *spanner;
    for (int i = 0; i < p->count && !st->code; i++)
        if (p->steps[i].kind == RN_WRITE_SPANNER)
            rn_spanner_columns(spanner, &p->steps[i], &sinks->columns[i], st);
    if (st->code) {
        rn_sinks_free(sinks);
        return st->code;
    }
    *out = sinks;
    return EM_OK;
}

void rn_sinks_free(struct rn_sinks *sinks)
{
    if (!sinks)
        return;
    for (int i = 0; i < RN_STEPS_MAX; i++)
        cJSON_Delete(sinks->columns[i]);
    free(sinks);
}

bool rn_sinks_map(const struct rn_sinks *sinks, int step_index, const struct rn_elem *e,
                  cJSON *rows, char reason[RN_SINK_REASON_MAX])
{
    const struct rn_step *step = &sinks->pipeline->steps[step_index];
    cJSON *row = NULL;
    bool ok = step->kind == RN_WRITE_BIGTABLE
                  ? rn_bigtable_entry(step, e, &row, reason)
                  : rn_spanner_mutation(step, sinks->columns[step_index], e, &row, reason);
    if (ok)
        cJSON_AddItemToArray(rows, row);
    return ok;
}

/* Writes rows[start, start + count) of a step (a view: items moved to a part, then back). */
static enum em_code write_part(const struct rn_sinks *sinks, const struct rn_step *step,
                               const cJSON *rows, int start, struct em_status *st)
{
    cJSON *part = cJSON_CreateArray();
    if (!part)
        return EM_FAIL_OOM(st);
    int total = cJSON_GetArraySize(rows);
    for (int k = start; k < start + RN_SINK_ROWS_MAX && k < total; k++)
        cJSON_AddItemReferenceToArray(part, cJSON_GetArrayItem(rows, k));
    if (step->kind == RN_WRITE_BIGTABLE)
        rn_bigtable_write(&sinks->bigtable, step, part, st);
    else
        rn_spanner_write(&sinks->spanner, step, part, st);
    cJSON_Delete(part);
    return st->code;
}

enum em_code rn_sinks_write(const struct rn_sinks *sinks, int step_index, const cJSON *rows,
                            struct em_status *st)
{
    const struct rn_step *step = &sinks->pipeline->steps[step_index];
    for (int start = 0; start < cJSON_GetArraySize(rows); start += RN_SINK_ROWS_MAX) {
        if (!write_part(sinks, step, rows, start, st))
            continue;
        char why[EM_STATUS_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%s", st->message);
        const char *target = step->kind == RN_WRITE_BIGTABLE ? text_field(step, "table")
                                                             : text_field(step, "database");
        return EM_FAIL(st, st->code, "Step '%s': writing to %s failed: %s: %s", step->name, target,
                       em_code_name(st->code), why);
    }
    return EM_OK;
}
