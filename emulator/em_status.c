/*
 * em_status: Google's error model (google.rpc.Status) for every service.
 * See em_status.h. The HTTP mapping follows google/rpc/code.proto.
 */
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int http;
} code_table[] = {
    [EM_OK] = {"OK", 200},
    [EM_CANCELLED] = {"CANCELLED", 499},
    [EM_UNKNOWN] = {"UNKNOWN", 500},
    [EM_INVALID_ARGUMENT] = {"INVALID_ARGUMENT", 400},
    [EM_DEADLINE_EXCEEDED] = {"DEADLINE_EXCEEDED", 504},
    [EM_NOT_FOUND] = {"NOT_FOUND", 404},
    [EM_ALREADY_EXISTS] = {"ALREADY_EXISTS", 409},
    [EM_PERMISSION_DENIED] = {"PERMISSION_DENIED", 403},
    [EM_RESOURCE_EXHAUSTED] = {"RESOURCE_EXHAUSTED", 429},
    [EM_FAILED_PRECONDITION] = {"FAILED_PRECONDITION", 400},
    [EM_ABORTED] = {"ABORTED", 409},
    [EM_OUT_OF_RANGE] = {"OUT_OF_RANGE", 400},
    /* 400, not Google's 501: everything this emulator answers UNIMPLEMENTED is a part of
     * Google's API it does not have, and gcloud (apitools) retries every 5xx five times
     * with backoff, half a minute in all, before it prints the message in a dump; after a
     * 400 it prints "UNIMPLEMENTED: <message>" at once. The JSON's status names the code,
     * which Google's client libraries read. */
    [EM_UNIMPLEMENTED] = {"UNIMPLEMENTED", 400},
    [EM_INTERNAL] = {"INTERNAL", 500},
    [EM_UNAVAILABLE] = {"UNAVAILABLE", 503},
    [EM_DATA_LOSS] = {"DATA_LOSS", 500},
    [EM_UNAUTHENTICATED] = {"UNAUTHENTICATED", 401},
};

#define CODE_COUNT (sizeof(code_table) / sizeof(code_table[0]))

enum em_code em_status_set(struct em_status *st, const char *file, int line, enum em_code code,
                           const char *fmt, ...)
{
    if (!st)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
    st->code = code;
    st->file = file;
    st->line = line;
    return code;
}

void em_status_clear(struct em_status *st)
{
    memset(st, 0, sizeof(*st));
}

const char *em_code_name(enum em_code code)
{
    if ((unsigned)code >= CODE_COUNT)
        return "UNKNOWN";
    return code_table[code].name;
}

int em_code_from_name(const char *name)
{
    for (size_t i = 0; i < CODE_COUNT; i++)
        if (strcmp(code_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

int em_code_http(enum em_code code)
{
    if ((unsigned)code >= CODE_COUNT)
        return 500;
    return code_table[code].http;
}

enum em_code em_code_from_http(long http)
{
    switch (http) {
    case 200:
        return EM_OK;
    case 400:
        return EM_INVALID_ARGUMENT;
    case 401:
        return EM_UNAUTHENTICATED;
    case 403:
        return EM_PERMISSION_DENIED;
    case 404:
        return EM_NOT_FOUND;
    case 409:
        return EM_ABORTED;
    case 429:
        return EM_RESOURCE_EXHAUSTED;
    case 499:
        return EM_CANCELLED;
    case 500:
        return EM_INTERNAL;
    case 501:
        return EM_UNIMPLEMENTED;
    case 503:
        return EM_UNAVAILABLE;
    case 504:
        return EM_DEADLINE_EXCEEDED;
    default:
        return EM_UNKNOWN;
    }
}

char *em_status_to_json(const struct em_status *st)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    int http = st->http_override ? st->http_override : em_code_http(st->code);
    cJSON_AddNumberToObject(err, "code", http);
    cJSON_AddStringToObject(err, "message", st->message);
    cJSON_AddStringToObject(err, "status", em_code_name(st->code));
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}
