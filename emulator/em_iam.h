/*
 * em_iam: IAM policies and permission checks for every service.
 *
 * Policies (google.iam.v1.Policy JSON) are stored per resource name in table
 * iam_policies, owned by this module. A permission check walks the resource and its
 * ancestors, found by trimming trailing "collection/id" pairs:
 *
 *   projects/p/locations/l/keyRings/r/cryptoKeys/k  ->  .../keyRings/r  ->  projects/p
 *
 * and succeeds when any policy on the way binds the principal (or allUsers,
 * allAuthenticatedUsers, domain:) to a role that grants the permission. Roles are the
 * predefined ones in the table in em_iam.c; unknown roles grant nothing. Conditional
 * bindings are stored and returned but never grant (conditions are not evaluated).
 *
 * With EMULATOR_IAM=off every check passes (principals are still recorded in audit
 * logs). The default principal (no Authorization header) is treated as an owner of
 * every project, so an unauthenticated gcloud keeps working under `enforce`.
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

/* The principal a request acts as: the Bearer token when it names one
 * ("user:alice@example.com", "serviceAccount:...", or a bare e-mail), else the default. */
void em_iam_principal(const char *authorization, const char *default_principal, char *out,
                      size_t len);

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

/* Whether role (predefined) grants permission. */
bool em_iam_role_grants(const char *role, const char *permission);

/* Deletes every policy on prefix or under it (a resource and its children). */
enum em_code em_iam_delete_under(struct em_store *store, const char *prefix, struct em_status *st);

/* Deletes every stored policy (control plane reset). */
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
