/*
 * em_status: Google's error model (google.rpc.Status) for every service.
 * See em_status.h. The HTTP mapping follows google/rpc/code.proto.
 */
#include "em_status.h"

#include "em_json.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* Messages quote client text, and replies must be UTF-8: a character that a precision
 * (`%.130s`) or the message's size cut short is dropped, and so is any other malformed
 * byte, in place. */
static void drop_broken_utf8(char *text)
{
    size_t len = strlen(text), out = 0;
    for (size_t at = 0; at < len;) {
        size_t n = em_utf8_char((const unsigned char *)text + at, len - at, NULL);
        if (n == 0) {
            at++;
            continue;
        }
        memmove(text + out, text + at, n);
        out += n;
        at += n;
    }
    text[out] = '\0';
}

enum em_code em_status_set(struct em_status *st, const char *file, int line, enum em_code code,
                           const char *fmt, ...)
{
    if (!st)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof(st->message), fmt, ap);
    va_end(ap);
    drop_broken_utf8(st->message);
    st->code = code;
    st->file = file;
    st->line = line;
    st->info_reason = st->info_domain = NULL;
    st->info_metadata[0] = '\0';
    st->has_violations = false;
    return code;
}

/* Prints metadata plus key: value, value cut until the whole fits in out; false when
 * even the key does not fit. */
static bool print_with(cJSON *metadata, const char *key, const char *value, char *out,
                       size_t out_size)
{
    size_t len = strlen(value);
    for (;;) {
        cJSON *item = cJSON_CreateString("");
        char *cut = item ? strndup(value, len) : NULL;
        if (cut)
            cJSON_SetValuestring(item, cut);
        free(cut);
        cJSON_AddItemToObject(metadata, key, item);
        char *text = cJSON_PrintUnformatted(metadata);
        size_t used = text ? strlen(text) : 0;
        bool fits = text && used < out_size;
        if (fits)
            memcpy(out, text, used + 1);
        cJSON_free(text);
        if (fits)
            return true;
        cJSON_DeleteItemFromObjectCaseSensitive(metadata, key);
        if (!text || len == 0)
            return false;
        size_t over = used - out_size + 1;
        len = over < len ? len - over : 0;
        while (len > 0 && ((unsigned char)value[len] & 0xC0) == 0x80)
            len--; /* not inside a UTF-8 character */
    }
}

void em_status_set_info(struct em_status *st, const char *reason, const char *domain,
                        const char *const *pairs)
{
    st->info_reason = reason;
    st->info_domain = domain;
    st->info_metadata[0] = '\0';
    st->has_violations = false;
    cJSON *metadata = cJSON_CreateObject();
    for (size_t i = 0; metadata && pairs && pairs[i] && pairs[i + 1]; i += 2)
        if (!print_with(metadata, pairs[i], pairs[i + 1], st->info_metadata,
                        sizeof(st->info_metadata)))
            break;
    cJSON_Delete(metadata);
}

/* text cut to fit out (EM_VIOLATION_FIELD_MAX bytes), never inside a UTF-8 character,
 * control characters shown as '?' (so that JSON escapes at most double its length). */
static const char *violation_field(const char *text, char out[EM_VIOLATION_FIELD_MAX])
{
    snprintf(out, EM_VIOLATION_FIELD_MAX, "%s", text ? text : "");
    drop_broken_utf8(out);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    return out;
}

void em_status_add_violation(struct em_status *st, const char *type, const char *subject,
                             const char *description)
{
    char field[EM_VIOLATION_FIELD_MAX];
    if (!st->has_violations) {
        st->info_reason = st->info_domain = NULL;
        st->info_metadata[0] = '\0';
    }
    cJSON *list = st->has_violations ? cJSON_Parse(st->info_metadata) : cJSON_CreateArray();
    cJSON *violation = cJSON_CreateObject();
    cJSON_AddStringToObject(violation, "type", violation_field(type, field));
    cJSON_AddStringToObject(violation, "subject", violation_field(subject, field));
    cJSON_AddStringToObject(violation, "description", violation_field(description, field));
    if (!list || !violation) {
        cJSON_Delete(list);
        cJSON_Delete(violation);
        return;
    }
    cJSON_AddItemToArray(list, violation);
    char *text = cJSON_PrintUnformatted(list);
    if (text && strlen(text) < sizeof(st->info_metadata)) {
        memcpy(st->info_metadata, text, strlen(text) + 1);
        st->has_violations = true;
    }
    free(text);
    cJSON_Delete(list);
}

/* details: [PreconditionFailure] when the status carries violations. */
static void add_precondition_failure(cJSON *err, const struct em_status *st)
{
    cJSON *violations = cJSON_Parse(st->info_metadata);
    if (!violations)
        return;
    cJSON *failure = cJSON_CreateObject();
    cJSON_AddStringToObject(failure, "@type", "type.googleapis.com/google.rpc.PreconditionFailure");
    cJSON_AddItemToObject(failure, "violations", violations);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(err, "details"), failure);
}

/* details: [ErrorInfo] when the status carries one, [PreconditionFailure] when it carries
 * violations. */
static void add_error_info(cJSON *err, const struct em_status *st, const cJSON *metadata_override)
{
    if (st->has_violations) {
        add_precondition_failure(err, st);
        return;
    }
    if (!st->info_reason)
        return;
    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "@type", "type.googleapis.com/google.rpc.ErrorInfo");
    cJSON_AddStringToObject(info, "reason", st->info_reason);
    if (st->info_domain)
        cJSON_AddStringToObject(info, "domain", st->info_domain);
    cJSON *metadata = NULL;
    if (metadata_override)
        metadata = cJSON_Duplicate(metadata_override, true);
    else if (st->info_metadata[0])
        metadata = cJSON_Parse(st->info_metadata);
    if (metadata)
        cJSON_AddItemToObject(info, "metadata", metadata);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(err, "details"), info);
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
    return em_status_to_json_with(st, NULL);
}

char *em_status_to_json_with(const struct em_status *st, const cJSON *metadata)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(root, "error");
    int http = st->http_override ? st->http_override : em_code_http(st->code);
    cJSON_AddNumberToObject(err, "code", http);
    cJSON_AddStringToObject(err, "message", st->message);
    cJSON_AddStringToObject(err, "status", em_code_name(st->code));
    add_error_info(err, st, metadata);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}
