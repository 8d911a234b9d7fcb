/*
 * em_orgpolicy: organization policies for the constraints the emulator enforces: storage,
 * validation, evaluation up the hierarchy, and the check services make (see em_orgpolicy.h).
 */
#include "em_orgpolicy.h"

#include "em_crypto.h"
#include "em_iam.h"
#include "em_location_groups.h"
#include "em_names.h"
#include "em_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the constraints --- */

static const char *const protection_levels[] = {"SOFTWARE", "HSM", "EXTERNAL", "EXTERNAL_VPC",
                                                NULL};

static const struct em_constraint constraints[] = {
    {EM_ORGPOLICY_KMS_LEVELS, "Restrict which KMS CryptoKey types may be created",
     "This list constraint defines the Cloud KMS key types (protection levels) which may be "
     "created under a given hierarchy node: SOFTWARE, HSM, EXTERNAL, EXTERNAL_VPC. New keys, "
     "key versions (rotation included) and import jobs must use an allowed one.",
     false, false, protection_levels},
    {EM_ORGPOLICY_KMS_DISABLE, "Restrict key destruction to disabled CryptoKeyVersions",
     "When enforced, this boolean constraint only allows the destruction of key versions that "
     "are in the disabled state.",
     false, true, NULL},
    {EM_ORGPOLICY_KEY_PROJECTS, "Restrict which projects may supply KMS CryptoKeys for CMEK",
     "This list constraint defines which projects may be used to supply Customer-Managed "
     "Encryption Keys (CMEK) when creating resources. Setting this constraint to Allow (i.e. "
     "only allow CMEK keys from these projects) ensures that CMEK keys from other projects "
     "cannot be used to protect newly created resources. Values are projects, folders or "
     "organizations in the form under:projects/PROJECT_ID, under:folders/FOLDER_ID or "
     "under:organizations/ORGANIZATION_ID.",
     true},
    {EM_ORGPOLICY_NON_CMEK, "Restrict which services may create resources without CMEK",
     "This list constraint defines the set of services that require Customer-Managed "
     "Encryption Keys (CMEK). Setting this constraint to Deny (i.e. deny resource creation "
     "without CMEK) requires that, for the specified services, newly created resources "
     "must be protected by a CMEK key. Values are service names such as "
     "pubsub.googleapis.com.",
     false},
    {EM_ORGPOLICY_KMS_MIN_DESTROY, "Minimum destroy scheduled duration per key",
     "This list constraint sets the minimum scheduled for destruction duration, in days, of "
     "new keys: an allowed value in:Nd (or Nd), N from 1 to 120, e.g. in:30d. A key created "
     "with a shorter destroy_scheduled_duration is refused; a key created without one gets "
     "at least the minimum.",
     false, false, NULL, false, true},
    {EM_ORGPOLICY_LOCATIONS, "Google Cloud Platform - Resource Location Restriction",
     "This list constraint defines the set of locations where location-based resources can "
     "be created: multi-regions (us, europe), regions (us-east1), zones (us-east1-b), or "
     "value groups written in:GROUP (in:us-locations, in:eu-locations, "
     "in:europe-west1-locations). A bare region or group name is stored as its value group. "
     "Key rings, Pub/Sub topics' message storage regions, Spanner instances, Bigtable "
     "clusters and Dataflow jobs are checked when they are created.",
     false, false, NULL, true},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool is_choice(const struct em_constraint *c, const char *value)
{
    if (strncmp(value, "is:", 3) == 0)
        value += 3;
    for (const char *const *choice = c->choices; *choice; choice++)
        if (strcmp(*choice, value) == 0)
            return true;
    return false;
}

const struct em_constraint *em_orgpolicy_constraints(size_t *count)
{
    *count = COUNT(constraints);
    return constraints;
}

const struct em_constraint *em_orgpolicy_constraint(const char *name)
{
    for (size_t i = 0; i < COUNT(constraints); i++)
        if (strcmp(constraints[i].name, name) == 0)
            return &constraints[i];
    return NULL;
}

/* --- storage --- */

static const char *const migrations[] = {
    "CREATE TABLE org_policies ("
    " resource TEXT NOT NULL,"
    " constraint_name TEXT NOT NULL,"
    " spec TEXT,"
    " dry_run_spec TEXT,"
    " etag TEXT NOT NULL,"
    " update_ns INTEGER NOT NULL,"
    " PRIMARY KEY (resource, constraint_name));",
};

enum em_code em_orgpolicy_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "orgpolicy", migrations, (int)COUNT(migrations), st);
}

