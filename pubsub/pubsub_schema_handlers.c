/*
 * pubsub_schema_handlers: the REST methods of Pub/Sub's SchemaService, thin glue between
 * the calls and pubsub_schemas.h: names from the path (a revision as
 * projects/p/schemas/s@<revision ID>), the checked body through pubsub_json_schemas.c,
 * the reply in the view asked for (Get: FULL unless BASIC is asked; List and
 * ListRevisions: BASIC unless FULL is asked, as the API documents).
 *
 * Google reference: https://cloud.google.com/pubsub/docs/reference/rest/v1/projects.schemas
 */
#include "pubsub_handlers.h"

#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"
#include "pubsub_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN (PS_NAME_MAX + PS_SCHEMA_REVISION_ID_LEN + 2)

static struct ps_registry *registry(struct em_call *call)
{
    return call->svc->ctx;
}

/* "projects/<p>/schemas/<id>" with Google's rules for the IDs. */
static enum em_code check_schema_name(const char *name, struct em_status *st)
{
    char project[64], id[260];
    return ps_parse_name(name, "schemas", project, sizeof(project), id, sizeof(id), st);
}

/* A schema's name, and the revision ID after '@' if any ("" when none). */
static enum em_code split_revision(const char *text, char name[NAME_MAX_LEN],
                                   char revision[PS_SCHEMA_REVISION_ID_LEN + 1],
                                   struct em_status *st)
{
    const char *at = strchr(text, '@');
    size_t len = at ? (size_t)(at - text) : strlen(text);
    revision[0] = '\0';
    if (len >= NAME_MAX_LEN || (at && strlen(at + 1) > PS_SCHEMA_REVISION_ID_LEN))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid schema name (name=%.300s).", text);
    memcpy(name, text, len);
    name[len] = '\0';
    if (at)
        snprintf(revision, PS_SCHEMA_REVISION_ID_LEN + 1, "%s", at + 1);
    return check_schema_name(name, st);
}

/* The same for the path variable var. */
static enum em_code split_name(struct em_call *call, const char *var, char name[NAME_MAX_LEN],
                               char revision[PS_SCHEMA_REVISION_ID_LEN + 1])
{
    return split_revision(em_call_var(call, var), name, revision, &call->status);
}

/* google.pubsub.v1.SchemaView: the `view` of GetSchema, ListSchemas and
 * ListSchemaRevisions. */
static const struct em_enum_value schema_view_values[] = {
    {"SCHEMA_VIEW_UNSPECIFIED", 0}, {"BASIC", 1}, {"FULL", 2}, {NULL}};
static const struct em_enum schema_view_enum = {"google.pubsub.v1.SchemaView", schema_view_values};

/* The view query argument: full (FULL), basic (BASIC) or, UNSPECIFIED or none, the
 * method's default. */
static enum em_code read_view(struct em_call *call, bool default_full, bool *full)
{
    int number;
    *full = default_full;
    if (em_schema_query_enum("view", em_call_query(call, "view"), &schema_view_enum, &number,
                             &call->status))
        return call->status.code;
    if (number) /* BASIC 1, FULL 2 */
        *full = number == 2;
    return EM_OK;
}

/* Replies with one revision (FULL) and drops the reference. */
static enum em_code revision_reply(struct em_call *call, struct ps_revision *rev, bool full)
{
    cJSON *reply = ps_json_schema(rev, full);
    ps_revision_put(rev);
    return em_call_reply(call, reply);
}

/* Replies with a list of revisions under "schemas", in pages. */
static enum em_code revisions_reply(struct em_call *call, struct ps_revisions *revs, bool full)
{
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; items && i < revs->count; i++)
        cJSON_AddItemToArray(items, ps_json_schema(revs->items[i], full));
    ps_revisions_free(revs);
    struct em_list_options opt = {"schemas", 100, 1000, false};
    return em_list_reply(call, items, &opt);
}

enum em_code ps_create_schema(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "schemaId");
    char name[NAME_MAX_LEN];
    if (!id || !*id)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "Invalid [schemas] name: (name=%.200s/schemas/): schemaId is "
                            "required.",
                            parent);
    if (snprintf(name, sizeof(name), "%s/schemas/%s", parent, id) >= (int)sizeof(name))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid schema ID \"%.300s\".", id);
    if (check_schema_name(name, &call->status))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%.*s",
             (int)sizeof(call->audit_resource) - 1, name);
    struct ps_revision *rev;
    if (ps_schema_create(registry(call), name, ps_json_schema_type(call->body),
                         em_json_string(call->body, "definition"), em_clock_now(), &rev,
                         &call->status))
        return call->status.code;
    return revision_reply(call, rev, true);
}

enum em_code ps_get_schema(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    bool full;
    struct ps_revision *rev;
    if (split_name(call, "name", name, revision) || read_view(call, true, &full) ||
        ps_schema_get(registry(call), name, *revision ? revision : NULL, &rev, &call->status))
        return call->status.code;
    return revision_reply(call, rev, full);
}

enum em_code ps_list_schemas(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    char project[128], prefix[200];
    bool full;
    if (!em_name_id(parent, "projects", project, sizeof(project)))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "Invalid project \"%.100s\".", parent);
    if (em_project_check(project, &call->status) || read_view(call, false, &full))
        return call->status.code;
    snprintf(prefix, sizeof(prefix), "projects/%s/schemas/", project);
    struct ps_revisions revs;
    if (!ps_schemas_list(registry(call), prefix, &revs))
        return EM_FAIL_OOM(&call->status);
    return revisions_reply(call, &revs, full);
}

