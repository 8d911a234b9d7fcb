/*
 * em_iam: policies, predefined roles and permission checks (see em_iam.h).
 * Google reference: https://cloud.google.com/iam/docs/reference/rest/v1/Policy
 */
#include "em_iam.h"

#include "em_call.h"
#include "em_cel.h"
#include "em_clock.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_descriptor.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_log.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"
#include "em_store.h"

#include <ctype.h>
#include <fnmatch.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdbool.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- predefined roles: the basic roles here, every service's in its descriptor --- */

/* Owner, editor and viewer span every service, except, as in Google, writing
 * organization policies: that is roles/orgpolicy.policyAdmin's, granted by the
 * organization, so a project's owner cannot lift the constraints set above it. */
static const struct em_role basic_roles[] = {
    {"roles/owner", EM_WORDS("*"), EM_WORDS("orgpolicy.policy.set")},
    {"roles/editor", EM_WORDS("*"),
     EM_WORDS("*.setIamPolicy", "resourcemanager.projects.delete",
              "resourcemanager.projects.undelete", "orgpolicy.policy.set")},
    {"roles/viewer", EM_WORDS("*.get", "*.list", "*.getIamPolicy", "logging.logEntries.list"),
     NULL},
    {NULL},
};

static const struct em_role *role_in(const struct em_role *roles, const char *name)
{
    for (; roles && roles->name; roles++)
        if (strcmp(roles->name, name) == 0)
            return roles;
    return NULL;
}

static const struct em_role *find_role(const char *name)
{
    const struct em_role *role = role_in(basic_roles, name);
    for (size_t i = 0; !role && em_services[i]; i++)
        role = role_in(em_services[i]->roles, name);
    return role;
}

static bool any_match(const char *const *patterns, const char *permission)
{
    for (; patterns && *patterns; patterns++)
        if (fnmatch(*patterns, permission, 0) == 0)
            return true;
    return false;
}

bool em_iam_role_grants(const char *role, const char *permission)
{
    const struct em_role *r = find_role(role);
    return r && any_match(r->grants, permission) && !any_match(r->except, permission);
}

/* --- principals --- */

static const char unauthenticated_message[] =
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.";

static bool local_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(".!#$%&'*+/=?^_`{|}~-", c));
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* A domain of at least two labels: letters, digits and '-', 1-63 each, no '-' at
 * either end of a label. */
static bool plausible_domain(const char *d, size_t n)
{
    size_t labels = 0, run = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '.') {
            if (run == 0 || run > 63 || d[i - 1] == '-' || d[i - run] == '-')
                return false;
            labels++;
            run = 0;
        } else if (label_char(d[i])) {
            run++;
        } else {
            return false;
        }
    }
    return labels >= 2;
}

bool em_iam_plausible_email(const char *email, size_t len)
{
    const char *at = memchr(email, '@', len);
    if (!at || at == email || at - email > 64 ||
        memchr(at + 1, '@', len - (size_t)(at - email) - 1))
        return false;
    for (const char *p = email; p < at; p++)
        if (!local_char(*p))
            return false;
    return plausible_domain(at + 1, len - (size_t)(at - email) - 1);
}

/* E-mail domains are case-insensitive: every comparison below ignores case. */
static bool ends_with(const char *text, const char *suffix)
{
    size_t n = strlen(text), m = strlen(suffix);
    return n >= m && strcasecmp(text + n - m, suffix) == 0;
}

void em_iam_service_agent(const char *project, const char *agent_domain, char *out, size_t len)
{
    snprintf(out, len, "serviceAccount:service-%lld@%s.iam.gserviceaccount.com",
             (long long)em_project_number(project), agent_domain);
}

/* Whether domain is "<agent_domain>.iam.gserviceaccount.com". */
static bool is_agent_domain(const char *domain, const char *agent_domain)
{
    size_t n = agent_domain ? strlen(agent_domain) : 0;
    return n > 0 && strncasecmp(domain, agent_domain, n) == 0 &&
           strcasecmp(domain + n, ".iam.gserviceaccount.com") == 0;
}