void em_orgpolicy_clear(struct em_orgpolicy *policy)
{
    free(policy->spec_json);
    free(policy->dry_run_json);
    policy->spec_json = policy->dry_run_json = NULL;
}

enum em_code em_orgpolicy_clear_all(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM org_policies", st);
}

static char *column_copy(sqlite3_stmt *stmt, int col)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return NULL;
    return strdup(em_column_text(stmt, col));
}

static enum em_code read_policy(sqlite3_stmt *row, struct em_orgpolicy *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->resource, sizeof(out->resource), "%s", em_column_text(row, 0));
    snprintf(out->constraint, sizeof(out->constraint), "%s", em_column_text(row, 1));
    out->spec_json = column_copy(row, 2);
    out->dry_run_json = column_copy(row, 3);
    snprintf(out->etag, sizeof(out->etag), "%s", em_column_text(row, 4));
    out->update_ns = sqlite3_column_int64(row, 5);
    if ((sqlite3_column_type(row, 2) != SQLITE_NULL && !out->spec_json) ||
        (sqlite3_column_type(row, 3) != SQLITE_NULL && !out->dry_run_json)) {
        em_orgpolicy_clear(out);
        return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

#define SELECT_POLICY                                                                              \
    "SELECT resource, constraint_name, spec, dry_run_spec, etag, update_ns FROM org_policies"

/* Reads the policy of constraint on resource into out; *found false when there is none. */
static enum em_code find_policy(struct em_store *store, const char *resource,
                                const char *constraint, struct em_orgpolicy *out, bool *found,
                                struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, SELECT_POLICY " WHERE resource = ? AND constraint_name = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, resource);
    em_bind_text(stmt, 2, constraint);
    int rc = sqlite3_step(stmt);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW && read_policy(stmt, out, st)) {
        em_stmt_done(stmt);
        return st->code;
    }
    return em_stmt_end(stmt, rc, st);
}

enum em_code em_orgpolicy_get(struct em_store *store, const char *resource, const char *constraint,
                              struct em_orgpolicy *out, struct em_status *st)
{
    bool found;
    if (find_policy(store, resource, constraint, out, &found, st))
        return st->code;
    if (!found)
        return EM_FAIL(st, EM_NOT_FOUND, "Requested entity was not found.");
    return EM_OK;
}

