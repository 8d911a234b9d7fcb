/*
 * fuzz_filter: arbitrary text into em_filter_parse; whatever parses is matched against a
 * fixed resource that holds every JSON kind the matcher tells apart (strings, times,
 * int64 strings, numbers, bools, null, objects, arrays of scalars, objects and arrays)
 * and visited, then matched again as Resource Manager reads a query (em_filter_ignore_case).
 * Parsing, matching and freeing must never crash, leak or overflow the stack.
 */
#include "fuzz_text.h"
#include "em_filter.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char resource_json[] =
    "{\"name\": \"projects/p/locations/global/keyRings/r/cryptoKeys/k\","
    "\"logName\": \"projects/p/logs/cloudaudit.googleapis.com%2Factivity\","
    "\"timestamp\": \"2026-11-23T10:00:00.123Z\", \"severity\": \"WARNING\","
    "\"createTime\": \"2026-01-01T00:00:00Z\", \"state\": \"ENABLED\","
    "\"labels\": {\"env\": \"prod\", \"team\": \"kms\", \"my.key\": \"dotted\"},"
    "\"attributes\": {\"kind\": \"a\", \"region\": \"europe-west1\"},"
    "\"resource\": {\"type\": \"cloudkms_cryptokey\", \"labels\": {\"key_ring_id\": \"r\"}},"
    "\"protoPayload\": {\"methodName\": \"Encrypt\","
    "\"authenticationInfo\": {\"principalEmail\": \"alice@example.com\"}},"
    "\"versions\": [{\"state\": \"ENABLED\", \"id\": 1}, {\"state\": \"DISABLED\", \"id\": 2}],"
    "\"tags\": [\"a\", \"b\", [\"nested\", 3, [true]]],"
    "\"count\": 42, \"size\": \"9007199254740993\", \"ratio\": 0.5, \"huge\": 1e300,"
    "\"enabled\": true, \"missing\": null, \"empty\": {}}";

static bool check_visit(const char *path, const char *op, const char *value, void *arg)
{
    size_t *total = arg;
    *total += strlen(path) + strlen(op) + strlen(value);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    struct em_status st = {0};
    struct em_filter *filter = NULL;
    if (em_filter_parse(text, &filter, &st) == EM_OK) {
        cJSON *resource = cJSON_Parse(resource_json);
        size_t total = 0;
        bool exact = em_filter_match(filter, resource);
        em_filter_visit(filter, check_visit, &total);
        em_filter_ignore_case(filter);
        bool folded = em_filter_match(filter, resource);
        total += exact + folded;
        cJSON_Delete(resource);
        em_filter_free(filter);
    } else if (filter != NULL || st.code == EM_OK) {
        abort(); /* a failed parse returns no filter and says why */
    }
    free(text);
    return 0;
}
