/*
 * kms_orgpolicy: Cloud KMS's own organization policy constraints (em_orgpolicy.h), read
 * from the policies the control plane stores:
 *   cloudkms.allowedProtectionLevels  new keys, key versions, rotations and import jobs
 *                                     must use an allowed protection level;
 *   cloudkms.disableBeforeDestroy     only a DISABLED version may be scheduled for
 *                                     destruction;
 *   cloudkms.minimumDestroyScheduledDuration  new keys wait at least that long between
 *                                     scheduling a destruction and doing it;
 * and the resource locations constraint (gcp.resourceLocations) for new key rings, keys,
 * key versions (rotations and imports included) and import jobs.
 * Both are evaluated on the project a resource name starts with.
 */
#include "kms_registry.h"

#include "em_json.h"
#include "em_names.h"
#include "em_orgpolicy.h"

#include <stdio.h>

enum em_code kms_policy_check_level(struct em_store *store, const char *name,
                                    enum kms_protection level, const char *what,
                                    struct em_status *st)
{
    char project[64], resource[80];
    if (!em_name_id(name, "projects", project, sizeof(project)))
        return EM_OK; /* the name was checked before; nothing to evaluate */
    snprintf(resource, sizeof(resource), "projects/%s", project);
    bool allowed;
    if (em_orgpolicy_allows(store, resource, EM_ORGPOLICY_KMS_LEVELS, kms_protection_name(level),
                            NULL, &allowed, st))
        return st->code;
    if (allowed)
        return EM_OK;
    char action[128];
    snprintf(action, sizeof(action), "create %s with protection level %s", what,
             kms_protection_name(level));
    return em_orgpolicy_violation(EM_ORGPOLICY_KMS_LEVELS, project, action, st);
}

enum em_code kms_policy_check_destroy(struct em_store *store, const char *version_name,
                                      enum kms_state state, struct em_status *st)
{
    char project[64], resource[80];
    if (state != KMS_ENABLED || !em_name_id(version_name, "projects", project, sizeof(project)))
        return EM_OK;
    snprintf(resource, sizeof(resource), "projects/%s", project);
    bool enforced;
    if (em_orgpolicy_enforced(store, resource, EM_ORGPOLICY_KMS_DISABLE, &enforced, st))
        return st->code;
    if (!enforced)
        return EM_OK;
    char action[640];
    snprintf(action, sizeof(action),
             "destroy %.500s, which is ENABLED: disable the key version before destroying it",
             version_name);
    return em_orgpolicy_violation(EM_ORGPOLICY_KMS_DISABLE, project, action, st);
}

enum em_code kms_policy_check_location(struct em_store *store, const char *name, const char *what,
                                       struct em_status *st)
{
    char project[64], location[64];
    if (!em_name_id(name, "projects", project, sizeof(project)) ||
        !em_name_id(name, "locations", location, sizeof(location)))
        return EM_OK; /* the name was checked before; nothing to evaluate */
    return em_orgpolicy_check_location(store, project, location, what, st);
}

enum em_code kms_policy_destroy_duration(struct em_store *store, const char *key_name,
                                         int64_t requested_ns, int64_t *ns, struct em_status *st)
{
    char project[64], resource[80];
    if (!em_name_id(key_name, "projects", project, sizeof(project)))
        return EM_OK;
    snprintf(resource, sizeof(resource), "projects/%s", project);
    int days;
    if (em_orgpolicy_min_days(store, resource, EM_ORGPOLICY_KMS_MIN_DESTROY, &days, st))
        return st->code;
    int64_t minimum = days * 86400LL * EM_NS_PER_SEC;
    if (!requested_ns) {
        if (*ns < minimum)
            *ns = minimum;
        return EM_OK;
    }
    if (requested_ns >= minimum)
        return EM_OK;
    char action[640];
    snprintf(action, sizeof(action),
             "create %.500s with destroy_scheduled_duration %llds, shorter than the minimum of "
             "%d days",
             key_name, (long long)(requested_ns / EM_NS_PER_SEC), days);
    return em_orgpolicy_violation(EM_ORGPOLICY_KMS_MIN_DESTROY, project, action, st);
}