static enum em_code new_etag(char out[32], struct em_status *st)
{
    unsigned char bytes[8];
    if (em_random_bytes(bytes, sizeof(bytes), st))
        return st->code;
    for (size_t i = 0; i < sizeof(bytes); i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return EM_OK;
}

static enum em_code etag_matches(const char *if_etag, const struct em_orgpolicy *stored,
                                 struct em_status *st)
{
    if (if_etag && *if_etag && strcmp(if_etag, stored->etag) != 0)
        return EM_FAIL(st, EM_ABORTED,
                       "The etag in the request does not match the policy's current etag: "
                       "the policy changed since it was read.");
    return EM_OK;
}

static enum em_code write_policy(struct em_store *store, const struct em_orgpolicy *policy,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        "INSERT OR REPLACE INTO org_policies(resource, constraint_name, spec, dry_run_spec,"
        " etag, update_ns) VALUES (?, ?, ?, ?, ?, ?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, policy->resource);
    em_bind_text(stmt, 2, policy->constraint);
    em_bind_text(stmt, 3, policy->spec_json);
    em_bind_text(stmt, 4, policy->dry_run_json);
    em_bind_text(stmt, 5, policy->etag);
    sqlite3_bind_int64(stmt, 6, policy->update_ns);
    return em_stmt_run(stmt, st);
}

static enum em_code put_checked(struct em_store *store, struct em_orgpolicy *policy, bool create,
                                const char *if_etag, int64_t now_ns, struct em_status *st)
{
    struct em_orgpolicy stored;
    bool found;
    if (find_policy(store, policy->resource, policy->constraint, &stored, &found, st))
        return st->code;
    enum em_code code = EM_OK;
    if (create && found)
        code = EM_FAIL(st, EM_ALREADY_EXISTS, "Policy already exists on %s for constraint %s.",
                       policy->resource, policy->constraint);
    else if (!create && !found)
        code = EM_FAIL(st, EM_NOT_FOUND, "Requested entity was not found.");
    else if (found)
        code = etag_matches(if_etag, &stored, st);
    if (found)
        em_orgpolicy_clear(&stored);
    if (code || new_etag(policy->etag, st))
        return st->code;
    policy->update_ns = now_ns;
    return write_policy(store, policy, st);
}

enum em_code em_orgpolicy_put(struct em_store *store, struct em_orgpolicy *policy, bool create,
                              const char *if_etag, int64_t now_ns, struct em_status *st)
{
    if (em_store_begin(store, st))
        return st->code;
    if (put_checked(store, policy, create, if_etag, now_ns, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

static enum em_code delete_checked(struct em_store *store, const char *resource,
                                   const char *constraint, const char *if_etag,
                                   struct em_status *st)
{
    struct em_orgpolicy stored;
    if (em_orgpolicy_get(store, resource, constraint, &stored, st))
        return st->code;
    enum em_code code = etag_matches(if_etag, &stored, st);
    em_orgpolicy_clear(&stored);
    if (code)
        return code;
    return em_store_run_text(store,
                             "DELETE FROM org_policies WHERE resource = ? AND constraint_name = ?",
                             resource, constraint, NULL, NULL, st);
}

enum em_code em_orgpolicy_delete(struct em_store *store, const char *resource,
                                 const char *constraint, const char *if_etag, struct em_status *st)
{
    if (em_store_begin(store, st))
        return st->code;
    if (delete_checked(store, resource, constraint, if_etag, st)) {
        em_store_rollback(store);
        return st->code;
    }
    return em_store_commit(store, st);
}

struct list_ctx {
    bool (*each)(const struct em_orgpolicy *policy, void *arg);
    void *arg;
};

static enum em_code list_row(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct list_ctx *ctx = arg;
    struct em_orgpolicy policy;
    if (read_policy(row, &policy, st))
        return st->code;
    ctx->each(&policy, ctx->arg);
    em_orgpolicy_clear(&policy);
    return EM_OK;
}

enum em_code em_orgpolicy_list(struct em_store *store, const char *resource,
                               bool (*each)(const struct em_orgpolicy *policy, void *arg),
                               void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, SELECT_POLICY " WHERE resource = ? ORDER BY constraint_name", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, resource);
    struct list_ctx ctx = {each, arg};
    return em_stmt_each_row(stmt, list_row, &ctx, st);
}

enum em_code em_orgpolicy_list_all(struct em_store *store,
                                   bool (*each)(const struct em_orgpolicy *policy, void *arg),
                                   void *arg, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, SELECT_POLICY " ORDER BY resource, constraint_name", st);
    if (!stmt)
        return st->code;
    struct list_ctx ctx = {each, arg};
    return em_stmt_each_row(stmt, list_row, &ctx, st);
}

/* --- validation --- */

static bool has_no_control_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20)
            return false;
    return true;
}

/* "under:projects/p", "under:folders/1", "under:organizations/2" */
static bool valid_subtree(const char *value)
{
    char id[64];
    if (strncmp(value, "projects/", 9) == 0)
        return em_project_check(value + 9, NULL) == EM_OK;
    if (em_name_id(value, "folders", id, sizeof(id)) && strchr(value + 8, '/') == NULL)
        return strncmp(value, "folders/", 8) == 0 && em_numeric_id(id);
    if (em_name_id(value, "organizations", id, sizeof(id)) && strchr(value + 14, '/') == NULL)
        return strncmp(value, "organizations/", 14) == 0 && em_numeric_id(id);
    return false;
}

/* The days of a duration value, "in:30d" or "30d" (1 to 120); 0 when it is not one. */
static int days_of(const char *value)
{
    if (strncmp(value, "in:", 3) == 0)
        value += 3;
    int days = 0;
    const char *p = value;
    for (; *p >= '0' && *p <= '9' && p - value < 3; p++)
        days = days * 10 + (*p - '0');
    bool ok = p > value && *value != '0' && p[0] == 'd' && p[1] == '\0';
    return ok && days >= 1 && days <= 120 ? days : 0;
}

