// em_router: the route table of a service, matched against request paths with Google's
// HTTP rule templates (google/api/http.proto):
//
//   v1/{parent=projects/*/locations/*}/keyRings
//   v1/{name=projects/*/locations/*/keyRings/*/cryptoKeys/*}:encrypt
//   v1/projects/{project}/topics/{topic}            (a bare {var} is one segment)
//
// `*` matches one segment, `**` the rest of the path, `:verb` must match the text after
// the last ':' of the last segment; the template "/" matches the root path only. Captured variables
// are copied into the call. Each service declares its routes as data (an array of struct em_route);
// the router compiles the templates once at start-up and refuses malformed ones.
#ifndef EM_ROUTER_H
#define EM_ROUTER_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>

#define EM_MAX_VARS     6
#define EM_PATH_MAX     2048
#define EM_MAX_SEGMENTS 64

struct em_call;
struct em_message;

typedef enum em_code (*em_handler_fn)(struct em_call *call);

enum em_audit_kind {
    EM_AUDIT_NONE,        /* not recorded (health, control plane internals) */
    EM_AUDIT_DATA_ACCESS, /* reads and cryptographic operations */
    EM_AUDIT_ADMIN,       /* writes: create, update, destroy, setIamPolicy */
};

struct em_route {
    const char *method;            /* "GET", "POST", "PATCH", "PUT", "DELETE" */
    const char *path;              /* Google path template, without the leading '/' */
    em_handler_fn handler;         /* NULL: answered UNIMPLEMENTED naming method_name */
    const char *method_name;       /* RPC name for audit logs, e.g. "Encrypt" */
    const struct em_message *body; /* schema of the body; NULL: no body is read */
    const char *body_field;        /* proto field the body fills; NULL for "*" */
    const char *permission;        /* IAM permission on the first variable, or NULL */
    enum em_audit_kind audit;
    /* This handler never waits (it may defer, see em_call_defer, or move the call to a
     * worker, em_call_to_worker), so it runs on the HTTP thread instead of a worker thread
     * (in a service with blocking handlers, and for a streaming route). */
    bool never_blocks;
    /* Only for the emulator's own processes: refused without the internal credential
     * (em_trust.h), as Google refuses a caller it does not know. */
    bool internal;
    /* The reply is a stream of elements sent as one JSON array as they are produced
     * (em_call_stream_element, em_call.h); over HTTP the handler runs on a worker, unless
     * the route also says never_blocks. */
    bool streaming;
    /* Schema of the 200 reply (of each element, for a streaming route), read to answer its
     * enums as numbers when the request says `$alt=json;enum-encoding=int`; NULL when the
     * reply has no enum field. */
    const struct em_message *reply;
    /* The query parameters the method binds, space-separated JSON names ("pageSize
     * pageToken"; a nested field by its path, "encryptionConfig.kmsKeyName"), as Google's
     * API declares them; each is also accepted by its proto name ("page_size"). NULL: none.
     * Any other parameter, but Google's system parameters (alt, fields, $.xgafv, ...), is
     * refused INVALID_ARGUMENT as Google refuses it. */
    const char *query;
};

struct em_var {
    const char *name; /* points into the route template */
    const char *value;
};

struct em_match {
    const struct em_route *route;
    struct em_var vars[EM_MAX_VARS];
    int var_count;
    char buf[EM_PATH_MAX + EM_MAX_VARS + 1]; /* storage for the captured values */
};

enum em_match_result { EM_MATCHED, EM_NO_ROUTE, EM_WRONG_METHOD };

/* Routes of methods a service does not build, each answered UNIMPLEMENTED naming it (so
 * that gcloud shows that, not a NOT_FOUND that reads as a missing resource). version:
 * "v1", ...; parent and resource: path patterns, as inside the templates' braces.
 *   EM_UNBUILT_COLLECTION: a collection's five standard methods (Create, List, Get,
 *     Update, Delete + type or types: "BackupSchedule", "BackupSchedules");
 *   EM_UNBUILT_IAM: a resource's getIamPolicy (GET or POST, as its API has it),
 *     setIamPolicy and testIamPermissions;
 *   EM_UNBUILT_OPERATIONS: the operations under a resource (google.longrunning). */
#define EM_UNBUILT_COLLECTION(version, parent, collection, type, types)                            \
    {"POST", version "/{parent=" parent "}/" collection, NULL, "Create" type},                     \
        {"GET", version "/{parent=" parent "}/" collection, NULL, "List" types},                   \
        {"GET", version "/{name=" parent "/" collection "/*}", NULL, "Get" type},                  \
        {"PATCH", version "/{name=" parent "/" collection "/*}", NULL, "Update" type},             \
    {                                                                                              \
        "DELETE", version "/{name=" parent "/" collection "/*}", NULL, "Delete" type               \
    }
#define EM_UNBUILT_IAM(version, resource, get_method)                                              \
    {get_method, version "/{resource=" resource "}:getIamPolicy", NULL, "GetIamPolicy"},           \
        {"POST", version "/{resource=" resource "}:setIamPolicy", NULL, "SetIamPolicy"},           \
    {                                                                                              \
        "POST", version "/{resource=" resource "}:testIamPermissions", NULL, "TestIamPermissions"  \
    }
#define EM_UNBUILT_OPERATIONS(version, parent)                                                     \
    {"GET", version "/{name=" parent "/operations}", NULL, "ListOperations"},                      \
        {"GET", version "/{name=" parent "/operations/*}", NULL, "GetOperation"},                  \
        {"DELETE", version "/{name=" parent "/operations/*}", NULL, "DeleteOperation"},            \
    {                                                                                              \
        "POST", version "/{name=" parent "/operations/*}:cancel", NULL, "CancelOperation"          \
    }

struct em_router;

struct em_router *em_router_new(void);
void em_router_free(struct em_router *router);

/* Compiles and appends routes (the array must outlive the router). */
enum em_code em_router_add(struct em_router *router, const struct em_route *routes, size_t count,
                           struct em_status *st);

/* The route a request takes when no route of the table matches its method and path
 * (any method, any path, no variables): a port whose service is not built yet answers
 * every call with it. NULL (the default): such a request is EM_NO_ROUTE or
 * EM_WRONG_METHOD. The route must outlive the router. */
void em_router_set_fallback(struct em_router *router, const struct em_route *route);

/* Matches method + path (leading '/' optional, no query string). */
enum em_match_result em_router_match(const struct em_router *router, const char *method,
                                     const char *path, struct em_match *out);

/* Percent-decodes s in place (for the HTTP layer: request paths and query arguments) and
 * returns its new length. A decoded NUL would silently cut the C string ("ab%00cd" read as
 * "ab"), so it becomes the byte 0xFF instead, which is never valid UTF-8: the dispatcher
 * refuses the request (INVALID_ARGUMENT) instead of acting on a shortened name. */
size_t em_url_unescape(char *s);

#endif
