/*
 * control: what the control plane's files share (bin/emulator, port base + 0).
 *
 * The control plane is a service like the others (control_main.c declares it, the core
 * runs it) whose domain is the emulator itself:
 *
 *   control_descriptor.c  the control plane's descriptor: port, roles (em_descriptor.h)
 *   control_services.c    the services to start (--services), calls to every running one
 *   control_supervisor.c  the child processes, one per service, restarted on crashes
 *   control_unbuilt.c     the ports of services not built yet: UNIMPLEMENTED to every call
 *   control_http.c        the client those calls go through (on em_rest)
 *   control_projects.c    Resource Manager projects (table `projects`)
 *   control_projects_api.c  their REST methods (get, list, update, create, getAncestry)
 *   control_folders*.c    Resource Manager v2 folders (tables `folders`, operations),
 *                         and v3's view of them (control_folders_v3.c)
 *   control_orgpolicy.c   Organization Policy v2 (policies in em_orgpolicy)
 *   control_serviceusage.c  Service Usage v1 (table `project_services`)
 *   control_logging.c     audit rows as Cloud Logging entries (entries:list)
 *   control_json.c        request schemas and JSON of projects (read and written)
 *   control_lifecycle.c   open/close/reset hooks of the service runtime
 *   control_handlers.c    thin handlers, one per REST method
 *   control_page.c        GET /: the status page (HTML) for people
 *   control_routes.c      the route table
 *
 * Dependencies point one way: handlers -> logging/projects/services -> supervisor/http
 * -> core.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include "em_config.h"
#include "em_router.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct em_call;
struct em_service;
struct em_store;
struct em_message;
struct em_filter;
struct control_supervisor;

/* --- services the emulator knows (control_services.c) --- */

/* The services are the descriptors in em_services[] (em_descriptor.h): the control plane
 * first, then every child service, each started from bin/<name>. */
#define CONTROL_SERVICE_MAX 8 /* at least every child service (test_descriptor checks it) */

/* Whether the supervisor runs the service as a child process (all but the control plane). */
bool control_service_is_child(const struct em_service_desc *desc);

/* Resolves the --services list against the binaries in bin_dir: "all" is every child
 * service whose binary exists there, "none" or "" is no service, otherwise a
 * comma-separated list of names, each known and built. Fills out[] in em_services[] order. */
enum em_code control_services_resolve(const char *list, const char *bin_dir,
                                      const struct em_service_desc **out, size_t max, size_t *count,
                                      struct em_status *st);

/* The child services that have no binary in bin_dir (not built yet), in em_services[] order. */
size_t control_services_unbuilt(const char *bin_dir, const struct em_service_desc **out,
                                size_t max);

/* POSTs `path` ("emulator/v1/internal:tick") to every running service and waits for
 * every answer. Appends the name of each service called to names (when not NULL).
 * UNAVAILABLE naming the services that did not answer with success. */
enum em_code control_services_call(struct control_supervisor *sup, const char *path, cJSON *names,
                                   struct em_status *st);

/* --- ports of services not built yet (control_unbuilt.c) --- */

struct control_unbuilt;

/* Serves, on its port, every known child service that has no binary in bin_dir. */
enum em_code control_unbuilt_start(const struct em_config *cfg, const char *bin_dir,
                                   struct control_unbuilt **out, struct em_status *st);
void control_unbuilt_stop(struct control_unbuilt *unbuilt); /* NULL is fine */

/* The services whose ports it serves (at most max); returns the count. */
size_t control_unbuilt_list(const struct control_unbuilt *unbuilt,
                            const struct em_service_desc **out, size_t max);

/* --- the control plane's state (svc->ctx) --- */

struct control {
    struct control_supervisor *supervisor;
    struct control_unbuilt *unbuilt;
    char data_dir[PATH_MAX]; /* absolute */
    bool http_ready;         /* em_rest initialised */
};

/* Lifecycle hooks (control_lifecycle.c). */
enum em_code control_open(struct em_service *svc, struct em_status *st);
void control_close(struct em_service *svc);
enum em_code control_reset_state(struct em_service *svc, struct em_status *st);

/* --- request schemas and JSON (control_json.c) --- */

extern const struct em_message control_advance_request;
extern const struct em_message control_list_entries_request;

struct control_project;
struct control_project_update;
struct control_folder;

/* A cloudresourcemanager v1 Project: the body of UpdateProject, the reply of Get and
 * Update. */
extern const struct em_message control_project_message;

/* A cloudresourcemanager v1 Project. */
cJSON *control_project_json(const struct control_project *project);