bool em_iam_is_service_agent(const char *principal)
{
    /* Google's agents of services the emulator does not have; its own services' agents
     * are their descriptors' agent domains */
    static const char *const agent_domains[] = {
        "@compute-system.iam.gserviceaccount.com",
        "@container-engine-robot.iam.gserviceaccount.com",
        "@cloudservices.gserviceaccount.com",
        NULL,
    };
    /* the agent's address under any kind ("user:service-1@gcp-sa-pubsub...") is the same
     * mailbox, so it is an agent too */
    const char *at = strrchr(principal, '@');
    if (!at)
        return false;
    if (strncasecmp(at + 1, "gcp-sa-", 7) == 0 && ends_with(at, ".iam.gserviceaccount.com"))
        return true;
    for (int i = 0; agent_domains[i]; i++)
        if (strcasecmp(at, agent_domains[i]) == 0)
            return true;
    for (size_t i = 0; em_services[i]; i++)
        if (is_agent_domain(at + 1, em_services[i]->agent_domain))
            return true;
    return false;
}

/* The principal a bearer token names (token: n bytes, no surrounding white space), or
 * false when it names none. */
static bool token_principal(const char *token, size_t n, char *out, size_t len)
{
    static const char *const kinds[] = {"user:", "serviceAccount:", "group:", NULL};
    for (int i = 0; kinds[i]; i++) {
        size_t k = strlen(kinds[i]);
        if (n > k && strncmp(token, kinds[i], k) == 0) {
            if (!em_iam_plausible_email(token + k, n - k))
                return false;
            snprintf(out, len, "%.*s", (int)n, token);
            return true;
        }
    }
    if (!em_iam_plausible_email(token, n))
        return false;
    /* a bare e-mail: service accounts end in ".gserviceaccount.com" */
    static const char robot_domain[] = ".gserviceaccount.com";
    size_t d = sizeof(robot_domain) - 1;
    bool robot = n > d && strncmp(token + n - d, robot_domain, d) == 0;
    snprintf(out, len, "%s:%.*s", robot ? "serviceAccount" : "user", (int)n, token);
    return true;
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum em_code em_iam_authenticate(const char *authorization, bool internal,
                                 const struct em_config *cfg, char *out, size_t len,
                                 struct em_status *st)
{
    if (!authorization || !*authorization) {
        snprintf(out, len, "%s",
                 cfg && !cfg->iam_enforce ? cfg->default_principal : EM_IAM_ANONYMOUS);
        return EM_OK;
    }
    snprintf(out, len, "%s", EM_IAM_ANONYMOUS);
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return EM_FAIL(st, EM_UNAUTHENTICATED, "%s", unauthenticated_message);
    const char *token = authorization + 7;
    while (space(*token))
        token++;
    size_t n = strlen(token);
    while (n > 0 && space(token[n - 1]))
        n--;
    char principal[EM_PRINCIPAL_MAX];
    if (n == 0 || n >= sizeof(principal) - 16 || memchr(token, ' ', n) ||
        !token_principal(token, n, principal, sizeof(principal)))
        return EM_FAIL(st, EM_UNAUTHENTICATED, "%s", unauthenticated_message);
    /* nobody outside Google can hold a token of a Google-managed service agent */
    if (em_iam_is_service_agent(principal) && !internal)
        return EM_FAIL(st, EM_UNAUTHENTICATED, "%s", unauthenticated_message);
    snprintf(out, len, "%s", principal);
    return EM_OK;
}

/* --- storage --- */

static const char *const iam_migrations[] = {
    "CREATE TABLE iam_policies ("
    " resource TEXT PRIMARY KEY,"
    " policy TEXT NOT NULL,"
    " etag TEXT NOT NULL)",
    /* 2: the resource hierarchy above projects (em_iam_set_parent) */
    "CREATE TABLE iam_parents ("
    " resource TEXT PRIMARY KEY,"
    " parent TEXT NOT NULL)",
};

enum em_code em_iam_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "iam", iam_migrations, 2, st);
}

