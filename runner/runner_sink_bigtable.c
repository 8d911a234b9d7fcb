/*
 * runner_sink_bigtable: WriteBigtable. An element (a JSON object) becomes one mutateRows
 * entry: the row key expanded from the `rowKey` template, one setCell per mapped field in
 * `columnFamily`, all at the same timestamp (see runner_sinks.h). The write is one
 * mutateRows call per part of a bundle; any entry refused fails it.
 */
#include "runner_sinks.h"

#include "em_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_KEY_MAX (4 * 1024) /* Bigtable's limit */

/* A growing text buffer. */
struct text {
    char *buf;
    size_t len, cap;
    bool oom;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* A value as cell or key text: a string as itself, anything else as compact JSON. */
static void text_add_value(struct text *t, const cJSON *value)
{
    char *v = rn_value_text(value);
    if (!v) {
        t->oom = true;
        return;
    }
    text_add(t, v, strlen(v));
    free(v);
}

/* The row key: the template with {key}, {value} and {<field>} replaced; a missing field
 * is an error (an empty part would merge rows that differ). */
static bool row_key(const struct rn_step *step, const struct rn_elem *e, struct text *key,
                    char reason[RN_SINK_REASON_MAX])
{
    const char *template = em_json_string(step->spec, "rowKey");
    for (const char *p = template; *p && !key->oom;) {
        const char *open = strchr(p, '{');
        if (!open) {
            text_add(key, p, strlen(p));
            break;
        }
        text_add(key, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 1), open + 1);
        const cJSON *part = strcmp(name, "key") == 0 ? e->key
                            : strcmp(name, "value") == 0
                                ? e->value
                                : cJSON_GetObjectItemCaseSensitive(e->value, name);
        if (!part || cJSON_IsNull(part)) {
            snprintf(reason, RN_SINK_REASON_MAX,
                     "Step '%s': the row key needs {%s}, which the element does not have.",
                     step->name, name);
            return false;
        }
        text_add_value(key, part);
        p = close + 1;
    }
    if (!key->oom && (key->len == 0 || key->len > ROW_KEY_MAX)) {
        snprintf(reason, RN_SINK_REASON_MAX,
                 "Step '%s': the row key must be 1 to 4096 bytes, not %zu.", step->name, key->len);
        return false;
    }
    return !key->oom;
}

/* The cells' timestamp in microseconds, rounded down to the millisecond (Bigtable's
 * granularity): the timestampField (microseconds, or RFC 3339 text), else (no such field,
 * or null) the event time. */
static bool cell_time(const struct rn_step *step, const struct rn_elem *e, int64_t *micros,
                      char reason[RN_SINK_REASON_MAX])
{
    const char *field = em_json_string(step->spec, "timestampField");
    int64_t us = e->ts_ns > 0 ? e->ts_ns / 1000 : 0;
    const cJSON *value = field ? cJSON_GetObjectItemCaseSensitive(e->value, field) : NULL;
    if (value && !cJSON_IsNull(value)) {
        int64_t ns;
        if (cJSON_IsString(value) && em_time_parse(value->valuestring, &ns)) {
            us = ns / 1000;
        } else if (!em_json_value_int64(value, &us) || us < 0) {
            snprintf(reason, RN_SINK_REASON_MAX,
                     "Step '%s': field '%s' must be a timestamp (microseconds since the epoch, "
                     "or RFC 3339 text).",
                     step->name, field);
            return false;
        }
    }
    *micros = us - us % 1000;
    return true;
}

struct cells {
    const struct rn_step *step;
    const char *family;
    char micros[24];
    cJSON *mutations;
    char *reason;
    bool oom;
};

static bool add_cell(const char *qualifier, const char *field, const cJSON *value, void *arg)
{
    struct cells *c = arg;
    (void)field;
    if (!value || cJSON_IsNull(value))
        return true; /* a missing or null field writes no cell */
    char *bytes = rn_value_text(value);
    cJSON *mutation = cJSON_CreateObject();
    cJSON *set = cJSON_AddObjectToObject(mutation, "setCell");
    if (!bytes || !set) {
        free(bytes);
        cJSON_Delete(mutation);
        c->oom = true;
        return false;
    }
    cJSON_AddStringToObject(set, "familyName", c->family);
    em_json_add_bytes(set, "columnQualifier", (const unsigned char *)qualifier, strlen(qualifier));
    cJSON_AddStringToObject(set, "timestampMicros", c->micros);
    em_json_add_bytes(set, "value", (const unsigned char *)bytes, strlen(bytes));
    free(bytes);
    cJSON_AddItemToArray(c->mutations, mutation);
    return true;
}

