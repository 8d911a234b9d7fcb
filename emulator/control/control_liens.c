/*
 * control_liens: Google's rules for liens and the liens table (see control_liens.h). The
 * liens table's SQL is here and only here.
 *
 * Table `liens`, one row per lien: name, parent (as its creator named the project),
 * project_id (the project it names), reason, origin, create_time_ns. A lien's
 * restrictions are not stored: the only one a project supports is
 * resourcemanager.projects.delete, which every lien therefore holds.
 */
#include "control_liens.h"

#include "em_api_state.h"
#include "em_crypto.h"
#include "em_json.h"
#include "em_names.h"
#include "em_store.h"

#include <stdio.h>
#include <string.h>

static const char *const lien_migrations[] = {
    "CREATE TABLE liens ("
    " name TEXT PRIMARY KEY,"
    " parent TEXT NOT NULL,"
    " project_id TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " origin TEXT NOT NULL,"
    " create_time_ns INTEGER NOT NULL);"
    "CREATE INDEX liens_by_project ON liens(project_id, create_time_ns)",
};

#define LIEN_COLUMNS "name, parent, project_id, reason, origin, create_time_ns"

enum em_code control_liens_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "liens", lien_migrations,
                            (int)(sizeof(lien_migrations) / sizeof(lien_migrations[0])), st);
}

enum em_code control_liens_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM liens", st);
}

/* --- Google's rules (https://cloud.google.com/resource-manager/reference/rest/v1/liens) --- */

enum em_code control_lien_parent_check(const char *parent, struct em_status *st)
{
    if (!parent || strncmp(parent, "projects/", 9) != 0 || !parent[9] || strchr(parent + 9, '/') ||
        strlen(parent) >= sizeof(((struct control_lien *)0)->parent))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'parent': a lien's parent is a project, "
                       "\"projects/<project ID or number>\".");
    return EM_OK;
}

/* reason and origin: required, at most 200 characters (UTF-8 code points). */
static enum em_code read_text(const cJSON *body, const char *field, char *out, size_t size,
                              struct em_status *st)
{
    const char *text = em_json_string(body, field);
    size_t characters = 0;
    for (const char *p = text; p && *p; p++)
        characters += ((unsigned char)*p & 0xC0) != 0x80;
    if (!text || !*text)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value at '%s': a lien needs a %s.", field,
                       field);
    if (characters > CONTROL_LIEN_TEXT_MAX || strlen(text) >= size)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at '%s': at most %d characters, not %zu.", field,
                       CONTROL_LIEN_TEXT_MAX, characters);
    snprintf(out, size, "%s", text);
    return EM_OK;
}

/* restrictions: at least one, each the one a project supports. */
static enum em_code check_restrictions(const cJSON *body, struct em_status *st)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "restrictions");
    if (cJSON_GetArraySize(list) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'restrictions': a lien restricts at least one "
                       "permission (" CONTROL_LIEN_DELETE ").");
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item) || strcmp(item->valuestring, CONTROL_LIEN_DELETE) != 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid value at 'restrictions': %.100s is not a restriction liens "
                           "support on a project; the only one is " CONTROL_LIEN_DELETE ".",
                           cJSON_IsString(item) ? item->valuestring : "a non-string");
    }
    return EM_OK;
}

/* "liens/p<project number>-<uuid>", as Google names them. */
static enum em_code new_name(const char *project_id, char *out, size_t size, struct em_status *st)
{
    unsigned char b[16];
    if (em_random_bytes(b, sizeof(b), st))
        return st->code;
    snprintf(out, size,
             "liens/p%lld-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             (long long)em_project_number(project_id), b[0], b[1], b[2], b[3], b[4], b[5], b[6],
             b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return EM_OK;
}

static enum em_code insert(struct em_store *store, const struct control_lien *lien,
                           struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "INSERT INTO liens(" LIEN_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, lien->name);
    em_bind_text(stmt, 2, lien->parent);
    em_bind_text(stmt, 3, lien->project_id);
    em_bind_text(stmt, 4, lien->reason);
    em_bind_text(stmt, 5, lien->origin);
    sqlite3_bind_int64(stmt, 6, lien->create_time_ns);
    return em_stmt_run(stmt, st);
}