enum em_code em_iam_set_parent(struct em_store *store, const char *resource, const char *parent,
                               struct em_status *st)
{
    if (!parent || !*parent)
        return em_store_run_text(store, "DELETE FROM iam_parents WHERE resource = ?", resource,
                                 NULL, NULL, NULL, st);
    return em_store_run_text(store,
                             "INSERT OR REPLACE INTO iam_parents(resource, parent) VALUES (?, ?)",
                             resource, parent, NULL, NULL, st);
}

/* Replaces name by its recorded parent; false when it has none (or on error, st set). */
static bool hierarchy_parent(struct em_store *store, char *name, size_t len, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT parent FROM iam_parents WHERE resource = ?", st);
    if (!stmt)
        return false;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    char parent[EM_RESOURCE_MAX] = "";
    if (rc == SQLITE_ROW)
        snprintf(parent, sizeof(parent), "%s", em_column_text(stmt, 0));
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        em_store_error(em_store_db(store, NULL), rc, st);
    if (rc != SQLITE_ROW || !*parent)
        return false;
    snprintf(name, len, "%s", parent);
    return true;
}

bool em_iam_parent(struct em_store *store, const char *resource, char *parent, size_t len,
                   struct em_status *st)
{
    snprintf(parent, len, "%s", resource);
    return hierarchy_parent(store, parent, len, st);
}

static cJSON *empty_policy(void)
{
    cJSON *policy = cJSON_CreateObject();
    cJSON_AddNumberToObject(policy, "version", 1);
    cJSON_AddStringToObject(policy, "etag", "ACAB");
    return policy;
}

enum em_code em_iam_get_policy(struct em_store *store, const char *resource, cJSON **policy,
                               struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT policy FROM iam_policies WHERE resource = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, resource);
    int rc = sqlite3_step(stmt);
    *policy = rc == SQLITE_ROW ? cJSON_Parse(em_column_text(stmt, 0)) : empty_policy();
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    if (!*policy)
        return EM_FAIL(st, EM_INTERNAL, "stored IAM policy of %s is unreadable", resource);
    return EM_OK;
}

static bool member_valid(const char *member)
{
    static const char *const prefixes[] = {
        "user:",    "serviceAccount:", "group:",          "domain:",
        "deleted:", "principal://",    "principalSet://", NULL};
    if (!strcmp(member, "allUsers") || !strcmp(member, "allAuthenticatedUsers"))
        return true;
    for (int i = 0; prefixes[i]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(member, prefixes[i], n) == 0 && member[n] != '\0')
            return true;
    }
    return false;
}

static enum em_code check_binding(const cJSON *binding, struct em_status *st)
{
    const char *role = em_json_string(binding, "role");
    if (!role || (strncmp(role, "roles/", 6) != 0 && strncmp(role, "projects/", 9) != 0 &&
                  strncmp(role, "organizations/", 14) != 0))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Role (%s) does not exist.",
                       role ? role : "missing");
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(binding, "members");
    const cJSON *m;
    cJSON_ArrayForEach(m, members)
    {
        if (!cJSON_IsString(m) || !member_valid(m->valuestring))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid member: %s. Members must be of the form user:, "
                           "serviceAccount:, group:, domain:, allUsers or allAuthenticatedUsers.",
                           cJSON_IsString(m) ? m->valuestring : "(not a string)");
    }
    return EM_OK;
}

/* A project's policy grants nothing to allUsers or allAuthenticatedUsers (Resource
 * Manager's setIamPolicy: "Project does not support allUsers and allAuthenticatedUsers as
 * members"); its resources' policies may. */
static enum em_code check_project_members(const char *resource, const cJSON *binding,
                                          struct em_status *st)
{
    if (strncmp(resource, "projects/", 9) != 0 || strchr(resource + 9, '/'))
        return EM_OK;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(binding, "members"))
    {
        if (!strcmp(m->valuestring, "allUsers") || !strcmp(m->valuestring, "allAuthenticatedUsers"))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Request contains an invalid argument: a project's policy cannot "
                           "grant roles to %s.",
                           m->valuestring);
    }
    return EM_OK;
}