static enum em_code check_value(const struct em_constraint *c, const char *value, const char *field,
                                struct em_status *st)
{
    if (!*value || strlen(value) > EM_ORGPOLICY_MAX_VALUE || !has_no_control_char(value))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value in %s: values are 1 to %d characters, without control "
                       "characters.",
                       field, EM_ORGPOLICY_MAX_VALUE);
    if (c->days) {
        if (days_of(value))
            return EM_OK;
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: constraints/%s takes a duration in days, "
                       "in:Nd with N from 1 to 120 (in:30d).",
                       value, field, c->name);
    }
    if (strncmp(value, "in:", 3) == 0 && c->supports_groups) {
        if (em_location_group_known(value + 3))
            return EM_OK;
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: not a value group. The groups are "
                       "in:<region>-locations (in:us-east1-locations) and in:us-locations, "
                       "in:europe-locations, in:eu-locations, in:asia-locations, "
                       "in:northamerica-locations, in:southamerica-locations, "
                       "in:australia-locations.",
                       value, field);
    }
    if (strncmp(value, "in:", 3) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: constraints/%s does not support value "
                       "groups (in:).",
                       value, field, c->name);
    if (c->choices && !is_choice(c, value))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: constraints/%s takes one of SOFTWARE, HSM, "
                       "EXTERNAL, EXTERNAL_VPC.",
                       value, field, c->name);
    if (strncmp(value, "under:", 6) != 0)
        return EM_OK;
    if (!c->supports_under)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: constraints/%s does not support "
                       "hierarchy subtrees (under:).",
                       value, field, c->name);
    if (!valid_subtree(value + 6))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value \"%.100s\" in %s: a subtree is under:projects/PROJECT_ID, "
                       "under:folders/FOLDER_ID or under:organizations/ORGANIZATION_ID.",
                       value, field);
    return EM_OK;
}

static enum em_code check_values(const struct em_constraint *c, const cJSON *list,
                                 const char *field, int *count, struct em_status *st)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (++*count > EM_ORGPOLICY_MAX_VALUES)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Too many values in %s: a policy has at most %d values.", field,
                           EM_ORGPOLICY_MAX_VALUES);
        if (check_value(c, item->valuestring, field, st))
            return st->code;
    }
    return EM_OK;
}

static bool rule_flag(const cJSON *rule, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rule, name));
}