bool rn_bigtable_entry(const struct rn_step *step, const struct rn_elem *e, cJSON **entry,
                       char reason[RN_SINK_REASON_MAX])
{
    *entry = NULL;
    reason[0] = '\0';
    if (!cJSON_IsObject(e->value)) {
        snprintf(reason, RN_SINK_REASON_MAX,
                 "Step '%s': the element is not a JSON object (ParseJson it first).", step->name);
        return false;
    }
    struct text key = {0};
    int64_t micros;
    struct cells c = {.step = step,
                      .family = em_json_string(step->spec, "columnFamily"),
                      .mutations = cJSON_CreateArray(),
                      .reason = reason};
    bool ok = c.mutations && row_key(step, e, &key, reason) && cell_time(step, e, &micros, reason);
    if (ok) {
        snprintf(c.micros, sizeof(c.micros), "%" PRId64, micros);
        ok = rn_sink_each_field(step, e->value, add_cell, &c) && !c.oom;
    }
    if (ok && cJSON_GetArraySize(c.mutations) == 0) {
        snprintf(reason, RN_SINK_REASON_MAX, "Step '%s': the element has no field to write.",
                 step->name);
        ok = false;
    }
    if (ok && (*entry = cJSON_CreateObject())) {
        em_json_add_bytes(*entry, "rowKey", (const unsigned char *)key.buf, key.len);
        cJSON_AddItemToObject(*entry, "mutations", c.mutations);
        c.mutations = NULL;
    }
    cJSON_Delete(c.mutations);
    free(key.buf);
    return ok && *entry;
}

/* A code of a reply (a name, or a number), UNKNOWN when it is not one. */
static enum em_code reply_code(const char *name, int64_t number)
{
    int code = name ? em_code_from_name(name) : (int)number;
    return code > 0 && code <= EM_UNAUTHENTICATED ? (enum em_code)code : EM_UNKNOWN;
}

/* The first refused entry of a mutateRows reply (a list of {"entries": [{index,
 * status}]}, or a stream ended by {"error": ...}). */
static enum em_code check_reply(const cJSON *reply, struct em_status *st)
{
    const cJSON *part;
    cJSON_ArrayForEach(part, reply)
    {
        const cJSON *error = cJSON_GetObjectItemCaseSensitive(part, "error");
        if (error) {
            const char *status = em_json_string(error, "status");
            return EM_FAIL(st, reply_code(status ? status : "UNKNOWN", 0), "%s",
                           em_json_string(error, "message") ? em_json_string(error, "message")
                                                            : "the write failed");
        }
        const cJSON *entry;
        cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(part, "entries"))
        {
            const cJSON *status = cJSON_GetObjectItemCaseSensitive(entry, "status");
            int64_t code = 0;
            if (em_json_int64(status, "code", &code) && code != 0)
                return EM_FAIL(st, reply_code(NULL, code), "row %s: %s",
                               em_json_string(entry, "index") ? em_json_string(entry, "index")
                                                              : "?",
                               em_json_string(status, "message") ? em_json_string(status, "message")
                                                                 : "refused");
        }
    }
    return EM_OK;
}

enum em_code rn_bigtable_write(const struct rn_peer *peer, const struct rn_step *step,
                               const cJSON *entries, struct em_status *st)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *reply = NULL;
    if (!body)
        return EM_FAIL_OOM(st);
    cJSON_AddItemReferenceToObject(body, "entries", (cJSON *)entries);
    if (!rn_peer_call(peer, "v2", "POST", em_json_string(step->spec, "table"), "mutateRows", body,
                      &reply, st))
        check_reply(reply, st);
    cJSON_Delete(reply);
    cJSON_Delete(body);
    return st->code;
}