static enum em_code validate_policy(const char *resource, const cJSON *policy, struct em_status *st)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(policy, "bindings"))
    {
        if (check_binding(b, st) || check_project_members(resource, b, st))
            return st->code;
        int64_t version = 1;
        em_json_int64(policy, "version", &version);
        if (cJSON_GetObjectItemCaseSensitive(b, "condition") && version < 3)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Bindings with conditions require policy version 3.");
    }
    return EM_OK;
}

static enum em_code current_etag(struct em_store *store, const char *resource, char *etag,
                                 size_t len, struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT etag FROM iam_policies WHERE resource = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, resource);
    int rc = sqlite3_step(stmt);
    snprintf(etag, len, "%s", rc == SQLITE_ROW ? em_column_text(stmt, 0) : "ACAB");
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

static enum em_code write_policy(struct em_store *store, const char *resource, cJSON *policy,
                                 struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store, "INSERT OR REPLACE INTO iam_policies(resource, policy, etag) VALUES (?, ?, ?)", st);
    if (!stmt)
        return st->code;
    char *text = cJSON_PrintUnformatted(policy);
    em_bind_text(stmt, 1, resource);
    em_bind_text(stmt, 2, text);
    em_bind_text(stmt, 3, em_json_string(policy, "etag"));
    enum em_code code = em_stmt_run(stmt, st);
    cJSON_free(text);
    return code;
}

/* Etags are bytes: gcloud sends back the one it read in URL-safe base64 ("R_W0..." for
 * "R/W0..."), as its client encodes every bytes field, so the bytes are compared. */
static bool same_etag(const char *given, const char *stored)
{
    unsigned char *a = NULL, *b = NULL;
    size_t a_len = 0, b_len = 0;
    bool same = em_b64_decode(given, strlen(given), &a, &a_len) &&
                em_b64_decode(stored, strlen(stored), &b, &b_len) && a_len == b_len &&
                memcmp(a, b, a_len) == 0;
    free(a);
    free(b);
    return same;
}

/* The stored copy: the given policy with a fresh etag and a version. */
static enum em_code stamp_policy(const cJSON *policy, cJSON **out, struct em_status *st)
{
    unsigned char raw[8];
    if (em_random_bytes(raw, sizeof(raw), st))
        return st->code;
    cJSON *copy = cJSON_Duplicate(policy, true);
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "etag");
    em_json_add_bytes(copy, "etag", raw, sizeof(raw));
    if (!cJSON_GetObjectItemCaseSensitive(copy, "version"))
        cJSON_AddNumberToObject(copy, "version", 1);
    *out = copy;
    return EM_OK;
}

/* SetIamPolicy's update_mask: the policy fields a call sets; the others keep their stored
 * values ("bindings, etag" when the mask is empty, as Google reads it: audit configs in the
 * body change nothing then). The policy's version always comes from the body. */
struct policy_mask {
    bool bindings, etag, audit_configs;
};

static enum em_code mask_path(const char *path, void *arg, struct em_status *st)
{
    struct policy_mask *m = arg;
    if (em_mask_path_is(path, "bindings"))
        m->bindings = true;
    else if (em_mask_path_is(path, "etag"))
        m->etag = true;
    else if (em_mask_path_is(path, "auditConfigs"))
        m->audit_configs = true;
    else if (!em_mask_path_is(path, "version"))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask: the policy has no field %.100s (bindings, etag, "
                       "audit_configs and version).",
                       path);
    return EM_OK;
}

/* The policy to store (in the transaction): policy, with the fields outside the mask taken
 * from the stored one; an etag outside the mask is not checked. */
