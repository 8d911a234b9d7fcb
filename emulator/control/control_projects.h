/*
 * control_projects: Resource Manager projects (cloudresourcemanager v1).
 *
 * DeleteProject and UndeleteProject (gcloud projects delete, undelete) set and clear the
 * project's deletion time, kept by em_api_state (every service refuses a deleted
 * project's calls); the project stays DELETE_REQUESTED for 30 days of emulator time, then
 * is gone: GetProject answers PERMISSION_DENIED, ListProjects leaves it out, its ID stays
 * taken, its resources stay unreachable (their data is not erased: a reset does that).
 *
 * Every valid project ID names a project that exists: a developer's gcloud project is
 * simply there. CreateProject (gcloud projects create) remembers a project not seen yet,
 * with its name, labels and parent, as a setup script expects. A project is remembered
 * in table `projects` (owned here, migration module "projects") the first time it is
 * seen, so its createTime stays stable and `projects list` shows it. The project number
 * is em_project_number(), the same in every service.
 *
 * UpdateProject (PUT v1/projects/{id},
 * https://cloud.google.com/resource-manager/reference/rest/v1/projects/update) replaces
 * what a user may set: the display name, the labels and the parent. The parent is a
 * folder or an organization, named by its numeric ID only (a folder need not have been
 * created: control_folders.h); a project's ancestry (getAncestry, which Cloud KMS Autokey
 * reads) is the project, its parent, and what control_folders recorded above that
 * parent. Google's rule that a
 * parent, once set, cannot be cleared holds here too (a project may move to another
 * parent). Reset forgets every project.
 */
#ifndef CONTROL_PROJECTS_H
#define CONTROL_PROJECTS_H

#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define CONTROL_PROJECT_NAME_MAX 30 /* a display name: 4 to 30 characters */
#define CONTROL_PARENT_ID_MAX    20 /* a folder or organization ID: 1 to 20 digits */

struct control_project {
    char id[32];
    int64_t number;
    int64_t create_time_ns;                          /* emulator time of first sight */
    char display_name[CONTROL_PROJECT_NAME_MAX + 1]; /* "" when none is set */
    char *labels_json;                               /* a JSON object's text, or NULL: none */
    char parent_type[16];                            /* "folder", "organization", "" for none */
    char parent_id[CONTROL_PARENT_ID_MAX + 1];
    int64_t delete_time_ns; /* emulator time of DeleteProject; 0: ACTIVE */
};

/* A deleted project can be undeleted for 30 days; then it is gone (Google's deletion). */
#define CONTROL_PROJECT_RESTORE_NS (30LL * 24 * 3600 * 1000000000LL)

/* Whether project's deletion is over at now: Resource Manager answers as for a project
 * that does not exist, and its ID stays taken. */
bool control_project_gone(const struct control_project *project, int64_t now);

/* Frees what a project read by control_project_get or control_project_update holds
 * (its labels); the struct itself is the caller's. */
void control_project_clear(struct control_project *project);

/* What UpdateProject sets; every field NULL is none (a PUT: absent clears it). */
struct control_project_update {
    const char *display_name;
    char *labels_json;       /* a JSON object's text, checked by em_labels_read; malloc'd */
    const char *parent_type; /* parent_type and parent_id are both set, or both NULL */
    const char *parent_id;
};

enum em_code control_projects_open(struct em_store *store, struct em_status *st);

/* Validates project_id (Google's rules) and returns the project, remembering it on first
 * sight. Free it with control_project_clear. */
enum em_code control_project_get(struct em_store *store, const char *project_id,
                                 struct control_project *out, struct em_status *st);

/* UpdateProject: validates project_id, the display name and the parent (INVALID_ARGUMENT
 * naming the field), replaces the project's display name, labels and parent in one
 * statement (remembering the project at now on first sight), and returns the project as
 * it now is. Free it with control_project_clear. */
enum em_code control_project_update(struct em_store *store, const char *project_id,
                                    const struct control_project_update *update, int64_t now,
                                    struct control_project *out, struct em_status *st);

/* CreateProject: remembers project_id as new at now with what update sets (the rules of
 * control_project_update); ALREADY_EXISTS when the project was already seen (named in a
 * Resource Manager call, created or updated). Free out with control_project_clear. */
enum em_code control_project_create(struct em_store *store, const char *project_id,
                                    const struct control_project_update *update, int64_t now,
                                    struct control_project *out, struct em_status *st);

/* The ID of the project id_or_number names, read only (nothing is remembered): an ID
 * (validated: INVALID_ARGUMENT) or the number of a project the emulator has seen, written
 * as Google writes numbers (NOT_FOUND otherwise, "0123" included). */
enum em_code control_project_resolve(struct em_store *store, const char *id_or_number, char id[32],
                                     struct em_status *st);

/* DeleteProject: marks an ACTIVE project DELETE_REQUESTED at now, when allowed (NULL: no
 * check) lets it, in the same transaction (a deleted one is left as it is, as Google's
 * "will only affect the Project if it has a lifecycle state of ACTIVE"). UndeleteProject:
 * makes a DELETE_REQUESTED project ACTIVE again; FAILED_PRECONDITION for an ACTIVE one.
 * Both answer PERMISSION_DENIED for a project that is gone. The services learn of it when
 * they reload em_api_state's set. */
typedef enum em_code (*control_project_check_fn)(struct em_store *store, const char *project_id,
                                                 struct em_status *st);
enum em_code control_project_delete(struct em_store *store, const char *project_id, int64_t now,
                                    control_project_check_fn allowed, struct em_status *st);
enum em_code control_project_undelete(struct em_store *store, const char *project_id, int64_t now,
                                      struct em_status *st);

/* Visits every remembered project in ID order until visit returns false. The project is
 * the visitor's to read only: it is cleared after the visit. */
typedef bool (*control_project_visit_fn)(const struct control_project *project, void *arg);
enum em_code control_projects_scan(struct em_store *store, control_project_visit_fn visit,
                                   void *arg, struct em_status *st);

/* Whether a project was moved into parent_type ("folder", "organization") parent_id. */
enum em_code control_projects_under(struct em_store *store, const char *parent_type,
                                    const char *parent_id, bool *any, struct em_status *st);

/* Forgets every project (control plane reset). */
enum em_code control_projects_clear(struct em_store *store, struct em_status *st);

#endif
