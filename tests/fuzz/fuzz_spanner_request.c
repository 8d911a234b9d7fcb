/*
 * fuzz_spanner_request: libFuzzer target for Spanner's admin request path: routing, query
 * and body parsing, schema checks, handlers (instances, databases, DDL, operations, IAM)
 * and error rendering, through em_dispatch() with a real Spanner service on a temporary
 * data directory (no sockets; see fuzz_service.h).
 *
 * An instance and a database with a table exist so that inputs reach the database and
 * DDL handlers.
 */
#include "fuzz_service.h"
#include "spanner/spanner_service.h"

#define PROJECT "/v1/projects/fuzz-project"

static void create_fixtures(void)
{
    fuzz_service_call("POST", PROJECT "/instances", NULL, NULL,
                      "{\"instanceId\":\"inst\",\"instance\":{\"config\":\"projects/fuzz-project/"
                      "instanceConfigs/emulator-config\",\"displayName\":\"Fuzz instance\"}}");
    fuzz_service_call("POST", PROJECT "/instances/inst/databases", NULL, NULL,
                      "{\"createStatement\":\"CREATE DATABASE `db`\",\"extraStatements\":["
                      "\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\"]}");
}

FUZZ_SERVICE_TARGET(spanner_service, NULL, create_fixtures)
