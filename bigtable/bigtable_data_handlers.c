/*
 * bigtable_data_handlers: thin glue between the data plane's REST calls (bigtable v2) and
 * bigtable_data. readRows, mutateRows and sampleRowKeys are server-streaming methods:
 * their routes are `streaming` and each response goes out as an element of one JSON array
 * (em_call.h).
 * Reference: https://cloud.google.com/bigtable/docs/reference/data/rest
 */
#include "bigtable_handlers.h"

#include "bigtable_data.h"
#include "em_clock.h"
#include "em_json.h"
#include "em_service.h"

static struct bt_context *context(struct em_call *call)
{
    return call->svc->ctx;
}

/* Streams every element of items (taken), one at a time. */
static enum em_code stream_all(struct em_call *call, cJSON *items)
{
    cJSON *item;
    while ((item = cJSON_DetachItemFromArray(items, 0))) {
        if (em_call_stream_element(call, item)) {
            cJSON_Delete(items);
            return call->status.code;
        }
    }
    cJSON_Delete(items);
    return EM_OK;
}

enum em_code bt_read_rows(struct em_call *call)
{
    cJSON *responses = NULL;
    if (bt_data_read_rows(context(call), em_call_var(call, "tableName"), call->body, em_clock_now(),
                          &responses, &call->status))
        return call->status.code;
    return stream_all(call, responses);
}

enum em_code bt_sample_row_keys(struct em_call *call)
{
    cJSON *samples = NULL;
    if (bt_data_sample_row_keys(context(call), em_call_var(call, "tableName"),
                                em_call_query(call, "appProfileId"), &samples, &call->status))
        return call->status.code;
    return stream_all(call, samples);
}

enum em_code bt_mutate_row(struct em_call *call)
{
    if (bt_data_mutate_row(context(call), em_call_var(call, "tableName"), call->body,
                           em_clock_now(), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}

enum em_code bt_mutate_rows(struct em_call *call)
{
    cJSON *entries = NULL;
    if (bt_data_mutate_rows(context(call), em_call_var(call, "tableName"), call->body,
                            em_clock_now(), &entries, &call->status))
        return call->status.code;
    cJSON *response = cJSON_CreateObject();
    cJSON_AddItemToObject(response, "entries", entries);
    return em_call_stream_element(call, response);
}

enum em_code bt_check_and_mutate_row(struct em_call *call)
{
    bool matched = false;
    if (bt_data_check_and_mutate(context(call), em_call_var(call, "tableName"), call->body,
                                 em_clock_now(), &matched, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "predicateMatched", matched);
    return em_call_reply(call, reply);
}

enum em_code bt_read_modify_write_row(struct em_call *call)
{
    cJSON *row = NULL;
    if (bt_data_read_modify_write(context(call), em_call_var(call, "tableName"), call->body,
                                  em_clock_now(), &row, &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddItemToObject(reply, "row", row);
    return em_call_reply(call, reply);
}

enum em_code bt_ping_and_warm(struct em_call *call)
{
    if (bt_data_ping(context(call), em_call_var(call, "name"),
                     em_json_string(call->body, "appProfileId"), &call->status))
        return call->status.code;
    return em_call_reply(call, cJSON_CreateObject());
}
