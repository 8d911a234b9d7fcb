/*
 * em_orgpolicy: organization policies (Organization Policy API v2) for the CMEK, Cloud KMS
 * and resource location constraints, and the checks services make before creating a
 * resource.
 *
 * Google offers two constraints to make CMEK the rule across an organization
 * (https://cloud.google.com/kms/docs/cmek-org-policy):
 *   gcp.restrictNonCmekServices      list of services (pubsub.googleapis.com, ...): a
 *                                    denied service refuses to create a resource without
 *                                    a customer-managed key;
 *   gcp.restrictCmekCryptoKeyProjects list of projects, folders or organizations
 *                                    (`under:` subtrees): a key from outside the allowed
 *                                    ones is refused.
 * Both apply to resources created afterwards, never to existing ones. And Cloud KMS's
 * own (https://cloud.google.com/kms/docs/org-policy-constraints,
 * https://cloud.google.com/kms/docs/control-key-destruction):
 *   cloudkms.allowedProtectionLevels list of SOFTWARE, HSM, EXTERNAL, EXTERNAL_VPC: new
 *                                    keys, versions (rotation included) and import jobs
 *                                    must use one of them;
 *   cloudkms.disableBeforeDestroy    boolean: a key version must be disabled before it
 *                                    can be scheduled for destruction;
 *   cloudkms.minimumDestroyScheduledDuration  list of durations in days ("in:30d", or
 *                                    "30d"), allowed values only: new keys' scheduled
 *                                    for destruction duration is at least the smallest.
 * And the data-residency one (https://cloud.google.com/resource-manager/docs/
 * organization-policy/defining-locations):
 *   gcp.resourceLocations            list of locations and value groups (in:eu-locations,
 *                                    em_location_groups.h): key rings, topics' storage
 *                                    regions, Spanner instances, Bigtable clusters and
 *                                    Dataflow jobs are created only in allowed ones.
 *
 * Policies live in metadata.db (table org_policies, migration module "orgpolicy"), keyed
 * by the resource they are set on ("projects/my-project" by project ID,
 * "folders/123", "organizations/456") and the constraint's short name. The control
 * plane serves the API that writes them; every service reads them here, in the same
 * database. A project's effective policy follows the hierarchy Resource Manager records
 * (em_iam_parent): the project, then its folder, the folders above it (those created
 * through Resource Manager record their parents) and the organization.
 *
 * Evaluation of a list constraint, as Google's: walking up from the project, each policy
 * with `inheritFromParent` adds its rules and goes on to the parent; one without it (or
 * with `reset`, which restores the default: everything allowed) ends the walk. Among the
 * rules gathered, `denyAll` or a denied value refuses; else `allowAll` or an allowed value
 * allows; a value no rule names is refused when some rule lists allowed values, and
 * allowed otherwise. A boolean constraint has one rule, `enforce`, and no inheritance: the
 * nearest policy up the hierarchy decides (`reset`: the default, not enforced). Rules with
 * a `condition` (tags) are refused at write: the emulator has no tags.
 */
#ifndef EM_ORGPOLICY_H
#define EM_ORGPOLICY_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;

#define EM_ORGPOLICY_NON_CMEK        "gcp.restrictNonCmekServices"
#define EM_ORGPOLICY_KEY_PROJECTS    "gcp.restrictCmekCryptoKeyProjects"
#define EM_ORGPOLICY_KMS_LEVELS      "cloudkms.allowedProtectionLevels"
#define EM_ORGPOLICY_KMS_DISABLE     "cloudkms.disableBeforeDestroy"
#define EM_ORGPOLICY_LOCATIONS       "gcp.resourceLocations"
#define EM_ORGPOLICY_KMS_MIN_DESTROY "cloudkms.minimumDestroyScheduledDuration"

#define EM_ORGPOLICY_MAX_VALUES 500  /* allowed plus denied values of one policy */
#define EM_ORGPOLICY_MAX_VALUE  1024 /* bytes of one value */
#define EM_ORGPOLICY_MAX_RULES  100  /* rules of one policy spec */

struct em_constraint {
    const char *name; /* short name: "gcp.restrictNonCmekServices" */
    const char *display_name;
    const char *description;
    bool supports_under;        /* values may be `under:` subtrees of the hierarchy */
    bool boolean;               /* a boolean constraint (rules `enforce`), not a list */
    const char *const *choices; /* NULL-terminated: the only values allowed; NULL: any */
    bool supports_groups;       /* values may be location value groups (in:), see
                                   em_location_groups.h */
    bool days;                  /* values are durations in days, "in:30d" or "30d", and
                                   only allowed ones */
};

/* The constraints the emulator knows, and one of them by short name (NULL: unknown). */
const struct em_constraint *em_orgpolicy_constraints(size_t *count);
const struct em_constraint *em_orgpolicy_constraint(const char *name);

enum em_code em_orgpolicy_open(struct em_store *store, struct em_status *st);

