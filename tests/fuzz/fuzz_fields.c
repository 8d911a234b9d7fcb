/*
 * fuzz_fields: arbitrary bytes as a `fields` selection (em_fields_parse), applied to a
 * reply with objects, arrays, maps and scalars at several depths. A selection is accepted
 * or refused with INVALID_ARGUMENT; applying one must never read freed memory or leave
 * the reply other than a pruned copy: every member it keeps was in the reply.
 */
#include "em_fields.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const REPLY =
    "{\"name\":\"n\",\"items\":[{\"id\":1,\"tags\":[\"a\",\"b\"],\"labels\":{\"k\":\"v\"}},"
    "{\"id\":2,\"nested\":{\"deep\":{\"deeper\":[{\"x\":1},2,\"s\"]}}},3],"
    "\"page\":{\"token\":\"t\",\"size\":2},\"empty\":{},\"none\":[]}";

/* Whether every member of got is in want at the same place (got is want pruned). */
static bool pruned_from(const cJSON *got, const cJSON *want)
{
    if (cJSON_IsObject(got)) {
        const cJSON *member;
        cJSON_ArrayForEach(member, got)
        {
            const cJSON *there = cJSON_GetObjectItemCaseSensitive(want, member->string);
            if (!there || !pruned_from(member, there))
                return false;
        }
        return cJSON_IsObject(want);
    }
    if (cJSON_IsArray(got))
        return cJSON_IsArray(want) && cJSON_GetArraySize(got) <= cJSON_GetArraySize(want);
    return cJSON_Compare(got, want, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct em_fields *fields;
    struct em_status st = {0};
    if (em_fields_parse(text, &fields, &st) != EM_OK) {
        if (st.code != EM_INVALID_ARGUMENT && st.code != EM_INTERNAL)
            abort();
        free(text);
        return 0;
    }
    cJSON *original = cJSON_Parse(REPLY), *reply = cJSON_Duplicate(original, true);
    em_fields_apply(fields, reply);
    if (!pruned_from(reply, original))
        abort();
    em_fields_free(fields);
    cJSON_Delete(reply);
    cJSON_Delete(original);
    free(text);
    return 0;
}
