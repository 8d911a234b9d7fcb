/*
 * control_orgpolicy: the Organization Policy API v2 (orgpolicy.googleapis.com) on the
 * control plane, for the CMEK constraints em_orgpolicy knows: policies on projects,
 * folders and organizations (create, get, update, delete, list, getEffectivePolicy) and
 * the constraints list. `gcloud org-policies` speaks it.
 *
 * A project is named by its ID or by its number (a number must be one the emulator has
 * seen: `gcloud projects describe` or any call naming the project shows it); policies
 * are answered under the number, as Google answers them. Folders and organizations are
 * numbers and exist as soon as they are named. The caller's permission is checked here,
 * on the resource the policy is set on, once a project number is resolved to its ID; a
 * deleted project's policies are refused before, as every service refuses its calls.
 */
#include "control.h"

#include "control_projects.h"
#include "em_api_state.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- schemas --- */

static const struct em_field string_values_fields[] = {
    {"allowedValues", EM_F_STRING, true},
    {"deniedValues", EM_F_STRING, true},
    {NULL},
};
static const struct em_message string_values = {
    "google.cloud.orgpolicy.v2.PolicySpec.PolicyRule.StringValues", string_values_fields};
static const struct em_field expr_fields[] = {
    {"expression", EM_F_STRING},
    {"title", EM_F_STRING},
    {"description", EM_F_STRING},
    {"location", EM_F_STRING},
    {NULL},
};
static const struct em_message expr = {"google.type.Expr", expr_fields};
static const struct em_field resource_types_fields[] = {{"included", EM_F_STRING, true}, {NULL}};
static const struct em_message resource_types = {
    "google.cloud.orgpolicy.v2.PolicySpec.PolicyRule.ResourceTypes", resource_types_fields};
static const struct em_field rule_fields[] = {
    {"values", EM_F_MESSAGE, false, &string_values},
    {"allowAll", EM_F_BOOL},
    {"denyAll", EM_F_BOOL},
    {"enforce", EM_F_BOOL},
    {"condition", EM_F_MESSAGE, false, &expr},
    {"parameters", EM_F_ANY},
    {"resourceTypes", EM_F_MESSAGE, false, &resource_types},
    {NULL},
};
static const struct em_message rule = {"google.cloud.orgpolicy.v2.PolicySpec.PolicyRule",
                                       rule_fields};
static const struct em_field spec_fields[] = {
    {"etag", EM_F_STRING},
    {"updateTime", EM_F_TIMESTAMP},
    {"rules", EM_F_MESSAGE, true, &rule},
    {"inheritFromParent", EM_F_BOOL},
    {"reset", EM_F_BOOL},
    {NULL},
};
static const struct em_message spec = {"google.cloud.orgpolicy.v2.PolicySpec", spec_fields};
static const struct em_field alternate_fields[] = {
    {"launch", EM_F_STRING},
    {"spec", EM_F_MESSAGE, false, &spec},
    {NULL},
};
static const struct em_message alternate = {"google.cloud.orgpolicy.v2.AlternatePolicySpec",
                                            alternate_fields};
static const struct em_field policy_fields[] = {
    {"name", EM_F_STRING},
    {"spec", EM_F_MESSAGE, false, &spec},
    {"dryRunSpec", EM_F_MESSAGE, false, &spec},
    {"alternate", EM_F_MESSAGE, false, &alternate},
    {"etag", EM_F_STRING},
    {NULL},
};
const struct em_message control_orgpolicy_policy = {"google.cloud.orgpolicy.v2.Policy",
                                                    policy_fields};

/* --- names --- */

/* The resource a policy is set on, as stored ("projects/<id>", "folders/<n>",
 * "organizations/<n>"), and as answered ("projects/<number>", ...). */
struct target {
    char stored[64];
    char answered[64];
};

