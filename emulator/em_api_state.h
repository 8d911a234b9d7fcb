/*
 * em_api_state: which Google APIs each project has enabled or disabled (Service Usage,
 * README "Service Usage"). Owned here: table project_services (metadata.db, migration
 * module "serviceusage"), written by the control plane's Service Usage
 * (control_serviceusage.c), and the set of the APIs projects have disabled that every
 * service holds in memory: em_dispatch refuses a call on a project whose API is disabled
 * with Google's 403 SERVICE_DISABLED. A service loads the set when it opens, at every
 * tick, and when the control plane says it changed (the internal route
 * emulator/v1/internal:apis); while no project disables anything the check costs one
 * atomic load.
 */
#ifndef EM_API_STATE_H
#define EM_API_STATE_H

#include "em_status.h"

#include <stdbool.h>

struct em_store;

#define EM_API_NAME_MAX 100 /* "cloudkms.googleapis.com" */

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

/* Loads the disabled (project, API) pairs into this process's set, replacing it (on a
 * failure the set stays as it was). */
enum em_code em_api_state_load(struct em_store *store, struct em_status *st);

/* Whether any project disabled anything, in this process's set (one atomic load). */
bool em_api_state_any(void);

/* Whether project_id has disabled api, in this process's set. */
bool em_api_disabled(const char *project_id, const char *api);

#endif