/* Reads an UpdateProject body (checked against control_project_message) into out, whose
 * strings point into body but for labels_json, which the caller frees. INVALID_ARGUMENT
 * when the body names another project than project_id, or for labels that break Google's
 * rules (em_labels_check). */
enum em_code control_project_update_read(const cJSON *body, const char *project_id,
                                         struct control_project_update *out, struct em_status *st);

/* --- handlers (control_handlers.c) --- */

enum em_code control_get_status(struct em_call *call);
enum em_code control_get_clock(struct em_call *call);
enum em_code control_advance_clock(struct em_call *call);
enum em_code control_reset(struct em_call *call);
enum em_code control_stop_service(struct em_call *call);
enum em_code control_start_service(struct em_call *call);
enum em_code control_get_project(struct em_call *call);
enum em_code control_list_projects(struct em_call *call);
enum em_code control_update_project(struct em_call *call);
enum em_code control_create_project(struct em_call *call);
enum em_code control_delete_project(struct em_call *call);
enum em_code control_undelete_project(struct em_call *call);
/* Shared by Resource Manager v1 and v3 and liens (control_projects_api.c).
 * control_project_authorize: the project id_or_number names (an ID, or the number of a
 * project seen), its ID into id, on which the caller holds permission (NULL: none needed);
 * nothing is remembered, and a refusal names the project as the caller did (under --iam
 * enforce a number no project has is refused the same way: no oracle). Then
 * DeleteProject (its liens checked in the same transaction) and UndeleteProject of that
 * ID, the services told; the caller may create projects in update's parent; a move to
 * update's parent is one the caller may make. */
enum em_code control_project_authorize(struct em_call *call, const char *id_or_number,
                                       const char *permission, char id[32]);
enum em_code control_project_shut_down(struct em_call *call, const char *id);
enum em_code control_project_bring_back(struct em_call *call, const char *id);
enum em_code control_may_create_project_in(struct em_call *call,
                                           const struct control_project_update *update);
enum em_code control_check_project_move(struct em_call *call, const char *id,
                                        const struct control_project_update *update);
/* Whether the caller may get the project (what ListProjects and SearchProjects show it);
 * control_project_query: a ListProjects filter or SearchProjects query, parsed as
 * Resource Manager reads them (em_filter_ignore_case). */
bool control_may_get_project(struct em_call *call, const char *id);
enum em_code control_project_query(struct em_call *call, const char *param, struct em_filter **out);
/* Resource Manager v3 projects (control_projects_v3.c) */
extern const struct em_message control_project_v3_message;
extern const struct em_message control_move_project_request;
enum em_code control_v3_get_project(struct em_call *call);
enum em_code control_v3_list_projects(struct em_call *call);
enum em_code control_v3_search_projects(struct em_call *call);
enum em_code control_v3_create_project(struct em_call *call);
enum em_code control_v3_update_project(struct em_call *call);
enum em_code control_v3_move_project(struct em_call *call);
enum em_code control_v3_delete_project(struct em_call *call);
enum em_code control_v3_undelete_project(struct em_call *call);
enum em_code control_v3_get_iam_policy(struct em_call *call);
enum em_code control_v3_set_iam_policy(struct em_call *call);
enum em_code control_v3_test_iam_permissions(struct em_call *call);
/* Resource Manager liens, v1 and v3 (control_liens_api.c) */
extern const struct em_message control_lien_message;
enum em_code control_create_lien(struct em_call *call);
enum em_code control_list_liens(struct em_call *call);
enum em_code control_get_lien(struct em_call *call);
enum em_code control_delete_lien(struct em_call *call);

/* Saves a done Operation (taken) under its name for GET v1/operations/{id}, which gcloud
 * polls, and replies with it (control_folders_api.c): Resource Manager's and Service
 * Usage's operations alike. */
enum em_code control_operation_reply(struct em_call *call, cJSON *op);
/* A done Operation named "operations/<kind>.<random>" with metadata and response (both
 * taken, each carrying its "@type"), saved and replied as control_operation_reply does. */
enum em_code control_done_operation(struct em_call *call, const char *kind, cJSON *metadata,
                                    cJSON *response);

/* Service Usage v1 (control_serviceusage.c): the table and the handlers. */
enum em_code control_serviceusage_open(struct em_store *store, struct em_status *st);
enum em_code control_serviceusage_clear(struct em_store *store, struct em_status *st);
enum em_code control_enable_service(struct em_call *call);
enum em_code control_disable_service(struct em_call *call);
enum em_code control_get_service(struct em_call *call);
enum em_code control_batch_enable_services(struct em_call *call);
enum em_code control_list_services(struct em_call *call);
extern const struct em_message control_service_disable_request;
extern const struct em_message control_batch_enable_request;
enum em_code control_get_project_ancestry(struct em_call *call);
/* For the generic IAM methods on projects (the project ID is valid, and remembered),
 * folders and organizations (their ID is a number: they exist as soon as named). */
