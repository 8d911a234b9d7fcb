/*
 * em_operations: google.longrunning.Operation for every service (AIP-151), done once.
 *
 * A handler whose Google method is long-running starts an operation instead of doing the
 * work itself: em_op_start() names it under the service's own path
 * ("<parent>/operations/<id>", the parent given by the caller: a Spanner database, a
 * Bigtable "operations/projects/p/instances/i/locations/z"), persists it, queues its work
 * on the module's worker pool and answers the Operation as it stands (not done). gcloud
 * then polls GET <name> until `done`. The Operation JSON is Google's:
 *
 *   {"name": "...", "metadata": {"@type": "type.googleapis.com/...Metadata", ...},
 *    "done": true, "response": {"@type": "type.googleapis.com/...", ...}}
 *   or, failed, "error": {"code": <google.rpc.Code>, "message": "..."}
 *
 * (`done` is left out while the operation runs, as proto3 JSON leaves out false.)
 *
 * State machine of one operation (persisted in table `operations`, owned here; one row
 * per operation, keyed by its name; column service says whose it is; its metadata,
 * request and response sealed under the data directory's default key, em_operations.c):
 *
 *              start                 work returns OK               get: done + response
 *   (none) ----------> RUNNING --------------------------> DONE
 *                       |   |  work fails                   get: done + error{code,msg}
 *                       |   +----------------------------> FAILED
 *                       |  cancel (flag; the work polls em_op_cancelled and gives up,
 *                       |  or had not started)
 *                       +--------------------------------> CANCELLED  error{code 1}
 *                       |  process stopped, then restarted:
 *                       +-- type resumable ---> RUNNING (the work runs again from its
 *                       |                                stored request: it must be
 *                       |                                idempotent)
 *                       +-- otherwise --------> FAILED, error ABORTED "... interrupted ..."
 *
 *   cancel of a finished operation: accepted, changes nothing (best effort, AIP-151).
 *   A work that finishes despite a cancel keeps its result, as Google's best effort does.
 *   delete: forgets the operation, running or not (google.longrunning: "does not cancel
 *   the operation"); the work of a running one goes on and its result is dropped.
 *
 * Work functions run on worker threads, never under the module's lock; they get the
 * stored request (their input, so a resumed run has what the first one had), the
 * service's context and `now` (the emulator clock read once when the work starts). When
 * the work returns, the clock is read once more for the metadata's end-time field.
 *
 * Stopping the process (em_operations_close): running work sees em_op_cancelled() true;
 * what it then returns without a user's cancel is not recorded (the row stays RUNNING and
 * the next start-up resumes or aborts it, as drawn above).
 *
 * Handlers: em_op_handle_get/list/cancel/delete plug into a service's route table under
 * its own paths (the route's first variable is the operation name, or for list the
 * collection's parent); they find the module through call->svc->operations. list reads
 * pageSize, pageToken and filter (AIP-160 over the Operation JSON, e.g.
 * `metadata.@type:CreateDatabaseMetadata`) through em_list.
 *
 * A service plugs in like this (Spanner's database operations):
 *
 *   static const struct em_op_type sp_op_types[] = {
 *       {"CreateDatabase", EM_TYPE_URL "google.spanner.admin.database.v1.CreateDatabaseMetadata",
 *        EM_TYPE_URL "google.spanner.admin.database.v1.Database", sp_create_database_work},
 *   };
 *   open hook:  em_operations_open(svc->store, &(struct em_operations_options){"spanner",
 *                   sp_op_types, 1, ctx}, now, &svc->operations, st)
 *   close hook: em_operations_close(svc->operations), before the state the work uses
 *   handler:    em_op_start(svc->operations, database_name, NULL, "CreateDatabase",
 *                   metadata, request, now, &operation, &call->status); reply operation
 *   routes:     with DB the template of a database and OPS = DB "/operations/" "*":
 *               {"GET", "v1/{name=" OPS "}", em_op_handle_get, "GetOperation"},
 *               {"GET", "v1/{name=" DB "}/operations", em_op_handle_list, "ListOperations"},
 *               {"POST", "v1/{name=" OPS "}:cancel", em_op_handle_cancel, "CancelOperation"},
 *               {"DELETE", "v1/{name=" OPS "}", em_op_handle_delete, "DeleteOperation"}
 *
 * Bigtable's operations are named "operations/projects/p/instances/i/locations/z/
 * operations/<id>" (parent "operations/projects/p/instances/i/locations/z") and listed
 * project-wide with em_op_handle_list_subtree on GET v2/operations/projects/{p}/operations
 * (the route's variable: "operations/projects/p"); their work's response must carry `name`
 * (gcloud GETs it).
 *
 * References: google/longrunning/operations.proto; Spanner and Bigtable names and
 * metadata in shared/research/next-services.md (sections 1.2, 2.2).
 */
#ifndef EM_OPERATIONS_H
#define EM_OPERATIONS_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EM_OP_ID_MAX   128
#define EM_OP_NAME_MAX 1024

struct em_store;
struct em_call;
struct em_operations;
struct em_op; /* one running operation, as its work function sees it */

#define EM_TYPE_URL      "type.googleapis.com/"
#define EM_OP_EMPTY_TYPE EM_TYPE_URL "google.protobuf.Empty"

