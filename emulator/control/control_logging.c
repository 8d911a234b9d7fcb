/*
 * control_logging: audit rows -> LogEntry JSON and entries:list (see control_logging.h).
 */
#include "control_logging.h"

#include "control.h"
#include "em_descriptor.h"
#include "em_filter.h"
#include "em_json.h"
#include "em_names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_ACTIVITY    "cloudaudit.googleapis.com%2Factivity"
#define LOG_DATA_ACCESS "cloudaudit.googleapis.com%2Fdata_access"
#define AUDIT_LOG_TYPE  "type.googleapis.com/google.cloud.audit.AuditLog"
#define NAME_SEGMENTS   16

/* --- monitored resources --- */

/* Splits a copy of name at '/' into segs; returns the count, or -1 if there are too many
 * or one is empty. */
static int split_name(char *copy, char **segs)
{
    int n = 0;
    for (char *p = copy; p;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (n == NAME_SEGMENTS || !*p)
            return -1;
        segs[n++] = p;
        p = slash ? slash + 1 : NULL;
    }
    return n;
}

static bool type_matches(const struct em_resource_type *type, char **segs, int n)
{
    int pairs = 0;
    while (type->collections[pairs])
        pairs++;
    if (n != 2 * pairs)
        return false;
    for (int i = 0; i < pairs; i++)
        if (strcmp(segs[2 * i], type->collections[i]) != 0)
            return false;
    return true;
}

/* The resource type (of any service's descriptor) whose collections make up the name. */
static const struct em_resource_type *resource_type_of(char **segs, int n)
{
    for (size_t i = 0; em_services[i]; i++)
        for (const struct em_resource_type *t = em_services[i]->resource_types; t && t->type; t++)
            if (type_matches(t, segs, n))
                return t;
    return NULL;
}

static cJSON *resource_json(const char *type, cJSON *labels)
{
    cJSON *resource = cJSON_CreateObject();
    cJSON_AddStringToObject(resource, "type", type);
    cJSON_AddItemToObject(resource, "labels", labels);
    return resource;
}

/* The project ID of "projects/<id>/...", or false. */
static bool project_of(const char *resource, char *out, size_t len)
{
    if (strncmp(resource, "projects/", 9) != 0)
        return false;
    const char *id = resource + 9;
    size_t n = strcspn(id, "/");
    if (n == 0 || n >= len)
        return false;
    memcpy(out, id, n);
    out[n] = '\0';
    return true;
}

cJSON *control_log_resource(const char *resource, const char *google_service, const char *method)
{
    char copy[EM_PATH_MAX];
    char *segs[NAME_SEGMENTS];
    snprintf(copy, sizeof(copy), "%s", resource);
    int n = split_name(copy, segs);
    const struct em_resource_type *type = n > 0 ? resource_type_of(segs, n) : NULL;
    if (type) {
        cJSON *labels = cJSON_CreateObject();
        for (int i = 0; type->labels[i]; i++)
            cJSON_AddStringToObject(labels, type->labels[i], segs[2 * i + 1]);
        return resource_json(type->type, labels);
    }
    char project[64];
    cJSON *labels = cJSON_CreateObject();
    cJSON_AddStringToObject(labels, "project_id",
                            project_of(resource, project, sizeof(project)) ? project : "");
    cJSON_AddStringToObject(labels, "service", google_service);
    cJSON_AddStringToObject(labels, "method", method);
    return resource_json("audited_resource", labels);
}

/* --- entries --- */

/* The control plane serves more than one Google API: Organization Policy's and Service
 * Usage's methods are theirs, the rest Resource Manager's (its descriptor's). */