static enum em_code project_target(struct em_store *store, const char *id_or_number,
                                   struct target *out, struct em_status *st)
{
    char id[32];
    struct control_project project; /* remembered, so its number names it from now on */
    if (control_project_resolve(store, id_or_number, id, st) ||
        control_project_get(store, id, &project, st))
        return st->code;
    control_project_clear(&project);
    snprintf(out->stored, sizeof(out->stored), "projects/%s", id);
    snprintf(out->answered, sizeof(out->answered), "projects/%lld",
             (long long)em_project_number(id));
    return EM_OK;
}

/* parent: "projects/x", "folders/n" or "organizations/n" (the router matched one). */
static enum em_code resolve_target(struct em_store *store, const char *parent, struct target *out,
                                   struct em_status *st)
{
    if (strncmp(parent, "projects/", 9) == 0)
        return project_target(store, parent + 9, out, st);
    const char *slash = strchr(parent, '/');
    if (!slash || !em_numeric_id(slash + 1))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid resource %.100s: folder and organization IDs are 1 to 20 digits.",
                       parent);
    snprintf(out->stored, sizeof(out->stored), "%s", parent);
    snprintf(out->answered, sizeof(out->answered), "%s", parent);
    return EM_OK;
}

/* Splits "<parent>/policies/<constraint>" (the router matched its shape). */
static void split_policy_name(const char *name, char *parent, size_t parent_len, char *constraint,
                              size_t constraint_len)
{
    const char *at = strstr(name, "/policies/");
    size_t n = at ? (size_t)(at - name) : strlen(name);
    snprintf(parent, parent_len, "%.*s", (int)n, name);
    snprintf(constraint, constraint_len, "%s", at ? at + 10 : "");
}

static enum em_code known_constraint(const char *constraint, enum em_code code,
                                     struct em_status *st)
{
    if (em_orgpolicy_constraint(constraint))
        return EM_OK;
    if (code == EM_NOT_FOUND)
        return EM_FAIL(st, EM_NOT_FOUND, "Requested entity was not found.");
    size_t count;
    const struct em_constraint *all = em_orgpolicy_constraints(&count);
    char known[512] = "";
    for (size_t i = 0; i < count; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%sconstraints/%s",
                 i == 0           ? ""
                 : i + 1 == count ? " and "
                                  : ", ",
                 all[i].name);
    return EM_FAIL(st, code,
                   "Constraint constraints/%.200s is not one the emulator enforces: it knows %s.",
                   constraint, known);
}

/* A deleted project's policies are refused as every service refuses a deleted project's
 * calls (403 CONSUMER_INVALID), before any permission is checked; then the permission. */
static enum em_code require(struct em_call *call, const struct target *t, const char *permission)
{
    if (strncmp(t->stored, "projects/", 9) == 0) {
        int64_t deleted;
        if (em_project_delete_time(call->svc->store, t->stored + 9, &deleted, &call->status))
            return call->status.code;
        if (deleted)
            return em_call_refuse_deleted_project(call, t->stored + 9, "orgpolicy.googleapis.com");
    }
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, t->stored,
                        permission, &call->status);
}

/* The call's policy name resolved: its target and constraint, checked and permitted. */
static enum em_code call_policy(struct em_call *call, const char *name, enum em_code unknown_code,
                                const char *permission, struct target *t, char *constraint,
                                size_t len)
{
    char parent[EM_RESOURCE_MAX];
    split_policy_name(name, parent, sizeof(parent), constraint, len);
    if (resolve_target(call->svc->store, parent, t, &call->status) ||
        require(call, t, permission) || known_constraint(constraint, unknown_code, &call->status))
        return call->status.code;
    return EM_OK;
}

/* --- JSON --- */

static void add_spec(cJSON *json, const char *field, const char *spec_json,
                     const struct em_orgpolicy *policy)
{
    cJSON *spec_obj = spec_json ? cJSON_Parse(spec_json) : NULL;
    if (!spec_obj)
        return;
    cJSON_AddStringToObject(spec_obj, "etag", policy->etag);
    em_json_add_time(spec_obj, "updateTime", policy->update_ns);
    cJSON_AddItemToObject(json, field, spec_obj);
}