/* A boolean constraint's rule: `enforce`, nothing else. */
static enum em_code check_boolean_rule(const struct em_constraint *c, const cJSON *rule,
                                       const char *field, struct em_status *st)
{
    if (cJSON_GetObjectItemCaseSensitive(rule, "values") ||
        cJSON_GetObjectItemCaseSensitive(rule, "allowAll") ||
        cJSON_GetObjectItemCaseSensitive(rule, "denyAll"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: values, allow_all and deny_all are for list "
                       "constraints; constraints/%s is a boolean constraint (set enforce).",
                       field, c->name);
    if (!cJSON_GetObjectItemCaseSensitive(rule, "enforce"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: a rule of boolean constraint constraints/%s sets "
                       "enforce.",
                       field, c->name);
    return EM_OK;
}

static enum em_code check_rule(const struct em_constraint *c, const cJSON *rule, const char *field,
                               int *count, struct em_status *st)
{
    if (cJSON_GetObjectItemCaseSensitive(rule, "condition"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: conditions match tags, which the emulator does not "
                       "have; write the rule without a condition.",
                       field);
    if (cJSON_GetObjectItemCaseSensitive(rule, "parameters") ||
        cJSON_GetObjectItemCaseSensitive(rule, "resourceTypes"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: parameters and resource types are for managed "
                       "constraints; constraints/%s is not one.",
                       field, c->name);
    if (c->boolean)
        return check_boolean_rule(c, rule, field, st);
    if (cJSON_GetObjectItemCaseSensitive(rule, "enforce"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: enforce is for boolean constraints; constraints/%s is "
                       "a list constraint.",
                       field, c->name);
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(rule, "values");
    int kinds = (values != NULL) + rule_flag(rule, "allowAll") + rule_flag(rule, "denyAll");
    if (kinds != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: each rule sets exactly one of values, allow_all and "
                       "deny_all.",
                       field);
    if (c->days && (rule_flag(rule, "denyAll") ||
                    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(values, "deniedValues"))))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s.rules: constraints/%s sets a minimum through allowed values "
                       "(in:30d); it has no denied values.",
                       field, c->name);
    if (!values)
        return EM_OK;
    char where[64];
    snprintf(where, sizeof(where), "%s.rules.values", field);
    if (check_values(c, cJSON_GetObjectItemCaseSensitive(values, "allowedValues"), where, count,
                     st) ||
        check_values(c, cJSON_GetObjectItemCaseSensitive(values, "deniedValues"), where, count, st))
        return st->code;
    return EM_OK;
}

enum em_code em_orgpolicy_check_spec(const struct em_constraint *c, const cJSON *spec,
                                     const char *field, struct em_status *st)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(spec, "rules");
    if (rule_flag(spec, "reset") &&
        (cJSON_GetArraySize(rules) > 0 || rule_flag(spec, "inheritFromParent")))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s: a policy with reset has no rules and does not inherit from "
                       "its parent.",
                       field);
    if (c->boolean && rule_flag(spec, "inheritFromParent"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s: inherit_from_parent is for list constraints; constraints/%s "
                       "is a boolean constraint.",
                       field, c->name);
    if (c->boolean && !rule_flag(spec, "reset") && cJSON_GetArraySize(rules) != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s: a policy of boolean constraint constraints/%s has exactly one "
                       "rule.",
                       field, c->name);
    if (cJSON_GetArraySize(rules) > EM_ORGPOLICY_MAX_RULES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Too many rules in %s: a policy has at most %d rules.", field,
                       EM_ORGPOLICY_MAX_RULES);
    int count = 0;
    const cJSON *rule;
    cJSON_ArrayForEach(rule, rules)
    {
        if (check_rule(c, rule, field, &count, st))
            return st->code;
    }
    return EM_OK;
}

static void normalize_values(cJSON *list)
{
    cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item) || strlen(item->valuestring) > EM_ORGPOLICY_MAX_VALUE)
            continue; /* check_value refuses it */
        char normal[EM_ORGPOLICY_MAX_VALUE + 1];
        em_location_value_normalize(item->valuestring, normal, sizeof(normal));
        if (strcmp(normal, item->valuestring) != 0)
            cJSON_SetValuestring(item, normal);
    }
}

void em_orgpolicy_normalize_spec(const struct em_constraint *c, cJSON *spec)
{
    if (!c->supports_groups)
        return;
    const cJSON *rule;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(spec, "rules"))
    {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(rule, "values");
        normalize_values(cJSON_GetObjectItemCaseSensitive(values, "allowedValues"));
        normalize_values(cJSON_GetObjectItemCaseSensitive(values, "deniedValues"));
    }
}

/* --- evaluation --- */

/* The rules gathered for a resource: values allowed and denied, and the sweeping rules. */
struct gathered {
    cJSON *allowed, *denied; /* arrays of strings */
    bool allow_all, deny_all;
};

static void add_unique(cJSON *list, const cJSON *values)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        bool seen = false;
        const cJSON *have;
        cJSON_ArrayForEach(have, list) seen =
            seen || strcmp(have->valuestring, v->valuestring) == 0;
        if (!seen)
            cJSON_AddItemToArray(list, cJSON_CreateString(v->valuestring));
    }
}

static void gather_rules(const cJSON *spec, struct gathered *g)
{
    const cJSON *rule;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(spec, "rules"))
    {
        g->allow_all = g->allow_all || rule_flag(rule, "allowAll");
        g->deny_all = g->deny_all || rule_flag(rule, "denyAll");
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(rule, "values");
        add_unique(g->allowed, cJSON_GetObjectItemCaseSensitive(values, "allowedValues"));
        add_unique(g->denied, cJSON_GetObjectItemCaseSensitive(values, "deniedValues"));
    }
}

/* Adds the rules of constraint's policy on resource; *go_on: the walk continues up. */
static enum em_code gather_level(struct em_store *store, const char *resource,
                                 const char *constraint, struct gathered *g, bool *go_on,
                                 struct em_status *st)
{
    struct em_orgpolicy policy;
    bool found;
    *go_on = true;
    if (find_policy(store, resource, constraint, &policy, &found, st))
        return st->code;
    if (!found || !policy.spec_json) {
        if (found)
            em_orgpolicy_clear(&policy);
        return EM_OK;
    }
    cJSON *spec = cJSON_Parse(policy.spec_json);
    em_orgpolicy_clear(&policy);
    if (!spec)
        return EM_FAIL(st, EM_DATA_LOSS, "stored policy of %s on %s is not JSON", constraint,
                       resource);
    if (!rule_flag(spec, "reset"))
        gather_rules(spec, g);
    *go_on = rule_flag(spec, "inheritFromParent");
    cJSON_Delete(spec);
    return EM_OK;
}