static const char *control_api_of(const char *method)
{
    static const struct {
        const char *method, *api;
    } methods[] = {
        {"CreatePolicy", "orgpolicy.googleapis.com"},
        {"GetPolicy", "orgpolicy.googleapis.com"},
        {"UpdatePolicy", "orgpolicy.googleapis.com"},
        {"DeletePolicy", "orgpolicy.googleapis.com"},
        {"ListPolicies", "orgpolicy.googleapis.com"},
        {"ListConstraints", "orgpolicy.googleapis.com"},
        {"GetEffectivePolicy", "orgpolicy.googleapis.com"},
        {"EnableService", "serviceusage.googleapis.com"},
        {"DisableService", "serviceusage.googleapis.com"},
        {"GetService", "serviceusage.googleapis.com"},
        {"ListServices", "serviceusage.googleapis.com"},
        {"BatchEnableServices", "serviceusage.googleapis.com"},
    };
    for (size_t i = 0; method && i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(method, methods[i].method) == 0)
            return methods[i].api;
    return NULL;
}

static void google_service_of(const char *service, const char *method, char *out, size_t len)
{
    const char *api = strcmp(service, control_descriptor.name) == 0 ? control_api_of(method) : NULL;
    if (api) {
        snprintf(out, len, "%s", api);
        return;
    }
    const struct em_service_desc *desc = em_service_desc_find(service);
    if (desc)
        snprintf(out, len, "%s", desc->google_service);
    else
        snprintf(out, len, "%s.googleapis.com", service);
}

static const char *principal_email(const char *principal)
{
    static const char *const prefixes[] = {"user:", "serviceAccount:", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(principal, prefixes[i], strlen(prefixes[i])) == 0)
            return principal + strlen(prefixes[i]);
    return principal;
}

static const char *severity_of(const struct em_audit_entry *e)
{
    if (e->code != 0)
        return "ERROR";
    return e->kind == EM_AUDIT_ADMIN ? "NOTICE" : "INFO";
}

static cJSON *status_json(const struct em_audit_entry *e)
{
    cJSON *status = cJSON_CreateObject();
    if (e->code != 0) {
        cJSON_AddNumberToObject(status, "code", e->code);
        cJSON_AddStringToObject(status, "message", e->message ? e->message : "");
    }
    return status;
}

static cJSON *audit_payload(const struct em_audit_entry *e, const char *google_service)
{
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddStringToObject(payload, "@type", AUDIT_LOG_TYPE);
    cJSON_AddStringToObject(payload, "serviceName", google_service);
    cJSON_AddStringToObject(payload, "methodName", e->method);
    cJSON_AddStringToObject(payload, "resourceName", e->resource);
    cJSON *auth = cJSON_AddObjectToObject(payload, "authenticationInfo");
    cJSON_AddStringToObject(auth, "principalEmail", principal_email(e->principal));
    cJSON_AddItemToObject(payload, "status", status_json(e));
    if (e->key_version || e->caller || e->justification) {
        cJSON *metadata = cJSON_AddObjectToObject(payload, "metadata");
        if (e->key_version)
            cJSON_AddStringToObject(metadata, "cryptoKeyVersion", e->key_version);
        if (e->caller)
            cJSON_AddStringToObject(metadata, "callerResource", e->caller);
        if (e->justification) {
            cJSON *kaj = cJSON_AddObjectToObject(metadata, "keyAccessJustification");
            cJSON_AddStringToObject(kaj, "reason", e->justification);
            cJSON_AddBoolToObject(kaj, "policyEnforced", e->justification_enforced);
        }
    }
    return payload;
}

cJSON *control_log_entry(const struct em_audit_row *row)
{
    const struct em_audit_entry *e = &row->entry;
    char project[64], google_service[96], log_name[160], insert_id[24];
    if (!project_of(e->resource, project, sizeof(project)))
        return NULL;
    google_service_of(e->service, e->method, google_service, sizeof(google_service));
    snprintf(log_name, sizeof(log_name), "projects/%s/logs/%s", project,
             e->kind == EM_AUDIT_ADMIN ? LOG_ACTIVITY : LOG_DATA_ACCESS);
    snprintf(insert_id, sizeof(insert_id), "%lld", (long long)row->id);
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "logName", log_name);
    cJSON_AddItemToObject(entry, "resource",
                          control_log_resource(e->resource, google_service, e->method));
    em_json_add_time(entry, "timestamp", e->time_ns);
    em_json_add_time(entry, "receiveTimestamp", e->time_ns);
    cJSON_AddStringToObject(entry, "insertId", insert_id);
    cJSON_AddStringToObject(entry, "severity", severity_of(e));
    cJSON_AddItemToObject(entry, "protoPayload", audit_payload(e, google_service));
    return entry;
}

