/*
 * fuzz_bigtable_service: libFuzzer target for the Bigtable service's request path: routing,
 * query and body parsing, schema checks, the admin handlers (instances, clusters, app
 * profiles, tables, operations, IAM), the data handlers (readRows with row sets and
 * filters, mutateRow(s), checkAndMutateRow, readModifyWriteRow, sampleRowKeys, ping) on
 * real replicas, and error rendering, through em_dispatch() with a real Bigtable service
 * on a temporary data directory (no sockets, no KMS: Google default encryption; see
 * fuzz_service.h). The parsers alone are fuzzed by fuzz_bigtable_request and
 * fuzz_bigtable_filter.
 *
 * An instance with two clusters, a table, a single-cluster app profile and a backup on
 * the east cluster (expiring a day after the emulator clock's now) exist so that inputs
 * reach every handler, backups, copies and restores included. State is reset every 500
 * inputs so memory stays bounded.
 */
#include "bigtable/bigtable_service.h"
#include "em_clock.h"
#include "em_json.h"
#include "fuzz_service.h"

#include <stdio.h>

#define INST "/v2/projects/fuzz-project/instances/inst-fuzz"

static void create_fixtures(void)
{
    fuzz_service_call("POST", "/v2/projects/fuzz-project/instances", NULL, NULL,
                      "{\"instanceId\":\"inst-fuzz\",\"instance\":{\"displayName\":\"Fuzz\"},"
                      "\"clusters\":{\"east-c1\":{\"location\":\"projects/fuzz-project/locations/"
                      "us-east1-b\",\"serveNodes\":1},\"west-c2\":{\"location\":\"projects/"
                      "fuzz-project/locations/us-west1-a\",\"serveNodes\":1}}}");
    fuzz_service_call("POST", INST "/tables", NULL, NULL,
                      "{\"tableId\":\"t\",\"table\":{\"columnFamilies\":{\"cf\":{\"gcRule\":{"
                      "\"maxNumVersions\":2}},\"cf2\":{}}}}");
    fuzz_service_call("POST", INST "/appProfiles", "appProfileId", "west",
                      "{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"}}");
    fuzz_service_call("POST", INST "/tables/t:mutateRow", NULL, NULL,
                      "{\"rowKey\":\"cjE=\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf\","
                      "\"columnQualifier\":\"cQ==\",\"timestampMicros\":\"-1\",\"value\":"
                      "\"dg==\"}}]}");
    char expire[EM_TIME_TEXT_MAX], body[256];
    em_time_format(em_clock_now() + 24 * 3600 * EM_NS_PER_SEC, expire);
    snprintf(body, sizeof(body),
             "{\"sourceTable\":\"projects/fuzz-project/instances/inst-fuzz/tables/t\","
             "\"expireTime\":\"%s\"}",
             expire);
    fuzz_service_call("POST", INST "/clusters/east-c1/backups", "backupId", "bk", body);
}

FUZZ_SERVICE_TARGET(bigtable_service, NULL, create_fixtures)