/* A policy as stored. spec_json and dry_run_json are the PolicySpec objects' texts
 * without their etag and updateTime (NULL: absent); they are the caller's to free
 * (em_orgpolicy_clear). */
struct em_orgpolicy {
    char resource[64];   /* "projects/my-project", "folders/123", "organizations/456" */
    char constraint[96]; /* short name */
    char *spec_json;
    char *dry_run_json;
    char etag[32];
    int64_t update_ns;
};

void em_orgpolicy_clear(struct em_orgpolicy *policy);

/* Deletes every policy (control plane reset). */
enum em_code em_orgpolicy_clear_all(struct em_store *store, struct em_status *st);

/* Checks a PolicySpec (already type-checked by em_schema) for constraint c: field names
 * the spec in messages ("spec", "dry_run_spec"). */
enum em_code em_orgpolicy_check_spec(const struct em_constraint *c, const cJSON *spec,
                                     const char *field, struct em_status *st);

/* Rewrites the values of spec as Google stores them: for a constraint with value groups,
 * a bare region or group name gains its "in:" form (em_location_value_normalize). */
void em_orgpolicy_normalize_spec(const struct em_constraint *c, cJSON *spec);

enum em_code em_orgpolicy_get(struct em_store *store, const char *resource, const char *constraint,
                              struct em_orgpolicy *out, struct em_status *st);

/* Writes policy (its etag and update time set here). create: ALREADY_EXISTS when one is
 * there; else NOT_FOUND when none is. if_etag (NULL or ""): none; else ABORTED when it is
 * not the stored policy's. */
enum em_code em_orgpolicy_put(struct em_store *store, struct em_orgpolicy *policy, bool create,
                              const char *if_etag, int64_t now_ns, struct em_status *st);

enum em_code em_orgpolicy_delete(struct em_store *store, const char *resource,
                                 const char *constraint, const char *if_etag, struct em_status *st);

/* Calls each(policy, arg) for every policy set on resource, by constraint name. */
enum em_code em_orgpolicy_list(struct em_store *store, const char *resource,
                               bool (*each)(const struct em_orgpolicy *policy, void *arg),
                               void *arg, struct em_status *st);

/* Calls each(policy, arg) for every policy stored, by resource and constraint. */
enum em_code em_orgpolicy_list_all(struct em_store *store,
                                   bool (*each)(const struct em_orgpolicy *policy, void *arg),
                                   void *arg, struct em_status *st);

/* The effective PolicySpec of constraint on resource: one rule summing up the rules
 * gathered up the hierarchy (none: the constraint's default). The caller deletes it. */
enum em_code em_orgpolicy_effective(struct em_store *store, const char *resource,
                                    const char *constraint, cJSON **spec, struct em_status *st);

/* The minimum a days constraint sets on resource: the smallest duration its effective
 * policy allows, in days (0: no minimum). */
enum em_code em_orgpolicy_min_days(struct em_store *store, const char *resource,
                                   const char *constraint, int *days, struct em_status *st);

/* Whether boolean constraint is enforced on resource (its nearest policy up the
 * hierarchy says so). */
enum em_code em_orgpolicy_enforced(struct em_store *store, const char *resource,
                                   const char *constraint, bool *enforced, struct em_status *st);

/* Google's FAILED_PRECONDITION for a violation: "Constraint constraints/<constraint>
 * violated for projects/<project_id> attempting to <action>. See ...". */
enum em_code em_orgpolicy_violation(const char *constraint, const char *project_id,
                                    const char *action, struct em_status *st);

/* Whether the effective policy of constraint on resource allows value; ancestry, when
 * not NULL, is the value's own hierarchy (for `under:` values): NULL-terminated names,
 * "projects/kp", then its parent. */
enum em_code em_orgpolicy_allows(struct em_store *store, const char *resource,
                                 const char *constraint, const char *value,
                                 const char *const *ancestry, bool *allowed, struct em_status *st);

/* The check a service makes before creating a resource in project project_id:
 *   no key (kms_key_name NULL or ""): FAILED_PRECONDITION when restrictNonCmekServices
 *     denies service ("pubsub.googleapis.com");
 *   a key: FAILED_PRECONDITION when restrictCmekCryptoKeyProjects does not allow the
 *     key's project (or its folder or organization).
 * what says what is created, for the message ("a topic"). */
enum em_code em_orgpolicy_check_cmek(struct em_store *store, const char *project_id,
                                     const char *service, const char *kms_key_name,
                                     const char *what, struct em_status *st);

/* The check before creating a resource in location ("us-east1", "us-east1-b", "us",
 * "global") in project project_id: FAILED_PRECONDITION, Google's "Constraint
 * constraints/gcp.resourceLocations violated for [orgpolicy:projects/<number>] attempting
 * to create <what> in [<location>]. ...", when gcp.resourceLocations does not allow it. */
enum em_code em_orgpolicy_check_location(struct em_store *store, const char *project_id,
                                         const char *location, const char *what,
                                         struct em_status *st);

#endif