/* --- page tokens --- */

char *control_log_token_make(int64_t last_id, bool descending)
{
    char text[40];
    snprintf(text, sizeof(text), "%lld:%s", (long long)last_id, descending ? "desc" : "asc");
    return em_page_token_make(text);
}

enum em_code control_log_token_read(const char *token, bool descending, int64_t *last_id,
                                    struct em_status *st)
{
    char text[40];
    if (em_page_token_read(token, text, sizeof(text), st))
        return st->code;
    long long id;
    char order[8];
    int used = 0;
    if (sscanf(text, "%lld:%5[a-z]%n", &id, order, &used) != 2 || text[used] != '\0' || id < 1 ||
        (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0))
        return EM_ERR_PAGE_TOKEN_INVALID(st, token);
    if ((strcmp(order, "desc") == 0) != descending)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The page token was made for another orderBy; repeat the request with "
                       "the orderBy of the first page.");
    *last_id = id;
    return EM_OK;
}

/* --- entries:list --- */

struct list_query {
    const char *projects[CONTROL_LOG_PROJECTS_MAX];
    size_t project_count;
    struct em_filter *filter;
    bool descending;
    int page_size;
    int64_t after_id;
};

struct list_scan {
    const struct list_query *query;
    int64_t scan_limit, scanned, last_id;
    cJSON *entries;
    int count;
    bool more; /* stopped before the end of the log */
};

static enum em_code add_project(struct list_query *q, const char *id, const char *field,
                                struct em_status *st)
{
    if (em_project_check(id, st)) {
        char why[EM_STATUS_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%s", st->message);
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: %s", field, why);
    }
    if (q->project_count == CONTROL_LOG_PROJECTS_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s: at most %d projects may be listed.", field,
                       CONTROL_LOG_PROJECTS_MAX);
    q->projects[q->project_count++] = id;
    return EM_OK;
}

static enum em_code parse_resource_names(const cJSON *request, struct list_query *q,
                                         struct em_status *st)
{
    const cJSON *item;
    int i = 0;
    char field[48];
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(request, "resourceNames"))
    {
        snprintf(field, sizeof(field), "resource_names[%d]", i++);
        const char *name = cJSON_IsString(item) ? item->valuestring : "";
        if (strncmp(name, "projects/", 9) != 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "%s: \"%.100s\" is not a supported resource name; expected "
                           "projects/PROJECT_ID.",
                           field, name);
        if (add_project(q, name + 9, field, st))
            return st->code;
    }
    i = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(request, "projectIds"))
    {
        snprintf(field, sizeof(field), "project_ids[%d]", i++);
        if (add_project(q, cJSON_IsString(item) ? item->valuestring : "", field, st))
            return st->code;
    }
    if (q->project_count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "resource_names: at least one resource name (projects/PROJECT_ID) is "
                       "required.");
    return EM_OK;
}

/* "timestamp", "timestamp asc" or "timestamp desc", any case and spacing. */
static enum em_code parse_order(const char *text, bool *descending, struct em_status *st)
{
    char words[2][16] = {"", ""};
    char rest[2] = "";
    int n = text ? sscanf(text, "%15s %15s %1s", words[0], words[1], rest) : 0;
    for (int w = 0; w < 2; w++)
        for (char *p = words[w]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    *descending = n >= 2 && strcmp(words[1], "desc") == 0;
    if (n <= 0 || (strcmp(words[0], "timestamp") == 0 &&
                   (n == 1 || (n == 2 && (*descending || strcmp(words[1], "asc") == 0)))))
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid order_by \"%.80s\": only \"timestamp asc\" and \"timestamp desc\" "
                   "are supported.",
                   text);
}