/* A project, up to 10 levels of folders and the organization fit; a longer chain is a
 * loop, and evaluation refuses (fails closed) rather than stop half way. */
#define MAX_LEVELS 16

static enum em_code too_deep(const char *resource, struct em_status *st)
{
    return EM_FAIL(st, EM_INTERNAL,
                   "The hierarchy above %.200s is more than %d levels deep (a loop?): its "
                   "organization policies cannot be evaluated.",
                   resource, MAX_LEVELS);
}

/* Replaces name by its recorded parent (*found), or leaves it (the top). st is only
 * written on an error: a caller's earlier, handled status does not count. */
static enum em_code parent_of(struct em_store *store, char *name, size_t len, bool *found,
                              struct em_status *st)
{
    char parent[EM_ORGPOLICY_MAX_VALUE];
    struct em_status lookup = {0};
    *found = em_iam_parent(store, name, parent, sizeof(parent), &lookup);
    if (lookup.code) {
        *st = lookup;
        return st->code;
    }
    if (*found)
        snprintf(name, len, "%s", parent);
    return EM_OK;
}

static enum em_code gather(struct em_store *store, const char *resource, const char *constraint,
                           struct gathered *g, struct em_status *st)
{
    char at[EM_ORGPOLICY_MAX_VALUE];
    snprintf(at, sizeof(at), "%s", resource);
    g->allowed = cJSON_CreateArray();
    g->denied = cJSON_CreateArray();
    g->allow_all = g->deny_all = false;
    if (!g->allowed || !g->denied)
        return EM_FAIL_OOM(st);
    for (int level = 0; level < MAX_LEVELS; level++) {
        bool go_on;
        if (gather_level(store, at, constraint, g, &go_on, st))
            return st->code;
        if (!go_on)
            return EM_OK;
        bool found;
        if (parent_of(store, at, sizeof(at), &found, st))
            return st->code;
        if (!found)
            return EM_OK;
    }
    return too_deep(resource, st);
}

static void gathered_free(struct gathered *g);

enum em_code em_orgpolicy_min_days(struct em_store *store, const char *resource,
                                   const char *constraint, int *days, struct em_status *st)
{
    *days = 0;
    struct gathered g;
    if (gather(store, resource, constraint, &g, st)) {
        gathered_free(&g);
        return st->code;
    }
    const cJSON *value;
    cJSON_ArrayForEach(value, g.allowed)
    {
        int d = days_of(value->valuestring);
        if (d && (!*days || d < *days))
            *days = d;
    }
    if (g.allow_all)
        *days = 0;
    gathered_free(&g);
    return EM_OK;
}

static void gathered_free(struct gathered *g)
{
    cJSON_Delete(g->allowed);
    cJSON_Delete(g->denied);
}

/* The nearest policy with a spec up from resource decides a boolean constraint: its rule's
 * enforce, or the default (not enforced) for reset. *decided: some policy did. */
static enum em_code decide_boolean(struct em_store *store, const char *resource,
                                   const char *constraint, bool *enforced, bool *decided,
                                   struct em_status *st)
{
    char at[EM_ORGPOLICY_MAX_VALUE];
    snprintf(at, sizeof(at), "%s", resource);
    *enforced = *decided = false;
    for (int level = 0; level < MAX_LEVELS && !*decided; level++) {
        struct em_orgpolicy policy;
        bool found;
        if (find_policy(store, at, constraint, &policy, &found, st))
            return st->code;
        cJSON *spec = found && policy.spec_json ? cJSON_Parse(policy.spec_json) : NULL;
        if (found)
            em_orgpolicy_clear(&policy);
        if (spec) {
            const cJSON *rule =
                cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(spec, "rules"), 0);
            *enforced = !rule_flag(spec, "reset") && rule_flag(rule, "enforce");
            *decided = true;
            cJSON_Delete(spec);
            break;
        }
        if (parent_of(store, at, sizeof(at), &found, st))
            return st->code;
        if (!found)
            return EM_OK;
    }
    return *decided ? EM_OK : too_deep(resource, st);
}

