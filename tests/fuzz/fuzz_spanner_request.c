/*
 * fuzz_spanner_request: libFuzzer target for Spanner's admin request path: routing, query
 * and body parsing, schema checks, handlers (instances, databases, DDL, backups with their
 * query-string encryption config, copy, restore, operations, IAM) and error rendering,
 * through em_dispatch() with a real Spanner service on a temporary data directory (no
 * sockets; see fuzz_service.h).
 *
 * An instance, a database with a table and a backup of it (expiring a day from now) exist
 * so that inputs reach the database, DDL, backup and restore handlers. State is reset
 * every 500 inputs so memory stays bounded.
 */
#include "em_clock.h"
#include "em_json.h"
#include "fuzz_service.h"
#include "spanner/spanner_service.h"

#define PROJECT "/v1/projects/fuzz-project"

static unsigned runs;

static void create_fixtures(void)
{
    fuzz_service_call("POST", PROJECT "/instances", NULL, NULL,
                      "{\"instanceId\":\"inst\",\"instance\":{\"config\":\"projects/fuzz-project/"
                      "instanceConfigs/emulator-config\",\"displayName\":\"Fuzz instance\"}}");
    fuzz_service_call("POST", PROJECT "/instances/inst/databases", NULL, NULL,
                      "{\"createStatement\":\"CREATE DATABASE `db`\",\"extraStatements\":["
                      "\"CREATE TABLE T (K INT64 NOT NULL, V STRING(MAX)) PRIMARY KEY (K)\"]}");
    char expire[EM_TIME_TEXT_MAX], body[256];
    em_time_format(em_clock_now() + 86400 * EM_NS_PER_SEC, expire);
    snprintf(body, sizeof(body),
             "{\"database\":\"projects/fuzz-project/instances/inst/databases/db\","
             "\"expireTime\":\"%s\"}",
             expire);
    fuzz_service_call("POST", PROJECT "/instances/inst/backups", "backupId", "bk", body);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_service_open(&spanner_service);
    create_fixtures();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_service_request(data, size);
    if (++runs % 500 == 0) {
        struct em_status st = {0};
        fuzz_svc->def->reset(fuzz_svc, &st);
        create_fixtures();
    }
    return 0;
}
