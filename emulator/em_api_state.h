/*
 * em_api_state: which Google APIs each project may use: the APIs it enabled or disabled
 * (Service Usage, README "Service Usage") and whether the project itself was deleted
 * (Resource Manager's DeleteProject, README "Deleting a project"). Owned here: tables
 * project_services and deleted_projects (metadata.db, migration module "serviceusage"),
 * written by the control plane (control_serviceusage.c, control_projects_api.c), and the
 * set every service holds in memory of the APIs projects disabled and the projects
 * deleted: em_dispatch refuses a call on a project whose API is disabled with Google's
 * 403 SERVICE_DISABLED, on a deleted project with 403 CONSUMER_INVALID. A service loads
 * the set when it opens, at every tick, and when the control plane says it changed (the
 * internal route emulator/v1/internal:apis); while no project disables anything and none
 * is deleted the check costs one atomic load.
 */
#ifndef EM_API_STATE_H
#define EM_API_STATE_H

#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define EM_API_NAME_MAX 100 /* "cloudkms.googleapis.com" */

/* The internal route (POST, every service) that reloads the set after a change. */
#define EM_API_STATE_RELOAD_PATH "emulator/v1/internal:apis"

enum em_code em_api_state_open(struct em_store *store, struct em_status *st);
/* Forgets every project's choices (control plane reset). */
enum em_code em_api_state_clear(struct em_store *store, struct em_status *st);

/* Records api as enabled or disabled in project_id. */
enum em_code em_api_state_set(struct em_store *store, const char *project_id, const char *api,
                              bool enabled, struct em_status *st);
/* What project_id recorded for api: *recorded false when it never enabled nor disabled
 * it (then *enabled is false). */
enum em_code em_api_state_get(struct em_store *store, const char *project_id, const char *api,
                              bool *enabled, bool *recorded, struct em_status *st);

/* Calls visit for each API project_id recorded, by name. */
typedef void (*em_api_visit_fn)(const char *api, bool enabled, void *arg);
enum em_code em_api_state_each(struct em_store *store, const char *project_id,
                               em_api_visit_fn visit, void *arg, struct em_status *st);

/* Records project_id as deleted at delete_time_ns (emulator time), or as not deleted
 * (delete_time_ns 0). */
enum em_code em_project_set_deleted(struct em_store *store, const char *project_id,
                                    int64_t delete_time_ns, struct em_status *st);
/* When project_id was deleted: *delete_time_ns 0 when it is not. */
enum em_code em_project_delete_time(struct em_store *store, const char *project_id,
                                    int64_t *delete_time_ns, struct em_status *st);

/* Loads the disabled (project, API) pairs and the deleted projects into this process's
 * set, replacing it (on a failure the set stays as it was). */
enum em_code em_api_state_load(struct em_store *store, struct em_status *st);

/* Whether any project disabled anything or was deleted, in this process's set (one
 * atomic load). */
bool em_api_state_any(void);

/* Whether project_id may use api, in this process's set. */
enum em_api_use {
    EM_API_USABLE,
    EM_API_DISABLED,        /* the project disabled the API */
    EM_API_PROJECT_DELETED, /* the project was deleted (all of its APIs) */
};
enum em_api_use em_api_use(const char *project_id, const char *api);

/* em_api_use of the project a resource name starts with ("projects/<id>/..."): whether
 * background work on it (push delivery) may go on; true for a name without a project. */
bool em_api_usable_for(const char *resource, const char *api);

/* Whether the project a resource name starts with was deleted (its resources are
 * unreachable, from other projects too). */
bool em_api_project_deleted_for(const char *resource);

#endif
