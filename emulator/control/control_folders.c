/*
 * control_folders: folders' rules and their tables (see control_folders.h).
 */
#include "control_folders.h"

#include "control_projects.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const folder_migrations[] = {
    "CREATE TABLE folders ("
    " folder_id TEXT PRIMARY KEY,"
    " parent TEXT NOT NULL,"
    " display_name TEXT NOT NULL,"
    " deleted INTEGER NOT NULL,"
    " create_ns INTEGER NOT NULL,"
    " update_ns INTEGER NOT NULL);"
    "CREATE INDEX folders_by_parent ON folders(parent, folder_id);"
    "CREATE TABLE folder_operations ("
    " name TEXT PRIMARY KEY,"
    " json TEXT NOT NULL);",
};

#define FOLDER_COLUMNS "folder_id, parent, display_name, deleted, create_ns, update_ns"

enum em_code control_folders_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "folders", folder_migrations,
                            (int)(sizeof(folder_migrations) / sizeof(folder_migrations[0])), st);
}

enum em_code control_folders_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM folders; DELETE FROM folder_operations", st);
}

/* --- Google's rules --- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static enum em_code check_display_name(const char *name, struct em_status *st)
{
    size_t len = strlen(name);
    bool valid = len >= 1 && len <= CONTROL_FOLDER_NAME_MAX && name_char(name[0]) &&
                 name_char(name[len - 1]);
    for (const char *p = name; valid && *p; p++)
        valid = name_char(*p) || strchr(" -_", *p) != NULL;
    if (!valid)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'folder.display_name': a folder's display name is 1 to "
                       "30 letters, digits, spaces, hyphens or underscores, starting and ending "
                       "with a letter or digit, got \"%.60s\".",
                       name);
    return EM_OK;
}

/* "folders/<digits>" or "organizations/<digits>"; *is_folder says which. */
static bool parse_parent(const char *parent, bool *is_folder)
{
    *is_folder = strncmp(parent, "folders/", 8) == 0;
    const char *id = *is_folder                                   ? parent + 8
                     : strncmp(parent, "organizations/", 14) == 0 ? parent + 14
                                                                  : NULL;
    return id && em_numeric_id(id);
}

bool control_folder_parent_valid(const char *parent)
{
    bool is_folder;
    return parse_parent(parent, &is_folder);
}

/* --- the table --- */

static void read_folder(sqlite3_stmt *stmt, struct control_folder *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "folders/%s", em_column_text(stmt, 0));
    snprintf(out->parent, sizeof(out->parent), "%s", em_column_text(stmt, 1));
    snprintf(out->display_name, sizeof(out->display_name), "%s", em_column_text(stmt, 2));
    out->deleted = sqlite3_column_int(stmt, 3) != 0;
    out->create_ns = sqlite3_column_int64(stmt, 4);
    out->update_ns = sqlite3_column_int64(stmt, 5);
}

static enum em_code find(struct em_store *store, const char *name, struct control_folder *out,
                         bool *found, struct em_status *st)
{
    *found = false;
    if (strncmp(name, "folders/", 8) != 0 || !em_numeric_id(name + 8))
        return EM_OK;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT " FOLDER_COLUMNS " FROM folders WHERE folder_id = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name + 8);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        read_folder(stmt, out);
        *found = true;
    }
    return em_stmt_end(stmt, rc, st);
}

enum em_code control_folder_get(struct em_store *store, const char *name,
                                struct control_folder *out, struct em_status *st)
{
    bool found;
    if (find(store, name, out, &found, st))
        return st->code;
    if (!found)
        return EM_FAIL(st, EM_NOT_FOUND, "Folder %.60s not found.", name);
    return EM_OK;
}

static enum em_code write_folder(struct em_store *store, const struct control_folder *f,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT OR REPLACE INTO folders(" FOLDER_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, f->name + 8);
    em_bind_text(stmt, 2, f->parent);
    em_bind_text(stmt, 3, f->display_name);
    sqlite3_bind_int(stmt, 4, f->deleted);
    sqlite3_bind_int64(stmt, 5, f->create_ns);
    sqlite3_bind_int64(stmt, 6, f->update_ns);
    if (em_stmt_run(stmt, st))
        return st->code;
    /* IAM's hierarchy: what is granted or set on the parent reaches the folder */
    return em_iam_set_parent(store, f->name, f->parent, st);
}

/* One integer of a query with up to three text parameters (?1, ?2, ?3; NULL binds NULL). */
static enum em_code count_of(struct em_store *store, const char *sql, const char *a, const char *b,
                             const char *c, int64_t *out, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store, sql, st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, a);
    em_bind_text(stmt, 2, b);
    em_bind_text(stmt, 3, c);
    int rc = sqlite3_step(stmt);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    return em_stmt_end(stmt, rc, st);
}

