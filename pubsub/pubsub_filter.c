/*
 * pubsub_filter: subscription filters
 * (https://cloud.google.com/pubsub/docs/subscription-message-filter).
 *
 * The core's em_filter parses the syntax; this file restricts it to what Pub/Sub accepts,
 * walking the parsed filter with em_filter_visit():
 *
 *   attributes.KEY = "v"   attributes.KEY != "v"   attributes:KEY
 *   hasPrefix(attributes.KEY, "v")                 AND OR NOT - ( )
 *
 * Anything else (other fields, <, >, bare values, other functions) is INVALID_ARGUMENT,
 * and so is a filter longer than 256 bytes. A message passes when the filter matches
 * {"attributes": {...its attributes...}}; filters never see message data.
 */
#include "pubsub_model.h"

#include "em_filter.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

struct restriction {
    char bad[160];
};

static bool allowed(const char *path, const char *op, const char *value, void *arg)
{
    struct restriction *r = arg;
    (void)value;
    if (strncmp(path, "attributes.", 11) == 0 && path[11] &&
        (!strcmp(op, "=") || !strcmp(op, "!=") || !strcmp(op, "hasPrefix")))
        return true;
    if (!strcmp(path, "attributes") && !strcmp(op, ":"))
        return true;
    if (!path[0])
        snprintf(r->bad, sizeof(r->bad), "a bare value \"%.60s\"", value);
    else if (strncmp(path, "attributes", 10) != 0)
        snprintf(r->bad, sizeof(r->bad), "the field \"%.60s\" (only attributes can be filtered)",
                 path);
    else
        snprintf(r->bad, sizeof(r->bad), "the operator \"%s\" on %.60s", op, path);
    return false;
}

enum em_code ps_filter_compile(const char *text, struct em_filter **out, struct em_status *st)
{
    *out = NULL;
    if (!text || !*text)
        return EM_OK;
    if (strlen(text) > PS_MAX_FILTER_BYTES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid filter: the filter is %zu bytes long; the maximum is %d bytes.",
                       strlen(text), PS_MAX_FILTER_BYTES);
    struct em_filter *filter;
    if (em_filter_parse(text, &filter, st))
        return st->code;
    struct restriction r = {""};
    if (!em_filter_visit(filter, allowed, &r)) {
        em_filter_free(filter);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid filter: %s is not supported; use attributes.KEY = \"value\", "
                       "attributes.KEY != \"value\", attributes:KEY or "
                       "hasPrefix(attributes.KEY, \"prefix\").",
                       r.bad);
    }
    em_filter_exact_equality(filter); /* attributes.k = "a*" matches only "a*" */
    *out = filter;
    return EM_OK;
}

bool ps_filter_matches(const struct em_filter *filter, const char *attributes_json)
{
    if (!filter)
        return true;
    cJSON *message = cJSON_CreateObject();
    cJSON *attributes = attributes_json && *attributes_json ? cJSON_Parse(attributes_json) : NULL;
    cJSON_AddItemToObject(message, "attributes", attributes ? attributes : cJSON_CreateObject());
    bool match = em_filter_match(filter, message);
    cJSON_Delete(message);
    return match;
}