static enum em_code masked_policy(struct em_store *store, const char *resource, const cJSON *policy,
                                  const struct policy_mask *m, cJSON **out, struct em_status *st)
{
    cJSON *stored = NULL;
    if (em_iam_get_policy(store, resource, &stored, st))
        return st->code;
    *out = cJSON_Duplicate(policy, true);
    const char *const keys[] = {"bindings", "auditConfigs", "etag"};
    const bool set[] = {m->bindings, m->audit_configs, m->etag};
    for (size_t i = 0; *out && i < 3; i++) {
        if (set[i])
            continue;
        cJSON_DeleteItemFromObject(*out, keys[i]);
        cJSON *kept = cJSON_DetachItemFromObject(stored, keys[i]);
        if (kept && i < 2)
            cJSON_AddItemToObject(*out, keys[i], kept);
        else
            cJSON_Delete(kept);
    }
    cJSON_Delete(stored);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

/* em_iam_set_policy, the fields outside mask (NULL: none) kept. */
static enum em_code set_policy(struct em_store *store, const char *resource, const cJSON *given,
                               const struct policy_mask *mask, cJSON **stored, struct em_status *st)
{
    if (validate_policy(resource, given, st))
        return st->code;
    if (em_store_begin(store, st))
        return st->code;
    char etag[64];
    cJSON *policy = NULL, *copy = NULL;
    enum em_code code = mask ? masked_policy(store, resource, given, mask, &policy, st) : EM_OK;
    const char *given_etag = em_json_string(policy ? policy : given, "etag");
    if (!code)
        code = current_etag(store, resource, etag, sizeof(etag), st);
    if (!code && given_etag && !same_etag(given_etag, etag))
        code = EM_FAIL(st, EM_ABORTED,
                       "There were concurrent policy changes. Please retry the whole "
                       "read-modify-write with exponential backoff.");
    if (!code)
        code = stamp_policy(policy ? policy : given, &copy, st);
    cJSON_Delete(policy);
    if (!code)
        code = write_policy(store, resource, copy, st);
    if (!code)
        code = em_store_commit(store, st);
    if (code) {
        em_store_rollback(store);
        cJSON_Delete(copy);
        return code;
    }
    *stored = copy;
    return EM_OK;
}

enum em_code em_iam_set_policy(struct em_store *store, const char *resource, const cJSON *policy,
                               cJSON **stored, struct em_status *st)
{
    return set_policy(store, resource, policy, NULL, stored, st);
}

enum em_code em_iam_delete_under(struct em_store *store, const char *prefix, struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(store,
                                       "DELETE FROM iam_policies WHERE resource = ?1 OR "
                                       "substr(resource, 1, length(?1) + 1) = ?1 || '/'",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, prefix);
    return em_stmt_run(stmt, st);
}

enum em_code em_iam_clear(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM iam_policies; DELETE FROM iam_parents", st);
}

/* --- checks --- */

static bool member_matches(const char *member, const char *principal)
{
    if (!strcmp(member, principal) || !strcmp(member, "allUsers"))
        return true;
    if (!strcmp(principal, EM_IAM_ANONYMOUS))
        return false; /* an anonymous caller has only what allUsers has */
    if (!strcmp(member, "allAuthenticatedUsers"))
        return true;
    if (strncmp(member, "domain:", 7) == 0) {
        const char *at = strrchr(principal, '@');
        return at && strcmp(at + 1, member + 7) == 0;
    }
    return false;
}

/* What an IAM condition sees of a check: the resource checked (not the ancestor whose
 * policy holds the binding), its type and service, and the emulator's time. */
struct condition_context {
    const char *resource, *permission;
    bool ready; /* cel filled: at the first binding with a condition */
    struct em_cel_context cel;
    char type[160], service[96];
};

/* resource.service and resource.type from the permission's service and the resource's
 * last collection ("cloudkms.googleapis.com", "cloudkms.googleapis.com/CryptoKey"):
 * the collection singular, capitalized. A project alone is Resource Manager's Project. */
static void condition_context_init(struct condition_context *c)
{
    const char *resource = c->resource, *permission = c->permission;
    c->ready = true;
    c->cel = (struct em_cel_context){.resource_name = resource,
                                     .resource_type = c->type,
                                     .resource_service = c->service,
                                     .request_time_ns = em_clock_now()};
    const char *last = strrchr(resource, '/'); /* "/<id>" of the resource itself */
    const char *collection = last;
    while (collection && collection > resource && collection[-1] != '/')
        collection--;
    size_t prefix = strcspn(permission, ".");
    if (!last || collection == resource || last - collection < 2 || prefix == 0) {
        snprintf(c->service, sizeof(c->service), "cloudresourcemanager.googleapis.com");
        snprintf(c->type, sizeof(c->type), "cloudresourcemanager.googleapis.com/Project");
        return;
    }
    if (prefix == 8 && strncmp(permission, "bigtable", 8) == 0)
        snprintf(c->service, sizeof(c->service), "bigtableadmin.googleapis.com");
    else
        snprintf(c->service, sizeof(c->service), "%.*s.googleapis.com", (int)prefix, permission);
    size_t len = (size_t)(last - collection);
    len -= collection[len - 1] == 's';
    snprintf(c->type, sizeof(c->type), "%s/%c%.*s", c->service,
             toupper((unsigned char)collection[0]), (int)(len - 1), collection + 1);
}

/* Whether binding b's condition, if it has one, holds for this check: an expression the
 * emulator cannot evaluate grants nothing. */
static bool condition_holds(const cJSON *b, struct condition_context *c)
{
    const cJSON *condition = cJSON_GetObjectItemCaseSensitive(b, "condition");
    if (!condition)
        return true;
    if (!c->ready)
        condition_context_init(c);
    char why[160];
    int r = em_cel_eval(em_json_string(condition, "expression"), &c->cel, why, sizeof(why));
    if (r < 0)
        em_debug("iam: the condition of a binding of %s grants nothing: %s",
                 em_json_string(b, "role"), why);
    return r == 1;
}

static bool policy_grants(const cJSON *policy, const char *principal, const char *permission,
                          struct condition_context *c)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(policy, "bindings"))
    {
        const char *role = em_json_string(b, "role");
        if (!role || !em_iam_role_grants(role, permission) || !condition_holds(b, c))
            continue;
        const cJSON *m;
        cJSON_ArrayForEach(
            m, cJSON_GetObjectItemCaseSensitive(
                   b, "members")) if (cJSON_IsString(m) &&
                                      member_matches(m->valuestring, principal)) return true;
    }
    return false;
}