/* A project whose deletion was requested takes no lien (nor one gone). */
static enum em_code refuse_deleted(struct em_store *store, const char *project_id,
                                   struct em_status *st)
{
    int64_t deleted;
    if (em_project_delete_time(store, project_id, &deleted, st))
        return st->code;
    if (deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Project %s is DELETE_REQUESTED: a lien cannot be placed on it.",
                       project_id);
    return EM_OK;
}

enum em_code control_lien_create(struct em_store *store, const cJSON *body, const char *project_id,
                                 int64_t now, struct control_lien *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    const char *parent = em_json_string(body, "parent");
    if (control_lien_parent_check(parent, st) || check_restrictions(body, st) ||
        read_text(body, "reason", out->reason, sizeof(out->reason), st) ||
        read_text(body, "origin", out->origin, sizeof(out->origin), st) ||
        new_name(project_id, out->name, sizeof(out->name), st))
        return st->code;
    snprintf(out->parent, sizeof(out->parent), "%s", parent);
    snprintf(out->project_id, sizeof(out->project_id), "%s", project_id);
    out->create_time_ns = now;
    if (em_store_begin(store, st))
        return st->code;
    if (refuse_deleted(store, project_id, st) || insert(store, out, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

/* --- reading --- */

static void read_row(sqlite3_stmt *stmt, struct control_lien *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", em_column_text(stmt, 0));
    snprintf(out->parent, sizeof(out->parent), "%s", em_column_text(stmt, 1));
    snprintf(out->project_id, sizeof(out->project_id), "%s", em_column_text(stmt, 2));
    snprintf(out->reason, sizeof(out->reason), "%s", em_column_text(stmt, 3));
    snprintf(out->origin, sizeof(out->origin), "%s", em_column_text(stmt, 4));
    out->create_time_ns = sqlite3_column_int64(stmt, 5);
}

enum em_code control_lien_get(struct em_store *store, const char *name, struct control_lien *out,
                              struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT " LIEN_COLUMNS " FROM liens WHERE name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        read_row(stmt, out);
    if (em_stmt_end(stmt, rc, st))
        return st->code;
    if (rc != SQLITE_ROW)
        return EM_FAIL(st, EM_NOT_FOUND, "Lien %.100s not found.", name);
    return EM_OK;
}

enum em_code control_lien_delete(struct em_store *store, const char *name, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, "DELETE FROM liens WHERE name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    return em_stmt_run(stmt, st);
}

struct visiting {
    control_lien_visit_fn visit;
    void *arg;
};

static enum em_code visit_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    (void)st;
    struct visiting *v = arg;
    struct control_lien lien;
    read_row(row, &lien);
    v->visit(&lien, v->arg);
    return EM_OK;
}

enum em_code control_liens_of(struct em_store *store, const char *project_id,
                              control_lien_visit_fn visit, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT " LIEN_COLUMNS " FROM liens WHERE project_id = ? "
                                       "ORDER BY create_time_ns, name",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, project_id);
    struct visiting v = {visit, arg};
    return em_stmt_each_row(stmt, visit_row, &v, st);
}

struct first_lien {
    bool found;
    struct control_lien lien;
};

static void keep_first(const struct control_lien *lien, void *arg)
{
    struct first_lien *first = arg;
    if (!first->found)
        first->lien = *lien;
    first->found = true;
}

enum em_code control_liens_allow_delete(struct em_store *store, const char *project_id,
                                        struct em_status *st)
{
    struct first_lien first = {0};
    if (control_liens_of(store, project_id, keep_first, &first, st))
        return st->code;
    if (!first.found)
        return EM_OK;
    EM_FAIL(st, EM_FAILED_PRECONDITION,
            "A lien to prevent deletion was placed on the project by [%.200s]. Remove the lien "
            "to allow deletion.",
            first.lien.origin);
    em_status_add_violation(st, "LIEN", first.lien.name, first.lien.reason);
    return st->code;
}

cJSON *control_lien_json(const struct control_lien *lien)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", lien->name);
    cJSON_AddStringToObject(json, "parent", lien->parent);
    cJSON *restrictions = cJSON_AddArrayToObject(json, "restrictions");
    cJSON_AddItemToArray(restrictions, cJSON_CreateString(CONTROL_LIEN_DELETE));
    cJSON_AddStringToObject(json, "reason", lien->reason);
    cJSON_AddStringToObject(json, "origin", lien->origin);
    em_json_add_time(json, "createTime", lien->create_time_ns);
    return json;
}