/* --- the constraints a change must keep --- */

/* The depth of a parent: 0 for an organization, 1 + its parent's for a folder. *cycle
 * gets whether `avoid` is the parent or one of its ancestors (a move's cycle). */
static enum em_code depth_of(struct em_store *store, const char *parent, const char *avoid,
                             int *depth, bool *cycle, struct em_status *st)
{
    char at[40];
    snprintf(at, sizeof(at), "%s", parent);
    *depth = 0;
    *cycle = false;
    while (strncmp(at, "folders/", 8) == 0 && *depth <= CONTROL_FOLDER_DEPTH_MAX) {
        if (avoid && strcmp(at, avoid) == 0)
            *cycle = true;
        struct control_folder f;
        bool found;
        if (find(store, at, &f, &found, st))
            return st->code;
        ++*depth;
        if (!found)
            break;
        snprintf(at, sizeof(at), "%s", f.parent);
    }
    return EM_OK;
}

/* How many levels of active folders lie below name (0: none). */
static enum em_code subtree_height(struct em_store *store, const char *name, int64_t *height,
                                   struct em_status *st)
{
    return count_of(
        store,
        "WITH RECURSIVE below(id, depth) AS (SELECT ?1, 0 UNION ALL"
        " SELECT f.folder_id, below.depth + 1 FROM folders f JOIN below"
        " ON f.parent = 'folders/' || below.id WHERE f.deleted = 0 AND below.depth < 20)"
        " SELECT MAX(depth) FROM below",
        name + 8, NULL, NULL, height, st);
}

/* The parent exists and is active (an organization always is), and a folder with
 * `below` levels of folders under it fits there. */
static enum em_code check_parent(struct em_store *store, const char *parent, const char *moving,
                                 int64_t below, struct em_status *st)
{
    bool is_folder;
    if (!parse_parent(parent, &is_folder))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid parent \"%.60s\": a folder's parent is organizations/{id} or "
                       "folders/{id}, IDs of 1 to 20 digits.",
                       parent);
    struct control_folder f;
    if (is_folder && control_folder_get(store, parent, &f, st))
        return st->code;
    if (is_folder && f.deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The parent %s is DELETE_REQUESTED: undelete it first.", parent);
    int depth;
    bool cycle;
    if (depth_of(store, parent, moving, &depth, &cycle, st))
        return st->code;
    if (cycle)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Cannot move %s into itself or into a folder below it (%s).", moving,
                       parent);
    if (depth + 1 + below > CONTROL_FOLDER_DEPTH_MAX)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "Folders can be nested at most %d levels deep: %s is at depth %d, and the "
                       "folder would bring %lld level(s) below it.",
                       CONTROL_FOLDER_DEPTH_MAX, parent, depth, (long long)(1 + below));
    return EM_OK;
}

/* Fanout and a distinct name among parent's active folders, `self` ("folders/<id>" or
 * NULL) left out. */
static enum em_code check_siblings(struct em_store *store, const char *parent,
                                   const char *display_name, const char *self, struct em_status *st)
{
    const char *self_id = self ? self + 8 : "";
    int64_t same, count;
    if (count_of(store,
                 "SELECT COUNT(*) FROM folders WHERE parent = ?1 AND display_name = ?2"
                 " AND deleted = 0 AND folder_id != ?3",
                 parent, display_name, self_id, &same, st) ||
        count_of(store,
                 "SELECT COUNT(*) FROM folders WHERE parent = ?1 AND deleted = 0"
                 " AND folder_id != ?3",
                 parent, NULL, self_id, &count, st))
        return st->code;
    if (same > 0)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "A folder named \"%s\" already exists in %s: display names are distinct "
                       "among a parent's folders.",
                       display_name, parent);
    if (count >= CONTROL_FOLDER_FANOUT)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%s already holds %d folders, the most a parent may.", parent,
                       CONTROL_FOLDER_FANOUT);
    return EM_OK;
}

