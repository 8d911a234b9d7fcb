/*
 * control_routes: the control plane's route table: method + Google path template ->
 * handler. The core adds GET /health and the internal tick/reset/flush routes.
 *
 * References: cloudresourcemanager v1 and logging v2 in the gcloud SDK
 * (lib/googlecloudsdk/generated_clients/apis/{cloudresourcemanager/v1,logging/v2}).
 */
#include "control.h"

#include "em_iam.h"
#include "em_router.h"

const struct em_route control_routes[] = {
    /* the status page for people, and the emulator's own API */
    {"GET", "/", control_status_page, "StatusPage"},
    {"GET", "emulator/v1/status", control_get_status, "GetStatus"},
    {"GET", "emulator/v1/clock", control_get_clock, "GetClock"},
    {"POST", "emulator/v1/clock:advance", control_advance_clock, "AdvanceClock",
     &control_advance_request},
    {"POST", "emulator/v1/reset", control_reset, "Reset", &control_empty_request},
    {"POST", "emulator/v1/services/{service}:stop", control_stop_service, "StopService",
     &control_empty_request},
    {"POST", "emulator/v1/services/{service}:start", control_start_service, "StartService",
     &control_empty_request},
    {"POST", "emulator/v1/keyChecks:run", control_run_key_checks, "RunKeyChecks",
     &control_empty_request},
    {"GET", "emulator/v1/faults", control_get_faults, "GetFaults"},
    {"POST", "emulator/v1/faults", control_set_faults, "SetFaults", &control_faults_request},
    {"GET", "emulator/v1/protectedResources", control_list_protected_resources,
     "ListProtectedResources"},
    /* the customer's side of the simulated external key manager (Cloud EKM) */
    {"GET", "emulator/v1/ekm/keys", control_list_ekm_keys, "ListEkmKeys"},
    {"POST", "emulator/v1/ekm/keys", control_create_ekm_key, "CreateEkmKey",
     &control_ekm_key_request},
    {"POST", "emulator/v1/ekm/keys:disable", control_disable_ekm_key, "DisableEkmKey",
     &control_ekm_key_request},
    {"POST", "emulator/v1/ekm/keys:enable", control_enable_ekm_key, "EnableEkmKey",
     &control_ekm_key_request},
    {"POST", "emulator/v1/ekm/keys:destroy", control_destroy_ekm_key, "DestroyEkmKey",
     &control_ekm_key_request},
    {"POST", "emulator/v1/ekm/keys:move", control_move_ekm_key, "MoveEkmKey",
     &control_ekm_move_request},
    /* Key Access Justifications: an access for a reason of Google's, through KMS */
    {"POST", "emulator/v1/kaj:simulateAccess", control_simulate_key_access, "SimulateKeyAccess",
     &control_kaj_access_request},

    /* Resource Manager v1: projects exist implicitly; an update sets name, labels, parent */
    {"GET", "v1/projects", control_list_projects, "ListProjects"},
    {"GET", "v1/{name=projects/*}", control_get_project, "GetProject", NULL, NULL,
     "resourcemanager.projects.get", EM_AUDIT_DATA_ACCESS, .reply = &control_project_message},
    /* a PUT: display name, labels and parent are replaced (gcloud projects update, move) */
    {"PUT", "v1/{name=projects/*}", control_update_project, "UpdateProject",
     &control_project_message, NULL, "resourcemanager.projects.update", EM_AUDIT_ADMIN,
     .reply = &control_project_message},
    {"POST", "v1/{name=projects/*}:getAncestry", control_get_project_ancestry, "GetAncestry",
     &control_empty_request, NULL, "resourcemanager.projects.get", EM_AUDIT_DATA_ACCESS},
    /* the same ancestry for the emulator's own processes (Cloud KMS Autokey asks it as its
     * service agent would: no caller's permission, the internal credential instead) */
    {"GET", "emulator/v1/internal/{name=projects/*}:ancestry", control_get_project_ancestry,
     "GetAncestry", .internal = true},
    {"POST", "v1/{resource=projects/*}:getIamPolicy", em_iam_handle_get, "GetIamPolicy",
     &em_iam_get_request, NULL, "resourcemanager.projects.getIamPolicy", EM_AUDIT_DATA_ACCESS},
    {"POST", "v1/{resource=projects/*}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, "resourcemanager.projects.setIamPolicy", EM_AUDIT_ADMIN},
    {"POST", "v1/{resource=projects/*}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request},
    /* Resource Manager v2 folders and v1 organizations: they exist as soon as they are
     * named; their IAM policies grant on what is in them (the projects moved there, Cloud
     * KMS Autokey's configurations) */
    {"POST", "v1/{resource=organizations/*}:getIamPolicy", em_iam_handle_get, "GetIamPolicy",
     &em_iam_get_request, NULL, "resourcemanager.organizations.getIamPolicy", EM_AUDIT_DATA_ACCESS},
    {"POST", "v1/{resource=organizations/*}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, "resourcemanager.organizations.setIamPolicy", EM_AUDIT_ADMIN},
    {"POST", "v1/{resource=organizations/*}:testIamPermissions", em_iam_handle_test,
     "TestIamPermissions", &em_iam_test_request},
    {"POST", "v2/{resource=folders/*}:getIamPolicy", em_iam_handle_get, "GetIamPolicy",
     &em_iam_get_request, NULL, "resourcemanager.folders.getIamPolicy", EM_AUDIT_DATA_ACCESS},
    {"POST", "v2/{resource=folders/*}:setIamPolicy", em_iam_handle_set, "SetIamPolicy",
     &em_iam_set_request, NULL, "resourcemanager.folders.setIamPolicy", EM_AUDIT_ADMIN},
    {"POST", "v2/{resource=folders/*}:testIamPermissions", em_iam_handle_test, "TestIamPermissions",
     &em_iam_test_request},
    /* Resource Manager v2 folders as resources (control_folders.h); permissions are
     * checked in the handlers (the parent of a create or list is a query parameter) */
    {"POST", "v2/folders", control_create_folder, "CreateFolder", &control_folder_message, "folder",
     NULL, EM_AUDIT_ADMIN},
    {"GET", "v2/folders", control_list_folders, "ListFolders", .reply = &control_folder_message},
    {"POST", "v2/folders:search", NULL, "SearchFolders"},
    {"GET", "v2/{name=folders/*}", control_get_folder, "GetFolder",
     .reply = &control_folder_message},
    {"PATCH", "v2/{name=folders/*}", control_update_folder, "UpdateFolder", &control_folder_message,
     "folder", NULL, EM_AUDIT_ADMIN, .reply = &control_folder_message},
    {"POST", "v2/{name=folders/*}:move", control_move_folder, "MoveFolder",
     &control_folder_move_request, NULL, NULL, EM_AUDIT_ADMIN},
    {"DELETE", "v2/{name=folders/*}", control_delete_folder, "DeleteFolder", NULL, NULL, NULL,
     EM_AUDIT_ADMIN, .reply = &control_folder_message},
    {"POST", "v2/{name=folders/*}:undelete", control_undelete_folder, "UndeleteFolder",
     &control_empty_request, NULL, NULL, EM_AUDIT_ADMIN, .reply = &control_folder_message},
    {"GET", "v1/{name=operations/*}", control_get_operation, "GetOperation"},
    /* a project is created by gcloud projects create (its parent's permission is checked
     * in the handler), deleted and undeleted by gcloud projects delete, undelete */
    {"POST", "v1/projects", control_create_project, "CreateProject", &control_project_message, NULL,
     NULL, EM_AUDIT_ADMIN},
    {"DELETE", "v1/{name=projects/*}", control_delete_project, "DeleteProject", NULL, NULL, NULL,
     EM_AUDIT_ADMIN}, /* the permission: in the handler, once a number is resolved */
    /* Service Usage v1 (control_serviceusage.c): the operations share GET v1/operations */
    {"POST", "v1/{name=projects/*/services/*}:enable", control_enable_service, "EnableService",
     &control_empty_request, NULL, "serviceusage.services.enable", EM_AUDIT_ADMIN},
    {"POST", "v1/{name=projects/*/services/*}:disable", control_disable_service, "DisableService",
     &control_service_disable_request, NULL, "serviceusage.services.disable", EM_AUDIT_ADMIN},
    {"GET", "v1/{name=projects/*/services/*}", control_get_service, "GetService", NULL, NULL,
     "serviceusage.services.get", EM_AUDIT_DATA_ACCESS},
    {"GET", "v1/{parent=projects/*}/services", control_list_services, "ListServices", NULL, NULL,
     "serviceusage.services.list", EM_AUDIT_DATA_ACCESS},
    {"POST", "v1/{parent=projects/*}/services:batchEnable", control_batch_enable_services,
     "BatchEnableServices", &control_batch_enable_request, NULL, "serviceusage.services.enable",
     EM_AUDIT_ADMIN},
    {"POST", "v1/{name=projects/*}:undelete", control_undelete_project, "UndeleteProject",
     &control_empty_request, NULL, NULL, EM_AUDIT_ADMIN},
    /* Resource Manager v3 projects (control_projects_v3.c): the same projects, named by
     * number or ID, answered by number; permissions checked in the handlers */
    {"GET", "v3/projects:search", control_v3_search_projects, "SearchProjects"},
    {"GET", "v3/projects", control_v3_list_projects, "ListProjects"},
    {"POST", "v3/projects", control_v3_create_project, "CreateProject", &control_project_v3_message,
     NULL, NULL, EM_AUDIT_ADMIN},
    {"GET", "v3/{name=projects/*}", control_v3_get_project, "GetProject", NULL, NULL, NULL,
     EM_AUDIT_DATA_ACCESS, .reply = &control_project_v3_message},
    {"PATCH", "v3/{name=projects/*}", control_v3_update_project, "UpdateProject",
     &control_project_v3_message, NULL, NULL, EM_AUDIT_ADMIN},
    {"POST", "v3/{name=projects/*}:move", control_v3_move_project, "MoveProject",
     &control_move_project_request, NULL, NULL, EM_AUDIT_ADMIN},
    {"DELETE", "v3/{name=projects/*}", control_v3_delete_project, "DeleteProject", NULL, NULL, NULL,
     EM_AUDIT_ADMIN},
    {"POST", "v3/{name=projects/*}:undelete", control_v3_undelete_project, "UndeleteProject",
     &control_empty_request, NULL, NULL, EM_AUDIT_ADMIN},
    {"POST", "v3/{resource=projects/*}:getIamPolicy", control_v3_get_iam_policy, "GetIamPolicy",
     &em_iam_get_request, NULL, NULL, EM_AUDIT_DATA_ACCESS},
    {"POST", "v3/{resource=projects/*}:setIamPolicy", control_v3_set_iam_policy, "SetIamPolicy",
     &em_iam_set_request, NULL, NULL, EM_AUDIT_ADMIN},
    {"POST", "v3/{resource=projects/*}:testIamPermissions", control_v3_test_iam_permissions,
     "TestIamPermissions", &em_iam_test_request, NULL, NULL, EM_AUDIT_DATA_ACCESS},
    {"GET", "v3/{name=operations/*}", control_get_operation, "GetOperation"},
    /* Resource Manager liens, v1 and v3 alike: a lien's project is in its body or query,
     * so the handlers check permissions (control_liens_api.c) */
    {"POST", "v1/liens", control_create_lien, "CreateLien", &control_lien_message, NULL, NULL,
     EM_AUDIT_ADMIN},
    {"GET", "v1/liens", control_list_liens, "ListLiens"},
    {"GET", "v1/{name=liens/*}", control_get_lien, "GetLien", NULL, NULL, NULL,
     EM_AUDIT_DATA_ACCESS},
    {"DELETE", "v1/{name=liens/*}", control_delete_lien, "DeleteLien", NULL, NULL, NULL,
     EM_AUDIT_ADMIN},
    {"POST", "v3/liens", control_create_lien, "CreateLien", &control_lien_message, NULL, NULL,
     EM_AUDIT_ADMIN},
    {"GET", "v3/liens", control_list_liens, "ListLiens"},
    {"GET", "v3/{name=liens/*}", control_get_lien, "GetLien", NULL, NULL, NULL,
     EM_AUDIT_DATA_ACCESS},
    {"DELETE", "v3/{name=liens/*}", control_delete_lien, "DeleteLien", NULL, NULL, NULL,
     EM_AUDIT_ADMIN},

    /* Organization Policy v2: the CMEK constraints (em_orgpolicy.h), on projects, folders
     * and organizations; permissions are checked in the handlers, once a project number is
     * resolved to its ID */
    {"GET", "v2/{parent=projects/*}/constraints", control_list_org_constraints, "ListConstraints"},
    {"POST", "v2/{parent=projects/*}/policies", control_create_org_policy, "CreatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"GET", "v2/{parent=projects/*}/policies", control_list_org_policies, "ListPolicies"},
    {"GET", "v2/{name=projects/*/policies/*}", control_get_org_policy, "GetPolicy"},
    {"GET", "v2/{name=projects/*/policies/*}:getEffectivePolicy", control_get_effective_org_policy,
     "GetEffectivePolicy"},
    {"PATCH", "v2/{name=projects/*/policies/*}", control_update_org_policy, "UpdatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"DELETE", "v2/{name=projects/*/policies/*}", control_delete_org_policy, "DeletePolicy", NULL,
     NULL, NULL, EM_AUDIT_ADMIN},
    {"GET", "v2/{parent=folders/*}/constraints", control_list_org_constraints, "ListConstraints"},
    {"POST", "v2/{parent=folders/*}/policies", control_create_org_policy, "CreatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"GET", "v2/{parent=folders/*}/policies", control_list_org_policies, "ListPolicies"},
    {"GET", "v2/{name=folders/*/policies/*}", control_get_org_policy, "GetPolicy"},
    {"GET", "v2/{name=folders/*/policies/*}:getEffectivePolicy", control_get_effective_org_policy,
     "GetEffectivePolicy"},
    {"PATCH", "v2/{name=folders/*/policies/*}", control_update_org_policy, "UpdatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"DELETE", "v2/{name=folders/*/policies/*}", control_delete_org_policy, "DeletePolicy", NULL,
     NULL, NULL, EM_AUDIT_ADMIN},
    {"GET", "v2/{parent=organizations/*}/constraints", control_list_org_constraints,
     "ListConstraints"},
    {"POST", "v2/{parent=organizations/*}/policies", control_create_org_policy, "CreatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"GET", "v2/{parent=organizations/*}/policies", control_list_org_policies, "ListPolicies"},
    {"GET", "v2/{name=organizations/*/policies/*}", control_get_org_policy, "GetPolicy"},
    {"GET", "v2/{name=organizations/*/policies/*}:getEffectivePolicy",
     control_get_effective_org_policy, "GetEffectivePolicy"},
    {"PATCH", "v2/{name=organizations/*/policies/*}", control_update_org_policy, "UpdatePolicy",
     &control_orgpolicy_policy, "policy", NULL, EM_AUDIT_ADMIN, .reply = &control_orgpolicy_policy},
    {"DELETE", "v2/{name=organizations/*/policies/*}", control_delete_org_policy, "DeletePolicy",
     NULL, NULL, NULL, EM_AUDIT_ADMIN},

    /* Logging v2: the audit log */
    {"POST", "v2/entries:list", control_list_log_entries, "ListLogEntries",
     &control_list_entries_request},
    {NULL},
};