/* Trims the last "collection/id" pair, or the last segment of a singleton resource
 * (".../locations/l/ekmConfig", "folders/f/autokeyConfig": an odd number of segments);
 * false once only "projects/p" (or less) is left. */
static bool parent_name(char *name)
{
    int segments = 1;
    for (const char *p = name; *p; p++)
        segments += *p == '/';
    for (int trimmed = 0; trimmed < (segments % 2 ? 1 : 2); trimmed++) {
        char *slash = strrchr(name, '/');
        if (!slash)
            return false;
        *slash = '\0';
    }
    return strchr(name, '/') != NULL;
}

static bool granted(struct em_store *store, const struct em_config *cfg, const char *principal,
                    const char *resource, const char *permission, struct em_status *st)
{
    if (!cfg->iam_enforce || !strcmp(principal, cfg->default_principal))
        return true; /* under enforce, the default principal owns every project */
    char name[EM_RESOURCE_MAX];
    snprintf(name, sizeof(name), "%s", resource);
    struct condition_context condition = {.resource = resource, .permission = permission};
    for (int level = 0;; level++) {
        cJSON *policy;
        if (em_iam_get_policy(store, name, &policy, st))
            return false;
        bool ok = policy_grants(policy, principal, permission, &condition);
        cJSON_Delete(policy);
        if (ok)
            return true;
        char up[EM_RESOURCE_MAX];
        snprintf(up, sizeof(up), "%s", name);
        if (parent_name(up))
            snprintf(name, sizeof(name), "%s", up);
        else if (level > 64 || !hierarchy_parent(store, name, sizeof(name), st))
            return false; /* the top of the hierarchy (a bound against a cycle) */
    }
}

enum em_code em_iam_check(struct em_store *store, const struct em_config *cfg,
                          const char *principal, const char *resource, const char *permission,
                          struct em_status *st)
{
    st->code = EM_OK;
    if (granted(store, cfg, principal, resource, permission, st))
        return EM_OK;
    if (st->code)
        return st->code;
    return EM_FAIL(st, EM_PERMISSION_DENIED,
                   "Permission '%s' denied on resource '%s' (or it may not exist).", permission,
                   resource);
}

