/*
 * control_liens_api: Resource Manager liens on the control plane, v1 and v3 (the same
 * messages): create, list (by parent), get, delete; gcloud alpha resource-manager liens
 * create | list | delete. Permissions are checked here, on the lien's project, once its
 * parent is resolved: resourcemanager.projects.updateLiens to create and delete,
 * resourcemanager.projects.get to read. The rules and the table are control_liens.c's.
 */
#include "control.h"

#include "control_liens.h"
#include "em_call.h"
#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_schema.h"
#include "em_service.h"

#include <stdio.h>
#include <string.h>

/* google.cloud.resourcemanager.v3.Lien (v1's is the same) */
static const struct em_field lien_fields[] = {
    {"name", EM_F_STRING},
    {"parent", EM_F_STRING},
    {"restrictions", EM_F_STRING, true},
    {"reason", EM_F_STRING},
    {"origin", EM_F_STRING},
    {"createTime", EM_F_TIMESTAMP},
    {NULL},
};
const struct em_message control_lien_message = {"google.cloud.resourcemanager.v3.Lien",
                                                lien_fields};

/* The project parent names ("projects/<id or number>"), on which the caller holds
 * permission: its ID in project_id. */
static enum em_code parent_project(struct em_call *call, const char *parent, const char *permission,
                                   char project_id[32])
{
    if (control_lien_parent_check(parent, &call->status))
        return call->status.code;
    return control_project_authorize(call, parent + strlen("projects/"), permission, project_id);
}

/* The caller holds permission on the lien's project. */
static enum em_code check_permission(struct em_call *call, const char *project_id,
                                     const char *permission)
{
    char resource[48];
    snprintf(resource, sizeof(resource), "projects/%s", project_id);
    return em_iam_check(call->svc->store, &call->svc->config, call->principal, resource, permission,
                        &call->status);
}

enum em_code control_create_lien(struct em_call *call)
{
    char project_id[32];
    if (parent_project(call, em_json_string(call->body, "parent"),
                       "resourcemanager.projects.updateLiens", project_id))
        return call->status.code;
    snprintf(call->audit_resource, sizeof(call->audit_resource), "projects/%s", project_id);
    struct control_lien lien;
    if (control_lien_create(call->svc->store, call->body, project_id, em_clock_now(), &lien,
                            &call->status))
        return call->status.code;
    return em_call_reply(call, control_lien_json(&lien));
}

static void add_lien_json(const struct control_lien *lien, void *arg)
{
    cJSON_AddItemToArray(arg, control_lien_json(lien));
}

enum em_code control_list_liens(struct em_call *call)
{
    static const struct em_list_options options = {
        .items_field = "liens", .default_page_size = 1000, .max_page_size = 1000};
    char project_id[32];
    if (parent_project(call, em_call_query(call, "parent"), "resourcemanager.projects.get",
                       project_id))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    if (control_liens_of(call->svc->store, project_id, add_lien_json, items, &call->status)) {
        cJSON_Delete(items);
        return call->status.code;
    }
    return em_list_reply(call, items, &options);
}

/* The lien the call names, which the caller may act on with permission. */
static enum em_code call_lien(struct em_call *call, const char *permission,
                              struct control_lien *lien)
{
    if (control_lien_get(call->svc->store, em_call_resource(call), lien, &call->status))
        return call->status.code;
    return check_permission(call, lien->project_id, permission);
}

enum em_code control_get_lien(struct em_call *call)
{
    struct control_lien lien;
    if (call_lien(call, "resourcemanager.projects.get", &lien))
        return call->status.code;
    return em_call_reply(call, control_lien_json(&lien));
}

enum em_code control_delete_lien(struct em_call *call)
{
    struct control_lien lien;
    if (call_lien(call, "resourcemanager.projects.updateLiens", &lien) ||
        control_lien_delete(call->svc->store, lien.name, &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}