/* Nothing active inside: no active folder, no project. */
static enum em_code check_empty(struct em_store *store, const char *name, struct em_status *st)
{
    int64_t folders;
    bool projects;
    if (count_of(store, "SELECT COUNT(*) FROM folders WHERE parent = ?1 AND deleted = 0", name,
                 NULL, NULL, &folders, st) ||
        control_projects_under(store, "folder", name + 8, &projects, st))
        return st->code;
    if (folders > 0 || projects)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%s is not empty: delete or move the %s inside it first.", name,
                       folders > 0 ? "folders" : "projects");
    return EM_OK;
}

/* --- changes, each in one transaction --- */

typedef enum em_code (*change_fn)(struct em_store *store, struct control_folder *f, const void *arg,
                                  struct em_status *st);

static enum em_code run_change(struct em_store *store, change_fn change, const void *arg,
                               struct control_folder *f, struct em_status *st)
{
    if (em_store_begin(store, st))
        return st->code;
    if (change(store, f, arg, st) || write_folder(store, f, st) || em_store_commit(store, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return EM_OK;
}

static enum em_code new_id(char out[16], struct em_status *st)
{
    unsigned char bytes[8];
    if (em_random_bytes(bytes, sizeof(bytes), st))
        return st->code;
    uint64_t n = 0;
    for (size_t i = 0; i < sizeof(bytes); i++)
        n = n << 8 | bytes[i];
    snprintf(out, 16, "%llu", (unsigned long long)(100000000000ULL + n % 900000000000ULL));
    return EM_OK;
}

static enum em_code create_change(struct em_store *store, struct control_folder *f, const void *arg,
                                  struct em_status *st)
{
    (void)arg;
    struct control_folder taken;
    bool found;
    if (find(store, f->name, &taken, &found, st))
        return st->code;
    if (found) /* 1 in 10^11 per folder: ask again */
        return EM_FAIL(st, EM_ABORTED, "A folder ID was drawn twice; retry the request.");
    return check_parent(store, f->parent, NULL, 0, st) ||
                   check_siblings(store, f->parent, f->display_name, NULL, st)
               ? st->code
               : EM_OK;
}

enum em_code control_folder_create(struct em_store *store, const char *parent,
                                   const char *display_name, int64_t now,
                                   struct control_folder *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    char id[16];
    if (check_display_name(display_name, st) || new_id(id, st))
        return st->code;
    snprintf(out->name, sizeof(out->name), "folders/%s", id);
    snprintf(out->parent, sizeof(out->parent), "%.39s", parent);
    if (strlen(parent) >= sizeof(out->parent))
        return check_parent(store, parent, NULL, 0, st); /* too long to be valid: says why */
    snprintf(out->display_name, sizeof(out->display_name), "%s", display_name);
    out->create_ns = out->update_ns = now;
    return run_change(store, create_change, NULL, out, st);
}

/* Reads the folder a change applies to into f (inside the change's transaction). */
static enum em_code load_for_change(struct em_store *store, struct control_folder *f,
                                    struct em_status *st)
{
    char name[32];
    snprintf(name, sizeof(name), "%s", f->name);
    int64_t now = f->update_ns;
    if (control_folder_get(store, name, f, st))
        return st->code;
    f->update_ns = now;
    return EM_OK;
}

static enum em_code rename_change(struct em_store *store, struct control_folder *f, const void *arg,
                                  struct em_status *st)
{
    const char *display_name = arg;
    if (load_for_change(store, f, st))
        return st->code;
    if (f->deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is DELETE_REQUESTED.", f->name);
    if (strcmp(f->display_name, display_name) != 0 &&
        check_siblings(store, f->parent, display_name, f->name, st))
        return st->code;
    snprintf(f->display_name, sizeof(f->display_name), "%s", display_name);
    return EM_OK;
}

/* A change's target: the folder's name and the time of the change. */
static enum em_code start(const char *name, int64_t now, struct control_folder *out,
                          struct em_status *st)
{
    char copy[sizeof(out->name)]; /* name may point into out */
    if (strlen(name) >= sizeof(copy))
        return EM_FAIL(st, EM_NOT_FOUND, "Folder %.60s not found.", name);
    snprintf(copy, sizeof(copy), "%s", name);
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", copy);
    out->update_ns = now;
    return EM_OK;
}

enum em_code control_folder_rename(struct em_store *store, const char *name,
                                   const char *display_name, int64_t now,
                                   struct control_folder *out, struct em_status *st)
{
    if (start(name, now, out, st) || check_display_name(display_name, st))
        return st->code;
    return run_change(store, rename_change, display_name, out, st);
}

static enum em_code move_change(struct em_store *store, struct control_folder *f, const void *arg,
                                struct em_status *st)
{
    const char *parent = arg;
    if (load_for_change(store, f, st))
        return st->code;
    if (f->deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is DELETE_REQUESTED.", f->name);
    int64_t below;
    if (subtree_height(store, f->name, &below, st) ||
        check_parent(store, parent, f->name, below, st) ||
        check_siblings(store, parent, f->display_name, f->name, st))
        return st->code;
    if (strlen(parent) >= sizeof(f->parent))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid parent.");
    snprintf(f->parent, sizeof(f->parent), "%s", parent);
    return EM_OK;
}

enum em_code control_folder_move(struct em_store *store, const char *name, const char *parent,
                                 int64_t now, struct control_folder *out, struct em_status *st)
{
    if (start(name, now, out, st))
        return st->code;
    return run_change(store, move_change, parent, out, st);
}

static enum em_code delete_change(struct em_store *store, struct control_folder *f, const void *arg,
                                  struct em_status *st)
{
    bool deleted = *(const bool *)arg;
    if (load_for_change(store, f, st))
        return st->code;
    if (f->deleted == deleted)
        return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is %s already.", f->name,
                       deleted ? "DELETE_REQUESTED" : "ACTIVE");
    if (deleted ? check_empty(store, f->name, st)
                : check_parent(store, f->parent, NULL, 0, st) ||
                      check_siblings(store, f->parent, f->display_name, f->name, st))
        return st->code;
    f->deleted = deleted;
    return EM_OK;
}

enum em_code control_folder_set_deleted(struct em_store *store, const char *name, bool deleted,
                                        int64_t now, struct control_folder *out,
                                        struct em_status *st)
{
    if (start(name, now, out, st))
        return st->code;
    return run_change(store, delete_change, &deleted, out, st);
}

/* Visits the folders stmt selects (FOLDER_COLUMNS) until visit says stop; a step error
 * is an error. */
static enum em_code visit_rows(sqlite3_stmt *stmt, control_folder_visit_fn visit, void *arg,
                               struct em_status *st)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct control_folder f;
        read_folder(stmt, &f);
        if (!visit(&f, arg))
            break;
    }
    return em_stmt_end(stmt, rc, st);
}

enum em_code control_folders_list(struct em_store *store, const char *parent, bool show_deleted,
                                  control_folder_visit_fn visit, void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "SELECT " FOLDER_COLUMNS " FROM folders WHERE parent = ?"
                                       " AND (deleted = 0 OR ?) ORDER BY display_name, folder_id",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, parent);
    sqlite3_bind_int(stmt, 2, show_deleted);
    return visit_rows(stmt, visit, arg, st);
}

enum em_code control_folders_scan(struct em_store *store, control_folder_visit_fn visit, void *arg,
                                  struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT " FOLDER_COLUMNS " FROM folders ORDER BY folder_id", st);
    if (!stmt)
        return st->code;
    return visit_rows(stmt, visit, arg, st);
}

enum em_code control_operation_save(struct em_store *store, const char *name, const char *json,
                                    struct em_status *st)
{
    return em_store_run_text(store,
                             "INSERT OR REPLACE INTO folder_operations(name, json)"
                             " VALUES (?, ?)",
                             name, json, NULL, NULL, st);
}

enum em_code control_operation_get(struct em_store *store, const char *name, char **json,
                                   struct em_status *st)
{
    *json = NULL;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT json FROM folder_operations WHERE name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && !(*json = strdup(em_column_text(stmt, 0)))) {
        em_stmt_done(stmt);
        return EM_FAIL_OOM(st);
    }
    return em_stmt_end(stmt, rc, st);
}
