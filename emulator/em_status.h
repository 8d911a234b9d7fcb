/*
 * em_status: the one error model of the emulator.
 *
 * Every fallible action returns an `enum em_code` (the google.rpc.Code numbers, 0 is
 * success) and, on failure, fills a caller-owned `struct em_status` through
 * EM_FAIL(), which records the message and where it was set. The HTTP dispatcher is
 * the only place that turns a status into Google's JSON error
 * {"error":{"code":<http>,"message":"...","status":"<NAME>"}}; em_code_http() is the
 * one table from gRPC code to HTTP status (google/rpc/code.proto mapping).
 */
#ifndef EM_STATUS_H
#define EM_STATUS_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

enum em_code {
    EM_OK = 0,
    EM_CANCELLED = 1,
    EM_UNKNOWN = 2,
    EM_INVALID_ARGUMENT = 3,
    EM_DEADLINE_EXCEEDED = 4,
    EM_NOT_FOUND = 5,
    EM_ALREADY_EXISTS = 6,
    EM_PERMISSION_DENIED = 7,
    EM_RESOURCE_EXHAUSTED = 8,
    EM_FAILED_PRECONDITION = 9,
    EM_ABORTED = 10,
    EM_OUT_OF_RANGE = 11,
    EM_UNIMPLEMENTED = 12,
    EM_INTERNAL = 13,
    EM_UNAVAILABLE = 14,
    EM_DATA_LOSS = 15,
    EM_UNAUTHENTICATED = 16,
};

#define EM_STATUS_MESSAGE_MAX 600

/* The details' text: an ErrorInfo's metadata, or a PreconditionFailure's violations. A
 * violation's fields are cut to EM_VIOLATION_FIELD_MAX - 1 bytes (control characters shown
 * as '?'), so that two whole violations (Cloud EKM's errors carry two) always fit once
 * JSON-escaped, their types and descriptions being the emulator's own words. */
#define EM_STATUS_INFO_MAX     1200
#define EM_VIOLATION_FIELD_MAX 160

struct em_status {
    enum em_code code;
    char message[EM_STATUS_MESSAGE_MAX];
    int http_override; /* 0, or an HTTP status to use instead of the table (413) */
    /* The error's details, where Google sends some that clients read; every em_status_set
     * clears them. Either a google.rpc.ErrorInfo (em_status_set_info): reason and domain
     * static strings (NULL: no ErrorInfo), info_metadata a JSON object's text; or a
     * google.rpc.PreconditionFailure (em_status_add_violation, has_violations):
     * info_metadata a JSON array of violations. */
    const char *info_reason, *info_domain;
    char info_metadata[EM_STATUS_INFO_MAX];
    bool has_violations;
    const char *file; /* where the status was set: for logs, never sent */
    int line;
};

/* Sets *st and returns code. Use through EM_FAIL so the place is recorded. */
enum em_code em_status_set(struct em_status *st, const char *file, int line, enum em_code code,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define EM_FAIL(st, code, ...) em_status_set((st), __FILE__, __LINE__, (code), __VA_ARGS__)

/* An allocation inside the emulator failed. INTERNAL (HTTP 500, logged with the place):
 * the emulator's own failure, not RESOURCE_EXHAUSTED (429), which Google keeps for a quota,
 * a rate or a limit the client hit and which client libraries retry. Every allocation
 * failure that reaches a caller goes through here. */
#define EM_FAIL_OOM(st) EM_FAIL((st), EM_INTERNAL, "The emulator ran out of memory.")

void em_status_clear(struct em_status *st);

/* Attaches an ErrorInfo to the failure st holds (after EM_FAIL): reason and domain are
 * static strings; pairs is NULL or key, value, key, value ..., NULL: the metadata (values
 * cut to fit EM_STATUS_INFO_MAX in all). */
void em_status_set_info(struct em_status *st, const char *reason, const char *domain,
                        const char *const *pairs);

/* Adds a violation {type, subject, description} to the google.rpc.PreconditionFailure in
 * the details of the failure st holds (after EM_FAIL; it replaces an ErrorInfo), each
 * field cut to EM_VIOLATION_FIELD_MAX - 1 bytes. One that would not fit with those before
 * it (a third at most) is left out. */
void em_status_add_violation(struct em_status *st, const char *type, const char *subject,
                             const char *description);

/* "INVALID_ARGUMENT" and friends; "UNKNOWN" for values outside the enum. */
const char *em_code_name(enum em_code code);

/* Parses "NOT_FOUND" into EM_NOT_FOUND; returns -1 for an unknown name. */
int em_code_from_name(const char *name);

/* The HTTP status Google's REST front end uses for a code. */
int em_code_http(enum em_code code);

/* The code an HTTP error status stands for when a reply has no Google error to say
 * (clients reading other services' replies): 400 INVALID_ARGUMENT, 404 NOT_FOUND,
 * 503 UNAVAILABLE ...; UNKNOWN for a status with no code of its own. */
enum em_code em_code_from_http(long http);

/* The JSON error body for st, a malloc'd string the caller frees. */
char *em_status_to_json(const struct em_status *st);
/* The same, with metadata (when not NULL) as the ErrorInfo's metadata instead of st's:
 * for metadata too large for a status (em_call_set_error_metadata). */
char *em_status_to_json_with(const struct em_status *st, const struct cJSON *metadata);

#endif