enum em_code em_orgpolicy_enforced(struct em_store *store, const char *resource,
                                   const char *constraint, bool *enforced, struct em_status *st)
{
    bool decided;
    return decide_boolean(store, resource, constraint, enforced, &decided, st);
}

static enum em_code effective_boolean(struct em_store *store, const char *resource,
                                      const char *constraint, cJSON **spec_out,
                                      struct em_status *st)
{
    bool enforced, decided;
    if (decide_boolean(store, resource, constraint, &enforced, &decided, st))
        return st->code;
    cJSON *spec = cJSON_CreateObject();
    if (decided) {
        cJSON *rule = cJSON_CreateObject();
        cJSON_AddBoolToObject(rule, "enforce", enforced);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "rules"), rule);
    }
    *spec_out = spec;
    return EM_OK;
}

enum em_code em_orgpolicy_effective(struct em_store *store, const char *resource,
                                    const char *constraint, cJSON **spec_out, struct em_status *st)
{
    const struct em_constraint *c = em_orgpolicy_constraint(constraint);
    if (c && c->boolean)
        return effective_boolean(store, resource, constraint, spec_out, st);
    struct gathered g;
    if (gather(store, resource, constraint, &g, st)) {
        gathered_free(&g);
        return st->code;
    }
    cJSON *spec = cJSON_CreateObject();
    cJSON *rules = cJSON_CreateArray();
    cJSON *rule = cJSON_CreateObject();
    if (g.deny_all) {
        cJSON_AddTrueToObject(rule, "denyAll");
    } else if (g.allow_all && cJSON_GetArraySize(g.denied) == 0) {
        cJSON_AddTrueToObject(rule, "allowAll");
    } else if (cJSON_GetArraySize(g.allowed) + cJSON_GetArraySize(g.denied) > 0) {
        cJSON *values = cJSON_AddObjectToObject(rule, "values");
        if (cJSON_GetArraySize(g.allowed) > 0 && !g.allow_all)
            cJSON_AddItemToObject(values, "allowedValues", cJSON_Duplicate(g.allowed, true));
        if (cJSON_GetArraySize(g.denied) > 0)
            cJSON_AddItemToObject(values, "deniedValues", cJSON_Duplicate(g.denied, true));
    }
    if (cJSON_GetArraySize(rule) > 0)
        cJSON_AddItemToArray(rules, rule);
    else
        cJSON_Delete(rule);
    if (cJSON_GetArraySize(rules) > 0)
        cJSON_AddItemToObject(spec, "rules", rules);
    else
        cJSON_Delete(rules);
    gathered_free(&g);
    *spec_out = spec;
    return EM_OK;
}

/* Whether a policy value names value: itself (with or without "is:"), for "under:X" a
 * subtree holding it (X is value or one of its ancestors), for "in:G" a value group
 * holding it (ancestry lists the groups of a location, "in:G" each). */
static bool value_matches(const char *policy_value, const char *value, const char *const *ancestry)
{
    if (strncmp(policy_value, "is:", 3) == 0)
        return strcmp(policy_value + 3, value) == 0; /* "is:": exactly this value */
    const char *wanted = policy_value;
    if (strncmp(policy_value, "under:", 6) == 0)
        wanted = policy_value + 6;
    else if (strncmp(policy_value, "in:", 3) != 0)
        return strcmp(policy_value, value) == 0;
    for (const char *const *a = ancestry; a && *a; a++)
        if (strcmp(wanted, *a) == 0)
            return true;
    return false;
}

static bool listed(const cJSON *list, const char *value, const char *const *ancestry)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (value_matches(item->valuestring, value, ancestry))
            return true;
    }
    return false;
}

enum em_code em_orgpolicy_allows(struct em_store *store, const char *resource,
                                 const char *constraint, const char *value,
                                 const char *const *ancestry, bool *allowed, struct em_status *st)
{
    struct gathered g;
    if (gather(store, resource, constraint, &g, st)) {
        gathered_free(&g);
        return st->code;
    }
    if (g.deny_all || listed(g.denied, value, ancestry))
        *allowed = false;
    else if (g.allow_all || listed(g.allowed, value, ancestry))
        *allowed = true;
    else
        *allowed = cJSON_GetArraySize(g.allowed) == 0;
    gathered_free(&g);
    return EM_OK;
}