static enum em_code parse_page(const cJSON *request, struct list_query *q, struct em_status *st)
{
    int64_t size = 0;
    em_json_int64(request, "pageSize", &size);
    if (size < 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "page_size must not be negative, got %lld.",
                       (long long)size);
    q->page_size = size == 0                     ? CONTROL_LOG_PAGE_DEFAULT
                   : size > CONTROL_LOG_PAGE_MAX ? CONTROL_LOG_PAGE_MAX
                                                 : (int)size;
    const char *token = em_json_string(request, "pageToken");
    q->after_id = 0;
    if (token && *token)
        return control_log_token_read(token, q->descending, &q->after_id, st);
    return EM_OK;
}

static enum em_code parse_query(const cJSON *request, struct list_query *q, struct em_status *st)
{
    memset(q, 0, sizeof(*q));
    if (parse_resource_names(request, q, st) ||
        parse_order(em_json_string(request, "orderBy"), &q->descending, st) ||
        parse_page(request, q, st))
        return st->code;
    const char *filter = em_json_string(request, "filter");
    return em_filter_parse(filter ? filter : "", &q->filter, st);
}

static bool project_wanted(const struct list_query *q, const char *resource)
{
    char project[64];
    if (!project_of(resource, project, sizeof(project)))
        return false;
    for (size_t i = 0; i < q->project_count; i++)
        if (strcmp(q->projects[i], project) == 0)
            return true;
    return false;
}

static bool visit_row(const struct em_audit_row *row, void *arg)
{
    struct list_scan *s = arg;
    s->scanned++;
    s->last_id = row->id;
    if (project_wanted(s->query, row->entry.resource)) {
        cJSON *entry = control_log_entry(row);
        if (entry && em_filter_match(s->query->filter, entry)) {
            cJSON_AddItemToArray(s->entries, entry);
            s->count++;
        } else {
            cJSON_Delete(entry);
        }
    }
    s->more = s->count == s->query->page_size || s->scanned >= s->scan_limit;
    return !s->more;
}

static cJSON *list_reply(struct list_scan *s)
{
    cJSON *reply = cJSON_CreateObject();
    if (s->count > 0)
        cJSON_AddItemToObject(reply, "entries", s->entries);
    else
        cJSON_Delete(s->entries);
    s->entries = NULL;
    if (s->more) {
        char *token = control_log_token_make(s->last_id, s->query->descending);
        cJSON_AddStringToObject(reply, "nextPageToken", token ? token : "");
        free(token);
    }
    return reply;
}

struct usage_scan {
    const char *project, *google_service;
    int64_t since_ns;
    bool used;
};

static bool visit_usage(const struct em_audit_row *row, void *arg)
{
    struct usage_scan *u = arg;
    if (row->entry.time_ns < u->since_ns)
        return false;
    char project[64], service[128];
    if (row->entry.resource && row->entry.service &&
        project_of(row->entry.resource, project, sizeof(project)) &&
        strcmp(project, u->project) == 0) {
        google_service_of(row->entry.service, row->entry.method, service, sizeof(service));
        u->used = strcmp(service, u->google_service) == 0;
    }
    return !u->used;
}

enum em_code control_log_service_used(struct em_store *store, const char *project,
                                      const char *google_service, int64_t since_ns, bool *used,
                                      struct em_status *st)
{
    struct usage_scan u = {project, google_service, since_ns, false};
    if (em_audit_scan(store, true, 0, visit_usage, &u, st))
        return st->code;
    *used = u.used;
    return EM_OK;
}

enum em_code control_log_list(struct em_store *store, const cJSON *request, int64_t scan_limit,
                              cJSON **reply, struct em_status *st)
{
    struct list_query q;
    if (parse_query(request, &q, st)) {
        em_filter_free(q.filter);
        return st->code;
    }
    struct list_scan s = {
        .query = &q, .scan_limit = scan_limit > 0 ? scan_limit : 1, .entries = cJSON_CreateArray()};
    enum em_code code = em_audit_scan(store, q.descending, q.after_id, visit_row, &s, st);
    em_filter_free(q.filter);
    if (code) {
        cJSON_Delete(s.entries);
        return code;
    }
    *reply = list_reply(&s);
    return EM_OK;
}
