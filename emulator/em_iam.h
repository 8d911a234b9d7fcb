/*
 * em_iam: IAM policies and permission checks for every service.
 *
 * Policies (google.iam.v1.Policy JSON) are stored per resource name in table
 * iam_policies, owned by this module. A permission check walks the resource and its
 * ancestors, found by trimming trailing "collection/id" pairs:
 *
 *   projects/p/locations/l/keyRings/r/cryptoKeys/k  ->  .../keyRings/r  ->  projects/p
 *
 * then up the resource hierarchy Resource Manager records (em_iam_set_parent, table
 * iam_parents): projects/p -> folders/f (or organizations/o), and succeeds when any
 * policy on the way binds the principal (or allUsers, allAuthenticatedUsers, domain:) to a
 * role that grants the permission. Roles are the predefined ones: the basic roles (owner,
 * editor, viewer) in em_iam.c and each service's in its descriptor (em_descriptor.h);
 * unknown roles grant nothing. A conditional binding grants only when its CEL expression
 * (em_cel.h) holds for the resource checked at the emulator's time; one the emulator
 * cannot evaluate grants nothing.
 *
 * With EMULATOR_IAM=off every check passes (principals are still recorded in audit
 * logs), and a request without a token acts as the default principal. Under enforce a
 * request without a token is anonymous (only allUsers bindings apply), and the default
 * principal, named in a token like anyone else, owns every project (the bootstrap
 * owner: someone must be able to grant the first roles).
 */
#ifndef EM_IAM_H
#define EM_IAM_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct em_store;
struct em_config;
struct em_call;

enum em_code em_iam_open(struct em_store *store, struct em_status *st);

/* The principal of a request without a token under --iam enforce: it has only what
 * allUsers is granted. */
#define EM_IAM_ANONYMOUS "anonymous"

/* Who a request acts as, from its Authorization header (the one place this is decided):
 *
 *   no header                 the default principal with IAM off; EM_IAM_ANONYMOUS
 *                             under enforce
 *   Bearer user:<e-mail>      that principal (also serviceAccount: and group:); a bare
 *                             e-mail is user:, or serviceAccount: for *.gserviceaccount.com
 *   Bearer <service agent>    only with the internal credential (internal is true)
 *   anything else             UNAUTHENTICATED (401) in Google's words, in both IAM modes:
 *                             "Bearer garbage", "Bearer user:alice", "Bearer ", "Basic ...",
 *                             "Bearer allUsers", "Bearer domain:example.com", OIDC tokens
 *
 * out always holds a principal (EM_IAM_ANONYMOUS on failure). cfg NULL: IAM off with an
 * anonymous default. */
enum em_code em_iam_authenticate(const char *authorization, bool internal,
                                 const struct em_config *cfg, char *out, size_t len,
                                 struct em_status *st);

/* Whether principal ("serviceAccount:...") is a Google-managed service agent, for which
 * no user can get a token: service-N@gcp-sa-*.iam.gserviceaccount.com, every
 * descriptor's agent (service-N@dataflow-service-producer-prod...),
 * N@cloudservices.gserviceaccount.com, ...
 * (The compute default service account, N-compute@developer.gserviceaccount.com, is not
 * one: users may act as it.) */
bool em_iam_is_service_agent(const char *principal);

/* The principal of a service agent of project: "serviceAccount:service-<project
 * number>@<agent_domain>.iam.gserviceaccount.com" (agent_domain: "gcp-sa-pubsub"). */
void em_iam_service_agent(const char *project, const char *agent_domain, char *out, size_t len);

/* Whether text (len bytes) looks like an e-mail address: local@label.label... */
bool em_iam_plausible_email(const char *text, size_t len);

/* The stored policy of resource, or an empty one ({"version":1,"etag":"ACAB"}). */
enum em_code em_iam_get_policy(struct em_store *store, const char *resource, cJSON **policy,
                               struct em_status *st);

/* Validates and stores policy (a google.iam.v1.Policy). A policy etag that differs from
 * the stored one fails with ABORTED, as in Google. Returns the stored policy. */
enum em_code em_iam_set_policy(struct em_store *store, const char *resource, const cJSON *policy,
                               cJSON **stored, struct em_status *st);

/* Whether principal holds permission on resource or an ancestor (always true when IAM is
 * off). Fails with PERMISSION_DENIED in Google's words otherwise. */
enum em_code em_iam_check(struct em_store *store, const struct em_config *cfg,
                          const char *principal, const char *resource, const char *permission,
                          struct em_status *st);

/* Whether role (a basic role or one of a service descriptor's) grants permission. */
bool em_iam_role_grants(const char *role, const char *permission);

/* Deletes every policy on prefix or under it (a resource and its children). */
enum em_code em_iam_delete_under(struct em_store *store, const char *prefix, struct em_status *st);

/* Records where a resource sits in the resource hierarchy ("projects/p" in "folders/f" or
 * "organizations/o"; parent NULL or "": nowhere), so that bindings on the parent grant on
 * it and everything under it. Resource Manager calls it when a project moves. */
/* Copies the recorded parent of resource into parent; false when it has none (or on
 * error: st set). */
bool em_iam_parent(struct em_store *store, const char *resource, char *parent, size_t len,
                   struct em_status *st);

enum em_code em_iam_set_parent(struct em_store *store, const char *resource, const char *parent,
                               struct em_status *st);

/* Deletes every stored policy and the hierarchy (control plane reset). */
enum em_code em_iam_clear(struct em_store *store, struct em_status *st);

/* Generic handlers for :getIamPolicy, :setIamPolicy and :testIamPermissions on the
 * call's resource, for route tables. They first ask the service whether the resource
 * exists (em_service_def.iam_resource_check). */
enum em_code em_iam_handle_get(struct em_call *call);
enum em_code em_iam_handle_set(struct em_call *call);
enum em_code em_iam_handle_test(struct em_call *call);

/* Request schemas of the three IAM methods, for route tables. */
extern const struct em_message em_iam_get_request;
extern const struct em_message em_iam_set_request;
extern const struct em_message em_iam_test_request;
/* google.iam.v1.Policy, the reply of getIamPolicy and setIamPolicy. */
extern const struct em_message em_iam_policy;

#endif
