/*
 * spanner_plan: QueryPlan from SQLite's EXPLAIN QUERY PLAN, and queryStats (see
 * spanner_plan.h).
 */
#include "spanner_plan.h"

#include "spanner_sql_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Spanner's operator names for SQLite's plan lines other than table and index reads, by
 * the line's beginning (the first match wins). */
static const struct {
    const char *prefix, *name;
} operators[] = {
    {"SCAN CONSTANT ROW", "Unit Relation"},
    {"USE TEMP B-TREE FOR GROUP BY", "Aggregate"},
    {"USE TEMP B-TREE FOR ORDER BY", "Sort"},
    {"USE TEMP B-TREE FOR RIGHT PART OF ORDER BY", "Sort"},
    {"USE TEMP B-TREE FOR LAST TERM OF ORDER BY", "Sort"},
    {"USE TEMP B-TREE FOR", "Distinct"},
    {"UNION ALL", "Union All"},
    {"UNION", "Union"},
    {"EXCEPT", "Except"},
    {"INTERSECT", "Intersect"},
    {"COMPOUND QUERY", "Union Input"},
    {"LEFT-MOST SUBQUERY", "Union Input"},
    {"CO-ROUTINE", "Subquery"},
    {"MATERIALIZE", "Subquery"},
    {"SCALAR SUBQUERY", "Scalar Subquery"},
    {"CORRELATED SCALAR SUBQUERY", "Scalar Subquery"},
    {"LIST SUBQUERY", "Subquery"},
    {"CORRELATED LIST SUBQUERY", "Subquery"},
    {"MULTI-INDEX OR", "Union"},
    {"BLOOM FILTER", "Filter"},
};

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The word after `after` in detail (an index or table name), into out. */
static bool word_after(const char *detail, const char *after, char *out, size_t size)
{
    const char *at = strstr(detail, after);
    if (!at)
        return false;
    at += strlen(after);
    size_t n = strcspn(at, " ");
    snprintf(out, size, "%.*s", (int)n, at);
    return true;
}

/* "SCAN T", "SCAN T USING INDEX I", "SEARCH T USING PRIMARY KEY (K=?)", ... as a Scan. */
static void scan_node(cJSON *node, const char *detail)
{
    bool search = starts_with(detail, "SEARCH ");
    char table[256], index[256];
    word_after(detail, search ? "SEARCH " : "SCAN ", table, sizeof(table));
    bool unnest = starts_with(table, "json_each") || starts_with(table, "json_tree");
    cJSON_AddStringToObject(node, "displayName", unnest ? "Array Unnest" : "Scan");
    cJSON *metadata = cJSON_AddObjectToObject(node, "metadata");
    if (unnest)
        return;
    bool by_index = word_after(detail, " USING COVERING INDEX ", index, sizeof(index)) ||
                    word_after(detail, " USING INDEX ", index, sizeof(index));
    cJSON_AddStringToObject(metadata, "scan_type", by_index ? "IndexScan" : "TableScan");
    cJSON_AddStringToObject(metadata, "scan_target", by_index ? index : table);
    const char *seek = search ? strchr(detail, '(') : NULL;
    if (seek)
        cJSON_AddStringToObject(metadata, "seek_condition", seek);
    else
        cJSON_AddStringToObject(metadata, "Full scan", "true");
}

static cJSON *plan_node(int index, const char *display_name)
{
    cJSON *node = cJSON_CreateObject();
    cJSON_AddNumberToObject(node, "index", index);
    cJSON_AddStringToObject(node, "kind", "RELATIONAL");
    if (display_name)
        cJSON_AddStringToObject(node, "displayName", display_name);
    return node;
}

static cJSON *line_node(int index, const char *detail)
{
    if (!starts_with(detail, "SCAN CONSTANT ROW") &&
        (starts_with(detail, "SCAN ") || starts_with(detail, "SEARCH "))) {
        cJSON *node = plan_node(index, NULL);
        scan_node(node, detail);
        return node;
    }
    for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++)
        if (starts_with(detail, operators[i].prefix))
            return plan_node(index, operators[i].name);
    return plan_node(index, "Operator");
}

