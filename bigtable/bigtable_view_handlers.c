/*
 * bigtable_view_handlers: thin glue between the authorized views' REST calls (bigtableadmin
 * v2 projects.instances.tables.authorizedViews) and bigtable_views. Create and patch are
 * long-running operations, as Google's, finished when the call returns: their response is
 * the AuthorizedView, their metadata the original request with requestTime and
 * finishTime. Reference: https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.tables.authorizedViews
 */
#include "bigtable_data.h"
#include "bigtable_handlers.h"
#include "bigtable_views.h"
#include "em_clock.h"
#include "em_json.h"
#include "em_list.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <string.h>

#define ADMIN "google.bigtable.admin.v2."

/* --- request schemas (google.bigtable.admin.v2, as gcloud's generated client) --- */

static const struct em_field family_subsets_fields[] = {
    {"qualifiers", EM_F_BYTES, true}, {"qualifierPrefixes", EM_F_BYTES, true}, {NULL}};
static const struct em_message family_subsets_schema = {ADMIN "AuthorizedView.FamilySubsets",
                                                        family_subsets_fields};
static const struct em_field subset_view_fields[] = {
    {"rowPrefixes", EM_F_BYTES, true},
    {"familySubsets", EM_F_MAP, false, &family_subsets_schema},
    {NULL}};
static const struct em_message subset_view_schema = {ADMIN "AuthorizedView.SubsetView",
                                                     subset_view_fields};
static const struct em_field authorized_view_fields[] = {
    {"name", EM_F_STRING},
    {"etag", EM_F_STRING},
    {"deletionProtection", EM_F_BOOL},
    {"subsetView", EM_F_MESSAGE, false, &subset_view_schema},
    {NULL}};
const struct em_message bt_authorized_view_schema = {ADMIN "AuthorizedView",
                                                     authorized_view_fields};

/* --- helpers --- */

static struct bt_admin *admin(struct em_call *call)
{
    return ((struct bt_context *)call->svc->ctx)->admin;
}

/* The zone of the view's instance (its first cluster's), for its operations. */
static enum em_code view_zone(struct em_call *call, const char *view, char zone[64])
{
    char instance[512];
    const char *tables = strstr(view, "/tables/");
    snprintf(instance, sizeof(instance), "%.*s", tables ? (int)(tables - view) : 0, view);
    return bt_instance_zone(admin(call), instance, zone, &call->status);
}

/* An operation of kind for the view (done: its work answers the view). */
static enum em_code start_view_operation(struct em_call *call, const cJSON *view, const char *kind)
{
    const char *name = em_json_string(view, "name");
    char zone[64];
    if (view_zone(call, name, zone))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    cJSON *metadata = cJSON_CreateObject();
    cJSON *original = cJSON_AddObjectToObject(metadata, "originalRequest");
    if (strcmp(kind, "CreateAuthorizedView") == 0) {
        cJSON_AddStringToObject(original, "parent", em_call_var(call, "parent"));
        cJSON_AddStringToObject(original, "authorizedViewId",
                                em_call_query(call, "authorizedViewId"));
    }
    cJSON_AddItemToObject(original, "authorizedView",
                          call->body ? cJSON_Duplicate(call->body, true) : cJSON_CreateObject());
    return bt_handlers_start_operation(call, name, zone, kind, metadata);
}

/* --- operation work --- */

enum em_code bt_view_get_work(struct em_op *op, void *ctx, const cJSON *request, int64_t now,
                              cJSON **response, struct em_status *st)
{
    (void)op;
    (void)now;
    struct bt_context *bt = ctx;
    return bt_view_get(bt->admin, em_json_string(request, "name"), BT_AV_FULL, response, st);
}

/* --- calls --- */

enum em_code bt_create_authorized_view(struct em_call *call)
{
    cJSON *view = NULL;
    if (bt_view_create(admin(call), em_call_var(call, "parent"),
                       em_call_query(call, "authorizedViewId"), call->body, em_clock_now(), &view,
                       &call->status))
        return call->status.code;
    enum em_code rc = start_view_operation(call, view, "CreateAuthorizedView");
    cJSON_Delete(view);
    return rc;
}

enum em_code bt_get_authorized_view(struct em_call *call)
{
    enum bt_view_detail detail;
    cJSON *view = NULL;
    if (bt_view_detail_parse(em_call_query(call, "view"), BT_AV_BASIC, &detail, &call->status))
        return call->status.code;
    enum em_code rc =
        bt_view_get(admin(call), em_call_var(call, "name"), detail, &view, &call->status);
    return em_call_reply_result(call, rc, view);
}

enum em_code bt_list_authorized_views(struct em_call *call)
{
    enum bt_view_detail detail;
    cJSON *items = NULL;
    if (bt_view_detail_parse(em_call_query(call, "view"), BT_AV_NAME_ONLY, &detail,
                             &call->status) ||
        bt_view_list(admin(call), em_call_var(call, "parent"), detail, &items, &call->status))
        return call->status.code;
    struct em_list_options opt = {"authorizedViews", 0, 1000, false};
    return em_list_reply(call, items, &opt);
}

/* ignoreWarnings is accepted: the emulator has no safety checks to skip. */
enum em_code bt_update_authorized_view(struct em_call *call)
{
    cJSON *view = NULL;
    if (bt_view_update(admin(call), em_call_var(call, "name"), call->body,
                       em_call_query(call, "updateMask"), em_clock_now(), &view, &call->status))
        return call->status.code;
    enum em_code rc = start_view_operation(call, view, "UpdateAuthorizedView");
    cJSON_Delete(view);
    return rc;
}

enum em_code bt_delete_authorized_view(struct em_call *call)
{
    if (bt_view_delete(admin(call), em_call_var(call, "name"), em_call_query(call, "etag"),
                       &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}