/* --- handlers and their request schemas --- */

static const struct em_field expr_fields[] = {{"expression", EM_F_STRING},
                                              {"title", EM_F_STRING},
                                              {"description", EM_F_STRING},
                                              {"location", EM_F_STRING},
                                              {NULL}};
static const struct em_message expr_msg = {"google.type.Expr", expr_fields};

static const struct em_field binding_fields[] = {{"role", EM_F_STRING},
                                                 {"members", EM_F_STRING, true},
                                                 {"condition", EM_F_MESSAGE, false, &expr_msg},
                                                 {NULL}};
static const struct em_message binding_msg = {"google.iam.v1.Binding", binding_fields};

/* google/iam/v1/policy.proto AuditLogConfig.LogType */
static const struct em_enum_value log_type_values[] = {
    {"LOG_TYPE_UNSPECIFIED", 0}, {"ADMIN_READ", 1}, {"DATA_WRITE", 2}, {"DATA_READ", 3}, {NULL}};
static const struct em_enum log_type_enum = {"google.iam.v1.AuditLogConfig.LogType",
                                             log_type_values};

/* Audit configs are kept and answered with the policy; this emulator's audit log records
 * every call whatever they say. */
static const struct em_field audit_log_config_fields[] = {
    {"logType", EM_F_ENUM, false, NULL, &log_type_enum},
    {"exemptedMembers", EM_F_STRING, true},
    {NULL}};
static const struct em_message audit_log_config_msg = {"google.iam.v1.AuditLogConfig",
                                                       audit_log_config_fields};

static const struct em_field audit_config_fields[] = {
    {"service", EM_F_STRING},
    {"auditLogConfigs", EM_F_MESSAGE, true, &audit_log_config_msg},
    {NULL}};
static const struct em_message audit_config_msg = {"google.iam.v1.AuditConfig",
                                                   audit_config_fields};

static const struct em_field policy_fields[] = {
    {"version", EM_F_INT32},
    {"bindings", EM_F_MESSAGE, true, &binding_msg},
    {"auditConfigs", EM_F_MESSAGE, true, &audit_config_msg},
    {"etag", EM_F_BYTES},
    {NULL}};
const struct em_message em_iam_policy = {"google.iam.v1.Policy", policy_fields};

static const struct em_field options_fields[] = {{"requestedPolicyVersion", EM_F_INT32}, {NULL}};
static const struct em_message options_msg = {"google.iam.v1.GetPolicyOptions", options_fields};

static const struct em_field get_fields[] = {{"options", EM_F_MESSAGE, false, &options_msg},
                                             {NULL}};
const struct em_message em_iam_get_request = {"google.iam.v1.GetIamPolicyRequest", get_fields};

static const struct em_field set_fields[] = {
    {"policy", EM_F_MESSAGE, false, &em_iam_policy}, {"updateMask", EM_F_STRING}, {NULL}};
const struct em_message em_iam_set_request = {"google.iam.v1.SetIamPolicyRequest", set_fields};

static const struct em_field test_fields[] = {{"permissions", EM_F_STRING, true}, {NULL}};
const struct em_message em_iam_test_request = {"google.iam.v1.TestIamPermissionsRequest",
                                               test_fields};

/* The service's own check that the resource exists, when it has one. */
static enum em_code resource_exists(struct em_call *call)
{
    const struct em_service_def *def = call->svc->def;
    return def->iam_resource_check ? def->iam_resource_check(call) : EM_OK;
}

/* GetPolicyOptions.requested_policy_version, from the body (POST) or the query (GET):
 * 0 (absent), 1 or 3; any other value is refused, as Google refuses it. */
static enum em_code requested_version(struct em_call *call, int64_t *out)
{
    const cJSON *options = cJSON_GetObjectItemCaseSensitive(call->body, "options");
    *out = 0;
    if (cJSON_IsObject(options))
        em_json_int64(options, "requestedPolicyVersion", out);
    else if (em_call_query_int(call, "options.requestedPolicyVersion", 0, INT32_MIN, INT32_MAX,
                               out))
        return call->status.code;
    if (*out != 0 && *out != 1 && *out != 3)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid requested_policy_version %lld: the valid values are 0, 1 "
                            "and 3.",
                            (long long)*out);
    return EM_OK;
}