/* The work of an operation. On success sets *response to an object (the module adds its
 * @type; NULL means an empty message) and returns EM_OK; on failure fills st. */
typedef enum em_code (*em_op_work_fn)(struct em_op *op, void *ctx, const cJSON *request,
                                      int64_t now, cJSON **response, struct em_status *st);

/* A kind of operation, declared as data by the service. */
struct em_op_type {
    const char *kind;          /* stored with each operation: "CreateDatabase" */
    const char *metadata_type; /* @type of metadata: EM_TYPE_URL "google.spanner..." */
    const char *response_type; /* @type of response; NULL: google.protobuf.Empty */
    em_op_work_fn work;
    bool resumable;               /* idempotent: run again at start-up when interrupted */
    const char *start_time_field; /* metadata field set at start ("startTime"), or NULL */
    const char *end_time_field;   /* metadata field set when done ("endTime"), or NULL */
    /* metadata object of Spanner's progress messages ("progress": progressPercent,
     * startTime, endTime), or NULL: its startTime set at start unless given, its endTime
     * when the operation ends, and progressPercent 100 when it succeeded */
    const char *progress_field;
};

struct em_operations_options {
    const char *service; /* "spanner": whose rows these are */
    const struct em_op_type *types;
    size_t type_count;
    void *ctx;              /* given to every work function */
    int64_t (*clock)(void); /* emulator time in ns; NULL: em_clock_now */
    int max_threads;        /* operations running at once; 0: 4 */
    const char *id_prefix;  /* generated ids: prefix + 16 hex digits; NULL: "_auto_op_" */
    /* the data directory: its default key (default-encryption.key, the CMEK engine's)
     * seals the stored metadata, request and response, which may carry customer data */
    const char *data_dir;
};

/* Opens the module of a service process: migrates its table, loads the service's
 * operations, finishes those that were running when the process stopped (see the state
 * machine; now is the time an aborted one ends) and starts the worker pool. The service
 * sets svc->operations to *out so the handlers find it. */
enum em_code em_operations_open(struct em_store *store, const struct em_operations_options *opt,
                                int64_t now, struct em_operations **out, struct em_status *st);

/* Stops: running work sees em_op_cancelled(), close waits for every work function to
 * return. Call it in the service's close hook before freeing what the work uses. */
void em_operations_close(struct em_operations *ops);

/* Starts an operation of type kind named "<parent>/operations/<id>" (id NULL: generated;
 * given: ALREADY_EXISTS when taken, INVALID_ARGUMENT when not [A-Za-z0-9_.-]{1,128}).
 * Takes ownership of metadata (an object, or NULL) and request (the work's input, an
 * object or NULL), even on failure. now fills the type's start-time field, unless the
 * metadata has it. *out (may be NULL) is the Operation's JSON now. */
enum em_code em_op_start(struct em_operations *ops, const char *parent, const char *id,
                         const char *kind, cJSON *metadata, cJSON *request, int64_t now,
                         cJSON **out, struct em_status *st);

/* The Operation's JSON (a copy); NOT_FOUND "Operation not found: <name>." */
enum em_code em_op_get(struct em_operations *ops, const char *name, cJSON **out,
                       struct em_status *st);

/* Every operation named "<parent>/operations/<id>" (subtree: every one named under
 * "<parent>/"), oldest first, as a JSON array of Operations. */
enum em_code em_op_list(struct em_operations *ops, const char *parent, bool subtree, cJSON **out,
                        struct em_status *st);

/* Asks a running operation to stop (see the state machine). NOT_FOUND when unknown. */
enum em_code em_op_cancel(struct em_operations *ops, const char *name, struct em_status *st);

/* Forgets an operation. NOT_FOUND when unknown. */
enum em_code em_op_delete(struct em_operations *ops, const char *name, struct em_status *st);

/* Waits (real time) until the operation is done or deleted (tests; synchronous paths). */
enum em_code em_op_wait(struct em_operations *ops, const char *name, struct em_status *st);

/* Cancels every running operation, waits for them and forgets every operation of the
 * service (the internal:reset hook). */
enum em_code em_operations_reset(struct em_operations *ops, struct em_status *st);

/* For work functions. */
bool em_op_cancelled(const struct em_op *op); /* cancel asked, or the process is stopping */
const char *em_op_name(const struct em_op *op);
/* Sets a member of the metadata (takes ownership of value): seen by get at once, stored
 * when the operation ends. */
void em_op_metadata_set(struct em_op *op, const char *key, cJSON *value);

/* Checks an operation name by grammar: "<parent>/operations/<id>", parent one or more
 * non-empty segments, id [A-Za-z0-9_.-]{1,128}; INVALID_ARGUMENT naming it otherwise.
 * parent and id (either may be NULL) receive the parts. Never reads past the string. */
enum em_code em_op_name_parse(const char *name, char *parent, size_t parent_len, char *id,
                              size_t id_len, struct em_status *st);

/* Route handlers (first route variable: the operation name; for list, the parent). */
enum em_code em_op_handle_get(struct em_call *call);
enum em_code em_op_handle_list(struct em_call *call);         /* exact parent (Spanner) */
enum em_code em_op_handle_list_subtree(struct em_call *call); /* under parent (Bigtable) */
enum em_code em_op_handle_cancel(struct em_call *call);       /* replies {} */
enum em_code em_op_handle_delete(struct em_call *call);       /* replies {} */

#endif
