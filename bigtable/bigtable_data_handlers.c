/*
 * bigtable_data_handlers: thin glue between the data plane's REST calls (bigtable v2) and
 * bigtable_data. readRows, mutateRows and sampleRowKeys are server-streaming methods:
 * their routes are `streaming` and each response goes out as an element of one JSON array
 * (em_call.h).
 *
 * mutateRow and readRows, the calls of every request path, start on the HTTP thread
 * (never_blocks): the job goes to the serving replica's writer thread while the
 * connection is parked, and the answer is sent from the HTTP thread, one buffered response
 * for a read; a call that may wait or answer at length (bt_data_op_blocks: a write to
 * several clusters, a read of many rows) moves to a worker thread first.
 * Every call names a table, or an authorized view of one (bigtable_views.h: reads see the
 * view's cells only, writes outside it are refused). A read naming a materialized view
 * besides (readRows' body, sampleRowKeys' query) is refused: materialized views are not
 * built. A write through a Data Boost app profile is refused (bigtable_data_boost.h).
 * Reference: https://cloud.google.com/bigtable/docs/reference/data/rest
 */
#include "bigtable_handlers.h"

#include "bigtable_data.h"
#include "bigtable_data_boost.h"
#include "em_clock.h"
#include "em_json.h"
#include "em_service.h"

static struct bt_context *context(struct em_call *call)
{
    return call->svc->ctx;
}

/* What the call names: a table, or an authorized view (the .../authorizedViews/v routes). */
static const char *target(const struct em_call *call)
{
    const char *table = em_call_var(call, "tableName");
    return table ? table : em_call_var(call, "authorizedViewName");
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

static void op_done(void *call)
{
    em_call_ready(call);
}

/* Runs a prepared op for call: deferred to its replica's writer thread, or on a worker
 * thread first when it may block (see the top of this file). finish ends the op. */
static enum em_code run_op(struct em_call *call, struct bt_data_op *op, em_call_fn finish)
{
    if (!em_call_may_block(call) && bt_data_op_blocks(op)) {
        bt_data_op_free(op);
        return em_call_to_worker(call);
    }
    em_call_defer(call, finish, op);
    bt_data_op_submit(op, op_done, call);
    return EM_OK;
}

/* The refusals of a write call before its domain sees it: through a Data Boost profile. */
static enum em_code write_refused(struct em_call *call)
{
    return bt_data_boost_check_write(context(call)->admin, target(call),
                                     em_json_string(call->body, "appProfileId"), &call->status);
}

/* A read naming a materialized view (ReadRowsRequest's and SampleRowKeysRequest's
 * materialized_view_name) besides the path's table or view: refused, not read from the
 * table, as materialized views are not built. */
static enum em_code materialized_view_refused(struct em_call *call, const char *view)
{
    if (!view || !*view)
        return EM_OK;
    return EM_FAIL(&call->status, EM_UNIMPLEMENTED,
                   "Reading a materialized view (materialized_view_name) is not implemented by "
                   "this emulator.");
}

static void read_rows_finish(struct em_call *call)
{
    cJSON *responses = NULL;
    if (bt_data_read_rows_end(em_call_deferred_arg(call), &responses, &call->status) == EM_OK)
        stream_all(call, responses);
}

enum em_code bt_read_rows(struct em_call *call)
{
    struct bt_data_op *op;
    if (materialized_view_refused(call, em_json_string(call->body, "materializedViewName")))
        return call->status.code;
    if (bt_data_read_rows_prepare(context(call), target(call), call->body, em_clock_now(), &op,
                                  &call->status))
        return call->status.code;
    return run_op(call, op, read_rows_finish);
}

enum em_code bt_sample_row_keys(struct em_call *call)
{
    cJSON *samples = NULL;
    if (materialized_view_refused(call, em_call_query(call, "materializedViewName")))
        return call->status.code;
    if (bt_data_sample_row_keys(context(call), target(call), em_call_query(call, "appProfileId"),
                                &samples, &call->status))
        return call->status.code;
    return stream_all(call, samples);
}

static void mutate_row_finish(struct em_call *call)
{
    if (bt_data_mutate_row_end(em_call_deferred_arg(call), &call->status) == EM_OK)
        em_call_reply(call, cJSON_CreateObject());
}

enum em_code bt_mutate_row(struct em_call *call)
{
    struct bt_data_op *op;
    if (write_refused(call))
        return call->status.code;
    if (bt_data_mutate_row_prepare(context(call), target(call), call->body, em_clock_now(), &op,
                                   &call->status))
        return call->status.code;
    return run_op(call, op, mutate_row_finish);
}

enum em_code bt_mutate_rows(struct em_call *call)
{
    cJSON *entries = NULL;
    if (write_refused(call))
        return call->status.code;
    if (bt_data_mutate_rows(context(call), target(call), call->body, em_clock_now(), &entries,
                            &call->status))
        return call->status.code;
    cJSON *response = cJSON_CreateObject();
    cJSON_AddItemToObject(response, "entries", entries);
    return em_call_stream_element(call, response);
}

enum em_code bt_check_and_mutate_row(struct em_call *call)
{
    bool matched = false;
    if (write_refused(call))
        return call->status.code;
    if (bt_data_check_and_mutate(context(call), target(call), call->body, em_clock_now(), &matched,
                                 &call->status))
        return call->status.code;
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddBoolToObject(reply, "predicateMatched", matched);
    return em_call_reply(call, reply);
}

enum em_code bt_read_modify_write_row(struct em_call *call)
{
    cJSON *row = NULL;
    if (write_refused(call))
        return call->status.code;
    if (bt_data_read_modify_write(context(call), target(call), call->body, em_clock_now(), &row,
                                  &call->status))
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