/* A conditional binding's role as a version 1 policy shows it: the role, "_withcond_" and
 * a hash of the condition, which version 1 cannot carry. */
static void role_with_condition(cJSON *binding, const cJSON *condition)
{
    char *text = cJSON_PrintUnformatted(condition);
    const char *role = em_json_string(binding, "role");
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char shown[512];
    if (!text || !role)
        goto out;
    SHA256((const unsigned char *)text, strlen(text), digest);
    int n = snprintf(shown, sizeof(shown), "%.400s_withcond_", role);
    for (int i = 0; i < 10; i++)
        n += snprintf(shown + n, sizeof(shown) - (size_t)n, "%02x", digest[i]);
    cJSON_ReplaceItemInObjectCaseSensitive(binding, "role", cJSON_CreateString(shown));
out:
    free(text);
}

/* The policy in the version the caller asked for (GetPolicyOptions): version 3 only when
 * it has conditional bindings and 3 was asked for; asked for less, each conditional
 * binding is shown without its condition, its role marked "_withcond_<hash>". */
static void show_policy_version(cJSON *policy, int64_t requested)
{
    bool conditional = false;
    cJSON *binding;
    cJSON_ArrayForEach(binding, cJSON_GetObjectItemCaseSensitive(policy, "bindings"))
    {
        const cJSON *condition = cJSON_GetObjectItemCaseSensitive(binding, "condition");
        if (!condition)
            continue;
        conditional = true;
        if (requested != 3) {
            role_with_condition(binding, condition);
            cJSON_DeleteItemFromObjectCaseSensitive(binding, "condition");
        }
    }
    cJSON *version = cJSON_CreateNumber(conditional && requested == 3 ? 3 : 1);
    if (cJSON_HasObjectItem(policy, "version")) /* in its place: replies list it first */
        cJSON_ReplaceItemInObjectCaseSensitive(policy, "version", version);
    else
        cJSON_AddItemToObject(policy, "version", version);
}

enum em_code em_iam_handle_get(struct em_call *call)
{
    int64_t version;
    if (requested_version(call, &version) || resource_exists(call))
        return call->status.code;
    cJSON *policy;
    if (em_iam_get_policy(call->svc->store, em_call_resource(call), &policy, &call->status))
        return call->status.code;
    show_policy_version(policy, version);
    return em_call_reply(call, policy);
}

enum em_code em_iam_handle_set(struct em_call *call)
{
    if (resource_exists(call))
        return call->status.code;
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(call->body, "policy");
    if (!cJSON_IsObject(policy))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Request contains an invalid argument: "
                            "'policy' is required.");
    const char *mask = em_json_string(call->body, "updateMask");
    struct policy_mask m = {0};
    size_t paths = 0;
    if (mask && em_mask_each(mask, mask_path, &m, &paths, &call->status))
        return call->status.code;
    if (paths == 0)
        m = (struct policy_mask){.bindings = true, .etag = true};
    cJSON *stored;
    if (set_policy(call->svc->store, em_call_resource(call), policy, &m, &stored, &call->status))
        return call->status.code;
    return em_call_reply(call, stored);
}

enum em_code em_iam_handle_test(struct em_call *call)
{
    if (resource_exists(call))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON *granted_list = cJSON_CreateArray();
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(call->body, "permissions"))
    {
        struct em_status ignored = {0};
        if (cJSON_IsString(p) && granted(call->svc->store, &call->svc->config, call->principal,
                                         em_call_resource(call), p->valuestring, &ignored))
            cJSON_AddItemToArray(granted_list, cJSON_CreateString(p->valuestring));
    }
    if (cJSON_GetArraySize(granted_list) > 0)
        cJSON_AddItemToObject(reply, "permissions", granted_list);
    else
        cJSON_Delete(granted_list);
    return em_call_reply(call, reply);
}