static void link_child(cJSON *parent, int child)
{
    cJSON *links = cJSON_GetObjectItem(parent, "childLinks");
    if (!links)
        links = cJSON_AddArrayToObject(parent, "childLinks");
    cJSON *link = cJSON_CreateObject();
    cJSON_AddNumberToObject(link, "childIndex", child);
    cJSON_AddItemToArray(links, link);
}

/* Node i + 1 is plan line i; a line's parent is the line whose id it names, or the root. */
static cJSON *plan_json(cJSON *root, cJSON *lines, const int *ids, const int *parents, int n)
{
    cJSON *plan = cJSON_CreateObject();
    cJSON *nodes = cJSON_AddArrayToObject(plan, "planNodes");
    cJSON_AddItemToArray(nodes, root);
    for (int i = 0; i < n; i++) {
        int parent = 0;
        for (int k = 0; k < i && !parent; k++)
            if (ids[k] == parents[i])
                parent = k + 1;
        link_child(parent ? cJSON_GetArrayItem(lines, parent - 1) : root, i + 1);
    }
    cJSON *line;
    while ((line = cJSON_DetachItemFromArray(lines, 0)) != NULL)
        cJSON_AddItemToArray(nodes, line);
    cJSON_Delete(lines);
    return plan;
}

cJSON *sp_plan_build(sqlite3 *db, const char *sqlite_sql, bool dml, struct em_status *st)
{
    struct sp_buf sql = {0};
    sp_buf_puts(&sql, "EXPLAIN QUERY PLAN ");
    sp_buf_puts(&sql, sqlite_sql);
    sqlite3_stmt *stmt = NULL;
    if (sql.failed || sqlite3_prepare_v2(db, sql.data, -1, &stmt, NULL) != SQLITE_OK) {
        sp_buf_free(&sql);
        EM_FAIL(st, EM_INTERNAL, "The statement's plan cannot be built.");
        return NULL;
    }
    sp_buf_free(&sql);
    cJSON *lines = cJSON_CreateArray();
    int *ids = NULL, *parents = NULL, n = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        int *grown = realloc(ids, (size_t)(n + 1) * sizeof(*ids));
        if (!grown)
            break;
        ids = grown;
        if (!(grown = realloc(parents, (size_t)(n + 1) * sizeof(*parents))))
            break;
        parents = grown;
        ids[n] = sqlite3_column_int(stmt, 0);
        parents[n] = sqlite3_column_int(stmt, 1);
        const char *detail = (const char *)sqlite3_column_text(stmt, 3);
        cJSON_AddItemToArray(lines, line_node(n + 1, detail ? detail : ""));
        n++;
    }
    sqlite3_finalize(stmt);
    cJSON *root = plan_node(0, dml ? "Apply Mutations" : "Serialize Result");
    cJSON *plan = plan_json(root, lines, ids, parents, n);
    free(ids);
    free(parents);
    return plan;
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sp_plan_clock_start(struct sp_plan_clock *clock)
{
    clock->wall_ns = clock_ns(CLOCK_MONOTONIC);
    clock->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void add_msecs(cJSON *stats, const char *name, int64_t ns)
{
    char text[48];
    snprintf(text, sizeof(text), "%.2f msecs", (double)ns / 1e6);
    cJSON_AddStringToObject(stats, name, text);
}

cJSON *sp_plan_stats(const struct sp_plan_clock *clock, const char *query_text,
                     int64_t rows_returned)
{
    cJSON *stats = cJSON_CreateObject();
    char rows[24];
    snprintf(rows, sizeof(rows), "%lld", (long long)rows_returned);
    cJSON_AddStringToObject(stats, "query_text", query_text);
    cJSON_AddStringToObject(stats, "rows_returned", rows);
    add_msecs(stats, "elapsed_time", clock_ns(CLOCK_MONOTONIC) - clock->wall_ns);
    add_msecs(stats, "cpu_time", clock_ns(CLOCK_THREAD_CPUTIME_ID) - clock->cpu_ns);
    return stats;
}