enum em_code ps_list_schema_revisions(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    bool full;
    struct ps_revisions revs;
    if (split_name(call, "name", name, revision) || read_view(call, false, &full) ||
        ps_schema_revisions(registry(call), name, &revs, &call->status))
        return call->status.code;
    return revisions_reply(call, &revs, full);
}

enum em_code ps_commit_schema(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    if (split_name(call, "name", name, revision))
        return call->status.code;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(call->body, "schema");
    if (!cJSON_IsObject(schema))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "CommitSchemaRequest.schema is required.");
    struct ps_revision *rev;
    if (ps_schema_commit(registry(call), name, ps_json_schema_type(schema),
                         em_json_string(schema, "definition"), em_clock_now(), &rev, &call->status))
        return call->status.code;
    return revision_reply(call, rev, true);
}

enum em_code ps_rollback_schema(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    struct ps_revision *rev;
    if (split_name(call, "name", name, revision) ||
        ps_schema_rollback(registry(call), name, em_json_string(call->body, "revisionId"),
                           em_clock_now(), &rev, &call->status))
        return call->status.code;
    return revision_reply(call, rev, true);
}

enum em_code ps_delete_schema_revision(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    if (split_name(call, "name", name, revision))
        return call->status.code;
    const char *deprecated = em_call_query(call, "revisionId");
    const char *id = *revision ? revision : deprecated ? deprecated : "";
    struct ps_revision *rev;
    if (ps_schema_delete_revision(registry(call), name, id, &rev, &call->status))
        return call->status.code;
    return revision_reply(call, rev, true);
}

enum em_code ps_delete_schema(struct em_call *call)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    if (split_name(call, "name", name, revision))
        return call->status.code;
    if (*revision)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "DeleteSchema takes a schema, not a revision: use DeleteSchemaRevision "
                            "to delete revision %s.",
                            revision);
    if (ps_schema_delete(registry(call), name, &call->status))
        return call->status.code;
    struct em_status ignored = {0};
    em_iam_delete_under(call->svc->store, name, &ignored);
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code ps_validate_schema(struct em_call *call)
{
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(call->body, "schema");
    struct ps_schema_def *def;
    if (!cJSON_IsObject(schema))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "ValidateSchemaRequest.schema is required.");
    if (ps_schema_def_new(ps_json_schema_type(schema), em_json_string(schema, "definition"), &def,
                          &call->status))
        return call->status.code;
    ps_schema_def_free(def);
    return em_call_reply(call, cJSON_CreateObject());
}

/* A message the schema refuses: the reason after Google's words. */
static enum em_code message_refused(struct em_status *st)
{
    if (st->code != EM_INVALID_ARGUMENT)
        return st->code;
    char reason[EM_STATUS_MESSAGE_MAX];
    snprintf(reason, sizeof(reason), "%s", st->message);
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid data in message: %.500s", reason);
}

/* ValidateMessage against the ad-hoc schema of the request. */
static enum em_code validate_ad_hoc(const cJSON *schema, enum ps_encoding encoding,
                                    const unsigned char *msg, size_t len, struct em_status *st)
{
    struct ps_schema_def *def;
    if (ps_schema_def_new(ps_json_schema_type(schema), em_json_string(schema, "definition"), &def,
                          st))
        return st->code;
    enum em_code code = ps_schema_def_check(def, encoding, msg, len, st);
    ps_schema_def_free(def);
    return code ? message_refused(st) : EM_OK;
}

/* ValidateMessage against a stored schema: its newest revision, or the one named
 * (<schema>@<revision ID>). */
static enum em_code validate_named(struct ps_registry *reg, const char *text,
                                   enum ps_encoding encoding, const unsigned char *msg, size_t len,
                                   struct em_status *st)
{
    char name[NAME_MAX_LEN], revision[PS_SCHEMA_REVISION_ID_LEN + 1];
    if (split_revision(text, name, revision, st))
        return st->code;
    if (ps_schema_validate_message(reg, name, *revision ? revision : NULL, encoding, msg, len, st))
        return st->code == EM_NOT_FOUND ? st->code : message_refused(st);
    return EM_OK;
}

enum em_code ps_validate_message(struct em_call *call)
{
    const char *name = em_json_string(call->body, "name");
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(call->body, "schema");
    const char *data = em_json_string(call->body, "message");
    enum ps_encoding encoding = ps_json_encoding(call->body);
    if (encoding == PS_ENCODING_UNSPECIFIED)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT, "No encoding provided.");
    if ((name && *name) == cJSON_IsObject(schema))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "ValidateMessageRequest must name a schema (name) or carry one "
                            "(schema), not both.");
    unsigned char *msg = NULL;
    size_t len = 0;
    if (data && !em_b64_decode(data, strlen(data), &msg, &len))
        return EM_FAIL_OOM(&call->status);
    enum em_code code =
        name && *name ? validate_named(registry(call), name, encoding, msg, len, &call->status)
                      : validate_ad_hoc(schema, encoding, msg, len, &call->status);
    free(msg);
    return code ? code : em_call_reply(call, cJSON_CreateObject());
}

/* IAM on a schema: it must exist. */
enum em_code ps_schema_iam_check(struct em_call *call, const char *name)
{
    struct ps_revision *rev;
    if (check_schema_name(name, &call->status) ||
        ps_schema_get(registry(call), name, NULL, &rev, &call->status))
        return call->status.code;
    ps_revision_put(rev);
    return EM_OK;
}
