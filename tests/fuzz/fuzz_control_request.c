/*
 * fuzz_control_request: libFuzzer target for the control plane's Google APIs: Resource
 * Manager (v1 projects get/list/update/create/delete/undelete/getAncestry, v3 projects,
 * liens, IAM on projects, folders and organizations, v2 and v3 folders), Organization
 * Policy, Service Usage and Logging (entries:list), and the customer's side of the
 * simulated EKM (/emulator/v1/ekm/keys), through em_dispatch() on a temporary data
 * directory (no sockets; see fuzz_service.h), plus the internal ancestry route as the
 * emulator's own processes call it.
 *
 * The control plane proper also supervises the services; that part is left out: this
 * target's service definition serves only the routes of Google's APIs (those under "v1/",
 * "v2/" and "v3/", and the internal ancestry), and its open hook only opens the tables of
 * projects, folders, services and liens (with no supervisor, Logging's flush of the services
 * reaches none). A project moved into a folder exists, so inputs reach the update and ancestry
 * paths, and a folder under organizations/12 (its ID drawn at random), so v2 and v3 lists
 * and v3 searches have one to answer.
 */
#include "control/control.h"
#include "control/control_folders.h"
#include "control/control_liens.h"
#include "control/control_projects.h"
#include "em_ekm.h"
#include "fuzz_service.h"

#define MAX_ROUTES 128

static struct em_route google_routes[MAX_ROUTES];

static bool google_api(const struct em_route *route)
{
    return strncmp(route->path, "v1/", 3) == 0 || strncmp(route->path, "v2/", 3) == 0 ||
           strncmp(route->path, "v3/", 3) == 0 ||
           strncmp(route->path, "emulator/v1/ekm/", 16) == 0 ||
           strstr(route->path, ":ancestry") != NULL;
}

static const struct em_route *select_routes(void)
{
    size_t n = 0;
    for (const struct em_route *r = control_routes; r->method && n + 1 < MAX_ROUTES; r++)
        if (google_api(r))
            google_routes[n++] = *r;
    return google_routes;
}

static struct control no_services; /* no supervisor, no unbuilt services */

static enum em_code projects_only_open(struct em_service *svc, struct em_status *st)
{
    svc->ctx = &no_services;
    return control_projects_open(svc->store, st) || control_folders_open(svc->store, st) ||
                   control_serviceusage_open(svc->store, st) ||
                   control_liens_open(svc->store, st) ||
                   em_ekm_open(svc->store, svc->config.data_dir, st)
               ? st->code
               : EM_OK;
}

static enum em_code projects_reset(struct em_service *svc, struct em_status *st)
{
    return control_projects_clear(svc->store, st) || control_folders_clear(svc->store, st) ||
                   control_serviceusage_clear(svc->store, st) || em_ekm_reset(svc->store, st)
               ? st->code
               : EM_OK;
}

static struct em_service_def control_google_apis = {
    .desc = &control_descriptor,
    .iam_resource_check = control_iam_resource_check,
    .open = projects_only_open,
    .reset = projects_reset,
};

static void create_fixtures(void)
{
    fuzz_service_call("PUT", "/v1/projects/fuzz-project", NULL, NULL,
                      "{\"name\":\"Fuzz Project\",\"labels\":{\"env\":\"fuzz\"},"
                      "\"parent\":{\"type\":\"folder\",\"id\":\"42\"}}");
    fuzz_service_call("POST", "/v3/folders", NULL, NULL,
                      "{\"parent\":\"organizations/12\",\"displayName\":\"fuzz\"}");
    fuzz_service_call("POST", "/v2/folders/42:setIamPolicy", NULL, NULL,
                      "{\"policy\":{\"bindings\":[{\"role\":\"roles/viewer\","
                      "\"members\":[\"user:fuzz@example.com\"]}]}}");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    control_google_apis.routes = select_routes();
    fuzz_service_start(&control_google_apis, NULL, create_fixtures);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_service_input(data, size, create_fixtures, fuzz_service_request);
    return 0;
}