static cJSON *policy_json(const struct em_orgpolicy *policy, const char *answered)
{
    cJSON *json = cJSON_CreateObject();
    char name[EM_RESOURCE_MAX];
    snprintf(name, sizeof(name), "%s/policies/%s", answered, policy->constraint);
    cJSON_AddStringToObject(json, "name", name);
    add_spec(json, "spec", policy->spec_json, policy);
    add_spec(json, "dryRunSpec", policy->dry_run_json, policy);
    cJSON_AddStringToObject(json, "etag", policy->etag);
    return json;
}

/* A spec from a request, without what the server sets, as stored text (NULL: absent). */
static enum em_code spec_text(const struct em_constraint *c, const cJSON *body, const char *field,
                              const char *proto_field, char **out, struct em_status *st)
{
    *out = NULL;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, field);
    if (!in)
        return EM_OK;
    cJSON *copy = cJSON_Duplicate(in, true);
    if (!copy)
        return EM_FAIL_OOM(st);
    em_orgpolicy_normalize_spec(c, copy);
    if (em_orgpolicy_check_spec(c, copy, proto_field, st)) {
        cJSON_Delete(copy);
        return st->code;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "etag");
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "updateTime");
    *out = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

/* Reads the specs of a Policy body into policy. */
static enum em_code read_specs(const cJSON *body, struct em_orgpolicy *policy, struct em_status *st)
{
    const struct em_constraint *c = em_orgpolicy_constraint(policy->constraint);
    if (cJSON_GetObjectItemCaseSensitive(body, "alternate"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "policy.alternate is deprecated and not supported: use dry_run_spec.");
    if (spec_text(c, body, "spec", "policy.spec", &policy->spec_json, st) ||
        spec_text(c, body, "dryRunSpec", "policy.dry_run_spec", &policy->dry_run_json, st))
        return st->code;
    return EM_OK;
}

/* The body's name must be the policy the path names (by ID or number). An update may
 * leave it out: its path is the policy's name (client libraries move it there). */
static enum em_code body_names(struct em_call *call, const struct target *t, const char *constraint,
                               bool required)
{
    const char *name = em_json_string(call->body, "name");
    if ((!name || !*name) && !required)
        return EM_OK;
    if (!name || !*name)
        return EM_FAIL(&call->status, EM_INVALID_ARGUMENT, "policy.name is required.");
    char parent[EM_RESOURCE_MAX], body_constraint[EM_RESOURCE_MAX];
    split_policy_name(name, parent, sizeof(parent), body_constraint, sizeof(body_constraint));
    struct target body_target;
    if (!strstr(name, "/policies/") ||
        resolve_target(call->svc->store, parent, &body_target, &call->status) ||
        strcmp(body_target.stored, t->stored) != 0 || strcmp(body_constraint, constraint) != 0) {
        em_status_clear(&call->status);
        return EM_FAIL(&call->status, EM_INVALID_ARGUMENT,
                       "policy.name %.200s does not name a policy of %s.", name, t->answered);
    }
    return EM_OK;
}

/* --- handlers --- */

enum em_code control_create_org_policy(struct em_call *call)
{
    struct target t;
    if (resolve_target(call->svc->store, em_call_var(call, "parent"), &t, &call->status) ||
        require(call, &t, "orgpolicy.policy.set"))
        return call->status.code;
    const char *name = em_json_string(call->body, "name");
    char parent[EM_RESOURCE_MAX];
    struct em_orgpolicy policy = {0};
    split_policy_name(name ? name : "", parent, sizeof(parent), policy.constraint,
                      sizeof(policy.constraint));
    if (body_names(call, &t, policy.constraint, true) ||
        known_constraint(policy.constraint, EM_INVALID_ARGUMENT, &call->status))
        return call->status.code;
    snprintf(policy.resource, sizeof(policy.resource), "%s", t.stored);
    if (read_specs(call->body, &policy, &call->status) ||
        em_orgpolicy_put(call->svc->store, &policy, true, NULL, em_clock_now(), &call->status)) {
        em_orgpolicy_clear(&policy);
        return call->status.code;
    }
    cJSON *reply = policy_json(&policy, t.answered);
    em_orgpolicy_clear(&policy);
    return em_call_reply(call, reply);
}

enum em_code control_get_org_policy(struct em_call *call)
{
    struct target t;
    char constraint[96];
    struct em_orgpolicy policy;
    if (call_policy(call, em_call_var(call, "name"), EM_NOT_FOUND, "orgpolicy.policy.get", &t,
                    constraint, sizeof(constraint)) ||
        em_orgpolicy_get(call->svc->store, t.stored, constraint, &policy, &call->status))
        return call->status.code;
    cJSON *reply = policy_json(&policy, t.answered);
    em_orgpolicy_clear(&policy);
    return em_call_reply(call, reply);
}

/* updateMask: "spec", "dry_run_spec" (or their JSON names); absent: both. */
static enum em_code read_mask(struct em_call *call, bool *spec_too, bool *dry_run_too)
{
    const char *mask = em_call_query(call, "updateMask");
    *spec_too = *dry_run_too = !mask || !*mask;
    if (!mask || !*mask)
        return EM_OK;
    char copy[256];
    if (strlen(mask) >= sizeof(copy))
        return EM_FAIL(&call->status, EM_INVALID_ARGUMENT, "Invalid update_mask: too long.");
    snprintf(copy, sizeof(copy), "%s", mask);
    for (char *save = NULL, *path = strtok_r(copy, ",", &save); path;
         path = strtok_r(NULL, ",", &save)) {
        if (strcmp(path, "spec") == 0 || strcmp(path, "policy.spec") == 0)
            *spec_too = true;
        else if (strcmp(path, "dry_run_spec") == 0 || strcmp(path, "dryRunSpec") == 0 ||
                 strcmp(path, "policy.dry_run_spec") == 0)
            *dry_run_too = true;
        else
            return EM_FAIL(&call->status, EM_INVALID_ARGUMENT,
                           "Invalid update_mask path \"%.100s\": a policy's fields to update "
                           "are spec and dry_run_spec.",
                           path);
    }
    return EM_OK;
}

/* Keeps what the mask leaves out of the update from the stored policy. */
static enum em_code keep_unmasked(struct em_store *store, struct em_orgpolicy *update,
                                  bool spec_too, bool dry_run_too, struct em_status *st)
{
    if (spec_too && dry_run_too)
        return EM_OK;
    struct em_orgpolicy stored;
    if (em_orgpolicy_get(store, update->resource, update->constraint, &stored, st))
        return st->code;
    if (!spec_too) {
        free(update->spec_json);
        update->spec_json = stored.spec_json;
        stored.spec_json = NULL;
    }
    if (!dry_run_too) {
        free(update->dry_run_json);
        update->dry_run_json = stored.dry_run_json;
        stored.dry_run_json = NULL;
    }
    em_orgpolicy_clear(&stored);
    return EM_OK;
}

enum em_code control_update_org_policy(struct em_call *call)
{
    struct target t;
    struct em_orgpolicy policy = {0};
    bool spec_too, dry_run_too;
    if (call_policy(call, em_call_var(call, "name"), EM_INVALID_ARGUMENT, "orgpolicy.policy.set",
                    &t, policy.constraint, sizeof(policy.constraint)) ||
        body_names(call, &t, policy.constraint, false) || read_mask(call, &spec_too, &dry_run_too))
        return call->status.code;
    snprintf(policy.resource, sizeof(policy.resource), "%s", t.stored);
    /* the policy's etag, or (what older clients send) its spec's: both are the policy's */
    const char *etag = em_json_string(call->body, "etag");
    if (!etag || !*etag)
        etag = em_json_string(cJSON_GetObjectItemCaseSensitive(call->body, "spec"), "etag");
    if (read_specs(call->body, &policy, &call->status) ||
        keep_unmasked(call->svc->store, &policy, spec_too, dry_run_too, &call->status) ||
        em_orgpolicy_put(call->svc->store, &policy, false, etag, em_clock_now(), &call->status)) {
        em_orgpolicy_clear(&policy);
        return call->status.code;
    }
    cJSON *reply = policy_json(&policy, t.answered);
    em_orgpolicy_clear(&policy);
    return em_call_reply(call, reply);
}

enum em_code control_delete_org_policy(struct em_call *call)
{
    struct target t;
    char constraint[96];
    if (call_policy(call, em_call_var(call, "name"), EM_NOT_FOUND, "orgpolicy.policy.set", &t,
                    constraint, sizeof(constraint)) ||
        em_orgpolicy_delete(call->svc->store, t.stored, constraint, em_call_query(call, "etag"),
                            &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

struct list_ctx {
    cJSON *items;
    const char *answered;
};

static bool add_policy(const struct em_orgpolicy *policy, void *arg)
{
    struct list_ctx *ctx = arg;
    cJSON_AddItemToArray(ctx->items, policy_json(policy, ctx->answered));
    return true;
}

enum em_code control_list_org_policies(struct em_call *call)
{
    struct target t;
    if (resolve_target(call->svc->store, em_call_var(call, "parent"), &t, &call->status) ||
        require(call, &t, "orgpolicy.policies.list"))
        return call->status.code;
    struct list_ctx ctx = {cJSON_CreateArray(), t.answered};
    if (em_orgpolicy_list(call->svc->store, t.stored, add_policy, &ctx, &call->status)) {
        cJSON_Delete(ctx.items);
        return call->status.code;
    }
    cJSON *reply = cJSON_CreateObject();
    if (cJSON_GetArraySize(ctx.items) > 0)
        cJSON_AddItemToObject(reply, "policies", ctx.items);
    else
        cJSON_Delete(ctx.items);
    return em_call_reply(call, reply);
}

enum em_code control_get_effective_org_policy(struct em_call *call)
{
    struct target t;
    char constraint[96];
    cJSON *effective;
    if (call_policy(call, em_call_var(call, "name"), EM_INVALID_ARGUMENT, "orgpolicy.policy.get",
                    &t, constraint, sizeof(constraint)) ||
        em_orgpolicy_effective(call->svc->store, t.stored, constraint, &effective, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    char name[EM_RESOURCE_MAX];
    snprintf(name, sizeof(name), "%s/policies/%s", t.answered, constraint);
    cJSON_AddStringToObject(reply, "name", name);
    cJSON_AddItemToObject(reply, "spec", effective);
    return em_call_reply(call, reply);
}

static cJSON *constraint_json(const struct em_constraint *c, const char *answered)
{
    cJSON *json = cJSON_CreateObject();
    char name[EM_RESOURCE_MAX];
    snprintf(name, sizeof(name), "%s/constraints/%s", answered, c->name);
    cJSON_AddStringToObject(json, "name", name);
    cJSON_AddStringToObject(json, "displayName", c->display_name);
    cJSON_AddStringToObject(json, "description", c->description);
    cJSON_AddStringToObject(json, "constraintDefault", "ALLOW");
    if (c->boolean) {
        cJSON_AddObjectToObject(json, "booleanConstraint");
        return json;
    }
    cJSON *list = cJSON_AddObjectToObject(json, "listConstraint");
    if (c->supports_groups)
        cJSON_AddTrueToObject(list, "supportsIn");
    if (c->supports_under)
        cJSON_AddTrueToObject(list, "supportsUnder");
    return json;
}

enum em_code control_list_org_constraints(struct em_call *call)
{
    struct target t;
    if (resolve_target(call->svc->store, em_call_var(call, "parent"), &t, &call->status) ||
        require(call, &t, "orgpolicy.constraints.list"))
        return call->status.code;
    size_t count;
    const struct em_constraint *all = em_orgpolicy_constraints(&count);
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < count; i++)
        cJSON_AddItemToArray(items, constraint_json(&all[i], t.answered));
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "constraints", items);
    return em_call_reply(call, reply);
}
