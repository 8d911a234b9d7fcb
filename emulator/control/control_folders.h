/*
 * control_folders: Resource Manager v2 folders as resources: created under an
 * organization or another folder, renamed, moved, deleted (DELETE_REQUESTED) and
 * undeleted, with Google's constraints
 * (https://cloud.google.com/resource-manager/reference/rest/v2/folders): a display name
 * of 1 to 30 letters, digits, spaces, hyphens or underscores, starting and ending with a
 * letter or digit, distinct among the active folders of its parent; at most 10 levels of
 * folders and 300 folders under one parent; no move into itself or below itself; only a
 * folder with no active folder or project inside may be deleted. Those violations are
 * FAILED_PRECONDITION, as Google's.
 *
 * Each folder's parent is recorded for IAM (em_iam_set_parent) in the same transaction
 * as the folder, so bindings and organization policies set on an organization reach every
 * project below it through any depth of folders. Folders a project names without creating
 * them (UpdateProject's parent) still exist implicitly, as before, but have no record: GET
 * answers NOT_FOUND for them and nothing can be created under them.
 *
 * Resource Manager v3 shows the same folders (control_folders_v3.c), under the same rules.
 *
 * Table `folders` (migration module "folders"): folder_id, parent, display_name, deleted,
 * create_ns, update_ns; table `folder_operations`: the Operation JSON of each v2 create and
 * move and each v3 change, for GET v1/operations/{id} (gcloud polls it) and GET
 * v3/operations/{id}.
 */
#ifndef CONTROL_FOLDERS_H
#define CONTROL_FOLDERS_H

#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define CONTROL_FOLDER_NAME_MAX  30
#define CONTROL_FOLDER_DEPTH_MAX 10
#define CONTROL_FOLDER_FANOUT    300

struct control_folder {
    char name[32];   /* "folders/<id>" */
    char parent[40]; /* "organizations/<id>" or "folders/<id>" */
    char display_name[CONTROL_FOLDER_NAME_MAX + 1];
    bool deleted; /* lifecycle state DELETE_REQUESTED */
    int64_t create_ns, update_ns;
};

/* "organizations/<id>" or "folders/<id>", IDs of 1 to 20 digits. */
bool control_folder_parent_valid(const char *parent);

enum em_code control_folders_open(struct em_store *store, struct em_status *st);
enum em_code control_folders_clear(struct em_store *store, struct em_status *st);

/* A new folder with a fresh 12-digit ID. */
enum em_code control_folder_create(struct em_store *store, const char *parent,
                                   const char *display_name, int64_t now,
                                   struct control_folder *out, struct em_status *st);
/* name: "folders/<id>"; NOT_FOUND when no folder was created with it. */
enum em_code control_folder_get(struct em_store *store, const char *name,
                                struct control_folder *out, struct em_status *st);
enum em_code control_folder_rename(struct em_store *store, const char *name,
                                   const char *display_name, int64_t now,
                                   struct control_folder *out, struct em_status *st);
enum em_code control_folder_move(struct em_store *store, const char *name, const char *parent,
                                 int64_t now, struct control_folder *out, struct em_status *st);
/* deleted: true deletes (DELETE_REQUESTED), false undeletes. */
enum em_code control_folder_set_deleted(struct em_store *store, const char *name, bool deleted,
                                        int64_t now, struct control_folder *out,
                                        struct em_status *st);

typedef bool (*control_folder_visit_fn)(const struct control_folder *folder, void *arg);

/* The folders directly under parent, deleted ones too when show_deleted, in the (bytewise)
 * order of their display names, as Google's ListFolders answers them (v2 and v3), then by
 * ID (a deleted folder may share its name with an active one). */
enum em_code control_folders_list(struct em_store *store, const char *parent, bool show_deleted,
                                  control_folder_visit_fn visit, void *arg, struct em_status *st);

/* Every folder, deleted ones too, by ID: what a v3 SearchFolders looks through. */
enum em_code control_folders_scan(struct em_store *store, control_folder_visit_fn visit, void *arg,
                                  struct em_status *st);

/* Resource Manager operations: the JSON text of each folder create and move
 * ("operations/fc.<...>") and project create ("operations/cp.<...>"), by name. */
enum em_code control_operation_save(struct em_store *store, const char *name, const char *json,
                                    struct em_status *st);
/* *json (malloc'd) NULL when there is none. */
enum em_code control_operation_get(struct em_store *store, const char *name, char **json,
                                   struct em_status *st);

#endif