/* --- the check services make --- */

enum em_code em_orgpolicy_violation(const char *constraint, const char *project_id,
                                    const char *action, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Constraint constraints/%s violated for projects/%s attempting to %s. See "
                   "https://cloud.google.com/resource-manager/docs/organization-policy/"
                   "org-policy-constraints for more information.",
                   constraint, project_id, action);
}

static enum em_code violation(const char *constraint, const char *project_id, const char *what,
                              const char *detail, struct em_status *st)
{
    char action[EM_ORGPOLICY_MAX_VALUE + 256];
    snprintf(action, sizeof(action), "create %s %s", what, detail);
    return em_orgpolicy_violation(constraint, project_id, action, st);
}

static enum em_code check_key_project(struct em_store *store, const char *resource,
                                      const char *project_id, const char *kms_key_name,
                                      const char *what, struct em_status *st)
{
    struct em_crypto_key_name key;
    if (em_crypto_key_name_parse(kms_key_name, "kms_key_name", &key, st))
        return st->code;
    char key_project[64];
    snprintf(key_project, sizeof(key_project), "projects/%s", key.project);
    /* the key's project, its folders and its organization: under: names any of them */
    char chain[MAX_LEVELS][96];
    const char *ancestry[MAX_LEVELS + 1] = {NULL};
    snprintf(chain[0], sizeof(chain[0]), "%s", key_project);
    ancestry[0] = chain[0];
    for (int n = 1;; n++) {
        if (n == MAX_LEVELS)
            return too_deep(key_project, st);
        memcpy(chain[n], chain[n - 1], sizeof(chain[n]));
        bool found;
        if (parent_of(store, chain[n], sizeof(chain[n]), &found, st))
            return st->code;
        if (!found)
            break;
        ancestry[n] = chain[n];
    }
    bool allowed;
    if (em_orgpolicy_allows(store, resource, EM_ORGPOLICY_KEY_PROJECTS, key_project, ancestry,
                            &allowed, st))
        return st->code;
    if (allowed)
        return EM_OK;
    char detail[EM_ORGPOLICY_MAX_VALUE];
    snprintf(detail, sizeof(detail), "with key %s from %s, which is not an allowed project",
             kms_key_name, key_project);
    return violation(EM_ORGPOLICY_KEY_PROJECTS, project_id, what, detail, st);
}

enum em_code em_orgpolicy_check_cmek(struct em_store *store, const char *project_id,
                                     const char *service, const char *kms_key_name,
                                     const char *what, struct em_status *st)
{
    char resource[64];
    snprintf(resource, sizeof(resource), "projects/%s", project_id);
    if (kms_key_name && *kms_key_name)
        return check_key_project(store, resource, project_id, kms_key_name, what, st);
    bool allowed;
    if (em_orgpolicy_allows(store, resource, EM_ORGPOLICY_NON_CMEK, service, NULL, &allowed, st))
        return st->code;
    if (allowed)
        return EM_OK;
    return violation(EM_ORGPOLICY_NON_CMEK, project_id, what, "without a CMEK key", st);
}

enum em_code em_orgpolicy_check_location(struct em_store *store, const char *project_id,
                                         const char *location, const char *what,
                                         struct em_status *st)
{
    char resource[64];
    snprintf(resource, sizeof(resource), "projects/%s", project_id);
    char groups[8][EM_LOCATION_GROUP_MAX];
    size_t count = em_location_groups_of(location, groups, 8);
    const char *ancestry[9] = {NULL};
    for (size_t i = 0; i < count; i++)
        ancestry[i] = groups[i];
    bool allowed;
    if (em_orgpolicy_allows(store, resource, EM_ORGPOLICY_LOCATIONS, location, ancestry, &allowed,
                            st))
        return st->code;
    if (allowed)
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Constraint constraints/" EM_ORGPOLICY_LOCATIONS
                   " violated for [orgpolicy:projects/%lld] attempting to create %s in [%.100s]. "
                   "For more information, see https://cloud.google.com/resource-manager/docs/"
                   "organization-policy/defining-locations.",
                   (long long)em_project_number(project_id), what, location);
}