enum em_code control_iam_resource_check(struct em_call *call);
enum em_code control_list_log_entries(struct em_call *call);
/* Every service writes its buffered audit entries, and the control plane its own, so that
 * a scan of the audit log is current. */
enum em_code control_flush_audit(struct em_call *call);

/* Resource Manager v2 folders and v1 operations (control_folders_api.c). */
extern const struct em_message control_folder_message;
extern const struct em_message control_folder_move_request;
enum em_code control_create_folder(struct em_call *call);
enum em_code control_get_folder(struct em_call *call);
enum em_code control_list_folders(struct em_call *call);
enum em_code control_update_folder(struct em_call *call);
enum em_code control_move_folder(struct em_call *call);
enum em_code control_delete_folder(struct em_call *call);
enum em_code control_undelete_folder(struct em_call *call);
enum em_code control_get_operation(struct em_call *call);
/* The folder the call's path names ("name"), on which the caller holds permission
 * (checked first: under --iam enforce a folder the caller may not see is refused, not
 * answered NOT_FOUND); v2 and v3 alike. */
enum em_code control_folder_named(struct em_call *call, const char *permission,
                                  struct control_folder *out);

/* Resource Manager v3 folders (control_folders_v3.c): v2's folders as v3 shows them, and
 * SearchFolders' query (fields displayName, state or lifecycleState, parent; names and
 * values in any case; INVALID_ARGUMENT for any other field or operator). */
extern const struct em_message control_folder_v3_message;
extern const struct em_message control_folders_v3_page;
extern const struct em_message control_move_folder_v3_request;
cJSON *control_folder_v3_json(const struct control_folder *folder);
enum em_code control_folder_query_parse(const char *text, struct em_filter **out,
                                        struct em_status *st);
bool control_folder_query_match(const struct em_filter *query, const struct control_folder *folder);
enum em_code control_v3_get_folder(struct em_call *call);
enum em_code control_v3_list_folders(struct em_call *call);
enum em_code control_v3_search_folders(struct em_call *call);
enum em_code control_v3_create_folder(struct em_call *call);
enum em_code control_v3_update_folder(struct em_call *call);
enum em_code control_v3_move_folder(struct em_call *call);
enum em_code control_v3_delete_folder(struct em_call *call);
enum em_code control_v3_undelete_folder(struct em_call *call);

/* Organization Policy v2 (control_orgpolicy.c). */
extern const struct em_message control_orgpolicy_policy;
enum em_code control_create_org_policy(struct em_call *call);
enum em_code control_get_org_policy(struct em_call *call);
enum em_code control_update_org_policy(struct em_call *call);
enum em_code control_delete_org_policy(struct em_call *call);
enum em_code control_list_org_policies(struct em_call *call);
enum em_code control_get_effective_org_policy(struct em_call *call);
enum em_code control_list_org_constraints(struct em_call *call);

struct control_child_view;

/* GET <url>/health of each service, concurrently (waiting up to wait_ms for a refused
 * connection to be accepted); healthy[i] says who answered. */
void control_probe_health(const struct control_child_view *views, size_t n, long wait_ms,
                          bool *healthy);

/* GET /: the status page (control_page.c). */
enum em_code control_status_page(struct em_call *call);

/* --- CMEK: key checks, faults, protected resources (control_cmek.c) --- */

extern const struct em_message control_faults_request;
enum em_code control_run_key_checks(struct em_call *call);
enum em_code control_get_faults(struct em_call *call);
enum em_code control_set_faults(struct em_call *call);
enum em_code control_list_protected_resources(struct em_call *call);

/* --- the customer's side of the simulated EKM (control_ekm.c) --- */

extern const struct em_message control_ekm_key_request, control_ekm_move_request;
enum em_code control_list_ekm_keys(struct em_call *call);
enum em_code control_create_ekm_key(struct em_call *call);
enum em_code control_disable_ekm_key(struct em_call *call);
enum em_code control_enable_ekm_key(struct em_call *call);
enum em_code control_destroy_ekm_key(struct em_call *call);
enum em_code control_move_ekm_key(struct em_call *call);

/* Key Access Justifications (control_kaj.c) */
extern const struct em_message control_kaj_access_request;
enum em_code control_simulate_key_access(struct em_call *call);

/* The route table (control_routes.c). */
extern const struct em_route control_routes[]; /* ends with a NULL entry */

#endif
